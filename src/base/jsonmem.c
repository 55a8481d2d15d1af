/*
 * jsonmem.c - jansson's tagging allocator; see jsonmem.h.
 */
#include "base/jsonmem.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/err.h"
#include "base/jsonparse.h"

#define TAG_HEAP 0x6a6d6865u  /* "ehmj" */
#define TAG_ARENA 0x6a6d6172u /* "ramj" */

/* 16 bytes, so that the block after it keeps malloc's alignment */
struct tag {
    uint32_t kind;
    uint32_t pad[3];
};

static atomic_int installed;
static _Thread_local struct arena *parse_arena;
static _Thread_local size_t n_arena, n_heap; /* this thread's blocks */

static void *jm_malloc(size_t n)
{
    struct tag *t = NULL;

    if (n > SIZE_MAX - sizeof *t)
        return NULL;
    if (parse_arena) {
        t = arena_alloc(parse_arena, n + sizeof *t);
        if (t) {
            t->kind = TAG_ARENA;
            n_arena++;
            return t + 1;
        }
        /* the arena is full: the rest of the parse is on the heap */
    }
    t = malloc(n + sizeof *t);
    if (t == NULL)
        return NULL;
    t->kind = TAG_HEAP;
    n_heap++;
    return t + 1;
}

static void jm_free(void *p)
{
    struct tag *t;

    if (p == NULL)
        return;
    t = (struct tag *)p - 1;
    if (t->kind == TAG_HEAP) {
        t->kind = 0;
        free(t);
    } else if (t->kind != TAG_ARENA) {
        abort(); /* not ours: a double free or a foreign pointer */
    }
}

void jsonmem_init(void)
{
    int expected = 0;

    if (atomic_compare_exchange_strong(&installed, &expected, 1))
        json_set_alloc_funcs(jm_malloc, jm_free);
}

json_t *jsonmem_loadb(struct arena *a, const char *buf, size_t len,
                      size_t flags, json_error_t *error)
{
    json_t *j = NULL;
    int arena = a != NULL && len <= JSONMEM_ARENA_MAX &&
                atomic_load_explicit(&installed, memory_order_relaxed);

    if (arena)
        parse_arena = a;
    /* the fast path, or jansson for whatever it declines (and to word
     * every error) */
    if (json_parse_fast(buf, len, &j) != 0)
        j = json_loadb(buf, len, flags, error);
    if (arena)
        parse_arena = NULL;
    return j;
}

static int append(const char *p, size_t n, void *out)
{
    return buf_append(out, p, n) == 0 ? 0 : -1;
}

int jsonmem_dump(const json_t *j, size_t flags, struct buf *out)
{
    size_t before = out->len;

    if (json_dump_callback(j, append, out, flags) == 0)
        return 0;
    out->len = before;
    return TM_ENOMEM;
}

char *jsonmem_dumps(const json_t *j, size_t flags)
{
    struct buf b;
    size_t n;

    buf_init(&b, (size_t)1 << 30);
    if (jsonmem_dump(j, flags, &b) != 0 || buf_putc(&b, '\0') != 0) {
        buf_free(&b);
        return NULL;
    }
    return (char *)buf_take(&b, &n);
}

void jsonmem_counts(size_t *arena, size_t *heap)
{
    *arena = n_arena;
    *heap = n_heap;
}
