/*
 * load.h - how busy the server is, for background work that must yield to
 * requests (backups).
 *
 * The HTTP layer calls load_note_request() once per request it starts;
 * background jobs call load_wait_quiet() between chunks of work.  When
 * requests are flowing, a job sleeps a little instead of competing for
 * the CPU: even at the lowest scheduling priority (SCHED_IDLE), a thread
 * that runs whenever a request thread blocks for a moment costs the
 * requests two context switches and its cache footprint each time.
 *
 * Guarantee: load_wait_quiet() returns after at most `max_wait_us`, so a
 * job under constant load still progresses (at a duty cycle of about
 * chunk time / max_wait_us).  One relaxed atomic add per request.
 *
 * Thread-safety: every function may be called from any thread.
 */
#ifndef TM_LOAD_H
#define TM_LOAD_H

#include <stdint.h>

void load_note_request(void);

/* Requests started since the process began. */
uint64_t load_requests(void);

/* Sleep while requests arrive: in steps of 1 ms, as long as at least one
 * request started during the previous step, for `max_wait_us` at most.
 * `*seen` carries the request count between calls (start it at 0).
 * Returns the microseconds slept. */
uint64_t load_wait_quiet(uint64_t *seen, uint64_t max_wait_us);

/* How many CPUs this process may run on (its affinity mask: taskset,
 * cgroup cpusets), at least 1: the number of threads worth running side
 * by side (request threads, a backup's compressing helpers); more only
 * take turns on the same CPUs. */
unsigned load_usable_cpus(void);

#endif
