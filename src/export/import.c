/*
 * import.c - ImportTable's job and records; see export.h for what an
 * import does and guarantees, export.c for the manager that runs it.
 *
 * The job (import_run), step by step:
 *   1. the table ImportTable created (CREATING) must still be there with
 *      the import's TableId; the rows an interrupted attempt loaded are
 *      dropped (one writer op), so every attempt starts from empty;
 *   2. open the source (export_dest_open) and list what to read:
 *        - if <S3KeyPrefix>/manifest-summary.json exists, the prefix is an
 *          export's directory: the files manifest-files.json lists, found
 *          under <prefix>/data/ by name, each checked after reading
 *          against its md5Checksum and itemCount (Tidemark reads its own
 *          exports and DynamoDB's this way);
 *        - otherwise every object under the prefix, as DynamoDB does;
 *      a source that cannot be listed, or holds nothing, ends the import
 *      FAILED and the table is removed;
 *   3. each file is read line by line (export_file.h), each line parsed
 *      and checked against the table (key attributes and their types,
 *      index key types, the 400 KB item limit) exactly as PutItem checks
 *      an item; valid items go to the writer in batches of IMPORT_BATCH
 *      (index_put_item: the table's GSIs are filled as the rows arrive);
 *      a bad line, an unreadable file or one that does not match its
 *      manifest is counted in ErrorCount and logged (the server log stands
 *      in for DynamoDB's CloudWatch log group), and the import goes on;
 *   4. the table turns ACTIVE; the import is COMPLETED, or FAILED with
 *      FailureCode ItemValidationError (bad lines) or S3ObjectUnreadable
 *      (a file that could not be read or did not match its manifest),
 *      the valid items staying in the table, as DynamoDB does.
 * Counters (ProcessedItemCount: lines read, ImportedItemCount,
 * ErrorCount, ProcessedSizeBytes: bytes of the files read) are published
 * after each batch; the record is rewritten after each file.
 */
#include "export/export_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "export/export_dest.h"
#include "export/export_file.h"
#include "index/index.h"
#include "item/item.h"
#include "storage/key.h"

#define IMPORT_BATCH 500
#define IMPORT_LOGGED_ERRORS 20

/* ==== Records ==== */

void import_info_free(struct import_info *x)
{
    if (x == NULL)
        return;
    free(x->arn);
    free(x->id);
    free(x->table_name);
    free(x->table_arn);
    free(x->table_id);
    free(x->client_token);
    free(x->bucket);
    free(x->bucket_owner);
    free(x->key_prefix);
    free(x->input_format);
    free(x->compression);
    free(x->format_options);
    free(x->creation_json);
    free(x->failure_code);
    free(x->failure_message);
    free(x);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static char *adup(struct arena *a, const char *s, int *oom)
{
    char *c;

    if (s == NULL)
        return NULL;
    c = arena_strdup(a, s);
    if (c == NULL)
        *oom = 1;
    return c;
}

static struct import_info *import_info_copy(struct arena *a,
                                            const struct import_info *x)
{
    struct import_info *c = arena_alloc(a, sizeof *c);
    int oom = 0;

    if (c == NULL)
        return NULL;
    *c = *x;
    c->arn = adup(a, x->arn, &oom);
    c->id = adup(a, x->id, &oom);
    c->table_name = adup(a, x->table_name, &oom);
    c->table_arn = adup(a, x->table_arn, &oom);
    c->table_id = adup(a, x->table_id, &oom);
    c->client_token = adup(a, x->client_token, &oom);
    c->bucket = adup(a, x->bucket, &oom);
    c->bucket_owner = adup(a, x->bucket_owner, &oom);
    c->key_prefix = adup(a, x->key_prefix, &oom);
    c->input_format = adup(a, x->input_format, &oom);
    c->compression = adup(a, x->compression, &oom);
    c->format_options = adup(a, x->format_options, &oom);
    c->creation_json = adup(a, x->creation_json, &oom);
    c->failure_code = adup(a, x->failure_code, &oom);
    c->failure_message = adup(a, x->failure_message, &oom);
    return oom ? NULL : c;
}

static void set_str(json_t *o, const char *k, const char *v)
{
    if (v)
        json_object_set_new(o, k, json_string(v));
}

static void set_u64(json_t *o, const char *k, uint64_t v)
{
    json_object_set_new(o, k, json_integer((json_int_t)v));
}

static json_t *import_to_json(const struct import_info *x)
{
    json_t *o = json_object();

    if (o == NULL)
        return NULL;
    set_u64(o, "v", 1);
    set_str(o, "arn", x->arn);
    set_str(o, "id", x->id);
    set_str(o, "table_name", x->table_name);
    set_str(o, "table_arn", x->table_arn);
    set_str(o, "table_id", x->table_id);
    set_str(o, "client_token", x->client_token);
    set_u64(o, "fingerprint", x->fingerprint);
    set_str(o, "bucket", x->bucket);
    set_str(o, "bucket_owner", x->bucket_owner);
    set_str(o, "key_prefix", x->key_prefix);
    set_str(o, "input_format", x->input_format);
    set_str(o, "compression", x->compression);
    set_str(o, "format_options", x->format_options);
    set_str(o, "creation", x->creation_json);
    set_u64(o, "start", (uint64_t)x->start_ms);
    set_u64(o, "end", (uint64_t)x->end_ms);
    set_str(o, "status", export_status_name(x->status));
    set_u64(o, "processed_items", x->processed_items);
    set_u64(o, "imported_items", x->imported_items);
    set_u64(o, "errors", x->errors);
    set_u64(o, "processed_bytes", x->processed_bytes);
    set_str(o, "failure_code", x->failure_code);
    set_str(o, "failure_message", x->failure_message);
    return o;
}

static const char *jstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static uint64_t ju64(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
}

static struct import_info *import_from_json(json_t *o)
{
    struct import_info *x = calloc(1, sizeof *x);
    const char *st;

    if (x == NULL)
        return NULL;
    x->arn = dup_or_null(jstr(o, "arn"));
    x->id = dup_or_null(jstr(o, "id"));
    x->table_name = dup_or_null(jstr(o, "table_name"));
    x->table_arn = dup_or_null(jstr(o, "table_arn"));
    x->table_id = dup_or_null(jstr(o, "table_id"));
    x->client_token = dup_or_null(jstr(o, "client_token"));
    x->fingerprint = ju64(o, "fingerprint");
    x->bucket = dup_or_null(jstr(o, "bucket"));
    x->bucket_owner = dup_or_null(jstr(o, "bucket_owner"));
    x->key_prefix = dup_or_null(jstr(o, "key_prefix"));
    x->input_format = dup_or_null(jstr(o, "input_format"));
    x->compression = dup_or_null(jstr(o, "compression"));
    x->format_options = dup_or_null(jstr(o, "format_options"));
    x->creation_json = dup_or_null(jstr(o, "creation"));
    x->start_ms = (int64_t)ju64(o, "start");
    x->end_ms = (int64_t)ju64(o, "end");
    st = jstr(o, "status");
    x->status = st && strcmp(st, "COMPLETED") == 0 ? EXPORT_COMPLETED
                : st && strcmp(st, "FAILED") == 0  ? EXPORT_FAILED
                                                   : EXPORT_IN_PROGRESS;
    x->processed_items = ju64(o, "processed_items");
    x->imported_items = ju64(o, "imported_items");
    x->errors = ju64(o, "errors");
    x->processed_bytes = ju64(o, "processed_bytes");
    x->failure_code = dup_or_null(jstr(o, "failure_code"));
    x->failure_message = dup_or_null(jstr(o, "failure_message"));
    if (x->arn == NULL || x->id == NULL || x->table_name == NULL ||
        x->table_id == NULL || x->bucket == NULL || x->table_arn == NULL ||
        x->creation_json == NULL || x->compression == NULL ||
        x->input_format == NULL) {
        import_info_free(x);
        return NULL;
    }
    return x;
}

static int import_add(struct export_mgr *m, struct import_info *x)
{
    if (m->nim == m->capim) {
        size_t ncap = m->capim ? m->capim * 2 : 32;
        struct import_info **nv = realloc(m->im, ncap * sizeof *nv);
        if (nv == NULL)
            return TM_ENOMEM;
        m->im = nv;
        m->capim = ncap;
    }
    m->im[m->nim++] = x;
    /* keep ascending ids (start time, then the random part): two
     * started in the same millisecond may arrive out of order */
    for (size_t i = m->nim - 1;
         i > 0 && strcmp(m->im[i - 1]->id, m->im[i]->id) > 0; i--) {
        void *t = m->im[i];
        m->im[i] = m->im[i - 1];
        m->im[i - 1] = t;
    }
    return 0;
}

static struct import_info *import_find(struct export_mgr *m, const char *arn)
{
    for (size_t i = 0; i < m->nim; i++)
        if (strcmp(m->im[i]->arn, arn) == 0)
            return m->im[i];
    return NULL;
}

static int by_id(const void *a, const void *b)
{
    return strcmp((*(struct import_info *const *)a)->id,
                  (*(struct import_info *const *)b)->id);
}

int import_load_records(struct export_mgr *m, struct tm_error *err)
{
    DIR *d = opendir(m->imports_dir);
    struct dirent *de;

    if (d == NULL)
        return tm_error_set(err, TM_EIO, "cannot read %s: %s",
                            m->imports_dir, strerror(errno));
    while ((de = readdir(d)) != NULL) {
        char path[4096];
        size_t n = strlen(de->d_name);
        json_error_t jerr;
        json_t *o;
        struct import_info *x;

        snprintf(path, sizeof path, "%s/%s", m->imports_dir, de->d_name);
        if (n > 4 && strcmp(de->d_name + n - 4, ".tmp") == 0) {
            unlink(path);
            continue;
        }
        if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
            continue;
        o = json_load_file(path, 0, &jerr);
        x = o ? import_from_json(o) : NULL;
        json_decref(o);
        if (x == NULL) {
            tm_warn("import record %s cannot be read (%s); it is ignored",
                    path, jerr.text);
            continue;
        }
        if (import_add(m, x) != 0) {
            import_info_free(x);
            closedir(d);
            return tm_error_set(err, TM_ENOMEM, "out of memory");
        }
    }
    closedir(d);
    if (m->nim > 1)
        qsort(m->im, m->nim, sizeof *m->im, by_id);
    return 0;
}

/* ==== ImportTable, DescribeImport, ListImports ==== */

int import_by_token(struct export_mgr *m, const char *token, uint64_t fp,
                    struct arena *a, struct import_info **out,
                    struct tm_error *err)
{
    int64_t now = clock_now_ms();
    int rc = 0;

    pthread_mutex_lock(&m->lock);
    for (size_t i = m->nim; token && i-- > 0;) {
        struct import_info *e = m->im[i];
        if (e->client_token == NULL || strcmp(e->client_token, token) != 0 ||
            now - e->start_ms > EXPORT_TOKEN_MS)
            continue;
        if (e->fingerprint != fp)
            rc = tm_error_set(err, TM_EIMPORTCONFLICT,
                              "There was a conflict when importing from the "
                              "specified S3 source. This can occur when the "
                              "current import conflicts with a previous "
                              "import request that had the same client "
                              "token.");
        else if ((*out = import_info_copy(a, e)) == NULL)
            rc = tm_error_set(err, TM_ENOMEM, "out of memory");
        else
            rc = 1;
        break;
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

int import_begin(struct export_mgr *m, const struct import_request *q,
                 struct arena *a, struct import_info **out, int *existing,
                 struct tm_error *err)
{
    struct import_info *x;
    int64_t now = clock_now_ms();
    size_t running = 0;
    char id[32], arn[2048];
    int rc;

    *existing = 0;
    rc = import_by_token(m, q->client_token, q->fingerprint, a, out, err);
    if (rc == 1) {
        *existing = 1;
        return 0;
    }
    if (rc)
        return rc;
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->nim; i++)
        running += m->im[i]->status == EXPORT_IN_PROGRESS;
    pthread_mutex_unlock(&m->lock);
    if (running >= IMPORT_MAX_IN_PROGRESS)
        return tm_error_set(err, TM_ELIMIT,
                            "There are %zu imports in progress, the most "
                            "this account may have at once (%d); retry when"
                            " one has finished (DescribeImport)",
                            running, IMPORT_MAX_IN_PROGRESS);
    xfer_new_id(now, id);
    snprintf(arn, sizeof arn, "%s/import/%s", q->table_arn, id);
    x = calloc(1, sizeof *x);
    if (x == NULL)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    x->arn = strdup(arn);
    x->id = strdup(id);
    x->table_name = strdup(q->table->name);
    x->table_arn = strdup(q->table_arn);
    x->table_id = strdup(q->table->id);
    x->client_token = dup_or_null(q->client_token);
    x->fingerprint = q->fingerprint;
    x->bucket = strdup(q->bucket);
    x->bucket_owner = dup_or_null(q->bucket_owner);
    x->key_prefix = dup_or_null(q->key_prefix);
    x->input_format = strdup(q->input_format);
    x->compression = strdup(q->compression);
    x->format_options = dup_or_null(q->format_options);
    x->creation_json = strdup(q->creation_json);
    x->start_ms = now;
    x->status = EXPORT_IN_PROGRESS;
    if (x->arn == NULL || x->id == NULL || x->table_name == NULL ||
        x->table_arn == NULL || x->table_id == NULL || x->bucket == NULL ||
        x->input_format == NULL || x->compression == NULL ||
        x->creation_json == NULL) {
        import_info_free(x);
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    }
    if ((rc = xfer_record_write(m->imports_dir, x->id, import_to_json(x),
                                err)) != 0) {
        import_info_free(x);
        return rc;
    }
    pthread_mutex_lock(&m->lock);
    rc = import_add(m, x);
    *out = rc ? NULL : import_info_copy(a, x);
    pthread_mutex_unlock(&m->lock);
    if (rc) {
        import_info_free(x);
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    }
    return *out ? 0 : tm_error_set(err, TM_ENOMEM, "out of memory");
}

void import_launch(struct export_mgr *m, const char *arn)
{
    if (xfer_queue(m, JOB_IMPORT, arn) != 0)
        tm_errorf("import %s could not be queued; it starts at the next "
                  "start of the server",
                  arn);
    else
        tm_info("import %s started", arn);
}

void import_abandon(struct export_mgr *m, const char *arn)
{
    struct import_info *x = NULL;
    char path[4096] = "";

    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->nim; i++)
        if (strcmp(m->im[i]->arn, arn) == 0) {
            x = m->im[i];
            memmove(m->im + i, m->im + i + 1,
                    (m->nim - i - 1) * sizeof *m->im);
            m->nim--;
            break;
        }
    pthread_mutex_unlock(&m->lock);
    if (x) {
        snprintf(path, sizeof path, "%s/%s.json", m->imports_dir, x->id);
        unlink(path);
        import_info_free(x);
    }
}

int import_get(struct export_mgr *m, const char *arn, struct arena *a,
               struct import_info **out)
{
    struct import_info *x;
    int rc = 0;

    pthread_mutex_lock(&m->lock);
    x = import_find(m, arn);
    if (x == NULL)
        rc = TM_EIMPORTNOTFOUND;
    else if ((*out = import_info_copy(a, x)) == NULL)
        rc = TM_ENOMEM;
    pthread_mutex_unlock(&m->lock);
    return rc;
}

int import_list(struct export_mgr *m, const char *table_arn,
                const char *after, size_t limit, struct arena *a,
                struct import_info ***out, size_t *n, int *more)
{
    const char *after_id = NULL;
    int rc = 0;

    *n = 0;
    *more = 0;
    *out = arena_calloc(a, limit + 1, sizeof **out);
    if (*out == NULL)
        return TM_ENOMEM;
    if (after) {
        const char *slash = strrchr(after, '/');
        after_id = slash ? slash + 1 : after;
    }
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->nim && rc == 0; i++) {
        struct import_info *x = m->im[i];
        if (after_id && strcmp(x->id, after_id) <= 0)
            continue;
        if (table_arn && strcmp(x->table_arn, table_arn) != 0)
            continue;
        if (*n == limit) {
            *more = 1;
            break;
        }
        if (((*out)[*n] = import_info_copy(a, x)) == NULL)
            rc = TM_ENOMEM;
        else
            (*n)++;
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

/* ==== The import job ==== */

struct row {
    uint8_t *key, *enc;
    size_t klen, elen, size;
    struct av item;
};

struct ijob {
    struct export_mgr *m;
    const char *arn;
    const char *table;          /* name */
    const char *table_id;
    struct table *t;            /* arena copy, for checks */
    struct row rows[IMPORT_BATCH];
    int nrows;
    struct arena *batch;        /* the rows' memory */
    /* counters, published with publish() */
    uint64_t processed, imported, errors, bytes;
    int unreadable;             /* a file could not be read / matched */
    char first_error[700];
};

/* Inside apply(): the import's table, if it is still the one we made. */
static struct table *own_table(struct engine_wtx *w, struct ijob *j,
                               struct tm_error *err)
{
    struct table *t = catalog_find(engine_catalog(j->m->engine), j->table);

    (void)w;
    if (t == NULL || strcmp(t->id, j->table_id) != 0 ||
        t->status != TABLE_CREATING) {
        tm_error_set(err, TM_ENOTFOUND,
                     "table %s is gone or no longer being imported into",
                     j->table);
        return NULL;
    }
    return t;
}

static int drop_apply(struct engine_wtx *w, void *arg, struct tm_error *err)
{
    struct ijob *j = arg;
    struct table *t = own_table(w, j, err);
    int rc;

    if (t == NULL)
        return TM_ENOTFOUND;
    if ((rc = engine_wtx_drop_rows(w, t->no)))
        return tm_error_set(err, rc, "clearing table %s failed", j->table);
    for (size_t i = 0; i < t->nindexes; i++)
        if ((rc = engine_wtx_drop_rows(w, t->indexes[i].no)))
            return tm_error_set(err, rc, "clearing an index failed");
    return 0;
}

static int load_apply(struct engine_wtx *w, void *arg, struct tm_error *err)
{
    struct ijob *j = arg;
    struct table *t = own_table(w, j, err);
    struct arena *a;
    int rc = 0;

    if (t == NULL)
        return TM_ENOTFOUND;
    a = arena_create(65536, 256u << 20);
    if (a == NULL)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    for (int i = 0; i < j->nrows && rc == 0; i++) {
        struct row *r = &j->rows[i];
        rc = index_put_item(w, t, r->key, r->klen, &r->item, r->enc, r->elen,
                            r->size, a);
        if (rc)
            tm_error_set(err, rc, "loading an item failed");
        arena_reset(a);
    }
    arena_destroy(a);
    return rc;
}

static int activate_apply(struct engine_wtx *w, void *arg,
                          struct tm_error *err)
{
    struct ijob *j = arg;
    struct table *t = own_table(w, j, err), *nt;
    int rc;

    if (t == NULL)
        return TM_ENOTFOUND;
    nt = table_copy(t, NULL);
    if (nt == NULL)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    nt->status = TABLE_ACTIVE;
    rc = engine_wtx_update_table(w, nt);
    if (rc) {
        table_free(nt);
        return tm_error_set(err, rc, "activating table %s failed", j->table);
    }
    return 0;
}

static int remove_apply(struct engine_wtx *w, void *arg, struct tm_error *err)
{
    struct ijob *j = arg;
    int rc;

    if (own_table(w, j, err) == NULL)
        return 0; /* gone already */
    rc = engine_wtx_delete_table(w, j->table);
    return rc ? tm_error_set(err, rc, "removing table %s failed", j->table)
              : 0;
}

static int run_op(struct ijob *j,
                  int (*apply)(struct engine_wtx *, void *,
                               struct tm_error *),
                  struct tm_error *err)
{
    struct engine_op op = {0};
    int rc;

    op.apply = apply;
    op.arg = j;
    rc = engine_run(j->m->engine, &op);
    if (rc)
        *err = op.err;
    return rc;
}

static void publish(struct ijob *j, int persist)
{
    struct export_mgr *m = j->m;
    struct import_info *x;
    json_t *o = NULL;
    char id[64] = "";
    struct tm_error err;

    pthread_mutex_lock(&m->lock);
    x = import_find(m, j->arn);
    if (x) {
        x->processed_items = j->processed;
        x->imported_items = j->imported;
        x->errors = j->errors;
        x->processed_bytes = j->bytes;
        if (persist) {
            o = import_to_json(x);
            snprintf(id, sizeof id, "%s", x->id);
        }
    }
    pthread_mutex_unlock(&m->lock);
    if (o && xfer_record_write(m->imports_dir, id, o, &err) != 0)
        tm_warn("import %s: %s", j->arn, err.msg);
}

static void import_end(struct ijob *j, enum export_status st,
                       const char *code, const char *msg)
{
    struct export_mgr *m = j->m;
    struct import_info *x;

    pthread_mutex_lock(&m->lock);
    x = import_find(m, j->arn);
    if (x) {
        x->status = st;
        x->end_ms = clock_now_ms();
        free(x->failure_code);
        free(x->failure_message);
        x->failure_code = dup_or_null(code);
        x->failure_message = dup_or_null(msg);
    }
    pthread_mutex_unlock(&m->lock);
    publish(j, 1);
    if (st == EXPORT_COMPLETED)
        tm_info("import %s completed: %llu items into table %s", j->arn,
                (unsigned long long)j->imported, j->table);
    else
        tm_warn("import %s failed: %s: %s", j->arn, code, msg);
}

static int flush_rows(struct ijob *j, struct tm_error *err)
{
    int rc = 0;

    if (j->nrows > 0) {
        rc = run_op(j, load_apply, err);
        if (rc == 0)
            j->imported += (uint64_t)j->nrows;
    }
    j->nrows = 0;
    arena_reset(j->batch);
    publish(j, 0);
    return rc;
}

static void item_error(struct ijob *j, const char *file, uint64_t line,
                       const char *msg)
{
    j->errors++;
    if (j->errors <= IMPORT_LOGGED_ERRORS)
        tm_warn("import %s: %s line %llu: %s%s", j->arn, file,
                (unsigned long long)line, msg,
                j->errors == IMPORT_LOGGED_ERRORS
                    ? " (further errors are counted, not logged)"
                    : "");
    if (j->first_error[0] == '\0')
        snprintf(j->first_error, sizeof j->first_error, "%s line %llu: %s",
                 file, (unsigned long long)line, msg);
}

/* One line: parse, check against the table, queue for the writer. */
static int take_line(struct ijob *j, const char *file, uint64_t line_no,
                     const char *line, size_t len, struct tm_error *err)
{
    struct row *r = &j->rows[j->nrows];
    struct tm_error e;
    struct buf key, enc;
    int rc;

    /* bad lines allocate too: keep the batch's memory bounded */
    if (arena_used(j->batch) > (128u << 20) && (rc = flush_rows(j, err)))
        return rc;
    r = &j->rows[j->nrows];
    rc = export_line_parse(j->batch, line, len, &r->item, &e);
    if (rc == 0)
        return 0; /* a blank line */
    j->processed++;
    if (rc == TM_ENOMEM)
        return tm_error_set(err, rc, "out of memory");
    if (rc < 0) {
        item_error(j, file, line_no, e.msg);
        return 0;
    }
    buf_init(&key, 8192);
    buf_init(&enc, (size_t)ITEM_MAX_BYTES * 4);
    rc = key_from_item(&j->t->ks, &r->item, &key, &e);
    if (rc == 0)
        rc = index_check_item(j->t, &r->item, &e);
    if (rc == 0) {
        r->size = item_size(&r->item);
        if (r->size > ITEM_MAX_BYTES)
            rc = tm_error_set(&e, TM_EVALIDATION,
                              "Item size has exceeded the maximum allowed "
                              "size");
    }
    if (rc == 0 && (rc = item_encode(&r->item, &enc)) != 0)
        tm_error_set(&e, rc, "the item cannot be encoded");
    if (rc == 0) {
        r->key = arena_memdup(j->batch, key.data, key.len);
        r->enc = arena_memdup(j->batch, enc.data, enc.len);
        r->klen = key.len;
        r->elen = enc.len;
        if (r->key == NULL || r->enc == NULL)
            rc = tm_error_set(&e, TM_ENOMEM, "out of memory");
    }
    buf_free(&key);
    buf_free(&enc);
    if (rc == TM_ENOMEM)
        return tm_error_set(err, rc, "out of memory");
    if (rc) {
        item_error(j, file, line_no, e.msg);
        return 0;
    }
    j->nrows++;
    xfer_slow(j->m, j->processed);
    if (j->nrows == IMPORT_BATCH)
        return flush_rows(j, err);
    return 0;
}

/* One file to read. */
struct src {
    char *key;
    uint64_t size;
    int64_t items;      /* the manifest's itemCount, or -1 */
    char *md5;          /* the manifest's md5Checksum, or NULL */
};

struct srcs {
    struct src *v;
    size_t n, cap;
};

static int add_src(void *ctx, const char *key, uint64_t size)
{
    struct srcs *s = ctx;
    size_t n = strlen(key);

    if (n > 0 && key[n - 1] == '/')
        return 0; /* a "directory" marker object */
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 32;
        struct src *nv = realloc(s->v, ncap * sizeof *nv);
        if (nv == NULL)
            return TM_ENOMEM;
        s->v = nv;
        s->cap = ncap;
    }
    s->v[s->n].key = strdup(key);
    if (s->v[s->n].key == NULL)
        return TM_ENOMEM;
    s->v[s->n].size = size;
    s->v[s->n].items = -1;
    s->v[s->n].md5 = NULL;
    s->n++;
    return 0;
}

static void free_srcs(struct srcs *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].key);
        free(s->v[i].md5);
    }
    free(s->v);
}

/* Step 2: what to read.  0, or an error with *code. */
static int list_sources(struct ijob *j, struct export_dest *d,
                        const struct import_info *x, struct srcs *out,
                        struct arena *a, struct tm_error *err,
                        const char **code)
{
    const char *p = x->key_prefix ? x->key_prefix : "";
    char dir[1200], key[1300];
    struct buf text;
    struct export_summary sum;
    struct export_file_entry *files;
    size_t n;
    int rc;

    snprintf(dir, sizeof dir, "%s%s", p,
             p[0] && p[strlen(p) - 1] != '/' ? "/" : "");
    snprintf(key, sizeof key, "%smanifest-summary.json", dir);
    buf_init(&text, EXPORT_MANIFEST_MAX);
    rc = dir[0] ? export_dest_get(d, key, &text, err, code) : TM_ENOOBJECT;
    if (rc == TM_ENOOBJECT) {
        /* DynamoDB's rule: every object under the prefix */
        buf_free(&text);
        rc = export_dest_list(d, p, add_src, out, err, code);
        if (rc == TM_ENOMEM)
            tm_error_set(err, rc, "out of memory");
        if (rc == 0 && out->n == 0) {
            char where[1400];
            *code = "S3NoSuchKey";
            rc = tm_error_set(err, TM_ENOOBJECT,
                              "There is nothing to import: no object under "
                              "%s",
                              export_dest_describe(d, p, where,
                                                   sizeof where));
        }
        return rc;
    }
    if (rc == 0)
        rc = export_summary_parse(a, (char *)text.data, text.len, &sum, err);
    if (rc == 0 && sum.output_format &&
        strcmp(sum.output_format, "DYNAMODB_JSON") != 0)
        rc = tm_error_set(err, TM_EVALIDATION,
                          "%s is an export in %s format; only DYNAMODB_JSON "
                          "exports can be imported",
                          key, sum.output_format);
    if (rc == 0 && sum.export_type &&
        strcmp(sum.export_type, "FULL_EXPORT") != 0)
        rc = tm_error_set(err, TM_EVALIDATION,
                          "%s is an %s; only full exports can be imported",
                          key, sum.export_type);
    if (rc == 0) {
        snprintf(key, sizeof key, "%smanifest-files.json", dir);
        rc = export_dest_get(d, key, &text, err, code);
    }
    if (rc == 0)
        rc = export_files_parse(a, (char *)text.data, text.len, &files, &n,
                                err);
    buf_free(&text);
    if (rc) {
        if (*code == NULL || strcmp(*code, "S3Error") == 0)
            *code = "InvalidManifest";
        return rc;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        /* files are found under this export's data/ by name, so a copied
         * or moved export reads too */
        const char *base = strrchr(files[i].data_key, '/');
        base = base ? base + 1 : files[i].data_key;
        snprintf(key, sizeof key, "%sdata/%s", dir, base);
        rc = add_src(out, key, 0);
        if (rc == 0) {
            out->v[out->n - 1].items = (int64_t)files[i].item_count;
            out->v[out->n - 1].md5 = files[i].md5_checksum
                                         ? strdup(files[i].md5_checksum)
                                         : NULL;
        }
    }
    if (rc)
        tm_error_set(err, TM_ENOMEM, "out of memory");
    (void)j;
    return rc;
}

static enum export_compression compression_of(const char *s)
{
    if (s && strcmp(s, "GZIP") == 0)
        return EXPORT_GZIP;
    if (s && strcmp(s, "ZSTD") == 0)
        return EXPORT_ZSTD;
    return EXPORT_NONE;
}

/* Step 3 for one file.  0 (its problems are counted), or a failure of the
 * import itself (the writer, memory, stopping). */
static int read_file(struct ijob *j, struct export_dest *d,
                     const struct import_info *x, const struct src *s,
                     struct tm_error *err)
{
    char path[4096], where[1400];
    struct export_reader *r = NULL;
    struct tm_error e;
    const char *code, *line;
    size_t len;
    uint64_t lines = 0;
    int rc;

    export_dest_describe(d, s->key, where, sizeof where);
    rc = export_dest_fetch(d, s->key, path, sizeof path, &e, &code);
    if (rc == 0)
        rc = export_reader_open_file(path, compression_of(x->compression),
                                     where, &r, &e);
    if (rc) {
        j->unreadable = 1;
        item_error(j, where, 0, e.msg);
        return 0;
    }
    for (;;) {
        rc = export_reader_next(r, &line, &len, &e);
        if (rc == 1) {
            size_t before = j->processed;
            rc = take_line(j, where, export_reader_line_no(r), line, len,
                           err);
            lines += j->processed > before;
            if (rc)
                break;
            if (xfer_stopping(j->m)) {
                rc = TM_EUNAVAILABLE;
                break;
            }
            continue;
        }
        if (rc == TM_ETOOLARGE) {
            j->processed++;
            lines++;
            item_error(j, where, export_reader_line_no(r), e.msg);
            continue;
        }
        if (rc < 0) {
            /* the rest of this file cannot be read */
            j->unreadable = 1;
            item_error(j, where, export_reader_line_no(r) + 1, e.msg);
            rc = 0;
        } else if (s->items >= 0 || s->md5) {
            uint8_t md5[16];
            char b64[25];
            export_reader_md5(r, md5);
            export_md5_b64(md5, b64);
            if (s->md5 && strcmp(b64, s->md5) != 0) {
                char msg[200];
                snprintf(msg, sizeof msg,
                         "its MD5 is %s, the manifest says %s", b64, s->md5);
                j->unreadable = 1;
                item_error(j, where, 0, msg);
            } else if (s->items >= 0 && (int64_t)lines != s->items) {
                char msg[200];
                snprintf(msg, sizeof msg,
                         "it holds %llu items, the manifest says %lld",
                         (unsigned long long)lines, (long long)s->items);
                j->unreadable = 1;
                item_error(j, where, 0, msg);
            }
        }
        break;
    }
    if (rc == 0)
        j->bytes += export_reader_bytes_in(r);
    export_reader_close(r);
    export_dest_release(d, path);
    return rc;
}

void import_run(struct export_mgr *m, const char *arn)
{
    struct arena *a = arena_create(65536, 256u << 20);
    struct import_info *x = NULL;
    struct ijob *j = NULL;
    struct export_dest *d = NULL;
    struct srcs srcs = {0};
    struct tm_error err = {0};
    const char *code = NULL;
    char staging[4200];
    int rc;

    if (a == NULL || import_get(m, arn, a, &x) != 0 ||
        x->status != EXPORT_IN_PROGRESS ||
        (j = calloc(1, sizeof *j)) == NULL) {
        arena_destroy(a);
        return;
    }
    j->m = m;
    j->arn = x->arn;
    j->table = x->table_name;
    j->table_id = x->table_id;
    j->batch = arena_create(1u << 20, 1u << 30);
    /* 1. our table, emptied */
    if (j->batch == NULL) {
        rc = tm_error_set(&err, TM_ENOMEM, "out of memory");
    } else if (catalog_get(engine_catalog(m->engine), x->table_name, a,
                           &j->t) != 0 ||
               strcmp(j->t->id, x->table_id) != 0 ||
               j->t->status != TABLE_CREATING) {
        code = "TableNotFound";
        rc = tm_error_set(&err, TM_ENOTFOUND,
                          "Table %s, which the import was creating, is gone",
                          x->table_name);
    } else {
        rc = run_op(j, drop_apply, &err);
    }
    /* 2. the source */
    if (rc == 0) {
        snprintf(staging, sizeof staging, "%s/%s", m->staging_dir, x->id);
        rc = export_dest_open(x->bucket, m->s3_endpoint, m->region, staging,
                              &d, &err, &code);
    }
    if (rc == 0)
        rc = list_sources(j, d, x, &srcs, a, &err, &code);
    if (rc) {
        if (rc != TM_EUNAVAILABLE || !xfer_stopping(m)) {
            if (code == NULL || strcmp(code, "TableNotFound") != 0)
                run_op(j, remove_apply, &err);
            import_end(j, EXPORT_FAILED, code ? code : "S3Error", err.msg);
        }
        goto out;
    }
    /* 3. the files */
    for (size_t i = 0; i < srcs.n && rc == 0; i++) {
        rc = read_file(j, d, x, &srcs.v[i], &err);
        if (rc == 0)
            rc = flush_rows(j, &err);
        if (rc == 0)
            publish(j, 1);
    }
    if (rc == TM_EUNAVAILABLE && xfer_stopping(m)) {
        tm_info("import %s stopped with the server; it starts over at the "
                "next start",
                arn);
        goto out;
    }
    if (rc) {
        /* the writer failed: what was loaded stays, as for bad lines */
        if (run_op(j, activate_apply, &err) != 0)
            run_op(j, remove_apply, &err);
        import_end(j, EXPORT_FAILED, "InternalError", err.msg);
        goto out;
    }
    /* 4. the table is ready */
    rc = run_op(j, activate_apply, &err);
    if (rc) {
        import_end(j, EXPORT_FAILED, "TableNotFound", err.msg);
    } else if (j->errors) {
        char msg[1200];
        snprintf(msg, sizeof msg,
                 "%llu of %llu items could not be imported; %llu were. The "
                 "first problem: %s",
                 (unsigned long long)j->errors,
                 (unsigned long long)j->processed,
                 (unsigned long long)j->imported, j->first_error);
        import_end(j, EXPORT_FAILED,
                   j->unreadable ? "S3ObjectUnreadable"
                                 : "ItemValidationError",
                   msg);
    } else {
        import_end(j, EXPORT_COMPLETED, NULL, NULL);
    }
out:
    free_srcs(&srcs);
    export_dest_close(d);
    if (j)
        arena_destroy(j->batch);
    free(j);
    arena_destroy(a);
}
