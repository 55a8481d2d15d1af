/*
 * console.h - the web console's files, embedded in the binary at build
 * time, and the rules for serving them.
 *
 * The files live in web/console/ (plain HTML, CSS and JavaScript, no
 * framework, no network assets).  tools/embed.c turns them into
 * build/gen/console_assets.c (the table below); the Makefile regenerates
 * it when a file there changes.  src/http serves them at /console/<name>
 * (and index.html at /console and /console/), with the headers of
 * console_headers; GET / leads browsers there (http.c).
 *
 * The console is a client of the DynamoDB API of the same server like any
 * other: it POSTs JSON 1.0 to / and, when the server has --credentials,
 * signs each request with SigV4 in the browser.  Serving its files needs
 * no credentials (they hold no data).
 */
#ifndef TM_CONSOLE_H
#define TM_CONSOLE_H

#include <stddef.h>

struct console_asset {
    const char *name;          /* path under /console/, "app.js" */
    const char *content_type;  /* "text/javascript; charset=utf-8" */
    const char *etag;          /* strong ETag, quotes included */
    const unsigned char *data; /* static: lives as long as the program */
    size_t len;
};

/* Generated (build/gen/console_assets.c): every file, then a zeroed row. */
extern const struct console_asset console_assets[];
extern const size_t console_nassets;

/* Whether `url` (the request path, no query) is the console's:
 * "/console", or anything under "/console/". */
int console_owns(const char *url);

/* The file for `url`, or NULL (not one of the console's files).
 * "/console" and "/console/" are index.html. */
const struct console_asset *console_asset_find(const char *url);

/* The response headers every console file carries, as name/value pairs
 * ending with a NULL name: Cache-Control (revalidate with the ETag, so an
 * upgraded server is never shadowed by a cached file), a strict
 * Content-Security-Policy (everything from this origin only: no inline
 * script or style, no other host, no framing), nosniff, no referrer. */
struct console_header {
    const char *name, *value;
};
extern const struct console_header console_headers[];

#endif
