"""UpdateItem with UpdateExpression: SET (plain, nested, list index,
arithmetic, if_not_exists, list_append), REMOVE, ADD, DELETE, creating the
item, the five ReturnValues, key attributes, 38-digit precision, the 400 KB
limit, and DynamoDB's error messages. Also the boto3 resource's
Table.update_item.

Semantics follow DynamoDB as ScyllaDB's test/alternator/test_update_expression.py
(written against DynamoDB) pins them down.
"""
import decimal

import pytest
from boto3.dynamodb.types import Binary
from botocore.exceptions import ClientError

from harness import error_of

D = decimal.Decimal
KEY = {"userId": {"S": "u1"}, "noteId": {"S": "n1"}}


def key(u="u1", n="n1"):
    return {"userId": {"S": u}, "noteId": {"S": n}}


def get(ddb, k=None):
    return ddb.get_item(TableName="notes", Key=k or KEY,
                        ConsistentRead=True).get("Item")


def put(ddb, **attrs):
    item = dict(KEY)
    item.update(attrs)
    ddb.put_item(TableName="notes", Item=item)
    return item


def upd(ddb, expr, values=None, names=None, k=None, **kw):
    args = dict(TableName="notes", Key=k or KEY, UpdateExpression=expr)
    if values is not None:
        args["ExpressionAttributeValues"] = values
    if names is not None:
        args["ExpressionAttributeNames"] = names
    args.update(kw)
    return ddb.update_item(**args)


def upd_error(ddb, expr, values=None, names=None, k=None, **kw):
    with pytest.raises(ClientError) as e:
        upd(ddb, expr, values, names, k, **kw)
    return error_of(e)


def norm(av):
    """Sets are unordered: compare them sorted."""
    if isinstance(av, dict):
        if len(av) == 1:
            (t, v), = av.items()
            if t in ("SS", "NS"):
                return {t: sorted(v)}
            if t == "BS":
                return {t: sorted(bytes(b) for b in v)}
        return {k: norm(v) for k, v in av.items()}
    if isinstance(av, list):
        return [norm(v) for v in av]
    return av


def N(x):
    return {"N": str(x)}


def S(x):
    return {"S": x}


def L(*xs):
    return {"L": list(xs)}


def M(**kw):
    return {"M": kw}


# ------------------------------------------------------------------ SET

def test_set_creates_the_item_with_its_key(ddb, notes):
    out = upd(ddb, "SET title = :t, #c = :n", {":t": S("hi"), ":n": N(3)},
              {"#c": "count"})
    assert "Attributes" not in out
    assert get(ddb) == {**KEY, "title": S("hi"), "count": N(3)}
    assert ddb.describe_table(TableName="notes")["Table"]["ItemCount"] == 1


def test_set_merges_into_the_existing_item(ddb, notes):
    put(ddb, a=S("keep"), b=N(1))
    upd(ddb, "SET b = :v, c = :w", {":v": N(2), ":w": {"BOOL": False}})
    assert get(ddb) == {**KEY, "a": S("keep"), "b": N(2), "c": {"BOOL": False}}


def test_set_reads_the_old_item(ddb, notes):
    """Every operand is read from the item before the update: a swap."""
    put(ddb, a=S("A"), b=N(1))
    upd(ddb, "SET a = b, b = a")
    assert get(ddb) == {**KEY, "a": N(1), "b": S("A")}
    # a key attribute can be read
    upd(ddb, "SET dup = noteId")
    assert get(ddb)["dup"] == S("n1")


def test_set_missing_operand(ddb, notes):
    put(ddb, a=N(1))
    code, msg = upd_error(ddb, "SET b = nope")
    assert code == "ValidationException"
    assert msg == ("The provided expression refers to an attribute that does "
                   "not exist in the item")
    code, msg = upd_error(ddb, "SET b = nope + :one", {":one": N(1)})
    assert msg == ("The provided expression refers to an attribute that does "
                   "not exist in the item")
    assert get(ddb) == {**KEY, "a": N(1)}


def test_set_nested_map_members(ddb, notes):
    put(ddb, meta=M(a=M(b=N(1), keep=S("k")), z=S("z")))
    upd(ddb, "SET meta.a.b = :two, meta.a.c = :c, meta.#new = :m",
        {":two": N(2), ":c": L(S("x")), ":m": M()}, {"#new": "new.key"})
    assert get(ddb)["meta"] == M(a=M(b=N(2), keep=S("k"), c=L(S("x"))),
                                 z=S("z"), **{"new.key": M()})
    # a name with a dot given by placeholder is one top-level attribute
    upd(ddb, "SET #d = :v", {":v": N(1)}, {"#d": "meta.z"})
    item = get(ddb)
    assert item["meta.z"] == N(1) and item["meta"]["M"]["z"] == S("z")


@pytest.mark.parametrize("expr", [
    "SET meta.x.y = :v",      # missing parent
    "SET s.y = :v",           # parent is a string
    "SET l.y = :v",           # parent is a list
    "SET meta[0] = :v",       # index into a map
    "SET s[0] = :v",          # index into a string
    "SET nope[0] = :v",       # missing list
])
def test_set_invalid_document_path(ddb, notes, expr):
    before = put(ddb, meta=M(a=N(1)), s=S("str"), l=L(N(1)))
    code, msg = upd_error(ddb, expr, {":v": N(9)})
    assert code == "ValidationException"
    assert msg == ("The document path provided in the update expression is "
                   "invalid for update")
    assert get(ddb) == before


def test_set_nested_path_on_missing_item_is_invalid(ddb, notes):
    code, msg = upd_error(ddb, "SET a.b = :v", {":v": N(1)})
    assert msg == ("The document path provided in the update expression is "
                   "invalid for update")
    assert get(ddb) is None


def test_set_list_index(ddb, notes):
    put(ddb, l=L(S("zero"), S("one"), S("two")),
        deep=M(c=L(S("hi"), M(x=M(y=L(N(3), N(5), N(7)))))))
    upd(ddb, "SET l[1] = :v, deep.c[1].#x.y[1] = :n",
        {":v": S("ONE"), ":n": N(9)}, {"#x": "x"})
    item = get(ddb)
    assert item["l"] == L(S("zero"), S("ONE"), S("two"))
    assert item["deep"] == M(c=L(S("hi"), M(x=M(y=L(N(3), N(9), N(7))))))
    # an index past the end appends
    upd(ddb, "SET l[7] = :v", {":v": S("end")})
    assert get(ddb)["l"] == L(S("zero"), S("ONE"), S("two"), S("end"))


def test_set_several_indexes_past_the_end_append_in_index_order(ddb, notes):
    """DynamoDB: "If you add multiple elements in a single SET operation,
    the elements are sorted in order by element number." """
    put(ddb, a=L(S("one"), S("two"), S("three")))
    upd(ddb, "SET a[84] = :a1, a[37] = :a2, a[17] = :a3, a[50] = :a4",
        {":a1": S("a1"), ":a2": S("a2"), ":a3": S("a3"), ":a4": S("a4")})
    assert get(ddb)["a"] == L(S("one"), S("two"), S("three"), S("a3"),
                              S("a2"), S("a4"), S("a1"))


def test_set_arithmetic(ddb, notes):
    put(ddb, n=N(10), m=N("2.5"))
    upd(ddb, "SET n = n + :one, m = m - :half, x = :a + :b, y = :a - n, "
             "z = n - m",
        {":one": N(1), ":half": N("0.5"), ":a": N(-7), ":b": N("0.25")})
    item = get(ddb)
    # every operand is the old value: y = -7 - 10, z = 10 - 2.5
    assert item["n"] == N(11) and item["m"] == N(2)
    assert item["x"] == N("-6.75") and item["y"] == N(-17)
    assert item["z"] == N("7.5")
    upd(ddb, "SET n = (n + :one)", {":one": N(1)})
    assert get(ddb)["n"] == N(12)


def test_set_if_not_exists(ddb, notes):
    upd(ddb, "SET hits = if_not_exists(hits, :zero) + :one",
        {":zero": N(0), ":one": N(1)})
    assert get(ddb)["hits"] == N(1)
    upd(ddb, "SET hits = if_not_exists(hits, :zero) + :one",
        {":zero": N(0), ":one": N(1)})
    assert get(ddb)["hits"] == N(2)
    upd(ddb, "SET created = if_not_exists(created, :t)", {":t": S("t1")})
    upd(ddb, "SET created = if_not_exists(created, :t)", {":t": S("t2")})
    assert get(ddb)["created"] == S("t1")
    # if_not_exists(other, v) copies other when it exists
    upd(ddb, "SET c2 = if_not_exists(created, :t), c3 = if_not_exists(nah, :t)",
        {":t": S("fallback")})
    item = get(ddb)
    assert item["c2"] == S("t1") and item["c3"] == S("fallback")


def test_list_append_both_orders(ddb, notes):
    put(ddb, l=L(S("b"), S("c")))
    upd(ddb, "SET l = list_append(l, :tail)", {":tail": L(S("d"), N(5))})
    assert get(ddb)["l"] == L(S("b"), S("c"), S("d"), N(5))
    upd(ddb, "SET l = list_append(:head, l)", {":head": L(S("a"))})
    assert get(ddb)["l"] == L(S("a"), S("b"), S("c"), S("d"), N(5))
    upd(ddb, "SET twice = list_append(l, l), e = list_append(:e, :e)",
        {":e": L()})
    item = get(ddb)
    assert item["twice"] == L(*(item["l"]["L"] * 2))
    assert item["e"] == L()
    # the idiom for "append, creating the list if needed"
    upd(ddb, "SET fresh = list_append(if_not_exists(fresh, :empty), :x)",
        {":empty": L(), ":x": L(N(1))})
    upd(ddb, "SET fresh = list_append(if_not_exists(fresh, :empty), :x)",
        {":empty": L(), ":x": L(N(2))})
    assert get(ddb)["fresh"] == L(N(1), N(2))


def test_list_append_type_errors(ddb, notes):
    before = put(ddb, s=S("x"), l=L())
    code, msg = upd_error(ddb, "SET l = list_append(l, s)")
    assert code == "ValidationException"
    assert msg == ("An operand in the update expression has an incorrect "
                   "data type")
    code, msg = upd_error(ddb, "SET l = list_append(l, :v)", {":v": S("x")})
    assert msg == ("Invalid UpdateExpression: Incorrect operand type for "
                   "operator or function; operator or function: list_append, "
                   "operand type: S")
    code, msg = upd_error(ddb, "SET l = list_append(l, absent)")
    assert msg == ("The provided expression refers to an attribute that does "
                   "not exist in the item")
    assert get(ddb) == before


# --------------------------------------------------------------- REMOVE

def test_remove_attributes(ddb, notes):
    put(ddb, a=N(1), b=N(2), c=N(3))
    out = upd(ddb, "REMOVE a, c, nothing", ReturnValues="ALL_NEW")
    assert out["Attributes"] == {**KEY, "b": N(2)}
    assert get(ddb) == {**KEY, "b": N(2)}


def test_remove_list_elements_compacts(ddb, notes):
    put(ddb, l=L(*[N(i) for i in range(8)]))
    # indexes are positions in the old list, whatever their order
    upd(ddb, "REMOVE l[5], l[1], l[3], l[20]")
    assert get(ddb)["l"] == L(N(0), N(2), N(4), N(6), N(7))
    upd(ddb, "REMOVE l[0]")
    assert get(ddb)["l"] == L(N(2), N(4), N(6), N(7))
    # REMOVE and SET in one update: indexes refer to the old list
    put(ddb, a=L(N(2), N(3), N(4), N(5), N(6), N(7)))
    upd(ddb, "REMOVE a[1] SET a[3] = :v", {":v": N(17)})
    assert get(ddb)["a"] == L(N(2), N(4), N(17), N(6), N(7))
    put(ddb, a=L(N(2), N(3), N(4), N(5), N(6), N(7)))
    upd(ddb, "SET a[3] = :v REMOVE a[1]", {":v": N(17)})
    assert get(ddb)["a"] == L(N(2), N(4), N(17), N(6), N(7))
    # the last element leaves an empty list
    put(ddb, a=L(N(1)))
    upd(ddb, "REMOVE a[0]")
    assert get(ddb)["a"] == L()


def test_remove_nested(ddb, notes):
    put(ddb, a=M(b=N(3), c=L(S("hi"), M(x=M(y=L(N(3), N(5), N(7))), q=N(2)))),
        one=M(sole=N(1)))
    upd(ddb, "REMOVE a.c[1].x.y[1], a.c[1].q, one.sole, a.nope, a.c[1].x.z")
    item = get(ddb)
    assert item["a"] == M(b=N(3), c=L(S("hi"), M(x=M(y=L(N(3), N(7))))))
    assert item["one"] == M()          # an empty map stays


def test_remove_under_a_missing_or_wrong_parent(ddb, notes):
    before = put(ddb, s=S("x"), l=L(S("hi")))
    for expr in ("REMOVE s.c", "REMOVE l.c", "REMOVE nope.c", "REMOVE s[0]",
                 "REMOVE nope[0]"):
        code, msg = upd_error(ddb, expr)
        assert msg == ("The document path provided in the update expression "
                       "is invalid for update"), expr
    assert get(ddb) == before


def test_remove_on_a_missing_item_does_not_create_it(ddb, notes):
    """ScyllaDB issue #5862, checked against DynamoDB: an update that only
    removes attributes does not create a missing item."""
    upd(ddb, "REMOVE a")
    assert get(ddb) is None
    assert ddb.describe_table(TableName="notes")["Table"]["ItemCount"] == 0


# ------------------------------------------------------------------ ADD

def test_add_numbers(ddb, notes):
    put(ddb, n=N(3))
    upd(ddb, "ADD n :v, created :w", {":v": N(4), ":w": N("-1.5")})
    item = get(ddb)
    assert item["n"] == N(7) and item["created"] == N("-1.5")
    upd(ddb, "ADD n :v", {":v": N(-10)})
    assert get(ddb)["n"] == N(-3)


def test_add_creates_the_item(ddb, notes):
    upd(ddb, "ADD hits :one", {":one": N(1)}, k=key("u1", "counter"))
    upd(ddb, "ADD hits :one", {":one": N(1)}, k=key("u1", "counter"))
    assert get(ddb, key("u1", "counter")) == {**key("u1", "counter"),
                                              "hits": N(2)}


def test_add_to_sets(ddb, notes):
    put(ddb, ns={"NS": ["1", "2"]}, ss={"SS": ["dog", "cat"]},
        bs={"BS": [b"\x00"]})
    upd(ddb, "ADD ns :n, ss :s, bs :b, newss :s",
        {":n": {"NS": ["2", "3", "-0.5"]}, ":s": {"SS": ["cat", "pig"]},
         ":b": {"BS": [b"\xff", b"\x00"]}})
    item = norm(get(ddb))
    assert item["ns"] == {"NS": sorted(["1", "2", "3", "-0.5"])}
    assert item["ss"] == {"SS": ["cat", "dog", "pig"]}
    assert item["bs"] == {"BS": [b"\x00", b"\xff"]}
    assert item["newss"] == {"SS": ["cat", "pig"]}
    # numbers in a set are compared as numbers: 2.0 is already there
    upd(ddb, "ADD ns :n", {":n": {"NS": ["2.0", "1E0"]}})
    assert norm(get(ddb))["ns"] == {"NS": sorted(["1", "2", "3", "-0.5"])}


@pytest.mark.parametrize("attr,val,msg", [
    ("s", N(1), "An operand in the update expression has an incorrect data "
                "type"),
    ("n", {"SS": ["a"]}, "An operand in the update expression has an "
                         "incorrect data type"),
    ("ss", {"NS": ["1"]}, "An operand in the update expression has an "
                          "incorrect data type"),
    ("l", {"SS": ["a"]}, "An operand in the update expression has an "
                         "incorrect data type"),
    ("n", S("x"), "Invalid UpdateExpression: Incorrect operand type for "
                  "operator or function; operator: ADD, operand type: STRING"),
    ("l", L(N(1)), "Invalid UpdateExpression: Incorrect operand type for "
                   "operator or function; operator: ADD, operand type: LIST"),
    ("n", M(), "Invalid UpdateExpression: Incorrect operand type for "
               "operator or function; operator: ADD, operand type: MAP"),
])
def test_add_type_errors(ddb, notes, attr, val, msg):
    before = put(ddb, s=S("str"), n=N(1), ss={"SS": ["x"]}, l=L())
    code, got = upd_error(ddb, "ADD %s :v" % attr, {":v": val})
    assert code == "ValidationException"
    assert got == msg
    assert get(ddb) == before


# --------------------------------------------------------------- DELETE

def test_delete_set_members(ddb, notes):
    put(ddb, ss={"SS": ["dog", "cat", "mouse"]}, ns={"NS": ["1", "2", "3"]},
        other=S("x"))
    upd(ddb, "DELETE ss :s, ns :n",
        {":s": {"SS": ["cat", "mouse", "pig"]}, ":n": {"NS": ["2.0", "9"]}})
    item = norm(get(ddb))
    assert item["ss"] == {"SS": ["dog"]}
    assert item["ns"] == {"NS": ["1", "3"]}
    # removing the last member removes the attribute
    upd(ddb, "DELETE ss :s", {":s": {"SS": ["dog"]}})
    assert "ss" not in get(ddb)
    # deleting from a missing attribute does nothing
    upd(ddb, "DELETE ss :s", {":s": {"SS": ["dog"]}})
    assert norm(get(ddb)) == norm({**KEY, "ns": {"NS": ["1", "3"]},
                                   "other": S("x")})


def test_delete_type_errors(ddb, notes):
    before = put(ddb, ss={"SS": ["a"]}, s=S("a"))
    code, msg = upd_error(ddb, "DELETE ss :v", {":v": S("a")})
    assert msg == ("Invalid UpdateExpression: Incorrect operand type for "
                   "operator or function; operator: DELETE, operand type: "
                   "STRING")
    code, msg = upd_error(ddb, "DELETE ss :v", {":v": {"NS": ["1"]}})
    assert msg == ("An operand in the update expression has an incorrect "
                   "data type")
    code, msg = upd_error(ddb, "DELETE s :v", {":v": {"SS": ["a"]}})
    assert msg == ("An operand in the update expression has an incorrect "
                   "data type")
    assert get(ddb) == before


# --------------------------------------------------------- ReturnValues

def rv(ddb, which, expr="SET a = :new, c = :c REMOVE b ADD n :one",
       values=None):
    put(ddb, a=S("old"), b=N(2), n=N(5), untouched=S("u"),
        m=M(x=N(1), y=N(2)))
    return upd(ddb, expr, values or {":new": S("new"), ":c": N(3),
                                     ":one": N(1)},
               ReturnValues=which).get("Attributes")


def test_return_values_none(ddb, notes):
    assert rv(ddb, "NONE") is None


def test_return_values_all_old(ddb, notes):
    assert rv(ddb, "ALL_OLD") == {**KEY, "a": S("old"), "b": N(2), "n": N(5),
                                  "untouched": S("u"),
                                  "m": M(x=N(1), y=N(2))}


def test_return_values_all_new(ddb, notes):
    assert rv(ddb, "ALL_NEW") == {**KEY, "a": S("new"), "c": N(3), "n": N(6),
                                  "untouched": S("u"),
                                  "m": M(x=N(1), y=N(2))}


def test_return_values_updated_old(ddb, notes):
    # c did not exist before: not in UPDATED_OLD; b was removed: it is
    assert rv(ddb, "UPDATED_OLD") == {"a": S("old"), "b": N(2), "n": N(5)}


def test_return_values_updated_new(ddb, notes):
    # b was removed: not in UPDATED_NEW
    assert rv(ddb, "UPDATED_NEW") == {"a": S("new"), "c": N(3), "n": N(6)}


def test_return_values_updated_nested(ddb, notes):
    got = rv(ddb, "UPDATED_NEW", "SET m.x = :v", {":v": N(10)})
    assert got == {"m": M(x=N(10))}
    got = rv(ddb, "UPDATED_OLD", "SET m.x = :v", {":v": N(10)})
    assert got == {"m": M(x=N(1))}


def test_return_values_on_a_new_item(ddb, notes):
    out = upd(ddb, "SET a = :v", {":v": N(1)}, ReturnValues="ALL_OLD")
    assert "Attributes" not in out
    out = upd(ddb, "SET b = :v", {":v": N(1)}, k=key("u1", "n2"),
              ReturnValues="UPDATED_OLD")
    assert "Attributes" not in out
    out = upd(ddb, "SET c = :v", {":v": N(1)}, k=key("u1", "n3"),
              ReturnValues="ALL_NEW")
    assert out["Attributes"] == {**key("u1", "n3"), "c": N(1)}
    out = upd(ddb, "SET c = :v", {":v": N(1)}, k=key("u1", "n4"),
              ReturnValues="UPDATED_NEW")
    assert out["Attributes"] == {"c": N(1)}


def test_return_values_invalid(ddb_nv, notes):
    with pytest.raises(ClientError) as e:
        ddb_nv.update_item(TableName="notes", Key=KEY, UpdateExpression="SET "
                           "a = :v", ExpressionAttributeValues={":v": N(1)},
                           ReturnValues="EVERYTHING")
    code, msg = error_of(e)
    assert code == "ValidationException"
    assert "returnValues" in msg or "ReturnValues" in msg


# ----------------------------------------------------------- key updates

@pytest.mark.parametrize("expr,values", [
    ("SET noteId = :v", {":v": S("x")}),
    ("SET userId = :v", {":v": S("x")}),
    ("REMOVE noteId", None),
    ("ADD userId :v", {":v": N(1)}),
    ("DELETE noteId :v", {":v": {"SS": ["x"]}}),
    ("SET #k = :v", {":v": S("x")}),
])
def test_updating_a_key_attribute_is_refused(ddb, notes, expr, values):
    before = put(ddb, a=N(1))
    names = {"#k": "noteId"} if "#k" in expr else None
    code, msg = upd_error(ddb, expr, values, names)
    assert code == "ValidationException"
    attr = "userId" if "userId" in expr else "noteId"
    assert msg == ("One or more parameter values were invalid: Cannot update "
                   "attribute %s. This attribute is part of the key" % attr)
    assert get(ddb) == before


# ------------------------------------------------------------ precision

def test_38_digit_precision(ddb, notes):
    upd(ddb, "SET b = :a + :b", {":a": N(1), ":b": N("10000000000000000000000")})
    assert get(ddb)["b"] == N("10000000000000000000001")
    upd(ddb, "SET b = :b - :a", {":a": N(1), ":b": N("10000000000000000000000")})
    assert get(ddb)["b"] == N("9999999999999999999999")
    big = "9" * 38
    upd(ddb, "SET c = :a + :b", {":a": N("1" + "0" * 37), ":b": N(big[1:])})
    assert get(ddb)["c"] == N("1" + "9" * 37)
    upd(ddb, "SET d = :a + :b", {":a": N("0.1"), ":b": N("0.2")})
    assert get(ddb)["d"] == N("0.3")


@pytest.mark.parametrize("expr,values", [
    ("SET b = :a + :b", {":a": N("1e50"), ":b": N(1)}),
    ("SET b = :a - :b", {":a": N("1e50"), ":b": N(1)}),
    ("SET b = :a + :b", {":a": N("1" + "0" * 37), ":b": N("0.1")}),
    ("ADD n :b", {":b": N(1)}),
])
def test_inexact_arithmetic_is_refused(ddb, notes, expr, values):
    before = put(ddb, n=N("1" + "0" * 50))
    code, msg = upd_error(ddb, expr, values)
    assert code == "ValidationException"
    # DynamoDB's (odd) wording for a result that needs more than 38 digits
    assert msg == ("Number overflow. Attempting to store a number with "
                   "magnitude larger than supported range")
    assert get(ddb) == before


def test_number_range_overflow(ddb, notes):
    code, msg = upd_error(ddb, "SET b = :a + :a", {":a": N("9e125")})
    assert code == "ValidationException"
    assert "Number overflow" in msg
    code, msg = upd_error(ddb, "SET b = :a - :b",
                          {":a": N("1e-130"), ":b": N("0.9e-130")})
    assert code == "ValidationException"
    assert "Number underflow" in msg
    assert get(ddb) is None


# ---------------------------------------------------------------- errors

def test_syntax_errors(ddb, notes):
    code, msg = upd_error(ddb, "SET a = :v :w", {":v": N(1), ":w": N(2)})
    assert code == "ValidationException"
    assert msg == ('Invalid UpdateExpression: Syntax error; token: ":w", '
                   'near: ":v :w"')
    code, msg = upd_error(ddb, "SET a =", None)
    assert msg.startswith('Invalid UpdateExpression: Syntax error; token: '
                          '"<EOF>"')
    code, msg = upd_error(ddb, "UPSERT a = :v", {":v": N(1)})
    assert msg.startswith("Invalid UpdateExpression: Syntax error; token: "
                          "\"UPSERT\"")
    code, msg = upd_error(ddb, "SET a = :v + :v + :v", {":v": N(1)})
    assert msg.startswith("Invalid UpdateExpression: Syntax error; token: "
                          "\"+\"")
    code, msg = upd_error(ddb, "SET a[:v] = :v", {":v": N(1)})
    assert "Syntax error" in msg
    code, msg = upd_error(ddb, "", None)
    assert msg == "Invalid UpdateExpression: The expression can not be empty;"
    assert get(ddb) is None


def test_section_used_twice(ddb, notes):
    code, msg = upd_error(ddb, "SET a = :v REMOVE b SET c = :v", {":v": N(1)})
    assert code == "ValidationException"
    assert msg == ('Invalid UpdateExpression: The "SET" section can only be '
                   'used once in an update expression;')


def test_reserved_word_without_placeholder(ddb, notes):
    code, msg = upd_error(ddb, "SET name = :v", {":v": S("x")})
    assert code == "ValidationException"
    assert msg == ("Invalid UpdateExpression: Attribute name is a reserved "
                   "keyword; reserved keyword: name")
    code, msg = upd_error(ddb, "REMOVE a.#ok, a.comment", None, {"#ok": "ok"})
    assert msg == ("Invalid UpdateExpression: Attribute name is a reserved "
                   "keyword; reserved keyword: comment")
    # with a placeholder it works
    upd(ddb, "SET #n = :v", {":v": S("x")}, {"#n": "name"})
    assert get(ddb)["name"] == S("x")


def test_undefined_and_unused_placeholders(ddb, notes):
    code, msg = upd_error(ddb, "SET #a = :v", {":v": N(1)})
    assert code == "ValidationException"
    assert msg == ("Invalid UpdateExpression: An expression attribute name "
                   "used in the document path is not defined; attribute "
                   "name: #a")
    code, msg = upd_error(ddb, "SET a = :v", {":w": N(1)})
    assert msg == ("Invalid UpdateExpression: An expression attribute value "
                   "used in expression is not defined; attribute value: :v")
    code, msg = upd_error(ddb, "SET a = :v")
    assert msg == ("Invalid UpdateExpression: An expression attribute value "
                   "used in expression is not defined; attribute value: :v")
    code, msg = upd_error(ddb, "SET a = :v", {":v": N(1), ":x": N(2)})
    assert msg == ("Value provided in ExpressionAttributeValues unused in "
                   "expressions: keys: {:x}")
    code, msg = upd_error(ddb, "SET a = :v", {":v": N(1)}, {"#x": "x"})
    assert msg == ("Value provided in ExpressionAttributeNames unused in "
                   "expressions: keys: {#x}")
    code, msg = upd_error(ddb, "SET a = :v", {":v": N(1)}, {})
    assert msg == "ExpressionAttributeNames must not be empty"
    code, msg = upd_error(ddb, "REMOVE a", {})
    assert msg == "ExpressionAttributeValues must not be empty"
    assert get(ddb) is None


@pytest.mark.parametrize("expr,one,two", [
    ("SET a = :v REMOVE a", "[a]", "[a]"),
    ("SET a = :v, a = :w", "[a]", "[a]"),
    ("SET #x = :v, #y = :w", "[a]", "[a]"),
    ("SET a.b = :v, a = :w", "[a, b]", "[a]"),
    ("SET a = :v, a.b.c = :w", "[a]", "[a, b, c]"),
    ("SET a[1] = :v REMOVE a[1][2]", "[a, [1]]", "[a, [1], [2]]"),
    ("ADD s :w DELETE s :w", "[s]", "[s]"),
])
def test_overlapping_paths(ddb, notes, expr, one, two):
    vals = {k: N(1) for k in (":v", ":w") if k in expr}
    if expr.startswith("ADD"):
        vals = {":w": {"SS": ["x"]}}
    names = {"#x": "a", "#y": "a"} if "#x" in expr else None
    code, msg = upd_error(ddb, expr, vals, names)
    assert code == "ValidationException"
    assert msg == ("Invalid UpdateExpression: Two document paths overlap "
                   "with each other; must remove or rewrite one of these "
                   "paths; path one: %s, path two: %s" % (one, two))
    assert get(ddb) is None


def test_conflicting_paths(ddb, notes):
    code, msg = upd_error(ddb, "SET a.b = :v, a[1] = :w",
                          {":v": N(1), ":w": N(2)})
    assert code == "ValidationException"
    assert msg == ("Invalid UpdateExpression: Two document paths conflict "
                   "with each other; must remove or rewrite one of these "
                   "paths; path one: [a, b], path two: [a, [1]]")


def test_non_overlapping_paths_in_one_update(ddb, notes):
    put(ddb, a=M(x=N(3), y=N(4), c=M(y=N(3))), b=M(x=N(1), y=N(2)))
    upd(ddb, "SET a.b = :v1, a.c.d = :v2, b.x = :v3 REMOVE a.x, b.y",
        {":v1": N(10), ":v2": S("dog"), ":v3": N(17)})
    item = get(ddb)
    assert item["a"] == M(y=N(4), b=N(10), c=M(y=N(3), d=S("dog")))
    assert item["b"] == M(x=N(17))


def test_type_errors(ddb, notes):
    before = put(ddb, s=S("str"), n=N(1))
    code, msg = upd_error(ddb, "SET a = :s + :n", {":s": S("x"), ":n": N(1)})
    assert code == "ValidationException"
    assert msg == ("Invalid UpdateExpression: Incorrect operand type for "
                   "operator or function; operator or function: +, operand "
                   "type: S")
    code, msg = upd_error(ddb, "SET a = :n - :s", {":s": S("x"), ":n": N(1)})
    assert msg == ("Invalid UpdateExpression: Incorrect operand type for "
                   "operator or function; operator or function: -, operand "
                   "type: S")
    code, msg = upd_error(ddb, "SET a = s + :n", {":n": N(1)})
    assert msg == ("An operand in the update expression has an incorrect "
                   "data type")
    code, msg = upd_error(ddb, "ADD s :n", {":n": N(1)})
    assert msg == ("An operand in the update expression has an incorrect "
                   "data type")
    code, msg = upd_error(ddb, "SET a = if_not_exists(:n, :n)", {":n": N(1)})
    assert msg == ("Invalid UpdateExpression: Operator or function requires "
                   "a document path; operator or function: if_not_exists")
    code, msg = upd_error(ddb, "SET a = nosuch(s)")
    assert msg == "Invalid UpdateExpression: Invalid function name; function: nosuch"
    code, msg = upd_error(ddb, "SET a = list_append(:l)", {":l": L()})
    assert msg == ("Invalid UpdateExpression: Incorrect number of operands "
                   "for operator or function; operator or function: "
                   "list_append, number of operands: 1")
    assert get(ddb) == before


def test_update_over_400kb_is_refused(ddb, notes):
    before = put(ddb, body=S("x" * 300000))
    code, msg = upd_error(ddb, "SET more = :v", {":v": S("y" * 120000)})
    assert code == "ValidationException"
    assert msg == "Item size to update has exceeded the maximum allowed size"
    code, msg = upd_error(ddb, "SET more = body")
    assert msg == "Item size to update has exceeded the maximum allowed size"
    assert get(ddb) == before
    # growing an item to just under the limit works
    upd(ddb, "SET more = :v", {":v": S("y" * 90000)})
    assert len(get(ddb)["more"]["S"]) == 90000


def test_update_missing_table_and_bad_key(ddb, notes):
    with pytest.raises(ClientError) as e:
        ddb.update_item(TableName="nope", Key=KEY, UpdateExpression="SET a = "
                        ":v", ExpressionAttributeValues={":v": N(1)})
    assert error_of(e)[0] == "ResourceNotFoundException"
    code, msg = upd_error(ddb, "SET a = :v", {":v": N(1)},
                          k={"userId": S("u1")})
    assert code == "ValidationException"
    assert msg == "The provided key element does not match the schema"


def test_legacy_attribute_updates_refused(ddb, notes):
    with pytest.raises(ClientError) as e:
        ddb.update_item(TableName="notes", Key=KEY, AttributeUpdates={
            "a": {"Value": N(1), "Action": "PUT"}})
    code, msg = error_of(e)
    assert code == "ValidationException" and "AttributeUpdates" in msg
    assert get(ddb) is None


def test_update_without_expression_creates_key_only_item(ddb, notes):
    ddb.update_item(TableName="notes", Key=KEY)
    assert get(ddb) == KEY


# ------------------------------------------------------------- resource

def test_resource_table_update_item(dynamodb):
    dynamodb.meta.client.create_table(
        TableName="notes", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "userId", "KeyType": "HASH"},
                   {"AttributeName": "noteId", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "userId", "AttributeType": "S"},
            {"AttributeName": "noteId", "AttributeType": "S"}])
    table = dynamodb.Table("notes")
    k = {"userId": "u1", "noteId": "n1"}
    out = table.update_item(
        Key=k, UpdateExpression="SET title = :t, meta = :m, tags = :tags "
                                "ADD version :one",
        ExpressionAttributeValues={":t": "first", ":m": {"hits": 0},
                                   ":tags": {"a", "b"}, ":one": 1},
        ReturnValues="ALL_NEW")
    assert out["Attributes"] == {**k, "title": "first", "meta": {"hits": 0},
                                 "tags": {"a", "b"}, "version": D(1)}
    out = table.update_item(
        Key=k, UpdateExpression="SET meta.hits = meta.hits + :one, "
                                "#t = :t ADD version :one DELETE tags :a "
                                "REMOVE nothing",
        ExpressionAttributeNames={"#t": "title"},
        ExpressionAttributeValues={":one": 1, ":t": "second", ":a": {"a"}},
        ReturnValues="UPDATED_NEW")
    assert out["Attributes"] == {"meta": {"hits": 1}, "title": "second",
                                 "version": D(2), "tags": {"b"}}
    out = table.update_item(
        Key=k, UpdateExpression="SET bin = :b, price = :p",
        ExpressionAttributeValues={":b": Binary(b"\x00\xff"),
                                   ":p": D("19.99")},
        ReturnValues="UPDATED_OLD")
    assert "Attributes" not in out
    item = table.get_item(Key=k, ConsistentRead=True)["Item"]
    assert item["bin"] == Binary(b"\x00\xff") and item["price"] == D("19.99")
    with pytest.raises(ClientError) as e:
        table.update_item(Key=k, UpdateExpression="SET userId = :v",
                          ExpressionAttributeValues={":v": "x"})
    assert "This attribute is part of the key" in error_of(e)[1]
