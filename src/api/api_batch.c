/*
 * api_batch.c - BatchWriteItem and BatchGetItem.
 *
 * BatchWriteItem: up to 25 puts and deletes over any tables, each
 * validated exactly as PutItem/DeleteItem validate (item_write_put/_delete)
 * before anything is written; a key may appear once per request.  All the
 * writes go to the writer as one op, so they share one group commit and
 * land together.  Tidemark never throttles a batch, so UnprocessedItems is
 * always empty ({}), which every SDK's retry loop accepts.
 *
 * BatchGetItem: up to 100 keys over any tables, read from one snapshot.
 * Responses are capped at 16 MB as on DynamoDB: keys that would pass the
 * cap are returned in UnprocessedKeys (with the table's projection and
 * ConsistentRead), for the client to ask again.
 */
#include "api/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonmem.h"
#include "base/jsonw.h"

#define BATCH_WRITE_MAX 25
#define BATCH_GET_MAX 100
#define BATCH_GET_RESPONSE_MAX (16u * 1024 * 1024)

/* A RequestItems key is a table name; one with a NUL inside would read
 * as a shorter name through C strings.  Refuse it as an invalid name. */
static int bad_table_key(struct api_req *r, const char *tname)
{
    if (strlen(tname) == json_object_iter_key_len(json_object_key_to_iter(
                             tname)))
        return 0;
    return tm_error_set(&r->err, TM_EVALIDATION,
                        "1 validation error detected: Value '%s' at "
                        "'requestItems' failed to satisfy constraint: Map "
                        "keys must satisfy constraint: [Member must satisfy "
                        "regular expression pattern: [a-zA-Z0-9_.-]+]",
                        tname);
}

static int dup_key(struct item_write *w, size_t n, const struct item_write *x)
{
    for (size_t i = 0; i < n; i++)
        if (w[i].t->no == x->t->no && w[i].key.len == x->key.len &&
            memcmp(w[i].key.data, x->key.data, x->key.len) == 0)
            return 1;
    return 0;
}

/* ---- BatchWriteItem ---------------------------------------------------- */

struct bw_state {
    struct item_write *w;
    size_t n;
};

static int bw_apply(struct engine_wtx *wtx, void *arg, struct tm_error *err)
{
    struct api_req *r = arg;
    struct bw_state *s = r->state;

    for (size_t i = 0; i < s->n; i++) {
        int rc = item_write_apply(wtx, &s->w[i], r->arena);
        if (rc < 0)
            return tm_error_set(err, rc, "writing an item failed");
    }
    return 0;
}

static int bw_finish(struct api_req *r)
{
    struct bw_state *s = r->state;
    json_t *j = json_object_get(r->body, "ReturnConsumedCapacity");
    int rc = 0, want = j && json_is_string(j) &&
                       strcmp(json_string_value(j), "NONE") != 0;

    for (size_t i = 0; i < s->n; i++)
        item_write_free(&s->w[i]);
    if (r->op.rc < 0)
        return r->op.rc;
    rc |= json_put_raw(&r->out, "{\"UnprocessedItems\":{}");
    if (want) {
        /* one entry per table, in first-seen order */
        rc |= json_put_raw(&r->out, ",\"ConsumedCapacity\":[");
        for (size_t i = 0, k = 0; i < s->n; i++) {
            double units = 0;
            size_t j2;
            for (j2 = 0; j2 < i; j2++)
                if (s->w[j2].t->no == s->w[i].t->no)
                    break;
            if (j2 < i)
                continue;
            for (j2 = i; j2 < s->n; j2++)
                if (s->w[j2].t->no == s->w[i].t->no)
                    units += write_units(s->w[j2].is_delete ? 1024
                                                            : s->w[j2].size);
            if (k++)
                rc |= buf_putc(&r->out, ',');
            {
                char num[48];
                snprintf(num, sizeof num, "%.17g", units);
                rc |= json_put_raw(&r->out, "{\"TableName\":");
                rc |= json_put_cstr(&r->out, s->w[i].t->name);
                rc |= json_put_raw(&r->out, ",\"CapacityUnits\":");
                rc |= json_put_raw(&r->out, num);
                rc |= buf_putc(&r->out, '}');
            }
        }
        rc |= buf_putc(&r->out, ']');
    }
    rc |= buf_putc(&r->out, '}');
    return rc ? TM_ENOMEM : 0;
}

static int table_lookup(struct api_req *r, const char *name,
                        struct table **out)
{
    const char *p = strncmp(name, "arn:", 4) == 0 ? strstr(name, ":table/")
                                                   : NULL;
    return api_table_for_items(r, p ? p + 7 : name, out);
}

/* Both batches begin alike: RequestItems, an object of at least one
 * table, and ReturnConsumedCapacity; shape errors go to `v`. */
static int request_items(struct api_req *r, struct verrs *v, json_t **items)
{
    int rc = req_object(r, r->body, "RequestItems", items);

    if (rc) {
        buf_free(&v->msg);
        return rc;
    }
    if (*items == NULL)
        verrs_add(v, "null", "requestItems", "Member must not be null");
    else if (json_object_size(*items) == 0)
        verrs_add(v, "'{}'", "requestItems",
                  "Member must have length greater than or equal to 1");
    check_return_consumed(r, v);
    return 0;
}

int api_batch_write_item(struct api_req *r)
{
    struct verrs v;
    json_t *items, *list;
    const char *tname;
    struct bw_state *s;
    size_t total = 0;
    int rc;

    verrs_init(&v);
    if ((rc = request_items(r, &v, &items)))
        return rc;
    if (items) {
        json_object_foreach(items, tname, list) {
            if (bad_table_key(r, tname)) {
                buf_free(&v.msg);
                return TM_EVALIDATION;
            }
            if (!json_is_array(list)) {
                buf_free(&v.msg);
                return tm_error_set(&r->err, TM_ESERIALIZATION,
                                    "Unexpected value type in payload");
            }
            if (json_array_size(list) < 1 ||
                json_array_size(list) > BATCH_WRITE_MAX) {
                char *shown = arena_printf(r->arena, "'{%s=[...]}'", tname);
                verrs_add(&v, shown ? shown : "'{}'", "requestItems",
                          "Map value must satisfy constraint: [Member must "
                          "have length less than or equal to 25, Member "
                          "must have length greater than or equal to 1]");
            }
            total += json_array_size(list);
        }
    }
    if ((rc = verrs_finish(&v, r)))
        return rc;
    if (total > BATCH_WRITE_MAX)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "Too many items requested for the BatchWriteItem"
                            " call");
    s = arena_calloc(r->arena, 1, sizeof *s);
    if (s)
        s->w = arena_calloc(r->arena, total + 1, sizeof *s->w);
    if (s == NULL || s->w == NULL)
        return tm_error_set(&r->err, TM_ENOMEM, "out of memory");
    r->state = s;
    r->finish = bw_finish; /* frees every prepared write, on every path */
    json_object_foreach(items, tname, list) {
        struct table *t;
        size_t i;
        json_t *wr;

        if ((rc = table_lookup(r, tname, &t)))
            goto fail;
        json_array_foreach(list, i, wr) {
            json_t *put, *del;
            struct item_write *w = &s->w[s->n];

            if (!json_is_object(wr)) {
                rc = tm_error_set(&r->err, TM_ESERIALIZATION,
                                  "Unexpected value type in payload");
                goto fail;
            }
            if ((rc = req_object(r, wr, "PutRequest", &put)) ||
                (rc = req_object(r, wr, "DeleteRequest", &del)))
                goto fail;
            if ((put == NULL) == (del == NULL)) {
                rc = tm_error_set(&r->err, TM_EVALIDATION,
                                  "Supplied WriteRequest must contain "
                                  "exactly one of PutRequest or "
                                  "DeleteRequest");
                goto fail;
            }
            if (put) {
                json_t *item;
                if ((rc = req_object(r, put, "Item", &item)))
                    goto fail;
                if (item == NULL) {
                    rc = tm_error_set(&r->err, TM_EVALIDATION,
                                      "1 validation error detected: Value "
                                      "null at 'requestItems.%s.member."
                                      "putRequest.item' failed to satisfy "
                                      "constraint: Member must not be null",
                                      tname);
                    goto fail;
                }
                rc = item_write_put(r, t, item, w);
            } else {
                json_t *key;
                if ((rc = req_object(r, del, "Key", &key)))
                    goto fail;
                if (key == NULL) {
                    rc = tm_error_set(&r->err, TM_EVALIDATION,
                                      "1 validation error detected: Value "
                                      "null at 'requestItems.%s.member."
                                      "deleteRequest.key' failed to satisfy "
                                      "constraint: Member must not be null",
                                      tname);
                    goto fail;
                }
                rc = item_write_delete(r, t, key, w);
            }
            if (rc)
                goto fail;
            s->n++;
            if (dup_key(s->w, s->n - 1, w)) {
                rc = tm_error_set(&r->err, TM_EVALIDATION,
                                  "Provided list of item keys contains "
                                  "duplicates");
                goto fail;
            }
        }
    }
    r->op.apply = bw_apply;
    r->op.arg = r;
    return API_PENDING;
fail:
    for (size_t i = 0; i < s->n; i++)
        item_write_free(&s->w[i]);
    s->n = 0;
    r->finish = NULL;
    return rc;
}

/* ---- BatchGetItem ------------------------------------------------------ */

struct bg_table {
    const char *name;       /* as the request named it */
    json_t *req;            /* the KeysAndAttributes object */
    struct table *t;
    struct expr_proj *pj;
    int consistent;
    size_t nkeys;
    struct buf *keys;       /* row keys */
    json_t **keyj;          /* the request's Key objects */
};

int api_batch_get_item(struct api_req *r)
{
    struct verrs v;
    json_t *items, *ka;
    const char *tname;
    struct bg_table *bt;
    struct engine_rtx *rtx = NULL;
    size_t ntab, total = 0, k = 0, out_bytes = 0;
    int rc, unprocessed = 0;

    verrs_init(&v);
    if ((rc = request_items(r, &v, &items)))
        return rc;
    if (items) {
        json_object_foreach(items, tname, ka) {
            json_t *keys;
            if (bad_table_key(r, tname)) {
                buf_free(&v.msg);
                return TM_EVALIDATION;
            }
            if (!json_is_object(ka)) {
                buf_free(&v.msg);
                return tm_error_set(&r->err, TM_ESERIALIZATION,
                                    "Unexpected value type in payload");
            }
            if ((rc = req_array(r, ka, "Keys", &keys))) {
                buf_free(&v.msg);
                return rc;
            }
            if (keys == NULL || json_array_size(keys) < 1) {
                char *path = arena_printf(r->arena,
                                          "requestItems.%s.member.keys",
                                          tname);
                verrs_add(&v, keys ? "'[]'" : "null",
                          path ? path : "requestItems",
                          keys ? "Member must have length greater than or "
                                 "equal to 1"
                               : "Member must not be null");
            } else {
                total += json_array_size(keys);
            }
        }
    }
    if ((rc = verrs_finish(&v, r)))
        return rc;
    if (total > BATCH_GET_MAX)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "Too many items requested for the BatchGetItem "
                            "call");
    ntab = json_object_size(items);
    bt = arena_calloc(r->arena, ntab, sizeof *bt);
    if (bt == NULL)
        return tm_error_set(&r->err, TM_ENOMEM, "out of memory");
    /* validate everything before reading anything */
    json_object_foreach(items, tname, ka) {
        struct bg_table *b = &bt[k++];
        json_t *keys = json_object_get(ka, "Keys"), *kj;
        int has_cr;
        size_t i;

        b->name = tname;
        b->req = ka;
        if ((rc = table_lookup(r, tname, &b->t)) ||
            (rc = api_projection(r, ka, &b->pj)) ||
            (rc = req_bool(r, ka, "ConsistentRead", &b->consistent,
                           &has_cr)))
            goto out;
        b->keys = arena_calloc(r->arena, json_array_size(keys),
                               sizeof *b->keys);
        b->keyj = arena_calloc(r->arena, json_array_size(keys),
                               sizeof *b->keyj);
        if (b->keys == NULL || b->keyj == NULL) {
            rc = tm_error_set(&r->err, TM_ENOMEM, "out of memory");
            goto out;
        }
        json_array_foreach(keys, i, kj) {
            buf_init(&b->keys[i], 8192);
            b->nkeys = i + 1;
            b->keyj[i] = kj;
            if (!json_is_object(kj)) {
                rc = tm_error_set(&r->err, TM_ESERIALIZATION,
                                  "Unexpected value type in payload");
                goto out;
            }
            if ((rc = key_arg(r, b->t, kj, &b->keys[i])))
                goto out;
            for (size_t d = 0; d < i; d++)
                if (b->keys[d].len == b->keys[i].len &&
                    memcmp(b->keys[d].data, b->keys[i].data,
                           b->keys[i].len) == 0) {
                    rc = tm_error_set(&r->err, TM_EVALIDATION,
                                      "Provided list of item keys contains "
                                      "duplicates");
                    goto out;
                }
        }
    }
    if ((rc = engine_read_begin(r->ctx->engine, &rtx))) {
        rc = tm_error_set(&r->err, rc, "could not open a read snapshot");
        goto out;
    }
    rc |= json_put_raw(&r->out, "{\"Responses\":{");
    for (size_t t = 0; t < ntab; t++) {
        struct bg_table *b = &bt[t];
        int first = 1;
        if (t)
            rc |= buf_putc(&r->out, ',');
        rc |= json_put_cstr(&r->out, b->name);
        rc |= json_put_raw(&r->out, ":[");
        for (size_t i = 0; i < b->nkeys; i++) {
            const uint8_t *p;
            size_t n;
            struct av item;
            int found;

            if (out_bytes >= BATCH_GET_RESPONSE_MAX) {
                unprocessed = 1;
                break;
            }
            found = engine_get(rtx, b->t->no, b->keys[i].data,
                               b->keys[i].len, &p, &n);
            if (found < 0) {
                rc = tm_error_set(&r->err, found, "reading an item failed");
                goto out;
            }
            /* done with this key: mark it so it is not unprocessed */
            b->keyj[i] = NULL;
            if (!found)
                continue;
            if (item_decode(r->arena, p, n, &item) != 0) {
                rc = tm_error_set(&r->err, TM_ECORRUPT,
                                  "the stored item cannot be decoded");
                goto out;
            }
            if ((rc = api_project(r, b->pj, &item)))
                goto out;
            if (!first)
                rc |= buf_putc(&r->out, ',');
            first = 0;
            {
                size_t before = r->out.len;
                rc |= item_write_json(&item, &r->out);
                out_bytes += r->out.len - before;
            }
        }
        rc |= buf_putc(&r->out, ']');
    }
    rc |= json_put_raw(&r->out, "},\"UnprocessedKeys\":{");
    if (unprocessed) {
        int tfirst = 1;
        for (size_t t = 0; t < ntab; t++) {
            struct bg_table *b = &bt[t];
            int kfirst = 1;
            const char *key;
            json_t *val;
            size_t i;
            for (i = 0; i < b->nkeys && b->keyj[i] == NULL; i++)
                ;
            if (i == b->nkeys)
                continue;
            if (!tfirst)
                rc |= buf_putc(&r->out, ',');
            tfirst = 0;
            rc |= json_put_cstr(&r->out, b->name);
            rc |= json_put_raw(&r->out, ":{\"Keys\":[");
            for (; i < b->nkeys; i++) {
                if (b->keyj[i] == NULL)
                    continue;
                if (!kfirst)
                    rc |= buf_putc(&r->out, ',');
                kfirst = 0;
                rc |= jsonmem_dump(b->keyj[i],
                                   JSON_COMPACT | JSON_ENCODE_ANY, &r->out);
            }
            rc |= buf_putc(&r->out, ']');
            /* carry the table's other members over unchanged */
            json_object_foreach(b->req, key, val) {
                if (strcmp(key, "Keys") == 0)
                    continue;
                rc |= buf_putc(&r->out, ',');
                rc |= json_put_key(&r->out, key);
                rc |= jsonmem_dump(val, JSON_COMPACT | JSON_ENCODE_ANY,
                                   &r->out);
            }
            rc |= buf_putc(&r->out, '}');
        }
    }
    rc |= buf_putc(&r->out, '}');
    {
        json_t *j = json_object_get(r->body, "ReturnConsumedCapacity");
        if (j && json_is_string(j) &&
            strcmp(json_string_value(j), "NONE") != 0) {
            rc |= json_put_raw(&r->out, ",\"ConsumedCapacity\":[");
            for (size_t t = 0; t < ntab; t++) {
                char num[48];
                snprintf(num, sizeof num, "%.17g",
                         (double)bt[t].nkeys *
                             read_units(0, bt[t].consistent));
                if (t)
                    rc |= buf_putc(&r->out, ',');
                rc |= json_put_raw(&r->out, "{\"TableName\":");
                rc |= json_put_cstr(&r->out, bt[t].t->name);
                rc |= json_put_raw(&r->out, ",\"CapacityUnits\":");
                rc |= json_put_raw(&r->out, num);
                rc |= buf_putc(&r->out, '}');
            }
            rc |= buf_putc(&r->out, ']');
        }
    }
    rc |= buf_putc(&r->out, '}');
    if (rc)
        rc = tm_error_set(&r->err, TM_ENOMEM, "out of memory");
out:
    engine_read_end(rtx);
    for (size_t t = 0; t < ntab; t++)
        for (size_t i = 0; i < bt[t].nkeys; i++)
            buf_free(&bt[t].keys[i]);
    return rc;
}
