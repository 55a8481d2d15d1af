#!/usr/bin/python3
"""Issue 9, point 3: resident memory and start-up time with a table of
--items notes (1,000,000), figures for bench/RESULTS.md.

  memory    resident size of the server at rest after the load, and its
            peak while wrk runs GetItem then PutItem (-t1 -c64, --wrk-
            duration s each), split from /proc/PID/smaps into LMDB's
            mapping of data.mdb (the page cache LMDB reads through: it
            belongs to the kernel's cache and shrinks under pressure) and
            everything else (heap, stacks, libraries: the server's own).
            Goal: the server's own memory under 64 MB at rest.
  startup   the time from exec to the first answered request (ListTables)
            and to the first GetItem of a loaded item, after a clean stop
            (SIGTERM) and after kill -9 at the end of 3 s of PutItem at
            c64 (so that the log since the last checkpoint is replayed),
            --reps times each; the
            listening socket is polled every millisecond.  Goal: under
            200 ms after a clean stop.

--peer dynalite measures dynalite the same way (its heap is all its own:
it keeps LevelDB's cache in the process) with --peer-items notes, for
side-by-side ratios; it loads far slower, hence its own count.

Uses bench/backup_bench.py's client and loader.  Environment: TIDEMARK_BIN
(build/tidemark).
"""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import backup_bench as bb  # noqa: E402


def log(msg):
    print(time.strftime("%H:%M:%S ") + msg, flush=True)


def smaps(pid, lmdb_name="data.mdb"):
    """(total RSS, RSS of mappings of `lmdb_name`) in bytes, all threads."""
    total = lmdb = 0
    in_lmdb = False
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            if not parts[0].endswith(":") or "-" in parts[0]:
                # a mapping's header line: "start-end perms off dev inode path"
                in_lmdb = len(parts) >= 6 and parts[-1].endswith(lmdb_name)
                continue
            if parts[0] == "Rss:":
                kb = int(parts[1]) * 1024
                total += kb
                if in_lmdb:
                    lmdb += kb
    return total, lmdb


def mb(n):
    return round(n / 1048576.0, 1)


class Sampler(threading.Thread):
    """Peak (own, lmdb) RSS of a process, sampled every 50 ms."""

    def __init__(self, pid, lmdb_name):
        super().__init__(daemon=True)
        self.pid, self.lmdb_name = pid, lmdb_name
        self.peak_own = self.peak_total = 0
        self.stop = False

    def run(self):
        while not self.stop:
            try:
                total, lm = smaps(self.pid, self.lmdb_name)
            except OSError:
                return
            self.peak_own = max(self.peak_own, total - lm)
            self.peak_total = max(self.peak_total, total)
            time.sleep(0.05)


def wait_port(port, p, limit=60.0, op=("ListTables", {})):
    """Seconds from now until `op` answers 200 (polled every ms)."""
    t0 = time.monotonic()
    body = json.dumps(op[1]).encode()
    hdr = ("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/"
           "x-amz-json-1.0\r\nX-Amz-Target: DynamoDB_20120810.%s\r\n"
           "X-Amz-Date: 20261125T000000Z\r\n"
           "Authorization: %s\r\nContent-Length: %d\r\nConnection: close"
           "\r\n\r\n" % (op[0], bb.AUTH, len(body))).encode()
    while time.monotonic() - t0 < limit:
        if p is not None and p.poll() is not None:
            raise RuntimeError("server exited with %s" % p.returncode)
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            time.sleep(0.001)
            continue
        try:
            s.sendall(hdr + body)
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            if data.startswith(b"HTTP/1.1 200"):
                return time.monotonic() - t0
        except OSError:
            pass
        finally:
            s.close()
        time.sleep(0.001)
    raise RuntimeError("no answer after %.0f s" % limit)


def get_op(i):
    n = json.loads(bb.note_json(i))
    return ("GetItem", {"TableName": "notes",
                        "Key": {"userId": n["userId"], "noteId": n["noteId"]}})


def start_tidemark(binary, data, port, logf):
    return subprocess.Popen([binary, "serve", "--host", "127.0.0.1", "--port",
                             str(port), "--data", data],
                            stdout=logf, stderr=subprocess.STDOUT)


def start_dynalite(data, port, logf):
    js = os.path.join(HERE, "node_modules", "dynalite", "cli.js")
    return subprocess.Popen(["node", js, "--host", "127.0.0.1", "--port",
                             str(port), "--path", data],
                            stdout=logf, stderr=subprocess.STDOUT)


def stop(p, how):
    if p.poll() is None:
        p.send_signal(signal.SIGKILL if how == "kill" else signal.SIGTERM)
        p.wait(60)


def wrk(port, script, items, dur):
    env = dict(os.environ, BENCH_TABLE="notes", BENCH_ITEMS=str(items),
               BENCH_RUN_TAG="mem%d" % time.time(), BENCH_AUTH=bb.AUTH)
    out = subprocess.run(["wrk", "-t1", "-c64", "-d%ds" % dur, "--timeout", "5s",
                          "-s", os.path.join(HERE, "lua", script + ".lua"),
                          "http://127.0.0.1:%d/" % port], env=env,
                         capture_output=True, text=True).stdout
    for ln in out.splitlines():
        if ln.startswith("BENCH_RESULT"):
            return dict(kv.split("=") for kv in ln.split()[1:])
    return {}


def measure(name, start, data, items, args, lmdb_name):
    res = {"target": name, "items": items}
    logf = open(os.path.join(args.out, name + ".log"), "ab")
    port = bb.free_port()
    p = start(data, port, logf)
    try:
        wait_port(port, p)
        c = bb.Client(port)
        bb.create_notes(c, "notes")
        dt, rate, _ = bb.load(port, "notes", "note", items, args.loaders)
        log("%s: loaded %d notes in %.1f s (%.0f/s)" % (name, items, dt, rate))
        res["load_s"] = round(dt, 1)
        time.sleep(args.settle)
        total, lm = smaps(p.pid, lmdb_name)
        res["rest"] = {"rss_mb": mb(total), "lmdb_mb": mb(lm),
                       "own_mb": mb(total - lm)}
        log("%s at rest: RSS %.1f MB = LMDB map %.1f + own %.1f" %
            (name, mb(total), mb(lm), mb(total - lm)))
        for script in ("getitem", "putitem"):
            s = Sampler(p.pid, lmdb_name)
            s.start()
            w = wrk(port, script, items, args.wrk_duration)
            s.stop = True
            s.join()
            res["load_" + script] = {"peak_own_mb": mb(s.peak_own),
                                     "peak_rss_mb": mb(s.peak_total),
                                     "rps": float(w.get("rps", 0))}
            log("%s under %s c64: peak own %.1f MB, peak RSS %.1f MB, "
                "%s req/s" % (name, script, mb(s.peak_own), mb(s.peak_total),
                              w.get("rps")))
        time.sleep(args.settle)
        total, lm = smaps(p.pid, lmdb_name)
        res["after"] = {"rss_mb": mb(total), "lmdb_mb": mb(lm),
                        "own_mb": mb(total - lm)}
        log("%s at rest after the load: own %.1f MB" % (name, mb(total - lm)))
        res["startup"] = {}
        for how in ("term", "kill"):
            runs = []
            for _ in range(args.reps):
                if how == "kill":
                    # a crash under writes: the log since the last
                    # checkpoint is replayed at the start
                    w = wrk(port, "putitem", items, 3)
                    log("%s: %s PutItem/s for 3 s, then kill -9" %
                        (name, w.get("rps")))
                stop(p, how)
                port = bb.free_port()
                t0 = time.monotonic()
                p = start(data, port, logf)
                first = wait_port(port, p)
                got = wait_port(port, p, op=get_op(items // 2))
                wall = time.monotonic() - t0
                runs.append({"first_answer_ms": round(first * 1000, 1),
                             "first_getitem_ms": round(wall * 1000, 1)})
                log("%s start after %s: first answer %.1f ms, first GetItem "
                    "%.1f ms" % (name, "SIGTERM" if how == "term" else
                                 "kill -9", first * 1000, wall * 1000))
                del got
            res["startup"][how] = {
                "runs": runs,
                "median_first_answer_ms": statistics.median(
                    r["first_answer_ms"] for r in runs),
                "median_first_getitem_ms": statistics.median(
                    r["first_getitem_ms"] for r in runs)}
        return res
    finally:
        stop(p, "term")
        logf.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=1000000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--loaders", type=int, default=4)
    ap.add_argument("--wrk-duration", type=int, default=10)
    ap.add_argument("--settle", type=float, default=3.0)
    ap.add_argument("--peer", choices=["dynalite"])
    ap.add_argument("--peer-items", type=int, default=100000)
    ap.add_argument("--out")
    ap.add_argument("--tmp", default=os.environ.get("TMPDIR", "/tmp"))
    args = ap.parse_args()
    binary = os.environ.get("TIDEMARK_BIN",
                            os.path.join(HERE, "..", "build", "tidemark"))
    args.out = args.out or os.path.join(
        HERE, "out", "memory-" + time.strftime("%Y-%m-%dT%H%M%S"))
    os.makedirs(args.out, exist_ok=True)
    log("binary %s; %s" % (binary, subprocess.run(
        ["uptime"], capture_output=True, text=True).stdout.strip()))
    results = []
    work = os.path.join(args.tmp, "tm-memory-bench")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    try:
        results.append(measure(
            "tidemark", lambda d, port, lf: start_tidemark(binary, d, port, lf),
            os.path.join(work, "tidemark"), args.items, args, "data.mdb"))
        if args.peer == "dynalite":
            results.append(measure("dynalite", start_dynalite,
                                   os.path.join(work, "dynalite"),
                                   args.peer_items, args, "\0none"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    log("results in %s" % os.path.join(args.out, "results.json"))


if __name__ == "__main__":
    main()
