"""ConditionExpression on PutItem, DeleteItem and UpdateItem: create-only
puts, conditional deletes, optimistic locking with a version number, every
function, comparisons, BETWEEN, IN, AND/OR/NOT precedence, and what a
failed condition does: ConditionalCheckFailedException "The conditional
request failed", nothing changed, and with
ReturnValuesOnConditionCheckFailure=ALL_OLD the old item in the error
(boto3: e.response["Item"]).

Condition semantics are DynamoDB's (ScyllaDB's
test/alternator/test_condition_expression.py was written against it):
a missing attribute makes comparisons and functions false and <> true;
values of different types are unequal and unordered; size() of a string
counts UTF-16 code units, as real DynamoDB does (size("é𝄞") = 3).
"""
import threading

import botocore.session
import pytest
from botocore.exceptions import ClientError

from harness import error_of

KEY = {"userId": {"S": "u1"}, "noteId": {"S": "n1"}}
CCF = "ConditionalCheckFailedException"
MSG = "The conditional request failed"


def key(u="u1", n="n1"):
    return {"userId": {"S": u}, "noteId": {"S": n}}


def get(ddb, k=None):
    return ddb.get_item(TableName="notes", Key=k or KEY,
                        ConsistentRead=True).get("Item")


def N(x):
    return {"N": str(x)}


def S(x):
    return {"S": x}


def B(x):
    return {"B": x}


def L(*xs):
    return {"L": list(xs)}


def M(**kw):
    return {"M": kw}


# botocore learned ReturnValuesOnConditionCheckFailure for PutItem,
# DeleteItem and UpdateItem in 2023 (and then exposes the old item as
# e.response["Item"]); older ones drop the parameter, so those requests go
# over raw HTTP here, and through boto3 too when it knows the parameter.
BOTO_RVF = "ReturnValuesOnConditionCheckFailure" in (
    botocore.session.get_session().get_service_model("dynamodb")
    .operation_model("PutItem").input_shape.members)


def raw_ccf(raw, op, body):
    """A raw request that must fail its condition; returns the error body."""
    r = raw.request(op, body)
    assert r.status == 400, r
    assert r.error_type() == CCF, r
    assert r.error_message() == MSG, r
    return r.json


def expect_ccf(call, **kw):
    with pytest.raises(ClientError) as e:
        call(**kw)
    code, msg = error_of(e)
    assert (code, msg) == (CCF, MSG)
    return e.value.response


# ----------------------------------------------------------- PutItem

def test_put_create_only(ddb, notes):
    first = {**KEY, "title": S("first")}
    ddb.put_item(TableName="notes", Item=first,
                 ConditionExpression="attribute_not_exists(noteId)")
    resp = expect_ccf(ddb.put_item, TableName="notes",
                      Item={**KEY, "title": S("second")},
                      ConditionExpression="attribute_not_exists(noteId)")
    assert "Item" not in resp
    assert get(ddb) == first
    # another key is another item: the condition holds there
    ddb.put_item(TableName="notes", Item={**key(n="n2"), "title": S("x")},
                 ConditionExpression="attribute_not_exists(userId)")
    assert get(ddb, key(n="n2"))["title"] == S("x")


def test_put_replace_only(ddb, notes):
    expect_ccf(ddb.put_item, TableName="notes", Item={**KEY, "v": N(1)},
               ConditionExpression="attribute_exists(noteId)")
    assert get(ddb) is None
    ddb.put_item(TableName="notes", Item={**KEY, "v": N(1)})
    ddb.put_item(TableName="notes", Item={**KEY, "v": N(2)},
                 ConditionExpression="attribute_exists(noteId)")
    assert get(ddb) == {**KEY, "v": N(2)}


def test_put_condition_return_values_on_failure(ddb, raw, notes):
    old = {**KEY, "title": S("old"), "tags": {"SS": ["a"]}}
    ddb.put_item(TableName="notes", Item=old)
    req = {"TableName": "notes", "Item": {**KEY, "title": S("new")},
           "ConditionExpression": "title = :t",
           "ExpressionAttributeValues": {":t": S("other")}}
    body = raw_ccf(raw, "PutItem", {
        **req, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"})
    assert body["Item"] == old
    body = raw_ccf(raw, "PutItem", {
        **req, "ReturnValuesOnConditionCheckFailure": "NONE"})
    assert "Item" not in body
    body = raw_ccf(raw, "PutItem", req)
    assert "Item" not in body
    # no old item: nothing to return
    body = raw_ccf(raw, "PutItem", {
        "TableName": "notes", "Item": key(n="nope"),
        "ConditionExpression": "attribute_exists(title)",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD"})
    assert "Item" not in body
    if BOTO_RVF:
        resp = expect_ccf(ddb.put_item, ReturnValuesOnConditionCheckFailure=
                          "ALL_OLD", **req)
        assert resp["Item"] == old
    assert get(ddb) == old


@pytest.mark.parametrize("op", ["PutItem", "DeleteItem", "UpdateItem"])
def test_return_values_on_failure_invalid(raw, notes, op):
    body = {"TableName": "notes", "ReturnValuesOnConditionCheckFailure":
            "ALL_NEW"}
    body["Item" if op == "PutItem" else "Key"] = KEY
    r = raw.request(op, body)
    assert r.status == 400 and r.error_type() == "ValidationException", r
    assert r.error_message() == (
        "1 validation error detected: Value 'ALL_NEW' at "
        "'returnValuesOnConditionCheckFailure' failed to satisfy constraint: "
        "Member must satisfy enum value set: [ALL_OLD, NONE]")


# -------------------------------------------------------- DeleteItem

def test_conditional_delete(ddb, raw, notes):
    item = {**KEY, "state": S("draft"), "v": N(3)}
    ddb.put_item(TableName="notes", Item=item)
    body = raw_ccf(raw, "DeleteItem", {
        "TableName": "notes", "Key": KEY, "ConditionExpression": "#s = :p",
        "ExpressionAttributeNames": {"#s": "state"},
        "ExpressionAttributeValues": {":p": S("published")},
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD"})
    assert body["Item"] == item
    expect_ccf(ddb.delete_item, TableName="notes", Key=KEY,
               ConditionExpression="#s = :p",
               ExpressionAttributeNames={"#s": "state"},
               ExpressionAttributeValues={":p": S("published")})
    assert get(ddb) == item
    out = ddb.delete_item(TableName="notes", Key=KEY,
                          ConditionExpression="#s = :d AND v <= :three",
                          ExpressionAttributeNames={"#s": "state"},
                          ExpressionAttributeValues={":d": S("draft"),
                                                     ":three": N(3)},
                          ReturnValues="ALL_OLD")
    assert out["Attributes"] == item
    assert get(ddb) is None
    # deleting a missing item under attribute_exists fails
    expect_ccf(ddb.delete_item, TableName="notes", Key=KEY,
               ConditionExpression="attribute_exists(noteId)")
    # ... and under attribute_not_exists succeeds (no-op)
    ddb.delete_item(TableName="notes", Key=KEY,
                    ConditionExpression="attribute_not_exists(noteId)")


# ------------------------------------------------ optimistic locking

def save(ddb, title, expected_version):
    """The app's save: bump the version if nobody else did."""
    return ddb.update_item(
        TableName="notes", Key=KEY,
        UpdateExpression="SET title = :t, version = version + :one",
        ConditionExpression="version = :expected",
        ExpressionAttributeValues={":t": S(title), ":one": N(1),
                                   ":expected": N(expected_version)},
        ReturnValues="ALL_NEW")


def test_optimistic_locking_with_version(ddb, raw, notes):
    ddb.update_item(TableName="notes", Key=KEY,
                    UpdateExpression="SET title = :t, version = :one",
                    ConditionExpression="attribute_not_exists(version)",
                    ExpressionAttributeValues={":t": S("v1"), ":one": N(1)})
    # two editors read version 1
    a = get(ddb)
    b = get(ddb)
    assert a["version"] == b["version"] == N(1)
    out = save(ddb, "from A", 1)
    assert out["Attributes"] == {**KEY, "title": S("from A"), "version": N(2)}
    body = raw_ccf(raw, "UpdateItem", {
        "TableName": "notes", "Key": KEY,
        "UpdateExpression": "SET title = :t, version = version + :one",
        "ConditionExpression": "version = :expected",
        "ExpressionAttributeValues": {":t": S("from B"), ":one": N(1),
                                      ":expected": N(1)},
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD"})
    assert body["Item"] == {**KEY, "title": S("from A"), "version": N(2)}
    with pytest.raises(ClientError) as e:
        save(ddb, "from B", 1)
    assert error_of(e) == (CCF, MSG)
    assert get(ddb) == {**KEY, "title": S("from A"), "version": N(2)}
    # B re-reads and retries
    save(ddb, "from B", 2)
    assert get(ddb) == {**KEY, "title": S("from B"), "version": N(3)}
    # creating under a condition on a missing item
    expect_ccf(ddb.update_item, TableName="notes", Key=key(n="new"),
               UpdateExpression="SET title = :t",
               ConditionExpression="version = :v",
               ExpressionAttributeValues={":t": S("x"), ":v": N(1)})
    assert get(ddb, key(n="new")) is None


def test_optimistic_locking_under_concurrency(ddb, notes):
    """8 threads each add 25 increments with read-check-retry: no update
    is lost."""
    ddb.put_item(TableName="notes", Item={**KEY, "version": N(0),
                                          "total": N(0)})
    errors = []

    def worker():
        try:
            done = 0
            while done < 25:
                v = int(get(ddb)["version"]["N"])
                try:
                    ddb.update_item(
                        TableName="notes", Key=KEY,
                        UpdateExpression="SET version = :next, "
                                         "#t = #t + :one",
                        ConditionExpression="version = :v",
                        ExpressionAttributeNames={"#t": "total"},
                        ExpressionAttributeValues={":v": N(v),
                                                   ":next": N(v + 1),
                                                   ":one": N(1)})
                    done += 1
                except ClientError as e:
                    if error_of_exc(e) != (CCF, MSG):
                        raise
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    item = get(ddb)
    assert item["version"] == N(200) and item["total"] == N(200)


def error_of_exc(e):
    err = e.response["Error"]
    return err.get("Code"), err.get("Message", "")


def test_update_condition_return_values_on_failure(ddb, raw, notes):
    old = {**KEY, "n": N(5)}
    ddb.put_item(TableName="notes", Item=old)
    body = raw_ccf(raw, "UpdateItem", {
        "TableName": "notes", "Key": KEY, "UpdateExpression": "ADD n :one",
        "ConditionExpression": "n > :ten",
        "ExpressionAttributeValues": {":one": N(1), ":ten": N(10)},
        "ReturnValues": "ALL_NEW",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD"})
    assert body["Item"] == old
    assert "Attributes" not in body
    assert get(ddb) == old


def test_resource_conditions(dynamodb):
    from boto3.dynamodb.conditions import Attr
    dynamodb.meta.client.create_table(
        TableName="notes", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "userId", "KeyType": "HASH"},
                   {"AttributeName": "noteId", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "userId", "AttributeType": "S"},
            {"AttributeName": "noteId", "AttributeType": "S"}])
    table = dynamodb.Table("notes")
    table.put_item(Item={"userId": "u", "noteId": "n", "version": 4,
                         "tags": {"a", "b"}})
    with pytest.raises(ClientError) as e:
        table.put_item(Item={"userId": "u", "noteId": "n", "version": 5},
                       ConditionExpression=Attr("version").eq(3)
                       | Attr("version").not_exists())
    assert error_of(e) == (CCF, MSG)
    table.put_item(Item={"userId": "u", "noteId": "n", "version": 5},
                   ConditionExpression=Attr("version").eq(4)
                   & Attr("tags").contains("b") & Attr("tags").size().eq(2))
    assert table.get_item(Key={"userId": "u", "noteId": "n"})["Item"] == {
        "userId": "u", "noteId": "n", "version": 5}
    with pytest.raises(ClientError) as e:
        table.delete_item(Key={"userId": "u", "noteId": "n"},
                          ConditionExpression=Attr("version").between(6, 9))
    assert error_of(e) == (CCF, MSG)
    table.delete_item(Key={"userId": "u", "noteId": "n"},
                      ConditionExpression=Attr("version").is_in([1, 5])
                      & ~Attr("tags").exists())
    assert "Item" not in table.get_item(Key={"userId": "u", "noteId": "n"})


# -------------------------------------------- functions and operators

ITEM = {
    **KEY,
    "s": S("hello world"),
    "uni": S("\u00e9\U0001D11E"),        # é + MUSICAL SYMBOL G CLEF
    "clef": S("\U0001D11E"),
    "blank": S(""),
    "n": N(42),
    "neg": N("-1.5"),
    "b": B(b"\x00\x01\xff"),
    "t": {"BOOL": True},
    "t2": {"BOOL": True},
    "f": {"BOOL": False},
    "nul": {"NULL": True},
    "ss": {"SS": ["apple", "banana"]},
    "ss2": {"SS": ["apple", "banana"]},
    "ns": {"NS": ["1", "2.5", "-3"]},
    "bs": {"BS": [b"\x01", b"\x02"]},
    "l": L(S("x"), N(1), M(k=S("v")), L(N(2))),
    "m": M(a=M(b=L(N(10), N(20))), s=S("in map"), e=M()),
    "el": L(),
    "em": M(),
}


def holds(ddb, expr, values=None, names=None):
    """Whether `expr` holds on ITEM: as a PutItem condition (the item is
    written back unchanged) and as a Scan filter, which must agree."""
    kw = {}
    if values:
        kw["ExpressionAttributeValues"] = values
    if names:
        kw["ExpressionAttributeNames"] = names
    try:
        ddb.put_item(TableName="notes", Item=ITEM, ConditionExpression=expr,
                     **kw)
        as_cond = True
    except ClientError as e:
        if error_of_exc(e) != (CCF, MSG):
            raise
        as_cond = False
    got = ddb.scan(TableName="notes", FilterExpression=expr, **kw)["Items"]
    as_filter = bool(got)
    assert as_cond == as_filter, (expr, as_cond, as_filter)
    return as_cond


@pytest.fixture
def item(ddb, notes):
    ddb.put_item(TableName="notes", Item=ITEM)
    yield ITEM
    assert get(ddb) == ITEM or sorted_sets(get(ddb)) == sorted_sets(ITEM)


def sorted_sets(it):
    return {k: ({t: sorted(v, key=repr)} if t in ("SS", "NS", "BS") else
                {t: v}) for k, av in it.items() for t, v in av.items()}


@pytest.mark.parametrize("expr,want", [
    ("attribute_exists(s)", True),
    ("attribute_exists(nope)", False),
    ("attribute_exists(nul)", True),
    ("attribute_exists(blank)", True),
    ("attribute_exists(m.a.b[1])", True),
    ("attribute_exists(m.a.b[2])", False),
    ("attribute_exists(m.a.c)", False),
    ("attribute_exists(l[2].k)", True),
    ("attribute_exists(s.x)", False),
    ("attribute_exists(s[0])", False),
    ("attribute_exists(em)", True),
    ("attribute_not_exists(nope)", True),
    ("attribute_not_exists(s)", False),
    ("attribute_not_exists(m.a.nope)", True),
    ("attribute_not_exists(l[9])", True),
    ("attribute_not_exists(l[0])", False),
])
def test_attribute_exists(ddb, item, expr, want):
    assert holds(ddb, expr) is want


@pytest.mark.parametrize("attr,typ", [
    ("s", "S"), ("n", "N"), ("b", "B"), ("t", "BOOL"), ("nul", "NULL"),
    ("ss", "SS"), ("ns", "NS"), ("bs", "BS"), ("l", "L"), ("m", "M"),
    ("m.a.b", "L"), ("l[0]", "S"), ("el", "L"), ("em", "M"),
])
def test_attribute_type(ddb, item, attr, typ):
    assert holds(ddb, "attribute_type(%s, :t)" % attr, {":t": S(typ)})
    for other in ("S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS", "L", "M"):
        if other != typ:
            assert not holds(ddb, "attribute_type(%s, :t)" % attr,
                             {":t": S(other)}), other
    assert not holds(ddb, "attribute_type(nope, :t)", {":t": S(typ)})


def test_attribute_type_errors(ddb, item):
    with pytest.raises(ClientError) as e:
        holds(ddb, "attribute_type(s, :t)", {":t": S("STRING")})
    code, msg = error_of(e)
    assert code == "ValidationException"
    assert msg == ("Invalid ConditionExpression: Invalid attribute type name "
                   "found; type: STRING, valid types: "
                   "{B,NULL,SS,BOOL,L,BS,N,NS,S,M}")
    with pytest.raises(ClientError) as e:
        holds(ddb, "attribute_type(s, :t)", {":t": N(1)})
    assert "Incorrect operand type for operator or function; operator or " \
           "function: attribute_type, operand type: N" in error_of(e)[1]


@pytest.mark.parametrize("expr,vals,want", [
    ("begins_with(s, :p)", {":p": S("hello")}, True),
    ("begins_with(s, :p)", {":p": S("hello world")}, True),
    ("begins_with(s, :p)", {":p": S("hello world!")}, False),
    ("begins_with(s, :p)", {":p": S("Hello")}, False),
    ("begins_with(s, :p)", {":p": S("")}, True),
    ("begins_with(uni, :p)", {":p": S("\u00e9")}, True),
    ("begins_with(b, :p)", {":p": B(b"\x00\x01")}, True),
    ("begins_with(b, :p)", {":p": B(b"\x01")}, False),
    ("begins_with(b, :p)", {":p": S("\u0000")}, False),     # type differs
    ("begins_with(m.s, :p)", {":p": S("in")}, True),
    ("begins_with(l[0], :p)", {":p": S("x")}, True),
    ("begins_with(nope, :p)", {":p": S("")}, False),
    ("begins_with(ss, :p)", {":p": S("app")}, False),         # not a string
    ("begins_with(s, m.s)", None, False),
])
def test_begins_with(ddb, item, expr, vals, want):
    assert holds(ddb, expr, vals) is want


def test_begins_with_on_number_operand_refused(ddb, item):
    with pytest.raises(ClientError) as e:
        holds(ddb, "begins_with(s, :p)", {":p": N(1)})
    code, msg = error_of(e)
    assert code == "ValidationException"
    assert msg == ("Invalid ConditionExpression: Incorrect operand type for "
                   "operator or function; operator or function: begins_with, "
                   "operand type: N")


@pytest.mark.parametrize("expr,vals,want", [
    # strings: substring
    ("contains(s, :v)", {":v": S("lo wo")}, True),
    ("contains(s, :v)", {":v": S("xyz")}, False),
    ("contains(s, :v)", {":v": S("")}, True),
    ("contains(s, :v)", {":v": {"SS": ["lo"]}}, False),
    ("contains(b, :v)", {":v": B(b"\x01\xff")}, True),
    ("contains(b, :v)", {":v": B(b"\xff\x00")}, False),
    # sets: membership of an element of the set's type
    ("contains(ss, :v)", {":v": S("banana")}, True),
    ("contains(ss, :v)", {":v": S("ban")}, False),
    ("contains(ns, :v)", {":v": N("2.50")}, True),
    ("contains(ns, :v)", {":v": N("-3.0")}, True),
    ("contains(ns, :v)", {":v": N(2)}, False),
    ("contains(ns, :v)", {":v": S("1")}, False),
    ("contains(bs, :v)", {":v": B(b"\x02")}, True),
    ("contains(bs, :v)", {":v": B(b"\x03")}, False),
    # lists: element equality, any type
    ("contains(l, :v)", {":v": S("x")}, True),
    ("contains(l, :v)", {":v": N("1.0")}, True),
    ("contains(l, :v)", {":v": M(k=S("v"))}, True),
    ("contains(l, :v)", {":v": L(N(2))}, True),
    ("contains(l, :v)", {":v": N(2)}, False),
    ("contains(m.a.b, :v)", {":v": N(20)}, True),
    ("contains(el, :v)", {":v": S("x")}, False),
    # other types never contain anything
    ("contains(n, :v)", {":v": N(4)}, False),
    ("contains(m, :v)", {":v": S("s")}, False),
    ("contains(nope, :v)", {":v": S("x")}, False),
    ("contains(ss, s)", None, False),
    ("contains(s, m.s)", None, False),
])
def test_contains(ddb, item, expr, vals, want):
    assert holds(ddb, expr, vals) is want


@pytest.mark.parametrize("expr,vals,want", [
    ("size(s) = :v", {":v": N(11)}, True),
    ("size(blank) = :v", {":v": N(0)}, True),
    # UTF-16 code units, as DynamoDB counts: é is 1, U+1D11E is 2
    ("size(uni) = :v", {":v": N(3)}, True),
    ("size(uni) = :v", {":v": N(6)}, False),
    ("size(b) = :v", {":v": N(3)}, True),
    ("size(ss) = :v", {":v": N(2)}, True),
    ("size(ns) = :v", {":v": N(3)}, True),
    ("size(bs) = :v", {":v": N(2)}, True),
    ("size(l) = :v", {":v": N(4)}, True),
    ("size(m) = :v", {":v": N(3)}, True),
    ("size(m.a.b) > :v", {":v": N(1)}, True),
    ("size(el) = :v", {":v": N(0)}, True),
    ("size(em) < :v", {":v": N(1)}, True),
    ("size(l) BETWEEN :a AND :b", {":a": N(4), ":b": N(4)}, True),
    ("size(s) IN (:a, :b)", {":a": N(1), ":b": N(11)}, True),
    ("size(s) > size(ss)", None, True),
    ("size(s) = size(nope)", None, False),
    # no size for numbers, booleans, null or missing attributes
    ("size(n) = :v", {":v": N(2)}, False),
    ("size(n) <> :v", {":v": N(2)}, True),
    ("size(t) >= :v", {":v": N(0)}, False),
    ("size(nul) >= :v", {":v": N(0)}, False),
    ("size(nope) >= :v", {":v": N(0)}, False),
    ("size(nope) <> :v", {":v": N(0)}, True),
])
def test_size(ddb, item, expr, vals, want):
    assert holds(ddb, expr, vals) is want


def test_size_misused(ddb, item):
    with pytest.raises(ClientError) as e:
        holds(ddb, "size(s)")
    code, msg = error_of(e)
    assert code == "ValidationException"
    assert msg == ("Invalid ConditionExpression: The function is not allowed "
                   "to be used this way in an expression; function: size")


@pytest.mark.parametrize("expr,vals,want", [
    ("n = :v", {":v": N("42.0")}, True),
    ("n = :v", {":v": S("42")}, False),
    ("n <> :v", {":v": S("42")}, True),
    ("n <> :v", {":v": N(42)}, False),
    ("n < :v", {":v": N(100)}, True),
    ("n < :v", {":v": N(9)}, False),         # numeric, not lexicographic
    ("n <= :v", {":v": N(42)}, True),
    ("n > :v", {":v": N("41.999")}, True),
    ("n >= :v", {":v": N("1e2")}, False),
    ("neg < :v", {":v": N(-1)}, True),
    ("neg > :v", {":v": N(-2)}, True),
    ("s < :v", {":v": S("hellp")}, True),
    ("s > :v", {":v": S("hello")}, True),
    ("s >= :v", {":v": S("z")}, False),
    ("s < :v", {":v": S("\u00e9")}, True),
    # UTF-8 byte order (code point order), not UTF-16's
    ("clef > :v", {":v": S("\uffff")}, True),
    ("clef < :v", {":v": S("\uffff")}, False),
    ("b < :v", {":v": B(b"\x00\x02")}, True),
    ("b > :v", {":v": B(b"\x00\x01")}, True),
    ("b < :v", {":v": B(b"\x7f")}, True),
    # different types: not equal, not ordered
    ("n < :v", {":v": S("zzz")}, False),
    ("n > :v", {":v": S("0")}, False),
    ("s < :v", {":v": N(1)}, False),
    # ordering of other types is never true (with a constant of such a
    # type it is refused when parsed, see test_condition_expression_errors)
    ("t < f", None, False),
    ("f <= t", None, False),
    ("t >= t2", None, False),
    ("ss >= ss2", None, False),
    ("m <= em", None, False),
    # equality of containers and sets
    ("t = :v", {":v": {"BOOL": True}}, True),
    ("f = :v", {":v": {"BOOL": True}}, False),
    ("nul = :v", {":v": {"NULL": True}}, True),
    ("ss = :v", {":v": {"SS": ["banana", "apple"]}}, True),
    ("ss = :v", {":v": {"SS": ["banana"]}}, False),
    ("ns = :v", {":v": {"NS": ["-3", "1.0", "2.5"]}}, True),
    ("l = :v", {":v": L(S("x"), N(1), M(k=S("v")), L(N(2)))}, True),
    ("l = :v", {":v": L(N(1), S("x"), M(k=S("v")), L(N(2)))}, False),
    ("m.a = :v", {":v": M(b=L(N(10), N(20)))}, True),
    ("em = :v", {":v": M()}, True),
    ("el = :v", {":v": L()}, True),
    ("el = :v", {":v": M()}, False),
    # missing attributes
    ("nope = :v", {":v": N(1)}, False),
    ("nope <> :v", {":v": N(1)}, True),
    ("nope < :v", {":v": N(1)}, False),
    ("nope = nada", None, False),
    ("nope <> nada", None, True),
    # paths on both sides
    ("m.a.b[0] < m.a.b[1]", None, True),
    ("l[1] = ns", None, False),
    ("n = m.a.b[0]", None, False),
    # key attributes can be used
    ("noteId = :v", {":v": S("n1")}, True),
    (":v = :v", {":v": N(1)}, True),
])
def test_comparisons(ddb, item, expr, vals, want):
    assert holds(ddb, expr, vals) is want


@pytest.mark.parametrize("expr,vals,want", [
    ("n BETWEEN :a AND :b", {":a": N(1), ":b": N(100)}, True),
    ("n BETWEEN :a AND :b", {":a": N(42), ":b": N(42)}, True),
    ("n BETWEEN :a AND :b", {":a": N(43), ":b": N(100)}, False),
    ("neg BETWEEN :a AND :b", {":a": N(-2), ":b": N(-1)}, True),
    ("s BETWEEN :a AND :b", {":a": S("h"), ":b": S("i")}, True),
    ("s BETWEEN :a AND :b", {":a": S("hello world"), ":b": S("z")}, True),
    ("b BETWEEN :a AND :b", {":a": B(b"\x00"), ":b": B(b"\x01")}, True),
    ("n BETWEEN :a AND :b", {":a": S("a"), ":b": S("z")}, False),
    ("nope BETWEEN :a AND :b", {":a": N(1), ":b": N(2)}, False),
    ("n BETWEEN m.a.b[0] AND :b", {":b": N(50)}, True),
    ("NOT n BETWEEN :a AND :b", {":a": N(1), ":b": N(2)}, True),
])
def test_between(ddb, item, expr, vals, want):
    assert holds(ddb, expr, vals) is want


def test_between_bounds_errors(ddb, item):
    with pytest.raises(ClientError) as e:
        holds(ddb, "n BETWEEN :a AND :b", {":a": N(5), ":b": N(1)})
    code, msg = error_of(e)
    assert code == "ValidationException"
    assert msg == ("Invalid ConditionExpression: The BETWEEN operator requires "
                   "upper bound to be greater than or equal to lower bound; "
                   "lower bound operand: AttributeValue: {N:5}, upper bound "
                   "operand: AttributeValue: {N:1}")
    with pytest.raises(ClientError) as e:
        holds(ddb, "n BETWEEN :a AND :b", {":a": N(5), ":b": S("x")})
    code, msg = error_of(e)
    assert msg == ("Invalid ConditionExpression: The BETWEEN operator requires "
                   "same data type for lower and upper bounds; lower bound "
                   "operand: AttributeValue: {N:5}, upper bound operand: "
                   "AttributeValue: {S:x}")


@pytest.mark.parametrize("expr,vals,want", [
    ("n IN (:a)", {":a": N(42)}, True),
    ("n IN (:a, :b, :c)", {":a": S("42"), ":b": N(1), ":c": N("42.00")}, True),
    ("n IN (:a, :b)", {":a": S("42"), ":b": N(1)}, False),
    ("s IN (:a, m.s)", {":a": S("x")}, False),
    ("m.s IN (:a, m.s)", {":a": S("x")}, True),
    ("ss IN (:a)", {":a": {"SS": ["banana", "apple"]}}, True),
    ("nope IN (:a)", {":a": N(1)}, False),
    ("NOT nope IN (:a)", {":a": N(1)}, True),
])
def test_in(ddb, item, expr, vals, want):
    assert holds(ddb, expr, vals) is want


def test_in_with_100_operands_and_101(ddb, item):
    vals = {":v%d" % i: N(i) for i in range(100)}
    expr = "n IN (%s)" % ", ".join(sorted(vals))
    assert holds(ddb, expr, vals) is True
    vals[":v100"] = N(100)
    with pytest.raises(ClientError) as e:
        holds(ddb, "n IN (%s)" % ", ".join(sorted(vals)), vals)
    code, msg = error_of(e)
    assert code == "ValidationException"
    assert msg == ("Invalid ConditionExpression: The IN operator is provided "
                   "with too many operands; number of operands: 101")


@pytest.mark.parametrize("expr,want", [
    # t = true, f = false, nope missing
    ("t = :t OR f = :t AND nope = :t", True),      # OR (AND ...) -> true
    ("(t = :t OR f = :t) AND nope = :t", False),
    ("f = :t AND t = :t OR t = :t", True),         # (f AND t) OR t
    ("f = :t AND (t = :t OR t = :t)", False),
    ("NOT f = :t AND t = :t", True),               # (NOT f) AND t
    ("NOT (f = :t AND t = :t)", True),
    ("NOT t = :t OR t = :t", True),                # (NOT t) OR t
    ("NOT (t = :t OR t = :t)", False),
    ("NOT NOT t = :t", True),
    ("not t = :t or t = :t and f = :t", False),    # keywords any case
    ("t = :t AND NOT attribute_exists(nope) AND NOT contains(s, :s)", None),
    ("(t = :t)", True),
    ("(t = :t) AND (NOT (f = :t))", True),
])
def test_and_or_not_precedence(ddb, item, expr, want):
    vals = {":t": {"BOOL": True}}
    if ":s" in expr:
        vals[":s"] = S("zzz")
        want = True
    assert holds(ddb, expr, vals) is want


def test_failed_condition_changes_nothing_anywhere(ddb, notes):
    item = {**KEY, "n": N(1), "l": L(N(1))}
    ddb.put_item(TableName="notes", Item=item)
    cond = dict(ConditionExpression="n = :two",
                ExpressionAttributeValues={":two": N(2)})
    expect_ccf(ddb.put_item, TableName="notes", Item=KEY, **cond)
    expect_ccf(ddb.delete_item, TableName="notes", Key=KEY, **cond)
    with pytest.raises(ClientError) as e:
        ddb.update_item(TableName="notes", Key=KEY,
                        UpdateExpression="SET l = list_append(l, l) REMOVE n",
                        ConditionExpression="n = :two",
                        ExpressionAttributeValues={":two": N(2)})
    assert error_of(e) == (CCF, MSG)
    assert get(ddb) == item
    assert ddb.describe_table(TableName="notes")["Table"]["ItemCount"] == 1


@pytest.mark.parametrize("expr,vals,text", [
    ("n = :v", None, "Invalid ConditionExpression: An expression attribute "
                     "value used in expression is not defined; attribute "
                     "value: :v"),
    ("#n = :v", {":v": N(1)}, "Invalid ConditionExpression: An expression "
                              "attribute name used in the document path is "
                              "not defined; attribute name: #n"),
    ("size = :v", {":v": N(1)}, "Invalid ConditionExpression: Attribute name "
                                "is a reserved keyword; reserved keyword: "
                                "size"),
    ("n == :v", {":v": N(1)}, 'Invalid ConditionExpression: Syntax error; '
                              'token: "=", near: "== :v"'),
    ("n = :v AND", {":v": N(1)}, 'Invalid ConditionExpression: Syntax error; '
                                 'token: "<EOF>"'),
    ("attribute_exist(n)", None, "Invalid ConditionExpression: Invalid "
                                 "function name; function: attribute_exist"),
    ("attribute_exists(n, n)", None, "Invalid ConditionExpression: Incorrect "
                                     "number of operands for operator or "
                                     "function; operator or function: "
                                     "attribute_exists, number of operands: "
                                     "2"),
    ("attribute_exists(:v)", {":v": N(1)}, "Invalid ConditionExpression: "
                                          "Operator or function requires a "
                                          "document path; operator or "
                                          "function: attribute_exists"),
    ("n = :v", {":v": N(1), ":w": N(2)}, "Value provided in "
                                         "ExpressionAttributeValues unused "
                                         "in expressions: keys: {:w}"),
    ("", None, "Invalid ConditionExpression: The expression can not be "
               "empty;"),
    ("n = n", None, "Invalid ConditionExpression: The first operand must be "
                    "distinct from the remaining operands for this operator "
                    "or function; operator: =, first operand: [n]"),
    ("begins_with(m.s, m.s)", None, "Invalid ConditionExpression: The first "
                                    "operand must be distinct from the "
                                    "remaining operands for this operator or "
                                    "function; operator: begins_with, first "
                                    "operand: [m, s]"),
    ("t < :v", {":v": {"BOOL": True}}, "Invalid ConditionExpression: "
                                       "Incorrect operand type for operator "
                                       "or function; operator or function: "
                                       "<, operand type: BOOL"),
    ("n BETWEEN :v AND :w", {":v": {"SS": ["a"]}, ":w": {"SS": ["b"]}},
     "Invalid ConditionExpression: Incorrect operand type for operator or "
     "function; operator or function: BETWEEN, operand type: SS"),
    ("n = :v", {":v": {"SS": []}}, None),
])
def test_condition_expression_errors(ddb, notes, expr, vals, text):
    kw = {"ExpressionAttributeValues": vals} if vals else {}
    with pytest.raises(ClientError) as e:
        ddb.put_item(TableName="notes", Item=KEY, ConditionExpression=expr,
                     **kw)
    code, msg = error_of(e)
    assert code == "ValidationException"
    if text:
        if text.endswith('"<EOF>"'):
            assert msg.startswith(text), msg
        else:
            assert msg == text
    assert get(ddb) is None


def test_condition_on_a_missing_item(ddb, notes):
    """With no item, every attribute is missing."""
    k = key(n="fresh")

    def ok(expr, vals=None):
        kw = {"ExpressionAttributeValues": vals} if vals else {}
        try:
            ddb.put_item(TableName="notes", Item={**k, "probe": S(expr)},
                         ConditionExpression=expr, **kw)
        except ClientError as e:
            assert error_of_exc(e) == (CCF, MSG)
            return False
        ddb.delete_item(TableName="notes", Key=k)
        return True

    assert ok("attribute_not_exists(noteId)")
    assert not ok("attribute_exists(noteId)")
    assert ok("a <> :v", {":v": N(1)})
    assert not ok("a = :v", {":v": N(1)})
    assert ok("NOT begins_with(a, :v)", {":v": S("")})
    assert not ok("size(a) >= :v", {":v": N(0)})
    assert ok("NOT a IN (:v)", {":v": N(1)})


def test_legacy_expected_refused(ddb, notes):
    with pytest.raises(ClientError) as e:
        ddb.put_item(TableName="notes", Item=KEY,
                     Expected={"noteId": {"Exists": False}})
    code, msg = error_of(e)
    assert code == "ValidationException" and "Expected" in msg
    assert get(ddb) is None
