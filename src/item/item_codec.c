/*
 * item_codec.c - the compact binary encoding of attribute values: what
 * LMDB rows and change-log records hold.  JSON exists only at the API edge.
 *
 * Called by the engine, the change log and backup/restore (item_encode on
 * writes, item_decode on reads).  Calls nothing but buf.h and the arena.
 *
 * ---- Format ------------------------------------------------------------
 *
 * A value is one type byte (enum av_type: 1 S, 2 N, 3 B, 4 BOOL, 5 NULL,
 * 6 M, 7 L, 8 SS, 9 NS, 10 BS; other values are reserved) followed by a
 * body.  `varint` is unsigned LEB128 (7 bits per byte, low group first,
 * high bit set on every byte but the last), at most 10 bytes, in its
 * minimal form (decoders refuse a trailing 0x00 group).
 *
 *   value  := type:u8 body
 *   S, B   := len:varint bytes[len]               (S is UTF-8; B is raw)
 *   N      := num
 *   BOOL   := u8                                  (0 false, 1 true)
 *   NULL   := (empty)
 *   M      := count:varint member*count           (request order)
 *   member := namelen:varint name[namelen] value
 *   L      := count:varint value*count
 *   SS, BS := count:varint(>= 1) (len:varint bytes[len])*count
 *   NS     := count:varint(>= 1) num*count
 *
 *   num    := head:varint coef:varint128
 *   head   = zigzag(exp) << 1 | neg      zigzag(e) = e >= 0 ? 2e : -2e - 1
 *   coef   = the decimal coefficient, LEB128 over 128 bits (at most 19
 *            bytes; value = (-1)^neg * coef * 10^exp)
 *
 * Numbers are struct dec verbatim, so they must be normalised (decimal.h):
 * zero is head 0, coef 0; otherwise coef has no trailing decimal zero,
 * fewer than 39 digits, and the magnitude is within 1E-130 ..
 * 9.99..E+125.  Examples: N "5" = 02 00 05; N "-1.5" = 02 03 0F
 * (exp -1 -> zigzag 1 -> head 3); BOOL true = 04 01; {"a":{"S":"x"}} as
 * an item = 06 01 01 61 01 01 78.
 *
 * An item is its AV_M value.  There is no version byte: a future format
 * would use a reserved type byte.
 *
 * ---- Decoder safety ----------------------------------------------------
 *
 * item_decode takes untrusted bytes (a damaged file, a fuzzer) and:
 *   1. never reads past p + n: every length is checked against the bytes
 *      left before it is used;
 *   2. bounds every count by the bytes left (each element needs at least
 *      one byte; a member or a number at least two) before allocating, so
 *      a forged count cannot allocate more than ~48x the input size;
 *   3. bounds the nesting of M/L to CODEC_MAX_DEPTH, so the recursion is
 *      bounded (the encoder refuses deeper trees: what it writes it reads);
 *   4. checks every number's invariants, every BOOL byte, every type byte,
 *      non-empty sets and that the value ends exactly at p + n.
 * It does not check UTF-8 validity, distinct set members or distinct map
 * names: those are the writer's invariants and breaking them is not a
 * memory-safety issue.  Byte ranges of the result point into `p`.
 *
 * Encoding is two passes: measure, reserve once, write without further
 * checks; so a failed encode leaves `out` unchanged.
 *
 * Thread-safety: pure functions.
 */
#include "item/item.h"

#include <string.h>

/* Container nesting accepted by the codec: twice DynamoDB's limit, so that
 * anything the JSON edge accepts round-trips with room to spare. */
#define CODEC_MAX_DEPTH (2 * ITEM_MAX_DEPTH)

/* 10^38: coefficients are below it. */
#define COEF_LIMIT ((unsigned __int128)10000000000000000000ULL * \
                    (unsigned __int128)10000000000000000000ULL)

/* ---- measuring --------------------------------------------------------- */

static size_t varint_len(uint64_t v)
{
    size_t n = 1;

    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static size_t varint128_len(unsigned __int128 v)
{
    size_t n = 1;

    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static uint64_t num_head(const struct dec *d)
{
    int64_t e = d->exp;
    uint64_t z = e >= 0 ? (uint64_t)e << 1 : ((uint64_t)(-(e + 1)) << 1) | 1;

    return z << 1 | (d->neg ? 1 : 0);
}

static size_t num_len(const struct dec *d)
{
    return varint_len(num_head(d)) + varint128_len(d->coef);
}

static size_t bytes_len(const struct av_bytes *b)
{
    return varint_len(b->n) + b->n;
}

/* Encoded size of `v` at container depth `depth`.  Sets `*rc` (and the
 * result is meaningless) when the tree cannot be encoded: TM_ETOOLARGE
 * for nesting deeper than CODEC_MAX_DEPTH, TM_EINTERNAL for an unknown
 * type or an empty set (which no valid tree holds). */
static size_t measure(const struct av *v, int depth, int *rc)
{
    size_t i, sz;

    switch (v->type) {
    case AV_S:
    case AV_B:
        return 1 + bytes_len(&v->u.s);
    case AV_N:
        return 1 + num_len(&v->u.n);
    case AV_BOOL:
        return 2;
    case AV_NULL:
        return 1;
    case AV_M:
        if (depth >= CODEC_MAX_DEPTH) {
            *rc = TM_ETOOLARGE;
            return 0;
        }
        sz = 1 + varint_len(v->u.m.n);
        for (i = 0; i < v->u.m.n && *rc == 0; i++)
            sz += bytes_len(&v->u.m.v[i].name) +
                  measure(&v->u.m.v[i].value, depth + 1, rc);
        return sz;
    case AV_L:
        if (depth >= CODEC_MAX_DEPTH) {
            *rc = TM_ETOOLARGE;
            return 0;
        }
        sz = 1 + varint_len(v->u.l.n);
        for (i = 0; i < v->u.l.n && *rc == 0; i++)
            sz += measure(&v->u.l.v[i], depth + 1, rc);
        return sz;
    case AV_SS:
    case AV_BS:
        if (v->u.ss.n == 0)
            break;
        sz = 1 + varint_len(v->u.ss.n);
        for (i = 0; i < v->u.ss.n; i++)
            sz += bytes_len(&v->u.ss.v[i]);
        return sz;
    case AV_NS:
        if (v->u.ns.n == 0)
            break;
        sz = 1 + varint_len(v->u.ns.n);
        for (i = 0; i < v->u.ns.n; i++)
            sz += num_len(&v->u.ns.v[i]);
        return sz;
    }
    *rc = TM_EINTERNAL;
    return 0;
}

/* ---- writing (into reserved memory) ------------------------------------ */

static uint8_t *put_varint(uint8_t *o, uint64_t v)
{
    while (v >= 0x80) {
        *o++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *o++ = (uint8_t)v;
    return o;
}

static uint8_t *put_varint128(uint8_t *o, unsigned __int128 v)
{
    while (v >= 0x80) {
        *o++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *o++ = (uint8_t)v;
    return o;
}

static uint8_t *put_bytes(uint8_t *o, const struct av_bytes *b)
{
    o = put_varint(o, b->n);
    if (b->n)
        memcpy(o, b->p, b->n);
    return o + b->n;
}

static uint8_t *put_num(uint8_t *o, const struct dec *d)
{
    o = put_varint(o, num_head(d));
    return put_varint128(o, d->coef);
}

static uint8_t *put_value(uint8_t *o, const struct av *v)
{
    size_t i;

    *o++ = (uint8_t)v->type;
    switch (v->type) {
    case AV_S:
    case AV_B:
        return put_bytes(o, &v->u.s);
    case AV_N:
        return put_num(o, &v->u.n);
    case AV_BOOL:
        *o++ = v->u.b ? 1 : 0;
        return o;
    case AV_NULL:
        return o;
    case AV_M:
        o = put_varint(o, v->u.m.n);
        for (i = 0; i < v->u.m.n; i++) {
            o = put_bytes(o, &v->u.m.v[i].name);
            o = put_value(o, &v->u.m.v[i].value);
        }
        return o;
    case AV_L:
        o = put_varint(o, v->u.l.n);
        for (i = 0; i < v->u.l.n; i++)
            o = put_value(o, &v->u.l.v[i]);
        return o;
    case AV_SS:
    case AV_BS:
        o = put_varint(o, v->u.ss.n);
        for (i = 0; i < v->u.ss.n; i++)
            o = put_bytes(o, &v->u.ss.v[i]);
        return o;
    case AV_NS:
        o = put_varint(o, v->u.ns.n);
        for (i = 0; i < v->u.ns.n; i++)
            o = put_num(o, &v->u.ns.v[i]);
        return o;
    }
    return o;
}

int item_encode(const struct av *v, struct buf *out)
{
    int rc = 0;
    size_t sz = measure(v, 0, &rc);
    uint8_t *o, *end;

    if (rc)
        return rc;
    o = buf_reserve(out, sz);
    if (o == NULL)
        return sz > out->max - out->len ? TM_ETOOLARGE : TM_ENOMEM;
    end = put_value(o, v);
    out->len += (size_t)(end - o);
    return 0;
}

/* ---- reading ----------------------------------------------------------- */

struct rd {
    struct arena *a;
    const uint8_t *p, *end;
};

/* A varint, in its one minimal form: a last byte of 0 after others is a
 * non-minimal encoding of a smaller value, and is refused so that every
 * value has exactly one encoding (the fuzz target checks this). */
static int get_varint(struct rd *r, uint64_t *v)
{
    const uint8_t *start = r->p;

    if (buf_get_varint(&r->p, r->end, v))
        return TM_ECORRUPT;
    if (r->p - start > 1 && r->p[-1] == 0)
        return TM_ECORRUPT;
    return 0;
}

/* A count of elements that each need at least `min` bytes. */
static int get_count(struct rd *r, size_t min, size_t *n)
{
    uint64_t v;

    if (get_varint(r, &v))
        return TM_ECORRUPT;
    if (v > (uint64_t)(r->end - r->p) / min)
        return TM_ECORRUPT;
    *n = (size_t)v;
    return 0;
}

static int get_bytes(struct rd *r, struct av_bytes *b)
{
    uint64_t len;

    if (get_varint(r, &len) || len > (uint64_t)(r->end - r->p))
        return TM_ECORRUPT;
    b->p = r->p;
    b->n = (size_t)len;
    r->p += len;
    return 0;
}

static unsigned coef_digits(unsigned __int128 c)
{
    unsigned d = 1;
    unsigned __int128 p = 10;

    while (d < 39 && c >= p) {
        d++;
        p *= 10;
    }
    return d;
}

static int get_num(struct rd *r, struct dec *d)
{
    uint64_t head, z;
    unsigned __int128 coef = 0;
    unsigned shift = 0;
    int64_t exp, adj;

    if (get_varint(r, &head))
        return TM_ECORRUPT;
    z = head >> 1;
    if (z > UINT32_MAX)
        return TM_ECORRUPT;
    exp = (z & 1) ? -(int64_t)(z >> 1) - 1 : (int64_t)(z >> 1);
    for (;;) {
        uint8_t c;
        if (r->p == r->end)
            return TM_ECORRUPT;
        c = *r->p++;
        if (shift == 126 && (c & 0xFC))
            return TM_ECORRUPT; /* more than 128 bits */
        coef |= (unsigned __int128)(c & 0x7F) << shift;
        if (!(c & 0x80)) {
            if (c == 0 && shift != 0)
                return TM_ECORRUPT; /* non-minimal */
            break;
        }
        shift += 7;
    }
    if (coef == 0) {
        if (head != 0)
            return TM_ECORRUPT;
        memset(d, 0, sizeof *d);
        return 0;
    }
    if (coef >= COEF_LIMIT || coef % 10 == 0)
        return TM_ECORRUPT;
    adj = exp + (int64_t)coef_digits(coef) - 1;
    if (adj < DEC_MIN_EXP || adj > DEC_MAX_EXP)
        return TM_ECORRUPT;
    d->coef = coef;
    d->exp = (int32_t)exp;
    d->neg = (uint8_t)(head & 1);
    return 0;
}

static int get_value(struct rd *r, struct av *v, int depth)
{
    size_t n, i;
    uint8_t t;
    int rc;

    if (r->p == r->end)
        return TM_ECORRUPT;
    t = *r->p++;
    if (t < AV_S || t > AV_BS)
        return TM_ECORRUPT; /* reserved type byte */
    v->type = (enum av_type)t;
    switch (v->type) {
    case AV_S:
    case AV_B:
        return get_bytes(r, &v->u.s);
    case AV_N:
        return get_num(r, &v->u.n);
    case AV_BOOL:
        if (r->p == r->end || *r->p > 1)
            return TM_ECORRUPT;
        v->u.b = *r->p++;
        return 0;
    case AV_NULL:
        return 0;
    case AV_M:
        if (depth >= CODEC_MAX_DEPTH || get_count(r, 2, &n))
            return TM_ECORRUPT;
        v->u.m.n = n;
        v->u.m.v = NULL;
        if (n == 0)
            return 0;
        v->u.m.v = arena_alloc(r->a, n * sizeof *v->u.m.v);
        if (v->u.m.v == NULL)
            return TM_ENOMEM;
        for (i = 0; i < n; i++) {
            rc = get_bytes(r, &v->u.m.v[i].name);
            if (rc == 0)
                rc = get_value(r, &v->u.m.v[i].value, depth + 1);
            if (rc)
                return rc;
        }
        return 0;
    case AV_L:
        if (depth >= CODEC_MAX_DEPTH || get_count(r, 1, &n))
            return TM_ECORRUPT;
        v->u.l.n = n;
        v->u.l.v = NULL;
        if (n == 0)
            return 0;
        v->u.l.v = arena_alloc(r->a, n * sizeof *v->u.l.v);
        if (v->u.l.v == NULL)
            return TM_ENOMEM;
        for (i = 0; i < n; i++) {
            rc = get_value(r, &v->u.l.v[i], depth + 1);
            if (rc)
                return rc;
        }
        return 0;
    case AV_SS:
    case AV_BS:
        if (get_count(r, 1, &n) || n == 0)
            return TM_ECORRUPT;
        v->u.ss.n = n;
        v->u.ss.v = arena_alloc(r->a, n * sizeof *v->u.ss.v);
        if (v->u.ss.v == NULL)
            return TM_ENOMEM;
        for (i = 0; i < n; i++)
            if (get_bytes(r, &v->u.ss.v[i]))
                return TM_ECORRUPT;
        return 0;
    case AV_NS:
        if (get_count(r, 2, &n) || n == 0)
            return TM_ECORRUPT;
        v->u.ns.n = n;
        v->u.ns.v = arena_alloc(r->a, n * sizeof *v->u.ns.v);
        if (v->u.ns.v == NULL)
            return TM_ENOMEM;
        for (i = 0; i < n; i++)
            if (get_num(r, &v->u.ns.v[i]))
                return TM_ECORRUPT;
        return 0;
    }
    return TM_ECORRUPT;
}

int item_decode(struct arena *a, const uint8_t *p, size_t n, struct av *out)
{
    struct rd r = {a, p, p + n};
    int rc;

    if (p == NULL || n == 0)
        return TM_ECORRUPT;
    rc = get_value(&r, out, 0);
    if (rc == 0 && r.p != r.end)
        rc = TM_ECORRUPT;
    return rc;
}
