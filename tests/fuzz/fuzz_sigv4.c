/*
 * fuzz_sigv4.c - libFuzzer target for request authentication (src/auth):
 * the Authorization header and presigned-query parsing, the date and
 * scope checks, canonicalisation, and the credentials-file parser.
 *
 * Input: one selector byte, then text.
 *
 *   selector even  an HTTP request in a small text form:
 *                      PATH[?QUERY]\n
 *                      Name: value\n        (any number of headers)
 *                      \n
 *                      BODY
 *                  QUERY is split on '&' and the first '=' ("flag" with no
 *                  '=' gives a NULL value) and percent-decoded, as
 *                  libmicrohttpd hands it over; a header line without ':'
 *                  is a header with an empty value.  The request is
 *                  verified against the key AKIDTEST / s3cr3t/Key+example
 *                  at 20261125T103040Z (the seeds in
 *                  tests/fuzz/corpus/fuzz_sigv4/ are requests signed at
 *                  20261125T103010Z, so the fuzzer starts from requests
 *                  that pass and from each kind of refusal); then the
 *                  canonical request is built for the request's own
 *                  SignedHeaders, if any.
 *   selector odd   the rest is a credentials file, parsed.
 *
 * A refusal is the normal outcome; a crash, leak, sanitizer report or an
 * accepted request whose error slot is set is a finding.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/credentials.h"
#include "auth/sigv4.h"

#define MAXKV 64

static struct auth_credentials *creds;

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decode in place ('+' becomes a space, as in libmicrohttpd). */
static void decode(char *s)
{
    char *o = s;

    for (; *s; s++) {
        if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
            *o++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
            s += 2;
        } else {
            *o++ = *s == '+' ? ' ' : *s;
        }
    }
    *o = '\0';
}

static void fuzz_request(char *text, size_t len)
{
    struct auth_kv q[MAXKV], h[MAXKV];
    struct auth_request r;
    struct auth_identity who;
    struct tm_error err;
    char *p = text, *end = text + len, *nl, *qs;
    const char *signed_headers = NULL;
    int rc;

    memset(&r, 0, sizeof r);
    r.method = "POST";
    r.query = q;
    r.headers = h;
    /* request line */
    nl = memchr(p, '\n', (size_t)(end - p));
    if (nl)
        *nl = '\0';
    r.path = p;
    qs = strchr(p, '?');
    if (qs) {
        *qs++ = '\0';
        while (qs && r.nquery < MAXKV) {
            char *amp = strchr(qs, '&'), *eq;
            if (amp)
                *amp++ = '\0';
            eq = strchr(qs, '=');
            if (eq)
                *eq++ = '\0';
            decode(qs);
            if (eq)
                decode(eq);
            q[r.nquery].name = qs;
            q[r.nquery].value = eq;
            if (strcmp(qs, "X-Amz-SignedHeaders") == 0 && eq)
                signed_headers = eq;
            r.nquery++;
            qs = amp;
        }
    }
    decode((char *)r.path);
    p = nl ? nl + 1 : end;
    /* headers up to an empty line */
    while (p < end && r.nheaders < MAXKV) {
        char *colon;

        nl = memchr(p, '\n', (size_t)(end - p));
        if (nl)
            *nl = '\0';
        if (*p == '\0') {
            p = nl ? nl + 1 : end;
            break;
        }
        colon = strchr(p, ':');
        h[r.nheaders].name = p;
        h[r.nheaders].value = "";
        if (colon) {
            *colon++ = '\0';
            while (*colon == ' ')
                colon++;
            h[r.nheaders].value = colon;
        }
        r.nheaders++;
        p = nl ? nl + 1 : end;
    }
    r.body = (const uint8_t *)p;
    r.body_len = (size_t)(end - p);

    tm_error_clear(&err);
    rc = auth_sigv4_verify(creds, &r, 1795602640000LL /* 10:30:40 */, &who,
                           &err);
    if (rc == 0 && err.code != 0)
        abort();
    if (rc != 0 && err.msg[0] == '\0')
        abort();
    if (signed_headers == NULL) {
        for (size_t i = 0; i < r.nheaders; i++) {
            if (strcasecmp(h[i].name, "authorization") == 0) {
                const char *s = strstr(h[i].value, "SignedHeaders=");
                if (s)
                    signed_headers = s + 14;
                break;
            }
        }
    }
    if (signed_headers) {
        struct buf b;
        char *sh = strdup(signed_headers);
        char *cut;

        if (sh == NULL)
            abort();
        cut = strpbrk(sh, ", ");
        if (cut)
            *cut = '\0';
        buf_init(&b, (size_t)1 << 20);
        (void)auth_sigv4_canonical_request(&r, sh, "UNSIGNED-PAYLOAD",
                                           r.nquery > 0, &b);
        buf_free(&b);
        free(sh);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;

    if (creds == NULL) {
        static const char keys[] = "AKIDTEST s3cr3t/Key+example\n"
                                   "OTHERKEY other\n";
        struct tm_error err;
        if (auth_credentials_parse(keys, sizeof keys - 1, "fuzz", &creds,
                                   &err) != 0)
            abort();
    }
    if (size < 1)
        return 0;
    text = malloc(size);
    if (text == NULL)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    if (data[0] & 1) {
        struct auth_credentials *c = NULL;
        struct tm_error err;
        if (auth_credentials_parse(text, size - 1, "fuzz", &c, &err) == 0) {
            if (c == NULL || auth_credentials_count(c) == 0)
                abort();
            auth_credentials_destroy(c);
        } else if (c != NULL) {
            abort();
        }
    } else {
        fuzz_request(text, strlen(text));
    }
    free(text);
    return 0;
}
