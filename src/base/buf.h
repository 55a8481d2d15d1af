/*
 * buf.h - a growable byte buffer with a hard size cap.
 *
 * The cap is how size limits are enforced (curl's dynbuf `toobig`): an
 * append that would take the buffer past `max` fails with TM_ETOOLARGE and
 * leaves the buffer as it was.  Memory comes from malloc; buf_free releases
 * it; buf_take hands it to the caller.
 */
#ifndef TM_BUF_H
#define TM_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct buf {
    uint8_t *data; /* NULL until the first append; not NUL-terminated */
    size_t len;
    size_t cap;
    size_t max;    /* hard cap in bytes */
};

/* Start an empty buffer that may grow to `max` bytes.  Allocates nothing. */
void buf_init(struct buf *b, size_t max);

/* Append `n` bytes.  Returns 0, TM_ENOMEM, or TM_ETOOLARGE past `max`; on
 * failure the buffer is unchanged.  Inline when the bytes fit in the memory
 * already held (answers are written a byte or a few at a time: the call
 * was 15% of a Query's CPU); buf_append_grow otherwise. */
int buf_append_grow(struct buf *b, const void *p, size_t n);

static inline int buf_append(struct buf *b, const void *p, size_t n)
{
    if (n <= b->cap - b->len && n <= b->max - b->len) {
        if (n)
            memcpy(b->data + b->len, p, n);
        b->len += n;
        return 0;
    }
    return buf_append_grow(b, p, n);
}

static inline int buf_putc(struct buf *b, uint8_t c)
{
    if (b->len < b->cap && b->len < b->max) {
        b->data[b->len++] = c;
        return 0;
    }
    return buf_append_grow(b, &c, 1);
}

int buf_put_u32le(struct buf *b, uint32_t v);
int buf_put_u64le(struct buf *b, uint64_t v);
/* Unsigned LEB128 varint. */
int buf_put_varint(struct buf *b, uint64_t v);
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Make room for `n` more bytes; returns a pointer to them or NULL (ENOMEM
 * or over the cap).  The caller writes and then adds `n` to b->len. */
uint8_t *buf_reserve(struct buf *b, size_t n);

/* Forget the contents, keep the memory. */
void buf_reset(struct buf *b);

/* Release the memory; the buffer is empty and reusable afterwards. */
void buf_free(struct buf *b);

/* Hand the data to the caller (who frees it with free()); `*len` gets its
 * length.  The buffer is left empty. */
uint8_t *buf_take(struct buf *b, size_t *len);

/* Little-endian readers for decoders. */
static inline uint32_t buf_get_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static inline uint64_t buf_get_u64le(const uint8_t *p)
{
    return (uint64_t)buf_get_u32le(p) | (uint64_t)buf_get_u32le(p + 4) << 32;
}

/* Writers into a byte array (buf_put_* above append to a struct buf):
 * little-endian for encoders (log records, backup files, the state's
 * counters, stream iterators), big-endian where byte order must be the
 * order of memcmp (keys). */
static inline void buf_store_u32le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline void buf_store_u64le(uint8_t *p, uint64_t v)
{
    buf_store_u32le(p, (uint32_t)v);
    buf_store_u32le(p + 4, (uint32_t)(v >> 32));
}

static inline void buf_store_u64be(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/* Read an unsigned LEB128 varint from [*p, end).  Returns 0 and advances
 * *p, or -1 if truncated, longer than 10 bytes, or over 64 bits. */
int buf_get_varint(const uint8_t **p, const uint8_t *end, uint64_t *out);

#endif
