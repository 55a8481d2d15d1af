"""The S3 client (src/s3) end to end, through build/tests/drv_s3.

Against a real object store, Ceph RGW started by the ceph-s3 tool (found at
$TIDEMARK_CEPH_S3, else ../shared/tools/ceph-s3 next to the repository;
it lives outside the repository and installs Ceph from Debian if needed):
small objects with awkward keys (put, get to memory and to a file, head,
list, delete), listing across continuation tokens with a small page size,
a multipart upload of a file larger than the part size and its byte-exact
download, the boundaries (empty file, exactly one part), the read-back
check catching a mismatch (a test hook spoils the local expectation; the
object must be gone afterwards), a wrong secret (SignatureDoesNotMatch at
once, no retry), a missing key (TM_ENOOBJECT, no file left behind).
Without the tool, or if it cannot start, those tests are SKIPPED with the
reason.  The rgw fixture starts the store once for this module and stops
it at the end, unless it was already running (then it is left alone, and
only this module's bucket content is removed).

Without any object store (always run): an endpoint with nothing listening
(retries with backoff, then "cannot reach", in bounded time), and a small
fake S3 in a thread for what RGW will not do on demand: 503 SlowDown
then success, a 500 that never ends, a stalled answer (the stall timeout),
a 403 (no retry; a long key shortened in the message), and the request as
sent on the wire (path encoding, SigV4 header, x-amz-content-sha256,
Content-MD5).
"""

import hashlib
import http.server
import os
import re
import secrets
import subprocess
import threading
import time

import pytest

import harness

# TIDEMARK_DRV_S3: another build of the driver (e.g. one under ASan)
DRIVER = os.environ.get("TIDEMARK_DRV_S3") or os.path.join(
    harness.REPO_ROOT, "build", "tests", "drv_s3")
CEPH_S3 = os.environ.get("TIDEMARK_CEPH_S3") or os.path.normpath(
    os.path.join(harness.REPO_ROOT, "..", "shared", "tools", "ceph-s3"))
MiB = 1024 * 1024

AWKWARD_KEYS = [
    "a/b/c:d$e-f",
    "x$y:z-1/2",
    "sp ace+plus&amp=eq",
    "t/$DeletedTableBackup:2026-11-25T10:00:00Z",
    "percent%20literal",
    "tilde~under_score.dot",
    "\u00e9t\u00e9/\u00fc",
]


class Result:
    def __init__(self, proc, elapsed):
        self.proc = proc
        self.elapsed = elapsed
        self.lines = proc.stdout.splitlines()
        last = self.lines[-1] if self.lines else ""
        self.ok = last.startswith("OK")
        self.last = last
        m = [l for l in self.lines if l.startswith("ATTEMPTS ")]
        self.attempts = int(m[-1].split()[1]) if m else None
        self.code = last.split()[1] if last.startswith("ERR ") else None
        self.msg = last.split(" ", 2)[2] if last.startswith("ERR ") else ""

    def __repr__(self):
        return "drv_s3 -> %r (stderr: %s)" % (self.lines,
                                              self.proc.stderr[-2000:])


def drv(env, url, *args, opts=(), timeout=300):
    assert os.path.exists(DRIVER), (
        f"{DRIVER} is missing: run `make build/tests/drv_s3` first")
    cmd = [DRIVER, "--url", url, *opts, *args]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=timeout)
    r = Result(proc, time.monotonic() - t0)
    assert proc.returncode in (0, 1), r
    return r


def ok(env, url, *args, **kw):
    r = drv(env, url, *args, **kw)
    assert r.ok, r
    return r


def md5_hex(data):
    return hashlib.md5(data).hexdigest()


def multipart_etag(data, part):
    parts = [data[i:i + part] for i in range(0, len(data), part)]
    digest = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts))
    return "%s-%d" % (digest.hexdigest(), len(parts))


def base_env():
    env = harness.dummy_env()
    env.pop("AWS_CA_BUNDLE", None)
    return env


# ---------------------------------------------------------------- Ceph RGW


def _parse_exports(text):
    env = {}
    for line in text.splitlines():
        m = re.match(r"export (\w+)=(.*)$", line.strip())
        if m:
            env[m.group(1)] = m.group(2)
    return env


def _skip(request, reason):
    """Skip, and say why at once on the terminal: `make test` runs pytest
    without -rs, and a skipped store must not go unnoticed."""
    rep = request.config.pluginmanager.get_plugin("terminalreporter")
    cap = request.config.pluginmanager.get_plugin("capturemanager")
    if rep is not None and cap is not None:
        with cap.global_and_fixture_disabled():
            rep.write_line("")
            rep.write_line("test_s3_client.py: the Ceph RGW tests are "
                           "SKIPPED: " + reason.replace("\n", "\n    "))
    pytest.skip(reason)


@pytest.fixture(scope="module")
def rgw(request):
    """Ceph RGW for this module: (env, url of a fresh bucket)."""
    if not os.path.isfile(CEPH_S3) or not os.access(CEPH_S3, os.X_OK):
        _skip(request, f"no Ceph RGW: the ceph-s3 tool is not at {CEPH_S3} "
                       "(set TIDEMARK_CEPH_S3)")
    was_running = subprocess.run(
        [CEPH_S3, "status"], stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, timeout=120).returncode == 0
    try:
        proc = subprocess.run([CEPH_S3, "start"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True,
                              timeout=1800)
    except subprocess.TimeoutExpired:
        _skip(request, "no Ceph RGW: `ceph-s3 start` did not finish in 30 "
                       "min")
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-8:])
        _skip(request, f"no Ceph RGW: `{CEPH_S3} start` failed "
                       f"(exit {proc.returncode}):\n{tail}")
    exported = _parse_exports(proc.stdout)
    env = base_env()
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION",
              "AWS_DEFAULT_REGION"):
        env[k] = exported[k]
    env["S3_ENDPOINT"] = exported["S3_ENDPOINT"]
    bucket = "tm-s3-%d-%s" % (os.getpid(), secrets.token_hex(4))
    url = "s3://%s/t-1/$p:q" % bucket
    try:
        ok(env, url, "ensure-bucket")
        yield env, url
    finally:
        if was_running:
            r = drv(env, url, "list", "")
            for line in r.lines:
                if line.startswith("KEY "):
                    drv(env, url, "delete", line.split(" ", 2)[2])
        else:
            subprocess.run([CEPH_S3, "stop"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=600)


def listed(r):
    out = {}
    for line in r.lines:
        if line.startswith("KEY "):
            _, size, key = line.split(" ", 2)
            out[key] = int(size)
    return out


def test_bucket_exists_already(rgw):
    env, url = rgw
    r = ok(env, url, "ensure-bucket")
    assert r.attempts == 1


def test_small_objects_awkward_keys(rgw, tmp_path):
    env, url = rgw
    bodies = {}
    for i, key in enumerate(AWKWARD_KEYS):
        data = (f"object {i} {key}\n".encode() * (i + 1)) + bytes([0, 255])
        bodies[key] = data
        src = tmp_path / f"src{i}"
        src.write_bytes(data)
        ok(env, url, "put-mem", key, str(src))
    for i, (key, data) in enumerate(bodies.items()):
        r = ok(env, url, "head", key)
        assert r.last.split() == ["OK", str(len(data)), md5_hex(data)], r
        mem = tmp_path / f"mem{i}"
        ok(env, url, "get-mem", key, str(mem))
        assert mem.read_bytes() == data
        f = tmp_path / f"file{i}"
        f.write_bytes(b"old content to be replaced")
        ok(env, url, "get-file", key, str(f))
        assert f.read_bytes() == data
        assert not os.path.exists(str(f) + ".tmp")
    r = ok(env, url, "list", "")
    assert listed(r) == {k: len(v) for k, v in bodies.items()}
    assert [l.split(" ", 2)[2] for l in r.lines if l.startswith("KEY ")] == \
        sorted(bodies, key=lambda k: k.encode())
    r = ok(env, url, "list", "a/")
    assert listed(r) == {"a/b/c:d$e-f": len(bodies["a/b/c:d$e-f"])}
    # the same key through put-file (single PUT) overwrites
    src = tmp_path / "again"
    src.write_bytes(b"replaced")
    ok(env, url, "put-file", AWKWARD_KEYS[0], str(src))
    r = ok(env, url, "head", AWKWARD_KEYS[0])
    assert r.last.split() == ["OK", "8", md5_hex(b"replaced")]
    for key in bodies:
        ok(env, url, "delete", key)
        r = drv(env, url, "head", key)
        assert r.code == "TM_ENOOBJECT", r
        ok(env, url, "delete", key)  # a missing key: still fine
    assert listed(ok(env, url, "list", "")) == {}


def test_list_continuation(rgw, tmp_path):
    env, url = rgw
    src = tmp_path / "x"
    want = {}
    for i in range(7):
        src.write_bytes(b"x" * i)
        key = "many/k:%02d$" % i
        ok(env, url, "put-mem", key, str(src))
        want[key] = i
    for key in ("other/1", "manz"):
        ok(env, url, "put-mem", key, str(src))
    r = ok(env, url, "list", "many/", opts=["--max-keys", "2"])
    assert listed(r) == want
    assert r.last == "OK 7"
    r = ok(env, url, "list", "", opts=["--max-keys", "3"])
    assert len(listed(r)) == 9
    # the callback stops the listing: its value comes back
    r = drv(env, url, "list", "many/", opts=["--max-keys", "2",
                                             "--stop-after", "3"])
    assert r.last == "STOPPED 77", r
    assert len(listed(r)) == 3
    for key in list(want) + ["other/1", "manz"]:
        ok(env, url, "delete", key)


def test_multipart_roundtrip(rgw, tmp_path):
    env, url = rgw
    part = 5 * MiB
    data = os.urandom(12 * MiB + 12345)
    src = tmp_path / "big"
    src.write_bytes(data)
    key = "big/$x:multi-1"
    r = ok(env, url, "put-file", key, str(src),
           opts=["--part-bytes", str(part)])
    progress = [tuple(map(int, l.split()[1:])) for l in r.lines
                if l.startswith("PROGRESS ")]
    assert progress == [(0, len(data)), (part, len(data)),
                        (2 * part, len(data)), (len(data), len(data))]
    r = ok(env, url, "head", key)
    assert r.last.split() == ["OK", str(len(data)),
                              multipart_etag(data, part)]
    assert r.last.endswith("-3")
    out = tmp_path / "back"
    ok(env, url, "get-file", key, str(out))
    assert out.read_bytes() == data
    mem = tmp_path / "back-mem"
    ok(env, url, "get-mem", key, str(mem))
    assert mem.read_bytes() == data
    r = drv(env, url, "get-mem", key, str(mem), str(MiB))
    assert r.code == "TM_ETOOLARGE", r
    assert "larger than the 1048576 bytes" in r.msg
    ok(env, url, "delete", key)


def test_upload_boundaries(rgw, tmp_path):
    env, url = rgw
    part = 5 * MiB
    one = os.urandom(part)
    src = tmp_path / "one"
    src.write_bytes(one)
    ok(env, url, "put-file", "exactly-one-part", str(src),
       opts=["--part-bytes", str(part)])
    r = ok(env, url, "head", "exactly-one-part")
    assert r.last.split() == ["OK", str(part), md5_hex(one)]
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    ok(env, url, "put-file", "empty", str(empty))
    r = ok(env, url, "head", "empty")
    assert r.last.split() == ["OK", "0", md5_hex(b"")]
    out = tmp_path / "empty-back"
    ok(env, url, "get-file", "empty", str(out))
    assert out.read_bytes() == b""
    ok(env, url, "delete", "exactly-one-part")
    ok(env, url, "delete", "empty")


@pytest.mark.parametrize("size", [100, 6 * MiB])
def test_readback_mismatch_deletes(rgw, tmp_path, size):
    env, url = rgw
    src = tmp_path / "f"
    src.write_bytes(os.urandom(size))
    key = "readback/%d" % size
    r = drv(env, url, "put-file", key, str(src),
            opts=["--part-bytes", str(5 * MiB), "--corrupt-readback"])
    assert r.code == "TM_EIO", r
    assert "uploaded object s3://" in r.msg and "does not match" in r.msg
    assert key in r.msg and str(src) in r.msg
    assert "the object was deleted" in r.msg
    r = drv(env, url, "head", key)
    assert r.code == "TM_ENOOBJECT", r


def test_wrong_secret(rgw, tmp_path):
    env, url = rgw
    src = tmp_path / "x"
    src.write_bytes(b"x")
    r = drv(env, url, "put-mem", "k", str(src),
            opts=["--secret", "wrong-secret", "--max-attempts", "5"])
    assert r.code == "TM_EIO", r
    assert "HTTP 403 SignatureDoesNotMatch" in r.msg
    assert "(check the access key and secret)" in r.msg
    assert "S3 PUT s3://" in r.msg and "wrong-secret" not in r.msg
    assert r.attempts == 1  # no retry wasted on a 4xx
    assert r.elapsed < 10


def test_get_missing(rgw, tmp_path):
    env, url = rgw
    out = tmp_path / "missing"
    for cmd, args in (("get-mem", [str(out)]), ("get-file", [str(out)]),
                      ("head", [])):
        r = drv(env, url, cmd, "no/such:key$", *args)
        assert r.code == "TM_ENOOBJECT", r
        assert "does not exist" in r.msg and "no/such:key$" in r.msg
        assert r.attempts == 1
    assert not out.exists()
    assert not os.path.exists(str(out) + ".tmp")


# ---------------------------------------------------- no object store at all


def test_endpoint_down():
    env = base_env()
    port = harness.free_port()  # free a moment ago: nothing listens there
    ep = "http://127.0.0.1:%d" % port
    r = drv(env, "s3://bucket/p", "head", "k",
            opts=["--endpoint", ep, "--max-attempts", "4"])
    assert r.code == "TM_EUNAVAILABLE", r
    assert ("cannot reach S3 endpoint %s: Connection refused "
            "(is it running? --s3-endpoint)" % ep) in r.msg
    assert "after 4 attempts" in r.msg
    assert r.attempts == 4
    # three waits of 50-100, 100-200 and 200-400 ms
    assert 0.35 <= r.elapsed < 10, r.elapsed


class FakeS3:
    """A tiny HTTP server; `script` maps each request to a response tuple
    (status, body, headers) or "stall"."""

    def __init__(self, script):
        self.script = script
        self.requests = []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def handle_one(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                fake.requests.append((self.command, self.path,
                                      dict(self.headers), body))
                res = fake.script(len(fake.requests), self.command,
                                  self.path)
                if res == "stall":
                    time.sleep(30)
                    return
                status, rbody, headers = res
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(rbody)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(rbody)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = handle_one

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                     Handler)
        self.httpd.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def s3_error(code, message=""):
    return ('<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code>'
            '<Message>%s</Message></Error>' % (code, message)).encode()


@pytest.fixture
def fake_env():
    env = base_env()
    env["AWS_ACCESS_KEY_ID"] = "AKIDFAKE"
    env["AWS_SECRET_ACCESS_KEY"] = "fake-secret"
    return env


def test_slowdown_then_ok_and_the_wire(fake_env, tmp_path):
    def script(n, method, path):
        if n <= 2:
            return 503, s3_error("SlowDown", "Please reduce your request "
                                 "rate."), {}
        return 200, b"", {"ETag": '"whatever"'}

    fake = FakeS3(script)
    try:
        src = tmp_path / "x"
        src.write_bytes(b"hello")
        r = drv(fake_env, "s3://bucket/pre:fix", "put-mem", "a/b c:d$e",
                str(src), opts=["--endpoint", fake.url])
        assert r.ok and r.attempts == 3, r
        assert len(fake.requests) == 3
        method, path, headers, body = fake.requests[-1]
        assert method == "PUT"
        assert path == "/bucket/pre%3Afix/a/b%20c%3Ad%24e"
        assert body == b"hello"
        assert headers["x-amz-content-sha256"] == \
            hashlib.sha256(b"hello").hexdigest()
        assert headers["Content-MD5"] == "XUFAKrxLKna5cZ2REBfFkg=="
        auth = headers["Authorization"]
        assert re.match(r"AWS4-HMAC-SHA256 Credential=AKIDFAKE/\d{8}/"
                        r"us-east-1/s3/aws4_request, SignedHeaders=", auth)
        assert "x-amz-content-sha256" in auth
        assert "fake-secret" not in auth
    finally:
        fake.close()


def test_5xx_until_the_end(fake_env, tmp_path):
    fake = FakeS3(lambda n, m, p: (500, s3_error("InternalError", "boom"),
                                   {}))
    try:
        r = drv(fake_env, "s3://bucket", "list", "x/",
                opts=["--endpoint", fake.url, "--max-attempts", "3"])
        assert r.code == "TM_EUNAVAILABLE", r
        assert ("S3 ListObjectsV2 s3://bucket/x/* failed after 3 attempts: "
                "HTTP 500 InternalError: boom (the object store is failing; "
                "try again later, or look at its logs)") == r.msg
        assert r.attempts == 3 and len(fake.requests) == 3
        m, path, _, _ = fake.requests[0]
        assert m == "GET"
        assert path == "/bucket?list-type=2&max-keys=1000&prefix=x%2F"
    finally:
        fake.close()


def test_403_is_final_and_long_keys_are_shortened(fake_env, tmp_path):
    fake = FakeS3(lambda n, m, p: (403, s3_error("AccessDenied"), {}))
    try:
        key = "k" * 900 + "/end"
        out = tmp_path / "o"
        r = drv(fake_env, "s3://bucket", "get-file", key, str(out),
                opts=["--endpoint", fake.url, "--max-attempts", "5"])
        assert r.code == "TM_EIO", r
        assert r.attempts == 1 and len(fake.requests) == 1
        assert "..." in r.msg and "/end failed: HTTP 403 AccessDenied" in r.msg
        assert r.msg.endswith("(check that these credentials may use the "
                              "bucket)")
        assert not out.exists() and not os.path.exists(str(out) + ".tmp")
    finally:
        fake.close()


def test_stalled_answer_times_out(fake_env):
    fake = FakeS3(lambda n, m, p: "stall")
    try:
        r = drv(fake_env, "s3://bucket", "head", "k",
                opts=["--endpoint", fake.url, "--max-attempts", "2",
                      "--timeout", "1"])
        assert r.code == "TM_EUNAVAILABLE", r
        assert "failed after 2 attempts: no progress for 1 s" in r.msg
        assert r.attempts == 2 and len(fake.requests) == 2
        assert 1.8 <= r.elapsed < 15, r.elapsed
    finally:
        fake.close()


def test_complete_error_inside_200(fake_env, tmp_path):
    """CompleteMultipartUpload may answer 200 with an <Error> body: it is
    an error (retried when transient), and the upload is aborted."""
    def script(n, method, path):
        if method == "POST" and path.endswith("?uploads="):
            return 200, (b"<InitiateMultipartUploadResult><UploadId>2~up/id"
                         b"</UploadId></InitiateMultipartUploadResult>"), {}
        if method == "PUT":
            return 200, b"", {"ETag": '"%s"' % ("0" * 32)}
        if method == "POST":
            return 200, s3_error("InternalError", "try again"), {}
        return 204, b"", {}

    fake = FakeS3(script)
    try:
        src = tmp_path / "f"
        src.write_bytes(b"z" * 2500)
        r = drv(fake_env, "s3://bucket", "put-file", "k", str(src),
                opts=["--endpoint", fake.url, "--part-bytes", "1000",
                      "--max-attempts", "2"])
        assert r.code == "TM_EUNAVAILABLE", r
        assert ("S3 CompleteMultipartUpload s3://bucket/k failed after 2 "
                "attempts: HTTP 200 InternalError: try again") in r.msg
        calls = [(m, p) for m, p, _, _ in fake.requests]
        assert calls[0] == ("POST", "/bucket/k?uploads=")
        assert calls[1:4] == [
            ("PUT", "/bucket/k?partNumber=%d&uploadId=2~up%%2Fid" % i)
            for i in (1, 2, 3)]
        assert calls[4:6] == [("POST", "/bucket/k?uploadId=2~up%2Fid")] * 2
        assert calls[6:] == [("DELETE", "/bucket/k?uploadId=2~up%2Fid")]
        body = fake.requests[4][3].decode()
        assert body.count("<Part>") == 3
        assert "<PartNumber>3</PartNumber><ETag>\"%s\"</ETag>" % ("0" * 32) \
            in body
    finally:
        fake.close()
