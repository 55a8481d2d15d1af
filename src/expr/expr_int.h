/*
 * expr_int.h - what the files of src/expr/ share: tokens, document paths,
 * the AST of conditions and update values, the parsed projection trie and
 * the request context.  Nothing here is part of the module's interface
 * (that is expr.h).
 *
 * Files:
 *   lexer.c     text -> tokens (expr_lex)
 *   reserved.c  DynamoDB's reserved words (expr_is_reserved)
 *   parser.c    tokens -> AST, with every parse-time DynamoDB check; the
 *               context (names/values maps, "unused" bookkeeping)
 *   eval.c      condition evaluation, projection, key-condition
 *               interpretation, shared path lookup
 *   update.c    applying a parsed update to an item
 *
 * Memory: everything lives in the context's arena.  Trees are read-only
 * after parsing.
 */
#ifndef TM_EXPR_INT_H
#define TM_EXPR_INT_H

#include <stddef.h>
#include <stdint.h>

#include "expr/expr.h"

/* ---- limits ------------------------------------------------------------- */

#define EXPR_MAX_BYTES 4096    /* DDB: expression strings are at most 4 KB */
#define EXPR_MAX_IN 100        /* DDB: IN takes at most 100 operands */
#define EXPR_MAX_NEST 200      /* our recursion guard for parentheses/NOT */

/* ---- tokens (lexer.c) ---------------------------------------------------- */

enum expr_tok_kind {
    ET_EOF,
    ET_NAME,   /* letter then letters, digits, '_' (also keywords, functions) */
    ET_HASH,   /* #placeholder */
    ET_COLON,  /* :placeholder */
    ET_NUM,    /* decimal digits (list indexes only) */
    ET_EQ, ET_NE, ET_LT, ET_LE, ET_GT, ET_GE,
    ET_LP, ET_RP, ET_LB, ET_RB, ET_COMMA, ET_DOT, ET_PLUS, ET_MINUS,
    ET_BAD     /* any other character (one UTF-8 sequence) */
};

struct expr_tok {
    uint8_t kind;      /* enum expr_tok_kind */
    uint32_t off, len; /* byte range in the source; EOF: (srclen, 0) */
};

/* Split `s` (n bytes) into tokens, the last being ET_EOF.  Whitespace is
 * space, tab, CR, LF.  Returns 0 or TM_ENOMEM. */
int expr_lex(struct arena *a, const char *s, size_t n, struct expr_tok **out,
             size_t *nout);

/* 1 if token `t` of `src` is the keyword `kw` (upper case), ignoring case. */
int expr_tok_is(const char *src, const struct expr_tok *t, const char *kw);

/* ---- reserved words (reserved.c) ----------------------------------------- */

/* 1 if `s` (n bytes) is one of DynamoDB's reserved words, ignoring case. */
int expr_is_reserved(const char *s, size_t n);

/* ---- document paths ------------------------------------------------------ */

/* One step of a path: a map member (index < 0) or a list index. */
struct expr_pel {
    const char *name; /* resolved attribute name (not NUL-terminated) */
    uint32_t len;
    int32_t index;    /* -1 for a name */
};

struct expr_path {
    struct expr_pel *el;
    uint32_t n;
};

/* The value at `p` in `item` (an AV_M), or NULL when absent (or when a step
 * meets the wrong type). */
const struct av *expr_path_get(const struct av *item,
                               const struct expr_path *p);

/* ---- AST ----------------------------------------------------------------- */

enum expr_node_kind {
    EN_OR, EN_AND, EN_NOT,       /* args[0..1] / args[0] */
    EN_CMP,                      /* op: enum expr_cmp; args[0], args[1] */
    EN_BETWEEN,                  /* args[0] BETWEEN args[1] AND args[2] */
    EN_IN,                       /* args[0] IN (args[1..]) */
    EN_FUNC,                     /* op: enum expr_func; args */
    EN_PATH,                     /* path */
    EN_VALUE,                    /* val (an ExpressionAttributeValue) */
    EN_PLUS, EN_MINUS            /* update values: args[0] +/- args[1] */
};

enum expr_cmp { EC_EQ, EC_NE, EC_LT, EC_LE, EC_GT, EC_GE };

enum expr_func {
    EF_UNKNOWN,
    EF_ATTRIBUTE_EXISTS, EF_ATTRIBUTE_NOT_EXISTS, EF_ATTRIBUTE_TYPE,
    EF_BEGINS_WITH, EF_CONTAINS, EF_SIZE,  /* conditions */
    EF_IF_NOT_EXISTS, EF_LIST_APPEND      /* update values */
};

struct expr_node {
    uint8_t kind;       /* enum expr_node_kind */
    uint8_t op;         /* enum expr_cmp / enum expr_func */
    uint8_t parens;     /* parenthesis pairs written directly around it */
    uint8_t atype;      /* EF_ATTRIBUTE_TYPE: the enum av_type to test */
    uint32_t nargs;
    uint32_t tok;       /* first token (for messages) */
    struct expr_node **args;
    struct expr_path path;   /* EN_PATH */
    const struct av *val;    /* EN_VALUE */
};

/* ---- projections ---------------------------------------------------------- */

/* A trie of the projected paths: a node either ends a path (`leaf`: take
 * the whole value) or has children that are all names or all indexes
 * (parse-time overlap/conflict checks guarantee it), indexes sorted. */
struct expr_ptrie {
    struct expr_pel el;
    int leaf;
    size_t n, cap;
    struct expr_ptrie *kids;
};

struct expr_proj {
    struct expr_ptrie root;  /* root.el unused */
};

/* ---- updates -------------------------------------------------------------- */

enum expr_action { EA_SET, EA_REMOVE, EA_ADD, EA_DELETE };

struct expr_act {
    uint8_t kind;            /* enum expr_action */
    struct expr_path path;
    struct expr_node *val;   /* SET: the value; ADD/DELETE: an EN_VALUE */
};

struct expr_update {
    struct expr_act *acts;   /* in the order written */
    size_t n;
    struct expr_proj paths;  /* every action's path, for UPDATED_* */
};

/* ---- conditions ----------------------------------------------------------- */

struct expr_cond {
    enum expr_kind kind;
    struct expr_node *root;
};

/* ---- context -------------------------------------------------------------- */

struct expr_name {
    const char *key;   /* "#n" */
    size_t klen;
    const char *name;  /* what it stands for */
    size_t nlen;
    int used;
};

struct expr_value {
    const char *key;   /* ":v" */
    size_t klen;
    struct av val;
    int used;
};

struct expr_ctx {
    struct arena *a;
    struct expr_name *names;
    size_t nnames;
    struct expr_value *values;
    size_t nvalues;
};

/* Compare two path steps: names by bytes, indexes numerically; a name sorts
 * before an index.  Returns <0, 0, >0. */
int expr_pel_cmp(const struct expr_pel *x, const struct expr_pel *y);

/* Add `p` to a projection trie (no overlap checks: the parser did them).
 * Returns 0 or TM_ENOMEM. */
int expr_ptrie_add(struct arena *a, struct expr_ptrie *root,
                   const struct expr_path *p);

#endif
