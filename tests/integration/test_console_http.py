"""The web console's HTTP side (src/http/http.c serve_get, src/console):
GET / sends browsers to /console and everyone else the plain-text banner
(also at /version), the embedded files with their Content-Type, ETag,
Cache-Control and a strict Content-Security-Policy, 304 on If-None-Match,
404 for a file that is not there, HEAD, and no signature needed for any of
it on a server with --credentials (the console signs its API calls).
The console itself is tested in a browser by tests/console."""
import http.client
import os

import pytest

import harness

pytestmark = pytest.mark.needs_binary


def get(port, path, headers=None, method="GET"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def test_root_redirects_browsers_and_keeps_the_banner(server):
    status, h, body = get(server.port, "/", {"Accept": "text/html,application/"
                                             "xhtml+xml,*/*;q=0.8"})
    assert status == 302 and h["location"] == "/console"
    for accept in (None, "*/*", "text/plain"):
        status, h, body = get(server.port, "/",
                              {"Accept": accept} if accept else {})
        assert status == 200 and body.startswith(b"tidemark "), accept
        assert h["content-type"] == "text/plain; charset=utf-8"
    status, _, body = get(server.port, "/version", {"Accept": "text/html"})
    assert status == 200 and body.startswith(b"tidemark ")
    assert b"/console" in body


@pytest.mark.parametrize("path,ctype", [
    ("/console", "text/html; charset=utf-8"),
    ("/console/", "text/html; charset=utf-8"),
    ("/console/index.html", "text/html; charset=utf-8"),
    ("/console/app.js", "text/javascript; charset=utf-8"),
    ("/console/sigv4.js", "text/javascript; charset=utf-8"),
    ("/console/app.css", "text/css; charset=utf-8"),
    ("/console/icon.svg", "image/svg+xml"),
])
def test_files(server, path, ctype):
    status, h, body = get(server.port, path)
    assert status == 200 and body
    assert h["content-type"] == ctype
    assert h["cache-control"] == "no-cache"
    assert h["x-content-type-options"] == "nosniff"
    csp = h["content-security-policy"]
    for rule in ("default-src 'none'", "script-src 'self'",
                 "style-src 'self'", "connect-src 'self'",
                 "frame-ancestors 'none'"):
        assert rule in csp
    assert "unsafe" not in csp and "http" not in csp
    name = "index.html" if path.rstrip("/") == "/console" else \
        path.split("/")[-1]
    with open(os.path.join(harness.REPO_ROOT, "web", "console", name),
              "rb") as f:
        assert body == f.read(), "the binary serves the file as it is"
    etag = h["etag"]
    status, h2, body = get(server.port, path, {"If-None-Match": etag})
    assert status == 304 and body == b"" and h2["etag"] == etag
    status, h3, body = get(server.port, path, method="HEAD")
    assert status == 200 and body == b"" and h3["content-type"] == ctype


def test_no_such_file(server):
    status, h, body = get(server.port, "/console/nope.js")
    assert status == 404 and b"Open /console" in body
    status, _, _ = get(server.port, "/consoles")
    assert status == 400  # not the console's: the API's not-found


def test_no_signature_needed_for_the_console(tmp_path):
    creds = tmp_path / "credentials"
    creds.write_text("AKIDX secretx\n")
    os.chmod(creds, 0o600)
    s = harness.Server(str(tmp_path / "data"), log_dir=str(tmp_path),
                       extra_args=["--credentials", str(creds)])
    s.start()
    try:
        assert get(s.port, "/console/app.js")[0] == 200
        assert get(s.port, "/", {"Accept": "text/html"})[0] == 302
        r = harness.raw_request(s.port, "ListTables", {})
        assert r.status == 400  # the API still wants a signature
    finally:
        assert s.stop() == 0
