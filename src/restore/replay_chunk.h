/*
 * replay_chunk.h - one chunk of a point-in-time restore's log replay
 * (src/restore/restore.c): the source table's row changes, read from the
 * log in log order and held in memory, then reduced to the last change of
 * each row and sorted by row key, so that the writer applies them in the
 * order LMDB stores them (one dirty leaf page for many rows instead of
 * one per row).
 *
 * Applying a chunk's survivors in key order has the same effect as
 * applying every change of the chunk in log order: each row ends as its
 * last change left it, and an index entry depends only on the row's item
 * before (the state in LMDB) and after (that last change).
 *
 * Memory: replay_chunk_bytes counts what the changes added since the last
 * reset need, the sort included (their keys and items, and two struct
 * replay_change each); the caller stops adding at its budget.  The arrays
 * grow by doubling, and a reset keeps them for the next chunk, so what is
 * allocated may be up to twice that.  Not thread-safe: one chunk, one
 * thread at a time.
 */
#ifndef TM_REPLAY_CHUNK_H
#define TM_REPLAY_CHUNK_H

#include <stddef.h>
#include <stdint.h>

/* One row change: its key at c->bytes + off, its item (a put) right
 * after the key. */
struct replay_change {
    uint64_t prefix;        /* the key's first 8 bytes, big-endian, zero
                               padded: most comparisons end here */
    size_t off;
    uint64_t lsn;           /* the log record it came from */
    uint32_t klen, ilen;
    uint32_t size;          /* the item's DynamoDB size (at most 400 KB) */
    uint32_t is_delete;
};

struct replay_chunk {
    uint8_t *bytes;          /* keys and items, one after the other */
    size_t used, cap;
    struct replay_change *v; /* the changes; after finish, the survivors */
    size_t n, vcap;
    struct replay_change *tmp; /* the sort's second array */
    size_t tcap;
    uint64_t added;          /* changes added since the last reset */
    /* the sort in progress (replay_chunk_sort_step) */
    size_t sort_w;           /* the next pass's run width; 0: not begun */
    int in_tmp;              /* the runs are in tmp, not v */
    int finished;            /* v[0..n) are the survivors */
};

static inline const uint8_t *replay_change_key(const struct replay_chunk *c,
                                               const struct replay_change *x)
{
    return c->bytes + x->off;
}

/* NULL for a delete. */
static inline const uint8_t *replay_change_item(const struct replay_chunk *c,
                                                const struct replay_change *x)
{
    return x->is_delete ? NULL : c->bytes + x->off + x->klen;
}

void replay_chunk_init(struct replay_chunk *c);

/* Empty the chunk, keeping its memory for the next one. */
void replay_chunk_reset(struct replay_chunk *c);

/* Release the memory; the chunk is empty and reusable.  NULL-safe. */
void replay_chunk_free(struct replay_chunk *c);

/* Add one change, log record `lsn` (copied): a delete of row `key`, or
 * a put of item `item` (ilen bytes, DynamoDB size `size`).  Returns 0,
 * TM_ENOMEM, or TM_ETOOLARGE (a key, item or size of 4 GB or more); on
 * failure the chunk is as it was. */
int replay_chunk_add(struct replay_chunk *c, uint64_t lsn,
                     const uint8_t *key, size_t klen, int is_delete,
                     const uint8_t *item, size_t ilen, size_t size);

/* The memory the changes added since the last reset need: their keys
 * and items, and two struct replay_change each (one for the sort).  The
 * sort does not change it. */
size_t replay_chunk_bytes(const struct replay_chunk *c);

/* Keep only the last change (in the order added) of each key and sort the
 * survivors by key (replay_key_cmp: for row keys of up to 480 bytes the
 * order of LMDB's keys, src/engine/engine.c); c->v[0..c->n) are then the
 * survivors.  A stable merge sort, with a second array as large as the
 * changes' (kept for the next chunk).  No change may be added once the
 * sort has begun, until a reset.  Returns 0 or TM_ENOMEM (nothing done). */
int replay_chunk_finish(struct replay_chunk *c);

/* The same work in steps of one pass over the changes each, so that the
 * caller can do other things in between (restore.c keeps the writer fed):
 * 0 after a step with more to do, 1 when the chunk is finished (as
 * replay_chunk_finish leaves it; again 1 on later calls), or TM_ENOMEM
 * (before the first step; nothing done).  replay_chunk_finish completes a
 * sort begun in steps. */
int replay_chunk_sort_step(struct replay_chunk *c);

/* memcmp order of two keys, shorter first on a common prefix. */
int replay_key_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl);

#endif
