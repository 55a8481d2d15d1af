/*
 * wal.c - the change log: segment files of checksummed records, the
 * writer (append, group commit, segment roll), the validation and repair
 * done by wal_open, and readers.
 *
 * Callers: the engine's writer thread (wal_open, wal_append, wal_sync,
 * wal_discard, wal_close), its checkpointer (wal_remove_before), and
 * anything that replays or ships the log (crash recovery, PITR, streams,
 * the archiver) through struct wal_reader.
 * Below it: POSIX files, through src/base/fsio.h (where tests inject I/O
 * faults).  The durability rules and the group-commit recipe that the
 * engine follows are in src/wal/README.md.
 *
 * Entry points, in the order of a server's life:
 *     wal_open          list, validate and repair the segments; create the
 *                       first segment of an empty log
 *     wal_append        encode one record into the in-memory tail
 *     wal_sync          write the tail (one write per segment touched),
 *                       fdatasync, publish the synced LSN
 *     wal_discard       forget the tail (the batch was abandoned)
 *     wal_reader_*      read records back, from any LSN, with or without a
 *                       live writer
 *     wal_remove_before delete segments nothing needs any more
 *     wal_close         sync what is left and release everything
 *
 * ==== FILES ====
 *
 * The log is a directory of segment files.  A segment is named after the
 * LSN of its first record, printed as 20 decimal digits:
 *
 *     00000000000000000001.wal   records 1 .. 4711
 *     00000000000000004712.wal   records 4712 .. (last)
 *
 * Other names in the directory are ignored.  The writer rolls to a new
 * segment when the next record would take the current one past
 * segment_bytes (a segment is larger only when it holds one record that is
 * larger by itself).  Only the last segment is ever written to.
 *
 * All integers are little-endian.  A segment starts with a 40-byte header:
 *
 *     offset  size  field
 *          0     8  magic "TMWAL\r\n\x1a" (54 4d 57 41 4c 0d 0a 1a)
 *          8     4  format version, 1
 *         12     4  reserved, zero
 *         16     8  first LSN (must equal the LSN in the file name)
 *         24     8  salt: random, chosen when the segment is created
 *         32     8  hash64 (XXH3-64) of bytes 0..31
 *
 * and continues with records, back to back, no padding:
 *
 *     offset  size  field
 *          0     4  len: payload length, <= WAL_RECORD_MAX_PAYLOAD
 *          4     1  type (the engine's)
 *          5     3  reserved, zero
 *          8     8  LSN
 *         16     8  commit time, ms since the epoch (two's complement)
 *         24     8  batch LSN: first LSN written by the same wal_sync
 *         32     8  header check: hash64(bytes 0..31) XOR salt
 *         40   len  payload
 *     40+len     8  record check: hash64(bytes 0..40+len-1) XOR salt
 *
 * so a record occupies 48 + len bytes.  The order is chosen for the
 * reader: it reads the fixed 40-byte header first, and the header check
 * proves that `len` was written by us before `len` is used for anything;
 * then `len` is bounded by WAL_RECORD_MAX_PAYLOAD and by the file size,
 * and only then is the rest read and the record check, which covers every
 * header byte and the payload, verified.
 *
 * The salt makes a record valid only in the segment it was written to: a
 * payload that happens to contain the bytes of a record (payloads carry
 * user data) can never pass for one, which keeps the torn-tail scan below
 * honest, and nothing left over from an earlier file can either (SQLite's
 * WAL salts serve the same purpose).
 *
 * ==== TORN TAILS AND CORRUPTION ====
 *
 * wal_open reads every segment, oldest first, and checks: the header, each
 * record's checks and fields, and that LSNs run on by exactly one inside
 * and across segments (each segment starts where its predecessor ends).
 * A record fails as "torn" (incomplete header, header check mismatch,
 * incomplete record, record check mismatch) or as "bad" (intact checks but
 * impossible content: a length over the maximum, reserved bits, a batch
 * LSN after the LSN, an LSN out of sequence).
 *
 * A torn record at offset X of the LAST segment is a torn tail when no
 * valid record follows it, with one refinement: a valid record that
 * belongs to the same wal_sync batch as the damaged one (its batch LSN is
 * <= the LSN expected at X, and its LSN is greater) does not count.  The
 * scan tries every byte offset after X, because the damaged record's
 * length cannot be trusted.
 *
 * The refinement is there because a crash in the middle of wal_sync can
 * leave any subset of that batch's pages on disk: the kernel writes dirty
 * pages back in no promised order, so record N+1 may be on disk while
 * record N is still zeros.  None of that batch was acknowledged (its
 * fdatasync never returned), so the whole batch is dropped, as a torn tail.
 * A valid record from a LATER batch after the damage, however, proves that
 * the damaged record had been synced and acknowledged: that is corruption.
 *
 * A torn tail is repaired by truncating the segment at X (ftruncate, then
 * fdatasync) and logging a warning naming the file, the offset and the
 * bytes dropped.  Those bytes were never acknowledged (README.md explains
 * why), so nothing a client was told about is lost.
 *
 * A last segment whose header is torn (the file is shorter than the
 * header, or the header is all zeros: crash right after creation) is a
 * torn tail too: its header is rewritten with a fresh salt and the file cut
 * to the header.  A segment is created by the same write that carries its
 * first records, so nothing in it was ever acknowledged.
 *
 * Everything else is corruption, and wal_open fails with TM_ECORRUPT
 * before changing anything, with a message such as
 *
 *     change log corrupt: data/wal/00000000000000000001.wal at offset
 *     4096: checksum mismatch in record 57; the log cannot be replayed
 *     past this point. Restore the data directory from a backup or move
 *     the damaged segment aside.
 *
 * ("record 57" is the LSN the record at that offset should carry): a torn
 * or bad record in any segment but the last, a bad record anywhere, a torn
 * record followed by a valid record of a later batch, a damaged header
 * that is not all zeros, a header that disagrees with its file name, and
 * an LSN gap between two segments (such as a deleted middle segment).
 *
 * ==== WRITER STATES ====
 *
 *              wal_append                    wal_sync writes, syncs
 *     SYNCED -------------> PENDING --------------------------------+
 *       ^  ^                 |   |                                  |
 *       |  +-- wal_discard --+   | wal_sync fails, roll_back works  |
 *       |  +---------------------+                                  |
 *       +-----------------------------------------------------------+
 *       ^                        | wal_sync fails, roll_back fails
 *       |                        v
 *       |                      BROKEN: wal_append still buffers; every
 *       |                        |     wal_sync first retries roll_back
 *       |                        |     and fails with TM_EIO while it
 *       |                        |     fails (dropping its batch)
 *       +------------------------+ roll_back works (a wal_sync, or
 *                                  wal_close)
 *
 * SYNCED: pend is empty, last_lsn == synced_lsn.  PENDING: pend holds
 * records (last_lsn > synced_lsn).  Every path back to SYNCED goes through
 * drop_tail, which resets the tail to the durable segment state.  BROKEN
 * is w->broken: the files may hold bytes of a failed batch past the
 * synced state.
 *
 * ==== FAILED WRITES AND SYNCS ====
 *
 * When a write, fdatasync, segment creation or directory fsync of a batch
 * fails, none of the batch is acknowledged, and roll_back removes what it
 * wrote so that the next batch, which reuses its LSNs, leaves no hole and
 * no stale record behind.  It works in an order that leaves a valid log
 * on disk at every step (even if the machine stops between two steps):
 *
 *   1. unlink the segments the batch created, newest first;
 *   2. fsync the directory (so that no removed segment can come back
 *      after the cut below and leave an LSN gap);
 *   3. ftruncate the current segment to seg_off;
 *   4. fdatasync it (the new size).
 *
 * Until all four succeed the log is BROKEN; each later wal_sync retries
 * them before anything else, so the log heals by itself once the fault
 * clears (a full disk freed, a flaky device back) and the server needs no
 * restart.  A restart while BROKEN is safe too: wal_open finds either the
 * failed batch cut away or still whole after the synced records (valid,
 * or a torn tail that it drops); in the second case those records are
 * replayed although their requests were answered with an error, which is
 * what an internal error may mean (as after a crash during wal_sync).
 *
 * fsyncgate.  After a failed fdatasync Linux may have marked the dirty
 * pages clean without writing them, so a second fdatasync can return 0
 * although the data never reached the disk.  The log therefore never
 * syncs the failed bytes again and never counts them as durable: the batch
 * is cut away (step 3), and its records come back only if the clients
 * send them again, as new bytes with their own fdatasync.  The fdatasync
 * of step 4 vouches only for the cut.  Bytes below seg_off were made
 * durable by an earlier fdatasync that succeeded; the page holding
 * seg_off is rewritten whole (from the page cache, which holds the right
 * bytes) by the next batch's fdatasync.
 *
 * ==== INVARIANTS ====
 *
 *   1. LSNs are consecutive: the record after LSN n carries n + 1, in the
 *      same segment or as the first record of the next one, and a segment
 *      file is named after the LSN of its first record.
 *   2. Every byte of every segment but the current one, and every byte of
 *      the current one below w->seg_off, was written (and, with sync on,
 *      fdatasynced) by a wal_sync that returned 0.  w->synced_lsn is the
 *      LSN of the last record in those bytes.
 *   3. A segment is complete and synced before its successor is created
 *      (wal_sync fdatasyncs it before creating the next file), so only the
 *      last segment can have a torn tail.
 *   4. Every record written by one wal_sync carries that batch's first LSN
 *      as its batch LSN, so the records of an unfinished batch can be told
 *      from those of earlier, acknowledged ones.
 *   5. w->pend holds exactly the encoded records with LSN in
 *      (synced_lsn, last_lsn], and, where a new segment starts among them,
 *      that segment's header; w->splits lists those segment starts.
 *   6. wal_open modifies nothing unless every segment validated, and then
 *      only (a) truncates the last segment at a record boundary, (b)
 *      rewrites the torn header of the last segment, or (c) creates the
 *      first segment of an empty log.
 *   7. A reader given the live log never reads a record whose LSN is above
 *      wal_synced_lsn(): those bytes may still be in flight.
 *
 * ==== THREAD SAFETY NOTES ====
 *
 * A struct wal belongs to one thread, the writer: wal_append, wal_sync,
 * wal_discard, wal_last_lsn and wal_close must not run concurrently with
 * each other.  wal_synced_lsn may be called from any thread: it is an
 * atomic load (acquire) paired with the store (release) that wal_sync
 * makes after its write and fdatasync, so a thread that sees LSN n can
 * pread every byte of records <= n.
 *
 * wal_remove_before may run on one other thread (the engine's
 * checkpointer) beside the writer, never beside wal_close.  It reads the
 * current segment's first LSN from an atomic (cur_first, stored by
 * wal_sync after a roll is durable) and deletes only segments older than
 * it: those are complete (invariant 3) and the writer never opens them
 * again.  A segment that a running wal_sync is creating starts above
 * cur_first, so it is never a candidate, even if that wal_sync fails and
 * unlinks it.
 *
 * wal_synced_point may be called from any thread too: wal_sync publishes
 * the current segment's first LSN and synced end after each success (and
 * wal_open once), as a pair under a sequence count that is odd while it
 * changes (a seqlock), so a reader never sees the offset of one segment
 * with the name of another.
 *
 * A struct wal_reader belongs to one thread; any number of readers may
 * run beside the writer and beside each other.  They share no memory with
 * the writer except that atomic; they open the segment files themselves
 * and use pread.  A live reader reads ahead only over bytes the writer has
 * synced (closed segments whole, the synced segment up to its synced
 * point, wal_synced_point), which never change again; past them it reads
 * exactly the bytes of each record it returns, so it never caches bytes
 * that the writer has not finished writing.  (Read-ahead made a PITR
 * replay's scan of a long log several times faster: two preads per
 * record before.)  A segment deleted by wal_remove_before while a reader
 * has it open stays readable through the reader's descriptor.
 *
 * wal_open takes an exclusive flock on the directory, so that two
 * processes never append to the same log; readers take no lock.
 */
#include "wal/wal.h"

#include "base/buf.h"
#include "base/err.h"
#include "base/hash.h"
#include "base/fsio.h"
#include "base/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SEG_MAGIC "TMWAL\r\n\x1a"
#define SEG_MAGIC_LEN 8
#define SEG_VERSION 1u
#define SEG_HDR 40u       /* segment header bytes */
#define REC_HDR 40u       /* record header bytes, before the payload */
#define REC_TRAILER 8u    /* record check, after the payload */
#define REC_OVERHEAD (REC_HDR + REC_TRAILER)
#define SEG_NAME_LEN 24   /* 20 digits + ".wal" */
#define WIN_AHEAD (1u << 20)
#define PATH_ROOM 64      /* room after the directory for "/<name>" */

/* ==== Little helpers ==== */

/* A segment's path: "<dir>/<20 digits>.wal".  `out` has PATH_MAX bytes and
 * wal_open/wal_reader_open checked that the directory leaves room. */
static void seg_path(char *out, const char *dir, uint64_t first)
{
    snprintf(out, PATH_MAX, "%s/%020" PRIu64 ".wal", dir, first);
}

/* "change log corrupt: <file> at offset <off>: <why>; ..." -- the one
 * shape of every corruption message, from wal_open and from readers. */
static int corrupt(struct tm_error *err, const char *dir, uint64_t first,
                   uint64_t off, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int corrupt(struct tm_error *err, const char *dir, uint64_t first,
                   uint64_t off, const char *fmt, ...)
{
    char why[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return tm_error_set(err, TM_ECORRUPT,
                        "change log corrupt: %s/%020" PRIu64
                        ".wal at offset %" PRIu64
                        ": %s; the log cannot be replayed past this point. "
                        "Restore the data directory from a backup or move "
                        "the damaged segment aside.",
                        dir, first, off, why);
}

static int io_error(struct tm_error *err, const char *what, const char *dir,
                    uint64_t first, int e)
{
    return tm_error_set(err, TM_EIO,
                        "change log: %s %s/%020" PRIu64 ".wal failed: %s",
                        what, dir, first, strerror(e));
}

/* ==== The read window ====
 *
 * Every byte read from a segment goes through win_get, which hands out a
 * pointer to exactly the bytes asked for (fewer only at end of file), so
 * no caller can look past what it checked.  With read-ahead on (files
 * that do not change while we read them) it reads WIN_AHEAD bytes at a
 * time, but never at or past `lim` (a live segment's synced end); with it
 * off, or past `lim`, it reads exactly what is asked. */

struct win {
    int fd;
    int ahead;
    uint8_t *data;
    size_t cap;
    uint64_t start; /* file offset of data[0] */
    size_t len;     /* valid bytes in data */
    uint64_t lim;   /* read-ahead reads nothing at or past this offset */
};

static void win_init(struct win *wn, int fd, int ahead)
{
    memset(wn, 0, sizeof *wn);
    wn->fd = fd;
    wn->ahead = ahead;
    wn->lim = UINT64_MAX;
}

static void win_free(struct win *wn)
{
    free(wn->data);
    wn->data = NULL;
    wn->cap = wn->len = 0;
}

/* Make `n` bytes at `off` readable at `*p`; `*got` is how many there are
 * (< n only at end of file).  Returns 0, or -1 with errno set. */
static int win_get(struct win *wn, uint64_t off, size_t n,
                   const uint8_t **p, size_t *got)
{
    size_t want, total = 0;

    if (off >= wn->start && off - wn->start <= wn->len &&
        n <= wn->len - (off - wn->start)) {
        *p = wn->data + (off - wn->start);
        *got = n;
        return 0;
    }
    want = n;
    if (wn->ahead && want < WIN_AHEAD) {
        want = WIN_AHEAD;
        if (off >= wn->lim)
            want = n;
        else if (wn->lim - off < want)
            want = wn->lim - off > n ? (size_t)(wn->lim - off) : n;
    }
    if (wn->cap < want) {
        uint8_t *d = realloc(wn->data, want);
        if (d == NULL) {
            errno = ENOMEM;
            return -1;
        }
        wn->data = d;
        wn->cap = want;
    }
    wn->start = off;
    wn->len = 0;
    while (total < want) {
        ssize_t k = fsio_pread(wn->fd, wn->data + total, want - total,
                          (off_t)(off + total));
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (k == 0)
            break;
        total += (size_t)k;
    }
    wn->len = total;
    *p = wn->data;
    *got = total < n ? total : n;
    return 0;
}

/* ==== Segment header and record codec ==== */

enum { REC_OK, REC_END, REC_TORN, REC_BAD, REC_EIO };

static void put_seg_hdr(uint8_t *p, uint64_t first, uint64_t salt)
{
    memcpy(p, SEG_MAGIC, SEG_MAGIC_LEN);
    buf_store_u32le(p + 8, SEG_VERSION);
    buf_store_u32le(p + 12, 0);
    buf_store_u64le(p + 16, first);
    buf_store_u64le(p + 24, salt);
    buf_store_u64le(p + 32, hash64(p, 32));
}

/* Check the `got` bytes at the start of the segment named `first`.
 * REC_OK (and `*salt`), REC_TORN (short or all zeros: never written), or
 * REC_BAD, with the reason in `why`. */
static int seg_hdr_check(const uint8_t *p, size_t got, uint64_t first,
                         uint64_t *salt, char *why, size_t whylen)
{
    size_t i;
    uint32_t version;

    if (got < SEG_HDR) {
        snprintf(why, whylen, "segment header incomplete (%zu of %u bytes)",
                 got, SEG_HDR);
        return REC_TORN;
    }
    for (i = 0; i < SEG_HDR && p[i] == 0; i++)
        ;
    if (i == SEG_HDR) {
        snprintf(why, whylen, "segment header is all zeros");
        return REC_TORN;
    }
    if (memcmp(p, SEG_MAGIC, SEG_MAGIC_LEN) != 0) {
        snprintf(why, whylen, "not a change log segment (bad magic)");
        return REC_BAD;
    }
    if (buf_get_u64le(p + 32) != hash64(p, 32)) {
        snprintf(why, whylen, "segment header checksum mismatch");
        return REC_BAD;
    }
    version = buf_get_u32le(p + 8);
    if (version != SEG_VERSION) {
        snprintf(why, whylen,
                 "segment format version %" PRIu32
                 " (this build reads version %u)",
                 version, SEG_VERSION);
        return REC_BAD;
    }
    if (buf_get_u32le(p + 12) != 0) {
        snprintf(why, whylen, "segment header has reserved bits set");
        return REC_BAD;
    }
    if (buf_get_u64le(p + 16) != first) {
        snprintf(why, whylen,
                 "segment header says first LSN %" PRIu64
                 " but the file name says %" PRIu64,
                 buf_get_u64le(p + 16), first);
        return REC_BAD;
    }
    *salt = buf_get_u64le(p + 24);
    return REC_OK;
}

/* Encode one record at `p` (REC_OVERHEAD + len bytes). */
static void put_record(uint8_t *p, uint8_t type, uint64_t lsn,
                       int64_t time_ms, uint64_t batch_lsn,
                       const void *payload, uint32_t len, uint64_t salt)
{
    buf_store_u32le(p, len);
    p[4] = type;
    p[5] = p[6] = p[7] = 0;
    buf_store_u64le(p + 8, lsn);
    buf_store_u64le(p + 16, (uint64_t)time_ms);
    buf_store_u64le(p + 24, batch_lsn);
    buf_store_u64le(p + 32, hash64(p, 32) ^ salt);
    if (len > 0)
        memcpy(p + REC_HDR, payload, len);
    buf_store_u64le(p + REC_HDR + len, hash64(p, REC_HDR + (size_t)len) ^ salt);
}

struct rec_info {
    struct wal_record rec; /* payload points into the window */
    uint64_t batch_lsn;
    uint64_t size;         /* bytes on disk, REC_OVERHEAD + len */
};

/* Decode and verify the record at `off`, reading nothing at or past
 * `limit` (the file size, or UINT64_MAX to stop at end of file).
 * Returns REC_OK (and `*ri`), REC_END (no byte at `off`), REC_TORN,
 * REC_BAD (reason in `why`) or REC_EIO (errno set). */
static int rec_check(struct win *wn, uint64_t off, uint64_t limit,
                     uint64_t salt, struct rec_info *ri, char *why,
                     size_t whylen)
{
    const uint8_t *p;
    size_t got, want = REC_HDR;
    uint32_t len;
    uint64_t total;

    if (off >= limit)
        return REC_END;
    if (limit - off < want)
        want = (size_t)(limit - off);
    if (win_get(wn, off, want, &p, &got) != 0)
        return REC_EIO;
    if (got == 0)
        return REC_END;
    if (got < REC_HDR) {
        snprintf(why, whylen, "incomplete record header (%zu of %u bytes)",
                 got, REC_HDR);
        return REC_TORN;
    }
    if ((buf_get_u64le(p + 32) ^ salt) != hash64(p, 32)) {
        snprintf(why, whylen, "header checksum mismatch");
        return REC_TORN;
    }
    /* From here on the header is ours: its fields may be trusted as
     * written, but still have to be plausible. */
    len = buf_get_u32le(p);
    if (len > WAL_RECORD_MAX_PAYLOAD) {
        snprintf(why, whylen, "record length %" PRIu32 " exceeds the %u-byte"
                 " maximum", len, WAL_RECORD_MAX_PAYLOAD);
        return REC_BAD;
    }
    if (p[5] != 0 || p[6] != 0 || p[7] != 0) {
        snprintf(why, whylen, "record has reserved bits set");
        return REC_BAD;
    }
    total = REC_OVERHEAD + (uint64_t)len;
    if (limit - off < total) {
        snprintf(why, whylen,
                 "incomplete record (%" PRIu64 " of %" PRIu64 " bytes)",
                 limit - off, total);
        return REC_TORN;
    }
    if (win_get(wn, off, (size_t)total, &p, &got) != 0)
        return REC_EIO;
    if (got < total) {
        snprintf(why, whylen, "incomplete record (%zu of %" PRIu64 " bytes)",
                 got, total);
        return REC_TORN;
    }
    if ((buf_get_u64le(p + REC_HDR + len) ^ salt) !=
        hash64(p, REC_HDR + (size_t)len)) {
        snprintf(why, whylen, "checksum mismatch");
        return REC_TORN;
    }
    ri->rec.len = len;
    ri->rec.type = p[4];
    ri->rec.lsn = buf_get_u64le(p + 8);
    ri->rec.time_ms = (int64_t)buf_get_u64le(p + 16);
    ri->rec.payload = p + REC_HDR;
    ri->batch_lsn = buf_get_u64le(p + 24);
    ri->size = total;
    if (ri->batch_lsn > ri->rec.lsn || ri->batch_lsn == 0) {
        snprintf(why, whylen,
                 "record's batch LSN %" PRIu64 " is not in 1..%" PRIu64,
                 ri->batch_lsn, ri->rec.lsn);
        return REC_BAD;
    }
    return REC_OK;
}

/* After a torn record at `from - 1` whose LSN should have been
 * `expected`, look at every byte offset up to `limit` for a valid record
 * that is not part of the same unfinished batch.  Returns 1 (found, with
 * its offset and LSN), 0 (none: a torn tail) or -1 (read error). */
static int scan_for_valid(struct win *wn, uint64_t from, uint64_t limit,
                          uint64_t salt, uint64_t expected,
                          uint64_t *found_off, uint64_t *found_lsn)
{
    struct rec_info ri;
    char why[128];
    uint64_t y = from;

    while (y < limit && limit - y >= REC_OVERHEAD) {
        int rc = rec_check(wn, y, limit, salt, &ri, why, sizeof why);
        if (rc == REC_EIO)
            return -1;
        if (rc == REC_OK) {
            if (ri.batch_lsn <= expected && ri.rec.lsn > expected) {
                y += ri.size; /* same torn batch: harmless, skip it */
                continue;
            }
            *found_off = y;
            *found_lsn = ri.rec.lsn;
            return 1;
        }
        y++;
    }
    return 0;
}

/* ==== Directory listing ==== */

/* Parse a segment file name; 1 and `*first` if it is one. */
static int parse_seg_name(const char *name, uint64_t *first)
{
    uint64_t v = 0;
    int i;

    if (strlen(name) != SEG_NAME_LEN || strcmp(name + 20, ".wal") != 0)
        return 0;
    for (i = 0; i < 20; i++) {
        unsigned d = (unsigned)(name[i] - '0');
        if (d > 9 || v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    if (v == 0)
        return 0;
    *first = v;
    return 1;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The first LSNs of the segments in `dir`, ascending, in a malloc'd array
 * that the caller frees (NULL when there are none). */
static int list_segments(const char *dir, uint64_t **out, size_t *n,
                         struct tm_error *err)
{
    DIR *d;
    struct dirent *de;
    uint64_t *v = NULL, first;
    size_t cnt = 0, cap = 0;

    *out = NULL;
    *n = 0;
    d = opendir(dir);
    if (d == NULL)
        return tm_error_set(err, TM_EIO, "change log: cannot open %s: %s",
                            dir, strerror(errno));
    for (;;) {
        errno = 0;
        de = readdir(d);
        if (de == NULL)
            break;
        if (!parse_seg_name(de->d_name, &first))
            continue;
        if (cnt == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            uint64_t *nv = realloc(v, ncap * sizeof *nv);
            if (nv == NULL) {
                free(v);
                closedir(d);
                return tm_error_set(err, TM_ENOMEM,
                                    "change log: out of memory listing %s",
                                    dir);
            }
            v = nv;
            cap = ncap;
        }
        v[cnt++] = first;
    }
    if (errno != 0) {
        int e = errno;
        free(v);
        closedir(d);
        return tm_error_set(err, TM_EIO, "change log: cannot list %s: %s",
                            dir, strerror(e));
    }
    closedir(d);
    if (cnt > 1)
        qsort(v, cnt, sizeof *v, cmp_u64);
    *out = v;
    *n = cnt;
    return 0;
}

int wal_segments(const char *dir, uint64_t **firsts, size_t *n,
                 struct tm_error *err)
{
    return list_segments(dir, firsts, n, err);
}

/* ==== The writer ==== */

/* A segment that starts inside the unsynced tail. */
struct split {
    size_t off;         /* where its header starts in w->pend */
    uint64_t first_lsn;
    uint64_t salt;
};

struct wal {
    char *dir;
    int dirfd;            /* for fsync after creating/removing segments;
                             holds the flock */
    size_t segment_bytes;
    int sync;
    int broken;           /* a failed wal_sync is not undone yet: the files
                             may hold bytes past the synced state */
    int rb_segs;          /* segments after the current one may exist (or
                             their removal is not synced yet) */

    /* The current segment as far as synced (invariant 2). */
    int fd;
    uint64_t seg_first;
    uint64_t seg_salt;
    uint64_t seg_off;     /* durable end of the file */
    uint64_t seg_nrec;

    /* The logical current segment, counting the unsynced tail: where the
     * next record goes.  Equal to the above right after wal_sync. */
    uint64_t tail_size;
    uint64_t tail_nrec;
    uint64_t tail_salt;

    uint64_t last_lsn;
    _Atomic uint64_t synced_lsn;
    _Atomic uint64_t cur_first; /* seg_first, for wal_remove_before */

    /* (seg_first, seg_off) for wal_synced_point, published together under
     * a sequence count (odd while the writer changes them). */
    _Atomic uint64_t pt_seq, pt_first, pt_off;

    struct buf pend;      /* invariant 5 */
    struct split *splits;
    size_t nsplits;
    size_t splits_cap;
};

uint64_t wal_last_lsn(const struct wal *w) { return w->last_lsn; }

uint64_t wal_synced_lsn(const struct wal *w)
{
    return atomic_load_explicit(&w->synced_lsn, memory_order_acquire);
}

/* The writer publishes the durable end (a seqlock: the sequence is odd
 * while the pair changes; the atomics are sequentially consistent). */
static void publish_point(struct wal *w)
{
    atomic_fetch_add(&w->pt_seq, 1);
    atomic_store(&w->pt_first, w->seg_first);
    atomic_store(&w->pt_off, w->seg_off);
    atomic_fetch_add(&w->pt_seq, 1);
}

void wal_synced_point(const struct wal *w, uint64_t *seg_first,
                      uint64_t *seg_off)
{
    struct wal *m = (struct wal *)w; /* the atomics are only read here */
    uint64_t s1, s2;

    do {
        s1 = atomic_load(&m->pt_seq);
        *seg_first = atomic_load(&m->pt_first);
        *seg_off = atomic_load(&m->pt_off);
        s2 = atomic_load(&m->pt_seq);
    } while ((s1 & 1) != 0 || s1 != s2);
}

/* Create a segment holding only its header (the first segment of an empty
 * log), synced.  Returns the descriptor in `*fd`. */
static int create_empty_segment(struct wal *w, uint64_t first, int *fd,
                                uint64_t *salt, struct tm_error *err)
{
    char path[PATH_MAX];
    uint8_t hdr[SEG_HDR];
    int e;

    *salt = hash_new_salt();
    put_seg_hdr(hdr, first, *salt);
    seg_path(path, w->dir, first);
    *fd = fsio_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (*fd < 0)
        return io_error(err, "creating", w->dir, first, errno);
    if (fsio_pwrite_full(*fd, hdr, SEG_HDR, 0) != 0 ||
        (w->sync &&
         (fsio_fdatasync(*fd) != 0 || fsio_fsync(w->dirfd) != 0))) {
        e = errno;
        fsio_close(*fd);
        *fd = -1;
        fsio_unlink(path);
        return io_error(err, "writing", w->dir, first, e);
    }
    return 0;
}

/* What wal_open found in the last segment and must repair. */
enum { REPAIR_NONE, REPAIR_TRUNCATE, REPAIR_HEADER };

struct seg_scan {
    uint64_t size;       /* file size */
    uint64_t salt;
    uint64_t end;        /* offset after the last valid record */
    uint64_t next_lsn;   /* LSN after the last valid record */
    uint64_t nrec;
    int repair;
    char why[256];       /* what the repair is for */
};

/* Validate the segment `first` open at `fd` whose first record must carry
 * `first` (the gap check between segments is the caller's).  In the last
 * segment a torn tail is reported through sc->repair; anything else wrong
 * is TM_ECORRUPT.  Reads only. */
static int scan_segment(const char *dir, uint64_t first, int fd, int last,
                        struct seg_scan *sc, struct tm_error *err)
{
    struct win wn;
    struct stat st;
    struct rec_info ri;
    const uint8_t *p;
    size_t got;
    uint64_t off, next = first, foff = 0, flsn = 0;
    char why[200];
    int rc = 0, r;

    memset(sc, 0, sizeof *sc);
    if (fstat(fd, &st) != 0)
        return io_error(err, "reading", dir, first, errno);
    sc->size = (uint64_t)st.st_size;
    win_init(&wn, fd, 1);
    if (win_get(&wn, 0, SEG_HDR, &p, &got) != 0) {
        rc = io_error(err, "reading", dir, first, errno);
        goto out;
    }
    r = seg_hdr_check(p, got, first, &sc->salt, why, sizeof why);
    if (r == REC_TORN && last) {
        sc->repair = REPAIR_HEADER;
        sc->next_lsn = first;
        snprintf(sc->why, sizeof sc->why, "%s", why);
        goto out;
    }
    if (r != REC_OK) {
        rc = corrupt(err, dir, first, 0, "%s", why);
        goto out;
    }
    off = SEG_HDR;
    for (;;) {
        r = rec_check(&wn, off, sc->size, sc->salt, &ri, why, sizeof why);
        if (r == REC_END)
            break;
        if (r == REC_EIO) {
            rc = io_error(err, "reading", dir, first, errno);
            goto out;
        }
        if (r == REC_OK && ri.rec.lsn != next) {
            rc = corrupt(err, dir, first, off,
                         "LSN out of sequence: expected record %" PRIu64
                         ", found %" PRIu64,
                         next, ri.rec.lsn);
            goto out;
        }
        if (r == REC_OK) {
            off += ri.size;
            next++;
            sc->nrec++;
            continue;
        }
        if (r == REC_BAD || !last) {
            rc = corrupt(err, dir, first, off, "%s in record %" PRIu64, why,
                         next);
            goto out;
        }
        /* Torn, in the last segment: a tail only if nothing valid of a
         * later batch follows. */
        r = scan_for_valid(&wn, off + 1, sc->size, sc->salt, next, &foff,
                           &flsn);
        if (r < 0) {
            rc = io_error(err, "reading", dir, first, errno);
            goto out;
        }
        if (r > 0) {
            rc = corrupt(err, dir, first, off,
                         "%s in record %" PRIu64
                         ", and a valid record (LSN %" PRIu64
                         ") follows at offset %" PRIu64,
                         why, next, flsn, foff);
            goto out;
        }
        sc->repair = REPAIR_TRUNCATE;
        snprintf(sc->why, sizeof sc->why, "%s in record %" PRIu64, why, next);
        break;
    }
    sc->end = off;
    sc->next_lsn = next;
out:
    win_free(&wn);
    return rc;
}

/* Repair the last segment as scan_segment asked (invariant 6). */
static int repair_last(struct wal *w, uint64_t first, int fd,
                       struct seg_scan *sc, struct tm_error *err)
{
    uint8_t hdr[SEG_HDR];

    if (sc->repair == REPAIR_TRUNCATE) {
        if (fsio_ftruncate(fd, (off_t)sc->end) != 0 ||
            (w->sync && fsio_fdatasync(fd) != 0))
            return io_error(err, "truncating", w->dir, first, errno);
        tm_warn("change log: %s/%020" PRIu64 ".wal: dropped a torn tail of "
                "%" PRIu64 " bytes at offset %" PRIu64
                " (%s); it was never acknowledged",
                w->dir, first, sc->size - sc->end, sc->end, sc->why);
        return 0;
    }
    sc->salt = hash_new_salt();
    put_seg_hdr(hdr, first, sc->salt);
    if (fsio_ftruncate(fd, 0) != 0 ||
        fsio_pwrite_full(fd, hdr, SEG_HDR, 0) != 0 ||
        (w->sync && fsio_fdatasync(fd) != 0))
        return io_error(err, "rewriting", w->dir, first, errno);
    sc->end = SEG_HDR;
    tm_warn("change log: %s/%020" PRIu64 ".wal: rewrote a torn segment "
            "header (%s), dropping %" PRIu64
            " bytes; they were never acknowledged",
            w->dir, first, sc->why, sc->size);
    return 0;
}

/* Validate every segment oldest first, then repair the last one.  Fills
 * the writer's segment fields. */
static int open_segments(struct wal *w, struct tm_error *err)
{
    uint64_t *segs = NULL, expected = 0;
    size_t n, i;
    struct seg_scan sc;
    int rc, fd = -1;

    memset(&sc, 0, sizeof sc);
    rc = list_segments(w->dir, &segs, &n, err);
    if (rc)
        return rc;
    if (n == 0) {
        rc = create_empty_segment(w, 1, &w->fd, &w->seg_salt, err);
        w->seg_first = 1;
        w->seg_off = SEG_HDR;
        w->last_lsn = 0;
        goto out;
    }
    for (i = 0; i < n; i++) {
        char path[PATH_MAX];
        int last = i == n - 1;

        if (i > 0 && segs[i] != expected) {
            rc = corrupt(err, w->dir, segs[i], 0,
                         "LSN gap: the previous segment ends at LSN %" PRIu64
                         " but this one starts at LSN %" PRIu64,
                         expected - 1, segs[i]);
            goto out;
        }
        seg_path(path, w->dir, segs[i]);
        fd = fsio_open(path, (last ? O_RDWR : O_RDONLY) | O_CLOEXEC, 0);
        if (fd < 0) {
            rc = io_error(err, "opening", w->dir, segs[i], errno);
            goto out;
        }
        rc = scan_segment(w->dir, segs[i], fd, last, &sc, err);
        if (rc)
            goto out;
        if (!last) {
            fsio_close(fd);
            fd = -1;
            if (sc.nrec == 0) {
                rc = corrupt(err, w->dir, segs[i], SEG_HDR,
                             "segment holds no records but is not the "
                             "last one");
                goto out;
            }
        }
        expected = sc.next_lsn;
    }
    /* Every segment checked out: only now change anything. */
    if (sc.repair != REPAIR_NONE) {
        rc = repair_last(w, segs[n - 1], fd, &sc, err);
        if (rc)
            goto out;
    }
    w->fd = fd;
    fd = -1;
    w->seg_first = segs[n - 1];
    w->seg_salt = sc.salt;
    w->seg_off = sc.end;
    w->seg_nrec = sc.nrec;
    w->last_lsn = sc.next_lsn - 1;
out:
    if (fd >= 0)
        fsio_close(fd);
    free(segs);
    return rc;
}

int wal_open(const struct wal_options *o, struct wal **out,
             struct tm_error *err)
{
    struct wal *w;
    size_t dlen;
    int rc, made;

    *out = NULL;
    if (o == NULL || o->dir == NULL || o->dir[0] == '\0')
        return tm_error_set(err, TM_EINTERNAL, "change log: no directory");
    dlen = strlen(o->dir);
    if (dlen > PATH_MAX - PATH_ROOM)
        return tm_error_set(err, TM_EIO, "change log: path too long: %s",
                            o->dir);
    w = calloc(1, sizeof *w);
    if (w == NULL)
        return tm_error_set(err, TM_ENOMEM, "change log: out of memory");
    w->fd = -1;
    w->dirfd = -1;
    w->sync = o->sync;
    w->segment_bytes =
        o->segment_bytes ? o->segment_bytes : WAL_SEGMENT_BYTES_DEFAULT;
    buf_init(&w->pend, SIZE_MAX);
    /* Keep the name as given, minus trailing slashes (for messages). */
    while (dlen > 1 && o->dir[dlen - 1] == '/')
        dlen--;
    w->dir = strndup(o->dir, dlen);
    if (w->dir == NULL) {
        free(w);
        return tm_error_set(err, TM_ENOMEM, "change log: out of memory");
    }
    made = fsio_mkdir_p(w->dir, 0755); /* durable in its parent */
    if (made < 0) {
        rc = tm_error_set(err, TM_EIO, "change log: cannot create %s: %s",
                          w->dir, strerror(errno));
        goto fail;
    }
    w->dirfd = fsio_open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (w->dirfd < 0) {
        rc = tm_error_set(err, TM_EIO, "change log: cannot open %s: %s",
                          w->dir, strerror(errno));
        goto fail;
    }
    if (flock(w->dirfd, LOCK_EX | LOCK_NB) != 0) {
        rc = tm_error_set(err, TM_EIO,
                          "change log: %s is in use by another process (%s)",
                          w->dir, strerror(errno));
        goto fail;
    }
    rc = open_segments(w, err);
    if (rc)
        goto fail;
    w->tail_size = w->seg_off;
    w->tail_nrec = w->seg_nrec;
    w->tail_salt = w->seg_salt;
    atomic_store_explicit(&w->synced_lsn, w->last_lsn, memory_order_release);
    atomic_store_explicit(&w->cur_first, w->seg_first, memory_order_release);
    publish_point(w);
    *out = w;
    return 0;
fail:
    if (w->dirfd >= 0)
        fsio_close(w->dirfd);
    free(w->dir);
    free(w);
    return rc;
}

int wal_append(struct wal *w, uint8_t type, int64_t time_ms,
               const void *payload, size_t len, uint64_t *lsn)
{
    uint64_t my_lsn = w->last_lsn + 1;
    uint64_t batch_lsn =
        atomic_load_explicit(&w->synced_lsn, memory_order_relaxed) + 1;
    size_t rsize, need;
    uint8_t *p;
    int roll;

    if (len > WAL_RECORD_MAX_PAYLOAD)
        return TM_EVALIDATION;
    rsize = REC_OVERHEAD + len;
    /* Roll when this record would take a non-empty segment past the
     * limit; a record larger than the limit gets a segment of its own. */
    roll = w->tail_nrec > 0 && w->tail_size + rsize > w->segment_bytes;
    need = rsize + (roll ? SEG_HDR : 0);
    p = buf_reserve(&w->pend, need);
    if (p == NULL)
        return TM_ENOMEM;
    if (roll) {
        struct split *s;
        if (w->nsplits == w->splits_cap) {
            size_t ncap = w->splits_cap ? w->splits_cap * 2 : 4;
            s = realloc(w->splits, ncap * sizeof *s);
            if (s == NULL)
                return TM_ENOMEM;
            w->splits = s;
            w->splits_cap = ncap;
        }
        s = &w->splits[w->nsplits++];
        s->off = w->pend.len;
        s->first_lsn = my_lsn;
        s->salt = hash_new_salt();
        put_seg_hdr(p, my_lsn, s->salt);
        p += SEG_HDR;
        w->tail_size = SEG_HDR;
        w->tail_nrec = 0;
        w->tail_salt = s->salt;
    }
    put_record(p, type, my_lsn, time_ms, batch_lsn, payload, (uint32_t)len,
               w->tail_salt);
    w->pend.len += need;
    w->tail_size += rsize;
    w->tail_nrec++;
    w->last_lsn = my_lsn;
    if (lsn != NULL)
        *lsn = my_lsn;
    return 0;
}

/* Forget the unsynced tail (after success, or to drop it on failure). */
static void drop_tail(struct wal *w)
{
    buf_reset(&w->pend);
    w->nsplits = 0;
    w->last_lsn = atomic_load_explicit(&w->synced_lsn, memory_order_relaxed);
    w->tail_size = w->seg_off;
    w->tail_nrec = w->seg_nrec;
    w->tail_salt = w->seg_salt;
}

void wal_discard(struct wal *w)
{
    if (w != NULL)
        drop_tail(w);
}

/* Put the files back into the synced state (invariant 2) after a failed
 * wal_sync, in an order that leaves a valid log at every step (see
 * "FAILED WRITES AND SYNCS" above): remove the segments after the current
 * one, newest first (the `ncreated` that this batch created are named in
 * w->splits; a retry lists the directory instead), sync the directory,
 * then cut the current segment back to seg_off and fdatasync it.  Stops
 * at the first failure.  Returns 0 (w->broken cleared) or -1 with errno
 * (w->broken set: the next wal_sync tries again). */
static int roll_back(struct wal *w, size_t ncreated)
{
    char path[PATH_MAX];
    uint64_t *segs;
    size_t n, i;
    int rc, e;

    w->broken = 1;
    if (ncreated > 0)
        w->rb_segs = 1;
    for (i = ncreated; i-- > 0;) {
        seg_path(path, w->dir, w->splits[i].first_lsn);
        if (fsio_unlink(path) != 0 && errno != ENOENT)
            return -1;
    }
    if (ncreated == 0 && w->rb_segs) {
        rc = list_segments(w->dir, &segs, &n, NULL);
        if (rc) {
            errno = rc == TM_ENOMEM ? ENOMEM : EIO;
            return -1;
        }
        for (i = n; i-- > 0 && segs[i] > w->seg_first;) {
            seg_path(path, w->dir, segs[i]);
            if (fsio_unlink(path) != 0 && errno != ENOENT) {
                e = errno;
                free(segs);
                errno = e;
                return -1;
            }
        }
        free(segs);
    }
    if (w->rb_segs && w->sync && fsio_fsync(w->dirfd) != 0)
        return -1;
    w->rb_segs = 0;
    if (fsio_ftruncate(w->fd, (off_t)w->seg_off) != 0 ||
        (w->sync && fsio_fdatasync(w->fd) != 0))
        return -1;
    w->broken = 0;
    return 0;
}

int wal_sync(struct wal *w, struct tm_error *err)
{
    int fd = w->fd, orig_fd = w->fd, nfd, e, e2 = 0, rolled_back;
    uint64_t off = w->seg_off, first = w->seg_first;
    uint64_t synced =
        atomic_load_explicit(&w->synced_lsn, memory_order_relaxed);
    size_t pos = 0, k, ncreated = 0;
    int wrote = 0;
    const char *what = NULL;
    char path[PATH_MAX];

    /* An earlier batch could not be undone: finish that first. */
    if (w->broken && roll_back(w, 0) != 0) {
        e = errno;
        drop_tail(w);
        return tm_error_set(err, TM_EIO,
                            "change log: %s/%020" PRIu64 ".wal: undoing an "
                            "earlier failed write failed again: %s; the log "
                            "accepts no write until that succeeds (every "
                            "write retries it); free space or repair the "
                            "disk, or restart the server",
                            w->dir, w->seg_first, strerror(e));
    }
    if (w->pend.len == 0)
        return 0;
    for (k = 0; k <= w->nsplits; k++) {
        size_t end = k < w->nsplits ? w->splits[k].off : w->pend.len;
        if (end > pos) {
            if (fsio_pwrite_full(fd, w->pend.data + pos, end - pos,
                                 (off_t)off) != 0) {
                what = "writing";
                goto fail;
            }
            off += end - pos;
            wrote = 1;
        }
        pos = end;
        if (k == w->nsplits)
            break;
        /* Invariant 3: this segment is complete and durable before its
         * successor exists. */
        if (wrote && w->sync && fsio_fdatasync(fd) != 0) {
            what = "syncing";
            goto fail;
        }
        first = w->splits[k].first_lsn;
        seg_path(path, w->dir, first);
        nfd = fsio_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
        if (nfd < 0) {
            what = "creating";
            goto fail;
        }
        ncreated++;
        if (fd != orig_fd)
            fsio_close(fd);
        fd = nfd;
        off = 0;
        wrote = 0;
    }
    if (w->sync && fsio_fdatasync(fd) != 0) {
        what = "syncing";
        goto fail;
    }
    if (ncreated > 0 && w->sync && fsio_fsync(w->dirfd) != 0) {
        what = "syncing the directory of";
        goto fail;
    }
    if (fd != orig_fd)
        fsio_close(orig_fd);
    w->fd = fd;
    w->seg_first = first;
    w->seg_off = off;
    w->seg_salt = w->tail_salt;
    w->seg_nrec = w->tail_nrec;
    atomic_store_explicit(&w->cur_first, first, memory_order_release);
    atomic_store_explicit(&w->synced_lsn, w->last_lsn, memory_order_release);
    publish_point(w);
    drop_tail(w);
    return 0;

fail:
    /* Undo the batch: the file must not keep records the caller will be
     * told were never written, or a later batch would leave a hole.  The
     * failed sync is never retried for these bytes (fsyncgate: a second
     * fdatasync may succeed without them reaching the disk); they are cut
     * away instead. */
    e = errno;
    if (fd != orig_fd)
        fsio_close(fd);
    rolled_back = roll_back(w, ncreated) == 0;
    if (!rolled_back)
        e2 = errno;
    tm_error_set(err, TM_EIO,
                 "change log: %s %s/%020" PRIu64 ".wal failed: %s; records "
                 "%" PRIu64 "..%" PRIu64 " were not written%s%s%s",
                 what, w->dir, first, strerror(e), synced + 1, w->last_lsn,
                 rolled_back ? "" : ", and undoing the write failed too (",
                 rolled_back ? "" : strerror(e2),
                 rolled_back ? ""
                             : "): the log accepts no write until that "
                               "succeeds (every write retries it); free "
                               "space or repair the disk, or restart the "
                               "server");
    drop_tail(w);
    return TM_EIO;
}

/* May run on another thread than the writer (a checkpointer): it reads
 * only immutable fields and the atomic cur_first, and touches only
 * segments older than the current one, which the writer never touches
 * again.  Segments that a running wal_sync is creating start above
 * cur_first, so they are never candidates. */
int wal_remove_before(struct wal *w, uint64_t lsn, struct tm_error *err)
{
    uint64_t *segs;
    uint64_t cur = atomic_load_explicit(&w->cur_first, memory_order_acquire);
    size_t n, i, removed = 0;
    char path[PATH_MAX];
    int rc;

    rc = list_segments(w->dir, &segs, &n, err);
    if (rc)
        return rc;
    /* Segment i holds LSNs segs[i] .. segs[i+1]-1: all below `lsn` when
     * segs[i+1] <= lsn.  Oldest first, so the log stays contiguous. */
    for (i = 0; i + 1 < n; i++) {
        if (segs[i + 1] > lsn || segs[i] >= cur)
            break;
        seg_path(path, w->dir, segs[i]);
        if (fsio_unlink(path) != 0 && errno != ENOENT) {
            rc = io_error(err, "removing", w->dir, segs[i], errno);
            break;
        }
        removed++;
    }
    if (removed > 0 && w->sync && fsio_fsync(w->dirfd) != 0 && rc == 0)
        rc = tm_error_set(err, TM_EIO, "change log: cannot sync %s: %s",
                          w->dir, strerror(errno));
    free(segs);
    return rc;
}

void wal_close(struct wal *w)
{
    struct tm_error e;

    if (w == NULL)
        return;
    /* Sync what is left, and finish undoing a failed batch, so that a
     * restart does not find its records. */
    if ((w->pend.len > 0 || w->broken) && wal_sync(w, &e) != 0)
        tm_warn("%s", e.msg);
    if (w->fd >= 0)
        fsio_close(w->fd);
    if (w->dirfd >= 0)
        fsio_close(w->dirfd); /* releases the flock */
    buf_free(&w->pend);
    free(w->splits);
    free(w->dir);
    free(w);
}

/* ==== Readers ==== */

struct wal_reader {
    char *dir;
    const struct wal *w;  /* live writer or NULL */
    uint64_t from;        /* records below are read, checked, skipped */
    int fd;               /* current segment or -1 (not positioned yet) */
    uint64_t first;       /* its first LSN */
    uint64_t salt;
    uint64_t off;         /* next record's offset */
    uint64_t next;        /* next record's LSN */
    struct win wn;
};

/* How far a live reader may read ahead in its segment. */
static void reader_limit(struct wal_reader *r)
{
    uint64_t sf, so;

    if (r->w == NULL)
        return;
    wal_synced_point(r->w, &sf, &so);
    /* older segments are whole; in a segment newer than the synced one
     * nothing is known to be complete yet: no read-ahead there */
    r->wn.lim = r->first < sf ? UINT64_MAX : r->first == sf ? so : 0;
}

/* Open segment `first` and check its header; positions at its first
 * record.  Returns 0, or an error. */
static int reader_enter(struct wal_reader *r, uint64_t first,
                        struct tm_error *err)
{
    char path[PATH_MAX], why[200];
    const uint8_t *p;
    size_t got;
    int fd, rc;

    seg_path(path, r->dir, first);
    fd = fsio_open(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return io_error(err, "opening", r->dir, first, errno);
    if (r->fd >= 0)
        fsio_close(r->fd);
    r->fd = fd;
    r->first = first;
    win_free(&r->wn);
    /* a live reader reads ahead too, but only over synced bytes (the
     * current segment's up to the synced point; older segments are whole) */
    win_init(&r->wn, fd, 1);
    reader_limit(r);
    if (win_get(&r->wn, 0, SEG_HDR, &p, &got) != 0)
        return io_error(err, "reading", r->dir, first, errno);
    rc = seg_hdr_check(p, got, first, &r->salt, why, sizeof why);
    if (rc != REC_OK)
        return corrupt(err, r->dir, first, 0, "%s", why);
    r->off = SEG_HDR;
    r->next = first;
    return 0;
}

/* Position on the segment holding LSN `want`.  1: positioned; 0: the log
 * has no segment yet; negative: error. */
static int reader_position(struct wal_reader *r, uint64_t want,
                           struct tm_error *err)
{
    uint64_t *segs;
    size_t n, i;
    int rc;

    rc = list_segments(r->dir, &segs, &n, err);
    if (rc)
        return rc;
    if (n == 0) {
        free(segs);
        return 0;
    }
    if (want < segs[0] && r->from != 0) {
        rc = tm_error_set(err, TM_ENOTFOUND,
                          "change log %s no longer holds LSN %" PRIu64
                          ": its oldest segment starts at LSN %" PRIu64,
                          r->dir, want, segs[0]);
        free(segs);
        return rc;
    }
    for (i = n - 1; i > 0 && segs[i] > want; i--)
        ;
    rc = reader_enter(r, segs[i], err);
    free(segs);
    return rc ? rc : 1;
}

/* At the end of the current segment: move to the one starting at
 * r->next.  1: moved; 0: it does not exist (yet); negative: error (a
 * later segment exists, so the log has a gap). */
static int reader_advance(struct wal_reader *r, struct tm_error *err)
{
    char path[PATH_MAX];
    uint64_t *segs;
    size_t n, i;
    int rc;

    seg_path(path, r->dir, r->next);
    if (access(path, F_OK) == 0) {
        rc = reader_enter(r, r->next, err);
        return rc ? rc : 1;
    }
    rc = list_segments(r->dir, &segs, &n, err);
    if (rc)
        return rc;
    for (i = 0; i < n && segs[i] <= r->next; i++)
        ;
    if (i < n)
        rc = corrupt(err, r->dir, segs[i], 0,
                     "LSN gap: the previous segment ends at LSN %" PRIu64
                     " but this one starts at LSN %" PRIu64,
                     r->next - 1, segs[i]);
    free(segs);
    return rc;
}

int wal_reader_open(const char *dir, const struct wal *w, uint64_t from_lsn,
                    struct wal_reader **out, struct tm_error *err)
{
    struct wal_reader *r;
    size_t dlen;
    int rc;

    *out = NULL;
    if (dir == NULL || dir[0] == '\0')
        return tm_error_set(err, TM_EINTERNAL, "change log: no directory");
    dlen = strlen(dir);
    if (dlen > PATH_MAX - PATH_ROOM)
        return tm_error_set(err, TM_EIO, "change log: path too long: %s",
                            dir);
    while (dlen > 1 && dir[dlen - 1] == '/')
        dlen--;
    r = calloc(1, sizeof *r);
    if (r == NULL || (r->dir = strndup(dir, dlen)) == NULL) {
        free(r);
        return tm_error_set(err, TM_ENOMEM, "change log: out of memory");
    }
    r->w = w;
    r->from = from_lsn;
    r->fd = -1;
    win_init(&r->wn, -1, w == NULL);
    /* Position now, so that a missing LSN is reported at once; with a live
     * writer only over synced records (a segment past them may be half
     * written), else wal_reader_next positions later. */
    rc = 0;
    if (w == NULL || (from_lsn ? from_lsn : 1) <= wal_synced_lsn(w))
        rc = reader_position(r, from_lsn ? from_lsn : 1, err);
    if (rc < 0) {
        wal_reader_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

int wal_reader_next(struct wal_reader *r, struct wal_record *rec,
                    struct tm_error *err)
{
    struct rec_info ri;
    char why[200];
    int rc;

    for (;;) {
        uint64_t want = r->fd >= 0 ? r->next : (r->from ? r->from : 1);

        /* Invariant 7: never touch bytes the writer may still be
         * writing. */
        if (r->w != NULL && want > wal_synced_lsn(r->w))
            return 0;
        if (r->fd < 0) {
            rc = reader_position(r, want, err);
            if (rc <= 0)
                return rc;
        }
        reader_limit(r);
        rc = rec_check(&r->wn, r->off, UINT64_MAX, r->salt, &ri, why,
                       sizeof why);
        if (rc == REC_EIO)
            return io_error(err, "reading", r->dir, r->first, errno);
        if (rc == REC_END) {
            rc = reader_advance(r, err);
            if (rc < 0)
                return rc;
            if (rc == 0 && r->w != NULL && r->next <= wal_synced_lsn(r->w))
                return corrupt(err, r->dir, r->first, r->off,
                               "record %" PRIu64 " is synced but neither "
                               "here nor in a segment of its own",
                               r->next);
            if (rc == 0)
                return 0;
            continue;
        }
        if (rc != REC_OK)
            return corrupt(err, r->dir, r->first, r->off,
                           "%s in record %" PRIu64, why, r->next);
        if (ri.rec.lsn != r->next)
            return corrupt(err, r->dir, r->first, r->off,
                           "LSN out of sequence: expected record %" PRIu64
                           ", found %" PRIu64,
                           r->next, ri.rec.lsn);
        r->off += ri.size;
        r->next++;
        if (ri.rec.lsn < r->from)
            continue;
        *rec = ri.rec;
        return 1;
    }
}

void wal_reader_close(struct wal_reader *r)
{
    if (r == NULL)
        return;
    if (r->fd >= 0)
        fsio_close(r->fd);
    win_free(&r->wn);
    free(r->dir);
    free(r);
}
