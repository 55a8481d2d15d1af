/*
 * eval.c - evaluating parsed expressions against items: conditions and
 * filters, projections, and the interpretation of key conditions.
 *
 * Condition semantics (DynamoDB's, as ScyllaDB's tests pin them down):
 *   - a missing attribute makes =, <, <=, >, >=, BETWEEN, IN and the
 *     functions false, and <> true (even between two missing attributes);
 *   - values of different types are unequal and unordered: an order
 *     comparison between them is false, never an error;
 *   - < <= > >= and BETWEEN order N numerically, S and B by unsigned bytes;
 *     other types make them false;
 *   - size(): S its length in UTF-16 code units (DynamoDB counts as Java
 *     does: "é𝄞" is 3), B its bytes, sets, L and M their member counts; on
 *     N, BOOL, NULL or a missing attribute the comparison is false;
 *   - contains(a, v): substring when a is S (or B) and v the same type,
 *     membership when a is a set and v its element type, element equality
 *     when a is L; begins_with(a, v): prefix on S or B of the same type;
 *   - attribute_type(a, :t): a exists with type :t.
 * Evaluation allocates nothing: size() results live in stack scratch.
 *
 * Projection keeps each path's nesting ("a.b[1]" gives {a:{b:[x]}}), lists
 * compacted in index order, parents omitted when nothing under them
 * exists.
 *
 * Thread-safety: trees are read-only; any number of threads may evaluate
 * the same parsed expression.
 */
#include "expr/expr_int.h"

#include <string.h>

/* ---- paths -------------------------------------------------------------- */

int expr_pel_cmp(const struct expr_pel *x, const struct expr_pel *y)
{
    size_t m;
    int d;

    if (x->index >= 0 || y->index >= 0) {
        if (x->index < 0)
            return -1;
        if (y->index < 0)
            return 1;
        return x->index < y->index ? -1 : x->index > y->index;
    }
    m = x->len < y->len ? x->len : y->len;
    d = m ? memcmp(x->name, y->name, m) : 0;
    if (d)
        return d;
    return x->len < y->len ? -1 : x->len > y->len;
}

static const struct av *member(const struct av *m, const char *name,
                               size_t len)
{
    size_t k;

    for (k = 0; k < m->u.m.n; k++) {
        const struct av_member *e = &m->u.m.v[k];
        if (e->name.n == len && memcmp(e->name.p, name, len) == 0)
            return &e->value;
    }
    return NULL;
}

const struct av *expr_path_get(const struct av *item,
                               const struct expr_path *p)
{
    const struct av *v = item;
    uint32_t k;

    for (k = 0; k < p->n && v != NULL; k++) {
        const struct expr_pel *e = &p->el[k];
        if (e->index < 0) {
            v = v->type == AV_M ? member(v, e->name, e->len) : NULL;
        } else {
            if (v->type != AV_L || (size_t)e->index >= v->u.l.n)
                v = NULL;
            else
                v = &v->u.l.v[e->index];
        }
    }
    return v;
}

/* ---- operands ------------------------------------------------------------- */

/* UTF-16 length of UTF-8 text: one unit per sequence, two for 4-byte ones. */
static size_t utf16_len(const uint8_t *p, size_t n)
{
    size_t k, units = 0;

    for (k = 0; k < n; k++) {
        if ((p[k] & 0xC0) != 0x80)
            units++;
        if (p[k] >= 0xF0)
            units++;
    }
    return units;
}

/* DDB's size() of a value, or -1 where it is undefined. */
static long long size_of(const struct av *v)
{
    switch (v->type) {
    case AV_S: return (long long)utf16_len(v->u.s.p, v->u.s.n);
    case AV_B: return (long long)v->u.s.n;
    case AV_SS: case AV_BS: return (long long)v->u.ss.n;
    case AV_NS: return (long long)v->u.ns.n;
    case AV_M: return (long long)v->u.m.n;
    case AV_L: return (long long)v->u.l.n;
    default: return -1;
    }
}

static const struct av *operand(const struct expr_node *n,
                                const struct av *item, struct av *scratch)
{
    const struct av *v;
    struct av inner;
    long long sz;

    switch (n->kind) {
    case EN_PATH:
        return item ? expr_path_get(item, &n->path) : NULL;
    case EN_VALUE:
        return n->val;
    case EN_FUNC:
        if (n->op != EF_SIZE)
            return NULL;
        v = operand(n->args[0], item, &inner);
        if (v == NULL)
            return NULL;
        sz = size_of(v);
        if (sz < 0)
            return NULL;
        scratch->type = AV_N;
        dec_from_i64(sz, &scratch->u.n);
        return scratch;
    }
    return NULL;
}

static int ordered(const struct av *x, const struct av *y)
{
    return x != NULL && y != NULL && x->type == y->type &&
           (x->type == AV_N || x->type == AV_S || x->type == AV_B);
}

static int bytes_find(const struct av_bytes *hay, const struct av_bytes *nd)
{
    if (nd->n == 0)
        return 1;
    if (nd->n > hay->n)
        return 0;
    return memmem(hay->p, hay->n, nd->p, nd->n) != NULL;
}

static int contains(const struct av *a, const struct av *v)
{
    size_t k;

    switch (a->type) {
    case AV_S:
    case AV_B:
        return v->type == a->type && bytes_find(&a->u.s, &v->u.s);
    case AV_SS:
    case AV_BS:
        if (v->type != (a->type == AV_SS ? AV_S : AV_B))
            return 0;
        for (k = 0; k < a->u.ss.n; k++)
            if (a->u.ss.v[k].n == v->u.s.n &&
                memcmp(a->u.ss.v[k].p, v->u.s.p, v->u.s.n) == 0)
                return 1;
        return 0;
    case AV_NS:
        if (v->type != AV_N)
            return 0;
        for (k = 0; k < a->u.ns.n; k++)
            if (dec_cmp(&a->u.ns.v[k], &v->u.n) == 0)
                return 1;
        return 0;
    case AV_L:
        for (k = 0; k < a->u.l.n; k++)
            if (av_equal(&a->u.l.v[k], v))
                return 1;
        return 0;
    default:
        return 0;
    }
}

static int begins_with(const struct av *a, const struct av *v)
{
    if ((a->type != AV_S && a->type != AV_B) || v->type != a->type)
        return 0;
    return v->u.s.n <= a->u.s.n && memcmp(a->u.s.p, v->u.s.p, v->u.s.n) == 0;
}

/* ---- conditions -------------------------------------------------------------- */

static int eval(const struct expr_node *n, const struct av *item)
{
    struct av s0, s1, s2;
    const struct av *x, *y, *z;
    uint32_t k;

    switch (n->kind) {
    case EN_OR:
        return eval(n->args[0], item) || eval(n->args[1], item);
    case EN_AND:
        return eval(n->args[0], item) && eval(n->args[1], item);
    case EN_NOT:
        return !eval(n->args[0], item);
    case EN_CMP:
        x = operand(n->args[0], item, &s0);
        y = operand(n->args[1], item, &s1);
        switch (n->op) {
        case EC_EQ: return x && y && av_equal(x, y);
        case EC_NE: return !(x && y && av_equal(x, y));
        case EC_LT: return ordered(x, y) && av_compare(x, y) < 0;
        case EC_LE: return ordered(x, y) && av_compare(x, y) <= 0;
        case EC_GT: return ordered(x, y) && av_compare(x, y) > 0;
        case EC_GE: return ordered(x, y) && av_compare(x, y) >= 0;
        }
        return 0;
    case EN_BETWEEN:
        x = operand(n->args[0], item, &s0);
        y = operand(n->args[1], item, &s1);
        z = operand(n->args[2], item, &s2);
        return ordered(x, y) && ordered(x, z) && av_compare(y, x) <= 0 &&
               av_compare(x, z) <= 0;
    case EN_IN:
        x = operand(n->args[0], item, &s0);
        if (x == NULL)
            return 0;
        for (k = 1; k < n->nargs; k++) {
            y = operand(n->args[k], item, &s1);
            if (y != NULL && av_equal(x, y))
                return 1;
        }
        return 0;
    case EN_FUNC:
        x = operand(n->args[0], item, &s0);
        switch (n->op) {
        case EF_ATTRIBUTE_EXISTS:
            return x != NULL;
        case EF_ATTRIBUTE_NOT_EXISTS:
            return x == NULL;
        case EF_ATTRIBUTE_TYPE:
            return x != NULL && x->type == (enum av_type)n->atype;
        case EF_BEGINS_WITH:
            y = operand(n->args[1], item, &s1);
            return x != NULL && y != NULL && begins_with(x, y);
        case EF_CONTAINS:
            y = operand(n->args[1], item, &s1);
            return x != NULL && y != NULL && contains(x, y);
        }
        return 0;
    }
    return 0;
}

static int node_uses(const struct expr_node *n, const char *name, size_t len)
{
    if (n == NULL)
        return 0;
    if (n->kind == EN_PATH && n->path.n > 0 && n->path.el[0].index < 0 &&
        n->path.el[0].len == len && memcmp(n->path.el[0].name, name, len) == 0)
        return 1;
    for (uint32_t i = 0; i < n->nargs; i++)
        if (node_uses(n->args[i], name, len))
            return 1;
    return 0;
}

int expr_cond_uses(const struct expr_cond *e, const char *name)
{
    return e && node_uses(e->root, name, strlen(name));
}

int expr_eval_condition(const struct expr_cond *e, const struct av *item,
                        int *result, struct tm_error *err)
{
    (void)err;
    *result = eval(e->root, item);
    return 0;
}

/* ---- projection ---------------------------------------------------------------- */

int expr_ptrie_add(struct arena *a, struct expr_ptrie *root,
                   const struct expr_path *p)
{
    struct expr_ptrie *node = root;
    uint32_t k;

    for (k = 0; k < p->n; k++) {
        size_t lo = 0, hi = node->n, j;
        struct expr_ptrie *kid = NULL;

        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            int d = expr_pel_cmp(&p->el[k], &node->kids[mid].el);
            if (d == 0) {
                kid = &node->kids[mid];
                break;
            }
            if (d < 0)
                hi = mid;
            else
                lo = mid + 1;
        }
        if (kid == NULL) {
            if (node->n == node->cap) {
                size_t nc = node->cap ? 2 * node->cap : 4;
                struct expr_ptrie *nk = arena_alloc(a, nc * sizeof *nk);
                if (nk == NULL)
                    return TM_ENOMEM;
                if (node->n)
                    memcpy(nk, node->kids, node->n * sizeof *nk);
                node->kids = nk;
                node->cap = nc;
            }
            for (j = node->n; j > lo; j--)
                node->kids[j] = node->kids[j - 1];
            memset(&node->kids[lo], 0, sizeof node->kids[lo]);
            node->kids[lo].el = p->el[k];
            node->n++;
            kid = &node->kids[lo];
        }
        node = kid;
    }
    node->leaf = 1;
    return 0;
}

/* Project `v` through `node` into `*out`; 1 if anything was kept, 0 if
 * not, TM_ENOMEM. */
static int project(const struct expr_ptrie *node, const struct av *v,
                   struct arena *a, struct av *out)
{
    size_t k, n = 0;
    int rc;

    if (node->leaf || node->n == 0) {
        *out = *v;
        return 1;
    }
    if (node->kids[0].el.index < 0) {
        struct av_member *m;

        if (v->type != AV_M)
            return 0;
        m = arena_alloc(a, node->n * sizeof *m);
        if (m == NULL)
            return TM_ENOMEM;
        for (k = 0; k < node->n; k++) {
            const struct expr_ptrie *kid = &node->kids[k];
            const struct av *c = member(v, kid->el.name, kid->el.len);
            if (c == NULL)
                continue;
            rc = project(kid, c, a, &m[n].value);
            if (rc < 0)
                return rc;
            if (rc == 0)
                continue;
            m[n].name.p = (const uint8_t *)kid->el.name;
            m[n].name.n = kid->el.len;
            n++;
        }
        if (n == 0)
            return 0;
        out->type = AV_M;
        out->u.m.n = n;
        out->u.m.v = m;
        return 1;
    } else {
        struct av *l;

        if (v->type != AV_L)
            return 0;
        l = arena_alloc(a, node->n * sizeof *l);
        if (l == NULL)
            return TM_ENOMEM;
        for (k = 0; k < node->n; k++) {
            const struct expr_ptrie *kid = &node->kids[k];
            if ((size_t)kid->el.index >= v->u.l.n)
                continue;
            rc = project(kid, &v->u.l.v[kid->el.index], a, &l[n]);
            if (rc < 0)
                return rc;
            if (rc > 0)
                n++;
        }
        if (n == 0)
            return 0;
        out->type = AV_L;
        out->u.l.n = n;
        out->u.l.v = l;
        return 1;
    }
}

int expr_project(const struct expr_proj *p, const struct av *item,
                 struct arena *a, struct av *out)
{
    int rc;

    out->type = AV_M;
    out->u.m.n = 0;
    out->u.m.v = NULL;
    if (item == NULL || item->type != AV_M || p->root.n == 0)
        return 0;
    rc = project(&p->root, item, a, out);
    if (rc == 0) {
        out->type = AV_M;
        out->u.m.n = 0;
        out->u.m.v = NULL;
    }
    return rc < 0 ? rc : 0;
}

/* ---- key conditions ------------------------------------------------------------- */

static int name_is(const struct expr_path *p, const char *name)
{
    return name != NULL && strlen(name) == p->el[0].len &&
           memcmp(p->el[0].name, name, p->el[0].len) == 0;
}

/* One primitive key condition, normalised to "key op values". */
struct keycond {
    const struct expr_path *path;
    enum expr_key_op op;
    const struct av *lo, *hi;
};

static void normalise(const struct expr_node *n, struct keycond *kc)
{
    static const enum expr_key_op ops[] = {
        [EC_EQ] = EXPR_KEY_EQ, [EC_LT] = EXPR_KEY_LT, [EC_LE] = EXPR_KEY_LE,
        [EC_GT] = EXPR_KEY_GT, [EC_GE] = EXPR_KEY_GE,
    };
    static const enum expr_key_op flipped[] = {
        [EC_EQ] = EXPR_KEY_EQ, [EC_LT] = EXPR_KEY_GT, [EC_LE] = EXPR_KEY_GE,
        [EC_GT] = EXPR_KEY_LT, [EC_GE] = EXPR_KEY_LE,
    };

    kc->hi = NULL;
    if (n->kind == EN_BETWEEN) {
        kc->path = &n->args[0]->path;
        kc->op = EXPR_KEY_BETWEEN;
        kc->lo = n->args[1]->val;
        kc->hi = n->args[2]->val;
    } else if (n->kind == EN_FUNC) {
        kc->path = &n->args[0]->path;
        kc->op = EXPR_KEY_BEGINS_WITH;
        kc->lo = n->args[1]->val;
    } else if (n->args[0]->kind == EN_PATH) {
        kc->path = &n->args[0]->path;
        kc->op = ops[n->op];
        kc->lo = n->args[1]->val;
    } else {
        kc->path = &n->args[1]->path;
        kc->op = flipped[n->op];
        kc->lo = n->args[0]->val;
    }
}

static size_t collect(const struct expr_node *n, struct keycond *out,
                      size_t k)
{
    if (n->kind == EN_AND) {
        k = collect(n->args[0], out, k);
        return collect(n->args[1], out, k);
    }
    if (k < 2)
        normalise(n, &out[k]);
    return k + 1;
}

int expr_key_condition(const struct expr_cond *e, const struct key_schema *ks,
                       struct expr_key_range *out, struct tm_error *err)
{
    struct keycond kc[2];
    const struct keycond *hash = NULL, *range = NULL;
    size_t n, k;

    memset(out, 0, sizeof *out);
    n = collect(e->root, kc, 0);
    if (n > 2)
        return tm_error_set(err, TM_EVALIDATION,
                            "Conditions can be of length 1 or 2 only");
    for (k = 0; k < n; k++) {
        if (name_is(kc[k].path, ks->hash_name))
            hash = &kc[k];
        else if (name_is(kc[k].path, ks->range_name))
            range = &kc[k];
    }
    if (hash == NULL)
        return tm_error_set(err, TM_EVALIDATION, "Query condition missed key "
                            "schema element: %s", ks->hash_name);
    if (n == 2 && range == NULL)
        return tm_error_set(err, TM_EVALIDATION, "Query condition missed key "
                            "schema element: %s",
                            ks->range_name ? ks->range_name : ks->hash_name);
    if (hash->op != EXPR_KEY_EQ)
        return tm_error_set(err, TM_EVALIDATION,
                            "Query key condition not supported");
    if (hash->lo == NULL || hash->lo->type != ks->hash_type ||
        (range != NULL &&
         (range->lo == NULL || range->lo->type != ks->range_type ||
          (range->hi != NULL && range->hi->type != ks->range_type))))
        return tm_error_set(err, TM_EVALIDATION, "One or more parameter values "
                            "were invalid: Condition parameter type does not "
                            "match schema type");
    out->hash = hash->lo;
    out->op = EXPR_KEY_NONE;
    if (range != NULL) {
        if (range->op == EXPR_KEY_BEGINS_WITH && ks->range_type == AV_N)
            return tm_error_set(err, TM_EVALIDATION, "Invalid "
                                "KeyConditionExpression: Incorrect operand "
                                "type for operator or function; operator or "
                                "function: begins_with, operand type: N");
        out->op = range->op;
        out->lo = range->lo;
        out->hi = range->hi;
    }
    return 0;
}
