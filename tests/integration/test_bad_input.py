"""The bad-input test: a server with known tables and items receives a
battery of bad requests. Each must get an error of the right shape (HTTP
400/413 with a JSON __type; never a 500, never a dropped connection for
well-formed HTTP), the server must stay up, and afterwards every table and
every item must be byte-for-byte what it was.

The base requests below are valid; the battery spoils one thing at a time.
Mutating bases (PutItem over an existing item, DeleteItem of one, UpdateTable,
DeleteTable of a known table, CreateTable of a new one) make any bad request
that a server wrongly accepts show up in the final state comparison. The
test ends by sending the unspoiled bases, which must succeed: proof that it
was the spoiling that made the battery fail.
"""

import copy
import http.client
import json
import socket
import time

import botocore.session
import pytest

import harness

SIXTEEN_MB = 16 * 1024 * 1024
ERROR_STATUSES = (400, 413)

MODEL = botocore.session.get_session().get_service_model("dynamodb")


def k(u, n):
    return {"userId": {"S": u}, "noteId": {"S": n}}


# ------------------------------------------------------------- known state

TABLES = {
    "notes": {
        "KeySchema": [{"AttributeName": "userId", "KeyType": "HASH"},
                      {"AttributeName": "noteId", "KeyType": "RANGE"}],
        "AttributeDefinitions": [
            {"AttributeName": "userId", "AttributeType": "S"},
            {"AttributeName": "noteId", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST"},
    "metrics": {
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"},
                      {"AttributeName": "at", "KeyType": "RANGE"}],
        "AttributeDefinitions": [
            {"AttributeName": "id", "AttributeType": "N"},
            {"AttributeName": "at", "AttributeType": "N"}],
        "BillingMode": "PROVISIONED",
        "ProvisionedThroughput": {"ReadCapacityUnits": 5,
                                  "WriteCapacityUnits": 5}},
    "blobs": {
        "KeySchema": [{"AttributeName": "h", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "h",
                                  "AttributeType": "B"}],
        "BillingMode": "PAY_PER_REQUEST"},
    "empty.table_1": {
        "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "k",
                                  "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST"},
}


def b64(data):
    import base64
    return base64.b64encode(data).decode()


ITEMS = [
    ("notes", dict(k("u1", "n1"), body={"S": "first note"},
                   n={"N": "12345678901234567890123456789012345678"})),
    ("notes", dict(k("u1", "n2"), body={"S": "second"},
                   tags={"SS": ["a", "b"]}, blob={"B": b64(b"\x00\xff")})),
    ("notes", dict(k("u1", "n3"), m={"M": {"l": {"L": [
        {"NULL": True}, {"BOOL": False}, {"NS": ["1", "2.5"]},
        {"BS": [b64(b"x")]}]}}}, empty={"S": ""})),
    ("notes", dict(k("u2", "n1"), body={"S": "ünïcödé ✓ \U0001F600"})),
    ("notes", dict(k("weird key \u00e9", "n/1#2"), body={"S": "x" * 5000})),
    # Numbers in canonical form, as they read back.
    ("metrics", {"id": {"N": "1"}, "at": {"N": "1.5"},
                 "v": {"N": "-0." + "0" * 129 + "1"}}),
    ("metrics", {"id": {"N": "1"}, "at": {"N": "2"},
                 "v": {"N": "99" + "0" * 124}}),
    ("metrics", {"id": {"N": "-7"}, "at": {"N": "0"}, "v": {"BOOL": True}}),
    ("blobs", {"h": {"B": b64(b"\x00")}, "v": {"S": "nul"}}),
    ("blobs", {"h": {"B": b64(bytes(range(256)))}, "v": {"S": "all"}}),
]


def key_of(table, item):
    names = [e["AttributeName"] for e in TABLES[table]["KeySchema"]]
    return {n: item[n] for n in names}


# ----------------------------------------------------------- base requests

BASES = {
    "PutItem": {"TableName": "notes",
                "Item": dict(k("u1", "n1"), body={"S": "CHANGED"}),
                "ReturnValues": "ALL_OLD"},
    "DeleteItem": {"TableName": "notes", "Key": k("u1", "n2"),
                   "ReturnValues": "ALL_OLD"},
    "GetItem": {"TableName": "notes", "Key": k("u1", "n1"),
                "ProjectionExpression": "#b",
                "ExpressionAttributeNames": {"#b": "body"},
                "ConsistentRead": True},
    "CreateTable": {"TableName": "scratch",
                    "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}],
                    "AttributeDefinitions": [{"AttributeName": "k",
                                              "AttributeType": "S"}],
                    "BillingMode": "PROVISIONED",
                    "ProvisionedThroughput": {"ReadCapacityUnits": 1,
                                              "WriteCapacityUnits": 1}},
    "UpdateTable": {"TableName": "notes", "BillingMode": "PROVISIONED",
                    "ProvisionedThroughput": {"ReadCapacityUnits": 2,
                                              "WriteCapacityUnits": 3}},
    "DeleteTable": {"TableName": "metrics"},
    "DescribeTable": {"TableName": "notes"},
    "ListTables": {"Limit": 2, "ExclusiveStartTableName": "aaa"},
}
MUTATING = {"PutItem", "DeleteItem", "CreateTable", "UpdateTable",
            "DeleteTable"}


# --------------------------------------------------------------- the cases

class Case:
    """expect: 'error' (400/413 + __type, name in `names` if given),
    'answer' (any well-formed JSON answer below 500: read-only requests
    whose validity is debatable), 'survive' (not well-formed HTTP: only the
    server's survival is checked)."""

    def __init__(self, label, op, body, expect="error", names=None,
                 headers=None, raw=None):
        self.label = label
        self.op = op
        self.body = body
        self.expect = expect
        self.names = names
        self.headers = headers
        self.raw = raw


TYPE_ERRORS = ("SerializationException", "ValidationException")


def wrong_values(shape):
    t = shape.type_name
    if t == "string":
        vals = [5, 1.5, True, [], {}]
        if shape.enum:
            vals.append("NOT_AN_ENUM_VALUE")
        return vals
    if t in ("integer", "long"):
        return ["3", True, [], {}]
    if t == "double":
        return ["3", True, [], {}]
    if t == "boolean":
        return [5, "maybe", [], {}]
    if t == "blob":
        return [5, True, [], {}, "not base64!", "abc"]
    if t == "list":
        return ["x", 5, True, {}]
    if t in ("map", "structure"):
        return ["x", 5, True, []]
    return [True, [], {}]


def walk(value, shape, path=()):
    """Yield (path, shape) for every member present in value."""
    yield path, shape
    t = shape.type_name
    if t == "structure" and isinstance(value, dict):
        for name, v in value.items():
            if name in shape.members:
                yield from walk(v, shape.members[name], path + (name,))
    elif t == "map" and isinstance(value, dict):
        for name, v in value.items():
            yield from walk(v, shape.value, path + (name,))
    elif t == "list" and isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk(v, shape.member, path + (i,))


def with_value(base, path, value):
    body = copy.deepcopy(base)
    cur = body
    for p in path[:-1]:
        cur = cur[p]
    cur[path[-1]] = value
    return body


def wrong_type_cases():
    n = 0
    for op, base in BASES.items():
        shape = MODEL.operation_model(op).input_shape
        variants = []
        for path, sub in walk(base, shape):
            if path:
                variants += [(path, bad, with_value(base, path, bad))
                             for bad in wrong_values(sub)]
        # Members the base does not use, with a wrong type.
        for name, sub in shape.members.items():
            if name not in base:
                variants += [((name,), bad, dict(base, **{name: bad}))
                             for bad in wrong_values(sub)]
        for path, bad, body in variants:
            n += 1
            if op == "CreateTable" and path != ("TableName",):
                # Its own name: one wrongly created table must not turn
                # the next cases into ResourceInUseException.
                body["TableName"] = "scratch-%d" % n
            yield Case("wrong type %s.%s = %s%s" % (
                op, ".".join(map(str, path)), json.dumps(bad),
                "" if path[0] in base else " (absent in base)"),
                op, body, names=TYPE_ERRORS)


BAD_ATTRIBUTE_VALUES = [
    {}, {"S": "a", "N": "1"}, {"Z": "x"}, {"NULL": False}, {"BOOL": "x"},
    {"N": 1}, {"N": ""}, {"N": "one"}, {"N": "1e999999999"},
    {"N": "-1e-999999999"}, {"N": "1E+2147483648"}, {"N": "9" * 100000},
    {"N": "0." + "0" * 100000 + "1"}, {"N": "1" * 39}, {"N": "1e126"},
    {"N": "1e-131"}, {"N": "NaN"}, {"N": "Infinity"}, {"N": "0x1p3"},
    {"N": "1_000"}, {"N": " "}, {"N": "1e+"},
    {"N": "e5"}, {"N": "."}, {"N": "1.2.3"},
    {"B": "not base64!"}, {"B": "abc"}, {"B": 5},
    {"SS": []}, {"NS": []}, {"BS": []}, {"SS": ["a", "a"]},
    {"NS": ["1", "1.0"]}, {"NS": ["x"]}, {"NS": [1]}, {"SS": [1]},
    {"SS": "a"}, {"L": {}}, {"M": []}, {"M": {"x": {}}}, {"L": [{}]},
    {"M": {"x": {"N": "bad"}}}, {"L": [{"SS": []}]},
]


def attribute_value_cases():
    base = BASES["PutItem"]
    for av in BAD_ATTRIBUTE_VALUES:
        label = json.dumps(av)[:60]
        yield Case("bad value body=%s" % label, "PutItem",
                   with_value(base, ("Item", "body"), av),
                   names=TYPE_ERRORS)
    for av in ({"S": ""}, {"N": "1"}, {"B": b64(b"u1")}, {"SS": ["u1"]},
               {"NULL": True}, {"S": "u1", "N": "1"}, {}):
        yield Case("bad key userId=%s" % json.dumps(av), "PutItem",
                   with_value(base, ("Item", "userId"), av),
                   names=("ValidationException", "SerializationException"))
        yield Case("bad GetItem key userId=%s" % json.dumps(av), "GetItem",
                   with_value(BASES["GetItem"], ("Key", "userId"), av),
                   names=("ValidationException", "SerializationException"))
    for key in ({"id": {"N": "1e999999999"}, "at": {"N": "1"}},
                {"id": {"N": "1"}, "at": {"N": "NaN"}},
                {"id": {"N": "1"}, "at": {"N": "1" * 39}},
                {"id": {"S": "1"}, "at": {"N": "1"}}):
        yield Case("bad metrics key %s" % json.dumps(key)[:50], "DeleteItem",
                   {"TableName": "metrics", "Key": key}, names=TYPE_ERRORS)


MALFORMED = [
    b"", b" ", b"{", b"}", b"{{}", b"[", b'{"TableName":',
    b'{"TableName" "notes"}', b"{'TableName':'notes'}",
    b'{"TableName":"notes",}', b'{"TableName":"notes"}}',
    b'{"TableName":"notes"} {}', b'{"TableName":"notes"}garbage',
    b'{"TableName":"no\\qtes"}', b'{"TableName":"notes\\u12"}',
    b'{"TableName":"notes', b'{"TableName":notes}', b'{TableName:"notes"}',
    b'{"TableName":"notes","x":NaN}', b'{"TableName":"notes","x":Infinity}',
    b'{"TableName":"notes","x":01}', b'{"TableName":"notes","x":1.}',
    b'{"TableName":"notes","x":.5}', b'{"TableName":"notes","x":-}',
    b'{"TableName":"notes","x":1e}', b'{"TableName":"notes","x":tru}',
    b'{"TableName":"notes","x":nul}', b'{"TableName":"no\ntes"}',
    b'{"TableName":"no\x00tes"}', b'\x00{"TableName":"notes"}',
    b'{"TableName":"notes"}\x00', b'{"TableName"\x00:"notes"}',
    b'{"TableName":"notes","x":[1,2}', b'{"TableName":"notes","x":{"a"}}',
]

NON_OBJECTS = [b"null", b"true", b"42", b'"notes"', b"[]",
               b'[{"TableName":"notes"}]']


def malformed_cases():
    for op in ("DeleteTable", "PutItem", "UpdateTable", "DescribeTable"):
        for body in MALFORMED:
            yield Case("malformed %s %r" % (op, body[:40]), op, body,
                       names=("SerializationException",))
        for body in NON_OBJECTS:
            yield Case("non-object %s %r" % (op, body), op, body,
                       names=TYPE_ERRORS)


def invalid_utf8_cases():
    seqs = [b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80",
            b"\xe2\x82", b"\x80", b"\xf4\x90\x80\x80"]
    put = json.dumps(BASES["PutItem"]).encode()
    for seq in seqs:
        yield Case("invalid UTF-8 %r in a string value" % seq, "PutItem",
                   put.replace(b"CHANGED", b"CHAN" + seq + b"GED"),
                   names=TYPE_ERRORS)
        yield Case("invalid UTF-8 %r in an attribute name" % seq, "PutItem",
                   put.replace(b'"body"', b'"bo' + seq + b'dy"'),
                   names=TYPE_ERRORS)
        yield Case("invalid UTF-8 %r in a key" % seq, "PutItem",
                   put.replace(b'"u1"', b'"u' + seq + b'1"'),
                   names=TYPE_ERRORS)
        yield Case("invalid UTF-8 %r in TableName" % seq, "DeleteTable",
                   b'{"TableName":"not' + seq + b'es"}', names=TYPE_ERRORS)
        yield Case("invalid UTF-8 %r in a member name" % seq, "PutItem",
                   put.replace(b'"ReturnValues"', b'"Return' + seq +
                               b'Values"'), names=TYPE_ERRORS)


def escaped_oddities_cases():
    """Valid JSON with odd escapes: errors where DynamoDB must refuse."""
    yield Case("TableName with \\u0000", "DeleteTable",
               b'{"TableName":"notes\\u0000"}', names=("ValidationException",))
    yield Case("TableName with lone surrogate", "DeleteTable",
               b'{"TableName":"notes\\ud800"}', names=TYPE_ERRORS)
    yield Case("type key S\\u0000", "PutItem",
               json.dumps(with_value(BASES["PutItem"], ("Item", "body"),
                                     {"S\u0000": "x"})).encode(),
               names=TYPE_ERRORS)
    yield Case("key attribute name with NUL", "GetItem",
               json.dumps(dict(BASES["GetItem"], Key={
                   "userId\u0000": {"S": "u1"}, "noteId": {"S": "n1"}})
               ).encode(), names=TYPE_ERRORS)
    # Debatable but read-only: must answer, not crash.
    yield Case("GetItem key with lone surrogate", "GetItem",
               b'{"TableName":"notes","Key":{"userId":{"S":"u\\udc00"},'
               b'"noteId":{"S":"n1"}}}', expect="answer")
    yield Case("GetItem key with NUL", "GetItem",
               b'{"TableName":"notes","Key":{"userId":{"S":"u1\\u0000"},'
               b'"noteId":{"S":"n1"}}}', expect="answer")


def number_cases():
    for limit in ("1e400", "99999999999999999999999999", "-1", "0",
                  "2147483648", "1" * 5000):
        yield Case("ListTables Limit %s" % limit[:30], "ListTables",
                   b'{"Limit":' + limit.encode() + b"}", names=TYPE_ERRORS)
    for rcu in ("1e30", "-5", "0", "99999999999999999999999999"):
        yield Case("UpdateTable RCU %s" % rcu, "UpdateTable",
                   b'{"TableName":"notes","BillingMode":"PROVISIONED",'
                   b'"ProvisionedThroughput":{"ReadCapacityUnits":' +
                   rcu.encode() + b',"WriteCapacityUnits":1}}',
                   names=TYPE_ERRORS + ("LimitExceededException",))


def nesting_cases():
    depth = 10000
    arrays = b"[" * depth + b"]" * depth
    objects = b'{"a":' * depth + b"1" + b"}" * depth
    yield Case("10,000 nested arrays as the body", "PutItem", arrays,
               names=TYPE_ERRORS)
    yield Case("10,000 nested objects as the body", "PutItem", objects,
               names=TYPE_ERRORS)
    yield Case("10,000 nested arrays as Item", "PutItem",
               b'{"TableName":"notes","Item":' + arrays + b"}",
               names=TYPE_ERRORS)
    m = b'{"M":{"a":' * depth + b'{"S":"x"}' + b"}}" * depth
    lst = b'{"L":[' * depth + b'{"S":"x"}' + b"]}" * depth
    put_prefix = (b'{"TableName":"notes","Item":{"userId":{"S":"u1"},'
                  b'"noteId":{"S":"n1"},"body":')
    yield Case("10,000 nested M", "PutItem", put_prefix + m + b"}}",
               names=TYPE_ERRORS)
    yield Case("10,000 nested L", "PutItem", put_prefix + lst + b"}}",
               names=TYPE_ERRORS)
    yield Case("40 nested M", "PutItem",
               put_prefix + b'{"M":{"a":' * 40 + b'{"S":"x"}' +
               b"}}" * 40 + b"}}", names=("ValidationException",))
    # Deep JSON in a member DynamoDB does not know: read-only, must answer.
    yield Case("10,000 nested objects in an unknown member", "GetItem",
               json.dumps(BASES["GetItem"]).encode()[:-1] + b',"x":' +
               objects + b"}", expect="answer")


def unknown_op_cases():
    body = BASES["PutItem"]
    for target in ("DynamoDB_20120810.Bogus", "DynamoDB_20120810.",
                   "DynamoDB_20120810", ".PutItem", "PutItem",
                   "DynamoDB_20120810.PutItem.", "DynamoDB_20120810.PutItemX",
                   "DynamoDB_20120810.Put Item", "DynamoDB_20990101.PutItem",
                   "DynamoDB_20120810." + "A" * 5000, "X" * 10000,
                   "DynamoDB_20120810.PutItem\u00e9".encode().decode(
                       "latin-1")):
        yield Case("unknown op %r" % target[:40], None, body,
                   names=("UnknownOperationException",),
                   headers={"X-Amz-Target": target})
    yield Case("no target", None, body, names=("UnknownOperationException",))


def huge_string_cases():
    yield Case("1 MB TableName", "DeleteTable",
               {"TableName": "n" * (1024 * 1024)},
               names=("ValidationException",))
    yield Case("1 MB ExclusiveStartTableName", "ListTables",
               {"ExclusiveStartTableName": "n" * (1024 * 1024)},
               names=("ValidationException",))


def all_cases():
    for gen in (wrong_type_cases, attribute_value_cases, malformed_cases,
                invalid_utf8_cases, escaped_oddities_cases, number_cases,
                nesting_cases, unknown_op_cases, huge_string_cases):
        yield from gen()


# ---------------------------------------------------------------- helpers

def send(server, case):
    """One request on its own connection; returns (Response or None,
    exception text or None)."""
    if isinstance(case.body, (bytes, bytearray)):
        data = bytes(case.body)
    else:
        data = json.dumps(case.body).encode()
    c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        headers = harness.ddb_headers(case.op, case.headers)
        c.putrequest("POST", "/", skip_accept_encoding=True)
        for name, value in headers.items():
            c.putheader(name, value)
        c.putheader("Content-Length", str(len(data)))
        c.endheaders(data)
        r = c.getresponse()
        payload = r.read()
        return harness.Response(
            r.status, {kk.lower(): v for kk, v in r.getheaders()},
            payload), None
    except (OSError, http.client.HTTPException) as e:
        return None, repr(e)
    finally:
        c.close()


def check(case, r, exc):
    """A failure text, or None."""
    if r is None:
        return "no answer (%s)" % exc
    if r.status >= 500:
        return "HTTP %d %r" % (r.status, r.body[:200])
    try:
        body = r.json
    except ValueError:
        return "HTTP %d with a body that is not JSON: %r" % (r.status,
                                                             r.body[:200])
    if case.expect == "answer":
        if r.status == 200:
            return None
    if r.status not in ERROR_STATUSES:
        return "accepted: HTTP %d %r" % (r.status, r.body[:200])
    t = body.get("__type") if isinstance(body, dict) else None
    if not isinstance(t, str) or "#" not in t:
        return "error without __type: %r" % r.body[:200]
    if r.header("x-amzn-requestid") is None:
        return "error without x-amzn-RequestId"
    if case.names and t.rsplit("#", 1)[1] not in case.names:
        return "got %s, want one of %s: %r" % (t, case.names,
                                               body.get("message",
                                                        body.get("Message")))
    return None


def alive(server):
    try:
        return harness.http_get(server.port, "/", timeout=5)[0] == 200
    except OSError:
        return False


def snapshot(server):
    """ListTables, DescribeTable of every known table and the raw GetItem
    answer for every known item (status and body bytes)."""
    c = harness.RawClient(server.port, timeout=30)
    try:
        tables = c.call("ListTables", {})["TableNames"]
        desc = {}
        for t in TABLES:
            r = c.request("DescribeTable", {"TableName": t})
            desc[t] = (r.status, r.json)
        items = []
        for table, item in ITEMS:
            r = c.request("GetItem", {"TableName": table,
                                      "Key": key_of(table, item),
                                      "ConsistentRead": True})
            items.append((r.status, r.body))
        return tables, desc, items
    finally:
        c.close()


def assert_same_state(before, after):
    tables0, desc0, items0 = before
    tables1, desc1, items1 = after
    assert tables1 == tables0
    for t in TABLES:
        assert desc1[t] == desc0[t], t
    for (table, item), b0, b1 in zip(ITEMS, items0, items1):
        assert b1 == b0, (table, item)


def test_snapshot_sees_changes(loaded):
    """The state comparison notices a changed item, a deleted item and a
    deleted table (so that the tests below can fail)."""
    before = snapshot(loaded)
    assert_same_state(before, snapshot(loaded))
    assert all(status == 200 for status, _ in before[2])
    with harness.RawClient(loaded.port) as c:
        c.call("PutItem", BASES["PutItem"])
        changed = snapshot(loaded)
        c.call("DeleteItem", BASES["DeleteItem"])
        deleted = snapshot(loaded)
        c.call("DeleteTable", {"TableName": "blobs"})
        dropped = snapshot(loaded)
    for after in (changed, deleted, dropped):
        with pytest.raises(AssertionError):
            assert_same_state(before, after)


@pytest.fixture
def loaded(server, clean):
    with harness.RawClient(server.port) as c:
        for name, spec in TABLES.items():
            c.call("CreateTable", dict(spec, TableName=name))
        for table, item in ITEMS:
            c.call("PutItem", {"TableName": table, "Item": item})
        for name in TABLES:
            d = c.call("DescribeTable", {"TableName": name})["Table"]
            assert d["TableStatus"] == "ACTIVE", d
    return server


# ------------------------------------------------------------------ tests

def test_known_state_reads_back(loaded):
    """The fixture's items read back exactly as written."""
    with harness.RawClient(loaded.port) as c:
        for table, item in ITEMS:
            got = c.call("GetItem", {"TableName": table,
                                     "Key": key_of(table, item)})
            assert got["Item"] == item


def test_bad_requests_change_nothing(loaded):
    server = loaded
    before = snapshot(server)
    failures = []
    count = 0
    for case in all_cases():
        count += 1
        r, exc = send(server, case)
        why = check(case, r, exc)
        if why:
            failures.append("%s: %s" % (case.label, why))
        if count % 100 == 0 and not alive(server):
            failures.append("server down after %r" % case.label)
            break
    assert alive(server), "server down after the battery"
    after = snapshot(server)
    assert not failures, "%d of %d bad requests mishandled:\n%s" % (
        len(failures), count, "\n".join(failures[:60]))
    assert count > 500
    assert_same_state(before, after)

    # Self-check: the unspoiled bases are valid requests.
    with harness.RawClient(server.port) as c:
        for op in ("GetItem", "ListTables", "DescribeTable", "PutItem",
                   "DeleteItem", "UpdateTable", "CreateTable", "DeleteTable"):
            r = c.request(op, BASES[op])
            assert r.status == 200, (op, r)
        tables = c.call("ListTables", {})["TableNames"]
    assert "scratch" in tables and "metrics" not in tables, tables


def raw_exchange(server, data, timeout=5.0):
    return harness.raw_socket_exchange(server.port, data, timeout=timeout)


def test_oversized_and_truncated_bodies_change_nothing(loaded):
    server = loaded
    before = snapshot(server)

    # Over 16 MB: refused (the server may answer early and close).
    big = json.dumps({"TableName": "notes", "Item": dict(
        k("u1", "n1"), body={"S": "x" * (SIXTEEN_MB + 100)})}).encode()
    got = harness.raw_socket_exchange(
        server.port, harness.raw_http_bytes("PutItem", big), timeout=30)
    r = harness.parse_http_response(got)
    if r is not None:
        assert r.status in ERROR_STATUSES, r
    assert alive(server)

    # A Content-Length far beyond what is sent: no giant allocation, no
    # crash. The server may answer 413 at once or wait for the body.
    for declared in (10 ** 12, 2 ** 63 - 1, SIXTEEN_MB + 1):
        got = raw_exchange(server, harness.raw_http_bytes(
            "PutItem", b'{"TableName":"notes"', content_length=declared),
            timeout=2)
        r = harness.parse_http_response(got)
        if r is not None:
            assert r.status in ERROR_STATUSES, (declared, r)
        assert alive(server), declared

    # Truncated at many points of a valid PutItem, then closed.
    body = json.dumps(BASES["PutItem"]).encode()
    for cut in range(0, len(body), 7):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        s.sendall(harness.raw_http_bytes("PutItem", body[:cut],
                                         content_length=len(body)))
        s.close()
    # Truncated, write side shut: the server answers or closes; it must not
    # apply the partial body.
    for cut in (1, len(body) // 2, len(body) - 1):
        got = harness.raw_socket_exchange(
            server.port, harness.raw_http_bytes("PutItem", body[:cut],
                                                content_length=len(body)),
            timeout=3, shut_write=True)
        r = harness.parse_http_response(got)
        if r is not None:
            assert r.status in ERROR_STATUSES, r
    time.sleep(0.2)
    assert alive(server)
    assert_same_state(before, snapshot(server))


GARBAGE = [
    b"\x00" * 64,
    b"\xff\xfe\xfd" * 100 + b"\r\n\r\n",
    b"GET / HTTP/1.1\r\n",
    b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n{}",
    b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}",
    b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
    b"Content-Length: 50\r\n\r\n{}",
    b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"zz\r\n{}\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"fffffffffffffffff\r\n{}\r\n",
    b"POST /" + b"a" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 200000 + b"\r\n\r\n",
    b"POST / HTTP/1.1\r\n" + b"".join(b"X-H%d: v\r\n" % i
                                      for i in range(5000)) + b"\r\n",
    b"POST / HTTP/9.9\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
    b"BREW / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.\x00"
    b"DeleteTable\r\nContent-Length: 23\r\n\r\n{\"TableName\":\"metrics\"}",
]


def test_http_garbage_leaves_the_server_up(loaded):
    server = loaded
    before = snapshot(server)
    for data in GARBAGE:
        got = raw_exchange(server, data, timeout=2)
        r = harness.parse_http_response(got)
        if r is not None:
            assert r.status < 500 or r.status in (501, 505), (data[:60], r)
        assert alive(server), data[:60]
    assert_same_state(before, snapshot(server))


def test_pipelined_bad_then_good(loaded):
    """A bad request followed by a good one on the same keep-alive
    connection: the good one is answered normally."""
    server = loaded
    with harness.RawClient(server.port) as c:
        for body in (b"{", b"[]", b'{"TableName": 5}'):
            r = c.request("DescribeTable", body)
            assert r.status == 400, r
            r = c.request("DescribeTable", {"TableName": "notes"})
            assert r.status == 200, r
            assert r.json["Table"]["TableName"] == "notes"
