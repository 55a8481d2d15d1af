/*
 * streams.h - DynamoDB Streams read from the change log: the names of a
 * stream (label, ARN, shard, sequence numbers), shard iterators, the
 * bounds of a table's stream in the log, and GetRecords' reading and
 * record conversion.  The API handlers are in src/api/api_streams.c.
 *
 * Model (details and invariants in streams.c's header):
 *   - A table has at most one stream that we serve: its latest, named by
 *     its label t->stream_created_ms.  t->stream is its view type while it
 *     is enabled and STREAM_NONE once it is disabled (the label stays).
 *   - Each stream has one shard.  Sequence numbers are change-log LSNs
 *     printed as 21 decimal digits, so they increase strictly.
 *   - The records of a stream are the row changes of the table's number
 *     logged after the catalog record that enabled the stream and before
 *     the one that disabled it; nothing is stored besides the log.
 *
 * Thread-safety: every function may be called from any request thread;
 * the bounds cache inside streams.c has its own lock.
 */
#ifndef TM_STREAMS_H
#define TM_STREAMS_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "catalog/catalog.h"
#include "engine/engine.h"

#define STREAMS_ITER_TTL_MS (15LL * 60 * 1000)       /* DDB: 15 minutes */
#define STREAMS_RETENTION_MS (24LL * 3600 * 1000)    /* DDB: 24 hours */
#define STREAMS_LABEL_LEN 23     /* "2026-11-25T15:55:36.123" */
#define STREAMS_SEQ_LEN 21       /* LSN, zero-padded */
#define STREAMS_SHARD_ID_LEN 37  /* "shardId-" 20 digits "-" 8 hex */
#define STREAMS_GET_MAX 1000     /* GetRecords' Limit */

/* ---- names -------------------------------------------------------------- */

/* "KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"; NULL for
 * STREAM_NONE.  _parse returns STREAM_NONE for anything else. */
const char *streams_view_name(enum stream_view v);
enum stream_view streams_view_parse(const char *s);

/* The label of a stream created at `ms` (UTC, milliseconds), and back.
 * _parse accepts exactly the format written; returns 0 or -1. */
void streams_label(int64_t ms, char out[STREAMS_LABEL_LEN + 1]);
int streams_label_parse(const char *s, size_t n, int64_t *ms);

/* A sequence number (LSN as 21 digits) and back.  _parse accepts 1 to 40
 * decimal digits whose value fits 64 bits; returns 0 or -1. */
void streams_seq(uint64_t lsn, char out[STREAMS_SEQ_LEN + 1]);
int streams_seq_parse(const char *s, size_t n, uint64_t *lsn);

/* The one shard of t's latest stream: "shardId-<label ms, 20 digits>-<8
 * hex of the table id>", stable across restarts. */
void streams_shard_id(const struct table *t,
                      char out[STREAMS_SHARD_ID_LEN + 1]);

/* arn:aws:dynamodb:<region>:<account>:table/<table>/stream/<label>, in
 * `a` (NULL when out of memory). */
char *streams_arn(struct arena *a, const char *region, const char *account,
                  const char *table, int64_t label_ms);

/* Split a stream ARN.  Returns 0 with the table name (NUL-terminated, at
 * most 255 bytes), region, account (each at most 63 bytes) and label; or
 * -1 when `arn` is not of that form. */
struct streams_arn_parts {
    char region[64];
    char account[64];
    char table[256];
    int64_t label_ms;
};
int streams_arn_parse(const char *arn, struct streams_arn_parts *out);

/* ---- shard iterators -------------------------------------------------------
 * Opaque to clients: base64 of a small binary record (format in
 * streams.c) with a checksum, so that a mangled iterator is refused rather
 * than misread.  It is not a secret: anyone may build one. */
struct streams_iter {
    char table[256];     /* table name */
    char id[40];         /* the table incarnation (struct table.id) */
    int64_t label_ms;    /* the stream */
    uint64_t pos;        /* next LSN to read (ignored with horizon) */
    int horizon;         /* TRIM_HORIZON: the oldest retained record */
    int64_t issued_ms;   /* for the 15-minute expiry */
};

/* Append the text of `it` to `out`.  Returns 0 or TM_ENOMEM /
 * TM_ETOOLARGE. */
int streams_iter_encode(const struct streams_iter *it, struct buf *out);

/* Decode `n` characters.  Returns 0, or -1 when the text is not an
 * iterator this server wrote (bad base64, length, version, checksum). */
int streams_iter_decode(const char *s, size_t n, struct streams_iter *it);

/* ---- the bounds of a stream in the log ---------------------------------- */

struct streams_info {
    int enabled;              /* t->stream != STREAM_NONE */
    enum stream_view view;    /* STREAM_NONE: unknown (disabled, and the
                                 log no longer holds its enabling) */
    uint64_t start;           /* first LSN that may belong to the stream */
    int start_trimmed;        /* the record that enabled the stream has
                                 left the log: start is the first record
                                 kept at or after the label */
    uint64_t end;             /* disabled: the LSN of the record that
                                 disabled it (exclusive bound); else 0 */
    int64_t end_ms;           /* disabled: that record's time, 0 if the
                                 log no longer holds it */
};

/* The bounds of t's latest stream (t->stream_created_ms != 0), found by
 * reading the change log and cached in memory.  Returns 0, TM_ENOTFOUND
 * (t never had a stream), or TM_EIO / TM_ECORRUPT / TM_ENOMEM with the
 * reason in `err`. */
int streams_info(struct engine *e, const struct table *t,
                 struct streams_info *out, struct tm_error *err);

/* 1 when a disabled stream is past DynamoDB's 24 hours of readability
 * (and so gone), else 0. */
int streams_expired(const struct streams_info *si, int64_t now_ms);

/* Check that `pos` is still in the log and not older than 24 hours (for
 * AT_ and AFTER_SEQUENCE_NUMBER iterators).  Returns 0, TM_ETRIMMED
 * (message in err), or an I/O error. */
int streams_check_position(struct engine *e, uint64_t pos,
                           struct tm_error *err);

/* The LSN a LATEST iterator starts at: after every durable record. */
uint64_t streams_latest(struct engine *e);

/* ---- reading ------------------------------------------------------------ */

struct streams_read {
    /* in */
    uint64_t pos;          /* first LSN to read (unless horizon) */
    int horizon;           /* start at the oldest record still retained */
    size_t limit;          /* records to return, 1..STREAMS_GET_MAX */
    const char *region;    /* awsRegion of the records */
    /* out */
    size_t nrecords;
    uint64_t next;         /* where the next read continues */
    int closed;            /* the end of a disabled stream was reached:
                              no NextShardIterator */
};

/* Read t's stream (bounds `si`) from rd->pos, appending the records as
 * comma-separated JSON objects (the members of GetRecords' "Records"
 * array) to `out`.  Stops at rd->limit records, at about 1 MB of records,
 * after a bounded amount of log scanned (much more while nothing has been
 * found, so that an empty page almost always means the end), at the end
 * of what is durable, or at the end of a disabled stream (rd->closed).
 * Returns 0, TM_ETRIMMED (an explicit position no longer in the log or
 * older than 24 hours; message in err), or TM_EIO / TM_ECORRUPT /
 * TM_ENOMEM / TM_ETOOLARGE. */
int streams_read(struct engine *e, const struct table *t,
                 const struct streams_info *si, struct streams_read *rd,
                 struct buf *out, struct tm_error *err);

/* Append one change of table t as a stream record (JSON object) for a
 * stream of view `view`, using `a` for scratch.  Returns 1 when written,
 * 0 when the change makes no record (a put that left the item as it was:
 * DynamoDB writes no record for it), or a TM_E* code (TM_ECORRUPT for
 * undecodable bytes). */
int streams_record_json(struct arena *a, const struct table *t,
                        enum stream_view view, const char *region,
                        const struct engine_change *c, struct buf *out);

#endif
