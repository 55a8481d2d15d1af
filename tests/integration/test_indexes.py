"""Local and global secondary indexes, with boto3.

What a user relies on: indexes declared at CreateTable or added later with
UpdateTable (a backfill, CREATING with Backfilling, then ACTIVE), queries
and scans on them with pagination, projections (KEYS_ONLY, INCLUDE, ALL),
sparse indexes, entries that follow every write (put, update, delete,
batch, transaction), ItemCount/IndexSizeBytes, and DynamoDB's errors.
"""
import threading
import time

import pytest

import harness

ATTRS = [{"AttributeName": "userId", "AttributeType": "S"},
         {"AttributeName": "noteId", "AttributeType": "S"},
         {"AttributeName": "tag", "AttributeType": "S"},
         {"AttributeName": "created", "AttributeType": "N"}]
KEYS = [{"AttributeName": "userId", "KeyType": "HASH"},
        {"AttributeName": "noteId", "KeyType": "RANGE"}]
LSI = {"IndexName": "byCreated",
       "KeySchema": [{"AttributeName": "userId", "KeyType": "HASH"},
                     {"AttributeName": "created", "KeyType": "RANGE"}],
       "Projection": {"ProjectionType": "KEYS_ONLY"}}
GSI = {"IndexName": "byTag",
       "KeySchema": [{"AttributeName": "tag", "KeyType": "HASH"},
                     {"AttributeName": "created", "KeyType": "RANGE"}],
       "Projection": {"ProjectionType": "INCLUDE",
                      "NonKeyAttributes": ["title"]}}


def make_notes(ddb, **extra):
    args = dict(TableName="notes", KeySchema=KEYS, AttributeDefinitions=ATTRS,
                LocalSecondaryIndexes=[LSI], GlobalSecondaryIndexes=[GSI],
                BillingMode="PAY_PER_REQUEST")
    args.update(extra)
    ddb.create_table(**args)


def note(i):
    item = {"userId": {"S": "u%d" % (i % 3)}, "noteId": {"S": "n%02d" % i},
            "created": {"N": str(1000 + i)}, "title": {"S": "t%d" % i},
            "body": {"S": "body %d" % i}}
    if i % 2 == 0:  # a sparse index: odd notes have no tag
        item["tag"] = {"S": "work" if i % 4 == 0 else "home"}
    return item


def query_all(ddb, **kw):
    items, start, pages = [], None, 0
    while True:
        if start:
            kw["ExclusiveStartKey"] = start
        r = ddb.query(**kw)
        items += r["Items"]
        pages += 1
        start = r.get("LastEvaluatedKey")
        if not start:
            return items, pages


def scan_all(ddb, **kw):
    items, start = [], None
    while True:
        if start:
            kw["ExclusiveStartKey"] = start
        r = ddb.scan(**kw)
        items += r["Items"]
        start = r.get("LastEvaluatedKey")
        if not start:
            return items


def test_describe_shows_indexes(ddb):
    make_notes(ddb)
    t = ddb.describe_table(TableName="notes")["Table"]
    [g] = t["GlobalSecondaryIndexes"]
    assert g["IndexName"] == "byTag"
    assert g["IndexStatus"] == "ACTIVE"
    assert g["Projection"] == {"ProjectionType": "INCLUDE",
                               "NonKeyAttributes": ["title"]}
    assert g["IndexArn"] == harness.arn("notes") + "/index/byTag"
    assert g["KeySchema"] == GSI["KeySchema"]
    [l] = t["LocalSecondaryIndexes"]
    assert l["IndexName"] == "byCreated"
    assert l["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    assert l["ItemCount"] == 0 and l["IndexSizeBytes"] == 0


def test_gsi_query_projection_and_sparse(ddb):
    make_notes(ddb)
    for i in range(30):
        ddb.put_item(TableName="notes", Item=note(i))
    items, _ = query_all(
        ddb, TableName="notes", IndexName="byTag",
        KeyConditionExpression="tag = :t AND created > :c",
        ExpressionAttributeValues={":t": {"S": "work"}, ":c": {"N": "1005"}})
    assert [i["noteId"]["S"] for i in items] == ["n08", "n12", "n16", "n20",
                                                 "n24", "n28"]
    # INCLUDE: table keys, index keys and title; never body
    assert set(items[0]) == {"userId", "noteId", "tag", "created", "title"}
    t = ddb.describe_table(TableName="notes")["Table"]
    assert t["GlobalSecondaryIndexes"][0]["ItemCount"] == 15  # even notes
    assert t["GlobalSecondaryIndexes"][0]["IndexSizeBytes"] > 0
    assert t["LocalSecondaryIndexes"][0]["ItemCount"] == 30


def test_lsi_query_reverse_paginated_and_fetch(ddb):
    make_notes(ddb)
    for i in range(30):
        ddb.put_item(TableName="notes", Item=note(i))
    items, pages = query_all(
        ddb, TableName="notes", IndexName="byCreated",
        KeyConditionExpression="userId = :u AND created BETWEEN :a AND :b",
        ExpressionAttributeValues={":u": {"S": "u1"}, ":a": {"N": "1004"},
                                   ":b": {"N": "1025"}},
        ScanIndexForward=False, Limit=3)
    assert [i["created"]["N"] for i in items] == [
        "1025", "1022", "1019", "1016", "1013", "1010", "1007", "1004"]
    assert pages >= 3
    assert set(items[0]) == {"userId", "noteId", "created"}  # KEYS_ONLY
    # an LSI can fetch the rest of the item from the table
    r = ddb.query(TableName="notes", IndexName="byCreated",
                  KeyConditionExpression="userId = :u",
                  ExpressionAttributeValues={":u": {"S": "u1"}},
                  Select="ALL_ATTRIBUTES", Limit=1)
    assert r["Items"][0]["body"] == {"S": "body 1"}


def test_entries_follow_every_write(ddb):
    make_notes(ddb)
    for i in range(8):
        ddb.put_item(TableName="notes", Item=note(i))
    k0 = {"userId": {"S": "u0"}, "noteId": {"S": "n00"}}
    ddb.update_item(TableName="notes", Key=k0,
                    UpdateExpression="SET tag = :h, title = :x",
                    ExpressionAttributeValues={":h": {"S": "home"},
                                               ":x": {"S": "moved"}})
    ddb.delete_item(TableName="notes",
                    Key={"userId": {"S": "u1"}, "noteId": {"S": "n04"}})
    ddb.update_item(TableName="notes",
                    Key={"userId": {"S": "u2"}, "noteId": {"S": "n02"}},
                    UpdateExpression="REMOVE tag")
    ddb.batch_write_item(RequestItems={"notes": [
        {"PutRequest": {"Item": dict(note(40), tag={"S": "work"})}}]})
    ddb.transact_write_items(TransactItems=[{"Put": {
        "TableName": "notes", "Item": dict(note(41), tag={"S": "work"})}}])
    by_tag = {}
    for it in scan_all(ddb, TableName="notes", IndexName="byTag"):
        by_tag.setdefault(it["tag"]["S"], set()).add(it["noteId"]["S"])
    assert by_tag == {"home": {"n00", "n06"}, "work": {"n40", "n41"}}
    r = ddb.query(TableName="notes", IndexName="byTag",
                  KeyConditionExpression="tag = :h",
                  ExpressionAttributeValues={":h": {"S": "home"}})
    assert {i["noteId"]["S"]: i["title"]["S"] for i in r["Items"]} == {
        "n00": "moved", "n06": "t6"}


def test_index_key_type_checked(ddb_nv):
    make_notes(ddb_nv)
    with pytest.raises(ddb_nv.exceptions.ClientError) as ei:
        ddb_nv.put_item(TableName="notes", Item=dict(note(1),
                                                     tag={"N": "5"}))
    e = ei.value.response["Error"]
    assert e["Code"] == "ValidationException"
    assert ("Type mismatch for Index Key tag Expected: S Actual: N "
            "IndexName: byTag") in e["Message"]
    with pytest.raises(ddb_nv.exceptions.ClientError) as ei:
        ddb_nv.put_item(TableName="notes", Item=dict(note(1),
                                                     tag={"S": ""}))
    assert "empty string value. IndexName: byTag" in \
        ei.value.response["Error"]["Message"]
    assert ddb_nv.describe_table(TableName="notes")["Table"]["ItemCount"] == 0


@pytest.mark.parametrize("change,text", [
    (dict(LocalSecondaryIndexes=[dict(LSI, KeySchema=[
        {"AttributeName": "tag", "KeyType": "HASH"},
        {"AttributeName": "created", "KeyType": "RANGE"}])]),
     "Index KeySchema does not have the same leading hash key"),
    (dict(GlobalSecondaryIndexes=[GSI, GSI]), "Duplicate index name: byTag"),
    (dict(GlobalSecondaryIndexes=[dict(GSI, KeySchema=[
        {"AttributeName": "nope", "KeyType": "HASH"}])]),
     "Some index key attributes are not defined in AttributeDefinitions"),
    (dict(GlobalSecondaryIndexes=[dict(GSI, Projection={
        "ProjectionType": "INCLUDE"})]),
     "ProjectionType is INCLUDE, but NonKeyAttributes is not specified"),
    (dict(GlobalSecondaryIndexes=[dict(GSI, ProvisionedThroughput={
        "ReadCapacityUnits": 1, "WriteCapacityUnits": 1})]),
     "ProvisionedThroughput should not be specified for index: byTag"),
    (dict(AttributeDefinitions=ATTRS + [
        {"AttributeName": "extra", "AttributeType": "S"}]),
     "Number of attributes in KeySchema does not exactly match"),
])
def test_create_index_errors(ddb_nv, change, text):
    with pytest.raises(ddb_nv.exceptions.ClientError) as ei:
        make_notes(ddb_nv, **change)
    e = ei.value.response["Error"]
    assert e["Code"] == "ValidationException"
    assert text in e["Message"]
    assert ddb_nv.list_tables()["TableNames"] == []


def test_query_errors(ddb_nv):
    make_notes(ddb_nv)
    cases = [
        (dict(IndexName="nope", KeyConditionExpression="tag = :t"),
         "The table does not have the specified index: nope"),
        (dict(IndexName="byTag", KeyConditionExpression="tag = :t",
              ConsistentRead=True),
         "Consistent reads are not supported on global secondary indexes"),
        (dict(IndexName="byTag", KeyConditionExpression="tag = :t",
              Select="ALL_ATTRIBUTES"),
         "Select type ALL_ATTRIBUTES is not supported for global secondary "
         "index byTag"),
        (dict(IndexName="byTag", KeyConditionExpression="userId = :t"),
         "Query condition missed key schema element"),
    ]
    for kw, text in cases:
        with pytest.raises(ddb_nv.exceptions.ClientError) as ei:
            ddb_nv.query(TableName="notes", ExpressionAttributeValues={
                ":t": {"S": "x"}}, **kw)
        e = ei.value.response["Error"]
        assert e["Code"] == "ValidationException", kw
        assert text in e["Message"], (kw, e["Message"])


def test_gsi_backfill_while_writers_write(ddb, server):
    """UpdateTable adds a GSI to a table with items while writers keep
    writing; the finished index holds exactly the items that qualify."""
    ddb.create_table(TableName="notes", KeySchema=KEYS,
                     AttributeDefinitions=ATTRS[:2],
                     BillingMode="PAY_PER_REQUEST")
    for start in range(0, 3000, 25):
        ddb.batch_write_item(RequestItems={"notes": [{"PutRequest": {"Item": {
            "userId": {"S": "w%d" % (i % 50)}, "noteId": {"S": "x%05d" % i},
            "created": {"N": str(i)},
            **({"cat": {"S": "c%d" % (i % 7)}} if i % 10 else {})}}}
            for i in range(start, start + 25)]})
    stop = threading.Event()
    errors = []

    def writer(wid):
        c = harness.make_client(server.url)
        n = 0
        try:
            while not stop.is_set():
                n += 1
                key = {"userId": {"S": "live%d" % wid},
                       "noteId": {"S": "l%d" % (n % 300)}}
                if n % 5 == 0:
                    c.delete_item(TableName="notes", Key=key)
                elif n % 3 == 0:
                    c.update_item(TableName="notes", Key=key,
                                  UpdateExpression="REMOVE cat")
                else:
                    c.put_item(TableName="notes", Item=dict(
                        key, created={"N": str(n)},
                        cat={"S": "c%d" % (n % 7)}))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.2)
        out = ddb.update_table(
            TableName="notes",
            AttributeDefinitions=[
                {"AttributeName": "cat", "AttributeType": "S"},
                {"AttributeName": "created", "AttributeType": "N"}],
            GlobalSecondaryIndexUpdates=[{"Create": {
                "IndexName": "byCat",
                "KeySchema": [{"AttributeName": "cat", "KeyType": "HASH"},
                              {"AttributeName": "created",
                               "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"}}}])
        [g] = out["TableDescription"]["GlobalSecondaryIndexes"]
        assert g["IndexStatus"] == "CREATING" and g["Backfilling"] is True
        deadline = time.monotonic() + 30
        while True:
            g = ddb.describe_table(
                TableName="notes")["Table"]["GlobalSecondaryIndexes"][0]
            if g["IndexStatus"] == "ACTIVE":
                break
            assert time.monotonic() < deadline, "backfill did not finish"
            time.sleep(0.05)
        time.sleep(0.3)  # writes after ACTIVE go on being indexed
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors
    table = {(i["userId"]["S"], i["noteId"]["S"]): i
             for i in scan_all(ddb, TableName="notes")}
    want = {k: i for k, i in table.items() if "cat" in i}
    got = {(i["userId"]["S"], i["noteId"]["S"]): i
           for i in scan_all(ddb, TableName="notes", IndexName="byCat")}
    assert got == want  # exactly the qualifying items, current values
    g = ddb.describe_table(TableName="notes")["Table"][
        "GlobalSecondaryIndexes"][0]
    assert g["ItemCount"] == len(want)
    # and it answers queries
    r, _ = query_all(ddb, TableName="notes", IndexName="byCat",
                     KeyConditionExpression="cat = :c",
                     ExpressionAttributeValues={":c": {"S": "c3"}})
    assert len(r) == sum(1 for i in want.values() if i["cat"]["S"] == "c3")


def test_delete_gsi_and_restart(ddb, server):
    make_notes(ddb)
    for i in range(10):
        ddb.put_item(TableName="notes", Item=note(i))
    ddb.update_table(TableName="notes", GlobalSecondaryIndexUpdates=[
        {"Delete": {"IndexName": "byTag"}}])
    t = ddb.describe_table(TableName="notes")["Table"]
    assert "GlobalSecondaryIndexes" not in t
    with pytest.raises(ddb.exceptions.ClientError):
        ddb.query(TableName="notes", IndexName="byTag",
                  KeyConditionExpression="tag = :t",
                  ExpressionAttributeValues={":t": {"S": "work"}})
    assert t["LocalSecondaryIndexes"][0]["ItemCount"] == 10
