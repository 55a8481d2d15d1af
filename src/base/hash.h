/*
 * hash.h - the one 64-bit hash Tidemark uses (XXH3 from Debian's libxxhash):
 * partition-key prefixes in the key encoding, log and backup checksums.
 * Changing it changes the on-disk formats.
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

#endif
