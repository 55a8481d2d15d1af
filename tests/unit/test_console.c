/*
 * test_console.c - the web console's embedded files (src/console): the
 * paths that map onto them (/console and /console/ are index.html; nothing
 * outside /console, no climbing out with ..), and the generated table
 * (build/gen/console_assets.c, from web/console by tools/embed.c): every
 * file has a Content-Type, a quoted ETag and its bytes; the headers every
 * file carries include a self-only Content-Security-Policy.
 */
#include "console/console.h"
#include "test.h"

static void test_paths(void)
{
    const struct console_asset *a;

    ASSERT(console_owns("/console"));
    ASSERT(console_owns("/console/"));
    ASSERT(console_owns("/console/app.js"));
    ASSERT(!console_owns("/consoles"));
    ASSERT(!console_owns("/"));
    ASSERT(!console_owns("/x/console"));
    a = console_asset_find("/console");
    ASSERT(a != NULL);
    ASSERT_STR_EQ(a->name, "index.html");
    ASSERT(console_asset_find("/console/") == a);
    ASSERT(console_asset_find("/console/index.html") == a);
    a = console_asset_find("/console/app.js");
    ASSERT(a != NULL);
    ASSERT_STR_EQ(a->content_type, "text/javascript; charset=utf-8");
    ASSERT(console_asset_find("/console/nope.js") == NULL);
    ASSERT(console_asset_find("/console/../Makefile") == NULL);
    ASSERT(console_asset_find("/console//app.js") == NULL);
    ASSERT(console_asset_find("/consoleapp.js") == NULL);
}

static void test_table(void)
{
    ASSERT(console_nassets >= 5);
    for (size_t i = 0; i < console_nassets; i++) {
        const struct console_asset *a = &console_assets[i];
        size_t n = strlen(a->etag);
        ASSERT(a->name && a->name[0] && a->name[0] != '/');
        ASSERT(a->content_type && strchr(a->content_type, '/'));
        ASSERT(n == 18 && a->etag[0] == '"' && a->etag[n - 1] == '"');
        ASSERT(a->data != NULL && a->len > 0);
        for (size_t k = 0; k < i; k++)
            ASSERT(strcmp(console_assets[k].etag, a->etag) != 0);
    }
    ASSERT(console_assets[console_nassets].name == NULL);
}

static void test_headers(void)
{
    const char *csp = NULL;

    for (const struct console_header *h = console_headers; h->name; h++)
        if (strcmp(h->name, "Content-Security-Policy") == 0)
            csp = h->value;
    ASSERT(csp != NULL);
    ASSERT(strstr(csp, "default-src 'none'") != NULL);
    ASSERT(strstr(csp, "script-src 'self'") != NULL);
    ASSERT(strstr(csp, "unsafe") == NULL);
}

int main(void)
{
    RUN(test_paths);
    RUN(test_table);
    RUN(test_headers);
    return TEST_DONE();
}
