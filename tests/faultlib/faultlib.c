/*
 * faultlib.c - an LD_PRELOAD library that makes a process's own file
 * writes, syncs and renames fail at a chosen point, below the code that
 * makes them: the failure hook for what src/base/fsio.h cannot reach
 * (issue 7, point 5).  LMDB's writes to the state file (pwrite, writev,
 * fdatasync in liblmdb.so) are the reason it exists; it also serves
 * `tidemark restore`, a command without the server's fault API.
 *
 * The plan is fixed at start, from the environment:
 *   FAULTLIB_PATH   substring of the file's path (read from
 *                   /proc/self/fd) a call must match; required
 *   FAULTLIB_OPS    comma list of write, sync, rename (default write,sync)
 *                   write: write writev pwrite pwrite64 pwritev
 *                   sync:  fsync fdatasync
 *                   rename: rename renameat (either name matches)
 *   FAULTLIB_SKIP   let this many matching calls through (default 0)
 *   FAULTLIB_COUNT  then fail this many (-1: every later one; 0: none,
 *                   only count; default 1)
 *   FAULTLIB_ERRNO  EIO (default) or ENOSPC
 *   FAULTLIB_LOG    file to which one line per matching call is appended:
 *                   "<n> <op> <ok|FAIL> <offset> <length> <path>"
 *                   (offset -1 where the call has none), so that a test
 *                   learns how many calls a workload makes and what
 *                   failed (for LMDB: a write at offset 0 or one page is
 *                   a meta page, whose failure LMDB cannot recover from
 *                   without a restart)
 * A failing call does nothing and returns -1 with the errno, as a full or
 * broken disk would make it; calls on anything but regular files (sockets,
 * pipes, the terminal) pass straight through after one fstat.
 *
 * Thread-safety: a mutex orders the matching calls, so with several
 * threads the k-th matching call is the k-th to take it.  Test code only:
 * never linked into the server.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

enum { OP_WRITE = 1, OP_SYNC = 2, OP_RENAME = 4 };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char want[1024];
static unsigned ops = OP_WRITE | OP_SYNC;
static long skip, count = 1, hits;
static int err = EIO, log_fd = -1, ready;

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off_t);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_rename)(const char *, const char *);
static int (*real_renameat)(int, const char *, int, const char *);

__attribute__((constructor)) static void init(void)
{
    const char *p = getenv("FAULTLIB_PATH"), *v;

    real_write = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT,
                                                              "write");
    real_writev = (ssize_t(*)(int, const struct iovec *, int))dlsym(
        RTLD_NEXT, "writev");
    real_pwrite = (ssize_t(*)(int, const void *, size_t, off_t))dlsym(
        RTLD_NEXT, "pwrite");
    real_pwrite64 = (ssize_t(*)(int, const void *, size_t, off_t))dlsym(
        RTLD_NEXT, "pwrite64");
    real_pwritev = (ssize_t(*)(int, const struct iovec *, int, off_t))dlsym(
        RTLD_NEXT, "pwritev");
    real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    real_rename = (int (*)(const char *, const char *))dlsym(RTLD_NEXT,
                                                             "rename");
    real_renameat = (int (*)(int, const char *, int, const char *))dlsym(
        RTLD_NEXT, "renameat");
    if (p == NULL || *p == '\0' || strlen(p) >= sizeof want)
        return;
    strcpy(want, p);
    if ((v = getenv("FAULTLIB_OPS")) != NULL) {
        ops = 0;
        if (strstr(v, "write"))
            ops |= OP_WRITE;
        if (strstr(v, "sync"))
            ops |= OP_SYNC;
        if (strstr(v, "rename"))
            ops |= OP_RENAME;
    }
    if ((v = getenv("FAULTLIB_SKIP")) != NULL)
        skip = atol(v);
    if ((v = getenv("FAULTLIB_COUNT")) != NULL)
        count = atol(v);
    if ((v = getenv("FAULTLIB_ERRNO")) != NULL && strcmp(v, "ENOSPC") == 0)
        err = ENOSPC;
    if ((v = getenv("FAULTLIB_LOG")) != NULL)
        log_fd = open(v, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    ready = 1;
}

/* The path of `fd` when it is a regular file, else "" (no match). */
static void fd_path(int fd, char *out, size_t cap)
{
    char link[64];
    struct stat st;
    ssize_t n;

    out[0] = '\0';
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    n = readlink(link, out, cap - 1);
    out[n > 0 ? n : 0] = '\0';
}

/* Judge one call: 1 when it must fail (errno is set), 0 to go ahead. */
static int judge(unsigned op, const char *opname, const char *path,
                 long long off, long long len)
{
    char line[4600];
    int fail;
    long n;

    if (!ready || !(ops & op) || path[0] == '\0' ||
        strstr(path, want) == NULL)
        return 0;
    pthread_mutex_lock(&lock);
    n = ++hits;
    fail = n > skip && (count < 0 || n <= skip + count);
    if (log_fd >= 0) {
        int k = snprintf(line, sizeof line, "%ld %s %s %lld %lld %s\n", n,
                         opname, fail ? "FAIL" : "ok", off, len, path);
        if (k > 0)
            (void)!syscall(SYS_write, log_fd, line,
                           (size_t)(k < (int)sizeof line ? k
                                                         : (int)sizeof line));
    }
    pthread_mutex_unlock(&lock);
    if (fail)
        errno = err;
    return fail;
}

static long long iov_len(const struct iovec *iov, int n)
{
    long long t = 0;
    for (int i = 0; i < n; i++)
        t += (long long)iov[i].iov_len;
    return t;
}

#define FD_CHECK(op, name, off, len)                                        \
    do {                                                                    \
        if (ready && (ops & (op))) {                                        \
            char path_[4096];                                               \
            fd_path(fd, path_, sizeof path_);                               \
            if (judge((op), (name), path_, (off), (len)))                   \
                return -1;                                                  \
        }                                                                   \
    } while (0)

ssize_t write(int fd, const void *buf, size_t n)
{
    FD_CHECK(OP_WRITE, "write", (long long)lseek(fd, 0, SEEK_CUR),
             (long long)n);
    return real_write(fd, buf, n);
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
    FD_CHECK(OP_WRITE, "writev", (long long)lseek(fd, 0, SEEK_CUR),
             iov_len(iov, n));
    return real_writev(fd, iov, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    FD_CHECK(OP_WRITE, "pwrite", (long long)off, (long long)n);
    return real_pwrite(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    FD_CHECK(OP_WRITE, "pwrite", (long long)off, (long long)n);
    return real_pwrite64(fd, buf, n, off);
}

ssize_t pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
    FD_CHECK(OP_WRITE, "pwritev", (long long)off, iov_len(iov, n));
    return real_pwritev(fd, iov, n, off);
}

int fsync(int fd)
{
    FD_CHECK(OP_SYNC, "fsync", -1LL, 0LL);
    return real_fsync(fd);
}

int fdatasync(int fd)
{
    FD_CHECK(OP_SYNC, "fdatasync", -1LL, 0LL);
    return real_fdatasync(fd);
}

static int rename_judge(const char *from, const char *to)
{
    if (!ready || !(ops & OP_RENAME))
        return 0;
    if (strstr(from, want) == NULL && strstr(to, want) == NULL)
        return 0;
    /* judge() matches on the path it is given: pass the one that
     * matched */
    return judge(OP_RENAME, "rename", strstr(from, want) ? from : to, -1LL,
                 0LL);
}

int rename(const char *from, const char *to)
{
    if (rename_judge(from, to))
        return -1;
    return real_rename(from, to);
}

int renameat(int dfrom, const char *from, int dto, const char *to)
{
    if (rename_judge(from, to))
        return -1;
    return real_renameat(dfrom, from, dto, to);
}
