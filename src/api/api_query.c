/*
 * api_query.c - Query and Scan.
 *
 * Both walk one table's rows in a read snapshot with an engine cursor and
 * build a page:
 *
 *   1. rows are "evaluated" (ScannedCount) in key order until Limit rows
 *      were evaluated or their DynamoDB sizes reach 1 MB; then the page
 *      ends and LastEvaluatedKey names the last evaluated row's key;
 *   2. the FilterExpression is applied to evaluated rows (after Limit, as
 *      on DynamoDB: a page may hold fewer items than Limit, even none);
 *   3. Select COUNT returns only Count; otherwise the ProjectionExpression
 *      is applied.
 *
 * Query: the KeyConditionExpression gives the partition (row keys start
 * with its encoding, key_encode_partition) and a sort-key range; since the
 * sort-key component is order-preserving, bounds are byte comparisons of
 * row keys with the encoded bound (see key.h).  ScanIndexForward=false
 * walks the same range backwards.
 *
 * Scan: rows in row-key order, which is hash order of the partition key,
 * as on DynamoDB.  Parallel scan segment i of T covers the row keys whose
 * 64-bit hash prefix lies in [i*2^64/T, (i+1)*2^64/T), so the segments
 * together return every row exactly once.
 */
#include "api/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonw.h"
#include "expr/expr.h"

#define PAGE_BYTES_MAX (1024 * 1024)

enum select_mode { SEL_ALL, SEL_PROJECTED, SEL_SPECIFIC, SEL_COUNT };

struct page {
    struct table *t;
    struct table_index *ix;     /* IndexName, or NULL */
    const struct key_schema *ks;/* the table's or the index's */
    uint64_t no;                /* rows walked: the table's or index's */
    struct expr_ctx *ec;
    struct expr_cond *filter;
    struct expr_proj *proj;
    enum select_mode select;
    int64_t limit;          /* 0: none */
    int consistent;
    /* Query */
    struct buf lo, hi;      /* row-key bounds (empty: open) */
    int lo_excl, hi_excl;
    struct buf prefix;      /* every row key must start with this */
    int reverse;
    /* Scan segments: hash prefix in [seg_lo, seg_hi] */
    uint64_t seg_lo, seg_hi;
    int segmented;
    int fetch_table;            /* LSI, Select ALL_ATTRIBUTES: read the
                                   table's item for each index entry */
    /* ExclusiveStartKey */
    struct buf start;
    int has_start;
};

static void page_free(struct page *p)
{
    buf_free(&p->lo);
    buf_free(&p->hi);
    buf_free(&p->prefix);
    buf_free(&p->start);
}

/* ---- shared parsing ---------------------------------------------------- */

static int parse_select(struct api_req *r, struct verrs *v, enum select_mode *m)
{
    const char *s;
    int rc = req_string(r, r->body, "Select", &s, NULL);

    *m = SEL_ALL;
    if (rc || s == NULL)
        return rc;
    if (strcmp(s, "ALL_ATTRIBUTES") == 0)
        *m = SEL_ALL;
    else if (strcmp(s, "ALL_PROJECTED_ATTRIBUTES") == 0)
        *m = SEL_PROJECTED;
    else if (strcmp(s, "SPECIFIC_ATTRIBUTES") == 0)
        *m = SEL_SPECIFIC;
    else if (strcmp(s, "COUNT") == 0)
        *m = SEL_COUNT;
    (void)v; /* other values: reported by the model check */
    return 0;
}

/* Legacy parameters (KeyConditions, QueryFilter, ScanFilter,
 * AttributesToGet with expressions, ...) arrive later; refuse plainly. */
static int refuse_legacy(struct api_req *r)
{
    static const char *const fields[] = {"KeyConditions", "QueryFilter",
                                         "ScanFilter", "ConditionalOperator",
                                         "AttributesToGet", NULL};
    for (const char *const *f = fields; *f; f++) {
        json_t *j = json_object_get(r->body, *f);
        if (j && !json_is_null(j))
            return tm_error_set(&r->err, TM_EVALIDATION,
                                "%s is not supported by this version of "
                                "Tidemark; use the expression parameters",
                                *f);
    }
    return 0;
}

/* Common members of Query and Scan: table, Limit, Select, ConsistentRead,
 * IndexName, the expression maps, projection, filter,
 * ExclusiveStartKey.  Shape errors are collected in `v` by the caller. */
static int parse_common(struct api_req *r, struct verrs *v, struct page *p,
                        const char **name)
{
    const char *proj_text, *filter_text, *index;
    size_t proj_len, filter_len;
    int64_t limit = 0;
    int has_limit, has_cr, rc;
    json_t *names, *values;

    if ((rc = req_string(r, r->body, "TableName", name, NULL)) ||
        (rc = req_int(r, r->body, "Limit", &limit, &has_limit)) ||
        (rc = req_bool(r, r->body, "ConsistentRead", &p->consistent,
                       &has_cr)) ||
        (rc = req_string(r, r->body, "IndexName", &index, NULL)) ||
        (rc = req_string(r, r->body, "ProjectionExpression", &proj_text,
                         &proj_len)) ||
        (rc = req_string(r, r->body, "FilterExpression", &filter_text,
                         &filter_len)) ||
        (rc = req_object(r, r->body, "ExpressionAttributeNames", &names)) ||
        (rc = req_object(r, r->body, "ExpressionAttributeValues", &values)) ||
        (rc = parse_select(r, v, &p->select)))
        return rc;
    if (*name == NULL || strncmp(*name, "arn:", 4) != 0)
        check_table_name(v, *name, "tableName");
    if (has_limit && limit < 1) {
        char *shown = arena_printf(r->arena, "'%lld'", (long long)limit);
        verrs_add(v, shown ? shown : "''", "limit",
                  "Member must have value greater than or equal to 1");
    }
    p->limit = has_limit ? limit : 0;
    check_return_consumed(r, v);
    if ((rc = verrs_finish(v, r)))
        return rc;
    if (*name && strncmp(*name, "arn:", 4) == 0) {
        const char *q = strstr(*name, ":table/");
        if (q)
            *name = q + 7;
    }
    if ((rc = refuse_legacy(r)))
        return rc;
    if (p->select == SEL_PROJECTED && index == NULL)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "One or more parameter values were invalid: "
                            "Select type ALL_PROJECTED_ATTRIBUTES is not "
                            "supported for requests without an index name");
    if (p->select == SEL_SPECIFIC && proj_text == NULL)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "Must specify the AttributesToGet or "
                            "ProjectionExpression when choosing to get "
                            "SPECIFIC_ATTRIBUTES");
    if (p->select == SEL_COUNT && proj_text)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "Cannot specify the ProjectionExpression when "
                            "choosing to get only the Count");
    if ((rc = api_table_for_items(r, *name, &p->t)))
        return rc;
    p->ks = &p->t->ks;
    p->no = p->t->no;
    if (index) {
        p->ix = table_index_find(p->t, index);
        if (p->ix == NULL)
            return tm_error_set(&r->err, TM_EVALIDATION,
                                "The table does not have the specified "
                                "index: %s",
                                index);
        if (p->ix->kind == INDEX_GSI && p->consistent)
            return tm_error_set(&r->err, TM_EVALIDATION,
                                "Consistent reads are not supported on "
                                "global secondary indexes");
        if (p->ix->status == INDEX_CREATING)
            return tm_error_set(&r->err, TM_EVALIDATION,
                                "Cannot read from backfilling global "
                                "secondary index: %s",
                                index);
        if (p->select == SEL_ALL && p->ix->proj != PROJ_ALL &&
            p->ix->kind == INDEX_GSI &&
            json_object_get(r->body, "Select"))
            return tm_error_set(&r->err, TM_EVALIDATION,
                                "One or more parameter values were invalid: "
                                "Select type ALL_ATTRIBUTES is not supported "
                                "for global secondary index %s because its "
                                "projection type is not ALL",
                                index);
        p->ks = &p->ix->ks;
        p->no = p->ix->no;
        p->fetch_table = p->ix->kind == INDEX_LSI &&
                         p->ix->proj != PROJ_ALL && p->select == SEL_ALL &&
                         json_object_get(r->body, "Select") != NULL;
    }
    if ((rc = expr_ctx_init(&p->ec, r->arena, names, values, &r->err)))
        return rc;
    if (proj_text &&
        (rc = expr_parse_projection(p->ec, proj_text, proj_len, &p->proj,
                                    &r->err)))
        return rc;
    if (filter_text &&
        (rc = expr_parse_condition(p->ec, EXPR_FILTER, filter_text,
                                   filter_len, &p->filter, &r->err)))
        return rc;
    return 0;
}

/* ExclusiveStartKey: a full primary key of the table. */
static int parse_start_key(struct api_req *r, struct page *p)
{
    json_t *sk;
    struct av keymap;
    int rc = req_object(r, r->body, "ExclusiveStartKey", &sk);

    buf_init(&p->start, 8192);
    if (rc || sk == NULL)
        return rc;
    rc = item_from_json(r->arena, sk, &keymap, &r->err);
    if (rc == 0 && p->ix == NULL &&
        key_from_keymap(&p->t->ks, &keymap, &p->start, &r->err) != 0)
        rc = tm_error_set(&r->err, TM_EVALIDATION,
                          "The provided starting key is invalid: %s",
                          r->err.msg);
    if (rc == 0 && p->ix) {
        /* an index position: the index key, then the table's key */
        const struct key_schema *k2[2] = {p->ks, &p->t->ks};
        for (int i = 0; i < 2 && rc == 0; i++) {
            const struct av *h = item_get(&keymap, k2[i]->hash_name,
                                          strlen(k2[i]->hash_name));
            const struct av *g = k2[i]->range_name
                                     ? item_get(&keymap, k2[i]->range_name,
                                                strlen(k2[i]->range_name))
                                     : NULL;
            if (h == NULL || h->type != k2[i]->hash_type ||
                (k2[i]->range_name &&
                 (g == NULL || g->type != k2[i]->range_type)) ||
                key_encode(k2[i], h, g, &p->start) != 0)
                rc = tm_error_set(&r->err, TM_EVALIDATION,
                                  "The provided starting key is invalid: "
                                  "The provided key element does not match "
                                  "the schema");
        }
    }
    p->has_start = rc == 0;
    return rc;
}

/* ---- the walk --------------------------------------------------------- */

static int write_key_of(struct api_req *r, const struct page *p,
                        const struct av *item, struct buf *o)
{
    int rc = 0, n = 0;
    const char *names[4] = {p->t->ks.hash_name, p->t->ks.range_name,
                            p->ix ? p->ix->ks.hash_name : NULL,
                            p->ix ? p->ix->ks.range_name : NULL};

    rc |= buf_putc(o, '{');
    for (int i = 0; i < 4; i++) {
        const struct av *v;
        int dup = 0;
        if (names[i] == NULL)
            continue;
        for (int k = 0; k < i; k++)
            dup |= names[k] && strcmp(names[k], names[i]) == 0;
        v = dup ? NULL : item_get(item, names[i], strlen(names[i]));
        if (v == NULL)
            continue;
        if (n++)
            rc |= buf_putc(o, ',');
        rc |= json_put_cstr(o, names[i]);
        rc |= buf_putc(o, ':');
        rc |= av_write_json(v, o);
    }
    rc |= buf_putc(o, '}');
    (void)r;
    return rc ? TM_ENOMEM : 0;
}

/* 1 while row key `k` is inside the walk's bounds. */
static int in_bounds(const struct page *p, const uint8_t *k, size_t kl)
{
    if (p->prefix.len &&
        (kl < p->prefix.len || memcmp(k, p->prefix.data, p->prefix.len) != 0))
        return 0;
    if (p->segmented) {
        uint64_t h = key_hash_prefix(k, kl);
        if (h < p->seg_lo || h > p->seg_hi)
            return 0;
    }
    if (!p->reverse && p->hi.len) {
        size_t n = kl < p->hi.len ? kl : p->hi.len;
        int d = memcmp(k, p->hi.data, n);
        if (d == 0)
            d = kl < p->hi.len ? -1 : (kl > p->hi.len ? 1 : 0);
        if (d > 0 || (d == 0 && p->hi_excl))
            return 0;
    }
    if (p->reverse && p->lo.len) {
        size_t n = kl < p->lo.len ? kl : p->lo.len;
        int d = memcmp(k, p->lo.data, n);
        if (d == 0)
            d = kl < p->lo.len ? -1 : (kl > p->lo.len ? 1 : 0);
        if (d < 0 || (d == 0 && p->lo_excl))
            return 0;
    }
    return 1;
}

static int walk(struct api_req *r, struct page *p)
{
    struct engine_rtx *rtx = NULL;
    struct engine_cursor *cur = NULL;
    const uint8_t *k, *it;
    size_t kl, il, bytes = 0;
    int64_t scanned = 0, count = 0;
    int rc, got, first = 1, more = 0;
    struct av item, last;
    struct buf *o = &r->out;

    if ((rc = engine_read_begin(r->ctx->engine, &rtx)) ||
        (rc = engine_cursor_open(rtx, p->no, &cur))) {
        rc = tm_error_set(&r->err, rc, "could not open a read snapshot");
        goto out;
    }
    if (p->has_start)
        rc = engine_cursor_seek(cur, p->start.data, p->start.len, p->reverse,
                                1);
    else if (!p->reverse)
        rc = engine_cursor_seek(cur, p->lo.len ? p->lo.data : NULL, p->lo.len,
                                0, p->lo_excl);
    else
        rc = engine_cursor_seek(cur, p->hi.len ? p->hi.data : NULL, p->hi.len,
                                1, p->hi_excl);
    if (rc) {
        rc = tm_error_set(&r->err, rc, "reading the table failed");
        goto out;
    }
    rc = json_put_raw(o, p->select == SEL_COUNT ? "{" : "{\"Items\":[");
    while ((got = engine_cursor_next(cur, &k, &kl, &it, &il)) == 1) {
        int keep = 1;

        if (!in_bounds(p, k, kl)) {
            if (p->segmented && !p->reverse &&
                key_hash_prefix(k, kl) > p->seg_hi)
                break;
            if (p->prefix.len || p->hi.len || p->lo.len)
                break;
            continue;
        }
        if (p->limit && scanned >= p->limit)
            break; /* (more was set when the limit was reached) */
        if (bytes >= PAGE_BYTES_MAX) {
            more = 1;
            break;
        }
        if (item_decode(r->arena, it, il, &item) != 0) {
            rc = tm_error_set(&r->err, TM_ECORRUPT,
                              "a stored item cannot be decoded");
            goto out;
        }
        if (p->fetch_table) {
            /* the LSI entry holds the table's key: read the whole item */
            struct buf tk;
            const uint8_t *tp;
            size_t tl;
            int found;
            buf_init(&tk, 8192);
            found = key_from_item(&p->t->ks, &item, &tk, &r->err) == 0
                        ? engine_get(rtx, p->t->no, tk.data, tk.len, &tp, &tl)
                        : TM_ECORRUPT;
            if (found == 1 && item_decode(r->arena,
                                          arena_memdup(r->arena, tp, tl), tl,
                                          &item) != 0)
                found = TM_ECORRUPT;
            buf_free(&tk);
            if (found < 0) {
                rc = tm_error_set(&r->err, found,
                                  "reading the table's item failed");
                goto out;
            }
        }
        scanned++;
        bytes += item_size(&item);
        last = item;
        /* DDB: a page that reaches Limit ends with LastEvaluatedKey, even
         * when no row follows */
        if (p->limit && scanned >= p->limit)
            more = 1;
        if (p->filter &&
            (rc = expr_eval_condition(p->filter, &item, &keep, &r->err)))
            goto out;
        if (!keep)
            continue;
        count++;
        if (p->select == SEL_COUNT)
            continue;
        if (p->proj) {
            struct av projected;
            if ((rc = expr_project(p->proj, &item, r->arena, &projected))) {
                rc = tm_error_set(&r->err, rc, "projection failed");
                goto out;
            }
            item = projected;
        }
        if (!first)
            rc |= buf_putc(o, ',');
        first = 0;
        rc |= item_write_json(&item, o);
    }
    if (got < 0) {
        rc = tm_error_set(&r->err, got, "reading the table failed");
        goto out;
    }
    if (p->select != SEL_COUNT)
        rc |= json_put_raw(o, "],");
    rc |= json_put_raw(o, "\"Count\":");
    rc |= json_put_i64(o, count);
    rc |= json_put_raw(o, ",\"ScannedCount\":");
    rc |= json_put_i64(o, scanned);
    if (more && scanned > 0) {
        rc |= json_put_raw(o, ",\"LastEvaluatedKey\":");
        rc |= write_key_of(r, p, &last, o);
    }
    {
        double units = (double)((bytes + 4095) / 4096);
        if (units < 1)
            units = 1;
        rc |= write_consumed(r, p->t->name, p->consistent ? units : units / 2,
                             o);
    }
    rc |= buf_putc(o, '}');
    if (rc)
        rc = tm_error_set(&r->err, TM_ENOMEM, "out of memory");
out:
    engine_cursor_close(cur);
    engine_read_end(rtx);
    return rc;
}

/* ---- Scan -------------------------------------------------------------- */

int api_scan(struct api_req *r)
{
    struct verrs v;
    struct page p;
    const char *name;
    int64_t seg = 0, total = 0;
    int has_seg, has_total, rc;

    memset(&p, 0, sizeof p);
    buf_init(&p.lo, 0);
    buf_init(&p.hi, 0);
    buf_init(&p.prefix, 0);
    buf_init(&p.start, 0);
    verrs_init(&v);
    if ((rc = req_int(r, r->body, "Segment", &seg, &has_seg)) ||
        (rc = req_int(r, r->body, "TotalSegments", &total, &has_total))) {
        buf_free(&v.msg);
        return rc;
    }
    if (has_seg && (seg < 0 || seg > 999999)) {
        char *shown = arena_printf(r->arena, "'%lld'", (long long)seg);
        verrs_add(&v, shown ? shown : "''", "segment",
                  seg < 0 ? "Member must have value greater than or equal to"
                            " 0"
                          : "Member must have value less than or equal to "
                            "999999");
    }
    if (has_total && (total < 1 || total > 1000000)) {
        char *shown = arena_printf(r->arena, "'%lld'", (long long)total);
        verrs_add(&v, shown ? shown : "''", "totalSegments",
                  total < 1 ? "Member must have value greater than or equal "
                              "to 1"
                            : "Member must have value less than or equal to "
                              "1000000");
    }
    if ((rc = parse_common(r, &v, &p, &name)))
        goto out;
    if (has_seg != has_total) {
        rc = tm_error_set(&r->err, TM_EVALIDATION,
                          has_seg ? "The TotalSegments parameter is required "
                                    "but was not present in the request when "
                                    "Segment parameter is present"
                                  : "The Segment parameter is required but "
                                    "was not present in the request when "
                                    "parameter TotalSegments is present");
        goto out;
    }
    if (has_seg && seg >= total) {
        rc = tm_error_set(&r->err, TM_EVALIDATION,
                          "The Segment parameter is zero-based and must be "
                          "less than parameter TotalSegments: Segment: %lld "
                          "is not less than TotalSegments: %lld",
                          (long long)seg, (long long)total);
        goto out;
    }
    if ((rc = expr_ctx_finish(p.ec, &r->err)) ||
        (rc = parse_start_key(r, &p)))
        goto out;
    if (has_seg && total > 1 && p.has_start) {
        unsigned __int128 span = ((unsigned __int128)1 << 64) /
                                 (unsigned __int128)total;
        uint64_t h = key_hash_prefix(p.start.data, p.start.len);
        uint64_t s_lo = (uint64_t)(span * (unsigned __int128)seg);
        uint64_t s_hi = seg == total - 1
                            ? UINT64_MAX
                            : (uint64_t)(span * (unsigned __int128)(seg + 1) -
                                         1);
        if (h < s_lo || h > s_hi) {
            rc = tm_error_set(&r->err, TM_EVALIDATION,
                              "The provided Exclusive start key does not map "
                              "to the provided Segment and TotalSegments "
                              "values.");
            goto out;
        }
    }
    if (has_seg && total > 1) {
        unsigned __int128 span = ((unsigned __int128)1 << 64) /
                                 (unsigned __int128)total;
        uint8_t b[8];
        p.segmented = 1;
        p.seg_lo = (uint64_t)(span * (unsigned __int128)seg);
        p.seg_hi = seg == total - 1
                       ? UINT64_MAX
                       : (uint64_t)(span * (unsigned __int128)(seg + 1) - 1);
        buf_store_u64be(b, p.seg_lo);
        buf_init(&p.lo, 64);
        if (buf_append(&p.lo, b, 8) != 0) {
            rc = tm_error_set(&r->err, TM_ENOMEM, "out of memory");
            goto out;
        }
    }
    rc = walk(r, &p);
out:
    page_free(&p);
    return rc;
}

/* ---- Query ------------------------------------------------------------- */

static int close_bounds(struct api_req *r, struct page *p);

/* The smallest key greater than every key that starts with b (b becomes
 * empty, "no bound", when b is all 0xff). */
static void successor(struct buf *b)
{
    while (b->len > 0 && b->data[b->len - 1] == 0xff)
        b->len--;
    if (b->len > 0)
        b->data[b->len - 1]++;
}

/* Set the walk's bounds from the key condition. */
static int query_bounds(struct api_req *r, struct page *p,
                        const struct expr_key_range *kr)
{
    const struct key_schema *ks = p->ks;
    int rc;

    buf_init(&p->prefix, 8192);
    buf_init(&p->lo, 8192);
    buf_init(&p->hi, 8192);
    if ((rc = key_encode_partition(ks, kr->hash, &p->prefix)))
        return tm_error_set(&r->err, rc, "encoding the key failed");
    if (kr->op == EXPR_KEY_NONE)
        return close_bounds(r, p);
    if (kr->op == EXPR_KEY_BEGINS_WITH) {
        /* the escaped prefix without the terminator (00 01) */
        rc = key_encode_range(ks->range_type, kr->lo, &p->prefix);
        if (rc == 0)
            p->prefix.len -= 2;
        if (rc)
            return tm_error_set(&r->err, rc, "encoding the key failed");
        return close_bounds(r, p);
    }
    if (kr->op != EXPR_KEY_LT && kr->op != EXPR_KEY_LE) {
        rc = buf_append(&p->lo, p->prefix.data, p->prefix.len);
        if (rc == 0)
            rc = key_encode_range(ks->range_type, kr->lo, &p->lo);
        p->lo_excl = kr->op == EXPR_KEY_GT;
    }
    if (rc == 0 && kr->op != EXPR_KEY_GT && kr->op != EXPR_KEY_GE) {
        const struct av *hb = kr->op == EXPR_KEY_BETWEEN ? kr->hi : kr->lo;
        rc = buf_append(&p->hi, p->prefix.data, p->prefix.len);
        if (rc == 0)
            rc = key_encode_range(ks->range_type, hb, &p->hi);
        p->hi_excl = kr->op == EXPR_KEY_LT;
    }
    if (rc)
        return tm_error_set(&r->err, rc, "encoding the key failed");
    /* Index rows continue after the sort component (the table's key
     * follows), so "up to v inclusive" means every key that starts with
     * the encoding of v, and "after v" starts past all of them: both
     * bounds become that encoding's successor.  For table rows nothing
     * follows the sort component and this changes nothing. */
    if (p->lo.len && p->lo_excl) {
        successor(&p->lo);
        p->lo_excl = 0;
    }
    if (p->hi.len && !p->hi_excl) {
        successor(&p->hi);
        p->hi_excl = 1;
    }
    return close_bounds(r, p);
}

/* Close the open sides of the range at the partition (or begins_with)
 * prefix: from the prefix itself, up to (excluding) its successor, the
 * smallest key greater than every key that starts with the prefix. */
static int close_bounds(struct api_req *r, struct page *p)
{
    int rc = 0;

    if (p->lo.len == 0)
        rc = buf_append(&p->lo, p->prefix.data, p->prefix.len);
    if (rc == 0 && p->hi.len == 0) {
        rc = buf_append(&p->hi, p->prefix.data, p->prefix.len);
        successor(&p->hi);
        p->hi_excl = 1;
    }
    return rc ? tm_error_set(&r->err, rc, "out of memory") : 0;
}

int api_query(struct api_req *r)
{
    struct verrs v;
    struct page p;
    const char *name, *kc_text;
    size_t kc_len;
    int forward = 1, has_fwd, rc;
    struct expr_cond *kc;
    struct expr_key_range kr;

    memset(&p, 0, sizeof p);
    buf_init(&p.lo, 0);
    buf_init(&p.hi, 0);
    buf_init(&p.prefix, 0);
    buf_init(&p.start, 0);
    verrs_init(&v);
    if ((rc = req_string(r, r->body, "KeyConditionExpression", &kc_text,
                         &kc_len)) ||
        (rc = req_bool(r, r->body, "ScanIndexForward", &forward,
                       &has_fwd))) {
        buf_free(&v.msg);
        return rc;
    }
    if ((rc = parse_common(r, &v, &p, &name)))
        goto out;
    p.reverse = has_fwd && !forward;
    if (kc_text == NULL) {
        rc = tm_error_set(&r->err, TM_EVALIDATION,
                          "Either the KeyConditions or KeyConditionExpression"
                          " parameter must be specified in the request.");
        goto out;
    }
    /* DDB: a Query's filter may not read the key it queries by */
    if (p.filter) {
        const char *keys[2] = {p.ks->hash_name, p.ks->range_name};
        for (int i = 0; i < 2; i++)
            if (keys[i] && expr_cond_uses(p.filter, keys[i])) {
                rc = tm_error_set(&r->err, TM_EVALIDATION,
                                  "Filter Expression can only contain "
                                  "non-primary key attributes: Primary key "
                                  "attribute: %s",
                                  keys[i]);
                goto out;
            }
    }
    if ((rc = expr_parse_condition(p.ec, EXPR_KEY_CONDITION, kc_text, kc_len,
                                   &kc, &r->err)) ||
        (rc = expr_ctx_finish(p.ec, &r->err)) ||
        (rc = expr_key_condition(kc, p.ks, &kr, &r->err)))
        goto out;
    page_free(&p);
    if ((rc = query_bounds(r, &p, &kr)) || (rc = parse_start_key(r, &p)))
        goto out;
    /* DDB: the cursor must lie inside the key condition's range */
    if (p.has_start) {
        int save = p.reverse, inside;
        p.reverse = 0; /* check the upper side */
        inside = in_bounds(&p, p.start.data, p.start.len);
        p.reverse = 1; /* and the lower side */
        inside = inside && in_bounds(&p, p.start.data, p.start.len);
        p.reverse = save;
        if (p.start.len < p.prefix.len ||
            memcmp(p.start.data, p.prefix.data, p.prefix.len) != 0) {
            rc = tm_error_set(&r->err, TM_EVALIDATION,
                              "The provided starting key is outside query "
                              "boundaries based on provided conditions");
            goto out;
        }
        if (!inside) {
            rc = tm_error_set(&r->err, TM_EVALIDATION,
                              "The provided starting key does not match the "
                              "range key predicate");
            goto out;
        }
    }
    rc = walk(r, &p);
out:
    page_free(&p);
    return rc;
}
