"""The DynamoDB JSON 1.0 protocol on the wire: headers, CRC32, keep-alive,
error shapes, GET /, body limits, truncated requests."""

import http.client
import json
import socket
import threading
import time
import zlib

import pytest

import harness
from harness import NOTES_ATTRS, NOTES_KEYS

SIXTEEN_MB = 16 * 1024 * 1024


def assert_error(r, name, status=400):
    assert r.status == status, r
    assert r.header("Content-Type") == harness.JSON_CT, r.headers
    body = r.json
    assert isinstance(body, dict), r
    t = body.get("__type")
    assert isinstance(t, str) and "#" in t, r
    assert t.rsplit("#", 1)[1] == name, r
    return body


def assert_crc(r):
    crc = r.header("x-amz-crc32")
    assert crc is not None, r.headers
    assert crc.isdigit(), crc
    assert int(crc) == zlib.crc32(r.body), (crc, r)


def test_request_id_and_crc32_on_success_and_error(raw):
    ok = raw.request("ListTables", {})
    assert ok.status == 200, ok
    assert ok.json == {"TableNames": []}
    bad = raw.request("DescribeTable", {"TableName": "nope"})
    assert bad.status == 400
    ids = set()
    for r in (ok, bad):
        rid = r.header("x-amzn-RequestId")
        assert rid and rid.strip() == rid and len(rid) >= 8, r.headers
        ids.add(rid)
        assert_crc(r)
        assert r.header("Content-Type") == harness.JSON_CT
        assert int(r.header("Content-Length")) == len(r.body)
    assert len(ids) == 2, "request ids must differ"
    # DynamoDB's shape: 52 of A-Z0-9; every symbol turns up, in every
    # position, and no two of 300 ids are alike
    for _ in range(298):
        ids.add(raw.request("ListTables", {}).header("x-amzn-RequestId"))
    assert len(ids) == 300
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    for rid in ids:
        assert len(rid) == 52 and set(rid) <= alphabet, rid
    for pos in range(52):
        assert len({rid[pos] for rid in ids}) >= 30, pos
    assert set("".join(ids)) == alphabet


def test_date_header_is_now_in_http_format(server):
    # The SDKs read Date to correct their clock skew: one header, an
    # RFC 9110 date within seconds of now, on success and on error.
    import email.utils
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        for op, body in (("ListTables", {}),
                         ("DescribeTable", {"TableName": "nope"})):
            conn.request("POST", "/", json.dumps(body),
                         harness.ddb_headers(op))
            r = conn.getresponse()
            r.read()
            values = [v for k, v in r.getheaders() if k.lower() == "date"]
            assert len(values) == 1, r.getheaders()
            assert values[0].endswith(" GMT") and len(values[0]) == 29, values
            when = email.utils.parsedate_to_datetime(values[0]).timestamp()
            assert abs(when - time.time()) < 5, values
    finally:
        conn.close()


def test_crc32_on_large_and_non_ascii_body(raw):
    raw.call("CreateTable", {"TableName": "notes", "KeySchema": NOTES_KEYS,
                             "AttributeDefinitions": NOTES_ATTRS,
                             "BillingMode": "PAY_PER_REQUEST"})
    item = {"userId": {"S": "ü"}, "noteId": {"S": "n"},
            "body": {"S": "Grüße 世界 " * 20000}}
    raw.call("PutItem", {"TableName": "notes", "Item": item})
    r = raw.request("GetItem", {"TableName": "notes",
                                "Key": {"userId": {"S": "ü"},
                                        "noteId": {"S": "n"}}})
    assert r.status == 200
    assert_crc(r)
    assert r.json["Item"] == item


def test_keep_alive(server, raw):
    """Several requests, including errors, on one connection."""
    raw.call("ListTables", {})
    sock = raw.conn.sock
    assert sock is not None
    for i in range(10):
        if i % 3 == 1:
            r = raw.request("DescribeTable", {"TableName": "nope"})
            assert r.status == 400
        elif i % 3 == 2:
            r = raw.request("ListTables", "{malformed")
            assert r.status == 400
        else:
            r = raw.request("ListTables", {"Limit": 5})
            assert r.status == 200
        assert (r.header("Connection") or "").lower() != "close", r.headers
        assert raw.conn.sock is sock, "server closed the connection"


def test_malformed_json(raw):
    for body in ("{", "{\"TableName\": }", "not json", "{'TableName': 'x'}",
                 "{\"TableName\": \"notes\",}"):
        r = raw.request("DescribeTable", body)
        assert_error(r, "SerializationException")
        assert r.json["__type"] == harness.NS_SERVICE + \
            "SerializationException"


def test_empty_body(raw):
    r = raw.request("ListTables", b"")
    assert_error(r, "SerializationException")


def test_unknown_operation(raw):
    r = raw.request("DynamoDB_20120810.FlyToTheMoon", {})
    body = assert_error(r, "UnknownOperationException")
    assert body["__type"] == harness.NS_SERVICE + "UnknownOperationException"
    r = raw.request("DynamoDB_20120810.", {})
    assert_error(r, "UnknownOperationException")
    r = raw.request("Bogus_20990101.ListTables", {})
    assert_error(r, "UnknownOperationException")


def test_missing_target(raw):
    r = raw.request(None, {})
    assert_error(r, "UnknownOperationException")


@pytest.mark.parametrize("op,body,error", [
    ("DescribeTable", {"TableName": 5}, "SerializationException"),
    ("DescribeTable", {"TableName": True}, "SerializationException"),
    ("DescribeTable", {"TableName": {}}, "SerializationException"),
    ("DescribeTable", {"TableName": ["notes"]}, "SerializationException"),
    ("ListTables", {"Limit": "3"}, "SerializationException"),
    ("ListTables", {"ExclusiveStartTableName": 7}, "SerializationException"),
    ("GetItem", {"TableName": "notes", "Key": []}, "SerializationException"),
    ("GetItem", {"TableName": "notes", "Key": {"userId": {"S": 5}}},
     "SerializationException"),
    ("GetItem", {"TableName": "notes", "Key": {"userId": {"N": 5}}},
     "SerializationException"),
    ("GetItem", {"TableName": "notes", "ConsistentRead": "maybe",
                 "Key": {"userId": {"S": "u"}, "noteId": {"S": "n"}}},
     "SerializationException"),
    ("DescribeTable", {"TableName": None}, "ValidationException"),
    ("DescribeTable", {}, "ValidationException"),
], ids=["name-number", "name-bool", "name-object", "name-list",
        "limit-string", "start-number", "key-list", "S-number", "N-number",
        "consistent-string", "name-null", "name-absent"])
def test_wrong_types(raw, op, body, error):
    raw.call("CreateTable", {"TableName": "notes", "KeySchema": NOTES_KEYS,
                             "AttributeDefinitions": NOTES_ATTRS,
                             "BillingMode": "PAY_PER_REQUEST"})
    r = raw.request(op, body)
    assert_error(r, error)


def test_validation_exception_shape(raw):
    r = raw.request("DescribeTable", {})
    body = assert_error(r, "ValidationException")
    assert body["__type"] == harness.NS_VALIDATE + "ValidationException"
    assert isinstance(body["message"], str) and body["message"]


def test_resource_not_found_shape(raw):
    r = raw.request("DescribeTable", {"TableName": "notes"})
    body = assert_error(r, "ResourceNotFoundException")
    assert body == {
        "__type": harness.NS_DDB + "ResourceNotFoundException",
        "message": "Requested resource not found: Table: notes not found"}


def test_get_root(server):
    status, headers, body = harness.http_get(server.port, "/")
    assert status == 200
    assert 0 < len(body) < 4096
    body.decode("utf-8")


def test_body_over_16mb_is_refused(server, raw):
    raw.call("CreateTable", {"TableName": "notes", "KeySchema": NOTES_KEYS,
                             "AttributeDefinitions": NOTES_ATTRS,
                             "BillingMode": "PAY_PER_REQUEST"})
    payload = json.dumps({"TableName": "notes", "Item": {
        "userId": {"S": "u"}, "noteId": {"S": "n"},
        "big": {"S": "x" * (SIXTEEN_MB + 16)}}}).encode()
    assert len(payload) > SIXTEEN_MB
    data = harness.raw_http_bytes("PutItem", payload)
    got = harness.raw_socket_exchange(server.port, data, timeout=30)
    r = harness.parse_http_response(got)
    # The server may answer before reading the whole body and close; a
    # reset then can swallow the answer. If an answer arrived, it must be
    # an error: 413, or 400 with a JSON __type.
    if r is not None:
        assert r.status in (400, 413), r
        if r.status == 400:
            assert r.error_type(), r
    # Still up, and the item was not written.
    out = raw_fresh(server).call("GetItem", {
        "TableName": "notes",
        "Key": {"userId": {"S": "u"}, "noteId": {"S": "n"}}})
    assert "Item" not in out


def test_body_of_1mb_is_read(server, raw):
    """Below the limit the body is parsed: a 1 MB item gets the item size
    error, not a body size error."""
    raw.call("CreateTable", {"TableName": "notes", "KeySchema": NOTES_KEYS,
                             "AttributeDefinitions": NOTES_ATTRS,
                             "BillingMode": "PAY_PER_REQUEST"})
    r = raw.request("PutItem", {"TableName": "notes", "Item": {
        "userId": {"S": "u"}, "noteId": {"S": "n"},
        "big": {"S": "x" * (1024 * 1024)}}})
    body = assert_error(r, "ValidationException")
    assert "Item size has exceeded the maximum allowed size" in \
        body["message"]


def raw_fresh(server):
    return harness.RawClient(server.port, host=getattr(server, "host", None)
                             or "127.0.0.1", timeout=10)


def test_truncated_request_then_close(server, raw):
    raw.call("CreateTable", {"TableName": "notes", "KeySchema": NOTES_KEYS,
                             "AttributeDefinitions": NOTES_ATTRS,
                             "BillingMode": "PAY_PER_REQUEST"})
    body = json.dumps({"TableName": "notes", "Item": {
        "userId": {"S": "u"}, "noteId": {"S": "n"}}}).encode()
    for cut in (0, 1, len(body) // 2, len(body) - 1):
        data = harness.raw_http_bytes("PutItem", body[:cut],
                                      content_length=len(body))
        s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        s.sendall(data)
        s.close()
    # Headers cut in the middle.
    s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Le")
    s.close()
    time.sleep(0.2)
    out = raw_fresh(server).call("GetItem", {
        "TableName": "notes",
        "Key": {"userId": {"S": "u"}, "noteId": {"S": "n"}}})
    assert "Item" not in out, "a truncated PutItem was applied"


def test_stalled_client_does_not_block_others(server, raw):
    """A client that sends half a body and waits must not stop the server
    from answering others."""
    body = json.dumps({"TableName": "notes"}).encode()
    data = harness.raw_http_bytes("DescribeTable", body[:5],
                                  content_length=len(body))
    stalled = []
    for _ in range(4):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        s.sendall(data)
        stalled.append(s)
    try:
        results = []

        def work():
            try:
                with raw_fresh(server) as c:
                    results.append(c.request("ListTables", {}).status)
            except Exception as e:   # noqa: BLE001 - reported below
                results.append(repr(e))

        threads = [threading.Thread(target=work) for _ in range(8)]
        start = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(15)
        assert results == [200] * 8, results
        assert time.monotonic() - start < 5
    finally:
        for s in stalled:
            s.close()
    # Clients that give up mid-body do not take the server down either.
    time.sleep(0.2)
    with raw_fresh(server) as c:
        assert c.call("ListTables", {}) == {"TableNames": []}


def test_concurrent_clients(server, raw):
    raw.call("CreateTable", {"TableName": "notes", "KeySchema": NOTES_KEYS,
                             "AttributeDefinitions": NOTES_ATTRS,
                             "BillingMode": "PAY_PER_REQUEST"})
    errors = []

    def work(t):
        try:
            with raw_fresh(server) as c:
                for i in range(25):
                    k = {"userId": {"S": "t%d" % t}, "noteId": {"S": str(i)}}
                    c.call("PutItem", {"TableName": "notes",
                                       "Item": dict(k, v={"N": str(i)})})
                    got = c.call("GetItem", {"TableName": "notes", "Key": k})
                    if got.get("Item", {}).get("v") != {"N": str(i)}:
                        errors.append((t, i, got))
        except Exception as e:   # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    d = raw.call("DescribeTable", {"TableName": "notes"})["Table"]
    assert d["ItemCount"] == 8 * 25


def test_http_errors_are_not_500(server):
    """Wrong method or path: an answer below 500, not a crash."""
    for method, path in (("GET", "/nope"), ("PUT", "/"), ("DELETE", "/")):
        c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        c.request(method, path, b"{}" if method == "PUT" else None,
                  harness.ddb_headers("ListTables"))
        r = c.getresponse()
        r.read()
        assert r.status < 500, (method, path, r.status)
        c.close()
    assert harness.http_get(server.port, "/")[0] == 200
