/*
 * api_backup.c - CreateBackup, DescribeBackup, ListBackups, DeleteBackup,
 * RestoreTableFromBackup, with the shapes, errors and messages of
 * shared/reference/dynamodb-backup-api.md (sections 2 and 3).
 *
 * CreateBackup runs as a job (its own thread while the connection waits):
 * the backup is complete before the answer, which says CREATING as
 * DynamoDB's does (see backup.h on why).  RestoreTableFromBackup creates
 * the target table in CREATING through the writer, answers, and the
 * restore pipeline (src/restore) loads it.
 */
#include "api/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "backup/backup.h"
#include "base/clock.h"
#include "base/jsonw.h"
#include "base/log.h"
#include "restore/restore.h"

static const char *const type_names[] = {"USER", "SYSTEM", "AWS_BACKUP",
                                         "BASE"};

/* ---- shapes -------------------------------------------------------------- */

static int put_keys(struct buf *o, const struct key_schema *ks)
{
    int rc = json_put_raw(o, "[{\"AttributeName\":");
    rc |= json_put_cstr(o, ks->hash_name);
    rc |= json_put_raw(o, ",\"KeyType\":\"HASH\"}");
    if (ks->range_name) {
        rc |= json_put_raw(o, ",{\"AttributeName\":");
        rc |= json_put_cstr(o, ks->range_name);
        rc |= json_put_raw(o, ",\"KeyType\":\"RANGE\"}");
    }
    return rc | buf_putc(o, ']');
}

static int put_details(struct buf *o, const struct backup_info *b,
                       const char *status)
{
    int rc = json_put_raw(o, "{\"BackupArn\":");
    rc |= json_put_cstr(o, b->arn);
    rc |= json_put_raw(o, ",\"BackupName\":");
    rc |= json_put_cstr(o, b->name);
    rc |= json_put_raw(o, ",\"BackupSizeBytes\":");
    rc |= json_put_i64(o, (int64_t)b->size_bytes);
    rc |= json_put_raw(o, ",\"BackupStatus\":");
    rc |= json_put_cstr(o, status);
    rc |= json_put_raw(o, ",\"BackupType\":");
    rc |= json_put_cstr(o, type_names[b->type]);
    rc |= json_put_raw(o, ",\"BackupCreationDateTime\":");
    rc |= json_put_time_ms(o, b->created_ms);
    if (b->expiry_ms) {
        rc |= json_put_raw(o, ",\"BackupExpiryDateTime\":");
        rc |= json_put_time_ms(o, b->expiry_ms);
    }
    return rc | buf_putc(o, '}');
}

/* BackupDescription: details plus the source table as it was. */
static int put_description(struct api_req *r, struct buf *o,
                           const struct backup_info *b, const char *status)
{
    static const char *const projs[] = {"ALL", "KEYS_ONLY", "INCLUDE"};
    static const char *const views[] = {"", "KEYS_ONLY", "NEW_IMAGE",
                                        "OLD_IMAGE", "NEW_AND_OLD_IMAGES"};
    struct table *t = NULL;
    struct tm_error err;
    int rc;

    rc = table_from_json((const uint8_t *)b->table_json,
                         strlen(b->table_json), &t, &err);
    if (rc)
        return tm_error_set(&r->err, rc, "backup %s: %s", b->arn, err.msg);
    rc = json_put_raw(o, "{\"BackupDetails\":");
    rc |= put_details(o, b, status);
    rc |= json_put_raw(o, ",\"SourceTableDetails\":{\"TableName\":");
    rc |= json_put_cstr(o, b->table_name);
    rc |= json_put_raw(o, ",\"TableId\":");
    rc |= json_put_cstr(o, b->table_id);
    rc |= json_put_raw(o, ",\"TableArn\":");
    rc |= json_put_cstr(o, b->table_arn);
    rc |= json_put_raw(o, ",\"TableSizeBytes\":");
    rc |= json_put_i64(o, (int64_t)b->size_bytes);
    rc |= json_put_raw(o, ",\"KeySchema\":");
    rc |= put_keys(o, &t->ks);
    rc |= json_put_raw(o, ",\"TableCreationDateTime\":");
    rc |= json_put_time_ms(o, t->created_ms);
    rc |= json_put_raw(o, ",\"ProvisionedThroughput\":{"
                          "\"ReadCapacityUnits\":");
    rc |= json_put_i64(o, t->rcu);
    rc |= json_put_raw(o, ",\"WriteCapacityUnits\":");
    rc |= json_put_i64(o, t->wcu);
    rc |= json_put_raw(o, "},\"ItemCount\":");
    rc |= json_put_i64(o, (int64_t)b->items);
    rc |= json_put_raw(o, ",\"BillingMode\":");
    rc |= json_put_cstr(o, t->billing == BILLING_PAY_PER_REQUEST
                               ? "PAY_PER_REQUEST"
                               : "PROVISIONED");
    rc |= json_put_raw(o, "},\"SourceTableFeatureDetails\":{");
    {
        int first_member = 1;
        for (int kind = INDEX_LSI; kind >= INDEX_GSI; kind--) {
            int first = 1;
            for (size_t i = 0; i < t->nindexes; i++) {
                const struct table_index *x = &t->indexes[i];
                if ((int)x->kind != kind)
                    continue;
                if (first) {
                    rc |= json_put_raw(o, first_member ? "" : ",");
                    rc |= json_put_raw(o, kind == INDEX_GSI
                                              ? "\"GlobalSecondaryIndexes\":["
                                              : "\"LocalSecondaryIndexes\":[");
                    first_member = 0;
                } else {
                    rc |= buf_putc(o, ',');
                }
                first = 0;
                rc |= json_put_raw(o, "{\"IndexName\":");
                rc |= json_put_cstr(o, x->name);
                rc |= json_put_raw(o, ",\"KeySchema\":");
                rc |= put_keys(o, &x->ks);
                rc |= json_put_raw(o, ",\"Projection\":{\"ProjectionType\":");
                rc |= json_put_cstr(o, projs[x->proj]);
                if (x->ninclude) {
                    rc |= json_put_raw(o, ",\"NonKeyAttributes\":[");
                    for (size_t k = 0; k < x->ninclude; k++) {
                        if (k)
                            rc |= buf_putc(o, ',');
                        rc |= json_put_cstr(o, x->include[k]);
                    }
                    rc |= buf_putc(o, ']');
                }
                rc |= buf_putc(o, '}');
                if (kind == INDEX_GSI) {
                    rc |= json_put_raw(o, ",\"ProvisionedThroughput\":{"
                                          "\"ReadCapacityUnits\":");
                    rc |= json_put_i64(o, x->rcu);
                    rc |= json_put_raw(o, ",\"WriteCapacityUnits\":");
                    rc |= json_put_i64(o, x->wcu);
                    rc |= buf_putc(o, '}');
                }
                rc |= buf_putc(o, '}');
            }
            if (!first)
                rc |= buf_putc(o, ']');
        }
        if (t->stream != STREAM_NONE) {
            rc |= json_put_raw(o, first_member ? "" : ",");
            rc |= json_put_raw(o, "\"StreamDescription\":{\"StreamEnabled\":"
                                  "true,\"StreamViewType\":");
            rc |= json_put_cstr(o, views[t->stream]);
            rc |= buf_putc(o, '}');
            first_member = 0;
        }
        if (t->ttl == TTL_ENABLED && t->ttl_attr) {
            rc |= json_put_raw(o, first_member ? "" : ",");
            rc |= json_put_raw(o, "\"TimeToLiveDescription\":{"
                                  "\"TimeToLiveStatus\":\"ENABLED\","
                                  "\"AttributeName\":");
            rc |= json_put_cstr(o, t->ttl_attr);
            rc |= buf_putc(o, '}');
        }
    }
    rc |= json_put_raw(o, "}}");
    table_free(t);
    return rc ? tm_error_set(&r->err, TM_ENOMEM, "out of memory") : 0;
}

/* DDB: arn:aws:dynamodb:<region>:<account>:table/<name>/backup/<14 digits>-
 * <8 hex>. */
static int check_backup_arn(struct api_req *r, const char *arn)
{
    const char *p = arn, *q;
    int i;

    if (strncmp(p, "arn:", 4) != 0 || (q = strstr(p, ":table/")) == NULL ||
        (p = strstr(q, "/backup/")) == NULL)
        return tm_error_set(&r->err, TM_EVALIDATION, "Invalid Backup ARN");
    if (strncmp(arn, "arn:aws:dynamodb:", 17) != 0)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "BackupArn is not valid");
    p += 8;
    for (i = 0; i < 14; i++)
        if (p[i] < '0' || p[i] > '9')
            return tm_error_set(&r->err, TM_EVALIDATION,
                                "Invalid Backup ARN");
    if (p[14] != '-')
        return tm_error_set(&r->err, TM_EVALIDATION, "Invalid Backup ARN");
    for (i = 15; i < 23; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
            return tm_error_set(&r->err, TM_EVALIDATION,
                                "Invalid Backup ARN");
    if (p[23] != '\0')
        return tm_error_set(&r->err, TM_EVALIDATION, "Invalid Backup ARN");
    return 0;
}

static void check_name(struct verrs *v, struct api_req *r, const char *s,
                       const char *path)
{
    size_t n;
    char *shown;

    if (s == NULL) {
        verrs_add(v, "null", path, "Member must not be null");
        return;
    }
    /* DDB counts characters (Java's String length), not bytes */
    n = 0;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        n += (*c & 0xC0) != 0x80;
    shown = arena_printf(r->arena, "'%s'", s);
    if (shown == NULL)
        shown = "''";
    if (n < 3)
        verrs_add(v, shown, path,
                  "Member must have length greater than or equal to 3");
    if (n > 255)
        verrs_add(v, shown, path,
                  "Member must have length less than or equal to 255");
    if (strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789_.-") != strlen(s))
        verrs_add(v, shown, path,
                  "Member must satisfy regular expression pattern: "
                  "[a-zA-Z0-9_.-]+");
}

/* ---- CreateBackup --------------------------------------------------------- */

struct create_state {
    const char *table, *name;
    struct backup_info *b;
};

static int create_job(struct api_req *r)
{
    struct create_state *s = r->state;
    return backup_store_begin(r->ctx->backups, r->ctx->engine, s->table,
                              s->name, r->ctx->region, r->ctx->account,
                              r->arena, &s->b, &r->err);
}

static int create_finish(struct api_req *r)
{
    struct create_state *s = r->state;
    int rc;

    if (r->op.rc < 0)
        return r->op.rc;
    /* DDB: CreateBackup answers CREATING; Describe says AVAILABLE once the
     * rows are written (in the background) */
    rc = json_put_raw(&r->out, "{\"BackupDetails\":");
    rc |= put_details(&r->out, s->b, "CREATING");
    rc |= buf_putc(&r->out, '}');
    return rc ? TM_ENOMEM : 0;
}

int api_create_backup(struct api_req *r)
{
    struct verrs v;
    const char *table, *name;
    struct create_state *s;
    int rc;

    verrs_init(&v);
    if ((rc = req_string(r, r->body, "TableName", &table, NULL)) ||
        (rc = req_string(r, r->body, "BackupName", &name, NULL))) {
        buf_free(&v.msg);
        return rc;
    }
    if (table == NULL || strncmp(table, "arn:", 4) != 0)
        check_table_name(&v, table, "tableName");
    check_name(&v, r, name, "backupName");
    if ((rc = verrs_finish(&v, r)))
        return rc;
    s = arena_calloc(r->arena, 1, sizeof *s);
    if (s == NULL)
        return tm_error_set(&r->err, TM_ENOMEM, "out of memory");
    s->table = api_table_name_of(table);
    s->name = name;
    r->state = s;
    r->job = create_job;
    r->finish = create_finish;
    return API_PENDING;
}

/* ---- DescribeBackup, DeleteBackup ----------------------------------------- */

static int arn_arg(struct api_req *r, const char **arn)
{
    struct verrs v;
    int rc;

    verrs_init(&v);
    if ((rc = req_string(r, r->body, "BackupArn", arn, NULL))) {
        buf_free(&v.msg);
        return rc;
    }
    if (*arn == NULL)
        verrs_add(&v, "null", "backupArn", "Member must not be null");
    else if (strlen(*arn) < 37 || strlen(*arn) > 1024) {
        char *shown = arena_printf(r->arena, "'%s'", *arn);
        verrs_add(&v, shown ? shown : "''", "backupArn",
                  strlen(*arn) < 37
                      ? "Member must have length greater than or equal to 37"
                      : "Member must have length less than or equal to "
                        "1024");
    }
    if ((rc = verrs_finish(&v, r)))
        return rc;
    return check_backup_arn(r, *arn);
}

/* Backup `arn` copied into the request's arena, or the error a client
 * gets (BackupNotFoundException). */
static int find_backup(struct api_req *r, const char *arn,
                       struct backup_info **b)
{
    int rc = backup_store_get(r->ctx->backups, arn, r->arena, b);

    if (rc == TM_EBACKUPNOTFOUND)
        return tm_error_set(&r->err, rc, "Backup not found: %s", arn);
    if (rc)
        return tm_error_set(&r->err, rc, "out of memory");
    return 0;
}

int api_describe_backup(struct api_req *r)
{
    const char *arn;
    struct backup_info *b;
    int rc;

    if ((rc = arn_arg(r, &arn)))
        return rc;
    if ((rc = find_backup(r, arn, &b)))
        return rc;
    rc = json_put_raw(&r->out, "{\"BackupDescription\":");
    if (rc == 0)
        rc = put_description(r, &r->out, b, backup_status(b));
    return rc ? rc : buf_putc(&r->out, '}');
}

struct delete_state {
    const char *arn;
    struct backup_info *b;   /* the deleted backup's description */
};

/* On a job thread: removing a backup syncs the store's directory and, for
 * a backup in the object store, takes round trips a slow store can make
 * long; a request thread blocked on them would hold every other
 * connection it serves. */
static int delete_job(struct api_req *r)
{
    struct delete_state *s = r->state;
    return backup_store_delete(r->ctx->backups, s->arn, r->arena, &s->b,
                               &r->err);
}

/* DeleteBackup's answer: the description, DELETED. */
static int delete_finish(struct api_req *r)
{
    struct delete_state *s = r->state;
    int rc;

    if (r->op.rc < 0)
        return r->op.rc;
    rc = json_put_raw(&r->out, "{\"BackupDescription\":");
    if (rc == 0)
        rc = put_description(r, &r->out, s->b, "DELETED");
    return rc ? rc : buf_putc(&r->out, '}');
}

int api_delete_backup(struct api_req *r)
{
    const char *arn;
    struct backup_info *b;
    struct delete_state *s;
    int rc;

    if ((rc = arn_arg(r, &arn)))
        return rc;
    if ((rc = find_backup(r, arn, &b)))
        return rc;
    if (b->type == BACKUP_SYSTEM) {
        struct buf ts;
        buf_init(&ts, 64);
        json_put_time_ms(&ts, b->expiry_ms);
        buf_putc(&ts, 0);
        rc = tm_error_set(&r->err, TM_EVALIDATION,
                          "User is not allowed to delete the system backup "
                          "with arn %s. It will automatically expire on %s",
                          arn, ts.data ? (char *)ts.data : "");
        buf_free(&ts);
        return rc;
    }
    s = arena_calloc(r->arena, 1, sizeof *s);
    if (s == NULL)
        return tm_error_set(&r->err, TM_ENOMEM, "out of memory");
    s->arn = arn;
    r->state = s;
    r->job = delete_job;
    r->finish = delete_finish;
    return API_PENDING;
}

/* ---- ListBackups -------------------------------------------------------- */

static int time_arg(struct api_req *r, const char *field, int64_t *ms,
                    int *present)
{
    json_t *j = json_object_get(r->body, field);

    *present = 0;
    if (j == NULL || json_is_null(j))
        return 0;
    if (!json_is_number(j))
        return tm_error_set(&r->err, TM_ESERIALIZATION,
                            "STRING_VALUE cannot be converted to Timestamp");
    *ms = (int64_t)(json_number_value(j) * 1000.0 + 0.5);
    *present = 1;
    return 0;
}

int api_list_backups(struct api_req *r)
{
    struct verrs v;
    const char *table, *start, *btype;
    int64_t limit = 100, lo = 0, hi = 0;
    int has_limit, has_lo, has_hi, rc, first = 1;
    struct backup_info **all;
    size_t n, i = 0, shown = 0;

    verrs_init(&v);
    if ((rc = req_string(r, r->body, "TableName", &table, NULL)) ||
        (rc = req_string(r, r->body, "ExclusiveStartBackupArn", &start,
                         NULL)) ||
        (rc = req_string(r, r->body, "BackupType", &btype, NULL)) ||
        (rc = req_int(r, r->body, "Limit", &limit, &has_limit)) ||
        (rc = time_arg(r, "TimeRangeLowerBound", &lo, &has_lo)) ||
        (rc = time_arg(r, "TimeRangeUpperBound", &hi, &has_hi))) {
        buf_free(&v.msg);
        return rc;
    }
    if (table && strncmp(table, "arn:", 4) != 0)
        check_table_name(&v, table, "tableName");
    if (has_limit && (limit < 1 || limit > 100)) {
        char *s = arena_printf(r->arena, "'%lld'", (long long)limit);
        verrs_add(&v, s ? s : "''", "limit",
                  limit < 1 ? "Member must have value greater than or equal"
                              " to 1"
                            : "Member must have value less than or equal to "
                              "100");
    }
    if ((rc = verrs_finish(&v, r)))
        return rc;
    if (has_lo && has_hi && lo > hi)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "Time range lower bound must be less than or "
                            "equal to upper bound");
    table = api_table_name_of(table);
    if ((rc = backup_store_list(r->ctx->backups, r->arena, &all, &n)))
        return tm_error_set(&r->err, rc, "out of memory");
    /* the start ARN is a position: skip everything up to and including it
     * (its creation time is in its id) */
    if (start) {
        const char *p = strstr(start, "/backup/");
        int64_t t = p ? strtoll(p + 8, NULL, 10) : 0;
        while (i < n && (all[i]->created_ms < t ||
                         (all[i]->created_ms == t &&
                          strcmp(all[i]->arn, start) <= 0)))
            i++;
    }
    rc = json_put_raw(&r->out, "{\"BackupSummaries\":[");
    for (; i < n; i++) {
        const struct backup_info *b = all[i];
        enum backup_type want = BACKUP_USER;
        int all_types = btype && strcmp(btype, "ALL") == 0;
        if (btype && strcmp(btype, "SYSTEM") == 0)
            want = BACKUP_SYSTEM;
        else if (btype && strcmp(btype, "AWS_BACKUP") == 0)
            want = BACKUP_AWS;
        if (b->type == BACKUP_BASE || (!all_types && b->type != want))
            continue;
        if (table && strcmp(b->table_name, table) != 0)
            continue;
        if (has_lo && b->created_ms < lo)
            continue;
        if (has_hi && b->created_ms >= hi)
            continue;
        if ((int64_t)shown == limit)
            break;
        if (!first)
            rc |= buf_putc(&r->out, ',');
        first = 0;
        rc |= json_put_raw(&r->out, "{\"TableName\":");
        rc |= json_put_cstr(&r->out, b->table_name);
        rc |= json_put_raw(&r->out, ",\"TableId\":");
        rc |= json_put_cstr(&r->out, b->table_id);
        rc |= json_put_raw(&r->out, ",\"TableArn\":");
        rc |= json_put_cstr(&r->out, b->table_arn);
        rc |= json_put_raw(&r->out, ",\"BackupArn\":");
        rc |= json_put_cstr(&r->out, b->arn);
        rc |= json_put_raw(&r->out, ",\"BackupName\":");
        rc |= json_put_cstr(&r->out, b->name);
        rc |= json_put_raw(&r->out, ",\"BackupCreationDateTime\":");
        rc |= json_put_time_ms(&r->out, b->created_ms);
        if (b->expiry_ms) {
            rc |= json_put_raw(&r->out, ",\"BackupExpiryDateTime\":");
            rc |= json_put_time_ms(&r->out, b->expiry_ms);
        }
        rc |= json_put_raw(&r->out, ",\"BackupStatus\":");
        rc |= json_put_cstr(&r->out, backup_status(b));
        rc |= json_put_raw(&r->out, ",\"BackupType\":");
        rc |= json_put_cstr(&r->out, type_names[b->type]);
        rc |= json_put_raw(&r->out, ",\"BackupSizeBytes\":");
        rc |= json_put_i64(&r->out, (int64_t)b->size_bytes);
        rc |= buf_putc(&r->out, '}');
        shown++;
        start = b->arn;
    }
    rc |= buf_putc(&r->out, ']');
    if (i < n && (int64_t)shown == limit) {
        rc |= json_put_raw(&r->out, ",\"LastEvaluatedBackupArn\":");
        rc |= json_put_cstr(&r->out, start);
    }
    rc |= buf_putc(&r->out, '}');
    return rc ? tm_error_set(&r->err, TM_ENOMEM, "out of memory") : 0;
}

/* ---- RestoreTableFromBackup -------------------------------------------- */

struct restore_state {
    struct table *t;        /* heap: the target, until the engine has it */
    struct table *desc;     /* arena copy for the answer */
    const char *backup_arn;
    int in_use;             /* backup_store_use(+1) held */
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
        if (s->in_use)
            backup_store_use(r->ctx->backups, s->backup_arn, -1);
        return r->op.rc;
    }
    if (restore_start(r->ctx->engine, r->ctx->backups, s->desc->name,
                      s->backup_arn) != 0) {
        tm_errorf("could not start the restore of %s", s->desc->name);
        backup_store_use(r->ctx->backups, s->backup_arn, -1);
    }
    rc = json_put_raw(&r->out, "{\"TableDescription\":");
    if (rc == 0)
        rc = write_table_description(r, s->desc, "CREATING", &r->out);
    return rc ? rc : buf_putc(&r->out, '}');
}

int restore_target_create(struct engine_wtx *w, struct table **t,
                          struct arena *a, struct table **desc,
                          struct tm_error *err)
{
    int rc;

    (*t)->created_ms = engine_wtx_time(w);
    if ((*t)->billing == BILLING_PAY_PER_REQUEST)
        (*t)->ppr_since_ms = (*t)->created_ms;
    rc = engine_wtx_create_table(w, *t);
    if (rc == TM_EINUSE)
        return tm_error_set(err, TM_ETABLEEXISTS, "Table already exists: %s",
                            (*t)->name);
    if (rc)
        return tm_error_set(err, rc, "creating table %s failed", (*t)->name);
    *desc = table_copy(*t, a);
    *t = NULL; /* the catalog owns it */
    return *desc ? 0 : tm_error_set(err, TM_ENOMEM, "out of memory");
}

int restore_target_init(struct table *t, const char *target)
{
    free(t->name);
    t->name = strdup(target);
    api_new_uuid(t->id);
    /* DDB: a restore drops stream, TTL, PITR, tags, deletion protection */
    t->stream = STREAM_NONE;
    t->stream_created_ms = 0;
    t->ttl = TTL_DISABLED;
    free(t->ttl_attr);
    t->ttl_attr = NULL;
    t->pitr = 0;
    t->pitr_days = 0;
    t->pitr_since_ms = 0;
    for (size_t i = 0; i < t->ntags; i++) {
        free(t->tags[i].key);
        free(t->tags[i].value);
    }
    free(t->tags);
    t->tags = NULL;
    t->ntags = 0;
    t->deletion_protection = 0;
    t->last_increase_ms = t->last_decrease_ms = 0;
    t->decreases_today = 0;
    /* the source may itself have been restored: its summary goes */
    free(t->restore_backup_arn);
    free(t->restore_table_arn);
    free(t->restore_base);
    t->restore_backup_arn = t->restore_table_arn = t->restore_base = NULL;
    t->status = TABLE_CREATING;
    t->restoring = 1;
    for (size_t i = 0; i < t->nindexes; i++) {
        t->indexes[i].status = INDEX_ACTIVE;
        t->indexes[i].backfilling = 0;
    }
    return t->name ? 0 : TM_ENOMEM;
}

/* Keep only the indexes of kind `kind` that the override lists (matched by
 * name, key schema and projection).  `ov` NULL: keep all; []: keep none. */
static int apply_index_override(struct api_req *r, struct table *t,
                                json_t *ov, enum index_kind kind)
{
    size_t keep = 0, i, k;
    json_t *d;

    if (ov == NULL || json_is_null(ov))
        return 0;
    json_array_foreach(ov, i, d) {
        json_t *name = json_object_get(d, "IndexName");
        const char *n = json_is_string(name) ? json_string_value(name) : "";
        struct table_index *ix = table_index_find(t, n);
        json_t *ks = json_object_get(d, "KeySchema");
        json_t *pr = json_object_get(d, "Projection");
        json_t *pt = json_object_get(pr, "ProjectionType");
        static const char *const projs[] = {"ALL", "KEYS_ONLY", "INCLUDE"};
        int match = ix && ix->kind == kind && json_array_size(ks) >= 1;
        if (match) {
            json_t *h = json_object_get(json_array_get(ks, 0),
                                        "AttributeName");
            json_t *g = json_object_get(json_array_get(ks, 1),
                                        "AttributeName");
            match = json_is_string(h) &&
                    strcmp(json_string_value(h), ix->ks.hash_name) == 0 &&
                    (ix->ks.range_name
                         ? json_is_string(g) &&
                               strcmp(json_string_value(g),
                                      ix->ks.range_name) == 0
                         : g == NULL) &&
                    (!json_is_string(pt) ||
                     strcmp(json_string_value(pt), projs[ix->proj]) == 0);
        }
        if (!match)
            return tm_error_set(&r->err, TM_EVALIDATION,
                                "Index %s does not match a secondary index "
                                "that existed in the source table and cannot "
                                "be created during the restore operation",
                                n);
        ix->status = INDEX_UPDATING; /* mark: kept */
    }
    for (i = 0, k = 0; i < t->nindexes; i++) {
        struct table_index *ix = &t->indexes[i];
        if (ix->kind != kind || ix->status == INDEX_UPDATING) {
            if (ix->status == INDEX_UPDATING)
                ix->status = INDEX_ACTIVE;
            t->indexes[k++] = *ix;
            keep++;
            continue;
        }
        free(ix->name);
        for (size_t m = 0; m < ix->ninclude; m++)
            free(ix->include[m]);
        free(ix->include);
    }
    t->nindexes = k;
    (void)keep;
    return 0;
}

int api_restore_table_from_backup(struct api_req *r)
{
    struct verrs v;
    const char *target, *arn, *bm;
    json_t *pt;
    struct backup_info *b;
    struct restore_state *s;
    struct table *t = NULL, *exists;
    struct tm_error err;
    int rc;

    verrs_init(&v);
    if ((rc = req_string(r, r->body, "TargetTableName", &target, NULL)) ||
        (rc = req_string(r, r->body, "BackupArn", &arn, NULL)) ||
        (rc = req_string(r, r->body, "BillingModeOverride", &bm, NULL)) ||
        (rc = req_object(r, r->body, "ProvisionedThroughputOverride", &pt))) {
        buf_free(&v.msg);
        return rc;
    }
    check_table_name(&v, target, "targetTableName");
    if (arn == NULL)
        verrs_add(&v, "null", "backupArn", "Member must not be null");
    if ((rc = verrs_finish(&v, r)))
        return rc;
    if ((rc = check_backup_arn(r, arn)))
        return rc;
    if ((rc = find_backup(r, arn, &b)))
        return rc;
    if (catalog_get(engine_catalog(r->ctx->engine), target, r->arena,
                    &exists) == 0)
        return exists->restoring
                   ? tm_error_set(&r->err, TM_ETABLEINUSE,
                                  "Table: %s is already being restored from "
                                  "backup: %s",
                                  target,
                                  exists->restore_backup_arn
                                      ? exists->restore_backup_arn
                                      : "")
                   : tm_error_set(&r->err, TM_ETABLEEXISTS,
                                  "Table already exists: %s", target);
    /* the new table: the backup's definition, renamed, new identity */
    rc = table_from_json((const uint8_t *)b->table_json,
                         strlen(b->table_json), &t, &err);
    if (rc)
        return tm_error_set(&r->err, rc, "backup %s: %s", arn, err.msg);
    if (restore_target_init(t, target) != 0) {
        table_free(t);
        return tm_error_set(&r->err, TM_ENOMEM, "out of memory");
    }
    t->restore_backup_arn = strdup(arn);
    t->restore_table_arn = strdup(b->table_arn);
    t->restore_time_ms = b->created_ms;
    if (t->name == NULL || t->restore_backup_arn == NULL ||
        t->restore_table_arn == NULL) {
        table_free(t);
        return tm_error_set(&r->err, TM_ENOMEM, "out of memory");
    }
    /* overrides, with DynamoDB's rules */
    {
        enum billing_mode mode = t->billing;
        if (bm)
            mode = strcmp(bm, "PAY_PER_REQUEST") == 0
                       ? BILLING_PAY_PER_REQUEST
                       : BILLING_PROVISIONED;
        if (pt && mode != BILLING_PROVISIONED)
            rc = tm_error_set(&r->err, TM_EVALIDATION,
                              "Cannot override ProvisionedThroughput unless "
                              "BillingMode is PROVISIONED");
        else if (bm && mode == BILLING_PROVISIONED && pt == NULL)
            rc = tm_error_set(&r->err, TM_EVALIDATION,
                              "Must override ProvisionedThroughput if "
                              "BillingMode is overridden to PROVISIONED");
        if (rc == 0) {
            t->billing = mode;
            if (pt) {
                static const char *const f[2] = {"ReadCapacityUnits",
                                                 "WriteCapacityUnits"};
                struct verrs pv;
                int64_t val[2] = {0, 0};
                verrs_init(&pv);
                for (int k = 0; k < 2; k++) {
                    json_t *x = json_object_get(pt, f[k]);
                    char path[96], *shown;
                    snprintf(path, sizeof path,
                             "provisionedThroughputOverride.%c%s",
                             f[k][0] + 32, f[k] + 1);
                    if (x == NULL || json_is_null(x)) {
                        verrs_add(&pv, "null", path,
                                  "Member must not be null");
                        continue;
                    }
                    val[k] = json_is_integer(x) ? json_integer_value(x) : 0;
                    if (val[k] < 1) {
                        shown = arena_printf(r->arena, "'%lld'",
                                             (long long)val[k]);
                        verrs_add(&pv, shown ? shown : "''", path,
                                  "Member must have value greater than or "
                                  "equal to 1");
                    }
                }
                t->rcu = val[0];
                t->wcu = val[1];
                rc = verrs_finish(&pv, r);
            }
            if (mode == BILLING_PAY_PER_REQUEST) {
                t->rcu = t->wcu = 0;
                for (size_t i = 0; i < t->nindexes; i++)
                    t->indexes[i].rcu = t->indexes[i].wcu = 0;
            }
        }
    }
    if (rc == 0)
        rc = apply_index_override(
            r, t, json_object_get(r->body, "GlobalSecondaryIndexOverride"),
            INDEX_GSI);
    if (rc == 0)
        rc = apply_index_override(
            r, t, json_object_get(r->body, "LocalSecondaryIndexOverride"),
            INDEX_LSI);
    if (rc) {
        table_free(t);
        return rc;
    }
    for (size_t i = 0; i < t->nindexes; i++) {
        atomic_store(&t->indexes[i].item_count, 0);
        atomic_store(&t->indexes[i].size_bytes, 0);
        t->indexes[i].status = INDEX_ACTIVE;
        t->indexes[i].backfilling = 0;
    }
    if ((rc = backup_store_use(r->ctx->backups, arn, +1)) != 0) {
        table_free(t);
        if (rc == TM_EBACKUPNOTFOUND)
            return tm_error_set(&r->err, TM_EBACKUPNOTFOUND,
                                "Backup not found: %s (it is being "
                                "deleted)",
                                arn);
        if (b->creating)
            return tm_error_set(&r->err, TM_EBACKUPINUSE,
                                "Backup is being created: %s; restore it "
                                "when its status is AVAILABLE",
                                arn);
        return tm_error_set(&r->err, TM_EBACKUPINUSE,
                            "Backup is being used to restore another table: "
                            "%s",
                            arn);
    }
    s = arena_calloc(r->arena, 1, sizeof *s);
    if (s == NULL) {
        backup_store_use(r->ctx->backups, arn, -1);
        table_free(t);
        return tm_error_set(&r->err, TM_ENOMEM, "out of memory");
    }
    s->t = t;
    s->backup_arn = arn;
    s->in_use = 1;
    r->state = s;
    r->op.apply = restore_apply;
    r->op.arg = r;
    r->finish = restore_finish;
    return API_PENDING;
}
