"""Scheduled backups (--backup-schedule), under a clock the test moves:
ordinary USER backups named by schedule and date, taken every interval,
pruned past the retention, listed and restorable like any other; backups
made by hand are never pruned."""
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


def test_schedule_takes_prunes_and_restores(tmp_path):
    srv = harness.Server(str(tmp_path / "data"), log_dir=str(tmp_path),
                         extra_args=["--unsafe-test-clock",
                                     "--backup-schedule", "notes=6h,keep=3"])
    srv.start()
    try:
        c = harness.make_client(srv.url)
        raw = harness.RawClient(srv.port)
        harness.create_notes(c)
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
