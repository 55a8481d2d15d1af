/*
 * decimal.c - DynamoDB numbers: 38 significant decimal digits, magnitudes
 * 1E-130 .. 9.9999999999999999999999999999999999999E+125.
 *
 * What this module is
 * -------------------
 * DynamoDB's N type is a decimal floating-point number, not a double.  This
 * file holds one as sign, coefficient (an unsigned 128-bit integer below
 * 10^38, so 38 digits fit with room to spare) and a base-10 exponent, and
 * gives the few operations the server needs on it.  No allocation, no
 * globals: every function is pure and thread-safe.
 *
 * How it fits
 * -----------
 *   - The API layer (JSON -> item) calls dec_parse on every "N" string of a
 *     request and maps DEC_E* to DynamoDB's ValidationException messages.
 *   - The item codec stores the struct (or its canonical text) and
 *     dec_format produces the text DynamoDB returns.
 *   - Key encoding (src/storage) calls dec_key_encode for number partition
 *     and sort keys, so that an LMDB range walk visits them in numeric
 *     order; key_decode calls dec_key_decode.
 *   - UpdateExpression "SET a = a + :v" and the ADD action use dec_add and
 *     dec_sub; condition and filter comparisons use dec_cmp.
 *
 * Invariants of a struct dec produced here
 * ----------------------------------------
 *   1. coef < 10^38.
 *   2. coef % 10 != 0 unless coef == 0 (normalised: no trailing zeros).
 *   3. zero is exactly {coef 0, exp 0, neg 0}; there is no negative zero.
 *   4. a non-zero value's adjusted exponent (exp + digits - 1, the power of
 *      ten of its leading digit) is within DEC_MIN_EXP .. DEC_MAX_EXP.
 * The functions taking a struct assume invariants 1 and 4 (which
 * dec_parse, dec_add, dec_sub, dec_from_i64 and dec_key_decode guarantee);
 * they re-normalise trailing zeros themselves, so 2 and 3 are not needed
 * on input.
 *
 * Parsing: which error wins
 * -------------------------
 * Syntax is checked over the whole string first.  Then range, then
 * precision: "1" followed by 200 digits is DEC_EOVERFLOW, not
 * DEC_EPRECISION.  That is the order of dynalite (an emulator whose error
 * messages were taken from the real service): overflow, underflow, then
 * "more than 38 significant digits".  Not verified against DynamoDB
 * itself; both are ValidationException, only the message differs.  Zero is
 * never out of range: "0E999999999" is 0.  While the exponent text is read
 * its value stops growing past 10^15, so no exponent, however long, can
 * overflow an integer, and any clamped one is far out of range.
 *
 * Addition and subtraction
 * ------------------------
 * The exact sum is rounded to 38 significant digits, half to even, and
 * only then range-checked.  The two operands can be ~300 decimal places
 * apart, so they are not aligned by multiplying the smaller one's exponent
 * away.  Instead (align, add_magnitudes, sub_magnitudes):
 *
 *   X is the operand whose leading digit is higher ("top" = exp + digits).
 *   X's coefficient is scaled up to exactly 38 digits, exponent E.  Y is
 *   expressed in units of 10^E as an integer part, two guard digits and a
 *   sticky flag ("something non-zero further down").  Then the integer
 *   parts are added or subtracted in 128 bits (< 2*10^38 < 2^128).
 *
 * Why two guard digits and a sticky flag suffice.  Let k be how many
 * places Y reaches below E.  Rounding needs only the first dropped digit
 * (<, =, > 5) and whether anything non-zero follows it.  Addition never
 * loses a leading digit, and a carry into a 39th digit shifts one digit
 * into the guard.  Subtraction: if k <= 1 the guard holds Y exactly and
 * cancellation may be total (1 - 0.99..9), but then the result is exact.
 * If k >= 2, Y (at most 38 digits) has its leading digit at least two
 * places below X's, so |X - Y| loses at most one leading digit; the first
 * guard digit refills it and the second one plus sticky decide rounding.
 *
 * DDB: DynamoDB itself rejects "SET a = :x + :y" when the exact result
 * needs more than 38 digits (1E50 + 1 is a ValidationException, worded
 * as an overflow), rather than rounding.  The *inexact flag is there so
 * the caller can do the same.
 *
 * Key encoding (dec_key_encode), byte by byte
 * -------------------------------------------
 *   zero:      0x02                                   (1 byte)
 *   positive:  0x03  X  P1 P2 .. Pk  0x00             (k+3 bytes)
 *   negative:  0x01 ~X ~P1 ~P2 .. ~Pk 0xFF            (k+3 bytes)
 * where
 *   X   = adjusted exponent + 130, 0..255 (DEC_MIN_EXP..DEC_MAX_EXP fill
 *         one byte exactly); larger magnitude -> larger byte.
 *   Pi  = 1 + the i-th pair of significant digits read as 0..99, leading
 *         digit first; an odd last digit is paired with 0.  So 1..100.
 *         The digits are the normalised coefficient, so the last pair is
 *         never 00 and equal values give equal bytes.
 *   ~b  = 255 - b (one's complement), so for negatives a larger magnitude
 *         sorts first, and a pair byte is 155..254, below the 0xFF end.
 * k <= 19 (38 digits), so an encoding is at most 22 bytes <= DEC_KEY_MAX.
 *
 * Why memcmp order is numeric order: byte 0 orders the classes
 * negative < zero < positive.  Among positives, X orders by leading-digit
 * position; at equal X the digit strings compare as decimal fractions
 * 0.d1d2d3....  They have no trailing zeros, so if one is a prefix of the
 * other the longer is larger: lexicographic order with "end" lowest.
 * Comparing pair bytes compares two digits at a time; an odd last digit's
 * padding 0 is <= any digit there, and on equality the next byte decides,
 * where the 0x00 terminator is below every pair byte.  Negatives are the
 * complement, which reverses every comparison.  Self-delimiting: the terminator (0x00 for
 * positives, 0xFF for negatives) cannot occur as a pair byte, and byte 0
 * says which terminator to look for.  dec_key_decode accepts only
 * encodings that dec_key_encode would produce (it re-encodes and
 * compares), so every value has one encoding and garbage is rejected.
 */
#include "item/decimal.h"

#include <assert.h>
#include <string.h>

typedef unsigned __int128 u128;

#define GUARD 2      /* guard digits kept below the 38th digit in add/sub */
#define GUARD_ONE 100 /* 10^GUARD */
#define GUARD_HALF 50 /* half of one unit in the 38th digit, in guard units */

/* Exponents in text are clamped to this magnitude while they are read. */
#define EXP_CLAMP 1000000000000000LL

#define KEY_NEG 0x01
#define KEY_ZERO 0x02
#define KEY_POS 0x03

/* ==== Small helpers on 128-bit coefficients ==== */

static const uint64_t POW10_64[20] = {
    1ULL,
    10ULL,
    100ULL,
    1000ULL,
    10000ULL,
    100000ULL,
    1000000ULL,
    10000000ULL,
    100000000ULL,
    1000000000ULL,
    10000000000ULL,
    100000000000ULL,
    1000000000000ULL,
    10000000000000ULL,
    100000000000000ULL,
    1000000000000000ULL,
    10000000000000000ULL,
    100000000000000000ULL,
    1000000000000000000ULL,
    10000000000000000000ULL,
};

/* 10^k for 0 <= k <= 38 (10^38 < 2^127).  C has no 128-bit literals, so
 * the upper half of the range is a product of two 64-bit powers. */
static u128 ten_to(int64_t k)
{
    assert(k >= 0 && k <= 38);
    if (k <= 19)
        return POW10_64[k];
    return (u128)POW10_64[19] * POW10_64[k - 19];
}

/* Number of decimal digits in c (0 for 0; 39 for c >= 10^38). */
static int digit_count(u128 c)
{
    int n = 0;

    while (n <= 38 && c >= ten_to(n))
        n++;
    return n;
}

/* Write the decimal digits of c (most significant first, no NUL) to out,
 * which has room for 39; returns how many. */
static int coef_digits(u128 c, char *out)
{
    char tmp[40];
    int n = 0, i;
    uint64_t v;

    /* 128-bit division is a library call: take digits that way only
     * until the rest fits in 64 bits (most numbers never need it) */
    while (c > UINT64_MAX) {
        tmp[n++] = (char)('0' + (int)(c % 10));
        c /= 10;
    }
    v = (uint64_t)c;
    do {
        tmp[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v != 0);
    for (i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* Drop trailing zeros of *c into *exp. */
static void strip_zeros(u128 *c, int64_t *exp)
{
    uint64_t v;

    if (*c == 0)
        return;
    while (*c > UINT64_MAX) {
        if (*c % 10 != 0)
            return;
        *c /= 10;
        (*exp)++;
    }
    v = (uint64_t)*c; /* 64-bit division from here: see coef_digits */
    while (v % 10 == 0) {
        v /= 10;
        (*exp)++;
    }
    *c = v;
}

/* Range check by adjusted exponent (power of ten of the leading digit). */
static int range_status(int64_t adj)
{
    if (adj > DEC_MAX_EXP)
        return DEC_EOVERFLOW;
    if (adj < DEC_MIN_EXP)
        return DEC_EUNDERFLOW;
    return DEC_OK;
}

/* Normalise (neg, c, exp) with c < 10^38 into *out, range-checked. */
static int finish(int neg, u128 c, int64_t exp, struct dec *out)
{
    int rc;

    strip_zeros(&c, &exp);
    if (c == 0) {
        out->coef = 0;
        out->exp = 0;
        out->neg = 0;
        return DEC_OK;
    }
    rc = range_status(exp + digit_count(c) - 1);
    if (rc != DEC_OK)
        return rc;
    out->coef = c;
    out->exp = (int32_t)exp;
    out->neg = neg ? 1 : 0;
    return DEC_OK;
}

/* ==== Parsing ==== */

/* What a pass over the mantissa ("123.4500") found.  Digit positions count
 * digits only, from 0, ignoring the point. */
struct mantissa {
    int64_t ndigits; /* digits seen */
    int64_t nint;    /* digits before the point */
    int64_t first;   /* position of the first non-zero digit, -1 if none */
    int64_t last;    /* position of the last non-zero digit */
    u128 coef;       /* digits first..last, valid if last - first < 38 */
};

/* Read digits with at most one '.', from s[*i] on; stop at anything else.
 * Returns DEC_ESYNTAX on a second '.' or when there is no digit. */
static int scan_mantissa(const char *s, size_t n, size_t *i,
                         struct mantissa *m)
{
    int64_t zeros = 0; /* zeros since the last non-zero digit */
    int64_t sig = 0;   /* digits accumulated into coef */
    int point = 0;

    memset(m, 0, sizeof(*m));
    m->first = -1;
    for (; *i < n; (*i)++) {
        char ch = s[*i];

        if (ch == '.') {
            if (point)
                return DEC_ESYNTAX;
            point = 1;
            m->nint = m->ndigits;
            continue;
        }
        if (ch < '0' || ch > '9')
            break;
        if (ch == '0') {
            if (m->first >= 0)
                zeros++;
        } else {
            if (m->first < 0)
                m->first = m->ndigits;
            m->last = m->ndigits;
            /* Past 38 digits the number is rejected anyway; stop
             * accumulating so coef cannot overflow. */
            if (sig + zeros + 1 <= DEC_MAX_DIGITS) {
                m->coef = m->coef * ten_to(zeros + 1) + (unsigned)(ch - '0');
                sig += zeros + 1;
            }
            zeros = 0;
        }
        m->ndigits++;
    }
    if (!point)
        m->nint = m->ndigits;
    return m->ndigits > 0 ? DEC_OK : DEC_ESYNTAX;
}

/* Read an optional exponent ("e-12", "E+3", "e7") at s[*i], clamping its
 * magnitude to EXP_CLAMP.  Returns DEC_ESYNTAX for "e" without digits. */
static int scan_exponent(const char *s, size_t n, size_t *i, int64_t *exp)
{
    int neg = 0;
    size_t start;

    *exp = 0;
    if (*i >= n || (s[*i] != 'e' && s[*i] != 'E'))
        return DEC_OK;
    (*i)++;
    if (*i < n && (s[*i] == '+' || s[*i] == '-')) {
        neg = s[*i] == '-';
        (*i)++;
    }
    start = *i;
    for (; *i < n && s[*i] >= '0' && s[*i] <= '9'; (*i)++) {
        if (*exp < EXP_CLAMP)
            *exp = *exp * 10 + (s[*i] - '0');
    }
    if (*i == start)
        return DEC_ESYNTAX;
    if (neg)
        *exp = -*exp;
    return DEC_OK;
}

int dec_parse(const char *s, size_t n, struct dec *out)
{
    struct mantissa m;
    size_t i = 0;
    int64_t exp, adj;
    int neg = 0, rc;

    if (i < n && (s[i] == '+' || s[i] == '-')) {
        neg = s[i] == '-';
        i++;
    }
    rc = scan_mantissa(s, n, &i, &m);
    if (rc != DEC_OK)
        return rc;
    rc = scan_exponent(s, n, &i, &exp);
    if (rc != DEC_OK)
        return rc;
    if (i != n)
        return DEC_ESYNTAX;

    if (m.first < 0) { /* "0", "-0.000", "0e999" */
        out->coef = 0;
        out->exp = 0;
        out->neg = 0;
        return DEC_OK;
    }
    /* The digit at position p is worth 10^(exp + nint - 1 - p). */
    adj = exp + m.nint - 1 - m.first;
    rc = range_status(adj);
    if (rc != DEC_OK)
        return rc;
    if (m.last - m.first + 1 > DEC_MAX_DIGITS)
        return DEC_EPRECISION;
    out->coef = m.coef;
    out->exp = (int32_t)(exp + m.nint - 1 - m.last);
    out->neg = (uint8_t)neg;
    return DEC_OK;
}

/* ==== Formatting ==== */

/* A bounded writer: never writes past cap - 1, always leaves room for the
 * NUL. */
struct writer {
    char *p;
    size_t len, cap;
};

static void put(struct writer *w, char ch)
{
    if (w->len + 1 < w->cap)
        w->p[w->len++] = ch;
}

static void put_n(struct writer *w, const char *s, int64_t n)
{
    int64_t i;

    for (i = 0; i < n; i++)
        put(w, s[i]);
}

static void put_zeros(struct writer *w, int64_t n)
{
    int64_t i;

    for (i = 0; i < n && w->len + 1 < w->cap; i++)
        put(w, '0');
}

size_t dec_format(const struct dec *d, char *out, size_t cap)
{
    struct writer w = {out, 0, cap};
    char dig[40];
    u128 c = d->coef;
    int64_t exp = d->exp, nd, point;

    if (cap == 0)
        return 0;
    strip_zeros(&c, &exp);
    if (c == 0) {
        put(&w, '0');
        out[w.len] = '\0';
        return w.len;
    }
    nd = coef_digits(c, dig);
    if (d->neg)
        put(&w, '-');
    point = nd + exp; /* digits before the decimal point */
    if (exp >= 0) {
        put_n(&w, dig, nd);
        put_zeros(&w, exp);
    } else if (point > 0) {
        put_n(&w, dig, point);
        put(&w, '.');
        put_n(&w, dig + point, nd - point);
    } else {
        put(&w, '0');
        put(&w, '.');
        put_zeros(&w, -point);
        put_n(&w, dig, nd);
    }
    out[w.len] = '\0';
    return w.len;
}

/* ==== Comparison ==== */

/* -1, 0, 1 comparing |a| and |b|, both non-zero. */
static int cmp_magnitude(const struct dec *a, const struct dec *b)
{
    int na = digit_count(a->coef), nb = digit_count(b->coef);
    int64_t ta = (int64_t)a->exp + na, tb = (int64_t)b->exp + nb;
    u128 ca = a->coef, cb = b->coef;

    if (ta != tb)
        return ta < tb ? -1 : 1;
    /* Same leading position: line the digits up and compare. */
    if (na < nb)
        ca *= ten_to(nb - na);
    else
        cb *= ten_to(na - nb);
    if (ca == cb)
        return 0;
    return ca < cb ? -1 : 1;
}

/* -1, 0 or 1 for negative, zero, positive. */
static int sign_of(const struct dec *d)
{
    if (d->coef == 0)
        return 0;
    return d->neg ? -1 : 1;
}

int dec_cmp(const struct dec *a, const struct dec *b)
{
    int sa = sign_of(a), sb = sign_of(b);

    if (sa != sb)
        return sa < sb ? -1 : 1;
    if (sa == 0)
        return 0;
    return sa * cmp_magnitude(a, b);
}

/* ==== Addition and subtraction ==== */

/* A magnitude on its way to being rounded:
 *   (hi + (guard + sticky * eps) / GUARD_ONE) * 10^exp,  0 < eps < 1. */
struct wide {
    u128 hi;
    unsigned guard;
    int sticky;
    int64_t exp;
};

/* Express c * 10^e in units of 10^base, for a c whose leading digit is no
 * higher than base + 37 (so the integer part fits below 10^38). */
static void align(u128 c, int64_t e, int64_t base, struct wide *w)
{
    int64_t k = base - e; /* digits that fall below 10^base */
    u128 rem;

    w->exp = base;
    w->guard = 0;
    w->sticky = 0;
    if (k <= 0) {
        w->hi = c * ten_to(-k);
        return;
    }
    if (k > 38) { /* all of c is below base: no loop over k */
        w->hi = 0;
        rem = c;
    } else {
        w->hi = c / ten_to(k);
        rem = c % ten_to(k);
    }
    /* rem / 10^k is the fraction; keep its first GUARD digits. */
    if (k <= GUARD) {
        w->guard = (unsigned)(rem * ten_to(GUARD - k));
        return;
    }
    if (k - GUARD > 38) { /* rem < 10^38 <= 10^(k - GUARD) */
        w->sticky = rem != 0;
        return;
    }
    w->guard = (unsigned)(rem / ten_to(k - GUARD));
    w->sticky = rem % ten_to(k - GUARD) != 0;
}

/* |x| + |y| with x 38 digits at w->exp and y aligned into *w. */
static void add_magnitudes(u128 x, struct wide *w)
{
    w->hi += x; /* < 2 * 10^38 < 2^128 */
    if (w->hi < ten_to(38))
        return;
    /* 39 digits: shift one into the guard digits. */
    w->sticky |= w->guard % 10 != 0;
    w->guard = (unsigned)(w->hi % 10) * (GUARD_ONE / 10) + w->guard / 10;
    w->hi /= 10;
    w->exp++;
}

/* |x| - |y| with x 38 digits at w->exp and y aligned into *w.  Returns 1
 * when |y| > |x| (the result's sign flips).  That can only happen when y
 * has no guard digits, since a y reaching below x's last digit has its
 * leading digit below x's. */
static int sub_magnitudes(u128 x, struct wide *w)
{
    if (w->guard == 0 && !w->sticky) {
        if (w->hi > x) {
            w->hi -= x;
            return 1;
        }
        w->hi = x - w->hi;
        return 0;
    }
    /* Borrow one unit for the fraction: 1 - f = (GUARD_ONE - guard -
     * sticky + sticky * (1 - eps)) / GUARD_ONE. */
    w->hi = x - w->hi - 1;
    w->guard = GUARD_ONE - w->guard - (unsigned)w->sticky;
    /* If the leading digit cancelled, refill it from the first guard
     * digit.  Once is enough: with y one place below x's 38 digits the
     * guard held all of y and is now empty (the result is exact, however
     * small); with y two or more places below, y's leading digit is two
     * places below x's and at most one digit can cancel. */
    if (w->hi < ten_to(37)) {
        w->hi = w->hi * 10 + w->guard / (GUARD_ONE / 10);
        w->guard = (w->guard % (GUARD_ONE / 10)) * 10;
        w->exp--;
    }
    return 0;
}

/* Round w to its integer part, half to even; returns 1 if inexact. */
static int round_half_even(struct wide *w)
{
    int up = w->guard > GUARD_HALF ||
             (w->guard == GUARD_HALF && (w->sticky || (w->hi & 1)));
    int inexact = w->guard != 0 || w->sticky;

    if (up) {
        w->hi++;
        if (w->hi == ten_to(38)) {
            w->hi = ten_to(37);
            w->exp++;
        }
    }
    w->guard = 0;
    w->sticky = 0;
    return inexact;
}

/* a + b for non-zero operands. */
static int add_nonzero(const struct dec *a, const struct dec *b,
                       struct dec *out, int *inexact)
{
    const struct dec *x = a, *y = b;
    struct wide w;
    int nx, neg, flip;
    u128 xc;

    /* x is the operand with the higher leading digit. */
    if ((int64_t)b->exp + digit_count(b->coef) >
        (int64_t)a->exp + digit_count(a->coef)) {
        x = b;
        y = a;
    }
    nx = digit_count(x->coef);
    xc = x->coef * ten_to(DEC_MAX_DIGITS - nx);
    align(y->coef, y->exp, (int64_t)x->exp - (DEC_MAX_DIGITS - nx), &w);
    neg = x->neg;
    if (x->neg == y->neg) {
        add_magnitudes(xc, &w);
    } else {
        flip = sub_magnitudes(xc, &w);
        if (flip)
            neg = !neg;
    }
    *inexact = round_half_even(&w);
    return finish(neg, w.hi, w.exp, out);
}

int dec_add(const struct dec *a, const struct dec *b, struct dec *out,
            int *inexact)
{
    int dummy;

    if (inexact == NULL)
        inexact = &dummy;
    *inexact = 0;
    assert(a->coef < ten_to(38) && b->coef < ten_to(38));
    if (a->coef == 0)
        return finish(b->neg, b->coef, b->exp, out);
    if (b->coef == 0)
        return finish(a->neg, a->coef, a->exp, out);
    return add_nonzero(a, b, out, inexact);
}

int dec_sub(const struct dec *a, const struct dec *b, struct dec *out,
            int *inexact)
{
    struct dec nb = *b;

    nb.neg = !b->neg;
    return dec_add(a, &nb, out, inexact);
}

/* ==== 64-bit integers ==== */

void dec_from_i64(int64_t v, struct dec *out)
{
    /* Negate in unsigned arithmetic so INT64_MIN works. */
    uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    u128 c = mag;
    int64_t exp = 0;

    strip_zeros(&c, &exp);
    out->coef = c;
    out->exp = (int32_t)exp;
    out->neg = v < 0 ? 1 : 0;
}

int dec_to_i64(const struct dec *d, int64_t *out)
{
    u128 c = d->coef, limit;
    int64_t exp = d->exp;

    strip_zeros(&c, &exp);
    if (c == 0) {
        *out = 0;
        return DEC_OK;
    }
    if (exp < 0)
        return DEC_ESYNTAX; /* normalised with a negative exponent */
    if (exp + digit_count(c) > 19)
        return DEC_EOVERFLOW; /* >= 10^19 > 2^63 */
    c *= ten_to(exp);
    limit = d->neg ? (u128)INT64_MAX + 1 : (u128)INT64_MAX;
    if (c > limit)
        return DEC_EOVERFLOW;
    *out = d->neg ? (int64_t)(0 - (uint64_t)c) : (int64_t)c;
    return DEC_OK;
}

/* ==== Key encoding (format in the file comment) ==== */

size_t dec_key_encode(const struct dec *d, uint8_t *out)
{
    char dig[40];
    u128 c = d->coef;
    int64_t exp = d->exp, adj;
    uint8_t flip;
    size_t len = 0;
    int nd, i;

    strip_zeros(&c, &exp);
    if (c == 0) {
        out[0] = KEY_ZERO;
        return 1;
    }
    nd = coef_digits(c, dig);
    adj = exp + nd - 1;
    assert(nd <= DEC_MAX_DIGITS);
    assert(adj >= DEC_MIN_EXP && adj <= DEC_MAX_EXP);
    flip = d->neg ? 0xFF : 0x00; /* XOR with 0xFF is 255 - b */
    out[len++] = d->neg ? KEY_NEG : KEY_POS;
    out[len++] = (uint8_t)(adj - DEC_MIN_EXP) ^ flip;
    for (i = 0; i < nd; i += 2) {
        int pair = (dig[i] - '0') * 10 + (i + 1 < nd ? dig[i + 1] - '0' : 0);

        out[len++] = (uint8_t)(pair + 1) ^ flip;
    }
    out[len++] = flip; /* terminator: 0x00, or 0xFF for negatives */
    return len;
}

size_t dec_key_decode(const uint8_t *p, size_t n, struct dec *out)
{
    uint8_t flip, again[DEC_KEY_MAX];
    u128 c = 0;
    int64_t adj, exp;
    size_t i;
    int npairs = 0;
    struct dec d;

    if (n < 1)
        return 0;
    if (p[0] == KEY_ZERO) {
        out->coef = 0;
        out->exp = 0;
        out->neg = 0;
        return 1;
    }
    if (p[0] != KEY_NEG && p[0] != KEY_POS)
        return 0;
    if (n < 2)
        return 0;
    flip = p[0] == KEY_NEG ? 0xFF : 0x00;
    adj = (int64_t)(p[1] ^ flip) + DEC_MIN_EXP;
    for (i = 2; i < n; i++) {
        unsigned b = p[i] ^ flip;

        if (b == 0)
            break; /* terminator */
        if (b > 100 || npairs == DEC_MAX_DIGITS / 2)
            return 0;
        c = c * 100 + (b - 1);
        npairs++;
    }
    if (i == n || npairs == 0)
        return 0; /* no terminator, or no digits */
    /* coef = c holds 2*npairs digits, the first at 10^adj. */
    exp = adj - (2 * npairs - 1);
    strip_zeros(&c, &exp);
    if (c == 0 || digit_count(c) + exp - 1 != adj)
        return 0; /* leading digit 0 */
    d.coef = c;
    d.exp = (int32_t)exp;
    d.neg = flip ? 1 : 0;
    /* Accept only the canonical encoding (e.g. no "00" last pair). */
    if (dec_key_encode(&d, again) != i + 1 || memcmp(again, p, i + 1) != 0)
        return 0;
    *out = d;
    return i + 1;
}
