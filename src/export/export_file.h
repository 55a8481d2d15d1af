/*
 * export_file.h - the files of a DynamoDB table export, as DynamoDB
 * writes them, and the reading of them back for ImportTable.
 *
 * An export of table T with id ID (ExportTableToPointInTime) is, under
 * `<S3Prefix>/AWSDynamoDB/<ID>/` of the destination:
 *
 *   _started                 empty: the destination was writable
 *   data/<26 chars>.json.gz  the items: gzip of JSON lines, one item per
 *                            line, {"Item":{<DynamoDB JSON>}}\n
 *   manifest-files.json      JSON lines, one per data file:
 *                            {"itemCount":N,"md5Checksum":"<base64 MD5 of
 *                            the .gz>","etag":"<S3 ETag>","dataFileS3Key":
 *                            "<full key of the .gz>"}
 *   manifest-files.md5       base64 MD5 of manifest-files.json
 *   manifest-summary.json    one JSON object: version, exportArn,
 *                            startTime, endTime, tableArn, tableId,
 *                            exportTime, s3Bucket, s3Prefix,
 *                            s3SseAlgorithm, s3SseKmsKeyId,
 *                            manifestFilesS3Key, billedSizeBytes,
 *                            itemCount, outputFormat (times in ISO 8601
 *                            UTC with milliseconds; absent values null)
 *   manifest-summary.md5     base64 MD5 of manifest-summary.json
 *
 * (the field set and formats of real exports, seen in the developer
 * guide's "DynamoDB table export output format" and in real export files).
 *
 * This module is the format only: writing one data file (struct
 * export_writer), the manifest texts, and reading data files and
 * manifests back (struct export_reader, export_line_parse,
 * export_manifest_*_parse).  Where the files go (a directory, an object
 * store) is export_dest.h; the jobs are export.h and import.h.
 *
 * Guarantees:
 *   1. A data file written by export_writer_finish is complete and durable
 *      at its path (written as "<path>.tmp", fdatasync, rename); a failed
 *      or aborted writer leaves neither.
 *   2. The readers never read outside their input, bound every length
 *      before allocating for it (a line at most EXPORT_LINE_MAX bytes, a
 *      manifest at most EXPORT_MANIFEST_MAX), and fail with a message
 *      naming the file and the line or byte offset: they are fuzzed
 *      (tests/fuzz/fuzz_export_reader.c).
 *   3. What export_line_write writes, export_line_parse reads back as the
 *      same item (av_equal).
 *
 * Thread-safety: a writer or reader belongs to one thread at a time; the
 * rest are pure functions.
 */
#ifndef TM_EXPORT_FILE_H
#define TM_EXPORT_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "item/item.h"

/* The longest line a reader accepts: an item is at most 400 KB, and its
 * JSON (base64 binaries, escaped strings) a few times that. */
#define EXPORT_LINE_MAX (4u * 1024 * 1024)
/* The largest manifest a reader accepts (both kinds). */
#define EXPORT_MANIFEST_MAX (64u * 1024 * 1024)
/* The most data files one manifest may list. */
#define EXPORT_MANIFEST_FILES_MAX 100000u
/* A manifest's "version" as DynamoDB writes it for full exports. */
#define EXPORT_MANIFEST_VERSION "2020-06-30"

enum export_compression {
    EXPORT_NONE = 0,
    EXPORT_GZIP = 1,
    EXPORT_ZSTD = 2,
};

/* ==== One item per line ==== */

/* Append {"Item":<item as DynamoDB JSON>}\n to `out`.  0 or TM_ENOMEM /
 * TM_ETOOLARGE (buffer cap). */
int export_line_write(const struct av *item, struct buf *out);

/* Parse one line (without its newline; a trailing '\r' is ignored) of a
 * DYNAMODB_JSON data file into an item allocated in `a`.  The line must
 * be a JSON object whose only member is "Item", an object of
 * AttributeValues (item_from_json's rules and messages).
 * @return 1 and *item filled; 0 for a blank line (only white space: no
 *         item); TM_EVALIDATION / TM_ESERIALIZATION with the reason in
 *         `err` ("not JSON (column 12): ...", "the line has no \"Item\"
 *         member", or item_from_json's message); TM_ENOMEM. */
int export_line_parse(struct arena *a, const char *line, size_t len,
                      struct av *item, struct tm_error *err);

/* ==== Writing a data file ==== */

struct export_writer;

/* What a finished data file holds. */
struct export_file_info {
    uint64_t items;        /* lines (items) written */
    uint64_t item_bytes;   /* sum of the items' DynamoDB sizes */
    uint64_t raw_bytes;    /* uncompressed bytes */
    uint64_t file_bytes;   /* bytes of the .gz */
    uint8_t md5[16];       /* MD5 of the .gz */
};

/* Start a gzip data file at `path` ("<path>.tmp" until _finish; a
 * leftover .tmp is replaced).  0, TM_EIO (path and strerror in `err`) or
 * TM_ENOMEM; nothing to free on failure. */
int export_writer_open(const char *path, struct export_writer **out,
                       struct tm_error *err);

/* Append one item (its line).  0, or TM_EIO / TM_ENOMEM / TM_EINTERNAL:
 * the writer is failed; call export_writer_abort. */
int export_writer_add(struct export_writer *w, const struct av *item,
                      struct tm_error *err);

/* Items written so far, and uncompressed bytes. */
uint64_t export_writer_items(const struct export_writer *w);
uint64_t export_writer_raw_bytes(const struct export_writer *w);

/* End the gzip stream, fdatasync, rename "<path>.tmp" to `path`, fsync the
 * directory; `info` (may be NULL) gets the counts and MD5.  Frees `w` in
 * every case.  0, or TM_EIO and nothing left at either name. */
int export_writer_finish(struct export_writer *w,
                         struct export_file_info *info, struct tm_error *err);

/* Give up: remove "<path>.tmp" and free.  NULL-safe. */
void export_writer_abort(struct export_writer *w);

/* ==== Manifests ==== */

/* The summary manifest's fields.  Strings NULL are written as null. */
struct export_summary {
    const char *version;        /* EXPORT_MANIFEST_VERSION */
    const char *export_arn;
    int64_t start_ms, end_ms;
    const char *table_arn;
    const char *table_id;
    int64_t export_time_ms;
    const char *s3_bucket;
    const char *s3_prefix;      /* NULL: none */
    const char *s3_sse_algorithm;
    const char *s3_sse_kms_key_id;
    const char *manifest_files_key;
    uint64_t billed_size_bytes;
    uint64_t item_count;
    const char *output_format;  /* "DYNAMODB_JSON" */
    const char *export_type;    /* read back only: NULL when absent */
};

/* One line of manifest-files.json. */
struct export_file_entry {
    uint64_t item_count;
    const char *md5_checksum;   /* base64; NULL when absent (reading) */
    const char *etag;           /* NULL when absent (reading) */
    const char *data_key;       /* dataFileS3Key */
};

/* Append the manifest-summary.json text (one line, no newline). */
int export_summary_write(const struct export_summary *s, struct buf *out);

/* Append one manifest-files.json line (with its newline). */
int export_files_line_write(const struct export_file_entry *f,
                            struct buf *out);

/* Parse manifest-summary.json.  Strings are copied into `a`.  Required:
 * manifestFilesS3Key (a non-empty string); itemCount a whole number >= 0
 * when present; outputFormat, exportType, exportArn, tableArn strings or
 * null.  TM_EVALIDATION with the reason ("manifest-summary.json: ...") or
 * TM_ENOMEM. */
int export_summary_parse(struct arena *a, const char *text, size_t len,
                         struct export_summary *out, struct tm_error *err);

/* Parse manifest-files.json (JSON lines; blank lines skipped): every line
 * an object with dataFileS3Key (1 to 1024 bytes) and itemCount (>= 0),
 * md5Checksum and etag optional strings.  *out is an array of *n entries
 * in `a`.  TM_EVALIDATION ("manifest-files.json line 3: ...") or
 * TM_ENOMEM. */
int export_files_parse(struct arena *a, const char *text, size_t len,
                       struct export_file_entry **out, size_t *n,
                       struct tm_error *err);

/* ==== Reading a data file ==== */

struct export_reader;

/* Read a data file from `len` bytes at `data` (borrowed until _close) or
 * from the file at `path`, uncompressing it as `c` says.  `name` (copied)
 * names it in messages.  0, TM_EIO (cannot open `path`) or TM_ENOMEM. */
int export_reader_open_mem(const uint8_t *data, size_t len,
                           enum export_compression c, const char *name,
                           struct export_reader **out, struct tm_error *err);
int export_reader_open_file(const char *path, enum export_compression c,
                            const char *name, struct export_reader **out,
                            struct tm_error *err);

/* The next line, without its newline (nor a '\r' before it): 1 with
 * *line / *len borrowed until the next call; 0 at the end (a last line
 * without a newline is still a line).
 * TM_ETOOLARGE: a line longer than EXPORT_LINE_MAX (message with its line
 *   number); the reader skips it and may be called again;
 * TM_ECORRUPT: the compressed stream is damaged or truncated ("<name>:
 *   gzip data is corrupt at byte 1234: ..."); sticky;
 * TM_EIO, TM_ENOMEM: sticky. */
int export_reader_next(struct export_reader *r, const char **line,
                       size_t *len, struct tm_error *err);

/* The number of the line last returned (from 1). */
uint64_t export_reader_line_no(const struct export_reader *r);

/* Input bytes consumed so far, and (once _next returned 0) their MD5. */
uint64_t export_reader_bytes_in(const struct export_reader *r);
void export_reader_md5(const struct export_reader *r, uint8_t out[16]);

void export_reader_close(struct export_reader *r); /* NULL-safe */

/* ==== Helpers ==== */

/* Base64 of an MD5 (24 characters and a NUL). */
void export_md5_b64(const uint8_t md5[16], char out[25]);
/* MD5 of `n` bytes. */
void export_md5(const void *p, size_t n, uint8_t out[16]);
/* A data file name: 26 characters of [a-z2-7] (DynamoDB's look), random. */
void export_random_name(char out[27]);

#endif
