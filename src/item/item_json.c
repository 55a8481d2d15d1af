/*
 * item_json.c - the JSON edge of the item model: DynamoDB JSON
 * ({"S":"x"}, {"M":{...}}, ...) in, attribute-value trees out, and back.
 *
 * Called by the API handlers for Item, Key, ExpressionAttributeValues and
 * the like (item_from_json / av_from_json) and when writing responses
 * (item_write_json / av_write_json).  Calls jansson (reading only),
 * decimal.c (dec_parse / dec_format), base64.c and jsonw.c.
 *
 * Parsing: one recursive pass builds the tree in the request arena.
 * Strings and binaries are copied into the arena, so the tree does not
 * depend on the json_t staying alive.
 *
 * Error order.  DynamoDB deserializes the whole request before it
 * validates it, so a SerializationException (JSON of the wrong kind, bad
 * base64) anywhere wins over a ValidationException anywhere, and among
 * validation problems the first one wins.  We reproduce that in the one
 * pass: a serialization error aborts at once; a validation error is only
 * recorded (the first one) and parsing carries on with a placeholder value
 * to look for serialization errors further on; at the end the recorded
 * validation error, if any, is returned.
 *
 * DDB behaviours reproduced (ValidationException unless marked [ser]):
 *   - unknown members of an AttributeValue are ignored and JSON null
 *     members count as absent (the Java deserializer does both), so
 *     {} / {"X":1} / {"S":null} are "Supplied AttributeValue is empty,
 *     must contain exactly one of the supported datatypes"; two types are
 *     "... has more than one datatypes set, ...".
 *   - [ser] wrong JSON kinds: "NUMBER_VALUE cannot be converted to String"
 *     (BOOLEAN_VALUE, STRING_VALUE; String, Boolean, Blob), "Start of
 *     structure or map found where not expected.", "Start of list found
 *     where not expected", "Expected list or null", "Expected map or
 *     null", and "Unexpected value type in payload" for a scalar where an
 *     AttributeValue or item object belongs.
 *   - {"NULL": false}: "One or more parameter values were invalid: Null
 *     attribute value types must have the value of true".
 *   - numbers: DEC_E* statuses become DynamoDB's number messages.
 *   - [ser] bad base64: "Base64 encoded value is not valid: <reason>".
 *   - sets: empty, empty members, duplicates (NS numerically); duplicate
 *     detection is pairwise for small sets and sort-based above SMALL_SET.
 *   - nesting: the attribute itself is level 1 and each M/L adds one; a
 *     value at a level above ITEM_MAX_DEPTH (32) is rejected, so 31
 *     nested maps around a scalar are accepted and 32 are not (as captured
 *     from DynamoDB).
 *
 * Writing: straight into a buf, members in tree order, numbers through
 * dec_format (canonical), binaries as padded base64.
 *
 * Thread-safety: pure functions; the tree is owned by the caller's arena.
 */
#include "item/item.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "base/jsonw.h"

#define MSG_INVALID "One or more parameter values were invalid: "

/* Past this depth we stop looking for serialization errors and return the
 * (already recorded) nesting error: bounds the recursion whatever the
 * json_t (jansson's own parser stops at 2048 levels). */
#define HARD_DEPTH 256

/* Sets up to this size are checked for duplicates pairwise. */
#define SMALL_SET 16

struct jctx {
    struct arena *a;
    struct tm_error *err;
    int vcode; /* first recorded ValidationException, 0 if none */
};

static const uint8_t empty_bytes[1] = {0};

/* ---- errors ------------------------------------------------------------ */

/* Record a validation error if it is the first. */
static void __attribute__((format(printf, 2, 3)))
verr(struct jctx *c, const char *fmt, ...)
{
    char msg[TM_ERROR_MSG_MAX];
    va_list ap;

    if (c->vcode)
        return;
    c->vcode = TM_EVALIDATION;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    tm_error_set(c->err, TM_EVALIDATION, "%s", msg);
}

static int serr(struct jctx *c, const char *msg)
{
    return tm_error_set(c->err, TM_ESERIALIZATION, "%s", msg);
}

static int nomem(struct jctx *c)
{
    return tm_error_set(c->err, TM_ENOMEM, "out of memory");
}

/* The SerializationException for JSON value `v` found where a scalar of
 * Java type `want` ("String", "Boolean", "Blob") was expected. */
static int kind_scalar(struct jctx *c, const json_t *v, const char *want)
{
    const char *tok;

    if (json_is_object(v))
        return serr(c, "Start of structure or map found where not expected.");
    if (json_is_array(v))
        return serr(c, "Start of list found where not expected");
    if (json_is_number(v))
        tok = "NUMBER_VALUE";
    else if (json_is_boolean(v))
        tok = "BOOLEAN_VALUE";
    else
        tok = "STRING_VALUE";
    return tm_error_set(c->err, TM_ESERIALIZATION,
                        "%s cannot be converted to %s", tok, want);
}

/* ... where a JSON array was expected. */
static int kind_list(struct jctx *c, const json_t *v)
{
    if (json_is_object(v))
        return serr(c, "Start of structure or map found where not expected.");
    return serr(c, "Expected list or null");
}

/* ... where a JSON object (a map or a structure) was expected. */
static int kind_object(struct jctx *c, const json_t *v, int is_map)
{
    if (json_is_array(v))
        return serr(c, "Start of list found where not expected");
    return serr(c, is_map ? "Expected map or null"
                          : "Unexpected value type in payload");
}

static void number_error(struct jctx *c, int st)
{
    switch (st) {
    case DEC_EPRECISION:
        verr(c, "Attempting to store more than 38 significant digits in a "
                "Number");
        break;
    case DEC_EOVERFLOW:
        verr(c, "Number overflow. Attempting to store a number with "
                "magnitude larger than supported range");
        break;
    case DEC_EUNDERFLOW:
        verr(c, "Number underflow. Attempting to store a number with "
                "magnitude smaller than supported range");
        break;
    default:
        verr(c, "A value provided cannot be converted into a number");
    }
}

/* ---- scalars ----------------------------------------------------------- */

static int copy_str(struct jctx *c, const json_t *v, struct av_bytes *out)
{
    size_t n = json_string_length(v);
    uint8_t *p;

    if (n == 0) {
        out->p = empty_bytes;
        out->n = 0;
        return 0;
    }
    p = arena_alloc(c->a, n);
    if (p == NULL)
        return nomem(c);
    memcpy(p, json_string_value(v), n);
    out->p = p;
    out->n = n;
    return 0;
}

static int decode_b64(struct jctx *c, const json_t *v, struct av_bytes *out)
{
    size_t n = json_string_length(v), len = 0;
    uint8_t *p;
    int st;

    if (n == 0) {
        out->p = empty_bytes;
        out->n = 0;
        return 0;
    }
    p = arena_alloc(c->a, base64_decoded_max(n));
    if (p == NULL)
        return nomem(c);
    st = base64_decode(json_string_value(v), n, p, &len);
    if (st != BASE64_OK)
        return tm_error_set(c->err, TM_ESERIALIZATION,
                            "Base64 encoded value is not valid: %s",
                            base64_strerror(st));
    out->p = p;
    out->n = len;
    return 0;
}

static void parse_number(struct jctx *c, const json_t *v, struct dec *out)
{
    int st = dec_parse(json_string_value(v), json_string_length(v), out);

    if (st != DEC_OK) {
        number_error(c, st);
        memset(out, 0, sizeof *out);
    }
}

/* ---- sets -------------------------------------------------------------- */

static int cmp_bytes(const struct av_bytes *a, const struct av_bytes *b)
{
    size_t n = a->n < b->n ? a->n : b->n;
    int r = n ? memcmp(a->p, b->p, n) : 0;

    if (r)
        return r;
    return a->n < b->n ? -1 : a->n > b->n;
}

static int qcmp_bytes_ptr(const void *x, const void *y)
{
    return cmp_bytes(*(const struct av_bytes *const *)x,
                     *(const struct av_bytes *const *)y);
}

static int qcmp_dec_ptr(const void *x, const void *y)
{
    return dec_cmp(*(const struct dec *const *)x,
                   *(const struct dec *const *)y);
}

/* 1 if the `n` elements (of size `sz`, at `v`) hold two equal ones, 0 if
 * not, or TM_ENOMEM.  `cmp` is a qsort comparator over pointers to
 * elements. */
static int has_dups(struct jctx *c, const void *v, size_t n, size_t sz,
                    int (*cmp)(const void *, const void *))
{
    const void **ptrs;
    size_t i, j;

    if (n <= SMALL_SET) {
        for (i = 1; i < n; i++) {
            for (j = 0; j < i; j++) {
                const void *pi = (const char *)v + i * sz;
                const void *pj = (const char *)v + j * sz;
                if (cmp(&pi, &pj) == 0)
                    return 1;
            }
        }
        return 0;
    }
    ptrs = arena_alloc(c->a, n * sizeof *ptrs);
    if (ptrs == NULL)
        return nomem(c);
    for (i = 0; i < n; i++)
        ptrs[i] = (const char *)v + i * sz;
    qsort(ptrs, n, sizeof *ptrs, cmp);
    for (i = 1; i < n; i++)
        if (cmp(&ptrs[i - 1], &ptrs[i]) == 0)
            return 1;
    return 0;
}

/* "One or more parameter values were invalid: Input collection [a, b, a]
 * contains duplicates." with the members as the request wrote them; a long
 * list is cut short with ", ..." so that the message fits. */
static void dup_error(struct jctx *c, const json_t *arr)
{
    static const char tail[] = "] contains duplicates.";
    char msg[TM_ERROR_MSG_MAX];
    size_t len, i, room = sizeof msg - sizeof tail - 5; /* 5: ", ..." */
    const json_t *e;

    len = (size_t)snprintf(msg, sizeof msg, MSG_INVALID "Input collection [");
    json_array_foreach(arr, i, e) {
        const char *s = json_string_value(e);
        size_t n = strlen(s) + (i ? 2 : 0);
        if (len + n > room) {
            memcpy(msg + len, ", ...", 5);
            len += 5;
            break;
        }
        snprintf(msg + len, sizeof msg - len, "%s%s", i ? ", " : "", s);
        len += n;
    }
    memcpy(msg + len, tail, sizeof tail);
    verr(c, "%s", msg);
}

static int parse_set(struct jctx *c, enum av_type t, const json_t *arr,
                     struct av *out)
{
    size_t n, i;
    const json_t *e;
    int empty_member = 0, bad_number = 0, rc;

    if (!json_is_array(arr))
        return kind_list(c, arr);
    n = json_array_size(arr);
    out->type = t;
    out->u.ss.n = 0;
    out->u.ss.v = NULL;
    /* Serialization first: every member must be a JSON string (null
     * members are a validation problem, reported below). */
    json_array_foreach(arr, i, e) {
        if (json_is_null(e))
            empty_member = 1;
        else if (!json_is_string(e))
            return kind_scalar(c, e, t == AV_BS ? "Blob" : "String");
    }
    if (n == 0) {
        if (t == AV_SS)
            verr(c, MSG_INVALID "An string set  may not be empty");
        else if (t == AV_NS)
            verr(c, MSG_INVALID "An number set  may not be empty");
        else
            verr(c, MSG_INVALID "Binary sets should not be empty");
        return 0;
    }
    if (t == AV_NS) {
        struct dec *v = arena_alloc(c->a, n * sizeof *v);
        if (v == NULL)
            return nomem(c);
        json_array_foreach(arr, i, e) {
            if (json_is_null(e)) {
                bad_number = 1;
                memset(&v[i], 0, sizeof v[i]);
                continue;
            }
            rc = dec_parse(json_string_value(e), json_string_length(e),
                           &v[i]);
            if (rc != DEC_OK) {
                number_error(c, rc);
                bad_number = 1;
                memset(&v[i], 0, sizeof v[i]);
            }
        }
        out->u.ns.n = n;
        out->u.ns.v = v;
        if (bad_number) {
            number_error(c, DEC_ESYNTAX); /* for null members */
            return 0;
        }
        if (c->vcode)
            return 0; /* the duplicate message would not be used */
        rc = has_dups(c, v, n, sizeof *v, qcmp_dec_ptr);
    } else {
        struct av_bytes *v = arena_alloc(c->a, n * sizeof *v);
        if (v == NULL)
            return nomem(c);
        json_array_foreach(arr, i, e) {
            if (json_is_null(e)) {
                v[i].p = empty_bytes;
                v[i].n = 0;
                empty_member = 1;
                continue;
            }
            rc = t == AV_SS ? copy_str(c, e, &v[i]) : decode_b64(c, e, &v[i]);
            if (rc)
                return rc;
            if (v[i].n == 0)
                empty_member = 1;
        }
        out->u.ss.n = n;
        out->u.ss.v = v;
        if (empty_member) {
            if (t == AV_SS)
                verr(c, MSG_INVALID "An string set may not have a empty "
                                    "string as a value");
            else
                verr(c, MSG_INVALID "Binary sets may not contain null or "
                                    "empty values");
            return 0;
        }
        if (c->vcode)
            return 0;
        rc = has_dups(c, v, n, sizeof *v, qcmp_bytes_ptr);
    }
    if (rc < 0)
        return rc;
    if (rc)
        dup_error(c, arr);
    return 0;
}

/* ---- values ------------------------------------------------------------ */

static int parse_av(struct jctx *c, const json_t *j, struct av *out,
                    int level);

static int parse_map_members(struct jctx *c, const json_t *obj,
                             struct av *out, int level)
{
    size_t n = json_object_size(obj), i = 0, klen;
    const char *key;
    json_t *v;
    struct av_member *m = NULL;
    int rc;

    out->type = AV_M;
    if (n) {
        m = arena_alloc(c->a, n * sizeof *m);
        if (m == NULL)
            return nomem(c);
    }
    json_object_keylen_foreach((json_t *)obj, key, klen, v) {
        if (i == n)
            break; /* cannot happen: the object is not being modified */
        if (klen == 0) {
            m[i].name.p = empty_bytes;
        } else {
            uint8_t *p = arena_alloc(c->a, klen);
            if (p == NULL)
                return nomem(c);
            memcpy(p, key, klen);
            m[i].name.p = p;
        }
        m[i].name.n = klen;
        rc = parse_av(c, v, &m[i].value, level);
        if (rc)
            return rc;
        i++;
    }
    out->u.m.n = i;
    out->u.m.v = m;
    return 0;
}

static int parse_list(struct jctx *c, const json_t *arr, struct av *out,
                      int level)
{
    size_t n, i;
    const json_t *e;
    struct av *v = NULL;
    int rc;

    if (!json_is_array(arr))
        return kind_list(c, arr);
    n = json_array_size(arr);
    if (n) {
        v = arena_alloc(c->a, n * sizeof *v);
        if (v == NULL)
            return nomem(c);
    }
    json_array_foreach(arr, i, e) {
        rc = parse_av(c, e, &v[i], level);
        if (rc)
            return rc;
    }
    out->type = AV_L;
    out->u.l.n = n;
    out->u.l.v = v;
    return 0;
}

/* The member `t` (not JSON null) of an AttributeValue at `level`. */
static int parse_typed(struct jctx *c, enum av_type t, const json_t *v,
                       struct av *out, int level)
{
    out->type = t;
    switch (t) {
    case AV_S:
        if (!json_is_string(v))
            return kind_scalar(c, v, "String");
        return copy_str(c, v, &out->u.s);
    case AV_N:
        if (!json_is_string(v))
            return kind_scalar(c, v, "String");
        parse_number(c, v, &out->u.n);
        return 0;
    case AV_B:
        if (!json_is_string(v))
            return kind_scalar(c, v, "Blob");
        return decode_b64(c, v, &out->u.s);
    case AV_BOOL:
        if (!json_is_boolean(v))
            return kind_scalar(c, v, "Boolean");
        out->u.b = json_is_true(v);
        return 0;
    case AV_NULL:
        if (!json_is_boolean(v))
            return kind_scalar(c, v, "Boolean");
        if (!json_is_true(v))
            verr(c, MSG_INVALID "Null attribute value types must have the "
                                "value of true");
        return 0;
    case AV_M:
        if (!json_is_object(v))
            return kind_object(c, v, 1);
        return parse_map_members(c, v, out, level + 1);
    case AV_L:
        return parse_list(c, v, out, level + 1);
    case AV_SS:
    case AV_NS:
    case AV_BS:
        return parse_set(c, t, v, out);
    }
    return serr(c, "Unexpected value type in payload");
}

/* One AttributeValue object `j` (or JSON null) at nesting `level`. */
static int parse_av(struct jctx *c, const json_t *j, struct av *out,
                    int level)
{
    const char *key;
    size_t klen;
    json_t *v;
    struct av scratch;
    int count = 0, rc;

    out->type = AV_NULL;
    if (level > ITEM_MAX_DEPTH) {
        verr(c, "Nesting Levels have exceeded supported limits: Attributes "
                "in the item have nested levels beyond supported limit");
        if (level > HARD_DEPTH)
            return c->vcode;
    }
    if (json_is_null(j)) {
        verr(c, "Supplied AttributeValue is empty, must contain exactly one "
                "of the supported datatypes");
        return 0;
    }
    if (!json_is_object(j))
        return kind_object(c, j, 0);
    json_object_keylen_foreach((json_t *)j, key, klen, v) {
        enum av_type t;
        if (json_is_null(v))
            continue;
        t = av_type_parse(key, klen);
        if (t == 0)
            continue;
        /* The first type fills `out`; further ones are still parsed, for
         * their serialization errors, into a scratch value. */
        rc = parse_typed(c, t, v, count ? &scratch : out, level);
        if (rc)
            return rc;
        count++;
    }
    if (count == 0)
        verr(c, "Supplied AttributeValue is empty, must contain exactly one "
                "of the supported datatypes");
    else if (count > 1)
        verr(c, "Supplied AttributeValue has more than one datatypes set, "
                "must contain exactly one of the supported datatypes");
    return 0;
}

int av_from_json(struct arena *a, const json_t *val, struct av *out,
                 struct tm_error *err)
{
    struct jctx c = {a, err, 0};
    int rc;

    rc = parse_av(&c, val, out, 1);
    return rc ? rc : c.vcode;
}

int item_from_json(struct arena *a, const json_t *obj, struct av *out,
                   struct tm_error *err)
{
    struct jctx c = {a, err, 0};
    int rc;

    if (!json_is_object(obj))
        return kind_object(&c, obj, 1);
    rc = parse_map_members(&c, obj, out, 1);
    return rc ? rc : c.vcode;
}

/* ---- writing ----------------------------------------------------------- */

#define PUT(expr)                                                             \
    do {                                                                      \
        int rc_ = (expr);                                                     \
        if (rc_)                                                              \
            return rc_;                                                       \
    } while (0)

static int put_b64_str(struct buf *out, const struct av_bytes *b)
{
    PUT(buf_putc(out, '"'));
    PUT(base64_encode(out, b->p, b->n));
    return buf_putc(out, '"');
}

static int put_num_str(struct buf *out, const struct dec *d)
{
    char s[DEC_STR_MAX];
    size_t n = dec_format(d, s, sizeof s);

    PUT(buf_putc(out, '"'));
    PUT(buf_append(out, s, n));
    return buf_putc(out, '"');
}

static int write_members(const struct av *m, struct buf *out);

int av_write_json(const struct av *v, struct buf *out)
{
    size_t i;

    switch (v->type) {
    case AV_S:
        PUT(buf_append(out, "{\"S\":", 5));
        PUT(json_put_str(out, (const char *)v->u.s.p, v->u.s.n));
        break;
    case AV_N:
        PUT(buf_append(out, "{\"N\":", 5));
        PUT(put_num_str(out, &v->u.n));
        break;
    case AV_B:
        PUT(buf_append(out, "{\"B\":", 5));
        PUT(put_b64_str(out, &v->u.s));
        break;
    case AV_BOOL:
        if (v->u.b)
            PUT(buf_append(out, "{\"BOOL\":true", 12));
        else
            PUT(buf_append(out, "{\"BOOL\":false", 13));
        break;
    case AV_NULL:
        PUT(buf_append(out, "{\"NULL\":true", 12));
        break;
    case AV_M:
        PUT(buf_append(out, "{\"M\":", 5));
        PUT(write_members(v, out));
        break;
    case AV_L:
        PUT(buf_append(out, "{\"L\":[", 6));
        for (i = 0; i < v->u.l.n; i++) {
            if (i)
                PUT(buf_putc(out, ','));
            PUT(av_write_json(&v->u.l.v[i], out));
        }
        PUT(buf_putc(out, ']'));
        break;
    case AV_SS:
    case AV_BS:
        PUT(buf_append(out, v->type == AV_SS ? "{\"SS\":[" : "{\"BS\":[", 7));
        for (i = 0; i < v->u.ss.n; i++) {
            if (i)
                PUT(buf_putc(out, ','));
            if (v->type == AV_SS)
                PUT(json_put_str(out, (const char *)v->u.ss.v[i].p,
                                 v->u.ss.v[i].n));
            else
                PUT(put_b64_str(out, &v->u.ss.v[i]));
        }
        PUT(buf_putc(out, ']'));
        break;
    case AV_NS:
        PUT(buf_append(out, "{\"NS\":[", 7));
        for (i = 0; i < v->u.ns.n; i++) {
            if (i)
                PUT(buf_putc(out, ','));
            PUT(put_num_str(out, &v->u.ns.v[i]));
        }
        PUT(buf_putc(out, ']'));
        break;
    default:
        return TM_EINTERNAL;
    }
    return buf_putc(out, '}');
}

static int write_members(const struct av *m, struct buf *out)
{
    size_t i;

    PUT(buf_putc(out, '{'));
    for (i = 0; i < m->u.m.n; i++) {
        const struct av_member *e = &m->u.m.v[i];
        if (i)
            PUT(buf_putc(out, ','));
        PUT(json_put_str(out, (const char *)e->name.p, e->name.n));
        PUT(buf_putc(out, ':'));
        PUT(av_write_json(&e->value, out));
    }
    return buf_putc(out, '}');
}

int item_write_json(const struct av *item, struct buf *out)
{
    if (item->type != AV_M)
        return TM_EINTERNAL;
    return write_members(item, out);
}
