"""Query and Scan, as the notes app uses them.

The notes table is keyed userId (HASH, S) / noteId (RANGE, S) where noteId
is an ISO-8601 timestamp, so "a user's notes, newest first" is a Query on
userId with ScanIndexForward=False, paged with Limit and
ExclusiveStartKey/LastEvaluatedKey. Also: every sort-key operator on S and
N sort keys, FilterExpression after Limit (Count vs ScannedCount),
Select=COUNT, nested projections, the 1 MB page limit, Scan (plain,
filtered, parallel, paged) and the validation errors DynamoDB gives, by
message.
"""
import datetime
import decimal
import random

import pytest
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

import harness
from harness import error_of

D = decimal.Decimal


def key(u, n):
    return {"userId": {"S": u}, "noteId": {"S": n}}


def stamps(count, start=datetime.datetime(2024, 1, 1, 8, 0, 0), step_min=97):
    """`count` distinct ISO timestamps in increasing order."""
    return [(start + datetime.timedelta(minutes=step_min * i))
            .strftime("%Y-%m-%dT%H:%M:%S.000Z") for i in range(count)]


def batch_put(ddb, table, items):
    for i in range(0, len(items), 25):
        out = ddb.batch_write_item(RequestItems={table: [
            {"PutRequest": {"Item": it}} for it in items[i:i + 25]]})
        assert out["UnprocessedItems"] == {}


def put_notes(ddb, user, ids, **extra):
    """Write one note per id, in a shuffled order (the server must sort)."""
    items = []
    for k, n in enumerate(ids):
        it = key(user, n)
        it["title"] = {"S": "note %s #%d" % (user, k)}
        for name, fn in extra.items():
            v = fn(k, n)
            if v is not None:
                it[name] = v
        items.append(it)
    shuffled = items[:]
    random.Random(len(ids)).shuffle(shuffled)
    batch_put(ddb, "notes", shuffled)
    return items


def pages_of(call, **kw):
    """Follow LastEvaluatedKey until it is absent; returns the pages.
    Guards against a server that loops."""
    pages = []
    start = None
    for _ in range(10000):
        args = dict(kw)
        if start is not None:
            args["ExclusiveStartKey"] = start
        page = call(**args)
        pages.append(page)
        start = page.get("LastEvaluatedKey")
        if start is None:
            return pages
    raise AssertionError("pagination did not end after 10000 pages")


def items_of(pages):
    return [it for p in pages for it in p.get("Items", [])]


def note_ids(items):
    return [it["noteId"]["S"] for it in items]


def error(call, **kw):
    with pytest.raises(ClientError) as e:
        call(**kw)
    return error_of(e)


def create_scores(ddb, name="scores", range_type="N"):
    ddb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "userId", "KeyType": "HASH"},
                   {"AttributeName": "n", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "userId", "AttributeType": "S"},
                              {"AttributeName": "n",
                               "AttributeType": range_type}])


# ------------------------------------------------ newest first, paginated

def newest_first_pages(ddb, limit):
    ids = stamps(37)
    put_notes(ddb, "u1", ids)
    # Neighbouring partitions whose encodings share a prefix with "u1".
    put_notes(ddb, "u10", stamps(5, step_min=13))
    put_notes(ddb, "u", stamps(3, step_min=11))
    put_notes(ddb, "u0", stamps(4, step_min=17))
    pages = pages_of(ddb.query, TableName="notes",
                     KeyConditionExpression="userId = :u",
                     ExpressionAttributeValues={":u": {"S": "u1"}},
                     ScanIndexForward=False, Limit=limit)
    got = note_ids(items_of(pages))
    assert got == sorted(ids, reverse=True)          # exact order
    assert len(set(got)) == len(got) == 37           # nothing twice/missing
    for it in items_of(pages):
        assert it["userId"] == {"S": "u1"}
    for p in pages[:-1]:
        # a page ends because Limit rows were evaluated; its
        # LastEvaluatedKey is the key of its last item
        assert p["Count"] == p["ScannedCount"] == limit
        assert p["LastEvaluatedKey"] == key("u1", p["Items"][-1]["noteId"]["S"])
    assert "LastEvaluatedKey" not in pages[-1]
    return pages


@pytest.mark.parametrize("limit", [2, 5, 7, 36, 38, 100])
def test_list_notes_newest_first_with_pagination(ddb, notes, limit):
    pages = newest_first_pages(ddb, limit)
    full_pages, rest = divmod(37, limit)
    assert len(pages) == full_pages + 1
    assert pages[-1]["Count"] == rest


@pytest.mark.parametrize("limit", [1, 37])
def test_page_that_reaches_limit_has_last_evaluated_key(ddb, notes, limit):
    """DynamoDB reports a LastEvaluatedKey whenever Limit items were
    evaluated, even if nothing follows ("If LastEvaluatedKey is not empty,
    it does not necessarily mean that there is more data"): 37 notes with
    Limit 37 (or 1) take one extra, empty page."""
    pages = newest_first_pages(ddb, limit)
    assert len(pages) == 37 // limit + 1
    assert pages[-1]["Count"] == 0 and pages[-1]["Items"] == []
    assert pages[-2]["LastEvaluatedKey"] == key("u1", stamps(37)[0])


def test_newest_first_and_oldest_first_are_mirror_images(ddb, notes):
    ids = stamps(23)
    put_notes(ddb, "u1", ids)
    fwd = items_of(pages_of(ddb.query, TableName="notes", Limit=4,
                            KeyConditionExpression="userId = :u",
                            ExpressionAttributeValues={":u": {"S": "u1"}}))
    back = items_of(pages_of(ddb.query, TableName="notes", Limit=4,
                             KeyConditionExpression="userId = :u",
                             ExpressionAttributeValues={":u": {"S": "u1"}},
                             ScanIndexForward=False))
    assert note_ids(fwd) == ids
    assert back == fwd[::-1]


def test_resume_from_any_key_of_the_partition(ddb, notes):
    """ExclusiveStartKey need not come from a previous page: any key
    (even one not stored) resumes strictly after it in the walk order."""
    ids = stamps(10)
    put_notes(ddb, "u1", ids)
    q = dict(TableName="notes", KeyConditionExpression="userId = :u",
             ExpressionAttributeValues={":u": {"S": "u1"}})
    got = ddb.query(ExclusiveStartKey=key("u1", ids[4]), **q)
    assert note_ids(got["Items"]) == ids[5:]
    got = ddb.query(ExclusiveStartKey=key("u1", ids[4]),
                    ScanIndexForward=False, **q)
    assert note_ids(got["Items"]) == ids[:4][::-1]
    between = ids[6] + "!"   # after ids[6], before ids[7]
    got = ddb.query(ExclusiveStartKey=key("u1", between), **q)
    assert note_ids(got["Items"]) == ids[7:]


def test_query_paginator(ddb, notes):
    ids = stamps(31)
    put_notes(ddb, "u1", ids)
    put_notes(ddb, "u2", stamps(9))
    pag = ddb.get_paginator("query")
    pages = list(pag.paginate(TableName="notes",
                              KeyConditionExpression="userId = :u",
                              ExpressionAttributeValues={":u": {"S": "u1"}},
                              ScanIndexForward=False,
                              PaginationConfig={"PageSize": 4}))
    assert [p["Count"] for p in pages] == [4] * 7 + [3]
    assert note_ids(items_of(pages)) == sorted(ids, reverse=True)
    # MaxItems and StartingToken, the paginator's own resumption
    first = pag.paginate(TableName="notes",
                         KeyConditionExpression="userId = :u",
                         ExpressionAttributeValues={":u": {"S": "u1"}},
                         ScanIndexForward=False,
                         PaginationConfig={"PageSize": 4, "MaxItems": 10}
                         ).build_full_result()
    assert note_ids(first["Items"]) == sorted(ids, reverse=True)[:10]
    rest = pag.paginate(TableName="notes",
                        KeyConditionExpression="userId = :u",
                        ExpressionAttributeValues={":u": {"S": "u1"}},
                        ScanIndexForward=False,
                        PaginationConfig={"PageSize": 4,
                                          "StartingToken": first["NextToken"]}
                        ).build_full_result()
    assert note_ids(first["Items"] + rest["Items"]) == sorted(ids, reverse=True)


def test_resource_table_query_with_key_and_attr(dynamodb):
    harness.create_notes(dynamodb.meta.client)
    table = dynamodb.Table("notes")
    ids = stamps(40, step_min=60 * 24 * 3)   # every 3 days from 2024-01-01
    with table.batch_writer() as bw:
        for k, n in enumerate(ids):
            bw.put_item(Item={"userId": "u1", "noteId": n, "pinned": k % 3 == 0,
                              "words": k * 10, "tags": {"t%d" % (k % 4)}})
        bw.put_item(Item={"userId": "u2", "noteId": ids[0], "pinned": True})

    march = [n for n in ids if n.startswith("2024-03")]
    assert march
    got = table.query(KeyConditionExpression=Key("userId").eq("u1")
                      & Key("noteId").begins_with("2024-03"),
                      ScanIndexForward=False)
    assert [i["noteId"] for i in got["Items"]] == march[::-1]

    got = table.query(KeyConditionExpression=Key("userId").eq("u1")
                      & Key("noteId").between(ids[5], ids[20]),
                      FilterExpression=Attr("pinned").eq(True)
                      & Attr("words").gte(100) & Attr("tags").contains("t2"),
                      ProjectionExpression="noteId, words")
    want = [{"noteId": n, "words": k * 10} for k, n in enumerate(ids)
            if 5 <= k <= 20 and k % 3 == 0 and k * 10 >= 100 and k % 4 == 2]
    assert got["Items"] == want
    assert got["ScannedCount"] == 16 and got["Count"] == len(want)

    # The resource follows LastEvaluatedKey by hand, as apps do.
    seen, kw = [], dict(KeyConditionExpression=Key("userId").eq("u1"),
                        ScanIndexForward=False, Limit=6)
    while True:
        page = table.query(**kw)
        seen += [i["noteId"] for i in page["Items"]]
        if "LastEvaluatedKey" not in page:
            break
        kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    assert seen == ids[::-1]

    got = table.scan(FilterExpression=Attr("pinned").eq(True)
                     & Attr("words").not_exists())
    assert got["Items"] == [{"userId": "u2", "noteId": ids[0], "pinned": True}]


# ------------------------------------------------------ sort-key operators

S_KEYS = ["0", "2024-01-01T00:00:00Z", "2024-03", "2024-03-01", "2024-03-15",
          "2024-03-31T23:59:59Z", "2024-04", "A", "Z", "a", "a\u0000",
          "ab", "abc", "b", "\u00e9t\u00e9", "\u00ff", "\u0100", "\uffff",
          "\U0001F600", "\U0001F600!"]


def bytes_key(s):
    return s.encode("utf-8")


S_OPS = [
    ("noteId = :a", {":a": "2024-03-15"}, lambda s: s == "2024-03-15"),
    ("noteId = :a", {":a": "nope"}, lambda s: False),
    ("noteId < :a", {":a": "2024-03-15"}, lambda s: s < "2024-03-15"),
    ("noteId <= :a", {":a": "2024-03-15"}, lambda s: s <= "2024-03-15"),
    ("noteId > :a", {":a": "2024-03-15"}, lambda s: s > "2024-03-15"),
    ("noteId >= :a", {":a": "2024-03-15"}, lambda s: s >= "2024-03-15"),
    ("noteId BETWEEN :a AND :b", {":a": "2024-03", ":b": "A"},
     lambda s: "2024-03" <= s <= "A"),
    ("noteId BETWEEN :a AND :b", {":a": "ab", ":b": "ab"}, lambda s: s == "ab"),
    ("noteId BETWEEN :a AND :b", {":a": "\u00ff", ":b": "\U0001F600"},
     lambda s: "\u00ff" <= s <= "\U0001F600"),
    ("begins_with(noteId, :a)", {":a": "2024-03"},
     lambda s: s.startswith("2024-03")),
    ("begins_with(noteId, :a)", {":a": "a"}, lambda s: s.startswith("a")),
    ("begins_with(noteId, :a)", {":a": "\U0001F600"},
     lambda s: s.startswith("\U0001F600")),
    ("begins_with(noteId, :a)", {":a": "\u00ff"},
     lambda s: s.startswith("\u00ff")),
    # reversed operands: ":a < noteId" means noteId > :a
    (":a < noteId", {":a": "b"}, lambda s: s > "b"),
    (":a >= noteId", {":a": "b"}, lambda s: s <= "b"),
    (":a = noteId", {":a": "abc"}, lambda s: s == "abc"),
]


@pytest.mark.parametrize("cond,vals,pred", S_OPS,
                         ids=["%s %s" % (c, list(v.values())) for c, v, _ in
                              S_OPS])
def test_string_sort_key_operators(ddb, notes, cond, vals, pred):
    put_notes(ddb, "u1", S_KEYS)
    put_notes(ddb, "u2", S_KEYS)
    # DynamoDB orders S by UTF-8 bytes (= code point order; not UTF-16)
    order = sorted(S_KEYS, key=bytes_key)
    want = [s for s in order if pred(s)]
    values = {":u": {"S": "u1"}}
    values.update({k: {"S": v} for k, v in vals.items()})
    for fwd in (True, False):
        for limit in (None, 2):
            kw = dict(TableName="notes",
                      KeyConditionExpression="userId = :u AND " + cond,
                      ExpressionAttributeValues=values, ScanIndexForward=fwd)
            if limit:
                kw["Limit"] = limit
            got = note_ids(items_of(pages_of(ddb.query, **kw)))
            assert got == (want if fwd else want[::-1]), (cond, fwd, limit)


N_KEYS = ["-1E+20", "-100", "-10.5", "-10", "-9.99", "-1", "-0.5", "-0.001",
          "-1E-30", "0", "1E-30", "0.001", "0.01", "0.1", "0.5", "1", "1.5",
          "2", "9", "9.5", "10", "10.25", "11", "99", "100", "1000.0001",
          "123456789012345678901234567890.12345678", "1E+20", "1E+100"]


N_OPS = [
    ("n = :a", {":a": "10"}, lambda x: x == D("10")),
    ("n = :a", {":a": "10.000"}, lambda x: x == D("10")),
    ("n < :a", {":a": "0"}, lambda x: x < 0),
    ("n <= :a", {":a": "-0.5"}, lambda x: x <= D("-0.5")),
    ("n > :a", {":a": "9.5"}, lambda x: x > D("9.5")),
    ("n >= :a", {":a": "9.5"}, lambda x: x >= D("9.5")),
    ("n > :a", {":a": "-10"}, lambda x: x > -10),
    ("n BETWEEN :a AND :b", {":a": "-10", ":b": "10"},
     lambda x: -10 <= x <= 10),
    ("n BETWEEN :a AND :b", {":a": "-0.01", ":b": "0.01"},
     lambda x: D("-0.01") <= x <= D("0.01")),
    ("n BETWEEN :a AND :b", {":a": "2", ":b": "2"}, lambda x: x == 2),
    ("n BETWEEN :a AND :b", {":a": "1E+19", ":b": "1E+101"},
     lambda x: D("1E19") <= x <= D("1E101")),
    (":a > n", {":a": "1"}, lambda x: x < 1),
]


@pytest.mark.parametrize("cond,vals,pred", N_OPS,
                         ids=["%s %s" % (c, list(v.values())) for c, v, _ in
                              N_OPS])
def test_number_sort_key_operators(ddb, cond, vals, pred):
    create_scores(ddb)
    batch_put(ddb, "scores", [{"userId": {"S": u}, "n": {"N": n}}
                              for u in ("u1", "u2") for n in N_KEYS])
    order = sorted(N_KEYS, key=D)
    want = [D(n) for n in order if pred(D(n))]
    values = {":u": {"S": "u1"}}
    values.update({k: {"N": v} for k, v in vals.items()})
    for fwd in (True, False):
        for limit in (None, 3):
            kw = dict(TableName="scores",
                      KeyConditionExpression="userId = :u AND " + cond,
                      ExpressionAttributeValues=values, ScanIndexForward=fwd)
            if limit:
                kw["Limit"] = limit
            got = [D(it["n"]["N"]) for it in items_of(pages_of(ddb.query,
                                                                **kw))]
            assert got == (want if fwd else want[::-1]), (cond, fwd, limit)


def test_number_sort_key_full_order_and_canonical_keys(ddb):
    create_scores(ddb)
    batch_put(ddb, "scores", [{"userId": {"S": "u1"}, "n": {"N": n}}
                              for n in N_KEYS])
    got = ddb.query(TableName="scores", KeyConditionExpression="userId = :u",
                    ExpressionAttributeValues={":u": {"S": "u1"}})["Items"]
    assert [D(i["n"]["N"]) for i in got] == sorted(D(n) for n in N_KEYS)
    # numbers come back in canonical form
    assert got[0]["n"] == {"N": "-100000000000000000000"}
    assert {"N": "1000.0001"} in [i["n"] for i in got]
    # paging on an N key: the LastEvaluatedKey is a number
    page = ddb.query(TableName="scores", KeyConditionExpression="userId = :u",
                     ExpressionAttributeValues={":u": {"S": "u1"}}, Limit=2,
                     ScanIndexForward=False)
    big = "123456789012345678901234567890.12345678"
    assert [i["n"]["N"] for i in page["Items"]] == ["1" + "0" * 100, big]
    assert page["LastEvaluatedKey"] == {"userId": {"S": "u1"},
                                        "n": {"N": big}}


def test_binary_sort_key_orders_unsigned(ddb):
    create_scores(ddb, "blobs", range_type="B")
    vals = [b"", b"\x00", b"\x00\x00", b"\x01", b"\x7f", b"\x80", b"\x80\x00",
            b"\xfe", b"\xff", b"\xff\xff"]
    batch_put(ddb, "blobs", [{"userId": {"S": "u"}, "n": {"B": v}}
                             for v in vals if v])
    # (an empty binary is not a valid key value)
    got = ddb.query(TableName="blobs",
                    KeyConditionExpression="userId = :u AND n > :b",
                    ExpressionAttributeValues={":u": {"S": "u"},
                                               ":b": {"B": b"\x7f"}})["Items"]
    assert [i["n"]["B"] for i in got] == [b"\x80", b"\x80\x00", b"\xfe", b"\xff",
                                          b"\xff\xff"]
    got = ddb.query(TableName="blobs",
                    KeyConditionExpression="userId = :u AND begins_with(n, :b)",
                    ExpressionAttributeValues={":u": {"S": "u"},
                                               ":b": {"B": b"\x00"}})["Items"]
    assert [i["n"]["B"] for i in got] == [b"\x00", b"\x00\x00"]


def test_hash_only_table_query(ddb):
    ddb.create_table(TableName="users", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id",
                                            "AttributeType": "S"}])
    for i in range(5):
        ddb.put_item(TableName="users", Item={"id": {"S": "u%d" % i}})
    got = ddb.query(TableName="users", KeyConditionExpression="id = :u",
                    ExpressionAttributeValues={":u": {"S": "u3"}})
    assert got["Items"] == [{"id": {"S": "u3"}}]
    assert got["Count"] == got["ScannedCount"] == 1
    got = ddb.query(TableName="users", KeyConditionExpression="id = :u",
                    ExpressionAttributeValues={":u": {"S": "u"}})
    assert got["Items"] == [] and got["Count"] == 0


def test_key_condition_with_names_and_parentheses(ddb, notes):
    ids = stamps(6)
    put_notes(ddb, "u1", ids)
    got = ddb.query(TableName="notes",
                    KeyConditionExpression="(#n > :n) AND (#u = :u)",
                    ExpressionAttributeNames={"#u": "userId", "#n": "noteId"},
                    ExpressionAttributeValues={":u": {"S": "u1"},
                                               ":n": {"S": ids[2]}})
    assert note_ids(got["Items"]) == ids[3:]


# ------------------------------------------- filter, count, projection

def test_filter_is_applied_after_limit(ddb, notes):
    ids = stamps(20)
    put_notes(ddb, "u1", ids,
              pinned=lambda k, n: {"BOOL": True} if k % 4 == 0 else None)
    q = dict(TableName="notes", KeyConditionExpression="userId = :u",
             FilterExpression="pinned = :t",
             ExpressionAttributeValues={":u": {"S": "u1"},
                                        ":t": {"BOOL": True}})
    page = ddb.query(Limit=6, **q)
    # 6 rows evaluated, of which ids 0 and 4 are pinned
    assert page["ScannedCount"] == 6
    assert page["Count"] == 2
    assert note_ids(page["Items"]) == [ids[0], ids[4]]
    assert page["LastEvaluatedKey"] == key("u1", ids[5])

    # a page may be empty and still carry a LastEvaluatedKey
    page = ddb.query(Limit=3, ExclusiveStartKey=key("u1", ids[0]), **q)
    assert page["Items"] == [] and page["Count"] == 0
    assert page["ScannedCount"] == 3
    assert page["LastEvaluatedKey"] == key("u1", ids[3])

    pages = pages_of(ddb.query, Limit=6, **q)
    assert [(p["Count"], p["ScannedCount"]) for p in pages] == [
        (2, 6), (1, 6), (2, 6), (0, 2)]
    assert note_ids(items_of(pages)) == [ids[k] for k in range(0, 20, 4)]

    # no Limit: everything evaluated in one page
    page = ddb.query(**q)
    assert page["Count"] == 5 and page["ScannedCount"] == 20
    assert "LastEvaluatedKey" not in page


def test_select_count(ddb, notes):
    ids = stamps(12)
    put_notes(ddb, "u1", ids,
              pinned=lambda k, n: {"BOOL": k % 2 == 0})
    got = ddb.query(TableName="notes", KeyConditionExpression="userId = :u",
                    ExpressionAttributeValues={":u": {"S": "u1"}},
                    Select="COUNT")
    assert "Items" not in got
    assert got["Count"] == got["ScannedCount"] == 12
    got = ddb.query(TableName="notes", KeyConditionExpression="userId = :u",
                    FilterExpression="pinned = :t",
                    ExpressionAttributeValues={":u": {"S": "u1"},
                                               ":t": {"BOOL": True}},
                    Select="COUNT", Limit=5)
    assert "Items" not in got
    assert got["Count"] == 3 and got["ScannedCount"] == 5
    assert got["LastEvaluatedKey"] == key("u1", ids[4])
    got = ddb.scan(TableName="notes", Select="COUNT")
    assert "Items" not in got and got["Count"] == 12
    # COUNT and a projection do not go together
    code, msg = error(ddb.query, TableName="notes", Select="COUNT",
                      KeyConditionExpression="userId = :u",
                      ProjectionExpression="title",
                      ExpressionAttributeValues={":u": {"S": "u1"}})
    assert code == "ValidationException"
    assert "Cannot specify the ProjectionExpression when choosing to get " \
           "only the Count" in msg


def test_select_all_attributes_and_specific(ddb, notes):
    put_notes(ddb, "u1", ["a"], body=lambda k, n: {"S": "text"})
    got = ddb.query(TableName="notes", KeyConditionExpression="userId = :u",
                    ExpressionAttributeValues={":u": {"S": "u1"}},
                    Select="ALL_ATTRIBUTES")
    assert got["Items"] == [{"userId": {"S": "u1"}, "noteId": {"S": "a"},
                             "title": {"S": "note u1 #0"},
                             "body": {"S": "text"}}]
    got = ddb.query(TableName="notes", KeyConditionExpression="userId = :u",
                    ExpressionAttributeValues={":u": {"S": "u1"}},
                    Select="SPECIFIC_ATTRIBUTES", ProjectionExpression="body")
    assert got["Items"] == [{"body": {"S": "text"}}]


NESTED = {
    "userId": {"S": "u1"}, "noteId": {"S": "n1"},
    "title": {"S": "hello"},
    "meta": {"M": {
        "a": {"M": {"b": {"L": [{"N": "10"}, {"N": "20"},
                                {"M": {"c": {"S": "x"}, "d": {"S": "y"}}},
                                {"L": [{"S": "p"}, {"S": "q"}]}]}}},
        "z": {"BOOL": True}}},
    "tags": {"L": [{"S": "t0"}, {"S": "t1"}, {"S": "t2"}]},
}


@pytest.mark.parametrize("proj,names,want", [
    ("meta.a.b[2].c, meta.a.b[0], title", None,
     {"meta": {"M": {"a": {"M": {"b": {"L": [
         {"N": "10"}, {"M": {"c": {"S": "x"}}}]}}}}},
      "title": {"S": "hello"}}),
    ("tags[2], tags[0]", None, {"tags": {"L": [{"S": "t0"}, {"S": "t2"}]}}),
    ("tags[7]", None, {}),
    ("meta.a.b[3][1]", None,
     {"meta": {"M": {"a": {"M": {"b": {"L": [{"L": [{"S": "q"}]}]}}}}}}),
    ("#m.#z, noteId", {"#m": "meta", "#z": "z"},
     {"meta": {"M": {"z": {"BOOL": True}}}, "noteId": {"S": "n1"}}),
    ("meta.nope, title.x, tags.y", None, {}),
])
def test_projection_with_nested_paths(ddb, notes, proj, names, want):
    ddb.put_item(TableName="notes", Item=NESTED)
    kw = dict(TableName="notes", KeyConditionExpression="userId = :u",
              ExpressionAttributeValues={":u": {"S": "u1"}},
              ProjectionExpression=proj)
    if names:
        kw["ExpressionAttributeNames"] = names
    assert ddb.query(**kw)["Items"] == [want]
    del kw["KeyConditionExpression"]
    del kw["ExpressionAttributeValues"]
    assert ddb.scan(**kw)["Items"] == [want]
    assert ddb.get_item(TableName="notes", Key=key("u1", "n1"),
                        **{k: v for k, v in kw.items() if k != "TableName"}
                        ).get("Item", {}) == want


def test_filter_on_nested_paths(ddb, notes):
    ddb.put_item(TableName="notes", Item=NESTED)
    ddb.put_item(TableName="notes", Item={**key("u1", "n2"),
                                          "meta": {"M": {"z": {"BOOL": False}}}})
    got = ddb.query(TableName="notes", KeyConditionExpression="userId = :u",
                    FilterExpression="meta.a.b[2].c = :x AND size(tags) = :3",
                    ExpressionAttributeValues={":u": {"S": "u1"},
                                               ":x": {"S": "x"},
                                               ":3": {"N": "3"}},
                    ProjectionExpression="noteId")
    assert got["Items"] == [{"noteId": {"S": "n1"}}]
    assert got["ScannedCount"] == 2


# ------------------------------------------------------- the 1 MB page

BIG = 100 * 1024


def put_big_notes(ddb, user, count):
    ids = stamps(count)
    for k, n in enumerate(ids):
        ddb.put_item(TableName="notes", Item={
            **key(user, n), "body": {"S": chr(ord("a") + k % 26) * BIG},
            "k": {"N": str(k)}})
    return ids


def item_size(it):
    """DynamoDB's item size, close enough for strings and numbers."""
    size = 0
    for name, v in it.items():
        size += len(name.encode())
        (t, x), = v.items()
        size += len(x.encode()) if t == "S" else len(x)
    return size


def check_mb_pages(pages, n_items):
    assert len(pages) >= 3
    for p in pages[:-1]:
        assert "LastEvaluatedKey" in p
        assert p["ScannedCount"] >= 1
        # a page stops at about 1 MB of evaluated data: 100 KB items give
        # 10 or 11 per page (never all 30)
        assert 9 <= p["ScannedCount"] <= 11, [q["ScannedCount"] for q in pages]
    assert "LastEvaluatedKey" not in pages[-1]
    assert sum(p["ScannedCount"] for p in pages) == n_items


def test_one_megabyte_page_limit_query(ddb, notes):
    ids = put_big_notes(ddb, "big", 30)
    pages = pages_of(ddb.query, TableName="notes",
                     KeyConditionExpression="userId = :u",
                     ExpressionAttributeValues={":u": {"S": "big"}},
                     ScanIndexForward=False)
    check_mb_pages(pages, 30)
    got = items_of(pages)
    assert note_ids(got) == ids[::-1]
    assert all(len(i["body"]["S"]) == BIG for i in got)
    for p in pages:
        assert sum(item_size(i) for i in p["Items"]) <= 1024 * 1024 + BIG + 200
    for p in pages[:-1]:
        assert p["LastEvaluatedKey"] == key("big", p["Items"][-1]["noteId"]["S"])

    # The 1 MB counts evaluated items, before the filter and the projection
    pages = pages_of(ddb.query, TableName="notes",
                     KeyConditionExpression="userId = :u",
                     FilterExpression="k = :k",
                     ProjectionExpression="noteId",
                     ExpressionAttributeValues={":u": {"S": "big"},
                                                ":k": {"N": "17"}})
    check_mb_pages(pages, 30)
    assert items_of(pages) == [{"noteId": {"S": ids[17]}}]
    # ... and with Select=COUNT
    pages = pages_of(ddb.query, TableName="notes", Select="COUNT",
                     KeyConditionExpression="userId = :u",
                     ExpressionAttributeValues={":u": {"S": "big"}})
    check_mb_pages(pages, 30)
    assert sum(p["Count"] for p in pages) == 30
    # a Limit under the 1 MB mark wins
    page = ddb.query(TableName="notes", KeyConditionExpression="userId = :u",
                     ExpressionAttributeValues={":u": {"S": "big"}}, Limit=4)
    assert page["Count"] == 4


def test_one_megabyte_page_limit_scan(ddb, notes):
    put_big_notes(ddb, "big1", 15)
    put_big_notes(ddb, "big2", 15)
    pages = pages_of(ddb.scan, TableName="notes")
    check_mb_pages(pages, 30)
    got = items_of(pages)
    keys = [(i["userId"]["S"], i["noteId"]["S"]) for i in got]
    assert len(set(keys)) == 30


# ------------------------------------------------------------------ Scan

def make_scan_data(ddb, users=40, per_user=5):
    items = []
    for u in range(users):
        for k, n in enumerate(stamps(per_user)):
            items.append({**key("user%03d" % u, n),
                          "u": {"N": str(u)}, "k": {"N": str(k)},
                          "even": {"BOOL": (u + k) % 2 == 0}})
    batch_put(ddb, "notes", items)
    return items


def keyset(items):
    return [(i["userId"]["S"], i["noteId"]["S"]) for i in items]


def test_scan_everything_and_with_filter(ddb, notes):
    items = make_scan_data(ddb)
    got = ddb.scan(TableName="notes")
    assert got["Count"] == got["ScannedCount"] == 200
    assert "LastEvaluatedKey" not in got
    assert sorted(keyset(got["Items"])) == sorted(keyset(items))
    # Items of one partition come together and in sort-key order
    seen = []
    for u, n in keyset(got["Items"]):
        if not seen or seen[-1][0] != u:
            assert u not in [s[0] for s in seen], "partition split by scan"
            seen.append((u, []))
        seen[-1][1].append(n)
    for u, ns in seen:
        assert ns == sorted(ns)

    got = ddb.scan(TableName="notes",
                   FilterExpression="even = :t AND k >= :two",
                   ExpressionAttributeValues={":t": {"BOOL": True},
                                              ":two": {"N": "2"}})
    want = [i for i in items if i["even"]["BOOL"] and int(i["k"]["N"]) >= 2]
    assert sorted(keyset(got["Items"])) == sorted(keyset(want))
    assert got["Count"] == len(want) and got["ScannedCount"] == 200


@pytest.mark.parametrize("limit", [1, 7, 50, 199, 200])
def test_scan_pagination(ddb, notes, limit):
    items = make_scan_data(ddb)
    pages = pages_of(ddb.scan, TableName="notes", Limit=limit,
                     FilterExpression="k <> :three",
                     ExpressionAttributeValues={":three": {"N": "3"}})
    got = keyset(items_of(pages))
    want = [k for k, i in zip(keyset(items), items) if i["k"]["N"] != "3"]
    assert len(got) == len(set(got)) == len(want)
    assert sorted(got) == sorted(want)
    for p in pages[:-1]:
        assert p["ScannedCount"] == limit
    assert sum(p["ScannedCount"] for p in pages) == 200
    # pages come in the same order as the unpaged scan
    whole = [k for k in keyset(ddb.scan(TableName="notes")["Items"])
             if k in set(want)]
    assert got == whole


def test_scan_paginator_and_resource(ddb, dynamodb, notes):
    items = make_scan_data(ddb, users=13, per_user=3)
    pages = list(ddb.get_paginator("scan").paginate(
        TableName="notes", PaginationConfig={"PageSize": 5}))
    assert [p["Count"] for p in pages][:-1] == [5] * (len(pages) - 1)
    assert sorted(keyset(items_of(pages))) == sorted(keyset(items))
    table = dynamodb.Table("notes")
    got = table.scan(FilterExpression=Attr("u").between(3, 5)
                     & Attr("even").eq(False))["Items"]
    want = [(i["userId"]["S"], i["noteId"]["S"]) for i in items
            if 3 <= int(i["u"]["N"]) <= 5 and not i["even"]["BOOL"]]
    assert sorted((i["userId"], i["noteId"]) for i in got) == sorted(want)


@pytest.mark.parametrize("total", [1, 2, 3, 7, 16])
def test_parallel_scan_segments_partition_the_table(ddb, notes, total):
    items = make_scan_data(ddb, users=60, per_user=3)
    union = []
    nonempty = 0
    for seg in range(total):
        pages = pages_of(ddb.scan, TableName="notes", Segment=seg,
                         TotalSegments=total, Limit=11)
        got = keyset(items_of(pages))
        nonempty += bool(got)
        # a partition never straddles two segments
        union += got
    assert len(union) == len(set(union)) == 180
    assert sorted(union) == sorted(keyset(items))
    by_seg = {}
    for seg in range(total):
        for u, _ in keyset(ddb.scan(TableName="notes", Segment=seg,
                                    TotalSegments=total)["Items"]):
            by_seg.setdefault(u, set()).add(seg)
    assert all(len(s) == 1 for s in by_seg.values())
    if total <= 7:
        # 60 partitions spread over the segments (hash order): none of a
        # handful of segments is empty
        assert nonempty == total


def test_parallel_scan_with_filter_and_count(ddb, notes):
    items = make_scan_data(ddb, users=30, per_user=4)
    total = 4
    count = scanned = 0
    for seg in range(total):
        for p in pages_of(ddb.scan, TableName="notes", Segment=seg,
                          TotalSegments=total, Select="COUNT",
                          FilterExpression="even = :f",
                          ExpressionAttributeValues={":f": {"BOOL": False}}):
            count += p["Count"]
            scanned += p["ScannedCount"]
    assert scanned == 120
    assert count == sum(1 for i in items if not i["even"]["BOOL"])


def test_parallel_scan_start_key_in_another_segment(ddb, notes):
    """Scylla's tests (written against DynamoDB): ExclusiveStartKey must
    lie within the requested segment."""
    make_scan_data(ddb, users=40, per_user=1)
    seg0 = ddb.scan(TableName="notes", Segment=0, TotalSegments=2)["Items"]
    seg1 = ddb.scan(TableName="notes", Segment=1, TotalSegments=2)["Items"]
    assert seg0 and seg1
    outsider = {"userId": seg1[0]["userId"], "noteId": seg1[0]["noteId"]}
    code, msg = error(ddb.scan, TableName="notes", Segment=0, TotalSegments=2,
                      ExclusiveStartKey=outsider)
    assert code == "ValidationException"
    assert msg == ("The provided Exclusive start key does not map to the "
                   "provided Segment and TotalSegments values.")


def test_scan_empty_table(ddb, notes):
    got = ddb.scan(TableName="notes")
    assert got["Items"] == [] and got["Count"] == got["ScannedCount"] == 0
    assert "LastEvaluatedKey" not in got
    got = ddb.scan(TableName="notes", Segment=5, TotalSegments=16)
    assert got["Items"] == []


# ---------------------------------------------------------------- errors

def test_query_without_key_condition(ddb, notes):
    code, msg = error(ddb.query, TableName="notes")
    assert code == "ValidationException"
    assert msg == ("Either the KeyConditions or KeyConditionExpression "
                   "parameter must be specified in the request.")


@pytest.mark.parametrize("cond,vals,text", [
    ("noteId = :n", {":n": "x"},
     "Query condition missed key schema element: userId"),
    ("userId = :u AND title = :n", {":u": "u1", ":n": "x"},
     "Query condition missed key schema element: noteId"),
    ("title = :n", {":n": "x"},
     "Query condition missed key schema element: userId"),
    ("userId = :u OR noteId = :n", {":u": "u1", ":n": "x"},
     "Invalid operator used in KeyConditionExpression: OR"),
    ("userId = :u AND NOT noteId = :n", {":u": "u1", ":n": "x"},
     "Invalid operator used in KeyConditionExpression: NOT"),
    ("userId = :u AND noteId <> :n", {":u": "u1", ":n": "x"},
     "Invalid operator used in KeyConditionExpression: <>"),
    ("userId = :u AND noteId IN (:n)", {":u": "u1", ":n": "x"},
     "Invalid operator used in KeyConditionExpression: IN"),
    ("userId < :u", {":u": "u1"}, "Query key condition not supported"),
    ("begins_with(userId, :u)", {":u": "u1"},
     "Query key condition not supported"),
    ("userId = :u AND noteId > :n AND title < :n", {":u": "u1", ":n": "x"},
     "Conditions can be of length 1 or 2 only"),
    ("userId = :u AND noteId > :n AND noteId < :n", {":u": "u1", ":n": "x"},
     None),
    ("userId = :u AND userId = :u", {":u": "u1"},
     "KeyConditionExpressions must only contain one condition per key"),
    ("userId = :u AND attribute_exists(noteId)", {":u": "u1"},
     "attribute_exists"),
    ("userId = :u AND noteId.x = :n", {":u": "u1", ":n": "x"},
     "KeyConditionExpressions cannot have conditions on nested attributes"),
    ("userId = :u AND noteId = userId", {":u": "u1"}, None),
    ("userId = :u AND noteId == :n", {":u": "u1", ":n": "x"},
     'Invalid KeyConditionExpression: Syntax error; token: "=", near: "== :n"'),
])
def test_bad_key_conditions(ddb, notes, cond, vals, text):
    code, msg = error(ddb.query, TableName="notes",
                      KeyConditionExpression=cond,
                      ExpressionAttributeValues={k: {"S": v}
                                                 for k, v in vals.items()})
    assert code == "ValidationException"
    if text:
        assert text in msg, msg


def test_key_condition_type_mismatch(ddb, notes):
    code, msg = error(ddb.query, TableName="notes",
                      KeyConditionExpression="userId = :u",
                      ExpressionAttributeValues={":u": {"N": "1"}})
    assert code == "ValidationException"
    assert msg == ("One or more parameter values were invalid: Condition "
                   "parameter type does not match schema type")
    create_scores(ddb)
    code, msg = error(ddb.query, TableName="scores",
                      KeyConditionExpression="userId = :u AND "
                                             "begins_with(n, :n)",
                      ExpressionAttributeValues={":u": {"S": "u"},
                                                 ":n": {"N": "1"}})
    assert code == "ValidationException" and "begins_with" in msg


def test_key_condition_placeholders_checked(ddb, notes):
    code, msg = error(ddb.query, TableName="notes",
                      KeyConditionExpression="userId = :u",
                      ExpressionAttributeValues={":u": {"S": "u"},
                                                 ":extra": {"S": "x"}})
    assert code == "ValidationException"
    assert msg == ("Value provided in ExpressionAttributeValues unused in "
                   "expressions: keys: {:extra}")
    code, msg = error(ddb.query, TableName="notes",
                      KeyConditionExpression="userId = :u")
    assert code == "ValidationException"
    assert "An expression attribute value used in expression is not " \
           "defined; attribute value: :u" in msg


def test_scan_segment_errors(ddb, notes):
    code, msg = error(ddb.scan, TableName="notes", Segment=0)
    assert code == "ValidationException"
    assert msg == ("The TotalSegments parameter is required but was not "
                   "present in the request when Segment parameter is present")
    code, msg = error(ddb.scan, TableName="notes", TotalSegments=2)
    assert code == "ValidationException"
    assert msg == ("The Segment parameter is required but was not present in "
                   "the request when parameter TotalSegments is present")
    code, msg = error(ddb.scan, TableName="notes", Segment=3, TotalSegments=3)
    assert code == "ValidationException"
    assert msg == ("The Segment parameter is zero-based and must be less than "
                   "parameter TotalSegments: Segment: 3 is not less than "
                   "TotalSegments: 3")
    code, msg = error(ddb.scan, TableName="notes", Segment=7, TotalSegments=2)
    assert code == "ValidationException"
    assert "Segment: 7 is not less than TotalSegments: 2" in msg


def test_scan_segment_range_errors(ddb_nv, notes):
    code, msg = error(ddb_nv.scan, TableName="notes", Segment=0,
                      TotalSegments=0)
    assert code == "ValidationException"
    assert "Value '0' at 'totalSegments' failed to satisfy constraint: " \
           "Member must have value greater than or equal to 1" in msg
    code, msg = error(ddb_nv.scan, TableName="notes", Segment=-1,
                      TotalSegments=2)
    assert code == "ValidationException"
    assert "Value '-1' at 'segment' failed to satisfy constraint: Member " \
           "must have value greater than or equal to 0" in msg
    code, msg = error(ddb_nv.scan, TableName="notes", Segment=0,
                      TotalSegments=1000001)
    assert code == "ValidationException"
    assert "Member must have value less than or equal to 1000000" in msg


@pytest.mark.parametrize("op", ["query", "scan"])
def test_limit_zero(ddb_nv, notes, op):
    kw = dict(TableName="notes", Limit=0)
    if op == "query":
        kw.update(KeyConditionExpression="userId = :u",
                  ExpressionAttributeValues={":u": {"S": "u1"}})
    code, msg = error(getattr(ddb_nv, op), **kw)
    assert code == "ValidationException"
    assert msg == ("1 validation error detected: Value '0' at 'limit' failed "
                   "to satisfy constraint: Member must have value greater "
                   "than or equal to 1")


@pytest.mark.parametrize("start", [
    {"userId": {"S": "u1"}},                                     # no range
    {"noteId": {"S": "a"}},                                      # no hash
    {"userId": {"S": "u1"}, "noteId": {"N": "1"}},               # wrong type
    {"userId": {"N": "1"}, "noteId": {"S": "a"}},                # wrong type
    {"userId": {"S": "u1"}, "other": {"S": "a"}},                # wrong name
], ids=["no-range", "no-hash", "range-type", "hash-type", "wrong-name"])
@pytest.mark.parametrize("op", ["query", "scan"])
def test_exclusive_start_key_not_matching_schema(ddb, notes, op, start):
    put_notes(ddb, "u1", ["a", "b"])
    kw = dict(TableName="notes", ExclusiveStartKey=start)
    if op == "query":
        kw.update(KeyConditionExpression="userId = :u",
                  ExpressionAttributeValues={":u": {"S": "u1"}})
    code, msg = error(getattr(ddb, op), **kw)
    assert code == "ValidationException"
    assert msg.startswith("The provided starting key is invalid"), msg


def test_exclusive_start_key_with_extra_attribute(ddb, notes):
    put_notes(ddb, "u1", ["a", "b"])
    code, msg = error(ddb.scan, TableName="notes",
                      ExclusiveStartKey={**key("u1", "a"),
                                         "title": {"S": "x"}})
    assert code == "ValidationException"
    assert msg.startswith("The provided starting key is invalid"), msg


def test_query_start_key_outside_the_partition(ddb, notes):
    """dynalite (modelled on DynamoDB): a Query's ExclusiveStartKey must lie
    in the queried partition."""
    put_notes(ddb, "u1", ["a", "b"])
    put_notes(ddb, "u2", ["a", "b"])
    code, msg = error(ddb.query, TableName="notes",
                      KeyConditionExpression="userId = :u",
                      ExpressionAttributeValues={":u": {"S": "u1"}},
                      ExclusiveStartKey=key("u2", "a"))
    assert code == "ValidationException"
    assert "The provided starting key is outside query boundaries based on " \
           "provided conditions" in msg, msg


def test_unknown_index_and_legacy_parameters_refused(ddb, notes):
    code, msg = error(ddb.query, TableName="notes", IndexName="byTitle",
                      KeyConditionExpression="userId = :u",
                      ExpressionAttributeValues={":u": {"S": "u1"}})
    assert code == "ValidationException"
    assert msg == "The table does not have the specified index: byTitle"
    code, msg = error(ddb.query, TableName="notes", KeyConditions={
        "userId": {"ComparisonOperator": "EQ",
                   "AttributeValueList": [{"S": "u1"}]}})
    assert code == "ValidationException" and "KeyConditions" in msg
    code, msg = error(ddb.scan, TableName="notes", ScanFilter={
        "title": {"ComparisonOperator": "NOT_NULL"}})
    assert code == "ValidationException" and "ScanFilter" in msg


def test_query_and_scan_missing_table(ddb):
    code, _ = error(ddb.query, TableName="nope",
                    KeyConditionExpression="userId = :u",
                    ExpressionAttributeValues={":u": {"S": "u1"}})
    assert code == "ResourceNotFoundException"
    code, _ = error(ddb.scan, TableName="nope")
    assert code == "ResourceNotFoundException"


def test_bad_filter_expression_messages(ddb, notes):
    code, msg = error(ddb.scan, TableName="notes",
                      FilterExpression="name = :n",
                      ExpressionAttributeValues={":n": {"S": "x"}})
    assert code == "ValidationException"
    assert msg == ("Invalid FilterExpression: Attribute name is a reserved "
                   "keyword; reserved keyword: name")
    code, msg = error(ddb.scan, TableName="notes",
                      FilterExpression="title = :n AND")
    assert code == "ValidationException"
    assert msg.startswith("Invalid FilterExpression: Syntax error; token: "
                          "\"<EOF>\"")


@pytest.mark.parametrize("attr", ["noteId", "userId"])
def test_query_filter_on_key_attribute_refused(ddb, notes, attr):
    """DynamoDB: a Query's FilterExpression may not name a key attribute
    (Scan's may)."""
    code, msg = error(ddb.query, TableName="notes",
                      KeyConditionExpression="userId = :u",
                      FilterExpression="#k > :n",
                      ExpressionAttributeNames={"#k": attr},
                      ExpressionAttributeValues={":u": {"S": "u"},
                                                 ":n": {"S": "x"}})
    assert code == "ValidationException"
    assert msg == ("Filter Expression can only contain non-primary key "
                   "attributes: Primary key attribute: " + attr)


def test_scan_filter_on_key_attributes_allowed(ddb, notes):
    put_notes(ddb, "u1", ["a", "b", "c"])
    got = ddb.scan(TableName="notes", FilterExpression="noteId > :n AND "
                   "userId = :u", ExpressionAttributeValues={
                       ":n": {"S": "a"}, ":u": {"S": "u1"}})
    assert sorted(note_ids(got["Items"])) == ["b", "c"]
