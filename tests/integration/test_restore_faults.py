"""File faults inside `tidemark restore --from s3://...` (issue 7, point 5):
the command is not the server, so the server's fault API does not reach
it; it runs under tests/faultlib/faultlib.c (LD_PRELOAD), which fails its
own write/pwrite/writev, fsync/fdatasync and rename calls on paths that
contain ".partial": the base and the log segments it downloads into
DIR.partial/.archive, the engine's log and LMDB state file of the data
directory it builds in DIR.partial, and the final rename of DIR.partial to
DIR.  (faultlib sees calls made through libc's functions, not the writes
glibc's stdio makes inside fwrite/fflush, nor syncs of directories; the
restore writes no file through a FILE*, so only the directory syncs after
its renames are out of reach.)  Needs Ceph RGW (the rgw fixture of
test_s3_client.py): SKIPPED, with the reason, when it cannot run.

One archive, made once: a server with --backup-store on a fresh prefix, a
notes table with a GSI (byCat: cat, v), a few thousand puts, updates
(some moving an item between GSI keys) and deletes, before and after PITR
is turned on, a model of the acknowledged table, and a time in the middle
(the server's test clock moved around it, so that no write straddles it);
the archive caught up, then the server stopped.

- count: the restore to `latest` and to the middle time, under the
  library with FAULTLIB_COUNT=0 (fail nothing, log every matching call),
  gives how many writes, syncs and renames a restore makes; both succeed
  and, served, equal the model;
- random points: a target (latest or the middle), an ops mask (write,
  sync, rename, or all three), FAULTLIB_SKIP drawn from that mask's
  counted calls, FAULTLIB_COUNT 1 (or -1, every later call), EIO or
  ENOSPC, into a fresh DIR.  Either the restore exits 1 with a message
  naming what failed (the file or the strerror), DIR does not exist (all
  or nothing) and the attempt removed its DIR.partial (faultlib fails
  neither unlink nor rmdir); or the failed call was harmless (the pid not
  written into DIR.partial/LOCK; the state file's last sync at close,
  whose records the synced log holds) and it exits 0, and then DIR,
  served, equals the model exactly: a restore that says it succeeded is
  complete and right.  After a failure the same command without the
  library into the same DIR succeeds and DIR equals the model.

A served DIR is checked by a Scan of the table and a Query of the GSI for
each category (the items, and their order by v).

The summary line says how many points were tried, how many failed
cleanly and how many were harmless, how many calls were failed, and how
many restores compared equal.  TIDEMARK_RESTORE_FAULT_SEED repeats a run;
TIDEMARK_RESTORE_FAULT_POINTS changes the number of points.
"""
import os
import random
import subprocess
import time

import pytest

import harness
from archive_check import Store, caught_up, now_ms, wait_bases, wait_for
from test_archive import enable_pitr, iso_ms, same
from test_backup_s3 import store_url as new_store_url
from test_s3_client import rgw  # noqa: F401  (the fixture)

pytestmark = [
    pytest.mark.needs_binary,
    pytest.mark.skipif(bool(harness.EXTERNAL_ENDPOINT),
                       reason="preloads a fault library into the tidemark "
                              "binary"),
]

LIB = os.path.join(harness.REPO_ROOT, "build", "tests", "libfaultlib.so")
POINTS = int(os.environ.get("TIDEMARK_RESTORE_FAULT_POINTS", "10"))
MASKS = ["write", "sync", "rename", "write,sync,rename"]
# faultlib's log names the call; the class it belongs to in FAULTLIB_OPS
CLASS = {"write": "write", "writev": "write", "pwrite": "write",
         "pwritev": "write", "fsync": "sync", "fdatasync": "sync",
         "rename": "rename"}
CATS = ["red", "green", "blue", "gold"]
WRITES = 3000
KEYS = 300

_used = []


@pytest.fixture(scope="module", autouse=True)
def _empty_stores(rgw):  # noqa: F811
    """The store may be shared and long-lived: leave nothing behind."""
    yield
    for url in _used:
        Store(rgw[0], url).delete_all()


class Model:
    """The table as acknowledged (every write here must succeed)."""

    def __init__(self, raw, rnd):
        self.raw, self.rnd = raw, rnd
        self.now = {}

    def write(self):
        rnd = self.rnd
        k = "n%04d" % rnd.randrange(KEYS)
        key = {"userId": {"S": "u"}, "noteId": {"S": k}}
        op = rnd.random()
        if op < 0.55:
            item = dict(key, v={"N": str(rnd.randrange(10 ** 6))},
                        body={"S": "x" * rnd.randrange(900)})
            if rnd.random() < 0.8:          # else not in the GSI
                item["cat"] = {"S": rnd.choice(CATS)}
            self.raw.call("PutItem", {"TableName": "notes", "Item": item})
            self.now[k] = item
        elif op < 0.7:
            self.raw.call("UpdateItem", {
                "TableName": "notes", "Key": key,
                "UpdateExpression": "ADD n :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}}})
            item = dict(self.now.get(k, key))
            item["n"] = {"N": str(int(item.get("n", {"N": "0"})["N"]) + 1)}
            self.now[k] = item
        elif op < 0.85:
            cat, v = rnd.choice(CATS), str(rnd.randrange(10 ** 6))
            self.raw.call("UpdateItem", {
                "TableName": "notes", "Key": key,
                "UpdateExpression": "SET cat = :c, v = :v",
                "ExpressionAttributeValues": {":c": {"S": cat},
                                              ":v": {"N": v}}})
            item = dict(self.now.get(k, key))
            item["cat"], item["v"] = {"S": cat}, {"N": v}
            self.now[k] = item
        else:
            self.raw.call("DeleteItem", {"TableName": "notes", "Key": key})
            self.now.pop(k, None)


@pytest.fixture(scope="module")
def archive(rgw, tmp_path_factory):  # noqa: F811
    """An archive with a notes table and its GSI: (env, url, {--to: the
    model at that time})."""
    assert os.path.exists(LIB), \
        "%s is missing: run `make build/tests/libfaultlib.so`" % LIB
    env, rurl = rgw
    seed = int(os.environ.get("TIDEMARK_RESTORE_FAULT_SEED", "0")) or \
        random.randrange(1, 1 << 30)
    rnd = random.Random(seed)
    url = new_store_url(rurl, "rfaults")
    _used.append(url)
    tmp = tmp_path_factory.mktemp("archive")
    data = str(tmp / "data")
    srv = harness.Server(
        data, log_dir=str(tmp), env=env,
        extra_args=["--backup-store", url, "--s3-endpoint",
                    env["S3_ENDPOINT"], "--unsafe-test-clock",
                    "--unsafe-test-small-log"])
    srv.start(timeout=60)
    try:
        c = harness.make_client(srv.url)
        raw = harness.RawClient(srv.port)
        harness.create_notes(
            c, AttributeDefinitions=harness.NOTES_ATTRS + [
                {"AttributeName": "cat", "AttributeType": "S"},
                {"AttributeName": "v", "AttributeType": "N"}],
            GlobalSecondaryIndexes=[{
                "IndexName": "byCat",
                "KeySchema": [{"AttributeName": "cat", "KeyType": "HASH"},
                              {"AttributeName": "v", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"}}])
        model = Model(raw, rnd)
        for _ in range(WRITES // 10):        # before PITR: in the base
            model.write()
        enable_pitr(raw, 35)
        wait_bases(data, 1)
        for i in range(WRITES - WRITES // 10):
            model.write()
            if i == (WRITES - WRITES // 10) // 2:
                # the middle: no write within 2 ms either side of `mid`
                mid = now_ms(raw, 2) + 1
                mid_model = dict(model.now)
                now_ms(raw, 2)
        wait_for("the archive to catch up", lambda: caught_up(data), 60)
        raw.close()
    finally:
        assert srv.stop() == 0
    return env, url, {"latest": model.now, iso_ms(mid): mid_model}, seed


def restore(env, url, to, out, fault=None, log=None):
    """Run `tidemark restore` (under faultlib with `fault`: the FAULTLIB_
    settings, and `log`): the CompletedProcess."""
    env = dict(env)
    if fault is not None:
        env.update(LD_PRELOAD=LIB, FAULTLIB_PATH=".partial",
                   FAULTLIB_LOG=str(log))
        env.update({"FAULTLIB_" + k: str(v) for k, v in fault.items()})
    return subprocess.run(
        [harness.BINARY, "restore", "--from", url, "--s3-endpoint",
         env["S3_ENDPOINT"], "--table", "notes", "--to", to, "--data",
         str(out)], env=env, capture_output=True, text=True, timeout=60)


def calls(log):
    """[(op class, ok)] of faultlib's log (none if it wrote nothing)."""
    if not os.path.exists(log):
        return []
    out = []
    with open(log) as f:
        for line in f:
            n, op, verdict, _ = line.split(" ", 3)
            out.append((CLASS[op], verdict == "ok"))
    return out


def served_equal(tmp, data, want, what):
    """Serve `data`; its table and GSI must hold exactly `want`."""
    srv = harness.Server(str(data), log_dir=str(tmp))
    srv.start(timeout=60)
    try:
        c = harness.make_client(srv.url)
        t = c.describe_table(TableName="notes")["Table"]
        assert t["TableStatus"] == "ACTIVE", t
        assert [g["IndexName"] for g in t["GlobalSecondaryIndexes"]] == \
            ["byCat"], t
        got, kw = {}, {"TableName": "notes", "ConsistentRead": True}
        while True:
            r = c.scan(**kw)
            for it in r["Items"]:
                got[it["noteId"]["S"]] = it
            if "LastEvaluatedKey" not in r:
                break
            kw["ExclusiveStartKey"] = r["LastEvaluatedKey"]
        same(got, want, what)
        assert t["ItemCount"] == len(want), (t["ItemCount"], len(want), what)
        for cat in CATS:
            items, kw = [], {
                "TableName": "notes", "IndexName": "byCat",
                "KeyConditionExpression": "cat = :c",
                "ExpressionAttributeValues": {":c": {"S": cat}}}
            while True:
                r = c.query(**kw)
                items += r["Items"]
                if "LastEvaluatedKey" not in r:
                    break
                kw["ExclusiveStartKey"] = r["LastEvaluatedKey"]
            vs = [int(it["v"]["N"]) for it in items]
            assert vs == sorted(vs), (what, cat)
            same({it["noteId"]["S"]: it for it in items},
                 {k: it for k, it in want.items()
                  if it.get("cat", {}).get("S") == cat},
                 "%s, GSI byCat = %s" % (what, cat))
    finally:
        rc = srv.stop()
    assert rc == 0, (what, srv.stderr_text()[-2000:])


def test_restore_under_file_faults(archive, tmp_path, record_property):
    env, url, targets, seed = archive
    rnd = random.Random(seed * 7 + 1)
    t0 = time.monotonic()
    compared = 0

    # count: how many matching calls a restore makes, per class and target
    counts = {}
    for n, (to, want) in enumerate(sorted(targets.items())):
        out, log = tmp_path / ("count%d" % n), tmp_path / ("count%d.log" % n)
        r = restore(env, url, to, out,
                    dict(OPS="write,sync,rename", COUNT=0), log)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "restored table notes" in r.stdout, r.stdout
        got = calls(log)
        assert got and all(ok for _, ok in got), log
        counts[to] = {c: sum(1 for k, _ in got if k == c)
                      for c in ("write", "sync", "rename")}
        assert all(counts[to].values()), counts
        served_equal(tmp_path, out, want, "the restore to %s counted (seed "
                     "%d)" % (to, seed))
        compared += 1
        assert not os.path.exists(str(out) + ".partial")

    clean = harmless = unreached = injected = 0
    for point in range(POINTS):
        to = rnd.choice(sorted(targets))
        want = targets[to]
        mask = rnd.choice(MASKS)
        total = sum(counts[to][c] for c in mask.split(","))
        fault = dict(OPS=mask, SKIP=rnd.randrange(total),
                     COUNT=rnd.choice([1, 1, 1, -1]),
                     ERRNO=rnd.choice(["EIO", "ENOSPC"]))
        out = tmp_path / ("p%d" % point)
        log = tmp_path / ("p%d.log" % point)
        what = "point %d: --to %s, %s (seed %d)" % (point, to, fault, seed)
        r = restore(env, url, to, out, fault, log)
        failed = sum(1 for _, ok in calls(log) if not ok)
        injected += failed
        if r.returncode == 0:
            # harmless (the pid not written into LOCK, the state's last
            # sync at close: the synced log holds it all), or never
            # reached (the calls vary a little with how the archive was
            # chunked): DIR must then be complete and right
            assert "restored table notes" in r.stdout, (what, r.stdout)
            assert not os.path.exists(str(out) + ".partial"), what
            if failed:
                harmless += 1
            else:
                unreached += 1
            served_equal(tmp_path, out, want, "the restore that succeeded "
                         "at " + what)
            compared += 1
            continue
        assert r.returncode == 1, (what, r.returncode, r.stderr)
        assert failed, (what, "failed with no failed call", r.stderr)
        err = r.stderr
        assert "tidemark restore:" in err, (what, err)
        assert ".partial" in err or "Input/output error" in err or \
            "No space left on device" in err, (what, err)
        # all or nothing; and the failed attempt removed its DIR.partial
        # (faultlib fails neither unlink nor rmdir)
        assert not out.exists(), (what, os.listdir(str(out)))
        assert not os.path.exists(str(out) + ".partial"), (what, err)
        clean += 1
        # the same command again, without the library: it removes any
        # DIR.partial the failed one left, and succeeds
        r = restore(env, url, to, out)
        assert r.returncode == 0, (what, r.stdout + r.stderr)
        assert not os.path.exists(str(out) + ".partial"), what
        served_equal(tmp_path, out, want, "the restore after " + what)
        compared += 1

    line = ("restore faults: %d random fault points in `tidemark restore` "
            "(of %s writes, syncs and renames per restore), %d failed "
            "cleanly (exit 1 naming what failed, no DIR), %d harmless "
            "(exit 0, DIR equal)%s, %d injected failures; %d restores "
            "compared equal, 0 wrong (seed %d, %.0f s)" % (
                POINTS, " and ".join(
                    "%d" % sum(counts[to].values()) for to in sorted(counts)),
                clean, harmless,
                ", %d not reached" % unreached if unreached else "",
                injected, compared, seed, time.monotonic() - t0))
    print(line)
    record_property("fault_summary", line)
