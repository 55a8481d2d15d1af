/*
 * fuzz_jsonparse.c - libFuzzer target for the request-body fast path
 * (src/base/jsonparse.c): whatever json_parse_fast accepts, jansson must
 * accept as the same tree, members in the same order (tests/unit/
 * jsoncmp.h).  A broken promise aborts (a finding), as does any
 * sanitizer report.  The seed corpus is DynamoDB request bodies.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../unit/jsoncmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (jsoncmp_check((const char *)data, size) < 0)
        abort();
    return 0;
}
