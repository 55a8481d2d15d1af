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
#include "api/api_streams.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "base/clock.h"
#include "base/jsonw.h"
#include "base/log.h"
#include "api/api_tags.h"
#include "backup/backup.h"
#include "index/index.h"

/* A table ARN in a TableName field names the table after ":table/". */
static const char *name_arg(const char *s)
{
    const char *p;

    if (s == NULL || strncmp(s, "arn:", 4) != 0)
        return s;
    p = strstr(s, ":table/");
    return p ? p + 7 : s;
}


/* `path` under the prefix `pfx` ("" for CreateTable,
 * "tableCreationParameters." for ImportTable), for messages. */
static const char *path_in(struct api_req *r, const char *pfx,
                           const char *path)
{
    char *p;

    if (pfx[0] == '\0')
        return path;
    p = arena_printf(r->arena, "%s%s", pfx, path);
    return p ? p : path;
}

/* ProvisionedThroughput {ReadCapacityUnits, WriteCapacityUnits} of `obj`:
 * shape checks into `v`.  *present tells whether the member was given. */
static int parse_throughput(struct api_req *r, json_t *obj, const char *pfx,
                            struct verrs *v, int64_t *rcu, int64_t *wcu,
                            int *present)
{
    json_t *pt;
    int has_r, has_w, rc;

    *present = 0;
    rc = req_object(r, obj, "ProvisionedThroughput", &pt);
    if (rc || pt == NULL)
        return rc;
    *present = 1;
    if ((rc = req_int(r, pt, "ReadCapacityUnits", rcu, &has_r)) ||
        (rc = req_int(r, pt, "WriteCapacityUnits", wcu, &has_w)))
        return rc;
    if (!has_r)
        verrs_add(v, "null",
                  path_in(r, pfx, "provisionedThroughput.readCapacityUnits"),
                  "Member must not be null");
    else if (*rcu < 1) {
        char shown[32];
        snprintf(shown, sizeof shown, "'%lld'", (long long)*rcu);
        verrs_add(v, shown,
                  path_in(r, pfx, "provisionedThroughput.readCapacityUnits"),
                  "Member must have value greater than or equal to 1");
    }
    if (!has_w)
        verrs_add(v, "null",
                  path_in(r, pfx, "provisionedThroughput.writeCapacityUnits"),
                  "Member must not be null");
    else if (*wcu < 1) {
        char shown[32];
        snprintf(shown, sizeof shown, "'%lld'", (long long)*wcu);
        verrs_add(v, shown,
                  path_in(r, pfx, "provisionedThroughput.writeCapacityUnits"),
                  "Member must have value greater than or equal to 1");
    }
    return 0;
}

static int parse_billing(struct api_req *r, json_t *obj,
                         enum billing_mode *out, int *present)
{
    const char *s;
    int rc = req_string(r, obj, "BillingMode", &s, NULL);

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

/* ---- secondary index definitions ---------------------------------------- */

static const char *str_member(json_t *o, const char *k)
{
    json_t *j = json_object_get(o, k);
    return json_is_string(j) ? json_string_value(j) : NULL;
}

/* Parse one GSI/LSI definition (shape already checked by the model) into
 * *ix, validating it against table t as DynamoDB does. */
static int parse_index(struct api_req *r, struct table *t, json_t *d,
                       enum index_kind kind, struct table_index *ix)
{
    const char *name = str_member(d, "IndexName"), *ptype, *hash, *range;
    json_t *ks = json_object_get(d, "KeySchema");
    json_t *proj = json_object_get(d, "Projection");
    json_t *pt = json_object_get(d, "ProvisionedThroughput"), *nka;
    size_t nks = json_array_size(ks);

    if (name == NULL || ks == NULL || proj == NULL) {
        const char *what = name == NULL ? "indexName"
                           : ks == NULL ? "keySchema" : "projection";
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "1 validation error detected: Value null at "
                            "'%sSecondaryIndexes.1.member.%s' failed to "
                            "satisfy constraint: Member must not be null",
                            kind == INDEX_GSI ? "global" : "local", what);
    }
    if (strlen(name) < 3 || strlen(name) > 255 ||
        strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789_.-") != strlen(name))
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "1 validation error detected: Value '%s' at "
                            "'indexName' failed to satisfy constraint: "
                            "Member must satisfy regular expression pattern:"
                            " [a-zA-Z0-9_.-]+",
                            name);
    if (nks < 1 || nks > 2)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "1 validation error detected: Value at "
                            "'keySchema' failed to satisfy constraint: "
                            "Member must have length less than or equal to "
                            "2");
    hash = str_member(json_array_get(ks, 0), "AttributeName");
    range = nks == 2 ? str_member(json_array_get(ks, 1), "AttributeName")
                     : NULL;
    if (hash == NULL ||
        strcmp(str_member(json_array_get(ks, 0), "KeyType") ?
                   str_member(json_array_get(ks, 0), "KeyType") : "",
               "HASH") != 0)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "Invalid KeySchema: The first KeySchemaElement "
                            "is not a HASH key type");
    if (nks == 2 &&
        (range == NULL ||
         strcmp(str_member(json_array_get(ks, 1), "KeyType") ?
                    str_member(json_array_get(ks, 1), "KeyType") : "",
                "RANGE") != 0))
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "Invalid KeySchema: The second KeySchemaElement "
                            "is not a RANGE key type");
    if (kind == INDEX_LSI) {
        if (t->ks.range_name == NULL)
            return tm_error_set(&r->err, TM_EVALIDATION,
                                "One or more parameter values were invalid: "
                                "Table KeySchema does not have a range key, "
                                "which is required when specifying a "
                                "LocalSecondaryIndex");
        if (strcmp(hash, t->ks.hash_name) != 0)
            return tm_error_set(&r->err, TM_EVALIDATION,
                                "One or more parameter values were invalid: "
                                "Index KeySchema does not have the same "
                                "leading hash key as table KeySchema for "
                                "index: %s. index hash key: %s, table hash "
                                "key: %s",
                                name, hash, t->ks.hash_name);
        if (range == NULL)
            return tm_error_set(&r->err, TM_EVALIDATION,
                                "One or more parameter values were invalid: "
                                "Index KeySchema does not have a range key "
                                "for index: %s",
                                name);
    }
    ix->name = strdup(name);
    if (ix->name == NULL)
        return tm_error_set(&r->err, TM_ENOMEM, "out of memory");
    ix->kind = kind;
    if (table_index_bind(t, ix, hash, range) != 0) {
        struct buf ab;
        buf_init(&ab, 4096);
        for (size_t i = 0; i < t->nattrs; i++)
            buf_printf(&ab, "%s%s", i ? ", " : "", t->attrs[i].name);
        buf_putc(&ab, 0);
        tm_error_set(&r->err, TM_EVALIDATION,
                     "One or more parameter values were invalid: Some index "
                     "key attributes are not defined in AttributeDefinitions."
                     " Keys: [%s%s%s], AttributeDefinitions: [%s]",
                     hash, range ? ", " : "", range ? range : "",
                     ab.data ? (char *)ab.data : "");
        buf_free(&ab);
        return TM_EVALIDATION;
    }
    ptype = str_member(proj, "ProjectionType");
    nka = json_object_get(proj, "NonKeyAttributes");
    ix->proj = ptype == NULL                     ? PROJ_ALL
               : strcmp(ptype, "KEYS_ONLY") == 0 ? PROJ_KEYS_ONLY
               : strcmp(ptype, "INCLUDE") == 0   ? PROJ_INCLUDE
                                                 : PROJ_ALL;
    if (ptype == NULL)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "One or more parameter values were invalid: "
                            "Unknown ProjectionType: null");
    if (ix->proj == PROJ_INCLUDE && (nka == NULL || json_array_size(nka) == 0))
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "One or more parameter values were invalid: "
                            "ProjectionType is INCLUDE, but NonKeyAttributes "
                            "is not specified");
    if (ix->proj != PROJ_INCLUDE && nka && !json_is_null(nka))
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "One or more parameter values were invalid: "
                            "ProjectionType is %s, but NonKeyAttributes is "
                            "specified",
                            ptype);
    if (ix->proj == PROJ_INCLUDE) {
        size_t i;
        json_t *a;
        ix->include = calloc(json_array_size(nka), sizeof *ix->include);
        if (ix->include == NULL)
            return tm_error_set(&r->err, TM_ENOMEM, "out of memory");
        json_array_foreach(nka, i, a) {
            ix->include[i] = strdup(json_string_value(a));
            ix->ninclude = i + 1;
            if (ix->include[i] == NULL)
                return tm_error_set(&r->err, TM_ENOMEM, "out of memory");
        }
    }
    if (kind == INDEX_GSI) {
        if (t->billing == BILLING_PROVISIONED && pt == NULL)
            return tm_error_set(&r->err, TM_EVALIDATION,
                                "One or more parameter values were invalid: "
                                "ProvisionedThroughput must be specified for "
                                "index: %s",
                                name);
        if (t->billing == BILLING_PAY_PER_REQUEST && pt)
            return tm_error_set(&r->err, TM_EVALIDATION,
                                "One or more parameter values were invalid: "
                                "ProvisionedThroughput should not be "
                                "specified for index: %s when BillingMode is"
                                " PAY_PER_REQUEST",
                                name);
        if (pt) {
            json_t *rc = json_object_get(pt, "ReadCapacityUnits");
            json_t *wc = json_object_get(pt, "WriteCapacityUnits");
            ix->rcu = json_is_integer(rc) ? json_integer_value(rc) : 0;
            ix->wcu = json_is_integer(wc) ? json_integer_value(wc) : 0;
            if (ix->rcu < 1 || ix->wcu < 1)
                return tm_error_set(&r->err, TM_EVALIDATION,
                                    "One or more parameter values were "
                                    "invalid: ReadCapacityUnits and "
                                    "WriteCapacityUnits must both be "
                                    "specified and at least 1 for index: %s",
                                    name);
        }
    }
    ix->status = INDEX_ACTIVE;
    return 0;
}

/* GlobalSecondaryIndexes and LocalSecondaryIndexes of a CreateTable
 * (`obj`); ImportTable's parameters have no LSIs (`no_lsi`). */
static int parse_indexes(struct api_req *r, json_t *obj, int no_lsi,
                         struct table *t)
{
    json_t *g = json_object_get(obj, "GlobalSecondaryIndexes");
    json_t *l = no_lsi ? NULL : json_object_get(obj, "LocalSecondaryIndexes");
    size_t ng = json_array_size(g), nl = json_array_size(l), i;
    json_t *d;
    int rc;

    if (g && json_is_array(g) && ng == 0)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "One or more parameter values were invalid: List "
                            "of GlobalSecondaryIndexes is empty");
    if (l && json_is_array(l) && nl == 0)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "One or more parameter values were invalid: List "
                            "of LocalSecondaryIndexes is empty");
    if (ng > 20)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "One or more parameter values were invalid: "
                            "GlobalSecondaryIndex count exceeds the per-table"
                            " limit of 20");
    if (nl > 5)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "One or more parameter values were invalid: "
                            "Number of LocalSecondaryIndexes exceeds "
                            "per-table limit of 5");
    if (ng + nl == 0)
        return 0;
    t->indexes = calloc(ng + nl, sizeof *t->indexes);
    if (t->indexes == NULL)
        return tm_error_set(&r->err, TM_ENOMEM, "out of memory");
    json_array_foreach(l, i, d) {
        rc = parse_index(r, t, d, INDEX_LSI, &t->indexes[t->nindexes]);
        t->nindexes++;
        if (rc)
            return rc;
    }
    json_array_foreach(g, i, d) {
        rc = parse_index(r, t, d, INDEX_GSI, &t->indexes[t->nindexes]);
        t->nindexes++;
        if (rc)
            return rc;
    }
    for (i = 0; i < t->nindexes; i++)
        for (size_t k = i + 1; k < t->nindexes; k++)
            if (strcmp(t->indexes[i].name, t->indexes[k].name) == 0)
                return tm_error_set(&r->err, TM_EVALIDATION,
                                    "One or more parameter values were "
                                    "invalid: Duplicate index name: %s",
                                    t->indexes[i].name);
    return 0;
}

/* The number of distinct attributes used as keys by t and its indexes. */
static size_t key_attr_count(const struct table *t)
{
    const char *seen[2 + 2 * 25];
    size_t n = 0;

    seen[n++] = t->ks.hash_name;
    if (t->ks.range_name)
        seen[n++] = t->ks.range_name;
    for (size_t i = 0; i < t->nindexes; i++) {
        const char *k[2] = {t->indexes[i].ks.hash_name,
                            t->indexes[i].ks.range_name};
        for (int j = 0; j < 2; j++) {
            int dup = 0;
            if (k[j] == NULL)
                continue;
            for (size_t s = 0; s < n; s++)
                dup |= strcmp(seen[s], k[j]) == 0;
            if (!dup && n < sizeof seen / sizeof seen[0])
                seen[n++] = k[j];
        }
    }
    return n;
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
    /* DynamoDB Streams: a stream made with the table is labelled by it */
    if (s->t->stream != STREAM_NONE)
        s->t->stream_created_ms = s->t->created_ms;
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

static const char *const types[] = {"B", "N", "S", NULL};
static const char *const ktypes[] = {"HASH", "RANGE", NULL};

/* The new table a CreateTable (`obj` = the body, `pfx` "") or an
 * ImportTable (`obj` = TableCreationParameters, `pfx`
 * "tableCreationParameters.", `for_import`: no LSIs, tags or stream)
 * describes, validated as DynamoDB validates it; ACTIVE, with a new
 * TableId.  On success *out is the caller's (table_free). */
static int table_parse(struct api_req *r, json_t *obj, const char *pfx,
                       int for_import, struct table **out)
{
    struct verrs v;
    const char *name, *hash, *range = NULL;
    json_t *attrs, *keys, *j;
    enum billing_mode billing = BILLING_PROVISIONED;
    int64_t rcu = 0, wcu = 0;
    int has_billing, has_pt, rc;
    struct stream_spec spec;
    enum stream_view view = STREAM_NONE;
    struct table *t;
    size_t i, nkeys;

    *out = NULL;
    memset(&spec, 0, sizeof spec);
    verrs_init(&v);
    if ((rc = req_string(r, obj, "TableName", &name, NULL)) ||
        (rc = req_array(r, obj, "AttributeDefinitions", &attrs)) ||
        (rc = req_array(r, obj, "KeySchema", &keys)) ||
        (rc = parse_billing(r, obj, &billing, &has_billing)) ||
        (rc = parse_throughput(r, obj, pfx, &v, &rcu, &wcu, &has_pt)) ||
        (!for_import && (rc = stream_spec_parse(r, &v, &spec))))
        goto fail;
    check_table_name(&v, name, path_in(r, pfx, "tableName"));
    if (attrs == NULL)
        verrs_add(&v, "null", path_in(r, pfx, "attributeDefinitions"),
                  "Member must not be null");
    else if ((rc = check_elements(r, &v, attrs,
                                  path_in(r, pfx, "attributeDefinitions"),
                                  "AttributeType", "attributeType", types,
                                  "Member must satisfy enum value set: [B, "
                                  "N, S]")))
        goto fail;
    if (keys == NULL) {
        verrs_add(&v, "null", path_in(r, pfx, "keySchema"),
                  "Member must not be null");
    } else {
        if (json_array_size(keys) < 1)
            verrs_add(&v, "'[]'", path_in(r, pfx, "keySchema"),
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
                      path_in(r, pfx, "keySchema"),
                      "Member must have length less than or equal to 2");
            buf_free(&shown);
        }
        rc = check_elements(r, &v, keys, path_in(r, pfx, "keySchema"),
                            "KeyType", "keyType", ktypes,
                            "Member must satisfy enum value set: [HASH, "
                            "RANGE]");
        if (rc)
            goto fail;
    }
    if ((rc = verrs_finish(&v, r)))
        return rc;

    /* DynamoDB Streams: StreamSpecification's rules (api_streams.c) */
    if (!for_import && (rc = stream_spec_create(r, &spec, &view)))
        return rc;

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
    t->billing = billing;
    if (!for_import &&
        (rc = api_tags_parse(r, json_object_get(obj, "Tags"), &t->tags,
                             &t->ntags)) != 0) {
        table_free(t);
        return rc;
    }
    if ((rc = parse_indexes(r, obj, for_import, t)) != 0) {
        table_free(t);
        return rc;
    }
    (void)nkeys;
    if (t->nattrs != key_attr_count(t)) {
        table_free(t);
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "One or more parameter values were invalid: "
                            "Number of attributes in KeySchema does not "
                            "exactly match number of attributes defined in "
                            "AttributeDefinitions");
    }
    api_new_uuid(t->id);
    t->billing = billing;
    t->rcu = billing == BILLING_PROVISIONED ? rcu : 0;
    t->wcu = billing == BILLING_PROVISIONED ? wcu : 0;
    t->status = TABLE_ACTIVE;
    t->stream = view; /* DynamoDB Streams; labelled in create_apply */
    *out = t;
    return 0;
nomem:
    table_free(t);
    return tm_error_set(&r->err, TM_ENOMEM, "out of memory");
fail:
    buf_free(&v.msg);
    return rc;
}


int api_table_from_params(struct api_req *r, json_t *params,
                          struct table **out)
{
    return table_parse(r, params, "tableCreationParameters.", 1, out);
}

int api_create_table(struct api_req *r)
{
    struct create_state *s;
    struct table *t;
    int rc = table_parse(r, r->body, "", 0, &t);

    if (rc)
        return rc;
    s = arena_calloc(r->arena, 1, sizeof *s);
    if (s == NULL) {
        table_free(t);
        return tm_error_set(&r->err, TM_ENOMEM, "out of memory");
    }
    s->t = t;
    r->state = s;
    r->op.apply = create_apply;
    r->op.arg = r;
    r->finish = create_finish;
    return API_PENDING;
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
    json_t *gsi_update;       /* the one Create/Delete/Update, or NULL */
    const char *gsi_action;   /* "Create", "Delete", "Update" */
    json_t *attrs;            /* AttributeDefinitions for new index keys */
    const char *created;      /* name of an index to backfill */
    struct stream_spec stream; /* StreamSpecification (api_streams.h) */
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
    if (s->desc->status == TABLE_CREATING)
        return tm_error_set(err, TM_EINUSE,
                            "Attempt to change a resource which is still in "
                            "use: Table is being created: %s",
                            s->name);
    /* DynamoDB: a table cannot be deleted while a backup of it is made */
    if (engine_table_held(r->ctx->engine, s->desc->no))
        return tm_error_set(err, TM_EINUSE,
                            "Attempt to change a resource which is still in "
                            "use: Table is being backed up: %s",
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

/* DDB: DeleteTable on a table with point-in-time recovery leaves a SYSTEM
 * backup named "<table>$DeletedTableBackup", kept for 35 days, which
 * RestoreTableFromBackup restores and DeleteBackup refuses.  It is taken
 * from a snapshot just before the delete (writes racing with the delete
 * itself may miss it, as they may on DynamoDB); then the table's PITR base
 * snapshots go. */
static int delete_job(struct api_req *r)
{
    struct name_state *s = r->state;
    struct engine_op op = {0};
    struct backup_info *b, **v;
    struct table *t;
    char bname[320];
    size_t n;
    int rc;

    if (catalog_get(engine_catalog(r->ctx->engine), s->name, r->arena,
                    &t) == 0 &&
        engine_table_held(r->ctx->engine, t->no))
        return tm_error_set(&r->err, TM_EINUSE,
                            "Attempt to change a resource which is still in "
                            "use: Table is being backed up: %s",
                            s->name);
    if (catalog_get(engine_catalog(r->ctx->engine), s->name, r->arena,
                    &t) == 0 &&
        t->pitr && t->status == TABLE_ACTIVE) {
        snprintf(bname, sizeof bname, "%.255s$DeletedTableBackup", s->name);
        rc = backup_store_create(r->ctx->backups, r->ctx->engine, s->name,
                                 bname, BACKUP_SYSTEM, r->ctx->region,
                                 r->ctx->account, r->arena, &b, &r->err);
        if (rc)
            return rc;
    }
    op.apply = delete_apply;
    op.arg = r;
    if ((rc = engine_run(r->ctx->engine, &op)) != 0) {
        r->err = op.err;
        return rc;
    }
    if (s->desc && backup_store_list(r->ctx->backups, r->arena, &v, &n) == 0)
        for (size_t i = 0; i < n; i++)
            if (v[i]->type == BACKUP_BASE &&
                strcmp(v[i]->table_id, s->desc->id) == 0) {
                struct tm_error e;
                backup_store_delete(r->ctx->backups, v[i]->arn, r->arena, &b,
                                    &e);
            }
    return 0;
}

int api_delete_table(struct api_req *r)
{
    const char *name;
    struct table *t;
    int rc = table_arg(r, &name);

    if (rc)
        return rc;
    rc = start_named_op(r, name, delete_apply, delete_finish, NULL);
    if (rc == API_PENDING &&
        catalog_get(engine_catalog(r->ctx->engine), name, r->arena, &t) ==
            0 &&
        t->pitr) {
        r->op.apply = NULL;
        r->job = delete_job;
    }
    return rc;
}

/* ---- UpdateTable ------------------------------------------------------- */

/* Merge UpdateTable's AttributeDefinitions into t (new attributes only;
 * an existing one must keep its type). */
static int merge_attrs(struct table *t, json_t *attrs, struct tm_error *err)
{
    size_t i;
    json_t *a;

    json_array_foreach(attrs, i, a) {
        const char *n = str_member(a, "AttributeName");
        const char *ty = str_member(a, "AttributeType");
        int found = 0;
        struct attr_def *nv;
        if (n == NULL || ty == NULL)
            continue;
        for (size_t k = 0; k < t->nattrs; k++)
            if (strcmp(t->attrs[k].name, n) == 0) {
                found = 1;
                if (t->attrs[k].type != av_type_parse(ty, strlen(ty)))
                    return tm_error_set(err, TM_EVALIDATION,
                                        "One or more parameter values were "
                                        "invalid: Cannot change the type of "
                                        "existing attribute %s",
                                        n);
            }
        if (found)
            continue;
        nv = realloc(t->attrs, (t->nattrs + 1) * sizeof *nv);
        if (nv == NULL)
            return tm_error_set(err, TM_ENOMEM, "out of memory");
        t->attrs = nv;
        t->attrs[t->nattrs].name = strdup(n);
        t->attrs[t->nattrs].type = av_type_parse(ty, strlen(ty));
        if (t->attrs[t->nattrs].name == NULL)
            return tm_error_set(err, TM_ENOMEM, "out of memory");
        t->nattrs++;
    }
    /* key schemas point at the names themselves, which did not move */
    return 0;
}

static int apply_gsi_update(struct engine_wtx *w, struct api_req *r,
                            struct name_state *s, struct table *t,
                            struct tm_error *err)
{
    const char *iname = str_member(s->gsi_update, "IndexName");
    struct table_index *ix = iname ? table_index_find(t, iname) : NULL;
    int rc;

    if (iname == NULL)
        return tm_error_set(err, TM_EVALIDATION,
                            "1 validation error detected: Value null at "
                            "'globalSecondaryIndexUpdates.1.member.%s."
                            "indexName' failed to satisfy constraint: "
                            "Member must not be null",
                            s->gsi_action);
    if (strcmp(s->gsi_action, "Create") == 0) {
        struct table_index *nv;
        size_t n = 0;
        if (ix)
            return tm_error_set(err, TM_EVALIDATION,
                                "One or more parameter values were invalid: "
                                "Index %s already exists",
                                iname);
        for (size_t i = 0; i < t->nindexes; i++)
            n += t->indexes[i].kind == INDEX_GSI;
        if (n >= 20)
            return tm_error_set(err, TM_ELIMIT,
                                "One or more parameter values were invalid: "
                                "GlobalSecondaryIndex count exceeds the "
                                "per-table limit of 20");
        if (s->attrs && (rc = merge_attrs(t, s->attrs, err)))
            return rc;
        nv = realloc(t->indexes, (t->nindexes + 1) * sizeof *nv);
        if (nv == NULL)
            return tm_error_set(err, TM_ENOMEM, "out of memory");
        t->indexes = nv;
        ix = &t->indexes[t->nindexes];
        memset(ix, 0, sizeof *ix);
        t->nindexes++;
        rc = parse_index(r, t, s->gsi_update, INDEX_GSI, ix);
        if (rc) {
            *err = r->err;
            return rc;
        }
        ix->no = engine_wtx_alloc_no(w);
        ix->status = INDEX_CREATING;
        ix->backfilling = 1;
        s->created = arena_strdup(r->arena, iname);
        return 0;
    }
    if (ix == NULL || ix->kind != INDEX_GSI)
        return tm_error_set(err, TM_ENOTFOUND,
                            "Requested resource not found: Index: %s not "
                            "found",
                            iname);
    if (strcmp(s->gsi_action, "Delete") == 0) {
        size_t k = (size_t)(ix - t->indexes);
        rc = engine_wtx_drop_rows(w, ix->no);
        if (rc)
            return tm_error_set(err, rc, "dropping index %s failed", iname);
        free(ix->name);
        for (size_t i = 0; i < ix->ninclude; i++)
            free(ix->include[i]);
        free(ix->include);
        memmove(t->indexes + k, t->indexes + k + 1,
                (t->nindexes - k - 1) * sizeof *t->indexes);
        t->nindexes--;
        return 0;
    }
    /* Update: the index's provisioned throughput */
    {
        json_t *pt = json_object_get(s->gsi_update, "ProvisionedThroughput");
        json_t *rc2 = json_object_get(pt, "ReadCapacityUnits");
        json_t *wc2 = json_object_get(pt, "WriteCapacityUnits");
        if (t->billing == BILLING_PAY_PER_REQUEST)
            return tm_error_set(err, TM_EVALIDATION,
                                "One or more parameter values were invalid: "
                                "ProvisionedThroughput should not be "
                                "specified for index: %s when BillingMode is"
                                " PAY_PER_REQUEST",
                                iname);
        if (!json_is_integer(rc2) || !json_is_integer(wc2) ||
            json_integer_value(rc2) < 1 || json_integer_value(wc2) < 1)
            return tm_error_set(err, TM_EVALIDATION,
                                "One or more parameter values were invalid: "
                                "ReadCapacityUnits and WriteCapacityUnits "
                                "must both be specified and at least 1 for "
                                "index: %s",
                                iname);
        ix->rcu = json_integer_value(rc2);
        ix->wcu = json_integer_value(wc2);
    }
    return 0;
}

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
    if (s->gsi_update && (rc = apply_gsi_update(w, r, s, t, err)) != 0) {
        table_free(t);
        return rc;
    }
    /* DynamoDB Streams: enable (new label = now) or disable */
    if ((rc = stream_spec_update(&s->stream, cur, t, now, err)) != 0) {
        table_free(t);
        return rc;
    }
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
    if (s->created &&
        index_backfill_start(r->ctx->engine, s->name, s->created) != 0)
        tm_errorf("could not start the backfill of index %s of %s",
                  s->created, s->name);
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
    json_t *gsi, *gsi_obj = NULL;
    const char *gsi_act = NULL;
    enum billing_mode bm = BILLING_PROVISIONED;
    int64_t rcu = 0, wcu = 0;
    int has_billing, has_pt, rc;
    struct stream_spec spec;

    rc = table_arg(r, &name);
    if (rc)
        return rc;
    verrs_init(&v);
    if ((rc = parse_billing(r, r->body, &bm, &has_billing)) ||
        (rc = parse_throughput(r, r->body, "", &v, &rcu, &wcu, &has_pt)) ||
        (rc = stream_spec_parse(r, &v, &spec))) {
        buf_free(&v.msg);
        return rc;
    }
    if ((rc = verrs_finish(&v, r)))
        return rc;
    for (const char *const *f = (const char *const[]){
             "ReplicaUpdates", NULL};
         *f; f++) {
        json_t *j = json_object_get(r->body, *f);
        if (j && !json_is_null(j))
            return tm_error_set(&r->err, TM_EVALIDATION,
                                "%s is not supported by this version of "
                                "Tidemark",
                                *f);
    }
    gsi = json_object_get(r->body, "GlobalSecondaryIndexUpdates");
    if (gsi && json_is_array(gsi) && json_array_size(gsi) > 0) {
        json_t *u = json_array_get(gsi, 0);
        const char *acts[] = {"Create", "Delete", "Update"};
        int n = 0;
        if (json_array_size(gsi) > 1)
            return tm_error_set(&r->err, TM_ELIMIT,
                                "Subscriber limit exceeded: Only 1 online "
                                "index can be created or deleted "
                                "simultaneously per table");
        for (int k = 0; k < 3; k++) {
            json_t *x = json_object_get(u, acts[k]);
            if (x && json_is_object(x)) {
                gsi_obj = x;
                gsi_act = acts[k];
                n++;
            }
        }
        if (n != 1)
            return tm_error_set(&r->err, TM_EVALIDATION,
                                "One or more parameter values were invalid: "
                                "One of GlobalSecondaryIndexUpdate.Create, "
                                "Update or Delete must be specified");
    }
    /* DynamoDB Streams: StreamSpecification's own rules */
    if ((rc = stream_spec_check_update(r, &spec, gsi_act)))
        return rc;
    if (!has_billing && !has_pt && gsi_obj == NULL && !spec.present &&
        json_object_get(r->body, "SSESpecification") == NULL)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "At least one of ProvisionedThroughput, "
                            "BillingMode, UpdateStreamEnabled, "
                            "GlobalSecondaryIndexUpdates or SSESpecification "
                            "or ReplicaUpdates is required");
    rc = start_named_op(r, name, update_apply, update_finish, &s);
    if (rc != API_PENDING)
        return rc;
    s->gsi_update = gsi_obj;
    s->gsi_action = gsi_act;
    s->attrs = json_object_get(r->body, "AttributeDefinitions");
    s->has_billing = has_billing;
    s->billing = bm;
    s->has_pt = has_pt;
    s->rcu = rcu;
    s->wcu = wcu;
    s->stream = spec;
    return rc;
}
