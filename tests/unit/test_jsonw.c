/*
 * test_jsonw.c - json_put_str, which checks eight bytes at a time for
 * characters to escape, writes exactly what the plain bytewise escaper
 * writes: every byte value at every position of an 8-byte word, special
 * characters next to each other and at the ends, long random strings;
 * the output of valid UTF-8 parses back (jansson) to the same string.
 */
#include <jansson.h>
#include <inttypes.h>
#include <string.h>

#include "base/buf.h"
#include "base/jsonw.h"
#include "test.h"

/* The reference: one byte at a time. */
static size_t ref_escape(const uint8_t *s, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;

    out[o++] = '"';
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c == '\n' || c == '\r' || c == '\t' || c == '\b' ||
                   c == '\f') {
            out[o++] = '\\';
            out[o++] = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't'
                       : c == '\b' ? 'b' : 'f';
        } else if (c < 0x20) {
            out[o++] = '\\';
            out[o++] = 'u';
            out[o++] = '0';
            out[o++] = '0';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        } else {
            out[o++] = (char)c;
        }
    }
    out[o++] = '"';
    return o;
}

static void same(const uint8_t *s, size_t n)
{
    static char want[6 * 4096 + 2];
    struct buf b;
    size_t wl;

    ASSERT(n <= 4096);
    wl = ref_escape(s, n, want);
    buf_init(&b, 1u << 20);
    ASSERT_EQ(json_put_str(&b, (const char *)s, n), 0);
    ASSERT_EQ(b.len, wl);
    ASSERT_MEM_EQ(b.data, want, wl);
    buf_free(&b);
}

static void test_every_byte_everywhere(void)
{
    uint8_t s[24];

    for (int v = 0; v < 256; v++)
        for (size_t pos = 0; pos < sizeof s; pos++)
            for (size_t n = pos + 1; n <= sizeof s; n += 7) {
                memset(s, 'a', sizeof s);
                s[pos] = (uint8_t)v;
                same(s, n);
            }
}

static void test_neighbours_and_random(void)
{
    static const uint8_t special[] = {'"', '\\', 0, 0x1f, 0x20, 0x21, 0x7f,
                                      0x80, 0xff, '\n', 0x5b, 0x5d, 0x22};
    static uint8_t s[4096];
    uint64_t x = 0x9E3779B97F4A7C15ull;

    for (size_t i = 0; i < sizeof special; i++)
        for (size_t j = 0; j < sizeof special; j++)
            for (size_t pos = 0; pos < 16; pos++) {
                memset(s, 'z', 32);
                s[pos] = special[i];
                s[pos + 1] = special[j];
                same(s, 32);
            }
    for (int round = 0; round < 2000; round++) {
        size_t n;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        n = (size_t)(x % sizeof s);
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            /* mostly plain text, some specials, some high bytes */
            s[i] = (x & 31) == 0 ? special[(x >> 8) % sizeof special]
                                 : (uint8_t)(0x20 + (x >> 16) % 0x5f);
        }
        same(s, n);
    }
    same(s, 0);
}

static void test_parses_back(void)
{
    const char *texts[] = {"plain ascii text, long enough for words",
                           "Grüße 世界 \"quoted\" back\\slash\ttab\nline",
                           "\x01\x02\x1f end", ""};

    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        struct buf b;
        json_t *j;
        json_error_t e;

        buf_init(&b, 1u << 20);
        ASSERT_EQ(json_put_str(&b, texts[i], strlen(texts[i])), 0);
        j = json_loadb((const char *)b.data, b.len, JSON_DECODE_ANY, &e);
        ASSERT(j != NULL && json_is_string(j));
        ASSERT_STR_EQ(json_string_value(j), texts[i]);
        json_decref(j);
        buf_free(&b);
    }
}

/* json_fmt_u64 and json_put_i64 against snprintf, at the edges and on
 * random values of every length. */
static void test_integers(void)
{
    static const uint64_t u[] = {0, 1, 9, 10, 99, 4294967295u,
                                 4294967296u, UINT64_MAX};
    static const int64_t s[] = {0, -1, 1, INT64_MAX, INT64_MIN,
                                INT64_MIN + 1};
    char got[22], want[32];
    uint64_t x = 88172645463325252ull;

    for (size_t i = 0; i < sizeof u / sizeof *u; i++) {
        snprintf(want, sizeof want, "%" PRIu64, u[i]);
        ASSERT_EQ(json_fmt_u64(got, u[i]), strlen(want));
        ASSERT_STR_EQ(got, want);
    }
    for (int i = 0; i < 1000; i++) {
        struct buf b;
        int64_t v = i < (int)(sizeof s / sizeof *s) ? s[i] : (int64_t)x;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        if (i % 3 == 0)
            v >>= (unsigned)(x % 63); /* shorter numbers too */
        snprintf(want, sizeof want, "%" PRId64, v);
        buf_init(&b, 64);
        ASSERT_EQ(json_put_i64(&b, v), 0);
        ASSERT_EQ(b.len, strlen(want));
        ASSERT_MEM_EQ(b.data, want, b.len);
        buf_free(&b);
    }
}

int main(void)
{
    RUN(test_every_byte_everywhere);
    RUN(test_neighbours_and_random);
    RUN(test_parses_back);
    RUN(test_integers);
    return TEST_DONE();
}
