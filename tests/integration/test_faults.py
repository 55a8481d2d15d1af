"""Fault injection through the server: with --unsafe-test-faults, the test
target TidemarkTest_20261125.InjectFault sets rules of the file layer's
fault plan (src/base/fsio.h): the change log's writes, fdatasyncs, ... fail
with EIO or ENOSPC at chosen points.

Asserted, for PutItem, UpdateItem, DeleteItem, BatchWriteItem and
TransactWriteItems:
- a write whose change-log write or fdatasync fails is answered with
  InternalServerError (HTTP 500, DynamoDB's error shape) and is not there
  afterwards: not in a GetItem with ConsistentRead, not after a kill -9 and
  restart;
- once the fault is cleared, writes succeed again on the same server (no
  restart: the log undoes the failed batch and heals, src/wal/wal.c);
- every acknowledged write, before, between and after the faults, is there,
  also after kill -9 and a restart;
- over 60 random fault points (random operation, errno, skip and count,
  torn writes), the state equals the model of acknowledged writes; the
  summary line gives the points tried and the acknowledged writes lost (0).

Environment: TIDEMARK_FAULT_SEED repeats a run of the random test.
"""

import os
import random
import signal
import time

import pytest
from botocore.exceptions import ClientError

import harness

pytestmark = [
    pytest.mark.needs_binary,
    pytest.mark.skipif(bool(harness.EXTERNAL_ENDPOINT),
                       reason="injects faults into the tidemark binary"),
]

FAULT_TARGET = "TidemarkTest_20261125.InjectFault"
POINTS = 60
TABLE = "faults"


@pytest.fixture(scope="module")
def fsrv(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("tidemark-faults"))
    srv = harness.Server(os.path.join(root, "data"), log_dir=root,
                         extra_args=["--unsafe-test-faults"])
    try:
        srv.start()
    except harness.ServerError as e:
        pytest.fail(str(e), pytrace=False)
    yield srv
    # a clean stop after all that (under ASan: no leak on the error paths)
    alive = srv.proc.poll() is None
    rc = srv.stop(signal.SIGTERM)
    if not alive or rc != 0:
        pytest.fail("tidemark (--unsafe-test-faults) %s (exit code %s).\n"
                    "stderr:\n%s" % ("died" if not alive else
                                      "did not exit 0 on SIGTERM", rc,
                                      srv.stderr_text()[-4000:]),
                    pytrace=False)


@pytest.fixture
def ddbf(fsrv):
    """A client on a running fault server with an empty 'faults' table and
    no fault rule."""
    if fsrv.proc.poll() is not None:
        fsrv.start()
    inject(fsrv, Clear=True)
    client = harness.make_client(fsrv.url)
    if TABLE in client.list_tables()["TableNames"]:
        client.delete_table(TableName=TABLE)
    client.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk",
                               "AttributeType": "S"}])
    return client


def inject(srv, **body):
    r = harness.raw_request(srv.port, FAULT_TARGET, body)
    assert r.status == 200, r
    return r.json


def wal_rule(srv, op, errno="EIO", skip=0, count=-1, torn=False):
    """A rule on the change log's files (data/wal and its segments)."""
    return inject(srv, Op=op, Path=os.path.join(srv.data_dir, "wal"),
                  Skip=skip, Count=count, Errno=errno, Torn=torn)["FaultId"]


def restart(srv):
    """kill -9, then start on the same data dir."""
    srv.kill()
    srv.start()
    return harness.make_client(srv.url)


def get(client, key):
    item = client.get_item(TableName=TABLE, Key={"pk": {"S": key}},
                           ConsistentRead=True).get("Item")
    return None if item is None else item["v"]["S"]


def check_state(client, model, where):
    wrong = []
    for key, want in sorted(model.items()):
        got = get(client, key)
        if got != want:
            wrong.append("%s: %r, acknowledged state %r" % (key, got, want))
    assert not wrong, "%s: %d keys wrong:\n%s" % (where, len(wrong),
                                                   "\n".join(wrong[:20]))


# One write of each kind; each returns {key: value or None (deleted)} to
# apply to the model when acknowledged.

def w_put(c, keys, val):
    c.put_item(TableName=TABLE, Item={"pk": {"S": keys[0]}, "v": {"S": val}})
    return {keys[0]: val}


def w_update(c, keys, val):
    c.update_item(TableName=TABLE, Key={"pk": {"S": keys[0]}},
                  UpdateExpression="SET v = :v",
                  ExpressionAttributeValues={":v": {"S": val}})
    return {keys[0]: val}


def w_delete(c, keys, val):
    c.delete_item(TableName=TABLE, Key={"pk": {"S": keys[0]}})
    return {keys[0]: None}


def w_batch(c, keys, val):
    c.batch_write_item(RequestItems={TABLE: [
        {"PutRequest": {"Item": {"pk": {"S": keys[0]},
                                 "v": {"S": val + "a"}}}},
        {"PutRequest": {"Item": {"pk": {"S": keys[1]},
                                 "v": {"S": val + "b"}}}}]})
    return {keys[0]: val + "a", keys[1]: val + "b"}


def w_transact(c, keys, val):
    c.transact_write_items(TransactItems=[
        {"Put": {"TableName": TABLE,
                 "Item": {"pk": {"S": keys[0]}, "v": {"S": val + "a"}}}},
        {"Update": {"TableName": TABLE, "Key": {"pk": {"S": keys[1]}},
                    "UpdateExpression": "SET v = :v",
                    "ExpressionAttributeValues": {":v": {"S": val + "b"}}}}])
    return {keys[0]: val + "a", keys[1]: val + "b"}


WRITES = [w_put, w_update, w_delete, w_batch, w_transact]


def attempt(client, model, fn, keys, val):
    """Run one write; apply it to the model if acknowledged.  Returns True
    (acknowledged) or False (answered InternalServerError, HTTP 500)."""
    try:
        effect = fn(client, keys, val)
    except ClientError as e:
        err = e.response["Error"]
        status = e.response["ResponseMetadata"]["HTTPStatusCode"]
        assert (err.get("Code"), status) == ("InternalServerError", 500), \
            "%s: %r" % (fn.__name__, e.response)
        assert err.get("Message"), e.response
        return False
    for k, v in effect.items():
        if v is None:
            model.pop(k, None)
        else:
            model[k] = v
    return True


def test_target_needs_the_flag(server):
    r = harness.raw_request(server.port, FAULT_TARGET,
                            {"Op": "sync", "Count": -1})
    assert r.status == 400
    assert r.error_type() == "UnknownOperationException"


def test_bad_rules_refused(fsrv, ddbf):
    for body in ({"Op": "scribble"}, {"Op": "write", "Errno": "EWHAT"},
                 {"Op": "write", "Skip": -1}, {"Op": "write", "Count": -2},
                 {}):
        r = harness.raw_request(fsrv.port, FAULT_TARGET, body)
        assert r.status == 400 and r.error_type() == "ValidationException", \
            (body, r)


@pytest.mark.parametrize("op,errno", [("sync", "EIO"), ("write", "ENOSPC")])
def test_every_write_fails_then_heals(fsrv, ddbf, op, errno):
    c = ddbf
    model = {}
    for k in ("keep", "upd", "del"):
        assert attempt(c, model, w_put, [k], "before-" + k)

    rule = wal_rule(fsrv, op, errno, torn=(op == "write"))
    # each kind of write is refused with a 500, and changes nothing
    for fn, keys in ((w_put, ["new"]), (w_update, ["upd"]),
                     (w_delete, ["del"]), (w_batch, ["b1", "b2"]),
                     (w_transact, ["t1", "upd"])):
        assert not attempt(c, model, fn, keys, "failed"), fn.__name__
    for k in ("new", "b1", "b2", "t1"):
        model.setdefault(k, None)
    stats = inject(fsrv, FaultId=rule)
    assert stats["Failed"] >= 5, stats
    check_state(c, {k: v for k, v in model.items()}, "during the fault")
    # reads still work while writes fail
    assert get(c, "keep") == "before-keep"

    # cleared: the same server writes again, no restart
    assert inject(fsrv, Clear=True)["Cleared"] == 1
    for fn, keys in ((w_put, ["new"]), (w_update, ["upd"]),
                     (w_delete, ["del"]), (w_batch, ["b1", "b2"]),
                     (w_transact, ["t1", "after"])):
        assert attempt(c, model, fn, keys, "after"), fn.__name__
    model["del"] = None
    check_state(c, model, "after clearing")

    c = restart(fsrv)
    check_state(c, model, "after kill -9 and restart")


def test_table_operations_fail_cleanly(fsrv, ddbf):
    """Catalog changes are logged like items: refused as a whole, and the
    catalog the server holds in memory is the logged one."""
    c = ddbf
    wal_rule(fsrv, "sync", "EIO")
    with pytest.raises(ClientError) as ei:
        c.create_table(
            TableName="faults2", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk",
                                   "AttributeType": "S"}])
    assert harness.error_of(ei)[0] == "InternalServerError"
    with pytest.raises(ClientError) as ei:
        c.delete_table(TableName=TABLE)
    assert harness.error_of(ei)[0] == "InternalServerError"
    assert c.list_tables()["TableNames"] == [TABLE]
    inject(fsrv, Clear=True)
    c.put_item(TableName=TABLE, Item={"pk": {"S": "x"}, "v": {"S": "1"}})
    c = restart(fsrv)
    assert c.list_tables()["TableNames"] == [TABLE]
    assert get(c, "x") == "1"


def test_fault_while_stopping_then_restart(fsrv, ddbf):
    """A restart while the log cannot even undo the failed write (every
    write, sync and truncate of the log fails): the refused write may only
    come back as what an internal error allows, and every acknowledged
    write is there."""
    c = ddbf
    model = {}
    assert attempt(c, model, w_put, ["a"], "acked")
    wal_rule(fsrv, "write|sync|truncate", "EIO", count=-1)
    assert not attempt(c, model, w_put, ["a"], "refused")
    assert not attempt(c, model, w_put, ["b"], "refused")
    # writes keep failing, the server keeps answering
    assert not attempt(c, model, w_put, ["b"], "refused2")
    c = restart(fsrv)  # the rules die with the process
    assert get(c, "a") in ("acked", "refused")
    assert get(c, "b") in (None, "refused")
    assert attempt(c, model, w_put, ["c"], "after")
    assert get(c, "c") == "after"


def test_random_fault_points(fsrv, ddbf, record_property):
    seed = int(os.environ.get("TIDEMARK_FAULT_SEED") or
               time.time() * 1000) % 1000000007
    rng = random.Random(seed)
    c = ddbf
    model = {}
    keys = ["k%02d" % i for i in range(16)]
    masks = ["write", "sync", "write|sync", "all"]
    per_round = 8
    t0 = time.monotonic()

    def plan():
        return [(rng.choice(WRITES), rng.sample(keys, 2))
                for _ in range(per_round)]

    def round_of_writes(tag, writes):
        acked = refused = 0
        for n, (fn, ks) in enumerate(writes):
            if attempt(c, model, fn, ks, "%s-%d" % (tag, n)):
                acked += 1
            else:
                refused += 1
        return acked, refused

    # Count each mask's calls per write: run once with a rule that only
    # counts (every kind but a delete of an absent key logs a batch).
    per_write = {}
    for m in masks:
        rule = wal_rule(fsrv, m, count=0)
        acked, refused = round_of_writes("count-" + m,
                                         [(w_put, [k]) for k in keys[:4]])
        assert (acked, refused) == (4, 0)
        hits = inject(fsrv, FaultId=rule)["Hits"]
        inject(fsrv, Clear=True)
        assert hits >= 4 and hits % 4 == 0, (m, hits)
        per_write[m] = hits // 4

    total_acked = total_refused = fired = restarts = 0
    for p in range(POINTS):
        m = rng.choice(masks)
        writes = plan()
        logged = sum(1 for fn, _ in writes if fn is not w_delete)
        if logged == 0:
            writes[0] = (w_put, writes[0][1])
            logged = 1
        # then fail at a random one of the calls this round will make
        rule = wal_rule(fsrv, m, rng.choice(["EIO", "ENOSPC"]),
                        skip=rng.randrange(logged * per_write[m]),
                        count=rng.choice([1, 2, -1]),
                        torn=rng.random() < 0.5)
        acked, refused = round_of_writes("p%d" % p, writes)
        fired += inject(fsrv, FaultId=rule)["Failed"]
        inject(fsrv, Clear=True)
        assert refused > 0, \
            "point %d (seed %d): the fault never failed a write" % (p, seed)
        # once cleared, everything works again
        a2, r2 = round_of_writes("p%d-after" % p, plan())
        assert r2 == 0, "point %d (seed %d): %d writes refused after " \
            "clearing" % (p, seed, r2)
        total_acked += acked + a2
        total_refused += refused
        every_key = {k: model.get(k) for k in keys}
        check_state(c, every_key, "point %d (seed %d)" % (p, seed))
        if p % 10 == 9:
            c = restart(fsrv)
            restarts += 1
            check_state(c, every_key, "after kill -9, point %d (seed %d)"
                        % (p, seed))
    lost = 0  # check_state above failed the test otherwise
    line = ("faults: %d random fault points on the change log (write, "
            "fdatasync; EIO/ENOSPC, torn writes), %d injected failures, "
            "%d writes refused with InternalServerError and absent, %d "
            "acknowledged writes checked (%d kill -9 restarts), %d lost, "
            "seed %d, %.1f s" % (POINTS, fired, total_refused, total_acked,
                                 restarts, lost, seed,
                                 time.monotonic() - t0))
    record_property("fault_summary", line)
    print(line)
    assert total_refused >= POINTS // 2
