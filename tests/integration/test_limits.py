"""DescribeLimits and DescribeEndpoints, as boto3 and the AWS CLI see them,
and a client with endpoint discovery enabled working against the server."""

import boto3
from botocore.config import Config

import harness

LIMITS = {
    "AccountMaxReadCapacityUnits": 80000,
    "AccountMaxWriteCapacityUnits": 80000,
    "TableMaxReadCapacityUnits": 40000,
    "TableMaxWriteCapacityUnits": 40000,
}


def body(r):
    return {k: v for k, v in r.items() if k != "ResponseMetadata"}


def test_describe_limits(ddb):
    assert body(ddb.describe_limits()) == LIMITS


def test_describe_limits_cli(aws):
    assert aws("describe-limits") == LIMITS


def test_describe_limits_raw(raw):
    r = raw.request("DescribeLimits", {})
    assert r.status == 200
    assert r.json == LIMITS
    assert r.header("Content-Type") == harness.JSON_CT


def check_endpoints(out):
    assert list(out) == ["Endpoints"]
    assert len(out["Endpoints"]) == 1
    ep = out["Endpoints"][0]
    assert set(ep) == {"Address", "CachePeriodInMinutes"}
    assert ep["CachePeriodInMinutes"] == 1440
    assert isinstance(ep["Address"], str) and ep["Address"]
    # a host name (DynamoDB's regional one), no scheme
    assert "://" not in ep["Address"]


def test_describe_endpoints(ddb):
    out = body(ddb.describe_endpoints())
    check_endpoints(out)
    assert out["Endpoints"][0]["Address"] == \
        "dynamodb.%s.amazonaws.com" % harness.REGION


def test_describe_endpoints_cli(aws):
    check_endpoints(aws("describe-endpoints"))


def test_client_with_endpoint_discovery(server, clean):
    """An SDK with endpoint discovery on keeps using the endpoint it was
    given and works as usual."""
    c = boto3.client(
        "dynamodb", endpoint_url=server.url, region_name=harness.REGION,
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(endpoint_discovery_enabled=True,
                      retries={"total_max_attempts": 1, "mode": "standard"}))
    harness.create_notes(c)
    item = {"userId": {"S": "u"}, "noteId": {"S": "n"}}
    c.put_item(TableName="notes", Item=item)
    assert c.get_item(TableName="notes", Key=item)["Item"] == item
    check_endpoints(body(c.describe_endpoints()))
    assert body(c.describe_limits()) == LIMITS
