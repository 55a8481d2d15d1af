/*
 * api_history.c - Tidemark_20261125.DescribeWriteHistory, a Tidemark
 * extension (tidemark_ops.def, not a DynamoDB operation): how many writes
 * a table had per interval of a time range, read from the retained change
 * log, with the table's backups in that range.  The web console draws its
 * point-in-time timeline from it (web/console/backups.js); it is the
 * server-side twin of the offline `tidemark history` (src/cli/history_cli.c).
 *
 *   request   {"TableName": "notes",            name or table ARN
 *              "StartTime": 1764085200.5,       epoch seconds, fraction ok
 *              "EndTime":   1764088800,         > StartTime
 *              "Buckets":   60}                 1..500
 *   response  {"Buckets": [{"Start": s, "End": s, "Writes": n}, ...],
 *              "Backups": [{"BackupArn", "BackupName", "BackupType",
 *                           "Time"}, ...],
 *              "RetainedSince": s}              the oldest record still in
 *                                               the log (absent: empty log)
 *
 * What is counted: every PUT and DELETE record of the table's current
 * incarnation (its row-key number; index rows and other tables are not
 * counted, a table deleted and created again starts from zero) whose
 * commit time falls in [StartTime, EndTime]: puts, updates, deletes,
 * batch and transaction members, time-to-live deletes.  Bucket i covers
 * [Start, End) (the last one includes EndTime), the range cut into
 * Buckets equal parts to the millisecond.  The log holds a table's
 * changes for its point-in-time recovery period while PITR is on (and 24
 * hours for a table with a stream); otherwise only what has not yet been
 * checkpointed (usually the last few minutes) is still there, and earlier
 * intervals read 0.  RetainedSince tells how far back the log reaches.
 * Backups: the listed backups (USER, SYSTEM; not PITR base snapshots) of
 * the table's current incarnation (its TableId, as for the writes; an
 * earlier table of the same name is not this one) created in the range.
 *
 * Reading the log can take a while (a 35-day window is every write of 35
 * days), so the work runs on a job thread (r->job), like CreateBackup,
 * never on an HTTP thread.  Read-only: nothing is written or locked; the
 * reader runs beside the writer (wal.h, Thread-safety).
 *
 * Order of checks, as api.c describes for DynamoDB's own operations: field
 * kinds (SerializationException), shape constraints together
 * (ValidationException "N validation errors detected: ..."), the range
 * (ValidationException), then the table (ResourceNotFoundException with
 * DescribeTable's message).  It goes through the same authentication as
 * every request (http.c) since it is dispatched by api_handle.
 */
#include "api/api_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/backup.h"
#include "base/jsonw.h"
#include "base/log.h"
#include "wal/wal.h"

#define HISTORY_BUCKETS_MAX 500

struct history_state {
    const char *table;      /* name (an ARN's name part) */
    int64_t start_ms, end_ms;
    int nbuckets;
    uint64_t *writes;       /* [nbuckets], in the arena */
    int64_t retained_ms;    /* time of the oldest record read; -1: none */
    struct backup_info **backups; /* in range, of this table */
    size_t nbackups;
};

/* A time member: absent (NULL in *present = 0), a number of epoch
 * seconds, or a SerializationException as DynamoDB answers a string where
 * a Timestamp is wanted. */
static int time_arg(struct api_req *r, const char *field, double *out,
                    int *present)
{
    json_t *j = json_object_get(r->body, field);

    *present = 0;
    if (j == NULL || json_is_null(j))
        return 0;
    if (json_is_object(j) || json_is_array(j))
        return tm_error_set(&r->err, TM_ESERIALIZATION,
                            "%s found where not expected",
                            json_is_object(j) ? "Start of structure or map"
                                              : "Start of list");
    if (!json_is_number(j))
        return tm_error_set(&r->err, TM_ESERIALIZATION,
                            "%s cannot be converted to Timestamp",
                            json_is_string(j) ? "STRING_VALUE"
                                              : "BOOLEAN_VALUE");
    *out = json_number_value(j);
    *present = 1;
    return 0;
}

/* The bucket of a commit time inside [start, end]. */
static int bucket_of(const struct history_state *s, int64_t t)
{
    int64_t span = s->end_ms - s->start_ms;
    int64_t i = (t - s->start_ms) * (int64_t)s->nbuckets / span;

    return i >= s->nbuckets ? s->nbuckets - 1 : (int)i;
}

/* The log, read once from its oldest record, on the job thread. */
static int history_job(struct api_req *r)
{
    struct history_state *s = r->state;
    struct engine *e = r->ctx->engine;
    struct wal_reader *rd = NULL;
    struct wal_record rec;
    struct table *t;
    struct backup_info **all;
    size_t n;
    int rc, got, tries = 0;

    rc = catalog_get(engine_catalog(e), s->table, r->arena, &t);
    if (rc == TM_ENOTFOUND)
        return tm_error_set(&r->err, TM_ENOTFOUND,
                            "Requested resource not found: Table: %s not "
                            "found",
                            s->table);
    if (rc)
        return tm_error_set(&r->err, rc, "out of memory");
    /* a checkpoint may remove the oldest segment between listing and
     * opening it: then open again from what is left */
    do {
        rc = wal_reader_open(engine_wal_dir(e), engine_wal(e), 0, &rd,
                             &r->err);
    } while (rc == TM_ENOTFOUND && ++tries < 3);
    if (rc)
        return rc;
    s->retained_ms = -1;
    while ((got = wal_reader_next(rd, &rec, &r->err)) == 1) {
        struct engine_change ch;

        if (s->retained_ms < 0)
            s->retained_ms = rec.time_ms;
        if (rec.time_ms < s->start_ms || rec.time_ms > s->end_ms)
            continue;
        if (engine_change_parse(&rec, &ch) != 1 || ch.table_no != t->no)
            continue;
        s->writes[bucket_of(s, rec.time_ms)]++;
    }
    wal_reader_close(rd);
    if (got < 0) {
        tm_warn("DescribeWriteHistory %s: reading the change log: %s",
                 s->table, r->err.msg);
        return got;
    }
    rc = backup_store_list(r->ctx->backups, r->arena, &all, &n);
    if (rc)
        return tm_error_set(&r->err, rc, "listing the backups failed");
    s->backups = all;
    s->nbackups = 0;
    for (size_t i = 0; i < n; i++) {
        if (all[i]->type == BACKUP_BASE ||
            strcmp(all[i]->table_id, t->id) != 0 ||
            all[i]->created_ms < s->start_ms ||
            all[i]->created_ms > s->end_ms)
            continue;
        s->backups[s->nbackups++] = all[i];
    }
    return 0;
}

static int history_finish(struct api_req *r)
{
    static const char *const types[] = {"USER", "SYSTEM", "AWS_BACKUP",
                                        "BASE"};
    struct history_state *s = r->state;
    struct buf *o = &r->out;
    int64_t span;
    int rc;

    if (r->op.rc < 0)
        return r->op.rc;
    span = s->end_ms - s->start_ms;
    rc = json_put_raw(o, "{\"Buckets\":[");
    for (int i = 0; i < s->nbuckets; i++) {
        int64_t b0 = s->start_ms + span * i / s->nbuckets;
        int64_t b1 = s->start_ms + span * (i + 1) / s->nbuckets;
        rc |= json_put_raw(o, i ? ",{\"Start\":" : "{\"Start\":");
        rc |= json_put_time_ms(o, b0);
        rc |= json_put_raw(o, ",\"End\":");
        rc |= json_put_time_ms(o, b1);
        rc |= json_put_raw(o, ",\"Writes\":");
        rc |= json_put_i64(o, (int64_t)s->writes[i]);
        rc |= buf_putc(o, '}');
    }
    rc |= json_put_raw(o, "],\"Backups\":[");
    for (size_t i = 0; i < s->nbackups; i++) {
        const struct backup_info *b = s->backups[i];
        rc |= json_put_raw(o, i ? ",{\"BackupArn\":" : "{\"BackupArn\":");
        rc |= json_put_cstr(o, b->arn);
        rc |= json_put_raw(o, ",\"BackupName\":");
        rc |= json_put_cstr(o, b->name);
        rc |= json_put_raw(o, ",\"BackupType\":");
        rc |= json_put_cstr(o, types[b->type]);
        rc |= json_put_raw(o, ",\"Time\":");
        rc |= json_put_time_ms(o, b->created_ms);
        rc |= buf_putc(o, '}');
    }
    rc |= buf_putc(o, ']');
    if (s->retained_ms >= 0) {
        rc |= json_put_raw(o, ",\"RetainedSince\":");
        rc |= json_put_time_ms(o, s->retained_ms);
    }
    rc |= buf_putc(o, '}');
    return rc ? tm_error_set(&r->err, TM_ENOMEM, "out of memory") : 0;
}

/* "'<v>'" of a number as a validation message shows it. */
static const char *shown_num(struct api_req *r, double v)
{
    const char *q = arena_printf(r->arena, "'%.17g'", v);
    return q ? q : "''";
}

int api_describe_write_history(struct api_req *r)
{
    struct verrs v;
    struct history_state *s;
    const char *name;
    double start = 0, end = 0;
    int64_t nb = 0;
    int has_start, has_end, has_nb, rc;

    verrs_init(&v);
    if ((rc = req_string(r, r->body, "TableName", &name, NULL)) ||
        (rc = time_arg(r, "StartTime", &start, &has_start)) ||
        (rc = time_arg(r, "EndTime", &end, &has_end)) ||
        (rc = req_int(r, r->body, "Buckets", &nb, &has_nb))) {
        buf_free(&v.msg);
        return rc;
    }
    if (name == NULL || strncmp(name, "arn:", 4) != 0)
        check_table_name(&v, name, "tableName");
    if (!has_start)
        verrs_add(&v, "null", "startTime", "Member must not be null");
    else if (!isfinite(start) || start < 0 || start > 1e11)
        verrs_add(&v, shown_num(r, start), "startTime",
                  "Member must be epoch seconds between 0 and 1e11");
    if (!has_end)
        verrs_add(&v, "null", "endTime", "Member must not be null");
    else if (!isfinite(end) || end < 0 || end > 1e11)
        verrs_add(&v, shown_num(r, end), "endTime",
                  "Member must be epoch seconds between 0 and 1e11");
    if (!has_nb) {
        verrs_add(&v, "null", "buckets", "Member must not be null");
    } else if (nb < 1 || nb > HISTORY_BUCKETS_MAX) {
        char *shown = arena_printf(r->arena, "'%lld'", (long long)nb);
        verrs_add(&v, shown ? shown : "''", "buckets",
                  nb < 1 ? "Member must have value greater than or equal "
                           "to 1"
                         : "Member must have value less than or equal to "
                           "500");
    }
    if ((rc = verrs_finish(&v, r)))
        return rc;
    s = arena_calloc(r->arena, 1, sizeof *s);
    if (s == NULL)
        return tm_error_set(&r->err, TM_ENOMEM, "out of memory");
    s->start_ms = llround(start * 1000.0);
    s->end_ms = llround(end * 1000.0);
    if (s->end_ms <= s->start_ms)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "Invalid Request: EndTime (%.3f) must be later "
                            "than StartTime (%.3f)",
                            end, start);
    s->nbuckets = (int)nb;
    s->writes = arena_calloc(r->arena, (size_t)nb, sizeof *s->writes);
    if (s->writes == NULL)
        return tm_error_set(&r->err, TM_ENOMEM, "out of memory");
    s->table = api_table_name_of(name);
    r->state = s;
    r->job = history_job;
    r->finish = history_finish;
    return API_PENDING;
}
