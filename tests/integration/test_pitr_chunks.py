"""Point-in-time restores replay the log in chunks (src/restore/restore.c):
each chunk keeps the last change of each row and applies those in key
order.  With the chunk budget forced tiny (TIDEMARK_RESTORE_CHUNK_BYTES on
the server: one change per chunk, a few per chunk) and at its default (one
chunk), the same key is put, updated, deleted and put again within a chunk
and across chunk boundaries, with a global and a local secondary index
whose keys change, come and go; restores at every time between those
writes, and at random times after random writes, must equal the model:
the table's items, both indexes' entries and the item counts.

The writes are bracketed by the server's clock as in test_pitr_model.py
(--unsafe-test-clock; AdvanceClock 0 reads it): a write's effects belong
to every time at or after its bracket's end and to none before its start.
"""
import os
import random
import time

import pytest

import harness

pytestmark = pytest.mark.needs_binary

ATTRS = harness.NOTES_ATTRS + [
    {"AttributeName": "tag", "AttributeType": "S"},
    {"AttributeName": "rank", "AttributeType": "N"}]
GSI = {"IndexName": "byTag",
       "KeySchema": [{"AttributeName": "tag", "KeyType": "HASH"},
                     {"AttributeName": "noteId", "KeyType": "RANGE"}],
       "Projection": {"ProjectionType": "ALL"}}
LSI = {"IndexName": "byRank",
       "KeySchema": [{"AttributeName": "userId", "KeyType": "HASH"},
                     {"AttributeName": "rank", "KeyType": "RANGE"}],
       "Projection": {"ProjectionType": "KEYS_ONLY"}}


@pytest.fixture(params=["1", "1000", None], ids=["one-change-chunks",
                                                 "few-change-chunks",
                                                 "default-chunks"])
def server(request, tmp_path):
    env = None
    if request.param is not None:
        env = dict(os.environ,
                   TIDEMARK_RESTORE_CHUNK_BYTES=request.param)
    srv = harness.Server(str(tmp_path / "data"), log_dir=str(tmp_path),
                         extra_args=["--unsafe-test-clock"], env=env)
    srv.start()
    yield srv
    if srv.proc.poll() is None:
        srv.stop()


now_ms = harness.now_ms


def scan_all(c, name, index=None):
    kw = {"IndexName": index} if index else {"ConsistentRead": True}
    return sorted(harness.scan_items(c, TableName=name, **kw),
                  key=lambda i: i["noteId"]["S"])


def wait_active(c, name, timeout=30):
    return harness.wait_table_active(c, name, timeout=timeout)


def expected(model):
    """The table's items, the GSI's (ALL) and the LSI's (KEYS_ONLY)."""
    items = sorted(model.values(), key=lambda i: i["noteId"]["S"])
    gsi = [i for i in items if "tag" in i]
    lsi = [{k: i[k] for k in ("userId", "noteId", "rank")}
           for i in items if "rank" in i]
    return items, gsi, lsi


class Writer:
    """Writes through the API and keeps the model and its history."""

    def __init__(self, c, raw):
        self.c, self.raw = c, raw
        self.model = {}
        t0 = now_ms(raw)
        self.history = [(t0, t0, {})]   # (before, after, model after)

    def _key(self, k):
        return {"userId": {"S": "u"}, "noteId": {"S": k}}

    def _record(self, before):
        after = now_ms(self.raw, 2)
        self.history.append((before, after, dict(self.model)))

    def put(self, k, tag=None, rank=None, v=0):
        before = now_ms(self.raw, 2)
        item = dict(self._key(k), v={"N": str(v)})
        if tag is not None:
            item["tag"] = {"S": tag}
        if rank is not None:
            item["rank"] = {"N": str(rank)}
        self.c.put_item(TableName="notes", Item=item)
        self.model[k] = item
        self._record(before)

    def set_tag(self, k, tag):
        """UpdateItem: SET tag (REMOVE tag when None); creates the item."""
        before = now_ms(self.raw, 2)
        if tag is None:
            self.c.update_item(TableName="notes", Key=self._key(k),
                               UpdateExpression="REMOVE tag")
            item = dict(self.model.get(k, self._key(k)))
            item.pop("tag", None)
        else:
            self.c.update_item(TableName="notes", Key=self._key(k),
                               UpdateExpression="SET tag = :t",
                               ExpressionAttributeValues={":t": {"S": tag}})
            item = dict(self.model.get(k, self._key(k)), tag={"S": tag})
        self.model[k] = item
        self._record(before)

    def delete(self, k):
        before = now_ms(self.raw, 2)
        self.c.delete_item(TableName="notes", Key=self._key(k))
        self.model.pop(k, None)
        self._record(before)

    def swap(self, k, k2, tag):
        """One transaction: put k, delete k2."""
        before = now_ms(self.raw, 2)
        item = dict(self._key(k), tag={"S": tag}, rank={"N": "7"})
        self.c.transact_write_items(TransactItems=[
            {"Put": {"TableName": "notes", "Item": item}},
            {"Delete": {"TableName": "notes", "Key": self._key(k2)}}])
        self.model[k] = item
        self.model.pop(k2, None)
        self._record(before)


def check_restore(c, raw, history, at, n):
    """Restore to `at` (ms; None: the latest time) into restored<n> and
    compare it with the model at that time."""
    body = {"SourceTableName": "notes", "TargetTableName": "restored%d" % n}
    if at is None:
        body["UseLatestRestorableTime"] = True
        want = history[-1][2]
    else:
        body["RestoreDateTime"] = at / 1000.0
        want = harness.model_at(history, at)
    raw.call("RestoreTableToPointInTime", body)
    name = "restored%d" % n
    t = wait_active(c, name)
    items, gsi, lsi = expected(want)
    what = "restore %d at %s" % (n, at)
    assert scan_all(c, name) == items, what
    assert scan_all(c, name, "byTag") == gsi, what
    assert scan_all(c, name, "byRank") == lsi, what
    assert t["ItemCount"] == len(items), what
    counts = {x["IndexName"]: x["ItemCount"]
              for x in t["GlobalSecondaryIndexes"] +
              t["LocalSecondaryIndexes"]}
    assert counts == {"byTag": len(gsi), "byRank": len(lsi)}, what
    c.delete_table(TableName=name)


def test_chunked_replay_matches_the_model(server):
    c = harness.make_client(server.url)
    raw = harness.RawClient(server.port)
    harness.create_notes(c, AttributeDefinitions=ATTRS,
                         GlobalSecondaryIndexes=[GSI],
                         LocalSecondaryIndexes=[LSI])
    # a row in the base snapshot that the log changes
    c.put_item(TableName="notes", Item={
        "userId": {"S": "u"}, "noteId": {"S": "b"}, "tag": {"S": "base"},
        "rank": {"N": "1"}})
    raw.call("UpdateContinuousBackups", {
        "TableName": "notes", "PointInTimeRecoverySpecification": {
            "PointInTimeRecoveryEnabled": True}})
    w = Writer(c, raw)
    w.model["b"] = {"userId": {"S": "u"}, "noteId": {"S": "b"},
                    "tag": {"S": "base"}, "rank": {"N": "1"}}
    w.history[0] = (w.history[0][0], w.history[0][1], dict(w.model))
    # scripted: one key through every kind of change, back to back (within
    # a chunk at the default budget, across chunks at the tiny ones), other
    # keys interleaved so that chunk boundaries fall everywhere
    w.put("k", tag="a", rank=5)
    w.set_tag("k", "b")             # the GSI key changes
    w.delete("k")
    w.put("k", tag="c", rank=6, v=1)
    w.put("b", rank=2)              # the base row loses its GSI entry
    w.set_tag("k", None)            # k leaves the GSI
    w.put("j", tag="c", rank=5)
    w.set_tag("k", "c")             # and comes back, beside j
    w.delete("b")
    w.put("k", tag="d", v=2)        # leaves the LSI
    w.delete("missing")             # a delete of nothing
    w.put("b", tag="base", rank=1)  # the base row as it was
    w.swap("j", "k", "e")
    w.put("k", tag="e", rank=7)
    scripted = len(w.history)
    # then random writes over a few keys
    rnd = random.Random(20261125)
    keys = ["k", "j", "b", "m", "n"]
    for _ in range(60):
        k = rnd.choice(keys)
        op = rnd.random()
        if op < 0.4:
            w.put(k, tag=rnd.choice(["a", "b", None]),
                  rank=rnd.choice([1, 2, None]), v=rnd.randrange(100))
        elif op < 0.65:
            w.set_tag(k, rnd.choice(["a", "b", None]))
        elif op < 0.9:
            w.delete(k)
        else:
            w.swap(k, rnd.choice([x for x in keys if x != k]), "t")
    # every gap of the scripted part, some of the random part, the latest
    h = w.history
    points = [h[i][1] for i in range(scripted)]
    points += [h[i][1] + 1 for i in sorted(rnd.sample(
        range(scripted, len(h)), 8))]
    points.append(None)
    for n, at in enumerate(points):
        check_restore(c, raw, h, at, n)
    # the server read the budget it was given (no warning about it)
    assert "TIDEMARK_RESTORE_CHUNK_BYTES" not in server.stderr_text()
    raw.close()


def test_bad_budget_is_refused_with_a_warning(tmp_path):
    srv = harness.Server(str(tmp_path / "data"), log_dir=str(tmp_path),
                         env=dict(os.environ,
                                  TIDEMARK_RESTORE_CHUNK_BYTES="64MB"))
    srv.start()
    try:
        c = harness.make_client(srv.url)
        raw = harness.RawClient(srv.port)
        harness.create_notes(c)
        raw.call("UpdateContinuousBackups", {
            "TableName": "notes", "PointInTimeRecoverySpecification": {
                "PointInTimeRecoveryEnabled": True}})
        c.put_item(TableName="notes", Item={"userId": {"S": "u"},
                                            "noteId": {"S": "x"}})
        raw.call("RestoreTableToPointInTime", {
            "SourceTableName": "notes", "TargetTableName": "copy",
            "UseLatestRestorableTime": True})
        wait_active(c, "copy")
        assert c.scan(TableName="copy")["Count"] == 1
        assert "TIDEMARK_RESTORE_CHUNK_BYTES=64MB is not a number of bytes " \
               "from 1 up; the log is replayed in chunks of 67108864 bytes" \
               in srv.stderr_text()
        raw.close()
    finally:
        srv.stop()


@pytest.mark.parametrize("sig", ["SIGKILL", "SIGTERM"])
def test_stopped_during_the_replay_starts_over(tmp_path, sig):
    """A restore stopped while it replays (one change per chunk and per
    batch is slow enough to be caught in the middle) is resumed at the next
    start and ends equal to the model, indexes and counts included."""
    import signal
    srv = harness.Server(str(tmp_path / "data"), log_dir=str(tmp_path),
                         env=dict(os.environ,
                                  TIDEMARK_RESTORE_CHUNK_BYTES="1"))
    srv.start()
    try:
        c = harness.make_client(srv.url)
        raw = harness.RawClient(srv.port)
        harness.create_notes(c, AttributeDefinitions=ATTRS,
                             GlobalSecondaryIndexes=[GSI],
                             LocalSecondaryIndexes=[LSI])
        raw.call("UpdateContinuousBackups", {
            "TableName": "notes", "PointInTimeRecoverySpecification": {
                "PointInTimeRecoveryEnabled": True}})
        model = {}
        for rnd in range(4):
            for start in range(0, 400, 25):
                items = []
                for i in range(start, start + 25):
                    item = {"userId": {"S": "u"},
                            "noteId": {"S": "n%04d" % i},
                            "v": {"N": str(rnd)}}
                    if (i + rnd) % 3:
                        item["tag"] = {"S": "t%d" % ((i * rnd) % 5)}
                    if (i + rnd) % 4:
                        item["rank"] = {"N": str(rnd)}
                    items.append(item)
                    model[item["noteId"]["S"]] = item
                c.batch_write_item(RequestItems={"notes": [
                    {"PutRequest": {"Item": x}} for x in items]})
        for i in range(0, 400, 7):
            c.delete_item(TableName="notes", Key={
                "userId": {"S": "u"}, "noteId": {"S": "n%04d" % i}})
            model.pop("n%04d" % i)
        raw.call("RestoreTableToPointInTime", {
            "SourceTableName": "notes", "TargetTableName": "copy",
            "UseLatestRestorableTime": True})
        time.sleep(0.1)
        raw.close()
        srv.stop(getattr(signal, sig))
        # finished before the stop, or resumed after it
        finished = "restore of table copy from" in srv.stderr_text()
        srv.start()
        c = harness.make_client(srv.url)
        t = wait_active(c, "copy", timeout=120)
        items, gsi, lsi = expected(model)
        assert scan_all(c, "copy") == items
        assert scan_all(c, "copy", "byTag") == gsi
        assert scan_all(c, "copy", "byRank") == lsi
        assert t["ItemCount"] == len(items)
        print("stopped (%s) %s the restore" % (
            sig, "after" if finished else "in the middle of"))
        if not finished:
            assert "resuming the restore of table copy" in srv.stderr_text()
    finally:
        srv.stop()
