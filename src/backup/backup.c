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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/backup_format.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "catalog/catalog.h"

struct backup_store {
    char *dir;
    pthread_mutex_t lock;
    struct backup_info **v;   /* ascending creation time */
    size_t n, cap;
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

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;
    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

static int write_sidecar(struct backup_store *s, const struct backup_info *b,
                         struct tm_error *err)
{
    char path[4096], tmp[4200];
    json_t *o, *table;
    FILE *f;
    int ok;

    table = json_loads(b->table_json, 0, NULL);
    o = json_pack("{s:i, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:s,"
                  " s:s, s:s, s:o}",
                  "v", 1, "arn", b->arn, "id", b->id, "name", b->name, "type",
                  type_names[b->type], "created", (json_int_t)b->created_ms,
                  "expiry", (json_int_t)b->expiry_ms, "size",
                  (json_int_t)b->size_bytes, "items", (json_int_t)b->items,
                  "lsn", (json_int_t)b->lsn, "table_name", b->table_name,
                  "table_id", b->table_id, "table_arn", b->table_arn,
                  "table", table ? table : json_object());
    if (o == NULL)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    snprintf(path, sizeof path, "%s/%s.json", s->dir, b->id);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    f = fopen(tmp, "w");
    ok = f && json_dumpf(o, f, JSON_COMPACT) == 0 && fflush(f) == 0 &&
         fsync(fileno(f)) == 0;
    if (f)
        ok = (fclose(f) == 0) && ok;
    json_decref(o);
    if (!ok || rename(tmp, path) != 0 || fsync_dir(s->dir) != 0) {
        int e = errno;
        unlink(tmp);
        return tm_error_set(err, TM_EIO, "cannot write %s: %s", path,
                            strerror(e));
    }
    return 0;
}

static struct backup_info *read_sidecar(struct backup_store *s,
                                        const char *path)
{
    json_error_t jerr;
    json_t *o = json_load_file(path, 0, &jerr), *table;
    struct backup_info *b = NULL;
    const char *arn, *id, *name, *type, *tn, *tid, *tarn;
    json_int_t created, expiry, size, items, lsn;
    char file[4096];

    if (o == NULL ||
        json_unpack(o, "{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:s,"
                       " s:s, s:s, s:o}",
                    "arn", &arn, "id", &id, "name", &name, "type", &type,
                    "created", &created, "expiry", &expiry, "size", &size,
                    "items", &items, "lsn", &lsn, "table_name", &tn,
                    "table_id", &tid, "table_arn", &tarn, "table",
                    &table) != 0) {
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
    snprintf(file, sizeof file, "%s/%s.tmbak", s->dir, id);
    b->arn = strdup(arn);
    b->id = strdup(id);
    b->name = strdup(name);
    b->table_name = strdup(tn);
    b->table_id = strdup(tid);
    b->table_arn = strdup(tarn);
    b->table_json = json_dumps(table, JSON_COMPACT);
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
    if (!readonly && mkdir(dir, 0755) != 0 && errno != EEXIST) {
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
                unlink(path); /* a backup a crash interrupted */
            continue;
        }
        if (n > 5 && strcmp(de->d_name + n - 5, ".json") == 0) {
            struct backup_info *b = read_sidecar(s, path);
            struct stat st;
            if (b == NULL)
                continue;
            if (stat(b->path, &st) != 0) {
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
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* ---- create ---------------------------------------------------------------- */

int backup_store_create(struct backup_store *s, struct engine *e,
                        const char *table_name, const char *backup_name,
                        enum backup_type type, const char *region,
                        const char *account, struct arena *a,
                        struct backup_info **out, struct tm_error *err)
{
    struct backup_info *b = calloc(1, sizeof *b);
    struct engine_rtx *rtx = NULL;
    struct engine_cursor *cur = NULL;
    struct backup_writer *w = NULL;
    struct backup_meta m = {0};
    struct backup_stats st;
    struct table *t;
    struct buf tj;
    uint8_t rnd[4];
    char id[64];
    const uint8_t *k, *it;
    size_t kl, il;
    int rc, got;
    uint64_t t0 = clock_mono_ns();

    buf_init(&tj, 16u << 20);
    if (b == NULL) {
        rc = tm_error_set(err, TM_ENOMEM, "out of memory");
        goto out;
    }
    /* the snapshot first: the table and its rows as of this moment */
    if ((rc = engine_read_begin(e, &rtx))) {
        rc = tm_error_set(err, rc, "could not open a read snapshot");
        goto out;
    }
    rc = catalog_get(engine_catalog(e), table_name, a, &t);
    if (rc || t->status == TABLE_CREATING || t->restoring) {
        rc = tm_error_set(err, TM_ETABLENOTFOUND, "Table not found: %s",
                          table_name);
        goto out;
    }
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
    {
        char arn[1024];
        snprintf(arn, sizeof arn, "arn:aws:dynamodb:%s:%s:table/%s", region,
                 account, t->name);
        b->table_arn = strdup(arn);
        snprintf(arn, sizeof arn, "arn:aws:dynamodb:%s:%s:table/%s/backup/%s",
                 region, account, t->name, id);
        b->arn = strdup(arn);
    }
    {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.tmbak", s->dir, id);
        b->path = strdup(path);
    }
    if ((rc = table_to_json(t, &tj)) == 0)
        rc = buf_putc(&tj, 0);
    b->table_json = rc == 0 ? strdup((char *)tj.data) : NULL;
    if (!b->id || !b->name || !b->table_name || !b->table_id ||
        !b->table_arn || !b->arn || !b->path || !b->table_json) {
        rc = tm_error_set(err, TM_ENOMEM, "out of memory");
        goto out;
    }
    b->items = atomic_load(&t->item_count);
    b->size_bytes = atomic_load(&t->size_bytes);
    b->lsn = engine_read_lsn(rtx);
    m.table_json = b->table_json;
    m.lsn = b->lsn;
    m.created_ms = b->created_ms;
    m.backup_arn = b->arn;
    m.table_arn = b->table_arn;
    m.table_id = b->table_id;
    m.backup_name = b->name;
    m.backup_type = (int)type;
    if ((rc = backup_writer_open(b->path, &m, &w, err)))
        goto out;
    if ((rc = engine_cursor_open(rtx, t->no, &cur)) ||
        (rc = engine_cursor_seek(cur, NULL, 0, 0, 0))) {
        rc = tm_error_set(err, rc, "reading table %s failed", t->name);
        goto out;
    }
    while ((got = engine_cursor_next(cur, &k, &kl, &it, &il)) == 1)
        if ((rc = backup_writer_add(w, k, kl, it, il, err)))
            goto out;
    if (got < 0) {
        rc = tm_error_set(err, got, "reading table %s failed", t->name);
        goto out;
    }
    engine_cursor_close(cur);
    cur = NULL;
    engine_read_end(rtx);
    rtx = NULL;
    rc = backup_writer_finish(w, &st, err);
    w = NULL;
    if (rc)
        goto out;
    if ((rc = write_sidecar(s, b, err))) {
        unlink(b->path);
        goto out;
    }
    tm_info("backup %s of table %s: %llu items, %llu bytes in the file, "
            "%.1f ms",
            b->arn, b->table_name, (unsigned long long)st.rows,
            (unsigned long long)st.file_bytes,
            (double)(clock_mono_ns() - t0) / 1e6);
    *out = info_copy(b, a);
    pthread_mutex_lock(&s->lock);
    rc = insert(s, b);
    pthread_mutex_unlock(&s->lock);
    if (rc == 0)
        b = NULL;
    else
        rc = tm_error_set(err, rc, "out of memory");
out:
    engine_cursor_close(cur);
    engine_read_end(rtx);
    backup_writer_abort(w);
    buf_free(&tj);
    info_free(b);
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

static void remove_files(struct backup_store *s, const struct backup_info *b)
{
    char path[4096];

    snprintf(path, sizeof path, "%s/%s.json", s->dir, b->id);
    if (unlink(path) != 0)
        tm_warn("backup store: cannot remove %s: %s", path, strerror(errno));
    if (unlink(b->path) != 0)
        tm_warn("backup store: cannot remove %s: %s", b->path,
                strerror(errno));
    fsync_dir(s->dir);
}

int backup_store_delete(struct backup_store *s, const char *arn,
                        struct arena *a, struct backup_info **out,
                        struct tm_error *err)
{
    struct backup_info *b;
    ssize_t i;

    pthread_mutex_lock(&s->lock);
    i = find(s, arn);
    if (i < 0) {
        pthread_mutex_unlock(&s->lock);
        return tm_error_set(err, TM_EBACKUPNOTFOUND, "Backup not found: %s",
                            arn);
    }
    b = s->v[i];
    if (b->restores > 0) {
        pthread_mutex_unlock(&s->lock);
        return tm_error_set(err, TM_EBACKUPINUSE,
                            "Backup is being used to restore table: %s", arn);
    }
    *out = info_copy(b, a);
    memmove(s->v + i, s->v + i + 1, (s->n - (size_t)i - 1) * sizeof *s->v);
    s->n--;
    pthread_mutex_unlock(&s->lock);
    /* the description goes first: without it the backup no longer exists */
    remove_files(s, b);
    info_free(b);
    return *out ? 0 : tm_error_set(err, TM_ENOMEM, "out of memory");
}

int backup_store_use(struct backup_store *s, const char *arn, int delta)
{
    ssize_t i;
    int rc = 0;

    pthread_mutex_lock(&s->lock);
    i = find(s, arn);
    if (i < 0)
        rc = TM_EBACKUPNOTFOUND;
    else if (delta > 0 && s->v[i]->restores > 0)
        rc = TM_EBACKUPINUSE;
    else
        s->v[i]->restores += delta;
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int backup_store_expire(struct backup_store *s, int64_t now_ms)
{
    int n = 0;

    for (;;) {
        struct backup_info *b = NULL;
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
        remove_files(s, b);
        info_free(b);
        n++;
    }
}
