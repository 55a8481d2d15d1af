"""HTTPS: --tls-cert and --tls-key.

A throw-away certificate authority (made with the openssl command) issues a
certificate for 127.0.0.1; the server serves it and:
  - boto3 trusting the CA creates a table, writes, reads, backs up;
  - the AWS CLI with AWS_CA_BUNDLE does the same;
  - SigV4 (--credentials) works over TLS;
  - a client that does not trust the CA refuses the connection, and plain
    HTTP to the HTTPS port gets no DynamoDB answer;
  - start-up refuses, with a message naming the file: only one of the two
    flags, a missing file, a file that is not a certificate, an encrypted
    key, and a key that does not belong to the certificate.
"""

import os
import socket
import ssl
import subprocess
import time

import boto3
import botocore
import pytest
from botocore.config import Config

import harness

pytestmark = pytest.mark.needs_binary

OPENSSL = "/usr/bin/openssl"


def openssl(*args, cwd):
    p = subprocess.run([OPENSSL] + list(args), cwd=cwd, capture_output=True,
                       text=True)
    assert p.returncode == 0, "openssl %s: %s" % (" ".join(args), p.stderr)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    if not os.path.exists(OPENSSL):
        pytest.fail("openssl not installed: make deps-test installs it",
                    pytrace=False)
    d = str(tmp_path_factory.mktemp("pki"))
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
            "ca.key", "-out", "ca.pem", "-days", "2", "-subj",
            "/CN=Tidemark test CA", cwd=d)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key",
            "-out", "srv.csr", "-subj", "/CN=127.0.0.1", cwd=d)
    with open(os.path.join(d, "ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey",
            "ca.key", "-CAcreateserial", "-out", "srv.pem", "-days", "2",
            "-extfile", "ext", cwd=d)
    # another key, and the server key encrypted with a passphrase
    openssl("genpkey", "-algorithm", "RSA", "-out", "other.key", cwd=d)
    openssl("pkey", "-in", "srv.key", "-aes256", "-passout", "pass:secret",
            "-out", "enc.key", cwd=d)
    return d


class TlsServer(harness.Server):
    def __init__(self, data_dir, ca, **kw):
        super().__init__(data_dir, **kw)
        self.ca = ca

    @property
    def url(self):
        return "https://127.0.0.1:%d" % self.port

    def wait_ready(self, timeout=harness.READY_TIMEOUT):
        want = "listening on https://127.0.0.1:%d" % self.port
        ctx = ssl.create_default_context(cafile=self.ca)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise harness.ServerError(
                    "tidemark exited with code %d:\n%s"
                    % (self.proc.returncode, self.stderr_text()))
            if want in self.stderr_text():
                with socket.create_connection(("127.0.0.1", self.port),
                                              timeout=5) as raw:
                    with ctx.wrap_socket(raw,
                                         server_hostname="127.0.0.1") as s:
                        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n"
                                  b"Connection: close\r\n\r\n")
                        if s.recv(64).startswith(b"HTTP/1.1 200"):
                            return
            time.sleep(0.02)
        self.kill()
        raise harness.ServerError("not ready:\n" + self.stderr_text())


@pytest.fixture(scope="module")
def srv(pki, tmp_path_factory):
    root = str(tmp_path_factory.mktemp("tls"))
    s = TlsServer(os.path.join(root, "data"), os.path.join(pki, "ca.pem"),
                  log_dir=root,
                  extra_args=["--tls-cert", os.path.join(pki, "srv.pem"),
                              "--tls-key", os.path.join(pki, "srv.key")])
    try:
        s.start()
    except harness.ServerError as e:
        pytest.fail(str(e), pytrace=False)
    yield s
    assert s.stop() == 0, s.stderr_text()


def client(url, verify):
    return boto3.client(
        "dynamodb", endpoint_url=url, region_name=harness.REGION,
        aws_access_key_id="x", aws_secret_access_key="x", verify=verify,
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"},
                      connect_timeout=5, read_timeout=30))


def test_boto3_over_https(srv):
    ddb = client(srv.url, srv.ca)
    harness.create_notes(ddb, "tls_notes")
    ddb.put_item(TableName="tls_notes",
                 Item={"userId": {"S": "u1"}, "noteId": {"S": "n1"},
                       "text": {"S": "over TLS"}})
    got = ddb.get_item(TableName="tls_notes",
                       Key={"userId": {"S": "u1"}, "noteId": {"S": "n1"}})
    assert got["Item"]["text"] == {"S": "over TLS"}
    b = ddb.create_backup(TableName="tls_notes", BackupName="over-tls")
    assert b["BackupDetails"]["BackupName"] == "over-tls"


def test_log_names_the_certificate(srv):
    text = srv.stderr_text()
    assert "TLS: certificate" in text and "CN=127.0.0.1" in text, text


def test_aws_cli_over_https(srv):
    cli = harness.AwsCli(srv.url)
    cli.env["AWS_CA_BUNDLE"] = srv.ca
    cli("put-item", "--table-name", "tls_notes", "--item",
        '{"userId":{"S":"u2"},"noteId":{"S":"n1"},"text":{"S":"cli"}}')
    got = cli("get-item", "--table-name", "tls_notes", "--key",
              '{"userId":{"S":"u2"},"noteId":{"S":"n1"}}')
    assert got["Item"]["text"] == {"S": "cli"}


def test_untrusted_client_refuses(srv):
    # Only the system's CAs: the test CA is not among them.
    ddb = client(srv.url, True)
    with pytest.raises(botocore.exceptions.SSLError):
        ddb.list_tables()


def test_plain_http_to_https_port_gets_no_answer(srv):
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
        s.sendall(harness.raw_http_bytes("ListTables", {}))
        try:
            data = s.recv(4096)
        except (ConnectionResetError, socket.timeout):
            data = b""
    assert b"TableNames" not in data
    # and the server still serves TLS afterwards
    assert "tls_notes" in client(srv.url, srv.ca).list_tables()["TableNames"]


def test_sigv4_over_tls(pki, tmp_path):
    creds = tmp_path / "credentials"
    creds.write_text("AKIDTLS  tls-secret\n")
    os.chmod(creds, 0o600)
    s = TlsServer(str(tmp_path / "data"), os.path.join(pki, "ca.pem"),
                  log_dir=str(tmp_path),
                  extra_args=["--tls-cert", os.path.join(pki, "srv.pem"),
                              "--tls-key", os.path.join(pki, "srv.key"),
                              "--credentials", str(creds)])
    s.start()
    try:
        good = boto3.client("dynamodb", endpoint_url=s.url,
                            region_name=harness.REGION, verify=s.ca,
                            aws_access_key_id="AKIDTLS",
                            aws_secret_access_key="tls-secret")
        assert good.list_tables()["TableNames"] == []
        bad = boto3.client("dynamodb", endpoint_url=s.url,
                           region_name=harness.REGION, verify=s.ca,
                           aws_access_key_id="AKIDTLS",
                           aws_secret_access_key="wrong",
                           config=Config(retries={"total_max_attempts": 1}))
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            bad.list_tables()
        assert ei.value.response["Error"]["Code"] == \
            "InvalidSignatureException"
    finally:
        assert s.stop() == 0, s.stderr_text()


def start_fails(tmp_path, args):
    data = tmp_path / "data"
    p = subprocess.run([harness.BINARY, "--port", str(harness.free_port()),
                        "--data", str(data)] + args,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert not data.exists(), "refused start-up created the data directory"
    return p.stderr


@pytest.mark.parametrize("args,needle", [
    (["--tls-cert", "srv.pem"], "--tls-cert needs --tls-key"),
    (["--tls-key", "srv.key"], "--tls-key needs --tls-cert"),
    (["--tls-cert", "missing.pem", "--tls-key", "srv.key"],
     "cannot read --tls-cert"),
    (["--tls-cert", "srv.key", "--tls-key", "srv.key"],
     "holds no PEM certificate"),
    (["--tls-cert", "srv.pem", "--tls-key", "srv.pem"],
     "holds no PEM private key"),
    (["--tls-cert", "srv.pem", "--tls-key", "enc.key"], "is encrypted"),
    (["--tls-cert", "srv.pem", "--tls-key", "other.key"],
     "does not belong to the certificate"),
])
def test_bad_tls_files_refused(pki, tmp_path, args, needle):
    args = [os.path.join(pki, a) if not a.startswith("--") else a
            for a in args]
    err = start_fails(tmp_path, args)
    assert needle in err, err
