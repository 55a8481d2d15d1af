/*
 * export_file.c - DynamoDB's export files: one data file written
 * (gzip JSON lines), the two manifests written and parsed, data files read
 * back line by line; see export_file.h for the layout and guarantees.
 *
 * Writing: every item becomes one line {"Item":{...}}\n (item_write_json:
 * numbers canonical, binaries base64), deflated by zlib into a gzip stream
 * (windowBits 15 + 16), written in 64 KiB pieces through src/base/fsio
 * (so the fault-injection tests reach it) while an MD5 of the compressed
 * bytes is kept for manifest-files.json.
 *
 * Reading: input comes in pieces (64 KiB reads of a file, or slices of a
 * buffer) and goes through the decompressor the caller names:
 *
 *   input piece --MD5--> [none | inflate (gzip, several members allowed)
 *                         | ZSTD_decompressStream (several frames allowed)]
 *               --> output window (256 KiB) --> lines split at '\n'
 *
 * A line that fits in the output window is handed out in place; one that
 * spans windows is gathered in a buffer capped at EXPORT_LINE_MAX, past
 * which the reader reports TM_ETOOLARGE once and skips to the next
 * newline.  A stream that ends inside a gzip member or a zstd frame is
 * TM_ECORRUPT ("truncated"), as is any inflate/zstd error; the offset in
 * the message is the input byte where decompression stopped.
 */
#include "export/export_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zlib.h>
#include <zstd.h>

#include "base/clock.h"
#include "base/fsio.h"
#include "base/jsonw.h"

#define IN_CHUNK (64u * 1024)
#define OUT_CHUNK (256u * 1024)

/* ==== Helpers ==== */

void export_md5(const void *p, size_t n, uint8_t out[16])
{
    unsigned len = 16;
    EVP_Digest(p, n, out, &len, EVP_md5(), NULL);
}

void export_md5_b64(const uint8_t md5[16], char out[25])
{
    EVP_EncodeBlock((unsigned char *)out, md5, 16);
    out[24] = '\0';
}

void export_random_name(char out[27])
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    uint8_t b[26];

    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        uint64_t t = clock_mono_ns() ^ (uint64_t)getpid() << 32;
        for (int i = 0; i < 26; i++) {
            t = t * 6364136223846793005ULL + 1442695040888963407ULL;
            b[i] = (uint8_t)(t >> 33);
        }
    }
    for (int i = 0; i < 26; i++)
        out[i] = alphabet[b[i] & 31];
    out[26] = '\0';
}

/* ==== Lines ==== */

int export_line_write(const struct av *item, struct buf *out)
{
    size_t mark = out->len;
    int rc = json_put_raw(out, "{\"Item\":");

    if (rc == 0)
        rc = item_write_json(item, out);
    if (rc == 0)
        rc = json_put_raw(out, "}\n");
    if (rc)
        out->len = mark;
    return rc;
}

static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return 0;
    return 1;
}

int export_line_parse(struct arena *a, const char *line, size_t len,
                      struct av *item, struct tm_error *err)
{
    json_error_t jerr;
    json_t *j, *it;
    int rc;

    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (blank(line, len))
        return 0;
    if (len > EXPORT_LINE_MAX)
        return tm_error_set(err, TM_EVALIDATION,
                            "the line is longer than %u bytes",
                            EXPORT_LINE_MAX);
    j = json_loadb(line, len, 0, &jerr);
    if (j == NULL)
        return tm_error_set(err, TM_ESERIALIZATION,
                            "not JSON (column %d): %s", jerr.column,
                            jerr.text);
    if (!json_is_object(j)) {
        json_decref(j);
        return tm_error_set(err, TM_EVALIDATION,
                            "the line is not a JSON object; each line of a "
                            "DYNAMODB_JSON file is {\"Item\":{...}}");
    }
    it = json_object_get(j, "Item");
    if (it == NULL || json_object_size(j) != 1) {
        json_decref(j);
        return tm_error_set(err, TM_EVALIDATION,
                            it ? "the line has members other than \"Item\""
                               : "the line has no \"Item\" member; each line"
                                 " of a DYNAMODB_JSON file is "
                                 "{\"Item\":{...}}");
    }
    if (!json_is_object(it)) {
        json_decref(j);
        return tm_error_set(err, TM_EVALIDATION,
                            "\"Item\" is not an object of attribute values");
    }
    rc = item_from_json(a, it, item, err);
    json_decref(j);
    return rc < 0 ? rc : 1;
}

/* ==== Writing a data file ==== */

struct export_writer {
    char *path, *tmp;
    int fd;
    z_stream z;
    int z_init;
    EVP_MD_CTX *md5;
    struct buf line;
    uint8_t *zout;
    uint64_t items, item_bytes, raw_bytes, file_bytes;
};

static void writer_free(struct export_writer *w)
{
    if (w->fd >= 0)
        fsio_close(w->fd);
    if (w->z_init)
        deflateEnd(&w->z);
    EVP_MD_CTX_free(w->md5);
    buf_free(&w->line);
    free(w->zout);
    free(w->path);
    free(w->tmp);
    free(w);
}

int export_writer_open(const char *path, struct export_writer **out,
                       struct tm_error *err)
{
    struct export_writer *w = calloc(1, sizeof *w);
    size_t n = strlen(path);

    *out = NULL;
    if (w == NULL)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    w->fd = -1;
    buf_init(&w->line, (size_t)EXPORT_LINE_MAX * 2);
    w->path = strdup(path);
    w->tmp = malloc(n + 5);
    w->zout = malloc(IN_CHUNK);
    w->md5 = EVP_MD_CTX_new();
    if (w->path == NULL || w->tmp == NULL || w->zout == NULL ||
        w->md5 == NULL || EVP_DigestInit_ex(w->md5, EVP_md5(), NULL) != 1) {
        writer_free(w);
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    }
    snprintf(w->tmp, n + 5, "%s.tmp", path);
    if (deflateInit2(&w->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        writer_free(w);
        return tm_error_set(err, TM_ENOMEM, "zlib: cannot start a stream");
    }
    w->z_init = 1;
    w->fd = fsio_open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                      0640);
    if (w->fd < 0) {
        int e = errno;
        writer_free(w);
        return tm_error_set(err, TM_EIO, "cannot create %s.tmp: %s", path,
                            strerror(e));
    }
    *out = w;
    return 0;
}

/* Deflate what is in w->z's input with `flush`, writing every output
 * piece. */
static int pump(struct export_writer *w, int flush, struct tm_error *err)
{
    int zrc;

    do {
        size_t have;
        w->z.next_out = w->zout;
        w->z.avail_out = IN_CHUNK;
        zrc = deflate(&w->z, flush);
        if (zrc == Z_STREAM_ERROR)
            return tm_error_set(err, TM_EINTERNAL, "zlib: deflate failed");
        have = IN_CHUNK - w->z.avail_out;
        if (have) {
            if (fsio_write_full(w->fd, w->zout, have) != 0)
                return tm_error_set(err, TM_EIO, "cannot write %s: %s",
                                    w->tmp, strerror(errno));
            EVP_DigestUpdate(w->md5, w->zout, have);
            w->file_bytes += have;
        }
    } while (w->z.avail_out == 0 ||
             (flush == Z_FINISH && zrc != Z_STREAM_END));
    return 0;
}

int export_writer_add(struct export_writer *w, const struct av *item,
                      struct tm_error *err)
{
    int rc;

    buf_reset(&w->line);
    if ((rc = export_line_write(item, &w->line)) != 0)
        return tm_error_set(err, rc, "an item could not be written as JSON");
    w->z.next_in = w->line.data;
    w->z.avail_in = (uInt)w->line.len;
    if ((rc = pump(w, Z_NO_FLUSH, err)) != 0)
        return rc;
    w->items++;
    w->item_bytes += item_size(item);
    w->raw_bytes += w->line.len;
    return 0;
}

uint64_t export_writer_items(const struct export_writer *w)
{
    return w->items;
}

uint64_t export_writer_raw_bytes(const struct export_writer *w)
{
    return w->raw_bytes;
}

static int sync_parent(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;

    if (slash == NULL)
        return fsio_fsync_dir(".");
    if (n == 0)
        return fsio_fsync_dir("/");
    if (n >= sizeof dir)
        return -1;
    memcpy(dir, path, n);
    dir[n] = '\0';
    return fsio_fsync_dir(dir);
}

int export_writer_finish(struct export_writer *w,
                         struct export_file_info *info, struct tm_error *err)
{
    unsigned len = 16;
    int rc;

    w->z.next_in = NULL;
    w->z.avail_in = 0;
    rc = pump(w, Z_FINISH, err);
    if (rc == 0 && fsio_fdatasync(w->fd) != 0)
        rc = tm_error_set(err, TM_EIO, "cannot sync %s: %s", w->tmp,
                          strerror(errno));
    if (rc == 0) {
        int fd = w->fd;
        w->fd = -1;
        if (fsio_close(fd) != 0)
            rc = tm_error_set(err, TM_EIO, "cannot close %s: %s", w->tmp,
                              strerror(errno));
    }
    if (rc == 0 && fsio_rename(w->tmp, w->path) != 0)
        rc = tm_error_set(err, TM_EIO, "cannot rename %s to %s: %s", w->tmp,
                          w->path, strerror(errno));
    if (rc == 0 && sync_parent(w->path) != 0) {
        rc = tm_error_set(err, TM_EIO, "cannot sync the directory of %s: %s",
                          w->path, strerror(errno));
        fsio_unlink(w->path);
    }
    if (rc) {
        fsio_unlink(w->tmp);
        writer_free(w);
        return rc;
    }
    if (info) {
        info->items = w->items;
        info->item_bytes = w->item_bytes;
        info->raw_bytes = w->raw_bytes;
        info->file_bytes = w->file_bytes;
        EVP_DigestFinal_ex(w->md5, info->md5, &len);
    }
    writer_free(w);
    return 0;
}

void export_writer_abort(struct export_writer *w)
{
    if (w == NULL)
        return;
    if (w->fd >= 0) {
        fsio_close(w->fd);
        w->fd = -1;
    }
    fsio_unlink(w->tmp);
    writer_free(w);
}

/* ==== Manifests ==== */

static int put_str_or_null(struct buf *o, const char *s)
{
    return s ? json_put_cstr(o, s) : json_put_raw(o, "null");
}

static int put_time(struct buf *o, int64_t ms)
{
    char t[48];
    clock_iso_ms(ms, t, sizeof t);
    return json_put_cstr(o, t);
}

static int put_u64(struct buf *o, uint64_t v)
{
    return buf_printf(o, "%llu", (unsigned long long)v);
}

int export_summary_write(const struct export_summary *s, struct buf *out)
{
    size_t mark = out->len;
    int rc = 0;

    rc |= json_put_raw(out, "{\"version\":");
    rc |= json_put_cstr(out, s->version ? s->version
                                        : EXPORT_MANIFEST_VERSION);
    rc |= json_put_raw(out, ",\"exportArn\":");
    rc |= put_str_or_null(out, s->export_arn);
    rc |= json_put_raw(out, ",\"startTime\":");
    rc |= put_time(out, s->start_ms);
    rc |= json_put_raw(out, ",\"endTime\":");
    rc |= put_time(out, s->end_ms);
    rc |= json_put_raw(out, ",\"tableArn\":");
    rc |= put_str_or_null(out, s->table_arn);
    rc |= json_put_raw(out, ",\"tableId\":");
    rc |= put_str_or_null(out, s->table_id);
    rc |= json_put_raw(out, ",\"exportTime\":");
    rc |= put_time(out, s->export_time_ms);
    rc |= json_put_raw(out, ",\"s3Bucket\":");
    rc |= put_str_or_null(out, s->s3_bucket);
    rc |= json_put_raw(out, ",\"s3Prefix\":");
    rc |= put_str_or_null(out, s->s3_prefix);
    rc |= json_put_raw(out, ",\"s3SseAlgorithm\":");
    rc |= put_str_or_null(out, s->s3_sse_algorithm);
    rc |= json_put_raw(out, ",\"s3SseKmsKeyId\":");
    rc |= put_str_or_null(out, s->s3_sse_kms_key_id);
    rc |= json_put_raw(out, ",\"manifestFilesS3Key\":");
    rc |= put_str_or_null(out, s->manifest_files_key);
    rc |= json_put_raw(out, ",\"billedSizeBytes\":");
    rc |= put_u64(out, s->billed_size_bytes);
    rc |= json_put_raw(out, ",\"itemCount\":");
    rc |= put_u64(out, s->item_count);
    rc |= json_put_raw(out, ",\"outputFormat\":");
    rc |= put_str_or_null(out, s->output_format ? s->output_format
                                                : "DYNAMODB_JSON");
    rc |= buf_putc(out, '}');
    if (rc) {
        out->len = mark;
        return TM_ENOMEM;
    }
    return 0;
}

int export_files_line_write(const struct export_file_entry *f,
                            struct buf *out)
{
    size_t mark = out->len;
    int rc = 0;

    rc |= json_put_raw(out, "{\"itemCount\":");
    rc |= put_u64(out, f->item_count);
    rc |= json_put_raw(out, ",\"md5Checksum\":");
    rc |= put_str_or_null(out, f->md5_checksum);
    rc |= json_put_raw(out, ",\"etag\":");
    rc |= put_str_or_null(out, f->etag);
    rc |= json_put_raw(out, ",\"dataFileS3Key\":");
    rc |= put_str_or_null(out, f->data_key);
    rc |= json_put_raw(out, "}\n");
    if (rc) {
        out->len = mark;
        return TM_ENOMEM;
    }
    return 0;
}

/* A string member (or null/absent: *out NULL) copied into `a`; 0, or -1
 * when it is of another kind. */
static int opt_string(struct arena *a, json_t *o, const char *k,
                      const char **out)
{
    json_t *v = json_object_get(o, k);

    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return -1;
    *out = arena_strndup(a, json_string_value(v), json_string_length(v));
    return *out ? 0 : -2;
}

/* A whole number >= 0 (absent: *present 0); -1 otherwise. */
static int opt_count(json_t *o, const char *k, uint64_t *out, int *present)
{
    json_t *v = json_object_get(o, k);

    *present = 0;
    *out = 0;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    *out = (uint64_t)json_integer_value(v);
    *present = 1;
    return 0;
}

int export_summary_parse(struct arena *a, const char *text, size_t len,
                         struct export_summary *out, struct tm_error *err)
{
    static const char *const strs[] = {
        "version", "exportArn", "tableArn", "tableId", "s3Bucket",
        "s3Prefix", "s3SseAlgorithm", "s3SseKmsKeyId", "manifestFilesS3Key",
        "outputFormat", "exportType"};
    const char **dst[] = {
        &out->version, &out->export_arn, &out->table_arn, &out->table_id,
        &out->s3_bucket, &out->s3_prefix, &out->s3_sse_algorithm,
        &out->s3_sse_kms_key_id, &out->manifest_files_key,
        &out->output_format, &out->export_type};
    json_error_t jerr;
    json_t *j;
    int has, rc = 0;

    memset(out, 0, sizeof *out);
    if (len > EXPORT_MANIFEST_MAX)
        return tm_error_set(err, TM_EVALIDATION,
                            "manifest-summary.json is larger than %u bytes",
                            EXPORT_MANIFEST_MAX);
    j = json_loadb(text, len, 0, &jerr);
    if (j == NULL || !json_is_object(j)) {
        json_decref(j);
        return tm_error_set(err, TM_EVALIDATION,
                            "manifest-summary.json is not a JSON object%s%s",
                            j ? "" : ": ", j ? "" : jerr.text);
    }
    for (size_t i = 0; i < sizeof strs / sizeof strs[0] && rc == 0; i++) {
        int r = opt_string(a, j, strs[i], dst[i]);
        if (r == -1)
            rc = tm_error_set(err, TM_EVALIDATION,
                              "manifest-summary.json: \"%s\" is not a "
                              "string",
                              strs[i]);
        else if (r == -2)
            rc = tm_error_set(err, TM_ENOMEM, "out of memory");
    }
    if (rc == 0 && opt_count(j, "itemCount", &out->item_count, &has) != 0)
        rc = tm_error_set(err, TM_EVALIDATION,
                          "manifest-summary.json: \"itemCount\" is not a "
                          "whole number >= 0");
    if (rc == 0 &&
        opt_count(j, "billedSizeBytes", &out->billed_size_bytes, &has) != 0)
        rc = tm_error_set(err, TM_EVALIDATION,
                          "manifest-summary.json: \"billedSizeBytes\" is "
                          "not a whole number >= 0");
    if (rc == 0 && (out->manifest_files_key == NULL ||
                    out->manifest_files_key[0] == '\0'))
        rc = tm_error_set(err, TM_EVALIDATION,
                          "manifest-summary.json has no "
                          "\"manifestFilesS3Key\"");
    json_decref(j);
    return rc;
}

int export_files_parse(struct arena *a, const char *text, size_t len,
                       struct export_file_entry **out, size_t *n,
                       struct tm_error *err)
{
    size_t cap = 0, pos = 0, line_no = 0;
    struct export_file_entry *v = NULL;

    *out = NULL;
    *n = 0;
    if (len > EXPORT_MANIFEST_MAX)
        return tm_error_set(err, TM_EVALIDATION,
                            "manifest-files.json is larger than %u bytes",
                            EXPORT_MANIFEST_MAX);
    while (pos < len) {
        const char *s = text + pos, *nl = memchr(s, '\n', len - pos);
        size_t l = nl ? (size_t)(nl - s) : len - pos;
        struct export_file_entry *e;
        json_error_t jerr;
        json_t *j;
        int has, bad;

        pos += l + (nl != NULL);
        line_no++;
        if (blank(s, l))
            continue;
        if (*n == EXPORT_MANIFEST_FILES_MAX)
            return tm_error_set(err, TM_EVALIDATION,
                                "manifest-files.json lists more than %u "
                                "files",
                                EXPORT_MANIFEST_FILES_MAX);
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct export_file_entry *nv =
                arena_alloc(a, ncap * sizeof *nv);
            if (nv == NULL)
                return tm_error_set(err, TM_ENOMEM, "out of memory");
            if (*n)
                memcpy(nv, v, *n * sizeof *v);
            v = nv;
            cap = ncap;
        }
        e = &v[*n];
        memset(e, 0, sizeof *e);
        j = json_loadb(s, l, 0, &jerr);
        if (j == NULL || !json_is_object(j)) {
            json_decref(j);
            return tm_error_set(err, TM_EVALIDATION,
                                "manifest-files.json line %zu is not a JSON "
                                "object",
                                line_no);
        }
        bad = opt_string(a, j, "dataFileS3Key", &e->data_key) != 0 ||
              opt_string(a, j, "md5Checksum", &e->md5_checksum) != 0 ||
              opt_string(a, j, "etag", &e->etag) != 0 ||
              opt_count(j, "itemCount", &e->item_count, &has) != 0 || !has;
        json_decref(j);
        if (bad || e->data_key == NULL || e->data_key[0] == '\0' ||
            strlen(e->data_key) > 1024)
            return tm_error_set(err, TM_EVALIDATION,
                                "manifest-files.json line %zu: each line "
                                "needs \"dataFileS3Key\" (1 to 1024 bytes) "
                                "and \"itemCount\" (a whole number >= 0); "
                                "\"md5Checksum\" and \"etag\" are strings",
                                line_no);
        (*n)++;
    }
    *out = v;
    return 0;
}

/* ==== Reading a data file ==== */

struct export_reader {
    char *name;
    enum export_compression c;
    int fd;                     /* -1: reading `mem` */
    const uint8_t *mem;
    size_t mem_len, mem_pos;
    uint8_t *inbuf;             /* file input piece */
    uint64_t bytes_in;
    int input_done;             /* no more input */
    EVP_MD_CTX *md5;
    uint8_t md5_out[16];
    int md5_done;
    /* decompression */
    z_stream z;
    int z_init;
    ZSTD_DStream *zs;
    ZSTD_inBuffer zin;
    int in_unit;                /* inside a gzip member / zstd frame */
    int out_full;               /* the last call filled the window: the
                                   decompressor may hold more output */
    /* the output window */
    uint8_t *outbuf;
    const uint8_t *out;
    size_t out_len, out_pos;
    /* the current line */
    struct buf line;
    int skipping;               /* inside a line that was too long */
    uint64_t line_no;
    int sticky;                 /* an error to return again */
    struct tm_error sticky_err;
    int done;
};

static int reader_new(enum export_compression c, const char *name,
                      struct export_reader **out, struct tm_error *err)
{
    struct export_reader *r = calloc(1, sizeof *r);

    *out = NULL;
    if (r == NULL)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    r->fd = -1;
    r->c = c;
    buf_init(&r->line, EXPORT_LINE_MAX);
    r->name = strdup(name ? name : "(memory)");
    r->md5 = EVP_MD_CTX_new();
    r->outbuf = malloc(OUT_CHUNK);
    r->out = r->outbuf; /* never NULL, even before the first refill */
    if (r->name == NULL || r->md5 == NULL || r->outbuf == NULL ||
        EVP_DigestInit_ex(r->md5, EVP_md5(), NULL) != 1)
        goto nomem;
    if (c == EXPORT_GZIP) {
        if (inflateInit2(&r->z, 15 + 16) != Z_OK)
            goto nomem;
        r->z_init = 1;
    } else if (c == EXPORT_ZSTD) {
        r->zs = ZSTD_createDStream();
        if (r->zs == NULL || ZSTD_isError(ZSTD_initDStream(r->zs)))
            goto nomem;
    }
    *out = r;
    return 0;
nomem:
    export_reader_close(r);
    return tm_error_set(err, TM_ENOMEM, "out of memory");
}

int export_reader_open_mem(const uint8_t *data, size_t len,
                           enum export_compression c, const char *name,
                           struct export_reader **out, struct tm_error *err)
{
    int rc = reader_new(c, name, out, err);

    if (rc == 0) {
        (*out)->mem = data;
        (*out)->mem_len = len;
    }
    return rc;
}

int export_reader_open_file(const char *path, enum export_compression c,
                            const char *name, struct export_reader **out,
                            struct tm_error *err)
{
    struct export_reader *r;
    int rc = reader_new(c, name ? name : path, &r, err);

    if (rc)
        return rc;
    r->inbuf = malloc(IN_CHUNK);
    if (r->inbuf == NULL) {
        export_reader_close(r);
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    }
    r->fd = fsio_open(path, O_RDONLY | O_CLOEXEC, 0);
    if (r->fd < 0) {
        int e = errno;
        export_reader_close(r);
        return tm_error_set(err, TM_EIO, "cannot open %s: %s", path,
                            strerror(e));
    }
    *out = r;
    return 0;
}

void export_reader_close(struct export_reader *r)
{
    if (r == NULL)
        return;
    if (r->fd >= 0)
        fsio_close(r->fd);
    if (r->z_init)
        inflateEnd(&r->z);
    ZSTD_freeDStream(r->zs);
    EVP_MD_CTX_free(r->md5);
    buf_free(&r->line);
    free(r->inbuf);
    free(r->outbuf);
    free(r->name);
    free(r);
}

uint64_t export_reader_line_no(const struct export_reader *r)
{
    return r->line_no;
}

uint64_t export_reader_bytes_in(const struct export_reader *r)
{
    return r->bytes_in;
}

void export_reader_md5(const struct export_reader *r, uint8_t out[16])
{
    memcpy(out, r->md5_out, 16);
}

static int fail(struct export_reader *r, int code, struct tm_error *err,
                const char *fmt, const char *what, uint64_t at)
{
    char msg[512];

    snprintf(msg, sizeof msg, fmt, what);
    r->sticky = code;
    tm_error_set(&r->sticky_err, code, "%s: %s at byte %llu", r->name, msg,
                 (unsigned long long)at);
    if (err)
        *err = r->sticky_err;
    return code;
}

/* The next input piece: 1 with *p and *n set, 0 at the end, or TM_EIO. */
static int next_input(struct export_reader *r, const uint8_t **p, size_t *n,
                      struct tm_error *err)
{
    if (r->input_done)
        return 0;
    if (r->fd < 0) {
        size_t left = r->mem_len - r->mem_pos;
        if (left == 0) {
            r->input_done = 1;
            return 0;
        }
        *n = left < IN_CHUNK ? left : IN_CHUNK;
        *p = r->mem + r->mem_pos;
        r->mem_pos += *n;
    } else {
        ssize_t got;
        do
            got = fsio_read(r->fd, r->inbuf, IN_CHUNK);
        while (got < 0 && errno == EINTR);
        if (got < 0)
            return fail(r, TM_EIO, err, "cannot read: %s", strerror(errno),
                        r->bytes_in);
        if (got == 0) {
            r->input_done = 1;
            return 0;
        }
        *p = r->inbuf;
        *n = (size_t)got;
    }
    EVP_DigestUpdate(r->md5, *p, *n);
    r->bytes_in += *n;
    return 1;
}

/* Make the next output window: 1 (r->out/out_len set, maybe empty), 0 at
 * the end of the data, or an error (sticky). */
static int refill(struct export_reader *r, struct tm_error *err)
{
    const uint8_t *p;
    size_t n;
    int rc;

    r->out_pos = r->out_len = 0;
    if (r->c == EXPORT_NONE) {
        rc = next_input(r, &p, &n, err);
        if (rc <= 0)
            return rc;
        r->out = p;
        r->out_len = n;
        return 1;
    }
    r->out = r->outbuf;
    if (r->c == EXPORT_GZIP) {
        int zrc;
        if (r->z.avail_in == 0 && !r->out_full) {
            rc = next_input(r, &p, &n, err);
            if (rc < 0)
                return rc;
            if (rc == 0) {
                if (r->in_unit)
                    return fail(r, TM_ECORRUPT, err,
                                "gzip data is truncated%s", "",
                                r->bytes_in);
                return 0;
            }
            r->z.next_in = (Bytef *)p;
            r->z.avail_in = (uInt)n;
        }
        if (!r->in_unit) {
            /* a new member begins (the first, or one after another) */
            r->in_unit = 1;
        }
        r->z.next_out = r->outbuf;
        r->z.avail_out = OUT_CHUNK;
        zrc = inflate(&r->z, Z_NO_FLUSH);
        r->out_len = OUT_CHUNK - r->z.avail_out;
        r->out_full = r->z.avail_out == 0;
        if (zrc == Z_STREAM_END) {
            r->in_unit = 0;
            if (inflateReset(&r->z) != Z_OK)
                return fail(r, TM_ECORRUPT, err, "gzip: %s", "reset failed",
                            r->bytes_in - r->z.avail_in);
        } else if (zrc == Z_BUF_ERROR) {
            /* no progress: more input is needed (next call) */
        } else if (zrc != Z_OK) {
            return fail(r, TM_ECORRUPT, err, "gzip data is corrupt (%s)",
                        r->z.msg ? r->z.msg : "inflate failed",
                        r->bytes_in - r->z.avail_in);
        }
        return 1;
    }
    /* EXPORT_ZSTD */
    if (r->zin.pos == r->zin.size && !r->out_full) {
        rc = next_input(r, &p, &n, err);
        if (rc < 0)
            return rc;
        if (rc == 0) {
            if (r->in_unit)
                return fail(r, TM_ECORRUPT, err, "zstd data is truncated%s",
                            "", r->bytes_in);
            return 0;
        }
        r->zin.src = p;
        r->zin.size = n;
        r->zin.pos = 0;
    }
    {
        ZSTD_outBuffer zout = {r->outbuf, OUT_CHUNK, 0};
        size_t zrc = ZSTD_decompressStream(r->zs, &zout, &r->zin);
        if (ZSTD_isError(zrc))
            return fail(r, TM_ECORRUPT, err, "zstd data is corrupt (%s)",
                        ZSTD_getErrorName(zrc),
                        r->bytes_in - (r->zin.size - r->zin.pos));
        r->in_unit = zrc != 0;
        r->out_len = zout.pos;
        r->out_full = zout.pos == zout.size;
    }
    return 1;
}

static int finish_input(struct export_reader *r)
{
    unsigned len = 16;

    if (!r->md5_done) {
        EVP_DigestFinal_ex(r->md5, r->md5_out, &len);
        r->md5_done = 1;
    }
    r->done = 1;
    return 0;
}

int export_reader_next(struct export_reader *r, const char **line,
                       size_t *len, struct tm_error *err)
{
    if (r->sticky) {
        if (err)
            *err = r->sticky_err;
        return r->sticky;
    }
    if (r->done)
        return 0;
    for (;;) {
        const uint8_t *s = r->out + r->out_pos;
        size_t avail = r->out_len - r->out_pos;
        const uint8_t *nl = avail ? memchr(s, '\n', avail) : NULL;
        size_t take = nl ? (size_t)(nl - s) : avail;
        int rc;

        if (avail > 0) {
            r->out_pos += take + (nl != NULL);
            if (r->skipping) {
                if (nl)
                    r->skipping = 0;
                continue;
            }
            if (nl && r->line.len == 0) {
                /* the whole line is in the window: hand it out there */
                r->line_no++;
                *line = (const char *)s;
                *len = take;
                if (take > 0 && s[take - 1] == '\r')
                    (*len)--;
                return 1;
            }
            if (buf_append(&r->line, s, take) != 0) {
                r->line_no++;
                buf_reset(&r->line);
                r->skipping = nl == NULL;
                return tm_error_set(err, TM_ETOOLARGE,
                                    "%s: line %llu is longer than %u bytes",
                                    r->name,
                                    (unsigned long long)r->line_no,
                                    EXPORT_LINE_MAX);
            }
            if (nl) {
                r->line_no++;
                *line = (const char *)r->line.data;
                *len = r->line.len;
                if (*len > 0 && (*line)[*len - 1] == '\r')
                    (*len)--;
                r->line.len = 0; /* the bytes stay until the next append */
                return 1;
            }
            continue;
        }
        rc = refill(r, err);
        if (rc < 0)
            return rc;
        if (rc == 0) {
            finish_input(r);
            if (r->line.len > 0 && !r->skipping) {
                r->line_no++;
                *line = (const char *)r->line.data;
                *len = r->line.len;
                if (*len > 0 && (*line)[*len - 1] == '\r')
                    (*len)--;
                r->line.len = 0;
                return 1;
            }
            return 0;
        }
    }
}
