/*
 * credentials.h - who may call: the access keys of `--credentials FILE`,
 * and the loopback rule for a server that has none.
 *
 * The file holds one key per line:
 *
 *     # comment
 *     AKIDEXAMPLE1      wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
 *     AKIDEXAMPLE2      another-secret    # a trailing comment
 *
 * ACCESS_KEY_ID and SECRET_ACCESS_KEY are separated by spaces or tabs.  A
 * `#` at the start of a line or after white space starts a comment (so a
 * secret may contain `#`, as long as it does not begin with one).  Blank
 * lines are ignored.  Key ids are 1 to 128 characters of
 * [A-Za-z0-9._~-]; secrets 1 to 1024 printable ASCII characters.  A key id
 * given twice is refused.
 *
 * The file must be private: a file any group or other user may read or
 * write (mode & 077) is refused, as ssh refuses a readable private key.
 *
 * Thread safety: a loaded set is read-only; any number of threads may look
 * keys up at once.
 */
#ifndef TM_AUTH_CREDENTIALS_H
#define TM_AUTH_CREDENTIALS_H

#include <stddef.h>

#include "base/err.h"

#define AUTH_KEY_ID_MAX 128
#define AUTH_SECRET_MAX 1024

struct auth_credentials;

/* Load the key file at `path` into `*out`.
 *
 * Returns 0, or TM_EIO (cannot open or read it; errno's text in `err`),
 * TM_EACCESS (readable or writable by group or others), TM_EVALIDATION
 * (a malformed line: its number and what is wrong, never the secret; no
 * key at all), TM_ENOMEM.  On failure `*out` is NULL.  The caller owns the
 * result and frees it with auth_credentials_destroy. */
int auth_credentials_load(const char *path, struct auth_credentials **out,
                          struct tm_error *err);

/* Load from memory, for tests and fuzzing: the same rules without the
 * file-mode check.  `name` names the source in messages. */
int auth_credentials_parse(const char *text, size_t len, const char *name,
                           struct auth_credentials **out,
                           struct tm_error *err);

/* Wipe the secrets and free.  NULL-safe. */
void auth_credentials_destroy(struct auth_credentials *c);

/* The secret of access key `id` (`len` bytes, not NUL-terminated), or NULL
 * if there is no such key.  The string lives as long as `c`. */
const char *auth_credentials_find(const struct auth_credentials *c,
                                  const char *id, size_t len);

/* How many keys `c` holds. */
size_t auth_credentials_count(const struct auth_credentials *c);

/* 1 if `host` (a --host value) is a loopback address: 127.0.0.0/8, ::1,
 * ::ffff:127.x.y.z, or the name "localhost"; else 0.  A server without
 * credentials serves anonymous requests only there. */
int auth_host_is_loopback(const char *host);

#endif
