/*
 * engine.h - the storage engine: LMDB state, the change log, the catalog of
 * tables, and the one writer thread that orders every mutation.
 *
 * Reads: any thread opens a read snapshot (engine_read_begin), looks rows
 * up or walks them in key order, and ends it.  Snapshots are LMDB MVCC read
 * transactions: never blocked by the writer, never blocking it.
 *
 * Writes: a caller packages its mutation as a `struct engine_op` whose
 * apply() runs on the writer thread against the current state (so that
 * conditions are evaluated in exactly the order of the log), and submits
 * it.  The writer takes every queued op, runs each in a nested LMDB
 * transaction (an op that fails leaves no trace), appends the records of
 * the ops that succeeded to the change log, makes the log durable with one
 * wal_sync for the whole batch (group commit), commits LMDB, and only then
 * calls each op's done() with its result.  So:
 *
 *   1. No op is acknowledged (done with rc 0) before its records are
 *      durable in the log (with sync on).
 *   2. Ops take effect in log order; an op sees every op before it.
 *   3. A failed op (rc < 0) changed nothing and wrote nothing to the log.
 *   4. After a crash, engine_open replays the log from the last LSN that
 *      LMDB recorded as applied, so the state is exactly the effect of the
 *      durable log.
 *
 * Log records written by the engine (payload formats in engine.c):
 * ENGINE_REC_PUT / DELETE (a row of a table), TABLE_CREATE / TABLE_DELETE /
 * TABLE_UPDATE (catalog changes).
 *
 * Thread-safety: every function may be called from any thread, except
 * those taking a `struct engine_wtx`, which only apply() may call (on the
 * writer thread).
 */
#ifndef TM_ENGINE_H
#define TM_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "catalog/catalog.h"

struct engine;
struct engine_rtx;  /* read snapshot */
struct engine_wtx;  /* the writer's view inside apply() */

struct engine_options {
    const char *data_dir;   /* holds state/ (LMDB) and wal/ (the log) */
    int sync;               /* 1: fdatasync the log per batch (default) */
    size_t map_bytes;       /* LMDB map size (0: default, 64 GiB) */
    size_t segment_bytes;   /* log segment size (0: the log's default;
                               tests use small ones) */
    unsigned checkpoint_ms; /* checkpoint period (0: 30 s) */
    int archive_hold;       /* 1: keep the whole log until the first
                               engine_pin_archive (an archive will ship
                               it: src/archive) */
};

/* Open the data directory (creating it), replay the log, start the writer.
 * Returns 0 or a TM_E* code with the reason in `err` (a corrupt log names
 * the file and offset). */
int engine_open(const struct engine_options *o, struct engine **out,
                struct tm_error *err);

/* Finish every submitted op, sync the log, stop the writer, close.
 * NULL-safe. */
void engine_close(struct engine *e);

/* The catalog (tables), owned by the engine. */
struct catalog *engine_catalog(struct engine *e);

/* ---- reads ------------------------------------------------------------ */

int engine_read_begin(struct engine *e, struct engine_rtx **out);
void engine_read_end(struct engine_rtx *r);

/* The change-log position this snapshot reflects (the last applied LSN). */
uint64_t engine_read_lsn(struct engine_rtx *r);

/* Look up the row `key` of table number `table_no`.  Returns 1 and sets
 * `*val`/`*len` (borrowed: valid until engine_read_end) if found, 0 if
 * not, or a TM_E* code. */
int engine_get(struct engine_rtx *r, uint64_t table_no, const uint8_t *key,
               size_t klen, const uint8_t **val, size_t *len);

/* Ordered walk over the rows of one table (Query, Scan, backups).  The
 * cursor belongs to the read snapshot and must be closed before
 * engine_read_end.  Rows come in row-key order (forward) or reverse; see
 * engine.c on the order of very long keys. */
struct engine_cursor;

int engine_cursor_open(struct engine_rtx *r, uint64_t table_no,
                       struct engine_cursor **out);
void engine_cursor_close(struct engine_cursor *c); /* NULL-safe */

/* Position so that the next engine_cursor_next returns, going forward, the
 * first row whose key is >= `key` (`key` NULL: the first row), or, going
 * backward (`reverse` 1), the last row whose key is <= `key` (NULL: the
 * last row).  With `exclusive` 1 a row equal to `key` is skipped.
 * Returns 0 or a TM_E* code. */
int engine_cursor_seek(struct engine_cursor *c, const uint8_t *key,
                       size_t klen, int reverse, int exclusive);

/* The next row in the direction of the last seek: 1 and borrowed pointers
 * (valid until the next call or close) to its full row key and item; 0 at
 * the end of the table; or a TM_E* code. */
int engine_cursor_next(struct engine_cursor *c, const uint8_t **key,
                       size_t *klen, const uint8_t **item, size_t *ilen);

/* ---- writes ----------------------------------------------------------- */

struct engine_op {
    /* Runs on the writer thread.  Reads and writes through `w`.  Returns 0
     * or a TM_E* code with the message in `err`; on failure every write it
     * made is rolled back. */
    int (*apply)(struct engine_wtx *w, void *arg, struct tm_error *err);
    /* Runs on the writer thread after the batch is durable and visible
     * (rc 0) or after the op failed (rc < 0, message in op->err).  It must
     * not block; it typically wakes the waiting request. */
    void (*done)(struct engine_op *op);
    void *arg;               /* for apply() */
    void *ctx;               /* for done() */
    /* set by the engine */
    int rc;
    struct tm_error err;
    uint64_t lsn;            /* last LSN this op wrote (0 if none) */
    int64_t time_ms;         /* commit time of its batch */
    struct engine_op *next;  /* queue link, engine-private */
};

/* Queue `op` for the writer.  Takes no ownership: `op` must stay valid
 * until done() has been called.  Returns 0, or TM_EUNAVAILABLE when the
 * engine is closing (then done() is never called). */
int engine_submit(struct engine *e, struct engine_op *op);

/* Submit and wait for the result (for control-plane calls and tests).
 * Returns op->rc. */
int engine_run(struct engine *e, struct engine_op *op);

/* Inside apply(): the commit time (ms) of the current batch. */
int64_t engine_wtx_time(struct engine_wtx *w);

/* Inside apply(): read a row as the op sees the state (including this
 * batch's earlier ops).  Same contract as engine_get. */
int engine_wtx_get(struct engine_wtx *w, uint64_t table_no,
                   const uint8_t *key, size_t klen, const uint8_t **val,
                   size_t *len);

/* Inside apply(): write a row (`size` is the item's DynamoDB size, kept
 * for TableSizeBytes) or delete one (absent: no-op, nothing logged).
 * Logged as PUT/DELETE, with the old item when the table has a stream;
 * _delete_ttl marks the record as a time-to-live delete.  These write the
 * table row only: secondary indexes are kept by the caller (src/index). */
int engine_wtx_put(struct engine_wtx *w, const struct table *t,
                   const uint8_t *key, size_t klen, const uint8_t *item,
                   size_t ilen, size_t size);
int engine_wtx_delete(struct engine_wtx *w, const struct table *t,
                      const uint8_t *key, size_t klen);
int engine_wtx_delete_ttl(struct engine_wtx *w, const struct table *t,
                          const uint8_t *key, size_t klen);

/* Inside apply(): index entries, rows under an index's number. */
int engine_wtx_index_put(struct engine_wtx *w, uint64_t index_no,
                         const uint8_t *key, size_t klen, const uint8_t *item,
                         size_t ilen, size_t size);
int engine_wtx_index_delete(struct engine_wtx *w, uint64_t index_no,
                            const uint8_t *key, size_t klen);

/* Inside apply(): a fresh row-key prefix number (for a new index), and
 * dropping every row under one (a deleted index), logged. */
uint64_t engine_wtx_alloc_no(struct engine_wtx *w);
int engine_wtx_drop_rows(struct engine_wtx *w, uint64_t no);

/* Inside apply(): a cursor over the op's own view (a backfill's scan).
 * Close it before apply() returns. */
int engine_wtx_cursor_open(struct engine_wtx *w, uint64_t table_no,
                           struct engine_cursor **out);

/* ---- the change log, read back ----------------------------------------- */

struct wal_record;

/* One row change as the log holds it (DynamoDB Streams, point-in-time
 * recovery).  Pointers borrow from the record. */
struct engine_change {
    uint64_t lsn;
    int64_t time_ms;
    uint64_t table_no;          /* a table's or an index's number */
    int is_delete;
    int existed;                /* the row existed before */
    int ttl;                    /* a time-to-live delete */
    const uint8_t *key;
    size_t klen;
    const uint8_t *old_item;    /* NULL unless the table had a stream */
    size_t old_len;
    const uint8_t *new_item;    /* puts */
    size_t new_len;
    size_t old_size, new_size;  /* DynamoDB sizes */
};

/* 1 and *c filled for a PUT/DELETE record, 0 for other records, or
 * TM_ECORRUPT. */
int engine_change_parse(const struct wal_record *r, struct engine_change *c);

/* 1 and *t (a table's definition, the caller frees it with table_free) for
 * a TABLE_CREATE/TABLE_UPDATE record, 0 for other records, or TM_ECORRUPT
 * when such a record does not parse.  Readers of the log (streams, the
 * archive's restore) learn a table's definitions at a point from these. */
int engine_table_parse(const struct wal_record *r, struct table **t);

/* Keep every log record from `lsn` on (0: no pin), whatever the other
 * retention rules say: point-in-time recovery's oldest base needs them. */
void engine_pin_log(struct engine *e, uint64_t lsn);

/* The archive (src/archive): keep every log record from `lsn` on (0: no
 * pin), because the records from there on are not in the object store
 * yet.  Combined with engine_pin_log and the other rules: a checkpoint
 * removes a segment only when every one of them lets it go. */
void engine_pin_archive(struct engine *e, uint64_t lsn);

/* Backups being written (src/backup).  While a hold is on table number
 * `no`, every change of one of its rows is logged with the old item (as
 * for a table with a stream), the log is kept from `lsn` on, and the
 * table cannot be deleted (engine_table_held).  A backup whose snapshot
 * was lost in a crash is then finished from a later snapshot by undoing
 * the table's changes after `lsn`.  Holds live in memory only: the backup
 * store takes them again at start, before any write.  Any thread.
 * _hold returns 0 or TM_ELIMIT (64 holds at once). */
int engine_hold_table(struct engine *e, uint64_t no, uint64_t lsn);
void engine_release_table(struct engine *e, uint64_t no, uint64_t lsn);
int engine_table_held(struct engine *e, uint64_t no);

/* Wait until every batch the writer had begun when this was called is
 * committed (an empty op through the queue).  After a hold, a barrier
 * ensures that every change committed later carries its old item.
 * Returns 0 or TM_EUNAVAILABLE. */
int engine_barrier(struct engine *e);

/* Compare two row keys (of one table) in the order cursors return them:
 * <0, 0, >0. */
int engine_row_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl);

/* The live change log and its directory, for readers (wal_reader_open). */
struct wal *engine_wal(struct engine *e);
const char *engine_wal_dir(struct engine *e);

/* Inside apply(): catalog changes, logged.  create assigns t->no and
 * stores the definition (takes ownership of `t` on success); delete drops
 * the table and its rows; update replaces the definition of an existing
 * table number (takes ownership of `t` on success). */
int engine_wtx_create_table(struct engine_wtx *w, struct table *t);
int engine_wtx_delete_table(struct engine_wtx *w, const char *name);
int engine_wtx_update_table(struct engine_wtx *w, struct table *t);

#endif
