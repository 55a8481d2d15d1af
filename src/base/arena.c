/*
 * arena.c - bump allocator over a chain of malloc'd blocks; see arena.h.
 *
 * The first block is kept across resets so that a steady request load does
 * no malloc at all; later blocks, and allocations over a quarter of a block
 * (each in a block of its own on the `big` list), are freed by arena_reset.
 */
#include "base/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALIGN 16

struct block {
    struct block *next;
    size_t size;   /* usable bytes after the header */
    size_t used;
    /* data follows, aligned */
};

struct arena {
    struct block *head;   /* current block (newest first) */
    struct block *first;  /* kept across resets; always the tail of head */
    struct block *big;    /* oversized allocations, one block each */
    size_t block;
    size_t max;
    size_t total;         /* bytes handed out */
};

#define HDR ((sizeof(struct block) + ALIGN - 1) & ~(size_t)(ALIGN - 1))

static struct block *block_new(size_t size)
{
    struct block *b = malloc(HDR + size);
    if (b == NULL)
        return NULL;
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

struct arena *arena_create(size_t block, size_t max)
{
    struct arena *a = malloc(sizeof *a);
    if (a == NULL)
        return NULL;
    a->block = block < 256 ? 256 : block;
    a->max = max;
    a->total = 0;
    a->first = block_new(a->block);
    if (a->first == NULL) {
        free(a);
        return NULL;
    }
    a->head = a->first;
    a->big = NULL;
    return a;
}

void arena_reset(struct arena *a)
{
    struct block *b, *next;

    if (a == NULL)
        return;
    for (b = a->head; b != NULL && b != a->first; b = next) {
        next = b->next;
        free(b);
    }
    for (b = a->big; b != NULL; b = next) {
        next = b->next;
        free(b);
    }
    a->big = NULL;
    a->head = a->first;
    a->first->next = NULL;
    a->first->used = 0;
    a->total = 0;
}

void arena_destroy(struct arena *a)
{
    if (a == NULL)
        return;
    arena_reset(a);
    free(a->first);
    free(a);
}

void *arena_alloc(struct arena *a, size_t n)
{
    struct block *b;
    size_t need;
    uint8_t *p;

    if (n == 0)
        n = 1;
    if (n > SIZE_MAX - ALIGN - HDR)
        return NULL;
    need = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (a->total > a->max || need > a->max - a->total)
        return NULL;
    if (need > a->block / 4) {
        /* Big: a block of its own on the `big` list, so that the current
         * block's free space stays usable. */
        b = block_new(need);
        if (b == NULL)
            return NULL;
        b->next = a->big;
        a->big = b;
        b->used = need;
        a->total += need;
        return (uint8_t *)b + HDR;
    }
    b = a->head;
    if (b->size - b->used < need) {
        b = block_new(a->block);
        if (b == NULL)
            return NULL;
        b->next = a->head;
        a->head = b;
    }
    p = (uint8_t *)b + HDR + b->used;
    b->used += need;
    a->total += need;
    return p;
}

void *arena_calloc(struct arena *a, size_t count, size_t size)
{
    void *p;

    if (size != 0 && count > SIZE_MAX / size)
        return NULL;
    p = arena_alloc(a, count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

void *arena_memdup(struct arena *a, const void *src, size_t n)
{
    void *p = arena_alloc(a, n);
    if (p && n)
        memcpy(p, src, n);
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    int n;
    char *p;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    p = arena_alloc(a, (size_t)n + 1);
    if (p == NULL)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

size_t arena_used(const struct arena *a) { return a->total; }
