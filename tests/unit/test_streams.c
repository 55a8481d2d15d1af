/*
 * test_streams.c - DynamoDB Streams over the change log (src/streams and
 * the GetRecords handler): names and their parsers, shard iterators and
 * their checksum, record conversion (view types, the TTL marking, no
 * record for a write that changes nothing), and reads against a real
 * engine: bounds, closing at a disable, the 24-hour trim and the
 * 15-minute iterator expiry with the clock moved (clock_advance_ms),
 * which the integration tests cannot do.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "base/clock.h"
#include "engine/engine.h"
#include "item/item.h"
#include "storage/key.h"
#include "streams/streams.h"
#include "test.h"

#define HOUR_MS (3600LL * 1000)

/* ---- names -------------------------------------------------------------- */

static void test_labels(void)
{
    char l[STREAMS_LABEL_LEN + 1];
    int64_t ms;

    streams_label(1764085536123LL, l);
    ASSERT_STR_EQ(l, "2025-11-25T15:45:36.123");
    ASSERT_EQ(streams_label_parse(l, strlen(l), &ms), 0);
    ASSERT_EQ(ms, 1764085536123LL);
    streams_label(1764085536000LL, l);
    ASSERT_STR_EQ(l, "2025-11-25T15:45:36.000");
    ASSERT_EQ(streams_label_parse("2025-02-30T00:00:00.000", 23, &ms), -1);
    ASSERT_EQ(streams_label_parse("2025-11-25T15:45:36.12", 22, &ms), -1);
    ASSERT_EQ(streams_label_parse("2025-11-25 15:45:36.123", 23, &ms), -1);
    ASSERT_EQ(streams_label_parse("2025-11-25T15:45:3x.123", 23, &ms), -1);
}

static void test_sequence_numbers(void)
{
    char s[STREAMS_SEQ_LEN + 1];
    uint64_t v;

    streams_seq(42, s);
    ASSERT_STR_EQ(s, "000000000000000000042");
    ASSERT_EQ(streams_seq_parse(s, strlen(s), &v), 0);
    ASSERT_EQ(v, 42);
    ASSERT_EQ(streams_seq_parse("18446744073709551615", 20, &v), 0);
    ASSERT(v == UINT64_MAX);
    ASSERT_EQ(streams_seq_parse("18446744073709551616", 20, &v), -1);
    ASSERT_EQ(streams_seq_parse("12a", 3, &v), -1);
    ASSERT_EQ(streams_seq_parse("", 0, &v), -1);
}

static void test_arns(void)
{
    struct streams_arn_parts p;
    struct arena *a = arena_create(4096, 1 << 20);
    char *arn = streams_arn(a, "eu-west-1", "123456789012", "my.table-1",
                            1764085536123LL);

    ASSERT_STR_EQ(arn, "arn:aws:dynamodb:eu-west-1:123456789012:table/"
                       "my.table-1/stream/2025-11-25T15:45:36.123");
    ASSERT_EQ(streams_arn_parse(arn, &p), 0);
    ASSERT_STR_EQ(p.region, "eu-west-1");
    ASSERT_STR_EQ(p.account, "123456789012");
    ASSERT_STR_EQ(p.table, "my.table-1");
    ASSERT_EQ(p.label_ms, 1764085536123LL);
    ASSERT_EQ(streams_arn_parse("arn:aws:dynamodb:r:a:table/ab/stream/"
                                "2025-11-25T15:45:36.123", &p), -1);
    ASSERT_EQ(streams_arn_parse("arn:aws:dynamodb:r:a:table/abc", &p), -1);
    ASSERT_EQ(streams_arn_parse("arn:aws:s3:r:a:table/abc/stream/"
                                "2025-11-25T15:45:36.123", &p), -1);
    ASSERT_EQ(streams_arn_parse("garbage", &p), -1);
    arena_destroy(a);
}

static void test_iterators(void)
{
    struct streams_iter it = {0}, back;
    struct buf b;

    snprintf(it.table, sizeof it.table, "events");
    snprintf(it.id, sizeof it.id, "0f2a9c1e-0000-4000-8000-000000000001");
    it.label_ms = 1764085536123LL;
    it.pos = 987654321;
    it.issued_ms = 1764085599999LL;
    buf_init(&b, 4096);
    ASSERT_EQ(streams_iter_encode(&it, &b), 0);
    ASSERT(b.len <= 2048);
    ASSERT_EQ(streams_iter_decode((char *)b.data, b.len, &back), 0);
    ASSERT_STR_EQ(back.table, "events");
    ASSERT_STR_EQ(back.id, it.id);
    ASSERT_EQ(back.label_ms, it.label_ms);
    ASSERT_EQ(back.pos, it.pos);
    ASSERT_EQ(back.issued_ms, it.issued_ms);
    ASSERT_EQ(back.horizon, 0);
    /* every single-character change is refused */
    for (size_t i = 0; i < b.len; i++) {
        char save = (char)b.data[i];
        b.data[i] = save == 'A' ? 'B' : 'A';
        ASSERT(streams_iter_decode((char *)b.data, b.len, &back) != 0);
        b.data[i] = (uint8_t)save;
    }
    ASSERT_EQ(streams_iter_decode((char *)b.data, b.len - 4, &back), -1);
    ASSERT_EQ(streams_iter_decode("", 0, &back), -1);
    ASSERT_EQ(streams_iter_decode("AAAA", 4, &back), -1);
    buf_free(&b);
}

/* ---- record conversion -------------------------------------------------- */

static struct table *test_table(void)
{
    struct table *t = table_new();

    t->name = strdup("events");
    t->attrs = calloc(2, sizeof *t->attrs);
    t->attrs[0].name = strdup("p");
    t->attrs[0].type = AV_S;
    t->attrs[1].name = strdup("c");
    t->attrs[1].type = AV_N;
    t->nattrs = 2;
    strcpy(t->id, "0f2a9c1e-0000-4000-8000-000000000001");
    t->billing = BILLING_PAY_PER_REQUEST;
    t->status = TABLE_ACTIVE;
    t->stream = STREAM_NEW_AND_OLD_IMAGES;
    table_bind_keys(t, "p", "c");
    return t;
}

/* An item from DynamoDB JSON text, encoded, with its row key and size. */
struct enc {
    struct buf key, item;
    size_t size;
};

static int encode(struct arena *a, const struct table *t, const char *json,
                  struct enc *e)
{
    json_t *j = json_loads(json, 0, NULL);
    struct tm_error err;
    struct av av;
    int rc = -1;

    buf_init(&e->key, 8192);
    buf_init(&e->item, 1 << 20);
    if (j && item_from_json(a, j, &av, &err) == 0 &&
        key_from_item(&t->ks, &av, &e->key, &err) == 0 &&
        item_encode(&av, &e->item) == 0) {
        e->size = item_size(&av);
        rc = 0;
    }
    json_decref(j);
    return rc;
}

static void enc_free(struct enc *e)
{
    buf_free(&e->key);
    buf_free(&e->item);
}

static json_t *record_of(struct arena *a, const struct table *t,
                         enum stream_view view,
                         const struct engine_change *c, int *wrote)
{
    struct buf o;
    json_t *j = NULL;

    buf_init(&o, 1 << 20);
    *wrote = streams_record_json(a, t, view, "eu-west-1", c, &o);
    if (*wrote == 1)
        j = json_loadb((char *)o.data, o.len, 0, NULL);
    buf_free(&o);
    return j;
}

static void test_record_conversion(void)
{
    struct arena *a = arena_create(65536, 16 << 20);
    struct table *t = test_table();
    struct enc old, new_, same;
    struct engine_change c;
    json_t *j, *d;
    int wrote;

    ASSERT_EQ(encode(a, t, "{\"p\":{\"S\":\"k\"},\"c\":{\"N\":\"7\"},"
                           "\"v\":{\"S\":\"old\"}}", &old), 0);
    ASSERT_EQ(encode(a, t, "{\"p\":{\"S\":\"k\"},\"c\":{\"N\":\"7\"},"
                           "\"v\":{\"S\":\"new\"}}", &new_), 0);
    /* the same item as `new_`, attributes in another order */
    ASSERT_EQ(encode(a, t, "{\"v\":{\"S\":\"new\"},\"c\":{\"N\":\"7\"},"
                           "\"p\":{\"S\":\"k\"}}", &same), 0);

    /* a modification, seen through each view type */
    memset(&c, 0, sizeof c);
    c.lsn = 77;
    c.time_ms = 1764085536123LL;
    c.table_no = 5;
    c.existed = 1;
    c.key = new_.key.data;
    c.klen = new_.key.len;
    c.old_item = old.item.data;
    c.old_len = old.item.len;
    c.old_size = old.size;
    c.new_item = new_.item.data;
    c.new_len = new_.item.len;
    c.new_size = new_.size;
    for (int v = STREAM_KEYS_ONLY; v <= STREAM_NEW_AND_OLD_IMAGES; v++) {
        j = record_of(a, t, (enum stream_view)v, &c, &wrote);
        ASSERT_EQ(wrote, 1);
        ASSERT(j != NULL);
        d = json_object_get(j, "dynamodb");
        ASSERT_STR_EQ(json_string_value(json_object_get(j, "eventName")),
                      "MODIFY");
        ASSERT_STR_EQ(json_string_value(json_object_get(j, "awsRegion")),
                      "eu-west-1");
        ASSERT_STR_EQ(json_string_value(json_object_get(d,
                                                        "SequenceNumber")),
                      "000000000000000000077");
        ASSERT_EQ(json_integer_value(json_object_get(
                      d, "ApproximateCreationDateTime")),
                  1764085536);
        ASSERT_STR_EQ(json_string_value(json_object_get(
                          json_object_get(json_object_get(d, "Keys"), "c"),
                          "N")),
                      "7");
        ASSERT_EQ(json_object_get(d, "NewImage") != NULL,
                  v == STREAM_NEW_IMAGE || v == STREAM_NEW_AND_OLD_IMAGES);
        ASSERT_EQ(json_object_get(d, "OldImage") != NULL,
                  v == STREAM_OLD_IMAGE || v == STREAM_NEW_AND_OLD_IMAGES);
        ASSERT(json_object_get(j, "userIdentity") == NULL);
        json_decref(j);
    }

    /* a put that leaves the item as it was: no record */
    c.old_item = new_.item.data;
    c.old_len = new_.item.len;
    c.new_item = same.item.data;
    c.new_len = same.item.len;
    j = record_of(a, t, STREAM_KEYS_ONLY, &c, &wrote);
    ASSERT_EQ(wrote, 0);
    ASSERT(j == NULL);
    c.old_item = old.item.data;
    c.old_len = old.item.len;

    /* a time-to-live delete: REMOVE by the service */
    c.is_delete = 1;
    c.ttl = 1;
    c.new_item = NULL;
    c.new_len = 0;
    j = record_of(a, t, STREAM_NEW_AND_OLD_IMAGES, &c, &wrote);
    ASSERT_EQ(wrote, 1);
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "eventName")),
                  "REMOVE");
    d = json_object_get(j, "userIdentity");
    ASSERT_STR_EQ(json_string_value(json_object_get(d, "PrincipalId")),
                  "dynamodb.amazonaws.com");
    ASSERT_STR_EQ(json_string_value(json_object_get(d, "Type")), "Service");
    d = json_object_get(j, "dynamodb");
    ASSERT(json_object_get(d, "NewImage") == NULL);
    ASSERT(json_object_get(d, "OldImage") != NULL);
    json_decref(j);

    /* a user's delete is not marked */
    c.ttl = 0;
    j = record_of(a, t, STREAM_KEYS_ONLY, &c, &wrote);
    ASSERT(j != NULL);
    ASSERT(json_object_get(j, "userIdentity") == NULL);
    json_decref(j);

    /* undecodable bytes are corruption, not a crash */
    c.old_len = 3;
    j = record_of(a, t, STREAM_OLD_IMAGE, &c, &wrote);
    ASSERT_EQ(wrote, TM_ECORRUPT);

    enc_free(&old);
    enc_free(&new_);
    enc_free(&same);
    table_free(t);
    arena_destroy(a);
}

/* ---- against an engine -------------------------------------------------- */

static char dir[64];

static struct engine *open_engine(void)
{
    struct engine_options o = {.data_dir = dir, .sync = 0,
                              .map_bytes = 1ull << 30};
    struct engine *e = NULL;
    struct tm_error err = {0};

    strcpy(dir, "/tmp/tm-streams-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return NULL;
    if (engine_open(&o, &e, &err) != 0) {
        fprintf(stderr, "engine_open: %s\n", err.msg);
        return NULL;
    }
    return e;
}

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

struct op_arg {
    struct engine *e;
    int kind;              /* 0 create, 1 put, 2 delete, 3 ttl delete,
                              4 disable the stream */
    struct enc *row;
};

static int op_apply(struct engine_wtx *w, void *arg, struct tm_error *err)
{
    struct op_arg *o = arg;
    struct table *t = catalog_find(engine_catalog(o->e), "events");
    int rc;

    switch (o->kind) {
    case 0:
        t = test_table();
        t->stream_created_ms = engine_wtx_time(w);
        rc = engine_wtx_create_table(w, t);
        if (rc)
            table_free(t);
        break;
    case 1:
        rc = engine_wtx_put(w, t, o->row->key.data, o->row->key.len,
                            o->row->item.data, o->row->item.len,
                            o->row->size);
        break;
    case 2:
        rc = engine_wtx_delete(w, t, o->row->key.data, o->row->key.len);
        break;
    case 3:
        rc = engine_wtx_delete_ttl(w, t, o->row->key.data,
                                   o->row->key.len);
        break;
    default:
        t = table_copy(t, NULL);
        t->stream = STREAM_NONE;
        rc = engine_wtx_update_table(w, t);
        if (rc)
            table_free(t);
        break;
    }
    return rc ? tm_error_set(err, rc, "op %d failed", o->kind) : 0;
}

static int run_op(struct engine *e, int kind, struct enc *row)
{
    struct op_arg a = {e, kind, row};
    struct engine_op op = {0};

    op.apply = op_apply;
    op.arg = &a;
    return engine_run(e, &op);
}

/* Read the whole stream from `pos` (or the horizon) into a JSON array. */
static json_t *read_from(struct engine *e, uint64_t pos, int horizon,
                         int *rc, struct streams_read *rd)
{
    struct arena *a = arena_create(65536, 16 << 20);
    struct tm_error err = {0};
    struct streams_info si;
    struct table *t;
    struct buf o;
    json_t *j = NULL;

    buf_init(&o, 16 << 20);
    catalog_get(engine_catalog(e), "events", a, &t);
    *rc = streams_info(e, t, &si, &err);
    memset(rd, 0, sizeof *rd);
    rd->pos = pos;
    rd->horizon = horizon;
    rd->limit = 1000;
    rd->region = "us-east-1";
    buf_putc(&o, '[');
    if (*rc == 0)
        *rc = streams_read(e, t, &si, rd, &o, &err);
    buf_putc(&o, ']');
    if (*rc == 0)
        j = json_loadb((char *)o.data, o.len, 0, NULL);
    buf_free(&o);
    arena_destroy(a);
    return j;
}

/* GetRecords through the API with `iterator`: the response or error. */
static int get_records(struct engine *e, const char *iterator,
                       struct buf *out, struct tm_error *err)
{
    struct api_ctx ctx;
    struct arena *a = arena_create(65536, 64 << 20);
    struct api_req r;
    char body[4096];
    int rc;

    memset(&ctx, 0, sizeof ctx);
    ctx.engine = e;
    ctx.region = "us-east-1";
    ctx.account = "000000000000";
    snprintf(body, sizeof body, "{\"ShardIterator\":\"%s\"}", iterator);
    api_req_init(&r, &ctx, a);
    rc = api_handle(&r, "DynamoDBStreams_20120810.GetRecords",
                    (uint8_t *)body, strlen(body));
    *err = r.err;
    buf_reset(out);
    if (rc == API_DONE && r.err.code == 0)
        buf_append(out, r.out.data, r.out.len);
    api_req_clear(&r);
    arena_destroy(a);
    return err->code;
}

static void test_engine_reads(void)
{
    struct engine *e = open_engine();
    struct arena *a = arena_create(65536, 16 << 20);
    struct table *t = test_table(), *live;
    struct streams_info si;
    struct streams_read rd;
    struct streams_iter it;
    struct tm_error err = {0};
    struct enc r1, r2;
    struct buf txt, out;
    json_t *j;
    int rc;

    ASSERT(e != NULL);
    ASSERT_EQ(encode(a, t, "{\"p\":{\"S\":\"a\"},\"c\":{\"N\":\"1\"},"
                           "\"v\":{\"N\":\"1\"}}", &r1), 0);
    ASSERT_EQ(encode(a, t, "{\"p\":{\"S\":\"a\"},\"c\":{\"N\":\"1\"},"
                           "\"v\":{\"N\":\"2\"}}", &r2), 0);
    /* LSNs: 1 the table (with its stream), 2..6 the stream's records,
     * 7 the disabling, 8 a write after it */
    ASSERT_EQ(run_op(e, 0, NULL), 0);
    ASSERT_EQ(run_op(e, 1, &r1), 0);
    ASSERT_EQ(run_op(e, 1, &r2), 0);
    ASSERT_EQ(run_op(e, 3, &r2), 0);   /* TTL delete */
    ASSERT_EQ(run_op(e, 1, &r1), 0);
    ASSERT_EQ(run_op(e, 2, &r1), 0);   /* user delete */

    j = read_from(e, 0, 1, &rc, &rd);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(json_array_size(j), 5);
    ASSERT_EQ(rd.closed, 0);
    ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(j, 0),
                                                    "eventName")),
                  "INSERT");
    ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(j, 1),
                                                    "eventName")),
                  "MODIFY");
    ASSERT(json_object_get(json_array_get(j, 2), "userIdentity") != NULL);
    ASSERT(json_object_get(json_array_get(j, 4), "userIdentity") == NULL);
    json_decref(j);

    /* the stream's start is just after the record that created it */
    catalog_get(engine_catalog(e), "events", a, &live);
    ASSERT_EQ(streams_info(e, live, &si, &err), 0);
    ASSERT_EQ(si.start, 2);
    ASSERT_EQ(si.enabled, 1);

    /* an iterator issued now, for the expiry check below */
    memset(&it, 0, sizeof it);
    snprintf(it.table, sizeof it.table, "events");
    snprintf(it.id, sizeof it.id, "%s", live->id);
    it.label_ms = live->stream_created_ms;
    it.pos = 3;
    it.issued_ms = clock_now_ms();
    buf_init(&txt, 4096);
    buf_init(&out, 1 << 20);
    ASSERT_EQ(streams_iter_encode(&it, &txt), 0);
    buf_putc(&txt, 0);
    ASSERT_EQ(get_records(e, (char *)txt.data, &out, &err), 0);
    j = json_loadb((char *)out.data, out.len, 0, NULL);
    ASSERT_EQ(json_array_size(json_object_get(j, "Records")), 4);
    ASSERT(json_object_get(j, "NextShardIterator") != NULL);
    json_decref(j);

    /* 16 minutes on: the iterator has expired */
    clock_advance_ms(16 * 60 * 1000);
    ASSERT_EQ(get_records(e, (char *)txt.data, &out, &err), TM_EEXPIREDITER);
    ASSERT(strncmp(err.msg, "Iterator expired. The iterator was created at "
                            "time ", 46) == 0);
    clock_advance_ms(-16 * 60 * 1000);

    /* disable: the stream closes at that record */
    ASSERT_EQ(run_op(e, 4, NULL), 0);
    ASSERT_EQ(run_op(e, 1, &r2), 0);   /* not in the stream */
    j = read_from(e, 0, 1, &rc, &rd);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(json_array_size(j), 5);
    ASSERT_EQ(rd.closed, 1);
    json_decref(j);
    catalog_get(engine_catalog(e), "events", a, &live);
    ASSERT_EQ(streams_info(e, live, &si, &err), 0);
    ASSERT_EQ(si.enabled, 0);
    ASSERT_EQ(si.view, STREAM_NEW_AND_OLD_IMAGES);
    ASSERT_EQ(si.end, 7);   /* the disabling record */
    ASSERT(si.end_ms > 0);
    ASSERT_EQ(streams_expired(&si, clock_now_ms()), 0);
    ASSERT_EQ(streams_expired(&si, si.end_ms + 25 * HOUR_MS), 1);

    /* 25 hours on: an explicit position is trimmed, the horizon skips */
    clock_advance_ms(25 * HOUR_MS);
    j = read_from(e, 3, 0, &rc, &rd);
    ASSERT_EQ(rc, TM_ETRIMMED);
    j = read_from(e, 0, 1, &rc, &rd);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(json_array_size(j), 0);
    json_decref(j);
    ASSERT_EQ(streams_check_position(e, 3, &err), TM_ETRIMMED);
    clock_advance_ms(-25 * HOUR_MS);
    ASSERT_EQ(streams_check_position(e, 3, &err), 0);

    buf_free(&txt);
    buf_free(&out);
    enc_free(&r1);
    enc_free(&r2);
    table_free(t);
    arena_destroy(a);
    engine_close(e);
    remove_dir();
}

int main(void)
{
    RUN(test_labels);
    RUN(test_sequence_numbers);
    RUN(test_arns);
    RUN(test_iterators);
    RUN(test_record_conversion);
    RUN(test_engine_reads);
    return TEST_DONE();
}
