"""TransactWriteItems and TransactGetItems.

All-or-nothing writes across two tables (Put, Update, Delete,
ConditionCheck), cancellation with CancellationReasons in request order
(with the old item under ReturnValuesOnConditionCheckFailure=ALL_OLD), the
request-shape rules (one operation per item, at most 100 actions),
ClientRequestToken idempotency, TransactGetItems order/missing
items/projections, and a concurrency check: transfer transactions between
accounts while readers take TransactGetItems snapshots; the total never
changes.
"""
import random
import threading
import time

import pytest
from botocore.exceptions import ClientError

import harness
from harness import error_of

CANCELED = "TransactionCanceledException"
CCF_MSG = "The conditional request failed"


def N(x):
    return {"N": str(x)}


def S(x):
    return {"S": x}


def note_key(u="u1", n="n1"):
    return {"userId": S(u), "noteId": S(n)}


def acct(i):
    return {"id": S("acct%02d" % i)}


def create_accounts(ddb, name="accounts"):
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id",
                                            "AttributeType": "S"}])


def get(ddb, table, k):
    return ddb.get_item(TableName=table, Key=k, ConsistentRead=True).get(
        "Item")


def snapshot(ddb):
    """Every item of both tables, for 'nothing changed' checks."""
    out = {}
    for t in ("notes", "accounts"):
        items = ddb.scan(TableName=t, ConsistentRead=True)["Items"]
        out[t] = sorted(items, key=repr)
    return out


def canceled(ddb, items, **kw):
    with pytest.raises(ClientError) as e:
        ddb.transact_write_items(TransactItems=items, **kw)
    code, msg = error_of(e)
    assert code == CANCELED, (code, msg)
    return msg, e.value.response.get("CancellationReasons")


@pytest.fixture
def bank(ddb, notes):
    create_accounts(ddb)
    for i in range(3):
        ddb.put_item(TableName="accounts",
                     Item={**acct(i), "balance": N(100), "owner": S("o%d" % i)})
    ddb.put_item(TableName="notes", Item={**note_key(), "title": S("t"),
                                          "version": N(1)})
    return ddb


# ------------------------------------------------------------ all or nothing

def test_transaction_across_two_tables(bank):
    ddb = bank
    out = ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": "notes",
                 "Item": {**note_key(n="n2"), "title": S("new")},
                 "ConditionExpression": "attribute_not_exists(noteId)"}},
        {"Update": {"TableName": "accounts", "Key": acct(0),
                    "UpdateExpression": "SET balance = balance - :x",
                    "ConditionExpression": "balance >= :x",
                    "ExpressionAttributeValues": {":x": N(30)}}},
        {"Update": {"TableName": "accounts", "Key": acct(1),
                    "UpdateExpression": "SET balance = balance + :x",
                    "ExpressionAttributeValues": {":x": N(30)}}},
        {"Delete": {"TableName": "notes", "Key": note_key(),
                    "ConditionExpression": "version = :v",
                    "ExpressionAttributeValues": {":v": N(1)}}},
        {"ConditionCheck": {"TableName": "accounts", "Key": acct(2),
                            "ConditionExpression": "#o = :o",
                            "ExpressionAttributeNames": {"#o": "owner"},
                            "ExpressionAttributeValues": {":o": S("o2")}}},
    ], ReturnConsumedCapacity="TOTAL")
    assert {c["TableName"] for c in out["ConsumedCapacity"]} == {"notes",
                                                                 "accounts"}
    assert get(ddb, "notes", note_key(n="n2")) == {**note_key(n="n2"),
                                                   "title": S("new")}
    assert get(ddb, "notes", note_key()) is None
    assert get(ddb, "accounts", acct(0))["balance"] == N(70)
    assert get(ddb, "accounts", acct(1))["balance"] == N(130)
    assert get(ddb, "accounts", acct(2)) == {**acct(2), "balance": N(100),
                                             "owner": S("o2")}


def test_update_creates_and_put_replaces_in_a_transaction(bank):
    ddb = bank
    ddb.transact_write_items(TransactItems=[
        {"Update": {"TableName": "accounts", "Key": acct(9),
                    "UpdateExpression": "SET balance = :z, opened = :t",
                    "ExpressionAttributeValues": {":z": N(0),
                                                  ":t": S("today")}}},
        {"Put": {"TableName": "notes", "Item": {**note_key(),
                                                "title": S("replaced")}}},
    ])
    assert get(ddb, "accounts", acct(9)) == {**acct(9), "balance": N(0),
                                             "opened": S("today")}
    assert get(ddb, "notes", note_key()) == {**note_key(),
                                             "title": S("replaced")}


def test_one_failing_condition_cancels_everything(bank):
    ddb = bank
    before = snapshot(ddb)
    msg, reasons = canceled(ddb, [
        {"Update": {"TableName": "accounts", "Key": acct(0),
                    "UpdateExpression": "SET balance = balance - :x",
                    "ConditionExpression": "balance >= :x",
                    "ExpressionAttributeValues": {":x": N(10)}}},
        {"ConditionCheck": {"TableName": "accounts", "Key": acct(1),
                            "ConditionExpression": "balance > :big",
                            "ExpressionAttributeValues": {":big": N(1000)}}},
        {"Put": {"TableName": "notes", "Item": {**note_key(n="n9")}}},
    ])
    assert msg == ("Transaction cancelled, please refer cancellation reasons "
                   "for specific reasons [None, ConditionalCheckFailed, None]")
    assert reasons == [{"Code": "None"},
                       {"Code": "ConditionalCheckFailed", "Message": CCF_MSG},
                       {"Code": "None"}]
    assert snapshot(ddb) == before


def test_several_failures_and_return_values_on_failure(bank):
    ddb = bank
    before = snapshot(ddb)
    old0 = get(ddb, "accounts", acct(0))
    old_note = get(ddb, "notes", note_key())
    msg, reasons = canceled(ddb, [
        {"Put": {"TableName": "notes", "Item": {**note_key(), "x": N(1)},
                 "ConditionExpression": "attribute_not_exists(noteId)",
                 "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
        {"Delete": {"TableName": "accounts", "Key": acct(1)}},
        {"Update": {"TableName": "accounts", "Key": acct(0),
                    "UpdateExpression": "SET balance = balance - :x",
                    "ConditionExpression": "balance >= :x",
                    "ExpressionAttributeValues": {":x": N(500)},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
        {"ConditionCheck": {"TableName": "accounts", "Key": acct(7),
                            "ConditionExpression": "attribute_exists(id)",
                            "ReturnValuesOnConditionCheckFailure":
                                "ALL_OLD"}},
        {"ConditionCheck": {"TableName": "accounts", "Key": acct(2),
                            "ConditionExpression": "balance = :b",
                            "ExpressionAttributeValues": {":b": N(1)},
                            "ReturnValuesOnConditionCheckFailure": "NONE"}},
    ])
    assert msg.endswith("[ConditionalCheckFailed, None, "
                        "ConditionalCheckFailed, ConditionalCheckFailed, "
                        "ConditionalCheckFailed]")
    assert reasons == [
        {"Code": "ConditionalCheckFailed", "Message": CCF_MSG,
         "Item": old_note},
        {"Code": "None"},
        {"Code": "ConditionalCheckFailed", "Message": CCF_MSG, "Item": old0},
        # no item to return
        {"Code": "ConditionalCheckFailed", "Message": CCF_MSG},
        {"Code": "ConditionalCheckFailed", "Message": CCF_MSG},
    ]
    assert snapshot(ddb) == before


def test_validation_error_inside_a_transaction_cancels_it(bank):
    ddb = bank
    before = snapshot(ddb)
    msg, reasons = canceled(ddb, [
        {"Put": {"TableName": "notes", "Item": note_key(n="n5")}},
        {"Update": {"TableName": "accounts", "Key": acct(0),
                    "UpdateExpression": "ADD #o :one",
                    "ExpressionAttributeNames": {"#o": "owner"},
                    "ExpressionAttributeValues": {":one": N(1)}}},
    ])
    assert msg.endswith("[None, ValidationError]")
    assert reasons[0] == {"Code": "None"}
    assert reasons[1]["Code"] == "ValidationError"
    assert reasons[1]["Message"] == ("An operand in the update expression "
                                     "has an incorrect data type")
    assert snapshot(ddb) == before


def test_condition_check_only_transaction(bank):
    ddb = bank
    ddb.transact_write_items(TransactItems=[
        {"ConditionCheck": {"TableName": "accounts", "Key": acct(i),
                            "ConditionExpression": "balance = :b",
                            "ExpressionAttributeValues": {":b": N(100)}}}
        for i in range(3)])


# ------------------------------------------------------ request shape rules

@pytest.mark.parametrize("second", [
    {"ConditionCheck": {"TableName": "accounts", "Key": acct(0),
                        "ConditionExpression": "attribute_exists(id)"}},
    {"Delete": {"TableName": "accounts", "Key": acct(0)}},
    {"Put": {"TableName": "accounts", "Item": {**acct(0), "balance": N(1)}}},
    {"Update": {"TableName": "accounts", "Key": acct(0),
                "UpdateExpression": "SET balance = :b",
                "ExpressionAttributeValues": {":b": N(2)}}},
])
def test_two_operations_on_one_item_refused(bank, second):
    ddb = bank
    before = snapshot(ddb)
    with pytest.raises(ClientError) as e:
        ddb.transact_write_items(TransactItems=[
            {"Update": {"TableName": "accounts", "Key": acct(0),
                        "UpdateExpression": "SET balance = :b",
                        "ExpressionAttributeValues": {":b": N(1)}}},
            {"Put": {"TableName": "notes", "Item": note_key(n="other")}},
            second])
    assert error_of(e) == ("ValidationException", "Transaction request "
                           "cannot include multiple operations on one item")
    assert snapshot(ddb) == before


def test_same_key_in_two_tables_is_two_items(ddb, notes):
    harness.create_notes(ddb, name="archive")
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": "notes", "Item": note_key()}},
        {"Put": {"TableName": "archive", "Item": note_key()}}])
    assert get(ddb, "notes", note_key()) and get(ddb, "archive", note_key())


def test_100_actions_allowed_101_refused(ddb_nv, notes):
    ddb = ddb_nv
    items = [{"Put": {"TableName": "notes", "Item": note_key(n="%03d" % i)}}
             for i in range(101)]
    with pytest.raises(ClientError) as e:
        ddb.transact_write_items(TransactItems=items)
    code, msg = error_of(e)
    assert code == "ValidationException"
    assert "at 'transactItems' failed to satisfy constraint: Member must " \
           "have length less than or equal to 100" in msg
    assert ddb.scan(TableName="notes")["Count"] == 0
    ddb.transact_write_items(TransactItems=items[:100])
    assert ddb.scan(TableName="notes")["Count"] == 100
    with pytest.raises(ClientError) as e:
        ddb.transact_write_items(TransactItems=[])
    assert "Member must have length greater than or equal to 1" in \
        error_of(e)[1]
    # TransactGetItems: the same bounds
    gets = [{"Get": {"TableName": "notes", "Key": note_key(n="%03d" % i)}}
            for i in range(101)]
    with pytest.raises(ClientError) as e:
        ddb.transact_get_items(TransactItems=gets)
    assert "Member must have length less than or equal to 100" in \
        error_of(e)[1]
    got = ddb.transact_get_items(TransactItems=gets[:100])["Responses"]
    assert [r["Item"]["noteId"]["S"] for r in got] == ["%03d" % i
                                                      for i in range(100)]


def test_action_errors_refuse_the_whole_request(bank):
    ddb = bank
    before = snapshot(ddb)
    with pytest.raises(ClientError) as e:
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "notes", "Item": note_key(n="ok")}},
            {"Put": {"TableName": "nope", "Item": note_key()}}])
    assert error_of(e)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "notes", "Item": note_key(n="ok")}},
            {"Update": {"TableName": "accounts", "Key": acct(0),
                        "UpdateExpression": "SET balance = :b"}}])
    code, msg = error_of(e)
    assert code == "ValidationException"
    assert "An expression attribute value used in expression is not " \
           "defined; attribute value: :b" in msg
    with pytest.raises(ClientError) as e:
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "notes", "Item": {"userId": S("u")}}}])
    assert error_of(e)[0] == "ValidationException"
    assert snapshot(ddb) == before


# -------------------------------------------------------------- idempotency

def transfer_items(x, a=0, b=1):
    return [
        {"Update": {"TableName": "accounts", "Key": acct(a),
                    "UpdateExpression": "SET balance = balance - :x",
                    "ConditionExpression": "balance >= :x",
                    "ExpressionAttributeValues": {":x": N(x)}}},
        {"Update": {"TableName": "accounts", "Key": acct(b),
                    "UpdateExpression": "SET balance = balance + :x",
                    "ExpressionAttributeValues": {":x": N(x)}}},
    ]


def balances(ddb, n=3):
    return [int(get(ddb, "accounts", acct(i))["balance"]["N"])
            for i in range(n)]


def test_client_request_token_replays(bank):
    ddb = bank
    first = ddb.transact_write_items(TransactItems=transfer_items(10),
                                     ClientRequestToken="token-1")
    second = ddb.transact_write_items(TransactItems=transfer_items(10),
                                      ClientRequestToken="token-1")
    assert balances(ddb) == [90, 110, 100]    # written once
    first.pop("ResponseMetadata")
    second.pop("ResponseMetadata")
    assert first == second
    # a new token is a new transaction
    ddb.transact_write_items(TransactItems=transfer_items(10),
                             ClientRequestToken="token-2")
    assert balances(ddb) == [80, 120, 100]


def test_same_token_sent_concurrently_writes_once(server, bank):
    """Many clients racing with one token: one transfer; every answer is
    the success or TransactionInProgressException."""
    ddb = bank
    outcomes, lock = [], threading.Lock()
    go = threading.Barrier(8)

    def send():
        client = harness.make_client(server.url)
        go.wait()
        try:
            client.transact_write_items(TransactItems=transfer_items(7),
                                        ClientRequestToken="race")
            res = "ok"
        except ClientError as e:
            res = e.response["Error"]["Code"]
        with lock:
            outcomes.append(res)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(outcomes) == 8
    assert set(outcomes) <= {"ok", "TransactionInProgressException"}, outcomes
    assert "ok" in outcomes
    assert balances(ddb) == [93, 107, 100]
    # once settled, the token replays
    ddb.transact_write_items(TransactItems=transfer_items(7),
                             ClientRequestToken="race")
    assert balances(ddb) == [93, 107, 100]


def test_client_request_token_mismatch(bank):
    ddb = bank
    ddb.transact_write_items(TransactItems=transfer_items(10),
                             ClientRequestToken="token-m")
    with pytest.raises(ClientError) as e:
        ddb.transact_write_items(TransactItems=transfer_items(11),
                                 ClientRequestToken="token-m")
    assert error_of(e) == ("IdempotentParameterMismatchException",
                           "The request uses the same client token as a "
                           "previous, but non-identical request.")
    with pytest.raises(ClientError) as e:
        ddb.transact_write_items(TransactItems=transfer_items(10, 0, 2),
                                 ClientRequestToken="token-m")
    assert error_of(e)[0] == "IdempotentParameterMismatchException"
    assert balances(ddb) == [90, 110, 100]


def test_client_request_token_is_per_request_not_per_content(bank):
    """Two identical requests with different tokens both run."""
    ddb = bank
    for tok in ("a" * 36, "b" * 36):
        ddb.transact_write_items(TransactItems=transfer_items(5),
                                 ClientRequestToken=tok)
    assert balances(ddb) == [90, 110, 100]


def test_client_request_token_length(ddb_nv, notes):
    create_accounts(ddb_nv)
    with pytest.raises(ClientError) as e:
        ddb_nv.transact_write_items(TransactItems=[
            {"Put": {"TableName": "notes", "Item": note_key()}}],
            ClientRequestToken="x" * 37)
    code, msg = error_of(e)
    assert code == "ValidationException"
    assert "clientRequestToken" in msg
    assert "Member must have length less than or equal to 36" in msg


def test_failed_transaction_with_token_can_be_retried(bank):
    """A canceled transaction wrote nothing; retrying it with the same
    token after the condition becomes true performs it."""
    ddb = bank
    canceled(ddb, transfer_items(150), ClientRequestToken="retry-me")
    ddb.put_item(TableName="accounts", Item={**acct(0), "balance": N(200),
                                             "owner": S("o0")})
    ddb.transact_write_items(TransactItems=transfer_items(150),
                             ClientRequestToken="retry-me")
    assert balances(ddb) == [50, 250, 100]


# --------------------------------------------------------- TransactGetItems

def test_transact_get_items_order_missing_and_projection(bank):
    ddb = bank
    ddb.put_item(TableName="notes", Item={
        **note_key(n="deep"), "title": S("deep"),
        "meta": {"M": {"a": {"L": [N(1), N(2), N(3)]}, "b": S("bee")}}})
    got = ddb.transact_get_items(TransactItems=[
        {"Get": {"TableName": "accounts", "Key": acct(2)}},
        {"Get": {"TableName": "notes", "Key": note_key(n="missing")}},
        {"Get": {"TableName": "notes", "Key": note_key(n="deep"),
                 "ProjectionExpression": "#t, meta.a[2], meta.zz",
                 "ExpressionAttributeNames": {"#t": "title"}}},
        {"Get": {"TableName": "accounts", "Key": acct(0),
                 "ProjectionExpression": "balance"}},
        {"Get": {"TableName": "accounts", "Key": acct(42)}},
        {"Get": {"TableName": "notes", "Key": note_key()}},
    ])["Responses"]
    assert got == [
        {"Item": {**acct(2), "balance": N(100), "owner": S("o2")}},
        {},
        {"Item": {"title": S("deep"), "meta": {"M": {"a": {"L": [N(3)]}}}}},
        {"Item": {"balance": N(100)}},
        {},
        {"Item": {**note_key(), "title": S("t"), "version": N(1)}},
    ]


def test_transact_get_items_errors(bank):
    ddb = bank
    with pytest.raises(ClientError) as e:
        ddb.transact_get_items(TransactItems=[
            {"Get": {"TableName": "accounts", "Key": acct(0)}},
            {"Get": {"TableName": "accounts", "Key": acct(0),
                     "ProjectionExpression": "balance"}}])
    assert error_of(e) == ("ValidationException", "Transaction request "
                           "cannot include multiple operations on one item")
    with pytest.raises(ClientError) as e:
        ddb.transact_get_items(TransactItems=[
            {"Get": {"TableName": "nope", "Key": acct(0)}}])
    assert error_of(e)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        ddb.transact_get_items(TransactItems=[
            {"Get": {"TableName": "accounts", "Key": {"id": N(1)}}}])
    assert error_of(e) == ("ValidationException", "The provided key element "
                           "does not match the schema")
    with pytest.raises(ClientError) as e:
        ddb.transact_get_items(TransactItems=[
            {"Get": {"TableName": "accounts", "Key": acct(0),
                     "ProjectionExpression": "#b"}}])
    assert "An expression attribute name used in the document path is not " \
           "defined; attribute name: #b" in error_of(e)[1]


def test_transact_get_items_resource_client(dynamodb):
    client = dynamodb.meta.client
    create_accounts(client)
    client.put_item(TableName="accounts", Item={"id": "acct01", "balance": 5})
    got = client.transact_get_items(TransactItems=[
        {"Get": {"TableName": "accounts", "Key": {"id": "acct01"}}},
        {"Get": {"TableName": "accounts", "Key": {"id": "acct02"}}}])
    assert got["Responses"][0]["Item"] == {"id": "acct01", "balance": 5}
    assert got["Responses"][1] == {}


# -------------------------------------------------------------- concurrency

def test_concurrent_transfers_keep_the_total(server, ddb, notes):
    accounts, start, total = 8, 100, 800
    create_accounts(ddb)
    for i in range(accounts):
        ddb.put_item(TableName="accounts",
                     Item={**acct(i), "balance": N(start)})
    stop = threading.Event()
    errors, done, snapshots = [], [], []
    lock = threading.Lock()

    def writer(seed):
        client = harness.make_client(server.url)
        rnd = random.Random(seed)
        mine = []
        try:
            for _ in range(150):
                a, b = rnd.sample(range(accounts), 2)
                x = rnd.randint(1, 60)
                try:
                    client.transact_write_items(
                        TransactItems=transfer_items(x, a, b))
                    mine.append((a, b, x))
                except ClientError as e:
                    code = e.response["Error"]["Code"]
                    if code != CANCELED:
                        raise
                    reasons = [r["Code"] for r in
                               e.response["CancellationReasons"]]
                    assert reasons == ["ConditionalCheckFailed", "None"], \
                        reasons
        except Exception as e:  # reported by the main thread
            errors.append(repr(e))
        with lock:
            done.extend(mine)

    def reader():
        client = harness.make_client(server.url)
        try:
            while not stop.is_set():
                got = client.transact_get_items(TransactItems=[
                    {"Get": {"TableName": "accounts", "Key": acct(i)}}
                    for i in range(accounts)])["Responses"]
                vals = [int(r["Item"]["balance"]["N"]) for r in got]
                snapshots.append(vals)
                if sum(vals) != total or min(vals) < 0:
                    errors.append("bad snapshot %r" % vals)
        except Exception as e:
            errors.append(repr(e))

    writers = [threading.Thread(target=writer, args=(s,)) for s in range(6)]
    readers = [threading.Thread(target=reader) for _ in range(3)]
    t0 = time.monotonic()
    for t in writers + readers:
        t.start()
    for t in writers:
        t.join(120)
    stop.set()
    for t in readers:
        t.join(30)
    assert not any(t.is_alive() for t in writers + readers)
    assert not errors, errors[:5]
    assert len(snapshots) >= 10, "readers took too few snapshots"
    final = [int(get(ddb, "accounts", acct(i))["balance"]["N"])
             for i in range(accounts)]
    assert sum(final) == total and min(final) >= 0
    # every successful transfer, and only those, was applied
    want = [start] * accounts
    for a, b, x in done:
        want[a] -= x
        want[b] += x
    assert final == want
    assert len(done) > 200, "too few transfers succeeded: %d" % len(done)
    assert time.monotonic() - t0 < 60
