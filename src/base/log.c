/*
 * log.c - stderr log lines; see log.h.
 */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum tm_log_level threshold = TM_LOG_INFO;

void tm_log_set_level(enum tm_log_level lvl) { threshold = lvl; }

void tm_log(enum tm_log_level lvl, const char *fmt, ...)
{
    static const char *names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    char line[2048];
    struct timeval tv;
    struct tm tm;
    va_list ap;
    int n;

    if (lvl < threshold)
        return;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    n = snprintf(line, sizeof line,
                 "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ tidemark[%ld] %s ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000),
                 (long)getpid(), names[lvl]);
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}
