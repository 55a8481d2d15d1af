/*
 * sweeper.c - the time-to-live sweeper; see sweeper.h.
 *
 * One thread.  Every interval (or at once after ttl_sweeper_kick) it runs
 * a round:
 *
 *   1. list the tables (catalog_names) and take a copy of each
 *      (catalog_get); skip those whose TTL is not enabled;
 *   2. walk the table's rows through a read snapshot (engine_read_begin,
 *      engine_cursor_*), decode each item and test it (ttl_item_expired)
 *      against the clock read at the start of the walk; collect the row
 *      keys of expired items;
 *   3. every SWEEP_BATCH keys, and at the end, delete them with one writer
 *      op (engine_run): its apply() finds the table again in the live
 *      catalog (it may have been deleted, recreated under the same name
 *      with another number, or had TTL disabled or moved to another
 *      attribute since the walk: then the op does nothing), re-reads each
 *      row (engine_wtx_get: a writer may have changed the item since the
 *      snapshot), re-tests the current item at the batch's commit time, and
 *      deletes it with index_delete_item(ttl = 1), which also removes its
 *      index entries and marks the log record as a TTL delete.
 *
 * Bounds: a round reads at most SWEEP_SCAN_ROWS rows and deletes at most
 * SWEEP_DELETES items, in ops of SWEEP_BATCH deletes, each waited for
 * before the next is submitted, so user writes interleave with the
 * sweeper's and the writer is never monopolised.  A round that stops at a
 * bound remembers where (table name, table number, row key) and the next
 * round resumes there, so tables later in the order and rows later in a
 * big table get their turn.  A finished round starts the next one from the
 * first table.
 *
 * Thread-safety: the sweeper thread owns everything here except the
 * fields under `lock` (stop, kick and round counters), which
 * ttl_sweeper_kick and ttl_sweeper_stop use.  apply() runs on the writer
 * thread while the sweeper thread waits in engine_run, so the op's arena
 * is only ever used by one thread at a time.
 */
#include "ttl/sweeper.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "catalog/catalog.h"
#include "index/index.h"
#include "item/decimal.h"

#define SWEEP_BATCH 100          /* deletes per writer op */
#define SWEEP_DELETES 1000       /* deletes per round */
#define SWEEP_SCAN_ROWS 200000   /* rows read per round */
#define STOP_CHECK_ROWS 4096     /* rows between looks at the stop flag */
/* DDB: "items with expiration times older than five years are not
 * deleted"; five years of 365.25 days. */
#define TTL_MAX_AGE_MS (5LL * 36525 * 864 * 1000)

struct ttl_sweeper {
    struct engine *e;
    unsigned interval_ms;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;         /* to the thread: stop or kick */
    pthread_cond_t round_done;   /* from the thread: a round ended */
    int stop;
    uint64_t kicks;              /* rounds asked for by ttl_sweeper_kick */
    uint64_t served;             /* kicks covered by finished rounds */
    _Atomic uint64_t deleted;
    /* the sweeper thread's own */
    struct arena *scan;          /* per round: names, table copies */
    struct arena *row;           /* per row: the decoded item */
    struct arena *apply;         /* per op, used inside apply() */
    struct buf batch;            /* row keys: varint length, bytes */
    size_t nbatch;
    /* where the last round stopped (valid when resume_name != NULL) */
    char *resume_name;
    uint64_t resume_no;
    struct buf resume_key;
};

/* ==== Expiry ============================================================= */

/* The time window of expired items: [oldest, now], in seconds. */
struct window {
    struct dec now, oldest;
};

static void dec_from_ms(int64_t ms, struct dec *out)
{
    char s[48];
    long long q = ms / 1000, r = ms % 1000;

    if (r < 0) {
        q -= 1;
        r += 1000;
    }
    if (q < 0 && r != 0) {
        /* -1.5 s is q = -2, r = 500: print as -(1.5) */
        long long mag = -(q * 1000 + r);
        snprintf(s, sizeof s, "-%lld.%03lld", mag / 1000, mag % 1000);
    } else {
        snprintf(s, sizeof s, "%lld.%03lld", q, r);
    }
    if (dec_parse(s, strlen(s), out) != DEC_OK)
        dec_from_i64(q, out);
}

static void window_at(int64_t now_ms, struct window *w)
{
    dec_from_ms(now_ms, &w->now);
    dec_from_ms(now_ms - TTL_MAX_AGE_MS, &w->oldest);
}

static int expired_in(const struct av *item, const char *attr, size_t alen,
                      const struct window *w)
{
    const struct av *v = item_get(item, attr, alen);

    if (v == NULL || v->type != AV_N)
        return 0;
    return dec_cmp(&v->u.n, &w->now) <= 0 &&
           dec_cmp(&v->u.n, &w->oldest) >= 0;
}

int ttl_item_expired(const struct av *item, const char *attr, int64_t now_ms)
{
    struct window w;

    window_at(now_ms, &w);
    return expired_in(item, attr, strlen(attr), &w);
}

/* ==== The delete op (writer thread) ====================================== */

struct sweep_op {
    struct engine_op op;
    struct ttl_sweeper *s;
    const char *table;           /* name, as the walk saw it */
    uint64_t no;                 /* its number then */
    const char *attr;            /* its TTL attribute then */
    size_t deleted;              /* set by apply */
};

static int sweep_apply(struct engine_wtx *w, void *arg, struct tm_error *err)
{
    struct sweep_op *so = arg;
    struct ttl_sweeper *s = so->s;
    struct table *t = catalog_find(engine_catalog(s->e), so->table);
    const uint8_t *p = s->batch.data, *end = p + s->batch.len;
    struct window win;
    size_t alen;

    so->deleted = 0;
    if (t == NULL || t->no != so->no || t->ttl != TTL_ENABLED ||
        t->ttl_attr == NULL || strcmp(t->ttl_attr, so->attr) != 0)
        return 0; /* the table changed since the walk: next round */
    alen = strlen(t->ttl_attr);
    window_at(engine_wtx_time(w), &win);
    while (p < end) {
        const uint8_t *key, *val;
        uint64_t klen;
        size_t vlen;
        struct av item;
        int rc;

        if (buf_get_varint(&p, end, &klen) != 0 ||
            klen > (uint64_t)(end - p))
            return tm_error_set(err, TM_EINTERNAL, "bad TTL batch");
        key = p;
        p += klen;
        arena_reset(s->apply);
        rc = engine_wtx_get(w, t->no, key, (size_t)klen, &val, &vlen);
        if (rc < 0)
            return tm_error_set(err, rc, "reading an expiring item failed");
        if (rc == 0)
            continue; /* deleted since the walk */
        if (item_decode(s->apply, val, vlen, &item) != 0)
            continue; /* logged by the walk; never fail the whole batch */
        if (!expired_in(&item, t->ttl_attr, alen, &win))
            continue; /* rewritten since the walk */
        rc = index_delete_item(w, t, key, (size_t)klen, 1, s->apply);
        if (rc)
            return tm_error_set(err, rc, "deleting an expired item of %s "
                                         "failed", t->name);
        so->deleted++;
    }
    return 0;
}

/* Delete the collected keys of `t` (one writer op) and empty the batch.
 * Returns the number deleted, or a negative code (logged). */
static long flush(struct ttl_sweeper *s, const struct table *t)
{
    struct sweep_op so;
    int rc;

    if (s->nbatch == 0)
        return 0;
    memset(&so, 0, sizeof so);
    so.s = s;
    so.table = t->name;
    so.no = t->no;
    so.attr = t->ttl_attr;
    so.op.apply = sweep_apply;
    so.op.arg = &so;
    rc = engine_run(s->e, &so.op);
    buf_reset(&s->batch);
    s->nbatch = 0;
    if (rc) {
        tm_warn("time to live: deleting expired items of %s failed: %s",
                t->name, so.op.err.msg);
        return rc;
    }
    atomic_fetch_add(&s->deleted, so.deleted);
    return (long)so.deleted;
}

/* ==== Rounds (sweeper thread) ============================================ */

struct budget {
    size_t rows;                 /* left to read */
    size_t deletes;              /* left to delete */
};

static int stopping(struct ttl_sweeper *s)
{
    int stop;

    pthread_mutex_lock(&s->lock);
    stop = s->stop;
    pthread_mutex_unlock(&s->lock);
    return stop;
}

/* The next round resumes in table t after row `key`. */
static void remember(struct ttl_sweeper *s, const struct table *t,
                     const uint8_t *key, size_t klen)
{
    free(s->resume_name);
    s->resume_name = strdup(t->name);
    s->resume_no = t->no;
    buf_reset(&s->resume_key);
    if (s->resume_name && buf_append(&s->resume_key, key, klen) != 0) {
        free(s->resume_name);
        s->resume_name = NULL;
    }
}

static void forget(struct ttl_sweeper *s)
{
    free(s->resume_name);
    s->resume_name = NULL;
    buf_reset(&s->resume_key);
}

static void spend(struct budget *b, long deleted)
{
    if (deleted > 0)
        b->deletes -= (size_t)deleted < b->deletes ? (size_t)deleted
                                                    : b->deletes;
}

/* Walk table t after row `from` (NULL: from the first row), deleting its
 * expired items.  Returns 1 if a bound or stop ended the walk early (the
 * position is remembered), 0 at the end of the table, or a negative
 * code.  The row keys the cursor lends stay valid while the snapshot is
 * open, flushes included: engine_run does not touch this snapshot. */
static int sweep_table(struct ttl_sweeper *s, const struct table *t,
                       const uint8_t *from, size_t fromlen, struct budget *b)
{
    struct engine_rtx *rtx = NULL;
    struct engine_cursor *cur = NULL;
    const uint8_t *k, *it;
    size_t kl, il, alen = strlen(t->ttl_attr);
    struct window win;
    long n;
    int rc, got, early = 0;

    window_at(clock_now_ms(), &win);
    if ((rc = engine_read_begin(s->e, &rtx)) ||
        (rc = engine_cursor_open(rtx, t->no, &cur)) ||
        (rc = engine_cursor_seek(cur, from, fromlen, 0, from != NULL)))
        goto out;
    while ((got = engine_cursor_next(cur, &k, &kl, &it, &il)) == 1) {
        struct av item;

        b->rows--;
        arena_reset(s->row);
        if (item_decode(s->row, it, il, &item) != 0) {
            tm_warn("time to live: an item of %s cannot be decoded",
                    t->name);
        } else if (expired_in(&item, t->ttl_attr, alen, &win)) {
            if (buf_put_varint(&s->batch, kl) != 0 ||
                buf_append(&s->batch, k, kl) != 0) {
                rc = TM_ENOMEM;
                goto out;
            }
            s->nbatch++;
        }
        if (s->nbatch == SWEEP_BATCH) {
            if ((n = flush(s, t)) < 0) {
                rc = (int)n;
                goto out;
            }
            spend(b, n);
        }
        if (b->rows == 0 || s->nbatch >= b->deletes ||
            (b->rows % STOP_CHECK_ROWS == 0 && stopping(s))) {
            remember(s, t, k, kl);
            early = 1;
            break;
        }
    }
    if (got < 0)
        rc = got;
out:
    n = flush(s, t);
    spend(b, n);
    if (rc == 0 && n < 0)
        rc = (int)n;
    engine_cursor_close(cur);
    engine_read_end(rtx);
    if (rc) {
        tm_warn("time to live: sweeping %s failed: %s", t->name,
                tm_strerror(rc));
        return rc;
    }
    return early;
}

/* One round over every table with TTL enabled, starting where the last
 * round stopped. */
static void run_round(struct ttl_sweeper *s)
{
    struct catalog *cat = engine_catalog(s->e);
    struct budget b = {SWEEP_SCAN_ROWS, SWEEP_DELETES};
    char **names;
    size_t n, start = 0;
    int more;

    arena_reset(s->scan);
    if (catalog_names(cat, NULL, (size_t)-1, s->scan, &names, &n, &more) != 0)
        return;
    if (s->resume_name) {
        while (start < n && strcmp(names[start], s->resume_name) < 0)
            start++;
        if (start == n)
            start = 0;
    }
    for (size_t j = 0; j < n; j++) {
        const char *name = names[(start + j) % n];
        const uint8_t *from = NULL;
        size_t fromlen = 0;
        struct table *t;

        if (stopping(s))
            return;
        if (catalog_get(cat, name, s->scan, &t) != 0 ||
            t->ttl != TTL_ENABLED || t->ttl_attr == NULL)
            continue;
        if (j == 0 && s->resume_name && strcmp(s->resume_name, name) == 0 &&
            s->resume_no == t->no) {
            /* copied: remember() rewrites resume_key during the walk */
            from = arena_memdup(s->scan, s->resume_key.data,
                                s->resume_key.len);
            fromlen = from ? s->resume_key.len : 0;
        }
        if (sweep_table(s, t, from, fromlen, &b) == 1)
            return;
    }
    forget(s);
}

static void *sweeper_main(void *arg)
{
    struct ttl_sweeper *s = arg;

    pthread_setname_np(pthread_self(), "tm-ttl"); /* top -H, perf */
    pthread_mutex_lock(&s->lock);
    while (!s->stop) {
        struct timespec ts;
        uint64_t target;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += s->interval_ms / 1000;
        ts.tv_nsec += (long)(s->interval_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        while (!s->stop && s->served == s->kicks)
            if (pthread_cond_timedwait(&s->wake, &s->lock, &ts) == ETIMEDOUT)
                break;
        if (s->stop)
            break;
        target = s->kicks;
        pthread_mutex_unlock(&s->lock);
        run_round(s);
        pthread_mutex_lock(&s->lock);
        s->served = target;
        pthread_cond_broadcast(&s->round_done);
    }
    pthread_cond_broadcast(&s->round_done);
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* ==== Life cycle ========================================================= */

static void sweeper_free(struct ttl_sweeper *s)
{
    arena_destroy(s->scan);
    arena_destroy(s->row);
    arena_destroy(s->apply);
    buf_free(&s->batch);
    buf_free(&s->resume_key);
    free(s->resume_name);
    pthread_cond_destroy(&s->wake);
    pthread_cond_destroy(&s->round_done);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

struct ttl_sweeper *ttl_sweeper_start(struct engine *e, unsigned interval_ms)
{
    struct ttl_sweeper *s = calloc(1, sizeof *s);
    pthread_condattr_t ca;
    int ok;

    if (s == NULL) {
        tm_errorf("time to live: out of memory; expired items stay");
        return NULL;
    }
    s->e = e;
    s->interval_ms = interval_ms ? interval_ms : 1000;
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&s->round_done, NULL);
    buf_init(&s->batch, (size_t)64 << 20);
    buf_init(&s->resume_key, (size_t)64 << 10);
    s->scan = arena_create(64 * 1024, (size_t)256 << 20);
    s->row = arena_create(64 * 1024, (size_t)64 << 20);
    s->apply = arena_create(64 * 1024, (size_t)64 << 20);
    ok = s->scan && s->row && s->apply &&
         pthread_create(&s->thread, NULL, sweeper_main, s) == 0;
    if (!ok) {
        tm_errorf("time to live: cannot start the sweeper; expired items "
                  "stay");
        sweeper_free(s);
        return NULL;
    }
    return s;
}

void ttl_sweeper_stop(struct ttl_sweeper *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->lock);
    s->stop = 1;
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    sweeper_free(s);
}

void ttl_sweeper_kick(struct ttl_sweeper *s)
{
    uint64_t want;

    if (s == NULL)
        return;
    pthread_mutex_lock(&s->lock);
    want = ++s->kicks;
    pthread_cond_broadcast(&s->wake);
    while (!s->stop && s->served < want)
        pthread_cond_wait(&s->round_done, &s->lock);
    pthread_mutex_unlock(&s->lock);
}

uint64_t ttl_sweeper_deleted(const struct ttl_sweeper *s)
{
    return s ? atomic_load(&s->deleted) : 0;
}
