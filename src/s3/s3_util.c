/*
 * s3_util.c - the S3 client's pure parts: s3:// URLs, keys and their
 * SigV4 percent-encoding, the few XML tags S3 answers with, the AWS
 * credential chain (environment, then the shared credentials file),
 * ETags, and the retry policy.  See s3_int.h for each function.
 *
 * Called by s3.c (and by tests/unit/test_s3.c directly).  Calls only libc
 * and libcrypto (MD5 for ETags).  No global state, no network: every
 * function here can be tested without an object store.
 *
 * ==== THE XML S3 SENDS ====
 *
 * Answers are small flat documents such as
 *
 *     <Error><Code>NoSuchKey</Code><Message>...</Message>...</Error>
 *     <InitiateMultipartUploadResult>...<UploadId>2~x</UploadId>...
 *     <ListBucketResult>...<IsTruncated>true</IsTruncated>
 *       <Contents><Key>a/b&amp;c</Key>...<Size>12</Size>...</Contents>
 *       <NextContinuationToken>...</NextContinuationToken>...
 *
 * Element text never contains '<' (it is escaped), and the tags read here
 * are never nested in themselves, so "the text between <Tag> and the next
 * </Tag>" is exact.  Entities are the five XML ones and character
 * references; there is no CDATA or DTD in S3 answers.
 */
#include "s3/s3_int.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* The credentials file is small; refuse anything absurd before reading. */
#define CRED_FILE_MAX (1u << 20)

/* ==== keys, URLs, encoding ============================================= */

int s3_uri_encode(struct buf *b, const char *s, size_t n, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";

    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        int rc;

        if (isalnum(ch) || ch == '-' || ch == '.' || ch == '_' ||
            ch == '~' || (keep_slash && ch == '/')) {
            rc = buf_putc(b, ch);
        } else {
            char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
            rc = buf_append(b, e, 3);
        }
        if (rc)
            return rc;
    }
    return 0;
}

int s3_key_check(const char *key, const char *what, int allow_empty,
                 struct tm_error *err)
{
    size_t n = strlen(key);
    const char *seg = key;

    if (n == 0) {
        if (allow_empty)
            return 0;
        return tm_error_set(err, TM_EVALIDATION, "S3 %s is empty", what);
    }
    if (n > S3_KEY_MAX)
        return tm_error_set(err, TM_EVALIDATION,
                            "S3 %s is %zu bytes long; the limit is %u",
                            what, n, S3_KEY_MAX);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)key[i];
        if (ch < 0x20 || ch == 0x7f)
            return tm_error_set(err, TM_EVALIDATION,
                                "S3 %s \"%.100s\" holds control character "
                                "0x%02x at byte %zu",
                                what, key, ch, i);
    }
    if (key[0] == '/' || key[n - 1] == '/')
        return tm_error_set(err, TM_EVALIDATION,
                            "S3 %s \"%.100s\" must not start or end with "
                            "'/'",
                            what, key);
    for (const char *p = key;; p++) {
        if (*p == '/' || *p == '\0') {
            size_t len = (size_t)(p - seg);
            if (len == 0 || (len == 1 && seg[0] == '.') ||
                (len == 2 && seg[0] == '.' && seg[1] == '.'))
                return tm_error_set(err, TM_EVALIDATION,
                                    "S3 %s \"%.100s\" has an empty, \".\" "
                                    "or \"..\" path segment",
                                    what, key);
            if (*p == '\0')
                break;
            seg = p + 1;
        }
    }
    return 0;
}

int s3_bucket_name_ok(const char *b, size_t n)
{
    int ok = n >= 3 && n <= 63;

    for (size_t i = 0; ok && i < n; i++) {
        char ch = b[i];
        ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
             ch == '.' || ch == '-';
    }
    return ok && isalnum((unsigned char)b[0]) &&
           isalnum((unsigned char)b[n - 1]);
}

int s3_parse_url(const char *url, char **bucket, char **prefix,
                 struct tm_error *err)
{
    const char *b, *slash;
    size_t bn, pn;
    int rc;

    *bucket = *prefix = NULL;
    if (strncmp(url, "s3://", 5) != 0)
        return tm_error_set(err, TM_EVALIDATION,
                            "\"%s\" is not an S3 URL (expected "
                            "s3://bucket or s3://bucket/prefix)",
                            url);
    b = url + 5;
    slash = strchr(b, '/');
    bn = slash ? (size_t)(slash - b) : strlen(b);
    if (bn == 0)
        return tm_error_set(err, TM_EVALIDATION,
                            "S3 URL \"%s\" has no bucket name (expected "
                            "s3://bucket or s3://bucket/prefix)",
                            url);
    if (!s3_bucket_name_ok(b, bn))
        return tm_error_set(err, TM_EVALIDATION,
                            "S3 URL \"%s\": the bucket name must be 3 to 63 "
                            "characters of a-z, 0-9, '.' and '-', starting "
                            "and ending with a letter or digit",
                            url);
    *bucket = strndup(b, bn);
    if (slash) {
        pn = strlen(slash + 1);
        while (pn > 0 && slash[pn] == '/')
            pn--;
        *prefix = strndup(slash + 1, pn);
    } else {
        *prefix = strdup("");
    }
    if (*bucket == NULL || *prefix == NULL) {
        rc = tm_error_set(err, TM_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = s3_key_check(*prefix, "prefix", 1, err))) {
        char why[TM_ERROR_MSG_MAX];
        snprintf(why, sizeof why, "%s", err ? err->msg : "bad prefix");
        tm_error_set(err, TM_EVALIDATION, "S3 URL \"%s\": %s", url, why);
        goto fail;
    }
    return 0;
fail:
    free(*bucket);
    free(*prefix);
    *bucket = *prefix = NULL;
    return rc;
}

/* ==== XML =============================================================== */

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* Does a tag named `tag` start at s[i] (just after '<' or "</")?  Then
 * *end is the index just past the name. */
static int tag_at(const char *s, size_t len, size_t i, const char *tag,
                  size_t tn, size_t *end)
{
    if (len - i < tn + 1 || memcmp(s + i, tag, tn) != 0)
        return 0;
    i += tn;
    if (s[i] != '>' && s[i] != '/' && !is_space(s[i]))
        return 0;
    *end = i;
    return 1;
}

int s3_xml_next(const char *xml, size_t len, size_t *pos, const char *tag,
                const char **val, size_t *vlen)
{
    size_t tn = strlen(tag), i = *pos, e;

    for (; i < len; i++) {
        const char *gt;
        size_t start;

        if (xml[i] != '<' || !tag_at(xml, len, i + 1, tag, tn, &e))
            continue;
        gt = memchr(xml + e, '>', len - e);
        if (gt == NULL)
            return 0;
        start = (size_t)(gt - xml) + 1;
        if (gt[-1] == '/') { /* <Tag/> */
            *val = xml + start;
            *vlen = 0;
            *pos = start;
            return 1;
        }
        for (size_t j = start; j + 1 < len; j++) {
            if (xml[j] != '<' || xml[j + 1] != '/' ||
                !tag_at(xml, len, j + 2, tag, tn, &e))
                continue;
            gt = memchr(xml + e, '>', len - e);
            if (gt == NULL)
                return 0;
            *val = xml + start;
            *vlen = j - start;
            *pos = (size_t)(gt - xml) + 1;
            return 1;
        }
        return 0;
    }
    return 0;
}

/* UTF-8 of code point `cp` (1..0x10FFFF, no surrogates) into out; its
 * length, or 0 if `cp` is not a valid character. */
static size_t utf8_put(uint32_t cp, char out[4])
{
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decode the entity whose name is s[0..n) (between '&' and ';') into
 * out; its length, or 0 if it is not one we know. */
static size_t entity(const char *s, size_t n, char out[4])
{
    static const struct {
        const char *name;
        char ch;
    } named[] = {{"amp", '&'}, {"lt", '<'}, {"gt", '>'},
                 {"quot", '"'}, {"apos", '\''}};
    uint32_t cp = 0;
    size_t i = 1;
    int base = 10;

    for (size_t k = 0; k < sizeof named / sizeof named[0]; k++)
        if (strlen(named[k].name) == n && memcmp(s, named[k].name, n) == 0) {
            out[0] = named[k].ch;
            return 1;
        }
    if (n < 2 || s[0] != '#')
        return 0;
    if (s[1] == 'x' || s[1] == 'X') {
        base = 16;
        i = 2;
    }
    if (i == n || n - i > 8)
        return 0;
    for (; i < n; i++) {
        int d;
        char ch = s[i];
        if (ch >= '0' && ch <= '9')
            d = ch - '0';
        else if (base == 16 && ch >= 'a' && ch <= 'f')
            d = ch - 'a' + 10;
        else if (base == 16 && ch >= 'A' && ch <= 'F')
            d = ch - 'A' + 10;
        else
            return 0;
        cp = cp * (uint32_t)base + (uint32_t)d;
        if (cp > 0x10FFFF)
            return 0;
    }
    return utf8_put(cp, out);
}

int s3_xml_unescape(struct buf *out, const char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        const char *amp = memchr(s + i, '&', n - i);
        size_t plain = amp ? (size_t)(amp - s) - i : n - i;
        const char *semi;
        char dec[4];
        size_t dn = 0;
        int rc;

        if (plain && (rc = buf_append(out, s + i, plain)))
            return rc;
        i += plain;
        if (i == n)
            break;
        /* at '&': an entity is at most "&#x10FFFF;" long */
        semi = memchr(s + i, ';', n - i < 12 ? n - i : 12);
        if (semi)
            dn = entity(s + i + 1, (size_t)(semi - s) - i - 1, dec);
        if (dn) {
            if ((rc = buf_append(out, dec, dn)))
                return rc;
            i = (size_t)(semi - s) + 1;
        } else {
            if ((rc = buf_putc(out, '&')))
                return rc;
            i++;
        }
    }
    return 0;
}

int s3_xml_text(const char *xml, size_t len, const char *tag, char *out,
                size_t n)
{
    size_t pos = 0, vlen;
    const char *v;
    struct buf b;
    size_t k;

    if (n == 0)
        return 0;
    out[0] = '\0';
    if (!s3_xml_next(xml, len, &pos, tag, &v, &vlen))
        return 0;
    /* unescaping never lengthens: vlen bytes are enough */
    buf_init(&b, vlen + 1);
    if (s3_xml_unescape(&b, v, vlen) != 0) {
        buf_free(&b);
        return 0;
    }
    k = b.len < n - 1 ? b.len : n - 1;
    if (k)
        memcpy(out, b.data, k);
    out[k] = '\0';
    buf_free(&b);
    return 1;
}

int s3_xml_escape(struct buf *b, const char *s)
{
    int rc = 0;

    for (; *s && rc == 0; s++) {
        switch (*s) {
        case '&': rc = buf_append(b, "&amp;", 5); break;
        case '<': rc = buf_append(b, "&lt;", 4); break;
        case '>': rc = buf_append(b, "&gt;", 4); break;
        case '"': rc = buf_append(b, "&quot;", 6); break;
        case '\'': rc = buf_append(b, "&apos;", 6); break;
        default: rc = buf_putc(b, (uint8_t)*s); break;
        }
    }
    return rc;
}

/* A decimal uint64 of exactly s[0..n), else -1. */
static int parse_u64(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;

    while (n > 0 && is_space(*s))
        s++, n--;
    while (n > 0 && is_space(s[n - 1]))
        n--;
    if (n == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        uint64_t d = (uint64_t)(s[i] - '0');
        if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int s3_xml_list_page(const char *xml, size_t len,
                     int (*fn)(void *ctx, const char *key, uint64_t size),
                     void *ctx, int *truncated, char **next,
                     struct tm_error *err)
{
    size_t pos = 0, clen, kpos, vlen;
    const char *c, *v;
    char flag[8];
    struct buf key;
    int rc = 0;

    *truncated = 0;
    *next = NULL;
    buf_init(&key, S3_KEY_MAX * 6 + 1);
    while (s3_xml_next(xml, len, &pos, "Contents", &c, &clen)) {
        uint64_t size;

        kpos = 0;
        if (!s3_xml_next(c, clen, &kpos, "Key", &v, &vlen)) {
            rc = tm_error_set(err, TM_EIO,
                              "S3 ListObjectsV2 answer has a <Contents> "
                              "without <Key>");
            goto out;
        }
        buf_reset(&key);
        if ((rc = s3_xml_unescape(&key, v, vlen)) ||
            (rc = buf_putc(&key, '\0'))) {
            rc = tm_error_set(err, rc, "S3 ListObjectsV2 answer: a <Key> "
                              "is too long");
            goto out;
        }
        kpos = 0;
        if (!s3_xml_next(c, clen, &kpos, "Size", &v, &vlen) ||
            parse_u64(v, vlen, &size) != 0) {
            rc = tm_error_set(err, TM_EIO,
                              "S3 ListObjectsV2 answer: object \"%s\" has "
                              "no valid <Size>",
                              (char *)key.data);
            goto out;
        }
        if ((rc = fn(ctx, (const char *)key.data, size)))
            goto out;
    }
    s3_xml_text(xml, len, "IsTruncated", flag, sizeof flag);
    *truncated = strcmp(flag, "true") == 0;
    if (*truncated) {
        struct buf tok;

        pos = 0;
        if (!s3_xml_next(xml, len, &pos, "NextContinuationToken", &v,
                         &vlen) ||
            vlen == 0) {
            rc = tm_error_set(err, TM_EIO,
                              "S3 ListObjectsV2 answer is truncated but "
                              "has no <NextContinuationToken>");
            goto out;
        }
        buf_init(&tok, vlen + 1);
        if (s3_xml_unescape(&tok, v, vlen) || buf_putc(&tok, '\0')) {
            buf_free(&tok);
            rc = tm_error_set(err, TM_ENOMEM, "out of memory");
            goto out;
        }
        *next = (char *)buf_take(&tok, &vlen);
    }
out:
    buf_free(&key);
    return rc;
}

/* ==== credentials ======================================================= */

static const char *trim(const char *s, const char *end, const char **e)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    *e = end;
    return s;
}

static int set_str(char **dst, const char *s, size_t n)
{
    char *v = strndup(s, n);

    if (v == NULL)
        return TM_ENOMEM;
    if (*dst) {
        OPENSSL_cleanse(*dst, strlen(*dst));
        free(*dst);
    }
    *dst = v;
    return 0;
}

static void free_secret(char **s)
{
    if (*s) {
        OPENSSL_cleanse(*s, strlen(*s));
        free(*s);
        *s = NULL;
    }
}

int s3_credentials_parse(const char *text, size_t len, const char *profile,
                         const char *source, char **ak, char **sk,
                         char **tok, struct tm_error *err)
{
    const char *p = text, *end = text + len;
    int in = 0, seen = 0, rc = 0;

    *ak = *sk = *tok = NULL;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end, *s, *e, *eq;

        s = trim(p, le, &e);
        p = nl ? nl + 1 : end;
        if (s == e || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            const char *ns, *ne;
            if (e[-1] != ']') {
                in = 0;
                continue;
            }
            ns = trim(s + 1, e - 1, &ne);
            in = (size_t)(ne - ns) == strlen(profile) &&
                 memcmp(ns, profile, (size_t)(ne - ns)) == 0;
            seen |= in;
            continue;
        }
        if (!in || (eq = memchr(s, '=', (size_t)(e - s))) == NULL)
            continue;
        {
            const char *ks, *ke, *vs, *ve;
            size_t kn;
            char **dst = NULL;

            ks = trim(s, eq, &ke);
            vs = trim(eq + 1, e, &ve);
            kn = (size_t)(ke - ks);
            if (kn == 17 && strncasecmp(ks, "aws_access_key_id", kn) == 0)
                dst = ak;
            else if (kn == 21 &&
                     strncasecmp(ks, "aws_secret_access_key", kn) == 0)
                dst = sk;
            else if ((kn == 17 &&
                      strncasecmp(ks, "aws_session_token", kn) == 0) ||
                     (kn == 18 &&
                      strncasecmp(ks, "aws_security_token", kn) == 0))
                dst = tok;
            if (dst && ve > vs && (rc = set_str(dst, vs, (size_t)(ve - vs)))) {
                rc = tm_error_set(err, TM_ENOMEM, "out of memory");
                goto fail;
            }
        }
    }
    if (!seen) {
        rc = tm_error_set(err, TM_EVALIDATION,
                          "S3 credentials: no profile [%s] in %s",
                          profile, source);
        goto fail;
    }
    if (*ak == NULL || *sk == NULL) {
        rc = tm_error_set(err, TM_EVALIDATION,
                          "S3 credentials: profile [%s] in %s has no %s",
                          profile, source,
                          *ak == NULL ? "aws_access_key_id"
                                      : "aws_secret_access_key");
        goto fail;
    }
    return 0;
fail:
    free_secret(ak);
    free_secret(sk);
    free_secret(tok);
    return rc;
}

static const char *env(const char *name)
{
    const char *v = getenv(name);

    return v && *v ? v : NULL;
}

/* The credentials file's path, malloc'd, or NULL (ENOMEM, no home). */
static char *cred_path(void)
{
    const char *f = env("AWS_SHARED_CREDENTIALS_FILE");
    const char *home = env("HOME");
    struct passwd pw, *found = NULL;
    char pwbuf[4096], *out = NULL;

    if (home == NULL &&
        getpwuid_r(getuid(), &pw, pwbuf, sizeof pwbuf, &found) == 0 && found)
        home = found->pw_dir;
    if (f && strncmp(f, "~/", 2) == 0 && home) {
        if (asprintf(&out, "%s/%s", home, f + 2) < 0)
            out = NULL;
    } else if (f) {
        out = strdup(f);
    } else if (home) {
        if (asprintf(&out, "%s/.aws/credentials", home) < 0)
            out = NULL;
    }
    return out;
}

int s3_config_credentials(char **ak, char **sk, char **tok,
                          struct tm_error *err)
{
    const char *eak = env("AWS_ACCESS_KEY_ID");
    const char *esk = env("AWS_SECRET_ACCESS_KEY");
    const char *etok = env("AWS_SESSION_TOKEN");
    const char *profile = env("AWS_PROFILE");
    char *path = NULL, *text = NULL;
    struct stat st;
    ssize_t got;
    int fd = -1, rc;

    *ak = *sk = *tok = NULL;
    if (etok == NULL)
        etok = env("AWS_SECURITY_TOKEN");
    if (eak && esk) {
        *ak = strdup(eak);
        *sk = strdup(esk);
        *tok = etok ? strdup(etok) : NULL;
        if (*ak == NULL || *sk == NULL || (etok && *tok == NULL)) {
            rc = tm_error_set(err, TM_ENOMEM, "out of memory");
            goto fail;
        }
        return 0;
    }
    if (eak || esk)
        return tm_error_set(err, TM_EVALIDATION,
                            "S3 credentials: %s is set but %s is not (set "
                            "both, or neither to use the shared "
                            "credentials file)",
                            eak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                            eak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
    if (profile == NULL)
        profile = env("AWS_DEFAULT_PROFILE");
    if (profile == NULL)
        profile = "default";
    path = cred_path();
    if (path == NULL)
        return tm_error_set(err, TM_EVALIDATION,
                            "no S3 credentials: AWS_ACCESS_KEY_ID and "
                            "AWS_SECRET_ACCESS_KEY are not set, and there "
                            "is no home directory for ~/.aws/credentials "
                            "(set them, or AWS_SHARED_CREDENTIALS_FILE)");
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            rc = tm_error_set(err, TM_EVALIDATION,
                              "no S3 credentials: AWS_ACCESS_KEY_ID and "
                              "AWS_SECRET_ACCESS_KEY are not set, and %s "
                              "does not exist (set them, or add a [%s] "
                              "profile to that file)",
                              path, profile);
        else
            rc = tm_error_set(err, TM_EIO,
                              "S3 credentials: cannot open %s: %s", path,
                              strerror(errno));
        goto fail;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_size > (off_t)CRED_FILE_MAX) {
        rc = tm_error_set(err, TM_EIO,
                          "S3 credentials: %s is not a regular file of at "
                          "most %u bytes",
                          path, CRED_FILE_MAX);
        goto fail;
    }
    text = malloc((size_t)st.st_size + 1);
    if (text == NULL) {
        rc = tm_error_set(err, TM_ENOMEM, "out of memory");
        goto fail;
    }
    got = read(fd, text, (size_t)st.st_size);
    if (got < 0) {
        rc = tm_error_set(err, TM_EIO, "S3 credentials: cannot read %s: %s",
                          path, strerror(errno));
        goto fail;
    }
    rc = s3_credentials_parse(text, (size_t)got, profile, path, ak, sk, tok,
                              err);
    if (rc == TM_EVALIDATION && err) {
        char why[TM_ERROR_MSG_MAX];
        snprintf(why, sizeof why, "%s", err->msg);
        tm_error_set(err, rc, "%s (AWS_ACCESS_KEY_ID and "
                     "AWS_SECRET_ACCESS_KEY are not set; the profile is %s)",
                     why, env("AWS_PROFILE") ? "AWS_PROFILE's"
                     : env("AWS_DEFAULT_PROFILE") ? "AWS_DEFAULT_PROFILE's"
                     : "the default one");
    }
fail:
    if (rc) {
        free_secret(ak);
        free_secret(sk);
        free_secret(tok);
    }
    if (text) {
        OPENSSL_cleanse(text, (size_t)st.st_size);
        free(text);
    }
    if (fd >= 0)
        close(fd);
    free(path);
    return rc;
}

/* ==== ETags ============================================================= */

void s3_hex(const uint8_t *p, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[p[i] >> 4];
        out[2 * i + 1] = hex[p[i] & 15];
    }
    out[2 * n] = '\0';
}

void s3_etag_compute(const uint8_t (*md5s)[16], size_t nparts,
                     int multipart, char out[S3_ETAG_MAX])
{
    uint8_t d[16];
    unsigned dl = 0;

    if (!multipart) {
        s3_hex(md5s[0], 16, out);
        return;
    }
    EVP_Digest(md5s, nparts * 16, d, &dl, EVP_md5(), NULL);
    s3_hex(d, 16, out);
    snprintf(out + 32, S3_ETAG_MAX - 32, "-%zu", nparts);
}

void s3_etag_clean(const char *s, size_t n, char out[S3_ETAG_MAX])
{
    while (n > 0 && (is_space(*s) || *s == '"'))
        s++, n--;
    while (n > 0 && (is_space(s[n - 1]) || s[n - 1] == '"'))
        n--;
    if (n > S3_ETAG_MAX - 1)
        n = S3_ETAG_MAX - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

int s3_etag_equal(const char *a, const char *b)
{
    char ca[S3_ETAG_MAX], cb[S3_ETAG_MAX];

    s3_etag_clean(a, strlen(a), ca);
    s3_etag_clean(b, strlen(b), cb);
    return ca[0] != '\0' && strcasecmp(ca, cb) == 0;
}

/* ==== retry policy and advice =========================================== */

unsigned s3_backoff_ms(int attempt, uint32_t rnd)
{
    unsigned d;

    if (attempt < 1)
        attempt = 1;
    d = attempt > 7 ? 5000u : 100u << (attempt - 1);
    if (d > 5000)
        d = 5000;
    return d / 2 + rnd % (d / 2 + 1);
}

int s3_http_retryable(long status, const char *code)
{
    static const char *const transient[] = {
        "SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable",
    };

    for (size_t i = 0; i < sizeof transient / sizeof transient[0]; i++)
        if (strcmp(code, transient[i]) == 0)
            return 1;
    if (status == 429)
        return 1;
    return status >= 500 && status != 501 && status != 505;
}

const char *s3_error_hint(long status, const char *code)
{
    static const struct {
        const char *code;
        const char *hint;
    } hints[] = {
        {"SignatureDoesNotMatch", "check the access key and secret"},
        {"InvalidAccessKeyId",
         "check the access key (AWS_ACCESS_KEY_ID or the credentials "
         "file)"},
        {"AccessDenied", "check that these credentials may use the bucket"},
        {"ExpiredToken", "the session token has expired; renew the "
                         "credentials"},
        {"InvalidToken", "check the session token (AWS_SESSION_TOKEN)"},
        {"RequestTimeTooSkewed", "this machine's clock is wrong; fix it "
                                 "(NTP)"},
        {"NoSuchBucket", "create the bucket, or check the bucket name in "
                         "the s3:// URL"},
        {"PermanentRedirect", "the bucket is in another region or behind "
                              "another endpoint; check AWS_REGION and "
                              "--s3-endpoint"},
        {"AuthorizationHeaderMalformed", "check the region (AWS_REGION)"},
        {"SlowDown", "the object store is throttling; try again later"},
        {"BadDigest", "the body was damaged on the way; try again"},
        {"EntityTooSmall", "the part size is below the store's minimum"},
        {"NoSuchUpload", "the multipart upload was aborted or expired"},
        {"QuotaExceeded", "the account's storage quota is used up"},
    };

    for (size_t i = 0; i < sizeof hints / sizeof hints[0]; i++)
        if (strcmp(code, hints[i].code) == 0)
            return hints[i].hint;
    if (status == 403)
        return "check the credentials and their rights on the bucket";
    if (status == 429 || status == 503)
        return "the object store is overloaded; try again later";
    if (status >= 500)
        return "the object store is failing; try again later, or look at "
               "its logs";
    if (status == 301 || status == 307)
        return "the store redirects elsewhere; check --s3-endpoint and "
               "AWS_REGION";
    return "";
}
