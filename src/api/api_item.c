/*
 * api_item.c - PutItem, GetItem, DeleteItem.
 *
 * Request path: parse and validate on the HTTP thread (JSON -> item tree ->
 * binary encoding and row key); writes then run on the writer thread
 * (apply: read the old row if ReturnValues asks for it, write or delete),
 * and the response is formatted back on the HTTP thread (finish).  GetItem
 * never touches the writer: it reads an LMDB snapshot.
 *
 * Not yet here (they come with the expression language): condition
 * expressions and nested document paths in ProjectionExpression.  Requests
 * that use them get a ValidationException saying so, never a silent
 * unconditional write.
 */
#include "api/api_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/jsonw.h"

/* ---- shared pieces ----------------------------------------------------- */

static int check_expression_maps_in(struct api_req *r, json_t *obj,
                                    int has_expression);

static int check_expression_maps(struct api_req *r, int has_expression)
{
    return check_expression_maps_in(r, r->body, has_expression);
}

static int check_return_values(struct api_req *r, struct verrs *v,
                               const char **out)
{
    static const char *const all[] = {"NONE", "ALL_OLD", "UPDATED_OLD",
                                      "ALL_NEW", "UPDATED_NEW", NULL};
    int rc = req_string(r, r->body, "ReturnValues", out, NULL);

    if (rc || *out == NULL)
        return rc;
    for (const char *const *a = all; *a; a++)
        if (strcmp(*a, *out) == 0)
            return 0;
    {
        char shown[80];
        snprintf(shown, sizeof shown, "'%.60s'", *out);
        verrs_add(v, shown, "returnValues",
                  "Member must satisfy enum value set: [ALL_NEW, "
                  "UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]");
    }
    return 0;
}

/* Conditions arrive with the expression language; refuse them plainly. */
static int refuse_conditions(struct api_req *r)
{
    static const char *const fields[] = {"ConditionExpression", "Expected",
                                         "ConditionalOperator", NULL};
    for (const char *const *f = fields; *f; f++) {
        json_t *j = json_object_get(r->body, *f);
        if (j && !json_is_null(j))
            return tm_error_set(&r->err, TM_EVALIDATION,
                                "%s is not supported by this version of "
                                "Tidemark",
                                *f);
    }
    return 0;
}

/* ExpressionAttributeNames/Values need an expression that uses them. */
static int check_expression_maps_in(struct api_req *r, json_t *obj,
                                    int has_expression)
{
    json_t *names = json_object_get(obj, "ExpressionAttributeNames");
    json_t *values = json_object_get(obj, "ExpressionAttributeValues");

    if (names && !json_is_null(names) && !json_is_object(names))
        return tm_error_set(&r->err, TM_ESERIALIZATION,
                            "Unexpected value type in payload");
    if (values && !json_is_null(values) && !json_is_object(values))
        return tm_error_set(&r->err, TM_ESERIALIZATION,
                            "Unexpected value type in payload");
    if (!has_expression && names && json_object_size(names) > 0)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "ExpressionAttributeNames can only be specified "
                            "when using expressions");
    if (!has_expression && values && json_object_size(values) > 0)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "ExpressionAttributeValues can only be specified "
                            "when using expressions");
    if (values && json_object_size(values) > 0)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "Value provided in ExpressionAttributeValues "
                            "unused in expressions: keys: {%s}",
                            json_object_iter_key(json_object_iter(values)));
    return 0;
}

double write_units(size_t size)
{
    double u = ceil((double)size / 1024.0);
    return u < 1 ? 1 : u;
}

double read_units(size_t size, int consistent)
{
    double u = ceil((double)size / 4096.0);
    if (u < 1)
        u = 1;
    return consistent ? u : u / 2;
}

/* Parse the Key member into a row key. */
int key_arg(struct api_req *r, const struct table *t, json_t *keyj,
            struct buf *key)
{
    struct av keymap;
    int rc = item_from_json(r->arena, keyj, &keymap, &r->err);

    if (rc)
        return rc;
    return key_from_keymap(&t->ks, &keymap, key, &r->err);
}

/* Common first part of every item operation: TableName and shape checks
 * (the caller adds its own to `v` first). */
static int table_and_finish_shape(struct api_req *r, struct verrs *v,
                                  const char **name)
{
    int rc = req_string(r, r->body, "TableName", name, NULL);

    if (rc) {
        buf_free(&v->msg);
        return rc;
    }
    if (*name == NULL || strncmp(*name, "arn:", 4) != 0)
        check_table_name(v, *name, "tableName");
    check_return_consumed(r, v);
    rc = verrs_finish(v, r);
    if (rc == 0 && *name && strncmp(*name, "arn:", 4) == 0) {
        const char *p = strstr(*name, ":table/");
        if (p)
            *name = p + 7;
    }
    return rc;
}

/* Copy a borrowed old row into the arena and decode it. */
static int keep_old(struct api_req *r, const uint8_t *p, size_t n,
                    struct av **out)
{
    uint8_t *copy = arena_memdup(r->arena, p, n);
    struct av *v = arena_alloc(r->arena, sizeof *v);

    if (copy == NULL || v == NULL)
        return TM_ENOMEM;
    if (item_decode(r->arena, copy, n, v) != 0)
        return TM_ECORRUPT;
    *out = v;
    return 0;
}

/* ---- PutItem ----------------------------------------------------------- */

struct write_state {
    struct table *t;
    struct item_write w;
    int want_old;
    struct av *old;      /* set by apply when want_old and present */
};

static int put_apply(struct engine_wtx *w, void *arg, struct tm_error *err)
{
    struct api_req *r = arg;
    struct write_state *s = r->state;
    const uint8_t *p;
    size_t n;
    int rc;

    if (s->want_old) {
        rc = engine_wtx_get(w, s->t->no, s->w.key.data, s->w.key.len, &p, &n);
        if (rc < 0)
            return tm_error_set(err, rc, "reading the old item failed");
        if (rc == 1 && (rc = keep_old(r, p, n, &s->old)) != 0)
            return tm_error_set(err, rc, "decoding the old item failed");
    }
    rc = item_write_apply(w, &s->w);
    return rc < 0 ? tm_error_set(err, rc, "writing the item failed") : 0;
}

static int write_finish(struct api_req *r)
{
    struct write_state *s = r->state;
    int rc = 0;

    item_write_free(&s->w);
    if (r->op.rc < 0)
        return r->op.rc;
    rc |= buf_putc(&r->out, '{');
    if (s->old) {
        rc |= json_put_raw(&r->out, "\"Attributes\":");
        rc |= item_write_json(s->old, &r->out);
    }
    {
        size_t before = r->out.len;
        rc |= write_consumed(r, s->t->name,
                             write_units(s->w.is_delete ? 1024 : s->w.size),
                             &r->out);
        /* write_consumed starts with a comma: drop it when first */
        if (!s->old && r->out.len > before) {
            memmove(r->out.data + before, r->out.data + before + 1,
                    r->out.len - before - 1);
            r->out.len--;
        }
    }
    rc |= buf_putc(&r->out, '}');
    return rc ? TM_ENOMEM : 0;
}

static int start_write(struct api_req *r, struct write_state *s,
                       int (*apply)(struct engine_wtx *, void *,
                                    struct tm_error *))
{
    r->state = s;
    r->op.apply = apply;
    r->op.arg = r;
    r->finish = write_finish;
    return API_PENDING;
}

int item_write_put(struct api_req *r, struct table *t, json_t *itemj,
                   struct item_write *w)
{
    struct av item;
    int rc;

    memset(w, 0, sizeof *w);
    buf_init(&w->key, 8192);
    buf_init(&w->item, (size_t)ITEM_MAX_BYTES * 4);
    w->t = t;
    rc = item_from_json(r->arena, itemj, &item, &r->err);
    if (rc == 0)
        rc = key_from_item(&t->ks, &item, &w->key, &r->err);
    if (rc == 0) {
        w->size = item_size(&item);
        if (w->size > ITEM_MAX_BYTES)
            rc = tm_error_set(&r->err, TM_EVALIDATION,
                              "Item size has exceeded the maximum allowed "
                              "size");
    }
    if (rc == 0 && (rc = item_encode(&item, &w->item)) != 0)
        rc = tm_error_set(&r->err, rc, "encoding the item failed");
    if (rc)
        item_write_free(w);
    return rc;
}

int item_write_delete(struct api_req *r, struct table *t, json_t *keyj,
                      struct item_write *w)
{
    int rc;

    memset(w, 0, sizeof *w);
    buf_init(&w->key, 8192);
    buf_init(&w->item, 0);
    w->t = t;
    w->is_delete = 1;
    rc = key_arg(r, t, keyj, &w->key);
    if (rc)
        item_write_free(w);
    return rc;
}

void item_write_free(struct item_write *w)
{
    buf_free(&w->key);
    buf_free(&w->item);
}

int item_write_apply(struct engine_wtx *wtx, const struct item_write *w)
{
    if (w->is_delete)
        return engine_wtx_delete(wtx, w->t, w->key.data, w->key.len);
    return engine_wtx_put(wtx, w->t, w->key.data, w->key.len, w->item.data,
                          w->item.len, w->size);
}

int api_put_item(struct api_req *r)
{
    struct verrs v;
    const char *name, *rv;
    json_t *itemj;
    struct write_state *s;
    int rc;

    verrs_init(&v);
    if ((rc = req_object(r, r->body, "Item", &itemj)) ||
        (rc = check_return_values(r, &v, &rv))) {
        buf_free(&v.msg);
        return rc;
    }
    if (itemj == NULL)
        verrs_add(&v, "null", "item", "Member must not be null");
    if ((rc = table_and_finish_shape(r, &v, &name)))
        return rc;
    if ((rc = refuse_conditions(r)) || (rc = check_expression_maps(r, 0)))
        return rc;
    if (rv && strcmp(rv, "NONE") != 0 && strcmp(rv, "ALL_OLD") != 0)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "ReturnValues can only be ALL_OLD or NONE");
    s = arena_calloc(r->arena, 1, sizeof *s);
    if (s == NULL)
        return tm_error_set(&r->err, TM_ENOMEM, "out of memory");
    if ((rc = api_table_for_items(r, name, &s->t)) ||
        (rc = item_write_put(r, s->t, itemj, &s->w)))
        return rc;
    s->want_old = rv && strcmp(rv, "ALL_OLD") == 0;
    return start_write(r, s, put_apply);
}

/* ---- DeleteItem -------------------------------------------------------- */

static int delete_apply(struct engine_wtx *w, void *arg, struct tm_error *err)
{
    struct api_req *r = arg;
    struct write_state *s = r->state;
    const uint8_t *p;
    size_t n;
    int rc;

    if (s->want_old) {
        rc = engine_wtx_get(w, s->t->no, s->w.key.data, s->w.key.len, &p, &n);
        if (rc < 0)
            return tm_error_set(err, rc, "reading the old item failed");
        if (rc == 1 && (rc = keep_old(r, p, n, &s->old)) != 0)
            return tm_error_set(err, rc, "decoding the old item failed");
    }
    rc = item_write_apply(w, &s->w);
    return rc < 0 ? tm_error_set(err, rc, "deleting the item failed") : 0;
}

int api_delete_item(struct api_req *r)
{
    struct verrs v;
    const char *name, *rv;
    json_t *keyj;
    struct write_state *s;
    int rc;

    verrs_init(&v);
    if ((rc = req_object(r, r->body, "Key", &keyj)) ||
        (rc = check_return_values(r, &v, &rv))) {
        buf_free(&v.msg);
        return rc;
    }
    if (keyj == NULL)
        verrs_add(&v, "null", "key", "Member must not be null");
    if ((rc = table_and_finish_shape(r, &v, &name)))
        return rc;
    if ((rc = refuse_conditions(r)) || (rc = check_expression_maps(r, 0)))
        return rc;
    if (rv && strcmp(rv, "NONE") != 0 && strcmp(rv, "ALL_OLD") != 0)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "ReturnValues can only be ALL_OLD or NONE");
    s = arena_calloc(r->arena, 1, sizeof *s);
    if (s == NULL)
        return tm_error_set(&r->err, TM_ENOMEM, "out of memory");
    if ((rc = api_table_for_items(r, name, &s->t)) ||
        (rc = item_write_delete(r, s->t, keyj, &s->w)))
        return rc;
    s->want_old = rv && strcmp(rv, "ALL_OLD") == 0;
    return start_write(r, s, delete_apply);
}

/* ---- GetItem ----------------------------------------------------------- */

static int add_name(struct api_req *r, struct projection *pj, const char *p,
                    size_t n)
{
    for (size_t i = 0; i < pj->n; i++)
        if (pj->names[i].n == n && memcmp(pj->names[i].p, p, n) == 0)
            return 0; /* repeated paths are allowed when identical */
    pj->names[pj->n].p = (const uint8_t *)p;
    pj->names[pj->n].n = n;
    pj->n++;
    return 0;
}

int parse_projection(struct api_req *r, json_t *obj, struct projection *pj)
{
    const char *expr;
    json_t *names = json_object_get(obj, "ExpressionAttributeNames");
    json_t *atg;
    size_t len, i = 0, cap;
    int rc;

    pj->n = 0;
    pj->names = NULL;
    if ((rc = req_string(r, obj, "ProjectionExpression", &expr, &len)) ||
        (rc = req_array(r, obj, "AttributesToGet", &atg)))
        return rc;
    if (expr && atg)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "Can not use both expression and non-expression "
                            "parameters in the same request: Non-expression "
                            "parameters: {AttributesToGet} Expression "
                            "parameters: {ProjectionExpression}");
    if (atg) {
        json_t *el;
        pj->names = arena_calloc(r->arena, json_array_size(atg) + 1,
                                 sizeof *pj->names);
        if (pj->names == NULL)
            return TM_ENOMEM;
        json_array_foreach(atg, i, el) {
            if (!json_is_string(el))
                return tm_error_set(&r->err, TM_ESERIALIZATION,
                                    "Unexpected value type in payload");
            add_name(r, pj, json_string_value(el), json_string_length(el));
        }
        return check_expression_maps_in(r, obj, 0);
    }
    if ((rc = check_expression_maps_in(r, obj, expr != NULL)))
        return rc;
    if (expr == NULL)
        return 0;
    cap = 1;
    for (size_t k = 0; k < len; k++)
        cap += expr[k] == ',';
    pj->names = arena_calloc(r->arena, cap + 1, sizeof *pj->names);
    if (pj->names == NULL)
        return TM_ENOMEM;
    /* Track which names were used, to report unused ones as DynamoDB. */
    {
        size_t nnames = names ? json_object_size(names) : 0;
        const char **used = arena_calloc(r->arena, nnames + 1,
                                         sizeof *used);
        size_t nused = 0;
        if (used == NULL)
            return TM_ENOMEM;
        while (i <= len) {
            size_t s = i, e;
            while (i < len && expr[i] != ',')
                i++;
            e = i;
            while (s < e && (expr[s] == ' ' || expr[s] == '\t' ||
                             expr[s] == '\n'))
                s++;
            while (e > s && (expr[e - 1] == ' ' || expr[e - 1] == '\t' ||
                             expr[e - 1] == '\n'))
                e--;
            if (s == e)
                return tm_error_set(&r->err, TM_EVALIDATION,
                                    "Invalid ProjectionExpression: Syntax "
                                    "error; token: \",\", near: \"%.*s\"",
                                    (int)(len > 40 ? 40 : len), expr);
            for (size_t k = s; k < e; k++)
                if (expr[k] == '.' || expr[k] == '[' || expr[k] == ' ')
                    return tm_error_set(&r->err, TM_EVALIDATION,
                                        "Invalid ProjectionExpression: nested "
                                        "document paths are not supported by"
                                        " this version of Tidemark");
            if (expr[s] == '#') {
                char *ph = arena_strndup(r->arena, expr + s, e - s);
                json_t *nm = names ? json_object_get(names, ph) : NULL;
                if (ph == NULL)
                    return TM_ENOMEM;
                if (nm == NULL)
                    return tm_error_set(&r->err, TM_EVALIDATION,
                                        "Invalid ProjectionExpression: An "
                                        "expression attribute name used in "
                                        "the document path is not defined; "
                                        "attribute name: %s",
                                        ph);
                if (!json_is_string(nm))
                    return tm_error_set(&r->err, TM_ESERIALIZATION,
                                        "Unexpected value type in payload");
                add_name(r, pj, json_string_value(nm),
                         json_string_length(nm));
                used[nused++] = ph;
            } else {
                add_name(r, pj, expr + s, e - s);
            }
            i++;
        }
        if (names) {
            const char *k;
            json_t *val;
            json_object_foreach(names, k, val) {
                int found = 0;
                for (size_t u = 0; u < nused; u++)
                    found |= strcmp(used[u], k) == 0;
                if (!found)
                    return tm_error_set(&r->err, TM_EVALIDATION,
                                        "Value provided in "
                                        "ExpressionAttributeNames unused in "
                                        "expressions: keys: {%s}",
                                        k);
            }
        }
    }
    return 0;
}

/* The item restricted to the projection's names. */
void project(const struct projection *pj, struct av *item, struct arena *a)
{
    struct av_member *m;
    size_t k = 0;

    if (pj->names == NULL)
        return;
    m = arena_calloc(a, item->u.m.n + 1, sizeof *m);
    if (m == NULL)
        return;
    for (size_t i = 0; i < item->u.m.n; i++)
        for (size_t j = 0; j < pj->n; j++)
            if (item->u.m.v[i].name.n == pj->names[j].n &&
                memcmp(item->u.m.v[i].name.p, pj->names[j].p,
                       pj->names[j].n) == 0) {
                m[k++] = item->u.m.v[i];
                break;
            }
    item->u.m.v = m;
    item->u.m.n = k;
}

int api_get_item(struct api_req *r)
{
    struct verrs v;
    const char *name;
    json_t *keyj;
    struct table *t;
    struct buf key;
    struct projection pj;
    struct engine_rtx *rtx = NULL;
    const uint8_t *p = NULL;
    size_t n = 0;
    int rc, found, consistent = 0, has_cr;
    struct av item;

    verrs_init(&v);
    if ((rc = req_object(r, r->body, "Key", &keyj)) ||
        (rc = req_bool(r, r->body, "ConsistentRead", &consistent, &has_cr))) {
        buf_free(&v.msg);
        return rc;
    }
    if (keyj == NULL)
        verrs_add(&v, "null", "key", "Member must not be null");
    if ((rc = table_and_finish_shape(r, &v, &name)))
        return rc;
    if ((rc = parse_projection(r, r->body, &pj)))
        return rc;
    if ((rc = api_table_for_items(r, name, &t)))
        return rc;
    buf_init(&key, 8192);
    if ((rc = key_arg(r, t, keyj, &key)))
        goto out;
    rc = engine_read_begin(r->ctx->engine, &rtx);
    if (rc) {
        rc = tm_error_set(&r->err, rc, "could not open a read snapshot");
        goto out;
    }
    found = engine_get(rtx, t->no, key.data, key.len, &p, &n);
    if (found < 0) {
        rc = tm_error_set(&r->err, found, "reading the item failed");
        goto out;
    }
    rc = buf_putc(&r->out, '{');
    if (rc == 0 && found) {
        if (item_decode(r->arena, p, n, &item) != 0) {
            rc = tm_error_set(&r->err, TM_ECORRUPT,
                              "the stored item cannot be decoded");
            goto out;
        }
        project(&pj, &item, r->arena);
        rc |= json_put_raw(&r->out, "\"Item\":");
        rc |= item_write_json(&item, &r->out);
        rc |= write_consumed(r, t->name, read_units(n, consistent), &r->out);
    } else {
        size_t before = r->out.len;
        rc |= write_consumed(r, t->name, read_units(0, consistent), &r->out);
        if (r->out.len > before) {
            memmove(r->out.data + before, r->out.data + before + 1,
                    r->out.len - before - 1);
            r->out.len--;
        }
    }
    rc |= buf_putc(&r->out, '}');
    if (rc)
        rc = TM_ENOMEM;
out:
    engine_read_end(rtx);
    buf_free(&key);
    return rc;
}
