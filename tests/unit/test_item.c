/*
 * test_item.c - unit tests for the item model: base64, the JSON edge
 * (round trips and every DynamoDB validation message), the binary codec
 * (round trips, truncations, random and mutated garbage), sizes, equality
 * and order.
 */
#include <jansson.h>

#include "base/base64.h"
#include "item/item.h"
#include "test.h"

/* ---- helpers ----------------------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

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

/* Parse `text` as JSON and run item_from_json (item != 0) or
 * av_from_json on it.  Returns -1 if the JSON itself does not parse. */
static int from_text(struct arena *a, const char *text, int item,
                     struct av *out, struct tm_error *err)
{
    json_error_t je;
    json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    int rc;

    if (j == NULL) {
        fprintf(stderr, "bad test JSON: %s: %s\n", text, je.text);
        return -1;
    }
    tm_error_clear(err);
    rc = item ? item_from_json(a, j, out, err) : av_from_json(a, j, out, err);
    json_decref(j);
    return rc;
}

/* JSON text of `v` as a NUL-terminated malloc'd string. */
static char *to_text(const struct av *v, int item)
{
    struct buf b;
    size_t n;
    uint8_t *p;

    buf_init(&b, 64 * 1024 * 1024);
    if ((item ? item_write_json(v, &b) : av_write_json(v, &b)) != 0 ||
        buf_putc(&b, 0) != 0) {
        buf_free(&b);
        return NULL;
    }
    p = buf_take(&b, &n);
    return (char *)p;
}

/* ---- base64 ------------------------------------------------------------ */

static void test_base64_vectors(void)
{
    static const char *const plain[] = {"", "f", "fo", "foo", "foob",
                                        "fooba", "foobar"};
    static const char *const enc[] = {"", "Zg==", "Zm8=", "Zm9v",
                                      "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    size_t i, n;
    uint8_t out[16];

    for (i = 0; i < 7; i++) {
        struct buf b;
        buf_init(&b, 1024);
        ASSERT_EQ(base64_encode(&b, (const uint8_t *)plain[i],
                                strlen(plain[i])), 0);
        ASSERT_EQ(b.len, strlen(enc[i]));
        ASSERT(b.len == 0 || memcmp(b.data, enc[i], b.len) == 0);
        buf_free(&b);
        ASSERT_EQ(base64_decode(enc[i], strlen(enc[i]), out, &n), BASE64_OK);
        ASSERT_EQ(n, strlen(plain[i]));
        ASSERT(n == 0 || memcmp(out, plain[i], n) == 0);
    }
}

static void test_base64_strict(void)
{
    static const struct {
        const char *s;
        int st;
    } bad[] = {
        {"Zg=", BASE64_ELENGTH},   {"Zg", BASE64_ELENGTH},
        {"Zm9vY", BASE64_ELENGTH}, {"Z===", BASE64_ECHAR},
        {"====", BASE64_ECHAR},    {"Zg=a", BASE64_ECHAR},
        {"=Zg=", BASE64_ECHAR},    {"Zg==Zg==", BASE64_ECHAR},
        {"Zm 9", BASE64_ECHAR},    {"Zm9v\n", BASE64_ELENGTH},
        {"Zm-_", BASE64_ECHAR},    {"Zm9\x80", BASE64_ECHAR},
        {"Zh==", BASE64_ETAIL},    {"Zm9=", BASE64_ETAIL},
        {"Zm8=Zm9v", BASE64_ECHAR},
    };
    size_t i, n;
    uint8_t out[16];

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int st = base64_decode(bad[i].s, strlen(bad[i].s), out, &n);
        if (st != bad[i].st)
            TEST_FAIL_("\"%s\": got %d want %d", bad[i].s, st, bad[i].st);
    }
    ASSERT(strlen(base64_strerror(BASE64_ECHAR)) > 0);
}

static void test_base64_random(void)
{
    uint8_t in[300], out[300];
    size_t len, n, i;

    for (len = 0; len < 300; len++) {
        struct buf b;
        for (i = 0; i < len; i++)
            in[i] = (uint8_t)rnd();
        buf_init(&b, 4096);
        ASSERT_EQ(base64_encode(&b, in, len), 0);
        ASSERT_EQ(b.len, base64_encoded_len(len));
        ASSERT(base64_decoded_max(b.len) <= sizeof out + 2);
        ASSERT_EQ(base64_decode((const char *)b.data, b.len, out, &n), 0);
        ASSERT_EQ(n, len);
        ASSERT(len == 0 || memcmp(in, out, len) == 0);
        buf_free(&b);
    }
    /* Over the cap: TM_ETOOLARGE, buffer untouched. */
    {
        struct buf b;
        buf_init(&b, 10);
        ASSERT_EQ(base64_encode(&b, in, 9), TM_ETOOLARGE);
        ASSERT_EQ(b.len, 0);
        buf_free(&b);
    }
}

/* ---- JSON round trips -------------------------------------------------- */

/* Canonical texts: item_write_json must give them back byte for byte. */
static const char *const canon_items[] = {
    "{}",
    "{\"s\":{\"S\":\"hello\"},\"e\":{\"S\":\"\"},"
    "\"u\":{\"S\":\"caf\xc3\xa9 \\\"q\\\" \\\\ \\n\\t\\u0001\"}}",
    "{\"n\":{\"N\":\"0\"},\"a\":{\"N\":\"-1.5\"},\"b\":{\"N\":\"123456789\"},"
    "\"c\":{\"N\":\"0.000001\"},\"d\":{\"N\":\"1000\"}}",
    "{\"b\":{\"B\":\"AAEC/w==\"},\"e\":{\"B\":\"\"}}",
    "{\"t\":{\"BOOL\":true},\"f\":{\"BOOL\":false}}",
    "{\"z\":{\"NULL\":true}}",
    "{\"m\":{\"M\":{\"x\":{\"S\":\"1\"},\"y\":{\"M\":{}},"
    "\"l\":{\"L\":[{\"N\":\"2\"},{\"NULL\":true}]}}}}",
    "{\"l\":{\"L\":[]},\"k\":{\"L\":[{\"L\":[{\"S\":\"deep\"}]},"
    "{\"BOOL\":false},{\"SS\":[\"a\"]}]}}",
    "{\"ss\":{\"SS\":[\"b\",\"a\",\"c\"]}}",
    "{\"ns\":{\"NS\":[\"3\",\"-1\",\"2.5\",\"100\"]}}",
    "{\"bs\":{\"BS\":[\"AQ==\",\"AgM=\",\"AAAA\"]}}",
    "{\"\":{\"S\":\"empty name\"},\"v\":{\"S\":\"nul\\u0000inside\"}}",
};

static void test_json_roundtrip(void)
{
    size_t i;

    for (i = 0; i < sizeof canon_items / sizeof canon_items[0]; i++) {
        struct arena *a = new_arena();
        struct tm_error err;
        struct av v, d;
        struct buf enc;
        char *text, *text2;
        int rc = from_text(a, canon_items[i], 1, &v, &err);

        if (rc != 0)
            TEST_FAIL_("item %zu: rc %d: %s", i, rc, err.msg);
        ASSERT_EQ(v.type, AV_M);
        text = to_text(&v, 1);
        ASSERT(text != NULL);
        if (strcmp(text, canon_items[i]) != 0)
            TEST_FAIL_("item %zu:\n got %s\nwant %s", i, text,
                       canon_items[i]);
        /* Binary round trip. */
        buf_init(&enc, 1 << 20);
        ASSERT_EQ(item_encode(&v, &enc), 0);
        ASSERT_EQ(item_decode(a, enc.data, enc.len, &d), 0);
        ASSERT(av_equal(&v, &d));
        ASSERT(av_equal(&d, &v));
        ASSERT_EQ(item_size(&v), item_size(&d));
        text2 = to_text(&d, 1);
        ASSERT_STR_EQ(text2, text);
        free(text);
        free(text2);
        buf_free(&enc);
        arena_destroy(a);
    }
}

/* One AttributeValue per type, through av_from_json / av_write_json. */
static void test_json_av_types(void)
{
    static const struct {
        const char *text;
        enum av_type t;
    } cases[] = {
        {"{\"S\":\"x\"}", AV_S},
        {"{\"N\":\"42\"}", AV_N},
        {"{\"B\":\"eA==\"}", AV_B},
        {"{\"BOOL\":true}", AV_BOOL},
        {"{\"NULL\":true}", AV_NULL},
        {"{\"M\":{\"a\":{\"S\":\"b\"}}}", AV_M},
        {"{\"L\":[{\"S\":\"b\"},{\"N\":\"1\"}]}", AV_L},
        {"{\"SS\":[\"x\",\"y\"]}", AV_SS},
        {"{\"NS\":[\"1\",\"2\"]}", AV_NS},
        {"{\"BS\":[\"eA==\",\"eQ==\"]}", AV_BS},
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct arena *a = new_arena();
        struct tm_error err;
        struct av v, d;
        struct buf enc;
        char *text;

        ASSERT_EQ(from_text(a, cases[i].text, 0, &v, &err), 0);
        ASSERT_EQ(v.type, cases[i].t);
        ASSERT_STR_EQ(av_type_name(v.type),
                      av_type_name(av_type_parse(av_type_name(cases[i].t),
                                                 strlen(av_type_name(
                                                     cases[i].t)))));
        text = to_text(&v, 0);
        ASSERT_STR_EQ(text, cases[i].text);
        free(text);
        buf_init(&enc, 1 << 20);
        ASSERT_EQ(item_encode(&v, &enc), 0);
        ASSERT_EQ(item_decode(a, enc.data, enc.len, &d), 0);
        ASSERT(av_equal(&v, &d));
        buf_free(&enc);
        arena_destroy(a);
    }
}

/* Input that is valid but not canonical is written canonically. */
static void test_json_canonicalises(void)
{
    static const char *const in[][2] = {
        {"{\"N\":\"1.50\"}", "{\"N\":\"1.5\"}"},
        {"{\"N\":\"+007\"}", "{\"N\":\"7\"}"},
        {"{\"N\":\"15E-1\"}", "{\"N\":\"1.5\"}"},
        {"{\"N\":\"-0\"}", "{\"N\":\"0\"}"},
        {"{\"N\":\"1e3\"}", "{\"N\":\"1000\"}"},
        {"{ \"S\" : \"a\" , \"X\" : 5 }", "{\"S\":\"a\"}"},
        {"{\"S\":\"a\",\"N\":null}", "{\"S\":\"a\"}"},
        {"{\"NS\":[\"1\",\"10\",\"1e2\"]}", "{\"NS\":[\"1\",\"10\",\"100\"]}"},
    };
    size_t i;

    for (i = 0; i < sizeof in / sizeof in[0]; i++) {
        struct arena *a = new_arena();
        struct tm_error err;
        struct av v;
        char *text;

        if (from_text(a, in[i][0], 0, &v, &err) != 0)
            TEST_FAIL_("%s: %s", in[i][0], err.msg);
        text = to_text(&v, 0);
        ASSERT_STR_EQ(text, in[i][1]);
        free(text);
        arena_destroy(a);
    }
}

/* ---- JSON validation --------------------------------------------------- */

#define V TM_EVALIDATION
#define SER TM_ESERIALIZATION
#define INV "One or more parameter values were invalid: "
#define EMPTY_AV "Supplied AttributeValue is empty, must contain exactly " \
                 "one of the supported datatypes"
#define NOT_NUM "A value provided cannot be converted into a number"

static const struct vcase {
    int item;         /* 1: item_from_json, 0: av_from_json */
    const char *text;
    int code;
    const char *msg;  /* exact, or a prefix when it ends with '*' */
} vcases[] = {
    /* exactly one type */
    {0, "{}", V, EMPTY_AV},
    {0, "{\"X\":\"a\"}", V, EMPTY_AV},
    {0, "{\"S\":null}", V, EMPTY_AV},
    {0, "{\"s\":\"lower case is not a type\"}", V, EMPTY_AV},
    {0, "{\"S\":\"a\",\"N\":\"1\"}", V,
     "Supplied AttributeValue has more than one datatypes set, must contain "
     "exactly one of the supported datatypes"},
    {0, "{\"NULL\":true,\"BOOL\":false,\"L\":[]}", V,
     "Supplied AttributeValue has more than one datatypes set, must contain "
     "exactly one of the supported datatypes"},
    {1, "{\"a\":null}", V, EMPTY_AV},
    {1, "{\"a\":{}}", V, EMPTY_AV},
    {0, "{\"L\":[null]}", V, EMPTY_AV},
    {0, "{\"M\":{\"k\":{}}}", V, EMPTY_AV},
    /* wrong JSON kinds */
    {0, "{\"S\":5}", SER, "NUMBER_VALUE cannot be converted to String"},
    {0, "{\"S\":1.5}", SER, "NUMBER_VALUE cannot be converted to String"},
    {0, "{\"S\":true}", SER, "BOOLEAN_VALUE cannot be converted to String"},
    {0, "{\"S\":{}}", SER,
     "Start of structure or map found where not expected."},
    {0, "{\"S\":[]}", SER, "Start of list found where not expected"},
    {0, "{\"N\":1}", SER, "NUMBER_VALUE cannot be converted to String"},
    {0, "{\"B\":1}", SER, "NUMBER_VALUE cannot be converted to Blob"},
    {0, "{\"BOOL\":\"true\"}", SER,
     "STRING_VALUE cannot be converted to Boolean"},
    {0, "{\"BOOL\":1}", SER, "NUMBER_VALUE cannot be converted to Boolean"},
    {0, "{\"NULL\":\"true\"}", SER,
     "STRING_VALUE cannot be converted to Boolean"},
    {0, "{\"L\":{}}", SER,
     "Start of structure or map found where not expected."},
    {0, "{\"L\":\"a\"}", SER, "Expected list or null"},
    {0, "{\"M\":[]}", SER, "Start of list found where not expected"},
    {0, "{\"M\":\"a\"}", SER, "Expected map or null"},
    {0, "{\"SS\":\"a\"}", SER, "Expected list or null"},
    {0, "{\"NS\":{}}", SER,
     "Start of structure or map found where not expected."},
    {0, "{\"SS\":[1]}", SER, "NUMBER_VALUE cannot be converted to String"},
    {0, "{\"NS\":[1]}", SER, "NUMBER_VALUE cannot be converted to String"},
    {0, "{\"BS\":[true]}", SER, "BOOLEAN_VALUE cannot be converted to Blob"},
    {0, "\"x\"", SER, "Unexpected value type in payload"},
    {0, "5", SER, "Unexpected value type in payload"},
    {0, "[]", SER, "Start of list found where not expected"},
    {1, "[]", SER, "Start of list found where not expected"},
    {1, "\"x\"", SER, "Expected map or null"},
    {1, "{\"a\":\"x\"}", SER, "Unexpected value type in payload"},
    {1, "{\"a\":[]}", SER, "Start of list found where not expected"},
    /* serialization errors win over validation errors, wherever they are */
    {0, "{\"NULL\":false,\"S\":5}", SER,
     "NUMBER_VALUE cannot be converted to String"},
    {1, "{\"a\":{\"NULL\":false},\"b\":{\"S\":5}}", SER,
     "NUMBER_VALUE cannot be converted to String"},
    {1, "{\"a\":{},\"b\":{\"L\":[{\"M\":{\"c\":{\"BOOL\":\"x\"}}}]}}", SER,
     "STRING_VALUE cannot be converted to Boolean"},
    {0, "{\"SS\":[],\"B\":\"*\"}", SER, "Base64 encoded value is not valid*"},
    /* ... and the first validation error wins */
    {1, "{\"a\":{\"NULL\":false},\"b\":{\"N\":\"x\"}}", V,
     INV "Null attribute value types must have the value of true"},
    {1, "{\"a\":{\"N\":\"x\"},\"b\":{\"NULL\":false}}", V, NOT_NUM},
    /* NULL */
    {0, "{\"NULL\":false}", V,
     INV "Null attribute value types must have the value of true"},
    /* numbers */
    {0, "{\"N\":\"abc\"}", V, NOT_NUM},
    {0, "{\"N\":\"\"}", V, NOT_NUM},
    {0, "{\"N\":\"1e\"}", V, NOT_NUM},
    {0, "{\"N\":\" 1\"}", V, NOT_NUM},
    {0, "{\"N\":\"NaN\"}", V, NOT_NUM},
    {0, "{\"N\":\"Infinity\"}", V, NOT_NUM},
    {0, "{\"N\":\"0x10\"}", V, NOT_NUM},
    {0, "{\"N\":\"1234567890123456789012345678901234567890\"}", V,
     "Attempting to store more than 38 significant digits in a Number"},
    {0, "{\"N\":\"1e126\"}", V,
     "Number overflow. Attempting to store a number with magnitude larger "
     "than supported range"},
    {0, "{\"N\":\"-1e-131\"}", V,
     "Number underflow. Attempting to store a number with magnitude smaller "
     "than supported range"},
    {0, "{\"NS\":[\"1\",\"x\"]}", V, NOT_NUM},
    {0, "{\"NS\":[\"1\",null]}", V, NOT_NUM},
    {0, "{\"NS\":[\"1e200\"]}", V,
     "Number overflow. Attempting to store a number with magnitude larger "
     "than supported range"},
    {0, "{\"NS\":[\"1e-200\"]}", V,
     "Number underflow. Attempting to store a number with magnitude smaller "
     "than supported range"},
    {0, "{\"NS\":[\"12345678901234567890123456789012345678901\"]}", V,
     "Attempting to store more than 38 significant digits in a Number"},
    /* base64 */
    {0, "{\"B\":\"Zg=\"}", SER, "Base64 encoded value is not valid*"},
    {0, "{\"B\":\"Zh==\"}", SER, "Base64 encoded value is not valid*"},
    {0, "{\"B\":\"Z!==\"}", SER, "Base64 encoded value is not valid*"},
    {0, "{\"BS\":[\"Zg==\",\"Zg\"]}", SER,
     "Base64 encoded value is not valid*"},
    /* sets */
    {0, "{\"SS\":[]}", V, INV "An string set  may not be empty"},
    {0, "{\"NS\":[]}", V, INV "An number set  may not be empty"},
    {0, "{\"BS\":[]}", V, INV "Binary sets should not be empty"},
    {0, "{\"SS\":[\"a\",\"\"]}", V,
     INV "An string set may not have a empty string as a value"},
    {0, "{\"SS\":[\"a\",null]}", V,
     INV "An string set may not have a empty string as a value"},
    {0, "{\"BS\":[\"\"]}", V,
     INV "Binary sets may not contain null or empty values"},
    {0, "{\"SS\":[\"a\",\"b\",\"a\"]}", V,
     INV "Input collection [a, b, a] contains duplicates."},
    {0, "{\"NS\":[\"1\",\"1.0\"]}", V,
     INV "Input collection [1, 1.0] contains duplicates."},
    {0, "{\"NS\":[\"-0\",\"5\",\"0.00\"]}", V,
     INV "Input collection [-0, 5, 0.00] contains duplicates."},
    {0, "{\"BS\":[\"Zg==\",\"Zm8=\",\"Zg==\"]}", V,
     INV "Input collection [Zg==, Zm8=, Zg==] contains duplicates."},
    {1, "{\"k\":{\"M\":{\"s\":{\"SS\":[\"x\",\"x\"]}}}}", V,
     INV "Input collection [x, x] contains duplicates."},
};

static void test_json_validation(void)
{
    size_t i;

    for (i = 0; i < sizeof vcases / sizeof vcases[0]; i++) {
        const struct vcase *c = &vcases[i];
        struct arena *a = new_arena();
        struct tm_error err;
        struct av v;
        size_t ml = strlen(c->msg);
        int rc = from_text(a, c->text, c->item, &v, &err), ok;

        if (ml && c->msg[ml - 1] == '*')
            ok = strncmp(err.msg, c->msg, ml - 1) == 0;
        else
            ok = strcmp(err.msg, c->msg) == 0;
        arena_destroy(a);
        if (rc != c->code || err.code != c->code || !ok)
            TEST_FAIL_("case %zu %s: rc %d (%s), want %d (%s)", i, c->text,
                       rc, err.msg, c->code, c->msg);
    }
}

/* Empty strings and binaries are fine outside keys and sets. */
static void test_json_empty_values_ok(void)
{
    struct arena *a = new_arena();
    struct tm_error err;
    struct av v;

    ASSERT_EQ(from_text(a, "{\"a\":{\"S\":\"\"},\"b\":{\"B\":\"\"},"
                           "\"c\":{\"L\":[{\"S\":\"\"}]},"
                           "\"d\":{\"M\":{\"\":{\"S\":\"\"}}}}",
                        1, &v, &err),
              0);
    ASSERT_EQ(v.u.m.n, 4);
    ASSERT_EQ(v.u.m.v[0].value.u.s.n, 0);
    ASSERT_EQ(v.u.m.v[1].value.type, AV_B);
    arena_destroy(a);
}

/* {"M":{"n": ... }} wrapped `depth` times around a scalar. */
static char *deep_text(int depth, int list, int item)
{
    size_t cap = (size_t)depth * 16 + 64, len = 0;
    char *s = malloc(cap);
    int i;

    if (item)
        len += (size_t)sprintf(s + len, "{\"a\":");
    for (i = 0; i < depth; i++)
        len += (size_t)sprintf(s + len, list ? "{\"L\":[" : "{\"M\":{\"n\":");
    len += (size_t)sprintf(s + len, "{\"S\":\"leaf\"}");
    for (i = 0; i < depth; i++)
        len += (size_t)sprintf(s + len, list ? "]}" : "}}");
    if (item)
        len += (size_t)sprintf(s + len, "}");
    return s;
}

static void test_json_nesting(void)
{
    static const char msg[] = "Nesting Levels have exceeded supported limits*";
    int list, item, depth;

    for (list = 0; list < 2; list++) {
        for (item = 0; item < 2; item++) {
            for (depth = 30; depth <= 40; depth++) {
                struct arena *a = new_arena();
                struct tm_error err;
                struct av v;
                char *t = deep_text(depth, list, item);
                int rc = from_text(a, t, item, &v, &err);

                free(t);
                if (depth <= ITEM_MAX_DEPTH - 1) {
                    if (rc != 0)
                        TEST_FAIL_("depth %d list %d: %s", depth, list,
                                   err.msg);
                    /* Accepted trees go through the codec. */
                    {
                        struct buf b;
                        struct av d;
                        buf_init(&b, 1 << 20);
                        ASSERT_EQ(item_encode(&v, &b), 0);
                        ASSERT_EQ(item_decode(a, b.data, b.len, &d), 0);
                        ASSERT(av_equal(&v, &d));
                        buf_free(&b);
                    }
                } else {
                    ASSERT_EQ(rc, TM_EVALIDATION);
                    ASSERT(strncmp(err.msg, msg, sizeof msg - 2) == 0);
                }
                arena_destroy(a);
            }
        }
    }
    /* Far deeper than the limit (jansson parses up to 2048 levels). */
    {
        struct arena *a = new_arena();
        struct tm_error err;
        struct av v;
        char *t = deep_text(900, 1, 0);
        ASSERT_EQ(from_text(a, t, 0, &v, &err), TM_EVALIDATION);
        free(t);
        t = deep_text(900, 0, 1);
        ASSERT_EQ(from_text(a, t, 1, &v, &err), TM_EVALIDATION);
        free(t);
        arena_destroy(a);
    }
}

/* Large sets take the sorting duplicate check. */
static void test_json_large_sets(void)
{
    struct arena *a = new_arena();
    struct tm_error err;
    struct av v;
    struct buf b;
    int i, rc;

    for (i = 0; i < 3; i++) {
        int k;
        buf_init(&b, 1 << 20);
        buf_printf(&b, "{\"%s\":[", i == 0 ? "SS" : i == 1 ? "NS" : "BS");
        for (k = 0; k < 500; k++) {
            static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                      "abcdefghijklmnopqrstuvwxyz0123456789+/";
            if (i == 2)
                buf_printf(&b, "%s\"%c%cA=\"", k ? "," : "", b64[k % 64],
                           b64[k / 64]);
            else
                buf_printf(&b, "%s\"%d\"", k ? "," : "", k * 7);
        }
        buf_printf(&b, "]}");
        buf_putc(&b, 0);
        rc = from_text(a, (char *)b.data, 0, &v, &err);
        if (rc != 0)
            TEST_FAIL_("set %d: %s", i, err.msg);
        ASSERT_EQ(v.u.ss.n, 500);
        /* Now with a duplicate at the end. */
        b.len -= 3;
        if (i == 2)
            buf_printf(&b, ",\"AAA=\"]}");
        else if (i == 1)
            buf_printf(&b, ",\"7.0\"]}");
        else
            buf_printf(&b, ",\"693\"]}");
        buf_putc(&b, 0);
        rc = from_text(a, (char *)b.data, 0, &v, &err);
        ASSERT_EQ(rc, TM_EVALIDATION);
        ASSERT(strstr(err.msg, "contains duplicates.") != NULL);
        ASSERT(strncmp(err.msg, INV "Input collection [",
                       sizeof(INV "Input collection [") - 1) == 0);
        buf_free(&b);
    }
    arena_destroy(a);
}

/* Out of arena memory: TM_ENOMEM, no crash. */
static void test_json_nomem(void)
{
    const char *t = "{\"a\":{\"S\":\"0123456789012345678901234567890123\"},"
                    "\"b\":{\"L\":[{\"N\":\"1\"},{\"SS\":[\"x\",\"y\"]}]}}";
    size_t cap;
    int ok_seen = 0;

    for (cap = 16; cap < 4096 && !ok_seen; cap += 16) {
        struct arena *a = arena_create(256, cap);
        struct tm_error err;
        struct av v;
        int rc = from_text(a, t, 1, &v, &err);
        ASSERT(rc == 0 || rc == TM_ENOMEM);
        if (rc == TM_ENOMEM)
            ASSERT_EQ(err.code, TM_ENOMEM);
        ok_seen = rc == 0;
        arena_destroy(a);
    }
    ASSERT(ok_seen);
}

/* Writing past a buffer's cap: TM_ETOOLARGE. */
static void test_write_too_large(void)
{
    struct arena *a = new_arena();
    struct tm_error err;
    struct av v;
    struct buf b;

    ASSERT_EQ(from_text(a, canon_items[7], 1, &v, &err), 0);
    buf_init(&b, 20);
    ASSERT_EQ(item_write_json(&v, &b), TM_ETOOLARGE);
    buf_free(&b);
    buf_init(&b, 5);
    ASSERT_EQ(item_encode(&v, &b), TM_ETOOLARGE);
    ASSERT_EQ(b.len, 0);
    buf_free(&b);
    arena_destroy(a);
}

/* ---- codec ------------------------------------------------------------- */

static void test_codec_examples(void)
{
    static const struct {
        const char *json;
        const char *hex;
    } ex[] = {
        {"{\"N\":\"5\"}", "020005"},
        {"{\"N\":\"-1.5\"}", "02030f"},
        {"{\"N\":\"0\"}", "020000"},
        {"{\"BOOL\":true}", "0401"},
        {"{\"NULL\":true}", "05"},
        {"{\"S\":\"x\"}", "010178"},
        {"{\"B\":\"AA==\"}", "030100"},
        {"{\"L\":[]}", "0700"},
        {"{\"M\":{\"a\":{\"S\":\"x\"}}}", "06010161010178"},
        {"{\"SS\":[\"a\",\"\\u0000\"]}", "080201610100"},
        {"{\"NS\":[\"1\",\"200\"]}", "09 02 0001 0802"},
        {"{\"BS\":[\"AQ==\"]}", "0a010101"},
    };
    size_t i, k;

    for (i = 0; i < sizeof ex / sizeof ex[0]; i++) {
        struct arena *a = new_arena();
        struct tm_error err;
        struct av v;
        struct buf b;
        char hex[256];
        size_t hl = 0;
        const char *w;

        ASSERT_EQ(from_text(a, ex[i].json, 0, &v, &err), 0);
        buf_init(&b, 1024);
        ASSERT_EQ(item_encode(&v, &b), 0);
        for (k = 0; k < b.len; k++)
            hl += (size_t)sprintf(hex + hl, "%02x", b.data[k]);
        /* The expected text may hold spaces for reading. */
        {
            char want[256];
            size_t wl = 0;
            for (w = ex[i].hex; *w; w++)
                if (*w != ' ')
                    want[wl++] = *w;
            want[wl] = 0;
            if (strcmp(hex, want) != 0)
                TEST_FAIL_("%s: got %s want %s", ex[i].json, hex, want);
        }
        buf_free(&b);
        arena_destroy(a);
    }
}

/* A varied random tree of depth at most `depth`. */
static void gen_value(struct arena *a, struct av *v, int depth);

/* Random bytes; valid UTF-8 (with NULs and control characters) when
 * `utf8`, any bytes otherwise. */
static void gen_bytes(struct arena *a, struct av_bytes *b, size_t max,
                      int utf8)
{
    size_t n = rnd() % (max + 1), i = 0;
    uint8_t *p = arena_alloc(a, 2 * n + 1);

    while (i < n) {
        uint64_t r = rnd();
        if (!utf8) {
            p[i++] = (uint8_t)r;
        } else if (r % 7 == 0) {
            p[i++] = 0xc3;
            p[i++] = 0xa9;
            n++;
        } else {
            p[i++] = (uint8_t)("ab\0\x01z\"\\\n"[r % 8]);
        }
    }
    b->p = p;
    b->n = i;
}

static void gen_dec(struct dec *d)
{
    char s[64];
    int n = (int)(rnd() % 38) + 1, i, len = 0;

    if (rnd() % 2)
        s[len++] = '-';
    for (i = 0; i < n; i++)
        s[len++] = (char)('0' + rnd() % 10);
    len += sprintf(s + len, "e%d", (int)(rnd() % 200) - 100);
    if (dec_parse(s, (size_t)len, d) != DEC_OK)
        dec_from_i64((int64_t)rnd(), d);
}

static void gen_value(struct arena *a, struct av *v, int depth)
{
    size_t n, i;
    int t = (int)(rnd() % 10) + 1;

    if (depth <= 0 && (t == AV_M || t == AV_L))
        t = AV_S;
    v->type = (enum av_type)t;
    switch (v->type) {
    case AV_S:
    case AV_B:
        gen_bytes(a, &v->u.s, 12, v->type == AV_S);
        break;
    case AV_N:
        gen_dec(&v->u.n);
        break;
    case AV_BOOL:
        v->u.b = (int)(rnd() % 2);
        break;
    case AV_NULL:
        break;
    case AV_M:
        n = rnd() % 5;
        v->u.m.n = n;
        v->u.m.v = arena_alloc(a, (n ? n : 1) * sizeof *v->u.m.v);
        for (i = 0; i < n; i++) {
            char *name = arena_printf(a, "k%zu", i);
            v->u.m.v[i].name.p = (const uint8_t *)name;
            v->u.m.v[i].name.n = strlen(name);
            gen_value(a, &v->u.m.v[i].value, depth - 1);
        }
        break;
    case AV_L:
        n = rnd() % 5;
        v->u.l.n = n;
        v->u.l.v = arena_alloc(a, (n ? n : 1) * sizeof *v->u.l.v);
        for (i = 0; i < n; i++)
            gen_value(a, &v->u.l.v[i], depth - 1);
        break;
    case AV_SS:
    case AV_BS:
        /* Distinct members: "s<i>" with a random tail. */
        n = rnd() % 4 + 1;
        v->u.ss.n = n;
        v->u.ss.v = arena_alloc(a, n * sizeof *v->u.ss.v);
        for (i = 0; i < n; i++) {
            char *s = arena_printf(a, "s%zu-%u", i, (unsigned)(rnd() % 1000));
            v->u.ss.v[i].p = (const uint8_t *)s;
            v->u.ss.v[i].n = strlen(s);
        }
        break;
    case AV_NS:
        n = rnd() % 4 + 1;
        v->u.ns.n = n;
        v->u.ns.v = arena_alloc(a, n * sizeof *v->u.ns.v);
        for (i = 0; i < n; i++)
            dec_from_i64((int64_t)(i * 1000 + rnd() % 1000), &v->u.ns.v[i]);
        break;
    }
}

static void gen_item(struct arena *a, struct av *v)
{
    size_t n = rnd() % 8, i;

    v->type = AV_M;
    v->u.m.n = n;
    v->u.m.v = arena_alloc(a, (n ? n : 1) * sizeof *v->u.m.v);
    for (i = 0; i < n; i++) {
        char *name = arena_printf(a, "attr%zu", i);
        v->u.m.v[i].name.p = (const uint8_t *)name;
        v->u.m.v[i].name.n = strlen(name);
        gen_value(a, &v->u.m.v[i].value, 4);
    }
}

/* Random trees: encode, decode, equal; JSON text stable; every truncation
 * of every encoding is TM_ECORRUPT. */
static void test_codec_random_roundtrip(void)
{
    int iter;
    long truncations = 0;

    for (iter = 0; iter < 400; iter++) {
        struct arena *a = new_arena();
        struct av v, d, j;
        struct buf b, b2;
        struct tm_error err;
        char *t1, *t2;
        size_t cut;

        gen_item(a, &v);
        buf_init(&b, 1 << 20);
        buf_init(&b2, 1 << 20);
        ASSERT_EQ(item_encode(&v, &b), 0);
        ASSERT_EQ(item_decode(a, b.data, b.len, &d), 0);
        ASSERT(av_equal(&v, &d));
        ASSERT_EQ(item_size(&v), item_size(&d));
        ASSERT_EQ(item_encode(&d, &b2), 0);
        ASSERT_EQ(b2.len, b.len);
        ASSERT_MEM_EQ(b.data, b2.data, b.len);
        /* JSON: text -> tree -> text is stable. */
        t1 = to_text(&v, 1);
        ASSERT(t1 != NULL);
        {
            int rc = from_text(a, t1, 1, &j, &err);
            if (rc != 0)
                TEST_FAIL_("%s: %s", t1, err.msg);
        }
        ASSERT(av_equal(&v, &j));
        t2 = to_text(&j, 1);
        ASSERT_STR_EQ(t1, t2);
        free(t1);
        free(t2);
        /* Truncations, each in an exactly-sized heap copy so that ASan
         * sees any overread. */
        for (cut = 0; cut < b.len; cut++) {
            uint8_t *p = malloc(cut ? cut : 1);
            memcpy(p, b.data, cut);
            if (item_decode(a, p, cut, &d) != TM_ECORRUPT) {
                free(p);
                TEST_FAIL_("iteration %d: truncation at %zu of %zu decoded",
                           iter, cut, b.len);
            }
            free(p);
            truncations++;
        }
        /* Trailing garbage. */
        buf_putc(&b, 0x05);
        ASSERT_EQ(item_decode(a, b.data, b.len, &d), TM_ECORRUPT);
        buf_free(&b);
        buf_free(&b2);
        arena_destroy(a);
    }
    ASSERT(truncations > 1000);
}

/* Decode must return 0 or TM_ECORRUPT on anything; what it accepts must
 * re-encode and decode again to an equal tree. */
static void check_garbage(struct arena *a, const uint8_t *src, size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    struct av v, w;
    struct buf b;
    int rc;

    memcpy(p, src, n);
    rc = item_decode(a, p, n, &v);
    if (rc != 0 && rc != TM_ECORRUPT) {
        free(p);
        TEST_FAIL_("decode returned %d", rc);
    }
    if (rc == 0) {
        buf_init(&b, 1 << 22);
        ASSERT_EQ(item_encode(&v, &b), 0);
        ASSERT_EQ(item_decode(a, b.data, b.len, &w), 0);
        ASSERT(av_equal(&v, &w));
        buf_free(&b);
    }
    free(p);
}

static void test_codec_garbage(void)
{
    int iter;
    uint8_t raw[256];

    /* Pure random bytes, biased towards small values so that structure
     * gets past the first bytes now and then. */
    for (iter = 0; iter < 20000; iter++) {
        struct arena *a = arena_create(4096, 1 << 24);
        size_t n = rnd() % sizeof raw, i;
        for (i = 0; i < n; i++) {
            uint64_t r = rnd();
            raw[i] = (uint8_t)((r & 3) == 0 ? r >> 8 : (r >> 8) % 12);
        }
        check_garbage(a, raw, n);
        if (test__cur_failed)
            return;
        arena_destroy(a);
    }
    /* Mutations of valid encodings. */
    for (iter = 0; iter < 20000; iter++) {
        struct arena *a = arena_create(4096, 1 << 24);
        struct av v;
        struct buf b;
        int k, flips = (int)(rnd() % 4) + 1;

        gen_item(a, &v);
        buf_init(&b, 1 << 20);
        ASSERT_EQ(item_encode(&v, &b), 0);
        for (k = 0; k < flips && b.len; k++) {
            uint64_t r = rnd();
            size_t at = (size_t)(r % b.len);
            switch ((r >> 32) % 4) {
            case 0: b.data[at] ^= (uint8_t)(1u << ((r >> 40) % 8)); break;
            case 1: b.data[at] = (uint8_t)(r >> 48); break;
            case 2: b.data[at] = 0xFF; break;
            default: b.data[at] = (uint8_t)((r >> 48) % 12); break;
            }
        }
        check_garbage(a, b.data, b.len);
        buf_free(&b);
        if (test__cur_failed)
            return;
        arena_destroy(a);
    }
}

/* Handmade hostile inputs. */
static void test_codec_hostile(void)
{
    static const struct {
        const char *hex;
        int rc;
    } cases[] = {
        {"", TM_ECORRUPT},
        {"00", TM_ECORRUPT},            /* type 0 */
        {"0b", TM_ECORRUPT},            /* type 11 */
        {"ff", TM_ECORRUPT},
        {"05", 0},                      /* NULL */
        {"0402", TM_ECORRUPT},          /* BOOL 2 */
        {"04", TM_ECORRUPT},
        {"0105616263", TM_ECORRUPT},    /* S longer than the input */
        {"01ffffffffffffffffff01", TM_ECORRUPT}, /* huge length */
        {"06ffffffff0f", TM_ECORRUPT},  /* huge count */
        {"07ffffffffffffffffff01", TM_ECORRUPT},
        {"0800", TM_ECORRUPT},          /* empty SS */
        {"0900", TM_ECORRUPT},          /* empty NS */
        {"0a00", TM_ECORRUPT},          /* empty BS */
        {"020000", 0},                  /* N 0 */
        {"020100", TM_ECORRUPT},        /* -0 */
        {"020200", TM_ECORRUPT},        /* 0 with exp 1 */
        {"02000a", TM_ECORRUPT},        /* 10: trailing zero */
        {"02008000", TM_ECORRUPT},      /* non-minimal coef */
        {"020001", 0},                  /* 1 */
        {"02ffffffffffffffffff0101", TM_ECORRUPT}, /* head too big */
        {"02f80301", TM_ECORRUPT},      /* 1E126: overflow */
        {"02f40301", 0},                /* 1E125 */
        {"028a0401", TM_ECORRUPT},      /* 1E-131: underflow */
        {"02860401", 0},                /* 1E-130 */
        /* 19-byte coefficient over 128 bits */
        {"0200ffffffffffffffffffffffffffffffffffff7f", TM_ECORRUPT},
        {"0700", 0},                    /* empty list */
        {"0600", 0},                    /* empty map */
        {"070105", 0},                  /* [NULL] */
        {"07020505", 0},
        {"0702050505", TM_ECORRUPT},    /* trailing */
    };
    size_t i, k;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct arena *a = new_arena();
        uint8_t p[64];
        size_t n = strlen(cases[i].hex) / 2;
        struct av v;
        int rc;

        for (k = 0; k < n; k++) {
            unsigned x;
            sscanf(cases[i].hex + 2 * k, "%2x", &x);
            p[k] = (uint8_t)x;
        }
        rc = item_decode(a, n ? p : NULL, n, &v);
        arena_destroy(a);
        if (rc != cases[i].rc)
            TEST_FAIL_("%s: got %d want %d", cases[i].hex, rc, cases[i].rc);
    }
}

/* Nesting: the codec reads what it writes up to twice DynamoDB's limit,
 * refuses to write deeper, and refuses to read deeper. */
static void test_codec_depth(void)
{
    struct arena *a = new_arena();
    struct av *v = arena_calloc(a, 200, sizeof *v), d;
    struct buf b;
    int i, depth;
    uint8_t deep[401];

    for (depth = 1; depth <= 100; depth++) {
        /* depth nested lists around NULL */
        for (i = 0; i < depth; i++) {
            v[i].type = AV_L;
            v[i].u.l.n = 1;
            v[i].u.l.v = &v[i + 1];
        }
        v[depth].type = AV_NULL;
        buf_init(&b, 1 << 20);
        if (depth <= 2 * ITEM_MAX_DEPTH) {
            ASSERT_EQ(item_encode(&v[0], &b), 0);
            ASSERT_EQ(item_decode(a, b.data, b.len, &d), 0);
            ASSERT(av_equal(&v[0], &d));
        } else {
            ASSERT_EQ(item_encode(&v[0], &b), TM_ETOOLARGE);
        }
        buf_free(&b);
    }
    /* Hand-built 200 nested lists. */
    for (i = 0; i < 200; i++) {
        deep[2 * i] = AV_L;
        deep[2 * i + 1] = 1;
    }
    deep[400] = AV_NULL;
    ASSERT_EQ(item_decode(a, deep, sizeof deep, &d), TM_ECORRUPT);
    arena_destroy(a);
}

/* ---- sizes, equality, order ------------------------------------------- */

static void test_item_size(void)
{
    struct arena *a = new_arena();
    struct tm_error err;
    struct av v;

    ASSERT_EQ(from_text(a, "{\"id\":{\"S\":\"abc\"},\"n\":{\"N\":\"12345\"},"
                           "\"flag\":{\"BOOL\":true},"
                           "\"l\":{\"L\":[{\"S\":\"xy\"}]}}",
                        1, &v, &err),
              0);
    ASSERT_EQ(item_size(&v), 22);
    ASSERT_EQ(from_text(a, "{\"m\":{\"M\":{\"ab\":{\"NULL\":true}}},"
                           "\"ss\":{\"SS\":[\"a\",\"bcd\"]},"
                           "\"ns\":{\"NS\":[\"1\",\"123\"]},"
                           "\"bs\":{\"BS\":[\"AAA=\"]},"
                           "\"z\":{\"N\":\"0\"}}",
                        1, &v, &err),
              0);
    /* m: 1 + (3 + 2 + 1 + 1) = 8; ss: 2 + 4 = 6; ns: 2 + (2 + 3) = 7;
     * bs: 2 + 2 = 4; z: 1 + 2 = 3 */
    ASSERT_EQ(item_size(&v), 28);
    ASSERT_EQ(av_size(&v.u.m.v[0].value), 7);
    arena_destroy(a);
}

static void test_item_get(void)
{
    struct arena *a = new_arena();
    struct tm_error err;
    struct av v;
    const struct av *x;

    ASSERT_EQ(from_text(a, "{\"a\":{\"S\":\"1\"},\"ab\":{\"N\":\"2\"},"
                           "\"\":{\"BOOL\":true}}",
                        1, &v, &err),
              0);
    x = item_get(&v, "ab", 2);
    ASSERT(x != NULL && x->type == AV_N);
    x = item_get(&v, "a", 1);
    ASSERT(x != NULL && x->type == AV_S);
    x = item_get(&v, "", 0);
    ASSERT(x != NULL && x->type == AV_BOOL);
    ASSERT(item_get(&v, "abc", 3) == NULL);
    ASSERT(item_get(&v, "b", 1) == NULL);
    arena_destroy(a);
}

static void test_av_equal(void)
{
    static const struct {
        const char *x, *y;
        int eq;
    } cases[] = {
        {"{\"N\":\"1\"}", "{\"N\":\"1.000\"}", 1},
        {"{\"N\":\"1\"}", "{\"S\":\"1\"}", 0},
        {"{\"S\":\"a\"}", "{\"S\":\"a\"}", 1},
        {"{\"S\":\"a\"}", "{\"S\":\"ab\"}", 0},
        {"{\"B\":\"AA==\"}", "{\"B\":\"AAA=\"}", 0},
        {"{\"BOOL\":true}", "{\"BOOL\":false}", 0},
        {"{\"NULL\":true}", "{\"NULL\":true}", 1},
        {"{\"SS\":[\"a\",\"b\"]}", "{\"SS\":[\"b\",\"a\"]}", 1},
        {"{\"SS\":[\"a\",\"b\"]}", "{\"SS\":[\"a\",\"c\"]}", 0},
        {"{\"SS\":[\"a\",\"b\"]}", "{\"SS\":[\"a\"]}", 0},
        {"{\"NS\":[\"1\",\"2\"]}", "{\"NS\":[\"2.0\",\"10e-1\"]}", 1},
        {"{\"BS\":[\"AA==\",\"AQ==\"]}", "{\"BS\":[\"AQ==\",\"AA==\"]}", 1},
        {"{\"M\":{\"a\":{\"N\":\"1\"},\"b\":{\"S\":\"x\"}}}",
         "{\"M\":{\"b\":{\"S\":\"x\"},\"a\":{\"N\":\"1.0\"}}}", 1},
        {"{\"M\":{\"a\":{\"N\":\"1\"},\"b\":{\"S\":\"x\"}}}",
         "{\"M\":{\"b\":{\"S\":\"y\"},\"a\":{\"N\":\"1\"}}}", 0},
        {"{\"M\":{\"a\":{\"N\":\"1\"}}}", "{\"M\":{\"b\":{\"N\":\"1\"}}}", 0},
        {"{\"L\":[{\"N\":\"1\"},{\"N\":\"2\"}]}",
         "{\"L\":[{\"N\":\"2\"},{\"N\":\"1\"}]}", 0},
        {"{\"L\":[{\"N\":\"1\"},{\"N\":\"2\"}]}",
         "{\"L\":[{\"N\":\"1\"},{\"N\":\"2\"}]}", 1},
        {"{\"L\":[]}", "{\"M\":{}}", 0},
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct arena *a = new_arena();
        struct tm_error err;
        struct av x, y;
        ASSERT_EQ(from_text(a, cases[i].x, 0, &x, &err), 0);
        ASSERT_EQ(from_text(a, cases[i].y, 0, &y, &err), 0);
        if (av_equal(&x, &y) != cases[i].eq || av_equal(&y, &x) != cases[i].eq)
            TEST_FAIL_("%s vs %s: want %d", cases[i].x, cases[i].y,
                       cases[i].eq);
        arena_destroy(a);
    }
}

/* Big maps and sets in different orders take the sorting path. */
static void test_av_equal_large(void)
{
    struct arena *a = new_arena();
    struct tm_error err;
    struct av x, y;
    struct buf b1, b2;
    int k, kind;

    for (kind = 0; kind < 3; kind++) {
        buf_init(&b1, 1 << 20);
        buf_init(&b2, 1 << 20);
        buf_printf(&b1, kind == 0 ? "{\"M\":{" : kind == 1 ? "{\"SS\":["
                                                           : "{\"NS\":[");
        buf_printf(&b2, kind == 0 ? "{\"M\":{" : kind == 1 ? "{\"SS\":["
                                                           : "{\"NS\":[");
        for (k = 0; k < 100; k++) {
            int j = 99 - k;
            if (kind == 0) {
                buf_printf(&b1, "%s\"k%d\":{\"N\":\"%d\"}", k ? "," : "", k,
                           k);
                buf_printf(&b2, "%s\"k%d\":{\"N\":\"%d\"}", k ? "," : "", j,
                           j);
            } else {
                buf_printf(&b1, "%s\"%d\"", k ? "," : "", k);
                buf_printf(&b2, "%s\"%d\"", k ? "," : "", j);
            }
        }
        buf_printf(&b1, kind == 0 ? "}}" : "]}");
        buf_printf(&b2, kind == 0 ? "}}" : "]}");
        buf_putc(&b1, 0);
        buf_putc(&b2, 0);
        ASSERT_EQ(from_text(a, (char *)b1.data, 0, &x, &err), 0);
        ASSERT_EQ(from_text(a, (char *)b2.data, 0, &y, &err), 0);
        ASSERT(av_equal(&x, &y));
        /* Change one member of y. */
        if (kind == 0)
            y.u.m.v[50].value.u.n.coef += 1;
        else if (kind == 1)
            y.u.ss.v[50].n = 0;
        else
            y.u.ns.v[50].neg = 1;
        ASSERT(!av_equal(&x, &y));
        buf_free(&b1);
        buf_free(&b2);
    }
    arena_destroy(a);
}

static void test_av_compare(void)
{
    static const struct {
        const char *x, *y;
        int c;
    } cases[] = {
        {"{\"S\":\"a\"}", "{\"S\":\"b\"}", -1},
        {"{\"S\":\"a\"}", "{\"S\":\"a\"}", 0},
        {"{\"S\":\"a\"}", "{\"S\":\"aa\"}", -1},
        {"{\"S\":\"\"}", "{\"S\":\"a\"}", -1},
        {"{\"S\":\"\xc3\xa9\"}", "{\"S\":\"z\"}", 1}, /* UTF-8 bytes */
        {"{\"B\":\"/w==\"}", "{\"B\":\"AA==\"}", 1},  /* unsigned */
        {"{\"B\":\"AA==\"}", "{\"B\":\"AAA=\"}", -1},
        {"{\"N\":\"-1\"}", "{\"N\":\"0\"}", -1},
        {"{\"N\":\"10\"}", "{\"N\":\"9\"}", 1},
        {"{\"N\":\"1.0\"}", "{\"N\":\"1\"}", 0},
        {"{\"N\":\"-10\"}", "{\"N\":\"-9\"}", -1},
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct arena *a = new_arena();
        struct tm_error err;
        struct av x, y;
        ASSERT_EQ(from_text(a, cases[i].x, 0, &x, &err), 0);
        ASSERT_EQ(from_text(a, cases[i].y, 0, &y, &err), 0);
        if (av_compare(&x, &y) != cases[i].c ||
            av_compare(&y, &x) != -cases[i].c)
            TEST_FAIL_("%s vs %s: got %d want %d", cases[i].x, cases[i].y,
                       av_compare(&x, &y), cases[i].c);
        arena_destroy(a);
    }
}

static void test_type_names(void)
{
    static const char *const names[] = {"S",  "N", "B",  "BOOL", "NULL",
                                        "M",  "L", "SS", "NS",   "BS"};
    int t;

    for (t = AV_S; t <= AV_BS; t++) {
        ASSERT_STR_EQ(av_type_name((enum av_type)t), names[t - 1]);
        ASSERT_EQ(av_type_parse(names[t - 1], strlen(names[t - 1])), t);
    }
    ASSERT_EQ(av_type_parse("X", 1), 0);
    ASSERT_EQ(av_type_parse("SSS", 3), 0);
    ASSERT_EQ(av_type_parse("s", 1), 0);
    ASSERT_EQ(av_type_parse("BOOLEAN", 7), 0);
    ASSERT_EQ(av_type_parse("", 0), 0);
    ASSERT_EQ(av_type_parse("LS", 2), 0);
    ASSERT_STR_EQ(av_type_name((enum av_type)0), "?");
}

/* Regression (fuzz_item_decode): a non-minimal varint ("ff 00" for 127)
 * was accepted, giving one value two encodings. */
static void test_decode_refuses_nonminimal_varint(void)
{
    static const uint8_t bad[] = {0x02, 0xff, 0x00, 0xff, 0xff, 0x02};
    static const uint8_t bad_len[] = {0x01, 0x81, 0x00, 'x'};
    struct arena *a = arena_create(4096, 1 << 20);
    struct av v;

    /* a 10-byte varint carrying more than 64 bits (2^64 read as 0) */
    static const uint8_t wide[] = {0x09, 0x01, 0x80, 0x80, 0x80, 0x80, 0x80,
                                   0x80, 0x80, 0x80, 0x80, 0x02, 0x25};
    ASSERT_EQ(item_decode(a, bad, sizeof bad, &v), TM_ECORRUPT);
    ASSERT_EQ(item_decode(a, bad_len, sizeof bad_len, &v), TM_ECORRUPT);
    ASSERT_EQ(item_decode(a, wide, sizeof wide, &v), TM_ECORRUPT);
    arena_destroy(a);
}

int main(void)
{
    RUN(test_decode_refuses_nonminimal_varint);
    RUN(test_base64_vectors);
    RUN(test_base64_strict);
    RUN(test_base64_random);
    RUN(test_json_roundtrip);
    RUN(test_json_av_types);
    RUN(test_json_canonicalises);
    RUN(test_json_validation);
    RUN(test_json_empty_values_ok);
    RUN(test_json_nesting);
    RUN(test_json_large_sets);
    RUN(test_json_nomem);
    RUN(test_write_too_large);
    RUN(test_codec_examples);
    RUN(test_codec_random_roundtrip);
    RUN(test_codec_garbage);
    RUN(test_codec_hostile);
    RUN(test_codec_depth);
    RUN(test_item_size);
    RUN(test_item_get);
    RUN(test_av_equal);
    RUN(test_av_equal_large);
    RUN(test_av_compare);
    RUN(test_type_names);
    return TEST_DONE();
}
