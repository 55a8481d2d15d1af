/*
 * api_ttl.c - UpdateTimeToLive and DescribeTimeToLive: a table's time to
 * live setting (struct table's ttl and ttl_attr, persisted with the table
 * definition).  The deletes themselves are the sweeper's (src/ttl).
 *
 * DynamoDB moves a table through ENABLING and DISABLING for up to an hour
 * and refuses a second change within about half an hour ("Time to live has
 * been modified multiple times within a fixed interval").  Tidemark applies
 * the change at once, like every other catalog change: the status is
 * ENABLED or DISABLED as soon as UpdateTimeToLive has answered, and there
 * is no cooldown.  (DynamoDB's own DescribeTimeToLive shows the settled
 * status within a couple of seconds in practice.)
 *
 * DDB behaviour reproduced:
 *   - UpdateTimeToLive echoes the request's specification
 *     ({"TimeToLiveSpecification":{"Enabled":..,"AttributeName":..}});
 *     DescribeTimeToLive answers {"TimeToLiveDescription":
 *     {"TimeToLiveStatus":"ENABLED","AttributeName":"x"}}, or
 *     {"TimeToLiveStatus":"DISABLED"} with no attribute: a disabled table
 *     forgets its attribute, never-configured and disabled tables look
 *     the same.
 *   - shape errors together, before the table's existence: TableName,
 *     TimeToLiveSpecification, its Enabled and AttributeName must not be
 *     null, AttributeName has 1 to 255 characters;
 *   - "Requested resource not found: Table: <name> not found";
 *   - enable with the current attribute: "TimeToLive is already enabled";
 *     disable when disabled: "TimeToLive is already disabled"; enable or
 *     disable naming another attribute while enabled: "TimeToLive is active
 *     on a different AttributeName: current AttributeName is <attr>".
 *   - the attribute may be a key attribute (DynamoDB accepts it).
 */
#include "api/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonw.h"

#define TTL_ATTR_MAX 255

/* A table ARN in TableName names the table after ":table/". */
static const char *table_of(const char *s)
{
    const char *p;

    if (s == NULL || strncmp(s, "arn:", 4) != 0)
        return s;
    p = strstr(s, ":table/");
    return p ? p + 7 : s;
}

/* TableName: shape checks into `v`. */
static int table_arg(struct api_req *r, struct verrs *v, const char **name)
{
    int rc = req_string(r, r->body, "TableName", name, NULL);

    if (rc)
        return rc;
    if (*name == NULL || strncmp(*name, "arn:", 4) != 0)
        check_table_name(v, *name, "tableName");
    return 0;
}

static int not_found(struct tm_error *err, const char *name)
{
    return tm_error_set(err, TM_ENOTFOUND,
                        "Requested resource not found: Table: %s not found",
                        name);
}

/* Java's String.length() of UTF-8 text: UTF-16 units. */
static size_t java_length(const char *s, size_t n)
{
    size_t units = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c & 0xc0) != 0x80)
            units += c >= 0xf0 ? 2 : 1;
    }
    return units;
}

/* ---- UpdateTimeToLive -------------------------------------------------- */

struct ttl_state {
    const char *name;
    int enable;
    const char *attr;
};

static int update_apply(struct engine_wtx *w, void *arg, struct tm_error *err)
{
    struct api_req *r = arg;
    struct ttl_state *s = r->state;
    struct table *cur, *t;
    int rc;

    cur = catalog_find(engine_catalog(r->ctx->engine), s->name);
    if (cur == NULL)
        return not_found(err, s->name);
    if (cur->ttl == TTL_ENABLED && cur->ttl_attr &&
        strcmp(cur->ttl_attr, s->attr) != 0)
        return tm_error_set(err, TM_EVALIDATION,
                            "TimeToLive is active on a different "
                            "AttributeName: current AttributeName is %s",
                            cur->ttl_attr);
    if (s->enable && cur->ttl == TTL_ENABLED)
        return tm_error_set(err, TM_EVALIDATION,
                            "TimeToLive is already enabled");
    if (!s->enable && cur->ttl != TTL_ENABLED)
        return tm_error_set(err, TM_EVALIDATION,
                            "TimeToLive is already disabled");
    t = table_copy(cur, NULL);
    if (t == NULL)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    free(t->ttl_attr);
    t->ttl_attr = NULL;
    t->ttl = s->enable ? TTL_ENABLED : TTL_DISABLED;
    if (s->enable && (t->ttl_attr = strdup(s->attr)) == NULL) {
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
    struct ttl_state *s = r->state;
    struct buf *o = &r->out;
    int rc = 0;

    if (r->op.rc < 0)
        return r->op.rc;
    rc |= json_put_raw(o, s->enable
                              ? "{\"TimeToLiveSpecification\":{\"Enabled\":"
                                "true,\"AttributeName\":"
                              : "{\"TimeToLiveSpecification\":{\"Enabled\":"
                                "false,\"AttributeName\":");
    rc |= json_put_cstr(o, s->attr);
    rc |= json_put_raw(o, "}}");
    return rc ? TM_ENOMEM : 0;
}

int api_update_time_to_live(struct api_req *r)
{
    struct verrs v;
    struct ttl_state *s;
    const char *name, *attr = NULL;
    size_t alen = 0;
    json_t *spec;
    int enable = 0, has_enable = 0, rc;

    verrs_init(&v);
    if ((rc = table_arg(r, &v, &name)) ||
        (rc = req_object(r, r->body, "TimeToLiveSpecification", &spec)) ||
        (spec && (rc = req_bool(r, spec, "Enabled", &enable, &has_enable))) ||
        (spec && (rc = req_string(r, spec, "AttributeName", &attr, &alen))))
        goto fail;
    if (spec == NULL) {
        verrs_add(&v, "null", "timeToLiveSpecification",
                  "Member must not be null");
    } else {
        if (!has_enable)
            verrs_add(&v, "null", "timeToLiveSpecification.enabled",
                      "Member must not be null");
        if (attr == NULL) {
            verrs_add(&v, "null", "timeToLiveSpecification.attributeName",
                      "Member must not be null");
        } else if (alen == 0 || java_length(attr, alen) > TTL_ATTR_MAX) {
            char *shown = arena_printf(r->arena, "'%s'", attr);
            verrs_add(&v, shown ? shown : "''",
                      "timeToLiveSpecification.attributeName",
                      alen == 0 ? "Member must have length greater than or "
                                  "equal to 1"
                                : "Member must have length less than or "
                                  "equal to 255");
        }
    }
    if ((rc = verrs_finish(&v, r)))
        return rc;
    /* the catalog keeps C strings */
    if (strlen(attr) != alen)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "One or more parameter values were invalid: "
                            "TimeToLiveSpecification.AttributeName must not "
                            "contain the character U+0000");
    s = arena_calloc(r->arena, 1, sizeof *s);
    if (s == NULL)
        return tm_error_set(&r->err, TM_ENOMEM, "out of memory");
    s->name = table_of(name);
    s->enable = enable;
    s->attr = attr;
    r->state = s;
    r->op.apply = update_apply;
    r->op.arg = r;
    r->finish = update_finish;
    return API_PENDING;
fail:
    buf_free(&v.msg);
    return rc;
}

/* ---- DescribeTimeToLive ------------------------------------------------ */

int api_describe_time_to_live(struct api_req *r)
{
    struct verrs v;
    struct table *t;
    struct buf *o = &r->out;
    const char *name;
    int rc;

    verrs_init(&v);
    if ((rc = table_arg(r, &v, &name))) {
        buf_free(&v.msg);
        return rc;
    }
    if ((rc = verrs_finish(&v, r)))
        return rc;
    name = table_of(name);
    rc = catalog_get(engine_catalog(r->ctx->engine), name, r->arena, &t);
    if (rc == TM_ENOTFOUND)
        return not_found(&r->err, name);
    if (rc)
        return tm_error_set(&r->err, rc, "out of memory");
    if (t->ttl == TTL_ENABLED && t->ttl_attr) {
        rc |= json_put_raw(o, "{\"TimeToLiveDescription\":{"
                              "\"TimeToLiveStatus\":\"ENABLED\","
                              "\"AttributeName\":");
        rc |= json_put_cstr(o, t->ttl_attr);
        rc |= json_put_raw(o, "}}");
    } else {
        rc |= json_put_raw(o, "{\"TimeToLiveDescription\":{"
                              "\"TimeToLiveStatus\":\"DISABLED\"}}");
    }
    return rc ? tm_error_set(&r->err, TM_ENOMEM, "out of memory") : 0;
}
