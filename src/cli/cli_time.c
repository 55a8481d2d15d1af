/*
 * cli_time.c - times on the command line of the offline commands
 * (`tidemark history --from/--to`, `tidemark restore --to`): parsed from
 * epoch seconds or ISO 8601, printed as ISO 8601 with milliseconds, UTC.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int cli_parse_time(const char *s, int64_t *ms)
{
    struct tm tm;
    char *end;
    double v = strtod(s, &end);
    int frac = 0;

    if (end != s && *end == '\0') {
        *ms = (int64_t)(v * 1000.0 + (v >= 0 ? 0.5 : -0.5));
        return 0;
    }
    memset(&tm, 0, sizeof tm);
    end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (end == NULL)
        return -1;
    if (*end == '.') {
        int digits = 0;
        end++;
        while (*end >= '0' && *end <= '9' && digits < 3) {
            frac = frac * 10 + (*end++ - '0');
            digits++;
        }
        while (digits++ < 3)
            frac *= 10;
        while (*end >= '0' && *end <= '9')
            end++;
    }
    if (*end == 'Z')
        end++;
    if (*end != '\0')
        return -1;
    *ms = (int64_t)timegm(&tm) * 1000 + frac;
    return 0;
}

