/*
 * test_jsonmem.c - jansson's tagging allocator (src/base/jsonmem.h): a
 * small body parses into the arena it is given and nothing of it is taken
 * from the heap; values made later, members added to a parsed object and
 * bodies above the limit are heap blocks, released by json_decref; a full
 * arena hands the rest of the parse to the heap with the same result;
 * jsonmem_dumps writes what json_dumpb writes, into memory free() takes.
 * Run under AddressSanitizer too (make unit-asan), which reports any
 * heap block left behind or freed wrongly.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/jsonmem.h"
#include "test.h"

static const char body[] =
    "{\"TableName\":\"notes\",\"Key\":{\"userId\":{\"S\":\"u1\"},"
    "\"noteId\":{\"S\":\"n1\"}},\"ConsistentRead\":true,"
    "\"ProjectionExpression\":\"#b\",\"ExpressionAttributeNames\":"
    "{\"#b\":\"body\"},\"Items\":[1,2.5,\"x\",null,false]}";

static char *dumpb(const json_t *j)
{
    size_t n = json_dumpb(j, NULL, 0, JSON_COMPACT | JSON_SORT_KEYS);
    char *s = malloc(n + 1);
    json_dumpb(j, s, n, JSON_COMPACT | JSON_SORT_KEYS);
    s[n] = '\0';
    return s;
}

/* Before jsonmem_init: plain jansson. */
static void test_without_init(void)
{
    struct arena *a = arena_create(4096, 1 << 20);
    json_error_t e;
    json_t *j = jsonmem_loadb(a, body, strlen(body), 0, &e);
    size_t na, nh;
    char *t;

    ASSERT(j != NULL);
    jsonmem_counts(&na, &nh);
    ASSERT_EQ(na, 0);
    ASSERT_EQ(nh, 0);
    ASSERT_EQ(arena_used(a), 0);
    t = jsonmem_dumps(j, JSON_COMPACT);
    ASSERT(t != NULL && strstr(t, "\"noteId\"") != NULL);
    free(t);
    json_decref(j);
    arena_destroy(a);
}

static void test_parse_into_the_arena(void)
{
    struct arena *a = arena_create(4096, 1 << 20);
    json_error_t e;
    json_t *j, *ref;
    size_t na0, nh0, na, nh;
    char *want, *got;

    jsonmem_init();
    jsonmem_init(); /* idempotent */
    ref = json_loadb(body, strlen(body), 0, &e); /* heap: the reference */
    ASSERT(ref != NULL);
    jsonmem_counts(&na0, &nh0);
    j = jsonmem_loadb(a, body, strlen(body), 0, &e);
    ASSERT(j != NULL);
    jsonmem_counts(&na, &nh);
    ASSERT(na - na0 >= 20); /* every value, table and pair */
    ASSERT_EQ(nh, nh0);     /* none on the heap */
    ASSERT(arena_used(a) > 0);
    ASSERT(json_equal(j, ref));
    want = dumpb(ref);
    got = jsonmem_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    ASSERT(got != NULL && strcmp(got, want) == 0);
    free(got); /* plain malloc'd text */
    free(want);
    /* growing a parsed object after the parse: heap blocks, released by
     * json_decref like the rest (ASan: no leak, no bad free) */
    for (int i = 0; i < 40; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        ASSERT_EQ(json_object_set_new(j, k, json_string("a value")), 0);
    }
    jsonmem_counts(&na, &nh);
    ASSERT(nh > nh0);
    ASSERT_EQ(json_object_size(j), 6 + 40);
    json_decref(j);
    arena_reset(a);
    json_decref(ref);
    arena_destroy(a);
}

/* A full arena: the parse goes on on the heap, the same document. */
static void test_full_arena(void)
{
    json_error_t e;
    json_t *ref = json_loadb(body, strlen(body), 0, &e);
    int mixed = 0;

    jsonmem_init();
    for (size_t cap = 0; cap <= 2048; cap += 64) {
        struct arena *a = arena_create(256, cap);
        size_t na0, nh0, na, nh;
        json_t *j;

        jsonmem_counts(&na0, &nh0);
        j = jsonmem_loadb(a, body, strlen(body), 0, &e);
        ASSERT(j != NULL);
        ASSERT(json_equal(j, ref));
        jsonmem_counts(&na, &nh);
        if (cap == 0)
            ASSERT_EQ(na, na0);
        ASSERT(na + nh - na0 - nh0 >= 20);
        mixed += na > na0 && nh > nh0; /* the arena filled mid-parse */
        json_decref(j);
        arena_destroy(a);
    }
    json_decref(ref);
    ASSERT(mixed > 0);
}

/* Above JSONMEM_ARENA_MAX: the heap; and a bad body: NULL, nothing kept. */
static void test_big_and_bad(void)
{
    struct arena *a = arena_create(4096, (size_t)64 << 20);
    size_t n = JSONMEM_ARENA_MAX + 100, na0, nh0, na, nh;
    char *big = malloc(n + 1);
    json_error_t e;
    json_t *j;

    jsonmem_init();
    memset(big, ' ', n);
    memcpy(big, "[\"", 2);
    memset(big + 2, 'x', 1000);
    memcpy(big + 1002, "\"]", 2);
    big[n] = '\0';
    jsonmem_counts(&na0, &nh0);
    j = jsonmem_loadb(a, big, n, 0, &e);
    ASSERT(j != NULL && json_array_size(j) == 1);
    jsonmem_counts(&na, &nh);
    ASSERT_EQ(na, na0);
    ASSERT(nh > nh0);
    ASSERT_EQ(arena_used(a), 0);
    json_decref(j);
    j = jsonmem_loadb(a, "{\"a\":[1,2,", 10, 0, &e);
    ASSERT(j == NULL);
    ASSERT(e.text[0] != '\0');
    arena_destroy(a);
    free(big);
}

int main(void)
{
    RUN(test_without_init);
    RUN(test_parse_into_the_arena);
    RUN(test_full_arena);
    RUN(test_big_and_bad);
    return TEST_DONE();
}
