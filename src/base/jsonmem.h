/*
 * jsonmem.h - jansson's memory: a small request body is parsed into its
 * request's arena instead of a malloc and a free per JSON value.
 *
 * Why: a GetItem body parses into about 27 jansson allocations (an
 * object, its hash table and one pair per member, a string and its
 * bytes per value), each freed again at the end of the request: malloc
 * and free were 6% of the request thread's time, as much as the parse.
 *
 * How: jsonmem_init() installs jansson's allocator (json_set_alloc_funcs)
 * before any JSON value exists.  Every block it hands out carries a
 * 16-byte tag: "heap" (malloc'd, free() on release) or "arena" (taken
 * from the arena jsonmem_loadb was given, nothing to do on release: the
 * request's arena_reset frees it).  Only jsonmem_loadb's parse takes
 * from an arena, and only for bodies up to JSONMEM_ARENA_MAX bytes;
 * every other jansson allocation (values built later, a member added to
 * a parsed object, json_deep_copy) is a heap block as before.
 *
 * Guarantees, and the rules that keep them:
 *   - a value parsed into an arena lives until that arena is reset, so
 *     the parsed document must be released (json_decref) before the
 *     reset and no part of it kept afterwards (json_incref of a member
 *     to keep it is a use after free; json_deep_copy is the way);
 *   - when the arena is full (its cap), the parse goes on on the heap:
 *     the answer never depends on the arena;
 *   - jansson's json_dumps hands the caller a tagged block, which free()
 *     cannot take: Tidemark calls jsonmem_dumps instead, whose text is
 *     plain malloc'd memory (tests/unit/test_sources.py keeps json_dumps
 *     out of src/);
 *   - without jsonmem_init (unit tests, the offline commands) jansson
 *     uses malloc and free.
 */
#ifndef TM_JSONMEM_H
#define TM_JSONMEM_H

#include <jansson.h>
#include <stddef.h>

#include "base/arena.h"
#include "base/buf.h"

/* Bodies above this many bytes are parsed on the heap (a 16 MB batch
 * would take its jansson tree's 5x out of the request's memory cap). */
#define JSONMEM_ARENA_MAX ((size_t)64 * 1024)

/* Install the tagging allocator; call once, first thing in main, before
 * any JSON value is made.  Idempotent. */
void jsonmem_init(void);

/* json_loadb, with the values taken from `a` while it has room (a NULL
 * `a`, no jsonmem_init or a body above JSONMEM_ARENA_MAX: the heap).  The
 * parse itself is json_parse_fast's where it accepts the body, jansson's
 * where it declines (src/base/jsonparse.h): the same tree either way.
 * `error` is filled only when the result is NULL. */
json_t *jsonmem_loadb(struct arena *a, const char *buf, size_t len,
                      size_t flags, json_error_t *error);

/* The JSON text of `j` (json_dumps' flags) appended to `out`, in one pass:
 * 0, or TM_ENOMEM with `out` as it was. */
int jsonmem_dump(const json_t *j, size_t flags, struct buf *out);

/* json_dumps, into malloc'd memory the caller frees with free() (jansson's
 * own json_dumps returns a tagged block: never call it, see the rules). */
char *jsonmem_dumps(const json_t *j, size_t flags);

/* How many blocks the calling thread took from arenas and from the heap
 * (for the unit test). */
void jsonmem_counts(size_t *arena, size_t *heap);

#endif
