/*
 * test_expr.c - unit tests for DynamoDB's expression language
 * (src/expr/): parsing and every error message form, reserved words,
 * placeholders, path overlap, condition truth tables, projections, every
 * update action, key conditions, and a fuzz loop over every parser.
 *
 * JSON in this file is written with single quotes (turned into double
 * quotes by j()) to keep the C strings readable.
 */
#include <jansson.h>

#include "expr/expr.h"
#include "test.h"

/* ---- helpers -------------------------------------------------------------- */

static struct arena *A;
static struct tm_error E;

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* Single-quoted JSON to real JSON (static buffer, rotated). */
static const char *j(const char *s)
{
    static char bufs[4][8192];
    static int which;
    char *b = bufs[which++ & 3];
    size_t k;

    for (k = 0; s[k] && k + 1 < sizeof bufs[0]; k++)
        b[k] = s[k] == '\'' ? '"' : s[k];
    b[k] = '\0';
    return b;
}

static json_t *jparse(const char *sq)
{
    json_error_t je;
    if (sq == NULL)
        return NULL;
    return json_loads(j(sq), JSON_DECODE_ANY, &je);
}

static struct expr_ctx *mkctx(const char *names, const char *values)
{
    json_t *n = jparse(names), *v = jparse(values);
    struct expr_ctx *c = NULL;
    int rc;

    tm_error_clear(&E);
    rc = expr_ctx_init(&c, A, n, v, &E);
    json_decref(n);
    json_decref(v);
    return rc ? NULL : c;
}

static int item(const char *sq, struct av *out)
{
    json_t *o = jparse(sq);
    int rc = item_from_json(A, o, out, &E);
    json_decref(o);
    return rc;
}

/* Parse one expression of `kind` (conditions, projection or update);
 * returns the code, message in E. */
static int parse(enum expr_kind kind, const char *text, const char *names,
                 const char *values)
{
    struct expr_ctx *c = mkctx(names, values);
    struct expr_cond *ec;
    struct expr_proj *ep;
    struct expr_update *eu;

    if (c == NULL)
        return E.code;
    tm_error_clear(&E);
    switch (kind) {
    case EXPR_PROJECTION:
        return expr_parse_projection(c, text, strlen(text), &ep, &E);
    case EXPR_UPDATE:
        return expr_parse_update(c, text, strlen(text), &eu, &E);
    default:
        return expr_parse_condition(c, kind, text, strlen(text), &ec, &E);
    }
}

#define EXPECT_MSG(kind, text, names, values, want_)                          \
    do {                                                                      \
        int rc_ = parse((kind), (text), (names), (values));                   \
        if (rc_ != TM_EVALIDATION)                                            \
            TEST_FAIL_("%s: expected an error, rc %d", (text), rc_);          \
        ASSERT_STR_EQ(E.msg, (want_));                                        \
    } while (0)

#define EXPECT_OK(kind, text, names, values)                                  \
    do {                                                                      \
        int rc_ = parse((kind), (text), (names), (values));                   \
        if (rc_ != 0)                                                         \
            TEST_FAIL_("%s: %s", (text), E.msg);                              \
    } while (0)

#define EXPECT_PREFIX(kind, text, names, values, prefix)                      \
    do {                                                                      \
        int rc_ = parse((kind), (text), (names), (values));                   \
        if (rc_ != TM_EVALIDATION ||                                          \
            strncmp(E.msg, (prefix), strlen(prefix)) != 0)                    \
            TEST_FAIL_("%s: rc %d, message \"%s\", want prefix \"%s\"",       \
                       (text), rc_, E.msg, (prefix));                         \
    } while (0)

/* Evaluate a condition on an item: 1, 0, or -1 on error (message in E). */
static int cond(const char *itm, const char *text, const char *names,
                const char *values)
{
    struct expr_ctx *c = mkctx(names, values);
    struct expr_cond *e;
    struct av it;
    int res = -1;

    if (c == NULL)
        return -1;
    if (expr_parse_condition(c, EXPR_CONDITION, text, strlen(text), &e, &E))
        return -1;
    if (itm != NULL && item(itm, &it))
        return -1;
    if (expr_eval_condition(e, itm ? &it : NULL, &res, &E))
        return -1;
    return res;
}

/* The item in DynamoDB JSON text (compact, keys in tree order). */
static const char *show(const struct av *v)
{
    static char out[8192];
    struct buf b;

    buf_init(&b, sizeof out - 1);
    if (item_write_json(v, &b) != 0) {
        buf_free(&b);
        return "(unprintable)";
    }
    memcpy(out, b.data ? (const char *)b.data : "", b.len);
    out[b.len] = '\0';
    buf_free(&b);
    return out;
}

static const struct key_schema KS = {"pk", AV_S, NULL, (enum av_type)0};
static const struct key_schema KS2 = {"pk", AV_S, "sk", AV_N};

/* Apply an update to `itm` (NULL: new item with key {pk:k}); compare
 * with `want` (an item).  Returns 1 on match, 0 on mismatch (printed),
 * -1 on error (message in E). */
static int upd(const char *itm, const char *text, const char *names,
               const char *values, const char *want)
{
    struct expr_ctx *c = mkctx(names, values);
    struct expr_update *u;
    struct av old, key, got, exp;

    if (c == NULL)
        return -1;
    if (expr_parse_update(c, text, strlen(text), &u, &E))
        return -1;
    if (expr_ctx_finish(c, &E))
        return -1;
    if (itm != NULL && item(itm, &old))
        return -1;
    if (item("{'pk':{'S':'k'}}", &key))
        return -1;
    if (expr_update_apply(u, itm ? &old : NULL, &key, &KS, A, &got, &E))
        return -1;
    if (want == NULL)
        return 1;
    if (item(want, &exp))
        return -1;
    if (!av_equal(&got, &exp)) {
        fprintf(stderr, "update \"%s\": got %s\n", text, show(&got));
        return 0;
    }
    return 1;
}

/* Projection of `itm` compared with `want`. */
static int proj(const char *itm, const char *text, const char *names,
                const char *want)
{
    struct expr_ctx *c = mkctx(names, NULL);
    struct expr_proj *p;
    struct av it, got, exp;

    if (c == NULL)
        return -1;
    if (expr_parse_projection(c, text, strlen(text), &p, &E))
        return -1;
    if (item(itm, &it) || item(want, &exp))
        return -1;
    if (expr_project(p, &it, A, &got))
        return -1;
    if (!av_equal(&got, &exp)) {
        fprintf(stderr, "projection \"%s\": got %s\n", text, show(&got));
        return 0;
    }
    return 1;
}

/* Key condition against a schema. */
static int keycond(const struct key_schema *ks, const char *text,
                   const char *names, const char *values,
                   struct expr_key_range *r)
{
    struct expr_ctx *c = mkctx(names, values);
    struct expr_cond *e;

    if (c == NULL)
        return E.code;
    if (expr_parse_condition(c, EXPR_KEY_CONDITION, text, strlen(text), &e,
                             &E))
        return E.code;
    return expr_key_condition(e, ks, r, &E);
}

/* ---- syntax --------------------------------------------------------------- */

static void test_syntax_messages(void)
{
    EXPECT_MSG(EXPR_PROJECTION, "a b", NULL, NULL,
               "Invalid ProjectionExpression: Syntax error; token: \"b\", "
               "near: \"a b\"");
    EXPECT_MSG(EXPR_PROJECTION, "a,", NULL, NULL,
               "Invalid ProjectionExpression: Syntax error; token: \"<EOF>\", "
               "near: \",\"");
    EXPECT_MSG(EXPR_PROJECTION, "!!!", NULL, NULL,
               "Invalid ProjectionExpression: Syntax error; token: \"!\", "
               "near: \"!!\"");
    EXPECT_MSG(EXPR_CONDITION, "a =", NULL, NULL,
               "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", "
               "near: \"=\"");
    EXPECT_MSG(EXPR_CONDITION, "a == :v", NULL, "{':v':{'N':'1'}}",
               "Invalid ConditionExpression: Syntax error; token: \"=\", "
               "near: \"== :v\"");
    EXPECT_MSG(EXPR_UPDATE, "SET a = ", NULL, NULL,
               "Invalid UpdateExpression: Syntax error; token: \"<EOF>\", "
               "near: \"= \"");
    EXPECT_MSG(EXPR_UPDATE, "SET", NULL, NULL,
               "Invalid UpdateExpression: Syntax error; token: \"<EOF>\", "
               "near: \"SET\"");
    EXPECT_MSG(EXPR_UPDATE, "SET numx / :v", NULL, "{':v':{'N':'1'}}",
               "Invalid UpdateExpression: Syntax error; token: \"/\", "
               "near: \"numx / :v\"");
    EXPECT_MSG(EXPR_UPDATE, "SET a = b +", NULL, NULL,
               "Invalid UpdateExpression: Syntax error; token: \"<EOF>\", "
               "near: \"+\"");
    EXPECT_MSG(EXPR_CONDITION, "a > 4", NULL, NULL,
               "Invalid ConditionExpression: Syntax error; token: \"4\", "
               "near: \"> 4\"");
    EXPECT_MSG(EXPR_CONDITION, "_hidden = :v", NULL, "{':v':{'N':'1'}}",
               "Invalid ConditionExpression: Syntax error; token: \"_\", "
               "near: \"_hidden\"");
    EXPECT_MSG(EXPR_FILTER, "a", NULL, NULL,
               "Invalid FilterExpression: Syntax error; token: \"<EOF>\", "
               "near: \"a\"");
    EXPECT_MSG(EXPR_FILTER, "a AND b = c", NULL, NULL,
               "Invalid FilterExpression: Syntax error; token: \"AND\", "
               "near: \"a AND b\"");
    EXPECT_MSG(EXPR_KEY_CONDITION, "things are not gonna be ok", NULL, NULL,
               "Invalid KeyConditionExpression: Syntax error; token: "
               "\"are\", near: \"things are not\"");
    EXPECT_MSG(EXPR_FILTER, "\xc3\xbc > a", NULL, NULL,
               "Invalid FilterExpression: Syntax error; token: \"\xc3\xbc\", "
               "near: \"\xc3\xbc >\"");
    EXPECT_MSG(EXPR_FILTER, "attribute_exists(a", NULL, NULL,
               "Invalid FilterExpression: Syntax error; token: \"<EOF>\", "
               "near: \"a\"");
}

/* Every expression DynamoDB (per dynalite's tests) rejects as a syntax
 * error. */
static void test_syntax_lists(void)
{
    static const char *const filters[] = {
        "things are not gonna be ok", "a > 4",
        "attribute_exists(Pictures-RearView)",
        "attribute_exists(\"Pictures.RearView\")",
        "attribute_exists(Pictures..RearView)",
        "attribute_exists(Pi#ctures.RearView)", "attribute_exists(asdf[a])",
        "a.:a < b.:b", "a in b, c", "a > between", "a in b", "a in (b,c,)",
        "(a)between(b.(c.d))and(c)", "(a)between(b.c.d)and((c)", "#$.b > a",
        "a > :things.stuff", "b[:a] > a", "b[#_] > a", "\xc3\xbc > a",
        "(a)between(b.c[4.5].#d)and(:a)", "size(a).b > a", "(size(a)).b > a",
        "size(a)[0] > a", "(size(a))[0] > a", "a <> ", "NOT", "a = :v AND",
        "(a = :v", "a = :v)", "a BETWEEN :v", "a IN ()", "a != :v", "a[] > b",
        "a[99999999999] > b", "()", "a = :v OR OR b = :v", "attribute_exists()",
    };
    static const char *const updates[] = {
        "whatever", "set a", "add a", "delete a", "set a=set", "remove a = b",
        "add a = b", "delete a = b", "delete a b", "delete a if_not_exist(b)",
        "add abort b", "add a if_not_exist(b)", "remove a b", "set a b",
        "set :a = b", "add :a b", "delete :a b", "remove :a", "set a = b / c",
        "set a = b * c", "set a[1] = \"eight\"", "set a[1] = 1",
        "SET a = if_not_exist(a, 100)", "SET if_not_exist(a, b) = a",
        "set (a = (b + c))", "set a = (b.c).d + e", "set a = (b.c)[0] + e",
        "set a = b + c + d", "SET a = b,", "REMOVE", "SET a = b REMOVE",
        "SET a = ((b + c))",
    };
    size_t k;

    for (k = 0; k < sizeof filters / sizeof filters[0]; k++)
        EXPECT_PREFIX(EXPR_FILTER, filters[k], NULL, NULL,
                      "Invalid FilterExpression: Syntax error; ");
    for (k = 0; k < sizeof updates / sizeof updates[0]; k++)
        EXPECT_PREFIX(EXPR_UPDATE, updates[k], NULL, NULL,
                      "Invalid UpdateExpression: Syntax error; ");
    /* Allowed forms. */
    EXPECT_OK(EXPR_UPDATE, "set a = (b + c)", NULL, NULL);
    EXPECT_OK(EXPR_UPDATE, "SET a = if_not_exists(a, b) + b", NULL, NULL);
    EXPECT_OK(EXPR_UPDATE, "set a = (b) + (c)", NULL, NULL);
    EXPECT_OK(EXPR_FILTER, "(a)between(b.c.d)and(c)", NULL, NULL);
    EXPECT_OK(EXPR_FILTER, "a\t=\nb\r", NULL, NULL);
}

static void test_empty_and_size(void)
{
    char big[5000];

    EXPECT_MSG(EXPR_CONDITION, "", NULL, NULL,
               "Invalid ConditionExpression: The expression can not be empty;");
    EXPECT_MSG(EXPR_UPDATE, "  ", NULL, NULL,
               "Invalid UpdateExpression: The expression can not be empty;");
    EXPECT_MSG(EXPR_PROJECTION, "", NULL, NULL,
               "Invalid ProjectionExpression: The expression can not be "
               "empty;");
    EXPECT_MSG(EXPR_KEY_CONDITION, "", NULL, NULL,
               "Invalid KeyConditionExpression: The expression can not be "
               "empty;");
    memset(big, ' ', sizeof big);
    memcpy(big, "a = b", 5);
    big[4096] = '\0';
    EXPECT_OK(EXPR_FILTER, big, NULL, NULL);
    big[4096] = ' ';
    big[4097] = '\0';
    EXPECT_MSG(EXPR_FILTER, big, NULL, NULL,
               "Invalid FilterExpression: Expression size has exceeded the "
               "maximum allowed size; expression size: 4097");
}

static void test_reserved(void)
{
    EXPECT_MSG(EXPR_UPDATE, "SET status = :s", NULL, "{':s':{'S':'x'}}",
               "Invalid UpdateExpression: Attribute name is a reserved "
               "keyword; reserved keyword: status");
    EXPECT_OK(EXPR_UPDATE, "SET #s = :s", "{'#s':'status'}",
              "{':s':{'S':'x'}}");
    EXPECT_MSG(EXPR_UPDATE, " remove Absolute ", NULL, NULL,
               "Invalid UpdateExpression: Attribute name is a reserved "
               "keyword; reserved keyword: Absolute");
    EXPECT_MSG(EXPR_UPDATE, " set #c = :c set abOrt = true ", NULL, NULL,
               "Invalid UpdateExpression: Attribute name is a reserved "
               "keyword; reserved keyword: abOrt");
    EXPECT_MSG(EXPR_FILTER, ":a < abOrT", NULL, NULL,
               "Invalid FilterExpression: Attribute name is a reserved "
               "keyword; reserved keyword: abOrT");
    EXPECT_MSG(EXPR_FILTER, "attribute_exists(views, #a)", NULL, NULL,
               "Invalid FilterExpression: Attribute name is a reserved "
               "keyword; reserved keyword: views");
    EXPECT_MSG(EXPR_PROJECTION, "a, b.size", NULL, NULL,
               "Invalid ProjectionExpression: Attribute name is a reserved "
               "keyword; reserved keyword: size");
    EXPECT_MSG(EXPR_PROJECTION, "zone", NULL, NULL,
               "Invalid ProjectionExpression: Attribute name is a reserved "
               "keyword; reserved keyword: zone");
    EXPECT_MSG(EXPR_PROJECTION, "ABORT", NULL, NULL,
               "Invalid ProjectionExpression: Attribute name is a reserved "
               "keyword; reserved keyword: ABORT");
    EXPECT_OK(EXPR_PROJECTION, "zones, abort1, localtimestamps, x", NULL, NULL);
    /* size( is a function even though size is reserved. */
    EXPECT_OK(EXPR_FILTER, "size(a) > :n", NULL, "{':n':{'N':'1'}}");
}

static void test_placeholders(void)
{
    struct expr_ctx *c;
    struct expr_cond *e;
    int rc;

    EXPECT_MSG(EXPR_FILTER, "#4g > a", NULL, NULL,
               "Invalid FilterExpression: An expression attribute name used "
               "in the document path is not defined; attribute name: #4g");
    EXPECT_MSG(EXPR_FILTER, "(a)between(b.c[45].#d)and(:a)", NULL, NULL,
               "Invalid FilterExpression: An expression attribute name used "
               "in the document path is not defined; attribute name: #d");
    EXPECT_MSG(EXPR_FILTER, ":a < :b", NULL, NULL,
               "Invalid FilterExpression: An expression attribute value used "
               "in expression is not defined; attribute value: :a");
    EXPECT_MSG(EXPR_UPDATE, "SET #c = if_not_exists(:c)", "{'#a':'a'}", NULL,
               "Invalid UpdateExpression: An expression attribute name used "
               "in the document path is not defined; attribute name: #c");
    EXPECT_MSG(EXPR_UPDATE, "SET #a = if_not_exists(:c)", "{'#a':'a'}",
               "{':a':{'S':'a'}}",
               "Invalid UpdateExpression: An expression attribute value used "
               "in expression is not defined; attribute value: :c");
    EXPECT_MSG(EXPR_PROJECTION, "#x", "{'#a':'a'}", NULL,
               "Invalid ProjectionExpression: An expression attribute name "
               "used in the document path is not defined; attribute name: #x");

    /* Maps: empty, bad keys, bad values. */
    ASSERT(mkctx("{}", NULL) == NULL);
    ASSERT_STR_EQ(E.msg, "ExpressionAttributeNames must not be empty");
    ASSERT(mkctx(NULL, "{}") == NULL);
    ASSERT_STR_EQ(E.msg, "ExpressionAttributeValues must not be empty");
    ASSERT(mkctx("{'a':'a'}", NULL) == NULL);
    ASSERT_STR_EQ(E.msg, "ExpressionAttributeNames contains invalid key: "
                         "Syntax error; key: \"a\"");
    ASSERT(mkctx(NULL, "{'b':{'S':'a'}}") == NULL);
    ASSERT_STR_EQ(E.msg, "ExpressionAttributeValues contains invalid key: "
                         "Syntax error; key: \"b\"");
    ASSERT(mkctx(NULL, "{':b':{'N':'x'}}") == NULL);
    ASSERT_EQ(E.code, TM_EVALIDATION);
    ASSERT(strncmp(E.msg, "ExpressionAttributeValues contains invalid value: ",
                   50) == 0);
    ASSERT(strstr(E.msg, " for key :b") != NULL);

    /* Unused names and values, across several expressions. */
    c = mkctx("{'#a':'a','#b':'b'}", "{':a':{'S':'x'},':c':{'S':'y'}}");
    ASSERT(c != NULL);
    rc = expr_parse_condition(c, EXPR_CONDITION, "#a = :a", 7, &e, &E);
    ASSERT_EQ(rc, 0);
    rc = expr_ctx_finish(c, &E);
    ASSERT_EQ(rc, TM_EVALIDATION);
    ASSERT_STR_EQ(E.msg, "Value provided in ExpressionAttributeNames unused "
                         "in expressions: keys: {#b}");
    rc = expr_parse_condition(c, EXPR_FILTER, "#b = :a", 7, &e, &E);
    ASSERT_EQ(rc, 0);
    rc = expr_ctx_finish(c, &E);
    ASSERT_STR_EQ(E.msg, "Value provided in ExpressionAttributeValues unused "
                         "in expressions: keys: {:c}");
    c = mkctx("{'#a':'a','#b':'b'}", NULL);
    ASSERT(c != NULL);
    ASSERT_EQ(expr_ctx_finish(c, &E), TM_EVALIDATION);
    ASSERT_STR_EQ(E.msg, "Value provided in ExpressionAttributeNames unused "
                         "in expressions: keys: {#a, #b}");
    c = mkctx(NULL, NULL);
    ASSERT(c != NULL);
    ASSERT_EQ(expr_ctx_finish(c, &E), 0);
}

static void test_functions_parse(void)
{
    static const char *const misused[][2] = {
        {"a=a and attribute_exists((views), (#a)) > b", "attribute_exists"},
        {"attribute_not_exists(things) > b", "attribute_not_exists"},
        {"attribute_type(things, :a) > b", "attribute_type"},
        {"begins_with(things, a) > b", "begins_with"},
        {"contains(:things, c) > b", "contains"},
        {"size(contains(a, b)) > a", "contains"},
        {"size(things)", "size"},
        {"a between b and attribute_exists(things)", "attribute_exists"},
        {"a in (b, attribute_exists(things))", "attribute_exists"},
        {"NOT size(a)", "size"},
    };
    static const char *const counts[][3] = {
        {"attribute_exists(things, a) and a=a", "attribute_exists", "2"},
        {"attribute_not_exists(things, b)", "attribute_not_exists", "2"},
        {"attribute_type(things)", "attribute_type", "1"},
        {"begins_with(things)", "begins_with", "1"},
        {"begins_with(things, size(a), b)", "begins_with", "3"},
        {"contains(things)", "contains", "1"},
        {"size(things, a) > b", "size", "2"},
    };
    static const char *const types[][3] = {
        {"attribute_type(a, :a)", "{'N':'1'}", "attribute_type, operand type: N"},
        {"attribute_type(a, :a)", "{'L':[]}", "attribute_type, operand type: L"},
        {"attribute_type(a, size(a)) and a=:a", "{'N':'1'}",
         "attribute_type, operand type: N"},
        {"begins_with(a, :a)", "{'N':'1'}", "begins_with, operand type: N"},
        {"begins_with(:a, a)", "{'BOOL':true}",
         "begins_with, operand type: BOOL"},
        {"begins_with(a, :a)", "{'SS':['1']}", "begins_with, operand type: SS"},
        {"begins_with(a, size(a)) and a=:a", "{'N':'1'}",
         "begins_with, operand type: N"},
        {"size(size(a)) > :a", "{'N':'1'}", "size, operand type: N"},
        {"attribute_not_exists(size(:a))", "{'N':'1'}", "size, operand type: N"},
        {"size(:a) > a", "{'NULL':true}", "size, operand type: NULL"},
        {"a < :a", "{'L':[]}", "<, operand type: L"},
        {":a >= a", "{'BOOL':false}", ">=, operand type: BOOL"},
        {"a BETWEEN :a AND :a", "{'M':{}}", "BETWEEN, operand type: M"},
    };
    char msg[512];
    size_t k;

    EXPECT_MSG(EXPR_FILTER, "a=a and whatever((:things)) > a", NULL, NULL,
               "Invalid FilterExpression: Invalid function name; function: "
               "whatever");
    EXPECT_MSG(EXPR_FILTER, "attRIbute_exIsts((views), #a)", NULL, NULL,
               "Invalid FilterExpression: Invalid function name; function: "
               "attRIbute_exIsts");
    EXPECT_MSG(EXPR_CONDITION, "ATTRIBUTE_EXISTS(a)", NULL, NULL,
               "Invalid ConditionExpression: Invalid function name; "
               "function: ATTRIBUTE_EXISTS");
    EXPECT_MSG(EXPR_CONDITION, "if_not_exists(a, :v)", NULL,
               "{':v':{'N':'1'}}",
               "Invalid ConditionExpression: Invalid function name; "
               "function: if_not_exists");
    for (k = 0; k < sizeof misused / sizeof misused[0]; k++) {
        snprintf(msg, sizeof msg, "Invalid FilterExpression: The function is "
                 "not allowed to be used this way in an expression; "
                 "function: %s", misused[k][1]);
        EXPECT_MSG(EXPR_FILTER, misused[k][0], NULL, NULL, msg);
    }
    for (k = 0; k < sizeof counts / sizeof counts[0]; k++) {
        snprintf(msg, sizeof msg, "Invalid FilterExpression: Incorrect number "
                 "of operands for operator or function; operator or function: "
                 "%s, number of operands: %s", counts[k][1], counts[k][2]);
        EXPECT_MSG(EXPR_FILTER, counts[k][0], NULL, NULL, msg);
    }
    for (k = 0; k < sizeof types / sizeof types[0]; k++) {
        char vals[128];
        snprintf(vals, sizeof vals, "{':a':%s}", types[k][1]);
        snprintf(msg, sizeof msg, "Invalid FilterExpression: Incorrect operand "
                 "type for operator or function; operator or function: %s",
                 types[k][2]);
        EXPECT_MSG(EXPR_FILTER, types[k][0], NULL, vals, msg);
    }
    EXPECT_MSG(EXPR_FILTER, "attribute_type(a, :a)", NULL, "{':a':{'S':'1'}}",
               "Invalid FilterExpression: Invalid attribute type name found; "
               "type: 1, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}");
    EXPECT_MSG(EXPR_FILTER, "attribute_type(a, b)", NULL, NULL,
               "Invalid FilterExpression: Incorrect operand type for operator "
               "or function; operator or function: attribute_type, operand "
               "type: {NS,SS,L,BS,N,M,B,BOOL,NULL,S}");
    EXPECT_MSG(EXPR_FILTER, "attribute_exists(:a) and a=a", NULL,
               "{':a':{'S':'1'}}",
               "Invalid FilterExpression: Operator or function requires a "
               "document path; operator or function: attribute_exists");
    EXPECT_MSG(EXPR_FILTER, "attribute_not_exists(size(:a))", NULL,
               "{':a':{'S':'1'}}",
               "Invalid FilterExpression: Operator or function requires a "
               "document path; operator or function: attribute_not_exists");
    EXPECT_OK(EXPR_FILTER, "size(:a) > a", NULL, "{':a':{'L':[]}}");
    EXPECT_OK(EXPR_FILTER, ":a > :a", NULL, "{':a':{'N':'1'}}");
}

static void test_distinct_parens_between_in(void)
{
    static const char *const distinct[][3] = {
        {"a = a AND #a = b AND :views > a", "=", "[a]"},
        {"#a <> a", "<>", "[a]"},
        {"a > #a", ">", "[a]"},
        {"((a=a) OR (a=a))", "=", "[a]"},
        {"contains(ab.bc[1].a, ab.bc[1].#a)", "contains", "[ab, bc, [1], a]"},
        {"begins_with(ab.bc[1].a, ab.bc[1].#a)", "begins_with",
         "[ab, bc, [1], a]"},
    };
    static const char *const parens[] = {
        "a=a and a > ((views))",
        "(a)between(((b.c)).d)and(c)",
        "a > whatever((:things), ((a)))",
        "a=a AND ((a=a AND a=a)) AND a=a",
        "a=a OR ((a=a OR a=a)) OR a=a",
        "a=a AND ((a=a AND (a=a AND a=a)))",
        "((c=:c) AND ((p=:p)))",
    };
    char msg[512], vals[4096];
    size_t k, o;

    for (k = 0; k < sizeof distinct / sizeof distinct[0]; k++) {
        snprintf(msg, sizeof msg, "Invalid FilterExpression: The first "
                 "operand must be distinct from the remaining operands for "
                 "this operator or function; operator: %s, first operand: %s",
                 distinct[k][1], distinct[k][2]);
        EXPECT_MSG(EXPR_FILTER, distinct[k][0], "{'#a':'a'}", NULL, msg);
    }
    for (k = 0; k < sizeof parens / sizeof parens[0]; k++)
        EXPECT_MSG(EXPR_FILTER, parens[k], NULL, NULL,
                   "Invalid FilterExpression: The expression has redundant "
                   "parentheses;");
    EXPECT_OK(EXPR_FILTER, "((c=:c) AND (p=:p))", NULL,
              "{':c':{'N':'1'},':p':{'N':'1'}}");
    EXPECT_OK(EXPR_FILTER, "(a = b)", NULL, NULL);
    EXPECT_MSG(EXPR_FILTER, "a between :b and :a", NULL,
               "{':a':{'S':'a'},':b':{'N':'1'}}",
               "Invalid FilterExpression: The BETWEEN operator requires same "
               "data type for lower and upper bounds; lower bound operand: "
               "AttributeValue: {N:1}, upper bound operand: AttributeValue: "
               "{S:a}");
    EXPECT_MSG(EXPR_KEY_CONDITION, "a between :b and :a", NULL,
               "{':a':{'S':'a'},':b':{'S':'b'}}",
               "Invalid KeyConditionExpression: The BETWEEN operator requires "
               "upper bound to be greater than or equal to lower bound; lower "
               "bound operand: AttributeValue: {S:b}, upper bound operand: "
               "AttributeValue: {S:a}");
    EXPECT_OK(EXPR_FILTER, "a between :a and :a", NULL, "{':a':{'S':'a'}}");
    /* IN takes at most 100 operands. */
    o = (size_t)snprintf(vals, sizeof vals, "{':v':{'N':'1'}}");
    (void)o;
    strcpy(msg, "a IN (:v");
    for (k = 1; k < 100; k++)
        strcat(msg, ",:v");
    strcat(msg, ")");
    EXPECT_OK(EXPR_FILTER, msg, NULL, vals);
    msg[strlen(msg) - 1] = '\0';
    strcat(msg, ",:v)");
    EXPECT_MSG(EXPR_FILTER, msg, NULL, vals,
               "Invalid FilterExpression: The IN operator is provided with too "
               "many operands; number of operands: 101");
}

/* ---- update parsing -------------------------------------------------------- */

static void test_update_parse_errors(void)
{
    static const char *const sections[][2] = {
        {"set a = #c set c = :d", "SET"},
        {"remove #d set a = b remove e", "REMOVE"},
        {"add #d :e set a = b add e :f", "ADD"},
        {"delete #d :e set a = b delete #e :f", "DELETE"},
    };
    static const char *const overlap[][3] = {
        {"set d[1] = a, d.b = a, c[1].a = a, #c = if_not_exists(a)",
         "[c, [1], a]", "[c]"},
        {"set c.b.#c = a, c = a, #d = a", "[c, b, c]", "[c]"},
        {"set a = b remove a, #c, #d", "[a]", "[a]"},
        {"set #c[3].#d = a, #c[3] = a", "[c, [3], [3]]", "[c, [3]]"},
        {"remove c, #c.a, #d", "[c]", "[c, a]"},
        {"remove a, #c, a, #d", "[a]", "[a]"},
    };
    static const char *const conflict[][3] = {
        {"set #c[3].#d = a, #c.#d[3] = if_not_exists(a)", "[c, [3], [3]]",
         "[c, [3], [3]]"},
        {"remove a.#c set a[1] = #d", "[a, c]", "[a, [1]]"},
    };
    static const char *const adddel[][4] = {
        {"set b = list_append(:a, a), c = if_not_exists(a) add a.b :a",
         "{'S':'a'}", "ADD", "STRING"},
        {"delete a.b :a", "{'S':'a'}", "DELETE", "STRING"},
        {"add a.b :a", "{'NULL':true}", "ADD", "NULL"},
        {"add a.b :a", "{'BOOL':false}", "ADD", "BOOLEAN"},
        {"delete a.b :a", "{'B':'YQ=='}", "DELETE", "BINARY"},
        {"add a.b :a", "{'M':{}}", "ADD", "MAP"},
        {"delete a.b :a", "{'L':[]}", "DELETE", "LIST"},
        {"delete a.b :a", "{'N':'1'}", "DELETE", "NUMBER"},
    };
    static const char *const ftypes[][2] = {
        {"set a = list_append(:a, a)", "list_append, operand type: S"},
        {"set a = list_append(a, :b)", "list_append, operand type: N"},
        {"set a = list_append(:i, a)", "list_append, operand type: M"},
        {"set a = a + :a", "+, operand type: S"},
        {"set a = :c + a", "+, operand type: B"},
        {"set a = a + :j", "+, operand type: L"},
        {"set a = a - :f", "-, operand type: SS"},
        {"set a = :a - :c", "-, operand type: S"},
    };
    const char *vals = "{':a':{'S':'a'},':b':{'N':'1'},':c':{'B':'YQ=='},"
                       "':f':{'SS':['a']},':i':{'M':{}},':j':{'L':[]}}";
    char msg[512], v[128];
    size_t k;

    for (k = 0; k < sizeof sections / sizeof sections[0]; k++) {
        snprintf(msg, sizeof msg, "Invalid UpdateExpression: The \"%s\" "
                 "section can only be used once in an update expression;",
                 sections[k][1]);
        EXPECT_MSG(EXPR_UPDATE, sections[k][0], NULL, NULL, msg);
    }
    for (k = 0; k < sizeof overlap / sizeof overlap[0]; k++) {
        snprintf(msg, sizeof msg, "Invalid UpdateExpression: Two document "
                 "paths overlap with each other; must remove or rewrite one of "
                 "these paths; path one: %s, path two: %s", overlap[k][1],
                 overlap[k][2]);
        EXPECT_MSG(EXPR_UPDATE, overlap[k][0], "{'#c':'c','#d':'[3]'}", NULL,
                   msg);
    }
    for (k = 0; k < sizeof conflict / sizeof conflict[0]; k++) {
        snprintf(msg, sizeof msg, "Invalid UpdateExpression: Two document "
                 "paths conflict with each other; must remove or rewrite one "
                 "of these paths; path one: %s, path two: %s", conflict[k][1],
                 conflict[k][2]);
        EXPECT_MSG(EXPR_UPDATE, conflict[k][0],
                   "{'#b':'b','#c':'c','#d':'[3]'}", NULL, msg);
    }
    for (k = 0; k < sizeof adddel / sizeof adddel[0]; k++) {
        snprintf(v, sizeof v, "{':a':%s}", adddel[k][1]);
        snprintf(msg, sizeof msg, "Invalid UpdateExpression: Incorrect operand "
                 "type for operator or function; operator: %s, operand type: "
                 "%s", adddel[k][2], adddel[k][3]);
        EXPECT_MSG(EXPR_UPDATE, adddel[k][0], NULL, v, msg);
    }
    for (k = 0; k < sizeof ftypes / sizeof ftypes[0]; k++) {
        snprintf(msg, sizeof msg, "Invalid UpdateExpression: Incorrect operand "
                 "type for operator or function; operator or function: %s",
                 ftypes[k][1]);
        EXPECT_MSG(EXPR_UPDATE, ftypes[k][0], NULL, vals, msg);
    }
    EXPECT_MSG(EXPR_UPDATE, "set a = if_not_exists(c)", NULL, NULL,
               "Invalid UpdateExpression: Incorrect number of operands for "
               "operator or function; operator or function: if_not_exists, "
               "number of operands: 1");
    EXPECT_MSG(EXPR_UPDATE, "set a = list_append(c, d, e)", NULL, NULL,
               "Invalid UpdateExpression: Incorrect number of operands for "
               "operator or function; operator or function: list_append, "
               "number of operands: 3");
    EXPECT_MSG(EXPR_UPDATE, "set a = if_not_exists(:a, c)", NULL, vals,
               "Invalid UpdateExpression: Operator or function requires a "
               "document path; operator or function: if_not_exists");
    EXPECT_MSG(EXPR_UPDATE, "set a = if_not_exists(if_not_exists(a, b), c)",
               NULL, NULL,
               "Invalid UpdateExpression: Operator or function requires a "
               "document path; operator or function: if_not_exists");
    EXPECT_MSG(EXPR_UPDATE, "set #c = if_not_exist(:c) set c = d", NULL, NULL,
               "Invalid UpdateExpression: Invalid function name; function: "
               "if_not_exist");
    EXPECT_MSG(EXPR_UPDATE, "set a = size(b)", NULL, NULL,
               "Invalid UpdateExpression: Invalid function name; function: "
               "size");
    /* Reserved words win over unknown functions in updates. */
    EXPECT_MSG(EXPR_UPDATE, "set a = whatever(b), c = name", NULL, NULL,
               "Invalid UpdateExpression: Attribute name is a reserved "
               "keyword; reserved keyword: name");
    EXPECT_OK(EXPR_UPDATE, "SET a.b[2].c = :v, a.b[3] = :v REMOVE a.d, x[0], "
              "x[1] ADD n :n DELETE s :s", NULL,
              "{':v':{'S':'x'},':n':{'N':'1'},':s':{'SS':['a']}}");
    EXPECT_OK(EXPR_UPDATE, "set a = b remove c add d :n delete e :s", NULL,
              "{':n':{'NS':['1']},':s':{'BS':['YQ==']}}");
    EXPECT_OK(EXPR_UPDATE, "sEt a=:v", NULL, "{':v':{'N':'1'}}");
}

/* ---- conditions ------------------------------------------------------------- */

static const char *ITEM =
    "{'pk':{'S':'p'},'n':{'N':'10'},'s':{'S':'banana'},"
    "'b':{'B':'AQID'},'t':{'BOOL':true},'z':{'NULL':true},"
    "'ss':{'SS':['red','green']},'ns':{'NS':['1','5']},'bs':{'BS':['AQ==']},"
    "'l':{'L':[{'S':'a'},{'S':'b'},{'N':'3'}]},"
    "'m':{'M':{'nested':{'M':{'deep':{'S':'x'}}},"
    "'arr':{'L':[{'M':{'v':{'N':'1'}}},{'M':{'v':{'N':'2'}}}]}}},"
    "'u':{'S':'\xc3\xa9\xf0\x9d\x84\x9e'},'dotted.name':{'S':'yes'}}";

#define HOLDS(expr, vals) ASSERT_EQ(cond(ITEM, (expr), NULL, (vals)), 1)
#define FAILS(expr, vals) ASSERT_EQ(cond(ITEM, (expr), NULL, (vals)), 0)

static void test_eval_compare(void)
{
    HOLDS("n > :v", "{':v':{'N':'9'}}");
    HOLDS("n < :v", "{':v':{'N':'100'}}");
    HOLDS("n = :v", "{':v':{'N':'10.0'}}");
    HOLDS("n >= :v AND n <= :v", "{':v':{'N':'1E1'}}");
    FAILS("n > :v", "{':v':{'N':'10'}}");
    HOLDS("s > :v", "{':v':{'S':'apple'}}");
    HOLDS("s < :v", "{':v':{'S':'banana_'}}");
    HOLDS("b < :v", "{':v':{'B':'AQQ='}}");
    HOLDS("b > :v", "{':v':{'B':'AQ=='}}");
    /* Different types: unequal and unordered. */
    FAILS("s > :v", "{':v':{'N':'1'}}");
    FAILS("s < :v", "{':v':{'N':'1'}}");
    HOLDS("s <> :v", "{':v':{'N':'1'}}");
    FAILS("n = :v", "{':v':{'S':'10'}}");
    /* Missing attributes. */
    HOLDS("absent <> :v", "{':v':{'N':'1'}}");
    FAILS("absent = :v", "{':v':{'N':'1'}}");
    FAILS("absent < :v", "{':v':{'N':'1'}}");
    FAILS(":v < absent", "{':v':{'N':'1'}}");
    HOLDS("q <> absent", NULL);
    FAILS("q = absent", NULL);
    FAILS("q <= absent", NULL);
    FAILS("q BETWEEN absent AND x", NULL);
    /* Unordered types compare false (from the item). */
    FAILS("l < :v", "{':v':{'N':'1'}}");
    FAILS("t >= :v", "{':v':{'N':'1'}}");
    /* Equality of composite values. */
    HOLDS("ss = :v", "{':v':{'SS':['green','red']}}");
    FAILS("ss = :v", "{':v':{'SS':['green']}}");
    HOLDS("ss <> :v", "{':v':{'SS':['green','blue']}}");
    HOLDS("t = :v", "{':v':{'BOOL':true}}");
    HOLDS("z = :v", "{':v':{'NULL':true}}");
    HOLDS("l = :v", "{':v':{'L':[{'S':'a'},{'S':'b'},{'N':'3.0'}]}}");
    HOLDS("m.nested = :v", "{':v':{'M':{'deep':{'S':'x'}}}}");
    FAILS("n = n2", NULL);
}

static void test_eval_between_in_logic(void)
{
    HOLDS("n BETWEEN :lo AND :hi", "{':lo':{'N':'10'},':hi':{'N':'20'}}");
    FAILS("n BETWEEN :lo AND :hi", "{':lo':{'N':'11'},':hi':{'N':'20'}}");
    HOLDS("s BETWEEN :lo AND :hi", "{':lo':{'S':'b'},':hi':{'S':'c'}}");
    FAILS("s BETWEEN :lo AND :hi", "{':lo':{'N':'1'},':hi':{'N':'2'}}");
    HOLDS("s IN (:a, :b)", "{':a':{'S':'apple'},':b':{'S':'banana'}}");
    FAILS("s IN (:a)", "{':a':{'S':'apple'}}");
    FAILS("absent IN (:a)", "{':a':{'S':'apple'}}");
    HOLDS("n IN (s, n)", NULL);
    /* Precedence: AND before OR, NOT before AND, parentheses first. */
    HOLDS("n = :y OR n = :y AND n = :n", "{':y':{'N':'10'},':n':{'N':'11'}}");
    FAILS("(n = :y OR n = :y) AND n = :n",
          "{':y':{'N':'10'},':n':{'N':'11'}}");
    HOLDS("NOT n = :n AND n = :y", "{':y':{'N':'10'},':n':{'N':'11'}}");
    FAILS("not (n = :y)", "{':y':{'N':'10'}}");
    HOLDS("NOT NOT n = :y", "{':y':{'N':'10'}}");
    FAILS("NOT n = :y OR NOT n = :y", "{':y':{'N':'10'}}");
    HOLDS("n between :lo and :hi Or s in (:a)",
          "{':lo':{'N':'1'},':hi':{'N':'20'},':a':{'S':'x'}}");
    FAILS("n = :y AND NOT (s = :s OR t = :t)",
          "{':y':{'N':'10'},':s':{'S':'x'},':t':{'BOOL':true}}");
    HOLDS("n = :y AND NOT (s = :s AND t = :t)",
          "{':y':{'N':'10'},':s':{'S':'x'},':t':{'BOOL':true}}");
}

static void test_eval_functions(void)
{
    static const char *const types[][2] = {
        {"s", "S"}, {"n", "N"}, {"b", "B"}, {"t", "BOOL"}, {"z", "NULL"},
        {"m", "M"}, {"l", "L"}, {"ss", "SS"}, {"ns", "NS"}, {"bs", "BS"},
    };
    static const char *const codes[] = {"S", "N", "B", "BOOL", "NULL",
                                        "M", "L", "SS", "NS", "BS"};
    char expr[64], vals[64];
    size_t k, i;

    HOLDS("attribute_exists(n) AND attribute_not_exists(absent)", NULL);
    HOLDS("attribute_exists(z)", NULL);
    HOLDS("attribute_exists(m.arr[1].v)", NULL);
    HOLDS("attribute_not_exists(l[9])", NULL);
    HOLDS("attribute_not_exists(s.x)", NULL);
    for (k = 0; k < 10; k++) {
        for (i = 0; i < 10; i++) {
            snprintf(expr, sizeof expr, "attribute_type(%s, :t)", types[k][0]);
            snprintf(vals, sizeof vals, "{':t':{'S':'%s'}}", codes[i]);
            ASSERT_EQ(cond(ITEM, expr, NULL, vals),
                      strcmp(types[k][1], codes[i]) == 0);
        }
    }
    FAILS("attribute_type(absent, :t)", "{':t':{'S':'S'}}");
    HOLDS("begins_with(s, :p)", "{':p':{'S':'ban'}}");
    HOLDS("begins_with(s, :p)", "{':p':{'S':'banana'}}");
    FAILS("begins_with(s, :p)", "{':p':{'S':'nan'}}");
    HOLDS("begins_with(b, :p)", "{':p':{'B':'AQI='}}");
    FAILS("begins_with(b, :p)", "{':p':{'S':'x'}}");
    FAILS("begins_with(l, :p)", "{':p':{'S':'a'}}");
    FAILS("begins_with(absent, :p)", "{':p':{'S':'a'}}");
    HOLDS("contains(s, :v)", "{':v':{'S':'nan'}}");
    FAILS("contains(s, :v)", "{':v':{'S':'nab'}}");
    HOLDS("contains(ss, :v)", "{':v':{'S':'red'}}");
    FAILS("contains(ss, :v)", "{':v':{'S':'blue'}}");
    FAILS("contains(ss, :v)", "{':v':{'N':'1'}}");
    HOLDS("contains(ns, :v)", "{':v':{'N':'5.0'}}");
    HOLDS("contains(bs, :v)", "{':v':{'B':'AQ=='}}");
    HOLDS("contains(l, :v)", "{':v':{'N':'3'}}");
    HOLDS("contains(l, :v)", "{':v':{'S':'b'}}");
    FAILS("contains(l, :v)", "{':v':{'S':'c'}}");
    FAILS("contains(n, :v)", "{':v':{'N':'1'}}");
    FAILS("contains(absent, :v)", "{':v':{'N':'1'}}");
    HOLDS("contains(b, :v)", "{':v':{'B':'Ag=='}}");
    /* size(): UTF-16 units for S, bytes for B, counts otherwise. */
    HOLDS("size(s) = :v", "{':v':{'N':'6'}}");
    HOLDS("size(u) = :v", "{':v':{'N':'3'}}");
    HOLDS("size(b) = :v", "{':v':{'N':'3'}}");
    HOLDS("size(ss) = :v AND size(l) = :w AND size(m) = :v",
          "{':v':{'N':'2'},':w':{'N':'3'}}");
    HOLDS("size(ns) = :v AND size(bs) = :w", "{':v':{'N':'2'},':w':{'N':'1'}}");
    FAILS("size(n) = :v", "{':v':{'N':'2'}}");
    FAILS("size(t) >= :v", "{':v':{'N':'0'}}");
    FAILS("size(absent) >= :v", "{':v':{'N':'0'}}");
    HOLDS("size(:x) = :v", "{':v':{'N':'2'},':x':{'S':'ab'}}");
    HOLDS(":v < size(s)", "{':v':{'N':'2'}}");
    HOLDS("size(s) BETWEEN :a AND :b", "{':a':{'N':'6'},':b':{'N':'7'}}");
    HOLDS("size(l) IN (:a, :b)", "{':a':{'N':'6'},':b':{'N':'3'}}");
    /* Nested paths and placeholders. */
    HOLDS("m.nested.deep = :x", "{':x':{'S':'x'}}");
    HOLDS("m.arr[1].v = :two", "{':two':{'N':'2'}}");
    HOLDS("l[0] = :a", "{':a':{'S':'a'}}");
    FAILS("l[0].x = :a", "{':a':{'S':'a'}}");
    FAILS("s[0] = :a", "{':a':{'S':'b'}}");
    ASSERT_EQ(cond(ITEM, "#d = :y", "{'#d':'dotted.name'}",
                   "{':y':{'S':'yes'}}"), 1);
    ASSERT_EQ(cond(ITEM, "#m.#n.deep = :x", "{'#m':'m','#n':'nested'}",
                   "{':x':{'S':'x'}}"), 1);
    /* No item: everything is missing. */
    ASSERT_EQ(cond(NULL, "attribute_exists(pk)", NULL, NULL), 0);
    ASSERT_EQ(cond(NULL, "attribute_not_exists(pk)", NULL, NULL), 1);
    ASSERT_EQ(cond(NULL, "a <> :v", NULL, "{':v':{'N':'1'}}"), 1);
}

/* ---- projections --------------------------------------------------------------- */

static void test_projection(void)
{
    const char *it = "{'a':{'S':'x'},'b':{'N':'1'},"
                     "'m':{'M':{'x':{'N':'1'},'y':{'L':[{'N':'0'},{'N':'1'},"
                     "{'M':{'q':{'S':'q'},'r':{'S':'r'}}}]}}},"
                     "'l':{'L':[{'S':'l0'},{'S':'l1'},{'S':'l2'},{'S':'l3'}]}}";

    ASSERT_EQ(proj(it, "a", NULL, "{'a':{'S':'x'}}"), 1);
    ASSERT_EQ(proj(it, "a, b, nope", NULL, "{'a':{'S':'x'},'b':{'N':'1'}}"), 1);
    ASSERT_EQ(proj(it, "m.x", NULL, "{'m':{'M':{'x':{'N':'1'}}}}"), 1);
    ASSERT_EQ(proj(it, "l[3], l[1]", NULL,
                   "{'l':{'L':[{'S':'l1'},{'S':'l3'}]}}"), 1);
    ASSERT_EQ(proj(it, "l[1], l[7]", NULL, "{'l':{'L':[{'S':'l1'}]}}"), 1);
    ASSERT_EQ(proj(it, "m.y[2].r, m.x", NULL,
                   "{'m':{'M':{'x':{'N':'1'},'y':{'L':[{'M':{'r':{'S':'r'}}}]}"
                   "}}}"), 1);
    ASSERT_EQ(proj(it, "m.y[0], m.y[2].q", NULL,
                   "{'m':{'M':{'y':{'L':[{'N':'0'},{'M':{'q':{'S':'q'}}}]}}}}"),
              1);
    /* Nothing under a parent: the parent is omitted. */
    ASSERT_EQ(proj(it, "m.nope, a.b, l[9], b[0]", NULL, "{}"), 1);
    ASSERT_EQ(proj(it, "#m.#x", "{'#m':'m','#x':'x'}",
                   "{'m':{'M':{'x':{'N':'1'}}}}"), 1);
    EXPECT_MSG(EXPR_PROJECTION, "a, a.b", NULL, NULL,
               "Invalid ProjectionExpression: Two document paths overlap with "
               "each other; must remove or rewrite one of these paths; path "
               "one: [a], path two: [a, b]");
    EXPECT_MSG(EXPR_PROJECTION, "a.b, a[0]", NULL, NULL,
               "Invalid ProjectionExpression: Two document paths conflict "
               "with each other; must remove or rewrite one of these paths; "
               "path one: [a, b], path two: [a, [0]]");
    EXPECT_MSG(EXPR_PROJECTION, "a[1], a[1]", NULL, NULL,
               "Invalid ProjectionExpression: Two document paths overlap with "
               "each other; must remove or rewrite one of these paths; path "
               "one: [a, [1]], path two: [a, [1]]");
    EXPECT_OK(EXPR_PROJECTION, "a.b, a.c, a.d[0], x", NULL, NULL);
    EXPECT_PREFIX(EXPR_PROJECTION, "a.b.", NULL, NULL,
                  "Invalid ProjectionExpression: Syntax error; ");
    EXPECT_PREFIX(EXPR_PROJECTION, "a = b", NULL, NULL,
                  "Invalid ProjectionExpression: Syntax error; ");
    EXPECT_PREFIX(EXPR_PROJECTION, ":v", NULL, "{':v':{'N':'1'}}",
                  "Invalid ProjectionExpression: Syntax error; ");
}

/* ---- updates --------------------------------------------------------------------- */

#define UPD_OK(itm, text, names, vals, want)                                  \
    do {                                                                      \
        int r_ = upd((itm), (text), (names), (vals), (want));                 \
        if (r_ < 0)                                                           \
            TEST_FAIL_("%s: error %s", (text), E.msg);                        \
        ASSERT_EQ(r_, 1);                                                     \
    } while (0)

#define UPD_ERR(itm, text, names, vals, want_)                                \
    do {                                                                      \
        int r_ = upd((itm), (text), (names), (vals), NULL);                   \
        if (r_ >= 0)                                                          \
            TEST_FAIL_("%s: expected an error", (text));                      \
        ASSERT_STR_EQ(E.msg, (want_));                                        \
    } while (0)

static const char *BASE =
    "{'pk':{'S':'k'},'tally':{'N':'1'},'label':{'S':'x'},"
    "'letters':{'L':[{'N':'1'},{'N':'2'},{'N':'3'}]},"
    "'info':{'M':{'a':{'N':'1'}}},'tags':{'SS':['a','b']},"
    "'nums':{'NS':['1','2']},'bins':{'BS':['AQ==']}}";

static void test_update_set(void)
{
    UPD_OK(BASE, "SET a = :a, info.b = :b, #l[0] = :z", "{'#l':'letters'}",
           "{':a':{'S':'A'},':b':{'N':'2'},':z':{'N':'0'}}",
           "{'pk':{'S':'k'},'tally':{'N':'1'},'label':{'S':'x'},"
           "'letters':{'L':[{'N':'0'},{'N':'2'},{'N':'3'}]},"
           "'info':{'M':{'a':{'N':'1'},'b':{'N':'2'}}},'tags':{'SS':['a','b']},"
           "'nums':{'NS':['1','2']},'bins':{'BS':['AQ==']},'a':{'S':'A'}}");
    /* Index past the end appends. */
    UPD_OK("{'pk':{'S':'k'},'l':{'L':[{'N':'1'}]}}", "SET l[10] = :v", NULL,
           "{':v':{'N':'4'}}",
           "{'pk':{'S':'k'},'l':{'L':[{'N':'1'},{'N':'4'}]}}");
    /* Replace a whole attribute with another type. */
    UPD_OK("{'pk':{'S':'k'},'a':{'N':'1'}}", "SET a = :v", NULL,
           "{':v':{'M':{'x':{'L':[]}}}}",
           "{'pk':{'S':'k'},'a':{'M':{'x':{'L':[]}}}}");
    /* Operands are read from the old item: a swap. */
    UPD_OK("{'pk':{'S':'k'},'a':{'N':'1'},'b':{'N':'2'}}", "SET a = b, b = a",
           NULL, NULL, "{'pk':{'S':'k'},'a':{'N':'2'},'b':{'N':'1'}}");
    UPD_OK("{'pk':{'S':'k'},'tally':{'N':'1'}}", "SET a = tally, tally = :t",
           NULL, "{':t':{'N':'10'}}",
           "{'pk':{'S':'k'},'tally':{'N':'10'},'a':{'N':'1'}}");
    /* Arithmetic, exactly. */
    UPD_OK("{'pk':{'S':'k'},'f':{'N':'0.1'},'t':{'N':'1'}}",
           "SET f = f + :f, t = t - :one", NULL,
           "{':f':{'N':'0.2'},':one':{'N':'1'}}",
           "{'pk':{'S':'k'},'f':{'N':'0.3'},'t':{'N':'0'}}");
    UPD_OK("{'pk':{'S':'k'},'t':{'N':'5'}}", "SET x = :a - t", NULL,
           "{':a':{'N':'3'}}", "{'pk':{'S':'k'},'t':{'N':'5'},'x':{'N':'-2'}}");
    UPD_OK("{'pk':{'S':'k'}}", "SET x = (:a + :a)", NULL, "{':a':{'N':'3'}}",
           "{'pk':{'S':'k'},'x':{'N':'6'}}");
    UPD_ERR("{'pk':{'S':'k'},'t':{'N':'9.9999999999999999999999999999999999999E+125'}}",
            "SET t = t + t", NULL, NULL,
            "Number overflow. Attempting to store a number with magnitude "
            "larger than supported range");
    UPD_ERR("{'pk':{'S':'k'},'t':{'N':'12345678901234567890123456789012345678'}}",
            "SET t = t + :s", NULL, "{':s':{'N':'0.1'}}",
            "Number overflow. Attempting to store a number with magnitude "
            "larger than supported range");
    UPD_ERR("{'pk':{'S':'k'},'s':{'S':'x'}}", "SET t = s + :n", NULL,
            "{':n':{'N':'1'}}",
            "An operand in the update expression has an incorrect data type");
    UPD_ERR("{'pk':{'S':'k'}}", "SET t = absent + :n", NULL,
            "{':n':{'N':'1'}}",
            "The provided expression refers to an attribute that does not "
            "exist in the item");
    UPD_ERR("{'pk':{'S':'k'}}", "SET c = b", NULL, NULL,
            "The provided expression refers to an attribute that does not "
            "exist in the item");
    /* if_not_exists and list_append. */
    UPD_OK("{'pk':{'S':'k'},'tally':{'N':'1'}}",
           "SET tally = if_not_exists(tally, :zero) + :one, "
           "fresh = if_not_exists(fresh, :zero)", NULL,
           "{':zero':{'N':'0'},':one':{'N':'1'}}",
           "{'pk':{'S':'k'},'tally':{'N':'2'},'fresh':{'N':'0'}}");
    UPD_OK("{'pk':{'S':'k'},'l':{'L':[{'N':'1'},{'N':'2'}]}}",
           "SET l = list_append(l, :tail), alt = list_append(if_not_exists("
           "alt, :empty), :tail), front = list_append(:head, l)", NULL,
           "{':tail':{'L':[{'N':'9'}]},':empty':{'L':[]},"
           "':head':{'L':[{'N':'0'}]}}",
           "{'pk':{'S':'k'},'l':{'L':[{'N':'1'},{'N':'2'},{'N':'9'}]},"
           "'alt':{'L':[{'N':'9'}]},"
           "'front':{'L':[{'N':'0'},{'N':'1'},{'N':'2'}]}}");
    UPD_ERR("{'pk':{'S':'k'},'s':{'S':'x'}}", "SET l = list_append(s, :t)",
            NULL, "{':t':{'L':[]}}",
            "An operand in the update expression has an incorrect data type");
    UPD_ERR("{'pk':{'S':'k'}}", "SET e = list_append(b, c)", NULL, NULL,
            "The provided expression refers to an attribute that does not "
            "exist in the item");
    UPD_ERR("{'pk':{'S':'k'}}", "SET x = if_not_exists(a, b)", NULL, NULL,
            "The provided expression refers to an attribute that does not "
            "exist in the item");
    /* A new item starts from its key. */
    UPD_OK(NULL, "SET v = :v, w = pk", NULL, "{':v':{'N':'1'}}",
           "{'pk':{'S':'k'},'v':{'N':'1'},'w':{'S':'k'}}");
}

static void test_update_invalid_paths(void)
{
    static const char *const bad[] = {
        "set b.a = :a", "set b[1] = :a", "set y.a = :a", "set y[1] = :a",
        "set c[1] = :a", "set d.#1 = :a", "remove b.a", "remove b[1]",
        "remove y.a", "remove y[1]", "remove c[1]", "remove d.#1",
        "delete b.a :a", "delete b[1] :a", "delete y.a :a", "delete y[1] :a",
        "delete c[1] :a", "delete d.#1 :a", "add b.a :a", "add b[1] :a",
        "add y.a :a", "add y[1] :a", "add c[1] :a", "add d.#1 :a",
        "set y.a.b = :a",
    };
    const char *it = "{'pk':{'S':'k'},'b':{'S':'k'},'c':{'M':{'1':{'S':'a'}}},"
                     "'d':{'L':[{'S':'a'},{'S':'b'}]}}";
    size_t k;

    for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        int needs_name = strstr(bad[k], "#1") != NULL;
        UPD_ERR(it, bad[k], needs_name ? "{'#1':'1'}" : NULL,
                strstr(bad[k], ":a") ? "{':a':{'SS':['a']}}" : NULL,
                "The document path provided in the update expression is "
                "invalid for update");
    }
    UPD_ERR(NULL, "set b.a = :a", NULL, "{':a':{'N':'1'}}",
            "The document path provided in the update expression is invalid "
            "for update");
    /* Missing leaves under valid parents are fine. */
    UPD_OK(it, "remove c.zz, d[7], nope", NULL, NULL, it);
    UPD_OK(it, "delete c.zz :a", NULL, "{':a':{'SS':['a']}}", it);
}

static void test_update_remove(void)
{
    UPD_OK(BASE, "REMOVE #n, info.a, letters[0], letters[2]", "{'#n':'label'}",
           NULL,
           "{'pk':{'S':'k'},'tally':{'N':'1'},'letters':{'L':[{'N':'2'}]},"
           "'info':{'M':{}},'tags':{'SS':['a','b']},'nums':{'NS':['1','2']},"
           "'bins':{'BS':['AQ==']}}");
    UPD_OK("{'pk':{'S':'k'},'l':{'L':[{'M':{'a':{'N':'1'},'b':{'N':'2'}}},"
           "{'N':'5'}]}}", "REMOVE l[1], l[0].a", NULL, NULL,
           "{'pk':{'S':'k'},'l':{'L':[{'M':{'b':{'N':'2'}}}]}}");
    UPD_OK("{'pk':{'S':'k'},'l':{'L':[{'N':'0'},{'N':'1'},{'N':'2'}]}}",
           "SET l[1] = :x REMOVE l[0]", NULL, "{':x':{'S':'x'}}",
           "{'pk':{'S':'k'},'l':{'L':[{'S':'x'},{'N':'2'}]}}");
    UPD_OK("{'pk':{'S':'k'},'a':{'N':'1'}}", "REMOVE a, b", NULL, NULL,
           "{'pk':{'S':'k'}}");
}

static void test_update_add_delete(void)
{
    UPD_OK(BASE, "ADD #c :five, newCount :five, tags :more, nums :ns, "
           "bins :bs, fresh :ns", "{'#c':'tally'}",
           "{':five':{'N':'5'},':more':{'SS':['b','c']},':ns':{'NS':['3','1']},"
           "':bs':{'BS':['Ag==']}}",
           "{'pk':{'S':'k'},'tally':{'N':'6'},'label':{'S':'x'},"
           "'letters':{'L':[{'N':'1'},{'N':'2'},{'N':'3'}]},"
           "'info':{'M':{'a':{'N':'1'}}},'tags':{'SS':['a','b','c']},"
           "'nums':{'NS':['1','2','3']},'bins':{'BS':['AQ==','Ag==']},"
           "'newCount':{'N':'5'},'fresh':{'NS':['1','3']}}");
    UPD_OK("{'pk':{'S':'k'},'m':{'M':{}}}", "ADD m.n :one", NULL,
           "{':one':{'N':'1'}}", "{'pk':{'S':'k'},'m':{'M':{'n':{'N':'1'}}}}");
    UPD_OK(BASE, "DELETE tags :a, nums :n, bins :b, absent :a", NULL,
           "{':a':{'SS':['a','zz']},':n':{'NS':['2.0']},':b':{'BS':['AQ==']}}",
           "{'pk':{'S':'k'},'tally':{'N':'1'},'label':{'S':'x'},"
           "'letters':{'L':[{'N':'1'},{'N':'2'},{'N':'3'}]},"
           "'info':{'M':{'a':{'N':'1'}}},'tags':{'SS':['b']},"
           "'nums':{'NS':['1']}}");
    UPD_OK("{'pk':{'S':'k'},'s':{'SS':['a','b']}}", "DELETE s :all", NULL,
           "{':all':{'SS':['b','a']}}", "{'pk':{'S':'k'}}");
    UPD_ERR(BASE, "ADD tags :n", NULL, "{':n':{'NS':['1']}}",
            "An operand in the update expression has an incorrect data type");
    UPD_ERR(BASE, "ADD label :n", NULL, "{':n':{'N':'1'}}",
            "An operand in the update expression has an incorrect data type");
    UPD_ERR(BASE, "ADD nums :n", NULL, "{':n':{'N':'1'}}",
            "An operand in the update expression has an incorrect data type");
    UPD_ERR(BASE, "DELETE tally :n", NULL, "{':n':{'NS':['1']}}",
            "An operand in the update expression has an incorrect data type");
    UPD_ERR(BASE, "DELETE tags :n", NULL, "{':n':{'NS':['1']}}",
            "An operand in the update expression has an incorrect data type");
    UPD_ERR("{'pk':{'S':'k'},'t':{'N':'9.9999999999999999999999999999999999999E+125'}}",
            "ADD t :n", NULL, "{':n':{'N':'9E125'}}",
            "Number overflow. Attempting to store a number with magnitude "
            "larger than supported range");
    UPD_OK("{'pk':{'S':'k'}}", "REMOVE b DELETE c :c ADD d :d, e :e SET f = :f",
           NULL,
           "{':c':{'SS':['a','b']},':d':{'N':'5'},':e':{'SS':['a','b']},"
           "':f':{'L':[{'S':'a'},{'N':'1'}]}}",
           "{'pk':{'S':'k'},'d':{'N':'5'},'e':{'SS':['a','b']},"
           "'f':{'L':[{'S':'a'},{'N':'1'}]}}");
}

static void test_update_keys_and_limits(void)
{
    struct expr_ctx *c;
    struct expr_update *u;
    struct av old, key, got;
    static const char *const key_updates[] = {
        "add pk.b :n", "remove d set b = :n, pk = :n", "delete pk :ns",
        "set pk = :n",
    };
    size_t k;
    char nest[512];
    int rc;

    for (k = 0; k < sizeof key_updates / sizeof key_updates[0]; k++) {
        c = mkctx(NULL, "{':n':{'N':'1'},':ns':{'NS':['1']}}");
        ASSERT(c != NULL);
        ASSERT_EQ(expr_parse_update(c, key_updates[k], strlen(key_updates[k]),
                                    &u, &E), 0);
        ASSERT_EQ(item("{'pk':{'S':'k'},'sk':{'N':'1'}}", &key), 0);
        rc = expr_update_apply(u, NULL, &key, &KS2, A, &got, &E);
        ASSERT_EQ(rc, TM_EVALIDATION);
        ASSERT_STR_EQ(E.msg, "One or more parameter values were invalid: "
                             "Cannot update attribute pk. This attribute is "
                             "part of the key");
    }
    c = mkctx(NULL, "{':n':{'N':'1'}}");
    ASSERT(c != NULL);
    ASSERT_EQ(expr_parse_update(c, "set sk = :n", 11, &u, &E), 0);
    ASSERT_EQ(expr_update_apply(u, NULL, &key, &KS2, A, &got, &E),
              TM_EVALIDATION);
    ASSERT_STR_EQ(E.msg, "One or more parameter values were invalid: Cannot "
                         "update attribute sk. This attribute is part of the "
                         "key");
    /* Nesting: an attribute is level 1; a scalar at level 32 passes, 33
     * does not. */
    strcpy(nest, "SET a");
    for (k = 0; k < 30; k++)
        strcat(nest, ".a");
    c = mkctx(NULL, "{':v':{'N':'1'},':m':{'M':{'x':{'N':'1'}}}}");
    ASSERT(c != NULL);
    ASSERT_EQ(item("{'pk':{'S':'k'}}", &old), 0);
    strcat(nest, " = :v");
    ASSERT_EQ(expr_parse_update(c, nest, strlen(nest), &u, &E), 0);
    /* The parents do not exist: an invalid path, but not a nesting error. */
    ASSERT_EQ(expr_update_apply(u, &old, &old, &KS, A, &got, &E),
              TM_EVALIDATION);
    ASSERT(strstr(E.msg, "document path") != NULL);
    strcpy(nest, "SET a");
    for (k = 0; k < 31; k++)
        strcat(nest, ".a");
    strcat(nest, " = :m");
    ASSERT_EQ(expr_parse_update(c, nest, strlen(nest), &u, &E), 0);
    ASSERT_EQ(expr_update_apply(u, &old, &old, &KS, A, &got, &E),
              TM_EVALIDATION);
    ASSERT(strstr(E.msg, "Nesting Levels") != NULL);
}

static void test_update_paths(void)
{
    struct expr_ctx *c = mkctx(NULL, "{':v':{'N':'7'}}");
    struct expr_update *u;
    struct av old, got, part;
    const char *text = "SET info.a = :v, z = :v REMOVE label";

    ASSERT(c != NULL);
    ASSERT_EQ(expr_parse_update(c, text, strlen(text), &u, &E), 0);
    ASSERT_EQ(item(BASE, &old), 0);
    ASSERT_EQ(expr_project(expr_update_paths(u), &old, A, &part), 0);
    ASSERT_STR_EQ(show(&part), j("{'info':{'M':{'a':{'N':'1'}}},'label':{'S':"
                                 "'x'}}"));
    ASSERT_EQ(expr_update_apply(u, &old, &old, &KS, A, &got, &E), 0);
    ASSERT_EQ(expr_project(expr_update_paths(u), &got, A, &part), 0);
    ASSERT_STR_EQ(show(&part), j("{'info':{'M':{'a':{'N':'7'}}},'z':{'N':'7'}}"));
    /* The old item is untouched. */
    {
        struct av again;
        ASSERT_EQ(item(BASE, &again), 0);
        ASSERT(av_equal(&again, &old));
    }
}

/* ---- key conditions ------------------------------------------------------------- */

static void test_key_conditions(void)
{
    struct expr_key_range r;
    const char *v = "{':p':{'S':'p'},':c':{'N':'3'},':d':{'N':'7'}}";
    static const struct {
        const char *text;
        enum expr_key_op op;
    } ok[] = {
        {"pk = :p AND sk = :c", EXPR_KEY_EQ},
        {"pk = :p AND sk < :c", EXPR_KEY_LT},
        {"pk = :p AND sk <= :c", EXPR_KEY_LE},
        {"pk = :p AND sk > :c", EXPR_KEY_GT},
        {"pk = :p AND sk >= :c", EXPR_KEY_GE},
        {":c > sk AND :p = pk", EXPR_KEY_LT},
        {":c <= sk AND pk = :p", EXPR_KEY_GE},
        {"((sk=:c) AND (pk=:p))", EXPR_KEY_EQ},
        {"pk = :p", EXPR_KEY_NONE},
    };
    size_t k;

    for (k = 0; k < sizeof ok / sizeof ok[0]; k++) {
        int rc = keycond(&KS2, ok[k].text, NULL, v, &r);
        if (rc)
            TEST_FAIL_("%s: %s", ok[k].text, E.msg);
        ASSERT_EQ(r.op, ok[k].op);
        ASSERT(r.hash != NULL && r.hash->type == AV_S);
        if (ok[k].op != EXPR_KEY_NONE)
            ASSERT(r.lo != NULL && r.lo->type == AV_N);
    }
    ASSERT_EQ(keycond(&KS2, "pk = :p AnD sk BeTwEeN :c aNd :d", NULL, v, &r), 0);
    ASSERT_EQ(r.op, EXPR_KEY_BETWEEN);
    ASSERT(r.lo != NULL && r.hi != NULL);
    ASSERT_EQ(keycond(&KS, "#k = :p", "{'#k':'pk'}", "{':p':{'S':'p'}}", &r), 0);
    {
        static const struct key_schema kss = {"pk", AV_S, "sk", AV_S};
        ASSERT_EQ(keycond(&kss, "pk = :p AND begins_with(sk, :s)", NULL,
                          "{':p':{'S':'p'},':s':{'S':'00'}}", &r), 0);
        ASSERT_EQ(r.op, EXPR_KEY_BEGINS_WITH);
    }
}

static void test_key_condition_errors(void)
{
    static const char *const ops[][2] = {
        {"a > b and size(b) > c or a > c", "OR"},
        {"a in (b, size(c), d)", "IN"},
        {"attribute_exists(a)", "attribute_exists"},
        {"attribute_not_exists(a)", "attribute_not_exists"},
        {"contains(a.d, b)", "contains"},
        {"not a > b", "NOT"},
        {"a <> b", "<>"},
    };
    static const char *const bare[][2] = {
        {":a between size(b) and size(a) and b > :b",
         "Invalid condition in KeyConditionExpression: BETWEEN operator must "
         "have the key attribute as its first operand"},
        {"begins_with(:a, b) and a > :b",
         "Invalid condition in KeyConditionExpression: begins_with operator "
         "must have the key attribute as its first operand"},
        {"size(b) > a AND a.b > b AND b > c",
         "KeyConditionExpressions cannot contain nested operations"},
        {"a > size(b.d)",
         "KeyConditionExpressions cannot contain nested operations"},
        {"b > a.b", "Invalid condition in KeyConditionExpression: Multiple "
                    "attribute names used in one condition"},
        {"begins_with(a, b)", "Invalid condition in KeyConditionExpression: "
                              "Multiple attribute names used in one condition"},
        {"a.d > :a", "KeyConditionExpressions cannot have conditions on "
                     "nested attributes"},
        {"b[0] > :a", "KeyConditionExpressions cannot have conditions on "
                      "nested attributes"},
        {":b > :a AND a < :b", "Invalid condition in KeyConditionExpression: "
                               "No key attribute specified"},
        {"b > :a AND b < :a and c = :a and d = :a",
         "KeyConditionExpressions must only contain one condition per key"},
        {"p = :a AND p = :a",
         "KeyConditionExpressions must only contain one condition per key"},
        {":a = a and b = :a and :a = c", "Conditions can be of length 1 or 2 "
                                         "only"},
    };
    const char *vals = "{':a':{'S':'1'},':b':{'S':'1'}}";
    struct expr_key_range r;
    char msg[256];
    size_t k;

    for (k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        snprintf(msg, sizeof msg, "Invalid operator used in "
                 "KeyConditionExpression: %s", ops[k][1]);
        EXPECT_MSG(EXPR_KEY_CONDITION, ops[k][0], NULL, NULL, msg);
    }
    for (k = 0; k < sizeof bare / sizeof bare[0]; k++) {
        int uses_vals = strchr(bare[k][0], ':') != NULL;
        EXPECT_MSG(EXPR_KEY_CONDITION, bare[k][0], NULL,
                   uses_vals ? (strstr(bare[k][0], ":b") ? vals
                                                         : "{':a':{'S':'1'}}")
                             : NULL,
                   bare[k][1]);
    }
    EXPECT_MSG(EXPR_KEY_CONDITION, "p=:p AND begins_with(c, :c)", NULL,
               "{':p':{'S':'p'},':c':{'N':'3'}}",
               "Invalid KeyConditionExpression: Incorrect operand type for "
               "operator or function; operator or function: begins_with, "
               "operand type: N");
    EXPECT_MSG(EXPR_KEY_CONDITION, "p=:p AND dog(c, :c)", NULL,
               "{':p':{'S':'p'},':c':{'N':'3'}}",
               "Invalid KeyConditionExpression: Invalid function name; "
               "function: dog");
    EXPECT_PREFIX(EXPR_KEY_CONDITION, "p=:p AND c!=:c", NULL,
                  "{':p':{'S':'p'},':c':{'N':'3'}}",
                  "Invalid KeyConditionExpression: Syntax error; ");
    /* Schema checks. */
    ASSERT_EQ(keycond(&KS2, "sk = :c", NULL, "{':c':{'N':'1'}}", &r),
              TM_EVALIDATION);
    ASSERT_STR_EQ(E.msg, "Query condition missed key schema element: pk");
    ASSERT_EQ(keycond(&KS2, "z between :a and :b", NULL, vals, &r),
              TM_EVALIDATION);
    ASSERT_STR_EQ(E.msg, "Query condition missed key schema element: pk");
    ASSERT_EQ(keycond(&KS2, "pk = :p AND a < :a", NULL,
                      "{':p':{'S':'p'},':a':{'N':'1'}}", &r), TM_EVALIDATION);
    ASSERT_STR_EQ(E.msg, "Query condition missed key schema element: sk");
    ASSERT_EQ(keycond(&KS2, "pk < :p", NULL, "{':p':{'S':'p'}}", &r),
              TM_EVALIDATION);
    ASSERT_STR_EQ(E.msg, "Query key condition not supported");
    ASSERT_EQ(keycond(&KS2, "pk = :n", NULL, "{':n':{'N':'3'}}", &r),
              TM_EVALIDATION);
    ASSERT_STR_EQ(E.msg, "One or more parameter values were invalid: "
                         "Condition parameter type does not match schema type");
    ASSERT_EQ(keycond(&KS2, "pk = :p AND sk = :s", NULL,
                      "{':p':{'S':'p'},':s':{'S':'x'}}", &r), TM_EVALIDATION);
    ASSERT_STR_EQ(E.msg, "One or more parameter values were invalid: "
                         "Condition parameter type does not match schema type");
    ASSERT_EQ(keycond(&KS2, "pk = :p AND begins_with(sk, :s)", NULL,
                      "{':p':{'S':'p'},':s':{'S':'x'}}", &r), TM_EVALIDATION);
    ASSERT_EQ(keycond(&KS2, "pk = :p AND sk between :a and :s", NULL,
                      "{':p':{'S':'p'},':a':{'N':'1'},':s':{'S':'x'}}", &r),
              TM_EVALIDATION);
}

/* ---- fuzz ------------------------------------------------------------------------ */

static void test_fuzz(void)
{
    static const char *const toks[] = {
        "a", "b", "#n", "#x", ":v", ":w", ":l", ":s", ":zz", "(", ")", "[",
        "]", "0", "1", "99999999999", ",", ".", "=", "<>", "<", "<=", ">",
        ">=", "+", "-", "AND", "OR", "NOT", "BETWEEN", "IN", "SET", "REMOVE",
        "ADD", "DELETE", "size", "contains", "begins_with", "attribute_exists",
        "attribute_not_exists", "attribute_type", "if_not_exists",
        "list_append", "whatever", "name", "!", "\xc3\xbc", "_", "#", ":",
        " ", "\t", "\xff", "\"",
    };
    const size_t ntok = sizeof toks / sizeof toks[0];
    const char *it = "{'a':{'M':{'b':{'L':[{'N':'1'},{'SS':['x']}]}}},"
                     "'b':{'N':'2'},'pk':{'S':'k'},'name':{'S':'n'}}";
    const char *vals = "{':v':{'N':'1'},':w':{'S':'x'},':l':{'L':[{'N':'1'}]},"
                       "':s':{'SS':['x','y']}}";
    struct av itm, out, key;
    char text[512];
    int iter, ok = 0;

    ASSERT_EQ(item(it, &itm), 0);
    ASSERT_EQ(item("{'pk':{'S':'k'}}", &key), 0);
    for (iter = 0; iter < 20000; iter++) {
        struct expr_ctx *c;
        struct expr_cond *e;
        struct expr_proj *p;
        struct expr_update *u;
        size_t n = 1 + rnd() % 12, k, o = 0;
        int kind = (int)(rnd() % 5), rc, res;

        if (iter % 512 == 0) {
            arena_reset(A);
            ASSERT_EQ(item(it, &itm), 0);
            ASSERT_EQ(item("{'pk':{'S':'k'}}", &key), 0);
        }
        for (k = 0; k < n; k++) {
            const char *t = toks[rnd() % ntok];
            size_t l = strlen(t);
            if (o + l + 2 >= sizeof text)
                break;
            memcpy(text + o, t, l);
            o += l;
            if (rnd() % 2)
                text[o++] = ' ';
        }
        text[o] = '\0';
        c = mkctx("{'#n':'n','#x':'a'}", vals);
        ASSERT(c != NULL);
        tm_error_clear(&E);
        switch (kind) {
        case 0: case 1: case 2:
            rc = expr_parse_condition(c, (enum expr_kind)kind, text, o, &e, &E);
            if (rc == 0) {
                ok++;
                ASSERT_EQ(expr_eval_condition(e, &itm, &res, &E), 0);
                ASSERT(res == 0 || res == 1);
                if (kind == EXPR_KEY_CONDITION) {
                    struct expr_key_range r;
                    rc = expr_key_condition(e, &KS2, &r, &E);
                    ASSERT(rc == 0 || rc == TM_EVALIDATION);
                }
            }
            break;
        case 3:
            rc = expr_parse_projection(c, text, o, &p, &E);
            if (rc == 0) {
                ok++;
                ASSERT_EQ(expr_project(p, &itm, A, &out), 0);
            }
            break;
        default:
            rc = expr_parse_update(c, text, o, &u, &E);
            if (rc == 0) {
                ok++;
                rc = expr_update_apply(u, &itm, &key, &KS, A, &out, &E);
                ASSERT(rc == 0 || rc == TM_EVALIDATION);
                rc = expr_update_apply(u, NULL, &key, &KS, A, &out, &E);
            }
            break;
        }
        ASSERT(rc == 0 || rc == TM_EVALIDATION);
        if (rc)
            ASSERT(E.msg[0] != '\0');
    }
    ASSERT(ok > 100);
}

/* Random bytes, too. */
static void test_fuzz_bytes(void)
{
    char text[64];
    int iter;

    for (iter = 0; iter < 20000; iter++) {
        struct expr_ctx *c;
        struct expr_cond *e;
        struct expr_proj *p;
        struct expr_update *u;
        size_t n = rnd() % sizeof text, k;
        int rc;

        if (iter % 1024 == 0)
            arena_reset(A);
        for (k = 0; k < n; k++)
            text[k] = (char)(rnd() % 4 ? " ab#:()[].,=<>+-0SETANDOR"[rnd() % 25]
                                       : (char)rnd());
        c = mkctx(NULL, NULL);
        ASSERT(c != NULL);
        rc = expr_parse_condition(c, EXPR_FILTER, text, n, &e, &E);
        ASSERT(rc == 0 || rc == TM_EVALIDATION);
        rc = expr_parse_projection(c, text, n, &p, &E);
        ASSERT(rc == 0 || rc == TM_EVALIDATION);
        rc = expr_parse_update(c, text, n, &u, &E);
        ASSERT(rc == 0 || rc == TM_EVALIDATION);
    }
}

/* Deep nesting must not blow the stack. */
static void test_deep_nesting(void)
{
    static char text[4097];
    size_t k;

    for (k = 0; k < 4096; k++)
        text[k] = k < 2048 ? '(' : ')';
    text[4096] = '\0';
    EXPECT_PREFIX(EXPR_FILTER, text, NULL, NULL, "Invalid FilterExpression: ");
    for (k = 0; k + 4 <= 4096; k += 4)
        memcpy(text + k, "NOT ", 4);
    EXPECT_PREFIX(EXPR_FILTER, text, NULL, NULL, "Invalid FilterExpression: ");
    for (k = 0; k < 4096; k++)
        text[k] = k % 2 ? '(' : ' ';
    memcpy(text, "SET a = ", 8);
    EXPECT_PREFIX(EXPR_UPDATE, text, NULL, NULL, "Invalid UpdateExpression: ");
}

int main(void)
{
    A = arena_create(64 * 1024, 512 * 1024 * 1024);
    RUN(test_syntax_messages);
    RUN(test_syntax_lists);
    RUN(test_empty_and_size);
    RUN(test_reserved);
    RUN(test_placeholders);
    RUN(test_functions_parse);
    RUN(test_distinct_parens_between_in);
    RUN(test_update_parse_errors);
    RUN(test_eval_compare);
    RUN(test_eval_between_in_logic);
    RUN(test_eval_functions);
    RUN(test_projection);
    RUN(test_update_set);
    RUN(test_update_invalid_paths);
    RUN(test_update_remove);
    RUN(test_update_add_delete);
    RUN(test_update_keys_and_limits);
    RUN(test_update_paths);
    RUN(test_key_conditions);
    RUN(test_key_condition_errors);
    RUN(test_fuzz);
    RUN(test_fuzz_bytes);
    RUN(test_deep_nesting);
    arena_destroy(A);
    return TEST_DONE();
}
