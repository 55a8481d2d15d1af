/*
 * state.c - the archive's pure parts: object names, the progress file,
 * the chunk merge rule and the reassembly plan (archive_int.h describes
 * each).  No network here, and no thread: the uploader (archive.c) and
 * the reading side (fetch.c) call these, and tests/unit/test_archive.c
 * checks them directly.
 *
 * The progress file is small (the segments being uploaded, usually one,
 * and the bases of the window) and is replaced whole, atomically, after
 * every step that changes what the store holds: a crash leaves either the
 * old or the new file, and the old one only ever understates what was
 * uploaded, so the worst a crash costs is uploading a chunk again.  Its
 * file calls go through the file layer (src/base/fsio.h), so that tests
 * can make each of them fail.
 */
#include "archive/archive_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fsio.h"
#include "base/jsonmem.h"

/* ---- object names ------------------------------------------------------ */

void archive_chunk_key(char *out, uint64_t seg_first, uint64_t off)
{
    snprintf(out, ARCHIVE_KEY_MAX,
             ARCHIVE_WAL "%020" PRIu64 ".wal/%020" PRIu64, seg_first, off);
}

void archive_seg_prefix(char *out, uint64_t seg_first)
{
    snprintf(out, ARCHIVE_KEY_MAX, ARCHIVE_WAL "%020" PRIu64 ".wal/",
             seg_first);
}

/* Exactly `n` decimal digits at `p` into *v. */
static int digits(const char *p, size_t n, uint64_t *v)
{
    uint64_t x = 0;

    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        if (x > (UINT64_MAX - (uint64_t)(p[i] - '0')) / 10)
            return -1;
        x = x * 10 + (uint64_t)(p[i] - '0');
    }
    *v = x;
    return 0;
}

int archive_listing_add(void *ctx, const char *key, uint64_t size)
{
    struct archive_listing *l = ctx;
    uint64_t seg, off;

    if (archive_chunk_parse(key, &seg, &off) != 0)
        return 0;
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 256;
        struct archive_obj *nv = realloc(l->v, ncap * sizeof *nv);
        if (nv == NULL)
            return TM_ENOMEM;
        l->v = nv;
        l->cap = ncap;
    }
    l->v[l->n].seg = seg;
    l->v[l->n].off = off;
    l->v[l->n].size = size;
    l->n++;
    return 0;
}

int archive_chunk_parse(const char *key, uint64_t *seg_first, uint64_t *off)
{
    size_t pl = strlen(ARCHIVE_WAL);

    /* <prefix><20 digits>.wal/<20 digits> */
    if (strncmp(key, ARCHIVE_WAL, pl) != 0 || strlen(key) != pl + 45)
        return -1;
    key += pl;
    if (digits(key, 20, seg_first) != 0 || memcmp(key + 20, ".wal/", 5) ||
        digits(key + 25, 20, off) != 0)
        return -1;
    return 0;
}

int archive_base_key(char *out, size_t n, const char *id, const char *ext)
{
    int w;

    if (id[0] == '\0' || strchr(id, '/') != NULL)
        return -1;
    w = snprintf(out, n, ARCHIVE_BASES "%s.%s", id, ext);
    return w > 0 && (size_t)w < n ? 0 : -1;
}

/* ---- the progress file ------------------------------------------------- */

void archive_progress_free(struct archive_progress *p)
{
    for (size_t i = 0; i < p->nsegs; i++)
        free(p->segs[i].chunks);
    free(p->segs);
    free(p->bases);
    memset(p, 0, sizeof *p);
}

struct archive_seg *archive_progress_seg(struct archive_progress *p,
                                         uint64_t first, int create)
{
    size_t i;

    for (i = 0; i < p->nsegs && p->segs[i].first < first; i++)
        ;
    if (i < p->nsegs && p->segs[i].first == first)
        return &p->segs[i];
    if (!create)
        return NULL;
    if (p->nsegs == p->segcap) {
        size_t ncap = p->segcap ? p->segcap * 2 : 4;
        struct archive_seg *nv = realloc(p->segs, ncap * sizeof *nv);
        if (nv == NULL)
            return NULL;
        p->segs = nv;
        p->segcap = ncap;
    }
    memmove(p->segs + i + 1, p->segs + i, (p->nsegs - i) * sizeof *p->segs);
    memset(&p->segs[i], 0, sizeof p->segs[i]);
    p->segs[i].first = first;
    p->nsegs++;
    return &p->segs[i];
}

void archive_progress_drop_seg(struct archive_progress *p, uint64_t first)
{
    for (size_t i = 0; i < p->nsegs; i++)
        if (p->segs[i].first == first) {
            free(p->segs[i].chunks);
            memmove(p->segs + i, p->segs + i + 1,
                    (p->nsegs - i - 1) * sizeof *p->segs);
            p->nsegs--;
            return;
        }
}

struct archive_base_rec *archive_progress_base(struct archive_progress *p,
                                               const char *id, int create)
{
    struct archive_base_rec *b;

    for (size_t i = 0; i < p->nbases; i++)
        if (strcmp(p->bases[i].id, id) == 0)
            return &p->bases[i];
    if (!create || strlen(id) >= sizeof p->bases[0].id)
        return NULL;
    if (p->nbases == p->basecap) {
        size_t ncap = p->basecap ? p->basecap * 2 : 8;
        struct archive_base_rec *nv = realloc(p->bases, ncap * sizeof *nv);
        if (nv == NULL)
            return NULL;
        p->bases = nv;
        p->basecap = ncap;
    }
    b = &p->bases[p->nbases++];
    memset(b, 0, sizeof *b);
    memcpy(b->id, id, strlen(id) + 1);
    return b;
}

void archive_progress_drop_base(struct archive_progress *p, const char *id)
{
    for (size_t i = 0; i < p->nbases; i++)
        if (strcmp(p->bases[i].id, id) == 0) {
            memmove(p->bases + i, p->bases + i + 1,
                    (p->nbases - i - 1) * sizeof *p->bases);
            p->nbases--;
            return;
        }
}

int archive_seg_add_chunk(struct archive_seg *s, uint64_t off, int level)
{
    if (s->nchunks == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 8;
        struct archive_chunk *nv = realloc(s->chunks, ncap * sizeof *nv);
        if (nv == NULL)
            return TM_ENOMEM;
        s->chunks = nv;
        s->cap = ncap;
    }
    s->chunks[s->nchunks].off = off;
    s->chunks[s->nchunks].level = level;
    s->nchunks++;
    return 0;
}

static int bad_file(struct tm_error *err, const char *path, const char *why)
{
    return tm_error_set(err, TM_ECORRUPT,
                        "the archive's progress file %s is damaged (%s)",
                        path, why);
}

static uint64_t u64_of(json_t *o, const char *name, int *ok)
{
    json_t *v = json_object_get(o, name);

    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        *ok = 0;
        return 0;
    }
    return (uint64_t)json_integer_value(v);
}

int archive_progress_load(const char *path, struct archive_progress *p,
                          struct tm_error *err)
{
    json_error_t jerr;
    json_t *o, *segs, *bases, *e;
    const char *store, *id;
    size_t i;
    int ok = 1, rc = 0;

    memset(p, 0, sizeof *p);
    if (access(path, F_OK) != 0) {
        if (errno == ENOENT)
            return TM_ENOTFOUND;
        return tm_error_set(err, TM_EIO, "cannot read %s: %s", path,
                            strerror(errno));
    }
    o = json_load_file(path, 0, &jerr);
    if (o == NULL)
        return bad_file(err, path, jerr.text);
    store = json_string_value(json_object_get(o, "store"));
    id = json_string_value(json_object_get(o, "id"));
    segs = json_object_get(o, "segments");
    bases = json_object_get(o, "bases");
    if (json_integer_value(json_object_get(o, "v")) != 1 || store == NULL ||
        id == NULL || !json_is_array(segs) || !json_is_array(bases) ||
        strlen(store) >= sizeof p->store || strlen(id) >= sizeof p->id) {
        rc = bad_file(err, path, "not a version 1 progress object");
        goto out;
    }
    memcpy(p->store, store, strlen(store) + 1);
    memcpy(p->id, id, strlen(id) + 1);
    p->uploaded_to = u64_of(o, "uploaded_to", &ok);
    p->pruned_for = (int64_t)u64_of(o, "pruned_for", &ok);
    json_array_foreach(segs, i, e) {
        json_t *chunks = json_object_get(e, "chunks"), *c;
        struct archive_seg *s;
        uint64_t first = u64_of(e, "first", &ok);
        size_t k;

        if (!ok || !json_is_array(chunks) ||
            archive_progress_seg(p, first, 0) != NULL) {
            rc = bad_file(err, path, "a bad segment entry");
            goto out;
        }
        if ((s = archive_progress_seg(p, first, 1)) == NULL) {
            rc = tm_error_set(err, TM_ENOMEM, "out of memory");
            goto out;
        }
        s->up = u64_of(e, "up", &ok);
        s->size = u64_of(e, "size", &ok);
        json_array_foreach(chunks, k, c) {
            json_t *off = json_array_get(c, 0), *lv = json_array_get(c, 1);
            if (!json_is_integer(off) || !json_is_integer(lv) ||
                json_integer_value(off) < 0 ||
                (uint64_t)json_integer_value(off) >= s->up ||
                (k > 0 && (uint64_t)json_integer_value(off) <=
                              s->chunks[k - 1].off)) {
                rc = bad_file(err, path, "a bad chunk entry");
                goto out;
            }
            if (archive_seg_add_chunk(s, (uint64_t)json_integer_value(off),
                                      (int)json_integer_value(lv)) != 0) {
                rc = tm_error_set(err, TM_ENOMEM, "out of memory");
                goto out;
            }
        }
        if (!ok || (s->up > 0 && (s->nchunks == 0 || s->chunks[0].off != 0))) {
            rc = bad_file(err, path, "a segment's chunks do not start at 0");
            goto out;
        }
    }
    json_array_foreach(bases, i, e) {
        const char *bid = json_string_value(json_object_get(e, "id"));
        struct archive_base_rec *b;

        if (bid == NULL || archive_progress_base(p, bid, 0) != NULL ||
            (b = archive_progress_base(p, bid, 1)) == NULL) {
            rc = bad_file(err, path, "a bad base entry");
            goto out;
        }
        b->lsn = u64_of(e, "lsn", &ok);
        b->created_ms = (int64_t)u64_of(e, "created", &ok);
        b->up = json_is_true(json_object_get(e, "up"));
    }
    if (!ok)
        rc = bad_file(err, path, "a number is missing or negative");
out:
    json_decref(o);
    return rc;
}

int archive_progress_save(const char *path, const struct archive_progress *p,
                          struct tm_error *err)
{
    json_t *o = json_object(), *segs = json_array(), *bases = json_array();
    char tmp[4200], dir[4096];
    char *text = NULL, *slash;
    int fd = -1, rc = 0;
    size_t len;

    if (o == NULL || segs == NULL || bases == NULL)
        goto nomem;
    json_object_set_new(o, "v", json_integer(1));
    json_object_set_new(o, "store", json_string(p->store));
    json_object_set_new(o, "id", json_string(p->id));
    json_object_set_new(o, "uploaded_to", json_integer((json_int_t)
                                                           p->uploaded_to));
    json_object_set_new(o, "pruned_for", json_integer(p->pruned_for));
    for (size_t i = 0; i < p->nsegs; i++) {
        const struct archive_seg *s = &p->segs[i];
        json_t *chunks = json_array();
        for (size_t k = 0; chunks && k < s->nchunks; k++)
            json_array_append_new(chunks,
                                  json_pack("[I,i]",
                                            (json_int_t)s->chunks[k].off,
                                            s->chunks[k].level));
        json_array_append_new(segs, json_pack("{s:I,s:I,s:I,s:o}", "first",
                                              (json_int_t)s->first, "up",
                                              (json_int_t)s->up, "size",
                                              (json_int_t)s->size, "chunks",
                                              chunks ? chunks
                                                     : json_array()));
    }
    for (size_t i = 0; i < p->nbases; i++)
        json_array_append_new(bases,
                              json_pack("{s:s,s:I,s:I,s:b}", "id",
                                        p->bases[i].id, "lsn",
                                        (json_int_t)p->bases[i].lsn,
                                        "created",
                                        (json_int_t)p->bases[i].created_ms,
                                        "up", p->bases[i].up));
    json_object_set(o, "segments", segs);
    json_object_set(o, "bases", bases);
    text = jsonmem_dumps(o, JSON_COMPACT);
    if (text == NULL)
        goto nomem;
    len = strlen(text);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    snprintf(dir, sizeof dir, "%s", path);
    slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    /* every call through the file layer, so that tests can make each
     * fail (src/base/fsio.h); a descriptor is closed exactly once, also
     * on the error paths (closing it again could close a file another
     * thread has just opened under the same number) */
    fd = fsio_open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        goto failed;
    if (fsio_write_full(fd, text, len) != 0 || fsio_fsync(fd) != 0) {
        int e = errno;
        fsio_close(fd);
        errno = e;
        goto failed;
    }
    if (fsio_close(fd) != 0 || fsio_rename(tmp, path) != 0)
        goto failed;
    if (fsio_fsync_dir(dir) != 0)
        rc = tm_error_set(err, TM_EIO, "cannot sync the directory %s: %s",
                          dir, strerror(errno));
    goto out;
failed:
    {
        int e = errno;
        fsio_unlink(tmp);
        rc = tm_error_set(err, TM_EIO, "cannot write %s: %s", path,
                          strerror(e));
    }
    goto out;
nomem:
    rc = tm_error_set(err, TM_ENOMEM, "out of memory");
out:
    free(text);
    json_decref(segs);
    json_decref(bases);
    json_decref(o);
    return rc;
}

/* ---- the merge rule ----------------------------------------------------- */

static uint64_t chunk_size(const struct archive_seg *s, size_t k)
{
    uint64_t end = k + 1 < s->nchunks ? s->chunks[k + 1].off : s->up;
    return end - s->chunks[k].off;
}

long archive_merge_plan(const struct archive_seg *s)
{
    size_t first;

    if (s->nchunks < ARCHIVE_MERGE_FANIN)
        return -1;
    first = s->nchunks - ARCHIVE_MERGE_FANIN;
    for (size_t k = first; k < s->nchunks; k++)
        if (s->chunks[k].level != s->chunks[first].level ||
            chunk_size(s, k) >= ARCHIVE_SEAL_BYTES)
            return -1;
    return (long)first;
}

/* ---- the reassembly plan ------------------------------------------------ */

static int obj_cmp(const void *pa, const void *pb)
{
    const struct archive_obj *a = pa, *b = pb;

    if (a->seg != b->seg)
        return a->seg < b->seg ? -1 : 1;
    if (a->off != b->off)
        return a->off < b->off ? -1 : 1;
    /* the longer first: it covers the shorter ones at the same offset */
    return a->size > b->size ? -1 : a->size < b->size;
}

int archive_plan_log(struct archive_obj *v, size_t n, uint64_t from_lsn,
                     size_t *keep, uint64_t *seg_bytes, struct tm_error *err)
{
    size_t i, start = n, out = 0;
    uint64_t covered = 0, total = 0, seg = 0;

    *keep = 0;
    *seg_bytes = 0;
    if (n > 1)
        qsort(v, n, sizeof *v, obj_cmp);
    /* the segment holding from_lsn: the last one starting at or before */
    for (i = 0; i < n; i++)
        if (v[i].seg <= from_lsn && (start == n || v[i].seg != v[start].seg))
            start = i;
    if (start == n)
        return tm_error_set(err, TM_ENOTFOUND,
                            n ? "the archived log starts at record %" PRIu64
                                ", after record %" PRIu64 " that is needed"
                              : "the archive holds no log (record %" PRIu64
                                " on is needed)",
                            n ? v[0].seg : from_lsn, from_lsn);
    for (i = start; i < n; i++) {
        if (i == start || v[i].seg != seg) {
            total += covered;
            seg = v[i].seg;
            covered = 0;
        }
        if (v[i].off > covered)
            return tm_error_set(err, TM_ECORRUPT,
                                "the archived log segment %020" PRIu64
                                ".wal has a hole: bytes %" PRIu64
                                "..%" PRIu64 " are in no chunk",
                                seg, covered, v[i].off - 1);
        if (v[i].off + v[i].size <= covered)
            continue; /* wholly inside what is covered already */
        covered = v[i].off + v[i].size;
        v[out++] = v[i];
    }
    total += covered;
    *keep = out;
    *seg_bytes = total;
    return 0;
}
