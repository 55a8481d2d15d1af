"""The simulated power cut (test_powercut.py) with the archive: a server
that ships its log and its PITR bases to Ceph RGW (--backup-store
s3://..., src/archive) runs under tests/powercut/powercut.c (LD_PRELOAD:
only what was synced survives) while 4 threads write, and is cut at a
random moment; its data directory is rebuilt from the synced data alone
(tests/powercut/rebuild.py).  Needs Ceph RGW (the rgw fixture of
tests/integration/test_s3_client.py): SKIPPED, with the reason, when it
cannot run.

After each cut:
- before the server starts again, the rebuilt data/archive.json claims
  nothing the store lacks (each segment covered up to the bytes it says
  were shipped, each base it calls uploaded there), and every log
  segment in the store is, byte for byte, a prefix of the rebuilt local
  segment of that name: the archive never shipped a byte the cut then
  took from the local log (the log would go on differently from there);
- the server starts on the rebuilt directory (under the library again, for
  the next cut) and holds every acknowledged write;
- the archive catches up: the store's chunks of every needed segment are
  the local file, byte for byte, and every local base is in the store;
- `tidemark restore --from s3://... --to latest` into an empty directory,
  from the archive alone, served, equals the table.

A day passes (--unsafe-test-clock) before one of the cycles, so that a
new base is being shipped around a cut (the test waits for the base
first: the moved clock is the server's memory, and a restart loses it).  Environment:
TIDEMARK_POWERCUT_ARCHIVE_CYCLES (default 6), TIDEMARK_POWERCUT_SEED.
"""
import os
import random
import signal
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "powercut"))
import harness  # noqa: E402
from rebuild import rebuild  # noqa: E402
from archive_check import (DAY, Store, caught_up, claims_hold,  # noqa: E402
                           now_ms, progress, store_equals_local,
                           store_is_prefix_of_local, wait_bases)
from test_backup_s3 import store_url as new_store_url  # noqa: E402
from test_powercut import (LIB, THREADS, Writer,  # noqa: E402
                           check_acknowledged, state)
from test_s3_client import rgw  # noqa: E402,F401  (the fixture)

pytestmark = pytest.mark.skipif(
    bool(harness.EXTERNAL_ENDPOINT),
    reason="kills the server process; needs the tidemark binary")

CYCLES = int(os.environ.get("TIDEMARK_POWERCUT_ARCHIVE_CYCLES", "6"))
SEED = int(os.environ.get("TIDEMARK_POWERCUT_SEED", str(int(time.time()))))


def test_power_cut_with_the_archive(rgw, tmp_path,  # noqa: F811
                                    record_property):
    if not os.path.exists(LIB):
        pytest.fail("%s is missing: `make test` builds it" % LIB)
    env, rurl = rgw
    url = new_store_url(rurl, "powercut")
    store = Store(env, url)
    rng = random.Random(SEED)
    args = ["--backup-store", url, "--s3-endpoint", env["S3_ENDPOINT"],
            "--unsafe-test-small-log", "--unsafe-test-clock"]
    data = str(tmp_path / "gen0")
    os.makedirs(data)
    model = {}
    acked = checked = restored = 0
    prefix_bytes = equal_bytes = 0
    done_prefix, done_equal = set(), set()
    t0 = time.monotonic()

    def start(data, shadow):
        srv = harness.Server(data, log_dir=str(tmp_path), extra_args=args,
                             env=dict(env, LD_PRELOAD=LIB, POWERCUT_DIR=data,
                                      POWERCUT_SHADOW=shadow))
        srv.start(timeout=60)
        return srv, harness.RawClient(srv.port, timeout=60)

    srv, c = start(data, str(tmp_path / "shadow0"))
    try:
        harness.create_notes(harness.make_client(srv.url))
        c.call("UpdateContinuousBackups", {
            "TableName": "notes", "PointInTimeRecoverySpecification": {
                "PointInTimeRecoveryEnabled": True}})
        wait_bases(data, 1)
        for cycle in range(CYCLES):
            if cycle == CYCLES // 2:
                # a day passes: a new base, shipped around the cut (the
                # test clock is the server's memory: wait for the base)
                now_ms(c, DAY + 3600 * 1000)
                wait_bases(data, 2)
            writers = [Writer(i, srv.port, model, random.Random(rng.random()))
                       for i in range(THREADS)]
            for w in writers:
                w.start()
            time.sleep(rng.uniform(0.3, 1.2))
            srv.proc.send_signal(signal.SIGKILL)       # the power cut
            srv.proc.wait()
            c.close()
            for w in writers:
                w.join(10)
                acked += w.acked
            nxt = str(tmp_path / ("gen%d" % (cycle + 1)))
            rebuild(str(tmp_path / ("shadow%d" % cycle)), nxt)
            data = nxt
            where = "cycle %d (seed %d)" % (cycle, SEED)
            # what the cut left: archive.json claims nothing the store
            # lacks, and the store holds no byte the local log lost
            assert os.path.exists(os.path.join(data, "archive.json")), where
            claims_hold(store, data, where)
            prefix_bytes += store_is_prefix_of_local(store, data, where,
                                                     done_prefix)
            # the server again: every acknowledged write
            srv, c = start(data, str(tmp_path / ("shadow%d" % (cycle + 1))))
            got = state(c)
            checked += check_acknowledged(got, model, writers, where)
            # the archive catches up, byte for byte
            deadline = time.monotonic() + 30
            while not caught_up(data):
                assert time.monotonic() < deadline, (
                    "%s: the archive did not catch up: %s" % (
                        where, progress(data)))
                time.sleep(0.05)
            equal_bytes += store_equals_local(store, data, where, done_equal)
            # disaster recovery from the archive alone
            out = tmp_path / ("restored%d" % cycle)
            r = subprocess.run(
                [harness.BINARY, "restore", "--from", url, "--s3-endpoint",
                 env["S3_ENDPOINT"], "--table", "notes", "--to", "latest",
                 "--data", str(out)], env=env, capture_output=True,
                text=True, timeout=120)
            assert r.returncode == 0, (where, r.stdout, r.stderr)
            dr = harness.Server(str(out), log_dir=str(tmp_path))
            dr.start(timeout=60)
            try:
                dgot = state(harness.RawClient(dr.port, timeout=60))
            finally:
                assert dr.stop() == 0
            assert dgot == got, (
                "%s: the restore from the archive: missing %s, wrong %s, "
                "extra %s" % (where, sorted(set(got) - set(dgot))[:5],
                              sorted(k for k in set(got) & set(dgot)
                                     if got[k] != dgot[k])[:5],
                              sorted(set(dgot) - set(got))[:5]))
            restored += 1
        bases = len(progress(data)["bases"])
    finally:
        srv.kill()
        store.delete_all()
    assert bases >= 2, bases
    line = ("power cut with the archive: %d random cut points (seed %d), "
            "%d acknowledged writes, %d keys checked after the cuts; "
            "archive.json's claims held after every cut, %.1f MB of archived"
            " log a prefix of the rebuilt log, %.1f MB equal after catching "
            "up; %d restores from the archive alone equal to the table, 0 "
            "lost (%.0f s)" % (CYCLES, SEED, acked, checked,
                               prefix_bytes / 1e6, equal_bytes / 1e6,
                               restored, time.monotonic() - t0))
    print(line)
    record_property("crash_summary", line)
