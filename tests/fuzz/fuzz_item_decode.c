/*
 * fuzz_item_decode.c - libFuzzer target for the binary item decoder
 * (src/item/item_codec.c), which reads what LMDB, the change log and
 * (later) backup files hold.  Any input must decode or be refused with
 * TM_ECORRUPT; what decodes must re-encode to the same bytes (the codec
 * accepts one encoding per value) and print as JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "item/item.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena *a = arena_create(64 * 1024, 64u << 20);
    struct av v;
    struct buf enc, text;

    if (a == NULL)
        abort();
    buf_init(&enc, 16u << 20);
    buf_init(&text, 16u << 20);
    if (item_decode(a, data, size, &v) == 0) {
        if (item_encode(&v, &enc) == 0 &&
            (enc.len != size || memcmp(enc.data, data, size) != 0))
            abort();
        (void)av_write_json(&v, &text);
    }
    buf_free(&enc);
    buf_free(&text);
    arena_destroy(a);
    return 0;
}
