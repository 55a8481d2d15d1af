/*
 * http.h - the HTTP front: libmicrohttpd glue between connections and the
 * api module.
 *
 *   POST /   DynamoDB JSON 1.0: body (at most max_body bytes) and the
 *            X-Amz-Target header go to api_handle; the response carries
 *            x-amzn-RequestId and x-amz-crc32 as DynamoDB's do.  With
 *            credentials (http_options.auth) the complete request is
 *            first checked by auth_sigv4_verify; a failure is answered
 *            with DynamoDB's authentication error and never reaches the
 *            api module.
 *   GET /    a short identity text.
 *
 * Threads: a small pool of libmicrohttpd threads (epoll) serves every
 * connection.  A request that needs the writer is suspended (it holds no
 * thread) and resumed by the writer's completion, so hundreds of
 * connections can wait on one group commit.
 */
#ifndef TM_HTTP_H
#define TM_HTTP_H

#include <stddef.h>

#include "api/api.h"
#include "base/err.h"

#define HTTP_MAX_BODY_DEFAULT (16u * 1024 * 1024)
/* Overload limits (--max-pending, --max-buffered-mb): past either, a
 * request is answered ThrottlingException at once, having done nothing,
 * instead of queueing behind the backlog; the SDKs back off and retry. */
#define HTTP_MAX_PENDING_DEFAULT 1024
#define HTTP_MAX_BUFFERED_DEFAULT ((size_t)512 << 20)

struct auth_credentials;

struct http_options {
    const char *host;      /* address to bind, e.g. "127.0.0.1" */
    int port;              /* 0: any free port (see http_port) */
    size_t max_body;       /* 0: HTTP_MAX_BODY_DEFAULT */
    unsigned threads;      /* 0: one per CPU */
    unsigned conn_limit;   /* 0: 4096 */
    unsigned idle_timeout; /* seconds; 0: 300 */
    unsigned request_timeout; /* seconds from a request's first line to
                               * the end of its body, headers included,
                               * however slowly it trickles in (slow
                               * loris); past it the connection is closed,
                               * as it is when a first line does not come
                               * within idle_timeout + request_timeout of
                               * the connection's opening or its last
                               * response.  0: 60 */
    const struct auth_credentials *auth; /* NULL: anonymous; else every
                                          * POST must be signed with one of
                                          * these keys (SigV4, see
                                          * auth/sigv4.h); borrowed, must
                                          * outlive the server */
    unsigned max_pending;  /* requests handed to the engine and not yet
                            * answered; beyond it ThrottlingException.
                            * 0: HTTP_MAX_PENDING_DEFAULT */
    size_t max_buffered;   /* request body bytes held over all
                            * connections; beyond it ThrottlingException.
                            * 0: HTTP_MAX_BUFFERED_DEFAULT */
    const char *tls_cert_pem; /* both set: serve HTTPS with this PEM    */
    const char *tls_key_pem;  /* certificate chain and key (see tls.h);
                               * borrowed, must outlive the server */
};

struct http_server;

/* Bind and start serving.  Returns 0 or TM_EIO (bind failure, with the
 * reason in `err`). */
int http_start(const struct http_options *o, struct api_ctx *ctx,
               struct http_server **out, struct tm_error *err);

/* The bound port. */
int http_port(const struct http_server *s);

/* Stop accepting connections, let requests in flight finish (at most
 * `wait_ms`), then close every connection and free.  NULL-safe. */
void http_stop(struct http_server *s, unsigned wait_ms);

#endif
