"""DynamoDB Streams: StreamSpecification on CreateTable/UpdateTable (with
LatestStreamArn and LatestStreamLabel in the table description), and the
Streams API on the same endpoint through boto3's dynamodbstreams client:
ListStreams, DescribeStream, GetShardIterator (all four types), GetRecords.

What is shown:
- every acknowledged write appears once, in order per key, with the images
  its view type asks for (all four view types), also with concurrent
  writers, and across a server restart (iterators survive it too);
- INSERT / MODIFY / REMOVE, and no record for a write that changes nothing
  (as DynamoDB), nor for index entries or failed conditions;
- time-to-live deletes carry userIdentity {Type: Service, PrincipalId:
  dynamodb.amazonaws.com} (end to end through the TTL sweeper);
- iterator types, pagination with Limit and NextShardIterator until caught
  up (then [] and a NextShardIterator), LATEST sees only later writes;
- the enable/disable lifecycle in DescribeTable, ListStreams and
  DescribeStream (a disabled stream is closed: readable to its end, then no
  NextShardIterator);
- errors with DynamoDB's texts where known, and malformed Streams requests
  answered with error shapes, never a 500.

Iterator expiry and the 24-hour trim need a moving clock: they are in
tests/unit/test_streams.c."""

import base64
import json
import os
import re
import threading
import time

import boto3
import botocore.session
import pytest
from boto3.dynamodb.types import TypeDeserializer
from botocore.config import Config
from botocore.exceptions import ClientError

import harness
from harness import error_of

STREAMS_TARGET = "DynamoDBStreams_20120810."
VIEWS = ["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"]
LABEL_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$")
SERVICE_IDENTITY = {"PrincipalId": "dynamodb.amazonaws.com",
                    "Type": "Service"}
TTL_WAIT = 10.0

_deser = TypeDeserializer()


def plain(image):
    return {k: _deser.deserialize(v) for k, v in image.items()}


def make_streams(url, validate=True):
    return boto3.client(
        "dynamodbstreams", endpoint_url=url, region_name=harness.REGION,
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(parameter_validation=validate,
                      retries={"total_max_attempts": 1, "mode": "standard"},
                      connect_timeout=5, read_timeout=60))


@pytest.fixture
def streams(ddb, server):
    return make_streams(server.url)


@pytest.fixture
def streams_nv(ddb, server):
    return make_streams(server.url, validate=False)


def create(ddb, name="events", view="NEW_AND_OLD_IMAGES", range_key=True,
           **kw):
    keys = [{"AttributeName": "p", "KeyType": "HASH"}]
    attrs = [{"AttributeName": "p", "AttributeType": "S"}]
    if range_key:
        keys.append({"AttributeName": "c", "KeyType": "RANGE"})
        attrs.append({"AttributeName": "c", "AttributeType": "N"})
    args = dict(TableName=name, KeySchema=keys, AttributeDefinitions=attrs,
                BillingMode="PAY_PER_REQUEST")
    if view:
        args["StreamSpecification"] = {"StreamEnabled": True,
                                       "StreamViewType": view}
    args.update(kw)
    return ddb.create_table(**args)["TableDescription"]


def stream_arn(ddb, name="events"):
    return ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]


def shard_of(streams, arn):
    shards = streams.describe_stream(StreamArn=arn)["StreamDescription"][
        "Shards"]
    assert len(shards) == 1
    return shards[0]


def iterator(streams, arn, kind="TRIM_HORIZON", seq=None):
    args = dict(StreamArn=arn, ShardId=shard_of(streams, arn)["ShardId"],
                ShardIteratorType=kind)
    if seq is not None:
        args["SequenceNumber"] = seq
    return streams.get_shard_iterator(**args)["ShardIterator"]


def drain(streams, it, limit=None, max_pages=10000):
    """Read from `it` until a page comes back empty. Returns (records,
    pages, last NextShardIterator or None when the shard is closed)."""
    records, pages = [], []
    for _ in range(max_pages):
        args = {"ShardIterator": it}
        if limit:
            args["Limit"] = limit
        r = streams.get_records(**args)
        pages.append(len(r["Records"]))
        records.extend(r["Records"])
        if "NextShardIterator" not in r:
            return records, pages, None
        it = r["NextShardIterator"]
        if not r["Records"]:
            return records, pages, it
    raise AssertionError("stream not drained")


def read_all(streams, arn, limit=None):
    return drain(streams, iterator(streams, arn), limit)[0]


def k(p, c=1):
    return {"p": {"S": p}, "c": {"N": str(c)}}


def item(p, c=1, **attrs):
    it = k(p, c)
    for name, value in attrs.items():
        it[name] = {"N": str(value)} if isinstance(value, int) else \
            {"S": value}
    return it


def check_record_shape(rec, view, region=harness.REGION):
    assert rec["eventSource"] == "aws:dynamodb"
    assert rec["eventVersion"] == "1.1"
    assert rec["awsRegion"] == region
    assert rec["eventName"] in ("INSERT", "MODIFY", "REMOVE")
    assert re.fullmatch(r"[0-9a-f]{32}", rec["eventID"])
    d = rec["dynamodb"]
    assert d["StreamViewType"] == view
    assert re.fullmatch(r"\d{21}", d["SequenceNumber"])
    assert d["SizeBytes"] > 0
    assert abs(d["ApproximateCreationDateTime"].timestamp() - time.time()) \
        < 600


# ------------------------------------------------ StreamSpecification

def test_create_table_with_stream_describes_it(ddb):
    desc = create(ddb, view="NEW_IMAGE")
    assert desc["StreamSpecification"] == {"StreamEnabled": True,
                                           "StreamViewType": "NEW_IMAGE"}
    label = desc["LatestStreamLabel"]
    assert LABEL_RE.match(label)
    assert desc["LatestStreamArn"] == (
        "arn:aws:dynamodb:%s:%s:table/events/stream/%s"
        % (harness.REGION, harness.ACCOUNT, label))
    # the label is the creation time, in UTC with milliseconds
    created = desc["CreationDateTime"].timestamp()
    assert time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) \
        == label[:19]
    again = ddb.describe_table(TableName="events")["Table"]
    for member in ("StreamSpecification", "LatestStreamLabel",
                   "LatestStreamArn"):
        assert again[member] == desc[member]


def test_table_without_stream_has_no_stream_members(ddb, streams):
    create(ddb, view=None)
    create(ddb, name="disabled", view=None,
           StreamSpecification={"StreamEnabled": False})
    for name in ("events", "disabled"):
        t = ddb.describe_table(TableName=name)["Table"]
        assert "StreamSpecification" not in t
        assert "LatestStreamArn" not in t
        assert "LatestStreamLabel" not in t
    assert streams.list_streams()["Streams"] == []
    assert streams.list_streams(TableName="events")["Streams"] == []


def test_stream_specification_errors(ddb, ddb_nv):
    cases = [
        (dict(StreamSpecification={"StreamEnabled": True}),
         "One or more parameter values were invalid: Table is being created"
         " with a stream enabled, UpdateViewType is required"),
        (dict(StreamSpecification={"StreamEnabled": False,
                                   "StreamViewType": "KEYS_ONLY"}),
         "One or more parameter values were invalid: Table is being created"
         " with a stream disabled, UpdateViewType should not be specified"),
    ]
    for extra, message in cases:
        with pytest.raises(ClientError) as e:
            create(ddb, view=None, **extra)
        assert error_of(e) == ("ValidationException", message)
    with pytest.raises(ClientError) as e:
        create(ddb_nv, view=None, StreamSpecification={})
    assert error_of(e) == (
        "ValidationException",
        "1 validation error detected: Value null at "
        "'streamSpecification.streamEnabled' failed to satisfy constraint: "
        "Member must not be null")
    with pytest.raises(ClientError) as e:
        create(ddb_nv, view=None, StreamSpecification={
            "StreamEnabled": True, "StreamViewType": "Fisk"})
    assert error_of(e)[0] == "ValidationException"
    assert "streamViewType" in error_of(e)[1]
    assert ddb.list_tables()["TableNames"] == []

    create(ddb, view=None)
    update_cases = [
        ({"StreamEnabled": False},
         "Table has no stream to disable: TableName: events"),
        ({"StreamEnabled": True},
         "One or more parameter values were invalid: If stream is being "
         "enabled then UpdateViewType is required"),
        ({"StreamEnabled": False, "StreamViewType": "KEYS_ONLY"},
         "One or more parameter values were invalid: If stream is being "
         "disabled, then UpdateViewType must not be specified"),
    ]
    for spec, message in update_cases:
        with pytest.raises(ClientError) as e:
            ddb.update_table(TableName="events", StreamSpecification=spec)
        assert error_of(e) == ("ValidationException", message)
    ddb.update_table(TableName="events", StreamSpecification={
        "StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    for view in ("KEYS_ONLY", "NEW_IMAGE"):   # same or another view type
        with pytest.raises(ClientError) as e:
            ddb.update_table(TableName="events", StreamSpecification={
                "StreamEnabled": True, "StreamViewType": view})
        assert error_of(e) == (
            "ValidationException",
            "Table already has an enabled stream: TableName: events")
    assert ddb.describe_table(TableName="events")["Table"][
        "StreamSpecification"]["StreamViewType"] == "KEYS_ONLY"


# ------------------------------------------------------ records per view

def scripted_writes(ddb):
    """Writes of every kind; returns the expected records as
    (eventName, key, old image, new image) in log order."""
    c = ddb
    ev = []
    a1 = item("a", 1, v=1, s="x")
    c.put_item(TableName="events", Item=a1)                       # INSERT
    ev.append(("INSERT", k("a"), None, a1))
    a2 = item("a", 1, v=2)
    c.put_item(TableName="events", Item=a2)                       # MODIFY
    ev.append(("MODIFY", k("a"), a1, a2))
    c.put_item(TableName="events", Item=item("a", 1, v=2))        # no change
    r = c.update_item(TableName="events", Key=k("a"),
                      UpdateExpression="SET w = :w",
                      ExpressionAttributeValues={":w": {"S": "up"}},
                      ReturnValues="ALL_NEW")
    a3 = r["Attributes"]
    ev.append(("MODIFY", k("a"), a2, a3))
    r = c.update_item(TableName="events", Key=k("b", 2),
                      UpdateExpression="SET n = :n",
                      ExpressionAttributeValues={":n": {"N": "5"}},
                      ReturnValues="ALL_NEW")                     # INSERT
    ev.append(("INSERT", k("b", 2), None, r["Attributes"]))
    b2 = r["Attributes"]
    with pytest.raises(ClientError):                              # nothing
        c.put_item(TableName="events", Item=item("b", 2, n=9),
                   ConditionExpression="attribute_not_exists(p)")
    c.delete_item(TableName="events", Key=k("zz", 9))             # nothing
    c.delete_item(TableName="events", Key=k("a"))                 # REMOVE
    ev.append(("REMOVE", k("a"), a3, None))
    e1, e2 = item("e", 1, q="one"), item("e", 2, q="two")
    c.batch_write_item(RequestItems={"events": [
        {"PutRequest": {"Item": e1}}, {"PutRequest": {"Item": e2}},
        {"DeleteRequest": {"Key": k("b", 2)}}]})
    batch = [("INSERT", k("e", 1), None, e1),
             ("INSERT", k("e", 2), None, e2),
             ("REMOVE", k("b", 2), b2, None)]
    c.transact_write_items(TransactItems=[
        {"Put": {"TableName": "events", "Item": item("t", 1, z=1)}},
        {"Update": {"TableName": "events", "Key": k("e", 1),
                    "UpdateExpression": "REMOVE q"}}])
    trans = [("INSERT", k("t", 1), None, item("t", 1, z=1)),
             ("MODIFY", k("e", 1), e1, k("e", 1))]
    return ev, batch, trans


def expect_per_key(expected):
    per = {}
    for e in expected:
        per.setdefault(json.dumps(e[1], sort_keys=True), []).append(e)
    return per


@pytest.mark.parametrize("view", VIEWS)
def test_records_per_view_type(ddb, streams, view):
    create(ddb, view=view)
    arn = stream_arn(ddb)
    ev, batch, trans = scripted_writes(ddb)
    records = read_all(streams, arn)
    assert len(records) == len(ev) + len(batch) + len(trans)
    seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert seqs == sorted(set(seqs))
    assert len({r["eventID"] for r in records}) == len(records)
    # the single writes in log order; batch and transaction members in
    # the server's order among themselves, but each key's in order
    per = expect_per_key(batch + trans)
    for i, rec in enumerate(records):
        check_record_shape(rec, view)
        if i < len(ev):
            name, key, old, new = ev[i]
        else:
            name, key, old, new = per[json.dumps(
                rec["dynamodb"]["Keys"], sort_keys=True)].pop(0)
        assert rec["eventName"] == name
        d = rec["dynamodb"]
        want_new = view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES") and new
        want_old = view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES") and old
        if want_new:
            assert plain(d["NewImage"]) == plain(new)
        else:
            assert "NewImage" not in d
        if want_old:
            assert plain(d["OldImage"]) == plain(old)
        else:
            assert "OldImage" not in d
        assert "userIdentity" not in rec
        assert d["Keys"] == key
    d = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert d["StreamViewType"] == view


def test_index_entries_and_other_tables_stay_out(ddb, streams):
    create(ddb, view="KEYS_ONLY",
           AttributeDefinitions=[
               {"AttributeName": "p", "AttributeType": "S"},
               {"AttributeName": "c", "AttributeType": "N"},
               {"AttributeName": "g", "AttributeType": "S"}],
           GlobalSecondaryIndexes=[{
               "IndexName": "byg",
               "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
               "Projection": {"ProjectionType": "ALL"}}],
           LocalSecondaryIndexes=[{
               "IndexName": "byg2",
               "KeySchema": [{"AttributeName": "p", "KeyType": "HASH"},
                             {"AttributeName": "g", "KeyType": "RANGE"}],
               "Projection": {"ProjectionType": "KEYS_ONLY"}}])
    create(ddb, name="other", view="KEYS_ONLY")
    for i in range(5):
        ddb.put_item(TableName="events", Item=item("x", i, g="g%d" % i))
        ddb.put_item(TableName="other", Item=item("y", i))
    ddb.put_item(TableName="events", Item=item("x", 0, g="moved"))
    recs = read_all(streams, stream_arn(ddb))
    assert [r["eventName"] for r in recs] == ["INSERT"] * 5 + ["MODIFY"]
    assert [r["dynamodb"]["Keys"]["p"]["S"] for r in recs] == ["x"] * 6
    assert len(read_all(streams, stream_arn(ddb, "other"))) == 5


def test_concurrent_writers_every_write_once_in_order(ddb, streams, server):
    create(ddb, view="NEW_IMAGE")
    arn = stream_arn(ddb)
    acked = {}

    def writer(w):
        c = harness.make_client(server.url)
        mine = acked.setdefault(w, [])
        for n in range(40):
            key = "k%d" % (n % 4)
            c.put_item(TableName="events",
                       Item=item("w%d-%s" % (w, key), 1, n=n))
            mine.append(("w%d-%s" % (w, key), n))

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    records = read_all(streams, arn, limit=37)
    assert len(records) == sum(len(v) for v in acked.values())
    per_key = {}
    for r in records:
        img = plain(r["dynamodb"]["NewImage"])
        per_key.setdefault(img["p"], []).append(int(img["n"]))
    for w, writes in acked.items():
        for key in {p for p, _ in writes}:
            assert per_key[key] == [n for p, n in writes if p == key]


def test_only_changes_while_enabled(ddb, streams):
    create(ddb, view=None)
    ddb.put_item(TableName="events", Item=item("before"))
    d = ddb.update_table(TableName="events", StreamSpecification={
        "StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})[
        "TableDescription"]
    assert d["StreamSpecification"]["StreamEnabled"] is True
    arn = d["LatestStreamArn"]
    ddb.put_item(TableName="events", Item=item("before", v=2))
    ddb.put_item(TableName="events", Item=item("after"))
    recs = read_all(streams, arn)
    assert [(r["eventName"], r["dynamodb"]["Keys"]["p"]["S"]) for r in recs] \
        == [("MODIFY", "before"), ("INSERT", "after")]
    # the item written before the stream existed is the old image
    assert plain(recs[0]["dynamodb"]["OldImage"]) == plain(item("before"))


# ------------------------------------------------------ time to live

def test_ttl_delete_is_marked(ddb, streams):
    create(ddb, view="NEW_AND_OLD_IMAGES")
    arn = stream_arn(ddb)
    ddb.update_time_to_live(TableName="events", TimeToLiveSpecification={
        "Enabled": True, "AttributeName": "exp"})
    past = int(time.time()) - 100
    ddb.put_item(TableName="events", Item=item("gone", exp=past))
    ddb.put_item(TableName="events", Item=item("kept", exp=past + 10**6))
    ddb.put_item(TableName="events", Item=item("mine"))
    ddb.delete_item(TableName="events", Key=k("mine"))
    deadline = time.monotonic() + TTL_WAIT
    while time.monotonic() < deadline:
        recs = read_all(streams, arn)
        removes = [r for r in recs if r["eventName"] == "REMOVE"]
        if len(removes) == 2:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("no TTL delete in the stream: %r" % recs)
    by_key = {r["dynamodb"]["Keys"]["p"]["S"]: r for r in removes}
    ttl = by_key["gone"]
    assert ttl["userIdentity"] == SERVICE_IDENTITY
    assert plain(ttl["dynamodb"]["OldImage"]) == plain(
        item("gone", exp=past))
    assert "NewImage" not in ttl["dynamodb"]
    assert "userIdentity" not in by_key["mine"]
    assert all("userIdentity" not in r for r in recs
               if r["eventName"] != "REMOVE")


# ------------------------------------------------------ iterators

def test_iterator_types(ddb, streams):
    create(ddb, view="KEYS_ONLY")
    arn = stream_arn(ddb)
    for i in range(3):
        ddb.put_item(TableName="events", Item=item("i%d" % i))
    shard = shard_of(streams, arn)
    assert shard["ShardId"].startswith("shardId-")
    assert 28 <= len(shard["ShardId"]) <= 65
    assert "EndingSequenceNumber" not in shard["SequenceNumberRange"]
    start = shard["SequenceNumberRange"]["StartingSequenceNumber"]
    assert re.fullmatch(r"\d{21}", start)

    everything = read_all(streams, arn)
    seqs = [r["dynamodb"]["SequenceNumber"] for r in everything]
    assert len(seqs) == 3
    keys = [r["dynamodb"]["Keys"]["p"]["S"] for r in everything]
    assert keys == ["i0", "i1", "i2"]

    def read(kind, seq=None):
        recs, _, it = drain(streams, iterator(streams, arn, kind, seq))
        return [r["dynamodb"]["Keys"]["p"]["S"] for r in recs], it

    assert read("AT_SEQUENCE_NUMBER", start)[0] == keys
    assert read("AT_SEQUENCE_NUMBER", seqs[1])[0] == keys[1:]
    assert read("AFTER_SEQUENCE_NUMBER", seqs[1])[0] == keys[2:]
    assert read("AFTER_SEQUENCE_NUMBER", seqs[2])[0] == []
    latest, it = read("LATEST")
    assert latest == []
    # LATEST sees only what is written after it was taken
    it2 = iterator(streams, arn, "LATEST")
    ddb.put_item(TableName="events", Item=item("later"))
    for i in (it, it2):
        r = streams.get_records(ShardIterator=i)
        assert [x["dynamodb"]["Keys"]["p"]["S"] for x in r["Records"]] \
            == ["later"]
        assert streams.get_records(ShardIterator=r["NextShardIterator"])[
            "Records"] == []
    # TRIM_HORIZON always starts from the beginning
    assert read("TRIM_HORIZON")[0] == keys + ["later"]


def test_pagination_until_caught_up(ddb, streams):
    create(ddb, view="NEW_IMAGE")
    arn = stream_arn(ddb)
    for i in range(25):
        ddb.put_item(TableName="events", Item=item("p%02d" % i, v=i))
    recs, pages, it = drain(streams, iterator(streams, arn), limit=4)
    assert pages == [4, 4, 4, 4, 4, 4, 1, 0]
    assert [r["dynamodb"]["Keys"]["p"]["S"] for r in recs] \
        == ["p%02d" % i for i in range(25)]
    # caught up: [] and a NextShardIterator, again and again
    for _ in range(3):
        r = streams.get_records(ShardIterator=it)
        assert r["Records"] == []
        it = r["NextShardIterator"]
    ddb.put_item(TableName="events", Item=item("p25"))
    r = streams.get_records(ShardIterator=it, Limit=1000)
    assert [x["dynamodb"]["Keys"]["p"]["S"] for x in r["Records"]] \
        == ["p25"]
    # an iterator may be used more than once: it names a position
    r1 = streams.get_records(ShardIterator=it)
    assert r1["Records"] == r["Records"]


# ------------------------------------------------------ lifecycle

def test_enable_disable_lifecycle(ddb, streams):
    create(ddb, view=None)
    ddb.put_item(TableName="events", Item=item("pre"))
    d = ddb.update_table(TableName="events", StreamSpecification={
        "StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})[
        "TableDescription"]
    arn, label = d["LatestStreamArn"], d["LatestStreamLabel"]
    assert streams.list_streams()["Streams"] == [
        {"StreamArn": arn, "TableName": "events", "StreamLabel": label}]
    sd = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert sd["StreamStatus"] == "ENABLED"
    assert sd["StreamLabel"] == label
    assert sd["TableName"] == "events"
    assert sd["KeySchema"] == [{"AttributeName": "p", "KeyType": "HASH"},
                               {"AttributeName": "c", "KeyType": "RANGE"}]
    assert LABEL_RE.match(label)
    assert sd["CreationRequestDateTime"].timestamp() == pytest.approx(
        time.time(), abs=600)

    ddb.put_item(TableName="events", Item=item("during"))
    open_it = iterator(streams, arn, "LATEST")
    d = ddb.update_table(TableName="events", StreamSpecification={
        "StreamEnabled": False})["TableDescription"]
    assert "StreamSpecification" not in d
    assert (d["LatestStreamArn"], d["LatestStreamLabel"]) == (arn, label)
    t = ddb.describe_table(TableName="events")["Table"]
    assert "StreamSpecification" not in t
    assert (t["LatestStreamArn"], t["LatestStreamLabel"]) == (arn, label)
    ddb.put_item(TableName="events", Item=item("post"))

    # still listed and described, now DISABLED with a closed shard
    assert [s["StreamArn"] for s in streams.list_streams()["Streams"]] \
        == [arn]
    sd = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert sd["StreamStatus"] == "DISABLED"
    assert sd["StreamViewType"] == "NEW_IMAGE"
    rng = sd["Shards"][0]["SequenceNumberRange"]
    assert int(rng["EndingSequenceNumber"]) >= int(
        rng["StartingSequenceNumber"])
    # readable to its end, then no NextShardIterator
    recs, pages, it = drain(streams, iterator(streams, arn))
    assert [r["dynamodb"]["Keys"]["p"]["S"] for r in recs] == ["during"]
    assert it is None
    assert int(recs[0]["dynamodb"]["SequenceNumber"]) <= int(
        rng["EndingSequenceNumber"])
    r = streams.get_records(ShardIterator=open_it)
    assert r["Records"] == [] and "NextShardIterator" not in r
    r = streams.get_records(ShardIterator=iterator(streams, arn, "LATEST"))
    assert r["Records"] == [] and "NextShardIterator" not in r

    # enabling again makes a new stream, without the old records
    time.sleep(0.005)
    d = ddb.update_table(TableName="events", StreamSpecification={
        "StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})[
        "TableDescription"]
    arn2 = d["LatestStreamArn"]
    assert arn2 != arn and d["LatestStreamLabel"] > label
    ddb.put_item(TableName="events", Item=item("new"))
    assert [r["dynamodb"]["Keys"]["p"]["S"]
            for r in read_all(streams, arn2)] == ["new"]
    assert [s["StreamArn"] for s in streams.list_streams()["Streams"]] \
        == [arn2]
    assert streams.describe_stream(StreamArn=arn2)["StreamDescription"][
        "StreamStatus"] == "ENABLED"


def test_list_streams_pages(ddb, streams):
    for name in ("s-a", "s-b", "s-c"):
        create(ddb, name=name, view="KEYS_ONLY")
    create(ddb, name="s-nostream", view=None)
    seen, start, pages = [], None, 0
    while True:
        args = {"Limit": 1}
        if start:
            args["ExclusiveStartStreamArn"] = start
        r = streams.list_streams(**args)
        pages += 1
        seen.extend(s["TableName"] for s in r["Streams"])
        start = r.get("LastEvaluatedStreamArn")
        if not start:
            break
    assert seen == ["s-a", "s-b", "s-c"]
    assert pages == 3
    r = streams.list_streams(TableName="s-b")["Streams"]
    assert [s["TableName"] for s in r] == ["s-b"]
    assert streams.list_streams(TableName="s-nostream")["Streams"] == []
    assert len(streams.list_streams(Limit=100)["Streams"]) == 3


# ------------------------------------------------------ restart

@pytest.mark.needs_binary
@pytest.mark.parametrize("how", ["sigterm", "kill-9"])
def test_every_write_once_across_restart(tmp_path, how):
    root = str(tmp_path)
    data = os.path.join(root, "data")
    srv = harness.Server(data, log_dir=root)
    try:
        srv.start()
        ddb = harness.make_client(srv.url)
        st = make_streams(srv.url)
        create(ddb, view="NEW_AND_OLD_IMAGES")
        arn = stream_arn(ddb)
        expected = []
        for i in range(30):
            key = "r%d" % (i % 5)
            ddb.put_item(TableName="events", Item=item(key, v=i))
            expected.append((key, i))
        part, _, it = drain(st, iterator(st, arn), limit=7)
        assert len(part) == 30
        if how == "sigterm":
            assert srv.stop() == 0
        else:
            srv.kill()      # every acknowledged write is in the log

        srv.start()
        ddb = harness.make_client(srv.url)
        st = make_streams(srv.url)
        assert stream_arn(ddb) == arn
        for i in range(30, 40):
            key = "r%d" % (i % 5)
            ddb.put_item(TableName="events", Item=item(key, v=i))
            expected.append((key, i))
        ddb.delete_item(TableName="events", Key=k("r0"))
        # the iterator taken before the restart goes on where it was
        more, _, _ = drain(st, it)
        assert [(r["dynamodb"]["Keys"]["p"]["S"], r["eventName"])
                for r in more][-1] == ("r0", "REMOVE")
        assert len(more) == 11
        # and the whole stream reads once, in order per key
        recs = read_all(st, arn)
        assert len(recs) == 41
        seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in recs]
        assert seqs == sorted(set(seqs))
        got = [(plain(r["dynamodb"]["NewImage"])["p"],
                int(plain(r["dynamodb"]["NewImage"])["v"]))
               for r in recs[:-1]]
        assert got == expected
        prev = {}
        for r in recs[:-1]:
            img = plain(r["dynamodb"]["NewImage"])
            old = r["dynamodb"].get("OldImage")
            assert (plain(old) if old else None) == prev.get(img["p"])
            assert r["eventName"] == ("MODIFY" if img["p"] in prev
                                      else "INSERT")
            prev[img["p"]] = img
        assert plain(recs[-1]["dynamodb"]["OldImage"]) == prev["r0"]
        assert srv.stop() == 0
    finally:
        srv.kill()


# ------------------------------------------------------ errors

def test_streams_errors(ddb, streams, streams_nv):
    create(ddb, view="KEYS_ONLY")
    arn = stream_arn(ddb)
    shard = shard_of(streams, arn)["ShardId"]
    unknown = arn.replace("/events/", "/nothere/")

    def err(fn, **kw):
        with pytest.raises(ClientError) as e:
            fn(**kw)
        return error_of(e)

    assert err(streams.describe_stream, StreamArn=unknown) == (
        "ResourceNotFoundException",
        "Requested resource not found: Stream: %s not found" % unknown)
    other_label = arn[:-3] + ("000" if not arn.endswith("000") else "001")
    assert err(streams.describe_stream, StreamArn=other_label)[0] \
        == "ResourceNotFoundException"
    bad = "sdfadfsdfnlfkajakfgjalksfgklasjklasdjfklasdfasdfgasf"
    assert err(streams.describe_stream, StreamArn=bad) == (
        "ValidationException", "Invalid StreamArn")
    assert err(streams.get_shard_iterator, StreamArn=bad, ShardId=shard,
               ShardIteratorType="LATEST")[0] == "ValidationException"
    assert err(streams.list_streams, ExclusiveStartStreamArn=bad)[0] \
        == "ValidationException"
    assert err(streams.list_streams, TableName="nothere") == (
        "ResourceNotFoundException",
        "Requested resource not found: Table: nothere not found")
    code, msg = err(streams.get_shard_iterator, StreamArn=arn,
                    ShardId="shardId-00000000000000000000-00000000",
                    ShardIteratorType="LATEST")
    assert code == "ResourceNotFoundException"
    for kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
        assert err(streams.get_shard_iterator, StreamArn=arn,
                   ShardId=shard, ShardIteratorType=kind)[0] \
            == "ValidationException"
    for kind in ("TRIM_HORIZON", "LATEST"):
        assert err(streams.get_shard_iterator, StreamArn=arn, ShardId=shard,
                   ShardIteratorType=kind,
                   SequenceNumber="0" * 21)[0] == "ValidationException"
    assert err(streams_nv.get_shard_iterator, StreamArn=arn, ShardId=shard,
               ShardIteratorType="bulle")[0] == "ValidationException"
    assert err(streams.get_shard_iterator, StreamArn=arn, ShardId=shard,
               ShardIteratorType="AT_SEQUENCE_NUMBER",
               SequenceNumber="x" * 21)[0] == "ValidationException"
    assert err(streams.get_shard_iterator, StreamArn=arn, ShardId=shard,
               ShardIteratorType="AT_SEQUENCE_NUMBER",
               SequenceNumber="9" * 21)[0] == "ValidationException"
    assert err(streams.get_records,
               ShardIterator="sdfsdfsgagaddafgagasgasgasdfasdfasdfasdf") \
        == ("ValidationException", "Invalid ShardIterator")
    it = iterator(streams, arn)
    flipped = it[:10] + ("A" if it[10] != "A" else "B") + it[11:]
    assert err(streams.get_records, ShardIterator=flipped)[0] \
        == "ValidationException"
    for limit, text in ((0, "greater than or equal to 1"),
                        (1001, "less than or equal to 1000")):
        code, msg = err(streams_nv.get_records, ShardIterator=it,
                        Limit=limit)
        assert code == "ValidationException"
        assert msg == ("1 validation error detected: Value '%d' at 'limit' "
                       "failed to satisfy constraint: Member must have "
                       "value %s" % (limit, text))
    for limit in (0, 101):
        assert err(streams_nv.list_streams, Limit=limit)[0] \
            == "ValidationException"
        assert err(streams_nv.describe_stream, StreamArn=arn,
                   Limit=limit)[0] == "ValidationException"
    code, msg = err(streams_nv.describe_stream, StreamArn="arn:short")
    assert (code, msg) == (
        "ValidationException",
        "1 validation error detected: Value 'arn:short' at 'streamArn' "
        "failed to satisfy constraint: Member must have length greater "
        "than or equal to 37")
    code, msg = err(streams_nv.get_shard_iterator)
    assert code == "ValidationException"
    assert msg.startswith("3 validation errors detected: ")
    # shards after the last one: none
    assert streams.describe_stream(
        StreamArn=arn, ExclusiveStartShardId=shard)["StreamDescription"][
        "Shards"] == []

    # a deleted table's stream, and a recreated table's old iterators
    ddb.delete_table(TableName="events")
    assert err(streams.get_records, ShardIterator=it)[0] \
        == "ResourceNotFoundException"
    assert err(streams.describe_stream, StreamArn=arn)[0] \
        == "ResourceNotFoundException"
    create(ddb, view="KEYS_ONLY")
    assert err(streams.get_records, ShardIterator=it)[0] \
        == "ResourceNotFoundException"


STREAMS_MODEL = botocore.session.get_session().get_service_model(
    "dynamodbstreams")


def wrong_values(shape):
    t = shape.type_name
    out = [None, [], {}, True, 1.5, "x" * 3000, "\u00e9\u0000z"]
    if t in ("integer", "long"):
        out += ["12", -5, 0, 2**63, 10**30, "abc"]
    return [v for v in out if not (t == "string" and isinstance(v, str))]


def bad_bodies():
    for name in STREAMS_MODEL.operation_names:
        shape = STREAMS_MODEL.operation_model(name).input_shape
        members = shape.members if shape else {}
        yield name, []
        yield name, "null"
        yield name, {}
        for m, ms in members.items():
            for v in wrong_values(ms):
                yield name, {m: v}
            if ms.type_name == "string":
                for s in ("", "arn:aws:dynamodb:us-east-1:000000000000:"
                              "table/x/stream/2026-01-01T00:00:00.000",
                          "arn:aws:dynamodb:us-east-1:000000000000:table/"
                          "events/stream/2099-13-45T99:99:99.999",
                          "A" * 2048, "====", "\u2603" * 40):
                    yield name, {m: s}


def test_bad_streams_requests_never_500(ddb, streams, server):
    create(ddb, view="NEW_IMAGE")
    ddb.put_item(TableName="events", Item=item("a"))
    arn = stream_arn(ddb)
    it = iterator(streams, arn)
    raw = base64.b64decode(it)
    tampered = [base64.b64encode(raw[:n]).decode() for n in (0, 1, 10, 30)]
    tampered += [base64.b64encode(raw[:-1] + bytes([raw[-1] ^ 1])).decode(),
                 base64.b64encode(b"\x02" + raw[1:]).decode(),
                 it + "=", it[:-4], it.lower()]
    cases = list(bad_bodies())
    cases += [("GetRecords", {"ShardIterator": t}) for t in tampered]
    cases += [("GetRecords", {"ShardIterator": it, "Limit": v})
              for v in (0, -1, 1001, 2**40)]
    cases += [("GetShardIterator", {"StreamArn": arn, "ShardId": s,
                                    "ShardIteratorType": ty,
                                    "SequenceNumber": q})
              for s in ("x" * 28, "shardId-" + "0" * 29)
              for ty in ("AT_SEQUENCE_NUMBER", "LATEST", "")
              for q in ("0" * 21, "1" * 40, "-" * 21)]
    cases += [("Nonsense", {}), ("", {})]
    with harness.RawClient(server.port) as c:
        for op, body in cases:
            r = c.request(STREAMS_TARGET + op, body)
            if r.status == 200 and op == "ListStreams":
                continue    # {} and a few others are valid ListStreams
            assert r.status in (400, 413), (op, body, r)
            assert r.error_type, (op, body, r)
    # still up and unchanged
    assert streams.get_records(ShardIterator=it)["Records"][0][
        "dynamodb"]["Keys"] == k("a")
