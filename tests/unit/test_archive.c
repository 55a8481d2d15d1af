/*
 * test_archive.c - the archive's pure parts (src/archive/state.c): chunk
 * names and their order, the progress file (round trip, absent, damaged,
 * atomic replacement), the merge rule (levels, sealing, how many chunks a
 * slowly filled segment ends with and how often each byte goes up), and
 * the reassembly plan (the segment holding an LSN, holes, overlaps and
 * leftovers, what is downloaded).  The uploader and `tidemark restore`
 * against Ceph RGW are in tests/integration/test_archive.py.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "archive/archive_int.h"
#include "base/fsio.h"
#include "test.h"

static char tmpdir[64];

/* close(2), interposed for this binary (every object is linked into it):
 * counts the closes of a descriptor that is not open.  In the server such
 * a close can close a file another thread has just opened under the same
 * number. */
static int bad_closes;

int close(int fd)
{
    long r = syscall(SYS_close, fd);

    if (r != 0 && errno == EBADF)
        bad_closes++;
    return (int)r;
}

/* ---- names --------------------------------------------------------------- */

static void test_chunk_names(void)
{
    char k[ARCHIVE_KEY_MAX], p[ARCHIVE_KEY_MAX];
    uint64_t seg, off;

    archive_chunk_key(k, 1, 0);
    ASSERT_STR_EQ(k, "archive/wal/00000000000000000001.wal/"
                     "00000000000000000000");
    archive_seg_prefix(p, 1);
    ASSERT(strncmp(k, p, strlen(p)) == 0);
    ASSERT_EQ(archive_chunk_parse(k, &seg, &off), 0);
    ASSERT_EQ(seg, 1);
    ASSERT_EQ(off, 0);
    archive_chunk_key(k, UINT64_MAX, UINT64_MAX - 1);
    ASSERT_EQ(archive_chunk_parse(k, &seg, &off), 0);
    ASSERT(seg == UINT64_MAX && off == UINT64_MAX - 1);
    /* the segment's file name is the log's own (wal.c) */
    archive_chunk_key(k, 4712, 65536);
    ASSERT(strstr(k, "/00000000000000004712.wal/") != NULL);
    /* not chunks */
    ASSERT_EQ(archive_chunk_parse("archive/wal/", &seg, &off), -1);
    ASSERT_EQ(archive_chunk_parse("archive/id", &seg, &off), -1);
    ASSERT_EQ(archive_chunk_parse("archive/wal/00000000000000000001.wal/"
                                  "0000000000000000000",
                                  &seg, &off),
              -1); /* 19 digits */
    ASSERT_EQ(archive_chunk_parse("archive/wal/00000000000000000001.wal/"
                                  "000000000000000000001",
                                  &seg, &off),
              -1); /* 21 */
    ASSERT_EQ(archive_chunk_parse("archive/wal/0000000000000000000x.wal/"
                                  "00000000000000000000",
                                  &seg, &off),
              -1);
    ASSERT_EQ(archive_chunk_parse("archive/wal/00000000000000000001.tmp/"
                                  "00000000000000000000",
                                  &seg, &off),
              -1);
    ASSERT_EQ(archive_chunk_parse("archive/bases/00000000000000000001.wal/"
                                  "00000000000000000000",
                                  &seg, &off),
              -1);
    ASSERT_EQ(archive_chunk_parse("archive/wal/99999999999999999999.wal/"
                                  "00000000000000000000",
                                  &seg, &off),
              -1); /* past 2^64 */
}

/* Key order (what S3 lists) is segment order, then offset order. */
static void test_chunk_order(void)
{
    static const uint64_t segs[] = {1, 9, 10, 99, 100, 4712, 1000000,
                                    UINT64_MAX / 3};
    static const uint64_t offs[] = {0, 40, 999, 1000, 65536, 1u << 30};
    char prev[ARCHIVE_KEY_MAX] = "", k[ARCHIVE_KEY_MAX];

    for (size_t i = 0; i < sizeof segs / sizeof segs[0]; i++)
        for (size_t j = 0; j < sizeof offs / sizeof offs[0]; j++) {
            archive_chunk_key(k, segs[i], offs[j]);
            ASSERT(strcmp(prev, k) < 0);
            memcpy(prev, k, sizeof k);
        }
}

static void test_base_names(void)
{
    char k[ARCHIVE_KEY_MAX + 64];

    ASSERT_EQ(archive_base_key(k, sizeof k, "01764085000123-a1b2c3d4",
                               "tmbak"),
              0);
    ASSERT_STR_EQ(k, "archive/bases/01764085000123-a1b2c3d4.tmbak");
    ASSERT_EQ(archive_base_key(k, sizeof k, "x", "json"), 0);
    ASSERT_STR_EQ(k, "archive/bases/x.json");
    ASSERT_EQ(archive_base_key(k, sizeof k, "a/b", "json"), -1);
    ASSERT_EQ(archive_base_key(k, sizeof k, "", "json"), -1);
    ASSERT_EQ(archive_base_key(k, 20, "0123456789abcdef", "json"), -1);
}

/* ---- the progress file ---------------------------------------------------- */

static void path_of(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", tmpdir, name);
}

static void test_progress_roundtrip(void)
{
    struct archive_progress p = {0}, q;
    struct archive_seg *s;
    struct archive_base_rec *b;
    struct tm_error err = {0};
    char path[128], tmp[140];
    struct stat st;

    path_of(path, sizeof path, "archive.json");
    unlink(path);
    ASSERT_EQ(archive_progress_load(path, &q, &err), TM_ENOTFOUND);
    ASSERT_EQ(q.nsegs + q.nbases, 0);
    archive_progress_free(&q);

    snprintf(p.store, sizeof p.store, "s3://bkt/a/b$c");
    snprintf(p.id, sizeof p.id, "0123456789abcdef");
    p.uploaded_to = 4712;
    p.pruned_for = ARCHIVE_INF;
    /* inserted out of order: kept in order */
    s = archive_progress_seg(&p, 9000, 1);
    ASSERT(s != NULL);
    s->up = 100;
    ASSERT_EQ(archive_seg_add_chunk(s, 0, 2), 0);
    ASSERT_EQ(archive_seg_add_chunk(s, 60, 0), 0);
    s = archive_progress_seg(&p, 4712, 1);
    s->up = 65336;
    s->size = 65336;
    ASSERT_EQ(archive_seg_add_chunk(s, 0, 0), 0);
    ASSERT(archive_progress_seg(&p, 4712, 1) == s); /* no duplicate */
    ASSERT_EQ(p.nsegs, 2);
    ASSERT_EQ(p.segs[0].first, 4712);
    b = archive_progress_base(&p, "01764085000123-a1b2c3d4", 1);
    b->lsn = 4711;
    b->created_ms = 1764085000123LL;
    b->up = 1;
    b = archive_progress_base(&p, "01764085999999-00000000", 1);
    b->lsn = 9999;
    ASSERT_EQ(archive_progress_save(path, &p, &err), 0);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    ASSERT(stat(tmp, &st) != 0); /* renamed away */

    ASSERT_EQ(archive_progress_load(path, &q, &err), 0);
    ASSERT_STR_EQ(q.store, "s3://bkt/a/b$c");
    ASSERT_STR_EQ(q.id, "0123456789abcdef");
    ASSERT_EQ(q.uploaded_to, 4712);
    ASSERT_EQ(q.pruned_for, ARCHIVE_INF);
    ASSERT_EQ(q.nsegs, 2);
    ASSERT_EQ(q.segs[0].first, 4712);
    ASSERT_EQ(q.segs[0].size, 65336);
    ASSERT_EQ(q.segs[1].first, 9000);
    ASSERT_EQ(q.segs[1].up, 100);
    ASSERT_EQ(q.segs[1].size, 0);
    ASSERT_EQ(q.segs[1].nchunks, 2);
    ASSERT_EQ(q.segs[1].chunks[0].level, 2);
    ASSERT_EQ(q.segs[1].chunks[1].off, 60);
    ASSERT_EQ(q.nbases, 2);
    ASSERT_EQ(archive_progress_base(&q, "01764085000123-a1b2c3d4", 0)->lsn,
              4711);
    ASSERT_EQ(archive_progress_base(&q, "01764085000123-a1b2c3d4", 0)
                  ->created_ms,
              1764085000123LL);
    ASSERT_EQ(archive_progress_base(&q, "01764085999999-00000000", 0)->up,
              0);
    /* drops */
    archive_progress_drop_seg(&q, 4712);
    archive_progress_drop_seg(&q, 1); /* absent */
    archive_progress_drop_base(&q, "01764085000123-a1b2c3d4");
    ASSERT_EQ(q.nsegs, 1);
    ASSERT_EQ(q.segs[0].first, 9000);
    ASSERT_EQ(q.nbases, 1);
    archive_progress_free(&q);
    archive_progress_free(&p);
    unlink(path);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
}

static void test_progress_damaged(void)
{
    static const char *bad[] = {
        "",
        "{",
        "[]",
        "{\"v\":2,\"store\":\"s3://b\",\"id\":\"x\",\"segments\":[],"
        "\"bases\":[]}",
        "{\"v\":1,\"id\":\"x\",\"segments\":[],\"bases\":[]}",
        "{\"v\":1,\"store\":\"s3://b\",\"id\":\"x\",\"uploaded_to\":-1,"
        "\"pruned_for\":0,\"segments\":[],\"bases\":[]}",
        /* chunks must start at 0, increase, and lie below up */
        "{\"v\":1,\"store\":\"s3://b\",\"id\":\"x\",\"uploaded_to\":1,"
        "\"pruned_for\":0,\"segments\":[{\"first\":1,\"up\":10,\"size\":0,"
        "\"chunks\":[[5,0]]}],\"bases\":[]}",
        "{\"v\":1,\"store\":\"s3://b\",\"id\":\"x\",\"uploaded_to\":1,"
        "\"pruned_for\":0,\"segments\":[{\"first\":1,\"up\":10,\"size\":0,"
        "\"chunks\":[[0,0],[0,0]]}],\"bases\":[]}",
        "{\"v\":1,\"store\":\"s3://b\",\"id\":\"x\",\"uploaded_to\":1,"
        "\"pruned_for\":0,\"segments\":[{\"first\":1,\"up\":10,\"size\":0,"
        "\"chunks\":[[0,0],[10,0]]}],\"bases\":[]}",
        /* a duplicate segment, a duplicate base */
        "{\"v\":1,\"store\":\"s3://b\",\"id\":\"x\",\"uploaded_to\":1,"
        "\"pruned_for\":0,\"segments\":[{\"first\":1,\"up\":0,\"size\":0,"
        "\"chunks\":[]},{\"first\":1,\"up\":0,\"size\":0,\"chunks\":[]}],"
        "\"bases\":[]}",
        "{\"v\":1,\"store\":\"s3://b\",\"id\":\"x\",\"uploaded_to\":1,"
        "\"pruned_for\":0,\"segments\":[],\"bases\":[{\"id\":\"a\",\"lsn\":1,"
        "\"created\":1,\"up\":true},{\"id\":\"a\",\"lsn\":1,\"created\":1,"
        "\"up\":true}]}",
    };
    char path[128];

    path_of(path, sizeof path, "damaged.json");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct archive_progress q;
        struct tm_error err = {0};
        write_text(path, bad[i]);
        if (archive_progress_load(path, &q, &err) != TM_ECORRUPT)
            TEST_FAIL_("case %zu: not refused: %s", i, bad[i]);
        /* the message names the file */
        ASSERT(strstr(err.msg, path) != NULL);
        ASSERT(strstr(err.msg, "damaged") != NULL);
        archive_progress_free(&q);
    }
    unlink(path);
}

/* A failed save (the directory is gone) leaves the old file as it was. */
static void test_progress_save_fails(void)
{
    struct archive_progress p = {0};
    struct tm_error err = {0};

    snprintf(p.store, sizeof p.store, "s3://b");
    snprintf(p.id, sizeof p.id, "x");
    ASSERT_EQ(archive_progress_save("/nonexistent-dir/archive.json", &p,
                                    &err),
              TM_EIO);
    ASSERT(strstr(err.msg, "/nonexistent-dir/archive.json") != NULL);
}

/* A save whose rename fails (here: a non-empty directory has the file's
 * name) closes its temporary file once, leaves no temporary file, and
 * says why.  (It closed the descriptor a second time.) */
static void test_progress_save_rename_fails(void)
{
    struct archive_progress p = {0};
    struct tm_error err = {0};
    char path[128], inside[160], tmp[140];
    int before = bad_closes;

    snprintf(p.store, sizeof p.store, "s3://b");
    snprintf(p.id, sizeof p.id, "x");
    snprintf(path, sizeof path, "%s/taken.json", tmpdir);
    snprintf(inside, sizeof inside, "%s/f", path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    ASSERT_EQ(mkdir(path, 0700), 0);
    fclose(fopen(inside, "w"));
    ASSERT_EQ(archive_progress_save(path, &p, &err), TM_EIO);
    ASSERT(strstr(err.msg, "taken.json") != NULL);
    ASSERT_EQ(bad_closes - before, 0);
    ASSERT(access(tmp, F_OK) != 0);
    unlink(inside);
    rmdir(path);
}

/* Every file call of a save failing in turn (the file layer's fault plan,
 * src/base/fsio.h): open, write (torn or not), fsync of the file, close,
 * rename, and the directory's fsync; EIO or ENOSPC.  Each save fails with
 * TM_EIO naming the file and the errno's text (the directory's fsync: the
 * directory), no descriptor is closed twice, and the file on disk is
 * either the old one (a failure before the rename) or the new one (after
 * it), whole: a load gives one of the two, never anything else.  With the
 * fault cleared, the next save works and leaves no temporary file. */
static void test_progress_save_faults(void)
{
    static const struct {
        unsigned op;
        int torn;
        const char *what;   /* a substring of the path the rule watches */
        int after_rename;   /* the new file is in place */
    } cases[] = {
        {FSIO_OPEN, 0, "faults.json", 0},  {FSIO_WRITE, 0, "faults.json", 0},
        {FSIO_WRITE, 1, "faults.json", 0}, {FSIO_SYNC, 0, "faults.json", 0},
        {FSIO_CLOSE, 0, "faults.json", 0}, {FSIO_RENAME, 0, "faults.json", 0},
        {FSIO_SYNC, 0, "saves", 1},        {FSIO_OPEN, 0, "saves", 1},
    };
    char dir[96], path[128], tmp[140];
    int before = bad_closes;

    snprintf(dir, sizeof dir, "%s/saves", tmpdir);
    ASSERT_EQ(mkdir(dir, 0700), 0);
    snprintf(path, sizeof path, "%s/faults.json", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int e = 0; e < 2; e++) {
            struct archive_progress p = {0}, q;
            struct tm_error err = {0};
            struct fsio_fault f = {0};
            long hits, failed;
            int id;

            snprintf(p.store, sizeof p.store, "s3://b");
            snprintf(p.id, sizeof p.id, "old");
            p.uploaded_to = 1;
            ASSERT_EQ(archive_progress_save(path, &p, &err), 0);
            snprintf(p.id, sizeof p.id, "new");
            p.uploaded_to = 2;
            f.ops = cases[i].op;
            f.path = cases[i].what;
            f.count = 1;
            f.err = e ? ENOSPC : EIO;
            f.torn = cases[i].torn;
            /* the directory's name is in its files' paths too: let the
             * temporary file's open or fsync through, fail the
             * directory's */
            f.skip = cases[i].after_rename ? 1 : 0;
            id = fsio_fault_add(&f);
            ASSERT(id > 0);
            ASSERT_EQ(archive_progress_save(path, &p, &err), TM_EIO);
            ASSERT_EQ(fsio_fault_stats(id, &hits, &failed), 0);
            fsio_fault_clear_all();
            ASSERT_EQ(failed, 1);
            ASSERT(strstr(err.msg, cases[i].after_rename ? dir : path) !=
                   NULL);
            ASSERT(strstr(err.msg, strerror(f.err)) != NULL);
            ASSERT_EQ(bad_closes - before, 0);
            ASSERT_EQ(archive_progress_load(path, &q, &err), 0);
            ASSERT_STR_EQ(q.id, cases[i].after_rename ? "new" : "old");
            ASSERT_EQ(q.uploaded_to, cases[i].after_rename ? 2 : 1);
            archive_progress_free(&q);
            ASSERT(access(tmp, F_OK) != 0);
            /* cleared: the next save works */
            snprintf(p.id, sizeof p.id, "next");
            ASSERT_EQ(archive_progress_save(path, &p, &err), 0);
            ASSERT_EQ(archive_progress_load(path, &q, &err), 0);
            ASSERT_STR_EQ(q.id, "next");
            archive_progress_free(&q);
            archive_progress_free(&p);
        }
    }
    unlink(path);
    rmdir(dir);
}

/* ---- the merge rule ------------------------------------------------------- */

/* Ship `rate` bytes per step for `steps` steps into a segment, merging as
 * the uploader does; returns the bytes uploaded in all. */
static uint64_t simulate(struct archive_seg *s, uint64_t rate, int steps,
                         size_t *max_chunks)
{
    uint64_t sent = 0;
    long k;

    *max_chunks = 0;
    for (int i = 0; i < steps; i++) {
        if (archive_seg_add_chunk(s, s->up, 0) != 0)
            return 0;
        s->up += rate;
        sent += rate;
        while ((k = archive_merge_plan(s)) >= 0) {
            sent += s->up - s->chunks[k].off;
            s->nchunks = (size_t)k + 1;
            s->chunks[k].level++;
        }
        if (s->nchunks > *max_chunks)
            *max_chunks = s->nchunks;
    }
    return sent;
}

static void test_merge_rule(void)
{
    struct archive_seg s = {0};
    size_t maxc;
    uint64_t sent;

    /* fewer than FANIN chunks: nothing */
    ASSERT_EQ(archive_merge_plan(&s), -1);
    archive_seg_add_chunk(&s, 0, 0);
    archive_seg_add_chunk(&s, 10, 0);
    archive_seg_add_chunk(&s, 20, 0);
    s.up = 30;
    ASSERT_EQ(archive_merge_plan(&s), -1);
    archive_seg_add_chunk(&s, 30, 0);
    s.up = 40;
    ASSERT_EQ(archive_merge_plan(&s), 0);
    /* mixed levels: no */
    s.chunks[0].level = 1;
    ASSERT_EQ(archive_merge_plan(&s), -1);
    /* the last four of one level, after a bigger one */
    archive_seg_add_chunk(&s, 40, 0);
    s.up = 50;
    ASSERT_EQ(archive_merge_plan(&s), 1);
    /* a sealed chunk (>= ARCHIVE_SEAL_BYTES) never merges */
    s.up = 40 + ARCHIVE_SEAL_BYTES;
    ASSERT_EQ(archive_merge_plan(&s), -1);
    free(s.chunks);

    /* 100 bytes a second for a day: few chunks, each byte sent a few
     * times (log4 of SEAL / 100 is about 7) */
    memset(&s, 0, sizeof s);
    sent = simulate(&s, 100, 86400, &maxc);
    printf("merge rule: 100 B/s for a day: %zu chunks at the end, at most "
           "%zu, %.2f bytes sent per byte\n",
           s.nchunks, maxc, (double)sent / (double)s.up);
    ASSERT(maxc <= 40);
    ASSERT((double)sent / (double)s.up < 9.0);
    /* every chunk boundary increases; the chunks cover [0, up) */
    ASSERT_EQ(s.chunks[0].off, 0);
    for (size_t i = 1; i < s.nchunks; i++)
        ASSERT(s.chunks[i].off > s.chunks[i - 1].off);
    free(s.chunks);

    /* 2 MB a second: chunks are sealed at once, nothing is sent twice */
    memset(&s, 0, sizeof s);
    sent = simulate(&s, 2u << 20, 32, &maxc);
    ASSERT_EQ(sent, s.up);
    ASSERT_EQ(s.nchunks, 32);
    free(s.chunks);
}

/* ---- the reassembly plan ----------------------------------------------------- */

static void test_plan_log(void)
{
    struct tm_error err = {0};
    size_t keep;
    uint64_t bytes;

    {
        /* segments 1 (0..100), 50 (0..70), 90 (0..40), listed shuffled,
         * with a merged chunk over leftovers in segment 50 */
        struct archive_obj v[] = {
            {90, 0, 30},  {1, 0, 60},  {50, 0, 40},  {1, 60, 40},
            {50, 40, 10}, {50, 0, 70}, {50, 50, 20}, {90, 30, 10},
        };
        ASSERT_EQ(archive_plan_log(v, 8, 60, &keep, &bytes, &err), 0);
        /* from LSN 60: segments 50 and 90 */
        ASSERT_EQ(keep, 3);
        ASSERT(v[0].seg == 50 && v[0].off == 0 && v[0].size == 70);
        ASSERT(v[1].seg == 90 && v[1].off == 0 && v[1].size == 30);
        ASSERT(v[2].seg == 90 && v[2].off == 30 && v[2].size == 10);
        ASSERT_EQ(bytes, 110);
    }
    {
        struct archive_obj v[] = {{1, 0, 60}, {1, 60, 40}, {50, 0, 10}};
        ASSERT_EQ(archive_plan_log(v, 3, 1, &keep, &bytes, &err), 0);
        ASSERT_EQ(keep, 3);
        ASSERT_EQ(bytes, 110);
        /* exactly a segment's first LSN */
        ASSERT_EQ(archive_plan_log(v, 3, 50, &keep, &bytes, &err), 0);
        ASSERT_EQ(keep, 1);
        /* past the end: the last segment (the reader finds nothing) */
        ASSERT_EQ(archive_plan_log(v, 3, 1000, &keep, &bytes, &err), 0);
        ASSERT_EQ(keep, 1);
    }
    {
        /* overlapping chunks (one put again, longer, after a crash) */
        struct archive_obj v[] = {{7, 0, 50}, {7, 40, 30}, {7, 0, 45},
                                  {7, 60, 20}};
        ASSERT_EQ(archive_plan_log(v, 4, 7, &keep, &bytes, &err), 0);
        ASSERT_EQ(keep, 3);
        ASSERT_EQ(bytes, 80);
    }
    {
        /* a hole: named */
        struct archive_obj v[] = {{1, 0, 60}, {1, 70, 40}};
        ASSERT_EQ(archive_plan_log(v, 2, 1, &keep, &bytes, &err),
                  TM_ECORRUPT);
        ASSERT(strstr(err.msg, "00000000000000000001.wal") != NULL);
        ASSERT(strstr(err.msg, "60..69") != NULL);
    }
    {
        /* a later segment that does not start at 0 */
        struct archive_obj v[] = {{1, 0, 60}, {61, 10, 40}};
        ASSERT_EQ(archive_plan_log(v, 2, 30, &keep, &bytes, &err),
                  TM_ECORRUPT);
        /* ... but a hole before the segment needed does not matter */
        v[0].off = 10;
        v[1].off = 0;
        ASSERT_EQ(archive_plan_log(v, 2, 61, &keep, &bytes, &err), 0);
        ASSERT_EQ(keep, 1);
    }
    {
        /* the archive's log starts after the LSN needed, or is empty */
        struct archive_obj v[] = {{100, 0, 60}};
        ASSERT_EQ(archive_plan_log(v, 1, 99, &keep, &bytes, &err),
                  TM_ENOTFOUND);
        ASSERT(strstr(err.msg, "starts at record 100") != NULL);
        ASSERT_EQ(archive_plan_log(v, 0, 99, &keep, &bytes, &err),
                  TM_ENOTFOUND);
    }
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/tm_test_archive_XXXXXX");
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    fsio_track_paths();
    RUN(test_chunk_names);
    RUN(test_chunk_order);
    RUN(test_base_names);
    RUN(test_progress_roundtrip);
    RUN(test_progress_damaged);
    RUN(test_progress_save_fails);
    RUN(test_progress_save_rename_fails);
    RUN(test_progress_save_faults);
    RUN(test_merge_rule);
    RUN(test_plan_log);
    rmdir(tmpdir);
    return TEST_DONE();
}
