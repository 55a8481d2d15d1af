/*
 * load.c - the request meter of load.h.
 */
#include "base/load.h"

#include <sched.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

static _Atomic uint64_t requests;

void load_note_request(void)
{
    atomic_fetch_add_explicit(&requests, 1, memory_order_relaxed);
}

uint64_t load_requests(void)
{
    return atomic_load_explicit(&requests, memory_order_relaxed);
}

uint64_t load_wait_quiet(uint64_t *seen, uint64_t max_wait_us)
{
    uint64_t slept = 0, now = load_requests();
    struct timespec step = {0, 1000 * 1000};

    while (now != *seen && slept < max_wait_us) {
        *seen = now;
        nanosleep(&step, NULL);
        slept += 1000;
        now = load_requests();
    }
    *seen = now;
    return slept;
}

unsigned load_usable_cpus(void)
{
    cpu_set_t cpus;
    long n = sched_getaffinity(0, sizeof cpus, &cpus) == 0
                 ? CPU_COUNT(&cpus)
                 : sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1u;
}
