/*
 * test_backup_format.c - unit tests for the backup file format
 * (src/backup/backup_format.c).
 *
 * Files go to a fresh directory made with mkdtemp under /tmp, removed at
 * the end (left behind when a test fails, for a look).  Rows are generated
 * from their number (key length and bytes, item length and bytes), so any
 * row read back is checked exactly without keeping a copy.
 *
 * File surgery (flipping bytes, truncating, crafting files whose checksums
 * are right but whose content is not) uses the byte layout documented in
 * backup_format.c: header (80 + strings bytes, check at H-8), blocks
 * (40-byte header with the check at 32, then the zstd frame), footer (96
 * bytes: check at 80, whole-file check at 88).  The crafted-file tests
 * double as a check that the documented layout is the one the reader
 * accepts.
 */
#include "base/rowkey.h"
#include "test.h"

#include "backup/backup_format.h"
#include "base/err.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#define HDR_MIN 80
#define BLK_HDR 40
#define FTR_LEN 96

/* Like ASSERT, for helpers that return int: 0 ok, -1 failed. */
#define CHECK(c)                                                              \
    do {                                                                      \
        if (!(c)) {                                                           \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,  \
                    #c);                                                      \
            return -1;                                                        \
        }                                                                     \
    } while (0)

#define ASSERT_CONTAINS(hay, needle)                                          \
    do {                                                                      \
        const char *h_ = (hay), *n_ = (needle);                               \
        if (strstr(h_, n_) == NULL)                                           \
            TEST_FAIL_("\"%s\" does not contain \"%s\"", h_, n_);             \
    } while (0)

/* ==== Files ==== */

static char root[64];

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void path_of(char *out, const char *name)
{
    snprintf(out, PATH_MAX, "%s/%s", root, name);
}

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    struct stat sb;
    uint8_t *p;
    int fd = open(path, O_RDONLY);

    if (fd < 0 || fstat(fd, &sb) != 0) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    p = malloc((size_t)sb.st_size + 1);
    if (p && read(fd, p, (size_t)sb.st_size) != (ssize_t)sb.st_size) {
        free(p);
        p = NULL;
    }
    close(fd);
    *len = (size_t)sb.st_size;
    return p;
}

static int spit(const char *path, const uint8_t *p, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ssize_t k;

    if (fd < 0)
        return -1;
    k = write(fd, p, len);
    close(fd);
    return k == (ssize_t)len ? 0 : -1;
}

/* ==== Generated rows ==== */

struct gen {
    size_t (*klen)(uint64_t i);  /* >= 8: the key starts with i big-endian */
    size_t (*ilen)(uint64_t i);
};

static void fill_key(uint8_t *p, size_t len, uint64_t i)
{
    size_t j;
    for (j = 0; j < 8; j++)
        p[j] = (uint8_t)(i >> (56 - 8 * j));
    for (j = 8; j < len; j++)
        p[j] = (uint8_t)(i * 31 + j);
}

/* Every third item is noise (incompressible), the others a pattern. */
static void fill_item(uint8_t *p, size_t len, uint64_t i)
{
    uint64_t x = i * 0x9e3779b97f4a7c15ULL + 1;
    size_t j;

    if (i % 3 == 0) {
        for (j = 0; j < len; j++) {
            if (j % 8 == 0) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
            }
            p[j] = (uint8_t)(x >> (8 * (j % 8)));
        }
        return;
    }
    for (j = 0; j < len; j++)
        p[j] = (uint8_t)(i * 7 + j * 13 + (j >> 9));
}

static size_t k_small(uint64_t i) { return 8 + (size_t)(i * 7 % 40); }
static size_t i_small(uint64_t i)
{
    return i % 13 == 0 ? 0 : (size_t)(i * 131 % 300);
}

/* The large table: keys of 8..47 bytes and every 997th of ~3 KB; items
 * of 0..999 bytes, every 10007th 400 KB. */
static size_t k_varied(uint64_t i)
{
    return i % 997 == 0 ? 3000 + (size_t)(i % 72) : k_small(i);
}
static size_t i_varied(uint64_t i)
{
    if (i % 10007 == 5)
        return 400 * 1024;
    return i % 13 == 0 ? 0 : (size_t)(i * 131 % 1000);
}

static const struct gen G_SMALL = {k_small, i_small};
static const struct gen G_VARIED = {k_varied, i_varied};

static uint8_t kbuf[BACKUP_KEY_MAX], *ibuf;

static const struct backup_meta META = {
    0, "{\"TableName\":\"notes\",\"KeySchema\":[]}", 4711, 1700000000123LL,
    "arn:aws:dynamodb:us-east-1:000000000000:table/notes/backup/"
    "01700000000123-abcdef01",
    "arn:aws:dynamodb:us-east-1:000000000000:table/notes",
    "6f1d2c3b-0000-4000-8000-000000000001", "nightly", 1,
};

struct progress_log {
    uint64_t calls, last_rows, last_bytes;
    uint64_t zero_row_calls;
    int backwards;
};

static void on_progress(void *ctx, uint64_t rows, uint64_t bytes)
{
    struct progress_log *pl = ctx;
    if (rows == 0)
        pl->zero_row_calls++;
    else if (rows < pl->last_rows ||
             (rows == pl->last_rows && bytes < pl->last_bytes))
        pl->backwards = 1;
    pl->calls++;
    pl->last_rows = rows;
    pl->last_bytes = bytes;
}

/* Write rows 0..n-1 of `g` to `path`.  block_bytes 0: the default. */
/* 1: writers use a helper thread (backup_writer_set_threads); the tests
 * that write through write_rows run both ways. */
static int g_threads;

static int write_rows(const char *path, const struct backup_meta *m,
                      const struct gen *g, uint64_t n, size_t block_bytes,
                      struct backup_stats *st, struct progress_log *pl)
{
    struct backup_writer *w;
    struct tm_error err;
    uint64_t i;

    if (backup_writer_open(path, m, &w, &err) != 0) {
        fprintf(stderr, "open: %s\n", err.msg);
        return -1;
    }
    if (g_threads && backup_writer_set_threads(w, 1, &err) != 0) {
        fprintf(stderr, "threads: %s\n", err.msg);
        backup_writer_abort(w);
        return -1;
    }
    if (block_bytes)
        backup_writer_set_block_bytes(w, block_bytes);
    if (pl)
        backup_writer_set_progress(w, on_progress, pl);
    for (i = 0; i < n; i++) {
        size_t kl = g->klen(i), il = g->ilen(i);
        fill_key(kbuf, kl, i);
        fill_item(ibuf, il, i);
        if (backup_writer_add(w, kbuf, kl, ibuf, il, &err) != 0) {
            fprintf(stderr, "add %llu: %s\n", (unsigned long long)i,
                    err.msg);
            backup_writer_abort(w);
            return -1;
        }
    }
    if (backup_writer_finish(w, st, &err) != 0) {
        fprintf(stderr, "finish: %s\n", err.msg);
        return -1;
    }
    return 0;
}

/* Read every row and compare with rows 0..n-1 of `g`.  Returns the rows
 * read and matched before the first error (*rc gets next's final
 * return), or -1 when a row came back wrong. */
static long long read_rows(struct backup_reader *r, const struct gen *g,
                           uint64_t n, int *rc, struct tm_error *err)
{
    const uint8_t *k, *it;
    size_t kl, il;
    uint64_t i = 0;
    int k_rc;

    while ((k_rc = backup_reader_next(r, &k, &kl, &it, &il, err)) == 1) {
        if (i >= n || kl != g->klen(i) || il != g->ilen(i))
            return -1;
        fill_key(kbuf, kl, i);
        fill_item(ibuf, il, i);
        if (memcmp(k, kbuf, kl) != 0 || (il && memcmp(it, ibuf, il) != 0))
            return -1;
        i++;
    }
    *rc = k_rc;
    return (long long)i;
}

/* Open `path` (or the bytes in `mem`) with `check` and read everything;
 * 0 when every row matched and the end was clean. */
static int read_all(const char *path, const uint8_t *mem, size_t len,
                    enum backup_check check, const struct gen *g, uint64_t n)
{
    struct backup_read_options o = {check, NULL, NULL};
    struct backup_reader *r;
    struct tm_error err;
    long long got;
    int rc;

    rc = mem ? backup_reader_open_mem_opts(mem, len, "mem", &o, &r, &err)
             : backup_reader_open_opts(path, &o, &r, &err);
    if (rc != 0) {
        fprintf(stderr, "open: %s\n", err.msg);
        return -1;
    }
    got = read_rows(r, g, n, &rc, &err);
    if (rc != 0)
        fprintf(stderr, "next: %s\n", err.msg);
    backup_reader_close(r);
    CHECK(rc == 0);
    CHECK(got == (long long)n);
    return 0;
}

/* The offset named by a corruption message, or -1. */
static long long msg_offset(const char *msg)
{
    const char *p = strstr(msg, " at offset ");
    unsigned long long off;

    if (p == NULL || sscanf(p, " at offset %llu", &off) != 1)
        return -1;
    return (long long)off;
}

/* ==== Layout surgery (backup_format.c's header comment) ==== */

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

/* Starts of the structures of a valid file: 0 (header), each block, the
 * footer, the whole-file check.  Returns how many. */
static size_t regions(const uint8_t *d, size_t len, uint64_t *out,
                      size_t max)
{
    uint64_t off = rd32(d + 12), f = len - FTR_LEN;
    size_t n = 0;

    out[n++] = 0;
    while (off < f && n < max - 2) {
        out[n++] = off;
        off += BLK_HDR + rd32(d + off + 4);
    }
    out[n++] = f;
    out[n++] = len - 8;
    return n;
}

/* Recompute every check of a file laid out as documented, so that content
 * changes reach the reader's other checks. */
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

/* A file built by hand, block by block (for content the writer would
 * never produce). */
struct craft {
    uint8_t d[1 << 16];
    size_t len;
    uint64_t blocks, rows, items, keys, last;
    uint32_t max_u, max_c;
};

static void craft_header(struct craft *c, const char *json, size_t jlen)
{
    memset(c, 0, sizeof *c);
    memcpy(c->d, "TMBAK\r\n\x1a", 8);
    wr32(c->d + 8, 1);
    wr32(c->d + 12, (uint32_t)(HDR_MIN + jlen));
    wr64(c->d + 16, 0x5eed5eed5eed5eedULL);
    wr64(c->d + 24, 99);
    wr32(c->d + 48, (uint32_t)jlen);
    memcpy(c->d + 72, json, jlen);
    c->len = HDR_MIN + jlen; /* check filled in by reseal */
}

/* Append one block of the raw bytes `raw` claiming `u` uncompressed
 * bytes and `n` rows (the counts in the footer follow the claims). */
static void craft_block(struct craft *c, const uint8_t *raw, size_t rlen,
                        uint32_t u, uint32_t n, uint64_t klen_sum,
                        uint64_t ilen_sum)
{
    uint8_t *h = c->d + c->len;
    size_t cl = ZSTD_compress(h + BLK_HDR, sizeof c->d - c->len - 200, raw,
                              rlen, 3);

    wr32(h, u);
    wr32(h + 4, (uint32_t)cl);
    wr32(h + 8, n);
    wr32(h + 12, 0);
    wr64(h + 16, c->blocks);
    wr64(h + 24, c->rows);
    c->last = c->len;
    c->len += BLK_HDR + cl;
    c->blocks++;
    c->rows += n;
    c->keys += klen_sum;
    c->items += ilen_sum;
    if (u > c->max_u)
        c->max_u = u;
    if (cl > c->max_c)
        c->max_c = (uint32_t)cl;
}

static void craft_footer(struct craft *c)
{
    uint8_t *f = c->d + c->len;

    memset(f, 0, FTR_LEN);
    memcpy(f, "TMBAKEND", 8);
    wr32(f + 8, 1);
    wr32(f + 12, FTR_LEN);
    wr64(f + 16, rd64(c->d + 16));
    wr64(f + 24, c->rows);
    wr64(f + 32, c->items);
    wr64(f + 40, c->keys);
    wr64(f + 48, c->blocks);
    wr64(f + 56, rd32(c->d + 12));
    wr64(f + 64, c->blocks ? c->last : 0);
    wr32(f + 72, c->max_u);
    wr32(f + 76, c->max_c);
    c->len += FTR_LEN;
    reseal(c->d, c->len);
}

/* Raw rows: "klen ilen key item" with one-byte varints. */
static size_t raw_row(uint8_t *p, const char *key, const char *item)
{
    size_t kl = strlen(key), il = strlen(item);
    p[0] = (uint8_t)kl;
    p[1] = (uint8_t)il;
    memcpy(p + 2, key, kl);
    memcpy(p + 2 + kl, item, il);
    return 2 + kl + il;
}

/* Open (default checks) and read all; the error of whichever failed. */
static int open_and_drain(const uint8_t *d, size_t len,
                          enum backup_check check, uint64_t *rows,
                          struct tm_error *err)
{
    struct backup_read_options o = {check, NULL, NULL};
    struct backup_reader *r;
    const uint8_t *k, *it;
    size_t kl, il;
    int rc;

    *rows = 0;
    rc = backup_reader_open_mem_opts(d, len, "crafted.tmbak", &o, &r, err);
    if (rc)
        return rc;
    while ((rc = backup_reader_next(r, &k, &kl, &it, &il, err)) == 1)
        (*rows)++;
    backup_reader_close(r);
    return rc;
}

/* ==== Round trips ==== */

static void test_empty(void)
{
    char path[PATH_MAX];
    struct backup_stats st;
    struct backup_reader *r;
    struct tm_error err;
    const uint8_t *k, *it;
    size_t kl, il;
    uint8_t *d;
    size_t len;

    path_of(path, "empty.tmbak");
    ASSERT_EQ(write_rows(path, &META, &G_SMALL, 0, 0, &st, NULL), 0);
    ASSERT_EQ(st.rows, 0);
    ASSERT_EQ(st.blocks, 0);
    ASSERT_EQ(st.item_bytes, 0);
    ASSERT_EQ(st.file_bytes,
              HDR_MIN + strlen(META.table_json) + strlen(META.backup_arn) +
                  strlen(META.table_arn) + strlen(META.table_id) +
                  strlen(META.backup_name) + FTR_LEN);
    ASSERT_EQ(backup_reader_open(path, &r, &err), 0);
    ASSERT_EQ(backup_reader_stats(r)->rows, 0);
    ASSERT_EQ(backup_reader_stats(r)->file_bytes, st.file_bytes);
    ASSERT_EQ(backup_reader_next(r, &k, &kl, &it, &il, &err), 0);
    ASSERT_EQ(backup_reader_next(r, &k, &kl, &it, &il, &err), 0);
    backup_reader_close(r);
    ASSERT_EQ(read_all(path, NULL, 0, BACKUP_CHECK_STREAMING, &G_SMALL, 0),
              0);
    d = slurp(path, &len);
    ASSERT(d != NULL);
    ASSERT_EQ(read_all(NULL, d, len, BACKUP_CHECK_AT_OPEN, &G_SMALL, 0), 0);
    free(d);
}

static void test_one_row(void)
{
    char path[PATH_MAX];
    struct backup_stats st;

    path_of(path, "one.tmbak");
    ASSERT_EQ(write_rows(path, &META, &G_SMALL, 1, 0, &st, NULL), 0);
    ASSERT_EQ(st.rows, 1);
    ASSERT_EQ(st.blocks, 1);
    ASSERT_EQ(st.key_bytes, k_small(0));
    ASSERT_EQ(st.item_bytes, i_small(0));
    ASSERT_EQ(read_all(path, NULL, 0, BACKUP_CHECK_AT_OPEN, &G_SMALL, 1), 0);
    ASSERT_EQ(read_all(path, NULL, 0, BACKUP_CHECK_STREAMING, &G_SMALL, 1),
              0);
}

static void test_meta_roundtrip(void)
{
    char path[PATH_MAX];
    struct backup_meta m = META;
    const struct backup_meta *rm;
    struct backup_reader *r;
    struct tm_error err;
    char *json;
    size_t jlen = 1 << 20, i;

    json = malloc(jlen + 1);
    ASSERT(json != NULL);
    for (i = 0; i < jlen; i++)
        json[i] = (char)(' ' + i % 90);
    memcpy(json, "{\"caf\xc3\xa9\":", 9); /* UTF-8 passes as bytes */
    json[jlen] = '\0';
    m.format_version = 77; /* ignored */
    m.table_json = json;
    m.lsn = UINT64_MAX - 1;
    m.created_ms = -1234567;
    m.backup_type = -2;
    m.table_id = NULL; /* taken as "" */
    m.backup_name = "";
    path_of(path, "meta.tmbak");
    ASSERT_EQ(write_rows(path, &m, &G_SMALL, 3, 0, NULL, NULL), 0);
    ASSERT_EQ(backup_reader_open(path, &r, &err), 0);
    rm = backup_reader_meta(r);
    ASSERT_EQ(rm->format_version, BACKUP_FORMAT_VERSION);
    ASSERT_STR_EQ(rm->table_json, json);
    ASSERT(rm->lsn == UINT64_MAX - 1);
    ASSERT_EQ(rm->created_ms, -1234567);
    ASSERT_EQ(rm->backup_type, -2);
    ASSERT_STR_EQ(rm->backup_arn, META.backup_arn);
    ASSERT_STR_EQ(rm->table_arn, META.table_arn);
    ASSERT_STR_EQ(rm->table_id, "");
    ASSERT_STR_EQ(rm->backup_name, "");
    backup_reader_close(r);
    free(json);
}

/* Block boundaries: the writer closes a block when the next row would go
 * past the target, or when the target is reached; a row larger than the
 * target is a block by itself. */
static size_t k_fixed8(uint64_t i) { (void)i; return 8; }
static size_t i_238(uint64_t i) { (void)i; return 238; } /* row = 250 */
static size_t i_321(uint64_t i) { (void)i; return 321; } /* row = 333 */
static size_t i_mixed(uint64_t i)
{
    static const size_t s[] = {0, 990, 5000, 1, 489, 490, 491, 0, 2000};
    return s[i % 9];
}

static uint64_t expect_blocks(const struct gen *g, uint64_t n, size_t target)
{
    uint64_t blocks = 0, i;
    size_t fill = 0;

    for (i = 0; i < n; i++) {
        size_t kl = g->klen(i), il = g->ilen(i);
        size_t row = (kl < 128 ? 1 : kl < 16384 ? 2 : 3) +
                     (il < 128 ? 1 : il < 16384 ? 2 : 3) + kl + il;
        if (fill > 0 && fill + row > target) {
            blocks++;
            fill = 0;
        }
        fill += row;
        if (fill >= target) {
            blocks++;
            fill = 0;
        }
    }
    return blocks + (fill > 0);
}

static void test_large(void)
{
    char path[PATH_MAX];
    struct backup_stats st;
    const struct backup_stats *rs;
    struct backup_reader *r;
    struct tm_error err;
    uint64_t n = 100000, i, items = 0, keys = 0, big = 0;
    long long got;
    int rc;

    for (i = 0; i < n; i++) {
        items += i_varied(i);
        keys += k_varied(i);
        big += i_varied(i) == 400 * 1024;
    }
    ASSERT(big >= 9);
    path_of(path, "large.tmbak");
    ASSERT_EQ(write_rows(path, &META, &G_VARIED, n, 0, &st, NULL), 0);
    ASSERT_EQ(st.rows, n);
    ASSERT_EQ(st.item_bytes, items);
    ASSERT_EQ(st.key_bytes, keys);
    /* ~256 KiB blocks, each 400 KB row alone in its own. */
    ASSERT_EQ(st.blocks, expect_blocks(&G_VARIED, n, BACKUP_BLOCK_BYTES));
    ASSERT(st.blocks > (items + keys) / BACKUP_BLOCK_BYTES - big);

    ASSERT_EQ(backup_reader_open(path, &r, &err), 0);
    rs = backup_reader_stats(r);
    ASSERT_EQ(rs->rows, n);
    ASSERT_EQ(rs->item_bytes, items);
    ASSERT_EQ(rs->key_bytes, keys);
    ASSERT_EQ(rs->blocks, st.blocks);
    ASSERT_EQ(rs->file_bytes, st.file_bytes);
    got = read_rows(r, &G_VARIED, n, &rc, &err);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(got, (long long)n);
    /* Memory: one decompressed block (a 400 KB row alone at most), its
     * compressed form, the previous key. */
    ASSERT(backup_reader_buffer_bytes(r) <=
           (400 * 1024 + 3100 + 16) + BLK_HDR +
               ZSTD_compressBound(400 * 1024 + 3100 + 16) + 3100);
    backup_reader_close(r);
    ASSERT_EQ(read_all(path, NULL, 0, BACKUP_CHECK_STREAMING, &G_VARIED, n),
              0);
}

static void test_block_boundaries(void)
{
    static const struct gen g250 = {k_fixed8, i_238};
    static const struct gen g333 = {k_fixed8, i_321};
    static const struct gen gmix = {k_fixed8, i_mixed};
    static const struct {
        const struct gen *g;
        uint64_t n;
        size_t target;
        uint64_t blocks;
    } cases[] = {
        {&g250, 8, 1000, 2},   /* exactly 4 rows per block */
        {&g250, 9, 1000, 3},   /* and one row over */
        {&g333, 7, 1000, 3},   /* 999 bytes, the 4th row goes on */
        {&gmix, 50, 1000, 0},  /* mixed, incl. rows over the target */
        {&gmix, 50, 1, 50},    /* one row per block */
        {&g250, 2000, 0, 0},   /* default 256 KiB target */
    };
    char path[PATH_MAX];
    struct backup_stats st;
    size_t c;

    for (c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uint64_t want = cases[c].blocks
                            ? cases[c].blocks
                            : expect_blocks(cases[c].g, cases[c].n,
                                            cases[c].target
                                                ? cases[c].target
                                                : BACKUP_BLOCK_BYTES);
        path_of(path, "bounds.tmbak");
        unlink(path);
        ASSERT_EQ(write_rows(path, &META, cases[c].g, cases[c].n,
                             cases[c].target, &st, NULL),
                  0);
        ASSERT_EQ(st.blocks, want);
        ASSERT_EQ(read_all(path, NULL, 0, BACKUP_CHECK_AT_OPEN, cases[c].g,
                           cases[c].n),
                  0);
        ASSERT_EQ(read_all(path, NULL, 0, BACKUP_CHECK_STREAMING,
                           cases[c].g, cases[c].n),
                  0);
    }
    /* 2000 rows of 250 bytes in 256 KiB blocks: 1048 rows fill one. */
    ASSERT_EQ(expect_blocks(&g250, 2000, BACKUP_BLOCK_BYTES), 2);
}

/* Any zstd level reads back; the level is the writer's business. */
static void test_levels(void)
{
    static const int levels[] = {-1000, -5, 1, 19, 1000};
    char path[PATH_MAX];
    struct backup_writer *w;
    struct tm_error err;
    size_t l;
    uint64_t i;

    path_of(path, "level.tmbak");
    for (l = 0; l < sizeof levels / sizeof levels[0]; l++) {
        unlink(path);
        ASSERT_EQ(backup_writer_open(path, &META, &w, &err), 0);
        backup_writer_set_level(w, levels[l]);
        backup_writer_set_block_bytes(w, 4096);
        for (i = 0; i < 500; i++) {
            size_t kl = k_small(i), il = i_small(i);
            fill_key(kbuf, kl, i);
            fill_item(ibuf, il, i);
            ASSERT_EQ(backup_writer_add(w, kbuf, kl, ibuf, il, &err), 0);
            if (i == 250)
                backup_writer_set_level(w, 3);
        }
        ASSERT_EQ(backup_writer_finish(w, NULL, &err), 0);
        ASSERT_EQ(read_all(path, NULL, 0, BACKUP_CHECK_AT_OPEN, &G_SMALL,
                           500),
                  0);
    }
}

/* ==== Adaptive compression ==== */

/* Row i of the adaptive tests: an 8-byte key, and 200 bytes of item that
 * are base64 text of random bytes for i < n_random (6 bits of entropy a
 * byte: level 1 cannot halve them) and English text after. */
static void adaptive_item(uint8_t *p, uint64_t i, uint64_t n_random)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const char text[] =
        "Milk, eggs, bread, coffee beans; pick up the parcel at the post "
        "office; call the plumber about the kitchen sink before Friday. ";
    uint64_t x = i * 0x9e3779b97f4a7c15ULL + 7;

    for (size_t j = 0; j < 200; j++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[j] = i < n_random ? (uint8_t)b64[x & 63]
                            : (uint8_t)text[(i + j) % (sizeof text - 1)];
    }
}

struct blk_info {
    uint32_t u, c;  /* uncompressed and compressed lengths */
    uint64_t first; /* the number of its first row */
};

#define BLOCKS_MAX 1024

/* The lengths and first rows of every block of the file at `path`, in
 * order (regions() walks them); their number, or -1 when the blocks do
 * not end at the footer or there are more than `max`. */
static long blocks_of(const char *path, struct blk_info *out, size_t max)
{
    static uint64_t reg[BLOCKS_MAX + 3];
    size_t len, nb, b;
    uint8_t *d = slurp(path, &len);
    long n = -1;

    if (d != NULL && len >= HDR_MIN + FTR_LEN && max <= BLOCKS_MAX) {
        /* reg: 0 (the header), the nb blocks, the footer, the file check */
        nb = regions(d, len, reg, max + 3) - 3;
        for (b = 0; b < nb; b++) {
            out[b].u = rd32(d + reg[b + 1]);
            out[b].c = rd32(d + reg[b + 1] + 4);
            out[b].first = rd64(d + reg[b + 1] + 24);
        }
        /* all of them: the last block ends where the footer starts */
        if (nb == 0 || reg[nb] + BLK_HDR + out[nb - 1].c == reg[nb + 1])
            n = (long)nb;
    }
    free(d);
    return n;
}

/* Write rows 0..n-1 (adaptive_item) in blocks of 4 KiB, at `level` (0:
 * the writer's default), read them back, and return the blocks. */
static long adaptive_file(const char *path, uint64_t n, uint64_t n_random,
                          int level, struct backup_stats *st,
                          struct blk_info *blk, size_t max)
{
    struct backup_writer *w;
    struct backup_reader *r;
    struct tm_error err;
    const uint8_t *k, *it;
    size_t kl, il;
    uint8_t key[8], item[200];
    uint64_t i;
    int rc;

    unlink(path);
    CHECK(backup_writer_open(path, &META, &w, &err) == 0);
    if (g_threads)
        CHECK(backup_writer_set_threads(w, 1, &err) == 0);
    if (level)
        backup_writer_set_level(w, level);
    backup_writer_set_block_bytes(w, 4096);
    for (i = 0; i < n; i++) {
        fill_key(key, 8, i);
        adaptive_item(item, i, n_random);
        CHECK(backup_writer_add(w, key, 8, item, 200, &err) == 0);
    }
    CHECK(backup_writer_finish(w, st, &err) == 0);
    CHECK(backup_reader_open(path, &r, &err) == 0);
    for (i = 0; (rc = backup_reader_next(r, &k, &kl, &it, &il, &err)) == 1;
         i++) {
        fill_key(key, 8, i);
        adaptive_item(item, i, n_random);
        CHECK(kl == 8 && il == 200 && memcmp(k, key, 8) == 0 &&
              memcmp(it, item, 200) == 0);
    }
    backup_reader_close(r);
    CHECK(rc == 0 && i == n);
    return blocks_of(path, blk, max);
}

/* By default a writer puts blocks that level 1 cannot halve at the fast
 * level, probes again every BACKUP_ZSTD_PROBE_EVERY blocks, and goes back
 * to level 1 at the first probe that halves its block; a level set by
 * the caller holds for every block.  Every file reads back exactly. */
static void test_adaptive(void)
{
    static struct blk_info blk[BLOCKS_MAX];
    struct backup_stats st;
    char path[PATH_MAX];
    long nb, b, probes = 0, first_text = -1;
    const uint64_t n_rand = 2800, n = 4800;

    path_of(path, "adaptive.tmbak");
    /* all random: probes at level 1 (about 0.76 of U), the rest fast
     * (about 1.0 of U) */
    nb = adaptive_file(path, n_rand, n_rand, 0, &st, blk, BLOCKS_MAX);
    ASSERT(nb > 2 * (long)BACKUP_ZSTD_PROBE_EVERY);
    for (b = 0; b < nb; b++) {
        if (b % BACKUP_ZSTD_PROBE_EVERY == 0) {
            probes++;
            if ((uint64_t)blk[b].c * 100 > (uint64_t)blk[b].u * 85)
                TEST_FAIL_("probe block %ld: C %u of U %u", b, blk[b].c,
                           blk[b].u);
        } else if ((uint64_t)blk[b].c * 100 < (uint64_t)blk[b].u * 95) {
            TEST_FAIL_("block %ld: C %u of U %u, not the fast level", b,
                       blk[b].c, blk[b].u);
        }
    }
    ASSERT_EQ(st.blocks, (uint64_t)nb);
    ASSERT_EQ(st.fast_blocks, (uint64_t)(nb - probes));

    /* random, then text: back to level 1 from the first probe in the
     * text; the blocks of level 1 halve theirs */
    nb = adaptive_file(path, n, n_rand, 0, &st, blk, BLOCKS_MAX);
    ASSERT(nb > 0);
    for (b = 0; b < nb && first_text < 0; b++)
        if (b % BACKUP_ZSTD_PROBE_EVERY == 0 && blk[b].first >= n_rand)
            first_text = b;
    ASSERT(first_text > 0 && first_text + 10 < nb);
    for (b = first_text; b < nb; b++)
        if ((uint64_t)blk[b].c * 2 > blk[b].u)
            TEST_FAIL_("text block %ld: C %u of U %u, not level 1", b,
                       blk[b].c, blk[b].u);
    ASSERT(st.fast_blocks > 0 && st.fast_blocks < (uint64_t)first_text);

    /* a level the caller set: level 1 for every block, no fast ones */
    nb = adaptive_file(path, n_rand, n_rand, 1, &st, blk, BLOCKS_MAX);
    ASSERT(nb > 2 * (long)BACKUP_ZSTD_PROBE_EVERY);
    ASSERT_EQ(st.fast_blocks, 0);
    for (b = 0; b < nb; b++)
        if ((uint64_t)blk[b].c * 100 > (uint64_t)blk[b].u * 85)
            TEST_FAIL_("block %ld at level 1: C %u of U %u", b, blk[b].c,
                       blk[b].u);
}

/* ==== Corruption ==== */

/* A small file of several blocks. */
static uint8_t *small_file(size_t *len, uint64_t *nrows)
{
    char path[PATH_MAX];
    struct backup_meta m = META;

    m.table_json = "{\"t\":1}";
    path_of(path, "small.tmbak");
    unlink(path);
    *nrows = 12;
    if (write_rows(path, &m, &G_SMALL, *nrows, 300, NULL, NULL) != 0)
        return NULL;
    return slurp(path, len);
}

static void test_flip_every_byte(void)
{
    static const uint8_t masks[] = {0x01, 0x80, 0xff};
    uint64_t reg[64], rows;
    uint8_t *d;
    size_t len, nreg, pos, mi, k;
    struct tm_error err;
    int rc;

    d = small_file(&len, &rows);
    ASSERT(d != NULL);
    nreg = regions(d, len, reg, 64);
    ASSERT(nreg >= 5); /* header, >= 2 blocks, footer, file check */
    for (pos = 0; pos < len; pos++) {
        uint64_t start = 0;
        for (k = 0; k < nreg; k++)
            if (reg[k] <= pos)
                start = reg[k];
        for (mi = 0; mi < sizeof masks; mi++) {
            struct backup_reader *r;
            long long off, got;

            d[pos] ^= masks[mi];
            /* Default: refused at open, naming the damaged structure. */
            rc = backup_reader_open_mem(d, len, "small.tmbak", &r, &err);
            if (rc == 0) {
                backup_reader_close(r);
                TEST_FAIL_("flip 0x%02x at %zu accepted at open", masks[mi],
                           pos);
            }
            ASSERT_EQ(rc, TM_ECORRUPT);
            ASSERT_CONTAINS(err.msg, "backup file small.tmbak is corrupt "
                                     "at offset ");
            off = msg_offset(err.msg);
            if (off < (long long)start || off > (long long)pos)
                TEST_FAIL_("flip at %zu (structure at %llu) reported at "
                           "%lld: %s",
                           pos, (unsigned long long)start, off, err.msg);
            /* Streaming: refused at open or at next, and every row handed
             * out before that was right. */
            {
                struct backup_read_options o = {BACKUP_CHECK_STREAMING, NULL,
                                                NULL};
                rc = backup_reader_open_mem_opts(d, len, "small.tmbak", &o,
                                                 &r, &err);
                if (rc == 0) {
                    got = read_rows(r, &G_SMALL, rows, &rc, &err);
                    backup_reader_close(r);
                    if (got < 0)
                        TEST_FAIL_("flip at %zu: wrong row returned", pos);
                }
                ASSERT_EQ(rc, TM_ECORRUPT);
                off = msg_offset(err.msg);
                if (off < (long long)start || off > (long long)pos)
                    TEST_FAIL_("streaming: flip at %zu (structure at %llu) "
                               "reported at %lld: %s",
                               pos, (unsigned long long)start, off, err.msg);
            }
            d[pos] ^= masks[mi];
        }
    }
    ASSERT_EQ(read_all(NULL, d, len, BACKUP_CHECK_AT_OPEN, &G_SMALL, rows),
              0);
    /* Through files (pread rather than memory), every 23rd byte. */
    {
        char path[PATH_MAX];
        struct backup_read_options o = {BACKUP_CHECK_STREAMING, NULL, NULL};
        struct backup_reader *r;
        long long got;

        path_of(path, "flipped.tmbak");
        for (pos = 0; pos < len; pos += 23) {
            d[pos] ^= 0x40;
            ASSERT_EQ(spit(path, d, len), 0);
            ASSERT_EQ(backup_reader_open(path, &r, &err), TM_ECORRUPT);
            ASSERT_CONTAINS(err.msg, path);
            rc = backup_reader_open_opts(path, &o, &r, &err);
            if (rc == 0) {
                got = read_rows(r, &G_SMALL, rows, &rc, &err);
                backup_reader_close(r);
                ASSERT(got >= 0);
            }
            ASSERT_EQ(rc, TM_ECORRUPT);
            ASSERT_CONTAINS(err.msg, path);
            d[pos] ^= 0x40;
        }
        ASSERT_EQ(spit(path, d, len), 0);
        ASSERT_EQ(read_all(path, NULL, 0, BACKUP_CHECK_AT_OPEN, &G_SMALL,
                           rows),
                  0);
    }
    free(d);
}

static void test_truncate_and_extend(void)
{
    char path[PATH_MAX];
    uint64_t rows, got;
    uint8_t *d, *e;
    size_t len, cut;
    struct backup_reader *r;
    struct tm_error err;
    int rc;

    d = small_file(&len, &rows);
    ASSERT(d != NULL);
    for (cut = 0; cut < len; cut++) {
        rc = backup_reader_open_mem(d, cut, "cut.tmbak", &r, &err);
        if (rc == 0) {
            backup_reader_close(r);
            TEST_FAIL_("file cut at %zu of %zu accepted", cut, len);
        }
        ASSERT_EQ(rc, TM_ECORRUPT);
        ASSERT_CONTAINS(err.msg, "backup file cut.tmbak is corrupt at "
                                 "offset ");
        ASSERT_EQ(open_and_drain(d, cut, BACKUP_CHECK_STREAMING, &got, &err),
                  TM_ECORRUPT);
    }
    /* Through the file path too, at a few offsets. */
    path_of(path, "cut.tmbak");
    for (cut = 0; cut < len; cut += len / 7 + 1) {
        ASSERT_EQ(spit(path, d, cut), 0);
        ASSERT_EQ(backup_reader_open(path, &r, &err), TM_ECORRUPT);
        ASSERT_CONTAINS(err.msg, path);
    }
    /* Extended by one byte, by a copy of the footer, by zeros. */
    e = calloc(1, len + 200);
    ASSERT(e != NULL);
    memcpy(e, d, len);
    ASSERT_EQ(open_and_drain(e, len + 1, BACKUP_CHECK_AT_OPEN, &got, &err),
              TM_ECORRUPT);
    ASSERT_EQ(open_and_drain(e, len + 96, BACKUP_CHECK_STREAMING, &got, &err),
              TM_ECORRUPT);
    memcpy(e + len, d + len - FTR_LEN, FTR_LEN);
    ASSERT_EQ(open_and_drain(e, len + FTR_LEN, BACKUP_CHECK_AT_OPEN, &got,
                             &err),
              TM_ECORRUPT);
    ASSERT_EQ(open_and_drain(e, len + FTR_LEN, BACKUP_CHECK_STREAMING, &got,
                             &err),
              TM_ECORRUPT);
    free(e);
    free(d);
}

static void test_version_and_magic(void)
{
    char path[PATH_MAX];
    uint64_t rows, got;
    uint8_t *d;
    size_t len;
    struct backup_reader *r;
    struct tm_error err;

    d = small_file(&len, &rows);
    ASSERT(d != NULL);
    path_of(path, "v2.tmbak");
    /* A newer format, its checksums right: refused by name. */
    wr32(d + 8, 2);
    wr32(d + len - FTR_LEN + 8, 2);
    reseal(d, len);
    ASSERT_EQ(spit(path, d, len), 0);
    ASSERT_EQ(backup_reader_open(path, &r, &err), TM_ECORRUPT);
    ASSERT_CONTAINS(err.msg, path);
    ASSERT_CONTAINS(err.msg, "written by a newer Tidemark (format 2); this "
                             "build reads format 1");
    /* ... even when only its first 12 bytes are there. */
    ASSERT_EQ(open_and_drain(d, 12, BACKUP_CHECK_AT_OPEN, &got, &err),
              TM_ECORRUPT);
    ASSERT_CONTAINS(err.msg, "newer Tidemark (format 2)");
    /* Version 0 and an absurd version are damage, not "newer". */
    wr32(d + 8, 0);
    ASSERT_EQ(open_and_drain(d, len, BACKUP_CHECK_AT_OPEN, &got, &err),
              TM_ECORRUPT);
    ASSERT_CONTAINS(err.msg, "at offset 8: unknown format version 0");
    wr32(d + 8, 0x01000001);
    ASSERT_EQ(open_and_drain(d, len, BACKUP_CHECK_AT_OPEN, &got, &err),
              TM_ECORRUPT);
    ASSERT_CONTAINS(err.msg, "unknown format version");
    wr32(d + 8, 1);
    wr32(d + len - FTR_LEN + 8, 1);
    reseal(d, len);
    ASSERT_EQ(open_and_drain(d, len, BACKUP_CHECK_AT_OPEN, &got, &err), 0);
    ASSERT_EQ(got, rows);
    /* Wrong magic. */
    d[3] = 'X';
    ASSERT_EQ(open_and_drain(d, len, BACKUP_CHECK_AT_OPEN, &got, &err),
              TM_ECORRUPT);
    ASSERT_CONTAINS(err.msg, "at offset 0: not a Tidemark backup file");
    /* Not a file at all. */
    ASSERT_EQ(backup_reader_open(root, &r, &err), TM_EIO);
    ASSERT_CONTAINS(err.msg, "not a regular file");
    path_of(path, "missing.tmbak");
    ASSERT_EQ(backup_reader_open(path, &r, &err), TM_EIO);
    ASSERT_CONTAINS(err.msg, "No such file");
    ASSERT(r == NULL);
    free(d);
}

/* Files whose every checksum is right but whose content is wrong: the
 * reader's other checks must catch each. */
static void test_crafted(void)
{
    static struct craft c;
    uint8_t raw[1024];
    size_t n;
    uint64_t got;
    struct tm_error err;
    char bigkey[BACKUP_KEY_MAX + 2];

    /* Control: a hand-made file exactly as documented reads back. */
    craft_header(&c, "{}", 2);
    n = raw_row(raw, "a", "1");
    n += raw_row(raw + n, "b", "22");
    craft_block(&c, raw, n, (uint32_t)n, 2, 2, 3);
    n = raw_row(raw, "c", "");
    craft_block(&c, raw, n, (uint32_t)n, 1, 1, 0);
    craft_footer(&c);
    ASSERT_EQ(open_and_drain(c.d, c.len, BACKUP_CHECK_AT_OPEN, &got, &err),
              0);
    ASSERT_EQ(got, 3);
    ASSERT_EQ(open_and_drain(c.d, c.len, BACKUP_CHECK_STREAMING, &got, &err),
              0);

    /* Keys out of order inside a block. */
    craft_header(&c, "{}", 2);
    n = raw_row(raw, "b", "1");
    n += raw_row(raw + n, "a", "2");
    craft_block(&c, raw, n, (uint32_t)n, 2, 2, 2);
    craft_footer(&c);
    ASSERT_EQ(open_and_drain(c.d, c.len, BACKUP_CHECK_AT_OPEN, &got, &err),
              TM_ECORRUPT);
    ASSERT_CONTAINS(err.msg, "row 1: key not greater");
    ASSERT_EQ(got, 1);

    /* The same key at the end of one block and the start of the next. */
    craft_header(&c, "{}", 2);
    n = raw_row(raw, "a", "1");
    n += raw_row(raw + n, "ab", "2");
    craft_block(&c, raw, n, (uint32_t)n, 2, 3, 2);
    n = raw_row(raw, "ab", "3");
    craft_block(&c, raw, n, (uint32_t)n, 1, 2, 1);
    craft_footer(&c);
    ASSERT_EQ(open_and_drain(c.d, c.len, BACKUP_CHECK_AT_OPEN, &got, &err),
              TM_ECORRUPT);
    ASSERT_CONTAINS(err.msg, "block 1: row 2: key not greater");

    /* Bytes left after the block's last row. */
    craft_header(&c, "{}", 2);
    n = raw_row(raw, "a", "1");
    n += raw_row(raw + n, "b", "2");
    craft_block(&c, raw, n, (uint32_t)n, 1, 1, 1);
    craft_footer(&c);
    ASSERT_EQ(open_and_drain(c.d, c.len, BACKUP_CHECK_AT_OPEN, &got, &err),
              TM_ECORRUPT);
    ASSERT_CONTAINS(err.msg, "bytes after its last row");

    /* A block claiming more rows than its bytes hold. */
    craft_header(&c, "{}", 2);
    n = raw_row(raw, "a", "1234");
    craft_block(&c, raw, n, (uint32_t)n, 2, 1, 4);
    craft_footer(&c);
    ASSERT_EQ(open_and_drain(c.d, c.len, BACKUP_CHECK_AT_OPEN, &got, &err),
              TM_ECORRUPT);
    ASSERT_CONTAINS(err.msg, "runs past the block");

    /* An overlong varint (0x81 0x00 for 1). */
    craft_header(&c, "{}", 2);
    raw[0] = 0x81;
    raw[1] = 0x00;
    raw[2] = 0;
    raw[3] = 'k';
    craft_block(&c, raw, 4, 4, 1, 1, 0);
    craft_footer(&c);
    ASSERT_EQ(open_and_drain(c.d, c.len, BACKUP_CHECK_AT_OPEN, &got, &err),
              TM_ECORRUPT);
    ASSERT_CONTAINS(err.msg, "bad length");

    /* A key over BACKUP_KEY_MAX. */
    {
        static uint8_t big[BACKUP_KEY_MAX + 16];
        size_t kl = BACKUP_KEY_MAX + 1;
        memset(bigkey, 'k', sizeof bigkey);
        big[0] = (uint8_t)(0x80 | (kl & 0x7f));
        big[1] = (uint8_t)(0x80 | ((kl >> 7) & 0x7f));
        big[2] = (uint8_t)(kl >> 14);
        big[3] = 0;
        memcpy(big + 4, bigkey, kl);
        craft_header(&c, "{}", 2);
        craft_block(&c, big, 4 + kl, (uint32_t)(4 + kl), 1, kl, 0);
        craft_footer(&c);
        ASSERT_EQ(open_and_drain(c.d, c.len, BACKUP_CHECK_AT_OPEN, &got,
                                 &err),
                  TM_ECORRUPT);
        ASSERT_CONTAINS(err.msg, "bad length");
    }

    /* The header says U = 20, the frame holds 16 bytes. */
    craft_header(&c, "{}", 2);
    n = raw_row(raw, "a", "1");
    n += raw_row(raw + n, "b", "2");
    n += raw_row(raw + n, "c", "3");
    n += raw_row(raw + n, "d", "4");
    craft_block(&c, raw, n, (uint32_t)n + 4, 4, 4, 4);
    craft_footer(&c);
    ASSERT_EQ(open_and_drain(c.d, c.len, BACKUP_CHECK_AT_OPEN, &got, &err),
              TM_ECORRUPT);
    ASSERT_CONTAINS(err.msg, "block 0: decompresses to 16 bytes, not 20");

    /* Not zstd at all. */
    craft_header(&c, "{}", 2);
    n = raw_row(raw, "a", "1");
    craft_block(&c, raw, n, (uint32_t)n, 1, 1, 1);
    c.d[c.last + BLK_HDR] ^= 0xff; /* the frame's magic */
    craft_footer(&c);
    ASSERT_EQ(open_and_drain(c.d, c.len, BACKUP_CHECK_AT_OPEN, &got, &err),
              TM_ECORRUPT);
    ASSERT_CONTAINS(err.msg, "cannot decompress");

    /* Blocks swapped (numbers and first rows follow the file order). */
    craft_header(&c, "{}", 2);
    n = raw_row(raw, "a", "1");
    craft_block(&c, raw, n, (uint32_t)n, 1, 1, 1);
    n = raw_row(raw, "b", "2");
    craft_block(&c, raw, n, (uint32_t)n, 1, 1, 1);
    wr64(c.d + c.last + 16, 7);
    craft_footer(&c);
    ASSERT_EQ(open_and_drain(c.d, c.len, BACKUP_CHECK_AT_OPEN, &got, &err),
              TM_ECORRUPT);
    ASSERT_CONTAINS(err.msg, "block 1 is numbered 7");

    /* The footer counts one row more than the blocks hold. */
    craft_header(&c, "{}", 2);
    n = raw_row(raw, "a", "1");
    n += raw_row(raw + n, "b", "2");
    craft_block(&c, raw, n, (uint32_t)n, 2, 2, 2);
    n = raw_row(raw, "c", "3");
    craft_block(&c, raw, n, (uint32_t)n, 1, 1, 1);
    wr32(c.d + c.last + 8, 2); /* the last block says 2 rows, holds 1 */
    c.rows++;
    craft_footer(&c);
    ASSERT_EQ(open_and_drain(c.d, c.len, BACKUP_CHECK_AT_OPEN, &got, &err),
              TM_ECORRUPT);
    ASSERT_CONTAINS(err.msg, "block 1: row 3 ");

    /* The footer's item bytes are off by one. */
    craft_header(&c, "{}", 2);
    n = raw_row(raw, "a", "1");
    craft_block(&c, raw, n, (uint32_t)n, 1, 1, 1);
    c.items++;
    craft_footer(&c);
    ASSERT_EQ(open_and_drain(c.d, c.len, BACKUP_CHECK_AT_OPEN, &got, &err),
              TM_ECORRUPT);
    ASSERT_CONTAINS(err.msg, "the footer counts 1 of 1 + 2");

    /* The footer's largest U is larger than any block. */
    craft_header(&c, "{}", 2);
    n = raw_row(raw, "a", "1");
    craft_block(&c, raw, n, (uint32_t)n, 1, 1, 1);
    c.max_u = 100;
    craft_footer(&c);
    ASSERT_EQ(open_and_drain(c.d, c.len, BACKUP_CHECK_AT_OPEN, &got, &err),
              TM_ECORRUPT);
    ASSERT_CONTAINS(err.msg, "the largest block is");

    /* The footer points at a last block outside the file. */
    craft_header(&c, "{}", 2);
    n = raw_row(raw, "a", "1");
    craft_block(&c, raw, n, (uint32_t)n, 1, 1, 1);
    c.last = 1u << 30;
    craft_footer(&c);
    ASSERT_EQ(open_and_drain(c.d, c.len, BACKUP_CHECK_AT_OPEN, &got, &err),
              TM_ECORRUPT);
    ASSERT_CONTAINS(err.msg, "footer puts the last block at offset "
                             "1073741824, outside the blocks");

    /* The footer counts a million blocks in a tiny file. */
    craft_header(&c, "{}", 2);
    n = raw_row(raw, "a", "1");
    craft_block(&c, raw, n, (uint32_t)n, 1, 1, 1);
    c.blocks = 1000000;
    craft_footer(&c);
    ASSERT_EQ(open_and_drain(c.d, c.len, BACKUP_CHECK_AT_OPEN, &got, &err),
              TM_ECORRUPT);
    ASSERT_CONTAINS(err.msg, "footer counts 1000000 blocks");

    /* The footer's salt is another file's. */
    craft_header(&c, "{}", 2);
    craft_footer(&c);
    wr64(c.d + c.len - FTR_LEN + 16, 1);
    reseal(c.d, c.len);
    ASSERT_EQ(open_and_drain(c.d, c.len, BACKUP_CHECK_AT_OPEN, &got, &err),
              TM_ECORRUPT);
    ASSERT_CONTAINS(err.msg, "belongs to another file");

    /* A NUL inside a header string; a header length that disagrees with
     * the strings. */
    craft_header(&c, "{\0}", 3);
    craft_footer(&c);
    ASSERT_EQ(open_and_drain(c.d, c.len, BACKUP_CHECK_AT_OPEN, &got, &err),
              TM_ECORRUPT);
    ASSERT_CONTAINS(err.msg, "at offset 73: NUL byte inside a header");
    craft_header(&c, "{}", 2);
    wr32(c.d + 52, 1);
    craft_footer(&c);
    ASSERT_EQ(open_and_drain(c.d, c.len, BACKUP_CHECK_AT_OPEN, &got, &err),
              TM_ECORRUPT);
    ASSERT_CONTAINS(err.msg, "does not match its strings");
}

/* After an error, next keeps returning it. */
static void test_sticky_error(void)
{
    struct backup_read_options o = {BACKUP_CHECK_STREAMING, NULL, NULL};
    struct backup_reader *r;
    struct tm_error err, err2;
    const uint8_t *k, *it;
    size_t kl, il, len;
    uint64_t rows, reg[64];
    uint8_t *d;
    int rc;

    d = small_file(&len, &rows);
    ASSERT(d != NULL);
    ASSERT(regions(d, len, reg, 64) >= 5);
    d[reg[2] + BLK_HDR + 1] ^= 0x10; /* inside block 1's frame */
    ASSERT_EQ(backup_reader_open_mem_opts(d, len, "s", &o, &r, &err), 0);
    while ((rc = backup_reader_next(r, &k, &kl, &it, &il, &err)) == 1)
        ;
    ASSERT_EQ(rc, TM_ECORRUPT);
    ASSERT_CONTAINS(err.msg, "block 1: checksum mismatch");
    ASSERT_EQ(msg_offset(err.msg), (long long)reg[2]);
    ASSERT_EQ(backup_reader_next(r, &k, &kl, &it, &il, &err2), TM_ECORRUPT);
    ASSERT_STR_EQ(err2.msg, err.msg);
    backup_reader_close(r);
    /* The default mode names the same block, at open. */
    ASSERT_EQ(backup_reader_open_mem(d, len, "s", &r, &err2), TM_ECORRUPT);
    ASSERT_STR_EQ(err2.msg, err.msg);
    free(d);
}

/* ==== Writer ==== */

static void test_abort_and_tmp(void)
{
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    struct backup_writer *w, *w2;
    struct tm_error err;
    uint8_t key[8] = {1};

    path_of(path, "abort.tmbak");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    ASSERT_EQ(backup_writer_open(path, &META, &w, &err), 0);
    ASSERT(exists(tmp));
    ASSERT(!exists(path));
    ASSERT_EQ(backup_writer_add(w, key, 8, (const uint8_t *)"x", 1, &err),
              0);
    /* A second writer for the same path is refused. */
    ASSERT_EQ(backup_writer_open(path, &META, &w2, &err), TM_EIO);
    ASSERT(w2 == NULL);
    ASSERT_CONTAINS(err.msg, tmp);
    ASSERT_CONTAINS(err.msg, "File exists");
    backup_writer_abort(w);
    ASSERT(!exists(tmp));
    ASSERT(!exists(path));
    backup_writer_abort(NULL);

    /* finish: the .tmp becomes the file. */
    ASSERT_EQ(backup_writer_open(path, &META, &w, &err), 0);
    ASSERT_EQ(backup_writer_finish(w, NULL, &err), 0);
    ASSERT(!exists(tmp));
    ASSERT(exists(path));

    /* A directory that is not there. */
    path_of(path, "no/such/dir.tmbak");
    ASSERT_EQ(backup_writer_open(path, &META, &w, &err), TM_EIO);
    ASSERT_CONTAINS(err.msg, "no/such/dir.tmbak.tmp");
    ASSERT_CONTAINS(err.msg, "No such file or directory");
}

/* Keys past 480 bytes go in the table's row order (base/rowkey.h): a
 * shared 472-byte prefix, then the hash of the whole key.  300 such keys
 * sorted that way write and read back, the same keys in plain byte
 * order are refused where the two orders differ, and rowkey_cmp agrees
 * with the byte order on short keys. */
static int by_rowkey(const void *a, const void *b)
{
    return rowkey_cmp(*(const uint8_t *const *)a, 600,
                      *(const uint8_t *const *)b, 600);
}

static int by_bytes(const void *a, const void *b)
{
    return memcmp(*(const uint8_t *const *)a, *(const uint8_t *const *)b,
                  600);
}

static void test_long_keys(void)
{
    enum { N = 300, KL = 600 };
    uint8_t *keys[N];
    char path[PATH_MAX];
    struct backup_writer *w;
    struct backup_reader *r;
    struct backup_stats st;
    struct tm_error err;
    const uint8_t *k, *it;
    size_t kl, il;
    int refused = 0, got, n = 0;

    for (int i = 0; i < N; i++) {
        keys[i] = malloc(KL);
        ASSERT(keys[i] != NULL);
        memset(keys[i], 'p', KL);
        snprintf((char *)keys[i] + 500, 16, "n%06d", i);
    }
    qsort(keys, N, sizeof *keys, by_rowkey);
    path_of(path, "long.tmbak");
    ASSERT_EQ(backup_writer_open(path, &META, &w, &err), 0);
    for (int i = 0; i < N; i++)
        ASSERT_EQ(backup_writer_add(w, keys[i], KL, (const uint8_t *)"x", 1,
                                    &err), 0);
    ASSERT_EQ(backup_writer_finish(w, &st, &err), 0);
    ASSERT_EQ(backup_reader_open(path, &r, &err), 0);
    while ((got = backup_reader_next(r, &k, &kl, &it, &il, &err)) == 1) {
        ASSERT_EQ(kl, KL);
        ASSERT(memcmp(k, keys[n], KL) == 0);
        n++;
    }
    ASSERT_EQ(got, 0);
    ASSERT_EQ(n, N);
    backup_reader_close(r);

    qsort(keys, N, sizeof *keys, by_bytes);
    path_of(path, "long-bytes.tmbak");
    ASSERT_EQ(backup_writer_open(path, &META, &w, &err), 0);
    for (int i = 0; i < N && !refused; i++)
        refused = backup_writer_add(w, keys[i], KL, (const uint8_t *)"x", 1,
                                    &err) == TM_EVALIDATION;
    ASSERT(refused);
    ASSERT_CONTAINS(err.msg, "not greater");
    backup_writer_abort(w);
    for (int i = 0; i < N; i++)
        free(keys[i]);
    ASSERT(rowkey_cmp((const uint8_t *)"ab", 2, (const uint8_t *)"b", 1) < 0);
    ASSERT(rowkey_cmp((const uint8_t *)"a", 1, (const uint8_t *)"ab", 2) < 0);
    ASSERT(rowkey_cmp((const uint8_t *)"ab", 2, (const uint8_t *)"ab", 2) ==
           0);
}

static void test_writer_refuses(void)
{
    char path[PATH_MAX];
    struct backup_writer *w;
    struct backup_meta m = META;
    struct tm_error err;
    struct backup_stats st;
    uint8_t *big;
    uint64_t rows;
    uint8_t *d;
    size_t len;
    char *json;

    path_of(path, "refuse.tmbak");
    ASSERT_EQ(backup_writer_open(path, &META, &w, &err), 0);
    ASSERT_EQ(backup_writer_add(w, (const uint8_t *)"b", 1, NULL, 0, &err),
              0);
    ASSERT_EQ(backup_writer_add(w, (const uint8_t *)"b", 1, NULL, 0, &err),
              TM_EVALIDATION);
    ASSERT_CONTAINS(err.msg, "not greater");
    ASSERT_EQ(backup_writer_add(w, (const uint8_t *)"a", 1, NULL, 0, &err),
              TM_EVALIDATION);
    ASSERT_EQ(backup_writer_add(w, (const uint8_t *)"", 0, NULL, 0, &err),
              TM_EVALIDATION);
    big = calloc(1, BACKUP_ITEM_MAX + 1);
    ASSERT(big != NULL);
    big[0] = 'z';
    ASSERT_EQ(backup_writer_add(w, big, BACKUP_KEY_MAX + 1, NULL, 0, &err),
              TM_EVALIDATION);
    ASSERT_EQ(backup_writer_add(w, (const uint8_t *)"c", 1, big,
                                BACKUP_ITEM_MAX + 1, &err),
              TM_EVALIDATION);
    ASSERT_CONTAINS(err.msg, "too large");
    /* The writer is still good; the largest row possible goes in. */
    ASSERT_EQ(backup_writer_add(w, big, BACKUP_KEY_MAX, big, BACKUP_ITEM_MAX,
                                &err),
              0);
    ASSERT_EQ(backup_writer_finish(w, &st, &err), 0);
    ASSERT_EQ(st.rows, 2);
    ASSERT_EQ(st.blocks, 2);
    d = slurp(path, &len);
    ASSERT(d != NULL);
    ASSERT_EQ(open_and_drain(d, len, BACKUP_CHECK_AT_OPEN, &rows, &err), 0);
    ASSERT_EQ(rows, 2);
    free(d);
    free(big);

    /* Strings over their limits. */
    json = malloc(BACKUP_TABLE_JSON_MAX + 2);
    ASSERT(json != NULL);
    memset(json, 'j', BACKUP_TABLE_JSON_MAX + 1);
    json[BACKUP_TABLE_JSON_MAX + 1] = '\0';
    m.table_json = json;
    path_of(path, "refuse2.tmbak");
    ASSERT_EQ(backup_writer_open(path, &m, &w, &err), TM_EVALIDATION);
    ASSERT_CONTAINS(err.msg, "table_json");
    json[BACKUP_ID_MAX + 1] = '\0';
    m.table_json = "{}";
    m.backup_name = json;
    ASSERT_EQ(backup_writer_open(path, &m, &w, &err), TM_EVALIDATION);
    ASSERT_CONTAINS(err.msg, "backup_name");
    ASSERT(!exists(path));
    free(json);
}

/* A write error (here: the file size limit, EFBIG) fails the writer with
 * TM_EIO naming the file; abort and finish leave nothing behind. */
static void test_io_error(void)
{
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    struct backup_writer *w;
    struct tm_error err;
    struct rlimit old, lim;
    uint64_t i;
    int rc = 0;

    path_of(path, "efbig.tmbak");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_IGN);
    lim = old;
    lim.rlim_cur = 64 * 1024;

    /* During add. */
    ASSERT_EQ(backup_writer_open(path, &META, &w, &err), 0);
    backup_writer_set_block_bytes(w, 4096);
    if (g_threads)
        ASSERT_EQ(backup_writer_set_threads(w, 1, &err), 0);
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
    for (i = 0; i < 100000 && rc == 0; i++) {
        uint8_t key[8];
        size_t il = 1000;
        fill_key(key, 8, i);
        fill_item(ibuf, il, i * 7919);
        ibuf[0] = (uint8_t)(i * 2654435761u >> 13); /* barely compressible */
        rc = backup_writer_add(w, key, 8, ibuf, il, &err);
    }
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
    ASSERT_EQ(rc, TM_EIO);
    ASSERT_CONTAINS(err.msg, tmp);
    ASSERT_CONTAINS(err.msg, "File too large");
    ASSERT_EQ(backup_writer_add(w, (const uint8_t *)"\xff", 1, NULL, 0, &err),
              TM_EIO);
    ASSERT_CONTAINS(err.msg, "an earlier write failed");
    backup_writer_abort(w);
    ASSERT(!exists(tmp));

    /* During finish (the last block and footer). */
    ASSERT_EQ(backup_writer_open(path, &META, &w, &err), 0);
    if (g_threads)
        ASSERT_EQ(backup_writer_set_threads(w, 1, &err), 0);
    for (i = 0; i < 100; i++) {
        uint8_t key[8];
        fill_key(key, 8, i);
        ASSERT_EQ(backup_writer_add(w, key, 8, ibuf, 1000, &err), 0);
    }
    lim.rlim_cur = 200;
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
    rc = backup_writer_finish(w, NULL, &err);
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_DFL);
    ASSERT_EQ(rc, TM_EIO);
    ASSERT_CONTAINS(err.msg, tmp);
    ASSERT(!exists(tmp));
    ASSERT(!exists(path));
}

/* ==== Progress and memory ==== */

static void test_progress(void)
{
    char path[PATH_MAX];
    struct progress_log wl = {0}, rl = {0};
    struct backup_read_options o = {BACKUP_CHECK_AT_OPEN, on_progress, &rl};
    struct backup_reader *r;
    struct backup_stats st;
    struct tm_error err;
    uint64_t n = 3000;
    long long got;
    int rc;

    path_of(path, "progress.tmbak");
    ASSERT_EQ(write_rows(path, &META, &G_SMALL, n, 8192, &st, &wl), 0);
    ASSERT(st.blocks > 10);
    ASSERT_EQ(wl.calls, st.blocks + 1); /* each block, then finish */
    ASSERT_EQ(wl.last_rows, n);
    ASSERT_EQ(wl.last_bytes, st.file_bytes);
    ASSERT(!wl.backwards);

    ASSERT_EQ(backup_reader_open_opts(path, &o, &r, &err), 0);
    ASSERT_EQ(rl.zero_row_calls, 1); /* a small file: the end of the pass */
    ASSERT_EQ(rl.last_bytes, st.file_bytes - 8);
    rl.last_bytes = 0;
    got = read_rows(r, &G_SMALL, n, &rc, &err);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(got, (long long)n);
    ASSERT_EQ(rl.calls, 1 + st.blocks);
    ASSERT_EQ(rl.last_rows, n);
    ASSERT_EQ(rl.last_bytes, st.file_bytes - FTR_LEN);
    ASSERT(!rl.backwards);
    backup_reader_close(r);
}

/* Reader memory stays at about one block, whatever the row count. */
static void test_memory_bound(void)
{
    char path[PATH_MAX];
    struct backup_reader *r;
    struct backup_stats st;
    struct tm_error err;
    const uint8_t *k, *it;
    size_t kl, il, most = 0, bound;
    uint64_t n = 60000;
    int rc;

    path_of(path, "mem.tmbak");
    ASSERT_EQ(write_rows(path, &META, &G_SMALL, n, 0, &st, NULL), 0);
    ASSERT(st.blocks >= 30);
    bound = BACKUP_BLOCK_BYTES + BLK_HDR +
            ZSTD_compressBound(BACKUP_BLOCK_BYTES) + 64;
    ASSERT_EQ(backup_reader_open(path, &r, &err), 0);
    while ((rc = backup_reader_next(r, &k, &kl, &it, &il, &err)) == 1) {
        size_t b = backup_reader_buffer_bytes(r);
        if (b > most)
            most = b;
    }
    ASSERT_EQ(rc, 0);
    backup_reader_close(r);
    ASSERT(most > BACKUP_BLOCK_BYTES / 2);
    if (most > bound)
        TEST_FAIL_("reader held %zu bytes of buffers, bound %zu", most,
                   bound);
}

int main(void)
{
    snprintf(root, sizeof root, "/tmp/tm_test_backup_XXXXXX");
    if (mkdtemp(root) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    ibuf = malloc(BACKUP_ITEM_MAX + 1);
    if (ibuf == NULL)
        return 1;
    RUN(test_empty);
    RUN(test_one_row);
    RUN(test_meta_roundtrip);
    RUN(test_large);
    RUN(test_block_boundaries);
    RUN(test_levels);
    RUN(test_adaptive);
    RUN(test_flip_every_byte);
    RUN(test_truncate_and_extend);
    RUN(test_version_and_magic);
    RUN(test_crafted);
    RUN(test_sticky_error);
    RUN(test_abort_and_tmp);
    RUN(test_writer_refuses);
    RUN(test_long_keys);
    RUN(test_io_error);
    RUN(test_progress);
    RUN(test_memory_bound);
    /* again with the helper thread: same files, same errors */
    g_threads = 1;
    RUN(test_empty);
    RUN(test_one_row);
    RUN(test_large);
    RUN(test_block_boundaries);
    RUN(test_levels);
    RUN(test_adaptive);
    RUN(test_io_error);
    RUN(test_progress);
    if (test__failed == 0)
        nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(ibuf);
    return TEST_DONE();
}
