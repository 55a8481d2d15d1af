"""Overload and connection limits: --max-pending, --max-buffered-mb,
--max-connections, --idle-timeout, --request-timeout (slow-loris clients
trickling a body, headers or a request line).

What a client relies on: under overload the server answers at once with
DynamoDB's ThrottlingException (which every SDK retries with back-off)
instead of stalling, a throttled write did nothing, and every write that
was acknowledged is there; memory held for request bodies is bounded over
all connections; idle or stalled connections are closed; the server
serves normally once the load is gone.
"""

import json
import os
import socket
import threading
import time

import boto3
from botocore.config import Config
import pytest

import harness

pytestmark = pytest.mark.needs_binary

THROTTLE_MSG = "Rate of requests exceeds the allowed throughput."


def start(tmp_path, *args):
    s = harness.Server(str(tmp_path / "data"), log_dir=str(tmp_path),
                       extra_args=list(args))
    try:
        s.start()
    except harness.ServerError as e:
        pytest.fail(str(e), pytrace=False)
    return s


def stop(s):
    rc = s.stop()
    assert rc == 0, s.stderr_text()


def put_body(user, note, text="x"):
    return {"TableName": "notes",
            "Item": {"userId": {"S": user}, "noteId": {"S": note},
                     "text": {"S": text}}}


def test_backlog_over_max_pending_is_throttled_and_does_nothing(tmp_path):
    s = start(tmp_path, "--max-pending", "1", "--sync", "full")
    try:
        harness.create_notes(harness.make_client(s.url))
        acked, throttled, other = [], [], []
        lock = threading.Lock()
        stop_at = time.monotonic() + 30

        def writer(w):
            with harness.RawClient(s.port) as c:
                i = 0
                while time.monotonic() < stop_at:
                    key = ("u%d" % w, "n%d" % i)
                    r = c.request("PutItem", put_body(*key))
                    with lock:
                        if r.status == 200:
                            acked.append(key)
                        elif r.error_type() == "ThrottlingException":
                            assert r.error_message() == THROTTLE_MSG
                            throttled.append(key)
                        else:
                            other.append(r)
                        if len(throttled) >= 20 and len(acked) >= 20:
                            return
                    i += 1

        threads = [threading.Thread(target=writer, args=(w,))
                   for w in range(32)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert other == []
        assert throttled, "32 writers never went past --max-pending 1"
        assert acked
        ddb = harness.make_client(s.url)
        for u, n in acked:
            got = ddb.get_item(TableName="notes", Key={
                "userId": {"S": u}, "noteId": {"S": n}})
            assert "Item" in got, "acknowledged write %s/%s lost" % (u, n)
        for u, n in throttled:
            got = ddb.get_item(TableName="notes", Key={
                "userId": {"S": u}, "noteId": {"S": n}})
            assert "Item" not in got, "throttled write %s/%s was made" % (u, n)
        print("%d acknowledged, %d throttled" % (len(acked), len(throttled)))
    finally:
        stop(s)
    assert "answered ThrottlingException" in s.stderr_text()


def test_boto3_retries_throttling_until_done(tmp_path):
    # The SDK's standard retry mode backs off on ThrottlingException: with
    # a tight limit every put still lands.
    s = start(tmp_path, "--max-pending", "2")
    try:
        harness.create_notes(harness.make_client(s.url))
        errors = []

        def worker(w):
            ddb = boto3.client(
                "dynamodb", endpoint_url=s.url, region_name=harness.REGION,
                aws_access_key_id="x", aws_secret_access_key="x",
                config=Config(
                    retries={"mode": "standard", "total_max_attempts": 20}))
            try:
                for i in range(30):
                    ddb.put_item(**put_body("b%d" % w, "n%d" % i))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(w,))
                   for w in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        ddb = harness.make_client(s.url)
        n = ddb.scan(TableName="notes", Select="COUNT")["Count"]
        assert n == 12 * 30
    finally:
        stop(s)


def test_request_bodies_over_max_buffered_are_throttled(tmp_path):
    s = start(tmp_path, "--max-buffered-mb", "1")
    try:
        harness.create_notes(harness.make_client(s.url))
        # A client that sends 900,000 bytes of a 1,000,000-byte body and
        # stops: those bytes are held.
        hog = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        head = harness.raw_http_bytes("PutItem", b"", content_length=1000000)
        hog.sendall(head + b" " * 900000)
        time.sleep(0.5)
        big = put_body("u", "big", "y" * 300000)
        r = harness.raw_request(s.port, "PutItem", big)
        assert r.status == 400 and r.error_type() == "ThrottlingException", r
        assert r.error_message() == THROTTLE_MSG
        assert "Item" not in harness.make_client(s.url).get_item(
            TableName="notes",
            Key={"userId": {"S": "u"}, "noteId": {"S": "big"}})
        # small requests still fit
        r = harness.raw_request(s.port, "PutItem", put_body("u", "small"))
        assert r.status == 200, r
        # the hog goes away: its bytes are released and the big put fits
        hog.close()
        deadline = time.monotonic() + 10
        while True:
            r = harness.raw_request(s.port, "PutItem", big)
            if r.status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert r.status == 200, r
    finally:
        stop(s)


def test_connections_over_max_connections_are_not_served(tmp_path):
    # Past the limit libmicrohttpd stops accepting: extra connections wait
    # in the kernel's backlog, unserved, and hold no server memory; they
    # are served once others close.
    s = start(tmp_path, "--max-connections", "4")
    try:
        socks = [socket.create_connection(("127.0.0.1", s.port), timeout=5)
                 for _ in range(12)]
        time.sleep(0.3)
        req = harness.raw_http_bytes("ListTables", {})
        answered = []
        for k in socks:
            k.settimeout(0.5)
            try:
                k.sendall(req)
                answered.append(k.recv(12).startswith(b"HTTP/1.1 200"))
            except OSError:
                answered.append(False)
        assert 1 <= sum(answered) <= 4, answered
        for k, ok in zip(socks, answered):
            if ok:
                k.close()
        # a waiting one is served now that the served ones are gone
        waiting = [k for k, ok in zip(socks, answered) if not ok]
        waiting[0].settimeout(10)
        assert waiting[0].recv(12).startswith(b"HTTP/1.1 200")
        for k in waiting:
            k.close()
        r = harness.raw_request(s.port, "ListTables", {})
        assert r.status == 200
    finally:
        stop(s)


def test_idle_and_stalled_connections_are_closed(tmp_path):
    s = start(tmp_path, "--idle-timeout", "1")
    try:
        # headers begun and never finished (a stalled client)
        stalled = socket.create_connection(("127.0.0.1", s.port), timeout=8)
        stalled.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")
        # a body announced and never sent
        nobody = socket.create_connection(("127.0.0.1", s.port), timeout=8)
        nobody.sendall(harness.raw_http_bytes("ListTables", b"",
                                              content_length=100))
        t0 = time.monotonic()
        for k in (stalled, nobody):
            try:
                data = k.recv(4096)
            except ConnectionResetError:
                data = b""
            assert b"TableNames" not in data
            k.close()
        assert time.monotonic() - t0 < 6
        assert harness.raw_request(s.port, "ListTables", {}).status == 200
    finally:
        stop(s)


def test_a_trickling_body_is_cut_at_the_request_timeout(tmp_path):
    """Slow loris: one body byte every 0.3 s never trips the 300 s idle
    timeout, but the whole body must arrive within --request-timeout."""
    s = start(tmp_path, "--request-timeout", "2")
    try:
        k = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        k.sendall(harness.raw_http_bytes("ListTables", b"",
                                         content_length=1000))
        t0 = time.monotonic()
        closed = False
        while time.monotonic() - t0 < 8:
            try:
                k.sendall(b" ")
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            time.sleep(0.3)
        took = time.monotonic() - t0
        k.close()
        assert closed, "still open after %.1f s of trickling" % took
        assert 1.5 < took < 5, took
        assert "--request-timeout" in s.stderr_text()
        # a normal request is unaffected
        assert harness.raw_request(s.port, "ListTables", {}).status == 200
    finally:
        stop(s)


class Trickler(threading.Thread):
    """A slow-loris client: sends `head` at once, then one byte of `drip`
    every 0.3 s, never finishing its request; notes when the server closed
    the connection (seconds after the start), or None."""

    def __init__(self, port, head, drip):
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.head, self.drip = head, drip
        self.closed_after = None
        self.answer = b""
        self.t0 = time.monotonic()

    def run(self):
        k, i = self.sock, 0
        k.settimeout(0.3)
        try:
            if self.head:
                k.sendall(self.head)
            while time.monotonic() - self.t0 < 12:
                k.sendall(self.drip[i % len(self.drip):][:1])
                i += 1
                try:
                    got = k.recv(4096)
                except socket.timeout:
                    continue
                self.answer += got
                if not got:
                    break
        except OSError:
            pass        # reset, or a broken pipe: closed by the server
        else:
            if time.monotonic() - self.t0 >= 12:
                return  # never closed
        self.closed_after = time.monotonic() - self.t0
        k.close()


def test_trickling_headers_cannot_hold_the_server(tmp_path):
    """Slow loris on the headers: libmicrohttpd hands a request to Tidemark
    only once its headers are complete, and its own timeout is one of
    inactivity, so a header byte every 0.3 s would hold a connection for
    ever.  A request must arrive whole within --request-timeout of its
    first line, and the first line within --idle-timeout +
    --request-timeout; a keep-alive connection that is merely idle is left
    to --idle-timeout."""
    s = start(tmp_path, "--max-connections", "5", "--request-timeout", "2",
              "--idle-timeout", "30")
    # another server, for a client that trickles its request line itself
    s2 = harness.Server(str(tmp_path / "data2"), log_dir=str(tmp_path),
                        extra_args=["--request-timeout", "1",
                                    "--idle-timeout", "2"])
    s2.start()
    try:
        first = Trickler(s2.port, b"", b"POST /" + b"a" * 200)
        first.start()
        keep = harness.RawClient(s.port, timeout=10)
        assert keep.request("ListTables", {}).status == 200
        kept = time.monotonic()
        line = b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        heads = [Trickler(s.port, line, b"X-Slow: aaaaaaaaaaaaaaaa")
                 for _ in range(4)]
        for t in heads:
            t.start()
        # every connection (5) is held now: a normal client waits in the
        # backlog, and is served once the trickling ones are cut
        t0 = time.monotonic()
        try:
            normal = harness.raw_request(s.port, "ListTables", {}, timeout=10)
        except socket.timeout:
            pytest.fail("a normal client was not served within 10 s while "
                        "4 clients trickled their headers")
        waited = time.monotonic() - t0
        assert normal.status == 200
        assert 1.0 < waited < 4.0, waited
        # a keep-alive connection idle for longer than the request timeout
        # (and less than the idle timeout) is not cut
        time.sleep(max(0.0, kept + 2.6 - time.monotonic()))
        assert keep.request("ListTables", {}).status == 200
        keep.close()
        for t in heads + [first]:
            t.join(15)
        for t in heads:
            assert t.closed_after is not None, "a header trickler was " \
                "still connected after 12 s"
            assert 1.8 < t.closed_after < 3.5, t.closed_after
            assert b"TableNames" not in t.answer
        assert first.closed_after is not None, "the request-line trickler " \
            "was still connected after 12 s"
        assert 2.8 < first.closed_after < 4.5, first.closed_after
        for srv in (s, s2):
            # the reaper logs just after it cuts, so the client may see the
            # cut first
            assert srv.wait_log("(--request-timeout)"), srv.stderr_text()
        assert harness.raw_request(s.port, "ListTables", {}).status == 200
    finally:
        stop(s)
        stop(s2)
    for srv, n in ((s, 4), (s2, 1)):
        assert "connections closed for sending their requests too slowly " \
            "(--request-timeout): %d" % n in srv.stderr_text()


@pytest.mark.parametrize("flag", ["--max-pending", "--max-connections",
                                  "--idle-timeout", "--max-buffered-mb",
                                  "--request-timeout"])
@pytest.mark.parametrize("value", ["0", "-1", "ten", "2000000"])
def test_bad_limit_values_refused(tmp_path, flag, value):
    import subprocess
    p = subprocess.run([harness.BINARY, "--port", "0", "--data",
                        str(tmp_path / "d"), flag, value],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 2
    assert "wants a whole number from 1 to 1000000" in p.stderr
    assert not (tmp_path / "d").exists()
