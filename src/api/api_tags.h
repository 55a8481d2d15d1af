/*
 * api_tags.h - table tags shared with other handlers: CreateTable's `Tags`
 * member is parsed and validated here, with the rules and messages of
 * TagResource (api_tags.c).
 */
#ifndef TM_API_TAGS_H
#define TM_API_TAGS_H

#include <jansson.h>
#include <stddef.h>

#include "api/api.h"
#include "catalog/catalog.h"

/* At most this many tags per table (DynamoDB's limit). */
#define API_TAGS_MAX 50

/* Parse and validate a `Tags` list ([{"Key":..,"Value":..}, ...]) for a
 * table being created.
 *
 *   r     in   the request: r->err receives the error
 *   tags  in   the JSON list, or NULL / JSON null (no tags: *out NULL,
 *              *n 0; an empty list is accepted too, as CreateTable does)
 *   out   out  the tags, sorted by key (byte order), on the heap: an array
 *              of *n `struct tag` whose key and value strings are each
 *              malloc'ed, so that table_free() releases them.  The caller
 *              owns them (typically it stores them in t->tags, t->ntags).
 *   n     out  their number
 *
 * Returns 0, or a TM_E* code with r->err set and nothing allocated:
 * TM_ESERIALIZATION for JSON of the wrong kind, TM_EVALIDATION with
 * DynamoDB's messages ("The Tag Key provided is invalid, Key: x", "Tag Key
 * cannot be prefixed with aws:, Key: aws:x", "Duplicate Tag Keys provided
 * as input: Duplicate Tag Key found x", "Number of Tags exceed the current
 * limit for the provided ResourceArn", ...), TM_ENOMEM. */
int api_tags_parse(struct api_req *r, json_t *tags, struct tag **out,
                   size_t *n);

#endif
