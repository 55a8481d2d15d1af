/*
 * fuzz_expr.c - libFuzzer target for the expression language (src/expr).
 *
 * Input: one selector byte (which parser: condition, filter, key
 * condition, projection, update) and the expression text.  A fixed set of
 * ExpressionAttributeNames (#a..#e) and Values (:s :n :b :l :m :ss :bool
 * :null) lets the parser reach deep; whatever parses is then evaluated
 * against a fixed item (conditions, projections, updates, key conditions),
 * so the evaluator is fuzzed too.  Any crash, leak, or sanitizer report is
 * a finding; a parse error is the normal outcome.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "expr/expr.h"
#include "item/item.h"

static const char names_json[] =
    "{\"#a\":\"a\",\"#b\":\"b\",\"#c\":\"name\",\"#d\":\"d.e\",\"#e\":\"pk\"}";
static const char values_json[] =
    "{\":s\":{\"S\":\"str\"},\":n\":{\"N\":\"12.5\"},\":b\":{\"B\":\"AAE=\"},"
    "\":l\":{\"L\":[{\"N\":\"1\"},{\"S\":\"x\"}]},"
    "\":m\":{\"M\":{\"k\":{\"S\":\"v\"}}},\":ss\":{\"SS\":[\"a\",\"b\"]},"
    "\":ns\":{\"NS\":[\"1\",\"2\"]},\":bool\":{\"BOOL\":true},"
    "\":null\":{\"NULL\":true}}";
static const char item_json[] =
    "{\"pk\":{\"S\":\"p\"},\"a\":{\"N\":\"3\"},\"b\":{\"S\":\"bee\"},"
    "\"l\":{\"L\":[{\"N\":\"1\"},{\"M\":{\"x\":{\"SS\":[\"q\"]}}}]},"
    "\"m\":{\"M\":{\"n\":{\"M\":{\"o\":{\"NS\":[\"1\",\"2\"]}}}}},"
    "\"name\":{\"BOOL\":false},\"bin\":{\"B\":\"AAEC\"}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena *a;
    struct expr_ctx *ec;
    struct tm_error err;
    json_t *names, *values, *itemj;
    struct av item, keymap, out;
    struct key_schema ks = {"pk", AV_S, "a", AV_N};
    const char *text;
    size_t len;
    int which, res;

    if (size < 1)
        return 0;
    which = data[0] % 5;
    text = (const char *)data + 1;
    len = size - 1;
    a = arena_create(64 * 1024, 64u << 20);
    names = json_loads(names_json, 0, NULL);
    values = json_loads(values_json, 0, NULL);
    itemj = json_loads(item_json, 0, NULL);
    if (a == NULL || names == NULL || values == NULL || itemj == NULL)
        abort();
    if (item_from_json(a, itemj, &item, &err) != 0)
        abort();
    keymap = item;
    keymap.u.m.n = 1; /* pk only */
    if (expr_ctx_init(&ec, a, names, values, &err) != 0)
        abort();
    switch (which) {
    case 0:
    case 1: {
        struct expr_cond *c;
        if (expr_parse_condition(ec, which ? EXPR_FILTER : EXPR_CONDITION,
                                 text, len, &c, &err) == 0) {
            expr_eval_condition(c, &item, &res, &err);
            expr_eval_condition(c, NULL, &res, &err);
        }
        break;
    }
    case 2: {
        struct expr_cond *c;
        struct expr_key_range kr;
        if (expr_parse_condition(ec, EXPR_KEY_CONDITION, text, len, &c,
                                 &err) == 0)
            expr_key_condition(c, &ks, &kr, &err);
        break;
    }
    case 3: {
        struct expr_proj *p;
        if (expr_parse_projection(ec, text, len, &p, &err) == 0)
            expr_project(p, &item, a, &out);
        break;
    }
    case 4: {
        struct expr_update *u;
        if (expr_parse_update(ec, text, len, &u, &err) == 0) {
            if (expr_update_apply(u, &item, &keymap, &ks, a, &out, &err) == 0)
                expr_project(expr_update_paths(u), &out, a, &out);
            expr_update_apply(u, NULL, &keymap, &ks, a, &out, &err);
        }
        break;
    }
    }
    expr_ctx_finish(ec, &err);
    json_decref(names);
    json_decref(values);
    json_decref(itemj);
    arena_destroy(a);
    return 0;
}
