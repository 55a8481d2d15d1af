"""The point-in-time recovery archive (src/archive) and disaster recovery
(`tidemark restore --from s3://...`), against Ceph RGW started by the
ceph-s3 tool (the rgw fixture of test_s3_client.py: SKIPPED, with the
reason, when the tool is absent or cannot start).

Every server here runs with --backup-store s3://bucket/<fresh prefix>,
--unsafe-test-clock (tests live through days of windows in seconds) and
--unsafe-test-small-log (64 KiB log segments and a checkpoint every
second, so that segments roll and checkpoints act while a test watches).

- disaster recovery: writes over moved time into a table with PITR on,
  each bracketed by the server's clock as in test_pitr_model.py; the log
  reaches the store within a second or two of each write; the machine is
  lost (kill -9, data directory deleted); `tidemark restore` rebuilds the
  table in fresh directories at times in the middle (ISO 8601 with
  milliseconds and epoch seconds; before and after the second base) and
  at `latest`, and each, served by `tidemark serve`, equals the model at
  its time;
- the store cut (a relay that refuses connections) while writes go on
  and days pass: DescribeContinuousBackups answers at once, as before,
  from local retention; the local segments the store lacks are kept
  through checkpoints; one warning for the outage; when the store comes
  back, everything goes up, the pinned segments go locally, and a restore
  from the archive equals the live table;
- pruning past the window: bases the keeper deleted and the log only they
  needed leave the store; a restore before the window says what is
  restorable;
- kill -9 while a backlog is being shipped, twice: after the restarts the
  archive is complete (the progress file), a restore equals the model;
- the definition as of the time: an index added after the base and
  dropped later is in a restore between the two (built over base and
  log items, answering Query) and in no other;
- the command's errors (DIR not empty, an unknown table, a time before
  the archive, a bad time) and the progress bar on a terminal, and one
  archive per data directory (a second data directory on the same prefix
  refuses to start).
"""
import json
import os
import pty
import random
import shutil
import subprocess
import time

import boto3
import pytest
from botocore.config import Config

import harness
from archive_check import (DAY, caught_up, chunks, local_bases,
                           local_segments, now_ms, wait_bases, wait_for)
from test_backup_s3 import Proxy
from test_backup_s3 import store_url as new_store_url
from test_s3_client import rgw  # noqa: F401  (the fixture)

pytestmark = pytest.mark.needs_binary

_used = []      # (env, url) of every archive made here: emptied at the end


def store_url(rurl, name):
    url = new_store_url(rurl, name)
    _used.append(url)
    return url


@pytest.fixture(scope="module", autouse=True)
def _empty_stores(rgw):  # noqa: F811
    """The store may be shared and long-lived: leave nothing behind."""
    yield
    env = rgw[0]
    s3 = s3_client(env)
    for url in _used:
        bucket, prefix = url[len("s3://"):].split("/", 1)
        for page in s3.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=prefix + "/"):
            for o in page.get("Contents", []):
                s3.delete_object(Bucket=bucket, Key=o["Key"])


# ---------------------------------------------------------------- helpers


def s3_client(env):
    return boto3.client(
        "s3", endpoint_url=env["S3_ENDPOINT"], region_name="us-east-1",
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        config=Config(s3={"addressing_style": "path"},
                      retries={"total_max_attempts": 1}))


def objects(env, url, sub="archive/"):
    """{key relative to the prefix: size} under url's prefix + sub."""
    bucket, prefix = url[len("s3://"):].split("/", 1)
    s3 = s3_client(env)
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix + "/" + sub):
        for o in page.get("Contents", []):
            out[o["Key"][len(prefix) + 1:]] = o["Size"]
    return out


def start(tmp_path, env, url, name="data", endpoint=None, extra=()):
    srv = harness.Server(
        str(tmp_path / name), log_dir=str(tmp_path), env=env,
        extra_args=["--backup-store", url, "--s3-endpoint",
                    endpoint or env["S3_ENDPOINT"], "--unsafe-test-clock",
                    "--unsafe-test-small-log", *extra])
    srv.start(timeout=60)
    return srv


def enable_pitr(raw, days):
    raw.call("UpdateContinuousBackups", {
        "TableName": "notes", "PointInTimeRecoverySpecification": {
            "PointInTimeRecoveryEnabled": True,
            "RecoveryPeriodInDays": days}})


def describe(raw):
    return raw.call("DescribeContinuousBackups", {"TableName": "notes"})[
        "ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]


def restore_cmd(env, url, table, to, data, extra=(), endpoint=None):
    cmd = [harness.BINARY, "restore", "--from", url, "--s3-endpoint",
           endpoint or env["S3_ENDPOINT"], "--table", table, "--to", to,
           "--data", str(data), *extra]
    return subprocess.run(cmd, env=env, capture_output=True, text=True,
                          timeout=300)


def restore_ok(env, url, table, to, data, **kw):
    t0 = time.monotonic()
    r = restore_cmd(env, url, table, to, data, **kw)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "restored table %s" % table in r.stdout, r.stdout
    return r, time.monotonic() - t0


def served_items(tmp_path, data, table="notes"):
    """Serve a restored data directory and scan the table (ACTIVE)."""
    srv = harness.Server(str(data), log_dir=str(tmp_path))
    srv.start(timeout=60)
    try:
        c = harness.make_client(srv.url)
        t = c.describe_table(TableName=table)["Table"]
        assert t["TableStatus"] == "ACTIVE", t
        items, kw = {}, {"TableName": table, "ConsistentRead": True}
        while True:
            r = c.scan(**kw)
            for it in r["Items"]:
                items[it["noteId"]["S"]] = it
            if "LastEvaluatedKey" not in r:
                break
            kw["ExclusiveStartKey"] = r["LastEvaluatedKey"]
        assert t["ItemCount"] == len(items)
        return items, t
    finally:
        assert srv.stop() == 0


def iso_ms(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + \
        ".%03dZ" % (ms % 1000)


class Model:
    """The table as acknowledged, with each write bracketed by the
    server's clock (test_pitr_model.py): a write belongs to every time at
    or after its bracket's end and to none before its start."""

    def __init__(self, c, raw, seed):
        self.c, self.raw = c, raw
        self.rnd = random.Random(seed)
        self.now = {}
        self.history = []

    def write(self, body=200):
        rnd, c = self.rnd, self.c
        before = now_ms(self.raw, 2)
        k = "n%03d" % rnd.randrange(60)
        key = {"userId": {"S": "u"}, "noteId": {"S": k}}
        op = rnd.random()
        if op < 0.6:
            item = dict(key, v={"N": str(rnd.randrange(10 ** 6))},
                        body={"S": "x" * rnd.randrange(body)})
            c.put_item(TableName="notes", Item=item)
            self.now[k] = item
        elif op < 0.8:
            c.update_item(TableName="notes", Key=key,
                          UpdateExpression="ADD n :one",
                          ExpressionAttributeValues={":one": {"N": "1"}})
            item = dict(self.now.get(k, key))
            item["n"] = {"N": str(int(item.get("n", {"N": "0"})["N"]) + 1)}
            self.now[k] = item
        else:
            c.delete_item(TableName="notes", Key=key)
            self.now.pop(k, None)
        after = now_ms(self.raw, 2)
        self.history.append((before, after, dict(self.now)))

    def at(self, ms):
        want = {}
        for before, after, snap in self.history:
            assert not (before <= ms < after), "a time inside a bracket"
            if after <= ms:
                want = snap
        return want


def same(got, want, what):
    if got != want:
        missing = sorted(set(want) - set(got))
        extra = sorted(set(got) - set(want))
        changed = sorted(k for k in set(got) & set(want) if got[k] != want[k])
        pytest.fail("%s differs: %d items, want %d; missing %s, extra %s, "
                    "changed %s" % (what, len(got), len(want), missing[:5],
                                    extra[:5], changed[:5]))


# ---------------------------------------------------------------- tests


def test_disaster_recovery(rgw, tmp_path, record_property):  # noqa: F811
    env, rurl = rgw
    url = store_url(rurl, "dr")
    seed = int(os.environ.get("TIDEMARK_ARCHIVE_SEED", "0")) or \
        random.randrange(1, 1 << 30)
    srv = start(tmp_path, env, url)
    data = str(tmp_path / "data")
    c = harness.make_client(srv.url)
    raw = harness.RawClient(srv.port)
    harness.create_notes(c)
    model = Model(c, raw, seed)
    for _ in range(20):            # before PITR: in the first base
        model.write()
    enable_pitr(raw, 35)
    wait_bases(data, 1)
    # the log reaches the store within a second or two of a write
    lat = []
    for _ in range(8):
        model.write()
        t0 = time.monotonic()
        seg = local_segments(data)[-1]
        size = os.path.getsize(os.path.join(data, "wal", "%020d.wal" % seg))
        wait_for("the write in the store",
                 lambda: chunks(objects(env, url)).get(seg, 0) >= size, 15)
        lat.append(time.monotonic() - t0)
        time.sleep(0.2)
    lat.sort()
    assert lat[-1] < 3.0, lat
    # one chunk a second: the merge rule has merged some by now
    with open(os.path.join(data, "archive.json")) as f:
        prog = json.load(f)
    assert any(c[1] >= 1 for s in prog["segments"] for c in s["chunks"]), \
        prog
    # hours pass between writes; then a day: a second base
    for step in range(150):
        if step % 30 == 29:
            now_ms(raw, model.rnd.randrange(1, 3 * 3600 * 1000))
        model.write(body=1200)
    now_ms(raw, DAY + 3600 * 1000)
    model.write()
    bases = wait_bases(data, 2)
    for _ in range(150):
        model.write(body=1200)
        if model.rnd.random() < 0.03:
            now_ms(raw, model.rnd.randrange(1, 2 * 3600 * 1000))
    wait_for("the archive to catch up", lambda: caught_up(data), 60)
    nsegs = len(chunks(objects(env, url)))
    # the machine is lost
    srv.kill()
    raw.close()
    shutil.rmtree(data)

    hist = model.history
    # restore times: between two writes before the second base (from the
    # first base), in the middle after it, and the last one
    b2 = bases[1]["created"]
    early = [i for i in range(1, len(hist) - 1) if hist[i + 1][0] < b2]
    late = [i for i in range(1, len(hist) - 1) if hist[i][1] > b2]
    picks = [early[len(early) // 2], late[len(late) // 2],
             model.rnd.choice(late)]
    compared, took = 0, []
    for n, i in enumerate(picks):
        at = hist[i][1] + 1
        to = iso_ms(at) if n != 1 else "%.3f" % (at / 1000.0)
        out = tmp_path / ("restored%d" % n)
        r, dt = restore_ok(env, url, "notes", to, out)
        took.append(dt)
        got, t = served_items(tmp_path, out)
        same(got, model.at(at), "the restore at %s (seed %d)" % (to, seed))
        assert t["RestoreSummary"]["SourceTableArn"] == harness.arn("notes")
        assert abs(t["RestoreSummary"]["RestoreDateTime"].timestamp() * 1000
                   - at) < 1
        compared += 1
    # latest: the last acknowledged write, under another name
    out = tmp_path / "restored-latest"
    r, dt = restore_ok(env, url, "notes", "latest", out,
                       extra=["--as", "notes-dr"])
    took.append(dt)
    got, t = served_items(tmp_path, out, table="notes-dr")
    same(got, model.now, "the restore at latest (seed %d)" % seed)
    stamped = round(t["RestoreSummary"]["RestoreDateTime"].timestamp() * 1000)
    # the last write that logged something (a delete of an absent key logs
    # nothing, so "latest" is the write before it)
    j = len(hist) - 1
    while j > 0 and hist[j][2] == hist[j - 1][2]:
        j -= 1
    assert hist[j][0] <= stamped <= hist[-1][1], (stamped, hist[j][:2],
                                                  hist[-1][:2])
    compared += 1
    line = ("archive: %d writes over %.1f simulated days, the log in the "
            "store %.2f s after a write (median %.2f s), %d segments "
            "archived; %d restores from the archive alone matched the "
            "model (%.1f s each at most; seed %d)" % (
                len(hist), (hist[-1][1] - hist[0][0]) / DAY, lat[-1],
                lat[len(lat) // 2], nsegs, compared, max(took), seed))
    print(line)
    record_property("fault_summary", line)


def wait_index(c, table, name, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        t = c.describe_table(TableName=table)["Table"]
        gs = {g["IndexName"]: g for g in t.get("GlobalSecondaryIndexes", [])}
        if name in gs and gs[name]["IndexStatus"] == "ACTIVE":
            return
        assert time.monotonic() < deadline, t
        time.sleep(0.05)


def test_definition_as_of_the_time(rgw, tmp_path):  # noqa: F811
    """An index added after the base, and one dropped after it: a restore
    from the archive has the table's indexes as of its time, built over
    every item, base and log alike."""
    env, rurl = rgw
    url = store_url(rurl, "def")
    srv = start(tmp_path, env, url)
    data = str(tmp_path / "data")
    c = harness.make_client(srv.url)
    raw = harness.RawClient(srv.port)
    harness.create_notes(c)

    def put(i):
        c.put_item(TableName="notes", Item={
            "userId": {"S": "u"}, "noteId": {"S": "n%03d" % i},
            "tag": {"S": "t%d" % (i % 3)}})

    for i in range(30):                       # in the base
        put(i)
    enable_pitr(raw, 35)
    wait_bases(data, 1)
    before = now_ms(raw, 2)
    now_ms(raw, 2)
    c.update_table(
        TableName="notes",
        AttributeDefinitions=[{"AttributeName": "tag",
                               "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[{"Create": {
            "IndexName": "byTag",
            "KeySchema": [{"AttributeName": "tag", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"}}}])
    wait_index(c, "notes", "byTag")
    for i in range(30, 45):                   # in the log only
        put(i)
    with_index = now_ms(raw, 2)
    now_ms(raw, 2)
    c.update_table(TableName="notes", GlobalSecondaryIndexUpdates=[
        {"Delete": {"IndexName": "byTag"}}])
    deadline = time.monotonic() + 60
    while c.describe_table(TableName="notes")["Table"].get(
            "GlobalSecondaryIndexes"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    put(45)
    wait_for("the archive to catch up", lambda: caught_up(data), 60)
    srv.kill()
    raw.close()
    shutil.rmtree(data)

    def indexes_and_query(out):
        srv2 = harness.Server(str(out), log_dir=str(tmp_path))
        srv2.start(timeout=60)
        try:
            c2 = harness.make_client(srv2.url)
            t = c2.describe_table(TableName="notes")["Table"]
            names = [g["IndexName"] for g in
                     t.get("GlobalSecondaryIndexes", [])]
            hits = None
            if names:
                hits = sorted(
                    it["noteId"]["S"] for it in harness.query_items(
                        c2, TableName="notes", IndexName="byTag",
                        KeyConditionExpression="tag = :t",
                        ExpressionAttributeValues={":t": {"S": "t1"}}))
            return names, hits, t["ItemCount"]
        finally:
            assert srv2.stop() == 0

    got = {}
    for label, to in (("before", iso_ms(before)),
                      ("with", iso_ms(with_index)), ("latest", "latest")):
        out = tmp_path / ("restored-" + label)
        r, _ = restore_ok(env, url, "notes", to, out)
        got[label] = indexes_and_query(out)
        assert ("later updates" in r.stdout) == (label != "before"), \
            r.stdout
    assert got["before"] == ([], None, 30), got
    assert got["with"] == (["byTag"], ["n%03d" % i for i in range(45)
                                       if i % 3 == 1], 45), got
    assert got["latest"] == ([], None, 46), got


def test_store_cut(rgw, tmp_path, record_property):  # noqa: F811
    env, rurl = rgw
    url = store_url(rurl, "cut")
    proxy = Proxy(int(env["S3_ENDPOINT"].rsplit(":", 1)[1]))
    endpoint = "http://127.0.0.1:%d" % proxy.port
    srv = start(tmp_path, env, url, endpoint=endpoint)
    data = str(tmp_path / "data")
    try:
        c = harness.make_client(srv.url)
        raw = harness.RawClient(srv.port)
        harness.create_notes(c)
        model = Model(c, raw, 7)
        enable_pitr(raw, 1)
        for _ in range(30):
            model.write()
        wait_for("the archive to catch up", lambda: caught_up(data), 30)
        d0 = describe(raw)
        first_cut_seg = local_segments(data)[-1]
        proxy.up = False
        # writes go on: a dozen segments the store does not get
        for _ in range(400):
            model.write(body=4000)
        t0 = time.monotonic()
        d1 = describe(raw)
        assert time.monotonic() - t0 < 1.0
        assert d1["EarliestRestorableDateTime"] == \
            d0["EarliestRestorableDateTime"]
        assert d1["LatestRestorableDateTime"] >= \
            d0["LatestRestorableDateTime"]
        assert d1["LatestRestorableDateTime"] * 1000 >= \
            model.history[-1][1] - 1
        # days pass: new bases, the first one deleted by the keeper; the
        # records before the second base would now be checkpointed away
        now_ms(raw, 2 * DAY)
        model.write()
        wait_bases(data, 2)
        now_ms(raw, 2 * DAY)
        model.write()
        wait_for("the keeper's pruning", lambda: len(local_bases(data)) == 2
                 and local_bases(data)[0]["created"] > d0[
                     "EarliestRestorableDateTime"] * 1000 + DAY, 30)
        cut_segs = [s for s in local_segments(data) if s >= first_cut_seg]
        time.sleep(3.5)                    # three checkpoints at least
        kept = local_segments(data)
        assert all(s in kept for s in cut_segs), (cut_segs, kept)
        assert len(cut_segs) >= 8, cut_segs
        # DescribeContinuousBackups: from local retention, at once
        t0 = time.monotonic()
        d2 = describe(raw)
        now = now_ms(raw)
        assert time.monotonic() - t0 < 1.0
        assert abs(d2["EarliestRestorableDateTime"] * 1000 - (now - DAY)) \
            < 2000, (d2, now)
        assert abs(d2["LatestRestorableDateTime"] * 1000 - now) < 2000
        text = srv.stderr_text()
        assert text.count("archive: shipping to") == 1, text
        # the store comes back: everything goes up, then the pinned
        # segments go locally (the checkpoints may take them now)
        proxy.up = True
        wait_for("the archive to catch up", lambda: caught_up(data), 90)
        d3 = describe(raw)
        assert abs(d3["EarliestRestorableDateTime"] * 1000 -
                   (now_ms(raw) - DAY)) < 2000
        wait_for("the old segments to go",
                 lambda: cut_segs[0] not in local_segments(data), 30)
        text = srv.stderr_text()
        assert text.count("archive: shipping to") == 1
        assert text.count("is reachable again") == 1, text
        objs = objects(env, url)
        bases = local_bases(data)
        assert {k for k in objs if k.startswith("archive/bases/")} == {
            "archive/bases/%s.%s" % (b["id"], ext) for b in bases
            for ext in ("tmbak", "json")}
        cov = chunks(objs)
        segs = local_segments(data)
        for seg, nxt in zip(segs, segs[1:]):
            if nxt <= bases[0]["lsn"] + 1:
                continue           # not needed by any base
            size = os.path.getsize(os.path.join(data, "wal",
                                                "%020d.wal" % seg))
            assert cov.get(seg) == size, (seg, cov.get(seg), size)
        # nothing older in the store than what the oldest base needs
        assert min(cov) <= bases[0]["lsn"] + 1
        assert len(cov) == 1 or sorted(cov)[1] > bases[0]["lsn"] + 1
        assert first_cut_seg not in cov
        # a restore from the archive equals the live table
        live = model.now
        out = tmp_path / "restored"
        restore_ok(env, url, "notes", "latest", out)
        got, _ = served_items(tmp_path, out)
        same(got, live, "the restore after the outage")
        line = ("archive: store cut for %d writes and 4 simulated days: %d "
                "segments kept through checkpoints, one warning; shipped "
                "once back, restore complete" % (401, len(cut_segs)))
        print(line)
        record_property("fault_summary", line)
    finally:
        proxy.up = True
        srv.stop()
        proxy.close()


def test_pruning_past_the_window(rgw, tmp_path):  # noqa: F811
    env, rurl = rgw
    url = store_url(rurl, "prune")
    srv = start(tmp_path, env, url)
    data = str(tmp_path / "data")
    try:
        c = harness.make_client(srv.url)
        raw = harness.RawClient(srv.port)
        harness.create_notes(c)
        model = Model(c, raw, 11)
        enable_pitr(raw, 1)
        b0 = wait_bases(data, 1)[0]
        for _ in range(200):
            model.write(body=1500)
        t_old = model.history[-1][1] + 1
        wait_for("the archive to catch up", lambda: caught_up(data), 30)
        old_segs = set(chunks(objects(env, url)))
        e0 = describe(raw)["EarliestRestorableDateTime"]
        now_ms(raw, 2 * DAY)
        model.write()
        wait_bases(data, 2)
        for _ in range(50):
            model.write(body=1500)
        now_ms(raw, 2 * DAY)
        model.write()
        wait_for("the keeper's pruning",
                 lambda: b0["id"] not in [b["id"] for b in local_bases(data)],
                 30)
        b1 = local_bases(data)[0]
        for _ in range(20):
            model.write()
        wait_for("the archive's pruning", lambda: not any(
            k.startswith("archive/bases/" + b0["id"])
            for k in objects(env, url)), 30)
        wait_for("the archive to catch up", lambda: caught_up(data), 30)

        def pruned():
            segs = sorted(chunks(objects(env, url)))
            return segs if segs[0] <= b1["lsn"] + 1 and (
                len(segs) == 1 or segs[1] > b1["lsn"] + 1) else None
        cov = wait_for("the log's pruning", pruned, 30)
        gone = old_segs - set(cov)
        assert gone, (old_segs, cov)
        assert all(s < b1["lsn"] + 1 for s in gone)
        e1 = describe(raw)["EarliestRestorableDateTime"]
        assert e1 > e0 + 3 * 86400 - 5
        live = dict(model.now)
    finally:
        assert srv.stop() == 0
    # before the window: refused, saying what is restorable
    r = restore_cmd(env, url, "notes", iso_ms(t_old), tmp_path / "old")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "oldest base snapshot of it was taken at %s" % iso_ms(
        b1["created"]) in r.stderr, r.stderr
    assert not (tmp_path / "old").exists()
    assert not (tmp_path / "old.partial").exists()
    # inside it: works
    out = tmp_path / "inside"
    restore_ok(env, url, "notes", "latest", out)
    got, _ = served_items(tmp_path, out)
    same(got, live, "the restore after pruning")


def test_kill9_while_shipping(rgw, tmp_path, record_property):  # noqa: F811
    env, rurl = rgw
    url = store_url(rurl, "kill")
    proxy = Proxy(int(env["S3_ENDPOINT"].rsplit(":", 1)[1]))
    endpoint = "http://127.0.0.1:%d" % proxy.port
    srv = start(tmp_path, env, url, endpoint=endpoint)
    data = str(tmp_path / "data")
    kills = 0
    try:
        c = harness.make_client(srv.url)
        raw = harness.RawClient(srv.port)
        harness.create_notes(c)
        model = Model(c, raw, 5)
        enable_pitr(raw, 35)
        wait_bases(data, 1)
        for cycle in range(2):
            # a backlog: the store away while writes go on
            proxy.up = False
            for _ in range(500):
                model.write(body=2000)
            segs = local_segments(data)
            with open(os.path.join(data, "archive.json")) as f:
                start_at = json.load(f)["uploaded_to"]
            proxy.up = True

            def midway():
                try:
                    with open(os.path.join(data, "archive.json")) as f:
                        u = json.load(f)["uploaded_to"]
                except (OSError, ValueError):
                    return False
                return start_at < u < segs[-1]
            wait_for("the backlog half shipped", midway, 60, every=0.005)
            srv.kill()
            kills += 1
            raw.close()
            srv.start(timeout=60)
            c = model.c = harness.make_client(srv.url)
            raw = model.raw = harness.RawClient(srv.port)
            for _ in range(10):
                model.write()
        wait_for("the archive to catch up", lambda: caught_up(data), 90)
    finally:
        proxy.up = True
        assert srv.stop() == 0
        proxy.close()
    out = tmp_path / "restored"
    restore_ok(env, url, "notes", "latest", out)
    got, _ = served_items(tmp_path, out)
    same(got, model.now, "the restore after %d kills" % kills)
    line = ("archive: kill -9 while shipping a backlog, %d times: the "
            "restore from the archive has every acknowledged write" % kills)
    print(line)
    record_property("fault_summary", line)


def test_restore_errors_and_progress(rgw, tmp_path):  # noqa: F811
    env, rurl = rgw
    url = store_url(rurl, "err")
    srv = start(tmp_path, env, url)
    data = str(tmp_path / "data")
    try:
        c = harness.make_client(srv.url)
        raw = harness.RawClient(srv.port)
        harness.create_notes(c)
        enable_pitr(raw, 35)
        model = Model(c, raw, 3)
        for _ in range(50):
            model.write()
        base = wait_bases(data, 1)[0]
        wait_for("the archive to catch up", lambda: caught_up(data), 30)
        # one archive, one data directory
        other = harness.Server(
            str(tmp_path / "other"), log_dir=str(tmp_path), env=env,
            extra_args=["--backup-store", url, "--s3-endpoint",
                        env["S3_ENDPOINT"]])
        other.spawn()
        try:
            assert other.proc.wait(timeout=60) == 1
        finally:
            other.kill()
        text = other.stderr_text()
        assert "belongs to another data directory" in text, text
        assert "another --backup-store prefix" in text
    finally:
        assert srv.stop() == 0        # a clean stop ships the rest
    assert caught_up(data)
    # DIR not empty: refused, untouched
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep").write_text("mine")
    r = restore_cmd(env, url, "notes", "latest", full)
    assert r.returncode == 1
    assert "is not empty" in r.stderr and "nothing was changed" in r.stderr
    assert os.listdir(full) == ["keep"]
    # an unknown table: the ones there are named
    r = restore_cmd(env, url, "nope", "latest", tmp_path / "x")
    assert r.returncode == 1
    assert "no base snapshot of table nope" in r.stderr
    assert "it has tables: notes" in r.stderr, r.stderr
    # before the oldest base: the restorable range
    r = restore_cmd(env, url, "notes", iso_ms(base["created"] - 1),
                    tmp_path / "x")
    assert r.returncode == 1
    assert "from %s to its last archived write" % iso_ms(
        base["created"]) in r.stderr, r.stderr
    # a bad time, no store there
    r = restore_cmd(env, url, "notes", "yesterday", tmp_path / "x")
    assert r.returncode == 2 and "--to wants" in r.stderr
    r = restore_cmd(env, store_url(rurl, "empty"), "notes", "latest",
                    tmp_path / "x")
    assert r.returncode == 1 and "holds none at all" in r.stderr, r.stderr
    assert not (tmp_path / "x").exists()
    # an interrupted restore's leftover is removed; anything else is not
    left = tmp_path / "again.partial"
    (left / "state").mkdir(parents=True)
    (left / "RESTORE-IN-PROGRESS").write_text("")
    restore_ok(env, url, "notes", "latest", tmp_path / "again")
    assert not left.exists()
    theirs = tmp_path / "third.partial"
    theirs.mkdir()
    (theirs / "file").write_text("someone's")
    r = restore_cmd(env, url, "notes", "latest", tmp_path / "third")
    assert r.returncode == 1 and "move it away first" in r.stderr, r.stderr
    assert (theirs / "file").read_text() == "someone's"
    # the progress bar, on a terminal; the DIR may exist if empty
    out = tmp_path / "bar"
    out.mkdir()
    master, slave = pty.openpty()
    p = subprocess.Popen(
        [harness.BINARY, "restore", "--from", url, "--s3-endpoint",
         env["S3_ENDPOINT"], "--table", "notes", "--to", "latest", "--data",
         str(out)], env=env, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    assert p.wait(timeout=120) == 0
    os.close(master)
    text = shown.decode()
    assert "downloading [" in text and "100%" in text, text
    assert "MB" in text and "replaying" in text, text
    got, _ = served_items(tmp_path, out)
    same(got, model.now, "the restore with a progress bar")
