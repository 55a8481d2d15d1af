/*
 * utf8.h - UTF-8 as DynamoDB's JSON and jansson accept it: one sequence at
 * a time (tag keys and values are checked per character) or a whole run
 * (the request-body fast path, src/base/jsonparse.c).  Malformed means an
 * overlong form, a surrogate, a code point beyond U+10FFFF, a stray
 * continuation byte or a sequence cut short.
 */
#ifndef TM_UTF8_H
#define TM_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decode one UTF-8 sequence at s[0..n) (n >= 1): its length and *cp, or -1
 * for malformed input. */
static inline int utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    uint32_t c = s[0], min;
    int len, i;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if ((c & 0xe0) == 0xc0) {
        len = 2, c &= 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3, c &= 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4, c &= 0x07, min = 0x10000;
    } else {
        return -1;
    }
    if ((size_t)len > n)
        return -1;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return -1;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return -1;
    *cp = c;
    return len;
}

/* Whether p[0..n) is well-formed UTF-8 throughout. */
static inline int utf8_valid(const uint8_t *p, size_t n)
{
    uint32_t cp;

    for (size_t i = 0; i < n;) {
        int len = utf8_next(p + i, n - i, &cp);
        if (len < 0)
            return 0;
        i += (size_t)len;
    }
    return 1;
}

#endif
