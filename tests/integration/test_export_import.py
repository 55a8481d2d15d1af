"""Export and import (issue 6 point 7): ExportTableToPointInTime,
DescribeExport and ListExports writing DynamoDB's export layout, and
ImportTable, DescribeImport and ListImports reading it back, with boto3, the
AWS CLI and raw HTTP.

- Exports to a local directory (S3Bucket "file:///abs/dir", Tidemark's
  extension) at now, at a past second (boto3 and the CLI send whole
  seconds) and at a past millisecond (raw HTTP, as the JavaScript SDK
  sends): the manifests hold DynamoDB's fields, their .md5 files and every
  data file's md5Checksum/etag/itemCount check out, and the items are the
  table as of ExportTime (later writes absent).
- ImportTable of those exports (the export's directory, read through its
  manifest, or its data/ prefix, as DynamoDB reads any prefix) into new
  tables with a GSI: the same items.
- Every error kind of the reference, with DynamoDB's messages; bad lines end
  the import FAILED (ItemValidationError) with the valid items in an ACTIVE
  table; a source with nothing in it fails and removes the table.
- LimitExceededException at 300 exports and 50 imports in progress.
- kill -9 and a graceful stop during an export and an import: after the
  restart each finishes, with nothing left of the first attempt.
- The same against Ceph RGW (skipped, with the reason, when the ceph-s3
  tool is absent), including a bucket that does not exist.
"""
import base64
import datetime
import gzip
import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import time

import pytest

import harness
from test_s3_client import rgw  # noqa: F401  (the Ceph RGW fixture)

pytestmark = pytest.mark.needs_binary

GSI = [{"IndexName": "byTag",
        "KeySchema": [{"AttributeName": "tag", "KeyType": "HASH"},
                      {"AttributeName": "noteId", "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "ALL"}}]
ATTRS = harness.NOTES_ATTRS + [{"AttributeName": "tag",
                                "AttributeType": "S"}]


def note(i, v=None, tag=None):
    return {"userId": {"S": "u%d" % (i % 3)}, "noteId": {"S": "n%05d" % i},
            "v": {"N": str(i if v is None else v)},
            "tag": {"S": tag or "t%d" % (i % 5)},
            "body": {"S": "note %d " % i + "x" * (i % 40)}}


def key(it):
    return (it["userId"]["S"], it["noteId"]["S"])


def scan_all(c, table):
    got, kw = {}, {}
    while True:
        r = c.scan(TableName=table, **kw)
        for it in r["Items"]:
            got[key(it)] = it
        if "LastEvaluatedKey" not in r:
            return got
        kw["ExclusiveStartKey"] = r["LastEvaluatedKey"]


def put_many(c, items, table="notes"):
    for s in range(0, len(items), 25):
        c.batch_write_item(RequestItems={table: [
            {"PutRequest": {"Item": it}} for it in items[s:s + 25]]})


def advance(raw, ms):
    return raw.call("TidemarkTest_20261125.AdvanceClock",
                    {"Milliseconds": ms})["NowMs"]


def wait_export(c, arn, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        d = c.describe_export(ExportArn=arn)["ExportDescription"]
        if d["ExportStatus"] != "IN_PROGRESS":
            return d
        assert time.monotonic() < deadline, d
        time.sleep(0.05)


def wait_import(c, arn, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        d = c.describe_import(ImportArn=arn)["ImportTableDescription"]
        if d["ImportStatus"] != "IN_PROGRESS":
            return d
        assert time.monotonic() < deadline, d
        time.sleep(0.05)


def md5_b64(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def create_notes(c, name="notes", pitr=True):
    harness.create_notes(c, name=name, AttributeDefinitions=ATTRS,
                         GlobalSecondaryIndexes=GSI)
    if pitr:
        c.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={
                "PointInTimeRecoveryEnabled": True})


def creation(name):
    return {"TableName": name, "AttributeDefinitions": ATTRS,
            "KeySchema": harness.NOTES_KEYS, "BillingMode": "PAY_PER_REQUEST",
            "GlobalSecondaryIndexes": GSI}


def check_export_dir(root, desc):
    """Read an export made to file://root: check its manifests and data
    files as DynamoDB writes them; return (summary, items by key)."""
    base = os.path.dirname(os.path.join(root, desc["ExportManifest"]))
    export_id = desc["ExportArn"].rsplit("/", 1)[1]
    assert base.endswith("AWSDynamoDB/" + export_id)
    names = sorted(os.listdir(base))
    assert names == ["_started", "data", "manifest-files.json",
                     "manifest-files.md5", "manifest-summary.json",
                     "manifest-summary.md5"], names
    assert os.path.getsize(os.path.join(base, "_started")) == 0
    raw_sum = open(os.path.join(base, "manifest-summary.json"), "rb").read()
    raw_files = open(os.path.join(base, "manifest-files.json"), "rb").read()
    assert open(os.path.join(base, "manifest-summary.md5")).read() == \
        md5_b64(raw_sum)
    assert open(os.path.join(base, "manifest-files.md5")).read() == \
        md5_b64(raw_files)
    s = json.loads(raw_sum)
    assert list(s) == ["version", "exportArn", "startTime", "endTime",
                       "tableArn", "tableId", "exportTime", "s3Bucket",
                       "s3Prefix", "s3SseAlgorithm", "s3SseKmsKeyId",
                       "manifestFilesS3Key", "billedSizeBytes", "itemCount",
                       "outputFormat"]
    assert s["version"] == "2020-06-30"
    assert s["exportArn"] == desc["ExportArn"]
    assert s["tableArn"] == desc["TableArn"]
    assert s["tableId"] == desc["TableId"]
    assert s["s3Bucket"] == desc["S3Bucket"]
    assert s["s3Prefix"] == desc.get("S3Prefix")
    assert s["s3SseAlgorithm"] == "AES256" and s["s3SseKmsKeyId"] is None
    assert s["outputFormat"] == "DYNAMODB_JSON"
    assert s["itemCount"] == desc["ItemCount"]
    assert s["billedSizeBytes"] == desc["BilledSizeBytes"]
    et = desc["ExportTime"].timestamp()
    assert s["exportTime"] == datetime.datetime.fromtimestamp(
        et, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
        "%03dZ" % (round(et * 1000) % 1000)
    assert s["startTime"] <= s["endTime"]
    assert s["manifestFilesS3Key"] == desc["ExportManifest"].replace(
        "manifest-summary.json", "manifest-files.json")
    items, total, listed = {}, 0, set()
    for line in raw_files.decode().splitlines():
        f = json.loads(line)
        assert list(f) == ["itemCount", "md5Checksum", "etag",
                           "dataFileS3Key"]
        data = open(os.path.join(root, f["dataFileS3Key"]), "rb").read()
        assert f["md5Checksum"] == md5_b64(data)
        assert f["etag"] == hashlib.md5(data).hexdigest()
        assert f["dataFileS3Key"].startswith(
            (desc.get("S3Prefix", "") + "/").lstrip("/") + "AWSDynamoDB/" +
            export_id + "/data/")
        assert f["dataFileS3Key"].endswith(".json.gz")
        assert len(os.path.basename(f["dataFileS3Key"])) == 26 + 8
        lines = gzip.decompress(data).decode().splitlines()
        assert len(lines) == f["itemCount"]
        for ln in lines:
            it = json.loads(ln)
            assert list(it) == ["Item"]
            items[key(it["Item"])] = it["Item"]
        total += f["itemCount"]
        listed.add(os.path.basename(f["dataFileS3Key"]))
    assert sorted(os.listdir(os.path.join(base, "data"))) == sorted(listed)
    assert total == s["itemCount"] == len(items)
    return s, items


# ------------------------------------------------------------------ servers

def start(tmp, name, extra=(), env=None):
    srv = harness.Server(os.path.join(tmp, name), log_dir=tmp, env=env,
                         extra_args=list(extra))
    srv.start()
    return srv


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("exports"))
    s = start(tmp, "data", ["--unsafe-test-clock"])
    s.tmp = tmp
    yield s
    rc = s.stop()
    assert rc == 0, s.stderr_text()


@pytest.fixture
def sraw(srv):
    c = harness.RawClient(srv.port)
    yield c
    c.close()


@pytest.fixture(scope="module")
def story(srv):
    """A notes table with PITR, changed in three rounds; exports now, at a
    past second and at a past millisecond."""
    c = harness.make_client(srv.url)
    raw = harness.RawClient(srv.port)
    out = os.path.join(srv.tmp, "out")
    os.makedirs(out)
    create_notes(c)
    put_many(c, [note(i) for i in range(200)])
    put_many(c, [note(i) for i in range(200, 300)])
    for i in range(50):
        c.update_item(TableName="notes", Key={"userId": {"S": "u%d" % (i % 3)},
                                              "noteId": {"S": "n%05d" % i}},
                      UpdateExpression="SET v = v + :d",
                      ExpressionAttributeValues={":d": {"N": "1000"}})
    for i in range(50, 60):
        c.delete_item(TableName="notes", Key={"userId": {"S": "u%d" % (i % 3)},
                                              "noteId": {"S": "n%05d" % i}})
    state_a = scan_all(c, "notes")
    t1 = advance(raw, 0)
    advance(raw, 2000)
    # after ExportTime: deletes, new items, updates
    for i in range(100, 150):
        c.delete_item(TableName="notes", Key={"userId": {"S": "u%d" % (i % 3)},
                                              "noteId": {"S": "n%05d" % i}})
    put_many(c, [note(i) for i in range(300, 350)])
    put_many(c, [note(i, v=-i, tag="later") for i in range(200, 220)])
    state_b = scan_all(c, "notes")
    assert state_a != state_b
    arn = harness.arn("notes")
    bucket = "file://" + out
    e_now = c.export_table_to_point_in_time(
        TableArn=arn, S3Bucket=bucket, S3Prefix="now")["ExportDescription"]
    sec = t1 // 1000 + 1    # a whole second after t1, before the changes
    e_sec = c.export_table_to_point_in_time(
        TableArn=arn, S3Bucket=bucket, S3Prefix="past/sec",
        ExportTime=datetime.datetime.fromtimestamp(
            sec, datetime.timezone.utc))["ExportDescription"]
    e_ms = raw.call("ExportTableToPointInTime", {
        "TableArn": arn, "S3Bucket": bucket, "S3Prefix": "past/ms",
        "ExportTime": (t1 + 1) / 1000.0})["ExportDescription"]
    raw.close()
    return dict(c=c, out=out, bucket=bucket, arn=arn, a=state_a, b=state_b,
                t1=t1, sec=sec, now=e_now, past=e_sec,
                ms=e_ms, done={})


def finished(story, which):
    if which not in story["done"]:
        d = wait_export(story["c"], story[which]["ExportArn"])
        assert d["ExportStatus"] == "COMPLETED", d
        story["done"][which] = d
    return story["done"][which]


# ------------------------------------------------------------------ exports

def test_export_answers_in_progress(story):
    d = story["now"]
    assert d["ExportStatus"] in ("IN_PROGRESS", "COMPLETED")
    assert d["ExportArn"].startswith(story["arn"] + "/export/")
    eid = d["ExportArn"].rsplit("/", 1)[1]
    assert len(eid) == 23 and eid[14] == "-" and eid[:14].isdigit()
    assert d["TableArn"] == story["arn"]
    assert harness.UUID_RE.match(d["TableId"])
    assert d["S3Bucket"] == story["bucket"] and d["S3Prefix"] == "now"
    assert d["ExportFormat"] == "DYNAMODB_JSON"
    assert d["S3SseAlgorithm"] == "AES256"
    assert d["ClientToken"]           # boto3 fills an idempotency token
    if d["ExportStatus"] == "IN_PROGRESS":
        for k in ("EndTime", "ItemCount", "BilledSizeBytes",
                  "ExportManifest", "FailureCode"):
            assert k not in d


def test_export_now_is_the_table_now(story):
    d = finished(story, "now")
    assert d["EndTime"] >= d["StartTime"]
    assert d["ExportTime"] == d["StartTime"]
    _, items = check_export_dir(story["out"], d)
    assert items == story["b"]
    assert d["ItemCount"] == len(story["b"])
    assert d["BilledSizeBytes"] > 0


def test_export_at_a_past_second(story):
    d = finished(story, "past")
    assert d["ExportTime"].timestamp() == story["sec"]
    _, items = check_export_dir(story["out"], d)
    assert items == story["a"]          # the later writes are absent
    assert ("u2", "n00149") in items and ("u2", "n00149") not in story["b"]


def test_export_at_a_past_millisecond(story):
    d = finished(story, "ms")
    assert round(d["ExportTime"].timestamp() * 1000) == story["t1"] + 1
    _, items = check_export_dir(story["out"], d)
    assert items == story["a"]


def test_describe_and_list_exports(story, srv):
    c = story["c"]
    for w in ("now", "past", "ms"):
        finished(story, w)
    got = c.list_exports(TableArn=story["arn"])
    arns = [s["ExportArn"] for s in got["ExportSummaries"]]
    assert arns[:3] == [story[w]["ExportArn"] for w in ("now", "past", "ms")]
    for s in got["ExportSummaries"][:3]:
        assert s["ExportStatus"] == "COMPLETED"
    # pages of one
    seen, kw = [], {}
    while True:
        p = c.list_exports(TableArn=story["arn"], MaxResults=1, **kw)
        assert len(p["ExportSummaries"]) <= 1
        seen += [s["ExportArn"] for s in p["ExportSummaries"]]
        if "NextToken" not in p:
            break
        kw = {"NextToken": p["NextToken"]}
    assert seen == arns
    assert c.list_exports(TableArn=harness.arn("other"))[
        "ExportSummaries"] == []


def test_export_with_the_aws_cli(story, srv):
    aws = harness.AwsCli(srv.url)
    # the CLI reads any argument starting with file:// as a file to load,
    # so a file:// destination goes in --cli-input-json (docs/compatibility)
    e = aws.error("export-table-to-point-in-time", "--table-arn",
                  story["arn"], "--s3-bucket", story["bucket"])
    assert "Unable to load paramfile" in e.stderr
    d = aws("export-table-to-point-in-time", "--cli-input-json",
            json.dumps({"TableArn": story["arn"], "S3Bucket": story["bucket"],
                        "S3Prefix": "cli"}),
            "--export-time", str(story["sec"]))["ExportDescription"]
    arn = d["ExportArn"]
    deadline = time.monotonic() + 60
    while d["ExportStatus"] == "IN_PROGRESS":
        assert time.monotonic() < deadline
        time.sleep(0.05)
        d = aws("describe-export", "--export-arn", arn)["ExportDescription"]
    assert d["ExportStatus"] == "COMPLETED"
    desc = story["c"].describe_export(ExportArn=arn)["ExportDescription"]
    _, items = check_export_dir(story["out"], desc)
    assert items == story["a"]
    listed = aws("list-exports", "--table-arn", story["arn"])
    assert arn in [s["ExportArn"] for s in listed["ExportSummaries"]]


def test_client_token(story, sraw):
    raw = sraw
    arn, bucket = story["arn"], story["bucket"]
    body = {"TableArn": arn, "S3Bucket": bucket, "S3Prefix": "tok",
            "ClientToken": "token-1", "ExportTime": story["sec"]}
    first = raw.call("ExportTableToPointInTime", body)["ExportDescription"]
    again = raw.call("ExportTableToPointInTime", body)["ExportDescription"]
    assert again["ExportArn"] == first["ExportArn"]
    assert again["ClientToken"] == "token-1"
    r = raw.request("ExportTableToPointInTime", dict(body, S3Prefix="other"))
    assert r.status == 400 and r.error_type() == "ExportConflictException"
    assert r.error_message() == ("Export conflict: Duplicate request "
                                 "detected with conflicting parameters")
    wait_export(story["c"], first["ExportArn"])


# ------------------------------------------------------------------ imports

def test_import_an_export_through_its_manifest(story):
    c = story["c"]
    d = finished(story, "past")
    prefix = os.path.dirname(d["ExportManifest"])      # .../AWSDynamoDB/<id>
    r = c.import_table(S3BucketSource={"S3Bucket": story["bucket"],
                                       "S3KeyPrefix": prefix},
                       InputFormat="DYNAMODB_JSON",
                       InputCompressionType="GZIP",
                       TableCreationParameters=creation("restored"))[
        "ImportTableDescription"]
    assert r["ImportStatus"] == "IN_PROGRESS"
    assert r["ImportArn"].startswith(harness.arn("restored") + "/import/")
    assert r["TableArn"] == harness.arn("restored")
    assert r["TableCreationParameters"]["TableName"] == "restored"
    assert r["S3BucketSource"] == {"S3Bucket": story["bucket"],
                                   "S3KeyPrefix": prefix}
    assert r["ErrorCount"] == 0 and r["InputCompressionType"] == "GZIP"
    t = c.describe_table(TableName="restored")["Table"]
    assert t["TableId"] == r["TableId"]
    assert t["TableStatus"] in ("CREATING", "ACTIVE")
    done = wait_import(c, r["ImportArn"])
    assert done["ImportStatus"] == "COMPLETED", done
    n = len(story["a"])
    assert done["ProcessedItemCount"] == n
    assert done["ImportedItemCount"] == n
    assert done["ErrorCount"] == 0
    data_dir = os.path.join(story["out"], prefix, "data")
    assert done["ProcessedSizeBytes"] == sum(
        os.path.getsize(os.path.join(data_dir, f))
        for f in os.listdir(data_dir))
    assert done["EndTime"] >= done["StartTime"]
    assert "FailureCode" not in done
    t = c.describe_table(TableName="restored")["Table"]
    assert t["TableStatus"] == "ACTIVE" and t["ItemCount"] == n
    assert scan_all(c, "restored") == story["a"]
    # the index was filled as the items arrived
    q = c.query(TableName="restored", IndexName="byTag",
                KeyConditionExpression="tag = :t",
                ExpressionAttributeValues={":t": {"S": "t1"}})["Items"]
    assert sorted(key(i) for i in q) == sorted(
        k for k, v in story["a"].items() if v["tag"]["S"] == "t1")


def test_import_a_data_prefix_with_the_aws_cli(story, srv):
    """DynamoDB's own rule: every object under the prefix (here the
    export's data/ directory)."""
    d = finished(story, "now")
    prefix = os.path.dirname(d["ExportManifest"]) + "/data/"
    aws = harness.AwsCli(srv.url)
    r = aws("import-table", "--s3-bucket-source",
            "S3Bucket=%s,S3KeyPrefix=%s" % (story["bucket"], prefix),
            "--input-format", "DYNAMODB_JSON",
            "--input-compression-type", "GZIP",
            "--table-creation-parameters",
            json.dumps(creation("fromcli")))["ImportTableDescription"]
    arn = r["ImportArn"]
    deadline = time.monotonic() + 60
    while r["ImportStatus"] == "IN_PROGRESS":
        assert time.monotonic() < deadline
        time.sleep(0.05)
        r = aws("describe-import", "--import-arn",
                arn)["ImportTableDescription"]
    assert r["ImportStatus"] == "COMPLETED", r
    assert r["ImportedItemCount"] == len(story["b"])
    assert scan_all(story["c"], "fromcli") == story["b"]
    listed = aws("list-imports", "--table-arn", harness.arn("fromcli"))
    assert [s["ImportArn"] for s in listed["ImportSummaryList"]] == [arn]
    s = listed["ImportSummaryList"][0]
    assert s["ImportStatus"] == "COMPLETED" and s["InputFormat"] == \
        "DYNAMODB_JSON"
    assert s["S3BucketSource"]["S3KeyPrefix"] == prefix


def write_source(root, name, lines, compress=None):
    os.makedirs(os.path.join(root, "src", name), exist_ok=True)
    data = "".join(lines).encode()
    path = os.path.join(root, "src", name, "part-1.json")
    if compress == "gzip":
        data, path = gzip.compress(data), path + ".gz"
    elif compress == "zstd":
        data = subprocess.run(["zstd", "-q", "-c"], input=data,
                              stdout=subprocess.PIPE, check=True).stdout
        path += ".zst"
    with open(path, "wb") as f:
        f.write(data)
    return "src/" + name + "/"


def line(item):
    return json.dumps({"Item": item}) + "\n"


def test_import_bad_lines(story):
    """DynamoDB: a bad line fails the import (ItemValidationError); the
    valid items stay in the ACTIVE table."""
    c = story["c"]
    good = [note(i) for i in range(5)]
    lines = [line(good[0]), "not json at all\n", line(good[1]), "\n",
             line({"userId": {"S": "u"}}),                   # no sort key
             line(good[2]),
             line(dict(note(9), noteId={"N": "9"})),         # wrong type
             json.dumps({"Items": good[3]}) + "\n",          # not "Item"
             line(good[3]), line(good[4])]
    prefix = write_source(story["out"], "bad", lines)
    r = c.import_table(S3BucketSource={"S3Bucket": story["bucket"],
                                       "S3KeyPrefix": prefix},
                       InputFormat="DYNAMODB_JSON",
                       TableCreationParameters=creation("badlines"))[
        "ImportTableDescription"]
    assert r["InputCompressionType"] == "NONE"
    d = wait_import(c, r["ImportArn"])
    assert d["ImportStatus"] == "FAILED"
    assert d["FailureCode"] == "ItemValidationError"
    assert d["ErrorCount"] == 4
    assert d["ProcessedItemCount"] == 9
    assert d["ImportedItemCount"] == 5
    assert "4 of 9 items could not be imported" in d["FailureMessage"]
    assert "line 2" in d["FailureMessage"]
    t = c.describe_table(TableName="badlines")["Table"]
    assert t["TableStatus"] == "ACTIVE" and t["ItemCount"] == 5
    assert scan_all(c, "badlines") == {key(i): i for i in good}


def test_import_zstd_and_a_wrong_compression(story):
    c = story["c"]
    items = [note(i) for i in range(30)]
    if shutil.which("zstd"):
        prefix = write_source(story["out"], "zstd", [line(i) for i in items],
                              "zstd")
        r = c.import_table(S3BucketSource={"S3Bucket": story["bucket"],
                                           "S3KeyPrefix": prefix},
                           InputFormat="DYNAMODB_JSON",
                           InputCompressionType="ZSTD",
                           TableCreationParameters=creation("fromzstd"))
        d = wait_import(c, r["ImportTableDescription"]["ImportArn"])
        assert d["ImportStatus"] == "COMPLETED", d
        assert scan_all(c, "fromzstd") == {key(i): i for i in items}
    # plain text declared GZIP: the file cannot be read
    prefix = write_source(story["out"], "plain", [line(i) for i in items])
    r = c.import_table(S3BucketSource={"S3Bucket": story["bucket"],
                                       "S3KeyPrefix": prefix},
                       InputFormat="DYNAMODB_JSON",
                       InputCompressionType="GZIP",
                       TableCreationParameters=creation("wronggz"))
    d = wait_import(c, r["ImportTableDescription"]["ImportArn"])
    assert d["ImportStatus"] == "FAILED"
    assert d["FailureCode"] == "S3ObjectUnreadable"
    assert d["ErrorCount"] == 1 and "gzip" in d["FailureMessage"]
    assert c.describe_table(TableName="wronggz")["Table"]["TableStatus"] == \
        "ACTIVE"


def test_import_from_nothing_removes_the_table(story):
    c = story["c"]
    for bucket, prefix, code in [
            (story["bucket"], "no/such/prefix/", "S3NoSuchKey"),
            ("file:///no/such/dir", "x", "S3NoSuchBucket")]:
        r = c.import_table(S3BucketSource={"S3Bucket": bucket,
                                           "S3KeyPrefix": prefix},
                           InputFormat="DYNAMODB_JSON",
                           TableCreationParameters=creation("gone"))
        d = wait_import(c, r["ImportTableDescription"]["ImportArn"])
        assert d["ImportStatus"] == "FAILED" and d["FailureCode"] == code, d
        assert d["ImportedItemCount"] == 0
        with pytest.raises(c.exceptions.ResourceNotFoundException):
            c.describe_table(TableName="gone")


def test_list_imports_pages(story):
    c = story["c"]
    every = c.list_imports()["ImportSummaryList"]
    assert len(every) >= 4
    seen, kw = [], {}
    while True:
        p = c.list_imports(PageSize=1, **kw)
        seen += [s["ImportArn"] for s in p["ImportSummaryList"]]
        if "NextToken" not in p:
            break
        assert len(p["NextToken"]) >= 112 and len(p["NextToken"]) % 16 == 0
        kw = {"NextToken": p["NextToken"]}
    assert seen == [s["ImportArn"] for s in every]


# ------------------------------------------------------------------ errors

def test_export_errors(story, sraw, srv):
    raw = sraw
    c = harness.make_client(srv.url, validate=False)
    arn, bucket = story["arn"], story["bucket"]

    def err(op, body, typ, msg=None, contains=None):
        r = raw.request(op, body)
        assert r.status == 400, r
        assert r.error_type() == typ, r
        if msg is not None:
            assert r.error_message() == msg, r
        if contains is not None:
            assert contains in r.error_message(), r
        return r.error_message()

    # check order: shape, what is refused, the ARN, the table, PITR, time
    err("ExportTableToPointInTime", {"S3Bucket": bucket},
        "ValidationException",
        "1 validation error detected: Value null at 'tableArn' failed to "
        "satisfy constraint: Member must not be null")
    err("ExportTableToPointInTime", {"TableArn": arn, "S3Bucket": "bad!x"},
        "ValidationException",
        "1 validation error detected: Value 'bad!x' at 's3Bucket' failed to "
        "satisfy constraint: Member must satisfy regular expression pattern:"
        " ^[a-z0-9A-Z]+[\\.\\-\\w]*[a-z0-9A-Z]+$")
    err("ExportTableToPointInTime", {"TableArn": arn, "S3Bucket": ""},
        "ValidationException", contains="'s3Bucket'")
    err("ExportTableToPointInTime", {"TableArn": arn, "S3Bucket": "b",
                                     "S3BucketOwner": "123"},
        "ValidationException", contains="[0-9]{12}")
    err("ExportTableToPointInTime", {"TableArn": arn, "S3Bucket": "bkt",
                                     "ExportFormat": "QWERTY"},
        "ValidationException",
        "1 validation error detected: Value 'QWERTY' at 'exportFormat' "
        "failed to satisfy constraint: Member must satisfy enum value set: "
        "[ION, DYNAMODB_JSON]")
    err("ExportTableToPointInTime", {"TableArn": arn, "S3Bucket": "bkt",
                                     "ExportType": "X"},
        "ValidationException", contains="'exportType'")
    err("ExportTableToPointInTime", {"TableArn": arn, "S3Bucket": "bkt",
                                     "ExportFormat": "ION"},
        "ValidationException", contains="ION is not supported by Tidemark")
    err("ExportTableToPointInTime", {"TableArn": arn, "S3Bucket": "bkt",
                                     "ExportType": "INCREMENTAL_EXPORT"},
        "ValidationException",
        contains="INCREMENTAL_EXPORT (and IncrementalExportSpecification) "
                 "is not supported")
    err("ExportTableToPointInTime", {"TableArn": "notes", "S3Bucket": "bkt"},
        "ValidationException", contains="is not a table ARN")
    err("ExportTableToPointInTime", {"TableArn": arn, "S3Bucket": bucket,
                                     "S3Prefix": "a/../b"},
        "ValidationException", contains="S3Prefix 'a/../b' cannot be used")
    err("ExportTableToPointInTime", {"TableArn": arn,
                                     "S3Bucket": "file://relative/dir"},
        "ValidationException", contains="not an absolute file:// path")
    err("ExportTableToPointInTime", {"TableArn": harness.arn("nope"),
                                     "S3Bucket": "bkt"},
        "TableNotFoundException", "Table not found: " + harness.arn("nope"))
    create_notes(c, name="nopitr", pitr=False)
    err("ExportTableToPointInTime", {"TableArn": harness.arn("nopitr"),
                                     "S3Bucket": "no-such-bucket"},
        "PointInTimeRecoveryUnavailableException",
        "Point in time recovery is not enabled for table 'nopitr'")
    for when in (time.time() + 3600, 0, story["t1"] / 1000 - 86400 * 3):
        m = err("ExportTableToPointInTime",
                {"TableArn": arn, "S3Bucket": "bkt", "ExportTime": when},
                "InvalidExportTimeException")
        assert m.startswith("Export Time is invalid: ExportTime '"), m
        assert "must be within EarliestRestorableDateTime" in m
    # boto3's view of the same
    with pytest.raises(c.exceptions.InvalidExportTimeException):
        c.export_table_to_point_in_time(
            TableArn=arn, S3Bucket="bkt",
            ExportTime=datetime.datetime(2001, 1, 1))
    with pytest.raises(c.exceptions.TableNotFoundException):
        c.export_table_to_point_in_time(TableArn=harness.arn("nope"),
                                        S3Bucket="bkt")
    # DescribeExport
    err("DescribeExport", {"ExportArn": "short"}, "ValidationException",
        "1 validation error detected: Value 'short' at 'exportArn' failed to"
        " satisfy constraint: Member must have length greater than or equal "
        "to 37")
    missing = arn + "/export/01700000000000-00000000"
    err("DescribeExport", {"ExportArn": missing}, "ExportNotFoundException",
        "Export not found: " + missing)
    with pytest.raises(c.exceptions.ExportNotFoundException):
        c.describe_export(ExportArn=missing)
    err("ListExports", {"MaxResults": 26}, "ValidationException",
        "1 validation error detected: Value '26' at 'maxResults' failed to "
        "satisfy constraint: Member must have value less than or equal to 25")
    err("ListExports", {"MaxResults": 0}, "ValidationException",
        contains="greater than or equal to 1")
    # a destination that is not there is accepted, then FAILED
    d = c.export_table_to_point_in_time(
        TableArn=arn, S3Bucket="file:///no/such/dir")["ExportDescription"]
    d = wait_export(c, d["ExportArn"])
    assert d["ExportStatus"] == "FAILED"
    assert d["FailureCode"] == "S3NoSuchBucket"
    assert "/no/such/dir does not exist" in d["FailureMessage"]
    assert "ExportManifest" not in d and "ItemCount" not in d
    assert d["EndTime"] >= d["StartTime"]


def test_import_errors(story, sraw, srv):
    raw = sraw
    c = harness.make_client(srv.url, validate=False)
    src = {"S3Bucket": story["bucket"], "S3KeyPrefix": "src/bad/"}

    def err(body, typ, msg=None, contains=None, op="ImportTable"):
        r = raw.request(op, body)
        assert r.status == 400, r
        assert r.error_type() == typ, r
        if msg is not None:
            assert r.error_message() == msg, r
        if contains is not None:
            assert contains in r.error_message(), r

    good = {"S3BucketSource": src, "InputFormat": "DYNAMODB_JSON",
            "TableCreationParameters": creation("imp1")}
    err({"InputFormat": "DYNAMODB_JSON"}, "ValidationException",
        "2 validation errors detected: Value null at 's3BucketSource' failed"
        " to satisfy constraint: Member must not be null; Value null at "
        "'tableCreationParameters' failed to satisfy constraint: Member must"
        " not be null")
    err(dict(good, InputFormat="XML"), "ValidationException",
        contains="at 'inputFormat' failed to satisfy constraint: Member must "
                 "satisfy enum value set")
    for fmt in ("CSV", "ION"):
        err(dict(good, InputFormat=fmt), "ValidationException",
            contains="InputFormat %s is not supported by Tidemark" % fmt)
    err(dict(good, S3BucketSource={"S3Bucket": "bad!"}),
        "ValidationException", contains="'s3BucketSource.s3Bucket'")
    err(dict(good, InputCompressionType="LZ4"), "ValidationException",
        contains="'inputCompressionType'")
    bad_keys = dict(creation("imp1"), KeySchema=[
        {"AttributeName": "nope", "KeyType": "HASH"}])
    err(dict(good, TableCreationParameters=bad_keys), "ValidationException",
        contains="Some index key attributes are not defined in "
                 "AttributeDefinitions")
    err(dict(good, TableCreationParameters=dict(creation("x"),
                                                TableName="ab")),
        "ValidationException",
        contains="at 'tableCreationParameters.tableName' failed to satisfy "
                 "constraint: Member must have length greater than or equal "
                 "to 3")
    err(dict(good, TableCreationParameters=creation("notes")),
        "ResourceInUseException", "Table already exists: notes")
    # ClientToken
    body = dict(good, ClientToken="imp-token")
    first = raw.call("ImportTable", body)["ImportTableDescription"]
    again = raw.call("ImportTable", body)["ImportTableDescription"]
    assert again["ImportArn"] == first["ImportArn"]
    err(dict(body, InputCompressionType="GZIP"), "ImportConflictException",
        "There was a conflict when importing from the specified S3 source. "
        "This can occur when the current import conflicts with a previous "
        "import request that had the same client token.")
    wait_import(c, first["ImportArn"])
    # DescribeImport, ListImports
    missing = harness.arn("imp1") + "/import/01700000000000-00000000"
    err({"ImportArn": missing}, "ImportNotFoundException",
        "Import not found: " + missing, op="DescribeImport")
    with pytest.raises(c.exceptions.ImportNotFoundException):
        c.describe_import(ImportArn=missing)
    err({"ImportArn": "x"}, "ValidationException",
        contains="at 'importArn' failed to satisfy constraint: Member must "
                 "have length greater than or equal to 37",
        op="DescribeImport")
    err({"PageSize": 26}, "ValidationException",
        contains="at 'pageSize' failed to satisfy constraint: Member must "
                 "have value less than or equal to 25", op="ListImports")
    err({"NextToken": "abc"}, "ValidationException",
        contains="Member must satisfy regular expression pattern: "
                 "([0-9a-f]{16})+", op="ListImports")


# ------------------------------------------------------------------ limits

def test_limits(tmp_path):
    """LimitExceededException past 300 exports and 50 imports in progress
    (two workers, slowed down: the others wait, IN_PROGRESS)."""
    srv = start(str(tmp_path), "data", ["--unsafe-test-slow-transfers"])
    try:
        c = harness.make_client(srv.url)
        out = tmp_path / "out"
        out.mkdir()
        create_notes(c)
        put_many(c, [note(i) for i in range(2000)])
        arn = harness.arn("notes")
        bucket = "file://%s" % out
        # each export takes a second: a few finish while the others queue
        refused = None
        for i in range(400):
            try:
                c.export_table_to_point_in_time(TableArn=arn, S3Bucket=bucket)
            except c.exceptions.LimitExceededException as e:
                refused = e.response["Error"]["Message"]
                break
        assert refused and i >= 300, (i, refused)
        assert refused.startswith("There are 300 exports in progress"), \
            refused
        inprog = [s for s in c.list_exports(MaxResults=25)[
            "ExportSummaries"] if s["ExportStatus"] == "IN_PROGRESS"]
        assert inprog
        src = write_source(str(out), "many", [line(note(i))
                                              for i in range(1000)])
        refused = None
        for i in range(100):
            try:
                c.import_table(S3BucketSource={"S3Bucket": bucket,
                                               "S3KeyPrefix": src},
                               InputFormat="DYNAMODB_JSON",
                               TableCreationParameters=creation(
                                   "imp%03d" % i))
            except c.exceptions.LimitExceededException as e:
                refused = e.response["Error"]["Message"]
                break
        assert refused and i >= 50, (i, refused)
        assert refused.startswith("There are 50 imports in progress")
        # the refused import created no table
        with pytest.raises(c.exceptions.ResourceNotFoundException):
            c.describe_table(TableName="imp%03d" % i)
    finally:
        # jobs in progress stop at an item boundary; the server exits 0
        assert srv.stop() == 0, srv.stderr_text()


# ------------------------------------------------------------------ restarts

def test_restart_during_an_export_and_an_import(tmp_path):
    tmp = str(tmp_path)
    out = os.path.join(tmp, "out")
    os.makedirs(out)
    bucket = "file://" + out
    srv = start(tmp, "data", ["--unsafe-test-slow-transfers"])
    c = harness.make_client(srv.url)
    create_notes(c)
    put_many(c, [note(i) for i in range(3000)])
    want = scan_all(c, "notes")
    d = c.export_table_to_point_in_time(TableArn=harness.arn("notes"),
                                        S3Bucket=bucket, S3Prefix="r")[
        "ExportDescription"]
    arn = d["ExportArn"]
    base = os.path.join(out, "r", "AWSDynamoDB", arn.rsplit("/", 1)[1])
    deadline = time.monotonic() + 20
    while not os.path.isdir(os.path.join(base, "data")):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.3)
    assert c.describe_export(ExportArn=arn)["ExportDescription"][
        "ExportStatus"] == "IN_PROGRESS"
    put_many(c, [note(i) for i in range(3000, 3100)])   # after ExportTime
    srv.kill()                                          # kill -9
    assert os.listdir(os.path.join(base, "data"))       # a partial file
    srv2 = harness.Server(srv.data_dir, log_dir=tmp)    # not slowed down
    srv2.start()
    try:
        c = harness.make_client(srv2.url)
        d = wait_export(c, arn)
        assert d["ExportStatus"] == "COMPLETED", d
        _, items = check_export_dir(out, d)    # nothing left of attempt 1
        assert items == want
        assert "was interrupted: it starts over" in srv2.stderr_text()
    finally:
        srv2.stop()
    # an import stopped twice: SIGTERM, then kill -9
    srv3 = start(tmp, "data", ["--unsafe-test-slow-transfers"])
    try:
        c = harness.make_client(srv3.url)
        r = c.import_table(S3BucketSource={"S3Bucket": bucket,
                                           "S3KeyPrefix": "r/AWSDynamoDB/" +
                                           arn.rsplit("/", 1)[1]},
                           InputFormat="DYNAMODB_JSON",
                           InputCompressionType="GZIP",
                           TableCreationParameters=creation("copy"))[
            "ImportTableDescription"]
        iarn = r["ImportArn"]
        deadline = time.monotonic() + 20
        while c.describe_import(ImportArn=iarn)["ImportTableDescription"][
                "ImportedItemCount"] == 0:
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        assert srv3.stop(signal.SIGTERM) == 0, srv3.stderr_text()
    srv4 = start(tmp, "data", ["--unsafe-test-slow-transfers"])
    c = harness.make_client(srv4.url)
    assert c.describe_import(ImportArn=iarn)["ImportTableDescription"][
        "ImportStatus"] == "IN_PROGRESS"
    assert c.describe_table(TableName="copy")["Table"]["TableStatus"] == \
        "CREATING"
    time.sleep(0.3)
    srv4.kill()
    srv5 = harness.Server(srv.data_dir, log_dir=tmp)
    srv5.start()
    try:
        c = harness.make_client(srv5.url)
        d = wait_import(c, iarn)
        assert d["ImportStatus"] == "COMPLETED", d
        assert d["ImportedItemCount"] == len(want) == d["ProcessedItemCount"]
        assert scan_all(c, "copy") == want
        assert c.describe_table(TableName="copy")["Table"]["ItemCount"] == \
            len(want)
    finally:
        assert srv5.stop() == 0, srv5.stderr_text()


# ------------------------------------------------------------------ Ceph RGW

def test_export_and_import_with_ceph_rgw(rgw, tmp_path):  # noqa: F811
    import boto3
    from botocore.config import Config
    env, url = rgw
    bucket = url[len("s3://"):].split("/", 1)[0]
    prefix = "exports-%s" % secrets.token_hex(3)
    s3 = boto3.client("s3", endpoint_url=env["S3_ENDPOINT"],
                      aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                      aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                      region_name=env.get("AWS_REGION", "us-east-1"),
                      config=Config(s3={"addressing_style": "path"}))
    srv = start(str(tmp_path), "data", ["--s3-endpoint", env["S3_ENDPOINT"]],
                env=env)
    try:
        c = harness.make_client(srv.url)
        create_notes(c)
        put_many(c, [note(i) for i in range(700)])
        want = scan_all(c, "notes")
        d = c.export_table_to_point_in_time(
            TableArn=harness.arn("notes"), S3Bucket=bucket,
            S3Prefix=prefix)["ExportDescription"]
        d = wait_export(c, d["ExportArn"])
        assert d["ExportStatus"] == "COMPLETED", d
        eid = d["ExportArn"].rsplit("/", 1)[1]
        base = "%s/AWSDynamoDB/%s/" % (prefix, eid)
        objs = {o["Key"]: o for o in s3.list_objects_v2(
            Bucket=bucket, Prefix=base)["Contents"]}
        names = sorted(k[len(base):] for k in objs)
        assert names[:1] == ["_started"] and names[-4:] == [
            "manifest-files.json", "manifest-files.md5",
            "manifest-summary.json", "manifest-summary.md5"]
        summary = s3.get_object(Bucket=bucket, Key=d["ExportManifest"])[
            "Body"].read()
        s = json.loads(summary)
        assert s["s3Bucket"] == bucket and s["s3Prefix"] == prefix
        assert s["itemCount"] == 700
        assert s3.get_object(Bucket=bucket, Key=base + "manifest-summary.md5")[
            "Body"].read().decode() == md5_b64(summary)
        files = s3.get_object(Bucket=bucket, Key=s["manifestFilesS3Key"])[
            "Body"].read().decode().splitlines()
        items = {}
        for ln in files:
            f = json.loads(ln)
            body = s3.get_object(Bucket=bucket, Key=f["dataFileS3Key"])[
                "Body"].read()
            assert f["md5Checksum"] == md5_b64(body)
            assert f["etag"] == objs[f["dataFileS3Key"]]["ETag"].strip('"')
            for x in gzip.decompress(body).decode().splitlines():
                it = json.loads(x)["Item"]
                items[key(it)] = it
        assert items == want
        # and back, from the bucket
        r = c.import_table(S3BucketSource={"S3Bucket": bucket,
                                           "S3KeyPrefix": base},
                           InputFormat="DYNAMODB_JSON",
                           InputCompressionType="GZIP",
                           TableCreationParameters=creation("fromrgw"))
        done = wait_import(c, r["ImportTableDescription"]["ImportArn"])
        assert done["ImportStatus"] == "COMPLETED", done
        assert scan_all(c, "fromrgw") == want
        # a bucket that does not exist: accepted, then FAILED
        d = c.export_table_to_point_in_time(
            TableArn=harness.arn("notes"),
            S3Bucket="no-such-bucket-%s" % secrets.token_hex(4))[
            "ExportDescription"]
        d = wait_export(c, d["ExportArn"])
        assert d["ExportStatus"] == "FAILED"
        assert d["FailureCode"] == "S3NoSuchBucket"
        assert "bucket does not exist" in d["FailureMessage"]
        r = c.import_table(S3BucketSource={"S3Bucket": "no-such-bucket-x1"},
                           InputFormat="DYNAMODB_JSON",
                           TableCreationParameters=creation("nobucket"))
        done = wait_import(c, r["ImportTableDescription"]["ImportArn"])
        assert done["ImportStatus"] == "FAILED"
        assert done["FailureCode"] == "S3NoSuchBucket"
        with pytest.raises(c.exceptions.ResourceNotFoundException):
            c.describe_table(TableName="nobucket")
    finally:
        srv.stop()
        for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get(
                "Contents", []):
            s3.delete_object(Bucket=bucket, Key=o["Key"])
