/*
 * streams.c - DynamoDB Streams served straight from the change log; see
 * streams.h for the interface.
 *
 * Callers: the Streams handlers (src/api/api_streams.c) and the table
 * description (LatestStreamArn).  Below it: the change log's readers
 * (src/wal), engine_change_parse for row records, table_from_json for
 * catalog records, the key and item decoders.
 *
 * ==== WHAT A STREAM IS ====
 *
 * Nothing is written for streams besides what the engine logs anyway.  A
 * table with a stream has its PUT/DELETE records logged with the old item
 * (engine.c), and the engine keeps 24 hours of log for it.  The stream of
 * table incarnation `id` with label L (t->stream_created_ms) is:
 *
 *     the row changes of the table's number `no` whose LSN lies in
 *     [start, end), where
 *       start = 1 + the LSN of the catalog record (TABLE_CREATE or
 *               TABLE_UPDATE: the table's JSON) that carries `id` with
 *               stream != NONE and stream_created_ms == L for the first
 *               time: the record that enabled the stream;
 *       end   = the LSN of the first later catalog record of `id` whose
 *               stream is NONE or whose label differs: the record that
 *               disabled it (none while the stream is enabled).
 *
 * Invariants this relies on:
 *   1. Record times never decrease along the log (the engine's batch time
 *      is max(now, previous)), and the enabling record's time is exactly
 *      L (UpdateTable/CreateTable take the label from engine_wtx_time).
 *      So the enabling record is found by locating time L in the log.
 *   2. Records are only ever removed whole segments at a time, oldest
 *      first.  If the enabling record is gone, so is everything before
 *      it, and every record left is after it.
 *   3. Index entries are rows under their index's number, never the
 *      table's: filtering on `no` drops them.
 *
 * The engine's record types are private to engine.c; a table's
 * definitions come from engine_table_parse (table_event below).
 *
 * ==== FINDING THE BOUNDS (streams_info) ====
 *
 *   start: list the segment files (named after their first LSN, wal.c),
 *          binary-search them by the time of their first record for the
 *          last one that starts before L, and read forward from there to
 *          the enabling record.  If a record later than L comes first, the
 *          enabling record has been trimmed: start = the first record at
 *          or after L.
 *   end:   disabled streams only: read forward from start to the record
 *          that disabled it.
 * Both are facts that never change once found, so they are cached in
 * memory per (id, label, enabled).  A search that reached the end of the
 * durable log without an answer is not cached (the record it looks for
 * may not be durable yet).
 *
 * ==== READING (streams_read) ====
 *
 * A shard iterator holds a position: the next LSN to look at (or
 * "horizon": the stream's start, or the oldest record left).  A read opens
 * a log reader there, skips what is not the stream's, converts the rest
 * (streams_record_json), and returns the position after the last record
 * it looked at.  It stops at the Limit, at about 1 MB of records, after
 * SCAN_RECORDS records or SCAN_BYTES of log looked at (so that a stream
 * among busy tables still answers promptly; DynamoDB's GetRecords may
 * also return records short of the end), at the end of the durable log,
 * or at the end of a disabled stream (closed: no further iterator).  A
 * read that has found nothing yet goes on to SCAN_IDLE_RECORDS or
 * SCAN_IDLE_BYTES, so that an empty page almost always means "caught up"
 * (clients commonly stop polling at one).
 *
 * Retention: DynamoDB keeps records 24 hours.  A read from the horizon
 * skips records older than that; a read from an explicit position whose
 * records are gone from the log or older than that fails with
 * TrimmedDataAccessException.
 *
 * THREAD SAFETY NOTES: every function may run on any request thread at
 * once; each read has its own wal_reader (readers run beside the writer,
 * wal.h).  The bounds cache is the only shared state, under cache_lock.
 */
#include "streams/streams.h"

#include <dirent.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base64.h"
#include "base/clock.h"
#include "base/hash.h"
#include "base/jsonw.h"
#include "item/item.h"
#include "storage/key.h"
#include "wal/wal.h"

#define ITER_VERSION 1
#define ITER_SALT 0x54494d5354524d31ull  /* "TIMSTRM1" */
#define ITER_MAX_BYTES 1536              /* 2048 base64 characters */
#define OUT_MAX ((size_t)1 << 20)        /* DDB: 1 MB per GetRecords */
#define SCAN_RECORDS 100000             /* log looked at per read... */
#define SCAN_BYTES ((size_t)64 << 20)
#define SCAN_IDLE_RECORDS 4000000       /* ...or this while none found */
#define SCAN_IDLE_BYTES ((size_t)2 << 30)
#define CACHE_SLOTS 64

/* ==== Names ==== */

static const char *const view_names[] = {
    NULL, "KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"};

const char *streams_view_name(enum stream_view v)
{
    if ((int)v < 0 || (size_t)v >= sizeof view_names / sizeof view_names[0])
        return NULL;
    return view_names[v];
}

enum stream_view streams_view_parse(const char *s)
{
    for (size_t i = 1; s && i < sizeof view_names / sizeof view_names[0];
         i++)
        if (strcmp(s, view_names[i]) == 0)
            return (enum stream_view)i;
    return STREAM_NONE;
}

void streams_label(int64_t ms, char out[STREAMS_LABEL_LEN + 1])
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;

    char text[96];

    gmtime_r(&secs, &tm);
    snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03d",
             (tm.tm_year + 1900) % 10000, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    memcpy(out, text, STREAMS_LABEL_LEN);
    out[STREAMS_LABEL_LEN] = '\0';
}

static int digits(const char *s, size_t n, int *out)
{
    int v = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int streams_label_parse(const char *s, size_t n, int64_t *ms)
{
    /* 2026-11-25T15:55:36.123 */
    static const int at[] = {4, 7, 10, 13, 16, 19};
    char again[STREAMS_LABEL_LEN + 1];
    int y, mo, d, h, mi, se, f;
    struct tm tm;
    time_t secs;

    if (n != STREAMS_LABEL_LEN)
        return -1;
    for (int i = 0; i < 6; i++) {
        char want = i < 2 ? '-' : i == 2 ? 'T' : i < 5 ? ':' : '.';
        if (s[at[i]] != want)
            return -1;
    }
    if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
        digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) ||
        digits(s + 17, 2, &se) || digits(s + 20, 3, &f))
        return -1;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    secs = timegm(&tm);
    if (secs < 0)
        return -1;
    *ms = (int64_t)secs * 1000 + f;
    /* refuse what timegm normalised (Feb 30, 25:00, ...) */
    streams_label(*ms, again);
    return memcmp(again, s, n) == 0 ? 0 : -1;
}

void streams_seq(uint64_t lsn, char out[STREAMS_SEQ_LEN + 1])
{
    snprintf(out, STREAMS_SEQ_LEN + 1, "%021" PRIu64, lsn);
}

int streams_seq_parse(const char *s, size_t n, uint64_t *lsn)
{
    uint64_t v = 0;

    if (n < 1 || n > 40)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned dgt;
        if (s[i] < '0' || s[i] > '9')
            return -1;
        dgt = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - dgt) / 10)
            return -1;
        v = v * 10 + dgt;
    }
    *lsn = v;
    return 0;
}

void streams_shard_id(const struct table *t,
                      char out[STREAMS_SHARD_ID_LEN + 1])
{
    uint64_t h = hash64(t->id, strlen(t->id));

    snprintf(out, STREAMS_SHARD_ID_LEN + 1, "shardId-%020" PRId64 "-%08x",
             t->stream_created_ms, (unsigned)(h >> 32));
}

char *streams_arn(struct arena *a, const char *region, const char *account,
                  const char *table, int64_t label_ms)
{
    char label[STREAMS_LABEL_LEN + 1];

    streams_label(label_ms, label);
    return arena_printf(a, "arn:aws:dynamodb:%s:%s:table/%s/stream/%s",
                        region, account, table, label);
}

static int table_name_ok(const char *s, size_t n)
{
    if (n < 3 || n > 255)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

int streams_arn_parse(const char *arn, struct streams_arn_parts *out)
{
    const char *f[5], *p = arn, *res, *mark;
    size_t len[5];
    int nf = 0;

    if (arn == NULL || strncmp(arn, "arn:", 4) != 0)
        return -1;
    /* arn:partition:service:region:account:resource */
    while (nf < 5) {
        const char *c = strchr(p, ':');
        if (c == NULL)
            return -1;
        f[nf] = p;
        len[nf++] = (size_t)(c - p);
        p = c + 1;
    }
    if (len[1] != 3 || memcmp(f[1], "aws", 3) != 0 || len[2] != 8 ||
        memcmp(f[2], "dynamodb", 8) != 0 || len[3] == 0 ||
        len[3] >= sizeof out->region || len[4] == 0 ||
        len[4] >= sizeof out->account || strncmp(p, "table/", 6) != 0)
        return -1;
    res = p + 6;
    mark = strstr(res, "/stream/");
    if (mark == NULL || !table_name_ok(res, (size_t)(mark - res)))
        return -1;
    if (streams_label_parse(mark + 8, strlen(mark + 8), &out->label_ms) != 0)
        return -1;
    memcpy(out->region, f[3], len[3]);
    out->region[len[3]] = '\0';
    memcpy(out->account, f[4], len[4]);
    out->account[len[4]] = '\0';
    memcpy(out->table, res, (size_t)(mark - res));
    out->table[mark - res] = '\0';
    return 0;
}

/* ==== Shard iterators ====
 *
 * The text is the standard base64 of:
 *
 *     offset  size  field
 *          0     1  version, 1
 *          1     1  flags: 1 = horizon
 *          2     8  position (next LSN), little-endian
 *         10     8  stream label (ms)
 *         18     8  issue time (ms)
 *         26     1  length of the table id, then the id
 *          .     1  length of the table name, then the name
 *          .     8  hash64 of every byte before, XOR ITER_SALT
 */

int streams_iter_encode(const struct streams_iter *it, struct buf *out)
{
    uint8_t b[ITER_MAX_BYTES];
    size_t n = 0, idlen = strlen(it->id), namelen = strlen(it->table);
    uint64_t check;

    if (idlen > 39 || namelen > 255)
        return TM_EINTERNAL;
    b[n++] = ITER_VERSION;
    b[n++] = it->horizon ? 1 : 0;
    buf_store_u64le(b + n, it->pos);
    buf_store_u64le(b + n + 8, (uint64_t)it->label_ms);
    buf_store_u64le(b + n + 16, (uint64_t)it->issued_ms);
    n += 24;
    b[n++] = (uint8_t)idlen;
    memcpy(b + n, it->id, idlen);
    n += idlen;
    b[n++] = (uint8_t)namelen;
    memcpy(b + n, it->table, namelen);
    n += namelen;
    check = hash64(b, n) ^ ITER_SALT;
    buf_store_u64le(b + n, check);
    n += 8;
    return base64_encode(out, b, n);
}

int streams_iter_decode(const char *s, size_t n, struct streams_iter *it)
{
    uint8_t b[ITER_MAX_BYTES];
    size_t len, p = 26, idlen, namelen;

    if (n == 0 || base64_decoded_max(n) > sizeof b ||
        base64_decode(s, n, b, &len) != BASE64_OK || len < 26 + 2 + 8)
        return -1;
    if (b[0] != ITER_VERSION || (b[1] & ~1u) != 0 ||
        buf_get_u64le(b + len - 8) != (hash64(b, len - 8) ^ ITER_SALT))
        return -1;
    memset(it, 0, sizeof *it);
    it->horizon = b[1] & 1;
    it->pos = buf_get_u64le(b + 2);
    it->label_ms = (int64_t)buf_get_u64le(b + 10);
    it->issued_ms = (int64_t)buf_get_u64le(b + 18);
    idlen = b[p++];
    if (idlen > 39 || p + idlen + 1 > len - 8)
        return -1;
    memcpy(it->id, b + p, idlen);
    p += idlen;
    namelen = b[p++];
    if (p + namelen != len - 8 || !table_name_ok((char *)b + p, namelen))
        return -1;
    memcpy(it->table, b + p, namelen);
    return 0;
}

/* ==== The log ==== */

static int open_reader(struct engine *e, uint64_t from, struct wal_reader **r,
                       struct tm_error *err)
{
    return wal_reader_open(engine_wal_dir(e), engine_wal(e), from, r, err);
}

uint64_t streams_latest(struct engine *e)
{
    return wal_synced_lsn(engine_wal(e)) + 1;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The first LSNs of the segment files (wal.c: 20 digits and ".wal"),
 * ascending, in a malloc'ed array the caller frees. */
static int list_segments(struct engine *e, uint64_t **out, size_t *n,
                         struct tm_error *err)
{
    DIR *d = opendir(engine_wal_dir(e));
    struct dirent *de;
    uint64_t *v = NULL;
    size_t cap = 0;

    *out = NULL;
    *n = 0;
    if (d == NULL)
        return tm_error_set(err, TM_EIO, "change log %s: cannot list it",
                            engine_wal_dir(e));
    while ((de = readdir(d)) != NULL) {
        uint64_t lsn;
        if (strlen(de->d_name) != 24 || strcmp(de->d_name + 20, ".wal") != 0 ||
            streams_seq_parse(de->d_name, 20, &lsn) != 0)
            continue;
        if (*n == cap) {
            uint64_t *nv = realloc(v, (cap ? cap * 2 : 64) * sizeof *v);
            if (nv == NULL) {
                free(v);
                closedir(d);
                return tm_error_set(err, TM_ENOMEM, "out of memory");
            }
            v = nv;
            cap = cap ? cap * 2 : 64;
        }
        v[(*n)++] = lsn;
    }
    closedir(d);
    if (*n)
        qsort(v, *n, sizeof *v, cmp_u64);
    *out = v;
    return 0;
}

/* The time of the record `lsn`: 1 and *ms; 0 if it is not durable (yet);
 * TM_ENOTFOUND if it left the log; or another error. */
static int record_time(struct engine *e, uint64_t lsn, int64_t *ms,
                       struct tm_error *err)
{
    struct wal_reader *r;
    struct wal_record rec;
    int rc = open_reader(e, lsn, &r, err);

    if (rc)
        return rc;
    rc = wal_reader_next(r, &rec, err);
    if (rc == 1)
        *ms = rec.time_ms;
    wal_reader_close(r);
    return rc;
}

/* If `rec` is a catalog record holding the definition of table
 * incarnation `id` (TABLE_CREATE or TABLE_UPDATE), 1 with that
 * definition's stream and label; else 0. */
static int table_event(const struct wal_record *rec, const char *id,
                       enum stream_view *view, int64_t *label)
{
    struct table *t;
    int match;

    if (engine_table_parse(rec, &t) != 1)
        return 0;
    match = strcmp(t->id, id) == 0;
    if (match) {
        *view = t->stream;
        *label = t->stream_created_ms;
    }
    table_free(t);
    return match;
}

/* ---- the bounds cache --------------------------------------------------- */

struct cache_entry {
    char id[40];
    int64_t label;
    int enabled;
    struct streams_info si;
    uint64_t used;   /* 0: free */
};

static struct cache_entry cache[CACHE_SLOTS];
static uint64_t cache_tick;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static int cache_get(const char *id, int64_t label, int enabled,
                     struct streams_info *out)
{
    int found = 0;

    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        struct cache_entry *c = &cache[i];
        if (c->used && c->label == label && c->enabled == enabled &&
            strcmp(c->id, id) == 0) {
            *out = c->si;
            c->used = ++cache_tick;
            found = 1;
            break;
        }
    }
    pthread_mutex_unlock(&cache_lock);
    return found;
}

static void cache_put(const char *id, int64_t label, int enabled,
                      const struct streams_info *si)
{
    struct cache_entry *victim = &cache[0];

    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        struct cache_entry *c = &cache[i];
        if (c->used && c->label == label && c->enabled == enabled &&
            strcmp(c->id, id) == 0) {
            victim = c;
            break;
        }
        if (c->used < victim->used)
            victim = c;
    }
    snprintf(victim->id, sizeof victim->id, "%s", id);
    victim->label = label;
    victim->enabled = enabled;
    victim->si = *si;
    victim->used = ++cache_tick;
    pthread_mutex_unlock(&cache_lock);
}

/* ---- start and end ------------------------------------------------------ */

/* Find si->start (and si->view from the enabling record).  *exact is set
 * when the answer can never change. */
static int find_start(struct engine *e, const struct table *t,
                      struct streams_info *si, int *exact,
                      struct tm_error *err)
{
    int64_t label = t->stream_created_ms;
    uint64_t *segs = NULL, from = 0, first_at = 0, last = 0;
    uint64_t synced = streams_latest(e) - 1;
    struct wal_reader *r = NULL;
    struct wal_record rec;
    size_t n = 0, lo = 0, hi;
    int rc;

    *exact = 0;
    rc = list_segments(e, &segs, &n, err);
    if (rc)
        return rc;
    /* the last segment whose first record is older than the label */
    hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int64_t ms = 0;
        int before;
        rc = record_time(e, segs[mid], &ms, err);
        if (rc < 0 && rc != TM_ENOTFOUND)
            goto out;
        before = rc == TM_ENOTFOUND || (rc == 1 && ms < label);
        if (before)
            lo = mid + 1;
        else
            hi = mid;
    }
    from = lo > 0 ? segs[lo - 1] : 0;
    rc = open_reader(e, from, &r, err);
    if (rc == TM_ENOTFOUND)
        rc = open_reader(e, 0, &r, err); /* that segment just went */
    if (rc)
        goto out;
    while ((rc = wal_reader_next(r, &rec, err)) == 1) {
        enum stream_view v;
        int64_t lab;
        last = rec.lsn;
        if (rec.time_ms < label)
            continue;
        if (first_at == 0)
            first_at = rec.lsn;
        if (rec.time_ms > label) {
            /* invariant 2: the enabling record was trimmed */
            si->start = first_at;
            si->start_trimmed = 1;
            *exact = 1;
            break;
        }
        if (table_event(&rec, t->id, &v, &lab) && lab == label &&
            v != STREAM_NONE) {
            si->start = rec.lsn + 1;
            si->view = v;
            *exact = 1;
            break;
        }
    }
    if (rc < 0)
        goto out;
    if (!*exact)
        si->start = first_at ? first_at : last ? last + 1 : synced + 1;
    rc = 0;
out:
    wal_reader_close(r);
    free(segs);
    return rc;
}

/* A disabled stream: find si->end and si->end_ms (and the view type of
 * the last definition that had the stream) by reading on from start. */
static int find_end(struct engine *e, const struct table *t,
                    struct streams_info *si, int *exact,
                    struct tm_error *err)
{
    struct wal_reader *r = NULL;
    struct wal_record rec;
    uint64_t last = 0;
    int rc;

    *exact = 0;
    rc = open_reader(e, si->start, &r, err);
    if (rc == TM_ENOTFOUND) {
        si->start_trimmed = 1;
        rc = open_reader(e, 0, &r, err); /* what is left */
    }
    if (rc)
        return rc;
    while ((rc = wal_reader_next(r, &rec, err)) == 1) {
        enum stream_view v;
        int64_t lab;
        last = rec.lsn;
        if (rec.lsn < si->start || !table_event(&rec, t->id, &v, &lab))
            continue;
        if (v == STREAM_NONE || lab != t->stream_created_ms) {
            si->end = rec.lsn;
            si->end_ms = rec.time_ms;
            *exact = 1;
            break;
        }
        si->view = v;
    }
    wal_reader_close(r);
    if (rc < 0)
        return rc;
    if (*exact)
        return 0;
    if (si->start_trimmed) {
        /* invariant 2: with the enabling record gone, a disabling record
         * not in the log went too, and every record of the stream with
         * it: what is left was written after the stream ended */
        si->end = si->start;
        *exact = 1;
    } else {
        /* the disabling record is not durable yet (the catalog changes
         * before the log is synced): everything so far belongs */
        si->end = last >= si->start ? last + 1 : si->start;
    }
    return 0;
}

int streams_info(struct engine *e, const struct table *t,
                 struct streams_info *out, struct tm_error *err)
{
    int64_t label = t->stream_created_ms;
    int enabled = t->stream != STREAM_NONE, exact = 1, ex, rc;
    struct streams_info si = {0};

    if (label == 0)
        return TM_ENOTFOUND;
    if (cache_get(t->id, label, enabled, out)) {
        if (enabled)
            out->view = t->stream;
        return 0;
    }
    si.enabled = enabled;
    /* a disabled stream read while it was enabled knows its start */
    if (enabled || !cache_get(t->id, label, 1, &si)) {
        rc = find_start(e, t, &si, &ex, err);
        if (rc)
            return rc;
        exact = ex;
    }
    si.enabled = enabled;
    if (enabled) {
        si.view = t->stream;
    } else {
        rc = find_end(e, t, &si, &ex, err);
        if (rc)
            return rc;
        exact = exact && ex;
    }
    if (exact)
        cache_put(t->id, label, enabled, &si);
    *out = si;
    return 0;
}

int streams_expired(const struct streams_info *si, int64_t now_ms)
{
    return !si->enabled && si->end_ms != 0 &&
           now_ms - si->end_ms > STREAMS_RETENTION_MS;
}

static int trimmed(struct tm_error *err)
{
    /* DDB: the message the Streams API reference gives for it */
    return tm_error_set(err, TM_ETRIMMED,
                        "The data you are trying to access has been "
                        "trimmed.");
}

int streams_check_position(struct engine *e, uint64_t pos,
                           struct tm_error *err)
{
    int64_t ms = 0;
    int rc = record_time(e, pos, &ms, err);

    if (rc == TM_ENOTFOUND ||
        (rc == 1 && ms < clock_now_ms() - STREAMS_RETENTION_MS))
        return trimmed(err);
    return rc < 0 ? rc : 0;
}

/* ==== Reading ==== */

int streams_read(struct engine *e, const struct table *t,
                 const struct streams_info *si, struct streams_read *rd,
                 struct buf *out, struct tm_error *err)
{
    int64_t oldest_ms = clock_now_ms() - STREAMS_RETENTION_MS;
    size_t scanned = 0, scanned_bytes = 0, base = out->len;
    struct wal_reader *r = NULL;
    struct arena *a = NULL;
    struct wal_record rec;
    uint64_t from;
    int rc;

    rd->nrecords = 0;
    rd->closed = 0;
    from = rd->horizon || rd->pos < si->start ? si->start : rd->pos;
    rd->next = from;
    if (!si->enabled && from >= si->end) {
        rd->closed = 1;
        return 0;
    }
    rc = open_reader(e, from, &r, err);
    if (rc == TM_ENOTFOUND && rd->horizon)
        rc = open_reader(e, 0, &r, err); /* the oldest record left */
    else if (rc == TM_ENOTFOUND)
        return trimmed(err);
    if (rc)
        return rc;
    a = arena_create(64 * 1024, (size_t)64 << 20);
    if (a == NULL) {
        rc = tm_error_set(err, TM_ENOMEM, "out of memory");
        goto out;
    }
    while (rd->nrecords < rd->limit && out->len - base < OUT_MAX &&
           ((scanned < SCAN_RECORDS && scanned_bytes < SCAN_BYTES) ||
            (rd->nrecords == 0 && scanned < SCAN_IDLE_RECORDS &&
             scanned_bytes < SCAN_IDLE_BYTES))) {
        struct engine_change ch;
        enum stream_view v;
        int64_t lab;
        size_t mark;
        int pc;

        rc = wal_reader_next(r, &rec, err);
        if (rc == 0)
            break;
        if (rc == TM_ENOTFOUND && !rd->horizon)
            rc = trimmed(err);
        if (rc < 0)
            goto out;
        scanned++;
        scanned_bytes += rec.len;
        if (!si->enabled && rec.lsn >= si->end) {
            rd->closed = 1;
            rd->next = rec.lsn;
            break;
        }
        if (rec.time_ms < oldest_ms) {
            /* past DynamoDB's 24 hours */
            if (!rd->horizon) {
                rc = trimmed(err);
                goto out;
            }
            rd->next = rec.lsn + 1;
            continue;
        }
        pc = engine_change_parse(&rec, &ch);
        if (pc < 0) {
            rc = tm_error_set(err, TM_ECORRUPT,
                              "change log record %" PRIu64
                              " is malformed", rec.lsn);
            goto out;
        }
        if (pc == 0) {
            /* the stream ends at the record that disables it */
            if (rec.lsn >= si->start &&
                table_event(&rec, t->id, &v, &lab) &&
                (v == STREAM_NONE || lab != t->stream_created_ms)) {
                rd->closed = 1;
                rd->next = rec.lsn;
                break;
            }
            rd->next = rec.lsn + 1;
            continue;
        }
        rd->next = rec.lsn + 1;
        if (ch.table_no != t->no || rec.lsn < si->start ||
            rec.time_ms < t->stream_created_ms)
            continue;
        mark = out->len;
        if (rd->nrecords > 0 && (rc = buf_putc(out, ',')) != 0)
            goto out;
        arena_reset(a);
        pc = streams_record_json(a, t, si->view, rd->region, &ch, out);
        if (pc < 0) {
            rc = pc == TM_ECORRUPT
                     ? tm_error_set(err, pc,
                                    "change log record %" PRIu64
                                    " holds an undecodable key or item",
                                    rec.lsn)
                     : tm_error_set(err, pc, "out of memory");
            goto out;
        }
        if (pc == 0)
            out->len = mark; /* a write that changed nothing */
        else
            rd->nrecords++;
    }
    rc = 0;
out:
    arena_destroy(a);
    wal_reader_close(r);
    return rc;
}

/* ==== Records ==== */

/* Append {"<hash>":<value>[,"<range>":<value>]}; *size gets the keys'
 * DynamoDB size. */
static int write_keys(const struct table *t, const struct av *hash,
                      const struct av *range, struct buf *o, size_t *size)
{
    int rc = 0;

    *size = strlen(t->ks.hash_name) + av_size(hash);
    rc |= buf_putc(o, '{');
    rc |= json_put_cstr(o, t->ks.hash_name);
    rc |= buf_putc(o, ':');
    rc |= av_write_json(hash, o);
    if (t->ks.range_name) {
        *size += strlen(t->ks.range_name) + av_size(range);
        rc |= buf_putc(o, ',');
        rc |= json_put_cstr(o, t->ks.range_name);
        rc |= buf_putc(o, ':');
        rc |= av_write_json(range, o);
    }
    rc |= buf_putc(o, '}');
    return rc ? TM_ENOMEM : 0;
}

int streams_record_json(struct arena *a, const struct table *t,
                        enum stream_view view, const char *region,
                        const struct engine_change *c, struct buf *o)
{
    struct av hash, range, old_item, new_item;
    int has_old = 0, has_new = 0, emit_old, emit_new, rc = 0;
    char seq[STREAMS_SEQ_LEN + 1], id[40];
    const char *name;
    size_t keys_size = 0;
    uint64_t ih;

    if (key_decode(a, &t->ks, c->key, c->klen, &hash,
                   t->ks.range_name ? &range : NULL) != 0)
        return TM_ECORRUPT;
    if (c->old_item) {
        if (item_decode(a, c->old_item, c->old_len, &old_item) != 0)
            return TM_ECORRUPT;
        has_old = 1;
    }
    if (!c->is_delete) {
        if (item_decode(a, c->new_item, c->new_len, &new_item) != 0)
            return TM_ECORRUPT;
        has_new = 1;
    }
    /* DDB: "If you perform a PutItem or UpdateItem operation that does
     * not change any data in an item, DynamoDB Streams does not write a
     * stream record for that operation." */
    if (has_old && has_new && av_equal(&old_item, &new_item))
        return 0;
    emit_new = has_new && (view == STREAM_NEW_IMAGE ||
                           view == STREAM_NEW_AND_OLD_IMAGES);
    emit_old = has_old && c->existed && (view == STREAM_OLD_IMAGE ||
                                         view == STREAM_NEW_AND_OLD_IMAGES);
    name = c->is_delete ? "REMOVE" : c->existed ? "MODIFY" : "INSERT";
    ih = hash64(t->id, strlen(t->id)) ^ (uint64_t)t->stream_created_ms;
    snprintf(id, sizeof id, "%016" PRIx64 "%016" PRIx64, ih, c->lsn);
    streams_seq(c->lsn, seq);

    rc |= json_put_raw(o, "{\"eventID\":");
    rc |= json_put_cstr(o, id);
    rc |= json_put_raw(o, ",\"eventName\":");
    rc |= json_put_cstr(o, name);
    rc |= json_put_raw(o, ",\"eventVersion\":\"1.1\","
                          "\"eventSource\":\"aws:dynamodb\",\"awsRegion\":");
    rc |= json_put_cstr(o, region ? region : "us-east-1");
    rc |= json_put_raw(o, ",\"dynamodb\":{\"ApproximateCreationDateTime\":");
    rc |= json_put_i64(o, c->time_ms / 1000);
    rc |= json_put_raw(o, ",\"Keys\":");
    if (rc == 0)
        rc = write_keys(t, &hash, t->ks.range_name ? &range : NULL, o,
                        &keys_size);
    if (emit_new) {
        rc |= json_put_raw(o, ",\"NewImage\":");
        rc |= item_write_json(&new_item, o);
    }
    if (emit_old) {
        rc |= json_put_raw(o, ",\"OldImage\":");
        rc |= item_write_json(&old_item, o);
    }
    rc |= json_put_raw(o, ",\"SequenceNumber\":");
    rc |= json_put_cstr(o, seq);
    rc |= json_put_raw(o, ",\"SizeBytes\":");
    rc |= json_put_i64(o, (int64_t)(keys_size + (emit_new ? c->new_size : 0) +
                                    (emit_old ? c->old_size : 0)));
    if (streams_view_name(view)) {
        rc |= json_put_raw(o, ",\"StreamViewType\":");
        rc |= json_put_cstr(o, streams_view_name(view));
    }
    rc |= buf_putc(o, '}');
    if (c->ttl)
        /* DDB: time-to-live deletes are made by the service; the member
         * names are the Streams API model's (Identity: PrincipalId, Type) */
        rc |= json_put_raw(o, ",\"userIdentity\":{\"PrincipalId\":"
                              "\"dynamodb.amazonaws.com\",\"Type\":"
                              "\"Service\"}");
    rc |= buf_putc(o, '}');
    return rc ? TM_ENOMEM : 1;
}
