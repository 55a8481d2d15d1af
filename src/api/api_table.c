/*
 * api_table.c - the control plane for tables: CreateTable, DescribeTable,
 * ListTables, UpdateTable, DeleteTable.
 *
 * Lifecycle, as DynamoDB's compressed to what a local server needs:
 * CreateTable answers TableStatus CREATING and the table is ACTIVE as soon
 * as the creation is durable (before the response is sent), so
 * `aws dynamodb wait table-exists` returns at its first poll.  UpdateTable
 * answers UPDATING and DeleteTable DELETING in the same way.
 *
 * Every change goes through the writer (engine_op), so it is logged,
 * ordered with item writes and replayed after a crash.  Validation of the
 * request's shape happens on the HTTP thread; checks against the current
 * state (exists, already exists, same throughput) in apply().
 */
#include "api/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "base/clock.h"
#include "base/jsonw.h"

/* A table ARN in a TableName field names the table after ":table/". */
static const char *name_arg(const char *s)
{
    const char *p;

    if (s == NULL || strncmp(s, "arn:", 4) != 0)
        return s;
    p = strstr(s, ":table/");
    return p ? p + 7 : s;
}

static void new_uuid(char out[40])
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

/* ProvisionedThroughput {ReadCapacityUnits, WriteCapacityUnits}: shape
 * checks into `v`.  *present tells whether the member was given. */
static int parse_throughput(struct api_req *r, struct verrs *v,
                            int64_t *rcu, int64_t *wcu, int *present)
{
    json_t *pt;
    int has_r, has_w, rc;

    *present = 0;
    rc = req_object(r, r->body, "ProvisionedThroughput", &pt);
    if (rc || pt == NULL)
        return rc;
    *present = 1;
    if ((rc = req_int(r, pt, "ReadCapacityUnits", rcu, &has_r)) ||
        (rc = req_int(r, pt, "WriteCapacityUnits", wcu, &has_w)))
        return rc;
    if (!has_r)
        verrs_add(v, "null", "provisionedThroughput.readCapacityUnits",
                  "Member must not be null");
    else if (*rcu < 1) {
        char shown[32];
        snprintf(shown, sizeof shown, "'%lld'", (long long)*rcu);
        verrs_add(v, shown, "provisionedThroughput.readCapacityUnits",
                  "Member must have value greater than or equal to 1");
    }
    if (!has_w)
        verrs_add(v, "null", "provisionedThroughput.writeCapacityUnits",
                  "Member must not be null");
    else if (*wcu < 1) {
        char shown[32];
        snprintf(shown, sizeof shown, "'%lld'", (long long)*wcu);
        verrs_add(v, shown, "provisionedThroughput.writeCapacityUnits",
                  "Member must have value greater than or equal to 1");
    }
    return 0;
}

static int parse_billing(struct api_req *r, struct verrs *v,
                         enum billing_mode *out, int *present)
{
    const char *s;
    int rc = req_string(r, r->body, "BillingMode", &s, NULL);

    *present = 0;
    if (rc || s == NULL)
        return rc;
    *present = 1;
    if (strcmp(s, "PROVISIONED") == 0) {
        *out = BILLING_PROVISIONED;
    } else if (strcmp(s, "PAY_PER_REQUEST") == 0) {
        *out = BILLING_PAY_PER_REQUEST;
    } /* other values: reported by the model check (model.c) */
    return 0;
}

/* ---- CreateTable ------------------------------------------------------- */

struct create_state {
    struct table *t;     /* heap; owned here until the engine takes it */
    struct table *desc;  /* arena copy for the response */
};

static int create_apply(struct engine_wtx *w, void *arg, struct tm_error *err)
{
    struct api_req *r = arg;
    struct create_state *s = r->state;
    int rc;

    s->t->created_ms = engine_wtx_time(w);
    /* DDB: a table made on-demand reports LastUpdateToPayPerRequestDateTime
     * = its creation, and keeps a BillingModeSummary after a switch. */
    if (s->t->billing == BILLING_PAY_PER_REQUEST)
        s->t->ppr_since_ms = s->t->created_ms;
    s->desc = table_copy(s->t, r->arena);
    if (s->desc == NULL)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    rc = engine_wtx_create_table(w, s->t);
    if (rc == TM_EINUSE)
        return tm_error_set(err, rc, "Table already exists: %s", s->t->name);
    if (rc)
        return tm_error_set(err, rc, "creating table %s failed",
                            s->t->name);
    s->desc->no = s->t->no;
    s->t = NULL; /* the catalog owns it now */
    return 0;
}

static int create_finish(struct api_req *r)
{
    struct create_state *s = r->state;
    int rc;

    table_free(s->t);
    s->t = NULL;
    if (r->op.rc < 0)
        return r->op.rc;
    rc = json_put_raw(&r->out, "{\"TableDescription\":");
    if (rc == 0)
        rc = write_table_description(r, s->desc, "CREATING", &r->out);
    return rc ? rc : buf_putc(&r->out, '}');
}

static const char *key_type_of(json_t *el)
{
    json_t *k = json_object_get(el, "KeyType");
    return json_is_string(k) ? json_string_value(k) : NULL;
}

static const char *attr_name_of(json_t *el)
{
    json_t *k = json_object_get(el, "AttributeName");
    return json_is_string(k) ? json_string_value(k) : NULL;
}

/* Shape checks of one list of {AttributeName, <member>} structures. */
static int check_elements(struct api_req *r, struct verrs *v, json_t *list,
                          const char *path, const char *member,
                          const char *mpath, const char *const *allowed,
                          const char *enum_text)
{
    size_t i;
    json_t *el;

    json_array_foreach(list, i, el) {
        char p[96], shown[300];
        const char *name, *val;
        int rc;

        if (!json_is_object(el))
            return tm_error_set(&r->err, TM_ESERIALIZATION,
                                "Unexpected value type in payload");
        if ((rc = req_string(r, el, "AttributeName", &name, NULL)) ||
            (rc = req_string(r, el, member, &val, NULL)))
            return rc;
        snprintf(p, sizeof p, "%s.%zu.member.attributeName", path, i + 1);
        if (name == NULL)
            verrs_add(v, "null", p, "Member must not be null");
        else if (strlen(name) < 1 || strlen(name) > 255) {
            snprintf(shown, sizeof shown, "'%.255s'", name);
            verrs_add(v, shown, p,
                      strlen(name) < 1
                          ? "Member must have length greater than or equal "
                            "to 1"
                          : "Member must have length less than or equal to "
                            "255");
        }
        snprintf(p, sizeof p, "%s.%zu.member.%s", path, i + 1, mpath);
        if (val == NULL)
            verrs_add(v, "null", p, "Member must not be null");
        /* values outside the enum: reported by the model check */
        (void)allowed;
        (void)enum_text;
    }
    return 0;
}

int api_create_table(struct api_req *r)
{
    static const char *const types[] = {"B", "N", "S", NULL};
    static const char *const ktypes[] = {"HASH", "RANGE", NULL};
    struct verrs v;
    const char *name, *hash, *range = NULL;
    json_t *attrs, *keys, *j;
    enum billing_mode billing = BILLING_PROVISIONED;
    int64_t rcu = 0, wcu = 0;
    int has_billing, has_pt, rc;
    struct create_state *s;
    struct table *t;
    size_t i, nkeys;

    verrs_init(&v);
    if ((rc = req_string(r, r->body, "TableName", &name, NULL)) ||
        (rc = req_array(r, r->body, "AttributeDefinitions", &attrs)) ||
        (rc = req_array(r, r->body, "KeySchema", &keys)) ||
        (rc = parse_billing(r, &v, &billing, &has_billing)) ||
        (rc = parse_throughput(r, &v, &rcu, &wcu, &has_pt)))
        goto fail;
    check_table_name(&v, name, "tableName");
    if (attrs == NULL)
        verrs_add(&v, "null", "attributeDefinitions",
                  "Member must not be null");
    else if ((rc = check_elements(r, &v, attrs, "attributeDefinitions",
                                  "AttributeType", "attributeType", types,
                                  "Member must satisfy enum value set: [B, "
                                  "N, S]")))
        goto fail;
    if (keys == NULL) {
        verrs_add(&v, "null", "keySchema", "Member must not be null");
    } else {
        if (json_array_size(keys) < 1)
            verrs_add(&v, "'[]'", "keySchema",
                      "Member must have length greater than or equal to 1");
        if (json_array_size(keys) > 2) {
            /* DDB shows the list as Java's toString of the elements */
            struct buf shown;
            json_t *el;
            buf_init(&shown, 16384);
            buf_printf(&shown, "'[");
            json_array_foreach(keys, i, el) {
                const char *an = attr_name_of(el), *kt = key_type_of(el);
                buf_printf(&shown,
                           "%sKeySchemaElement(attributeName=%s, keyType=%s)",
                           i ? ", " : "", an ? an : "null", kt ? kt : "null");
            }
            buf_printf(&shown, "]'");
            buf_putc(&shown, 0);
            verrs_add(&v, shown.data ? (char *)shown.data : "'[]'",
                      "keySchema",
                      "Member must have length less than or equal to 2");
            buf_free(&shown);
        }
        rc = check_elements(r, &v, keys, "keySchema", "KeyType", "keyType",
                            ktypes,
                            "Member must satisfy enum value set: [HASH, "
                            "RANGE]");
        if (rc)
            goto fail;
    }
    if ((rc = verrs_finish(&v, r)))
        return rc;

    /* DDB: indexes and streams arrive with their own issue; refuse them
     * plainly rather than create a table without them. */
    for (const char *const *f = (const char *const[]){
             "GlobalSecondaryIndexes", "LocalSecondaryIndexes",
             "StreamSpecification", NULL};
         *f; f++) {
        j = json_object_get(r->body, *f);
        if (j && !json_is_null(j) &&
            !(json_is_array(j) && json_array_size(j) == 0))
            return tm_error_set(&r->err, TM_EVALIDATION,
                                "%s is not supported by this version of "
                                "Tidemark",
                                *f);
    }

    if (billing == BILLING_PROVISIONED && !has_pt)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            has_billing
                                ? "One or more parameter values were invalid:"
                                  " ReadCapacityUnits and WriteCapacityUnits "
                                  "must both be specified when BillingMode is"
                                  " PROVISIONED"
                                : "No provisioned throughput specified for "
                                  "the table");
    if (billing == BILLING_PAY_PER_REQUEST && has_pt)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "One or more parameter values were invalid: "
                            "Neither ReadCapacityUnits nor "
                            "WriteCapacityUnits can be specified when "
                            "BillingMode is PAY_PER_REQUEST");
    nkeys = json_array_size(keys);
    hash = attr_name_of(json_array_get(keys, 0));
    if (strcmp(key_type_of(json_array_get(keys, 0)), "HASH") != 0)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "Invalid KeySchema: The first KeySchemaElement "
                            "is not a HASH key type");
    if (nkeys == 2) {
        range = attr_name_of(json_array_get(keys, 1));
        if (strcmp(key_type_of(json_array_get(keys, 1)), "RANGE") != 0)
            return tm_error_set(&r->err, TM_EVALIDATION,
                                "Invalid KeySchema: The second "
                                "KeySchemaElement is not a RANGE key type");
        if (strcmp(hash, range) == 0)
            return tm_error_set(&r->err, TM_EVALIDATION,
                                "Both the Hash Key and the Range Key element "
                                "in the KeySchema have the same name");
    }
    for (i = 0; i < json_array_size(attrs); i++)
        for (size_t k = i + 1; k < json_array_size(attrs); k++)
            if (strcmp(attr_name_of(json_array_get(attrs, i)),
                       attr_name_of(json_array_get(attrs, k))) == 0)
                return tm_error_set(&r->err, TM_EVALIDATION,
                                    "Cannot have two attributes with the "
                                    "same name");

    t = table_new();
    if (t == NULL)
        return tm_error_set(&r->err, TM_ENOMEM, "out of memory");
    t->name = strdup(name_arg(name));
    t->attrs = calloc(json_array_size(attrs) + 1, sizeof *t->attrs);
    if (t->name == NULL || t->attrs == NULL)
        goto nomem;
    json_array_foreach(attrs, i, j) {
        const char *ty = json_string_value(json_object_get(j,
                                                           "AttributeType"));
        t->attrs[i].name = strdup(attr_name_of(j));
        t->attrs[i].type = av_type_parse(ty, strlen(ty));
        t->nattrs = i + 1;
        if (t->attrs[i].name == NULL)
            goto nomem;
    }
    if (table_bind_keys(t, hash, range) != 0) {
        struct buf kb, ab;
        buf_init(&kb, 4096);
        buf_init(&ab, 4096);
        buf_printf(&kb, "%s%s%s", hash, range ? ", " : "",
                   range ? range : "");
        for (i = 0; i < t->nattrs; i++)
            buf_printf(&ab, "%s%s", i ? ", " : "", t->attrs[i].name);
        buf_putc(&kb, 0);
        buf_putc(&ab, 0);
        tm_error_set(&r->err, TM_EVALIDATION,
                     "One or more parameter values were invalid: Some index "
                     "key attributes are not defined in "
                     "AttributeDefinitions. Keys: [%s], AttributeDefinitions:"
                     " [%s]",
                     (char *)kb.data, (char *)ab.data);
        buf_free(&kb);
        buf_free(&ab);
        table_free(t);
        return TM_EVALIDATION;
    }
    if (t->nattrs != nkeys) {
        table_free(t);
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "One or more parameter values were invalid: "
                            "Number of attributes in KeySchema does not "
                            "exactly match number of attributes defined in "
                            "AttributeDefinitions");
    }
    new_uuid(t->id);
    t->billing = billing;
    t->rcu = billing == BILLING_PROVISIONED ? rcu : 0;
    t->wcu = billing == BILLING_PROVISIONED ? wcu : 0;
    t->status = TABLE_ACTIVE;

    s = arena_calloc(r->arena, 1, sizeof *s);
    if (s == NULL)
        goto nomem;
    s->t = t;
    r->state = s;
    r->op.apply = create_apply;
    r->op.arg = r;
    r->finish = create_finish;
    return API_PENDING;
nomem:
    table_free(t);
    return tm_error_set(&r->err, TM_ENOMEM, "out of memory");
fail:
    buf_free(&v.msg);
    return rc;
}

/* ---- DescribeTable ------------------------------------------------------ */

static int table_arg(struct api_req *r, const char **name)
{
    struct verrs v;
    int rc;

    verrs_init(&v);
    rc = req_string(r, r->body, "TableName", name, NULL);
    if (rc) {
        buf_free(&v.msg);
        return rc;
    }
    if (*name == NULL || strncmp(*name, "arn:", 4) != 0)
        check_table_name(&v, *name, "tableName");
    rc = verrs_finish(&v, r);
    *name = name_arg(*name);
    return rc;
}

static int not_found(struct api_req *r, const char *name)
{
    return tm_error_set(&r->err, TM_ENOTFOUND,
                        "Requested resource not found: Table: %s not found",
                        name);
}

int api_describe_table(struct api_req *r)
{
    const char *name;
    struct table *t;
    int rc = table_arg(r, &name);

    if (rc)
        return rc;
    rc = catalog_get(engine_catalog(r->ctx->engine), name, r->arena, &t);
    if (rc == TM_ENOTFOUND)
        return not_found(r, name);
    if (rc)
        return rc;
    rc = json_put_raw(&r->out, "{\"Table\":");
    if (rc == 0)
        rc = write_table_description(r, t, NULL, &r->out);
    return rc ? rc : buf_putc(&r->out, '}');
}

/* ---- ListTables -------------------------------------------------------- */

int api_list_tables(struct api_req *r)
{
    struct verrs v;
    const char *start;
    int64_t limit = 100;
    int has_limit, more, rc;
    char **names;
    size_t n;

    verrs_init(&v);
    if ((rc = req_string(r, r->body, "ExclusiveStartTableName", &start,
                         NULL)) ||
        (rc = req_int(r, r->body, "Limit", &limit, &has_limit))) {
        buf_free(&v.msg);
        return rc;
    }
    if (start)
        check_table_name(&v, start, "exclusiveStartTableName");
    if (has_limit && (limit < 1 || limit > 100)) {
        char shown[32];
        snprintf(shown, sizeof shown, "'%lld'", (long long)limit);
        verrs_add(&v, shown, "limit",
                  limit < 1 ? "Member must have value greater than or equal"
                              " to 1"
                            : "Member must have value less than or equal to "
                              "100");
    }
    if ((rc = verrs_finish(&v, r)))
        return rc;
    rc = catalog_names(engine_catalog(r->ctx->engine), start, (size_t)limit,
                       r->arena, &names, &n, &more);
    if (rc)
        return rc;
    rc |= json_put_raw(&r->out, "{\"TableNames\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            rc |= buf_putc(&r->out, ',');
        rc |= json_put_cstr(&r->out, names[i]);
    }
    rc |= buf_putc(&r->out, ']');
    if (more && n > 0) {
        rc |= json_put_raw(&r->out, ",\"LastEvaluatedTableName\":");
        rc |= json_put_cstr(&r->out, names[n - 1]);
    }
    rc |= buf_putc(&r->out, '}');
    return rc ? TM_ENOMEM : 0;
}

/* ---- DeleteTable ------------------------------------------------------- */

struct name_state {
    const char *name;
    struct table *desc;
    /* UpdateTable's request */
    int has_billing, has_pt;
    enum billing_mode billing;
    int64_t rcu, wcu;
};

static int delete_apply(struct engine_wtx *w, void *arg, struct tm_error *err)
{
    struct api_req *r = arg;
    struct name_state *s = r->state;
    int rc;

    if (catalog_get(engine_catalog(r->ctx->engine), s->name, r->arena,
                    &s->desc) != 0)
        return tm_error_set(err, TM_ENOTFOUND,
                            "Requested resource not found: Table: %s not "
                            "found",
                            s->name);
    rc = engine_wtx_delete_table(w, s->name);
    return rc ? tm_error_set(err, rc, "deleting table %s failed", s->name)
              : 0;
}

static int delete_finish(struct api_req *r)
{
    struct name_state *s = r->state;
    int rc;

    if (r->op.rc < 0)
        return r->op.rc;
    rc = json_put_raw(&r->out, "{\"TableDescription\":");

    if (rc == 0)
        rc = write_table_description(r, s->desc, "DELETING", &r->out);
    return rc ? rc : buf_putc(&r->out, '}');
}

static int start_named_op(struct api_req *r, const char *name,
                          int (*apply)(struct engine_wtx *, void *,
                                       struct tm_error *),
                          int (*finish)(struct api_req *),
                          struct name_state **out)
{
    struct name_state *s = arena_calloc(r->arena, 1, sizeof *s);

    if (s == NULL)
        return tm_error_set(&r->err, TM_ENOMEM, "out of memory");
    s->name = name;
    r->state = s;
    r->op.apply = apply;
    r->op.arg = r;
    r->finish = finish;
    if (out)
        *out = s;
    return API_PENDING;
}

int api_delete_table(struct api_req *r)
{
    const char *name;
    int rc = table_arg(r, &name);

    if (rc)
        return rc;
    return start_named_op(r, name, delete_apply, delete_finish, NULL);
}

/* ---- UpdateTable ------------------------------------------------------- */

static int update_apply(struct engine_wtx *w, void *arg, struct tm_error *err)
{
    struct api_req *r = arg;
    struct name_state *s = r->state;
    struct table *cur, *t;
    enum billing_mode bm;
    int64_t now = engine_wtx_time(w);
    int rc;

    if (catalog_get(engine_catalog(r->ctx->engine), s->name, r->arena,
                    &cur) != 0)
        return tm_error_set(err, TM_ENOTFOUND,
                            "Requested resource not found: Table: %s not "
                            "found",
                            s->name);
    bm = s->has_billing ? s->billing : cur->billing;
    if (bm == BILLING_PAY_PER_REQUEST && s->has_pt)
        return tm_error_set(err, TM_EVALIDATION,
                            "One or more parameter values were invalid: "
                            "Neither ReadCapacityUnits nor "
                            "WriteCapacityUnits can be specified when "
                            "BillingMode is PAY_PER_REQUEST");
    if (bm == BILLING_PROVISIONED && cur->billing == BILLING_PAY_PER_REQUEST
        && !s->has_pt)
        return tm_error_set(err, TM_EVALIDATION,
                            "One or more parameter values were invalid: "
                            "ReadCapacityUnits and WriteCapacityUnits must "
                            "both be specified when BillingMode is "
                            "PROVISIONED");
    if (bm == BILLING_PROVISIONED && cur->billing == BILLING_PROVISIONED &&
        s->has_pt && s->rcu == cur->rcu && s->wcu == cur->wcu)
        return tm_error_set(
            err, TM_EVALIDATION,
            "The provisioned throughput for the table will not change. The "
            "requested value equals the current value. Current "
            "ReadCapacityUnits provisioned for the table: %lld. Requested "
            "ReadCapacityUnits: %lld. Current WriteCapacityUnits provisioned "
            "for the table: %lld. Requested WriteCapacityUnits: %lld. Refer "
            "to the Amazon DynamoDB Developer Guide for current limits and "
            "how to increase them.",
            (long long)cur->rcu, (long long)s->rcu, (long long)cur->wcu,
            (long long)s->wcu);
    t = table_copy(cur, NULL);
    if (t == NULL)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    if (bm == BILLING_PAY_PER_REQUEST) {
        if (cur->billing != BILLING_PAY_PER_REQUEST)
            t->ppr_since_ms = now;
        t->rcu = t->wcu = 0;
    } else if (s->has_pt) {
        if (s->rcu > cur->rcu || s->wcu > cur->wcu)
            t->last_increase_ms = now;
        if (cur->billing == BILLING_PROVISIONED &&
            (s->rcu < cur->rcu || s->wcu < cur->wcu)) {
            t->last_decrease_ms = now;
            t->decreases_today++;
        }
        t->rcu = s->rcu;
        t->wcu = s->wcu;
    }
    t->billing = bm;
    s->desc = table_copy(t, r->arena);
    if (s->desc == NULL) {
        table_free(t);
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    }
    rc = engine_wtx_update_table(w, t);
    if (rc) {
        table_free(t);
        return tm_error_set(err, rc, "updating table %s failed", s->name);
    }
    return 0;
}

static int update_finish(struct api_req *r)
{
    struct name_state *s = r->state;
    int rc;

    if (r->op.rc < 0)
        return r->op.rc;
    rc = json_put_raw(&r->out, "{\"TableDescription\":");

    if (rc == 0)
        rc = write_table_description(r, s->desc, "UPDATING", &r->out);
    return rc ? rc : buf_putc(&r->out, '}');
}

int api_update_table(struct api_req *r)
{
    struct verrs v;
    const char *name;
    struct name_state *s = NULL;
    enum billing_mode bm = BILLING_PROVISIONED;
    int64_t rcu = 0, wcu = 0;
    int has_billing, has_pt, rc;

    rc = table_arg(r, &name);
    if (rc)
        return rc;
    verrs_init(&v);
    if ((rc = parse_billing(r, &v, &bm, &has_billing)) ||
        (rc = parse_throughput(r, &v, &rcu, &wcu, &has_pt))) {
        buf_free(&v.msg);
        return rc;
    }
    if ((rc = verrs_finish(&v, r)))
        return rc;
    for (const char *const *f = (const char *const[]){
             "GlobalSecondaryIndexUpdates", "StreamSpecification",
             "ReplicaUpdates", NULL};
         *f; f++) {
        json_t *j = json_object_get(r->body, *f);
        if (j && !json_is_null(j))
            return tm_error_set(&r->err, TM_EVALIDATION,
                                "%s is not supported by this version of "
                                "Tidemark",
                                *f);
    }
    if (!has_billing && !has_pt &&
        json_object_get(r->body, "SSESpecification") == NULL)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "At least one of ProvisionedThroughput, "
                            "BillingMode, UpdateStreamEnabled, "
                            "GlobalSecondaryIndexUpdates or SSESpecification "
                            "or ReplicaUpdates is required");
    rc = start_named_op(r, name, update_apply, update_finish, &s);
    if (rc != API_PENDING)
        return rc;
    s->has_billing = has_billing;
    s->billing = bm;
    s->has_pt = has_pt;
    s->rcu = rcu;
    s->wcu = wcu;
    return rc;
}
