/*
 * fuzz_backup_reader.c - libFuzzer target for the backup file reader
 * (src/backup/backup_format.c), which reads files that may come from a
 * damaged disk or an object store.
 *
 * Each input is read three ways, each in both check modes
 * (BACKUP_CHECK_AT_OPEN, BACKUP_CHECK_STREAMING):
 *   1. as it is: a mutated file almost never passes its checksums, so this
 *      exercises the header, footer and checksum paths;
 *   2. "resealed": every checksum recomputed as backup_format.c documents
 *      them, so that mutations of lengths, counts, offsets, zstd frames and
 *      rows reach the checks behind the checksums;
 *   3. as the uncompressed content of one block (rows), compressed and
 *      sealed into an otherwise valid file whose counts are taken from a
 *      lenient parse: this reaches the row parser and key-order check.
 * The reader must never crash, read out of bounds or allocate without a
 * bound (ASan, UBSan and libFuzzer's malloc limit watch that), must fail
 * only with TM_ECORRUPT (or TM_ENOMEM), both modes must agree on what they
 * accept, and an accepted file's rows must add up to its footer's counts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>
#include <zstd.h>

#include "backup/backup_format.h"
#include "base/err.h"

#define HDR_MIN 80
#define BLK_HDR 40
#define FTR_LEN 96
#define RESEAL_MAX (4u << 20)
#define BLOCK_INPUT_MAX (256u << 10)

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void wr64(uint8_t *p, uint64_t v)
{
    wr32(p, (uint32_t)v);
    wr32(p + 4, (uint32_t)(v >> 32));
}

/* Recompute the header, block, footer and whole-file checks. */
static void reseal(uint8_t *d, size_t len)
{
    uint64_t h, salt, off, f;
    XXH3_state_t *st;

    if (len < HDR_MIN + FTR_LEN)
        return;
    h = rd32(d + 12);
    if (h < HDR_MIN || h > len - FTR_LEN)
        return;
    wr64(d + h - 8, XXH3_64bits(d, h - 8));
    salt = rd64(d + 16);
    f = len - FTR_LEN;
    st = XXH3_createState();
    if (st == NULL)
        abort();
    for (off = h; off + BLK_HDR <= f;) {
        uint64_t c = rd32(d + off + 4);
        if (c > f - off - BLK_HDR)
            break;
        XXH3_64bits_reset_withSeed(st, salt);
        XXH3_64bits_update(st, d + off, 32);
        XXH3_64bits_update(st, d + off + BLK_HDR, c);
        wr64(d + off + 32, XXH3_64bits_digest(st));
        off += BLK_HDR + c;
    }
    XXH3_freeState(st);
    wr64(d + f + 80, XXH3_64bits_withSeed(d + f, 80, salt));
    wr64(d + len - 8, XXH3_64bits(d, len - 8));
}

struct outcome {
    int rc;           /* 0: every row read and the end checked */
    uint64_t rows;
    uint64_t digest;  /* over every key and item, in order */
};

static void drain(const uint8_t *d, size_t len, enum backup_check check,
                  struct outcome *o)
{
    struct backup_read_options opt = {check, NULL, NULL};
    struct backup_reader *r;
    struct tm_error err;
    const struct backup_stats *st;
    const uint8_t *k, *it;
    size_t kl, il;
    uint64_t keys = 0, items = 0;
    XXH3_state_t *h = XXH3_createState();

    if (h == NULL)
        abort();
    XXH3_64bits_reset(h);
    memset(o, 0, sizeof *o);
    o->rc = backup_reader_open_mem_opts(d, len, "fuzz", &opt, &r, &err);
    if (o->rc == 0) {
        st = backup_reader_stats(r);
        while ((o->rc = backup_reader_next(r, &k, &kl, &it, &il, &err)) ==
               1) {
            o->rows++;
            keys += kl;
            items += il;
            XXH3_64bits_update(h, &kl, sizeof kl);
            XXH3_64bits_update(h, k, kl);
            XXH3_64bits_update(h, &il, sizeof il);
            XXH3_64bits_update(h, it, il);
        }
        if (o->rc == 0 && (o->rows != st->rows || keys != st->key_bytes ||
                           items != st->item_bytes ||
                           st->file_bytes != len))
            abort(); /* accepted, but the counts disagree */
        backup_reader_close(r);
    }
    if (o->rc != 0 && o->rc != TM_ECORRUPT && o->rc != TM_ENOMEM)
        abort();
    o->digest = XXH3_64bits_digest(h);
    XXH3_freeState(h);
}

/* Both modes accept the same files, with the same rows. */
static void both(const uint8_t *d, size_t len)
{
    struct outcome a, s;

    drain(d, len, BACKUP_CHECK_AT_OPEN, &a);
    drain(d, len, BACKUP_CHECK_STREAMING, &s);
    if ((a.rc == 0) != (s.rc == 0))
        abort();
    if (a.rc == 0 && (a.rows != s.rows || a.digest != s.digest))
        abort();
}

/* Way 3: `raw` as one block's rows, in a file with a minimal header. */
static void as_block(const uint8_t *raw, size_t rlen)
{
    size_t bound = ZSTD_compressBound(rlen), len, cl;
    uint64_t rows = 0, keys = 0, items = 0;
    const uint8_t *p = raw, *end = raw + rlen;
    uint8_t *d, *b, *f;

    /* Lenient count of the rows, so that the footer usually agrees. */
    while (p < end) {
        uint64_t v[2];
        int i, j;
        for (j = 0; j < 2; j++) {
            v[j] = 0;
            for (i = 0; i < 4 && p < end; i++) {
                v[j] |= (uint64_t)(*p & 0x7f) << (7 * i);
                if (!(*p++ & 0x80))
                    break;
            }
        }
        if (v[0] + v[1] > (uint64_t)(end - p))
            break;
        p += v[0] + v[1];
        rows++;
        keys += v[0];
        items += v[1];
    }
    if (rows == 0)
        rows = 1;
    d = malloc(HDR_MIN + BLK_HDR + bound + FTR_LEN);
    if (d == NULL)
        abort();
    memset(d, 0, HDR_MIN);
    memcpy(d, "TMBAK\r\n\x1a", 8);
    wr32(d + 8, BACKUP_FORMAT_VERSION);
    wr32(d + 12, HDR_MIN);
    wr64(d + 16, 0x0123456789abcdefULL);
    b = d + HDR_MIN;
    cl = ZSTD_compress(b + BLK_HDR, bound, raw, rlen, 1);
    if (ZSTD_isError(cl))
        abort();
    wr32(b, (uint32_t)rlen);
    wr32(b + 4, (uint32_t)cl);
    wr32(b + 8, (uint32_t)rows);
    memset(b + 12, 0, 20);
    len = HDR_MIN + BLK_HDR + cl;
    f = d + len;
    memset(f, 0, FTR_LEN);
    memcpy(f, "TMBAKEND", 8);
    wr32(f + 8, BACKUP_FORMAT_VERSION);
    wr32(f + 12, FTR_LEN);
    wr64(f + 16, 0x0123456789abcdefULL);
    wr64(f + 24, rows);
    wr64(f + 32, items);
    wr64(f + 40, keys);
    wr64(f + 48, 1);
    wr64(f + 56, HDR_MIN);
    wr64(f + 64, HDR_MIN);
    wr32(f + 72, (uint32_t)rlen);
    wr32(f + 76, (uint32_t)cl);
    len += FTR_LEN;
    reseal(d, len);
    both(d, len);
    free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy;

    both(data, size);
    if (size <= RESEAL_MAX) {
        copy = malloc(size ? size : 1);
        if (copy == NULL)
            abort();
        memcpy(copy, data, size);
        reseal(copy, size);
        both(copy, size);
        free(copy);
    }
    if (size > 0 && size <= BLOCK_INPUT_MAX)
        as_block(data, size);
    return 0;
}
