/*
 * api_streams.c - the DynamoDB Streams API on DynamoDB's endpoint
 * (X-Amz-Target DynamoDBStreams_20120810.<Op>, streams_ops.def):
 * ListStreams, DescribeStream, GetShardIterator, GetRecords; and
 * StreamSpecification for CreateTable/UpdateTable with the stream members
 * of a TableDescription (api_streams.h).
 *
 * The records come from the change log through src/streams; nothing here
 * writes.  Every handler answers on the HTTP thread (API_DONE).
 *
 * Order of checks, as DynamoDB does them: field kinds
 * (SerializationException), then shape constraints all at once
 * (ValidationException "N validation errors detected: ..."; the Streams
 * operations are not in the DynamoDB model that api.c checks, so the
 * constraints of the Streams model are checked here), then the request's
 * own rules, then the stream's existence (ResourceNotFoundException).
 *
 * Messages: "Requested resource not found: Stream: <arn> not found" for
 * an unknown stream; the StreamSpecification texts are DynamoDB's (see
 * the compatibility notes at each).  A stream of a table that was
 * deleted, or an older stream of a table whose stream was re-enabled,
 * is not found (src/streams serves each table's latest stream only).
 */
#include "api/api_streams.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/jsonw.h"
#include "base/log.h"
#include "streams/streams.h"

/* ==== Shape checks ==== */

/* "'<s>'", as validation messages show a value. */
static const char *shown(struct api_req *r, const char *s)
{
    const char *q = arena_printf(r->arena, "'%s'", s);
    return q ? q : "''";
}

/* A string member's length constraint; `n` is its length in bytes. */
static void check_len(struct api_req *r, struct verrs *v, const char *s,
                      size_t n, const char *path, size_t min, size_t max)
{
    char what[96];

    if (n < min) {
        snprintf(what, sizeof what,
                 "Member must have length greater than or equal to %zu",
                 min);
        verrs_add(v, shown(r, s), path, what);
    } else if (n > max) {
        snprintf(what, sizeof what,
                 "Member must have length less than or equal to %zu", max);
        verrs_add(v, shown(r, s), path, what);
    }
}

static void check_required(struct verrs *v, const void *p, const char *path)
{
    if (p == NULL)
        verrs_add(v, "null", path, "Member must not be null");
}

static void check_limit(struct verrs *v, int has, int64_t val, int64_t max)
{
    char shownv[32], what[96];

    if (!has)
        return;
    snprintf(shownv, sizeof shownv, "'%lld'", (long long)val);
    if (val < 1) {
        verrs_add(v, shownv, "limit",
                  "Member must have value greater than or equal to 1");
    } else if (max && val > max) {
        snprintf(what, sizeof what,
                 "Member must have value less than or equal to %lld",
                 (long long)max);
        verrs_add(v, shownv, "limit", what);
    }
}

/* ==== Finding the stream ==== */

static int stream_not_found(struct api_req *r, const char *arn)
{
    return tm_error_set(&r->err, TM_ENOTFOUND,
                        "Requested resource not found: Stream: %s not found",
                        arn);
}

/* The stream named by `arn` (`n` bytes): its table copied into the arena
 * and its bounds.  ValidationException when `arn` is not a stream ARN,
 * ResourceNotFoundException when no such stream is served. */
static int stream_lookup(struct api_req *r, const char *arn, size_t n,
                         struct table **t, struct streams_info *si)
{
    struct streams_arn_parts p;
    int rc;

    if (strlen(arn) != n || streams_arn_parse(arn, &p) != 0)
        return tm_error_set(&r->err, TM_EVALIDATION, "Invalid StreamArn");
    if (strcmp(p.region, r->ctx->region) != 0 ||
        strcmp(p.account, r->ctx->account) != 0)
        return stream_not_found(r, arn);
    rc = catalog_get(engine_catalog(r->ctx->engine), p.table, r->arena, t);
    if (rc == TM_ENOTFOUND || (rc == 0 && (*t)->stream_created_ms !=
                                              p.label_ms))
        return stream_not_found(r, arn);
    if (rc)
        return tm_error_set(&r->err, rc, "out of memory");
    rc = streams_info(r->ctx->engine, *t, si, &r->err);
    if (rc == TM_ENOTFOUND ||
        (rc == 0 && streams_expired(si, clock_now_ms())))
        return stream_not_found(r, arn);
    return rc;
}

static char *arn_of(struct api_req *r, const struct table *t)
{
    return streams_arn(r->arena, r->ctx->region, r->ctx->account, t->name,
                       t->stream_created_ms);
}

/* ==== ListStreams ==== */

/* Whether t has a stream ListStreams shows: enabled, or disabled less
 * than 24 hours ago. */
static int listed(struct api_req *r, const struct table *t)
{
    struct streams_info si;
    struct tm_error err;

    if (t->stream_created_ms == 0)
        return 0;
    if (t->stream != STREAM_NONE)
        return 1;
    if (streams_info(r->ctx->engine, t, &si, &err) != 0) {
        tm_warn("ListStreams: the stream of table %s: %s", t->name,
                err.msg);
        return 1;
    }
    return !streams_expired(&si, clock_now_ms());
}

static int put_stream(struct api_req *r, const struct table *t, int first)
{
    char label[STREAMS_LABEL_LEN + 1];
    const char *arn = arn_of(r, t);
    struct buf *o = &r->out;
    int rc = 0;

    if (arn == NULL)
        return TM_ENOMEM;
    streams_label(t->stream_created_ms, label);
    rc |= json_put_raw(o, first ? "{\"StreamArn\":" : ",{\"StreamArn\":");
    rc |= json_put_cstr(o, arn);
    rc |= json_put_raw(o, ",\"TableName\":");
    rc |= json_put_cstr(o, t->name);
    rc |= json_put_raw(o, ",\"StreamLabel\":");
    rc |= json_put_cstr(o, label);
    rc |= buf_putc(o, '}');
    return rc ? TM_ENOMEM : 0;
}

int api_list_streams(struct api_req *r)
{
    struct catalog *cat = engine_catalog(r->ctx->engine);
    struct streams_arn_parts sp;
    struct table *t, *last = NULL;
    const char *name, *start, *after;
    size_t nlen, slen, count = 0;
    int64_t limit = 100;
    int has_limit, more = 0, rc;
    struct verrs v;

    verrs_init(&v);
    if ((rc = req_string(r, r->body, "TableName", &name, &nlen)) ||
        (rc = req_int(r, r->body, "Limit", &limit, &has_limit)) ||
        (rc = req_string(r, r->body, "ExclusiveStartStreamArn", &start,
                         &slen))) {
        buf_free(&v.msg);
        return rc;
    }
    if (name)
        check_table_name(&v, strlen(name) == nlen ? name : "", "tableName");
    check_limit(&v, has_limit, limit, 100);
    if (start)
        check_len(r, &v, start, slen, "exclusiveStartStreamArn", 37, 1024);
    if ((rc = verrs_finish(&v, r)))
        return rc;
    if (start && (strlen(start) != slen || streams_arn_parse(start, &sp)))
        return tm_error_set(&r->err, TM_EVALIDATION, "Invalid StreamArn");
    after = start ? sp.table : NULL;

    rc = json_put_raw(&r->out, "{\"Streams\":[");
    if (rc)
        return rc;
    if (name) {
        rc = catalog_get(cat, name, r->arena, &t);
        if (rc == TM_ENOTFOUND)
            return tm_error_set(&r->err, TM_ENOTFOUND,
                                "Requested resource not found: Table: %s "
                                "not found",
                                name);
        if (rc)
            return rc;
        if ((after == NULL || strcmp(name, after) > 0) && listed(r, t)) {
            if ((rc = put_stream(r, t, 1)))
                return rc;
            count++;
        }
    } else {
        for (;;) {
            char **names;
            size_t n, i;
            int m;
            rc = catalog_names(cat, after, 100, r->arena, &names, &n, &m);
            if (rc)
                return rc;
            for (i = 0; i < n && !more; i++) {
                if (catalog_get(cat, names[i], r->arena, &t) != 0 ||
                    !listed(r, t))
                    continue;
                if (count == (size_t)limit) {
                    more = 1;
                    break;
                }
                if ((rc = put_stream(r, t, count == 0)))
                    return rc;
                last = t;
                count++;
            }
            if (more || !m || n == 0)
                break;
            after = names[n - 1];
        }
    }
    rc = buf_putc(&r->out, ']');
    if (rc == 0 && more && last) {
        const char *arn = arn_of(r, last);
        rc = json_put_raw(&r->out, ",\"LastEvaluatedStreamArn\":");
        rc = rc ? rc : arn ? json_put_cstr(&r->out, arn) : TM_ENOMEM;
    }
    return rc ? rc : buf_putc(&r->out, '}');
}

/* ==== DescribeStream ==== */

int api_describe_stream(struct api_req *r)
{
    char shard[STREAMS_SHARD_ID_LEN + 1], label[STREAMS_LABEL_LEN + 1];
    char seq[STREAMS_SEQ_LEN + 1];
    const char *arn, *esid, *view;
    size_t alen, elen;
    int64_t limit = 100;
    int has_limit, rc = 0;
    struct streams_info si;
    struct table *t;
    struct buf *o = &r->out;
    struct verrs v;

    verrs_init(&v);
    if ((rc = req_string(r, r->body, "StreamArn", &arn, &alen)) ||
        (rc = req_int(r, r->body, "Limit", &limit, &has_limit)) ||
        (rc = req_string(r, r->body, "ExclusiveStartShardId", &esid,
                         &elen))) {
        buf_free(&v.msg);
        return rc;
    }
    check_required(&v, arn, "streamArn");
    if (arn)
        check_len(r, &v, arn, alen, "streamArn", 37, 1024);
    check_limit(&v, has_limit, limit, 100);
    if (esid)
        check_len(r, &v, esid, elen, "exclusiveStartShardId", 28, 65);
    if ((rc = verrs_finish(&v, r)))
        return rc;
    if ((rc = stream_lookup(r, arn, alen, &t, &si)))
        return rc;

    streams_shard_id(t, shard);
    streams_label(t->stream_created_ms, label);
    view = streams_view_name(si.view);
    rc |= json_put_raw(o, "{\"StreamDescription\":{\"StreamArn\":");
    rc |= json_put_cstr(o, arn);
    rc |= json_put_raw(o, ",\"StreamLabel\":");
    rc |= json_put_cstr(o, label);
    rc |= json_put_raw(o, si.enabled ? ",\"StreamStatus\":\"ENABLED\""
                                     : ",\"StreamStatus\":\"DISABLED\"");
    if (view) {
        rc |= json_put_raw(o, ",\"StreamViewType\":");
        rc |= json_put_cstr(o, view);
    }
    rc |= json_put_raw(o, ",\"CreationRequestDateTime\":");
    rc |= json_put_time_ms(o, t->stream_created_ms);
    rc |= json_put_raw(o, ",\"TableName\":");
    rc |= json_put_cstr(o, t->name);
    rc |= json_put_raw(o, ",\"KeySchema\":[{\"AttributeName\":");
    rc |= json_put_cstr(o, t->ks.hash_name);
    rc |= json_put_raw(o, ",\"KeyType\":\"HASH\"}");
    if (t->ks.range_name) {
        rc |= json_put_raw(o, ",{\"AttributeName\":");
        rc |= json_put_cstr(o, t->ks.range_name);
        rc |= json_put_raw(o, ",\"KeyType\":\"RANGE\"}");
    }
    rc |= json_put_raw(o, "],\"Shards\":[");
    /* one shard; shards are listed in ShardId order after the exclusive
     * start, which need not name a shard of this stream */
    if (esid == NULL || strcmp(shard, esid) > 0) {
        rc |= json_put_raw(o, "{\"ShardId\":");
        rc |= json_put_cstr(o, shard);
        rc |= json_put_raw(o, ",\"SequenceNumberRange\":{"
                              "\"StartingSequenceNumber\":");
        streams_seq(si.start, seq);
        rc |= json_put_cstr(o, seq);
        if (!si.enabled) {
            /* closed: its last LSN is the one before the disabling */
            streams_seq(si.end > si.start ? si.end - 1 : si.start, seq);
            rc |= json_put_raw(o, ",\"EndingSequenceNumber\":");
            rc |= json_put_cstr(o, seq);
        }
        rc |= json_put_raw(o, "}}");
    }
    rc |= json_put_raw(o, "]}}");
    return rc ? TM_ENOMEM : 0;
}

/* ==== GetShardIterator ==== */

enum iter_type { IT_TRIM_HORIZON, IT_LATEST, IT_AT, IT_AFTER, IT_BAD };

static enum iter_type iter_type_parse(const char *s)
{
    static const char *const names[] = {"TRIM_HORIZON", "LATEST",
                                        "AT_SEQUENCE_NUMBER",
                                        "AFTER_SEQUENCE_NUMBER"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0)
            return (enum iter_type)i;
    return IT_BAD;
}

int api_get_shard_iterator(struct api_req *r)
{
    char shard[STREAMS_SHARD_ID_LEN + 1];
    const char *arn, *shard_id, *type, *seq;
    size_t alen, slen, tlen, qlen;
    struct streams_iter it;
    struct streams_info si;
    enum iter_type ty = IT_BAD;
    uint64_t lsn = 0;
    struct table *t;
    struct verrs v;
    int rc;

    verrs_init(&v);
    if ((rc = req_string(r, r->body, "StreamArn", &arn, &alen)) ||
        (rc = req_string(r, r->body, "ShardId", &shard_id, &slen)) ||
        (rc = req_string(r, r->body, "ShardIteratorType", &type, &tlen)) ||
        (rc = req_string(r, r->body, "SequenceNumber", &seq, &qlen))) {
        buf_free(&v.msg);
        return rc;
    }
    check_required(&v, arn, "streamArn");
    if (arn)
        check_len(r, &v, arn, alen, "streamArn", 37, 1024);
    check_required(&v, shard_id, "shardId");
    if (shard_id)
        check_len(r, &v, shard_id, slen, "shardId", 28, 65);
    check_required(&v, type, "shardIteratorType");
    if (type) {
        ty = strlen(type) == tlen ? iter_type_parse(type) : IT_BAD;
        if (ty == IT_BAD)
            verrs_add(&v, shown(r, type), "shardIteratorType",
                      "Member must satisfy enum value set: [AFTER_SEQUENCE_"
                      "NUMBER, LATEST, AT_SEQUENCE_NUMBER, TRIM_HORIZON]");
    }
    if (seq)
        check_len(r, &v, seq, qlen, "sequenceNumber", 21, 40);
    if ((rc = verrs_finish(&v, r)))
        return rc;
    if ((ty == IT_AT || ty == IT_AFTER) && seq == NULL)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "A SequenceNumber is required when "
                            "ShardIteratorType is %s",
                            type);
    if ((ty == IT_TRIM_HORIZON || ty == IT_LATEST) && seq)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "A SequenceNumber must not be given when "
                            "ShardIteratorType is %s",
                            type);
    if (seq && (strlen(seq) != qlen || streams_seq_parse(seq, qlen, &lsn) ||
                lsn == UINT64_MAX))
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "Invalid SequenceNumber: %s", seq);
    if ((rc = stream_lookup(r, arn, alen, &t, &si)))
        return rc;
    streams_shard_id(t, shard);
    if (strlen(shard_id) != slen || strcmp(shard_id, shard) != 0)
        return tm_error_set(&r->err, TM_ENOTFOUND,
                            "Requested resource not found: Shard: %s in "
                            "Stream: %s not found",
                            shard_id, arn);

    memset(&it, 0, sizeof it);
    snprintf(it.table, sizeof it.table, "%s", t->name);
    snprintf(it.id, sizeof it.id, "%s", t->id);
    it.label_ms = t->stream_created_ms;
    it.issued_ms = clock_now_ms();
    switch (ty) {
    case IT_TRIM_HORIZON:
        it.horizon = 1;
        break;
    case IT_LATEST:
        it.pos = si.enabled ? streams_latest(r->ctx->engine) : si.end;
        break;
    default:
        if (lsn >= streams_latest(r->ctx->engine))
            return tm_error_set(&r->err, TM_EVALIDATION,
                                "Invalid SequenceNumber: %s is beyond the "
                                "last record of shard %s",
                                seq, shard);
        it.pos = ty == IT_AT ? lsn : lsn + 1;
        rc = streams_check_position(r->ctx->engine,
                                    it.pos > si.start ? it.pos : si.start,
                                    &r->err);
        if (rc)
            return rc;
        break;
    }
    rc = json_put_raw(&r->out, "{\"ShardIterator\":\"");
    rc = rc ? rc : streams_iter_encode(&it, &r->out);
    rc = rc ? rc : json_put_raw(&r->out, "\"}");
    return rc;
}

/* ==== GetRecords ==== */

/* Java's Date.toString in UTC, as the expiry message shows times. */
static void java_date(int64_t ms, char out[40])
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&secs, &tm);
    strftime(out, 40, "%a %b %d %H:%M:%S UTC %Y", &tm);
}

int api_get_records(struct api_req *r)
{
    const char *text;
    size_t tlen;
    int64_t limit = STREAMS_GET_MAX, now = clock_now_ms();
    int has_limit, rc;
    struct streams_iter it;
    struct streams_info si;
    struct streams_read rd;
    struct table *t = NULL;
    struct verrs v;

    verrs_init(&v);
    if ((rc = req_string(r, r->body, "ShardIterator", &text, &tlen)) ||
        (rc = req_int(r, r->body, "Limit", &limit, &has_limit))) {
        buf_free(&v.msg);
        return rc;
    }
    check_required(&v, text, "shardIterator");
    if (text)
        check_len(r, &v, text, tlen, "shardIterator", 1, 2048);
    check_limit(&v, has_limit, limit, STREAMS_GET_MAX);
    if ((rc = verrs_finish(&v, r)))
        return rc;
    if (streams_iter_decode(text, tlen, &it) != 0)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "Invalid ShardIterator");
    if (now - it.issued_ms > STREAMS_ITER_TTL_MS) {
        /* DDB: ExpiredIteratorException, worded as Kinesis words it */
        char made[40], cur[40];
        java_date(it.issued_ms, made);
        java_date(now, cur);
        return tm_error_set(&r->err, TM_EEXPIREDITER,
                            "Iterator expired. The iterator was created at "
                            "time %s while right now it is %s which is "
                            "further in the future than the tolerated delay"
                            " of %lld milliseconds.",
                            made, cur, (long long)STREAMS_ITER_TTL_MS);
    }
    rc = catalog_get(engine_catalog(r->ctx->engine), it.table, r->arena, &t);
    if (rc && rc != TM_ENOTFOUND)
        return rc;
    if (rc == 0 && strcmp(t->id, it.id) == 0 &&
        t->stream_created_ms == it.label_ms)
        rc = streams_info(r->ctx->engine, t, &si, &r->err);
    else
        rc = TM_ENOTFOUND;
    if (rc == TM_ENOTFOUND || (rc == 0 && streams_expired(&si, now))) {
        char *arn = streams_arn(r->arena, r->ctx->region, r->ctx->account,
                                it.table, it.label_ms);
        return stream_not_found(r, arn ? arn : it.table);
    }
    if (rc)
        return rc;

    memset(&rd, 0, sizeof rd);
    rd.pos = it.pos;
    rd.horizon = it.horizon;
    rd.limit = (size_t)limit;
    rd.region = r->ctx->region;
    rc = json_put_raw(&r->out, "{\"Records\":[");
    if (rc)
        return rc;
    rc = streams_read(r->ctx->engine, t, &si, &rd, &r->out, &r->err);
    if (rc)
        return rc;
    rc = buf_putc(&r->out, ']');
    if (rc == 0 && !rd.closed) {
        it.horizon = 0;
        it.pos = rd.next;
        it.issued_ms = now;
        rc = json_put_raw(&r->out, ",\"NextShardIterator\":\"");
        rc = rc ? rc : streams_iter_encode(&it, &r->out);
        rc = rc ? rc : buf_putc(&r->out, '"');
    }
    return rc ? rc : buf_putc(&r->out, '}');
}

/* ==== StreamSpecification on CreateTable and UpdateTable ==== */

int stream_spec_parse(struct api_req *r, struct verrs *v,
                      struct stream_spec *s)
{
    const char *view;
    json_t *ss;
    int has, rc;

    memset(s, 0, sizeof *s);
    rc = req_object(r, r->body, "StreamSpecification", &ss);
    if (rc || ss == NULL)
        return rc;
    s->present = 1;
    if ((rc = req_bool(r, ss, "StreamEnabled", &s->enabled, &has)) ||
        (rc = req_string(r, ss, "StreamViewType", &view, NULL)))
        return rc;
    /* DDB: {} or {StreamViewType} alone -> "Value null at
     * 'streamSpecification.streamEnabled'" */
    if (!has)
        verrs_add(v, "null", "streamSpecification.streamEnabled",
                  "Member must not be null");
    if (view) {
        s->has_view = 1;
        s->view = streams_view_parse(view); /* other values: model.c */
    }
    return 0;
}

int stream_spec_create(struct api_req *r, const struct stream_spec *s,
                       enum stream_view *view)
{
    *view = STREAM_NONE;
    if (!s->present)
        return 0;
    /* DDB (CreateTable): the texts of DynamoDB's ValidationExceptions */
    if (s->enabled && !s->has_view)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "One or more parameter values were invalid: "
                            "Table is being created with a stream enabled, "
                            "UpdateViewType is required");
    if (!s->enabled && s->has_view)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "One or more parameter values were invalid: "
                            "Table is being created with a stream disabled,"
                            " UpdateViewType should not be specified");
    *view = s->enabled ? s->view : STREAM_NONE;
    return 0;
}

int stream_spec_check_update(struct api_req *r, const struct stream_spec *s,
                             const char *gsi_action)
{
    if (!s->present)
        return 0;
    /* DDB (UpdateTable) */
    if (s->enabled && !s->has_view)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "One or more parameter values were invalid: If "
                            "stream is being enabled then UpdateViewType is "
                            "required");
    if (!s->enabled && s->has_view)
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "One or more parameter values were invalid: If "
                            "stream is being disabled, then UpdateViewType "
                            "must not be specified");
    if (gsi_action && (strcmp(gsi_action, "Create") == 0 ||
                       strcmp(gsi_action, "Delete") == 0))
        return tm_error_set(&r->err, TM_EVALIDATION,
                            "One or more parameter values were invalid: You "
                            "cannot create or delete index while changing "
                            "stream status");
    return 0;
}

int stream_spec_update(const struct stream_spec *s, const struct table *cur,
                       struct table *t, int64_t now_ms, struct tm_error *err)
{
    if (!s->present)
        return 0;
    if (s->enabled) {
        /* DDB: also when the view type differs: it cannot change in
         * place */
        if (cur->stream != STREAM_NONE)
            return tm_error_set(err, TM_EVALIDATION,
                                "Table already has an enabled stream: "
                                "TableName: %s",
                                cur->name);
        t->stream = s->view;
        t->stream_created_ms = now_ms;
        return 0;
    }
    if (cur->stream == STREAM_NONE)
        return tm_error_set(err, TM_EVALIDATION,
                            "Table has no stream to disable: TableName: %s",
                            cur->name);
    /* the label stays: it names the disabled stream, readable 24 h */
    t->stream = STREAM_NONE;
    return 0;
}

int stream_write_table_members(struct api_req *r, const struct table *t,
                               struct buf *o)
{
    char label[STREAMS_LABEL_LEN + 1];
    const char *view = streams_view_name(t->stream), *arn;
    int rc = 0;

    /* DDB: StreamSpecification only while enabled; the latest label and
     * ARN stay after the stream is disabled */
    if (view) {
        rc |= json_put_raw(o, ",\"StreamSpecification\":{\"StreamEnabled\":"
                              "true,\"StreamViewType\":");
        rc |= json_put_cstr(o, view);
        rc |= buf_putc(o, '}');
    }
    if (t->stream_created_ms) {
        streams_label(t->stream_created_ms, label);
        arn = arn_of(r, t);
        rc |= json_put_raw(o, ",\"LatestStreamLabel\":");
        rc |= json_put_cstr(o, label);
        rc |= json_put_raw(o, ",\"LatestStreamArn\":");
        rc |= arn ? json_put_cstr(o, arn) : TM_ENOMEM;
    }
    return rc ? TM_ENOMEM : 0;
}
