"""Faults while the archive (src/archive) ships the log to the object store:
file faults injected into the server (--unsafe-test-faults, the target
TidemarkTest_20261125.InjectFault: EIO or ENOSPC, torn or not, on the
archive's progress file data/archive.json and its temporary file, on the
archiver's reads of the log, on the change log's own writes and syncs, on
every sync under the data directory) and store outages (a relay to Ceph
RGW that refuses connections), one after the other at random points while
writes flow and days pass (new bases).  Needs Ceph RGW (the rgw fixture of
test_s3_client.py): SKIPPED, with the reason, when it cannot run.

Asserted:
- a fault on the archive's own files, on its reads, or the store away,
  never fails a client's write; a fault on the log's writes and syncs
  fails writes only with InternalServerError, and those are absent;
- at every point, data/archive.json never claims more than the store
  holds: each segment it lists is covered in the store up to the bytes it
  says were shipped, and each base it calls uploaded is there;
- every few points and at the end, with the faults cleared, the archive
  catches up: the store's chunks of every needed local segment are, byte
  for byte, the local file (downloaded and compared), and every local base
  is in the store;
- the machine is then lost (kill -9, data directory deleted), and
  `tidemark restore --from s3://...` rebuilds, from the archive alone, the
  acknowledged table at `latest` and at random acknowledged times (each
  write bracketed by the server's clock, as in test_archive.py).

A file fault's rule stays until it has failed a call (3 s at most; its
Skip is drawn from the calls counted per second beforehand), and at least
three points in four must have failed something; each outage of the
archive is logged once when it starts and once when it ends.

The summary line says how many fault points were tried, how many failed
something (injected failures, outages), how many writes were refused and
acknowledged, and how many restores matched.  TIDEMARK_ARCHIVE_FAULT_SEED
repeats a run; TIDEMARK_ARCHIVE_FAULT_POINTS changes the number of points.
"""
import os
import random
import shutil
import time

import pytest
from botocore.exceptions import ClientError

import harness
from archive_check import (DAY, Store, caught_up, claims_hold, local_bases,
                           now_ms, store_equals_local, wait_bases, wait_for)
from test_archive import enable_pitr, iso_ms, restore_ok, same, served_items
from test_backup_s3 import Proxy
from test_backup_s3 import store_url as new_store_url
from test_s3_client import rgw  # noqa: F401  (the fixture)

pytestmark = [
    pytest.mark.needs_binary,
    pytest.mark.skipif(bool(harness.EXTERNAL_ENDPOINT),
                       reason="injects faults into the tidemark binary"),
]

FAULT_TARGET = "TidemarkTest_20261125.InjectFault"
POINTS = int(os.environ.get("TIDEMARK_ARCHIVE_FAULT_POINTS", "16"))

_used = []


@pytest.fixture(scope="module", autouse=True)
def _empty_stores(rgw):  # noqa: F811
    """The store may be shared and long-lived: leave nothing behind."""
    yield
    for url in _used:
        Store(rgw[0], url).delete_all()


def inject(srv, **body):
    r = harness.raw_request(srv.port, FAULT_TARGET, body)
    assert r.status == 200, r
    return r.json


class Model:
    """The table as acknowledged.  Each write is bracketed by the server's
    clock (2 ms moved before and after, as in test_archive.py); a write
    answered InternalServerError is refused, absent, and not recorded."""

    def __init__(self, c, raw, rnd):
        self.c, self.raw, self.rnd = c, raw, rnd
        self.now = {}
        self.history = []       # (before, after, snapshot) of acked writes
        self.acked = self.refused = 0

    def write(self):
        rnd, c = self.rnd, self.c
        before = now_ms(self.raw, 2)
        k = "n%03d" % rnd.randrange(80)
        key = {"userId": {"S": "u"}, "noteId": {"S": k}}
        op = rnd.random()
        try:
            if op < 0.6:
                item = dict(key, v={"N": str(rnd.randrange(10 ** 6))},
                            body={"S": "x" * rnd.randrange(600)})
                c.put_item(TableName="notes", Item=item)
                new = item
            elif op < 0.8:
                c.update_item(TableName="notes", Key=key,
                              UpdateExpression="ADD n :one",
                              ExpressionAttributeValues={":one": {"N": "1"}})
                new = dict(self.now.get(k, key))
                new["n"] = {"N": str(int(new.get("n", {"N": "0"})["N"]) + 1)}
            else:
                c.delete_item(TableName="notes", Key=key)
                new = None
        except ClientError as e:
            err = e.response["Error"]
            assert (err.get("Code"), e.response["ResponseMetadata"][
                "HTTPStatusCode"]) == ("InternalServerError", 500), e.response
            self.refused += 1
            return False
        if new is None:
            self.now.pop(k, None)
        else:
            self.now[k] = new
        after = now_ms(self.raw, 2)
        self.history.append((before, after, dict(self.now)))
        self.acked += 1
        return True

    def at(self, ms):
        want = {}
        for before, after, snap in self.history:
            assert not (before <= ms < after), "a time inside a bracket"
            if after <= ms:
                want = snap
        return want


# What a point does: (kind, whether client writes may fail).
KINDS = [("progress", False), ("progress", False), ("log-read", False),
         ("log-write", True), ("data-sync", True), ("store", False)]
PROGRESS_OPS = ["open", "write", "sync", "close", "rename", "write|sync",
                "all"]


def test_archive_under_faults(rgw, tmp_path, record_property):  # noqa: F811
    env, rurl = rgw
    seed = int(os.environ.get("TIDEMARK_ARCHIVE_FAULT_SEED", "0")) or \
        random.randrange(1, 1 << 30)
    rnd = random.Random(seed)
    url = new_store_url(rurl, "faults")
    _used.append(url)
    store = Store(env, url)
    proxy = Proxy(int(env["S3_ENDPOINT"].rsplit(":", 1)[1]))
    data = str(tmp_path / "data")
    srv = harness.Server(
        data, log_dir=str(tmp_path), env=env,
        extra_args=["--backup-store", url, "--s3-endpoint",
                    "http://127.0.0.1:%d" % proxy.port, "--unsafe-test-clock",
                    "--unsafe-test-small-log", "--unsafe-test-faults"])
    t0 = time.monotonic()
    srv.start(timeout=60)
    tried = {}
    fired = injected = outages = checks = compared = 0
    verified = set()        # closed segments compared once
    try:
        c = harness.make_client(srv.url)
        raw = harness.RawClient(srv.port)
        harness.create_notes(c)
        model = Model(c, raw, rnd)
        for _ in range(30):
            assert model.write()
        enable_pitr(raw, 35)
        wait_bases(data, 1)

        def write_for(seconds, may_fail, fid=None, most=3.0):
            """Writes for `seconds`; with a rule `fid`, on until it has
            failed a call too (`most` seconds at most).  Returns the calls
            the rule failed."""
            start = t = time.monotonic()
            failed = 0
            while t < start + seconds or (fid and not failed and
                                          t < start + most):
                ok = model.write()
                assert ok or may_fail, (
                    "a write was refused while only the archive's files or "
                    "the store failed (seed %d)" % seed)
                time.sleep(0.004)
                t = time.monotonic()
                if fid and t >= start + seconds:
                    failed = inject(srv, FaultId=fid)["Failed"]
            return inject(srv, FaultId=fid)["Failed"] if fid else 0

        # how often the archive makes each call on its progress file, per
        # second: counting rules (Count 0) while writes flow
        counting = {op: inject(srv, Op=op, Path="archive.json",
                               Count=0)["FaultId"] for op in PROGRESS_OPS}
        write_for(2.0, False)
        per_s = {op: inject(srv, FaultId=fid)["Hits"] / 2.0
                 for op, fid in counting.items()}
        inject(srv, Clear=True)
        assert per_s["rename"] >= 1, per_s     # a save a second at least

        # each kind in turn, in a random order per round of kinds
        order = []
        while len(order) < POINTS:
            order += rnd.sample(KINDS, len(KINDS))
        for point, (kind, may_fail) in enumerate(order[:POINTS]):
            hold = rnd.uniform(0.2, 0.8)
            errno = rnd.choice(["EIO", "ENOSPC"])
            count = rnd.choice([1, 2, -1])
            rule = None
            if point in (POINTS // 3, 2 * POINTS // 3):
                # a new day: a new base, shipped while this point's fault
                # is on (made first: the keeper's own files are not the
                # subject here)
                n = len(local_bases(data)) + 1
                now_ms(raw, DAY)
                wait_for("base %d, made" % n, lambda: len(
                    [b for b in local_bases(data) if "status" not in b]) == n,
                    30)
            if kind == "progress":
                op = rnd.choice(PROGRESS_OPS)
                rule = dict(Op=op, Path="archive.json",
                            Skip=rnd.randrange(max(1, int(per_s[op] * hold))),
                            Count=count, Errno=errno,
                            Torn=rnd.random() < 0.5)
            elif kind == "log-read":
                rule = dict(Op="read", Path=os.path.join(data, "wal"),
                            Skip=rnd.randrange(3), Count=count, Errno=errno)
            elif kind == "log-write":
                rule = dict(Op=rnd.choice(["write", "sync", "write|sync"]),
                            Path=os.path.join(data, "wal"),
                            Skip=rnd.randrange(20), Count=count, Errno=errno,
                            Torn=rnd.random() < 0.5)
            elif kind == "data-sync":
                rule = dict(Op="sync", Path=data, Skip=rnd.randrange(20),
                            Count=rnd.choice([1, 2]), Errno=errno)
            tried[kind] = tried.get(kind, 0) + 1
            if rule is None:
                proxy.up = False
                write_for(hold, False)
                proxy.up = True
                outages += 1
                fired += 1
            else:
                fid = inject(srv, **rule)["FaultId"]
                failed = write_for(hold, may_fail, fid)
                inject(srv, Clear=True)
                injected += failed
                fired += failed > 0
            claims_hold(store, data, "point %d (%s, seed %d)" % (
                point, rule, seed))
            write_for(rnd.uniform(0.1, 0.3), False)
            if point % 6 == 5 or point == POINTS - 1:
                # faults cleared: the archive catches up, byte for byte
                wait_for("the archive to catch up after point %d (seed %d)"
                         % (point, seed), lambda: caught_up(data), 30)
                compared += store_equals_local(
                    store, data, "after point %d (seed %d)" % (point, seed),
                    verified)
                checks += 1
        assert fired >= POINTS * 3 // 4, (fired, POINTS, seed)
        text = srv.stderr_text()
        assert text.count("archive: shipping to") == \
            text.count("is reachable again"), text[-3000:]
        bases = local_bases(data)
        assert len(bases) >= 2, bases
        srv.kill()          # the machine is lost
        raw.close()
        shutil.rmtree(data)
    finally:
        proxy.up = True
        srv.kill()
        proxy.close()

    # restores from the archive alone: latest, and random acknowledged
    # times (just after a write): one from the first base, one from the
    # second, one anywhere
    hist = model.history
    n1 = min(i for i, h in enumerate(hist) if h[0] > bases[0]["created"])
    n2 = min(i for i, h in enumerate(hist) if h[0] > bases[1]["created"])
    picks = [rnd.randrange(n1, n2), rnd.randrange(n2, len(hist) - 1),
             rnd.randrange(n1, len(hist) - 1)]
    restored = 0
    for n, i in enumerate(picks):
        at = hist[i][1] + 1
        out = tmp_path / ("at%d" % n)
        restore_ok(env, url, "notes", iso_ms(at), out)
        got, _ = served_items(tmp_path, out)
        same(got, model.at(at), "the restore at %s (seed %d)" % (
            iso_ms(at), seed))
        restored += 1
    out = tmp_path / "latest"
    restore_ok(env, url, "notes", "latest", out)
    got, _ = served_items(tmp_path, out)
    same(got, model.now, "the restore at latest (seed %d)" % seed)
    restored += 1
    line = ("archive faults: %d random fault points (%s), %d of them failed"
            " something (%d injected file failures, %d store outages); %d "
            "writes refused (InternalServerError, absent), %d acknowledged; "
            "%d catch-ups compared %.1f MB byte for byte; %d restores from "
            "the archive alone matched, 0 lost (seed %d, %.0f s)" % (
                POINTS, ", ".join("%s %d" % kv for kv in sorted(
                    tried.items())), fired, injected, outages,
                model.refused, model.acked, checks, compared / 1e6, restored,
                seed, time.monotonic() - t0))
    print(line)
    record_property("fault_summary", line)
