"""Tidemark_20261125.DescribeWriteHistory, the Tidemark extension the web
console draws its point-in-time timeline from (src/api/api_history.c):
writes per interval from the retained change log, the table's backups in
the range, validation in DynamoDB's shape, and the same authentication as
every request.  Raw HTTP only: no SDK knows the operation."""
import http.client
import json
import os
import time

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import harness

pytestmark = pytest.mark.needs_binary

OP = "Tidemark_20261125.DescribeWriteHistory"


def note(u, n, **kw):
    item = {"userId": {"S": u}, "noteId": {"S": n}}
    item.update({k: {"S": v} for k, v in kw.items()})
    return item


def history(raw, start, end, buckets, table="notes"):
    r = raw.request(OP, {"TableName": table, "StartTime": start,
                         "EndTime": end, "Buckets": buckets})
    assert r.status == 200, r
    return r.json


def put(raw, item, table="notes"):
    raw.call("PutItem", {"TableName": table, "Item": item})


def test_writes_per_interval(raw, notes):
    raw.call("UpdateContinuousBackups", {
        "TableName": "notes",
        "PointInTimeRecoverySpecification": {
            "PointInTimeRecoveryEnabled": True}})
    # another table with an index: neither its rows nor index rows count
    raw.call("CreateTable", {
        "TableName": "other", "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"},
                                 {"AttributeName": "g", "AttributeType": "S"}],
        "GlobalSecondaryIndexes": [{
            "IndexName": "byG", "Projection": {"ProjectionType": "ALL"},
            "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}]}]})
    t0 = time.time()
    for i in range(5):
        put(raw, note("u1", "n%d" % i, t="good"))
    put(raw, {"k": {"S": "a"}, "g": {"S": "x"}}, table="other")
    time.sleep(0.3)
    t1 = time.time()
    time.sleep(0.3)
    # an update, a delete, a batch of 3 and a transaction of 2: 7 writes
    raw.call("UpdateItem", {"TableName": "notes", "Key": note("u1", "n0"),
                            "UpdateExpression": "SET t = :b",
                            "ExpressionAttributeValues": {":b": {"S": "bad"}}})
    raw.call("DeleteItem", {"TableName": "notes", "Key": note("u1", "n1")})
    raw.call("BatchWriteItem", {"RequestItems": {"notes": [
        {"PutRequest": {"Item": note("u2", "b%d" % i)}} for i in range(3)]}})
    raw.call("TransactWriteItems", {"TransactItems": [
        {"Put": {"TableName": "notes", "Item": note("u3", "x")}},
        {"Delete": {"TableName": "notes", "Key": note("u1", "n2")}}]})
    t2 = time.time() + 0.01

    two = history(raw, t0 - 0.001, t2, 2)
    # the split point of 2 buckets is the middle: make it t1
    mid = t1
    before = history(raw, t0 - 0.001, mid, 1)["Buckets"]
    after = history(raw, mid, t2, 1)["Buckets"]
    assert [b["Writes"] for b in before] == [5]
    assert [b["Writes"] for b in after] == [7]
    assert sum(b["Writes"] for b in two["Buckets"]) == 12
    # many buckets: the same total, each bucket's bounds, in order
    many = history(raw, t0 - 0.001, t2, 100)
    bs = many["Buckets"]
    assert len(bs) == 100 and sum(b["Writes"] for b in bs) == 12
    assert bs[0]["Start"] == pytest.approx(t0 - 0.001, abs=0.001)
    assert bs[-1]["End"] == pytest.approx(t2, abs=0.001)
    assert all(a["End"] == b["Start"] for a, b in zip(bs, bs[1:]))
    assert all(b["Start"] < b["End"] for b in bs)
    # the good writes all fall in buckets that end before t1
    good = [b for b in bs if b["Writes"] and b["End"] <= t1]
    assert sum(b["Writes"] for b in good) == 5
    assert many["RetainedSince"] <= t0
    assert many["Backups"] == []
    # a range before anything happened
    assert [b["Writes"] for b in history(raw, 1, 2, 3)["Buckets"]] == [0, 0, 0]
    # the other table's one write, alone (its index rows are not counted)
    assert sum(b["Writes"] for b in history(
        raw, t0 - 1, t2, 5, table="other")["Buckets"]) == 1
    # by ARN too
    assert sum(b["Writes"] for b in history(
        raw, t0 - 1, t2, 5, table=harness.arn("notes"))["Buckets"]) == 12


def test_backups_in_range(raw, notes):
    put(raw, note("u", "1"))
    t0 = time.time() - 1
    arn = raw.call("CreateBackup", {"TableName": "notes",
                                    "BackupName": "nightly"})[
        "BackupDetails"]["BackupArn"]
    harness.wait_backup(raw, arn)
    t1 = time.time() + 1
    h = history(raw, t0, t1, 10)
    assert len(h["Backups"]) == 1
    b = h["Backups"][0]
    assert b["BackupArn"] == arn and b["BackupName"] == "nightly"
    assert b["BackupType"] == "USER" and t0 <= b["Time"] <= t1
    assert history(raw, t0 - 100, t0 - 50, 10)["Backups"] == []
    # another table's backup is not this table's
    raw.call("CreateTable", {"TableName": "notes2",
                             "BillingMode": "PAY_PER_REQUEST",
                             "KeySchema": harness.NOTES_KEYS,
                             "AttributeDefinitions": harness.NOTES_ATTRS})
    other = raw.call("CreateBackup", {"TableName": "notes2",
                                      "BackupName": "other"})[
        "BackupDetails"]["BackupArn"]
    harness.wait_backup(raw, other)
    h = history(raw, t0, time.time() + 1, 10)
    assert [b["BackupArn"] for b in h["Backups"]] == [arn]
    raw.call("DeleteBackup", {"BackupArn": other})
    raw.call("DeleteBackup", {"BackupArn": arn})


def test_a_new_table_of_the_same_name_starts_from_zero(raw, notes):
    t0 = time.time() - 0.5
    raw.call("UpdateContinuousBackups", {
        "TableName": "notes",
        "PointInTimeRecoverySpecification": {
            "PointInTimeRecoveryEnabled": True}})
    put(raw, note("u", "1"))
    put(raw, note("u", "2"))
    raw.call("DeleteTable", {"TableName": "notes"})  # a SYSTEM backup
    raw.call("CreateTable", {"TableName": "notes",
                             "BillingMode": "PAY_PER_REQUEST",
                             "KeySchema": harness.NOTES_KEYS,
                             "AttributeDefinitions": harness.NOTES_ATTRS})
    put(raw, note("u", "3"))
    h = history(raw, t0, time.time() + 1, 4)
    assert sum(b["Writes"] for b in h["Buckets"]) == 1
    assert h["Backups"] == []


def assert_validation(r, message):
    assert r.status == 400, r
    assert r.error_type() == "ValidationException", r
    assert r.error_message() == message, r


def test_validation(raw, notes):
    r = raw.request(OP, {})
    assert_validation(r, (
        "4 validation errors detected: "
        "Value null at 'tableName' failed to satisfy constraint: Member must "
        "not be null; "
        "Value null at 'startTime' failed to satisfy constraint: Member must "
        "not be null; "
        "Value null at 'endTime' failed to satisfy constraint: Member must "
        "not be null; "
        "Value null at 'buckets' failed to satisfy constraint: Member must "
        "not be null"))
    base = {"TableName": "notes", "StartTime": 10, "EndTime": 20}
    assert_validation(raw.request(OP, dict(base, Buckets=0)), (
        "1 validation error detected: Value '0' at 'buckets' failed to "
        "satisfy constraint: Member must have value greater than or equal "
        "to 1"))
    assert_validation(raw.request(OP, dict(base, Buckets=501)), (
        "1 validation error detected: Value '501' at 'buckets' failed to "
        "satisfy constraint: Member must have value less than or equal to "
        "500"))
    assert_validation(raw.request(OP, dict(base, TableName="ab", Buckets=1)), (
        "1 validation error detected: Value 'ab' at 'tableName' failed to "
        "satisfy constraint: Member must have length greater than or equal "
        "to 3"))
    assert_validation(raw.request(OP, dict(base, StartTime=-5, Buckets=1)), (
        "1 validation error detected: Value '-5' at 'startTime' failed to "
        "satisfy constraint: Member must be epoch seconds between 0 and "
        "1e11"))
    assert_validation(raw.request(OP, dict(base, EndTime=10, Buckets=1)), (
        "Invalid Request: EndTime (10.000) must be later than StartTime "
        "(10.000)"))
    r = raw.request(OP, dict(base, StartTime="yesterday", Buckets=1))
    assert r.status == 400 and r.error_type() == "SerializationException", r
    assert r.error_message() == "STRING_VALUE cannot be converted to Timestamp"
    r = raw.request(OP, dict(base, Buckets="many"))
    assert r.status == 400 and r.error_type() == "SerializationException", r
    r = raw.request(OP, dict(base, TableName="nope", Buckets=3))
    assert r.status == 400 and r.error_type() == "ResourceNotFoundException"
    assert r.error_message() == ("Requested resource not found: Table: nope "
                                 "not found")
    r = raw.request("Tidemark_20261125.Nope", {})
    assert r.status == 400 and r.error_type() == "UnknownOperationException"
    # not a DynamoDB operation
    r = raw.request("DescribeWriteHistory", dict(base, Buckets=3))
    assert r.status == 400 and r.error_type() == "UnknownOperationException"


# ------------------------------------------------------ with --credentials

KEY, SECRET = "AKIDCONSOLETEST", "console-secret/K7MDENG"


@pytest.fixture(scope="module")
def authsrv(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("history-auth"))
    creds = os.path.join(root, "credentials")
    with open(creds, "w") as f:
        f.write("%s %s\n" % (KEY, SECRET))
    os.chmod(creds, 0o600)
    s = harness.Server(os.path.join(root, "data"), log_dir=root,
                       extra_args=["--credentials", creds])
    s.start()
    yield s
    assert s.stop() == 0, s.stderr_text()


def signed(srv, target, body, secret=SECRET):
    data = json.dumps(body).encode()
    req = AWSRequest(method="POST", url=srv.url + "/", data=data, headers={
        "Content-Type": harness.JSON_CT, "X-Amz-Target": target})
    SigV4Auth(Credentials(KEY, secret), "dynamodb",
              harness.REGION).add_auth(req)
    p = req.prepare()
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    try:
        c.request("POST", "/", data, dict(p.headers.items()))
        r = c.getresponse()
        return harness.Response(r.status, {k.lower(): v for k, v in
                                           r.getheaders()}, r.read())
    finally:
        c.close()


def test_signed_like_every_request(authsrv):
    body = {"TableName": "notes", "StartTime": 0, "EndTime": time.time() + 1,
            "Buckets": 4}
    r = signed(authsrv, harness.TARGET_PREFIX + "CreateTable", {
        "TableName": "notes", "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": harness.NOTES_KEYS,
        "AttributeDefinitions": harness.NOTES_ATTRS})
    assert r.status == 200, r
    # unsigned (the harness's dummy Authorization header): refused
    r = harness.raw_request(authsrv.port, OP, body)
    assert r.status == 400 and r.error_type() in (
        "UnrecognizedClientException", "InvalidSignatureException",
        "IncompleteSignatureException"), r
    c = http.client.HTTPConnection("127.0.0.1", authsrv.port, timeout=30)
    c.request("POST", "/", json.dumps(body), {
        "Content-Type": harness.JSON_CT, "X-Amz-Target": OP})
    resp = c.getresponse()
    got = harness.Response(resp.status, {}, resp.read())
    c.close()
    assert got.error_type() == "MissingAuthenticationTokenException", got
    r = signed(authsrv, OP, body, secret="wrong")
    assert r.error_type() == "InvalidSignatureException", r
    r = signed(authsrv, OP, body)
    assert r.status == 200, r
    assert [b["Writes"] for b in r.json["Buckets"]] == [0, 0, 0, 0]
