/*
 * sigv4.c - AWS Signature Version 4 verification; see sigv4.h.
 *
 * Called by http.c once a POST's body is complete, before api_handle.
 * Calls credentials.c (the secret of a key id) and OpenSSL's libcrypto
 * (SHA-256 through EVP, HMAC-SHA256, CRYPTO_memcmp).
 *
 * What the signer did, and what we redo (AWS's "Create a signed AWS API
 * request", the procedure every SDK follows):
 *
 *   1. canonical request = METHOD \n URI \n QUERY \n HEADERS \n SIGNED \n
 *      PAYLOAD, where
 *        URI      the path with dot and empty segments removed, each byte
 *                 but [A-Za-z0-9-._~/] percent-encoded TWICE (botocore
 *                 quotes the already-encoded path; only S3 skips this);
 *        QUERY    every name=value (X-Amz-Signature left out), both
 *                 percent-encoded once, sorted by name then value, joined
 *                 by '&' ("flag" without '=' becomes "flag=");
 *        HEADERS  for each name of SignedHeaders, in that order:
 *                 lowercase name ':' values trimmed, runs of white space
 *                 collapsed to one space, repeated headers joined by ','
 *                 in arrival order, then '\n';
 *        PAYLOAD  hex SHA-256 of the body (x-amz-content-sha256, when
 *                 sent, must equal it: see below);
 *   2. string to sign = "AWS4-HMAC-SHA256" \n X-Amz-Date \n
 *      date/region/service/aws4_request \n hex(SHA-256(canonical request));
 *   3. signing key = HMAC chain over "AWS4"+secret, date, region, service,
 *      "aws4_request"; signature = hex(HMAC(key, string to sign));
 *   4. the signatures are compared with CRYPTO_memcmp (constant time).
 *
 * Order of the checks, and DynamoDB's answer to each (the order and the
 * texts follow dynalite's index.js, which records DynamoDB's responses,
 * and kinesalite for the query form; both by Michael Hart):
 *
 *   a. both Authorization and X-Amz-Algorithm      InvalidSignature
 *      "Found both 'X-Amz-Algorithm' as a query-string param and
 *      'Authorization' as HTTP header."
 *   b. neither, or Authorization not "AWS4-..."   MissingAuthenticationToken
 *      "Request is missing Authentication Token"
 *   c. a missing Credential/SignedHeaders/Signature or date, a part
 *      without '=', a missing query parameter    IncompleteSignature
 *   d. the date not ISO 8601 basic                IncompleteSignature
 *      more than 15 minutes off the server clock  InvalidSignature
 *      "Signature expired: ... (... - 15 min.)" / "Signature not yet
 *      current: ... (... + 15 min.)"
 *   e. 'host' not among the signed headers        InvalidSignature
 *   f. algorithm not AWS4-HMAC-SHA256             IncompleteSignature
 *   g. Credential not 5 '/'-separated parts       IncompleteSignature
 *   h. scope: empty region, service not the
 *      expected one, terminator, date mismatch    InvalidSignature
 *   i. unknown access key                         UnrecognizedClient
 *      "The security token included in the request is invalid."
 *   j. x-amz-content-sha256 not the body's hash,
 *      or UNSIGNED-PAYLOAD                        InvalidSignature
 *   k. signature mismatch                         InvalidSignature
 *      "The request signature we calculated does not match the signature
 *      you provided. Check your AWS Secret Access Key and signing method.
 *      Consult the service documentation for details."
 *   l. a session token (X-Amz-Security-Token)     UnrecognizedClient
 *      "The security token included in the request is invalid" (this
 *      server issues no temporary credentials)
 *
 * Our own choices, where AWS's behaviour is not recorded: a presigned
 * request past X-Amz-Date + X-Amz-Expires gets "Signature expired: D is
 * now earlier than NOW-N (NOW - N sec.)"; X-Amz-Expires over a week or not
 * a number is IncompleteSignature with S3's texts; UNSIGNED-PAYLOAD is
 * refused, because in DynamoDB the body is the operation and a signature
 * that does not cover it authenticates nothing.
 */
#include "auth/sigv4.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define ALGORITHM "AWS4-HMAC-SHA256"
#define TERMINATOR "aws4_request"
#define CREQ_MAX ((size_t)4 << 20)

static const char MSG_MISSING[] = "Request is missing Authentication Token";
static const char MSG_UNKNOWN_KEY[] =
    "The security token included in the request is invalid.";
static const char MSG_TOKEN[] =
    "The security token included in the request is invalid";
static const char MSG_MISMATCH[] =
    "The request signature we calculated does not match the signature you "
    "provided. Check your AWS Secret Access Key and signing method. Consult "
    "the service documentation for details.";

/* A piece of a string: not NUL-terminated. */
struct span {
    const char *p;
    size_t n;
};

static int span_eq(struct span s, const char *lit)
{
    return s.p != NULL && s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0;
}

/* ---- hashing ----------------------------------------------------------- */

static void to_hex(const uint8_t *md, size_t n, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[2 * n] = '\0';
}

void auth_sigv4_sha256_hex(const uint8_t *p, size_t len, char hex[65])
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;

    if (EVP_Digest(p ? p : (const uint8_t *)"", len, md, &mdlen,
                   EVP_sha256(), NULL) != 1 ||
        mdlen != 32) {
        /* Cannot happen with a working libcrypto; an all-'x' hash matches
         * nothing a client can send. */
        memset(hex, 'x', 64);
        hex[64] = '\0';
        return;
    }
    to_hex(md, 32, hex);
}

static void hmac(const uint8_t *key, size_t keylen, const void *msg,
                 size_t len, uint8_t out[32])
{
    unsigned outlen = 0;

    if (HMAC(EVP_sha256(), key, (int)keylen, msg, len, out, &outlen) ==
            NULL ||
        outlen != 32)
        memset(out, 0, 32);
}

void auth_sigv4_signing_key(const char *secret, const char *date8,
                            const char *region, const char *service,
                            uint8_t key[32])
{
    size_t slen = strlen(secret);
    uint8_t *k0 = malloc(slen + 4);
    uint8_t a[32], b[32];

    if (k0 == NULL) {
        memset(key, 0, 32);
        return;
    }
    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, secret, slen);
    hmac(k0, slen + 4, date8, strlen(date8), a);
    OPENSSL_cleanse(k0, slen + 4);
    free(k0);
    hmac(a, 32, region, strlen(region), b);
    hmac(b, 32, service, strlen(service), a);
    hmac(a, 32, TERMINATOR, strlen(TERMINATOR), key);
    OPENSSL_cleanse(a, sizeof a);
    OPENSSL_cleanse(b, sizeof b);
}

void auth_sigv4_hmac_hex(const uint8_t key[32], const uint8_t *msg,
                         size_t len, char hex[65])
{
    uint8_t md[32];

    hmac(key, 32, msg, len, md);
    to_hex(md, 32, hex);
}

/* ---- time -------------------------------------------------------------- */

static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    /* Howard Hinnant's algorithm: days since 1970-01-01. */
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int digits(const char *s, int n, unsigned *out)
{
    unsigned v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return 0;
}

static int days_in_month(unsigned y, unsigned m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30,
                               31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m - 1];
}

int auth_sigv4_parse_amz_date(const char *s, int64_t *out)
{
    unsigned y, mo, d, h, mi, se;

    if (s == NULL || strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z')
        return -1;
    if (digits(s, 4, &y) || digits(s + 4, 2, &mo) || digits(s + 6, 2, &d) ||
        digits(s + 9, 2, &h) || digits(s + 11, 2, &mi) ||
        digits(s + 13, 2, &se))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || (int)d > days_in_month(y, mo) ||
        h > 23 || mi > 59 || se > 59)
        return -1;
    *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    return 0;
}

/* The Date header: IMF-fixdate ("Wed, 25 Nov 2026 10:10:10 GMT") or its
 * RFC 2822 form with a zero offset ("... 10:10:10 -0000", which is what
 * botocore's formatdate writes when the caller set a Date header). */
static int parse_http_date(const char *s, int64_t *out)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    unsigned d, y, h, mi, se, mo;
    const char *m, *zone;

    if (s == NULL || strlen(s) < 25 || s[3] != ',' || s[4] != ' ' ||
        s[7] != ' ' || s[11] != ' ' || s[16] != ' ' || s[19] != ':' ||
        s[22] != ':')
        return -1;
    zone = s + 25;
    if (strcmp(zone, " GMT") != 0 && strcmp(zone, " UTC") != 0 &&
        strcmp(zone, " +0000") != 0 && strcmp(zone, " -0000") != 0)
        return -1;
    if (digits(s + 5, 2, &d) || digits(s + 12, 4, &y) ||
        digits(s + 17, 2, &h) || digits(s + 20, 2, &mi) ||
        digits(s + 23, 2, &se))
        return -1;
    m = strstr(months, (char[4]){s[8], s[9], s[10], '\0'});
    if (m == NULL || (m - months) % 3 != 0)
        return -1;
    mo = (unsigned)((m - months) / 3 + 1);
    if (d < 1 || (int)d > days_in_month(y, mo) || h > 23 || mi > 59 ||
        se > 59)
        return -1;
    *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    return 0;
}

static void format_amz_date(int64_t t, char out[17])
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (gmtime_r(&tt, &tm) == NULL ||
        strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
        snprintf(out, 17, "%s", "00000000T000000Z");
}

/* ---- canonical request ------------------------------------------------- */

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
           c == '~';
}

int auth_sigv4_uri_encode(const char *s, size_t len, int keep_slash,
                          struct buf *out)
{
    static const char hex[] = "0123456789ABCDEF";

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        int rc;

        if (unreserved(c) || (keep_slash && c == '/')) {
            rc = buf_putc(out, c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc = buf_append(out, e, 3);
        }
        if (rc)
            return rc;
    }
    return 0;
}

int auth_sigv4_canonical_uri(const char *path, struct buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len = strlen(path), nseg = 0, i = 0;
    struct span *seg;
    int rc = 0;

    /* At most len/2+1 segments: each needs a '/' or the start. */
    seg = malloc((len / 2 + 1) * sizeof *seg);
    if (seg == NULL)
        return TM_ENOMEM;
    while (i < len) {
        size_t s;

        while (i < len && path[i] == '/')
            i++;
        s = i;
        while (i < len && path[i] != '/')
            i++;
        if (i == s || (i - s == 1 && path[s] == '.'))
            continue;
        if (i - s == 2 && path[s] == '.' && path[s + 1] == '.') {
            if (nseg > 0)
                nseg--;
            continue;
        }
        seg[nseg].p = path + s;
        seg[nseg].n = i - s;
        nseg++;
    }
    rc = buf_putc(out, '/');
    for (size_t k = 0; k < nseg && rc == 0; k++) {
        if (k > 0)
            rc = buf_putc(out, '/');
        /* Encoding twice: an unreserved byte stays, any other becomes
         * %XX and then its '%' becomes %25. */
        for (size_t j = 0; j < seg[k].n && rc == 0; j++) {
            unsigned char c = (unsigned char)seg[k].p[j];
            if (unreserved(c)) {
                rc = buf_putc(out, c);
            } else {
                char e[5] = {'%', '2', '5', hex[c >> 4], hex[c & 15]};
                rc = buf_append(out, e, 5);
            }
        }
    }
    if (rc == 0 && nseg > 0 && len > 0 && path[len - 1] == '/')
        rc = buf_putc(out, '/');
    free(seg);
    return rc;
}

struct qpair {
    size_t k, klen, v, vlen; /* offsets into the scratch buffer */
};

static int span_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c)
        return c;
    return an < bn ? -1 : an > bn;
}

/* qsort has no context argument; the base pointer goes through a
 * thread-local. */
static __thread const uint8_t *qctx;

static int qpair_cmp(const void *x, const void *y)
{
    const struct qpair *a = x, *b = y;
    int c = span_cmp(qctx + a->k, a->klen, qctx + b->k, b->klen);
    if (c)
        return c;
    return span_cmp(qctx + a->v, a->vlen, qctx + b->v, b->vlen);
}

static int canonical_query(const struct auth_request *r, int presigned,
                           struct buf *out)
{
    struct buf scratch;
    struct qpair *pairs;
    size_t n = 0;
    int rc = 0;

    if (r->nquery == 0)
        return 0;
    pairs = calloc(r->nquery, sizeof *pairs);
    if (pairs == NULL)
        return TM_ENOMEM;
    buf_init(&scratch, CREQ_MAX);
    for (size_t i = 0; i < r->nquery && rc == 0; i++) {
        const char *name = r->query[i].name ? r->query[i].name : "";
        const char *value = r->query[i].value ? r->query[i].value : "";
        struct qpair *q = &pairs[n];

        if (presigned && strcmp(name, "X-Amz-Signature") == 0)
            continue;
        q->k = scratch.len;
        rc = auth_sigv4_uri_encode(name, strlen(name), 0, &scratch);
        if (rc)
            break;
        q->klen = scratch.len - q->k;
        q->v = scratch.len;
        rc = auth_sigv4_uri_encode(value, strlen(value), 0, &scratch);
        q->vlen = scratch.len - q->v;
        n++;
    }
    if (rc == 0 && n > 0) {
        /* scratch.data is NULL when every name and value is empty */
        const uint8_t *base = scratch.data ? scratch.data
                                           : (const uint8_t *)"";
        qctx = base;
        qsort(pairs, n, sizeof *pairs, qpair_cmp);
        qctx = NULL;
        for (size_t i = 0; i < n && rc == 0; i++) {
            if (i > 0)
                rc = buf_putc(out, '&');
            if (rc == 0)
                rc = buf_append(out, base + pairs[i].k, pairs[i].klen);
            if (rc == 0)
                rc = buf_putc(out, '=');
            if (rc == 0)
                rc = buf_append(out, base + pairs[i].v, pairs[i].vlen);
        }
    }
    buf_free(&scratch);
    free(pairs);
    return rc;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

/* Append `v` trimmed, inner runs of white space collapsed to one space. */
static int put_trimmed(const char *v, struct buf *out)
{
    int pending = 0, started = 0, rc = 0;

    for (; *v && rc == 0; v++) {
        if (is_space(*v)) {
            pending = started;
            continue;
        }
        if (pending)
            rc = buf_putc(out, ' ');
        if (rc == 0)
            rc = buf_putc(out, (uint8_t)*v);
        pending = 0;
        started = 1;
    }
    return rc;
}

static int canonical_headers(const struct auth_request *r,
                             const char *signed_headers, struct buf *out)
{
    const char *p = signed_headers;

    for (;;) {
        const char *e = strchr(p, ';');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        int found = 0, rc;

        for (size_t i = 0; i < n; i++) {
            rc = buf_putc(out, (uint8_t)tolower((unsigned char)p[i]));
            if (rc)
                return rc;
        }
        rc = buf_putc(out, ':');
        if (rc)
            return rc;
        for (size_t i = 0; i < r->nheaders; i++) {
            const char *name = r->headers[i].name;
            if (name == NULL || strlen(name) != n ||
                strncasecmp(name, p, n) != 0)
                continue;
            if (found)
                rc = buf_putc(out, ',');
            if (rc == 0)
                rc = put_trimmed(r->headers[i].value ? r->headers[i].value
                                                      : "",
                                 out);
            if (rc)
                return rc;
            found = 1;
        }
        if (!found)
            return TM_EBADSIGNATURE;
        rc = buf_putc(out, '\n');
        if (rc)
            return rc;
        if (e == NULL)
            return 0;
        p = e + 1;
    }
}

int auth_sigv4_canonical_request(const struct auth_request *r,
                                 const char *signed_headers,
                                 const char *payload_hash, int presigned,
                                 struct buf *out)
{
    int rc;

    rc = buf_printf(out, "%s\n", r->method);
    if (rc == 0)
        rc = auth_sigv4_canonical_uri(r->path ? r->path : "/", out);
    if (rc == 0)
        rc = buf_putc(out, '\n');
    if (rc == 0)
        rc = canonical_query(r, presigned, out);
    if (rc == 0)
        rc = buf_putc(out, '\n');
    if (rc == 0)
        rc = canonical_headers(r, signed_headers, out);
    if (rc == 0)
        rc = buf_printf(out, "\n%s\n%s", signed_headers, payload_hash);
    return rc;
}

int auth_sigv4_string_to_sign(const char *amz_date, const char *scope,
                              const uint8_t *creq, size_t len,
                              struct buf *out)
{
    char hex[65];

    auth_sigv4_sha256_hex(creq, len, hex);
    return buf_printf(out, ALGORITHM "\n%s\n%s\n%s", amz_date, scope, hex);
}

/* ---- looking things up ------------------------------------------------- */

static const char *header(const struct auth_request *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (r->headers[i].name &&
            strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value ? r->headers[i].value : "";
    return NULL;
}

static const struct auth_kv *query(const struct auth_request *r,
                                   const char *name)
{
    for (size_t i = 0; i < r->nquery; i++)
        if (r->query[i].name && strcmp(r->query[i].name, name) == 0)
            return &r->query[i];
    return NULL;
}

/* A query value that is present and not empty, as a span. */
static struct span qvalue(const struct auth_request *r, const char *name)
{
    const struct auth_kv *kv = query(r, name);
    struct span s = {NULL, 0};

    if (kv && kv->value && kv->value[0]) {
        s.p = kv->value;
        s.n = strlen(kv->value);
    }
    return s;
}

/* ---- the message accumulator ------------------------------------------- */

struct msg {
    char text[TM_ERROR_MSG_MAX];
    size_t len;
};

static void msg_add(struct msg *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void msg_add(struct msg *m, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (m->len >= sizeof m->text - 1)
        return;
    va_start(ap, fmt);
    n = vsnprintf(m->text + m->len, sizeof m->text - m->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        m->len += (size_t)n;
    if (m->len > sizeof m->text - 1)
        m->len = sizeof m->text - 1;
}

/* ---- parsing the two forms --------------------------------------------- */

/* What either form provides. */
struct sig_params {
    struct span algorithm, credential, signed_headers, signature;
    const char *date_text; /* X-Amz-Date / Date as sent */
    int date_is_http;      /* 1: the Date header (IMF-fixdate allowed) */
    int presigned;
    struct span expires;   /* presigned only; may be empty */
};

static int is_sep(char c) { return c == ' ' || c == '\t' || c == ','; }

static int parse_header_form(const struct auth_request *r, const char *auth,
                             struct sig_params *sp, struct tm_error *err)
{
    const char *p = auth;
    struct msg m = {{0}, 0};

    while (*p == ' ' || *p == '\t')
        p++;
    sp->algorithm.p = p;
    while (*p && !is_sep(*p))
        p++;
    sp->algorithm.n = (size_t)(p - sp->algorithm.p);
    while (*p) {
        const char *s, *eq;
        struct span key, val;

        while (*p && is_sep(*p))
            p++;
        if (*p == '\0')
            break;
        s = p;
        while (*p && !is_sep(*p))
            p++;
        eq = memchr(s, '=', (size_t)(p - s));
        if (eq == NULL)
            return tm_error_set(err, TM_EINCOMPLETESIG,
                                "'%.*s' not a valid key=value pair (missing "
                                "equal-sign) in Authorization header: '%s'.",
                                (int)(p - s), s, auth);
        key.p = s;
        key.n = (size_t)(eq - s);
        val.p = eq + 1;
        val.n = (size_t)(p - eq - 1);
        if (span_eq(key, "Credential"))
            sp->credential = val;
        else if (span_eq(key, "SignedHeaders"))
            sp->signed_headers = val;
        else if (span_eq(key, "Signature"))
            sp->signature = val;
    }
    sp->date_text = header(r, "x-amz-date");
    if (sp->date_text == NULL) {
        sp->date_text = header(r, "date");
        sp->date_is_http = sp->date_text != NULL;
    }
    if (sp->credential.n == 0)
        msg_add(&m, "Authorization header requires 'Credential' parameter. ");
    if (sp->signature.n == 0)
        msg_add(&m, "Authorization header requires 'Signature' parameter. ");
    if (sp->signed_headers.n == 0)
        msg_add(&m, "Authorization header requires 'SignedHeaders' "
                    "parameter. ");
    if (sp->date_text == NULL)
        msg_add(&m, "Authorization header requires existence of either a "
                    "'X-Amz-Date' or a 'Date' header. ");
    if (m.len)
        return tm_error_set(err, TM_EINCOMPLETESIG, "%sAuthorization=%s",
                            m.text, auth);
    return 0;
}

static int parse_query_form(const struct auth_request *r,
                            struct sig_params *sp, struct tm_error *err)
{
    static const char *const required[] = {
        "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature",
        "X-Amz-SignedHeaders", "X-Amz-Date"};
    struct msg m = {{0}, 0};

    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (qvalue(r, required[i]).n == 0)
            msg_add(&m, "AWS query-string parameters must include '%s'. ",
                    required[i]);
    if (m.len)
        return tm_error_set(err, TM_EINCOMPLETESIG,
                            "%sRe-examine the query-string parameters.",
                            m.text);
    sp->presigned = 1;
    sp->algorithm = qvalue(r, "X-Amz-Algorithm");
    sp->credential = qvalue(r, "X-Amz-Credential");
    sp->signature = qvalue(r, "X-Amz-Signature");
    sp->signed_headers = qvalue(r, "X-Amz-SignedHeaders");
    sp->date_text = query(r, "X-Amz-Date")->value;
    sp->expires = qvalue(r, "X-Amz-Expires");
    if (query(r, "X-Amz-Expires") && sp->expires.n == 0)
        return tm_error_set(err, TM_EINCOMPLETESIG,
                            "X-Amz-Expires should be a number");
    return 0;
}

/* ---- the checks -------------------------------------------------------- */

static int check_time(const struct sig_params *sp, int64_t now_ms,
                      int64_t *t_out, char amz_date[17],
                      struct tm_error *err)
{
    int64_t t, now = now_ms / 1000, skew = AUTH_SKEW_MS / 1000;
    char now_s[17], edge[17];

    if (auth_sigv4_parse_amz_date(sp->date_text, &t) != 0 &&
        !(sp->date_is_http && parse_http_date(sp->date_text, &t) == 0))
        return tm_error_set(err, TM_EINCOMPLETESIG,
                            "Date must be in ISO-8601 'basic format'. Got "
                            "'%s'. See http://en.wikipedia.org/wiki/ISO_8601",
                            sp->date_text);
    format_amz_date(t, amz_date);
    format_amz_date(now, now_s);
    *t_out = t;
    if (sp->expires.p != NULL) {
        int64_t n = 0;

        for (size_t i = 0; i < sp->expires.n; i++) {
            char c = sp->expires.p[i];
            if (c < '0' || c > '9' || n > AUTH_PRESIGN_MAX_SECONDS)
                return tm_error_set(err, TM_EINCOMPLETESIG,
                                    c < '0' || c > '9'
                                        ? "X-Amz-Expires should be a number"
                                        : "X-Amz-Expires must be less than "
                                          "a week (in seconds); that is, "
                                          "the given X-Amz-Expires must be "
                                          "less than 604800 seconds");
            n = n * 10 + (c - '0');
        }
        if (n > AUTH_PRESIGN_MAX_SECONDS)
            return tm_error_set(err, TM_EINCOMPLETESIG,
                                "X-Amz-Expires must be less than a week (in "
                                "seconds); that is, the given X-Amz-Expires "
                                "must be less than 604800 seconds");
        if (now > t + n) {
            format_amz_date(now - n, edge);
            return tm_error_set(err, TM_EBADSIGNATURE,
                                "Signature expired: %s is now earlier than "
                                "%s (%s - %lld sec.)",
                                amz_date, edge, now_s, (long long)n);
        }
    } else if (t < now - skew) {
        format_amz_date(now - skew, edge);
        return tm_error_set(err, TM_EBADSIGNATURE,
                            "Signature expired: %s is now earlier than %s "
                            "(%s - 15 min.)",
                            amz_date, edge, now_s);
    }
    if (t > now + skew) {
        format_amz_date(now + skew, edge);
        return tm_error_set(err, TM_EBADSIGNATURE,
                            "Signature not yet current: %s is still later "
                            "than %s (%s + 15 min.)",
                            amz_date, edge, now_s);
    }
    return 0;
}

static int host_is_signed(struct span sh)
{
    const char *p = sh.p, *end = sh.p + sh.n;

    while (p < end) {
        const char *e = memchr(p, ';', (size_t)(end - p));
        size_t n = e ? (size_t)(e - p) : (size_t)(end - p);
        if (n == 4 && strncasecmp(p, "host", 4) == 0)
            return 1;
        p += n + 1;
    }
    return 0;
}

/* The Credential's five parts. */
struct scope {
    struct span key, date, region, service, term;
};

static int split_credential(struct span cred, struct scope *sc,
                            struct tm_error *err)
{
    struct span part[5];
    const char *p = cred.p, *end = cred.p + cred.n;
    int n = 0;

    while (end > p && end[-1] == '/')
        end--;
    for (;;) {
        const char *e = memchr(p, '/', (size_t)(end - p));
        if (n == 5) {
            n = 6;
            break;
        }
        part[n].p = p;
        part[n].n = e ? (size_t)(e - p) : (size_t)(end - p);
        n++;
        if (e == NULL)
            break;
        p = e + 1;
    }
    if (n != 5)
        return tm_error_set(err, TM_EINCOMPLETESIG,
                            "Credential must have exactly 5 slash-delimited "
                            "elements, e.g. keyid/date/region/service/term, "
                            "got '%.*s'",
                            (int)cred.n, cred.p);
    sc->key = part[0];
    sc->date = part[1];
    sc->region = part[2];
    sc->service = part[3];
    sc->term = part[4];
    return 0;
}

static int check_scope(const struct scope *sc, const char *service,
                       const char *amz_date, const char *date_text,
                       struct tm_error *err)
{
    struct msg m = {{0}, 0};
    int region_ok = sc->region.n > 0 && sc->region.n < 64;

    for (size_t i = 0; region_ok && i < sc->region.n; i++)
        if ((unsigned char)sc->region.p[i] <= 0x20 ||
            (unsigned char)sc->region.p[i] >= 0x7f)
            region_ok = 0;
    if (!region_ok)
        msg_add(&m, "Credential should be scoped to a valid region, not "
                    "'%.*s'. ",
                (int)sc->region.n, sc->region.p);
    if (!span_eq(sc->service, service))
        msg_add(&m, "Credential should be scoped to correct service: '%s'. ",
                service);
    if (!span_eq(sc->term, TERMINATOR))
        msg_add(&m, "Credential should be scoped with a valid terminator: "
                    "'aws4_request', not '%.*s'. ",
                (int)sc->term.n, sc->term.p);
    if (sc->date.n != 8 || memcmp(sc->date.p, amz_date, 8) != 0)
        msg_add(&m, "Date in Credential scope does not match YYYYMMDD from "
                    "ISO-8601 version of date from HTTP: '%.*s' != '%.8s', "
                    "from '%s'. ",
                (int)sc->date.n, sc->date.p, amz_date, date_text);
    if (m.len == 0)
        return 0;
    m.text[--m.len] = '\0'; /* the last space */
    return tm_error_set(err, TM_EBADSIGNATURE, "%s", m.text);
}

static int payload_hash(const struct auth_request *r, char hash[65],
                        struct tm_error *err)
{
    const char *declared = header(r, "x-amz-content-sha256");

    auth_sigv4_sha256_hex(r->body, r->body_len, hash);
    if (declared == NULL || strcmp(declared, hash) == 0)
        return 0;
    if (strcmp(declared, "UNSIGNED-PAYLOAD") == 0 ||
        strncmp(declared, "STREAMING-", 10) == 0)
        return tm_error_set(err, TM_EBADSIGNATURE,
                            "x-amz-content-sha256 '%.64s' is not accepted: a "
                            "DynamoDB request must sign its body.",
                            declared);
    return tm_error_set(err, TM_EBADSIGNATURE,
                        "The provided 'x-amz-content-sha256' header does not "
                        "match what was computed.");
}

/* Steps 1-4 of the file comment. */
static int check_signature(const struct auth_request *r,
                           const struct sig_params *sp, const char *secret,
                           const struct scope *sc, const char *service,
                           const char *amz_date, const char *hash,
                           struct tm_error *err)
{
    struct buf creq, sts;
    char *signed_headers = NULL, *date8 = NULL, *region = NULL, *scope;
    uint8_t key[32];
    char want[65];
    int rc;

    buf_init(&creq, CREQ_MAX);
    buf_init(&sts, CREQ_MAX);
    signed_headers = strndup(sp->signed_headers.p, sp->signed_headers.n);
    date8 = strndup(amz_date, 8);
    region = strndup(sc->region.p, sc->region.n);
    scope = NULL;
    if (signed_headers == NULL || date8 == NULL || region == NULL) {
        rc = tm_error_set(err, TM_ENOMEM, "out of memory");
        goto out;
    }
    rc = auth_sigv4_canonical_request(r, signed_headers, hash, sp->presigned,
                                      &creq);
    if (rc == TM_EBADSIGNATURE) {
        rc = tm_error_set(err, TM_EBADSIGNATURE, "%s", MSG_MISMATCH);
        goto out;
    }
    if (rc == 0)
        rc = buf_printf(&sts, "%s/%s/%s/" TERMINATOR, date8, region, service);
    if (rc == 0) {
        scope = strndup((const char *)sts.data, sts.len);
        buf_reset(&sts);
        if (scope == NULL)
            rc = TM_ENOMEM;
    }
    if (rc == 0)
        rc = auth_sigv4_string_to_sign(amz_date, scope, creq.data, creq.len,
                                       &sts);
    if (rc) {
        rc = tm_error_set(err, rc == TM_ETOOLARGE ? TM_ETOOLARGE : TM_ENOMEM,
                          "request headers too large to verify");
        goto out;
    }
    auth_sigv4_signing_key(secret, date8, region, service, key);
    auth_sigv4_hmac_hex(key, sts.data, sts.len, want);
    OPENSSL_cleanse(key, sizeof key);
    if (sp->signature.n != 64 ||
        CRYPTO_memcmp(want, sp->signature.p, 64) != 0)
        rc = tm_error_set(err, TM_EBADSIGNATURE, "%s", MSG_MISMATCH);
out:
    free(signed_headers);
    free(date8);
    free(region);
    free(scope);
    buf_free(&creq);
    buf_free(&sts);
    return rc;
}

int auth_sigv4_verify_service(const struct auth_credentials *creds,
                              const struct auth_request *r, int64_t now_ms,
                              const char *service,
                              struct auth_identity *who,
                              struct tm_error *err)
{
    const char *auth = header(r, "authorization");
    int has_query = query(r, "X-Amz-Algorithm") != NULL;
    struct sig_params sp;
    struct scope sc;
    const char *secret;
    char amz_date[17], hash[65];
    int64_t t;
    int rc;

    memset(&sp, 0, sizeof sp);
    memset(&sc, 0, sizeof sc);
    /* a, b */
    if (auth && has_query)
        return tm_error_set(err, TM_EBADSIGNATURE,
                            "Found both 'X-Amz-Algorithm' as a query-string "
                            "param and 'Authorization' as HTTP header.");
    if (auth == NULL && !has_query)
        return tm_error_set(err, TM_EMISSINGAUTH, "%s", MSG_MISSING);
    if (auth) {
        const char *p = auth;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncmp(p, "AWS4-", 5) != 0)
            return tm_error_set(err, TM_EMISSINGAUTH, "%s", MSG_MISSING);
        rc = parse_header_form(r, auth, &sp, err); /* c */
    } else {
        rc = parse_query_form(r, &sp, err); /* c */
    }
    if (rc)
        return rc;
    rc = check_time(&sp, now_ms, &t, amz_date, err); /* d */
    if (rc)
        return rc;
    if (!host_is_signed(sp.signed_headers)) /* e */
        return tm_error_set(err, TM_EBADSIGNATURE,
                            "'Host' must be a 'SignedHeader' in the AWS "
                            "Authorization.");
    if (!span_eq(sp.algorithm, ALGORITHM)) /* f */
        return tm_error_set(err, TM_EINCOMPLETESIG,
                            "Unsupported AWS 'algorithm': '%.*s' (only "
                            "AWS4-HMAC-SHA256 for now). ",
                            (int)sp.algorithm.n, sp.algorithm.p);
    rc = split_credential(sp.credential, &sc, err); /* g */
    if (rc)
        return rc;
    rc = check_scope(&sc, service, amz_date, sp.date_text, err); /* h */
    if (rc)
        return rc;
    secret = sc.key.n <= AUTH_KEY_ID_MAX
                 ? auth_credentials_find(creds, sc.key.p, sc.key.n)
                 : NULL;
    if (secret == NULL) /* i */
        return tm_error_set(err, TM_EUNKNOWNKEY, "%s", MSG_UNKNOWN_KEY);
    rc = payload_hash(r, hash, err); /* j */
    if (rc)
        return rc;
    rc = check_signature(r, &sp, secret, &sc, service, amz_date, hash,
                         err); /* k */
    if (rc)
        return rc;
    if (header(r, "x-amz-security-token") ||
        query(r, "X-Amz-Security-Token")) /* l */
        return tm_error_set(err, TM_EUNKNOWNKEY, "%s", MSG_TOKEN);
    if (who) {
        memcpy(who->access_key, sc.key.p, sc.key.n);
        who->access_key[sc.key.n] = '\0';
        memcpy(who->region, sc.region.p, sc.region.n);
        who->region[sc.region.n] = '\0';
        who->presigned = sp.presigned;
    }
    return 0;
}

int auth_sigv4_verify(const struct auth_credentials *creds,
                      const struct auth_request *r, int64_t now_ms,
                      struct auth_identity *who, struct tm_error *err)
{
    return auth_sigv4_verify_service(creds, r, now_ms, "dynamodb", who,
                                     err);
}
