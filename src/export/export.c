/*
 * export.c - the export and import manager (records, queue, workers) and
 * the export job; see export.h for what an export writes and guarantees.
 *
 * Records.  One JSON file per export in <data>/exports (<id>.json), read
 * at start: an IN_PROGRESS one is queued again.  The manager keeps every
 * record in memory (they are small) in ascending start time; the API
 * copies what it answers into its arena under the lock.
 *
 * Workers.  EXPORT_WORKERS threads at SCHED_IDLE take jobs from one FIFO
 * queue shared by exports and imports.  A job copies its record, works
 * without the lock, and publishes its progress and end under it.
 *
 * The export job, step by step (export_run):
 *   1. open the destination (export_dest_open): a missing bucket or
 *      directory ends the export FAILED with S3NoSuchBucket, and so on;
 *   2. remove what an interrupted earlier attempt left under
 *      <prefix>/AWSDynamoDB/<id>/, then write the empty _started;
 *   3. rebuild the table as of ExportTime and write the data files
 *      (rebuild(), the three passes of export.h), a new file every
 *      EXPORT_FILE_RAW_BYTES of JSON, at least one (empty if the table
 *      is), each staged, finished (fsync) and committed (uploaded and
 *      read back, or renamed in place) before it is listed;
 *   4. manifest-files.json, its .md5, manifest-summary.json, its .md5,
 *      in that order: the summary is the last thing written, so its
 *      presence means the export is whole;
 *   5. the record says COMPLETED, with ItemCount and BilledSizeBytes (the
 *      sum of the exported items' DynamoDB sizes).
 */
#include "export/export_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup/backup_format.h"
#include "base/clock.h"
#include "base/fsio.h"
#include "base/hash.h"
#include "base/jsonmem.h"
#include "base/log.h"
#include "export/export_dest.h"
#include "export/export_file.h"
#include "item/item.h"
#include "wal/wal.h"

#define EXPORT_FILE_RAW_BYTES (256ull << 20)

const char *export_status_name(enum export_status s)
{
    switch (s) {
    case EXPORT_IN_PROGRESS: return "IN_PROGRESS";
    case EXPORT_COMPLETED: return "COMPLETED";
    case EXPORT_FAILED: return "FAILED";
    }
    return "FAILED";
}

static enum export_status status_parse(const char *s)
{
    if (s && strcmp(s, "COMPLETED") == 0)
        return EXPORT_COMPLETED;
    if (s && strcmp(s, "FAILED") == 0)
        return EXPORT_FAILED;
    return EXPORT_IN_PROGRESS;
}

/* ==== Shared plumbing ==== */

/* Ids of one process ascend in the order they are made, so exports (and
 * imports) started in the same millisecond list in the order they were
 * asked for: the random part of a later id in the same millisecond is
 * the last one's plus 1..4096, and the millisecond moves on when that
 * would overflow (or the clock stepped back). */
void xfer_new_id(int64_t ms, char out[32])
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static int64_t last_ms = -1;
    static uint32_t last_r;
    uint32_t r;

    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
        r = (uint32_t)clock_mono_ns() ^ (uint32_t)getpid();
    pthread_mutex_lock(&lock);
    if (ms <= last_ms) {
        uint32_t step = 1 + (r & 0xfff);

        ms = last_ms;
        if (last_r > UINT32_MAX - step) {
            ms++;
        } else {
            r = last_r + step;
        }
    }
    last_ms = ms;
    last_r = r;
    pthread_mutex_unlock(&lock);
    snprintf(out, 32, "%014lld-%08x", (long long)ms, r);
}

int xfer_stopping(struct export_mgr *m)
{
    return atomic_load(&m->stopping);
}

void xfer_slow(struct export_mgr *m, uint64_t items)
{
    if (m->test_slow_ms > 0 && items % 100 == 0) {
        struct timespec ts = {m->test_slow_ms / 1000,
                              (long)(m->test_slow_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

int xfer_record_write(const char *dir, const char *id, json_t *o,
                      struct tm_error *err)
{
    char path[4096], tmp[4200];
    char *text = o ? jsonmem_dumps(o, JSON_COMPACT) : NULL;
    int fd, rc = 0;

    json_decref(o);
    if (text == NULL)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    snprintf(path, sizeof path, "%s/%s.json", dir, id);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    fd = fsio_open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0 || fsio_write_full(fd, text, strlen(text)) != 0 ||
        fsio_fdatasync(fd) != 0) {
        rc = errno;
        if (fd >= 0)
            fsio_close(fd);
        fd = -1;
    } else if (fsio_close(fd) != 0) {
        rc = errno;
    }
    if (rc == 0 && (fsio_rename(tmp, path) != 0 || fsio_fsync_dir(dir) != 0))
        rc = errno;
    free(text);
    if (rc) {
        fsio_unlink(tmp);
        return tm_error_set(err, TM_EIO, "cannot write %s: %s", path,
                            strerror(rc));
    }
    return 0;
}

int xfer_queue(struct export_mgr *m, enum job_kind kind, const char *arn)
{
    struct job *j = calloc(1, sizeof *j);

    if (j == NULL || (j->arn = strdup(arn)) == NULL) {
        free(j);
        return TM_ENOMEM;
    }
    j->kind = kind;
    pthread_mutex_lock(&m->lock);
    if (m->tail)
        m->tail->next = j;
    else
        m->head = j;
    m->tail = j;
    pthread_cond_signal(&m->cond);
    pthread_mutex_unlock(&m->lock);
    return 0;
}

static void export_run(struct export_mgr *m, const char *arn);

static void *worker_main(void *arg)
{
    struct export_mgr *m = arg;
    struct sched_param sp = {0};

    pthread_setname_np(pthread_self(), "tm-export"); /* top -H, perf */
    /* exports and imports yield to every request (backups do the same) */
    pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
    for (;;) {
        struct job *j;
        pthread_mutex_lock(&m->lock);
        while (m->head == NULL && !atomic_load(&m->stopping))
            pthread_cond_wait(&m->cond, &m->lock);
        if (atomic_load(&m->stopping)) {
            pthread_mutex_unlock(&m->lock);
            return NULL;
        }
        j = m->head;
        m->head = j->next;
        if (m->head == NULL)
            m->tail = NULL;
        pthread_mutex_unlock(&m->lock);
        if (j->kind == JOB_EXPORT)
            export_run(m, j->arn);
        else
            import_run(m, j->arn);
        free(j->arn);
        free(j);
    }
}

/* ==== Export records ==== */

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void export_info_free(struct export_info *x)
{
    if (x == NULL)
        return;
    free(x->arn);
    free(x->id);
    free(x->table_name);
    free(x->table_arn);
    free(x->table_id);
    free(x->bucket);
    free(x->bucket_owner);
    free(x->prefix);
    free(x->sse_algorithm);
    free(x->sse_kms_key_id);
    free(x->format);
    free(x->client_token);
    free(x->failure_code);
    free(x->failure_message);
    free(x->manifest);
    free(x);
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

static struct export_info *export_info_copy(struct arena *a,
                                            const struct export_info *x)
{
    struct export_info *c = arena_alloc(a, sizeof *c);
    int oom = 0;

    if (c == NULL)
        return NULL;
    *c = *x;
    c->arn = adup(a, x->arn, &oom);
    c->id = adup(a, x->id, &oom);
    c->table_name = adup(a, x->table_name, &oom);
    c->table_arn = adup(a, x->table_arn, &oom);
    c->table_id = adup(a, x->table_id, &oom);
    c->bucket = adup(a, x->bucket, &oom);
    c->bucket_owner = adup(a, x->bucket_owner, &oom);
    c->prefix = adup(a, x->prefix, &oom);
    c->sse_algorithm = adup(a, x->sse_algorithm, &oom);
    c->sse_kms_key_id = adup(a, x->sse_kms_key_id, &oom);
    c->format = adup(a, x->format, &oom);
    c->client_token = adup(a, x->client_token, &oom);
    c->failure_code = adup(a, x->failure_code, &oom);
    c->failure_message = adup(a, x->failure_message, &oom);
    c->manifest = adup(a, x->manifest, &oom);
    return oom ? NULL : c;
}

static void set_str(json_t *o, const char *k, const char *v)
{
    if (v)
        json_object_set_new(o, k, json_string(v));
}

static json_t *export_to_json(const struct export_info *x)
{
    json_t *o = json_object();

    if (o == NULL)
        return NULL;
    json_object_set_new(o, "v", json_integer(1));
    set_str(o, "arn", x->arn);
    set_str(o, "id", x->id);
    set_str(o, "table_name", x->table_name);
    set_str(o, "table_arn", x->table_arn);
    set_str(o, "table_id", x->table_id);
    json_object_set_new(o, "table_no", json_integer((json_int_t)x->table_no));
    json_object_set_new(o, "export_time",
                        json_integer((json_int_t)x->export_time_ms));
    json_object_set_new(o, "start", json_integer((json_int_t)x->start_ms));
    json_object_set_new(o, "end", json_integer((json_int_t)x->end_ms));
    set_str(o, "status", export_status_name(x->status));
    set_str(o, "bucket", x->bucket);
    set_str(o, "bucket_owner", x->bucket_owner);
    set_str(o, "prefix", x->prefix);
    set_str(o, "sse_algorithm", x->sse_algorithm);
    set_str(o, "sse_kms_key_id", x->sse_kms_key_id);
    set_str(o, "format", x->format);
    set_str(o, "client_token", x->client_token);
    json_object_set_new(o, "fingerprint",
                        json_integer((json_int_t)x->fingerprint));
    set_str(o, "failure_code", x->failure_code);
    set_str(o, "failure_message", x->failure_message);
    json_object_set_new(o, "items", json_integer((json_int_t)x->item_count));
    json_object_set_new(o, "billed",
                        json_integer((json_int_t)x->billed_bytes));
    set_str(o, "manifest", x->manifest);
    return o;
}

static const char *jstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int64_t jint(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

static struct export_info *export_from_json(json_t *o)
{
    struct export_info *x = calloc(1, sizeof *x);

    if (x == NULL)
        return NULL;
    x->arn = dup_or_null(jstr(o, "arn"));
    x->id = dup_or_null(jstr(o, "id"));
    x->table_name = dup_or_null(jstr(o, "table_name"));
    x->table_arn = dup_or_null(jstr(o, "table_arn"));
    x->table_id = dup_or_null(jstr(o, "table_id"));
    x->table_no = (uint64_t)jint(o, "table_no");
    x->export_time_ms = jint(o, "export_time");
    x->start_ms = jint(o, "start");
    x->end_ms = jint(o, "end");
    x->status = status_parse(jstr(o, "status"));
    x->bucket = dup_or_null(jstr(o, "bucket"));
    x->bucket_owner = dup_or_null(jstr(o, "bucket_owner"));
    x->prefix = dup_or_null(jstr(o, "prefix"));
    x->sse_algorithm = dup_or_null(jstr(o, "sse_algorithm"));
    x->sse_kms_key_id = dup_or_null(jstr(o, "sse_kms_key_id"));
    x->format = dup_or_null(jstr(o, "format"));
    x->client_token = dup_or_null(jstr(o, "client_token"));
    x->fingerprint = (uint64_t)jint(o, "fingerprint");
    x->failure_code = dup_or_null(jstr(o, "failure_code"));
    x->failure_message = dup_or_null(jstr(o, "failure_message"));
    x->item_count = (uint64_t)jint(o, "items");
    x->billed_bytes = (uint64_t)jint(o, "billed");
    x->manifest = dup_or_null(jstr(o, "manifest"));
    if (x->arn == NULL || x->id == NULL || x->table_arn == NULL ||
        x->bucket == NULL || x->table_id == NULL) {
        export_info_free(x);
        return NULL;
    }
    return x;
}

static int by_start(const void *a, const void *b)
{
    const struct export_info *x = *(struct export_info *const *)a;
    const struct export_info *y = *(struct export_info *const *)b;
    return strcmp(x->id, y->id); /* ids begin with the start time */
}

/* Append `x` (taken) to the in-memory list; under the lock. */
static int export_add(struct export_mgr *m, struct export_info *x)
{
    if (m->nex == m->capex) {
        size_t ncap = m->capex ? m->capex * 2 : 32;
        struct export_info **nv = realloc(m->ex, ncap * sizeof *nv);
        if (nv == NULL)
            return TM_ENOMEM;
        m->ex = nv;
        m->capex = ncap;
    }
    m->ex[m->nex++] = x;
    /* keep ascending ids (start time, then the random part): two
     * started in the same millisecond may arrive out of order */
    for (size_t i = m->nex - 1;
         i > 0 && strcmp(m->ex[i - 1]->id, m->ex[i]->id) > 0; i--) {
        void *t = m->ex[i];
        m->ex[i] = m->ex[i - 1];
        m->ex[i - 1] = t;
    }
    return 0;
}

static struct export_info *export_find(struct export_mgr *m, const char *arn)
{
    for (size_t i = 0; i < m->nex; i++)
        if (strcmp(m->ex[i]->arn, arn) == 0)
            return m->ex[i];
    return NULL;
}

static int load_exports(struct export_mgr *m, struct tm_error *err)
{
    DIR *d = opendir(m->exports_dir);
    struct dirent *de;

    if (d == NULL)
        return tm_error_set(err, TM_EIO, "cannot read %s: %s",
                            m->exports_dir, strerror(errno));
    while ((de = readdir(d)) != NULL) {
        char path[4096];
        size_t n = strlen(de->d_name);
        json_error_t jerr;
        json_t *o;
        struct export_info *x;

        if (n > 4 && strcmp(de->d_name + n - 4, ".tmp") == 0) {
            snprintf(path, sizeof path, "%s/%s", m->exports_dir, de->d_name);
            unlink(path); /* a record being written when we stopped */
            continue;
        }
        if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", m->exports_dir, de->d_name);
        o = json_load_file(path, 0, &jerr);
        x = o ? export_from_json(o) : NULL;
        json_decref(o);
        if (x == NULL) {
            tm_warn("export record %s cannot be read (%s); it is ignored",
                    path, jerr.text);
            continue;
        }
        if (export_add(m, x) != 0) {
            export_info_free(x);
            closedir(d);
            return tm_error_set(err, TM_ENOMEM, "out of memory");
        }
    }
    closedir(d);
    if (m->nex > 1)
        qsort(m->ex, m->nex, sizeof *m->ex, by_start);
    return 0;
}

/* ==== The manager ==== */

static int remove_one(const char *path, const struct stat *st, int flag,
                      struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) != 0 && errno != ENOENT ? -1 : 0;
}

int export_mgr_open(const struct export_config *c, struct export_mgr **out,
                    struct tm_error *err)
{
    struct export_mgr *m = calloc(1, sizeof *m);
    char buf[4096];
    int rc;

    *out = NULL;
    if (m == NULL)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->cond, NULL);
    m->engine = c->engine;
    m->backups = c->backups;
    m->test_slow_ms = c->test_slow_ms;
    m->region = strdup(c->region ? c->region : "us-east-1");
    m->account = strdup(c->account ? c->account : "000000000000");
    m->s3_endpoint = dup_or_null(c->s3_endpoint);
    snprintf(buf, sizeof buf, "%s/exports", c->data_dir);
    m->exports_dir = strdup(buf);
    snprintf(buf, sizeof buf, "%s/imports", c->data_dir);
    m->imports_dir = strdup(buf);
    snprintf(buf, sizeof buf, "%s/exports/.staging", c->data_dir);
    m->staging_dir = strdup(buf);
    if (m->region == NULL || m->account == NULL || m->exports_dir == NULL ||
        m->imports_dir == NULL || m->staging_dir == NULL ||
        (c->s3_endpoint && m->s3_endpoint == NULL)) {
        export_mgr_close(m);
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    }
    if (fsio_mkdir_p(m->exports_dir, 0750) < 0 ||
        fsio_mkdir_p(m->imports_dir, 0750) < 0) {
        rc = tm_error_set(err, TM_EIO, "cannot create %s or %s: %s",
                          m->exports_dir, m->imports_dir, strerror(errno));
        export_mgr_close(m);
        return rc;
    }
    /* staged transfers of a stopped server are of no use */
    if (nftw(m->staging_dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0 &&
        errno != ENOENT)
        tm_warn("could not clear %s: %s", m->staging_dir, strerror(errno));
    if ((rc = load_exports(m, err)) != 0 ||
        (rc = import_load_records(m, err)) != 0) {
        export_mgr_close(m);
        return rc;
    }
    for (size_t i = 0; i < m->nex; i++)
        if (m->ex[i]->status == EXPORT_IN_PROGRESS) {
            tm_info("export %s was interrupted: it starts over",
                    m->ex[i]->arn);
            xfer_queue(m, JOB_EXPORT, m->ex[i]->arn);
        }
    for (size_t i = 0; i < m->nim; i++)
        if (m->im[i]->status == EXPORT_IN_PROGRESS) {
            tm_info("import %s was interrupted: it starts over",
                    m->im[i]->arn);
            xfer_queue(m, JOB_IMPORT, m->im[i]->arn);
        }
    for (int i = 0; i < EXPORT_WORKERS; i++) {
        if (pthread_create(&m->workers[i], NULL, worker_main, m) != 0)
            break;
        m->nworkers++;
    }
    if (m->nworkers == 0) {
        export_mgr_close(m);
        return tm_error_set(err, TM_ENOMEM,
                            "cannot start the export/import workers");
    }
    *out = m;
    return 0;
}

void export_mgr_close(struct export_mgr *m)
{
    if (m == NULL)
        return;
    pthread_mutex_lock(&m->lock);
    atomic_store(&m->stopping, 1);
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
    for (int i = 0; i < m->nworkers; i++)
        pthread_join(m->workers[i], NULL);
    while (m->head) {
        struct job *j = m->head;
        m->head = j->next;
        free(j->arn);
        free(j);
    }
    for (size_t i = 0; i < m->nex; i++)
        export_info_free(m->ex[i]);
    for (size_t i = 0; i < m->nim; i++)
        import_info_free(m->im[i]);
    free(m->ex);
    free(m->im);
    free(m->region);
    free(m->account);
    free(m->s3_endpoint);
    free(m->exports_dir);
    free(m->imports_dir);
    free(m->staging_dir);
    pthread_mutex_destroy(&m->lock);
    pthread_cond_destroy(&m->cond);
    free(m);
}

/* ==== ExportTableToPointInTime, DescribeExport, ListExports ==== */

int export_begin(struct export_mgr *m, const struct export_request *q,
                 struct arena *a, struct export_info **out, int *existing,
                 struct tm_error *err)
{
    struct export_info *x;
    int64_t now = clock_now_ms();
    size_t running = 0;
    char id[32], arn[2048], pfx[1100], man[2200];
    int rc;

    *existing = 0;
    pthread_mutex_lock(&m->lock);
    if (q->client_token) {
        for (size_t i = m->nex; i-- > 0;) {
            struct export_info *e = m->ex[i];
            if (e->client_token == NULL ||
                strcmp(e->client_token, q->client_token) != 0 ||
                now - e->start_ms > EXPORT_TOKEN_MS)
                continue;
            if (e->fingerprint != q->fingerprint) {
                pthread_mutex_unlock(&m->lock);
                return tm_error_set(err, TM_EEXPORTCONFLICT,
                                    "Export conflict: Duplicate request "
                                    "detected with conflicting parameters");
            }
            *out = export_info_copy(a, e);
            *existing = 1;
            pthread_mutex_unlock(&m->lock);
            return *out ? 0 : tm_error_set(err, TM_ENOMEM, "out of memory");
        }
    }
    for (size_t i = 0; i < m->nex; i++)
        running += m->ex[i]->status == EXPORT_IN_PROGRESS;
    if (running >= EXPORT_MAX_IN_PROGRESS) {
        pthread_mutex_unlock(&m->lock);
        return tm_error_set(err, TM_ELIMIT,
                            "There are %zu exports in progress, the most "
                            "this account may have at once (%d); retry when"
                            " one has finished (DescribeExport)",
                            running, EXPORT_MAX_IN_PROGRESS);
    }
    pthread_mutex_unlock(&m->lock);

    xfer_new_id(now, id);
    snprintf(arn, sizeof arn, "%s/export/%s", q->table_arn, id);
    pfx[0] = '\0';
    if (q->prefix && q->prefix[0]) {
        size_t n = strlen(q->prefix);
        while (n > 0 && q->prefix[n - 1] == '/')
            n--;
        snprintf(pfx, sizeof pfx, "%.*s/", (int)n, q->prefix);
    }
    snprintf(man, sizeof man, "%sAWSDynamoDB/%s/manifest-summary.json", pfx,
             id);
    x = calloc(1, sizeof *x);
    if (x == NULL)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    x->arn = strdup(arn);
    x->id = strdup(id);
    x->table_name = strdup(q->table->name);
    x->table_arn = strdup(q->table_arn);
    x->table_id = strdup(q->table->id);
    x->table_no = q->table->no;
    x->export_time_ms = q->export_time_ms;
    x->start_ms = now;
    x->status = EXPORT_IN_PROGRESS;
    x->bucket = strdup(q->bucket);
    x->bucket_owner = dup_or_null(q->bucket_owner);
    x->prefix = dup_or_null(q->prefix);
    x->sse_algorithm = strdup(q->sse_algorithm ? q->sse_algorithm
                                               : "AES256");
    x->sse_kms_key_id = dup_or_null(q->sse_kms_key_id);
    x->format = strdup("DYNAMODB_JSON");
    x->client_token = dup_or_null(q->client_token);
    x->fingerprint = q->fingerprint;
    x->manifest = strdup(man);
    if (x->arn == NULL || x->id == NULL || x->table_name == NULL ||
        x->table_arn == NULL || x->table_id == NULL || x->bucket == NULL ||
        x->sse_algorithm == NULL || x->format == NULL ||
        x->manifest == NULL) {
        export_info_free(x);
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    }
    if ((rc = xfer_record_write(m->exports_dir, x->id, export_to_json(x),
                                err)) != 0) {
        export_info_free(x);
        return rc;
    }
    pthread_mutex_lock(&m->lock);
    rc = export_add(m, x);
    *out = rc ? NULL : export_info_copy(a, x);
    pthread_mutex_unlock(&m->lock);
    if (rc) {
        export_info_free(x);
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    }
    if (xfer_queue(m, JOB_EXPORT, arn) != 0)
        tm_errorf("export %s could not be queued; it starts at the next "
                  "start of the server",
                  arn);
    tm_info("export %s of table %s as of %lld to %s%s%s started", arn,
            q->table->name, (long long)q->export_time_ms, q->bucket,
            pfx[0] ? " prefix " : "", pfx);
    return *out ? 0 : tm_error_set(err, TM_ENOMEM, "out of memory");
}

int export_get(struct export_mgr *m, const char *arn, struct arena *a,
               struct export_info **out)
{
    struct export_info *x;
    int rc = 0;

    pthread_mutex_lock(&m->lock);
    x = export_find(m, arn);
    if (x == NULL)
        rc = TM_EEXPORTNOTFOUND;
    else if ((*out = export_info_copy(a, x)) == NULL)
        rc = TM_ENOMEM;
    pthread_mutex_unlock(&m->lock);
    return rc;
}

int export_list(struct export_mgr *m, const char *table_arn,
                const char *after, size_t limit, struct arena *a,
                struct export_info ***out, size_t *n, int *more)
{
    const char *after_id = NULL;
    size_t i = 0;
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
    for (i = 0; i < m->nex && rc == 0; i++) {
        struct export_info *x = m->ex[i];
        if (after_id && strcmp(x->id, after_id) <= 0)
            continue;
        if (table_arn && strcmp(x->table_arn, table_arn) != 0)
            continue;
        if (*n == limit) {
            *more = 1;
            break;
        }
        if (((*out)[*n] = export_info_copy(a, x)) == NULL)
            rc = TM_ENOMEM;
        else
            (*n)++;
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

/* ==== The export job ==== */

/* The end of an export: under the lock, then the record. */
static void export_end(struct export_mgr *m, const char *arn,
                       enum export_status st, const char *code,
                       const char *msg, uint64_t items, uint64_t billed)
{
    struct export_info *x;
    json_t *o = NULL;
    char id[64] = "";
    struct tm_error err;

    pthread_mutex_lock(&m->lock);
    x = export_find(m, arn);
    if (x) {
        x->status = st;
        x->end_ms = clock_now_ms();
        x->item_count = items;
        x->billed_bytes = billed;
        free(x->failure_code);
        free(x->failure_message);
        x->failure_code = dup_or_null(code);
        x->failure_message = dup_or_null(msg);
        o = export_to_json(x);
        snprintf(id, sizeof id, "%s", x->id);
    }
    pthread_mutex_unlock(&m->lock);
    if (o && xfer_record_write(m->exports_dir, id, o, &err) != 0)
        tm_errorf("export %s: %s (it will run again at the next start)",
                  arn, err.msg);
    if (st == EXPORT_COMPLETED)
        tm_info("export %s completed: %llu items, %llu bytes", arn,
                (unsigned long long)items, (unsigned long long)billed);
    else
        tm_warn("export %s failed: %s: %s", arn, code ? code : "?",
                msg ? msg : "");
}

/* ---- the row keys changed since the base --------------------------------- */

struct kentry {
    uint64_t h;
    const uint8_t *key;     /* NULL: free slot */
    size_t klen;
    uint64_t lsn;           /* the key's last change up to ExportTime */
    int del;
};

struct kmap {
    struct kentry *v;
    size_t cap, n;
    struct arena *keys;
    uint64_t last_lsn;      /* the last record pass 1 read: pass 2 stops
                               there, so both passes see the same log even
                               if a batch committed with an earlier time
                               becomes durable in between */
};

static struct kentry *kmap_slot(struct kmap *k, const uint8_t *key,
                                size_t klen, uint64_t h)
{
    size_t i = (size_t)h & (k->cap - 1);

    for (;;) {
        struct kentry *e = &k->v[i];
        if (e->key == NULL ||
            (e->h == h && e->klen == klen && memcmp(e->key, key, klen) == 0))
            return e;
        i = (i + 1) & (k->cap - 1);
    }
}

static int kmap_grow(struct kmap *k)
{
    size_t ncap = k->cap ? k->cap * 2 : 1024;
    struct kentry *old = k->v;
    size_t ocap = k->cap;

    k->v = calloc(ncap, sizeof *k->v);
    if (k->v == NULL) {
        k->v = old;
        return TM_ENOMEM;
    }
    k->cap = ncap;
    for (size_t i = 0; i < ocap; i++)
        if (old[i].key)
            *kmap_slot(k, old[i].key, old[i].klen, old[i].h) = old[i];
    free(old);
    return 0;
}

static int kmap_put(struct kmap *k, const uint8_t *key, size_t klen,
                    uint64_t lsn, int del)
{
    uint64_t h = hash64(key, klen);
    struct kentry *e;

    if ((k->n + 1) * 10 > k->cap * 7 && kmap_grow(k) != 0)
        return TM_ENOMEM;
    e = kmap_slot(k, key, klen, h);
    if (e->key == NULL) {
        e->key = arena_memdup(k->keys, key, klen ? klen : 1);
        if (e->key == NULL)
            return TM_ENOMEM;
        e->h = h;
        e->klen = klen;
        k->n++;
    }
    e->lsn = lsn;
    e->del = del;
    return 0;
}

static const struct kentry *kmap_get(struct kmap *k, const uint8_t *key,
                                     size_t klen)
{
    struct kentry *e;

    if (k->cap == 0)
        return NULL;
    e = kmap_slot(k, key, klen, hash64(key, klen));
    return e->key ? e : NULL;
}

/* ---- writing the data files ---------------------------------------------- */

struct out {
    struct export_mgr *m;
    struct export_dest *d;
    const char *base;              /* "<prefix>/AWSDynamoDB/<id>/" */
    struct export_writer *w;
    char key[2200], path[4096];
    struct buf files;              /* manifest-files.json */
    uint64_t items, billed, nfiles;
    struct arena *scratch;
    const char *code;
};

static int file_open(struct out *o, struct tm_error *err)
{
    char name[27];
    int rc;

    export_random_name(name);
    snprintf(o->key, sizeof o->key, "%sdata/%s.json.gz", o->base, name);
    if ((rc = export_dest_stage(o->d, o->key, o->path, sizeof o->path, err,
                                &o->code)) != 0)
        return rc;
    rc = export_writer_open(o->path, &o->w, err);
    if (rc)
        o->code = "S3Error";
    return rc;
}

static int file_close(struct out *o, struct tm_error *err)
{
    struct export_file_info info;
    struct export_file_entry e;
    char md5[25], etag[80];
    int rc = export_writer_finish(o->w, &info, err);

    o->w = NULL;
    if (rc) {
        o->code = "S3Error";
        return rc;
    }
    if ((rc = export_dest_commit(o->d, o->key, o->path, info.md5, etag, err,
                                 &o->code)) != 0)
        return rc;
    export_md5_b64(info.md5, md5);
    e.item_count = info.items;
    e.md5_checksum = md5;
    e.etag = etag;
    e.data_key = o->key;
    o->nfiles++;
    if (export_files_line_write(&e, &o->files) != 0)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    return 0;
}

/* Write one stored item (its binary encoding). */
static int emit(struct out *o, const uint8_t *enc, size_t len,
                struct tm_error *err)
{
    struct av item;
    uint8_t *copy;
    int rc;

    if (xfer_stopping(o->m))
        return TM_EUNAVAILABLE;
    arena_reset(o->scratch);
    copy = arena_memdup(o->scratch, enc, len ? len : 1);
    if (copy == NULL)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    if (item_decode(o->scratch, copy, len, &item) != 0) {
        o->code = "ExportSourceUnavailable";
        return tm_error_set(err, TM_ECORRUPT,
                            "a stored item cannot be decoded");
    }
    if (o->w == NULL && (rc = file_open(o, err)) != 0)
        return rc;
    if ((rc = export_writer_add(o->w, &item, err)) != 0) {
        o->code = "S3Error";
        return rc;
    }
    o->items++;
    o->billed += item_size(&item);
    xfer_slow(o->m, o->items);
    if (export_writer_raw_bytes(o->w) >= EXPORT_FILE_RAW_BYTES)
        return file_close(o, err);
    return 0;
}

/* The newest PITR base of table `id` taken at or before `at`. */
static int find_base(struct export_mgr *m, const char *id, int64_t at,
                     struct arena *a, struct backup_info **out)
{
    struct backup_info **v;
    size_t n;
    int rc = backup_store_list(m->backups, a, &v, &n);

    *out = NULL;
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (v[i]->type == BACKUP_BASE && strcmp(v[i]->table_id, id) == 0 &&
            v[i]->created_ms <= at)
            *out = v[i];
    return 0;
}

/* One pass over the table's log records after the base up to ExportTime:
 * pass 1 fills `k`; pass 2 writes the puts that are their key's last
 * change. */
static int log_pass(struct export_mgr *m, const struct export_info *x,
                    uint64_t from_lsn, struct kmap *k, struct out *o,
                    struct tm_error *err)
{
    struct wal_reader *wr;
    int rc = wal_reader_open(engine_wal_dir(m->engine),
                             engine_wal(m->engine), from_lsn, &wr, err);

    if (rc) {
        o->code = "ExportSourceUnavailable";
        return tm_error_set(err, rc,
                            "the change log from record %llu is no longer "
                            "there (%s): point-in-time recovery was "
                            "probably disabled during the export",
                            (unsigned long long)from_lsn, err->msg);
    }
    for (;;) {
        struct wal_record rec;
        struct engine_change ch;
        int got = wal_reader_next(wr, &rec, err);

        if (got < 0) {
            o->code = "ExportSourceUnavailable";
            rc = got;
            break;
        }
        if (got == 0 || rec.time_ms > x->export_time_ms ||
            (o != NULL && rec.lsn > k->last_lsn))
            break;
        if (o == NULL)
            k->last_lsn = rec.lsn;
        if (engine_change_parse(&rec, &ch) != 1 || ch.table_no != x->table_no)
            continue;
        if (o == NULL) {
            if ((rc = kmap_put(k, ch.key, ch.klen, rec.lsn,
                               ch.is_delete)) != 0) {
                tm_error_set(err, rc, "out of memory");
                break;
            }
        } else if (!ch.is_delete) {
            const struct kentry *e = kmap_get(k, ch.key, ch.klen);
            if (e && e->lsn == rec.lsn &&
                (rc = emit(o, ch.new_item, ch.new_len, err)) != 0)
                break;
        }
        if (xfer_stopping(m)) {
            rc = TM_EUNAVAILABLE;
            break;
        }
    }
    wal_reader_close(wr);
    return rc;
}

/* Steps 3 of the job: the table as of ExportTime into data files. */
static int rebuild(struct export_mgr *m, const struct export_info *x,
                   struct out *o, struct tm_error *err)
{
    struct arena *a = arena_create(16384, 64u << 20);
    struct backup_info *b;
    struct backup_reader *rd = NULL;
    struct kmap k = {0};
    int rc;

    if (a == NULL)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    k.keys = arena_create(1u << 20, (size_t)16 << 30);
    if (k.keys == NULL) {
        arena_destroy(a);
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    }
    rc = find_base(m, x->table_id, x->export_time_ms, a, &b);
    if (rc == 0 && b == NULL) {
        o->code = "ExportSourceUnavailable";
        rc = tm_error_set(err, TM_ENOTFOUND,
                          "no point-in-time recovery history of table %s "
                          "reaches back to the export time: recovery was "
                          "disabled, or the table deleted, after the export "
                          "was asked for",
                          x->table_name);
    }
    if (rc == 0 && (rc = backup_store_fetch(m->backups, b, err)) == 0)
        rc = backup_reader_open(b->path, &rd, err);
    if (rc && o->code == NULL)
        o->code = "ExportSourceUnavailable";
    if (rc == 0)
        rc = log_pass(m, x, b->lsn + 1, &k, NULL, err);
    while (rc == 0) {
        const uint8_t *key, *item;
        size_t kl, il;
        int got = backup_reader_next(rd, &key, &kl, &item, &il, err);
        if (got < 0) {
            o->code = "ExportSourceUnavailable";
            rc = got;
        } else if (got == 0) {
            break;
        } else if (kmap_get(&k, key, kl) == NULL) {
            rc = emit(o, item, il, err);
        }
    }
    backup_reader_close(rd);
    if (rc == 0)
        rc = log_pass(m, x, b->lsn + 1, &k, o, err);
    free(k.v);
    arena_destroy(k.keys);
    arena_destroy(a);
    return rc;
}

/* Put `text` as `key` and its base64 MD5 as `md5key`. */
static int put_with_md5(struct out *o, const char *key, const char *md5key,
                        const void *text, size_t len, struct tm_error *err)
{
    uint8_t d[16];
    char b64[25];
    int rc = export_dest_put(o->d, key, text, len, err, &o->code);

    if (rc)
        return rc;
    export_md5(text, len, d);
    export_md5_b64(d, b64);
    return export_dest_put(o->d, md5key, b64, strlen(b64), err, &o->code);
}

static void export_run(struct export_mgr *m, const char *arn)
{
    struct arena *a = arena_create(16384, 64u << 20);
    struct export_info *x = NULL;
    struct out o = {0};
    struct tm_error err = {0};
    char base[1200], staging[4200], k1[1300], k2[1300];
    int rc;

    buf_init(&o.files, (size_t)1 << 30);
    if (a == NULL || export_get(m, arn, a, &x) != 0 ||
        x->status != EXPORT_IN_PROGRESS) {
        arena_destroy(a);
        return;
    }
    o.m = m;
    o.scratch = arena_create(65536, 64u << 20);
    /* the directory of the export's objects */
    base[0] = '\0';
    if (x->prefix && x->prefix[0]) {
        size_t n = strlen(x->prefix);
        while (n > 0 && x->prefix[n - 1] == '/')
            n--;
        snprintf(base, sizeof base, "%.*s/", (int)n, x->prefix);
    }
    snprintf(base + strlen(base), sizeof base - strlen(base),
             "AWSDynamoDB/%s/", x->id);
    o.base = base;
    snprintf(staging, sizeof staging, "%s/%s", m->staging_dir, x->id);
    rc = o.scratch ? export_dest_open(x->bucket, m->s3_endpoint, m->region,
                                      staging, &o.d, &err, &o.code)
                   : tm_error_set(&err, TM_ENOMEM, "out of memory");
    /* an interrupted attempt's objects go first */
    if (rc == 0)
        rc = export_dest_clear(o.d, base, &err, &o.code);
    if (rc == 0) {
        snprintf(k1, sizeof k1, "%s_started", base);
        rc = export_dest_put(o.d, k1, "", 0, &err, &o.code);
    }
    if (rc == 0)
        rc = rebuild(m, x, &o, &err);
    if (rc == 0 && o.w == NULL && o.nfiles == 0)
        rc = file_open(&o, &err); /* an empty table: one empty file */
    if (rc == 0 && o.w)
        rc = file_close(&o, &err);
    if (rc == 0) {
        snprintf(k1, sizeof k1, "%smanifest-files.json", base);
        snprintf(k2, sizeof k2, "%smanifest-files.md5", base);
        rc = put_with_md5(&o, k1, k2, o.files.data ? (char *)o.files.data
                                                   : "",
                          o.files.len, &err);
    }
    if (rc == 0) {
        struct export_summary s = {0};
        struct buf text;
        buf_init(&text, 1 << 20);
        s.version = EXPORT_MANIFEST_VERSION;
        s.export_arn = x->arn;
        s.start_ms = x->start_ms;
        s.end_ms = clock_now_ms();
        s.table_arn = x->table_arn;
        s.table_id = x->table_id;
        s.export_time_ms = x->export_time_ms;
        s.s3_bucket = x->bucket;
        s.s3_prefix = x->prefix;
        s.s3_sse_algorithm = x->sse_algorithm;
        s.s3_sse_kms_key_id = x->sse_kms_key_id;
        s.manifest_files_key = k1;
        s.billed_size_bytes = o.billed;
        s.item_count = o.items;
        s.output_format = "DYNAMODB_JSON";
        rc = export_summary_write(&s, &text);
        if (rc)
            tm_error_set(&err, rc, "out of memory");
        else {
            snprintf(k2, sizeof k2, "%smanifest-summary.md5", base);
            rc = put_with_md5(&o, x->manifest, k2, text.data, text.len,
                              &err);
        }
        buf_free(&text);
    }
    if (o.w)
        export_writer_abort(o.w);
    if (rc == TM_EUNAVAILABLE && xfer_stopping(m)) {
        tm_info("export %s stopped with the server; it starts over at the "
                "next start",
                arn);
    } else if (rc) {
        export_end(m, arn, EXPORT_FAILED, o.code ? o.code : "S3Error",
                   err.msg[0] ? err.msg : tm_strerror(rc), 0, 0);
    } else {
        export_end(m, arn, EXPORT_COMPLETED, NULL, NULL, o.items, o.billed);
    }
    export_dest_close(o.d);
    buf_free(&o.files);
    arena_destroy(o.scratch);
    arena_destroy(a);
}
