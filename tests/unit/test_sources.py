"""Rules over the C sources that a compiler cannot check.

- jansson's json_dumps is never called in src/: with the tagging allocator
  of src/base/jsonmem.h installed, the text it returns is a tagged block
  that free() cannot take; jsonmem_dumps returns plain malloc'd text.
"""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def c_files():
    for d, _, files in os.walk(os.path.join(ROOT, "src")):
        for f in files:
            if f.endswith((".c", ".h")):
                yield os.path.join(d, f)


def test_no_json_dumps_in_src():
    bad = []
    for path in c_files():
        if os.path.basename(path).startswith("jsonmem."):
            continue
        with open(path) as f:
            for n, line in enumerate(f, 1):
                if re.search(r"\bjson_dumps\s*\(", line):
                    bad.append("%s:%d" % (os.path.relpath(path, ROOT), n))
    assert bad == [], "use jsonmem_dumps (src/base/jsonmem.h): %s" % bad
