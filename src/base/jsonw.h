/*
 * jsonw.h - writing JSON text straight into a buf.
 *
 * Responses are built as text, not as jansson trees: the envelope is small
 * and fixed, and items are written from their trees by item_write_json.
 * Only strings need care: json_put_str escapes per RFC 8259 (quote,
 * backslash, control characters as \u00XX; other bytes, UTF-8 included,
 * pass through unchanged).
 */
#ifndef TM_JSONW_H
#define TM_JSONW_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/* Append `"<escaped s>"`.  Returns 0 or TM_ENOMEM/TM_ETOOLARGE. */
int json_put_str(struct buf *b, const char *s, size_t n);

/* Append the NUL-terminated `s` escaped and quoted. */
int json_put_cstr(struct buf *b, const char *s);

/* Append `"key":` (key escaped). */
int json_put_key(struct buf *b, const char *key);

/* Append raw text (no escaping): punctuation and numbers. */
int json_put_raw(struct buf *b, const char *s);

/* `v` in decimal into `out`, NUL-terminated; returns the digits' count.
 * By hand rather than snprintf: numbers go into every answer (and its
 * x-amz-crc32 header). */
size_t json_fmt_u64(char out[21], uint64_t v);

/* Append a signed integer / an epoch-milliseconds time as DynamoDB's
 * seconds with a fraction (1764082395.123). */
int json_put_i64(struct buf *b, int64_t v);
int json_put_time_ms(struct buf *b, int64_t ms);

#endif
