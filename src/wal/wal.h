/*
 * wal.h - the change log: an append-only sequence of checksummed records in
 * fixed-size segment files, the single source of truth for durability
 * (and later for point-in-time recovery, streams and archiving).
 *
 * Records carry an LSN (log sequence number, 1, 2, 3, ... with no gaps), a
 * commit time in milliseconds, a one-byte type and an opaque payload that
 * the engine defines.  The byte format of segments and records, the rules
 * for torn tails and corrupt records, and the group-commit recipe are in
 * wal.c's header comment and src/wal/README.md.
 *
 * Guarantees:
 *   1. After wal_sync returns 0 (with sync on), every record appended
 *      before it is on stable storage (fdatasync of the segment, and of the
 *      directory when a segment was created).
 *   2. wal_open recovers the longest valid prefix: a torn tail (an
 *      incomplete or checksum-failing record after which nothing valid
 *      follows in the last segment) is truncated away and reported in the
 *      log; a bad record followed by valid data, or in any segment but the
 *      last, is corruption: wal_open fails with TM_ECORRUPT and a message
 *      naming the segment file and byte offset, and changes nothing.
 *   3. LSNs are strictly consecutive across segments; a gap is corruption.
 *   4. Damage confined to the last, unfinished wal_sync batch (records of
 *      that batch valid after a damaged one) is still a torn tail: a
 *      crash during fdatasync may persist the batch's pages in any order,
 *      and none of the batch was acknowledged.  A valid record of a later
 *      batch after the damage is corruption.
 *   5. A failed wal_sync (write, fdatasync, segment creation: EIO, ENOSPC)
 *      acknowledges nothing and is undone in the files; the log recovers
 *      by itself when the fault clears (see wal_sync).  The unit tests
 *      inject such faults at random points (src/base/fsio.h).
 *
 * Thread-safety: one writer thread calls wal_append/wal_sync/wal_discard/
 * wal_last_lsn/wal_close; one other thread (a checkpointer) may call
 * wal_remove_before concurrently with the writer (but not with
 * wal_close); wal_synced_lsn and wal_synced_point are safe from any
 * thread; readers (struct
 * wal_reader) may run concurrently with the writer over records whose
 * LSN <= wal_synced_lsn().
 */
#ifndef TM_WAL_H
#define TM_WAL_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define WAL_SEGMENT_BYTES_DEFAULT (64u * 1024 * 1024)
#define WAL_RECORD_MAX_PAYLOAD (64u * 1024 * 1024)

struct wal;
struct wal_reader;

struct wal_options {
    const char *dir;       /* directory of segment files (created if absent) */
    size_t segment_bytes;  /* roll to a new segment past this size
                              (0: WAL_SEGMENT_BYTES_DEFAULT) */
    int sync;              /* 1: wal_sync fdatasyncs; 0: it only write()s */
};

/* A record as read back.  `payload` is borrowed: valid until the next
 * wal_reader_next or wal_reader_close. */
struct wal_record {
    uint64_t lsn;
    int64_t time_ms;
    uint8_t type;
    const uint8_t *payload;
    uint32_t len;
};

/* Open (or create) the log in o->dir, validating every segment and
 * repairing a torn tail as described above (the repair is logged as a
 * warning naming the file, offset and bytes dropped).  On success `*out`
 * is the log, positioned to append after the last valid record, and the
 * directory is locked (flock) against other processes.  On failure
 * `*out` is NULL and nothing on disk was changed; returns TM_ECORRUPT
 * (message: "change log corrupt: <file> at offset <n>: <what>; ..."),
 * TM_EIO (including: the log is in use by another process) or TM_ENOMEM,
 * with the reason in `err`. */
int wal_open(const struct wal_options *o, struct wal **out,
             struct tm_error *err);

/* Close the log, first syncing anything appended since the last wal_sync
 * and finishing the rollback of a failed one (a failure there is logged,
 * not returned).  NULL-safe.  Readers tied to `w` must be closed first. */
void wal_close(struct wal *w);

/* Last LSN appended (0 for an empty log). */
uint64_t wal_last_lsn(const struct wal *w);

/* Last LSN known durable (== written and fdatasynced, or written when sync
 * is off).  Safe to call from any thread. */
uint64_t wal_synced_lsn(const struct wal *w);

/* Where the durable log ends, in bytes: `*seg_first` is the current
 * segment's first LSN (its file is <seg_first as 20 digits>.wal) and
 * `*seg_off` the offset up to which that file holds only bytes written
 * (and, with sync on, fdatasynced) by a wal_sync that returned 0, ending
 * on a record boundary.  Every older segment is complete (invariant 3 of
 * wal.c), and those bytes never change again: a failed wal_sync cuts the
 * file back to `*seg_off` at most, and a torn tail found by wal_open lies
 * beyond it.  The archive (src/archive) ships the log up to this point.
 * Safe to call from any thread; the pair is consistent (one wal_sync's). */
void wal_synced_point(const struct wal *w, uint64_t *seg_first,
                      uint64_t *seg_off);

/* The segments in `dir`, as their first LSNs in ascending order (a
 * segment's file is "<first as 20 digits>.wal"; other names are
 * ignored): `*firsts` is malloc'd (NULL when there is none), the caller
 * frees it.  Returns 0, TM_EIO (the directory cannot be read) or
 * TM_ENOMEM. */
int wal_segments(const char *dir, uint64_t **firsts, size_t *n,
                 struct tm_error *err);

/* Append one record to the in-memory tail; assigns and returns through
 * `*lsn` (may be NULL) the next LSN.  `payload` is copied; it may be NULL
 * when `len` is 0.  Nothing reaches the file until wal_sync, and no I/O
 * is done (also not after a failed wal_sync: see there).  Returns 0,
 * TM_EVALIDATION (len > WAL_RECORD_MAX_PAYLOAD) or TM_ENOMEM.  On failure
 * nothing was appended. */
int wal_append(struct wal *w, uint8_t type, int64_t time_ms,
               const void *payload, size_t len, uint64_t *lsn);

/* Write every appended record (one write per segment touched) and, with
 * sync on, fdatasync.  A record that would take the current segment past
 * segment_bytes starts a new one (the finished segment is fdatasynced
 * before its successor is created, and the directory after).  Returns 0
 * at once when nothing was appended.  On failure the appended-but-unsynced
 * records are dropped from memory, the file is truncated back to the last
 * synced record (segments this call created are removed), and TM_EIO is
 * returned with the reason (file, strerror) in `err`: the caller must
 * treat those records as never written, and the next append reuses their
 * LSNs.  The failed bytes are never synced again (fsyncgate: see wal.c,
 * "FAILED WRITES AND SYNCS").  If even that rollback fails, the log stays
 * usable but every wal_sync first retries the rollback and, while it
 * fails, returns TM_EIO and drops its batch; once it works (the fault
 * cleared) writes succeed again, without a restart.  A restart while the
 * rollback is pending may replay the failed batch (answered with an
 * error, so its outcome was unknown to the client anyway). */
int wal_sync(struct wal *w, struct tm_error *err);

/* Forget every record appended since the last wal_sync, without writing
 * it: for a batch abandoned before its wal_sync (an append or the state
 * update failed).  wal_last_lsn() goes back to wal_synced_lsn() and the
 * next append reuses those LSNs.  NULL-safe. */
void wal_discard(struct wal *w);

/* Delete whole segments all of whose records have LSN < `lsn`, oldest
 * first (never the segment being appended to), then sync the directory.
 * The caller vouches that nothing needs those records any more (state
 * checkpointed, PITR retention, archive upload).  May run on one thread
 * other than the writer's.  Returns 0 or TM_EIO. */
int wal_remove_before(struct wal *w, uint64_t lsn, struct tm_error *err);

/* Read records with LSN >= from_lsn, in order, from the segments in `dir`
 * (from_lsn 0: from the oldest record still in the log).  A reader opened
 * while a writer runs sees records up to the synced LSN at the time of
 * each wal_reader_next call (pass the live log as `w`, and close the
 * reader before it; or NULL when no writer is running, in which case the
 * log must be whole: a torn tail not yet repaired by wal_open reads as
 * corruption).  Every record read is verified as wal_open does.  Returns
 * 0, TM_ENOTFOUND (from_lsn is older than the oldest segment: removed),
 * TM_ECORRUPT, TM_EIO or TM_ENOMEM. */
int wal_reader_open(const char *dir, const struct wal *w, uint64_t from_lsn,
                    struct wal_reader **out, struct tm_error *err);

/* 1: `*rec` holds the next record (its payload borrowed, see struct
 * wal_record); 0: no more records for now (a live reader may get more
 * after the next wal_sync); negative: TM_E* with the reason (naming file
 * and offset) in `err`. */
int wal_reader_next(struct wal_reader *r, struct wal_record *rec,
                    struct tm_error *err);

/* NULL-safe. */
void wal_reader_close(struct wal_reader *r);

#endif
