/*
 * tls.h - the certificate and key for HTTPS (--tls-cert, --tls-key).
 *
 * libmicrohttpd serves TLS through GnuTLS from PEM text held in memory;
 * its own error for a bad file is a bare "failed to start".  So the files
 * are read and checked here first, with OpenSSL's libcrypto (already
 * linked for SigV4): the certificate chain parses, the key parses, and the
 * key belongs to the first certificate.  Each failure names the file and
 * what to do.  The PEM text is kept for libmicrohttpd, which copies
 * nothing: it must outlive the server.
 */
#ifndef TM_TLS_H
#define TM_TLS_H

#include "base/err.h"

struct tls_files {
    char *cert_pem; /* NUL-terminated PEM text of the certificate chain */
    char *key_pem;  /* NUL-terminated PEM text of the private key */
    char subject[256]; /* the first certificate's subject, for the log */
    char not_after[64]; /* its expiry, for the log */
};

/* Read and check both files.  0, or TM_EVALIDATION / TM_EIO with the
 * reason in `err`; on failure nothing is left allocated. */
int tls_files_load(const char *cert_path, const char *key_path,
                   struct tls_files *out, struct tm_error *err);

/* Free and wipe the key text.  NULL-safe. */
void tls_files_free(struct tls_files *t);

#endif
