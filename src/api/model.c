/*
 * model.c - checking a request body against the API model; see model.h.
 *
 * Paths in messages are DynamoDB's: member names in lowerCamelCase joined
 * by '.', list elements as "<index from 1>.member", map values as
 * "<key>.member" ("keySchema.1.member.keyType",
 * "requestItems.notes.member.keys").
 */
#include "api/model.h"

#include <stdio.h>
#include <string.h>

#include "api/api_int.h"
#include "base/jsonw.h"

/* Enum sets as DynamoDB prints them (Java set order), where they differ
 * from the model's order. */
static const struct {
    const char *shape;
    const char *text;
} enum_text[] = {
    {"ExportFormat", "[ION, DYNAMODB_JSON]"},
    {"ReturnValue", "[ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]"},
    {"ScalarAttributeType", "[B, N, S]"},
    {"Select", "[SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, "
               "ALL_PROJECTED_ATTRIBUTES]"},
};

static const char *kind_name(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "Start of structure or map";
    case JSON_ARRAY: return "Start of list";
    case JSON_STRING: return "STRING_VALUE";
    case JSON_INTEGER:
    case JSON_REAL: return "NUMBER_VALUE";
    case JSON_TRUE:
    case JSON_FALSE: return "BOOLEAN_VALUE";
    case JSON_NULL: return "NULL_VALUE";
    }
    return "value";
}

static const char *target_name(enum model_kind k)
{
    switch (k) {
    case MK_STRUCT: return "Structure";
    case MK_LIST: return "List";
    case MK_MAP: return "Map";
    case MK_STRING: return "String";
    case MK_BLOB: return "Blob";
    case MK_BOOL: return "Boolean";
    case MK_INT: return "Long";
    case MK_NUMBER: return "Double";
    case MK_OPAQUE: break;
    }
    return "value";
}

static int kind_ok(enum model_kind k, const json_t *j)
{
    switch (k) {
    case MK_STRUCT:
    case MK_MAP: return json_is_object(j);
    case MK_LIST: return json_is_array(j);
    case MK_STRING:
    case MK_BLOB: return json_is_string(j);
    case MK_BOOL: return json_is_boolean(j);
    case MK_INT:
        return json_is_integer(j) ||
               (json_is_real(j) &&
                json_real_value(j) == (double)(long long)json_real_value(j));
    case MK_NUMBER: return json_is_number(j);
    case MK_OPAQUE: return 1;
    }
    return 1;
}

static void enum_set(const struct model_shape *s, char *out, size_t cap)
{
    size_t n = 0;

    for (size_t i = 0; i < sizeof enum_text / sizeof enum_text[0]; i++)
        if (strcmp(enum_text[i].shape, s->name) == 0) {
            snprintf(out, cap, "%s", enum_text[i].text);
            return;
        }
    n += (size_t)snprintf(out + n, cap - n, "[");
    for (int i = 0; i < s->nenum && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? ", " : "",
                              model_enum_table[s->first_enum + i]);
    if (n < cap)
        snprintf(out + n, cap - n, "]");
}

struct walk {
    struct api_req *r;
    char path[512]; /* for messages: "key.member", always NUL-terminated */
    size_t len;     /* strlen(path) */
    size_t depth;
};

static int check(struct walk *w, int shape, const json_t *j);

/* Keys of an object check() sorts into the model's order on its stack. */
#define STRUCT_KEYS_MAX 32

/* Append "." (unless at the start), `a` and `b` to the path, cut at its
 * end.  By hand: every request walks its whole body, and snprintf here
 * was 1% of a GetItem. */
static void path_push(struct walk *w, const char *a, size_t alen,
                      const char *b, size_t blen)
{
    size_t room = sizeof w->path - 1 - w->len, n;

    if (w->len && room) {
        w->path[w->len++] = '.';
        room--;
    }
    n = alen < room ? alen : room;
    memcpy(w->path + w->len, a, n);
    w->len += n;
    room -= n;
    n = blen < room ? blen : room;
    memcpy(w->path + w->len, b, n);
    w->len += n;
    w->path[w->len] = '\0';
}

static int descend(struct walk *w, const char *a, size_t alen,
                   const char *b, size_t blen, int shape, const json_t *j)
{
    size_t len = w->len;
    int rc;

    if (w->depth > 64)
        return tm_error_set(&w->r->err, TM_ESERIALIZATION,
                            "The request is nested too deeply");
    path_push(w, a, alen, b, blen);
    w->depth++;
    rc = check(w, shape, j);
    w->depth--;
    w->len = len;
    w->path[len] = '\0';
    return rc;
}

/* Check member `m`'s value `v`, under its name with the first letter in
 * lower case. */
static int check_member(struct walk *w, const struct model_member *m,
                        const json_t *v)
{
    size_t nl = strlen(m->name);

    if (nl > 127)
        nl = 127;
    if (nl && m->name[0] >= 'A' && m->name[0] <= 'Z') {
        char first = (char)(m->name[0] + 32);
        return descend(w, &first, 1, m->name + 1, nl - 1, m->shape, v);
    }
    return descend(w, m->name, nl, "", 0, m->shape, v);
}

/* A structure's members looked up in the object one by one: for an
 * object with more keys than check() sorts on its stack. */
static int check_members_by_name(struct walk *w,
                                 const struct model_shape *s,
                                 const json_t *j)
{
    for (int i = 0; i < s->nmembers; i++) {
        const struct model_member *m =
            &model_member_table[s->first_member + i];
        json_t *v = json_object_get(j, m->name);
        int rc;

        if (v != NULL && (rc = check_member(w, m, v)) != 0)
            return rc;
    }
    return 0;
}

static int check(struct walk *w, int shape, const json_t *j)
{
    const struct model_shape *s = &model_shapes[shape];

    if (json_is_null(j) || s->kind == MK_OPAQUE)
        return 0;
    if (!kind_ok(s->kind, j)) {
        if (json_is_object(j) || json_is_array(j))
            return tm_error_set(&w->r->err, TM_ESERIALIZATION,
                                "%s found where not expected", kind_name(j));
        return tm_error_set(&w->r->err, TM_ESERIALIZATION,
                            "%s cannot be converted to %s", kind_name(j),
                            target_name(s->kind));
    }
    if (s->kind == MK_STRING && s->nenum > 0) {
        const char *v = json_string_value(j);
        int ok = 0;
        for (int i = 0; i < s->nenum; i++)
            ok |= strcmp(model_enum_table[s->first_enum + i], v) == 0;
        if (!ok) {
            char set[512], what[600], *shown;
            enum_set(s, set, sizeof set);
            snprintf(what, sizeof what,
                     "Member must satisfy enum value set: %s", set);
            shown = arena_printf(w->r->arena, "'%s'", v);
            verrs_add(&w->r->pre, shown ? shown : "''", w->path, what);
        }
        return 0;
    }
    if (s->kind == MK_STRUCT) {
        /* The members present, in the model's order (the order DynamoDB
         * reports their faults in); keys that are no member are left
         * alone.  A request names few of a structure's members (an
         * AttributeValue one of ten), so each key of the object is looked
         * for among the members, rather than each member hashed and looked
         * for in the object: that was 2% of a GetItem's instructions and
         * 4% of a PutItem's (bench/callgrind_bench.py). */
        struct {
            int i;
            const json_t *v;
        } hit[STRUCT_KEYS_MAX];
        size_t nh = 0;

        if (json_object_size(j) > STRUCT_KEYS_MAX)
            return check_members_by_name(w, s, j);
        for (void *it = json_object_iter((json_t *)j); it;
             it = json_object_iter_next((json_t *)j, it)) {
            const char *k = json_object_iter_key(it);
            size_t kl = json_object_iter_key_len(it);

            for (int i = 0; i < s->nmembers; i++) {
                const char *name = model_member_table[s->first_member + i].name;
                size_t at = nh;

                if (name[0] != k[0] || strncmp(name, k, kl) != 0 ||
                    name[kl] != '\0')
                    continue;
                while (at > 0 && hit[at - 1].i > i) {
                    hit[at] = hit[at - 1];
                    at--;
                }
                hit[at].i = i;
                hit[at].v = json_object_iter_value(it);
                nh++;
                break;
            }
        }
        for (size_t h = 0; h < nh; h++) {
            int rc = check_member(w, &model_member_table[s->first_member +
                                                          hit[h].i],
                                  hit[h].v);
            if (rc)
                return rc;
        }
        return 0;
    }
    if (s->kind == MK_LIST) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) {
            char num[21];
            size_t nl = json_fmt_u64(num, (uint64_t)i + 1);
            int rc;
            if ((rc = descend(w, num, nl, ".member", 7, s->elem, v)))
                return rc;
        }
        return 0;
    }
    if (s->kind == MK_MAP) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)j, k, v) {
            size_t kl = strlen(k);
            int rc;
            if ((rc = descend(w, k, kl > 255 ? 255 : kl, ".member", 7,
                              s->elem, v)))
                return rc;
        }
    }
    return 0;
}

int model_check(struct api_req *r, const char *op, size_t oplen)
{
    unsigned lo = 0, hi = model_op_count;
    struct walk w;

    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        int d = strncmp(model_ops[mid].name, op, oplen);
        if (d == 0 && model_ops[mid].name[oplen] != '\0')
            d = 1;
        if (d == 0) {
            memset(&w, 0, sizeof w);
            w.r = r;
            return check(&w, model_ops[mid].input, r->body);
        }
        if (d < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0; /* an operation newer than the model: handlers validate */
}
