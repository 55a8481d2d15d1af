#!/usr/bin/python3
"""The soak (`make soak`): mixed load for SOAK_SECONDS (default 600) while
backups, restores, point-in-time restores and kill -9 restarts happen, then
a full check.  Issue 7, point 7.

Load: WRITERS threads, each with its own keep-alive connection and its own
keys of table `soak` (PITR on, one GSI), doing PutItem, conditional
UpdateItem (a counter), DeleteItem and TransactWriteItems of two of its
keys; READERS threads doing GetItem, Query (a page of a user's notes) and
Query on the GSI.  Every writer keeps a model: per key, the state of its
last acknowledged write, plus the one write it may have in flight when the
server dies (then either state is right, as in tests/crash).

Events, one at a time on a control thread: every ~45 s a CreateBackup
(waited AVAILABLE) and, every other time, a RestoreTableFromBackup of it
checked against the backup's ItemCount; every ~60 s a
RestoreTableToPointInTime to the latest restorable time, checked ACTIVE
with a plausible count; in the first half of the run, a kill -9 every ~70 s
followed by a restart and a full check of every writer's keys against its
model.  The second half has no kills, so that the server's memory can be
watched in one process: resident anonymous memory (RssAnon, the heap; the
LMDB map is file-backed and grows with the data) sampled every 2 s after a
120 s warm-up (two of every event; glibc's per-thread arenas settle: 60
backups in a row grow RssAnon by 2.1, 0.5, 0.1, 0.0 MB per 15); its growth
must stay under 5%.

Final check: every acknowledged write present (full scan against the
models), no crash other than ours (the server never exited by itself), and
every backup verified offline with `tidemark backup verify` after a clean
stop.  Prints a summary; exits 1 on any failure.

Environment: SOAK_SECONDS (600), SOAK_EVENTS (0: the load alone, no
backups, restores or kills; to tell their memory from the load's), SOAK_SEED, TIDEMARK_BIN (build/tidemark),
SOAK_DIR (a fresh temporary directory; kept on failure).
"""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402

SECONDS = int(os.environ.get("SOAK_SECONDS", "600"))
EVENTS = os.environ.get("SOAK_EVENTS", "1") != "0"   # 0: load only
SEED = int(os.environ.get("SOAK_SEED", str(int(time.time()))))
WRITERS = 4
READERS = 2
KEYS_PER_WRITER = 400
WARMUP = 120      # s after the last kill: two of every event, glibc's
                  # per-thread arenas and the caches settle
TABLE = "soak"

rng = random.Random(SEED)
stop = threading.Event()
server_down = threading.Event()    # set while the control thread restarts
failures = []
stats = {"writes": 0, "reads": 0, "unacked": 0, "errors_while_down": 0,
         "backups": 0, "restores": 0, "pitr_restores": 0, "kills": 0,
         "checks": 0, "checked_keys": 0}
lock = threading.Lock()


def log(msg):
    print("%s soak: %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def fail(msg):
    with lock:
        failures.append(msg)
    log("FAILURE: " + msg)


def bump(k, n=1):
    with lock:
        stats[k] += n


class Writer(threading.Thread):
    """Owns keys w<id>-<n>; model[key] = item dict or None (absent)."""

    def __init__(self, wid, port):
        super().__init__(daemon=True)
        self.wid = wid
        self.port = port
        self.model = {}
        self.pending = {}       # key -> state the unacknowledged write makes
        self.rng = random.Random(SEED * 31 + wid)
        self.seq = 0
        self.paused = threading.Event()
        self.idle = threading.Event()

    def key(self, n):
        return "w%d-%04d" % (self.wid, n)

    def item(self, k, counter=0):
        self.seq += 1
        return {"pk": {"S": k}, "user": {"S": "u%d" % (hash(k) % 20)},
                "v": {"S": "w%d-%d" % (self.wid, self.seq)},
                "n": {"N": str(counter)},
                "body": {"S": "x" * self.rng.randint(10, 600)}}

    def one(self, c):
        k = self.key(self.rng.randrange(KEYS_PER_WRITER))
        op = self.rng.random()
        cur = self.model.get(k)
        if op < 0.45:
            it = self.item(k)
            after = {k: it}
            body = ("PutItem", {"TableName": TABLE, "Item": it})
        elif op < 0.65 and cur is not None:
            n = int(cur["n"]["N"])
            new = dict(cur, n={"N": str(n + 1)})
            after = {k: new}
            body = ("UpdateItem", {
                "TableName": TABLE, "Key": {"pk": {"S": k}},
                "UpdateExpression": "SET n = n + :one",
                "ConditionExpression": "n = :cur",
                "ExpressionAttributeValues": {":one": {"N": "1"},
                                              ":cur": {"N": str(n)}}})
        elif op < 0.8:
            after = {k: None}
            body = ("DeleteItem", {"TableName": TABLE,
                                   "Key": {"pk": {"S": k}}})
        else:
            k2 = self.key(self.rng.randrange(KEYS_PER_WRITER))
            if k2 == k:
                return
            a, b = self.item(k), self.item(k2)
            after = {k: a, k2: b}
            body = ("TransactWriteItems", {"TransactItems": [
                {"Put": {"TableName": TABLE, "Item": a}},
                {"Put": {"TableName": TABLE, "Item": b}}]})
        self.pending = after
        r = c.request(*body)
        if r.status == 200:
            self.model.update(after)
            self.pending = {}
            bump("writes")
            return
        # a definite refusal changed nothing
        if r.status == 400:
            self.pending = {}
            if r.error_type() != "ConditionalCheckFailedException":
                fail("writer %d: %s refused: %r" % (self.wid, body[0], r))
            return
        fail("writer %d: %s answered %r" % (self.wid, body[0], r))
        self.pending = {}

    def run(self):
        c = None
        while not stop.is_set():
            if self.paused.is_set():
                self.idle.set()
                time.sleep(0.05)
                continue
            self.idle.clear()
            try:
                if c is None:
                    c = harness.RawClient(self.port, timeout=30)
                self.one(c)
            except Exception as e:  # connection died: the server was killed
                if not server_down.is_set() and not stop.is_set():
                    fail("writer %d: %r with the server up" % (self.wid, e))
                bump("unacked")
                self.paused.set()   # until the control thread checks
                c = None


class Reader(threading.Thread):
    def __init__(self, rid, port):
        super().__init__(daemon=True)
        self.port = port
        self.rng = random.Random(SEED * 17 + rid)

    def run(self):
        c = None
        while not stop.is_set():
            try:
                if c is None:
                    c = harness.RawClient(self.port, timeout=30)
                x = self.rng.random()
                if x < 0.6:
                    k = "w%d-%04d" % (self.rng.randrange(WRITERS),
                                      self.rng.randrange(KEYS_PER_WRITER))
                    r = c.request("GetItem", {"TableName": TABLE,
                                              "Key": {"pk": {"S": k}}})
                else:
                    r = c.request("Query", {
                        "TableName": TABLE, "IndexName": "by-user",
                        "KeyConditionExpression": "#u = :u",
                        "ExpressionAttributeNames": {"#u": "user"},
                        "ExpressionAttributeValues": {
                            ":u": {"S": "u%d" % self.rng.randrange(20)}},
                        "Limit": 100})
                if r.status != 200:
                    fail("reader: %r" % r)
                bump("reads")
            except Exception:
                if not server_down.is_set() and not stop.is_set():
                    fail("reader: connection failed with the server up")
                c = None
                time.sleep(0.1)


def scan_all(c, table):
    got, body = {}, {"TableName": table}
    while True:
        r = c.call("Scan", body)
        for it in r["Items"]:
            got[it["pk"]["S"]] = it
        if "LastEvaluatedKey" not in r:
            return got
        body = dict(body, ExclusiveStartKey=r["LastEvaluatedKey"])


def check_models(port, writers, where):
    c = harness.RawClient(port, timeout=120)
    got = scan_all(c, TABLE)
    c.close()
    bad = 0
    for w in writers:
        for n in range(KEYS_PER_WRITER):
            k = w.key(n)
            have = got.get(k)
            ok = [w.model.get(k)]
            if k in w.pending:
                ok.append(w.pending[k])
            if not any(have == o for o in ok):
                bad += 1
                if bad <= 5:
                    fail("%s: key %s is %r, acknowledged %r" % (
                        where, k, have and have.get("v"),
                        [o and o.get("v") for o in ok]))
            elif have != w.model.get(k):
                w.model[k] = have      # the in-flight write did land
        w.pending = {}
    bump("checks")
    bump("checked_keys", WRITERS * KEYS_PER_WRITER)
    return bad


def wait(c, op, body, pred, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = c.call(op, body)
        if pred(r):
            return r
        time.sleep(0.1)
    raise AssertionError("%s %r: timed out" % (op, body))


def rss_anon(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    return 0


def main():
    root = os.environ.get("SOAK_DIR") or tempfile.mkdtemp(
        prefix="tidemark-soak-")
    srv = harness.Server(os.path.join(root, "data"), log_dir=root)
    srv.start()
    log("seed %d, %d s, data %s, server %s" % (SEED, SECONDS, root,
                                                harness.BINARY))
    c = harness.RawClient(srv.port, timeout=120)
    c.call("CreateTable", {
        "TableName": TABLE, "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "pk",
                                  "AttributeType": "S"},
                                 {"AttributeName": "user",
                                  "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [{
            "IndexName": "by-user",
            "KeySchema": [{"AttributeName": "user", "KeyType": "HASH"},
                          {"AttributeName": "pk", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"}}]})
    c.call("UpdateContinuousBackups", {
        "TableName": TABLE,
        "PointInTimeRecoverySpecification": {
            "PointInTimeRecoveryEnabled": True}})
    writers = [Writer(i, srv.port) for i in range(WRITERS)]
    readers = [Reader(i, srv.port) for i in range(READERS)]
    for t in writers + readers:
        t.start()

    t0 = time.monotonic()
    kill_until = t0 + SECONDS * 0.5
    next_backup = t0 + 20
    next_pitr = t0 + 40
    next_kill = t0 + 70
    backups, nrestore = [], 0
    samples = []
    warm_at = None
    while time.monotonic() - t0 < SECONDS and not failures:
        now = time.monotonic()
        if srv.proc.poll() is not None and not server_down.is_set():
            fail("the server exited by itself (code %s)" % srv.proc.poll())
            break
        try:
            if not EVENTS:
                time.sleep(0.5)
            elif now >= next_backup:
                r = c.call("CreateBackup", {"TableName": TABLE,
                                            "BackupName": "soak-%d" %
                                            len(backups)})
                arn = r["BackupDetails"]["BackupArn"]
                d = wait(c, "DescribeBackup", {"BackupArn": arn},
                         lambda r: r["BackupDescription"]["BackupDetails"][
                             "BackupStatus"] == "AVAILABLE")
                backups.append(arn)
                bump("backups")
                if len(backups) % 2 == 1:
                    nrestore += 1
                    name = "soak-restore-%d" % nrestore
                    c.call("RestoreTableFromBackup",
                           {"TargetTableName": name, "BackupArn": arn})
                    t = wait(c, "DescribeTable", {"TableName": name},
                             lambda r: r["Table"]["TableStatus"] ==
                             "ACTIVE")["Table"]
                    want = d["BackupDescription"]["SourceTableDetails"][
                        "ItemCount"]
                    if t["ItemCount"] != want:
                        fail("restore of %s: %d items, the backup says %d"
                             % (arn, t["ItemCount"], want))
                    c.call("DeleteTable", {"TableName": name})
                    bump("restores")
                next_backup = time.monotonic() + 45
            elif now >= next_pitr:
                nrestore += 1
                name = "soak-pitr-%d" % nrestore
                c.call("RestoreTableToPointInTime", {
                    "SourceTableName": TABLE, "TargetTableName": name,
                    "UseLatestRestorableTime": True})
                t = wait(c, "DescribeTable", {"TableName": name},
                         lambda r: r["Table"]["TableStatus"] ==
                         "ACTIVE")["Table"]
                if not 0 < t["ItemCount"] <= WRITERS * KEYS_PER_WRITER:
                    fail("PITR restore %s: %d items" % (name,
                                                        t["ItemCount"]))
                c.call("DeleteTable", {"TableName": name})
                bump("pitr_restores")
                next_pitr = time.monotonic() + 60
            elif now >= next_kill and now < kill_until:
                server_down.set()
                srv.kill()
                bump("kills")
                for w in writers:
                    w.paused.set()
                srv.start()
                c = harness.RawClient(srv.port, timeout=120)
                for w in writers:
                    w.idle.wait(30)
                bad = check_models(srv.port, writers, "after kill -9 #%d"
                                   % stats["kills"])
                log("kill -9 #%d: restarted, %d keys checked, %d wrong" % (
                    stats["kills"], WRITERS * KEYS_PER_WRITER, bad))
                server_down.clear()
                for w in writers:
                    w.paused.clear()
                next_kill = time.monotonic() + 70
            else:
                time.sleep(0.5)
        except Exception as e:
            fail("control: %r" % e)
            break
        if now >= kill_until and not server_down.is_set():
            if warm_at is None:
                warm_at = now + WARMUP
            elif now >= warm_at and (not samples or
                                     now - samples[-1][0] >= 2):
                samples.append((now, rss_anon(srv.proc.pid)))
    stop.set()
    for t in writers + readers:
        t.join(60)
    elapsed = time.monotonic() - t0
    bad = check_models(srv.port, writers, "final") if not failures else -1
    if samples:
        base = samples[0][1]
        peak = max(s[1] for s in samples)
        end = samples[-1][1]
        growth = (end - base) * 100.0 / base if base else 0.0
        log("memory (RssAnon, one process, %d samples over %.0f s after "
            "warm-up): %d KiB at start, %d KiB at the end, peak %d KiB: "
            "growth %.1f%%" % (len(samples), samples[-1][0] -
                               samples[0][0], base, end, peak, growth))
        if growth >= 5.0:
            fail("resident memory grew %.1f%% (>= 5%%) after warm-up"
                 % growth)
    else:
        fail("no memory samples (run longer than ~%d s)" %
             int(SECONDS * 0.5 + WARMUP))
    srv.stop()
    verified = 0
    for arn in backups:
        r = subprocess.run([harness.BINARY, "backup", "verify", "--data",
                            srv.data_dir, arn], capture_output=True,
                           text=True)
        if r.returncode != 0:
            fail("backup %s does not verify: %s" % (arn, r.stderr.strip()))
        else:
            verified += 1
    log("%.0f s: %d acknowledged writes, %d reads, %d in flight at a kill, "
        "%d kill -9 restarts, %d backups (%d verified offline), %d restores "
        "from backups, %d PITR restores, %d full checks of %d keys, "
        "%d keys wrong; seed %d" % (
            elapsed, stats["writes"], stats["reads"], stats["unacked"],
            stats["kills"], stats["backups"], verified, stats["restores"],
            stats["pitr_restores"], stats["checks"], stats["checked_keys"],
            max(bad, 0), SEED))
    if failures:
        log("%d failures; data kept in %s" % (len(failures), root))
        print("0 passed, 1 failed")
        return 1
    shutil.rmtree(root, ignore_errors=True)
    print("1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
