/*
 * index.h - secondary indexes: their entries kept in step with every item
 * write, and the backfill of a global secondary index created on a table
 * that already has items.
 *
 * An index entry is a row of its own under the index's number: the index
 * key (key_encode with the index's key schema) followed by the table's
 * primary row key (so entries of items sharing an index key stay
 * distinct), holding the projected item (ALL, KEYS_ONLY: the table and
 * index keys, INCLUDE: those plus NonKeyAttributes).  An item without the
 * index's key attributes has no entry (sparse indexes).
 *
 * Every item write goes through index_put_item / index_delete_item, inside
 * the writer's op: the table row and its index entries change in the same
 * transaction, and their log records are in the same batch.
 */
#ifndef TM_INDEX_H
#define TM_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "catalog/catalog.h"
#include "engine/engine.h"
#include "item/item.h"

/* Inside apply(): write `item` (also given encoded: enc/elen, DynamoDB
 * size `size`) as the row `key` of table t, and update every index's
 * entry.  `a` is scratch memory for the old item and projections. */
int index_put_item(struct engine_wtx *w, const struct table *t,
                   const uint8_t *key, size_t klen, const struct av *item,
                   const uint8_t *enc, size_t elen, size_t size,
                   struct arena *a);

/* Inside apply(): delete the row `key` of table t (absent: nothing) and
 * its index entries.  `ttl` marks it as a time-to-live delete in the
 * log (and so in the stream). */
int index_delete_item(struct engine_wtx *w, const struct table *t,
                      const uint8_t *key, size_t klen, int ttl,
                      struct arena *a);

/* Before a write: DynamoDB refuses an item whose index key attributes
 * have the wrong type or are empty ("One or more parameter values were
 * invalid: Type mismatch for Index Key <k> Expected: S Actual: N
 * IndexName: <ix>").  Returns 0 or TM_EVALIDATION with `err` set. */
int index_check_item(const struct table *t, const struct av *item,
                     struct tm_error *err);

/* The entry of `item` in index ix: its row key (appended to `ikey`) and
 * projected item (appended to `ival` encoded, size in *isize).  Returns 1,
 * or 0 when the item has no entry (missing index key attributes). */
int index_entry(const struct table *t, const struct table_index *ix,
                const struct av *item, const uint8_t *pk, size_t pklen,
                struct arena *a, struct buf *ikey, struct buf *ival,
                size_t *isize);

/* Start a backfill for every index marked backfilling (after start-up,
 * and after UpdateTable creates an index).  Each backfill runs on its own
 * thread as a sequence of writer ops of a bounded number of rows, then
 * marks the index ACTIVE.  Returns 0 or TM_ENOMEM. */
int index_backfill_start(struct engine *e, const char *table,
                         const char *index);
int index_backfill_resume_all(struct engine *e);

/* Wait for running backfills to stop (they stop when the engine closes). */
void index_backfill_join(void);

#endif
