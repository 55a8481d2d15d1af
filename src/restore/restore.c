/*
 * restore.c - the restore pipeline; see restore.h.
 *
 * One job, three kinds of writer ops run one after another on the job's
 * thread (or, for restore_run_file, on the caller's):
 *
 *     load_apply    RESTORE_BATCH rows of the backup file (the first op of
 *                   a resumed job drops what an earlier attempt loaded)
 *     replay_apply  point-in-time: RESTORE_BATCH changes of the chunk
 *                   being replayed (below)
 *     activate_apply  the table turns ACTIVE
 *
 * The replay (replay_run).  The source table's changes after the base, up
 * to the time, are read from the log on the job's thread, outside the
 * writer, one chunk at a time: records are read in log order until the
 * chunk holds half of RESTORE_CHUNK_BYTES (64 MB; overridden by the
 * environment variable TIDEMARK_RESTORE_CHUNK_BYTES) by
 * replay_chunk_bytes' count (the keys and items kept, and two struct
 * replay_change each, for the sort), or the log has nothing more to
 * replay.  The chunk then keeps only the last change of each row and sorts
 * those by row key (src/restore/replay_chunk.h), and replay_apply ops
 * apply them RESTORE_BATCH at a time in key order: the writer's
 * copy-on-write B+tree dirties one leaf page for many rows instead of one
 * per row, as it did when changes were applied in log (random key) order.
 * Up to REPLAY_OPS (4) such ops are queued at once, so that the writer
 * takes them into one batch: one sync of the log for up to 4,000 changes
 * instead of one per 1,000 (a write of another table queued behind them
 * waits for them: a few milliseconds).  While they run, the job's thread
 * reads the next chunk and sorts it, a merge pass at a time (two chunks,
 * so the replay holds at most the budget, plus one record per chunk,
 * whatever the size of the log; allocations grow by doubling, so up to
 * twice that may be allocated).  Chunks are applied in log order, one
 * after the other, so the table ends exactly as if every change had been
 * applied in order: a row ends as its last change left it, and its index
 * entries follow from its item before the chunk and after it.
 *
 * What is reported is as before: `changes` counts the source table's
 * records read (the bench's records/s; it advances as each chunk's
 * batches are applied, in proportion), last_time_ms is the time of the
 * last record read up to until_ms, of any table, and log_ended says the
 * log ended before a record past until_ms.  A job stopped or killed
 * between two ops resumes by starting the table over, as a load does.
 *
 * The log replayed is the server's live one (RestoreTableToPointInTime)
 * or a directory of closed segments (`tidemark restore` reassembles them
 * from an archive: src/archive); `wal_dir` says which.
 */
#include "restore/restore.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "backup/backup_format.h"
#include "base/clock.h"
#include "base/log.h"
#include "index/index.h"
#include "base/joblist.h"
#include "item/item.h"
#include "restore/replay_chunk.h"
#include "wal/wal.h"

#define RESTORE_BATCH 1000
/* The memory the replay's two chunks may hold (replay_chunk_bytes); the
 * environment variable TIDEMARK_RESTORE_CHUNK_BYTES overrides it (tests
 * force tiny chunks with it). */
#define RESTORE_CHUNK_BYTES ((size_t)64 << 20)
#define RESTORE_CHUNK_ENV "TIDEMARK_RESTORE_CHUNK_BYTES"
/* The replay's ops in flight at once: queued together, the writer takes
 * them into one batch (one log sync for all; see the header comment). */
#define REPLAY_OPS 4

struct job {
    struct engine *e;
    struct backup_store *bs;
    char *table, *backup_arn;
    struct backup_reader *rd;
    /* point-in-time: after the base's rows, the source table's log
     * records with LSN after the base's and time <= until_ms */
    int replay;
    uint64_t source_no, from_lsn;
    int64_t until_ms;
    struct wal_reader *wr;
    const char *wal_dir;    /* NULL: the engine's live log; else a log
                               directory without a writer */
    int stamp_time;         /* at the flip, RestoreDateTime = the last
                               record replayed (restoring to "latest") */
    int64_t last_time_ms;   /* the newest record read up to until_ms */
    int log_ended;          /* the log ended before a record past
                               until_ms was found */
    void (*progress)(void *ctx, uint64_t rows, uint64_t changes);
    void *progress_ctx;
    int replayed;           /* the log part is done too */
    int active;             /* the table is ACTIVE: the restore is over */
    int released;           /* the backup's use was given back */
    uint64_t changes;       /* the source table's records replayed (the
                               header comment) */
    uint64_t replay_ns;     /* the time the replay took (the server's log) */
    int fresh;              /* rows of an earlier attempt are dropped */
    int done;               /* the file is exhausted */
    uint64_t rows;
};

static struct joblist jobs = JOBLIST_INIT;
static _Atomic int stopping;

static void job_free(void *p)
{
    struct job *j = p;
    free(j->table);
    free(j->backup_arn);
    free(j);
}

/* One batch: up to RESTORE_BATCH rows from the reader into the table. */
static int load_apply(struct engine_wtx *w, void *arg, struct tm_error *err)
{
    struct job *j = arg;
    struct table *t = catalog_find(engine_catalog(j->e), j->table);
    struct arena *a;
    int rc = 0, n = 0;

    if (t == NULL || !t->restoring)
        return tm_error_set(err, TM_ENOTFOUND,
                            "table %s is gone or no longer being restored",
                            j->table);
    if (!j->fresh) {
        /* start over: drop what an interrupted attempt loaded */
        if ((rc = engine_wtx_drop_rows(w, t->no)))
            return tm_error_set(err, rc, "clearing table %s failed",
                                j->table);
        for (size_t i = 0; i < t->nindexes; i++)
            if ((rc = engine_wtx_drop_rows(w, t->indexes[i].no)))
                return tm_error_set(err, rc, "clearing an index failed");
        j->fresh = 1;
        return 0;
    }
    a = arena_create(256 * 1024, (size_t)1 << 30);
    if (a == NULL)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    while (n < RESTORE_BATCH) {
        const uint8_t *k, *it;
        size_t kl, il;
        struct av item;
        uint8_t *ic;
        int got = backup_reader_next(j->rd, &k, &kl, &it, &il, err);

        if (got < 0) {
            rc = got;
            break;
        }
        if (got == 0) {
            j->done = 1;
            break;
        }
        ic = arena_memdup(a, it, il);
        if (ic == NULL || item_decode(a, ic, il, &item) != 0) {
            rc = tm_error_set(err, ic ? TM_ECORRUPT : TM_ENOMEM,
                              "a row of the backup cannot be decoded");
            break;
        }
        rc = index_put_item(w, t, k, kl, &item, it, il, item_size(&item), a);
        if (rc) {
            rc = tm_error_set(err, rc, "loading a row failed");
            break;
        }
        n++;
        j->rows++;
    }
    arena_destroy(a);
    if (rc || !j->done)
        return rc;
    (void)n;
    return 0; /* then the log (replay_apply), then activate_apply */
}

/* The last op: the table turns ACTIVE.  It is an op of its own, run after
 * the rows' batches have committed: a catalog change is visible as soon as
 * its op runs, before its batch commits, and a reader must never see
 * ACTIVE before the rows. */
static int activate_apply(struct engine_wtx *w, void *arg,
                          struct tm_error *err)
{
    struct job *j = arg;
    struct table *t = catalog_find(engine_catalog(j->e), j->table), *nt;
    int rc;

    if (t == NULL || !t->restoring)
        return tm_error_set(err, TM_ENOTFOUND,
                            "table %s is gone or no longer being restored",
                            j->table);
    nt = table_copy(t, NULL);
    if (nt == NULL)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    nt->status = TABLE_ACTIVE;
    nt->restoring = 0;
    if (j->stamp_time && j->last_time_ms > 0)
        nt->restore_time_ms = j->last_time_ms;
    rc = engine_wtx_update_table(w, nt);
    if (rc) {
        table_free(nt);
        return tm_error_set(err, rc, "activating table %s failed", j->table);
    }
    j->active = 1;
    /* release the backup with the flip, so that a client that sees ACTIVE
     * may delete the backup or restore from it again at once */
    if (j->bs)
        backup_store_use(j->bs, j->backup_arn, -1);
    j->released = 1;
    return 0;
}

/* The chunk budget: RESTORE_CHUNK_BYTES, or the environment's. */
static size_t chunk_budget(void)
{
    const char *v = getenv(RESTORE_CHUNK_ENV);
    char *end;
    unsigned long long n;

    if (v == NULL || *v == 0)
        return RESTORE_CHUNK_BYTES;
    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno != 0 || *end != 0 || n == 0 || *v < '0' || *v > '9' ||
        n > SIZE_MAX) {
        tm_warn("%s=%s is not a number of bytes from 1 up; the log is "
                "replayed in chunks of %zu bytes",
                RESTORE_CHUNK_ENV, v, RESTORE_CHUNK_BYTES);
        return RESTORE_CHUNK_BYTES;
    }
    return (size_t)n;
}

/* The replay of a point-in-time restore (the header comment): chunk
 * c[cur] is being applied by up to REPLAY_OPS ops in flight while the
 * job's thread reads the log into c[!cur]. */
struct replay {
    struct job *j;
    struct replay_chunk c[2];
    int cur;
    size_t limit;           /* replay_chunk_bytes of one chunk: half the
                               budget (at least 1) */
    size_t next;            /* the next change of c[cur] to apply */
    int read_all;           /* no record left to read: the log ended or a
                               record past until_ms was found */
    uint64_t base;          /* the changes of the chunks applied before */
    uint64_t scanned;       /* records read, for the stop check */
    /* the ops in flight, oldest first from slot `head`: each applies
     * c[cur].v[lo..hi) */
    struct replay_op {
        struct engine_op op;
        struct replay *r;
        size_t lo, hi;
        _Atomic int finished;
    } ops[REPLAY_OPS];
    unsigned head, inflight;
    size_t submitted;       /* c[cur].v[0..submitted) are in ops */
    pthread_mutex_t m;
    pthread_cond_t cv;
};

/* Read the next record into `c`: 0 (read, or nothing left: r->read_all),
 * or an error.  Updates last_time_ms and log_ended as it goes. */
static int replay_read_one(struct replay *r, struct replay_chunk *c,
                           struct tm_error *err)
{
    struct job *j = r->j;
    struct wal_record rec;
    struct engine_change ch;
    int rc, got = wal_reader_next(j->wr, &rec, err);

    r->scanned++;
    if (got < 0)
        return got;
    if (got == 0 || rec.time_ms > j->until_ms) {
        j->log_ended = got == 0;
        r->read_all = 1;
        return 0;
    }
    if (rec.time_ms > j->last_time_ms)
        j->last_time_ms = rec.time_ms;
    if (engine_change_parse(&rec, &ch) != 1 || ch.table_no != j->source_no)
        return 0;
    rc = replay_chunk_add(c, rec.lsn, ch.key, ch.klen, ch.is_delete,
                          ch.new_item, ch.new_len, ch.new_size);
    if (rc)
        return tm_error_set(err, rc,
                            "change log record %llu cannot be held for the "
                            "replay (%zu bytes held)",
                            (unsigned long long)rec.lsn,
                            replay_chunk_bytes(c));
    return 0;
}

static int chunk_full(const struct replay *r, const struct replay_chunk *c)
{
    return r->read_all || replay_chunk_bytes(c) >= r->limit;
}

/* Apply c[cur].v[lo..hi) (in key order) to the target. */
static int replay_apply(struct engine_wtx *w, void *arg, struct tm_error *err)
{
    struct replay_op *o = arg;
    struct replay *r = o->r;
    struct job *j = r->j;
    struct table *t = catalog_find(engine_catalog(j->e), j->table);
    const struct replay_chunk *c = &r->c[r->cur];
    struct arena *a;
    int rc = 0;

    if (t == NULL || !t->restoring)
        return tm_error_set(err, TM_ENOTFOUND,
                            "table %s is gone or no longer being restored",
                            j->table);
    a = arena_create(256 * 1024, (size_t)1 << 30);
    if (a == NULL)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    for (size_t i = o->lo; i < o->hi; i++) {
        const struct replay_change *x = &c->v[i];
        const uint8_t *k = replay_change_key(c, x);

        if (x->is_delete) {
            rc = index_delete_item(w, t, k, x->klen, 0, a);
        } else {
            /* the chunk outlives the op: the item is decoded in place */
            const uint8_t *it = replay_change_item(c, x);
            struct av item;
            if (item_decode(a, it, x->ilen, &item) != 0) {
                rc = tm_error_set(err, TM_ECORRUPT,
                                  "change log record %llu cannot be decoded",
                                  (unsigned long long)x->lsn);
                break;
            }
            rc = index_put_item(w, t, k, x->klen, &item, it, x->ilen,
                                x->size, a);
        }
        if (rc) {
            rc = tm_error_set(err, rc, "replaying record %llu failed",
                              (unsigned long long)x->lsn);
            break;
        }
        arena_reset(a);
    }
    arena_destroy(a);
    return rc;
}

static void replay_done(struct engine_op *op)
{
    struct replay_op *o = op->ctx;

    pthread_mutex_lock(&o->r->m);
    atomic_store(&o->finished, 1);
    pthread_cond_broadcast(&o->r->cv);
    pthread_mutex_unlock(&o->r->m);
}

/* Queue ops for the next changes of c[cur], up to REPLAY_OPS in flight.
 * 0 or TM_EUNAVAILABLE (the engine is closing). */
static int replay_submit(struct replay *r, struct tm_error *err)
{
    const struct replay_chunk *a = &r->c[r->cur];

    while (r->inflight < REPLAY_OPS && r->submitted < a->n) {
        struct replay_op *o = &r->ops[(r->head + r->inflight) % REPLAY_OPS];
        int rc;

        memset(&o->op, 0, sizeof o->op);
        o->op.apply = replay_apply;
        o->op.done = replay_done;
        o->op.arg = o;
        o->op.ctx = o;
        o->r = r;
        o->lo = r->submitted;
        o->hi = a->n - o->lo > RESTORE_BATCH ? o->lo + RESTORE_BATCH : a->n;
        atomic_store(&o->finished, 0);
        if ((rc = engine_submit(r->j->e, &o->op)) != 0)
            return tm_error_set(err, rc, "the server is shutting down");
        r->submitted = o->hi;
        r->inflight++;
    }
    return 0;
}

/* Wait for the oldest op in flight; its result. */
static int replay_wait(struct replay *r, struct tm_error *err)
{
    struct replay_op *o = &r->ops[r->head];

    pthread_mutex_lock(&r->m);
    while (!atomic_load(&o->finished))
        pthread_cond_wait(&r->cv, &r->m);
    pthread_mutex_unlock(&r->m);
    r->head = (r->head + 1) % REPLAY_OPS;
    r->inflight--;
    if (o->op.rc)
        *err = o->op.err;
    return o->op.rc;
}

/* Apply changes of c[cur] until the oldest op in flight is done, reading
 * the log into c[!cur] and sorting it while the writer works.  0,
 * TM_EUNAVAILABLE (the engine is closing) or the op's or the reader's
 * error; ops are left in flight (replay_run waits for them). */
static int replay_step(struct replay *r, struct tm_error *err)
{
    struct replay_chunk *a = &r->c[r->cur], *b = &r->c[!r->cur];
    struct job *j = r->j;
    int rc, rrc = 0;

    if ((rc = replay_submit(r, err)) != 0)
        return rc;
    /* the next chunk: read, then sorted a pass at a time (the writer is
     * fed again as soon as the oldest op is done) */
    while (rrc == 0 && !atomic_load(&r->ops[r->head].finished)) {
        if (!chunk_full(r, b))
            rrc = replay_read_one(r, b, err);
        else if ((rc = replay_chunk_sort_step(b)) != 0) {
            if (rc < 0)
                rrc = tm_error_set(err, rc,
                                   "sorting %zu changes for the replay: "
                                   "out of memory",
                                   b->n);
            break;
        }
    }
    if ((rc = replay_wait(r, err)) != 0)
        return rc;
    if (rrc)
        return rrc;
    r->next = r->ops[(r->head + REPLAY_OPS - 1) % REPLAY_OPS].hi;
    j->changes = r->base + a->added * r->next / a->n;
    if (j->progress)
        j->progress(j->progress_ctx, j->rows, j->changes);
    return 0;
}

/* Read c[!cur] to its end (its limit, or the log's), finish its sort, and
 * make it the chunk to apply. */
static int replay_next_chunk(struct replay *r, struct tm_error *err)
{
    struct replay_chunk *a = &r->c[r->cur], *b = &r->c[!r->cur];
    int rc = 0;

    while (rc == 0 && !chunk_full(r, b)) {
        if ((r->scanned & 4095) == 4095 && atomic_load(&stopping))
            return 0; /* the caller stops */
        rc = replay_read_one(r, b, err);
    }
    if (rc)
        return rc;
    if ((rc = replay_chunk_finish(b)) != 0)
        return tm_error_set(err, rc,
                            "sorting %zu changes for the replay: out of "
                            "memory",
                            b->n);
    r->base += a->added;
    r->j->changes = r->base;
    replay_chunk_reset(a);
    r->cur = !r->cur;
    r->next = 0;
    r->submitted = 0;
    return 0;
}

/* Point-in-time: replay the source's changes after the base, up to the
 * time, into the target.  0 when replayed (j->replayed) or stopped
 * (restore_join: run_ops sees it), or the error. */
static int replay_run(struct job *j, struct tm_error *err)
{
    struct replay *r = calloc(1, sizeof *r);
    size_t budget = chunk_budget();
    struct tm_error why = {0};
    uint64_t t0 = clock_mono_ns();
    int rc = 0;

    if (r == NULL)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    r->j = j;
    r->limit = budget / 2 ? budget / 2 : 1;
    pthread_mutex_init(&r->m, NULL);
    pthread_cond_init(&r->cv, NULL);
    if (j->wr == NULL &&
        (rc = wal_reader_open(j->wal_dir ? j->wal_dir : engine_wal_dir(j->e),
                              j->wal_dir ? NULL : engine_wal(j->e),
                              j->from_lsn, &j->wr, &why)) != 0)
        rc = tm_error_set(err, rc,
                          "the change log from record %llu is no longer "
                          "there: %s",
                          (unsigned long long)j->from_lsn, why.msg);
    while (rc == 0 && !atomic_load(&stopping)) {
        if (r->next < r->c[r->cur].n)
            rc = replay_step(r, err);
        else if (r->read_all && r->c[!r->cur].added == 0) {
            j->replayed = 1;
            break;
        } else
            rc = replay_next_chunk(r, err);
    }
    while (r->inflight > 0) {
        struct tm_error e2;
        int wrc = replay_wait(r, &e2);
        if (wrc && rc == 0) {
            rc = wrc;
            *err = e2;
        }
    }
    replay_chunk_free(&r->c[0]);
    replay_chunk_free(&r->c[1]);
    j->replay_ns += clock_mono_ns() - t0;
    pthread_mutex_destroy(&r->m);
    pthread_cond_destroy(&r->cv);
    free(r);
    return rc;
}

static int drop_apply(struct engine_wtx *w, void *arg, struct tm_error *err)
{
    struct job *j = arg;
    int rc = engine_wtx_delete_table(w, j->table);
    return rc ? tm_error_set(err, rc, "removing table %s failed", j->table)
              : 0;
}

/* Run the job's ops until the table is ACTIVE, an op fails (its error in
 * `err`) or restore_join stops it (TM_EUNAVAILABLE). */
static int run_ops(struct job *j, struct tm_error *err)
{
    int rc = 0;

    while (rc == 0 && !j->active && !atomic_load(&stopping)) {
        struct engine_op op = {0};

        if (j->done && j->replay && !j->replayed) {
            rc = replay_run(j, err); /* its own ops */
            continue;
        }
        op.apply = !j->done ? load_apply : activate_apply;
        op.arg = j;
        rc = engine_run(j->e, &op);
        if (rc)
            *err = op.err;
        else if (j->progress)
            j->progress(j->progress_ctx, j->rows, j->changes);
    }
    if (rc == 0 && !j->active)
        rc = tm_error_set(err, TM_EUNAVAILABLE, "the restore was stopped");
    wal_reader_close(j->wr);
    j->wr = NULL;
    backup_reader_close(j->rd);
    j->rd = NULL;
    return rc;
}

/* After a failure: remove the half-loaded table in one op. */
static void drop_target(struct job *j, const struct tm_error *why)
{
    struct engine_op op = {0};

    tm_errorf("restore of table %s from %s failed: %s; the table is "
              "removed",
              j->table, j->backup_arn, why->msg);
    op.apply = drop_apply;
    op.arg = j;
    engine_run(j->e, &op);
}

static void *job_main(void *arg)
{
    struct job *j = arg;
    struct backup_info *b;
    struct arena *a = arena_create(16384, 64u << 20);
    struct tm_error err = {0};
    uint64_t t0 = clock_mono_ns();
    int rc;

    pthread_setname_np(pthread_self(), "tm-restore"); /* top -H, perf */
    rc = a ? backup_store_get(j->bs, j->backup_arn, a, &b) : TM_ENOMEM;
    if (rc)
        tm_error_set(&err, rc, "backup %s is gone", j->backup_arn);
    else if ((rc = backup_store_fetch(j->bs, b, &err)) == 0) {
        /* (a backup in an object store is downloaded first) */
        rc = backup_reader_open(b->path, &j->rd, &err);
        j->from_lsn = b->lsn + 1;
    }
    if (rc == 0)
        rc = run_ops(j, &err);
    if (rc == 0) {
        tm_info("restore of table %s from %s: %llu items%s, %llu changes "
                "replayed from the log (in %.1f ms), in %.1f ms",
                j->table, j->backup_arn, (unsigned long long)j->rows,
                j->replay ? " from the base snapshot" : "",
                (unsigned long long)j->changes, (double)j->replay_ns / 1e6,
                (double)(clock_mono_ns() - t0) / 1e6);
    } else if (rc != TM_EUNAVAILABLE) {
        drop_target(j, &err);
    } /* else stopping: resumes at the next start */
    if (!j->released)
        backup_store_use(j->bs, j->backup_arn, -1);
    arena_destroy(a);
    return NULL;
}

int restore_run_file(struct engine *e, const struct restore_file *o,
                     struct restore_result *res, struct tm_error *err)
{
    struct job j;
    int rc;

    memset(&j, 0, sizeof j);
    memset(res, 0, sizeof *res);
    j.e = e;
    j.fresh = 1;
    j.replay = o->wal_dir != NULL;
    j.wal_dir = o->wal_dir;
    j.source_no = o->source_no;
    j.from_lsn = o->from_lsn;
    j.until_ms = o->until_ms;
    j.stamp_time = o->stamp_time;
    j.progress = o->progress;
    j.progress_ctx = o->progress_ctx;
    j.table = strdup(o->table);
    j.backup_arn = strdup(o->backup_path);
    if (j.table == NULL || j.backup_arn == NULL) {
        free(j.table);
        free(j.backup_arn);
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    }
    rc = backup_reader_open(o->backup_path, &j.rd, err);
    if (rc == 0)
        rc = run_ops(&j, err);
    if (rc && rc != TM_EUNAVAILABLE)
        drop_target(&j, err);
    res->rows = j.rows;
    res->changes = j.changes;
    res->last_time_ms = j.last_time_ms;
    res->log_ended = j.log_ended;
    free(j.table);
    free(j.backup_arn);
    return rc;
}

static int start(struct engine *e, struct backup_store *bs, const char *table,
                 const char *backup_arn, int fresh, int replay,
                 uint64_t source_no, int64_t until_ms)
{
    struct job *j = calloc(1, sizeof *j);

    if (j == NULL)
        return TM_ENOMEM;
    j->replay = replay;
    j->source_no = source_no;
    j->until_ms = until_ms;
    j->e = e;
    j->bs = bs;
    j->fresh = fresh;
    j->table = strdup(table);
    j->backup_arn = strdup(backup_arn);
    if (j->table == NULL || j->backup_arn == NULL ||
        joblist_start(&jobs, job_main, j, job_free) != 0) {
        job_free(j);
        return TM_ENOMEM;
    }
    return 0;
}

int restore_start(struct engine *e, struct backup_store *bs,
                  const char *table, const char *backup_arn)
{
    return start(e, bs, table, backup_arn, 1, 0, 0, 0);
}

int restore_start_pitr(struct engine *e, struct backup_store *bs,
                       const char *table, const char *base_arn,
                       uint64_t source_no, int64_t until_ms)
{
    return start(e, bs, table, base_arn, 1, 1, source_no, until_ms);
}

int restore_resume_all(struct engine *e, struct backup_store *bs)
{
    struct catalog *cat = engine_catalog(e);
    struct arena *a = arena_create(16384, 256u << 20);
    char **names;
    size_t n;
    int more, rc = 0;

    if (a == NULL)
        return TM_ENOMEM;
    if (catalog_names(cat, NULL, (size_t)-1, a, &names, &n, &more) == 0) {
        for (size_t i = 0; i < n && rc == 0; i++) {
            struct table *t;
            const char *src;
            if (catalog_get(cat, names[i], a, &t) != 0 || !t->restoring)
                continue;
            src = t->restore_base ? t->restore_base : t->restore_backup_arn;
            if (src == NULL)
                continue;
            tm_info("resuming the restore of table %s from %s", t->name,
                    src);
            backup_store_use(bs, src, +1);
            rc = start(e, bs, t->name, src, 0, t->restore_base != NULL,
                       t->restore_source_no, t->restore_time_ms);
        }
    }
    arena_destroy(a);
    return rc;
}

void restore_join(void)
{
    atomic_store(&stopping, 1);
    joblist_join_all(&jobs);
    atomic_store(&stopping, 0);
}
