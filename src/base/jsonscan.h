/*
 * jsonscan.h - the scan both JSON directions share: how many leading bytes
 * of a string are plain, that is neither '"', '\\' nor a control character
 * (< 0x20).  jsonw.c writes such a run in one copy, with no escaping;
 * jsonparse.c takes it as a string's bytes without a look at each.
 *
 * 16 bytes at a time with SSE2 (every x86-64 has it), then 8 at a time
 * with the usual SWAR tests, then byte by byte.  Exact: no false stops, no
 * misses (test_jsonw checks the writer's escaping against a bytewise one
 * on every byte value at every position; test_jsonparse checks the parser
 * against jansson).
 */
#ifndef TM_JSONSCAN_H
#define TM_JSONSCAN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Whether any of the 8 bytes in `v` stops a plain run.  A byte x of v is
 * below k (k <= 0x80) when (x - k) borrows into its top bit while x's top
 * bit is clear; a byte equals c when v ^ c has a zero byte. */
static inline int json_stop8(uint64_t v)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t q = v ^ (ones * '"'), bs = v ^ (ones * '\\');
    uint64_t lt = (v - ones * 0x20) & ~v;

    return ((lt | ((q - ones) & ~q) | ((bs - ones) & ~bs)) & high) != 0;
}

/* The length of the plain run at the start of p[0..n).  With `high` not
 * NULL, *high is set non-zero when a byte of the run is 0x80 or above (so
 * that a parser checks UTF-8 only then). */
static inline size_t json_plain_run(const uint8_t *p, size_t n,
                                    unsigned *high)
{
    size_t i = 0;
    uint64_t hi = 0;
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    const __m128i c1f = _mm_set1_epi8(0x1f);

    for (; n - i >= 16; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(p + i));
        /* bytes <= 0x1f are those whose unsigned max with 0x1f is 0x1f */
        __m128i m = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
            _mm_cmpeq_epi8(_mm_max_epu8(v, c1f), c1f));
        unsigned stop = (unsigned)_mm_movemask_epi8(m);
        unsigned top = (unsigned)_mm_movemask_epi8(v); /* sign bits */

        if (stop) {
            unsigned k = (unsigned)__builtin_ctz(stop);
            if (high)
                *high = (unsigned)(hi != 0) | (top & ((1u << k) - 1));
            return i + k;
        }
        hi |= top;
    }
#endif
    for (; n - i >= 8; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        if (json_stop8(v))
            break;
        hi |= v & 0x8080808080808080ull;
    }
    while (i < n && p[i] >= 0x20 && p[i] != '"' && p[i] != '\\')
        hi |= p[i++] & 0x80;
    if (high)
        *high = hi != 0;
    return i;
}

#endif
