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


def load(c, rows):
    """`rows` notes; returns {(userId, noteId): item} as acknowledged."""
    harness.create_notes(c)
    state = {}
    items = []
    for i in range(rows):
        it = dict(key("u%d" % (i % 50), "n%06d" % i),
                  body={"S": "first version %d " % i + "x" * 100})
        items.append(it)
        state[("u%d" % (i % 50), "n%06d" % i)] = it
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
        r = harness.raw_request(srv.port, FAULT_TARGET, {
            "Op": op, "Path": backups, "Skip": 3 if op == "write" else 0,
            "Count": -1, "Errno": errno})
        assert r.status == 200, r
        bad = c.create_backup(TableName="notes", BackupName="during-fault")[
            "BackupDetails"]["BackupArn"]
        deadline = time.monotonic() + 30
        while True:     # CREATING, then gone
            try:
                st = c.describe_backup(BackupArn=bad)["BackupDescription"][
                    "BackupDetails"]["BackupStatus"]
            except ClientError as e:
                assert e.response["Error"]["Code"] == \
                    "BackupNotFoundException", e.response
                break
            assert st == "CREATING", st
            assert time.monotonic() < deadline
            time.sleep(0.02)
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
