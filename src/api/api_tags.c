/*
 * api_tags.c - TagResource, UntagResource, ListTagsOfResource, and the
 * validation of tags that CreateTable shares (api_tags_parse, api_tags.h).
 *
 * Tags belong to the table definition (struct table's tags, persisted by
 * table_to_json), so a change is a catalog change: TagResource and
 * UntagResource validate the request on the HTTP thread, then an engine op
 * copies the table, edits its tags and calls engine_wtx_update_table on the
 * writer thread, where the table's existence and the post-merge count are
 * checked against the current state.  The change is logged like any other
 * catalog change and survives a restart.  A table's tags are kept sorted
 * by key (byte order), which is also the order ListTagsOfResource lists.
 *
 * The resource is named by a table ARN,
 * "arn:aws:dynamodb:<region>:<account>:table/<name>", whose region and
 * account must be this server's (--region, --account-id).
 *
 * DDB behaviour reproduced (messages as DynamoDB sends them; the order of
 * the checks follows DynamoDB's where it is known):
 *   - ResourceArn absent: "Invalid TableArn"; Tags / TagKeys absent:
 *     "Value null at 'tags' ... Member must not be null" (checked first);
 *   - an ARN not starting with "arn:": "One or more parameter values were
 *     invalid: ARNs must start with 'arn:': <arn>"; not DynamoDB's, or not
 *     a table's: "... Provided Arn is not a DynamoDB resource arn: <arn>";
 *     an index ARN: "... Invalid resource arn provided, only table or
 *     stream is accepted. Provided resource arn: <arn>"; another region or
 *     account, or a malformed table name: "Invalid TableArn: Invalid
 *     ResourceArn provided as input <arn>";
 *   - an empty list: "Atleast one Tag needs to be provided as Input." /
 *     "Atleast one Tag Key needs to be provided as Input." (sic);
 *   - each tag: key 1-128 characters, value 0-256, both made of letters,
 *     numbers, separators (spaces) and + - = . _ : / @ only ("The Tag Key
 *     provided is invalid, Key: <k>", "The Tag Value provided is invalid,
 *     Value: <v>", "Value: null" when absent); a key starting with "aws:"
 *     in any case is reserved, also for UntagResource ("Tag Key cannot be
 *     prefixed with aws:, Key: <k>"); one key twice in a request:
 *     "Duplicate Tag Keys provided as input: Duplicate Tag Key found <k>";
 *   - at most 50 tags after the merge, and at most 50 keys in an
 *     UntagResource: "Number of Tags exceed the current limit for the
 *     provided ResourceArn" (a ValidationException, not LimitExceeded);
 *   - TagResource upserts (a key already present takes the new value);
 *     untagging an absent key is a no-op; a request with an invalid tag
 *     changes nothing;
 *   - a missing table: ResourceNotFoundException "Requested resource not
 *     found: ResourceArn: <arn> not found" (DynamoDB's older text spelled
 *     it "ResourcArn"; the current one does not);
 *   - ListTagsOfResource returns every tag in one page (DynamoDB sends no
 *     NextToken at 50 tags, the maximum); a NextToken, if given, lists the
 *     keys after it.
 * Not reproduced: DynamoDB applies tags asynchronously (visible about a
 * second later, with LimitExceededException "Table tags are being
 * updated" in between); Tidemark applies them at once.
 */
#include "api/api_int.h"
#include "api/api_tags.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/jsonw.h"
#include "base/utf8.h"

#define TAG_KEY_MAX 128    /* characters (UTF-16 units, as Java counts) */
#define TAG_VALUE_MAX 256
#define TAGS_PAGE 50       /* ListTagsOfResource page size */

/* One tag of a request; strings point into the request's JSON. */
struct ptag {
    const char *key;
    size_t klen;
    const char *value;  /* NULL in UntagResource */
    size_t vlen;
};

/* ==== Characters ========================================================= */

/* Code points that are neither letters, numbers nor separators (\p{L},
 * \p{N}, \p{Z}), by block.  An approximation of the Unicode tables that
 * covers punctuation, symbols, controls, combining marks, private use and
 * emoji; letters of every script pass. */
static const struct {
    uint32_t lo, hi;
} not_tag_char[] = {
    {0x0080, 0x009f}, {0x00a1, 0x00a9}, {0x00ab, 0x00b1}, {0x00b4, 0x00b4},
    {0x00b6, 0x00b8}, {0x00bb, 0x00bb}, {0x00bf, 0x00bf}, {0x00d7, 0x00d7},
    {0x00f7, 0x00f7}, {0x0300, 0x036f}, {0x0483, 0x0489}, {0x0591, 0x05c7},
    {0x0610, 0x061a}, {0x064b, 0x065f}, {0x1ab0, 0x1aff}, {0x1dc0, 0x1dff},
    {0x200b, 0x2027}, {0x202a, 0x202e}, {0x2030, 0x205e}, {0x2060, 0x206f},
    {0x207a, 0x207e}, {0x208a, 0x208e}, {0x20a0, 0x20ff}, {0x2190, 0x245f},
    {0x249c, 0x24e9}, {0x2500, 0x2bff}, {0x2e00, 0x2fff}, {0x3001, 0x3004},
    {0x3008, 0x3020}, {0x302a, 0x3030}, {0x3036, 0x3037}, {0x303d, 0x303f},
    {0x3099, 0x309c}, {0x30a0, 0x30a0}, {0x30fb, 0x30fb}, {0xe000, 0xf8ff},
    {0xfe00, 0xfe6f}, {0xff01, 0xff0f}, {0xff1a, 0xff20}, {0xff3b, 0xff40},
    {0xff5b, 0xff65}, {0xffe0, 0xffff}, {0x1d000, 0x1d24f},
    {0x1f000, 0x1faff}, {0xe0000, 0x10ffff},
};

static int tag_char_ok(uint32_t c)
{
    if (c < 0x80)
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               (c >= '0' && c <= '9') ||
               (c != 0 && strchr(" _.:/=+-@", (int)c) != NULL);
    for (size_t i = 0; i < sizeof not_tag_char / sizeof not_tag_char[0]; i++)
        if (c >= not_tag_char[i].lo && c <= not_tag_char[i].hi)
            return 0;
    return 1;
}

/* 1 if s[0..n) is well-formed UTF-8 of allowed characters and at most
 * `max` characters long (UTF-16 units, as DynamoDB counts). */
static int tag_text_ok(const char *s, size_t n, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t units = 0;

    while (n > 0) {
        uint32_t c;
        int len = utf8_next(p, n, &c);
        if (len < 0 || !tag_char_ok(c))
            return 0;
        units += c >= 0x10000 ? 2 : 1;
        p += len;
        n -= (size_t)len;
    }
    return units <= max;
}

/* ==== Request tags ======================================================= */

static int check_key(struct api_req *r, const char *k, size_t n)
{
    if (k == NULL)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "The Tag Key provided is invalid, Key: null");
    if (n == 0 || !tag_text_ok(k, n, TAG_KEY_MAX))
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "The Tag Key provided is invalid, Key: %.*s",
                            (int)n, k);
    if (n >= 4 && strncasecmp(k, "aws:", 4) == 0)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "Tag Key cannot be prefixed with aws:, Key: %.*s",
                            (int)n, k);
    return 0;
}

static int check_value(struct api_req *r, const char *v, size_t n)
{
    if (v == NULL)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "The Tag Value provided is invalid, Value: null");
    if (!tag_text_ok(v, n, TAG_VALUE_MAX))
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "The Tag Value provided is invalid, Value: %.*s",
                            (int)n, v);
    return 0;
}

static int bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int d = memcmp(a, b, an < bn ? an : bn);
    return d ? d : (an < bn ? -1 : an > bn);
}

static int ptag_cmp(const void *a, const void *b)
{
    const struct ptag *x = a, *y = b;
    return bytes_cmp(x->key, x->klen, y->key, y->klen);
}

/* Sort `v` by key and refuse a key given twice. */
static int sort_distinct(struct api_req *r, struct ptag *v, size_t n)
{
    qsort(v, n, sizeof *v, ptag_cmp);
    for (size_t i = 1; i < n; i++)
        if (ptag_cmp(&v[i - 1], &v[i]) == 0)
            return tm_error_set(&r->err, TM_EVALIDATION,
                                "Duplicate Tag Keys provided as input: "
                                "Duplicate Tag Key found %.*s",
                                (int)v[i].klen, v[i].key);
    return 0;
}

/* A Tags list: each tag validated in order, then duplicates.  The result
 * (arena) is sorted by key. */
static int parse_tag_list(struct api_req *r, json_t *list, struct ptag **out,
                          size_t *n)
{
    size_t i, cnt = json_array_size(list);
    struct ptag *v;
    json_t *el;
    int rc;

    *out = NULL;
    *n = 0;
    v = arena_calloc(r->arena, cnt + 1, sizeof *v);
    if (v == NULL)
        return tm_error_set(&r->err, TM_ENOMEM, "out of memory");
    json_array_foreach(list, i, el) {
        if (!json_is_object(el))
            return tm_error_set(&r->err, TM_ESERIALIZATION,
                                "Unexpected value type in payload");
        if ((rc = req_string(r, el, "Key", &v[i].key, &v[i].klen)) ||
            (rc = req_string(r, el, "Value", &v[i].value, &v[i].vlen)))
            return rc;
        if ((rc = check_key(r, v[i].key, v[i].klen)) ||
            (rc = check_value(r, v[i].value, v[i].vlen)))
            return rc;
    }
    if ((rc = sort_distinct(r, v, cnt)))
        return rc;
    *out = v;
    *n = cnt;
    return 0;
}

/* ==== Heap tag arrays (the table's) ====================================== */

static void tags_free(struct tag *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(t[i].key);
        free(t[i].value);
    }
    free(t);
}

static char *heap_strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);

    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static int tag_cmp(const void *a, const void *b)
{
    const struct tag *x = a, *y = b;
    return strcmp(x->key, y->key);
}

/* Find `key` among n tags (any order); its index or -1. */
static long tag_find(const struct tag *t, size_t n, const char *key,
                     size_t klen)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(t[i].key) == klen && memcmp(t[i].key, key, klen) == 0)
            return (long)i;
    return -1;
}

/* cur (may be NULL) with `add` upserted and the keys of `del` removed, on
 * the heap, sorted.  TM_EVALIDATION (message in err) when the result has
 * more than API_TAGS_MAX tags; TM_ENOMEM. */
static int tags_edit(const struct tag *cur, size_t ncur,
                     const struct ptag *add, size_t nadd,
                     const struct ptag *del, size_t ndel, struct tag **out,
                     size_t *nout, struct tm_error *err)
{
    struct tag *v = calloc(ncur + nadd + 1, sizeof *v);
    size_t n = 0;

    if (v == NULL)
        goto nomem;
    for (size_t i = 0; i < ncur; i++) {
        int gone = 0;
        for (size_t k = 0; k < ndel && !gone; k++)
            gone = strlen(cur[i].key) == del[k].klen &&
                   memcmp(cur[i].key, del[k].key, del[k].klen) == 0;
        if (gone)
            continue;
        v[n].key = strdup(cur[i].key);
        v[n].value = strdup(cur[i].value);
        n++;
        if (v[n - 1].key == NULL || v[n - 1].value == NULL)
            goto nomem;
    }
    for (size_t i = 0; i < nadd; i++) {
        long at = tag_find(v, n, add[i].key, add[i].klen);
        char *val = heap_strndup(add[i].value, add[i].vlen);
        if (val == NULL)
            goto nomem;
        if (at >= 0) {
            free(v[at].value);
            v[at].value = val;
            continue;
        }
        v[n].value = val;
        v[n].key = heap_strndup(add[i].key, add[i].klen);
        n++;
        if (v[n - 1].key == NULL)
            goto nomem;
    }
    if (n > API_TAGS_MAX) {
        tags_free(v, n);
        return tm_error_set(err, TM_EVALIDATION,
                            "Number of Tags exceed the current limit for the "
                            "provided ResourceArn");
    }
    qsort(v, n, sizeof *v, tag_cmp);
    *out = v;
    *nout = n;
    return 0;
nomem:
    tags_free(v, n);
    return tm_error_set(err, TM_ENOMEM, "out of memory");
}

int api_tags_parse(struct api_req *r, json_t *tags, struct tag **out,
                   size_t *n)
{
    struct ptag *v;
    size_t cnt;
    int rc;

    *out = NULL;
    *n = 0;
    if (tags == NULL || json_is_null(tags))
        return 0;
    if (!json_is_array(tags))
        return tm_error_set(&r->err, TM_ESERIALIZATION,
                            "Start of structure or map found where not "
                            "expected");
    if ((rc = parse_tag_list(r, tags, &v, &cnt)))
        return rc;
    if (cnt == 0)
        return 0;
    return tags_edit(NULL, 0, v, cnt, NULL, 0, out, n, &r->err);
}

/* ==== ResourceArn ======================================================== */

static int table_name_ok(const char *s, size_t n)
{
    if (n < 3 || n > 255)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

static int field_is(const char *p, size_t n, const char *want)
{
    return n == strlen(want) && memcmp(p, want, n) == 0;
}

/* The table named by `arn` (copied into the arena), or r->err set.  A
 * stream ARN under a table names no taggable resource: not found. */
static int arn_table(struct api_req *r, const char *arn, const char **name)
{
    const char *f[6], *p = arn, *res, *slash;
    size_t len[6];
    int nf = 0;

    if (strncmp(arn, "arn:", 4) != 0)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "One or more parameter values were invalid: "
                            "ARNs must start with 'arn:': %s",
                            arn);
    /* arn:partition:service:region:account:resource */
    while (nf < 5) {
        const char *c = strchr(p, ':');
        if (c == NULL)
            break;
        f[nf] = p;
        len[nf++] = (size_t)(c - p);
        p = c + 1;
    }
    if (nf < 5 || !field_is(f[2], len[2], "dynamodb") ||
        strncmp(p, "table/", 6) != 0)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "One or more parameter values were invalid: "
                            "Provided Arn is not a DynamoDB resource arn: %s",
                            arn);
    res = p + 6;
    slash = strchr(res, '/');
    if (slash && strncmp(slash, "/index/", 7) == 0)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "One or more parameter values were invalid: "
                            "Invalid resource arn provided, only table or "
                            "stream is accepted. Provided resource arn: %s",
                            arn);
    if (slash && strncmp(slash, "/stream/", 8) != 0)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "One or more parameter values were invalid: "
                            "Provided Arn is not a DynamoDB resource arn: %s",
                            arn);
    if (!field_is(f[1], len[1], "aws") ||
        !field_is(f[3], len[3], r->ctx->region) ||
        !field_is(f[4], len[4], r->ctx->account) ||
        !table_name_ok(res, slash ? (size_t)(slash - res) : strlen(res)))
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "Invalid TableArn: Invalid ResourceArn provided "
                            "as input %s",
                            arn);
    if (slash)
        return tm_error_set(&r->err, TM_ENOTFOUND,
                            "Requested resource not found: ResourceArn: %s "
                            "not found",
                            arn);
    *name = arena_strdup(r->arena, res);
    return *name ? 0 : tm_error_set(&r->err, TM_ENOMEM, "out of memory");
}

/* ResourceArn and the list member `field` ("Tags"/"TagKeys", path
 * `path`): presence and kinds, in DynamoDB's order. */
static int resource_args(struct api_req *r, const char *field,
                         const char *path, const char **arn, json_t **list,
                         const char **name)
{
    struct verrs v;
    int rc;

    if ((rc = req_string(r, r->body, "ResourceArn", arn, NULL)))
        return rc;
    if (list && (rc = req_array(r, r->body, field, list)))
        return rc;
    if (*arn == NULL)
        return tm_error_set(&r->err, TM_EVALIDATION, "Invalid TableArn");
    verrs_init(&v);
    if (list && *list == NULL)
        verrs_add(&v, "null", path, "Member must not be null");
    if ((rc = verrs_finish(&v, r)))
        return rc;
    return arn_table(r, *arn, name);
}

static int not_found(struct tm_error *err, const char *arn)
{
    return tm_error_set(err, TM_ENOTFOUND,
                        "Requested resource not found: ResourceArn: %s not "
                        "found",
                        arn);
}

/* ==== TagResource and UntagResource ====================================== */

struct tags_state {
    const char *arn;
    const char *name;
    struct ptag *add, *del;
    size_t nadd, ndel;
};

static int edit_apply(struct engine_wtx *w, void *arg, struct tm_error *err)
{
    struct api_req *r = arg;
    struct tags_state *s = r->state;
    struct table *cur, *t;
    struct tag *tags;
    size_t n;
    int rc;

    cur = catalog_find(engine_catalog(r->ctx->engine), s->name);
    if (cur == NULL)
        return not_found(err, s->arn);
    rc = tags_edit(cur->tags, cur->ntags, s->add, s->nadd, s->del, s->ndel,
                   &tags, &n, err);
    if (rc)
        return rc;
    if (n == cur->ntags) {
        /* nothing changed (same tags, same values): nothing to log */
        size_t i = 0;
        while (i < n && strcmp(tags[i].key, cur->tags[i].key) == 0 &&
               strcmp(tags[i].value, cur->tags[i].value) == 0)
            i++;
        if (i == n) {
            tags_free(tags, n);
            return 0;
        }
    }
    t = table_copy(cur, NULL);
    if (t == NULL) {
        tags_free(tags, n);
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    }
    tags_free(t->tags, t->ntags);
    t->tags = tags;
    t->ntags = n;
    rc = engine_wtx_update_table(w, t);
    if (rc) {
        table_free(t);
        return tm_error_set(err, rc, "updating the tags of %s failed",
                            s->name);
    }
    return 0;
}

static int edit_finish(struct api_req *r)
{
    if (r->op.rc < 0)
        return r->op.rc;
    return json_put_raw(&r->out, "{}");
}

static int start_edit(struct api_req *r, struct tags_state *s)
{
    r->state = s;
    r->op.apply = edit_apply;
    r->op.arg = r;
    r->finish = edit_finish;
    return API_PENDING;
}

int api_tag_resource(struct api_req *r)
{
    struct tags_state *s;
    json_t *list;
    int rc;

    s = arena_calloc(r->arena, 1, sizeof *s);
    if (s == NULL)
        return tm_error_set(&r->err, TM_ENOMEM, "out of memory");
    if ((rc = resource_args(r, "Tags", "tags", &s->arn, &list, &s->name)))
        return rc;
    if (json_array_size(list) == 0)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "Atleast one Tag needs to be provided as "
                            "Input.");
    if ((rc = parse_tag_list(r, list, &s->add, &s->nadd)))
        return rc;
    return start_edit(r, s);
}

int api_untag_resource(struct api_req *r)
{
    struct tags_state *s;
    json_t *list, *el;
    size_t i;
    int rc;

    s = arena_calloc(r->arena, 1, sizeof *s);
    if (s == NULL)
        return tm_error_set(&r->err, TM_ENOMEM, "out of memory");
    if ((rc = resource_args(r, "TagKeys", "tagKeys", &s->arn, &list,
                            &s->name)))
        return rc;
    s->ndel = json_array_size(list);
    if (s->ndel == 0)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "Atleast one Tag Key needs to be provided as "
                            "Input.");
    if (s->ndel > API_TAGS_MAX)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "Number of Tags exceed the current limit for the "
                            "provided ResourceArn");
    s->del = arena_calloc(r->arena, s->ndel, sizeof *s->del);
    if (s->del == NULL)
        return tm_error_set(&r->err, TM_ENOMEM, "out of memory");
    json_array_foreach(list, i, el) {
        if (!json_is_string(el))
            return tm_error_set(&r->err, TM_ESERIALIZATION,
                                "Unexpected value type in payload");
        s->del[i].key = json_string_value(el);
        s->del[i].klen = json_string_length(el);
        if ((rc = check_key(r, s->del[i].key, s->del[i].klen)))
            return rc;
    }
    return start_edit(r, s);
}

/* ==== ListTagsOfResource ================================================= */

int api_list_tags_of_resource(struct api_req *r)
{
    const char *arn, *name, *token;
    size_t tlen, i, shown = 0;
    struct table *t;
    struct buf *o = &r->out;
    int rc;

    if ((rc = req_string(r, r->body, "NextToken", &token, &tlen)) ||
        (rc = resource_args(r, NULL, NULL, &arn, NULL, &name)))
        return rc;
    rc = catalog_get(engine_catalog(r->ctx->engine), name, r->arena, &t);
    if (rc == TM_ENOTFOUND)
        return not_found(&r->err, arn);
    if (rc)
        return tm_error_set(&r->err, rc, "out of memory");
    if (t->ntags > 1)
        qsort(t->tags, t->ntags, sizeof *t->tags, tag_cmp);
    rc = json_put_raw(o, "{\"Tags\":[");
    for (i = 0; i < t->ntags && rc == 0; i++) {
        const char *k = t->tags[i].key;
        if (token && bytes_cmp(k, strlen(k), token, tlen) <= 0)
            continue;
        if (shown == TAGS_PAGE)
            break;
        rc |= json_put_raw(o, shown ? ",{\"Key\":" : "{\"Key\":");
        rc |= json_put_cstr(o, k);
        rc |= json_put_raw(o, ",\"Value\":");
        rc |= json_put_cstr(o, t->tags[i].value);
        rc |= buf_putc(o, '}');
        shown++;
    }
    rc |= buf_putc(o, ']');
    if (i < t->ntags && shown > 0) {
        rc |= json_put_raw(o, ",\"NextToken\":");
        rc |= json_put_cstr(o, t->tags[i - 1].key);
    }
    rc |= buf_putc(o, '}');
    return rc ? tm_error_set(&r->err, TM_ENOMEM, "out of memory") : 0;
}
