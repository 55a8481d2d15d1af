"""`tidemark history`: what happened when, from the retained log, while
the server runs (the way a user finds the moment before a bad write)."""
import json
import subprocess
import time

import pytest

import harness

pytestmark = pytest.mark.needs_binary

K1 = {"userId": {"S": "u1"}, "noteId": {"S": "n1"}}


def history(srv, *args):
    out = subprocess.run([harness.BINARY, "history", "--data", srv.data_dir,
                          "--table", "notes", "--json", *args],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_history_of_a_table_and_an_item(server, ddb):
    harness.create_notes(ddb, StreamSpecification={
        "StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    ddb.put_item(TableName="notes", Item=dict(K1, t={"S": "v1"}))
    ddb.put_item(TableName="notes", Item={"userId": {"S": "u2"},
                                          "noteId": {"S": "x"}})
    time.sleep(0.05)
    mid = time.time()
    time.sleep(0.05)
    ddb.update_item(TableName="notes", Key=K1, UpdateExpression="SET t = :v",
                    ExpressionAttributeValues={":v": {"S": "v2"}})
    ddb.delete_item(TableName="notes", Key=K1)
    all_ = history(server)
    assert [e["event"] for e in all_] == ["INSERT", "INSERT", "MODIFY",
                                          "REMOVE"]
    one = history(server, "--key", json.dumps(K1))
    assert [e["event"] for e in one] == ["INSERT", "MODIFY", "REMOVE"]
    assert one[1]["old"]["t"] == {"S": "v1"}
    assert one[1]["new"]["t"] == {"S": "v2"}
    assert one[2]["old"]["t"] == {"S": "v2"} and "new" not in one[2]
    assert all(e["key"] == K1 for e in one)
    before = history(server, "--to", "%.3f" % mid)
    assert [e["event"] for e in before] == ["INSERT", "INSERT"]
    after = history(server, "--from", "%.3f" % mid)
    assert [e["event"] for e in after] == ["MODIFY", "REMOVE"]
    lsns = [e["lsn"] for e in all_]
    assert lsns == sorted(lsns)


def test_history_errors(server):
    out = subprocess.run([harness.BINARY, "history", "--data",
                          server.data_dir, "--table", "nope"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 1 and "no table nope" in out.stderr
    out = subprocess.run([harness.BINARY, "history"], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 2
