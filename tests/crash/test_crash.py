"""The crash test: kill -9 under write load, restart, and check that every
acknowledged write survived.

Each cycle starts tidemark (default --sync full) on the same data dir,
checks the state the previous cycle left, then runs writer threads, each
with its own keep-alive connection and its own keys, doing PutItem (new keys
and overwrites) and DeleteItem with unique values. After a random delay the
server is killed with SIGKILL.

What may be there after the crash, per key: the state of its last
acknowledged (HTTP 200) operation, or, if an operation on it was sent and
never acknowledged (the connection died), the state that operation would
produce. A writer stops at its first unacknowledged operation, so a key has
at most one such operation. Anything else is lost or invented data.

Environment: TIDEMARK_CRASH_CYCLES (default 5), TIDEMARK_CRASH_SEED.
"""

import http.client
import json
import os
import random
import signal
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
import harness  # noqa: E402

pytestmark = pytest.mark.skipif(
    bool(harness.EXTERNAL_ENDPOINT),
    reason="kills the server process; needs the tidemark binary")

CYCLES = int(os.environ.get("TIDEMARK_CRASH_CYCLES", "5"))
THREADS = 8
VERIFY_THREADS = 8
TABLE = "crash"
ABSENT = None


class KeyState:
    __slots__ = ("acked", "pending", "has_pending")

    def __init__(self):
        self.acked = ABSENT       # item dict, or ABSENT
        self.pending = ABSENT     # state the unacknowledged op would leave
        self.has_pending = False


class Writer(threading.Thread):
    def __init__(self, port, tid, cycle, keys, rng, stop):
        super().__init__(daemon=True)
        self.port = port
        self.tid = tid
        self.cycle = cycle
        self.keys = keys          # this thread's own: name -> KeyState
        self.rng = rng
        self.stop_flag = stop
        self.acked = 0
        self.acked_deletes = 0
        self.anomalies = []

    def item(self, key, seq):
        return {"k": {"S": key},
                "v": {"S": "c%d-t%d-s%d" % (self.cycle, self.tid, seq)},
                "n": {"N": str(self.cycle * 1000000 + seq)},
                "pad": {"S": "%x" % self.rng.getrandbits(256) * 3}}

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        seq = 0
        own = [k for k, st in self.keys.items() if st.acked is not ABSENT]
        try:
            while not self.stop_flag.is_set():
                seq += 1
                roll = self.rng.random()
                if roll < 0.70 or not own:
                    key = "t%d-c%d-%d" % (self.tid, self.cycle, seq)
                    self.keys.setdefault(key, KeyState())
                    op, new_state = "PutItem", self.item(key, seq)
                    body = {"TableName": TABLE, "Item": new_state}
                elif roll < 0.88:
                    key = self.rng.choice(own)
                    op, new_state = "PutItem", self.item(key, seq)
                    body = {"TableName": TABLE, "Item": new_state}
                else:
                    key = self.rng.choice(own)
                    op, new_state = "DeleteItem", ABSENT
                    body = {"TableName": TABLE, "Key": {"k": {"S": key}}}
                st = self.keys[key]
                try:
                    conn.request("POST", "/", json.dumps(body).encode(),
                                 harness.ddb_headers(op))
                    r = conn.getresponse()
                    payload = r.read()
                except (OSError, http.client.HTTPException):
                    st.pending, st.has_pending = new_state, True
                    return
                except Exception as e:   # noqa: BLE001 - reported
                    st.pending, st.has_pending = new_state, True
                    self.anomalies.append("%s %s: %r" % (op, key, e))
                    return
                if r.status != 200:
                    # A valid write refused by a live server is a bug; the
                    # op counts as unacknowledged for the model.
                    st.pending, st.has_pending = new_state, True
                    self.anomalies.append("%s %s -> HTTP %d %r" % (
                        op, key, r.status, payload[:200]))
                    return
                st.acked = new_state
                self.acked += 1
                if op == "DeleteItem":
                    self.acked_deletes += 1
                    own.remove(key)
                elif key not in own:
                    own.append(key)
        finally:
            conn.close()


def verify(port, keys):
    """Read every key; check it against the model; resolve the model to
    what is there. Returns a list of failure texts."""
    names = sorted(keys)
    failures = []
    lock = threading.Lock()

    def work(chunk):
        try:
            check_keys(chunk)
        except Exception as e:   # noqa: BLE001 - reported
            with lock:
                failures.append("verifier failed: %r" % e)

    def check_keys(chunk):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            for key in chunk:
                st = keys[key]
                conn.request("POST", "/", json.dumps({
                    "TableName": TABLE, "Key": {"k": {"S": key}},
                    "ConsistentRead": True}).encode(),
                    harness.ddb_headers("GetItem"))
                r = conn.getresponse()
                payload = r.read()
                if r.status != 200:
                    with lock:
                        failures.append("GetItem %s: HTTP %d %r" % (
                            key, r.status, payload[:200]))
                    continue
                actual = json.loads(payload).get("Item", ABSENT)
                allowed = [st.acked] + ([st.pending] if st.has_pending
                                        else [])
                if actual not in allowed:
                    with lock:
                        failures.append(
                            "key %s: found %s, expected %s%s" % (
                                key, summary(actual), summary(st.acked),
                                " or %s (unacknowledged)" % summary(
                                    st.pending) if st.has_pending else ""))
                st.acked = actual
                st.pending, st.has_pending = ABSENT, False
        finally:
            conn.close()

    chunks = [names[i::VERIFY_THREADS] for i in range(VERIFY_THREADS)]
    threads = [threading.Thread(target=work, args=(c,)) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return failures


def summary(item):
    if item is ABSENT:
        return "no item"
    return "v=%s" % item["v"]["S"]


def start(server):
    # A fresh port each time: the killed server's connections may still
    # hold the old one in TIME_WAIT; durability does not depend on it.
    server.port = harness.free_port()
    try:
        server.start(timeout=20)   # recovery may replay the log
    except harness.ServerError as e:
        pytest.fail(str(e), pytrace=False)


def test_kill_9_under_load_loses_no_acknowledged_write(tmp_path,
                                                       record_property):
    seed = int(os.environ.get("TIDEMARK_CRASH_SEED", str(time.time_ns())))
    rng = random.Random(seed)
    root = str(tmp_path)
    server = harness.Server(os.path.join(root, "data"), log_dir=root)
    keys_by_thread = [dict() for _ in range(THREADS)]
    all_keys = {}
    total_acked = total_deletes = 0
    anomalies = []
    t0 = time.monotonic()
    try:
        for cycle in range(CYCLES):
            start(server)
            with harness.RawClient(server.port) as c:
                if cycle == 0:
                    c.call("CreateTable", {
                        "TableName": TABLE, "BillingMode": "PAY_PER_REQUEST",
                        "KeySchema": [{"AttributeName": "k",
                                       "KeyType": "HASH"}],
                        "AttributeDefinitions": [{"AttributeName": "k",
                                                  "AttributeType": "S"}]})
                # (CreateTable's own semantics are tested elsewhere.)
                deadline = time.monotonic() + 5
                while True:
                    d = c.call("DescribeTable", {"TableName": TABLE})["Table"]
                    if d["TableStatus"] == "ACTIVE" or \
                            time.monotonic() > deadline:
                        break
                    time.sleep(0.02)
                assert d["TableStatus"] == "ACTIVE", d
            failures = verify(server.port, all_keys)
            assert not failures, (
                "after the kill ending cycle %d (seed %d), %d keys are "
                "wrong:\n%s\nstderr of the restarted server:\n%s" % (
                    cycle - 1, seed, len(failures), "\n".join(failures[:40]),
                    server.stderr_text()[-4000:]))

            stop = threading.Event()
            writers = [Writer(server.port, t, cycle, keys_by_thread[t],
                              random.Random(rng.random()), stop)
                       for t in range(THREADS)]
            for w in writers:
                w.start()
            time.sleep(rng.uniform(0.2, 1.5))
            server.proc.send_signal(signal.SIGKILL)
            server.proc.wait()
            stop.set()
            for w in writers:
                w.join(30)
                assert not w.is_alive(), "writer thread hung"
            for keys in keys_by_thread:
                all_keys.update(keys)
            acked = sum(w.acked for w in writers)
            total_acked += acked
            total_deletes += sum(w.acked_deletes for w in writers)
            for w in writers:
                anomalies.extend(w.anomalies)
            assert acked > 0, ("no write was acknowledged in cycle %d; "
                               "stderr:\n%s" % (cycle,
                                                server.stderr_text()[-4000:]))

        # Recover from the last kill and check.
        start(server)
        failures = verify(server.port, all_keys)
        assert not failures, (
            "after the last kill (seed %d), %d keys are wrong:\n%s\n"
            "stderr:\n%s" % (seed, len(failures), "\n".join(failures[:40]),
                             server.stderr_text()[-4000:]))
        # A graceful stop and start keeps exactly that state.
        rc = server.stop(signal.SIGTERM)
        assert rc == 0, "exit code %s on SIGTERM; stderr:\n%s" % (
            rc, server.stderr_text()[-4000:])
        start(server)
        failures = verify(server.port, all_keys)
        assert not failures, "after a clean restart:\n" + "\n".join(
            failures[:40])
        assert server.stop(signal.SIGTERM) == 0
    finally:
        server.kill()

    assert not anomalies, "valid writes refused:\n" + "\n".join(
        anomalies[:20])
    present = sum(1 for st in all_keys.values() if st.acked is not ABSENT)
    line = ("crash test: %d cycles, %d acknowledged writes checked "
            "(%d deletes), %d keys (%d present), seed %d, %.1f s" % (
                CYCLES, total_acked, total_deletes, len(all_keys), present,
                seed, time.monotonic() - t0))
    record_property("crash_summary", line)     # shown by conftest.py
    print(line)
    assert total_acked >= CYCLES * THREADS
