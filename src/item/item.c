/*
 * item.c - queries on attribute-value trees: lookup, DynamoDB's size
 * rules, equality, scalar order and type codes.
 *
 * The JSON edge lives in item_json.c and the binary codec in
 * item_codec.c; this file only reads trees that those built.
 *
 * Size rules (DDB developer guide, "Item sizes and formats"), as used for
 * the 400 KB item limit and TableSizeBytes:
 *   S       UTF-8 byte length          B      raw byte length
 *   N       (significant digits + 1) / 2 + 1
 *   BOOL    1                          NULL   1
 *   M       3 + sum(name length + value size + 1) over members
 *   L       3 + sum(value size + 1) over elements
 *   SS, BS  sum of member lengths      NS     sum of member number sizes
 *   item    sum(name length + value size) over attributes
 *
 * Thread-safety: pure functions over read-only trees.
 */
#include "item/item.h"

#include <stdlib.h>
#include <string.h>

/* ---- type codes -------------------------------------------------------- */

static const char *const type_names[] = {
    [AV_S] = "S",       [AV_N] = "N",   [AV_B] = "B",   [AV_BOOL] = "BOOL",
    [AV_NULL] = "NULL", [AV_M] = "M",   [AV_L] = "L",   [AV_SS] = "SS",
    [AV_NS] = "NS",     [AV_BS] = "BS",
};

const char *av_type_name(enum av_type t)
{
    if ((int)t < AV_S || (int)t > AV_BS)
        return "?";
    return type_names[t];
}

enum av_type av_type_parse(const char *s, size_t n)
{
    switch (n) {
    case 1:
        switch (s[0]) {
        case 'S': return AV_S;
        case 'N': return AV_N;
        case 'B': return AV_B;
        case 'M': return AV_M;
        case 'L': return AV_L;
        }
        break;
    case 2:
        if (s[1] != 'S')
            break;
        switch (s[0]) {
        case 'S': return AV_SS;
        case 'N': return AV_NS;
        case 'B': return AV_BS;
        }
        break;
    case 4:
        if (memcmp(s, "BOOL", 4) == 0)
            return AV_BOOL;
        if (memcmp(s, "NULL", 4) == 0)
            return AV_NULL;
        break;
    }
    return (enum av_type)0;
}

/* ---- lookup ------------------------------------------------------------ */

const struct av *item_get(const struct av *item, const char *name,
                          size_t name_len)
{
    size_t i;

    if (item == NULL || item->type != AV_M)
        return NULL;
    for (i = 0; i < item->u.m.n; i++) {
        const struct av_member *m = &item->u.m.v[i];
        if (m->name.n == name_len &&
            (name_len == 0 || memcmp(m->name.p, name, name_len) == 0))
            return &m->value;
    }
    return NULL;
}

/* ---- sizes ------------------------------------------------------------- */

/* Number of decimal digits of `c` (1 for 0). */
static unsigned coef_digits(unsigned __int128 c)
{
    unsigned d = 1;
    unsigned __int128 p = 10;

    while (d < 39 && c >= p) {
        d++;
        p *= 10;
    }
    return d;
}

static size_t num_size(const struct dec *d)
{
    return (coef_digits(d->coef) + 1) / 2 + 1;
}

size_t av_size(const struct av *v)
{
    size_t i, sz = 0;

    switch (v->type) {
    case AV_S:
    case AV_B:
        return v->u.s.n;
    case AV_N:
        return num_size(&v->u.n);
    case AV_BOOL:
    case AV_NULL:
        return 1;
    case AV_M:
        sz = 3;
        for (i = 0; i < v->u.m.n; i++)
            sz += v->u.m.v[i].name.n + av_size(&v->u.m.v[i].value) + 1;
        return sz;
    case AV_L:
        sz = 3;
        for (i = 0; i < v->u.l.n; i++)
            sz += av_size(&v->u.l.v[i]) + 1;
        return sz;
    case AV_SS:
    case AV_BS:
        for (i = 0; i < v->u.ss.n; i++)
            sz += v->u.ss.v[i].n;
        return sz;
    case AV_NS:
        for (i = 0; i < v->u.ns.n; i++)
            sz += num_size(&v->u.ns.v[i]);
        return sz;
    }
    return 0;
}

size_t item_size(const struct av *item)
{
    size_t i, sz = 0;

    if (item->type != AV_M)
        return av_size(item);
    for (i = 0; i < item->u.m.n; i++)
        sz += item->u.m.v[i].name.n + av_size(&item->u.m.v[i].value);
    return sz;
}

/* ---- equality and order ------------------------------------------------ */

static int bytes_cmp(const struct av_bytes *a, const struct av_bytes *b)
{
    size_t n = a->n < b->n ? a->n : b->n;
    int c = n ? memcmp(a->p, b->p, n) : 0;

    if (c)
        return c < 0 ? -1 : 1;
    return a->n < b->n ? -1 : a->n > b->n;
}

static int bytes_eq(const struct av_bytes *a, const struct av_bytes *b)
{
    return a->n == b->n && (a->n == 0 || memcmp(a->p, b->p, a->n) == 0);
}

int av_compare(const struct av *a, const struct av *b)
{
    switch (a->type) {
    case AV_S:
    case AV_B:
        return bytes_cmp(&a->u.s, &b->u.s);
    case AV_N:
        return dec_cmp(&a->u.n, &b->u.n);
    default:
        return 0;
    }
}

/* Up to this many elements, sets and maps are compared pairwise
 * (quadratic, no allocation); above it, sorted copies of pointers. */
#define SMALL_N 16

static int qcmp_bytes(const void *x, const void *y)
{
    return bytes_cmp(*(const struct av_bytes *const *)x,
                     *(const struct av_bytes *const *)y);
}

static int qcmp_dec(const void *x, const void *y)
{
    return dec_cmp(*(const struct dec *const *)x,
                   *(const struct dec *const *)y);
}

static int qcmp_member(const void *x, const void *y)
{
    return bytes_cmp(&(*(const struct av_member *const *)x)->name,
                     &(*(const struct av_member *const *)y)->name);
}

/* Sort `n` pointers to elements of size `sz` at `a` and `b` and compare the
 * sorted sequences with `eq`.  Returns -1 when out of memory. */
static int sorted_equal(const void *a, const void *b, size_t n, size_t sz,
                        int (*cmp)(const void *, const void *),
                        int (*eq)(const void *, const void *))
{
    const void **pa = malloc(2 * n * sizeof *pa), **pb;
    size_t i;
    int r = 1;

    if (pa == NULL)
        return -1;
    pb = pa + n;
    for (i = 0; i < n; i++) {
        pa[i] = (const char *)a + i * sz;
        pb[i] = (const char *)b + i * sz;
    }
    qsort(pa, n, sizeof *pa, cmp);
    qsort(pb, n, sizeof *pb, cmp);
    for (i = 0; i < n && r; i++)
        r = eq(pa[i], pb[i]);
    free(pa);
    return r;
}

static int eq_bytes(const void *x, const void *y)
{
    return bytes_eq(x, y);
}

static int eq_dec(const void *x, const void *y)
{
    return dec_cmp(x, y) == 0;
}

static int eq_member(const void *x, const void *y)
{
    const struct av_member *a = x, *b = y;
    return bytes_eq(&a->name, &b->name) && av_equal(&a->value, &b->value);
}

/* Sets hold distinct members, so equal sizes plus "every member of a is in
 * b" is set equality. */
static int set_equal(const struct av *a, const struct av *b)
{
    size_t n = a->u.ss.n, i, j;
    int r;

    if (n != b->u.ss.n)
        return 0;
    if (n > SMALL_N) {
        if (a->type == AV_NS)
            r = sorted_equal(a->u.ns.v, b->u.ns.v, n, sizeof(struct dec),
                             qcmp_dec, eq_dec);
        else
            r = sorted_equal(a->u.ss.v, b->u.ss.v, n,
                             sizeof(struct av_bytes), qcmp_bytes, eq_bytes);
        if (r >= 0)
            return r;
    }
    for (i = 0; i < n; i++) {
        int found = 0;
        for (j = 0; j < n && !found; j++) {
            if (a->type == AV_NS)
                found = dec_cmp(&a->u.ns.v[i], &b->u.ns.v[(i + j) % n]) == 0;
            else
                found = bytes_eq(&a->u.ss.v[i], &b->u.ss.v[(i + j) % n]);
        }
        if (!found)
            return 0;
    }
    return 1;
}

static int map_equal(const struct av *a, const struct av *b)
{
    size_t n = a->u.m.n, i, j;
    int r;

    if (n != b->u.m.n)
        return 0;
    /* Same order is the common case: try it first. */
    for (i = 0; i < n; i++)
        if (!bytes_eq(&a->u.m.v[i].name, &b->u.m.v[i].name))
            break;
    if (i == n) {
        for (i = 0; i < n; i++)
            if (!av_equal(&a->u.m.v[i].value, &b->u.m.v[i].value))
                return 0;
        return 1;
    }
    if (n > SMALL_N) {
        r = sorted_equal(a->u.m.v, b->u.m.v, n, sizeof(struct av_member),
                         qcmp_member, eq_member);
        if (r >= 0)
            return r;
    }
    for (i = 0; i < n; i++) {
        const struct av_member *ma = &a->u.m.v[i], *mb = NULL;
        for (j = 0; j < n; j++) {
            if (bytes_eq(&ma->name, &b->u.m.v[(i + j) % n].name)) {
                mb = &b->u.m.v[(i + j) % n];
                break;
            }
        }
        if (mb == NULL || !av_equal(&ma->value, &mb->value))
            return 0;
    }
    return 1;
}

int av_equal(const struct av *a, const struct av *b)
{
    size_t i;

    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case AV_S:
    case AV_B:
        return bytes_eq(&a->u.s, &b->u.s);
    case AV_N:
        return dec_cmp(&a->u.n, &b->u.n) == 0;
    case AV_BOOL:
        return !a->u.b == !b->u.b;
    case AV_NULL:
        return 1;
    case AV_M:
        return map_equal(a, b);
    case AV_L:
        if (a->u.l.n != b->u.l.n)
            return 0;
        for (i = 0; i < a->u.l.n; i++)
            if (!av_equal(&a->u.l.v[i], &b->u.l.v[i]))
                return 0;
        return 1;
    case AV_SS:
    case AV_NS:
    case AV_BS:
        return set_equal(a, b);
    }
    return 0;
}
