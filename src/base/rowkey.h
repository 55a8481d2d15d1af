/*
 * rowkey.h - the order of the rows of one table: the order the state's
 * cursors return them in (src/engine) and backup files hold them in
 * (src/backup/backup_format.c), so that both check the same thing.
 *
 * LMDB keys are at most 511 bytes while a DynamoDB primary key may take
 * about 3 KB.  A row key of at most ROWKEY_INLINE bytes is stored as it
 * is; a longer one as its first ROWKEY_PREFIX bytes followed by the
 * big-endian hash64 of the whole key (rowkey_stored).  Rows are ordered by
 * that stored form (bytes, then length, as LMDB compares), and two rows
 * whose stored forms are equal by their whole keys.  Consequence
 * (docs/compatibility.md): rows whose keys share their first
 * ROWKEY_PREFIX bytes are ordered by hash among themselves, not by sort
 * key.  Changing any of this changes the state's and the backups' order.
 */
#ifndef TM_ROWKEY_H
#define TM_ROWKEY_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/buf.h"
#include "base/hash.h"

#define ROWKEY_INLINE 480
#define ROWKEY_PREFIX 472 /* + the 8-byte hash = ROWKEY_INLINE */

/* The stored form of `key` in out (ROWKEY_INLINE bytes at most); its
 * length.  *is_long: whether it is the prefix-and-hash form. */
static inline size_t rowkey_stored(const uint8_t *key, size_t klen,
                                   uint8_t out[ROWKEY_INLINE], int *is_long)
{
    if (klen <= ROWKEY_INLINE) {
        if (klen)
            memcpy(out, key, klen);
        *is_long = 0;
        return klen;
    }
    memcpy(out, key, ROWKEY_PREFIX);
    buf_store_u64be(out + ROWKEY_PREFIX, hash64(key, klen));
    *is_long = 1;
    return ROWKEY_PREFIX + 8;
}

static inline int rowkey_bytes_cmp(const uint8_t *a, size_t al,
                                   const uint8_t *b, size_t bl)
{
    size_t n = al < bl ? al : bl;
    int c = n ? memcmp(a, b, n) : 0;

    if (c != 0)
        return c;
    return al < bl ? -1 : al > bl ? 1 : 0;
}

/* <0, 0 or >0 as row key a comes before, is, or comes after row key b. */
static inline int rowkey_cmp(const uint8_t *a, size_t al, const uint8_t *b,
                             size_t bl)
{
    uint8_t sa[ROWKEY_INLINE], sb[ROWKEY_INLINE];
    size_t la, lb;
    int is_long, c;

    if (al <= ROWKEY_INLINE && bl <= ROWKEY_INLINE)
        return rowkey_bytes_cmp(a, al, b, bl);
    la = rowkey_stored(a, al, sa, &is_long);
    lb = rowkey_stored(b, bl, sb, &is_long);
    c = rowkey_bytes_cmp(sa, la, sb, lb);
    return c ? c : rowkey_bytes_cmp(a, al, b, bl);
}

#endif
