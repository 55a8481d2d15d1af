/*
 * decimal.h - DynamoDB numbers: 38 significant digits, exponent range
 * 1E-130 .. 9.9999999999999999999999999999999999999E+125.
 *
 * A number is sign, coefficient and exponent: value = (-1)^neg * coef *
 * 10^exp, with coef < 10^38 held in an unsigned 128-bit integer.  Values
 * are kept normalised: coef has no trailing decimal zeros (coef % 10 != 0)
 * unless the value is zero, and zero is {coef 0, exp 0, neg 0}.  So two
 * equal numbers have identical structs, and "1.50", "15E-1" and "1.5" are
 * the same value.
 *
 * What DynamoDB does and this module reproduces:
 *   - input syntax: optional sign, digits with an optional '.', optional
 *     exponent (e|E, optional sign, digits).  No spaces, no "Infinity",
 *     no "NaN", no hex, at least one digit in the mantissa.
 *   - more than 38 significant digits (after stripping leading and
 *     trailing zeros) -> DEC_EPRECISION
 *   - |value| > 9.99..E+125 -> DEC_EOVERFLOW; 0 < |value| < 1E-130 ->
 *     DEC_EUNDERFLOW
 *   - output: plain notation, no exponent, no trailing zeros after the
 *     point, no leading zeros, "-" only for negatives, zero as "0"
 *     (Java's BigDecimal.stripTrailingZeros().toPlainString()).
 *
 * Thread-safe: pure functions over caller-owned structs.
 */
#ifndef TM_DECIMAL_H
#define TM_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

#define DEC_MAX_DIGITS 38
#define DEC_MIN_EXP (-130) /* smallest magnitude is 1E-130 */
#define DEC_MAX_EXP 125    /* largest magnitude is 9.99..E+125 */

/* Longest dec_format output: sign, "0.", 129 zeros, 38 digits, NUL; or 126
 * integer digits.  Rounded up. */
#define DEC_STR_MAX 176

/* Longest dec_key_encode output. */
#define DEC_KEY_MAX 24

enum dec_status {
    DEC_OK = 0,
    DEC_ESYNTAX = -1,    /* not a number */
    DEC_EPRECISION = -2, /* more than 38 significant digits */
    DEC_EOVERFLOW = -3,  /* magnitude above 9.99..E+125 */
    DEC_EUNDERFLOW = -4  /* non-zero magnitude below 1E-130 */
};

struct dec {
    unsigned __int128 coef; /* < 10^38, no trailing zeros unless 0 */
    int32_t exp;
    uint8_t neg;            /* 1 for negative non-zero values */
};

/* Parse `n` bytes at `s` (not NUL-terminated).  Returns DEC_OK or a
 * DEC_E* status; `*out` is set only on DEC_OK.  When several errors apply,
 * DEC_ESYNTAX wins, then DEC_EOVERFLOW / DEC_EUNDERFLOW, then
 * DEC_EPRECISION (dynalite's order).  A leading '+' is accepted. */
int dec_parse(const char *s, size_t n, struct dec *out);

/* Write the canonical text of `d` into `out` (NUL-terminated; `cap` must be
 * at least DEC_STR_MAX).  Returns the length without the NUL. */
size_t dec_format(const struct dec *d, char *out, size_t cap);

/* -1, 0 or 1 as a <, ==, > b numerically. */
int dec_cmp(const struct dec *a, const struct dec *b);

/* a + b and a - b.  The exact result is rounded to 38 significant digits
 * (round half to even, as Python's decimal with prec=38); `*inexact` (may
 * be NULL) is set to 1 when rounding dropped non-zero digits, else 0.
 * Returns DEC_OK, or DEC_EOVERFLOW / DEC_EUNDERFLOW when the rounded result
 * is out of DynamoDB's range (then `*out` is unspecified).  `out` may alias
 * `a` or `b`.  Operands must satisfy the struct's invariants (as every
 * struct from this module does).  Note: DynamoDB rejects arithmetic whose
 * result needs more than 38 digits instead of rounding; a caller matching
 * that turns `*inexact` into a ValidationException. */
int dec_add(const struct dec *a, const struct dec *b, struct dec *out,
            int *inexact);
int dec_sub(const struct dec *a, const struct dec *b, struct dec *out,
            int *inexact);

/* From a 64-bit integer (always exact). */
void dec_from_i64(int64_t v, struct dec *out);

/* To a 64-bit integer: DEC_OK if `d` is an integer in range, else
 * DEC_ESYNTAX (not an integer) or DEC_EOVERFLOW. */
int dec_to_i64(const struct dec *d, int64_t *out);

/* Order-preserving binary encoding for keys: memcmp order of the encodings
 * equals numeric order of the values, and equal values encode equally.
 * Writes at most DEC_KEY_MAX bytes to `out`; returns the length.  The
 * encoding is self-delimiting: no valid encoding is a proper prefix of
 * another, so it can be followed by other key bytes. */
size_t dec_key_encode(const struct dec *d, uint8_t *out);

/* Decode one key encoding from the start of [p, p+n).  Returns the number
 * of bytes consumed, or 0 if the bytes are not a valid encoding. */
size_t dec_key_decode(const uint8_t *p, size_t n, struct dec *out);

#endif
