/*
 * base64.h - standard base64 (RFC 4648 section 4: alphabet A-Z a-z 0-9 + /,
 * '=' padding) as DynamoDB uses it for B and BS values in JSON.
 *
 * Encoding always pads.  Decoding is strict, as DynamoDB's (Java) decoder
 * is: the text length must be a multiple of 4, every character must be in
 * the alphabet, '=' may only appear as one or two padding characters at
 * the very end, and the unused low bits of the last character before the
 * padding must be zero (so every byte string has exactly one accepted
 * text, and decode(encode(x)) == x, encode(decode(t)) == t).  No
 * whitespace, no URL-safe alphabet, no missing padding.
 *
 * Thread-safe: pure functions.
 */
#ifndef TM_BASE64_H
#define TM_BASE64_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/* Decode failures (negative; 0 is success). */
enum base64_status {
    BASE64_OK = 0,
    BASE64_ELENGTH = -1, /* length is not a multiple of 4 */
    BASE64_ECHAR = -2,   /* a character outside the alphabet, or a '='
                            that is not trailing padding */
    BASE64_ETAIL = -3    /* non-zero unused bits before the padding */
};

/* Length of the padded base64 text of `n` bytes: 4 * ceil(n / 3). */
static inline size_t base64_encoded_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

/* Upper bound of the bytes decoded from `n` characters of text: the exact
 * count for valid text without padding, at most 2 more than needed with
 * it.  Size the output of base64_decode with it. */
static inline size_t base64_decoded_max(size_t n)
{
    return n / 4 * 3;
}

/* Append the padded base64 text of the `n` bytes at `p` to `out` (no
 * quotes, no NUL).  Returns 0, or TM_ENOMEM / TM_ETOOLARGE with `out`
 * unchanged. */
int base64_encode(struct buf *out, const uint8_t *p, size_t n);

/* Decode the `n` characters at `s` (not NUL-terminated) into `out`, which
 * must have room for base64_decoded_max(n) bytes.  On success returns
 * BASE64_OK and sets `*out_len`; otherwise returns a BASE64_E* status and
 * the contents of `out` are unspecified.  `out` may be NULL when `n` is 0.
 * The empty text decodes to zero bytes. */
int base64_decode(const char *s, size_t n, uint8_t *out, size_t *out_len);

/* A short English description of a BASE64_E* status ("Invalid Base64
 * character"), for error messages. */
const char *base64_strerror(int status);

#endif
