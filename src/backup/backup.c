/*
 * backup.c - the backup store; see backup.h for what it guarantees.
 *
 * Sidecar (<id>.json), one object:
 *   {"v":1,"arn":..,"id":..,"name":..,"type":"USER"|"SYSTEM"|"AWS_BACKUP",
 *    "created":<ms>,"expiry":<ms>,"size":<bytes>,"items":<n>,"lsn":<n>,
 *    "table_name":..,"table_id":..,"table_arn":..,"table":{table_to_json}}
 */
#include "backup/backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/backup_format.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/fsio.h"
#include "base/joblist.h"
#include "base/jsonmem.h"
#include "base/load.h"
#include "base/log.h"
#include "catalog/catalog.h"
#include "s3/s3.h"
#include "wal/wal.h"

struct backup_job;

struct backup_store {
    char *dir;
    pthread_mutex_t lock;
    struct backup_info **v;   /* ascending creation time */
    size_t n, cap;
    struct joblist jobs;      /* backups being made or uploaded */
    _Atomic int stopping;     /* backup_store_stop: jobs stop early */
    int test_delay_us;        /* per 256 rows in background jobs (tests) */
    int zstd_level;           /* backup_store_set_level; 0: the default */

    /* backup_store_set_remote: backups live in an object store; `dir`
     * holds their descriptions, and rows files only while they are
     * written and uploaded, or fetched for a restore */
    int remote;
    struct s3_config s3cfg;
    char *s3_url, *s3_endpoint, *s3_bucket, *s3_prefix;
};

static const char *const type_names[] = {"USER", "SYSTEM", "AWS_BACKUP",
                                         "BASE"};

static void info_free(struct backup_info *b)
{
    if (b == NULL)
        return;
    free(b->arn);
    free(b->id);
    free(b->name);
    free(b->table_name);
    free(b->table_id);
    free(b->table_arn);
    free(b->table_json);
    free(b->path);
    free(b);
}

static char *dup_or(struct arena *a, const char *s)
{
    if (s == NULL)
        return NULL;
    return a ? arena_strdup(a, s) : strdup(s);
}

static struct backup_info *info_copy(const struct backup_info *b,
                                     struct arena *a)
{
    struct backup_info *c = a ? arena_calloc(a, 1, sizeof *c)
                              : calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    *c = *b;
    c->arn = dup_or(a, b->arn);
    c->id = dup_or(a, b->id);
    c->name = dup_or(a, b->name);
    c->table_name = dup_or(a, b->table_name);
    c->table_id = dup_or(a, b->table_id);
    c->table_arn = dup_or(a, b->table_arn);
    c->table_json = dup_or(a, b->table_json);
    c->path = dup_or(a, b->path);
    if (!c->arn || !c->id || !c->name || !c->table_name || !c->table_id ||
        !c->table_arn || !c->table_json || !c->path) {
        if (a == NULL)
            info_free(c);
        return NULL;
    }
    return c;
}

/* Insert keeping ascending (created, arn) order.  Lock held. */
static int insert(struct backup_store *s, struct backup_info *b)
{
    size_t i = s->n;

    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 32;
        struct backup_info **nv = realloc(s->v, ncap * sizeof *nv);
        if (nv == NULL)
            return TM_ENOMEM;
        s->v = nv;
        s->cap = ncap;
    }
    while (i > 0 && (s->v[i - 1]->created_ms > b->created_ms ||
                     (s->v[i - 1]->created_ms == b->created_ms &&
                      strcmp(s->v[i - 1]->arn, b->arn) > 0))) {
        s->v[i] = s->v[i - 1];
        i--;
    }
    s->v[i] = b;
    s->n++;
    return 0;
}

static ssize_t find(struct backup_store *s, const char *arn)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i]->arn, arn) == 0)
            return (ssize_t)i;
    return -1;
}

/* ---- sidecars ------------------------------------------------------------ */

/* Every write, sync, rename, unlink and directory sync of a description
 * (and of its .tmp) goes through base/fsio, so the test fault plan reaches
 * them (docs/RELIABILITY.md, "Fault injection"). */

static void sidecar_path(const struct backup_store *s, const char *id,
                         char *path, size_t size)
{
    snprintf(path, size, "%s/%s.json", s->dir, id);
}

/* The description of `b` as a JSON object (NULL: out of memory).  With
 * `remote_copy` it is the object-store copy: never CREATING. */
static json_t *sidecar_json(const struct backup_info *b, int remote_copy)
{
    json_t *o, *table;

    table = json_loads(b->table_json, 0, NULL);
    o = json_pack("{s:i, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:s,"
                  " s:s, s:s, s:o, s:I}",
                  "v", 1, "arn", b->arn, "id", b->id, "name", b->name, "type",
                  type_names[b->type], "created", (json_int_t)b->created_ms,
                  "expiry", (json_int_t)b->expiry_ms, "size",
                  (json_int_t)b->size_bytes, "items", (json_int_t)b->items,
                  "lsn", (json_int_t)b->lsn, "table_name", b->table_name,
                  "table_id", b->table_id, "table_arn", b->table_arn,
                  "table", table ? table : json_object(), "table_no",
                  (json_int_t)b->table_no);
    if (o && b->creating && !remote_copy) {
        json_object_set_new(o, "status", json_string("CREATING"));
        if (b->uploading)
            json_object_set_new(o, "stage", json_string("uploading"));
    }
    if (o && (b->remote || remote_copy))
        json_object_set_new(o, "remote", json_true());
    return o;
}

/* Write the description of `b` durably: <id>.json.tmp, fsync, rename over
 * <id>.json, fsync of the directory.  On failure (TM_ENOMEM, or TM_EIO
 * naming the file, the step and strerror) the .tmp is removed, and so is
 * <id>.json when the rename had put the new one in place but the
 * directory could not be synced: every caller then drops the backup
 * (backup_store_begin and _create answer the error, a job forgets it), so
 * no description that a crash could lose or bring back is left to list
 * it at the next start.  An update (CREATING -> AVAILABLE) that fails
 * that late has replaced the old description, which is then gone too. */
static int write_sidecar(struct backup_store *s, const struct backup_info *b,
                         struct tm_error *err)
{
    char path[4096], tmp[4200], what[4400];
    json_t *o = sidecar_json(b, 0);
    char *text = o ? jsonmem_dumps(o, JSON_COMPACT) : NULL;
    int fd, e, renamed = 0;

    json_decref(o);
    if (text == NULL)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    sidecar_path(s, b->id, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    fd = fsio_open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        e = errno;
        snprintf(what, sizeof what, "cannot create %s", tmp);
        goto fail;
    }
    if (fsio_write_full(fd, text, strlen(text)) != 0) {
        e = errno;
        snprintf(what, sizeof what, "write of %s failed", tmp);
        fsio_close(fd);
        goto fail;
    }
    if (fsio_fsync(fd) != 0) {
        e = errno;
        snprintf(what, sizeof what, "fsync of %s failed", tmp);
        fsio_close(fd);
        goto fail;
    }
    if (fsio_close(fd) != 0) { /* closed all the same */
        e = errno;
        snprintf(what, sizeof what, "close of %s failed", tmp);
        goto fail;
    }
    if (fsio_rename(tmp, path) != 0) {
        e = errno;
        snprintf(what, sizeof what, "rename of %s failed", tmp);
        goto fail;
    }
    renamed = 1;
    if (fsio_fsync_dir(s->dir) != 0) {
        e = errno;
        snprintf(what, sizeof what, "fsync of the directory %s failed",
                 s->dir);
        goto fail;
    }
    free(text);
    return 0;
fail:
    free(text);
    if (!renamed && fsio_unlink(tmp) != 0 && errno != ENOENT)
        tm_warn("backup store: cannot remove %s: %s", tmp, strerror(errno));
    if (renamed && fsio_unlink(path) != 0 && errno != ENOENT)
        tm_warn("backup store: cannot remove %s, whose directory could not "
                "be synced: %s",
                path, strerror(errno));
    return tm_error_set(err, TM_EIO, "cannot write %s: %s: %s", path, what,
                        strerror(e));
}

static struct backup_info *parse_sidecar_in(const char *dir, json_t *o,
                                            const char *path);

static struct backup_info *parse_sidecar(struct backup_store *s, json_t *o,
                                         const char *path)
{
    return parse_sidecar_in(s->dir, o, path);
}

static struct backup_info *read_sidecar(struct backup_store *s,
                                        const char *path)
{
    json_error_t jerr;
    return parse_sidecar(s, json_load_file(path, 0, &jerr), path);
}

/* A backup_info from a description (takes `o`), its rows file in `dir`;
 * NULL if it is not one (warned, naming `path`). */
static struct backup_info *parse_sidecar_in(const char *dir, json_t *o,
                                            const char *path)
{
    json_t *table;
    struct backup_info *b = NULL;
    const char *arn, *id, *name, *type, *tn, *tid, *tarn;
    json_int_t created, expiry, size, items, lsn, no = 0;
    const char *status = NULL, *stage = NULL;
    int remote = 0;
    char file[4096];

    if (o == NULL ||
        json_unpack(o, "{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:s,"
                       " s:s, s:s, s:o, s?I, s?s, s?s, s?b}",
                    "arn", &arn, "id", &id, "name", &name, "type", &type,
                    "created", &created, "expiry", &expiry, "size", &size,
                    "items", &items, "lsn", &lsn, "table_name", &tn,
                    "table_id", &tid, "table_arn", &tarn, "table",
                    &table, "table_no", &no, "status", &status, "stage",
                    &stage, "remote", &remote) != 0) {
        tm_warn("backup store: %s is not a valid backup description; "
                "ignored",
                path);
        json_decref(o);
        return NULL;
    }
    b = calloc(1, sizeof *b);
    if (b == NULL)
        goto out;
    b->type = strcmp(type, "SYSTEM") == 0       ? BACKUP_SYSTEM
              : strcmp(type, "AWS_BACKUP") == 0 ? BACKUP_AWS
              : strcmp(type, "BASE") == 0       ? BACKUP_BASE
                                                : BACKUP_USER;
    b->created_ms = created;
    b->expiry_ms = expiry;
    b->size_bytes = (uint64_t)size;
    b->items = (uint64_t)items;
    b->lsn = (uint64_t)lsn;
    b->table_no = (uint64_t)no;
    b->creating = status != NULL && strcmp(status, "CREATING") == 0;
    b->uploading = b->creating && stage && strcmp(stage, "uploading") == 0;
    b->remote = remote;
    snprintf(file, sizeof file, "%s/%s.tmbak", dir, id);
    b->arn = strdup(arn);
    b->id = strdup(id);
    b->name = strdup(name);
    b->table_name = strdup(tn);
    b->table_id = strdup(tid);
    b->table_arn = strdup(tarn);
    b->table_json = jsonmem_dumps(table, JSON_COMPACT);
    b->path = strdup(file);
    if (!b->arn || !b->id || !b->name || !b->table_name || !b->table_id ||
        !b->table_arn || !b->table_json || !b->path) {
        info_free(b);
        b = NULL;
    }
out:
    json_decref(o);
    return b;
}

int backup_info_to_json(const struct backup_info *b, struct buf *out)
{
    json_t *o = sidecar_json(b, 1);
    int rc = o ? jsonmem_dump(o, JSON_COMPACT, out) : TM_ENOMEM;

    json_decref(o);
    return rc;
}

int backup_info_from_json(const char *text, size_t len, const char *dir,
                          const char *where, struct arena *a,
                          struct backup_info **out)
{
    json_error_t jerr;
    struct backup_info *b = parse_sidecar_in(
        dir, json_loadb(text, len, 0, &jerr), where);

    *out = NULL;
    if (b == NULL)
        return TM_ECORRUPT;
    b->remote = 0;
    b->creating = b->uploading = 0;
    *out = info_copy(b, a);
    info_free(b);
    return *out ? 0 : TM_ENOMEM;
}

const struct s3_config *backup_store_s3_config(const struct backup_store *s)
{
    return s->remote ? &s->s3cfg : NULL;
}

/* ---- open and close ------------------------------------------------------ */

const char *backup_store_dir(const struct backup_store *s) { return s->dir; }

int backup_store_open(const char *dir, int readonly,
                      struct backup_store **out, struct tm_error *err)
{
    struct backup_store *s = calloc(1, sizeof *s);
    struct dirent *de;
    DIR *d;

    if (s == NULL || (s->dir = strdup(dir)) == NULL) {
        free(s);
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->jobs.lock, NULL);
    /* durable in its parent too: a power cut must not drop the store
     * (found by tests/crash/test_powercut.py) */
    if (!readonly && fsio_mkdir_p(dir, 0755) < 0) {
        int e = errno;
        backup_store_close(s);
        return tm_error_set(err, TM_EIO, "cannot create the backup store %s:"
                                         " %s",
                            dir, strerror(e));
    }
    d = opendir(dir);
    if (d == NULL) {
        int e = errno;
        backup_store_close(s);
        return tm_error_set(err, TM_EIO, "cannot read the backup store %s: "
                                         "%s",
                            dir, strerror(e));
    }
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (n > 4 && strcmp(de->d_name + n - 4, ".tmp") == 0) {
            if (!readonly)
                fsio_unlink(path); /* a backup a crash interrupted */
            continue;
        }
        if (n > 5 && strcmp(de->d_name + n - 5, ".json") == 0) {
            struct backup_info *b = read_sidecar(s, path);
            struct stat st;
            if (b == NULL)
                continue;
            if (b->remote && !readonly)
                unlink(b->path); /* a copy fetched for a restore */
            if (!b->creating && !b->remote && stat(b->path, &st) != 0) {
                tm_warn("backup store: %s has no rows file %s; ignored",
                        path, b->path);
                info_free(b);
                continue;
            }
            if (insert(s, b) != 0)
                info_free(b);
        }
    }
    closedir(d);
    /* rows files without a description: a creation that did not finish */
    d = readonly ? NULL : opendir(dir);
    while (d && (de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n > 6 && strcmp(de->d_name + n - 6, ".tmbak") == 0) {
            char arnless[4096];
            int known = 0;
            snprintf(arnless, sizeof arnless, "%s/%s", dir, de->d_name);
            for (size_t i = 0; i < s->n; i++)
                known |= strcmp(s->v[i]->path, arnless) == 0;
            if (!known)
                unlink(arnless);
        }
    }
    if (d)
        closedir(d);
    if (!readonly)
        tm_info("backup store %s: %zu backups", dir, s->n);
    *out = s;
    return 0;
}

void backup_store_close(struct backup_store *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++)
        info_free(s->v[i]);
    free(s->v);
    free(s->dir);
    free(s->s3_url);
    free(s->s3_endpoint);
    free(s->s3_bucket);
    free(s->s3_prefix);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* ---- create ---------------------------------------------------------------- */

/* One change to undo: the row `key` as it was at the backup's LSN (absent
 * when !existed).  `seq` keeps the log order among changes of one key. */
struct undo {
    uint8_t *key, *old;
    size_t klen, olen;
    int existed;
    uint64_t seq;
};

/* Reads the changes of table `no` from the log, round after round: each
 * round up to a snapshot's LSN, the reader kept open between rounds (a
 * reader opened again would read its segment from the start).  LSNs have
 * no gaps (wal.h), so a round reads exactly up to its end. */
struct undo_log {
    struct engine *e;
    uint64_t no;
    struct wal_reader *r;
    uint64_t last;   /* the LSN of the last record read */
};

static void undo_free(struct undo *u, size_t n)
{
    for (size_t i = 0; u && i < n; i++) {
        free(u[i].key);
        free(u[i].old);
    }
    free(u);
}

static int undo_cmp(const void *pa, const void *pb)
{
    const struct undo *a = pa, *b = pb;
    int c = engine_row_cmp(a->key, a->klen, b->key, b->klen);
    if (c)
        return c;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int undo_push(struct undo **u, size_t *n, size_t *cap,
                     const struct undo *x)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        struct undo *nu = realloc(*u, nc * sizeof **u);
        if (nu == NULL)
            return TM_ENOMEM;
        *u = nu;
        *cap = nc;
    }
    (*u)[(*n)++] = *x;
    return 0;
}

/* The changes of table ul->no after `lsn` (the first round's start; later
 * rounds go on where the last stopped) up to `upto`, one per key (its
 * first: the row as it was before them), sorted in cursor order.  With
 * `from` (the last key written), changes of keys up to it are skipped
 * without copying. */
static int undo_log_round(struct undo_log *ul, uint64_t lsn, uint64_t upto,
                          const uint8_t *from, size_t fromlen,
                          struct undo **out, size_t *nout,
                          struct tm_error *err)
{
    struct wal_record rec;
    struct engine_change c;
    struct undo *u = NULL, x;
    size_t n = 0, cap = 0, k = 0;
    int rc = 0, got = 1;

    *out = NULL;
    *nout = 0;
    if (ul->r == NULL)
        ul->last = lsn;
    if (upto > ul->last && ul->r == NULL) {
        rc = wal_reader_open(engine_wal_dir(ul->e), engine_wal(ul->e),
                             lsn + 1, &ul->r, err);
        if (rc == TM_ENOTFOUND)
            rc = tm_error_set(err, TM_ECORRUPT,
                              "the change log after LSN %llu is gone",
                              (unsigned long long)lsn);
        if (rc) {
            ul->r = NULL;
            goto out;
        }
    }
    while (ul->last < upto && (got = wal_reader_next(ul->r, &rec, err)) == 1) {
        int p = engine_change_parse(&rec, &c);

        ul->last = rec.lsn;
        if (p < 0) {
            rc = tm_error_set(err, p, "an unreadable change log record "
                                      "(LSN %llu)",
                              (unsigned long long)rec.lsn);
            goto out;
        }
        if (p == 0 || c.table_no != ul->no ||
            (from && engine_row_cmp(c.key, c.klen, from, fromlen) <= 0))
            continue;
        if (c.existed && c.old_item == NULL) {
            rc = tm_error_set(err, TM_ECORRUPT,
                              "the change at LSN %llu lacks the old item",
                              (unsigned long long)c.lsn);
            goto out;
        }
        memset(&x, 0, sizeof x);
        x.seq = c.lsn;
        x.existed = c.existed;
        x.klen = c.klen;
        x.olen = c.existed ? c.old_len : 0;
        x.key = malloc(c.klen ? c.klen : 1);
        x.old = c.existed ? malloc(c.old_len ? c.old_len : 1) : NULL;
        if (x.key == NULL || (c.existed && x.old == NULL)) {
            free(x.key);
            free(x.old);
            rc = tm_error_set(err, TM_ENOMEM, "out of memory");
            goto out;
        }
        memcpy(x.key, c.key, c.klen);
        if (c.existed)
            memcpy(x.old, c.old_item, c.old_len);
        if (undo_push(&u, &n, &cap, &x) != 0) {
            free(x.key);
            free(x.old);
            rc = tm_error_set(err, TM_ENOMEM, "out of memory");
            goto out;
        }
    }
    if (got < 0) {
        rc = got;
        goto out;
    }
    if (ul->last < upto) {
        /* every record up to a snapshot's LSN is synced before the
         * snapshot can see it: a log that ends before is damaged */
        rc = tm_error_set(err, TM_ECORRUPT,
                          "the change log ends at LSN %llu, before the "
                          "snapshot's LSN %llu",
                          (unsigned long long)ul->last,
                          (unsigned long long)upto);
        goto out;
    }
    /* keep the first change of each key */
    if (n)
        qsort(u, n, sizeof *u, undo_cmp);
    for (size_t i = 0; i < n; i++) {
        if (k > 0 && engine_row_cmp(u[k - 1].key, u[k - 1].klen, u[i].key,
                                    u[i].klen) == 0) {
            free(u[i].key);
            free(u[i].old);
            continue;
        }
        u[k++] = u[i];
    }
    n = k;
    rc = 0;
out:
    if (rc) {
        undo_free(u, n);
        return rc;
    }
    *out = u;
    *nout = n;
    return 0;
}

static void undo_log_close(struct undo_log *ul)
{
    wal_reader_close(ul->r);
    ul->r = NULL;
}

/* The changes of table `no` after `lsn` up to the snapshot `rtx`, one per
 * key (its first: the row as it was at `lsn`), sorted in cursor order. */
static int collect_undo(struct engine *e, uint64_t no, uint64_t lsn,
                        struct engine_rtx *rtx, struct undo **out,
                        size_t *nout, struct tm_error *err)
{
    struct undo_log ul = {e, no, NULL, 0};
    int rc = undo_log_round(&ul, lsn, engine_read_lsn(rtx), NULL, 0, out,
                            nout, err);

    undo_log_close(&ul);
    return rc;
}

/* A background backup holds no LMDB snapshot for longer than it takes to
 * copy a chunk of rows out of it.  While any snapshot is open LMDB cannot
 * reuse a page a later write frees, so every commit meanwhile takes new
 * pages: a backup that read its table from one snapshot, or from one
 * every half second, made the state file grow by hundreds of MB under
 * heavy writes, and the writes after it, alone as well, went to free
 * pages spread over that larger file, at 2.4 times the disk bytes and
 * 1.6 times the writer's CPU per write (bench/RESULTS.md).  So the
 * reading thread opens a snapshot, copies CHUNK_ROWS rows (CHUNK_BYTES at
 * most) into its own buffer and ends the snapshot, before it pauses for
 * requests or writes anything.  The next chunk comes from a new snapshot,
 * from the key after the last one copied.
 *
 * Every ROUND_NS, when the buffer holds CHUNK_BYTES, at the end, and at
 * once when nothing was logged since the last round, it reads from the
 * log the changes made since the last round up to the newest snapshot it
 * copied from (the table is held, so each carries its old item, and the
 * log is kept), merges them into the list of changes to undo, then
 * writes the buffered rows with those changes undone.  The list keeps the
 * first change of each key after the backup's LSN: the row as it was at
 * that LSN, whichever later snapshot a copied row came from.  So every
 * row is written as it was at the backup's LSN.
 *
 * Without a hold (a SYSTEM backup, inside DeleteTable, or 64 holds taken
 * already) there is no log to undo from: the one snapshot stays open. */
#define CHUNK_ROWS 256
#define CHUNK_BYTES (4u << 20)
#define ROUND_NS (500ull * 1000 * 1000)

struct refresher {
    struct undo_log *ul;     /* the log read between snapshots; NULL: the
                              * table is not held, one snapshot */
    struct engine_rtx **rtx; /* the snapshot being read; replaced */
    struct undo **u;         /* the changes to undo, sorted; replaced */
    size_t *nu;
    unsigned snapshots;      /* read from so far (write_rows counts) */
};

/* Merge the changes `add` (sorted, one per key, none of a key written
 * already) into the undo list, keeping an older change of a key and
 * dropping the entries before *ui, consumed.  Takes `add`'s entries. */
static int undo_merge(struct refresher *rf, struct undo *add, size_t nadd,
                      size_t *ui, struct tm_error *err)
{
    struct undo *v, *u = *rf->u;
    size_t n = 0, i = *ui, a, nu = *rf->nu;

    if (nadd == 0) { /* nothing new: the list stays as it is */
        free(add);
        return 0;
    }
    /* Each new change goes where a binary search of the list puts it, and
     * the runs of the list between them are copied whole: a round under
     * heavy writes costs a few comparisons per new change, not one per
     * change the list holds (which grows for as long as the backup
     * runs). */
    if ((v = malloc((nu - i + nadd) * sizeof *v)) == NULL) {
        undo_free(add, nadd);
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    }
    for (a = 0; a < nadd; a++) {
        size_t lo = i, hi = nu;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (engine_row_cmp(u[mid].key, u[mid].klen, add[a].key,
                               add[a].klen) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo > i) /* (u is NULL when empty) */
            memcpy(v + n, u + i, (lo - i) * sizeof *v);
        n += lo - i;
        i = lo;
        if (i < nu && engine_row_cmp(u[i].key, u[i].klen, add[a].key,
                                     add[a].klen) == 0) {
            /* the older change says how the row was */
            free(add[a].key);
            free(add[a].old);
        } else {
            v[n++] = add[a];
        }
    }
    if (nu > i)
        memcpy(v + n, u + i, (nu - i) * sizeof *v);
    n += nu - i;
    for (size_t j = 0; j < *ui; j++) { /* consumed */
        free(u[j].key);
        free(u[j].old);
    }
    free(u);
    free(add);
    *rf->u = v;
    *rf->nu = n;
    *ui = 0;
    return 0;
}

/* Rows copied out of a snapshot go to a struct buf: for each, the key's
 * and the item's lengths (size_t each), the key, the item. */
static int rows_add(struct buf *rb, const uint8_t *k, size_t kl,
                    const uint8_t *it, size_t il)
{
    int rc = buf_append(rb, &kl, sizeof kl);

    if (rc == 0)
        rc = buf_append(rb, &il, sizeof il);
    if (rc == 0)
        rc = buf_append(rb, k, kl);
    if (rc == 0)
        rc = buf_append(rb, it, il);
    return rc;
}

/* Write the buffered rows to `w` with the undo list's changes undone, and
 * the list's changes of keys up to `last` (all of them when `all`): those
 * rows are absent from the snapshots but were there at the backup's LSN
 * (or were there in another form).  The rows are sorted and each key in
 * the buffer is above every key written before. */
static int emit_rows(struct backup_writer *w, const struct buf *rb,
                     const struct undo *u, size_t nu, size_t *ui,
                     const uint8_t *last, size_t lastl, int all,
                     struct tm_error *err)
{
    const uint8_t *p = rb->data, *end = rb->data + rb->len;
    size_t i = *ui;
    int rc = 0;

    for (;;) {
        const uint8_t *k = NULL, *it = NULL;
        size_t kl = 0, il = 0;
        int have_u = i < nu && (all || engine_row_cmp(u[i].key, u[i].klen,
                                                      last, lastl) <= 0);
        int c;

        if (p < end) {
            memcpy(&kl, p, sizeof kl);
            memcpy(&il, p + sizeof kl, sizeof il);
            k = p + 2 * sizeof(size_t);
            it = k + kl;
        } else if (!have_u) {
            break;
        }
        c = p == end ? 1 : !have_u ? -1
                                   : engine_row_cmp(k, kl, u[i].key,
                                                    u[i].klen);
        if (c < 0) { /* unchanged since the backup's LSN */
            rc = backup_writer_add(w, k, kl, it, il, err);
            p = it + il;
        } else { /* changed since: as it was then (or absent) */
            rc = u[i].existed ? backup_writer_add(w, u[i].key, u[i].klen,
                                                  u[i].old, u[i].olen, err)
                              : 0;
            i++;
            if (c == 0)
                p = it + il;
        }
        if (rc)
            break;
    }
    *ui = i;
    return rc;
}

/* Write the rows of table b->table_no as of the snapshot *rf->rtx, with
 * the changes *rf->u (sorted, one per key) undone, to b->path; with
 * rf->ul, chunk by chunk from short-lived snapshots (see above; *rf->rtx
 * is then NULL on return).  Checks *stop every chunk (a server shutting
 * down): TM_EUNAVAILABLE then. */
static int write_rows(struct refresher *rf, const struct backup_info *b,
                      const _Atomic int *stop, int delay_us, int yield,
                      int level, struct backup_stats *st,
                      struct tm_error *err)
{
    struct engine_cursor *cur = NULL;
    struct backup_writer *w = NULL;
    struct backup_meta m = {0};
    struct undo *add = NULL;
    /* rb: the rows copied, not written yet; last: the last key copied
     * (the next chunk starts after it); done: the last key written (a
     * round skips changes up to it).  A row key is never empty (it
     * starts with its partition's 8-byte hash, storage/key.h), so an
     * empty `last` or `done` means none yet. */
    struct buf rb, last, done;
    size_t ui = 0, nadd = 0, lastrow = 0;
    uint64_t seen = load_requests(), round_t0 = clock_mono_ns();
    uint64_t no = b->table_no, lsn, undone;
    int at_end = 0;
    long ncpu;
    int rc;

    buf_init(&rb, SIZE_MAX);
    buf_init(&last, SIZE_MAX);
    buf_init(&done, SIZE_MAX);

    rf->snapshots = 1;
    lsn = undone = engine_read_lsn(*rf->rtx);

    m.table_json = b->table_json;
    m.lsn = b->lsn;
    m.created_ms = b->created_ms;
    m.backup_arn = b->arn;
    m.table_arn = b->table_arn;
    m.table_id = b->table_id;
    m.backup_name = b->name;
    m.backup_type = (int)b->type;
    if ((rc = backup_writer_open(b->path, &m, &w, err)))
        return rc;
    if (level != 0)
        backup_writer_set_level(w, level);
    /* compress on one helper thread per CPU the process may use while
     * this one reads rows (all at SCHED_IDLE, inherited); without them
     * the writer works alone */
    ncpu = (long)load_usable_cpus();
    if (backup_writer_set_threads(w, ncpu > 4 ? 4 : (int)ncpu, err) != 0)
        tm_warn("%s; writing on one thread", err->msg);
    while (!at_end) {
        const uint8_t *k, *it;
        size_t kl, il, n;

        /* a chunk of rows, from a snapshot held only meanwhile */
        if (*rf->rtx == NULL) {
            if ((rc = engine_read_begin(rf->ul->e, rf->rtx))) {
                rc = tm_error_set(err, rc, "could not open a read snapshot");
                goto out;
            }
            rf->snapshots++;
            lsn = engine_read_lsn(*rf->rtx);
        }
        if ((rc = engine_cursor_open(*rf->rtx, no, &cur)) ||
            (rc = engine_cursor_seek(cur, last.len ? last.data : NULL,
                                     last.len, 0, last.len != 0))) {
            rc = tm_error_set(err, rc, "reading table %s failed",
                              b->table_name);
            goto out;
        }
        for (n = 0; n < CHUNK_ROWS && rb.len < CHUNK_BYTES; n++) {
            int got = engine_cursor_next(cur, &k, &kl, &it, &il);
            if (got < 0) {
                rc = tm_error_set(err, got, "reading table %s failed",
                                  b->table_name);
                goto out;
            }
            if (got == 0) {
                at_end = 1;
                break;
            }
            lastrow = rb.len;
            if (rows_add(&rb, k, kl, it, il) != 0) {
                rc = tm_error_set(err, TM_ENOMEM, "out of memory");
                goto out;
            }
        }
        if (n > 0) {
            size_t rkl;
            memcpy(&rkl, rb.data + lastrow, sizeof rkl);
            buf_reset(&last);
            if (buf_append(&last, rb.data + lastrow + 2 * sizeof(size_t),
                           rkl) != 0) {
                rc = tm_error_set(err, TM_ENOMEM, "out of memory");
                goto out;
            }
        }
        engine_cursor_close(cur);
        cur = NULL;
        if (rf->ul) {
            engine_read_end(*rf->rtx);
            *rf->rtx = NULL;
        }
        /* then, without a snapshot: the changes to undo, and the rows.
         * With nothing logged since the last round (no writes, or no
         * hold: one snapshot, so `lsn` stays at `undone`) the rows go at
         * once, so that the compressing helpers are fed as the rows are
         * read. */
        if (at_end || rb.len >= CHUNK_BYTES || lsn == undone ||
            clock_mono_ns() - round_t0 >= ROUND_NS) {
            if (lsn > undone) {
                if ((rc = undo_log_round(rf->ul, undone, lsn,
                                         done.len ? done.data : NULL,
                                         done.len, &add, &nadd, err)))
                    goto out;
                rc = undo_merge(rf, add, nadd, &ui, err);
                add = NULL;
                nadd = 0;
                if (rc)
                    goto out;
                undone = lsn;
            }
            if ((rc = emit_rows(w, &rb, *rf->u, *rf->nu, &ui, last.data,
                                last.len, at_end || last.len == 0, err)))
                goto out;
            buf_reset(&rb);
            buf_reset(&done);
            if (last.len && buf_append(&done, last.data, last.len) != 0) {
                rc = tm_error_set(err, TM_ENOMEM, "out of memory");
                goto out;
            }
            round_t0 = clock_mono_ns();
        }
        if (at_end)
            break;
        if (delay_us) {
            /* tests (--unsafe-test-slow-backups): slowly, and not past
             * the first chunk while <store>/HOLD exists */
            char hold[4200];
            struct stat hs;
            const char *slash = strrchr(b->path, '/');
            usleep((useconds_t)delay_us);
            snprintf(hold, sizeof hold, "%.*s/HOLD",
                     slash ? (int)(slash - b->path) : 1,
                     slash ? b->path : ".");
            while (stat(hold, &hs) == 0 && !(stop && atomic_load(stop)))
                usleep(10000);
        }
        /* requests first: pause (10 ms at most per chunk) while they
         * flow, see base/load.h */
        if (yield)
            load_wait_quiet(&seen, 10000);
        if (stop && atomic_load(stop)) {
            rc = tm_error_set(err, TM_EUNAVAILABLE,
                              "the server is shutting down");
            goto out;
        }
    }
    rc = backup_writer_finish(w, st, err);
    w = NULL;
out:
    engine_cursor_close(cur);
    backup_writer_abort(w);
    undo_free(add, nadd);
    buf_free(&rb);
    buf_free(&last);
    buf_free(&done);
    return rc;
}

/* A new description of a backup of `t` taken from `rtx` now. */
static struct backup_info *new_info(struct backup_store *s,
                                    const struct table *t,
                                    struct engine_rtx *rtx,
                                    const char *backup_name,
                                    enum backup_type type, const char *region,
                                    const char *account)
{
    struct backup_info *b = calloc(1, sizeof *b);
    struct buf tj;
    uint8_t rnd[4];
    char id[64], arn[1024], path[4096];
    uint64_t t0 = clock_mono_ns();
    int rc;

    if (b == NULL)
        return NULL;
    b->created_ms = clock_now_ms();
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        memcpy(rnd, &t0, sizeof rnd);
    snprintf(id, sizeof id, "%014lld-%02x%02x%02x%02x",
             (long long)b->created_ms, rnd[0], rnd[1], rnd[2], rnd[3]);
    if (type == BACKUP_SYSTEM)
        memcpy(id + strlen(id) - 8, "00000000", 8);
    b->type = type;
    if (type == BACKUP_SYSTEM)
        b->expiry_ms = b->created_ms + 35LL * 24 * 3600 * 1000;
    b->id = strdup(id);
    b->name = strdup(backup_name);
    b->table_name = strdup(t->name);
    b->table_id = strdup(t->id);
    b->table_no = t->no;
    snprintf(arn, sizeof arn, "arn:aws:dynamodb:%s:%s:table/%s", region,
             account, t->name);
    b->table_arn = strdup(arn);
    snprintf(arn, sizeof arn, "arn:aws:dynamodb:%s:%s:table/%s/backup/%s",
             region, account, t->name, id);
    b->arn = strdup(arn);
    snprintf(path, sizeof path, "%s/%s.tmbak", s->dir, id);
    b->path = strdup(path);
    buf_init(&tj, 16u << 20);
    if ((rc = table_to_json(t, &tj)) == 0)
        rc = buf_putc(&tj, 0);
    b->table_json = rc == 0 ? strdup((char *)tj.data) : NULL;
    buf_free(&tj);
    b->items = atomic_load(&t->item_count);
    b->size_bytes = atomic_load(&t->size_bytes);
    b->lsn = engine_read_lsn(rtx);
    if (!b->id || !b->name || !b->table_name || !b->table_id ||
        !b->table_arn || !b->arn || !b->path || !b->table_json) {
        info_free(b);
        return NULL;
    }
    return b;
}

/* Run backups at the lowest CPU priority: the live table comes first. */
static void sched_idle_self(void)
{
    struct sched_param sp = {0};
    pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
}

static void start_upload(struct backup_store *s, struct engine *e,
                         const struct backup_info *b);

/* Hold table `no` (see engine_hold_table), then open the snapshot the
 * backup is made from: after the barrier every later change of the table
 * carries its old item. */
static int hold_and_snapshot(struct engine *e, uint64_t no, uint64_t from,
                             struct engine_rtx **rtx, struct tm_error *err)
{
    int rc;

    if ((rc = engine_hold_table(e, no, from)))
        return tm_error_set(err, TM_ELIMIT,
                            "Too many backups are being created at once; "
                            "try again when one has finished");
    if ((rc = engine_barrier(e)) || (rc = engine_read_begin(e, rtx))) {
        engine_release_table(e, no, from);
        return tm_error_set(err, rc, "could not open a read snapshot");
    }
    return 0;
}

/* Table `table_name` as the catalog has it now, if a backup can be made
 * of it: TM_ETABLENOTFOUND when it is missing, being created or being
 * restored. */
static int backup_table(struct engine *e, const char *table_name,
                        struct arena *a, struct table **t,
                        struct tm_error *err)
{
    if (catalog_get(engine_catalog(e), table_name, a, t) != 0 ||
        (*t)->status == TABLE_CREATING || (*t)->restoring)
        return tm_error_set(err, TM_ETABLENOTFOUND, "Table not found: %s",
                            table_name);
    return 0;
}

/* Hold table `table_name` and open a snapshot after the hold's barrier,
 * so that every change the snapshot does not see is logged with its old
 * item: *t as of that snapshot, *from the LSN the hold keeps the log from.
 * TM_ETABLENOTFOUND (also when the table was deleted or re-created in
 * between), TM_ELIMIT (64 holds already), or another code; on failure
 * nothing is held or open. */
static int hold_table_snapshot(struct engine *e, const char *table_name,
                               struct arena *a, struct table **t,
                               uint64_t *from, struct engine_rtx **rtx,
                               struct tm_error *err)
{
    struct table *t0;
    int rc;

    /* the table's number and a lower bound of the snapshot's LSN */
    if ((rc = engine_read_begin(e, rtx)))
        return tm_error_set(err, rc, "could not open a read snapshot");
    rc = backup_table(e, table_name, a, &t0, err);
    *from = engine_read_lsn(*rtx);
    engine_read_end(*rtx);
    *rtx = NULL;
    if (rc || (rc = hold_and_snapshot(e, t0->no, *from, rtx, err)))
        return rc;
    /* the table as of the snapshot: deleted or re-created meanwhile? */
    if ((rc = backup_table(e, table_name, a, t, err)) || (*t)->no != t0->no) {
        engine_read_end(*rtx);
        *rtx = NULL;
        engine_release_table(e, t0->no, *from);
        return rc ? rc : tm_error_set(err, TM_ETABLENOTFOUND,
                                      "Table not found: %s", table_name);
    }
    return 0;
}

int backup_store_create(struct backup_store *s, struct engine *e,
                        const char *table_name, const char *backup_name,
                        enum backup_type type, const char *region,
                        const char *account, struct arena *a,
                        struct backup_info **out, struct tm_error *err)
{
    struct backup_info *b = NULL;
    struct engine_rtx *rtx = NULL;
    struct backup_stats st;
    struct table *t;
    int rc, policy, held = 0;
    struct sched_param sp;
    uint64_t t0 = clock_mono_ns(), from = 0, no = 0;
    struct undo *u = NULL;
    size_t nu = 0;
    struct undo_log ul = {e, 0, NULL, 0};
    struct refresher rf = {NULL, &rtx, &u, &nu, 0};

    /* but for a SYSTEM backup (inside DeleteTable, which takes no hold),
     * hold the table so that the rows can be read from a series of
     * snapshots, as in the background (see struct refresher) */
    if (type != BACKUP_SYSTEM) {
        rc = hold_table_snapshot(e, table_name, a, &t, &from, &rtx, err);
        if (rc != 0 && rc != TM_ELIMIT)
            return rc;
        held = rc == 0;
    }
    if (!held) {
        /* one snapshot (also with 64 holds taken already): the table and
         * its rows as of this moment */
        tm_error_clear(err);
        if ((rc = engine_read_begin(e, &rtx)))
            return tm_error_set(err, rc, "could not open a read snapshot");
        if ((rc = backup_table(e, table_name, a, &t, err)))
            goto out;
    }
    no = t->no;
    if (held) {
        ul.no = no;
        rf.ul = &ul;
    }
    if ((b = new_info(s, t, rtx, backup_name, type, region, account)) ==
        NULL) {
        rc = tm_error_set(err, TM_ENOMEM, "out of memory");
        goto out;
    }
    pthread_getschedparam(pthread_self(), &policy, &sp);
    sched_idle_self();
    /* a SYSTEM backup is part of a DeleteTable request: no pauses */
    rc = write_rows(&rf, b, NULL,
                    type != BACKUP_SYSTEM ? s->test_delay_us : 0,
                    type != BACKUP_SYSTEM, s->zstd_level, &st, err);
    pthread_setschedparam(pthread_self(), policy, &sp);
    engine_read_end(rtx);
    rtx = NULL;
    undo_log_close(&ul);
    undo_free(u, nu);
    u = NULL;
    nu = 0;
    if (held) {
        engine_release_table(e, no, from);
        held = 0;
    }
    if (rc)
        goto out;
    /* to the object store in the background (PITR bases stay local) */
    if (s->remote && type != BACKUP_BASE)
        b->creating = b->uploading = 1;
    if ((rc = write_sidecar(s, b, err))) {
        unlink(b->path);
        goto out;
    }
    tm_info("backup %s of table %s: %llu items, %llu bytes in the file, "
            "%.1f ms, %u snapshots, %llu of %llu blocks at zstd's fast level",
            b->arn, b->table_name, (unsigned long long)st.rows,
            (unsigned long long)st.file_bytes,
            (double)(clock_mono_ns() - t0) / 1e6, rf.snapshots,
            (unsigned long long)st.fast_blocks,
            (unsigned long long)st.blocks);
    *out = info_copy(b, a);
    pthread_mutex_lock(&s->lock);
    rc = insert(s, b);
    pthread_mutex_unlock(&s->lock);
    if (rc == 0 && b->uploading)
        start_upload(s, e, b);
    if (rc == 0)
        b = NULL;
    else
        rc = tm_error_set(err, rc, "out of memory");
out:
    engine_read_end(rtx);
    undo_log_close(&ul);
    undo_free(u, nu);
    if (held)
        engine_release_table(e, no, from);
    info_free(b);
    return rc;
}

/* ---- backups made in the background --------------------------------------- */

struct backup_job {
    struct backup_store *s;
    struct engine *e;
    struct backup_info *b;     /* private copy */
    struct engine_rtx *rtx;
    struct undo *u;
    size_t nu;
    uint64_t hold_lsn;
    int held;                  /* the table hold is still ours */
    int upload_only;           /* the rows file is complete: upload it */
    int resumed;               /* after a restart, from a later snapshot */
};

/* Drop backup `arn` from the registry and the directory (a failed job). */
static void forget(struct backup_store *s, const char *arn)
{
    struct backup_info *b = NULL;
    ssize_t i;

    pthread_mutex_lock(&s->lock);
    if ((i = find(s, arn)) >= 0) {
        b = s->v[i];
        memmove(s->v + i, s->v + i + 1, (s->n - (size_t)i - 1) * sizeof *s->v);
        s->n--;
    }
    pthread_mutex_unlock(&s->lock);
    if (b) {
        char path[4096];
        sidecar_path(s, b->id, path, sizeof path);
        if (fsio_unlink(path) != 0 && errno != ENOENT)
            tm_warn("backup store: cannot remove %s: %s", path,
                    strerror(errno));
        unlink(b->path);
        if (fsio_fsync_dir(s->dir) != 0)
            tm_warn("backup store: fsync of the directory %s failed: %s",
                    s->dir, strerror(errno));
        info_free(b);
    }
}

/* Set the state flags of backup `arn` in the registry. */
static void set_state(struct backup_store *s, const struct backup_info *b)
{
    ssize_t i;

    pthread_mutex_lock(&s->lock);
    if ((i = find(s, b->arn)) >= 0) {
        s->v[i]->creating = b->creating;
        s->v[i]->uploading = b->uploading;
        s->v[i]->remote = b->remote;
    }
    pthread_mutex_unlock(&s->lock);
}

/* Upload the rows file and then the description of `b` to the object
 * store, retrying with backoff (1 s doubling to 60 s) until it succeeds or
 * the server stops (TM_EUNAVAILABLE).  The file is checked after upload
 * (s3_put_file's read-back of size and MD5). */
static int upload_until_done(struct backup_store *s, struct backup_info *b,
                             struct tm_error *err)
{
    unsigned delay_ms = 1000;

    for (int attempt = 1;; attempt++) {
        struct s3_client *c = NULL;
        char key[256], where[1200];
        json_t *o;
        char *text = NULL;
        int rc = s3_client_new(&s->s3cfg, &c, err);

        if (rc == 0) {
            snprintf(key, sizeof key, "%s.tmbak", b->id);
            rc = s3_put_file(c, key, b->path, NULL, NULL, err);
        }
        if (rc == 0) {
            o = sidecar_json(b, 1);
            text = o ? jsonmem_dumps(o, JSON_COMPACT) : NULL;
            json_decref(o);
            snprintf(key, sizeof key, "%s.json", b->id);
            rc = text ? s3_put_mem(c, key, text, strlen(text), err)
                      : tm_error_set(err, TM_ENOMEM, "out of memory");
            free(text);
        }
        s3_describe(c, "", where, sizeof where);
        s3_client_free(c);
        if (rc == 0) {
            if (attempt > 1)
                tm_info("backup %s: uploaded to %s after %d attempts", b->arn,
                        where, attempt);
            return 0;
        }
        tm_warn("backup %s: upload to the object store failed (it stays "
                "CREATING, the local copy is kept; retrying in %u s): %s",
                b->arn, delay_ms / 1000, err->msg);
        for (unsigned t = 0; t < delay_ms; t += 100) {
            if (atomic_load(&s->stopping))
                return tm_error_set(err, TM_EUNAVAILABLE,
                                    "the server is shutting down");
            usleep(100000);
        }
        if (delay_ms < 60000)
            delay_ms *= 2;
    }
}

static void *job_main(void *arg)
{
    struct backup_job *j = arg;
    struct backup_store *s = j->s;
    struct backup_stats st = {0};
    struct tm_error err;
    uint64_t t0 = clock_mono_ns();
    struct undo_log ul = {j->e, j->b->table_no, NULL, 0};
    struct refresher rf = {&ul, &j->rtx, &j->u, &j->nu, 0};
    int rc = 0;

    pthread_setname_np(pthread_self(), "tm-backup"); /* top -H, perf */
    sched_idle_self();
    tm_error_clear(&err);
    if (!j->upload_only) {
        rc = write_rows(&rf, j->b, &s->stopping, s->test_delay_us, 1,
                        s->zstd_level, &st, &err);
        undo_log_close(&ul);
        engine_read_end(j->rtx);
        j->rtx = NULL;
        /* the rows are on disk: the table is free again */
        engine_release_table(j->e, j->b->table_no, j->hold_lsn);
        j->held = 0;
        if (rc == 0 && s->remote) {
            j->b->uploading = 1;
            rc = write_sidecar(s, j->b, &err);
            if (rc == 0)
                set_state(s, j->b);
        }
    }
    if (rc == 0 && s->remote)
        rc = upload_until_done(s, j->b, &err);
    if (rc == 0) {
        j->b->creating = 0;
        j->b->uploading = 0;
        j->b->remote = s->remote;
        rc = write_sidecar(s, j->b, &err);
    }
    if (rc == 0) {
        struct timespec cpu = {0, 0}; /* this thread's: rows, undo */

        if (j->b->remote)
            unlink(j->b->path); /* it lives in the object store now */
        set_state(s, j->b);
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
        tm_info("backup %s of table %s: %llu items, %llu bytes in the file, "
                "%.1f ms in the background, %u snapshots, %.1f ms of CPU "
                "reading, %llu of %llu blocks at zstd's fast level%s%s",
                j->b->arn, j->b->table_name, (unsigned long long)st.rows,
                (unsigned long long)st.file_bytes,
                (double)(clock_mono_ns() - t0) / 1e6, rf.snapshots,
                (double)cpu.tv_sec * 1e3 + (double)cpu.tv_nsec / 1e6,
                (unsigned long long)st.fast_blocks,
                (unsigned long long)st.blocks,
                j->resumed ? " (resumed after a restart)" : "",
                j->b->remote ? ", uploaded to the object store" : "");
    } else if (rc == TM_EUNAVAILABLE) {
        tm_info("backup %s of table %s: stopped by the shutdown; it resumes "
                "at the next start",
                j->b->arn, j->b->table_name);
    } else {
        tm_errorf("backup %s of table %s failed and was removed: %s",
                 j->b->arn, j->b->table_name, err.msg);
        forget(s, j->b->arn);
    }
    if (j->held)
        engine_release_table(j->e, j->b->table_no, j->hold_lsn);
    return NULL;
}

static void job_free(void *p)
{
    struct backup_job *j = p;
    info_free(j->b);
    undo_free(j->u, j->nu);
    free(j);
}

static int job_start(struct backup_store *s, struct backup_job *j,
                     struct tm_error *err)
{
    int rc = joblist_start(&s->jobs, job_main, j, job_free);

    return rc ? tm_error_set(err, TM_ENOMEM, "cannot start a backup thread: "
                                             "%s",
                             strerror(rc))
              : 0;
}

/* Upload backup `b` (complete on disk) in the background; a failure to
 * start is logged, and the next start resumes it. */
static void start_upload(struct backup_store *s, struct engine *e,
                         const struct backup_info *b)
{
    struct backup_job *j = calloc(1, sizeof *j);
    struct tm_error err;

    if (j && (j->b = info_copy(b, NULL)) != NULL) {
        j->s = s;
        j->e = e;
        j->upload_only = 1;
        if (job_start(s, j, &err) == 0)
            return;
    }
    tm_warn("backup %s: could not start its upload now; it resumes at the "
            "next start", b->arn);
    if (j)
        info_free(j->b);
    free(j);
}

int backup_store_begin(struct backup_store *s, struct engine *e,
                       const char *table_name, const char *backup_name,
                       const char *region, const char *account,
                       struct arena *a, struct backup_info **out,
                       struct tm_error *err)
{
    struct backup_job *j = NULL;
    struct engine_rtx *rtx = NULL;
    struct table *t;
    uint64_t from;
    int rc;

    joblist_reap(&s->jobs);
    if ((rc = hold_table_snapshot(e, table_name, a, &t, &from, &rtx, err)))
        return rc;
    if ((j = calloc(1, sizeof *j)) == NULL ||
        (j->b = new_info(s, t, rtx, backup_name, BACKUP_USER, region,
                         account)) == NULL) {
        rc = tm_error_set(err, TM_ENOMEM, "out of memory");
        goto fail;
    }
    j->s = s;
    j->e = e;
    j->rtx = rtx;
    j->hold_lsn = from;
    j->held = 1;
    j->b->creating = 1;
    /* durable before the answer: a crash from here on resumes it */
    if ((rc = write_sidecar(s, j->b, err)))
        goto fail;
    {
        struct backup_info *c = info_copy(j->b, NULL);
        pthread_mutex_lock(&s->lock);
        rc = c ? insert(s, c) : TM_ENOMEM;
        pthread_mutex_unlock(&s->lock);
        if (rc) {
            info_free(c);
            forget(s, j->b->arn);
            rc = tm_error_set(err, TM_ENOMEM, "out of memory");
            goto fail;
        }
    }
    if ((*out = info_copy(j->b, a)) == NULL) {
        forget(s, j->b->arn);
        rc = tm_error_set(err, TM_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = job_start(s, j, err))) {
        forget(s, j->b->arn);
        goto fail;
    }
    return 0;
fail:
    engine_read_end(rtx);
    engine_release_table(e, t->no, from);
    if (j)
        info_free(j->b);
    free(j);
    return rc;
}

int backup_store_resume(struct backup_store *s, struct engine *e)
{
    struct backup_info **interrupted = NULL;
    size_t n = 0;
    int failed = 0;

    pthread_mutex_lock(&s->lock);
    if (s->n && (interrupted = calloc(s->n, sizeof *interrupted)) != NULL)
        for (size_t i = 0; i < s->n; i++)
            if (s->v[i]->creating)
                interrupted[n++] = info_copy(s->v[i], NULL);
    pthread_mutex_unlock(&s->lock);
    for (size_t i = 0; i < n; i++) {
        struct backup_info *b = interrupted[i];
        struct backup_job *j = NULL;
        struct engine_rtx *rtx = NULL;
        struct tm_error err;
        struct arena *a = arena_create(4096, 64u << 20);
        struct table *t = NULL;
        int rc;

        tm_error_clear(&err);
        if (b == NULL || a == NULL) {
            info_free(b);
            arena_destroy(a);
            failed = 1;
            continue;
        }
        if (b->uploading) { /* the rows file is complete: upload it */
            tm_info("backup %s of table %s resumes its upload", b->arn,
                    b->table_name);
            start_upload(s, e, b);
            goto next;
        }
        rc = catalog_get(engine_catalog(e), b->table_name, a, &t);
        if (rc || strcmp(t->id, b->table_id) != 0) {
            tm_errorf("backup %s could not be finished: its table %s is gone; "
                     "it was removed",
                     b->arn, b->table_name);
            forget(s, b->arn);
            goto next;
        }
        b->table_no = t->no;
        if ((rc = hold_and_snapshot(e, t->no, b->lsn, &rtx, &err)))
            goto fail;
        if ((j = calloc(1, sizeof *j)) == NULL) {
            rc = tm_error_set(&err, TM_ENOMEM, "out of memory");
            goto fail;
        }
        j->s = s;
        j->e = e;
        j->b = b;
        j->rtx = rtx;
        j->hold_lsn = b->lsn;
        j->held = 1;
        j->resumed = 1;
        if ((rc = collect_undo(e, t->no, b->lsn, rtx, &j->u, &j->nu, &err)))
            goto fail;
        tm_info("backup %s of table %s resumes: %zu rows changed since its "
                "snapshot are taken from the change log",
                b->arn, b->table_name, j->nu);
        if ((rc = job_start(s, j, &err)))
            goto fail;
        b = NULL;
        goto next;
    fail:
        tm_errorf("backup %s of table %s could not be resumed and was "
                 "removed: %s",
                 b->arn, b->table_name, err.msg);
        if (rtx && t)
            engine_release_table(e, t->no, b->lsn);
        engine_read_end(rtx);
        if (j)
            undo_free(j->u, j->nu);
        free(j);
        forget(s, b->arn);
        failed = 1;
    next:
        info_free(b);
        arena_destroy(a);
    }
    free(interrupted);
    return failed ? -1 : 0;
}

void backup_store_set_test_delay(struct backup_store *s, int us)
{
    s->test_delay_us = us;
}

void backup_store_set_level(struct backup_store *s, int level)
{
    s->zstd_level = level;
}

void backup_store_stop(struct backup_store *s)
{
    if (s == NULL)
        return;
    atomic_store(&s->stopping, 1);
    joblist_join_all(&s->jobs);
}

/* ---- the object store ------------------------------------------------------ */

static int remote_client(struct backup_store *s, struct s3_client **c,
                         struct tm_error *err)
{
    return s3_client_new(&s->s3cfg, c, err);
}

struct remote_scan {
    struct backup_store *s;
    struct s3_client *c;
    int found, added;
    struct tm_error *err;
};

static int remote_one(void *ctx, const char *key, uint64_t size)
{
    struct remote_scan *rs = ctx;
    struct backup_store *s = rs->s;
    size_t n = strlen(key);
    struct backup_info *b;
    struct buf body;
    json_error_t jerr;
    char id[256], where[1200];
    int known = 0, rc;

    (void)size;
    if (n < 6 || strcmp(key + n - 5, ".json") != 0 || strchr(key, '/') ||
        n - 5 >= sizeof id)
        return 0;
    rs->found++;
    memcpy(id, key, n - 5);
    id[n - 5] = 0;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->n && !known; i++)
        known = strcmp(s->v[i]->id, id) == 0;
    pthread_mutex_unlock(&s->lock);
    if (known)
        return 0;
    buf_init(&body, 64u << 20);
    rc = s3_get_mem(rs->c, key, &body, rs->err);
    if (rc == TM_ENOOBJECT) { /* deleted meanwhile */
        buf_free(&body);
        return 0;
    }
    if (rc) {
        buf_free(&body);
        return rc;
    }
    s3_describe(rs->c, key, where, sizeof where);
    b = parse_sidecar(s, json_loadb((const char *)body.data, body.len, 0,
                                    &jerr),
                      where);
    buf_free(&body);
    if (b == NULL || strcmp(b->id, id) != 0) {
        info_free(b);
        return 0;
    }
    b->remote = 1;
    b->creating = b->uploading = 0;
    pthread_mutex_lock(&s->lock);
    rc = insert(s, b);
    pthread_mutex_unlock(&s->lock);
    if (rc) {
        info_free(b);
        return tm_error_set(rs->err, TM_ENOMEM, "out of memory");
    }
    rs->added++;
    return 0;
}

int backup_store_set_remote(struct backup_store *s, const char *url,
                            const char *endpoint, struct tm_error *err)
{
    struct remote_scan rs = {0};
    int rc;

    if ((rc = s3_parse_url(url, &s->s3_bucket, &s->s3_prefix, err)))
        return rc;
    s->s3_url = strdup(url);
    s->s3_endpoint = endpoint ? strdup(endpoint) : NULL;
    if (s->s3_url == NULL || (endpoint && s->s3_endpoint == NULL))
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    memset(&s->s3cfg, 0, sizeof s->s3cfg);
    s->s3cfg.endpoint = s->s3_endpoint;
    s->s3cfg.bucket = s->s3_bucket;
    s->s3cfg.prefix = s->s3_prefix;
    rs.s = s;
    rs.err = err;
    if ((rc = remote_client(s, &rs.c, err)))
        return rc;
    rc = s3_ensure_bucket(rs.c, err);
    if (rc == 0)
        rc = s3_list(rs.c, "", remote_one, &rs, err);
    s3_client_free(rs.c);
    if (rc)
        return rc;
    s->remote = 1;
    tm_info("backup store %s: %d backups there, %d not known here until "
            "now",
            url, rs.found, rs.added);
    return 0;
}

const char *backup_store_where(const struct backup_store *s)
{
    return s->remote ? s->s3_url : s->dir;
}

int backup_store_fetch(struct backup_store *s, const struct backup_info *b,
                       struct tm_error *err)
{
    struct s3_client *c;
    struct stat st;
    char key[256];
    int rc;

    if (!b->remote || stat(b->path, &st) == 0)
        return 0;
    if ((rc = remote_client(s, &c, err)))
        return rc;
    snprintf(key, sizeof key, "%s.tmbak", b->id);
    rc = s3_get_file(c, key, b->path, err);
    s3_client_free(c);
    return rc;
}

/* Delete the objects of backup `b` (description first: without it the
 * backup no longer exists). */
static int remote_delete(struct backup_store *s, const struct backup_info *b,
                         struct tm_error *err)
{
    struct s3_client *c;
    char key[256];
    int rc;

    if ((rc = remote_client(s, &c, err)))
        return rc;
    snprintf(key, sizeof key, "%s.json", b->id);
    rc = s3_delete(c, key, err);
    snprintf(key, sizeof key, "%s.tmbak", b->id);
    if (rc == 0)
        rc = s3_delete(c, key, err);
    s3_client_free(c);
    return rc;
}

/* ---- lookups --------------------------------------------------------------- */

int backup_store_get(struct backup_store *s, const char *arn,
                     struct arena *a, struct backup_info **out)
{
    ssize_t i;
    int rc = TM_EBACKUPNOTFOUND;

    pthread_mutex_lock(&s->lock);
    i = find(s, arn);
    if (i >= 0) {
        *out = info_copy(s->v[i], a);
        rc = *out ? 0 : TM_ENOMEM;
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int backup_store_list(struct backup_store *s, struct arena *a,
                      struct backup_info ***out, size_t *n)
{
    int rc = 0;

    pthread_mutex_lock(&s->lock);
    *out = arena_calloc(a, s->n + 1, sizeof **out);
    if (*out == NULL)
        rc = TM_ENOMEM;
    for (size_t i = 0; rc == 0 && i < s->n; i++) {
        (*out)[i] = info_copy(s->v[i], a);
        if ((*out)[i] == NULL)
            rc = TM_ENOMEM;
    }
    *n = s->n;
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* Remove the description of `b` (already absent: done): the backup no
 * longer exists.  0, or TM_EIO naming the file and why. */
static int unlink_sidecar(struct backup_store *s, const struct backup_info *b,
                          struct tm_error *err)
{
    char path[4096];

    sidecar_path(s, b->id, path, sizeof path);
    if (fsio_unlink(path) != 0 && errno != ENOENT)
        return tm_error_set(err, TM_EIO, "cannot remove %s: %s", path,
                            strerror(errno));
    return 0;
}

/* After unlink_sidecar: make the removal durable, then remove the rows
 * file (unsynced: one a crash brings back has no description and goes at
 * the next start).  If the directory cannot be synced, a crash may bring
 * the description back, so the rows file is kept for it (and goes at the
 * next start if the description does not come back): TM_EIO. */
static int finish_removal(struct backup_store *s, const struct backup_info *b,
                          struct tm_error *err)
{
    if (fsio_fsync_dir(s->dir) != 0)
        return tm_error_set(err, TM_EIO,
                            "backup %s: its description is removed, but the "
                            "removal may not survive a crash: fsync of the "
                            "directory %s failed: %s (its rows file is kept "
                            "until the next start)",
                            b->arn, s->dir, strerror(errno));
    if (unlink(b->path) != 0 && !(b->remote && errno == ENOENT))
        tm_warn("backup store: cannot remove %s: %s", b->path,
                strerror(errno));
    return 0;
}

int backup_store_delete(struct backup_store *s, const char *arn,
                        struct arena *a, struct backup_info **out,
                        struct tm_error *err)
{
    struct backup_info *b;
    ssize_t i;
    int rc;

    pthread_mutex_lock(&s->lock);
    i = find(s, arn);
    if (i < 0) {
        pthread_mutex_unlock(&s->lock);
        return tm_error_set(err, TM_EBACKUPNOTFOUND, "Backup not found: %s",
                            arn);
    }
    b = s->v[i];
    if (b->creating) {
        pthread_mutex_unlock(&s->lock);
        return tm_error_set(err, TM_EBACKUPINUSE,
                            "Backup is being created: %s", arn);
    }
    if (b->restores > 0) {
        pthread_mutex_unlock(&s->lock);
        return tm_error_set(err, TM_EBACKUPINUSE,
                            "Backup is being used to restore table: %s", arn);
    }
    if (b->deleting) {
        pthread_mutex_unlock(&s->lock);
        return tm_error_set(err, TM_EBACKUPINUSE,
                            "Backup is being deleted: %s", arn);
    }
    if (b->remote) {
        /* the objects go outside the lock (round trips to the store);
         * `deleting` keeps a restore from taking the backup meanwhile
         * (backup_store_use) and a second delete from racing this one */
        struct backup_info *c = info_copy(b, NULL);
        b->deleting = 1;
        pthread_mutex_unlock(&s->lock);
        rc = c ? remote_delete(s, c, err)
               : tm_error_set(err, TM_ENOMEM, "out of memory");
        info_free(c);
        pthread_mutex_lock(&s->lock);
        i = find(s, arn);
        if (i >= 0)
            s->v[i]->deleting = 0;
        if (rc) {
            pthread_mutex_unlock(&s->lock);
            return rc;
        }
        if (i < 0) {
            pthread_mutex_unlock(&s->lock);
            return tm_error_set(err, TM_EBACKUPNOTFOUND,
                                "Backup not found: %s", arn);
        }
        b = s->v[i];
    }
    /* the description goes first: without it the backup no longer exists.
     * It goes under the lock, so that if it cannot, nobody saw the backup
     * missing and it stays listed and restorable (a remote one's objects
     * are gone already: a retry deletes them again, as absent, then the
     * description) */
    if ((rc = unlink_sidecar(s, b, err)) != 0) {
        pthread_mutex_unlock(&s->lock);
        tm_warn("backup %s was not deleted: %s", arn, err->msg);
        return rc;
    }
    *out = info_copy(b, a);
    memmove(s->v + i, s->v + i + 1, (s->n - (size_t)i - 1) * sizeof *s->v);
    s->n--;
    pthread_mutex_unlock(&s->lock);
    rc = finish_removal(s, b, err);
    info_free(b);
    if (rc) {
        tm_warn("%s", err->msg);
        if (a == NULL)
            info_free(*out);
        *out = NULL;
        return rc;
    }
    return *out ? 0 : tm_error_set(err, TM_ENOMEM, "out of memory");
}

int backup_store_use(struct backup_store *s, const char *arn, int delta)
{
    ssize_t i;
    int rc = 0;

    pthread_mutex_lock(&s->lock);
    i = find(s, arn);
    if (i < 0 || (delta > 0 && s->v[i]->deleting))
        rc = TM_EBACKUPNOTFOUND;
    else if (delta > 0 && (s->v[i]->restores > 0 || s->v[i]->creating))
        rc = TM_EBACKUPINUSE;
    else {
        s->v[i]->restores += delta;
        /* the last restore of a fetched copy is over: it goes */
        if (delta < 0 && s->v[i]->restores == 0 && s->v[i]->remote)
            unlink(s->v[i]->path);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int backup_store_expire(struct backup_store *s, int64_t now_ms)
{
    int n = 0;

    for (;;) {
        struct backup_info *b = NULL;
        struct tm_error err;
        pthread_mutex_lock(&s->lock);
        for (size_t i = 0; i < s->n; i++)
            if (s->v[i]->expiry_ms && s->v[i]->expiry_ms <= now_ms &&
                s->v[i]->restores == 0) {
                b = s->v[i];
                memmove(s->v + i, s->v + i + 1,
                        (s->n - i - 1) * sizeof *s->v);
                s->n--;
                break;
            }
        pthread_mutex_unlock(&s->lock);
        if (b == NULL)
            return n;
        tm_info("backup %s expired", b->arn);
        if (b->remote) {
            if (remote_delete(s, b, &err) != 0)
                tm_warn("backup %s: %s; its objects are left in %s", b->arn,
                        err.msg, s->s3_url);
        }
        if (unlink_sidecar(s, b, &err) != 0)
            tm_warn("backup %s: %s; it expires again at the next start",
                    b->arn, err.msg);
        else if (finish_removal(s, b, &err) != 0)
            tm_warn("%s", err.msg);
        info_free(b);
        n++;
    }
}
