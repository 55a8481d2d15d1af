/*
 * err.c - the tables behind err.h, generated from TM_ERR_MAP.
 */
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct err_row {
    const char *sym;
    const char *type;
    const char *name;
    int status;
};

static const struct err_row rows[] = {
#define XX(n, ns, type, status) {"TM_" #n, ns type, type, status},
    TM_ERR_MAP(XX)
#undef XX
};

static const struct err_row *row_of(int code)
{
    int i = code - TM__ERR_BASE - 1;
    if (code >= 0 || i < 0 || i >= (int)(sizeof rows / sizeof rows[0]))
        return &rows[TM_EINTERNAL - TM__ERR_BASE - 1];
    return &rows[i];
}

int tm_error_set(struct tm_error *e, int code, const char *fmt, ...)
{
    va_list ap;

    if (e == NULL)
        return code;
    e->code = code;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return code;
}

void tm_error_clear(struct tm_error *e)
{
    if (e == NULL)
        return;
    e->code = 0;
    e->msg[0] = '\0';
}

const char *tm_err_name(int code) { return row_of(code)->name; }
const char *tm_err_type(int code) { return row_of(code)->type; }
int tm_err_status(int code) { return row_of(code)->status; }

const char *tm_strerror(int code)
{
    if (code == 0)
        return "TM_OK";
    return row_of(code)->sym;
}
