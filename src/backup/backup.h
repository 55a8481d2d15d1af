/*
 * backup.h - the backup store: on-demand backups as files in a directory
 * of their own, independent of the tables they came from.
 *
 * Each backup is two files in the store directory (default
 * <data>/backups, or --backup-store DIR):
 *   <id>.tmbak   the rows, in the checked format of backup_format.h
 *   <id>.json    its description: ARN, name, type, times, sizes, the
 *                table's definition and statistics at backup time
 * The .json is written last (temporary file, fsync, rename, fsync of the
 * directory), so a backup exists exactly when its .json does, and a crash
 * while writing leaves only temporary files, removed at the next start.
 * Deleting a table never touches the store.
 *
 * Creating a backup reads LMDB snapshots, so it holds the table exactly
 * as of the request while writes go on, and never blocks the writer.  A
 * background backup (below) holds a snapshot only while it copies a chunk
 * of rows (256) out of it, then reads the next chunk from a new one, and
 * undoes from the log the changes made since the request (the table is
 * held: each carries its old item): while any snapshot is open LMDB
 * cannot reuse a page a write frees, and a snapshot held for seconds, or
 * even half a second at a time, made the state file grow by hundreds of
 * MB under heavy writes and the writes after it dearer (bench/RESULTS.md).
 * CreateBackup (backup_store_begin) answers as soon as the backup's
 * description is durable, with BackupStatus CREATING; a thread at the
 * lowest CPU priority (SCHED_IDLE) writes the rows, pausing while
 * requests flow (base/load.h: up to 10 ms per 256 rows, so it still
 * progresses under constant load), then the description says AVAILABLE.  Meanwhile the table is held (engine_hold_table): its
 * changes are logged with their old items, the log is kept from the
 * snapshot's LSN, and DeleteTable is refused.  If the server stops or
 * crashes first, backup_store_resume finishes it at the next start from a
 * new snapshot, with every change since the first snapshot undone from
 * the log, so the backup still holds the table exactly as of the request.
 * A backup whose writing fails (disk full, I/O error) disappears, logged;
 * the table and the other backups are untouched.  The other kinds
 * (SYSTEM at DeleteTable, scheduled, PITR bases) are written by the
 * calling thread (backup_store_create), also at SCHED_IDLE; scheduled
 * backups and PITR bases hold the table meanwhile and move on from
 * snapshot to snapshot in the same way (DeleteTable is refused while
 * one is being written, as for CreateBackup); a SYSTEM backup, part of
 * DeleteTable itself, reads one snapshot.
 *
 * Thread-safety: the registry is guarded by one mutex; lookups copy into
 * the caller's arena.
 */
#ifndef TM_BACKUP_H
#define TM_BACKUP_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "engine/engine.h"

/* BACKUP_BASE: a point-in-time recovery base snapshot, never listed. */
enum backup_type { BACKUP_USER, BACKUP_SYSTEM, BACKUP_AWS, BACKUP_BASE };

struct backup_info {
    char *arn;
    char *id;               /* "01764085000123-a1b2c3d4" */
    char *name;
    enum backup_type type;
    int64_t created_ms;
    int64_t expiry_ms;      /* SYSTEM backups; 0 otherwise */
    uint64_t size_bytes;    /* BackupSizeBytes: the table's size then */
    uint64_t items;         /* the table's item count then */
    uint64_t lsn;           /* change-log position it reflects */
    char *table_name, *table_id, *table_arn;
    char *table_json;       /* table_to_json of the table then */
    char *path;             /* the .tmbak file */
    int restores;           /* restores reading it right now */
    int creating;           /* BackupStatus CREATING: being written (or
                               uploaded) */
    int uploading;          /* creating, rows file complete, uploading */
    int deleting;           /* DeleteBackup is removing its objects from
                               the object store: no new restore takes it */
    int remote;             /* lives in the object store; `path` is where
                               backup_store_fetch puts a local copy */
    uint64_t table_no;      /* the table's row-key prefix number */
};

struct backup_store;

/* Open (creating) the store directory and load every backup in it;
 * leftover temporary files are removed.  With `readonly` (the offline
 * `tidemark backup` command) nothing is created or removed: a server may
 * be writing a backup into the same store at that moment. */
int backup_store_open(const char *dir, int readonly,
                      struct backup_store **out, struct tm_error *err);

/* Keep backups in an S3-compatible object store, `url` =
 * "s3://bucket/prefix" at `endpoint` (NULL: https://s3.REGION.amazonaws.com),
 * credentials the AWS way (s3_config_credentials).  Each backup is two
 * objects, <id>.tmbak and <id>.json (its description, written last).
 * The directory given to backup_store_open keeps the descriptions, and a
 * rows file only while it is written and uploaded (or fetched for a
 * restore): a backup becomes AVAILABLE once both objects are uploaded and
 * the upload is read back (size and MD5).  Uploads that fail are retried
 * with backoff, the backup staying CREATING and its local file kept, also
 * across restarts.  Backups found in the object store and not in the
 * directory (made by another machine) are listed and restorable.  PITR
 * bases stay local (the archive, src/archive, puts copies of them under
 * archive/bases/).  Returns 0, or TM_EVALIDATION / TM_EUNAVAILABLE /
 * TM_EIO when the store cannot be used (the message says why). */
int backup_store_set_remote(struct backup_store *s, const char *url,
                            const char *endpoint, struct tm_error *err);

/* Where backups live: "s3://bucket/prefix" or the directory. */
const char *backup_store_where(const struct backup_store *s);

/* The object store's configuration (endpoint, bucket, prefix; the strings
 * are owned by the store and live until backup_store_close), or NULL when
 * backups are kept in a directory.  The archive (src/archive) keeps the
 * change log and the PITR bases there too, under "archive/". */
struct s3_config;
const struct s3_config *backup_store_s3_config(const struct backup_store *s);

/* A backup's description (the <id>.json of the store, as uploaded to an
 * object store: never CREATING) appended to `out` as JSON text.  Returns
 * 0 or TM_ENOMEM / TM_ETOOLARGE (the buffer's cap). */
int backup_info_to_json(const struct backup_info *b, struct buf *out);

/* Parse a description made by backup_info_to_json (e.g. downloaded from an
 * archive) into `*out`, copied into `a`; its `path` is "<dir>/<id>.tmbak".
 * Returns 0, TM_ECORRUPT (not a description: a warning naming `where` is
 * logged) or TM_ENOMEM; on failure *out is NULL. */
int backup_info_from_json(const char *text, size_t len, const char *dir,
                          const char *where, struct arena *a,
                          struct backup_info **out);

/* Make b->path readable: for a backup in the object store, download it
 * (checked on open by the reader's whole-file checksum).  The copy goes
 * when the last restore using it ends (backup_store_use -1), or at the
 * next start.  0 or TM_E* with the reason. */
int backup_store_fetch(struct backup_store *s, const struct backup_info *b,
                       struct tm_error *err);

/* The store's directory. */
const char *backup_store_dir(const struct backup_store *s);
void backup_store_close(struct backup_store *s);

/* Back up table `t` (a copy taken by the caller) from a snapshot now.
 * `type` USER for CreateBackup, SYSTEM for DeleteTable with PITR on.  On
 * success *out is a copy in `a`. */
int backup_store_create(struct backup_store *s, struct engine *e,
                        const char *table_name, const char *backup_name,
                        enum backup_type type, const char *region,
                        const char *account, struct arena *a,
                        struct backup_info **out, struct tm_error *err);

/* CreateBackup: start a USER backup of `table_name` from a snapshot now
 * and return at once; *out (in `a`) has creating = 1.  TM_ETABLENOTFOUND,
 * TM_ELIMIT (64 backups in progress), TM_EIO (the description could not
 * be written: nothing was started). */
int backup_store_begin(struct backup_store *s, struct engine *e,
                       const char *table_name, const char *backup_name,
                       const char *region, const char *account,
                       struct arena *a, struct backup_info **out,
                       struct tm_error *err);

/* At start, after engine_open and before any write is accepted: resume
 * every backup left CREATING by a stop or a crash.  Returns 0, or -1 when
 * one could not be resumed (it is removed, and the reason logged). */
int backup_store_resume(struct backup_store *s, struct engine *e);

/* Tests only (--unsafe-test-slow-backups): backups (all but SYSTEM ones)
 * sleep `us` microseconds per 256 rows, and wait after their first 256
 * rows while the file <store>/HOLD exists, so a test can act while one is
 * CREATING or while a scheduled backup or a PITR base is being written. */
void backup_store_set_test_delay(struct backup_store *s, int us);

/* --backup-zstd-level: the zstd level of the blocks of the backups (and
 * PITR bases) written from now on, BACKUP_ZSTD_MIN_LEVEL..
 * BACKUP_ZSTD_MAX_LEVEL for every block; 0, the default, adapts
 * (BACKUP_ZSTD_LEVEL in backup_format.h: level 1 where it halves the
 * items, a store-like fast level where it does not).  Readers take any
 * level.  Negative levels are zstd's fast modes (bench/RESULTS.md). */
#define BACKUP_ZSTD_MIN_LEVEL (-7)
#define BACKUP_ZSTD_MAX_LEVEL 19
void backup_store_set_level(struct backup_store *s, int level);

/* Stop the background backups (they resume at the next start) and wait
 * for their threads; before engine_close.  NULL-safe. */
void backup_store_stop(struct backup_store *s);

/* BackupStatus of `b`: "CREATING" or "AVAILABLE". */
static inline const char *backup_status(const struct backup_info *b)
{
    return b->creating ? "CREATING" : "AVAILABLE";
}

/* A copy of backup `arn` in `a`: 0, or TM_EBACKUPNOTFOUND. */
int backup_store_get(struct backup_store *s, const char *arn,
                     struct arena *a, struct backup_info **out);

/* Every backup, copied into `a`, in ascending creation time. */
int backup_store_list(struct backup_store *s, struct arena *a,
                      struct backup_info ***out, size_t *n);

/* Delete backup `arn`: TM_EBACKUPNOTFOUND, TM_EBACKUPINUSE while a restore
 * reads it or while it is being created, or 0 with *out the description before deletion.
 * TM_EIO (the reason logged too) when its description cannot be removed:
 * the backup is still listed and, unless remote (whose objects are already
 * deleted then), restorable; or when the directory cannot be synced after
 * the removal: the backup is no longer listed, but a crash may bring it
 * back, so its rows file is kept until the next start. */
int backup_store_delete(struct backup_store *s, const char *arn,
                        struct arena *a, struct backup_info **out,
                        struct tm_error *err);

/* Mark backup `arn` as read by one more (+1) or one fewer (-1) restore.
 * +1 fails with TM_EBACKUPINUSE when a restore already reads it (one
 * restore per backup at a time, as on DynamoDB) or while it is being
 * created, and with TM_EBACKUPNOTFOUND when it is gone or being deleted
 * (a remote backup's objects are going). */
int backup_store_use(struct backup_store *s, const char *arn, int delta);

/* Remove SYSTEM backups past their expiry.  Returns how many. */
int backup_store_expire(struct backup_store *s, int64_t now_ms);

#endif
