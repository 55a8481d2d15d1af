#!/usr/bin/python3
"""Instructions per request, counted by callgrind: a deterministic figure
for an optimization's before and after, where wrk's req/s on this VM moves
±8% from run to run (issue 9, "callgrind's instruction counts").

For each binary: the server runs under `valgrind --tool=callgrind` (with
--map-size-gb 4: valgrind refuses LMDB's default 64 GiB of address space
and --sync off: the figure is the CPU path, not the disk), a notes table is
made and 100 notes put, then over one keep-alive connection --warmup
requests, `callgrind_control -z` (counters to zero), --n requests,
`callgrind_control -d` (dump).  Server, client and item are
bench/backup_bench.py's: the headers (dummy SigV4 Authorization) and the
notes item of bench/lua/common.lua.

    /usr/bin/python3 bench/callgrind_bench.py --op getitem BIN_A BIN_B

prints instructions per request for each, and B/A.  --top N also prints
the N functions with the most instructions (needs callgrind_annotate).
valgrind counts `rep stosb` once per byte, so libmicrohttpd's memset of
its connection pool shows as about 24,000 "instructions" a request.
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import backup_bench as bb  # noqa: E402  (its server, client and item)


def measure(binary, op, n, warmup, top, keep=None):
    work = tempfile.mkdtemp(prefix="cgbench-")
    srv = bb.Server(
        binary, os.path.join(work, "data"), os.path.join(work, "server.log"),
        prefix=["valgrind", "--tool=callgrind",
                "--callgrind-out-file=" + os.path.join(work, "cg.out.%p")],
        extra=["--sync", "off", "--map-size-gb", "4"])
    try:
        c = bb.Client(srv.port)
        bb.create_notes(c, "notes")
        for i in range(100):
            c.ok("PutItem", '{"TableName":"notes","Item":%s}'
                 % bb.note_json(i))

        def one(i):
            if op == "getitem":
                k = i % 100
                c.ok("GetItem", '{"TableName":"notes","Key":{'
                     '"userId":{"S":"u%d"},"noteId":{"S":"n%07d"}}}'
                     % (k % bb.USERS, k))
            else:   # new keys, then overwrites: 1,000 of them in turn
                c.ok("PutItem", '{"TableName":"notes","Item":%s}'
                     % bb.note_json(100 + i % 1000))

        for i in range(warmup):
            one(i)
        subprocess.run(["callgrind_control", "-z", str(srv.p.pid)],
                       check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        for i in range(n):
            one(i)
        subprocess.run(["callgrind_control", "-d", str(srv.p.pid)],
                       check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    finally:
        srv.stop()
    total, dumped = 0, None
    for f in glob.glob(os.path.join(work, "cg.out.*")):
        with open(f) as fh:
            text = fh.read()
        if "Trigger: Program termination" in text:
            continue
        m = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
        if m:
            total += int(m.group(1))
            dumped = f
    if dumped is None:
        raise RuntimeError("no callgrind dump in %s" % work)
    if top:
        r = subprocess.run(["callgrind_annotate", "--inclusive=no",
                            "--threshold=100", dumped],
                           capture_output=True, text=True)
        lines = [ln for ln in r.stdout.splitlines()
                 if re.match(r"^\s*[\d,]+ \(", ln) and not re.search(
                     r"start_thread|clone|below main|libc_start", ln)]
        print("  top functions of %s (instructions for %d requests):"
              % (binary, n))
        for ln in lines[1:1 + top]:   # after the program total
            print("   " + ln[:150])
    if keep:
        shutil.copy(dumped, keep)
        print("  callgrind dump of %s kept in %s" % (binary, keep))
    shutil.rmtree(work, ignore_errors=True)
    return total / n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("binaries", nargs="+")
    ap.add_argument("--op", choices=("getitem", "putitem"),
                    default="getitem")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--top", type=int, default=0)
    ap.add_argument("--keep", metavar="DIR",
                    help="copy each binary's callgrind dump into DIR "
                    "(for callgrind_annotate --inclusive=yes)")
    a = ap.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    first = None
    for b in a.binaries:
        keep = None
        if a.keep:
            os.makedirs(a.keep, exist_ok=True)
            keep = os.path.join(a.keep, "callgrind.%s.%s.out" % (
                os.path.basename(b), a.op))
        ipr = measure(b, a.op, a.n, a.warmup, a.top, keep)
        ratio = "" if first is None else "  (%.3fx of the first)" % (
            ipr / first)
        first = first or ipr
        print("%s %s: %.0f instructions per request over %d requests%s"
              % (b, a.op, ipr, a.n, ratio), flush=True)


if __name__ == "__main__":
    main()
