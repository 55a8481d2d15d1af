/*
 * base64.c - strict RFC 4648 base64, the text form of DynamoDB binaries.
 *
 * Called by the JSON edge of the item model (item_json.c) for B and BS
 * values, in both directions.  Table driven: encoding maps 3 bytes to 4
 * characters; decoding maps each character through a 256-entry table in
 * which 0xFF marks "not in the alphabet" (and '=' is not in it either: the
 * padding is handled explicitly on the last quantum only).
 */
#include "base/base64.h"

#include "base/err.h"

static const char enc_tab[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* 0..63 for alphabet characters, 0xFF for everything else. */
static const uint8_t dec_tab[256] = {
#define BAD 0xFF
#define R16 BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, \
            BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD
    R16, R16,                                         /* 0x00..0x1F */
    BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD,           /* 0x20..0x27 */
    BAD, BAD, BAD, 62,  BAD, BAD, BAD, 63,            /* ( ) * + , - . / */
    52,  53,  54,  55,  56,  57,  58,  59,            /* 0..7 */
    60,  61,  BAD, BAD, BAD, BAD, BAD, BAD,           /* 8 9 : ; < = > ? */
    BAD, 0,   1,   2,   3,   4,   5,   6,             /* @ A..G */
    7,   8,   9,   10,  11,  12,  13,  14,            /* H..O */
    15,  16,  17,  18,  19,  20,  21,  22,            /* P..W */
    23,  24,  25,  BAD, BAD, BAD, BAD, BAD,           /* X Y Z [ \ ] ^ _ */
    BAD, 26,  27,  28,  29,  30,  31,  32,            /* ` a..g */
    33,  34,  35,  36,  37,  38,  39,  40,            /* h..o */
    41,  42,  43,  44,  45,  46,  47,  48,            /* p..w */
    49,  50,  51,  BAD, BAD, BAD, BAD, BAD,           /* x y z { | } ~ DEL */
    R16, R16, R16, R16, R16, R16, R16, R16            /* 0x80..0xFF */
#undef R16
#undef BAD
};

int base64_encode(struct buf *out, const uint8_t *p, size_t n)
{
    size_t len = base64_encoded_len(n), i;
    uint8_t *o;

    if (n > (SIZE_MAX - 2) / 4 * 3)
        return TM_ETOOLARGE;
    if (len == 0)
        return 0;
    o = buf_reserve(out, len);
    if (o == NULL)
        return (len > out->max - out->len) ? TM_ETOOLARGE : TM_ENOMEM;
    for (i = 0; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *o++ = (uint8_t)enc_tab[v >> 18];
        *o++ = (uint8_t)enc_tab[(v >> 12) & 63];
        *o++ = (uint8_t)enc_tab[(v >> 6) & 63];
        *o++ = (uint8_t)enc_tab[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        *o++ = (uint8_t)enc_tab[v >> 18];
        *o++ = (uint8_t)enc_tab[(v >> 12) & 63];
        *o++ = '=';
        *o++ = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        *o++ = (uint8_t)enc_tab[v >> 18];
        *o++ = (uint8_t)enc_tab[(v >> 12) & 63];
        *o++ = (uint8_t)enc_tab[(v >> 6) & 63];
        *o++ = '=';
    }
    out->len += len;
    return 0;
}

int base64_decode(const char *s, size_t n, uint8_t *out, size_t *out_len)
{
    const uint8_t *t = (const uint8_t *)s;
    size_t i, full, o = 0;
    uint8_t a, b, c, d;

    if (n % 4 != 0)
        return BASE64_ELENGTH;
    if (n == 0) {
        *out_len = 0;
        return BASE64_OK;
    }
    /* Every quantum but the last is four alphabet characters. */
    full = n - 4;
    for (i = 0; i < full; i += 4) {
        a = dec_tab[t[i]];
        b = dec_tab[t[i + 1]];
        c = dec_tab[t[i + 2]];
        d = dec_tab[t[i + 3]];
        if ((a | b | c | d) & 0x80)
            return BASE64_ECHAR;
        out[o++] = (uint8_t)(a << 2 | b >> 4);
        out[o++] = (uint8_t)(b << 4 | c >> 2);
        out[o++] = (uint8_t)(c << 6 | d);
    }
    /* The last one: "xxxx", "xxx=" or "xx==". */
    a = dec_tab[t[i]];
    b = dec_tab[t[i + 1]];
    if ((a | b) & 0x80)
        return BASE64_ECHAR;
    if (t[i + 2] == '=') {
        if (t[i + 3] != '=')
            return BASE64_ECHAR;
        if (b & 0x0F)
            return BASE64_ETAIL;
        out[o++] = (uint8_t)(a << 2 | b >> 4);
    } else if (t[i + 3] == '=') {
        c = dec_tab[t[i + 2]];
        if (c & 0x80)
            return BASE64_ECHAR;
        if (c & 0x03)
            return BASE64_ETAIL;
        out[o++] = (uint8_t)(a << 2 | b >> 4);
        out[o++] = (uint8_t)(b << 4 | c >> 2);
    } else {
        c = dec_tab[t[i + 2]];
        d = dec_tab[t[i + 3]];
        if ((c | d) & 0x80)
            return BASE64_ECHAR;
        out[o++] = (uint8_t)(a << 2 | b >> 4);
        out[o++] = (uint8_t)(b << 4 | c >> 2);
        out[o++] = (uint8_t)(c << 6 | d);
    }
    *out_len = o;
    return BASE64_OK;
}

const char *base64_strerror(int status)
{
    switch (status) {
    case BASE64_OK:
        return "OK";
    case BASE64_ELENGTH:
        return "Base64 encoded length is expected a multiple of 4 bytes";
    case BASE64_ECHAR:
        return "Invalid Base64 character";
    case BASE64_ETAIL:
        return "Invalid last non-pad Base64 character";
    default:
        return "Invalid Base64";
    }
}
