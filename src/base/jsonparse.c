/*
 * jsonparse.c - the fast path in front of json_loadb; see jsonparse.h for
 * the contract (the same tree as jansson, or decline).
 */
#include "base/jsonparse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonscan.h"
#include "base/utf8.h"

enum { P_OK = 0, P_DECLINE = 1, P_NOMEM = -1 };

struct ps {
    const uint8_t *p, *end;
    /* unescaped strings, used as a stack: a key stays in [0, used) while
     * its value is parsed, so the value's strings go after it */
    char *scratch;
    size_t used, cap;
};

static void skip_ws(struct ps *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' ||
                             *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

static int scratch_put(struct ps *s, const void *p, size_t n)
{
    if (n == 0)
        return P_OK;
    if (s->cap - s->used < n) {
        size_t cap = s->cap ? s->cap : 256;
        char *m;
        while (cap - s->used < n) {
            if (cap > SIZE_MAX / 2)
                return P_NOMEM;
            cap *= 2;
        }
        if ((m = realloc(s->scratch, cap)) == NULL)
            return P_NOMEM;
        s->scratch = m;
        s->cap = cap;
    }
    memcpy(s->scratch + s->used, p, n);
    s->used += n;
    return P_OK;
}

/* s->p at an opening quote.  The string's *len bytes are either in the
 * input, at *in (no escapes), or, unescaped, at scratch + *off (*in NULL;
 * an offset, since a later string may move the scratch). */
static int parse_string(struct ps *s, const char **in, size_t *off,
                        size_t *len)
{
    const uint8_t *start = ++s->p;
    unsigned high;
    int rc;
    size_t k = json_plain_run(start, (size_t)(s->end - start), &high);
    const uint8_t *q = start + k;
    size_t base;

    if (q < s->end && *q == '"') {
        if (high && !utf8_valid(start, k))
            return P_DECLINE;
        *in = (const char *)start;
        *len = k;
        s->p = q + 1;
        return P_OK;
    }
    base = s->used;
    for (;;) {
        char e;

        if (q >= s->end || (high && !utf8_valid(start, k)))
            return P_DECLINE;
        if ((rc = scratch_put(s, start, k)) != 0)
            return rc;
        if (*q == '"')
            break;
        if (*q != '\\' || q + 1 >= s->end)
            return P_DECLINE; /* a control character, or a cut escape */
        switch (q[1]) {
        case '"': e = '"'; break;
        case '\\': e = '\\'; break;
        case '/': e = '/'; break;
        case 'b': e = '\b'; break;
        case 'f': e = '\f'; break;
        case 'n': e = '\n'; break;
        case 'r': e = '\r'; break;
        case 't': e = '\t'; break;
        default: return P_DECLINE; /* \u, or not an escape */
        }
        if ((rc = scratch_put(s, &e, 1)) != 0)
            return rc;
        start = q + 2;
        k = json_plain_run(start, (size_t)(s->end - start), &high);
        q = start + k;
    }
    *in = NULL;
    *off = base;
    *len = s->used - base;
    s->p = q + 1;
    return P_OK;
}

static int parse_value(struct ps *s, int depth, json_t **out);

static int parse_number(struct ps *s, json_t **out)
{
    const uint8_t *p = s->p;
    uint64_t v = 0;
    int neg = 0;

    if (*p == '-') {
        neg = 1;
        p++;
    }
    if (p >= s->end)
        return P_DECLINE;
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < s->end && *p >= '0' && *p <= '9') {
            unsigned d = (unsigned)(*p - '0');
            if (v > (UINT64_MAX - d) / 10)
                return P_DECLINE;
            v = v * 10 + d;
            p++;
        }
    } else {
        return P_DECLINE;
    }
    /* a real, or an integer jansson refuses as too big: jansson decides */
    if ((p < s->end && (*p == '.' || *p == 'e' || *p == 'E')) ||
        v > (uint64_t)INT64_MAX + (uint64_t)neg)
        return P_DECLINE;
    *out = json_integer(neg ? (v == (uint64_t)INT64_MAX + 1
                                   ? INT64_MIN
                                   : -(json_int_t)v)
                            : (json_int_t)v);
    s->p = p;
    return *out ? P_OK : P_NOMEM;
}

static int literal(struct ps *s, const char *word, json_t *v, json_t **out)
{
    size_t n = strlen(word);

    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return P_DECLINE;
    s->p += n;
    *out = v;
    return P_OK;
}

/* At the start of a container (s->p just after '{' or '['): whether it
 * is empty, its `close` consumed. */
static int empty(struct ps *s, char close)
{
    skip_ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        return 1;
    }
    return 0;
}

/* After a member: 1 on ',' (another follows), 0 on `close` (the container
 * ends), either consumed; -1 on anything else. */
static int next_member(struct ps *s, char close)
{
    skip_ws(s);
    if (s->p < s->end && (*s->p == ',' || *s->p == close))
        return *s->p++ == ',';
    return -1;
}

static int parse_object(struct ps *s, int depth, json_t **out)
{
    json_t *o = json_object();
    int rc, more;

    if (o == NULL)
        return P_NOMEM;
    s->p++;
    more = !empty(s, '}');
    while (more > 0) {
        const char *in, *key;
        size_t off = 0, klen, mark = s->used;
        json_t *v;

        skip_ws(s);
        if (s->p >= s->end || *s->p != '"')
            goto decline;
        if ((rc = parse_string(s, &in, &off, &klen)) != 0)
            goto fail;
        skip_ws(s);
        if (s->p >= s->end || *s->p != ':')
            goto decline;
        s->p++;
        /* the key stays in scratch[off, used) while the value is parsed */
        if ((rc = parse_value(s, depth, &v)) != 0)
            goto fail;
        key = in ? in : s->scratch + off; /* scratch may have moved */
        if (json_object_setn_new_nocheck(o, key, klen, v) != 0) {
            rc = P_NOMEM; /* v was released */
            goto fail;
        }
        s->used = mark;
        more = next_member(s, '}');
    }
    if (more == 0) {
        *out = o;
        return P_OK;
    }
decline:
    rc = P_DECLINE;
fail:
    json_decref(o);
    return rc;
}

static int parse_array(struct ps *s, int depth, json_t **out)
{
    json_t *a = json_array();
    int rc, more;

    if (a == NULL)
        return P_NOMEM;
    s->p++;
    more = !empty(s, ']');
    while (more > 0) {
        json_t *v;

        if ((rc = parse_value(s, depth, &v)) != 0)
            goto fail;
        if (json_array_append_new(a, v) != 0) {
            rc = P_NOMEM;
            goto fail;
        }
        more = next_member(s, ']');
    }
    if (more == 0) {
        *out = a;
        return P_OK;
    }
    rc = P_DECLINE;
fail:
    json_decref(a);
    return rc;
}

static int parse_value(struct ps *s, int depth, json_t **out)
{
    skip_ws(s);
    if (s->p >= s->end)
        return P_DECLINE;
    switch (*s->p) {
    case '{':
    case '[':
        if (depth >= JSONPARSE_MAX_DEPTH)
            return P_DECLINE;
        return *s->p == '{' ? parse_object(s, depth + 1, out)
                            : parse_array(s, depth + 1, out);
    case '"': {
        const char *in;
        size_t off = 0, len, mark = s->used;
        int rc = parse_string(s, &in, &off, &len);
        if (rc)
            return rc;
        *out = json_stringn_nocheck(in ? in : s->scratch + off, len);
        s->used = mark;
        return *out ? P_OK : P_NOMEM;
    }
    case 't':
        return literal(s, "true", json_true(), out);
    case 'f':
        return literal(s, "false", json_false(), out);
    case 'n':
        return literal(s, "null", json_null(), out);
    default:
        return parse_number(s, out);
    }
}

int json_parse_fast(const char *p, size_t n, json_t **out)
{
    struct ps s = {(const uint8_t *)p, (const uint8_t *)p + n, NULL, 0, 0};
    json_t *v = NULL;
    int rc;

    skip_ws(&s);
    if (s.p >= s.end || (*s.p != '{' && *s.p != '['))
        return P_DECLINE;
    rc = parse_value(&s, 0, &v);
    if (rc == P_OK) {
        skip_ws(&s);
        if (s.p != s.end) {
            json_decref(v);
            rc = P_DECLINE;
        }
    }
    free(s.scratch);
    if (rc == P_OK)
        *out = v;
    return rc;
}
