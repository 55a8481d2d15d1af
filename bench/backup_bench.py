#!/usr/bin/python3
"""On-demand backup benchmark for Tidemark (issue 5's "Must show" figures).

Measures, against a copy of the tidemark binary (TIDEMARK_BIN, default
build/tidemark; copy it first so a rebuild cannot change it under you):

  latency     CreateBackup wall time as a client sees it (one keep-alive
              HTTP connection, request sent to answer read) on a table of
              10,000 notes and one of 1,000,000 (--big-notes), with the
              server's own "backup ... N items, M bytes in the file, T ms"
              log line for each.
  throughput  backup file bytes / server-logged backup time against `cp`
              (and `cp` + `sync FILE`) of the produced .tmbak on the same
              filesystem; and table bytes / that time against the same of
              a file of random bytes as large as the table (where the items
              compress, the small file's cp is mostly cp's start-up).
  wrk         GetItem and PutItem p50/p99 (bench/lua/getitem.lua,
              putitem.lua, wrk -t1 -c16, 10 s) on the 1M-item table, without
              a backup and with CreateBackup sent ~0.3 s after wrk starts;
              after --wrk-warmup uncounted runs (the first run after a
              start is faster than the rest), runs go without, with,
              with, without, ... (ABBA: PutItem grows the table run by
              run, and plain alternation would put every "with" run on a
              larger table than its "without"); the medians and their
              ratios are logged per operation.  PutItem runs that are not
              a multiple of the server's 30 s checkpoint hold a
              checkpoint in some runs and not in others: use
              --wrk-duration 30 (or 60) for PutItem's p99.
  wrkloop     the same, but CreateBackup + DeleteBackup back to back for
              the whole loaded run (not in the default phases): under load
              one backup of 1,000,000 items may take as long as the run,
              and this keeps one running throughout.  The log shows each
              finished backup's CPU spent reading (its server log line).
  randthroughput  latency and throughput again on a fresh server, with the
              notes' title and body random (base64 of os.urandom): the
              notes item compresses about 32x, so its backup file says little
              about write speed (not in the default phases).
  restore     a table of --restore-items ~1 KB items (HASH pk) with one GSI
              (HASH grp, projection ALL), CreateBackup, then
              RestoreTableFromBackup and DescribeTable polled (every 20 ms)
              until ACTIVE; checks ItemCount and the GSI's ItemCount against
              the source, and queries the restored GSI.

The server runs unpinned, except in the wrk phases, which restart it under
`taskset -c 1` (like run.sh: wrk on CPU 0, the server on CPU 1, one request
thread and one compressing helper, sized from its CPU mask at start), so the
backup shares the server's core.  throughput drops the page cache before each cp
(echo 3 > /proc/sys/vm/drop_caches) when it is allowed to.

Every measurement records the 1-minute load average and the CPU the rest of
the machine used meanwhile ("other", % of one core: /proc/stat non-idle ticks
minus this script's process tree, the server and wrk included).

Requests carry the same dummy SigV4-style headers as bench/lua/common.lua.
Items are loaded with BatchWriteItem (25 a request) from --loaders processes,
each on its own keep-alive connection, with pre-formatted JSON (no boto3,
to keep the client's share of the 2 cores small).

Usage:
  TIDEMARK_BIN=/tmp/tm-bench /usr/bin/python3 bench/backup_bench.py
      [--phases latency,throughput,wrk,restore (default); also wrkloop,
       randthroughput]
      [--big-notes 1000000] [--small-notes 10000] [--restore-items 1000000]
      [--reps 3] [--server-args "--backup-zstd-level -5"] [--out DIR]
Prints a summary and writes DIR/results.json (default bench/out/backup-<time>).
Timings are never asserted: this is a measurement, not a test.
"""

import argparse
import http.client
import json
import multiprocessing
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LUA = os.path.join(ROOT, "bench", "lua")
AUTH = ("AWS4-HMAC-SHA256 "
        "Credential=AKIDTIDEMARKBENCH/20261125/us-east-1/dynamodb/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
        "Signature=" + "0" * 64)

# The notes item of bench/lua/common.lua, byte for byte (213 bytes by
# DynamoDB's count), keys as common.preload_key(i).
TITLE = "Groceries and errands for the weekend"
BODY = ("Milk, eggs, bread, coffee beans; pick up the parcel at the post "
        "office; call the plumber about the kitchen sink before Friday.")
CREATED0 = 1764000000000
USERS = 1000


def note_json(i):
    return ('{"userId":{"S":"u%d"},"noteId":{"S":"n%07d"},"title":{"S":"%s"},'
            '"body":{"S":"%s"},"createdAt":{"N":"%d"}}'
            % (i % USERS, i, TITLE, BODY, CREATED0 + i))


# ~1 KB item: "pk"+8 + "grp"+4 + "data"+979 = 1000 bytes by DynamoDB's count.
BIG_DATA = ((TITLE + ". " + BODY + " ") * 8)[:979]
GROUPS = 1000


def big_json(i):
    return ('{"pk":{"S":"k%07d"},"grp":{"S":"g%03d"},"data":{"S":"%s"}}'
            % (i, i % GROUPS, BIG_DATA))


def rnote_json(i):
    """The notes item with title and body random (base64 of os.urandom): the
    same shape and size (213 bytes), but zstd can only undo the base64."""
    import base64
    r = base64.b64encode(os.urandom(126)).decode()
    return ('{"userId":{"S":"u%d"},"noteId":{"S":"n%07d"},"title":{"S":"%s"},'
            '"body":{"S":"%s"},"createdAt":{"N":"%d"}}'
            % (i % USERS, i, r[:37], r[37:165], CREATED0 + i))


def note2_json(i):
    """The notes item again with another createdAt: overwrites note_json(i)
    (a logged change of every item, for bench/pitr_bench.py)."""
    return ('{"userId":{"S":"u%d"},"noteId":{"S":"n%07d"},"title":{"S":"%s"},'
            '"body":{"S":"%s"},"createdAt":{"N":"%d"}}'
            % (i % USERS, i, TITLE, BODY, CREATED0 + 2 * i + 1))


ITEM_FNS = {"note": note_json, "note2": note2_json, "big": big_json,
            "rnote": rnote_json}


def log(msg):
    print(time.strftime("%H:%M:%S ") + msg, flush=True)


# ---- CPU and load accounting ---------------------------------------------

def _tree_ticks(root):
    parent, ticks = {}, {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rfind(")") + 2:].split()
        parent[int(d)] = int(rest[1])
        ticks[int(d)] = sum(int(x) for x in rest[11:15])
    total = 0
    for p, t in ticks.items():
        q = p
        while q and q > 1:
            if q == root:
                total += t
                break
            q = parent.get(q)
    return total


def cpu_sample():
    with open("/proc/stat") as f:
        f_ = f.readline().split()[1:]
    v = [int(x) for x in f_[:8]]
    busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
    return (time.monotonic(), busy, _tree_ticks(os.getpid()))


def load1():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


class Meter:
    """other CPU (% of one core) and load average around a measurement."""

    def __init__(self):
        self.load_before = load1()
        self.a = cpu_sample()

    def stop(self):
        b = cpu_sample()
        hz = os.sysconf("SC_CLK_TCK")
        wall = (b[0] - self.a[0]) * hz
        other = (b[1] - self.a[1]) - (b[2] - self.a[2])
        pct = max(0, other) * 100.0 / wall if wall > 0 else 0.0
        return {"other_pct": round(pct, 1), "load_before": self.load_before,
                "load_after": load1()}


def busy_pct(secs=1.0):
    """Whole-machine non-idle CPU over secs, % of all cores (a quietness check)."""
    def rd():
        with open("/proc/stat") as f:
            return [int(x) for x in f.readline().split()[1:9]]
    a = rd()
    time.sleep(secs)
    b = rd()
    t = sum(b) - sum(a)
    idle = (b[3] - a[3]) + (b[4] - a[4])
    return round((t - idle) * 100.0 / t, 1) if t else 0.0


# ---- talking to the server ------------------------------------------------

class Client:
    def __init__(self, port):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)

    def call(self, op, body):
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        if isinstance(data, str):
            data = data.encode()
        hdrs = {"Content-Type": "application/x-amz-json-1.0",
                "X-Amz-Target": "DynamoDB_20120810." + op,
                "X-Amz-Date": "20261125T000000Z", "Authorization": AUTH}
        for attempt in range(2):
            try:
                self.conn.request("POST", "/", data, hdrs)
                r = self.conn.getresponse()
                out = r.read()
                return r.status, json.loads(out) if out else {}
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                       timeout=600)
                if attempt:
                    raise

    def ok(self, op, body):
        st, out = self.call(op, body)
        if st != 200:
            raise RuntimeError("%s -> %d %s" % (op, st, out))
        return out


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


SERVER_EXTRA = []  # --server-args


class Server:
    def __init__(self, binary, datadir, logpath, cpus=None, prefix=(),
                 extra=()):
        self.port = free_port()
        self.binary = binary
        self.datadir = datadir
        self.logpath = logpath
        self.logf = open(logpath, "ab")
        # cpus: started under taskset, so that the server sizes its thread
        # pools to those CPUs (pinning a running server later would leave
        # it with one request thread per CPU of the machine, taking turns);
        # prefix: a command the server runs under (valgrind); extra: more
        # options for `serve`
        self.cmd = (["taskset", "-c", cpus] if cpus else []) + list(prefix) + [
            binary, "serve", "--host", "127.0.0.1", "--port",
            str(self.port), "--data", datadir] + list(extra) + SERVER_EXTRA
        self.p = subprocess.Popen(self.cmd, stdout=self.logf,
                                  stderr=subprocess.STDOUT)
        c = Client(self.port)
        for _ in range(300):
            try:
                c.call("ListTables", {})
                return
            except OSError:
                if self.p.poll() is not None:
                    raise RuntimeError("server exited, see " + logpath)
                time.sleep(0.1)
        raise RuntimeError("server did not answer, see " + logpath)

    def log_lines(self):
        with open(self.logpath, errors="replace") as f:
            return f.read().splitlines()

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(60)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.logf.close()


BACKUP_RE = re.compile(r"backup (\S+) of table (\S+): (\d+) items, (\d+) bytes "
                       r"in the file, ([\d.]+) ms(?: in the background, "
                       r"(\d+) snapshots)?(?:, ([\d.]+) ms of CPU reading)?"
                       r"(?:.*?(\d+) of (\d+) blocks at zstd's fast level)?")
RESTORE_RE = re.compile(r"restore of table (\S+) from (\S+): (\d+) items.*"
                        r"in ([\d.]+) ms")


def server_backup_line(srv, arn):
    for ln in srv.log_lines():
        m = BACKUP_RE.search(ln)
        if m and m.group(1) == arn:
            return {"items": int(m.group(3)), "file_bytes": int(m.group(4)),
                    "ms": float(m.group(5)),
                    "snapshots": int(m.group(6) or 1),
                    "cpu_ms": float(m.group(7)) if m.group(7) else None,
                    "fast_blocks": int(m.group(8)) if m.group(8) else None,
                    "blocks": int(m.group(9)) if m.group(9) else None}
    return None


def server_restore_line(srv, table):
    for ln in srv.log_lines():
        m = RESTORE_RE.search(ln)
        if m and m.group(1) == table:
            return {"items": int(m.group(3)), "ms": float(m.group(4)),
                    "line": ln.strip()}
    return None


def wait_active(c, table, poll=0.02, limit=3600):
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        st, out = c.call("DescribeTable", {"TableName": table})
        if st == 200 and out["Table"]["TableStatus"] == "ACTIVE":
            return out["Table"]
        if st != 200 and "ResourceNotFound" in str(out):
            raise RuntimeError("table %s disappeared: %s" % (table, out))
        time.sleep(poll)
    raise RuntimeError("table %s not ACTIVE after %ss" % (table, limit))


def create_notes(c, name):
    c.ok("CreateTable", {
        "TableName": name, "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "userId", "AttributeType": "S"},
                                 {"AttributeName": "noteId", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "userId", "KeyType": "HASH"},
                      {"AttributeName": "noteId", "KeyType": "RANGE"}]})
    wait_active(c, name)


def create_big(c, name):
    c.ok("CreateTable", {
        "TableName": name, "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                 {"AttributeName": "grp", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [{
            "IndexName": "byGrp",
            "KeySchema": [{"AttributeName": "grp", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"}}]})
    wait_active(c, name)


# ---- bulk load -----------------------------------------------------------------

def _loader(args):
    port, table, kind, start, end, step = args
    fn = ITEM_FNS[kind]
    c = Client(port)
    prefix = '{"RequestItems":{"%s":[' % table
    b = start
    retries = 0
    while b < end:
        hi = min(b + 25, end)
        body = prefix + ",".join('{"PutRequest":{"Item":%s}}' % fn(i)
                                 for i in range(b, hi)) + "]}}"
        while True:
            st, out = c.call("BatchWriteItem", body)
            if st != 200:
                raise RuntimeError("BatchWriteItem %d %s" % (st, out))
            un = out.get("UnprocessedItems") or {}
            if not un:
                break
            retries += 1
            body = json.dumps({"RequestItems": un})
        b += 25 * step
    return retries


def load(port, table, kind, n, procs):
    """BatchWriteItem items 0..n-1 from procs processes, batch b to process
    b % procs.  Returns (seconds, items/s, retries)."""
    t0 = time.monotonic()
    with multiprocessing.Pool(procs) as pool:
        retries = sum(pool.map(_loader, [(port, table, kind, 25 * k, n, procs)
                                         for k in range(procs)]))
    dt = time.monotonic() - t0
    return dt, n / dt, retries


# ---- measurements ------------------------------------------------------------

def create_backup_timed(c, table, name, poll=0.01):
    t0 = time.perf_counter()
    st, out = c.call("CreateBackup", {"TableName": table, "BackupName": name})
    dt = (time.perf_counter() - t0) * 1000
    if st != 200:
        raise RuntimeError("CreateBackup %d %s" % (st, out))
    d = out["BackupDetails"]
    wait_available(c, d["BackupArn"], poll=poll)
    return dt, d["BackupArn"], d.get("BackupStatus"), d.get("BackupSizeBytes")


def wait_available(c, arn, poll=0.01, limit=3600):
    """CreateBackup answers CREATING and writes in the background: poll
    DescribeBackup until AVAILABLE."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        st, out = c.call("DescribeBackup", {"BackupArn": arn})
        if st != 200:
            raise RuntimeError("DescribeBackup %d %s" % (st, out))
        if out["BackupDescription"]["BackupDetails"]["BackupStatus"] == \
                "AVAILABLE":
            return time.monotonic() - t0
        time.sleep(poll)
    raise RuntimeError("backup %s not AVAILABLE after %d s" % (arn, limit))


def backup_path(srv, arn):
    bid = arn.rsplit("/", 1)[-1]
    d = os.path.join(srv.datadir, "backups")
    for f in os.listdir(d):
        if f.startswith(bid) and f.endswith(".tmbak"):
            return os.path.join(d, f)
    raise RuntimeError("no .tmbak for %s in %s" % (arn, d))


def phase_latency(srv, c, res, reps):
    rows = []
    for r in range(reps):
        for tbl in ("notes10k", "notes"):
            busy = busy_pct(0.5)
            m = Meter()
            ms, arn, status, size = create_backup_timed(c, tbl, "lat-%s-%d" % (tbl, r))
            note = m.stop()
            sl = server_backup_line(srv, arn)
            row = {"table": tbl, "rep": r, "client_ms": round(ms, 2),
                   "status_in_answer": status, "backup_size_bytes": size,
                   "server": sl, "arn": arn, "busy_pct_0.5s_before": busy,
                   **note}
            rows.append(row)
            log("  CreateBackup %-8s run %d: %.2f ms client, server %s, "
                "other %.0f%%, machine busy just before %.0f%%, load %.2f"
                % (tbl, r + 1, ms, sl, note["other_pct"], busy, note["load_before"]))
            c.ok("DeleteBackup", {"BackupArn": arn}) if tbl == "notes10k" else None
            if tbl == "notes":
                res.setdefault("big_backup_arns", []).append(arn)
    res["latency"] = rows


def phase_randthroughput(args, res, binary, tmp):
    """Throughput again on incompressible items: --big-notes notes with random
    title and body, a backup 3 times, cp of its file."""
    d = os.path.join(tmp, "rand-data")
    srv = Server(binary, d, os.path.join(args.out, "server-rand.log"))
    try:
        c = Client(srv.port)
        create_notes(c, "notes")
        m = Meter()
        dt, rate, retries = load(srv.port, "notes", "rnote", args.big_notes,
                                 args.loaders)
        note = m.stop()
        log("  loaded %d random notes in %.1f s = %.0f items/s, other %.0f%%"
            % (args.big_notes, dt, rate, note["other_pct"]))
        sub = {"load": {"s": round(dt, 2), "items_per_s": round(rate), **note}}
        rows = []
        for r in range(args.reps):
            busy = busy_pct(0.5)
            m = Meter()
            ms, arn, status, size = create_backup_timed(c, "notes", "rand-%d" % r)
            note = m.stop()
            sl = server_backup_line(srv, arn)
            rows.append({"table": "notes", "rep": r, "client_ms": round(ms, 2),
                         "backup_size_bytes": size, "server": sl, "arn": arn,
                         "busy_pct_0.5s_before": busy, **note})
            log("  CreateBackup random notes run %d: %.2f ms client, server %s, "
                "busy just before %.0f%%" % (r + 1, ms, sl, busy))
        sub["latency"] = rows
        sub["big_backup_arns"] = [r["arn"] for r in rows]
        phase_throughput(srv, c, sub, args.reps)
        res["random"] = sub
    finally:
        srv.stop()
        shutil.rmtree(d, ignore_errors=True)


def phase_throughput(srv, c, res, reps):
    arn = res["big_backup_arns"][-1]
    path = backup_path(srv, arn)
    size = os.path.getsize(path)
    tdesc = c.ok("DescribeTable", {"TableName": "notes"})["Table"]
    lat = [r for r in res["latency"] if r["table"] == "notes"]
    out = {"file": path, "file_bytes": size,
           "table_bytes": tdesc["TableSizeBytes"],
           "table_items": tdesc["ItemCount"]}
    out["backup_runs"] = [
        {"server_ms": r["server"]["ms"], "file_bytes": r["server"]["file_bytes"],
         "file_MBps": r["server"]["file_bytes"] / r["server"]["ms"] / 1e3,
         "item_MBps": r["backup_size_bytes"] / r["server"]["ms"] / 1e3,
         "other_pct": r["other_pct"]} for r in lat]
    # drop the page cache if we may
    try:
        subprocess.run(["sync"], check=True)
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        out["drop_caches"] = "ok"
    except OSError as e:
        out["drop_caches"] = "refused: %s" % e
    log("  drop_caches: " + out["drop_caches"])
    cps = cp_runs(path, size, reps, out["drop_caches"] == "ok")
    out["cp_runs"] = cps
    vs_cp(out, "file_MBps", cps, "file_vs_cp_sync", "backup file MB/s",
          "cp+sync")
    # the table's bytes a second against cp of a file as large as the
    # table: where the items compress, the file's bytes a second say
    # little (a 6 MB file is mostly cp's start-up)
    tpath = os.path.join(os.path.dirname(path), "table-sized.cpsrc")
    with open(tpath, "wb") as f:
        for off in range(0, out["table_bytes"], 1 << 22):
            f.write(os.urandom(min(1 << 22, out["table_bytes"] - off)))
    try:
        tcps = cp_runs(tpath, out["table_bytes"], reps,
                       out["drop_caches"] == "ok")
    finally:
        os.unlink(tpath)
    out["cp_table_sized_runs"] = tcps
    vs_cp(out, "item_MBps", tcps, "table_vs_cp_sync_table_sized",
          "backup table MB/s", "cp+sync of a table-sized file")
    res["throughput"] = out


def vs_cp(out, rate, cps, key, label, cp_label):
    """The median of the backups' `rate` against the median of the cp+sync
    runs in `cps`: into out[key] and the log."""
    bk = statistics.median(r[rate] for r in out["backup_runs"])
    cs = statistics.median(r["MBps"] for r in cps if r["mode"] == "cp+sync")
    out[key] = {"backup_MBps": round(bk, 1), "cp_sync_MBps": cs,
                "ratio": round(bk / cs, 2)}
    log("  %s %.1f / %s %.1f (medians) = %.2fx"
        % (label, bk, cp_label, cs, bk / cs))


def cp_runs(path, size, reps, drop):
    """cp, then cp+sync, of `path` `reps` times each (page cache dropped
    before each when `drop`): a list of {mode, s, MBps, other...}."""
    cps = []
    dst = path + ".cpcopy"
    for r in range(reps):
        for mode in ("cp", "cp+sync"):
            if drop:
                subprocess.run(["sync"])
                with open("/proc/sys/vm/drop_caches", "w") as f:
                    f.write("3\n")
            m = Meter()
            t0 = time.perf_counter()
            subprocess.run(["cp", path, dst], check=True)
            if mode == "cp+sync":
                subprocess.run(["sync", dst], check=True)
            dt = time.perf_counter() - t0
            note = m.stop()
            os.unlink(dst)
            subprocess.run(["sync"])
            cps.append({"mode": mode, "s": round(dt, 4),
                        "MBps": round(size / dt / 1e6, 1), **note})
            log("  %-7s %d bytes: %.3f s = %.1f MB/s, other %.0f%%"
                % (mode, size, dt, size / dt / 1e6, note["other_pct"]))
    return cps


def run_wrk(port, script, items, tag, dur, conns, backup_c=None, delay=0.3,
            loop_backups=False):
    env = dict(os.environ, BENCH_TABLE="notes", BENCH_ITEMS=str(items),
               BENCH_RUN_TAG=tag, BENCH_AUTH=AUTH)
    cmd = ["taskset", "-c", "0", "wrk", "-t1", "-c%d" % conns, "-d%ds" % dur,
           "--timeout", "2s", "-s", os.path.join(LUA, script + ".lua"),
           "http://127.0.0.1:%d/" % port]
    m = Meter()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    bk = None
    loop = []
    if backup_c is not None and loop_backups:
        # back to back for the whole run: CreateBackup, DeleteBackup, again
        time.sleep(delay)
        t_end = time.monotonic() + dur - delay
        while time.monotonic() < t_end and p.poll() is None:
            # DescribeBackup 4 times a second, not 100: a client polling
            # at 100 Hz (Python, at normal priority, on one of the two
            # CPUs) took CPU from wrk or the server and made up about half
            # of the p99 once blamed on the backups (RESULTS.md)
            b = create_backup_timed(backup_c, "notes",
                                    "%s-%d" % (tag, len(loop)), poll=0.25)
            loop.append(b)
            backup_c.ok("DeleteBackup", {"BackupArn": b[1]})
    elif backup_c is not None:
        time.sleep(delay)
        # poll for AVAILABLE rarely: the poller is not the load measured
        bk = create_backup_timed(backup_c, "notes", tag, poll=0.25)
    text, _ = p.communicate()
    note = m.stop()
    mm = re.search(r"^BENCH_RESULT (.*)$", text, re.M)
    if not mm:
        raise RuntimeError("wrk gave no result:\n" + text)
    r = {k: float(v) for k, v in (kv.split("=") for kv in mm.group(1).split())}
    r.update(note)
    if bk:
        r["backup_client_ms"] = round(bk[0], 1)
        r["backup_arn"] = bk[1]
    if loop:
        r["loop_backups"] = len(loop)
        r["loop_backup_ms_sum"] = round(sum(b[0] for b in loop), 1)
        r["loop_backup_ms_median"] = round(statistics.median(b[0] for b in loop), 1)
        r["loop_arns"] = [b[1] for b in loop]
    return r


WRK_OPS = ("getitem", "putitem")


def summarize_wrk(op, rows):
    """Log the medians of the runs alone and with backups, and their
    ratios (the figures issue 5 asks for)."""
    alone = [x for x in rows if not x["backup"]]
    withb = [x for x in rows if x["backup"]]
    if not alone or not withb:
        return
    p99a = statistics.median(x["p99_ms"] for x in alone)
    p99w = statistics.median(x["p99_ms"] for x in withb)
    rpsa = statistics.median(x["rps"] for x in alone)
    rpsw = statistics.median(x["rps"] for x in withb)
    log("  %s: p99 alone %s (median %.3f ms), with backups %s (median %.3f "
        "ms): with / alone %.2f; req/s medians %.0f / %.0f = %.2f"
        % (op, " / ".join("%.3f" % x["p99_ms"] for x in alone), p99a,
           " / ".join("%.3f" % x["p99_ms"] for x in withb), p99w,
           p99w / p99a, rpsw, rpsa, rpsw / rpsa))
    # each round's own ratio (its two runs are back to back): the spread
    # says how far one round's figure can be trusted
    pairs = pair_ratios(rows)
    if pairs:
        log("  %s: p99 with / alone, round by round: %s (median %.2f, %d of "
            "%d within 10%%)"
            % (op, " / ".join("%.2f" % p for p in pairs),
               statistics.median(pairs), sum(p <= 1.10 for p in pairs),
               len(pairs)))


def pair_ratios(rows):
    """p99 with a backup over p99 alone for every round that has both."""
    by = {}
    for x in rows:
        by.setdefault(x["rep"], {})[x["backup"]] = x["p99_ms"]
    return [v[True] / v[False] for _, v in sorted(by.items())
            if True in v and False in v and v[False] > 0]


def phase_wrk(srv, c, res, reps, dur, conns, getitems, loop_backups=False,
              key="wrk", warmup=1):
    """Returns the server to go on with: the phase restarts it pinned like
    run.sh (wrk on CPU 0, the server started on CPU 1), then unpinned."""
    srv.stop()
    srv = Server(srv.binary, srv.datadir, srv.logpath, cpus="1")
    bc = Client(srv.port)
    rows = []
    for op in WRK_OPS:
        plan = [(-1, False)] * warmup + [
            (r, b) for r in range(reps)
            for b in ((False, True) if r % 2 == 0 else (True, False))]
        for r, with_backup in plan:
            tag = "w%s%d%s%d" % (op, r, "b" if with_backup else "n",
                                 int(time.time()))
            if r < 0:
                # the first run after a start is faster than the rest
                # (PutItem: about 1.5x, before the state's dirty pages
                # pile up): run it, keep it, leave it out of the medians
                x = run_wrk(srv.port, op, getitems, tag, dur, conns)
                x.update({"op": op, "rep": r, "backup": False,
                          "warmup": True})
                rows.append(x)
                log("  %s warm-up: %.0f req/s p50 %.3f p99 %.3f ms (not "
                    "counted)" % (op, x["rps"], x["p50_ms"], x["p99_ms"]))
                continue
            x = run_wrk(srv.port, op, getitems, tag, dur, conns,
                        bc if with_backup else None,
                        loop_backups=loop_backups)
            x.update({"op": op, "rep": r, "backup": with_backup})
            if with_backup and not loop_backups:
                x["server"] = server_backup_line(srv, x["backup_arn"])
            if with_backup and loop_backups:
                lines = [server_backup_line(srv, a)
                         for a in x["loop_arns"]]
                x["loop_backup_cpu_ms"] = [
                    ln and ln["cpu_ms"] for ln in lines]
                x["loop_backup_snapshots"] = [
                    ln and ln["snapshots"] for ln in lines]
            errs = sum(x[k] for k in ("connect", "read", "write", "status",
                                      "timeout", "misses"))
            x["errors"] = errs
            rows.append(x)
            log("  %s %-7s run %d: %.0f req/s p50 %.3f p99 %.3f ms errors %d "
                "other %.0f%% load %.2f%s"
                % (op, "backup" if with_backup else "alone", r + 1, x["rps"],
                   x["p50_ms"], x["p99_ms"], errs, x["other_pct"],
                   x["load_before"],
                   ("  backups %d back to back, %.0f ms of them (median %.0f);"
                    " CPU reading, the finished ones: %s ms"
                    % (x["loop_backups"], x["loop_backup_ms_sum"],
                       x["loop_backup_ms_median"],
                       " / ".join("%.0f" % v for v in x["loop_backup_cpu_ms"]
                                  if v is not None) or "-")
                    if loop_backups else
                    "  backup %s ms client, server %s" % (x["backup_client_ms"], x["server"]))
                   if with_backup else ""))
            if with_backup and not loop_backups:
                bc.ok("DeleteBackup", {"BackupArn": x["backup_arn"]})
        summarize_wrk(op, [x for x in rows if x["op"] == op and
                           not x.get("warmup")])
    res[key] = rows
    srv.stop()
    return Server(srv.binary, srv.datadir, srv.logpath)


def phase_restore(args, res, binary, tmp):
    d = os.path.join(tmp, "restore-data")
    srv = Server(binary, d, os.path.join(args.out, "server-restore.log"))
    try:
        c = Client(srv.port)
        create_big(c, "big")
        n = args.restore_items
        log("restore: loading %d ~1KB items (GSI byGrp, ALL) ..." % n)
        m = Meter()
        dt, rate, retries = load(srv.port, "big", "big", n, args.loaders)
        note = m.stop()
        src = c.ok("DescribeTable", {"TableName": "big"})["Table"]
        out = {"items": n, "load_s": round(dt, 1), "load_items_per_s": round(rate),
               "load_retries": retries, "load_note": note,
               "src_item_count": src["ItemCount"],
               "src_table_bytes": src["TableSizeBytes"],
               "src_gsi_item_count": src["GlobalSecondaryIndexes"][0]["ItemCount"]}
        log("  loaded in %.1f s (%.0f items/s), other %.0f%%, source ItemCount %d "
            "GSI %d, %d bytes" % (dt, rate, note["other_pct"], src["ItemCount"],
                                  out["src_gsi_item_count"], src["TableSizeBytes"]))
        ms, arn, _, _ = create_backup_timed(c, "big", "restore-src")
        out["backup_client_ms"] = round(ms, 1)
        out["backup_server"] = server_backup_line(srv, arn)
        log("  CreateBackup %.1f ms, server %s" % (ms, out["backup_server"]))
        runs = []
        for r in range(args.reps):
            tgt = "big_restored_%d" % r
            m = Meter()
            t0 = time.monotonic()
            c.ok("RestoreTableFromBackup", {"TargetTableName": tgt,
                                             "BackupArn": arn})
            t = wait_active(c, tgt)
            dt = time.monotonic() - t0
            note = m.stop()
            gsi = t.get("GlobalSecondaryIndexes") or [{}]
            q = c.ok("Query", {"TableName": tgt, "IndexName": "byGrp",
                               "KeyConditionExpression": "grp = :g",
                               "ExpressionAttributeValues": {":g": {"S": "g007"}},
                               "Select": "COUNT"})
            row = {"rep": r, "s": round(dt, 2), "items_per_s": round(n / dt),
                   "item_count": t["ItemCount"], "gsi_item_count": gsi[0].get("ItemCount"),
                   "gsi_status": gsi[0].get("IndexStatus"),
                   "table_bytes": t["TableSizeBytes"],
                   "gsi_query_g007_count": q["Count"],
                   "server": server_restore_line(srv, tgt), **note}
            runs.append(row)
            log("  restore run %d: %.2f s (%.0f items/s) ItemCount %s GSI %s "
                "query g007 Count %s, other %.0f%% load %.2f; server: %s"
                % (r + 1, dt, n / dt, row["item_count"], row["gsi_item_count"],
                   q["Count"], note["other_pct"], note["load_before"],
                   row["server"] and row["server"]["ms"]))
            c.ok("DeleteTable", {"TableName": tgt})
        out["runs"] = runs
        res["restore"] = out
    finally:
        srv.stop()
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--phases", default="latency,throughput,wrk,restore")
    ap.add_argument("--small-notes", type=int, default=10000)
    ap.add_argument("--big-notes", type=int, default=1000000)
    ap.add_argument("--restore-items", type=int, default=1000000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--loaders", type=int, default=4)
    ap.add_argument("--wrk-duration", type=int, default=10)
    ap.add_argument("--wrk-conns", type=int, default=16)
    ap.add_argument("--wrk-warmup", type=int, default=1,
                    help="uncounted runs of each operation before the "
                         "counted ones (the first run after a start is "
                         "faster than the rest)")
    ap.add_argument("--wrk-ops", default="getitem,putitem",
                    help="operations of the wrk phases")
    ap.add_argument("--getitem-keys", type=int, default=100000,
                    help="BENCH_ITEMS for getitem.lua: keys n0000000.. read")
    ap.add_argument("--server-args", default="",
                    help="more options for every server, e.g. "
                         "\"--backup-zstd-level -5\"")
    ap.add_argument("--out")
    ap.add_argument("--tmp", default=os.environ.get("TMPDIR", "/tmp"))
    args = ap.parse_args()
    global WRK_OPS, SERVER_EXTRA
    SERVER_EXTRA = args.server_args.split()
    WRK_OPS = tuple(o for o in args.wrk_ops.split(",") if o)
    binary = os.environ.get("TIDEMARK_BIN", os.path.join(ROOT, "build", "tidemark"))
    args.out = args.out or os.path.join(
        ROOT, "bench", "out", "backup-" + time.strftime("%Y-%m-%dT%H%M%S"))
    os.makedirs(args.out, exist_ok=True)
    phases = args.phases.split(",")
    res = {"binary": binary, "args": vars(args), "uptime": subprocess.run(
        ["uptime"], capture_output=True, text=True).stdout.strip(),
        "busy_pct_before": busy_pct()}
    res["top_before"] = subprocess.run(
        ["ps", "-eo", "pid,pcpu,etime,comm", "--sort=-pcpu"], capture_output=True,
        text=True).stdout.splitlines()[:6]
    log("binary %s; %s; machine busy %s%%" % (binary, res["uptime"],
                                              res["busy_pct_before"]))
    log("top CPU users now: %s" % " | ".join(x.strip() for x in res["top_before"][1:4]))
    tmp = tempfile.mkdtemp(prefix="tm-backup-bench-", dir=args.tmp)
    srv = None
    try:
        if set(phases) & {"latency", "throughput", "wrk", "wrkloop"}:
            srv = Server(binary, os.path.join(tmp, "data"),
                         os.path.join(args.out, "server.log"))
            c = Client(srv.port)
            create_notes(c, "notes10k")
            create_notes(c, "notes")
            for tbl, n in (("notes10k", args.small_notes), ("notes", args.big_notes)):
                m = Meter()
                dt, rate, retries = load(srv.port, tbl, "note", n, args.loaders)
                note = m.stop()
                res.setdefault("loads", []).append(
                    {"table": tbl, "items": n, "s": round(dt, 2),
                     "items_per_s": round(rate), "retries": retries, **note})
                log("loaded %s: %d items in %.1f s = %.0f items/s (retries %d), "
                    "other %.0f%%, load %.2f" % (tbl, n, dt, rate, retries,
                                                 note["other_pct"], note["load_before"]))
            for tbl in ("notes10k", "notes"):
                t = c.ok("DescribeTable", {"TableName": tbl})["Table"]
                res.setdefault("tables", {})[tbl] = {
                    "ItemCount": t["ItemCount"], "TableSizeBytes": t["TableSizeBytes"]}
            log("tables: %s" % res["tables"])
            log("latency:")
            phase_latency(srv, c, res, args.reps)
            if "throughput" in phases:
                log("throughput:")
                phase_throughput(srv, c, res, args.reps)
            if "wrk" in phases:
                log("wrk:")
                srv = phase_wrk(srv, c, res, args.reps, args.wrk_duration,
                                args.wrk_conns, args.getitem_keys,
                                warmup=args.wrk_warmup)
                c = Client(srv.port)
            if "wrkloop" in phases:
                log("wrk, backups back to back through the loaded runs:")
                srv = phase_wrk(srv, c, res, args.reps, args.wrk_duration,
                                args.wrk_conns, args.getitem_keys,
                                loop_backups=True, key="wrkloop",
                                warmup=args.wrk_warmup)
                c = Client(srv.port)
            srv.stop()
            srv = None
            shutil.rmtree(os.path.join(tmp, "data"), ignore_errors=True)
        if "randthroughput" in phases:
            log("throughput on random (incompressible) notes:")
            phase_randthroughput(args, res, binary, tmp)
        if "restore" in phases:
            log("restore:")
            phase_restore(args, res, binary, tmp)
    finally:
        if srv:
            srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)
        res["uptime_after"] = subprocess.run(["uptime"], capture_output=True,
                                             text=True).stdout.strip()
        with open(os.path.join(args.out, "results.json"), "w") as f:
            json.dump(res, f, indent=1)
        log("results in %s/results.json; %s" % (args.out, res["uptime_after"]))


if __name__ == "__main__":
    main()
