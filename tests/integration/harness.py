"""Shared helpers for the Tidemark integration and crash tests.

Plain module (no pytest dependency) so that tests/crash can import it too.

- Server: start build/tidemark on a free port and a data dir, wait until it
  is ready (its "listening on" line AND GET / answering), stop it with a
  signal or kill -9, and keep its stderr in a file for failure messages.
- raw_request / RawClient: DynamoDB JSON 1.0 requests over http.client, for
  protocol-level tests.
- AwsCli: runs /usr/bin/aws with the endpoint, JSON output and dummy
  credentials.

Environment:
  TIDEMARK_TEST_ENDPOINT=http://127.0.0.1:PORT  run against an already
      running DynamoDB-compatible endpoint (e.g. dynalite) instead of starting
      build/tidemark; tests that need the binary or the data dir are skipped.
  TIDEMARK_BIN=/path/to/tidemark  use another binary than build/tidemark.
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BINARY = os.environ.get("TIDEMARK_BIN") or os.path.join(
    REPO_ROOT, "build", "tidemark")
EXTERNAL_ENDPOINT = os.environ.get("TIDEMARK_TEST_ENDPOINT") or None

REGION = "us-east-1"
ACCOUNT = "000000000000"
TARGET_PREFIX = "DynamoDB_20120810."
JSON_CT = "application/x-amz-json-1.0"

# Namespaces of the __type member, as DynamoDB sends them.
NS_DDB = "com.amazonaws.dynamodb.v20120810#"
NS_VALIDATE = "com.amazon.coral.validate#"
NS_SERVICE = "com.amazon.coral.service#"

# Tidemark checks no signature on loopback. A syntactically plausible SigV4
# header is still sent on raw requests so that the same tests can run
# against emulators that insist on its presence (dynalite does).
DUMMY_AUTH = ("AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/"
              "aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, "
              "Signature=" + "0" * 64)

READY_TIMEOUT = 10.0


def free_port():
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dummy_env():
    """Environment for the AWS CLI and boto3: dummy credentials, no user
    configuration files, no pager, no metadata lookups."""
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("AWS_"):
            del env[k]
    env.update({
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_PAGER": "",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_RETRY_MODE": "standard",
    })
    return env


class ServerError(Exception):
    pass


class Server:
    """One tidemark process. The data dir outlives the process, so the same
    data dir can be served again after stop() or kill()."""

    def __init__(self, data_dir, port=None, extra_args=(), log_dir=None,
                 env=None):
        self.data_dir = data_dir
        self.env = env          # None: this process's environment
        self.port = port or free_port()
        self.extra_args = list(extra_args)
        self.log_dir = log_dir or os.path.dirname(os.path.abspath(data_dir))
        self.proc = None
        self.stderr_path = None
        self.starts = 0

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def argv(self):
        return [BINARY, "serve", "--host", "127.0.0.1", "--port",
                str(self.port), "--data", self.data_dir] + self.extra_args

    def stderr_text(self):
        if not self.stderr_path or not os.path.exists(self.stderr_path):
            return ""
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_log(self, text, timeout=5.0):
        """True once `text` is in the server's stderr.  A line the server
        logs after an event the client sees (a cut connection, say) may
        land a moment after the client saw it."""
        until = time.monotonic() + timeout
        while text not in self.stderr_text():
            if time.monotonic() > until:
                return False
            time.sleep(0.05)
        return True

    def spawn(self):
        """Start the process without waiting for it to be ready."""
        if not os.path.exists(BINARY):
            raise ServerError(
                "tidemark binary not found at %s: build it first (make), or "
                "set TIDEMARK_TEST_ENDPOINT to test an external endpoint"
                % BINARY)
        self.starts += 1
        self.stderr_path = os.path.join(
            self.log_dir, "tidemark-%d-%d.stderr" % (self.port, self.starts))
        err = open(self.stderr_path, "wb")
        try:
            self.proc = subprocess.Popen(
                self.argv(), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=err, cwd=REPO_ROOT,
                env=self.env)
        finally:
            err.close()
        return self.proc

    def start(self, timeout=READY_TIMEOUT):
        self.spawn()
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=READY_TIMEOUT):
        """Wait for the 'listening on http://127.0.0.1:PORT' line on stderr
        and for GET / to answer."""
        want = "listening on http://127.0.0.1:%d" % self.port
        deadline = time.monotonic() + timeout
        saw_line = False
        last_err = None
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                raise ServerError(
                    "tidemark exited with code %d before it was ready.\n"
                    "command: %s\nstderr:\n%s"
                    % (rc, " ".join(self.argv()), self.stderr_text()))
            if not saw_line:
                saw_line = want in self.stderr_text()
            if saw_line:
                try:
                    status, _, _ = http_get(self.port, "/", timeout=1.0)
                    if status == 200:
                        return
                    last_err = "GET / answered HTTP %d" % status
                except OSError as e:
                    last_err = repr(e)
            time.sleep(0.02)
        self.kill()
        raise ServerError(
            "tidemark was not ready within %.0f s (saw %r on stderr: %s; "
            "last GET / error: %s).\ncommand: %s\nstderr:\n%s"
            % (timeout, want, saw_line, last_err, " ".join(self.argv()),
               self.stderr_text()))

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        """Send sig and wait; returns the exit code (None if it had to be
        killed after timeout)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        return self.proc.returncode

    def kill(self):
        """kill -9 and reap."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class ExternalServer:
    """Stand-in for Server when TIDEMARK_TEST_ENDPOINT is set."""

    def __init__(self, url):
        self.url = url.rstrip("/")
        parsed = urllib.parse.urlparse(self.url)
        self.host = parsed.hostname
        self.port = parsed.port or 80
        self.data_dir = None
        self.proc = None

    def stderr_text(self):
        return "(external endpoint %s: no stderr)" % self.url


def make_tempdir(prefix="tidemark-test-"):
    return tempfile.mkdtemp(prefix=prefix)


def remove_tree(path):
    shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------- raw HTTP

def http_get(port, path="/", timeout=5.0, host="127.0.0.1"):
    c = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        c.close()


def ddb_headers(op, extra=None):
    h = {
        "Content-Type": JSON_CT,
        "X-Amz-Date": "20260101T000000Z",
        "Authorization": DUMMY_AUTH,
    }
    if op is not None:
        h["X-Amz-Target"] = op if "." in op or op == "" else TARGET_PREFIX + op
    if extra:
        h.update(extra)
    return h


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers          # lower-cased names
        self.body = body                # bytes

    def header(self, name):
        return self.headers.get(name.lower())

    @property
    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def error_type(self):
        """The error name after '#', or None if the body is not an error."""
        try:
            t = self.json.get("__type")
        except (ValueError, AttributeError):
            return None
        if not isinstance(t, str):
            return None
        return t.rsplit("#", 1)[-1]

    def error_message(self):
        try:
            d = self.json
        except ValueError:
            return None
        return d.get("message", d.get("Message"))

    def __repr__(self):
        return "<HTTP %d %r>" % (self.status, self.body[:500])


def encode_body(body):
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body).encode("utf-8")


class RawClient:
    """DynamoDB JSON requests on one keep-alive http.client connection."""

    def __init__(self, port, host="127.0.0.1", timeout=30.0):
        self.host = host
        self.port = port
        self.timeout = timeout
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout)

    def request(self, op, body=None, headers=None, method="POST", path="/"):
        """op: 'PutItem' or a full target string, or None for no
        X-Amz-Target header. body: dict (JSON-encoded), str or bytes."""
        data = encode_body(body)
        self.conn.request(method, path, data, ddb_headers(op, headers))
        r = self.conn.getresponse()
        payload = r.read()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()},
                        payload)

    def call(self, op, body):
        """Request that must succeed: returns the parsed JSON body."""
        r = self.request(op, body)
        if r.status != 200:
            raise AssertionError("%s failed: %r" % (op, r))
        return r.json

    def close(self):
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def raw_request(port, op, body=None, headers=None, host="127.0.0.1",
                timeout=30.0):
    """One request on its own connection."""
    with RawClient(port, host, timeout) as c:
        return c.request(op, body, headers)


def raw_socket_exchange(port, data, host="127.0.0.1", timeout=10.0,
                        shut_write=False):
    """Send raw bytes, read until the server closes or timeout; returns the
    bytes received (b'' if nothing). Connection errors while reading end the
    read; the caller decides what that means."""
    s = socket.create_connection((host, port), timeout=timeout)
    got = b""
    try:
        try:
            s.sendall(data)
            if shut_write:
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
                if _complete_http_response(got):
                    break
        except (socket.timeout, OSError):
            pass
    finally:
        s.close()
    return got


def _complete_http_response(data):
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                return len(rest) >= int(value.strip())
            except ValueError:
                return False
    return False


def parse_http_response(data):
    """Parse raw bytes of one HTTP/1.1 response with Content-Length into a
    Response, or None if incomplete."""
    if not _complete_http_response(data):
        return None
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower().decode("latin-1")] = \
            value.strip().decode("latin-1")
    n = int(headers.get("content-length", "0"))
    return Response(status, headers, rest[:n])


def raw_http_bytes(op, body, content_length=None, extra_headers=None):
    """The bytes of a POST / request, with an arbitrary Content-Length."""
    body = encode_body(body)
    h = ddb_headers(op, extra_headers)
    h["Host"] = "127.0.0.1"
    h["Content-Length"] = str(len(body) if content_length is None
                              else content_length)
    head = "POST / HTTP/1.1\r\n" + "".join(
        "%s: %s\r\n" % kv for kv in h.items()) + "\r\n"
    return head.encode("latin-1") + body


# ----------------------------------------------------------------- AWS CLI

class AwsCli:
    """Runs `/usr/bin/aws dynamodb ...` against the server.

    cli('create-table', '--table-name', 'x', ...) returns the parsed JSON
    output ({} when the command prints nothing) and fails the test with the
    CLI's stderr if the command fails. cli.error(...) expects the command to
    fail and returns the subprocess.CalledProcessError (with .stderr text).
    """

    AWS = "/usr/bin/aws"

    def __init__(self, url, service="dynamodb"):
        self.url = url
        self.service = service
        self.env = dummy_env()

    def argv(self, args):
        return [self.AWS, self.service] + [str(a) for a in args] + [
            "--endpoint-url", self.url, "--output", "json",
            "--region", REGION]

    def run(self, *args, timeout=120):
        """Returns parsed JSON, or the CalledProcessError on failure."""
        argv = self.argv(args)
        try:
            p = subprocess.run(argv, env=self.env, capture_output=True,
                               text=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            raise AssertionError("aws %s did not finish within %s s"
                                 % (" ".join(map(str, args)), timeout)) from e
        if p.returncode != 0:
            return subprocess.CalledProcessError(
                p.returncode, argv, output=p.stdout, stderr=p.stderr)
        out = p.stdout.strip()
        return json.loads(out) if out else {}

    def __call__(self, *args, timeout=120):
        r = self.run(*args, timeout=timeout)
        if isinstance(r, subprocess.CalledProcessError):
            raise AssertionError(
                "aws %s failed with exit code %d:\n%s"
                % (" ".join(map(str, args)), r.returncode, r.stderr))
        return r

    def error(self, *args, timeout=120):
        r = self.run(*args, timeout=timeout)
        if not isinstance(r, subprocess.CalledProcessError):
            raise AssertionError("aws %s succeeded but should have failed: %r"
                                 % (" ".join(map(str, args)), r))
        return r


# ------------------------------------------------------- DynamoDB helpers

def make_client(url, validate=True, read_timeout=60):
    """boto3 DynamoDB client: dummy credentials, no retries (a retry would
    hide a 500 or a dropped connection)."""
    import boto3
    from botocore.config import Config
    return boto3.client(
        "dynamodb", endpoint_url=url, region_name=REGION,
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(parameter_validation=validate,
                      retries={"total_max_attempts": 1, "mode": "standard"},
                      connect_timeout=5, read_timeout=read_timeout))


NOTES_KEYS = [{"AttributeName": "userId", "KeyType": "HASH"},
              {"AttributeName": "noteId", "KeyType": "RANGE"}]
NOTES_ATTRS = [{"AttributeName": "userId", "AttributeType": "S"},
               {"AttributeName": "noteId", "AttributeType": "S"}]

UUID_RE = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def create_notes(client, name="notes", **kw):
    args = dict(TableName=name, KeySchema=NOTES_KEYS,
                AttributeDefinitions=NOTES_ATTRS,
                BillingMode="PAY_PER_REQUEST")
    args.update(kw)
    return client.create_table(**args)["TableDescription"]


def error_of(excinfo):
    """(code, message) of a botocore ClientError caught by pytest.raises."""
    err = excinfo.value.response["Error"]
    return err.get("Code"), err.get("Message", "")


def arn(name):
    return "arn:aws:dynamodb:%s:%s:table/%s" % (REGION,
                                                ACCOUNT, name)


def wait_backup(client, arn, timeout=60.0):
    """Poll DescribeBackup until backup `arn` is AVAILABLE and return its
    description.  CreateBackup answers CREATING and writes the rows in the
    background, as DynamoDB does; clients wait the same way before they
    restore.  `client` is a boto3 client or a RawClient."""
    deadline = time.time() + timeout
    while True:
        if isinstance(client, RawClient):
            d = client.call("DescribeBackup", {"BackupArn": arn})
        else:
            d = client.describe_backup(BackupArn=arn)
        d = d["BackupDescription"]
        status = d["BackupDetails"]["BackupStatus"]
        if status == "AVAILABLE":
            return d
        assert status == "CREATING", d
        if time.time() > deadline:
            raise AssertionError("backup %s still CREATING after %.0f s"
                                 % (arn, timeout))
        time.sleep(0.02)


def wait_table_active(client, name, timeout=60.0):
    """Poll DescribeTable (boto3 client) until table `name` is ACTIVE (a
    restore or a backfill); returns its description."""
    deadline = time.monotonic() + timeout
    while True:
        t = client.describe_table(TableName=name)["Table"]
        if t["TableStatus"] == "ACTIVE":
            return t
        assert time.monotonic() < deadline, t
        time.sleep(0.05)


def now_ms(raw, advance=0):
    """The server's clock in ms after moving it `advance` ms forward (a
    server started with --unsafe-test-clock; RawClient)."""
    return raw.call("TidemarkTest_20261125.AdvanceClock",
                    {"Milliseconds": advance})["NowMs"]


def model_at(history, at):
    """The model after the last write whose bracket ended by `at` (ms):
    `history` lists (ms before the write was sent, ms after it was
    acknowledged, the model then) in order.  A time inside a bracket,
    where the write may or may not count, is refused."""
    want = {}
    for before, after, snap in history:
        if after <= at:
            want = snap
        assert not (before <= at < after), \
            "a restore time fell inside a write's bracket"
    return want


def paged_items(call, **kw):
    """Every item a paginated read (a boto3 client's scan or query) with
    these parameters returns, following LastEvaluatedKey, as a list."""
    items = []
    while True:
        r = call(**kw)
        items += r["Items"]
        if "LastEvaluatedKey" not in r:
            return items
        kw["ExclusiveStartKey"] = r["LastEvaluatedKey"]


def scan_items(client, **kw):
    """Every item a Scan with these parameters returns (boto3 client)."""
    return paged_items(client.scan, **kw)


def query_items(client, **kw):
    """Every item a Query with these parameters returns (boto3 client)."""
    return paged_items(client.query, **kw)


def scan_notes(client, table):
    """Every item of a notes-shaped table (boto3 client), as
    {(userId, noteId): item}."""
    return {(it["userId"]["S"], it["noteId"]["S"]): it
            for it in scan_items(client, TableName=table)}
