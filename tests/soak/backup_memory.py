#!/usr/bin/python3
"""Heap per backup (issue 7, "memory flat"): the server's anonymous
resident memory (RssAnon: heap and stacks, not LMDB's file-backed map)
across hundreds of CreateBackup + DeleteBackup cycles, and per backup kept.

A backup that is deleted must leave nothing behind; a backup that is kept
holds its description (table definition, ARN, sizes) in memory, which is
state, not a leak.  Prints KiB per cycle; exits 1 when create+delete grows
more than 1 KiB per cycle after warm-up.  Standalone (about a minute):

    make build/tidemark
    /usr/bin/python3 tests/soak/backup_memory.py   # TIDEMARK_BIN to override
"""
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "bench"))
import backup_bench as bb  # noqa: E402


def main():
    binary = os.environ.get("TIDEMARK_BIN",
                            os.path.join(ROOT, "build", "tidemark"))
    work = tempfile.mkdtemp(prefix="tm-backup-memory-")
    srv = bb.Server(binary, os.path.join(work, "data"),
                    os.path.join(work, "server.log"))
    try:
        c = bb.Client(srv.port)
        bb.create_notes(c, "notes")
        bb.load(srv.port, "notes", "note", 2000, 2)

        def anon():
            with open("/proc/%d/status" % srv.p.pid) as f:
                for line in f:
                    if line.startswith("RssAnon:"):
                        return int(line.split()[1])
            raise RuntimeError("no RssAnon")

        def cycle(n, keep, tag):
            for i in range(n):
                _, arn, _, _ = bb.create_backup_timed(
                    c, "notes", "bk-%s-%d" % (tag, i), poll=0.002)
                if not keep:
                    c.ok("DeleteBackup", {"BackupArn": arn})

        cycle(100, False, "warm")
        a0 = anon()
        cycle(300, False, "a")
        a1 = anon()
        cycle(300, False, "b")
        a2 = anon()
        cycle(300, True, "kept")
        a3 = anon()
        per = [(a1 - a0) / 300.0, (a2 - a1) / 300.0]
        print("create+delete: RssAnon %d -> %d -> %d KiB: %.2f and %.2f KiB "
              "per cycle" % (a0, a1, a2, per[0], per[1]))
        print("create and keep: %d -> %d KiB: %.2f KiB per kept backup"
              % (a2, a3, (a3 - a2) / 300.0))
        return 1 if max(per) > 1.0 else 0
    finally:
        srv.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
