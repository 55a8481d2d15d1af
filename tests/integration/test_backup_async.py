"""CreateBackup answers at once and writes the backup in the background
(src/backup/backup.h): while it is CREATING the table cannot be deleted and
the backup can be neither restored nor deleted; writes go on and are not in
it; and a backup interrupted by a stop or a kill -9 is finished at the next
start, still holding the table exactly as of the request.

The server runs with --unsafe-test-slow-backups (25 ms per 256 rows, and a
job waits after its first 256 rows while <store>/HOLD exists), so that a
backup of 12,000 rows stays CREATING while the test acts."""
import os
import random
import re
import signal
import subprocess
import threading
import time

import pytest
from botocore.exceptions import ClientError

import harness

ROWS = 12000


@pytest.fixture
def slow(tmp_path):
    srv = harness.Server(str(tmp_path / "data"), log_dir=str(tmp_path),
                         extra_args=["--unsafe-test-slow-backups"])
    srv.start()
    yield srv
    if srv.proc and srv.proc.poll() is None:
        srv.stop(signal.SIGTERM)


def key(u, n):
    return {"userId": {"S": u}, "noteId": {"S": n}}


def load(c, rows, prefix=""):
    """`rows` notes (noteId `prefix` + a number); returns {(userId, noteId):
    item} as acknowledged."""
    harness.create_notes(c)
    state = {}
    items = []
    for i in range(rows):
        it = dict(key("u%d" % (i % 50), prefix + "n%06d" % i),
                  body={"S": "first version %d " % i + "x" * 100})
        items.append(it)
        state[("u%d" % (i % 50), prefix + "n%06d" % i)] = it
    for s in range(0, rows, 25):
        r = c.batch_write_item(RequestItems={"notes": [
            {"PutRequest": {"Item": it}} for it in items[s:s + 25]]})
        assert not r.get("UnprocessedItems"), r
    return state


scan_all = harness.scan_notes
wait_active = harness.wait_table_active


def churn(c, state, rng):
    """Updates, deletes, new rows and rows changed twice, all after the
    backup's request: none of them may be in the backup."""
    keys = sorted(state)
    for k in rng.sample(keys, 150):          # changed once
        c.put_item(TableName="notes",
                   Item=dict(key(*k), body={"S": "changed after"}))
    for k in rng.sample(keys, 150):          # deleted
        c.delete_item(TableName="notes", Key=key(*k))
    for k in rng.sample(keys, 50):           # changed, then deleted
        c.update_item(TableName="notes", Key=key(*k),
                      UpdateExpression="SET extra = :x",
                      ExpressionAttributeValues={":x": {"N": "1"}})
        c.delete_item(TableName="notes", Key=key(*k))
    for i in range(150):                     # new, some changed again
        k = ("u%d" % (i % 7), "new%04d" % i)
        c.put_item(TableName="notes", Item=dict(key(*k), body={"S": "new"}))
        if i % 3 == 0:
            c.put_item(TableName="notes",
                       Item=dict(key(*k), body={"S": "new twice"}))
    c.transact_write_items(TransactItems=[
        {"Put": {"TableName": "notes",
                 "Item": dict(key("tx", "1"), body={"S": "in a txn"})}},
        {"Delete": {"TableName": "notes", "Key": key(*keys[0])}}])


def expect_error(fn, code, fragment):
    with pytest.raises(ClientError) as e:
        fn()
    err = e.value.response["Error"]
    assert err["Code"] == code, err
    assert fragment in err["Message"], err


@pytest.mark.parametrize("interrupt", [None, signal.SIGTERM, signal.SIGKILL],
                         ids=["runs-through", "sigterm", "kill-9"])
def test_backup_in_background_holds_the_table_as_requested(slow, interrupt):
    c = harness.make_client(slow.url)
    rng = random.Random(5)
    want = load(c, ROWS)

    # the slowed job stops after its first 256 rows while HOLD exists
    hold = os.path.join(slow.data_dir, "backups", "HOLD")
    open(hold, "w").close()
    t0 = time.monotonic()
    d = c.create_backup(TableName="notes", BackupName="background")["BackupDetails"]
    answered_ms = (time.monotonic() - t0) * 1000
    arn = d["BackupArn"]
    assert d["BackupStatus"] == "CREATING"

    # while CREATING
    desc = c.describe_backup(BackupArn=arn)["BackupDescription"]
    assert desc["BackupDetails"]["BackupStatus"] == "CREATING"
    assert desc["SourceTableDetails"]["ItemCount"] == ROWS
    listed = c.list_backups(TableName="notes")["BackupSummaries"]
    assert [(b["BackupArn"], b["BackupStatus"]) for b in listed] == [
        (arn, "CREATING")]
    expect_error(lambda: c.delete_table(TableName="notes"),
                 "ResourceInUseException", "Table is being backed up: notes")
    expect_error(lambda: c.delete_backup(BackupArn=arn),
                 "BackupInUseException", "Backup is being created")
    expect_error(lambda: c.restore_table_from_backup(
        TargetTableName="early", BackupArn=arn),
        "BackupInUseException", "Backup is being created")
    with pytest.raises(ClientError):
        c.describe_table(TableName="early")
    churn(c, want, rng)
    still = c.describe_backup(BackupArn=arn)["BackupDescription"]
    assert still["BackupDetails"]["BackupStatus"] == "CREATING", still

    os.unlink(hold)
    if interrupt is not None:
        first_log = slow.stderr_path
        slow.stop(interrupt)
        slow.start()
        c = harness.make_client(slow.url)
        # reported CREATING until the resumed job is done, then AVAILABLE
        st = c.describe_backup(BackupArn=arn)["BackupDescription"]
        assert st["BackupDetails"]["BackupStatus"] in ("CREATING",
                                                       "AVAILABLE")
    harness.wait_backup(c, arn)
    first_run = open(first_log, encoding="utf-8", errors="replace").read() \
        if interrupt is not None else ""
    if interrupt is not None and "in the background" not in first_run:
        # it was interrupted (not finished just before the stop): resumed
        m = re.search(r"resumes: (\d+) rows changed since its snapshot",
                      slow.stderr_text())
        assert m, slow.stderr_text()[-2000:]
        # 150 changed + 150 deleted + 50 changed-then-deleted + 150 new +
        # the transaction's 2 (one may repeat a deleted key)
        assert 500 <= int(m.group(1)) <= 502, m.group(0)

    # the live table is writable and deletable again
    c.put_item(TableName="notes", Item=dict(key("after", "1")))
    c.restore_table_from_backup(TargetTableName="copy", BackupArn=arn)
    t = wait_active(c, "copy")
    assert t["ItemCount"] == ROWS
    got = scan_all(c, "copy")
    if got != want:
        missing = sorted(set(want) - set(got))
        extra = sorted(set(got) - set(want))
        changed = sorted(k for k in set(got) & set(want) if got[k] != want[k])
        pytest.fail("restored table differs: %d items, want %d; missing %s, "
                    "extra %s, changed %s" % (len(got), len(want),
                                              missing[:5], extra[:5],
                                              changed[:5]))
    c.delete_table(TableName="notes")
    print("background backup (%s): answered in %.1f ms, %d rows restored "
          "exactly as of the request after 651 later writes"
          % (interrupt.name if interrupt else "no interruption", answered_ms,
             len(got)))


def test_backups_of_two_tables_at_once(slow):
    """Two backups run side by side, each of its own table."""
    c = harness.make_client(slow.url)
    want = load(c, 3000)
    harness.create_notes(c, name="other")
    c.put_item(TableName="other", Item=dict(key("o", "1")))
    a = c.create_backup(TableName="notes", BackupName="backup-a")
    b = c.create_backup(TableName="other", BackupName="backup-b")
    arn_a = a["BackupDetails"]["BackupArn"]
    arn_b = b["BackupDetails"]["BackupArn"]
    harness.wait_backup(c, arn_b)
    harness.wait_backup(c, arn_a)
    assert len(scan_all(c, "notes")) == len(want)
    for arn, target, n in ((arn_a, "restored-a", len(want)), (arn_b, "restored-b", 1)):
        c.restore_table_from_backup(TargetTableName=target, BackupArn=arn)
        assert wait_active(c, target)["ItemCount"] == n
    assert scan_all(c, "restored-a") == want


FAULT_TARGET = "TidemarkTest_20261125.InjectFault"


@pytest.mark.parametrize("op,errno", [("write", "ENOSPC"), ("write", "EIO"),
                                      ("sync", "EIO")],
                         ids=["disk-full", "write-eio", "fsync-eio"])
def test_io_error_fails_that_backup_only(tmp_path, op, errno):
    """A disk-full or I/O error while a backup is written fails that backup
    (it disappears; the log says why) and leaves the table, the other
    backups and later backups untouched."""
    srv = harness.Server(str(tmp_path / "data"), log_dir=str(tmp_path),
                         extra_args=["--unsafe-test-faults"])
    srv.start()
    try:
        c = harness.make_client(srv.url)
        want = load(c, 3000)
        first = c.create_backup(TableName="notes", BackupName="before")[
            "BackupDetails"]["BackupArn"]
        harness.wait_backup(c, first)
        backups = os.path.join(srv.data_dir, "backups")
        # the rows file (<id>.tmbak and its .tmp); the descriptions' own
        # faults are test_sidecar_faults'
        r = harness.raw_request(srv.port, FAULT_TARGET, {
            "Op": op, "Path": ".tmbak", "Skip": 3 if op == "write" else 0,
            "Count": -1, "Errno": errno})
        assert r.status == 200, r
        bad = c.create_backup(TableName="notes", BackupName="during-fault")[
            "BackupDetails"]["BackupArn"]
        assert settle(c, bad) is None   # CREATING, then gone
        text = srv.stderr_text()
        assert "failed and was removed" in text, text[-3000:]
        assert ("No space left on device" if errno == "ENOSPC"
                else "Input/output error") in text, text[-3000:]
        assert not any(f.startswith(bad.rsplit("/", 1)[1])
                       for f in os.listdir(backups)), os.listdir(backups)
        r = harness.raw_request(srv.port, FAULT_TARGET, {"Clear": True})
        assert r.status == 200, r
        # the table and the earlier backup are untouched; the next works
        assert scan_all(c, "notes") == want
        assert [b["BackupArn"] for b in
                c.list_backups(TableName="notes")["BackupSummaries"]] == [
            first]
        after = c.create_backup(TableName="notes", BackupName="after")[
            "BackupDetails"]["BackupArn"]
        harness.wait_backup(c, after)
        for arn, target in ((first, "from-before"), (after, "from-after")):
            c.restore_table_from_backup(TargetTableName=target,
                                        BackupArn=arn)
            wait_active(c, target)
            assert scan_all(c, target) == want
        c.put_item(TableName="notes", Item=dict(key("still", "writable")))
    finally:
        srv.stop()


# ---- the descriptions (<id>.json): their writes, syncs, renames, unlinks --

# A rule's Path is a substring of the file's path: ".json" matches a
# backup's description <id>.json and its <id>.json.tmp, and nothing else
# under the data dir (sidecar_paths_only checks it); the directory syncs
# that follow them have the store's path, without ".json".
SIDECAR = ".json"


def fault_server(tmp_path):
    srv = harness.Server(str(tmp_path / "data"), log_dir=str(tmp_path),
                         extra_args=["--unsafe-test-faults"])
    srv.start()
    return srv


def inject(srv, **body):
    r = harness.raw_request(srv.port, FAULT_TARGET, body)
    assert r.status == 200, r
    return r.json


def sidecar_paths_only(srv):
    """Every file under the data dir with ".json" in its path is a
    description in the store."""
    backups = os.path.join(srv.data_dir, "backups")
    for root, _, files in os.walk(srv.data_dir):
        for f in files:
            p = os.path.join(root, f)
            if SIDECAR in p:
                assert root == backups and f.endswith(".json"), p


def settle(c, arn, timeout=30):
    """Wait until backup `arn` is AVAILABLE ("AVAILABLE") or gone (None);
    CREATING is the only other state it may show meanwhile."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            st = c.describe_backup(BackupArn=arn)["BackupDescription"][
                "BackupDetails"]["BackupStatus"]
        except ClientError as e:
            assert e.response["Error"]["Code"] == \
                "BackupNotFoundException", e.response
            return None
        if st == "AVAILABLE":
            return st
        assert st == "CREATING", st
        assert time.monotonic() < deadline, arn
        time.sleep(0.02)


def listed(c):
    return sorted((b["BackupArn"], b["BackupStatus"]) for b in
                  c.list_backups(TableName="notes")["BackupSummaries"])


def store_files(srv):
    """{id: set of suffixes} of the store's files."""
    out = {}
    for f in os.listdir(os.path.join(srv.data_dir, "backups")):
        bid, _, rest = f.partition(".")
        out.setdefault(bid, set()).add(rest)
    return out


def nothing_half_made(c, srv, where):
    """Every listed backup is AVAILABLE with its two files, and the store
    holds nothing else (no .tmp, no description or rows file alone)."""
    got = listed(c)
    assert all(st == "AVAILABLE" for _, st in got), (where, got)
    want = {arn.rsplit("/", 1)[1]: {"json", "tmbak"} for arn, _ in got}
    assert store_files(srv) == want, where
    return [arn for arn, _ in got]


def restores_equal(c, arn, target, want):
    c.restore_table_from_backup(TargetTableName=target, BackupArn=arn)
    wait_active(c, target)
    assert scan_all(c, target) == want, (arn, target)


@pytest.mark.parametrize("op,errno", [("write", "ENOSPC"), ("sync", "EIO"),
                                      ("rename", "EIO")],
                         ids=["write-enospc", "fsync-eio", "rename-eio"])
def test_sidecar_faults(tmp_path, op, errno):
    """Every write (or fsync, or rename) of a backup's description fails.

    - CreateBackup: its first description cannot be written, so it
      answers InternalServerError naming the file and nothing is listed
      (had a later write failed, the backup would go CREATING and then
      disappear: either is accepted, AVAILABLE never).
    - DeleteBackup still works: it unlinks the description and syncs the
      store's directory, which none of these faults touches (an unlink
      that fails is test_delete_backup_sidecar_faults').
    - Once cleared: the backup kept from before is listed and restores
      the table as loaded, a new backup does too, and the log says which
      file failed and why."""
    srv = fault_server(tmp_path)
    try:
        c = harness.make_client(srv.url)
        want = load(c, 2000)
        kept = c.create_backup(TableName="notes", BackupName="kept")[
            "BackupDetails"]["BackupArn"]
        gone = c.create_backup(TableName="notes", BackupName="to-delete")[
            "BackupDetails"]["BackupArn"]
        assert settle(c, kept) == settle(c, gone) == "AVAILABLE"
        sidecar_paths_only(srv)
        fid = inject(srv, Op=op, Path=SIDECAR, Count=-1,
                     Errno=errno)["FaultId"]

        # (a) no backup can be made
        try:
            bad = c.create_backup(TableName="notes", BackupName="bad")[
                "BackupDetails"]["BackupArn"]
        except ClientError as e:
            err = e.response["Error"]
            assert err["Code"] == "InternalServerError", err
            assert "cannot write" in err["Message"] and \
                SIDECAR in err["Message"], err
        else:
            assert settle(c, bad) is None, bad
        assert inject(srv, FaultId=fid)["Failed"] >= 1
        assert listed(c) == sorted([(kept, "AVAILABLE"),
                                    (gone, "AVAILABLE")])

        # (b) one can be deleted
        c.delete_backup(BackupArn=gone)
        assert nothing_half_made(c, srv, op) == [kept]

        # (c) cleared: all is well again
        inject(srv, Clear=True)
        restores_equal(c, kept, "from-kept", want)
        after = c.create_backup(TableName="notes", BackupName="after")[
            "BackupDetails"]["BackupArn"]
        assert settle(c, after) == "AVAILABLE"
        restores_equal(c, after, "from-after", want)
        assert nothing_half_made(c, srv, op) == sorted([kept, after])
        text = srv.stderr_text()
        step = {"write": "write of ", "sync": "fsync of ",
                "rename": "rename of "}[op]
        assert re.search(r"cannot write \S+\.json: %s\S+\.json\.tmp failed: "
                         "%s" % (step, "No space left on device"
                                 if errno == "ENOSPC"
                                 else "Input/output error"), text), \
            text[-3000:]
    finally:
        srv.stop()


@pytest.mark.parametrize("op", ["unlink", "sync"])
def test_delete_backup_sidecar_faults(tmp_path, op):
    """DeleteBackup removes the description, syncs the directory, then
    removes the rows file.

    - unlink (of the description) fails: InternalServerError; the backup
      is still listed, restorable, and deleted once the fault is cleared.
    - the directory's fsync fails: InternalServerError (the deletion may
      not survive a crash); the backup is no longer listed, its rows file
      is kept for a description a crash could bring back, and the next
      start, finding none, removes it."""
    srv = fault_server(tmp_path)
    try:
        c = harness.make_client(srv.url)
        want = load(c, 500)
        arn = c.create_backup(TableName="notes", BackupName="doomed")[
            "BackupDetails"]["BackupArn"]
        assert settle(c, arn) == "AVAILABLE"
        bid = arn.rsplit("/", 1)[1]
        backups = os.path.join(srv.data_dir, "backups")
        # the directory: its path holds no ".json"
        inject(srv, Op=op, Path=SIDECAR if op == "unlink" else backups,
               Count=-1, Errno="EIO")
        with pytest.raises(ClientError) as e:
            c.delete_backup(BackupArn=arn)
        err = e.value.response["Error"]
        assert err["Code"] == "InternalServerError", err
        inject(srv, Clear=True)
        text = srv.stderr_text()
        assert ("backup %s was not deleted: cannot remove" % arn
                if op == "unlink" else
                "backup %s: its description is removed, but the removal may "
                "not survive a crash: fsync of the directory" % arn) in text, \
            text[-3000:]
        if op == "unlink":
            assert "cannot remove %s/%s.json: Input/output error" % (
                backups, bid) in err["Message"], err
            assert listed(c) == [(arn, "AVAILABLE")]
            restores_equal(c, arn, "restored", want)
            c.delete_backup(BackupArn=arn)
            assert listed(c) == [] and store_files(srv) == {}
        else:
            assert "fsync of the directory %s failed" % backups in \
                err["Message"], err
            assert listed(c) == []
            assert store_files(srv) == {bid: {"tmbak"}}
            srv.stop()
            srv.start()
            c = harness.make_client(srv.url)
            assert listed(c) == [] and store_files(srv) == {}
    finally:
        srv.stop()


@pytest.mark.parametrize("skip", [1, 5], ids=["first", "last"])
def test_sidecar_directory_sync_fault(tmp_path, skip):
    """The directory's fsync after a description's rename fails: the new
    description, in place but maybe not durable, is removed with the
    backup.  Syncs in the store, in order: the first description's .tmp
    and the directory (CreateBackup answers after them), the rows file
    and the directory, the AVAILABLE description's .tmp and the
    directory.  The 2nd failing: CreateBackup answers InternalServerError;
    the 6th: the backup goes CREATING, then disappears."""
    srv = fault_server(tmp_path)
    try:
        c = harness.make_client(srv.url)
        want = load(c, 500)
        backups = os.path.join(srv.data_dir, "backups")
        fid = inject(srv, Op="sync", Path=backups, Skip=skip, Count=1,
                     Errno="EIO")["FaultId"]
        msg = "fsync of the directory %s failed: Input/output error" % \
            backups
        try:
            arn = c.create_backup(TableName="notes", BackupName="synced")[
                "BackupDetails"]["BackupArn"]
        except ClientError as e:
            assert skip == 1, e.response
            err = e.response["Error"]
            assert err["Code"] == "InternalServerError", err
            assert msg in err["Message"], err
        else:
            assert skip == 5
            assert settle(c, arn) is None
            assert "failed and was removed" in srv.stderr_text()
        assert inject(srv, FaultId=fid)["Failed"] == 1
        assert msg in srv.stderr_text()
        assert listed(c) == [] and store_files(srv) == {}
        inject(srv, Clear=True)
        arn = c.create_backup(TableName="notes", BackupName="synced")[
            "BackupDetails"]["BackupArn"]
        assert settle(c, arn) == "AVAILABLE"
        restores_equal(c, arn, "restored", want)
        srv.stop()
        srv.start()
        c = harness.make_client(srv.url)
        assert nothing_half_made(c, srv, "after a restart") == [arn]
    finally:
        srv.stop()


def test_sidecar_random_fault_points(tmp_path, record_property):
    """A workload (three backups, one deleted) is run once with a rule
    that counts the calls on descriptions (open, write, sync, close,
    rename, unlink of <id>.json and its .tmp), then again for random k
    with the k-th call failing (EIO or ENOSPC).  After every point nothing
    half-made is listed or left in the store; at the end every listed
    backup restores the table as loaded and passes `tidemark backup
    verify`, and a restart lists the same backups."""
    seed = int(os.environ.get("TIDEMARK_FAULT_SEED") or
               time.time() * 1000) % 1000000007
    rng = random.Random(seed)
    points = 6
    t0 = time.monotonic()
    srv = fault_server(tmp_path)
    try:
        c = harness.make_client(srv.url)
        want = load(c, 500)
        refused = [0]

        def workload(tag):
            made = []
            for n in range(3):
                try:
                    arn = c.create_backup(
                        TableName="notes", BackupName="%s-%d" % (tag, n))[
                        "BackupDetails"]["BackupArn"]
                except ClientError as e:
                    assert e.response["Error"]["Code"] == \
                        "InternalServerError", e.response
                    refused[0] += 1
                    continue
                if settle(c, arn):
                    made.append(arn)
                else:
                    refused[0] += 1
            if made:
                try:
                    c.delete_backup(BackupArn=made[0])
                except ClientError as e:
                    assert e.response["Error"]["Code"] == \
                        "InternalServerError", e.response
                    refused[0] += 1

        sidecar_paths_only(srv)
        fid = inject(srv, Op="all", Path=SIDECAR, Count=0)["FaultId"]
        workload("count")
        calls = inject(srv, FaultId=fid)["Hits"]
        inject(srv, Clear=True)
        assert refused[0] == 0 and calls >= 7, calls
        nothing_half_made(c, srv, "counting run")
        sidecar_paths_only(srv)

        fired = 0
        for p in range(points):
            k = rng.randrange(calls)
            errno = rng.choice(["EIO", "ENOSPC"])
            fid = inject(srv, Op="all", Path=SIDECAR, Skip=k, Count=1,
                         Errno=errno)["FaultId"]
            workload("p%d" % p)
            fired += inject(srv, FaultId=fid)["Failed"]
            inject(srv, Clear=True)
            nothing_half_made(c, srv, "point %d: call %d of %d, %s (seed %d)"
                              % (p, k, calls, errno, seed))
        assert fired == points, (fired, seed)
        assert refused[0] >= 1, seed

        arns = nothing_half_made(c, srv, "at the end (seed %d)" % seed)
        for n, arn in enumerate(arns):
            restores_equal(c, arn, "restored-%d" % n, want)
            out = subprocess.run([harness.BINARY, "backup", "verify",
                                  "--data", srv.data_dir, arn],
                                 capture_output=True, text=True, timeout=60)
            assert out.returncode == 0, (arn, out.stdout, out.stderr)
        before = listed(c)
        srv.stop()
        srv.start()
        c = harness.make_client(srv.url)
        assert listed(c) == before
        nothing_half_made(c, srv, "after a restart (seed %d)" % seed)
    finally:
        srv.stop()
    line = ("sidecar faults: %d random fault points on the backup "
            "descriptions (open, write, fsync, close, rename, unlink; "
            "EIO/ENOSPC) out of %d calls per workload, %d injected failures,"
            " %d requests refused, %d backups restored equal and verified, "
            "the same after a restart, 0 half-made, seed %d, %.1f s"
            % (points, calls, fired, refused[0], len(arns), seed,
               time.monotonic() - t0))
    record_property("fault_summary", line)
    print(line)


# Long keys: past 480 bytes the state orders rows that share their first
# 472 bytes by a hash (src/engine/engine.c), and a new snapshot's cursor
# must pick up in that order too.
@pytest.mark.parametrize("prefix", ["", "p" * 600], ids=["short-keys",
                                                        "long-keys"])
def test_writes_throughout_a_backup_read_from_many_snapshots(slow, prefix):
    """A background backup reads each chunk of 256 rows from a new read
    snapshot, held only while it copies them (so that LMDB can reuse the
    pages later writes free), and undoes what was logged since the
    request.  Writes go on the whole time: overwrites,
    deletes, new keys and keys written twice, all over the key range, so
    that some land just ahead of where the backup reads and some just
    behind.  The restored table is exactly the table as of the request."""
    c = harness.make_client(slow.url)
    want = load(c, 20000, prefix)
    keys = sorted(want)
    arn = c.create_backup(TableName="notes",
                          BackupName="moving")["BackupDetails"]["BackupArn"]
    stop = threading.Event()
    done = []

    def writer():
        wc = harness.make_client(slow.url)
        rng = random.Random(11)
        n = 0
        while not stop.is_set():
            k = rng.choice(keys)
            op = n % 4
            if op == 0:
                wc.put_item(TableName="notes",
                            Item=dict(key(*k), body={"S": "later %d" % n}))
            elif op == 1:
                wc.delete_item(TableName="notes", Key=key(*k))
            elif op == 2:  # a new key next to an old one
                wc.put_item(TableName="notes", Item=dict(
                    key(k[0], k[1] + "+%d" % n), body={"S": "new"}))
            else:          # the same key twice
                for v in ("once", "twice"):
                    wc.put_item(TableName="notes",
                                Item=dict(key(*k), body={"S": v}))
            n += 1
        done.append(n)

    t = threading.Thread(target=writer)
    t.start()
    try:
        harness.wait_backup(c, arn, timeout=120)
    finally:
        stop.set()
        t.join()
    m = re.search(re.escape(arn) + r" of table notes: 20000 items, .* in "
                  r"the background, (\d+) snapshots", slow.stderr_text())
    assert m, slow.stderr_text()[-2000:]
    # one snapshot per chunk of 256 rows, none held across chunks
    assert int(m.group(1)) >= 20000 // 256, m.group(0)
    assert done[0] > 100, done
    c.restore_table_from_backup(TargetTableName="copy", BackupArn=arn)
    assert wait_active(c, "copy")["ItemCount"] == 20000
    got = scan_all(c, "copy")
    assert set(got) == set(want)
    bad = [k for k in want if got[k] != want[k]]
    assert not bad, bad[:5]
    print("backup from %s snapshots while %d writes went on: 20,000 rows "
          "as of the request" % (m.group(1), done[0]))
