/*
 * api_transact.c - TransactWriteItems and TransactGetItems.
 *
 * TransactWriteItems runs as ONE writer op, so it is all or nothing and
 * isolated from every other write by construction (the writer is the only
 * writer):
 *
 *   1. for every action, in request order: read the current item, evaluate
 *      its condition, and for Update compute the new item; each gives a
 *      cancellation reason (None, ConditionalCheckFailed, ValidationError);
 *   2. if any reason is not None: TransactionCanceledException with the
 *      reasons in request order, nothing written;
 *   3. else perform every write.  Their log records share the batch's
 *      group commit.
 *
 * ClientRequestToken makes the call idempotent for ten minutes, as on
 * DynamoDB: the same token with the same parameters answers as the first
 * call did without writing again; with other parameters it is
 * IdempotentParameterMismatchException; while the first call is still in
 * flight, TransactionInProgressException.  Tokens live in memory (struct
 * txn_tokens): a restart forgets them.
 *
 * TransactGetItems reads up to 100 items from one snapshot.
 */
#include "api/api_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/hash.h"
#include "base/jsonmem.h"
#include "base/jsonw.h"
#include "expr/expr.h"

#define TRANSACT_MAX 100
#define TOKEN_TTL_MS (10 * 60 * 1000)

/* ---- idempotency tokens -------------------------------------------------- */

struct token {
    char *token;
    uint64_t fingerprint;
    int64_t time_ms;
    int done;          /* 0: in flight */
    char *response;    /* when done */
    struct token *next;
};

struct txn_tokens {
    pthread_mutex_t lock;
    struct token *list;
};

struct txn_tokens *txn_tokens_create(void)
{
    struct txn_tokens *t = calloc(1, sizeof *t);
    if (t)
        pthread_mutex_init(&t->lock, NULL);
    return t;
}

static void token_free(struct token *k)
{
    free(k->token);
    free(k->response);
    free(k);
}

void txn_tokens_destroy(struct txn_tokens *t)
{
    if (t == NULL)
        return;
    while (t->list) {
        struct token *k = t->list;
        t->list = k->next;
        token_free(k);
    }
    pthread_mutex_destroy(&t->lock);
    free(t);
}

/* Under the lock: drop expired tokens, find `tok`. */
static struct token *token_find(struct txn_tokens *t, const char *tok,
                                int64_t now)
{
    struct token **pp = &t->list, *found = NULL;

    while (*pp) {
        struct token *k = *pp;
        if (k->done && now - k->time_ms > TOKEN_TTL_MS) {
            *pp = k->next;
            token_free(k);
            continue;
        }
        if (strcmp(k->token, tok) == 0)
            found = k;
        pp = &k->next;
    }
    return found;
}

static uint64_t fingerprint(json_t *body)
{
    json_t *copy = json_deep_copy(body);
    char *text;
    uint64_t h = 0;

    if (copy == NULL)
        return 0;
    json_object_del(copy, "ClientRequestToken");
    json_object_del(copy, "ReturnConsumedCapacity");
    text = jsonmem_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
    if (text)
        h = hash64(text, strlen(text));
    free(text);
    json_decref(copy);
    return h;
}

/* ---- TransactWriteItems -------------------------------------------------- */

enum action { ACT_CHECK, ACT_PUT, ACT_DELETE, ACT_UPDATE };

struct tw_action {
    enum action kind;
    struct cwrite c;
    const char *reason;      /* NULL: None */
    const char *reason_msg;
};

struct tw_state {
    struct tw_action *a;
    size_t n;
    const char *token;
    uint64_t fp;
    int replay;              /* answered from the token store */
};

static int tw_apply(struct engine_wtx *w, void *arg, struct tm_error *err)
{
    struct api_req *r = arg;
    struct tw_state *s = r->state;
    int failed = 0, rc;
    struct buf *x = &r->err_extra;

    /* 1. conditions and new items, every action */
    for (size_t i = 0; i < s->n; i++) {
        struct tw_action *a = &s->a[i];
        struct tm_error aerr;

        tm_error_clear(&aerr);
        a->reason = NULL;
        rc = cwrite_prepare(w, r, &a->c, &aerr);
        if (rc == TM_ECONDITION) {
            a->reason = "ConditionalCheckFailed";
            a->reason_msg = "The conditional request failed";
            failed = 1;
        } else if (rc == TM_EVALIDATION) {
            a->reason = "ValidationError";
            a->reason_msg = arena_strdup(r->arena, aerr.msg);
            failed = 1;
        } else if (rc) {
            return tm_error_set(err, rc, "%s", aerr.msg);
        }
    }
    if (failed) {
        struct buf names;
        buf_init(&names, 64 * 1024);
        buf_reset(x);
        rc = json_put_raw(x, ",\"CancellationReasons\":[");
        for (size_t i = 0; i < s->n; i++) {
            struct tw_action *a = &s->a[i];
            buf_printf(&names, "%s%s", i ? ", " : "",
                       a->reason ? a->reason : "None");
            if (i)
                rc |= buf_putc(x, ',');
            rc |= json_put_raw(x, "{\"Code\":");
            rc |= json_put_cstr(x, a->reason ? a->reason : "None");
            if (a->reason) {
                rc |= json_put_raw(x, ",\"Message\":");
                rc |= json_put_cstr(x, a->reason_msg ? a->reason_msg : "");
            }
            if (a->reason && strcmp(a->reason, "ConditionalCheckFailed") == 0
                && a->c.rv_fail_all_old && a->c.old) {
                rc |= json_put_raw(x, ",\"Item\":");
                rc |= item_write_json(a->c.old, x);
            }
            rc |= buf_putc(x, '}');
        }
        rc |= buf_putc(x, ']');
        buf_putc(&names, 0);
        tm_error_set(err, TM_ETXCANCELED,
                     "Transaction cancelled, please refer cancellation "
                     "reasons for specific reasons [%s]",
                     names.data ? (char *)names.data : "");
        buf_free(&names);
        if (rc)
            buf_reset(x);
        return TM_ETXCANCELED;
    }
    /* 3. every write */
    for (size_t i = 0; i < s->n; i++) {
        if (s->a[i].kind == ACT_CHECK)
            continue;
        rc = item_write_apply(w, &s->a[i].c.w, r->arena);
        if (rc < 0)
            return tm_error_set(err, rc, "writing an item failed");
    }
    return 0;
}

static int tw_finish(struct api_req *r)
{
    struct tw_state *s = r->state;
    struct txn_tokens *tt = r->ctx->tokens;
    int rc = 0;

    for (size_t i = 0; i < s->n; i++)
        item_write_free(&s->a[i].c.w);
    if (r->op.rc >= 0) {
        rc |= buf_putc(&r->out, '{');
        {
            json_t *j = json_object_get(r->body, "ReturnConsumedCapacity");
            if (j && json_is_string(j) &&
                strcmp(json_string_value(j), "NONE") != 0) {
                rc |= json_put_raw(&r->out, "\"ConsumedCapacity\":[");
                for (size_t i = 0, k = 0; i < s->n; i++) {
                    size_t d;
                    double units = 0;
                    char num[48];
                    for (d = 0; d < i; d++)
                        if (s->a[d].c.w.t->no == s->a[i].c.w.t->no)
                            break;
                    if (d < i)
                        continue;
                    for (d = i; d < s->n; d++)
                        if (s->a[d].c.w.t->no == s->a[i].c.w.t->no)
                            units += 2 * write_units(s->a[d].c.w.size);
                    snprintf(num, sizeof num, "%.17g", units);
                    if (k++)
                        rc |= buf_putc(&r->out, ',');
                    rc |= json_put_raw(&r->out, "{\"TableName\":");
                    rc |= json_put_cstr(&r->out, s->a[i].c.w.t->name);
                    rc |= json_put_raw(&r->out, ",\"CapacityUnits\":");
                    rc |= json_put_raw(&r->out, num);
                    rc |= buf_putc(&r->out, '}');
                }
                rc |= buf_putc(&r->out, ']');
            }
        }
        rc |= buf_putc(&r->out, '}');
    }
    if (s->token && tt) {
        struct token *k;
        pthread_mutex_lock(&tt->lock);
        k = token_find(tt, s->token, clock_now_ms());
        if (k && !k->done) {
            if (r->op.rc < 0 || rc) {
                /* a failed call may be retried with the same token */
                struct token **pp = &tt->list;
                while (*pp && *pp != k)
                    pp = &(*pp)->next;
                if (*pp)
                    *pp = k->next;
                token_free(k);
            } else {
                k->done = 1;
                k->time_ms = clock_now_ms();
                k->response = strndup((char *)r->out.data, r->out.len);
            }
        }
        pthread_mutex_unlock(&tt->lock);
    }
    if (r->op.rc < 0)
        return r->op.rc;
    return rc ? TM_ENOMEM : 0;
}

static int parse_action(struct api_req *r, json_t *el, size_t idx,
                        struct tw_action *a)
{
    static const char *const kinds[] = {"ConditionCheck", "Put", "Delete",
                                        "Update"};
    json_t *op = NULL, *keyj = NULL, *itemj = NULL;
    const char *tname, *upd = NULL, *cond = NULL, *rvf;
    size_t upd_len = 0, cond_len = 0;
    struct table *t;
    int found = 0, rc;

    if (!json_is_object(el))
        return tm_error_set(&r->err, TM_ESERIALIZATION,
                            "Unexpected value type in payload");
    for (int k = 0; k < 4; k++) {
        json_t *j;
        if ((rc = req_object(r, el, kinds[k], &j)))
            return rc;
        if (j) {
            found++;
            op = j;
            a->kind = (enum action)k;
        }
    }
    if (found != 1)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "TransactItems can only contain one of Check, "
                            "Put, Update or Delete");
    if ((rc = req_string(r, op, "TableName", &tname, NULL)) ||
        (rc = req_object(r, op, a->kind == ACT_PUT ? "Item" : "Key",
                         a->kind == ACT_PUT ? &itemj : &keyj)) ||
        (rc = req_string(r, op, "ConditionExpression", &cond, &cond_len)) ||
        (rc = req_string(r, op, "UpdateExpression", &upd, &upd_len)) ||
        (rc = req_string(r, op, "ReturnValuesOnConditionCheckFailure", &rvf,
                         NULL)))
        return rc;
    if (tname == NULL || (itemj == NULL && keyj == NULL) ||
        (a->kind == ACT_CHECK && cond == NULL) ||
        (a->kind == ACT_UPDATE && upd == NULL)) {
        const char *what = tname == NULL ? "tableName"
                           : a->kind == ACT_PUT ? "item"
                           : (itemj == NULL && keyj == NULL) ? "key"
                           : a->kind == ACT_CHECK ? "conditionExpression"
                                                  : "updateExpression";
        static const char *const lower[] = {"conditionCheck", "put",
                                            "delete", "update"};
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "1 validation error detected: Value null at "
                            "'transactItems.%zu.member.%s.%s' failed to "
                            "satisfy constraint: Member must not be null",
                            idx + 1, lower[a->kind], what);
    }
    a->c.rv_fail_all_old = rvf && strcmp(rvf, "ALL_OLD") == 0;
    if (strncmp(tname, "arn:", 4) == 0 && strstr(tname, ":table/"))
        tname = strstr(tname, ":table/") + 7;
    if ((rc = api_table_for_items(r, tname, &t)))
        return rc;
    if ((rc = cwrite_parse(r, op, &a->c, a->kind == ACT_UPDATE ? upd : NULL,
                           upd_len)))
        return rc;
    if (a->kind == ACT_PUT) {
        rc = item_write_put(r, t, itemj, &a->c.w);
    } else {
        rc = item_write_delete(r, t, keyj, &a->c.w);
        if (rc == 0 && a->kind != ACT_DELETE) {
            a->c.w.is_delete = 0;
            buf_init(&a->c.w.item, (size_t)ITEM_MAX_BYTES * 4);
            rc = item_from_json(r->arena, keyj, &a->c.keymap, &r->err);
            a->c.is_update = a->kind == ACT_UPDATE;
            a->c.check_only = a->kind == ACT_CHECK;
        }
    }
    return rc;
}

int api_transact_write_items(struct api_req *r)
{
    struct verrs v;
    json_t *items, *el;
    const char *token;
    size_t tlen, i;
    struct tw_state *s;
    int rc;

    verrs_init(&v);
    if ((rc = req_array(r, r->body, "TransactItems", &items)) ||
        (rc = req_string(r, r->body, "ClientRequestToken", &token, &tlen))) {
        buf_free(&v.msg);
        return rc;
    }
    if (items == NULL)
        verrs_add(&v, "null", "transactItems", "Member must not be null");
    else if (json_array_size(items) < 1 ||
             json_array_size(items) > TRANSACT_MAX)
        verrs_add(&v, "'[...]'", "transactItems",
                  json_array_size(items) < 1
                      ? "Member must have length greater than or equal to 1"
                      : "Member must have length less than or equal to 100");
    if (token && (tlen < 1 || tlen > 36)) {
        char *shown = arena_printf(r->arena, "'%s'", token);
        verrs_add(&v, shown ? shown : "''", "clientRequestToken",
                  tlen < 1 ? "Member must have length greater than or equal "
                             "to 1"
                           : "Member must have length less than or equal to "
                             "36");
    }
    check_return_consumed(r, &v);
    if ((rc = verrs_finish(&v, r)))
        return rc;
    s = arena_calloc(r->arena, 1, sizeof *s);
    if (s)
        s->a = arena_calloc(r->arena, json_array_size(items),
                            sizeof *s->a);
    if (s == NULL || s->a == NULL)
        return tm_error_set(&r->err, TM_ENOMEM, "out of memory");
    r->state = s;
    json_array_foreach(items, i, el) {
        rc = parse_action(r, el, i, &s->a[i]);
        if (rc) {
            item_write_free(&s->a[i].c.w);
            goto fail;
        }
        s->n = i + 1;
        for (size_t d = 0; d < i; d++)
            if (s->a[d].c.w.t->no == s->a[i].c.w.t->no &&
                s->a[d].c.w.key.len == s->a[i].c.w.key.len &&
                memcmp(s->a[d].c.w.key.data, s->a[i].c.w.key.data,
                       s->a[i].c.w.key.len) == 0) {
                rc = tm_error_set(&r->err, TM_EVALIDATION,
                                  "Transaction request cannot include "
                                  "multiple operations on one item");
                goto fail;
            }
    }
    if (token && r->ctx->tokens) {
        struct txn_tokens *tt = r->ctx->tokens;
        struct token *k;
        uint64_t fp = fingerprint(r->body);
        pthread_mutex_lock(&tt->lock);
        k = token_find(tt, token, clock_now_ms());
        if (k && k->fingerprint != fp) {
            pthread_mutex_unlock(&tt->lock);
            rc = tm_error_set(&r->err, TM_EIDEMPOTENT,
                              "The request uses the same client token as a "
                              "previous, but non-identical request.");
            goto fail;
        }
        if (k && !k->done) {
            pthread_mutex_unlock(&tt->lock);
            rc = tm_error_set(&r->err, TM_ETXINPROGRESS,
                              "The transaction with the given request token "
                              "is already in progress.");
            goto fail;
        }
        if (k) {
            /* a replay: answer as the first call did */
            rc = buf_append(&r->out, k->response, strlen(k->response));
            pthread_mutex_unlock(&tt->lock);
            for (size_t d = 0; d < s->n; d++)
                item_write_free(&s->a[d].c.w);
            return rc ? tm_error_set(&r->err, TM_ENOMEM, "out of memory")
                      : 0;
        }
        k = calloc(1, sizeof *k);
        if (k)
            k->token = strdup(token);
        if (k == NULL || k->token == NULL) {
            pthread_mutex_unlock(&tt->lock);
            free(k);
            rc = tm_error_set(&r->err, TM_ENOMEM, "out of memory");
            goto fail;
        }
        k->fingerprint = fp;
        k->time_ms = clock_now_ms();
        k->next = tt->list;
        tt->list = k;
        pthread_mutex_unlock(&tt->lock);
        s->token = token;
    }
    r->op.apply = tw_apply;
    r->op.arg = r;
    r->finish = tw_finish;
    return API_PENDING;
fail:
    for (size_t d = 0; d < s->n; d++)
        item_write_free(&s->a[d].c.w);
    return rc;
}

/* ---- TransactGetItems ---------------------------------------------------- */

int api_transact_get_items(struct api_req *r)
{
    struct verrs v;
    json_t *items, *el;
    struct engine_rtx *rtx = NULL;
    size_t i, n;
    struct table **tabs;
    struct buf *keys;
    struct expr_proj **projs;
    int rc;

    verrs_init(&v);
    if ((rc = req_array(r, r->body, "TransactItems", &items))) {
        buf_free(&v.msg);
        return rc;
    }
    if (items == NULL)
        verrs_add(&v, "null", "transactItems", "Member must not be null");
    else if (json_array_size(items) < 1 ||
             json_array_size(items) > TRANSACT_MAX)
        verrs_add(&v, "'[...]'", "transactItems",
                  json_array_size(items) < 1
                      ? "Member must have length greater than or equal to 1"
                      : "Member must have length less than or equal to 100");
    check_return_consumed(r, &v);
    if ((rc = verrs_finish(&v, r)))
        return rc;
    n = json_array_size(items);
    tabs = arena_calloc(r->arena, n, sizeof *tabs);
    keys = arena_calloc(r->arena, n, sizeof *keys);
    projs = arena_calloc(r->arena, n, sizeof *projs);
    if (tabs == NULL || keys == NULL || projs == NULL)
        return tm_error_set(&r->err, TM_ENOMEM, "out of memory");
    for (i = 0; i < n; i++)
        buf_init(&keys[i], 8192);
    json_array_foreach(items, i, el) {
        json_t *get, *keyj, *names;
        const char *tname, *ptext;
        size_t plen;
        struct expr_ctx *ec;

        if (!json_is_object(el)) {
            rc = tm_error_set(&r->err, TM_ESERIALIZATION,
                              "Unexpected value type in payload");
            goto out;
        }
        if ((rc = req_object(r, el, "Get", &get)))
            goto out;
        if (get == NULL) {
            rc = tm_error_set(&r->err, TM_EVALIDATION,
                              "1 validation error detected: Value null at "
                              "'transactItems.%zu.member.get' failed to "
                              "satisfy constraint: Member must not be null",
                              i + 1);
            goto out;
        }
        if ((rc = req_string(r, get, "TableName", &tname, NULL)) ||
            (rc = req_object(r, get, "Key", &keyj)) ||
            (rc = req_string(r, get, "ProjectionExpression", &ptext,
                             &plen)) ||
            (rc = req_object(r, get, "ExpressionAttributeNames", &names)))
            goto out;
        if (tname == NULL || keyj == NULL) {
            rc = tm_error_set(&r->err, TM_EVALIDATION,
                              "1 validation error detected: Value null at "
                              "'transactItems.%zu.member.get.%s' failed to "
                              "satisfy constraint: Member must not be null",
                              i + 1, tname == NULL ? "tableName" : "key");
            goto out;
        }
        if (strncmp(tname, "arn:", 4) == 0 && strstr(tname, ":table/"))
            tname = strstr(tname, ":table/") + 7;
        if ((rc = api_table_for_items(r, tname, &tabs[i])) ||
            (rc = key_arg(r, tabs[i], keyj, &keys[i])) ||
            (rc = expr_ctx_init(&ec, r->arena, names, NULL, &r->err)))
            goto out;
        if (ptext && (rc = expr_parse_projection(ec, ptext, plen, &projs[i],
                                                 &r->err)))
            goto out;
        if ((rc = expr_ctx_finish(ec, &r->err)))
            goto out;
        for (size_t d = 0; d < i; d++)
            if (tabs[d]->no == tabs[i]->no && keys[d].len == keys[i].len &&
                memcmp(keys[d].data, keys[i].data, keys[i].len) == 0) {
                rc = tm_error_set(&r->err, TM_EVALIDATION,
                                  "Transaction request cannot include "
                                  "multiple operations on one item");
                goto out;
            }
    }
    if ((rc = engine_read_begin(r->ctx->engine, &rtx))) {
        rc = tm_error_set(&r->err, rc, "could not open a read snapshot");
        goto out;
    }
    rc = json_put_raw(&r->out, "{\"Responses\":[");
    for (i = 0; i < n; i++) {
        const uint8_t *p;
        size_t len;
        struct av item;
        int found = engine_get(rtx, tabs[i]->no, keys[i].data, keys[i].len,
                               &p, &len);
        if (found < 0) {
            rc = tm_error_set(&r->err, found, "reading an item failed");
            goto out;
        }
        if (i)
            rc |= buf_putc(&r->out, ',');
        if (!found) {
            rc |= json_put_raw(&r->out, "{}");
            continue;
        }
        if (item_decode(r->arena, p, len, &item) != 0) {
            rc = tm_error_set(&r->err, TM_ECORRUPT,
                              "the stored item cannot be decoded");
            goto out;
        }
        if (projs[i]) {
            struct av pj;
            if (expr_project(projs[i], &item, r->arena, &pj) != 0) {
                rc = tm_error_set(&r->err, TM_ENOMEM, "out of memory");
                goto out;
            }
            item = pj;
        }
        rc |= json_put_raw(&r->out, "{\"Item\":");
        rc |= item_write_json(&item, &r->out);
        rc |= buf_putc(&r->out, '}');
    }
    rc |= json_put_raw(&r->out, "]}");
    if (rc)
        rc = tm_error_set(&r->err, TM_ENOMEM, "out of memory");
out:
    engine_read_end(rtx);
    for (i = 0; i < n; i++)
        buf_free(&keys[i]);
    return rc;
}
