/*
 * api_export.c - ExportTableToPointInTime, DescribeExport, ListExports,
 * ImportTable, DescribeImport, ListImports (reference section 5), over
 * the jobs of src/export (export.h).
 *
 * ExportTableToPointInTime, in DynamoDB's order of checks:
 *   1. shape (the model's kinds and enums, then the constraints here: one
 *      "N validation errors detected" message);
 *   2. what Tidemark refuses: ExportFormat ION, ExportType
 *      INCREMENTAL_EXPORT (ValidationException saying so);
 *   3. TableArn must be a table ARN (a bare name is a ValidationException);
 *   4. the table (TableNotFoundException "Table not found: <arn>", also
 *      while it is CREATING), PITR on (PointInTimeRecoveryUnavailable-
 *      Exception, before anything about S3), ExportTime inside the
 *      window (InvalidExportTimeException);
 *   5. ClientToken (ExportConflictException), the number in progress
 *      (LimitExceededException) - export_begin.
 * Problems with the bucket are not checked here: as on DynamoDB the export
 * is accepted and ends FAILED (S3NoSuchBucket, S3AccessDenied, ...).
 *
 * S3Bucket is a bucket of the object store (--s3-endpoint), or, as a
 * Tidemark extension, "file:///absolute/dir" (export_dest.h).
 *
 * ImportTable: shape; InputFormat DYNAMODB_JSON only (CSV and ION are
 * refused with a ValidationException); TableCreationParameters validated
 * as CreateTable; the name free (ResourceInUseException); ClientToken
 * (ImportConflictException); the number in progress (LimitExceeded-
 * Exception).  The table is created CREATING through the writer, then the
 * import job loads it.
 */
#include "api/api_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/hash.h"
#include "base/jsonmem.h"
#include "base/jsonw.h"
#include "base/log.h"
#include "export/export.h"
#include "export/export_dest.h"
#include "s3/s3_int.h"

#define BUCKET_PATTERN "^[a-z0-9A-Z]+[\\.\\-\\w]*[a-z0-9A-Z]+$"

/* ---- shared checks ------------------------------------------------------- */

static const char *quoted(struct api_req *r, const char *s)
{
    char *q = arena_printf(r->arena, "'%s'", s);
    return q ? q : "''";
}

/* Characters as DynamoDB counts them (UTF-16 units, close enough: code
 * points). */
static size_t chars(const char *s)
{
    size_t n = 0;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        n += (*c & 0xC0) != 0x80;
    return n;
}

static int word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_';
}

/* S3Bucket: at most 255, the model's pattern, or file:///abs/path. */
static void check_bucket(struct api_req *r, struct verrs *v, const char *b,
                         const char *path)
{
    size_t n;
    int ok = 1;

    if (b == NULL) {
        verrs_add(v, "null", path, "Member must not be null");
        return;
    }
    n = strlen(b);
    if (chars(b) > 255)
        verrs_add(v, quoted(r, b), path,
                  "Member must have length less than or equal to 255");
    if (export_dest_is_local(b))
        return; /* checked as a path when it is opened */
    if (n < 2 || !(word_char(b[0]) && b[0] != '_') ||
        !(word_char(b[n - 1]) && b[n - 1] != '_'))
        ok = 0;
    for (size_t i = 1; ok && i + 1 < n; i++)
        ok = word_char(b[i]) || b[i] == '.' || b[i] == '-';
    if (!ok)
        verrs_add(v, quoted(r, b), path,
                  "Member must satisfy regular expression pattern: "
                  BUCKET_PATTERN);
}

static void check_owner(struct api_req *r, struct verrs *v, const char *o,
                        const char *path)
{
    if (o && (strlen(o) != 12 || strspn(o, "0123456789") != 12))
        verrs_add(v, quoted(r, o), path,
                  "Member must satisfy regular expression pattern: "
                  "[0-9]{12}");
}

static void check_prefix(struct api_req *r, struct verrs *v, const char *p,
                         const char *path)
{
    if (p && chars(p) > 1024)
        verrs_add(v, quoted(r, p), path,
                  "Member must have length less than or equal to 1024");
}

static void check_token(struct api_req *r, struct verrs *v, const char *t)
{
    if (t && (t[0] == '\0' || strchr(t, '$') != NULL))
        verrs_add(v, quoted(r, t), "clientToken",
                  "Member must satisfy regular expression pattern: "
                  "^[^\\$]+$");
}

/* A prefix Tidemark can use as object-key segments (no empty, "." or ".."
 * segment: see s3.h). */
static int prefix_usable(struct api_req *r, const char *p, const char *what)
{
    struct tm_error e;
    char *trimmed;
    size_t n;

    if (p == NULL || p[0] == '\0')
        return 0;
    n = strlen(p);
    while (n > 0 && p[n - 1] == '/')
        n--;
    trimmed = arena_strndup(r->arena, p, n);
    if (trimmed == NULL)
        return tm_error_set(&r->err, TM_ENOMEM, "out of memory");
    if (n > 0 && s3_key_check(trimmed, "prefix", 1, &e) == 0)
        return 0;
    return tm_error_set(&r->err, TM_EVALIDATION,
                        "%s '%s' cannot be used: it must not start with '/',"
                        " nor hold an empty, '.' or '..' segment or a "
                        "control character",
                        what, p);
}

/* The fingerprint of a request's parameters: the body without its
 * ClientToken, keys sorted. */
static uint64_t fingerprint(json_t *body)
{
    json_t *c = json_deep_copy(body);
    char *text;
    uint64_t h = 0;

    if (c == NULL)
        return 0;
    json_object_del(c, "ClientToken");
    text = jsonmem_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
    if (text)
        h = hash64(text, strlen(text));
    free(text);
    json_decref(c);
    return h;
}

/* "arn:aws:dynamodb:<region>:<account>:table/<name>" -> name, if it is
 * one of this server's; NULL if it is not an ARN at all. */
static const char *arn_table(struct api_req *r, const char *arn,
                             int *other_place)
{
    char head[400];
    const char *p;

    *other_place = 0;
    if (strncmp(arn, "arn:", 4) != 0 || (p = strstr(arn, ":table/")) == NULL
        || p[7] == '\0' || strchr(p + 7, '/') != NULL)
        return NULL;
    snprintf(head, sizeof head, "arn:aws:dynamodb:%s:%s", r->ctx->region,
             r->ctx->account);
    if ((size_t)(p - arn) != strlen(head) ||
        strncmp(arn, head, strlen(head)) != 0)
        *other_place = 1;
    return p + 7;
}

static void table_arn(struct api_req *r, const char *name, char *out,
                      size_t cap)
{
    snprintf(out, cap, "arn:aws:dynamodb:%s:%s:table/%s", r->ctx->region,
             r->ctx->account, name);
}

static int nomem(struct api_req *r)
{
    return tm_error_set(&r->err, TM_ENOMEM, "out of memory");
}

/* ---- ExportDescription --------------------------------------------------- */

static int put_opt(struct buf *o, const char *key, const char *v)
{
    int rc = 0;

    if (v == NULL)
        return 0;
    rc |= buf_putc(o, ',');
    rc |= json_put_key(o, key);
    rc |= json_put_cstr(o, v);
    return rc;
}

static int write_export(struct buf *o, const struct export_info *x)
{
    int rc = json_put_raw(o, "{\"ExportArn\":");

    rc |= json_put_cstr(o, x->arn);
    rc |= json_put_raw(o, ",\"ExportStatus\":");
    rc |= json_put_cstr(o, export_status_name(x->status));
    rc |= json_put_raw(o, ",\"StartTime\":");
    rc |= json_put_time_ms(o, x->start_ms);
    if (x->status != EXPORT_IN_PROGRESS) {
        rc |= json_put_raw(o, ",\"EndTime\":");
        rc |= json_put_time_ms(o, x->end_ms);
    }
    if (x->status == EXPORT_COMPLETED)
        rc |= put_opt(o, "ExportManifest", x->manifest);
    rc |= put_opt(o, "TableArn", x->table_arn);
    rc |= put_opt(o, "TableId", x->table_id);
    rc |= json_put_raw(o, ",\"ExportTime\":");
    rc |= json_put_time_ms(o, x->export_time_ms);
    rc |= put_opt(o, "ClientToken", x->client_token);
    rc |= put_opt(o, "S3Bucket", x->bucket);
    rc |= put_opt(o, "S3BucketOwner", x->bucket_owner);
    rc |= put_opt(o, "S3Prefix", x->prefix);
    rc |= put_opt(o, "S3SseAlgorithm", x->sse_algorithm);
    rc |= put_opt(o, "S3SseKmsKeyId", x->sse_kms_key_id);
    if (x->status == EXPORT_FAILED) {
        rc |= put_opt(o, "FailureCode", x->failure_code);
        rc |= put_opt(o, "FailureMessage", x->failure_message);
    }
    rc |= put_opt(o, "ExportFormat", x->format);
    if (x->status == EXPORT_COMPLETED) {
        rc |= json_put_raw(o, ",\"BilledSizeBytes\":");
        rc |= json_put_i64(o, (int64_t)x->billed_bytes);
        rc |= json_put_raw(o, ",\"ItemCount\":");
        rc |= json_put_i64(o, (int64_t)x->item_count);
    }
    rc |= json_put_raw(o, ",\"ExportType\":\"FULL_EXPORT\"}");
    return rc ? TM_ENOMEM : 0;
}

static int answer_export(struct api_req *r, const struct export_info *x)
{
    int rc = json_put_raw(&r->out, "{\"ExportDescription\":");

    rc |= write_export(&r->out, x);
    rc |= buf_putc(&r->out, '}');
    return rc ? nomem(r) : 0;
}

/* ---- ExportTableToPointInTime -------------------------------------------- */

int api_export_table_to_point_in_time(struct api_req *r)
{
    struct verrs v;
    const char *arn, *token, *bucket, *owner, *prefix, *sse, *kms, *format,
        *type, *name;
    json_t *when, *incr;
    struct export_request q = {0};
    struct export_info *x;
    struct table *t;
    char tarn[1100];
    int64_t lo, hi, at;
    int other, existing, rc;

    verrs_init(&v);
    if ((rc = req_string(r, r->body, "TableArn", &arn, NULL)) ||
        (rc = req_string(r, r->body, "ClientToken", &token, NULL)) ||
        (rc = req_string(r, r->body, "S3Bucket", &bucket, NULL)) ||
        (rc = req_string(r, r->body, "S3BucketOwner", &owner, NULL)) ||
        (rc = req_string(r, r->body, "S3Prefix", &prefix, NULL)) ||
        (rc = req_string(r, r->body, "S3SseAlgorithm", &sse, NULL)) ||
        (rc = req_string(r, r->body, "S3SseKmsKeyId", &kms, NULL)) ||
        (rc = req_string(r, r->body, "ExportFormat", &format, NULL)) ||
        (rc = req_string(r, r->body, "ExportType", &type, NULL)) ||
        (rc = req_object(r, r->body, "IncrementalExportSpecification",
                         &incr))) {
        buf_free(&v.msg);
        return rc;
    }
    when = json_object_get(r->body, "ExportTime");
    if (arn == NULL)
        verrs_add(&v, "null", "tableArn", "Member must not be null");
    else if (arn[0] == '\0')
        verrs_add(&v, "''", "tableArn",
                  "Member must have length greater than or equal to 1");
    else if (chars(arn) > 1024)
        verrs_add(&v, quoted(r, arn), "tableArn",
                  "Member must have length less than or equal to 1024");
    check_token(r, &v, token);
    check_bucket(r, &v, bucket, "s3Bucket");
    check_owner(r, &v, owner, "s3BucketOwner");
    check_prefix(r, &v, prefix, "s3Prefix");
    if (kms && (kms[0] == '\0' || chars(kms) > 2048))
        verrs_add(&v, quoted(r, kms), "s3SseKmsKeyId",
                  kms[0] ? "Member must have length less than or equal to "
                           "2048"
                         : "Member must have length greater than or equal "
                           "to 1");
    /* ExportType is newer than this build's API model: checked here */
    if (type && strcmp(type, "FULL_EXPORT") != 0 &&
        strcmp(type, "INCREMENTAL_EXPORT") != 0)
        verrs_add(&v, quoted(r, type), "exportType",
                  "Member must satisfy enum value set: [FULL_EXPORT, "
                  "INCREMENTAL_EXPORT]");
    if ((rc = verrs_finish(&v, r)))
        return rc;
    if (format && strcmp(format, "ION") == 0)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "ExportFormat ION is not supported by Tidemark: "
                            "export as DYNAMODB_JSON (the default), which "
                            "ImportTable, Athena and Glue also read");
    if ((type && strcmp(type, "INCREMENTAL_EXPORT") == 0) || incr)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "ExportType INCREMENTAL_EXPORT (and "
                            "IncrementalExportSpecification) is not "
                            "supported by Tidemark: make a FULL_EXPORT (the "
                            "default) at each time you need, or read the "
                            "changes with `tidemark history` or DynamoDB "
                            "Streams");
    name = arn_table(r, arn, &other);
    if (name == NULL)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "Invalid TableArn: '%s' is not a table ARN; "
                            "ExportTableToPointInTime takes the table's ARN "
                            "(arn:aws:dynamodb:%s:%s:table/NAME, as "
                            "DescribeTable shows it), not its name",
                            arn, r->ctx->region, r->ctx->account);
    if (prefix && (rc = prefix_usable(r, prefix, "S3Prefix")) != 0)
        return rc;
    if (export_dest_is_local(bucket) &&
        bucket[strlen(EXPORT_FILE_SCHEME)] != '/')
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "S3Bucket '%s' is not an absolute file:// path: "
                            "write file:///absolute/directory",
                            bucket);
    if (other ||
        catalog_get(engine_catalog(r->ctx->engine), name, r->arena, &t) !=
            0 ||
        t->status == TABLE_CREATING)
        return tm_error_set(&r->err, TM_ETABLENOTFOUND,
                            "Table not found: %s", arn);
    if (!t->pitr)
        return tm_error_set(&r->err, TM_EPITRUNAVAILABLE,
                            "Point in time recovery is not enabled for table "
                            "'%s'",
                            t->name);
    api_pitr_window(r, t, &lo, &hi);
    at = hi;
    if (when && !json_is_null(when)) {
        double s = json_number_value(when);
        at = isfinite(s) && fabs(s) < 1e15 ? (int64_t)llround(s * 1000.0)
                                           : INT64_MIN;
        /* boto3 and the CLI send whole seconds: a time in the window's
         * first second means its start (as for restores) */
        if (at < lo && at >= lo - lo % 1000)
            at = lo;
    }
    if (at < lo || at > hi) {
        char a1[96] = "?", a2[96], a3[96];
        if (at != INT64_MIN)
            clock_iso_ms(at, a1, sizeof a1);
        clock_iso_ms(lo, a2, sizeof a2);
        clock_iso_ms(hi, a3, sizeof a3);
        return tm_error_set(&r->err, TM_EBADEXPORTTIME,
                            "Export Time is invalid: ExportTime '%s' must be "
                            "within EarliestRestorableDateTime '%s' and "
                            "LatestRestorableDateTime '%s' of table '%s'",
                            a1, a2, a3, t->name);
    }
    table_arn(r, t->name, tarn, sizeof tarn);
    q.table = t;
    q.table_arn = tarn;
    q.export_time_ms = at;
    q.bucket = bucket;
    q.bucket_owner = owner;
    q.prefix = prefix && prefix[0] ? prefix : NULL;
    q.sse_algorithm = sse;
    q.sse_kms_key_id = kms;
    q.client_token = token;
    q.fingerprint = fingerprint(r->body);
    rc = export_begin(r->ctx->exports, &q, r->arena, &x, &existing, &r->err);
    if (rc)
        return rc;
    return answer_export(r, x);
}

/* ---- DescribeExport, ListExports ----------------------------------------- */

/* An ExportArn/ImportArn member: not null, 37 to 1024 characters. */
static void check_job_arn(struct api_req *r, struct verrs *v, const char *a,
                          const char *path, int required)
{
    if (a == NULL) {
        if (required)
            verrs_add(v, "null", path, "Member must not be null");
        return;
    }
    if (chars(a) < 37)
        verrs_add(v, quoted(r, a), path,
                  "Member must have length greater than or equal to 37");
    if (chars(a) > 1024)
        verrs_add(v, quoted(r, a), path,
                  "Member must have length less than or equal to 1024");
}

int api_describe_export(struct api_req *r)
{
    struct verrs v;
    const char *arn;
    struct export_info *x;
    int rc;

    verrs_init(&v);
    if ((rc = req_string(r, r->body, "ExportArn", &arn, NULL))) {
        buf_free(&v.msg);
        return rc;
    }
    check_job_arn(r, &v, arn, "exportArn", 1);
    if ((rc = verrs_finish(&v, r)))
        return rc;
    rc = export_get(r->ctx->exports, arn, r->arena, &x);
    if (rc == TM_EEXPORTNOTFOUND)
        return tm_error_set(&r->err, rc, "Export not found: %s", arn);
    if (rc)
        return nomem(r);
    return answer_export(r, x);
}

/* MaxResults / PageSize: 1 to 25 (default 25). */
static void check_page(struct api_req *r, struct verrs *v, int64_t n,
                       int has, const char *path)
{
    if (!has)
        return;
    if (n < 1)
        verrs_add(v, quoted(r, arena_printf(r->arena, "%lld",
                                            (long long)n)),
                  path, "Member must have value greater than or equal to 1");
    if (n > 25)
        verrs_add(v, quoted(r, arena_printf(r->arena, "%lld",
                                            (long long)n)),
                  path, "Member must have value less than or equal to 25");
}

int api_list_exports(struct api_req *r)
{
    struct verrs v;
    const char *tarn, *next;
    struct export_info **xs;
    int64_t max = 25;
    int has_max, more, rc;
    size_t n;
    struct buf *o = &r->out;

    verrs_init(&v);
    if ((rc = req_string(r, r->body, "TableArn", &tarn, NULL)) ||
        (rc = req_string(r, r->body, "NextToken", &next, NULL)) ||
        (rc = req_int(r, r->body, "MaxResults", &max, &has_max))) {
        buf_free(&v.msg);
        return rc;
    }
    check_page(r, &v, max, has_max, "maxResults");
    if ((rc = verrs_finish(&v, r)))
        return rc;
    if (!has_max)
        max = 25;
    rc = export_list(r->ctx->exports, tarn && tarn[0] ? tarn : NULL, next,
                     (size_t)max, r->arena, &xs, &n, &more);
    if (rc)
        return nomem(r);
    rc = json_put_raw(o, "{\"ExportSummaries\":[");
    for (size_t i = 0; i < n; i++) {
        rc |= json_put_raw(o, i ? ",{\"ExportArn\":" : "{\"ExportArn\":");
        rc |= json_put_cstr(o, xs[i]->arn);
        rc |= json_put_raw(o, ",\"ExportStatus\":");
        rc |= json_put_cstr(o, export_status_name(xs[i]->status));
        rc |= json_put_raw(o, ",\"ExportType\":\"FULL_EXPORT\"}");
    }
    rc |= buf_putc(o, ']');
    if (more && n > 0) {
        rc |= json_put_raw(o, ",\"NextToken\":");
        rc |= json_put_cstr(o, xs[n - 1]->arn);
    }
    rc |= buf_putc(o, '}');
    return rc ? nomem(r) : 0;
}

/* ---- ImportTableDescription ---------------------------------------------- */

static int write_source(struct buf *o, const struct import_info *x)
{
    int rc = json_put_raw(o, "{\"S3Bucket\":");

    rc |= json_put_cstr(o, x->bucket);
    rc |= put_opt(o, "S3BucketOwner", x->bucket_owner);
    rc |= put_opt(o, "S3KeyPrefix", x->key_prefix);
    rc |= buf_putc(o, '}');
    return rc;
}

static int write_import(struct buf *o, const struct import_info *x)
{
    int rc = json_put_raw(o, "{\"ImportArn\":");

    rc |= json_put_cstr(o, x->arn);
    rc |= json_put_raw(o, ",\"ImportStatus\":");
    rc |= json_put_cstr(o, export_status_name(x->status));
    rc |= put_opt(o, "TableArn", x->table_arn);
    rc |= put_opt(o, "TableId", x->table_id);
    rc |= put_opt(o, "ClientToken", x->client_token);
    rc |= json_put_raw(o, ",\"S3BucketSource\":");
    rc |= write_source(o, x);
    rc |= json_put_raw(o, ",\"ErrorCount\":");
    rc |= json_put_i64(o, (int64_t)x->errors);
    rc |= put_opt(o, "InputFormat", x->input_format);
    if (x->format_options) {
        rc |= json_put_raw(o, ",\"InputFormatOptions\":");
        rc |= json_put_raw(o, x->format_options);
    }
    rc |= put_opt(o, "InputCompressionType", x->compression);
    rc |= json_put_raw(o, ",\"TableCreationParameters\":");
    rc |= json_put_raw(o, x->creation_json);
    rc |= json_put_raw(o, ",\"StartTime\":");
    rc |= json_put_time_ms(o, x->start_ms);
    if (x->status != EXPORT_IN_PROGRESS) {
        rc |= json_put_raw(o, ",\"EndTime\":");
        rc |= json_put_time_ms(o, x->end_ms);
    }
    rc |= json_put_raw(o, ",\"ProcessedSizeBytes\":");
    rc |= json_put_i64(o, (int64_t)x->processed_bytes);
    rc |= json_put_raw(o, ",\"ProcessedItemCount\":");
    rc |= json_put_i64(o, (int64_t)x->processed_items);
    rc |= json_put_raw(o, ",\"ImportedItemCount\":");
    rc |= json_put_i64(o, (int64_t)x->imported_items);
    if (x->status == EXPORT_FAILED) {
        rc |= put_opt(o, "FailureCode", x->failure_code);
        rc |= put_opt(o, "FailureMessage", x->failure_message);
    }
    rc |= buf_putc(o, '}');
    return rc ? TM_ENOMEM : 0;
}

static int answer_import(struct api_req *r, const struct import_info *x)
{
    int rc = json_put_raw(&r->out, "{\"ImportTableDescription\":");

    rc |= write_import(&r->out, x);
    rc |= buf_putc(&r->out, '}');
    return rc ? nomem(r) : 0;
}

/* ---- ImportTable --------------------------------------------------------- */

struct import_state {
    struct table *t;             /* heap: the new table until created */
    struct import_info *x;       /* arena */
};

static int import_apply(struct engine_wtx *w, void *arg,
                        struct tm_error *err)
{
    struct api_req *r = arg;
    struct import_state *s = r->state;
    int rc;

    s->t->created_ms = engine_wtx_time(w);
    if (s->t->billing == BILLING_PAY_PER_REQUEST)
        s->t->ppr_since_ms = s->t->created_ms;
    rc = engine_wtx_create_table(w, s->t);
    if (rc == TM_EINUSE)
        return tm_error_set(err, rc, "Table already exists: %s",
                            s->t->name);
    if (rc)
        return tm_error_set(err, rc, "creating table %s failed",
                            s->t->name);
    s->t = NULL; /* the catalog owns it */
    return 0;
}

static int import_finish(struct api_req *r)
{
    struct import_state *s = r->state;

    table_free(s->t);
    s->t = NULL;
    if (r->op.rc < 0) {
        import_abandon(r->ctx->exports, s->x->arn);
        return r->op.rc;
    }
    import_launch(r->ctx->exports, s->x->arn);
    return answer_import(r, s->x);
}

static char *dump(struct api_req *r, json_t *j)
{
    char *text = jsonmem_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char *copy = text ? arena_strdup(r->arena, text) : NULL;
    free(text);
    return copy;
}

int api_import_table(struct api_req *r)
{
    struct verrs v;
    const char *token, *format, *comp, *bucket = NULL, *owner = NULL,
                                       *kprefix = NULL;
    json_t *src, *opts, *params;
    struct import_request q = {0};
    struct import_state *s;
    struct import_info *x;
    struct table *t, *exists;
    char tarn[1100];
    int existing, rc;

    verrs_init(&v);
    if ((rc = req_string(r, r->body, "ClientToken", &token, NULL)) ||
        (rc = req_object(r, r->body, "S3BucketSource", &src)) ||
        (rc = req_string(r, r->body, "InputFormat", &format, NULL)) ||
        (rc = req_object(r, r->body, "InputFormatOptions", &opts)) ||
        (rc = req_string(r, r->body, "InputCompressionType", &comp, NULL)) ||
        (rc = req_object(r, r->body, "TableCreationParameters", &params)) ||
        (src && ((rc = req_string(r, src, "S3Bucket", &bucket, NULL)) ||
                 (rc = req_string(r, src, "S3BucketOwner", &owner, NULL)) ||
                 (rc = req_string(r, src, "S3KeyPrefix", &kprefix, NULL))))) {
        buf_free(&v.msg);
        return rc;
    }
    check_token(r, &v, token);
    if (src == NULL)
        verrs_add(&v, "null", "s3BucketSource", "Member must not be null");
    else {
        check_bucket(r, &v, bucket, "s3BucketSource.s3Bucket");
        check_owner(r, &v, owner, "s3BucketSource.s3BucketOwner");
        check_prefix(r, &v, kprefix, "s3BucketSource.s3KeyPrefix");
    }
    if (format == NULL)
        verrs_add(&v, "null", "inputFormat", "Member must not be null");
    if (params == NULL)
        verrs_add(&v, "null", "tableCreationParameters",
                  "Member must not be null");
    if ((rc = verrs_finish(&v, r)))
        return rc;
    if (strcmp(format, "DYNAMODB_JSON") != 0)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "InputFormat %s is not supported by Tidemark: "
                            "import DYNAMODB_JSON files (one "
                            "{\"Item\":{...}} per line, as "
                            "ExportTableToPointInTime writes them)",
                            format);
    if (export_dest_is_local(bucket) &&
        bucket[strlen(EXPORT_FILE_SCHEME)] != '/')
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "S3Bucket '%s' is not an absolute file:// path: "
                            "write file:///absolute/directory",
                            bucket);
    if (kprefix && (rc = prefix_usable(r, kprefix, "S3KeyPrefix")) != 0)
        return rc;
    q.fingerprint = fingerprint(r->body);
    /* a retry with the same ClientToken answers the first import, whose
     * table exists by now */
    rc = import_by_token(r->ctx->exports, token, q.fingerprint, r->arena,
                         &x, &r->err);
    if (rc == 1)
        return answer_import(r, x);
    if (rc)
        return rc;
    if ((rc = api_table_from_params(r, params, &t)) != 0)
        return rc;
    if (catalog_get(engine_catalog(r->ctx->engine), t->name, r->arena,
                    &exists) == 0) {
        rc = tm_error_set(&r->err, TM_EINUSE, "Table already exists: %s",
                          t->name);
        table_free(t);
        return rc;
    }
    t->status = TABLE_CREATING;
    table_arn(r, t->name, tarn, sizeof tarn);
    q.table = t;
    q.table_arn = tarn;
    q.bucket = bucket;
    q.bucket_owner = owner;
    q.key_prefix = kprefix && kprefix[0] ? kprefix : NULL;
    q.input_format = format;
    q.compression = comp ? comp : "NONE";
    q.format_options = opts ? dump(r, opts) : NULL;
    q.creation_json = dump(r, params);
    q.client_token = token;
    if (q.creation_json == NULL || (opts && q.format_options == NULL)) {
        table_free(t);
        return nomem(r);
    }
    rc = import_begin(r->ctx->exports, &q, r->arena, &x, &existing, &r->err);
    if (rc || existing) {
        table_free(t);
        return rc ? rc : answer_import(r, x);
    }
    s = arena_calloc(r->arena, 1, sizeof *s);
    if (s == NULL) {
        import_abandon(r->ctx->exports, x->arn);
        table_free(t);
        return nomem(r);
    }
    s->t = t;
    s->x = x;
    r->state = s;
    r->op.apply = import_apply;
    r->op.arg = r;
    r->finish = import_finish;
    return API_PENDING;
}

/* ---- DescribeImport, ListImports ----------------------------------------- */

int api_describe_import(struct api_req *r)
{
    struct verrs v;
    const char *arn;
    struct import_info *x;
    int rc;

    verrs_init(&v);
    if ((rc = req_string(r, r->body, "ImportArn", &arn, NULL))) {
        buf_free(&v.msg);
        return rc;
    }
    check_job_arn(r, &v, arn, "importArn", 1);
    if ((rc = verrs_finish(&v, r)))
        return rc;
    rc = import_get(r->ctx->exports, arn, r->arena, &x);
    if (rc == TM_EIMPORTNOTFOUND)
        return tm_error_set(&r->err, rc, "Import not found: %s", arn);
    if (rc)
        return nomem(r);
    return answer_import(r, x);
}

/* ListImports' NextToken must match ([0-9a-f]{16})+ and be 112 to 1024
 * long: the last ARN in hex, padded with "00" bytes to a multiple of 8
 * bytes and at least 56. */
static char *token_of(struct api_req *r, const char *arn)
{
    size_t n = strlen(arn), bytes = n;
    char *t;

    if (bytes < 56)
        bytes = 56;
    bytes = (bytes + 7) / 8 * 8;
    t = arena_alloc(r->arena, bytes * 2 + 1);
    if (t == NULL)
        return NULL;
    for (size_t i = 0; i < bytes; i++)
        snprintf(t + 2 * i, 3, "%02x",
                 i < n ? (unsigned)(unsigned char)arn[i] : 0u);
    return t;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                                                 : -1;
}

static char *arn_of_token(struct api_req *r, const char *t)
{
    size_t n = strlen(t);
    char *a = arena_alloc(r->arena, n / 2 + 1);

    if (a == NULL)
        return NULL;
    for (size_t i = 0; i < n / 2; i++)
        a[i] = (char)(hexval(t[2 * i]) << 4 | hexval(t[2 * i + 1]));
    a[n / 2] = '\0';
    return a;
}

int api_list_imports(struct api_req *r)
{
    struct verrs v;
    const char *tarn, *next, *after = NULL;
    struct import_info **xs;
    int64_t size = 25;
    int has_size, more, rc;
    size_t n;
    struct buf *o = &r->out;

    verrs_init(&v);
    if ((rc = req_string(r, r->body, "TableArn", &tarn, NULL)) ||
        (rc = req_string(r, r->body, "NextToken", &next, NULL)) ||
        (rc = req_int(r, r->body, "PageSize", &size, &has_size))) {
        buf_free(&v.msg);
        return rc;
    }
    check_page(r, &v, size, has_size, "pageSize");
    if (next) {
        size_t len = strlen(next);
        int hex = len % 16 == 0 && len > 0;
        for (size_t i = 0; hex && i < len; i++)
            hex = hexval(next[i]) >= 0;
        if (len < 112)
            verrs_add(&v, quoted(r, next), "nextToken",
                      "Member must have length greater than or equal to "
                      "112");
        if (len > 1024)
            verrs_add(&v, quoted(r, next), "nextToken",
                      "Member must have length less than or equal to 1024");
        if (!hex)
            verrs_add(&v, quoted(r, next), "nextToken",
                      "Member must satisfy regular expression pattern: "
                      "([0-9a-f]{16})+");
    }
    if ((rc = verrs_finish(&v, r)))
        return rc;
    if (!has_size)
        size = 25;
    if (next && (after = arn_of_token(r, next)) == NULL)
        return nomem(r);
    rc = import_list(r->ctx->exports, tarn && tarn[0] ? tarn : NULL, after,
                     (size_t)size, r->arena, &xs, &n, &more);
    if (rc)
        return nomem(r);
    rc = json_put_raw(o, "{\"ImportSummaryList\":[");
    for (size_t i = 0; i < n; i++) {
        rc |= json_put_raw(o, i ? ",{\"ImportArn\":" : "{\"ImportArn\":");
        rc |= json_put_cstr(o, xs[i]->arn);
        rc |= json_put_raw(o, ",\"ImportStatus\":");
        rc |= json_put_cstr(o, export_status_name(xs[i]->status));
        rc |= put_opt(o, "TableArn", xs[i]->table_arn);
        rc |= json_put_raw(o, ",\"S3BucketSource\":");
        rc |= write_source(o, xs[i]);
        rc |= put_opt(o, "InputFormat", xs[i]->input_format);
        rc |= json_put_raw(o, ",\"StartTime\":");
        rc |= json_put_time_ms(o, xs[i]->start_ms);
        if (xs[i]->status != EXPORT_IN_PROGRESS) {
            rc |= json_put_raw(o, ",\"EndTime\":");
            rc |= json_put_time_ms(o, xs[i]->end_ms);
        }
        rc |= buf_putc(o, '}');
    }
    rc |= buf_putc(o, ']');
    if (more && n > 0) {
        char *t = token_of(r, xs[n - 1]->arn);
        if (t == NULL)
            return nomem(r);
        rc |= json_put_raw(o, ",\"NextToken\":");
        rc |= json_put_cstr(o, t);
    }
    rc |= buf_putc(o, '}');
    return rc ? nomem(r) : 0;
}
