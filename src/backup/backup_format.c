/*
 * backup_format.c - the backup file format: struct backup_writer writes a
 * table's rows into one self-checking file, struct backup_reader reads
 * them back and refuses any file that is not exactly what a writer wrote.
 *
 * Callers: the backup task behind CreateBackup and the PITR base-snapshot
 * task (writer, fed from an LMDB cursor over a pinned read snapshot); the
 * restore pipeline and `tidemark backup inspect/verify` (reader).  Below
 * it: POSIX files, zstd (libzstd) and XXH3 (libxxhash).  What a file
 * guarantees and how to inspect one by hand are in src/backup/README.md.
 *
 * Entry points:
 *     backup_writer_open    create "<path>.tmp", write the header
 *     backup_writer_add     append a row; a full block is compressed and
 *                           written
 *     backup_writer_finish  last block, footer, fdatasync, rename, fsync
 *                           of the directory
 *     backup_writer_abort   remove "<path>.tmp"
 *     backup_reader_open*   check header, footer, seek offsets and (by
 *                           default) the whole-file checksum
 *     backup_reader_next    the next row; checks each block and, at the
 *                           end, every count
 *
 * ==== THE FILE ====
 *
 * All integers are little-endian; "XXH3" is XXH3-64 (hash64 in
 * base/hash.h), "XXH3/salt" is XXH3-64 with the file's salt as its seed
 * (XXH3_64bits_withSeed).  A file is a header, zero or more blocks back
 * to back, and a footer; no padding anywhere:
 *
 *     [header: H bytes][block 0][block 1]...[block N-1][footer: 96 bytes]
 *
 * The header (H = 80 + the string lengths):
 *
 *     offset  size  field
 *          0     8  magic "TMBAK\r\n\x1a" (54 4d 42 41 4b 0d 0a 1a)
 *          8     4  format version, 1
 *         12     4  H, the header length (bytes 0..H-1, check included)
 *         16     8  salt: random, chosen when the file is created
 *         24     8  LSN: the change-log position the backup reflects
 *         32     8  creation time, ms since the epoch (two's complement)
 *         40     4  backup type, the caller's code (two's complement)
 *         44     4  reserved, zero
 *         48     4  length of table_json  (<= BACKUP_TABLE_JSON_MAX)
 *         52     4  length of backup_arn  (<= BACKUP_ID_MAX)
 *         56     4  length of table_arn   (<= BACKUP_ID_MAX)
 *         60     4  length of table_id    (<= BACKUP_ID_MAX)
 *         64     4  length of backup_name (<= BACKUP_ID_MAX)
 *         68     4  reserved, zero
 *         72     .  the five strings, in that order, back to back, no
 *                   terminators (a NUL byte inside one is refused)
 *       H-8      8  header check: XXH3 of bytes 0..H-9
 *
 * Bytes 0..11 (magic and version) keep their meaning in every future
 * version, so that any build can tell "newer format" from "not a backup".
 * The header check is not salted: the salt is only trusted once it holds.
 *
 * A block (40 + C bytes):
 *
 *     offset  size  field
 *          0     4  U: uncompressed length, 1..BACKUP_BLOCK_RAW_MAX
 *          4     4  C: compressed length, 1..ZSTD_compressBound(U)
 *          8     4  n: rows in the block, 1..U/2
 *         12     4  reserved, zero
 *         16     8  block number: 0, 1, 2, ...
 *         24     8  first row: rows in all the blocks before this one
 *         32     8  block check: XXH3/salt of bytes 0..31 then the C
 *                   compressed bytes
 *         40     C  one zstd frame that decompresses to exactly U bytes
 *                   (level 1, or -100 in stretches of the table that
 *                   level 1 does not halve, unless the writer was told
 *                   a level: see BACKUP_ZSTD_LEVEL; readers take any)
 *
 * The U uncompressed bytes are exactly n rows, back to back:
 *
 *     varint klen, varint ilen, klen key bytes, ilen item bytes
 *
 * where a varint is unsigned LEB128 in its shortest form, at most 4 bytes
 * (klen <= BACKUP_KEY_MAX, ilen <= BACKUP_ITEM_MAX).  Keys increase
 * strictly in the table's row order (base/rowkey.h: memcmp order, a key
 * after its own prefixes, for keys of up to 480 bytes; a longer key by its
 * first 472 bytes and a hash of the whole, as the state keeps it) across
 * the whole file.  Until 2026-11-26 the rule read plain memcmp order; no
 * file written by a server breaks the new rule (the two orders agree on
 * every table whose backup could be written), so readers of either
 * accept the other's files.  The writer closes a block when the next
 * row would take it past its target size (BACKUP_BLOCK_BYTES, 256 KiB)
 * or when it reaches that size, so only a block holding a single row is
 * ever larger.
 *
 * The footer (the last 96 bytes of the file, at F = file size - 96):
 *
 *     offset  size  field
 *          0     8  magic "TMBAKEND"
 *          8     4  format version (equal to the header's)
 *         12     4  footer length, 96
 *         16     8  salt (equal to the header's)
 *         24     8  rows
 *         32     8  item bytes: sum of ilen over all rows
 *         40     8  key bytes: sum of klen over all rows
 *         48     8  N, the number of blocks
 *         56     8  offset of block 0 (always H)
 *         64     8  offset of block N-1 (0 when N = 0)
 *         72     4  largest U of any block (0 when N = 0)
 *         76     4  largest C of any block (0 when N = 0)
 *         80     8  footer check: XXH3/salt of footer bytes 0..79
 *         88     8  file check: XXH3 of every byte of the file before
 *                   this field (bytes 0..size-9)
 *
 * The offsets of the first and last block let a reader seek without
 * parsing the header or walking the blocks (e.g. to find the last key);
 * the largest U and C let it size its buffers once.  There is no per-block
 * index: it would make the writer's memory grow with the table.  A later
 * format version may add one as a section before the footer.
 *
 * The salt makes every block check valid in this file only, so blocks
 * copied from another backup (or from an older write to the same name)
 * cannot pass for this one's; the block number and first row stop blocks
 * of the same file from being reordered, dropped or repeated unnoticed.
 *
 * ==== WHAT THE READER CHECKS, IN ORDER ====
 *
 * backup_reader_open:
 *   1. magic (offset 0), version (offset 8: newer is refused with "written
 *      by a newer Tidemark"), H (offset 12) within its bounds and the file;
 *   2. the header check, then the reserved fields, the string lengths
 *      (they must add up to H) and that no string holds a NUL;
 *   3. the footer: magic, version, length, footer check, salt, then that
 *      its counts and offsets are possible for a file of this size (block
 *      0 at H, block N-1 inside the file, each block >= 41 bytes, each
 *      block >= 1 row, sizes within U_max per block...);
 *   4. the header of block N-1 (a 40-byte read): its number, first row,
 *      lengths, and that it ends exactly where the footer starts;
 *   5. with BACKUP_CHECK_AT_OPEN: the file check, over one sequential
 *      pass of the whole file (cost: reading the file once more; XXH3
 *      runs at several GB/s so the disk or page cache sets the pace).  On
 *      a mismatch the blocks are walked, each checked against its block
 *      check, so the error names the first damaged block; only when they
 *      are all intact is the file check itself named (offset size-8).
 * backup_reader_next, block by block:
 *   6. the block starts before the footer, its C fits before the footer
 *      and within the footer's largest C, then the block check, reserved
 *      field, U within the footer's largest U, the number and first row;
 *   7. zstd decompresses exactly U bytes; the U bytes hold exactly n rows;
 *      each length is a shortest-form varint within its limit and within
 *      the block; keys strictly increase, across blocks too;
 *   8. after the last row: the blocks end exactly at the footer; rows,
 *      item bytes, key bytes, blocks, the last block's offset, the
 *      largest U and C all match the footer; with BACKUP_CHECK_STREAMING,
 *      the file check, computed over the bytes as they were read.
 *
 * Every error is TM_ECORRUPT "backup file <name> is corrupt at offset
 * <n>: <what>", where <n> is the start of the structure found damaged (0
 * for the header, a block's offset, the footer's) or the offending field.
 * Nothing is ever read outside [0, size) and nothing is allocated before
 * its length has been bounded: the header by H <= the file size and its
 * fixed maximum, a block by the footer's largest U and C (themselves
 * bounded by BACKUP_BLOCK_RAW_MAX) and by the bytes left before the
 * footer.
 *
 * ==== MEMORY ====
 *
 * Writer: the block being filled (raw, up to the target or one row) and
 * its compressed form, the previous key, a zstd context (fixed size, about
 * a megabyte); with n helper threads (backup_writer_set_threads), n more
 * blocks, their compressed forms and n more zstd contexts.  Reader: the decompressed block, the compressed
 * block (file readers only; memory readers decompress straight from the
 * caller's buffer), the previous key, a zstd context, the header strings;
 * plus a 1 MiB read buffer during the checksum pass of _open, freed before
 * it returns.  None of it depends on the number of rows.
 *
 * ==== THREAD SAFETY NOTES ====
 *
 * A writer or a reader is used by one thread at a time; they share no
 * state (the salt generator's counter is atomic), so any number may run
 * side by side.  Readers open the file read-only and use pread; a file
 * being read must not be rewritten meanwhile (if it is, the checks refuse
 * what changed, as far as it can be told).
 */
#include "backup/backup_format.h"

#include "base/buf.h"
#include "base/err.h"
#include "base/fsio.h"
#include "base/hash.h"
#include "base/rowkey.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#define MAGIC "TMBAK\r\n\x1a"
#define FTR_MAGIC "TMBAKEND"
#define MAGIC_LEN 8u
#define HDR_FIXED 72u    /* header bytes before the strings */
#define HDR_MIN 80u      /* a header with five empty strings */
#define HDR_MAX (HDR_MIN + BACKUP_TABLE_JSON_MAX + 4u * BACKUP_ID_MAX)
#define NSTR 5           /* strings in the header */
#define BLK_HDR 40u      /* block header bytes, before the zstd frame */
#define FTR_LEN 96u
#define MIN_FILE (HDR_MIN + FTR_LEN)
#define WINDOW_LOG_MAX 23 /* 8 MiB >= any frame of BACKUP_BLOCK_RAW_MAX */
#define CHECK_CHUNK (1u << 20)
#define PROGRESS_EVERY (4u << 20)
#define VARINT_MAX 4      /* 28 bits: enough for BACKUP_ITEM_MAX */
/* Larger than this in bytes 8..11 is taken for damage, not a newer
 * format. */
#define VERSION_PLAUSIBLE 1000u

static const size_t str_max[NSTR] = {
    BACKUP_TABLE_JSON_MAX, BACKUP_ID_MAX, BACKUP_ID_MAX, BACKUP_ID_MAX,
    BACKUP_ID_MAX,
};
static const char *const str_name[NSTR] = {
    "table_json", "backup_arn", "table_arn", "table_id", "backup_name",
};

/* ==== Little helpers ==== */

/* Unsigned LEB128, at most VARINT_MAX bytes; returns the bytes used. */
static size_t put_varint(uint8_t *p, uint32_t v)
{
    size_t n = 0;

    do {
        p[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            p[n] |= 0x80;
        n++;
    } while (v);
    return n;
}

/* Read a varint from [*p, end) in its shortest form only (no trailing
 * zero groups), at most VARINT_MAX bytes.  0 and *p advanced, or -1. */
static int get_varint(const uint8_t **p, const uint8_t *end, uint32_t *out)
{
    const uint8_t *q = *p;
    uint32_t v = 0;
    int i;

    for (i = 0; i < VARINT_MAX; i++) {
        uint8_t c;
        if (q >= end)
            return -1;
        c = *q++;
        v |= (uint32_t)(c & 0x7f) << (7 * i);
        if (!(c & 0x80)) {
            if (i > 0 && c == 0)
                return -1; /* overlong */
            *out = v;
            *p = q;
            return 0;
        }
    }
    return -1;
}

/* Grow *buf to at least `need` bytes (contents are not kept). */
static int ensure(uint8_t **buf, size_t *cap, size_t need)
{
    uint8_t *p;

    if (*cap >= need)
        return 0;
    p = malloc(need);
    if (p == NULL)
        return -1;
    free(*buf);
    *buf = p;
    *cap = need;
    return 0;
}

/* Grow *buf to at least `need` bytes, keeping its contents; the first
 * allocation takes `hint` bytes if that is more. */
static int grow_keep(uint8_t **buf, size_t *cap, size_t need, size_t hint)
{
    uint8_t *p;

    if (*cap >= need)
        return 0;
    if (need < hint)
        need = hint;
    p = realloc(*buf, need);
    if (p == NULL)
        return -1;
    *buf = p;
    *cap = need;
    return 0;
}

static int pread_full(int fd, uint8_t *p, size_t n, uint64_t off)
{
    while (n > 0) {
        ssize_t k = fsio_pread(fd, p, n, (off_t)off);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (k == 0)
            return 1;
        p += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

/* ==== Writer ==== */

struct backup_writer {
    char *path;           /* final name */
    char *tmp;            /* "<path>.tmp", written to until _finish */
    int fd;
    _Atomic int failed;   /* an I/O or memory error happened: only
                             _abort remains (set by either thread) */
    uint64_t salt;
    uint64_t off;         /* bytes written so far */
    uint64_t flushed;     /* bytes handed to the disk (sync_file_range) */
    uint64_t hdr_len;
    XXH3_state_t *file_hash; /* over every byte written */
    XXH3_state_t *blk_hash;
    ZSTD_CCtx *cctx;

    size_t block_bytes;   /* target */
    int level;            /* zstd compression level */
    int adaptive;         /* 1 until backup_writer_set_level */
    _Atomic int poor;     /* the last probe did not halve its block */
    _Atomic uint64_t fast_blocks; /* blocks at BACKUP_ZSTD_FAST_LEVEL */
    uint8_t *raw;         /* rows of the block being filled */
    size_t raw_len, raw_cap;
    uint32_t raw_rows;
    uint8_t *comp;        /* block header + zstd frame */
    size_t comp_cap;

    uint8_t *prev;        /* the previous key */
    size_t prev_len, prev_cap;
    int have_prev;

    uint64_t rows, item_bytes, key_bytes, blocks, last_block_off;
    uint64_t rows_written;  /* rows in the blocks written so far */
    uint32_t max_raw, max_comp;

    backup_progress_fn progress;
    void *progress_ctx;

    /* backup_writer_set_threads(w, n): n helper threads compress blocks
     * side by side and write them in block order, while the caller fills
     * the next one.  Slots cycle FREE -> FILLED (posted by the caller) ->
     * taken by a helper, compressed with its own context, written when
     * `next_write` reaches the slot's block number -> FREE.  Everything
     * below and the file state (off, blocks, file_hash, max_*,
     * last_block_off) is guarded by `m`; the file state is touched only
     * by the helper whose turn it is, and read by the caller after
     * helpers_drain. */
    int nthreads;
    pthread_t th[BACKUP_WRITER_THREADS_MAX];
    pthread_mutex_t m;
    pthread_cond_t cv;
    int stop;
    struct wslot {
        uint8_t *raw, *comp;
        size_t len, cap, comp_cap;
        uint32_t rows;
        uint64_t first, seq;
        int state;        /* SLOT_FREE, SLOT_FILLED, SLOT_TAKEN */
    } slot[BACKUP_WRITER_THREADS_MAX + 1];
    int nslots;
    int cur_slot;         /* the slot w->raw belongs to (the caller's) */
    uint64_t next_post;   /* block number of the next posted slot */
    uint64_t next_write;  /* block number to be written next */
    int bg_rc;            /* the helpers' first error, sticky */
    int bg_reported;      /* bg_err was handed to the caller */
    struct tm_error bg_err;
};

/* Bytes of a backup file written between two hand-offs to the disk. */
#define BACKUP_FLUSH_BYTES (1u << 20)

static int w_io(struct backup_writer *w, struct tm_error *err,
                const char *what, int e)
{
    w->failed = 1;
    return tm_error_set(err, TM_EIO, "backup file %s: %s failed: %s",
                        w->tmp, what, strerror(e));
}

/* Write `n` bytes at the end of the file and hash `hashed` of them (the
 * footer's file check is not hashed). */
static int w_write(struct backup_writer *w, const uint8_t *p, size_t n,
                   size_t hashed, struct tm_error *err)
{
    char what[64];

    if (fsio_write_full(w->fd, p, n) != 0) {
        int e = errno;
        snprintf(what, sizeof what, "write at offset %" PRIu64, w->off);
        return w_io(w, err, what, e);
    }
    XXH3_64bits_update(w->file_hash, p, hashed);
    w->off += n;
    if (w->off - w->flushed >= BACKUP_FLUSH_BYTES) {
        /* hand what is written to the disk now, without waiting, rather
         * than all of it at the final fdatasync: a burst of a whole
         * backup file would queue the change log's fdatasyncs (every
         * acknowledged write) behind it.  Advisory: the final sync
         * reports errors. */
        (void)sync_file_range(w->fd, (off_t)w->flushed,
                              (off_t)(w->off - w->flushed),
                              SYNC_FILE_RANGE_WRITE);
        w->flushed = w->off;
    }
    return 0;
}

enum { SLOT_FREE, SLOT_FILLED, SLOT_TAKEN };

static void stop_helpers(struct backup_writer *w)
{
    if (w->nthreads == 0)
        return;
    pthread_mutex_lock(&w->m);
    w->stop = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->m);
    for (int i = 0; i < w->nthreads; i++)
        pthread_join(w->th[i], NULL);
    pthread_mutex_destroy(&w->m);
    pthread_cond_destroy(&w->cv);
    w->nthreads = 0;
}

static void writer_free(struct backup_writer *w)
{
    stop_helpers(w);
    for (int i = 0; i < w->nslots; i++) {
        if (i != w->cur_slot) /* the caller's is w->raw, freed below */
            free(w->slot[i].raw);
        free(w->slot[i].comp);
    }
    if (w->fd >= 0)
        fsio_close(w->fd);
    XXH3_freeState(w->file_hash);
    XXH3_freeState(w->blk_hash);
    ZSTD_freeCCtx(w->cctx);
    free(w->raw);
    free(w->comp);
    free(w->prev);
    free(w->path);
    free(w->tmp);
    free(w);
}

void backup_writer_abort(struct backup_writer *w)
{
    if (w == NULL)
        return;
    stop_helpers(w); /* no write may follow the unlink */
    if (w->fd >= 0) {
        fsio_close(w->fd);
        w->fd = -1;
        fsio_unlink(w->tmp);
    }
    writer_free(w);
}

int backup_writer_open(const char *path, const struct backup_meta *m,
                       struct backup_writer **out, struct tm_error *err)
{
    struct backup_writer *w;
    const char *s[NSTR];
    size_t len[NSTR], total = 0, plen, i;
    uint8_t *hdr = NULL;
    uint8_t *p;
    int rc;

    *out = NULL;
    if (path == NULL || m == NULL)
        return tm_error_set(err, TM_EINTERNAL,
                            "backup file: no path or no metadata");
    s[0] = m->table_json;
    s[1] = m->backup_arn;
    s[2] = m->table_arn;
    s[3] = m->table_id;
    s[4] = m->backup_name;
    for (i = 0; i < NSTR; i++) {
        if (s[i] == NULL)
            s[i] = "";
        len[i] = strlen(s[i]);
        if (len[i] > str_max[i])
            return tm_error_set(err, TM_EVALIDATION,
                                "backup file %s: %s is %zu bytes, over the "
                                "limit of %zu",
                                path, str_name[i], len[i], str_max[i]);
        total += len[i];
    }

    w = calloc(1, sizeof *w);
    if (w == NULL)
        return tm_error_set(err, TM_ENOMEM, "backup file: out of memory");
    w->fd = -1;
    w->block_bytes = BACKUP_BLOCK_BYTES;
    w->level = BACKUP_ZSTD_LEVEL;
    w->adaptive = 1;
    plen = strlen(path);
    w->path = malloc(plen + 1);
    w->tmp = malloc(plen + 5);
    w->file_hash = XXH3_createState();
    w->blk_hash = XXH3_createState();
    w->cctx = ZSTD_createCCtx();
    w->hdr_len = HDR_MIN + total;
    hdr = malloc(w->hdr_len);
    if (w->path == NULL || w->tmp == NULL || w->file_hash == NULL ||
        w->blk_hash == NULL || w->cctx == NULL || hdr == NULL) {
        rc = tm_error_set(err, TM_ENOMEM, "backup file: out of memory");
        goto fail;
    }
    memcpy(w->path, path, plen + 1);
    memcpy(w->tmp, path, plen);
    memcpy(w->tmp + plen, ".tmp", 5);
    XXH3_64bits_reset(w->file_hash);
    w->salt = hash_new_salt();

    memset(hdr, 0, HDR_FIXED);
    memcpy(hdr, MAGIC, MAGIC_LEN);
    buf_store_u32le(hdr + 8, BACKUP_FORMAT_VERSION);
    buf_store_u32le(hdr + 12, (uint32_t)w->hdr_len);
    buf_store_u64le(hdr + 16, w->salt);
    buf_store_u64le(hdr + 24, m->lsn);
    buf_store_u64le(hdr + 32, (uint64_t)m->created_ms);
    buf_store_u32le(hdr + 40, (uint32_t)(int32_t)m->backup_type);
    p = hdr + HDR_FIXED;
    for (i = 0; i < NSTR; i++) {
        buf_store_u32le(hdr + 48 + 4 * i, (uint32_t)len[i]);
        memcpy(p, s[i], len[i]);
        p += len[i];
    }
    buf_store_u64le(p, hash64(hdr, w->hdr_len - 8));

    w->fd = fsio_open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                      0640);
    if (w->fd < 0) {
        rc = tm_error_set(err, TM_EIO, "backup file %s: cannot create: %s%s",
                          w->tmp, strerror(errno),
                          errno == EEXIST ? " (another writer, or left by "
                                            "a crash: remove it)"
                                          : "");
        goto fail;
    }
    rc = w_write(w, hdr, w->hdr_len, w->hdr_len, err);
    if (rc)
        goto fail;
    free(hdr);
    *out = w;
    return 0;

fail:
    free(hdr);
    backup_writer_abort(w);
    return rc;
}

void backup_writer_set_progress(struct backup_writer *w,
                                backup_progress_fn fn, void *ctx)
{
    w->progress = fn;
    w->progress_ctx = ctx;
}

void backup_writer_set_block_bytes(struct backup_writer *w, size_t bytes)
{
    if (bytes < 1)
        bytes = 1;
    if (bytes > BACKUP_BLOCK_RAW_MAX)
        bytes = BACKUP_BLOCK_RAW_MAX;
    w->block_bytes = bytes;
}

void backup_writer_set_level(struct backup_writer *w, int level)
{
    if (level < ZSTD_minCLevel())
        level = ZSTD_minCLevel();
    if (level > ZSTD_maxCLevel())
        level = ZSTD_maxCLevel();
    w->level = level;
    w->adaptive = 0;
}

/* Compress `len` bytes of `rows` rows (the first is row number `first`)
 * as block `seq` into *comp (header + frame); its length in *clen. */
static int compress_block(struct backup_writer *w, ZSTD_CCtx *cctx,
                          XXH3_state_t *hs, const uint8_t *raw, size_t len, uint32_t rows,
                          uint64_t first, uint64_t seq, uint8_t **comp,
                          size_t *comp_cap, size_t *clen, struct tm_error *err)
{
    size_t bound = ZSTD_compressBound(len), n;
    int fast;
    uint8_t *h;

    if (ensure(comp, comp_cap, BLK_HDR + bound) != 0) {
        w->failed = 1;
        return tm_error_set(err, TM_ENOMEM, "backup file: out of memory");
    }
    /* Level 1 with a 2^11-entry match table instead of the 2^14 its
     * table picks for blocks of 256 KiB: on the bench's notes (random
     * base64, and compressible ones) the same ratio within 0.1%, and
     * 20-30% faster (`zstd -b1 -B256K --zstd=hlog=11`), the table fitting
     * in L1.  Parameters are sticky on a context: set them each time.
     * Adapting (BACKUP_ZSTD_LEVEL): helpers compress side by side, so a
     * block may still go by the probe before last; either is valid. */
    fast = w->adaptive && seq % BACKUP_ZSTD_PROBE_EVERY != 0 &&
           atomic_load_explicit(&w->poor, memory_order_relaxed);
    n = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel,
                               fast ? BACKUP_ZSTD_FAST_LEVEL : w->level);
    if (!ZSTD_isError(n))
        n = ZSTD_CCtx_setParameter(cctx, ZSTD_c_hashLog,
                                   !fast && w->level == 1
                                       ? BACKUP_ZSTD_HASHLOG
                                       : 0);
    if (!ZSTD_isError(n))
        n = ZSTD_compress2(cctx, *comp + BLK_HDR, bound, raw, len);
    if (ZSTD_isError(n)) {
        w->failed = 1;
        return tm_error_set(err, TM_EINTERNAL,
                            "backup file %s: compression failed: %s", w->tmp,
                            ZSTD_getErrorName(n));
    }
    if (fast)
        atomic_fetch_add_explicit(&w->fast_blocks, 1, memory_order_relaxed);
    else if (w->adaptive) /* a probe: does level 1 halve this block? */
        atomic_store_explicit(&w->poor, n > len / 2, memory_order_relaxed);
    h = *comp;
    buf_store_u32le(h, (uint32_t)len);
    buf_store_u32le(h + 4, (uint32_t)n);
    buf_store_u32le(h + 8, rows);
    buf_store_u32le(h + 12, 0);
    buf_store_u64le(h + 16, seq);
    buf_store_u64le(h + 24, first);
    XXH3_64bits_reset_withSeed(hs, w->salt);
    XXH3_64bits_update(hs, h, 32);
    XXH3_64bits_update(hs, h + BLK_HDR, n);
    buf_store_u64le(h + 32, XXH3_64bits_digest(hs));
    *clen = BLK_HDR + n;
    return 0;
}

/* Append a compressed block (of `len` raw bytes) to the file. */
static int append_block(struct backup_writer *w, const uint8_t *comp,
                        size_t clen, size_t len, uint32_t rows,
                        struct tm_error *err)
{
    w->last_block_off = w->off;
    if (w_write(w, comp, clen, clen, err) != 0)
        return TM_EIO;
    w->blocks++;
    w->rows_written += rows;
    if ((uint32_t)len > w->max_raw)
        w->max_raw = (uint32_t)len;
    if ((uint32_t)(clen - BLK_HDR) > w->max_comp)
        w->max_comp = (uint32_t)(clen - BLK_HDR);
    return 0;
}

static void *helper_main(void *arg)
{
    struct backup_writer *w = arg;
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    XXH3_state_t *hs = XXH3_createState();

    pthread_setname_np(pthread_self(), "tm-compress"); /* top -H, perf */
    pthread_mutex_lock(&w->m);
    for (;;) {
        struct wslot *sl = NULL;
        struct tm_error e;
        size_t clen = 0;
        int rc = 0;

        for (;;) {
            sl = NULL;
            for (int i = 0; i < w->nslots; i++)
                if (w->slot[i].state == SLOT_FILLED &&
                    (sl == NULL || w->slot[i].seq < sl->seq))
                    sl = &w->slot[i];
            if (sl || w->stop)
                break;
            pthread_cond_wait(&w->cv, &w->m);
        }
        if (sl == NULL)
            break; /* stopping, and nothing posted is left */
        sl->state = SLOT_TAKEN;
        rc = w->bg_rc;
        pthread_mutex_unlock(&w->m);
        tm_error_clear(&e);
        if (rc == 0 && (cctx == NULL || hs == NULL))
            rc = tm_error_set(&e, TM_ENOMEM, "backup file: out of memory");
        else if (rc == 0)
            rc = compress_block(w, cctx, hs, sl->raw, sl->len, sl->rows,
                                sl->first, sl->seq, &sl->comp, &sl->comp_cap,
                                &clen, &e);
        pthread_mutex_lock(&w->m);
        while (w->next_write != sl->seq)
            pthread_cond_wait(&w->cv, &w->m);
        /* our turn: the blocks before this one are in the file */
        if (rc == 0 && w->bg_rc == 0)
            rc = append_block(w, sl->comp, clen, sl->len, sl->rows, &e);
        if (rc && w->bg_rc == 0) {
            w->bg_rc = rc;
            w->bg_err = e;
            w->failed = 1;
        }
        w->next_write++;
        sl->state = SLOT_FREE;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->m);
    ZSTD_freeCCtx(cctx);
    XXH3_freeState(hs);
    return NULL;
}

/* Wait until every posted block is written; the helpers' error if any. */
static int helpers_drain(struct backup_writer *w, struct tm_error *err)
{
    int rc;

    pthread_mutex_lock(&w->m);
    while (w->next_write != w->next_post)
        pthread_cond_wait(&w->cv, &w->m);
    rc = w->bg_rc;
    if (rc && err)
        *err = w->bg_err;
    if (rc)
        w->bg_reported = 1;
    pthread_mutex_unlock(&w->m);
    return rc;
}

int backup_writer_set_threads(struct backup_writer *w, int n,
                              struct tm_error *err)
{
    int rc = 0;

    if (n <= 0 || w->nthreads > 0 || w->rows > 0)
        return 0;
    if (n > BACKUP_WRITER_THREADS_MAX)
        n = BACKUP_WRITER_THREADS_MAX;
    pthread_mutex_init(&w->m, NULL);
    pthread_cond_init(&w->cv, NULL);
    /* the caller fills slot 0 (w->raw) while the helpers work on others */
    w->nslots = n + 1;
    w->cur_slot = 0;
    w->slot[0].raw = w->raw;
    w->slot[0].cap = w->raw_cap;
    w->slot[0].state = SLOT_TAKEN;
    for (int i = 0; i < n && rc == 0; i++) {
        rc = pthread_create(&w->th[i], NULL, helper_main, w);
        if (rc == 0)
            w->nthreads++;
    }
    if (w->nthreads == 0) {
        pthread_mutex_destroy(&w->m);
        pthread_cond_destroy(&w->cv);
        w->nslots = 0;
        memset(&w->slot[0], 0, sizeof w->slot[0]);
    }
    w->next_post = w->next_write = w->blocks;
    return rc ? tm_error_set(err, TM_ENOMEM,
                             "backup file %s: cannot start a thread: %s",
                             w->tmp, strerror(rc))
              : 0;
}

/* The error for a call after a failure: a helper's own error the first
 * time it is reported, "an earlier write failed" after that. */
static int failed_error(struct backup_writer *w, struct tm_error *err)
{
    int rc = 0;

    if (w->nthreads > 0) {
        pthread_mutex_lock(&w->m);
        if (w->bg_rc && !w->bg_reported) {
            rc = w->bg_rc;
            w->bg_reported = 1;
            if (err)
                *err = w->bg_err;
        }
        pthread_mutex_unlock(&w->m);
    }
    return rc ? rc
              : tm_error_set(err, TM_EIO,
                             "backup file %s: an earlier write failed",
                             w->tmp);
}

/* Write the rows collected in w->raw as one block, or post them to the
 * helpers and take a free slot to fill next. */
static int flush_block(struct backup_writer *w, struct tm_error *err)
{
    struct wslot *cur = &w->slot[w->cur_slot], *next = NULL;
    uint64_t written_rows, written_off;
    int rc = 0;

    if (w->raw_rows == 0)
        return 0;
    if (w->nthreads == 0) {
        size_t clen;
        rc = compress_block(w, w->cctx, w->blk_hash, w->raw, w->raw_len, w->raw_rows,
                            w->rows - w->raw_rows, w->blocks, &w->comp,
                            &w->comp_cap, &clen, err);
        if (rc == 0)
            rc = append_block(w, w->comp, clen, w->raw_len, w->raw_rows,
                              err);
        if (rc)
            return rc;
        w->raw_len = 0;
        w->raw_rows = 0;
        if (w->progress)
            w->progress(w->progress_ctx, w->rows, w->off);
        return 0;
    }
    pthread_mutex_lock(&w->m);
    cur->raw = w->raw; /* _add may have grown it */
    cur->cap = w->raw_cap;
    cur->len = w->raw_len;
    cur->rows = w->raw_rows;
    cur->first = w->rows - w->raw_rows;
    cur->seq = w->next_post++;
    cur->state = SLOT_FILLED;
    pthread_cond_broadcast(&w->cv);
    while (next == NULL) {
        if ((rc = w->bg_rc) != 0)
            break;
        for (int i = 0; i < w->nslots && next == NULL; i++)
            if (w->slot[i].state == SLOT_FREE) {
                next = &w->slot[i];
                w->cur_slot = i;
            }
        if (next == NULL)
            pthread_cond_wait(&w->cv, &w->m);
    }
    if (rc) {
        if (err)
            *err = w->bg_err;
        w->bg_reported = 1;
        pthread_mutex_unlock(&w->m);
        return rc;
    }
    next->state = SLOT_TAKEN;
    written_off = w->off;
    written_rows = w->rows_written;
    pthread_mutex_unlock(&w->m);
    if (w->progress) /* what the helpers have written so far */
        w->progress(w->progress_ctx, written_rows, written_off);
    w->raw = next->raw;
    w->raw_cap = next->cap;
    w->raw_len = 0;
    w->raw_rows = 0;
    return 0;
}

int backup_writer_add(struct backup_writer *w, const uint8_t *key,
                      size_t klen, const uint8_t *item, size_t ilen,
                      struct tm_error *err)
{
    uint8_t lens[2 * VARINT_MAX];
    size_t nl, row;
    uint8_t *p;
    int rc;

    if (w->failed)
        return failed_error(w, err);
    if (klen > BACKUP_KEY_MAX || ilen > BACKUP_ITEM_MAX)
        return tm_error_set(err, TM_EVALIDATION,
                            "backup file %s: row %" PRIu64 " too large "
                            "(key %zu bytes, max %u; item %zu bytes, "
                            "max %u)",
                            w->tmp, w->rows, klen, BACKUP_KEY_MAX, ilen,
                            BACKUP_ITEM_MAX);
    if (w->have_prev && rowkey_cmp(key, klen, w->prev, w->prev_len) <= 0)
        return tm_error_set(err, TM_EVALIDATION,
                            "backup file %s: row %" PRIu64 ": key not "
                            "greater than the previous row's",
                            w->tmp, w->rows);

    nl = put_varint(lens, (uint32_t)klen);
    nl += put_varint(lens + nl, (uint32_t)ilen);
    row = nl + klen + ilen;
    if (w->raw_len > 0 && w->raw_len + row > w->block_bytes) {
        rc = flush_block(w, err);
        if (rc)
            return rc;
    }
    if (ensure(&w->prev, &w->prev_cap, klen ? klen : 1) != 0 ||
        grow_keep(&w->raw, &w->raw_cap, w->raw_len + row,
                  w->block_bytes) != 0) {
        w->failed = 1;
        return tm_error_set(err, TM_ENOMEM, "backup file: out of memory");
    }
    p = w->raw + w->raw_len;
    memcpy(p, lens, nl);
    if (klen)
        memcpy(p + nl, key, klen);
    if (ilen)
        memcpy(p + nl + klen, item, ilen);
    w->raw_len += row;
    w->raw_rows++;
    w->rows++;
    w->key_bytes += klen;
    w->item_bytes += ilen;
    if (klen)
        memcpy(w->prev, key, klen);
    w->prev_len = klen;
    w->have_prev = 1;
    if (w->raw_len >= w->block_bytes)
        return flush_block(w, err);
    return 0;
}

int backup_writer_finish(struct backup_writer *w, struct backup_stats *st,
                         struct tm_error *err)
{
    uint8_t f[FTR_LEN];
    int rc, e;

    if (w->failed) {
        rc = failed_error(w, err);
        goto fail;
    }
    rc = flush_block(w, err);
    if (rc == 0 && w->nthreads > 0)
        rc = helpers_drain(w, err);
    if (rc)
        goto fail;
    stop_helpers(w);

    memset(f, 0, sizeof f);
    memcpy(f, FTR_MAGIC, MAGIC_LEN);
    buf_store_u32le(f + 8, BACKUP_FORMAT_VERSION);
    buf_store_u32le(f + 12, FTR_LEN);
    buf_store_u64le(f + 16, w->salt);
    buf_store_u64le(f + 24, w->rows);
    buf_store_u64le(f + 32, w->item_bytes);
    buf_store_u64le(f + 40, w->key_bytes);
    buf_store_u64le(f + 48, w->blocks);
    buf_store_u64le(f + 56, w->hdr_len);
    buf_store_u64le(f + 64, w->blocks ? w->last_block_off : 0);
    buf_store_u32le(f + 72, w->max_raw);
    buf_store_u32le(f + 76, w->max_comp);
    buf_store_u64le(f + 80, XXH3_64bits_withSeed(f, 80, w->salt));
    XXH3_64bits_update(w->file_hash, f, 88);
    buf_store_u64le(f + 88, XXH3_64bits_digest(w->file_hash));
    rc = w_write(w, f, FTR_LEN, 0, err);
    if (rc)
        goto fail;

    if (fsio_fdatasync(w->fd) != 0) {
        rc = w_io(w, err, "fdatasync", errno);
        goto fail;
    }
    rc = fsio_close(w->fd);
    e = errno;
    w->fd = -1;
    if (rc != 0) {
        fsio_unlink(w->tmp);
        rc = w_io(w, err, "close", e);
        goto fail;
    }
    if (fsio_rename(w->tmp, w->path) != 0) {
        e = errno;
        fsio_unlink(w->tmp);
        rc = tm_error_set(err, TM_EIO,
                          "backup file %s: rename to %s failed: %s", w->tmp,
                          w->path, strerror(e));
        goto fail;
    }
    if (fsio_fsync_parent(w->path) != 0) {
        e = errno;
        fsio_unlink(w->path);
        rc = tm_error_set(err, TM_EIO,
                          "backup file %s: cannot sync its directory: %s",
                          w->path, strerror(e));
        goto fail;
    }
    if (st != NULL) {
        st->rows = w->rows;
        st->item_bytes = w->item_bytes;
        st->file_bytes = w->off;
        st->blocks = w->blocks;
        st->key_bytes = w->key_bytes;
        st->fast_blocks = atomic_load(&w->fast_blocks);
    }
    if (w->progress)
        w->progress(w->progress_ctx, w->rows, w->off);
    writer_free(w);
    return 0;

fail:
    backup_writer_abort(w); /* removes the .tmp while fd is still open */
    return rc;
}

/* ==== Reader ==== */

struct blk {            /* a block header, decoded */
    uint32_t raw, comp, rows;
    uint64_t index, first_row;
    const uint8_t *data; /* the C compressed bytes */
};

struct backup_reader {
    char *name;           /* for messages */
    int fd;               /* -1: reading from `mem` */
    const uint8_t *mem;
    uint64_t size;
    enum backup_check check;
    backup_progress_fn progress;
    void *progress_ctx;

    struct backup_meta meta;
    char *strings;        /* meta's strings, NUL-terminated */
    struct backup_stats st;
    uint64_t salt;
    uint64_t hdr_len;     /* == offset of block 0 */
    uint64_t ftr_off;     /* == size - FTR_LEN */
    uint64_t last_block_off;
    uint32_t max_raw, max_comp;
    uint64_t file_check;

    XXH3_state_t *blk_hash;
    XXH3_state_t *file_hash; /* BACKUP_CHECK_STREAMING: bytes read so far */
    ZSTD_DCtx *dctx;
    uint8_t *comp;        /* file readers: block header + frame */
    size_t comp_cap;
    uint8_t *raw;         /* the decompressed block */
    size_t raw_cap;

    /* position */
    uint64_t off;         /* offset of the next block */
    uint64_t blk_off;     /* offset of the current block */
    uint64_t blk_index;   /* number of the current block */
    const uint8_t *pos, *end; /* rows left in the current block */
    uint32_t left;        /* how many */
    uint64_t nblocks, nrows, nitem, nkey;
    uint32_t seen_raw, seen_comp;
    uint8_t *prev;        /* previous key */
    size_t prev_len, prev_cap;
    int have_prev;
    int done;             /* the end was reached and checked */
    int rc;               /* sticky error */
    struct tm_error fail;
};

static int corrupt(struct tm_error *err, const struct backup_reader *r,
                   uint64_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int corrupt(struct tm_error *err, const struct backup_reader *r,
                   uint64_t off, const char *fmt, ...)
{
    char why[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return tm_error_set(err, TM_ECORRUPT,
                        "backup file %s is corrupt at offset %" PRIu64
                        ": %s",
                        r->name, off, why);
}

static int nomem(struct tm_error *err)
{
    return tm_error_set(err, TM_ENOMEM, "backup file: out of memory");
}

/* Point *p at the `n` bytes at `off` (off + n <= size, checked by the
 * caller): in memory directly, from a file through `buf` (which must hold
 * n bytes). */
static int get(struct backup_reader *r, uint64_t off, size_t n, uint8_t *buf,
               const uint8_t **p, struct tm_error *err)
{
    int k;

    if (r->fd < 0) {
        *p = r->mem + off;
        return 0;
    }
    k = pread_full(r->fd, buf, n, off);
    if (k < 0)
        return tm_error_set(err, TM_EIO,
                            "backup file %s: read at offset %" PRIu64
                            " failed: %s",
                            r->name, off, strerror(errno));
    if (k > 0)
        return corrupt(err, r, off,
                       "the file ends early (it shrank while being read)");
    *p = buf;
    return 0;
}

static void reader_free(struct backup_reader *r)
{
    if (r->fd >= 0)
        fsio_close(r->fd);
    XXH3_freeState(r->blk_hash);
    XXH3_freeState(r->file_hash);
    ZSTD_freeDCtx(r->dctx);
    free(r->comp);
    free(r->raw);
    free(r->prev);
    free(r->strings);
    free(r->name);
    free(r);
}

void backup_reader_close(struct backup_reader *r)
{
    if (r != NULL)
        reader_free(r);
}

/* Magic and version: bytes 0..11, whatever the file's size. */
static int check_magic_version(struct backup_reader *r, const uint8_t *p,
                               struct tm_error *err)
{
    uint32_t v;

    if (r->size < MAGIC_LEN && memcmp(p, MAGIC, (size_t)r->size) == 0)
        return corrupt(err, r, r->size,
                       "the file ends inside the header (%" PRIu64
                       " bytes): truncated",
                       r->size);
    if (r->size < MAGIC_LEN || memcmp(p, MAGIC, MAGIC_LEN) != 0)
        return corrupt(err, r, 0, "not a Tidemark backup file (bad magic)");
    if (r->size < 12)
        return corrupt(err, r, r->size,
                       "the file ends inside the header (%" PRIu64
                       " bytes): truncated",
                       r->size);
    v = buf_get_u32le(p + 8);
    if (v > BACKUP_FORMAT_VERSION && v <= VERSION_PLAUSIBLE)
        return corrupt(err, r, 8,
                       "written by a newer Tidemark (format %" PRIu32
                       "); this build reads format %u",
                       v, BACKUP_FORMAT_VERSION);
    if (v != BACKUP_FORMAT_VERSION)
        return corrupt(err, r, 8, "unknown format version %" PRIu32, v);
    return 0;
}

/* Steps 1 and 2: the header, into r->meta. */
static int read_header(struct backup_reader *r, struct tm_error *err)
{
    uint8_t fixed[HDR_FIXED], *hbuf = NULL;
    const uint8_t *p, *h, *nul;
    uint32_t hlen, len[NSTR];
    uint64_t sum = 0;
    size_t i, avail = r->size < HDR_FIXED ? (size_t)r->size : HDR_FIXED;
    const char **dst[NSTR];
    char *s;
    int rc;

    rc = get(r, 0, avail, fixed, &p, err);
    if (rc)
        return rc;
    rc = check_magic_version(r, p, err);
    if (rc)
        return rc;
    if (r->size < MIN_FILE)
        return corrupt(err, r, r->size,
                       "the file is %" PRIu64 " bytes, less than the "
                       "smallest backup file (%u): truncated",
                       r->size, MIN_FILE);
    hlen = buf_get_u32le(p + 12);
    if (hlen < HDR_MIN || hlen > HDR_MAX)
        return corrupt(err, r, 12, "header length %" PRIu32
                       " outside %u..%u", hlen, HDR_MIN, HDR_MAX);
    if (hlen > r->size - FTR_LEN)
        return corrupt(err, r, 12, "header length %" PRIu32 " runs past "
                       "the footer of this %" PRIu64 "-byte file: truncated",
                       hlen, r->size);
    if (r->fd >= 0) {
        hbuf = malloc(hlen);
        if (hbuf == NULL)
            return nomem(err);
    }
    rc = get(r, 0, hlen, hbuf, &h, err);
    if (rc)
        goto out;
    if (buf_get_u64le(h + hlen - 8) != hash64(h, hlen - 8)) {
        rc = corrupt(err, r, 0, "header checksum mismatch (bytes 0..%"
                     PRIu32 ")", hlen - 1);
        goto out;
    }
    if (buf_get_u32le(h + 44) != 0 || buf_get_u32le(h + 68) != 0) {
        rc = corrupt(err, r, buf_get_u32le(h + 44) ? 44 : 68,
                     "reserved header field is not zero");
        goto out;
    }
    for (i = 0; i < NSTR; i++) {
        len[i] = buf_get_u32le(h + 48 + 4 * i);
        if (len[i] > str_max[i]) {
            rc = corrupt(err, r, 48 + 4 * i, "%s length %" PRIu32
                         " over the limit of %zu", str_name[i], len[i],
                         str_max[i]);
            goto out;
        }
        sum += len[i];
    }
    if (sum + HDR_MIN != hlen) {
        rc = corrupt(err, r, 12, "header length %" PRIu32 " does not match "
                     "its strings (%" PRIu64 " bytes)", hlen, sum);
        goto out;
    }
    nul = memchr(h + HDR_FIXED, 0, sum);
    if (nul != NULL) {
        rc = corrupt(err, r, (uint64_t)(nul - h),
                     "NUL byte inside a header string");
        goto out;
    }
    r->strings = malloc(sum + NSTR);
    if (r->strings == NULL) {
        rc = nomem(err);
        goto out;
    }
    r->hdr_len = hlen;
    r->salt = buf_get_u64le(h + 16);
    r->meta.format_version = buf_get_u32le(h + 8);
    r->meta.lsn = buf_get_u64le(h + 24);
    r->meta.created_ms = (int64_t)buf_get_u64le(h + 32);
    r->meta.backup_type = (int32_t)buf_get_u32le(h + 40);
    dst[0] = &r->meta.table_json;
    dst[1] = &r->meta.backup_arn;
    dst[2] = &r->meta.table_arn;
    dst[3] = &r->meta.table_id;
    dst[4] = &r->meta.backup_name;
    p = h + HDR_FIXED;
    s = r->strings;
    for (i = 0; i < NSTR; i++) {
        memcpy(s, p, len[i]);
        s[len[i]] = '\0';
        *dst[i] = s;
        s += len[i] + 1;
        p += len[i];
    }
    if (r->check == BACKUP_CHECK_STREAMING)
        XXH3_64bits_update(r->file_hash, h, hlen);
out:
    free(hbuf);
    return rc;
}

/* Step 3: the footer, into r->st and the seek fields. */
static int read_footer(struct backup_reader *r, uint8_t *f,
                       struct tm_error *err)
{
    uint64_t off = r->size - FTR_LEN, rows, blocks, first, last, room;
    uint64_t bytes, cap;
    const uint8_t *p;
    int rc;

    rc = get(r, off, FTR_LEN, f, &p, err);
    if (rc)
        return rc;
    if (p != f)
        memcpy(f, p, FTR_LEN);
    if (memcmp(f, FTR_MAGIC, MAGIC_LEN) != 0)
        return corrupt(err, r, off, "no footer where the last %u bytes "
                       "should hold it: truncated or extended file?",
                       FTR_LEN);
    if (buf_get_u32le(f + 8) != r->meta.format_version || buf_get_u32le(f + 12) !=
        FTR_LEN)
        return corrupt(err, r, off + 8, "footer version or length does "
                       "not match the header");
    if (buf_get_u64le(f + 80) != XXH3_64bits_withSeed(f, 80, r->salt))
        return corrupt(err, r, off, "footer checksum mismatch");
    if (buf_get_u64le(f + 16) != r->salt)
        return corrupt(err, r, off + 16,
                       "the footer belongs to another file (salt)");
    rows = buf_get_u64le(f + 24);
    blocks = buf_get_u64le(f + 48);
    first = buf_get_u64le(f + 56);
    last = buf_get_u64le(f + 64);
    r->max_raw = buf_get_u32le(f + 72);
    r->max_comp = buf_get_u32le(f + 76);
    r->st.rows = rows;
    r->st.item_bytes = buf_get_u64le(f + 32);
    r->st.key_bytes = buf_get_u64le(f + 40);
    r->st.blocks = blocks;
    r->st.file_bytes = r->size;
    r->ftr_off = off;
    r->last_block_off = last;
    r->file_check = buf_get_u64le(f + 88);

    if (first != r->hdr_len)
        return corrupt(err, r, off + 56, "footer puts block 0 at offset %"
                       PRIu64 ", the header ends at %" PRIu64,
                       first, r->hdr_len);
    room = off - r->hdr_len;
    if (blocks == 0) {
        if (rows || r->st.item_bytes || r->st.key_bytes || last ||
            r->max_raw || r->max_comp || room)
            return corrupt(err, r, off, "footer of a file without blocks "
                           "has non-zero counts or the file has %" PRIu64
                           " bytes between header and footer",
                           room);
        return 0;
    }
    if (r->max_raw == 0 || r->max_raw > BACKUP_BLOCK_RAW_MAX ||
        r->max_comp == 0 || r->max_comp > ZSTD_compressBound(r->max_raw))
        return corrupt(err, r, off + 72, "footer's largest block sizes (%"
                       PRIu32 ", %" PRIu32 ") are impossible",
                       r->max_raw, r->max_comp);
    if (blocks > room / (BLK_HDR + 1))
        return corrupt(err, r, off + 48, "footer counts %" PRIu64
                       " blocks, more than %" PRIu64 " bytes can hold",
                       blocks, room);
    if (last < r->hdr_len || last > off - BLK_HDR - 1)
        return corrupt(err, r, off + 64, "footer puts the last block at "
                       "offset %" PRIu64 ", outside the blocks (%" PRIu64
                       "..%" PRIu64 ")",
                       last, r->hdr_len, off);
    if (rows < blocks || rows / blocks > r->max_raw / 2)
        return corrupt(err, r, off + 24, "footer counts %" PRIu64 " rows "
                       "in %" PRIu64 " blocks", rows, blocks);
    if (__builtin_mul_overflow(blocks, (uint64_t)r->max_raw, &cap) ||
        __builtin_add_overflow(r->st.item_bytes, r->st.key_bytes, &bytes) ||
        bytes > cap)
        return corrupt(err, r, off + 32, "footer counts more row bytes "
                       "than %" PRIu64 " blocks can hold", blocks);
    return 0;
}

#define ANY_ROW UINT64_MAX /* load_block: do not check the first row */

/* Read and check the header of the block at `off` (number `index`, first
 * row `first_row` unless ANY_ROW) and, if `with_data`, its compressed
 * bytes and block check (step 6).  On success *b is filled (b->data only
 * with data).  Every error names the block's offset. */
static int load_block(struct backup_reader *r, uint64_t off, uint64_t index,
                      uint64_t first_row, int with_data, struct blk *b,
                      struct tm_error *err)
{
    const uint8_t *h;
    uint64_t room;
    int rc;

    if (off >= r->ftr_off || r->ftr_off - off < BLK_HDR + 1)
        return corrupt(err, r, off, "block %" PRIu64 " would start past "
                       "the last one (the footer counts %" PRIu64
                       " blocks and starts at offset %" PRIu64 ")",
                       index, r->st.blocks, r->ftr_off);
    room = r->ftr_off - off - BLK_HDR;
    if (r->fd >= 0 && ensure(&r->comp, &r->comp_cap, BLK_HDR) != 0)
        return nomem(err);
    rc = get(r, off, BLK_HDR, r->comp, &h, err);
    if (rc)
        return rc;
    b->raw = buf_get_u32le(h);
    b->comp = buf_get_u32le(h + 4);
    b->rows = buf_get_u32le(h + 8);
    b->index = buf_get_u64le(h + 16);
    b->first_row = buf_get_u64le(h + 24);
    b->data = NULL;
    if (b->comp == 0 || b->comp > r->max_comp || b->comp > room)
        return corrupt(err, r, off, "block %" PRIu64 ": compressed length %"
                       PRIu32 " outside 1..%" PRIu32 " or past the footer",
                       index, b->comp, r->max_comp);
    if (with_data) {
        uint64_t sum;
        if (r->fd >= 0) {
            if (ensure(&r->comp, &r->comp_cap, BLK_HDR + r->max_comp) != 0)
                return nomem(err);
            rc = get(r, off, BLK_HDR + b->comp, r->comp, &h, err);
            if (rc)
                return rc;
            if (buf_get_u32le(h + 4) != b->comp)
                return corrupt(err, r, off, "block %" PRIu64 " changed "
                               "while being read", index);
            b->raw = buf_get_u32le(h);
            b->rows = buf_get_u32le(h + 8);
            b->index = buf_get_u64le(h + 16);
            b->first_row = buf_get_u64le(h + 24);
        }
        XXH3_64bits_reset_withSeed(r->blk_hash, r->salt);
        XXH3_64bits_update(r->blk_hash, h, 32);
        XXH3_64bits_update(r->blk_hash, h + BLK_HDR, b->comp);
        sum = XXH3_64bits_digest(r->blk_hash);
        if (sum != buf_get_u64le(h + 32))
            return corrupt(err, r, off, "block %" PRIu64
                           ": checksum mismatch (bytes %" PRIu64 "..%"
                           PRIu64 ")", index, off,
                           off + BLK_HDR + b->comp - 1);
        b->data = h + BLK_HDR;
        if (r->check == BACKUP_CHECK_STREAMING)
            XXH3_64bits_update(r->file_hash, h, BLK_HDR + b->comp);
    }
    if (buf_get_u32le(h + 12) != 0)
        return corrupt(err, r, off, "block %" PRIu64
                       ": reserved field is not zero", index);
    if (b->raw == 0 || b->raw > r->max_raw ||
        b->comp > ZSTD_compressBound(b->raw))
        return corrupt(err, r, off, "block %" PRIu64 ": uncompressed "
                       "length %" PRIu32 " outside 1..%" PRIu32
                       " or too small for %" PRIu32 " compressed bytes",
                       index, b->raw, r->max_raw, b->comp);
    if (b->rows == 0 || b->rows > b->raw / 2)
        return corrupt(err, r, off, "block %" PRIu64 ": %" PRIu32
                       " rows cannot fit in %" PRIu32 " bytes",
                       index, b->rows, b->raw);
    if (b->index != index)
        return corrupt(err, r, off, "block %" PRIu64 " is numbered %"
                       PRIu64 " (blocks reordered or missing)",
                       index, b->index);
    if (first_row != ANY_ROW &&
        (b->first_row != first_row || b->rows > r->st.rows - first_row))
        return corrupt(err, r, off, "block %" PRIu64 " says it starts "
                       "at row %" PRIu64 " with %" PRIu32 " rows; row %"
                       PRIu64 " was expected, of %" PRIu64,
                       index, b->first_row, b->rows, first_row,
                       r->st.rows);
    return 0;
}

/* Step 4: the last block's header agrees with the footer. */
static int check_last_block(struct backup_reader *r, struct tm_error *err)
{
    struct blk b;
    uint64_t off = r->last_block_off;
    int rc;

    if (r->st.blocks == 0)
        return 0;
    rc = load_block(r, off, r->st.blocks - 1, ANY_ROW, 0, &b, err);
    if (rc)
        return rc;
    if (b.first_row > r->st.rows || r->st.rows - b.first_row != b.rows)
        return corrupt(err, r, off, "the last block holds rows %"
                       PRIu64 "..%" PRIu64 ", the footer counts %" PRIu64,
                       b.first_row, b.first_row + b.rows, r->st.rows);
    if (off + BLK_HDR + b.comp != r->ftr_off)
        return corrupt(err, r, off, "the last block ends at offset %"
                       PRIu64 ", the footer starts at %" PRIu64,
                       off + BLK_HDR + b.comp, r->ftr_off);
    return 0;
}

/* Step 5's fallback: walk every block against its block check and report
 * the first damaged one; if none is, the file check is what is wrong. */
static int locate_damage(struct backup_reader *r, struct tm_error *err)
{
    uint64_t off = r->hdr_len, row = 0, i;
    struct blk b;
    int rc;

    for (i = 0; i < r->st.blocks; i++) {
        rc = load_block(r, off, i, row, 1, &b, err);
        if (rc)
            return rc;
        off += BLK_HDR + b.comp;
        row += b.rows;
    }
    if (off != r->ftr_off)
        return corrupt(err, r, off, "%" PRIu64 " bytes after the last of "
                       "the %" PRIu64 " blocks the footer counts",
                       r->ftr_off - off, r->st.blocks);
    return corrupt(err, r, r->size - 8, "whole-file checksum mismatch");
}

/* Step 5: hash bytes 0..size-9 in one sequential pass. */
static int check_file(struct backup_reader *r, struct tm_error *err)
{
    XXH3_state_t *st = XXH3_createState();
    uint8_t *buf = NULL;
    uint64_t total = r->size - 8, done = 0;
    const uint8_t *p;
    int rc = 0;

    if (st == NULL)
        return nomem(err);
    if (r->fd >= 0) {
        buf = malloc(CHECK_CHUNK);
        if (buf == NULL) {
            XXH3_freeState(st);
            return nomem(err);
        }
        (void)posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    }
    XXH3_64bits_reset(st);
    while (done < total) {
        size_t n = total - done < CHECK_CHUNK ? (size_t)(total - done)
                                              : CHECK_CHUNK;
        rc = get(r, done, n, buf, &p, err);
        if (rc)
            break;
        XXH3_64bits_update(st, p, n);
        done += n;
        if (r->progress && (done % PROGRESS_EVERY == 0 || done == total))
            r->progress(r->progress_ctx, 0, done);
    }
    if (rc == 0 && XXH3_64bits_digest(st) != r->file_check)
        rc = locate_damage(r, err);
    XXH3_freeState(st);
    free(buf);
    return rc;
}

static int reader_open(int fd, const uint8_t *data, size_t len,
                       const char *name, const struct backup_read_options *o,
                       struct backup_reader **out, struct tm_error *err)
{
    struct backup_reader *r;
    uint8_t f[FTR_LEN];
    size_t nlen = strlen(name);
    int rc;

    r = calloc(1, sizeof *r);
    if (r == NULL) {
        if (fd >= 0)
            fsio_close(fd);
        return nomem(err);
    }
    r->fd = fd;
    r->mem = data;
    r->size = len;
    if (o != NULL) {
        r->check = o->check == BACKUP_CHECK_STREAMING
                       ? BACKUP_CHECK_STREAMING
                       : BACKUP_CHECK_AT_OPEN;
        r->progress = o->progress;
        r->progress_ctx = o->progress_ctx;
    }
    r->name = malloc(nlen + 1);
    r->blk_hash = XXH3_createState();
    r->dctx = ZSTD_createDCtx();
    if (r->check == BACKUP_CHECK_STREAMING)
        r->file_hash = XXH3_createState();
    if (r->name == NULL || r->blk_hash == NULL || r->dctx == NULL ||
        (r->check == BACKUP_CHECK_STREAMING && r->file_hash == NULL)) {
        rc = nomem(err);
        goto fail;
    }
    memcpy(r->name, name, nlen + 1);
    if (r->file_hash)
        XXH3_64bits_reset(r->file_hash);
    if (ZSTD_isError(ZSTD_DCtx_setParameter(r->dctx, ZSTD_d_windowLogMax,
                                            WINDOW_LOG_MAX))) {
        rc = tm_error_set(err, TM_EINTERNAL, "backup file: zstd setup");
        goto fail;
    }
    rc = read_header(r, err);
    if (rc == 0)
        rc = read_footer(r, f, err);
    if (rc == 0)
        rc = check_last_block(r, err);
    if (rc == 0 && r->check == BACKUP_CHECK_AT_OPEN)
        rc = check_file(r, err);
    if (rc)
        goto fail;
    r->off = r->hdr_len;
    *out = r;
    return 0;

fail:
    reader_free(r);
    return rc;
}

int backup_reader_open_opts(const char *path,
                            const struct backup_read_options *o,
                            struct backup_reader **out, struct tm_error *err)
{
    struct stat sb;
    int fd, e;

    *out = NULL;
    fd = fsio_open(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return tm_error_set(err, TM_EIO, "backup file %s: cannot open: %s",
                            path, strerror(errno));
    if (fstat(fd, &sb) != 0) {
        e = errno;
        fsio_close(fd);
        return tm_error_set(err, TM_EIO, "backup file %s: cannot stat: %s",
                            path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        fsio_close(fd);
        return tm_error_set(err, TM_EIO,
                            "backup file %s: not a regular file", path);
    }
    return reader_open(fd, NULL, (uint64_t)sb.st_size, path, o, out, err);
}

int backup_reader_open(const char *path, struct backup_reader **out,
                       struct tm_error *err)
{
    return backup_reader_open_opts(path, NULL, out, err);
}

int backup_reader_open_mem_opts(const uint8_t *data, size_t len,
                                const char *name,
                                const struct backup_read_options *o,
                                struct backup_reader **out,
                                struct tm_error *err)
{
    *out = NULL;
    if (data == NULL)
        len = 0;
    if (data == NULL)
        data = (const uint8_t *)"";
    return reader_open(-1, data, len, name ? name : "(memory)", o, out,
                       err);
}

int backup_reader_open_mem(const uint8_t *data, size_t len, const char *name,
                           struct backup_reader **out, struct tm_error *err)
{
    return backup_reader_open_mem_opts(data, len, name, NULL, out, err);
}

const struct backup_meta *backup_reader_meta(const struct backup_reader *r)
{
    return &r->meta;
}

const struct backup_stats *backup_reader_stats(const struct backup_reader *r)
{
    return &r->st;
}

size_t backup_reader_buffer_bytes(const struct backup_reader *r)
{
    return r->comp_cap + r->raw_cap + r->prev_cap;
}

/* Step 8: every block was read; compare with the footer. */
static int check_end(struct backup_reader *r, struct tm_error *err)
{
    uint64_t off = r->ftr_off;
    uint8_t f[FTR_LEN];
    const uint8_t *p;
    int rc;

    if (r->nrows != r->st.rows || r->nitem != r->st.item_bytes ||
        r->nkey != r->st.key_bytes)
        return corrupt(err, r, off + 24, "the blocks hold %" PRIu64
                       " rows of %" PRIu64 " + %" PRIu64 " bytes, the "
                       "footer counts %" PRIu64 " of %" PRIu64 " + %" PRIu64,
                       r->nrows, r->nkey, r->nitem, r->st.rows,
                       r->st.key_bytes, r->st.item_bytes);
    if (r->nblocks && r->blk_off != r->last_block_off)
        return corrupt(err, r, off + 64, "the last block is at offset %"
                       PRIu64 ", the footer says %" PRIu64,
                       r->blk_off, r->last_block_off);
    if (r->seen_raw != r->max_raw || r->seen_comp != r->max_comp)
        return corrupt(err, r, off + 72, "the largest block is %" PRIu32
                       " / %" PRIu32 " bytes, the footer says %" PRIu32
                       " / %" PRIu32, r->seen_raw, r->seen_comp,
                       r->max_raw, r->max_comp);
    if (r->check == BACKUP_CHECK_STREAMING) {
        rc = get(r, off, FTR_LEN, f, &p, err);
        if (rc)
            return rc;
        XXH3_64bits_update(r->file_hash, p, 88);
        if (XXH3_64bits_digest(r->file_hash) != r->file_check ||
            buf_get_u64le(p + 88) != r->file_check)
            return corrupt(err, r, r->size - 8,
                           "whole-file checksum mismatch");
    }
    return 0;
}

/* Steps 6 and 7 for the next block: 1 loaded, 0 end (checked), <0. */
static int next_block(struct backup_reader *r, struct tm_error *err)
{
    struct blk b;
    size_t got;
    int rc;

    if (r->nblocks == r->st.blocks) {
        if (r->off != r->ftr_off)
            return corrupt(err, r, r->off, "%" PRIu64 " bytes after the "
                           "last of the %" PRIu64 " blocks the footer "
                           "counts", r->ftr_off - r->off, r->st.blocks);
        return 0;
    }
    rc = load_block(r, r->off, r->nblocks, r->nrows, 1, &b, err);
    if (rc)
        return rc;
    if (ensure(&r->raw, &r->raw_cap, b.raw) != 0)
        return nomem(err);
    got = ZSTD_decompressDCtx(r->dctx, r->raw, b.raw, b.data, b.comp);
    if (ZSTD_isError(got))
        return corrupt(err, r, r->off, "block %" PRIu64 ": cannot "
                       "decompress: %s", r->nblocks, ZSTD_getErrorName(got));
    if (got != b.raw)
        return corrupt(err, r, r->off, "block %" PRIu64 ": decompresses "
                       "to %zu bytes, not %" PRIu32, r->nblocks, got, b.raw);
    r->blk_off = r->off;
    r->blk_index = r->nblocks;
    r->off += BLK_HDR + b.comp;
    r->nblocks++;
    r->pos = r->raw;
    r->end = r->raw + b.raw;
    r->left = b.rows;
    if (b.raw > r->seen_raw)
        r->seen_raw = b.raw;
    if (b.comp > r->seen_comp)
        r->seen_comp = b.comp;
    if (r->progress)
        r->progress(r->progress_ctx, r->nrows + b.rows, r->off);
    return 1;
}

static int next_row(struct backup_reader *r, const uint8_t **key,
                    size_t *klen, const uint8_t **item, size_t *ilen,
                    struct tm_error *err)
{
    const uint8_t *q;
    uint32_t kl, il;
    int rc;

    while (r->left == 0) {
        if (r->nblocks > 0 && r->pos != r->end)
            return corrupt(err, r, r->blk_off, "block %" PRIu64 ": %zu "
                           "bytes after its last row", r->blk_index,
                           (size_t)(r->end - r->pos));
        rc = next_block(r, err);
        if (rc < 0)
            return rc;
        if (rc == 0) {
            rc = check_end(r, err);
            if (rc)
                return rc;
            r->done = 1;
            return 0;
        }
    }
    q = r->pos;
    if (get_varint(&q, r->end, &kl) != 0 ||
        get_varint(&q, r->end, &il) != 0 || kl > BACKUP_KEY_MAX ||
        il > BACKUP_ITEM_MAX || (size_t)(r->end - q) < (size_t)kl + il)
        return corrupt(err, r, r->blk_off, "block %" PRIu64 ": row %"
                       PRIu64 " (byte %zu of the block) has a bad length "
                       "or runs past the block",
                       r->blk_index, r->nrows, (size_t)(r->pos - r->raw));
    if (r->have_prev && rowkey_cmp(q, kl, r->prev, r->prev_len) <= 0)
        return corrupt(err, r, r->blk_off, "block %" PRIu64 ": row %"
                       PRIu64 ": key not greater than the previous row's",
                       r->blk_index, r->nrows);
    if (ensure(&r->prev, &r->prev_cap, kl ? kl : 1) != 0)
        return nomem(err);
    if (kl)
        memcpy(r->prev, q, kl);
    r->prev_len = kl;
    r->have_prev = 1;
    *key = q;
    *klen = kl;
    *item = q + kl;
    *ilen = il;
    r->pos = q + kl + il;
    r->left--;
    r->nrows++;
    r->nkey += kl;
    r->nitem += il;
    return 1;
}

int backup_reader_next(struct backup_reader *r, const uint8_t **key,
                       size_t *klen, const uint8_t **item, size_t *ilen,
                       struct tm_error *err)
{
    int rc;

    if (r->rc) {
        if (err != NULL)
            *err = r->fail;
        return r->rc;
    }
    if (r->done)
        return 0;
    rc = next_row(r, key, klen, item, ilen, &r->fail);
    if (rc < 0) {
        r->rc = rc;
        if (err != NULL)
            *err = r->fail;
    }
    return rc;
}
