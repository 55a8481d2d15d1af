/*
 * arena.h - per-request bump allocator (PostgreSQL's MessageContext idea).
 *
 * A request owns one arena.  Everything built while serving it (parsed
 * JSON views, attribute-value trees, key buffers, the response) is
 * allocated here and freed together by one arena_reset() or
 * arena_destroy(), error paths included.  Nothing allocated from an arena
 * may be freed individually or kept after the reset.
 *
 * Allocations are 16-byte aligned.  arena_alloc returns NULL on malloc
 * failure or when the arena's cap (`max` bytes in total) would be passed:
 * that is the per-request memory cap.
 *
 * Not thread-safe: one arena, one thread at a time.
 */
#ifndef TM_ARENA_H
#define TM_ARENA_H

#include <stddef.h>

struct arena;

/* Create an arena whose blocks are at least `block` bytes and whose total
 * may not pass `max` bytes.  NULL on malloc failure. */
struct arena *arena_create(size_t block, size_t max);

/* Free everything and the arena itself.  NULL-safe. */
void arena_destroy(struct arena *a);

/* Free everything allocated since creation, keeping the first block. */
void arena_reset(struct arena *a);

/* `n` bytes, uninitialised / zeroed.  NULL on failure (out of memory or
 * over the cap). */
void *arena_alloc(struct arena *a, size_t n);
void *arena_calloc(struct arena *a, size_t count, size_t size);

/* Copies of memory and strings; the string copies are NUL-terminated. */
void *arena_memdup(struct arena *a, const void *p, size_t n);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_printf(struct arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Bytes handed out since creation or the last reset. */
size_t arena_used(const struct arena *a);

#endif
