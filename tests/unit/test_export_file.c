/*
 * test_export_file.c - the export file format (src/export/export_file.c):
 * item lines written and parsed back, every kind of bad line, a data file
 * written and read back (counts, MD5 of the .gz), the reader over gzip
 * with several members, zstd with several frames, plain text, CRLF, a last
 * line without newline, empty input, truncated and damaged streams, a line
 * over the cap (skipped, the next one read); the manifests written and
 * parsed, and their malformed forms.  Regressions found by the fuzzer
 * (tests/fuzz/fuzz_export_reader.c) are at the end.
 */
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>
#include <zstd.h>

#include "base/clock.h"
#include "base/arena.h"
#include "base/buf.h"
#include "export/export_file.h"
#include "item/item.h"
#include "test.h"

static char tmpdir[64];

static struct av parse_item(struct arena *a, const char *json)
{
    struct av item;
    struct tm_error err;
    json_t *j = json_loads(json, 0, NULL);

    memset(&item, 0, sizeof item);
    if (j == NULL || item_from_json(a, j, &item, &err) != 0) {
        fprintf(stderr, "bad test item %s\n", json);
        exit(2);
    }
    json_decref(j);
    return item;
}

/* gzip of `n` bytes (one member) appended to `out`. */
static void gzip_into(const void *p, size_t n, struct buf *out)
{
    z_stream z;
    uint8_t tmp[65536];
    int rc;

    memset(&z, 0, sizeof z);
    deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
    z.next_in = (Bytef *)p;
    z.avail_in = (uInt)n;
    do {
        z.next_out = tmp;
        z.avail_out = sizeof tmp;
        rc = deflate(&z, Z_FINISH);
        buf_append(out, tmp, sizeof tmp - z.avail_out);
    } while (rc != Z_STREAM_END);
    deflateEnd(&z);
}

/* All lines of `data` read with compression `c`: their count, the lines
 * joined with '|' into `joined`, and the first error (0 if none). */
static int read_all(const uint8_t *data, size_t len, enum export_compression c,
                    struct buf *joined, int *nlines, struct tm_error *err)
{
    struct export_reader *r;
    const char *line;
    size_t l;
    int rc, first_err = 0;

    *nlines = 0;
    if (export_reader_open_mem(data, len, c, "t.json.gz", &r, err) != 0)
        return -1000;
    for (;;) {
        rc = export_reader_next(r, &line, &l, err);
        if (rc == 1) {
            if (*nlines)
                buf_putc(joined, '|');
            buf_append(joined, line, l);
            (*nlines)++;
            continue;
        }
        if (rc == TM_ETOOLARGE) {
            if (!first_err)
                first_err = rc;
            continue;
        }
        if (rc < 0 && !first_err)
            first_err = rc;
        break;
    }
    export_reader_close(r);
    buf_putc(joined, 0);
    return first_err;
}

/* ---- lines ---------------------------------------------------------------- */

static void test_line_round_trip(void)
{
    static const char *items[] = {
        "{\"pk\":{\"S\":\"a\"}}",
        "{\"pk\":{\"S\":\"\\u00e9t\\u00e9 \\\"q\\\" \\\\ \\n\"},"
        "\"n\":{\"N\":\"-12.500\"},\"b\":{\"B\":\"AAEC/w==\"},"
        "\"t\":{\"BOOL\":true},\"z\":{\"NULL\":true}}",
        "{\"pk\":{\"N\":\"1\"},\"ss\":{\"SS\":[\"x\",\"y\"]},"
        "\"ns\":{\"NS\":[\"1\",\"2.5\"]},\"bs\":{\"BS\":[\"AA==\"]},"
        "\"l\":{\"L\":[{\"S\":\"a\"},{\"M\":{\"k\":{\"N\":\"3\"}}}]}}",
    };
    struct arena *a = arena_create(65536, 64u << 20);
    struct tm_error err;

    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
        struct av item = parse_item(a, items[i]), back;
        struct buf b;
        buf_init(&b, 1 << 20);
        ASSERT_EQ(export_line_write(&item, &b), 0);
        ASSERT(b.len > 10);
        ASSERT_EQ(b.data[b.len - 1], '\n');
        ASSERT(memcmp(b.data, "{\"Item\":{", 9) == 0);
        ASSERT_EQ(memchr(b.data, '\n', b.len - 1) == NULL, 1);
        ASSERT_EQ(export_line_parse(a, (char *)b.data, b.len - 1, &back,
                                    &err),
                  1);
        ASSERT(av_equal(&item, &back));
        buf_free(&b);
    }
    arena_destroy(a);
}

static void test_line_errors(void)
{
    static const struct {
        const char *line;
        int rc;
        const char *msg;
    } cases[] = {
        {"", 0, NULL},
        {"   \t\r", 0, NULL},
        {"{\"Item\":{\"a\":{\"S\":\"x\"}}}\r", 1, NULL},
        {"{\"Item\":{}}", 1, NULL},
        {"{\"Item\":", TM_ESERIALIZATION, "not JSON"},
        {"[1,2]", TM_EVALIDATION, "not a JSON object"},
        {"{\"Items\":{}}", TM_EVALIDATION, "no \"Item\" member"},
        {"{\"Item\":{},\"x\":1}", TM_EVALIDATION, "other than \"Item\""},
        {"{\"Item\":[]}", TM_EVALIDATION, "not an object"},
        {"{\"Item\":{\"a\":{\"N\":\"x1\"}}}", TM_EVALIDATION, NULL},
        {"{\"Item\":{\"a\":{\"S\":5}}}", TM_ESERIALIZATION, NULL},
        {"{\"Item\":{\"a\":{\"SS\":[\"x\",\"x\"]}}}", TM_EVALIDATION, NULL},
        {"{\"Item\":{}} x", TM_ESERIALIZATION, "not JSON"},
    };
    struct arena *a = arena_create(65536, 64u << 20);

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct av item;
        struct tm_error err;
        int rc;
        tm_error_clear(&err);
        rc = export_line_parse(a, cases[i].line, strlen(cases[i].line),
                               &item, &err);
        if (rc != cases[i].rc)
            fprintf(stderr, "case %zu: %s\n", i, err.msg);
        ASSERT_EQ(rc, cases[i].rc);
        if (cases[i].msg)
            ASSERT(strstr(err.msg, cases[i].msg) != NULL);
    }
    arena_destroy(a);
}

/* ---- a data file written and read back ----------------------------------- */

static void test_writer_reader(void)
{
    struct arena *a = arena_create(65536, 256u << 20);
    struct export_writer *w;
    struct export_file_info info;
    struct export_reader *r;
    struct tm_error err;
    char path[128], tmp[140];
    const char *line;
    size_t len;
    uint8_t md5[16];
    struct stat st;
    int n = 0, rc;
    enum { N = 20000 };

    snprintf(path, sizeof path, "%s/data.json.gz", tmpdir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    ASSERT_EQ(export_writer_open(path, &w, &err), 0);
    ASSERT_EQ(access(tmp, F_OK), 0);
    ASSERT(access(path, F_OK) != 0);
    for (int i = 0; i < N; i++) {
        char js[256];
        struct av item;
        snprintf(js, sizeof js,
                 "{\"pk\":{\"S\":\"user%05d\"},\"n\":{\"N\":\"%d\"},"
                 "\"body\":{\"S\":\"%.*s\"}}",
                 i, i * 7, i % 120,
                 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
        item = parse_item(a, js);
        ASSERT_EQ(export_writer_add(w, &item, &err), 0);
    }
    ASSERT_EQ(export_writer_items(w), N);
    ASSERT_EQ(export_writer_finish(w, &info, &err), 0);
    ASSERT(access(tmp, F_OK) != 0);
    ASSERT_EQ(stat(path, &st), 0);
    ASSERT_EQ((uint64_t)st.st_size, info.file_bytes);
    ASSERT_EQ(info.items, N);
    ASSERT(info.raw_bytes > info.file_bytes);
    ASSERT(info.item_bytes > 0 && info.item_bytes < info.raw_bytes);

    ASSERT_EQ(export_reader_open_file(path, EXPORT_GZIP, NULL, &r, &err), 0);
    while ((rc = export_reader_next(r, &line, &len, &err)) == 1) {
        struct av item;
        char want[32];
        const struct av *pk;
        arena_reset(a);
        ASSERT_EQ(export_line_parse(a, line, len, &item, &err), 1);
        pk = item_get(&item, "pk", 2);
        snprintf(want, sizeof want, "user%05d", n);
        ASSERT(pk && pk->u.s.n == strlen(want) &&
               memcmp(pk->u.s.p, want, pk->u.s.n) == 0);
        n++;
        ASSERT_EQ(export_reader_line_no(r), n);
    }
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(n, N);
    ASSERT_EQ(export_reader_bytes_in(r), info.file_bytes);
    export_reader_md5(r, md5);
    ASSERT_MEM_EQ(md5, info.md5, 16);
    ASSERT_EQ(export_reader_next(r, &line, &len, &err), 0);
    export_reader_close(r);

    /* an empty file: a valid gzip stream of nothing */
    ASSERT_EQ(export_writer_open(path, &w, &err), 0);
    ASSERT_EQ(export_writer_finish(w, &info, &err), 0);
    ASSERT_EQ(info.items, 0);
    ASSERT(info.file_bytes >= 18);
    ASSERT_EQ(export_reader_open_file(path, EXPORT_GZIP, NULL, &r, &err), 0);
    ASSERT_EQ(export_reader_next(r, &line, &len, &err), 0);
    export_reader_close(r);

    /* abort leaves nothing; a missing directory is TM_EIO naming it */
    unlink(path);
    ASSERT_EQ(export_writer_open(path, &w, &err), 0);
    export_writer_abort(w);
    ASSERT(access(tmp, F_OK) != 0 && access(path, F_OK) != 0);
    snprintf(path, sizeof path, "%s/nodir/x.json.gz", tmpdir);
    ASSERT_EQ(export_writer_open(path, &w, &err), TM_EIO);
    ASSERT(strstr(err.msg, "nodir") != NULL);
    ASSERT_EQ(export_reader_open_file(path, EXPORT_GZIP, NULL, &r, &err),
              TM_EIO);
    arena_destroy(a);
}

static void test_reader_forms(void)
{
    const char *text = "one\r\ntwo\n\nthree";
    struct buf in, got;
    struct tm_error err;
    size_t first;
    int n;

    /* plain text, CRLF, a blank line, no final newline */
    buf_init(&got, 1 << 20);
    ASSERT_EQ(read_all((const uint8_t *)text, strlen(text), EXPORT_NONE,
                       &got, &n, &err),
              0);
    ASSERT_EQ(n, 4);
    ASSERT_STR_EQ((char *)got.data, "one|two||three");
    buf_free(&got);

    /* gzip in two members, split in the middle of a line */
    buf_init(&in, 1 << 20);
    buf_init(&got, 1 << 20);
    gzip_into("alpha\nbe", 8, &in);
    first = in.len;
    gzip_into("ta\ngamma\n", 9, &in);
    ASSERT_EQ(read_all(in.data, in.len, EXPORT_GZIP, &got, &n, &err), 0);
    ASSERT_EQ(n, 3);
    ASSERT_STR_EQ((char *)got.data, "alpha|beta|gamma");

    /* truncated: every cut inside a member is TM_ECORRUPT, never a silent
     * short read (a cut between members is a whole, shorter file) */
    for (size_t cut = 1; cut < in.len; cut++) {
        if (cut == first)
            continue;
        buf_reset(&got);
        int rc = read_all(in.data, cut, EXPORT_GZIP, &got, &n, &err);
        if (rc != TM_ECORRUPT)
            fprintf(stderr, "cut at %zu of %zu: rc %d\n", cut, in.len, rc);
        ASSERT_EQ(rc, TM_ECORRUPT);
    }
    ASSERT(strstr(err.msg, "t.json.gz") != NULL);
    /* a damaged byte in the deflate data or the trailer */
    {
        uint8_t *d = malloc(in.len);
        memcpy(d, in.data, in.len);
        d[in.len - 6] ^= 0x55; /* CRC-32 of the second member */
        buf_reset(&got);
        ASSERT_EQ(read_all(d, in.len, EXPORT_GZIP, &got, &n, &err),
                  TM_ECORRUPT);
        ASSERT(strstr(err.msg, "corrupt") != NULL);
        free(d);
    }
    /* not gzip at all */
    buf_reset(&got);
    ASSERT_EQ(read_all((const uint8_t *)"hello\n", 6, EXPORT_GZIP, &got, &n,
                       &err),
              TM_ECORRUPT);
    /* empty input is no lines (any compression) */
    buf_reset(&got);
    ASSERT_EQ(read_all(in.data, 0, EXPORT_GZIP, &got, &n, &err), 0);
    ASSERT_EQ(n, 0);
    buf_free(&in);
    buf_free(&got);

    /* zstd in two frames */
    {
        char z1[256], z2[256];
        size_t n1 = ZSTD_compress(z1, sizeof z1, "x1\nx", 4, 3);
        size_t n2 = ZSTD_compress(z2, sizeof z2, "2\nx3\n", 5, 3);
        buf_init(&in, 1 << 20);
        buf_init(&got, 1 << 20);
        buf_append(&in, z1, n1);
        buf_append(&in, z2, n2);
        ASSERT_EQ(read_all(in.data, in.len, EXPORT_ZSTD, &got, &n, &err), 0);
        ASSERT_EQ(n, 3);
        ASSERT_STR_EQ((char *)got.data, "x1|x2|x3");
        buf_reset(&got);
        ASSERT_EQ(read_all(in.data, in.len - 2, EXPORT_ZSTD, &got, &n, &err),
                  TM_ECORRUPT);
        buf_free(&in);
        buf_free(&got);
    }
}

static void test_reader_long_line(void)
{
    size_t big = EXPORT_LINE_MAX + 100;
    struct buf raw, in, got;
    struct tm_error err;
    int n;

    buf_init(&raw, (size_t)16 << 20);
    buf_init(&in, (size_t)16 << 20);
    buf_init(&got, (size_t)16 << 20);
    buf_append(&raw, "first\n", 6);
    for (size_t i = 0; i < big; i++)
        buf_putc(&raw, 'q');
    buf_append(&raw, "\nlast\n", 6);
    /* the long line is reported once, skipped; the next line is read */
    ASSERT_EQ(read_all(raw.data, raw.len, EXPORT_NONE, &got, &n, &err),
              TM_ETOOLARGE);
    ASSERT_EQ(n, 2);
    ASSERT_STR_EQ((char *)got.data, "first|last");
    buf_reset(&got);
    gzip_into(raw.data, raw.len, &in);
    ASSERT_EQ(read_all(in.data, in.len, EXPORT_GZIP, &got, &n, &err),
              TM_ETOOLARGE);
    ASSERT_EQ(n, 2);
    ASSERT_STR_EQ((char *)got.data, "first|last");
    ASSERT(strstr(err.msg, "line 2") != NULL);
    /* exactly the cap is fine */
    buf_reset(&raw);
    for (size_t i = 0; i < EXPORT_LINE_MAX; i++)
        buf_putc(&raw, 'q');
    buf_reset(&got);
    ASSERT_EQ(read_all(raw.data, raw.len, EXPORT_NONE, &got, &n, &err), 0);
    ASSERT_EQ(n, 1);
    buf_free(&raw);
    buf_free(&in);
    buf_free(&got);
}

/* ---- manifests ------------------------------------------------------------ */

static void test_manifests(void)
{
    struct arena *a = arena_create(65536, 64u << 20);
    struct export_summary s = {0}, back;
    struct export_file_entry f[2] = {
        {3, "y+zg5fVeudb3R3DOQ+RKgA==", "b5443265c5e545b6c8d8275e0b6f8c15",
         "pfx/AWSDynamoDB/01768385930622-efd1a093/data/abc.json.gz"},
        {0, "FjvgqIxwymKf1RbbqtrZag==", "7deb4078f238dd87d6af0538152c04e9",
         "pfx/AWSDynamoDB/01768385930622-efd1a093/data/def.json.gz"}};
    struct export_file_entry *got;
    struct tm_error err;
    struct buf b;
    size_t n;
    char md5[25];
    uint8_t d[16];

    s.export_arn = "arn:aws:dynamodb:us-east-1:000000000000:table/t/export/"
                   "01768385930622-efd1a093";
    s.start_ms = 1768385930622;
    s.end_ms = 1768386298984;
    s.table_arn = "arn:aws:dynamodb:us-east-1:000000000000:table/t";
    s.table_id = "cf263806-6bf1-4e51-a242-7067dcdecc72";
    s.export_time_ms = 1768385930622;
    s.s3_bucket = "bkt";
    s.s3_sse_algorithm = "AES256";
    s.manifest_files_key =
        "AWSDynamoDB/01768385930622-efd1a093/manifest-files.json";
    s.item_count = 3;
    buf_init(&b, 1 << 20);
    ASSERT_EQ(export_summary_write(&s, &b), 0);
    buf_putc(&b, 0);
    /* the field order and forms of a real manifest */
    ASSERT_STR_EQ((char *)b.data,
                  "{\"version\":\"2020-06-30\",\"exportArn\":\"arn:aws:"
                  "dynamodb:us-east-1:000000000000:table/t/export/"
                  "01768385930622-efd1a093\",\"startTime\":\"2026-01-14T10:"
                  "18:50.622Z\",\"endTime\":\"2026-01-14T10:24:58.984Z\","
                  "\"tableArn\":\"arn:aws:dynamodb:us-east-1:000000000000:"
                  "table/t\",\"tableId\":\"cf263806-6bf1-4e51-a242-"
                  "7067dcdecc72\",\"exportTime\":\"2026-01-14T10:18:50.622Z"
                  "\",\"s3Bucket\":\"bkt\",\"s3Prefix\":null,"
                  "\"s3SseAlgorithm\":\"AES256\",\"s3SseKmsKeyId\":null,"
                  "\"manifestFilesS3Key\":\"AWSDynamoDB/01768385930622-"
                  "efd1a093/manifest-files.json\",\"billedSizeBytes\":0,"
                  "\"itemCount\":3,\"outputFormat\":\"DYNAMODB_JSON\"}");
    ASSERT_EQ(export_summary_parse(a, (char *)b.data, b.len - 1, &back,
                                   &err),
              0);
    ASSERT_STR_EQ(back.manifest_files_key, s.manifest_files_key);
    ASSERT_STR_EQ(back.output_format, "DYNAMODB_JSON");
    ASSERT_EQ(back.item_count, 3);
    ASSERT(back.s3_prefix == NULL && back.export_type == NULL);

    buf_reset(&b);
    ASSERT_EQ(export_files_line_write(&f[0], &b), 0);
    ASSERT_EQ(export_files_line_write(&f[1], &b), 0);
    ASSERT_EQ(export_files_parse(a, (char *)b.data, b.len, &got, &n, &err),
              0);
    ASSERT_EQ(n, 2);
    for (size_t i = 0; i < 2; i++) {
        ASSERT_EQ(got[i].item_count, f[i].item_count);
        ASSERT_STR_EQ(got[i].md5_checksum, f[i].md5_checksum);
        ASSERT_STR_EQ(got[i].etag, f[i].etag);
        ASSERT_STR_EQ(got[i].data_key, f[i].data_key);
    }
    /* no final newline, blank lines, empty manifest */
    {
        const char *t = "\n{\"itemCount\":1,\"dataFileS3Key\":\"k\"}\n\n"
                        "{\"itemCount\":2,\"dataFileS3Key\":\"j\"}";
        ASSERT_EQ(export_files_parse(a, t, strlen(t), &got, &n, &err), 0);
    }
    ASSERT_EQ(n, 2);
    ASSERT(got[0].md5_checksum == NULL && got[1].item_count == 2);
    ASSERT_EQ(export_files_parse(a, "", 0, &got, &n, &err), 0);
    ASSERT_EQ(n, 0);

    /* malformed */
    {
        static const char *bad_files[] = {
            "{\"itemCount\":1}\n",
            "{\"dataFileS3Key\":\"k\"}\n",
            "{\"itemCount\":-1,\"dataFileS3Key\":\"k\"}\n",
            "{\"itemCount\":1.5,\"dataFileS3Key\":\"k\"}\n",
            "{\"itemCount\":1,\"dataFileS3Key\":\"\"}\n",
            "{\"itemCount\":1,\"dataFileS3Key\":7}\n",
            "{\"itemCount\":1,\"dataFileS3Key\":\"k\",\"etag\":[]}\n",
            "[]\n",
            "{\"itemCount\":1,\"dataFileS3Key\":\"k\"}\nnope\n",
        };
        static const char *bad_summary[] = {
            "", "[]", "{}", "{\"manifestFilesS3Key\":\"\"}",
            "{\"manifestFilesS3Key\":5}",
            "{\"manifestFilesS3Key\":\"k\",\"itemCount\":\"3\"}",
            "{\"manifestFilesS3Key\":\"k\",\"outputFormat\":1}",
        };
        for (size_t i = 0; i < sizeof bad_files / sizeof *bad_files; i++) {
            ASSERT_EQ(export_files_parse(a, bad_files[i],
                                         strlen(bad_files[i]), &got, &n,
                                         &err),
                      TM_EVALIDATION);
            ASSERT(strstr(err.msg, "manifest-files.json line") != NULL);
        }
        ASSERT(strstr(err.msg, "line 2") != NULL);
        for (size_t i = 0; i < sizeof bad_summary / sizeof *bad_summary;
             i++)
            ASSERT_EQ(export_summary_parse(a, bad_summary[i],
                                           strlen(bad_summary[i]), &back,
                                           &err),
                      TM_EVALIDATION);
    }

    /* helpers */
    export_md5("", 0, d);
    export_md5_b64(d, md5);
    ASSERT_STR_EQ(md5, "1B2M2Y8AsgTpgAmY7PhCfg==");
    {
        char t[40], name[27];
        clock_iso_ms(0, t, sizeof t);
        ASSERT_STR_EQ(t, "1970-01-01T00:00:00.000Z");
        clock_iso_ms(1768385930622, t, sizeof t);
        ASSERT_STR_EQ(t, "2026-01-14T10:18:50.622Z");
        export_random_name(name);
        ASSERT_EQ(strlen(name), 26);
        ASSERT_EQ(strspn(name, "abcdefghijklmnopqrstuvwxyz234567"), 26);
    }
    buf_free(&b);
    arena_destroy(a);
}

/* ---- fuzzer findings ------------------------------------------------------ */

/* fuzz_export_reader, first run: the reader's output window pointer was
 * NULL until the first refill, and the first call computed NULL + 0
 * (undefined behaviour; clang's UBSan stops there).  The input: the first
 * half of a gzip data file, which must read as TM_ECORRUPT. */
static void test_fuzz_null_window(void)
{
    static const uint8_t input[] = {
        0x1f, 0x8b, 0x08, 0x00, 0x06, 0x26, 0x07, 0x6b, 0x02, 0xff, 0x75,
        0x90, 0x31, 0x0f, 0x82, 0x30, 0x10, 0x85, 0x77, 0x13, 0xff, 0x83,
        0xb9, 0x55, 0x44, 0x90, 0x30, 0x48, 0xc2, 0x00, 0x86, 0xc1, 0x04,
        0x61, 0x30, 0x4e, 0xc8, 0x00, 0x91, 0x45, 0xb0, 0x18, 0x5b, 0x14,
        0x25, 0xfd, 0xef, 0xde, 0x95, 0x60, 0x4c, 0xc4, 0xa5, 0xcd, 0xfb,
        0xee, 0xfa, 0xde, 0x5d, 0x3b, 0xd8, 0x8a, 0xe2, 0x02, 0x4e, 0x07,
        0xd7, 0x92, 0xce, 0x3d, 0x38, 0x50, 0x1a, 0x20, 0x35, 0xb8, 0x93,
        0x8c, 0x50, 0xa2, 0x92, 0x72, 0xd2, 0x8d, 0x34, 0x1e, 0x1b, 0xc3,
        0x28, 0xd6, 0xa2, 0xbf, 0xe8, 0x4d, 0x4e, 0x15, 0x1f, 0x2b, 0x9e,
        0x17, 0x6c, 0x96, 0x0f, 0xd7, 0x25, 0x28, 0x14, 0x8c,
    };
    struct buf got;
    struct tm_error err;
    int n;

    buf_init(&got, 1 << 20);
    ASSERT_EQ(read_all(input, sizeof input, EXPORT_GZIP, &got, &n, &err),
              TM_ECORRUPT);
    ASSERT(strstr(err.msg, "truncated") != NULL);
    buf_free(&got);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/tm-export-file-XXXXXX");
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    RUN(test_line_round_trip);
    RUN(test_line_errors);
    RUN(test_writer_reader);
    RUN(test_reader_forms);
    RUN(test_reader_long_line);
    RUN(test_manifests);
    RUN(test_fuzz_null_window);
    {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmpdir);
    }
    return TEST_DONE();
}
