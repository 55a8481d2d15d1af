/*
 * test_key.c - unit tests for the primary-key encoding: memcmp order of
 * encodings equals DynamoDB's order of values, partition prefixes,
 * round trips through key_decode, validation messages and corrupt keys.
 */
#include <jansson.h>

#include "base/hash.h"
#include "storage/key.h"
#include "test.h"

/* ---- helpers ----------------------------------------------------------- */

static uint64_t rng_state = 0x2545F4914F6CDD1DULL;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static struct arena *new_arena(void)
{
    return arena_create(64 * 1024, 256 * 1024 * 1024);
}

static int parse(struct arena *a, const char *text, int item, struct av *out)
{
    json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    struct tm_error err;
    int rc;

    if (j == NULL) {
        fprintf(stderr, "bad test JSON: %s\n", text);
        return -1;
    }
    rc = item ? item_from_json(a, j, out, &err)
              : av_from_json(a, j, out, &err);
    if (rc)
        fprintf(stderr, "%s: %s\n", text, err.msg);
    json_decref(j);
    return rc;
}

/* memcmp order of two byte strings, shorter prefix first: -1, 0, 1. */
static int bcmp3(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    int c = n ? memcmp(a, b, n) : 0;

    if (c)
        return c < 0 ? -1 : 1;
    return an < bn ? -1 : an > bn;
}

/* A random key value of type `t`. */
static void gen_key(struct arena *a, enum av_type t, struct av *v)
{
    v->type = t;
    if (t == AV_N) {
        char s[64];
        int n = (int)(rnd() % 38) + 1, i, len = 0;
        if (rnd() % 2)
            s[len++] = '-';
        /* Small digit alphabet and narrow exponents: plenty of ties and
         * near-ties. */
        for (i = 0; i < n; i++)
            s[len++] = (char)('0' + (rnd() % 3 == 0 ? rnd() % 10 : rnd() % 2));
        len += sprintf(s + len, "e%d", (int)(rnd() % 300) - 160);
        if (dec_parse(s, (size_t)len, &v->u.n) != DEC_OK)
            dec_from_i64((int64_t)(rnd() % 2001) - 1000, &v->u.n);
    } else {
        size_t n = rnd() % 9, i;
        uint8_t *p = arena_alloc(a, n ? n : 1);
        for (i = 0; i < n; i++) {
            uint64_t r = rnd();
            /* Mostly the bytes around the escape: 00, 01, FF. */
            p[i] = (uint8_t)("\x00\x01\xff\x02\xfe" "a"[r % 6]);
            if (r % 11 == 0)
                p[i] = (uint8_t)(r >> 32);
        }
        v->u.s.p = p;
        v->u.s.n = n;
    }
}

static const struct key_schema hash_only_s = {"pk", AV_S, NULL, 0};
static const struct key_schema s_n = {"pk", AV_S, "sk", AV_N};
static const struct key_schema n_b = {"id", AV_N, "when", AV_B};
static const struct key_schema b_s = {"bin", AV_B, "name", AV_S};

/* ---- order ------------------------------------------------------------- */

#define NVALS 400

static void check_range_order(enum av_type t)
{
    struct arena *a = new_arena();
    struct av *v = arena_alloc(a, NVALS * sizeof *v);
    struct buf *e = arena_alloc(a, NVALS * sizeof *e);
    int i, j;

    for (i = 0; i < NVALS; i++) {
        gen_key(a, t, &v[i]);
        buf_init(&e[i], 4096);
        ASSERT_EQ(key_encode_range(t, &v[i], &e[i]), 0);
    }
    for (i = 0; i < NVALS; i++) {
        for (j = 0; j < NVALS; j++) {
            int want = av_compare(&v[i], &v[j]);
            int got = bcmp3(e[i].data, e[i].len, e[j].data, e[j].len);
            if (want != got)
                TEST_FAIL_("type %d: values %d and %d: av_compare %d, "
                           "memcmp %d", t, i, j, want, got);
        }
    }
    for (i = 0; i < NVALS; i++)
        buf_free(&e[i]);
    arena_destroy(a);
}

static void test_range_order_s(void) { check_range_order(AV_S); }
static void test_range_order_n(void) { check_range_order(AV_N); }
static void test_range_order_b(void) { check_range_order(AV_B); }

/* Hand-picked neighbours that escaping must keep in order. */
static void test_range_order_edges(void)
{
    static const struct {
        const char *p;
        size_t n;
    } s[] = {
        {"", 0},          {"\x00", 1},      {"\x00\x00", 2},
        {"\x00\x01", 2},  {"\x00\xff", 2},  {"\x01", 1},
        {"a", 1},         {"a\x00", 2},     {"a\x00\x01", 3},
        {"a\x01", 2},     {"aa", 2},        {"\xff", 1},
        {"\xff\x00", 2},  {"\xff\xff", 2},
    };
    size_t i, n = sizeof s / sizeof s[0];
    struct buf prev, cur;

    buf_init(&prev, 64);
    for (i = 0; i < n; i++) {
        struct av v;
        v.type = AV_B;
        v.u.s.p = (const uint8_t *)s[i].p;
        v.u.s.n = s[i].n;
        buf_init(&cur, 64);
        ASSERT_EQ(key_encode_range(AV_B, &v, &cur), 0);
        if (i > 0 && bcmp3(prev.data, prev.len, cur.data, cur.len) >= 0)
            TEST_FAIL_("edge %zu not after %zu", i, i - 1);
        buf_free(&prev);
        prev = cur;
    }
    buf_free(&prev);
}

/* Within one partition, row keys sort by sort key; partition prefixes are
 * prefixes of their rows; rows decode back. */
static void check_composite(const struct key_schema *ks)
{
    struct arena *a = new_arena();
    struct av h, *r = arena_alloc(a, NVALS * sizeof *r);
    struct buf *e = arena_alloc(a, NVALS * sizeof *e), pfx;
    int i, j;

    gen_key(a, ks->hash_type, &h);
    buf_init(&pfx, 4096);
    ASSERT_EQ(key_encode_partition(ks, &h, &pfx), 0);
    for (i = 0; i < NVALS; i++) {
        struct av dh, dr;
        gen_key(a, ks->range_type, &r[i]);
        buf_init(&e[i], 8192);
        ASSERT_EQ(key_encode(ks, &h, &r[i], &e[i]), 0);
        ASSERT(e[i].len > pfx.len);
        ASSERT_MEM_EQ(e[i].data, pfx.data, pfx.len);
        ASSERT_EQ(key_hash_prefix(e[i].data, e[i].len),
                  key_hash_prefix(pfx.data, pfx.len));
        ASSERT_EQ(key_decode(a, ks, e[i].data, e[i].len, &dh, &dr), 0);
        ASSERT(av_equal(&dh, &h));
        ASSERT(av_equal(&dr, &r[i]));
        /* range may be NULL */
        ASSERT_EQ(key_decode(a, ks, e[i].data, e[i].len, &dh, NULL), 0);
    }
    for (i = 0; i < NVALS; i++) {
        for (j = 0; j < NVALS; j++) {
            int want = av_compare(&r[i], &r[j]);
            int got = bcmp3(e[i].data, e[i].len, e[j].data, e[j].len);
            if (want != got)
                TEST_FAIL_("rows %d and %d: av_compare %d, memcmp %d", i, j,
                           want, got);
        }
    }
    for (i = 0; i < NVALS; i++)
        buf_free(&e[i]);
    buf_free(&pfx);
    arena_destroy(a);
}

static void test_composite_s_n(void) { check_composite(&s_n); }
static void test_composite_n_b(void) { check_composite(&n_b); }
static void test_composite_b_s(void) { check_composite(&b_s); }

/* Different partitions: no partition prefix is a prefix of another's
 * row, and decode round-trips. */
static void test_partitions(void)
{
    const struct key_schema *schemas[] = {&hash_only_s, &n_b, &b_s};
    size_t si;

    for (si = 0; si < 3; si++) {
        const struct key_schema *ks = schemas[si];
        struct arena *a = new_arena();
        struct av *h = arena_alloc(a, 200 * sizeof *h), r;
        struct buf *p = arena_alloc(a, 200 * sizeof *p);
        int i, j;

        for (i = 0; i < 200; i++) {
            struct av dh;
            gen_key(a, ks->hash_type, &h[i]);
            buf_init(&p[i], 4096);
            if (ks->range_name) {
                gen_key(a, ks->range_type, &r);
                ASSERT_EQ(key_encode(ks, &h[i], &r, &p[i]), 0);
            } else {
                ASSERT_EQ(key_encode(ks, &h[i], NULL, &p[i]), 0);
            }
            ASSERT_EQ(key_decode(a, ks, p[i].data, p[i].len, &dh,
                                 ks->range_name ? &r : NULL), 0);
            ASSERT(av_equal(&dh, &h[i]));
        }
        for (i = 0; i < 200; i++) {
            struct buf pi;
            buf_init(&pi, 4096);
            ASSERT_EQ(key_encode_partition(ks, &h[i], &pi), 0);
            for (j = 0; j < 200; j++) {
                int is_prefix = p[j].len >= pi.len &&
                                memcmp(p[j].data, pi.data, pi.len) == 0;
                if (is_prefix != av_equal(&h[i], &h[j]))
                    TEST_FAIL_("schema %zu: partition %d vs row %d", si, i,
                               j);
            }
            buf_free(&pi);
        }
        for (i = 0; i < 200; i++)
            buf_free(&p[i]);
        arena_destroy(a);
    }
}

/* Equal numbers make equal keys (1, 1.0, 10E-1), so hash equally. */
static void test_number_canonical(void)
{
    static const char *const same[] = {"{\"N\":\"1\"}", "{\"N\":\"1.0\"}",
                                       "{\"N\":\"10E-1\"}",
                                       "{\"N\":\"+0001.000\"}"};
    const struct key_schema ks = {"id", AV_N, NULL, 0};
    struct arena *a = new_arena();
    struct buf first, b;
    size_t i;

    buf_init(&first, 256);
    for (i = 0; i < 4; i++) {
        struct av v;
        ASSERT_EQ(parse(a, same[i], 0, &v), 0);
        buf_init(&b, 256);
        ASSERT_EQ(key_encode(&ks, &v, NULL, &b), 0);
        if (i == 0) {
            ASSERT_EQ(buf_append(&first, b.data, b.len), 0);
        } else {
            ASSERT_EQ(b.len, first.len);
            ASSERT_MEM_EQ(b.data, first.data, b.len);
        }
        buf_free(&b);
    }
    buf_free(&first);
    arena_destroy(a);
}

/* The byte format, pinned: hash prefix = big-endian XXH3 of type byte +
 * key bytes; S escaping and terminator. */
static void test_format(void)
{
    static const uint8_t raw[] = {'a', 0, 'b'};
    static const uint8_t hin[] = {AV_B, 'a', 0, 'b'};
    static const uint8_t comp[] = {'a', 0, 0xFF, 'b', 0, 1};
    const struct key_schema ks = {"k", AV_B, NULL, 0};
    struct av v;
    struct buf b;
    uint64_t h = hash64(hin, sizeof hin);
    int i;

    v.type = AV_B;
    v.u.s.p = raw;
    v.u.s.n = sizeof raw;
    buf_init(&b, 256);
    ASSERT_EQ(key_encode(&ks, &v, NULL, &b), 0);
    ASSERT_EQ(b.len, 8 + sizeof comp);
    for (i = 0; i < 8; i++)
        ASSERT_EQ(b.data[i], (uint8_t)(h >> (56 - 8 * i)));
    ASSERT_MEM_EQ(b.data + 8, comp, sizeof comp);
    ASSERT_EQ(key_hash_prefix(b.data, b.len), h);
    /* Short input: zero padded. */
    ASSERT_EQ(key_hash_prefix(b.data, 2), h & 0xFFFF000000000000ULL);
    ASSERT_EQ(key_hash_prefix(NULL, 0), 0);
    buf_free(&b);
}

/* Keys longer than the stack hash buffer hash like short ones do. */
static void test_long_key_hash(void)
{
    const struct key_schema ks = {"k", AV_S, NULL, 0};
    struct arena *a = new_arena();
    size_t n = 10000, i;
    uint8_t *s = arena_alloc(a, n), *hin = arena_alloc(a, n + 1);
    struct av v, d;
    struct buf b;

    for (i = 0; i < n; i++)
        s[i] = (uint8_t)('a' + i % 26);
    hin[0] = AV_S;
    memcpy(hin + 1, s, n);
    v.type = AV_S;
    v.u.s.p = s;
    v.u.s.n = n;
    buf_init(&b, 1 << 20);
    ASSERT_EQ(key_encode(&ks, &v, NULL, &b), 0);
    ASSERT_EQ(key_hash_prefix(b.data, b.len), hash64(hin, n + 1));
    ASSERT_EQ(key_decode(a, &ks, b.data, b.len, &d, NULL), 0);
    ASSERT(av_equal(&d, &v));
    buf_free(&b);
    arena_destroy(a);
}

/* ---- validation -------------------------------------------------------- */

#define INV "One or more parameter values were invalid: "
#define NOMATCH "The provided key element does not match the schema"

static const struct kcase {
    int keymap;      /* 0: key_from_item, 1: key_from_keymap */
    const struct key_schema *ks;
    const char *json;
    const char *msg; /* NULL: success */
} kcases[] = {
    {0, &s_n, "{\"pk\":{\"S\":\"a\"},\"sk\":{\"N\":\"1\"},\"x\":{\"S\":\"\"}}",
     NULL},
    {0, &s_n, "{\"sk\":{\"N\":\"1\"}}", INV "Missing the key pk in the item"},
    {0, &s_n, "{\"pk\":{\"S\":\"a\"}}", INV "Missing the key sk in the item"},
    {0, &s_n, "{\"pk\":{\"N\":\"1\"},\"sk\":{\"N\":\"1\"}}",
     INV "Type mismatch for key pk expected: S actual: N"},
    {0, &s_n, "{\"pk\":{\"S\":\"a\"},\"sk\":{\"SS\":[\"1\"]}}",
     INV "Type mismatch for key sk expected: N actual: SS"},
    {0, &s_n, "{\"pk\":{\"S\":\"\"},\"sk\":{\"N\":\"1\"}}",
     "One or more parameter values are not valid. The AttributeValue for a "
     "key attribute cannot contain an empty string value. Key: pk"},
    {0, &b_s, "{\"bin\":{\"B\":\"\"},\"name\":{\"S\":\"x\"}}",
     "One or more parameter values are not valid. The AttributeValue for a "
     "key attribute cannot contain an empty binary value. Key: bin"},
    {0, &b_s, "{\"bin\":{\"B\":\"AA==\"},\"name\":{\"S\":\"\"}}",
     "One or more parameter values are not valid. The AttributeValue for a "
     "key attribute cannot contain an empty string value. Key: name"},
    {0, &n_b, "{\"id\":{\"N\":\"-1.5\"},\"when\":{\"B\":\"AA==\"}}", NULL},
    /* keymaps */
    {1, &s_n, "{\"pk\":{\"S\":\"a\"},\"sk\":{\"N\":\"1\"}}", NULL},
    {1, &hash_only_s, "{\"pk\":{\"S\":\"a\"}}", NULL},
    {1, &s_n, "{\"pk\":{\"S\":\"a\"}}", NOMATCH},
    {1, &s_n, "{\"pk\":{\"S\":\"a\"},\"sk\":{\"N\":\"1\"},\"x\":{\"S\":\"\"}}",
     NOMATCH},
    {1, &s_n, "{\"pk\":{\"S\":\"a\"},\"zz\":{\"N\":\"1\"}}", NOMATCH},
    {1, &s_n, "{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"1\"}}", NOMATCH},
    {1, &s_n, "{\"pk\":{\"B\":\"AA==\"},\"sk\":{\"N\":\"1\"}}", NOMATCH},
    {1, &hash_only_s, "{\"pk\":{\"S\":\"a\"},\"sk\":{\"N\":\"1\"}}", NOMATCH},
    {1, &hash_only_s, "{}", NOMATCH},
    {1, &hash_only_s, "{\"pk\":{\"S\":\"\"}}",
     "One or more parameter values are not valid. The AttributeValue for a "
     "key attribute cannot contain an empty string value. Key: pk"},
    {1, &b_s, "{\"bin\":{\"B\":\"\"},\"name\":{\"S\":\"x\"}}",
     "One or more parameter values are not valid. The AttributeValue for a "
     "key attribute cannot contain an empty binary value. Key: bin"},
};

static void test_validation(void)
{
    size_t i;

    for (i = 0; i < sizeof kcases / sizeof kcases[0]; i++) {
        const struct kcase *c = &kcases[i];
        struct arena *a = new_arena();
        struct tm_error err;
        struct av item;
        struct buf b;
        int rc;

        ASSERT_EQ(parse(a, c->json, 1, &item), 0);
        buf_init(&b, 1 << 16);
        tm_error_clear(&err);
        rc = c->keymap ? key_from_keymap(c->ks, &item, &b, &err)
                       : key_from_item(c->ks, &item, &b, &err);
        if (c->msg == NULL) {
            if (rc != 0)
                TEST_FAIL_("case %zu: %s", i, err.msg);
            ASSERT(b.len > 8);
        } else {
            if (rc != TM_EVALIDATION || strcmp(err.msg, c->msg) != 0)
                TEST_FAIL_("case %zu: rc %d \"%s\" want \"%s\"", i, rc,
                           err.msg, c->msg);
            ASSERT_EQ(b.len, 0);
        }
        buf_free(&b);
        arena_destroy(a);
    }
}

/* Item and keymap give the same key bytes. */
static void test_item_and_keymap_agree(void)
{
    struct arena *a = new_arena();
    struct av item, km;
    struct buf b1, b2;
    struct tm_error err;

    ASSERT_EQ(parse(a, "{\"x\":{\"L\":[]},\"sk\":{\"N\":\"7.50\"},"
                       "\"pk\":{\"S\":\"u\\u0000v\"}}", 1, &item), 0);
    ASSERT_EQ(parse(a, "{\"sk\":{\"N\":\"7.5\"},\"pk\":{\"S\":\"u\\u0000v\"}}",
                    1, &km), 0);
    buf_init(&b1, 1024);
    buf_init(&b2, 1024);
    ASSERT_EQ(key_from_item(&s_n, &item, &b1, &err), 0);
    ASSERT_EQ(key_from_keymap(&s_n, &km, &b2, &err), 0);
    ASSERT_EQ(b1.len, b2.len);
    ASSERT_MEM_EQ(b1.data, b2.data, b1.len);
    buf_free(&b1);
    buf_free(&b2);
    arena_destroy(a);
}

static void test_size_limits(void)
{
    static const char hmsg[] = INV "Size of hashkey has exceeded the maximum "
                                   "size limit of2048 bytes";
    static const char rmsg[] = INV "Aggregated size of all range keys has "
                                   "exceeded the size limit of 1024 bytes";
    const struct key_schema *schemas[] = {&s_n, &b_s};
    struct arena *a = new_arena();
    uint8_t *big = arena_alloc(a, 4000);
    size_t si;

    memset(big, 'x', 4000);
    for (si = 0; si < 2; si++) {
        const struct key_schema *ks = schemas[si];
        size_t hn, rn;
        for (hn = 2047; hn <= 2049; hn++) {
            for (rn = 1023; rn <= 1025; rn++) {
                struct av item;
                struct av_member m[2];
                struct buf b;
                struct tm_error err;
                int mode, rc;

                m[0].name.p = (const uint8_t *)ks->hash_name;
                m[0].name.n = strlen(ks->hash_name);
                m[0].value.type = ks->hash_type;
                m[0].value.u.s.p = big;
                m[0].value.u.s.n = hn;
                m[1].name.p = (const uint8_t *)ks->range_name;
                m[1].name.n = strlen(ks->range_name);
                m[1].value.type = ks->range_type;
                if (ks->range_type == AV_N) {
                    dec_from_i64(1, &m[1].value.u.n);
                } else {
                    m[1].value.u.s.p = big;
                    m[1].value.u.s.n = rn;
                }
                item.type = AV_M;
                item.u.m.n = 2;
                item.u.m.v = m;
                for (mode = 0; mode < 2; mode++) {
                    buf_init(&b, 1 << 16);
                    rc = mode ? key_from_keymap(ks, &item, &b, &err)
                              : key_from_item(ks, &item, &b, &err);
                    if (hn > 2048) {
                        ASSERT_EQ(rc, TM_EVALIDATION);
                        ASSERT_STR_EQ(err.msg, hmsg);
                    } else if (ks->range_type != AV_N && rn > 1024) {
                        ASSERT_EQ(rc, TM_EVALIDATION);
                        ASSERT_STR_EQ(err.msg, rmsg);
                    } else {
                        ASSERT_EQ(rc, 0);
                    }
                    buf_free(&b);
                }
            }
        }
    }
    arena_destroy(a);
}

/* key_encode only checks types. */
static void test_encode_type_checks(void)
{
    struct av s, n;
    struct buf b;

    s.type = AV_S;
    s.u.s.p = (const uint8_t *)"x";
    s.u.s.n = 1;
    dec_from_i64(3, &n.u.n);
    n.type = AV_N;
    buf_init(&b, 1024);
    ASSERT_EQ(key_encode(&s_n, &n, &n, &b), TM_EVALIDATION);
    ASSERT_EQ(key_encode(&s_n, &s, &s, &b), TM_EVALIDATION);
    ASSERT_EQ(key_encode_partition(&s_n, &n, &b), TM_EVALIDATION);
    ASSERT_EQ(key_encode_range(AV_S, &n, &b), TM_EVALIDATION);
    ASSERT_EQ(key_encode_range(AV_BOOL, &n, &b), TM_EVALIDATION);
    ASSERT_EQ(b.len, 0);
    ASSERT_EQ(key_encode(&s_n, &s, &n, &b), 0);
    /* Over the buffer cap: nothing appended. */
    buf_free(&b);
    buf_init(&b, 12);
    ASSERT_EQ(key_encode(&s_n, &s, &n, &b), TM_ETOOLARGE);
    ASSERT_EQ(b.len, 0);
    buf_free(&b);
}

/* ---- corrupt keys ------------------------------------------------------ */

static void test_decode_corrupt(void)
{
    const struct key_schema *schemas[] = {&hash_only_s, &s_n, &n_b, &b_s};
    size_t si;
    int iter;

    for (si = 0; si < 4; si++) {
        const struct key_schema *ks = schemas[si];
        for (iter = 0; iter < 300; iter++) {
            struct arena *a = new_arena();
            struct av h, r, dh, dr;
            struct buf b;
            size_t cut;

            gen_key(a, ks->hash_type, &h);
            if (ks->range_name)
                gen_key(a, ks->range_type, &r);
            buf_init(&b, 4096);
            ASSERT_EQ(key_encode(ks, &h, ks->range_name ? &r : NULL, &b), 0);
            /* Every truncation, in an exactly-sized heap copy. */
            for (cut = 0; cut < b.len; cut++) {
                uint8_t *p = malloc(cut ? cut : 1);
                int rc;
                memcpy(p, b.data, cut);
                rc = key_decode(a, ks, p, cut, &dh, &dr);
                free(p);
                if (rc != TM_ECORRUPT)
                    TEST_FAIL_("schema %zu: truncation %zu of %zu: %d", si,
                               cut, b.len, rc);
            }
            /* Trailing byte. */
            buf_putc(&b, 0x42);
            ASSERT_EQ(key_decode(a, ks, b.data, b.len, &dh, &dr),
                      TM_ECORRUPT);
            b.len--;
            /* A changed hash prefix. */
            b.data[3] ^= 0x10;
            ASSERT_EQ(key_decode(a, ks, b.data, b.len, &dh, &dr),
                      TM_ECORRUPT);
            b.data[3] ^= 0x10;
            ASSERT_EQ(key_decode(a, ks, b.data, b.len, &dh, &dr), 0);
            /* Random byte flips: 0 or TM_ECORRUPT, never a crash. */
            {
                int k;
                for (k = 0; k < 20; k++) {
                    uint8_t *p = malloc(b.len);
                    int rc;
                    memcpy(p, b.data, b.len);
                    p[rnd() % b.len] = (uint8_t)rnd();
                    rc = key_decode(a, ks, p, b.len, &dh, &dr);
                    free(p);
                    ASSERT(rc == 0 || rc == TM_ECORRUPT);
                }
            }
            buf_free(&b);
            arena_destroy(a);
        }
    }
    /* Bad escapes. */
    {
        struct arena *a = new_arena();
        const struct key_schema ks = {"k", AV_S, NULL, 0};
        uint8_t k[16];
        struct av h;
        uint8_t bad[][3] = {{'a', 0, 2}, {'a', 0, 0}, {0, 0xFE, 1}};
        size_t i;
        for (i = 0; i < 3; i++) {
            memset(k, 0, 8);
            memcpy(k + 8, bad[i], 3);
            k[11] = 0;
            k[12] = 1;
            ASSERT_EQ(key_decode(a, &ks, k, 13, &h, NULL), TM_ECORRUPT);
        }
        arena_destroy(a);
    }
}

int main(void)
{
    RUN(test_range_order_s);
    RUN(test_range_order_n);
    RUN(test_range_order_b);
    RUN(test_range_order_edges);
    RUN(test_composite_s_n);
    RUN(test_composite_n_b);
    RUN(test_composite_b_s);
    RUN(test_partitions);
    RUN(test_number_canonical);
    RUN(test_format);
    RUN(test_long_key_hash);
    RUN(test_validation);
    RUN(test_item_and_keymap_agree);
    RUN(test_size_limits);
    RUN(test_encode_type_checks);
    RUN(test_decode_corrupt);
    return TEST_DONE();
}
