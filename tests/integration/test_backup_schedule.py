"""Scheduled backups (--backup-schedule), under a clock the test moves:
ordinary USER backups named by schedule and date, taken every interval,
pruned past the retention, listed and restorable like any other; backups
made by hand are never pruned."""
import random
import re
import threading
import time

import pytest

import harness

pytestmark = pytest.mark.needs_binary


def advance(raw, ms):
    return raw.call("TidemarkTest_20261125.AdvanceClock", {"Milliseconds": ms})


def scheduled(c):
    return [b for b in c.list_backups(TableName="notes")["BackupSummaries"]
            if b["BackupName"].startswith("notes-scheduled-")]


def wait_for(pred, timeout=10):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def start_scheduled(tmp_path, *args):
    """A server whose clock the test moves, with `args`; the notes table
    created.  Returns (server, client, raw client)."""
    srv = harness.Server(str(tmp_path / "data"), log_dir=str(tmp_path),
                         extra_args=["--unsafe-test-clock", *args])
    srv.start()
    c = harness.make_client(srv.url)
    harness.create_notes(c)
    return srv, c, harness.RawClient(srv.port)


def test_schedule_takes_prunes_and_restores(tmp_path):
    srv, c, raw = start_scheduled(tmp_path, "--backup-schedule",
                                  "notes=6h,keep=3")
    try:
        c.put_item(TableName="notes", Item={"userId": {"S": "u"},
                                            "noteId": {"S": "first"}})
        wait_for(lambda: len(scheduled(c)) == 1)  # the first, at once
        manual = c.create_backup(TableName="notes", BackupName="by-hand")[
            "BackupDetails"]["BackupArn"]
        harness.wait_backup(c, manual)
        for i in range(5):
            c.put_item(TableName="notes", Item={"userId": {"S": "u"},
                                                "noteId": {"S": "n%d" % i}})
            advance(raw, 6 * 3600 * 1000 + 1000)
            time.sleep(1.3)
        names = [b["BackupName"] for b in scheduled(c)]
        assert len(names) == 3, names  # keep=3
        assert all(b["BackupType"] == "USER" for b in scheduled(c))
        assert names == sorted(names)  # named by date, oldest first
        # the hand-made backup is untouched by the retention
        assert c.describe_backup(BackupArn=manual)["BackupDescription"][
            "BackupDetails"]["BackupStatus"] == "AVAILABLE"
        # the newest scheduled backup restores the table as it was
        newest = scheduled(c)[-1]["BackupArn"]
        c.restore_table_from_backup(TargetTableName="from-schedule",
                                    BackupArn=newest)
        wait_for(lambda: c.describe_table(TableName="from-schedule")[
            "Table"]["TableStatus"] == "ACTIVE")
        assert c.scan(TableName="from-schedule")["Count"] == 6
        assert "expired (retention of notes)" in srv.stderr_text()
        raw.close()
    finally:
        srv.stop()


def test_bad_schedule_refused(tmp_path):
    import subprocess
    out = subprocess.run([harness.BINARY, "serve", "--data",
                          str(tmp_path / "d"), "--backup-schedule",
                          "notes=soon"], capture_output=True, text=True,
                         timeout=10)
    assert out.returncode != 0
    assert "--backup-schedule wants TABLE=EVERY" in out.stderr


def test_scheduled_backup_under_writes_is_one_moment(tmp_path):
    """A scheduled backup is read from a series of snapshots too (the
    table held, the changes in between undone from the log): with writes
    going on the whole time, the restored table is the table after exactly
    some prefix of the writes, one moment, not a mix."""
    srv, c, raw = start_scheduled(tmp_path, "--unsafe-test-slow-backups",
                                  "--backup-schedule", "notes=6h,keep=5")
    try:
        wait_for(lambda: len(scheduled(c)) == 1)  # of the empty table
        model = {}
        for s in range(0, 15000, 25):
            batch = [{"userId": {"S": "u%d" % (i % 30)},
                      "noteId": {"S": "n%06d" % i},
                      "body": {"S": "v0 %d" % i}} for i in range(s, s + 25)]
            c.batch_write_item(RequestItems={"notes": [
                {"PutRequest": {"Item": it}} for it in batch]})
            for it in batch:
                model[(it["userId"]["S"], it["noteId"]["S"])] = it
        keys = sorted(model)
        writes = []  # (key, item or None), in the order acknowledged
        stop = threading.Event()

        def writer():
            wc = harness.make_client(srv.url)
            rng = random.Random(3)
            j = 0
            while not stop.is_set():
                k = rng.choice(keys) if j % 3 else ("u%d" % (j % 30),
                                                    "w%06d" % j)
                if j % 3 == 2:
                    wc.delete_item(TableName="notes", Key={
                        "userId": {"S": k[0]}, "noteId": {"S": k[1]}})
                    writes.append((k, None))
                else:
                    it = {"userId": {"S": k[0]}, "noteId": {"S": k[1]},
                          "body": {"S": "w %d" % j}}
                    wc.put_item(TableName="notes", Item=it)
                    writes.append((k, it))
                j += 1

        t = threading.Thread(target=writer)
        t.start()
        try:
            time.sleep(0.2)
            advance(raw, 6 * 3600 * 1000 + 1000)
            wait_for(lambda: len(scheduled(c)) == 2, timeout=60)
            time.sleep(0.3)
        finally:
            stop.set()
            t.join()
        newest = scheduled(c)[-1]["BackupArn"]
        harness.wait_backup(c, newest)
        m = re.search(re.escape(newest) + r" of table notes: .* ms, (\d+) "
                      r"snapshots", srv.stderr_text())
        assert m and int(m.group(1)) >= 3, srv.stderr_text()[-1500:]
        c.restore_table_from_backup(TargetTableName="back",
                                    BackupArn=newest)
        harness.wait_table_active(c, "back")
        got = {(it["userId"]["S"], it["noteId"]["S"]): it
               for it in harness.scan_items(c, TableName="back")}
        # the model after k writes, for k = 0.. : one must match exactly
        bad = sum(1 for k in set(model) | set(got)
                  if model.get(k) != got.get(k))
        matches = [0] if bad == 0 else []
        for n, (k, it) in enumerate(writes, 1):
            before = model.get(k) != got.get(k)
            if it is None:
                model.pop(k, None)
            else:
                model[k] = it
            bad += (model.get(k) != got.get(k)) - before
            if bad == 0:
                matches.append(n)
        assert matches, "the restored table is no moment of the writes"
        assert 0 < matches[0] < len(writes), (matches[:3], len(writes))
        print("scheduled backup from %s snapshots: the table after write %d "
              "of %d" % (m.group(1), matches[0], len(writes)))
    finally:
        srv.stop()
