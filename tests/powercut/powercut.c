/*
 * powercut.c - an LD_PRELOAD library that remembers what a process made
 * durable, so that a test can simulate a power cut (issue 7, point 6).
 *
 * Killing a process leaves everything it wrote in the operating system's
 * cache, so a kill -9 test cannot catch a missing fsync.  Under this
 * library, every fsync/fdatasync of a file below $POWERCUT_DIR copies the
 * file's whole content, as it is at that moment, into $POWERCUT_SHADOW
 * (keyed by inode), and every fsync of a directory there records its
 * listing (name, inode, type).  At start the library records the whole
 * tree once (what exists before the process runs is durable).  The test
 * then kills the process at a random moment and rebuilds the directory
 * from the shadow alone (tests/powercut/rebuild.py): a directory holds the
 * names of its last synced listing; a file the content of its inode's last
 * sync (empty when it never had one).  Everything written but not synced,
 * including new directory entries not synced, is gone, as after a power
 * cut on a file system that keeps no unsynced data.
 *
 * What it sees: calls made through the dynamic symbols fsync and
 * fdatasync, from the server and from the libraries it loads (LMDB's
 * mdb_env_sync, the change log, the backup files and their descriptions).
 * What it does not model: a file system that keeps part of the unsynced
 * writes (torn or reordered pages); inode numbers reused within one run
 * (the shadow keeps the latest content per inode).
 *
 * Thread-safety: one mutex around the shadow.  Test code only: never
 * linked into the server.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char root[4096], shadow[4096];
static size_t root_len;
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);

/* Copy the content of `fd` (a regular file) to shadow/ino/<inode>. */
static void save_file(int fd, ino_t ino)
{
    char tmp[4300], dst[4200], buf[1 << 16];
    off_t off = 0;
    ssize_t n;
    int out;

    snprintf(dst, sizeof dst, "%s/ino/%lu", shadow, (unsigned long)ino);
    snprintf(tmp, sizeof tmp, "%s.tmp", dst);
    out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0)
        return;
    while ((n = pread(fd, buf, sizeof buf, off)) > 0) {
        if (write(out, buf, (size_t)n) != n)
            break;
        off += n;
    }
    close(out);
    rename(tmp, dst);
}

/* Record the listing of directory `path` (inode `ino`) as
 * shadow/dir/<inode>: lines "<type> <inode> <name>". */
static void save_dir(const char *path, ino_t ino)
{
    char tmp[4300], dst[4200];
    DIR *d = opendir(path);
    struct dirent *de;
    FILE *f;

    if (d == NULL)
        return;
    snprintf(dst, sizeof dst, "%s/dir/%lu", shadow, (unsigned long)ino);
    snprintf(tmp, sizeof tmp, "%s.tmp", dst);
    f = fopen(tmp, "w");
    while (f && (de = readdir(d)) != NULL) {
        char p[4200];
        struct stat st;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", path, de->d_name);
        if (lstat(p, &st) != 0)
            continue;
        fprintf(f, "%c %lu %s\n", S_ISDIR(st.st_mode) ? 'd' : 'f',
                (unsigned long)st.st_ino, de->d_name);
    }
    closedir(d);
    if (f) {
        fclose(f);
        rename(tmp, dst);
    }
}

/* The initial state: every directory and file below `path`. */
static void save_tree(const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *de;

    if (lstat(path, &st) != 0)
        return;
    if (S_ISREG(st.st_mode)) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            save_file(fd, st.st_ino);
            close(fd);
        }
        return;
    }
    if (!S_ISDIR(st.st_mode))
        return;
    save_dir(path, st.st_ino);
    if ((d = opendir(path)) == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        char p[4200];
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", path, de->d_name);
        save_tree(p);
    }
    closedir(d);
}

static void note_sync(int fd)
{
    char link[64], path[4096];
    struct stat st;
    ssize_t n;

    if (root_len == 0 || fstat(fd, &st) != 0)
        return;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    n = readlink(link, path, sizeof path - 1);
    if (n <= 0)
        return;
    path[n] = 0;
    if (strncmp(path, root, root_len) != 0 ||
        (path[root_len] != 0 && path[root_len] != '/'))
        return;
    pthread_mutex_lock(&lock);
    if (S_ISDIR(st.st_mode)) {
        save_dir(path, st.st_ino);
    } else if (S_ISREG(st.st_mode)) {
        /* the fd may be write-only (fopen "w"): read through a new one */
        int rfd = open(link, O_RDONLY | O_CLOEXEC);
        if (rfd >= 0) {
            save_file(rfd, st.st_ino);
            close(rfd);
        }
    }
    pthread_mutex_unlock(&lock);
}

__attribute__((constructor)) static void powercut_init(void)
{
    const char *r = getenv("POWERCUT_DIR"), *s = getenv("POWERCUT_SHADOW");
    char p[4200];
    FILE *f;

    real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    if (r == NULL || s == NULL || realpath(r, root) == NULL)
        return;
    snprintf(shadow, sizeof shadow, "%s", s);
    snprintf(p, sizeof p, "%s/ino", shadow);
    mkdir(shadow, 0700);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/dir", shadow);
    mkdir(p, 0700);
    root_len = strlen(root);
    save_tree(root);
    {
        struct stat st;
        snprintf(p, sizeof p, "%s/root", shadow);
        if (stat(root, &st) == 0 && (f = fopen(p, "w")) != NULL) {
            fprintf(f, "%lu\n", (unsigned long)st.st_ino);
            fclose(f);
        }
    }
}

int fsync(int fd)
{
    int rc = real_fsync(fd);
    if (rc == 0)
        note_sync(fd);
    return rc;
}

int fdatasync(int fd)
{
    int rc = real_fdatasync(fd);
    if (rc == 0)
        note_sync(fd);
    return rc;
}
