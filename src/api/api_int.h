/*
 * api_int.h - what the api module's files share: the handlers declared
 * from ops.def, request field access with DynamoDB's validation messages,
 * and the table description writer.
 */
#ifndef TM_API_INT_H
#define TM_API_INT_H

#include "api/api.h"
#include "catalog/catalog.h"
#include "item/item.h"
#include "storage/key.h"

#define OP(name, fn) int fn(struct api_req *r);
#include "api/ops.def"
#include "api/tidemark_ops.def" /* Tidemark's extensions (api_history.c) */
#undef OP

/* A new random (version 4) UUID, for TableIds. */
void api_new_uuid(char out[40]);

/* Make t (a heap copy of a source table's definition) the target of a
 * restore named `target`: a new TableId, and none of what a restore drops
 * (stream, TTL, PITR, tags, deletion protection, throughput history, an
 * earlier RestoreSummary); CREATING and `restoring`.  The caller sets the
 * RestoreSummary fields.  Returns 0 or TM_ENOMEM (t stays freeable). */
int restore_target_init(struct table *t, const char *target);

/* Inside a restore's apply(): stamp *t's creation time, create it in the
 * catalog (ResourceInUse becomes TableAlreadyExistsException, as DynamoDB
 * answers restores), and give back an arena copy for the answer in *desc.
 * On success the catalog owns the table and *t is NULL. */
int restore_target_create(struct engine_wtx *w, struct table **t,
                          struct arena *a, struct table **desc,
                          struct tm_error *err);

/* ---- validation messages ----------------------------------------------
 * DynamoDB reports shape constraint failures together:
 *   "2 validation errors detected: Value 'ab' at 'tableName' failed to
 *    satisfy constraint: Member must have length greater than or equal
 *    to 3; Value ..."
 * A handler collects them in a `struct verrs` and fails once. */
void verrs_init(struct verrs *v);
/* Add "Value <shown> at '<path>' failed to satisfy constraint: <what>".
 * `shown` is already formatted ("'ab'", "null", "5"). */
void verrs_add(struct verrs *v, const char *shown, const char *path,
               const char *what);
/* If any were collected: set r->err (ValidationException) and return
 * TM_EVALIDATION; else 0.  Frees the collector either way. */
int verrs_finish(struct verrs *v, struct api_req *r);

/* ---- request fields ----------------------------------------------------
 * Each getter checks the JSON kind: a wrong kind is a
 * SerializationException (as on DynamoDB) reported through r->err, and the
 * getter returns its negative code.  Absent fields return 0 with *out set
 * to NULL / the default. */
int req_string(struct api_req *r, json_t *obj, const char *field,
               const char **out, size_t *len);
int req_object(struct api_req *r, json_t *obj, const char *field,
               json_t **out);
int req_array(struct api_req *r, json_t *obj, const char *field,
              json_t **out);
int req_bool(struct api_req *r, json_t *obj, const char *field, int *out,
             int *present);
int req_int(struct api_req *r, json_t *obj, const char *field, int64_t *out,
            int *present);

/* Check a table name's shape (3-255 of [a-zA-Z0-9_.-]), adding to `v`
 * under `path` ("tableName"); `name` NULL means absent. */
void check_table_name(struct verrs *v, const char *name, const char *path);

/* ImportTable: the table its TableCreationParameters describe (key
 * schema, attribute definitions, billing, throughput, GSIs), validated as
 * CreateTable validates, with paths under "tableCreationParameters.".
 * ACTIVE with a new TableId; *out is the caller's (table_free).  On
 * failure r->err is set. */
int api_table_from_params(struct api_req *r, json_t *params,
                          struct table **out);

/* Point-in-time recovery's window of table t: EarliestRestorableDateTime
 * and LatestRestorableDateTime in ms (api_pitr.c). */
void api_pitr_window(struct api_req *r, const struct table *t, int64_t *lo,
                     int64_t *hi);

/* Look the table up for an item operation: copies it into the arena.
 * ResourceNotFoundException "Requested resource not found" otherwise. */
int api_table_for_items(struct api_req *r, const char *name,
                        struct table **out);

/* ---- item writes (api_item.c), shared with batches and transactions ---- */

/* One validated, encoded write: a put (item) or a delete (key only). */
struct item_write {
    struct table *t;     /* arena copy */
    struct buf key;      /* the row key */
    struct buf item;     /* the encoded item (puts) */
    size_t size;         /* the item's DynamoDB size (puts) */
    int is_delete;
    const struct av *av; /* the item (puts), for index entries */
};

/* Validate and encode a PutRequest Item / a DeleteRequest Key for table t.
 * On failure r->err is set and nothing is left to free. */
int item_write_put(struct api_req *r, struct table *t, json_t *itemj,
                   struct item_write *w);
int item_write_delete(struct api_req *r, struct table *t, json_t *keyj,
                      struct item_write *w);
void item_write_free(struct item_write *w);

/* Inside apply(): perform the write, and keep the table's secondary
 * indexes in step (scratch memory from `a`). */
int item_write_apply(struct engine_wtx *wtx, const struct item_write *w,
                     struct arena *a);

/* Parse a Key map into a row key (validating it against t's schema). */
int key_arg(struct api_req *r, const struct table *t, json_t *keyj,
            struct buf *key);

/* The projection of `obj` (ProjectionExpression with its
 * ExpressionAttributeNames, or the legacy AttributesToGet), or NULL in *out
 * for the whole item.  api_project applies it in place. */
struct expr_proj;
int api_projection(struct api_req *r, json_t *obj, struct expr_proj **out);
int api_project(struct api_req *r, const struct expr_proj *p,
                struct av *item);

/* DynamoDB's capacity units for an item of `size` bytes. */
double write_units(size_t size);
double read_units(size_t size, int consistent);

/* ---- conditional writes (api_update.c) ----------------------------------
 * One write with its ConditionExpression, UpdateExpression and
 * ReturnValues, shared by PutItem, DeleteItem, UpdateItem and the actions
 * of TransactWriteItems. */
struct expr_ctx;
struct expr_cond;
struct expr_update;

struct cwrite {
    struct item_write w;        /* the target row (and item for puts) */
    struct expr_ctx *ec;
    struct expr_cond *cond;     /* ConditionExpression, or NULL */
    struct expr_update *upd;    /* UpdateExpression, or NULL */
    struct av keymap;           /* the Key, for updates that create */
    int is_update;              /* compute the new item from old + upd */
    int check_only;             /* ConditionCheck: never writes */
    int skip_write;             /* the update adds nothing to a missing
                                   item: nothing is created */
    int rv;                     /* ReturnValues (enum rv in api_update.c) */
    int rv_fail_all_old;        /* ReturnValuesOnConditionCheckFailure */
    struct av *old, *new_item;  /* set on the writer thread */
};

/* Parse the expressions of `obj` (ConditionExpression and the maps; the
 * update text is passed in) into c. */
int cwrite_parse(struct api_req *r, json_t *obj, struct cwrite *c,
                 const char *update_text, size_t update_len);
/* Inside apply(): read the old item, check the condition
 * (TM_ECONDITION on failure, with the old item in r->err_extra when asked),
 * compute the new item for updates.  Writes nothing. */
int cwrite_prepare(struct engine_wtx *w, struct api_req *r, struct cwrite *c,
                   struct tm_error *err);
/* cwrite_prepare, then the write (unless check_only). */
int cwrite_apply(struct engine_wtx *w, struct api_req *r, struct cwrite *c,
                 struct tm_error *err);
/* Append "Attributes":{...} for ReturnValues; *wrote tells whether it did. */
int cwrite_write_return(struct api_req *r, struct cwrite *c, struct buf *o,
                        int *wrote);
/* The finish step of PutItem, DeleteItem and UpdateItem: free the write,
 * then answer {Attributes?, ConsumedCapacity?} with `units` consumed. */
int cwrite_finish(struct api_req *r, struct cwrite *c, double units);

/* TransactWriteItems' idempotency tokens (api_transact.c). */
struct txn_tokens;
struct txn_tokens *txn_tokens_create(void);
void txn_tokens_destroy(struct txn_tokens *t);

/* ---- responses ---------------------------------------------------------- */

/* Append the TableDescription object of `t` with TableStatus `status`. */
int write_table_description(struct api_req *r, const struct table *t,
                            const char *status, struct buf *out);

/* Append `"ConsumedCapacity":{...}` (with a leading comma) when the
 * request asked for it with ReturnConsumedCapacity TOTAL or INDEXES. */
int write_consumed(struct api_req *r, const char *table, double units,
                   struct buf *out);

/* Validate ReturnConsumedCapacity (INDEXES, TOTAL, NONE). */
void check_return_consumed(struct api_req *r, struct verrs *v);

/* TableName as clients may give it, a name or a table ARN
 * ("arn:aws:dynamodb:<region>:<account>:table/<name>"): the name. */
const char *api_table_name_of(const char *name_or_arn);

#endif
