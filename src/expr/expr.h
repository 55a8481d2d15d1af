/*
 * expr.h - DynamoDB's expression language: one lexer, parser, AST and
 * evaluator for ConditionExpression, FilterExpression,
 * KeyConditionExpression, ProjectionExpression and UpdateExpression, with
 * ExpressionAttributeNames (#n) and ExpressionAttributeValues (:v).
 *
 * Use, for one request:
 *   1. expr_ctx_init with the request's ExpressionAttributeNames/Values
 *      (JSON objects or NULL): values are parsed into attribute values
 *      once, with item_json's validation.
 *   2. expr_parse_* for each expression the request carries.  Each records
 *      which names and values it used.
 *   3. expr_ctx_finish: DynamoDB's "unused in expressions" errors for
 *      names/values no expression used.
 *   4. Evaluate as often as needed (per item): expr_eval_condition,
 *      expr_project, expr_update_apply.
 *
 * Every error is a TM_EVALIDATION with DynamoDB's message (for example
 * "Invalid ConditionExpression: Syntax error; token: \"=\", near: \"== :v\""
 * for "a == :v": "near" is the source text from the token before the
 * offending one to the end of the token after it),
 * "Invalid UpdateExpression: Attribute name is a reserved keyword;
 * reserved keyword: name", "Value provided in ExpressionAttributeValues
 * unused in expressions: keys: {:x}"), or TM_ESERIALIZATION for malformed
 * JSON in the maps, set in `err`.
 *
 * Memory: every tree and every result value is allocated in the arena
 * given to expr_ctx_init; results may share structure with their inputs
 * (the old item, the values), which must therefore live as long.
 *
 * Thread-safety: a context and its trees belong to one request.  Parsed
 * trees are read-only during evaluation.
 */
#ifndef TM_EXPR_H
#define TM_EXPR_H

#include <jansson.h>
#include <stddef.h>

#include "base/arena.h"
#include "base/err.h"
#include "item/item.h"
#include "storage/key.h"

struct expr_ctx;
struct expr_cond;    /* a parsed condition/filter/key condition */
struct expr_proj;    /* a parsed projection */
struct expr_update;  /* a parsed update */

/* The parameter an expression came from; used in messages
 * ("Invalid ConditionExpression: ...") and for the rules that differ
 * (functions allowed, size limits). */
enum expr_kind {
    EXPR_CONDITION,      /* ConditionExpression */
    EXPR_FILTER,         /* FilterExpression */
    EXPR_KEY_CONDITION,  /* KeyConditionExpression */
    EXPR_PROJECTION,     /* ProjectionExpression */
    EXPR_UPDATE          /* UpdateExpression */
};

/* Start a context.  `names` and `values` are the request's JSON objects
 * (or NULL when absent).  Validates them (empty maps are an error on
 * DynamoDB: "ExpressionAttributeNames must not be empty"; values must be
 * valid attribute values) and returns 0 or a TM_E* code with `err` set. */
int expr_ctx_init(struct expr_ctx **out, struct arena *a, json_t *names,
                  json_t *values, struct tm_error *err);

/* After every expression of the request is parsed: names or values that
 * no expression used are an error, as on DynamoDB. */
int expr_ctx_finish(struct expr_ctx *c, struct tm_error *err);

/* ---- parsing ----------------------------------------------------------- */

int expr_parse_condition(struct expr_ctx *c, enum expr_kind kind,
                         const char *text, size_t len,
                         struct expr_cond **out, struct tm_error *err);
int expr_parse_projection(struct expr_ctx *c, const char *text, size_t len,
                          struct expr_proj **out, struct tm_error *err);
int expr_parse_update(struct expr_ctx *c, const char *text, size_t len,
                      struct expr_update **out, struct tm_error *err);

/* ---- evaluation -------------------------------------------------------- */

/* Evaluate a condition or filter against `item` (NULL: no item, as for a
 * PutItem on a new key).  *result is 1 or 0.  Errors are rare at this
 * point (e.g. a type error DynamoDB reports at evaluation) but possible. */
int expr_eval_condition(const struct expr_cond *e, const struct av *item,
                        int *result, struct tm_error *err);

/* 1 if the condition reads the top-level attribute `name` (Query refuses
 * a FilterExpression on key attributes). */
int expr_cond_uses(const struct expr_cond *e, const char *name);

/* The projection of `item` (an AV_M) into `*out` (an AV_M), keeping the
 * nested structure of each path ("a.b[1]" gives {"a":{"M":{"b":{"L":[x]}}}}
 * with list elements compacted in index order, as DynamoDB does). */
int expr_project(const struct expr_proj *p, const struct av *item,
                 struct arena *a, struct av *out);

/* Apply an update to `old` (NULL when the item does not exist: the result
 * starts from the key attributes in `key`, an AV_M).  `*out` is the new
 * item.  DynamoDB's evaluation errors are reported in `err` (e.g. "An
 * operand in the update expression has an incorrect data type", "The
 * document path provided in the update expression is invalid for update",
 * numbers out of range or with more than 38 significant digits: note that
 * an inexact dec_add result is an error, not a rounding).  Updating a key
 * attribute is refused ("Cannot update attribute <k>. This attribute is
 * part of the key") using `ks`. */
int expr_update_apply(const struct expr_update *u, const struct av *old,
                      const struct av *key, const struct key_schema *ks,
                      struct arena *a, struct av *out, struct tm_error *err);

/* For ReturnValues UPDATED_OLD / UPDATED_NEW: the top-level-rooted paths
 * the update touched, as a projection to apply to the old or new item. */
const struct expr_proj *expr_update_paths(const struct expr_update *u);

/* ---- key conditions ----------------------------------------------------- */

enum expr_key_op {
    EXPR_KEY_NONE,   /* no sort-key condition */
    EXPR_KEY_EQ, EXPR_KEY_LT, EXPR_KEY_LE, EXPR_KEY_GT, EXPR_KEY_GE,
    EXPR_KEY_BETWEEN, EXPR_KEY_BEGINS_WITH
};

struct expr_key_range {
    const struct av *hash;      /* the partition key value */
    enum expr_key_op op;
    const struct av *lo, *hi;   /* lo for single-operand ops; both for
                                   BETWEEN */
};

/* Interpret a parsed KeyConditionExpression against a key schema, with
 * DynamoDB's rules and messages ("Query condition missed key schema
 * element: <k>", "Query key condition not supported", type mismatches
 * "One or more parameter values were invalid: Condition parameter type
 * does not match schema type", BETWEEN bounds in order, begins_with only
 * on S/B). */
int expr_key_condition(const struct expr_cond *e, const struct key_schema *ks,
                       struct expr_key_range *out, struct tm_error *err);

#endif
