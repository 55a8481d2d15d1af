/*
 * s3.h - a client for S3-compatible object stores (AWS S3, Ceph RGW,
 * MinIO), on libcurl.
 *
 * Used by the backup store (on-demand backups kept under
 * `--backup-store s3://bucket/prefix`, endpoint `--s3-endpoint URL`) and
 * by the PITR archive.  It does what those need and nothing more: whole
 * objects in and out (memory or file), HEAD, DELETE, ListObjectsV2 and
 * CreateBucket.  Requests are signed with AWS Signature Version 4 by
 * libcurl itself (CURLOPT_AWS_SIGV4); URLs are path-style only
 * (ENDPOINT/BUCKET/KEY), which every S3-compatible store accepts.
 *
 * Keys.  Every key given to or returned by this module is relative to the
 * client's prefix: with prefix "a/b", key "x/y" is the object "a/b/x/y".
 * A key is 1 to 1024 bytes (prefix included), UTF-8 for S3's sake, with
 * no control character; it must not start or end with '/' nor contain an
 * empty, "." or ".." segment (S3 would accept them, but URL path
 * normalisation on the way may not keep them intact).  Any other
 * character is fine and is percent-encoded as SigV4 requires (':', '$',
 * '+', ' ', '&', ...).
 *
 * Guarantees:
 *   1. s3_put_file verifies what it uploaded: it HEADs the object and
 *      compares its size and ETag with the size and MD5s computed while
 *      reading the local file (every part is also sent with Content-MD5,
 *      so the store refuses a body damaged in transit).  An object that
 *      does not match is deleted, and the call fails.
 *   2. s3_get_file never leaves a partial file at `path`: it writes
 *      "<path>.tmp", fsyncs it, renames it over `path` and fsyncs the
 *      directory; on failure "<path>.tmp" is removed.
 *   3. A failed multipart upload is aborted (the store frees its parts).
 *   4. Memory is bounded: one part buffer for uploads (part_bytes, 16 MiB
 *      by default), nothing proportional to the object for file
 *      downloads.  s3_get_mem is bounded by the caller's buf cap.
 *
 * Retries.  Each request is tried up to max_attempts times when the
 * failure may be transient: cannot connect or resolve, connection reset,
 * a stalled transfer (no byte for timeout_s seconds), HTTP 5xx, 429, 503
 * SlowDown, 400 RequestTimeout.  Between attempts it sleeps an exponential
 * backoff with jitter: attempt n waits between d/2 and d where
 * d = min(5 s, 100 ms * 2^(n-1)).  Any other 4xx is final at once.
 *
 * Errors (all with a message naming the request, the object and what to
 * do, e.g. "S3 PUT s3://bkt/pfx/key failed after 5 attempts: HTTP 503
 * SlowDown (the object store is overloaded; try again later)"):
 *   TM_EVALIDATION  bad configuration: URL, bucket name, key, part size,
 *                   missing credentials
 *   TM_ENOOBJECT    the object does not exist (GET, HEAD)
 *   TM_EUNAVAILABLE the endpoint could not be reached or kept failing
 *                   with 5xx/throttling through every attempt
 *   TM_EIO          any other S3 error (403, NoSuchBucket, ...), a local
 *                   file error, or a read-back mismatch
 *   TM_ETOOLARGE    s3_get_mem: the object is larger than out->max
 *   TM_ENOMEM
 *
 * Known limit: the read-back check assumes the store's ETag is the MD5 of
 * the content (plain or multipart form), which holds for unencrypted
 * objects and SSE-S3 but not for SSE-KMS or SSE-C encrypted buckets.
 *
 * Thread safety: one struct s3_client is used by one thread at a time
 * (it owns one curl handle and its connection).  Any number of clients may
 * exist and be used concurrently by different threads.  libcurl's global
 * initialisation is done once, by the first s3_client_new (pthread_once).
 */
#ifndef TM_S3_H
#define TM_S3_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

#define S3_PART_DEFAULT (16u * 1024 * 1024)
#define S3_PART_MIN (5u * 1024 * 1024)     /* S3's minimum (last part excepted) */
#define S3_PART_MAX (5ull * 1024 * 1024 * 1024)
#define S3_MAX_PARTS 10000u                /* S3's limit per upload */
#define S3_KEY_MAX 1024u                   /* bytes, prefix included */
#define S3_ETAG_MAX 80                     /* buffer for an ETag + NUL */

struct s3_config {
    const char *endpoint;   /* "http://127.0.0.1:7480" (http or https;
                               a trailing '/' is ignored) */
    const char *region;     /* NULL: AWS_REGION, AWS_DEFAULT_REGION, else
                               "us-east-1" */
    const char *access_key; /* NULL: s3_config_credentials() fills all */
    const char *secret_key; /*   three (given access_key, secret_key */
    const char *session_token; /* is required, session_token optional) */
    const char *bucket;
    const char *prefix;     /* "" (or NULL) or "a/b": no leading or
                               trailing '/'; every key is relative to it */
    size_t part_bytes;      /* multipart part size; 0: 16 MiB; at least
                               5 MiB (s3_test_set_min_part lowers that) */
    int max_attempts;       /* per request; 0: 5 */
    int timeout_s;          /* connect timeout and transfer stall timeout
                               (no byte moved for that long); 0: 30 */
};

/* Parse "s3://bucket" or "s3://bucket/prefix/..." into `*bucket` and
 * `*prefix` (both malloc'd, the caller frees them; the prefix is "" when
 * absent, and loses any trailing '/').  Returns 0 or TM_EVALIDATION (not
 * an s3:// URL, bad bucket name, bad prefix: the message says which) or
 * TM_ENOMEM; on failure both are NULL. */
int s3_parse_url(const char *url, char **bucket, char **prefix,
                 struct tm_error *err);

/* Credentials the way the AWS CLI finds them: AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN when the first two are set;
 * else the shared credentials file (AWS_SHARED_CREDENTIALS_FILE, else
 * ~/.aws/credentials), profile AWS_PROFILE, else "default", keys
 * aws_access_key_id, aws_secret_access_key, aws_session_token.
 * On success `*ak` and `*sk` are malloc'd strings, `*tok` a malloc'd
 * string or NULL; the caller frees them.  Returns 0, TM_EVALIDATION (no
 * credentials: the message names the variables, file and profile looked
 * at; only one of the two variables set; a profile without a key) or
 * TM_EIO (the file exists but cannot be read), TM_ENOMEM.  On failure all
 * three are NULL.  Secrets never appear in messages. */
int s3_config_credentials(char **ak, char **sk, char **tok,
                          struct tm_error *err);

struct s3_client;

/* Check `c` and make a client of it in `*out`; the client copies every
 * string it keeps, so `c` may be freed afterwards.  Fills in the defaults
 * described in struct s3_config, including the credentials.  Opens no
 * connection (the first request does).  Returns 0, TM_EVALIDATION (the
 * message names the bad field), TM_ENOMEM or TM_EIO (libcurl could not be
 * initialised).  On failure `*out` is NULL. */
int s3_client_new(const struct s3_config *c, struct s3_client **out,
                  struct tm_error *err);

/* Close the connection and free the client (secrets are wiped).
 * NULL-safe. */
void s3_client_free(struct s3_client *c);

/* PUT `len` bytes at `data` as object `key`, in one request (signed with
 * the body's SHA-256 and sent with its Content-MD5).  Meant for small
 * objects (manifests, markers); use s3_put_file for anything large. */
int s3_put_mem(struct s3_client *c, const char *key, const void *data,
               size_t len, struct tm_error *err);

/* Upload the local file `path` as object `key`: a single PUT when it is
 * at most part_bytes, else a multipart upload (parts of part_bytes, grown
 * if needed to stay within S3_MAX_PARTS; the upload is aborted on any
 * failure).  Then the read-back check (guarantee 1): a mismatch is TM_EIO
 * "uploaded object s3://b/k does not match: ..." and the object is
 * deleted.  `progress`, if not NULL, is called after each part (and once
 * at the start with done = 0) with the bytes uploaded so far and the file
 * size; it runs on the calling thread.  The file must not change while it
 * is uploaded (a file that shrinks is TM_EIO). */
int s3_put_file(struct s3_client *c, const char *key, const char *path,
                void (*progress)(void *ctx, uint64_t done, uint64_t total),
                void *ctx, struct tm_error *err);

/* Download object `key` into `out`, which the caller has set up with
 * buf_init (its cap `max` bounds the object: past it, TM_ETOOLARGE).  The
 * buffer is reset first and holds exactly the object on success; on
 * failure its content is unspecified (the caller still buf_free's it).
 * TM_ENOOBJECT if there is no such object. */
int s3_get_mem(struct s3_client *c, const char *key, struct buf *out,
               struct tm_error *err);

/* Download object `key` into the file `path` (guarantee 2; mode 0640, an
 * existing `path` is replaced, a leftover "<path>.tmp" overwritten).
 * TM_ENOOBJECT if there is no such object, TM_EIO for a local file
 * error. */
int s3_get_file(struct s3_client *c, const char *key, const char *path,
                struct tm_error *err);

/* The size and ETag of object `key`.  `etag` receives the ETag without
 * its quotes ("9e107d9d372bb6826bd81d3542a419d6", or "<hex>-N" for a
 * multipart upload), "" if the store sent none; either output may be
 * NULL.  TM_ENOOBJECT if there is no such object (a HEAD has no body, so a
 * missing bucket reads the same). */
int s3_head(struct s3_client *c, const char *key, uint64_t *size,
            char etag[S3_ETAG_MAX], struct tm_error *err);

/* Delete object `key`.  Deleting a key that does not exist is 0. */
int s3_delete(struct s3_client *c, const char *key, struct tm_error *err);

/* List the objects whose key (relative to the client's prefix) starts
 * with `sub` ("" for all; "backups/" for one "directory"; it is a plain
 * string prefix, so "2026-" matches "2026-01/x"), in key order, following
 * continuation tokens.  `fn` gets each key (relative, NUL-terminated,
 * valid only during the call) and its size.  If `fn` returns non-zero the
 * listing stops and that value is returned as is; `err` is untouched
 * then. */
int s3_list(struct s3_client *c, const char *sub,
            int (*fn)(void *ctx, const char *key, uint64_t size),
            void *ctx, struct tm_error *err);

/* Create the client's bucket if it does not exist (for tests and a
 * first use).  0 if it exists already and is ours. */
int s3_ensure_bucket(struct s3_client *c, struct tm_error *err);

/* "s3://bucket/prefix/key" for messages and logs, into `out` (truncated
 * to `n` bytes, always NUL-terminated).  Returns `out`. */
const char *s3_describe(const struct s3_client *c, const char *key,
                        char *out, size_t n);

/* ---- test hooks ---------------------------------------------------------
 * For tests only; never called by the server. */

/* Lower the minimum part size that s3_client_new accepts (process-wide;
 * call before creating clients).  0 restores S3_PART_MIN. */
void s3_test_set_min_part(size_t bytes);

/* ListObjectsV2 page size (max-keys) of `c`; 0 restores 1000. */
void s3_test_set_max_keys(struct s3_client *c, int n);

/* When on, s3_put_file's read-back check expects a wrong ETag, so that it
 * must fail and delete the object. */
void s3_test_corrupt_readback(struct s3_client *c, int on);

/* How many attempts the last request made (1 = no retry). */
int s3_test_last_attempts(const struct s3_client *c);

#endif
