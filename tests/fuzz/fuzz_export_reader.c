/*
 * fuzz_export_reader.c - libFuzzer target for what ImportTable reads from
 * a bucket it does not control (src/export/export_file.c): data files
 * (gzip, zstd or plain JSON lines, one {"Item":{...}} per line) and the
 * two manifests of an export.
 *
 * The first byte of the input picks what the rest is:
 *   b % 4 == 0   manifest-summary.json text -> export_summary_parse;
 *   b % 4 == 1   manifest-files.json text -> export_files_parse;
 *   b % 4 == 2   the uncompressed content of a data file, which the target
 *                compresses ((b >> 2) % 3: none, gzip in one or two
 *                members, zstd) before reading it back, so that mutations
 *                reach the line splitter and the line parser; the lines
 *                read must be exactly the input split at '\n' (a final
 *                '\r' dropped, a last line without newline kept);
 *   b % 4 == 3   a data file as it is, compression (b >> 2) % 3: reaches
 *                the decompressors' error paths.
 * Every line is parsed; an item that parses must survive
 * export_line_write -> export_line_parse unchanged (av_equal).  A
 * manifest that parses must hold what its parser promises (non-empty
 * keys, counts).  Any broken promise aborts (a finding), as does any
 * sanitizer report.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>
#include <zstd.h>

#include "base/arena.h"
#include "base/buf.h"
#include "export/export_file.h"
#include "item/item.h"

static void gzip_append(const uint8_t *p, size_t n, struct buf *out)
{
    z_stream z;
    uint8_t tmp[16384];
    int rc;

    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 1, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    z.next_in = (Bytef *)p;
    z.avail_in = (uInt)n;
    do {
        z.next_out = tmp;
        z.avail_out = sizeof tmp;
        rc = deflate(&z, Z_FINISH);
        if (buf_append(out, tmp, sizeof tmp - z.avail_out) != 0)
            abort();
    } while (rc != Z_STREAM_END);
    deflateEnd(&z);
}

static void check_item(struct arena *a, const char *line, size_t len)
{
    struct av item, back;
    struct tm_error err;
    struct buf b;
    int rc = export_line_parse(a, line, len, &item, &err);

    if (rc != 1)
        return;
    buf_init(&b, (size_t)64 << 20);
    if (export_line_write(&item, &b) == 0) {
        if (b.len == 0 || b.data[b.len - 1] != '\n' ||
            memchr(b.data, '\n', b.len - 1) != NULL)
            abort(); /* one item, one line */
        if (export_line_parse(a, (const char *)b.data, b.len - 1, &back,
                              &err) != 1 ||
            !av_equal(&item, &back))
            abort();
    }
    buf_free(&b);
}

/* Read `data` with compression `c`; with `plain` (the uncompressed
 * content) the lines must be plain's, split at '\n'. */
static void read_file(const uint8_t *data, size_t len,
                      enum export_compression c, const uint8_t *plain,
                      size_t plain_len)
{
    struct arena *a = arena_create(65536, 256u << 20);
    struct export_reader *r;
    struct tm_error err;
    const char *line;
    size_t l, pos = 0;
    int rc;

    if (a == NULL)
        abort();
    if (export_reader_open_mem(data, len, c, "fuzz.json.gz", &r, &err) != 0)
        abort();
    for (;;) {
        rc = export_reader_next(r, &line, &l, &err);
        if (rc == TM_ETOOLARGE)
            continue;
        if (rc != 1)
            break;
        if (plain) {
            const uint8_t *s = plain + pos;
            const uint8_t *nl = memchr(s, '\n', plain_len - pos);
            size_t want = nl ? (size_t)(nl - s) : plain_len - pos;
            if (pos >= plain_len)
                abort(); /* a line that is not in the input */
            pos += want + (nl != NULL);
            if (want > 0 && s[want - 1] == '\r')
                want--;
            if (l != want || memcmp(line, s, l) != 0)
                abort();
        }
        check_item(a, line, l);
        arena_reset(a);
    }
    if (rc < 0 && rc != TM_ECORRUPT && rc != TM_ENOMEM)
        abort(); /* a reader fails only with these */
    if (plain && (rc != 0 || pos != plain_len))
        abort(); /* a good stream reads to its end, every line */
    if (rc == 0 && export_reader_bytes_in(r) != len)
        abort();
    export_reader_close(r);
    arena_destroy(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena *a;
    struct tm_error err;
    uint8_t b;

    if (size < 1)
        return 0;
    b = data[0];
    data++;
    size--;
    a = arena_create(65536, 256u << 20);
    if (a == NULL)
        abort();
    switch (b % 4) {
    case 0: {
        struct export_summary s;
        if (export_summary_parse(a, (const char *)data, size, &s, &err) ==
            0) {
            if (s.manifest_files_key == NULL ||
                s.manifest_files_key[0] == '\0')
                abort();
        }
        break;
    }
    case 1: {
        struct export_file_entry *f;
        size_t n;
        if (export_files_parse(a, (const char *)data, size, &f, &n, &err) ==
            0) {
            for (size_t i = 0; i < n; i++)
                if (f[i].data_key == NULL || f[i].data_key[0] == '\0' ||
                    strlen(f[i].data_key) > 1024)
                    abort();
        }
        break;
    }
    case 2: {
        struct buf z;
        int how = (b >> 2) % 3;
        buf_init(&z, (size_t)64 << 20);
        if (how == 0) {
            read_file(data, size, EXPORT_NONE, data, size);
        } else if (how == 1) {
            /* one or two gzip members, cut where the second byte says */
            size_t cut = size ? (size_t)(b >> 4) * size / 16 : 0;
            gzip_append(data, cut, &z);
            if (cut < size)
                gzip_append(data + cut, size - cut, &z);
            read_file(z.data, z.len, EXPORT_GZIP, data, size);
        } else {
            size_t cap = ZSTD_compressBound(size);
            uint8_t *p = buf_reserve(&z, cap ? cap : 1);
            size_t n;
            if (p == NULL)
                abort();
            n = ZSTD_compress(p, cap, data, size, 1);
            if (ZSTD_isError(n))
                abort();
            read_file(p, n, EXPORT_ZSTD, data, size);
        }
        buf_free(&z);
        break;
    }
    default:
        read_file(data, size, (enum export_compression)((b >> 2) % 3), NULL,
                  0);
        break;
    }
    arena_destroy(a);
    return 0;
}
