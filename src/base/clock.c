/*
 * clock.c - wall clock with a test offset; see clock.h.
 */
#include "base/clock.h"

#include <stdio.h>
#include <string.h>

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

/* Days since 1970-01-01 to a proleptic Gregorian date: count in 400-year
 * eras (146,097 days) from 0000-03-01, so that the leap day ends a year. */
void clock_gmtime(int64_t secs, struct tm *out)
{
    int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    int64_t sod = secs - days * 86400; /* 0..86399 */
    int64_t z = days + 719468;         /* days since 0000-03-01 */
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;                       /* 0..146096 */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100); /* from Mar 1 */
    int64_t mp = (5 * doy + 2) / 153;                     /* 0 = March */
    int64_t mday = doy - (153 * mp + 2) / 5 + 1;
    int64_t mon = mp < 10 ? mp + 3 : mp - 9;              /* 1..12 */
    int64_t year = yoe + era * 400 + (mon <= 2);
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    static const short before[12] = {0,   31,  59,  90,  120, 151,
                                     181, 212, 243, 273, 304, 334};

    memset(out, 0, sizeof *out);
    out->tm_sec = (int)(sod % 60);
    out->tm_min = (int)(sod / 60 % 60);
    out->tm_hour = (int)(sod / 3600);
    out->tm_mday = (int)mday;
    out->tm_mon = (int)mon - 1;
    out->tm_year = (int)(year - 1900);
    out->tm_wday = (int)((days % 7 + 11) % 7); /* 1970-01-01: Thursday */
    out->tm_yday = before[mon - 1] + (int)mday - 1 + (leap && mon > 2);
}

static char *put2(char *p, int v)
{
    *p++ = (char)('0' + v / 10 % 10);
    *p++ = (char)('0' + v % 10);
    return p;
}

void clock_http_date(int64_t secs, char out[30])
{
    static const char wd[] = "SunMonTueWedThuFriSat";
    static const char mo[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    struct tm tm;
    char *p = out;
    int y;

    clock_gmtime(secs, &tm);
    y = tm.tm_year + 1900;
    if (y < 0 || y > 9999)
        y = 0;
    memcpy(p, wd + 3 * tm.tm_wday, 3), p += 3;
    *p++ = ',', *p++ = ' ';
    p = put2(p, tm.tm_mday);
    *p++ = ' ';
    memcpy(p, mo + 3 * tm.tm_mon, 3), p += 3;
    *p++ = ' ';
    p = put2(put2(p, y / 100), y % 100);
    *p++ = ' ';
    p = put2(p, tm.tm_hour);
    *p++ = ':';
    p = put2(p, tm.tm_min);
    *p++ = ':';
    p = put2(p, tm.tm_sec);
    memcpy(p, " GMT", 5);
}

void clock_iso_ms(int64_t ms, char *out, size_t cap)
{
    time_t s = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int frac = (int)(ms - (int64_t)s * 1000);
    struct tm tm;

    clock_gmtime((int64_t)s, &tm);
    snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, frac);
}
