/*
 * jsonw.c - JSON text writer helpers; see jsonw.h.
 */
#include "base/jsonw.h"
#include "base/err.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Whether any of the 8 bytes in `v` needs escaping in a JSON string: a
 * control character (< 0x20), '"' or '\\'.  The usual SWAR tests: a
 * byte x of v is below k (k <= 0x80) when (x - k) borrows into its top
 * bit while x's top bit is clear; a byte equals c when v ^ c has a zero
 * byte.  Exact: no false positives, no misses. */
static int needs_escape8(uint64_t v)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t q = v ^ (ones * '"'), bs = v ^ (ones * '\\');
    uint64_t lt = (v - ones * 0x20) & ~v;

    return ((lt | ((q - ones) & ~q) | ((bs - ones) & ~bs)) & high) != 0;
}

/* How many leading bytes of p[0..n) need no escaping, 16 at a time with
 * SSE2 (every x86-64 has it), else 8 at a time with needs_escape8. */
static size_t plain_prefix(const uint8_t *p, size_t n)
{
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    const __m128i c1f = _mm_set1_epi8(0x1f);

    for (; n - i >= 16; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(p + i));
        /* bytes <= 0x1f are those whose unsigned max with 0x1f is 0x1f */
        __m128i m = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
            _mm_cmpeq_epi8(_mm_max_epu8(v, c1f), c1f));
        if (_mm_movemask_epi8(m) != 0)
            break;
    }
#endif
    for (; n - i >= 8; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        if (needs_escape8(v))
            break;
    }
    while (i < n && p[i] >= 0x20 && p[i] != '"' && p[i] != '\\')
        i++;
    return i;
}

int json_put_str(struct buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *p = (const uint8_t *)s;
    size_t i = plain_prefix(p, n), run = i;
    int rc;

    /* the common case, nothing to escape: one reservation, one copy */
    if (i == n) {
        uint8_t *o = buf_reserve(b, n + 2);
        if (o == NULL)
            return n + 2 > b->max - b->len ? TM_ETOOLARGE : TM_ENOMEM;
        o[0] = '"';
        memcpy(o + 1, p, n);
        o[n + 1] = '"';
        b->len += n + 2;
        return 0;
    }
    rc = buf_putc(b, '"');
    while (rc == 0 && i < n) {
        uint8_t c;
        char esc[6];
        size_t elen = 0;

        /* many plain bytes at a time: most strings have nothing to
         * escape (a 1 MB Scan page spent 43% of its CPU in the bytewise
         * loop); the first run was measured above */
        {
            size_t k = plain_prefix(p + i, n - i);
            if (k) {
                run += k;
                i += k;
                continue;
            }
        }
        c = p[i];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            elen = 2;
        } else if (c < 0x20) {
            esc[0] = '\\';
            switch (c) {
            case '\n': esc[1] = 'n'; elen = 2; break;
            case '\r': esc[1] = 'r'; elen = 2; break;
            case '\t': esc[1] = 't'; elen = 2; break;
            case '\b': esc[1] = 'b'; elen = 2; break;
            case '\f': esc[1] = 'f'; elen = 2; break;
            default:
                esc[1] = 'u';
                esc[2] = '0';
                esc[3] = '0';
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                elen = 6;
            }
        }
        i++;
        if (elen) {
            if (run)
                rc = buf_append(b, p + i - 1 - run, run);
            run = 0;
            if (rc == 0)
                rc = buf_append(b, esc, elen);
        } else {
            run++;
        }
    }
    if (rc == 0 && run)
        rc = buf_append(b, p + n - run, run);
    return rc ? rc : buf_putc(b, '"');
}

int json_put_cstr(struct buf *b, const char *s)
{
    return json_put_str(b, s, strlen(s));
}

int json_put_key(struct buf *b, const char *key)
{
    int rc = json_put_cstr(b, key);
    return rc ? rc : buf_putc(b, ':');
}

int json_put_raw(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

size_t json_fmt_u64(char out[21], uint64_t v)
{
    char tmp[20];
    size_t n = 0, i;

    do
        tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    for (i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    return n;
}

int json_put_i64(struct buf *b, int64_t v)
{
    char t[22];
    /* the magnitude without overflow at INT64_MIN */
    uint64_t m = v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;
    size_t n;

    t[0] = '-';
    n = json_fmt_u64(t + (v < 0), m) + (v < 0);
    return buf_append(b, t, n);
}

int json_put_time_ms(struct buf *b, int64_t ms)
{
    char t[32];
    int n;

    if (ms % 1000 == 0)
        n = snprintf(t, sizeof t, "%" PRId64, ms / 1000);
    else
        n = snprintf(t, sizeof t, "%" PRId64 ".%03d", ms / 1000,
                     (int)(ms % 1000));
    return buf_append(b, t, (size_t)n);
}
