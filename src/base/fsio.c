/*
 * fsio.c - the file layer's wrappers and its fault plan; see fsio.h for
 * what they promise.
 *
 * Callers: src/wal/wal.c, src/backup/backup_format.c and src/archive
 * (state.c, archive.c) for their file I/O; the server's test target TidemarkTest_20261125.InjectFault
 * (src/api/api.c, only under --unsafe-test-faults) and the unit tests for
 * the plan.  Below it: POSIX.
 *
 * How a call is judged (judge()):
 *
 *     nrules == 0 (one relaxed load)  ------------------>  the real call
 *     else, under `lock`: the call's path (given, or the descriptor's
 *     from the table); every rule whose ops and path match counts the
 *     call (hits++); the first of them whose window is open (hits > skip,
 *     and failed < count or count == -1) fails it (failed++) with its
 *     errno, or, for a torn write, lets half of it through and arms the
 *     descriptor so that its next write fails.
 *
 * Data, all under `lock`:
 *     rules[]   FSIO_RULES_MAX fixed slots (id 0: free), path substrings
 *               copied into the slot: setting a rule allocates nothing, so
 *               the plan works while malloc is being made to fail.
 *     fds[]     descriptor -> malloc'd path, kept only once tracking is
 *               on; grown before the open(2) it is for (`reserved` counts
 *               slots promised to opens in flight), so that a descriptor,
 *               once open, is always recorded: no file is created that
 *               fsio_open then has to report as a failure.
 * `nrules` and `tracking` are atomics, read without the lock on the fast
 * path; a rule added concurrently with a call may or may not see that
 * call, which is all a test can ask.
 */
#include "base/fsio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct rule {
    int id;                  /* 0: free slot */
    unsigned ops;
    char path[FSIO_PATH_MAX];
    long skip, count, hits, failed;
    int err, torn;
    int torn_fd;             /* -1, or the descriptor whose next write
                                fails (the second half of a torn write) */
};

struct fdpath {
    int fd;
    char *path;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct rule rules[FSIO_RULES_MAX];
static int next_id = 1;
static _Atomic int nrules;
static _Atomic int tracking;
static struct fdpath *fds;
static size_t nfds, capfds, reserved;

enum { PASS, FAIL, TEAR };

/* ==== The descriptor table (under lock) ==== */

static const char *fd_path(int fd)
{
    for (size_t i = 0; i < nfds; i++)
        if (fds[i].fd == fd)
            return fds[i].path;
    return "";
}

/* Promise one more slot to an open in flight.  0 or -1 (ENOMEM). */
static int fd_reserve(void)
{
    if (nfds + reserved + 1 > capfds) {
        size_t ncap = capfds ? capfds * 2 : 16;
        struct fdpath *n;
        while (ncap < nfds + reserved + 1)
            ncap *= 2;
        n = realloc(fds, ncap * sizeof *n);
        if (n == NULL)
            return -1;
        fds = n;
        capfds = ncap;
    }
    reserved++;
    return 0;
}

/* Record `fd` (takes ownership of `path`), using the slot reserved for
 * it; a stale entry for the same number (closed behind our back) is
 * replaced. */
static void fd_remember(int fd, char *path)
{
    reserved--;
    for (size_t i = 0; i < nfds; i++) {
        if (fds[i].fd == fd) {
            free(fds[i].path);
            fds[i].path = path;
            return;
        }
    }
    fds[nfds].fd = fd;
    fds[nfds].path = path;
    nfds++;
}

static void fd_forget(int fd)
{
    for (size_t i = 0; i < nfds; i++) {
        if (fds[i].fd == fd) {
            free(fds[i].path);
            fds[i] = fds[--nfds];
            return;
        }
    }
}

/* ==== The plan ==== */

void fsio_track_paths(void)
{
    atomic_store(&tracking, 1);
}

int fsio_fault_add(const struct fsio_fault *f)
{
    const char *p = f->path ? f->path : "";
    int id = -1;

    if ((f->ops & FSIO_ALL) == 0 || f->err <= 0 || f->err == EINTR ||
        f->err == EAGAIN || f->count < -1 || f->skip < 0 ||
        strlen(p) >= FSIO_PATH_MAX) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&lock);
    for (int i = 0; i < FSIO_RULES_MAX; i++) {
        struct rule *r = &rules[i];
        if (r->id != 0)
            continue;
        memset(r, 0, sizeof *r);
        r->id = id = next_id++;
        r->ops = f->ops & FSIO_ALL;
        strcpy(r->path, p);
        r->skip = f->skip;
        r->count = f->count;
        r->err = f->err;
        r->torn = f->torn;
        r->torn_fd = -1;
        atomic_fetch_add(&nrules, 1);
        break;
    }
    pthread_mutex_unlock(&lock);
    if (id < 0)
        errno = ENOSPC;
    return id;
}

int fsio_fault_clear(int id)
{
    int rc = -1;

    pthread_mutex_lock(&lock);
    for (int i = 0; i < FSIO_RULES_MAX; i++) {
        if (id > 0 && rules[i].id == id) {
            rules[i].id = 0;
            atomic_fetch_sub(&nrules, 1);
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

int fsio_fault_clear_all(void)
{
    int n = 0;

    pthread_mutex_lock(&lock);
    for (int i = 0; i < FSIO_RULES_MAX; i++) {
        if (rules[i].id != 0) {
            rules[i].id = 0;
            n++;
        }
    }
    atomic_store(&nrules, 0);
    pthread_mutex_unlock(&lock);
    return n;
}

int fsio_fault_stats(int id, long *hits, long *failed)
{
    int rc = -1;

    pthread_mutex_lock(&lock);
    for (int i = 0; i < FSIO_RULES_MAX; i++) {
        if (id > 0 && rules[i].id == id) {
            if (hits)
                *hits = rules[i].hits;
            if (failed)
                *failed = rules[i].failed;
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

static const struct {
    const char *name;
    unsigned op;
} op_names[] = {
    {"open", FSIO_OPEN},         {"read", FSIO_READ},
    {"write", FSIO_WRITE},       {"sync", FSIO_SYNC},
    {"truncate", FSIO_TRUNCATE}, {"rename", FSIO_RENAME},
    {"unlink", FSIO_UNLINK},     {"close", FSIO_CLOSE},
    {"all", FSIO_ALL},
};

unsigned fsio_op_from_name(const char *name)
{
    unsigned ops = 0;

    /* "write", or several joined by '|' or ',': "write|sync" */
    while (name != NULL && *name != '\0') {
        size_t n = strcspn(name, "|,"), i;
        for (i = 0; i < sizeof op_names / sizeof op_names[0]; i++)
            if (strlen(op_names[i].name) == n &&
                strncmp(op_names[i].name, name, n) == 0)
                break;
        if (i == sizeof op_names / sizeof op_names[0])
            return 0;
        ops |= op_names[i].op;
        name += n;
        if (*name != '\0')
            name++;
    }
    return ops;
}

int fsio_errno_from_name(const char *name)
{
    static const struct {
        const char *name;
        int e;
    } tab[] = {
        {"EIO", EIO},       {"ENOSPC", ENOSPC}, {"EDQUOT", EDQUOT},
        {"EROFS", EROFS},   {"EFBIG", EFBIG},   {"ENOMEM", ENOMEM},
        {"EACCES", EACCES}, {"EPERM", EPERM},   {"EBADF", EBADF},
    };

    for (size_t i = 0; name != NULL && i < sizeof tab / sizeof tab[0]; i++)
        if (strcmp(tab[i].name, name) == 0)
            return tab[i].e;
    return 0;
}

/* Does rule `r` cover `path`? */
static int covers(const struct rule *r, const char *path)
{
    return r->path[0] == '\0' || (path && strstr(path, r->path) != NULL);
}

/* Judge one call of operation `op` on descriptor `fd` (or -1) or on
 * `path` (and `path2`, for rename).  PASS: do the call; FAIL: fail it
 * with `*e`; TEAR (writes of >= 2 bytes, `can_tear`): write half and
 * return the short count. */
static int judge(unsigned op, int fd, const char *path, const char *path2,
                 int can_tear, int *e)
{
    int verdict = PASS;

    if (atomic_load_explicit(&nrules, memory_order_relaxed) == 0)
        return PASS;
    pthread_mutex_lock(&lock);
    if (path == NULL)
        path = fd_path(fd);
    for (int i = 0; i < FSIO_RULES_MAX; i++) {
        struct rule *r = &rules[i];

        if (r->id == 0 || !(r->ops & op))
            continue;
        if (!covers(r, path) && !(path2 && covers(r, path2)))
            continue;
        r->hits++;
        if (verdict != PASS)
            continue; /* decided: the other rules only count */
        if (op == FSIO_WRITE && fd >= 0 && r->torn_fd == fd) {
            /* the rest of a torn write */
            r->torn_fd = -1;
            verdict = FAIL;
            *e = r->err;
            continue;
        }
        if (r->hits <= r->skip || (r->count >= 0 && r->failed >= r->count))
            continue;
        r->failed++;
        *e = r->err;
        verdict = FAIL;
        if (op == FSIO_WRITE && r->torn && can_tear && fd >= 0) {
            r->torn_fd = fd;
            verdict = TEAR;
        }
    }
    pthread_mutex_unlock(&lock);
    return verdict;
}

/* ==== The wrappers ==== */

int fsio_open(const char *path, int flags, mode_t mode)
{
    char *copy = NULL;
    int fd, e;

    if (judge(FSIO_OPEN, -1, path, NULL, 0, &e) != PASS) {
        errno = e;
        return -1;
    }
    if (atomic_load_explicit(&tracking, memory_order_relaxed)) {
        copy = strdup(path);
        if (copy == NULL) {
            errno = ENOMEM;
            return -1;
        }
        pthread_mutex_lock(&lock);
        e = fd_reserve();
        pthread_mutex_unlock(&lock);
        if (e != 0) {
            free(copy);
            errno = ENOMEM;
            return -1;
        }
    }
    fd = open(path, flags, mode);
    e = errno;
    if (copy != NULL) {
        pthread_mutex_lock(&lock);
        if (fd >= 0) {
            fd_remember(fd, copy);
        } else {
            reserved--;
            free(copy);
        }
        pthread_mutex_unlock(&lock);
    }
    errno = e;
    return fd;
}

int fsio_close(int fd)
{
    int e = 0, v = judge(FSIO_CLOSE, fd, NULL, NULL, 0, &e), rc;

    if (atomic_load_explicit(&tracking, memory_order_relaxed) ||
        atomic_load_explicit(&nrules, memory_order_relaxed) != 0) {
        pthread_mutex_lock(&lock);
        fd_forget(fd);
        for (int i = 0; i < FSIO_RULES_MAX; i++)
            if (rules[i].torn_fd == fd)
                rules[i].torn_fd = -1;
        pthread_mutex_unlock(&lock);
    }
    rc = close(fd);
    if (rc == 0 && v != PASS) {
        errno = e;
        return -1;
    }
    return rc;
}

ssize_t fsio_read(int fd, void *buf, size_t n)
{
    int e;

    if (judge(FSIO_READ, fd, NULL, NULL, 0, &e) != PASS) {
        errno = e;
        return -1;
    }
    return read(fd, buf, n);
}

ssize_t fsio_pread(int fd, void *buf, size_t n, off_t off)
{
    int e;

    if (judge(FSIO_READ, fd, NULL, NULL, 0, &e) != PASS) {
        errno = e;
        return -1;
    }
    return pread(fd, buf, n, off);
}

ssize_t fsio_write(int fd, const void *buf, size_t n)
{
    int e, v = judge(FSIO_WRITE, fd, NULL, NULL, n >= 2, &e);

    if (v == FAIL) {
        errno = e;
        return -1;
    }
    return write(fd, buf, v == TEAR ? n / 2 : n);
}

ssize_t fsio_pwrite(int fd, const void *buf, size_t n, off_t off)
{
    int e, v = judge(FSIO_WRITE, fd, NULL, NULL, n >= 2, &e);

    if (v == FAIL) {
        errno = e;
        return -1;
    }
    return pwrite(fd, buf, v == TEAR ? n / 2 : n, off);
}

int fsio_write_full(int fd, const void *buf, size_t n)
{
    const char *p = buf;

    while (n > 0) {
        ssize_t k = fsio_write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (k == 0) {
            errno = EIO;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

int fsio_pwrite_full(int fd, const void *buf, size_t n, off_t off)
{
    const char *p = buf;

    while (n > 0) {
        ssize_t k = fsio_pwrite(fd, p, n, off);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (k == 0) {
            errno = EIO;
            return -1;
        }
        p += k;
        n -= (size_t)k;
        off += k;
    }
    return 0;
}

int fsio_fsync(int fd)
{
    int e;

    if (judge(FSIO_SYNC, fd, NULL, NULL, 0, &e) != PASS) {
        errno = e;
        return -1;
    }
    return fsync(fd);
}

int fsio_fdatasync(int fd)
{
    int e;

    if (judge(FSIO_SYNC, fd, NULL, NULL, 0, &e) != PASS) {
        errno = e;
        return -1;
    }
    return fdatasync(fd);
}

int fsio_fsync_dir(const char *dir)
{
    int fd = fsio_open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0), rc, e;

    if (fd < 0)
        return -1;
    rc = fsio_fsync(fd);
    e = errno;
    (void)fsio_close(fd); /* nothing to lose on a directory's close */
    errno = e;
    return rc;
}

int fsio_fsync_parent(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t n;

    if (slash == NULL)
        return fsio_fsync_dir(".");
    n = slash == path ? 1 : (size_t)(slash - path);
    if (n >= sizeof dir) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(dir, path, n);
    dir[n] = '\0';
    return fsio_fsync_dir(dir);
}

int fsio_mkdir_p(const char *path, mode_t mode)
{
    char tmp[PATH_MAX];
    size_t n = strlen(path);
    int made = 0;

    if (n == 0 || n >= sizeof tmp) {
        errno = n ? ENAMETOOLONG : ENOENT;
        return -1;
    }
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        char c = tmp[i];
        if (c != '/' && c != '\0')
            continue;
        tmp[i] = '\0';
        made = 0;
        if (mkdir(tmp, mode) == 0) {
            if (fsio_fsync_parent(tmp) != 0)
                return -1;
            made = 1;
        } else if (errno != EEXIST) {
            return -1;
        }
        tmp[i] = c;
    }
    return made;
}

int fsio_ftruncate(int fd, off_t len)
{
    int e;

    if (judge(FSIO_TRUNCATE, fd, NULL, NULL, 0, &e) != PASS) {
        errno = e;
        return -1;
    }
    return ftruncate(fd, len);
}

int fsio_rename(const char *from, const char *to)
{
    int e;

    if (judge(FSIO_RENAME, -1, from, to, 0, &e) != PASS) {
        errno = e;
        return -1;
    }
    return rename(from, to);
}

int fsio_unlink(const char *path)
{
    int e;

    if (judge(FSIO_UNLINK, -1, path, NULL, 0, &e) != PASS) {
        errno = e;
        return -1;
    }
    return unlink(path);
}
