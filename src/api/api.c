/*
 * api.c - dispatch from X-Amz-Target to the handlers of ops.def, the
 * request/response plumbing shared by every handler, and DynamoDB's
 * validation message format.  Handlers live in api_table.c (control plane)
 * and api_item.c (items).  Three target prefixes: DynamoDB_20120810.
 * (ops.def), DynamoDBStreams_20120810. (streams_ops.def) and Tidemark's
 * own Tidemark_20261125. (tidemark_ops.def: api_history.c).
 *
 * Order of checks for every request, as DynamoDB does them:
 *   1. the target names a known operation, else UnknownOperationException;
 *   2. the body is a JSON object, else SerializationException;
 *   3. the handler: field kinds (SerializationException), then shape
 *      constraints all at once (ValidationException "N validation errors
 *      detected: ..."), then semantic checks, then the table's existence.
 */
#include "api/api_int.h"
#include "api/api_streams.h" /* the handlers of streams_ops.def */
#include "api/model.h"

#include <limits.h>
#include <pthread.h>
#include <sys/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/fsio.h"
#include "base/jsonmem.h"
#include "base/jsonw.h"
#include "base/log.h"

#define TARGET_PREFIX "DynamoDB_20120810."
#define STREAMS_PREFIX "DynamoDBStreams_20120810."
/* Tidemark's own operations (tidemark_ops.def): the console's helpers */
#define TIDEMARK_PREFIX "Tidemark_20261125."
#define TEST_CLOCK_TARGET "TidemarkTest_20261125.AdvanceClock"
#define TEST_FAULT_TARGET "TidemarkTest_20261125.InjectFault"

struct op_entry {
    const char *name;
    int (*fn)(struct api_req *r);
};

static const struct op_entry ops[] = {
#define OP(name, fn) {#name, fn},
#include "api/ops.def"
#undef OP
};

static const struct op_entry streams_ops[] = {
#define OP(name, fn) {#name, fn},
#include "api/streams_ops.def"
#undef OP
    {NULL, NULL}};

static const struct op_entry tidemark_ops[] = {
#define OP(name, fn) {#name, fn},
#include "api/tidemark_ops.def"
#undef OP
    {NULL, NULL}};

static const struct op_entry *find_in(const struct op_entry *tab, size_t count,
                                      const char *name, size_t n)
{
    size_t lo = 0, hi = count;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int d = strncmp(tab[mid].name, name, n);
        if (d == 0 && tab[mid].name[n] != '\0')
            d = 1;
        if (d == 0)
            return &tab[mid];
        if (d < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static const struct op_entry *find_op(const char *name, size_t n)
{
    return find_in(ops, sizeof ops / sizeof ops[0], name, n);
}

void api_req_init(struct api_req *r, struct api_ctx *ctx, struct arena *a)
{
    memset(r, 0, sizeof *r);
    r->ctx = ctx;
    r->arena = a;
    buf_init(&r->out, (size_t)64 << 20);
    /* one allocation for most answers (a GetItem's is about 300 bytes),
     * not four as the buffer doubles from 64; on failure the first write
     * tries again and reports it */
    (void)buf_reserve(&r->out, 1024);
    buf_init(&r->err_extra, (size_t)16 << 20);
    verrs_init(&r->pre);
}

void api_req_clear(struct api_req *r)
{
    if (r->body)
        json_decref(r->body);
    r->body = NULL;
    buf_free(&r->out);
    buf_free(&r->err_extra);
    buf_free(&r->pre.msg);
}

static int advance_clock(struct api_req *r, const uint8_t *body, size_t len)
{
    json_error_t jerr;
    json_t *j;
    int64_t ms = 0;
    int has;

    r->body = jsonmem_loadb(r->arena, (const char *)body, len, 0, &jerr);
    if (r->body == NULL || !json_is_object(r->body)) {
        tm_error_set(&r->err, TM_ESERIALIZATION, "a JSON object is needed");
        return API_DONE;
    }
    if (req_int(r, r->body, "Milliseconds", &ms, &has) != 0)
        return API_DONE;
    if (!has || ms < 0) {
        tm_error_set(&r->err, TM_EVALIDATION,
                     "Milliseconds (>= 0) is required");
        return API_DONE;
    }
    clock_advance_ms(ms);
    j = json_pack("{s:I}", "NowMs", (json_int_t)clock_now_ms());
    if (j) {
        jsonmem_dump(j, JSON_COMPACT, &r->out);
        json_decref(j);
    }
    tm_debug("test clock moved forward %lld ms", (long long)ms);
    return API_DONE;
}

static void put_json(struct api_req *r, json_t *j)
{
    if (j)
        jsonmem_dump(j, JSON_COMPACT, &r->out);
    json_decref(j);
}

/* --unsafe-test-faults: the file layer's fault plan (src/base/fsio.h).
 *   {"Op":"sync","Path":"/wal/","Skip":0,"Count":-1,"Errno":"EIO",
 *    "Torn":false}                 add a rule -> {"FaultId":n}
 *   {"FaultId":n}                  -> {"FaultId":n,"Hits":h,"Failed":f}
 *   {"Clear":true}                 remove every rule -> {"Cleared":n}
 * Op: open|read|write|sync|truncate|rename|unlink|close|all, or several
 * joined by '|'; Errno: EIO (default), ENOSPC, EDQUOT, EROFS, EFBIG, ...;
 * Skip (default 0) and Count (default -1: until cleared) as in struct
 * fsio_fault. */
static int inject_fault(struct api_req *r, const uint8_t *body, size_t len)
{
    json_error_t jerr;
    struct fsio_fault f = {0};
    const char *op = NULL, *path = NULL, *errname = NULL;
    int64_t skip = 0, count = -1, fid = 0;
    int clear = 0, torn = 0, has_id = 0, has, id;
    long hits, failed;

    r->body = jsonmem_loadb(r->arena, (const char *)body, len, 0, &jerr);
    if (r->body == NULL || !json_is_object(r->body)) {
        tm_error_set(&r->err, TM_ESERIALIZATION, "a JSON object is needed");
        return API_DONE;
    }
    if (req_bool(r, r->body, "Clear", &clear, &has) != 0 ||
        req_int(r, r->body, "FaultId", &fid, &has_id) != 0 ||
        req_string(r, r->body, "Op", &op, NULL) != 0 ||
        req_string(r, r->body, "Path", &path, NULL) != 0 ||
        req_string(r, r->body, "Errno", &errname, NULL) != 0 ||
        req_int(r, r->body, "Skip", &skip, &has) != 0 ||
        req_int(r, r->body, "Count", &count, &has) != 0 ||
        req_bool(r, r->body, "Torn", &torn, &has) != 0)
        return API_DONE;
    if (clear) {
        int n = fsio_fault_clear_all();
        tm_warn("test fault plan cleared (%d rule%s)", n, n == 1 ? "" : "s");
        put_json(r, json_pack("{s:i}", "Cleared", n));
        return API_DONE;
    }
    if (op == NULL && has_id) {
        if (fid <= 0 || fid > INT32_MAX ||
            fsio_fault_stats((int)fid, &hits, &failed) != 0) {
            tm_error_set(&r->err, TM_EVALIDATION, "no fault rule %lld",
                         (long long)fid);
            return API_DONE;
        }
        put_json(r, json_pack("{s:I,s:I,s:I}", "FaultId", (json_int_t)fid,
                              "Hits", (json_int_t)hits, "Failed",
                              (json_int_t)failed));
        return API_DONE;
    }
    f.ops = op ? fsio_op_from_name(op) : 0;
    f.err = fsio_errno_from_name(errname ? errname : "EIO");
    f.path = path;
    f.skip = skip;
    f.count = count;
    f.torn = torn;
    if (f.ops == 0 || f.err == 0 || skip < 0 || skip > LONG_MAX ||
        count < -1 || count > LONG_MAX ||
        (path && strlen(path) >= FSIO_PATH_MAX)) {
        tm_error_set(&r->err, TM_EVALIDATION,
                     "InjectFault wants Op (open, read, write, sync, "
                     "truncate, rename, unlink, close or all, joined by "
                     "'|'), Errno (EIO, ENOSPC, EDQUOT, EROFS, EFBIG, "
                     "ENOMEM, EACCES, EPERM, EBADF), Skip >= 0, Count >= "
                     "-1 and a Path under %d bytes; or Clear, or FaultId",
                     FSIO_PATH_MAX);
        return API_DONE;
    }
    id = fsio_fault_add(&f);
    if (id < 0) {
        tm_error_set(&r->err, TM_ELIMIT, "at most %d fault rules at once",
                     FSIO_RULES_MAX);
        return API_DONE;
    }
    tm_warn("test fault %d: %s on paths containing \"%s\", after %lld "
            "calls, %lld failures (-1: until cleared) with %s%s",
            id, op, path ? path : "", (long long)skip, (long long)count,
            errname ? errname : "EIO", torn ? ", torn writes" : "");
    put_json(r, json_pack("{s:i}", "FaultId", id));
    return API_DONE;
}

int api_handle(struct api_req *r, const char *target, const uint8_t *body,
               size_t len)
{
    const struct op_entry *op = NULL;
    json_error_t jerr;
    size_t plen = strlen(TARGET_PREFIX);
    int rc, own_model = 0; /* not one of DynamoDB's: no model check */

    /* --unsafe-test-clock: move the server's clock forward, so that tests
     * live through days of retention, pruning and schedules in seconds.
     * Never available otherwise (an unknown operation). */
    if (target && r->ctx->test_clock && strcmp(target, TEST_CLOCK_TARGET) == 0)
        return advance_clock(r, body, len);
    /* --unsafe-test-faults: make the file layer fail on purpose (the
     * fault-injection tests).  Never available otherwise. */
    if (target && r->ctx->test_faults &&
        strcmp(target, TEST_FAULT_TARGET) == 0)
        return inject_fault(r, body, len);
    if (target && strncmp(target, TARGET_PREFIX, plen) == 0)
        op = find_op(target + plen, strlen(target + plen));
    else if (target && strncmp(target, STREAMS_PREFIX,
                               strlen(STREAMS_PREFIX)) == 0) {
        const char *n = target + strlen(STREAMS_PREFIX);
        own_model = 1;
        op = find_in(streams_ops,
                     sizeof streams_ops / sizeof streams_ops[0] - 1, n,
                     strlen(n));
    } else if (target && strncmp(target, TIDEMARK_PREFIX,
                                 strlen(TIDEMARK_PREFIX)) == 0) {
        const char *n = target + strlen(TIDEMARK_PREFIX);
        own_model = 1;
        op = find_in(tidemark_ops,
                     sizeof tidemark_ops / sizeof tidemark_ops[0] - 1, n,
                     strlen(n));
    }
    if (op == NULL) {
        tm_error_set(&r->err, TM_EUNKNOWNOP,
                     target ? "The operation %s is not supported"
                            : "%sThe request has no X-Amz-Target header",
                     target ? target : "");
        return API_DONE;
    }
    r->body = jsonmem_loadb(r->arena, (const char *)body, len,
                            JSON_ALLOW_NUL, &jerr);
    if (r->body == NULL || !json_is_object(r->body)) {
        tm_error_set(&r->err, TM_ESERIALIZATION,
                     r->body ? "Start of list found where not expected"
                             : "Could not parse the request body as JSON "
                               "(line %d, column %d): %s",
                     jerr.line, jerr.column, jerr.text);
        return API_DONE;
    }
    if (!own_model) {
        /* DynamoDB's own operations: checked against its model */
        if (model_check(r, op->name, strlen(op->name)) != 0)
            return API_DONE;
    }
    rc = op->fn(r);
    if (rc == API_PENDING)
        return API_PENDING;
    if (rc < 0 && r->err.code == 0)
        tm_error_set(&r->err, rc, "%s", tm_strerror(rc));
    return API_DONE;
}

static void submit_failed(struct api_req *r)
{
    r->op.rc = tm_error_set(&r->op.err, TM_EUNAVAILABLE,
                            "The server is shutting down; retry later");
    r->resume(r);
}

static void op_done(struct engine_op *op)
{
    struct api_req *r = op->ctx;
    r->resume(r);
}

static void *job_main(void *arg)
{
    struct api_req *r = arg;
    int rc;

    pthread_setname_np(pthread_self(), "tm-api-job"); /* top -H, perf */
    rc = r->job(r);
    r->op.rc = rc < 0 ? rc : 0;
    if (rc < 0) {
        r->op.err = r->err;
        if (r->op.err.code == 0)
            tm_error_set(&r->op.err, rc, "%s", tm_strerror(rc));
    }
    r->resume(r);
    return NULL;
}

void api_submit(struct api_req *r)
{
    if (r->job) {
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &at, job_main, r) != 0)
            submit_failed(r);
        pthread_attr_destroy(&at);
        return;
    }
    r->op.done = op_done;
    r->op.ctx = r;
    if (engine_submit(r->ctx->engine, &r->op) != 0)
        submit_failed(r);
}

void api_finish(struct api_req *r)
{
    /* finish() runs whatever the outcome: it owns the handler's state and
     * must release it; it checks r->op.rc before writing a response. */
    int rc = r->finish ? r->finish(r) : 0;

    if (r->op.rc < 0) {
        r->err = r->op.err;
        if (r->err.code == 0)
            r->err.code = r->op.rc;
        return;
    }
    if (rc < 0 && r->err.code == 0)
        tm_error_set(&r->err, rc, "%s", tm_strerror(rc));
}

int api_write_error(const struct tm_error *err, const struct buf *extra,
                    struct buf *out)
{
    int rc;

    buf_reset(out);
    rc = json_put_raw(out, "{\"__type\":");
    if (rc == 0)
        rc = json_put_cstr(out, tm_err_type(err->code));
    if (rc == 0)
        rc = json_put_raw(out, ",\"message\":");
    if (rc == 0)
        rc = json_put_cstr(out, err->msg);
    if (rc == 0 && extra && extra->len)
        rc = buf_append(out, extra->data, extra->len);
    if (rc == 0)
        rc = buf_putc(out, '}');
    return rc;
}

void api_new_uuid(char out[40])
{
    uint8_t b[16];

    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        uint64_t t = clock_mono_ns();
        for (int i = 0; i < 16; i++)
            b[i] = (uint8_t)(t >> (i % 8 * 8)) ^ (uint8_t)(i * 151);
    }
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    snprintf(out, 40,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x"
             "%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
             b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* ---- validation messages ----------------------------------------------- */

void verrs_init(struct verrs *v)
{
    v->n = 0;
    buf_init(&v->msg, 64 * 1024);
}

void verrs_add(struct verrs *v, const char *shown, const char *path,
               const char *what)
{
    if (v->n > 0)
        buf_append(&v->msg, "; ", 2);
    buf_printf(&v->msg,
               "Value %s at '%s' failed to satisfy constraint: %s", shown,
               path, what);
    v->n++;
}

int verrs_finish(struct verrs *v, struct api_req *r)
{
    int rc = 0;

    if (r->pre.n > 0) {
        /* the model's findings first, then the handler's */
        struct buf all;
        buf_init(&all, 128 * 1024);
        buf_append(&all, r->pre.msg.data, r->pre.msg.len);
        if (v->n > 0) {
            buf_append(&all, "; ", 2);
            buf_append(&all, v->msg.data, v->msg.len);
        }
        buf_free(&v->msg);
        v->msg = all;
        v->n += r->pre.n;
        r->pre.n = 0;
        buf_reset(&r->pre.msg);
    }
    if (v->n > 0) {
        buf_putc(&v->msg, '\0');
        rc = tm_error_set(&r->err, TM_EVALIDATION,
                          "%d validation error%s detected: %s", v->n,
                          v->n == 1 ? "" : "s",
                          v->msg.data ? (char *)v->msg.data : "");
    }
    buf_free(&v->msg);
    return rc;
}

/* ---- request fields ---------------------------------------------------- */

static const char *kind_name(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "Start of structure or map";
    case JSON_ARRAY: return "Start of list";
    case JSON_STRING: return "STRING_VALUE";
    case JSON_INTEGER:
    case JSON_REAL: return "NUMBER_VALUE";
    case JSON_TRUE:
    case JSON_FALSE: return "BOOLEAN_VALUE";
    case JSON_NULL: return "NULL_VALUE";
    }
    return "value";
}

static int wrong_kind(struct api_req *r, const json_t *j, const char *want)
{
    if (json_is_object(j) || json_is_array(j))
        return tm_error_set(&r->err, TM_ESERIALIZATION,
                            "%s found where not expected", kind_name(j));
    return tm_error_set(&r->err, TM_ESERIALIZATION,
                        "%s cannot be converted to %s", kind_name(j), want);
}

int req_string(struct api_req *r, json_t *obj, const char *field,
               const char **out, size_t *len)
{
    json_t *j = json_object_get(obj, field);

    *out = NULL;
    if (len)
        *len = 0;
    if (j == NULL || json_is_null(j))
        return 0;
    if (!json_is_string(j))
        return wrong_kind(r, j, "String");
    /* A caller that takes no length reads a C string: a NUL inside would
     * silently shorten it ("notes\u0000" naming "notes").  Refuse it. */
    if (len == NULL && strlen(json_string_value(j)) != json_string_length(j)) {
        char path[64];
        snprintf(path, sizeof path, "%s", field);
        path[0] = (char)(path[0] >= 'A' && path[0] <= 'Z' ? path[0] + 32
                                                          : path[0]);
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "1 validation error detected: Value '%s' at '%s'"
                            " failed to satisfy constraint: Member must "
                            "satisfy regular expression pattern: "
                            "[a-zA-Z0-9_.-]+",
                            json_string_value(j), path);
    }
    *out = json_string_value(j);
    if (len)
        *len = json_string_length(j);
    return 0;
}

int req_object(struct api_req *r, json_t *obj, const char *field,
               json_t **out)
{
    json_t *j = json_object_get(obj, field);

    *out = NULL;
    if (j == NULL || json_is_null(j))
        return 0;
    if (!json_is_object(j))
        return wrong_kind(r, j, "Structure");
    *out = j;
    return 0;
}

int req_array(struct api_req *r, json_t *obj, const char *field,
              json_t **out)
{
    json_t *j = json_object_get(obj, field);

    *out = NULL;
    if (j == NULL || json_is_null(j))
        return 0;
    if (!json_is_array(j))
        return wrong_kind(r, j, "List");
    *out = j;
    return 0;
}

int req_bool(struct api_req *r, json_t *obj, const char *field, int *out,
             int *present)
{
    json_t *j = json_object_get(obj, field);

    *present = 0;
    if (j == NULL || json_is_null(j))
        return 0;
    if (!json_is_boolean(j))
        return wrong_kind(r, j, "Boolean");
    *out = json_is_true(j);
    *present = 1;
    return 0;
}

int req_int(struct api_req *r, json_t *obj, const char *field, int64_t *out,
            int *present)
{
    json_t *j = json_object_get(obj, field);

    *present = 0;
    if (j == NULL || json_is_null(j))
        return 0;
    if (json_is_real(j)) {
        double d = json_real_value(j);
        if (d != (double)(int64_t)d)
            return tm_error_set(&r->err, TM_ESERIALIZATION,
                                "NUMBER_VALUE cannot be converted to Long");
        *out = (int64_t)d;
    } else if (json_is_integer(j)) {
        *out = json_integer_value(j);
    } else {
        return wrong_kind(r, j, "Long");
    }
    *present = 1;
    return 0;
}

void check_table_name(struct verrs *v, const char *name, const char *path)
{
    size_t chars = 0;
    int bad_char = 0;
    char *shown;

    if (name == NULL) {
        verrs_add(v, "null", path, "Member must not be null");
        return;
    }
    /* DDB counts characters (Java's String length), not bytes */
    for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
        chars += (*c & 0xC0) != 0x80;
        bad_char |= !((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                      (*c >= '0' && *c <= '9') || *c == '_' || *c == '.' ||
                      *c == '-');
    }
    if (chars >= 3 && chars <= 255 && !bad_char)
        return; /* the common case: no message to build */
    shown = malloc(strlen(name) + 3);
    if (shown == NULL)
        return;
    snprintf(shown, strlen(name) + 3, "'%s'", name);
    if (chars < 3)
        verrs_add(v, shown, path,
                  "Member must have length greater than or equal to 3");
    if (chars > 255)
        verrs_add(v, shown, path,
                  "Member must have length less than or equal to 255");
    if (bad_char)
        verrs_add(v, shown, path,
                  "Member must satisfy regular expression pattern: "
                  "[a-zA-Z0-9_.-]+");
    free(shown);
}

int api_table_for_items(struct api_req *r, const char *name,
                        struct table **out)
{
    int rc = catalog_get(engine_catalog(r->ctx->engine), name, r->arena, out);

    if (rc == TM_ENOTFOUND || (rc == 0 && (*out)->status == TABLE_CREATING))
        /* DDB: a table being created or restored is not there yet for
         * items */
        return tm_error_set(&r->err, TM_ENOTFOUND,
                            "Requested resource not found");
    if (rc)
        return tm_error_set(&r->err, rc, "out of memory");
    return 0;
}

/* ---- responses --------------------------------------------------------- */

int write_table_description(struct api_req *r, const struct table *t,
                            const char *status, struct buf *o)
{
    int rc = 0;

    rc |= json_put_raw(o, "{\"AttributeDefinitions\":[");
    for (size_t i = 0; i < t->nattrs; i++) {
        rc |= json_put_raw(o, i ? ",{\"AttributeName\":"
                                : "{\"AttributeName\":");
        rc |= json_put_cstr(o, t->attrs[i].name);
        rc |= json_put_raw(o, ",\"AttributeType\":");
        rc |= json_put_cstr(o, av_type_name(t->attrs[i].type));
        rc |= buf_putc(o, '}');
    }
    rc |= json_put_raw(o, "],\"TableName\":");
    rc |= json_put_cstr(o, t->name);
    rc |= json_put_raw(o, ",\"KeySchema\":[{\"AttributeName\":");
    rc |= json_put_cstr(o, t->ks.hash_name);
    rc |= json_put_raw(o, ",\"KeyType\":\"HASH\"}");
    if (t->ks.range_name) {
        rc |= json_put_raw(o, ",{\"AttributeName\":");
        rc |= json_put_cstr(o, t->ks.range_name);
        rc |= json_put_raw(o, ",\"KeyType\":\"RANGE\"}");
    }
    rc |= json_put_raw(o, "],\"TableStatus\":");
    rc |= json_put_cstr(o, status ? status : table_status_name(t->status));
    rc |= json_put_raw(o, ",\"CreationDateTime\":");
    rc |= json_put_time_ms(o, t->created_ms);
    rc |= json_put_raw(o, ",\"ProvisionedThroughput\":{");
    if (t->last_increase_ms) {
        rc |= json_put_raw(o, "\"LastIncreaseDateTime\":");
        rc |= json_put_time_ms(o, t->last_increase_ms);
        rc |= buf_putc(o, ',');
    }
    if (t->last_decrease_ms) {
        rc |= json_put_raw(o, "\"LastDecreaseDateTime\":");
        rc |= json_put_time_ms(o, t->last_decrease_ms);
        rc |= buf_putc(o, ',');
    }
    rc |= json_put_raw(o, "\"NumberOfDecreasesToday\":");
    rc |= json_put_i64(o, t->decreases_today);
    rc |= json_put_raw(o, ",\"ReadCapacityUnits\":");
    rc |= json_put_i64(o, t->rcu);
    rc |= json_put_raw(o, ",\"WriteCapacityUnits\":");
    rc |= json_put_i64(o, t->wcu);
    rc |= json_put_raw(o, "},\"TableSizeBytes\":");
    rc |= json_put_i64(o, (int64_t)atomic_load(&t->size_bytes));
    rc |= json_put_raw(o, ",\"ItemCount\":");
    rc |= json_put_i64(o, (int64_t)atomic_load(&t->item_count));
    rc |= json_put_raw(o, ",\"TableArn\":");
    {
        char *arn = arena_printf(r->arena, "arn:aws:dynamodb:%s:%s:table/%s",
                                 r->ctx->region, r->ctx->account, t->name);
        rc |= arn ? json_put_cstr(o, arn) : TM_ENOMEM;
    }
    rc |= json_put_raw(o, ",\"TableId\":");
    rc |= json_put_cstr(o, t->id);
    if (t->billing == BILLING_PAY_PER_REQUEST || t->ppr_since_ms) {
        rc |= json_put_raw(o, ",\"BillingModeSummary\":{\"BillingMode\":");
        rc |= json_put_cstr(o, t->billing == BILLING_PAY_PER_REQUEST
                                   ? "PAY_PER_REQUEST"
                                   : "PROVISIONED");
        if (t->ppr_since_ms) {
            rc |= json_put_raw(o, ",\"LastUpdateToPayPerRequestDateTime\":");
            rc |= json_put_time_ms(o, t->ppr_since_ms);
        }
        rc |= buf_putc(o, '}');
    }
    if (t->restore_table_arn) {
        rc |= json_put_raw(o, ",\"RestoreSummary\":{");
        if (t->restore_backup_arn) {
            rc |= json_put_raw(o, "\"SourceBackupArn\":");
            rc |= json_put_cstr(o, t->restore_backup_arn);
            rc |= buf_putc(o, ',');
        }
        rc |= json_put_raw(o, "\"SourceTableArn\":");
        rc |= json_put_cstr(o, t->restore_table_arn);
        rc |= json_put_raw(o, ",\"RestoreDateTime\":");
        rc |= json_put_time_ms(o, t->restore_time_ms);
        rc |= json_put_raw(o, t->restoring ? ",\"RestoreInProgress\":true}"
                                           : ",\"RestoreInProgress\":false}");
    }
    for (int kind = INDEX_LSI; kind >= INDEX_GSI; kind--) {
        int first = 1;
        for (size_t i = 0; i < t->nindexes; i++) {
            const struct table_index *x = &t->indexes[i];
            static const char *const projs[] = {"ALL", "KEYS_ONLY",
                                                "INCLUDE"};
            static const char *const st[] = {"CREATING", "ACTIVE",
                                             "DELETING", "UPDATING"};
            char *arn;
            if ((int)x->kind != kind)
                continue;
            rc |= json_put_raw(o, first ? (kind == INDEX_GSI
                                               ? ",\"GlobalSecondaryIndexes\":["
                                               : ",\"LocalSecondaryIndexes\":[")
                                        : ",");
            first = 0;
            rc |= json_put_raw(o, "{\"IndexName\":");
            rc |= json_put_cstr(o, x->name);
            rc |= json_put_raw(o, ",\"KeySchema\":[{\"AttributeName\":");
            rc |= json_put_cstr(o, x->ks.hash_name);
            rc |= json_put_raw(o, ",\"KeyType\":\"HASH\"}");
            if (x->ks.range_name) {
                rc |= json_put_raw(o, ",{\"AttributeName\":");
                rc |= json_put_cstr(o, x->ks.range_name);
                rc |= json_put_raw(o, ",\"KeyType\":\"RANGE\"}");
            }
            rc |= json_put_raw(o, "],\"Projection\":{\"ProjectionType\":");
            rc |= json_put_cstr(o, projs[x->proj]);
            if (x->ninclude) {
                rc |= json_put_raw(o, ",\"NonKeyAttributes\":[");
                for (size_t k = 0; k < x->ninclude; k++) {
                    if (k)
                        rc |= buf_putc(o, ',');
                    rc |= json_put_cstr(o, x->include[k]);
                }
                rc |= buf_putc(o, ']');
            }
            rc |= buf_putc(o, '}');
            if (kind == INDEX_GSI) {
                rc |= json_put_raw(o, ",\"IndexStatus\":");
                rc |= json_put_cstr(o, st[x->status]);
                if (x->status == INDEX_CREATING)
                    rc |= json_put_raw(o, x->backfilling
                                              ? ",\"Backfilling\":true"
                                              : ",\"Backfilling\":false");
                rc |= json_put_raw(o, ",\"ProvisionedThroughput\":{"
                                      "\"NumberOfDecreasesToday\":0,"
                                      "\"ReadCapacityUnits\":");
                rc |= json_put_i64(o, x->rcu);
                rc |= json_put_raw(o, ",\"WriteCapacityUnits\":");
                rc |= json_put_i64(o, x->wcu);
                rc |= buf_putc(o, '}');
            }
            rc |= json_put_raw(o, ",\"IndexSizeBytes\":");
            rc |= json_put_i64(o, (int64_t)atomic_load(&x->size_bytes));
            rc |= json_put_raw(o, ",\"ItemCount\":");
            rc |= json_put_i64(o, (int64_t)atomic_load(&x->item_count));
            arn = arena_printf(r->arena,
                               "arn:aws:dynamodb:%s:%s:table/%s/index/%s",
                               r->ctx->region, r->ctx->account, t->name,
                               x->name);
            rc |= json_put_raw(o, ",\"IndexArn\":");
            rc |= arn ? json_put_cstr(o, arn) : TM_ENOMEM;
            rc |= buf_putc(o, '}');
        }
        if (!first)
            rc |= buf_putc(o, ']');
    }
    /* DynamoDB Streams: StreamSpecification, LatestStreamLabel/Arn */
    rc |= stream_write_table_members(r, t, o);
    rc |= json_put_raw(o, ",\"DeletionProtectionEnabled\":false}");
    return rc ? TM_ENOMEM : 0;
}

void check_return_consumed(struct api_req *r, struct verrs *v)
{
    /* its enum is checked against the model (model.c) */
    (void)r;
    (void)v;
}

int write_consumed(struct api_req *r, const char *table, double units,
                   struct buf *o)
{
    json_t *j = json_object_get(r->body, "ReturnConsumedCapacity");
    char num[48];
    int rc = 0;

    if (j == NULL || !json_is_string(j) ||
        strcmp(json_string_value(j), "NONE") == 0)
        return 0;
    snprintf(num, sizeof num, "%.17g", units);
    rc |= json_put_raw(o, ",\"ConsumedCapacity\":{\"TableName\":");
    rc |= json_put_cstr(o, table);
    rc |= json_put_raw(o, ",\"CapacityUnits\":");
    rc |= json_put_raw(o, num);
    if (strcmp(json_string_value(j), "INDEXES") == 0) {
        rc |= json_put_raw(o, ",\"Table\":{\"CapacityUnits\":");
        rc |= json_put_raw(o, num);
        rc |= buf_putc(o, '}');
    }
    rc |= buf_putc(o, '}');
    return rc ? TM_ENOMEM : 0;
}

const char *api_table_name_of(const char *name_or_arn)
{
    const char *p;

    if (name_or_arn && strncmp(name_or_arn, "arn:", 4) == 0 &&
        (p = strstr(name_or_arn, ":table/")) != NULL)
        return p + 7;
    return name_or_arn;
}
