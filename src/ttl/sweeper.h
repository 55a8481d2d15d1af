/*
 * sweeper.h - time to live: the background thread that deletes expired
 * items from the tables whose TTL is enabled (UpdateTimeToLive, api_ttl.c).
 *
 * An item has expired when its TTL attribute is a Number (epoch seconds,
 * fractions allowed) at or before the server's clock (clock_now_ms), and
 * not more than five years before it: as DynamoDB documents, other types
 * and older numbers are ignored.  The deletes go through the writer like
 * any write, with their index entries (index_delete_item), and are marked
 * in the change log as time-to-live deletes.
 *
 * Thread-safety: start and stop from one thread (main); kick from any
 * thread except the engine's writer (it waits for writer ops).
 */
#ifndef TM_TTL_SWEEPER_H
#define TM_TTL_SWEEPER_H

#include <stdint.h>

#include "engine/engine.h"
#include "item/item.h"

struct ttl_sweeper;

/* Start the sweeper of engine `e`, which runs a round every `interval_ms`
 * milliseconds.  The engine must stay open until ttl_sweeper_stop.
 * Returns NULL (after logging why) if the thread cannot be started; the
 * server then runs without expiry. */
struct ttl_sweeper *ttl_sweeper_start(struct engine *e, unsigned interval_ms);

/* Stop the thread (a round in progress ends after its current batch),
 * join it and free everything.  Call before engine_close.  NULL-safe. */
void ttl_sweeper_stop(struct ttl_sweeper *s);

/* Run a round now and return when a round that started after this call
 * has finished (or the sweeper is stopping).  For tests, which move the
 * clock with clock_advance_ms and then kick.  NULL-safe. */
void ttl_sweeper_kick(struct ttl_sweeper *s);

/* Items deleted since start (for logs and tests). */
uint64_t ttl_sweeper_deleted(const struct ttl_sweeper *s);

/* 1 if `item` has expired at `now_ms` under TTL attribute `attr`, by the
 * rule above; 0 otherwise. */
int ttl_item_expired(const struct av *item, const char *attr,
                     int64_t now_ms);

#endif
