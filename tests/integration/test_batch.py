"""BatchWriteItem and BatchGetItem, with boto3 and the AWS CLI.

What a user relies on: up to 25 writes and 100 reads per call across
tables, every item validated as PutItem/DeleteItem validate it, duplicate
keys refused, nothing written when any part of the request is invalid,
UnprocessedItems/UnprocessedKeys present (and empty: Tidemark never
throttles), projections per table.
"""
import json

import pytest

import harness


def key(u, n):
    return {"userId": {"S": u}, "noteId": {"S": n}}


def put(u, n, **attrs):
    item = key(u, n)
    item.update(attrs)
    return {"PutRequest": {"Item": item}}


def error_of(excinfo):
    e = excinfo.value.response["Error"]
    return e["Code"], e["Message"]


def test_batch_write_then_get_across_tables(ddb, notes):
    harness.create_notes(ddb, name="archive")
    writes = [put("u1", "n%02d" % i, title={"S": "t%d" % i}) for i in range(20)]
    out = ddb.batch_write_item(RequestItems={
        "notes": writes,
        "archive": [put("u9", "old", title={"S": "kept"})],
    }, ReturnConsumedCapacity="TOTAL")
    assert out["UnprocessedItems"] == {}
    used = {c["TableName"]: c["CapacityUnits"] for c in out["ConsumedCapacity"]}
    assert used == {"notes": 20, "archive": 1}
    assert ddb.describe_table(TableName="notes")["Table"]["ItemCount"] == 20

    got = ddb.batch_get_item(RequestItems={
        "notes": {"Keys": [key("u1", "n%02d" % i) for i in (0, 5, 19)]
                  + [key("u1", "missing")],
                  "ProjectionExpression": "noteId, #t",
                  "ExpressionAttributeNames": {"#t": "title"}},
        "archive": {"Keys": [key("u9", "old")], "ConsistentRead": True},
    })
    assert got["UnprocessedKeys"] == {}
    notes_items = sorted(got["Responses"]["notes"],
                         key=lambda i: i["noteId"]["S"])
    assert notes_items == [
        {"noteId": {"S": "n00"}, "title": {"S": "t0"}},
        {"noteId": {"S": "n05"}, "title": {"S": "t5"}},
        {"noteId": {"S": "n19"}, "title": {"S": "t19"}},
    ]
    assert got["Responses"]["archive"] == [
        {"userId": {"S": "u9"}, "noteId": {"S": "old"}, "title": {"S": "kept"}}]


def test_batch_write_deletes_and_overwrites(ddb, notes):
    ddb.batch_write_item(RequestItems={"notes": [put("u", "a"), put("u", "b")]})
    ddb.batch_write_item(RequestItems={"notes": [
        {"DeleteRequest": {"Key": key("u", "a")}},
        put("u", "b", v={"N": "2"}),
        {"DeleteRequest": {"Key": key("u", "never-existed")}},
    ]})
    assert "Item" not in ddb.get_item(TableName="notes", Key=key("u", "a"))
    assert ddb.get_item(TableName="notes", Key=key("u", "b"))["Item"]["v"] == {
        "N": "2"}
    assert ddb.describe_table(TableName="notes")["Table"]["ItemCount"] == 1


def test_resource_batch_writer(dynamodb):
    harness.create_notes(dynamodb.meta.client)
    table = dynamodb.Table("notes")
    with table.batch_writer() as bw:
        for i in range(60):  # the writer splits into calls of 25
            bw.put_item(Item={"userId": "u", "noteId": "%03d" % i, "i": i})
    assert table.get_item(Key={"userId": "u", "noteId": "059"})["Item"]["i"] == 59
    assert dynamodb.meta.client.describe_table(
        TableName="notes")["Table"]["ItemCount"] == 60


def test_batch_cli(aws, ddb, notes):
    req = {"notes": [put("cli", "1", x={"S": "y"}), put("cli", "2")]}
    out = aws("batch-write-item", "--request-items", json.dumps(req))
    assert out["UnprocessedItems"] == {}
    out = aws("batch-get-item", "--request-items", json.dumps(
        {"notes": {"Keys": [key("cli", "1"), key("cli", "2")]}}))
    assert len(out["Responses"]["notes"]) == 2


@pytest.mark.parametrize("items,code,text", [
    ({"notes": [put("u", "a"), put("u", "a")]}, "ValidationException",
     "Provided list of item keys contains duplicates"),
    ({"notes": [put("u", "a"), {"DeleteRequest": {"Key": key("u", "a")}}]},
     "ValidationException", "Provided list of item keys contains duplicates"),
    ({"notes": [put("u", str(i)) for i in range(26)]}, "ValidationException",
     "Member must have length less than or equal to 25"),
    ({"notes": [put("u", str(i)) for i in range(13)],
      "other": [put("u", str(i)) for i in range(13)]}, None, None),
    ({"nope": [put("u", "a")]}, "ResourceNotFoundException",
     "Requested resource not found"),
    ({"notes": [put("u", "ok"), {"PutRequest": {"Item": {"userId": {"S": "u"}}}}]},
     "ValidationException", "Missing the key noteId in the item"),
    ({"notes": [put("u", "ok"), {"PutRequest": {"Item": dict(
        key("u", "x"), n={"N": "abc"})}}]},
     "ValidationException", "A value provided cannot be converted into a number"),
    ({"notes": [{"DeleteRequest": {"Key": {"userId": {"S": "u"}}}}]},
     "ValidationException", "The provided key element does not match the schema"),
    ({"notes": [{}]}, "ValidationException",
     "exactly one of PutRequest or DeleteRequest"),
])
def test_batch_write_invalid_changes_nothing(ddb_nv, notes, items, code, text):
    if code is None:  # 26 writes over two tables: the total limit
        harness.create_notes(ddb_nv, name="other")
        code, text = ("ValidationException",
                      "Too many items requested for the BatchWriteItem call")
    with pytest.raises(ddb_nv.exceptions.ClientError) as ei:
        ddb_nv.batch_write_item(RequestItems=items)
    got_code, msg = error_of(ei)
    assert got_code == code
    assert text in msg
    # nothing of the request was written, not even its valid parts
    assert ddb_nv.describe_table(TableName="notes")["Table"]["ItemCount"] == 0
    assert "Item" not in ddb_nv.get_item(TableName="notes", Key=key("u", "ok"))


def test_batch_get_limits(ddb_nv, notes):
    with pytest.raises(ddb_nv.exceptions.ClientError) as ei:
        ddb_nv.batch_get_item(RequestItems={"notes": {
            "Keys": [key("u", str(i)) for i in range(101)]}})
    assert error_of(ei) == ("ValidationException", "Too many items requested "
                            "for the BatchGetItem call")
    with pytest.raises(ddb_nv.exceptions.ClientError) as ei:
        ddb_nv.batch_get_item(RequestItems={"notes": {
            "Keys": [key("u", "a"), key("u", "a")]}})
    assert error_of(ei) == ("ValidationException",
                            "Provided list of item keys contains duplicates")
    with pytest.raises(ddb_nv.exceptions.ClientError) as ei:
        ddb_nv.batch_get_item(RequestItems={"notes": {"Keys": []}})
    code, msg = error_of(ei)
    assert code == "ValidationException"
    assert "Member must have length greater than or equal to 1" in msg
    with pytest.raises(ddb_nv.exceptions.ClientError) as ei:
        ddb_nv.batch_get_item(RequestItems={"nope": {"Keys": [key("u", "a")]}})
    assert error_of(ei)[0] == "ResourceNotFoundException"


def test_batch_get_100_keys(ddb, notes):
    for start in range(0, 100, 25):
        ddb.batch_write_item(RequestItems={"notes": [
            put("u", "%03d" % i) for i in range(start, start + 25)]})
    got = ddb.batch_get_item(RequestItems={"notes": {
        "Keys": [key("u", "%03d" % i) for i in range(100)]}})
    assert len(got["Responses"]["notes"]) == 100
    assert got["UnprocessedKeys"] == {}
