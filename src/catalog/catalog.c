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

#include "base/jsonmem.h"

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

struct table *catalog_find_index_no(struct catalog *c, uint64_t no,
                                    struct table_index **index)
{
    for (size_t i = 0; i < c->n; i++)
        for (size_t k = 0; k < c->v[i]->nindexes; k++)
            if (c->v[i]->indexes[k].no == no) {
                *index = &c->v[i]->indexes[k];
                return c->v[i];
            }
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

void catalog_swap(struct catalog *c, struct catalog *other)
{
    struct table **v;
    size_t n, cap;

    pthread_rwlock_wrlock(&c->lock);
    pthread_rwlock_wrlock(&other->lock);
    v = c->v, n = c->n, cap = c->cap;
    c->v = other->v, c->n = other->n, c->cap = other->cap;
    other->v = v, other->n = n, other->cap = cap;
    pthread_rwlock_unlock(&other->lock);
    pthread_rwlock_unlock(&c->lock);
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
        for (size_t k = 0; k < t->nindexes; k++)
            for (size_t o = 0; o < old->nindexes; o++)
                if (t->indexes[k].no == old->indexes[o].no) {
                    atomic_store(&t->indexes[k].item_count,
                                 atomic_load(&old->indexes[o].item_count));
                    atomic_store(&t->indexes[k].size_bytes,
                                 atomic_load(&old->indexes[o].size_bytes));
                }
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
    for (size_t i = 0; i < t->nindexes; i++) {
        free(t->indexes[i].name);
        for (size_t k = 0; k < t->indexes[i].ninclude; k++)
            free(t->indexes[i].include[k]);
        free(t->indexes[i].include);
    }
    free(t->indexes);
    for (size_t i = 0; i < t->ntags; i++) {
        free(t->tags[i].key);
        free(t->tags[i].value);
    }
    free(t->tags);
    free(t->ttl_attr);
    free(t->restore_backup_arn);
    free(t->restore_table_arn);
    free(t->restore_base);
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
    c->ttl = t->ttl;
    c->stream = t->stream;
    c->stream_created_ms = t->stream_created_ms;
    c->pitr = t->pitr;
    c->pitr_days = t->pitr_days;
    c->pitr_since_ms = t->pitr_since_ms;
    c->deletion_protection = t->deletion_protection;
    c->restoring = t->restoring;
    c->restore_time_ms = t->restore_time_ms;
    c->restore_source_no = t->restore_source_no;
    if (t->restore_base &&
        (c->restore_base = xstrdup(a, t->restore_base)) == NULL)
        goto fail;
    if (t->restore_backup_arn &&
        (c->restore_backup_arn = xstrdup(a, t->restore_backup_arn)) == NULL)
        goto fail;
    if (t->restore_table_arn &&
        (c->restore_table_arn = xstrdup(a, t->restore_table_arn)) == NULL)
        goto fail;
    if (t->ttl_attr && (c->ttl_attr = xstrdup(a, t->ttl_attr)) == NULL)
        goto fail;
    if (t->nindexes) {
        c->indexes = xalloc(a, t->nindexes * sizeof *c->indexes);
        if (c->indexes == NULL)
            goto fail;
        for (size_t i = 0; i < t->nindexes; i++) {
            const struct table_index *f = &t->indexes[i];
            struct table_index *x = &c->indexes[i];
            c->nindexes = i + 1;
            x->kind = f->kind;
            x->no = f->no;
            x->proj = f->proj;
            x->status = f->status;
            x->backfilling = f->backfilling;
            x->rcu = f->rcu;
            x->wcu = f->wcu;
            atomic_store(&x->item_count, atomic_load(&f->item_count));
            atomic_store(&x->size_bytes, atomic_load(&f->size_bytes));
            x->name = xstrdup(a, f->name);
            if (x->name == NULL ||
                table_index_bind(c, x, f->ks.hash_name, f->ks.range_name))
                goto fail;
            if (f->ninclude) {
                x->include = xalloc(a, f->ninclude * sizeof *x->include);
                if (x->include == NULL)
                    goto fail;
                for (size_t k = 0; k < f->ninclude; k++) {
                    x->include[k] = xstrdup(a, f->include[k]);
                    x->ninclude = k + 1;
                    if (x->include[k] == NULL)
                        goto fail;
                }
            }
        }
    }
    if (t->ntags) {
        c->tags = xalloc(a, t->ntags * sizeof *c->tags);
        if (c->tags == NULL)
            goto fail;
        for (size_t i = 0; i < t->ntags; i++) {
            c->tags[i].key = xstrdup(a, t->tags[i].key);
            c->tags[i].value = xstrdup(a, t->tags[i].value);
            c->ntags = i + 1;
            if (c->tags[i].key == NULL || c->tags[i].value == NULL)
                goto fail;
        }
    }
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

struct table_index *table_index_find(const struct table *t, const char *name)
{
    for (size_t i = 0; i < t->nindexes; i++)
        if (strcmp(t->indexes[i].name, name) == 0)
            return &t->indexes[i];
    return NULL;
}

int table_index_bind(const struct table *t, struct table_index *ix,
                     const char *hash, const char *range)
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
    ix->ks.hash_name = h->name;
    ix->ks.hash_type = h->type;
    ix->ks.range_name = r ? r->name : NULL;
    ix->ks.range_type = r ? r->type : 0;
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
    if (t->nindexes) {
        static const char *const kinds[] = {"GSI", "LSI"};
        static const char *const projs[] = {"ALL", "KEYS_ONLY", "INCLUDE"};
        static const char *const st[] = {"CREATING", "ACTIVE", "DELETING",
                                         "UPDATING"};
        json_t *ixs = json_array();
        for (size_t i = 0; i < t->nindexes; i++) {
            const struct table_index *x = &t->indexes[i];
            json_t *inc = json_array();
            for (size_t k = 0; k < x->ninclude; k++)
                json_array_append_new(inc, json_string(x->include[k]));
            json_t *jx = json_pack(
                "{s:s, s:s, s:I, s:s, s:s, s:o, s:s, s:b, s:I, s:I}",
                "name", x->name, "kind", kinds[x->kind], "no",
                (json_int_t)x->no, "hash", x->ks.hash_name, "proj",
                projs[x->proj], "include", inc, "status", st[x->status],
                "backfilling", x->backfilling, "rcu", (json_int_t)x->rcu,
                "wcu", (json_int_t)x->wcu);
            if (jx && x->ks.range_name)
                json_object_set_new(jx, "range",
                                    json_string(x->ks.range_name));
            json_array_append_new(ixs, jx);
        }
        json_object_set_new(o, "indexes", ixs);
    }
    json_object_set_new(o, "ttl", json_integer(t->ttl));
    if (t->ttl_attr)
        json_object_set_new(o, "ttl_attr", json_string(t->ttl_attr));
    json_object_set_new(o, "stream", json_integer(t->stream));
    json_object_set_new(o, "stream_created",
                        json_integer(t->stream_created_ms));
    if (t->ntags) {
        json_t *tags = json_array();
        for (size_t i = 0; i < t->ntags; i++)
            json_array_append_new(tags, json_pack("[ss]", t->tags[i].key,
                                                  t->tags[i].value));
        json_object_set_new(o, "tags", tags);
    }
    json_object_set_new(o, "pitr", json_integer(t->pitr));
    json_object_set_new(o, "pitr_days", json_integer(t->pitr_days));
    json_object_set_new(o, "pitr_since", json_integer(t->pitr_since_ms));
    json_object_set_new(o, "dp", json_integer(t->deletion_protection));
    if (t->restore_table_arn) {
        json_object_set_new(o, "restoring", json_integer(t->restoring));
        json_object_set_new(o, "restore_table",
                            json_string(t->restore_table_arn));
        if (t->restore_backup_arn)
            json_object_set_new(o, "restore_backup",
                                json_string(t->restore_backup_arn));
        json_object_set_new(o, "restore_time",
                            json_integer(t->restore_time_ms));
        if (t->restore_base) {
            json_object_set_new(o, "restore_base",
                                json_string(t->restore_base));
            json_object_set_new(o, "restore_source_no",
                                json_integer((json_int_t)t->restore_source_no));
        }
    }
    rc = jsonmem_dump(o, JSON_COMPACT, out);
out:
    json_decref(attrs);
    json_decref(o);
    return rc;
}

static int enum_index(const char *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

/* Indexes, TTL, stream, tags, PITR: members added after version 1's first
 * form, each optional. */
static int load_extras(json_t *o, struct table *t)
{
    static const char *const kinds[] = {"GSI", "LSI"};
    static const char *const projs[] = {"ALL", "KEYS_ONLY", "INCLUDE"};
    static const char *const st[] = {"CREATING", "ACTIVE", "DELETING",
                                     "UPDATING"};
    json_t *ixs = json_object_get(o, "indexes"), *tags, *j;
    size_t i;

    if (ixs) {
        if (!json_is_array(ixs))
            return -1;
        t->indexes = calloc(json_array_size(ixs) + 1, sizeof *t->indexes);
        if (t->indexes == NULL)
            return -1;
        json_array_foreach(ixs, i, j) {
            struct table_index *x = &t->indexes[i];
            const char *name, *kind, *hash, *range = NULL, *proj, *status;
            json_t *inc, *e;
            json_int_t no, rcu = 0, wcu = 0;
            int back = 0, k;
            size_t m;
            if (json_unpack(j, "{s:s, s:s, s:I, s:s, s?s, s:s, s:o, s:s,"
                               " s?b, s?I, s?I}",
                            "name", &name, "kind", &kind, "no", &no, "hash",
                            &hash, "range", &range, "proj", &proj,
                            "include", &inc, "status", &status,
                            "backfilling", &back, "rcu", &rcu, "wcu",
                            &wcu) != 0 ||
                !json_is_array(inc))
                return -1;
            t->nindexes = i + 1;
            x->name = strdup(name);
            if (x->name == NULL)
                return -1;
            if ((k = enum_index(kind, kinds, 2)) < 0)
                return -1;
            x->kind = (enum index_kind)k;
            if ((k = enum_index(proj, projs, 3)) < 0)
                return -1;
            x->proj = (enum projection_type)k;
            if ((k = enum_index(status, st, 4)) < 0)
                return -1;
            x->status = (enum index_status)k;
            x->no = (uint64_t)no;
            x->backfilling = back;
            x->rcu = rcu;
            x->wcu = wcu;
            if (table_index_bind(t, x, hash, range) != 0)
                return -1;
            x->include = calloc(json_array_size(inc) + 1,
                                sizeof *x->include);
            if (x->include == NULL)
                return -1;
            json_array_foreach(inc, m, e) {
                if (!json_is_string(e))
                    return -1;
                x->include[m] = strdup(json_string_value(e));
                x->ninclude = m + 1;
                if (x->include[m] == NULL)
                    return -1;
            }
        }
    }
    if ((j = json_object_get(o, "ttl")) && json_is_integer(j))
        t->ttl = (enum ttl_status)json_integer_value(j);
    if ((j = json_object_get(o, "ttl_attr")) && json_is_string(j) &&
        (t->ttl_attr = strdup(json_string_value(j))) == NULL)
        return -1;
    if ((j = json_object_get(o, "stream")) && json_is_integer(j))
        t->stream = (enum stream_view)json_integer_value(j);
    if ((j = json_object_get(o, "stream_created")) && json_is_integer(j))
        t->stream_created_ms = json_integer_value(j);
    if ((tags = json_object_get(o, "tags"))) {
        if (!json_is_array(tags))
            return -1;
        t->tags = calloc(json_array_size(tags) + 1, sizeof *t->tags);
        if (t->tags == NULL)
            return -1;
        json_array_foreach(tags, i, j) {
            const char *k, *v;
            if (json_unpack(j, "[ss]", &k, &v) != 0)
                return -1;
            t->tags[i].key = strdup(k);
            t->tags[i].value = strdup(v);
            t->ntags = i + 1;
            if (t->tags[i].key == NULL || t->tags[i].value == NULL)
                return -1;
        }
    }
    if ((j = json_object_get(o, "pitr")) && json_is_integer(j))
        t->pitr = (int)json_integer_value(j);
    if ((j = json_object_get(o, "pitr_days")) && json_is_integer(j))
        t->pitr_days = (int)json_integer_value(j);
    if ((j = json_object_get(o, "pitr_since")) && json_is_integer(j))
        t->pitr_since_ms = json_integer_value(j);
    if ((j = json_object_get(o, "dp")) && json_is_integer(j))
        t->deletion_protection = (int)json_integer_value(j);
    if ((j = json_object_get(o, "restoring")) && json_is_integer(j))
        t->restoring = (int)json_integer_value(j);
    if ((j = json_object_get(o, "restore_table")) && json_is_string(j) &&
        (t->restore_table_arn = strdup(json_string_value(j))) == NULL)
        return -1;
    if ((j = json_object_get(o, "restore_backup")) && json_is_string(j) &&
        (t->restore_backup_arn = strdup(json_string_value(j))) == NULL)
        return -1;
    if ((j = json_object_get(o, "restore_time")) && json_is_integer(j))
        t->restore_time_ms = json_integer_value(j);
    if ((j = json_object_get(o, "restore_base")) && json_is_string(j) &&
        (t->restore_base = strdup(json_string_value(j))) == NULL)
        return -1;
    if ((j = json_object_get(o, "restore_source_no")) && json_is_integer(j))
        t->restore_source_no = (uint64_t)json_integer_value(j);
    return 0;
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
    if (load_extras(o, t) != 0)
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
