/*
 * fuzz_change_record.c - libFuzzer target for what is parsed out of a
 * change-log record once the log has accepted it (its checksum passed):
 * replay after a crash, point-in-time restores, DynamoDB Streams and
 * `tidemark history` all read records back through the same parsers, and a
 * record written by an older or damaged build must not crash them.
 *
 * Input: byte 0 is the record type, byte 1 picks a key schema, the rest
 * is the payload.  Row records (PUT, DELETE) go through
 * engine_change_parse; when it accepts, every borrowed range must lie in
 * the payload, and the key and the old and new item images are decoded
 * (key_decode under the chosen schema, item_decode, then item JSON) as the
 * consumers do.  Table records (CREATE, UPDATE) go through
 * table_from_json.  Every parser must fail with TM_ECORRUPT (or TM_ENOMEM)
 * and never crash, read out of bounds or leak (ASan, UBSan).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "catalog/catalog.h"
#include "engine/engine.h"
#include "item/item.h"
#include "storage/key.h"
#include "wal/wal.h"

static const struct key_schema schemas[] = {
    {"userId", AV_S, "noteId", AV_S},
    {"pk", AV_N, NULL, AV_S},
    {"pk", AV_B, "sk", AV_N},
    {"pk", AV_S, "sk", AV_B},
};

static void in_payload(const uint8_t *p, size_t n, const struct wal_record *r)
{
    if (p == NULL)
        return;
    if (p < r->payload || p + n > r->payload + r->len)
        abort();
}

static void decode_item(struct arena *a, const uint8_t *p, size_t n)
{
    struct av v;
    struct buf text;

    if (p == NULL || item_decode(a, p, n, &v) != 0)
        return;
    buf_init(&text, 16u << 20);
    (void)av_write_json(&v, &text);
    buf_free(&text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wal_record r;
    struct engine_change c;
    struct arena *a;
    int rc;

    if (size < 2)
        return 0;
    memset(&r, 0, sizeof r);
    r.lsn = 42;
    r.time_ms = 1764000000000;
    r.type = data[0] % 8;
    r.payload = data + 2;
    r.len = (uint32_t)(size - 2);
    a = arena_create(64 * 1024, 64u << 20);
    if (a == NULL)
        abort();
    rc = engine_change_parse(&r, &c);
    if (rc == 1) {
        struct av hash, range;
        const struct key_schema *ks = &schemas[data[1] % 4];

        in_payload(c.key, c.klen, &r);
        in_payload(c.old_item, c.old_len, &r);
        in_payload(c.new_item, c.new_len, &r);
        if (c.is_delete && c.new_item != NULL)
            abort();
        (void)key_decode(a, ks, c.key, c.klen, &hash,
                         ks->range_name ? &range : NULL);
        decode_item(a, c.old_item, c.old_len);
        decode_item(a, c.new_item, c.new_len);
    } else if (rc != 0 && rc != TM_ECORRUPT) {
        abort();
    } else if (rc == 0 && (r.type == 3 || r.type == 5)) {
        struct table *t = NULL;
        struct tm_error err;

        tm_error_clear(&err);
        rc = table_from_json(r.payload, r.len, &t, &err);
        if (rc == 0) {
            struct buf out;

            buf_init(&out, 16u << 20);
            if (t == NULL || table_to_json(t, &out) != 0)
                abort();
            buf_free(&out);
            table_free(t);
        } else if (rc != TM_ECORRUPT && rc != TM_ENOMEM) {
            abort();
        }
    }
    arena_destroy(a);
    return 0;
}
