/*
 * crc32.h - CRC-32 (IEEE 802.3, the zlib polynomial), for the
 * `x-amz-crc32` response header that the AWS SDKs verify.
 */
#ifndef TM_CRC32_H
#define TM_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* CRC of `n` bytes continuing from `crc` (0 to start). */
uint32_t crc32_update(uint32_t crc, const void *p, size_t n);

/* The same CRC one byte at a time: the reference the unit test checks
 * crc32_update against. */
uint32_t crc32_update_bytewise(uint32_t crc, const void *p, size_t n);

#endif
