/*
 * update.c - applying a parsed UpdateExpression to an item.
 *
 * Semantics (DynamoDB's, from dynalite's and ScyllaDB's tests):
 *   - every operand is read from the item as it was before the update
 *     ("SET a = b, b = a" swaps); the item is the old one, or just the key
 *     attributes when the item does not exist yet;
 *   - SET path = value: a path whose parent is missing or of the wrong
 *     kind (a.b on a non-map, a[1] on a non-list) is "The document path
 *     provided in the update expression is invalid for update"; a list
 *     index past the end appends; reading a missing attribute is "The
 *     provided expression refers to an attribute that does not exist in
 *     the item"; + and - need numbers and list_append lists ("An operand
 *     in the update expression has an incorrect data type"); a sum that
 *     does not fit 38 digits or the range is an error, not a rounding;
 *   - REMOVE: missing leaves are ignored, missing parents are invalid
 *     paths; list elements go by their original indexes (removals are
 *     applied last, deepest and highest index first, so the list compacts
 *     as if all were removed at once);
 *   - ADD: number + number, or set union; on a missing attribute it
 *     creates it;
 *   - DELETE: set difference; a set left empty removes the attribute;
 *   - key attributes cannot be the target of any action.
 *
 * Copy-on-write: the old item is never modified.  The top-level member
 * array is copied once; each action then copies the containers along its
 * path (shallow copies, one spare slot for an append), so the result
 * shares every untouched subtree with the old item and the values.
 *
 * Thread-safety: the parsed update is read-only; the result lives in the
 * caller's arena.
 */
#include "expr/expr_int.h"

#include <stdlib.h>
#include <string.h>

#define MSG_INVALID_PATH \
    "The document path provided in the update expression is invalid for update"
#define MSG_MISSING \
    "The provided expression refers to an attribute that does not exist in " \
    "the item"
#define MSG_BAD_TYPE \
    "An operand in the update expression has an incorrect data type"

static int nomem(struct tm_error *err)
{
    return tm_error_set(err, TM_ENOMEM, "out of memory");
}

/* ---- computing SET values -------------------------------------------------- */

static int number_error(struct tm_error *err, int st)
{
    if (st == DEC_EUNDERFLOW)
        return tm_error_set(err, TM_EVALIDATION, "Number underflow. Attempting "
                            "to store a number with magnitude smaller than "
                            "supported range");
    return tm_error_set(err, TM_EVALIDATION, "Number overflow. Attempting to "
                        "store a number with magnitude larger than supported "
                        "range");
}

/* x + y or x - y, exactly. */
static int arith(const struct av *x, const struct av *y, int minus,
                 struct av *out, struct tm_error *err)
{
    int inexact = 0, st;

    if (x->type != AV_N || y->type != AV_N)
        return tm_error_set(err, TM_EVALIDATION, MSG_BAD_TYPE);
    out->type = AV_N;
    st = minus ? dec_sub(&x->u.n, &y->u.n, &out->u.n, &inexact)
               : dec_add(&x->u.n, &y->u.n, &out->u.n, &inexact);
    if (st != DEC_OK || inexact)
        return number_error(err, st == DEC_OK ? DEC_EOVERFLOW : st);
    return 0;
}

/* The value of a SET right-hand side against `item` into `*res` (which
 * may point into `item`, into the values, or at `store`). */
static int value(const struct expr_node *n, const struct av *item,
                 struct arena *a, struct av *store, const struct av **res,
                 struct tm_error *err)
{
    struct av s0, s1;
    const struct av *x, *y;
    int rc;

    switch (n->kind) {
    case EN_VALUE:
        *res = n->val;
        return 0;
    case EN_PATH:
        *res = expr_path_get(item, &n->path);
        if (*res == NULL)
            return tm_error_set(err, TM_EVALIDATION, MSG_MISSING);
        return 0;
    case EN_PLUS:
    case EN_MINUS:
        rc = value(n->args[0], item, a, &s0, &x, err);
        if (rc == 0)
            rc = value(n->args[1], item, a, &s1, &y, err);
        if (rc == 0)
            rc = arith(x, y, n->kind == EN_MINUS, store, err);
        *res = store;
        return rc;
    case EN_FUNC:
        if (n->op == EF_IF_NOT_EXISTS) {
            *res = expr_path_get(item, &n->args[0]->path);
            if (*res != NULL)
                return 0;
            return value(n->args[1], item, a, store, res, err);
        }
        if (n->op == EF_LIST_APPEND) {
            struct av *l;
            rc = value(n->args[0], item, a, &s0, &x, err);
            if (rc == 0)
                rc = value(n->args[1], item, a, &s1, &y, err);
            if (rc)
                return rc;
            if (x->type != AV_L || y->type != AV_L)
                return tm_error_set(err, TM_EVALIDATION, MSG_BAD_TYPE);
            l = arena_alloc(a, (x->u.l.n + y->u.l.n + 1) * sizeof *l);
            if (l == NULL)
                return nomem(err);
            if (x->u.l.n)
                memcpy(l, x->u.l.v, x->u.l.n * sizeof *l);
            if (y->u.l.n)
                memcpy(l + x->u.l.n, y->u.l.v, y->u.l.n * sizeof *l);
            store->type = AV_L;
            store->u.l.n = x->u.l.n + y->u.l.n;
            store->u.l.v = l;
            *res = store;
            return 0;
        }
        break;
    }
    return tm_error_set(err, TM_EINTERNAL, "unexpected update value node");
}

/* ---- sets ---------------------------------------------------------------------- */

static int bytes_cmp(const struct av_bytes *x, const struct av_bytes *y)
{
    size_t m = x->n < y->n ? x->n : y->n;
    int d = m ? memcmp(x->p, y->p, m) : 0;

    if (d)
        return d;
    return x->n < y->n ? -1 : x->n > y->n;
}

static int qcmp_bytes(const void *x, const void *y)
{
    return bytes_cmp(x, y);
}

static int qcmp_dec(const void *x, const void *y)
{
    return dec_cmp(x, y);
}

/* Sorted copy of a set's members (for binary searches). */
static void *sorted(struct arena *a, const struct av *s)
{
    size_t sz = s->type == AV_NS ? sizeof(struct dec) : sizeof(struct av_bytes);
    size_t n = s->type == AV_NS ? s->u.ns.n : s->u.ss.n;
    const void *src = s->type == AV_NS ? (const void *)s->u.ns.v
                                       : (const void *)s->u.ss.v;
    void *c = arena_memdup(a, src, n * sz + 1);

    if (c != NULL)
        qsort(c, n, sz, s->type == AV_NS ? qcmp_dec : qcmp_bytes);
    return c;
}

static int in_sorted(const struct av *s, const void *arr, const void *elem)
{
    size_t sz = s->type == AV_NS ? sizeof(struct dec) : sizeof(struct av_bytes);
    size_t n = s->type == AV_NS ? s->u.ns.n : s->u.ss.n;

    return bsearch(elem, arr, n, sz, s->type == AV_NS ? qcmp_dec : qcmp_bytes)
           != NULL;
}

/* cur ∪ add (minus = 0) or cur \ add (minus = 1), same set types. */
static int set_op(struct arena *a, const struct av *cur, const struct av *add,
                  int minus, struct av *out)
{
    int ns = cur->type == AV_NS;
    size_t sz = ns ? sizeof(struct dec) : sizeof(struct av_bytes);
    size_t nc = ns ? cur->u.ns.n : cur->u.ss.n;
    size_t na = ns ? add->u.ns.n : add->u.ss.n;
    const char *cv = ns ? (const char *)cur->u.ns.v : (const char *)cur->u.ss.v;
    const char *av = ns ? (const char *)add->u.ns.v : (const char *)add->u.ss.v;
    char *res = arena_alloc(a, (nc + na + 1) * sz);
    size_t n = 0, k;
    void *idx;

    if (res == NULL)
        return TM_ENOMEM;
    if (minus) {
        idx = sorted(a, add);
        if (idx == NULL)
            return TM_ENOMEM;
        for (k = 0; k < nc; k++)
            if (!in_sorted(add, idx, cv + k * sz))
                memcpy(res + n++ * sz, cv + k * sz, sz);
    } else {
        idx = sorted(a, cur);
        if (idx == NULL)
            return TM_ENOMEM;
        if (nc)
            memcpy(res, cv, nc * sz);
        n = nc;
        for (k = 0; k < na; k++)
            if (!in_sorted(cur, idx, av + k * sz))
                memcpy(res + n++ * sz, av + k * sz, sz);
    }
    out->type = cur->type;
    if (ns) {
        out->u.ns.n = n;
        out->u.ns.v = (struct dec *)(void *)res;
    } else {
        out->u.ss.n = n;
        out->u.ss.v = (struct av_bytes *)(void *)res;
    }
    return 0;
}

static size_t set_size(const struct av *s)
{
    return s->type == AV_NS ? s->u.ns.n : s->u.ss.n;
}

static int is_set(const struct av *v)
{
    return v->type == AV_SS || v->type == AV_NS || v->type == AV_BS;
}

/* ---- writing into the working tree ---------------------------------------------- */

/* Replace `*c` (an M or L in an owned slot) by a shallow copy with one
 * spare slot. */
static int own(struct arena *a, struct av *c)
{
    if (c->type == AV_M) {
        struct av_member *m = arena_alloc(a, (c->u.m.n + 1) * sizeof *m);
        if (m == NULL)
            return TM_ENOMEM;
        if (c->u.m.n)
            memcpy(m, c->u.m.v, c->u.m.n * sizeof *m);
        c->u.m.v = m;
    } else {
        struct av *l = arena_alloc(a, (c->u.l.n + 1) * sizeof *l);
        if (l == NULL)
            return TM_ENOMEM;
        if (c->u.l.n)
            memcpy(l, c->u.l.v, c->u.l.n * sizeof *l);
        c->u.l.v = l;
    }
    return 0;
}

static struct av *child(struct av *c, const struct expr_pel *e)
{
    size_t k;

    if (e->index < 0) {
        if (c->type != AV_M)
            return NULL;
        for (k = 0; k < c->u.m.n; k++) {
            struct av_member *m = &c->u.m.v[k];
            if (m->name.n == e->len && memcmp(m->name.p, e->name, e->len) == 0)
                return &m->value;
        }
        return NULL;
    }
    if (c->type != AV_L || (size_t)e->index >= c->u.l.n)
        return NULL;
    return &c->u.l.v[e->index];
}

/* Walk to the owned container that holds the last step of `p`: every
 * container on the way is copied.  NULL with `err` set if the path is
 * invalid (missing or mistyped parent). */
static struct av *parent_of(struct arena *a, struct av *root,
                            const struct expr_path *p, int *rc,
                            struct tm_error *err)
{
    struct av *c = root;
    uint32_t k;

    for (k = 0; k + 1 < p->n; k++) {
        struct av *next = child(c, &p->el[k]);
        int want = p->el[k + 1].index < 0 ? AV_M : AV_L;
        if (next == NULL || (int)next->type != want) {
            *rc = tm_error_set(err, TM_EVALIDATION, MSG_INVALID_PATH);
            return NULL;
        }
        if (own(a, next) != 0) {
            *rc = nomem(err);
            return NULL;
        }
        c = next;
    }
    return c;
}

/* Nesting levels below a value (0 for scalars). */
static int extra_depth(const struct av *v, int limit)
{
    int best = 0, d;
    size_t k;

    if (limit < 0)
        return 1;
    if (v->type == AV_M) {
        for (k = 0; k < v->u.m.n && best <= limit; k++) {
            d = 1 + extra_depth(&v->u.m.v[k].value, limit - 1);
            if (d > best)
                best = d;
        }
    } else if (v->type == AV_L) {
        for (k = 0; k < v->u.l.n && best <= limit; k++) {
            d = 1 + extra_depth(&v->u.l.v[k], limit - 1);
            if (d > best)
                best = d;
        }
    }
    return best;
}

static int put(struct arena *a, struct av *root, const struct expr_path *p,
               const struct av *val, struct tm_error *err)
{
    const struct expr_pel *last = &p->el[p->n - 1];
    struct av *c, *slot;
    int rc = 0;

    if ((int)p->n + extra_depth(val, ITEM_MAX_DEPTH) > ITEM_MAX_DEPTH)
        return tm_error_set(err, TM_EVALIDATION, "Nesting Levels have exceeded "
                            "supported limits: Attributes in the item have "
                            "nested levels beyond supported limit");
    c = parent_of(a, root, p, &rc, err);
    if (c == NULL)
        return rc;
    slot = child(c, last);
    if (slot != NULL) {
        *slot = *val;
        return 0;
    }
    /* parent_of copied `c` with a spare slot (the root has room for one
     * append per action). */
    if (last->index < 0) {
        struct av_member *m = &c->u.m.v[c->u.m.n++];
        m->name.p = (const uint8_t *)last->name;
        m->name.n = last->len;
        m->value = *val;
    } else {
        c->u.l.v[c->u.l.n++] = *val;
    }
    return 0;
}

static int drop(struct arena *a, struct av *root, const struct expr_path *p,
                struct tm_error *err)
{
    const struct expr_pel *last = &p->el[p->n - 1];
    struct av *c;
    size_t k;
    int rc = 0;

    c = parent_of(a, root, p, &rc, err);
    if (c == NULL)
        return rc;
    if (last->index < 0) {
        for (k = 0; k < c->u.m.n; k++) {
            struct av_member *m = &c->u.m.v[k];
            if (m->name.n == last->len &&
                memcmp(m->name.p, last->name, last->len) == 0) {
                memmove(m, m + 1, (c->u.m.n - k - 1) * sizeof *m);
                c->u.m.n--;
                break;
            }
        }
    } else if ((size_t)last->index < c->u.l.n) {
        k = (size_t)last->index;
        memmove(&c->u.l.v[k], &c->u.l.v[k + 1],
                (c->u.l.n - k - 1) * sizeof c->u.l.v[0]);
        c->u.l.n--;
    }
    return 0;
}

/* ---- ADD / DELETE ------------------------------------------------------------------ */

/* The parent of `p` exists with the right kind in `item` (for DELETE on
 * a missing leaf, which is a no-op only under a valid parent). */
static int parent_valid(const struct av *item, const struct expr_path *p)
{
    struct expr_path pre;
    const struct av *v;

    if (p->n == 1)
        return 1;
    pre.el = p->el;
    pre.n = p->n - 1;
    v = expr_path_get(item, &pre);
    return v != NULL &&
           (int)v->type == (p->el[p->n - 1].index < 0 ? AV_M : AV_L);
}

static int add_or_delete(const struct expr_act *act, const struct av *base,
                         struct arena *a, struct av *root,
                         struct tm_error *err)
{
    const struct av *cur = expr_path_get(base, &act->path);
    const struct av *v = act->val->val;
    struct av res;
    int rc;

    if (act->kind == EA_ADD) {
        if (cur == NULL)
            return put(a, root, &act->path, v, err);
        if (cur->type == AV_N && v->type == AV_N) {
            rc = arith(cur, v, 0, &res, err);
            return rc ? rc : put(a, root, &act->path, &res, err);
        }
        if (is_set(cur) && cur->type == v->type) {
            if (set_op(a, cur, v, 0, &res) != 0)
                return nomem(err);
            return put(a, root, &act->path, &res, err);
        }
        return tm_error_set(err, TM_EVALIDATION, MSG_BAD_TYPE);
    }
    if (cur == NULL) {
        if (!parent_valid(base, &act->path))
            return tm_error_set(err, TM_EVALIDATION, MSG_INVALID_PATH);
        return 0;
    }
    if (!is_set(cur) || cur->type != v->type)
        return tm_error_set(err, TM_EVALIDATION, MSG_BAD_TYPE);
    if (set_op(a, cur, v, 1, &res) != 0)
        return nomem(err);
    if (set_size(&res) == 0)
        return drop(a, root, &act->path, err);
    return put(a, root, &act->path, &res, err);
}

/* ---- the whole update ----------------------------------------------------------------- */

static int path_cmp(const struct expr_path *x, const struct expr_path *y)
{
    uint32_t k, m = x->n < y->n ? x->n : y->n;

    for (k = 0; k < m; k++) {
        int d = expr_pel_cmp(&x->el[k], &y->el[k]);
        if (d)
            return d;
    }
    return x->n < y->n ? -1 : x->n > y->n;
}

/* Descending path order, so later list indexes go first. */
static int qcmp_act_desc(const void *x, const void *y)
{
    const struct expr_act *const *a = x, *const *b = y;
    return path_cmp(&(*b)->path, &(*a)->path);
}

static int qcmp_act_asc(const void *x, const void *y)
{
    const struct expr_act *const *a = x, *const *b = y;
    return path_cmp(&(*a)->path, &(*b)->path);
}

static int is_key(const struct expr_pel *e, const char *name)
{
    return name != NULL && e->index < 0 && strlen(name) == e->len &&
           memcmp(name, e->name, e->len) == 0;
}

int expr_update_apply(const struct expr_update *u, const struct av *old,
                      const struct av *key, const struct key_schema *ks,
                      struct arena *a, struct av *out, struct tm_error *err)
{
    const struct av *base = old != NULL ? old : key;
    const struct expr_act **removes = NULL, **sets = NULL;
    struct av root;
    size_t k, nrem = 0, nset = 0;
    int rc = 0;

    for (k = 0; k < u->n; k++) {
        const struct expr_pel *e = &u->acts[k].path.el[0];
        if (ks != NULL && (is_key(e, ks->hash_name) || is_key(e, ks->range_name)))
            return tm_error_set(err, TM_EVALIDATION, "One or more parameter "
                                "values were invalid: Cannot update attribute "
                                "%.*s. This attribute is part of the key",
                                (int)e->len, e->name);
    }
    root.type = AV_M;
    root.u.m.n = base != NULL ? base->u.m.n : 0;
    root.u.m.v = arena_alloc(a, (root.u.m.n + u->n + 1) *
                                    sizeof *root.u.m.v);
    if (root.u.m.v == NULL)
        return nomem(err);
    if (root.u.m.n)
        memcpy(root.u.m.v, base->u.m.v, root.u.m.n * sizeof *root.u.m.v);
    removes = arena_alloc(a, (u->n + 1) * sizeof *removes);
    sets = arena_alloc(a, (u->n + 1) * sizeof *sets);
    if (removes == NULL || sets == NULL)
        return nomem(err);
    /* SETs in path order: every value reads the old item and paths never
     * overlap, so order only matters for list indexes past the end, which
     * DynamoDB appends in index order ("SET a[9] = :x, a[5] = :y" on a
     * short list puts :y before :x) */
    for (k = 0; k < u->n; k++)
        if (u->acts[k].kind == EA_SET)
            sets[nset++] = &u->acts[k];
    if (nset > 1)
        qsort(sets, nset, sizeof *sets, qcmp_act_asc);
    for (k = 0; k < nset && rc == 0; k++) {
        struct av store;
        const struct av *v;
        rc = value(sets[k]->val, base, a, &store, &v, err);
        if (rc == 0)
            rc = put(a, &root, &sets[k]->path, v, err);
    }
    for (k = 0; k < u->n && rc == 0; k++) {
        const struct expr_act *act = &u->acts[k];

        switch (act->kind) {
        case EA_SET:
            break;
        case EA_REMOVE:
            removes[nrem++] = act;
            break;
        default:
            rc = add_or_delete(act, base, a, &root, err);
            break;
        }
    }
    if (rc == 0 && nrem > 1)
        qsort(removes, nrem, sizeof *removes, qcmp_act_desc);
    for (k = 0; k < nrem && rc == 0; k++)
        rc = drop(a, &root, &removes[k]->path, err);
    if (rc == 0)
        *out = root;
    return rc;
}
