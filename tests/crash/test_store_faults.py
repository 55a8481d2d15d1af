"""Faults below the store (issue 7, point 5): LMDB's own writes and syncs
of the state file fail.

LMDB writes data.mdb with its own pwrite/writev/fdatasync, which the
server's file layer (src/base/fsio.h) cannot reach, so the server runs
under tests/faultlib/faultlib.c (LD_PRELOAD), which fails the k-th such
call (then a few more) with EIO or ENOSPC, k random.  Writes flow from
several clients meanwhile (each on its own keys, so that its own order is
the order of its writes).  What must hold (src/engine/engine.c, "The
batch"):

- a write answered 200 is in the table, live and after every restart;
- a write that failed is answered InternalServerError or
  ServiceUnavailable (never acknowledged), and may or may not be applied
  (its record may be in the log), like any 500 from DynamoDB: a key ends
  as its last acknowledged write left it or as one of the failed writes
  after that;
- once the fault has passed, writes go on without a restart, unless the
  failed call was a write of LMDB's meta page (LMDB then refuses every
  transaction until the process restarts: the server says so and a
  restart recovers);
- a failed checkpoint sync keeps the log from there on (no more
  checkpoints until a restart: "fsyncgate") and refuses nothing.

Each point then ends with kill -9 or SIGTERM and a restart without the
fault, and the table must hold everything acknowledged.

Environment: TIDEMARK_STORE_FAULT_POINTS (default 12),
TIDEMARK_STORE_FAULT_SEED.
"""
import os
import random
import signal
import sys
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402

pytestmark = pytest.mark.skipif(
    bool(harness.EXTERNAL_ENDPOINT),
    reason="preloads a fault library into the tidemark binary")

POINTS = int(os.environ.get("TIDEMARK_STORE_FAULT_POINTS", "12"))
SEED = int(os.environ.get("TIDEMARK_STORE_FAULT_SEED",
                          str(int(time.time()) % 1000000007)))
LIB = os.path.join(harness.REPO_ROOT, "build", "tests", "libfaultlib.so")
THREADS = 3
PAGE = 4096


class Writer(threading.Thread):
    """Puts, updates and deletes on its own keys.  history[key] is the list
    of (value or None, acknowledged) in the order they were sent."""

    def __init__(self, wid, port, rng, history, until):
        super().__init__(daemon=True)
        self.wid, self.port, self.rng = wid, port, rng
        self.history, self.until = history, until
        self.acked = self.failed = 0
        self.bad = []

    def run(self):
        c = harness.RawClient(self.port, timeout=15)
        while time.monotonic() < self.until:
            k = "w%d-%02d" % (self.wid, self.rng.randrange(40))
            key = {"userId": {"S": k}, "noteId": {"S": "n"}}
            x = self.rng.random()
            v = "%d-%d" % (self.wid, self.rng.getrandbits(40))
            if x < 0.6:
                r = c.request("PutItem", {"TableName": "notes", "Item": dict(
                    key, v={"S": v}, pad={"S": "p" * self.rng.randrange(
                        10, 3000)})})
            elif x < 0.8:
                r = c.request("UpdateItem", {
                    "TableName": "notes", "Key": key,
                    "UpdateExpression": "SET v = :v",
                    "ExpressionAttributeValues": {":v": {"S": v}}})
            else:
                v = None
                r = c.request("DeleteItem", {"TableName": "notes",
                                             "Key": key})
            if r.status == 200:
                self.history.setdefault(k, []).append((v, True))
                self.acked += 1
            elif r.status in (500, 503):
                self.history.setdefault(k, []).append((v, False))
                self.failed += 1
            else:
                self.bad.append((r.status, r.body[:300]))
                return


def allowed(hist, start):
    """The values a key may hold: what its last acknowledged write left
    (or `start` when none), or any failed write sent after that."""
    last = max((i for i, (_, ok) in enumerate(hist) if ok), default=-1)
    ok = {hist[last][0] if last >= 0 else start}
    ok.update(v for v, good in hist[last + 1:] if not good)
    return ok


def table(c):
    got, body = {}, {"TableName": "notes", "ConsistentRead": True}
    while True:
        r = c.call("Scan", body)
        for it in r["Items"]:
            got[it["userId"]["S"]] = it.get("v", {}).get("S")
        if "LastEvaluatedKey" not in r:
            return got
        body["ExclusiveStartKey"] = r["LastEvaluatedKey"]


def check(c, model, histories, where):
    got = table(c)
    for k in set(model) | set(histories) | set(got):
        ok = allowed(histories.get(k, []), model.get(k))
        assert got.get(k) in ok, "%s: key %s holds %r; allowed %r" % (
            where, k, got.get(k), ok)
    return got


def parse_log(path):
    calls = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                n, op, outcome, off, ln, _ = line.split(" ", 5)
                calls.append((op, outcome == "FAIL", int(off), int(ln)))
    return calls


def test_lmdb_faults_lose_nothing_acknowledged(tmp_path, record_property):
    rng = random.Random(SEED)
    data = str(tmp_path / "data")
    t0 = time.monotonic()
    srv = harness.Server(data, log_dir=str(tmp_path),
                         extra_args=["--unsafe-test-small-log"])
    srv.start()
    c = harness.RawClient(srv.port)
    assert c.request("CreateTable", {
        "TableName": "notes", "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": "userId", "AttributeType": "S"},
            {"AttributeName": "noteId", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "userId", "KeyType": "HASH"},
                      {"AttributeName": "noteId", "KeyType": "RANGE"}],
    }).status == 200
    c.close()
    srv.stop()

    model = {}          # key -> value (None: absent) as last checked
    # matching LMDB calls per point, by plan, learnt from each run
    hits_seen = {"write": 400, "sync": 3, "write,sync": 400}
    stats = {"points": 0, "failed_calls": 0, "meta": 0, "live": 0,
             "sync_only": 0, "acked": 0, "refused": 0, "kill9": 0}
    try:
        for point in range(POINTS):
            ops = rng.choice(["write", "sync", "write,sync"])
            skip = rng.randrange(max(1, hits_seen[ops] * 2 // 3))
            count = rng.choice([1, 1, 2, 5])
            errno = rng.choice(["EIO", "ENOSPC"])
            log = str(tmp_path / ("faultlib-%d.log" % point))
            env = dict(os.environ, LD_PRELOAD=LIB,
                       FAULTLIB_PATH=os.path.join(data, "state", "data.mdb"),
                       FAULTLIB_OPS=ops, FAULTLIB_SKIP=str(skip),
                       FAULTLIB_COUNT=str(count), FAULTLIB_ERRNO=errno,
                       FAULTLIB_LOG=log)
            logs = tmp_path / ("point-%d" % point)
            logs.mkdir()
            srv = harness.Server(data, port=srv.port, log_dir=str(logs),
                                 extra_args=["--unsafe-test-small-log"], env=env)
            srv.start()
            histories = {}
            until = time.monotonic() + 2.2      # two checkpoints at least
            ws = [Writer(w, srv.port, random.Random(rng.getrandbits(64)),
                         histories, until) for w in range(THREADS)]
            for w in ws:
                w.start()
            for w in ws:
                w.join(60)
            where = "point %d (%s, skip %d, count %d, %s, seed %d)" % (
                point, ops, skip, count, errno, SEED)
            for w in ws:
                assert not w.bad, "%s: a write got %r" % (where, w.bad)
            # after the fault: writes go on live, unless a meta page write
            # failed.  The fault may outlast the writers by a few calls, which
            # the first probes then use up.
            c = harness.RawClient(srv.port, timeout=15)
            for attempt in range(20):
                value = "after-%d-%d" % (point, attempt)
                r = c.request("PutItem", {"TableName": "notes", "Item": {
                    "userId": {"S": "probe"}, "noteId": {"S": "n"},
                    "v": {"S": value}}})
                histories.setdefault("probe", []).append((value,
                                                          r.status == 200))
                if r.status == 200:
                    break
                assert r.status in (500, 503), (where, r)
                time.sleep(0.05)
            calls = parse_log(log)
            hits_seen[ops] = max(2, len(calls))
            fails = [x for x in calls if x[1]]
            meta = [x for x in fails if x[0] not in ("fsync", "fdatasync")
                    and 0 <= x[2] < 2 * PAGE]
            data_writes = [x for x in fails if x[0] not in ("fsync", "fdatasync")]
            stats["failed_calls"] += len(fails)
            stats["acked"] += sum(w.acked for w in ws)
            stats["refused"] += sum(w.failed for w in ws)
            if meta:
                stats["meta"] += 1
                assert r.status == 500, (where, r)
                assert "restart the server" in r.error_message(), (where, r)
            else:
                assert r.status == 200, "%s: no live recovery: %r\n%s" % (
                    where, r, srv.stderr_text()[-2000:])
                if data_writes:
                    stats["live"] += 1
                elif fails:
                    stats["sync_only"] += 1
                # live: the table already holds every acknowledged write
                check(c, model, histories, where + ", live")
            if fails and not data_writes:
                # a failed checkpoint sync refuses no write
                assert sum(w.failed for w in ws) == 0, where
            if any(x[0] in ("fsync", "fdatasync") for x in fails):
                # and stops the checkpoints: the log is kept from there
                assert srv.wait_log("no more checkpoints"), where
            c.close()

            if rng.random() < 0.5:
                srv.kill()
                stats["kill9"] += 1
            else:
                srv.stop()
            srv.env = None  # the same server without the fault library
            srv.start()
            c = harness.RawClient(srv.port)
            got = check(c, model, histories, where + ", after restart")
            # the next point starts from what the table holds now
            model = {k: got.get(k) for k in set(model) | set(histories)}
            c.close()
            srv.stop()
            stats["points"] += 1
    finally:
        if srv.proc and srv.proc.poll() is None:
            srv.kill()

    line = ("store faults: %(points)d random fault points on LMDB's state "
            "file (write, writev, pwrite, fdatasync; EIO/ENOSPC), "
            "%(failed_calls)d injected failures; %(live)d recovered live "
            "after failed data writes, %(meta)d failed a meta page write "
            "and recovered at restart, %(sync_only)d failed only checkpoint "
            "syncs; %(refused)d writes refused with 500/503, %(acked)d "
            "acknowledged writes checked (%(kill9)d kill -9), 0 lost" % stats
            + ", seed %d, %.1f s" % (SEED, time.monotonic() - t0))
    print("\n" + line)
    record_property("store_faults", line)
