/*
 * buf.c - growable byte buffer with a cap; see buf.h.
 */
#include "base/buf.h"
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

static int grow(struct buf *b, size_t need)
{
    size_t ncap;
    uint8_t *p;

    if (need > b->max)
        return TM_ETOOLARGE;
    if (need <= b->cap)
        return 0;
    ncap = b->cap ? b->cap : 64;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    if (ncap > b->max)
        ncap = b->max;
    p = realloc(b->data, ncap);
    if (p == NULL)
        return TM_ENOMEM;
    b->data = p;
    b->cap = ncap;
    return 0;
}

uint8_t *buf_reserve(struct buf *b, size_t n)
{
    if (n > SIZE_MAX - b->len || grow(b, b->len + n) != 0)
        return NULL;
    return b->data + b->len;
}

int buf_append_grow(struct buf *b, const void *p, size_t n)
{
    int rc;

    if (n == 0)
        return 0;
    if (n > SIZE_MAX - b->len)
        return TM_ETOOLARGE;
    rc = grow(b, b->len + n);
    if (rc)
        return rc;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int buf_put_u32le(struct buf *b, uint32_t v)
{
    uint8_t t[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
                    (uint8_t)(v >> 24)};
    return buf_append(b, t, 4);
}

int buf_put_u64le(struct buf *b, uint64_t v)
{
    int rc = buf_put_u32le(b, (uint32_t)v);
    return rc ? rc : buf_put_u32le(b, (uint32_t)(v >> 32));
}

int buf_put_varint(struct buf *b, uint64_t v)
{
    uint8_t t[10];
    size_t n = 0;

    do {
        t[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            t[n] |= 0x80;
        n++;
    } while (v);
    return buf_append(b, t, n);
}

int buf_get_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    unsigned shift = 0;
    const uint8_t *q = *p;

    while (q < end && shift < 70) {
        uint8_t c = *q++;
        /* the tenth byte holds bit 63 only: anything more overflows */
        if (shift == 63 && (c & 0xfe))
            return -1;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *p = q;
            *out = v;
            return 0;
        }
        shift += 7;
    }
    return -1;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    uint8_t *dst;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return TM_EINTERNAL;
    dst = buf_reserve(b, (size_t)n + 1);
    if (dst == NULL)
        return TM_ENOMEM;
    va_start(ap, fmt);
    vsnprintf((char *)dst, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void buf_reset(struct buf *b) { b->len = 0; }

void buf_free(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

uint8_t *buf_take(struct buf *b, size_t *len)
{
    uint8_t *p = b->data;

    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
