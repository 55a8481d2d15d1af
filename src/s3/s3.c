/*
 * s3.c - the S3 client: requests over libcurl, signed by libcurl's own
 * SigV4 (CURLOPT_AWS_SIGV4 "aws:amz:REGION:s3"), with retries, and the
 * object operations of s3.h built on them.  The pure parts (encoding, XML,
 * credentials, ETags, retry policy) are in s3_util.c.
 *
 * Callers: the backup store and the PITR archive (through s3.h only).
 * Below it: libcurl (one easy handle per client, so the connection is
 * kept alive from request to request), libcrypto (MD5, SHA-256), POSIX
 * files.
 *
 * ==== ONE REQUEST ====
 *
 * struct req describes a request (method, key, query, body, where the
 * answer goes); perform() runs it up to max_attempts times:
 *
 *     build URL  ENDPOINT/BUCKET[/PREFIX/KEY][?QUERY]   (once)
 *     attempt:   curl_easy_reset, options, curl_easy_perform
 *         2xx                    -> done (0)
 *         transient failure      -> sleep s3_backoff_ms, next attempt
 *         other failure, or the last attempt -> the error of s3.h
 *
 * What libcurl 7.88 (Debian 12) needs to sign right, learnt against Ceph
 * RGW and AWS's rules:
 *   - the query string is signed as sent: it must already be canonical
 *     (parameters sorted by name, names and values percent-encoded with
 *     upper-case hex, "name=" for a parameter without value);
 *   - the path is signed as sent: keys are percent-encoded once, with
 *     '/' left alone (s3_uri_encode);
 *   - curl 7.88 sends no x-amz-content-sha256 but signs with the value of
 *     one we send: the SHA-256 of small bodies we hold in memory, else
 *     UNSIGNED-PAYLOAD (every part carries Content-MD5 instead, which the
 *     store checks).
 *
 * The answer: a 2xx body goes to the request's sink (a buf or a file
 * descriptor); any other body is kept (up to ERRBODY_MAX) for its <Code>
 * and <Message>.  Header lines give the ETag and Content-Length.
 *
 * ==== UPLOADS (s3_put_file) ====
 *
 *     size <= part:  read the file into one buffer, MD5, PUT
 *     size >  part:  POST ?uploads= -> UploadId
 *                    for each part: pread it into the buffer, MD5,
 *                        PUT ?partNumber=N&uploadId=ID (Content-MD5)
 *                    POST ?uploadId=ID with the part list
 *                    (any failure: DELETE ?uploadId=ID, the abort)
 *     read-back:     HEAD; size and ETag must be what the local MD5s say
 *                    (s3_etag_compute); else DELETE and TM_EIO
 *
 * CompleteMultipartUpload is special twice: it may answer 200 with an
 * <Error> body (treated like the HTTP error it describes), and its ETag
 * is empty on RGW 16 (the read-back HEAD gives the real one).  If a retry
 * of it gets NoSuchUpload, an earlier attempt may have completed the
 * upload before its answer was lost: the read-back check decides.
 *
 * Thread safety: see s3.h (a client belongs to one thread at a time).
 * The only process-wide state is curl_global_init (pthread_once) and the
 * test hook min_part.
 */
#include "s3/s3.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/fsio.h"
#include "base/base64.h"
#include "base/hash.h"
#include "base/log.h"
#include "s3/s3_int.h"

#define ERRBODY_MAX (64u * 1024)        /* error answer kept for <Code> */
#define XML_MAX (16u * 1024 * 1024)     /* a list page or other answer */
#define MAX_KEYS_DEFAULT 1000
#define MAX_ATTEMPTS_DEFAULT 5
#define TIMEOUT_DEFAULT_S 30
#define URL_MAX (16u * 1024)

static size_t min_part = S3_PART_MIN; /* s3_test_set_min_part */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct s3_client {
    CURL *curl;
    char *endpoint; /* without a trailing '/' */
    char *region;
    char *ak, *sk, *tok;
    char *bucket;
    char *prefix;   /* "" or "a/b" */
    char *sigv4;    /* "aws:amz:<region>:s3" */
    char *ca_bundle; /* AWS_CA_BUNDLE, or NULL for the system's */
    size_t part_bytes;
    int max_attempts;
    int timeout_s;
    int max_keys;
    int corrupt_readback;
    int last_attempts;
    uint64_t rng;
    char curl_err[CURL_ERROR_SIZE];
};

/* One request; see the file comment. */
struct req {
    struct s3_client *c;
    /* in */
    const char *op;           /* for messages: "PUT", "UploadPart 3/7" */
    const char *label;        /* for messages instead of s3://bucket/key */
    const char *method;       /* GET HEAD PUT POST DELETE */
    const char *key;          /* full key (prefix included), NULL: bucket */
    const char *query;        /* canonical query, or NULL */
    const uint8_t *body;      /* PUT/POST body */
    size_t body_len;
    const char *payload_hash; /* hex SHA-256 of the body, or NULL */
    const char *content_md5;  /* base64, or NULL */
    const char *content_type; /* or NULL */
    struct buf *out;          /* 2xx body sink, or NULL */
    int out_fd;               /* or this file (-1: none) */
    const char *out_path;     /* its name, for messages */
    int body_may_error;       /* a 2xx body may be an <Error> (Complete) */
    /* out */
    long status;
    char code[64];
    char message[256];
    char etag[S3_ETAG_MAX];
    uint64_t length;
    int has_length;
    /* per attempt */
    size_t sent;
    struct buf errbody;
    int write_errno;
    int sink_rc;
};

/* ==== small helpers ===================================================== */

static uint32_t next_rand(struct s3_client *c)
{
    /* xorshift64*: only spreads retries, need not be strong */
    c->rng ^= c->rng >> 12;
    c->rng ^= c->rng << 25;
    c->rng ^= c->rng >> 27;
    return (uint32_t)((c->rng * 2685821657736338717ull) >> 32);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void free_secret(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

/* The full key of relative key `key` into `out` (S3_KEY_MAX + 1 bytes),
 * after checking it.  0 or TM_EVALIDATION. */
static int full_key(const struct s3_client *c, const char *key,
                    char out[S3_KEY_MAX + 1], struct tm_error *err)
{
    int rc, n;

    if (key == NULL)
        return tm_error_set(err, TM_EVALIDATION, "S3 key is NULL");
    if ((rc = s3_key_check(key, "key", 0, err)))
        return rc;
    n = snprintf(out, S3_KEY_MAX + 1, "%s%s%s", c->prefix,
                 c->prefix[0] ? "/" : "", key);
    if (n < 0 || (size_t)n > S3_KEY_MAX)
        return tm_error_set(err, TM_EVALIDATION,
                            "S3 key \"%.100s...\" with prefix \"%.100s\" is "
                            "longer than %u bytes",
                            key, c->prefix, S3_KEY_MAX);
    return 0;
}

const char *s3_describe(const struct s3_client *c, const char *key,
                        char *out, size_t n)
{
    if (n == 0)
        return out;
    if (key)
        snprintf(out, n, "s3://%s/%s%s%s", c->bucket, c->prefix,
                 c->prefix[0] ? "/" : "", key);
    else
        snprintf(out, n, "s3://%s/%s%s", c->bucket, c->prefix,
                 c->prefix[0] ? "/" : "");
    return out;
}

/* Shorten `s` in place to about NAME_SHOWN bytes ("head...tail"), so that
 * a message naming a long key still has room for what went wrong. */
#define NAME_SHOWN 300
static void shorten(char *s)
{
    size_t n = strlen(s), head = NAME_SHOWN / 2, tail = NAME_SHOWN / 2 - 3;

    if (n <= NAME_SHOWN)
        return;
    memcpy(s + head, "...", 3);
    memmove(s + head + 3, s + n - tail, tail + 1); /* with the NUL */
}

/* "s3://bucket/fullkey" of a request, for messages. */
static void req_name(const struct req *r, char *out, size_t n)
{
    if (r->label)
        snprintf(out, n, "%s", r->label);
    else if (r->key)
        snprintf(out, n, "s3://%s/%s", r->c->bucket, r->key);
    else
        snprintf(out, n, "s3://%s", r->c->bucket);
    shorten(out);
}

/* ==== curl callbacks ==================================================== */

static size_t read_cb(char *dst, size_t size, size_t nmemb, void *ud)
{
    struct req *r = ud;
    size_t n = size * nmemb, left = r->body_len - r->sent;

    if (n > left)
        n = left;
    if (n)
        memcpy(dst, r->body + r->sent, n);
    r->sent += n;
    return n;
}

static int seek_cb(void *ud, curl_off_t off, int origin)
{
    struct req *r = ud;

    if (origin != SEEK_SET || off < 0 || (uint64_t)off > r->body_len)
        return CURL_SEEKFUNC_FAIL;
    r->sent = (size_t)off;
    return CURL_SEEKFUNC_OK;
}

static size_t write_cb(char *p, size_t size, size_t nmemb, void *ud)
{
    struct req *r = ud;
    size_t n = size * nmemb;
    long status = 0;

    curl_easy_getinfo(r->c->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299) {
        size_t room = ERRBODY_MAX - r->errbody.len;
        buf_append(&r->errbody, p, n < room ? n : room);
        return n;
    }
    if (r->out_fd >= 0) {
        size_t done = 0;
        while (done < n) {
            ssize_t w = write(r->out_fd, p + done, n - done);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                r->write_errno = w < 0 ? errno : EIO;
                return 0; /* CURLE_WRITE_ERROR */
            }
            done += (size_t)w;
        }
    } else if (r->out) {
        int rc = buf_append(r->out, p, n);
        if (rc) {
            r->sink_rc = rc;
            return 0;
        }
    }
    return n;
}

static size_t header_cb(char *p, size_t size, size_t nitems, void *ud)
{
    struct req *r = ud;
    size_t n = size * nitems, nl;
    const char *colon, *v;

    if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) { /* a new (final?) answer */
        r->etag[0] = '\0';
        r->has_length = 0;
        return n;
    }
    colon = memchr(p, ':', n);
    if (colon == NULL)
        return n;
    nl = (size_t)(colon - p);
    v = colon + 1;
    if (nl == 4 && strncasecmp(p, "etag", 4) == 0) {
        s3_etag_clean(v, n - nl - 1, r->etag);
    } else if (nl == 14 && strncasecmp(p, "content-length", 14) == 0) {
        uint64_t x = 0;
        int digits = 0;
        for (const char *q = v; q < p + n; q++) {
            if (*q >= '0' && *q <= '9') {
                x = x * 10 + (uint64_t)(*q - '0');
                digits++;
            } else if (*q != ' ' && *q != '\t' && *q != '\r' && *q != '\n') {
                digits = 0;
                break;
            }
        }
        r->length = x;
        r->has_length = digits > 0 && digits < 20;
    }
    return n;
}

/* ==== one request, with retries ========================================= */

static int curl_transient(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        return 1;
    default:
        return 0;
    }
}

static int build_url(const struct req *r, struct buf *u)
{
    const struct s3_client *c = r->c;
    int rc;

    if ((rc = buf_printf(u, "%s/%s", c->endpoint, c->bucket)))
        return rc;
    if (r->key && ((rc = buf_putc(u, '/')) ||
                   (rc = s3_uri_encode(u, r->key, strlen(r->key), 1))))
        return rc;
    if (r->query && (rc = buf_printf(u, "?%s", r->query)))
        return rc;
    return buf_putc(u, '\0');
}

static int build_headers(const struct req *r, struct curl_slist **out)
{
    struct curl_slist *h = NULL, *t;
    char line[256];

    snprintf(line, sizeof line, "x-amz-content-sha256: %s",
             r->payload_hash ? r->payload_hash : "UNSIGNED-PAYLOAD");
    t = curl_slist_append(h, line);
    if (t == NULL)
        return TM_ENOMEM;
    h = t;
    if (r->content_md5) {
        snprintf(line, sizeof line, "Content-MD5: %s", r->content_md5);
        if ((t = curl_slist_append(h, line)) == NULL)
            goto nomem;
        h = t;
    }
    if (r->content_type) {
        snprintf(line, sizeof line, "Content-Type: %s", r->content_type);
        if ((t = curl_slist_append(h, line)) == NULL)
            goto nomem;
        h = t;
    }
    if (r->c->tok) {
        char *tl = NULL;
        if (asprintf(&tl, "x-amz-security-token: %s", r->c->tok) < 0)
            goto nomem;
        t = curl_slist_append(h, tl);
        OPENSSL_cleanse(tl, strlen(tl));
        free(tl);
        if (t == NULL)
            goto nomem;
        h = t;
    }
    *out = h;
    return 0;
nomem:
    curl_slist_free_all(h);
    return TM_ENOMEM;
}

/* Set the options of one attempt. */
static void setup(struct req *r, const char *url, struct curl_slist *hdrs)
{
    struct s3_client *c = r->c;
    CURL *h = c->curl;

    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, c->sigv4);
    curl_easy_setopt(h, CURLOPT_USERNAME, c->ak);
    curl_easy_setopt(h, CURLOPT_PASSWORD, c->sk);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)c->timeout_s);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)c->timeout_s);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->curl_err);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    if (c->ca_bundle)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_bundle);
    if (strcmp(r->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(r->method, "PUT") == 0) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
                         (curl_off_t)r->body_len);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
        curl_easy_setopt(h, CURLOPT_READDATA, r);
        curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, seek_cb);
        curl_easy_setopt(h, CURLOPT_SEEKDATA, r);
    } else if (strcmp(r->method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS,
                         r->body ? (const char *)r->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)r->body_len);
    } else if (strcmp(r->method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
    }
}

/* Reset what an attempt produces. */
static int reset_attempt(struct req *r)
{
    r->status = 0;
    r->code[0] = r->message[0] = r->etag[0] = '\0';
    r->has_length = 0;
    r->length = 0;
    r->sent = 0;
    r->write_errno = 0;
    r->sink_rc = 0;
    r->c->curl_err[0] = '\0';
    buf_reset(&r->errbody);
    if (r->out)
        buf_reset(r->out);
    if (r->out_fd >= 0 &&
        (ftruncate(r->out_fd, 0) != 0 || lseek(r->out_fd, 0, SEEK_SET) != 0))
        return -1;
    return 0;
}

static void parse_error(struct req *r, const char *xml, size_t len)
{
    s3_xml_text(xml, len, "Code", r->code, sizeof r->code);
    s3_xml_text(xml, len, "Message", r->message, sizeof r->message);
}

/* The message of a final HTTP error; returns its code. */
static int http_error(struct req *r, int attempts, struct tm_error *err)
{
    char name[S3_KEY_MAX + 80], tries[48] = "";
    const char *hint = s3_error_hint(r->status, r->code);
    int code = TM_EIO;

    req_name(r, name, sizeof name);
    if (r->status == 404 && r->key &&
        (r->code[0] == '\0' || strcmp(r->code, "NoSuchKey") == 0))
        return tm_error_set(err, TM_ENOOBJECT,
                            "S3 object %s does not exist (%s: HTTP 404%s%s)",
                            name, r->op, r->code[0] ? " " : "", r->code);
    if (r->status == 404 && r->key == NULL && r->code[0] == '\0')
        return tm_error_set(err, TM_ENOOBJECT,
                            "S3 bucket s3://%s does not exist (%s: HTTP 404)",
                            r->c->bucket, r->op);
    if (s3_http_retryable(r->status, r->code))
        code = TM_EUNAVAILABLE;
    if (attempts > 1)
        snprintf(tries, sizeof tries, " after %d attempts", attempts);
    return tm_error_set(err, code, "S3 %s %s failed%s: HTTP %ld%s%s%s%s%s%s%s",
                        r->op, name, tries, r->status,
                        r->code[0] ? " " : "", r->code,
                        r->message[0] ? ": " : "", r->message,
                        hint[0] ? " (" : "", hint, hint[0] ? ")" : "");
}

/* The message of a final transport error; returns its code. */
static int transport_error(struct req *r, CURLcode cc, long os_errno,
                           int attempts, struct tm_error *err)
{
    const struct s3_client *c = r->c;
    char name[S3_KEY_MAX + 80], tries[48] = "";
    const char *why;

    req_name(r, name, sizeof name);
    if (attempts > 1)
        snprintf(tries, sizeof tries, " after %d attempts", attempts);
    why = c->curl_err[0] ? c->curl_err : curl_easy_strerror(cc);
    if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
        cc == CURLE_COULDNT_RESOLVE_PROXY) {
        if (cc == CURLE_COULDNT_CONNECT && os_errno)
            why = strerror((int)os_errno);
        return tm_error_set(err, TM_EUNAVAILABLE,
                            "cannot reach S3 endpoint %s: %s (is it running? "
                            "--s3-endpoint); S3 %s %s gave up%s",
                            c->endpoint, why, r->op, name, tries);
    }
    if (cc == CURLE_OPERATION_TIMEDOUT)
        return tm_error_set(err, TM_EUNAVAILABLE,
                            "S3 %s %s failed%s: no progress for %d s (%s); "
                            "the store at %s is too slow or unreachable",
                            r->op, name, tries, c->timeout_s, why,
                            c->endpoint);
    if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CONNECT_ERROR ||
        cc == CURLE_SSL_CACERT_BADFILE)
        return tm_error_set(err, TM_EIO,
                            "S3 %s %s failed: TLS with %s: %s (check the "
                            "endpoint's certificate, or AWS_CA_BUNDLE)",
                            r->op, name, c->endpoint, why);
    return tm_error_set(err, curl_transient(cc) ? TM_EUNAVAILABLE : TM_EIO,
                        "S3 %s %s failed%s: %s", r->op, name, tries, why);
}

/* Run `r` with retries.  0 on a 2xx answer; else the error of s3.h with
 * its message, r->status and r->code telling what the store said. */
static int perform(struct req *r, struct tm_error *err)
{
    struct s3_client *c = r->c;
    struct curl_slist *hdrs = NULL;
    struct buf url;
    int rc = 0, attempt;
    char name[S3_KEY_MAX + 80];

    buf_init(&url, URL_MAX);
    buf_init(&r->errbody, ERRBODY_MAX);
    req_name(r, name, sizeof name);
    if (build_url(r, &url) || build_headers(r, &hdrs)) {
        rc = tm_error_set(err, TM_ENOMEM, "S3 %s %s: out of memory", r->op,
                          name);
        goto out;
    }
    for (attempt = 1;; attempt++) {
        CURLcode cc;
        long os_errno = 0;
        int retry;
        unsigned wait;

        if (reset_attempt(r) != 0) {
            rc = tm_error_set(err, TM_EIO, "S3 %s %s: cannot truncate %s: %s",
                              r->op, name, r->out_path, strerror(errno));
            goto out;
        }
        setup(r, (const char *)url.data, hdrs);
        cc = curl_easy_perform(c->curl);
        c->last_attempts = attempt;
        if (r->write_errno) {
            rc = tm_error_set(err, TM_EIO, "S3 %s %s: cannot write %s: %s",
                              r->op, name, r->out_path,
                              strerror(r->write_errno));
            goto out;
        }
        if (r->sink_rc) {
            rc = tm_error_set(err, r->sink_rc,
                              r->sink_rc == TM_ETOOLARGE
                                  ? "S3 %s %s: the object is larger than the "
                                    "%zu bytes allowed here"
                                  : "S3 %s %s: out of memory (%zu bytes)",
                              r->op, name, r->out ? r->out->max : 0);
            goto out;
        }
        if (cc == CURLE_OK) {
            curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &r->status);
            if (r->status >= 200 && r->status <= 299) {
                const char *b = r->out ? (const char *)r->out->data : NULL;
                size_t bl = r->out ? r->out->len : 0;
                size_t pos = 0, vl;
                const char *v;
                if (!r->body_may_error || b == NULL ||
                    !s3_xml_next(b, bl, &pos, "Error", &v, &vl)) {
                    rc = 0;
                    goto out;
                }
                parse_error(r, v, vl);
            } else {
                parse_error(r, (const char *)r->errbody.data,
                            r->errbody.len);
            }
            retry = s3_http_retryable(r->status, r->code);
        } else {
            curl_easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &os_errno);
            retry = curl_transient(cc);
        }
        if (!retry || attempt >= c->max_attempts) {
            rc = cc == CURLE_OK ? http_error(r, attempt, err)
                                : transport_error(r, cc, os_errno, attempt,
                                                  err);
            goto out;
        }
        wait = s3_backoff_ms(attempt, next_rand(c));
        if (cc == CURLE_OK)
            tm_warn("S3 %s %s: attempt %d of %d failed (HTTP %ld %s); "
                    "retrying in %u ms",
                    r->op, name, attempt, c->max_attempts, r->status,
                    r->code, wait);
        else
            tm_warn("S3 %s %s: attempt %d of %d failed (%s); retrying in "
                    "%u ms",
                    r->op, name, attempt, c->max_attempts,
                    curl_easy_strerror(cc), wait);
        sleep_ms(wait);
    }
out:
    curl_slist_free_all(hdrs);
    buf_free(&url);
    buf_free(&r->errbody);
    return rc;
}

static void req_init(struct req *r, struct s3_client *c, const char *op,
                     const char *method, const char *key)
{
    memset(r, 0, sizeof *r);
    r->c = c;
    r->op = op;
    r->method = method;
    r->key = key;
    r->out_fd = -1;
}

/* ==== client ============================================================ */

void s3_test_set_min_part(size_t bytes)
{
    min_part = bytes ? bytes : S3_PART_MIN;
}

void s3_test_set_max_keys(struct s3_client *c, int n)
{
    c->max_keys = n > 0 ? n : MAX_KEYS_DEFAULT;
}

void s3_test_corrupt_readback(struct s3_client *c, int on)
{
    c->corrupt_readback = on;
}

int s3_test_last_attempts(const struct s3_client *c)
{
    return c->last_attempts;
}

void s3_client_free(struct s3_client *c)
{
    if (c == NULL)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    free(c->endpoint);
    free(c->region);
    free_secret(c->ak);
    free_secret(c->sk);
    free_secret(c->tok);
    free(c->bucket);
    free(c->prefix);
    free(c->sigv4);
    free(c->ca_bundle);
    free(c);
}

static char *dup_or_null(const char *s, int *oom)
{
    char *d;

    if (s == NULL)
        return NULL;
    d = strdup(s);
    if (d == NULL)
        *oom = 1;
    return d;
}

int s3_client_new(const struct s3_config *cfg, struct s3_client **out,
                  struct tm_error *err)
{
    struct s3_client *c;
    const char *ep = cfg->endpoint, *region = cfg->region, *ca;
    size_t n;
    int rc, oom = 0;

    *out = NULL;
    if (ep == NULL || (strncmp(ep, "http://", 7) != 0 &&
                       strncmp(ep, "https://", 8) != 0) ||
        ep[ep[4] == 's' ? 8 : 7] == '\0' || ep[ep[4] == 's' ? 8 : 7] == '/')
        return tm_error_set(err, TM_EVALIDATION,
                            "S3 endpoint \"%s\" is not an http:// or "
                            "https:// URL (--s3-endpoint)",
                            ep ? ep : "(none)");
    if (cfg->bucket == NULL || !s3_bucket_name_ok(cfg->bucket,
                                                  strlen(cfg->bucket)))
        return tm_error_set(err, TM_EVALIDATION,
                            "S3 bucket name \"%s\" is not valid: 3 to 63 "
                            "characters of a-z, 0-9, '.' and '-', starting "
                            "and ending with a letter or digit",
                            cfg->bucket ? cfg->bucket : "(none)");
    if ((rc = s3_key_check(cfg->prefix ? cfg->prefix : "", "prefix", 1, err)))
        return rc;
    if (cfg->part_bytes && (cfg->part_bytes < min_part ||
                            cfg->part_bytes > S3_PART_MAX))
        return tm_error_set(err, TM_EVALIDATION,
                            "S3 part size %zu bytes is out of range (%zu "
                            "bytes to 5 GiB)",
                            cfg->part_bytes, min_part);
    if (cfg->max_attempts < 0 || cfg->max_attempts > 100 ||
        cfg->timeout_s < 0 || cfg->timeout_s > 3600)
        return tm_error_set(err, TM_EVALIDATION,
                            "S3 max_attempts %d or timeout %d s is out of "
                            "range (0 to 100, 0 to 3600)",
                            cfg->max_attempts, cfg->timeout_s);
    if (cfg->access_key && cfg->secret_key == NULL)
        return tm_error_set(err, TM_EVALIDATION,
                            "S3 access key given without a secret key");
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return tm_error_set(err, TM_EIO, "libcurl cannot be initialised: %s",
                            curl_easy_strerror(global_rc));

    c = calloc(1, sizeof *c);
    if (c == NULL)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    if (cfg->access_key) {
        c->ak = dup_or_null(cfg->access_key, &oom);
        c->sk = dup_or_null(cfg->secret_key, &oom);
        c->tok = dup_or_null(cfg->session_token, &oom);
    } else if ((rc = s3_config_credentials(&c->ak, &c->sk, &c->tok, err))) {
        goto fail;
    }
    if (region == NULL)
        region = getenv("AWS_REGION");
    if (region == NULL || region[0] == '\0')
        region = getenv("AWS_DEFAULT_REGION");
    if (region == NULL || region[0] == '\0')
        region = "us-east-1";
    c->endpoint = dup_or_null(ep, &oom);
    if (c->endpoint) {
        n = strlen(c->endpoint);
        while (n > 0 && c->endpoint[n - 1] == '/')
            c->endpoint[--n] = '\0';
    }
    c->region = dup_or_null(region, &oom);
    c->bucket = dup_or_null(cfg->bucket, &oom);
    c->prefix = dup_or_null(cfg->prefix ? cfg->prefix : "", &oom);
    ca = getenv("AWS_CA_BUNDLE");
    c->ca_bundle = dup_or_null(ca && ca[0] ? ca : NULL, &oom);
    if (asprintf(&c->sigv4, "aws:amz:%s:s3", region) < 0) {
        c->sigv4 = NULL;
        oom = 1;
    }
    if (oom) {
        rc = tm_error_set(err, TM_ENOMEM, "out of memory");
        goto fail;
    }
    c->part_bytes = cfg->part_bytes ? cfg->part_bytes : S3_PART_DEFAULT;
    if (c->part_bytes < min_part)
        c->part_bytes = min_part;
    c->max_attempts = cfg->max_attempts ? cfg->max_attempts
                                        : MAX_ATTEMPTS_DEFAULT;
    c->timeout_s = cfg->timeout_s ? cfg->timeout_s : TIMEOUT_DEFAULT_S;
    c->max_keys = MAX_KEYS_DEFAULT;
    c->rng = hash_new_salt() | 1;
    c->curl = curl_easy_init();
    if (c->curl == NULL) {
        rc = tm_error_set(err, TM_EIO, "libcurl: cannot create a handle");
        goto fail;
    }
    *out = c;
    return 0;
fail:
    s3_client_free(c);
    return rc;
}

/* ==== objects =========================================================== */

static void md5_of(const void *p, size_t n, uint8_t out[16])
{
    unsigned len = 0;

    EVP_Digest(p, n, out, &len, EVP_md5(), NULL);
}

/* base64 of an MD5 into out (25 bytes). */
static void md5_b64(const uint8_t md5[16], char out[25])
{
    EVP_EncodeBlock((unsigned char *)out, md5, 16);
}

int s3_put_mem(struct s3_client *c, const char *key, const void *data,
               size_t len, struct tm_error *err)
{
    char fk[S3_KEY_MAX + 1], b64[25], sha_hex[65];
    uint8_t md5[16], sha[32];
    unsigned sl = 0;
    struct req r;
    int rc;

    if ((rc = full_key(c, key, fk, err)))
        return rc;
    md5_of(data, len, md5);
    md5_b64(md5, b64);
    EVP_Digest(data, len, sha, &sl, EVP_sha256(), NULL);
    s3_hex(sha, 32, sha_hex);
    req_init(&r, c, "PUT", "PUT", fk);
    r.body = data;
    r.body_len = len;
    r.payload_hash = sha_hex;
    r.content_md5 = b64;
    r.content_type = "application/octet-stream";
    return perform(&r, err);
}

int s3_head(struct s3_client *c, const char *key, uint64_t *size,
            char etag[S3_ETAG_MAX], struct tm_error *err)
{
    char fk[S3_KEY_MAX + 1];
    struct req r;
    int rc;

    if ((rc = full_key(c, key, fk, err)))
        return rc;
    req_init(&r, c, "HEAD", "HEAD", fk);
    if ((rc = perform(&r, err)))
        return rc;
    if (!r.has_length) {
        char name[S3_KEY_MAX + 80];
        req_name(&r, name, sizeof name);
        return tm_error_set(err, TM_EIO,
                            "S3 HEAD %s: the answer has no Content-Length",
                            name);
    }
    if (size)
        *size = r.length;
    if (etag)
        memcpy(etag, r.etag, S3_ETAG_MAX);
    return 0;
}

int s3_delete(struct s3_client *c, const char *key, struct tm_error *err)
{
    char fk[S3_KEY_MAX + 1];
    struct req r;
    int rc;

    if ((rc = full_key(c, key, fk, err)))
        return rc;
    req_init(&r, c, "DELETE", "DELETE", fk);
    rc = perform(&r, err);
    if (rc == TM_ENOOBJECT) {
        tm_error_clear(err);
        rc = 0;
    }
    return rc;
}

int s3_get_mem(struct s3_client *c, const char *key, struct buf *out,
               struct tm_error *err)
{
    char fk[S3_KEY_MAX + 1];
    struct req r;
    int rc;

    if ((rc = full_key(c, key, fk, err)))
        return rc;
    req_init(&r, c, "GET", "GET", fk);
    r.out = out;
    return perform(&r, err);
}

int s3_get_file(struct s3_client *c, const char *key, const char *path,
                struct tm_error *err)
{
    char fk[S3_KEY_MAX + 1], *tmp = NULL;
    struct req r;
    int rc, fd = -1;

    if ((rc = full_key(c, key, fk, err)))
        return rc;
    if (asprintf(&tmp, "%s.tmp", path) < 0)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
        rc = tm_error_set(err, TM_EIO, "S3 GET: cannot create %s: %s", tmp,
                          strerror(errno));
        free(tmp);
        return rc;
    }
    req_init(&r, c, "GET", "GET", fk);
    r.out_fd = fd;
    r.out_path = tmp;
    if ((rc = perform(&r, err)))
        goto fail;
    if (fsync(fd) != 0) {
        rc = tm_error_set(err, TM_EIO, "S3 GET: cannot fsync %s: %s", tmp,
                          strerror(errno));
        goto fail;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = tm_error_set(err, TM_EIO, "S3 GET: cannot close %s: %s", tmp,
                          strerror(errno));
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        rc = tm_error_set(err, TM_EIO, "S3 GET: cannot rename %s to %s: %s",
                          tmp, path, strerror(errno));
        goto fail;
    }
    if (fsio_fsync_parent(path) != 0) {
        rc = tm_error_set(err, TM_EIO,
                          "S3 GET: cannot fsync the directory of %s: %s",
                          path, strerror(errno));
        free(tmp);
        return rc;
    }
    free(tmp);
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    free(tmp);
    return rc;
}

/* ==== uploads =========================================================== */

/* Read exactly `n` bytes at `off` of `fd` into `p`.  0, or TM_EIO. */
static int read_at(int fd, const char *path, uint8_t *p, size_t n,
                   uint64_t off, struct tm_error *err)
{
    size_t done = 0;

    while (done < n) {
        ssize_t got = pread(fd, p + done, n - done, (off_t)(off + done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return tm_error_set(err, TM_EIO, "cannot read %s at offset "
                                "%llu: %s",
                                path, (unsigned long long)(off + done),
                                strerror(errno));
        if (got == 0)
            return tm_error_set(err, TM_EIO,
                                "%s shrank while it was being uploaded "
                                "(end of file at offset %llu)",
                                path, (unsigned long long)(off + done));
        done += (size_t)got;
    }
    return 0;
}

/* Upload one part (or the whole object when `upload_id` is NULL) from
 * `data`; its MD5 goes to md5.  The part's ETag goes to etag. */
static int put_part(struct s3_client *c, const char *fk,
                    const char *upload_id, unsigned part, unsigned nparts,
                    const uint8_t *data, size_t n, uint8_t md5[16],
                    char etag[S3_ETAG_MAX], struct tm_error *err)
{
    char b64[25], op[48];
    struct buf q;
    struct req r;
    int rc;

    md5_of(data, n, md5);
    md5_b64(md5, b64);
    buf_init(&q, URL_MAX);
    if (upload_id) {
        snprintf(op, sizeof op, "UploadPart %u/%u", part, nparts);
        if (buf_printf(&q, "partNumber=%u&uploadId=", part) ||
            s3_uri_encode(&q, upload_id, strlen(upload_id), 0) ||
            buf_putc(&q, '\0')) {
            buf_free(&q);
            return tm_error_set(err, TM_ENOMEM, "out of memory");
        }
    } else {
        snprintf(op, sizeof op, "PUT");
    }
    req_init(&r, c, op, "PUT", fk);
    r.query = upload_id ? (const char *)q.data : NULL;
    r.body = data;
    r.body_len = n;
    r.content_md5 = b64;
    r.content_type = upload_id ? NULL : "application/octet-stream";
    rc = perform(&r, err);
    if (rc == 0)
        memcpy(etag, r.etag, S3_ETAG_MAX);
    buf_free(&q);
    return rc;
}

/* The canonical "uploadId=ID" query into q. */
static int upload_query(struct buf *q, const char *upload_id)
{
    if (buf_printf(q, "uploadId=") ||
        s3_uri_encode(q, upload_id, strlen(upload_id), 0) ||
        buf_putc(q, '\0'))
        return TM_ENOMEM;
    return 0;
}

static int mpu_initiate(struct s3_client *c, const char *fk, char **id,
                        struct tm_error *err)
{
    char v[1024];
    struct buf body;
    struct req r;
    int rc;

    *id = NULL;
    buf_init(&body, XML_MAX);
    req_init(&r, c, "CreateMultipartUpload", "POST", fk);
    r.query = "uploads=";
    r.content_type = "application/octet-stream";
    r.out = &body;
    r.payload_hash =
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    rc = perform(&r, err);
    if (rc == 0) {
        if (!s3_xml_text((const char *)body.data, body.len, "UploadId", v,
                         sizeof v) ||
            v[0] == '\0' || strlen(v) >= sizeof v - 1) {
            char name[S3_KEY_MAX + 80];
            req_name(&r, name, sizeof name);
            rc = tm_error_set(err, TM_EIO,
                              "S3 CreateMultipartUpload %s: the answer has "
                              "no usable <UploadId> (missing, or over 1022 "
                              "bytes)",
                              name);
        } else if ((*id = strdup(v)) == NULL) {
            rc = tm_error_set(err, TM_ENOMEM, "out of memory");
        }
    }
    buf_free(&body);
    return rc;
}

static int mpu_complete(struct s3_client *c, const char *fk, const char *id,
                        char (*etags)[S3_ETAG_MAX], unsigned nparts,
                        struct tm_error *err)
{
    struct buf body, q, ans;
    char sha_hex[65];
    uint8_t sha[32];
    unsigned sl = 0;
    struct req r;
    int rc = 0;

    buf_init(&body, XML_MAX);
    buf_init(&q, URL_MAX);
    buf_init(&ans, XML_MAX);
    rc = buf_printf(&body, "<CompleteMultipartUpload xmlns=\"http://s3."
                           "amazonaws.com/doc/2006-03-01/\">");
    for (unsigned i = 0; rc == 0 && i < nparts; i++) {
        rc = buf_printf(&body, "<Part><PartNumber>%u</PartNumber><ETag>\"",
                        i + 1);
        if (rc == 0)
            rc = s3_xml_escape(&body, etags[i]);
        if (rc == 0)
            rc = buf_printf(&body, "\"</ETag></Part>");
    }
    if (rc == 0)
        rc = buf_printf(&body, "</CompleteMultipartUpload>");
    if (rc == 0)
        rc = upload_query(&q, id);
    if (rc) {
        rc = tm_error_set(err, TM_ENOMEM, "out of memory");
        goto out;
    }
    EVP_Digest(body.data, body.len, sha, &sl, EVP_sha256(), NULL);
    s3_hex(sha, 32, sha_hex);
    req_init(&r, c, "CompleteMultipartUpload", "POST", fk);
    r.query = (const char *)q.data;
    r.body = body.data;
    r.body_len = body.len;
    r.payload_hash = sha_hex;
    r.content_type = "application/xml";
    r.out = &ans;
    r.body_may_error = 1;
    rc = perform(&r, err);
    if (rc && strcmp(r.code, "NoSuchUpload") == 0 && c->last_attempts > 1) {
        /* an earlier attempt probably completed it: the read-back check
         * will tell */
        tm_warn("S3 CompleteMultipartUpload s3://%s/%s: NoSuchUpload on "
                "attempt %d; checking the object",
                c->bucket, fk, c->last_attempts);
        tm_error_clear(err);
        rc = 0;
    }
out:
    buf_free(&body);
    buf_free(&q);
    buf_free(&ans);
    return rc;
}

/* Abort upload `id`, best effort (its failure is only logged). */
static void mpu_abort(struct s3_client *c, const char *fk, const char *id)
{
    struct tm_error e;
    struct buf q;
    struct req r;

    tm_error_clear(&e);
    buf_init(&q, URL_MAX);
    if (upload_query(&q, id) == 0) {
        req_init(&r, c, "AbortMultipartUpload", "DELETE", fk);
        r.query = (const char *)q.data;
        if (perform(&r, &e) != 0)
            tm_warn("%s (the parts stay until the bucket's lifecycle "
                    "rules remove them)",
                    e.msg);
    }
    buf_free(&q);
}

/* HEAD the new object and compare it with what the file said. */
static int readback_check(struct s3_client *c, const char *key,
                          uint64_t size, const char *expect,
                          const char *path, struct tm_error *err)
{
    char name[S3_KEY_MAX + 80], etag[S3_ETAG_MAX], want[S3_ETAG_MAX];
    uint64_t got = 0;
    struct tm_error e;
    int rc;

    s3_describe(c, key, name, sizeof name);
    shorten(name);
    snprintf(want, sizeof want, "%s", expect);
    if (c->corrupt_readback)
        want[0] = want[0] == '0' ? '1' : '0';
    if ((rc = s3_head(c, key, &got, etag, err))) {
        char why[TM_ERROR_MSG_MAX];
        snprintf(why, sizeof why, "%s", err ? err->msg : "");
        return tm_error_set(err, rc == TM_ENOOBJECT ? TM_EIO : rc,
                            "uploaded object %s cannot be checked: %s",
                            name, why);
    }
    if (got == size && s3_etag_equal(etag, want))
        return 0;
    tm_error_clear(&e);
    rc = s3_delete(c, key, &e);
    return tm_error_set(err, TM_EIO,
                        "uploaded object %s does not match: the store has "
                        "%llu bytes with ETag \"%s\", but %s has %llu bytes "
                        "whose MD5s give \"%s\"; %s",
                        name, (unsigned long long)got, etag, path,
                        (unsigned long long)size, want,
                        rc == 0 ? "the object was deleted"
                                : "deleting it failed too");
}

int s3_put_file(struct s3_client *c, const char *key, const char *path,
                void (*progress)(void *ctx, uint64_t done, uint64_t total),
                void *ctx, struct tm_error *err)
{
    char fk[S3_KEY_MAX + 1], expect[S3_ETAG_MAX], *id = NULL;
    char(*etags)[S3_ETAG_MAX] = NULL;
    uint8_t(*md5s)[16] = NULL, *data = NULL;
    uint64_t size, part, nparts, done = 0;
    struct stat st;
    int rc, fd, multipart;

    if ((rc = full_key(c, key, fk, err)))
        return rc;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tm_error_set(err, TM_EIO, "S3 upload: cannot open %s: %s",
                            path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = tm_error_set(err, TM_EIO, "S3 upload: %s is not a regular file",
                          path);
        goto out;
    }
    size = (uint64_t)st.st_size;
    part = c->part_bytes;
    if (size > part * S3_MAX_PARTS) { /* grow parts to stay within 10000 */
        part = (size + S3_MAX_PARTS - 1) / S3_MAX_PARTS;
        part = (part + (1u << 20) - 1) & ~(uint64_t)((1u << 20) - 1);
        if (part > S3_PART_MAX) {
            rc = tm_error_set(err, TM_EVALIDATION,
                              "S3 upload: %s is %llu bytes, more than S3's "
                              "limit of 10000 parts of 5 GiB",
                              path, (unsigned long long)size);
            goto out;
        }
    }
    multipart = size > part;
    nparts = multipart ? (size + part - 1) / part : 1;
    md5s = calloc(nparts, sizeof *md5s);
    etags = calloc(nparts, sizeof *etags);
    data = malloc(multipart ? part : size ? size : 1);
    if (md5s == NULL || etags == NULL || data == NULL) {
        rc = tm_error_set(err, TM_ENOMEM, "S3 upload of %s: out of memory "
                          "(%llu bytes)",
                          path, (unsigned long long)part);
        goto out;
    }
    if (progress)
        progress(ctx, 0, size);
    if (!multipart) {
        if ((rc = read_at(fd, path, data, (size_t)size, 0, err)) ||
            (rc = put_part(c, fk, NULL, 1, 1, data, (size_t)size, md5s[0],
                           etags[0], err)))
            goto out;
        done = size;
        if (progress)
            progress(ctx, done, size);
    } else {
        if ((rc = mpu_initiate(c, fk, &id, err)))
            goto out;
        for (uint64_t i = 0; i < nparts; i++) {
            size_t n = (size_t)(size - done < part ? size - done : part);
            if ((rc = read_at(fd, path, data, n, done, err)) ||
                (rc = put_part(c, fk, id, (unsigned)(i + 1),
                               (unsigned)nparts, data, n, md5s[i], etags[i],
                               err)))
                goto abort;
            if (etags[i][0] == '\0') {
                rc = tm_error_set(err, TM_EIO,
                                  "S3 UploadPart %llu of s3://%s/%s: the "
                                  "answer has no ETag",
                                  (unsigned long long)i + 1, c->bucket, fk);
                goto abort;
            }
            done += n;
            if (progress)
                progress(ctx, done, size);
        }
        if ((rc = mpu_complete(c, fk, id, etags, (unsigned)nparts, err)))
            goto abort;
    }
    s3_etag_compute((const uint8_t(*)[16])md5s, (size_t)nparts, multipart,
                    expect);
    rc = readback_check(c, key, size, expect, path, err);
    goto out;
abort:
    mpu_abort(c, fk, id);
out:
    free(id);
    free(md5s);
    free(etags);
    free(data);
    close(fd);
    return rc;
}

/* ==== listing and buckets =============================================== */

struct list_ctx {
    int (*fn)(void *ctx, const char *key, uint64_t size);
    void *ctx;
    size_t skip; /* strlen(prefix) + 1, or 0 */
    const char *prefix;
};

static int list_one(void *ud, const char *key, uint64_t size)
{
    struct list_ctx *l = ud;

    if (l->skip) {
        if (strncmp(key, l->prefix, l->skip - 1) != 0 ||
            key[l->skip - 1] != '/')
            return 0; /* not ours (cannot happen with a right store) */
        key += l->skip;
    }
    return l->fn(l->ctx, key, size);
}

int s3_list(struct s3_client *c, const char *sub,
            int (*fn)(void *ctx, const char *key, uint64_t size),
            void *ctx, struct tm_error *err)
{
    struct list_ctx l = {fn, ctx, c->prefix[0] ? strlen(c->prefix) + 1 : 0,
                         c->prefix};
    char full[S3_KEY_MAX + 1], *token = NULL;
    char label[S3_KEY_MAX + 80];
    struct buf q, page;
    int rc = 0, n, truncated;

    if (sub == NULL)
        sub = "";
    n = snprintf(full, sizeof full, "%s%s%s", c->prefix,
                 c->prefix[0] ? "/" : "", sub);
    if (n < 0 || (size_t)n > S3_KEY_MAX)
        return tm_error_set(err, TM_EVALIDATION,
                            "S3 list: prefix \"%s/%s\" is too long",
                            c->prefix, sub);
    snprintf(label, sizeof label, "s3://%s/%s*", c->bucket, full);
    buf_init(&q, URL_MAX);
    buf_init(&page, XML_MAX);
    do {
        struct req r;

        buf_reset(&q);
        if ((token && (buf_printf(&q, "continuation-token=") ||
                       s3_uri_encode(&q, token, strlen(token), 0) ||
                       buf_putc(&q, '&'))) ||
            buf_printf(&q, "list-type=2&max-keys=%d&prefix=", c->max_keys) ||
            s3_uri_encode(&q, full, strlen(full), 0) || buf_putc(&q, '\0')) {
            rc = tm_error_set(err, TM_ENOMEM, "out of memory");
            break;
        }
        req_init(&r, c, "ListObjectsV2", "GET", NULL);
        r.label = label;
        r.query = (const char *)q.data;
        r.out = &page;
        if ((rc = perform(&r, err)))
            break;
        free(token);
        token = NULL;
        rc = s3_xml_list_page((const char *)page.data, page.len, list_one, &l,
                              &truncated, &token, err);
    } while (rc == 0 && truncated);
    free(token);
    buf_free(&q);
    buf_free(&page);
    return rc;
}

int s3_ensure_bucket(struct s3_client *c, struct tm_error *err)
{
    struct buf body;
    struct req r;
    char sha_hex[65];
    uint8_t sha[32];
    unsigned sl = 0;
    int rc;

    req_init(&r, c, "HeadBucket", "HEAD", NULL);
    rc = perform(&r, err);
    if (rc != TM_ENOOBJECT)
        return rc;
    tm_error_clear(err);
    buf_init(&body, 4096);
    if (strcmp(c->region, "us-east-1") != 0 &&
        buf_printf(&body,
                   "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws."
                   "com/doc/2006-03-01/\"><LocationConstraint>%s"
                   "</LocationConstraint></CreateBucketConfiguration>",
                   c->region) != 0) {
        buf_free(&body);
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    }
    EVP_Digest(body.data ? body.data : (const uint8_t *)"", body.len, sha,
               &sl, EVP_sha256(), NULL);
    s3_hex(sha, 32, sha_hex);
    req_init(&r, c, "CreateBucket", "PUT", NULL);
    r.body = body.data;
    r.body_len = body.len;
    r.payload_hash = sha_hex;
    rc = perform(&r, err);
    if (rc && strcmp(r.code, "BucketAlreadyOwnedByYou") == 0) {
        tm_error_clear(err);
        rc = 0;
    }
    buf_free(&body);
    return rc;
}
