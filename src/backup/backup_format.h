/*
 * backup_format.h - the backup file: one table as of one moment, written
 * once by struct backup_writer and read back, checked, by struct
 * backup_reader.
 *
 * A backup file holds a header (format version, the table's schema and
 * settings as an opaque JSON text, the change-log position (LSN) the
 * backup reflects, the creation time and the caller's ids), then the
 * table's rows in key order, in zstd-compressed blocks of about
 * BACKUP_BLOCK_BYTES each with its own checksum, then a footer (row, byte
 * and block counts, seek offsets, a whole-file checksum).  Base snapshots
 * for point-in-time recovery use the same format.  The byte layout is in
 * backup_format.c's header comment; what a file guarantees, how to inspect
 * one and the versioning rule are in src/backup/README.md.
 *
 * A row is a (key, item) pair of opaque byte strings: this module never
 * looks inside either.  In Tidemark the key is the row's LMDB key
 * (storage/key.h) and the item its binary encoding (item/item.h).  Keys
 * must come strictly increasing in memcmp order (a shorter key before any
 * longer key it is a prefix of), which is LMDB's order; the writer
 * enforces it and the reader checks it again, so a restore can load rows
 * with append-mode inserts.
 *
 * Guarantees:
 *   1. Nothing exists at `path` until backup_writer_finish returns 0; then
 *      the whole file is there and durable (fdatasync of the file, rename,
 *      fsync of the directory).  A failed or aborted writer leaves neither
 *      `path` nor "<path>.tmp" behind.
 *   2. A reader returns only rows that passed every check; any mismatch
 *      (a flipped byte anywhere, a truncated or extended file, a footer
 *      pointing outside the file, counts that disagree with the content, a
 *      key out of order) is TM_ECORRUPT with a message naming the file and
 *      the byte offset:
 *          backup file /x/y.tmbak is corrupt at offset 123456: block 3:
 *          checksum mismatch
 *   3. Memory is bounded by about two blocks (a few hundred KiB; at most
 *      about 9 MiB when a single row is as large as the limits allow),
 *      whatever the number of rows.  Every length read from a file is
 *      bounded before anything is allocated for it.
 *
 * Thread-safety: a writer or a reader belongs to one thread at a time.
 * Distinct writers and readers share nothing and may run concurrently
 * (two writers must not be given the same `path`: the second one fails
 * because "<path>.tmp" exists).
 */
#ifndef TM_BACKUP_FORMAT_H
#define TM_BACKUP_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* The format this build writes, and the newest it reads. */
#define BACKUP_FORMAT_VERSION 1u

/* Target uncompressed size of a block.  A block is never larger, except
 * when it holds a single row that is larger by itself. */
#define BACKUP_BLOCK_BYTES (256u * 1024)

/* zstd level of the blocks (backup_writer_set_level changes it; readers
 * do not care).  By default a writer adapts: a block goes at this level
 * when the last probe at this level at least halved its block, otherwise
 * at BACKUP_ZSTD_FAST_LEVEL, and one block in BACKUP_ZSTD_PROBE_EVERY
 * (block numbers 0, 64, 128, ...) probes again at this level.  On items
 * that level 1 cannot halve (encrypted or random values, ids, compressed
 * blobs) it costs about four times the CPU of writing them as they are,
 * to save less than half of the bytes; bench/RESULTS.md "Backups: level
 * 1 only where it halves the blocks" has the figures.  A level set with
 * backup_writer_set_level is kept for every block. */
#define BACKUP_ZSTD_LEVEL 1
/* zstd's fast mode at this depth (acceleration 100) finds next to no
 * matches and leaves literals as they are: a frame of raw blocks at
 * several GB/s a core, the store of a level. */
#define BACKUP_ZSTD_FAST_LEVEL (-100)
#define BACKUP_ZSTD_PROBE_EVERY 64u
/* zstd hashLog at level 1 (backup_format.c, compress_block) */
#define BACKUP_ZSTD_HASHLOG 11

/* Limits, enforced by the writer (TM_EVALIDATION) and by the reader
 * (TM_ECORRUPT).  They are generous: DynamoDB keys are at most 2048 + 1024
 * bytes and items 400 KB. */
#define BACKUP_KEY_MAX (64u * 1024)          /* bytes of one row key */
#define BACKUP_ITEM_MAX (4u * 1024 * 1024)   /* bytes of one item */
#define BACKUP_TABLE_JSON_MAX (4u * 1024 * 1024)
#define BACKUP_ID_MAX 4096u                  /* each ARN, id and name */

/* Largest uncompressed block any file may hold: one row of the maximum
 * key and item sizes with its two length prefixes. */
#define BACKUP_BLOCK_RAW_MAX (BACKUP_ITEM_MAX + BACKUP_KEY_MAX + 16u)

/* The header fields.  Given to backup_writer_open (which copies what it
 * needs: the caller's strings may be freed after it returns) and returned
 * by backup_reader_meta. */
struct backup_meta {
    uint32_t format_version;  /* ignored by the writer, which writes
                                 BACKUP_FORMAT_VERSION; set by the reader */
    const char *table_json;   /* the table's schema and settings, opaque
                                 (NUL-terminated); NULL is taken as "" */
    uint64_t lsn;             /* change-log position the backup reflects */
    int64_t created_ms;       /* ms since the epoch (may be negative) */
    const char *backup_arn;   /* these four may be "" (or NULL: "") */
    const char *table_arn;
    const char *table_id;
    const char *backup_name;
    int backup_type;          /* the caller's code (USER, SYSTEM, base
                                 snapshot...); stored as int32 */
};

/* Counts of a file.  From backup_writer_finish: what was written.  From
 * backup_reader_stats: what the footer says; the whole-file checksum
 * vouches for it, and backup_reader_next recounts while reading. */
struct backup_stats {
    uint64_t rows;        /* number of rows */
    uint64_t item_bytes;  /* sum of the item lengths (uncompressed) */
    uint64_t file_bytes;  /* size of the file */
    uint64_t blocks;      /* number of blocks */
    uint64_t key_bytes;   /* sum of the key lengths */
    uint64_t fast_blocks; /* blocks the writer put at BACKUP_ZSTD_FAST_LEVEL
                           * (a writer's figure: 0 from a reader) */
};

/* Progress of long work, called from the thread doing it (it must not
 * call back into the same writer or reader).  `rows` and `bytes` only
 * grow; what they count is given with each setter below. */
typedef void (*backup_progress_fn)(void *ctx, uint64_t rows, uint64_t bytes);

/* ==== Writing ==== */

struct backup_writer;

/* Start a backup file at `path`: create "<path>.tmp" (it must not exist:
 * a leftover is the trace of a crashed writer and should be removed by
 * whoever owns the directory) and write the header from `m`.  Nothing
 * appears at `path` until backup_writer_finish.
 *
 * @param[in]  path  the final name of the file; its directory must exist
 * @param[in]  m     header fields (copied; m->format_version is ignored)
 * @param[out] out   the writer, owned by the caller until _finish or
 *                   _abort; NULL on failure
 * @param[out] err   the reason on failure (may be NULL)
 * @return 0; TM_EVALIDATION (a string over its limit); TM_EIO (cannot
 *         create or write "<path>.tmp": the message has the path and
 *         strerror); TM_ENOMEM.  On failure nothing was left on disk and
 *         there is nothing to free. */
int backup_writer_open(const char *path, const struct backup_meta *m,
                       struct backup_writer **out, struct tm_error *err);

/* Call fn(ctx, rows written so far, file bytes written so far) after each
 * block is written (and once more by _finish, after the footer).  fn NULL
 * turns it off. */
void backup_writer_set_progress(struct backup_writer *w,
                                backup_progress_fn fn, void *ctx);

/* Set the target block size (default BACKUP_BLOCK_BYTES), from 1 to
 * BACKUP_BLOCK_RAW_MAX bytes; other values are clamped.  For tests, which
 * want many blocks in a small file.  Call it before the first _add. */
void backup_writer_set_block_bytes(struct backup_writer *w, size_t bytes);

/* With n >= 1 (at most BACKUP_WRITER_THREADS_MAX), n helper threads
 * compress blocks side by side and write them in block order while the
 * caller fills the next one (n + 1 blocks in memory instead of one); the
 * file has the same layout and rows as one thread writes.  Helpers
 * inherit the caller's scheduling policy.  A helper's error is returned
 * by the next _add or by _finish.  Call it before the first _add.
 * Returns 0, or TM_ENOMEM when not every thread could be started (the
 * writer works with those that were, or alone). */
#define BACKUP_WRITER_THREADS_MAX 8
int backup_writer_set_threads(struct backup_writer *w, int n,
                              struct tm_error *err);

/* Set the zstd level of every block from now on, clamped to what libzstd
 * accepts (negative levels are faster still), and stop adapting it (see
 * BACKUP_ZSTD_LEVEL).  May be called at any time; it applies from the
 * next block compressed. */
void backup_writer_set_level(struct backup_writer *w, int level);

/* Append one row.  Both buffers are copied (or consumed) before the call
 * returns; `key`/`item` may be NULL when their length is 0.
 * @return 0;
 *         TM_EVALIDATION: klen > BACKUP_KEY_MAX, ilen > BACKUP_ITEM_MAX,
 *           or the key is not strictly greater than the previous one; the
 *           row was not written and the writer remains usable;
 *         TM_EIO (message: path and strerror), TM_ENOMEM, TM_EINTERNAL
 *           (compression failed): the writer is failed, every later _add
 *           or _finish returns TM_EIO; call backup_writer_abort(w). */
int backup_writer_add(struct backup_writer *w, const uint8_t *key,
                      size_t klen, const uint8_t *item, size_t ilen,
                      struct tm_error *err);

/* Write the last block and the footer, fdatasync the file, rename
 * "<path>.tmp" to `path` (replacing a file of that name) and fsync the
 * directory.  Frees `w` in every case: do not call _abort afterwards.
 * @param[out] st  the file's counts (may be NULL)
 * @return 0: the file is complete and durable at `path`;
 *         TM_EIO/TM_ENOMEM/TM_EINTERNAL: neither `path` nor the .tmp
 *         exists any more (a failure after the rename removes `path`
 *         too, since its durability is unknown). */
int backup_writer_finish(struct backup_writer *w, struct backup_stats *st,
                         struct tm_error *err);

/* Give up: close and remove "<path>.tmp" and free `w`.  NULL-safe. */
void backup_writer_abort(struct backup_writer *w);

/* ==== Reading ==== */

struct backup_reader;

/* When a reader checks the whole-file checksum. */
enum backup_check {
    /* Default.  _open reads the whole file once to check the whole-file
     * checksum before returning (one extra sequential read of the file:
     * at disk or page-cache speed, XXH3 itself runs at several GB/s), so
     * a file that opens is known intact before the first row is used. */
    BACKUP_CHECK_AT_OPEN = 0,
    /* _open checks the header and the footer only (cheap: for listing and
     * inspecting); _next checks every block as it reads it and the
     * whole-file checksum when it reaches the end.  One read of the file
     * instead of two, but rows are handed out before the whole file was
     * checked: a consumer must be able to throw its work away (as a
     * restore does) when the end reports corruption. */
    BACKUP_CHECK_STREAMING = 1,
};

struct backup_read_options {
    enum backup_check check;
    /* fn(ctx, rows, bytes): during _open's checksum pass, every 4 MiB and
     * at its end, with rows = 0 and bytes = bytes checked so far; during
     * _next, after each block is read, with the rows in the blocks read so
     * far and the file offset reached (the end of that block).  `bytes`
     * is thus always a position in a file of backup_reader_stats()->
     * file_bytes bytes. */
    backup_progress_fn progress;
    void *progress_ctx;
};

/* Open the backup file at `path` and check its header, its footer, the
 * seek offsets, and (with BACKUP_CHECK_AT_OPEN, the default when `o` is
 * NULL) the whole-file checksum.  When the whole-file checksum does not
 * match, the blocks are walked to find where the damage is, so that the
 * message names the first damaged block rather than the end of the file.
 * @param[in]  path  the file; used in messages
 * @param[in]  o     options (may be NULL: defaults); not kept
 * @param[out] out   the reader, to be closed with backup_reader_close;
 *                   NULL on failure
 * @return 0; TM_ECORRUPT ("backup file <path> is corrupt at offset <n>:
 *         <what>", including "written by a newer Tidemark (format 2);
 *         this build reads format 1"); TM_EIO (cannot open or read: path
 *         and strerror); TM_ENOMEM.  On failure there is nothing to free.
 */
int backup_reader_open(const char *path, struct backup_reader **out,
                       struct tm_error *err);
int backup_reader_open_opts(const char *path,
                            const struct backup_read_options *o,
                            struct backup_reader **out,
                            struct tm_error *err);

/* The same over a file held in memory (an object-store download, the
 * fuzzer).  `data` is borrowed: it must stay valid and unchanged until
 * backup_reader_close (rows point into the reader's buffers, not into
 * `data`).  `name` (copied; NULL: "(memory)") stands for the file in
 * messages.  Returns as backup_reader_open, never TM_EIO. */
int backup_reader_open_mem(const uint8_t *data, size_t len,
                           const char *name, struct backup_reader **out,
                           struct tm_error *err);
int backup_reader_open_mem_opts(const uint8_t *data, size_t len,
                                const char *name,
                                const struct backup_read_options *o,
                                struct backup_reader **out,
                                struct tm_error *err);

/* The header fields.  The strings are NUL-terminated, owned by the reader
 * and valid until backup_reader_close.  Never NULL. */
const struct backup_meta *backup_reader_meta(const struct backup_reader *r);

/* The footer's counts (see struct backup_stats).  Never NULL. */
const struct backup_stats *backup_reader_stats(const struct backup_reader *r);

/* Read the next row, in key order.
 * @param[out] key, klen, item, ilen  the row; the bytes are borrowed from
 *             the reader, valid until the next call to _next or _close
 *             (copy them to keep them).  A zero-length key or item may
 *             come with a pointer that must not be dereferenced.
 * @return 1: a row; 0: no more rows, and the counts in the footer match
 *         what was read (and, with BACKUP_CHECK_STREAMING, the whole-file
 *         checksum too); later calls return 0 again;
 *         TM_ECORRUPT (file and offset in `err`), TM_EIO, TM_ENOMEM: the
 *         error is sticky (every later call returns it); close the
 *         reader, and discard whatever was built from its rows. */
int backup_reader_next(struct backup_reader *r, const uint8_t **key,
                       size_t *klen, const uint8_t **item, size_t *ilen,
                       struct tm_error *err);

/* Bytes of block buffers the reader holds now (decompressed block,
 * compressed block, previous key).  For tests of the memory bound. */
size_t backup_reader_buffer_bytes(const struct backup_reader *r);

/* Release everything (and close the file).  NULL-safe. */
void backup_reader_close(struct backup_reader *r);

#endif
