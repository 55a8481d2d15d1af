/*
 * index.c - secondary index entries and backfills; see index.h.
 *
 * The write path (index_put_item, index_delete_item) reads the old item
 * only when the table has indexes, so a table without them pays nothing.
 * For each index it computes the old entry's key and the new one:
 *
 *   old entry, no new entry      -> delete the old entry
 *   no old entry, new entry      -> put the new entry
 *   both, same key               -> put (the projection may have changed)
 *   both, different keys         -> delete the old, put the new
 *
 * Backfill (a GSI created on a table with items): the index exists in the
 * table's definition from the moment UpdateTable is applied, with status
 * CREATING, so every write from then on maintains it.  A backfill thread
 * walks the table in key order as a sequence of writer ops of at most
 * BACKFILL_ROWS rows each, putting the entry of each row as the row is at
 * that moment; when the walk ends, the last op flips the index to ACTIVE.
 * Writers and the backfill both run on the writer thread, so each row's
 * entry is computed from its current item whichever comes last: the
 * finished index holds exactly the items that qualify.  A backfill
 * interrupted by a restart starts again from the first row
 * (index_backfill_resume_all); putting an entry twice is harmless.
 */
#include "index/index.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/joblist.h"
#include "base/log.h"
#include "storage/key.h"

#define BACKFILL_ROWS 500

/* ---- entries ------------------------------------------------------------ */

static int is_named(const struct av_member *m, const char *name)
{
    size_t n = strlen(name);
    return m->name.n == n && memcmp(m->name.p, name, n) == 0;
}

/* Does attribute `m` belong in index ix's projection? */
static int projected(const struct table *t, const struct table_index *ix,
                     const struct av_member *m)
{
    if (ix->proj == PROJ_ALL)
        return 1;
    if (is_named(m, t->ks.hash_name) ||
        (t->ks.range_name && is_named(m, t->ks.range_name)) ||
        is_named(m, ix->ks.hash_name) ||
        (ix->ks.range_name && is_named(m, ix->ks.range_name)))
        return 1;
    for (size_t i = 0; ix->proj == PROJ_INCLUDE && i < ix->ninclude; i++)
        if (is_named(m, ix->include[i]))
            return 1;
    return 0;
}

int index_entry(const struct table *t, const struct table_index *ix,
                const struct av *item, const uint8_t *pk, size_t pklen,
                struct arena *a, struct buf *ikey, struct buf *ival,
                size_t *isize)
{
    const struct av *h, *r = NULL;
    struct av proj;
    size_t n = 0;
    int rc;

    h = item_get(item, ix->ks.hash_name, strlen(ix->ks.hash_name));
    if (h == NULL || h->type != ix->ks.hash_type)
        return 0;
    if (ix->ks.range_name) {
        r = item_get(item, ix->ks.range_name, strlen(ix->ks.range_name));
        if (r == NULL || r->type != ix->ks.range_type)
            return 0;
    }
    rc = key_encode(&ix->ks, h, r, ikey);
    if (rc == 0)
        rc = buf_append(ikey, pk, pklen);
    if (rc)
        return rc;
    proj.type = AV_M;
    proj.u.m.v = arena_alloc(a, (item->u.m.n + 1) * sizeof *proj.u.m.v);
    if (proj.u.m.v == NULL)
        return TM_ENOMEM;
    for (size_t i = 0; i < item->u.m.n; i++)
        if (projected(t, ix, &item->u.m.v[i]))
            proj.u.m.v[n++] = item->u.m.v[i];
    proj.u.m.n = n;
    *isize = item_size(&proj);
    rc = item_encode(&proj, ival);
    return rc ? rc : 1;
}

int index_check_item(const struct table *t, const struct av *item,
                     struct tm_error *err)
{
    for (size_t i = 0; i < t->nindexes; i++) {
        const struct table_index *ix = &t->indexes[i];
        const char *names[2] = {ix->ks.hash_name, ix->ks.range_name};
        enum av_type types[2] = {ix->ks.hash_type, ix->ks.range_type};

        for (int k = 0; k < 2 && names[k]; k++) {
            const struct av *v = item_get(item, names[k], strlen(names[k]));
            if (v == NULL)
                continue;
            if (v->type != types[k])
                return tm_error_set(
                    err, TM_EVALIDATION,
                    "One or more parameter values were invalid: Type "
                    "mismatch for Index Key %s Expected: %s Actual: %s "
                    "IndexName: %s",
                    names[k], av_type_name(types[k]), av_type_name(v->type),
                    ix->name);
            if ((v->type == AV_S || v->type == AV_B) && v->u.s.n == 0)
                return tm_error_set(
                    err, TM_EVALIDATION,
                    "One or more parameter values are not valid. A value "
                    "specified for a secondary index key is not supported. "
                    "The AttributeValue for a key attribute cannot contain "
                    "an empty %s value. IndexName: %s, IndexKey: %s",
                    v->type == AV_S ? "string" : "binary", ix->name,
                    names[k]);
        }
    }
    return 0;
}

/* The current item of row `key`, decoded into `a`, or NULL. */
static int old_item(struct engine_wtx *w, const struct table *t,
                    const uint8_t *key, size_t klen, struct arena *a,
                    struct av **out)
{
    const uint8_t *p;
    size_t n;
    uint8_t *copy;
    int rc = engine_wtx_get(w, t->no, key, klen, &p, &n);

    *out = NULL;
    if (rc <= 0)
        return rc;
    copy = arena_memdup(a, p, n);
    *out = arena_alloc(a, sizeof **out);
    if (copy == NULL || *out == NULL)
        return TM_ENOMEM;
    return item_decode(a, copy, n, *out);
}

/* Bring every index's entry from `old` to `nw` (either may be NULL). */
static int maintain(struct engine_wtx *w, const struct table *t,
                    const uint8_t *pk, size_t pklen, const struct av *old,
                    const struct av *nw, struct arena *a)
{
    struct buf ok, ov, nk, nv;
    int rc = 0;

    buf_init(&ok, 16384);
    buf_init(&ov, (size_t)ITEM_MAX_BYTES * 4);
    buf_init(&nk, 16384);
    buf_init(&nv, (size_t)ITEM_MAX_BYTES * 4);
    for (size_t i = 0; rc == 0 && i < t->nindexes; i++) {
        const struct table_index *ix = &t->indexes[i];
        size_t osz = 0, nsz = 0;
        int has_old = 0, has_new = 0;

        if (ix->status == INDEX_DELETING)
            continue;
        buf_reset(&ok);
        buf_reset(&ov);
        buf_reset(&nk);
        buf_reset(&nv);
        if (old && (has_old = index_entry(t, ix, old, pk, pklen, a, &ok, &ov,
                                          &osz)) < 0) {
            rc = has_old;
            break;
        }
        if (nw && (has_new = index_entry(t, ix, nw, pk, pklen, a, &nk, &nv,
                                         &nsz)) < 0) {
            rc = has_new;
            break;
        }
        if (has_old && (!has_new || ok.len != nk.len ||
                        memcmp(ok.data, nk.data, ok.len) != 0))
            rc = engine_wtx_index_delete(w, ix->no, ok.data, ok.len);
        if (rc == 0 && has_new)
            rc = engine_wtx_index_put(w, ix->no, nk.data, nk.len, nv.data,
                                      nv.len, nsz);
    }
    buf_free(&ok);
    buf_free(&ov);
    buf_free(&nk);
    buf_free(&nv);
    return rc < 0 ? rc : 0;
}

int index_put_item(struct engine_wtx *w, const struct table *t,
                   const uint8_t *key, size_t klen, const struct av *item,
                   const uint8_t *enc, size_t elen, size_t size,
                   struct arena *a)
{
    struct av *old = NULL;
    int rc;

    if (t->nindexes && (rc = old_item(w, t, key, klen, a, &old)) < 0)
        return rc;
    rc = engine_wtx_put(w, t, key, klen, enc, elen, size);
    if (rc == 0 && t->nindexes)
        rc = maintain(w, t, key, klen, old, item, a);
    return rc;
}

int index_delete_item(struct engine_wtx *w, const struct table *t,
                      const uint8_t *key, size_t klen, int ttl,
                      struct arena *a)
{
    struct av *old = NULL;
    int rc;

    if (t->nindexes && (rc = old_item(w, t, key, klen, a, &old)) < 0)
        return rc;
    rc = ttl ? engine_wtx_delete_ttl(w, t, key, klen)
             : engine_wtx_delete(w, t, key, klen);
    if (rc == 0 && old)
        rc = maintain(w, t, key, klen, old, NULL, a);
    return rc;
}

/* ---- backfills ----------------------------------------------------------- */

struct backfill {
    struct engine *e;
    char *table, *index;
    struct buf last;         /* row key of the last row done */
    int started;             /* a row has been done: seek after `last` */
    int finished;
};

static struct joblist jobs = JOBLIST_INIT;
static _Atomic int stopping;

static void backfill_free(void *p)
{
    struct backfill *b = p;
    buf_free(&b->last);
    free(b->table);
    free(b->index);
    free(b);
}

static int backfill_apply(struct engine_wtx *w, void *arg,
                          struct tm_error *err)
{
    struct backfill *b = arg;
    struct catalog *cat = engine_catalog(b->e);
    struct table *t = catalog_find(cat, b->table), *nt;
    struct table_index *ix = t ? table_index_find(t, b->index) : NULL;
    struct engine_cursor *cur;
    struct arena *a;
    const uint8_t *k, *it;
    size_t kl, il;
    int rc, got = 0, rows = 0;

    if (ix == NULL || !ix->backfilling) {
        b->finished = 1; /* table or index gone, or already done */
        return 0;
    }
    a = arena_create(256 * 1024, (size_t)1 << 30);
    if (a == NULL)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    rc = engine_wtx_cursor_open(w, t->no, &cur);
    if (rc == 0)
        rc = engine_cursor_seek(cur, b->started ? b->last.data : NULL,
                                b->last.len, 0, 1);
    while (rc == 0 && rows < BACKFILL_ROWS &&
           (got = engine_cursor_next(cur, &k, &kl, &it, &il)) == 1) {
        struct av item;
        struct buf ik, iv;
        size_t isz;
        uint8_t *kc = arena_memdup(a, k, kl), *ic = arena_memdup(a, it, il);

        if (kc == NULL || ic == NULL) {
            rc = TM_ENOMEM;
            break;
        }
        if (item_decode(a, ic, il, &item) != 0) {
            rc = TM_ECORRUPT;
            break;
        }
        buf_init(&ik, 16384);
        buf_init(&iv, (size_t)ITEM_MAX_BYTES * 4);
        rc = index_entry(t, ix, &item, kc, kl, a, &ik, &iv, &isz);
        if (rc == 1)
            rc = engine_wtx_index_put(w, ix->no, ik.data, ik.len, iv.data,
                                      iv.len, isz);
        buf_free(&ik);
        buf_free(&iv);
        if (rc < 0)
            break;
        rc = 0;
        buf_reset(&b->last);
        if (buf_append(&b->last, kc, kl) != 0) {
            rc = TM_ENOMEM;
            break;
        }
        b->started = 1;
        rows++;
    }
    engine_cursor_close(cur);
    arena_destroy(a);
    if (rc == 0 && got < 0)
        rc = got;
    if (rc)
        return tm_error_set(err, rc, "backfilling index %s of %s failed",
                            b->index, b->table);
    if (got == 1 || rows == BACKFILL_ROWS || rows > 0)
        return 0; /* more to do, or ACTIVE in an op of its own, after these
                     entries' batch has committed (a catalog change is
                     visible before its batch commits) */
    /* the walk is over: the index is ACTIVE */
    nt = table_copy(t, NULL);
    if (nt == NULL)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    ix = table_index_find(nt, b->index);
    ix->status = INDEX_ACTIVE;
    ix->backfilling = 0;
    rc = engine_wtx_update_table(w, nt);
    if (rc) {
        table_free(nt);
        return tm_error_set(err, rc, "finishing index %s failed", b->index);
    }
    b->finished = 1;
    return 0;
}

static void *backfill_main(void *arg)
{
    struct backfill *b = arg;
    uint64_t rounds = 0;

    pthread_setname_np(pthread_self(), "tm-backfill"); /* top -H, perf */
    tm_info("backfilling index %s of table %s", b->index, b->table);
    while (!b->finished && !atomic_load(&stopping)) {
        struct engine_op op = {0};
        op.apply = backfill_apply;
        op.arg = b;
        if (engine_run(b->e, &op) != 0) {
            tm_warn("backfill of index %s of table %s stopped: %s", b->index,
                    b->table, op.err.msg);
            break;
        }
        rounds++;
    }
    if (b->finished)
        tm_info("index %s of table %s is ACTIVE (%llu rounds)", b->index,
                b->table, (unsigned long long)rounds);
    return NULL;
}

int index_backfill_start(struct engine *e, const char *table,
                         const char *index)
{
    struct backfill *b = calloc(1, sizeof *b);

    if (b == NULL)
        return TM_ENOMEM;
    b->e = e;
    b->table = strdup(table);
    b->index = strdup(index);
    buf_init(&b->last, 16384);
    if (b->table == NULL || b->index == NULL ||
        joblist_start(&jobs, backfill_main, b, backfill_free) != 0) {
        backfill_free(b);
        return TM_ENOMEM;
    }
    return 0;
}

int index_backfill_resume_all(struct engine *e)
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
            if (catalog_get(cat, names[i], a, &t) != 0)
                continue;
            for (size_t k = 0; k < t->nindexes && rc == 0; k++)
                if (t->indexes[k].backfilling)
                    rc = index_backfill_start(e, t->name,
                                              t->indexes[k].name);
        }
    }
    arena_destroy(a);
    return rc;
}

void index_backfill_join(void)
{
    atomic_store(&stopping, 1);
    joblist_join_all(&jobs);
    atomic_store(&stopping, 0);
}
