/*
 * credentials.c - the `--credentials FILE` key set and the loopback rule;
 * see credentials.h for the file format.
 *
 * Called by main.c at start (load, loopback check) and by sigv4.c for
 * every signed request (find).  The set is a small array searched
 * linearly: a server has a handful of keys, and the key id is not a secret
 * (it travels in clear in every Authorization header), so the search need
 * not be constant-time.  Secrets are wiped with OPENSSL_cleanse on destroy.
 */
#include "auth/credentials.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_MAX (1u << 20)

struct auth_key {
    char *id;
    size_t id_len;
    char *secret;
    size_t secret_len;
};

struct auth_credentials {
    struct auth_key *keys;
    size_t n;
    size_t cap;
};

/* ---- building the set -------------------------------------------------- */

static int add_key(struct auth_credentials *c, const char *id, size_t id_len,
                   const char *secret, size_t secret_len)
{
    struct auth_key *k;

    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        k = realloc(c->keys, cap * sizeof *k);
        if (k == NULL)
            return TM_ENOMEM;
        c->keys = k;
        c->cap = cap;
    }
    k = &c->keys[c->n];
    k->id = strndup(id, id_len);
    k->secret = strndup(secret, secret_len);
    if (k->id == NULL || k->secret == NULL) {
        free(k->id);
        if (k->secret)
            OPENSSL_cleanse(k->secret, secret_len);
        free(k->secret);
        return TM_ENOMEM;
    }
    k->id_len = id_len;
    k->secret_len = secret_len;
    c->n++;
    return 0;
}

static int is_blank(char ch) { return ch == ' ' || ch == '\t' || ch == '\r'; }

static int id_char_ok(unsigned char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
           (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' ||
           ch == '~';
}

/* Split one line (without its '\n') into at most 3 fields, dropping a
 * comment.  Returns the number of fields found (3 means "too many"). */
static int split_line(const char *p, const char *end, const char *f[3],
                      size_t flen[3])
{
    int n = 0;

    while (p < end) {
        const char *s;

        while (p < end && is_blank(*p))
            p++;
        if (p == end || *p == '#')
            break;
        s = p;
        while (p < end && !is_blank(*p))
            p++;
        if (n == 3)
            return 3;
        f[n] = s;
        flen[n] = (size_t)(p - s);
        n++;
    }
    return n;
}

static int parse_line(struct auth_credentials *c, const char *name,
                      unsigned lineno, const char *p, const char *end,
                      struct tm_error *err)
{
    const char *f[3];
    size_t flen[3];
    int n = split_line(p, end, f, flen);

    if (n == 0)
        return 0;
    if (n != 2)
        return tm_error_set(err, TM_EVALIDATION,
                            "%s line %u: expected ACCESS_KEY_ID "
                            "SECRET_ACCESS_KEY separated by white space, "
                            "found %s",
                            name, lineno,
                            n == 1 ? "one field" : "more than two fields");
    if (flen[0] > AUTH_KEY_ID_MAX)
        return tm_error_set(err, TM_EVALIDATION,
                            "%s line %u: the access key id is longer than %d "
                            "characters",
                            name, lineno, AUTH_KEY_ID_MAX);
    for (size_t i = 0; i < flen[0]; i++)
        if (!id_char_ok((unsigned char)f[0][i]))
            return tm_error_set(err, TM_EVALIDATION,
                                "%s line %u: access key id '%.*s' may "
                                "contain only letters, digits and - . _ ~",
                                name, lineno, (int)flen[0], f[0]);
    if (flen[1] > AUTH_SECRET_MAX)
        return tm_error_set(err, TM_EVALIDATION,
                            "%s line %u: the secret access key is longer "
                            "than %d characters",
                            name, lineno, AUTH_SECRET_MAX);
    for (size_t i = 0; i < flen[1]; i++) {
        unsigned char ch = (unsigned char)f[1][i];
        if (ch < 0x21 || ch > 0x7e)
            return tm_error_set(err, TM_EVALIDATION,
                                "%s line %u: the secret access key may "
                                "contain only printable ASCII characters",
                                name, lineno);
    }
    if (auth_credentials_find(c, f[0], flen[0]) != NULL)
        return tm_error_set(err, TM_EVALIDATION,
                            "%s line %u: access key id '%.*s' is given "
                            "twice",
                            name, lineno, (int)flen[0], f[0]);
    if (add_key(c, f[0], flen[0], f[1], flen[1]) != 0)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    return 0;
}

int auth_credentials_parse(const char *text, size_t len, const char *name,
                           struct auth_credentials **out,
                           struct tm_error *err)
{
    struct auth_credentials *c;
    const char *p = text, *end = text + len;
    unsigned lineno = 0;
    int rc;

    *out = NULL;
    c = calloc(1, sizeof *c);
    if (c == NULL)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;

        lineno++;
        if (memchr(p, '\0', (size_t)(eol - p)) != NULL) {
            rc = tm_error_set(err, TM_EVALIDATION,
                              "%s line %u: contains a NUL byte", name,
                              lineno);
            goto fail;
        }
        rc = parse_line(c, name, lineno, p, eol, err);
        if (rc)
            goto fail;
        p = nl ? nl + 1 : end;
    }
    if (c->n == 0) {
        rc = tm_error_set(err, TM_EVALIDATION,
                          "%s holds no key: write one line "
                          "'ACCESS_KEY_ID SECRET_ACCESS_KEY'",
                          name);
        goto fail;
    }
    *out = c;
    return 0;
fail:
    auth_credentials_destroy(c);
    return rc;
}

int auth_credentials_load(const char *path, struct auth_credentials **out,
                          struct tm_error *err)
{
    struct stat st;
    char *text = NULL;
    size_t len = 0;
    int fd, rc;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tm_error_set(err, TM_EIO, "cannot open credentials file %s: %s",
                            path, strerror(errno));
    if (fstat(fd, &st) != 0) {
        rc = tm_error_set(err, TM_EIO, "cannot stat credentials file %s: %s",
                          path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = tm_error_set(err, TM_EIO,
                          "credentials file %s is not a regular file", path);
        goto out;
    }
    if (st.st_mode & 077) {
        rc = tm_error_set(err, TM_EACCESS,
                          "credentials file %s may be read or written by "
                          "group or others (mode %04o); it holds secret keys: "
                          "run 'chmod 600 %s'",
                          path, (unsigned)(st.st_mode & 07777), path);
        goto out;
    }
    if (st.st_size > (off_t)FILE_MAX) {
        rc = tm_error_set(err, TM_EVALIDATION,
                          "credentials file %s is larger than %u bytes", path,
                          FILE_MAX);
        goto out;
    }
    text = malloc((size_t)st.st_size + 1);
    if (text == NULL) {
        rc = tm_error_set(err, TM_ENOMEM, "out of memory");
        goto out;
    }
    while (len < (size_t)st.st_size) {
        ssize_t n = read(fd, text + len, (size_t)st.st_size - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = tm_error_set(err, TM_EIO,
                              "cannot read credentials file %s: %s", path,
                              strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    rc = auth_credentials_parse(text, len, path, out, err);
out:
    if (text) {
        OPENSSL_cleanse(text, len);
        free(text);
    }
    close(fd);
    return rc;
}

void auth_credentials_destroy(struct auth_credentials *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++) {
        OPENSSL_cleanse(c->keys[i].secret, c->keys[i].secret_len);
        free(c->keys[i].secret);
        free(c->keys[i].id);
    }
    free(c->keys);
    free(c);
}

const char *auth_credentials_find(const struct auth_credentials *c,
                                  const char *id, size_t len)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->keys[i].id_len == len && memcmp(c->keys[i].id, id, len) == 0)
            return c->keys[i].secret;
    return NULL;
}

size_t auth_credentials_count(const struct auth_credentials *c)
{
    return c->n;
}

/* ---- the loopback rule ------------------------------------------------- */

int auth_host_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;

    if (strcmp(host, "localhost") == 0)
        return 1;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1) {
        static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0,
                                             0, 0, 0, 0, 0xff, 0xff};
        if (IN6_IS_ADDR_LOOPBACK(&a6))
            return 1;
        return memcmp(a6.s6_addr, v4mapped, 12) == 0 && a6.s6_addr[12] == 127;
    }
    return 0;
}
