"""Oracle test for src/item/decimal.c against Python's decimal module.

Generates well over 100,000 random cases (seeded; the seed is printed and
can be set with TM_DEC_SEED), feeds them all to build/tests/drv_decimal in
one process through stdin (protocol: see tests/unit/drv_decimal.c) and
checks every answer against a reference built on Python's decimal module:

  parse / fmt   syntax (a regex of DynamoDB's grammar), then the exact value
                by decimal.Decimal, DynamoDB's range and precision checks
                (range wins over precision), the normalised struct fields
                and the canonical plain text
  add / sub     a 38-digit ROUND_HALF_EVEN context with an exponent range
                wide enough never to trap, the Inexact flag, then DynamoDB's
                range check on the rounded result
  cmp / key     exact Decimal comparison (key: memcmp order of the key
                encodings must match it)

Cases are biased towards the hard parts: 38 and 39 digit numbers, leading
and trailing zeros, exponents at the limits, operands whose exponents are
0..45 places apart (guard/sticky boundaries), cancellation (a - a, a - a'),
carries (99..9 + 1) and exact rounding ties.

Run: make build/tests/drv_decimal && /usr/bin/python3 -m pytest -q \
     tests/unit/test_decimal_oracle.py
"""

import os
import random
import re
import subprocess
from decimal import ROUND_HALF_EVEN, Context, Decimal, Inexact
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DRIVER = ROOT / "build" / "tests" / "drv_decimal"

MAX_DIGITS = 38
MIN_EXP = -130  # smallest adjusted exponent
MAX_EXP = 125   # largest adjusted exponent

# Python's own limits are far away from anything we generate, and no
# condition traps: we read the Inexact flag instead.
CTX = Context(prec=MAX_DIGITS, rounding=ROUND_HALF_EVEN, Emax=10**6,
              Emin=-10**6, traps=[])

# DynamoDB's number grammar (ASCII digits only): sign, integer digits,
# fraction digits (after "1." or in ".5"), exponent.
SYNTAX = re.compile(r"([+-]?)(?:([0-9]+)(?:\.([0-9]*))?|\.([0-9]+))"
                    r"(?:[eE]([+-]?[0-9]+))?\Z")

# ---------------------------------------------------------------- reference


def split_number(m):
    """(neg, significant digits, exponent) from a SYNTAX match, with leading
    and trailing zeros stripped; digits == "" for zero.  Plain integer
    arithmetic, so any exponent works."""
    sign, int_part, frac1, frac2, exp_text = m.groups()
    int_part = int_part or ""
    frac = frac1 or frac2 or ""
    exp = int(exp_text or "0") - len(frac)
    digits = (int_part + frac).lstrip("0")
    stripped = digits.rstrip("0")
    exp += len(digits) - len(stripped)
    return sign == "-", stripped, exp


def plain(neg, digits, exp):
    """Canonical text of a normalised number through Decimal's 'f'
    formatting (plain notation, exact)."""
    if not digits:
        return "0"
    return format(Decimal((int(neg), tuple(int(c) for c in digits), exp)),
                  "f")


def ref_parse(s):
    """('ERR', code) or ('OK', neg, digits, exp) for one input string."""
    m = SYNTAX.match(s)
    if not m:
        return ("ERR", "SYNTAX")
    neg, digits, exp = split_number(m)
    # Cross-check the integer split against Decimal itself where Python can
    # hold the exponent.
    if abs(exp) < 10**12 and len(s) < 10**4:
        want = Decimal(s)
        got = Decimal((int(neg), tuple(int(c) for c in digits) or (0,), exp))
        assert want == got, f"reference bug on {s!r}"
    if not digits:
        return ("OK", False, "", 0)
    adj = exp + len(digits) - 1
    if adj > MAX_EXP:
        return ("ERR", "OVERFLOW")
    if adj < MIN_EXP:
        return ("ERR", "UNDERFLOW")
    if len(digits) > MAX_DIGITS:
        return ("ERR", "PRECISION")
    return ("OK", neg, digits, exp)


def expect_parse(s):
    r = ref_parse(s)
    if r[0] == "ERR":
        return "ERR " + r[1]
    _, neg, digits, exp = r
    if not digits:
        return "OK 0 0 0"
    return f"OK {int(digits)} {exp} {int(neg)}"


def expect_fmt(s):
    r = ref_parse(s)
    if r[0] == "ERR":
        return "ERR " + r[1]
    return "OK " + plain(*r[1:])


def canon_decimal(d):
    """Strip trailing zeros of a Decimal without rounding; range check."""
    if d == 0:
        return "OK 0"
    sign, digits, exp = d.as_tuple()
    text = "".join(map(str, digits)).lstrip("0")
    stripped = text.rstrip("0")
    exp += len(text) - len(stripped)
    adj = exp + len(stripped) - 1
    if adj > MAX_EXP:
        return "ERR OVERFLOW"
    if adj < MIN_EXP:
        return "ERR UNDERFLOW"
    return "OK " + plain(bool(sign), stripped, exp)


def expect_arith(op, a, b):
    x, y = Decimal(a), Decimal(b)
    CTX.clear_flags()
    r = CTX.add(x, y) if op == "add" else CTX.subtract(x, y)
    inexact = int(bool(CTX.flags[Inexact]))
    out = canon_decimal(r)
    if out.startswith("ERR"):
        return out
    return f"{out} {inexact}"


def expect_cmp(a, b):
    x, y = Decimal(a), Decimal(b)
    return f"OK {(x > y) - (x < y)}"


# ---------------------------------------------------------------- generators


class Gen:
    """Random DynamoDB numbers as text, biased towards edge cases."""

    def __init__(self, rng):
        self.r = rng

    def ndigits(self):
        r = self.r.random()
        if r < 0.25:
            return MAX_DIGITS
        if r < 0.35:
            return MAX_DIGITS - 1
        if r < 0.55:
            return self.r.randint(1, 3)
        return self.r.randint(1, MAX_DIGITS)

    def digits(self, n):
        """n digits, first non-zero, last non-zero (a normalised
        coefficient)."""
        r = self.r
        style = r.randrange(8)
        if style == 0:
            d = "9" * n
        elif style == 1:
            d = "1" + "0" * (n - 1)
        elif style == 2:
            d = "".join(r.choice("09") for _ in range(n))
        elif style == 3:
            d = "".join(r.choice("0123456789") for _ in range(n - 1)) + "5"
        elif style == 4:
            d = "".join(r.choice("4950") for _ in range(n))
        else:
            d = "".join(r.choice("0123456789") for _ in range(n))
        d = list(d)
        if d[0] == "0":
            d[0] = str(r.randint(1, 9))
        if d[-1] == "0":
            d[-1] = str(r.randint(1, 9))
        return "".join(d)

    def adj(self):
        r = self.r
        x = r.random()
        if x < 0.15:
            return MIN_EXP + r.randint(0, 3)
        if x < 0.30:
            return MAX_EXP - r.randint(0, 3)
        if x < 0.55:
            return r.randint(-5, 5)
        return r.randint(MIN_EXP, MAX_EXP)

    def render(self, neg, digits, exp):
        """Some spelling of (neg, digits, exp): scientific or plain, with
        optional '+', leading zeros, trailing zeros."""
        r = self.r
        sign = "-" if neg else ("+" if r.random() < 0.05 else "")
        style = r.randrange(6)
        if style in (0, 1):  # scientific, coefficient is an integer
            e = r.choice("eE")
            lead = "0" * r.choice((0, 0, 0, 1, 3))
            trail = r.choice((0, 0, 0, 1, 2, 5))
            e_val = exp - trail
            es = "+" if e_val >= 0 and r.random() < 0.3 else ""
            return f"{sign}{lead}{digits}{'0' * trail}{e}{es}{e_val}"
        if style == 2:  # scientific with a point inside the digits
            cut = r.randint(0, len(digits))
            e_val = exp + len(digits) - cut
            return f"{sign}{digits[:cut]}.{digits[cut:]}E{e_val}"
        # plain notation
        point = len(digits) + exp  # digits before the point
        if exp >= 0:
            text = digits + "0" * exp
            if r.random() < 0.2:
                text += "." + "0" * r.randint(0, 3)
        elif point > 0:
            text = digits[:point] + "." + digits[point:]
        else:
            text = "0." + "0" * (-point) + digits
            if r.random() < 0.2:
                text = text[1:]  # ".000123"
        if r.random() < 0.1 and "." in text:
            text += "0" * r.randint(1, 4)
        return sign + text

    def number(self, nd=None, adj=None, neg=None):
        """(neg, digits, exp) of a valid number."""
        if nd is None:
            nd = self.ndigits()
        if adj is None:
            adj = self.adj()
        if neg is None:
            neg = self.r.random() < 0.5
        digits = self.digits(nd)
        return neg, digits, adj - nd + 1

    def valid(self, **kw):
        if self.r.random() < 0.03:
            return self.r.choice(["0", "-0", "0.0", "0e5", ".0"])
        return self.render(*self.number(**kw))

    def parse_case(self):
        """Any string: valid, too long, out of range, or malformed."""
        r = self.r
        x = r.random()
        if x < 0.35:
            return self.valid()
        if x < 0.50:  # 39..45 significant digits, maybe in range
            nd = r.randint(MAX_DIGITS + 1, MAX_DIGITS + 7)
            return self.render(*self.number(nd=nd))
        if x < 0.65:  # just out of range, or far out
            nd = self.ndigits()
            adj = r.choice([MAX_EXP + 1, MAX_EXP + 2, MIN_EXP - 1,
                            MIN_EXP - 2, r.randint(-400, 400),
                            r.choice([1, -1]) * r.randint(10**9, 10**20)])
            neg, digits, exp = self.number(nd=nd, adj=0)
            exp = adj - nd + 1
            if abs(exp) > 10**6:
                return f"{'-' if neg else ''}{digits}e{exp}"
            return self.render(neg, digits, exp)
        if x < 0.72:  # both too long and out of range
            nd = r.randint(MAX_DIGITS + 1, 60)
            adj = r.choice([MAX_EXP + 1, MIN_EXP - 1, 300, -300])
            return self.render(*self.number(nd=nd, adj=adj))
        return self.mutate(self.valid())

    def mutate(self, s):
        """A small random edit, usually breaking the syntax."""
        r = self.r
        alphabet = "0123456789+-.eE x_,"
        for _ in range(r.randint(1, 3)):
            op = r.randrange(4)
            i = r.randint(0, len(s))
            if op == 0:
                s = s[:i] + r.choice(alphabet) + s[i:]
            elif op == 1 and s:
                s = s[:i] + s[i + 1:]
            elif op == 2 and s:
                j = r.randint(0, len(s))
                s = s[:i] + s[i:j] * 2 + s[j:]
            else:
                s = r.choice(["", "+", "-", ".", "e", "1e", "1e+", "--1",
                              "+.e1", "Infinity", "NaN", "1.2.3", "0x1f",
                              "1e5.5", ".5", "5.", "-.5e-0"]) + s[i:i]
        return s.replace("\n", "")

    def pair(self):
        """Two valid operands with a chosen relationship.  A relationship
        can push an operand out of range (a unit in the last place of a
        number at the bottom of the range); such pairs are drawn again."""
        while True:
            a, b = self.related_pair()
            if ref_parse(a)[0] == "OK" and ref_parse(b)[0] == "OK":
                return a, b

    def related_pair(self):
        r = self.r
        kind = r.randrange(11)
        na, da, ea = self.number()
        adj_a = ea + len(da) - 1
        if kind == 0:  # unrelated
            return self.render(na, da, ea), self.valid()
        if kind == 1:  # same value, maybe negated: a - a, a + -a
            nb = na if r.random() < 0.5 else not na
            return self.render(na, da, ea), self.render(nb, da, ea)
        if kind == 2:  # one unit in a's last place, or a digit appended
            b = (r.random() < 0.5, "1", ea) if r.random() < 0.5 else \
                (na, da + self.digits(1), ea - 1)
            if len(b[1]) > MAX_DIGITS:
                b = (b[0], b[1][:MAX_DIGITS].rstrip("0") or "1", ea)
            return self.render(na, da, ea), self.render(*b)
        if kind == 3:  # carry: 99..9 +- 1 somewhere near the last digit
            n = r.randint(1, MAX_DIGITS)
            adj = r.randint(MIN_EXP + 40, MAX_EXP - 1)
            a = (r.random() < 0.5, "9" * n, adj - n + 1)
            b = (a[0] if r.random() < 0.7 else not a[0],
                 self.digits(r.randint(1, 3)),
                 a[2] - r.randint(0, 3))
            return self.render(*a), self.render(*b)
        if kind == 4:  # an exact tie: 5 just below a's 38th digit
            nd = r.randint(1, MAX_DIGITS)
            adj = r.randint(MIN_EXP + 45, MAX_EXP)
            a = self.number(nd=nd, adj=adj)
            tail = "5" + ("0" * r.randint(0, 3) if r.random() < 0.7 else
                          self.digits(r.randint(1, 4)))
            tail = tail.rstrip("0")
            b_exp = adj - MAX_DIGITS - len(tail) + 1
            b = (r.random() < 0.5, tail, b_exp)
            return self.render(*a), self.render(*b)
        if kind == 10:  # a carry into a 39th digit, then a (near) tie
            e = r.randint(MIN_EXP + 5, MAX_EXP - 40)
            a = (False, "9" * 37 if r.random() < 0.7 else
                 "9" * 30 + self.digits(7), e + 1)
            tail = self.digits(r.randint(1, 3)) + "5"
            below = r.choice(["", "", "1", "01", "001", "9"])
            b = (False, tail + below, e - len(below))
            neg = r.random() < 0.5
            a, b = (neg,) + a[1:], (neg,) + b[1:]
            return self.render(*a), self.render(*b)
        if kind == 5:  # near the top of the range
            a = self.number(adj=MAX_EXP - r.randint(0, 1))
            b = self.number(adj=MAX_EXP - r.randint(0, 50))
            return self.render(*a), self.render(*b)
        if kind == 6:  # near the bottom of the range: cancellation to tiny
            a = self.number(adj=MIN_EXP + r.randint(0, 2))
            b = self.number(adj=MIN_EXP + r.randint(0, 2))
            return self.render(*a), self.render(*b)
        # tops k places apart, k around the 38..41 digit window
        k = r.choice([r.randint(0, 3), r.randint(35, 45), r.randint(0, 80),
                      r.randint(0, 255)])
        adj_b = max(MIN_EXP, min(MAX_EXP, adj_a - k))
        b = self.number(adj=adj_b)
        if r.random() < 0.5:
            return self.render(na, da, ea), self.render(*b)
        return self.render(*b), self.render(na, da, ea)


# ---------------------------------------------------------------- the test

COUNTS = {"parse": 25000, "fmt": 15000, "cmp": 15000, "key": 10000,
          "add": 25000, "sub": 25000}


def build_cases(seed):
    gen = Gen(random.Random(seed))
    cases = []  # (request line, expected answer)
    for _ in range(COUNTS["parse"]):
        s = gen.parse_case()
        cases.append((f"parse {s}", expect_parse(s)))
    for _ in range(COUNTS["fmt"]):
        s = gen.parse_case()
        cases.append((f"fmt {s}", expect_fmt(s)))
    for op in ("cmp", "key", "add", "sub"):
        for _ in range(COUNTS[op]):
            a, b = gen.pair()
            if op in ("cmp", "key"):
                want = expect_cmp(a, b)
            else:
                want = expect_arith(op, a, b)
            cases.append((f"{op} {a} {b}", want))
    # Fixed cases worth having every run.
    fixed = [
        ("parse ", "ERR SYNTAX"), ("parse  1", "ERR SYNTAX"),
        ("parse 1 ", "ERR SYNTAX"), ("parse 1e999999999999", "ERR OVERFLOW"),
        ("parse 1e-999999999999", "ERR UNDERFLOW"),
        ("parse 0e999999999999", "OK 0 0 0"),
    ]
    cases.extend(fixed)
    return cases


def run_driver(lines):
    assert DRIVER.exists(), (
        f"{DRIVER} is missing: run `make build/tests/drv_decimal` first")
    proc = subprocess.run([str(DRIVER)], input="\n".join(lines) + "\n",
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"driver failed: {proc.stderr}"
    return proc.stdout.split("\n")[:-1]


def test_decimal_against_python_decimal():
    seed = int(os.environ.get("TM_DEC_SEED", "38130125"))
    print(f"decimal oracle seed: {seed} (set TM_DEC_SEED to change)")
    cases = build_cases(seed)
    assert len(cases) >= 100000
    got = run_driver([c[0] for c in cases])
    assert len(got) == len(cases), (
        f"driver answered {len(got)} lines for {len(cases)} requests")
    bad = [(req, want, g) for (req, want), g in zip(cases, got) if g != want]
    print(f"{len(cases)} cases, {len(bad)} mismatches")
    if bad:
        lines = [f"seed {seed}: {len(bad)} of {len(cases)} cases differ; "
                 f"first {min(10, len(bad))}:"]
        for req, want, g in bad[:10]:
            lines.append(f"  request: {req}\n"
                         f"     want: {want}\n"
                         f"      got: {g}")
        raise AssertionError("\n".join(lines))
