/*
 * catalog.c - tables in memory: a name-sorted array under a rwlock, plus
 * the table definition's persistent JSON form.  See catalog.h for the
 * ownership and threading rules.
 *
 * Persistent form (one LMDB value per table, keyed by name):
 *   {"v":1,"name":"notes","id":"<uuid>","no":7,
 *    "attrs":[["userId","S"],["noteId","S"]],"hash":"userId","range":"noteId",
 *    "billing":"PAY_PER_REQUEST","rcu":0,"wcu":0,"created":<ms>,
 *    "ppr_since":<ms>,"inc":<ms>,"dec":<ms>,"decs":0,"status":"ACTIVE"}
 * Unknown members are ignored, so that later versions can add members.
 */
#include "catalog/catalog.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct catalog {
    pthread_rwlock_t lock;
    struct table **v; /* sorted by name */
    size_t n, cap;
};

struct catalog *catalog_create(void)
{
    struct catalog *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    pthread_rwlock_init(&c->lock, NULL);
    return c;
}

void catalog_destroy(struct catalog *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++)
        table_free(c->v[i]);
    free(c->v);
    pthread_rwlock_destroy(&c->lock);
    free(c);
}

/* Index of `name`, or of where it would be inserted (with *found = 0). */
static size_t search(const struct catalog *c, const char *name, int *found)
{
    size_t lo = 0, hi = c->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int d = strcmp(c->v[mid]->name, name);
        if (d == 0) {
            *found = 1;
            return mid;
        }
        if (d < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

int catalog_get(struct catalog *c, const char *name, struct arena *a,
                struct table **out)
{
    int found, rc = TM_ENOTFOUND;
    size_t i;

    pthread_rwlock_rdlock(&c->lock);
    i = search(c, name, &found);
    if (found) {
        *out = table_copy(c->v[i], a);
        rc = *out ? 0 : TM_ENOMEM;
    }
    pthread_rwlock_unlock(&c->lock);
    return rc;
}

int catalog_names(struct catalog *c, const char *after, size_t limit,
                  struct arena *a, char ***names, size_t *n, int *more)
{
    int found, rc = 0;
    size_t i = 0, k = 0;
    char **v;

    pthread_rwlock_rdlock(&c->lock);
    if (after) {
        i = search(c, after, &found);
        if (found)
            i++;
    }
    if (limit > c->n - i)
        limit = c->n - i;
    v = arena_calloc(a, limit + 1, sizeof *v);
    if (v == NULL) {
        rc = TM_ENOMEM;
        goto out;
    }
    for (; k < limit; k++, i++) {
        v[k] = arena_strdup(a, c->v[i]->name);
        if (v[k] == NULL) {
            rc = TM_ENOMEM;
            goto out;
        }
    }
    *names = v;
    *n = k;
    *more = i < c->n;
out:
    pthread_rwlock_unlock(&c->lock);
    return rc;
}

size_t catalog_count(struct catalog *c)
{
    size_t n;

    pthread_rwlock_rdlock(&c->lock);
    n = c->n;
    pthread_rwlock_unlock(&c->lock);
    return n;
}

struct table *catalog_find(struct catalog *c, const char *name)
{
    int found;
    size_t i = search(c, name, &found);
    return found ? c->v[i] : NULL;
}

struct table *catalog_find_no(struct catalog *c, uint64_t no)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->v[i]->no == no)
            return c->v[i];
    return NULL;
}

int catalog_insert(struct catalog *c, struct table *t)
{
    int found, rc = 0;
    size_t i;

    pthread_rwlock_wrlock(&c->lock);
    i = search(c, t->name, &found);
    if (found) {
        rc = TM_EINUSE;
        goto out;
    }
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 16;
        struct table **nv = realloc(c->v, ncap * sizeof *nv);
        if (nv == NULL) {
            rc = TM_ENOMEM;
            goto out;
        }
        c->v = nv;
        c->cap = ncap;
    }
    memmove(c->v + i + 1, c->v + i, (c->n - i) * sizeof *c->v);
    c->v[i] = t;
    c->n++;
out:
    pthread_rwlock_unlock(&c->lock);
    return rc;
}

void catalog_remove(struct catalog *c, const char *name)
{
    int found;
    size_t i;
    struct table *t = NULL;

    pthread_rwlock_wrlock(&c->lock);
    i = search(c, name, &found);
    if (found) {
        t = c->v[i];
        memmove(c->v + i, c->v + i + 1, (c->n - i - 1) * sizeof *c->v);
        c->n--;
    }
    pthread_rwlock_unlock(&c->lock);
    table_free(t);
}

int catalog_replace(struct catalog *c, struct table *t)
{
    int found;
    size_t i;
    struct table *old = NULL;

    pthread_rwlock_wrlock(&c->lock);
    i = search(c, t->name, &found);
    if (found) {
        old = c->v[i];
        atomic_store(&t->item_count, atomic_load(&old->item_count));
        atomic_store(&t->size_bytes, atomic_load(&old->size_bytes));
        c->v[i] = t;
    }
    pthread_rwlock_unlock(&c->lock);
    if (!found)
        return TM_ENOTFOUND;
    table_free(old);
    return 0;
}

/* ---- table definitions ------------------------------------------------ */

struct table *table_new(void) { return calloc(1, sizeof(struct table)); }

void table_free(struct table *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->nattrs; i++)
        free(t->attrs[i].name);
    free(t->attrs);
    free(t->name);
    free(t);
}

static void *xalloc(struct arena *a, size_t n)
{
    return a ? arena_calloc(a, 1, n) : calloc(1, n);
}

static char *xstrdup(struct arena *a, const char *s)
{
    return a ? arena_strdup(a, s) : strdup(s);
}

struct table *table_copy(const struct table *t, struct arena *a)
{
    struct table *c = xalloc(a, sizeof *c);
    const char *hash = t->ks.hash_name, *range = t->ks.range_name;

    if (c == NULL)
        return NULL;
    memcpy(c->id, t->id, sizeof c->id);
    c->no = t->no;
    c->billing = t->billing;
    c->rcu = t->rcu;
    c->wcu = t->wcu;
    c->created_ms = t->created_ms;
    c->ppr_since_ms = t->ppr_since_ms;
    c->last_increase_ms = t->last_increase_ms;
    c->last_decrease_ms = t->last_decrease_ms;
    c->decreases_today = t->decreases_today;
    c->status = t->status;
    atomic_store(&c->item_count, atomic_load(&t->item_count));
    atomic_store(&c->size_bytes, atomic_load(&t->size_bytes));
    c->name = xstrdup(a, t->name);
    c->attrs = xalloc(a, (t->nattrs ? t->nattrs : 1) * sizeof *c->attrs);
    if (c->name == NULL || c->attrs == NULL)
        goto fail;
    for (size_t i = 0; i < t->nattrs; i++) {
        c->attrs[i].type = t->attrs[i].type;
        c->attrs[i].name = xstrdup(a, t->attrs[i].name);
        c->nattrs = i + 1;
        if (c->attrs[i].name == NULL)
            goto fail;
    }
    if (hash && table_bind_keys(c, hash, range) != 0)
        goto fail;
    return c;
fail:
    if (a == NULL)
        table_free(c);
    return NULL;
}

int table_bind_keys(struct table *t, const char *hash, const char *range)
{
    const struct attr_def *h = NULL, *r = NULL;

    for (size_t i = 0; i < t->nattrs; i++) {
        if (strcmp(t->attrs[i].name, hash) == 0)
            h = &t->attrs[i];
        if (range && strcmp(t->attrs[i].name, range) == 0)
            r = &t->attrs[i];
    }
    if (h == NULL || (range && r == NULL))
        return TM_EVALIDATION;
    t->ks.hash_name = h->name;
    t->ks.hash_type = h->type;
    t->ks.range_name = r ? r->name : NULL;
    t->ks.range_type = r ? r->type : 0;
    return 0;
}

const char *table_status_name(enum table_status s)
{
    switch (s) {
    case TABLE_CREATING: return "CREATING";
    case TABLE_ACTIVE: return "ACTIVE";
    case TABLE_DELETING: return "DELETING";
    case TABLE_UPDATING: return "UPDATING";
    }
    return "ACTIVE";
}

static int status_parse(const char *s, enum table_status *out)
{
    static const enum table_status all[] = {TABLE_CREATING, TABLE_ACTIVE,
                                            TABLE_DELETING, TABLE_UPDATING};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(s, table_status_name(all[i])) == 0) {
            *out = all[i];
            return 0;
        }
    return -1;
}

int table_to_json(const struct table *t, struct buf *out)
{
    json_t *o = json_object(), *attrs = json_array();
    char *text = NULL;
    int rc = TM_ENOMEM;

    if (o == NULL || attrs == NULL)
        goto out;
    for (size_t i = 0; i < t->nattrs; i++)
        json_array_append_new(attrs,
                              json_pack("[ss]", t->attrs[i].name,
                                        av_type_name(t->attrs[i].type)));
    json_object_set_new(o, "v", json_integer(1));
    json_object_set_new(o, "name", json_string(t->name));
    json_object_set_new(o, "id", json_string(t->id));
    json_object_set_new(o, "no", json_integer((json_int_t)t->no));
    json_object_set(o, "attrs", attrs);
    json_object_set_new(o, "hash", json_string(t->ks.hash_name));
    if (t->ks.range_name)
        json_object_set_new(o, "range", json_string(t->ks.range_name));
    json_object_set_new(o, "billing",
                        json_string(t->billing == BILLING_PAY_PER_REQUEST
                                        ? "PAY_PER_REQUEST"
                                        : "PROVISIONED"));
    json_object_set_new(o, "rcu", json_integer(t->rcu));
    json_object_set_new(o, "wcu", json_integer(t->wcu));
    json_object_set_new(o, "created", json_integer(t->created_ms));
    json_object_set_new(o, "ppr_since", json_integer(t->ppr_since_ms));
    json_object_set_new(o, "inc", json_integer(t->last_increase_ms));
    json_object_set_new(o, "dec", json_integer(t->last_decrease_ms));
    json_object_set_new(o, "decs", json_integer(t->decreases_today));
    json_object_set_new(o, "status", json_string(table_status_name(t->status)));
    text = json_dumps(o, JSON_COMPACT);
    if (text == NULL)
        goto out;
    rc = buf_append(out, text, strlen(text));
out:
    free(text);
    json_decref(attrs);
    json_decref(o);
    return rc;
}

int table_from_json(const uint8_t *p, size_t n, struct table **out,
                    struct tm_error *err)
{
    json_error_t jerr;
    json_t *o = json_loadb((const char *)p, n, 0, &jerr), *attrs, *a;
    struct table *t = NULL;
    const char *name, *id, *hash, *range = NULL, *billing, *status;
    json_int_t no, rcu, wcu, created, ppr = 0, inc = 0, dec = 0, decs = 0;
    size_t i;

    if (o == NULL)
        goto bad;
    if (json_unpack(o, "{s:s, s:s, s:I, s:o, s:s, s?s, s:s, s:I, s:I, s:I,"
                       " s?I, s?I, s?I, s?I, s:s}",
                    "name", &name, "id", &id, "no", &no, "attrs", &attrs,
                    "hash", &hash, "range", &range, "billing", &billing,
                    "rcu", &rcu, "wcu", &wcu, "created", &created,
                    "ppr_since", &ppr, "inc", &inc, "dec", &dec, "decs",
                    &decs, "status", &status) != 0 ||
        !json_is_array(attrs) || strlen(id) >= sizeof t->id)
        goto bad;
    t = table_new();
    if (t == NULL)
        goto nomem;
    t->name = strdup(name);
    t->attrs = calloc(json_array_size(attrs) + 1, sizeof *t->attrs);
    if (t->name == NULL || t->attrs == NULL)
        goto nomem;
    json_array_foreach(attrs, i, a) {
        const char *an, *at;
        if (json_unpack(a, "[ss]", &an, &at) != 0)
            goto bad;
        t->attrs[i].type = av_type_parse(at, strlen(at));
        t->attrs[i].name = strdup(an);
        t->nattrs = i + 1;
        if (t->attrs[i].name == NULL)
            goto nomem;
    }
    strcpy(t->id, id);
    t->no = (uint64_t)no;
    t->billing = strcmp(billing, "PAY_PER_REQUEST") == 0
                     ? BILLING_PAY_PER_REQUEST
                     : BILLING_PROVISIONED;
    t->rcu = rcu;
    t->wcu = wcu;
    t->created_ms = created;
    t->ppr_since_ms = ppr;
    t->last_increase_ms = inc;
    t->last_decrease_ms = dec;
    t->decreases_today = (int)decs;
    if (status_parse(status, &t->status) != 0 ||
        table_bind_keys(t, hash, range) != 0)
        goto bad;
    json_decref(o);
    *out = t;
    return 0;
bad:
    json_decref(o);
    table_free(t);
    return tm_error_set(err, TM_ECORRUPT,
                        "catalog entry is not a valid table definition: "
                        "%.*s",
                        (int)(n > 200 ? 200 : n), (const char *)p);
nomem:
    json_decref(o);
    table_free(t);
    return tm_error_set(err, TM_ENOMEM, "out of memory loading the catalog");
}
