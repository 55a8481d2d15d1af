/*
 * test_wal.c - unit tests for the change log (src/wal/wal.c).
 *
 * Every test works in a fresh directory made with mkdtemp under /tmp and
 * removed at the end (left behind when the test fails, for a look).
 * Records are generated from their LSN (type, time, length, bytes), so
 * any record read back can be checked exactly without keeping a copy.
 * File surgery (truncating, flipping bytes, appending garbage, deleting
 * segments) uses the on-disk layout documented in wal.c: a 40-byte
 * segment header, then records of 48 + len bytes (40-byte header, payload,
 * 8-byte check).
 */
#include "test.h"

#include "base/err.h"
#include "wal/wal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEG_HDR 40
#define REC_HDR 40
#define REC_OVERHEAD 48
#define MAX_SEGS 4096

/* Like ASSERT, for helpers that return int: 0 ok, -1 failed. */
#define CHECK(c)                                                              \
    do {                                                                      \
        if (!(c)) {                                                           \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,  \
                    #c);                                                      \
            return -1;                                                        \
        }                                                                     \
    } while (0)

/* ==== Generated records ==== */

typedef size_t (*len_fn)(uint64_t lsn);

/* 0..299 bytes, empty every tenth record. */
static size_t len_small(uint64_t n)
{
    return n % 10 == 0 ? 0 : (size_t)((n * 37) % 300);
}

static size_t len_200(uint64_t n)
{
    (void)n;
    return 200;
}

static uint8_t type_of(uint64_t n) { return (uint8_t)(n * 13 + 1); }

static int64_t time_of(uint64_t n)
{
    if (n % 7 == 3)
        return -(int64_t)n * 1000; /* before the epoch: still carried */
    return 1700000000000LL + (int64_t)n * 7;
}

static void fill_payload(uint8_t *p, size_t len, uint64_t n)
{
    size_t i;
    for (i = 0; i < len; i++)
        p[i] = (uint8_t)(n * 131 + i * 7 + (i >> 8));
}

static int append_range(struct wal *w, uint64_t first, uint64_t last,
                        len_fn lf)
{
    static uint8_t p[1 << 20];
    uint64_t n, lsn;

    for (n = first; n <= last; n++) {
        size_t len = lf(n);
        CHECK(len <= sizeof p);
        fill_payload(p, len, n);
        CHECK(wal_append(w, type_of(n), time_of(n), p, len, &lsn) == 0);
        CHECK(lsn == n);
        CHECK(wal_last_lsn(w) == n);
    }
    return 0;
}

/* Append first..last, one wal_sync every `every` records. */
static int append_synced(struct wal *w, uint64_t first, uint64_t last,
                         uint64_t every, len_fn lf)
{
    struct tm_error e;
    uint64_t n;

    for (n = first; n <= last; n += every) {
        uint64_t to = n + every - 1 < last ? n + every - 1 : last;
        CHECK(append_range(w, n, to, lf) == 0);
        CHECK(wal_sync(w, &e) == 0);
        CHECK(wal_synced_lsn(w) == to);
    }
    return 0;
}

static int check_record(const struct wal_record *r, uint64_t n, len_fn lf)
{
    static uint8_t p[1 << 20];
    size_t len = lf(n);

    CHECK(r->lsn == n);
    CHECK(r->type == type_of(n));
    CHECK(r->time_ms == time_of(n));
    CHECK(r->len == len);
    fill_payload(p, len, n);
    CHECK(len == 0 || memcmp(r->payload, p, len) == 0);
    return 0;
}

/* Read from `from` and expect exactly records first..last, then the end. */
static int verify_log(const char *dir, const struct wal *w, uint64_t from,
                      uint64_t first, uint64_t last, len_fn lf)
{
    struct wal_reader *r;
    struct wal_record rec;
    struct tm_error e;
    uint64_t n;
    int rc;

    tm_error_clear(&e);
    rc = wal_reader_open(dir, w, from, &r, &e);
    if (rc != 0)
        fprintf(stderr, "reader: %s\n", e.msg);
    CHECK(rc == 0);
    for (n = first; n <= last; n++) {
        rc = wal_reader_next(r, &rec, &e);
        if (rc != 1)
            fprintf(stderr, "at %llu: rc %d %s\n", (unsigned long long)n, rc,
                    e.msg);
        if (rc != 1 || check_record(&rec, n, lf) != 0) {
            wal_reader_close(r);
            CHECK(!"record mismatch");
        }
    }
    rc = wal_reader_next(r, &rec, &e);
    wal_reader_close(r);
    CHECK(rc == 0);
    return 0;
}

static int open_log(const char *dir, size_t seg, int sync, struct wal **w)
{
    struct wal_options o = {dir, seg, sync};
    struct tm_error e;
    int rc;

    tm_error_clear(&e);
    rc = wal_open(&o, w, &e);
    if (rc != 0)
        fprintf(stderr, "wal_open: %s\n", e.msg);
    CHECK(rc == 0);
    return 0;
}

/* Open expecting failure; the message lands in `e`. */
static int open_fails(const char *dir, int code, struct tm_error *e)
{
    struct wal_options o = {dir, 512, 0};
    struct wal *w = NULL;
    int rc;

    tm_error_clear(e);
    rc = wal_open(&o, &w, e);
    if (rc == 0)
        wal_close(w);
    CHECK(rc == code);
    CHECK(w == NULL);
    return 0;
}

/* ==== Files ==== */

struct tmp {
    char root[64];
    char dir[128]; /* root/wal: created by wal_open */
};

static int tmp_make(struct tmp *t)
{
    snprintf(t->root, sizeof t->root, "/tmp/tm_test_wal_XXXXXX");
    CHECK(mkdtemp(t->root) != NULL);
    snprintf(t->dir, sizeof t->dir, "%s/wal", t->root);
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

static void seg_name(char *out, size_t n, const char *dir, uint64_t first)
{
    snprintf(out, n, "%s/%020llu.wal", dir, (unsigned long long)first);
}

static uint8_t *read_all(const char *path, size_t *len)
{
    struct stat st;
    uint8_t *p;
    int fd = open(path, O_RDONLY);

    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    p = malloc((size_t)st.st_size + 1);
    if (p != NULL && read(fd, p, (size_t)st.st_size) != st.st_size) {
        free(p);
        p = NULL;
    }
    close(fd);
    *len = (size_t)st.st_size;
    return p;
}

static int write_all(const char *path, const void *p, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
    CHECK(fd >= 0);
    CHECK(write(fd, p, len) == (ssize_t)len);
    close(fd);
    return 0;
}

static int append_file(const char *path, const void *p, size_t len)
{
    int fd = open(path, O_WRONLY | O_APPEND);
    CHECK(fd >= 0);
    CHECK(write(fd, p, len) == (ssize_t)len);
    close(fd);
    return 0;
}

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static int flip_byte(const char *path, long long off)
{
    uint8_t c;
    int fd = open(path, O_RDWR);
    CHECK(fd >= 0);
    CHECK(pread(fd, &c, 1, off) == 1);
    c ^= 0x5a;
    CHECK(pwrite(fd, &c, 1, off) == 1);
    close(fd);
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* First LSNs of the segment files in `dir`, ascending. */
static size_t list_segs(const char *dir, uint64_t *out, size_t max)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0;

    if (d == NULL)
        return 0;
    while ((de = readdir(d)) != NULL && n < max) {
        if (strlen(de->d_name) == 24 && strcmp(de->d_name + 20, ".wal") == 0)
            out[n++] = strtoull(de->d_name, NULL, 10);
    }
    closedir(d);
    qsort(out, n, sizeof *out, cmp_u64);
    return n;
}

/* Offset of record `lsn` in the segment starting at `first`. */
static long long rec_off(uint64_t first, uint64_t lsn, len_fn lf)
{
    long long off = SEG_HDR;
    uint64_t n;
    for (n = first; n < lsn; n++)
        off += REC_OVERHEAD + (long long)lf(n);
    return off;
}

/* Every file of a directory, to prove that a failed open changed nothing. */
struct snap {
    size_t n;
    char names[64][64];
    uint8_t *data[64];
    size_t len[64];
};

static int snap_take(const char *dir, struct snap *s)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[PATH_MAX];

    CHECK(d != NULL);
    s->n = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        CHECK(s->n < 64 && strlen(de->d_name) < 64);
        memcpy(s->names[s->n], de->d_name, strlen(de->d_name) + 1);
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        s->data[s->n] = read_all(path, &s->len[s->n]);
        CHECK(s->data[s->n] != NULL);
        s->n++;
    }
    closedir(d);
    return 0;
}

static void snap_free(struct snap *s)
{
    size_t i;
    for (i = 0; i < s->n; i++)
        free(s->data[i]);
    s->n = 0;
}

static int snap_same(const char *dir, struct snap *before)
{
    struct snap now;
    size_t i, j;
    int same = 1;

    CHECK(snap_take(dir, &now) == 0);
    same = now.n == before->n;
    for (i = 0; same && i < now.n; i++) {
        for (j = 0; j < before->n; j++)
            if (strcmp(now.names[i], before->names[j]) == 0)
                break;
        same = j < before->n && now.len[i] == before->len[j] &&
               memcmp(now.data[i], before->data[j], now.len[i]) == 0;
    }
    snap_free(&now);
    CHECK(same);
    return 0;
}

/* stderr into a file, to check the warnings wal_open logs. */
static int capture_begin(const char *path)
{
    int saved, fd;

    fflush(stderr);
    saved = dup(2);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    close(fd);
    return saved;
}

static char *capture_end(int saved, const char *path)
{
    size_t len;
    uint8_t *p;

    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    p = read_all(path, &len);
    if (p != NULL)
        p[len] = '\0';
    return (char *)p;
}

/* ==== Round trips ==== */

static void test_roundtrip(void)
{
    struct tmp t;
    struct wal *w;
    struct tm_error e;
    struct wal_reader *r;
    struct wal_record rec;
    uint8_t *big = malloc(5 << 20);
    static const int64_t times[] = {INT64_MIN, -1, 0, INT64_MAX};
    uint64_t lsn;
    size_t i;

    ASSERT(big != NULL);
    ASSERT_EQ(tmp_make(&t), 0);
    /* The directory does not exist yet: wal_open creates it. */
    ASSERT_EQ(open_log(t.dir, 0, 1, &w), 0);
    ASSERT_EQ(wal_last_lsn(w), 0);
    ASSERT_EQ(wal_synced_lsn(w), 0);
    ASSERT_EQ(append_synced(w, 1, 30, 4, len_small), 0);
    /* Odd ones: every time extreme, an empty and a 5 MiB payload. */
    for (i = 0; i < 4; i++) {
        ASSERT_EQ(wal_append(w, (uint8_t)(250 + i), times[i], "", 0, &lsn),
                  0);
        ASSERT_EQ(lsn, 31 + i);
    }
    for (i = 0; i < (5u << 20); i++)
        big[i] = (uint8_t)(i * 2654435761u >> 13);
    ASSERT_EQ(wal_append(w, 255, 42, big, 5u << 20, &lsn), 0);
    ASSERT_EQ(lsn, 35);
    ASSERT_EQ(wal_append(w, 0, 43, NULL, 0, &lsn), 0);
    ASSERT_EQ(lsn, 36);
    ASSERT_EQ(wal_synced_lsn(w), 30);
    ASSERT_EQ(wal_sync(w, &e), 0);
    ASSERT_EQ(wal_synced_lsn(w), 36);
    wal_close(w);

    ASSERT_EQ(open_log(t.dir, 0, 1, &w), 0);
    ASSERT_EQ(wal_last_lsn(w), 36);
    ASSERT_EQ(wal_synced_lsn(w), 36);
    wal_close(w);
    ASSERT_EQ(wal_reader_open(t.dir, NULL, 0, &r, &e), 0);
    for (lsn = 1; lsn <= 30; lsn++) {
        ASSERT_EQ(wal_reader_next(r, &rec, &e), 1);
        ASSERT_EQ(check_record(&rec, lsn, len_small), 0);
    }
    for (i = 0; i < 4; i++) {
        ASSERT_EQ(wal_reader_next(r, &rec, &e), 1);
        ASSERT_EQ(rec.lsn, 31 + i);
        ASSERT_EQ(rec.type, 250 + i);
        ASSERT(rec.time_ms == times[i]);
        ASSERT_EQ(rec.len, 0);
    }
    ASSERT_EQ(wal_reader_next(r, &rec, &e), 1);
    ASSERT_EQ(rec.lsn, 35);
    ASSERT_EQ(rec.type, 255);
    ASSERT_EQ(rec.len, 5u << 20);
    ASSERT_MEM_EQ(rec.payload, big, 5u << 20);
    ASSERT_EQ(wal_reader_next(r, &rec, &e), 1);
    ASSERT_EQ(rec.lsn, 36);
    ASSERT_EQ(rec.len, 0);
    ASSERT_EQ(wal_reader_next(r, &rec, &e), 0);
    ASSERT_EQ(wal_reader_next(r, &rec, &e), 0);
    wal_reader_close(r);
    free(big);
    tmp_remove(&t);
}

static void test_max_payload(void)
{
    struct tmp t;
    struct wal *w;
    struct tm_error e;
    struct wal_reader *r;
    struct wal_record rec;
    uint8_t *p = calloc(1, WAL_RECORD_MAX_PAYLOAD + 1);
    uint64_t lsn = 99;

    ASSERT(p != NULL);
    p[0] = 1;
    p[WAL_RECORD_MAX_PAYLOAD - 1] = 2;
    ASSERT_EQ(tmp_make(&t), 0);
    ASSERT_EQ(open_log(t.dir, 1 << 20, 0, &w), 0);
    ASSERT_EQ(wal_append(w, 1, 1, p, WAL_RECORD_MAX_PAYLOAD + 1, &lsn),
              TM_EVALIDATION);
    ASSERT_EQ(lsn, 99);
    ASSERT_EQ(wal_last_lsn(w), 0);
    ASSERT_EQ(wal_append(w, 1, 1, "a", 1, &lsn), 0);
    /* Larger than a segment: a segment of its own. */
    ASSERT_EQ(wal_append(w, 2, 2, p, WAL_RECORD_MAX_PAYLOAD, &lsn), 0);
    ASSERT_EQ(lsn, 2);
    ASSERT_EQ(wal_append(w, 3, 3, "b", 1, &lsn), 0);
    ASSERT_EQ(wal_sync(w, &e), 0);
    wal_close(w);
    ASSERT_EQ(open_log(t.dir, 1 << 20, 0, &w), 0);
    ASSERT_EQ(wal_last_lsn(w), 3);
    ASSERT_EQ(wal_reader_open(t.dir, w, 2, &r, &e), 0);
    ASSERT_EQ(wal_reader_next(r, &rec, &e), 1);
    ASSERT_EQ(rec.lsn, 2);
    ASSERT_EQ(rec.len, WAL_RECORD_MAX_PAYLOAD);
    ASSERT_MEM_EQ(rec.payload, p, WAL_RECORD_MAX_PAYLOAD);
    ASSERT_EQ(wal_reader_next(r, &rec, &e), 1);
    ASSERT_EQ(rec.lsn, 3);
    ASSERT_EQ(wal_reader_next(r, &rec, &e), 0);
    wal_reader_close(r);
    wal_close(w);
    free(p);
    tmp_remove(&t);
}

static void test_lsn_continuity(void)
{
    struct tmp t;
    struct wal *w;

    ASSERT_EQ(tmp_make(&t), 0);
    ASSERT_EQ(open_log(t.dir, 0, 1, &w), 0);
    ASSERT_EQ(append_synced(w, 1, 5, 5, len_small), 0);
    wal_close(w);
    ASSERT_EQ(open_log(t.dir, 0, 1, &w), 0);
    ASSERT_EQ(wal_last_lsn(w), 5);
    ASSERT_EQ(append_range(w, 6, 12, len_small), 0);
    wal_close(w); /* syncs 6..12 */
    ASSERT_EQ(open_log(t.dir, 0, 1, &w), 0);
    ASSERT_EQ(wal_last_lsn(w), 12);
    ASSERT_EQ(append_synced(w, 13, 14, 1, len_small), 0);
    wal_close(w);
    ASSERT_EQ(verify_log(t.dir, NULL, 0, 1, 14, len_small), 0);
    ASSERT_EQ(verify_log(t.dir, NULL, 12, 12, 14, len_small), 0);
    ASSERT_EQ(verify_log(t.dir, NULL, 15, 15, 14, len_small), 0);
    tmp_remove(&t);
}

static void test_segment_roll(void)
{
    struct tmp t;
    struct wal *w;
    uint64_t segs[MAX_SEGS];
    size_t n, i;
    char path[PATH_MAX];

    ASSERT_EQ(tmp_make(&t), 0);
    ASSERT_EQ(open_log(t.dir, 512, 1, &w), 0);
    ASSERT_EQ(append_synced(w, 1, 40, 1, len_small), 0);
    ASSERT_EQ(append_synced(w, 41, 120, 13, len_small), 0);
    /* One batch across many segments. */
    ASSERT_EQ(append_synced(w, 121, 200, 80, len_small), 0);
    wal_close(w);

    n = list_segs(t.dir, segs, MAX_SEGS);
    ASSERT(n > 10);
    ASSERT_EQ(segs[0], 1);
    for (i = 0; i < n; i++) {
        uint64_t last = i + 1 < n ? segs[i + 1] - 1 : 200;
        long long want = rec_off(segs[i], last + 1, len_small);
        seg_name(path, sizeof path, t.dir, segs[i]);
        ASSERT_EQ(file_size(path), want);
        /* Within the limit, unless one record is larger by itself. */
        ASSERT(want <= 512 || last == segs[i]);
        /* And full: the next record would not have fitted. */
        if (i + 1 < n)
            ASSERT(want + REC_OVERHEAD + (long long)len_small(last + 1) >
                   512);
    }
    ASSERT_EQ(open_log(t.dir, 512, 1, &w), 0);
    ASSERT_EQ(wal_last_lsn(w), 200);
    ASSERT_EQ(verify_log(t.dir, w, 0, 1, 200, len_small), 0);
    /* A different segment size on reopen is fine: it only rules rolls. */
    wal_close(w);
    ASSERT_EQ(open_log(t.dir, 4096, 1, &w), 0);
    ASSERT_EQ(append_synced(w, 201, 260, 7, len_small), 0);
    ASSERT_EQ(verify_log(t.dir, w, 1, 1, 260, len_small), 0);
    wal_close(w);
    tmp_remove(&t);
}

/* wal_synced_point: the newest segment and its synced length, and an
 * append not yet synced does not move it. */
static void test_synced_point(void)
{
    struct tmp t;
    struct wal *w;
    uint64_t segs[MAX_SEGS], first, off;
    size_t n;
    char path[PATH_MAX];

    ASSERT_EQ(tmp_make(&t), 0);
    ASSERT_EQ(open_log(t.dir, 512, 1, &w), 0);
    wal_synced_point(w, &first, &off);
    ASSERT_EQ(first, 1);
    ASSERT_EQ(off, 40); /* the header of the empty log's segment */
    for (uint64_t k = 1; k <= 60; k += 6) {
        ASSERT_EQ(append_synced(w, k, k + 5, 3, len_small), 0);
        n = list_segs(t.dir, segs, MAX_SEGS);
        wal_synced_point(w, &first, &off);
        ASSERT_EQ(first, segs[n - 1]);
        seg_name(path, sizeof path, t.dir, first);
        ASSERT_EQ((long long)off, file_size(path));
    }
    ASSERT(n > 3);
    ASSERT_EQ(append_range(w, 61, 70, len_small), 0);
    {
        uint64_t f2, o2;
        wal_synced_point(w, &f2, &o2);
        ASSERT_EQ(f2, first);
        ASSERT_EQ(o2, off);
    }
    wal_close(w);
    /* reopened: the point is where the log ends */
    ASSERT_EQ(open_log(t.dir, 512, 1, &w), 0);
    n = list_segs(t.dir, segs, MAX_SEGS);
    wal_synced_point(w, &first, &off);
    ASSERT_EQ(first, segs[n - 1]);
    seg_name(path, sizeof path, t.dir, first);
    ASSERT_EQ((long long)off, file_size(path));
    wal_close(w);
    tmp_remove(&t);
}

static void test_reader_from_middle(void)
{
    struct tmp t;
    struct wal *w;
    struct tm_error e;
    struct wal_reader *r;
    uint64_t segs[MAX_SEGS], from;
    size_t n;

    ASSERT_EQ(tmp_make(&t), 0);
    ASSERT_EQ(open_log(t.dir, 1024, 0, &w), 0);
    ASSERT_EQ(append_synced(w, 1, 100, 3, len_small), 0);
    n = list_segs(t.dir, segs, MAX_SEGS);
    ASSERT(n >= 4);
    ASSERT(segs[3] - segs[2] >= 3);
    /* The middle of a later segment, its first and its last record. */
    from = segs[2] + 1;
    ASSERT_EQ(verify_log(t.dir, w, from, from, 100, len_small), 0);
    ASSERT_EQ(verify_log(t.dir, NULL, from, from, 100, len_small), 0);
    ASSERT_EQ(verify_log(t.dir, w, segs[2], segs[2], 100, len_small), 0);
    ASSERT_EQ(verify_log(t.dir, w, segs[3] - 1, segs[3] - 1, 100,
                         len_small), 0);
    ASSERT_EQ(verify_log(t.dir, w, 100, 100, 100, len_small), 0);
    ASSERT_EQ(verify_log(t.dir, w, 101, 101, 100, len_small), 0);
    ASSERT_EQ(verify_log(t.dir, NULL, 1000, 1000, 100, len_small), 0);
    /* Positioned past the end, a live reader picks up what comes. */
    ASSERT_EQ(wal_reader_open(t.dir, w, 105, &r, &e), 0);
    ASSERT_EQ(append_synced(w, 101, 110, 10, len_small), 0);
    {
        struct wal_record rec;
        uint64_t lsn;
        for (lsn = 105; lsn <= 110; lsn++) {
            ASSERT_EQ(wal_reader_next(r, &rec, &e), 1);
            ASSERT_EQ(check_record(&rec, lsn, len_small), 0);
        }
        ASSERT_EQ(wal_reader_next(r, &rec, &e), 0);
    }
    wal_reader_close(r);
    wal_close(w);
    tmp_remove(&t);
}

/* ==== Torn tails ==== */

/* Build a log of three or more segments (1..last, sync off), copy its
 * files, and return them. */
struct copy {
    size_t n;
    uint64_t first[MAX_SEGS];
    uint8_t *data[MAX_SEGS];
    size_t len[MAX_SEGS];
};

static int copy_take(const char *dir, struct copy *c)
{
    char path[PATH_MAX];
    size_t i;

    c->n = list_segs(dir, c->first, MAX_SEGS);
    for (i = 0; i < c->n; i++) {
        seg_name(path, sizeof path, dir, c->first[i]);
        c->data[i] = read_all(path, &c->len[i]);
        CHECK(c->data[i] != NULL);
    }
    return 0;
}

/* Recreate `dir` holding the copy, with the last segment cut to `cut`. */
static int copy_put(const char *dir, const struct copy *c, size_t cut)
{
    char path[PATH_MAX];
    size_t i;
    uint64_t segs[MAX_SEGS];
    size_t n = list_segs(dir, segs, MAX_SEGS);

    for (i = 0; i < n; i++) {
        seg_name(path, sizeof path, dir, segs[i]);
        CHECK(unlink(path) == 0);
    }
    for (i = 0; i < c->n; i++) {
        seg_name(path, sizeof path, dir, c->first[i]);
        CHECK(write_all(path, c->data[i],
                        i + 1 == c->n ? cut : c->len[i]) == 0);
    }
    return 0;
}

static void copy_free(struct copy *c)
{
    size_t i;
    for (i = 0; i < c->n; i++)
        free(c->data[i]);
    c->n = 0;
}

static void test_torn_every_offset(void)
{
    struct tmp t;
    struct wal *w;
    struct copy c;
    char path[PATH_MAX], logf[PATH_MAX];
    uint64_t first, last = 40, expect;
    size_t cut;
    int saved, orc;

    ASSERT_EQ(tmp_make(&t), 0);
    snprintf(logf, sizeof logf, "%s/stderr", t.root);
    ASSERT_EQ(open_log(t.dir, 1024, 0, &w), 0);
    ASSERT_EQ(append_synced(w, 1, last, 2, len_small), 0);
    wal_close(w);
    ASSERT_EQ(copy_take(t.dir, &c), 0);
    ASSERT(c.n >= 3);
    first = c.first[c.n - 1];
    ASSERT(last - first >= 2);
    seg_name(path, sizeof path, t.dir, first);

    /* Every length of the last segment, from empty to one byte short:
     * a torn header, a clean cut, and every byte inside every record. */
    for (cut = 0; cut < c.len[c.n - 1]; cut++) {
        long long keep;
        ASSERT_EQ(copy_put(t.dir, &c, cut), 0);
        expect = first - 1;
        while (expect < last &&
               rec_off(first, expect + 2, len_small) <= (long long)cut)
            expect++;
        keep = cut < SEG_HDR ? SEG_HDR : rec_off(first, expect + 1,
                                                  len_small);
        saved = capture_begin(logf);
        w = NULL;
        orc = open_log(t.dir, 1024, 0, &w);
        {
            char *msg = capture_end(saved, logf);
            if (orc == 0 && keep != (long long)cut) {
                /* The warning names the file, offset and bytes. */
                char want[PATH_MAX + 64];
                ASSERT(msg != NULL && strstr(msg, "WARN") != NULL);
                ASSERT(strstr(msg, path) != NULL);
                if (cut >= SEG_HDR) {
                    snprintf(want, sizeof want, "%lld bytes at offset %lld",
                             (long long)cut - keep, keep);
                    ASSERT(strstr(msg, want) != NULL);
                }
            }
            free(msg);
        }
        ASSERT_EQ(orc, 0);
        ASSERT_EQ(wal_last_lsn(w), expect);
        ASSERT_EQ(file_size(path), keep);
        ASSERT_EQ(verify_log(t.dir, w, 0, 1, expect, len_small), 0);
        /* Appending after the repair works and survives a reopen. */
        ASSERT_EQ(append_synced(w, expect + 1, last + 3, 3, len_small), 0);
        wal_close(w);
        ASSERT_EQ(open_log(t.dir, 1024, 0, &w), 0);
        ASSERT_EQ(wal_last_lsn(w), last + 3);
        ASSERT_EQ(verify_log(t.dir, w, 0, 1, last + 3, len_small), 0);
        wal_close(w);
    }
    copy_free(&c);
    tmp_remove(&t);
}

/* Open a log whose last segment got `junk` appended: the junk goes, the
 * records stay, and the log works on.  With `junk` NULL, the junk is the
 * first `len` bytes of the segment's own first record: a record whose
 * header is intact and whose payload never made it. */
static int torn_junk(const char *dir, const void *junk, size_t len)
{
    struct wal *w;
    char path[PATH_MAX];
    uint64_t segs[MAX_SEGS];
    size_t n;
    long long before;

    CHECK(open_log(dir, 1024, 1, &w) == 0);
    CHECK(append_synced(w, wal_last_lsn(w) + 1, wal_last_lsn(w) + 10, 3,
                        len_small) == 0);
    n = wal_last_lsn(w);
    wal_close(w);
    CHECK(list_segs(dir, segs, MAX_SEGS) > 0);
    seg_name(path, sizeof path, dir, segs[list_segs(dir, segs, MAX_SEGS) - 1]);
    before = file_size(path);
    if (junk == NULL) {
        size_t slen;
        uint8_t *seg = read_all(path, &slen);
        CHECK(seg != NULL && slen >= SEG_HDR + len);
        CHECK(append_file(path, seg + SEG_HDR, len) == 0);
        free(seg);
    } else {
        CHECK(append_file(path, junk, len) == 0);
    }
    CHECK(open_log(dir, 1024, 1, &w) == 0);
    CHECK(wal_last_lsn(w) == n);
    CHECK(file_size(path) == before);
    CHECK(verify_log(dir, w, 0, 1, n, len_small) == 0);
    CHECK(append_synced(w, n + 1, n + 4, 2, len_small) == 0);
    wal_close(w);
    CHECK(open_log(dir, 1024, 1, &w) == 0);
    CHECK(wal_last_lsn(w) == n + 4);
    CHECK(verify_log(dir, w, 0, 1, n + 4, len_small) == 0);
    wal_close(w);
    return 0;
}

static void test_torn_junk(void)
{
    struct tmp t;
    uint8_t junk[8192];
    uint64_t x = 0x9e3779b97f4a7c15ull;
    size_t i;

    ASSERT_EQ(tmp_make(&t), 0);
    for (i = 0; i < sizeof junk; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        junk[i] = (uint8_t)x;
    }
    ASSERT_EQ(torn_junk(t.dir, junk, sizeof junk), 0);    /* garbage */
    ASSERT_EQ(torn_junk(t.dir, junk, 3), 0);              /* a few bytes */
    memset(junk, 0, sizeof junk);
    ASSERT_EQ(torn_junk(t.dir, junk, sizeof junk), 0);    /* zeros */
    ASSERT_EQ(torn_junk(t.dir, junk, 40), 0);             /* a zero header */
    memset(junk, 0xff, sizeof junk);
    ASSERT_EQ(torn_junk(t.dir, junk, 100), 0);            /* 0xff: huge len */
    ASSERT_EQ(torn_junk(t.dir, NULL, REC_HDR + 5), 0); /* payload lost */
    ASSERT_EQ(torn_junk(t.dir, NULL, REC_HDR - 1), 0); /* header cut */
    tmp_remove(&t);
}

static void test_torn_header(void)
{
    struct tmp t;
    struct wal *w;
    char path[PATH_MAX];
    uint8_t *hdr, zeros[4096] = {0};
    size_t len;
    uint64_t segs[MAX_SEGS];
    size_t n;

    ASSERT_EQ(tmp_make(&t), 0);
    /* A fresh log that crashed right after creating its first segment. */
    ASSERT_EQ(open_log(t.dir, 600, 1, &w), 0);
    wal_close(w);
    seg_name(path, sizeof path, t.dir, 1);
    hdr = read_all(path, &len);
    ASSERT(hdr != NULL);
    ASSERT_EQ(len, SEG_HDR);
    ASSERT_EQ(write_all(path, "", 0), 0);
    ASSERT_EQ(open_log(t.dir, 600, 1, &w), 0);
    ASSERT_EQ(wal_last_lsn(w), 0);
    ASSERT_EQ(file_size(path), SEG_HDR);
    ASSERT_EQ(append_synced(w, 1, 3, 3, len_small), 0);
    wal_close(w);
    ASSERT_EQ(verify_log(t.dir, NULL, 0, 1, 3, len_small), 0);
    /* Half a header. */
    ASSERT_EQ(write_all(path, hdr, 17), 0);
    ASSERT_EQ(open_log(t.dir, 600, 1, &w), 0);
    ASSERT_EQ(wal_last_lsn(w), 0);
    ASSERT_EQ(append_synced(w, 1, 30, 4, len_small), 0);
    wal_close(w);
    free(hdr);

    /* A later segment with half a header, and one that is all zeros. */
    n = list_segs(t.dir, segs, MAX_SEGS);
    ASSERT(n >= 3);
    seg_name(path, sizeof path, t.dir, segs[n - 1]);
    hdr = read_all(path, &len);
    ASSERT(hdr != NULL);
    ASSERT_EQ(write_all(path, hdr, 25), 0);
    ASSERT_EQ(open_log(t.dir, 600, 1, &w), 0);
    ASSERT_EQ(wal_last_lsn(w), segs[n - 1] - 1);
    ASSERT_EQ(file_size(path), SEG_HDR);
    ASSERT_EQ(verify_log(t.dir, w, 0, 1, segs[n - 1] - 1, len_small), 0);
    ASSERT_EQ(append_synced(w, segs[n - 1], 30, 5, len_small), 0);
    wal_close(w);
    ASSERT_EQ(write_all(path, zeros, sizeof zeros), 0);
    ASSERT_EQ(open_log(t.dir, 600, 1, &w), 0);
    ASSERT_EQ(wal_last_lsn(w), segs[n - 1] - 1);
    ASSERT_EQ(file_size(path), SEG_HDR);
    ASSERT_EQ(append_synced(w, segs[n - 1], 30, 5, len_small), 0);
    wal_close(w);
    ASSERT_EQ(verify_log(t.dir, NULL, 0, 1, 30, len_small), 0);
    free(hdr);
    tmp_remove(&t);
}

/* A crash during one wal_sync can leave a later page of the batch on disk
 * and an earlier one not: damage with only records of the same batch
 * after it is still a torn tail.  One record of a later batch after it
 * is corruption. */
static void test_torn_batch(void)
{
    struct tmp t;
    struct wal *w;
    struct tm_error e;
    struct snap s;
    char path[PATH_MAX];

    ASSERT_EQ(tmp_make(&t), 0);
    ASSERT_EQ(open_log(t.dir, 0, 1, &w), 0);
    ASSERT_EQ(append_synced(w, 1, 5, 1, len_small), 0);
    ASSERT_EQ(append_synced(w, 6, 10, 5, len_small), 0); /* one batch */
    wal_close(w);
    seg_name(path, sizeof path, t.dir, 1);
    ASSERT_EQ(flip_byte(path, rec_off(1, 7, len_small) + REC_HDR + 3), 0);
    ASSERT_EQ(open_log(t.dir, 0, 1, &w), 0);
    ASSERT_EQ(wal_last_lsn(w), 6);
    ASSERT_EQ(file_size(path), rec_off(1, 7, len_small));
    ASSERT_EQ(append_synced(w, 7, 10, 4, len_small), 0);
    ASSERT_EQ(append_synced(w, 11, 11, 1, len_small), 0);
    wal_close(w);
    ASSERT_EQ(verify_log(t.dir, NULL, 0, 1, 11, len_small), 0);

    /* Now record 11 (its own, later batch) follows the damage. */
    ASSERT_EQ(flip_byte(path, rec_off(1, 8, len_small) + REC_HDR + 3), 0);
    ASSERT_EQ(snap_take(t.dir, &s), 0);
    ASSERT_EQ(open_fails(t.dir, TM_ECORRUPT, &e), 0);
    ASSERT(strstr(e.msg, "checksum mismatch in record 8") != NULL);
    ASSERT(strstr(e.msg, "a valid record (LSN 11) follows") != NULL);
    ASSERT_EQ(snap_same(t.dir, &s), 0);
    snap_free(&s);
    tmp_remove(&t);
}

/* ==== Corruption ==== */

/* The message names the file and the offset, and says what to do. */
static int msg_names(const struct tm_error *e, const char *dir,
                     uint64_t first, long long off, const char *why)
{
    char want[PATH_MAX + 64];

    snprintf(want, sizeof want, "change log corrupt: %s/%020llu.wal at offset "
             "%lld: ", dir, (unsigned long long)first, off);
    if (strstr(e->msg, want) == NULL || strstr(e->msg, why) == NULL ||
        strstr(e->msg, "Restore the data directory from a backup") == NULL)
        fprintf(stderr, "message: %s\nwanted: %s ... %s\n", e->msg, want, why);
    CHECK(strstr(e->msg, want) != NULL);
    CHECK(strstr(e->msg, why) != NULL);
    CHECK(strstr(e->msg, "Restore the data directory from a backup") !=
          NULL);
    return 0;
}

/* Damage `path` at `off` with `fn`, expect TM_ECORRUPT naming (first, at)
 * with `why`, no change to any file, and the same error from a reader;
 * then undo the damage by restoring the snapshot taken before. */
static int expect_corrupt(const char *dir, const char *path, uint64_t first,
                          long long at, const char *why)
{
    struct tm_error e;
    struct snap s;
    struct wal_reader *r = NULL;
    struct wal_record rec;
    int rc;

    CHECK(snap_take(dir, &s) == 0);
    CHECK(open_fails(dir, TM_ECORRUPT, &e) == 0);
    CHECK(msg_names(&e, dir, first, at, why) == 0);
    CHECK(snap_same(dir, &s) == 0);
    /* A reader refuses the same damage. */
    rc = wal_reader_open(dir, NULL, 0, &r, &e);
    if (rc == 0)
        while ((rc = wal_reader_next(r, &rec, &e)) == 1)
            ;
    wal_reader_close(r);
    CHECK(rc == TM_ECORRUPT);
    CHECK(strstr(e.msg, path) != NULL);
    snap_free(&s);
    return 0;
}

static void test_corrupt_middle(void)
{
    struct tmp t;
    struct wal *w;
    char path[PATH_MAX];
    uint8_t *orig, *rec3;
    size_t len;
    long long off4 = rec_off(1, 4, len_small);
    long long off11;

    ASSERT_EQ(tmp_make(&t), 0);
    ASSERT_EQ(open_log(t.dir, 0, 1, &w), 0);
    ASSERT_EQ(append_synced(w, 1, 10, 1, len_small), 0);
    wal_close(w);
    seg_name(path, sizeof path, t.dir, 1);
    orig = read_all(path, &len);
    ASSERT(orig != NULL);

    /* One byte of payload. */
    ASSERT_EQ(flip_byte(path, off4 + REC_HDR + 1), 0);
    ASSERT_EQ(expect_corrupt(t.dir, path, 1, off4,
                             "checksum mismatch in record 4, and a valid "
                             "record (LSN 5) follows at offset"), 0);
    ASSERT_EQ(write_all(path, orig, len), 0);
    /* One byte of a header (the LSN). */
    ASSERT_EQ(flip_byte(path, off4 + 9), 0);
    ASSERT_EQ(expect_corrupt(t.dir, path, 1, off4,
                             "header checksum mismatch in record 4"), 0);
    ASSERT_EQ(write_all(path, orig, len), 0);
    /* The record check itself. */
    ASSERT_EQ(flip_byte(path, rec_off(1, 5, len_small) - 2), 0);
    ASSERT_EQ(expect_corrupt(t.dir, path, 1, off4,
                             "checksum mismatch in record 4"), 0);
    ASSERT_EQ(write_all(path, orig, len), 0);
    /* A valid record where another LSN belongs: record 3 again. */
    off11 = (long long)len;
    rec3 = orig + rec_off(1, 3, len_small);
    ASSERT_EQ(append_file(path, rec3, REC_OVERHEAD + len_small(3)), 0);
    ASSERT_EQ(expect_corrupt(t.dir, path, 1, off11,
                             "LSN out of sequence: expected record 11, "
                             "found 3"), 0);
    ASSERT_EQ(write_all(path, orig, len), 0);
    /* The header of the only (last) segment, not torn but damaged. */
    ASSERT_EQ(flip_byte(path, 20), 0);
    ASSERT_EQ(expect_corrupt(t.dir, path, 1, 0,
                             "segment header checksum mismatch"), 0);
    ASSERT_EQ(write_all(path, orig, len), 0);
    ASSERT_EQ(flip_byte(path, 0), 0);
    ASSERT_EQ(expect_corrupt(t.dir, path, 1, 0, "bad magic"), 0);
    ASSERT_EQ(write_all(path, orig, len), 0);

    ASSERT_EQ(open_log(t.dir, 0, 1, &w), 0);
    ASSERT_EQ(wal_last_lsn(w), 10);
    wal_close(w);
    free(orig);
    tmp_remove(&t);
}

static void test_corrupt_nonlast(void)
{
    struct tmp t;
    struct wal *w;
    char path[PATH_MAX];
    uint64_t segs[MAX_SEGS], lastrec;
    size_t n, len;
    uint8_t *orig;
    long long off;

    ASSERT_EQ(tmp_make(&t), 0);
    ASSERT_EQ(open_log(t.dir, 700, 1, &w), 0);
    ASSERT_EQ(append_synced(w, 1, 40, 40, len_small), 0);
    wal_close(w);
    n = list_segs(t.dir, segs, MAX_SEGS);
    ASSERT(n >= 4);
    seg_name(path, sizeof path, t.dir, segs[1]);
    orig = read_all(path, &len);
    ASSERT(orig != NULL);
    lastrec = segs[2] - 1;
    off = rec_off(segs[1], lastrec, len_small);

    /* The last record of a middle segment: nothing valid follows in that
     * file, but it is not the last segment. */
    ASSERT_EQ(flip_byte(path, (long long)len - 1), 0);
    ASSERT_EQ(expect_corrupt(t.dir, path, segs[1], off,
                             "checksum mismatch in record"), 0);
    ASSERT_EQ(write_all(path, orig, len), 0);
    /* Cut short. */
    ASSERT_EQ(write_all(path, orig, len - 1), 0);
    ASSERT_EQ(expect_corrupt(t.dir, path, segs[1], off,
                             "incomplete record"), 0);
    ASSERT_EQ(write_all(path, orig, len), 0);
    /* Garbage after it. */
    ASSERT_EQ(append_file(path, "\0\0\0\0\0\0\0", 7), 0);
    ASSERT_EQ(expect_corrupt(t.dir, path, segs[1], (long long)len,
                             "incomplete record header"), 0);
    ASSERT_EQ(write_all(path, orig, len), 0);
    /* Its header. */
    ASSERT_EQ(flip_byte(path, 17), 0);
    ASSERT_EQ(expect_corrupt(t.dir, path, segs[1], 0,
                             "segment header checksum mismatch"), 0);
    ASSERT_EQ(write_all(path, orig, 30), 0);
    ASSERT_EQ(expect_corrupt(t.dir, path, segs[1], 0,
                             "segment header incomplete"), 0);
    ASSERT_EQ(write_all(path, orig, len), 0);

    ASSERT_EQ(open_log(t.dir, 700, 1, &w), 0);
    ASSERT_EQ(wal_last_lsn(w), 40);
    wal_close(w);
    free(orig);
    tmp_remove(&t);
}

static void test_corrupt_gap(void)
{
    struct tmp t;
    struct wal *w;
    char path[PATH_MAX], msg[128];
    uint64_t segs[MAX_SEGS];
    size_t n;

    ASSERT_EQ(tmp_make(&t), 0);
    ASSERT_EQ(open_log(t.dir, 700, 1, &w), 0);
    ASSERT_EQ(append_synced(w, 1, 40, 3, len_small), 0);
    wal_close(w);
    n = list_segs(t.dir, segs, MAX_SEGS);
    ASSERT(n >= 4);
    seg_name(path, sizeof path, t.dir, segs[2]);
    ASSERT_EQ(unlink(path), 0);
    seg_name(path, sizeof path, t.dir, segs[3]);
    snprintf(msg, sizeof msg, "LSN gap: the previous segment ends at LSN "
             "%llu but this one starts at LSN %llu",
             (unsigned long long)segs[2] - 1, (unsigned long long)segs[3]);
    ASSERT_EQ(expect_corrupt(t.dir, path, segs[3], 0, msg), 0);
    /* The reader stops at the same gap. */
    {
        struct wal_reader *r;
        struct wal_record rec;
        struct tm_error e;
        int rc;
        ASSERT_EQ(wal_reader_open(t.dir, NULL, 0, &r, &e), 0);
        while ((rc = wal_reader_next(r, &rec, &e)) == 1)
            ASSERT(rec.lsn < segs[2]);
        ASSERT_EQ(rc, TM_ECORRUPT);
        ASSERT(strstr(e.msg, "LSN gap") != NULL);
        wal_reader_close(r);
    }
    tmp_remove(&t);
}

/* ==== Removing, failing, living ==== */

static void test_remove_before(void)
{
    struct tmp t;
    struct wal *w;
    struct tm_error e;
    struct wal_reader *r;
    uint64_t segs[MAX_SEGS], after[MAX_SEGS];
    size_t n, m;

    ASSERT_EQ(tmp_make(&t), 0);
    ASSERT_EQ(open_log(t.dir, 700, 1, &w), 0);
    ASSERT_EQ(append_synced(w, 1, 60, 4, len_small), 0);
    n = list_segs(t.dir, segs, MAX_SEGS);
    ASSERT(n >= 5);

    /* Nothing is wholly below segs[1]. */
    ASSERT_EQ(wal_remove_before(w, segs[1] - 1, &e), 0);
    ASSERT_EQ(list_segs(t.dir, after, MAX_SEGS), n);
    /* The first two are below segs[2]. */
    ASSERT_EQ(wal_remove_before(w, segs[2], &e), 0);
    m = list_segs(t.dir, after, MAX_SEGS);
    ASSERT_EQ(m, n - 2);
    ASSERT_EQ(after[0], segs[2]);
    ASSERT_EQ(verify_log(t.dir, w, segs[2], segs[2], 60, len_small), 0);
    ASSERT_EQ(verify_log(t.dir, w, 0, segs[2], 60, len_small), 0);
    ASSERT_EQ(wal_reader_open(t.dir, w, segs[2] - 1, &r, &e),
              TM_ENOTFOUND);
    ASSERT(strstr(e.msg, "no longer holds LSN") != NULL);
    /* Never the segment being appended to. */
    ASSERT_EQ(wal_remove_before(w, 1000, &e), 0);
    m = list_segs(t.dir, after, MAX_SEGS);
    ASSERT_EQ(m, 1);
    ASSERT_EQ(after[0], segs[n - 1]);
    ASSERT_EQ(append_synced(w, 61, 70, 5, len_small), 0);
    wal_close(w);
    /* A log that starts past LSN 1 reopens and goes on. */
    ASSERT_EQ(open_log(t.dir, 700, 1, &w), 0);
    ASSERT_EQ(wal_last_lsn(w), 70);
    ASSERT_EQ(verify_log(t.dir, w, 0, segs[n - 1], 70, len_small), 0);
    wal_close(w);
    tmp_remove(&t);
}

static void test_sync_failure(void)
{
    struct tmp t;
    struct wal *w;
    struct tm_error e;
    struct rlimit old, lim;
    char path[PATH_MAX];
    long long size;
    uint64_t segs[MAX_SEGS];
    int rc;

    ASSERT_EQ(tmp_make(&t), 0);
    ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_IGN); /* writes past the limit fail with EFBIG */
    ASSERT_EQ(open_log(t.dir, 0, 1, &w), 0);
    ASSERT_EQ(append_synced(w, 1, 3, 3, len_small), 0);
    seg_name(path, sizeof path, t.dir, 1);
    size = file_size(path);

    /* A write that fails half way. */
    lim = old;
    lim.rlim_cur = (rlim_t)size + 100;
    ASSERT_EQ(append_range(w, 4, 6, len_200), 0);
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
    tm_error_clear(&e);
    rc = wal_sync(w, &e);
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
    ASSERT_EQ(rc, TM_EIO);
    ASSERT(strstr(e.msg, path) != NULL);
    ASSERT(strstr(e.msg, "records 4..6 were not written") != NULL);
    ASSERT_EQ(file_size(path), size);
    ASSERT_EQ(wal_last_lsn(w), 3);
    ASSERT_EQ(wal_synced_lsn(w), 3);
    /* The LSNs are reused and the log goes on without a hole. */
    ASSERT_EQ(append_synced(w, 4, 8, 5, len_small), 0);
    wal_close(w);
    ASSERT_EQ(verify_log(t.dir, NULL, 0, 1, 8, len_small), 0);
    tmp_remove(&t);

    /* A failure in a segment the batch created: the file goes too. */
    ASSERT_EQ(tmp_make(&t), 0);
    ASSERT_EQ(open_log(t.dir, 300, 1, &w), 0);
    ASSERT_EQ(append_synced(w, 1, 1, 1, len_200), 0);
    ASSERT_EQ(append_range(w, 2, 2, len_200), 0); /* rolls to 2.wal */
    lim.rlim_cur = 200;
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
    rc = wal_sync(w, &e);
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
    ASSERT_EQ(rc, TM_EIO);
    ASSERT(strstr(e.msg, "00000000000000000002.wal") != NULL);
    ASSERT_EQ(list_segs(t.dir, segs, MAX_SEGS), 1);
    ASSERT_EQ(wal_last_lsn(w), 1);
    ASSERT_EQ(append_synced(w, 2, 4, 3, len_200), 0);
    wal_close(w);
    ASSERT_EQ(list_segs(t.dir, segs, MAX_SEGS), 4);
    ASSERT_EQ(open_log(t.dir, 300, 1, &w), 0);
    ASSERT_EQ(verify_log(t.dir, w, 0, 1, 4, len_200), 0);
    wal_close(w);
    signal(SIGXFSZ, SIG_DFL);
    tmp_remove(&t);
}

static void test_live_reader(void)
{
    struct tmp t;
    struct wal *w;
    struct tm_error e;
    struct wal_reader *r;
    struct wal_record rec;
    uint64_t n;

    ASSERT_EQ(tmp_make(&t), 0);
    ASSERT_EQ(open_log(t.dir, 600, 1, &w), 0);
    ASSERT_EQ(wal_reader_open(t.dir, w, 1, &r, &e), 0);
    ASSERT_EQ(wal_reader_next(r, &rec, &e), 0);
    ASSERT_EQ(append_synced(w, 1, 3, 3, len_small), 0);
    ASSERT_EQ(append_range(w, 4, 5, len_small), 0); /* not synced */
    for (n = 1; n <= 3; n++) {
        ASSERT_EQ(wal_reader_next(r, &rec, &e), 1);
        ASSERT_EQ(check_record(&rec, n, len_small), 0);
    }
    ASSERT_EQ(wal_reader_next(r, &rec, &e), 0);
    ASSERT_EQ(wal_sync(w, &e), 0);
    /* Several segments later. */
    ASSERT_EQ(append_synced(w, 6, 50, 9, len_small), 0);
    ASSERT_EQ(append_range(w, 51, 52, len_small), 0);
    for (n = 4; n <= 50; n++) {
        ASSERT_EQ(wal_reader_next(r, &rec, &e), 1);
        ASSERT_EQ(check_record(&rec, n, len_small), 0);
    }
    ASSERT_EQ(wal_reader_next(r, &rec, &e), 0);
    wal_reader_close(r); /* before the log it is tied to */
    wal_close(w);        /* syncs 51, 52 */
    ASSERT_EQ(verify_log(t.dir, NULL, 49, 49, 52, len_small), 0);
    tmp_remove(&t);
}

/* A writer thread and a reader thread at once: the reader never sees a
 * record past the synced LSN and sees every record exactly. */
struct race {
    const char *dir;
    struct wal *w;
    uint64_t total;
    _Atomic int writer_done;
    int writer_rc, reader_rc;
    uint64_t reader_got;
};

static void *race_writer(void *arg)
{
    struct race *rc = arg;
    struct tm_error e;
    uint64_t n = 1, k = 1;

    while (n <= rc->total) {
        uint64_t to = n + k - 1 < rc->total ? n + k - 1 : rc->total;
        if (append_range(rc->w, n, to, len_small) != 0 ||
            wal_sync(rc->w, &e) != 0) {
            rc->writer_rc = -1;
            break;
        }
        n = to + 1;
        k = k % 7 + 1;
    }
    atomic_store(&rc->writer_done, 1);
    return NULL;
}

static void *race_reader(void *arg)
{
    struct race *rc = arg;
    struct wal_reader *r;
    struct wal_record rec;
    struct tm_error e;
    uint64_t want = 1;
    int res;

    if (wal_reader_open(rc->dir, rc->w, 1, &r, &e) != 0) {
        rc->reader_rc = -1;
        return NULL;
    }
    while (want <= rc->total) {
        /* Read before the call: if the writer was done by then, every
         * record was synced and must be there. */
        int done = atomic_load(&rc->writer_done);
        res = wal_reader_next(r, &rec, &e);
        if (res == 1) {
            if (rec.lsn > wal_synced_lsn(rc->w) ||
                check_record(&rec, want, len_small) != 0) {
                rc->reader_rc = -2;
                break;
            }
            want++;
        } else if (res == 0) {
            if (done) {
                rc->reader_rc = -3;
                break;
            }
            sched_yield();
        } else {
            fprintf(stderr, "reader: %s\n", e.msg);
            rc->reader_rc = -4;
            break;
        }
    }
    rc->reader_got = want - 1;
    wal_reader_close(r);
    return NULL;
}

static void test_live_reader_threads(void)
{
    struct tmp t;
    struct race rc;
    pthread_t tw, tr;

    ASSERT_EQ(tmp_make(&t), 0);
    memset(&rc, 0, sizeof rc);
    rc.dir = t.dir;
    rc.total = 3000;
    ASSERT_EQ(open_log(t.dir, 4096, 0, &rc.w), 0);
    ASSERT_EQ(pthread_create(&tr, NULL, race_reader, &rc), 0);
    ASSERT_EQ(pthread_create(&tw, NULL, race_writer, &rc), 0);
    pthread_join(tw, NULL);
    pthread_join(tr, NULL);
    ASSERT_EQ(rc.writer_rc, 0);
    ASSERT_EQ(rc.reader_rc, 0);
    ASSERT_EQ(rc.reader_got, rc.total);
    wal_close(rc.w);
    tmp_remove(&t);
}

static void test_discard(void)
{
    struct tmp t;
    struct wal *w;
    struct tm_error e;
    uint64_t segs[MAX_SEGS];
    size_t n;

    ASSERT_EQ(tmp_make(&t), 0);
    ASSERT_EQ(open_log(t.dir, 600, 1, &w), 0);
    ASSERT_EQ(append_synced(w, 1, 3, 3, len_small), 0);
    n = list_segs(t.dir, segs, MAX_SEGS);
    /* An abandoned batch that would have rolled twice. */
    ASSERT_EQ(append_range(w, 4, 20, len_small), 0);
    wal_discard(w);
    ASSERT_EQ(wal_last_lsn(w), 3);
    ASSERT_EQ(wal_synced_lsn(w), 3);
    ASSERT_EQ(wal_sync(w, &e), 0); /* nothing to write */
    ASSERT_EQ(list_segs(t.dir, segs, MAX_SEGS), n);
    ASSERT_EQ(verify_log(t.dir, w, 0, 1, 3, len_small), 0);
    /* The LSNs are reused. */
    ASSERT_EQ(append_synced(w, 4, 20, 6, len_small), 0);
    wal_discard(w); /* nothing to forget */
    ASSERT_EQ(wal_last_lsn(w), 20);
    wal_close(w);
    ASSERT_EQ(open_log(t.dir, 600, 1, &w), 0);
    ASSERT_EQ(verify_log(t.dir, w, 0, 1, 20, len_small), 0);
    wal_close(w);
    wal_discard(NULL);
    tmp_remove(&t);
}

/* The engine's checkpointer removes segments on its own thread while the
 * writer appends and rolls. */
static void *race_remover(void *arg)
{
    struct race *rc = arg;
    struct tm_error e;

    while (!atomic_load(&rc->writer_done)) {
        if (wal_remove_before(rc->w, wal_synced_lsn(rc->w) + 1, &e) != 0) {
            fprintf(stderr, "remover: %s\n", e.msg);
            rc->reader_rc = -1;
            break;
        }
        sched_yield();
    }
    return NULL;
}

static void test_remove_concurrent(void)
{
    struct tmp t;
    struct race rc;
    pthread_t tw, tr;
    uint64_t segs[MAX_SEGS];
    size_t n;

    ASSERT_EQ(tmp_make(&t), 0);
    memset(&rc, 0, sizeof rc);
    rc.dir = t.dir;
    rc.total = 3000;
    ASSERT_EQ(open_log(t.dir, 2048, 0, &rc.w), 0);
    ASSERT_EQ(pthread_create(&tr, NULL, race_remover, &rc), 0);
    ASSERT_EQ(pthread_create(&tw, NULL, race_writer, &rc), 0);
    pthread_join(tw, NULL);
    pthread_join(tr, NULL);
    ASSERT_EQ(rc.writer_rc, 0);
    ASSERT_EQ(rc.reader_rc, 0);
    ASSERT_EQ(wal_last_lsn(rc.w), rc.total);
    /* How far the remover got depends on scheduling; one last removal
     * after the race makes the outcome deterministic. */
    {
        struct tm_error e;
        ASSERT_EQ(wal_remove_before(rc.w, wal_synced_lsn(rc.w) + 1, &e), 0);
    }
    n = list_segs(t.dir, segs, MAX_SEGS);
    ASSERT(n >= 1);
    ASSERT(n <= 2);
    wal_close(rc.w);
    ASSERT_EQ(open_log(t.dir, 2048, 0, &rc.w), 0);
    ASSERT_EQ(verify_log(t.dir, rc.w, 0, segs[0], rc.total, len_small), 0);
    wal_close(rc.w);
    tmp_remove(&t);
}

static void test_locked(void)
{
    struct tmp t;
    struct wal *w;
    struct tm_error e;

    ASSERT_EQ(tmp_make(&t), 0);
    ASSERT_EQ(open_log(t.dir, 0, 1, &w), 0);
    ASSERT_EQ(open_fails(t.dir, TM_EIO, &e), 0);
    ASSERT(strstr(e.msg, "in use") != NULL);
    wal_close(w);
    ASSERT_EQ(open_log(t.dir, 0, 1, &w), 0);
    wal_close(w);
    wal_close(NULL);
    wal_reader_close(NULL);
    tmp_remove(&t);
}

int main(void)
{
    RUN(test_roundtrip);
    RUN(test_max_payload);
    RUN(test_lsn_continuity);
    RUN(test_segment_roll);
    RUN(test_synced_point);
    RUN(test_reader_from_middle);
    RUN(test_torn_every_offset);
    RUN(test_torn_junk);
    RUN(test_torn_header);
    RUN(test_torn_batch);
    RUN(test_corrupt_middle);
    RUN(test_corrupt_nonlast);
    RUN(test_corrupt_gap);
    RUN(test_remove_before);
    RUN(test_sync_failure);
    RUN(test_live_reader);
    RUN(test_live_reader_threads);
    RUN(test_discard);
    RUN(test_remove_concurrent);
    RUN(test_locked);
    return TEST_DONE();
}
