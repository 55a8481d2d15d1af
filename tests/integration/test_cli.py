"""The tidemark command line: --help, --version, the data dir lock, signals,
and data surviving a restart. Each test runs its own server processes."""

import os
import signal
import subprocess
import time

import pytest

import harness

pytestmark = pytest.mark.needs_binary


def run_cli(*args, timeout=10):
    if not os.path.exists(harness.BINARY):
        pytest.fail("tidemark binary not found at %s: build it first (make)"
                    % harness.BINARY, pytrace=False)
    return subprocess.run([harness.BINARY] + list(args), capture_output=True,
                          text=True, timeout=timeout, cwd=harness.REPO_ROOT)


@pytest.fixture
def workdir(tmp_path):
    return str(tmp_path)


@pytest.fixture
def servers():
    """Servers started by a test; any left running are killed at the end."""
    started = []
    yield started
    for s in started:
        s.kill()


def start(servers, data_dir, log_dir, **kw):
    s = harness.Server(data_dir, log_dir=log_dir, **kw)
    servers.append(s)
    try:
        s.start()
    except harness.ServerError as e:
        pytest.fail(str(e), pytrace=False)
    return s


def client(server):
    return harness.make_client(server.url)


def test_help():
    p = run_cli("--help")
    assert p.returncode == 0, p.stderr
    out = p.stdout + p.stderr
    assert "usage" in out.lower()
    for word in ("serve", "--port", "--data", "--host", "--sync"):
        assert word in out, word


def test_version():
    p = run_cli("--version")
    assert p.returncode == 0, p.stderr
    with open(os.path.join(harness.REPO_ROOT, "VERSION")) as f:
        version = f.read().strip()
    assert version in p.stdout + p.stderr


def test_unknown_command_fails():
    try:
        p = run_cli("no-such-command")
    except subprocess.TimeoutExpired:
        pytest.fail("`tidemark no-such-command` did not exit", pytrace=False)
    assert p.returncode != 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT],
                         ids=["SIGTERM", "SIGINT"])
def test_signal_stops_gracefully(servers, workdir, sig):
    s = start(servers, os.path.join(workdir, "data"), workdir)
    ddb = client(s)
    ddb.list_tables()
    rc = s.stop(sig, timeout=10)
    assert rc == 0, "exit code %s on %s; stderr:\n%s" % (
        rc, sig.name, s.stderr_text())
    # The port is released.
    with pytest.raises(OSError):
        harness.http_get(s.port, "/", timeout=1)


def test_second_server_on_same_data_dir_fails(servers, workdir):
    data = os.path.join(workdir, "data")
    first = start(servers, data, workdir)
    second = harness.Server(data, log_dir=workdir)
    servers.append(second)
    proc = second.spawn()
    try:
        rc = proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail("second server on a locked data dir did not exit; "
                    "stderr:\n%s" % second.stderr_text(), pytrace=False)
    assert rc != 0
    assert "in use" in second.stderr_text(), second.stderr_text()
    # The first one is unaffected.
    assert client(first).list_tables()["TableNames"] == []
    assert first.stop() == 0
    # Once the first has stopped, the dir can be served again.
    third = start(servers, data, workdir)
    assert third.stop() == 0


def test_restart_keeps_data(servers, workdir):
    data = os.path.join(workdir, "data")
    s = start(servers, data, workdir)
    ddb = client(s)
    harness.create_notes(ddb)
    items = [{"userId": {"S": "u%d" % i}, "noteId": {"S": "n"},
              "v": {"N": str(i)}, "b": {"B": bytes([i])}} for i in range(20)]
    for item in items:
        ddb.put_item(TableName="notes", Item=item)
    ddb.delete_item(TableName="notes", Key={"userId": {"S": "u3"},
                                            "noteId": {"S": "n"}})
    desc = ddb.describe_table(TableName="notes")["Table"]
    assert s.stop() == 0

    s2 = start(servers, data, workdir)
    ddb = client(s2)
    assert ddb.list_tables()["TableNames"] == ["notes"]
    desc2 = ddb.describe_table(TableName="notes")["Table"]
    for field in ("TableId", "TableArn", "CreationDateTime", "KeySchema",
                  "ItemCount", "BillingModeSummary"):
        assert desc2[field] == desc[field], field
    for i, item in enumerate(items):
        got = ddb.get_item(TableName="notes", Key={
            "userId": item["userId"], "noteId": item["noteId"]}).get("Item")
        assert got == (None if i == 3 else item), i
    assert s2.stop() == 0


def test_restart_after_kill_9(servers, workdir):
    """A stale lock from a killed server does not block the next start."""
    data = os.path.join(workdir, "data")
    s = start(servers, data, workdir)
    ddb = client(s)
    harness.create_notes(ddb)
    ddb.put_item(TableName="notes", Item={"userId": {"S": "u"},
                                          "noteId": {"S": "n"}})
    s.kill()
    s2 = start(servers, data, workdir)
    got = client(s2).get_item(TableName="notes", Key={
        "userId": {"S": "u"}, "noteId": {"S": "n"}})
    assert got["Item"] == {"userId": {"S": "u"}, "noteId": {"S": "n"}}
    assert s2.stop() == 0


def test_ready_line_and_get_root(servers, workdir):
    s = start(servers, os.path.join(workdir, "data"), workdir)
    assert "listening on http://127.0.0.1:%d" % s.port in s.stderr_text()
    status, _, body = harness.http_get(s.port, "/")
    assert status == 200 and body
    assert s.stop() == 0


def test_host_localhost_means_ipv4_loopback(servers, workdir):
    s = start(servers, os.path.join(workdir, "data"), workdir,
              extra_args=["--host", "localhost"])
    assert "listening on http://127.0.0.1:%d" % s.port in s.stderr_text()
    assert client(s).list_tables()["TableNames"] == []
    assert s.stop() == 0


def test_port_in_use_fails(servers, workdir):
    import socket
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        s = harness.Server(os.path.join(workdir, "data"), port=port,
                           log_dir=workdir)
        servers.append(s)
        proc = s.spawn()
        try:
            rc = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pytest.fail("server on a taken port did not exit",
                        pytrace=False)
        assert rc != 0
        assert s.stderr_text().strip(), "no message on stderr"


def send_truncated(port):
    """PutItem requests cut before or inside the body, then closed; some
    shut their write side first and wait a moment."""
    import json
    import socket
    body = json.dumps({"TableName": "notes", "Item": {
        "userId": {"S": "u"}, "noteId": {"S": "n"}}}).encode()
    for cut in (0, 1, len(body) // 2, len(body) - 1):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(harness.raw_http_bytes("PutItem", body[:cut],
                                         content_length=len(body)))
        s.close()
        harness.raw_socket_exchange(
            port, harness.raw_http_bytes("PutItem", body[:cut],
                                         content_length=len(body)),
            timeout=0.5, shut_write=True)


def test_sigterm_after_aborted_requests(servers, workdir):
    """Clients that hung up mid-body are not requests in flight: SIGTERM
    still stops the server at once."""
    s = start(servers, os.path.join(workdir, "data"), workdir)
    harness.create_notes(client(s))
    send_truncated(s.port)
    import time
    time.sleep(0.2)
    rc = s.stop(signal.SIGTERM, timeout=5)
    assert rc == 0, "exit code %s (None: still running after 5 s); " \
        "stderr:\n%s" % (rc, s.stderr_text())


def test_sigterm_with_a_stalled_client(servers, workdir):
    """A client that sent half a body and went quiet does not keep the
    server from stopping (assumed bound: 15 s)."""
    import socket
    s = start(servers, os.path.join(workdir, "data"), workdir)
    body = b'{"TableName": "notes"}'
    stalled = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    try:
        stalled.sendall(harness.raw_http_bytes("DescribeTable", body[:5],
                                               content_length=len(body)))
        import time
        time.sleep(0.2)
        rc = s.stop(signal.SIGTERM, timeout=15)
    finally:
        stalled.close()
    assert rc == 0, "exit code %s (None: still running after 15 s); " \
        "stderr:\n%s" % (rc, s.stderr_text())


def test_threads_are_named(servers, workdir):
    """An operator's `top -H` or `perf` tells the server's threads apart:
    the writer, the checkpointer and the HTTP workers by name; a backup's
    reader and compressors while one runs (held with --unsafe-test-slow-
    backups) by theirs."""
    s = start(servers, os.path.join(workdir, "data"), workdir,
              extra_args=["--unsafe-test-slow-backups"])

    def names():
        out = []
        task = "/proc/%d/task" % s.proc.pid
        for t in os.listdir(task):
            try:
                with open(os.path.join(task, t, "comm")) as f:
                    out.append(f.read().strip())
            except OSError:
                pass  # the thread ended meanwhile
        return out

    got = names()
    for want in ("tm-writer", "tm-checkpoint", "tm-reaper"):
        assert want in got, got
    assert any(n.startswith("MHD") for n in got), got
    c = client(s)
    c.create_table(TableName="notes", BillingMode="PAY_PER_REQUEST",
                   AttributeDefinitions=[
                       {"AttributeName": "userId", "AttributeType": "S"}],
                   KeySchema=[{"AttributeName": "userId", "KeyType": "HASH"}])
    for i in range(600):
        c.put_item(TableName="notes", Item={"userId": {"S": "u%04d" % i}})
    hold = os.path.join(workdir, "data", "backups", "HOLD")
    open(hold, "w").close()  # the backup waits after 256 rows
    arn = c.create_backup(TableName="notes",
                          BackupName="named")["BackupDetails"]["BackupArn"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        got = names()
        if "tm-backup" in got and "tm-compress" in got:
            break
        time.sleep(0.05)
    os.unlink(hold)
    assert "tm-backup" in got and "tm-compress" in got, got
    harness.wait_backup(c, arn)
    assert s.stop() == 0
