/*
 * clock.h - the server's one source of wall-clock time.
 *
 * Everything that stamps or compares times (log records, CreationDateTime,
 * backups, PITR windows, TTL) asks clock_now_ms().  Tests move time without
 * waiting through clock_set_offset_ms(), which only the explicit
 * `--unsafe-test-clock` path of the server may call.
 */
#ifndef TM_CLOCK_H
#define TM_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Milliseconds since the Unix epoch, plus the test offset. */
int64_t clock_now_ms(void);

/* Add `delta_ms` to every later clock_now_ms() (thread-safe). */
void clock_advance_ms(int64_t delta_ms);

/* A monotonic clock in nanoseconds, for timeouts and measurements only. */
uint64_t clock_mono_ns(void);

/* UTC calendar fields of `secs` since the epoch, like gmtime_r (tm_year
 * from 1900, tm_mon 0-11, tm_wday 0 = Sunday, tm_yday) but without
 * glibc's process-wide time-zone lock, which gmtime_r takes on every call
 * and which request threads would otherwise contend for. */
struct tm;
void clock_gmtime(int64_t secs, struct tm *out);

/* `secs` as an HTTP date (RFC 9110 IMF-fixdate,
 * "Tue, 25 Nov 2026 20:16:00 GMT") into `out` (30 bytes with the NUL). */
void clock_http_date(int64_t secs, char out[30]);

/* `ms` since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC) into `out`
 * (24 bytes with the NUL); times before 1970 round down. */
void clock_iso_ms(int64_t ms, char *out, size_t cap);

#endif
