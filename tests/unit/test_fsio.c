/*
 * test_fsio.c - the file layer's fault plan (src/base/fsio.c), and the
 * change log (src/wal) and the backup files (src/backup/backup_format.c)
 * under injected faults:
 *
 *   - I/O faults at random points (EIO, ENOSPC, torn writes; on write,
 *     fdatasync, segment creation, truncate, unlink, rename, close, and
 *     on read at replay), chosen as "run the workload once with a rule
 *     that only counts the matching calls, then fail the k-th for a
 *     random k";
 *   - allocation failures at every point (failalloc.h: for k = 1, 2, ...
 *     fail the k-th allocation of the operation), in the plain build only.
 *
 * What is asserted: for the log, every record whose wal_sync returned 0 is
 * there after a reopen, in order and intact, and nothing else is (except,
 * counted and printed, the records of a failed batch when the process
 * "restarted" while that batch's rollback was still failing: wal.c allows
 * that); wal_synced_lsn never covers a failed batch; a wal_sync fails only
 * when a fault was injected during it; once the fault clears the same log
 * works again.  For backups, a failed writer returns TM_EIO naming the
 * file and the strerror, leaves neither the file nor "<file>.tmp", and the
 * next backup to the same path works.  With failed allocations, every
 * operation fails cleanly (an error code, no crash) and leaks nothing.
 *
 * The seed comes from TM_FAULT_SEED, else the clock; it is printed, and
 * each test prints its figures ("wal: 400 random fault points, ...").
 */
#include "test.h"

#include "failalloc.h"

#include "backup/backup_format.h"
#include "base/err.h"
#include "base/fsio.h"
#include "wal/wal.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WAL_POINTS 400
#define WAL_READ_POINTS 100
#define BACKUP_POINTS 200
#define BACKUP_READ_POINTS 100

/* Like ASSERT, for helpers that return int: 0 ok, -1 failed. */
#define CHECK(c)                                                              \
    do {                                                                      \
        if (!(c)) {                                                           \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,  \
                    #c);                                                      \
            return -1;                                                        \
        }                                                                     \
    } while (0)

#define CHECK_MSG(c, ...)                                                     \
    do {                                                                      \
        if (!(c)) {                                                           \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, \
                    #c);                                                      \
            fprintf(stderr, __VA_ARGS__);                                     \
            fputc('\n', stderr);                                              \
            return -1;                                                        \
        }                                                                     \
    } while (0)

/* ==== Randomness and files ==== */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

/* 0 .. n-1 (n > 0) */
static long rnd_below(long n) { return (long)(rnd() % (uint64_t)n); }

struct tmp {
    char root[64];
    char dir[128];
};

static int tmp_make(struct tmp *t, const char *sub)
{
    snprintf(t->root, sizeof t->root, "/tmp/tm_test_fsio_XXXXXX");
    CHECK(mkdtemp(t->root) != NULL);
    snprintf(t->dir, sizeof t->dir, "%s/%s", t->root, sub);
    return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void tmp_remove(struct tmp *t)
{
    nftw(t->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* A fingerprint of a directory: the sum over its files of (name hash *
 * (size + 1)), to see that a failed wal_open changed nothing. */
static int dir_print(const char *dir, uint64_t *out)
{
    char cmd[PATH_MAX + 64];
    FILE *f;
    char line[512];
    uint64_t h = 0;

    snprintf(cmd, sizeof cmd, "find %s -type f -printf '%%f %%s\\n'", dir);
    f = popen(cmd, "r");
    CHECK(f != NULL);
    while (fgets(line, sizeof line, f) != NULL) {
        uint64_t x = 1469598103934665603ULL;
        for (const char *p = line; *p; p++)
            x = (x ^ (uint8_t)*p) * 1099511628211ULL;
        h += x;
    }
    CHECK(pclose(f) == 0);
    *out = h;
    return 0;
}

/* ==== The plan itself ==== */

static void test_rules(void)
{
    struct tmp t;
    char path[PATH_MAX], other[PATH_MAX], moved[PATH_MAX];
    struct fsio_fault f = {0};
    char buf[100];
    long hits, failed;
    int fd, fd2, id, id2, i;

    memset(buf, 'x', sizeof buf);
    ASSERT_EQ(tmp_make(&t, "x"), 0);
    snprintf(path, sizeof path, "%s/alpha.dat", t.root);
    snprintf(other, sizeof other, "%s/beta.dat", t.root);
    snprintf(moved, sizeof moved, "%s/gamma.dat", t.root);
    fd = fsio_open(path, O_RDWR | O_CREAT, 0600);
    fd2 = fsio_open(other, O_RDWR | O_CREAT, 0600);
    ASSERT(fd >= 0 && fd2 >= 0);

    /* skip 2, fail 3, then let through; only alpha's writes match */
    f.ops = FSIO_WRITE;
    f.path = "alpha";
    f.skip = 2;
    f.count = 3;
    f.err = ENOSPC;
    id = fsio_fault_add(&f);
    ASSERT(id > 0);
    for (i = 0; i < 8; i++) {
        ssize_t k = fsio_pwrite(fd, buf, 10, i * 10);
        if (i >= 2 && i < 5) {
            ASSERT_EQ(k, -1);
            ASSERT_EQ(errno, ENOSPC);
        } else {
            ASSERT_EQ(k, 10);
        }
        ASSERT_EQ(fsio_pwrite(fd2, buf, 10, i * 10), 10);
    }
    ASSERT_EQ(fsio_fdatasync(fd), 0); /* not a write */
    ASSERT_EQ(fsio_fault_stats(id, &hits, &failed), 0);
    ASSERT_EQ(hits, 8);
    ASSERT_EQ(failed, 3);
    ASSERT_EQ(fsio_fault_clear(id), 0);
    ASSERT_EQ(fsio_fault_clear(id), -1);
    ASSERT_EQ(fsio_fault_stats(id, &hits, NULL), -1);

    /* count -1: until cleared; a torn write leaves half, then fails */
    f.ops = FSIO_WRITE | FSIO_SYNC;
    f.path = "beta";
    f.skip = 0;
    f.count = -1;
    f.err = EIO;
    f.torn = 1;
    id = fsio_fault_add(&f);
    ASSERT(id > 0);
    ASSERT_EQ(fsio_ftruncate(fd2, 0), 0);
    ASSERT_EQ(fsio_pwrite_full(fd2, buf, 100, 0), -1);
    ASSERT_EQ(errno, EIO);
    {
        struct stat sb;
        ASSERT_EQ(fstat(fd2, &sb), 0);
        ASSERT_EQ(sb.st_size, 50);
    }
    for (i = 0; i < 5; i++) {
        ASSERT_EQ(fsio_fsync(fd2), -1);
        ASSERT_EQ(errno, EIO);
    }
    ASSERT_EQ(fsio_write_full(fd2, buf, 1), -1); /* 1 byte: cannot tear */
    ASSERT_EQ(fsio_fault_clear_all(), 1);
    ASSERT_EQ(fsio_fsync(fd2), 0);

    /* rename matches either name; open and unlink by path */
    f = (struct fsio_fault){FSIO_RENAME, "gamma", 0, 1, EIO, 0};
    id = fsio_fault_add(&f);
    ASSERT_EQ(fsio_rename(other, moved), -1);
    ASSERT(exists(other));
    ASSERT_EQ(fsio_rename(other, moved), 0);
    ASSERT_EQ(fsio_fault_clear(id), 0);
    f = (struct fsio_fault){FSIO_OPEN | FSIO_UNLINK, "gamma", 0, -1, EROFS,
                            0};
    id = fsio_fault_add(&f);
    ASSERT_EQ(fsio_open(moved, O_RDONLY, 0), -1);
    ASSERT_EQ(errno, EROFS);
    ASSERT_EQ(fsio_unlink(moved), -1);
    ASSERT(exists(moved));
    ASSERT_EQ(fsio_fault_clear(id), 0);
    /* a descriptor keeps the path it was opened under; a failed close
     * still closes */
    f = (struct fsio_fault){FSIO_CLOSE, "beta", 0, 1, EIO, 0};
    id = fsio_fault_add(&f);
    ASSERT_EQ(fsio_close(fd2), -1);
    ASSERT_EQ(fcntl(fd2, F_GETFD), -1);
    ASSERT_EQ(errno, EBADF);
    ASSERT_EQ(fsio_fault_clear(id), 0);
    ASSERT_EQ(fsio_close(fd), 0);

    /* bad rules; the table is full at FSIO_RULES_MAX */
    f = (struct fsio_fault){0, NULL, 0, 1, EIO, 0};
    ASSERT_EQ(fsio_fault_add(&f), -1);
    f = (struct fsio_fault){FSIO_READ, NULL, 0, -2, EIO, 0};
    ASSERT_EQ(fsio_fault_add(&f), -1);
    f = (struct fsio_fault){FSIO_READ, NULL, 0, 1, EINTR, 0};
    ASSERT_EQ(fsio_fault_add(&f), -1);
    f = (struct fsio_fault){FSIO_READ, "no-such-file", 0, 1, EIO, 0};
    for (i = 0; i < FSIO_RULES_MAX; i++)
        ASSERT(fsio_fault_add(&f) > 0);
    id2 = fsio_fault_add(&f);
    ASSERT_EQ(id2, -1);
    ASSERT_EQ(errno, ENOSPC);
    ASSERT_EQ(fsio_fault_clear_all(), FSIO_RULES_MAX);

    ASSERT_EQ(fsio_op_from_name("write"), FSIO_WRITE);
    ASSERT_EQ(fsio_op_from_name("write|sync,open"),
              FSIO_WRITE | FSIO_SYNC | FSIO_OPEN);
    ASSERT_EQ(fsio_op_from_name("all"), FSIO_ALL);
    ASSERT_EQ(fsio_op_from_name("wrote"), 0);
    ASSERT_EQ(fsio_errno_from_name("ENOSPC"), ENOSPC);
    ASSERT_EQ(fsio_errno_from_name("EINTR"), 0);
    tmp_remove(&t);
}

struct counter_arg {
    int fd;
    int n;
};

static void *count_writes(void *p)
{
    struct counter_arg *a = p;
    char c = 'z';
    for (int i = 0; i < a->n; i++)
        if (fsio_pwrite(a->fd, &c, 1, i) != 1)
            return p;
    return NULL;
}

/* Every call of every thread is counted once. */
static void test_threads(void)
{
    struct tmp t;
    char path[PATH_MAX];
    struct fsio_fault f = {FSIO_WRITE, "counted", 0, 0, EIO, 0};
    struct counter_arg a[4];
    pthread_t th[4];
    long hits, failed;
    int id, i;
    void *res;

    ASSERT_EQ(tmp_make(&t, "x"), 0);
    id = fsio_fault_add(&f);
    ASSERT(id > 0);
    for (i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/counted%d", t.root, i);
        a[i].fd = fsio_open(path, O_RDWR | O_CREAT, 0600);
        a[i].n = 2000;
        ASSERT(a[i].fd >= 0);
        ASSERT_EQ(pthread_create(&th[i], NULL, count_writes, &a[i]), 0);
    }
    for (i = 0; i < 4; i++) {
        ASSERT_EQ(pthread_join(th[i], &res), 0);
        ASSERT(res == NULL);
        fsio_close(a[i].fd);
    }
    ASSERT_EQ(fsio_fault_stats(id, &hits, &failed), 0);
    ASSERT_EQ(hits, 8000);
    ASSERT_EQ(failed, 0);
    fsio_fault_clear_all();
    tmp_remove(&t);
}

/* ==== The change log under I/O faults ==== */

/* A fixed workload, so that a counting run gives the number of matching
 * calls a faulty run will meet (until its first failure). */
#define WL_BATCHES 24
#define WL_AFTER 3       /* batches after the fault is cleared */
#define WL_SEG 2048      /* segment size: a roll every few batches */
#define MAX_IDS 8192

static int wl_nrec[WL_BATCHES + WL_AFTER];

static void wl_init(void)
{
    uint64_t save = rng_state;
    rng_state = 0x5eed0fa17ULL;
    for (int b = 0; b < WL_BATCHES + WL_AFTER; b++)
        wl_nrec[b] = 1 + (int)rnd_below(6);
    rng_state = save;
}

/* The payload of record `id`: "id:<8 digits>" and filler up to a length
 * that depends on the id (12 .. 611 bytes). */
static size_t payload_of(uint64_t id, uint8_t *p)
{
    size_t len = 12 + (size_t)((id * 2654435761u) % 600), i;

    snprintf((char *)p, 13, "id:%08llu", (unsigned long long)id);
    p[11] = ':';
    for (i = 12; i < len; i++)
        p[i] = (uint8_t)(id * 131 + i);
    return len;
}

/* 0 and the id, if `r` is one of ours and intact. */
static int id_of(const struct wal_record *r, uint64_t *id)
{
    uint8_t p[700];
    unsigned long long v;

    CHECK(r->len >= 12 && r->len < sizeof p);
    CHECK(sscanf((const char *)r->payload, "id:%8llu", &v) == 1);
    CHECK(payload_of(v, p) == r->len);
    CHECK(memcmp(p, r->payload, r->len) == 0);
    *id = v;
    return 0;
}

struct model {
    uint64_t acked[MAX_IDS];   /* ids of acknowledged records, in order */
    size_t nacked;
    uint8_t failed[MAX_IDS];   /* by id: its batch's wal_sync failed */
    uint64_t next_id;
};

struct wal_figures {
    long points, fired, acked_checked, lost, replayed_unacked, failed_syncs;
    long reopen_errors;
};

static int open_wal(const char *dir, struct wal **w, struct tm_error *e)
{
    struct wal_options o = {dir, WL_SEG, 1};
    return wal_open(&o, w, e);
}

/* Read the whole log in `dir`: it must hold exactly m->acked, then, if
 * `allow_extra`, records whose batch failed (which then become part of
 * the model: they are in the log now).  On success `*w` is the reopened
 * log. */
static int verify_wal(const char *dir, struct model *m, int allow_extra,
                      struct wal **w, struct wal_figures *fig)
{
    struct wal_reader *r;
    struct wal_record rec;
    struct tm_error e;
    size_t i = 0;
    uint64_t id;
    int rc;

    rc = open_wal(dir, w, &e);
    CHECK_MSG(rc == 0, "%s", e.msg);
    CHECK(wal_reader_open(dir, *w, 1, &r, &e) == 0);
    while ((rc = wal_reader_next(r, &rec, &e)) == 1) {
        CHECK(id_of(&rec, &id) == 0);
        CHECK(rec.lsn == i + 1);
        if (i < m->nacked) {
            if (id != m->acked[i])
                fig->lost++;
            CHECK_MSG(id == m->acked[i], "LSN %zu: id %llu, acked %llu",
                      i + 1, (unsigned long long)id,
                      (unsigned long long)m->acked[i]);
        } else {
            CHECK_MSG(allow_extra && id < MAX_IDS && m->failed[id],
                      "LSN %zu: id %llu was never acknowledged", i + 1,
                      (unsigned long long)id);
            m->acked[m->nacked++] = id; /* in the log from now on */
            fig->replayed_unacked++;
        }
        i++;
    }
    CHECK_MSG(rc == 0, "%s", e.msg);
    wal_reader_close(r);
    if (i < m->nacked)
        fig->lost += (long)(m->nacked - i);
    CHECK_MSG(i == m->nacked, "%zu records, %zu acknowledged", i,
              m->nacked);
    CHECK(wal_synced_lsn(*w) == m->nacked);
    fig->acked_checked += (long)m->nacked;
    return 0;
}

/* Append and sync batch `b`.  Returns the wal_sync result. */
static int run_batch(struct wal *w, struct model *m, int b,
                     struct tm_error *e)
{
    uint8_t p[700];
    uint64_t first = m->next_id, lsn;
    int rc, k;

    for (k = 0; k < wl_nrec[b]; k++) {
        size_t len = payload_of(m->next_id, p);
        rc = wal_append(w, 1, 1700000000000LL + b, p, len, &lsn);
        if (rc)
            return rc;
        if (lsn != m->nacked + (size_t)k + 1)
            return TM_EINTERNAL;
        m->next_id++;
    }
    rc = wal_sync(w, e);
    for (uint64_t id = first; id < m->next_id; id++) {
        if (rc == 0)
            m->acked[m->nacked++] = id;
        else
            m->failed[id] = 1;
    }
    return rc;
}

struct wal_point {
    unsigned ops;
    int err, torn;
    long skip, count;
    int clear_after;     /* count -1: batches after the first failure */
    int restart_broken;  /* close and reopen before clearing */
};

static const unsigned wal_masks[] = {
    FSIO_WRITE,          FSIO_SYNC,
    FSIO_OPEN,           FSIO_WRITE | FSIO_SYNC,
    FSIO_TRUNCATE | FSIO_SYNC, FSIO_ALL,
};
#define NMASKS (sizeof wal_masks / sizeof wal_masks[0])

/* One run of the workload with the rule `pt` (count 0: only count, and
 * return the hits in `*hits`). */
static int wal_run(const struct wal_point *pt, long *hits,
                   struct wal_figures *fig)
{
    static struct model m;
    struct fsio_fault f;
    struct tmp t;
    struct wal *w = NULL;
    struct tm_error e;
    long f0, f1, first_fail = -1;
    int id, b, rc, broken = 0, cleared = 0;

    memset(&m, 0, sizeof m);
    m.next_id = 1;
    CHECK(tmp_make(&t, "wal") == 0);
    rc = open_wal(t.dir, &w, &e);
    CHECK_MSG(rc == 0, "%s", e.msg);
    f = (struct fsio_fault){pt->ops, t.dir, pt->skip, pt->count, pt->err,
                            pt->torn};
    id = fsio_fault_add(&f);
    CHECK(id > 0);
    for (b = 0; b < WL_BATCHES + WL_AFTER; b++) {
        if (!cleared &&
            (b == WL_BATCHES ||
             (first_fail >= 0 && b - first_fail > pt->clear_after))) {
            long fired = 0;
            if (pt->restart_broken && first_fail >= 0) {
                /* the process stops while the fault lasts: wal_close
                 * tries to finish the rollback and may fail */
                wal_close(w);
                w = NULL;
            }
            CHECK(fsio_fault_stats(id, hits, &fired) == 0);
            CHECK(pt->count == 0 || fired > 0);
            fig->fired += fired;
            fsio_fault_clear(id);
            if (w == NULL)
                CHECK(verify_wal(t.dir, &m, broken, &w, fig) == 0);
            cleared = 1;
        }
        f0 = 0;
        if (!cleared)
            fsio_fault_stats(id, NULL, &f0);
        tm_error_clear(&e);
        rc = run_batch(w, &m, b, &e);
        f1 = f0;
        if (!cleared)
            fsio_fault_stats(id, NULL, &f1);
        CHECK(wal_last_lsn(w) == m.nacked);
        CHECK(wal_synced_lsn(w) == m.nacked);
        if (rc == 0) {
            broken = 0;
            continue;
        }
        /* a failure only where a fault was injected, and only a clean
         * TM_EIO naming the log and the reason */
        CHECK_MSG(rc == TM_EIO && f1 > f0, "batch %d: rc %d, %s", b, rc,
                  e.msg);
        CHECK_MSG(strstr(e.msg, t.dir) != NULL &&
                      strstr(e.msg, strerror(pt->err)) != NULL,
                  "%s", e.msg);
        CHECK(b < WL_BATCHES); /* after clearing, everything works */
        fig->failed_syncs++;
        broken = strstr(e.msg, "accepts no write") != NULL;
        if (first_fail < 0)
            first_fail = b;
    }
    wal_close(w);
    /* a clean restart: exactly what was acknowledged */
    CHECK(verify_wal(t.dir, &m, 0, &w, fig) == 0);
    wal_close(w);
    tmp_remove(&t);
    return 0;
}

static void test_wal_faults(void)
{
    struct wal_figures fig = {0};
    long calls[NMASKS];
    size_t i;

    wl_init();
    /* count each mask's matching calls in a clean run */
    for (i = 0; i < NMASKS; i++) {
        struct wal_point pt = {wal_masks[i], EIO, 0, 0, 0, 0, 0};
        struct wal_figures none = {0};

        calls[i] = 0;
        ASSERT_EQ(wal_run(&pt, &calls[i], &none), 0);
        ASSERT_EQ(none.failed_syncs, 0);
        ASSERT(calls[i] > 0);
    }
    for (fig.points = 0; fig.points < WAL_POINTS; fig.points++) {
        size_t mi = (size_t)rnd_below(NMASKS);
        static const long counts[] = {1, 1, 2, 3, -1, -1};
        struct wal_point pt;

        pt.ops = wal_masks[mi];
        pt.err = rnd_below(2) ? EIO : ENOSPC;
        pt.torn = (int)rnd_below(2);
        pt.skip = rnd_below(calls[mi]);
        pt.count = counts[rnd_below(6)];
        pt.clear_after = (int)rnd_below(4);
        pt.restart_broken = rnd_below(3) == 0;
        if (wal_run(&pt, NULL, &fig) != 0)
            TEST_FAIL_("fault point %ld: ops 0x%x skip %ld count %ld %s%s",
                       fig.points, pt.ops, pt.skip, pt.count,
                       strerror(pt.err), pt.torn ? " torn" : "");
    }
    ASSERT_EQ(fig.lost, 0);
    ASSERT(fig.failed_syncs > WAL_POINTS / 2);
    printf("wal: %ld random fault points (write, fdatasync, segment "
           "creation, truncate, unlink; EIO/ENOSPC, torn writes), %ld "
           "injected failures, %ld failed wal_syncs, %ld acknowledged "
           "records checked after reopen, %ld lost; %ld unacknowledged "
           "records replayed after a restart while a rollback was "
           "pending\n",
           fig.points, fig.fired, fig.failed_syncs, fig.acked_checked,
           fig.lost, fig.replayed_unacked);
}

/* Read faults while wal_open validates and a reader replays: the open or
 * the read fails with TM_EIO naming the log, nothing on disk changes, and
 * once the fault clears everything is there. */
static void test_wal_read_faults(void)
{
    static struct model m;
    struct wal_figures fig = {0};
    struct fsio_fault f;
    struct tmp t;
    struct wal *w;
    struct wal_reader *r;
    struct wal_record rec;
    struct tm_error e;
    uint64_t before, after, got;
    long calls = 0, failed, errors = 0, p;
    int id, b, rc;

    wl_init();
    memset(&m, 0, sizeof m);
    m.next_id = 1;
    ASSERT_EQ(tmp_make(&t, "wal"), 0);
    ASSERT_EQ(open_wal(t.dir, &w, &e), 0);
    for (b = 0; b < WL_BATCHES; b++)
        ASSERT_EQ(run_batch(w, &m, b, &e), 0);
    wal_close(w);
    ASSERT_EQ(dir_print(t.dir, &before), 0);

    f = (struct fsio_fault){FSIO_READ, t.dir, 0, 0, EIO, 0};
    id = fsio_fault_add(&f);
    ASSERT_EQ(verify_wal(t.dir, &m, 0, &w, &fig), 0);
    wal_close(w);
    ASSERT_EQ(fsio_fault_stats(id, &calls, NULL), 0);
    fsio_fault_clear(id);
    ASSERT(calls > 2);

    for (p = 0; p < WAL_READ_POINTS; p++) {
        f = (struct fsio_fault){FSIO_READ, t.dir, rnd_below(calls),
                                rnd_below(2) ? 1 : -1,
                                rnd_below(2) ? EIO : EBADF, 0};
        id = fsio_fault_add(&f);
        ASSERT(id > 0);
        tm_error_clear(&e);
        got = 0;
        rc = open_wal(t.dir, &w, &e);
        if (rc == 0) {
            rc = wal_reader_open(t.dir, w, 1, &r, &e);
            while (rc == 0 && (rc = wal_reader_next(r, &rec, &e)) == 1) {
                got++;
                rc = 0;
            }
            wal_reader_close(r);
            wal_close(w);
        }
        ASSERT_EQ(fsio_fault_stats(id, NULL, &failed), 0);
        fsio_fault_clear(id);
        ASSERT_EQ(failed > 0, rc != 0);
        if (rc != 0) {
            errors++;
            ASSERT_EQ(rc, TM_EIO);
            ASSERT(strstr(e.msg, t.dir) != NULL);
            ASSERT(strstr(e.msg, strerror(f.err)) != NULL);
        } else {
            ASSERT_EQ(got, m.nacked);
        }
        ASSERT_EQ(dir_print(t.dir, &after), 0);
        ASSERT_EQ(after, before);
        ASSERT_EQ(verify_wal(t.dir, &m, 0, &w, &fig), 0);
        wal_close(w);
    }
    ASSERT_EQ(errors, WAL_READ_POINTS);
    printf("wal replay: %ld random read-fault points, %ld opens or "
           "replays failed with TM_EIO, files unchanged every time, %ld "
           "acknowledged records checked afterwards, %ld lost\n",
           p, errors, fig.acked_checked, fig.lost);
    tmp_remove(&t);
}

/* ==== Backup files under I/O faults ==== */

static const struct backup_meta META = {
    0, "{\"TableName\":\"t\"}", 42, 1700000000000LL, "arn:backup", "arn:t",
    "id", "name", 1};

#define BK_ROWS 400

static int bk_write(const char *path, struct tm_error *err)
{
    struct backup_writer *w;
    uint8_t key[16], item[300];
    int rc;

    rc = backup_writer_open(path, &META, &w, err);
    if (rc)
        return rc;
    backup_writer_set_block_bytes(w, 4096);
    for (uint64_t i = 0; i < BK_ROWS; i++) {
        size_t il = 20 + (size_t)(i * 7 % 280);
        snprintf((char *)key, sizeof key, "k%08llu", (unsigned long long)i);
        for (size_t j = 0; j < il; j++)
            item[j] = (uint8_t)(i * 2654435761u >> (j % 24));
        rc = backup_writer_add(w, key, 9, item, il, err);
        if (rc) {
            backup_writer_abort(w);
            return rc;
        }
    }
    return backup_writer_finish(w, NULL, err);
}

/* Read the file back; 0 when it holds the BK_ROWS rows bk_write wrote. */
static int bk_read(const char *path, struct tm_error *err)
{
    struct backup_reader *r;
    const uint8_t *k, *it;
    size_t kl, il;
    uint64_t n = 0;
    int rc;

    rc = backup_reader_open(path, &r, err);
    if (rc)
        return rc;
    while ((rc = backup_reader_next(r, &k, &kl, &it, &il, err)) == 1) {
        char want[16];
        snprintf(want, sizeof want, "k%08llu", (unsigned long long)n);
        if (kl != 9 || memcmp(k, want, 9) != 0 ||
            il != 20 + (size_t)(n * 7 % 280)) {
            rc = TM_EINTERNAL;
            break;
        }
        n++;
    }
    backup_reader_close(r);
    if (rc == 0 && n != BK_ROWS)
        rc = TM_EINTERNAL;
    return rc;
}

static void test_backup_faults(void)
{
    /* UNLINK stays out of the masks: the cleanup of a failed writer is an
     * unlink, and a file that cannot be removed stays (as documented) */
    static const unsigned masks[] = {
        FSIO_OPEN, FSIO_WRITE, FSIO_SYNC, FSIO_RENAME, FSIO_CLOSE,
        FSIO_ALL & ~(unsigned)FSIO_UNLINK,
    };
    const size_t nm = sizeof masks / sizeof masks[0];
    struct tmp t;
    char path[PATH_MAX], tmpf[PATH_MAX + 8];
    struct fsio_fault f;
    struct tm_error err;
    long calls[6], fired, failures = 0, harmless = 0, reads_failed = 0;
    long rcalls = 0, p;
    int id, rc;
    size_t i;

    ASSERT_EQ(tmp_make(&t, "b"), 0);
    snprintf(path, sizeof path, "%s/table.tmbak", t.root);
    snprintf(tmpf, sizeof tmpf, "%s.tmp", path);
    for (i = 0; i < nm; i++) {
        f = (struct fsio_fault){masks[i], t.root, 0, 0, EIO, 0};
        id = fsio_fault_add(&f);
        ASSERT_EQ(bk_write(path, &err), 0);
        ASSERT_EQ(fsio_fault_stats(id, &calls[i], NULL), 0);
        fsio_fault_clear(id);
        ASSERT(calls[i] > 0);
        ASSERT_EQ(fsio_unlink(path), 0);
    }
    for (p = 0; p < BACKUP_POINTS; p++) {
        size_t mi = (size_t)rnd_below((long)nm);
        f = (struct fsio_fault){masks[mi], t.root, rnd_below(calls[mi]),
                                rnd_below(2) ? 1 : -1,
                                rnd_below(2) ? EIO : ENOSPC,
                                (int)rnd_below(2)};
        id = fsio_fault_add(&f);
        tm_error_clear(&err);
        rc = bk_write(path, &err);
        ASSERT_EQ(fsio_fault_stats(id, NULL, &fired), 0);
        fsio_fault_clear(id);
        ASSERT(fired > 0);
        if (rc == 0) {
            /* only a failed close of the directory, after the fsync
             * that made the file durable, is harmless */
            ASSERT_EQ(masks[mi] & FSIO_CLOSE, FSIO_CLOSE);
            harmless++;
            ASSERT_EQ(bk_read(path, &err), 0);
            ASSERT_EQ(fsio_unlink(path), 0);
            continue;
        }
        failures++;
        if (rc != TM_EIO || strstr(err.msg, path) == NULL ||
            strstr(err.msg, strerror(f.err)) == NULL)
            TEST_FAIL_("point %ld (ops 0x%x skip %ld): rc %d: %s", p, f.ops,
                       f.skip, rc, err.msg);
        ASSERT(!exists(path));
        ASSERT(!exists(tmpf));
        /* the next backup works */
        ASSERT_EQ(bk_write(path, &err), 0);
        ASSERT_EQ(bk_read(path, &err), 0);
        ASSERT_EQ(fsio_unlink(path), 0);
    }

    /* reads */
    ASSERT_EQ(bk_write(path, &err), 0);
    f = (struct fsio_fault){FSIO_READ | FSIO_OPEN, path, 0, 0, EIO, 0};
    id = fsio_fault_add(&f);
    ASSERT_EQ(bk_read(path, &err), 0);
    ASSERT_EQ(fsio_fault_stats(id, &rcalls, NULL), 0);
    fsio_fault_clear(id);
    for (i = 0; i < BACKUP_READ_POINTS; i++) {
        f = (struct fsio_fault){FSIO_READ | FSIO_OPEN, path,
                                rnd_below(rcalls), 1, EIO, 0};
        id = fsio_fault_add(&f);
        rc = bk_read(path, &err);
        fsio_fault_clear(id);
        ASSERT_EQ(rc, TM_EIO);
        ASSERT(strstr(err.msg, path) != NULL);
        ASSERT(strstr(err.msg, strerror(EIO)) != NULL);
        reads_failed++;
        ASSERT_EQ(bk_read(path, &err), 0);
    }
    printf("backup: %ld random fault points in the writer (open, write, "
           "fdatasync, close, rename, directory fsync; EIO/ENOSPC, torn "
           "writes): %ld failed with TM_EIO naming the file and leaving "
           "neither it nor .tmp, each followed by a good backup; %ld "
           "harmless (a directory's close); %ld read faults, each TM_EIO\n",
           p, failures, harmless, reads_failed);
    tmp_remove(&t);
}

/* ==== Allocation failures ==== */

struct alloc_figures {
    long points, failed, leaks;
};

/* The WAL's open (with replay of an existing log), append, sync, reader
 * and close with the k-th allocation failing. */
static int wal_alloc_once(const char *dir, struct model *m, long k,
                          int persistent, int *fired, long *leak)
{
    struct wal *w = NULL;
    struct wal_reader *r = NULL;
    struct wal_record rec;
    struct tm_error e;
    uint8_t p[700];
    uint64_t lsn;
    long live;
    int rc, n = 0, b;

    live = failalloc_live();
    failalloc_arm(k, persistent);
    rc = open_wal(dir, &w, &e);
    if (rc == 0) {
        for (b = 0; b < 3 && rc == 0; b++) {
            size_t len = payload_of(m->next_id, p);
            rc = wal_append(w, 1, 1, p, len, &lsn);
            if (rc == 0)
                m->next_id++, n++;
        }
        if (rc != 0)
            wal_discard(w);
        else if ((rc = wal_sync(w, &e)) == 0)
            for (b = 0; b < n; b++)
                m->acked[m->nacked++] = m->next_id - (uint64_t)n + (size_t)b;
        if (rc == 0)
            rc = wal_reader_open(dir, w, 1, &r, &e);
        while (rc == 0 && (rc = wal_reader_next(r, &rec, &e)) == 1)
            rc = 0;
        wal_reader_close(r);
        wal_close(w);
    }
    *fired = failalloc_disarm();
    *leak = failalloc_live() - live;
    CHECK_MSG(rc <= 0, "rc %d", rc);
    CHECK_MSG(rc == 0 || !*fired || rc == TM_ENOMEM || rc == TM_EIO,
              "k %ld: rc %d (%s)", k, rc, e.msg);
    return 0;
}

/* A log of 8 batches in a fresh directory, and its model. */
static int wal_alloc_base(struct tmp *t, struct model *m)
{
    struct wal *w;
    struct tm_error e;

    memset(m, 0, sizeof *m);
    m->next_id = 1;
    CHECK(tmp_make(t, "wal") == 0);
    CHECK(open_wal(t->dir, &w, &e) == 0);
    for (int b = 0; b < 8; b++)
        CHECK(run_batch(w, m, b, &e) == 0);
    wal_close(w);
    return 0;
}

static void test_wal_alloc(void)
{
    static struct model m;
    struct wal_figures fig = {0};
    struct alloc_figures af = {0};
    struct tmp t;
    struct wal *w;
    long k, leak;
    int fired, persistent;

    if (!FAILALLOC_AVAILABLE) {
        printf("wal allocation failures: skipped: %s\n",
               FAILALLOC_SKIP_REASON);
        return;
    }
    wl_init();
    /* warm up whatever libc allocates once */
    ASSERT_EQ(wal_alloc_base(&t, &m), 0);
    ASSERT_EQ(wal_alloc_once(t.dir, &m, 0, 0, &fired, &leak), 0);
    tmp_remove(&t);
    for (persistent = 0; persistent < 2; persistent++) {
        for (k = 1;; k++) {
            ASSERT_EQ(wal_alloc_base(&t, &m), 0);
            ASSERT_EQ(wal_alloc_once(t.dir, &m, k, persistent, &fired,
                                     &leak), 0);
            if (leak != 0)
                TEST_FAIL_("k %ld%s: %ld blocks leaked", k,
                           persistent ? " (and after)" : "", leak);
            /* what was acknowledged is there, and nothing else */
            ASSERT_EQ(verify_wal(t.dir, &m, 0, &w, &fig), 0);
            wal_close(w);
            tmp_remove(&t);
            if (!fired)
                break;
            af.points++;
        }
    }
    ASSERT_EQ(fig.lost, 0);
    printf("wal allocation failures: %ld points (every allocation of open+"
           "replay, append, sync, reader, close; one-off and from-then-on), "
           "each a clean error, 0 leaks, 0 acknowledged records lost\n",
           af.points);
}

static void test_backup_alloc(void)
{
    struct tmp t;
    char path[PATH_MAX], tmpf[PATH_MAX + 8];
    struct tm_error err;
    long k, live, wpoints = 0, rpoints = 0;
    int rc, fired, persistent;

    if (!FAILALLOC_AVAILABLE) {
        printf("backup allocation failures: skipped: %s\n",
               FAILALLOC_SKIP_REASON);
        return;
    }
    ASSERT_EQ(tmp_make(&t, "b"), 0);
    snprintf(path, sizeof path, "%s/table.tmbak", t.root);
    snprintf(tmpf, sizeof tmpf, "%s.tmp", path);
    ASSERT_EQ(bk_write(path, &err), 0); /* warm-up */
    ASSERT_EQ(bk_read(path, &err), 0);
    ASSERT_EQ(fsio_unlink(path), 0);
    for (persistent = 0; persistent < 2; persistent++) {
        for (k = 1;; k++) {
            live = failalloc_live();
            failalloc_arm(k, persistent);
            rc = bk_write(path, &err);
            fired = failalloc_disarm();
            if (failalloc_live() != live)
                TEST_FAIL_("writer, k %ld: %ld blocks leaked", k,
                           failalloc_live() - live);
            if (!fired) {
                ASSERT_EQ(rc, 0);
                ASSERT_EQ(fsio_unlink(path), 0);
                break;
            }
            wpoints++;
            if (rc == 0) { /* the failure was absorbed (zstd retries) */
                ASSERT_EQ(bk_read(path, &err), 0);
            } else {
                ASSERT(rc == TM_ENOMEM || rc == TM_EIO ||
                       rc == TM_EINTERNAL);
                ASSERT(err.msg[0] != '\0');
                if (exists(tmpf) || exists(path))
                    TEST_FAIL_("writer, k %ld: rc %d (%s) left %s", k, rc,
                               err.msg, exists(path) ? path : tmpf);
            }
            fsio_unlink(path);
        }
    }
    ASSERT_EQ(bk_write(path, &err), 0);
    for (persistent = 0; persistent < 2; persistent++) {
        for (k = 1;; k++) {
            live = failalloc_live();
            failalloc_arm(k, persistent);
            rc = bk_read(path, &err);
            fired = failalloc_disarm();
            if (failalloc_live() != live)
                TEST_FAIL_("reader, k %ld: %ld blocks leaked", k,
                           failalloc_live() - live);
            if (!fired) {
                ASSERT_EQ(rc, 0);
                break;
            }
            rpoints++;
            ASSERT(rc == 0 || rc == TM_ENOMEM || rc == TM_EIO ||
                   rc == TM_ECORRUPT);
            if (rc == TM_ECORRUPT) /* never: memory is not corruption */
                TEST_FAIL_("reader, k %ld: %s", k, err.msg);
        }
    }
    printf("backup allocation failures: %ld points in the writer, %ld in "
           "the reader, each a clean error, 0 leaks, no file left behind\n",
           wpoints, rpoints);
    tmp_remove(&t);
}

int main(void)
{
    const char *s = getenv("TM_FAULT_SEED");

    rng_state = s ? strtoull(s, NULL, 0) : (uint64_t)time(NULL) * 2654435761u;
    if (rng_state == 0)
        rng_state = 1;
    printf("test_fsio: seed %llu (TM_FAULT_SEED to repeat)\n",
           (unsigned long long)rng_state);
    fflush(stdout);
    fsio_track_paths();
    RUN(test_rules);
    RUN(test_threads);
    RUN(test_wal_faults);
    RUN(test_wal_read_faults);
    RUN(test_backup_faults);
    RUN(test_wal_alloc);
    RUN(test_backup_alloc);
    return TEST_DONE();
}
