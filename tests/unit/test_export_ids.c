/*
 * test_export_ids.c - the ids of exports and imports (xfer_new_id in
 * src/export/export.c): "<14-digit ms>-<8 hex>", ascending in the order
 * they are made even within one millisecond, when the clock steps back
 * and when the random part would overflow.  ListExports and ListImports
 * order by id, so this is the order a user sees.
 */
#include <stdint.h>
#include <string.h>

#include "export/export_int.h"
#include "test.h"

static int well_formed(const char *id)
{
    if (strlen(id) != 23 || id[14] != '-')
        return 0;
    for (int i = 0; i < 23; i++) {
        if (i == 14)
            continue;
        if (i < 14 ? !(id[i] >= '0' && id[i] <= '9')
                   : !((id[i] >= '0' && id[i] <= '9') ||
                       (id[i] >= 'a' && id[i] <= 'f')))
            return 0;
    }
    return 1;
}

static void test_same_millisecond(void)
{
    char prev[32], id[32];

    xfer_new_id(1795675289482LL, prev);
    ASSERT(well_formed(prev));
    ASSERT(strncmp(prev, "01795675289482-", 15) == 0);
    /* far more than fit in 32 bits at 4096 a step: the millisecond
     * moves on rather than wrapping */
    for (int i = 0; i < 2500000; i++) {
        xfer_new_id(1795675289482LL, id);
        ASSERT(well_formed(id));
        if (strcmp(prev, id) >= 0)
            TEST_FAIL_("%s after %s", id, prev);
        memcpy(prev, id, sizeof id);
    }
    ASSERT(strncmp(prev, "01795675289482-", 15) > 0);
}

static void test_clock_steps_back(void)
{
    char a[32], b[32];

    xfer_new_id(1895675289482LL, a);
    xfer_new_id(1895675289000LL, b);
    ASSERT(strcmp(a, b) < 0);
    ASSERT(strncmp(b, "01895675289482-", 15) == 0);
    xfer_new_id(1895675289483LL, a); /* a later clock is used as it is */
    ASSERT(strncmp(a, "01895675289483-", 15) == 0);
}

int main(void)
{
    RUN(test_same_millisecond);
    RUN(test_clock_steps_back);
    return TEST_DONE();
}
