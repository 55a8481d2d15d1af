"""`tidemark backup`: list, inspect, verify, delete, without a server.

What an operator relies on: verify reads every block and checks every
checksum and count, and a damaged file (one flipped byte anywhere past the
header, or a truncation) makes it exit non-zero naming the file and the
offset; a restore from such a file never leaves an ACTIVE table; delete
refuses while a server holds the data directory.
"""
import base64
import glob
import os
import random
import re
import signal
import subprocess
import time

import pytest

import harness

pytestmark = pytest.mark.needs_binary


def cli(*args):
    return subprocess.run([harness.BINARY, "backup", *args],
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def made(tmp_path):
    """A server with the notes table (2,000 items over several blocks) and
    one backup; yields (server, client, arn, path of the .tmbak)."""
    srv = harness.Server(str(tmp_path / "data"), log_dir=str(tmp_path))
    srv.start()
    c = harness.make_client(srv.url)
    harness.create_notes(c)
    for start in range(0, 2000, 25):
        c.batch_write_item(RequestItems={"notes": [{"PutRequest": {"Item": {
            "userId": {"S": "u%d" % (i % 20)}, "noteId": {"S": "n%05d" % i},
            "body": {"S": "x" * 300 + str(i)}}}} for i in range(start,
                                                                  start + 25)]})
    arn = c.create_backup(TableName="notes",
                          BackupName="nightly")["BackupDetails"]["BackupArn"]
    harness.wait_backup(c, arn)
    path = glob.glob(str(tmp_path / "data" / "backups" / "*.tmbak"))[0]
    yield srv, c, arn, path
    if srv.proc and srv.proc.poll() is None:
        srv.stop(signal.SIGTERM)


def test_list_inspect_verify(made):
    srv, _, arn, path = made
    data = srv.data_dir
    out = cli("list", "--data", data)
    assert out.returncode == 0
    assert arn in out.stdout and "nightly" in out.stdout and "2000" in out.stdout
    out = cli("inspect", "--data", data, arn.rsplit("/", 1)[1])
    assert out.returncode == 0
    assert "format version:  1" in out.stdout
    assert "rows:            2000" in out.stdout
    assert '"hash":"userId"' in out.stdout  # the schema is in the header
    out = cli("verify", "--data", data, arn)
    assert out.returncode == 0, out.stderr
    assert "OK: 2000 rows" in out.stdout
    assert cli("verify", path).returncode == 0  # by file, no store needed


def test_verify_finds_every_flipped_byte_region(made):
    srv, c, arn, path = made
    size = os.path.getsize(path)
    good = open(path, "rb").read()
    # header, a block in the middle, the footer: each flip is refused
    for at in (20, size // 2, size - 30):
        bad = bytearray(good)
        bad[at] ^= 0x40
        with open(path, "wb") as f:
            f.write(bad)
        out = cli("verify", "--data", srv.data_dir, arn)
        assert out.returncode == 1, (at, out.stdout)
        assert "corrupt at offset" in out.stderr and path in out.stderr
    with open(path, "wb") as f:
        f.write(good[: size - 1000])
    out = cli("verify", "--data", srv.data_dir, arn)
    assert out.returncode == 1 and "corrupt" in out.stderr
    with open(path, "wb") as f:
        f.write(good)
    assert cli("verify", "--data", srv.data_dir, arn).returncode == 0


def test_restore_from_a_damaged_backup_leaves_no_table(made):
    srv, c, arn, path = made
    bad = bytearray(open(path, "rb").read())
    bad[len(bad) // 2] ^= 0x01
    with open(path, "wb") as f:
        f.write(bad)
    c.restore_table_from_backup(TargetTableName="copy", BackupArn=arn)
    deadline = time.monotonic() + 15
    while True:
        try:
            t = c.describe_table(TableName="copy")["Table"]
            assert t["TableStatus"] != "ACTIVE", "a damaged restore went ACTIVE"
        except c.exceptions.ResourceNotFoundException:
            break
        assert time.monotonic() < deadline, "the failed restore's table stayed"
        time.sleep(0.05)
    assert "corrupt at offset" in srv.stderr_text()
    # the source table is untouched
    assert c.describe_table(TableName="notes")["Table"]["ItemCount"] == 2000


def test_delete_refused_while_running_then_works(made):
    srv, c, arn, path = made
    out = cli("delete", "--data", srv.data_dir, arn)
    assert out.returncode == 1 and "server is running" in out.stderr
    assert os.path.exists(path)
    assert srv.stop(signal.SIGTERM) == 0
    out = cli("delete", "--data", srv.data_dir, arn)
    assert out.returncode == 0, out.stderr
    assert not os.path.exists(path)
    assert arn not in cli("list", "--data", srv.data_dir).stdout
    assert cli("verify", "--data", srv.data_dir, arn).returncode == 1


def test_usage(tmp_path):
    assert cli().returncode == 2
    assert cli("frobnicate", "x").returncode == 2
    out = cli("verify", "--store", str(tmp_path), "nope")
    assert out.returncode == 1 and "no backup nope" in out.stderr


def test_zstd_level_trades_speed_for_size(tmp_path):
    """--backup-zstd-level: the same high-entropy notes (base64 of random
    bytes, six blocks) backed up at -5 and at 19 give files larger and
    smaller than level 1's; by default (and with auto) the first block,
    which level 1 does not halve, sends the others to the fast level (all
    but those its helper threads took before the first was done), so the
    file is larger than level 1's and the server's log says so; each file
    verifies and restores to exactly the table; a level out of range is
    refused before the server starts."""
    rnd = random.Random(5)
    items = [{"userId": {"S": "u%d" % (i % 20)}, "noteId": {"S": "n%05d" % i},
              "body": {"S": base64.b64encode(
                  bytes(rnd.getrandbits(8) for _ in range(150))).decode()}}
             for i in range(6000)]
    sizes = {}
    fast = {}
    for level in (None, "auto", "1", "-5", "19"):
        d = tmp_path / ("l%s" % level)
        srv = harness.Server(str(d / "data"), log_dir=str(d),
                             extra_args=["--backup-zstd-level", level]
                             if level else [])
        d.mkdir()
        srv.start()
        try:
            c = harness.make_client(srv.url)
            harness.create_notes(c)
            for s in range(0, len(items), 25):
                c.batch_write_item(RequestItems={"notes": [
                    {"PutRequest": {"Item": it}} for it in items[s:s + 25]]})
            arn = c.create_backup(TableName="notes", BackupName="lvl")[
                "BackupDetails"]["BackupArn"]
            harness.wait_backup(c, arn)
            path = glob.glob(str(d / "data" / "backups" / "*.tmbak"))[0]
            sizes[level] = os.path.getsize(path)
            m = re.search(r"backup %s of table notes: .* (\d+) of (\d+) "
                          r"blocks at zstd's fast level" % re.escape(arn),
                          srv.stderr_text())
            assert m, srv.stderr_text()
            fast[level] = (int(m.group(1)), int(m.group(2)))
            out = cli("verify", path)
            assert out.returncode == 0 and "OK: 6000 rows" in out.stdout
            c.restore_table_from_backup(TargetTableName="back",
                                        BackupArn=arn)
            harness.wait_table_active(c, "back")
            got = sorted(harness.scan_items(c, TableName="back"),
                         key=lambda it: it["noteId"]["S"])
            assert got == items
        finally:
            srv.stop(signal.SIGTERM)
    # base64 of random bytes: level 1 undoes most of the base64 (6 bits a
    # byte), the fast levels do not try
    assert sizes["-5"] > sizes["1"] * 1.2, sizes
    assert sizes["19"] < sizes["1"], sizes
    ncpu = len(os.sched_getaffinity(0))
    for level in (None, "auto"):
        assert sizes[level] > sizes["1"] * 1.2, sizes
        nfast, nblocks = fast[level]
        assert nblocks == 6 and nfast >= nblocks - 1 - min(ncpu, 4), fast
    for level in ("1", "-5", "19"):
        assert fast[level] == (0, 6), fast
    for bad in ("0", "20", "-8", "fast", "Auto", ""):
        p = subprocess.run([harness.BINARY, "serve", "--data",
                            str(tmp_path / "never"), "--backup-zstd-level",
                            bad], capture_output=True, text=True, timeout=10)
        assert p.returncode == 2
        assert "--backup-zstd-level wants auto, a level" in p.stderr
        assert not os.path.exists(tmp_path / "never")
