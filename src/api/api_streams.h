/*
 * api_streams.h - what the table handlers (api_table.c) and the table
 * description (api.c) need from the DynamoDB Streams side of the API:
 * StreamSpecification on CreateTable and UpdateTable, and the stream
 * members of a TableDescription.  The Streams operations themselves
 * (ListStreams, DescribeStream, GetShardIterator, GetRecords) are
 * declared by streams_ops.def and live in api_streams.c.
 */
#ifndef TM_API_STREAMS_H
#define TM_API_STREAMS_H

#include "api/api_int.h"

/* A request's StreamSpecification. */
struct stream_spec {
    int present;             /* given (and not null) */
    int enabled;             /* StreamEnabled */
    int has_view;            /* StreamViewType given */
    enum stream_view view;   /* its value (STREAM_NONE if not one of the
                                four; the model check reports that) */
};

/* The handlers of streams_ops.def. */
#define OP(name, fn) int fn(struct api_req *r);
#include "api/streams_ops.def"
#undef OP

/* Read StreamSpecification from r->body into *s.  A member of the wrong
 * JSON kind is a SerializationException (r->err set, its code returned);
 * a missing StreamEnabled is added to `v` ("Value null at
 * 'streamSpecification.streamEnabled'"). */
int stream_spec_parse(struct api_req *r, struct verrs *v,
                      struct stream_spec *s);

/* CreateTable, after the shape checks: DynamoDB's rules for the
 * combination (r->err set on failure), and the new table's view type in
 * *view (STREAM_NONE: no stream).  The label (t->stream_created_ms) is
 * set in apply(), from the creation time. */
int stream_spec_create(struct api_req *r, const struct stream_spec *s,
                       enum stream_view *view);

/* UpdateTable, after the shape checks, on the HTTP thread: the rules that
 * need no table state.  `gsi_action` is the GlobalSecondaryIndexUpdates
 * action or NULL. */
int stream_spec_check_update(struct api_req *r, const struct stream_spec *s,
                             const char *gsi_action);

/* UpdateTable inside apply(): check `s` against the current definition
 * `cur` and apply it to the new one `t` at commit time `now_ms` (enabling
 * starts a new stream labelled `now_ms`; disabling sets STREAM_NONE and
 * keeps the label, which names the disabled stream).  Returns 0 or
 * TM_EVALIDATION with the message in `err`. */
int stream_spec_update(const struct stream_spec *s, const struct table *cur,
                       struct table *t, int64_t now_ms, struct tm_error *err);

/* Append the TableDescription members StreamSpecification (while
 * enabled), LatestStreamLabel and LatestStreamArn (once a stream was ever
 * enabled), each preceded by a comma.  Returns 0 or TM_ENOMEM. */
int stream_write_table_members(struct api_req *r, const struct table *t,
                               struct buf *out);

#endif
