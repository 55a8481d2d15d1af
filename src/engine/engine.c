/*
 * engine.c - LMDB state + change log + the writer thread; see engine.h for
 * the guarantees.  This header says how they are kept.
 *
 * Files in the data directory:
 *   LOCK          flock()ed by the running process (holds its pid)
 *   state/        the LMDB environment (data.mdb, lock.mdb)
 *   wal/          the change log segments (src/wal)
 *
 * LMDB databases:
 *   meta      "applied_lsn" -> u64 LE: the last log record reflected in
 *             this state; "next_table_no" -> u64 LE
 *   catalog   table name -> table_to_json text
 *   stats     table_no (8 bytes BE) -> item count u64 LE, size u64 LE
 *   items     table_no (8 bytes BE) ‖ row key -> row value
 *
 * Row keys and LMDB's key limit.  LMDB keys are at most 511 bytes while a
 * DynamoDB primary key may take about 3 KB.  A row key of at most
 * ROWKEY_INLINE bytes is used as it is.  A longer one is stored under its
 * first ROWKEY_PREFIX bytes followed by the 8-byte hash64 of the whole
 * key, and the row value carries the whole key so that lookups verify it.
 * Consequence (documented in docs/compatibility.md): rows whose keys share
 * their first ROWKEY_PREFIX bytes are ordered by hash among themselves, not
 * by sort key.
 *
 * Row value:  u8 flags ‖ varint size ‖ [varint klen ‖ full row key, if
 *             flags & 1] ‖ item
 * where size is the item's DynamoDB size (item_size), kept so that a
 * write knows the size it replaces without decoding the old item.
 *
 * Log records (payload formats; all integers varints unless noted):
 *   PUT           no, flags u8, old_size, new_size, klen, key,
 *                 [oldlen, old item], item
 *   DELETE        no, flags u8, old_size, klen, key, [oldlen, old item]
 *   TABLE_CREATE  table_to_json text
 *   TABLE_DELETE  table_no, name text (rest of the payload)
 *   TABLE_UPDATE  table_to_json text
 *   DROP_ROWS     no (every row under that prefix: a dropped index)
 * `no` is a table's number or an index's (index entries are rows too).
 * flags: 1 the row existed before, 2 the old item follows (tables with a
 * stream), 4 a time-to-live delete.  engine_change_parse reads them.
 * Replay applies a record's effect directly: conditions were evaluated
 * before it was logged, and the sizes it carries are what the state had at
 * that point of the log, which replay reproduces exactly.
 *
 * The batch (one iteration of the writer loop):
 *   1. take every queued op (at most BATCH_MAX);
 *   2. begin an LMDB write transaction; the batch time is
 *      max(now, previous batch time), so commit times never go backwards;
 *   3. for each op: begin a nested transaction, run apply(); on success
 *      commit it, append its records to the log and keep its statistics
 *      deltas; on failure abort it and drop its records;
 *   4. write applied_lsn and the touched tables' stats rows;
 *   5. wal_sync (write + fdatasync): on failure abort the LMDB
 *      transaction, fail every op of the batch (TM_EIO: InternalServerError,
 *      HTTP 500), reload the catalog; the log has undone the batch (or
 *      will, before the next batch is written: wal.h), so the next batch
 *      goes ahead as usual and succeeds once the fault has cleared;
 *   6. commit LMDB; publish statistics; call done() for every op.
 * A failure at step 6, after the log is durable, would leave the log ahead
 * of the state in a way the ops' callers were told failed; the engine
 * then refuses writes (TM_EUNAVAILABLE) until the state has caught up:
 * before each later batch it replays the log's tail into the state, as a
 * restart does (recover()), and goes on once that commits.  An LMDB
 * environment whose meta page write failed refuses every transaction
 * (MDB_PANIC) until the process restarts, and the restart's replay makes
 * the state whole again.
 *
 * Checkpoints: LMDB runs with MDB_NOSYNC (the log is the durable copy).
 * Every FLUSH_MS, when FLUSH_DIRTY_BYTES or more of the state are dirty
 * (cachestat, the whole file counted once a second while writes come),
 * the checkpointer starts the write-back of FLUSH_STEP_BYTES of them, or
 * of the dirty bytes spread over the ticks left before the checkpoint if
 * that is more (sync_file_range, without waiting), so that a checkpoint
 * does not write them all at once in front of the log's fdatasyncs.
 * Every CHECKPOINT_MS the checkpointer thread syncs LMDB and removes log
 * segments wholly before the LSN it had committed when the sync started,
 * but never records younger than the longest window a table needs: 24 h
 * for a table with a stream, its recovery period for a table with PITR.
 * Record times come from per-minute (LSN, time) samples kept in memory; a
 * restarted server has none yet, and keeps the whole log until it does.
 * Two pins hold the log further back: point-in-time recovery's oldest
 * base (engine_pin_log) and the archive's first record not yet in the
 * object store (engine_pin_archive; with archive_hold the whole log is
 * kept until the archive has set it once).  A segment goes only when
 * every rule lets it go.  After a failed sync of the state the
 * checkpointer stops for the life of the process: the kernel may have
 * dropped the pages it could not write while reporting the next sync a
 * success, so only the log still proves what was committed.
 *
 * THREAD SAFETY NOTES: the queue is guarded by qlock; the writer thread is
 * the only LMDB writer and the only catalog mutator; readers use their own
 * MDB_RDONLY transactions (MDB_NOTLS, so a transaction is not tied to a
 * thread's slot).  `committed_lsn` and `broken` are atomics.
 */
#include "engine/engine.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/fsio.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/rowkey.h"
#include "wal/wal.h"

#define BATCH_MAX 1024
#define LMDB_KEY_MAX (8 + ROWKEY_INLINE) /* base/rowkey.h */
#define CHECKPOINT_MS 30000
/* Between checkpoints, every FLUSH_MS, the state's dirty pages are
 * handed to the disk (sync_file_range, no wait) once they are
 * FLUSH_DIRTY_BYTES or more */
#define FLUSH_MS 100
#define FLUSH_DIRTY_BYTES (64u << 20)
/* ... at least this much a tick (more when more is dirty than that
 * times the ticks left before the checkpoint), window by window */
#define FLUSH_STEP_BYTES (8u << 20)
#define FLUSH_WINDOW (4u << 20)
/* ... counting the whole file's dirty pages every this many ticks */
#define FLUSH_COUNT_TICKS 10
#define MAP_BYTES_DEFAULT (64ull << 30)
#define ENGINE_HOLDS_MAX 64

enum {
    REC_PUT = 1,
    REC_DELETE = 2,
    REC_TABLE_CREATE = 3,
    REC_TABLE_DELETE = 4,
    REC_TABLE_UPDATE = 5,
    REC_DROP_ROWS = 6
};

#define RF_EXISTED 1
#define RF_OLD 2
#define RF_TTL 4
#define SAMPLE_MS 60000
#define SAMPLES_MAX 65536

struct stat_delta {
    uint64_t no;
    int64_t items, bytes;
};

struct deltas {
    struct stat_delta *v;
    size_t n, cap;
};

struct engine {
    char *dir;
    char walpath[4096];
    int lock_fd;
    MDB_env *env;
    MDB_dbi dbi_meta, dbi_catalog, dbi_stats, dbi_items;
    struct wal *wal;
    struct catalog *cat;
    uint64_t next_table_no;
    int64_t last_time_ms;

    pthread_mutex_t qlock;
    pthread_cond_t qcond;
    struct engine_op *qhead, *qtail;
    int closing;
    pthread_t writer;
    int writer_started;

    pthread_t ckpt;
    int ckpt_started;
    pthread_mutex_t ckpt_lock;
    pthread_cond_t ckpt_cond;
    int ckpt_stop;        /* guarded by ckpt_lock: no wakeup can be lost */
    int state_sync_failed; /* the checkpointer's own: no more checkpoints */

    _Atomic uint64_t committed_lsn;
    _Atomic int broken;
    _Atomic uint64_t pinned_lsn;  /* keep the log from here (0: no pin) */
    _Atomic uint64_t archive_lsn; /* the archive's pin (0: none) */
    unsigned ckpt_ms;             /* checkpoint period */

    /* Tables being backed up (engine_hold_table): their row changes carry
     * the old item and the log is kept from the hold's LSN.  `nholds` is
     * read without the lock on the write path (0: nothing held). */
    pthread_mutex_t hold_lock;
    pthread_mutex_t rtx_lock;       /* guards rtx_free, rtx_nfree */
    struct engine_rtx *rtx_free;
    unsigned rtx_nfree;
    _Atomic size_t nholds;
    struct table_hold {
        uint64_t no, lsn;
    } holds[ENGINE_HOLDS_MAX];

    /* (first LSN, time) of the first batch in each minute, for retention:
     * the checkpointer keeps log records younger than the longest window
     * any table needs (streams 24 h, PITR its recovery period). */
    pthread_mutex_t sample_lock;
    struct lsn_sample {
        uint64_t lsn;
        int64_t time_ms;
    } *samples;
    size_t nsamples;
};

struct engine_rtx {
    MDB_txn *txn;
    MDB_dbi items;
    struct engine *e;         /* NULL: a writer's view (wtx cursors) */
    struct engine_rtx *next;  /* in e->rtx_free */
};

/* Read snapshots ended are kept, reset (mdb_txn_reset: no snapshot held,
 * the reader slot kept), up to this many, and renewed by the next
 * engine_read_begin: no malloc, no reader-table lock, no txn set-up per
 * GetItem.  engine_close aborts them before it closes LMDB. */
#define RTX_POOL_MAX 16

struct engine_wtx {
    struct engine *e;
    MDB_txn *txn;       /* the op's nested transaction */
    int64_t time_ms;
    struct buf recs;    /* this op's records: u8 type, u32 len, payload */
    struct deltas d;    /* this op's statistics deltas */
    int catalog_changed;
};

/* ---- small helpers ---------------------------------------------------- */

static int lmdb_err(struct tm_error *err, int mrc, const char *what)
{
    int code = mrc == ENOMEM ? TM_ENOMEM : TM_EIO;
    if (mrc == MDB_MAP_FULL)
        return tm_error_set(err, TM_EIO,
                            "%s: the LMDB map is full; restart with a larger"
                            " map size",
                            what);
    return tm_error_set(err, code, "%s: %s", what, mdb_strerror(mrc));
}

/* The LMDB key of a row: table prefix and the row key, or its long form. */
static size_t lmdb_key(uint64_t no, const uint8_t *key, size_t klen,
                       uint8_t out[LMDB_KEY_MAX], int *is_long)
{
    buf_store_u64be(out, no);
    return 8 + rowkey_stored(key, klen, out + 8, is_long);
}

/* Split a row value into its item, checking the stored full key. */
static int row_item(const MDB_val *v, const uint8_t *key, size_t klen,
                    const uint8_t **item, size_t *ilen, size_t *size)
{
    const uint8_t *p = v->mv_data, *end = p + v->mv_size;
    uint64_t n, sz;
    uint8_t flags;

    if (v->mv_size < 1)
        return TM_ECORRUPT;
    flags = *p++;
    if (buf_get_varint(&p, end, &sz) != 0)
        return TM_ECORRUPT;
    if (size)
        *size = (size_t)sz;
    if (flags & 1) {
        if (buf_get_varint(&p, end, &n) != 0 || n > (uint64_t)(end - p))
            return TM_ECORRUPT;
        if (n != klen || memcmp(p, key, klen) != 0)
            return 0; /* another key with the same prefix and hash */
        p += n;
    }
    *item = p;
    *ilen = (size_t)(end - p);
    return 1;
}

static void deltas_add(struct deltas *d, uint64_t no, int64_t items,
                       int64_t bytes)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->v[i].no == no) {
            d->v[i].items += items;
            d->v[i].bytes += bytes;
            return;
        }
    if (d->n == d->cap) {
        size_t ncap = d->cap ? d->cap * 2 : 8;
        struct stat_delta *nv = realloc(d->v, ncap * sizeof *nv);
        if (nv == NULL)
            return; /* statistics are advisory; never fail a write */
        d->v = nv;
        d->cap = ncap;
    }
    d->v[d->n].no = no;
    d->v[d->n].items = items;
    d->v[d->n].bytes = bytes;
    d->n++;
}

/* ---- low-level effects (shared by ops and replay) ---------------------- */

static size_t put_varint(uint8_t *p, uint64_t n)
{
    size_t len = 0;

    do {
        p[len++] = (uint8_t)((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
        n >>= 7;
    } while (n);
    return len;
}

static int do_put(struct engine *e, MDB_txn *txn, uint64_t no,
                  const uint8_t *key, size_t klen, const uint8_t *item,
                  size_t ilen, size_t size, struct tm_error *err)
{
    uint8_t kb[LMDB_KEY_MAX];
    int is_long, mrc;
    MDB_val k, v;
    uint8_t *p;
    uint8_t hdr[24];
    size_t hlen = 1;

    k.mv_data = kb;
    k.mv_size = lmdb_key(no, key, klen, kb, &is_long);
    hdr[0] = (uint8_t)is_long;
    hlen += put_varint(hdr + hlen, size);
    if (is_long)
        hlen += put_varint(hdr + hlen, klen);
    v.mv_size = hlen + (is_long ? klen : 0) + ilen;
    mrc = mdb_put(txn, e->dbi_items, &k, &v, MDB_RESERVE);
    if (mrc)
        return lmdb_err(err, mrc, "writing a row");
    p = v.mv_data;
    memcpy(p, hdr, hlen);
    p += hlen;
    if (is_long) {
        memcpy(p, key, klen);
        p += klen;
    }
    memcpy(p, item, ilen);
    return 0;
}

static int do_delete(struct engine *e, MDB_txn *txn, uint64_t no,
                     const uint8_t *key, size_t klen, struct tm_error *err)
{
    uint8_t kb[LMDB_KEY_MAX];
    int is_long, mrc;
    MDB_val k;

    k.mv_data = kb;
    k.mv_size = lmdb_key(no, key, klen, kb, &is_long);
    mrc = mdb_del(txn, e->dbi_items, &k, NULL);
    if (mrc && mrc != MDB_NOTFOUND)
        return lmdb_err(err, mrc, "deleting a row");
    return 0;
}

/* Delete every row of table `no` and its statistics row. */
static int drop_rows(struct engine *e, MDB_txn *txn, uint64_t no,
                     struct tm_error *err)
{
    MDB_cursor *cur;
    MDB_val k, v;
    uint8_t pre[8];
    int mrc;

    buf_store_u64be(pre, no);
    mrc = mdb_cursor_open(txn, e->dbi_items, &cur);
    if (mrc)
        return lmdb_err(err, mrc, "dropping a table");
    for (;;) {
        /* Seek afresh after every delete: a cursor's position after
         * mdb_cursor_del at the end of the database is not reliable. */
        k.mv_data = pre;
        k.mv_size = 8;
        mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (mrc || k.mv_size < 8 || memcmp(k.mv_data, pre, 8) != 0)
            break;
        mrc = mdb_cursor_del(cur, 0);
        if (mrc)
            break;
    }
    mdb_cursor_close(cur);
    if (mrc && mrc != MDB_NOTFOUND)
        return lmdb_err(err, mrc, "dropping a table");
    k.mv_data = pre;
    k.mv_size = 8;
    mrc = mdb_del(txn, e->dbi_stats, &k, NULL);
    if (mrc && mrc != MDB_NOTFOUND)
        return lmdb_err(err, mrc, "dropping a table's statistics");
    return 0;
}

static int put_meta_u64(struct engine *e, MDB_txn *txn, const char *name,
                        uint64_t val, struct tm_error *err)
{
    uint8_t b[8];
    MDB_val k = {strlen(name), (void *)name}, v = {8, b};
    int mrc;

    buf_store_u64le(b, val);
    mrc = mdb_put(txn, e->dbi_meta, &k, &v, 0);
    return mrc ? lmdb_err(err, mrc, "writing engine metadata") : 0;
}

static uint64_t get_meta_u64(struct engine *e, MDB_txn *txn,
                             const char *name)
{
    MDB_val k = {strlen(name), (void *)name}, v;

    if (mdb_get(txn, e->dbi_meta, &k, &v) != 0 || v.mv_size != 8)
        return 0;
    return buf_get_u64le(v.mv_data);
}

static int store_table(struct engine *e, MDB_txn *txn, const struct table *t,
                       struct tm_error *err)
{
    struct buf b;
    MDB_val k, v;
    int rc, mrc;

    buf_init(&b, 1 << 20);
    rc = table_to_json(t, &b);
    if (rc) {
        buf_free(&b);
        return tm_error_set(err, rc, "encoding a table definition");
    }
    k.mv_data = t->name;
    k.mv_size = strlen(t->name);
    v.mv_data = b.data;
    v.mv_size = b.len;
    mrc = mdb_put(txn, e->dbi_catalog, &k, &v, 0);
    buf_free(&b);
    return mrc ? lmdb_err(err, mrc, "writing the catalog") : 0;
}

static int unstore_table(struct engine *e, MDB_txn *txn, const char *name,
                         struct tm_error *err)
{
    MDB_val k = {strlen(name), (void *)name};
    int mrc = mdb_del(txn, e->dbi_catalog, &k, NULL);
    if (mrc && mrc != MDB_NOTFOUND)
        return lmdb_err(err, mrc, "writing the catalog");
    return 0;
}

/* The statistics of number `no`: a table's or an index's. */
static int stats_of(struct engine *e, uint64_t no, _Atomic uint64_t **items,
                    _Atomic uint64_t **bytes)
{
    struct table *t = catalog_find_no(e->cat, no);
    struct table_index *ix;

    if (t) {
        *items = &t->item_count;
        *bytes = &t->size_bytes;
        return 1;
    }
    if (catalog_find_index_no(e->cat, no, &ix)) {
        *items = &ix->item_count;
        *bytes = &ix->size_bytes;
        return 1;
    }
    return 0;
}

/* The statistics of `no` drop to zero with its rows: a delta that cancels
 * the published value and whatever `d` already holds for it. */
static void reset_stats(struct engine *e, struct deltas *d, uint64_t no)
{
    _Atomic uint64_t *ai, *ab;
    int64_t items = 0, bytes = 0;

    if (stats_of(e, no, &ai, &ab)) {
        items = (int64_t)atomic_load(ai);
        bytes = (int64_t)atomic_load(ab);
    }
    for (size_t i = 0; i < d->n; i++)
        if (d->v[i].no == no) {
            items += d->v[i].items;
            bytes += d->v[i].bytes;
        }
    deltas_add(d, no, -items, -bytes);
}

/* Write the stats rows of the tables in `d` (current value + delta). */
static int flush_stats(struct engine *e, MDB_txn *txn, const struct deltas *d,
                       struct tm_error *err)
{
    for (size_t i = 0; i < d->n; i++) {
        _Atomic uint64_t *ai, *ab;
        uint8_t kb[8], vb[16];
        MDB_val k = {8, kb}, v = {16, vb};
        int64_t items, bytes;
        int mrc;

        if (!stats_of(e, d->v[i].no, &ai, &ab))
            continue; /* dropped in this batch */
        items = (int64_t)atomic_load(ai) + d->v[i].items;
        bytes = (int64_t)atomic_load(ab) + d->v[i].bytes;
        if (items < 0)
            items = 0;
        if (bytes < 0)
            bytes = 0;
        buf_store_u64be(kb, d->v[i].no);
        buf_store_u64le(vb, (uint64_t)items);
        buf_store_u64le(vb + 8, (uint64_t)bytes);
        mrc = mdb_put(txn, e->dbi_stats, &k, &v, 0);
        if (mrc)
            return lmdb_err(err, mrc, "writing table statistics");
    }
    return 0;
}

static void publish_stats(struct engine *e, const struct deltas *d)
{
    for (size_t i = 0; i < d->n; i++) {
        _Atomic uint64_t *ai, *ab;
        int64_t items, bytes;

        if (!stats_of(e, d->v[i].no, &ai, &ab))
            continue;
        items = (int64_t)atomic_load(ai) + d->v[i].items;
        bytes = (int64_t)atomic_load(ab) + d->v[i].bytes;
        atomic_store(ai, (uint64_t)(items < 0 ? 0 : items));
        atomic_store(ab, (uint64_t)(bytes < 0 ? 0 : bytes));
    }
}

/* ---- catalog effects (shared by ops and replay) ------------------------ */

/* Keep next_table_no past every number a definition uses. */
static void bump_numbers(struct engine *e, const struct table *t)
{
    if (t->no >= e->next_table_no)
        e->next_table_no = t->no + 1;
    for (size_t i = 0; i < t->nindexes; i++)
        if (t->indexes[i].no >= e->next_table_no)
            e->next_table_no = t->indexes[i].no + 1;
}

static int do_create_table(struct engine *e, MDB_txn *txn, struct table *t,
                           struct tm_error *err)
{
    int rc;

    bump_numbers(e, t);
    rc = store_table(e, txn, t, err);
    if (rc == 0)
        rc = put_meta_u64(e, txn, "next_table_no", e->next_table_no, err);
    if (rc)
        return rc;
    rc = catalog_insert(e->cat, t);
    if (rc == TM_EINUSE)
        return tm_error_set(err, TM_EINUSE, "Table already exists: %s",
                            t->name);
    return rc ? tm_error_set(err, rc, "out of memory") : 0;
}

static int do_delete_table(struct engine *e, MDB_txn *txn, const char *name,
                           struct tm_error *err)
{
    struct table *t = catalog_find(e->cat, name);
    int rc;

    if (t == NULL)
        return tm_error_set(err, TM_ENOTFOUND,
                            "Requested resource not found: Table: %s not "
                            "found",
                            name);
    rc = drop_rows(e, txn, t->no, err);
    for (size_t i = 0; rc == 0 && i < t->nindexes; i++)
        rc = drop_rows(e, txn, t->indexes[i].no, err);
    if (rc == 0)
        rc = unstore_table(e, txn, name, err);
    if (rc == 0)
        catalog_remove(e->cat, name);
    return rc;
}

static int do_update_table(struct engine *e, MDB_txn *txn, struct table *t,
                           struct tm_error *err)
{
    int rc;

    bump_numbers(e, t);
    rc = store_table(e, txn, t, err);
    if (rc == 0)
        rc = put_meta_u64(e, txn, "next_table_no", e->next_table_no, err);
    if (rc)
        return rc;
    rc = catalog_replace(e->cat, t);
    return rc ? tm_error_set(err, rc, "Requested resource not found: "
                                      "Table: %s not found",
                             t->name)
              : 0;
}

/* ---- records: encode in ops, apply in replay --------------------------- */

static int rec_begin(struct engine_wtx *w, uint8_t type, size_t *lenpos)
{
    int rc = buf_putc(&w->recs, type);
    *lenpos = w->recs.len;
    return rc ? rc : buf_put_u32le(&w->recs, 0);
}

static void rec_end(struct engine_wtx *w, size_t lenpos)
{
    uint32_t len = (uint32_t)(w->recs.len - lenpos - 4);
    uint8_t *p = w->recs.data + lenpos;
    p[0] = (uint8_t)len;
    p[1] = (uint8_t)(len >> 8);
    p[2] = (uint8_t)(len >> 16);
    p[3] = (uint8_t)(len >> 24);
}

static int replay_record(struct engine *e, MDB_txn *txn,
                         const struct wal_record *r, struct deltas *d,
                         struct tm_error *err)
{
    const uint8_t *p = r->payload, *end = p + r->len;
    uint64_t no;
    struct table *t;
    int rc;

    switch (r->type) {
    case REC_PUT:
    case REC_DELETE: {
        struct engine_change ch;
        struct table_index *ix = NULL;
        if (engine_change_parse(r, &ch) != 1)
            goto bad;
        if (catalog_find_no(e->cat, ch.table_no) == NULL &&
            catalog_find_index_no(e->cat, ch.table_no, &ix) == NULL)
            goto bad;
        if (r->type == REC_PUT) {
            rc = do_put(e, txn, ch.table_no, ch.key, ch.klen, ch.new_item,
                        ch.new_len, ch.new_size, err);
            deltas_add(d, ch.table_no, ch.existed ? 0 : 1,
                       (int64_t)ch.new_size - (int64_t)ch.old_size);
        } else {
            rc = do_delete(e, txn, ch.table_no, ch.key, ch.klen, err);
            deltas_add(d, ch.table_no, -1, -(int64_t)ch.old_size);
        }
        return rc;
    }
    case REC_DROP_ROWS:
        if (buf_get_varint(&p, end, &no) != 0 || p != end)
            goto bad;
        reset_stats(e, d, no);
        return drop_rows(e, txn, no, err);
    case REC_TABLE_CREATE:
    case REC_TABLE_UPDATE:
        rc = table_from_json(r->payload, r->len, &t, err);
        if (rc)
            return rc;
        if (r->type == REC_TABLE_CREATE)
            rc = do_create_table(e, txn, t, err);
        else
            rc = do_update_table(e, txn, t, err);
        if (rc)
            table_free(t);
        return rc;
    case REC_TABLE_DELETE: {
        char name[256];
        if (buf_get_varint(&p, end, &no) != 0 || end - p <= 0 ||
            end - p >= (ptrdiff_t)sizeof name)
            goto bad;
        memcpy(name, p, (size_t)(end - p));
        name[end - p] = '\0';
        /* publish pending statistics before the table disappears */
        return do_delete_table(e, txn, name, err);
    }
    default:
        goto bad;
    }
bad:
    return tm_error_set(err, TM_ECORRUPT,
                        "change log record %llu (type %u) cannot be "
                        "applied: malformed or names an unknown table",
                        (unsigned long long)r->lsn, r->type);
}

/* ---- the writer-side API used by apply() -------------------------------- */

int64_t engine_wtx_time(struct engine_wtx *w) { return w->time_ms; }

static int wtx_row(struct engine_wtx *w, uint64_t table_no,
                   const uint8_t *key, size_t klen, const uint8_t **val,
                   size_t *len, size_t *size)
{
    uint8_t kb[LMDB_KEY_MAX];
    int is_long, mrc;
    MDB_val k, v;

    k.mv_data = kb;
    k.mv_size = lmdb_key(table_no, key, klen, kb, &is_long);
    mrc = mdb_get(w->txn, w->e->dbi_items, &k, &v);
    if (mrc == MDB_NOTFOUND)
        return 0;
    if (mrc)
        return TM_EIO;
    return row_item(&v, key, klen, val, len, size);
}

int engine_wtx_get(struct engine_wtx *w, uint64_t table_no,
                   const uint8_t *key, size_t klen, const uint8_t **val,
                   size_t *len)
{
    return wtx_row(w, table_no, key, klen, val, len, NULL);
}

/* Write a row of `no` and log it; the old item goes into the record when
 * `keep_old` (tables with a stream). */
static int row_put(struct engine_wtx *w, uint64_t no, int keep_old,
                   const uint8_t *key, size_t klen, const uint8_t *item,
                   size_t ilen, size_t size)
{
    struct tm_error err;
    const uint8_t *old = NULL;
    size_t olen = 0, old_size = 0, lenpos;
    int existed, rc;

    existed = wtx_row(w, no, key, klen, &old, &olen, &old_size);
    if (existed < 0)
        return existed;
    keep_old = keep_old && existed;
    rc = rec_begin(w, REC_PUT, &lenpos);
    if (rc == 0)
        rc = buf_put_varint(&w->recs, no);
    if (rc == 0)
        rc = buf_putc(&w->recs, (uint8_t)((existed ? RF_EXISTED : 0) |
                                          (keep_old ? RF_OLD : 0)));
    if (rc == 0)
        rc = buf_put_varint(&w->recs, old_size);
    if (rc == 0)
        rc = buf_put_varint(&w->recs, size);
    if (rc == 0)
        rc = buf_put_varint(&w->recs, klen);
    if (rc == 0)
        rc = buf_append(&w->recs, key, klen);
    if (rc == 0 && keep_old) {
        rc = buf_put_varint(&w->recs, olen);
        if (rc == 0)
            rc = buf_append(&w->recs, old, olen);
    }
    if (rc == 0)
        rc = buf_append(&w->recs, item, ilen);
    if (rc)
        return rc;
    /* the old bytes are borrowed from the map: write only after copying */
    rc = do_put(w->e, w->txn, no, key, klen, item, ilen, size, &err);
    if (rc)
        return rc;
    rec_end(w, lenpos);
    deltas_add(&w->d, no, existed ? 0 : 1, (int64_t)size - (int64_t)old_size);
    return 0;
}

static int row_delete(struct engine_wtx *w, uint64_t no, int keep_old,
                      int ttl, const uint8_t *key, size_t klen)
{
    struct tm_error err;
    const uint8_t *old = NULL;
    size_t olen = 0, old_size = 0, lenpos;
    int existed, rc;

    existed = wtx_row(w, no, key, klen, &old, &olen, &old_size);
    if (existed <= 0)
        return existed; /* absent: nothing to do, nothing to log */
    rc = rec_begin(w, REC_DELETE, &lenpos);
    if (rc == 0)
        rc = buf_put_varint(&w->recs, no);
    if (rc == 0)
        rc = buf_putc(&w->recs, (uint8_t)(RF_EXISTED |
                                          (keep_old ? RF_OLD : 0) |
                                          (ttl ? RF_TTL : 0)));
    if (rc == 0)
        rc = buf_put_varint(&w->recs, old_size);
    if (rc == 0)
        rc = buf_put_varint(&w->recs, klen);
    if (rc == 0)
        rc = buf_append(&w->recs, key, klen);
    if (rc == 0 && keep_old) {
        rc = buf_put_varint(&w->recs, olen);
        if (rc == 0)
            rc = buf_append(&w->recs, old, olen);
    }
    if (rc)
        return rc;
    rc = do_delete(w->e, w->txn, no, key, klen, &err);
    if (rc)
        return rc;
    rec_end(w, lenpos);
    deltas_add(&w->d, no, -1, -(int64_t)old_size);
    return 0;
}

/* Old items are logged for a table with a stream, and for one being
 * backed up (a backup resumed after a crash undoes the changes since its
 * snapshot with them). */
static int keep_old(struct engine *e, const struct table *t)
{
    return t->stream != STREAM_NONE || engine_table_held(e, t->no);
}

int engine_wtx_put(struct engine_wtx *w, const struct table *t,
                   const uint8_t *key, size_t klen, const uint8_t *item,
                   size_t ilen, size_t size)
{
    return row_put(w, t->no, keep_old(w->e, t), key, klen, item, ilen, size);
}

int engine_wtx_delete(struct engine_wtx *w, const struct table *t,
                      const uint8_t *key, size_t klen)
{
    return row_delete(w, t->no, keep_old(w->e, t), 0, key, klen);
}

int engine_wtx_delete_ttl(struct engine_wtx *w, const struct table *t,
                          const uint8_t *key, size_t klen)
{
    return row_delete(w, t->no, keep_old(w->e, t), 1, key, klen);
}

/* ---- holds: tables being backed up ------------------------------------- */

int engine_hold_table(struct engine *e, uint64_t no, uint64_t lsn)
{
    size_t n;
    int rc = 0;

    pthread_mutex_lock(&e->hold_lock);
    n = atomic_load(&e->nholds);
    if (n == ENGINE_HOLDS_MAX) {
        rc = TM_ELIMIT;
    } else {
        e->holds[n].no = no;
        e->holds[n].lsn = lsn;
        atomic_store(&e->nholds, n + 1);
    }
    pthread_mutex_unlock(&e->hold_lock);
    return rc;
}

void engine_release_table(struct engine *e, uint64_t no, uint64_t lsn)
{
    size_t n;

    pthread_mutex_lock(&e->hold_lock);
    n = atomic_load(&e->nholds);
    for (size_t i = 0; i < n; i++)
        if (e->holds[i].no == no && e->holds[i].lsn == lsn) {
            e->holds[i] = e->holds[n - 1];
            atomic_store(&e->nholds, n - 1);
            break;
        }
    pthread_mutex_unlock(&e->hold_lock);
}

int engine_table_held(struct engine *e, uint64_t no)
{
    int held = 0;

    if (atomic_load_explicit(&e->nholds, memory_order_acquire) == 0)
        return 0;
    pthread_mutex_lock(&e->hold_lock);
    for (size_t i = 0; i < atomic_load(&e->nholds) && !held; i++)
        held = e->holds[i].no == no;
    pthread_mutex_unlock(&e->hold_lock);
    return held;
}

/* The oldest LSN a hold keeps (UINT64_MAX: none). */
static uint64_t hold_min_lsn(struct engine *e)
{
    uint64_t m = UINT64_MAX;

    pthread_mutex_lock(&e->hold_lock);
    for (size_t i = 0; i < atomic_load(&e->nholds); i++)
        if (e->holds[i].lsn < m)
            m = e->holds[i].lsn;
    pthread_mutex_unlock(&e->hold_lock);
    return m;
}

static int barrier_apply(struct engine_wtx *w, void *arg,
                         struct tm_error *err)
{
    (void)w;
    (void)arg;
    (void)err;
    return 0;
}

int engine_barrier(struct engine *e)
{
    struct engine_op op = {0};

    op.apply = barrier_apply;
    return engine_run(e, &op);
}

int engine_row_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    return rowkey_cmp(a, al, b, bl);
}

int engine_wtx_index_put(struct engine_wtx *w, uint64_t index_no,
                         const uint8_t *key, size_t klen, const uint8_t *item,
                         size_t ilen, size_t size)
{
    return row_put(w, index_no, 0, key, klen, item, ilen, size);
}

int engine_wtx_index_delete(struct engine_wtx *w, uint64_t index_no,
                            const uint8_t *key, size_t klen)
{
    return row_delete(w, index_no, 0, 0, key, klen);
}

uint64_t engine_wtx_alloc_no(struct engine_wtx *w)
{
    return w->e->next_table_no++;
}

int engine_wtx_drop_rows(struct engine_wtx *w, uint64_t no)
{
    struct tm_error err;
    size_t lenpos;
    int rc = rec_begin(w, REC_DROP_ROWS, &lenpos);

    if (rc == 0)
        rc = buf_put_varint(&w->recs, no);
    if (rc)
        return rc;
    rec_end(w, lenpos);
    reset_stats(w->e, &w->d, no);
    return drop_rows(w->e, w->txn, no, &err);
}

int engine_table_parse(const struct wal_record *r, struct table **t)
{
    struct tm_error err;

    if (r->type != REC_TABLE_CREATE && r->type != REC_TABLE_UPDATE)
        return 0;
    return table_from_json(r->payload, r->len, t, &err) == 0 ? 1
                                                             : TM_ECORRUPT;
}

int engine_change_parse(const struct wal_record *r, struct engine_change *c)
{
    const uint8_t *p = r->payload, *end = p + r->len;
    uint64_t v, klen, olen;
    uint8_t flags;

    if (r->type != REC_PUT && r->type != REC_DELETE)
        return 0;
    memset(c, 0, sizeof *c);
    c->lsn = r->lsn;
    c->time_ms = r->time_ms;
    c->is_delete = r->type == REC_DELETE;
    if (buf_get_varint(&p, end, &c->table_no) != 0 || p >= end)
        return TM_ECORRUPT;
    flags = *p++;
    c->existed = (flags & RF_EXISTED) != 0;
    c->ttl = (flags & RF_TTL) != 0;
    if (buf_get_varint(&p, end, &v) != 0)
        return TM_ECORRUPT;
    c->old_size = (size_t)v;
    if (!c->is_delete) {
        if (buf_get_varint(&p, end, &v) != 0)
            return TM_ECORRUPT;
        c->new_size = (size_t)v;
    }
    if (buf_get_varint(&p, end, &klen) != 0 || klen > (uint64_t)(end - p))
        return TM_ECORRUPT;
    c->key = p;
    c->klen = (size_t)klen;
    p += klen;
    if (flags & RF_OLD) {
        if (buf_get_varint(&p, end, &olen) != 0 ||
            olen > (uint64_t)(end - p))
            return TM_ECORRUPT;
        c->old_item = p;
        c->old_len = (size_t)olen;
        p += olen;
    }
    if (c->is_delete) {
        if (p != end)
            return TM_ECORRUPT;
    } else {
        c->new_item = p;
        c->new_len = (size_t)(end - p);
    }
    return 1;
}

static int log_table(struct engine_wtx *w, uint8_t type, const struct table *t)
{
    size_t lenpos;
    int rc = rec_begin(w, type, &lenpos);
    if (rc == 0)
        rc = table_to_json(t, &w->recs);
    if (rc == 0)
        rec_end(w, lenpos);
    return rc;
}

int engine_wtx_create_table(struct engine_wtx *w, struct table *t)
{
    struct tm_error err;
    int rc;

    if (catalog_find(w->e->cat, t->name) != NULL)
        return TM_EINUSE;
    t->no = w->e->next_table_no++;
    for (size_t i = 0; i < t->nindexes; i++)
        t->indexes[i].no = w->e->next_table_no++;
    rc = log_table(w, REC_TABLE_CREATE, t);
    if (rc)
        return rc;
    rc = do_create_table(w->e, w->txn, t, &err);
    w->catalog_changed = 1;
    return rc;
}

int engine_wtx_delete_table(struct engine_wtx *w, const char *name)
{
    struct table *t = catalog_find(w->e->cat, name);
    struct tm_error err;
    size_t lenpos;
    int rc;

    if (t == NULL)
        return TM_ENOTFOUND;
    rc = rec_begin(w, REC_TABLE_DELETE, &lenpos);
    if (rc == 0)
        rc = buf_put_varint(&w->recs, t->no);
    if (rc == 0)
        rc = buf_append(&w->recs, name, strlen(name));
    if (rc)
        return rc;
    rec_end(w, lenpos);
    w->catalog_changed = 1;
    return do_delete_table(w->e, w->txn, name, &err);
}

int engine_wtx_update_table(struct engine_wtx *w, struct table *t)
{
    struct tm_error err;
    int rc = log_table(w, REC_TABLE_UPDATE, t);
    if (rc)
        return rc;
    w->catalog_changed = 1;
    return do_update_table(w->e, w->txn, t, &err);
}

/* ---- loading and replay ------------------------------------------------ */

static int load_catalog(struct engine *e, struct catalog *cat, MDB_txn *txn,
                        struct tm_error *err)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int mrc, rc = 0;

    mrc = mdb_cursor_open(txn, e->dbi_catalog, &cur);
    if (mrc)
        return lmdb_err(err, mrc, "reading the catalog");
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        struct table *t;
        uint8_t kb[8];
        MDB_val sk = {8, kb}, sv;

        rc = table_from_json(v.mv_data, v.mv_size, &t, err);
        if (rc)
            break;
        buf_store_u64be(kb, t->no);
        if (mdb_get(txn, e->dbi_stats, &sk, &sv) == 0 && sv.mv_size == 16) {
            atomic_store(&t->item_count, buf_get_u64le(sv.mv_data));
            atomic_store(&t->size_bytes,
                         buf_get_u64le((uint8_t *)sv.mv_data + 8));
        }
        for (size_t i = 0; i < t->nindexes; i++) {
            struct table_index *ix = &t->indexes[i];
            buf_store_u64be(kb, ix->no);
            if (mdb_get(txn, e->dbi_stats, &sk, &sv) == 0 &&
                sv.mv_size == 16) {
                atomic_store(&ix->item_count, buf_get_u64le(sv.mv_data));
                atomic_store(&ix->size_bytes,
                             buf_get_u64le((uint8_t *)sv.mv_data + 8));
            }
        }
        rc = catalog_insert(cat, t);
        if (rc) {
            table_free(t);
            rc = tm_error_set(err, TM_ECORRUPT, "duplicate table in catalog");
            break;
        }
    }
    mdb_cursor_close(cur);
    if (rc == 0 && mrc != MDB_NOTFOUND)
        rc = lmdb_err(err, mrc, "reading the catalog");
    return rc;
}

static int reload_catalog(struct engine *e, struct tm_error *err)
{
    MDB_txn *txn;
    int mrc, rc;
    struct catalog *fresh = catalog_create();

    if (fresh == NULL)
        return TM_ENOMEM;
    mrc = mdb_txn_begin(e->env, NULL, MDB_RDONLY, &txn);
    if (mrc) {
        catalog_destroy(fresh);
        return lmdb_err(err, mrc, "reloading the catalog");
    }
    rc = load_catalog(e, fresh, txn, err);
    mdb_txn_abort(txn);
    if (rc) {
        catalog_destroy(fresh);
        return rc;
    }
    /* One step, so that readers keep one catalog object and never see
     * it empty or half-filled (a table missing for an instant answered
     * its writes ResourceNotFoundException); `fresh` then holds the old
     * definitions, freed with it. */
    catalog_swap(e->cat, fresh);
    catalog_destroy(fresh);
    return 0;
}

/* Bring the state up to the end of the log.  At start (`live` 0) it also
 * loads the catalog.  Live (the writer, after a failed commit: see
 * "The batch" above) the catalog already matches the state's last commit
 * (run_batch reloaded it), and replay_record keeps it in step. */
static int replay(struct engine *e, int live, struct tm_error *err)
{
    struct wal_reader *r = NULL;
    struct wal_record rec;
    struct deltas d = {0};
    MDB_txn *txn = NULL;
    uint64_t applied, count = 0, last, next_no;
    int rc = 0, mrc;

    mrc = mdb_txn_begin(e->env, NULL, 0, &txn);
    if (mrc)
        return lmdb_err(err, mrc, "starting replay");
    applied = get_meta_u64(e, txn, "applied_lsn");
    next_no = get_meta_u64(e, txn, "next_table_no");
    if (!live || next_no > e->next_table_no)
        e->next_table_no = next_no;
    if (e->next_table_no == 0)
        e->next_table_no = 1;
    if (!live)
        rc = load_catalog(e, e->cat, txn, err);
    if (rc)
        goto out;
    last = wal_last_lsn(e->wal);
    if (applied > last) {
        rc = tm_error_set(err, TM_ECORRUPT,
                          "the state in %s/state has applied change log "
                          "record %llu but the log in %s/wal ends at %llu: "
                          "log segments are missing; restore the data "
                          "directory from a backup",
                          e->dir, (unsigned long long)applied, e->dir,
                          (unsigned long long)last);
        goto out;
    }
    if (!live)
        tm_info("the state holds change log records up to %llu; the log "
                "ends at %llu",
                (unsigned long long)applied, (unsigned long long)last);
    if (applied == last)
        goto out;
    tm_info("replaying change log records %llu..%llu",
            (unsigned long long)applied + 1, (unsigned long long)last);
    rc = wal_reader_open(e->walpath, e->wal, applied + 1, &r, err);
    if (rc)
        goto out;
    while ((rc = wal_reader_next(r, &rec, err)) == 1) {
        rc = replay_record(e, txn, &rec, &d, err);
        if (rc)
            goto out;
        applied = rec.lsn;
        if (rec.time_ms > e->last_time_ms)
            e->last_time_ms = rec.time_ms;
        count++;
    }
    if (rc < 0)
        goto out;
    rc = put_meta_u64(e, txn, "applied_lsn", applied, err);
    if (rc == 0)
        rc = flush_stats(e, txn, &d, err);
    if (rc)
        goto out;
    mrc = mdb_txn_commit(txn);
    txn = NULL;
    if (mrc) {
        rc = lmdb_err(err, mrc, "committing replay");
        goto out;
    }
    publish_stats(e, &d);
    tm_info("replayed %llu change log records", (unsigned long long)count);
out:
    if (txn) {
        if (rc == 0 && mdb_txn_commit(txn) != 0)
            rc = tm_error_set(err, TM_EIO, "committing the catalog load");
        else if (rc)
            mdb_txn_abort(txn);
    }
    wal_reader_close(r);
    free(d.v);
    if (rc == 0)
        atomic_store(&e->committed_lsn, applied);
    else if (live) {
        /* the records applied to the catalog were not committed: it
         * follows the state's last commit again */
        struct tm_error cerr;
        if (reload_catalog(e, &cerr) != 0)
            tm_errorf("reloading the catalog: %s", cerr.msg);
    }
    return rc;
}

/* ---- the writer thread ------------------------------------------------- */

static void fail_ops(struct engine_op *ops, int code, const char *msg)
{
    for (struct engine_op *op = ops; op; op = op->next)
        if (op->rc == 0)
            tm_error_set(&op->err, code, "%s", msg);
}

static void finish_ops(struct engine_op *ops)
{
    struct engine_op *op = ops, *next;

    while (op) {
        next = op->next; /* done() may free op */
        if (op->err.code && op->rc == 0)
            op->rc = op->err.code;
        op->done(op);
        op = next;
    }
}

/* Remember (first LSN, time) of the first batch of each minute. */
static void sample(struct engine *e, uint64_t lsn, int64_t time_ms)
{
    pthread_mutex_lock(&e->sample_lock);
    if (e->nsamples == 0 ||
        time_ms - e->samples[e->nsamples - 1].time_ms >= SAMPLE_MS) {
        if (e->nsamples == SAMPLES_MAX) {
            /* beyond 45 days of minutes: thin out the oldest half */
            for (size_t i = 0; i < SAMPLES_MAX / 2; i++)
                e->samples[i] = e->samples[2 * i];
            memmove(e->samples + SAMPLES_MAX / 4,
                    e->samples + SAMPLES_MAX / 2,
                    SAMPLES_MAX / 2 * sizeof *e->samples);
            e->nsamples = SAMPLES_MAX / 4 + SAMPLES_MAX / 2;
        }
        e->samples[e->nsamples].lsn = lsn;
        e->samples[e->nsamples].time_ms = time_ms;
        e->nsamples++;
    }
    pthread_mutex_unlock(&e->sample_lock);
}

/* The longest log window any table needs, in ms (0: none). */
static int64_t retention_ms(struct engine *e)
{
    struct arena *a = arena_create(16384, 64u << 20);
    char **names;
    size_t n;
    int more;
    int64_t keep = 0;

    if (a == NULL)
        return INT64_MAX; /* unsure: keep everything */
    if (catalog_names(e->cat, NULL, (size_t)-1, a, &names, &n, &more) != 0) {
        arena_destroy(a);
        return INT64_MAX;
    }
    for (size_t i = 0; i < n; i++) {
        struct table *t;
        if (catalog_get(e->cat, names[i], a, &t) != 0)
            continue;
        /* a stream, enabled or disabled, is readable for 24 h */
        if ((t->stream != STREAM_NONE || t->stream_created_ms != 0) &&
            keep < 24LL * 3600 * 1000)
            keep = 24LL * 3600 * 1000;
        if (t->pitr && keep < (int64_t)t->pitr_days * 24 * 3600 * 1000)
            keep = (int64_t)t->pitr_days * 24 * 3600 * 1000;
    }
    arena_destroy(a);
    return keep;
}

/* The first LSN that must stay in the log: everything before it is older
 * than the retention window (by the samples) and checkpointed. */
static uint64_t keep_from(struct engine *e, uint64_t checkpointed)
{
    int64_t keep = retention_ms(e), cutoff;
    uint64_t lsn = 0;

    if (keep == 0)
        return checkpointed + 1;
    if (keep == INT64_MAX)
        return 1;
    cutoff = clock_now_ms() - keep;
    pthread_mutex_lock(&e->sample_lock);
    for (size_t i = 0; i < e->nsamples && e->samples[i].time_ms <= cutoff;
         i++)
        lsn = e->samples[i].lsn;
    pthread_mutex_unlock(&e->sample_lock);
    /* no sample old enough (e.g. just restarted): keep everything */
    if (lsn == 0)
        return 1;
    return lsn < checkpointed + 1 ? lsn : checkpointed + 1;
}

/* After a failed commit whose records the log holds (e->broken): apply
 * them now, as a restart would.  Returns 0 once the state has caught up
 * with the log (writes go on), else the failure, logged at most once a
 * second.  LMDB cannot recover an environment whose meta page write
 * failed (MDB_PANIC): that one needs a restart, which replays the log. */
static int recover(struct engine *e)
{
    static _Atomic int64_t last_warn;
    struct tm_error err;
    int64_t now;
    int rc;

    tm_error_clear(&err);
    rc = replay(e, 1, &err);
    if (rc == 0) {
        atomic_store(&e->broken, 0);
        tm_info("the state caught up with the change log after a failed "
                "commit; writes go on");
        return 0;
    }
    now = clock_mono_ns() / 1000000;
    if (now - atomic_load(&last_warn) >= 1000) {
        atomic_store(&last_warn, now);
        tm_errorf("writes refused: the state has not caught up with the "
                  "change log after a failed commit: %s",
                  err.msg);
    }
    return rc;
}

static void run_batch(struct engine *e, struct engine_op *ops)
{
    struct engine_wtx w = {0};
    struct deltas bd = {0};
    struct tm_error err;
    MDB_txn *txn = NULL;
    uint64_t last_lsn = 0, first_lsn = 0;
    int mrc, rc, any = 0, catalog_changed = 0;
    int64_t now = clock_now_ms();
    struct engine_op *op;

    tm_error_clear(&err);
    if (atomic_load(&e->broken) && recover(e) != 0) {
        for (op = ops; op; op = op->next) {
            op->rc = tm_error_set(&op->err, TM_EUNAVAILABLE,
                                  "the storage engine cannot commit to "
                                  "%s/state (see the server's log); it "
                                  "retries with every write; restart the "
                                  "server if this persists",
                                  e->dir);
        }
        finish_ops(ops);
        return;
    }
    e->last_time_ms = now > e->last_time_ms ? now : e->last_time_ms;
    w.e = e;
    w.time_ms = e->last_time_ms;
    buf_init(&w.recs, (size_t)1 << 31);
    mrc = mdb_txn_begin(e->env, NULL, 0, &txn);
    if (mrc) {
        lmdb_err(&err, mrc, "starting a write transaction");
        for (op = ops; op; op = op->next)
            op->rc = tm_error_set(&op->err, err.code, "%s", err.msg);
        finish_ops(ops);
        return;
    }
    for (op = ops; op; op = op->next) {
        const uint8_t *p, *end;

        tm_error_clear(&op->err);
        op->rc = 0;
        op->lsn = 0;
        op->time_ms = w.time_ms;
        buf_reset(&w.recs);
        w.d.n = 0;
        w.catalog_changed = 0;
        mrc = mdb_txn_begin(e->env, txn, 0, &w.txn);
        if (mrc) {
            op->rc = lmdb_err(&op->err, mrc, "starting a nested transaction");
            continue;
        }
        rc = op->apply(&w, op->arg, &op->err);
        if (rc) {
            mdb_txn_abort(w.txn);
            op->rc = rc;
            if (op->err.code == 0)
                tm_error_set(&op->err, rc, "%s", tm_strerror(rc));
            if (w.catalog_changed)
                catalog_changed = 1;
            continue;
        }
        mrc = mdb_txn_commit(w.txn);
        if (mrc) {
            op->rc = lmdb_err(&op->err, mrc, "committing an operation");
            continue;
        }
        catalog_changed |= w.catalog_changed;
        p = w.recs.data;
        end = p + w.recs.len;
        while (p && p < end) {
            uint8_t type = p[0];
            uint32_t len = buf_get_u32le(p + 1);
            rc = wal_append(e->wal, type, w.time_ms, p + 5, len, &op->lsn);
            if (rc) {
                /* The nested transaction is committed into the batch, so
                 * the batch cannot go on consistently: fail it whole. */
                tm_error_set(&err, rc, "appending to the change log failed");
                goto fail_batch;
            }
            p += 5 + len;
            any = 1;
            last_lsn = op->lsn;
            if (first_lsn == 0)
                first_lsn = op->lsn;
        }
        for (size_t i = 0; i < w.d.n; i++)
            deltas_add(&bd, w.d.v[i].no, w.d.v[i].items, w.d.v[i].bytes);
    }
    if (any) {
        rc = put_meta_u64(e, txn, "applied_lsn", last_lsn, &err);
        if (rc == 0)
            rc = flush_stats(e, txn, &bd, &err);
        if (rc)
            goto fail_batch;
        rc = wal_sync(e->wal, &err);
        if (rc)
            goto fail_batch;
    }
    mrc = mdb_txn_commit(txn);
    txn = NULL;
    if (mrc) {
        lmdb_err(&err, mrc, "committing a batch");
        if (any) {
            atomic_store(&e->broken, 1);
            tm_errorf("%s after the change log was synced; writes are "
                      "refused until the state catches up with the log "
                      "(tried with every write)",
                      err.msg);
        }
        goto fail_all;
    }
    if (any) {
        atomic_store(&e->committed_lsn, last_lsn);
        sample(e, first_lsn, w.time_ms);
    }
    publish_stats(e, &bd);
    goto done;

fail_batch:
    if (txn)
        mdb_txn_abort(txn);
    txn = NULL;
    /* drop whatever this batch appended: none of it was acknowledged, and
     * it must never reach the file (wal_sync would make it durable) */
    wal_discard(e->wal);
fail_all:
    tm_errorf("write batch failed: %s", err.msg);
    fail_ops(ops, err.code ? err.code : TM_EIO, err.msg);
    for (op = ops; op; op = op->next)
        if (op->rc == 0)
            op->rc = op->err.code;
    if (catalog_changed) {
        struct tm_error cerr;
        if (reload_catalog(e, &cerr) != 0)
            tm_errorf("reloading the catalog: %s", cerr.msg);
    }
done:
    buf_free(&w.recs);
    free(w.d.v);
    free(bd.v);
    finish_ops(ops);
}

static void *writer_main(void *arg)
{
    struct engine *e = arg;

    pthread_setname_np(pthread_self(), "tm-writer"); /* top -H, perf */
    for (;;) {
        struct engine_op *ops, *tail;
        size_t n = 0;

        pthread_mutex_lock(&e->qlock);
        while (e->qhead == NULL && !e->closing)
            pthread_cond_wait(&e->qcond, &e->qlock);
        if (e->qhead == NULL) {
            pthread_mutex_unlock(&e->qlock);
            break;
        }
        ops = tail = e->qhead;
        for (n = 1; n < BATCH_MAX && tail->next; n++)
            tail = tail->next;
        e->qhead = tail->next;
        if (e->qhead == NULL)
            e->qtail = NULL;
        tail->next = NULL;
        pthread_mutex_unlock(&e->qlock);
        run_batch(e, ops);
    }
    return NULL;
}

int engine_submit(struct engine *e, struct engine_op *op)
{
    op->next = NULL;
    op->rc = 0;
    tm_error_clear(&op->err);
    pthread_mutex_lock(&e->qlock);
    if (e->closing) {
        pthread_mutex_unlock(&e->qlock);
        return TM_EUNAVAILABLE;
    }
    if (e->qtail)
        e->qtail->next = op;
    else
        e->qhead = op;
    e->qtail = op;
    pthread_cond_signal(&e->qcond);
    pthread_mutex_unlock(&e->qlock);
    return 0;
}

struct waiter {
    pthread_mutex_t m;
    pthread_cond_t c;
    int finished;
};

static void waiter_done(struct engine_op *op)
{
    struct waiter *w = op->ctx;

    pthread_mutex_lock(&w->m);
    w->finished = 1;
    pthread_cond_signal(&w->c);
    pthread_mutex_unlock(&w->m);
}

int engine_run(struct engine *e, struct engine_op *op)
{
    struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
                       0};
    int rc;

    op->done = waiter_done;
    op->ctx = &w;
    rc = engine_submit(e, op);
    if (rc)
        return op->rc = tm_error_set(&op->err, rc,
                                     "the server is shutting down");
    pthread_mutex_lock(&w.m);
    while (!w.finished)
        pthread_cond_wait(&w.c, &w.m);
    pthread_mutex_unlock(&w.m);
    return op->rc;
}

/* ---- reads ------------------------------------------------------------- */

int engine_read_begin(struct engine *e, struct engine_rtx **out)
{
    struct engine_rtx *r;
    int mrc;

    pthread_mutex_lock(&e->rtx_lock);
    r = e->rtx_free;
    if (r) {
        e->rtx_free = r->next;
        e->rtx_nfree--;
    }
    pthread_mutex_unlock(&e->rtx_lock);
    if (r) {
        if (mdb_txn_renew(r->txn) == 0) {
            *out = r;
            return 0;
        }
        mdb_txn_abort(r->txn); /* and begin afresh */
    } else if ((r = malloc(sizeof *r)) == NULL) {
        return TM_ENOMEM;
    }
    mrc = mdb_txn_begin(e->env, NULL, MDB_RDONLY, &r->txn);
    if (mrc) {
        free(r);
        return mrc == ENOMEM ? TM_ENOMEM : TM_EIO;
    }
    r->items = e->dbi_items;
    r->e = e;
    r->next = NULL;
    *out = r;
    return 0;
}

uint64_t engine_read_lsn(struct engine_rtx *r)
{
    MDB_val k = {11, (void *)"applied_lsn"}, v;
    MDB_dbi meta;

    if (mdb_dbi_open(r->txn, "meta", 0, &meta) != 0 ||
        mdb_get(r->txn, meta, &k, &v) != 0 || v.mv_size != 8)
        return 0;
    return buf_get_u64le(v.mv_data);
}

void engine_read_end(struct engine_rtx *r)
{
    struct engine *e;

    if (r == NULL)
        return;
    e = r->e;
    mdb_txn_reset(r->txn); /* the snapshot goes now, whatever follows */
    pthread_mutex_lock(&e->rtx_lock);
    if (e->rtx_nfree < RTX_POOL_MAX) {
        r->next = e->rtx_free;
        e->rtx_free = r;
        e->rtx_nfree++;
        r = NULL;
    }
    pthread_mutex_unlock(&e->rtx_lock);
    if (r) {
        mdb_txn_abort(r->txn);
        free(r);
    }
}

int engine_get(struct engine_rtx *r, uint64_t table_no, const uint8_t *key,
               size_t klen, const uint8_t **val, size_t *len)
{
    uint8_t kb[LMDB_KEY_MAX];
    int is_long, mrc;
    MDB_val k, v;

    k.mv_data = kb;
    k.mv_size = lmdb_key(table_no, key, klen, kb, &is_long);
    mrc = mdb_get(r->txn, r->items, &k, &v);
    if (mrc == MDB_NOTFOUND)
        return 0;
    if (mrc)
        return TM_EIO;
    return row_item(&v, key, klen, val, len, NULL);
}

/* ---- cursors ------------------------------------------------------------ */

struct engine_cursor {
    MDB_cursor *cur;
    uint64_t no;
    uint8_t pre[8];
    int reverse;
    int state;          /* 0: next call reads the current row; 1: step first;
                           2: at the end */
};

int engine_cursor_open(struct engine_rtx *r, uint64_t table_no,
                       struct engine_cursor **out)
{
    struct engine_cursor *c = calloc(1, sizeof *c);

    if (c == NULL)
        return TM_ENOMEM;
    if (mdb_cursor_open(r->txn, r->items, &c->cur) != 0) {
        free(c);
        return TM_EIO;
    }
    c->no = table_no;
    buf_store_u64be(c->pre, table_no);
    c->state = 2;
    *out = c;
    return 0;
}

int engine_wtx_cursor_open(struct engine_wtx *w, uint64_t table_no,
                           struct engine_cursor **out)
{
    struct engine_rtx r = {w->txn, w->e->dbi_items, NULL, NULL};
    return engine_cursor_open(&r, table_no, out);
}

void engine_cursor_close(struct engine_cursor *c)
{
    if (c == NULL)
        return;
    mdb_cursor_close(c->cur);
    free(c);
}

/* The full row key of the row under the cursor. */
static int cursor_row(struct engine_cursor *c, const MDB_val *k,
                      const MDB_val *v, const uint8_t **key, size_t *klen,
                      const uint8_t **item, size_t *ilen)
{
    const uint8_t *p = v->mv_data, *end = p + v->mv_size;
    uint64_t sz, n;
    uint8_t flags;

    if (v->mv_size < 1)
        return TM_ECORRUPT;
    flags = *p++;
    if (buf_get_varint(&p, end, &sz) != 0)
        return TM_ECORRUPT;
    if (flags & 1) {
        if (buf_get_varint(&p, end, &n) != 0 || n > (uint64_t)(end - p))
            return TM_ECORRUPT;
        *key = p;
        *klen = (size_t)n;
        p += n;
    } else {
        *key = (const uint8_t *)k->mv_data + 8;
        *klen = k->mv_size - 8;
    }
    (void)c;
    *item = p;
    *ilen = (size_t)(end - p);
    return 0;
}

static int in_table(const struct engine_cursor *c, const MDB_val *k)
{
    return k->mv_size >= 8 && memcmp(k->mv_data, c->pre, 8) == 0;
}

int engine_cursor_seek(struct engine_cursor *c, const uint8_t *key,
                       size_t klen, int reverse, int exclusive)
{
    uint8_t kb[LMDB_KEY_MAX];
    MDB_val k, v;
    int is_long, mrc;

    c->reverse = reverse;
    c->state = 2;
    if (key == NULL && !reverse) {
        k.mv_data = c->pre;
        k.mv_size = 8;
        mrc = mdb_cursor_get(c->cur, &k, &v, MDB_SET_RANGE);
    } else if (key == NULL) {
        /* the last row of the table: seek to the next table's prefix and
         * step back */
        uint8_t next[8];
        buf_store_u64be(next, c->no + 1);
        k.mv_data = next;
        k.mv_size = 8;
        mrc = mdb_cursor_get(c->cur, &k, &v, MDB_SET_RANGE);
        if (mrc == MDB_NOTFOUND)
            mrc = mdb_cursor_get(c->cur, &k, &v, MDB_LAST);
        else if (mrc == 0)
            mrc = mdb_cursor_get(c->cur, &k, &v, MDB_PREV);
    } else {
        k.mv_data = kb;
        k.mv_size = lmdb_key(c->no, key, klen, kb, &is_long);
        mrc = mdb_cursor_get(c->cur, &k, &v, MDB_SET_RANGE);
        if (reverse) {
            /* last row <= key: SET_RANGE finds the first >= key */
            if (mrc == MDB_NOTFOUND) {
                mrc = mdb_cursor_get(c->cur, &k, &v, MDB_LAST);
            } else if (mrc == 0) {
                const uint8_t *rk, *it;
                size_t rkl, il;
                int equal = 0;
                if (cursor_row(c, &k, &v, &rk, &rkl, &it, &il) == 0)
                    equal = in_table(c, &k) && rkl == klen &&
                            memcmp(rk, key, klen) == 0;
                if (!equal || exclusive)
                    mrc = mdb_cursor_get(c->cur, &k, &v, MDB_PREV);
                exclusive = 0;
            }
        }
    }
    if (mrc == MDB_NOTFOUND)
        return 0;
    if (mrc)
        return TM_EIO;
    if (!in_table(c, &k))
        return 0;
    c->state = 0;
    if (exclusive && key) {
        const uint8_t *rk, *it;
        size_t rkl, il;
        if (cursor_row(c, &k, &v, &rk, &rkl, &it, &il) == 0 && rkl == klen &&
            memcmp(rk, key, klen) == 0)
            c->state = 1;
    }
    return 0;
}

int engine_cursor_next(struct engine_cursor *c, const uint8_t **key,
                       size_t *klen, const uint8_t **item, size_t *ilen)
{
    MDB_val k, v;
    int mrc;

    if (c->state == 2)
        return 0;
    if (c->state == 1)
        mrc = mdb_cursor_get(c->cur, &k, &v, c->reverse ? MDB_PREV : MDB_NEXT);
    else
        mrc = mdb_cursor_get(c->cur, &k, &v, MDB_GET_CURRENT);
    c->state = 1;
    if (mrc == MDB_NOTFOUND || (mrc == 0 && !in_table(c, &k))) {
        c->state = 2;
        return 0;
    }
    if (mrc)
        return TM_EIO;
    if (cursor_row(c, &k, &v, key, klen, item, ilen) != 0)
        return TM_ECORRUPT;
    return 1;
}

/* ---- checkpoints ------------------------------------------------------- */

/* cachestat(2) (Linux 6.5), declared here for older headers. */
struct tm_cachestat_range {
    uint64_t off, len;
};
struct tm_cachestat {
    uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted,
        nr_recently_evicted;
};
#ifndef __NR_cachestat
#define __NR_cachestat 451 /* the same number on every architecture */
#endif

/* Dirty bytes of `fd` in [off, off + len) (len 0: to the end), or -1
 * where the kernel lacks cachestat (then nothing is flushed early). */
static int64_t dirty_bytes(int fd, uint64_t off, uint64_t len)
{
    struct tm_cachestat_range r = {off, len};
    struct tm_cachestat cs;

    if (syscall(__NR_cachestat, fd, &r, &cs, 0) != 0)
        return -1;
    return (int64_t)(cs.nr_dirty * (uint64_t)sysconf(_SC_PAGESIZE));
}

/* The early write-back's state between checkpoints (ckpt_main's). */
struct flusher {
    uint64_t pos;     /* the window flush_some goes on from */
    int64_t dirty;    /* the state's dirty bytes at the last count, less
                       * what was handed over since; -1: unknown */
    unsigned ticks;   /* ticks since that count */
    uint64_t lsn;     /* the committed LSN at that count */
};

/* Once FLUSH_DIRTY_BYTES or more of the state are dirty, hand some of
 * them to the disk: the windows of FLUSH_WINDOW bytes from f->pos on, in
 * turn, wrapping at the end of the file, until FLUSH_STEP_BYTES or the
 * dirty bytes spread over the ticks left before the checkpoint
 * (`ticks_left`), whichever is more, have gone: what is dirtied faster
 * than FLUSH_STEP_BYTES a tick would otherwise pile up for the
 * checkpoint's sync to write at once, in front of the log's fdatasyncs.
 * The whole file is counted at most every FLUSH_COUNT_TICKS ticks, and
 * not again while nothing is committed after a count that found less
 * than FLUSH_DIRTY_BYTES: cachestat walks every cached page of it, some
 * milliseconds of the server's CPU per GiB. */
static void flush_some(int fd, struct flusher *f, unsigned ticks_left,
                       uint64_t lsn)
{
    int64_t sent = 0, step;
    struct stat st;

    if (f->dirty < 0 || ++f->ticks >= FLUSH_COUNT_TICKS) {
        /* Nothing committed since a count that found too little to
         * hand over: there is still too little (only writes dirty the
         * state), and under reads alone the count, 1-1.5 ms of kernel
         * time on a state of some hundred MB, would hold up requests on
         * the same CPU once a second for nothing */
        if (f->dirty < 0 || lsn != f->lsn ||
            f->dirty >= (int64_t)FLUSH_DIRTY_BYTES) {
            f->dirty = dirty_bytes(fd, 0, 0);
            f->lsn = lsn;
        }
        f->ticks = 0;
    }
    if (f->dirty < (int64_t)FLUSH_DIRTY_BYTES || fstat(fd, &st) != 0 ||
        st.st_size <= 0)
        return;
    step = f->dirty / (ticks_left ? ticks_left : 1);
    if (step < (int64_t)FLUSH_STEP_BYTES)
        step = FLUSH_STEP_BYTES;
    for (uint64_t i = 0; sent < step && i * FLUSH_WINDOW < (uint64_t)st.st_size;
         i++) {
        int64_t d;
        if (f->pos >= (uint64_t)st.st_size)
            f->pos = 0;
        d = dirty_bytes(fd, f->pos, FLUSH_WINDOW);
        if (d > 0) {
            (void)sync_file_range(fd, (off_t)f->pos, (off_t)FLUSH_WINDOW,
                                  SYNC_FILE_RANGE_WRITE);
            sent += d;
        }
        f->pos += FLUSH_WINDOW;
    }
    f->dirty -= sent;
}

static void *ckpt_main(void *arg)
{
    struct engine *e = arg;
    unsigned since = 0; /* ms since the last checkpoint */
    struct flusher fl = {0, -1, 0, 0};
    int state_fd = -1;

    pthread_setname_np(pthread_self(), "tm-checkpoint"); /* top -H, perf */
    if (mdb_env_get_fd(e->env, &state_fd) != 0)
        state_fd = -1;

    pthread_mutex_lock(&e->ckpt_lock);
    for (;;) {
        struct timespec ts;
        uint64_t lsn;
        struct tm_error err;
        int closing, mrc;

        unsigned tick = e->ckpt_ms < FLUSH_MS ? e->ckpt_ms : FLUSH_MS;

        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += tick / 1000;
        ts.tv_nsec += (long)(tick % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        while (!e->ckpt_stop &&
               pthread_cond_timedwait(&e->ckpt_cond, &e->ckpt_lock, &ts) == 0)
            ; /* spurious or early wakeups: wait out the tick */
        closing = e->ckpt_stop;
        if (closing)
            break;
        since += tick;
        if (since < e->ckpt_ms) {
            /* Between checkpoints, once enough of the state is dirty,
             * start the write-back of a slice of it without waiting, so
             * that the checkpoint's sync finds little left: otherwise it
             * writes 30 s of pages at once, and the log's fdatasyncs
             * (every acknowledged write) queue behind them on the disk.
             * Below FLUSH_DIRTY_BYTES it waits: hot pages written again
             * and again would cost the log's syncs more than they save
             * (PutItem on a 10,000-item table: -10% with a flush every
             * 100 ms).  Errors are the sync's to report. */
            if (state_fd >= 0 && !e->state_sync_failed)
                flush_some(state_fd, &fl, (e->ckpt_ms - since) / tick,
                           atomic_load(&e->committed_lsn));
            continue;
        }
        since = 0;
        fl.dirty = -1; /* count again after the sync */
        lsn = atomic_load(&e->committed_lsn);
        if (e->state_sync_failed)
            continue;
        if ((mrc = mdb_env_sync(e->env, 1)) != 0) {
            /* Linux may have marked the pages it could not write clean
             * ("fsyncgate"): a later sync that succeeds proves nothing
             * about them, so no later checkpoint may drop the log */
            e->state_sync_failed = 1;
            tm_errorf("checkpoint: syncing the state in %s/state failed: "
                      "%s; the change log is kept from here on (no more "
                      "checkpoints); restart the server",
                      e->dir, mdb_strerror(mrc));
            continue;
        }
        {
            uint64_t keep = keep_from(e, lsn), pin = atomic_load(
                                                     &e->pinned_lsn);
            uint64_t held = hold_min_lsn(e);
            uint64_t arch = atomic_load(&e->archive_lsn);
            if (pin && pin < keep)
                keep = pin; /* point-in-time bases still need it */
            if (held < keep)
                keep = held; /* so do backups being written */
            if (arch && arch < keep)
                keep = arch; /* and the archive, until uploaded */
            if (wal_remove_before(e->wal, keep, &err) != 0)
                tm_warn("checkpoint: %s", err.msg);
        }
    }
    pthread_mutex_unlock(&e->ckpt_lock);
    return NULL;
}

/* ---- open and close ---------------------------------------------------- */

static int take_lock(struct engine *e, struct tm_error *err)
{
    char path[4096], pid[32];
    int fd, n;

    snprintf(path, sizeof path, "%s/LOCK", e->dir);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return tm_error_set(err, TM_EIO, "cannot open %s: %s", path,
                            strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char other[32] = "";
        ssize_t r = pread(fd, other, sizeof other - 1, 0);
        if (r > 0)
            other[r] = '\0';
        other[strcspn(other, "\n")] = '\0';
        close(fd);
        return tm_error_set(err, TM_EINUSE,
                            "data directory %s is in use by another tidemark"
                            " process%s%s%s; stop it or choose another "
                            "--data",
                            e->dir, other[0] ? " (pid " : "",
                            other[0] ? other : "", other[0] ? ")" : "");
    }
    n = snprintf(pid, sizeof pid, "%ld", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
        tm_warn("could not write the pid into %s", path);
    e->lock_fd = fd;
    return 0;
}

static int open_lmdb(struct engine *e, size_t map_bytes, struct tm_error *err)
{
    char path[4096];
    MDB_txn *txn;
    int mrc;

    snprintf(path, sizeof path, "%s/state", e->dir);
    if (fsio_mkdir_p(path, 0755) < 0)
        return tm_error_set(err, TM_EIO, "cannot create %s: %s", path,
                            strerror(errno));
    if ((mrc = mdb_env_create(&e->env)) ||
        (mrc = mdb_env_set_maxdbs(e->env, 8)) ||
        (mrc = mdb_env_set_maxreaders(e->env, 1024)) ||
        (mrc = mdb_env_set_mapsize(e->env, map_bytes)))
        return lmdb_err(err, mrc, "creating the LMDB environment");
    mrc = mdb_env_open(e->env, path, MDB_NOSYNC | MDB_NOTLS | MDB_NORDAHEAD,
                       0644);
    if (mrc)
        return tm_error_set(err, TM_EIO, "cannot open the state in %s: %s",
                            path, mdb_strerror(mrc));
    mrc = mdb_txn_begin(e->env, NULL, 0, &txn);
    if (mrc)
        return lmdb_err(err, mrc, "opening the state");
    if ((mrc = mdb_dbi_open(txn, "meta", MDB_CREATE, &e->dbi_meta)) ||
        (mrc = mdb_dbi_open(txn, "catalog", MDB_CREATE, &e->dbi_catalog)) ||
        (mrc = mdb_dbi_open(txn, "stats", MDB_CREATE, &e->dbi_stats)) ||
        (mrc = mdb_dbi_open(txn, "items", MDB_CREATE, &e->dbi_items))) {
        mdb_txn_abort(txn);
        return lmdb_err(err, mrc, "opening the state's databases");
    }
    mrc = mdb_txn_commit(txn);
    return mrc ? lmdb_err(err, mrc, "opening the state") : 0;
}

int engine_open(const struct engine_options *o, struct engine **out,
                struct tm_error *err)
{
    struct engine *e = calloc(1, sizeof *e);
    struct wal_options wo = {0};
    int rc;

    if (e == NULL)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    e->lock_fd = -1;
    pthread_mutex_init(&e->qlock, NULL);
    pthread_cond_init(&e->qcond, NULL);
    pthread_mutex_init(&e->ckpt_lock, NULL);
    pthread_cond_init(&e->ckpt_cond, NULL);
    pthread_mutex_init(&e->sample_lock, NULL);
    pthread_mutex_init(&e->hold_lock, NULL);
    pthread_mutex_init(&e->rtx_lock, NULL);
    e->samples = calloc(SAMPLES_MAX, sizeof *e->samples);
    e->dir = strdup(o->data_dir);
    e->cat = catalog_create();
    if (e->dir == NULL || e->cat == NULL) {
        rc = tm_error_set(err, TM_ENOMEM, "out of memory");
        goto fail;
    }
    rc = fsio_mkdir_p(e->dir, 0755) < 0
             ? tm_error_set(err, TM_EIO, "cannot create %s: %s", e->dir,
                            strerror(errno))
             : 0;
    if (rc == 0)
        rc = take_lock(e, err);
    if (rc == 0)
        rc = open_lmdb(e, o->map_bytes ? o->map_bytes : MAP_BYTES_DEFAULT,
                       err);
    if (rc)
        goto fail;
    snprintf(e->walpath, sizeof e->walpath, "%s/wal", e->dir);
    wo.dir = e->walpath;
    wo.sync = o->sync;
    wo.segment_bytes = o->segment_bytes;
    e->ckpt_ms = o->checkpoint_ms ? o->checkpoint_ms : CHECKPOINT_MS;
    if (o->archive_hold)
        atomic_store(&e->archive_lsn, 1);
    rc = wal_open(&wo, &e->wal, err);
    if (rc == 0)
        rc = replay(e, 0, err);
    if (rc)
        goto fail;
    if (pthread_create(&e->writer, NULL, writer_main, e) != 0) {
        rc = tm_error_set(err, TM_EINTERNAL, "cannot start the writer");
        goto fail;
    }
    e->writer_started = 1;
    if (pthread_create(&e->ckpt, NULL, ckpt_main, e) == 0)
        e->ckpt_started = 1;
    *out = e;
    return 0;
fail:
    engine_close(e);
    return rc;
}

void engine_close(struct engine *e)
{
    if (e == NULL)
        return;
    pthread_mutex_lock(&e->qlock);
    e->closing = 1;
    pthread_cond_broadcast(&e->qcond);
    pthread_mutex_unlock(&e->qlock);
    if (e->writer_started)
        pthread_join(e->writer, NULL);
    if (e->ckpt_started) {
        pthread_mutex_lock(&e->ckpt_lock);
        e->ckpt_stop = 1;
        pthread_cond_signal(&e->ckpt_cond);
        pthread_mutex_unlock(&e->ckpt_lock);
        pthread_join(e->ckpt, NULL);
    }
    if (e->env)
        mdb_env_sync(e->env, 1);
    wal_close(e->wal);
    while (e->rtx_free) {
        struct engine_rtx *r = e->rtx_free;
        e->rtx_free = r->next;
        mdb_txn_abort(r->txn);
        free(r);
    }
    if (e->env)
        mdb_env_close(e->env);
    catalog_destroy(e->cat);
    free(e->samples);
    if (e->lock_fd >= 0)
        close(e->lock_fd); /* releases the flock */
    free(e->dir);
    free(e);
}

struct catalog *engine_catalog(struct engine *e) { return e->cat; }

struct wal *engine_wal(struct engine *e) { return e->wal; }

void engine_pin_log(struct engine *e, uint64_t lsn)
{
    atomic_store(&e->pinned_lsn, lsn);
}

void engine_pin_archive(struct engine *e, uint64_t lsn)
{
    atomic_store(&e->archive_lsn, lsn);
}

const char *engine_wal_dir(struct engine *e) { return e->walpath; }
