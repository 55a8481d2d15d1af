/*
 * s3_int.h - what s3.c shares with s3_util.c: the pure helpers (no
 * network, no global state), exposed here so that tests/unit/test_s3.c
 * can test them one by one.
 *
 *   s3_uri_encode        SigV4 percent-encoding of keys and query values
 *   s3_key_check,
 *   s3_bucket_name_ok    the key and bucket name rules
 *   s3_xml_*             the few S3 XML tags this client reads
 *   s3_credentials_parse one profile of an AWS shared credentials file
 *   s3_etag_*            the ETag S3 gives an upload, computed locally
 *   s3_backoff_ms,
 *   s3_http_retryable,
 *   s3_error_hint        the retry policy and the advice in messages
 *
 * All are thread-safe (no shared state).
 */
#ifndef TM_S3_INT_H
#define TM_S3_INT_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "s3/s3.h"

/* ---- encoding ---------------------------------------------------------- */

/* Append `n` bytes of `s` to `b` percent-encoded as SigV4 wants for S3:
 * A-Z a-z 0-9 - . _ ~ stay, and '/' stays when `keep_slash` (object
 * paths); every other byte becomes %XX with upper-case hex.  Returns 0 or
 * buf_append's error. */
int s3_uri_encode(struct buf *b, const char *s, size_t n, int keep_slash);

/* 1 if the `n` bytes at `b` are a bucket name by AWS's rules: 3 to 63
 * characters of a-z 0-9 . -, starting and ending with a letter or digit. */
int s3_bucket_name_ok(const char *b, size_t n);

/* Check `key` (with `what`, "key" or "prefix", for the message): see the
 * key rules in s3.h.  `allow_empty` accepts "" (a prefix may be empty).
 * Returns 0 or TM_EVALIDATION. */
int s3_key_check(const char *key, const char *what, int allow_empty,
                 struct tm_error *err);

/* ---- XML ----------------------------------------------------------------
 * Not a general XML parser: S3 responses are flat, machine-written
 * documents, and this reads only elements with text content by tag name.
 * An element "<Tag>" or "<Tag attr=...>" matches tag "Tag" (never
 * "<TagLonger>"); "<Tag/>" is an empty value. */

/* Find the next element `tag` in [xml + *pos, xml + len).  On success
 * returns 1, points `*val` at its raw (still escaped) text of `*vlen`
 * bytes and moves *pos past its closing tag.  Returns 0 if there is none
 * (or it is not closed). */
int s3_xml_next(const char *xml, size_t len, size_t *pos, const char *tag,
                const char **val, size_t *vlen);

/* Append the XML text `s` (`n` bytes) to `out` with entities replaced:
 * &amp; &lt; &gt; &quot; &apos; and &#N; / &#xH; (as UTF-8).  An unknown
 * or malformed entity is copied as is.  Returns 0 or buf_append's error. */
int s3_xml_unescape(struct buf *out, const char *s, size_t n);

/* The text of the first element `tag`, unescaped, as a NUL-terminated
 * string in `out` (truncated to `n` - 1 bytes: a caller that must not
 * accept a cut value checks strlen(out) < n - 1).  Returns 1 if found,
 * else 0 with out = "". */
int s3_xml_text(const char *xml, size_t len, const char *tag, char *out,
                size_t n);

/* Append `s` to `b` escaped for XML text (& < > " '). */
int s3_xml_escape(struct buf *b, const char *s);

/* One ListObjectsV2 result page.  Calls fn(ctx, key, size) for every
 * <Contents> (key unescaped and NUL-terminated, valid during the call),
 * sets *truncated from <IsTruncated> and *next (malloc'd, or NULL when
 * absent) from <NextContinuationToken>.  Returns 0, fn's non-zero value
 * (which stops the walk), TM_EIO (a <Contents> without <Key> or with a
 * bad <Size>, or <IsTruncated>true without a token: the message says
 * which) or TM_ENOMEM. */
int s3_xml_list_page(const char *xml, size_t len,
                     int (*fn)(void *ctx, const char *key, uint64_t size),
                     void *ctx, int *truncated, char **next,
                     struct tm_error *err);

/* ---- credentials ------------------------------------------------------- */

/* Read profile `profile` of the AWS shared credentials file text `text`
 * (`len` bytes; `source` names it in messages): INI sections "[name]",
 * "key = value" lines, '#' and ';' comment lines; key names are matched
 * without regard to case.  On success `*ak`, `*sk` are malloc'd and
 * `*tok` is malloc'd or NULL (aws_session_token, or the older
 * aws_security_token).  Returns 0, TM_EVALIDATION (no such profile, or a
 * profile without aws_access_key_id / aws_secret_access_key) or
 * TM_ENOMEM; on failure all three are NULL. */
int s3_credentials_parse(const char *text, size_t len, const char *profile,
                         const char *source, char **ak, char **sk,
                         char **tok, struct tm_error *err);

/* ---- ETags ------------------------------------------------------------- */

/* The ETag S3 gives an object uploaded from these part MD5s (no quotes):
 * with `multipart` 0 (one part, a single PUT), the hex MD5 of that part;
 * otherwise the hex MD5 of the concatenated binary part MD5s, then "-"
 * and the number of parts. */
void s3_etag_compute(const uint8_t (*md5s)[16], size_t nparts,
                     int multipart, char out[S3_ETAG_MAX]);

/* 1 if two ETags name the same content: quotes around either are ignored
 * and hex digits compare without regard to case. */
int s3_etag_equal(const char *a, const char *b);

/* Copy `s` (`n` bytes, a header value or XML text) to `out` without
 * surrounding white space and quotes, truncated to S3_ETAG_MAX - 1. */
void s3_etag_clean(const char *s, size_t n, char out[S3_ETAG_MAX]);

/* Lower-case hex of `n` bytes into `out` (2n + 1 bytes). */
void s3_hex(const uint8_t *p, size_t n, char *out);

/* ---- retry policy and advice ------------------------------------------- */

/* Milliseconds to wait after failed attempt number `attempt` (1 = the
 * first): d = min(5000, 100 * 2^(attempt-1)), and the result is
 * d/2 + rnd % (d/2 + 1), so between d/2 and d. */
unsigned s3_backoff_ms(int attempt, uint32_t rnd);

/* 1 if an HTTP answer `status` with S3 error code `code` ("" if none) may
 * succeed when tried again: 5xx but 501 and 505, 429, and the codes
 * SlowDown, RequestTimeout (a 400), InternalError, ServiceUnavailable
 * (also inside a 200 answer to CompleteMultipartUpload). */
int s3_http_retryable(long status, const char *code);

/* What to do about an S3 error, for the end of a message: "check the
 * access key and secret" and the like; "" when there is no advice. */
const char *s3_error_hint(long status, const char *code);

#endif
