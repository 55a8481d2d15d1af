"""PutItem, GetItem, DeleteItem on the notes table with the boto3 client,
the boto3 resource and the AWS CLI: every attribute type round-trips,
numbers are canonical, ReturnValues, ProjectionExpression, and the
validation errors DynamoDB gives."""

import base64
import decimal
import json

import pytest
from boto3.dynamodb.types import Binary
from botocore.exceptions import ClientError

from harness import error_of

KEY = {"userId": {"S": "u1"}, "noteId": {"S": "n1"}}
TINY = "0." + "0" * 129 + "1"                 # 1E-130, smallest magnitude
HUGE = "9.9999999999999999999999999999999999999E+125"   # largest


def key(u="u1", n="n1"):
    return {"userId": {"S": u}, "noteId": {"S": n}}


def get(ddb, k=None, **kw):
    return ddb.get_item(TableName="notes", Key=k or KEY, **kw).get("Item")


def normalize(av):
    """Sets are unordered: compare them sorted."""
    if isinstance(av, dict):
        if len(av) == 1:
            (t, v), = av.items()
            if t in ("SS", "NS"):
                return {t: sorted(v)}
            if t == "BS":
                return {t: sorted(bytes(b) for b in v)}
        return {k: normalize(v) for k, v in av.items()}
    if isinstance(av, list):
        return [normalize(v) for v in av]
    return av


def put_error(ddb, item, **kw):
    with pytest.raises(ClientError) as e:
        ddb.put_item(TableName="notes", Item=item, **kw)
    return error_of(e)


# ------------------------------------------------------------- round trips

ALL_TYPES = {
    "userId": {"S": "u1"},
    "noteId": {"S": "n1"},
    "title": {"S": "Grüße, 世界 \U0001F600 \"quoted\" \\ back\nslash"},
    "empty": {"S": ""},
    "nul": {"S": "a\u0000b"},
    "count": {"N": "42"},
    "big": {"N": "12345678901234567890123456789012345678"},
    "negbig": {"N": "-99999999999999999999999999999999999999"},
    "frac": {"N": "0.12345678901234567890123456789012345678"},
    "tiny": {"N": "-" + TINY},
    "blob": {"B": bytes(range(256))},
    "emptyBlob": {"B": b""},
    "tags": {"SS": ["red", "green", "blue", "Grüne"]},
    "scores": {"NS": ["1", "-2.5", "12345678901234567890123456789012345678",
                      TINY]},
    "blobs": {"BS": [b"\x00", b"\xff\xfe", b"abc"]},
    "meta": {"M": {
        "a": {"S": "x"},
        "empty": {"S": ""},
        "list": {"L": [{"N": "1"}, {"S": "two"}, {"NULL": True},
                       {"BOOL": False}, {"M": {}}, {"L": []},
                       {"B": b"\x01\x02"}, {"SS": ["s"]}]},
        "deep": {"M": {"deeper": {"M": {"deepest": {"L": [
            {"M": {"leaf": {"N": "-7"}}}]}}}}},
        "dotted.name": {"BOOL": True},
    }},
    "items": {"L": [{"S": "first"}, {"L": [{"N": "2"}, {"L": []}]},
                    {"NS": ["3", "4"]}, {"BS": [b"z"]}]},
    "emptyMap": {"M": {}},
    "emptyList": {"L": []},
    "nothing": {"NULL": True},
    "yes": {"BOOL": True},
    "no": {"BOOL": False},
    "attr with spaces & ünïcode": {"S": "v"},
}


def test_all_ten_types_round_trip_client(ddb, notes):
    assert ddb.put_item(TableName="notes", Item=ALL_TYPES).get(
        "Attributes") is None
    got = get(ddb)
    assert normalize(got) == normalize(ALL_TYPES)
    # Exact bytes for binaries, exact digits for the 38-digit numbers.
    assert got["blob"]["B"] == bytes(range(256))
    assert got["big"]["N"] == "12345678901234567890123456789012345678"
    assert got["tiny"]["N"] == "-" + TINY
    assert got["nul"]["S"] == "a\u0000b"
    assert got["empty"]["S"] == ""


def test_consistent_read_accepted(ddb, notes):
    ddb.put_item(TableName="notes", Item={**KEY, "v": {"S": "x"}})
    for consistent in (True, False):
        assert get(ddb, ConsistentRead=consistent) == {**KEY,
                                                       "v": {"S": "x"}}


@pytest.mark.parametrize("given,canonical", [
    ("1.50", "1.5"),
    ("007", "7"),
    ("-0.50", "-0.5"),
    ("100", "100"),
    ("10.0", "10"),
    ("0.000", "0"),
    ("-0", "0"),
    ("1E2", "100"),
    ("1.5e1", "15"),
    ("+3", "3"),
    (".125", "0.125"),
    ("0001.2300", "1.23"),
    ("-17e-5", "-0.00017"),
    ("1e-130", TINY),
    ("-1E-130", "-" + TINY),
    ("1E125", "1" + "0" * 125),
    (HUGE, "9" * 38 + "0" * 88),
    ("12345678901234567890123456789012345678",
     "12345678901234567890123456789012345678"),
    ("0.12345678901234567890123456789012345678000",
     "0.12345678901234567890123456789012345678"),
    ("1234567890123456789012345678901234567800000",
     "1234567890123456789012345678901234567800000"),
], ids=lambda v: v[:24])
def test_numbers_come_back_canonical(ddb, notes, given, canonical):
    ddb.put_item(TableName="notes", Item={**KEY, "n": {"N": given},
                                          "ns": {"NS": [given, "5"]}})
    got = get(ddb)
    assert got["n"]["N"] == canonical
    assert sorted(got["ns"]["NS"]) == sorted([canonical, "5"])
    assert decimal.Decimal(got["n"]["N"]) == decimal.Decimal(given)


def test_round_trip_resource_table(dynamodb):
    table = dynamodb.create_table(
        TableName="notes", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "userId", "KeyType": "HASH"},
                   {"AttributeName": "noteId", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "userId", "AttributeType": "S"},
            {"AttributeName": "noteId", "AttributeType": "S"}])
    table.wait_until_exists()
    item = {
        "userId": "u1", "noteId": "n1",
        "title": "hello", "empty": "",
        "price": decimal.Decimal("19.99"),
        "big": decimal.Decimal("12345678901234567890123456789012345678"),
        "blob": Binary(b"\x00\x01\xfe\xff"),
        "tags": {"a", "b"},
        "nums": {decimal.Decimal(1), decimal.Decimal("2.5")},
        "blobs": {Binary(b"x"), Binary(b"y")},
        "meta": {"nested": {"list": [1, "two", None, True,
                                     {"k": decimal.Decimal("-3")}]}},
        "none": None, "flag": False,
    }
    table.put_item(Item=item)
    got = table.get_item(Key={"userId": "u1", "noteId": "n1"},
                         ConsistentRead=True)["Item"]
    assert got == item

    old = table.put_item(Item={"userId": "u1", "noteId": "n1", "v": 2},
                         ReturnValues="ALL_OLD")["Attributes"]
    assert old == item
    old = table.delete_item(Key={"userId": "u1", "noteId": "n1"},
                            ReturnValues="ALL_OLD")["Attributes"]
    assert old == {"userId": "u1", "noteId": "n1", "v": 2}
    assert "Item" not in table.get_item(Key={"userId": "u1",
                                             "noteId": "n1"})


def test_round_trip_cli(aws, notes):
    item = {
        "userId": {"S": "cli-user"}, "noteId": {"S": "cli-note"},
        "body": {"S": "from the CLI ✓"},
        "n": {"N": "1.50"},
        "blob": {"B": base64.b64encode(b"\x00\x01\xff").decode()},
        "tags": {"SS": ["x", "y"]},
        "m": {"M": {"l": {"L": [{"BOOL": True}, {"NULL": True}]}}},
    }
    key_json = json.dumps({"userId": item["userId"],
                           "noteId": item["noteId"]})
    assert aws("put-item", "--table-name", "notes",
               "--item", json.dumps(item)) == {}
    got = aws("get-item", "--table-name", "notes", "--key", key_json,
              "--consistent-read")["Item"]
    expected = dict(item, n={"N": "1.5"})
    assert normalize(got) == normalize(expected)

    out = aws("put-item", "--table-name", "notes", "--item", json.dumps(
        {"userId": item["userId"], "noteId": item["noteId"],
         "body": {"S": "second"}}), "--return-values", "ALL_OLD")
    assert normalize(out["Attributes"]) == normalize(expected)

    got = aws("get-item", "--table-name", "notes", "--key", key_json,
              "--projection-expression", "#b",
              "--expression-attribute-names", '{"#b": "body"}')
    assert got == {"Item": {"body": {"S": "second"}}}

    out = aws("delete-item", "--table-name", "notes", "--key", key_json,
              "--return-values", "ALL_OLD")
    assert out["Attributes"]["body"] == {"S": "second"}
    assert aws("get-item", "--table-name", "notes", "--key", key_json) == {}

    err = aws.error("put-item", "--table-name", "notes", "--item",
                    json.dumps({"userId": {"S": "u"}}))
    assert "ValidationException" in err.stderr
    assert "Missing the key noteId in the item" in err.stderr


# ---------------------------------------------------------- put/get/delete

def test_put_overwrites_whole_item(ddb, notes):
    ddb.put_item(TableName="notes", Item={**KEY, "a": {"S": "1"},
                                          "b": {"S": "2"}})
    ddb.put_item(TableName="notes", Item={**KEY, "c": {"S": "3"}})
    assert get(ddb) == {**KEY, "c": {"S": "3"}}


def test_items_are_keyed_by_both_key_parts(ddb, notes):
    for u in ("u1", "u2"):
        for n in ("n1", "n2"):
            ddb.put_item(TableName="notes",
                         Item={**key(u, n), "v": {"S": u + n}})
    for u in ("u1", "u2"):
        for n in ("n1", "n2"):
            assert get(ddb, key(u, n))["v"] == {"S": u + n}
    # Key values are case- and byte-exact.
    assert get(ddb, key("U1", "n1")) is None
    assert get(ddb, key("u1 ", "n1")) is None


def test_put_return_values(ddb, notes):
    r = ddb.put_item(TableName="notes", Item={**KEY, "v": {"N": "1"}},
                     ReturnValues="ALL_OLD")
    assert "Attributes" not in r
    r = ddb.put_item(TableName="notes", Item={**KEY, "v": {"N": "2"}},
                     ReturnValues="ALL_OLD")
    assert r["Attributes"] == {**KEY, "v": {"N": "1"}}
    r = ddb.put_item(TableName="notes", Item={**KEY, "v": {"N": "3"}},
                     ReturnValues="NONE")
    assert "Attributes" not in r
    r = ddb.put_item(TableName="notes", Item={**KEY, "v": {"N": "4"}})
    assert "Attributes" not in r
    assert get(ddb) == {**KEY, "v": {"N": "4"}}


def test_put_return_values_all_new_is_invalid(ddb, notes):
    ddb.put_item(TableName="notes", Item={**KEY, "v": {"N": "1"}})
    for rv in ("ALL_NEW", "UPDATED_OLD", "UPDATED_NEW"):
        code, msg = put_error(ddb, {**KEY, "v": {"N": "2"}}, ReturnValues=rv)
        assert code == "ValidationException"
        assert "ReturnValues can only be ALL_OLD or NONE" in msg
    assert get(ddb) == {**KEY, "v": {"N": "1"}}


def test_delete_item(ddb, notes):
    ddb.put_item(TableName="notes", Item={**KEY, "v": {"S": "x"}})
    ddb.put_item(TableName="notes", Item={**key("u1", "n2"),
                                          "v": {"S": "y"}})
    r = ddb.delete_item(TableName="notes", Key=KEY, ReturnValues="ALL_OLD")
    assert r["Attributes"] == {**KEY, "v": {"S": "x"}}
    assert get(ddb) is None
    # The neighbour with the same partition key is still there.
    assert get(ddb, key("u1", "n2")) == {**key("u1", "n2"), "v": {"S": "y"}}
    # Deleting what is not there succeeds and returns nothing.
    r = ddb.delete_item(TableName="notes", Key=KEY, ReturnValues="ALL_OLD")
    assert "Attributes" not in r
    r = ddb.delete_item(TableName="notes", Key=key("u1", "n2"))
    assert "Attributes" not in r
    assert get(ddb, key("u1", "n2")) is None


def test_delete_return_values_all_new_is_invalid(ddb, notes):
    ddb.put_item(TableName="notes", Item={**KEY, "v": {"S": "x"}})
    with pytest.raises(ClientError) as e:
        ddb.delete_item(TableName="notes", Key=KEY, ReturnValues="ALL_NEW")
    code, msg = error_of(e)
    assert code == "ValidationException"
    assert "ReturnValues" in msg
    assert get(ddb) == {**KEY, "v": {"S": "x"}}


def test_get_missing_item(ddb, notes):
    r = ddb.get_item(TableName="notes", Key=KEY)
    assert "Item" not in r
    r = ddb.get_item(TableName="notes", Key=KEY, ConsistentRead=True,
                     ProjectionExpression="userId")
    assert "Item" not in r


# ------------------------------------------------------------ projections

NOTE = {**KEY, "title": {"S": "T"}, "body": {"S": "B"},
        "name": {"S": "N"}, "count": {"N": "3"},
        "meta": {"M": {"a": {"S": "x"}}}}


@pytest.mark.parametrize("expr,names,want", [
    ("title", None, ["title"]),
    ("title, body", None, ["title", "body"]),
    ("title,body,noteId", None, ["title", "body", "noteId"]),
    ("#n", {"#n": "name"}, ["name"]),
    ("#c, title", {"#c": "count"}, ["count", "title"]),
    ("#n, #t, meta", {"#n": "name", "#t": "title"}, ["name", "title",
                                                     "meta"]),
    ("title, absentAttr", None, ["title"]),
    ("  title ,  body  ", None, ["title", "body"]),
])
def test_projection_expression(ddb, notes, expr, names, want):
    ddb.put_item(TableName="notes", Item=NOTE)
    kw = {"ProjectionExpression": expr}
    if names:
        kw["ExpressionAttributeNames"] = names
    got = get(ddb, **kw)
    assert got == {k: NOTE[k] for k in want}


def test_projection_of_only_missing_attributes(ddb, notes):
    ddb.put_item(TableName="notes", Item=NOTE)
    r = ddb.get_item(TableName="notes", Key=KEY,
                     ProjectionExpression="absentAttr")
    # DynamoDB answers an empty Item (the item exists).
    assert r.get("Item", {}) == {}


def test_projection_undefined_placeholder(ddb, notes):
    ddb.put_item(TableName="notes", Item=NOTE)
    with pytest.raises(ClientError) as e:
        get(ddb, ProjectionExpression="#nope")
    code, msg = error_of(e)
    assert code == "ValidationException"
    assert ("An expression attribute name used in the document path is not "
            "defined; attribute name: #nope") in msg


# ----------------------------------------------------- numeric sort keys

def test_number_sort_key_compares_numerically(ddb):
    ddb.create_table(
        TableName="events", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                   {"AttributeName": "ts", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "ts", "AttributeType": "N"}])

    def k(ts):
        return {"pk": {"S": "p"}, "ts": {"N": ts}}

    ddb.put_item(TableName="events", Item={**k("1.0"), "v": {"S": "first"}})
    r = ddb.put_item(TableName="events", Item={**k("1"), "v": {"S": "second"}},
                     ReturnValues="ALL_OLD")
    # Same key: the second put replaced the first.
    assert r["Attributes"] == {**k("1"), "v": {"S": "first"}}
    for spelling in ("1", "1.0", "1.00", "01", "1e0", "0.1E1"):
        got = ddb.get_item(TableName="events", Key=k(spelling))["Item"]
        assert got == {**k("1"), "v": {"S": "second"}}, spelling
    assert ddb.describe_table(TableName="events")["Table"]["ItemCount"] == 1

    ddb.put_item(TableName="events", Item={**k("-0"), "v": {"S": "zero"}})
    assert ddb.get_item(TableName="events", Key=k("0"))["Item"]["v"] == \
        {"S": "zero"}
    ddb.put_item(TableName="events", Item={**k("10"), "v": {"S": "ten"}})
    assert ddb.get_item(TableName="events", Key=k("1E1"))["Item"]["v"] == \
        {"S": "ten"}
    # 38 digits are all significant in a key.
    a = "1234567890123456789012345678901234567" + "8"
    b = "1234567890123456789012345678901234567" + "9"
    ddb.put_item(TableName="events", Item={**k(a), "v": {"S": "a"}})
    ddb.put_item(TableName="events", Item={**k(b), "v": {"S": "b"}})
    assert ddb.get_item(TableName="events", Key=k(a))["Item"]["v"] == \
        {"S": "a"}
    assert ddb.get_item(TableName="events", Key=k(b))["Item"]["v"] == \
        {"S": "b"}
    ddb.delete_item(TableName="events", Key=k("1.000"))
    assert "Item" not in ddb.get_item(TableName="events", Key=k("1"))


def test_binary_hash_key(ddb):
    ddb.create_table(
        TableName="blobs", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "B"}])
    for raw_key in (b"\x00", b"\x00\x00", b"\xff", bytes(range(50))):
        ddb.put_item(TableName="blobs", Item={"id": {"B": raw_key},
                                              "len": {"N": str(len(raw_key))}})
    for raw_key in (b"\x00", b"\x00\x00", b"\xff", bytes(range(50))):
        got = ddb.get_item(TableName="blobs", Key={"id": {"B": raw_key}})
        assert got["Item"] == {"id": {"B": raw_key},
                               "len": {"N": str(len(raw_key))}}
    assert "Item" not in ddb.get_item(TableName="blobs",
                                      Key={"id": {"B": b"\x01"}})


# ------------------------------------------------------- validation errors

def test_put_missing_key_attribute(ddb, notes):
    code, msg = put_error(ddb, {"userId": {"S": "u1"}, "v": {"S": "x"}})
    assert code == "ValidationException"
    assert ("One or more parameter values were invalid: Missing the key "
            "noteId in the item") in msg
    code, msg = put_error(ddb, {"noteId": {"S": "n1"}})
    assert code == "ValidationException"
    assert "Missing the key userId in the item" in msg


def test_put_wrong_key_type(ddb, notes):
    code, msg = put_error(ddb, {"userId": {"N": "1"}, "noteId": {"S": "n"}})
    assert code == "ValidationException"
    assert ("One or more parameter values were invalid: Type mismatch for "
            "key userId expected: S actual: N") in msg
    code, msg = put_error(ddb, {"userId": {"S": "u"},
                                "noteId": {"SS": ["n"]}})
    assert code == "ValidationException"
    assert "Type mismatch for key noteId expected: S actual: SS" in msg


@pytest.mark.parametrize("which", ["userId", "noteId"])
def test_put_empty_string_key(ddb, notes, which):
    item = {**KEY, which: {"S": ""}}
    code, msg = put_error(ddb, item)
    assert code == "ValidationException"
    assert ("One or more parameter values are not valid. The AttributeValue "
            "for a key attribute cannot contain an empty string value. "
            "Key: %s" % which) in msg


def test_get_empty_string_key(ddb, notes):
    with pytest.raises(ClientError) as e:
        get(ddb, {"userId": {"S": ""}, "noteId": {"S": "n"}})
    code, msg = error_of(e)
    assert code == "ValidationException"
    assert "empty string" in msg


@pytest.mark.parametrize("bad_key", [
    {"userId": {"S": "u1"}},                                  # missing
    {"noteId": {"S": "n1"}},                                  # missing
    {**KEY, "extra": {"S": "x"}},                             # extra
    {"userId": {"N": "1"}, "noteId": {"S": "n1"}},            # wrong type
    {"userId": {"S": "u1"}, "other": {"S": "n1"}},            # wrong name
], ids=["no-range", "no-hash", "extra", "type", "name"])
def test_key_does_not_match_schema(ddb, notes, bad_key):
    ddb.put_item(TableName="notes", Item={**KEY, "v": {"S": "keep"}})
    with pytest.raises(ClientError) as e:
        ddb.get_item(TableName="notes", Key=bad_key)
    code, msg = error_of(e)
    assert code == "ValidationException"
    assert msg == "The provided key element does not match the schema"
    with pytest.raises(ClientError) as e:
        ddb.delete_item(TableName="notes", Key=bad_key)
    code, msg = error_of(e)
    assert code == "ValidationException"
    assert msg == "The provided key element does not match the schema"
    assert get(ddb) == {**KEY, "v": {"S": "keep"}}


MAX_ITEM = 400 * 1024


def test_item_size_limit(ddb, notes):
    # Size = attribute name lengths + UTF-8 lengths of the string values.
    fixed = len("userId") + len("u1") + len("noteId") + len("n1") + len("b")
    room = MAX_ITEM - fixed
    ddb.put_item(TableName="notes", Item={**KEY, "b": {"S": "x" * room}})
    assert len(get(ddb)["b"]["S"]) == room

    code, msg = put_error(ddb, {**KEY, "b": {"S": "y" * (room + 1)}})
    assert code == "ValidationException"
    assert "Item size has exceeded the maximum allowed size" in msg
    code, msg = put_error(ddb, {**KEY, "b": {"B": b"z" * (MAX_ITEM + 10)}})
    assert code == "ValidationException"
    assert "Item size has exceeded the maximum allowed size" in msg
    # Multi-byte characters count as their UTF-8 bytes.
    code, msg = put_error(ddb, {**KEY, "b": {"S": "é" * (MAX_ITEM // 2)}})
    assert code == "ValidationException"
    assert "Item size has exceeded the maximum allowed size" in msg
    # The item is unchanged.
    assert get(ddb)["b"]["S"] == "x" * room


def nested(depth, leaf=None):
    v = leaf or {"S": "leaf"}
    for i in range(depth):
        v = {"M": {"m": v}} if i % 2 else {"L": [v]}
    return v


def test_nesting_limit(ddb, notes):
    ddb.put_item(TableName="notes", Item={**KEY, "ok": nested(20)})
    assert get(ddb)["ok"] == nested(20)
    code, msg = put_error(ddb, {**KEY, "deep": nested(40)})
    assert code == "ValidationException"
    assert "Nesting Levels have exceeded supported limits" in msg
    assert get(ddb)["ok"] == nested(20)


@pytest.mark.parametrize("value", [{"SS": []}, {"NS": []}, {"BS": []}],
                         ids=["SS", "NS", "BS"])
def test_empty_set(ddb_nv, notes, value):
    code, msg = put_error(ddb_nv, {**KEY, "s": value})
    assert code == "ValidationException"
    assert "One or more parameter values were invalid" in msg
    assert "empty" in msg


@pytest.mark.parametrize("value", [
    {"SS": ["a", "b", "a"]},
    {"NS": ["1", "2", "1"]},
    {"NS": ["1", "1.0"]},          # numerically equal
    {"BS": [b"x", b"x"]},
], ids=["SS", "NS", "NS-numeric", "BS"])
def test_duplicate_set_members(ddb, notes, value):
    code, msg = put_error(ddb, {**KEY, "s": value})
    assert code == "ValidationException"
    assert "contains duplicates" in msg


@pytest.mark.parametrize("bad", ["abc", "NaN", "Infinity", "-Infinity",
                                 "1.2.3", "1e", "--1", "0x10", " 1", "1 ",
                                 ""])
def test_bad_number(ddb, notes, bad):
    code, msg = put_error(ddb, {**KEY, "n": {"N": bad}})
    assert code == "ValidationException"
    assert "numeric" in msg or "number" in msg


@pytest.mark.parametrize("bad,text", [
    ("1" * 39, "Attempting to store more than 38 significant digits in a "
               "Number"),
    ("1.00000000000000000000000000000000000001", "Attempting to store more "
     "than 38 significant digits in a Number"),
    ("1E126", "Number overflow. Attempting to store a number with magnitude "
              "larger than supported range"),
    ("-1E126", "Number overflow. Attempting to store a number with magnitude "
               "larger than supported range"),
    ("1E-131", "Number underflow. Attempting to store a number with "
               "magnitude smaller than supported range"),
    ("0.9E-130", "Number underflow. Attempting to store a number with "
                 "magnitude smaller than supported range"),
], ids=["39digits", "39frac", "overflow", "neg-overflow", "underflow",
        "underflow2"])
def test_number_limits(ddb, notes, bad, text):
    code, msg = put_error(ddb, {**KEY, "n": {"N": bad}})
    assert code == "ValidationException"
    assert text in msg
    # Trailing zeros are not significant digits.
    ddb.put_item(TableName="notes", Item={**KEY, "n": {"N": "1" * 38 + "000"}})
    assert get(ddb)["n"]["N"] == "1" * 38 + "000"


def test_null_must_be_true(ddb_nv, notes):
    code, msg = put_error(ddb_nv, {**KEY, "x": {"NULL": False}})
    assert code == "ValidationException"
    assert ("One or more parameter values were invalid: Null attribute value "
            "types must have the value of true") in msg


def test_attribute_value_with_two_types(ddb_nv, notes):
    code, msg = put_error(ddb_nv, {**KEY, "x": {"S": "a", "N": "1"}})
    assert code == "ValidationException"
    assert "Supplied AttributeValue has more than one datatypes set, must " \
        "contain exactly one of the supported datatypes" in msg
    code, msg = put_error(ddb_nv, {**KEY, "x": {}})
    assert code == "ValidationException"
    assert "Supplied AttributeValue is empty, must contain exactly one of " \
        "the supported datatypes" in msg


def test_unknown_table(ddb):
    for call in (
        lambda: ddb.put_item(TableName="nope", Item=KEY),
        lambda: ddb.get_item(TableName="nope", Key=KEY),
        lambda: ddb.delete_item(TableName="nope", Key=KEY),
    ):
        with pytest.raises(ClientError) as e:
            call()
        code, msg = error_of(e)
        assert code == "ResourceNotFoundException"
        assert msg.startswith("Requested resource not found"), msg


def test_failed_writes_change_nothing(ddb, notes):
    ddb.put_item(TableName="notes", Item={**KEY, "v": {"S": "keep"}})
    before = ddb.describe_table(TableName="notes")["Table"]
    for item in ({**KEY, "v": {"N": "x"}},
                 {**KEY, "v": {"SS": ["a", "a"]}},
                 {**KEY, "v": {"S": "y" * MAX_ITEM}},
                 {**KEY, "v": nested(40)}):
        put_error(ddb, item)
    after = ddb.describe_table(TableName="notes")["Table"]
    assert get(ddb) == {**KEY, "v": {"S": "keep"}}
    assert after["ItemCount"] == before["ItemCount"] == 1
    assert after["TableSizeBytes"] == before["TableSizeBytes"]
