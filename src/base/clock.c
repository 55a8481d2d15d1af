/*
 * clock.c - wall clock with a test offset; see clock.h.
 */
#include "base/clock.h"

#include <stdatomic.h>
#include <time.h>

static _Atomic int64_t offset_ms;

int64_t clock_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 +
           atomic_load_explicit(&offset_ms, memory_order_relaxed);
}

void clock_advance_ms(int64_t delta_ms)
{
    atomic_fetch_add(&offset_ms, delta_ms);
}

uint64_t clock_mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
