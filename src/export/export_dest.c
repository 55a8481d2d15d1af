/*
 * export_dest.c - export and import destinations: a bucket of the object
 * store (through src/s3) or a local directory ("file:///abs/path"); see
 * export_dest.h.
 *
 * A directory is treated as a bucket: a key "a/b/c.json.gz" is the file
 * <dir>/a/b/c.json.gz (parents made as needed), written as "<file>.tmp",
 * fsynced, renamed, and its directory fsynced, so a reader never sees half
 * a file under its final name.  Keys are checked with s3_key_check (no
 * "..", no empty segment), so nothing lands outside <dir>.
 *
 * For the object store, data files are staged in a local directory and
 * uploaded with s3_put_file (multipart when large, read back and checked
 * before it returns); manifests go up with s3_put_mem.  Imports download
 * each object into the staging directory before reading it.
 */
#include "export/export_dest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsio.h"
#include "s3/s3.h"
#include "s3/s3_int.h"

struct export_dest {
    int local;
    char *dir;          /* local: the root, no trailing '/' */
    char *bucket;
    char *staging;      /* S3: local staging directory */
    struct s3_client *s3;
    unsigned seq;
};

int export_dest_is_local(const char *bucket)
{
    return bucket && strncmp(bucket, EXPORT_FILE_SCHEME,
                             strlen(EXPORT_FILE_SCHEME)) == 0;
}

/* The FailureCode of an object-store error. */
static const char *s3_code(int rc, const char *msg)
{
    if (strstr(msg, "NoSuchBucket") ||
        (rc == TM_ENOOBJECT && strstr(msg, "bucket")))
        return "S3NoSuchBucket";
    if (strstr(msg, "HTTP 403") || strstr(msg, "AccessDenied") ||
        strstr(msg, "InvalidAccessKeyId") ||
        strstr(msg, "SignatureDoesNotMatch") ||
        (rc == TM_EVALIDATION && strstr(msg, "credentials")))
        return "S3AccessDenied";
    if (rc == TM_EUNAVAILABLE)
        return "S3Unavailable";
    return "S3Error";
}

/* The FailureCode of a local file error. */
static const char *errno_code(int e)
{
    if (e == ENOENT || e == ENOTDIR)
        return "S3NoSuchBucket";
    if (e == EACCES || e == EPERM || e == EROFS)
        return "S3AccessDenied";
    return "S3Error";
}

/* <dir>/<key> into `out`; 0 or TM_EVALIDATION (bad key, too long). */
static int local_path(struct export_dest *d, const char *key, char *out,
                      size_t cap, struct tm_error *err)
{
    int rc = s3_key_check(key, "key", 0, err);

    if (rc)
        return rc;
    if ((size_t)snprintf(out, cap, "%s/%s", d->dir, key) >= cap)
        return tm_error_set(err, TM_EVALIDATION, "path %s/%s is too long",
                            d->dir, key);
    return 0;
}

static int parent_of(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;

    if (slash == NULL || n >= cap)
        return -1;
    memcpy(out, path, n);
    out[n ? n : 1] = '\0';
    if (n == 0)
        out[0] = '/';
    return 0;
}

static int stop_at_once(void *ctx, const char *key, uint64_t size)
{
    (void)ctx;
    (void)key;
    (void)size;
    return 1;
}

int export_dest_open(const char *bucket, const char *endpoint,
                     const char *region, const char *staging,
                     struct export_dest **out, struct tm_error *err,
                     const char **code)
{
    struct export_dest *d = calloc(1, sizeof *d);
    struct s3_config cfg = {0};
    char ep[256];
    int rc;

    *out = NULL;
    *code = "S3Error";
    if (d == NULL)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    d->bucket = strdup(bucket);
    d->staging = strdup(staging ? staging : "/tmp");
    if (d->bucket == NULL || d->staging == NULL) {
        export_dest_close(d);
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    }
    if (export_dest_is_local(bucket)) {
        const char *p = bucket + strlen(EXPORT_FILE_SCHEME);
        struct stat st;
        size_t n = strlen(p);
        d->local = 1;
        while (n > 1 && p[n - 1] == '/')
            n--;
        d->dir = strndup(p, n);
        if (d->dir == NULL) {
            export_dest_close(d);
            return tm_error_set(err, TM_ENOMEM, "out of memory");
        }
        if (p[0] != '/') {
            *code = "S3NoSuchBucket";
            rc = tm_error_set(err, TM_EVALIDATION,
                              "%s is not an absolute file:// path: give "
                              "file:///absolute/directory",
                              bucket);
            export_dest_close(d);
            return rc;
        }
        if (stat(d->dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            int found = access(d->dir, F_OK) == 0;
            *code = "S3NoSuchBucket";
            rc = tm_error_set(err, TM_EIO,
                              "The directory %s does not exist%s: create "
                              "it, or name another with S3Bucket "
                              "file:///path",
                              d->dir, found ? " (not a directory)" : "");
            export_dest_close(d);
            return rc;
        }
        *out = d;
        return 0;
    }
    if (endpoint == NULL) {
        snprintf(ep, sizeof ep, "https://s3.%s.amazonaws.com",
                 region ? region : "us-east-1");
        endpoint = ep;
    }
    cfg.endpoint = endpoint;
    cfg.bucket = bucket;
    cfg.prefix = "";
    rc = s3_client_new(&cfg, &d->s3, err);
    if (rc == 0) {
        /* the bucket must exist and be ours: one listing that stops at
         * once answers both */
        rc = s3_list(d->s3, "tidemark-probe/", stop_at_once, NULL, err);
        if (rc == 1)
            rc = 0;
    }
    if (rc == 0 && fsio_mkdir_p(d->staging, 0750) < 0)
        rc = tm_error_set(err, TM_EIO, "cannot create %s: %s", d->staging,
                          strerror(errno));
    if (rc) {
        *code = s3_code(rc, err->msg);
        if (strcmp(*code, "S3NoSuchBucket") == 0)
            tm_error_set(err, rc,
                         "The specified bucket does not exist: s3://%s at "
                         "%s (create it, or name an existing bucket)",
                         bucket, endpoint);
        export_dest_close(d);
        return rc;
    }
    *out = d;
    return 0;
}

void export_dest_close(struct export_dest *d)
{
    if (d == NULL)
        return;
    if (d->s3 && d->staging)
        rmdir(d->staging); /* empty once every transfer is done */
    s3_client_free(d->s3);
    free(d->dir);
    free(d->bucket);
    free(d->staging);
    free(d);
}

const char *export_dest_describe(const struct export_dest *d, const char *key,
                                 char *out, size_t cap)
{
    if (d->local)
        snprintf(out, cap, "file://%s/%s", d->dir, key);
    else
        snprintf(out, cap, "s3://%s/%s", d->bucket, key);
    return out;
}

int export_dest_stage(struct export_dest *d, const char *key, char *path,
                      size_t cap, struct tm_error *err, const char **code)
{
    char parent[4096];
    int rc;

    *code = "S3Error";
    if (d->local) {
        if ((rc = local_path(d, key, path, cap, err)))
            return rc;
        if (parent_of(path, parent, sizeof parent) != 0 ||
            fsio_mkdir_p(parent, 0750) < 0) {
            int e = errno;
            *code = errno_code(e);
            return tm_error_set(err, TM_EIO, "cannot create %s: %s", parent,
                                strerror(e));
        }
        return 0;
    }
    if ((rc = s3_key_check(key, "key", 0, err)))
        return rc;
    if ((size_t)snprintf(path, cap, "%s/put-%d-%u.tmp", d->staging,
                         (int)getpid(), d->seq++) >= cap)
        return tm_error_set(err, TM_EIO, "staging path too long");
    return 0;
}

int export_dest_commit(struct export_dest *d, const char *key,
                       const char *path, const uint8_t md5[16],
                       char etag[80], struct tm_error *err,
                       const char **code)
{
    char tag[S3_ETAG_MAX];
    int rc;

    *code = "S3Error";
    if (d->local) {
        s3_hex(md5, 16, etag);
        return 0;
    }
    rc = s3_put_file(d->s3, key, path, NULL, NULL, err);
    if (rc == 0)
        rc = s3_head(d->s3, key, NULL, tag, err);
    unlink(path);
    if (rc) {
        *code = s3_code(rc, err->msg);
        return rc;
    }
    snprintf(etag, 80, "%s", tag);
    return 0;
}

int export_dest_put(struct export_dest *d, const char *key, const void *data,
                    size_t len, struct tm_error *err, const char **code)
{
    char path[4096], tmp[4200], parent[4096];
    int fd, rc;

    *code = "S3Error";
    if (!d->local) {
        rc = s3_put_mem(d->s3, key, data, len, err);
        if (rc)
            *code = s3_code(rc, err->msg);
        return rc;
    }
    if ((rc = export_dest_stage(d, key, path, sizeof path, err, code)))
        return rc;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    parent_of(path, parent, sizeof parent);
    fd = fsio_open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        goto fail;
    if (fsio_write_full(fd, data, len) != 0 || fsio_fdatasync(fd) != 0) {
        int e = errno;
        fsio_close(fd);
        errno = e;
        goto fail;
    }
    if (fsio_close(fd) != 0 || fsio_rename(tmp, path) != 0 ||
        fsio_fsync_dir(parent) != 0)
        goto fail;
    return 0;
fail:
    rc = errno;
    fsio_unlink(tmp);
    *code = errno_code(rc);
    return tm_error_set(err, TM_EIO, "cannot write %s: %s", path,
                        strerror(rc));
}

int export_dest_delete(struct export_dest *d, const char *key,
                       struct tm_error *err, const char **code)
{
    char path[4096];
    int rc;

    *code = "S3Error";
    if (!d->local) {
        rc = s3_delete(d->s3, key, err);
        if (rc)
            *code = s3_code(rc, err->msg);
        return rc;
    }
    if ((rc = local_path(d, key, path, sizeof path, err)))
        return rc;
    if (fsio_unlink(path) != 0 && errno != ENOENT) {
        int e = errno;
        *code = errno_code(e);
        return tm_error_set(err, TM_EIO, "cannot remove %s: %s", path,
                            strerror(e));
    }
    return 0;
}

/* ---- listing a directory ------------------------------------------------- */

struct entry {
    char *key;
    uint64_t size;
};

struct walk {
    struct entry *v;
    size_t n, cap;
    const char *prefix;
    size_t plen;
    int depth;
    int with_tmp;       /* list unfinished ".tmp" files too */
};

static int add_entry(struct walk *w, const char *key, uint64_t size)
{
    if (w->n == w->cap) {
        size_t ncap = w->cap ? w->cap * 2 : 64;
        struct entry *nv = realloc(w->v, ncap * sizeof *nv);
        if (nv == NULL)
            return -1;
        w->v = nv;
        w->cap = ncap;
    }
    w->v[w->n].key = strdup(key);
    if (w->v[w->n].key == NULL)
        return -1;
    w->v[w->n++].size = size;
    return 0;
}

/* Walk <root>/<rel> (rel "" or "a/b/"), adding files whose key starts
 * with the prefix. */
static int walk_dir(struct walk *w, const char *root, const char *rel)
{
    char path[4096];
    DIR *dir;
    struct dirent *de;
    int rc = 0;

    if (w->depth > 64)
        return 0;
    snprintf(path, sizeof path, "%s/%s", root, rel);
    dir = opendir(path);
    if (dir == NULL)
        return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
    while (rc == 0 && (de = readdir(dir)) != NULL) {
        char key[4096], full[8192];
        struct stat st;
        size_t kl;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if ((size_t)snprintf(key, sizeof key, "%s%s", rel, de->d_name) >=
            sizeof key)
            continue;
        snprintf(full, sizeof full, "%s/%s", root, key);
        if (lstat(full, &st) != 0)
            continue;
        kl = strlen(key);
        if (S_ISDIR(st.st_mode)) {
            /* descend only where keys may still match the prefix */
            size_t m = kl < w->plen ? kl : w->plen;
            if (strncmp(key, w->prefix, m) != 0)
                continue;
            if (kl + 2 >= sizeof key)
                continue;
            key[kl] = '/';
            key[kl + 1] = '\0';
            w->depth++;
            rc = walk_dir(w, root, key);
            w->depth--;
        } else if (S_ISREG(st.st_mode)) {
            if (!w->with_tmp && kl >= 4 && strcmp(key + kl - 4, ".tmp") == 0)
                continue;
            if (strncmp(key, w->prefix, w->plen) == 0)
                rc = add_entry(w, key, (uint64_t)st.st_size);
        }
    }
    closedir(dir);
    return rc;
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const struct entry *)a)->key,
                  ((const struct entry *)b)->key);
}

static int list(struct export_dest *d, const char *prefix, int with_tmp,
                int (*fn)(void *ctx, const char *key, uint64_t size),
                void *ctx, struct tm_error *err, const char **code)
{
    struct walk w = {0};
    char start[4096];
    const char *slash;
    int rc = 0;

    *code = "S3Error";
    if (!d->local) {
        rc = s3_list(d->s3, prefix, fn, ctx, err);
        if (rc < 0 && err->code == rc)
            *code = s3_code(rc, err->msg);
        return rc;
    }
    w.prefix = prefix;
    w.plen = strlen(prefix);
    w.with_tmp = with_tmp;
    /* start at the deepest directory the prefix names */
    slash = strrchr(prefix, '/');
    start[0] = '\0';
    if (slash) {
        size_t n = (size_t)(slash - prefix) + 1;
        if (n < sizeof start) {
            memcpy(start, prefix, n);
            start[n] = '\0';
        }
    }
    if (walk_dir(&w, d->dir, start) != 0) {
        int e = errno;
        *code = errno_code(e);
        rc = tm_error_set(err, TM_EIO, "cannot list %s/%s: %s", d->dir,
                          start, strerror(e));
    }
    if (rc == 0) {
        if (w.n > 1)
            qsort(w.v, w.n, sizeof *w.v, entry_cmp);
        for (size_t i = 0; i < w.n && rc == 0; i++)
            rc = fn(ctx, w.v[i].key, w.v[i].size);
    }
    for (size_t i = 0; i < w.n; i++)
        free(w.v[i].key);
    free(w.v);
    return rc;
}

int export_dest_list(struct export_dest *d, const char *prefix,
                     int (*fn)(void *ctx, const char *key, uint64_t size),
                     void *ctx, struct tm_error *err, const char **code)
{
    return list(d, prefix, 0, fn, ctx, err, code);
}

static int collect(void *ctx, const char *key, uint64_t size)
{
    struct buf *keys = ctx;
    (void)size;
    return buf_append(keys, key, strlen(key) + 1) ? TM_ENOMEM : 0;
}

int export_dest_clear(struct export_dest *d, const char *prefix,
                      struct tm_error *err, const char **code)
{
    struct buf keys;
    int rc;

    buf_init(&keys, (size_t)1 << 30);
    rc = list(d, prefix, 1, collect, &keys, err, code);
    if (rc == TM_ENOMEM)
        tm_error_set(err, rc, "out of memory");
    for (size_t p = 0; rc == 0 && p < keys.len;
         p += strlen((char *)keys.data + p) + 1) {
        const char *key = (char *)keys.data + p;
        if (d->local) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", d->dir, key);
            if (fsio_unlink(path) != 0 && errno != ENOENT) {
                int e = errno;
                *code = errno_code(e);
                rc = tm_error_set(err, TM_EIO, "cannot remove %s: %s", path,
                                  strerror(e));
            }
        } else {
            rc = export_dest_delete(d, key, err, code);
        }
    }
    buf_free(&keys);
    return rc;
}

int export_dest_fetch(struct export_dest *d, const char *key, char *path,
                      size_t cap, struct tm_error *err, const char **code)
{
    int rc;

    *code = "S3Error";
    if (d->local) {
        struct stat st;
        if ((rc = local_path(d, key, path, cap, err)))
            return rc;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            return tm_error_set(err, TM_ENOOBJECT, "%s does not exist",
                                path);
        return 0;
    }
    if ((size_t)snprintf(path, cap, "%s/get-%d-%u", d->staging,
                         (int)getpid(), d->seq++) >= cap)
        return tm_error_set(err, TM_EIO, "staging path too long");
    rc = s3_get_file(d->s3, key, path, err);
    if (rc)
        *code = s3_code(rc, err->msg);
    return rc;
}

void export_dest_release(struct export_dest *d, const char *path)
{
    if (!d->local)
        unlink(path);
}

int export_dest_get(struct export_dest *d, const char *key, struct buf *out,
                    struct tm_error *err, const char **code)
{
    char path[4096];
    uint8_t tmp[65536];
    int fd, rc;
    ssize_t got;

    *code = "S3Error";
    if (!d->local) {
        rc = s3_get_mem(d->s3, key, out, err);
        if (rc)
            *code = s3_code(rc, err->msg);
        return rc;
    }
    if ((rc = local_path(d, key, path, sizeof path, err)))
        return rc;
    fd = fsio_open(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) {
        int e = errno;
        *code = errno_code(e);
        return tm_error_set(err, e == ENOENT ? TM_ENOOBJECT : TM_EIO,
                            "cannot open %s: %s", path, strerror(e));
    }
    buf_reset(out);
    while ((got = fsio_read(fd, tmp, sizeof tmp)) > 0)
        if ((rc = buf_append(out, tmp, (size_t)got)) != 0) {
            fsio_close(fd);
            return tm_error_set(err, rc, "%s is larger than %zu bytes", path,
                                out->max);
        }
    rc = got < 0 ? tm_error_set(err, TM_EIO, "cannot read %s: %s", path,
                                strerror(errno))
                 : 0;
    fsio_close(fd);
    return rc;
}
