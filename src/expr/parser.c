/*
 * parser.c - the request context and a recursive-descent parser for every
 * expression kind, with DynamoDB's parse-time checks and messages.
 *
 * Grammar (keywords case-insensitive, function names case-sensitive):
 *
 *   condition := or
 *   or        := and { OR and }
 *   and       := not { AND not }
 *   not       := NOT not | cmp
 *   cmp       := atom [ comparator atom
 *                     | BETWEEN atom AND atom
 *                     | IN '(' atom { ',' atom } ')' ]
 *   atom      := '(' or ')' | name '(' atom { ',' atom } ')'
 *              | path | :value
 *   path      := (name | #name) { '.' (name | #name) | '[' digits ']' }
 *
 *   update    := section { section }
 *   section   := SET  path '=' setval { ',' path '=' setval }
 *              | REMOVE path { ',' path }
 *              | ADD path :value { ',' path :value }
 *              | DELETE path :value { ',' path :value }
 *   setval    := '(' operand [ ('+'|'-') operand ] ')' [ ('+'|'-') operand ]
 *              | operand [ ('+'|'-') operand ]
 *   operand   := '(' operand ')' | name '(' operand { ',' operand } ')'
 *              | path | :value
 *
 *   projection := path { ',' path }
 *
 * So comparators, BETWEEN and IN bind tighter than NOT, NOT tighter than
 * AND, AND tighter than OR.  Whether an atom is a condition or an operand
 * is decided after it is read: a bare operand where a condition must stand
 * is a syntax error at the token that follows it, as on DynamoDB.
 *
 * Errors come in two tiers, as on DynamoDB (and as dynalite models them):
 *   1. syntax errors stop the parse at once:
 *        Syntax error; token: "<tok>", near: "<prev tok next>"
 *      where "near" is the source text from the start of the token before
 *      the offending one to the end of the one after it (at the end of the
 *      input the offending token is "<EOF>");
 *   2. everything else (reserved words, undefined placeholders, unknown or
 *      misused functions, operand counts and types, overlapping paths...)
 *      is noted in a slot per class while parsing continues; at the end
 *      the first note of the highest-priority class wins.  The class order
 *      differs per expression kind (see the *_order arrays).
 * Every message is prefixed "Invalid <Parameter>: ", except the key
 * condition shape errors, which DynamoDB sends bare.
 *
 * Parsing allocates in the context's arena only; nothing is freed.
 */
#include "expr/expr_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/base64.h"
#include "base/buf.h"

/* ---- classes of deferred errors ------------------------------------------ */

enum {
    SE_PARENS,        /* The expression has redundant parentheses; */
    SE_UNKNOWN_FUNC,  /* Invalid function name; function: f */
    SE_MISUSED_FUNC,  /* The function is not allowed to be used this way */
    SE_RESERVED,      /* Attribute name is a reserved keyword */
    SE_SECTION,       /* The "SET" section can only be used once */
    SE_NAMEVAL,       /* first undefined name or value (conditions) */
    SE_ATTRNAME,      /* first undefined #name */
    SE_ATTRVAL,       /* first undefined :value */
    SE_OVERLAP,       /* Two document paths overlap */
    SE_CONFLICT,      /* Two document paths conflict */
    SE_ADDDEL,        /* ADD/DELETE operand type */
    SE_OPERANDS,      /* Incorrect number of operands */
    SE_DISTINCT,      /* The first operand must be distinct */
    SE_FUNCTION,      /* operand types, document path required, bounds */
    SE_CONDITION,     /* conditions: the first of the four above, settled
                         when the first primitive condition with one ends */
    SE_N
};

#define END_ORDER (-1)

static const int cond_order[] = {
    SE_PARENS, SE_UNKNOWN_FUNC, SE_MISUSED_FUNC, SE_RESERVED, SE_CONDITION,
    SE_NAMEVAL, SE_OPERANDS, SE_DISTINCT, SE_FUNCTION, END_ORDER
};
static const int update_order[] = {
    SE_RESERVED, SE_UNKNOWN_FUNC, SE_SECTION, SE_ATTRNAME, SE_ATTRVAL,
    SE_OVERLAP, SE_CONFLICT, SE_ADDDEL, SE_FUNCTION, END_ORDER
};
static const int proj_order[] = {
    SE_RESERVED, SE_ATTRNAME, SE_OVERLAP, SE_CONFLICT, END_ORDER
};

/* Set by a syntax error to unwind the recursion. */
#define SYNTAX_FAILED 1

struct parser {
    struct expr_ctx *c;
    struct arena *a;
    enum expr_kind kind;
    const char *param;        /* "ConditionExpression", ... */
    const char *src;
    size_t srclen;
    struct expr_tok *t;
    size_t nt;
    size_t i;                 /* current token */
    int depth;                /* nesting guard */
    int failed;               /* a syntax error or ENOMEM happened */
    int rc;                   /* its code */
    struct tm_error *err;
    char *note[SE_N];         /* first message of each class */
    /* updates: the action paths seen so far, for overlap checks */
    struct expr_path *paths;
    size_t npaths, cappaths;
    unsigned sections;        /* bit per EA_* section already seen */
};

static const char *param_name(enum expr_kind k)
{
    switch (k) {
    case EXPR_CONDITION: return "ConditionExpression";
    case EXPR_FILTER: return "FilterExpression";
    case EXPR_KEY_CONDITION: return "KeyConditionExpression";
    case EXPR_PROJECTION: return "ProjectionExpression";
    case EXPR_UPDATE: return "UpdateExpression";
    }
    return "Expression";
}

/* ---- error plumbing ------------------------------------------------------- */

static void nomem(struct parser *p)
{
    if (!p->failed) {
        p->failed = SYNTAX_FAILED;
        p->rc = tm_error_set(p->err, TM_ENOMEM, "out of memory");
    }
}

static void syntax_error(struct parser *p)
{
    const struct expr_tok *t = &p->t[p->i];
    size_t from, to;

    if (p->failed)
        return;
    from = p->i > 0 ? p->t[p->i - 1].off : t->off;
    to = p->i + 1 < p->nt ? p->t[p->i + 1].off + p->t[p->i + 1].len
                          : t->off + t->len;
    if (t->kind == ET_EOF) {
        to = p->srclen;
        p->rc = tm_error_set(p->err, TM_EVALIDATION,
                             "Invalid %s: Syntax error; token: \"<EOF>\", "
                             "near: \"%.*s\"", p->param, (int)(to - from),
                             p->src + from);
    } else {
        p->rc = tm_error_set(p->err, TM_EVALIDATION,
                             "Invalid %s: Syntax error; token: \"%.*s\", "
                             "near: \"%.*s\"", p->param, (int)t->len,
                             p->src + t->off, (int)(to - from), p->src + from);
    }
    p->failed = SYNTAX_FAILED;
}

/* Note a deferred error of class `cls` unless one is already noted. */
static void __attribute__((format(printf, 3, 4)))
note(struct parser *p, int cls, const char *fmt, ...)
{
    char msg[TM_ERROR_MSG_MAX];
    va_list ap;

    if (p->note[cls] != NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    p->note[cls] = arena_strdup(p->a, msg);
    if (p->note[cls] == NULL)
        nomem(p);
}

/* The first noted error in `order`, as the return code, or 0. */
static int deferred(struct parser *p, const int *order)
{
    size_t k;

    for (k = 0; order[k] != END_ORDER; k++) {
        if (p->note[order[k]] != NULL)
            return tm_error_set(p->err, TM_EVALIDATION, "Invalid %s: %s",
                                p->param, p->note[order[k]]);
    }
    return 0;
}

/* At the end of each primitive condition (comparison, BETWEEN, IN,
 * function): the first condition with a placeholder, operand-count,
 * distinctness or function error decides which of them is reported, as
 * dynalite models DynamoDB ("a = a AND :undefined > b" reports the
 * distinctness error). */
static void settle(struct parser *p)
{
    static const int group[] = {SE_NAMEVAL, SE_OPERANDS, SE_DISTINCT,
                                SE_FUNCTION};
    size_t k;

    if (p->note[SE_CONDITION] != NULL)
        return;
    for (k = 0; k < 4; k++) {
        if (p->note[group[k]] != NULL) {
            p->note[SE_CONDITION] = p->note[group[k]];
            return;
        }
    }
}

/* ---- tokens ---------------------------------------------------------------- */

static const struct expr_tok *cur(struct parser *p)
{
    return &p->t[p->i];
}

static int at(struct parser *p, int kind)
{
    return p->t[p->i].kind == kind;
}

static int at_kw(struct parser *p, const char *kw)
{
    return expr_tok_is(p->src, &p->t[p->i], kw);
}

static void advance(struct parser *p)
{
    if (p->i + 1 < p->nt)
        p->i++;
}

/* Consume a token of `kind` or fail with a syntax error there. */
static int expect(struct parser *p, int kind)
{
    if (!at(p, kind)) {
        syntax_error(p);
        return -1;
    }
    advance(p);
    return 0;
}

/* Words that are syntax, not names, in the current expression kind. */
static int is_keyword(struct parser *p, const struct expr_tok *t)
{
    static const char *const cond_kw[] = {"AND", "OR", "NOT", "BETWEEN", "IN"};
    static const char *const upd_kw[] = {"SET", "REMOVE", "ADD", "DELETE"};
    size_t k;

    if (t->kind != ET_NAME)
        return 0;
    if (p->kind == EXPR_UPDATE) {
        for (k = 0; k < 4; k++)
            if (expr_tok_is(p->src, t, upd_kw[k]))
                return 1;
        return 0;
    }
    if (p->kind == EXPR_PROJECTION)
        return 0;
    for (k = 0; k < 5; k++)
        if (expr_tok_is(p->src, t, cond_kw[k]))
            return 1;
    return 0;
}

/* ---- nodes ------------------------------------------------------------------ */

static struct expr_node *node_new(struct parser *p, int kind, uint32_t nargs)
{
    struct expr_node *n = arena_calloc(p->a, 1, sizeof *n);

    if (n == NULL) {
        nomem(p);
        return NULL;
    }
    n->kind = (uint8_t)kind;
    n->tok = (uint32_t)p->i;
    n->nargs = nargs;
    if (nargs > 0) {
        n->args = arena_calloc(p->a, nargs, sizeof *n->args);
        if (n->args == NULL) {
            nomem(p);
            return NULL;
        }
    }
    return n;
}

static struct expr_node *node2(struct parser *p, int kind, int op,
                               struct expr_node *x, struct expr_node *y)
{
    struct expr_node *n = node_new(p, kind, 2);

    if (n == NULL)
        return NULL;
    n->op = (uint8_t)op;
    n->args[0] = x;
    n->args[1] = y;
    return n;
}

static int is_func(const struct expr_node *n, int f)
{
    return n->kind == EN_FUNC && n->op == f;
}

/* A node that yields a value (path, value, size()). */
static int is_operand(const struct expr_node *n)
{
    return n->kind == EN_PATH || n->kind == EN_VALUE ||
           is_func(n, EF_SIZE) || is_func(n, EF_UNKNOWN);
}

/* A node that yields true/false. */
static int is_bool(const struct expr_node *n)
{
    switch (n->kind) {
    case EN_OR: case EN_AND: case EN_NOT: case EN_CMP: case EN_BETWEEN:
    case EN_IN:
        return 1;
    case EN_FUNC:
        return n->op != EF_SIZE;
    }
    return 0;
}

/* The type of an operand known at parse time, or 0. */
static enum av_type static_type(const struct expr_node *n)
{
    if (n->kind == EN_VALUE && n->val != NULL)
        return n->val->type;
    if (is_func(n, EF_SIZE))
        return AV_N;
    return (enum av_type)0;
}

/* ---- paths ------------------------------------------------------------------ */

/* "[a, b, [2]]", DynamoDB's way of printing a path in messages. */
static const char *path_str(struct parser *p, const struct expr_path *path)
{
    char buf[TM_ERROR_MSG_MAX];
    size_t k, o = 0;

    o += (size_t)snprintf(buf + o, sizeof buf - o, "[");
    for (k = 0; k < path->n && o < sizeof buf; k++) {
        const struct expr_pel *e = &path->el[k];
        const char *sep = k ? ", " : "";
        if (e->index >= 0)
            o += (size_t)snprintf(buf + o, sizeof buf - o, "%s[%d]", sep,
                                  (int)e->index);
        else
            o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%.*s", sep,
                                  (int)e->len, e->name ? e->name : "");
    }
    if (o < sizeof buf)
        snprintf(buf + o, sizeof buf - o, "]");
    return arena_strdup(p->a, buf);
}

static int path_equal(const struct expr_path *x, const struct expr_path *y)
{
    uint32_t k;

    if (x->n != y->n)
        return 0;
    for (k = 0; k < x->n; k++)
        if (expr_pel_cmp(&x->el[k], &y->el[k]) != 0)
            return 0;
    return 1;
}

/* Resolve a #placeholder into its name; notes undefined ones. */
static void resolve_name(struct parser *p, const struct expr_tok *t,
                         struct expr_pel *e)
{
    size_t k;

    for (k = 0; k < p->c->nnames; k++) {
        struct expr_name *n = &p->c->names[k];
        if (n->klen == t->len && memcmp(n->key, p->src + t->off, t->len) == 0) {
            n->used = 1;
            e->name = n->name;
            e->len = (uint32_t)n->nlen;
            return;
        }
    }
    e->name = "";
    e->len = 0;
    note(p, SE_NAMEVAL, "An expression attribute name used in the document "
         "path is not defined; attribute name: %.*s", (int)t->len,
         p->src + t->off);
    note(p, SE_ATTRNAME, "An expression attribute name used in the document "
         "path is not defined; attribute name: %.*s", (int)t->len,
         p->src + t->off);
}

/* One path element from a NAME or HASH token; 0 or -1 (syntax). */
static int path_elem(struct parser *p, struct expr_pel *e)
{
    const struct expr_tok *t = cur(p);

    e->index = -1;
    if (t->kind == ET_HASH) {
        resolve_name(p, t, e);
    } else if (t->kind == ET_NAME && !is_keyword(p, t)) {
        e->name = p->src + t->off;
        e->len = t->len;
        if (expr_is_reserved(e->name, e->len))
            note(p, SE_RESERVED, "Attribute name is a reserved keyword; "
                 "reserved keyword: %.*s", (int)t->len, p->src + t->off);
    } else {
        syntax_error(p);
        return -1;
    }
    advance(p);
    return 0;
}

/* path := elem { '.' elem | '[' digits ']' }, current token at the first
 * element. */
static int parse_path(struct parser *p, struct expr_path *out)
{
    struct expr_pel tmp[64], *el = tmp;
    size_t n = out->n, cap = 64;

    /* Continuing a parenthesized path, "(a.b).c" (conditions only). */
    if (n > 0) {
        if (n > cap) {
            el = arena_alloc(p->a, 2 * n * sizeof *el);
            if (el == NULL) {
                nomem(p);
                return -1;
            }
            cap = 2 * n;
        }
        memcpy(el, out->el, n * sizeof *el);
    }

    for (;;) {
        if (n == cap) {
            struct expr_pel *ne = arena_alloc(p->a, 2 * cap * sizeof *ne);
            if (ne == NULL) {
                nomem(p);
                return -1;
            }
            memcpy(ne, el, n * sizeof *el);
            el = ne;
            cap *= 2;
        }
        if (n == 0 || at(p, ET_DOT)) {
            if (n > 0)
                advance(p);
            if (path_elem(p, &el[n]) < 0)
                return -1;
            n++;
        } else if (at(p, ET_LB)) {
            const struct expr_tok *t;
            long long v = 0;
            uint32_t k;

            advance(p);
            t = cur(p);
            if (t->kind != ET_NUM || t->len > 10) {
                syntax_error(p);
                return -1;
            }
            for (k = 0; k < t->len; k++)
                v = v * 10 + (p->src[t->off + k] - '0');
            if (v > INT32_MAX) {
                syntax_error(p);
                return -1;
            }
            advance(p);
            if (expect(p, ET_RB) < 0)
                return -1;
            el[n].name = NULL;
            el[n].len = 0;
            el[n].index = (int32_t)v;
            n++;
        } else {
            break;
        }
    }
    out->n = (uint32_t)n;
    out->el = arena_memdup(p->a, el, n * sizeof *el);
    if (out->el == NULL) {
        nomem(p);
        return -1;
    }
    return 0;
}

/* Overlap/conflict checks of a new update or projection path against the
 * earlier ones (DDB: "Two document paths overlap/conflict with each
 * other"), then remember it. */
static void check_path(struct parser *p, const struct expr_path *path)
{
    size_t k;

    for (k = 0; k < p->npaths; k++) {
        const struct expr_path *old = &p->paths[k];
        uint32_t j, m = old->n < path->n ? old->n : path->n;
        int differ = 0;

        for (j = 0; j < m; j++) {
            const struct expr_pel *x = &old->el[j], *y = &path->el[j];
            if ((x->index < 0) != (y->index < 0)) {
                note(p, SE_CONFLICT, "Two document paths conflict with each "
                     "other; must remove or rewrite one of these paths; path "
                     "one: %s, path two: %s", path_str(p, old),
                     path_str(p, path));
                differ = 1;
                break;
            }
            if (expr_pel_cmp(x, y) != 0) {
                differ = 1;
                break;
            }
        }
        if (!differ)
            note(p, SE_OVERLAP, "Two document paths overlap with each other; "
                 "must remove or rewrite one of these paths; path one: %s, "
                 "path two: %s", path_str(p, old), path_str(p, path));
    }
    if (p->npaths == p->cappaths) {
        size_t nc = p->cappaths ? 2 * p->cappaths : 16;
        struct expr_path *np = arena_alloc(p->a, nc * sizeof *np);
        if (np == NULL) {
            nomem(p);
            return;
        }
        if (p->npaths)
            memcpy(np, p->paths, p->npaths * sizeof *np);
        p->paths = np;
        p->cappaths = nc;
    }
    p->paths[p->npaths++] = *path;
}

/* ---- values ------------------------------------------------------------------ */

static struct expr_node *parse_value(struct parser *p)
{
    const struct expr_tok *t = cur(p);
    struct expr_node *n = node_new(p, EN_VALUE, 0);
    size_t k;

    if (n == NULL)
        return NULL;
    for (k = 0; k < p->c->nvalues; k++) {
        struct expr_value *v = &p->c->values[k];
        if (v->klen == t->len && memcmp(v->key, p->src + t->off, t->len) == 0) {
            v->used = 1;
            n->val = &v->val;
            break;
        }
    }
    if (n->val == NULL) {
        note(p, SE_NAMEVAL, "An expression attribute value used in expression "
             "is not defined; attribute value: %.*s", (int)t->len,
             p->src + t->off);
        note(p, SE_ATTRVAL, "An expression attribute value used in expression "
             "is not defined; attribute value: %.*s", (int)t->len,
             p->src + t->off);
    }
    advance(p);
    return n;
}

/* "{N:1}" for BETWEEN messages (scalars; other types by their code). */
static const char *av_brief(struct parser *p, const struct av *v)
{
    char num[DEC_STR_MAX];
    struct buf b;
    const char *s;

    switch (v->type) {
    case AV_S:
        return arena_printf(p->a, "{S:%.*s}", (int)v->u.s.n,
                            (const char *)v->u.s.p);
    case AV_N:
        dec_format(&v->u.n, num, sizeof num);
        return arena_printf(p->a, "{N:%s}", num);
    case AV_B:
        buf_init(&b, 64 * 1024);
        if (base64_encode(&b, v->u.s.p, v->u.s.n) != 0) {
            buf_free(&b);
            return "{B:}";
        }
        s = arena_printf(p->a, "{B:%.*s}", (int)b.len, (const char *)b.data);
        buf_free(&b);
        return s;
    default:
        return arena_printf(p->a, "{%s:...}", av_type_name(v->type));
    }
}

/* ---- functions --------------------------------------------------------------- */

static int func_id(const char *s, size_t n)
{
    static const struct {
        const char *name;
        int id;
    } tab[] = {
        {"attribute_exists", EF_ATTRIBUTE_EXISTS},
        {"attribute_not_exists", EF_ATTRIBUTE_NOT_EXISTS},
        {"attribute_type", EF_ATTRIBUTE_TYPE},
        {"begins_with", EF_BEGINS_WITH},
        {"contains", EF_CONTAINS},
        {"size", EF_SIZE},
        {"if_not_exists", EF_IF_NOT_EXISTS},
        {"list_append", EF_LIST_APPEND},
    };
    size_t k;

    for (k = 0; k < sizeof tab / sizeof tab[0]; k++)
        if (strlen(tab[k].name) == n && memcmp(tab[k].name, s, n) == 0)
            return tab[k].id;
    return EF_UNKNOWN;
}

static const char *func_name(int f)
{
    switch (f) {
    case EF_ATTRIBUTE_EXISTS: return "attribute_exists";
    case EF_ATTRIBUTE_NOT_EXISTS: return "attribute_not_exists";
    case EF_ATTRIBUTE_TYPE: return "attribute_type";
    case EF_BEGINS_WITH: return "begins_with";
    case EF_CONTAINS: return "contains";
    case EF_SIZE: return "size";
    case EF_IF_NOT_EXISTS: return "if_not_exists";
    case EF_LIST_APPEND: return "list_append";
    }
    return "?";
}

static const char *cmp_name(int op)
{
    static const char *const names[] = {"=", "<>", "<", "<=", ">", ">="};
    return names[op];
}

/* A function-as-operand misuse: every function but size (conditions). */
static void check_misused(struct parser *p, const struct expr_node *n)
{
    if (n->kind == EN_FUNC && n->op != EF_SIZE && n->op != EF_UNKNOWN)
        note(p, SE_MISUSED_FUNC, "The function is not allowed to be used "
             "this way in an expression; function: %s", func_name(n->op));
}

/* Distinct-operand rule for two path operands. */
static void check_distinct(struct parser *p, const char *op,
                           const struct expr_node *x,
                           const struct expr_node *y)
{
    if (x->kind == EN_PATH && y->kind == EN_PATH &&
        path_equal(&x->path, &y->path))
        note(p, SE_DISTINCT, "The first operand must be distinct from the "
             "remaining operands for this operator or function; operator: "
             "%s, first operand: %s", op, path_str(p, &x->path));
}

static void bad_operand_type(struct parser *p, const char *op, enum av_type t)
{
    note(p, SE_FUNCTION, "Incorrect operand type for operator or function; "
         "operator or function: %s, operand type: %s", op, av_type_name(t));
}

/* The checks of a condition function call (DDB semantics as dynalite
 * documents them). */
static void check_cond_func(struct parser *p, struct expr_node *f,
                            const struct expr_tok *name)
{
    static const uint32_t want[] = {
        [EF_ATTRIBUTE_EXISTS] = 1, [EF_ATTRIBUTE_NOT_EXISTS] = 1,
        [EF_ATTRIBUTE_TYPE] = 2, [EF_BEGINS_WITH] = 2, [EF_CONTAINS] = 2,
        [EF_SIZE] = 1,
    };
    uint32_t k;
    enum av_type t;

    for (k = 0; k < f->nargs; k++)
        check_misused(p, f->args[k]);
    if (f->op == EF_UNKNOWN || f->op > EF_SIZE) {
        note(p, SE_UNKNOWN_FUNC, "Invalid function name; function: %.*s",
             (int)name->len, p->src + name->off);
        f->op = EF_UNKNOWN;
        return;
    }
    if (f->nargs != want[f->op]) {
        note(p, SE_OPERANDS, "Incorrect number of operands for operator or "
             "function; operator or function: %s, number of operands: %u",
             func_name(f->op), (unsigned)f->nargs);
        return;
    }
    if (f->nargs == 2)
        check_distinct(p, func_name(f->op), f->args[0], f->args[1]);
    switch (f->op) {
    case EF_ATTRIBUTE_EXISTS:
    case EF_ATTRIBUTE_NOT_EXISTS:
        if (f->args[0]->kind != EN_PATH)
            note(p, SE_FUNCTION, "Operator or function requires a document "
                 "path; operator or function: %s", func_name(f->op));
        break;
    case EF_BEGINS_WITH:
        for (k = 0; k < 2; k++) {
            t = static_type(f->args[k]);
            if (t && t != AV_S && t != AV_B) {
                bad_operand_type(p, "begins_with", t);
                break;
            }
        }
        break;
    case EF_ATTRIBUTE_TYPE:
        t = static_type(f->args[1]);
        if (t != AV_S) {
            if (t == 0)
                note(p, SE_FUNCTION, "Incorrect operand type for operator or "
                     "function; operator or function: attribute_type, operand "
                     "type: {NS,SS,L,BS,N,M,B,BOOL,NULL,S}");
            else
                bad_operand_type(p, "attribute_type", t);
            break;
        }
        f->atype = (uint8_t)av_type_parse((const char *)f->args[1]->val->u.s.p,
                                          f->args[1]->val->u.s.n);
        if (f->atype == 0)
            note(p, SE_FUNCTION, "Invalid attribute type name found; type: "
                 "%.*s, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}",
                 (int)f->args[1]->val->u.s.n,
                 (const char *)f->args[1]->val->u.s.p);
        break;
    case EF_SIZE:
        t = static_type(f->args[0]);
        if (t == AV_N || t == AV_BOOL || t == AV_NULL)
            bad_operand_type(p, "size", t);
        break;
    }
}

/* ---- conditions ------------------------------------------------------------- */

static struct expr_node *parse_or(struct parser *p);

/* Enter a nesting level; a syntax error past EXPR_MAX_NEST. */
static int enter(struct parser *p)
{
    if (++p->depth > EXPR_MAX_NEST) {
        syntax_error(p);
        return -1;
    }
    return 0;
}

static struct expr_node *parse_atom(struct parser *p)
{
    const struct expr_tok *t = cur(p);
    struct expr_node *n = NULL;

    if (enter(p) < 0)
        goto out;
    if (t->kind == ET_LP) {
        advance(p);
        n = parse_or(p);
        if (n == NULL || expect(p, ET_RP) < 0) {
            n = NULL;
            goto out;
        }
        if (++n->parens >= 2)
            note(p, SE_PARENS, "The expression has redundant parentheses;");
        if (n->kind == EN_PATH && (at(p, ET_DOT) || at(p, ET_LB))) {
            if (parse_path(p, &n->path) < 0) {
                n = NULL;
                goto out;
            }
            n->parens = 0;
        }
    } else if (t->kind == ET_NAME && p->t[p->i + 1].kind == ET_LP &&
               !is_keyword(p, t)) {
        struct expr_node *args[EXPR_MAX_IN + 2];
        const struct expr_tok *name = t;
        uint32_t k = 0;

        advance(p);
        advance(p);
        for (;;) {
            struct expr_node *x = parse_atom(p);
            if (x == NULL)
                goto out;
            if (k < EXPR_MAX_IN + 2)
                args[k] = x;
            k++;
            if (!at(p, ET_COMMA))
                break;
            advance(p);
        }
        if (expect(p, ET_RP) < 0)
            goto out;
        if (k > EXPR_MAX_IN + 2)
            k = EXPR_MAX_IN + 2;
        n = node_new(p, EN_FUNC, k);
        if (n == NULL)
            goto out;
        n->tok = (uint32_t)(name - p->t);
        memcpy(n->args, args, k * sizeof *args);
        n->op = (uint8_t)func_id(p->src + name->off, name->len);
        check_cond_func(p, n, name);
    } else if (t->kind == ET_COLON) {
        n = parse_value(p);
    } else if (t->kind == ET_HASH || (t->kind == ET_NAME && !is_keyword(p, t))) {
        n = node_new(p, EN_PATH, 0);
        if (n == NULL || parse_path(p, &n->path) < 0)
            n = NULL;
    } else {
        syntax_error(p);
    }
out:
    p->depth--;
    return p->failed ? NULL : n;
}

/* An operand of a comparison, BETWEEN or IN. */
static int need_operand(struct parser *p, struct expr_node *n, size_t optok)
{
    if (is_operand(n))
        return 0;
    if (n->kind == EN_FUNC) {
        check_misused(p, n);
        return 0;
    }
    p->i = optok;
    syntax_error(p);
    return -1;
}

/* Where a condition must stand. */
static int need_bool(struct parser *p, struct expr_node *n)
{
    if (is_func(n, EF_SIZE)) {
        note(p, SE_MISUSED_FUNC, "The function is not allowed to be used this "
             "way in an expression; function: size");
        return 0;
    }
    if (is_bool(n) || is_func(n, EF_UNKNOWN))
        return 0;
    syntax_error(p);
    return -1;
}

static void check_order_const(struct parser *p, const char *op,
                              const struct expr_node *n)
{
    enum av_type t = n->kind == EN_VALUE && n->val ? n->val->type : 0;

    if (t && t != AV_N && t != AV_S && t != AV_B)
        bad_operand_type(p, op, t);
}

static struct expr_node *parse_cmp(struct parser *p)
{
    struct expr_node *x, *n = NULL;
    size_t optok;
    int op = -1;

    x = parse_atom(p);
    if (x == NULL)
        return NULL;
    optok = p->i;
    switch (cur(p)->kind) {
    case ET_EQ: op = EC_EQ; break;
    case ET_NE: op = EC_NE; break;
    case ET_LT: op = EC_LT; break;
    case ET_LE: op = EC_LE; break;
    case ET_GT: op = EC_GT; break;
    case ET_GE: op = EC_GE; break;
    }
    if (op >= 0) {
        struct expr_node *y;

        advance(p);
        y = parse_atom(p);
        if (y == NULL || need_operand(p, x, optok) < 0 ||
            need_operand(p, y, optok) < 0)
            return NULL;
        n = node2(p, EN_CMP, op, x, y);
        if (n == NULL)
            return NULL;
        n->tok = (uint32_t)optok;
        check_distinct(p, cmp_name(op), x, y);
        if (op >= EC_LT) {
            check_order_const(p, cmp_name(op), x);
            check_order_const(p, cmp_name(op), y);
        }
        settle(p);
        return n;
    }
    if (at_kw(p, "BETWEEN")) {
        struct expr_node *lo, *hi;

        advance(p);
        lo = parse_atom(p);
        if (lo == NULL)
            return NULL;
        if (!at_kw(p, "AND")) {
            syntax_error(p);
            return NULL;
        }
        advance(p);
        hi = parse_atom(p);
        if (hi == NULL || need_operand(p, x, optok) < 0 ||
            need_operand(p, lo, optok) < 0 || need_operand(p, hi, optok) < 0)
            return NULL;
        n = node_new(p, EN_BETWEEN, 3);
        if (n == NULL)
            return NULL;
        n->tok = (uint32_t)optok;
        n->args[0] = x;
        n->args[1] = lo;
        n->args[2] = hi;
        check_order_const(p, "BETWEEN", x);
        check_order_const(p, "BETWEEN", lo);
        check_order_const(p, "BETWEEN", hi);
        if (lo->kind == EN_VALUE && hi->kind == EN_VALUE && lo->val &&
            hi->val) {
            const char *what = NULL;
            if (lo->val->type != hi->val->type)
                what = "same data type for lower and upper bounds";
            else if ((lo->val->type == AV_N || lo->val->type == AV_S ||
                      lo->val->type == AV_B) &&
                     av_compare(lo->val, hi->val) > 0)
                what = "upper bound to be greater than or equal to lower bound";
            if (what)
                note(p, SE_FUNCTION, "The BETWEEN operator requires %s; lower "
                     "bound operand: AttributeValue: %s, upper bound operand: "
                     "AttributeValue: %s", what, av_brief(p, lo->val),
                     av_brief(p, hi->val));
        }
        settle(p);
        return n;
    }
    if (at_kw(p, "IN")) {
        struct expr_node *args[EXPR_MAX_IN + 2];
        uint32_t k = 1;

        advance(p);
        if (expect(p, ET_LP) < 0)
            return NULL;
        args[0] = x;
        for (;;) {
            struct expr_node *y = parse_atom(p);
            if (y == NULL || need_operand(p, y, optok) < 0)
                return NULL;
            if (k < EXPR_MAX_IN + 2)
                args[k] = y;
            k++;
            if (!at(p, ET_COMMA))
                break;
            advance(p);
        }
        if (expect(p, ET_RP) < 0 || need_operand(p, x, optok) < 0)
            return NULL;
        if (k - 1 > EXPR_MAX_IN)
            note(p, SE_FUNCTION, "The IN operator is provided with too many "
                 "operands; number of operands: %u", (unsigned)(k - 1));
        if (k > EXPR_MAX_IN + 2)
            k = EXPR_MAX_IN + 2;
        n = node_new(p, EN_IN, k);
        if (n == NULL)
            return NULL;
        n->tok = (uint32_t)optok;
        memcpy(n->args, args, k * sizeof *args);
        settle(p);
        return n;
    }
    if (x->kind == EN_FUNC)
        settle(p);
    return x;
}

static struct expr_node *parse_not(struct parser *p)
{
    struct expr_node *x, *n;

    if (!at_kw(p, "NOT"))
        return parse_cmp(p);
    if (enter(p) < 0) {
        p->depth--;
        return NULL;
    }
    advance(p);
    x = parse_not(p);
    p->depth--;
    if (x == NULL || need_bool(p, x) < 0)
        return NULL;
    n = node_new(p, EN_NOT, 1);
    if (n == NULL)
        return NULL;
    n->args[0] = x;
    return n;
}

static struct expr_node *parse_and(struct parser *p)
{
    struct expr_node *x = parse_not(p);

    while (x != NULL && at_kw(p, "AND")) {
        struct expr_node *y;
        if (need_bool(p, x) < 0)
            return NULL;
        advance(p);
        y = parse_not(p);
        if (y == NULL || need_bool(p, y) < 0)
            return NULL;
        x = node2(p, EN_AND, 0, x, y);
    }
    return x;
}

static struct expr_node *parse_or(struct parser *p)
{
    struct expr_node *x = parse_and(p);

    while (x != NULL && at_kw(p, "OR")) {
        struct expr_node *y;
        if (need_bool(p, x) < 0)
            return NULL;
        advance(p);
        y = parse_and(p);
        if (y == NULL || need_bool(p, y) < 0)
            return NULL;
        x = node2(p, EN_OR, 0, x, y);
    }
    return x;
}

/* ---- key-condition shape (no schema needed) ----------------------------------- */

struct keyscan {
    const struct expr_node *conds[8];
    size_t n;
};

/* DDB's shape rules for KeyConditionExpression, in dynalite's order.
 * Messages are set bare (no "Invalid KeyConditionExpression: "). */
static int key_shape(struct parser *p, const struct expr_node *e,
                     struct keyscan *ks)
{
    const struct expr_path *path = NULL;
    uint32_t k;
    size_t j;

    switch (e->kind) {
    case EN_OR:
        return tm_error_set(p->err, TM_EVALIDATION, "Invalid operator used in "
                            "KeyConditionExpression: OR");
    case EN_NOT:
        return tm_error_set(p->err, TM_EVALIDATION, "Invalid operator used in "
                            "KeyConditionExpression: NOT");
    case EN_IN:
        return tm_error_set(p->err, TM_EVALIDATION, "Invalid operator used in "
                            "KeyConditionExpression: IN");
    case EN_CMP:
        if (e->op == EC_NE)
            return tm_error_set(p->err, TM_EVALIDATION, "Invalid operator used "
                                "in KeyConditionExpression: <>");
        break;
    case EN_FUNC:
        if (e->op == EF_SIZE)
            return tm_error_set(p->err, TM_EVALIDATION, "KeyConditionExpressions"
                                " cannot contain nested operations");
        if (e->op != EF_BEGINS_WITH)
            return tm_error_set(p->err, TM_EVALIDATION, "Invalid operator used "
                                "in KeyConditionExpression: %s",
                                func_name(e->op));
        if (e->args[0]->kind != EN_PATH)
            return tm_error_set(p->err, TM_EVALIDATION, "Invalid condition in "
                                "KeyConditionExpression: begins_with operator "
                                "must have the key attribute as its first "
                                "operand");
        break;
    case EN_BETWEEN:
        if (e->args[0]->kind != EN_PATH)
            return tm_error_set(p->err, TM_EVALIDATION, "Invalid condition in "
                                "KeyConditionExpression: BETWEEN operator must "
                                "have the key attribute as its first operand");
        break;
    }
    if (e->kind == EN_AND) {
        int rc = key_shape(p, e->args[0], ks);
        return rc ? rc : key_shape(p, e->args[1], ks);
    }
    for (k = 0; k < e->nargs; k++) {
        const struct expr_node *a = e->args[k];
        if (a->kind == EN_PATH) {
            if (path != NULL)
                return tm_error_set(p->err, TM_EVALIDATION, "Invalid condition "
                                    "in KeyConditionExpression: Multiple "
                                    "attribute names used in one condition");
            if (a->path.n > 1)
                return tm_error_set(p->err, TM_EVALIDATION,
                                    "KeyConditionExpressions cannot have "
                                    "conditions on nested attributes");
            path = &a->path;
        } else if (a->kind == EN_FUNC) {
            return tm_error_set(p->err, TM_EVALIDATION, "KeyConditionExpressions"
                                " cannot contain nested operations");
        }
    }
    if (path == NULL)
        return tm_error_set(p->err, TM_EVALIDATION, "Invalid condition in "
                            "KeyConditionExpression: No key attribute "
                            "specified");
    for (j = 0; j < ks->n; j++) {
        const struct expr_node *o = ks->conds[j];
        const struct expr_path *op = o->args[0]->kind == EN_PATH
                                         ? &o->args[0]->path
                                         : &o->args[1]->path;
        if (path_equal(op, path))
            return tm_error_set(p->err, TM_EVALIDATION, "KeyConditionExpressions"
                                " must only contain one condition per key");
    }
    if (ks->n == sizeof ks->conds / sizeof ks->conds[0])
        return tm_error_set(p->err, TM_EVALIDATION,
                            "Conditions can be of length 1 or 2 only");
    ks->conds[ks->n++] = e;
    return 0;
}

/* ---- update ------------------------------------------------------------------- */

static struct expr_node *parse_uoperand(struct parser *p);

static void check_update_func(struct parser *p, struct expr_node *f,
                              const struct expr_tok *name)
{
    uint32_t k;

    if (f->op != EF_IF_NOT_EXISTS && f->op != EF_LIST_APPEND) {
        note(p, SE_UNKNOWN_FUNC, "Invalid function name; function: %.*s",
             (int)name->len, p->src + name->off);
        f->op = EF_UNKNOWN;
        return;
    }
    if (f->nargs != 2) {
        note(p, SE_FUNCTION, "Incorrect number of operands for operator or "
             "function; operator or function: %s, number of operands: %u",
             func_name(f->op), (unsigned)f->nargs);
        return;
    }
    if (f->op == EF_IF_NOT_EXISTS) {
        if (f->args[0]->kind != EN_PATH)
            note(p, SE_FUNCTION, "Operator or function requires a document "
                 "path; operator or function: if_not_exists");
        return;
    }
    for (k = 0; k < 2; k++) {
        const struct expr_node *a = f->args[k];
        if (a->kind == EN_VALUE && a->val && a->val->type != AV_L) {
            bad_operand_type(p, "list_append", a->val->type);
            return;
        }
    }
}

static struct expr_node *parse_uoperand(struct parser *p)
{
    const struct expr_tok *t = cur(p);
    struct expr_node *n = NULL;

    if (enter(p) < 0)
        goto out;
    if (t->kind == ET_LP) {
        advance(p);
        n = parse_uoperand(p);
        if (n == NULL || expect(p, ET_RP) < 0)
            n = NULL;
    } else if (t->kind == ET_NAME && p->t[p->i + 1].kind == ET_LP &&
               !is_keyword(p, t)) {
        struct expr_node *args[8];
        const struct expr_tok *name = t;
        uint32_t k = 0;

        advance(p);
        advance(p);
        for (;;) {
            struct expr_node *x = parse_uoperand(p);
            if (x == NULL)
                goto out;
            if (k < 8)
                args[k] = x;
            k++;
            if (!at(p, ET_COMMA))
                break;
            advance(p);
        }
        if (expect(p, ET_RP) < 0)
            goto out;
        n = node_new(p, EN_FUNC, k < 8 ? k : 8);
        if (n == NULL)
            goto out;
        memcpy(n->args, args, n->nargs * sizeof *args);
        n->nargs = k;  /* the count written, for the message */
        n->op = (uint8_t)func_id(p->src + name->off, name->len);
        check_update_func(p, n, name);
        if (n->nargs > 8)
            n->nargs = 8;
    } else if (t->kind == ET_COLON) {
        n = parse_value(p);
    } else if (t->kind == ET_HASH || (t->kind == ET_NAME && !is_keyword(p, t))) {
        n = node_new(p, EN_PATH, 0);
        if (n == NULL || parse_path(p, &n->path) < 0)
            n = NULL;
    } else {
        syntax_error(p);
    }
out:
    p->depth--;
    return p->failed ? NULL : n;
}

/* x +/- y with the operand-type checks on constants. */
static struct expr_node *arith(struct parser *p, struct expr_node *x)
{
    int kind = at(p, ET_PLUS) ? EN_PLUS : EN_MINUS;
    struct expr_node *y, *n;
    const struct expr_node *side[2];
    int k;

    advance(p);
    y = parse_uoperand(p);
    if (y == NULL)
        return NULL;
    n = node2(p, kind, 0, x, y);
    if (n == NULL)
        return NULL;
    side[0] = x;
    side[1] = y;
    for (k = 0; k < 2; k++) {
        if (side[k]->kind == EN_VALUE && side[k]->val &&
            side[k]->val->type != AV_N) {
            bad_operand_type(p, kind == EN_PLUS ? "+" : "-",
                             side[k]->val->type);
            break;
        }
    }
    return n;
}

static struct expr_node *parse_setval(struct parser *p)
{
    struct expr_node *x;

    if (at(p, ET_LP)) {
        /* Either parentheses around the whole value or around the first
         * operand: read the inside as a value and decide after. */
        advance(p);
        if (enter(p) < 0) {
            p->depth--;
            return NULL;
        }
        x = parse_uoperand(p);
        if (x != NULL && (at(p, ET_PLUS) || at(p, ET_MINUS)))
            x = arith(p, x);
        p->depth--;
        if (x == NULL || expect(p, ET_RP) < 0)
            return NULL;
        if (x->kind == EN_PLUS || x->kind == EN_MINUS)
            return x;
    } else {
        x = parse_uoperand(p);
        if (x == NULL)
            return NULL;
    }
    if (at(p, ET_PLUS) || at(p, ET_MINUS))
        x = arith(p, x);
    return x;
}

static const char *section_name(int kind)
{
    static const char *const names[] = {"SET", "REMOVE", "ADD", "DELETE"};
    return names[kind];
}

static void check_adddel(struct parser *p, int kind, const struct expr_node *v)
{
    static const char *const long_names[] = {
        [AV_S] = "STRING", [AV_N] = "NUMBER", [AV_B] = "BINARY",
        [AV_BOOL] = "BOOLEAN", [AV_NULL] = "NULL", [AV_M] = "MAP",
        [AV_L] = "LIST",
    };
    enum av_type t;

    if (v->val == NULL)
        return;
    t = v->val->type;
    if (t == AV_SS || t == AV_NS || t == AV_BS || (kind == EA_ADD && t == AV_N))
        return;
    note(p, SE_ADDDEL, "Incorrect operand type for operator or function; "
         "operator: %s, operand type: %s", section_name(kind), long_names[t]);
}

static int parse_update_body(struct parser *p, struct expr_update *u)
{
    size_t cap = 8;

    u->acts = arena_alloc(p->a, cap * sizeof *u->acts);
    if (u->acts == NULL) {
        nomem(p);
        return -1;
    }
    do {
        int kind;

        if (at_kw(p, "SET"))
            kind = EA_SET;
        else if (at_kw(p, "REMOVE"))
            kind = EA_REMOVE;
        else if (at_kw(p, "ADD"))
            kind = EA_ADD;
        else if (at_kw(p, "DELETE"))
            kind = EA_DELETE;
        else {
            syntax_error(p);
            return -1;
        }
        if (p->sections & (1u << kind))
            note(p, SE_SECTION, "The \"%s\" section can only be used once in "
                 "an update expression;", section_name(kind));
        p->sections |= 1u << kind;
        advance(p);
        for (;;) {
            struct expr_act act;

            memset(&act, 0, sizeof act);
            act.kind = (uint8_t)kind;
            if (!at(p, ET_NAME) && !at(p, ET_HASH)) {
                syntax_error(p);
                return -1;
            }
            if (parse_path(p, &act.path) < 0)
                return -1;
            check_path(p, &act.path);
            if (kind == EA_SET) {
                if (expect(p, ET_EQ) < 0)
                    return -1;
                act.val = parse_setval(p);
                if (act.val == NULL)
                    return -1;
            } else if (kind == EA_ADD || kind == EA_DELETE) {
                if (!at(p, ET_COLON)) {
                    syntax_error(p);
                    return -1;
                }
                act.val = parse_value(p);
                if (act.val == NULL)
                    return -1;
                check_adddel(p, kind, act.val);
            }
            if (u->n == cap) {
                struct expr_act *na = arena_alloc(p->a, 2 * cap * sizeof *na);
                if (na == NULL) {
                    nomem(p);
                    return -1;
                }
                memcpy(na, u->acts, u->n * sizeof *na);
                u->acts = na;
                cap *= 2;
            }
            u->acts[u->n++] = act;
            if (!at(p, ET_COMMA))
                break;
            advance(p);
        }
    } while (!at(p, ET_EOF));
    return 0;
}

/* ---- entry points --------------------------------------------------------------- */

/* Common start: size and emptiness rules, tokens. */
static int begin(struct parser *p, struct expr_ctx *c, enum expr_kind kind,
                 const char *text, size_t len, struct tm_error *err)
{
    size_t k;

    memset(p, 0, sizeof *p);
    p->c = c;
    p->a = c->a;
    p->kind = kind;
    p->param = param_name(kind);
    p->src = text;
    p->srclen = len;
    p->err = err;
    if (len > EXPR_MAX_BYTES)
        return tm_error_set(err, TM_EVALIDATION, "Invalid %s: Expression size "
                            "has exceeded the maximum allowed size; expression "
                            "size: %zu", p->param, len);
    for (k = 0; k < len; k++)
        if (text[k] != ' ' && text[k] != '\t' && text[k] != '\r' &&
            text[k] != '\n')
            break;
    if (k == len)
        return tm_error_set(err, TM_EVALIDATION, "Invalid %s: The expression "
                            "can not be empty;", p->param);
    if (expr_lex(c->a, text, len, &p->t, &p->nt) != 0)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    return 0;
}

int expr_parse_condition(struct expr_ctx *c, enum expr_kind kind,
                         const char *text, size_t len,
                         struct expr_cond **out, struct tm_error *err)
{
    struct parser p;
    struct expr_node *root;
    struct expr_cond *e;
    int rc;

    rc = begin(&p, c, kind, text, len, err);
    if (rc)
        goto out;
    root = parse_or(&p);
    if (root != NULL && !at(&p, ET_EOF))
        syntax_error(&p);
    if (root != NULL && !p.failed)
        need_bool(&p, root);
    if (p.failed) {
        rc = p.rc;
        goto out;
    }
    rc = deferred(&p, cond_order);
    if (rc)
        goto out;
    if (kind == EXPR_KEY_CONDITION) {
        struct keyscan ks;
        ks.n = 0;
        rc = key_shape(&p, root, &ks);
        if (rc == 0 && ks.n > 2)
            rc = tm_error_set(err, TM_EVALIDATION,
                              "Conditions can be of length 1 or 2 only");
        if (rc)
            goto out;
    }
    e = arena_alloc(c->a, sizeof *e);
    if (e == NULL) {
        rc = tm_error_set(err, TM_ENOMEM, "out of memory");
        goto out;
    }
    e->kind = kind;
    e->root = root;
    *out = e;
out:
    return rc;
}

int expr_parse_projection(struct expr_ctx *c, const char *text, size_t len,
                          struct expr_proj **out, struct tm_error *err)
{
    struct parser p;
    struct expr_proj *pr;
    size_t k;
    int rc;

    rc = begin(&p, c, EXPR_PROJECTION, text, len, err);
    if (rc)
        goto out;
    for (;;) {
        struct expr_path path = {NULL, 0};
        if (!at(&p, ET_NAME) && !at(&p, ET_HASH)) {
            syntax_error(&p);
            break;
        }
        if (parse_path(&p, &path) < 0)
            break;
        check_path(&p, &path);
        if (!at(&p, ET_COMMA))
            break;
        advance(&p);
    }
    if (!p.failed && !at(&p, ET_EOF))
        syntax_error(&p);
    if (p.failed) {
        rc = p.rc;
        goto out;
    }
    rc = deferred(&p, proj_order);
    if (rc)
        goto out;
    pr = arena_calloc(c->a, 1, sizeof *pr);
    if (pr == NULL) {
        rc = tm_error_set(err, TM_ENOMEM, "out of memory");
        goto out;
    }
    for (k = 0; k < p.npaths; k++) {
        if (expr_ptrie_add(c->a, &pr->root, &p.paths[k]) != 0) {
            rc = tm_error_set(err, TM_ENOMEM, "out of memory");
            goto out;
        }
    }
    *out = pr;
out:
    return rc;
}

int expr_parse_update(struct expr_ctx *c, const char *text, size_t len,
                      struct expr_update **out, struct tm_error *err)
{
    struct parser p;
    struct expr_update *u;
    size_t k;
    int rc;

    rc = begin(&p, c, EXPR_UPDATE, text, len, err);
    if (rc)
        goto out;
    u = arena_calloc(c->a, 1, sizeof *u);
    if (u == NULL) {
        rc = tm_error_set(err, TM_ENOMEM, "out of memory");
        goto out;
    }
    parse_update_body(&p, u);
    if (p.failed) {
        rc = p.rc;
        goto out;
    }
    rc = deferred(&p, update_order);
    if (rc)
        goto out;
    for (k = 0; k < u->n; k++) {
        if (expr_ptrie_add(c->a, &u->paths.root, &u->acts[k].path) != 0) {
            rc = tm_error_set(err, TM_ENOMEM, "out of memory");
            goto out;
        }
    }
    *out = u;
out:
    return rc;
}

const struct expr_proj *expr_update_paths(const struct expr_update *u)
{
    return &u->paths;
}

/* ---- context ------------------------------------------------------------------ */

static int valid_key(const char *k, char sigil)
{
    size_t i;

    if (k[0] != sigil || k[1] == '\0')
        return 0;
    for (i = 1; k[i]; i++) {
        char ch = k[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '_'))
            return 0;
    }
    return 1;
}

int expr_ctx_init(struct expr_ctx **out, struct arena *a, json_t *names,
                  json_t *values, struct tm_error *err)
{
    struct expr_ctx *c;
    const char *key;
    json_t *v;
    int rc = 0;

    c = arena_calloc(a, 1, sizeof *c);
    if (c == NULL)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    c->a = a;
    if (names != NULL) {
        if (!json_is_object(names))
            return tm_error_set(err, TM_ESERIALIZATION, "Expected map or null");
        if (json_object_size(names) == 0)
            return tm_error_set(err, TM_EVALIDATION,
                                "ExpressionAttributeNames must not be empty");
        c->names = arena_calloc(a, json_object_size(names), sizeof *c->names);
        if (c->names == NULL)
            return tm_error_set(err, TM_ENOMEM, "out of memory");
        json_object_foreach(names, key, v) {
            struct expr_name *n = &c->names[c->nnames];
            if (!json_is_string(v))
                return tm_error_set(err, TM_ESERIALIZATION,
                                    json_is_object(v)
                                        ? "Start of structure or map found "
                                          "where not expected."
                                        : "Unexpected value type in payload");
            if (!valid_key(key, '#'))
                return tm_error_set(err, TM_EVALIDATION,
                                    "ExpressionAttributeNames contains invalid "
                                    "key: Syntax error; key: \"%s\"", key);
            n->key = key;
            n->klen = strlen(key);
            n->nlen = json_string_length(v);
            n->name = arena_memdup(a, json_string_value(v), n->nlen + 1);
            n->key = arena_strdup(a, key);
            if (n->name == NULL || n->key == NULL)
                return tm_error_set(err, TM_ENOMEM, "out of memory");
            c->nnames++;
        }
    }
    if (values != NULL) {
        if (!json_is_object(values))
            return tm_error_set(err, TM_ESERIALIZATION, "Expected map or null");
        if (json_object_size(values) == 0)
            return tm_error_set(err, TM_EVALIDATION,
                                "ExpressionAttributeValues must not be empty");
        c->values = arena_calloc(a, json_object_size(values),
                                 sizeof *c->values);
        if (c->values == NULL)
            return tm_error_set(err, TM_ENOMEM, "out of memory");
        json_object_foreach(values, key, v) {
            if (!valid_key(key, ':'))
                return tm_error_set(err, TM_EVALIDATION,
                                    "ExpressionAttributeValues contains "
                                    "invalid key: Syntax error; key: \"%s\"",
                                    key);
        }
        json_object_foreach(values, key, v) {
            struct expr_value *ev = &c->values[c->nvalues];
            rc = av_from_json(a, v, &ev->val, err);
            if (rc == TM_EVALIDATION) {
                char msg[TM_ERROR_MSG_MAX];
                snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
                return tm_error_set(err, TM_EVALIDATION,
                                    "ExpressionAttributeValues contains invalid "
                                    "value: %s for key %s", msg, key);
            }
            if (rc)
                return rc;
            ev->key = arena_strdup(a, key);
            if (ev->key == NULL)
                return tm_error_set(err, TM_ENOMEM, "out of memory");
            ev->klen = strlen(key);
            c->nvalues++;
        }
    }
    *out = c;
    return 0;
}

/* Append ", key" (or "key" first) to the list being built in `buf`. */
static size_t list_add(char *buf, size_t o, size_t cap, const char *key)
{
    if (o < cap)
        o += (size_t)snprintf(buf + o, cap - o, "%s%s", o ? ", " : "", key);
    return o;
}

int expr_ctx_finish(struct expr_ctx *c, struct tm_error *err)
{
    char buf[TM_ERROR_MSG_MAX];
    size_t k, o = 0;

    for (k = 0; k < c->nnames; k++)
        if (!c->names[k].used)
            o = list_add(buf, o, sizeof buf, c->names[k].key);
    if (o > 0)
        return tm_error_set(err, TM_EVALIDATION, "Value provided in "
                            "ExpressionAttributeNames unused in expressions: "
                            "keys: {%s}", buf);
    for (k = 0; k < c->nvalues; k++)
        if (!c->values[k].used)
            o = list_add(buf, o, sizeof buf, c->values[k].key);
    if (o > 0)
        return tm_error_set(err, TM_EVALIDATION, "Value provided in "
                            "ExpressionAttributeValues unused in expressions: "
                            "keys: {%s}", buf);
    return 0;
}
