/*
 * console.c - finding the web console's embedded files (console.h).
 *
 * The table itself is generated from web/console/ by tools/embed.c; this
 * file only maps request paths onto it and says which headers go with
 * every file.  There are a handful of files, so a linear search is the
 * whole index.
 */
#include "console/console.h"

#include <string.h>

#define CONSOLE_PREFIX "/console"

const struct console_header console_headers[] = {
    /* cached, but revalidated each time: If-None-Match -> 304 */
    {"Cache-Control", "no-cache"},
    /* self only: the console's own files and the API of this origin */
    {"Content-Security-Policy",
     "default-src 'none'; script-src 'self'; style-src 'self'; "
     "img-src 'self'; connect-src 'self'; base-uri 'none'; "
     "form-action 'none'; frame-ancestors 'none'"},
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "no-referrer"},
    {"X-Frame-Options", "DENY"},
    {NULL, NULL}};

int console_owns(const char *url)
{
    size_t n = strlen(CONSOLE_PREFIX);

    return strncmp(url, CONSOLE_PREFIX, n) == 0 &&
           (url[n] == '\0' || url[n] == '/');
}

const struct console_asset *console_asset_find(const char *url)
{
    const char *name;

    if (!console_owns(url))
        return NULL;
    name = url + strlen(CONSOLE_PREFIX);
    if (*name == '/')
        name++;
    if (*name == '\0')
        name = "index.html";
    for (size_t i = 0; i < console_nassets; i++)
        if (strcmp(console_assets[i].name, name) == 0)
            return &console_assets[i];
    return NULL;
}
