/*
 * sigv4.h - AWS Signature Version 4 verification of one HTTP request.
 *
 * The HTTP layer (http.c) collects a request into a `struct auth_request`
 * (method, decoded path, decoded query pairs, headers as received, the
 * complete body) and calls auth_sigv4_verify() before the request reaches
 * the api module.  Two forms are understood:
 *
 *   Authorization header   AWS4-HMAC-SHA256 Credential=AKID/20261125/
 *                          us-east-1/dynamodb/aws4_request,
 *                          SignedHeaders=host;x-amz-date;...,
 *                          Signature=<64 hex>
 *                          with X-Amz-Date (or Date) as the request time
 *   presigned query        X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date,
 *                          X-Amz-SignedHeaders, X-Amz-Signature, and
 *                          optionally X-Amz-Expires (seconds, at most a
 *                          week)
 *
 * The errors are DynamoDB's (see sigv4.c for the order of the checks and
 * the source of each message): TM_EMISSINGAUTH
 * (MissingAuthenticationTokenException), TM_EINCOMPLETESIG
 * (IncompleteSignatureException: a malformed header or query),
 * TM_EBADSIGNATURE (InvalidSignatureException: wrong signature, scope or
 * time), TM_EUNKNOWNKEY (UnrecognizedClientException: no such access key,
 * or a session token, which this server never issues).
 *
 * Thread safety: every function here is reentrant; the credentials are
 * only read.
 */
#ifndef TM_AUTH_SIGV4_H
#define TM_AUTH_SIGV4_H

#include <stddef.h>
#include <stdint.h>

#include "auth/credentials.h"
#include "base/buf.h"
#include "base/err.h"

/* Requests signed more than this far from the server's clock are refused
 * (AWS's clock-skew window). */
#define AUTH_SKEW_MS (15 * 60 * 1000)

/* The longest X-Amz-Expires AWS accepts: a week. */
#define AUTH_PRESIGN_MAX_SECONDS 604800

/* One header or query parameter.  For a query parameter written without
 * '=' ("?flag"), value is NULL. */
struct auth_kv {
    const char *name;
    const char *value;
};

/* The request, as the HTTP layer saw it.  Every pointer is borrowed for the
 * duration of the call. */
struct auth_request {
    const char *method;             /* "POST" */
    const char *path;               /* percent-decoded, without '?...' */
    const struct auth_kv *query;    /* percent-decoded, in arrival order */
    size_t nquery;
    const struct auth_kv *headers;  /* names in any case, arrival order */
    size_t nheaders;
    const uint8_t *body;            /* the complete body (may be NULL if
                                       body_len is 0) */
    size_t body_len;
};

/* Who signed an accepted request. */
struct auth_identity {
    char access_key[AUTH_KEY_ID_MAX + 1];
    char region[64];                /* the credential scope's region: any
                                       region is accepted (the signing key
                                       depends on it) */
    int presigned;                  /* 1: query-string form */
};

/* Verify `r` against `creds` at server time `now_ms` (Unix milliseconds;
 * the server passes clock_now_ms()), for service "dynamodb" (the
 * DynamoDB Streams clients sign with that name too).
 *
 * Returns 0 and fills `*who` (which may be NULL), or one of the errors
 * above with DynamoDB's message in `err`; TM_ENOMEM if a buffer could not
 * be allocated. */
int auth_sigv4_verify(const struct auth_credentials *creds,
                      const struct auth_request *r, int64_t now_ms,
                      struct auth_identity *who, struct tm_error *err);

/* The same for another service name (AWS's own test-suite vectors use
 * "service"). */
int auth_sigv4_verify_service(const struct auth_credentials *creds,
                              const struct auth_request *r, int64_t now_ms,
                              const char *service,
                              struct auth_identity *who,
                              struct tm_error *err);

/* ---- the steps, exposed for tests and tools ---------------------------- */

/* Append the canonical request of `r` to `out`:
 *
 *   METHOD \n canonical URI \n canonical query \n canonical headers \n
 *   \n signed headers \n payload hash
 *
 * `signed_headers` is the SignedHeaders value (names separated by ';');
 * X-Amz-Signature is left out of the query when `presigned`.  Returns 0,
 * TM_ENOMEM / TM_ETOOLARGE (from `out`), or TM_EBADSIGNATURE if a signed
 * header is not in the request (then nothing can match). */
int auth_sigv4_canonical_request(const struct auth_request *r,
                                 const char *signed_headers,
                                 const char *payload_hash, int presigned,
                                 struct buf *out);

/* The canonical URI of a decoded path: dot segments and empty segments
 * removed, then every byte but A-Z a-z 0-9 - . _ ~ and '/' percent-encoded
 * twice, as the SDKs do for every service but S3.  Appends to `out`. */
int auth_sigv4_canonical_uri(const char *path, struct buf *out);

/* Percent-encode `len` bytes of `s` the SigV4 way (unreserved characters
 * kept, everything else %XX in upper case; '/' too unless `keep_slash`).
 * Appends to `out`. */
int auth_sigv4_uri_encode(const char *s, size_t len, int keep_slash,
                          struct buf *out);

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date8), region),
 * service), "aws4_request"). */
void auth_sigv4_signing_key(const char *secret, const char *date8,
                            const char *region, const char *service,
                            uint8_t key[32]);

/* The string to sign for the canonical request `creq` (`len` bytes):
 *   AWS4-HMAC-SHA256 \n amz_date \n scope \n hex(SHA-256(creq))
 * appended to `out`; `scope` is date8/region/service/aws4_request. */
int auth_sigv4_string_to_sign(const char *amz_date, const char *scope,
                              const uint8_t *creq, size_t len,
                              struct buf *out);

/* Lower-case hex HMAC-SHA256(key, msg) into `hex` (65 bytes with NUL). */
void auth_sigv4_hmac_hex(const uint8_t key[32], const uint8_t *msg,
                         size_t len, char hex[65]);

/* Lower-case hex SHA-256 of `len` bytes into `hex` (65 bytes with NUL). */
void auth_sigv4_sha256_hex(const uint8_t *p, size_t len, char hex[65]);

/* Parse an ISO 8601 basic timestamp "YYYYMMDDTHHMMSSZ" into Unix seconds.
 * Returns 0 or -1 if it is not exactly that form or not a real time. */
int auth_sigv4_parse_amz_date(const char *s, int64_t *out);

#endif
