"""The simulated power cut (issue 7, point 6).

A kill -9 leaves everything written in the operating system's cache, so it
cannot catch a missing fsync.  Here the server runs under
tests/powercut/powercut.c (LD_PRELOAD), which copies each file's content
when it is synced and each directory's listing when it is synced.  At a
random moment under write load (and with backups being made) the server is
killed, and its data directory is rebuilt from those copies alone, as a
power cut would leave it on a file system that keeps nothing unsynced: the
change log, LMDB's files, backup files and their descriptions, and the
directory entries of new files.  The server then starts on the rebuilt
directory and must hold every acknowledged write, every backup that was
AVAILABLE (listed, and verified offline), and a point-in-time window that
still reaches the last restorable time seen before the cut.

Environment: TIDEMARK_POWERCUT_CYCLES (default 8), TIDEMARK_POWERCUT_SEED.
"""
import os
import random
import signal
import subprocess
import sys
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "powercut"))
import harness  # noqa: E402
from rebuild import rebuild  # noqa: E402

pytestmark = pytest.mark.skipif(
    bool(harness.EXTERNAL_ENDPOINT),
    reason="kills the server process; needs the tidemark binary")

CYCLES = int(os.environ.get("TIDEMARK_POWERCUT_CYCLES", "8"))
SEED = int(os.environ.get("TIDEMARK_POWERCUT_SEED", str(int(time.time()))))
LIB = os.path.join(harness.REPO_ROOT, "build", "tests", "libpowercut.so")
THREADS = 4


class Writer(threading.Thread):
    def __init__(self, wid, port, model, rng):
        super().__init__(daemon=True)
        self.wid, self.port, self.model, self.rng = wid, port, model, rng
        self.pending = None     # (key, value or None) not acknowledged
        self.acked = 0
        self.stop = False

    def run(self):
        c = harness.RawClient(self.port, timeout=10)
        try:
            while not self.stop:
                k = "w%d-%03d" % (self.wid, self.rng.randrange(150))
                if self.rng.random() < 0.8:
                    v = "%d-%d" % (self.wid, self.rng.getrandbits(40))
                    self.pending = (k, v)
                    r = c.request("PutItem", {"TableName": "notes", "Item": {
                        "userId": {"S": k}, "noteId": {"S": "n"},
                        "v": {"S": v}, "pad": {"S": "p" * 300}}})
                else:
                    self.pending = (k, None)
                    r = c.request("DeleteItem", {"TableName": "notes",
                                                 "Key": {"userId": {"S": k},
                                                         "noteId": {"S": "n"}}})
                if r.status != 200:
                    return
                self.model[k] = self.pending[1]
                self.pending = None
                self.acked += 1
        except Exception:
            return      # the server was killed: self.pending is in flight


def check_acknowledged(got, model, writers, where):
    """The table `got` holds exactly what was acknowledged (`model`; a
    writer's write in flight at the cut may have landed or not, and the
    model takes it if it did).  Returns how many items were checked."""
    for w in writers:
        if w.pending is not None:
            k, v = w.pending
            if got.get(k) == v:
                model[k] = v        # the write in flight did land
    want = {k: v for k, v in model.items() if v is not None}
    assert got == want, (
        "%s: missing %s, wrong %s, extra %s" % (
            where, sorted(set(want) - set(got))[:5],
            sorted(k for k in set(want) & set(got) if want[k] != got[k])[:5],
            sorted(set(got) - set(want))[:5]))
    return len(want)


def state(c):
    got, body = {}, {"TableName": "notes"}
    while True:
        r = c.call("Scan", body)
        for it in r["Items"]:
            got[it["userId"]["S"]] = it["v"]["S"]
        if "LastEvaluatedKey" not in r:
            return got
        body = dict(body, ExclusiveStartKey=r["LastEvaluatedKey"])


def test_power_cut_keeps_what_was_acknowledged(tmp_path):
    if not os.path.exists(LIB):
        pytest.fail("%s is missing: `make test` builds it" % LIB)
    rng = random.Random(SEED)
    data = str(tmp_path / "gen0")
    os.makedirs(data)
    model, backups = {}, []
    latest_seen = None
    acked = checked = files = 0
    for cycle in range(CYCLES):
        shadow = str(tmp_path / ("shadow%d" % cycle))
        env = dict(os.environ, LD_PRELOAD=LIB, POWERCUT_DIR=data,
                   POWERCUT_SHADOW=shadow)
        srv = harness.Server(data, log_dir=str(tmp_path), env=env)
        srv.start()
        c = harness.RawClient(srv.port, timeout=60)
        if cycle == 0:
            harness.create_notes(harness.make_client(srv.url))
            c.call("UpdateContinuousBackups", {
                "TableName": "notes", "PointInTimeRecoverySpecification": {
                    "PointInTimeRecoveryEnabled": True}})
        writers = [Writer(i, srv.port, model, random.Random(rng.random()))
                   for i in range(THREADS)]
        for w in writers:
            w.start()
        deadline = time.monotonic() + rng.uniform(0.3, 2.5)
        if rng.random() < 0.6:      # a backup, AVAILABLE before the cut
            arn = c.call("CreateBackup", {
                "TableName": "notes", "BackupName": "cut-%d" % cycle})[
                "BackupDetails"]["BackupArn"]
            harness.wait_backup(c, arn)
            backups.append(arn)
        cb = c.call("DescribeContinuousBackups", {"TableName": "notes"})
        latest_seen = cb["ContinuousBackupsDescription"][
            "PointInTimeRecoveryDescription"]["LatestRestorableDateTime"]
        while time.monotonic() < deadline:
            time.sleep(0.05)
        srv.proc.send_signal(signal.SIGKILL)      # the power cut
        srv.proc.wait()
        for w in writers:
            w.join(10)
            acked += w.acked
        nxt = str(tmp_path / ("gen%d" % (cycle + 1)))
        nfiles, _ = rebuild(shadow, nxt)
        files += nfiles
        data = nxt
        # after the cut: every acknowledged write, every AVAILABLE backup
        srv = harness.Server(data, log_dir=str(tmp_path))
        srv.start()
        c = harness.RawClient(srv.port, timeout=60)
        checked += check_acknowledged(state(c), model, writers,
                                      "cycle %d (seed %d)" % (cycle, SEED))
        listed = {b["BackupArn"]: b["BackupStatus"] for b in c.call(
            "ListBackups", {"TableName": "notes"})["BackupSummaries"]}
        for arn in backups:
            assert listed.get(arn) == "AVAILABLE", (cycle, SEED, arn, listed)
        pitr = c.call("DescribeContinuousBackups", {"TableName": "notes"})[
            "ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
        assert pitr["PointInTimeRecoveryStatus"] == "ENABLED", pitr
        assert pitr["EarliestRestorableDateTime"] <= latest_seen <= \
            pitr["LatestRestorableDateTime"], (cycle, SEED, pitr,
                                               latest_seen)
        srv.stop()
    for arn in backups:
        r = subprocess.run([harness.BINARY, "backup", "verify", "--data",
                            data, arn], capture_output=True, text=True)
        assert r.returncode == 0, (arn, r.stdout, r.stderr)
    print("power cut: %d random cut points (seed %d), %d acknowledged "
          "writes, %d keys checked after the cuts, %d AVAILABLE backups "
          "listed and verified, %d files rebuilt from synced data, 0 lost"
          % (CYCLES, SEED, acked, checked, len(backups), files))
