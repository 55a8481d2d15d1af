/*
 * fsio.h - the file layer: thin wrappers over the POSIX calls that the
 * change log (src/wal/wal.c), the backup files
 * (src/backup/backup_format.c) and the archive (its progress file and its
 * reads of the log, src/archive) make, each of which consults a fault
 * plan before the real call.  Tests (and a server started with
 * --unsafe-test-faults) use the plan to make writes, syncs, reads, opens,
 * truncates, renames, unlinks or closes fail with a chosen errno (EIO,
 * ENOSPC, ...) at chosen points; SQLite's test_vfs.c and faultsim do the
 * same for its file and memory layers.
 *
 * Each wrapper has the signature and the result of the call it wraps
 * (-1 and errno on failure), so converting a call site is renaming it.
 * An injected failure happens INSTEAD of the call (nothing is written,
 * synced, created, renamed...), except for fsio_close (the descriptor is
 * closed, then -1 is returned, as Linux does) and for a torn write (see
 * struct fsio_fault).
 *
 * Guarantees:
 *   1. With no rule set, a wrapper costs one relaxed atomic load more than
 *      the call it wraps (and fsio_open/fsio_close nothing else unless
 *      fsio_track_paths was called).
 *   2. Every call that matches a rule (its operation is in the rule's
 *      mask and the rule's path substring is in the file's path) is
 *      counted in the rule, whether it fails or not, so a test can run a
 *      workload once with a counting rule (count 0), read the number of
 *      calls, and fail a random one the next time.
 *   3. Rules are set, read and cleared at any time from any thread; a
 *      call is judged under one mutex, so with several threads the k-th
 *      matching call is the k-th to take that mutex.
 *
 * Paths.  Calls that take a descriptor (read, write, sync, truncate,
 * close) learn the file's path from a descriptor -> path table that
 * fsio_open fills and fsio_close empties.  The table is kept only after
 * fsio_track_paths() (the server calls it at start-up under
 * --unsafe-test-faults, tests call it first thing), so production pays
 * nothing for it; a descriptor opened before that, or not through
 * fsio_open, has the path "" and matches only rules whose path is empty.
 * rename matches when either name contains the substring.
 */
#ifndef TM_FSIO_H
#define TM_FSIO_H

#include <stddef.h>
#include <sys/types.h>

/* Operations, as a bit mask for rules. */
enum fsio_op {
    FSIO_OPEN = 1 << 0,     /* fsio_open (with or without O_CREAT) */
    FSIO_READ = 1 << 1,     /* fsio_read, fsio_pread */
    FSIO_WRITE = 1 << 2,    /* fsio_write, fsio_pwrite, the _full loops */
    FSIO_SYNC = 1 << 3,     /* fsio_fsync, fsio_fdatasync, fsio_fsync_dir */
    FSIO_TRUNCATE = 1 << 4, /* fsio_ftruncate */
    FSIO_RENAME = 1 << 5,   /* fsio_rename */
    FSIO_UNLINK = 1 << 6,   /* fsio_unlink */
    FSIO_CLOSE = 1 << 7,    /* fsio_close */
    FSIO_ALL = (1 << 8) - 1
};

/* The longest path substring a rule keeps (longer ones are refused). */
#define FSIO_PATH_MAX 256
/* How many rules may be set at once. */
#define FSIO_RULES_MAX 16

/* One rule of the fault plan. */
struct fsio_fault {
    unsigned ops;       /* FSIO_* bits this rule applies to */
    const char *path;   /* substring of the file's path; NULL or "": any
                           file (copied) */
    long skip;          /* let the first `skip` matching calls through */
    long count;         /* then fail the next `count` matching calls;
                           -1: every one until the rule is cleared;
                           0: none (the rule only counts) */
    int err;            /* errno of the failures: EIO, ENOSPC, ... (> 0) */
    int torn;           /* writes only: a failing write of n >= 2 bytes
                           first really writes n / 2 of them and returns
                           that short count; the caller's next write on
                           that descriptor then fails with `err` (a torn
                           write, as a full disk produces) */
};

/* Start keeping the descriptor -> path table (see "Paths" above).  Call
 * it before the files that rules should recognise by path are opened.
 * Idempotent; there is no way back. */
void fsio_track_paths(void);

/* Add a rule.  Returns its id (> 0), or -1 with errno EINVAL (no ops, err
 * <= 0, count < -1, skip < 0, path too long) or ENOSPC (FSIO_RULES_MAX
 * rules are set).  Allocates nothing. */
int fsio_fault_add(const struct fsio_fault *f);

/* Remove rule `id`.  Returns 0, or -1 when there is no such rule.
 * fsio_fault_clear_all removes every rule and returns how many it
 * removed.  A torn write waiting for its second half is dropped too. */
int fsio_fault_clear(int id);
int fsio_fault_clear_all(void);

/* What rule `id` has seen: `*hits` matching calls so far (skipped,
 * failed or let through after its count), `*failed` of them failed.
 * Either pointer may be NULL.  Returns 0, or -1 when there is no such
 * rule. */
int fsio_fault_stats(int id, long *hits, long *failed);

/* Operation name ("write") to bit (FSIO_WRITE), and errno name ("EIO") to
 * value, for the server's test target.  0 when unknown.  "all" names
 * FSIO_ALL. */
unsigned fsio_op_from_name(const char *name);
int fsio_errno_from_name(const char *name);

/* ==== The wrappers ==== */

/* open(2).  With path tracking on, remembers `path` for the descriptor
 * (and may then fail with ENOMEM before opening anything). */
int fsio_open(const char *path, int flags, mode_t mode);

/* close(2); forgets the descriptor's path.  The descriptor is closed even
 * when -1 is returned. */
int fsio_close(int fd);

ssize_t fsio_read(int fd, void *buf, size_t n);
ssize_t fsio_pread(int fd, void *buf, size_t n, off_t off);
ssize_t fsio_write(int fd, const void *buf, size_t n);
ssize_t fsio_pwrite(int fd, const void *buf, size_t n, off_t off);

/* Write all `n` bytes (retrying short writes and EINTR).  0, or -1 with
 * errno (a write that made no progress is EIO).  On failure an unknown
 * prefix of the bytes may have been written. */
int fsio_write_full(int fd, const void *buf, size_t n);
int fsio_pwrite_full(int fd, const void *buf, size_t n, off_t off);

int fsio_fsync(int fd);
int fsio_fdatasync(int fd);

/* Open the directory `dir`, fsync it, close it: what makes a create,
 * rename or unlink in it durable.  0 or -1 (errno). */
int fsio_fsync_dir(const char *dir);

/* fsync the directory holding `path` ("." for a bare name, "/" for a
 * top-level one): what makes the creation of `path` durable.  0 or -1
 * (errno). */
int fsio_fsync_parent(const char *path);

/* mkdir -p, durably: every component created is made durable in its
 * parent (fsio_fsync_parent), so a power cut cannot drop a directory a
 * file was then created in.  1 if the last component was created, 0 if
 * it existed, -1 (errno) on failure. */
int fsio_mkdir_p(const char *path, mode_t mode);

int fsio_ftruncate(int fd, off_t len);
int fsio_rename(const char *from, const char *to);
int fsio_unlink(const char *path);

#endif
