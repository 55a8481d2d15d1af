/*
 * export.h - table exports (ExportTableToPointInTime) and imports
 * (ImportTable): the jobs, their records, and the questions the API asks
 * about them (Describe*, List*).
 *
 * An export writes table T as it was at ExportTime to a destination
 * (export_dest.h) in DynamoDB's export layout (export_file.h).  The table
 * at that moment is rebuilt the way a point-in-time restore rebuilds it
 * (src/restore): the newest PITR base snapshot at or before ExportTime,
 * then T's change-log records after the base up to ExportTime inclusive;
 * but nothing is written to any table:
 *
 *   1. one pass over those log records notes, per row key, the last
 *      change (its LSN, put or delete);
 *   2. the base's rows whose key no change touched are written as they
 *      are;
 *   3. a second pass writes, for every key whose last change is a put,
 *      that put's item.
 * Memory is one entry per key changed since the base (bases are at most a
 * day apart), not per item.
 *
 * An import creates the table (CREATING, from TableCreationParameters)
 * when it is asked for, then reads every data file under the source
 * prefix (or, when the prefix is an export's directory holding
 * manifest-summary.json, the files its manifest lists, checked against
 * their MD5 and item counts) and loads the items in batches through the
 * writer, indexes included; the table turns ACTIVE at the end.  A line
 * that is not a valid item is counted (ErrorCount) and skipped, and the
 * import ends FAILED with FailureCode ItemValidationError while the valid
 * items stay in the ACTIVE table (DynamoDB's observed behaviour); when the
 * source cannot be read at all the import fails and the table is removed.
 *
 * Jobs and restarts.  Every export and import has a record,
 * <data>/exports/<id>.json or <data>/imports/<id>.json, written (temporary
 * file, fsync, rename, fsync of the directory) when it starts, when it
 * ends, and for imports after each file.  Jobs run on a small pool of
 * threads (EXPORT_WORKERS) at the lowest CPU priority, first come first
 * served; a job waiting for a worker is IN_PROGRESS too.  A stop lets the
 * running jobs reach an item boundary and leaves their records
 * IN_PROGRESS; the next start runs them again from the beginning (an
 * export first removes what its interrupted attempt wrote; an import
 * drops the rows it loaded), so a restart finishes every job or fails it
 * with the reason, never leaves one hanging.
 *
 *   IN_PROGRESS --(written and manifests up)--> COMPLETED
 *        |  \--(source or destination error, ...)--> FAILED (FailureCode,
 *        |                                           FailureMessage)
 *        \--(stop / crash)--> IN_PROGRESS again at the next start
 *
 * ClientToken: a token seen in the last 8 hours with the same parameters
 * answers the earlier job; with other parameters, the caller gets
 * ExportConflictException / ImportConflictException.
 *
 * Thread-safety: every function may be called from any thread; records
 * are guarded by one mutex and copied into the caller's arena.
 */
#ifndef TM_EXPORT_H
#define TM_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "backup/backup.h"
#include "base/arena.h"
#include "base/err.h"
#include "catalog/catalog.h"
#include "engine/engine.h"

#define EXPORT_WORKERS 2
#define EXPORT_MAX_IN_PROGRESS 300   /* DynamoDB: 300 export tasks */
#define IMPORT_MAX_IN_PROGRESS 50    /* DynamoDB: 50 concurrent imports */
#define EXPORT_TOKEN_MS (8LL * 3600 * 1000) /* ClientToken lifetime */

enum export_status { EXPORT_IN_PROGRESS, EXPORT_COMPLETED, EXPORT_FAILED };

struct export_mgr;

struct export_config {
    const char *data_dir;        /* records under <data>/exports, imports */
    struct engine *engine;
    struct backup_store *backups;/* PITR bases */
    const char *region, *account;
    const char *s3_endpoint;     /* --s3-endpoint, or NULL (AWS S3) */
    int test_slow_ms;            /* tests: each job sleeps this long per
                                    100 items (0: no delay) */
};

/* Load every record and queue the jobs left IN_PROGRESS, then start the
 * workers.  0, or TM_EIO / TM_ENOMEM with `err` (a damaged record is
 * logged and skipped, not fatal). */
int export_mgr_open(const struct export_config *c, struct export_mgr **out,
                    struct tm_error *err);

/* Stop the workers (running jobs stop at an item boundary and stay
 * IN_PROGRESS) and free everything.  Before engine_close.  NULL-safe. */
void export_mgr_close(struct export_mgr *m);

/* ---- exports ------------------------------------------------------------- */

struct export_info {
    char *arn;               /* .../table/<name>/export/<id> */
    char *id;                /* "01764085000123-a1b2c3d4" */
    char *table_name, *table_arn, *table_id;
    uint64_t table_no;
    int64_t export_time_ms, start_ms, end_ms;   /* end 0 while running */
    enum export_status status;
    char *bucket, *bucket_owner, *prefix;       /* owner, prefix may be
                                                   NULL */
    char *sse_algorithm, *sse_kms_key_id;       /* kms may be NULL */
    char *format;            /* "DYNAMODB_JSON" */
    char *client_token;      /* NULL when none was given */
    uint64_t fingerprint;    /* of the request's parameters */
    char *failure_code, *failure_message;       /* FAILED only */
    uint64_t item_count, billed_bytes;          /* COMPLETED */
    char *manifest;          /* ExportManifest (the summary's key) */
};

/* What ExportTableToPointInTime checked and asks for. */
struct export_request {
    const struct table *table;   /* the source, as of the request */
    const char *table_arn;
    int64_t export_time_ms;
    const char *bucket, *bucket_owner, *prefix;
    const char *sse_algorithm, *sse_kms_key_id;
    const char *client_token;    /* NULL: none */
    uint64_t fingerprint;
};

/* Start an export.  On success *out (in `a`) describes it and *existing
 * says whether it is an earlier export answered for the same ClientToken.
 * TM_EEXPORTCONFLICT (same token, other parameters), TM_ELIMIT (too many
 * in progress), TM_EIO (the record could not be written: nothing was
 * started), TM_ENOMEM; `err` has DynamoDB's message. */
int export_begin(struct export_mgr *m, const struct export_request *q,
                 struct arena *a, struct export_info **out, int *existing,
                 struct tm_error *err);

/* A copy of export `arn` in `a`: 0 or TM_EEXPORTNOTFOUND. */
int export_get(struct export_mgr *m, const char *arn, struct arena *a,
               struct export_info **out);

/* Exports in ascending start time, of table `table_arn` (NULL: all),
 * after the one named `after` (NULL: from the first; an ARN no longer
 * known: after where it would be), at most `limit`; *more tells whether
 * more follow. */
int export_list(struct export_mgr *m, const char *table_arn,
                const char *after, size_t limit, struct arena *a,
                struct export_info ***out, size_t *n, int *more);

/* ---- imports ------------------------------------------------------------- */

struct import_info {
    char *arn;               /* .../table/<name>/import/<id> */
    char *id;
    char *table_name, *table_arn, *table_id;
    char *client_token;      /* NULL when none was given */
    uint64_t fingerprint;
    char *bucket, *bucket_owner, *key_prefix;   /* owner, prefix may be
                                                   NULL */
    char *input_format;      /* "DYNAMODB_JSON" */
    char *compression;       /* "GZIP", "ZSTD", "NONE" */
    char *format_options;    /* InputFormatOptions as JSON text, or NULL */
    char *creation_json;     /* TableCreationParameters as JSON text */
    int64_t start_ms, end_ms;
    enum export_status status;
    uint64_t processed_items, imported_items, errors, processed_bytes;
    char *failure_code, *failure_message;
};

struct import_request {
    const struct table *table;   /* the new table (its name and TableId) */
    const char *table_arn;
    const char *bucket, *bucket_owner, *key_prefix;
    const char *input_format, *compression;
    const char *format_options;  /* JSON text or NULL */
    const char *creation_json;   /* JSON text */
    const char *client_token;
    uint64_t fingerprint;
};

/* Record a new import IN_PROGRESS, before its table is created.  As
 * export_begin; TM_EIMPORTCONFLICT for a token reused with other
 * parameters.  When *existing is 0 the caller creates the table and then
 * calls import_launch (or import_abandon if it could not). */
int import_begin(struct export_mgr *m, const struct import_request *q,
                 struct arena *a, struct import_info **out, int *existing,
                 struct tm_error *err);
void import_launch(struct export_mgr *m, const char *arn);

/* The import ClientToken `token` started in the last 8 hours: 1 and *out
 * (in `a`) when its parameters' fingerprint is `fp`, TM_EIMPORTCONFLICT
 * (with DynamoDB's message) when it is not, 0 when there is none. */
int import_by_token(struct export_mgr *m, const char *token, uint64_t fp,
                    struct arena *a, struct import_info **out,
                    struct tm_error *err);
void import_abandon(struct export_mgr *m, const char *arn);

/* 0 or TM_EIMPORTNOTFOUND. */
int import_get(struct export_mgr *m, const char *arn, struct arena *a,
               struct import_info **out);

/* As export_list, for imports. */
int import_list(struct export_mgr *m, const char *table_arn,
                const char *after, size_t limit, struct arena *a,
                struct import_info ***out, size_t *n, int *more);

const char *export_status_name(enum export_status s);

#endif
