/*
 * jsonw.c - JSON text writer helpers; see jsonw.h.
 */
#include "base/jsonw.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int json_put_str(struct buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *p = (const uint8_t *)s;
    size_t i, run = 0;
    int rc;

    rc = buf_putc(b, '"');
    for (i = 0; rc == 0 && i < n; i++) {
        uint8_t c = p[i];
        char esc[6];
        size_t elen = 0;

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
        if (elen) {
            if (run)
                rc = buf_append(b, p + i - run, run);
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

int json_put_i64(struct buf *b, int64_t v)
{
    char t[24];
    int n = snprintf(t, sizeof t, "%" PRId64, v);
    return buf_append(b, t, (size_t)n);
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
