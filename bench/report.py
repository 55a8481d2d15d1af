#!/usr/bin/env python3
"""Summarise a bench/run.sh run: table, ratios, targets, JSON copy.

usage: report.py RESULTS_TSV FAILURES_TXT OUT_JSON RAW_DIR

RESULTS_TSV has one line per wrk run (written by run.sh); settings come from
the BENCH_* environment run.sh exports.  Exit status 1 when any run had
errors or any target failed, else 0.
"""

import datetime
import json
import os
import platform
import re
import subprocess
import sys

FIELDS = ["target", "op", "conns", "rep", "rps", "p50_ms", "p90_ms", "p99_ms",
          "mean_ms", "max_ms", "requests", "duration_s", "connect", "read",
          "write", "status", "timeout", "misses", "other_cpu_pct", "fsyncs"]
ERROR_FIELDS = ["connect", "read", "write", "status", "timeout", "misses"]
ORDER = ["nginx", "dynalite", "tidemark-full", "tidemark-off"]
OP_ORDER = ["getitem", "putitem", "updateitem", "query", "batchwrite", "scan",
            "put-gsi0", "put-gsi2"]


def items_per_request(op, env):
    """Items a request of this op writes or reads (items/s = this x req/s)."""
    if op == "batchwrite":
        return int(env.get("BENCH_BATCH", "25"))
    if op == "scan":
        return int(env.get("BENCH_SCAN_LIMIT", "1000"))
    if op == "query":
        return int(env.get("BENCH_QUERY_PAGE", "100"))
    return 1

# What we hold the server to (bench/README.md).
GET_TARGET = 0.70        # tidemark GetItem req/s vs nginx, any conns
PUT_TARGET = 0.50        # durable PutItem req/s vs nginx at PUT_CONNS
PUT_CONNS = 64

# A run is noisy when other processes used more than this share of a core
# while it ran (run.sh's "other CPU"; a quiet machine shows 0-5%).
NOISY_PCT = 10


def cmd(args):
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=10)
        return (out.stdout + out.stderr).strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine():
    cpu = ""
    for line in cmd(["lscpu"]).splitlines():
        if line.startswith("Model name:"):
            cpu = line.split(":", 1)[1].strip()
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            mem = "%.1f GiB" % (kb / 1048576)
    except (OSError, ValueError, IndexError):
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory": mem,
            "kernel": platform.release(), "hostname": platform.node()}


def tools(root):
    wrk = cmd(["wrk", "-v"]).splitlines()
    nginx = cmd(["nginx", "-v"]) or cmd(["/usr/sbin/nginx", "-v"])
    dynalite = ""
    try:
        with open(os.path.join(root, "bench/node_modules/dynalite/package.json")) as f:
            dynalite = json.load(f).get("version", "")
    except (OSError, ValueError):
        pass
    version = ""
    try:
        with open(os.path.join(root, "VERSION")) as f:
            version = f.read().strip()
    except OSError:
        pass
    commit = cmd(["git", "-C", root, "rev-parse", "--short", "HEAD"])
    if not re.fullmatch(r"[0-9a-f]{4,40}", commit):
        commit = ""
    return {"wrk": wrk[0] if wrk else "",
            "nginx": nginx.replace("nginx version: ", ""),
            "node": cmd(["node", "--version"]),
            "dynalite": dynalite,
            "tidemark_version": version,
            "git_commit": commit}


def load_runs(path):
    runs = []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != len(FIELDS):
                continue
            run = dict(zip(FIELDS, parts))
            for k in FIELDS[2:]:
                run[k] = float(run[k]) if "." in run[k] else int(run[k])
            run["errors"] = sum(run[k] for k in ERROR_FIELDS)
            # fsync + fdatasync calls of the server during the run (-1: not
            # counted), per acknowledged (2xx) request.
            acked = run["requests"] - run["status"]
            run["fsyncs_per_ack"] = (round(run["fsyncs"] / acked, 4)
                                     if run["fsyncs"] >= 0 and acked > 0 else None)
            runs.append(run)
    return runs


def summarise(runs):
    """One row per (target, op, conns): the figures of the median-req/s run
    (the lower middle one for an even count) among its quiet runs, or among
    all of them when none was quiet; errors summed over every run."""
    groups = {}
    for run in runs:
        groups.setdefault((run["target"], run["op"], run["conns"]), []).append(run)
    rows = []
    for key, group in groups.items():
        quiet = [r for r in group if r["other_cpu_pct"] <= NOISY_PCT]
        pool = sorted(quiet or group, key=lambda r: r["rps"])
        row = dict(pool[(len(pool) - 1) // 2])
        del row["rep"]
        for k in ERROR_FIELDS + ["errors"]:
            row[k] = sum(r[k] for r in group)
        row["runs"] = len(group)
        row["runs_quiet"] = len(quiet)
        row["rps_all"] = [r["rps"] for r in group]
        row["ok"] = row["errors"] == 0
        row["items_per_s"] = round(row["rps"] * items_per_request(row["op"], os.environ), 1)
        rows.append(row)
    return rows


def fmt_errors(row):
    if row["ok"]:
        return "0"
    bits = []
    names = {"status": "non-2xx", "misses": "missing-item", "timeout": "timeout",
             "connect": "connect", "read": "read", "write": "write"}
    for k in ["status", "misses", "timeout", "connect", "read", "write"]:
        if row[k]:
            bits.append("%d %s" % (row[k], names[k]))
    return "%d ERRORS (%s)" % (row["errors"], ", ".join(bits))


def main():
    results_tsv, failures_txt, out_json, raw_dir = sys.argv[1:5]
    lines = []  # printed after the JSON is written

    def say(s=""):
        lines.append(s)

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = os.environ
    runs = load_runs(results_tsv)
    rows = summarise(runs)
    with open(failures_txt) as f:
        failures = [l.strip() for l in f if l.strip()]
    tidemark_skipped = env.get("BENCH_TIDEMARK_SKIPPED") == "1"

    rank = {t: i for i, t in enumerate(ORDER)}
    seen = []
    for r in rows:
        if r["target"] not in seen:
            seen.append(r["target"])
    def op_rank(op):
        return OP_ORDER.index(op) if op in OP_ORDER else len(OP_ORDER)
    rows.sort(key=lambda r: (op_rank(r["op"]), r["op"],
                             rank.get(r["target"], len(ORDER) + seen.index(r["target"])),
                             r["conns"]))
    by = {(r["target"], r["op"], r["conns"]): r for r in rows}
    combos = sorted({(r["op"], r["conns"]) for r in rows},
                    key=lambda oc: (op_rank(oc[0]), oc[0], oc[1]))

    repeat = int(env.get("BENCH_REPEAT", "1"))
    say()
    if repeat > 1:
        say("(each row: the median-req/s run of %d, leaving out noisy runs (other > %d%%)"
            " when a quiet one exists; errors of all runs)" % (repeat, NOISY_PCT))
    say("%-16s %-10s %5s %10s %10s %8s %8s %6s %8s  %s" %
          ("target", "op", "conns", "req/s", "items/s", "p50 ms", "p99 ms",
           "other", "fsync/wr", "errors"))
    for r in rows:
        ipr = items_per_request(r["op"], env)
        say("%-16s %-10s %5d %10.0f %10s %8.2f %8.2f %5d%% %8s  %s" %
              (r["target"], r["op"], r["conns"], r["rps"],
               "%.0f" % r["items_per_s"] if ipr > 1 else "",
               r["p50_ms"], r["p99_ms"], r["other_cpu_pct"],
               "%.3f" % r["fsyncs_per_ack"] if r["fsyncs_per_ack"] is not None else "",
               fmt_errors(r)))
    if not rows:
        say("(no runs)")

    # Ratios of req/s, same op and connection count.
    pairs = [("tidemark-full", "dynalite"), ("tidemark-off", "dynalite"),
             ("tidemark-full", "nginx"), ("tidemark-off", "nginx"),
             ("dynalite", "nginx")]
    for t in seen:
        if t not in ORDER:
            pairs += [(t, "dynalite"), (t, "nginx")]
    ratios = []
    say()
    if tidemark_skipped:
        say("tidemark: %s not found, skipped" % env.get("TIDEMARK_BIN", "build/tidemark"))
    say("ratios (req/s, same op and conns; 1.00x = as fast):")
    # gsi-write: the same target's put-gsi2 over its put-gsi0.
    gsi = [(t + ":put-gsi2", t + ":put-gsi0") for t in seen
           if any((t, "put-gsi2", c) in by for _, c in combos)]
    for op, c in combos + [("gsi", c) for c in sorted({c for _, c in combos})]:
        for a, b in (gsi if op == "gsi" else pairs):
            if op == "gsi":
                (ta, oa), (tb, ob) = a.split(":"), b.split(":")
            else:
                ta, oa, tb, ob = a, op, b, op
            ra, rb = by.get((ta, oa, c)), by.get((tb, ob, c))
            label = "%-26s %-10s c%-4d" % (
                (ta + " gsi2/gsi0") if op == "gsi" else (a + "/" + b),
                "put" if op == "gsi" else op, c)
            entry = {"numerator": a, "denominator": b, "op": op, "conns": c,
                     "ratio": None, "note": "", "noisy": False}
            if ta.startswith("tidemark") and tidemark_skipped:
                entry["note"] = "tidemark skipped"
            elif ra is None or rb is None:
                if ra is None and rb is None:
                    continue
                if rb is None and tb in ("nginx", "dynalite"):
                    continue   # no reference for this op (nginx: get/put only)
                entry["note"] = "%s not measured" % (a if ra is None else b)
            elif not (ra["ok"] and rb["ok"]):
                entry["note"] = "errors in %s run" % (
                    " and ".join(x["target"] for x in (ra, rb) if not x["ok"]))
            else:
                entry["ratio"] = round(ra["rps"] / rb["rps"], 4)
                entry["noisy"] = any(x["other_cpu_pct"] > NOISY_PCT for x in (ra, rb))
            ratios.append(entry)
            if entry["ratio"] is not None:
                say("  %s %6.2fx%s" % (label, entry["ratio"],
                                       "  (noisy)" if entry["noisy"] else ""))
            else:
                say("  %s    n/a (%s)" % (label, entry["note"]))

    # The targets in bench/README.md.
    checks = []

    def check(name, op, c, want):
        t, n = by.get(("tidemark-full", op, c)), by.get(("nginx", op, c))
        entry = {"check": name, "op": op, "conns": c, "want": want,
                 "ratio": None, "result": "", "noisy": False}
        if tidemark_skipped:
            entry["result"] = "n/a (tidemark skipped)"
        elif t is None or n is None:
            entry["result"] = "not measured"
        elif not (t["ok"] and n["ok"]):
            entry["result"] = "n/a (errors)"
        else:
            entry["ratio"] = round(t["rps"] / n["rps"], 4)
            entry["result"] = "PASS" if entry["ratio"] >= want else "FAIL"
            if any(x["other_cpu_pct"] > NOISY_PCT for x in (t, n)):
                entry["result"] += " (noisy run: not a result)"
                entry["noisy"] = True
        checks.append(entry)

    conns = sorted({c for _, c in combos})
    for c in conns:
        check("GetItem >= 70% of nginx", "getitem", c, GET_TARGET)
    if PUT_CONNS in conns or tidemark_skipped:
        check("durable PutItem >= 50% of nginx at c64", "putitem", PUT_CONNS, PUT_TARGET)
    else:
        checks.append({"check": "durable PutItem >= 50% of nginx at c64",
                       "op": "putitem", "conns": PUT_CONNS, "want": PUT_TARGET,
                       "ratio": None,
                       "result": 'not measured (add 64 to BENCH_CONNS, e.g. BENCH_CONNS="16 64")'})
    say()
    say("targets (tidemark-full vs nginx):")
    for e in checks:
        r = "%.0f%%, " % (100 * e["ratio"]) if e["ratio"] is not None else ""
        say("  %-40s c%-4d %s%s" % (e["check"], e["conns"], r, e["result"]))

    noisy = [r for r in runs if r["other_cpu_pct"] > NOISY_PCT]
    if noisy:
        say()
        say("NOISY: other processes used more than %d%% of a core during %d of %d runs"
            % (NOISY_PCT, len(noisy), len(runs)))
        say("  (" + ", ".join("%s %s c%d%s %d%%" % (
            r["target"], r["op"], r["conns"],
            " run %d" % r["rep"] if repeat > 1 else "", r["other_cpu_pct"])
            for r in noisy) + ")")
        if repeat > 1:
            noisy_rows = [r for r in rows if r["runs_quiet"] == 0]
            if noisy_rows:
                say("  rows with no quiet run: " + ", ".join(
                    "%s %s c%d" % (r["target"], r["op"], r["conns"]) for r in noisy_rows))
            else:
                say("  every row has at least one quiet run, and shows quiet runs only")
        else:
            say("  compare with care; rerun on a quiet machine, or with BENCH_REPEAT=3")

    bad = [r for r in rows if not r["ok"]]
    if failures:
        say()
        say("FAILED:")
        for f in failures:
            say("  " + f)
    if bad:
        say()
        say("RUNS WITH ERRORS (their req/s and latencies are not valid figures):")
        for r in bad:
            say("  %s %s c%d: %s" % (r["target"], r["op"], r["conns"], fmt_errors(r)))

    now = datetime.datetime.now().astimezone()
    doc = {
        "date": now.date().isoformat(),
        "time": now.isoformat(timespec="seconds"),
        "machine": machine(),
        "tools": tools(root),
        "settings": {
            "duration": env.get("BENCH_DURATION"),
            "threads": int(env.get("BENCH_THREADS", "1")),
            "repeat": int(env.get("BENCH_REPEAT", "1")),
            "conns": [int(c) for c in env.get("BENCH_CONNS", "").split()],
            "ops": env.get("BENCH_OPS", "").split(),
            "targets": env.get("BENCH_TARGETS", "").split(),
            "items": int(env.get("BENCH_ITEMS", "0")),
            "table": env.get("BENCH_TABLE"),
            "pin": env.get("BENCH_PIN") == "1",
            "wrk_cpus": env.get("BENCH_WRK_CPUS"),
            "server_cpus": env.get("BENCH_SERVER_CPUS"),
            "dynalite_mode": env.get("BENCH_DYNALITE"),
            "wrk_timeout": env.get("BENCH_WRK_TIMEOUT"),
            "data_fs": env.get("BENCH_DATA_FS"),
            "nginx_body_bytes": int(env.get("BENCH_NGINX_BODY_BYTES", "0")),
            "tidemark_bin": env.get("TIDEMARK_BIN"),
            "cpu_busy_pct_before": int(env.get("BENCH_CPU_BUSY_START", "0")),
            "loadavg_start": env.get("BENCH_LOADAVG_START"),
            "loadavg_end": env.get("BENCH_LOADAVG_END"),
        },
        "tidemark_skipped": tidemark_skipped,
        "results": rows,
        "runs": runs,
        "ratios": ratios,
        "targets": checks,
        "failures": failures,
        "raw_dir": os.path.relpath(raw_dir, root),
        "noisy_runs": len(noisy),
        "ok": not bad and not failures,
    }
    with open(out_json, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    say()
    say("results: %s" % os.path.relpath(out_json, root))
    say("raw wrk output and server logs: %s" % os.path.relpath(raw_dir, root))
    print("\n".join(lines), flush=True)
    return 0 if doc["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
