/*
 * test_replay_chunk.c - a replay chunk (src/restore/replay_chunk.c) keeps
 * the last change of each key, in memcmp key order: checked against a
 * simple model (apply every change in order to a map, then list it
 * sorted) on random chunks with many repeated keys, keys that are
 * prefixes of one another, keys that differ only past their first 8
 * bytes and keys shorter than 8 bytes, sorted at once or in steps of one
 * pass; reset reuses the chunk; the byte count grows as documented.
 */
#include "restore/replay_chunk.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

static uint32_t rnd_state = 12345;

static uint32_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 17;
    rnd_state ^= rnd_state << 5;
    return rnd_state;
}

/* A pool of keys that stress the comparison: shared 8-byte prefixes,
 * prefixes of each other, zero bytes, short ones. */
#define NKEYS 40
static uint8_t keys[NKEYS][24];
static size_t klens[NKEYS];

static void make_keys(void)
{
    for (int i = 0; i < NKEYS; i++) {
        klens[i] = 1 + rnd() % 20;
        for (size_t b = 0; b < klens[i]; b++)
            keys[i][b] = (uint8_t)(rnd() % 3); /* 0, 1, 2: many ties */
    }
    /* a key and its extensions, one with a zero byte after it */
    memcpy(keys[0], "abcdefgh", 8), klens[0] = 8;
    memcpy(keys[1], "abcdefgh\0", 9), klens[1] = 9;
    memcpy(keys[2], "abcdefghi", 9), klens[2] = 9;
    memcpy(keys[3], "abc", 3), klens[3] = 3;
    memcpy(keys[4], "abc\0", 4), klens[4] = 4;
    klens[5] = 0;
}

/* Distinct keys only (the pool may repeat one by chance). */
static int same_key(int a, int b)
{
    return klens[a] == klens[b] && memcmp(keys[a], keys[b], klens[a]) == 0;
}

struct model_row {
    int key;      /* index of the first equal key in the pool */
    int present;  /* the last change seen */
    int is_delete;
    uint32_t item; /* the put's value */
    uint64_t lsn;
};

static int cmp_rows(const void *x, const void *y)
{
    const struct model_row *a = x, *b = y;
    return replay_key_cmp(keys[a->key], klens[a->key], keys[b->key],
                          klens[b->key]);
}

static void check_chunk(struct replay_chunk *c, int nchanges, int in_steps)
{
    struct model_row rows[NKEYS];
    int canon[NKEYS], nrows = 0;

    memset(rows, 0, sizeof rows);
    for (int i = 0; i < NKEYS; i++) {
        canon[i] = i;
        for (int k = 0; k < i; k++)
            if (same_key(i, k)) {
                canon[i] = canon[k];
                break;
            }
        rows[i].key = i;
    }
    replay_chunk_reset(c);
    ASSERT_EQ(replay_chunk_bytes(c), 0);
    for (int n = 0; n < nchanges; n++) {
        int k = canon[rnd() % NKEYS], del = rnd() % 4 == 0;
        uint32_t v = rnd();
        size_t before = replay_chunk_bytes(c);

        ASSERT_EQ(replay_chunk_add(c, 1000 + (uint64_t)n, keys[k], klens[k],
                                   del, (const uint8_t *)&v, sizeof v,
                                   100 + v % 1000),
                  0);
        ASSERT_EQ(replay_chunk_bytes(c) - before,
                  klens[k] + (del ? 0 : sizeof v) +
                      2 * sizeof(struct replay_change));
        rows[k].present = 1;
        rows[k].is_delete = del;
        rows[k].item = v;
        rows[k].lsn = 1000 + (uint64_t)n;
    }
    ASSERT_EQ(c->added, nchanges);
    if (in_steps == 1) {
        /* one merge pass per step: ceil(log2 n) steps, then the last */
        int steps = 0, passes = 0, rc;
        while ((rc = replay_chunk_sort_step(c)) == 0)
            steps++;
        ASSERT_EQ(rc, 1);
        for (size_t w = 1; w < (size_t)nchanges; w *= 2)
            passes++;
        ASSERT_EQ(steps, passes);
        ASSERT_EQ(replay_chunk_sort_step(c), 1); /* finished stays so */
        ASSERT_EQ(replay_chunk_finish(c), 0);
    } else if (in_steps == 2) {
        /* begun in steps, completed at once */
        for (int k = 0; k < 2; k++)
            ASSERT(replay_chunk_sort_step(c) >= 0);
        ASSERT_EQ(replay_chunk_finish(c), 0);
    } else {
        ASSERT_EQ(replay_chunk_finish(c), 0);
    }
    {
        struct model_row want[NKEYS];
        for (int i = 0; i < NKEYS; i++)
            if (rows[i].present)
                want[nrows++] = rows[i];
        qsort(want, (size_t)nrows, sizeof *want, cmp_rows);
        ASSERT_EQ(c->n, nrows);
        for (int i = 0; i < nrows; i++) {
            const struct replay_change *x = &c->v[i];
            int k = want[i].key;
            ASSERT_EQ(x->klen, klens[k]);
            ASSERT(memcmp(replay_change_key(c, x), keys[k], klens[k]) == 0);
            ASSERT_EQ(x->lsn, want[i].lsn);
            ASSERT_EQ(x->is_delete, want[i].is_delete);
            if (want[i].is_delete) {
                ASSERT(replay_change_item(c, x) == NULL);
                ASSERT_EQ(x->ilen, 0);
                ASSERT_EQ(x->size, 0);
            } else {
                uint32_t v;
                ASSERT_EQ(x->ilen, sizeof v);
                memcpy(&v, replay_change_item(c, x), sizeof v);
                ASSERT_EQ(v, want[i].item);
                ASSERT_EQ(x->size, 100 + v % 1000);
            }
            if (i > 0)
                ASSERT(replay_key_cmp(replay_change_key(c, &c->v[i - 1]),
                                      c->v[i - 1].klen,
                                      replay_change_key(c, x), x->klen) < 0);
        }
    }
}

static void test_matches_the_model(void)
{
    struct replay_chunk c;

    make_keys();
    replay_chunk_init(&c);
    /* sizes around the merge sort's widths, and one chunk reused many
     * times (reset keeps the memory) */
    for (int round = 0; round < 300; round++) {
        int n = round < 70 ? round : (int)(rnd() % 5000);
        check_chunk(&c, n, round % 3);
        if (test__cur_failed)
            break;
    }
    replay_chunk_free(&c);
    replay_chunk_free(&c); /* freed twice: the chunk was re-initialised */
    replay_chunk_free(NULL);
}

static void test_key_order(void)
{
    ASSERT(replay_key_cmp((const uint8_t *)"", 0, (const uint8_t *)"a", 1) <
           0);
    ASSERT(replay_key_cmp((const uint8_t *)"ab", 2, (const uint8_t *)"ab\0",
                          3) < 0);
    ASSERT(replay_key_cmp((const uint8_t *)"ab\0", 3, (const uint8_t *)"ab",
                          2) > 0);
    ASSERT(replay_key_cmp((const uint8_t *)"\xff", 1, (const uint8_t *)"\x01",
                          1) > 0);
    ASSERT_EQ(replay_key_cmp((const uint8_t *)"abc", 3,
                             (const uint8_t *)"abc", 3),
              0);
}

/* A big chunk of distinct keys whose first 8 bytes are shared (sorted
 * past the prefix) come out in order with nothing dropped. */
static void test_big_shared_prefix(void)
{
    struct replay_chunk c;
    enum { N = 100000 };
    uint8_t k[16];

    replay_chunk_init(&c);
    memcpy(k, "PREFIX00", 8);
    for (uint32_t i = 0; i < N; i++) {
        uint32_t x = (uint32_t)((uint64_t)i * 7919 % N); /* a permutation */
        for (int b = 0; b < 8; b++)
            k[8 + b] = (uint8_t)(b < 4 ? 0 : x >> (8 * (7 - b)));
        ASSERT_EQ(replay_chunk_add(&c, i, k, sizeof k, 0, k, 4, 4), 0);
    }
    ASSERT_EQ(replay_chunk_finish(&c), 0);
    ASSERT_EQ(c.n, N);
    for (uint32_t i = 0; i < N; i++) {
        const uint8_t *p = replay_change_key(&c, &c.v[i]);
        uint32_t x = (uint32_t)p[12] << 24 | (uint32_t)p[13] << 16 |
                     (uint32_t)p[14] << 8 | p[15];
        ASSERT_EQ(x, i);
    }
    replay_chunk_free(&c);
}

int main(void)
{
    RUN(test_key_order);
    RUN(test_matches_the_model);
    RUN(test_big_shared_prefix);
    return TEST_DONE();
}
