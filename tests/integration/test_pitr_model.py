"""Point-in-time recovery against a model, and a restore interrupted by
kill -9.

The model test: random puts, updates, deletes and transactions over
several simulated hours (the server's clock moved with
--unsafe-test-clock), every acknowledged write recorded with the server's
commit time; then restores at random times, including exactly the earliest
and the latest restorable times and times between two writes a
millisecond apart; every restored table must equal the model's state at
its time.  The commit time of a write is not sent back by DynamoDB, so the
test brackets each write with the server's clock (AdvanceClock 0 returns
it) and moves the clock 2 ms between writes: a write's effects belong to
every time at or after its bracket's end and to none before its start.
"""
import os
import random
import signal
import time

import pytest

import harness

pytestmark = pytest.mark.needs_binary


@pytest.fixture
def moved(tmp_path):
    srv = harness.Server(str(tmp_path / "data"), log_dir=str(tmp_path),
                         extra_args=["--unsafe-test-clock"])
    srv.start()
    yield srv
    if srv.proc.poll() is None:
        srv.stop()


now_ms = harness.now_ms


def scan_all(c, name):
    return {i["noteId"]["S"]: i for i in harness.scan_items(
        c, TableName=name, ConsistentRead=True)}


def wait_active(c, name, timeout=30):
    deadline = time.monotonic() + timeout
    while c.describe_table(TableName=name)["Table"]["TableStatus"] != "ACTIVE":
        assert time.monotonic() < deadline, "restore did not finish"
        time.sleep(0.05)


def test_restores_match_the_model(moved):
    seed = int(os.environ.get("TIDEMARK_PITR_SEED", "0")) or \
        random.randrange(1, 1 << 30)
    rnd = random.Random(seed)
    print("pitr model seed", seed)
    c = harness.make_client(moved.url)
    raw = harness.RawClient(moved.port)
    harness.create_notes(c)
    raw.call("UpdateContinuousBackups", {
        "TableName": "notes", "PointInTimeRecoverySpecification": {
            "PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 35}})
    model = {}                  # the table now
    history = []                # (t_before, t_after, snapshot after)
    t0 = now_ms(raw)
    history.append((t0, t0, dict(model)))
    keys = ["n%02d" % i for i in range(30)]
    for step in range(300):
        if rnd.random() < 0.05:
            now_ms(raw, rnd.randrange(1, 3 * 3600 * 1000))  # hours pass
        before = now_ms(raw, 2)
        op = rnd.random()
        k = rnd.choice(keys)
        key = {"userId": {"S": "u"}, "noteId": {"S": k}}
        if op < 0.45:
            v = str(rnd.randrange(10 ** 6))
            c.put_item(TableName="notes", Item=dict(key, v={"N": v}))
            model[k] = dict(key, v={"N": v})
        elif op < 0.65:
            c.update_item(TableName="notes", Key=key,
                          UpdateExpression="ADD n :one",
                          ExpressionAttributeValues={":one": {"N": "1"}})
            item = dict(model.get(k, key))
            item["n"] = {"N": str(int(item.get("n", {"N": "0"})["N"]) + 1)}
            model[k] = item
        elif op < 0.85:
            c.delete_item(TableName="notes", Key=key)
            model.pop(k, None)
        else:
            k2 = rnd.choice([x for x in keys if x != k])
            key2 = {"userId": {"S": "u"}, "noteId": {"S": k2}}
            c.transact_write_items(TransactItems=[
                {"Put": {"TableName": "notes", "Item": dict(
                    key, v={"N": "-1"})}},
                {"Delete": {"TableName": "notes", "Key": key2}}])
            model[k] = dict(key, v={"N": "-1"})
            model.pop(k2, None)
        after = now_ms(raw, 2)
        history.append((before, after, dict(model)))
    latest = now_ms(raw)
    d = raw.call("DescribeContinuousBackups", {"TableName": "notes"})[
        "ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    earliest_ms = round(d["EarliestRestorableDateTime"] * 1000)
    # restore times: earliest, latest, mid-bracket gaps, random
    points = [earliest_ms, None]
    for _ in range(10):
        i = rnd.randrange(1, len(history) - 1)
        points.append(history[i][1] + 1)        # just after write i
        points.append(history[i + 1][0] - 1 if history[i + 1][0] - 1 >
                      history[i][1] else history[i][1] + 1)
    compared = 0
    for n, at in enumerate(points):
        body = {"SourceTableName": "notes", "TargetTableName": "restored%d" % n}
        if at is None:
            body["UseLatestRestorableTime"] = True
            want = model
        else:
            body["RestoreDateTime"] = at / 1000.0
            want = harness.model_at(history, at)
        raw.call("RestoreTableToPointInTime", body)
        wait_active(c, "restored%d" % n)
        got = scan_all(c, "restored%d" % n)
        if got != want:
            missing = sorted(set(want) - set(got))
            extra = sorted(set(got) - set(want))
            changed = sorted(k for k in set(got) & set(want)
                             if got[k] != want[k])
            pytest.fail("restore %d at %s differs (seed %d): %d items, want "
                        "%d; missing %s, extra %s, changed %s %s" % (
                            n, at, seed, len(got), len(want), missing[:5],
                            extra[:5], changed[:3],
                            [(got[k], want[k]) for k in changed[:2]]))
        compared += 1
        c.delete_table(TableName="restored%d" % n)
    print("pitr model: %d restores compared over %d writes and %.1f "
          "simulated hours, seed %d" % (compared, len(history) - 1,
                                        (latest - t0) / 3.6e6, seed))
    raw.close()


def test_kill_during_restore_leaves_no_half_table(moved, tmp_path):
    c = harness.make_client(moved.url)
    harness.create_notes(c)
    for start in range(0, 40000, 25):
        c.batch_write_item(RequestItems={"notes": [{"PutRequest": {"Item": {
            "userId": {"S": "u%d" % (i % 100)}, "noteId": {"S": "%06d" % i},
            "body": {"S": "x" * 200}}}} for i in range(start, start + 25)]})
    arn = c.create_backup(TableName="notes",
                          BackupName="big")["BackupDetails"]["BackupArn"]
    harness.wait_backup(c, arn)
    c.restore_table_from_backup(TargetTableName="copy", BackupArn=arn)
    # kill while it loads (or just after: both must end the same way)
    time.sleep(0.02)
    state = c.describe_table(TableName="copy")["Table"]["TableStatus"]
    moved.stop(signal.SIGKILL)
    moved.start()
    c = harness.make_client(moved.url)
    t = c.describe_table(TableName="copy")["Table"]
    # never a half table: either still CREATING (resumed) or complete
    deadline = time.monotonic() + 60
    while t["TableStatus"] != "ACTIVE":
        assert t["TableStatus"] == "CREATING"
        assert time.monotonic() < deadline
        time.sleep(0.1)
        t = c.describe_table(TableName="copy")["Table"]
    assert t["ItemCount"] == 40000
    r = c.scan(TableName="copy", Select="COUNT")
    total = r["Count"]
    while "LastEvaluatedKey" in r:
        r = c.scan(TableName="copy", Select="COUNT",
                   ExclusiveStartKey=r["LastEvaluatedKey"])
        total += r["Count"]
    assert total == 40000
    print("kill during restore: table was %s when killed; resumed and "
          "complete" % state)
