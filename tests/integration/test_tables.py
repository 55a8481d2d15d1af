"""Table lifecycle: CreateTable, DescribeTable, ListTables, UpdateTable,
DeleteTable with boto3 and the AWS CLI, and their validation errors."""

import datetime
import json

import pytest
from botocore.exceptions import ClientError

import harness
from harness import NOTES_ATTRS, NOTES_KEYS, arn, create_notes, error_of

NOT_FOUND_TEXTS = ("Requested resource not found",
                   "Cannot do operations on a non-existent table")


def assert_recent(ts, slack=120):
    """ts: a datetime from boto3 or an epoch number/ISO string."""
    now = datetime.datetime.now(datetime.timezone.utc)
    if isinstance(ts, (int, float)):
        ts = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    elif isinstance(ts, str):
        ts = datetime.datetime.fromisoformat(ts)
    assert abs((now - ts).total_seconds()) < slack, ts


def assert_notes_description(d, status):
    assert d["TableName"] == "notes"
    assert d["TableArn"] == \
        "arn:aws:dynamodb:us-east-1:000000000000:table/notes"
    assert harness.UUID_RE.match(d["TableId"]), d["TableId"]
    assert d["KeySchema"] == NOTES_KEYS
    assert sorted(d["AttributeDefinitions"],
                  key=lambda a: a["AttributeName"]) == sorted(
        NOTES_ATTRS, key=lambda a: a["AttributeName"])
    assert d["TableStatus"] == status
    assert_recent(d["CreationDateTime"])
    assert d["ItemCount"] == 0
    assert d["TableSizeBytes"] == 0
    assert d["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    pt = d["ProvisionedThroughput"]
    assert pt["ReadCapacityUnits"] == 0
    assert pt["WriteCapacityUnits"] == 0
    assert pt["NumberOfDecreasesToday"] == 0


def assert_no_nulls(value, path="$"):
    """DynamoDB omits absent members; it never sends null."""
    assert value is not None, "null at %s" % path
    if isinstance(value, dict):
        for k, v in value.items():
            assert_no_nulls(v, "%s.%s" % (path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            assert_no_nulls(v, "%s[%d]" % (path, i))


def wait_active(ddb, name, timeout=10.0):
    """After UpdateTable: DynamoDB reports UPDATING for a while."""
    import time
    deadline = time.monotonic() + timeout
    while True:
        t = ddb.describe_table(TableName=name)["Table"]
        if t["TableStatus"] == "ACTIVE" or time.monotonic() > deadline:
            return t
        time.sleep(0.05)


# ---------------------------------------------------------------- lifecycle

def test_create_describe_delete_notes_boto3(ddb):
    created = create_notes(ddb)
    assert_notes_description(created, "CREATING")

    # ACTIVE right after CreateTable.
    d = ddb.describe_table(TableName="notes")["Table"]
    assert_notes_description(d, "ACTIVE")
    assert d["TableId"] == created["TableId"]
    assert d["CreationDateTime"] == created["CreationDateTime"]
    assert ddb.list_tables()["TableNames"] == ["notes"]
    ddb.get_waiter("table_exists").wait(
        TableName="notes", WaiterConfig={"Delay": 1, "MaxAttempts": 5})

    deleted = ddb.delete_table(TableName="notes")["TableDescription"]
    assert deleted["TableName"] == "notes"
    assert deleted["TableStatus"] == "DELETING"
    assert deleted["TableArn"] == arn("notes")
    assert deleted["TableId"] == created["TableId"]

    # Gone right after DeleteTable.
    assert ddb.list_tables()["TableNames"] == []
    with pytest.raises(ClientError) as e:
        ddb.describe_table(TableName="notes")
    code, msg = error_of(e)
    assert code == "ResourceNotFoundException"
    assert msg == "Requested resource not found: Table: notes not found"

    with pytest.raises(ClientError) as e:
        ddb.delete_table(TableName="notes")
    code, msg = error_of(e)
    assert code == "ResourceNotFoundException"
    assert msg.startswith(NOT_FOUND_TEXTS), msg

    with pytest.raises(ClientError) as e:
        ddb.put_item(TableName="notes",
                     Item={"userId": {"S": "u"}, "noteId": {"S": "n"}})
    code, msg = error_of(e)
    assert code == "ResourceNotFoundException"
    assert msg.startswith(NOT_FOUND_TEXTS), msg


def test_recreate_after_delete_is_a_new_table(ddb):
    first = create_notes(ddb)
    ddb.put_item(TableName="notes",
                 Item={"userId": {"S": "u"}, "noteId": {"S": "n"}})
    ddb.delete_table(TableName="notes")
    second = create_notes(ddb)
    assert second["TableId"] != first["TableId"]
    assert second["TableArn"] == arn("notes")
    # The old table's items did not survive into the new one.
    got = ddb.get_item(TableName="notes",
                       Key={"userId": {"S": "u"}, "noteId": {"S": "n"}})
    assert "Item" not in got
    assert ddb.describe_table(TableName="notes")["Table"]["ItemCount"] == 0


def test_describe_table_wire_format(raw):
    """Raw JSON: CreationDateTime is a number (epoch seconds), no nulls."""
    r = raw.request("CreateTable", {
        "TableName": "notes", "KeySchema": NOTES_KEYS,
        "AttributeDefinitions": NOTES_ATTRS,
        "BillingMode": "PAY_PER_REQUEST"})
    assert r.status == 200, r
    assert_no_nulls(r.json)
    r = raw.request("DescribeTable", {"TableName": "notes"})
    assert r.status == 200, r
    assert r.header("Content-Type") == harness.JSON_CT
    t = r.json["Table"]
    assert_no_nulls(t)
    assert isinstance(t["CreationDateTime"], (int, float))
    assert not isinstance(t["CreationDateTime"], bool)
    assert_recent(t["CreationDateTime"])
    assert isinstance(t["ItemCount"], int)
    assert isinstance(t["TableSizeBytes"], int)


def test_duplicate_create_is_resource_in_use(ddb):
    create_notes(ddb)
    with pytest.raises(ClientError) as e:
        create_notes(ddb)
    code, msg = error_of(e)
    assert code == "ResourceInUseException"
    assert "Table already exists: notes" in msg
    # The first table is untouched.
    assert ddb.describe_table(TableName="notes")["Table"]["TableStatus"] == \
        "ACTIVE"


def test_notes_lifecycle_cli(aws):
    out = aws("create-table", "--table-name", "notes",
              "--attribute-definitions",
              "AttributeName=userId,AttributeType=S",
              "AttributeName=noteId,AttributeType=S",
              "--key-schema", "AttributeName=userId,KeyType=HASH",
              "AttributeName=noteId,KeyType=RANGE",
              "--billing-mode", "PAY_PER_REQUEST")
    assert_notes_description(out["TableDescription"], "CREATING")

    # Must return at once: the waiter's first DescribeTable sees ACTIVE.
    assert aws("wait", "table-exists", "--table-name", "notes",
               timeout=15) == {}

    d = aws("describe-table", "--table-name", "notes")["Table"]
    assert_notes_description(d, "ACTIVE")
    assert d["TableId"] == out["TableDescription"]["TableId"]

    assert aws("list-tables") == {"TableNames": ["notes"]}

    err = aws.error("create-table", "--table-name", "notes",
                    "--attribute-definitions",
                    "AttributeName=userId,AttributeType=S",
                    "--key-schema", "AttributeName=userId,KeyType=HASH",
                    "--billing-mode", "PAY_PER_REQUEST")
    assert "ResourceInUseException" in err.stderr
    assert "Table already exists: notes" in err.stderr

    gone = aws("delete-table", "--table-name", "notes")["TableDescription"]
    assert gone["TableStatus"] == "DELETING"
    assert gone["TableName"] == "notes"

    err = aws.error("describe-table", "--table-name", "notes")
    # (The CLI adds "(reached max retries: 0)" after the operation name.)
    assert ("An error occurred (ResourceNotFoundException) when calling the "
            "DescribeTable operation") in err.stderr
    assert ": Requested resource not found: Table: notes not found" in \
        err.stderr
    assert aws("list-tables") == {"TableNames": []}


# ----------------------------------------------------------------- listing

LIST_NAMES = ["pg-a", "pg-B", "pg_c", "pg.d", "pg-0", "pg-9", "PG-z"]


def create_simple(ddb, name):
    ddb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}])


def test_list_tables_pagination(ddb):
    for name in LIST_NAMES:
        create_simple(ddb, name)
    expected = sorted(LIST_NAMES)    # DynamoDB orders names by bytes

    assert ddb.list_tables()["TableNames"] == expected

    pages, start = [], None
    while True:
        args = {"Limit": 3}
        if start:
            args["ExclusiveStartTableName"] = start
        page = ddb.list_tables(**args)
        pages.append(page["TableNames"])
        start = page.get("LastEvaluatedTableName")
        if start is None:
            break
        assert start == page["TableNames"][-1]
        assert len(pages) < 10, pages
    assert [len(p) for p in pages] == [3, 3, 1]
    assert sum(pages, []) == expected

    # ExclusiveStartTableName need not be an existing table.
    page = ddb.list_tables(ExclusiveStartTableName="pg-1")
    assert page["TableNames"] == [n for n in expected if n > "pg-1"]
    page = ddb.list_tables(ExclusiveStartTableName=expected[-1])
    assert page["TableNames"] == []
    assert "LastEvaluatedTableName" not in page

    # boto3's paginator follows LastEvaluatedTableName itself.
    pager = ddb.get_paginator("list_tables").paginate(
        PaginationConfig={"PageSize": 2})
    got = [p["TableNames"] for p in pager]
    assert [len(p) for p in got] in ([2, 2, 2, 1], [2, 2, 2, 1, 0])
    assert sum(got, []) == expected


def test_list_tables_cli_pagination(aws, ddb):
    for name in LIST_NAMES:
        create_simple(ddb, name)
    # The CLI follows LastEvaluatedTableName across pages of 3.
    out = aws("list-tables", "--page-size", "3")
    assert out["TableNames"] == sorted(LIST_NAMES)
    out = aws("list-tables", "--max-items", "4")
    assert out["TableNames"] == sorted(LIST_NAMES)[:4]
    assert "NextToken" in out


@pytest.mark.parametrize("limit,text", [
    (0, "Value '0' at 'limit' failed to satisfy constraint: Member must have "
        "value greater than or equal to 1"),
    (101, "Value '101' at 'limit' failed to satisfy constraint: Member must "
          "have value less than or equal to 100"),
])
def test_list_tables_limit_bounds(ddb_nv, limit, text):
    with pytest.raises(ClientError) as e:
        ddb_nv.list_tables(Limit=limit)
    code, msg = error_of(e)
    assert code == "ValidationException"
    assert text in msg


def test_list_tables_limit_100_is_fine(ddb):
    create_simple(ddb, "only-one")
    assert ddb.list_tables(Limit=100)["TableNames"] == ["only-one"]


# ------------------------------------------------------------------ update

def test_update_billing_mode_and_throughput(ddb):
    ddb.create_table(TableName="notes", KeySchema=NOTES_KEYS,
                     AttributeDefinitions=NOTES_ATTRS,
                     BillingMode="PROVISIONED",
                     ProvisionedThroughput={"ReadCapacityUnits": 3,
                                            "WriteCapacityUnits": 4})
    t = ddb.describe_table(TableName="notes")["Table"]
    assert t["TableStatus"] == "ACTIVE"
    assert t["ProvisionedThroughput"]["ReadCapacityUnits"] == 3
    assert t["ProvisionedThroughput"]["WriteCapacityUnits"] == 4
    assert t.get("BillingModeSummary", {}).get(
        "BillingMode", "PROVISIONED") == "PROVISIONED"
    table_id = t["TableId"]

    r = ddb.update_table(TableName="notes", BillingMode="PAY_PER_REQUEST")
    assert r["TableDescription"]["TableName"] == "notes"
    assert r["TableDescription"]["TableStatus"] in ("UPDATING", "ACTIVE")
    t = wait_active(ddb, "notes")
    assert t["TableStatus"] == "ACTIVE"
    assert t["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert t["ProvisionedThroughput"]["ReadCapacityUnits"] == 0
    assert t["ProvisionedThroughput"]["WriteCapacityUnits"] == 0
    assert t["TableId"] == table_id

    ddb.update_table(TableName="notes", BillingMode="PROVISIONED",
                     ProvisionedThroughput={"ReadCapacityUnits": 5,
                                            "WriteCapacityUnits": 7})
    t = wait_active(ddb, "notes")
    assert t["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    assert t["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    assert t["ProvisionedThroughput"]["WriteCapacityUnits"] == 7

    ddb.update_table(TableName="notes",
                     ProvisionedThroughput={"ReadCapacityUnits": 6,
                                            "WriteCapacityUnits": 8})
    t = wait_active(ddb, "notes")
    assert t["ProvisionedThroughput"]["ReadCapacityUnits"] == 6
    assert t["ProvisionedThroughput"]["WriteCapacityUnits"] == 8
    assert t["KeySchema"] == NOTES_KEYS
    assert t["TableId"] == table_id


def test_update_table_cli(aws, ddb):
    create_notes(ddb)
    out = aws("update-table", "--table-name", "notes",
              "--billing-mode", "PROVISIONED", "--provisioned-throughput",
              "ReadCapacityUnits=5,WriteCapacityUnits=7")
    assert out["TableDescription"]["TableName"] == "notes"
    t = wait_active(ddb, "notes")
    assert t["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    assert t["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    assert t["ProvisionedThroughput"]["WriteCapacityUnits"] == 7


def test_update_missing_table(ddb):
    with pytest.raises(ClientError) as e:
        ddb.update_table(TableName="notes", BillingMode="PAY_PER_REQUEST")
    code, msg = error_of(e)
    assert code == "ResourceNotFoundException"
    assert msg.startswith(NOT_FOUND_TEXTS), msg


def test_provisioned_requires_throughput(ddb):
    with pytest.raises(ClientError) as e:
        ddb.create_table(TableName="notes", KeySchema=NOTES_KEYS,
                         AttributeDefinitions=NOTES_ATTRS,
                         BillingMode="PROVISIONED")
    code, msg = error_of(e)
    assert code == "ValidationException"
    assert ("ReadCapacityUnits and WriteCapacityUnits must both be specified "
            "when BillingMode is PROVISIONED") in msg
    assert ddb.list_tables()["TableNames"] == []


def test_pay_per_request_refuses_throughput(ddb):
    with pytest.raises(ClientError) as e:
        create_notes(ddb, ProvisionedThroughput={"ReadCapacityUnits": 1,
                                                 "WriteCapacityUnits": 1})
    code, msg = error_of(e)
    assert code == "ValidationException"
    assert ("Neither ReadCapacityUnits nor WriteCapacityUnits can be "
            "specified when BillingMode is PAY_PER_REQUEST") in msg
    assert ddb.list_tables()["TableNames"] == []


# --------------------------------------------------------- counts and sizes

def test_item_count_and_size_follow_puts(ddb, notes):
    t = ddb.describe_table(TableName="notes")["Table"]
    assert t["ItemCount"] == 0 and t["TableSizeBytes"] == 0
    for i in range(5):
        ddb.put_item(TableName="notes", Item={
            "userId": {"S": "u1"}, "noteId": {"S": "n%d" % i},
            "body": {"S": "x" * 100}})
    # Overwriting an item does not add one.
    ddb.put_item(TableName="notes", Item={
        "userId": {"S": "u1"}, "noteId": {"S": "n0"}, "body": {"S": "y"}})
    t = ddb.describe_table(TableName="notes")["Table"]
    assert t["ItemCount"] == 5
    # Each item holds at least its attribute names and string bytes.
    assert t["TableSizeBytes"] >= 4 * (len("userIdu1noteIdn0body") + 100)
    size5 = t["TableSizeBytes"]

    ddb.delete_item(TableName="notes",
                    Key={"userId": {"S": "u1"}, "noteId": {"S": "n1"}})
    t = ddb.describe_table(TableName="notes")["Table"]
    assert t["ItemCount"] == 4
    assert 0 <= t["TableSizeBytes"] < size5


# -------------------------------------------------------- validation errors

def create_error(client, **kw):
    with pytest.raises(ClientError) as e:
        client.create_table(**kw)
    return error_of(e)


def notes_args(**kw):
    args = dict(TableName="notes", KeySchema=NOTES_KEYS,
                AttributeDefinitions=NOTES_ATTRS,
                BillingMode="PAY_PER_REQUEST")
    args.update(kw)
    return args


@pytest.mark.parametrize("name,constraint", [
    ("ab", "Member must have length greater than or equal to 3"),
    ("t" * 256, "Member must have length less than or equal to 255"),
    ("no spaces",
     "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"),
    ("bad/slash",
     "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"),
], ids=["short", "long", "space", "slash"])
def test_create_bad_table_name(ddb_nv, name, constraint):
    code, msg = create_error(ddb_nv, **notes_args(TableName=name))
    assert code == "ValidationException"
    assert msg.startswith("1 validation error detected: "), msg
    assert ("Value '%s' at 'tableName' failed to satisfy constraint: %s"
            % (name, constraint)) in msg
    assert ddb_nv.list_tables()["TableNames"] == []


def test_table_name_limits_are_inclusive(ddb):
    for name in ("abc", "t" * 255, "A-Za_z.0-9"):
        create_simple(ddb, name)
    assert sorted(ddb.list_tables()["TableNames"]) == sorted(
        ["abc", "t" * 255, "A-Za_z.0-9"])


def test_table_name_with_nul_is_not_truncated(ddb, raw):
    """"notes\u0000..." is an invalid name, not "notes"."""
    create_notes(ddb)
    for op in ("DescribeTable", "DeleteTable", "UpdateTable"):
        for name in ("notes\u0000", "notes\u0000x"):
            body = {"TableName": name}
            if op == "UpdateTable":
                body["BillingMode"] = "PAY_PER_REQUEST"
            r = raw.request(op, body)
            assert r.status == 400, (op, name, r)
            assert r.error_type() == "ValidationException", (op, name, r)
    r = raw.request("CreateTable", dict(notes_args(TableName="notes\u0000")))
    assert r.status == 400, r
    assert ddb.list_tables()["TableNames"] == ["notes"]
    assert ddb.describe_table(TableName="notes")["Table"]["TableStatus"] == \
        "ACTIVE"


def test_describe_bad_table_name(ddb_nv):
    with pytest.raises(ClientError) as e:
        ddb_nv.describe_table(TableName="ab")
    code, msg = error_of(e)
    assert code == "ValidationException"
    assert "3" in msg and "tableName".lower() in msg.lower()


@pytest.mark.parametrize("bad_type", ["X", "BOOL", "SS", "s"])
def test_create_key_type_not_s_n_b(ddb_nv, bad_type):
    code, msg = create_error(ddb_nv, **notes_args(AttributeDefinitions=[
        {"AttributeName": "userId", "AttributeType": "S"},
        {"AttributeName": "noteId", "AttributeType": bad_type}]))
    assert code == "ValidationException"
    assert ("Value '%s' at 'attributeDefinitions.2.member.attributeType' "
            "failed to satisfy constraint: Member must satisfy enum value "
            "set: [B, N, S]" % bad_type) in msg
    assert ddb_nv.list_tables()["TableNames"] == []


def test_create_key_schema_bad_key_type(ddb_nv):
    code, msg = create_error(ddb_nv, **notes_args(KeySchema=[
        {"AttributeName": "userId", "KeyType": "PRIMARY"},
        {"AttributeName": "noteId", "KeyType": "RANGE"}]))
    assert code == "ValidationException"
    assert ("Value 'PRIMARY' at 'keySchema.1.member.keyType' failed to "
            "satisfy constraint: Member must satisfy enum value set: "
            "[HASH, RANGE]") in msg


def test_create_extra_attribute_definition(ddb):
    code, msg = create_error(ddb, **notes_args(
        AttributeDefinitions=NOTES_ATTRS + [
            {"AttributeName": "title", "AttributeType": "S"}]))
    assert code == "ValidationException"
    assert ("One or more parameter values were invalid: Number of attributes "
            "in KeySchema does not exactly match number of attributes defined "
            "in AttributeDefinitions") in msg
    assert ddb.list_tables()["TableNames"] == []


def test_create_missing_attribute_definition(ddb):
    code, msg = create_error(ddb, **notes_args(
        AttributeDefinitions=NOTES_ATTRS[:1]))
    assert code == "ValidationException"
    # DynamoDB: "Some index key attributes are not defined in
    # AttributeDefinitions" (older: "...have no definition").
    assert "definition" in msg.lower(), msg
    assert ddb.list_tables()["TableNames"] == []


def test_create_definition_for_other_attribute(ddb):
    code, msg = create_error(ddb, **notes_args(AttributeDefinitions=[
        {"AttributeName": "userId", "AttributeType": "S"},
        {"AttributeName": "title", "AttributeType": "S"}]))
    assert code == "ValidationException"
    assert ddb.list_tables()["TableNames"] == []


def test_create_missing_key_schema(ddb_nv):
    args = notes_args()
    del args["KeySchema"]
    code, msg = create_error(ddb_nv, **args)
    assert code == "ValidationException"
    assert ("Value null at 'keySchema' failed to satisfy constraint: Member "
            "must not be null") in msg
    code, msg = create_error(ddb_nv, **notes_args(KeySchema=[]))
    assert code == "ValidationException"
    assert ("Value '[]' at 'keySchema' failed to satisfy constraint: Member "
            "must have length greater than or equal to 1") in msg
    assert ddb_nv.list_tables()["TableNames"] == []


def test_create_two_hash_keys(ddb):
    code, msg = create_error(ddb, **notes_args(KeySchema=[
        {"AttributeName": "userId", "KeyType": "HASH"},
        {"AttributeName": "noteId", "KeyType": "HASH"}]))
    assert code == "ValidationException"
    assert "Invalid KeySchema" in msg
    assert ddb.list_tables()["TableNames"] == []


def test_create_range_only(ddb):
    code, msg = create_error(ddb, **notes_args(
        KeySchema=[{"AttributeName": "userId", "KeyType": "RANGE"}],
        AttributeDefinitions=NOTES_ATTRS[:1]))
    assert code == "ValidationException"
    assert "Invalid KeySchema" in msg


def test_create_three_key_elements(ddb_nv):
    code, msg = create_error(ddb_nv, **notes_args(
        KeySchema=NOTES_KEYS + [{"AttributeName": "x", "KeyType": "RANGE"}],
        AttributeDefinitions=NOTES_ATTRS + [
            {"AttributeName": "x", "AttributeType": "S"}]))
    assert code == "ValidationException"
    assert ("at 'keySchema' failed to satisfy constraint: Member must have "
            "length less than or equal to 2") in msg
    assert ddb_nv.list_tables()["TableNames"] == []


def test_key_types_n_and_b_are_accepted(ddb):
    ddb.create_table(
        TableName="typed", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "h", "KeyType": "HASH"},
                   {"AttributeName": "r", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "h", "AttributeType": "B"},
                              {"AttributeName": "r", "AttributeType": "N"}])
    t = ddb.describe_table(TableName="typed")["Table"]
    assert {a["AttributeName"]: a["AttributeType"]
            for a in t["AttributeDefinitions"]} == {"h": "B", "r": "N"}
    assert t["KeySchema"] == [{"AttributeName": "h", "KeyType": "HASH"},
                              {"AttributeName": "r", "KeyType": "RANGE"}]


def test_errors_are_json_with_type(raw):
    """ValidationException and ResourceNotFoundException on the wire."""
    r = raw.request("DescribeTable", {"TableName": "notes"})
    assert r.status == 400
    assert r.json["__type"] == harness.NS_DDB + "ResourceNotFoundException"
    assert r.json["message"] == \
        "Requested resource not found: Table: notes not found"
    r = raw.request("CreateTable", notes_args(TableName="no spaces"))
    assert r.status == 400
    assert r.json["__type"] == harness.NS_VALIDATE + "ValidationException"
    assert "at 'tableName'" in r.json["message"]
    assert json.loads(r.body) == r.json
