"""On-demand backups kept in an S3-compatible object store
(`--backup-store s3://bucket/prefix --s3-endpoint URL`), against Ceph RGW
started by the ceph-s3 tool (skipped, with the reason, when the tool is
absent: see test_s3_client.py).

A backup becomes AVAILABLE once its two objects are uploaded and read
back; the data directory keeps only descriptions.  Another server with an
empty data directory, and the offline `tidemark backup` command, see and
restore the same backups.  When the store cannot be reached, a backup
stays CREATING with its local file kept, and is uploaded when the store
comes back, also across a restart.  A server whose store cannot be used
at start refuses to start and says why."""
import os
import secrets
import select
import signal
import socket
import subprocess
import threading
import time

import pytest
from botocore.exceptions import ClientError

import harness
from test_s3_client import drv, listed, rgw  # noqa: F401  (rgw: fixture)


def store_url(rgw_url, name):
    bucket = rgw_url[len("s3://"):].split("/", 1)[0]
    return "s3://%s/%s-%s" % (bucket, name, secrets.token_hex(3))


def server(tmp_path, env, url, name="data", endpoint=None, extra=()):
    srv = harness.Server(str(tmp_path / name), log_dir=str(tmp_path),
                         env=env,
                         extra_args=["--backup-store", url, "--s3-endpoint",
                                     endpoint or env["S3_ENDPOINT"],
                                     *extra])
    srv.start()
    return srv


def put_notes(c, n, table="notes"):
    harness.create_notes(c, name=table)
    want = {}
    for s in range(0, n, 25):
        items = [{"userId": {"S": "u%d" % (i % 9)},
                  "noteId": {"S": "n%05d" % i},
                  "body": {"S": "note %d " % i + "y" * (i % 300)}}
                 for i in range(s, min(n, s + 25))]
        c.batch_write_item(RequestItems={table: [
            {"PutRequest": {"Item": it}} for it in items]})
        for it in items:
            want[(it["userId"]["S"], it["noteId"]["S"])] = it
    return want


scan_all = harness.scan_notes
wait_active = harness.wait_table_active


def objects(env, url):
    return listed(drv(env, url, "list", ""))


def test_backup_lives_in_the_object_store(rgw, tmp_path):  # noqa: F811
    env, rurl = rgw
    url = store_url(rurl, "bk")
    srv = server(tmp_path, env, url)
    try:
        c = harness.make_client(srv.url)
        want = put_notes(c, 3000)
        arn = c.create_backup(TableName="notes",
                              BackupName="to-s3")["BackupDetails"]["BackupArn"]
        d = harness.wait_backup(c, arn)
        bid = arn.rsplit("/", 1)[1]
        objs = objects(env, url)
        assert set(objs) == {bid + ".tmbak", bid + ".json"}, objs
        assert objs[bid + ".tmbak"] > 1000
        local = sorted(os.listdir(tmp_path / "data" / "backups"))
        assert local == [bid + ".json"], local     # no rows file kept
        assert d["SourceTableDetails"]["ItemCount"] == 3000
        # restore downloads it; the table matches; the copy goes after
        c.restore_table_from_backup(TargetTableName="from-s3", BackupArn=arn)
        assert wait_active(c, "from-s3")["ItemCount"] == 3000
        assert scan_all(c, "from-s3") == want
        time.sleep(0.2)
        assert sorted(os.listdir(tmp_path / "data" / "backups")) == local
        # deleting the backup deletes its objects
        c.delete_backup(BackupArn=arn)
        assert objects(env, url) == {}
        assert os.listdir(tmp_path / "data" / "backups") == []
    finally:
        srv.stop()


def test_another_machine_and_the_offline_command(rgw, tmp_path):  # noqa: F811
    env, rurl = rgw
    url = store_url(rurl, "dr")
    first = server(tmp_path, env, url, name="first")
    try:
        c = harness.make_client(first.url)
        want = put_notes(c, 500)
        arn = c.create_backup(TableName="notes",
                              BackupName="dr-copy")["BackupDetails"][
            "BackupArn"]
        harness.wait_backup(c, arn)
        c.delete_table(TableName="notes")
    finally:
        first.stop()
    # the first machine is gone: a new data directory, the same store
    second = server(tmp_path, env, url, name="second")
    try:
        c = harness.make_client(second.url)
        listed_ = c.list_backups()["BackupSummaries"]
        assert [(b["BackupArn"], b["BackupStatus"]) for b in listed_] == [
            (arn, "AVAILABLE")]
        c.restore_table_from_backup(TargetTableName="notes", BackupArn=arn)
        wait_active(c, "notes")
        assert scan_all(c, "notes") == want
    finally:
        second.stop()
    # the offline command, without a server
    base = [harness.BINARY, "backup"]
    tail = ["--store", url, "--s3-endpoint", env["S3_ENDPOINT"]]
    r = subprocess.run(base + ["list"] + tail, env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert arn in r.stdout and "AVAILABLE" in r.stdout, r.stdout
    r = subprocess.run(base + ["verify", arn] + tail, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run(base + ["delete", arn] + tail, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "deleted" in r.stdout, r.stdout + r.stderr
    assert objects(env, url) == {}


class Proxy:
    """A TCP relay to the object store that can be cut and restored: while
    cut it accepts and closes at once (as a store that went away).
    hold(b"DELETE ") makes requests of that method wait (a store that does
    not answer them; others go on) and sets `stalled` when one waits;
    release() lets them go."""

    def __init__(self, port):
        self.up = True
        self.gate = threading.Event()
        self.gate.set()
        self.held = b""
        self.stalled = threading.Event()
        self.target = ("127.0.0.1", port)
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(64)
        self.port = self.ls.getsockname()[1]
        self.done = False
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while not self.done:
            try:
                a, _ = self.ls.accept()
            except OSError:
                return
            if not self.up:
                a.close()
                continue
            threading.Thread(target=self.pipe, args=(a,), daemon=True).start()

    def pipe(self, a):
        try:
            b = socket.create_connection(self.target)
        except OSError:
            a.close()
            return
        socks = [a, b]
        try:
            while self.up:
                r, _, _ = select.select(socks, [], [], 0.2)
                for s in r:
                    data = s.recv(65536)
                    if not data:
                        return
                    if (s is a and not self.gate.is_set() and
                            data.startswith(self.held)):
                        self.stalled.set()
                        self.gate.wait(60)
                    (b if s is a else a).sendall(data)
        except OSError:
            pass
        finally:
            a.close()
            b.close()

    def hold(self, method):
        self.held = method
        self.stalled.clear()
        self.gate.clear()

    def release(self):
        self.gate.set()

    def close(self):
        self.done = True
        self.gate.set()
        self.ls.close()


def proxied_server(tmp_path, env, url):
    """A server whose object store is reached through a Proxy."""
    proxy = Proxy(int(env["S3_ENDPOINT"].rsplit(":", 1)[1]))
    return proxy, server(tmp_path, env, url,
                         endpoint="http://127.0.0.1:%d" % proxy.port)


def test_store_away_keeps_creating_then_uploads(rgw, tmp_path):  # noqa: F811
    env, rurl = rgw
    url = store_url(rurl, "away")
    proxy, srv = proxied_server(tmp_path, env, url)
    try:
        c = harness.make_client(srv.url)
        want = put_notes(c, 200)
        proxy.up = False
        arn = c.create_backup(TableName="notes",
                              BackupName="while-away")["BackupDetails"][
            "BackupArn"]
        bid = arn.rsplit("/", 1)[1]
        time.sleep(3)
        d = c.describe_backup(BackupArn=arn)["BackupDescription"]
        assert d["BackupDetails"]["BackupStatus"] == "CREATING"
        assert (tmp_path / "data" / "backups" / (bid + ".tmbak")).exists()
        assert "upload to the object store failed" in srv.stderr_text()
        # stopped while it waits for the store: the next start (the store
        # back) resumes the upload from the local file
        srv.stop()
        proxy.up = True
        srv.start()
        c = harness.make_client(srv.url)
        harness.wait_backup(c, arn, timeout=90)
        assert "resumes its upload" in srv.stderr_text()
        objs = objects(env, url)
        assert set(objs) == {bid + ".tmbak", bid + ".json"}, objs
        assert not (tmp_path / "data" / "backups" / (bid + ".tmbak")).exists()
        c.restore_table_from_backup(TargetTableName="back", BackupArn=arn)
        wait_active(c, "back")
        assert scan_all(c, "back") == want
        # and without a restart: cut, back again, uploaded by the retries
        proxy.up = False
        arn2 = c.create_backup(TableName="notes",
                               BackupName="second-cut")["BackupDetails"][
            "BackupArn"]
        time.sleep(1.5)
        assert c.describe_backup(BackupArn=arn2)["BackupDescription"][
            "BackupDetails"]["BackupStatus"] == "CREATING"
        proxy.up = True
        harness.wait_backup(c, arn2, timeout=90)
    finally:
        proxy.up = True
        srv.stop()
        proxy.close()


def test_restore_while_the_backup_is_being_deleted(rgw, tmp_path):  # noqa: F811
    """DeleteBackup removes a remote backup's objects outside the store's
    lock and off the request threads (round trips to the store, held here
    until released): other connections are answered meanwhile; a
    RestoreTableFromBackup or a second DeleteBackup is refused, and nothing
    is left half made; a restore accepted before the delete keeps it until
    done."""
    env, rurl = rgw
    url = store_url(rurl, "racedel")
    proxy, srv = proxied_server(tmp_path, env, url)
    try:
        c = harness.make_client(srv.url)
        want = put_notes(c, 300)
        arn = c.create_backup(TableName="notes", BackupName="racy")[
            "BackupDetails"]["BackupArn"]
        harness.wait_backup(c, arn)
        # connections opened now, spread over the server's request threads
        others = [harness.make_client(srv.url, read_timeout=10)
                  for _ in range(8)]
        for o in others:
            o.list_tables()
        proxy.hold(b"DELETE ")
        done = {}

        def delete():
            try:
                done["d"] = harness.make_client(srv.url).delete_backup(
                    BackupArn=arn)["BackupDescription"]
            except Exception as e:  # noqa: BLE001 (reported below)
                done["e"] = e

        th = threading.Thread(target=delete)
        th.start()
        # the delete's first object removal is at the store, unanswered
        assert proxy.stalled.wait(30), "DeleteBackup never reached the store"
        # and every other connection is served meanwhile: the delete waits
        # on a job thread, not on a request thread that serves others
        for o in others:
            assert o.describe_backup(BackupArn=arn)[
                "BackupDescription"]["BackupDetails"]["BackupArn"] == arn
        with pytest.raises(ClientError) as ei:
            c.restore_table_from_backup(TargetTableName="late",
                                        BackupArn=arn)
        assert harness.error_of(ei) == (
            "BackupNotFoundException",
            "Backup not found: %s (it is being deleted)" % arn)
        with pytest.raises(ClientError) as ei:
            c.delete_backup(BackupArn=arn)
        assert harness.error_of(ei) == (
            "BackupInUseException", "Backup is being deleted: %s" % arn)
        proxy.release()
        th.join(60)
        assert "e" not in done, done
        assert done["d"]["BackupDetails"]["BackupStatus"] == "DELETED"
        assert objects(env, url) == {}
        assert "late" not in c.list_tables()["TableNames"]
        with pytest.raises(ClientError) as ei:
            c.describe_backup(BackupArn=arn)
        assert harness.error_of(ei)[0] == "BackupNotFoundException"
        # the other order: a restore holds the backup, the delete waits
        arn2 = c.create_backup(TableName="notes", BackupName="held")[
            "BackupDetails"]["BackupArn"]
        harness.wait_backup(c, arn2)
        c.restore_table_from_backup(TargetTableName="early", BackupArn=arn2)
        try:
            c.delete_backup(BackupArn=arn2)
            deleted_early = True        # the restore was already done
        except ClientError as e:
            assert e.response["Error"]["Code"] == "BackupInUseException"
            deleted_early = False
        assert wait_active(c, "early")["ItemCount"] == 300
        assert scan_all(c, "early") == want
        if not deleted_early:
            c.delete_backup(BackupArn=arn2)
        assert objects(env, url) == {}
    finally:
        proxy.release()
        srv.stop()
        proxy.close()


def test_unusable_store_refuses_to_start(rgw, tmp_path):  # noqa: F811
    env, rurl = rgw
    dead = "http://127.0.0.1:%d" % harness.free_port()
    srv = harness.Server(str(tmp_path / "data"), log_dir=str(tmp_path),
                         env=env, extra_args=[
                             "--backup-store", store_url(rurl, "x"),
                             "--s3-endpoint", dead])
    srv.spawn()
    assert srv.proc.wait(timeout=120) == 1
    text = srv.stderr_text()
    assert "cannot use the backup store" in text and dead in text, text
