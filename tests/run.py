#!/usr/bin/python3
"""Run every test of `make test` and end with one summary line.

Order: the C unit tests (build/tests/test_*), the same under AddressSanitizer
and UBSan (build/tests-asan/test_*), a short run of each libFuzzer target
(build/fuzz/fuzz_*, from its seed corpus in tests/fuzz/corpus/), then pytest
over tests/unit (oracles), tests/integration and tests/crash, then the
JavaScript SDK tests (tests/js, node --test), then the web console's
end-to-end tests (tests/console: playwright-core driving Debian's Chromium,
node --test; without Chromium they fail, they are never skipped).  Each C test binary prints
"<file>: N passed, N failed"; pytest prints its own summary.  The last line
is the total, in the form CI reads: "N passed, N failed".

Run from the repository root (make test does).  Environment:
  TIDEMARK_PYTEST_ARGS   extra arguments for pytest (e.g. "-k crash -x")
  TIDEMARK_FUZZ_SECONDS  seconds per fuzz target (default 10; make fuzz: 300)
  --fuzz-only            run only the fuzz targets
"""
import glob
import os
import re
import shlex
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_c_tests(pattern, label):
    passed = failed = 0
    for exe in sorted(glob.glob(os.path.join(ROOT, pattern))):
        name = os.path.relpath(exe, ROOT)
        print(f"== {label}: {name}", flush=True)
        proc = subprocess.run([exe], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
        sys.stdout.write(proc.stdout)
        m = re.findall(r"(\d+) passed, (\d+) failed", proc.stdout)
        if m:
            p, f = map(int, m[-1])
        else:
            p, f = 0, 1
        if proc.returncode != 0 and f == 0:
            f = 1  # crashed or a sanitizer stopped it
            print(f"{name}: exited with status {proc.returncode}")
        passed += p
        failed += f
    return passed, failed


def run_fuzz():
    """Each target from its seed corpus for a while: 1 test per target."""
    seconds = int(os.environ.get("TIDEMARK_FUZZ_SECONDS", "10"))
    passed = failed = 0
    for exe in sorted(glob.glob(os.path.join(ROOT, "build/fuzz/fuzz_*"))):
        name = os.path.basename(exe)
        seeds = os.path.join(ROOT, "tests/fuzz/corpus", name)
        work = os.path.join(ROOT, "build/fuzz-corpus", name)
        crash = os.path.join(ROOT, "build/fuzz-crash", name) + os.sep
        os.makedirs(work, exist_ok=True)
        os.makedirs(crash, exist_ok=True)
        print(f"== fuzz: {name} for {seconds} s", flush=True)
        proc = subprocess.run(
            [exe, f"-max_total_time={seconds}", "-print_final_stats=1",
             f"-artifact_prefix={crash}", "-rss_limit_mb=2048", work, seeds],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True)
        lines = proc.stdout.splitlines()
        runs = [l for l in lines if "stat::number_of_executed_units" in l]
        if proc.returncode == 0:
            passed += 1
            print(f"{name}: ok, {runs[-1].split(':')[-1].strip() if runs else '?'}"
                  " inputs, no finding")
        else:
            failed += 1
            sys.stdout.write("\n".join(lines[-40:]) + "\n")
            print(f"{name}: FINDING (exit {proc.returncode}); input saved "
                  f"under {os.path.relpath(crash, ROOT)}")
    return passed, failed


def run_js():
    """The AWS SDK for JavaScript v3 tests, if present."""
    jsdir = os.path.join(ROOT, "tests/js")
    if not os.path.exists(os.path.join(jsdir, "package-lock.json")):
        return 0, 0
    if not os.path.isdir(os.path.join(jsdir, "node_modules")):
        print("== npm ci (tests/js)", flush=True)
        proc = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"],
                              cwd=jsdir)
        if proc.returncode != 0:
            print("npm ci failed in tests/js")
            return 0, 1
    print("== node --test (tests/js)", flush=True)
    proc = subprocess.run(["node", "--test", "test/"], cwd=jsdir,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    sys.stdout.write(proc.stdout)
    passed, failed = node_counts(proc.stdout)
    if proc.returncode != 0 and failed == 0:
        failed = 1
    return passed, failed


def node_counts(out):
    """(passed, failed) from `node --test`'s summary.  A test marked todo
    is a known bug left standing, and a cancelled one did not pass: both
    count as failed."""
    def last(name):
        v = re.findall(r"^# %s (\d+)" % name, out, re.M)
        return int(v[-1]) if v else 0
    return last("pass"), last("fail") + last("todo") + last("cancelled")


def run_console():
    """The web console in a browser (tests/console): npm ci from the lock
    file if needed, then node --test, one file at a time (each starts its
    own server and Chromium).  A missing browser or a failed install counts
    as a failure: these tests are never skipped silently."""
    cdir = os.path.join(ROOT, "tests/console")
    if not os.path.exists(os.path.join(cdir, "package-lock.json")):
        print("tests/console/package-lock.json is missing: the console "
              "tests cannot be installed")
        return 0, 1
    chromium = os.environ.get("TIDEMARK_CHROMIUM", "/usr/bin/chromium")
    if not os.path.exists(chromium):
        print(f"== console tests: FAILED, no Chromium at {chromium}; "
              "install Debian's package (apt-get install chromium; make test "
              "does) or set TIDEMARK_CHROMIUM")
        return 0, 1
    if not os.path.isdir(os.path.join(cdir, "node_modules", "playwright-core")):
        print("== npm ci (tests/console)", flush=True)
        proc = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"],
                              cwd=cdir)
        if proc.returncode != 0:
            print("npm ci failed in tests/console")
            return 0, 1
    print("== node --test (tests/console)", flush=True)
    proc = subprocess.run(["node", "--test", "--test-concurrency=1", "test/"],
                          cwd=cdir, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    sys.stdout.write(proc.stdout)
    passed, failed = node_counts(proc.stdout)
    if (proc.returncode != 0 or passed == 0) and failed == 0:
        failed = 1
    return passed, failed


def run_pytest():
    dirs = [d for d in ("tests/unit", "tests/integration", "tests/crash")
            if glob.glob(os.path.join(ROOT, d, "test_*.py"))]
    if not dirs:
        return 0, 0
    args = ["/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:cacheprovider",
            *dirs, *shlex.split(os.environ.get("TIDEMARK_PYTEST_ARGS", ""))]
    print("== pytest: " + " ".join(dirs), flush=True)
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    tail = []
    for line in proc.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        tail.append(line)
        tail = tail[-5:]
    proc.wait()
    # pytest's own summary only ("N failed, N passed, N skipped in 9.9s",
    # between '=' when not quiet): a test's printed figures may also say
    # "N failed" ("10 failed cleanly") and must not be counted
    summary = ""
    for line in reversed(tail):
        if re.search(r"\d+ (?:passed|failed|errors?|skipped|deselected)\b.* "
                     r"in [\d.]+s", line):
            summary = line
            break
    passed = sum(int(x) for x in re.findall(r"(\d+) passed", summary))
    failed = sum(int(x) for x in re.findall(r"(\d+) (?:failed|errors?)\b",
                                            summary))
    if proc.returncode not in (0, 5) and failed == 0:
        failed = 1
    return passed, failed


def main():
    total_p = total_f = 0
    steps = [run_fuzz]
    if "--fuzz-only" not in sys.argv:
        steps = [lambda: run_c_tests("build/tests/test_*", "unit"),
                 lambda: run_c_tests("build/tests-asan/test_*", "unit+asan"),
                 run_fuzz, run_pytest, run_js, run_console]
    for step in steps:
        p, f = step()
        total_p += p
        total_f += f
    print(f"{total_p} passed, {total_f} failed")
    return 1 if total_f else 0


if __name__ == "__main__":
    sys.exit(main())
