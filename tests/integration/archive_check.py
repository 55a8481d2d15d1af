"""What the archive tests share (test_archive.py, test_archive_faults.py,
tests/crash/test_powercut_archive.py), as a plain module without pytest
marks, so that tests/crash can import it too: the data directory's side
of the archive (log segments, bases, the progress file data/archive.json)
and the store's side (Store: the objects under a prefix, a segment
reassembled from its chunks), and the checks that compare them:

- claims_hold: archive.json never claims more than the store holds;
- store_equals_local: after catching up, the store's copy of every needed
  segment is the local file, byte for byte, and every local base is there;
- store_is_prefix_of_local: every archived segment still on disk is a
  prefix of it (after a power cut: nothing shipped that the cut took).
"""
import json
import os
import time

import boto3
from botocore.config import Config

DAY = 24 * 3600 * 1000


def chunks(objs):
    """{segment first LSN: bytes covered from 0} of archive/wal/ keys."""
    segs = {}
    for key, size in objs.items():
        if not key.startswith("archive/wal/"):
            continue
        seg, off = key[len("archive/wal/"):].split("/")
        first = int(seg[:-len(".wal")])
        segs.setdefault(first, []).append((int(off), size))
    covered = {}
    for first, v in segs.items():
        end = 0
        for off, size in sorted(v):
            if off > end:
                break
            end = max(end, off + size)
        covered[first] = end
    return covered


def now_ms(raw, advance=0):
    return raw.call("TidemarkTest_20261125.AdvanceClock",
                    {"Milliseconds": advance})["NowMs"]


def local_segments(data):
    return sorted(int(n[:-4]) for n in os.listdir(os.path.join(data, "wal"))
                  if n.endswith(".wal"))


def local_bases(data):
    out = []
    d = os.path.join(data, "backups")
    for n in os.listdir(d):
        if n.endswith(".json"):
            with open(os.path.join(d, n)) as f:
                b = json.load(f)
            if b["type"] == "BASE":
                out.append(b)
    return sorted(out, key=lambda b: b["created"])


def caught_up(data):
    """The archive holds every byte of the local log and every local base
    (its progress file against the newest segment's size and the backup
    store's bases)."""
    try:
        with open(os.path.join(data, "archive.json")) as f:
            p = json.load(f)
    except (OSError, ValueError):
        return False
    segs = local_segments(data)
    newest = segs[-1]
    size = os.path.getsize(os.path.join(data, "wal", "%020d.wal" % newest))
    entry = [s for s in p["segments"] if s["first"] == newest]
    shipped = {b["id"] for b in p["bases"] if b["up"]}
    return (p["uploaded_to"] == newest and entry and entry[0]["up"] == size
            and shipped == {b["id"] for b in local_bases(data)})


def wait_for(what, fn, timeout=60, every=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(every)


def wait_bases(data, n, timeout=30):
    return wait_for("%d local bases" % n,
                    lambda: len(local_bases(data)) == n and local_bases(data),
                    timeout)


def progress(data):
    """data/archive.json, parsed."""
    with open(os.path.join(data, "archive.json")) as f:
        return json.load(f)


class Store:
    """The archive under the prefix of `url` (s3://bucket/prefix), read
    directly with boto3 (env: the rgw fixture's)."""

    def __init__(self, env, url):
        self.s3 = boto3.client(
            "s3", endpoint_url=env["S3_ENDPOINT"], region_name="us-east-1",
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            config=Config(s3={"addressing_style": "path"},
                          retries={"total_max_attempts": 3}))
        self.bucket, self.prefix = url[len("s3://"):].split("/", 1)

    def objects(self):
        """{key relative to the prefix: size} under archive/."""
        out = {}
        for page in self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix + "/archive/"):
            for o in page.get("Contents", []):
                out[o["Key"][len(self.prefix) + 1:]] = o["Size"]
        return out

    def segment(self, objs, first):
        """The bytes of segment `first` as its chunks in `objs` (a listing)
        reassemble it, each written at its offset; a hole fails."""
        out = bytearray()
        pre = "archive/wal/%020d.wal/" % first
        for key in sorted(k for k in objs if k.startswith(pre)):
            off = int(key[len(pre):])
            body = self.s3.get_object(
                Bucket=self.bucket,
                Key=self.prefix + "/" + key)["Body"].read()
            assert off <= len(out), "a hole in segment %d before byte %d" % (
                first, off)
            out[off:off + len(body)] = body
        return bytes(out)

    def delete_all(self):
        """Everything under the prefix (the store may be shared)."""
        for page in self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix + "/"):
            for o in page.get("Contents", []):
                self.s3.delete_object(Bucket=self.bucket, Key=o["Key"])


def claims_hold(store, data, where):
    """data/archive.json never claims more than the store holds: each
    segment it lists is covered in the store up to the bytes it says were
    shipped, and each base it calls uploaded is there.  The file is read
    first, then the store listed (a chunk is only ever deleted once a
    larger one covering it is in the store)."""
    try:
        p = progress(data)
    except ValueError as e:
        raise AssertionError("%s: archive.json is not a whole JSON file: %s"
                             % (where, e))
    objs = store.objects()
    cov = chunks(objs)
    for s in p["segments"]:
        assert cov.get(s["first"], 0) >= s["up"], (
            "%s: archive.json says %d bytes of segment %d were shipped, the "
            "store covers %d" % (where, s["up"], s["first"],
                                 cov.get(s["first"], 0)))
    for b in p["bases"]:
        for ext in ("tmbak", "json") if b["up"] else ():
            assert "archive/bases/%s.%s" % (b["id"], ext) in objs, (
                "%s: archive.json says base %s was shipped; the store has no"
                " .%s" % (where, b["id"], ext))


def _first_difference(a, b):
    n = min(len(a), len(b))
    return next((k for k in range(n) if a[k] != b[k]), n)


def store_equals_local(store, data, where, done=None):
    """Byte for byte: every local segment a restore may need (from the one
    holding the oldest local base's LSN + 1 on) is in the store as it is on
    disk, and every local base is there.  `done`, a set, skips the closed
    segments already compared and receives those compared now.  Returns
    the bytes compared."""
    objs = store.objects()
    bases = local_bases(data)
    need = min(b["lsn"] for b in bases) + 1
    segs = local_segments(data)
    compared = 0
    for i, seg in enumerate(segs):
        if i + 1 < len(segs) and segs[i + 1] <= need:
            continue        # wholly older than every base: not needed
        closed = i + 1 < len(segs)
        if done is not None and closed and seg in done:
            continue        # closed segments never change
        with open(os.path.join(data, "wal", "%020d.wal" % seg), "rb") as f:
            local = f.read()
        got = store.segment(objs, seg)
        assert got == local, (
            "%s: segment %d: the store holds %d bytes, the disk %d; first "
            "difference at byte %d" % (where, seg, len(got), len(local),
                                       _first_difference(got, local)))
        compared += len(local)
        if done is not None and closed:
            done.add(seg)
    for b in bases:
        for ext in ("tmbak", "json"):
            assert "archive/bases/%s.%s" % (b["id"], ext) in objs, (
                "%s: local base %s is not in the store" % (where, b["id"]))
    return compared


def store_is_prefix_of_local(store, data, where, done=None):
    """Every archived segment still on the local disk: its bytes in the
    store are the first bytes of the local file (after a power cut: the
    archive shipped nothing that the cut took from the log).  `done` as
    for store_equals_local.  Returns the bytes compared."""
    objs = store.objects()
    segs = local_segments(data)
    compared = 0
    for first in sorted(chunks(objs)):
        if first not in segs:
            continue        # checkpointed away locally: shipped whole
        closed = first != segs[-1]
        if done is not None and closed and first in done:
            continue
        with open(os.path.join(data, "wal", "%020d.wal" % first), "rb") as f:
            disk = f.read()
        got = store.segment(objs, first)
        assert len(got) <= len(disk) and disk[:len(got)] == got, (
            "%s: segment %d: the store's %d bytes are not the first bytes of"
            " the %d on disk (first difference at byte %d)" % (
                where, first, len(got), len(disk),
                _first_difference(got, disk)))
        compared += len(got)
        if done is not None and closed and len(got) == len(disk):
            done.add(first)
    return compared
