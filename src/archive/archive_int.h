/*
 * archive_int.h - what the archive's own files share (archive.c, the
 * uploader; fetch.c, the reading side; state.c, the pure parts below) and
 * what tests/unit/test_archive.c checks: object names, the progress file,
 * the merge rule for chunks and the plan that reassembles segments.
 *
 * Object names (relative to the store's prefix, so "s3://b/p" holds
 * "p/archive/..."):
 *
 *     archive/id                     this archive's owner: the id of the
 *                                    data directory that writes it
 *     archive/bases/<id>.tmbak       a PITR base snapshot (backup file)
 *     archive/bases/<id>.json        its description (written last)
 *     archive/wal/<segment>/<offset> a chunk: bytes [offset, offset+size)
 *                                    of log segment <segment> (the file
 *                                    name, "<20 digits>.wal"); <offset>
 *                                    is 20 digits, so that key order is
 *                                    segment order, then offset order
 *
 * A segment is a sequence of chunks from offset 0 (its header is in the
 * first); chunks may overlap (a merge, or a chunk uploaded again after a
 * crash, covers older ones), and overlapping bytes are always equal: a
 * segment's bytes never change below the log's synced point (wal.h,
 * wal_synced_point).
 */
#ifndef TM_ARCHIVE_INT_H
#define TM_ARCHIVE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define ARCHIVE_ID_KEY "archive/id"
#define ARCHIVE_WAL "archive/wal/"
#define ARCHIVE_BASES "archive/bases/"
#define ARCHIVE_KEY_MAX 96       /* the longest key above, with its NUL */
#define ARCHIVE_CHUNK_MAX (8u << 20)  /* bytes per chunk PUT */
#define ARCHIVE_MERGE_FANIN 4    /* this many chunks of one level merge */
#define ARCHIVE_SEAL_BYTES (1u << 20) /* a chunk this large never merges */
#define ARCHIVE_INF INT64_MAX    /* "no LSN": nothing needed */

/* ---- object names ------------------------------------------------------ */

/* "archive/wal/<seg as 20 digits>.wal/<off as 20 digits>" into `out`
 * (ARCHIVE_KEY_MAX bytes). */
void archive_chunk_key(char *out, uint64_t seg_first, uint64_t off);

/* "archive/wal/<seg as 20 digits>.wal/": every chunk of one segment. */
void archive_seg_prefix(char *out, uint64_t seg_first);

/* Parse a key made by archive_chunk_key: 0 and the two numbers, or -1 when
 * `key` is anything else (other names under archive/wal/ are ignored). */
int archive_chunk_parse(const char *key, uint64_t *seg_first,
                        uint64_t *off);

/* Chunk objects collected from a listing (s3_list with
 * archive_listing_add as the callback): keys that are not chunks are
 * skipped.  The caller frees `v`. */
struct archive_listing {
    struct archive_obj *v;
    size_t n, cap;
};
int archive_listing_add(void *ctx, const char *key, uint64_t size);

/* "archive/bases/<id>.<ext>" into `out` (ARCHIVE_KEY_MAX + 64 bytes);
 * -1 if the id does not fit or contains '/'. */
int archive_base_key(char *out, size_t n, const char *id, const char *ext);

/* ---- the progress file (data/archive.json) -----------------------------
 *
 *   {"v":1, "store":"s3://bucket/prefix", "id":"<16 hex>",
 *    "uploaded_to":N, "pruned_for":N,
 *    "segments":[{"first":N, "up":N, "size":N,
 *                 "chunks":[[off, level], ...]}, ...],
 *    "bases":[{"id":"...", "lsn":N, "created":N, "up":0|1}, ...]}
 *
 * uploaded_to: every local segment whose first LSN is below it is in the
 *   store, whole, or was not needed (wholly older than every base); it is
 *   the first LSN of the oldest segment still to upload, and the archive
 *   pins the log there (engine_pin_archive).
 * segments: the segments at or after uploaded_to whose upload has begun:
 *   bytes [0, up) are in the store as the chunks listed; size is the
 *   segment's final size once it is closed (0 while it is the current
 *   one).
 * bases: base snapshots put in the store (up 1) or being put (up 0), with
 *   the LSN they reflect: the log from lsn + 1 on must stay archived.
 * pruned_for: the `need_from` LSN (see archive.c) the last pruning of
 *   the store's log was done for.
 */

struct archive_chunk {
    uint64_t off;
    int level;        /* 0 as uploaded; +1 per merge */
};

struct archive_seg {
    uint64_t first;
    uint64_t up;
    uint64_t size;    /* 0: still the current segment */
    size_t nchunks, cap;
    struct archive_chunk *chunks;
};

struct archive_base_rec {
    char id[64];
    uint64_t lsn;
    int64_t created_ms;
    int up;
};

struct archive_progress {
    char store[1024];
    char id[40];
    uint64_t uploaded_to;
    int64_t pruned_for;
    struct archive_seg *segs;      /* ascending first */
    size_t nsegs, segcap;
    struct archive_base_rec *bases;
    size_t nbases, basecap;
};

/* Read `path`.  Returns 0, TM_ENOTFOUND (no file: `p` is empty), or
 * TM_ECORRUPT naming the file and what is wrong (the caller says what to
 * do), TM_EIO, TM_ENOMEM.  `p` is zeroed first; free it with
 * archive_progress_free in every case. */
int archive_progress_load(const char *path, struct archive_progress *p,
                          struct tm_error *err);

/* Write `p` to `path` atomically: "<path>.tmp", fsync, rename, fsync of
 * the directory.  0 or TM_EIO / TM_ENOMEM (the old file is untouched). */
int archive_progress_save(const char *path, const struct archive_progress *p,
                          struct tm_error *err);

void archive_progress_free(struct archive_progress *p);

/* The entry of segment `first` (NULL if none); with `create`, a new one
 * (up 0, no chunk) inserted in order.  NULL on TM_ENOMEM. */
struct archive_seg *archive_progress_seg(struct archive_progress *p,
                                         uint64_t first, int create);

/* Drop the entry of segment `first` (absent: nothing). */
void archive_progress_drop_seg(struct archive_progress *p, uint64_t first);

/* The base record `id` (NULL if none); with `create`, a new one. */
struct archive_base_rec *archive_progress_base(struct archive_progress *p,
                                               const char *id, int create);
void archive_progress_drop_base(struct archive_progress *p, const char *id);

/* Append a chunk at `off` (0 or TM_ENOMEM). */
int archive_seg_add_chunk(struct archive_seg *s, uint64_t off, int level);

/* The merge rule.  When the last ARCHIVE_MERGE_FANIN chunks of `s` have
 * the same level and each is smaller than ARCHIVE_SEAL_BYTES, they are
 * put again as one chunk at the first one's offset with level + 1 (and
 * the others deleted), like a binary counter in base FANIN: each byte is
 * uploaded about log4(SEAL / bytes per second) times at most, and a
 * segment holds at most about size / SEAL + 3 * levels chunks however
 * slowly it fills.  Returns the index of the first chunk to merge, or -1.
 * The last chunk ends at s->up. */
long archive_merge_plan(const struct archive_seg *s);

/* ---- reassembling the archived log (tidemark restore) ------------------ */

/* One chunk object as listed: its segment, offset and size. */
struct archive_obj {
    uint64_t seg;
    uint64_t off;
    uint64_t size;
};

/* Sort `v` (segment, then offset), check that every segment from the one
 * holding LSN `from_lsn` on is covered from offset 0 without a hole, and
 * keep in v[0 .. *keep) only the chunks to download for them (a chunk
 * that lies wholly inside what earlier chunks cover is left out).
 * `*seg_bytes` receives the total size of those segments.  Returns 0,
 * TM_ENOTFOUND (no segment holds `from_lsn`: the archive's log starts
 * after it, or is empty) or TM_ECORRUPT (a hole: the message names the
 * segment and the missing byte range).  Whether the log goes on after
 * the last segment far enough is for the reader to find (it checks LSN
 * continuity between segments). */
int archive_plan_log(struct archive_obj *v, size_t n, uint64_t from_lsn,
                     size_t *keep, uint64_t *seg_bytes, struct tm_error *err);

#endif
