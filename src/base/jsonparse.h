/*
 * jsonparse.h - a fast path in front of jansson's json_loadb for request
 * bodies: the same jansson values, built by a lexer that scans strings
 * 16 bytes at a time instead of jansson's byte-at-a-time stream.
 *
 * Why: callgrind puts a third of a PutItem's instructions outside
 * libmicrohttpd's pool memset in jansson's lexer (bench/RESULTS.md).
 *
 * The contract: json_parse_fast either declines (returns 1, makes
 * nothing) or returns the tree json_loadb(p, n, 0) would return, equal by
 * json_equal, with members in document order (a repeated key keeps the
 * last value, as jansson does).  It declines whatever it is not sure to
 * parse as jansson does, so that jansson decides, and words, every error:
 *   - anything that is not valid JSON, or whose top level is not an
 *     object or an array, or with bytes after it other than whitespace;
 *   - numbers with a fraction or an exponent, and integers outside
 *     json_int_t (jansson calls them reals or refuses them);
 *   - \u escapes (surrogate pairs, NUL), strings with invalid UTF-8 or
 *     raw control characters;
 *   - nesting deeper than JSONPARSE_MAX_DEPTH.
 * So a request body answers exactly as before, only faster in the common
 * case.  tests/unit/test_jsonparse.c and the fuzz_jsonparse target hold it
 * to this against jansson itself.
 *
 * Values are made with jansson's constructors, so they come from wherever
 * jansson's allocator puts them (src/base/jsonmem.h).
 */
#ifndef TM_JSONPARSE_H
#define TM_JSONPARSE_H

#include <jansson.h>
#include <stddef.h>

#define JSONPARSE_MAX_DEPTH 64

/* 0 and *out (a new reference), or 1: declined, ask json_loadb; or -1:
 * out of memory (also worth a json_loadb, which will say so). */
int json_parse_fast(const char *p, size_t n, json_t **out);

#endif
