/*
 * api_update.c - UpdateItem, and the conditional write shared by PutItem,
 * DeleteItem and UpdateItem (ConditionExpression, ReturnValues,
 * ReturnValuesOnConditionCheckFailure).
 *
 * Conditions and updates are evaluated on the writer thread, against the
 * item as every earlier write left it, so "check then write" is atomic and
 * ordered exactly as the log.  The request's parsed expressions (in its
 * arena) are read there while the request waits suspended.
 *
 *   apply:  old = current item (decoded into the arena)
 *           condition false -> ConditionalCheckFailedException (with the
 *                              old item when ReturnValuesOnConditionCheck-
 *                              Failure is ALL_OLD), nothing written
 *           UpdateItem: new = expr_update_apply(old or key) -> size check
 *           write new (Put, Update) or delete (Delete)
 *   finish: ReturnValues from old/new (UPDATED_* through the update's
 *           paths)
 */
#include "api/api_int.h"

#include <stdio.h>
#include <string.h>

#include "base/jsonw.h"
#include "expr/expr.h"
#include "index/index.h"

enum rv { RV_NONE, RV_ALL_OLD, RV_UPDATED_OLD, RV_ALL_NEW, RV_UPDATED_NEW };

static int parse_rv(struct api_req *r, struct verrs *v, enum rv *out)
{
    static const char *const names[] = {"NONE", "ALL_OLD", "UPDATED_OLD",
                                        "ALL_NEW", "UPDATED_NEW"};
    const char *s;
    int rc = req_string(r, r->body, "ReturnValues", &s, NULL);

    *out = RV_NONE;
    if (rc || s == NULL)
        return rc;
    for (int i = 0; i < 5; i++)
        if (strcmp(names[i], s) == 0) {
            *out = (enum rv)i;
            return 0;
        }
    (void)v; /* other values: reported by the model check */
    return 0;
}

static int parse_rv_fail(struct api_req *r, json_t *obj, struct verrs *v,
                         int *all_old)
{
    const char *s;
    int rc = req_string(r, obj, "ReturnValuesOnConditionCheckFailure", &s,
                        NULL);

    *all_old = 0;
    if (rc || s == NULL)
        return rc;
    *all_old = strcmp(s, "ALL_OLD") == 0;
    /* the 2022 model does not know this member on every operation */
    if (!*all_old && strcmp(s, "NONE") != 0) {
        char *shown = arena_printf(r->arena, "'%s'", s);
        verrs_add(v, shown ? shown : "''",
                  "returnValuesOnConditionCheckFailure",
                  "Member must satisfy enum value set: [ALL_OLD, NONE]");
    }
    return 0;
}

/* ---- the conditional write ---------------------------------------------- */

int cwrite_parse(struct api_req *r, json_t *obj, struct cwrite *c,
                 const char *update_text, size_t update_len)
{
    const char *cond;
    size_t cond_len;
    json_t *names, *values;
    int rc;

    if ((rc = req_string(r, obj, "ConditionExpression", &cond, &cond_len)) ||
        (rc = req_object(r, obj, "ExpressionAttributeNames", &names)) ||
        (rc = req_object(r, obj, "ExpressionAttributeValues", &values)))
        return rc;
    {
        json_t *legacy = json_object_get(obj, "Expected");
        if (legacy && !json_is_null(legacy))
            return tm_error_set(&r->err, TM_EVALIDATION,
                                "Expected is not supported by this version of"
                                " Tidemark; use ConditionExpression");
        legacy = json_object_get(obj, "AttributeUpdates");
        if (legacy && !json_is_null(legacy))
            return tm_error_set(&r->err, TM_EVALIDATION,
                                "AttributeUpdates is not supported by this "
                                "version of Tidemark; use UpdateExpression");
    }
    if (cond == NULL && update_text == NULL) {
        /* DDB: the maps need an expression that uses them */
        if (names && json_object_size(names) > 0)
            return tm_error_set(&r->err, TM_EVALIDATION,
                                "ExpressionAttributeNames can only be "
                                "specified when using expressions");
        if (values && json_object_size(values) > 0)
            return tm_error_set(&r->err, TM_EVALIDATION,
                                "ExpressionAttributeValues can only be "
                                "specified when using expressions");
    }
    if ((rc = expr_ctx_init(&c->ec, r->arena, names, values, &r->err)))
        return rc;
    if (cond && (rc = expr_parse_condition(c->ec, EXPR_CONDITION, cond,
                                           cond_len, &c->cond, &r->err)))
        return rc;
    if (update_text &&
        (rc = expr_parse_update(c->ec, update_text, update_len, &c->upd,
                                &r->err)))
        return rc;
    return expr_ctx_finish(c->ec, &r->err);
}

/* Old item (decoded into the arena) or NULL. */
static int read_old(struct engine_wtx *w, struct api_req *r,
                    const struct item_write *iw, struct av **old,
                    struct tm_error *err)
{
    const uint8_t *p;
    size_t n;
    uint8_t *copy;
    int rc = engine_wtx_get(w, iw->t->no, iw->key.data, iw->key.len, &p, &n);

    *old = NULL;
    if (rc < 0)
        return tm_error_set(err, rc, "reading the item failed");
    if (rc == 0)
        return 0;
    copy = arena_memdup(r->arena, p, n);
    *old = arena_alloc(r->arena, sizeof **old);
    if (copy == NULL || *old == NULL)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    if (item_decode(r->arena, copy, n, *old) != 0)
        return tm_error_set(err, TM_ECORRUPT,
                            "the stored item cannot be decoded");
    return 0;
}

/* Evaluate the condition; on failure fill err (and err_extra). */
int cwrite_check(struct api_req *r, struct cwrite *c, const struct av *old,
                 struct tm_error *err)
{
    int ok = 1, rc;

    if (c->cond == NULL)
        return 0;
    rc = expr_eval_condition(c->cond, old, &ok, err);
    if (rc)
        return rc;
    if (ok)
        return 0;
    if (c->rv_fail_all_old && old) {
        buf_reset(&r->err_extra);
        if (json_put_raw(&r->err_extra, ",\"Item\":") != 0 ||
            item_write_json(old, &r->err_extra) != 0)
            buf_reset(&r->err_extra);
    }
    return tm_error_set(err, TM_ECONDITION, "The conditional request failed");
}

int cwrite_prepare(struct engine_wtx *w, struct api_req *r, struct cwrite *c,
                   struct tm_error *err)
{
    int rc;

    if (c->cond || c->is_update || c->rv != RV_NONE || c->rv_fail_all_old) {
        if ((rc = read_old(w, r, &c->w, &c->old, err)))
            return rc;
    }
    if ((rc = cwrite_check(r, c, c->old, err)))
        return rc;
    if (c->is_update) {
        struct av *nw = arena_alloc(r->arena, sizeof *nw);
        if (nw == NULL)
            return tm_error_set(err, TM_ENOMEM, "out of memory");
        if (c->upd) {
            rc = expr_update_apply(c->upd, c->old, &c->keymap, &c->w.t->ks,
                                   r->arena, nw, err);
            if (rc)
                return rc;
        } else {
            /* no UpdateExpression: an existing item stays as it is, a
             * missing one is created with its key only */
            *nw = c->old ? *c->old : c->keymap;
        }
        /* DDB: an update that adds nothing (only REMOVE or DELETE) does not
         * create a missing item */
        if (c->old == NULL && c->upd && nw->u.m.n <= c->keymap.u.m.n) {
            c->skip_write = 1;
            return 0;
        }
        if ((rc = index_check_item(c->w.t, nw, err)))
            return rc;
        c->w.av = nw;
        c->w.size = item_size(nw);
        if (c->w.size > ITEM_MAX_BYTES)
            return tm_error_set(err, TM_EVALIDATION,
                                "Item size to update has exceeded the "
                                "maximum allowed size");
        buf_reset(&c->w.item);
        if ((rc = item_encode(nw, &c->w.item)))
            return tm_error_set(err, rc, "encoding the item failed");
        c->new_item = nw;
    }
    return 0;
}

int cwrite_apply(struct engine_wtx *w, struct api_req *r, struct cwrite *c,
                 struct tm_error *err)
{
    int rc = cwrite_prepare(w, r, c, err);

    if (rc || c->check_only || c->skip_write)
        return rc;
    rc = item_write_apply(w, &c->w, r->arena);
    return rc < 0 ? tm_error_set(err, rc, "writing the item failed") : 0;
}

/* Append `"Attributes":{...}` per ReturnValues (nothing when empty). */
int cwrite_write_return(struct api_req *r, struct cwrite *c, struct buf *o,
                        int *wrote)
{
    const struct av *src = NULL;
    struct av proj;
    int rc = 0;

    *wrote = 0;
    switch (c->rv) {
    case RV_NONE:
        return 0;
    case RV_ALL_OLD:
        src = c->old;
        break;
    case RV_ALL_NEW:
        src = c->new_item;
        break;
    case RV_UPDATED_OLD:
    case RV_UPDATED_NEW:
        src = c->rv == RV_UPDATED_OLD ? c->old : c->new_item;
        if (src == NULL || c->upd == NULL)
            return 0;
        rc = expr_project(expr_update_paths(c->upd), src, r->arena, &proj);
        if (rc)
            return rc;
        src = &proj;
        break;
    }
    if (src == NULL || src->u.m.n == 0)
        return 0;
    rc |= json_put_raw(o, "\"Attributes\":");
    rc |= item_write_json(src, o);
    *wrote = 1;
    return rc ? TM_ENOMEM : 0;
}

int cwrite_finish(struct api_req *r, struct cwrite *c, double units)
{
    int rc = 0, wrote = 0;
    size_t before;

    item_write_free(&c->w);
    if (r->op.rc < 0)
        return r->op.rc;
    rc |= buf_putc(&r->out, '{');
    rc |= cwrite_write_return(r, c, &r->out, &wrote);
    before = r->out.len;
    rc |= write_consumed(r, c->w.t->name, units, &r->out);
    /* write_consumed starts with a comma: drop it when first */
    if (!wrote && r->out.len > before) {
        memmove(r->out.data + before, r->out.data + before + 1,
                r->out.len - before - 1);
        r->out.len--;
    }
    rc |= buf_putc(&r->out, '}');
    return rc ? TM_ENOMEM : 0;
}

/* ---- UpdateItem --------------------------------------------------------- */

struct update_state {
    struct cwrite c;
};

static int update_apply(struct engine_wtx *w, void *arg, struct tm_error *err)
{
    struct api_req *r = arg;
    struct update_state *s = r->state;
    return cwrite_apply(w, r, &s->c, err);
}

static int update_finish(struct api_req *r)
{
    struct update_state *s = r->state;

    return cwrite_finish(r, &s->c, write_units(s->c.w.size));
}

int api_update_item(struct api_req *r)
{
    struct verrs v;
    const char *name, *upd;
    size_t upd_len;
    json_t *keyj;
    struct update_state *s;
    struct table *t;
    enum rv rv;
    int all_old, rc;

    verrs_init(&v);
    if ((rc = req_object(r, r->body, "Key", &keyj)) ||
        (rc = req_string(r, r->body, "TableName", &name, NULL)) ||
        (rc = req_string(r, r->body, "UpdateExpression", &upd, &upd_len)) ||
        (rc = parse_rv(r, &v, &rv)) ||
        (rc = parse_rv_fail(r, r->body, &v, &all_old))) {
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
    s = arena_calloc(r->arena, 1, sizeof *s);
    if (s == NULL)
        return tm_error_set(&r->err, TM_ENOMEM, "out of memory");
    s->c.rv = (int)rv;
    s->c.rv_fail_all_old = all_old;
    if ((rc = cwrite_parse(r, r->body, &s->c, upd, upd_len)) ||
        (rc = api_table_for_items(r, name, &t)))
        return rc;
    if ((rc = item_write_delete(r, t, keyj, &s->c.w)))
        return rc;
    s->c.w.is_delete = 0; /* an update writes the item */
    s->c.is_update = 1;
    buf_init(&s->c.w.item, (size_t)ITEM_MAX_BYTES * 4);
    if ((rc = item_from_json(r->arena, keyj, &s->c.keymap, &r->err))) {
        item_write_free(&s->c.w);
        return rc;
    }
    r->state = s;
    r->op.apply = update_apply;
    r->op.arg = r;
    r->finish = update_finish;
    return API_PENDING;
}
