/*
 * item.h - DynamoDB attribute values and items: the in-memory tree, the
 * JSON edge (DynamoDB JSON in requests and responses) and the compact
 * binary encoding that the store and the change log hold.
 *
 * An item is an AV_M value whose members are its attributes.  Trees are
 * built in a request arena (item_from_json, item_decode) and are read-only
 * afterwards; strings and binaries inside them are byte ranges (not
 * NUL-terminated) that point into the arena.
 *
 * Who calls it: the API handlers (JSON in, JSON out, validation), the
 * engine (binary encode for the log and LMDB, decode for reads), the
 * expression evaluator (comparisons, lookups).
 *
 * Thread-safety: pure functions; trees are owned by their arena.
 */
#ifndef TM_ITEM_H
#define TM_ITEM_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "item/decimal.h"

/* The ten DynamoDB types.  The numeric values are part of the binary
 * encoding: never renumber. */
enum av_type {
    AV_S = 1,
    AV_N = 2,
    AV_B = 3,
    AV_BOOL = 4,
    AV_NULL = 5,
    AV_M = 6,
    AV_L = 7,
    AV_SS = 8,
    AV_NS = 9,
    AV_BS = 10
};

#define ITEM_MAX_BYTES (400 * 1024) /* DynamoDB's item size limit */
#define ITEM_MAX_DEPTH 32           /* DynamoDB's nesting limit */

struct av_bytes {
    const uint8_t *p; /* S: UTF-8 text; B: raw (decoded) bytes */
    size_t n;
};

struct av_member;

struct av {
    enum av_type type;
    union {
        struct av_bytes s;   /* AV_S, AV_B */
        struct dec n;        /* AV_N */
        int b;               /* AV_BOOL: 0 or 1 */
        struct {
            size_t n;
            struct av_member *v;
        } m;                 /* AV_M: members in request order */
        struct {
            size_t n;
            struct av *v;
        } l;                 /* AV_L */
        struct {
            size_t n;
            struct av_bytes *v;
        } ss;                /* AV_SS, AV_BS: distinct members */
        struct {
            size_t n;
            struct dec *v;
        } ns;                /* AV_NS: distinct members */
    } u;
};

struct av_member {
    struct av_bytes name;
    struct av value;
};

/* ---- JSON edge --------------------------------------------------------- */

/* Build an item (AV_M) from a DynamoDB JSON object of attribute name to
 * AttributeValue ({"userId":{"S":"u1"},"n":{"N":"1.50"}}), validating as
 * DynamoDB does: exactly one type per AttributeValue, well-typed members,
 * numbers (DEC_E* become ValidationException with DynamoDB's messages),
 * base64 binaries, no empty or duplicate set members, nesting at most
 * ITEM_MAX_DEPTH (an attribute is level 1; 31 nested M/L around a scalar
 * pass, 32 do not).  JSON of the wrong kind ({"S":5}) or bad base64 is a
 * SerializationException (TM_ESERIALIZATION), as on DynamoDB, and wins over
 * any ValidationException elsewhere in `obj`; among validation errors the
 * first in document order wins.  Strings, binaries and names are copied
 * into `a`: the tree does not need `obj` afterwards.  Attribute names are
 * not checked here (no length or emptiness rule).  On failure returns the
 * TM_E* code (TM_EVALIDATION, TM_ESERIALIZATION, TM_ENOMEM when `a` is
 * exhausted) with the message in `err`; `*out` is unspecified. */
int item_from_json(struct arena *a, const json_t *obj, struct av *out,
                   struct tm_error *err);

/* One AttributeValue ({"S":"x"}) into `*out`; same rules as above. */
int av_from_json(struct arena *a, const json_t *val, struct av *out,
                 struct tm_error *err);

/* Append the DynamoDB JSON text of an item ({"a":{"S":"x"},...}) or of one
 * AttributeValue ({"S":"x"}) to `out`.  Numbers are written canonically
 * (dec_format), binaries as base64.  Returns 0 or TM_ENOMEM/TM_ETOOLARGE. */
int item_write_json(const struct av *item, struct buf *out);
int av_write_json(const struct av *v, struct buf *out);

/* ---- binary encoding --------------------------------------------------- */

/* Append the binary encoding of `v` (any type; items are AV_M) to `out`.
 * The format is documented in item_codec.c's header.  Returns 0,
 * TM_ENOMEM / TM_ETOOLARGE (buffer cap, or M/L nested deeper than
 * 2 * ITEM_MAX_DEPTH, which the decoder would refuse), or TM_EINTERNAL
 * for a tree no parser builds (an empty set, an unknown type).  On failure
 * `out` is unchanged. */
int item_encode(const struct av *v, struct buf *out);

/* Decode exactly `n` bytes into `*out`, allocating in `a`.  Byte ranges in
 * the result point into `p`, which must therefore outlive the tree
 * (copy it into the arena first if it is borrowed from LMDB).  Returns 0,
 * TM_ECORRUPT for malformed input (never reads past p+n; safe on any
 * bytes), or TM_ENOMEM.  Distinctness of set members and map names is not
 * re-checked. */
int item_decode(struct arena *a, const uint8_t *p, size_t n, struct av *out);

/* ---- queries on trees -------------------------------------------------- */

/* The top-level attribute `name` of an item, or NULL. */
const struct av *item_get(const struct av *item, const char *name,
                          size_t name_len);

/* DynamoDB's size of an item in bytes (attribute names plus values, the
 * figure the 400 KB limit and TableSizeBytes use).  The rules per type are
 * listed in item.c's header. */
size_t item_size(const struct av *item);

/* DynamoDB's size of one value. */
size_t av_size(const struct av *v);

/* 1 if `a` and `b` are equal DynamoDB values (same type; numbers compared
 * numerically; sets compared as sets; maps ignoring member order). */
int av_equal(const struct av *a, const struct av *b);

/* Order of two scalar values of the same type (S and B by unsigned bytes,
 * N numerically): -1, 0, 1.  Undefined for other types. */
int av_compare(const struct av *a, const struct av *b);

/* The DynamoDB type code of `t` ("S", "N", ... "BS"); "?" if unknown. */
const char *av_type_name(enum av_type t);

/* Parse a type code ("S"...); returns 0 if unknown. */
enum av_type av_type_parse(const char *s, size_t n);

#endif
