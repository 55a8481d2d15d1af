"""On-demand backups: CreateBackup, DescribeBackup, ListBackups,
DeleteBackup and RestoreTableFromBackup, with boto3, the AWS CLI and raw
JSON requests, asserted against shared/reference/dynamodb-backup-api.md
(sections 1-4: shapes, errors, messages, semantics).

What a user relies on: a backup holds the table exactly as of the request
(writes made afterwards are absent from a restore), it outlives its table,
a restore builds a new table (new TableId, CreationDateTime, the indexes the
overrides ask for, no stream/TTL/tags) that is CREATING until loaded, the
backup store survives restarts and is independent of the table data, and a
damaged backup file never yields an ACTIVE table.

Not covered here: the S3 store, scheduled backups, the `tidemark backup`
command, SYSTEM backups made by DeleteTable with PITR, and the
SSE/OnDemand overrides.
"""

import base64
import datetime
import json
import os
import re
import signal
import threading
import time

import pytest
from botocore.exceptions import ClientError

import harness

TABLE_ARN_PREFIX = "arn:aws:dynamodb:%s:%s:table/" % (harness.REGION,
                                                      harness.ACCOUNT)
BACKUP_ARN_RE = re.compile(
    r"^arn:aws:dynamodb:%s:%s:table/(?P<table>[a-zA-Z0-9_.-]+)/backup/"
    r"(?P<id>(?P<ms>[0-9]{14})-[0-9a-f]{8})$"
    % (re.escape(harness.REGION), harness.ACCOUNT))

NOT_IN_SOURCE = ("Index %s does not match a secondary index that existed in "
                 "the source table and cannot be created during the restore "
                 "operation")


# ------------------------------------------------------------------ fixtures

@pytest.fixture
def clean(clean, _client):
    """Every test also starts with no backups in the store."""
    delete_all_backups(_client)
    return clean


def delete_all_backups(client):
    arns = []
    for page in client.get_paginator("list_backups").paginate(
            BackupType="ALL"):
        arns.extend(b["BackupArn"] for b in page["BackupSummaries"]
                    if b["BackupType"] != "SYSTEM")   # undeletable
    for arn in arns:
        with_retry_in_use(lambda: client.delete_backup(BackupArn=arn))


@pytest.fixture
def servers():
    """Servers a test starts on its own data dirs; killed at the end if
    still running."""
    started = []
    yield started
    for s in started:
        s.kill()


def start_server(servers, data_dir, log_dir, extra_args=()):
    s = harness.Server(data_dir, log_dir=log_dir, extra_args=extra_args)
    servers.append(s)
    try:
        s.start()
    except harness.ServerError as e:
        pytest.fail(str(e), pytrace=False)
    return s


def store_dir_of(server):
    if server.data_dir is None:
        pytest.skip("needs the server's data dir (external endpoint)")
    return os.path.join(server.data_dir, "backups")


# ------------------------------------------------------------------- helpers

def backup(ddb, table, name="nightly"):
    """CreateBackup, then wait until it is AVAILABLE (it is written in the
    background)."""
    arn = ddb.create_backup(TableName=table,
                            BackupName=name)["BackupDetails"]["BackupArn"]
    harness.wait_backup(ddb, arn)
    return arn


def backup_id(arn):
    return arn.rsplit("/", 1)[1]


def expect(excinfo, code, message=None):
    got_code, got_msg = harness.error_of(excinfo)
    assert got_code == code, (got_code, got_msg)
    if message is not None:
        assert got_msg == message, got_msg


def wait_restored(ddb, name, timeout=20.0):
    """Poll DescribeTable until the restored table is ACTIVE; until then it
    must be CREATING with RestoreInProgress true."""
    deadline = time.monotonic() + timeout
    while True:
        t = ddb.describe_table(TableName=name)["Table"]
        if t["TableStatus"] == "ACTIVE":
            return t
        assert t["TableStatus"] == "CREATING", t["TableStatus"]
        assert t["RestoreSummary"]["RestoreInProgress"] is True
        assert time.monotonic() < deadline, \
            "table %s not ACTIVE within %.0f s" % (name, timeout)
        time.sleep(0.01)


def wait_active(ddb, name, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        t = ddb.describe_table(TableName=name)["Table"]
        if t["TableStatus"] == "ACTIVE":
            return t
        assert time.monotonic() < deadline, t["TableStatus"]
        time.sleep(0.01)


def restore(ddb, arn, target, **kw):
    """RestoreTableFromBackup, then wait until ACTIVE: (answer, final)."""
    desc = with_retry_in_use(lambda: ddb.restore_table_from_backup(
        TargetTableName=target, BackupArn=arn, **kw))
    return desc["TableDescription"], wait_restored(ddb, target)


def with_retry_in_use(call, timeout=5.0):
    """Retry a DeleteBackup or RestoreTableFromBackup refused with
    BackupInUseException, which a restore from the same backup that has
    just finished still causes for a moment (a server bug: see
    test_backup_free_once_restored_table_active, which asserts it; the
    other tests are not about it)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except ClientError as e:
            if e.response["Error"]["Code"] != "BackupInUseException" or \
                    time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def raw_restore(raw, body, timeout=5.0):
    """RestoreTableFromBackup over a RawClient, retried while it is refused
    with BackupInUseException (see with_retry_in_use)."""
    deadline = time.monotonic() + timeout
    while True:
        r = raw.request("RestoreTableFromBackup", body)
        if r.error_type() != "BackupInUseException" or \
                time.monotonic() > deadline:
            return r
        time.sleep(0.02)


def count_items(ddb, op, **kw):
    """Select COUNT over every page of a Scan or Query."""
    n = 0
    for page in ddb.get_paginator(op).paginate(Select="COUNT", **kw):
        n += page["Count"]
    return n


def wait_failed_restore_gone(ddb, name, timeout=10.0):
    """A restore that fails must never show its table ACTIVE: it stays
    CREATING and then disappears. Returns the statuses seen."""
    deadline = time.monotonic() + timeout
    seen = []
    while True:
        try:
            t = ddb.describe_table(TableName=name)["Table"]
        except ClientError as e:
            code = e.response["Error"]["Code"]
            assert code == "ResourceNotFoundException", e.response["Error"]
            return seen
        seen.append(t["TableStatus"])
        assert t["TableStatus"] != "ACTIVE", \
            "a restore from a damaged backup made table %s ACTIVE" % name
        assert time.monotonic() < deadline, \
            "table %s still there %.0f s after a failed restore (%s)" % (
                name, timeout, t["TableStatus"])
        time.sleep(0.01)


def norm(av):
    """An attribute value with its sets sorted, for comparisons."""
    if isinstance(av, dict):
        out = {}
        for k, v in av.items():
            if k in ("SS", "NS", "BS"):
                out[k] = sorted(v)
            else:
                out[k] = norm(v)
        return out
    if isinstance(av, list):
        return [norm(x) for x in av]
    return av


def canon(item):
    return json.dumps(norm(item), sort_keys=True,
                      default=lambda b: "b:" + bytes(b).hex())


def scan_all(ddb, table, **kw):
    items = []
    for page in ddb.get_paginator("scan").paginate(TableName=table, **kw):
        items.extend(page["Items"])
    return sorted((norm(i) for i in items), key=canon)


def query_all(ddb, **kw):
    items = []
    for page in ddb.get_paginator("query").paginate(**kw):
        items.extend(page["Items"])
    return items


def batch_put(ddb, table, items):
    for i in range(0, len(items), 25):
        req = {table: [{"PutRequest": {"Item": it}} for it in items[i:i + 25]]}
        while req:
            req = ddb.batch_write_item(RequestItems=req).get(
                "UnprocessedItems") or None


def raw_batch_put(raw, table, items):
    for i in range(0, len(items), 25):
        req = {table: [{"PutRequest": {"Item": it}} for it in items[i:i + 25]]}
        while req:
            req = raw.call("BatchWriteItem", {"RequestItems": req}).get(
                "UnprocessedItems") or None


def note(i, **extra):
    item = {"userId": {"S": "u%d" % (i % 10)}, "noteId": {"S": "n%05d" % i},
            "text": {"S": "note %d" % i}, "n": {"N": str(i)}}
    item.update(extra)
    return item


def key_of(item):
    return {"userId": item["userId"], "noteId": item["noteId"]}


def ms_of(dt):
    """A botocore datetime as epoch milliseconds."""
    return int(round(dt.timestamp() * 1000))


def raw_client(server):
    return harness.RawClient(server.port,
                             host=getattr(server, "host", None) or "127.0.0.1")


# ------------------------------------------------------------- the seed flow

def test_cli_seed_flow(aws, server):
    """The README's notes example, step by step with the AWS CLI."""
    aws("create-table", "--table-name", "notes",
        "--attribute-definitions", "AttributeName=userId,AttributeType=S",
        "AttributeName=noteId,AttributeType=S",
        "--key-schema", "AttributeName=userId,KeyType=HASH",
        "AttributeName=noteId,KeyType=RANGE",
        "--billing-mode", "PAY_PER_REQUEST")
    notes = [{"userId": {"S": "alice"}, "noteId": {"S": "1"},
              "text": {"S": "buy milk"}},
             {"userId": {"S": "alice"}, "noteId": {"S": "2"},
              "text": {"S": "call bob"}, "done": {"BOOL": True}},
             {"userId": {"S": "bob"}, "noteId": {"S": "1"},
              "text": {"S": "water plants"}, "tags": {"SS": ["home", "x"]}}]
    for n in notes:
        aws("put-item", "--table-name", "notes", "--item", json.dumps(n))

    created = aws("create-backup", "--table-name", "notes",
                  "--backup-name", "notes-backup")["BackupDetails"]
    arn = created["BackupArn"]
    assert BACKUP_ARN_RE.match(arn), arn
    assert created["BackupName"] == "notes-backup"
    assert created["BackupStatus"] == "CREATING"
    assert created["BackupType"] == "USER"

    # written in the background: describe-backup says AVAILABLE when done
    for _ in range(500):
        desc = aws("describe-backup", "--backup-arn", arn)["BackupDescription"]
        if desc["BackupDetails"]["BackupStatus"] != "CREATING":
            break
        time.sleep(0.02)
    assert desc["BackupDetails"]["BackupStatus"] == "AVAILABLE"
    assert desc["SourceTableDetails"]["TableName"] == "notes"
    assert desc["SourceTableDetails"]["ItemCount"] == 3

    listed = aws("list-backups", "--table-name", "notes")["BackupSummaries"]
    assert [b["BackupArn"] for b in listed] == [arn]
    assert listed[0]["BackupStatus"] == "AVAILABLE"

    out = aws("restore-table-from-backup", "--target-table-name",
              "notes-restored", "--backup-arn", arn)["TableDescription"]
    assert out["TableName"] == "notes-restored"
    assert out["TableStatus"] == "CREATING"
    assert out["RestoreSummary"]["SourceBackupArn"] == arn
    assert out["RestoreSummary"]["RestoreInProgress"] is True

    assert aws("wait", "table-exists", "--table-name", "notes-restored") == {}
    got = aws("scan", "--table-name", "notes-restored")
    assert got["Count"] == 3
    assert sorted(map(canon, got["Items"])) == sorted(map(canon, notes))

    deleted = aws("delete-backup", "--backup-arn", arn)["BackupDescription"]
    assert deleted["BackupDetails"]["BackupStatus"] == "DELETED"
    assert aws("list-backups", "--table-name", "notes")[
        "BackupSummaries"] == []


# ------------------------------------------------------------------- shapes

def test_create_describe_list_shapes(ddb, raw):
    harness.create_notes(ddb)
    batch_put(ddb, "notes", [note(i) for i in range(10)])
    table = ddb.describe_table(TableName="notes")["Table"]

    r = raw.request("CreateBackup", {"TableName": "notes",
                                     "BackupName": "first.backup-1_x"})
    assert r.status == 200, r
    body = r.json
    assert set(body) == {"BackupDetails"}      # no Source* parts
    d = body["BackupDetails"]
    m = BACKUP_ARN_RE.match(d["BackupArn"])
    assert m, d["BackupArn"]
    assert m.group("table") == "notes"
    assert d["BackupName"] == "first.backup-1_x"
    assert d["BackupStatus"] == "CREATING"
    assert d["BackupType"] == "USER"
    assert "BackupExpiryDateTime" not in d       # USER backups never expire
    assert isinstance(d["BackupSizeBytes"], int) and d["BackupSizeBytes"] >= 0
    # timestamps are JSON numbers (epoch seconds, ms fraction), and equal
    # the ARN's 14-digit millisecond prefix
    created = d["BackupCreationDateTime"]
    assert isinstance(created, (int, float)) and not isinstance(created, bool)
    assert round(created * 1000) == int(m.group("ms"))
    assert abs(created - time.time()) < 60
    arn = d["BackupArn"]
    harness.wait_backup(raw, arn)

    r = raw.request("DescribeBackup", {"BackupArn": arn})
    assert r.status == 200, r
    desc = r.json["BackupDescription"]
    assert set(desc) == {"BackupDetails", "SourceTableDetails",
                         "SourceTableFeatureDetails"}
    dd = desc["BackupDetails"]
    assert dd == dict(d, BackupStatus="AVAILABLE")
    src = desc["SourceTableDetails"]
    assert src["TableName"] == "notes"
    assert src["TableId"] == table["TableId"]
    assert src["TableArn"] == table["TableArn"] == TABLE_ARN_PREFIX + "notes"
    assert src["KeySchema"] == harness.NOTES_KEYS
    assert src["ItemCount"] == 10
    assert src["TableSizeBytes"] == table["TableSizeBytes"] > 0
    assert src["BillingMode"] == "PAY_PER_REQUEST"
    assert src["ProvisionedThroughput"] == {"ReadCapacityUnits": 0,
                                            "WriteCapacityUnits": 0}
    assert src["TableCreationDateTime"] == pytest.approx(
        ms_of(table["CreationDateTime"]) / 1000.0, abs=0.0011)
    assert "OnDemandThroughput" not in src
    # a plain table: no features
    assert desc["SourceTableFeatureDetails"] == {}
    assert "null" not in r.body.decode()

    r = raw.request("ListBackups", {})
    assert r.status == 200, r
    assert set(r.json) == {"BackupSummaries"}   # no LastEvaluatedBackupArn
    [s] = r.json["BackupSummaries"]
    assert s == {"TableName": "notes", "TableId": table["TableId"],
                 "TableArn": table["TableArn"], "BackupArn": arn,
                 "BackupName": "first.backup-1_x",
                 "BackupCreationDateTime": created,
                 "BackupStatus": "AVAILABLE", "BackupType": "USER",
                 "BackupSizeBytes": d["BackupSizeBytes"]}


def test_create_backup_by_table_arn_and_repeatedly(ddb, notes):
    """TableName may be a table ARN; there is no idempotency: every call
    makes a new backup, even with the same name."""
    arns = [ddb.create_backup(TableName=harness.arn("notes"),
                              BackupName="same")["BackupDetails"]["BackupArn"]
            for _ in range(5)]
    assert len(set(arns)) == 5
    for arn in arns:
        harness.wait_backup(ddb, arn)
        assert BACKUP_ARN_RE.match(arn).group("table") == "notes"
        d = ddb.describe_backup(BackupArn=arn)["BackupDescription"]
        assert d["SourceTableDetails"]["TableName"] == "notes"
        assert d["BackupDetails"]["BackupName"] == "same"
    listed = ddb.list_backups(TableName=harness.arn("notes"))
    assert [b["BackupArn"] for b in listed["BackupSummaries"]] == arns


# --------------------------------------------------------- snapshot semantics

def test_writes_after_create_backup_are_absent(ddb, notes):
    before = [note(i) for i in range(100)]
    batch_put(ddb, "notes", before)
    at_backup = ddb.describe_table(TableName="notes")["Table"]
    arn = backup(ddb, "notes")

    # after the backup: new items, updates, deletes, overwrites
    batch_put(ddb, "notes", [note(i) for i in range(100, 150)])
    for i in range(0, 20):
        ddb.update_item(TableName="notes", Key=key_of(before[i]),
                        UpdateExpression="SET #t = :t, extra = :e",
                        ExpressionAttributeNames={"#t": "text"},
                        ExpressionAttributeValues={":t": {"S": "changed"},
                                                   ":e": {"N": "1"}})
    for i in range(20, 40):
        ddb.delete_item(TableName="notes", Key=key_of(before[i]))
    ddb.put_item(TableName="notes", Item=note(50, text={"S": "overwritten"}))
    after = scan_all(ddb, "notes")
    assert len(after) == 130

    # the backup still describes the table at backup time
    src = ddb.describe_backup(BackupArn=arn)["BackupDescription"][
        "SourceTableDetails"]
    assert src["ItemCount"] == 100
    assert src["TableSizeBytes"] == at_backup["TableSizeBytes"]

    desc, final = restore(ddb, arn, "notes-then")
    assert scan_all(ddb, "notes-then") == sorted(map(norm, before), key=canon)
    assert final["ItemCount"] == 100
    assert final["TableSizeBytes"] == at_backup["TableSizeBytes"]
    # the source is untouched by backup and restore
    assert scan_all(ddb, "notes") == after


def test_backup_is_a_snapshot_while_writes_go_on(ddb, server, notes):
    """Backups taken while a client writes items 0, 1, 2, ... one after the
    other hold a prefix 0..n-1 of them, with no gap: every write
    acknowledged before CreateBackup was sent, none sent after it
    answered."""
    stop = threading.Event()
    acked, sent, errors = [0], [0], []

    def writer():
        with raw_client(server) as c:
            i = 0
            while not stop.is_set():
                sent[0] = i + 1
                r = c.request("PutItem", {"TableName": "notes", "Item": {
                    "userId": {"S": "w"}, "noteId": {"S": "%06d" % i},
                    "n": {"N": str(i)}}})
                if r.status != 200:
                    errors.append(r)
                    return
                acked[0] = i + 1
                i += 1

    t = threading.Thread(target=writer)
    t.start()
    taken = []
    try:
        time.sleep(0.05)
        for k in range(4):
            lo = acked[0]
            arn = backup(ddb, "notes", "live%d" % k)
            taken.append((arn, lo, sent[0]))
            time.sleep(0.03)
    finally:
        stop.set()
        t.join(10)
    assert not errors, errors
    assert taken[-1][1] > 0, "the writer made no progress"
    prev = 0
    for k, (arn, lo, hi) in enumerate(taken):
        _, final = restore(ddb, arn, "live-%d" % k)
        got = sorted(int(it["n"]["N"]) for it in scan_all(ddb, "live-%d" % k))
        n = len(got)
        assert got == list(range(n)), "backup %d is not a prefix" % k
        assert lo <= n <= hi, (k, lo, n, hi)
        assert n >= prev
        prev = n
        assert final["ItemCount"] == n
        assert ddb.describe_backup(BackupArn=arn)["BackupDescription"][
            "SourceTableDetails"]["ItemCount"] == n
    assert len(scan_all(ddb, "notes")) == acked[0]


def test_backup_of_empty_table_restores_empty(ddb, notes):
    arn = backup(ddb, "notes", "empty")
    src = ddb.describe_backup(BackupArn=arn)["BackupDescription"][
        "SourceTableDetails"]
    assert src["ItemCount"] == 0
    assert src["TableSizeBytes"] == 0
    ddb.put_item(TableName="notes", Item=note(1))   # after: not restored
    _, final = restore(ddb, arn, "empty-again")
    assert final["ItemCount"] == 0
    assert final["TableSizeBytes"] == 0
    assert scan_all(ddb, "empty-again") == []
    assert final["KeySchema"] == harness.NOTES_KEYS


def all_types_item(i):
    """Every attribute type, with varied sizes and values."""
    item = {
        "pk": {"S": "p%04d" % (i % 97)},
        "sk": {"N": str(i * 7 - 10000)},
        "s": {"S": "é✓ \u00a0 %d " % i + "x" * (i % 50)},
        "n": {"N": ["0", "-1.5", "12345678901234567890123456789012345678",
                    "1E-130", "9.9999999999999999999999999999999999999E+125",
                    str(i)][i % 6]},
        "b": {"B": bytes((i * 31 + k) % 256 for k in range(i % 40 + 1))},
        "t": {"BOOL": i % 2 == 0},
        "z": {"NULL": True},
        "ss": {"SS": ["a%d" % i, "b", "c" * (i % 5 + 1)]},
        "ns": {"NS": [str(i), "-3.25", "2.5e-3"]},
        "bs": {"BS": [bytes([i % 256]), b"\x00\xff", b"zz%d" % i]},
        "l": {"L": [{"S": "x"}, {"N": str(i)}, {"NULL": True},
                    {"L": [{"BOOL": False}]}, {"M": {}}]},
        "m": {"M": {"nested": {"M": {"deep": {"SS": ["q", "r"]},
                                     "n": {"N": "-0.000001"}}},
                    "empty_list": {"L": []}, "s": {"S": str(i)}}},
    }
    if i % 100 == 0:
        item["big"] = {"S": "B" * 20000}    # a few larger items
    if i % 3 == 0:
        del item["z"]                        # and sparse attributes
    return item


def test_5000_items_of_every_type_round_trip(ddb, raw):
    ddb.create_table(
        TableName="types",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                   {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "N"}],
        BillingMode="PAY_PER_REQUEST")
    batch_put(ddb, "types", [all_types_item(i) for i in range(5000)])
    source = scan_all(ddb, "types")
    assert len(source) == 5000
    table = ddb.describe_table(TableName="types")["Table"]
    arn = backup(ddb, "types")
    _, final = restore(ddb, arn, "types-restored")
    restored = scan_all(ddb, "types-restored")
    assert len(restored) == 5000
    assert restored == source
    assert final["ItemCount"] == 5000
    assert final["TableSizeBytes"] == table["TableSizeBytes"]
    # key order survives too: a Query on one partition is in sort-key order
    q = dict(KeyConditionExpression="pk = :p",
             ExpressionAttributeValues={":p": {"S": "p0042"}})
    a = query_all(ddb, TableName="types", **q)
    b = query_all(ddb, TableName="types-restored", **q)
    assert len(a) > 40
    assert [norm(x) for x in b] == [norm(x) for x in a]


def test_recorded_throughput_not_live(ddb):
    """A PROVISIONED table: SourceTableDetails and the restored table carry
    the throughput at backup time, not the live one."""
    harness.create_notes(ddb, "prov", BillingMode="PROVISIONED",
                         ProvisionedThroughput={"ReadCapacityUnits": 5,
                                                "WriteCapacityUnits": 7})
    arn = backup(ddb, "prov")
    ddb.update_table(TableName="prov", ProvisionedThroughput={
        "ReadCapacityUnits": 10, "WriteCapacityUnits": 11})
    src = ddb.describe_backup(BackupArn=arn)["BackupDescription"][
        "SourceTableDetails"]
    assert src["BillingMode"] == "PROVISIONED"
    assert src["ProvisionedThroughput"] == {"ReadCapacityUnits": 5,
                                            "WriteCapacityUnits": 7}
    wait_active(ddb, "prov")
    _, final = restore(ddb, arn, "prov-restored")
    pt = final["ProvisionedThroughput"]
    assert (pt["ReadCapacityUnits"], pt["WriteCapacityUnits"]) == (5, 7)
    assert final.get("BillingModeSummary", {}).get(
        "BillingMode", "PROVISIONED") == "PROVISIONED"


# --------------------------------------------- backups outlive their tables

def test_backup_survives_delete_table_and_restores_under_old_name(
        ddb, notes, server):
    items = [note(i) for i in range(30)]
    batch_put(ddb, "notes", items)
    old = ddb.describe_table(TableName="notes")["Table"]
    arn = backup(ddb, "notes")
    ddb.delete_table(TableName="notes")
    with pytest.raises(ClientError) as e:
        ddb.describe_table(TableName="notes")
    expect(e, "ResourceNotFoundException")

    # still described and listed (by name and by ARN) with the old table
    d = ddb.describe_backup(BackupArn=arn)["BackupDescription"]
    assert d["BackupDetails"]["BackupStatus"] == "AVAILABLE"
    assert d["SourceTableDetails"]["TableId"] == old["TableId"]
    for name in ("notes", harness.arn("notes")):
        listed = ddb.list_backups(TableName=name)["BackupSummaries"]
        assert [b["BackupArn"] for b in listed] == [arn]
    if server.data_dir is not None:
        store = store_dir_of(server)
        assert os.path.exists(os.path.join(store, backup_id(arn) + ".tmbak"))
        assert os.path.exists(os.path.join(store, backup_id(arn) + ".json"))

    # restore under the old name
    desc, final = restore(ddb, arn, "notes")
    assert desc["RestoreSummary"]["SourceTableArn"] == old["TableArn"]
    assert final["TableArn"] == old["TableArn"]
    assert final["TableId"] != old["TableId"]
    assert scan_all(ddb, "notes") == sorted(map(norm, items), key=canon)


def test_two_incarnations_of_a_table_name_both_listed(ddb):
    harness.create_notes(ddb, "inc")
    ddb.put_item(TableName="inc", Item=note(1))
    first_id = ddb.describe_table(TableName="inc")["Table"]["TableId"]
    a1 = backup(ddb, "inc", "first")
    ddb.delete_table(TableName="inc")
    harness.create_notes(ddb, "inc")
    batch_put(ddb, "inc", [note(2), note(3)])
    second_id = ddb.describe_table(TableName="inc")["Table"]["TableId"]
    assert second_id != first_id
    time.sleep(0.002)
    a2 = backup(ddb, "inc", "second")
    listed = ddb.list_backups(TableName="inc")["BackupSummaries"]
    assert [b["BackupArn"] for b in listed] == [a1, a2]
    assert [b["TableId"] for b in listed] == [first_id, second_id]
    assert {b["TableArn"] for b in listed} == {harness.arn("inc")}
    for arn, tid, n in ((a1, first_id, 1), (a2, second_id, 2)):
        src = ddb.describe_backup(BackupArn=arn)["BackupDescription"][
            "SourceTableDetails"]
        assert (src["TableId"], src["ItemCount"]) == (tid, n)
    _, f1 = restore(ddb, a1, "inc-first")
    _, f2 = restore(ddb, a2, "inc-second")
    assert (f1["ItemCount"], f2["ItemCount"]) == (1, 2)


# --------------------------------------------------------------------- indexes

IDX_ATTRS = harness.NOTES_ATTRS + [
    {"AttributeName": "created", "AttributeType": "N"},
    {"AttributeName": "topic", "AttributeType": "S"},
    {"AttributeName": "owner", "AttributeType": "S"}]
LSI = {"IndexName": "byCreated",
       "KeySchema": [{"AttributeName": "userId", "KeyType": "HASH"},
                     {"AttributeName": "created", "KeyType": "RANGE"}],
       "Projection": {"ProjectionType": "ALL"}}
GSI_TOPIC = {"IndexName": "byTopic",
             "KeySchema": [{"AttributeName": "topic", "KeyType": "HASH"},
                           {"AttributeName": "created", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "INCLUDE",
                            "NonKeyAttributes": ["title"]}}
GSI_OWNER = {"IndexName": "byOwner",
             "KeySchema": [{"AttributeName": "owner", "KeyType": "HASH"}],
             "Projection": {"ProjectionType": "KEYS_ONLY"}}


def idx_item(i):
    item = {"userId": {"S": "u%d" % (i % 5)}, "noteId": {"S": "n%04d" % i},
            "created": {"N": str(1000 + i)}, "title": {"S": "title %d" % i},
            "body": {"S": "body %d" % i}}
    if i % 3:                                  # sparse GSI
        item["topic"] = {"S": "t%d" % (i % 4)}
    item["owner"] = {"S": "o%d" % (i % 3)}
    return item


@pytest.fixture
def indexed(ddb):
    """Table 'idx' with an LSI (ALL), a GSI (INCLUDE) and a GSI (KEYS_ONLY),
    300 items, and a backup of it: returns the backup ARN."""
    ddb.create_table(TableName="idx", KeySchema=harness.NOTES_KEYS,
                     AttributeDefinitions=IDX_ATTRS,
                     LocalSecondaryIndexes=[LSI],
                     GlobalSecondaryIndexes=[GSI_TOPIC, GSI_OWNER],
                     BillingMode="PAY_PER_REQUEST")
    batch_put(ddb, "idx", [idx_item(i) for i in range(300)])
    arn = backup(ddb, "idx")
    # not in the backup
    batch_put(ddb, "idx", [idx_item(i) for i in range(300, 320)])
    return arn


INDEX_QUERIES = {
    "byCreated": dict(
        KeyConditionExpression="userId = :u AND created BETWEEN :a AND :b",
        ExpressionAttributeValues={":u": {"S": "u3"}, ":a": {"N": "1050"},
                                   ":b": {"N": "1250"}}),
    "byTopic": dict(
        KeyConditionExpression="topic = :t AND created > :c",
        ExpressionAttributeValues={":t": {"S": "t2"}, ":c": {"N": "1100"}}),
    "byOwner": dict(
        KeyConditionExpression="#o = :o",
        ExpressionAttributeNames={"#o": "owner"},
        ExpressionAttributeValues={":o": {"S": "o1"}}),
}


def index_shapes(table, member):
    return sorted(({"IndexName": x["IndexName"], "KeySchema": x["KeySchema"],
                    "Projection": x["Projection"]}
                   for x in table.get(member, [])),
                  key=lambda x: x["IndexName"])


def test_restored_indexes_answer_queries(ddb, indexed):
    arn = indexed
    feat = ddb.describe_backup(BackupArn=arn)["BackupDescription"][
        "SourceTableFeatureDetails"]
    src = ddb.describe_table(TableName="idx")["Table"]
    assert index_shapes(feat, "LocalSecondaryIndexes") == \
        index_shapes(src, "LocalSecondaryIndexes")
    assert index_shapes(feat, "GlobalSecondaryIndexes") == \
        index_shapes(src, "GlobalSecondaryIndexes")
    for g in feat["GlobalSecondaryIndexes"]:
        assert g["ProvisionedThroughput"] == {"ReadCapacityUnits": 0,
                                              "WriteCapacityUnits": 0}
    assert "StreamDescription" not in feat
    assert "TimeToLiveDescription" not in feat

    # a second table holding exactly what the backup holds, to compare with
    ddb.create_table(TableName="idx-ref", KeySchema=harness.NOTES_KEYS,
                     AttributeDefinitions=IDX_ATTRS,
                     LocalSecondaryIndexes=[LSI],
                     GlobalSecondaryIndexes=[GSI_TOPIC, GSI_OWNER],
                     BillingMode="PAY_PER_REQUEST")
    batch_put(ddb, "idx-ref", [idx_item(i) for i in range(300)])

    _, final = restore(ddb, arn, "idx-restored")   # overrides omitted: all
    assert index_shapes(final, "LocalSecondaryIndexes") == \
        index_shapes(src, "LocalSecondaryIndexes")
    assert index_shapes(final, "GlobalSecondaryIndexes") == \
        index_shapes(src, "GlobalSecondaryIndexes")
    for g in final["GlobalSecondaryIndexes"]:
        assert g["IndexStatus"] == "ACTIVE"
    for name, q in INDEX_QUERIES.items():
        want = query_all(ddb, TableName="idx-ref", IndexName=name, **q)
        got = query_all(ddb, TableName="idx-restored", IndexName=name, **q)
        assert want, name
        if name == "byOwner":       # no sort key: compare as sets
            want = sorted(want, key=canon)
            got = sorted(got, key=canon)
        assert got == want, name
    # the GSI projections hold: INCLUDE gives keys + title, not body
    got = query_all(ddb, TableName="idx-restored", IndexName="byTopic",
                    **INDEX_QUERIES["byTopic"])
    assert set(got[0]) == {"userId", "noteId", "topic", "created", "title"}
    # and the index keeps following writes on the restored table
    ddb.put_item(TableName="idx-restored", Item=dict(
        idx_item(1000), topic={"S": "brand-new"}))
    got = query_all(ddb, TableName="idx-restored", IndexName="byTopic",
                    KeyConditionExpression="topic = :t",
                    ExpressionAttributeValues={":t": {"S": "brand-new"}})
    assert len(got) == 1


def test_gsi_override_empty_list_restores_no_gsi(ddb, indexed):
    _, final = restore(ddb, indexed, "idx-nogsi",
                       GlobalSecondaryIndexOverride=[])
    assert not final.get("GlobalSecondaryIndexes")
    # the LSI override was omitted: the LSI is there
    assert [x["IndexName"] for x in final["LocalSecondaryIndexes"]] == \
        ["byCreated"]
    with pytest.raises(ClientError) as e:
        ddb.query(TableName="idx-nogsi", IndexName="byTopic",
                  **INDEX_QUERIES["byTopic"])
    expect(e, "ValidationException")
    assert final["ItemCount"] == 300
    assert query_all(ddb, TableName="idx-nogsi", IndexName="byCreated",
                     **INDEX_QUERIES["byCreated"])


def test_lsi_override_empty_list_restores_no_lsi(ddb, indexed):
    _, final = restore(ddb, indexed, "idx-nolsi",
                       LocalSecondaryIndexOverride=[])
    assert not final.get("LocalSecondaryIndexes")
    assert sorted(x["IndexName"] for x in final["GlobalSecondaryIndexes"]) \
        == ["byOwner", "byTopic"]


def test_empty_override_sent_on_the_wire(raw, ddb, indexed):
    """An empty list is sent as [] and differs from an absent member."""
    r = raw.request("RestoreTableFromBackup", {
        "TargetTableName": "idx-raw", "BackupArn": indexed,
        "GlobalSecondaryIndexOverride": [],
        "LocalSecondaryIndexOverride": []})
    assert r.status == 200, r
    assert "GlobalSecondaryIndexes" not in r.json["TableDescription"]
    assert "LocalSecondaryIndexes" not in r.json["TableDescription"]
    final = wait_restored(ddb, "idx-raw")
    assert "GlobalSecondaryIndexes" not in final
    assert "LocalSecondaryIndexes" not in final
    r = raw_restore(raw, {
        "TargetTableName": "idx-raw2", "BackupArn": indexed,
        "GlobalSecondaryIndexOverride": None})
    assert r.status == 200, r
    final = wait_restored(ddb, "idx-raw2")
    assert len(final["GlobalSecondaryIndexes"]) == 2


def test_gsi_override_subset_by_name(ddb, indexed):
    _, final = restore(ddb, indexed, "idx-owner",
                       GlobalSecondaryIndexOverride=[GSI_OWNER])
    assert [x["IndexName"] for x in final["GlobalSecondaryIndexes"]] == \
        ["byOwner"]
    got = query_all(ddb, TableName="idx-owner", IndexName="byOwner",
                    **INDEX_QUERIES["byOwner"])
    assert len(got) == 100
    with pytest.raises(ClientError) as e:
        ddb.query(TableName="idx-owner", IndexName="byTopic",
                  **INDEX_QUERIES["byTopic"])
    expect(e, "ValidationException")


def test_cli_gsi_override_empty(aws, ddb, indexed):
    out = aws("restore-table-from-backup", "--target-table-name", "idx-cli",
              "--backup-arn", indexed, "--global-secondary-index-override",
              "[]")["TableDescription"]
    assert "GlobalSecondaryIndexes" not in out
    final = wait_restored(ddb, "idx-cli")
    assert "GlobalSecondaryIndexes" not in final
    assert len(final["LocalSecondaryIndexes"]) == 1


@pytest.mark.parametrize("member,override,name", [
    ("GlobalSecondaryIndexOverride",
     [dict(GSI_OWNER, IndexName="noSuchIndex")], "noSuchIndex"),
    # right name, another key schema
    ("GlobalSecondaryIndexOverride",
     [dict(GSI_OWNER, KeySchema=[{"AttributeName": "topic",
                                  "KeyType": "HASH"}])], "byOwner"),
    # right name, another projection
    ("GlobalSecondaryIndexOverride",
     [GSI_OWNER, dict(GSI_TOPIC, Projection={"ProjectionType": "ALL"})],
     "byTopic"),
    # an LSI named in the GSI override
    ("GlobalSecondaryIndexOverride", [LSI], "byCreated"),
    ("LocalSecondaryIndexOverride", [dict(LSI, IndexName="otherLsi")],
     "otherLsi"),
], ids=["unknown", "key-schema", "projection", "lsi-as-gsi", "unknown-lsi"])
def test_index_override_not_in_source(ddb, indexed, member, override, name):
    with pytest.raises(ClientError) as e:
        ddb.restore_table_from_backup(TargetTableName="idx-bad",
                                      BackupArn=indexed, **{member: override})
    expect(e, "ValidationException", NOT_IN_SOURCE % name)
    with pytest.raises(ClientError) as e:
        ddb.describe_table(TableName="idx-bad")
    expect(e, "ResourceNotFoundException")
    assert "idx-bad" not in ddb.list_tables()["TableNames"]


# ----------------------------------------------------------- billing overrides

PT = {"ReadCapacityUnits": 4, "WriteCapacityUnits": 6}


def test_override_pay_per_request_to_provisioned_and_back(ddb, notes):
    batch_put(ddb, "notes", [note(i) for i in range(20)])
    arn = backup(ddb, "notes")
    _, prov = restore(ddb, arn, "as-prov", BillingModeOverride="PROVISIONED",
                      ProvisionedThroughputOverride=PT)
    assert prov["ProvisionedThroughput"]["ReadCapacityUnits"] == 4
    assert prov["ProvisionedThroughput"]["WriteCapacityUnits"] == 6
    assert prov.get("BillingModeSummary", {}).get(
        "BillingMode", "PROVISIONED") == "PROVISIONED"
    assert prov["ItemCount"] == 20

    # and back: a backup of the PROVISIONED copy restored as on-demand
    arn2 = backup(ddb, "as-prov")
    src = ddb.describe_backup(BackupArn=arn2)["BackupDescription"][
        "SourceTableDetails"]
    assert src["BillingMode"] == "PROVISIONED"
    assert src["ProvisionedThroughput"] == PT
    _, ppr = restore(ddb, arn2, "as-ppr",
                     BillingModeOverride="PAY_PER_REQUEST")
    assert ppr["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert ppr["ProvisionedThroughput"]["ReadCapacityUnits"] == 0
    assert ppr["ProvisionedThroughput"]["WriteCapacityUnits"] == 0
    assert ppr["ItemCount"] == 20
    assert scan_all(ddb, "as-ppr") == scan_all(ddb, "notes")


def test_provisioned_throughput_override_alone_on_provisioned_backup(ddb):
    harness.create_notes(ddb, "prov", BillingMode="PROVISIONED",
                         ProvisionedThroughput={"ReadCapacityUnits": 5,
                                                "WriteCapacityUnits": 5})
    arn = backup(ddb, "prov")
    _, final = restore(ddb, arn, "prov2", ProvisionedThroughputOverride=PT)
    pt = final["ProvisionedThroughput"]
    assert (pt["ReadCapacityUnits"], pt["WriteCapacityUnits"]) == (4, 6)


def test_provisioned_to_pay_per_request_sets_gsis_to_zero(ddb):
    gsi = dict(GSI_OWNER, ProvisionedThroughput={"ReadCapacityUnits": 3,
                                                 "WriteCapacityUnits": 2})
    ddb.create_table(TableName="pgx", KeySchema=harness.NOTES_KEYS,
                     AttributeDefinitions=harness.NOTES_ATTRS + [
                         {"AttributeName": "owner", "AttributeType": "S"}],
                     GlobalSecondaryIndexes=[gsi],
                     ProvisionedThroughput={"ReadCapacityUnits": 5,
                                            "WriteCapacityUnits": 5})
    batch_put(ddb, "pgx", [idx_item(i) for i in range(30)])
    arn = backup(ddb, "pgx")
    feat = ddb.describe_backup(BackupArn=arn)["BackupDescription"][
        "SourceTableFeatureDetails"]
    assert feat["GlobalSecondaryIndexes"][0]["ProvisionedThroughput"] == {
        "ReadCapacityUnits": 3, "WriteCapacityUnits": 2}
    _, final = restore(ddb, arn, "pgx-ppr",
                       BillingModeOverride="PAY_PER_REQUEST")
    assert final["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    [g] = final["GlobalSecondaryIndexes"]
    assert g["ProvisionedThroughput"]["ReadCapacityUnits"] == 0
    assert g["ProvisionedThroughput"]["WriteCapacityUnits"] == 0
    assert len(query_all(ddb, TableName="pgx-ppr", IndexName="byOwner",
                         **INDEX_QUERIES["byOwner"])) == 10


@pytest.mark.parametrize("kw,message", [
    (dict(ProvisionedThroughputOverride=PT),
     "Cannot override ProvisionedThroughput unless BillingMode is "
     "PROVISIONED"),
    (dict(BillingModeOverride="PAY_PER_REQUEST",
          ProvisionedThroughputOverride=PT),
     "Cannot override ProvisionedThroughput unless BillingMode is "
     "PROVISIONED"),
    (dict(BillingModeOverride="PROVISIONED"),
     "Must override ProvisionedThroughput if BillingMode is overridden to "
     "PROVISIONED"),
    (dict(BillingModeOverride="FOO"),
     "1 validation error detected: Value 'FOO' at 'billingModeOverride' "
     "failed to satisfy constraint: Member must satisfy enum value set: "
     "[PROVISIONED, PAY_PER_REQUEST]"),
], ids=["pt-on-ppr", "pt-with-ppr", "prov-without-pt", "bad-enum"])
def test_billing_override_errors(ddb_nv, kw, message):
    harness.create_notes(ddb_nv)
    arn = backup(ddb_nv, "notes")
    with pytest.raises(ClientError) as e:
        ddb_nv.restore_table_from_backup(TargetTableName="target",
                                         BackupArn=arn, **kw)
    expect(e, "ValidationException", message)
    assert ddb_nv.list_tables()["TableNames"] == ["notes"]


@pytest.mark.parametrize("pt,message", [
    ({"ReadCapacityUnits": 0, "WriteCapacityUnits": 1},
     "1 validation error detected: Value '0' at "
     "'provisionedThroughputOverride.readCapacityUnits' failed to satisfy "
     "constraint: Member must have value greater than or equal to 1"),
    ({"ReadCapacityUnits": 1},
     "1 validation error detected: Value null at "
     "'provisionedThroughputOverride.writeCapacityUnits' failed to satisfy "
     "constraint: Member must not be null"),
], ids=["zero", "missing"])
def test_provisioned_throughput_override_constraints(ddb_nv, pt, message):
    harness.create_notes(ddb_nv)
    arn = backup(ddb_nv, "notes")
    with pytest.raises(ClientError) as e:
        ddb_nv.restore_table_from_backup(
            TargetTableName="target", BackupArn=arn,
            BillingModeOverride="PROVISIONED",
            ProvisionedThroughputOverride=pt)
    expect(e, "ValidationException", message)


# ---------------------------------------------------------------------- errors

def test_create_backup_of_missing_table(ddb):
    for name in ("nosuch", harness.arn("nosuch")):
        with pytest.raises(ClientError) as e:
            ddb.create_backup(TableName=name, BackupName="abc")
        expect(e, "TableNotFoundException", "Table not found: nosuch")
    assert ddb.list_backups(BackupType="ALL")["BackupSummaries"] == []


def well_formed_unknown(table="notes"):
    return TABLE_ARN_PREFIX + table + "/backup/01700000000000-0123abcd"


def test_backup_not_found(ddb, notes):
    arn = well_formed_unknown()
    with pytest.raises(ClientError) as e:
        ddb.describe_backup(BackupArn=arn)
    expect(e, "BackupNotFoundException", "Backup not found: " + arn)
    with pytest.raises(ClientError) as e:
        ddb.delete_backup(BackupArn=arn)
    expect(e, "BackupNotFoundException", "Backup not found: " + arn)
    with pytest.raises(ClientError) as e:
        ddb.restore_table_from_backup(TargetTableName="target",
                                      BackupArn=arn)
    expect(e, "BackupNotFoundException", "Backup not found: " + arn)
    assert ddb.list_tables()["TableNames"] == ["notes"]


@pytest.mark.parametrize("bad", [
    harness.arn("notes"),                                   # a table ARN
    "x" * 40,                                               # garbage
    TABLE_ARN_PREFIX + "notes/backup/0170000000000-0123abcd",   # 13 digits
    TABLE_ARN_PREFIX + "notes/backup/01700000000000-0123ABCD",  # upper hex
    TABLE_ARN_PREFIX + "notes/backup/01700000000000-0123abcd/x",
    TABLE_ARN_PREFIX + "notes/export/01700000000000-0123abcd",
], ids=["table-arn", "garbage", "short-id", "upper-hex", "suffix", "export"])
def test_invalid_backup_arn(ddb, notes, bad):
    for call in (lambda: ddb.describe_backup(BackupArn=bad),
                 lambda: ddb.delete_backup(BackupArn=bad),
                 lambda: ddb.restore_table_from_backup(
                     TargetTableName="target", BackupArn=bad)):
        with pytest.raises(ClientError) as e:
            call()
        expect(e, "ValidationException", "Invalid Backup ARN")
    assert ddb.list_tables()["TableNames"] == ["notes"]


def test_backup_arn_length_and_partition(ddb_nv, notes):
    with pytest.raises(ClientError) as e:
        ddb_nv.describe_backup(BackupArn="garbage")
    expect(e, "ValidationException",
           "1 validation error detected: Value 'garbage' at 'backupArn' "
           "failed to satisfy constraint: Member must have length greater "
           "than or equal to 37")
    other = well_formed_unknown().replace("arn:aws:", "arn:aws-cn:")
    with pytest.raises(ClientError) as e:
        ddb_nv.describe_backup(BackupArn=other)
    expect(e, "ValidationException", "BackupArn is not valid")


def test_cli_errors(aws, notes):
    arn = well_formed_unknown()
    err = aws.error("describe-backup", "--backup-arn", arn)
    assert "BackupNotFoundException" in err.stderr
    assert "Backup not found: " + arn in err.stderr
    err = aws.error("create-backup", "--table-name", "nosuch",
                    "--backup-name", "abc")
    assert "TableNotFoundException" in err.stderr
    assert "Table not found: nosuch" in err.stderr
    err = aws.error("delete-backup", "--backup-arn", harness.arn("notes"))
    assert "ValidationException" in err.stderr
    assert "Invalid Backup ARN" in err.stderr


def test_restore_target_exists(ddb, notes):
    arn = backup(ddb, "notes")
    harness.create_notes(ddb, "other")
    for target in ("notes", "other"):
        with pytest.raises(ClientError) as e:
            ddb.restore_table_from_backup(TargetTableName=target,
                                          BackupArn=arn)
        expect(e, "TableAlreadyExistsException",
               "Table already exists: " + target)
    # nothing changed, and the backup is not left "in use"
    assert sorted(ddb.list_tables()["TableNames"]) == ["notes", "other"]
    restore(ddb, arn, "third")


def constraint(value, path, rule):
    return ("Value '%s' at '%s' failed to satisfy constraint: Member must %s"
            % (value, path, rule))


GE3 = "have length greater than or equal to 3"
LE255 = "have length less than or equal to 255"
PATTERN = "satisfy regular expression pattern: [a-zA-Z0-9_.-]+"


@pytest.mark.parametrize("name,rules", [
    ("ab", [GE3]),
    ("bad name!", [PATTERN]),
    ("a" * 256, [LE255]),
    ("a!", [GE3, PATTERN]),
], ids=["short", "pattern", "long", "short-and-pattern"])
def test_backup_name_validation(ddb_nv, notes, name, rules):
    with pytest.raises(ClientError) as e:
        ddb_nv.create_backup(TableName="notes", BackupName=name)
    errs = [constraint(name, "backupName", r) for r in rules]
    expect(e, "ValidationException", "%d validation error%s detected: %s" % (
        len(errs), "s" if len(errs) > 1 else "", "; ".join(errs)))
    assert ddb_nv.list_backups()["BackupSummaries"] == []


@pytest.mark.parametrize("name,rules", [
    ("é!", [GE3, PATTERN]),
    ("é" * 200, [PATTERN]),
], ids=["2-chars-3-bytes", "200-chars-400-bytes"])
def test_backup_name_length_counts_characters(ddb_nv, notes, name, rules):
    """Lengths are in characters, as DynamoDB counts, not UTF-8 bytes."""
    with pytest.raises(ClientError) as e:
        ddb_nv.create_backup(TableName="notes", BackupName=name)
    errs = [constraint(name, "backupName", r) for r in rules]
    expect(e, "ValidationException", "%d validation error%s detected: %s" % (
        len(errs), "s" if len(errs) > 1 else "", "; ".join(errs)))


def test_backup_name_limits_accepted(ddb, notes):
    for name in ("abc", "A" * 255, "a.b-c_9"):
        arn = backup(ddb, "notes", name)
        assert ddb.describe_backup(BackupArn=arn)["BackupDescription"][
            "BackupDetails"]["BackupName"] == name


@pytest.mark.parametrize("name,rules", [
    ("ab", [GE3]),
    ("bad name", [PATTERN]),
    ("t" * 256, [LE255]),
], ids=["short", "pattern", "long"])
def test_target_table_name_validation(ddb_nv, notes, name, rules):
    arn = backup(ddb_nv, "notes")
    with pytest.raises(ClientError) as e:
        ddb_nv.restore_table_from_backup(TargetTableName=name, BackupArn=arn)
    errs = [constraint(name, "targetTableName", r) for r in rules]
    expect(e, "ValidationException", "1 validation error detected: " +
           errs[0])
    assert ddb_nv.list_tables()["TableNames"] == ["notes"]


@pytest.mark.parametrize("name,rules", [
    ("é!", [GE3, PATTERN]),
    ("é" * 200, [PATTERN]),
], ids=["2-chars-3-bytes", "200-chars-400-bytes"])
def test_target_table_name_length_counts_characters(ddb_nv, notes, name,
                                                    rules):
    arn = backup(ddb_nv, "notes")
    with pytest.raises(ClientError) as e:
        ddb_nv.restore_table_from_backup(TargetTableName=name, BackupArn=arn)
    errs = [constraint(name, "targetTableName", r) for r in rules]
    expect(e, "ValidationException", "%d validation error%s detected: %s" % (
        len(errs), "s" if len(errs) > 1 else "", "; ".join(errs)))


def test_list_backups_validation(ddb_nv, raw):
    with pytest.raises(ClientError) as e:
        ddb_nv.list_backups(TimeRangeLowerBound=datetime.datetime(2030, 1, 1),
                            TimeRangeUpperBound=datetime.datetime(2020, 1, 1))
    expect(e, "ValidationException",
           "Time range lower bound must be less than or equal to upper bound")
    # at millisecond precision, on the wire
    r = raw.request("ListBackups", {"TimeRangeLowerBound": 1700000000.002,
                                    "TimeRangeUpperBound": 1700000000.001})
    assert r.status == 400, r
    assert r.error_type() == "ValidationException"
    assert r.error_message() == ("Time range lower bound must be less than "
                                 "or equal to upper bound")
    r = raw.request("ListBackups", {"TimeRangeLowerBound": 1700000000.001,
                                    "TimeRangeUpperBound": 1700000000.001})
    assert r.status == 200, r
    for limit, rule in ((0, "have value greater than or equal to 1"),
                        (101, "have value less than or equal to 100")):
        with pytest.raises(ClientError) as e:
            ddb_nv.list_backups(Limit=limit)
        expect(e, "ValidationException", "1 validation error detected: " +
               constraint(limit, "limit", rule))
    with pytest.raises(ClientError) as e:
        ddb_nv.list_backups(BackupType="FOO")
    expect(e, "ValidationException", "1 validation error detected: " +
           constraint("FOO", "backupType",
                      "satisfy enum value set: [USER, SYSTEM, AWS_BACKUP, "
                      "ALL]"))


def test_list_backups_unknown_table_is_empty(ddb, notes):
    backup(ddb, "notes")
    for name in ("nosuch", harness.arn("nosuch")):
        r = ddb.list_backups(TableName=name)
        assert r["BackupSummaries"] == []
        assert "LastEvaluatedBackupArn" not in r


# ----------------------------------------------------------------- ListBackups

@pytest.fixture
def many(ddb):
    """7 backups of tables 'lba' and 'lbb', in creation order, at distinct
    milliseconds: [(arn, table, created_ms)]."""
    harness.create_notes(ddb, "lba")
    harness.create_notes(ddb, "lbb")
    out = []
    for i, t in enumerate(["lba", "lbb", "lba", "lba", "lbb", "lba", "lbb"]):
        arn = backup(ddb, t, "bk%d" % i)
        out.append((arn, t, int(BACKUP_ARN_RE.match(arn).group("ms"))))
        time.sleep(0.003)
    assert [x[2] for x in out] == sorted({x[2] for x in out})
    return out


def test_list_backups_order_and_table_filter(ddb, many):
    listed = ddb.list_backups()["BackupSummaries"]
    assert [b["BackupArn"] for b in listed] == [x[0] for x in many]
    times = [ms_of(b["BackupCreationDateTime"]) for b in listed]
    assert times == sorted(times) == [x[2] for x in many]
    for t in ("lba", "lbb"):
        listed = ddb.list_backups(TableName=t)["BackupSummaries"]
        assert [b["BackupArn"] for b in listed] == \
            [x[0] for x in many if x[1] == t]
        assert {b["TableName"] for b in listed} == {t}


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 100])
def test_list_backups_limit_paging(ddb, many, limit):
    seen, start, pages = [], None, 0
    while True:
        kw = {"Limit": limit}
        if start:
            kw["ExclusiveStartBackupArn"] = start
        r = ddb.list_backups(**kw)
        pages += 1
        assert len(r["BackupSummaries"]) <= limit
        seen.extend(b["BackupArn"] for b in r["BackupSummaries"])
        start = r.get("LastEvaluatedBackupArn")
        if not start:
            break
        assert start == seen[-1]
        assert pages < 20
    assert seen == [x[0] for x in many]      # every backup exactly once
    assert pages >= -(-7 // limit)


def test_list_backups_paging_with_table_filter(ddb, many):
    want = [x[0] for x in many if x[1] == "lba"]
    seen, start = [], None
    for _ in range(10):
        kw = {"Limit": 1, "TableName": "lba"}
        if start:
            kw["ExclusiveStartBackupArn"] = start
        r = ddb.list_backups(**kw)
        seen.extend(b["BackupArn"] for b in r["BackupSummaries"])
        start = r.get("LastEvaluatedBackupArn")
        if not start:
            break
    assert seen == want


def test_list_backups_paginator(ddb, many):
    pages = list(ddb.get_paginator("list_backups").paginate(
        PaginationConfig={"PageSize": 2}))
    arns = [b["BackupArn"] for p in pages for b in p["BackupSummaries"]]
    assert arns == [x[0] for x in many]
    assert len(pages) >= 4
    got = ddb.get_paginator("list_backups").paginate(
        TableName="lbb", PaginationConfig={"PageSize": 1}).build_full_result()
    assert [b["BackupArn"] for b in got["BackupSummaries"]] == \
        [x[0] for x in many if x[1] == "lbb"]


def test_list_backups_start_arn_is_a_cursor(ddb, many):
    """A deleted backup's ARN still works as ExclusiveStartBackupArn."""
    gone = many[2][0]
    ddb.delete_backup(BackupArn=gone)
    r = ddb.list_backups(ExclusiveStartBackupArn=gone)
    assert [b["BackupArn"] for b in r["BackupSummaries"]] == \
        [x[0] for x in many[3:]]


def test_cli_list_backups_pages(aws, many):
    """The CLI follows LastEvaluatedBackupArn itself with --page-size."""
    out = aws("list-backups", "--page-size", "2")
    assert [b["BackupArn"] for b in out["BackupSummaries"]] == \
        [x[0] for x in many]
    out = aws("list-backups", "--max-items", "3")
    assert [b["BackupArn"] for b in out["BackupSummaries"]] == \
        [x[0] for x in many[:3]]


def test_list_backups_time_range_ms(raw, many):
    """Lower bound inclusive, upper bound exclusive, at ms precision."""
    def listed(**bounds):
        body = {k: v / 1000.0 for k, v in bounds.items()}
        r = raw.request("ListBackups", body)
        assert r.status == 200, r
        return [b["BackupArn"] for b in r.json["BackupSummaries"]]

    arns = [x[0] for x in many]
    t = [x[2] for x in many]
    assert listed(TimeRangeLowerBound=t[2]) == arns[2:]
    assert listed(TimeRangeLowerBound=t[2] + 1) == arns[3:]
    assert listed(TimeRangeUpperBound=t[2]) == arns[:2]
    assert listed(TimeRangeUpperBound=t[2] + 1) == arns[:3]
    assert listed(TimeRangeLowerBound=t[1], TimeRangeUpperBound=t[4]) == \
        arns[1:4]
    assert listed(TimeRangeLowerBound=t[3], TimeRangeUpperBound=t[3]) == []
    assert listed(TimeRangeLowerBound=t[-1] + 1) == []
    assert listed(TimeRangeUpperBound=t[0]) == []
    # the timestamp forms JS v3 and others send: integers, exponents
    r = raw.request("ListBackups", '{"TimeRangeLowerBound":1000000000,'
                                   '"TimeRangeUpperBound":4.1E9}')
    assert r.status == 200, r
    assert [b["BackupArn"] for b in r.json["BackupSummaries"]] == arns


def test_list_backups_time_range_boto3_and_cli(ddb, aws, many):
    first = many[0][2] // 1000          # whole seconds, as boto3 sends
    last = many[-1][2] // 1000
    utc = datetime.timezone.utc
    lo = datetime.datetime.fromtimestamp(first, utc)
    hi = datetime.datetime.fromtimestamp(last + 1, utc)
    r = ddb.list_backups(TimeRangeLowerBound=lo, TimeRangeUpperBound=hi)
    assert [b["BackupArn"] for b in r["BackupSummaries"]] == \
        [x[0] for x in many]
    r = ddb.list_backups(TimeRangeLowerBound=hi)
    assert r["BackupSummaries"] == []
    r = ddb.list_backups(TimeRangeUpperBound=lo)
    assert r["BackupSummaries"] == []
    out = aws("list-backups", "--table-name", "lbb",
              "--time-range-lower-bound", lo.strftime("%Y-%m-%dT%H:%M:%SZ"),
              "--time-range-upper-bound", hi.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert [b["BackupArn"] for b in out["BackupSummaries"]] == \
        [x[0] for x in many if x[1] == "lbb"]


def test_list_backups_backup_type(ddb, many):
    arns = [x[0] for x in many]
    for bt, want in (("USER", arns), ("ALL", arns), ("SYSTEM", []),
                     ("AWS_BACKUP", [])):
        got = ddb.list_backups(BackupType=bt)["BackupSummaries"]
        assert [b["BackupArn"] for b in got] == want, bt
        assert all(b["BackupType"] == "USER" for b in got)


# ---------------------------------------------------------------- DeleteBackup

def test_delete_backup(ddb, notes, server):
    batch_put(ddb, "notes", [note(i) for i in range(5)])
    keep = backup(ddb, "notes", "keep")
    arn = backup(ddb, "notes", "doomed")
    if server.data_dir is not None:
        store = store_dir_of(server)
        files = {backup_id(arn) + ".tmbak", backup_id(arn) + ".json"}
        assert files <= set(os.listdir(store))
    described = ddb.describe_backup(BackupArn=arn)["BackupDescription"]

    out = ddb.delete_backup(BackupArn=arn)["BackupDescription"]
    assert out["BackupDetails"]["BackupStatus"] == "DELETED"
    assert out["BackupDetails"]["BackupArn"] == arn
    assert out["SourceTableDetails"] == described["SourceTableDetails"]
    assert out["SourceTableFeatureDetails"] == \
        described["SourceTableFeatureDetails"]
    for call in (ddb.describe_backup, ddb.delete_backup):
        with pytest.raises(ClientError) as e:
            call(BackupArn=arn)
        expect(e, "BackupNotFoundException", "Backup not found: " + arn)
    with pytest.raises(ClientError) as e:
        ddb.restore_table_from_backup(TargetTableName="x-restored",
                                      BackupArn=arn)
    expect(e, "BackupNotFoundException", "Backup not found: " + arn)
    listed = ddb.list_backups(BackupType="ALL")["BackupSummaries"]
    assert [b["BackupArn"] for b in listed] == [keep]
    if server.data_dir is not None:
        left = set(os.listdir(store))
        assert not files & left, left
        assert backup_id(keep) + ".tmbak" in left
    # the table and the other backup are untouched
    assert len(scan_all(ddb, "notes")) == 5
    _, final = restore(ddb, keep, "kept")
    assert final["ItemCount"] == 5


# ----------------------------------------------------------- restore lifecycle

def test_restore_answer_and_new_identity(ddb, raw, notes):
    batch_put(ddb, "notes", [note(i) for i in range(3)])
    src = ddb.describe_table(TableName="notes")["Table"]
    arn = backup(ddb, "notes")
    created = ddb.describe_backup(BackupArn=arn)["BackupDescription"][
        "BackupDetails"]["BackupCreationDateTime"]
    time.sleep(0.005)
    r = raw.request("RestoreTableFromBackup", {
        "TargetTableName": "notes-copy", "BackupArn": arn})
    assert r.status == 200, r
    desc = r.json["TableDescription"]
    assert desc["TableName"] == "notes-copy"
    assert desc["TableStatus"] == "CREATING"
    assert desc["TableArn"] == TABLE_ARN_PREFIX + "notes-copy"
    assert desc["KeySchema"] == harness.NOTES_KEYS
    rs = desc["RestoreSummary"]
    assert rs == {"SourceBackupArn": arn, "SourceTableArn": src["TableArn"],
                  "RestoreDateTime": rs["RestoreDateTime"],
                  "RestoreInProgress": True}
    assert rs["RestoreDateTime"] == pytest.approx(
        ms_of(created) / 1000.0, abs=0.0005)
    assert harness.UUID_RE.match(desc["TableId"])
    assert desc["TableId"] != src["TableId"]
    assert desc["CreationDateTime"] > ms_of(src["CreationDateTime"]) / 1000.0
    assert desc["CreationDateTime"] >= rs["RestoreDateTime"]
    final = wait_restored(ddb, "notes-copy")
    assert final["TableId"] == desc["TableId"]
    assert ms_of(final["CreationDateTime"]) == \
        round(desc["CreationDateTime"] * 1000)
    # after ACTIVE, RestoreSummary is dropped or says not in progress
    if "RestoreSummary" in final:
        assert final["RestoreSummary"]["RestoreInProgress"] is False
        assert final["RestoreSummary"]["SourceBackupArn"] == arn
    assert final["ItemCount"] == 3
    # the restored table is an ordinary table now
    ddb.put_item(TableName="notes-copy", Item=note(99))
    assert len(scan_all(ddb, "notes-copy")) == 4
    assert len(scan_all(ddb, "notes")) == 3
    # and can itself be backed up
    arn2 = backup(ddb, "notes-copy")
    assert ddb.describe_backup(BackupArn=arn2)["BackupDescription"][
        "SourceTableDetails"]["ItemCount"] == 4


def test_restore_drops_stream_ttl_and_tags(ddb):
    harness.create_notes(
        ddb, "featured",
        StreamSpecification={"StreamEnabled": True,
                             "StreamViewType": "NEW_AND_OLD_IMAGES"},
        Tags=[{"Key": "team", "Value": "core"}])
    ddb.update_time_to_live(TableName="featured", TimeToLiveSpecification={
        "Enabled": True, "AttributeName": "expires"})
    ddb.put_item(TableName="featured",
                 Item=note(1, expires={"N": "4102444800"}))
    arn = backup(ddb, "featured")
    feat = ddb.describe_backup(BackupArn=arn)["BackupDescription"][
        "SourceTableFeatureDetails"]
    # the backup records the descriptions of stream and TTL
    assert feat["StreamDescription"] == {
        "StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert feat["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}

    _, final = restore(ddb, arn, "plain")
    assert "StreamSpecification" not in final
    assert "LatestStreamArn" not in final
    assert "LatestStreamLabel" not in final
    ttl = ddb.describe_time_to_live(TableName="plain")["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] == "DISABLED"
    assert ddb.list_tags_of_resource(ResourceArn=final["TableArn"])[
        "Tags"] == []
    assert final.get("DeletionProtectionEnabled", False) is False
    # the item with its TTL attribute is there all the same
    assert scan_all(ddb, "plain") == [norm(note(1, expires={
        "N": "4102444800"}))]
    # and a backup of the restored table records no features
    arn2 = backup(ddb, "plain")
    assert ddb.describe_backup(BackupArn=arn2)["BackupDescription"][
        "SourceTableFeatureDetails"] == {}


BIG = 50000


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """A server of its own with table 'big' (one GSI) of 50,000 items and a
    backup of it: large enough that a restore stays CREATING for a while.
    Yields a dict: server, arn, client."""
    if harness.EXTERNAL_ENDPOINT:
        pytest.skip("needs the tidemark binary")
    root = str(tmp_path_factory.mktemp("tidemark-big"))
    # --sync off: loading 50,000 items is 3-4 times faster without an
    # fdatasync per batch; a restore still takes some 100 ms or more
    s = harness.Server(os.path.join(root, "data"), log_dir=root,
                       extra_args=["--sync", "off"])
    try:
        s.start()
    except harness.ServerError as e:
        pytest.fail(str(e), pytrace=False)
    try:
        ddb = harness.make_client(s.url)
        ddb.create_table(
            TableName="big",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "g", "AttributeType": "S"}],
            GlobalSecondaryIndexes=[{
                "IndexName": "byG",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"}}],
            BillingMode="PAY_PER_REQUEST")
        with harness.RawClient(s.port) as raw:
            raw_batch_put(raw, "big", [
                {"pk": {"S": "k%06d" % i}, "g": {"S": "g%d" % (i % 100)},
                 "v": {"S": "%d-" % i + "v" * 80}} for i in range(BIG)])
        arn = backup(ddb, "big", "big")
        yield {"server": s, "arn": arn, "ddb": ddb, "root": root}
        rc = s.stop(signal.SIGTERM)
        assert rc == 0, "exit code %s on SIGTERM; stderr:\n%s" % (
            rc, s.stderr_text())
    finally:
        s.kill()


@pytest.mark.needs_binary
def test_restore_in_progress(big):
    """While the target is CREATING: item reads and writes get
    ResourceNotFoundException, CreateBackup TableNotFoundException,
    DeleteTable ResourceInUseException, DeleteBackup and a second restore
    of the same backup BackupInUseException, a restore into the same target
    TableInUseException; then it becomes ACTIVE with every item."""
    s, arn, ddb = big["server"], big["arn"], big["ddb"]
    other = backup(ddb, "big", "other")
    with harness.RawClient(s.port) as a, harness.RawClient(s.port) as b:
        r = a.request("RestoreTableFromBackup",
                      {"TargetTableName": "rs1", "BackupArn": arn})
        assert r.status == 200, r
        t0 = time.monotonic()
        tries = {
            "put": b.request("PutItem", {"TableName": "rs1", "Item": {
                "pk": {"S": "new"}, "g": {"S": "x"}}}),
            "get": b.request("GetItem", {"TableName": "rs1", "Key": {
                "pk": {"S": "k000001"}}}),
            "delete-backup": b.request("DeleteBackup", {"BackupArn": arn}),
            "restore-same-backup": b.request(
                "RestoreTableFromBackup",
                {"TargetTableName": "rs2", "BackupArn": arn}),
            "restore-same-target": b.request(
                "RestoreTableFromBackup",
                {"TargetTableName": "rs1", "BackupArn": other}),
            "create-backup": b.request("CreateBackup", {
                "TableName": "rs1", "BackupName": "during"}),
            "delete-table": b.request("DeleteTable", {"TableName": "rs1"}),
        }
        after = b.call("DescribeTable", {"TableName": "rs1"})["Table"]
        elapsed = time.monotonic() - t0
    final = wait_restored(ddb, "rs1", timeout=30)
    if tries["restore-same-backup"].status == 200:
        wait_restored(ddb, "rs2")
    if tries["delete-backup"].status == 200:
        # only right if the restore was over by then (checked below); keep
        # a backup for the next tests
        big["arn"] = backup(ddb, "big", "big")
    assert final["ItemCount"] == BIG
    assert count_items(ddb, "scan", TableName="rs1") == BIG
    [g] = final["GlobalSecondaryIndexes"]
    assert g["IndexStatus"] == "ACTIVE"
    assert g["ItemCount"] == BIG
    assert count_items(ddb, "query", TableName="rs1", IndexName="byG",
                       KeyConditionExpression="g = :g",
                       ExpressionAttributeValues={":g": {"S": "g7"}}) == \
        BIG // 100
    ddb.put_item(TableName="rs1", Item={"pk": {"S": "new"}, "g": {"S": "x"}})

    if after["TableStatus"] != "CREATING":
        pytest.skip("the restore of %d items finished within %.0f ms, before "
                    "the checks made while CREATING could be confirmed"
                    % (BIG, elapsed * 1000))
    # rs1 was still CREATING after every try: each one ran during the
    # restore
    assert after["RestoreSummary"]["RestoreInProgress"] is True
    want = {
        "put": ("ResourceNotFoundException", None),
        "get": ("ResourceNotFoundException", None),
        "delete-backup": ("BackupInUseException",
                          "Backup is being used to restore table: " + arn),
        "restore-same-backup": (
            "BackupInUseException",
            "Backup is being used to restore another table: " + arn),
        "restore-same-target": (
            "TableInUseException",
            "Table: rs1 is already being restored from backup: " + arn),
        "create-backup": ("TableNotFoundException", "Table not found: rs1"),
        "delete-table": ("ResourceInUseException", None),
    }
    for what, (code, message) in want.items():
        resp = tries[what]
        assert resp.status == 400, (what, resp)
        assert resp.error_type() == code, (what, resp)
        if message is not None:
            assert resp.error_message() == message, (what, resp)
    assert "rs2" not in ddb.list_tables()["TableNames"]
    # both backups are still there and usable
    ddb.describe_backup(BackupArn=arn)
    with_retry_in_use(lambda: ddb.delete_backup(BackupArn=other))


def interrupted_restore(big, target):
    """Start a restore of the 50,000-item backup, stop the server (SIGTERM)
    at once, start it again on the same data dir, wait for the restore to
    finish. Skips if the restore was over before the stop."""
    s, arn, ddb = big["server"], big["arn"], big["ddb"]
    r = with_retry_in_use(lambda: ddb.restore_table_from_backup(
        TargetTableName=target, BackupArn=arn))
    assert r["TableDescription"]["TableStatus"] == "CREATING"
    assert s.stop(signal.SIGTERM) == 0, s.stderr_text()
    try:
        s.start()
    except harness.ServerError as e:
        pytest.fail(str(e), pytrace=False)
    ddb = big["ddb"] = harness.make_client(s.url)
    if "resuming the restore of table %s " % target not in s.stderr_text():
        final = wait_restored(ddb, target)
        pytest.skip("the restore of %d items was over before the stop "
                    "(ItemCount %d): nothing was interrupted"
                    % (BIG, final["ItemCount"]))
    return ddb, wait_restored(ddb, target, timeout=30)


@pytest.mark.needs_binary
def test_restore_interrupted_by_stop_resumes(big):
    """A restore cut short by a stop starts over at the next start: the
    table ends ACTIVE with every item, never half-filled, and the backup is
    free again."""
    ddb, final = interrupted_restore(big, "rs3")
    assert final["TableStatus"] == "ACTIVE"
    assert count_items(ddb, "scan", TableName="rs3") == BIG
    assert count_items(ddb, "query", TableName="rs3", IndexName="byG",
                       KeyConditionExpression="g = :g",
                       ExpressionAttributeValues={":g": {"S": "g42"}}) == \
        BIG // 100
    assert ddb.get_item(TableName="rs3", Key={"pk": {"S": "k049999"}})[
        "Item"]["g"] == {"S": "g99"}
    _, again = restore(ddb, big["arn"], "rs4")
    assert again["ItemCount"] == BIG


@pytest.mark.needs_binary
def test_resumed_restore_statistics(big):
    """ItemCount, TableSizeBytes and the GSI's statistics of a resumed
    restore count the backup's rows once, not also those of the interrupted
    attempt (dropping them must subtract them)."""
    src = big["ddb"].describe_table(TableName="big")["Table"]
    ddb, final = interrupted_restore(big, "rs5")
    assert count_items(ddb, "scan", TableName="rs5") == BIG
    assert final["ItemCount"] == BIG
    assert final["TableSizeBytes"] == src["TableSizeBytes"]
    [g] = final["GlobalSecondaryIndexes"]
    [sg] = src["GlobalSecondaryIndexes"]
    assert g["ItemCount"] == BIG
    assert g["IndexSizeBytes"] == sg["IndexSizeBytes"]


def test_restored_table_is_readable_once_active(ddb, raw, notes):
    """The moment DescribeTable first says ACTIVE, every item is readable
    and counted (the ACTIVE flip must not be visible before the rows are
    committed)."""
    items = [note(i) for i in range(200)]
    batch_put(ddb, "notes", items)
    arn = backup(ddb, "notes")
    last = {"userId": items[-1]["userId"], "noteId": items[-1]["noteId"]}
    for k in range(30):
        target = "readable%d" % k
        r = raw_restore(raw, {"TargetTableName": target, "BackupArn": arn})
        assert r.status == 200, r
        deadline = time.monotonic() + 10
        while True:
            t = raw.call("DescribeTable", {"TableName": target})["Table"]
            if t["TableStatus"] == "ACTIVE":
                break
            assert time.monotonic() < deadline
        got = raw.call("Scan", {"TableName": target, "Select": "COUNT"})
        item = raw.call("GetItem", {"TableName": target, "Key": last})
        assert (got["Count"], t["ItemCount"], "Item" in item) == \
            (200, 200, True), "restore %d" % k


def test_backup_free_once_restored_table_active(ddb, raw, notes):
    batch_put(ddb, "notes", [note(i) for i in range(200)])
    for k in range(20):
        arn = backup(ddb, "notes", "free%d" % k)
        for target in ("free%d" % k, "again%d" % k):
            r = raw.request("RestoreTableFromBackup",
                            {"TargetTableName": target, "BackupArn": arn})
            assert r.status == 200, ("restore %d into %s" % (k, target), r)
            deadline = time.monotonic() + 10
            while raw.call("DescribeTable", {"TableName": target})[
                    "Table"]["TableStatus"] != "ACTIVE":
                assert time.monotonic() < deadline
        r = raw.request("DeleteBackup", {"BackupArn": arn})
        assert r.status == 200, ("restore %d" % k, r)


# ----------------------------------------------------------------- persistence

@pytest.mark.needs_binary
def test_backups_survive_restart(servers, tmp_path):
    data = str(tmp_path / "data")
    s = start_server(servers, data, str(tmp_path))
    ddb = harness.make_client(s.url)
    harness.create_notes(ddb)
    items = [note(i) for i in range(50)]
    batch_put(ddb, "notes", items)
    a1 = backup(ddb, "notes", "one")
    ddb.delete_item(TableName="notes", Key=key_of(items[0]))
    a2 = backup(ddb, "notes", "two")
    before = [ddb.describe_backup(BackupArn=a)["BackupDescription"]
              for a in (a1, a2)]
    listed = ddb.list_backups()["BackupSummaries"]
    ddb.delete_table(TableName="notes")
    assert s.stop() == 0, s.stderr_text()

    s2 = start_server(servers, data, str(tmp_path))
    ddb = harness.make_client(s2.url)
    assert ddb.list_tables()["TableNames"] == []
    assert ddb.list_backups()["BackupSummaries"] == listed
    assert [ddb.describe_backup(BackupArn=a)["BackupDescription"]
            for a in (a1, a2)] == before
    restore(ddb, a1, "notes")
    restore(ddb, a2, "notes-two")
    assert scan_all(ddb, "notes") == sorted(map(norm, items), key=canon)
    assert scan_all(ddb, "notes-two") == sorted(map(norm, items[1:]),
                                                key=canon)
    ddb.delete_backup(BackupArn=a1)
    assert s2.stop() == 0, s2.stderr_text()

    s3 = start_server(servers, data, str(tmp_path))
    ddb = harness.make_client(s3.url)
    assert [b["BackupArn"] for b in ddb.list_backups()["BackupSummaries"]] \
        == [a2]
    assert s3.stop() == 0, s3.stderr_text()


@pytest.mark.needs_binary
def test_backup_store_outside_data_dir(servers, tmp_path):
    store = str(tmp_path / "store")
    data1 = str(tmp_path / "data1")
    s = start_server(servers, data1, str(tmp_path),
                     extra_args=["--backup-store", store])
    ddb = harness.make_client(s.url)
    harness.create_notes(ddb)
    items = [note(i) for i in range(40)]
    batch_put(ddb, "notes", items)
    arn = backup(ddb, "notes")
    assert {backup_id(arn) + ".tmbak", backup_id(arn) + ".json"} <= \
        set(os.listdir(store))
    default_store = os.path.join(data1, "backups")
    assert not os.path.isdir(default_store) or \
        not any(f.startswith(backup_id(arn))
                for f in os.listdir(default_store))
    assert s.stop() == 0, s.stderr_text()

    # a fresh data dir, the same store: the backup is there, the table not
    data2 = str(tmp_path / "data2")
    s2 = start_server(servers, data2, str(tmp_path),
                      extra_args=["--backup-store", store])
    ddb = harness.make_client(s2.url)
    assert ddb.list_tables()["TableNames"] == []
    listed = ddb.list_backups(TableName="notes")["BackupSummaries"]
    assert [b["BackupArn"] for b in listed] == [arn]
    _, final = restore(ddb, arn, "notes")
    assert final["ItemCount"] == 40
    assert scan_all(ddb, "notes") == sorted(map(norm, items), key=canon)
    assert s2.stop() == 0, s2.stderr_text()

    # a server on the first data dir without the flag does not see it
    s3 = start_server(servers, data1, str(tmp_path))
    ddb = harness.make_client(s3.url)
    assert ddb.list_backups()["BackupSummaries"] == []
    assert ddb.list_tables()["TableNames"] == ["notes"]
    assert s3.stop() == 0, s3.stderr_text()


# ------------------------------------------------------------------ corruption

CORRUPT_RE = re.compile(r"backup file (\S+) is corrupt at offset (\d+)")


@pytest.fixture
def damaged(servers, tmp_path):
    """A server of its own with table 'notes' of 3,000 varied items (a
    backup file of several blocks) and two backups of it."""
    s = start_server(servers, str(tmp_path / "data"), str(tmp_path))
    ddb = harness.make_client(s.url)
    harness.create_notes(ddb)
    items = [note(i, blob={"B": os.urandom(64)}, pad={"S": "p" * (i % 300)})
             for i in range(3000)]
    with harness.RawClient(s.port) as raw:
        raw_batch_put(raw, "notes", [
            {k: ({"B": base64.b64encode(v["B"]).decode()}
                 if "B" in v else v) for k, v in it.items()} for it in items])
    victim = backup(ddb, "notes", "victim")
    spare = backup(ddb, "notes", "spare")
    store = os.path.join(s.data_dir, "backups")
    return {"server": s, "ddb": ddb, "victim": victim, "spare": spare,
            "path": os.path.join(store, backup_id(victim) + ".tmbak"),
            "source": scan_all(ddb, "notes")}


def attempt_restore(ddb, target, arn):
    """A restore from a damaged backup: accepted then failing (the table
    disappears, never ACTIVE), or refused at once. Returns how it went."""
    try:
        r = ddb.restore_table_from_backup(TargetTableName=target,
                                          BackupArn=arn)
    except ClientError as e:            # refusing it at once is fine too
        code = e.response["Error"]["Code"]
        if code == "BackupInUseException":
            raise                           # for with_retry_in_use
        assert code not in ("InternalServerError", "TableInUseException"), \
            e.response["Error"]
        return code
    assert r["TableDescription"]["TableStatus"] == "CREATING"
    wait_failed_restore_gone(ddb, target)
    return "accepted"


def check_failed_restore(d, target, flipped_at=None):
    s, ddb = d["server"], d["ddb"]
    first = attempt_restore(ddb, target, d["victim"])
    assert target not in ddb.list_tables()["TableNames"]
    # the log names the file and an offset in it
    deadline = time.monotonic() + 5
    while True:
        hits = [m for m in CORRUPT_RE.finditer(s.stderr_text())
                if m.group(1) == d["path"]]
        if hits or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert hits, "no 'backup file %s is corrupt at offset N' in the log:\n%s" \
        % (d["path"], s.stderr_text())
    size = os.path.getsize(d["path"])
    for m in hits:
        off = int(m.group(2))
        assert 0 <= off <= size
        if flipped_at is not None:
            assert off <= flipped_at        # the block holding the byte
    # the source table, the backups and the store are untouched
    assert scan_all(ddb, "notes") == d["source"]
    listed = [b["BackupArn"] for b in ddb.list_backups()["BackupSummaries"]]
    assert listed == [d["victim"], d["spare"]]
    _, final = restore(ddb, d["spare"], target + "-ok")
    assert final["ItemCount"] == 3000
    assert scan_all(ddb, target + "-ok") == d["source"]
    # a second attempt fails the same way (the backup is not left in use)
    assert with_retry_in_use(
        lambda: attempt_restore(ddb, target, d["victim"])) == first
    assert target not in ddb.list_tables()["TableNames"]
    assert s.proc.poll() is None, s.stderr_text()


@pytest.mark.needs_binary
def test_restore_from_backup_with_flipped_byte(damaged):
    path = damaged["path"]
    size = os.path.getsize(path)
    assert size > 100000, size      # several blocks
    pos = size // 2
    with open(path, "r+b") as f:
        f.seek(pos)
        b = f.read(1)
        f.seek(pos)
        f.write(bytes([b[0] ^ 0x40]))
    check_failed_restore(damaged, "flipped", flipped_at=pos)


@pytest.mark.needs_binary
def test_restore_from_truncated_backup(damaged):
    path = damaged["path"]
    size = os.path.getsize(path)
    os.truncate(path, size * 2 // 3)
    check_failed_restore(damaged, "truncated")


@pytest.mark.needs_binary
def test_restore_from_backup_with_flipped_last_byte(damaged):
    """The whole-file checksum at the end is checked too."""
    path = damaged["path"]
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.seek(size - 1)
        b = f.read(1)
        f.seek(size - 1)
        f.write(bytes([b[0] ^ 0x01]))
    check_failed_restore(damaged, "lastbyte")
