/*
 * restore.h - loading a table from a backup into a table in CREATING.
 *
 * RestoreTableFromBackup creates the target table at once, with status
 * CREATING, `restoring` set and its RestoreSummary; restore_start then
 * loads it on a thread of its own:
 *
 *   1. open the backup file (its whole-file checksum is checked first);
 *   2. load its rows in writer ops of at most RESTORE_BATCH rows, each row
 *      through index_put_item, so the indexes the restore keeps are built
 *      as the rows arrive;
 *   3. a last op makes the table ACTIVE (RestoreInProgress false).
 *
 * Failure (a damaged file, I/O) removes the table in one op, so a failed
 * restore never leaves a half-filled ACTIVE table; the reason is in the
 * server's log.  A restore interrupted by a crash or stop starts over at
 * the next start (restore_resume_all): the table's rows are dropped and
 * loaded again.  Item writes to a table in CREATING are refused by the
 * API, so the load never races with users.
 */
#ifndef TM_RESTORE_H
#define TM_RESTORE_H

#include "backup/backup.h"
#include "engine/engine.h"

/* Start loading table `table` from the backup `backup_arn` (already
 * marked in use with backup_store_use(+1); the restore releases it).
 * Returns 0 or TM_ENOMEM. */
int restore_start(struct engine *e, struct backup_store *bs,
                  const char *table, const char *backup_arn);

/* The same for a point-in-time restore: the base snapshot `base_arn`,
 * then the log records of table number `source_no` after the base, up to
 * and including time `until_ms`. */
int restore_start_pitr(struct engine *e, struct backup_store *bs,
                       const char *table, const char *base_arn,
                       uint64_t source_no, int64_t until_ms);

/* A restore without a server around it (`tidemark restore`, from an
 * archive: src/cli/restore_cli.c): the rows of the backup file
 * `backup_path`, then, if `wal_dir` is set, the log records of table
 * number `source_no` found in that directory of closed segments (no
 * writer: wal_reader_open with a NULL log), from LSN `from_lsn` up to and
 * including time `until_ms`. */
struct restore_file {
    const char *table;        /* the target, already created (CREATING,
                                 `restoring` set: restore_target_init) */
    const char *backup_path;  /* a backup file (checked when opened) */
    const char *wal_dir;      /* NULL: no replay */
    uint64_t source_no;
    uint64_t from_lsn;
    int64_t until_ms;         /* INT64_MAX: to the end of the log */
    int stamp_time;           /* 1: RestoreDateTime becomes the time of the
                                 last record read (restores to "latest") */
    /* called on the calling thread after each batch (may be NULL) */
    void (*progress)(void *ctx, uint64_t rows, uint64_t changes);
    void *progress_ctx;
};

struct restore_result {
    uint64_t rows;            /* loaded from the backup file */
    uint64_t changes;         /* the source table's changes replayed */
    int64_t last_time_ms;     /* the newest record read (0: none) */
    int log_ended;            /* the log ended at or before until_ms */
};

/* Run the restore described by `o` into engine `e` on the calling
 * thread, the same ops as restore_start_pitr: rows in batches (indexes
 * built as they arrive), then the replay, then the flip to ACTIVE.
 * Returns 0 (the table is ACTIVE) or TM_E* with the reason in `err`; on
 * failure the table is removed. */
int restore_run_file(struct engine *e, const struct restore_file *o,
                     struct restore_result *res, struct tm_error *err);

/* After start-up: start over every restore a stop interrupted. */
int restore_resume_all(struct engine *e, struct backup_store *bs);

/* Stop: wait for running restores to reach a batch boundary and stop
 * (they resume at the next start). */
void restore_join(void);

#endif
