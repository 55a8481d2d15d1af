"""Time to live: UpdateTimeToLive and DescribeTimeToLive (lifecycle, every
error, boto3 and the AWS CLI), and the sweeper that deletes expired items
in the background (expired items go within a few seconds; unexpired,
non-numeric and too-old ones stay; ItemCount follows; writers keep writing
meanwhile; the setting survives a restart and dies with its table).

The server's sweeper runs every second, so these tests put items whose TTL
attribute is already in the past and wait for them to go."""

import os
import threading
import time

import pytest
from botocore.exceptions import ClientError

import harness
from harness import arn, create_notes, error_of

SWEEP_WAIT = 8.0       # seconds: a round every second, plus slack


def enable(ddb, table="notes", attr="exp"):
    return ddb.update_time_to_live(
        TableName=table,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": attr})


def disable(ddb, table="notes", attr="exp"):
    return ddb.update_time_to_live(
        TableName=table,
        TimeToLiveSpecification={"Enabled": False, "AttributeName": attr})


def describe(ddb, table="notes"):
    return ddb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]


def key(user, note="n"):
    return {"userId": {"S": user}, "noteId": {"S": note}}


def item(user, note="n", **attrs):
    it = key(user, note)
    it.update(attrs)
    return it


def all_users(ddb, table="notes"):
    users = set()
    for page in ddb.get_paginator("scan").paginate(TableName=table):
        users.update(i["userId"]["S"] for i in page["Items"])
    return users


def wait_for(pred, timeout=SWEEP_WAIT, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError("%s not reached within %.0f s" % (what, timeout))


def expect_error(excinfo, code, message):
    got_code, got_msg = error_of(excinfo)
    assert (got_code, got_msg) == (code, message)


# ---------------------------------------------------------------- lifecycle

def test_new_table_is_disabled(ddb, notes):
    assert describe(ddb) == {"TimeToLiveStatus": "DISABLED"}


def test_enable_describe_disable(ddb, notes):
    r = enable(ddb)
    assert r["TimeToLiveSpecification"] == {"Enabled": True,
                                            "AttributeName": "exp"}
    # DynamoDB shows ENABLING for a while; Tidemark applies it at once
    assert describe(ddb) == {"TimeToLiveStatus": "ENABLED",
                             "AttributeName": "exp"}
    r = disable(ddb)
    assert r["TimeToLiveSpecification"] == {"Enabled": False,
                                            "AttributeName": "exp"}
    # a disabled table forgets its attribute
    assert describe(ddb) == {"TimeToLiveStatus": "DISABLED"}
    # and may then be enabled on another attribute
    enable(ddb, attr="other")
    assert describe(ddb) == {"TimeToLiveStatus": "ENABLED",
                             "AttributeName": "other"}


def test_key_attribute_is_accepted(ddb, notes):
    enable(ddb, attr="userId")
    assert describe(ddb)["AttributeName"] == "userId"


def test_table_arn_as_table_name(ddb, notes):
    enable(ddb, table=arn("notes"))
    assert describe(ddb, table=arn("notes"))["TimeToLiveStatus"] == "ENABLED"


def test_attribute_name_of_255_characters(ddb, notes):
    name = "a" * 254 + "\u00e9"
    enable(ddb, attr=name)
    assert describe(ddb)["AttributeName"] == name


def test_does_not_change_the_table(ddb, notes):
    before = ddb.describe_table(TableName="notes")["Table"]
    enable(ddb)
    after = ddb.describe_table(TableName="notes")["Table"]
    assert after["TableStatus"] == "ACTIVE"
    assert after["TableId"] == before["TableId"]


def test_cli(aws):
    aws("create-table", "--table-name", "notes",
        "--attribute-definitions", "AttributeName=userId,AttributeType=S",
        "--key-schema", "AttributeName=userId,KeyType=HASH",
        "--billing-mode", "PAY_PER_REQUEST")
    out = aws("update-time-to-live", "--table-name", "notes",
              "--time-to-live-specification", "Enabled=true,AttributeName=exp")
    assert out == {"TimeToLiveSpecification": {"Enabled": True,
                                               "AttributeName": "exp"}}
    out = aws("describe-time-to-live", "--table-name", "notes")
    assert out == {"TimeToLiveDescription": {"TimeToLiveStatus": "ENABLED",
                                             "AttributeName": "exp"}}
    err = aws.error("update-time-to-live", "--table-name", "notes",
                    "--time-to-live-specification",
                    "Enabled=true,AttributeName=exp")
    assert "ValidationException" in err.stderr
    assert "TimeToLive is already enabled" in err.stderr


# ------------------------------------------------------------------ errors

def test_already_enabled(ddb, notes):
    enable(ddb)
    with pytest.raises(ClientError) as e:
        enable(ddb)
    expect_error(e, "ValidationException", "TimeToLive is already enabled")


def test_already_disabled(ddb, notes):
    with pytest.raises(ClientError) as e:
        disable(ddb)
    expect_error(e, "ValidationException", "TimeToLive is already disabled")
    enable(ddb)
    disable(ddb)
    with pytest.raises(ClientError) as e:
        disable(ddb)
    expect_error(e, "ValidationException", "TimeToLive is already disabled")


@pytest.mark.parametrize("enabled", [True, False], ids=["enable", "disable"])
def test_different_attribute_while_enabled(ddb, notes, enabled):
    enable(ddb, attr="exp")
    with pytest.raises(ClientError) as e:
        ddb.update_time_to_live(
            TableName="notes",
            TimeToLiveSpecification={"Enabled": enabled,
                                     "AttributeName": "other"})
    expect_error(e, "ValidationException",
                 "TimeToLive is active on a different AttributeName: "
                 "current AttributeName is exp")
    assert describe(ddb) == {"TimeToLiveStatus": "ENABLED",
                             "AttributeName": "exp"}


def test_missing_table(ddb):
    with pytest.raises(ClientError) as e:
        enable(ddb, table="nope")
    expect_error(e, "ResourceNotFoundException",
                 "Requested resource not found: Table: nope not found")
    with pytest.raises(ClientError) as e:
        describe(ddb, table="nope")
    expect_error(e, "ResourceNotFoundException",
                 "Requested resource not found: Table: nope not found")


def test_attribute_name_too_long(ddb_nv, notes):
    name = "a" * 256
    with pytest.raises(ClientError) as e:
        enable(ddb_nv, attr=name)
    expect_error(e, "ValidationException",
                 "1 validation error detected: Value '%s' at "
                 "'timeToLiveSpecification.attributeName' failed to satisfy "
                 "constraint: Member must have length less than or equal to "
                 "255" % name)


def test_attribute_name_empty(ddb_nv, notes):
    with pytest.raises(ClientError) as e:
        enable(ddb_nv, attr="")
    expect_error(e, "ValidationException",
                 "1 validation error detected: Value '' at "
                 "'timeToLiveSpecification.attributeName' failed to satisfy "
                 "constraint: Member must have length greater than or equal "
                 "to 1")


def test_null_members(raw, server):
    create_notes(harness.make_client(server.url))
    r = raw.request("UpdateTimeToLive", {"TableName": "notes"})
    assert r.status == 400 and r.error_type() == "ValidationException"
    assert r.error_message() == (
        "1 validation error detected: Value null at "
        "'timeToLiveSpecification' failed to satisfy constraint: Member must "
        "not be null")
    r = raw.request("UpdateTimeToLive", {"TableName": "notes",
                                         "TimeToLiveSpecification": {}})
    assert r.error_type() == "ValidationException"
    msg = r.error_message()
    assert msg.startswith("2 validation errors detected: ")
    assert ("Value null at 'timeToLiveSpecification.enabled' failed to "
            "satisfy constraint: Member must not be null") in msg
    assert ("Value null at 'timeToLiveSpecification.attributeName' failed to "
            "satisfy constraint: Member must not be null") in msg
    r = raw.request("UpdateTimeToLive", {
        "TableName": "notes",
        "TimeToLiveSpecification": {"Enabled": "yes",
                                    "AttributeName": "exp"}})
    assert r.error_type() == "SerializationException"
    r = raw.request("DescribeTimeToLive", {})
    assert r.error_type() == "ValidationException"
    assert r.error_message() == (
        "1 validation error detected: Value null at 'tableName' failed to "
        "satisfy constraint: Member must not be null")


def test_bad_table_name(ddb_nv):
    with pytest.raises(ClientError) as e:
        enable(ddb_nv, table="a;")
    code, msg = error_of(e)
    assert code == "ValidationException"
    assert msg.startswith("2 validation errors detected: ")
    assert "Member must have length greater than or equal to 3" in msg


# ----------------------------------------------------------------- sweeper

def test_expired_items_disappear(ddb, notes):
    enable(ddb)
    now = int(time.time())
    gone = {
        "past": item("past", exp={"N": str(now - 10)}),
        "fraction": item("fraction", exp={"N": "%d.25" % (now - 10)}),
        "now": item("now", exp={"N": str(now)}),
        "year": item("year", exp={"N": str(now - 365 * 86400)}),
    }
    stay = {
        "future": item("future", exp={"N": str(now + 3600)}),
        "string": item("string", exp={"S": str(now - 10)}),
        "set": item("set", exp={"NS": [str(now - 10)]}),
        "absent": item("absent", other={"N": str(now - 10)}),
        "ancient": item("ancient", exp={"N": str(now - 6 * 366 * 86400)}),
        "zero": item("zero", exp={"N": "0"}),
        "millis": item("millis", exp={"N": str(now * 1000 + 3600_000)}),
    }
    for it in list(gone.values()) + list(stay.values()):
        ddb.put_item(TableName="notes", Item=it)
    # the sweeper (every second) may already have taken some expired ones
    # on a slow machine
    count = ddb.describe_table(TableName="notes")["Table"]["ItemCount"]
    assert len(stay) <= count <= 11, count
    wait_for(lambda: all_users(ddb) == set(stay), what="expired items gone")
    for name, it in stay.items():
        got = ddb.get_item(TableName="notes", Key=key(name),
                           ConsistentRead=True).get("Item")
        assert got == it, name
    desc = ddb.describe_table(TableName="notes")["Table"]
    assert desc["ItemCount"] == len(stay)
    # the items left are not deleted later either
    time.sleep(2.5)
    assert all_users(ddb) == set(stay)


def test_only_tables_with_ttl_enabled(ddb):
    create_notes(ddb, name="with")
    create_notes(ddb, name="without")
    enable(ddb, table="with")
    past = {"N": str(int(time.time()) - 100)}
    for t in ("with", "without"):
        ddb.put_item(TableName=t, Item=item("u", exp=past))
    wait_for(lambda: not all_users(ddb, "with"), what="expired item gone")
    time.sleep(1.5)
    assert all_users(ddb, "without") == {"u"}


def test_disabled_ttl_deletes_nothing(ddb, notes):
    enable(ddb)
    disable(ddb)
    ddb.put_item(TableName="notes",
                 Item=item("u", exp={"N": str(int(time.time()) - 100)}))
    time.sleep(2.5)
    assert all_users(ddb) == {"u"}


def test_other_attribute_is_not_the_ttl(ddb, notes):
    enable(ddb, attr="expires")
    now = int(time.time())
    ddb.put_item(TableName="notes", Item=item("a", exp={"N": str(now - 50)}))
    ddb.put_item(TableName="notes",
                 Item=item("b", expires={"N": str(now - 50)}))
    wait_for(lambda: all_users(ddb) == {"a"}, what="only b deleted")


def test_item_refreshed_before_expiry_stays(ddb, notes):
    enable(ddb)
    now = int(time.time())
    ddb.put_item(TableName="notes", Item=item("a", exp={"N": str(now + 2)}))
    ddb.update_item(TableName="notes", Key=key("a"),
                    UpdateExpression="SET exp = :e",
                    ExpressionAttributeValues={":e": {"N": str(now + 3600)}})
    time.sleep(4.0)
    assert all_users(ddb) == {"a"}


def test_many_expired_items(ddb, notes):
    """More than one delete batch, with a range key."""
    enable(ddb)
    past = {"N": str(int(time.time()) - 60)}
    future = {"N": str(int(time.time()) + 3600)}
    for start in range(0, 450, 25):
        ddb.batch_write_item(RequestItems={"notes": [
            {"PutRequest": {"Item": item("u%d" % (i % 7), "n%04d" % i,
                                         exp=past if i % 3 else future)}}
            for i in range(start, start + 25)]})
    wait_for(lambda: ddb.describe_table(TableName="notes")["Table"][
        "ItemCount"] == 150, timeout=15, what="300 expired items gone")
    left = []
    for page in ddb.get_paginator("scan").paginate(TableName="notes"):
        left.extend(int(i["noteId"]["S"][1:]) for i in page["Items"])
    assert sorted(left) == list(range(0, 450, 3))


def test_more_than_one_round_of_work(ddb, notes):
    """A round deletes at most 1000 items; the next ones resume where it
    stopped until every expired item is gone."""
    enable(ddb)
    past = {"N": str(int(time.time()) - 60)}
    future = {"N": str(int(time.time()) + 3600)}
    for start in range(0, 2600, 25):
        ddb.batch_write_item(RequestItems={"notes": [
            {"PutRequest": {"Item": item("u%d" % (i % 3), "n%05d" % i,
                                         exp=future if i % 100 == 0
                                         else past)}}
            for i in range(start, start + 25)]})
    wait_for(lambda: ddb.describe_table(TableName="notes")["Table"][
        "ItemCount"] == 26, timeout=20, what="2574 expired items gone")
    left = []
    for page in ddb.get_paginator("scan").paginate(TableName="notes"):
        left.extend(int(i["noteId"]["S"][1:]) for i in page["Items"])
    assert sorted(left) == list(range(0, 2600, 100))


def test_sweeper_while_writers_write(ddb, notes, server):
    """Writers keep putting expired and unexpired items while the sweeper
    deletes; in the end every expired item is gone and every unexpired one
    is there, exactly."""
    enable(ddb)
    stop = threading.Event()
    written = [[] for _ in range(4)]
    errors = []

    def writer(w):
        c = harness.make_client(server.url)
        i = 0
        try:
            while not stop.is_set():
                now = int(time.time())
                expired = i % 2 == 0
                exp = now - 30 if expired else now + 3600
                c.put_item(TableName="notes",
                           Item=item("w%d" % w, "%05d" % i,
                                     exp={"N": str(exp)}, pad={"S": "x" * 50}))
                written[w].append(("%05d" % i, expired))
                i += 1
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    time.sleep(3.5)
    stop.set()
    for t in threads:
        t.join()
    assert not errors, errors
    want = {("w%d" % w, n) for w in range(4) for n, e in written[w] if not e}
    n_expired = sum(1 for w in range(4) for _, e in written[w] if e)
    assert n_expired > 20

    def rows():
        got = set()
        for page in ddb.get_paginator("scan").paginate(TableName="notes"):
            got.update((i["userId"]["S"], i["noteId"]["S"])
                       for i in page["Items"])
        return got

    wait_for(lambda: rows() == want, timeout=15,
             what="exactly the unexpired items")
    assert ddb.describe_table(TableName="notes")["Table"]["ItemCount"] == \
        len(want)


def test_deleted_table_forgets_ttl(ddb, notes):
    enable(ddb)
    ddb.delete_table(TableName="notes")
    with pytest.raises(ClientError) as e:
        describe(ddb)
    assert error_of(e)[0] == "ResourceNotFoundException"
    create_notes(ddb)
    assert describe(ddb) == {"TimeToLiveStatus": "DISABLED"}
    ddb.put_item(TableName="notes",
                 Item=item("u", exp={"N": str(int(time.time()) - 100)}))
    time.sleep(2.5)
    assert all_users(ddb) == {"u"}


# ---------------------------------------------------------------- restart

@pytest.mark.needs_binary
def test_ttl_survives_restart(tmp_path):
    data = str(tmp_path / "data")
    s = harness.Server(data, log_dir=str(tmp_path))
    try:
        s.start()
        c = harness.make_client(s.url)
        create_notes(c)
        enable(c)
        create_notes(c, name="other")
        enable(c, table="other", attr="x")
        disable(c, table="other", attr="x")
        assert s.stop() == 0

        s.start()
        c = harness.make_client(s.url)
        assert describe(c) == {"TimeToLiveStatus": "ENABLED",
                               "AttributeName": "exp"}
        assert describe(c, "other") == {"TimeToLiveStatus": "DISABLED"}
        # and the sweeper works on the reopened table
        c.put_item(TableName="notes",
                   Item=item("u", exp={"N": str(int(time.time()) - 100)}))
        wait_for(lambda: not all_users(c), what="expired item gone")
        assert s.stop() == 0
    finally:
        s.kill()
