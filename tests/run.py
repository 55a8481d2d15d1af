#!/usr/bin/python3
"""Run every test of `make test` and end with one summary line.

Order: the C unit tests (build/tests/test_*), the same under AddressSanitizer
and UBSan (build/tests-asan/test_*), then pytest over tests/unit (oracles),
tests/integration and tests/crash.  Each C test binary prints
"<file>: N passed, N failed"; pytest prints its own summary.  The last line
is the total, in the form CI reads: "N passed, N failed".

Run from the repository root (make test does).  Environment:
  TIDEMARK_PYTEST_ARGS   extra arguments for pytest (e.g. "-k crash -x")
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
    text = "".join(tail)
    passed = sum(int(x) for x in re.findall(r"(\d+) passed", text))
    failed = sum(int(x) for x in re.findall(r"(\d+) (?:failed|error)", text))
    if proc.returncode not in (0, 5) and failed == 0:
        failed = 1
    return passed, failed


def main():
    total_p = total_f = 0
    for pattern, label in (("build/tests/test_*", "unit"),
                           ("build/tests-asan/test_*", "unit+asan")):
        p, f = run_c_tests(pattern, label)
        total_p += p
        total_f += f
    p, f = run_pytest()
    total_p += p
    total_f += f
    print(f"{total_p} passed, {total_f} failed")
    return 1 if total_f else 0


if __name__ == "__main__":
    sys.exit(main())
