/*
 * history_cli.c - `tidemark history`: every change of a table, or of one
 * item, in a time range, from the retained change log.
 *
 *   tidemark history [--data DIR] --table NAME [--key JSON]
 *                    [--from TIME] [--to TIME] [--json]
 *
 * TIME is epoch seconds (fractions allowed) or an ISO-8601 UTC time
 * (2026-11-25T16:20:35.123Z).  Each line: the commit time, the log
 * position, INSERT / MODIFY / REMOVE (TTL-REMOVE for time-to-live
 * deletes), the key, and the new item (and the old one where the table's
 * stream kept it).  With --json, one JSON object per line.
 *
 * It reads the data directory without taking it over, so it works while
 * a server runs: the table's definition through a read-only LMDB
 * transaction, the changes through a log reader.  The last batch a
 * running server is writing may be cut short; the command then stops at
 * the last complete record and says so.  How far back it can look is the
 * log's retention: a table with point-in-time recovery keeps its whole
 * recovery period.
 */
#include "cli/cli.h"

#include <jansson.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/arena.h"
#include "base/buf.h"
#include "catalog/catalog.h"
#include "engine/engine.h"
#include "item/item.h"
#include "storage/key.h"
#include "wal/wal.h"

static int usage(void)
{
    fprintf(stderr,
            "usage: tidemark history [--data DIR] --table NAME [--key JSON]\n"
            "                        [--from TIME] [--to TIME] [--json]\n"
            "TIME: epoch seconds or 2026-11-25T16:20:35.123Z; KEY: the item's "
            "key in\nDynamoDB JSON, e.g. "
            "'{\"userId\":{\"S\":\"u1\"},\"noteId\":{\"S\":\"n1\"}}'\n");
    return 2;
}

/* The table's definition, read-only from the state (a server may run). */
static int load_table(const char *data, const char *name, struct table **out)
{
    char path[4096];
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    MDB_val k = {strlen(name), (void *)name}, v;
    struct tm_error err;
    int rc = -1;

    snprintf(path, sizeof path, "%s/state", data);
    if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 8) ||
        mdb_env_set_mapsize(env, 64ull << 30) ||
        mdb_env_open(env, path, MDB_RDONLY | MDB_NOTLS, 0644) ||
        mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) ||
        mdb_dbi_open(txn, "catalog", 0, &dbi) ||
        mdb_get(txn, dbi, &k, &v))
        goto out;
    rc = table_from_json(v.mv_data, v.mv_size, out, &err);
out:
    if (txn)
        mdb_txn_abort(txn);
    if (env)
        mdb_env_close(env);
    return rc;
}

int cli_history_main(int argc, char **argv)
{
    const char *data = "./data", *name = NULL, *keyjs = NULL;
    int64_t from = INT64_MIN, to = INT64_MAX;
    int as_json = 0, rc, got;
    struct table *t = NULL;
    struct buf key;
    struct wal_reader *r = NULL;
    struct tm_error err = {0};
    struct wal_record rec;
    char walpath[4096];
    uint64_t shown = 0, scanned = 0;

    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--json") == 0) {
            as_json = 1;
            continue;
        }
        if (v == NULL)
            return usage();
        i++;
        if (strcmp(a, "--data") == 0)
            data = v;
        else if (strcmp(a, "--table") == 0)
            name = v;
        else if (strcmp(a, "--key") == 0)
            keyjs = v;
        else if (strcmp(a, "--from") == 0 && cli_parse_time(v, &from) == 0)
            ;
        else if (strcmp(a, "--to") == 0 && cli_parse_time(v, &to) == 0)
            ;
        else
            return usage();
    }
    if (name == NULL)
        return usage();
    if (load_table(data, name, &t) != 0) {
        fprintf(stderr, "tidemark history: no table %s in %s/state\n", name,
                data);
        return 1;
    }
    buf_init(&key, 16384);
    if (keyjs) {
        struct arena *a = arena_create(4096, 1 << 20);
        json_t *j = json_loads(keyjs, 0, NULL);
        struct av km;
        if (j == NULL || item_from_json(a, j, &km, &err) != 0 ||
            key_from_keymap(&t->ks, &km, &key, &err) != 0) {
            fprintf(stderr, "tidemark history: bad --key: %s\n",
                    err.msg[0] ? err.msg : "not a JSON object");
            json_decref(j);
            arena_destroy(a);
            table_free(t);
            return 2;
        }
        json_decref(j);
        arena_destroy(a);
    }
    snprintf(walpath, sizeof walpath, "%s/wal", data);
    rc = wal_reader_open(walpath, NULL, 0, &r, &err);
    if (rc) {
        fprintf(stderr, "tidemark history: %s\n", err.msg);
        table_free(t);
        buf_free(&key);
        return 1;
    }
    while ((got = wal_reader_next(r, &rec, &err)) == 1) {
        struct engine_change ch;
        struct arena *a;
        struct av hk, rk, item;
        struct buf line;
        char when[64];
        const char *ev;

        scanned++;
        if (rec.time_ms > to)
            break;
        if (rec.time_ms < from || engine_change_parse(&rec, &ch) != 1 ||
            ch.table_no != t->no)
            continue;
        if (key.len && (ch.klen != key.len ||
                        memcmp(ch.key, key.data, key.len) != 0))
            continue;
        a = arena_create(65536, 1u << 28);
        buf_init(&line, 64u << 20);
        ev = ch.is_delete ? (ch.ttl ? "TTL-REMOVE" : "REMOVE")
             : ch.existed ? "MODIFY"
                          : "INSERT";
        clock_iso_ms(rec.time_ms, when, sizeof when);
        if (as_json)
            buf_printf(&line, "{\"time\":\"%s\",\"lsn\":%llu,\"event\":\"%s\","
                              "\"key\":{",
                       when, (unsigned long long)rec.lsn, ev);
        else
            buf_printf(&line, "%s  lsn %-8llu %-10s {", when,
                       (unsigned long long)rec.lsn, ev);
        if (key_decode(a, &t->ks, ch.key, ch.klen, &hk,
                       t->ks.range_name ? &rk : NULL) == 0) {
            buf_printf(&line, "\"%s\":", t->ks.hash_name);
            av_write_json(&hk, &line);
            if (t->ks.range_name) {
                buf_printf(&line, ",\"%s\":", t->ks.range_name);
                av_write_json(&rk, &line);
            }
        }
        buf_putc(&line, '}');
        if (ch.new_item && item_decode(a, ch.new_item, ch.new_len, &item) ==
                               0) {
            buf_printf(&line, as_json ? ",\"new\":" : "  new ");
            item_write_json(&item, &line);
        }
        if (ch.old_item && item_decode(a, ch.old_item, ch.old_len, &item) ==
                               0) {
            buf_printf(&line, as_json ? ",\"old\":" : "  old ");
            item_write_json(&item, &line);
        }
        if (as_json)
            buf_putc(&line, '}');
        printf("%.*s\n", (int)line.len, (const char *)line.data);
        buf_free(&line);
        arena_destroy(a);
        shown++;
    }
    if (got < 0)
        fprintf(stderr, "tidemark history: stopped at the last complete "
                        "record (%s)\n",
                err.msg);
    fprintf(stderr, "tidemark history: %llu changes of %s shown, %llu log "
                    "records read\n",
            (unsigned long long)shown, name, (unsigned long long)scanned);
    wal_reader_close(r);
    table_free(t);
    buf_free(&key);
    return 0;
}
