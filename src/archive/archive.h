/*
 * archive.h - the point-in-time recovery archive: the change log and the
 * PITR base snapshots, kept in the object store of
 * `--backup-store s3://bucket/prefix` under "<prefix>/archive/", so that
 * `tidemark restore --from s3://bucket/prefix` can rebuild a table on
 * another machine after this one is lost (src/cli/restore_cli.c).
 *
 * The uploader (archive_open, archive_start, archive_stop: archive.c) is a
 * thread of the server.  While any table has point-in-time recovery on,
 * it:
 *
 *   1. ships the log: every second, the bytes of the log segments up to
 *      the log's synced point (wal_synced_point) that are not in the
 *      store yet, as chunk objects archive/wal/<segment>/<offset>, oldest
 *      segment first; a closed segment goes whole, in one object, when
 *      none of it was shipped yet; small chunks of one segment are merged
 *      as they accumulate (archive_int.h, the merge rule);
 *   2. ships the base snapshots of the backup store (BACKUP_BASE, kept
 *      locally by the PITR keeper) as archive/bases/<id>.tmbak, read back
 *      after the upload, then <id>.json, their description;
 *   3. prunes the store past the window: a base the keeper deleted goes,
 *      and so do the segments wholly older than what the oldest remaining
 *      base needs (its LSN + 1);
 *   4. pins the local log from the first segment not in the store yet
 *      (engine_pin_archive), so a checkpoint never removes a segment
 *      before it is uploaded, however long the store is away;
 *   5. keeps its progress in <data>/archive.json (archive_int.h), replaced
 *      atomically after each upload, so that a crash or a kill -9 costs at
 *      most the upload of one chunk again.
 *
 * Guarantees:
 *   - With the store reachable, an acknowledged write is in the store
 *     within about a second (plus the upload time): if the machine is
 *     lost, `tidemark restore` loses at most that last second of writes.
 *   - Nothing acknowledged is ever missing from the archive's log between
 *     a base it holds and the archive's end: segments go up in order, each
 *     from offset 0 without a hole, and a local segment is removed only
 *     after it is in the store.
 *   - The store being away (down, unreachable, refusing) changes nothing
 *     for clients: writes, PITR and DescribeContinuousBackups work from
 *     local retention as before; uploads are retried with backoff (1 s
 *     doubling to ARCHIVE_BACKOFF_MAX_MS), the outage is logged once when
 *     it starts and once when it ends, and the local log grows until the
 *     store is back.
 *   - One archive, one data directory: archive/id names the data
 *     directory that writes it, and a server whose data directory is
 *     another refuses to start on it (its log restarts at record 1 and
 *     would overwrite the archive's segments).
 *
 * THREAD SAFETY: archive_open, _start and _stop are called by main.c's
 * thread; the uploader is one thread with its own S3 client.
 */
#ifndef TM_ARCHIVE_H
#define TM_ARCHIVE_H

#include <stdint.h>

#include "backup/backup.h"
#include "base/arena.h"
#include "base/err.h"
#include "engine/engine.h"

#define ARCHIVE_INTERVAL_MS 1000
#define ARCHIVE_BACKOFF_MAX_MS 8000

struct archive;

/* Prepare the archive of the data directory `data_dir` in the object store
 * of `bs`.  When `bs` keeps its backups in a directory there is no
 * archive: *out is NULL and 0 is returned.  Otherwise this reads (or
 * creates) <data_dir>/archive.json, checks that archive/ in the store is
 * this data directory's or empty (reading only: the uploader claims it
 * when it first has something to archive), and sets the log pin from the
 * progress file.  Returns 0, or TM_EINUSE (the archive belongs to
 * another data directory: the message says to use another prefix),
 * TM_ECORRUPT (a damaged progress file), TM_EUNAVAILABLE / TM_EIO (the
 * store could not be asked), TM_ENOMEM; *out is NULL on failure. */
int archive_open(struct engine *e, struct backup_store *bs,
                 const char *data_dir, struct archive **out,
                 struct tm_error *err);

/* Start the uploader thread (after the PITR keeper).  `interval_ms` 0:
 * ARCHIVE_INTERVAL_MS.  Returns 0 or TM_ENOMEM. */
int archive_start(struct archive *a, unsigned interval_ms);

/* Stop the uploader (before engine_close).  If the store was reachable at
 * its last try, a last round first ships what the log holds by now (a
 * clean stop leaves the archive complete).  Frees `a`.  NULL-safe. */
void archive_stop(struct archive *a);

/* ---- reading an archive (tidemark restore) ------------------------------ */

struct s3_client;
struct archive_obj;

/* One base snapshot in an archive. */
struct archive_base {
    struct backup_info *b;   /* its description; b->path is where
                                archive_fetch_base puts the file */
    uint64_t file_bytes;     /* size of its .tmbak object */
};

/* Every base snapshot in the archive of `c` (whose prefix is the store's),
 * ascending creation time, copied into `a`; each b->path points into
 * `dir`.  A description without its .tmbak (a base being uploaded) is
 * left out.  Returns 0 or TM_E* (the store) with the reason. */
int archive_list_bases(struct s3_client *c, const char *dir, struct arena *a,
                       struct archive_base **out, size_t *n,
                       struct tm_error *err);

/* Download base `b` to b->b->path. */
int archive_fetch_base(struct s3_client *c, const struct archive_base *b,
                       struct tm_error *err);

/* The archived log from LSN `from_lsn` on: which chunks to download. */
struct archive_log {
    struct archive_obj *objs;
    size_t n;
    uint64_t bytes;          /* what the chunks weigh (to download) */
    uint64_t seg_bytes;      /* what the segments weigh, reassembled */
    size_t nsegs;
};

/* List the archived log and plan its reassembly from `from_lsn` (see
 * archive_plan_log for the errors).  Free with archive_log_free. */
int archive_log_find(struct s3_client *c, uint64_t from_lsn,
                     struct archive_log *out, struct tm_error *err);
void archive_log_free(struct archive_log *l);

/* Download the planned chunks into segment files in `dir` (created),
 * each written at its offset.  `progress`, if not NULL, gets the bytes
 * downloaded so far after each chunk.  TM_ENOOBJECT when a chunk is gone
 * (a running server merged or pruned it meanwhile: find again and
 * retry), or another TM_E*. */
int archive_log_fetch(struct s3_client *c, const struct archive_log *l,
                      const char *dir,
                      void (*progress)(void *ctx, uint64_t bytes),
                      void *ctx, struct tm_error *err);

#endif
