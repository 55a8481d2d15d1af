/*
 * fetch.c - reading an archive, for `tidemark restore` (no server): the
 * base snapshots it holds, and the log from an LSN on, reassembled into
 * segment files that a wal_reader (with no live log) reads like any log.
 *
 * Every byte is checked on the way: a base file by its whole-file
 * checksum when the restore opens it (backup_format.h), the log by the
 * reader, record by record (checksums salted per segment, LSNs strictly
 * consecutive within and across segments).  What this file adds is the
 * check that the chunks of each segment leave no hole (archive_plan_log):
 * a hole is reported as such, naming the segment and the bytes, before
 * anything is replayed.
 *
 * A server may be shipping to the archive while it is read: a chunk may
 * be merged into a larger one (and deleted) or pruned between the listing
 * and the download.  The download then fails with TM_ENOOBJECT, and the
 * caller lists again (restore_cli.c does, a few times).
 */
#include "archive/archive.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive/archive_int.h"
#include "base/buf.h"
#include "s3/s3.h"

/* ---- bases -------------------------------------------------------------- */

struct base_scan {
    char **ids;             /* "<id>" of every .json */
    uint64_t *json_size;
    size_t n, cap;
    /* .tmbak objects: id and size */
    char **files;
    uint64_t *file_size;
    size_t nf, capf;
};

static int push(char ***v, uint64_t **sz, size_t *n, size_t *cap,
                const char *s, size_t len, uint64_t size)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        char **nv = realloc(*v, ncap * sizeof *nv);
        uint64_t *ns;
        if (nv == NULL)
            return TM_ENOMEM;
        *v = nv;
        ns = realloc(*sz, ncap * sizeof *ns);
        if (ns == NULL)
            return TM_ENOMEM;
        *sz = ns;
        *cap = ncap;
    }
    if (((*v)[*n] = strndup(s, len)) == NULL)
        return TM_ENOMEM;
    (*sz)[*n] = size;
    (*n)++;
    return 0;
}

static int base_one(void *ctx, const char *key, uint64_t size)
{
    struct base_scan *bs = ctx;
    const char *name = key + strlen(ARCHIVE_BASES);
    size_t n = strlen(name);

    if (strchr(name, '/'))
        return 0;
    if (n > 5 && strcmp(name + n - 5, ".json") == 0)
        return push(&bs->ids, &bs->json_size, &bs->n, &bs->cap, name, n - 5,
                    size);
    if (n > 6 && strcmp(name + n - 6, ".tmbak") == 0)
        return push(&bs->files, &bs->file_size, &bs->nf, &bs->capf, name,
                    n - 6, size);
    return 0;
}

static void scan_free(struct base_scan *bs)
{
    for (size_t i = 0; i < bs->n; i++)
        free(bs->ids[i]);
    for (size_t i = 0; i < bs->nf; i++)
        free(bs->files[i]);
    free(bs->ids);
    free(bs->json_size);
    free(bs->files);
    free(bs->file_size);
}

int archive_list_bases(struct s3_client *c, const char *dir, struct arena *a,
                       struct archive_base **out, size_t *n,
                       struct tm_error *err)
{
    struct base_scan bs = {0};
    struct archive_base *v;
    size_t got = 0;
    int rc;

    *out = NULL;
    *n = 0;
    rc = s3_list(c, ARCHIVE_BASES, base_one, &bs, err);
    if (rc == TM_ENOMEM)
        tm_error_set(err, rc, "out of memory listing the archive's bases");
    if (rc)
        goto out;
    v = arena_calloc(a, bs.n + 1, sizeof *v);
    if (v == NULL) {
        rc = tm_error_set(err, TM_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < bs.n; i++) {
        char key[ARCHIVE_KEY_MAX + 64], where[1400];
        struct backup_info *b;
        struct buf body;
        size_t f;

        for (f = 0; f < bs.nf && strcmp(bs.files[f], bs.ids[i]) != 0; f++)
            ;
        if (f == bs.nf)
            continue; /* being uploaded, or half pruned */
        if (archive_base_key(key, sizeof key, bs.ids[i], "json") != 0)
            continue;
        buf_init(&body, 64u << 20);
        rc = s3_get_mem(c, key, &body, err);
        if (rc == TM_ENOOBJECT) { /* pruned meanwhile */
            buf_free(&body);
            rc = 0;
            continue;
        }
        if (rc) {
            buf_free(&body);
            goto out;
        }
        s3_describe(c, key, where, sizeof where);
        rc = backup_info_from_json((const char *)body.data, body.len, dir,
                                   where, a, &b);
        buf_free(&body);
        if (rc == TM_ECORRUPT) {
            rc = 0; /* warned, naming it */
            continue;
        }
        if (rc) {
            tm_error_set(err, rc, "out of memory");
            goto out;
        }
        v[got].b = b;
        v[got].file_bytes = bs.file_size[f];
        got++;
    }
    /* ascending creation time (insertion sort: a window holds few) */
    for (size_t i = 1; i < got; i++) {
        struct archive_base t = v[i];
        size_t j = i;
        while (j > 0 && v[j - 1].b->created_ms > t.b->created_ms) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = t;
    }
    *out = v;
    *n = got;
out:
    scan_free(&bs);
    return rc;
}

int archive_fetch_base(struct s3_client *c, const struct archive_base *b,
                       struct tm_error *err)
{
    char key[ARCHIVE_KEY_MAX + 64];

    if (archive_base_key(key, sizeof key, b->b->id, "tmbak") != 0)
        return tm_error_set(err, TM_EVALIDATION, "bad base id %s", b->b->id);
    return s3_get_file(c, key, b->b->path, err);
}

/* ---- the log ------------------------------------------------------------ */

int archive_log_find(struct s3_client *c, uint64_t from_lsn,
                     struct archive_log *out, struct tm_error *err)
{
    struct archive_listing l = {0};
    size_t keep;
    int rc;

    memset(out, 0, sizeof *out);
    rc = s3_list(c, ARCHIVE_WAL, archive_listing_add, &l, err);
    if (rc == TM_ENOMEM)
        tm_error_set(err, rc, "out of memory listing the archived log");
    if (rc == 0)
        rc = archive_plan_log(l.v, l.n, from_lsn, &keep, &out->seg_bytes,
                              err);
    if (rc) {
        free(l.v);
        return rc;
    }
    out->objs = l.v;
    out->n = keep;
    for (size_t i = 0; i < keep; i++) {
        out->bytes += l.v[i].size;
        if (i == 0 || l.v[i].seg != l.v[i - 1].seg)
            out->nsegs++;
    }
    return 0;
}

void archive_log_free(struct archive_log *l)
{
    free(l->objs);
    memset(l, 0, sizeof *l);
}

int archive_log_fetch(struct s3_client *c, const struct archive_log *l,
                      const char *dir,
                      void (*progress)(void *ctx, uint64_t bytes),
                      void *ctx, struct tm_error *err)
{
    struct buf body;
    uint64_t done = 0, seg = 0;
    int fd = -1, rc = 0;
    char path[4200];

    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return tm_error_set(err, TM_EIO, "cannot create %s: %s", dir,
                            strerror(errno));
    buf_init(&body, (size_t)ARCHIVE_CHUNK_MAX * 4 + 1);
    for (size_t i = 0; i < l->n && rc == 0; i++) {
        const struct archive_obj *o = &l->objs[i];
        char key[ARCHIVE_KEY_MAX];

        if (fd < 0 || o->seg != seg) {
            /* scratch files: a crash discards them, no fsync */
            if (fd >= 0 && close(fd) != 0) {
                fd = -1;
                rc = tm_error_set(err, TM_EIO, "cannot write %s: %s", path,
                                  strerror(errno));
                break;
            }
            seg = o->seg;
            snprintf(path, sizeof path, "%s/%020" PRIu64 ".wal", dir, seg);
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
            if (fd < 0) {
                rc = tm_error_set(err, TM_EIO, "cannot create %s: %s", path,
                                  strerror(errno));
                break;
            }
        }
        archive_chunk_key(key, o->seg, o->off);
        if (o->size >= body.max && o->off == 0) {
            /* a whole closed segment (shipped in one object): straight
             * into the file, which it starts */
            struct stat st;
            close(fd);
            fd = -1;
            rc = s3_get_file(c, key, path, err);
            if (rc == 0 && (stat(path, &st) != 0 ||
                            (uint64_t)st.st_size != o->size))
                rc = tm_error_set(err, TM_ENOOBJECT,
                                  "the archive's chunk %s changed while it "
                                  "was read",
                                  key);
            if (rc == 0 &&
                (fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
                rc = tm_error_set(err, TM_EIO, "cannot open %s: %s", path,
                                  strerror(errno));
            if (rc)
                break;
            done += o->size;
            if (progress)
                progress(ctx, done);
            continue;
        }
        if (o->size >= body.max) {
            buf_free(&body);
            buf_init(&body, (size_t)o->size + 1);
        }
        rc = s3_get_mem(c, key, &body, err);
        if (rc)
            break;
        if (body.len != o->size) {
            rc = tm_error_set(err, TM_ENOOBJECT,
                              "the archive's chunk %s changed while it was "
                              "read (%zu bytes, listed as %" PRIu64 ")",
                              key, body.len, o->size);
            break;
        }
        if (pwrite(fd, body.data, body.len, (off_t)o->off) !=
            (ssize_t)body.len) {
            rc = tm_error_set(err, TM_EIO, "cannot write %s: %s", path,
                              strerror(errno));
            break;
        }
        done += body.len;
        if (progress)
            progress(ctx, done);
    }
    if (fd >= 0 && close(fd) != 0 && rc == 0)
        rc = tm_error_set(err, TM_EIO, "cannot write %s: %s", path,
                          strerror(errno));
    buf_free(&body);
    return rc;
}
