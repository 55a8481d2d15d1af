/*
 * http.c - libmicrohttpd glue; see http.h.
 *
 * One request's life (libmicrohttpd calls on_request several times):
 *
 *   first call      headers known: take a `struct hreq` from the pool;
 *                   refuse a declared Content-Length over max_body at once
 *                   (413, RequestEntityTooLarge) without reading the body
 *   upload calls    append to the body buffer (capped; past the cap the
 *                   rest is drained and the request fails with 413)
 *   final call      with credentials, auth_sigv4_verify() over the
 *                   complete request (a failure is answered at once);
 *                   then api_handle():  API_DONE    -> reply now
 *                                  API_PENDING -> suspend, api_submit()
 *   resumed call    (after the writer's done() -> on_resume ->
 *                   MHD_resume_connection) api_finish(), reply
 *   completed       on_completed: the hreq goes back to the pool
 *
 * The connection is suspended BEFORE the op is submitted, so the writer's
 * resume can never overtake the suspend.
 *
 * Replies: JSON 1.0 content type, x-amzn-RequestId (52 characters of
 * [A-Z0-9] like DynamoDB's), x-amz-crc32 (CRC-32 of the body, checked by
 * the AWS SDKs), and the error body {"__type","message"} with the status
 * of the error's row in err.h.
 *
 * GET and HEAD serve the plain-text banner and the web console's embedded
 * files (serve_get; src/console), without authentication.
 *
 * SLOW CLIENTS.  libmicrohttpd's own timeout (--idle-timeout) is one of
 * inactivity, and it calls on_request only once a request's headers are
 * complete: a client sending a header byte a second would hold its
 * connection for ever.  So each connection has a `struct watch`
 * (registered by on_connection), with the phase it is in and since when:
 *
 *   WAIT  --request line in (on_uri)-->  HEAD  --headers in (on_request,
 *   first call)-->  BODY  --body in (on_request, last upload call)-->
 *   WORK  --response sent (on_completed)-->  WAIT
 *
 * and a thread (reaper_main) looks every REAP_MS and shuts down the socket
 * of a connection that is in HEAD or BODY for longer than
 * --request-timeout (a request must arrive whole within it of its request
 * line), or in WAIT for longer than --idle-timeout + --request-timeout (a
 * request line trickled byte by byte; a silent connection is closed by
 * libmicrohttpd at --idle-timeout already).  libmicrohttpd then sees the
 * connection end and closes it.  WORK has no deadline: the engine's work
 * and the response's sending are not the client's to stretch.
 */
#include "http/http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "auth/sigv4.h"
#include "base/clock.h"
#include "base/crc32.h"
#include "base/jsonw.h"
#include "base/load.h"
#include "base/log.h"
#include "base/version.h"
#include "console/console.h"

#define ARENA_BLOCK (64 * 1024)
#define ARENA_MAX ((size_t)512 << 20)
#define POOL_MAX 256
#define REAP_MS 250

enum wphase { W_WAIT, W_HEAD, W_BODY, W_WORK };

/* One connection, for the reaper (see SLOW CLIENTS above).  `phase` and
 * `since_ns` are written by the connection's libmicrohttpd thread (since
 * first, then phase, both release) and read by the reaper (phase, then
 * since, acquire); `fd`, `cut` and the links are under watch_lock.  The
 * watch is unlinked (on_connection, CLOSED) before libmicrohttpd closes
 * the socket, so the reaper never shuts down a number reused since. */
struct watch {
    struct watch *prev, *next;
    int fd;
    int cut;                   /* shut down already */
    _Atomic int phase;
    _Atomic uint64_t since_ns;
};

enum hstate { H_READING, H_PENDING, H_DONE };

struct hreq {
    struct api_req api;
    struct arena *arena;
    struct buf body;
    enum hstate state;
    int too_large;
    int shed;             /* over --max-buffered: body dropped, answered
                           * with ThrottlingException */
    size_t counted;       /* body bytes counted in srv->buffered */
    struct MHD_Connection *conn;
    struct watch *watch;  /* the connection's (NULL: not watched) */
    struct http_server *srv;
    struct hreq *next_free;
};

struct http_server {
    struct MHD_Daemon *d;
    struct api_ctx *ctx;
    const struct auth_credentials *auth; /* NULL: anonymous */
    size_t max_body;
    uint64_t request_timeout_ns;
    int port;
    pthread_mutex_t pool_lock;
    struct hreq *pool;
    size_t pool_n;
    _Atomic long inflight;  /* handed to the engine, not yet answered */
    long max_pending;       /* more in flight: ThrottlingException */
    _Atomic size_t buffered; /* request body bytes held, all connections */
    size_t max_buffered;     /* more: ThrottlingException */
    _Atomic unsigned long shed; /* requests answered ThrottlingException */
    uint64_t wait_timeout_ns;   /* --idle-timeout + --request-timeout */
    pthread_mutex_t watch_lock;
    pthread_cond_t reaper_cond;
    struct watch *watches;      /* every open connection */
    pthread_t reaper;
    int reaper_stop;            /* under watch_lock */
    _Atomic unsigned long slow_cut; /* connections closed by the reaper */
    _Atomic int stopping;       /* http_stop: no new requests */
};

/* ---- the hreq pool ----------------------------------------------------- */

static struct hreq *hreq_get(struct http_server *s)
{
    struct hreq *h;

    pthread_mutex_lock(&s->pool_lock);
    h = s->pool;
    if (h) {
        s->pool = h->next_free;
        s->pool_n--;
    }
    pthread_mutex_unlock(&s->pool_lock);
    if (h == NULL) {
        h = calloc(1, sizeof *h);
        if (h == NULL)
            return NULL;
        h->arena = arena_create(ARENA_BLOCK, ARENA_MAX);
        if (h->arena == NULL) {
            free(h);
            return NULL;
        }
        buf_init(&h->body, s->max_body);
    }
    /* a pooled request keeps its body buffer's memory (emptied in
     * hreq_put); initialising it again would leak it */
    buf_reset(&h->body);
    h->body.max = s->max_body;
    api_req_init(&h->api, s->ctx, h->arena);
    h->state = H_READING;
    h->too_large = 0;
    h->shed = 0;
    h->counted = 0;
    h->srv = s;
    return h;
}

static void hreq_put(struct http_server *s, struct hreq *h)
{
    atomic_fetch_sub(&s->buffered, h->counted);
    h->counted = 0;
    api_req_clear(&h->api);
    arena_reset(h->arena);
    pthread_mutex_lock(&s->pool_lock);
    if (s->pool_n < POOL_MAX) {
        buf_reset(&h->body);
        if (h->body.cap > 1 << 20)
            buf_free(&h->body);
        h->next_free = s->pool;
        s->pool = h;
        s->pool_n++;
        h = NULL;
    }
    pthread_mutex_unlock(&s->pool_lock);
    if (h) {
        buf_free(&h->body);
        arena_destroy(h->arena);
        free(h);
    }
}

/* ---- replies ----------------------------------------------------------- */

static void request_id(char out[53])
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    static __thread uint64_t state;
    if (state == 0) {
        if (getrandom(&state, sizeof state, 0) != sizeof state)
            state = clock_mono_ns();
        state |= 1;
    }
    for (int i = 0; i < 52; i++) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out[i] = alphabet[state % 36];
    }
    out[52] = '\0';
}

/* The Date header, formatted once a second per thread (libmicrohttpd's
 * own calls gmtime_r, whose process-wide lock the threads contended for). */
static const char *date_now(void)
{
    static __thread int64_t at = -1;
    static __thread char text[30];
    int64_t now = clock_now_ms() / 1000;

    if (now != at) {
        clock_http_date(now, text);
        at = now;
    }
    return text;
}

static enum MHD_Result reply(struct MHD_Connection *c, int status,
                             const char *ctype, uint8_t *data, size_t len)
{
    struct MHD_Response *resp;
    char rid[53], crc[21];
    enum MHD_Result ret;

    if (data == NULL) {
        resp = MHD_create_response_from_buffer(0, (void *)"",
                                               MHD_RESPMEM_PERSISTENT);
    } else {
        resp = MHD_create_response_from_buffer(len, data,
                                               MHD_RESPMEM_MUST_FREE);
    }
    if (resp == NULL) {
        free(data);
        return MHD_NO;
    }
    request_id(rid);
    json_fmt_u64(crc,
                 crc32_update(0, data ? data : (uint8_t *)"", data ? len : 0));
    MHD_add_response_header(resp, "Date", date_now());
    MHD_add_response_header(resp, "Content-Type", ctype);
    MHD_add_response_header(resp, "x-amzn-RequestId", rid);
    MHD_add_response_header(resp, "x-amz-crc32", crc);
    ret = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result reply_api(struct MHD_Connection *c, struct hreq *h)
{
    struct api_req *r = &h->api;
    int status = 200;
    uint8_t *data;
    size_t len;

    if (r->err.code) {
        status = tm_err_status(r->err.code);
        if (status >= 500)
            tm_errorf("request failed: %s: %s", tm_strerror(r->err.code),
                      r->err.msg);
        if (api_write_error(&r->err, &r->err_extra, &r->out) != 0)
            return MHD_NO;
    }
    data = buf_take(&r->out, &len);
    h->state = H_DONE;
    return reply(c, status, "application/x-amz-json-1.0", data, len);
}

static enum MHD_Result reply_error(struct MHD_Connection *c, int code,
                                   const char *msg)
{
    struct tm_error err;
    struct buf b;
    uint8_t *data;
    size_t len;

    tm_error_set(&err, code, "%s", msg);
    buf_init(&b, 4096);
    if (api_write_error(&err, NULL, &b) != 0) {
        buf_free(&b);
        return MHD_NO;
    }
    data = buf_take(&b, &len);
    return reply(c, tm_err_status(code), "application/x-amz-json-1.0", data,
                 len);
}

/* ---- authentication ---------------------------------------------------- */

struct kv_fill {
    struct auth_kv *kv;
    size_t n, cap;
};

static enum MHD_Result fill_kv(void *cls, enum MHD_ValueKind kind,
                               const char *key, const char *value)
{
    struct kv_fill *f = cls;

    (void)kind;
    if (f->n < f->cap) {
        f->kv[f->n].name = key;
        f->kv[f->n].value = value;
        f->n++;
    }
    return MHD_YES;
}

/* The headers or query arguments of `c`, in arrival order, in an array
 * from the request's arena (the strings stay libmicrohttpd's). */
static int collect_kv(struct MHD_Connection *c, enum MHD_ValueKind kind,
                      struct arena *a, struct kv_fill *f)
{
    int n = MHD_get_connection_values(c, kind, NULL, NULL);

    f->n = f->cap = 0;
    f->kv = NULL;
    if (n <= 0)
        return 0;
    f->kv = arena_calloc(a, (size_t)n, sizeof *f->kv);
    if (f->kv == NULL)
        return TM_ENOMEM;
    f->cap = (size_t)n;
    MHD_get_connection_values(c, kind, fill_kv, f);
    return 0;
}

/* SigV4 over the complete request (auth/sigv4.h).  Returns 0, or the
 * error with DynamoDB's message in `err`. */
static int authenticate(struct http_server *s, struct MHD_Connection *c,
                        const char *url, struct hreq *h, struct tm_error *err)
{
    struct auth_request ar;
    struct auth_identity who;
    struct kv_fill q, hd;
    int rc;

    if (collect_kv(c, MHD_GET_ARGUMENT_KIND, h->arena, &q) != 0 ||
        collect_kv(c, MHD_HEADER_KIND, h->arena, &hd) != 0)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    memset(&ar, 0, sizeof ar);
    ar.method = "POST";
    ar.path = url;
    ar.query = q.kv;
    ar.nquery = q.n;
    ar.headers = hd.kv;
    ar.nheaders = hd.n;
    ar.body = h->body.data;
    ar.body_len = h->body.len;
    rc = auth_sigv4_verify(s->auth, &ar, clock_now_ms(), &who, err);
    if (rc) {
        tm_debug("auth: %s: %s", tm_err_name(rc), err->msg);
        return rc;
    }
    /* Any region is accepted (the signature covers it); say so when it
     * is not the server's. */
    if (s->ctx->region && strcmp(who.region, s->ctx->region) != 0)
        tm_debug("auth: key %s signed for region %s (server region %s)",
                 who.access_key, who.region, s->ctx->region);
    return 0;
}

/* ---- slow clients: the watches and the reaper -------------------------- */

static struct watch *watch_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return i ? i->socket_context : NULL;
}

/* Enter `phase`; with `restart`, its clock starts now. */
static void watch_enter(struct watch *w, enum wphase phase, int restart)
{
    if (w == NULL)
        return; /* not watched (out of memory when it opened) */
    if (restart)
        atomic_store_explicit(&w->since_ns, clock_mono_ns(),
                              memory_order_release);
    atomic_store_explicit(&w->phase, phase, memory_order_release);
}

static void watch_set(struct MHD_Connection *c, enum wphase phase,
                      int restart)
{
    watch_enter(watch_of(c), phase, restart);
}

/* Every connection's start and end (MHD_OPTION_NOTIFY_CONNECTION). */
static void on_connection(void *cls, struct MHD_Connection *c,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct http_server *s = cls;
    struct watch *w = *socket_context;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *i =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (i == NULL || (w = calloc(1, sizeof *w)) == NULL)
            return;
        w->fd = i->connect_fd;
        atomic_init(&w->phase, W_WAIT);
        atomic_init(&w->since_ns, clock_mono_ns());
        pthread_mutex_lock(&s->watch_lock);
        w->next = s->watches;
        if (s->watches)
            s->watches->prev = w;
        s->watches = w;
        pthread_mutex_unlock(&s->watch_lock);
        *socket_context = w;
        return;
    }
    if (code != MHD_CONNECTION_NOTIFY_CLOSED || w == NULL)
        return;
    pthread_mutex_lock(&s->watch_lock);
    if (w->prev)
        w->prev->next = w->next;
    else
        s->watches = w->next;
    if (w->next)
        w->next->prev = w->prev;
    pthread_mutex_unlock(&s->watch_lock);
    *socket_context = NULL;
    free(w);
}

/* The request line is in (MHD_OPTION_URI_LOG_CALLBACK): the request's
 * deadline starts.  Returns no request context (on_request keeps its
 * first call with *con_cls NULL). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls;
    (void)uri;
    watch_set(c, W_HEAD, 1);
    return NULL;
}

static void *reaper_main(void *arg)
{
    struct http_server *s = arg;

    pthread_setname_np(pthread_self(), "tm-reaper"); /* top -H, perf */
    pthread_mutex_lock(&s->watch_lock);
    while (!s->reaper_stop) {
        uint64_t now = clock_mono_ns();
        unsigned long cut = 0;
        struct timespec ts;

        for (struct watch *w = s->watches; w; w = w->next) {
            int ph = atomic_load_explicit(&w->phase, memory_order_acquire);
            uint64_t since =
                atomic_load_explicit(&w->since_ns, memory_order_acquire);
            uint64_t limit = ph == W_WAIT ? s->wait_timeout_ns
                                          : s->request_timeout_ns;
            if (w->cut || ph == W_WORK || now < since ||
                now - since <= limit)
                continue;
            shutdown(w->fd, SHUT_RDWR);
            w->cut = 1;
            cut++;
        }
        if (cut) {
            atomic_fetch_add(&s->slow_cut, cut);
            pthread_mutex_unlock(&s->watch_lock); /* not held to log */
            tm_warn("closed %lu connection%s whose request did not arrive "
                    "whole within %llu s of its first line "
                    "(--request-timeout), or whose first line did not "
                    "within %llu s (--idle-timeout + --request-timeout)",
                    cut, cut == 1 ? "" : "s",
                    (unsigned long long)(s->request_timeout_ns /
                                         1000000000ull),
                    (unsigned long long)(s->wait_timeout_ns /
                                         1000000000ull));
            pthread_mutex_lock(&s->watch_lock);
        }
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += REAP_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->reaper_cond, &s->watch_lock, &ts);
    }
    pthread_mutex_unlock(&s->watch_lock);
    return NULL;
}

/* ---- the access handler ------------------------------------------------ */

static void on_resume(struct api_req *r)
{
    struct hreq *h = (struct hreq *)((char *)r - offsetof(struct hreq, api));
    MHD_resume_connection(h->conn);
}

/* ---- GET: the banner and the web console ------------------------------- */

static enum MHD_Result reply_banner(struct MHD_Connection *c)
{
    static const char text[] =
        "tidemark " TM_VERSION ": a DynamoDB-compatible database "
        "server with on-demand backups and point-in-time recovery.\n"
        "POST DynamoDB API requests (X-Amz-Target: "
        "DynamoDB_20120810.<Operation>) to this address.\n"
        "The web console is at /console.\n";
    uint8_t *body = (uint8_t *)strdup(text);

    if (body == NULL)
        return MHD_NO;
    return reply(c, 200, "text/plain; charset=utf-8", body, strlen(text));
}

/* A response from static text (the console's files, short messages). */
static enum MHD_Result reply_static(struct MHD_Connection *c, int status,
                                    const char *ctype, const void *data,
                                    size_t len, const char *etag,
                                    const char *location)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    resp = MHD_create_response_from_buffer(len, (void *)data,
                                           MHD_RESPMEM_PERSISTENT);
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, "Date", date_now());
    if (ctype)
        MHD_add_response_header(resp, "Content-Type", ctype);
    if (etag)
        MHD_add_response_header(resp, "ETag", etag);
    if (location)
        MHD_add_response_header(resp, "Location", location);
    for (const struct console_header *h = console_headers; h->name; h++)
        MHD_add_response_header(resp, h->name, h->value);
    ret = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Whether a browser is asking: its Accept header names text/html (curl,
 * the SDKs and the test harnesses send none or a wildcard). */
static int wants_html(struct MHD_Connection *c)
{
    const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                "Accept");
    return a && strstr(a, "text/html") != NULL;
}

/* GET and HEAD (libmicrohttpd drops the body of a HEAD):
 *   /            browsers (Accept: text/html): 302 to /console; anything
 *                else: the plain-text banner, as before the console
 *   /version     the banner, always
 *   /console...  the console's files (console.h), 304 when the client's
 *                If-None-Match is the file's ETag
 * No credentials are needed for any of them: they hold no data; the
 * console signs its API requests like any client. */
static enum MHD_Result serve_get(struct MHD_Connection *c, const char *url)
{
    static const char missing[] =
        "Not found: the web console has no such file. Open /console.\n";
    const struct console_asset *a;
    const char *inm;

    if (strcmp(url, "/version") == 0)
        return reply_banner(c);
    if (strcmp(url, "/") == 0) {
        if (wants_html(c))
            return reply_static(c, 302, "text/plain; charset=utf-8",
                                "See /console\n", 13, NULL, "/console");
        return reply_banner(c);
    }
    if (!console_owns(url))
        return reply_error(c, TM_ENOTFOUND, "Not found");
    a = console_asset_find(url);
    if (a == NULL)
        return reply_static(c, 404, "text/plain; charset=utf-8", missing,
                            sizeof missing - 1, NULL, NULL);
    inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-None-Match");
    if (inm && strstr(inm, a->etag) != NULL)
        return reply_static(c, 304, NULL, "", 0, a->etag, NULL);
    return reply_static(c, 200, a->content_type, a->data, a->len, a->etag,
                        NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version,
                                  const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    struct http_server *s = cls;
    struct hreq *h = *con_cls;
    const char *target;
    int rc;

    (void)version;
    if (h == NULL) {
        struct watch *w = watch_of(c); /* kept in the hreq from here */
        const char *cl;

        /* answered now (below), or the body may come (then W_BODY) */
        watch_enter(w, W_WORK, 0);

        if (atomic_load_explicit(&s->stopping, memory_order_relaxed))
            return MHD_NO; /* shutting down: http_stop */

        if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
            return serve_get(c, url);
        if (strcmp(method, "POST") != 0)
            return reply_error(c, TM_EUNKNOWNOP,
                               "Only POST requests are accepted");
        cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                         MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > s->max_body)
            return reply_error(c, TM_ETOOLARGE,
                               "Request must be smaller than 16777216 "
                               "bytes for the operation");
        load_note_request(); /* background work yields to requests */
        h = hreq_get(s);
        if (h == NULL)
            return MHD_NO;
        h->conn = c;
        h->watch = w;
        *con_cls = h;
        watch_enter(w, W_BODY, 0); /* the body may come: the deadline runs */
        return MHD_YES;
    }
    if (*upload_size != 0) {
        size_t n = *upload_size;

        /* the bodies of all connections together stay under
         * max_buffered: past it, this request's body is dropped and it
         * is answered ThrottlingException (clients back off and retry) */
        if (!h->too_large && !h->shed) {
            if (atomic_fetch_add(&s->buffered, n) + n > s->max_buffered) {
                atomic_fetch_sub(&s->buffered, n);
                h->shed = 1;
            } else {
                h->counted += n;
                if (buf_append(&h->body, upload_data, n) != 0)
                    h->too_large = 1;
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    switch (h->state) {
    case H_READING:
        watch_enter(h->watch, W_WORK, 0); /* the request is whole */
        if (h->too_large)
            return reply_error(c, TM_ETOOLARGE,
                               "Request must be smaller than 16777216 "
                               "bytes for the operation");
        /* overload: more requests waiting for the engine than
         * max_pending, or too many body bytes held.  Answer at once
         * rather than let every client stall behind the backlog; nothing
         * was done, so the retry the SDKs make is safe. */
        if (h->shed || atomic_load(&s->inflight) >= s->max_pending) {
            atomic_fetch_add(&s->shed, 1);
            return reply_error(c, TM_ETHROTTLE,
                               "Rate of requests exceeds the allowed "
                               "throughput.");
        }
        if (s->auth) {
            struct tm_error aerr;

            tm_error_clear(&aerr);
            rc = authenticate(s, c, url, h, &aerr);
            if (rc)
                return reply_error(c, rc, aerr.msg);
        }
        target = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                             "X-Amz-Target");
        rc = api_handle(&h->api, target, h->body.data ? h->body.data
                                                      : (uint8_t *)"",
                        h->body.len);
        if (rc == API_PENDING) {
            h->state = H_PENDING;
            h->api.resume = on_resume;
            atomic_fetch_add(&s->inflight, 1);
            MHD_suspend_connection(c);
            api_submit(&h->api);
            return MHD_YES;
        }
        return reply_api(c, h);
    case H_PENDING:
        atomic_fetch_sub(&s->inflight, 1);
        h->state = H_DONE;
        api_finish(&h->api);
        return reply_api(c, h);
    case H_DONE:
        break;
    }
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_server *s = cls;
    struct hreq *h = *con_cls;

    (void)toe;
    /* for the next request on this connection; a POST kept its watch */
    if (h == NULL) {
        watch_set(c, W_WAIT, 1);
        return;
    }
    watch_enter(h->watch, W_WAIT, 1);
    /* a request the engine answered after its client had gone never came
     * back through on_request: it is no longer in flight */
    if (h->state == H_PENDING) {
        atomic_fetch_sub(&s->inflight, 1);
        if (h->api.finish)
            api_finish(&h->api); /* releases what the handler holds */
    }
    *con_cls = NULL;
    hreq_put(s, h);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    size_t n;

    (void)cls;
    vsnprintf(line, sizeof line, fmt, ap);
    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    tm_debug("http: %s", line);
}

/* ---- start and stop ---------------------------------------------------- */

int http_start(const struct http_options *o, struct api_ctx *ctx,
               struct http_server **out, struct tm_error *err)
{
    struct http_server *s = calloc(1, sizeof *s);
    struct sockaddr_storage ss;
    socklen_t slen;
    unsigned threads = o->threads;
    const union MHD_DaemonInfo *info;
    struct MHD_OptionItem tls_opts[3];

    if (s == NULL)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    memset(&ss, 0, sizeof ss);
    if (inet_pton(AF_INET, o->host,
                  &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)o->port);
        slen = sizeof *a;
    } else if (inet_pton(AF_INET6, o->host,
                         &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)o->port);
        slen = sizeof *a;
    } else {
        free(s);
        return tm_error_set(err, TM_EVALIDATION,
                            "--host %s is not an IPv4 or IPv6 address",
                            o->host);
    }
    (void)slen;
    if (threads == 0) {
        /* one per CPU this process may run on: more threads than CPUs
         * only switch between one another */
        threads = load_usable_cpus();
    }
    s->ctx = ctx;
    s->auth = o->auth;
    s->max_body = o->max_body ? o->max_body : HTTP_MAX_BODY_DEFAULT;
    s->request_timeout_ns =
        (uint64_t)(o->request_timeout ? o->request_timeout : 60u) * 1000000000ull;
    s->wait_timeout_ns =
        s->request_timeout_ns +
        (uint64_t)(o->idle_timeout ? o->idle_timeout : 300u) * 1000000000ull;
    s->max_pending = o->max_pending ? (long)o->max_pending
                                    : HTTP_MAX_PENDING_DEFAULT;
    s->max_buffered = o->max_buffered ? o->max_buffered
                                      : HTTP_MAX_BUFFERED_DEFAULT;
    if (o->tls_cert_pem && !MHD_is_feature_supported(MHD_FEATURE_TLS)) {
        free(s);
        return tm_error_set(err, TM_EIO,
                            "this libmicrohttpd was built without TLS; "
                            "install Debian's libmicrohttpd12 (built with "
                            "GnuTLS) or serve plain HTTP");
    }
    /* TLS options go in an array so one call serves both cases. */
    tls_opts[0] = (struct MHD_OptionItem){
        o->tls_cert_pem ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0,
        (void *)o->tls_cert_pem};
    tls_opts[1] = (struct MHD_OptionItem){
        o->tls_key_pem ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0,
        (void *)o->tls_key_pem};
    tls_opts[2] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    pthread_mutex_init(&s->pool_lock, NULL);
    pthread_mutex_init(&s->watch_lock, NULL);
    {
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&s->reaper_cond, &ca);
        pthread_condattr_destroy(&ca);
    }
    s->d = MHD_start_daemon(
        MHD_USE_AUTO_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
            MHD_USE_SUPPRESS_DATE_NO_CLOCK | /* our Date: date_now() */
            MHD_USE_ERROR_LOG | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0) |
            (o->tls_cert_pem ? MHD_USE_TLS : 0),
        (uint16_t)o->port, NULL, NULL, on_request, s,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_LIMIT, o->conn_limit ? o->conn_limit : 4096u,
        MHD_OPTION_CONNECTION_TIMEOUT,
        o->idle_timeout ? o->idle_timeout : 300u,
        /* small: libmicrohttpd clears the pool on every keep-alive request,
         * and bodies go to our own buffer (128 KiB cost GetItem 23% of
         * its time in memset) */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16 * 1024,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
        MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
    if (s->d != NULL &&
        pthread_create(&s->reaper, NULL, reaper_main, s) != 0) {
        MHD_stop_daemon(s->d);
        s->d = NULL;
    }
    if (s->d == NULL) {
        pthread_mutex_destroy(&s->pool_lock);
        pthread_mutex_destroy(&s->watch_lock);
        pthread_cond_destroy(&s->reaper_cond);
        free(s);
        return tm_error_set(err, TM_EIO,
                            "cannot listen on %s port %d (in use, or not an "
                            "address of this machine); choose another "
                            "--host/--port",
                            o->host, o->port);
    }
    info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : o->port;
    *out = s;
    return 0;
}

int http_port(const struct http_server *s) { return s->port; }

void http_stop(struct http_server *s, unsigned wait_ms)
{
    uint64_t until;
    struct hreq *h;

    if (s == NULL)
        return;
    /* No new requests from now on: on_request closes the connection of
     * any that starts (clients retry elsewhere or later).  Not
     * MHD_quiesce_daemon: with a thread pool on epoll, libmicrohttpd
     * 0.9.75 takes the listening socket out of each worker's epoll set
     * both in the caller and in the worker that sees the flag, and the
     * loser of that race aborts the process ("Failed to remove listen FD
     * from epoll set", seen once in test_tls). */
    atomic_store(&s->stopping, 1);
    until = clock_mono_ns() + (uint64_t)wait_ms * 1000000u;
    /* Requests still uploading are not waited for: they are cut off with
     * their connection. Requests the engine is working on are answered. */
    while (atomic_load(&s->inflight) > 0 && clock_mono_ns() < until) {
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(s->d); /* every watch is gone now */
    pthread_mutex_lock(&s->watch_lock);
    s->reaper_stop = 1;
    pthread_cond_signal(&s->reaper_cond);
    pthread_mutex_unlock(&s->watch_lock);
    pthread_join(s->reaper, NULL);
    pthread_mutex_destroy(&s->watch_lock);
    pthread_cond_destroy(&s->reaper_cond);
    if (atomic_load(&s->slow_cut))
        tm_info("connections closed for sending their requests too "
                "slowly (--request-timeout): %lu",
                (unsigned long)atomic_load(&s->slow_cut));
    if (atomic_load(&s->shed))
        tm_info("%lu requests were answered ThrottlingException "
                "(over --max-pending or --max-buffered-mb)",
                (unsigned long)atomic_load(&s->shed));
    while ((h = s->pool) != NULL) {
        s->pool = h->next_free;
        buf_free(&h->body);
        arena_destroy(h->arena);
        free(h);
    }
    pthread_mutex_destroy(&s->pool_lock);
    free(s);
}
