/*
 * test_decimal.c - unit tests for src/item/decimal.c (DynamoDB numbers).
 *
 * Hand-picked cases for parse, format, compare, add/sub, i64 conversion,
 * plus randomised properties of the key encoding (order, equality,
 * self-delimiting, garbage rejection).  The bulk arithmetic check against
 * Python's decimal module lives in test_decimal_oracle.py.
 */
#include "item/decimal.h"
#include "test.h"

/* ==== Helpers ==== */

/* Parse `in` and format it into `out` ("" on error); returns the status. */
static int canon(const char *in, char *out)
{
    struct dec d;
    int rc = dec_parse(in, strlen(in), &d);

    out[0] = '\0';
    if (rc == DEC_OK)
        dec_format(&d, out, DEC_STR_MAX);
    return rc;
}

#define EXPECT_CANON(in, want)                                                \
    do {                                                                      \
        char got_[DEC_STR_MAX];                                               \
        ASSERT_EQ(canon((in), got_), DEC_OK);                                 \
        ASSERT_STR_EQ(got_, (want));                                          \
    } while (0)

#define EXPECT_ERR(in, code)                                                  \
    do {                                                                      \
        char got_[DEC_STR_MAX];                                               \
        ASSERT_EQ(canon((in), got_), (code));                                 \
    } while (0)

/* Parse a string the test knows is valid. */
static struct dec num(const char *s)
{
    struct dec d;

    if (dec_parse(s, strlen(s), &d) != DEC_OK) {
        fprintf(stderr, "test bug: cannot parse %s\n", s);
        abort();
    }
    return d;
}

/* Result of a op b as text ("" on error), status and inexact flag. */
static int arith(char op, const char *a, const char *b, char *out,
                 int *inexact)
{
    struct dec x = num(a), y = num(b), r;
    int rc = op == '+' ? dec_add(&x, &y, &r, inexact)
                       : dec_sub(&x, &y, &r, inexact);

    out[0] = '\0';
    if (rc == DEC_OK)
        dec_format(&r, out, DEC_STR_MAX);
    return rc;
}

#define EXPECT_ARITH(a, op, b, want, want_inexact)                            \
    do {                                                                      \
        char got_[DEC_STR_MAX];                                               \
        int inx_ = -1;                                                        \
        ASSERT_EQ(arith((op), (a), (b), got_, &inx_), DEC_OK);                \
        ASSERT_STR_EQ(got_, (want));                                          \
        ASSERT_EQ(inx_, (want_inexact));                                      \
    } while (0)

#define EXPECT_ARITH_ERR(a, op, b, code)                                      \
    do {                                                                      \
        char got_[DEC_STR_MAX];                                               \
        int inx_;                                                             \
        ASSERT_EQ(arith((op), (a), (b), got_, &inx_), (code));                \
    } while (0)

/* s repeated: `pre`, then `n` copies of `ch`, then `post`. */
static const char *rep(char *buf, const char *pre, char ch, int n,
                       const char *post)
{
    size_t len = strlen(pre);

    memcpy(buf, pre, len);
    memset(buf + len, ch, (size_t)n);
    strcpy(buf + len + (size_t)n, post);
    return buf;
}

/* xorshift64*: a small deterministic generator for the random tests. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static int rnd_in(int lo, int hi) /* inclusive */
{
    return lo + (int)(rnd() % (uint64_t)(hi - lo + 1));
}

/* A random valid number, biased towards edge cases: few or 38 digits, runs
 * of 9s and 0s, exponents at the limits, zero. */
static struct dec rnd_dec(void)
{
    char s[DEC_MAX_DIGITS + 32];
    int nd, adj, i, len = 0, style = rnd_in(0, 9);

    if (style == 0)
        return num("0");
    nd = rnd_in(0, 3) == 0 ? DEC_MAX_DIGITS : rnd_in(1, DEC_MAX_DIGITS);
    if (rnd_in(0, 1))
        s[len++] = '-';
    for (i = 0; i < nd; i++) {
        int d = rnd_in(0, 9);

        if (style == 1)
            d = 9;
        else if (style == 2 && i > 0)
            d = rnd_in(0, 1) ? 0 : d;
        if (i == 0 && d == 0)
            d = 1;
        s[len++] = (char)('0' + d);
    }
    switch (rnd_in(0, 4)) {
    case 0: adj = DEC_MIN_EXP + rnd_in(0, 2); break;
    case 1: adj = DEC_MAX_EXP - rnd_in(0, 2); break;
    case 2: adj = rnd_in(-3, 3); break;
    default: adj = rnd_in(DEC_MIN_EXP, DEC_MAX_EXP); break;
    }
    len += snprintf(s + len, sizeof(s) - (size_t)len, "E%d", adj - nd + 1);
    s[len] = '\0';
    return num(s);
}

/* A value close to `d`: its neighbour in the last digit, a prefix or
 * extension of its digits, its negation, or itself. */
static struct dec rnd_near(const struct dec *d)
{
    struct dec one = num("1"), step, r;
    int nd = 0;
    unsigned __int128 c = d->coef;

    if (c == 0)
        return rnd_dec();
    while (c) {
        nd++;
        c /= 10;
    }
    switch (rnd_in(0, 5)) {
    case 0: /* +- one unit in the last place */
        step = one;
        step.exp = d->exp;
        step.neg = (uint8_t)rnd_in(0, 1);
        if (dec_add(d, &step, &r, NULL) == DEC_OK)
            return r;
        return *d;
    case 1: /* drop trailing digits */
        r = *d;
        r.coef /= 10;
        r.exp++;
        if (r.coef == 0)
            return *d;
        while (r.coef % 10 == 0) {
            r.coef /= 10;
            r.exp++;
        }
        return r;
    case 2: /* append a digit */
        r = *d;
        if (nd >= DEC_MAX_DIGITS)
            return *d; /* the leading digit stays put: still in range */
        r.coef = r.coef * 10 + (unsigned)rnd_in(1, 9);
        r.exp--;
        return r;
    case 3:
        r = *d;
        r.neg = !r.neg;
        return r;
    case 4:
        return *d;
    default:
        return rnd_dec();
    }
}

static int sign3(int v)
{
    return (v > 0) - (v < 0);
}

/* memcmp order of two encodings, shorter-is-less on a common prefix. */
static int key_cmp(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
    int c = memcmp(a, b, na < nb ? na : nb);

    if (c != 0)
        return sign3(c);
    return (na > nb) - (na < nb);
}

/* ==== Parse: syntax ==== */

static void test_parse_valid_syntax(void)
{
    EXPECT_CANON("0", "0");
    EXPECT_CANON("1", "1");
    EXPECT_CANON("+1", "1");
    EXPECT_CANON("-1", "-1");
    EXPECT_CANON(".5", "0.5");
    EXPECT_CANON("-.5", "-0.5");
    EXPECT_CANON("5.", "5");
    EXPECT_CANON("5.e1", "50");
    EXPECT_CANON(".5e1", "5");
    EXPECT_CANON("1e5", "100000");
    EXPECT_CANON("1E5", "100000");
    EXPECT_CANON("1e+5", "100000");
    EXPECT_CANON("1e-5", "0.00001");
    EXPECT_CANON("1E-5", "0.00001");
    EXPECT_CANON("-17.4E37", "-174000000000000000000000000000000000000");
    EXPECT_CANON("0001.23", "1.23");
    EXPECT_CANON("1e0005", "100000");
    EXPECT_CANON("1e-0", "1");
    EXPECT_CANON("123.456", "123.456");
}

static void test_parse_invalid_syntax(void)
{
    static const char *bad[] = {
        "", "+", "-", ".", "-.", "+.", "e5", ".e5", "1e", "1e+", "1e-",
        "1E", "--1", "+-1", "-+1", "++1", " 1", "1 ", "1. ", "1..2", "1.2.3",
        "1e5.0", "1e1e1", "1ee1", "1e--1", "0x10", "NaN", "nan",
        "Infinity", "-Infinity", "inf", "dog", "1,000", "1_000", "١",
        "1e 5", "1\t", "\n1", "1f", "1d", "1L", "e", "E",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct dec d;

        if (dec_parse(bad[i], strlen(bad[i]), &d) != DEC_ESYNTAX)
            TEST_FAIL_("\"%s\" should be DEC_ESYNTAX", bad[i]);
    }
}

/* Only n bytes are read: a number followed by other bytes in the buffer,
 * and embedded NULs. */
static void test_parse_length_bounded(void)
{
    struct dec d;
    char out[DEC_STR_MAX];

    ASSERT_EQ(dec_parse("12345", 3, &d), DEC_OK);
    dec_format(&d, out, sizeof(out));
    ASSERT_STR_EQ(out, "123");
    ASSERT_EQ(dec_parse("1\0" "2", 3, &d), DEC_ESYNTAX);
    ASSERT_EQ(dec_parse("1e5", 2, &d), DEC_ESYNTAX);
    ASSERT_EQ(dec_parse(NULL, 0, &d), DEC_ESYNTAX);
}

static void test_parse_error_leaves_out_alone(void)
{
    struct dec d = num("42");
    char out[DEC_STR_MAX];

    ASSERT_EQ(dec_parse("x", 1, &d), DEC_ESYNTAX);
    ASSERT_EQ(dec_parse("1e200", 5, &d), DEC_EOVERFLOW);
    dec_format(&d, out, sizeof(out));
    ASSERT_STR_EQ(out, "42");
}

/* ==== Parse: zeros, normalisation ==== */

static void test_parse_zeros(void)
{
    struct dec d;

    EXPECT_CANON("-0", "0");
    EXPECT_CANON("+0", "0");
    EXPECT_CANON("0.0", "0");
    EXPECT_CANON("-0.000", "0");
    EXPECT_CANON("000", "0");
    EXPECT_CANON("0e1000", "0");
    EXPECT_CANON("0E-1000", "0");
    EXPECT_CANON("-0e999999999999999999999999", "0");
    EXPECT_CANON(".0", "0");
    EXPECT_CANON("0.", "0");
    ASSERT_EQ(dec_parse("-0.00e7", 7, &d), DEC_OK);
    ASSERT(d.coef == 0);
    ASSERT_EQ(d.exp, 0);
    ASSERT_EQ(d.neg, 0);
}

static void test_parse_normalises(void)
{
    struct dec a = num("1.50"), b = num("15E-1"), c = num("0.00150e3");

    ASSERT(a.coef == 15);
    ASSERT_EQ(a.exp, -1);
    ASSERT_EQ(a.neg, 0);
    ASSERT(memcmp(&a.coef, &b.coef, sizeof(a.coef)) == 0);
    ASSERT_EQ(a.exp, b.exp);
    ASSERT(a.coef == c.coef);
    ASSERT_EQ(a.exp, c.exp);
    a = num("100");
    ASSERT(a.coef == 1);
    ASSERT_EQ(a.exp, 2);
    a = num("-120.0");
    ASSERT(a.coef == 12);
    ASSERT_EQ(a.exp, 1);
    ASSERT_EQ(a.neg, 1);
    EXPECT_CANON("1.50", "1.5");
    EXPECT_CANON("1E2", "100");
    EXPECT_CANON("00012.3400", "12.34");
    EXPECT_CANON("1000.000", "1000");
}

/* ==== Parse: precision ==== */

static void test_parse_precision(void)
{
    char b[400];

    /* 38 significant digits are fine, 39 are not. */
    EXPECT_CANON("12345678901234567890123456789012345678",
                 "12345678901234567890123456789012345678");
    EXPECT_ERR("123456789012345678901234567890123456789", DEC_EPRECISION);
    EXPECT_CANON("3.1415926535897932384626433832795028841",
                 "3.1415926535897932384626433832795028841");
    EXPECT_ERR("3.14159265358979323846264338327950288419", DEC_EPRECISION);
    EXPECT_ERR("-1.23456789012345678901234567890123456789", DEC_EPRECISION);
    EXPECT_CANON("31415926535897932384626433832795028841e30",
                 "31415926535897932384626433832795028841"
                 "000000000000000000000000000000");
    EXPECT_ERR("314159265358979323846264338327950288419e30", DEC_EPRECISION);
    EXPECT_CANON(rep(b, "", '9', 38, ""), rep(b + 200, "", '9', 38, ""));
    EXPECT_ERR(rep(b, "", '9', 39, ""), DEC_EPRECISION);
    /* Trailing zeros are not significant... */
    EXPECT_CANON(rep(b, "1", '0', 100, ""), rep(b + 200, "1", '0', 100, ""));
    EXPECT_CANON(rep(b, "1", '0', 125, ".000"),
                 rep(b + 200, "1", '0', 125, ""));
    /* ...nor are leading zeros. */
    EXPECT_CANON(rep(b, "0.", '0', 100, "1"),
                 rep(b + 200, "0.", '0', 100, "1"));
    EXPECT_CANON(rep(b, "", '0', 300, "7"), "7");
    /* A zero inside the digits is significant: 1, 37 zeros, 1 = 39. */
    EXPECT_ERR(rep(b, "1", '0', 37, "1"), DEC_EPRECISION);
    EXPECT_CANON(rep(b, "1", '0', 36, "1"), rep(b + 200, "1", '0', 36, "1"));
    EXPECT_ERR(rep(b, "1.", '0', 37, "1"), DEC_EPRECISION);
    EXPECT_ERR(rep(b, "1.", '0', 300, "1"), DEC_EPRECISION);
    /* 38 digits with the point in every position. */
    EXPECT_CANON("0.12345678901234567890123456789012345678",
                 "0.12345678901234567890123456789012345678");
    EXPECT_CANON("1234567890123456789.0123456789012345678",
                 "1234567890123456789.0123456789012345678");
}

/* ==== Parse: range ==== */

static void test_parse_range(void)
{
    char b[400], w[400];

    EXPECT_CANON("1E-130", rep(w, "0.", '0', 129, "1"));
    EXPECT_CANON("-1E-130", rep(w, "-0.", '0', 129, "1"));
    EXPECT_ERR("1E-131", DEC_EUNDERFLOW);
    EXPECT_ERR("-1E-131", DEC_EUNDERFLOW);
    EXPECT_ERR("0.9E-130", DEC_EUNDERFLOW);
    EXPECT_ERR("9.9999E-131", DEC_EUNDERFLOW);
    EXPECT_CANON("1.5E-130", rep(w, "0.", '0', 129, "15"));
    EXPECT_CANON(rep(b, "0.", '0', 129, "1"), rep(w, "0.", '0', 129, "1"));
    EXPECT_ERR(rep(b, "0.", '0', 130, "1"), DEC_EUNDERFLOW);
    EXPECT_CANON("1E125", rep(w, "1", '0', 125, ""));
    EXPECT_CANON("-1E125", rep(w, "-1", '0', 125, ""));
    EXPECT_CANON("9.9999999999999999999999999999999999999E125",
                 rep(w, "99999999999999999999999999999999999999", '0', 88,
                     ""));
    EXPECT_ERR("1E126", DEC_EOVERFLOW);
    EXPECT_ERR("-1E126", DEC_EOVERFLOW);
    EXPECT_ERR("11e125", DEC_EOVERFLOW);
    EXPECT_ERR("10E125", DEC_EOVERFLOW);
    EXPECT_ERR(rep(b, "1", '0', 126, ""), DEC_EOVERFLOW);
    EXPECT_CANON("0.00001e130", rep(w, "1", '0', 125, ""));
}

/* Exponent text of any length never overflows an integer. */
static void test_parse_huge_exponents(void)
{
    char b[400];

    EXPECT_ERR("1e999999999999", DEC_EOVERFLOW);
    EXPECT_ERR("1e-999999999999", DEC_EUNDERFLOW);
    EXPECT_ERR("1e2147483647", DEC_EOVERFLOW);
    EXPECT_ERR("1e2147483648", DEC_EOVERFLOW);
    EXPECT_ERR("1e-2147483648", DEC_EUNDERFLOW);
    EXPECT_ERR("1e-2147483649", DEC_EUNDERFLOW);
    EXPECT_ERR("1e4294967296", DEC_EOVERFLOW);
    EXPECT_ERR("1e9223372036854775807", DEC_EOVERFLOW);
    EXPECT_ERR("1e9223372036854775808", DEC_EOVERFLOW);
    EXPECT_ERR("1e-9223372036854775809", DEC_EUNDERFLOW);
    EXPECT_ERR(rep(b, "1e", '9', 300, ""), DEC_EOVERFLOW);
    EXPECT_ERR(rep(b, "1e-", '9', 300, ""), DEC_EUNDERFLOW);
    EXPECT_CANON(rep(b, "0e", '9', 300, ""), "0");
    /* A long mantissa cancels part of the exponent. */
    EXPECT_CANON(rep(b, "0.", '0', 199, "1e200"), "1");
    EXPECT_CANON(rep(b, "1", '0', 199, "e-200"), "0.1");
    EXPECT_CANON("1e000000000000000000000000000000000000000000000125",
                 rep(b, "1", '0', 125, ""));
}

/* Range is checked before precision (as DynamoDB does): a number that is
 * both too long and too large is an overflow. */
static void test_parse_range_before_precision(void)
{
    char b[400];

    EXPECT_ERR(rep(b, "1", '1', 200, ""), DEC_EOVERFLOW);
    EXPECT_ERR("1.23456789012345678901234567890123456789e200", DEC_EOVERFLOW);
    EXPECT_ERR("1.23456789012345678901234567890123456789e-200",
               DEC_EUNDERFLOW);
    EXPECT_ERR("1.23456789012345678901234567890123456789e125",
               DEC_EPRECISION);
    EXPECT_ERR("1.23456789012345678901234567890123456789e-130",
               DEC_EPRECISION);
    /* Syntax beats both. */
    EXPECT_ERR("1.23456789012345678901234567890123456789e200x", DEC_ESYNTAX);
}

/* ==== Format ==== */

static void test_format(void)
{
    struct dec d;
    char out[DEC_STR_MAX], w[DEC_STR_MAX];
    size_t n;

    EXPECT_CANON("123.45", "123.45");
    EXPECT_CANON("0.001", "0.001");
    EXPECT_CANON("-0.001", "-0.001");
    EXPECT_CANON("1234.5e-2", "12.345");
    EXPECT_CANON("1234.5e-4", "0.12345");
    EXPECT_CANON("1234.5e-5", "0.012345");
    EXPECT_CANON("1234.5e1", "12345");
    EXPECT_CANON("1234.5e3", "1234500");
    /* The longest output: negative, smallest exponent, 38 digits. */
    d = num("-1.2345678901234567890123456789012345678E-130");
    n = dec_format(&d, out, sizeof(out));
    ASSERT_STR_EQ(out, rep(w, "-0.", '0', 129,
                           "12345678901234567890123456789012345678"));
    ASSERT_EQ(n, 1 + 2 + 129 + 38);
    ASSERT(n < DEC_STR_MAX);
    /* The longest integer. */
    d = num("-9.9999999999999999999999999999999999999E125");
    n = dec_format(&d, out, sizeof(out));
    ASSERT_EQ(n, 127);
    ASSERT_EQ(strlen(out), n);
}

/* A struct with trailing zeros (not produced here, but possible from a
 * caller) still formats canonically. */
static void test_format_unnormalised(void)
{
    struct dec d;
    char out[DEC_STR_MAX];

    d.coef = 1500;
    d.exp = -3;
    d.neg = 0;
    dec_format(&d, out, sizeof(out));
    ASSERT_STR_EQ(out, "1.5");
    d.coef = 0;
    d.exp = 7;
    d.neg = 1;
    dec_format(&d, out, sizeof(out));
    ASSERT_STR_EQ(out, "0");
}

/* A too-small buffer is truncated, never overrun. */
static void test_format_small_cap(void)
{
    struct dec d = num("-123.456");
    char out[8];

    memset(out, 'x', sizeof(out));
    ASSERT_EQ(dec_format(&d, out, 5), 4);
    ASSERT_STR_EQ(out, "-123");
    ASSERT_EQ(out[5], 'x');
    ASSERT_EQ(dec_format(&d, out, 1), 0);
    ASSERT_STR_EQ(out, "");
    ASSERT_EQ(dec_format(&d, out, 0), 0);
}

/* ==== Compare ==== */

static void test_cmp(void)
{
    static const char *sorted[] = {
        "-9.9999999999999999999999999999999999999E125", "-1E125", "-1000",
        "-999.99", "-100", "-1.5", "-1.25", "-1", "-0.1", "-1E-130", "0",
        "1E-130", "1.1E-130", "0.001", "0.0011", "0.1", "0.99999", "1",
        "1.0000000000000000000000000000000000001", "1.5", "10", "99", "100",
        "1E125", "9.9999999999999999999999999999999999999E125",
    };
    size_t n = sizeof(sorted) / sizeof(sorted[0]), i, j;

    for (i = 0; i < n; i++) {
        for (j = 0; j < n; j++) {
            struct dec a = num(sorted[i]), b = num(sorted[j]);
            int want = (i > j) - (i < j);

            if (dec_cmp(&a, &b) != want)
                TEST_FAIL_("cmp(%s, %s) != %d", sorted[i], sorted[j], want);
        }
    }
}

static void test_cmp_equal_spellings(void)
{
    struct dec a = num("1.50"), b = num("15e-1"), z1 = num("-0"),
               z2 = num("0e5");

    ASSERT_EQ(dec_cmp(&a, &b), 0);
    ASSERT_EQ(dec_cmp(&z1, &z2), 0);
    /* Unnormalised input compares by value too. */
    b.coef = 150;
    b.exp = -2;
    ASSERT_EQ(dec_cmp(&a, &b), 0);
}

/* ==== Add / sub ==== */

static void test_add_simple(void)
{
    EXPECT_ARITH("1", '+', "2", "3", 0);
    EXPECT_ARITH("1.5", '+', "1.5", "3", 0);
    EXPECT_ARITH("0.1", '+', "0.2", "0.3", 0);
    EXPECT_ARITH("-1", '+', "1", "0", 0);
    EXPECT_ARITH("-1", '+', "-1", "-2", 0);
    EXPECT_ARITH("0", '+', "0", "0", 0);
    EXPECT_ARITH("0", '+', "-5", "-5", 0);
    EXPECT_ARITH("-5", '+', "0", "-5", 0);
    EXPECT_ARITH("1", '+', "10000000000000000000000",
                 "10000000000000000000001", 0);
    EXPECT_ARITH("10000000000000000000000", '-', "1", "9999999999999999999999",
                 0);
    EXPECT_ARITH("5", '-', "7", "-2", 0);
    EXPECT_ARITH("-5", '-', "-7", "2", 0);
    EXPECT_ARITH("0", '-', "3", "-3", 0);
    EXPECT_ARITH("0", '-', "0", "0", 0);
    EXPECT_ARITH("3", '-', "0", "3", 0);
    EXPECT_ARITH("1.23", '-', "1.23", "0", 0);
    EXPECT_ARITH("1E-130", '-', "1E-130", "0", 0);
    EXPECT_ARITH("-1E125", '+', "1E125", "0", 0);
}

static void test_add_carry(void)
{
    char a[200], w[200];

    /* 38 nines + 1: a carry into a 39th digit that is exactly a zero. */
    EXPECT_ARITH(rep(a, "", '9', 38, ""), '+', "1", rep(w, "1", '0', 38, ""),
                 0);
    EXPECT_ARITH(rep(a, "-", '9', 38, ""), '-', "1",
                 rep(w, "-1", '0', 38, ""), 0);
    EXPECT_ARITH(rep(a, "0.", '9', 38, ""), '+', "1E-38", "1", 0);
    /* ... + 2 needs a 39th digit: 10^38 + 1 rounds down. */
    EXPECT_ARITH(rep(a, "", '9', 38, ""), '+', "2", rep(w, "1", '0', 38, ""),
                 1);
    /* 10^38 + 5 -> 1000...0005 has 39 digits; the 5 is a tie and the
     * last kept digit (0) is even: round down. */
    EXPECT_ARITH(rep(a, "", '9', 38, ""), '+', "6", rep(w, "1", '0', 38, ""),
                 1);
    /* 10^38 + 6 -> rounds up to ...01 * 10. */
    EXPECT_ARITH(rep(a, "", '9', 38, ""), '+', "7",
                 rep(w, "1", '0', 36, "10"), 1);
    /* 10^38 - 10 + 15.01 = 10^38 + 5.01: the dropped 5 looks like a tie,
     * but the .01 shifted past the guard digits makes it round up. */
    EXPECT_ARITH(rep(a, "", '9', 37, "0"), '+', "15.01",
                 rep(w, "1", '0', 36, "10"), 1);
    EXPECT_ARITH(rep(a, "", '9', 37, "0"), '+', "15",
                 rep(w, "1", '0', 38, ""), 1);
}

/* Ties are rounded to even, non-ties to nearest. */
static void test_add_round_half_even(void)
{
    char a[200], w[200];

    /* 1 + 0.5E-37 -> exactly half way between 1 and 1.0..01 (38 digits). */
    EXPECT_ARITH("1", '+', "5E-38", "1", 1);
    EXPECT_ARITH("1", '+', "5.0000000000000000000000000001E-38",
                 rep(w, "1.", '0', 36, "1"), 1);
    EXPECT_ARITH("1", '+', "4.9999999999999999999999999999999999999E-38",
                 "1", 1);
    EXPECT_ARITH(rep(a, "1.", '0', 36, "1"), '+', "5E-38",
                 rep(w, "1.", '0', 36, "2"), 1);
    EXPECT_ARITH(rep(a, "1.", '0', 36, "1"), '+', "4E-38",
                 rep(w, "1.", '0', 36, "1"), 1);
    /* The same through subtraction: 1 - 0.5E-38 is a tie below 1 between
     * 0.99..99 (38 nines) and 1; 1 is "even" (..0 at the 38th digit). */
    EXPECT_ARITH("1", '-', "5E-39", "1", 1);
    EXPECT_ARITH("1", '-', "5.1E-39", rep(w, "0.", '9', 38, ""), 1);
    EXPECT_ARITH("1", '-', "4.9E-39", "1", 1);
    EXPECT_ARITH("1", '-', "1E-38", rep(w, "0.", '9', 38, ""), 0);
    EXPECT_ARITH("1", '-', "1E-39", "1", 1);
    EXPECT_ARITH("-1", '+', "1E-39", "-1", 1);
}

/* Operands far apart: the small one only sets rounding and inexact. */
static void test_add_far_apart(void)
{
    char w[200];

    EXPECT_ARITH("1E125", '+', "1E-130", rep(w, "1", '0', 125, ""), 1);
    EXPECT_ARITH("1E-130", '+', "1E125", rep(w, "1", '0', 125, ""), 1);
    EXPECT_ARITH("1E125", '-', "1E-130", rep(w, "1", '0', 125, ""), 1);
    EXPECT_ARITH("-1E125", '+', "1E-130", rep(w, "-1", '0', 125, ""), 1);
    EXPECT_ARITH("1E-130", '-', "1E125", rep(w, "-1", '0', 125, ""), 1);
    EXPECT_ARITH("1E50", '+', "1", rep(w, "1", '0', 50, ""), 1);
    /* 1E50 - 1 = 50 nines: rounds up to 1E50. */
    EXPECT_ARITH("1E50", '-', "1", rep(w, "1", '0', 50, ""), 1);
    /* 1E37 - 1 = 37 nines: exact. */
    EXPECT_ARITH("1E37", '-', "1", rep(w, "", '9', 37, ""), 0);
    /* 1E38 - 1 = 38 nines: exact. */
    EXPECT_ARITH("1E38", '-', "1", rep(w, "", '9', 38, ""), 0);
    /* 1E39 - 1 = 39 nines -> 1E39. */
    EXPECT_ARITH("1E39", '-', "1", rep(w, "1", '0', 39, ""), 1);
    /* 1E38 - 0.5 = 99..99.5 (38 nines): a tie, rounds to even 1E38. */
    EXPECT_ARITH("1E38", '-', "0.5", rep(w, "1", '0', 38, ""), 1);
    /* 1E38 - 0.6 -> 38 nines. */
    EXPECT_ARITH("1E38", '-', "0.6", rep(w, "", '9', 38, ""), 1);
    /* 1E38 - 1.5 = 99..98.5: tie, 38th digit 8 is even: stays. */
    EXPECT_ARITH("1E38", '-', "1.5", rep(w, "", '9', 37, "8"), 1);
    /* 1E38 - 2.5 = 99..97.5: tie, rounds up to ..98. */
    EXPECT_ARITH("1E38", '-', "2.5", rep(w, "", '9', 37, "8"), 1);
    /* Guard digit 4 with a sticky tail below still rounds down. */
    EXPECT_ARITH("1E38", '+', "0.4999999999999999999999999999",
                 rep(w, "1", '0', 38, ""), 1);
}

/* Massive cancellation: operands close in value. */
static void test_sub_cancellation(void)
{
    char a[200], b[200], w[200];

    EXPECT_ARITH(rep(a, "1.", '0', 36, "1"), '-', "1",
                 rep(w, "0.", '0', 36, "1"), 0);
    EXPECT_ARITH("1", '-', rep(a, "1.", '0', 36, "1"),
                 rep(w, "-0.", '0', 36, "1"), 0);
    /* 1 - 0.99..9 (38 nines after the point; X's top is one higher). */
    EXPECT_ARITH("1", '-', rep(a, "0.", '9', 38, ""),
                 rep(w, "0.", '0', 37, "1"), 0);
    EXPECT_ARITH(rep(a, "0.", '9', 38, ""), '-', "1",
                 rep(w, "-0.", '0', 37, "1"), 0);
    EXPECT_ARITH("10", '-', rep(b, "9.", '9', 37, ""),
                 rep(w, "0.", '0', 36, "1"), 0);
    EXPECT_ARITH(rep(a, "", '9', 38, ""), '-', rep(b, "", '9', 37, "8"), "1",
                 0);
    EXPECT_ARITH(rep(a, "1", '2', 37, ""), '-', rep(b, "1", '2', 37, ""), "0",
                 0);
    EXPECT_ARITH("1.2345678901234567890123456789012345678", '-',
                 "1.2345678901234567890123456789012345677",
                 rep(w, "0.", '0', 36, "1"), 0);
    EXPECT_ARITH("-1.2345678901234567890123456789012345678", '+',
                 "1.2345678901234567890123456789012345679",
                 rep(w, "0.", '0', 36, "1"), 0);
    /* 1E-129 - 9E-130 = 1E-130 exact, at the bottom of the range. */
    EXPECT_ARITH("1E-129", '-', "9E-130", rep(w, "0.", '0', 129, "1"), 0);
}

static void test_add_range(void)
{
    char a[200], w[200];

    EXPECT_ARITH_ERR("9e125", '+', "9e125", DEC_EOVERFLOW);
    EXPECT_ARITH_ERR("9e125", '-', "-9e125", DEC_EOVERFLOW);
    EXPECT_ARITH_ERR("-9e125", '-', "9e125", DEC_EOVERFLOW);
    /* Rounding pushes the result over the top. */
    EXPECT_ARITH_ERR("9.9999999999999999999999999999999999999E125", '+',
                     "5E87", DEC_EOVERFLOW);
    EXPECT_ARITH("9.9999999999999999999999999999999999999E125", '+', "4E87",
                 rep(w, "", '9', 38, rep(a, "", '0', 88, "")), 1);
    EXPECT_ARITH("9.9999999999999999999999999999999999999E125", '+', "1E-130",
                 rep(w, "", '9', 38, rep(a, "", '0', 88, "")), 1);
    /* Results below 1E-130 underflow rather than flushing to zero. */
    EXPECT_ARITH_ERR("1.9E-130", '-', "1E-130", DEC_EUNDERFLOW);
    EXPECT_ARITH_ERR("1.1E-130", '-', "1E-130", DEC_EUNDERFLOW);
    EXPECT_ARITH_ERR("-1.1E-130", '+', "1E-130", DEC_EUNDERFLOW);
    EXPECT_ARITH("2E-130", '-', "1E-130", rep(w, "0.", '0', 129, "1"), 0);
}

/* The NULL inexact pointer is allowed, and a result may alias an
 * operand. */
static void test_add_null_inexact_and_alias(void)
{
    struct dec a = num("1.5"), b = num("2.25");
    char out[DEC_STR_MAX];

    ASSERT_EQ(dec_add(&a, &b, &a, NULL), DEC_OK);
    dec_format(&a, out, sizeof(out));
    ASSERT_STR_EQ(out, "3.75");
    ASSERT_EQ(dec_sub(&a, &a, &a, NULL), DEC_OK);
    dec_format(&a, out, sizeof(out));
    ASSERT_STR_EQ(out, "0");
    ASSERT_EQ(a.neg, 0);
}

/* a + b == b + a, a - b == -(b - a), (a + b) - b == a when exact. */
static void test_add_properties_random(void)
{
    int i;

    for (i = 0; i < 100000; i++) {
        struct dec a = rnd_dec(), b = rnd_near(&a), s1, s2, d1, d2, back;
        int rc1, rc2, x1, x2, rc;

        if (rnd_in(0, 1))
            b = rnd_dec();
        rc1 = dec_add(&a, &b, &s1, &x1);
        rc2 = dec_add(&b, &a, &s2, &x2);
        ASSERT_EQ(rc1, rc2);
        if (rc1 == DEC_OK) {
            ASSERT_EQ(dec_cmp(&s1, &s2), 0);
            ASSERT_EQ(x1, x2);
        }
        rc1 = dec_sub(&a, &b, &d1, &x1);
        rc2 = dec_sub(&b, &a, &d2, &x2);
        ASSERT_EQ(rc1, rc2);
        if (rc1 == DEC_OK) {
            d2.neg = d2.coef != 0 && !d2.neg;
            ASSERT_EQ(dec_cmp(&d1, &d2), 0);
            ASSERT_EQ(x1, x2);
            /* Rounding never changes the sign of a difference. */
            ASSERT_EQ(d1.coef == 0 ? 0 : (d1.neg ? -1 : 1), dec_cmp(&a, &b));
        }
        rc = dec_add(&a, &b, &s1, &x1);
        if (rc == DEC_OK && !x1) {
            ASSERT_EQ(dec_sub(&s1, &b, &back, &x2), DEC_OK);
            ASSERT_EQ(x2, 0);
            ASSERT_EQ(dec_cmp(&back, &a), 0);
        }
    }
}

/* ==== 64-bit integers ==== */

static void test_i64_roundtrip(void)
{
    static const int64_t vals[] = {
        0, 1, -1, 7, 10, -10, 100, 123456789, -987654321000,
        1000000000000000000LL, INT64_MAX, INT64_MIN, INT64_MAX - 1,
        INT64_MIN + 1, 4611686018427387904LL,
    };
    size_t i;

    for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        struct dec d;
        int64_t back = 42;
        char out[DEC_STR_MAX], want[32];

        dec_from_i64(vals[i], &d);
        ASSERT(d.coef == 0 || d.coef % 10 != 0);
        ASSERT_EQ(dec_to_i64(&d, &back), DEC_OK);
        ASSERT_EQ(back, vals[i]);
        dec_format(&d, out, sizeof(out));
        snprintf(want, sizeof(want), "%" PRId64, vals[i]);
        ASSERT_STR_EQ(out, want);
    }
}

static void test_i64_from_text(void)
{
    struct dec d;
    int64_t v;

    d = num("9223372036854775807");
    ASSERT_EQ(dec_to_i64(&d, &v), DEC_OK);
    ASSERT_EQ(v, INT64_MAX);
    d = num("-9223372036854775808");
    ASSERT_EQ(dec_to_i64(&d, &v), DEC_OK);
    ASSERT_EQ(v, INT64_MIN);
    d = num("9223372036854775808");
    ASSERT_EQ(dec_to_i64(&d, &v), DEC_EOVERFLOW);
    d = num("-9223372036854775809");
    ASSERT_EQ(dec_to_i64(&d, &v), DEC_EOVERFLOW);
    d = num("1E18");
    ASSERT_EQ(dec_to_i64(&d, &v), DEC_OK);
    ASSERT_EQ(v, 1000000000000000000LL);
    d = num("1E19");
    ASSERT_EQ(dec_to_i64(&d, &v), DEC_EOVERFLOW);
    d = num("-1E125");
    ASSERT_EQ(dec_to_i64(&d, &v), DEC_EOVERFLOW);
    d = num("12.5E1");
    ASSERT_EQ(dec_to_i64(&d, &v), DEC_OK);
    ASSERT_EQ(v, 125);
    d = num("1.5");
    ASSERT_EQ(dec_to_i64(&d, &v), DEC_ESYNTAX);
    d = num("-0.1");
    ASSERT_EQ(dec_to_i64(&d, &v), DEC_ESYNTAX);
    d = num("1E-130");
    ASSERT_EQ(dec_to_i64(&d, &v), DEC_ESYNTAX);
    /* Not an integer wins over out of range. */
    d = num("12345678901234567890123.5");
    ASSERT_EQ(dec_to_i64(&d, &v), DEC_ESYNTAX);
    d = num("-0");
    ASSERT_EQ(dec_to_i64(&d, &v), DEC_OK);
    ASSERT_EQ(v, 0);
}

/* ==== Key encoding ==== */

static void test_key_bytes(void)
{
    static const uint8_t zero[] = {0x02};
    static const uint8_t one[] = {0x03, 130, 11, 0x00};
    static const uint8_t m_one[] = {0x01, 255 - 130, 255 - 11, 0xFF};
    static const uint8_t v12_5[] = {0x03, 131, 13, 51, 0x00};
    static const uint8_t tiny[] = {0x03, 0, 11, 0x00};
    static const uint8_t huge[] = {0x03, 255, 100, 100, 0x00};
    uint8_t out[DEC_KEY_MAX];
    struct dec d;

    d = num("0");
    ASSERT_EQ(dec_key_encode(&d, out), 1);
    ASSERT_MEM_EQ(out, zero, 1);
    d = num("1");
    ASSERT_EQ(dec_key_encode(&d, out), sizeof(one));
    ASSERT_MEM_EQ(out, one, sizeof(one));
    d = num("-1");
    ASSERT_EQ(dec_key_encode(&d, out), sizeof(m_one));
    ASSERT_MEM_EQ(out, m_one, sizeof(m_one));
    d = num("12.5");
    ASSERT_EQ(dec_key_encode(&d, out), sizeof(v12_5));
    ASSERT_MEM_EQ(out, v12_5, sizeof(v12_5));
    d = num("1E-130");
    ASSERT_EQ(dec_key_encode(&d, out), sizeof(tiny));
    ASSERT_MEM_EQ(out, tiny, sizeof(tiny));
    d = num("9999E122");
    ASSERT_EQ(dec_key_encode(&d, out), sizeof(huge));
    ASSERT_MEM_EQ(out, huge, sizeof(huge));
}

static void test_key_max_length(void)
{
    struct dec d;
    uint8_t out[DEC_KEY_MAX + 8];
    size_t n;

    memset(out, 0xAA, sizeof(out));
    d = num("-1.2345678901234567890123456789012345678E-130");
    n = dec_key_encode(&d, out);
    ASSERT_EQ(n, 22);
    ASSERT(n <= DEC_KEY_MAX);
    ASSERT_EQ(out[DEC_KEY_MAX], 0xAA);
    d = num("99999999999999999999999999999999999999E88");
    ASSERT_EQ(dec_key_encode(&d, out), 22);
    d = num("1234567890123456789012345678901234567");
    ASSERT_EQ(dec_key_encode(&d, out), 22);
}

/* Hand-ordered values, including prefixes and the tricky odd/even digit
 * counts around padded pairs. */
static void test_key_order_fixed(void)
{
    static const char *sorted[] = {
        "-9.9999999999999999999999999999999999999E125", "-1E125", "-101",
        "-100", "-12.35", "-12.3", "-12.05", "-12", "-11.99", "-1.01", "-1",
        "-0.1", "-1E-130", "0", "1E-130",
        "1.0000000000000000000000000000000000001E-130",
        "0.09", "0.1", "0.10000000000000000000000000000000000001", "1",
        "1.0000000000000000000000000000000000001", "1.01", "1.1", "1.11",
        "1.2", "9.9", "10", "10.5", "11", "99", "100", "101", "1E125",
        "9.9999999999999999999999999999999999999E125",
    };
    size_t n = sizeof(sorted) / sizeof(sorted[0]), i;

    for (i = 0; i + 1 < n; i++) {
        struct dec a = num(sorted[i]), b = num(sorted[i + 1]);
        uint8_t ka[DEC_KEY_MAX], kb[DEC_KEY_MAX];
        size_t na = dec_key_encode(&a, ka), nb = dec_key_encode(&b, kb);

        if (key_cmp(ka, na, kb, nb) >= 0)
            TEST_FAIL_("key(%s) >= key(%s)", sorted[i], sorted[i + 1]);
    }
}

/* memcmp order == dec_cmp order over many random pairs, equal values
 * encode equally, and decode inverts encode. */
static void test_key_order_random(void)
{
    int i;

    for (i = 0; i < 300000; i++) {
        struct dec a = rnd_dec(), b = rnd_near(&a), back;
        uint8_t ka[DEC_KEY_MAX], kb[DEC_KEY_MAX];
        size_t na = dec_key_encode(&a, ka), nb = dec_key_encode(&b, kb);
        int want = dec_cmp(&a, &b), got = key_cmp(ka, na, kb, nb);

        if (got != want) {
            char sa[DEC_STR_MAX], sb[DEC_STR_MAX];

            dec_format(&a, sa, sizeof(sa));
            dec_format(&b, sb, sizeof(sb));
            TEST_FAIL_("cmp(%s, %s) = %d but keys compare %d", sa, sb, want,
                       got);
        }
        ASSERT(na <= DEC_KEY_MAX);
        if (want == 0) {
            ASSERT_EQ(na, nb);
            ASSERT_MEM_EQ(ka, kb, na);
        }
        ASSERT_EQ(dec_key_decode(ka, na, &back), na);
        ASSERT_EQ(dec_cmp(&a, &back), 0);
        ASSERT(back.coef == a.coef && back.exp == a.exp &&
               back.neg == a.neg);
    }
}

/* encode(x) followed by anything decodes to x and consumes exactly the
 * encoding; no proper prefix of an encoding decodes. */
static void test_key_self_delimiting(void)
{
    int i;

    for (i = 0; i < 100000; i++) {
        struct dec a = rnd_dec(), back;
        uint8_t buf[DEC_KEY_MAX + 16];
        size_t n = dec_key_encode(&a, buf), extra = (size_t)rnd_in(0, 16), j;

        for (j = 0; j < extra; j++)
            buf[n + j] = (uint8_t)rnd();
        ASSERT_EQ(dec_key_decode(buf, n + extra, &back), n);
        ASSERT_EQ(dec_cmp(&a, &back), 0);
        for (j = 0; j < n; j++)
            ASSERT_EQ(dec_key_decode(buf, j, &back), 0);
    }
}

/* Random bytes: decode either rejects them (0) or accepts exactly a
 * canonical encoding; it never reads past n (checked under ASan with an
 * exactly-sized heap copy). */
static void test_key_decode_garbage(void)
{
    int i;

    for (i = 0; i < 300000; i++) {
        size_t n = (size_t)rnd_in(0, 30), j, got;
        uint8_t *p = malloc(n ? n : 1), again[DEC_KEY_MAX];
        struct dec d;

        ASSERT(p != NULL);
        for (j = 0; j < n; j++) {
            /* Mostly plausible bytes so that the deep paths are hit. */
            switch (rnd_in(0, 3)) {
            case 0: p[j] = (uint8_t)rnd(); break;
            case 1: p[j] = (uint8_t)rnd_in(0, 3); break;
            case 2: p[j] = (uint8_t)rnd_in(1, 100); break;
            default: p[j] = (uint8_t)(255 - rnd_in(0, 100)); break;
            }
        }
        if (n > 0 && rnd_in(0, 1))
            p[0] = (uint8_t)rnd_in(1, 3);
        got = dec_key_decode(p, n, &d);
        if (got != 0) {
            int bad = got > n || dec_key_encode(&d, again) != got ||
                      memcmp(again, p, got) != 0;

            free(p);
            ASSERT(!bad);
            continue;
        }
        free(p);
    }
}

static void test_key_decode_rejects(void)
{
    /* Each is one byte off a valid encoding. */
    static const uint8_t no_term[] = {0x03, 130, 11};
    static const uint8_t bad_class[] = {0x04, 130, 11, 0x00};
    static const uint8_t lead_zero[] = {0x03, 130, 2, 0x00};   /* "01" */
    static const uint8_t pair_00[] = {0x03, 130, 11, 1, 0x00}; /* "1000" */
    static const uint8_t pair_big[] = {0x03, 130, 102, 0x00};
    static const uint8_t no_digits[] = {0x03, 130, 0x00};
    static const uint8_t neg_pos_term[] = {0x01, 125, 244, 0x00};
    static const uint8_t too_long[] = {
        0x03, 130, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11,
        11, 11, 11, 11, 11, 11, 11, 0x00,
    };
    static const uint8_t ok_max[] = {
        0x03, 130, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11,
        11, 11, 11, 11, 11, 12, 0x00,
    };
    struct dec d;

    ASSERT_EQ(dec_key_decode(no_term, sizeof(no_term), &d), 0);
    ASSERT_EQ(dec_key_decode(bad_class, sizeof(bad_class), &d), 0);
    ASSERT_EQ(dec_key_decode(lead_zero, sizeof(lead_zero), &d), 0);
    ASSERT_EQ(dec_key_decode(pair_00, sizeof(pair_00), &d), 0);
    ASSERT_EQ(dec_key_decode(pair_big, sizeof(pair_big), &d), 0);
    ASSERT_EQ(dec_key_decode(no_digits, sizeof(no_digits), &d), 0);
    ASSERT_EQ(dec_key_decode(neg_pos_term, sizeof(neg_pos_term), &d), 0);
    ASSERT_EQ(dec_key_decode(too_long, sizeof(too_long), &d), 0);
    ASSERT_EQ(dec_key_decode(ok_max, sizeof(ok_max), &d), sizeof(ok_max));
    ASSERT_EQ(dec_key_decode(NULL, 0, &d), 0);
}

/* ==== Random parse/format round trip ==== */

static void test_format_parse_roundtrip_random(void)
{
    int i;

    for (i = 0; i < 100000; i++) {
        struct dec a = rnd_dec(), b;
        char s[DEC_STR_MAX];
        size_t n = dec_format(&a, s, sizeof(s));

        ASSERT(n < DEC_STR_MAX);
        ASSERT_EQ(dec_parse(s, n, &b), DEC_OK);
        ASSERT(a.coef == b.coef && a.exp == b.exp && a.neg == b.neg);
    }
}

int main(void)
{
    RUN(test_parse_valid_syntax);
    RUN(test_parse_invalid_syntax);
    RUN(test_parse_length_bounded);
    RUN(test_parse_error_leaves_out_alone);
    RUN(test_parse_zeros);
    RUN(test_parse_normalises);
    RUN(test_parse_precision);
    RUN(test_parse_range);
    RUN(test_parse_huge_exponents);
    RUN(test_parse_range_before_precision);
    RUN(test_format);
    RUN(test_format_unnormalised);
    RUN(test_format_small_cap);
    RUN(test_cmp);
    RUN(test_cmp_equal_spellings);
    RUN(test_add_simple);
    RUN(test_add_carry);
    RUN(test_add_round_half_even);
    RUN(test_add_far_apart);
    RUN(test_sub_cancellation);
    RUN(test_add_range);
    RUN(test_add_null_inexact_and_alias);
    RUN(test_add_properties_random);
    RUN(test_i64_roundtrip);
    RUN(test_i64_from_text);
    RUN(test_key_bytes);
    RUN(test_key_max_length);
    RUN(test_key_order_fixed);
    RUN(test_key_order_random);
    RUN(test_key_self_delimiting);
    RUN(test_key_decode_garbage);
    RUN(test_key_decode_rejects);
    RUN(test_format_parse_roundtrip_random);
    return TEST_DONE();
}
