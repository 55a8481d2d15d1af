/*
 * tls.c - read and check the HTTPS certificate and key; see tls.h.
 *
 * Checks, in order, each with its own message: the file can be read and
 * is at most 1 MiB; the certificate file holds a PEM certificate; the key
 * file holds a PEM private key that is not encrypted (libmicrohttpd gets no
 * passphrase); the key matches the certificate.  An expired certificate is
 * not refused (clients decide), but main.c logs the expiry.
 */
#include "http/tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define TLS_FILE_MAX (1u << 20)

static int read_text(const char *path, const char *what, char **out,
                     struct tm_error *err)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;

    *out = NULL;
    if (f == NULL)
        return tm_error_set(err, TM_EIO, "cannot read %s %s: %s", what,
                            path, strerror(errno));
    buf = malloc(TLS_FILE_MAX + 1);
    if (buf == NULL) {
        fclose(f);
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    }
    n = fread(buf, 1, TLS_FILE_MAX + 1, f);
    if (ferror(f)) {
        int e = errno;
        fclose(f);
        free(buf);
        return tm_error_set(err, TM_EIO, "cannot read %s %s: %s", what,
                            path, strerror(e));
    }
    fclose(f);
    if (n > TLS_FILE_MAX) {
        free(buf);
        return tm_error_set(err, TM_EVALIDATION,
                            "%s %s is larger than 1 MiB: is it the right "
                            "file?",
                            what, path);
    }
    buf[n] = '\0';
    *out = buf;
    return 0;
}

/* A passphrase callback that refuses, so an encrypted key fails instead of
 * prompting on the terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag;
    *(int *)u = 1;
    return -1;
}

int tls_files_load(const char *cert_path, const char *key_path,
                   struct tls_files *out, struct tm_error *err)
{
    BIO *b = NULL;
    X509 *x = NULL;
    EVP_PKEY *k = NULL;
    int rc, asked = 0;

    memset(out, 0, sizeof *out);
    if ((rc = read_text(cert_path, "--tls-cert", &out->cert_pem, err)) ||
        (rc = read_text(key_path, "--tls-key", &out->key_pem, err)))
        goto fail;
    b = BIO_new_mem_buf(out->cert_pem, -1);
    x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (x == NULL) {
        rc = tm_error_set(err, TM_EVALIDATION,
                          "--tls-cert %s holds no PEM certificate (a "
                          "'-----BEGIN CERTIFICATE-----' block); give the "
                          "server's certificate, then any intermediates",
                          cert_path);
        goto fail;
    }
    b = BIO_new_mem_buf(out->key_pem, -1);
    k = b ? PEM_read_bio_PrivateKey(b, NULL, no_passphrase, &asked) : NULL;
    BIO_free(b);
    if (k == NULL) {
        rc = tm_error_set(err, TM_EVALIDATION,
                          asked ? "--tls-key %s is encrypted; give it "
                                  "unencrypted (openssl pkey -in KEY -out "
                                  "PLAIN) and keep it private (chmod 600)"
                                : "--tls-key %s holds no PEM private key "
                                  "(a '-----BEGIN ... PRIVATE KEY-----' "
                                  "block)",
                          key_path);
        goto fail;
    }
    if (X509_check_private_key(x, k) != 1) {
        rc = tm_error_set(err, TM_EVALIDATION,
                          "--tls-key %s does not belong to the certificate "
                          "in --tls-cert %s; give the key the certificate "
                          "was issued for",
                          key_path, cert_path);
        goto fail;
    }
    X509_NAME_oneline(X509_get_subject_name(x), out->subject,
                      sizeof out->subject);
    b = BIO_new(BIO_s_mem());
    if (b && ASN1_TIME_print(b, X509_get0_notAfter(x)) == 1) {
        int n = BIO_read(b, out->not_after, sizeof out->not_after - 1);
        out->not_after[n > 0 ? n : 0] = '\0';
    }
    BIO_free(b);
    X509_free(x);
    EVP_PKEY_free(k);
    ERR_clear_error();
    return 0;
fail:
    X509_free(x);
    EVP_PKEY_free(k);
    ERR_clear_error();
    tls_files_free(out);
    return rc;
}

void tls_files_free(struct tls_files *t)
{
    if (t == NULL)
        return;
    free(t->cert_pem);
    if (t->key_pem) {
        OPENSSL_cleanse(t->key_pem, strlen(t->key_pem));
        free(t->key_pem);
    }
    t->cert_pem = t->key_pem = NULL;
}
