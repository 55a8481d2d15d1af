/*
 * fuzz_item_json.c - libFuzzer target for the JSON edge of items
 * (src/item/item_json.c) and the binary codec behind it.
 *
 * Input: JSON text.  If it parses and item_from_json accepts it, the item
 * must survive every round trip unchanged: binary encode -> decode ->
 * av_equal, and JSON write -> parse -> item_from_json -> av_equal.  A
 * broken round trip aborts (a finding), as does any sanitizer report.
 */
#include <stdint.h>
#include <stdlib.h>

#include "base/arena.h"
#include "base/buf.h"
#include "item/item.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena *a = arena_create(64 * 1024, 64u << 20);
    struct tm_error err;
    struct av item, back, again;
    struct buf enc, text;
    json_t *j, *j2;

    if (a == NULL)
        abort();
    j = json_loadb((const char *)data, size, JSON_ALLOW_NUL, NULL);
    buf_init(&enc, 16u << 20);
    buf_init(&text, 16u << 20);
    if (j && item_from_json(a, j, &item, &err) == 0) {
        if (item_encode(&item, &enc) == 0) {
            if (item_decode(a, enc.data, enc.len, &back) != 0 ||
                !av_equal(&item, &back))
                abort();
        }
        if (item_write_json(&item, &text) == 0) {
            j2 = json_loadb((const char *)text.data, text.len, JSON_ALLOW_NUL,
                            NULL);
            if (j2 == NULL || item_from_json(a, j2, &again, &err) != 0 ||
                !av_equal(&item, &again))
                abort();
            json_decref(j2);
        }
        (void)item_size(&item);
    }
    json_decref(j);
    buf_free(&enc);
    buf_free(&text);
    arena_destroy(a);
    return 0;
}
