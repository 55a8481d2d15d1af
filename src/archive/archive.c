/*
 * archive.c - the uploader: ships the change log and the PITR bases to
 * the object store, prunes the store past the window, pins the local log
 * until it is shipped.  archive.h says what it guarantees; README.md in
 * this directory says why it is built this way; archive_int.h has the
 * object names and the progress file.
 *
 * Callers: main.c (archive_open before the server listens, archive_start
 * after the PITR keeper, archive_stop before engine_close).  Below it: the
 * engine (the live log's synced point, its directory, the catalog, the
 * pin), the backup store (which bases exist, where their files are, the
 * S3 configuration) and the S3 client.
 *
 * ==== ONE ROUND ====
 *
 * Every ARCHIVE_INTERVAL_MS (1 s), or after a backoff when the last round
 * failed:
 *
 *   1. look: the local bases (BACKUP_BASE in the backup store) and the
 *      tables with PITR on.  The archive is active while there is either;
 *      idle, it ships nothing and pins nothing.  The first active round
 *      writes archive/id (archive_open only checked it): a server
 *      without PITR tables writes nothing under archive/.
 *   2. prune bases: a base in the store that is no longer local (the
 *      keeper deleted it past the window, PITR was disabled, the table
 *      deleted) is deleted there, description first.
 *   3. need_from = the smallest base LSN + 1 over the local bases and
 *      those still in the store (1 while a table with PITR on has no base
 *      yet: a base is being made, and nothing may be skipped then).
 *   4. ship the log, oldest segment first, up to the synced point
 *      (wal_synced_point: the current segment P up to offset O; every
 *      older segment is complete and never changes again).  A segment
 *      below uploaded_to is done.  A closed segment wholly older than
 *      need_from (its successor starts at or before need_from) is not
 *      needed: uploaded_to passes it without shipping it.  Otherwise its
 *      bytes [up, end) go as chunks of at most ARCHIVE_CHUNK_MAX (a closed
 *      segment of which nothing went yet: the file, whole, in one object
 *      read back after the upload), each followed by the progress file,
 *      then the merge rule; a closed segment shipped to its end moves
 *      uploaded_to to its successor.
 *   5. ship at most one new base (so that the log never waits long behind
 *      a large file): its .tmbak (read back), then its .json.
 *   6. prune the log: when need_from changed since the last time, list
 *      archive/wal/ and delete every segment wholly older than need_from.
 *   7. pin: engine_pin_archive(uploaded_to), or 0 when idle (also set
 *      right after step 1, before anything can fail).
 *
 * A failed request ends the round; the next one starts over from the
 * progress file, so every step is idempotent: a chunk put again holds the
 * same bytes (perhaps more of them), a delete of a missing object is fine.
 *
 * ==== INVARIANTS ====
 *
 *   1. The store's segments are a contiguous run of the log: segment S+1
 *      gets its first chunk only after S is complete in the store.
 *   2. Each segment in the store is covered from offset 0 to its shipped
 *      end without a hole (chunks are put at `up`, and a merge covers
 *      exactly the chunks it replaces before they are deleted).
 *   3. uploaded_to never passes a segment that is needed and not wholly in
 *      the store, and the log is pinned at uploaded_to, so no checkpoint
 *      removes such a segment.  Until the first pin (archive_open) the
 *      engine keeps the whole log (engine_options.archive_hold).
 *   4. The progress file never claims more than the store holds: it is
 *      written after the objects it describes.
 *
 * ==== OUTAGES ====
 *
 *   up --(a round fails: warn once)--> down --(a round works: info)--> up
 *
 * While down, rounds are retried after 1 s, 2 s, 4 s, ... up to
 * ARCHIVE_BACKOFF_MAX_MS; the S3 client itself tries each request twice
 * (s3.h, retries).  Nothing else changes: clients, PITR and
 * DescribeContinuousBackups never wait on the store.
 */
#include "archive/archive.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archive/archive_int.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/fsio.h"
#include "base/log.h"
#include "catalog/catalog.h"
#include "s3/s3.h"
#include "wal/wal.h"

struct archive {
    struct engine *e;
    struct backup_store *bs;
    struct s3_client *c;
    char path[4096];            /* <data>/archive.json */
    char where[1200];           /* s3://bucket/prefix/archive/ */
    struct archive_progress p;
    unsigned interval_ms;

    pthread_t th;
    int started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    _Atomic int stop;
    int final;                  /* the last round: ignore `stop` */

    int claimed;                /* archive/id names this data directory */
    int down;                   /* the last round failed */
    uint64_t down_since_ns;
    unsigned backoff_ms;
    uint64_t bytes_up, chunks_up, merges;
};

/* What a round needs to know of the server (step 1). */
struct view {
    struct backup_info **bases; /* local BACKUP_BASE, ascending creation */
    size_t nbases;
    int active;
    uint64_t need_from;
};

static int claim_now(struct archive *a, struct tm_error *err);

static int stopping(struct archive *a)
{
    return atomic_load(&a->stop) && !a->final;
}

static int save(struct archive *a, struct tm_error *err)
{
    return archive_progress_save(a->path, &a->p, err);
}

/* ---- step 1: look ------------------------------------------------------- */

static int look(struct archive *a, struct arena *ar, struct view *v,
                struct tm_error *err)
{
    struct catalog *cat = engine_catalog(a->e);
    struct backup_info **all;
    char **names;
    size_t n, nall;
    int more, pitr = 0, missing = 0;

    memset(v, 0, sizeof *v);
    if (backup_store_list(a->bs, ar, &all, &nall) != 0 ||
        catalog_names(cat, NULL, (size_t)-1, ar, &names, &n, &more) != 0)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    v->bases = all;
    for (size_t i = 0; i < nall; i++)
        if (all[i]->type == BACKUP_BASE && !all[i]->creating)
            v->bases[v->nbases++] = all[i];
    for (size_t i = 0; i < n; i++) {
        struct table *t;
        int has = 0;
        if (catalog_get(cat, names[i], ar, &t) != 0 || !t->pitr ||
            t->status != TABLE_ACTIVE)
            continue;
        pitr = 1;
        for (size_t b = 0; b < v->nbases; b++)
            has |= strcmp(v->bases[b]->table_id, t->id) == 0;
        missing |= !has;
    }
    v->active = pitr || v->nbases > 0;
    v->need_from = ARCHIVE_INF;
    return missing ? 1 : 0; /* 1: a PITR table has no base yet */
}

static void need_from(struct archive *a, struct view *v, int missing)
{
    uint64_t nf = ARCHIVE_INF;

    for (size_t i = 0; i < v->nbases; i++)
        if (v->bases[i]->lsn + 1 < nf)
            nf = v->bases[i]->lsn + 1;
    for (size_t i = 0; i < a->p.nbases; i++)
        if (a->p.bases[i].lsn + 1 < nf)
            nf = a->p.bases[i].lsn + 1;
    v->need_from = missing ? 1 : nf;
}

static uint64_t pin_of(const struct archive *a, const struct view *v)
{
    if (!v->active)
        return 0;
    return a->p.uploaded_to > 0 ? a->p.uploaded_to : 1;
}

/* ---- step 2: prune bases ------------------------------------------------ */

static int is_local(const struct view *v, const char *id)
{
    for (size_t i = 0; i < v->nbases; i++)
        if (strcmp(v->bases[i]->id, id) == 0)
            return 1;
    return 0;
}

static int prune_bases(struct archive *a, const struct view *v,
                       struct tm_error *err)
{
    size_t i = 0;

    while (i < a->p.nbases) {
        struct archive_base_rec *r = &a->p.bases[i];
        char key[ARCHIVE_KEY_MAX + 64];
        char id[sizeof r->id];
        int rc;

        if (is_local(v, r->id)) {
            i++;
            continue;
        }
        memcpy(id, r->id, sizeof id);
        if (archive_base_key(key, sizeof key, id, "json") != 0 ||
            (rc = s3_delete(a->c, key, err)) != 0 ||
            archive_base_key(key, sizeof key, id, "tmbak") != 0 ||
            (rc = s3_delete(a->c, key, err)) != 0)
            return err->code ? err->code : TM_EINTERNAL;
        archive_progress_drop_base(&a->p, id);
        if ((rc = save(a, err)) != 0)
            return rc;
        tm_info("archive: base %s pruned from %s (no longer kept here: past "
                "the recovery window, or point-in-time recovery ended)",
                id, a->where);
    }
    return 0;
}

/* ---- step 4: ship the log ----------------------------------------------- */

static int read_at(int fd, uint8_t *buf, size_t len, uint64_t off,
                   const char *path, struct tm_error *err)
{
    size_t got = 0;

    while (got < len) {
        ssize_t r =
            fsio_pread(fd, buf + got, len - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return tm_error_set(err, TM_EIO, "archive: reading %s at %" PRIu64
                                             " failed: %s",
                                path, off + got,
                                r == 0 ? "unexpected end of file"
                                       : strerror(errno));
        got += (size_t)r;
    }
    return 0;
}

/* Put bytes [off, end) of the segment open as `fd` as the chunk at `off`. */
static int put_range(struct archive *a, int fd, const char *path,
                     uint64_t seg, uint64_t off, uint64_t end,
                     struct tm_error *err)
{
    char key[ARCHIVE_KEY_MAX];
    uint8_t *buf = malloc(end - off ? end - off : 1);
    int rc;

    if (buf == NULL)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    rc = read_at(fd, buf, end - off, off, path, err);
    archive_chunk_key(key, seg, off);
    if (rc == 0)
        rc = s3_put_mem(a->c, key, buf, end - off, err);
    free(buf);
    if (rc == 0) {
        a->bytes_up += end - off;
        a->chunks_up++;
    }
    return rc;
}

/* Delete every object under segment `seg`'s prefix (a listing catches
 * leftovers of merges a crash interrupted). */
static int delete_segment(struct archive *a, uint64_t seg, size_t *count,
                          struct tm_error *err);

/* The merge rule (archive_int.h) for segment `s`, open as `fd`. */
static int merge(struct archive *a, struct archive_seg *s, int fd,
                 const char *path, struct tm_error *err)
{
    long k;

    while ((k = archive_merge_plan(s)) >= 0) {
        char key[ARCHIVE_KEY_MAX];
        uint64_t gone[ARCHIVE_MERGE_FANIN];
        size_t ngone = 0;
        int rc = put_range(a, fd, path, s->first, s->chunks[k].off, s->up,
                           err);
        if (rc)
            return rc;
        for (size_t i = (size_t)k + 1; i < s->nchunks; i++)
            gone[ngone++] = s->chunks[i].off;
        s->nchunks = (size_t)k + 1;
        s->chunks[k].level++;
        if ((rc = save(a, err)) != 0)
            return rc;
        a->merges++;
        /* the merged chunk covers these now; a delete that fails leaves
         * an object that repeats covered bytes (harmless, pruned with the
         * segment) */
        for (size_t i = 0; i < ngone; i++) {
            struct tm_error ignored;
            archive_chunk_key(key, s->first, gone[i]);
            s3_delete(a->c, key, &ignored);
        }
    }
    return 0;
}

static int ship_segment(struct archive *a, uint64_t seg, uint64_t end,
                        int closed, const char *dir, struct tm_error *err)
{
    struct archive_seg *s = archive_progress_seg(&a->p, seg, 0);
    char path[4200], key[ARCHIVE_KEY_MAX];
    int fd, rc = 0;

    if (s && !closed && s->up == end)
        return 0; /* nothing new: no file opened, no request */
    if (s == NULL)
        s = archive_progress_seg(&a->p, seg, 1);
    if (s == NULL)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    snprintf(path, sizeof path, "%s/%020" PRIu64 ".wal", dir, seg);
    fd = fsio_open(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return tm_error_set(err, TM_EIO, "archive: cannot open %s: %s",
                            path, strerror(errno));
    if (s->up > end) {
        /* the file is shorter than what went up: only a crash of the
         * machine with --sync off can do that (written, never synced);
         * the store's bytes past `end` are no longer the log's */
        size_t n = 0;
        tm_warn("archive: %s is %" PRIu64 " bytes but %" PRIu64 " were "
                "shipped (the machine crashed with --sync off?): shipping "
                "the segment again",
                path, end, s->up);
        if ((rc = delete_segment(a, seg, &n, err)) != 0)
            goto out;
        s = archive_progress_seg(&a->p, seg, 1);
        s->up = 0;
        s->nchunks = 0;
        if ((rc = save(a, err)) != 0)
            goto out;
    }
    if (closed)
        s->size = end;
    if (closed && s->up == 0 && end > 0) {
        /* nothing of it went yet: the whole file, read back */
        archive_chunk_key(key, seg, 0);
        if ((rc = s3_put_file(a->c, key, path, NULL, NULL, err)) != 0)
            goto out;
        a->bytes_up += end;
        a->chunks_up++;
        if ((rc = archive_seg_add_chunk(s, 0, 0)) != 0) {
            rc = tm_error_set(err, rc, "out of memory");
            goto out;
        }
        s->up = end;
        if ((rc = save(a, err)) != 0)
            goto out;
    }
    while (s->up < end && !stopping(a)) {
        uint64_t to = end - s->up > ARCHIVE_CHUNK_MAX
                          ? s->up + ARCHIVE_CHUNK_MAX
                          : end;
        if ((rc = put_range(a, fd, path, seg, s->up, to, err)) != 0)
            goto out;
        if ((rc = archive_seg_add_chunk(s, s->up, 0)) != 0) {
            rc = tm_error_set(err, rc, "out of memory");
            goto out;
        }
        s->up = to;
        if ((rc = save(a, err)) != 0 || (rc = merge(a, s, fd, path, err)))
            goto out;
    }
out:
    fsio_close(fd); /* read-only: nothing to lose */
    return rc;
}

static int ship_log(struct archive *a, const struct view *v,
                    struct tm_error *err)
{
    const char *dir = engine_wal_dir(a->e);
    uint64_t *segs = NULL, cur, cur_off;
    size_t n;
    int rc;

    wal_synced_point(engine_wal(a->e), &cur, &cur_off);
    if ((rc = wal_segments(dir, &segs, &n, err)) != 0)
        return rc;
    if (n > 0 && segs[0] > a->p.uploaded_to) {
        /* segments below the oldest local one went while nothing needed
         * them (the archive was idle, or never ran) */
        while (a->p.nsegs > 0 && a->p.segs[0].first < segs[0]) {
            if (a->p.segs[0].up > 0 && v->need_from <= a->p.segs[0].first)
                tm_warn("archive: log segment %020" PRIu64 ".wal was "
                        "removed before it was wholly shipped",
                        a->p.segs[0].first);
            archive_progress_drop_seg(&a->p, a->p.segs[0].first);
        }
        a->p.uploaded_to = segs[0];
        if ((rc = save(a, err)) != 0)
            goto out;
    }
    for (size_t i = 0; i < n && !stopping(a); i++) {
        uint64_t seg = segs[i], end;
        int closed = seg < cur;

        if (seg < a->p.uploaded_to)
            continue;
        if (seg > cur)
            break; /* being created by a wal_sync: not synced yet */
        if (closed && i + 1 == n)
            break; /* (cannot be: the current segment follows) */
        if (closed) {
            char path[4200];
            struct stat st;
            snprintf(path, sizeof path, "%s/%020" PRIu64 ".wal", dir, seg);
            if (stat(path, &st) != 0) {
                rc = tm_error_set(err, TM_EIO, "archive: cannot stat %s: %s",
                                  path, strerror(errno));
                goto out;
            }
            end = (uint64_t)st.st_size;
            /* i + 1 < n: a closed segment has a successor */
            if (segs[i + 1] <= v->need_from) {
                archive_progress_drop_seg(&a->p, seg);
                a->p.uploaded_to = segs[i + 1];
                if ((rc = save(a, err)) != 0)
                    goto out;
                continue; /* wholly older than every base: not needed */
            }
        } else {
            end = cur_off;
        }
        if ((rc = ship_segment(a, seg, end, closed, dir, err)) != 0)
            goto out;
        if (closed) {
            struct archive_seg *s = archive_progress_seg(&a->p, seg, 0);
            if (s == NULL || s->up != end)
                break; /* stopping */
            archive_progress_drop_seg(&a->p, seg);
            a->p.uploaded_to = segs[i + 1];
            if ((rc = save(a, err)) != 0)
                goto out;
        }
    }
out:
    free(segs);
    return rc;
}

/* ---- step 5: ship a base ------------------------------------------------ */

static int ship_base(struct archive *a, const struct view *v,
                     struct tm_error *err)
{
    for (size_t i = 0; i < v->nbases; i++) {
        const struct backup_info *b = v->bases[i];
        struct archive_base_rec *r = archive_progress_base(&a->p, b->id, 0);
        char key[ARCHIVE_KEY_MAX + 64];
        struct buf desc;
        struct stat st;
        int rc;

        if (r && r->up)
            continue;
        if (stat(b->path, &st) != 0)
            continue; /* deleted meanwhile: pruned at the next round */
        if (r == NULL && (r = archive_progress_base(&a->p, b->id, 1)) == NULL)
            return tm_error_set(err, TM_ENOMEM, "out of memory");
        r->lsn = b->lsn;
        r->created_ms = b->created_ms;
        if ((rc = save(a, err)) != 0)
            return rc;
        if (archive_base_key(key, sizeof key, b->id, "tmbak") != 0)
            return tm_error_set(err, TM_EINTERNAL, "bad backup id %s", b->id);
        if ((rc = s3_put_file(a->c, key, b->path, NULL, NULL, err)) != 0)
            return rc;
        buf_init(&desc, 16u << 20);
        rc = backup_info_to_json(b, &desc);
        archive_base_key(key, sizeof key, b->id, "json");
        if (rc == 0)
            rc = s3_put_mem(a->c, key, desc.data, desc.len, err);
        else
            tm_error_set(err, rc, "out of memory");
        buf_free(&desc);
        if (rc)
            return rc;
        a->bytes_up += (uint64_t)st.st_size;
        r = archive_progress_base(&a->p, b->id, 0);
        r->up = 1;
        if ((rc = save(a, err)) != 0)
            return rc;
        tm_info("archive: base %s of table %s (log position %" PRIu64
                ", %lld bytes) is in %s",
                b->id, b->table_name, b->lsn, (long long)st.st_size,
                a->where);
        return 0; /* one per round */
    }
    return 0;
}

/* ---- step 6: prune the log ---------------------------------------------- */

static int list_chunks(struct s3_client *c, const char *sub,
                       struct archive_listing *l, struct tm_error *err)
{
    int rc;

    memset(l, 0, sizeof *l);
    rc = s3_list(c, sub, archive_listing_add, l, err);
    if (rc == TM_ENOMEM)
        tm_error_set(err, rc, "out of memory listing the archive");
    if (rc) {
        free(l->v);
        memset(l, 0, sizeof *l);
    }
    return rc;
}

static int delete_segment(struct archive *a, uint64_t seg, size_t *count,
                          struct tm_error *err)
{
    char sub[ARCHIVE_KEY_MAX], key[ARCHIVE_KEY_MAX];
    struct archive_listing l;
    int rc;

    archive_seg_prefix(sub, seg);
    if ((rc = list_chunks(a->c, sub, &l, err)) != 0)
        return rc;
    for (size_t i = 0; i < l.n && rc == 0; i++) {
        archive_chunk_key(key, l.v[i].seg, l.v[i].off);
        rc = s3_delete(a->c, key, err);
        if (rc == 0)
            (*count)++;
    }
    free(l.v);
    return rc;
}

static int prune_log(struct archive *a, const struct view *v,
                     struct tm_error *err)
{
    struct archive_listing l;
    size_t segs = 0, objs = 0;
    uint64_t below = 0;
    int rc;

    if ((int64_t)v->need_from == a->p.pruned_for)
        return 0;
    if ((rc = list_chunks(a->c, ARCHIVE_WAL, &l, err)) != 0)
        return rc;
    /* listed in key order: segment by segment.  A segment is wholly older
     * than need_from when the next one starts at or before it. */
    for (size_t i = 0; i < l.n && rc == 0;) {
        size_t j = i;
        char key[ARCHIVE_KEY_MAX];
        while (j < l.n && l.v[j].seg == l.v[i].seg)
            j++;
        if (j == l.n || l.v[j].seg > v->need_from)
            break;
        for (size_t k = i; k < j && rc == 0; k++) {
            archive_chunk_key(key, l.v[k].seg, l.v[k].off);
            rc = s3_delete(a->c, key, err);
            objs += rc == 0;
        }
        segs++;
        below = l.v[j].seg;
        i = j;
    }
    free(l.v);
    if (rc)
        return rc;
    a->p.pruned_for = (int64_t)v->need_from;
    if ((rc = save(a, err)) != 0)
        return rc;
    if (segs > 0)
        tm_info("archive: pruned %zu log segment%s (%zu object%s, records "
                "before %" PRIu64 ") from %s: no base there needs them",
                segs, segs == 1 ? "" : "s", objs, objs == 1 ? "" : "s",
                below, a->where);
    return 0;
}

/* ---- the round ---------------------------------------------------------- */

static int round_once(struct archive *a, struct tm_error *err)
{
    struct arena *ar = arena_create(65536, 1u << 30);
    struct view v;
    int rc, missing;

    if (ar == NULL)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    missing = look(a, ar, &v, err);
    if (missing < 0) {
        rc = missing;
        goto out;
    }
    /* the pin first: it depends on the progress file only, and must hold
     * from the moment the archive is active, whatever the store does */
    engine_pin_archive(a->e, pin_of(a, &v));
    if (!v.active && a->p.nbases == 0) {
        rc = 0;
        goto out;
    }
    if ((rc = claim_now(a, err)) != 0 ||
        (rc = prune_bases(a, &v, err)) != 0)
        goto out;
    need_from(a, &v, missing);
    if (v.active && (rc = ship_log(a, &v, err)) != 0)
        goto out;
    engine_pin_archive(a->e, pin_of(a, &v));
    if (v.active && !stopping(a) && (rc = ship_base(a, &v, err)) != 0)
        goto out;
    if (!stopping(a))
        rc = prune_log(a, &v, err);
out:
    if (rc == 0)
        engine_pin_archive(a->e, pin_of(a, &v));
    arena_destroy(ar);
    return rc;
}

static void note(struct archive *a, int rc, const struct tm_error *err)
{
    if (rc == 0) {
        if (a->down)
            tm_info("archive: %s is reachable again after %.0f s; "
                    "shipping resumed from where it stopped",
                    a->where,
                    (double)(clock_mono_ns() - a->down_since_ns) / 1e9);
        a->down = 0;
        a->backoff_ms = 0;
        return;
    }
    if (!a->down) {
        tm_warn("archive: shipping to %s failed: %s; retrying with backoff "
                "(up to %d s apart) until it works; the local log is kept "
                "until it is shipped, and point-in-time recovery goes on "
                "from it",
                a->where, err->msg, ARCHIVE_BACKOFF_MAX_MS / 1000);
        a->down = 1;
        a->down_since_ns = clock_mono_ns();
        a->backoff_ms = 1000;
        return;
    }
    a->backoff_ms = a->backoff_ms * 2 > ARCHIVE_BACKOFF_MAX_MS
                        ? ARCHIVE_BACKOFF_MAX_MS
                        : a->backoff_ms * 2;
}

static void *uploader_main(void *arg)
{
    struct archive *a = arg;

    pthread_setname_np(pthread_self(), "tm-archive"); /* top -H, perf */
    for (;;) {
        struct tm_error err = {0};
        struct timespec ts;
        unsigned wait_ms;
        int rc = round_once(a, &err);

        note(a, rc, &err);
        wait_ms = a->down ? a->backoff_ms : a->interval_ms;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += wait_ms / 1000;
        ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&a->lock);
        while (!atomic_load(&a->stop) &&
               pthread_cond_timedwait(&a->cond, &a->lock, &ts) == 0)
            ;
        pthread_mutex_unlock(&a->lock);
        if (atomic_load(&a->stop))
            break;
    }
    if (!a->down) {
        /* a clean stop: ship what the log holds by now */
        struct tm_error err = {0};
        a->final = 1;
        if (round_once(a, &err) != 0)
            tm_warn("archive: the last round before stopping failed: %s; "
                    "the rest goes at the next start",
                    err.msg);
    }
    return NULL;
}

/* ---- open, start, stop -------------------------------------------------- */

static void new_id(char out[40])
{
    uint8_t r[8];
    uint64_t t = clock_mono_ns() ^ (uint64_t)getpid();

    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        memcpy(r, &t, sizeof r);
    for (int i = 0; i < 8; i++)
        snprintf(out + 2 * i, 3, "%02x", r[i]);
}

static int any_object(void *ctx, const char *key, uint64_t size)
{
    (void)key;
    (void)size;
    *(int *)ctx = 1;
    return 1; /* stop at the first */
}

/* Check, without writing anything, that archive/ is this data
 * directory's or unclaimed (a->claimed says which).  The claim itself
 * (claim_now) waits for the first round with something to archive, so
 * that a server without PITR tables never writes under archive/. */
static int check_owner(struct archive *a, int fresh, struct tm_error *err)
{
    struct buf body;
    int rc, any = 0;

    buf_init(&body, 4096);
    rc = s3_get_mem(a->c, ARCHIVE_ID_KEY, &body, err);
    if (rc == 0) {
        int mine = body.len == strlen(a->p.id) &&
                   memcmp(body.data, a->p.id, body.len) == 0;
        char theirs[64];
        snprintf(theirs, sizeof theirs, "%.*s",
                 (int)(body.len < 40 ? body.len : 40),
                 (const char *)body.data);
        buf_free(&body);
        if (mine) {
            a->claimed = 1;
            return 0;
        }
        return tm_error_set(err, TM_EINUSE,
                            "the archive %s belongs to another data directory"
                            " (its id is %s, this one's is %s), whose log "
                            "this server's would overwrite.  Give this server"
                            " another --backup-store prefix, or move that "
                            "archive away if nothing needs it any more",
                            a->where, theirs, a->p.id);
    }
    buf_free(&body);
    if (rc != TM_ENOOBJECT)
        return rc;
    rc = s3_list(a->c, "archive/", any_object, &any, err);
    if (rc != 0 && rc != 1)
        return rc;
    if (any && fresh)
        return tm_error_set(err, TM_EINUSE,
                            "the archive %s holds objects but no owner "
                            "(archive/id), and this data directory has never "
                            "written it.  Give this server another "
                            "--backup-store prefix, or move that archive "
                            "away if nothing needs it any more",
                            a->where);
    if (!any && !fresh &&
        (a->p.uploaded_to > 0 || a->p.nsegs > 0 || a->p.nbases > 0)) {
        tm_warn("archive: %s is empty although %s says it was written: "
                "shipping again what the local log and bases hold",
                a->where, a->path);
        for (size_t i = 0; i < a->p.nsegs; i++)
            free(a->p.segs[i].chunks);
        a->p.nsegs = 0;
        a->p.nbases = 0;
        a->p.uploaded_to = 0;
        a->p.pruned_for = 0;
        if ((rc = save(a, err)) != 0)
            return rc;
    }
    return 0;
}

/* Write archive/id (before the first object of this data directory),
 * unless another data directory claimed the archive since archive_open
 * (then every round fails, saying so, and nothing is shipped). */
static int claim_now(struct archive *a, struct tm_error *err)
{
    int rc;

    if (a->claimed)
        return 0;
    if ((rc = check_owner(a, 0, err)) != 0 || a->claimed)
        return rc;
    rc = s3_put_mem(a->c, ARCHIVE_ID_KEY, a->p.id, strlen(a->p.id), err);
    if (rc == 0)
        a->claimed = 1;
    return rc;
}

int archive_open(struct engine *e, struct backup_store *bs,
                 const char *data_dir, struct archive **out,
                 struct tm_error *err)
{
    const struct s3_config *cfg = backup_store_s3_config(bs);
    const char *url = backup_store_where(bs);
    struct s3_config c;
    struct archive *a;
    struct arena *ar;
    struct view v;
    int rc, fresh = 0, missing;

    *out = NULL;
    if (cfg == NULL)
        return 0;
    if ((a = calloc(1, sizeof *a)) == NULL)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    a->e = e;
    a->bs = bs;
    a->interval_ms = ARCHIVE_INTERVAL_MS;
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->cond, NULL);
    snprintf(a->path, sizeof a->path, "%s/archive.json", data_dir);
    c = *cfg;
    c.max_attempts = 2;
    c.timeout_s = 10;
    if ((rc = s3_client_new(&c, &a->c, err)) != 0)
        goto fail;
    s3_describe(a->c, "archive/", a->where, sizeof a->where);
    rc = archive_progress_load(a->path, &a->p, err);
    if (rc == 0 && strcmp(a->p.store, url) != 0) {
        tm_warn("archive: %s was kept for %s, and this server archives to "
                "%s: starting a new archive there",
                a->path, a->p.store, url);
        archive_progress_free(&a->p);
        rc = TM_ENOTFOUND;
    }
    if (rc == TM_ENOTFOUND) {
        memset(&a->p, 0, sizeof a->p);
        snprintf(a->p.store, sizeof a->p.store, "%s", url);
        new_id(a->p.id);
        fresh = 1;
        rc = save(a, err); /* the claim is ours before anything goes up */
    } else if (rc == TM_ECORRUPT) {
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err->msg);
        tm_error_set(err, rc,
                     "%s.  It records what of the log is in %s; restore it "
                     "from a copy, or start this server with another "
                     "--backup-store prefix (a new archive)",
                     why, a->where);
    }
    if (rc == 0)
        rc = check_owner(a, fresh, err);
    if (rc)
        goto fail;
    /* the first pin, before any checkpoint may act on the log */
    if ((ar = arena_create(65536, 1u << 30)) == NULL) {
        rc = tm_error_set(err, TM_ENOMEM, "out of memory");
        goto fail;
    }
    missing = look(a, ar, &v, err);
    if (missing >= 0)
        engine_pin_archive(e, pin_of(a, &v));
    arena_destroy(ar);
    tm_info("archive: %s (id %s), progress in %s; log shipped below record "
            "%" PRIu64 ", %zu bases there",
            a->where, a->p.id, a->path, a->p.uploaded_to, a->p.nbases);
    *out = a;
    return 0;
fail:
    s3_client_free(a->c);
    archive_progress_free(&a->p);
    pthread_mutex_destroy(&a->lock);
    pthread_cond_destroy(&a->cond);
    free(a);
    return rc;
}

int archive_start(struct archive *a, unsigned interval_ms)
{
    if (a == NULL)
        return 0;
    if (interval_ms)
        a->interval_ms = interval_ms;
    if (pthread_create(&a->th, NULL, uploader_main, a) != 0)
        return TM_ENOMEM;
    a->started = 1;
    return 0;
}

void archive_stop(struct archive *a)
{
    if (a == NULL)
        return;
    if (a->started) {
        pthread_mutex_lock(&a->lock);
        atomic_store(&a->stop, 1);
        pthread_cond_signal(&a->cond);
        pthread_mutex_unlock(&a->lock);
        pthread_join(a->th, NULL);
        tm_info("archive: stopped; %llu chunks (%llu bytes) shipped, %llu "
                "merges, since the start",
                (unsigned long long)a->chunks_up,
                (unsigned long long)a->bytes_up,
                (unsigned long long)a->merges);
    }
    s3_client_free(a->c);
    archive_progress_free(&a->p);
    pthread_mutex_destroy(&a->lock);
    pthread_cond_destroy(&a->cond);
    free(a);
}
