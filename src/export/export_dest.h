/*
 * export_dest.h - where exports are written and imports read: a bucket of
 * an S3-compatible object store, or a local directory.
 *
 * ExportTableToPointInTime's S3Bucket and ImportTable's
 * S3BucketSource.S3Bucket name either
 *   - a bucket in the object store the server was started with
 *     (--s3-endpoint URL; without it AWS S3 of --region), reached with the
 *     credentials the AWS CLI would use (s3.h, s3_config_credentials); or
 *   - a local directory, given as "file:///absolute/path" (a Tidemark
 *     extension): keys are paths below it, '/' separating directories.
 * Keys follow the object-store rules of s3.h (no empty, "." or ".."
 * segment), which also keeps every file inside the directory.
 *
 * Failures carry, besides the TM_E* code and message, DynamoDB's
 * FailureCode for the export or import that hit them (export_dest_code):
 * S3NoSuchBucket (no bucket, or no directory), S3AccessDenied (403,
 * credentials, or a directory we may not write), S3Unavailable (the store
 * cannot be reached), S3Error (anything else).
 *
 * Thread-safety: one destination belongs to one thread (it owns one S3
 * client); open one per job.
 */
#ifndef TM_EXPORT_DEST_H
#define TM_EXPORT_DEST_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

#define EXPORT_FILE_SCHEME "file://"

struct export_dest;

/* 1 if `bucket` is the "file://..." form. */
int export_dest_is_local(const char *bucket);

/* Open `bucket` (see above).  `endpoint` is --s3-endpoint (NULL: AWS S3 in
 * `region`); `staging` is a local directory for S3 transfers (created if
 * needed).  Checks that the bucket or directory exists and is usable.
 * 0, or a TM_E* code with `err` and *code (FailureCode) set. */
int export_dest_open(const char *bucket, const char *endpoint,
                     const char *region, const char *staging,
                     struct export_dest **out, struct tm_error *err,
                     const char **code);
void export_dest_close(struct export_dest *d); /* NULL-safe */

/* A local path to write object `key` to before export_dest_commit: for a
 * directory the final path (its parent directories are made), for S3 a
 * file in the staging directory.  0 or TM_EIO. */
int export_dest_stage(struct export_dest *d, const char *key, char *path,
                      size_t cap, struct tm_error *err, const char **code);

/* Publish the staged file `path` as object `key`: upload it (S3; the
 * staged file is removed) or nothing more (it is in place).  `etag` gets
 * the object's ETag (S3's, or the MD5 `md5` in hex for a directory). */
int export_dest_commit(struct export_dest *d, const char *key,
                       const char *path, const uint8_t md5[16],
                       char etag[80], struct tm_error *err,
                       const char **code);

/* Write `len` bytes as object `key` (a directory: temporary file, fsync,
 * rename, fsync of its directory). */
int export_dest_put(struct export_dest *d, const char *key, const void *data,
                    size_t len, struct tm_error *err, const char **code);

/* Every object whose key starts with `prefix` (a plain string prefix),
 * in key order, with its size: fn returns non-zero to stop (returned as
 * is).  A directory is walked recursively; files ending in ".tmp" are
 * left out (unfinished writes). */
int export_dest_list(struct export_dest *d, const char *prefix,
                     int (*fn)(void *ctx, const char *key, uint64_t size),
                     void *ctx, struct tm_error *err, const char **code);

/* Delete every object under `prefix`, unfinished ".tmp" files of a
 * directory included (what an interrupted export left). */
int export_dest_clear(struct export_dest *d, const char *prefix,
                      struct tm_error *err, const char **code);

/* Delete object `key` (absent: 0). */
int export_dest_delete(struct export_dest *d, const char *key,
                       struct tm_error *err, const char **code);

/* Make object `key` readable as a local file: *path is its own path
 * (directory) or a download into the staging directory (S3), which
 * export_dest_release removes.  TM_ENOOBJECT if there is no such
 * object. */
int export_dest_fetch(struct export_dest *d, const char *key, char *path,
                      size_t cap, struct tm_error *err, const char **code);
void export_dest_release(struct export_dest *d, const char *path);

/* Read object `key` (at most out->max bytes) into `out`. */
int export_dest_get(struct export_dest *d, const char *key, struct buf *out,
                    struct tm_error *err, const char **code);

/* "s3://bucket/key" or "file:///dir/key" for messages. */
const char *export_dest_describe(const struct export_dest *d, const char *key,
                                 char *out, size_t cap);

#endif
