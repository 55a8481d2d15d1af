/*
 * jsoncmp.h - the check behind json_parse_fast's contract, shared by
 * test_jsonparse.c and the fuzz_jsonparse target: parse `p` both ways;
 * if the fast path accepts, jansson must accept too and give an equal
 * tree whose objects list their members in the same order.  Returns 1
 * when the fast path accepted, 0 when it declined, -1 when the contract
 * is broken (with a line on stderr).
 */
#ifndef TM_JSONCMP_H
#define TM_JSONCMP_H

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "base/jsonparse.h"

static int jsoncmp_same_order(json_t *a, json_t *b)
{
    if (json_is_object(a)) {
        void *ia = json_object_iter(a), *ib = json_object_iter(b);
        for (; ia && ib; ia = json_object_iter_next(a, ia),
                         ib = json_object_iter_next(b, ib)) {
            size_t la = json_object_iter_key_len(ia);
            if (la != json_object_iter_key_len(ib) ||
                memcmp(json_object_iter_key(ia), json_object_iter_key(ib),
                       la) != 0 ||
                !jsoncmp_same_order(json_object_iter_value(ia),
                                    json_object_iter_value(ib)))
                return 0;
        }
        return ia == NULL && ib == NULL;
    }
    if (json_is_array(a)) {
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!jsoncmp_same_order(json_array_get(a, i),
                                    json_array_get(b, i)))
                return 0;
    }
    return 1;
}

static int jsoncmp_check(const char *p, size_t n)
{
    json_t *fast = NULL, *ref;
    json_error_t e;
    int rc = json_parse_fast(p, n, &fast), out;

    if (rc != 0)
        return rc == 1 ? 0 : -1; /* -1: out of memory, not expected */
    ref = json_loadb(p, n, JSON_ALLOW_NUL, &e);
    if (ref == NULL) {
        fprintf(stderr, "jsonparse accepted what jansson refuses (%s): "
                        "%.*s\n", e.text, (int)(n > 200 ? 200 : n), p);
        out = -1;
    } else if (!json_equal(fast, ref) || !jsoncmp_same_order(fast, ref)) {
        fprintf(stderr, "jsonparse differs from jansson: %.*s\n",
                (int)(n > 200 ? 200 : n), p);
        out = -1;
    } else {
        out = 1;
    }
    json_decref(fast);
    json_decref(ref);
    return out;
}

#endif
