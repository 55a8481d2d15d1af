/*
 * key.h - the primary-key encoding: how an item's key becomes the LMDB key
 * of its row, so that LMDB's memcmp order is DynamoDB's order.
 *
 *     key = hash64(partition key) as 8 bytes big-endian
 *           ‖ partition key component
 *           ‖ sort key component          (tables with a sort key only)
 *
 * The hash prefix gives DynamoDB's hash-ordered Scan and maps parallel-scan
 * segments to contiguous key ranges (segment i of T covers hash prefixes
 * [i*2^64/T, (i+1)*2^64/T)).  Within one partition, rows sort by the sort
 * key component, which is order-preserving: S and B by unsigned bytes, N
 * numerically (dec_key_encode).  So Query is a range walk.
 *
 * Components are self-delimiting (the byte-exact format is documented in
 * key.c) so that no partition key's encoding is a prefix of another's.
 *
 * Who calls it: API handlers (key from a request's Item or Key), the engine
 * and backup/restore (decode a row's key back into attributes).
 */
#ifndef TM_KEY_H
#define TM_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "item/item.h"

#define KEY_HASH_MAX_BYTES 2048  /* DynamoDB's partition key size limit */
#define KEY_RANGE_MAX_BYTES 1024 /* DynamoDB's sort key size limit */

/* A table's (or index's) key schema.  Names are NUL-terminated. */
struct key_schema {
    const char *hash_name;
    enum av_type hash_type;   /* AV_S, AV_N or AV_B */
    const char *range_name;   /* NULL when the table has no sort key */
    enum av_type range_type;
};

/* Encode the key of `item` (an AV_M, the Item of a PutItem) into `out`
 * (appended).  Validates as DynamoDB does for items, with its messages:
 *   "One or more parameter values were invalid: Missing the key <k> in the
 *    item"
 *   "One or more parameter values were invalid: Type mismatch for key <k>
 *    expected: <T> actual: <T>"
 *   "One or more parameter values are not valid. The AttributeValue for a
 *    key attribute cannot contain an empty string value. Key: <k>"
 *    (likewise "empty binary value")
 *   "One or more parameter values were invalid: Size of hashkey has
 *    exceeded the maximum size limit of2048 bytes" (sic) and
 *   "... Aggregated size of all range keys has exceeded the size limit of
 *    1024 bytes"
 * all as TM_EVALIDATION in `err`. */
int key_from_item(const struct key_schema *ks, const struct av *item,
                  struct buf *out, struct tm_error *err);

/* Encode a Key map (GetItem/DeleteItem/UpdateItem `Key`): exactly the key
 * attributes, nothing else.  A missing, extra or mistyped attribute gives
 * TM_EVALIDATION "The provided key element does not match the schema";
 * empty strings/binaries and oversize keys as key_from_item. */
int key_from_keymap(const struct key_schema *ks, const struct av *keymap,
                    struct buf *out, struct tm_error *err);

/* Encode from the two key values directly (range may be NULL when the
 * schema has no sort key; NULL with a sort key gives the partition prefix,
 * as key_encode_partition).  No validation beyond types: a value not of
 * the schema's type gives TM_EVALIDATION without a message.  Used by Query
 * and ExclusiveStartKey paths that validated already.  Returns 0,
 * TM_EVALIDATION, TM_ENOMEM or TM_ETOOLARGE; on failure `out` is
 * unchanged. */
int key_encode(const struct key_schema *ks, const struct av *hash,
               const struct av *range, struct buf *out);

/* The encoding of the partition component alone (hash prefix and partition
 * key), i.e. the common prefix of every row of that partition: Query's
 * range walk starts here. */
int key_encode_partition(const struct key_schema *ks, const struct av *hash,
                         struct buf *out);

/* Append the order-preserving encoding of a sort-key value alone (no hash,
 * no partition) to `out`: what follows the partition prefix in a row key.
 * Query builds its range bounds from it. */
int key_encode_range(enum av_type t, const struct av *range, struct buf *out);

/* Decode a row key back into its key values (allocated in `a`; byte ranges
 * point into `a`, not into `p`).  `range` may be NULL when the caller does
 * not want the sort key (or the schema has none).  The hash prefix is
 * recomputed and must match.  Returns 0, TM_ECORRUPT (safe on any bytes)
 * or TM_ENOMEM. */
int key_decode(struct arena *a, const struct key_schema *ks, const uint8_t *p,
               size_t n, struct av *hash, struct av *range);

/* The 64-bit hash prefix of a row key (its first 8 bytes, big-endian; a
 * key shorter than 8 bytes is read as if padded with zeros). */
uint64_t key_hash_prefix(const uint8_t *p, size_t n);

#endif
