/*
 * api_item.c - PutItem, GetItem, DeleteItem, and the pieces every item
 * operation shares: validated item writes (struct item_write), key
 * parsing, projections, capacity units.
 *
 * Request path: parse and validate on the HTTP thread (JSON -> item tree ->
 * binary encoding and row key); writes then run on the writer thread as
 * conditional writes (api_update.c: read the old item, check the
 * ConditionExpression, write), and the response is formatted back on the
 * HTTP thread.  GetItem never touches the writer: it reads an LMDB
 * snapshot.
 */
#include "api/api_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/jsonw.h"
#include "expr/expr.h"
#include "index/index.h"

/* ---- shared pieces ----------------------------------------------------- */

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

int item_write_put(struct api_req *r, struct table *t, json_t *itemj,
                   struct item_write *w)
{
    struct av item;
    struct av *kept;
    int rc;

    memset(w, 0, sizeof *w);
    buf_init(&w->key, 8192);
    buf_init(&w->item, (size_t)ITEM_MAX_BYTES * 4);
    w->t = t;
    rc = item_from_json(r->arena, itemj, &item, &r->err);
    if (rc == 0)
        rc = key_from_item(&t->ks, &item, &w->key, &r->err);
    if (rc == 0)
        rc = index_check_item(t, &item, &r->err);
    if (rc == 0) {
        kept = arena_memdup(r->arena, &item, sizeof item);
        if (kept == NULL)
            rc = tm_error_set(&r->err, TM_ENOMEM, "out of memory");
        w->av = kept;
    }
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

int item_write_apply(struct engine_wtx *wtx, const struct item_write *w,
                     struct arena *a)
{
    if (w->is_delete)
        return index_delete_item(wtx, w->t, w->key.data, w->key.len, 0, a);
    return index_put_item(wtx, w->t, w->key.data, w->key.len, w->av,
                          w->item.data, w->item.len, w->size, a);
}

/* ---- projections --------------------------------------------------------- */

int api_projection(struct api_req *r, json_t *obj, struct expr_proj **out)
{
    const char *text;
    size_t len;
    json_t *atg, *names, *values, *made = NULL;
    struct expr_ctx *ec;
    struct buf b;
    int rc;

    *out = NULL;
    if ((rc = req_string(r, obj, "ProjectionExpression", &text, &len)) ||
        (rc = req_array(r, obj, "AttributesToGet", &atg)) ||
        (rc = req_object(r, obj, "ExpressionAttributeNames", &names)) ||
        (rc = req_object(r, obj, "ExpressionAttributeValues", &values)))
        return rc;
    if (atg && (text || names))
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "Can not use both expression and non-expression "
                            "parameters in the same request: Non-expression "
                            "parameters: {AttributesToGet} Expression "
                            "parameters: {%s}",
                            text ? "ProjectionExpression"
                                 : "ExpressionAttributeNames");
    if (text == NULL && atg == NULL) {
        if (names && json_object_size(names) > 0)
            return tm_error_set(&r->err, TM_EVALIDATION,
                                "ExpressionAttributeNames can only be "
                                "specified when using expressions");
    }
    if (values && json_object_size(values) > 0)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "ExpressionAttributeValues can only be specified "
                            "when using expressions: ProjectionExpression "
                            "can not use ExpressionAttributeValues");
    buf_init(&b, 1 << 20);
    if (atg) {
        /* legacy AttributesToGet: the same projection, by placeholders */
        size_t i;
        json_t *el;
        made = json_object();
        if (made == NULL) {
            rc = tm_error_set(&r->err, TM_ENOMEM, "out of memory");
            goto out;
        }
        json_array_foreach(atg, i, el) {
            char ph[32];
            if (!json_is_string(el)) {
                rc = tm_error_set(&r->err, TM_ESERIALIZATION,
                                  "Unexpected value type in payload");
                goto out;
            }
            /* repeated names are allowed and mean one attribute */
            int seen = 0;
            for (size_t k = 0; k < i; k++)
                seen |= json_equal(json_array_get(atg, k), el);
            if (seen)
                continue;
            snprintf(ph, sizeof ph, "#a%zu", i);
            json_object_set(made, ph, el);
            buf_printf(&b, "%s%s", b.len ? "," : "", ph);
        }
        names = made;
        text = (const char *)b.data;
        len = b.len;
    }
    if ((rc = expr_ctx_init(&ec, r->arena, names, NULL, &r->err)))
        goto out;
    if (text && len && (rc = expr_parse_projection(ec, text, len, out,
                                                   &r->err)))
        goto out;
    rc = expr_ctx_finish(ec, &r->err);
out:
    buf_free(&b);
    json_decref(made);
    return rc;
}

int api_project(struct api_req *r, const struct expr_proj *p, struct av *item)
{
    struct av out;

    if (p == NULL)
        return 0;
    if (expr_project(p, item, r->arena, &out) != 0)
        return tm_error_set(&r->err, TM_ENOMEM, "out of memory");
    *item = out;
    return 0;
}

/* ---- PutItem and DeleteItem ---------------------------------------------- */

struct write_state {
    struct cwrite c;
};

static int write_apply(struct engine_wtx *w, void *arg, struct tm_error *err)
{
    struct api_req *r = arg;
    struct write_state *s = r->state;
    return cwrite_apply(w, r, &s->c, err);
}

static int write_finish(struct api_req *r)
{
    struct write_state *s = r->state;

    return cwrite_finish(r, &s->c,
                         write_units(s->c.w.is_delete ? 1024 : s->c.w.size));
}

/* PutItem and DeleteItem differ in their payload member only. */
static int put_or_delete(struct api_req *r, int is_delete)
{
    struct verrs v;
    const char *name, *rv, *rvf;
    json_t *payload;
    struct write_state *s;
    struct table *t;
    int rc;

    verrs_init(&v);
    if ((rc = req_object(r, r->body, is_delete ? "Key" : "Item", &payload)) ||
        (rc = req_string(r, r->body, "TableName", &name, NULL)) ||
        (rc = req_string(r, r->body, "ReturnValues", &rv, NULL)) ||
        (rc = req_string(r, r->body, "ReturnValuesOnConditionCheckFailure",
                         &rvf, NULL))) {
        buf_free(&v.msg);
        return rc;
    }
    if (payload == NULL)
        verrs_add(&v, "null", is_delete ? "key" : "item",
                  "Member must not be null");
    if (name == NULL || strncmp(name, "arn:", 4) != 0)
        check_table_name(&v, name, "tableName");
    /* enum values: checked against the model (model.c), but the 2022
     * model does not know ReturnValuesOnConditionCheckFailure here */
    if (rvf && strcmp(rvf, "NONE") && strcmp(rvf, "ALL_OLD")) {
        char *shown = arena_printf(r->arena, "'%s'", rvf);
        verrs_add(&v, shown ? shown : "''",
                  "returnValuesOnConditionCheckFailure",
                  "Member must satisfy enum value set: [ALL_OLD, NONE]");
    }
    if ((rc = verrs_finish(&v, r)))
        return rc;
    if (strncmp(name, "arn:", 4) == 0 && strstr(name, ":table/"))
        name = strstr(name, ":table/") + 7;
    if (rv && strcmp(rv, "NONE") != 0 && strcmp(rv, "ALL_OLD") != 0 &&
        (is_delete || strcmp(rv, "ALL_NEW") == 0 ||
         strcmp(rv, "UPDATED_OLD") == 0 || strcmp(rv, "UPDATED_NEW") == 0))
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "ReturnValues can only be ALL_OLD or NONE");
    s = arena_calloc(r->arena, 1, sizeof *s);
    if (s == NULL)
        return tm_error_set(&r->err, TM_ENOMEM, "out of memory");
    s->c.rv = rv && strcmp(rv, "ALL_OLD") == 0 ? 1 : 0;
    s->c.rv_fail_all_old = rvf && strcmp(rvf, "ALL_OLD") == 0;
    if ((rc = cwrite_parse(r, r->body, &s->c, NULL, 0)) ||
        (rc = api_table_for_items(r, name, &t)))
        return rc;
    rc = is_delete ? item_write_delete(r, t, payload, &s->c.w)
                   : item_write_put(r, t, payload, &s->c.w);
    if (rc)
        return rc;
    r->state = s;
    r->op.apply = write_apply;
    r->op.arg = r;
    r->finish = write_finish;
    return API_PENDING;
}

int api_put_item(struct api_req *r) { return put_or_delete(r, 0); }

int api_delete_item(struct api_req *r) { return put_or_delete(r, 1); }

/* ---- GetItem ----------------------------------------------------------- */

int api_get_item(struct api_req *r)
{
    struct verrs v;
    const char *name;
    json_t *keyj;
    struct table *t;
    struct buf key;
    struct expr_proj *proj;
    struct engine_rtx *rtx = NULL;
    const uint8_t *p = NULL;
    size_t n = 0;
    int rc, found, consistent = 0, has_cr;
    struct av item;

    verrs_init(&v);
    if ((rc = req_object(r, r->body, "Key", &keyj)) ||
        (rc = req_string(r, r->body, "TableName", &name, NULL)) ||
        (rc = req_bool(r, r->body, "ConsistentRead", &consistent, &has_cr))) {
        buf_free(&v.msg);
        return rc;
    }
    if (keyj == NULL)
        verrs_add(&v, "null", "key", "Member must not be null");
    if (name == NULL || strncmp(name, "arn:", 4) != 0)
        check_table_name(&v, name, "tableName");
    check_return_consumed(r, &v);
    if ((rc = verrs_finish(&v, r)))
        return rc;
    if (strncmp(name, "arn:", 4) == 0 && strstr(name, ":table/"))
        name = strstr(name, ":table/") + 7;
    if ((rc = api_projection(r, r->body, &proj)))
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
        if ((rc = api_project(r, proj, &item)))
            goto out;
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
        rc = tm_error_set(&r->err, TM_ENOMEM, "out of memory");
out:
    engine_read_end(rtx);
    buf_free(&key);
    return rc;
}
