/*
 * err.h - Tidemark's one error enum and the request error slot.
 *
 * Every fallible function in Tidemark returns an int: 0 (TM_OK) on success,
 * a negative TM_E* code on failure.  The codes are defined once, in
 * TM_ERR_MAP below, together with the DynamoDB error they become on the
 * wire (the `__type` namespace and name) and the HTTP status.  The
 * human-readable message travels beside the code in a `struct tm_error`
 * (SQLite's sqlite3ErrorWithMsg idea): the function that detects the
 * problem writes the message, everybody above it only passes the code up.
 *
 * Adding an error: add one XX() line.  Nothing else needs to change.
 */
#ifndef TM_ERR_H
#define TM_ERR_H

#include <stddef.h>

#define TM_NS_DDB "com.amazonaws.dynamodb.v20120810#"
#define TM_NS_COREVAL "com.amazon.coral.validate#"
#define TM_NS_CORESVC "com.amazon.coral.service#"

/* XX(enum suffix, __type namespace, __type name, HTTP status)
 *
 * TM_ENOOBJECT is internal: an object-store (S3) object that does not
 * exist.  Like TM_EIO it reaches a DynamoDB client, if ever, as an
 * InternalServerError. */
#define TM_ERR_MAP(XX)                                                        \
    XX(EVALIDATION, TM_NS_COREVAL, "ValidationException", 400)               \
    XX(ESERIALIZATION, TM_NS_CORESVC, "SerializationException", 400)             \
    XX(EUNKNOWNOP, TM_NS_CORESVC, "UnknownOperationException", 400)          \
    XX(ENOTFOUND, TM_NS_DDB, "ResourceNotFoundException", 400)               \
    XX(EINUSE, TM_NS_DDB, "ResourceInUseException", 400)                     \
    XX(ECONDITION, TM_NS_DDB, "ConditionalCheckFailedException", 400)        \
    XX(ELIMIT, TM_NS_DDB, "LimitExceededException", 400)                     \
    XX(ETHROTTLE, TM_NS_DDB, "ThrottlingException", 400)                     \
    XX(ETOOLARGE, TM_NS_DDB, "RequestEntityTooLarge", 413)                   \
    XX(ETXCANCELED, TM_NS_DDB, "TransactionCanceledException", 400)          \
    XX(ETXINPROGRESS, TM_NS_DDB, "TransactionInProgressException", 400)      \
    XX(EIDEMPOTENT, TM_NS_DDB, "IdempotentParameterMismatchException", 400)  \
    XX(ETABLENOTFOUND, TM_NS_DDB, "TableNotFoundException", 400)             \
    XX(ETABLEEXISTS, TM_NS_DDB, "TableAlreadyExistsException", 400)          \
    XX(ETABLEINUSE, TM_NS_DDB, "TableInUseException", 400)                   \
    XX(EBACKUPNOTFOUND, TM_NS_DDB, "BackupNotFoundException", 400)           \
    XX(EBACKUPINUSE, TM_NS_DDB, "BackupInUseException", 400)                 \
    XX(EPITRUNAVAILABLE, TM_NS_DDB,                                          \
       "PointInTimeRecoveryUnavailableException", 400)                       \
    XX(EBADRESTORETIME, TM_NS_DDB, "InvalidRestoreTimeException", 400)       \
    XX(EACCESS, TM_NS_CORESVC, "AccessDeniedException", 400)                 \
    XX(EEXPIREDITER, TM_NS_DDB, "ExpiredIteratorException", 400)             \
    XX(ETRIMMED, TM_NS_DDB, "TrimmedDataAccessException", 400)               \
    XX(EINTERNAL, TM_NS_DDB, "InternalServerError", 500)                     \
    XX(ENOMEM, TM_NS_DDB, "InternalServerError", 500)                        \
    XX(EIO, TM_NS_DDB, "InternalServerError", 500)                           \
    XX(ECORRUPT, TM_NS_DDB, "InternalServerError", 500)                      \
    XX(EUNAVAILABLE, TM_NS_DDB, "InternalServerError", 500)                  \
    XX(EMISSINGAUTH, TM_NS_CORESVC, "MissingAuthenticationTokenException",   \
       400)                                                                  \
    XX(EUNKNOWNKEY, TM_NS_CORESVC, "UnrecognizedClientException", 400)       \
    XX(EBADSIGNATURE, TM_NS_CORESVC, "InvalidSignatureException", 400)       \
    XX(EINCOMPLETESIG, TM_NS_CORESVC, "IncompleteSignatureException", 400)   \
    XX(ENOOBJECT, TM_NS_DDB, "InternalServerError", 500)                    \
    XX(EEXPORTNOTFOUND, TM_NS_DDB, "ExportNotFoundException", 400)           \
    XX(EEXPORTCONFLICT, TM_NS_DDB, "ExportConflictException", 400)           \
    XX(EBADEXPORTTIME, TM_NS_DDB, "InvalidExportTimeException", 400)         \
    XX(EIMPORTNOTFOUND, TM_NS_DDB, "ImportNotFoundException", 400)           \
    XX(EIMPORTCONFLICT, TM_NS_DDB, "ImportConflictException", 400)

enum tm_err {
    TM__ERR_BASE = -512,
#define TM__XX(name, ns, type, status) TM_##name,
    TM_ERR_MAP(TM__XX)
#undef TM__XX
    TM__ERR_END,
    TM_OK = 0
};

/* Room for the longest message DynamoDB sends (a key echo is at most a few
 * hundred bytes after truncation). */
#define TM_ERROR_MSG_MAX 1024

/* The error slot: one per request, one per long-running task. */
struct tm_error {
    int code;                    /* 0 or a TM_E* code */
    char msg[TM_ERROR_MSG_MAX];  /* NUL-terminated, "" when code is 0 */
};

/* Record `code` and a printf-style message in `e` (which may be NULL) and
 * return `code`, so that a failure site reads
 *     return tm_error_set(err, TM_EVALIDATION, "... %s", x);
 * A second call overwrites the first. */
int tm_error_set(struct tm_error *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reset `e` to "no error". */
void tm_error_clear(struct tm_error *e);

/* The DynamoDB error name for `code` ("ValidationException"), the full
 * `__type` ("com.amazon.coral.validate#ValidationException") and the HTTP
 * status.  Unknown or non-negative codes map to InternalServerError/500. */
const char *tm_err_name(int code);
const char *tm_err_type(int code);
int tm_err_status(int code);

/* A short internal description of `code` for logs ("TM_EIO"). */
const char *tm_strerror(int code);

#endif
