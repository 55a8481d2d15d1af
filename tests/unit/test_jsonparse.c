/*
 * test_jsonparse.c - json_parse_fast keeps its contract (src/base/
 * jsonparse.h) against jansson itself (tests/unit/jsoncmp.h):
 *   - DynamoDB request bodies and every JSON construct it takes on are
 *     accepted, as the same tree with members in the same order;
 *   - what it must leave to jansson (reals, huge integers, \u escapes,
 *     bad UTF-8, control characters, scalars at the top, trailing bytes,
 *     deep nesting, broken JSON) is declined;
 *   - 200,000 random documents and mutations of them (bytes flipped,
 *     inserted, cut): whatever is accepted is jansson's tree; the run
 *     must accept and decline both, many times.
 * Under AddressSanitizer (make unit-asan) it also shows that a parse
 * declined half way leaves nothing behind.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/jsonparse.h"
#include "jsoncmp.h"
#include "test.h"

static int accepts(const char *s)
{
    return jsoncmp_check(s, strlen(s));
}

static void test_accepted_same_tree(void)
{
    static const char *const ok[] = {
        "{}", "[]", " {\t\"a\" :\r\n1 } \n", "[1,-1,0,-0,true,false,null]",
        "{\"TableName\":\"notes\",\"Key\":{\"userId\":{\"S\":\"u1\"},"
        "\"noteId\":{\"S\":\"n0000001\"}}}",
        "{\"a\":1,\"a\":2,\"b\":{\"a\":[]}}",          /* last one wins */
        "{\"z\":1,\"y\":2,\"x\":3,\"w\":4,\"v\":5,\"u\":6,\"t\":7,\"s\":8,"
        "\"r\":9,\"q\":10,\"p\":11}",                   /* order kept */
        "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]",
        "{\"k\\n\\\"ey\":\"v\\tal\\\\ue\"}",             /* escaped keys */
        "[\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\"]",
        "[9223372036854775807,-9223372036854775808]",
        "[[[[[[[[[[[[[[[[[[[[{\"deep\":[[[[]]]]}]]]]]]]]]]]]]]]]]]]]",
        "[\"a string of more than sixteen bytes, \\\"escaped\\\" twice, "
        "and more than sixteen again after it\"]",
        "{\"\":\"\"}",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        if (accepts(ok[i]) != 1)
            fprintf(stderr, "not accepted: %s\n", ok[i]);
        ASSERT_EQ(accepts(ok[i]), 1);
    }
}

static void test_declined(void)
{
    static const char *const no[] = {
        "", " ", "1", "\"s\"", "true", "null",             /* not a container */
        "{} x", "[] []", "{\"a\":1,}", "[1,]", "{\"a\" 1}", "{a:1}",
        "[1.5]", "[1e3]", "[-0.0]", "[1E-2]",                /* reals */
        "[9223372036854775808]", "[-9223372036854775809]",
        "[99999999999999999999999]",
        "[\"\\u00e9\"]", "[\"\\u0000\"]", "{\"\\u0061\":1}", /* \u */
        "[\"\\x\"]", "[\"\\", "[\"abc", "[\"a\tb\"]", "[\"a\nb\"]",
        "[\"\xc3\"]", "[\"\xc0\xaf\"]", "[\"\xed\xa0\x80\"]", /* bad UTF-8 */
        "[\"\xf4\x90\x80\x80\"]", "[\"\xff\"]", "[\"\xe2\x82\"]",
        "[01]", "[-]", "[+1]", "[tru]", "[nul]", "[falsey]", "{\"a\":}",
        "[", "{", "{\"a\":[1,2}", "\xef\xbb\xbf{}",          /* BOM */
    };
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        if (accepts(no[i]) != 0)
            fprintf(stderr, "not declined: %s\n", no[i]);
        ASSERT_EQ(accepts(no[i]), 0);
    }
    /* NUL bytes inside */
    ASSERT_EQ(jsoncmp_check("[\"a\0b\"]", 7), 0);
    ASSERT_EQ(jsoncmp_check("[1]\0", 4), 0);
    /* nesting beyond the fast path's depth: jansson's to parse */
    {
        char deep[2 * (JSONPARSE_MAX_DEPTH + 1) + 1];
        memset(deep, '[', JSONPARSE_MAX_DEPTH + 1);
        memset(deep + JSONPARSE_MAX_DEPTH + 1, ']', JSONPARSE_MAX_DEPTH + 1);
        deep[sizeof deep - 1] = '\0';
        ASSERT_EQ(accepts(deep), 0);
        deep[JSONPARSE_MAX_DEPTH] = ' ';
        deep[JSONPARSE_MAX_DEPTH + 1] = ' ';
        ASSERT_EQ(accepts(deep), 1);
    }
}

/* ---- random documents ----------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void rand_string(struct buf *b)
{
    static const char *const pieces[] = {
        "a", "Z", "0", " ", "\\\"", "\\\\", "\\/", "\\n", "\\t", "\\u00e9",
        "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "#u", ":v", "{", "]",
        "userId", "noteId", "a somewhat longer run of plain text, 40 b",
    };
    size_t n = next() % 12;
    buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        const char *p = pieces[next() % (sizeof pieces / sizeof pieces[0])];
        buf_append(b, p, strlen(p));
    }
    buf_putc(b, '"');
}

static void rand_value(struct buf *b, int depth)
{
    unsigned k = (unsigned)(next() % (depth > 6 ? 5 : 8));
    char num[32];

    switch (k) {
    case 0: rand_string(b); break;
    case 1:
        snprintf(num, sizeof num, "%lld",
                 (long long)(next() % 2000000) - 1000000);
        buf_append(b, num, strlen(num));
        break;
    case 2: buf_append(b, "true", 4); break;
    case 3: buf_append(b, "null", 4); break;
    case 4:
        if (next() % 8 == 0)
            buf_append(b, "1.25", 4);
        else
            buf_append(b, "false", 5);
        break;
    case 5:
    case 6: {
        size_t n = next() % 5;
        buf_putc(b, '{');
        for (size_t i = 0; i < n; i++) {
            if (i)
                buf_putc(b, ',');
            rand_string(b);
            if (next() % 4)
                buf_putc(b, ':');
            else
                buf_append(b, " : ", 3);
            rand_value(b, depth + 1);
        }
        buf_putc(b, '}');
        break;
    }
    default: {
        size_t n = next() % 5;
        buf_putc(b, '[');
        for (size_t i = 0; i < n; i++) {
            if (i && next() % 4)
                buf_putc(b, ',');
            else if (i)
                buf_append(b, " ,\n", 3);
            rand_value(b, depth + 1);
        }
        buf_putc(b, ']');
    }
    }
}

static void test_random_against_jansson(void)
{
    struct buf b;
    int counts[3] = {0, 0, 0};

    buf_init(&b, 1 << 20);
    for (int i = 0; i < 200000; i++) {
        int rc;

        buf_reset(&b);
        if (next() % 2)
            buf_putc(&b, '{'), rand_string(&b), buf_putc(&b, ':'),
                rand_value(&b, 0), buf_putc(&b, '}');
        else
            buf_putc(&b, '['), rand_value(&b, 0), buf_putc(&b, ']');
        /* half of them mutated */
        for (int m = (int)(next() % 2 ? next() % 3 + 1 : 0); m > 0; m--) {
            size_t at = b.len ? next() % b.len : 0;
            switch (next() % 3) {
            case 0: b.data[at] ^= (uint8_t)(1u << (next() % 8)); break;
            case 1: b.len = at; break;
            default: b.data[at] = (uint8_t)next(); break;
            }
        }
        rc = jsoncmp_check((const char *)b.data, b.len);
        ASSERT(rc >= 0);
        if (rc < 0)
            break;
        counts[rc]++;
    }
    printf("random documents: %d accepted as jansson's tree, %d declined\n",
           counts[1], counts[0]);
    ASSERT(counts[1] > 50000);
    ASSERT(counts[0] > 50000);
    buf_free(&b);
}

int main(void)
{
    RUN(test_accepted_same_tree);
    RUN(test_declined);
    RUN(test_random_against_jansson);
    return TEST_DONE();
}
