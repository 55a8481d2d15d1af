/*
 * api.h - the DynamoDB API: one handler per operation (ops.def), JSON in,
 * JSON out.
 *
 * The HTTP layer owns the connection; this module owns the request's
 * meaning.  For each request the HTTP layer fills a `struct api_req`
 * (arena, body) and calls api_handle():
 *
 *   API_DONE     the response is ready: r->out holds the JSON body (HTTP
 *                200) or r->err.code is set (an error, see api_write_error)
 *   API_PENDING  the request needs the writer: r->op is prepared but not
 *                submitted.  The HTTP layer suspends the connection, then
 *                calls api_submit(r).  When the engine is done, r->resume(r)
 *                is called (on the writer thread); the HTTP layer then
 *                calls api_finish(r) on its own thread, which makes the
 *                response ready as for API_DONE.
 *
 * Memory: everything a handler allocates lives in r->arena, freed by the
 * HTTP layer after the response is sent; r->out is a buf the HTTP layer
 * takes (buf_take) for the response.
 */
#ifndef TM_API_H
#define TM_API_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "engine/engine.h"

struct backup_store;
struct export_mgr;

#define API_DONE 0
#define API_PENDING 1

/* Server-wide settings every handler may need. */
struct api_ctx {
    struct engine *engine;
    const char *region;     /* "us-east-1" */
    const char *account;    /* "000000000000" */
    struct txn_tokens *tokens; /* TransactWriteItems idempotency */
    struct backup_store *backups; /* on-demand backups */
    struct export_mgr *exports;   /* exports and imports (src/export) */
    int test_clock;         /* --unsafe-test-clock: TidemarkTest targets */
    int test_faults;        /* --unsafe-test-faults: InjectFault target */
};

/* Shape-constraint violations collected for one "N validation errors
 * detected: ..." message (see verrs_* in api_int.h). */
struct verrs {
    int n;
    struct buf msg;
};

struct api_req {
    struct api_ctx *ctx;
    struct arena *arena;
    json_t *body;                       /* the parsed request, or NULL */
    struct buf out;                     /* response body */
    struct tm_error err;                /* the error response, if code < 0 */
    struct verrs pre;                   /* violations found by model_check,
                                           reported by the handler's
                                           verrs_finish */
    struct buf err_extra;               /* more members of the error body
                                           (",\"Item\":{...}"), or empty */
    /* asynchronous part */
    struct engine_op op;
    int (*job)(struct api_req *r);      /* instead of op: long work (a
                                           backup) run on a job thread;
                                           returns 0 or sets err */
    int (*finish)(struct api_req *r);   /* after op, whatever its outcome:
                                           releases state, and formats the
                                           response if r->op.rc == 0 */
    void *state;                        /* the handler's state for finish */
    void (*resume)(struct api_req *r);  /* set by the HTTP layer */
    void *conn;                         /* the HTTP layer's connection */
};

/* Prepare r (zeroed fields, out buffer) for a new request. */
void api_req_init(struct api_req *r, struct api_ctx *ctx, struct arena *a);

/* Release what r holds besides the arena (the parsed body, out). */
void api_req_clear(struct api_req *r);

/* Handle the operation `target` (the X-Amz-Target header, may be NULL)
 * with the JSON body [body, body+len).  Returns API_DONE or API_PENDING. */
int api_handle(struct api_req *r, const char *target, const uint8_t *body,
               size_t len);

/* Submit r->op after API_PENDING.  If the engine refuses, r->err is set
 * and r->resume is called before returning. */
void api_submit(struct api_req *r);

/* After resume: build the response (or error) from the op's outcome. */
void api_finish(struct api_req *r);

/* Write the DynamoDB error body {"__type":...,"message":...} for `err`
 * into `out`, with `extra` (raw JSON members each preceded by a comma, or
 * NULL) before the closing brace. */
int api_write_error(const struct tm_error *err, const struct buf *extra,
                    struct buf *out);

#endif
