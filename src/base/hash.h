/*
 * hash.h - the one 64-bit hash Tidemark uses (XXH3 from Debian's libxxhash):
 * partition-key prefixes in the key encoding, log and backup checksums.
 * Changing it changes the on-disk formats.  Also the salt that makes each
 * new log segment's and backup file's checksums its own (hash.c).
 */
#ifndef TM_HASH_H
#define TM_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <xxhash.h>

static inline uint64_t hash64(const void *p, size_t n)
{
    return XXH3_64bits(p, n);
}

/* A salt for a new file: random when the kernel can give us one, else
 * the clock, pid and a counter mixed (it need not be secret, only
 * different from file to file). */
uint64_t hash_new_salt(void);

#endif
