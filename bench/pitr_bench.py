#!/usr/bin/python3
"""Issue 6's benchmarks for point-in-time recovery (figures go to
bench/RESULTS.md):

  restore   a table of --items notes (1,000,000) with PITR enabled after
            the load (the keeper's base snapshot holds them all), then
            --items logged changes (every note overwritten once by
            BatchWriteItem); RestoreTableToPointInTime to a time just
            before the changes (base only) and to the latest time (base +
            every change replayed), --reps times each.  The replay rate is
            changes / (latest restore - base-only restore).  Goal: the
            latest restore under 30 s; replay at least 200,000 records/s.
  putitem   wrk PutItem (lua/putitem.lua, -t1 -c64, --wrk-duration s) on a
            table with PITR on against one with PITR off, alternating,
            --reps times.  Goal: within 10%.

Uses bench/backup_bench.py's server, client, loader and CPU meter (the
same pinning: wrk on CPU 0, the server on CPU 1, for the wrk part).
Environment: TIDEMARK_BIN (build/tidemark).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import backup_bench as bb  # noqa: E402


def log(msg):
    print(time.strftime("%H:%M:%S ") + msg, flush=True)


def wait_active(c, table, limit=3600):
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        st, out = c.call("DescribeTable", {"TableName": table})
        if st == 200 and out["Table"]["TableStatus"] == "ACTIVE":
            return time.monotonic() - t0, out["Table"]
        time.sleep(0.02)
    raise RuntimeError("%s not ACTIVE after %d s" % (table, limit))


def pitr_desc(c, table):
    st, out = c.call("DescribeContinuousBackups", {"TableName": table})
    if st != 200:
        raise RuntimeError("DescribeContinuousBackups %d %s" % (st, out))
    return out["ContinuousBackupsDescription"][
        "PointInTimeRecoveryDescription"]


def restore(srv, c, target, body):
    t0 = time.monotonic()
    st, out = c.call("RestoreTableToPointInTime",
                     dict(body, SourceTableName="notes",
                          TargetTableName=target))
    if st != 200:
        raise RuntimeError("RestoreTableToPointInTime %d %s" % (st, out))
    _, t = wait_active(c, target)
    dt = time.monotonic() - t0
    line = bb.server_restore_line(srv, target)
    c.call("DeleteTable", {"TableName": target})
    return dt, t["ItemCount"], line


def phase_restore(args, res, binary, tmp):
    d = os.path.join(tmp, "pitr-data")
    srv = bb.Server(binary, d, os.path.join(args.out, "server-pitr.log"))
    try:
        c = bb.Client(srv.port)
        bb.create_notes(c, "notes")
        m = bb.Meter()
        dt, rate, _ = bb.load(srv.port, "notes", "note", args.items,
                              args.loaders)
        log("loaded %d notes in %.1f s (%.0f items/s), other %.0f%%"
            % (args.items, dt, rate, m.stop()["other_pct"]))
        c.ok("UpdateContinuousBackups", {
            "TableName": "notes", "PointInTimeRecoverySpecification": {
                "PointInTimeRecoveryEnabled": True}})
        # the keeper's first base: EarliestRestorableDateTime appears
        t0 = time.monotonic()
        while True:
            p = pitr_desc(c, "notes")
            if p.get("EarliestRestorableDateTime") and \
                    time.monotonic() - t0 > 3:
                break
            time.sleep(0.2)
        time.sleep(1.5)          # the base written in the background
        before = pitr_desc(c, "notes")["LatestRestorableDateTime"]
        time.sleep(0.05)
        m = bb.Meter()
        dt, rate, _ = bb.load(srv.port, "notes", "note2", args.items,
                              args.loaders)
        log("%d changes logged in %.1f s (%.0f/s), other %.0f%%"
            % (args.items, dt, rate, m.stop()["other_pct"]))
        rows = []
        for r in range(args.reps):
            m = bb.Meter()
            base_s, n0, l0 = restore(srv, c, "base-only-%d" % r,
                                     {"RestoreDateTime": before})
            note0 = m.stop()
            m = bb.Meter()
            full_s, n1, l1 = restore(srv, c, "latest-%d" % r,
                                     {"UseLatestRestorableTime": True})
            note1 = m.stop()
            replay_rate = args.items / max(full_s - base_s, 1e-9)
            rows.append({"base_only_s": round(base_s, 2), "items0": n0,
                         "latest_s": round(full_s, 2), "items1": n1,
                         "replay_per_s": round(replay_rate),
                         "server_base": l0, "server_latest": l1,
                         "other_pct": [note0["other_pct"],
                                       note1["other_pct"]]})
            log("restore run %d: base only %.2f s (%d items), latest %.2f s "
                "(%d items): replay %.0f records/s; other %.0f%%/%.0f%%"
                % (r + 1, base_s, n0, full_s, n1, replay_rate,
                   note0["other_pct"], note1["other_pct"]))
        res["restore"] = rows
    finally:
        srv.stop()
        shutil.rmtree(d, ignore_errors=True)


def phase_putitem(args, res, binary, tmp):
    d = os.path.join(tmp, "pitr-put")
    srv = bb.Server(binary, d, os.path.join(args.out, "server-put.log"))
    try:
        c = bb.Client(srv.port)
        for name in ("notes", "notes_off"):
            bb.create_notes(c, name)
        c.ok("UpdateContinuousBackups", {
            "TableName": "notes", "PointInTimeRecoverySpecification": {
                "PointInTimeRecoveryEnabled": True}})
        subprocess.run(["taskset", "-a", "-p", "-c", "1", str(srv.p.pid)],
                       check=True, stdout=subprocess.DEVNULL)
        rows = []
        for r in range(args.reps):
            for table in ("notes", "notes_off"):
                env = dict(os.environ, BENCH_TABLE=table,
                           BENCH_ITEMS="1000000",
                           BENCH_RUN_TAG="p%d%s%d" % (r, table,
                                                      int(time.time())))
                cmd = ["taskset", "-c", "0", "wrk", "-t1", "-c64",
                       "-d%ds" % args.wrk_duration, "--timeout", "2s",
                       "-s", os.path.join(bb.LUA, "putitem.lua"),
                       "http://127.0.0.1:%d/" % srv.port]
                m = bb.Meter()
                out = subprocess.run(cmd, env=env, capture_output=True,
                                     text=True).stdout
                note = m.stop()
                mm = [ln for ln in out.splitlines()
                      if ln.startswith("BENCH_RESULT")]
                if not mm:
                    raise RuntimeError("wrk gave no result:\n" + out)
                kv = dict(x.split("=") for x in mm[0].split()[1:])
                row = {"rep": r, "pitr": table == "notes",
                       "rps": float(kv["rps"]),
                       "p99_ms": float(kv["p99_ms"]),
                       "errors": int(kv["status"]) + int(kv["timeout"]),
                       **note}
                rows.append(row)
                log("putitem PITR %-3s run %d: %.0f req/s p99 %.3f ms, "
                    "other %.0f%%" % ("on" if row["pitr"] else "off", r + 1,
                                      row["rps"], row["p99_ms"],
                                      note["other_pct"]))
        on = statistics.median(x["rps"] for x in rows if x["pitr"])
        off = statistics.median(x["rps"] for x in rows if not x["pitr"])
        log("putitem: PITR on %.0f req/s, off %.0f req/s: ratio %.3f"
            % (on, off, on / off))
        res["putitem"] = {"runs": rows, "on": on, "off": off,
                          "ratio": on / off}
    finally:
        srv.stop()
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--phases", default="restore,putitem")
    ap.add_argument("--items", type=int, default=1000000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--loaders", type=int, default=4)
    ap.add_argument("--wrk-duration", type=int, default=10)
    ap.add_argument("--out")
    ap.add_argument("--tmp", default=os.environ.get("TMPDIR", "/tmp"))
    args = ap.parse_args()
    binary = os.environ.get("TIDEMARK_BIN") or os.path.join(
        HERE, "..", "build", "tidemark")
    args.out = args.out or os.path.join(
        HERE, "out", "pitr-" + time.strftime("%Y-%m-%dT%H%M%S"))
    os.makedirs(args.out, exist_ok=True)
    log("binary %s; %s" % (binary, subprocess.run(
        ["uptime"], capture_output=True, text=True).stdout.strip()))
    res = {}
    phases = args.phases.split(",")
    if "restore" in phases:
        phase_restore(args, res, binary, args.tmp)
    if "putitem" in phases:
        phase_putitem(args, res, binary, args.tmp)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
    log("results in %s" % os.path.join(args.out, "results.json"))


if __name__ == "__main__":
    main()
