/*
 * test_export_dest.c - export destinations that are local directories
 * (S3Bucket "file:///abs/dir", src/export/export_dest.c): opening (a
 * missing directory is S3NoSuchBucket, a relative one refused), keys that
 * would leave the directory refused, put/stage/commit/get/fetch, listings
 * in key order under a string prefix (unfinished .tmp files left out),
 * clearing a prefix (.tmp files included), and a read-only directory
 * giving S3AccessDenied.  The object-store side is exercised against Ceph
 * RGW in tests/integration/test_export_import.py.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "export/export_dest.h"
#include "export/export_file.h"
#include "test.h"

static char tmpdir[64];

struct listing {
    char text[4096];
    uint64_t bytes;
};

static int list_fn(void *ctx, const char *key, uint64_t size)
{
    struct listing *l = ctx;
    size_t n = strlen(l->text);
    snprintf(l->text + n, sizeof l->text - n, "%s%s", n ? "|" : "", key);
    l->bytes += size;
    return 0;
}

static void test_open(void)
{
    struct export_dest *d;
    struct tm_error err;
    const char *code;
    char bucket[128];

    snprintf(bucket, sizeof bucket, "file://%s", tmpdir);
    ASSERT_EQ(export_dest_is_local(bucket), 1);
    ASSERT_EQ(export_dest_is_local("my-bucket"), 0);
    ASSERT_EQ(export_dest_open(bucket, NULL, NULL, NULL, &d, &err, &code),
              0);
    export_dest_close(d);
    snprintf(bucket, sizeof bucket, "file://%s/", tmpdir);
    ASSERT_EQ(export_dest_open(bucket, NULL, NULL, NULL, &d, &err, &code),
              0);
    export_dest_close(d);
    snprintf(bucket, sizeof bucket, "file://%s/missing", tmpdir);
    ASSERT(export_dest_open(bucket, NULL, NULL, NULL, &d, &err, &code) != 0);
    ASSERT_STR_EQ(code, "S3NoSuchBucket");
    ASSERT(strstr(err.msg, "missing does not exist") != NULL);
    ASSERT(export_dest_open("file://relative/dir", NULL, NULL, NULL, &d,
                            &err, &code) != 0);
    ASSERT_STR_EQ(code, "S3NoSuchBucket");
    ASSERT(strstr(err.msg, "absolute") != NULL);
}

static void test_objects(void)
{
    struct export_dest *d;
    struct tm_error err;
    const char *code;
    char bucket[128], path[4096], etag[80], desc[256];
    struct listing l;
    struct buf b;
    uint8_t md5[16];
    FILE *f;

    snprintf(bucket, sizeof bucket, "file://%s", tmpdir);
    ASSERT_EQ(export_dest_open(bucket, NULL, NULL, NULL, &d, &err, &code),
              0);
    /* keys leaving the directory are refused */
    ASSERT(export_dest_put(d, "../escape", "x", 1, &err, &code) != 0);
    ASSERT(export_dest_put(d, "a//b", "x", 1, &err, &code) != 0);
    ASSERT(export_dest_put(d, "/abs", "x", 1, &err, &code) != 0);
    ASSERT(export_dest_stage(d, "a/./b", path, sizeof path, &err, &code) !=
           0);
    /* put, get, overwrite */
    ASSERT_EQ(export_dest_put(d, "p/AWSDynamoDB/x/_started", "", 0, &err,
                              &code),
              0);
    ASSERT_EQ(export_dest_put(d, "p/AWSDynamoDB/x/m.json", "{}", 2, &err,
                              &code),
              0);
    ASSERT_EQ(export_dest_put(d, "p/AWSDynamoDB/x/m.json", "{\"a\":1}", 7,
                              &err, &code),
              0);
    buf_init(&b, 1 << 20);
    ASSERT_EQ(export_dest_get(d, "p/AWSDynamoDB/x/m.json", &b, &err, &code),
              0);
    ASSERT_EQ(b.len, 7);
    ASSERT(memcmp(b.data, "{\"a\":1}", 7) == 0);
    ASSERT_EQ(export_dest_get(d, "p/nope", &b, &err, &code), TM_ENOOBJECT);
    /* a staged file is in place once committed; its ETag is its MD5 */
    ASSERT_EQ(export_dest_stage(d, "p/AWSDynamoDB/x/data/f1.json.gz", path,
                                sizeof path, &err, &code),
              0);
    f = fopen(path, "w");
    ASSERT(f != NULL);
    fputs("hello", f);
    fclose(f);
    export_md5("hello", 5, md5);
    ASSERT_EQ(export_dest_commit(d, "p/AWSDynamoDB/x/data/f1.json.gz", path,
                                 md5, etag, &err, &code),
              0);
    ASSERT_STR_EQ(etag, "5d41402abc4b2a76b9719d911017c592");
    /* an unfinished file */
    snprintf(path, sizeof path, "%s/p/AWSDynamoDB/x/data/f2.json.gz.tmp",
             tmpdir);
    f = fopen(path, "w");
    ASSERT(f != NULL);
    fclose(f);
    ASSERT_EQ(export_dest_put(d, "q/other", "zz", 2, &err, &code), 0);
    /* listings: key order, string prefix, no .tmp */
    memset(&l, 0, sizeof l);
    ASSERT_EQ(export_dest_list(d, "p/", list_fn, &l, &err, &code), 0);
    ASSERT_STR_EQ(l.text, "p/AWSDynamoDB/x/_started|p/AWSDynamoDB/x/data/"
                          "f1.json.gz|p/AWSDynamoDB/x/m.json");
    ASSERT_EQ(l.bytes, 12);
    memset(&l, 0, sizeof l);
    ASSERT_EQ(export_dest_list(d, "p/AWSDynamoDB/x/da", list_fn, &l, &err,
                               &code),
              0);
    ASSERT_STR_EQ(l.text, "p/AWSDynamoDB/x/data/f1.json.gz");
    memset(&l, 0, sizeof l);
    ASSERT_EQ(export_dest_list(d, "", list_fn, &l, &err, &code), 0);
    ASSERT(strstr(l.text, "q/other") != NULL);
    memset(&l, 0, sizeof l);
    ASSERT_EQ(export_dest_list(d, "zzz/", list_fn, &l, &err, &code), 0);
    ASSERT_STR_EQ(l.text, "");
    /* fetch is the file itself */
    ASSERT_EQ(export_dest_fetch(d, "q/other", path, sizeof path, &err,
                                &code),
              0);
    ASSERT(strstr(path, "/q/other") != NULL);
    export_dest_release(d, path);
    ASSERT_EQ(access(path, F_OK), 0);
    ASSERT_EQ(export_dest_fetch(d, "q/none", path, sizeof path, &err, &code),
              TM_ENOOBJECT);
    /* clear takes the .tmp too, and nothing else */
    ASSERT_EQ(export_dest_clear(d, "p/AWSDynamoDB/x/", &err, &code), 0);
    snprintf(path, sizeof path, "%s/p/AWSDynamoDB/x/data/f2.json.gz.tmp",
             tmpdir);
    ASSERT(access(path, F_OK) != 0);
    memset(&l, 0, sizeof l);
    ASSERT_EQ(export_dest_list(d, "", list_fn, &l, &err, &code), 0);
    ASSERT_STR_EQ(l.text, "q/other");
    ASSERT_EQ(export_dest_delete(d, "q/other", &err, &code), 0);
    ASSERT_EQ(export_dest_delete(d, "q/other", &err, &code), 0);
    ASSERT_STR_EQ(export_dest_describe(d, "k/x", desc, sizeof desc) + 7 +
                      strlen(tmpdir),
                  "/k/x");
    buf_free(&b);
    export_dest_close(d);
}

static void test_read_only(void)
{
    struct export_dest *d;
    struct tm_error err;
    const char *code;
    char dir[128], bucket[160];

    if (geteuid() == 0) {
        printf("test_read_only: skipped (root writes anywhere)\n");
        return;
    }
    snprintf(dir, sizeof dir, "%s/ro", tmpdir);
    ASSERT_EQ(mkdir(dir, 0500), 0);
    snprintf(bucket, sizeof bucket, "file://%s", dir);
    ASSERT_EQ(export_dest_open(bucket, NULL, NULL, NULL, &d, &err, &code),
              0);
    ASSERT(export_dest_put(d, "x", "1", 1, &err, &code) != 0);
    ASSERT_STR_EQ(code, "S3AccessDenied");
    export_dest_close(d);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/tm-export-dest-XXXXXX");
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    RUN(test_open);
    RUN(test_objects);
    RUN(test_read_only);
    {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "chmod -R u+w %s; rm -rf %s", tmpdir,
                 tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmpdir);
    }
    return TEST_DONE();
}
