/*
 * main.c - the tidemark command: parse the command line, open the engine,
 * start the HTTP front, wait for SIGINT/SIGTERM, stop gracefully.
 *
 *   tidemark [serve] [--host 127.0.0.1] [--port 8000] [--data ./data]
 *                    [--sync full|off] [--region us-east-1]
 *                    [--account-id 000000000000]
 *                    [--credentials FILE] [--allow-anonymous]
 *                    [--tls-cert FILE --tls-key FILE]
 *   tidemark backup list|inspect|verify|delete ...   (offline, cli/)
 *   tidemark history --table NAME ...                 (offline, cli/)
 *   tidemark restore --from s3://BUCKET/PREFIX --table NAME --to TIME
 *                    --data DIR                       (offline, cli/)
 *   tidemark --help | --version
 *
 * Who may call: with --credentials every POST must carry an AWS Signature
 * Version 4 by one of the file's keys (auth/sigv4.h).  Without, requests
 * are anonymous, which is only allowed on a loopback --host unless
 * --allow-anonymous says otherwise; the check happens before anything is
 * opened or bound.
 *
 * HTTPS: --tls-cert and --tls-key (both or neither) are read and checked
 * (http/tls.h) before anything is opened; the server then speaks only TLS.
 *
 * The archive: with --backup-store s3://..., the PITR archive
 * (src/archive) ships the change log and the PITR bases there; it is
 * opened (and its ownership checked) before the server listens, started
 * after the PITR keeper, and stopped before the engine closes.
 *
 * Shutdown order: stop accepting, let requests in flight finish (the
 * writer acknowledges them as usual), close every connection, stop the
 * background threads (the archive ships what the log holds last), then
 * close the engine (which drains the writer queue, syncs the log and the
 * state).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/api_int.h"
#include "archive/archive.h"
#include "auth/credentials.h"
#include "base/fsio.h"
#include "base/jsonmem.h"
#include "base/log.h"
#include "base/version.h"
#include "cli/cli.h"
#include "engine/engine.h"
#include "export/export.h"
#include "http/http.h"
#include "index/index.h"
#include "pitr/pitr.h"
#include "backup/schedule.h"
#include "restore/restore.h"
#include "ttl/sweeper.h"
#include "http/tls.h"

struct config {
    const char *host;
    int port;
    const char *data;
    int sync;
    const char *region;
    const char *account;
    const char *backup_store;
    int test_clock;
    const char *s3_endpoint;
    int slow_backups;
    int slow_transfers;
    int test_faults;
    int small_log;
    const char *credentials;
    int allow_anonymous;
    const char *tls_cert;
    const char *tls_key;
    unsigned max_connections, idle_timeout, max_pending, request_timeout;
    unsigned map_gb;  /* --map-size-gb: LMDB's map (0: the engine's 64) */
    int zstd_level;   /* --backup-zstd-level (0: auto, the default) */
    size_t max_buffered;
    struct backup_scheduler *schedules;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tidemark [serve] [options]\n"
            "       tidemark backup list|inspect|verify|delete ... "
            "(offline; see 'tidemark backup')\n"
            "       tidemark history --table NAME [--key JSON] [--from T] "
            "[--to T]\n"
            "       tidemark restore --from s3://BUCKET/PREFIX --table NAME "
            "--to TIME\n"
            "                        --data DIR   (disaster recovery from "
            "the archive;\n"
            "                        see 'tidemark restore --help')\n"
            "\n"
            "A DynamoDB-compatible database server with on-demand backups\n"
            "and point-in-time recovery.\n"
            "\n"
            "options:\n"
            "  --host ADDR        address to listen on (default 127.0.0.1;\n"
            "                     localhost means 127.0.0.1)\n"
            "  --port N           port to listen on (default 8000)\n"
            "  --data DIR         data directory (default ./data)\n"
            "  --sync full|off    full: acknowledge a write only once the\n"
            "                     change log is on disk (default); off: for\n"
            "                     tests, a crash of the machine may lose\n"
            "                     acknowledged writes\n"
            "  --region NAME      region in ARNs (default us-east-1)\n"
            "  --account-id ID    12-digit account in ARNs (default "
            "000000000000)\n"
            "  --backup-schedule TABLE=EVERY[,keep=N|keep=AGE]\n"
            "                     back TABLE up every EVERY (30m, 6h, 1d), "
            "keeping\n"
            "                     the newest N or those younger than AGE; "
            "repeatable\n"
            "  --backup-store DIR|s3://BUCKET/PREFIX\n"
            "                     where on-demand backups are kept (default\n"
            "                     <data>/backups); deleting a table never\n"
            "                     touches it.  With s3://, backups go to an\n"
            "                     S3-compatible object store (credentials "
            "from\n"
            "                     AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or\n"
            "                     ~/.aws/credentials), <data>/backups keeps "
            "their\n"
            "                     descriptions\n"
            "  --backup-zstd-level auto|N  zstd level of backup blocks: "
            "auto\n"
            "                     (default) takes 1, and a store-like fast "
            "level\n"
            "                     where 1 does not halve the items; N "
            "(-7..-1\n"
            "                     or 1..19) takes N for every block\n"
            "  --s3-endpoint URL  the object store's endpoint, e.g.\n"
            "                     http://127.0.0.1:7480 (default: AWS S3)\n"
            "  --unsafe-test-clock  let clients move the server's clock "
            "forward\n"
            "                     (target TidemarkTest_20261125.AdvanceClock); "
            "tests only\n"
            "  --unsafe-test-slow-backups  write backups slowly "
            "(25 ms per\n"
            "                     256 rows; held after 256 rows while "
            "<store>/HOLD\n"
            "                     exists) so tests can act while one is "
            "CREATING\n"
            "  --unsafe-test-small-log  64 KiB log segments and a "
            "checkpoint every\n"
            "                     second, so tests see segments roll and go; "
            "tests\n"
            "                     only\n"
            "  --unsafe-test-slow-transfers  exports and imports pause "
            "50 ms per 100\n"
            "                     items so tests can act while one is "
            "IN_PROGRESS\n"
            "  --unsafe-test-faults  let clients make the change log's, "
            "the backup\n"
            "                     files' and the archive's writes, syncs "
            "and reads\n"
            "                     fail (target "
            "TidemarkTest_20261125.InjectFault, see\n"
            "                     docs/RELIABILITY.md); tests only\n"
            "  --credentials FILE access keys, one 'ACCESS_KEY_ID "
            "SECRET_ACCESS_KEY'\n"
            "                     per line ('#' starts a comment); every "
            "request\n"
            "                     must then be signed with one of them (AWS\n"
            "                     Signature Version 4). The file must be\n"
            "                     private to its owner (chmod 600)\n"
            "  --allow-anonymous  serve unsigned requests on an address that "
            "is\n"
            "                     not loopback; without --credentials only\n"
            "                     127.0.0.0/8, ::1 and localhost are "
            "allowed\n"
            "  --max-connections N  open connections at most (default "
            "4096);\n"
            "                     more are closed at once\n"
            "  --idle-timeout S   close a connection idle for S seconds, "
            "also\n"
            "                     one stalled mid-request (default 300)\n"
            "  --request-timeout S  close a connection whose request "
            "(headers and\n"
            "                     body) has not fully arrived S seconds "
            "after its\n"
            "                     first line, however it trickles "
            "(default 60);\n"
            "                     a first line must come within "
            "--idle-timeout + S\n"
            "  --map-size-gb N    the most the state (LMDB's map) may grow "
            "to, in GiB\n"
            "                     (default 64; address space, not memory: "
            "valgrind\n"
            "                     wants 4 or less)\n"
            "  --max-pending N    requests waiting for the engine at most "
            "(default\n"
            "                     1024); more get ThrottlingException\n"
            "  --max-buffered-mb N  request bodies held in memory at most,"
            " over\n"
            "                     all connections (default 512); more get\n"
            "                     ThrottlingException\n"
            "  --tls-cert FILE    serve HTTPS with this PEM certificate "
            "(then any\n"
            "                     intermediates); needs --tls-key\n"
            "  --tls-key FILE     the certificate's PEM private key, "
            "unencrypted\n"
            "  --help             this text\n"
            "  --version          the version\n");
}

static int fail(const char *fmt, const char *arg)
{
    fprintf(stderr, "tidemark: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nRun 'tidemark --help' for the options.\n");
    return 2;
}

static int parse_args(int argc, char **argv, struct config *c, int *exit_now)
{
    int i = 1;

    *exit_now = 0;
    if (i < argc && strcmp(argv[i], "serve") == 0)
        i++;
    for (; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            *exit_now = 1;
            return 0;
        }
        {
            /* the switches: options without a value */
            const struct {
                const char *name;
                int *flag;
            } sw[] = {{"--unsafe-test-clock", &c->test_clock},
                      {"--unsafe-test-slow-backups", &c->slow_backups},
                      {"--unsafe-test-slow-transfers", &c->slow_transfers},
                      {"--unsafe-test-faults", &c->test_faults},
                      {"--unsafe-test-small-log", &c->small_log},
                      {"--allow-anonymous", &c->allow_anonymous}};
            size_t k;
            for (k = 0; k < sizeof sw / sizeof sw[0]; k++)
                if (strcmp(a, sw[k].name) == 0) {
                    *sw[k].flag = 1;
                    break;
                }
            if (k < sizeof sw / sizeof sw[0])
                continue;
        }
        if (strcmp(a, "--version") == 0) {
            printf("tidemark %s\n", TM_VERSION);
            *exit_now = 1;
            return 0;
        }
        if (strncmp(a, "--", 2) != 0)
            return fail("unexpected argument '%s'", a);
        if (v == NULL)
            return fail("option %s needs a value", a);
        i++;
        if (strcmp(a, "--host") == 0) {
            c->host = v;
        } else if (strcmp(a, "--port") == 0) {
            char *end;
            long p;
            errno = 0;
            p = strtol(v, &end, 10);
            if (errno || *end || p < 0 || p > 65535)
                return fail("--port wants a number from 0 to 65535, not '%s'",
                            v);
            c->port = (int)p;
        } else if (strcmp(a, "--data") == 0) {
            c->data = v;
        } else if (strcmp(a, "--sync") == 0) {
            if (strcmp(v, "full") == 0)
                c->sync = 1;
            else if (strcmp(v, "off") == 0)
                c->sync = 0;
            else
                return fail("--sync wants 'full' or 'off', not '%s'", v);
        } else if (strcmp(a, "--region") == 0) {
            if (*v == '\0' || strlen(v) > 32 ||
                strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789-") !=
                    strlen(v))
                return fail("--region wants a region name such as "
                            "us-east-1, not '%s'",
                            v);
            c->region = v;
        } else if (strcmp(a, "--credentials") == 0) {
            c->credentials = v;
        } else if (strcmp(a, "--max-connections") == 0 ||
                   strcmp(a, "--idle-timeout") == 0 ||
                   strcmp(a, "--request-timeout") == 0 ||
                   strcmp(a, "--max-pending") == 0 ||
                   strcmp(a, "--map-size-gb") == 0 ||
                   strcmp(a, "--max-buffered-mb") == 0) {
            char *end;
            unsigned long n = strtoul(v, &end, 10);

            if (*v < '0' || *v > '9' || *end || n == 0 || n > 1000000)
                return fail("%s wants a whole number from 1 to 1000000",
                            a);
            if (strcmp(a, "--max-connections") == 0)
                c->max_connections = (unsigned)n;
            else if (strcmp(a, "--idle-timeout") == 0)
                c->idle_timeout = (unsigned)n;
            else if (strcmp(a, "--request-timeout") == 0)
                c->request_timeout = (unsigned)n;
            else if (strcmp(a, "--max-pending") == 0)
                c->max_pending = (unsigned)n;
            else if (strcmp(a, "--map-size-gb") == 0)
                c->map_gb = (unsigned)n;
            else
                c->max_buffered = (size_t)n << 20;
        } else if (strcmp(a, "--tls-cert") == 0) {
            c->tls_cert = v;
        } else if (strcmp(a, "--tls-key") == 0) {
            c->tls_key = v;
        } else if (strcmp(a, "--backup-schedule") == 0) {
            struct tm_error err = {0};
            if (backup_schedule_parse(v, &c->schedules, &err) != 0)
                return fail("%s", err.msg);
        } else if (strcmp(a, "--backup-zstd-level") == 0) {
            char *end;
            long n = strtol(v, &end, 10);

            _Static_assert(BACKUP_ZSTD_MIN_LEVEL == -7 &&
                               BACKUP_ZSTD_MAX_LEVEL == 19,
                           "the message below names the range");
            if (strcmp(v, "auto") == 0)
                n = 0; /* the store's default: adapt */
            else if (*v == '\0' || *end || n == 0 ||
                     n < BACKUP_ZSTD_MIN_LEVEL || n > BACKUP_ZSTD_MAX_LEVEL)
                return fail("--backup-zstd-level wants auto, a level from "
                            "-7 to -1 or one from 1 to 19, not '%s'",
                            v);
            c->zstd_level = (int)n;
        } else if (strcmp(a, "--backup-store") == 0) {
            c->backup_store = v;
        } else if (strcmp(a, "--s3-endpoint") == 0) {
            c->s3_endpoint = v;
        } else if (strcmp(a, "--account-id") == 0) {
            if (strlen(v) != 12 || strspn(v, "0123456789") != 12)
                return fail("--account-id wants 12 digits, not '%s'", v);
            c->account = v;
        } else {
            return fail("unknown option '%s'", a);
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct config c = {.host = "127.0.0.1",
                       .port = 8000,
                       .data = "./data",
                       .sync = 1,
                       .region = "us-east-1",
                       .account = "000000000000"};
    struct tls_files tls = {0};
    char store_dir[4096];
    int remote;
    struct engine_options eo = {0};
    struct http_options ho = {0};
    struct engine *engine = NULL;
    struct http_server *http = NULL;
    struct ttl_sweeper *ttl;
    struct pitr_keeper *keeper;
    struct archive *archive = NULL;
    struct export_config xc = {0};
    struct api_ctx ctx = {0};
    struct auth_credentials *creds = NULL;
    struct tm_error err;
    sigset_t set;
    int exit_now, rc, sig = 0;

    /* before any JSON value exists: request bodies parse into their
     * request's arena (src/base/jsonmem.h) */
    jsonmem_init();
    if (argc > 1 && strcmp(argv[1], "backup") == 0)
        return cli_backup_main(argc, argv);
    if (argc > 1 && strcmp(argv[1], "history") == 0)
        return cli_history_main(argc, argv);
    if (argc > 1 && strcmp(argv[1], "restore") == 0)
        return cli_restore_main(argc, argv);
    rc = parse_args(argc, argv, &c, &exit_now);
    if (rc || exit_now)
        return rc;
    rc = 1; /* until the server has started and stopped cleanly */
    tm_error_clear(&err);
    /* the one name accepted for --host: the IPv4 loopback, which is what
     * DynamoDB Local and the SDK examples mean by it */
    if (strcmp(c.host, "localhost") == 0)
        c.host = "127.0.0.1";
    if (c.credentials && c.allow_anonymous)
        return fail("%s", "--allow-anonymous and --credentials contradict "
                          "each other: with credentials every request must "
                          "be signed");
    if (!c.tls_cert != !c.tls_key)
        return fail("%s", c.tls_cert ? "--tls-cert needs --tls-key (the "
                                       "certificate's private key)"
                                     : "--tls-key needs --tls-cert (the "
                                       "certificate it belongs to)");
    if (c.tls_cert && tls_files_load(c.tls_cert, c.tls_key, &tls, &err)) {
        fprintf(stderr, "tidemark: %s\n", err.msg);
        return 1;
    }
    if (c.credentials) {
        if (auth_credentials_load(c.credentials, &creds, &err) != 0) {
            fprintf(stderr, "tidemark: %s\n", err.msg);
            tls_files_free(&tls);
            return 1;
        }
    } else if (!auth_host_is_loopback(c.host) && !c.allow_anonymous) {
        fprintf(stderr,
                "tidemark: refusing to serve anonymous requests on %s, "
                "which is not a loopback address: anyone who can reach it "
                "could read and write every table.\n"
                "Give --credentials FILE (every request must then be "
                "signed), or --allow-anonymous to serve it without "
                "authentication anyway.\n",
                c.host);
        tls_files_free(&tls);
        return 2;
    }

    /* Signals are taken by sigwait below, never by worker threads. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* Before any file is opened, so that fault rules know every file's
     * path (src/base/fsio.h). */
    if (c.test_faults)
        fsio_track_paths();
    tm_error_clear(&err);
    eo.data_dir = c.data;
    eo.sync = c.sync;
    eo.map_bytes = (size_t)c.map_gb << 30;
    /* an archive will ship the log: keep all of it until it pins it */
    remote = c.backup_store && strncmp(c.backup_store, "s3://", 5) == 0;
    eo.archive_hold = remote;
    if (c.small_log) {
        tm_warn("--unsafe-test-small-log: 64 KiB log segments, a checkpoint"
                " every second; for tests only");
        eo.segment_bytes = 64 * 1024;
        eo.checkpoint_ms = 1000;
    }
    if (engine_open(&eo, &engine, &err) != 0)
        goto fail;
    ctx.engine = engine;
    ctx.region = c.region;
    ctx.account = c.account;
    snprintf(store_dir, sizeof store_dir, "%s/backups", c.data);
    if (backup_store_open(c.backup_store && !remote ? c.backup_store
                                                    : store_dir,
                          0, &ctx.backups, &err) != 0 ||
        (remote && backup_store_set_remote(ctx.backups, c.backup_store,
                                           c.s3_endpoint, &err) != 0)) {
        if (!remote)
            goto fail;
        fprintf(stderr, "tidemark: cannot use the backup store %s: %s\n",
                c.backup_store, err.msg);
        goto close;
    }
    if (archive_open(engine, ctx.backups, c.data, &archive, &err) != 0)
        goto fail;
    if (c.zstd_level != 0)
        backup_store_set_level(ctx.backups, c.zstd_level);
    if (c.slow_backups) {
        tm_warn("--unsafe-test-slow-backups: on-demand backups are slowed "
                "down; for tests only");
        backup_store_set_test_delay(ctx.backups, 25000);
    }
    /* before any write is accepted: backups a stop or crash interrupted */
    if (backup_store_resume(ctx.backups, engine) != 0)
        tm_warn("some interrupted backups could not be finished (see above)");
    ctx.test_clock = c.test_clock;
    if (c.test_clock)
        tm_warn("--unsafe-test-clock: clients may move this server's clock "
                "(TidemarkTest_20261125.AdvanceClock); for tests only");
    ctx.test_faults = c.test_faults;
    if (c.test_faults)
        tm_warn("--unsafe-test-faults: clients may make this server's "
                "file writes, syncs and reads fail "
                "(TidemarkTest_20261125.InjectFault); for tests only");
    /* exports and imports: their records, and the jobs a stop or crash
     * interrupted (run again from the start) */
    xc.data_dir = c.data;
    xc.engine = engine;
    xc.backups = ctx.backups;
    xc.region = c.region;
    xc.account = c.account;
    xc.s3_endpoint = c.s3_endpoint;
    if (c.slow_transfers) {
        tm_warn("--unsafe-test-slow-transfers: exports and imports are "
                "slowed down; for tests only");
        xc.test_slow_ms = 50;
    }
    if (export_mgr_open(&xc, &ctx.exports, &err) != 0)
        goto fail;
    ctx.tokens = txn_tokens_create();
    if (ctx.tokens == NULL) {
        tm_error_set(&err, TM_ENOMEM, "out of memory");
        goto fail;
    }
    ho.host = c.host;
    ho.port = c.port;
    ho.auth = creds;
    ho.conn_limit = c.max_connections;
    ho.idle_timeout = c.idle_timeout;
    ho.request_timeout = c.request_timeout;
    ho.max_pending = c.max_pending;
    ho.max_buffered = c.max_buffered;
    ho.tls_cert_pem = tls.cert_pem;
    ho.tls_key_pem = tls.key_pem;
    if (http_start(&ho, &ctx, &http, &err) != 0)
        goto fail;
    if (index_backfill_resume_all(engine) != 0)
        tm_warn("could not resume index backfills");
    if (restore_resume_all(engine, ctx.backups) != 0)
        tm_warn("could not resume interrupted restores");
    if (creds)
        tm_info("authentication: AWS Signature Version 4, %zu access "
                "key%s from %s",
                auth_credentials_count(creds),
                auth_credentials_count(creds) == 1 ? "" : "s", c.credentials);
    else if (c.allow_anonymous && !auth_host_is_loopback(c.host))
        tm_warn("authentication: none on %s (--allow-anonymous): anyone "
                "who can reach it can read and write every table",
                c.host);
    else
        tm_info("authentication: none (anonymous requests on loopback "
                "address %s)",
                c.host);
    if (c.tls_cert)
        tm_info("TLS: certificate %s (%s, valid until %s)", c.tls_cert,
                tls.subject, tls.not_after[0] ? tls.not_after : "?");
    ttl = ttl_sweeper_start(engine, 1000);
    keeper = pitr_start(engine, ctx.backups, c.region, c.account, 1000);
    if (archive_start(archive, 0) != 0)
        tm_warn("could not start the archive's uploader: the local log is "
                "kept, nothing is shipped");
    if (backup_schedule_start(c.schedules, engine, ctx.backups, c.region,
                              c.account) != 0)
        tm_warn("could not start the backup schedules");
    tm_info("tidemark %s listening on %s://%s%s%s:%d (data %s, sync %s)",
            TM_VERSION, c.tls_cert ? "https" : "http", strchr(c.host, ':') ? "[" : "", c.host,
            strchr(c.host, ':') ? "]" : "", http_port(http), c.data,
            c.sync ? "full" : "off");

    sigwait(&set, &sig);
    tm_info("%s received: finishing requests in flight",
            sig == SIGINT ? "SIGINT" : "SIGTERM");
    http_stop(http, 10000);
    index_backfill_join();
    restore_join();
    ttl_sweeper_stop(ttl);
    pitr_stop(keeper);
    backup_schedule_stop(c.schedules);
    rc = 0;
    goto close;

fail:
    fprintf(stderr, "tidemark: %s\n", err.msg);
close:
    /* what was opened, in reverse (each of these takes NULL) */
    export_mgr_close(ctx.exports);
    backup_store_stop(ctx.backups);
    archive_stop(archive);
    engine_close(engine);
    txn_tokens_destroy(ctx.tokens);
    backup_store_close(ctx.backups);
    auth_credentials_destroy(creds);
    tls_files_free(&tls);
    if (rc == 0)
        tm_info("stopped");
    return rc == 0 ? 0 : 1;
}
