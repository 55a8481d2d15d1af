"""Point-in-time recovery, the guide's story: a script corrupts and deletes
notes; the user restores the table as it was just before, into a new
table, to the millisecond (fractional RestoreDateTime over raw HTTP, as the
JavaScript SDK sends it) or to the second (boto3, the AWS CLI).
"""
import datetime
import time

import pytest

import harness


def note(i, v):
    return {"userId": {"S": "u"}, "noteId": {"S": "n%03d" % i},
            "v": {"N": str(v)}}


def wait_active(c, name, timeout=20):
    return harness.wait_table_active(c, name, timeout=timeout)


def scan_all(c, name):
    return {i["noteId"]["S"]: i
            for i in harness.scan_items(c, TableName=name)}


def test_describe_and_update(ddb_nv, notes):
    c = ddb_nv
    d = c.describe_continuous_backups(TableName="notes")[
        "ContinuousBackupsDescription"]
    assert d["ContinuousBackupsStatus"] == "ENABLED"
    assert d["PointInTimeRecoveryDescription"] == {
        "PointInTimeRecoveryStatus": "DISABLED"}
    d = c.update_continuous_backups(
        TableName="notes", PointInTimeRecoverySpecification={
            "PointInTimeRecoveryEnabled": True})["ContinuousBackupsDescription"]
    p = d["PointInTimeRecoveryDescription"]
    assert p["PointInTimeRecoveryStatus"] == "ENABLED"
    assert p["EarliestRestorableDateTime"] <= p["LatestRestorableDateTime"]
    with pytest.raises(c.exceptions.ClientError) as ei:
        c.describe_continuous_backups(TableName="nope")
    assert ei.value.response["Error"]["Code"] == "TableNotFoundException"
    assert ei.value.response["Error"]["Message"] == "Table not found: nope"
    c.update_continuous_backups(
        TableName="notes", PointInTimeRecoverySpecification={
            "PointInTimeRecoveryEnabled": False})
    assert c.describe_continuous_backups(TableName="notes")[
        "ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"] == {
        "PointInTimeRecoveryStatus": "DISABLED"}


def test_period_rules(raw, notes):
    r = raw.request("UpdateContinuousBackups", {
        "TableName": "notes", "PointInTimeRecoverySpecification": {
            "PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 36}})
    assert r.status == 400 and "recoveryPeriodInDays" in r.json["message"]
    r = raw.request("UpdateContinuousBackups", {
        "TableName": "notes", "PointInTimeRecoverySpecification": {
            "PointInTimeRecoveryEnabled": False, "RecoveryPeriodInDays": 7}})
    assert r.status == 400
    assert "Cannot specify RecoveryPeriodInDays when disabling" in \
        r.json["message"]
    r = raw.request("UpdateContinuousBackups", {
        "TableName": "notes", "PointInTimeRecoverySpecification": {
            "PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 7}})
    assert r.status == 200
    p = r.json["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert p["RecoveryPeriodInDays"] == 7


def test_restore_before_the_bad_script_to_the_millisecond(ddb, raw, notes):
    for i in range(60):
        ddb.put_item(TableName="notes", Item=note(i, 1))
    ddb.update_continuous_backups(TableName="notes",
                                  PointInTimeRecoverySpecification={
                                      "PointInTimeRecoveryEnabled": True})
    for i in range(60, 90):  # after the base snapshot: replayed from the log
        ddb.put_item(TableName="notes", Item=note(i, 2))
    ddb.update_item(TableName="notes", Key={"userId": {"S": "u"},
                                            "noteId": {"S": "n005"}},
                    UpdateExpression="SET v = :v",
                    ExpressionAttributeValues={":v": {"N": "3"}})
    good = scan_all(ddb, "notes")
    time.sleep(0.02)
    before_script = time.time()
    time.sleep(0.02)
    # the bad script: deletes half, corrupts the rest
    for i in range(0, 90, 2):
        ddb.delete_item(TableName="notes", Key={"userId": {"S": "u"},
                                                "noteId": {"S": "n%03d" % i}})
    for i in range(1, 90, 2):
        ddb.put_item(TableName="notes", Item=dict(note(i, 0),
                                                  v={"S": "garbage"}))
    r = raw.request("RestoreTableToPointInTime", {
        "SourceTableName": "notes", "TargetTableName": "notes-before",
        "RestoreDateTime": round(before_script, 3)})
    assert r.status == 200, r
    d = r.json["TableDescription"]
    assert d["TableStatus"] == "CREATING"
    assert d["RestoreSummary"]["RestoreInProgress"] is True
    assert d["RestoreSummary"]["SourceTableArn"] == harness.arn("notes")
    assert abs(d["RestoreSummary"]["RestoreDateTime"] - before_script) < 0.002
    wait_active(ddb, "notes-before")
    assert scan_all(ddb, "notes-before") == good
    # the live table still has the damage; latest restores it as it is
    ddb.restore_table_to_point_in_time(SourceTableName="notes",
                                       TargetTableName="notes-latest",
                                       UseLatestRestorableTime=True)
    wait_active(ddb, "notes-latest")
    assert scan_all(ddb, "notes-latest") == scan_all(ddb, "notes")


def test_restore_to_the_second_with_the_cli(aws, ddb, notes):
    ddb.update_continuous_backups(TableName="notes",
                                  PointInTimeRecoverySpecification={
                                      "PointInTimeRecoveryEnabled": True})
    ddb.put_item(TableName="notes", Item=note(1, 1))
    time.sleep(1.1)
    t = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    time.sleep(1.1)
    ddb.put_item(TableName="notes", Item=note(2, 2))
    out = aws("restore-table-to-point-in-time", "--source-table-name",
              "notes", "--target-table-name", "notes-cli",
              "--restore-date-time", t.isoformat())
    assert out["TableDescription"]["TableStatus"] == "CREATING"
    wait_active(ddb, "notes-cli")
    assert set(scan_all(ddb, "notes-cli")) == {"n001"}


@pytest.mark.parametrize("kw,code,text", [
    (dict(SourceTableName="notes", SourceTableArn=harness.arn("notes"),
          UseLatestRestorableTime=True), "ValidationException",
     "Must provide exactly one of: sourceTableArn, sourceTableName"),
    (dict(UseLatestRestorableTime=True), "ValidationException",
     "The parameter 'TableName' is required"),
    (dict(SourceTableName="notes"), "ValidationException",
     "Either one of RestoreDateTime or UseLatestRestorableTime must be "
     "specified"),
    (dict(SourceTableName="notes", UseLatestRestorableTime=True,
          RestoreDateTime=1.0), "ValidationException",
     "Both RestoreDateTime and UseLatestRestorableTime cannot be set"),
    (dict(SourceTableName="nope", UseLatestRestorableTime=True),
     "TableNotFoundException", "Table not found: nope"),
    (dict(SourceTableName="notes", RestoreDateTime=1.0),
     "InvalidRestoreTimeException", "must be within EarliestRestorableDateTime"),
    (dict(SourceTableName="notes", TargetTableName="notes",
          UseLatestRestorableTime=True), "TableAlreadyExistsException",
     "Table already exists: notes"),
])
def test_restore_errors(raw, ddb, notes, kw, code, text):
    ddb.update_continuous_backups(TableName="notes",
                                  PointInTimeRecoverySpecification={
                                      "PointInTimeRecoveryEnabled": True})
    body = dict({"TargetTableName": "target"}, **kw)
    r = raw.request("RestoreTableToPointInTime", body)
    assert r.status == 400, r
    assert r.json["__type"].endswith("#" + code)
    assert text in r.json["message"]
    assert "target" not in ddb.list_tables()["TableNames"]


def test_pitr_off_refuses_restore(raw, notes):
    r = raw.request("RestoreTableToPointInTime", {
        "SourceTableName": "notes", "TargetTableName": "target",
        "UseLatestRestorableTime": True})
    assert r.status == 400
    assert r.json["__type"].endswith(
        "#PointInTimeRecoveryUnavailableException")
    assert r.json["message"] == \
        "Point in time recovery is not enabled for table 'notes'"


def test_deleted_table_leaves_a_system_backup(ddb_nv, notes):
    c = ddb_nv
    for i in range(10):
        c.put_item(TableName="notes", Item=note(i, 7))
    c.update_continuous_backups(TableName="notes",
                                PointInTimeRecoverySpecification={
                                    "PointInTimeRecoveryEnabled": True})
    c.delete_table(TableName="notes")
    # (earlier tests' tables with PITR left SYSTEM backups too: this
    # server is shared by the module and the cleanup deletes tables)
    assert c.list_backups(TableName="notes")["BackupSummaries"] == []
    b = c.list_backups(TableName="notes",
                       BackupType="SYSTEM")["BackupSummaries"][-1]
    assert b["BackupName"] == "notes$DeletedTableBackup"
    assert b["BackupType"] == "SYSTEM"
    assert b["BackupArn"].endswith("-00000000")
    assert abs(b["BackupExpiryDateTime"].timestamp() -
               b["BackupCreationDateTime"].timestamp() - 35 * 86400) < 1
    assert b["BackupArn"] in [x["BackupArn"] for x in c.list_backups(
        BackupType="ALL")["BackupSummaries"]]
    with pytest.raises(c.exceptions.ClientError) as ei:
        c.delete_backup(BackupArn=b["BackupArn"])
    assert "User is not allowed to delete the system backup" in \
        ei.value.response["Error"]["Message"]
    c.restore_table_from_backup(TargetTableName="notes",
                                BackupArn=b["BackupArn"])
    wait_active(c, "notes")
    assert len(scan_all(c, "notes")) == 10


def clock(raw, ms):
    r = raw.request("TidemarkTest_20261125.AdvanceClock", {"Milliseconds": ms})
    assert r.status == 200, r
    return r.json["NowMs"]


@pytest.fixture
def moved(tmp_path):
    """A server whose clock tests may move (--unsafe-test-clock)."""
    srv = harness.Server(str(tmp_path / "data"), log_dir=str(tmp_path),
                         extra_args=["--unsafe-test-clock"])
    srv.start()
    yield srv
    srv.stop()


def test_clock_only_with_the_flag(raw):
    r = raw.request("TidemarkTest_20261125.AdvanceClock", {"Milliseconds": 1})
    assert r.status == 400
    assert r.json["__type"].endswith("#UnknownOperationException")


@pytest.mark.needs_binary
def test_window_moves_and_old_history_is_pruned(moved):
    """Days pass in seconds: new bases are taken, old ones pruned,
    EarliestRestorableDateTime moves, restores inside the window work and
    one before it is refused."""
    c = harness.make_client(moved.url)
    raw = harness.RawClient(moved.port)
    harness.create_notes(c)
    raw.call("UpdateContinuousBackups", {
        "TableName": "notes", "PointInTimeRecoverySpecification": {
            "PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 1}})
    states = []  # (time, the table then)
    for day in range(3):
        for i in range(5):
            c.put_item(TableName="notes", Item=note(day * 10 + i, day))
        time.sleep(0.01)
        t = clock(raw, 0) / 1000.0
        states.append((t, set(scan_all(c, "notes"))))
        time.sleep(0.01)
        clock(raw, 13 * 3600 * 1000)  # half a day and a bit
        time.sleep(1.5)  # the keeper's round
    # a day later still: the base the window started from is superseded
    clock(raw, 13 * 3600 * 1000)
    time.sleep(1.5)
    for i in range(3):
        c.put_item(TableName="notes", Item=note(90 + i, 9))
    time.sleep(0.01)
    states.append((clock(raw, 0) / 1000.0, set(scan_all(c, "notes"))))
    d = raw.call("DescribeContinuousBackups", {"TableName": "notes"})
    p = d["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    now = clock(raw, 0) / 1000.0
    assert abs(p["EarliestRestorableDateTime"] - (now - 86400)) < 5
    # day 0 is now outside the 1-day window: refused
    r = raw.request("RestoreTableToPointInTime", {
        "SourceTableName": "notes", "TargetTableName": "old",
        "RestoreDateTime": states[0][0]})
    assert r.status == 400
    assert r.json["__type"].endswith("#InvalidRestoreTimeException")
    # the last state is inside: restored exactly
    t, want = states[-1]
    raw.call("RestoreTableToPointInTime", {
        "SourceTableName": "notes", "TargetTableName": "recent",
        "RestoreDateTime": t})
    wait_active(c, "recent")
    assert set(scan_all(c, "recent")) == want
    assert "pruned" in moved.stderr_text()
    raw.close()
