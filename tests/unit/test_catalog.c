/*
 * test_catalog.c - unit tests for the in-memory catalog's rules between
 * threads (src/catalog/catalog.h): a reader copying a table while the
 * writer swaps the whole catalog (the engine's reload after a failed
 * commit) always finds it, and the swap hands every table over whole.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "base/arena.h"
#include "catalog/catalog.h"
#include "test.h"

static struct table *make_table(const char *name, uint64_t no)
{
    char text[512];
    struct table *t = NULL;
    struct tm_error err;
    int n = snprintf(text, sizeof text,
                     "{\"v\":1,\"name\":\"%s\",\"id\":\"id-%llu\",\"no\":%llu,"
                     "\"attrs\":[[\"userId\",\"S\"],[\"noteId\",\"S\"]],"
                     "\"hash\":\"userId\",\"range\":\"noteId\","
                     "\"billing\":\"PAY_PER_REQUEST\",\"rcu\":0,\"wcu\":0,"
                     "\"created\":1,\"status\":\"ACTIVE\"}",
                     name, (unsigned long long)no, (unsigned long long)no);

    if (table_from_json((const uint8_t *)text, (size_t)n, &t, &err) != 0) {
        fprintf(stderr, "table_from_json: %s\n", err.msg);
        return NULL;
    }
    return t;
}

static struct catalog *make_catalog(uint64_t no)
{
    static const char *names[] = {"alpha", "notes", "zulu"};
    struct catalog *c = catalog_create();

    for (size_t i = 0; c && i < 3; i++) {
        struct table *t = make_table(names[i], no + i);
        if (t == NULL || catalog_insert(c, t) != 0) {
            table_free(t);
            catalog_destroy(c);
            return NULL;
        }
    }
    return c;
}

static void test_swap_hands_every_table_over(void)
{
    struct catalog *live = make_catalog(10), *fresh = make_catalog(20);
    struct arena *a = arena_create(4096, 1 << 20);
    struct table *t;

    ASSERT(live && fresh && a);
    catalog_swap(live, fresh);
    ASSERT_EQ(catalog_count(live), 3);
    ASSERT_EQ(catalog_count(fresh), 3);
    ASSERT_EQ(catalog_get(live, "notes", a, &t), 0);
    ASSERT_EQ(t->no, 21);          /* the fresh definition */
    ASSERT_EQ(catalog_get(fresh, "notes", a, &t), 0);
    ASSERT_EQ(t->no, 11);          /* the old one, freed with `fresh` */
    ASSERT_EQ(catalog_get(live, "missing", a, &t), TM_ENOTFOUND);
    catalog_destroy(fresh);
    catalog_destroy(live);
    arena_destroy(a);
}

struct reader {
    struct catalog *c;
    atomic_int stop;
    atomic_long gets, missing;
};

static void *read_loop(void *arg)
{
    struct reader *r = arg;
    struct arena *a = arena_create(4096, 1 << 20);

    while (a && !atomic_load(&r->stop)) {
        struct table *t;
        if (catalog_get(r->c, "notes", a, &t) == TM_ENOTFOUND)
            r->missing++;
        r->gets++;
        arena_reset(a);
    }
    arena_destroy(a);
    return NULL;
}

/* The CI failure this guards: the engine's reload used to empty the live
 * catalog and then fill it again, and a PutItem that looked its table up
 * in between was answered ResourceNotFoundException. */
static void test_readers_never_miss_a_table_during_swaps(void)
{
    struct reader r = {.c = make_catalog(1)};
    pthread_t th[2];
    int swaps = 0;

    ASSERT(r.c);
    for (int i = 0; i < 2; i++)
        ASSERT_EQ(pthread_create(&th[i], NULL, read_loop, &r), 0);
    for (; swaps < 20000; swaps++) {
        struct catalog *fresh = make_catalog((uint64_t)swaps * 3 + 100);
        if (fresh == NULL)
            break;
        catalog_swap(r.c, fresh);
        catalog_destroy(fresh);
    }
    atomic_store(&r.stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    ASSERT_EQ(swaps, 20000);
    ASSERT(r.gets > 0);
    ASSERT_EQ(r.missing, 0);
    catalog_destroy(r.c);
}

int main(void)
{
    RUN(test_swap_hands_every_table_over);
    RUN(test_readers_never_miss_a_table_during_swaps);
    return TEST_DONE();
}
