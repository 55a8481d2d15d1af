/*
 * key.c - the primary-key encoding (see key.h for its purpose).
 *
 * ---- Format ------------------------------------------------------------
 *
 *   row key   := hash:8 partition [sort]
 *   hash      = hash64(t ‖ kb) as 8 bytes big-endian, where t is the
 *               partition key's type byte (enum av_type: 1 S, 2 N, 3 B)
 *               and kb its key bytes: S its UTF-8 bytes, B its raw bytes,
 *               N its dec_key_encode bytes (canonical, so that 1, 1.0 and
 *               10E-1 hash alike)
 *   partition := component(partition key)
 *   sort      := component(sort key)   (only in tables with a sort key)
 *
 *   component of S or B := escaped bytes, then 00 01
 *       escaping: 00 -> 00 FF; every other byte is itself
 *   component of N      := dec_key_encode bytes (self-delimiting)
 *
 * Why it sorts right: an escaped string compares as its raw bytes do,
 * because a 00 of the data (00 FF) sorts after the terminator (00 01),
 * i.e. after the end of a shorter string that is its prefix, and before
 * any other continuation; so memcmp of components is the unsigned
 * byte order DynamoDB uses for S and B, with shorter prefixes first.
 * dec_key_encode is numerically ordered.  Components are self-delimiting,
 * so no partition's prefix is a prefix of another partition's, and the
 * partition prefix (hash ‖ partition) is the common prefix of exactly the
 * rows of that partition.
 *
 * Example: S "ab" with sort N 5 -> h7..h0 61 62 00 01 <dec_key_encode(5)>.
 *
 * ---- Validation --------------------------------------------------------
 *
 * key_from_item and key_from_keymap check, for the partition key and then
 * the sort key: present, of the schema's type, not an empty S or B; then
 * the sizes (value bytes as av_size counts them: partition at most 2048,
 * sort at most 1024).  Messages are DynamoDB's (see key.h).
 *
 * Thread-safety: pure functions.
 */
/* For XXH3_state_t on the stack (the streaming API for long keys). */
#define XXH_STATIC_LINKING_ONLY

#include "storage/key.h"

#include <string.h>
#include <xxhash.h>

#include "base/hash.h"

#define MSG_INVALID "One or more parameter values were invalid: "
#define MSG_NOMATCH "The provided key element does not match the schema"

/* Terminator and escape of S/B components. */
#define ESC 0x00
#define ESC_END 0x01
#define ESC_ZERO 0xFF

/* Below this many key bytes the hash input is assembled on the stack. */
#define HASH_STACK 4096

/* ---- hashing ----------------------------------------------------------- */

static uint64_t key_hash(const struct av *k)
{
    uint8_t tmp[1 + DEC_KEY_MAX];
    const uint8_t *p;
    size_t n;

    if (k->type == AV_N) {
        tmp[0] = AV_N;
        n = dec_key_encode(&k->u.n, tmp + 1);
        return hash64(tmp, 1 + n);
    }
    p = k->u.s.p;
    n = k->u.s.n;
    if (n < HASH_STACK) {
        uint8_t buf[1 + HASH_STACK];
        buf[0] = (uint8_t)k->type;
        if (n)
            memcpy(buf + 1, p, n);
        return hash64(buf, 1 + n);
    } else {
        /* Streaming XXH3 gives the same value as hash64 over the whole. */
        XXH3_state_t st;
        uint8_t t = (uint8_t)k->type;
        XXH3_64bits_reset(&st);
        XXH3_64bits_update(&st, &t, 1);
        XXH3_64bits_update(&st, p, n);
        return XXH3_64bits_digest(&st);
    }
}

/* ---- encoding ---------------------------------------------------------- */

/* Room for `n` more bytes in `out`, or NULL with `*rc` set. */
static uint8_t *reserve(struct buf *out, size_t n, int *rc)
{
    uint8_t *o = buf_reserve(out, n);

    if (o == NULL)
        *rc = n > out->max - out->len ? TM_ETOOLARGE : TM_ENOMEM;
    return o;
}

static int put_component(struct buf *out, const struct av *v)
{
    const uint8_t *p, *end, *z;
    size_t zeros = 0, need;
    uint8_t *o;
    int rc = 0;

    if (v->type == AV_N) {
        o = reserve(out, DEC_KEY_MAX, &rc);
        if (o == NULL)
            return rc;
        out->len += dec_key_encode(&v->u.n, o);
        return 0;
    }
    p = v->u.s.p;
    end = p + v->u.s.n;
    for (z = p; z < end && (z = memchr(z, 0, (size_t)(end - z))) != NULL;
         z++)
        zeros++;
    need = v->u.s.n + zeros + 2;
    o = reserve(out, need, &rc);
    if (o == NULL)
        return rc;
    if (zeros == 0) {
        if (v->u.s.n)
            memcpy(o, p, v->u.s.n);
        o += v->u.s.n;
    } else {
        for (; p < end; p++) {
            *o++ = *p;
            if (*p == ESC)
                *o++ = ESC_ZERO;
        }
    }
    o[0] = ESC;
    o[1] = ESC_END;
    out->len += need;
    return 0;
}

static int put_hash(struct buf *out, const struct av *hash)
{
    uint64_t h = key_hash(hash);
    uint8_t *o;
    int rc = 0, i;

    o = reserve(out, 8, &rc);
    if (o == NULL)
        return rc;
    for (i = 7; i >= 0; i--) {
        o[i] = (uint8_t)h;
        h >>= 8;
    }
    out->len += 8;
    return 0;
}

static int is_key_type(enum av_type t)
{
    return t == AV_S || t == AV_N || t == AV_B;
}

int key_encode_range(enum av_type t, const struct av *range, struct buf *out)
{
    if (!is_key_type(t) || range->type != t)
        return TM_EVALIDATION;
    return put_component(out, range);
}

int key_encode_partition(const struct key_schema *ks, const struct av *hash,
                         struct buf *out)
{
    size_t len0 = out->len;
    int rc;

    if (!is_key_type(ks->hash_type) || hash->type != ks->hash_type)
        return TM_EVALIDATION;
    rc = put_hash(out, hash);
    if (rc == 0)
        rc = put_component(out, hash);
    if (rc)
        out->len = len0;
    return rc;
}

int key_encode(const struct key_schema *ks, const struct av *hash,
               const struct av *range, struct buf *out)
{
    size_t len0 = out->len;
    int rc;

    if (ks->range_name && range &&
        (!is_key_type(ks->range_type) || range->type != ks->range_type))
        return TM_EVALIDATION;
    rc = key_encode_partition(ks, hash, out);
    if (rc == 0 && ks->range_name && range) {
        rc = put_component(out, range);
        if (rc)
            out->len = len0;
    }
    return rc;
}

/* ---- validation -------------------------------------------------------- */

/* Empty S/B and size checks shared by both entry points. */
static int check_value(const char *name, const struct av *v, int is_hash,
                       struct tm_error *err)
{
    if (v->type != AV_N && v->u.s.n == 0)
        return tm_error_set(err, TM_EVALIDATION,
                            "One or more parameter values are not valid. "
                            "The AttributeValue for a key attribute cannot "
                            "contain an empty %s value. Key: %s",
                            v->type == AV_S ? "string" : "binary", name);
    if (is_hash && av_size(v) > KEY_HASH_MAX_BYTES)
        return tm_error_set(err, TM_EVALIDATION, MSG_INVALID
                            "Size of hashkey has exceeded the maximum size "
                            "limit of2048 bytes");
    if (!is_hash && av_size(v) > KEY_RANGE_MAX_BYTES)
        return tm_error_set(err, TM_EVALIDATION, MSG_INVALID
                            "Aggregated size of all range keys has exceeded "
                            "the size limit of 1024 bytes");
    return 0;
}

/* The item's attribute `name`, validated against type `t`. */
static int item_key_attr(const struct av *item, const char *name,
                         enum av_type t, int is_hash, const struct av **out,
                         struct tm_error *err)
{
    const struct av *v = item_get(item, name, strlen(name));

    if (v == NULL)
        return tm_error_set(err, TM_EVALIDATION,
                            MSG_INVALID "Missing the key %s in the item",
                            name);
    if (v->type != t)
        return tm_error_set(err, TM_EVALIDATION,
                            MSG_INVALID "Type mismatch for key %s expected: "
                            "%s actual: %s", name, av_type_name(t),
                            av_type_name(v->type));
    *out = v;
    return check_value(name, v, is_hash, err);
}

int key_from_item(const struct key_schema *ks, const struct av *item,
                  struct buf *out, struct tm_error *err)
{
    const struct av *h = NULL, *r = NULL;
    int rc;

    if (item->type != AV_M)
        return tm_error_set(err, TM_EVALIDATION, MSG_INVALID
                            "Missing the key %s in the item", ks->hash_name);
    rc = item_key_attr(item, ks->hash_name, ks->hash_type, 1, &h, err);
    if (rc == 0 && ks->range_name)
        rc = item_key_attr(item, ks->range_name, ks->range_type, 0, &r, err);
    if (rc)
        return rc;
    rc = key_encode(ks, h, r, out);
    if (rc)
        return tm_error_set(err, rc, "cannot encode the key");
    return 0;
}

int key_from_keymap(const struct key_schema *ks, const struct av *keymap,
                    struct buf *out, struct tm_error *err)
{
    const struct av *h, *r = NULL;
    size_t want = ks->range_name ? 2 : 1;
    int rc;

    if (keymap->type != AV_M || keymap->u.m.n != want)
        return tm_error_set(err, TM_EVALIDATION, MSG_NOMATCH);
    h = item_get(keymap, ks->hash_name, strlen(ks->hash_name));
    if (h == NULL || h->type != ks->hash_type)
        return tm_error_set(err, TM_EVALIDATION, MSG_NOMATCH);
    if (ks->range_name) {
        r = item_get(keymap, ks->range_name, strlen(ks->range_name));
        if (r == NULL || r->type != ks->range_type)
            return tm_error_set(err, TM_EVALIDATION, MSG_NOMATCH);
    }
    rc = check_value(ks->hash_name, h, 1, err);
    if (rc == 0 && r)
        rc = check_value(ks->range_name, r, 0, err);
    if (rc)
        return rc;
    rc = key_encode(ks, h, r, out);
    if (rc)
        return tm_error_set(err, rc, "cannot encode the key");
    return 0;
}

/* ---- decoding ---------------------------------------------------------- */

/* One component of type `t` from [*p, end) into `v` (S/B unescaped into
 * the arena). */
static int get_component(struct arena *a, enum av_type t, const uint8_t **pp,
                         const uint8_t *end, struct av *v)
{
    const uint8_t *p = *pp, *q;
    uint8_t *o;
    size_t n = 0;

    v->type = t;
    if (t == AV_N) {
        size_t used = dec_key_decode(p, (size_t)(end - p), &v->u.n);
        if (used == 0)
            return TM_ECORRUPT;
        *pp = p + used;
        return 0;
    }
    /* First pass: validate escapes, find the end and the decoded length. */
    for (q = p;; q++) {
        if (q == end)
            return TM_ECORRUPT;
        if (*q != ESC) {
            n++;
            continue;
        }
        if (q + 1 == end)
            return TM_ECORRUPT;
        if (q[1] == ESC_END)
            break;
        if (q[1] != ESC_ZERO)
            return TM_ECORRUPT;
        n++;
        q++;
    }
    o = arena_alloc(a, n);
    if (o == NULL)
        return TM_ENOMEM;
    v->u.s.p = o;
    v->u.s.n = n;
    for (; p < q; p++) {
        *o++ = *p;
        if (*p == ESC)
            p++; /* skip the FF */
    }
    *pp = q + 2;
    return 0;
}

int key_decode(struct arena *a, const struct key_schema *ks, const uint8_t *p,
               size_t n, struct av *hash, struct av *range)
{
    const uint8_t *end = p + n;
    struct av r;
    int rc;

    if (p == NULL || n < 8 || !is_key_type(ks->hash_type))
        return TM_ECORRUPT;
    p += 8;
    rc = get_component(a, ks->hash_type, &p, end, hash);
    if (rc)
        return rc;
    if (key_hash(hash) != key_hash_prefix(end - n, n))
        return TM_ECORRUPT;
    if (ks->range_name) {
        if (!is_key_type(ks->range_type))
            return TM_ECORRUPT;
        rc = get_component(a, ks->range_type, &p, end, range ? range : &r);
        if (rc)
            return rc;
    }
    return p == end ? 0 : TM_ECORRUPT;
}

uint64_t key_hash_prefix(const uint8_t *p, size_t n)
{
    uint64_t h = 0;
    size_t i;

    for (i = 0; i < 8; i++)
        h = h << 8 | (i < n ? p[i] : 0);
    return h;
}
