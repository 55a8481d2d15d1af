"""Request authentication: AWS Signature Version 4 with --credentials FILE.

The matrix: every client (boto3, the AWS CLI, the JavaScript SDK v3, raw
requests signed by botocore's SigV4Auth, presigned query strings built by
hand and by botocore's SigV4QueryAuth) with the right key, and every kind
of failure, each with DynamoDB's error type and message:

    missing Authorization           MissingAuthenticationTokenException
    malformed Authorization         IncompleteSignatureException
    unknown access key              UnrecognizedClientException
    session token                   UnrecognizedClientException
    wrong secret                    InvalidSignatureException
    tampered body / signed header   InvalidSignatureException
    expired / future date           InvalidSignatureException
    expired presigned URL           InvalidSignatureException

and the start-up rules: a credentials file readable by others is refused, a
malformed one names the line, and without credentials a non-loopback
--host is refused unless --allow-anonymous (the refusal happens before
anything is bound: 0.0.0.0 is only ever given to a process that must exit).

The message texts follow DynamoDB as recorded by dynalite (index.js,
test/connection.js); see src/auth/sigv4.c.
"""

import datetime
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import subprocess
import time
import urllib.parse

import boto3
import botocore
import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

import harness

pytestmark = pytest.mark.needs_binary

KEY, SECRET = "AKIDTIDEMARKTEST1", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
KEY2, SECRET2 = "second-key_2", "another#secret"
JSON_CT = harness.JSON_CT
TARGET = harness.TARGET_PREFIX

MSG_MISSING = "Request is missing Authentication Token"
MSG_UNKNOWN = "The security token included in the request is invalid."
MSG_TOKEN = "The security token included in the request is invalid"
MSG_MISMATCH = ("The request signature we calculated does not match the "
                "signature you provided. Check your AWS Secret Access Key "
                "and signing method. Consult the service documentation for "
                "details.")
EXPIRED_RE = re.compile(
    r"^Signature expired: (\d{8}T\d{6}Z) is now earlier than "
    r"(\d{8}T\d{6}Z) \((\d{8}T\d{6}Z) - 15 min\.\)$")
FUTURE_RE = re.compile(
    r"^Signature not yet current: (\d{8}T\d{6}Z) is still later than "
    r"(\d{8}T\d{6}Z) \((\d{8}T\d{6}Z) \+ 15 min\.\)$")

CREDENTIALS = """# Tidemark test keys
%s   %s

%s\t%s   # the second key
""" % (KEY, SECRET, KEY2, SECRET2)


def write_credentials(path, text=CREDENTIALS, mode=0o600):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("auth"))
    creds = write_credentials(os.path.join(root, "credentials"))
    s = harness.Server(os.path.join(root, "data"), log_dir=root,
                       extra_args=["--credentials", creds])
    try:
        s.start()
    except harness.ServerError as e:
        pytest.fail(str(e), pytrace=False)
    yield s
    alive = s.proc.poll() is None
    rc = s.stop()
    if not alive or rc != 0:
        pytest.fail("tidemark (with credentials) exited %s.\nstderr:\n%s"
                    % (s.proc.returncode, s.stderr_text()), pytrace=False)


def client(srv, key=KEY, secret=SECRET, region=harness.REGION, token=None):
    return boto3.client(
        "dynamodb", endpoint_url=srv.url, region_name=region,
        aws_access_key_id=key, aws_secret_access_key=secret,
        aws_session_token=token,
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"},
                      connect_timeout=5, read_timeout=30))


@pytest.fixture
def ddb(srv):
    c = client(srv)
    for name in c.list_tables()["TableNames"]:
        c.delete_table(TableName=name)
    return c


@pytest.fixture
def notes(ddb):
    harness.create_notes(ddb)
    return "notes"


def client_error(fn, *args, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        fn(*args, **kw)
    err = ei.value.response["Error"]
    status = ei.value.response["ResponseMetadata"]["HTTPStatusCode"]
    return err.get("Code"), err.get("Message"), status


# ---------------------------------------------------------- signing helpers

def amz_date(when):
    return when.strftime("%Y%m%dT%H%M%SZ")


class SigV4AuthAt(SigV4Auth):
    """botocore's signer with a chosen signing time instead of now."""

    def __init__(self, credentials, service, region, when):
        super().__init__(credentials, service, region)
        self._when = when

    def add_auth(self, request):
        request.context["timestamp"] = amz_date(self._when)
        self._modify_request_before_signing(request)
        creq = self.canonical_request(request)
        sts = self.string_to_sign(request, creq)
        self._inject_signature_to_request(request, self.signature(sts,
                                                                  request))


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def sign(srv, op, body, key=KEY, secret=SECRET, when=None, extra=None,
         region=harness.REGION):
    """A botocore-signed request: (headers dict, body bytes)."""
    data = harness.encode_body(body)
    headers = {"Content-Type": JSON_CT, "X-Amz-Target": TARGET + op}
    headers.update(extra or {})
    req = AWSRequest(method="POST", url=srv.url + "/", data=data,
                     headers=headers)
    SigV4AuthAt(Credentials(key, secret), "dynamodb", region,
                when or utcnow()).add_auth(req)
    p = req.prepare()
    return {k: v for k, v in p.headers.items()}, data


def send(srv, headers, body, path="/"):
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    try:
        c.request("POST", path, body, headers)
        r = c.getresponse()
        return harness.Response(r.status, {k.lower(): v
                                           for k, v in r.getheaders()},
                                r.read())
    finally:
        c.close()


def assert_error(r, etype, message=None):
    assert r.status == 400, r
    assert r.json["__type"] == "com.amazon.coral.service#" + etype, r
    if message is not None:
        assert r.json["message"] == message, r
    return r.json["message"]


GET_ITEM = {"TableName": "notes",
            "Key": {"userId": {"S": "u1"}, "noteId": {"S": "n1"}}}
PUT_ITEM = {"TableName": "notes",
            "Item": {"userId": {"S": "u1"}, "noteId": {"S": "n1"},
                     "text": {"S": "signed"}}}


# ------------------------------------------------------ the right key works

def test_boto3_signed_requests_pass(ddb, notes, srv):
    ddb.put_item(**PUT_ITEM)
    assert ddb.get_item(**GET_ITEM)["Item"]["text"] == {"S": "signed"}
    # the second key of the file, and any region (the signature covers it)
    other = client(srv, KEY2, SECRET2, region="eu-west-1")
    assert other.list_tables()["TableNames"] == ["notes"]
    assert other.get_item(**GET_ITEM)["Item"]["text"] == {"S": "signed"}


def test_streams_client_signs_as_dynamodb(ddb, notes, srv):
    # The DynamoDB Streams clients sign with service name "dynamodb" too.
    kw = dict(endpoint_url=srv.url, region_name=harness.REGION,
              aws_access_key_id=KEY, aws_secret_access_key=SECRET,
              config=Config(retries={"total_max_attempts": 1}))
    streams = boto3.client("dynamodbstreams", **kw)
    assert streams.list_streams()["Streams"] == []
    kw["aws_secret_access_key"] = "wrong"
    code, msg, _ = client_error(
        boto3.client("dynamodbstreams", **kw).list_streams)
    assert (code, msg) == ("InvalidSignatureException", MSG_MISMATCH)


def test_boto3_resource_and_batch(ddb, notes, srv):
    table = boto3.resource(
        "dynamodb", endpoint_url=srv.url, region_name=harness.REGION,
        aws_access_key_id=KEY, aws_secret_access_key=SECRET).Table("notes")
    with table.batch_writer() as w:
        for i in range(30):
            w.put_item(Item={"userId": "u", "noteId": "%03d" % i})
    assert table.query(
        KeyConditionExpression="userId = :u",
        ExpressionAttributeValues={":u": "u"})["Count"] == 30


def test_aws_cli_signed_requests_pass(ddb, notes, srv):
    cli = harness.AwsCli(srv.url)
    cli.env.update({"AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET})
    cli("put-item", "--table-name", "notes", "--item",
        json.dumps(PUT_ITEM["Item"]))
    got = cli("get-item", "--table-name", "notes", "--key",
              json.dumps(GET_ITEM["Key"]))
    assert got["Item"]["text"] == {"S": "signed"}
    assert cli("list-tables")["TableNames"] == ["notes"]


def test_aws_cli_refused(ddb, srv):
    cli = harness.AwsCli(srv.url)
    cli.env.update({"AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": "x"})
    err = cli.error("list-tables")
    assert "(InvalidSignatureException)" in err.stderr
    assert MSG_MISMATCH in err.stderr
    cli.env.update({"AWS_ACCESS_KEY_ID": "NOSUCHKEY"})
    err = cli.error("list-tables")
    assert "(UnrecognizedClientException)" in err.stderr
    assert MSG_UNKNOWN in err.stderr


JS_SCRIPT = r"""
import { DynamoDBClient, ListTablesCommand, PutItemCommand, GetItemCommand }
  from '@aws-sdk/client-dynamodb';
const [endpoint, key, secret, key2] = process.argv.slice(1);
const mk = (k, s) => new DynamoDBClient({ endpoint, region: 'us-east-1',
  credentials: { accessKeyId: k, secretAccessKey: s }, maxAttempts: 1 });
const out = {};
async function run(name, k, s, fn) {
  try { out[name] = { ok: await fn(mk(k, s)) }; }
  catch (e) { out[name] = { name: e.name, message: e.message,
                            status: e.$metadata?.httpStatusCode }; }
}
await run('put', key, secret, async c => {
  await c.send(new PutItemCommand({ TableName: 'notes', Item: {
    userId: { S: 'js' }, noteId: { S: 'n1' }, text: { S: 'from js' } } }));
  const r = await c.send(new GetItemCommand({ TableName: 'notes',
    Key: { userId: { S: 'js' }, noteId: { S: 'n1' } } }));
  return r.Item.text.S;
});
await run('list', key, secret,
  async c => (await c.send(new ListTablesCommand({}))).TableNames);
await run('wrong_secret', key, 'not-the-secret',
  async c => (await c.send(new ListTablesCommand({}))).TableNames);
await run('unknown_key', key2, secret,
  async c => (await c.send(new ListTablesCommand({}))).TableNames);
console.log(JSON.stringify(out));
"""


def test_javascript_sdk(ddb, notes, srv):
    jsdir = os.path.join(harness.REPO_ROOT, "tests", "js")
    node = shutil.which("node")
    sdk = os.path.join(jsdir, "node_modules", "@aws-sdk", "client-dynamodb")
    if node is None or not os.path.isdir(sdk):
        pytest.skip("node or tests/js/node_modules (npm ci) not available")
    env = dict(harness.dummy_env())
    env["AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED"] = "1"
    p = subprocess.run([node, "--input-type=module", "-e", JS_SCRIPT,
                        srv.url, KEY, SECRET, "NOSUCHKEY"],
                       cwd=jsdir, env=env, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["put"] == {"ok": "from js"}
    assert out["list"] == {"ok": ["notes"]}
    assert out["wrong_secret"] == {"name": "InvalidSignatureException",
                                   "message": MSG_MISMATCH, "status": 400}
    assert out["unknown_key"] == {"name": "UnrecognizedClientException",
                                  "message": MSG_UNKNOWN, "status": 400}


def test_raw_botocore_signed_request_passes(ddb, notes, srv):
    h, b = sign(srv, "PutItem", PUT_ITEM)
    r = send(srv, h, b)
    assert r.status == 200, r
    # unsigned headers may be added or changed
    h["User-Agent"] = "something/else"
    h["X-Not-Signed"] = "1"
    assert send(srv, h, b).status == 200
    # the Date header instead of X-Amz-Date (botocore signs that way when
    # the caller set a Date)
    req = AWSRequest(method="POST", url=srv.url + "/",
                     data=json.dumps(GET_ITEM).encode(),
                     headers={"Content-Type": JSON_CT,
                              "X-Amz-Target": TARGET + "GetItem",
                              "Date": "x"})
    SigV4Auth(Credentials(KEY, SECRET), "dynamodb",
              harness.REGION).add_auth(req)
    p = req.prepare()
    assert "X-Amz-Date" not in p.headers
    r = send(srv, dict(p.headers.items()), p.body)
    assert r.status == 200, r
    assert r.json["Item"]["text"] == {"S": "signed"}


def test_get_root_needs_no_signature(srv):
    status, _, body = harness.http_get(srv.port, "/")
    assert status == 200 and body.startswith(b"tidemark ")


# ------------------------------------------------------- and every refusal

def test_wrong_secret(ddb, notes, srv):
    code, msg, status = client_error(client(srv, KEY, "wrong").list_tables)
    assert (code, msg, status) == ("InvalidSignatureException",
                                   MSG_MISMATCH, 400)
    # the second key's secret with the first key's id
    code, msg, _ = client_error(client(srv, KEY, SECRET2).get_item,
                                **GET_ITEM)
    assert code == "InvalidSignatureException"


def test_unknown_key(srv):
    code, msg, status = client_error(client(srv, "NOSUCHKEY",
                                            SECRET).list_tables)
    assert (code, msg, status) == ("UnrecognizedClientException",
                                   MSG_UNKNOWN, 400)


def test_session_token_refused(srv):
    code, msg, _ = client_error(
        client(srv, KEY, SECRET, token="FQoGZXIvYXdzEXAMPLE").list_tables)
    assert (code, msg) == ("UnrecognizedClientException", MSG_TOKEN)


def test_tampered_body(ddb, notes, srv):
    h, b = sign(srv, "PutItem", PUT_ITEM)
    tampered = b.replace(b'"signed"', b'"forged"')
    assert tampered != b
    h["Content-Length"] = str(len(tampered))
    assert_error(send(srv, h, tampered), "InvalidSignatureException",
                 MSG_MISMATCH)
    assert "Item" not in ddb.get_item(**GET_ITEM)
    # the same length, one byte changed
    tampered = b.replace(b'"n1"', b'"n2"')
    assert_error(send(srv, h, tampered), "InvalidSignatureException",
                 MSG_MISMATCH)


def test_tampered_signed_header(ddb, notes, srv):
    h, b = sign(srv, "DescribeTable", {"TableName": "notes"})
    assert send(srv, h, b).status == 200
    h["X-Amz-Target"] = TARGET + "DeleteTable"
    assert_error(send(srv, h, b), "InvalidSignatureException", MSG_MISMATCH)
    assert ddb.describe_table(TableName="notes")["Table"]["TableName"] == \
        "notes"
    # a signed header left out
    h, b = sign(srv, "DescribeTable", {"TableName": "notes"})
    del h["Content-Type"]
    assert_error(send(srv, h, b), "InvalidSignatureException", MSG_MISMATCH)
    # the Authorization header's SignedHeaders edited to drop one
    h, b = sign(srv, "DescribeTable", {"TableName": "notes"})
    h["Authorization"] = h["Authorization"].replace("content-type;", "")
    assert_error(send(srv, h, b), "InvalidSignatureException", MSG_MISMATCH)


def test_expired_date(srv):
    # signed 20 minutes ago: outside the 15-minute window
    when = utcnow().replace(microsecond=0) - datetime.timedelta(minutes=20)
    h, b = sign(srv, "ListTables", {}, when=when)
    msg = assert_error(send(srv, h, b), "InvalidSignatureException")
    m = EXPIRED_RE.match(msg)
    assert m, msg
    assert m.group(1) == amz_date(when)
    req_t, edge_t, now_t = (datetime.datetime.strptime(g, "%Y%m%dT%H%M%SZ")
                            for g in m.groups())
    assert now_t - edge_t == datetime.timedelta(minutes=15)
    assert abs((now_t - utcnow()).total_seconds()) < 60
    # 10 minutes ago still passes
    h, b = sign(srv, "ListTables", {},
                when=utcnow() - datetime.timedelta(minutes=10))
    assert send(srv, h, b).status == 200


def test_future_date(srv):
    when = utcnow().replace(microsecond=0) + datetime.timedelta(minutes=20)
    h, b = sign(srv, "ListTables", {}, when=when)
    msg = assert_error(send(srv, h, b), "InvalidSignatureException")
    m = FUTURE_RE.match(msg)
    assert m and m.group(1) == amz_date(when), msg


def test_missing_authorization(srv):
    r = send(srv, {"Content-Type": JSON_CT,
                   "X-Amz-Target": TARGET + "ListTables",
                   "X-Amz-Date": amz_date(utcnow())}, b"{}")
    assert_error(r, "MissingAuthenticationTokenException", MSG_MISSING)
    assert r.header("x-amzn-requestid")
    # not an AWS4 scheme at all
    r = send(srv, {"Content-Type": JSON_CT,
                   "X-Amz-Target": TARGET + "ListTables",
                   "Authorization": "Basic dXNlcjpwYXNz"}, b"{}")
    assert_error(r, "MissingAuthenticationTokenException", MSG_MISSING)
    # the harness's dummy header (dated 2026-01-01) fails on its date first
    r = harness.raw_request(srv.port, "ListTables", {})
    msg = assert_error(r, "InvalidSignatureException")
    assert msg.startswith("Signature expired: 20260101T000000Z is now "
                          "earlier than "), msg


def test_incomplete_signature(srv):
    r = send(srv, {"Content-Type": JSON_CT,
                   "X-Amz-Target": TARGET + "ListTables",
                   "Authorization": "AWS4-"}, b"{}")
    assert_error(r, "IncompleteSignatureException",
                 "Authorization header requires 'Credential' parameter. "
                 "Authorization header requires 'Signature' parameter. "
                 "Authorization header requires 'SignedHeaders' parameter. "
                 "Authorization header requires existence of either a "
                 "'X-Amz-Date' or a 'Date' header. Authorization=AWS4-")
    h, b = sign(srv, "ListTables", {})
    h["Authorization"] = h["Authorization"].replace(
        "/us-east-1/dynamodb/", "/us-east-1/s3/")
    assert_error(send(srv, h, b), "InvalidSignatureException",
                 "Credential should be scoped to correct service: "
                 "'dynamodb'.")
    h, b = sign(srv, "ListTables", {})
    h["Authorization"] = h["Authorization"].replace(
        "AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA512 ")
    assert_error(send(srv, h, b), "IncompleteSignatureException",
                 "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only "
                 "AWS4-HMAC-SHA256 for now). ")
    h, b = sign(srv, "ListTables", {})
    h["Authorization"] = re.sub(r"SignedHeaders=[^,]*",
                                "SignedHeaders=x-amz-date;x-amz-target",
                                h["Authorization"])
    assert_error(send(srv, h, b), "InvalidSignatureException",
                 "'Host' must be a 'SignedHeader' in the AWS Authorization.")


# ----------------------------------------------------------- presigned URLs

def uri_encode(s):
    return urllib.parse.quote(s, safe="-_.~")


def presign_by_hand(srv, op, body, key=KEY, secret=SECRET, when=None,
                    expires=300):
    """POST /?X-Amz-...: the query-string form, computed with hashlib and
    hmac only (AWS's "Authenticating Requests: Using Query Parameters")."""
    when = when or utcnow()
    date = amz_date(when)
    scope = "%s/%s/dynamodb/aws4_request" % (date[:8], harness.REGION)
    host = "127.0.0.1:%d" % srv.port
    target = TARGET + op
    params = {"X-Amz-Algorithm": "AWS4-HMAC-SHA256",
              "X-Amz-Credential": "%s/%s" % (key, scope),
              "X-Amz-Date": date, "X-Amz-Expires": str(expires),
              "X-Amz-SignedHeaders": "host;x-amz-target"}
    cq = "&".join("%s=%s" % (uri_encode(k), uri_encode(v))
                  for k, v in sorted(params.items()))
    creq = "\n".join(["POST", "/", cq,
                      "host:%s\nx-amz-target:%s\n" % (host, target),
                      "host;x-amz-target",
                      hashlib.sha256(body).hexdigest()])
    sts = "\n".join(["AWS4-HMAC-SHA256", date, scope,
                     hashlib.sha256(creq.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for part in (date[:8], harness.REGION, "dynamodb", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    path = "/?" + cq + "&X-Amz-Signature=" + sig
    return path, {"X-Amz-Target": target, "Content-Type": JSON_CT}


class PresignPost(SigV4QueryAuth):
    """botocore's presigner, keeping the JSON body as the body (botocore
    would otherwise move a body's members into the query string, as for
    query-protocol services) and signing its hash."""

    def __init__(self, credentials, region, body, expires):
        super().__init__(credentials, "dynamodb", region, expires)
        self._body = body

    def payload(self, request):
        return hashlib.sha256(self._body).hexdigest()


def presign_by_botocore(srv, op, body, expires=300):
    req = AWSRequest(method="POST", url=srv.url + "/", data=b"",
                     headers={"X-Amz-Target": TARGET + op})
    PresignPost(Credentials(KEY, SECRET), harness.REGION, body,
                expires).add_auth(req)
    url = urllib.parse.urlsplit(req.url)
    return url.path + "?" + url.query, {"X-Amz-Target": TARGET + op,
                                        "Content-Type": JSON_CT}


def test_presigned_by_hand(ddb, notes, srv):
    body = json.dumps(PUT_ITEM).encode()
    path, h = presign_by_hand(srv, "PutItem", body)
    r = send(srv, h, body, path)
    assert r.status == 200, r
    assert ddb.get_item(**GET_ITEM)["Item"]["text"] == {"S": "signed"}
    # replaying it with another body fails
    forged = body.replace(b'"signed"', b'"forged"')
    assert_error(send(srv, h, forged, path), "InvalidSignatureException",
                 MSG_MISMATCH)
    # so does another operation
    assert_error(send(srv, dict(h, **{"X-Amz-Target": TARGET + "DeleteTable"}),
                      body, path),
                 "InvalidSignatureException", MSG_MISMATCH)
    # or a changed X-Amz-Expires
    assert_error(send(srv, h, body, path.replace("X-Amz-Expires=300",
                                                 "X-Amz-Expires=600")),
                 "InvalidSignatureException", MSG_MISMATCH)
    # and a query string next to an Authorization header
    hh, _ = sign(srv, "PutItem", PUT_ITEM)
    assert_error(send(srv, dict(h, Authorization=hh["Authorization"]), body,
                      path), "InvalidSignatureException",
                 "Found both 'X-Amz-Algorithm' as a query-string param and "
                 "'Authorization' as HTTP header.")


def test_presigned_by_botocore(ddb, notes, srv):
    body = json.dumps(GET_ITEM).encode()
    ddb.put_item(**PUT_ITEM)
    path, h = presign_by_botocore(srv, "GetItem", body)
    r = send(srv, h, body, path)
    assert r.status == 200, r
    assert r.json["Item"]["text"] == {"S": "signed"}


def test_presigned_expired(srv):
    body = b"{}"
    when = utcnow().replace(microsecond=0) - datetime.timedelta(minutes=2)
    path, h = presign_by_hand(srv, "ListTables", body, when=when, expires=60)
    msg = assert_error(send(srv, h, body, path), "InvalidSignatureException")
    assert re.match(r"^Signature expired: %s is now earlier than "
                    r"\d{8}T\d{6}Z \(\d{8}T\d{6}Z - 60 sec\.\)$"
                    % amz_date(when), msg), msg
    # the same age with a longer X-Amz-Expires passes
    path, h = presign_by_hand(srv, "ListTables", body, when=when,
                              expires=600)
    assert send(srv, h, body, path).status == 200
    path, h = presign_by_hand(srv, "ListTables", body, expires=604801)
    assert_error(send(srv, h, body, path), "IncompleteSignatureException",
                 "X-Amz-Expires must be less than a week (in seconds); "
                 "that is, the given X-Amz-Expires must be less than 604800 "
                 "seconds")


def test_presigned_incomplete(srv):
    r = send(srv, {"Content-Type": JSON_CT,
                   "X-Amz-Target": TARGET + "ListTables"}, b"{}",
             "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261125T000000Z")
    assert_error(r, "IncompleteSignatureException",
                 "AWS query-string parameters must include "
                 "'X-Amz-Credential'. AWS query-string parameters must "
                 "include 'X-Amz-Signature'. AWS query-string parameters "
                 "must include 'X-Amz-SignedHeaders'. Re-examine the "
                 "query-string parameters.")


# ---------------------------------------------------------- start-up rules

def run_tidemark(args, timeout=20):
    """Run the binary to completion (it must exit by itself)."""
    return subprocess.run([harness.BINARY] + args, capture_output=True,
                          text=True, timeout=timeout, cwd=harness.REPO_ROOT)


def test_credentials_file_readable_by_others_refused(tmp_path):
    for mode in (0o644, 0o640, 0o604, 0o660):
        creds = write_credentials(str(tmp_path / "creds"), mode=mode)
        data = str(tmp_path / "data")
        p = run_tidemark(["--port", "0", "--data", data,
                          "--credentials", creds])
        assert p.returncode == 1, p
        assert "credentials file %s may be read or written by group or " \
               "others (mode %04o)" % (creds, mode) in p.stderr
        assert "chmod 600" in p.stderr
        assert not os.path.exists(data), "refused after opening the data"


def test_credentials_file_errors_name_the_line(tmp_path):
    hidden = "Zq8-HIDDEN-SECRET"
    cases = [
        ("# keys\nAKID %s\nlonely\n" % hidden,
         "line 3: expected ACCESS_KEY_ID SECRET_ACCESS_KEY"),
        ("AKID %s extra\n" % hidden, "line 1: expected ACCESS_KEY_ID"),
        ("A %s\n\nA t\n" % hidden,
         "line 3: access key id 'A' is given twice"),
        ("bad/id %s\n" % hidden,
         "line 1: access key id 'bad/id' may contain only"),
        ("AKID %s\xe9\n" % hidden, "line 1: the secret access key may "
         "contain only printable ASCII characters"),
        ("# nothing\n", "holds no key"),
    ]
    for text, want in cases:
        creds = write_credentials(str(tmp_path / "creds"), text)
        p = run_tidemark(["--port", "0", "--data", str(tmp_path / "data"),
                          "--credentials", creds])
        assert p.returncode == 1, p
        assert want in p.stderr, (text, p.stderr)
        assert hidden not in p.stderr, p.stderr
    p = run_tidemark(["--port", "0", "--data", str(tmp_path / "data"),
                      "--credentials", str(tmp_path / "missing")])
    assert p.returncode == 1 and "cannot open credentials file" in p.stderr


def test_non_loopback_without_credentials_refused(tmp_path):
    data = str(tmp_path / "data")
    for host in ("0.0.0.0", "::"):
        p = run_tidemark(["--host", host, "--port", "0", "--data", data])
        assert p.returncode == 2, p
        assert ("refusing to serve anonymous requests on %s, which is not a "
                "loopback address" % host) in p.stderr
        assert "--credentials FILE" in p.stderr
        assert "--allow-anonymous" in p.stderr
        assert not os.path.exists(data), "refused after opening the data"


def test_allow_anonymous_passes_the_check(tmp_path):
    # With --allow-anonymous the refusal is gone; the process is made to
    # fail right after (an unusable data dir), so nothing is ever bound to
    # a non-loopback address.
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    p = run_tidemark(["--host", "0.0.0.0", "--port", "0", "--allow-anonymous",
                      "--data", str(blocker / "data")])
    assert p.returncode != 0
    assert "refusing" not in p.stderr, p.stderr
    # with credentials the same address passes the check as well
    creds = write_credentials(str(tmp_path / "creds"))
    p = run_tidemark(["--host", "0.0.0.0", "--port", "0", "--credentials",
                      creds, "--data", str(blocker / "data")])
    assert p.returncode != 0
    assert "refusing" not in p.stderr, p.stderr
    # both at once contradict each other
    p = run_tidemark(["--credentials", creds, "--allow-anonymous",
                      "--port", "0", "--data", str(tmp_path / "d2")])
    assert p.returncode == 2
    assert "--allow-anonymous and --credentials contradict" in p.stderr


def test_loopback_anonymous_and_allow_anonymous_start(tmp_path):
    # anonymous on 127.0.0.1 (the default), with and without the flag
    for extra in ([], ["--allow-anonymous"]):
        s = harness.Server(str(tmp_path / ("data%d" % len(extra))),
                           log_dir=str(tmp_path), extra_args=extra)
        s.start()
        try:
            assert "authentication: none" in s.stderr_text()
            assert harness.make_client(s.url).list_tables()["TableNames"] \
                == []
        finally:
            assert s.stop() == 0


def test_help_mentions_the_flags():
    p = run_tidemark(["--help"])
    assert p.returncode == 0
    assert "--credentials FILE" in p.stdout
    assert "--allow-anonymous" in p.stdout


def test_server_logs_key_count_not_secrets(srv):
    text = srv.stderr_text()
    assert "authentication: AWS Signature Version 4, 2 access keys" in text
    assert SECRET not in text and SECRET2 not in text
