/*
 * catalog.h - the tables: their definitions (schema, billing, status,
 * times) and live statistics (item count, size), in memory, persisted by
 * the engine in LMDB's "catalog" database as JSON text (table_to_json).
 *
 * Ownership and threads:
 *   - The engine's writer thread is the only mutator.  It uses the
 *     writer-side calls (catalog_find, _insert, _remove, _replace, _swap),
 *     which return or take live `struct table` pointers.
 *   - Every other thread reads through catalog_get / catalog_names, which
 *     copy what they need into the caller's arena under a read lock, so no
 *     reader ever holds a pointer the writer may free.
 *   - A `struct table` is immutable once inserted, except for its
 *     statistics (atomics, written by the writer after each batch commits).
 *     Changing a definition means building a new struct and calling
 *     catalog_replace, which carries the statistics over.
 */
#ifndef TM_CATALOG_H
#define TM_CATALOG_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "storage/key.h"

enum table_status {
    TABLE_CREATING,
    TABLE_ACTIVE,
    TABLE_DELETING,
    TABLE_UPDATING
};

enum billing_mode { BILLING_PROVISIONED, BILLING_PAY_PER_REQUEST };

enum index_kind { INDEX_GSI, INDEX_LSI };
enum projection_type { PROJ_ALL, PROJ_KEYS_ONLY, PROJ_INCLUDE };
enum index_status {
    INDEX_CREATING,
    INDEX_ACTIVE,
    INDEX_DELETING,
    INDEX_UPDATING
};
enum ttl_status { TTL_DISABLED, TTL_ENABLED };
enum stream_view {
    STREAM_NONE,
    STREAM_KEYS_ONLY,
    STREAM_NEW_IMAGE,
    STREAM_OLD_IMAGE,
    STREAM_NEW_AND_OLD_IMAGES
};

/* A secondary index.  Its entries are rows of their own in the engine,
 * under row-key prefix `no`: the index key (ks) followed by the table's
 * primary key, holding the projected item. */
struct table_index {
    char *name;
    enum index_kind kind;
    uint64_t no;
    struct key_schema ks;       /* names point at the table's attrs */
    enum projection_type proj;
    size_t ninclude;
    char **include;             /* NonKeyAttributes (PROJ_INCLUDE) */
    enum index_status status;
    int backfilling;            /* CREATING: existing items being indexed */
    int64_t rcu, wcu;           /* GSIs on provisioned tables */
    /* statistics: written by the writer thread only */
    _Atomic uint64_t item_count;
    _Atomic uint64_t size_bytes;
};

struct tag {
    char *key;
    char *value;
};

struct attr_def {
    char *name;
    enum av_type type; /* AV_S, AV_N or AV_B */
};

struct table {
    char *name;
    char id[40];               /* UUID, new for every incarnation */
    uint64_t no;               /* internal number: the row-key prefix */
    struct key_schema ks;      /* names point at attrs[].name */
    size_t nattrs;
    struct attr_def *attrs;    /* AttributeDefinitions, request order */
    enum billing_mode billing;
    int64_t rcu, wcu;          /* ProvisionedThroughput (0 for on-demand) */
    int64_t created_ms;
    int64_t ppr_since_ms;      /* LastUpdateToPayPerRequestDateTime, or 0 */
    int64_t last_increase_ms;  /* ProvisionedThroughput times, or 0 */
    int64_t last_decrease_ms;
    int decreases_today;
    enum table_status status;
    size_t nindexes;
    struct table_index *indexes;
    /* time to live */
    enum ttl_status ttl;
    char *ttl_attr;            /* NULL when never set */
    /* DynamoDB Streams */
    enum stream_view stream;   /* STREAM_NONE: disabled */
    int64_t stream_created_ms; /* the latest stream's creation (label) */
    /* tags */
    size_t ntags;
    struct tag *tags;
    /* point-in-time recovery */
    int pitr;                  /* 1: enabled */
    int pitr_days;             /* RecoveryPeriodInDays, 1..35 */
    int64_t pitr_since_ms;     /* when it was (last) enabled */
    int deletion_protection;
    /* a restored table: RestoreSummary */
    int restoring;             /* 1 while its items are being loaded */
    char *restore_backup_arn;  /* SourceBackupArn, or NULL (PITR) */
    char *restore_table_arn;   /* SourceTableArn */
    int64_t restore_time_ms;   /* RestoreDateTime */
    char *restore_base;        /* PITR: the base snapshot's ARN */
    uint64_t restore_source_no;/* PITR: the source table's number */
    /* statistics: written by the writer thread only */
    _Atomic uint64_t item_count;
    _Atomic uint64_t size_bytes;
};

struct catalog;

struct catalog *catalog_create(void);
void catalog_destroy(struct catalog *c); /* frees every table; NULL-safe */

/* ---- any thread ------------------------------------------------------- */

/* Copy the table `name` into `a` (a deep copy, statistics included).
 * Returns 0 or TM_ENOTFOUND. */
int catalog_get(struct catalog *c, const char *name, struct arena *a,
                struct table **out);

/* The table names in ascending (byte) order, copied into `a`, starting
 * after `after` (NULL: from the first), at most `limit` of them.  `*more`
 * is set to 1 when names remain after the last one returned. */
int catalog_names(struct catalog *c, const char *after, size_t limit,
                  struct arena *a, char ***names, size_t *n, int *more);

/* Number of tables. */
size_t catalog_count(struct catalog *c);

/* ---- writer thread only ------------------------------------------------ */

struct table *catalog_find(struct catalog *c, const char *name);
struct table *catalog_find_no(struct catalog *c, uint64_t no);
/* The table that owns index number `no`, and the index; NULL if none. */
struct table *catalog_find_index_no(struct catalog *c, uint64_t no,
                                    struct table_index **index);
/* Takes ownership of `t`.  TM_EINUSE if the name exists. */
int catalog_insert(struct catalog *c, struct table *t);
/* Removes and frees. */
void catalog_remove(struct catalog *c, const char *name);
/* Replace the table with t->name by `t` (ownership taken), carrying the
 * statistics over; frees the old one.  TM_ENOTFOUND if absent. */
int catalog_replace(struct catalog *c, struct table *t);
/* Exchange every table of `c` with those of `other` (a catalog no other
 * thread sees) in one step under c's lock: a reader finds the old set or
 * the new one, never a mix or an empty catalog in between.  The engine
 * reloads its catalog this way after a failed commit. */
void catalog_swap(struct catalog *c, struct catalog *other);

/* ---- table definitions ------------------------------------------------ */

/* A zeroed table on the heap; NULL on failure. */
struct table *table_new(void);
void table_free(struct table *t); /* NULL-safe */

/* Deep copy to the heap (a == NULL) or into arena `a`. */
struct table *table_copy(const struct table *t, struct arena *a);

/* Set t->ks from t->attrs given the key attribute names (range may be
 * NULL).  Returns 0 or TM_EVALIDATION if a name has no definition. */
int table_bind_keys(struct table *t, const char *hash, const char *range);

/* The persistent form (JSON text) and back.  Statistics are not part of
 * it.  table_from_json returns TM_ECORRUPT with a message on bad input. */
int table_to_json(const struct table *t, struct buf *out);
int table_from_json(const uint8_t *p, size_t n, struct table **out,
                    struct tm_error *err);

const char *table_status_name(enum table_status s);

/* The index `name` of t, or NULL. */
struct table_index *table_index_find(const struct table *t, const char *name);

/* Bind an index's key schema to t's attribute definitions (hash, range
 * may be NULL).  TM_EVALIDATION if a name has no definition. */
int table_index_bind(const struct table *t, struct table_index *ix,
                     const char *hash, const char *range);

#endif
