/*
 * hash.c - hash_new_salt (see hash.h), shared by the change log's segments
 * and the backup files.
 */
#include "base/hash.h"

#include <stdatomic.h>
#include <sys/random.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

uint64_t hash_new_salt(void)
{
    static _Atomic uint64_t counter;
    uint64_t s, mix[4];
    struct timespec ts;

    if (getrandom(&s, sizeof s, GRND_NONBLOCK) == (ssize_t)sizeof s)
        return s;
    clock_gettime(CLOCK_REALTIME, &ts);
    mix[0] = (uint64_t)ts.tv_sec;
    mix[1] = (uint64_t)ts.tv_nsec;
    mix[2] = (uint64_t)getpid();
    mix[3] = atomic_fetch_add(&counter, 1);
    return hash64(mix, sizeof mix);
}
