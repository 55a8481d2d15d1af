/*
 * test_clock.c - clock_gmtime (the lock-free UTC conversion behind the
 * Date header and every ISO-8601 time) agrees field for field with glibc's
 * gmtime_r, from year 1 to 9999 and around every boundary that matters
 * (leap days, century years, 1970, negative times); clock_http_date and
 * clock_iso_ms print the formats DynamoDB's answers use.
 */
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "test.h"

static void same_as_libc(int64_t s)
{
    struct tm a, b;
    time_t t = (time_t)s;

    ASSERT(gmtime_r(&t, &a) != NULL);
    clock_gmtime(s, &b);
    ASSERT_EQ(b.tm_year, a.tm_year);
    ASSERT_EQ(b.tm_mon, a.tm_mon);
    ASSERT_EQ(b.tm_mday, a.tm_mday);
    ASSERT_EQ(b.tm_hour, a.tm_hour);
    ASSERT_EQ(b.tm_min, a.tm_min);
    ASSERT_EQ(b.tm_sec, a.tm_sec);
    ASSERT_EQ(b.tm_wday, a.tm_wday);
    ASSERT_EQ(b.tm_yday, a.tm_yday);
}

static void test_matches_gmtime(void)
{
    /* year 1 to 9999 */
    const int64_t lo = -62135596800LL, hi = 253402300799LL;
    uint64_t x = 88172645463325252ull;

    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        same_as_libc(lo + (int64_t)(x % (uint64_t)(hi - lo)));
    }
    /* every day of 1896..2104 (1900 and 2100 are not leap years, 2000
     * is), at both ends of the day */
    for (int64_t d = -27029; d <= 49400; d++) {
        same_as_libc(d * 86400);
        same_as_libc(d * 86400 + 86399);
    }
    for (int64_t s = -3; s <= 3; s++)
        same_as_libc(s);
    same_as_libc(lo);
    same_as_libc(hi);
}

static void test_formats(void)
{
    char d[30], iso[32];

    clock_http_date(0, d);
    ASSERT_STR_EQ(d, "Thu, 01 Jan 1970 00:00:00 GMT");
    clock_http_date(1795637760, d); /* 2026-11-25T20:16:00Z */
    ASSERT_STR_EQ(d, "Wed, 25 Nov 2026 20:16:00 GMT");
    clock_http_date(951782400, d);
    ASSERT_STR_EQ(d, "Tue, 29 Feb 2000 00:00:00 GMT");
    clock_iso_ms(1795637760123, iso, sizeof iso);
    ASSERT_STR_EQ(iso, "2026-11-25T20:16:00.123Z");
    clock_iso_ms(-1, iso, sizeof iso);
    ASSERT_STR_EQ(iso, "1969-12-31T23:59:59.999Z");
}

int main(void)
{
    RUN(test_matches_gmtime);
    RUN(test_formats);
    return TEST_DONE();
}
