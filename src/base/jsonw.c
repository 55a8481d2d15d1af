/*
 * jsonw.c - JSON text writer helpers; see jsonw.h.
 */
#include "base/jsonw.h"
#include "base/err.h"
#include "base/jsonscan.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int json_put_str(struct buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *p = (const uint8_t *)s;
    size_t i = json_plain_run(p, n, NULL), run = i;
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
            size_t k = json_plain_run(p + i, n - i, NULL);
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
