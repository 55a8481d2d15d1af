/*
 * replay_chunk.c - a chunk of log replay: last change per key, in key
 * order; see replay_chunk.h.
 *
 * The changes are kept in one byte array (key, then item) and an array of
 * struct replay_change that refer to it by offset, so growing either is
 * one realloc.  finish sorts the array with a bottom-up merge sort (stable:
 * among equal keys the order added is kept), one pass per sort step, then
 * keeps the last of each run of equal keys.
 */
#include "restore/replay_chunk.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"

void replay_chunk_init(struct replay_chunk *c)
{
    memset(c, 0, sizeof *c);
}

void replay_chunk_reset(struct replay_chunk *c)
{
    c->used = 0;
    c->n = 0;
    c->added = 0;
    c->sort_w = 0;
    c->in_tmp = 0;
    c->finished = 0;
}

void replay_chunk_free(struct replay_chunk *c)
{
    if (c == NULL)
        return;
    free(c->bytes);
    free(c->v);
    free(c->tmp);
    replay_chunk_init(c);
}

size_t replay_chunk_bytes(const struct replay_chunk *c)
{
    return c->used + 2 * (size_t)c->added * sizeof *c->v;
}

/* Room for `n` more elements of `size` bytes in *p (capacity *cap,
 * `used` in use), doubling.  0 or TM_ENOMEM (nothing changed). */
static int grow(void **p, size_t *cap, size_t used, size_t n, size_t size)
{
    size_t lim = ((size_t)-1 / 4) / size, want = *cap ? *cap : 4096 / size + 1;
    void *np;

    if (used + n <= *cap)
        return 0;
    if (used > lim || n > lim - used)
        return TM_ENOMEM;
    while (want < used + n)
        want *= 2;
    np = realloc(*p, want * size);
    if (np == NULL)
        return TM_ENOMEM;
    *p = np;
    *cap = want;
    return 0;
}

static uint64_t key_prefix(const uint8_t *k, size_t n)
{
    uint64_t v = 0;

    for (size_t i = 0; i < 8; i++)
        v = v << 8 | (i < n ? k[i] : 0);
    return v;
}

int replay_chunk_add(struct replay_chunk *c, uint64_t lsn,
                     const uint8_t *key, size_t klen, int is_delete,
                     const uint8_t *item, size_t ilen, size_t size)
{
    struct replay_change *x;
    void *p;
    int rc;

    if (is_delete)
        ilen = size = 0;
    if (klen >= UINT32_MAX || ilen >= UINT32_MAX || size >= UINT32_MAX)
        return TM_ETOOLARGE;
    p = c->bytes;
    if ((rc = grow(&p, &c->cap, c->used, klen + ilen, 1)) != 0)
        return rc;
    c->bytes = p;
    p = c->v;
    if ((rc = grow(&p, &c->vcap, c->n, 1, sizeof *c->v)) != 0)
        return rc;
    c->v = p;
    x = &c->v[c->n++];
    x->prefix = key_prefix(key, klen);
    x->off = c->used;
    x->lsn = lsn;
    x->klen = (uint32_t)klen;
    x->ilen = (uint32_t)ilen;
    x->size = (uint32_t)size;
    x->is_delete = is_delete != 0;
    memcpy(c->bytes + c->used, key, klen);
    if (ilen)
        memcpy(c->bytes + c->used + klen, item, ilen);
    c->used += klen + ilen;
    c->added++;
    return 0;
}

int replay_key_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    int d = memcmp(a, b, al < bl ? al : bl);

    if (d != 0)
        return d;
    return al < bl ? -1 : al > bl;
}

static int change_cmp(const uint8_t *bytes, const struct replay_change *x,
                      const struct replay_change *y)
{
    if (x->prefix != y->prefix)
        return x->prefix < y->prefix ? -1 : 1;
    return replay_key_cmp(bytes + x->off, x->klen, bytes + y->off, y->klen);
}

/* One pass of a stable bottom-up merge sort: the sorted runs of width w
 * in src[0..n) merged in pairs into dst. */
static void merge_pass(const uint8_t *bytes, const struct replay_change *src,
                       struct replay_change *dst, size_t n, size_t w)
{
    for (size_t lo = 0; lo < n; lo += 2 * w) {
        size_t mid = n - lo > w ? lo + w : n;
        size_t hi = n - mid > w ? mid + w : n;
        size_t i = lo, j = mid, k = lo;

        while (i < mid && j < hi)
            /* the left one first when equal: stable */
            dst[k++] = change_cmp(bytes, &src[j], &src[i]) < 0 ? src[j++]
                                                              : src[i++];
        while (i < mid)
            dst[k++] = src[i++];
        while (j < hi)
            dst[k++] = src[j++];
    }
}

int replay_chunk_sort_step(struct replay_chunk *c)
{
    const struct replay_change *s;
    size_t n = 0;

    if (c->finished)
        return 1;
    if (c->sort_w == 0) {
        if (c->n > c->tcap) {
            void *p = realloc(c->tmp, c->n * sizeof *c->v);
            if (p == NULL)
                return TM_ENOMEM;
            c->tmp = p;
            c->tcap = c->n;
        }
        c->sort_w = 1;
        c->in_tmp = 0;
    }
    s = c->in_tmp ? c->tmp : c->v;
    if (c->sort_w < c->n) {
        merge_pass(c->bytes, s, c->in_tmp ? c->v : c->tmp, c->n, c->sort_w);
        c->in_tmp = !c->in_tmp;
        c->sort_w *= 2;
        return 0;
    }
    /* the last of each run of equal keys, written into c->v (when s is
     * c->v, the write index never passes the read index) */
    for (size_t i = 0; i < c->n; i++) {
        if (i + 1 < c->n && change_cmp(c->bytes, &s[i], &s[i + 1]) == 0)
            continue;
        c->v[n++] = s[i];
    }
    c->n = n;
    c->finished = 1;
    return 1;
}

int replay_chunk_finish(struct replay_chunk *c)
{
    int rc;

    while ((rc = replay_chunk_sort_step(c)) == 0)
        ;
    return rc < 0 ? rc : 0;
}
