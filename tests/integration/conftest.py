"""Fixtures for the Tidemark integration tests.

server    module-scoped: a tidemark on a fresh temp data dir and a free port
          (or the external endpoint of TIDEMARK_TEST_ENDPOINT); stopped with
          SIGTERM at the end of the module, which must exit 0.
clean     deletes every table, so that each test starts from an empty server
          (requested by ddb, ddb_nv, dynamodb, aws and raw).
ddb       boto3 DynamoDB client (dummy credentials, no retries).
ddb_nv    the same without botocore's client-side parameter validation, to
          reach the server's own validation (botocore checks `required` and
          `min` before sending).
dynamodb  boto3 DynamoDB service resource.
aws       harness.AwsCli bound to the server.
raw       harness.RawClient: raw JSON 1.0 requests over http.client.
"""

import os
import signal
import time

import boto3
import pytest
from botocore.config import Config

import harness


_summaries = []


def pytest_runtest_logreport(report):
    """Keep the summary lines tests record as "fault_summary" (how many
    fault points were tried), to show them at the end also without -s."""
    for name, value in report.user_properties:
        if name == "fault_summary" and value not in _summaries:
            _summaries.append(value)


def pytest_terminal_summary(terminalreporter):
    for line in _summaries:
        terminalreporter.write_line(line)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "needs_binary: starts build/tidemark itself; skipped "
        "when TIDEMARK_TEST_ENDPOINT is set")


def pytest_collection_modifyitems(config, items):
    if harness.EXTERNAL_ENDPOINT:
        skip = pytest.mark.skip(
            reason="needs the tidemark binary/data dir; TIDEMARK_TEST_ENDPOINT"
                   " is set")
        for item in items:
            if "needs_binary" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if harness.EXTERNAL_ENDPOINT:
        yield harness.ExternalServer(harness.EXTERNAL_ENDPOINT)
        return
    root = str(tmp_path_factory.mktemp("tidemark"))
    srv = harness.Server(os.path.join(root, "data"), log_dir=root)
    try:
        srv.start()
    except harness.ServerError as e:
        pytest.fail(str(e), pytrace=False)
    yield srv
    alive = srv.proc.poll() is None
    rc = srv.stop(signal.SIGTERM)
    if not alive:
        pytest.fail("tidemark died during the tests (exit code %s).\n"
                    "stderr:\n%s" % (srv.proc.returncode, srv.stderr_text()),
                    pytrace=False)
    if rc != 0:
        pytest.fail("tidemark did not exit 0 on SIGTERM (exit code %s).\n"
                    "stderr:\n%s" % (rc, srv.stderr_text()), pytrace=False)


@pytest.fixture(scope="module")
def _client(server):
    return harness.make_client(server.url)


@pytest.fixture
def clean(server, _client):
    """Empty server at the start of the test."""
    if server.proc is not None and server.proc.poll() is not None:
        pytest.fail("tidemark is not running (exit code %s).\nstderr:\n%s"
                    % (server.proc.returncode, server.stderr_text()),
                    pytrace=False)
    delete_all_tables(_client)
    return server


def delete_all_tables(client):
    names = []
    for page in client.get_paginator("list_tables").paginate():
        names.extend(page["TableNames"])
    for name in names:
        client.delete_table(TableName=name)
    if names:
        wait_gone(client, names)


def wait_gone(client, names, timeout=10.0):
    """Tidemark drops a table at once; emulators may keep it DELETING for a
    moment. Only used for cleanup, never to relax an assertion."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = set(client.list_tables()["TableNames"]) & set(names)
        if not left:
            return
        time.sleep(0.05)
    raise AssertionError("tables still listed after DeleteTable: %r" % left)


@pytest.fixture
def ddb(clean, _client):
    return _client


@pytest.fixture
def ddb_nv(clean, server):
    return harness.make_client(server.url, validate=False)


@pytest.fixture
def dynamodb(clean, server):
    return boto3.resource(
        "dynamodb", endpoint_url=server.url, region_name=harness.REGION,
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


@pytest.fixture
def aws(clean, server):
    return harness.AwsCli(server.url)


@pytest.fixture
def raw(clean, server):
    c = harness.RawClient(server.port, host=_host(server))
    yield c
    c.close()


def _host(server):
    return getattr(server, "host", None) or "127.0.0.1"


@pytest.fixture
def notes(ddb):
    """The notes table (userId HASH S, noteId RANGE S), on-demand."""
    harness.create_notes(ddb)
    return "notes"
