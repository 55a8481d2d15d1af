/*
 * api_pitr.c - point-in-time recovery: UpdateContinuousBackups,
 * DescribeContinuousBackups, RestoreTableToPointInTime (reference sections
 * 3 and 4).
 *
 * History: enabling PITR sets the table's flag (from then on the engine
 * keeps the table's log records for the recovery period: engine.c's
 * retention) and takes a base snapshot (a hidden BACKUP_BASE in the backup
 * store).  A restore to time T loads the newest base taken at or before T
 * and replays the source table's log records after the base, up to T
 * inclusive (src/restore), so any millisecond from the base to the last
 * acknowledged write is restorable.  Disabling PITR deletes the bases;
 * enabling it again starts the window anew.
 *
 * EarliestRestorableDateTime = max(the oldest base, now - the period);
 * LatestRestorableDateTime = now (every acknowledged write is in the log).
 *
 * Bases are taken when PITR is enabled; a later base, which would bound the
 * log a restore replays, is future work (the log of the period is kept
 * either way).
 */
#include "api/api_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "backup/backup.h"
#include "base/clock.h"
#include "base/jsonw.h"
#include "base/log.h"
#include "restore/restore.h"

/* The newest base of table id `id` created at or before `at` (INT64_MAX:
 * the newest), and the oldest, in *newest / *oldest (NULL: none). */
static int find_bases(struct api_req *r, const char *id, int64_t at,
                      struct backup_info **newest, struct backup_info **oldest)
{
    struct backup_info **v;
    size_t n;
    int rc = backup_store_list(r->ctx->backups, r->arena, &v, &n);

    *newest = *oldest = NULL;
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (v[i]->type != BACKUP_BASE || strcmp(v[i]->table_id, id) != 0)
            continue;
        if (*oldest == NULL)
            *oldest = v[i];
        if (v[i]->created_ms <= at)
            *newest = v[i];
    }
    return 0;
}

void api_pitr_window(struct api_req *r, const struct table *t, int64_t *lo,
                     int64_t *hi)
{
    struct backup_info *nb, *ob;
    int64_t now = clock_now_ms(), floor = now - (int64_t)t->pitr_days *
                                                    86400000LL;

    find_bases(r, t->id, INT64_MAX, &nb, &ob);
    *lo = ob ? ob->created_ms : now;
    if (*lo < floor)
        *lo = floor;
    *hi = now;
}

static int write_description(struct api_req *r, const struct table *t)
{
    struct buf *o = &r->out;
    int rc = json_put_raw(o, "{\"ContinuousBackupsDescription\":{"
                             "\"ContinuousBackupsStatus\":\"ENABLED\","
                             "\"PointInTimeRecoveryDescription\":{"
                             "\"PointInTimeRecoveryStatus\":");
    rc |= json_put_raw(o, t->pitr ? "\"ENABLED\"" : "\"DISABLED\"");
    if (t->pitr) {
        int64_t lo, hi;
        api_pitr_window(r, t, &lo, &hi);
        rc |= json_put_raw(o, ",\"RecoveryPeriodInDays\":");
        rc |= json_put_i64(o, t->pitr_days);
        rc |= json_put_raw(o, ",\"EarliestRestorableDateTime\":");
        rc |= json_put_time_ms(o, lo);
        rc |= json_put_raw(o, ",\"LatestRestorableDateTime\":");
        rc |= json_put_time_ms(o, hi);
    }
    rc |= json_put_raw(o, "}}}");
    return rc ? tm_error_set(&r->err, TM_ENOMEM, "out of memory") : 0;
}

static int pitr_table(struct api_req *r, const char *name, struct table **t)
{
    int rc = catalog_get(engine_catalog(r->ctx->engine), name, r->arena, t);

    if (rc == TM_ENOTFOUND || (rc == 0 && (*t)->status == TABLE_CREATING))
        return tm_error_set(&r->err, TM_ETABLENOTFOUND,
                            "Table not found: %s", name);
    return rc ? tm_error_set(&r->err, rc, "out of memory") : 0;
}

/* ---- DescribeContinuousBackups ------------------------------------------ */

int api_describe_continuous_backups(struct api_req *r)
{
    struct verrs v;
    const char *name;
    struct table *t;
    int rc;

    verrs_init(&v);
    if ((rc = req_string(r, r->body, "TableName", &name, NULL))) {
        buf_free(&v.msg);
        return rc;
    }
    if (name == NULL || strncmp(name, "arn:", 4) != 0)
        check_table_name(&v, name, "tableName");
    if ((rc = verrs_finish(&v, r)))
        return rc;
    if ((rc = pitr_table(r, api_table_name_of(name), &t)))
        return rc;
    return write_description(r, t);
}

/* ---- UpdateContinuousBackups --------------------------------------------- */

struct update_state {
    const char *name;
    int enable;
    int days;
    int was_on;
    struct table *after;
};

static int flag_apply(struct engine_wtx *w, void *arg, struct tm_error *err)
{
    struct api_req *r = arg;
    struct update_state *s = r->state;
    struct table *cur = catalog_find(engine_catalog(r->ctx->engine), s->name);
    struct table *t;
    int rc;

    if (cur == NULL || cur->status == TABLE_CREATING)
        return tm_error_set(err, TM_ETABLENOTFOUND, "Table not found: %s",
                            s->name);
    s->was_on = cur->pitr;
    t = table_copy(cur, NULL);
    if (t == NULL)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    t->pitr = s->enable;
    t->pitr_days = s->enable ? s->days : 0;
    if (s->enable && !s->was_on)
        t->pitr_since_ms = engine_wtx_time(w);
    if (!s->enable)
        t->pitr_since_ms = 0;
    rc = engine_wtx_update_table(w, t);
    if (rc) {
        table_free(t);
        return tm_error_set(err, rc, "updating table %s failed", s->name);
    }
    s->after = table_copy(catalog_find(engine_catalog(r->ctx->engine),
                                       s->name),
                          r->arena);
    return s->after ? 0 : tm_error_set(err, TM_ENOMEM, "out of memory");
}

/* The job: the flag through the writer, then the base snapshot (enable)
 * or the removal of the bases (disable). */
static int update_job(struct api_req *r)
{
    struct update_state *s = r->state;
    struct engine_op op = {0};
    struct backup_info *b, *nb, *ob;
    int rc;

    op.apply = flag_apply;
    op.arg = r;
    if ((rc = engine_run(r->ctx->engine, &op)) != 0) {
        r->err = op.err;
        return rc;
    }
    if (s->enable && !s->was_on) {
        char name[300];
        snprintf(name, sizeof name, "%.200s$PointInTimeBase", s->name);
        rc = backup_store_create(r->ctx->backups, r->ctx->engine, s->name,
                                 name, BACKUP_BASE, r->ctx->region,
                                 r->ctx->account, r->arena, &b, &r->err);
        if (rc)
            return rc;
    } else if (!s->enable) {
        /* the window is gone: so are its bases */
        while (find_bases(r, s->after->id, INT64_MAX, &nb, &ob) == 0 && ob) {
            struct tm_error e;
            if (backup_store_delete(r->ctx->backups, ob->arn, r->arena, &b,
                                    &e) != 0)
                break;
        }
    }
    return 0;
}

static int update_finish(struct api_req *r)
{
    struct update_state *s = r->state;

    if (r->op.rc < 0)
        return r->op.rc;
    return write_description(r, s->after);
}

int api_update_continuous_backups(struct api_req *r)
{
    struct verrs v;
    const char *name;
    json_t *spec;
    struct update_state *s;
    int64_t days = 35;
    int enable = 0, has_enable, has_days, rc;

    verrs_init(&v);
    if ((rc = req_string(r, r->body, "TableName", &name, NULL)) ||
        (rc = req_object(r, r->body, "PointInTimeRecoverySpecification",
                         &spec))) {
        buf_free(&v.msg);
        return rc;
    }
    if (name == NULL || strncmp(name, "arn:", 4) != 0)
        check_table_name(&v, name, "tableName");
    if (spec == NULL) {
        verrs_add(&v, "null", "pointInTimeRecoverySpecification",
                  "Member must not be null");
    } else {
        if ((rc = req_bool(r, spec, "PointInTimeRecoveryEnabled", &enable,
                           &has_enable)) ||
            (rc = req_int(r, spec, "RecoveryPeriodInDays", &days,
                          &has_days))) {
            buf_free(&v.msg);
            return rc;
        }
        if (!has_enable)
            verrs_add(&v, "null",
                      "pointInTimeRecoverySpecification."
                      "pointInTimeRecoveryEnabled",
                      "Member must not be null");
        if (has_days && (days < 1 || days > 35)) {
            char *shown = arena_printf(r->arena, "'%lld'", (long long)days);
            verrs_add(&v, shown ? shown : "''",
                      "pointInTimeRecoverySpecification.recoveryPeriodInDays",
                      days < 1 ? "Member must have value greater than or "
                                 "equal to 1"
                               : "Member must have value less than or equal"
                                 " to 35");
        }
        if (has_enable && !enable && has_days && days >= 1 && days <= 35) {
            if ((rc = verrs_finish(&v, r)))
                return rc;
            return tm_error_set(&r->err, TM_EVALIDATION,
                                "Invalid Request: Cannot specify "
                                "RecoveryPeriodInDays when disabling "
                                "point-in-time recovery.");
        }
    }
    if ((rc = verrs_finish(&v, r)))
        return rc;
    s = arena_calloc(r->arena, 1, sizeof *s);
    if (s == NULL)
        return tm_error_set(&r->err, TM_ENOMEM, "out of memory");
    s->name = api_table_name_of(name);
    s->enable = enable;
    s->days = (int)days;
    r->state = s;
    r->job = update_job;
    r->finish = update_finish;
    return API_PENDING;
}

/* ---- RestoreTableToPointInTime ------------------------------------------- */

struct restore_state {
    struct table *t;      /* heap: the target until the engine has it */
    struct table *desc;
    const char *base;
    uint64_t source_no;
    int64_t until;
};

static int restore_apply(struct engine_wtx *w, void *arg,
                         struct tm_error *err)
{
    struct api_req *r = arg;
    struct restore_state *s = r->state;

    return restore_target_create(w, &s->t, r->arena, &s->desc, err);
}

static int restore_finish(struct api_req *r)
{
    struct restore_state *s = r->state;
    int rc;

    table_free(s->t);
    s->t = NULL;
    if (r->op.rc < 0) {
        backup_store_use(r->ctx->backups, s->base, -1);
        return r->op.rc;
    }
    if (restore_start_pitr(r->ctx->engine, r->ctx->backups, s->desc->name,
                           s->base, s->source_no, s->until) != 0) {
        tm_errorf("could not start the restore of %s", s->desc->name);
        backup_store_use(r->ctx->backups, s->base, -1);
    }
    rc = json_put_raw(&r->out, "{\"TableDescription\":");
    if (rc == 0)
        rc = write_table_description(r, s->desc, "CREATING", &r->out);
    return rc ? rc : buf_putc(&r->out, '}');
}

int api_restore_table_to_point_in_time(struct api_req *r)
{
    struct verrs v;
    const char *target, *src_name, *src_arn, *source;
    json_t *when;
    int latest = 0, has_latest, rc;
    int64_t at, lo, hi;
    struct table *src, *t, *exists;
    struct backup_info *base, *oldest;
    struct restore_state *s;
    struct tm_error err;

    verrs_init(&v);
    if ((rc = req_string(r, r->body, "TargetTableName", &target, NULL)) ||
        (rc = req_string(r, r->body, "SourceTableName", &src_name, NULL)) ||
        (rc = req_string(r, r->body, "SourceTableArn", &src_arn, NULL)) ||
        (rc = req_bool(r, r->body, "UseLatestRestorableTime", &latest,
                       &has_latest))) {
        buf_free(&v.msg);
        return rc;
    }
    check_table_name(&v, target, "targetTableName");
    if ((rc = verrs_finish(&v, r)))
        return rc;
    when = json_object_get(r->body, "RestoreDateTime");
    if (when && !json_is_null(when) && !json_is_number(when))
        return tm_error_set(&r->err, TM_ESERIALIZATION,
                            "STRING_VALUE cannot be converted to Timestamp");
    if (src_name && src_arn)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "Must provide exactly one of: sourceTableArn, "
                            "sourceTableName");
    if (!src_name && !src_arn)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "The parameter 'TableName' is required");
    if (src_arn && strncmp(src_arn, "arn:aws:dynamodb:", 17) != 0)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "sourceTableArn is not a valid ARN");
    if (when && !json_is_null(when) && has_latest && latest)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "Invalid Request: Both RestoreDateTime and "
                            "UseLatestRestorableTime cannot be set at the "
                            "same time");
    if ((when == NULL || json_is_null(when)) && !latest)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "Invalid Request: Either one of RestoreDateTime or"
                            " UseLatestRestorableTime must be specified, but "
                            "not both");
    source = src_name ? src_name : api_table_name_of(src_arn);
    if ((rc = pitr_table(r, source, &src)))
        return rc;
    if (!src->pitr)
        return tm_error_set(&r->err, TM_EPITRUNAVAILABLE,
                            "Point in time recovery is not enabled for table "
                            "'%s'",
                            source);
    api_pitr_window(r, src, &lo, &hi);
    at = latest ? hi : (int64_t)llround(json_number_value(when) * 1000.0);
    /* boto3 and the CLI send whole seconds: a time in the window's first
     * second means its start (DynamoDB's granularity is the second) */
    if (at < lo && at >= lo - lo % 1000)
        at = lo;
    if (at < lo || at > hi) {
        char a1[96], a2[96], a3[96];
        clock_iso_ms(at, a1, sizeof a1);
        clock_iso_ms(lo, a2, sizeof a2);
        clock_iso_ms(hi, a3, sizeof a3);
        return tm_error_set(&r->err, TM_EBADRESTORETIME,
                            "RestoreDateTime '%s' must be within "
                            "EarliestRestorableDateTime '%s' and "
                            "LatestRestorableDateTime '%s'",
                            a1, a2, a3);
    }
    if (catalog_get(engine_catalog(r->ctx->engine), target, r->arena,
                    &exists) == 0)
        return tm_error_set(&r->err, exists->restoring ? TM_ETABLEINUSE
                                                       : TM_ETABLEEXISTS,
                            exists->restoring
                                ? "Table: %s is already being restored"
                                : "Table already exists: %s",
                            target);
    if ((rc = find_bases(r, src->id, at, &base, &oldest)))
        return tm_error_set(&r->err, rc, "out of memory");
    if (base == NULL)
        return tm_error_set(&r->err, TM_EBADRESTORETIME,
                            "No restorable history before that time for table"
                            " '%s'",
                            source);
    /* the target: the source's current definition, new identity */
    {
        struct buf tj;
        buf_init(&tj, 16u << 20);
        rc = table_to_json(src, &tj);
        rc = rc ? rc : table_from_json(tj.data, tj.len, &t, &err);
        buf_free(&tj);
        if (rc)
            return tm_error_set(&r->err, rc, "copying the definition failed");
    }
    if (restore_target_init(t, target) != 0) {
        table_free(t);
        return tm_error_set(&r->err, TM_ENOMEM, "out of memory");
    }
    {
        char arn[1024];
        snprintf(arn, sizeof arn, "arn:aws:dynamodb:%s:%s:table/%s",
                 r->ctx->region, r->ctx->account, src->name);
        t->restore_table_arn = strdup(arn);
    }
    t->restore_time_ms = at;
    t->restore_base = strdup(base->arn);
    t->restore_source_no = src->no;
    if (t->name == NULL || t->restore_table_arn == NULL ||
        t->restore_base == NULL) {
        table_free(t);
        return tm_error_set(&r->err, TM_ENOMEM, "out of memory");
    }
    if (backup_store_use(r->ctx->backups, base->arn, +1) != 0) {
        table_free(t);
        return tm_error_set(&r->err, TM_ETABLEINUSE,
                            "Another restore from table '%s' at this point is "
                            "in progress; retry when it is done",
                            source);
    }
    s = arena_calloc(r->arena, 1, sizeof *s);
    if (s == NULL) {
        backup_store_use(r->ctx->backups, base->arn, -1);
        table_free(t);
        return tm_error_set(&r->err, TM_ENOMEM, "out of memory");
    }
    s->t = t;
    s->base = base->arn;
    s->source_no = src->no;
    s->until = at;
    r->state = s;
    r->op.apply = restore_apply;
    r->op.arg = r;
    r->finish = restore_finish;
    return API_PENDING;
}
