"""Tags: TagResource, UntagResource and ListTagsOfResource with boto3, the
AWS CLI and raw requests: upserts, removal, the 50-tag limit, DynamoDB's
validation messages (keys, values, the aws: prefix, duplicates, ARNs), a
request with one bad tag changing nothing, tags dying with their table and
surviving a restart."""

import pytest
from botocore.exceptions import ClientError

import harness
from harness import arn, create_notes, error_of

NOTES = arn("notes")
LIMIT = "Number of Tags exceed the current limit for the provided ResourceArn"


def tags_of(ddb, resource=NOTES):
    """Every tag, following NextToken, as a dict."""
    out, token = {}, None
    while True:
        kw = {"ResourceArn": resource}
        if token:
            kw["NextToken"] = token
        r = ddb.list_tags_of_resource(**kw)
        for t in r["Tags"]:
            assert t["Key"] not in out
            out[t["Key"]] = t["Value"]
        token = r.get("NextToken")
        if not token:
            return out


def tag(ddb, resource=NOTES, **tags):
    return ddb.tag_resource(
        ResourceArn=resource,
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()])


def expect_error(excinfo, code, message):
    assert error_of(excinfo) == (code, message)


def refused(ddb, message, code="ValidationException", **kw):
    with pytest.raises(ClientError) as e:
        ddb.tag_resource(**kw)
    expect_error(e, code, message)


# -------------------------------------------------------------- behaviour

def test_no_tags(ddb, notes):
    r = ddb.list_tags_of_resource(ResourceArn=NOTES)
    assert r["Tags"] == []
    assert "NextToken" not in r


def test_tag_list_untag(ddb, notes):
    r = tag(ddb, Owner="blueTeam", Environment="Production")
    assert {k: v for k, v in r.items() if k != "ResponseMetadata"} == {}
    assert tags_of(ddb) == {"Owner": "blueTeam", "Environment": "Production"}
    r = ddb.untag_resource(ResourceArn=NOTES, TagKeys=["Owner"])
    assert {k: v for k, v in r.items() if k != "ResponseMetadata"} == {}
    assert tags_of(ddb) == {"Environment": "Production"}


def test_tag_upserts(ddb, notes):
    tag(ddb, k="v1", other="o")
    tag(ddb, k="v2")
    assert tags_of(ddb) == {"k": "v2", "other": "o"}


def test_untag_absent_key_is_a_no_op(ddb, notes):
    tag(ddb, a="1", b="2")
    ddb.untag_resource(ResourceArn=NOTES, TagKeys=["never"])
    ddb.untag_resource(ResourceArn=NOTES, TagKeys=["never", "a"])
    assert tags_of(ddb) == {"b": "2"}


def test_keys_are_case_sensitive_and_values_may_be_empty(ddb, notes):
    ddb.tag_resource(ResourceArn=NOTES, Tags=[{"Key": "Env", "Value": ""},
                                              {"Key": "env", "Value": "x"}])
    assert tags_of(ddb) == {"Env": "", "env": "x"}


def test_allowed_characters(ddb, notes):
    accepted = {
        "sp ace": "a b+c-d=e.f_g:h/i@j",
        " leading": "x",
        "\u043a\u043b\u044e\u0447": "caf\u00e9",          # ключ, café
        "\u8868": "\u00a0nbsp\u3000ideographic",           # 表
        "k" * 128: "v" * 256,
        "myaws:foo": "1",
    }
    tag(ddb, **accepted)
    assert tags_of(ddb) == accepted


def test_lists_in_key_order(ddb, notes):
    tag(ddb, b="2", a="1", c="3")
    keys = [t["Key"] for t in
            ddb.list_tags_of_resource(ResourceArn=NOTES)["Tags"]]
    assert keys == ["a", "b", "c"]


def test_fifty_tags_one_page(ddb, notes):
    many = {"k%02d" % i: "v%02d" % i for i in range(50)}
    ddb.tag_resource(ResourceArn=NOTES,
                     Tags=[{"Key": k, "Value": v} for k, v in many.items()])
    r = ddb.list_tags_of_resource(ResourceArn=NOTES)
    # DDB: 50 tags (the maximum) come in one page, without NextToken
    assert len(r["Tags"]) == 50 and "NextToken" not in r
    assert tags_of(ddb) == many
    # a NextToken lists the keys after it
    r = ddb.list_tags_of_resource(ResourceArn=NOTES, NextToken="k47")
    assert [t["Key"] for t in r["Tags"]] == ["k48", "k49"]


def test_tags_of_one_table_only(ddb):
    create_notes(ddb, name="one")
    create_notes(ddb, name="two")
    tag(ddb, arn("one"), a="1")
    assert tags_of(ddb, arn("one")) == {"a": "1"}
    assert tags_of(ddb, arn("two")) == {}


def test_deleted_table_loses_its_tags(ddb, notes):
    tag(ddb, a="1")
    ddb.delete_table(TableName="notes")
    with pytest.raises(ClientError) as e:
        ddb.list_tags_of_resource(ResourceArn=NOTES)
    expect_error(e, "ResourceNotFoundException",
                 "Requested resource not found: ResourceArn: %s not found"
                 % NOTES)
    create_notes(ddb)
    assert tags_of(ddb) == {}


def test_tags_do_not_change_the_table(ddb, notes):
    before = ddb.describe_table(TableName="notes")["Table"]
    tag(ddb, a="1")
    after = ddb.describe_table(TableName="notes")["Table"]
    assert after == before


def test_cli(aws):
    aws("create-table", "--table-name", "notes",
        "--attribute-definitions", "AttributeName=userId,AttributeType=S",
        "--key-schema", "AttributeName=userId,KeyType=HASH",
        "--billing-mode", "PAY_PER_REQUEST")
    assert aws("tag-resource", "--resource-arn", NOTES, "--tags",
               "Key=Owner,Value=blueTeam",
               "Key=Environment,Value=Production") == {}
    out = aws("list-tags-of-resource", "--resource-arn", NOTES)
    assert sorted(out["Tags"], key=lambda t: t["Key"]) == [
        {"Key": "Environment", "Value": "Production"},
        {"Key": "Owner", "Value": "blueTeam"}]
    assert aws("untag-resource", "--resource-arn", NOTES, "--tag-keys",
               "Owner") == {}
    out = aws("list-tags-of-resource", "--resource-arn", NOTES)
    assert out["Tags"] == [{"Key": "Environment", "Value": "Production"}]
    err = aws.error("list-tags-of-resource", "--resource-arn",
                    arn("missing"))
    assert "ResourceNotFoundException" in err.stderr


# ----------------------------------------------------------------- limits

def test_fifty_first_tag_refused(ddb, notes):
    ddb.tag_resource(ResourceArn=NOTES, Tags=[
        {"Key": "k%02d" % i, "Value": "v"} for i in range(50)])
    refused(ddb, LIMIT, ResourceArn=NOTES,
            Tags=[{"Key": "k50", "Value": "v"}])
    # counted after the merge: an upsert plus a new key is still 51
    refused(ddb, LIMIT, ResourceArn=NOTES,
            Tags=[{"Key": "k00", "Value": "new"}, {"Key": "k50",
                                                   "Value": "v"}])
    assert len(tags_of(ddb)) == 50 and tags_of(ddb)["k00"] == "v"
    # upserting existing keys at the limit is fine
    tag(ddb, k00="new")
    assert tags_of(ddb)["k00"] == "new"
    # removing one makes room
    ddb.untag_resource(ResourceArn=NOTES, TagKeys=["k01"])
    tag(ddb, k50="v")
    assert len(tags_of(ddb)) == 50


def test_fifty_one_tags_in_one_call(ddb, notes):
    refused(ddb, LIMIT, ResourceArn=NOTES,
            Tags=[{"Key": "k%02d" % i, "Value": "v"} for i in range(51)])
    assert tags_of(ddb) == {}


def test_untag_more_than_fifty_keys(ddb, notes):
    with pytest.raises(ClientError) as e:
        ddb.untag_resource(ResourceArn=NOTES,
                           TagKeys=["k%02d" % i for i in range(51)])
    expect_error(e, "ValidationException", LIMIT)


# -------------------------------------------------------------- tag errors

@pytest.mark.parametrize("k", ["k" * 129, "bad#char", "a,b", "100%",
                               "\U0001f511", "a\tb", "e\u0301"],
                         ids=["129", "hash", "comma", "percent", "emoji",
                              "tab", "combining"])
def test_invalid_key(ddb_nv, notes, k):
    refused(ddb_nv, "The Tag Key provided is invalid, Key: %s" % k,
            ResourceArn=NOTES, Tags=[{"Key": k, "Value": "v"}])


@pytest.mark.parametrize("v", ["v" * 257, "bad#char", "a;b", "<a>", "~a"],
                         ids=["257", "hash", "semicolon", "angle", "tilde"])
def test_invalid_value(ddb_nv, notes, v):
    refused(ddb_nv, "The Tag Value provided is invalid, Value: %s" % v,
            ResourceArn=NOTES, Tags=[{"Key": "k", "Value": v}])


def test_empty_key(ddb_nv, notes):
    refused(ddb_nv, "The Tag Key provided is invalid, Key: ",
            ResourceArn=NOTES, Tags=[{"Key": "", "Value": "v"}])


def test_missing_key_or_value(raw, notes):
    for tags, msg in (
            ([{"Key": "k"}], "The Tag Value provided is invalid, Value: null"),
            ([{"Value": "v"}], "The Tag Key provided is invalid, Key: null"),
            ([{}], "The Tag Key provided is invalid, Key: null")):
        r = raw.request("TagResource", {"ResourceArn": NOTES, "Tags": tags})
        assert r.status == 400
        assert (r.error_type(), r.error_message()) == \
            ("ValidationException", msg)


@pytest.mark.parametrize("k", ["aws:foo", "AWS:foo", "Aws:x"])
def test_aws_prefix_reserved(ddb_nv, notes, k):
    msg = "Tag Key cannot be prefixed with aws:, Key: %s" % k
    refused(ddb_nv, msg, ResourceArn=NOTES, Tags=[{"Key": k, "Value": "v"}])
    with pytest.raises(ClientError) as e:
        ddb_nv.untag_resource(ResourceArn=NOTES, TagKeys=[k])
    expect_error(e, "ValidationException", msg)


def test_untag_invalid_key(ddb_nv, notes):
    for k in ("", "k" * 129):
        with pytest.raises(ClientError) as e:
            ddb_nv.untag_resource(ResourceArn=NOTES, TagKeys=[k])
        expect_error(e, "ValidationException",
                     "The Tag Key provided is invalid, Key: %s" % k)


def test_duplicate_keys(ddb, notes):
    refused(ddb, "Duplicate Tag Keys provided as input: Duplicate Tag Key "
                 "found dup", ResourceArn=NOTES,
            Tags=[{"Key": "dup", "Value": "1"}, {"Key": "x", "Value": "2"},
                  {"Key": "dup", "Value": "3"}])
    assert tags_of(ddb) == {}


def test_one_bad_tag_changes_nothing(ddb_nv, notes):
    tag(ddb_nv, keep="1")
    refused(ddb_nv, "The Tag Key provided is invalid, Key: " + "x" * 129,
            ResourceArn=NOTES, Tags=[{"Key": "good", "Value": "1"},
                                     {"Key": "x" * 129, "Value": "1"}])
    refused(ddb_nv, "Tag Key cannot be prefixed with aws:, Key: aws:zzz",
            ResourceArn=NOTES, Tags=[{"Key": "good", "Value": "1"},
                                     {"Key": "aws:zzz", "Value": "1"}])
    assert tags_of(ddb_nv) == {"keep": "1"}


def test_empty_lists(raw, notes):
    r = raw.request("TagResource", {"ResourceArn": NOTES, "Tags": []})
    assert (r.error_type(), r.error_message()) == (
        "ValidationException",
        "Atleast one Tag needs to be provided as Input.")
    r = raw.request("UntagResource", {"ResourceArn": NOTES, "TagKeys": []})
    assert (r.error_type(), r.error_message()) == (
        "ValidationException",
        "Atleast one Tag Key needs to be provided as Input.")


def test_null_members(raw):
    for op in ("TagResource", "UntagResource", "ListTagsOfResource"):
        r = raw.request(op, {})
        assert (r.status, r.error_type(), r.error_message()) == (
            400, "ValidationException", "Invalid TableArn"), op
    r = raw.request("TagResource", {"ResourceArn": "a:b:c:d:e:f/g"})
    assert (r.error_type(), r.error_message()) == (
        "ValidationException",
        "1 validation error detected: Value null at 'tags' failed to satisfy "
        "constraint: Member must not be null")
    r = raw.request("UntagResource", {"ResourceArn": "a:b:c:d:e:f/g"})
    assert (r.error_type(), r.error_message()) == (
        "ValidationException",
        "1 validation error detected: Value null at 'tagKeys' failed to "
        "satisfy constraint: Member must not be null")
    r = raw.request("TagResource", {"ResourceArn": NOTES, "Tags": {}})
    assert r.error_type() == "SerializationException"
    r = raw.request("UntagResource", {"ResourceArn": NOTES, "TagKeys": [5]})
    assert r.error_type() == "SerializationException"


# -------------------------------------------------------------- ARN errors

BAD_ARNS = [
    ("abcd", "One or more parameter values were invalid: ARNs must start "
             "with 'arn:': abcd"),
    ("arn:aws:s3:::bucket", "One or more parameter values were invalid: "
                            "Provided Arn is not a DynamoDB resource arn: "
                            "arn:aws:s3:::bucket"),
    (NOTES + "/index/gsi", "One or more parameter values were invalid: "
                           "Invalid resource arn provided, only table or "
                           "stream is accepted. Provided resource arn: "
                           + NOTES + "/index/gsi"),
    (NOTES + "/backup/01234567890123-abcdefgh",
     "One or more parameter values were invalid: Provided Arn is not a "
     "DynamoDB resource arn: " + NOTES + "/backup/01234567890123-abcdefgh"),
    ("arn:aws:dynamodb:eu-west-1:000000000000:table/notes",
     "Invalid TableArn: Invalid ResourceArn provided as input "
     "arn:aws:dynamodb:eu-west-1:000000000000:table/notes"),
    ("arn:aws:dynamodb:us-east-1:111111111111:table/notes",
     "Invalid TableArn: Invalid ResourceArn provided as input "
     "arn:aws:dynamodb:us-east-1:111111111111:table/notes"),
    (arn("ab"), "Invalid TableArn: Invalid ResourceArn provided as input "
                + arn("ab")),
    ("a:b:c:d:e:f/g", "One or more parameter values were invalid: ARNs must "
                      "start with 'arn:': a:b:c:d:e:f/g"),
]


@pytest.mark.parametrize("resource,message", BAD_ARNS,
                         ids=[str(i) for i in range(len(BAD_ARNS))])
def test_bad_arn(ddb, notes, resource, message):
    with pytest.raises(ClientError) as e:
        tag(ddb, resource, a="1")
    expect_error(e, "ValidationException", message)
    with pytest.raises(ClientError) as e:
        ddb.untag_resource(ResourceArn=resource, TagKeys=["a"])
    expect_error(e, "ValidationException", message)
    with pytest.raises(ClientError) as e:
        ddb.list_tags_of_resource(ResourceArn=resource)
    expect_error(e, "ValidationException", message)


def test_missing_table(ddb):
    missing = arn("missing")
    msg = "Requested resource not found: ResourceArn: %s not found" % missing
    with pytest.raises(ClientError) as e:
        tag(ddb, missing, a="1")
    expect_error(e, "ResourceNotFoundException", msg)
    with pytest.raises(ClientError) as e:
        ddb.untag_resource(ResourceArn=missing, TagKeys=["a"])
    expect_error(e, "ResourceNotFoundException", msg)
    with pytest.raises(ClientError) as e:
        ddb.list_tags_of_resource(ResourceArn=missing)
    expect_error(e, "ResourceNotFoundException", msg)


def test_tag_checks_come_before_existence(ddb_nv):
    with pytest.raises(ClientError) as e:
        ddb_nv.tag_resource(ResourceArn=arn("missing"),
                            Tags=[{"Key": "aws:x", "Value": "v"}])
    expect_error(e, "ValidationException",
                 "Tag Key cannot be prefixed with aws:, Key: aws:x")


# ---------------------------------------------------------------- restart

@pytest.mark.needs_binary
def test_tags_survive_restart(tmp_path):
    data = str(tmp_path / "data")
    s = harness.Server(data, log_dir=str(tmp_path))
    try:
        s.start()
        c = harness.make_client(s.url)
        create_notes(c)
        create_notes(c, name="other")
        tag(c, a="1", b="2", c="3")
        c.untag_resource(ResourceArn=NOTES, TagKeys=["b"])
        tag(c, arn("other"), x="y")
        c.delete_table(TableName="other")
        assert s.stop() == 0

        s.start()
        c = harness.make_client(s.url)
        assert tags_of(c) == {"a": "1", "c": "3"}
        create_notes(c, name="other")
        assert tags_of(c, arn("other")) == {}
        tag(c, d="4")
        assert s.stop() == 0

        # and after a kill -9, from the change log
        s.start()
        c = harness.make_client(s.url)
        assert tags_of(c) == {"a": "1", "c": "3", "d": "4"}
        tag(c, e="5")
        s.kill()
        s.start()
        assert tags_of(harness.make_client(s.url)) == \
            {"a": "1", "c": "3", "d": "4", "e": "5"}
        assert s.stop() == 0
    finally:
        s.kill()
