/*
 * test_engine.c - the storage engine: ops through the writer, replay of
 * the change log after a reopen, rollback of failed ops, long row keys,
 * table statistics, and the data-directory lock.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"
#include "test.h"

static char dir[64];

static void fresh_dir(void)
{
    char cmd[128];
    if (dir[0]) {
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
    strcpy(dir, "/tmp/tm-engine-XXXXXX");
    if (mkdtemp(dir) == NULL)
        abort();
}

static struct engine *open_engine(void)
{
    struct engine_options o = {.data_dir = dir, .sync = 0,
                              .map_bytes = 1ull << 30};
    struct engine *e = NULL;
    struct tm_error err = {0};

    if (engine_open(&o, &e, &err) != 0) {
        fprintf(stderr, "engine_open: %s\n", err.msg);
        return NULL;
    }
    return e;
}

/* ---- ops used by the tests --------------------------------------------- */

struct put_arg {
    const char *table;
    const uint8_t *key;
    size_t klen;
    const char *val;
    int fail_after; /* write, then fail: must roll back */
    int del;
};

struct ctx_arg {
    struct engine *e;
    struct put_arg p;
};

static int row_apply(struct engine_wtx *w, void *arg, struct tm_error *err)
{
    struct ctx_arg *c = arg;
    struct table *t = catalog_find(engine_catalog(c->e), c->p.table);
    int rc;

    if (t == NULL)
        return tm_error_set(err, TM_ENOTFOUND, "no table");
    if (c->p.del)
        rc = engine_wtx_delete(w, t, c->p.key, c->p.klen);
    else
        rc = engine_wtx_put(w, t, c->p.key, c->p.klen,
                            (const uint8_t *)c->p.val, strlen(c->p.val),
                            strlen(c->p.val));
    if (rc)
        return tm_error_set(err, rc, "row op failed");
    if (c->p.fail_after)
        return tm_error_set(err, TM_ECONDITION, "failing on purpose");
    return 0;
}

struct table_arg {
    struct engine *e;
    const char *name;
    int del;
};

static int table_apply(struct engine_wtx *w, void *arg, struct tm_error *err)
{
    struct table_arg *a = arg;
    struct table *t;
    int rc;

    if (a->del)
        return engine_wtx_delete_table(w, a->name);
    t = table_new();
    t->name = strdup(a->name);
    t->attrs = calloc(1, sizeof *t->attrs);
    t->attrs[0].name = strdup("pk");
    t->attrs[0].type = AV_S;
    t->nattrs = 1;
    strcpy(t->id, "00000000-0000-4000-8000-000000000000");
    t->billing = BILLING_PAY_PER_REQUEST;
    t->status = TABLE_ACTIVE;
    table_bind_keys(t, "pk", NULL);
    rc = engine_wtx_create_table(w, t);
    if (rc) {
        table_free(t);
        return tm_error_set(err, rc, "create failed");
    }
    return 0;
}

static int make_table(struct engine *e, const char *name)
{
    struct table_arg a = {e, name, 0};
    struct engine_op op = {0};
    op.apply = table_apply;
    op.arg = &a;
    return engine_run(e, &op);
}

static int drop_table(struct engine *e, const char *name)
{
    struct table_arg a = {e, name, 1};
    struct engine_op op = {0};
    op.apply = table_apply;
    op.arg = &a;
    return engine_run(e, &op);
}

static int row(struct engine *e, const char *table, const void *key,
               size_t klen, const char *val, int fail_after, int del)
{
    struct ctx_arg c = {e, {table, key, klen, val, fail_after, del}};
    struct engine_op op = {0};
    op.apply = row_apply;
    op.arg = &c;
    return engine_run(e, &op);
}

/* 1 and the value in `out` if present, 0 if not. */
static int get(struct engine *e, const char *table, const void *key,
               size_t klen, char *out, size_t cap)
{
    struct arena *a = arena_create(4096, 1 << 20);
    struct table *t;
    struct engine_rtx *r;
    const uint8_t *p;
    size_t n;
    int found;

    if (catalog_get(engine_catalog(e), table, a, &t) != 0) {
        arena_destroy(a);
        return -1;
    }
    if (engine_read_begin(e, &r) != 0)
        abort();
    found = engine_get(r, t->no, key, klen, &p, &n);
    if (found == 1) {
        if (n >= cap)
            n = cap - 1;
        memcpy(out, p, n);
        out[n] = '\0';
    }
    engine_read_end(r);
    arena_destroy(a);
    return found;
}

static uint64_t count_of(struct engine *e, const char *table,
                         uint64_t *bytes)
{
    struct arena *a = arena_create(4096, 1 << 20);
    struct table *t;
    uint64_t n = (uint64_t)-1;

    if (catalog_get(engine_catalog(e), table, a, &t) == 0) {
        n = atomic_load(&t->item_count);
        if (bytes)
            *bytes = atomic_load(&t->size_bytes);
    }
    arena_destroy(a);
    return n;
}

/* ---- tests ------------------------------------------------------------- */

static void test_put_get_reopen(void)
{
    struct engine *e;
    char v[64];
    uint64_t bytes = 0;

    fresh_dir();
    e = open_engine();
    ASSERT(e != NULL);
    ASSERT_EQ(make_table(e, "t1"), 0);
    ASSERT_EQ(make_table(e, "t1"), TM_EINUSE);
    ASSERT_EQ(row(e, "t1", "k1", 2, "v1", 0, 0), 0);
    ASSERT_EQ(row(e, "t1", "k2", 2, "value2", 0, 0), 0);
    ASSERT_EQ(row(e, "t1", "k1", 2, "v1b", 0, 0), 0); /* overwrite */
    ASSERT_EQ(get(e, "t1", "k1", 2, v, sizeof v), 1);
    ASSERT_STR_EQ(v, "v1b");
    ASSERT_EQ(count_of(e, "t1", &bytes), 2);
    ASSERT_EQ(bytes, 3 + 6);
    engine_close(e);

    e = open_engine();
    ASSERT(e != NULL);
    ASSERT_EQ(get(e, "t1", "k1", 2, v, sizeof v), 1);
    ASSERT_STR_EQ(v, "v1b");
    ASSERT_EQ(get(e, "t1", "k2", 2, v, sizeof v), 1);
    ASSERT_STR_EQ(v, "value2");
    ASSERT_EQ(count_of(e, "t1", &bytes), 2);
    ASSERT_EQ(bytes, 9);
    ASSERT_EQ(row(e, "t1", "k2", 2, NULL, 0, 1), 0);
    ASSERT_EQ(row(e, "t1", "nope", 4, NULL, 0, 1), 0); /* absent: no-op */
    ASSERT_EQ(count_of(e, "t1", NULL), 1);
    engine_close(e);
}

/* Replay: remove the LMDB state so that everything comes from the log. */
static void test_replay_from_log_only(void)
{
    struct engine *e;
    char v[64], cmd[160];

    fresh_dir();
    e = open_engine();
    ASSERT(e != NULL);
    ASSERT_EQ(make_table(e, "a"), 0);
    ASSERT_EQ(make_table(e, "b"), 0);
    for (int i = 0; i < 200; i++) {
        char k[16], val[32];
        snprintf(k, sizeof k, "k%03d", i);
        snprintf(val, sizeof val, "v%d", i);
        ASSERT_EQ(row(e, i % 2 ? "a" : "b", k, strlen(k), val, 0, 0), 0);
    }
    ASSERT_EQ(row(e, "a", "k001", 4, NULL, 0, 1), 0);
    ASSERT_EQ(drop_table(e, "b"), 0);
    ASSERT_EQ(make_table(e, "b"), 0);
    ASSERT_EQ(row(e, "b", "new", 3, "fresh", 0, 0), 0);
    engine_close(e);

    snprintf(cmd, sizeof cmd, "rm -rf %s/state", dir);
    ASSERT_EQ(system(cmd), 0);
    e = open_engine();
    ASSERT(e != NULL);
    ASSERT_EQ(get(e, "a", "k001", 4, v, sizeof v), 0);
    ASSERT_EQ(get(e, "a", "k003", 4, v, sizeof v), 1);
    ASSERT_STR_EQ(v, "v3");
    ASSERT_EQ(count_of(e, "a", NULL), 99);
    ASSERT_EQ(get(e, "b", "k000", 4, v, sizeof v), 0); /* table re-made */
    ASSERT_EQ(get(e, "b", "new", 3, v, sizeof v), 1);
    ASSERT_EQ(count_of(e, "b", NULL), 1);
    engine_close(e);
}

static void test_failed_op_rolls_back(void)
{
    struct engine *e;
    char v[64];

    fresh_dir();
    e = open_engine();
    ASSERT(e != NULL);
    ASSERT_EQ(make_table(e, "t"), 0);
    ASSERT_EQ(row(e, "t", "k", 1, "old", 0, 0), 0);
    ASSERT_EQ(row(e, "t", "k", 1, "new", 1, 0), TM_ECONDITION);
    ASSERT_EQ(row(e, "t", "z", 1, "zz", 1, 0), TM_ECONDITION);
    ASSERT_EQ(get(e, "t", "k", 1, v, sizeof v), 1);
    ASSERT_STR_EQ(v, "old");
    ASSERT_EQ(get(e, "t", "z", 1, v, sizeof v), 0);
    ASSERT_EQ(count_of(e, "t", NULL), 1);
    engine_close(e);
    /* and nothing of the failed ops is in the log */
    {
        char cmd[160];
        snprintf(cmd, sizeof cmd, "rm -rf %s/state", dir);
        ASSERT_EQ(system(cmd), 0);
    }
    e = open_engine();
    ASSERT(e != NULL);
    ASSERT_EQ(get(e, "t", "k", 1, v, sizeof v), 1);
    ASSERT_STR_EQ(v, "old");
    ASSERT_EQ(get(e, "t", "z", 1, v, sizeof v), 0);
    engine_close(e);
}

/* Keys longer than LMDB's limit: distinct, found, and replayed. */
static void test_long_keys(void)
{
    struct engine *e;
    uint8_t k1[3000], k2[3000];
    char v[64];

    fresh_dir();
    e = open_engine();
    ASSERT(e != NULL);
    ASSERT_EQ(make_table(e, "t"), 0);
    memset(k1, 'x', sizeof k1);
    memcpy(k2, k1, sizeof k2);
    k2[2999] = 'y'; /* same first 472 bytes, different key */
    ASSERT_EQ(row(e, "t", k1, sizeof k1, "one", 0, 0), 0);
    ASSERT_EQ(row(e, "t", k2, sizeof k2, "two", 0, 0), 0);
    ASSERT_EQ(row(e, "t", k1, 600, "short", 0, 0), 0);
    ASSERT_EQ(get(e, "t", k1, sizeof k1, v, sizeof v), 1);
    ASSERT_STR_EQ(v, "one");
    ASSERT_EQ(get(e, "t", k2, sizeof k2, v, sizeof v), 1);
    ASSERT_STR_EQ(v, "two");
    ASSERT_EQ(get(e, "t", k1, 600, v, sizeof v), 1);
    ASSERT_STR_EQ(v, "short");
    ASSERT_EQ(get(e, "t", k1, 601, v, sizeof v), 0);
    ASSERT_EQ(count_of(e, "t", NULL), 3);
    ASSERT_EQ(row(e, "t", k2, sizeof k2, NULL, 0, 1), 0);
    ASSERT_EQ(get(e, "t", k2, sizeof k2, v, sizeof v), 0);
    ASSERT_EQ(get(e, "t", k1, sizeof k1, v, sizeof v), 1);
    engine_close(e);
}

/* Collect the keys a cursor returns after a seek, joined by ','. */
static void walk(struct engine *e, const char *table, const char *from,
                 int reverse, int exclusive, char *out, size_t cap)
{
    struct arena *a = arena_create(4096, 1 << 20);
    struct table *t;
    struct engine_rtx *r;
    struct engine_cursor *c;
    const uint8_t *k, *it;
    size_t kl, il, n = 0;

    out[0] = '\0';
    if (catalog_get(engine_catalog(e), table, a, &t) != 0 ||
        engine_read_begin(e, &r) != 0)
        abort();
    if (engine_cursor_open(r, t->no, &c) != 0)
        abort();
    if (engine_cursor_seek(c, (const uint8_t *)from, from ? strlen(from) : 0,
                           reverse, exclusive) != 0)
        abort();
    while (engine_cursor_next(c, &k, &kl, &it, &il) == 1) {
        n += (size_t)snprintf(out + n, cap - n, "%s%.*s", n ? "," : "",
                              (int)kl, (const char *)k);
    }
    engine_cursor_close(c);
    engine_read_end(r);
    arena_destroy(a);
}

static void test_cursor(void)
{
    struct engine *e;
    char got[256];

    fresh_dir();
    e = open_engine();
    ASSERT(e != NULL);
    ASSERT_EQ(make_table(e, "a"), 0);
    ASSERT_EQ(make_table(e, "b"), 0);
    ASSERT_EQ(make_table(e, "empty"), 0);
    ASSERT_EQ(make_table(e, "c"), 0);
    ASSERT_EQ(row(e, "a", "a1", 2, "x", 0, 0), 0);
    for (int i = 5; i >= 1; i--) {
        char k[4] = {'k', (char)('0' + i), 0, 0};
        ASSERT_EQ(row(e, "b", k, 2, "v", 0, 0), 0);
    }
    ASSERT_EQ(row(e, "c", "c1", 2, "x", 0, 0), 0);
    walk(e, "b", NULL, 0, 0, got, sizeof got);
    ASSERT_STR_EQ(got, "k1,k2,k3,k4,k5");
    walk(e, "b", NULL, 1, 0, got, sizeof got);
    ASSERT_STR_EQ(got, "k5,k4,k3,k2,k1");
    walk(e, "b", "k3", 0, 0, got, sizeof got);
    ASSERT_STR_EQ(got, "k3,k4,k5");
    walk(e, "b", "k3", 0, 1, got, sizeof got);
    ASSERT_STR_EQ(got, "k4,k5");
    walk(e, "b", "k3", 1, 0, got, sizeof got);
    ASSERT_STR_EQ(got, "k3,k2,k1");
    walk(e, "b", "k3", 1, 1, got, sizeof got);
    ASSERT_STR_EQ(got, "k2,k1");
    walk(e, "b", "k35", 1, 0, got, sizeof got); /* between rows */
    ASSERT_STR_EQ(got, "k3,k2,k1");
    walk(e, "b", "k35", 0, 0, got, sizeof got);
    ASSERT_STR_EQ(got, "k4,k5");
    walk(e, "b", "z", 0, 0, got, sizeof got);
    ASSERT_STR_EQ(got, "");
    walk(e, "b", "a", 1, 0, got, sizeof got);
    ASSERT_STR_EQ(got, "");
    walk(e, "empty", NULL, 0, 0, got, sizeof got);
    ASSERT_STR_EQ(got, "");
    walk(e, "empty", NULL, 1, 0, got, sizeof got);
    ASSERT_STR_EQ(got, "");
    walk(e, "c", NULL, 1, 0, got, sizeof got); /* last table, reverse */
    ASSERT_STR_EQ(got, "c1");
    engine_close(e);
}

static void test_lock(void)
{
    struct engine *e, *e2 = NULL;
    struct engine_options o = {.data_dir = dir, .sync = 0,
                              .map_bytes = 1ull << 30};
    struct tm_error err = {0};

    fresh_dir();
    e = open_engine();
    ASSERT(e != NULL);
    ASSERT_EQ(engine_open(&o, &e2, &err), TM_EINUSE);
    ASSERT(strstr(err.msg, "in use") != NULL);
    engine_close(e);
    e = open_engine();
    ASSERT(e != NULL);
    engine_close(e);
}

int main(void)
{
    RUN(test_put_get_reopen);
    RUN(test_replay_from_log_only);
    RUN(test_failed_op_rolls_back);
    RUN(test_long_keys);
    RUN(test_cursor);
    RUN(test_lock);
    fresh_dir(); /* removes the last one */
    rmdir(dir);
    return TEST_DONE();
}
