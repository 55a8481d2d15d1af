/*
 * restore_cli.c - `tidemark restore`: disaster recovery.  Rebuild one
 * table, as it was at a chosen time, from the PITR archive in an object
 * store alone (src/archive), into a new data directory that
 * `tidemark serve --data DIR` then serves with the table ACTIVE.
 *
 *   tidemark restore --from s3://BUCKET/PREFIX [--s3-endpoint URL]
 *                    --table NAME --to TIME|latest --data DIR
 *                    [--as NEWNAME]
 *
 * TIME is ISO 8601 UTC with milliseconds (2026-11-25T16:20:35.123Z) or
 * epoch seconds (fractions allowed); `latest` is the archive's last write.
 * Credentials the AWS way (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or
 * ~/.aws/credentials).
 *
 * Steps (each on a progress bar when stderr is a terminal):
 *   1. list the archive's bases and pick the newest one of table NAME
 *      created at or before TIME; none: say which range is restorable;
 *   2. list the archived log and plan the segments from the base's LSN + 1
 *      on (a hole in a segment is refused, naming it);
 *   3. download the base file and the chunks ("downloading", bytes),
 *      reassembling the segments in DIR.partial/.archive/wal;
 *   4. open DIR.partial as a fresh data directory (the engine), create
 *      the table from its definition as of TIME (the base's, then the
 *      last TABLE_UPDATE of the same table in the log up to TIME, so an
 *      index added or dropped after the base is as it was at TIME; a new
 *      table id; RestoreSummary names the source table and the time),
 *      load the base's rows ("loading", rows; indexes built as rows
 *      arrive) and
 *      replay the table's changes up to TIME inclusive ("replaying") with
 *      the restore module's own ops (restore_run_file), then flip it
 *      ACTIVE;
 *   5. close, remove the scratch files, rename DIR.partial to DIR.
 *
 * Guarantees: DIR appears only complete (step 5 is a rename), so an
 * interrupted restore leaves no half table behind: DIR.partial (marked by
 * a file named RESTORE-IN-PROGRESS) is removed by the next attempt.  A
 * DIR that exists and is not empty is refused before anything is done.
 * Every byte is checked: the base by its checksums, the log record by
 * record.  The restored table equals the source as of the last write at or
 * before TIME that the archive holds; if the archive ends before TIME (the
 * machine was lost), the command says so and restores its end.
 *
 * Exit status: 0 restored; 1 a failure (the message says what and what to
 * do); 2 usage.
 */
#include "cli/cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api_int.h"
#include "archive/archive.h"
#include "base/fsio.h"
#include "base/clock.h"
#include "base/log.h"
#include "catalog/catalog.h"
#include "engine/engine.h"
#include "restore/restore.h"
#include "wal/wal.h"
#include "s3/s3.h"

#define MARKER "RESTORE-IN-PROGRESS"
#define FETCH_TRIES 3

static int usage_to(FILE *f)
{
    fprintf(f,
            "usage: tidemark restore --from s3://BUCKET/PREFIX "
            "[--s3-endpoint URL]\n"
            "                        --table NAME --to TIME|latest --data DIR"
            " [--as NEWNAME]\n"
            "Rebuild table NAME as it was at TIME from the point-in-time "
            "recovery archive\n"
            "that a server keeps under PREFIX/archive/ (--backup-store "
            "s3://BUCKET/PREFIX),\n"
            "into DIR, a new data directory (absent or empty); then: "
            "tidemark serve --data DIR\n"
            "TIME: 2026-11-25T16:20:35.123Z (UTC), epoch seconds, or latest "
            "(the last\narchived write).  Credentials from "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or\n~/.aws/credentials."
            "\n");
    return 2;
}

static int usage(void)
{
    return usage_to(stderr);
}

/* ==== The progress bar ==== */

struct bar {
    int tty;
    const char *what;
    uint64_t total;
    int last_pct;
    uint64_t last_ns;
    int shown;
    uint64_t done;          /* the last value given, drawn by bar_end */
    const char *unit;
};

static void bar_start(struct bar *b, const char *what, uint64_t total)
{
    b->what = what;
    b->total = total;
    b->last_pct = -1;
    b->last_ns = 0;
    b->shown = 0;
}

/* `done` of `total` (`unit`: "MB" shows bytes as MB, else a count). */
static void bar_show(struct bar *b, uint64_t done, const char *unit,
                     const char *extra)
{
    char fill[41];
    int pct = b->total ? (int)(done * 100 / b->total) : -1;
    uint64_t now = clock_mono_ns();

    if (!b->tty)
        return;
    b->done = done;
    b->unit = unit;
    if (pct > 100)
        pct = 100;
    if (pct == b->last_pct && now - b->last_ns < 200000000ull &&
        done != b->total)
        return;
    b->last_pct = pct;
    b->last_ns = now;
    b->shown = 1;
    if (pct >= 0) {
        size_t n = (size_t)pct * 40 / 100;
        memset(fill, '#', n);
        memset(fill + n, ' ', 40 - n);
        fill[40] = '\0';
        if (strcmp(unit, "MB") == 0)
            fprintf(stderr, "\r%-11s [%s] %3d%% %.1f of %.1f MB%s",
                    b->what, fill, pct, (double)done / 1048576.0,
                    (double)b->total / 1048576.0, extra ? extra : "");
        else
            fprintf(stderr, "\r%-11s [%s] %3d%% %llu of %llu %s%s", b->what,
                    fill, pct, (unsigned long long)done,
                    (unsigned long long)b->total, unit, extra ? extra : "");
    } else {
        fprintf(stderr, "\r%-11s %llu %s%s", b->what,
                (unsigned long long)done, unit, extra ? extra : "");
    }
    fflush(stderr);
}

static void bar_end(struct bar *b)
{
    if (b->tty && b->shown) {
        b->last_pct = -2; /* draw the last value, whatever the throttle */
        b->last_ns = 0;
        bar_show(b, b->done, b->unit, NULL);
        fputc('\n', stderr);
    }
    b->shown = 0;
}

/* ==== Files ==== */

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static int rm_tree(const char *path)
{
    return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* 1 if `dir` exists and holds anything, 0 if absent or empty, -1 if it is
 * not a directory or cannot be read. */
static int nonempty(const char *dir)
{
    struct stat st;
    struct dirent *de;
    DIR *d;
    int any = 0;

    if (stat(dir, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode) || (d = opendir(dir)) == NULL)
        return -1;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            any = 1;
    closedir(d);
    return any;
}

/* ==== The restore ==== */

struct args {
    const char *from, *endpoint, *table, *to, *data, *as;
    int latest;
    int64_t until;
};

struct load_ctx {
    struct bar *bar;
    uint64_t rows_total;
    int replaying;
};

/* The log's bytes come after the base's on the bar. */
struct fetch_ctx {
    struct bar *bar;
    uint64_t off;
};

static void on_fetch(void *ctx, uint64_t bytes)
{
    struct fetch_ctx *f = ctx;
    bar_show(f->bar, f->off + bytes, "MB", NULL);
}

static void on_batch(void *ctx, uint64_t rows, uint64_t changes)
{
    struct load_ctx *l = ctx;

    if (!l->replaying && changes > 0) {
        bar_show(l->bar, l->rows_total, "rows", NULL);
        bar_end(l->bar);
        bar_start(l->bar, "replaying", 0);
        l->replaying = 1;
    }
    if (l->replaying)
        bar_show(l->bar, changes, "changes replayed", NULL);
    else
        bar_show(l->bar, rows, "rows", NULL);
}

struct create_arg {
    struct table *t;
    struct table *desc;
    struct arena *a;
};

static int create_apply(struct engine_wtx *w, void *arg,
                        struct tm_error *err)
{
    struct create_arg *c = arg;

    return restore_target_create(w, &c->t, c->a, &c->desc, err);
}

/* The source table's definition as of `until`: the base's, unless the
 * log after the base holds a later one (TABLE_UPDATE: an index added or
 * removed, billing changed) for the same incarnation at or before
 * `until`.  On success *out is the definition to restore (the caller
 * frees it) and *updates how many catalog records changed it. */
static int definition_at(const char *wal_dir, uint64_t from_lsn,
                         int64_t until, const char *base_json,
                         struct table **out, unsigned *updates,
                         struct tm_error *err)
{
    struct wal_reader *r = NULL;
    struct wal_record rec;
    struct table *t = NULL;
    int rc;

    *updates = 0;
    rc = table_from_json((const uint8_t *)base_json, strlen(base_json), &t,
                         err);
    if (rc)
        return rc;
    rc = wal_reader_open(wal_dir, NULL, from_lsn, &r, err);
    if (rc) {
        table_free(t);
        return rc;
    }
    while ((rc = wal_reader_next(r, &rec, err)) == 1) {
        struct table *u;

        if (rec.time_ms > until)
            break;
        rc = engine_table_parse(&rec, &u);
        if (rc < 0) {
            tm_error_set(err, rc, "change log record %llu: a table "
                                  "definition that cannot be read",
                         (unsigned long long)rec.lsn);
            break;
        }
        if (rc == 0)
            continue; /* a row's change, or another catalog record */
        if (strcmp(u->id, t->id) == 0) {
            table_free(t);
            t = u;
            (*updates)++;
        } else {
            table_free(u);
        }
    }
    wal_reader_close(r);
    if (rc < 0) {
        table_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

/* The bases of table `name`, and the pick for `a->until`. */
static int pick_base(const struct args *a, const char *where,
                     struct archive_base *v, size_t n,
                     const struct archive_base **out)
{
    const struct archive_base *oldest = NULL, *pick = NULL;
    char t1[64];

    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i].b->table_name, a->table) != 0)
            continue;
        if (oldest == NULL)
            oldest = &v[i];
        if (v[i].b->created_ms <= a->until)
            pick = &v[i];
    }
    if (oldest == NULL) {
        fprintf(stderr, "tidemark restore: the archive %sarchive/ holds no "
                        "base snapshot of table %s",
                where, a->table);
        if (n == 0)
            fprintf(stderr, " (it holds none at all: is point-in-time "
                            "recovery on for the table, with this "
                            "--backup-store?)\n");
        else {
            fprintf(stderr, "; it has tables:");
            for (size_t i = 0; i < n; i++) {
                int seen = 0;
                for (size_t k = 0; k < i; k++)
                    seen |= strcmp(v[k].b->table_name, v[i].b->table_name) ==
                            0;
                if (!seen)
                    fprintf(stderr, " %s", v[i].b->table_name);
            }
            fputc('\n', stderr);
        }
        return 1;
    }
    if (pick == NULL) {
        char t0[64];
        clock_iso_ms(a->until, t0, sizeof t0);
        clock_iso_ms(oldest->b->created_ms, t1, sizeof t1);
        fprintf(stderr,
                "tidemark restore: table %s cannot be restored to %s: the "
                "archive's oldest base snapshot of it was taken at %s.  It "
                "can be restored to any time from %s to its last archived "
                "write (--to latest)\n",
                a->table, t0, t1, t1);
        return 1;
    }
    *out = pick;
    return 0;
}

static int run(const struct args *a)
{
    struct s3_config cfg = {0};
    struct s3_client *c = NULL;
    struct arena *ar = arena_create(65536, 1u << 30);
    struct archive_base *bases = NULL;
    const struct archive_base *base = NULL;
    struct archive_log log = {0};
    struct engine *e = NULL;
    struct engine_options eo = {0};
    struct restore_file rf = {0};
    struct restore_result res = {0};
    struct create_arg ca = {0};
    struct tm_error err = {0};
    struct bar bar = {.tty = isatty(2)};
    struct load_ctx lc = {0};
    struct fetch_ctx fc = {0};
    char *bucket = NULL, *prefix = NULL;
    char partial[4200], scratch[4300], walscratch[4400], marker[4400];
    char where[1200], t0[64], t1[64];
    const char *name = a->as ? a->as : a->table;
    size_t nbases;
    unsigned updates = 0;
    int rc = 1, made = 0, existed, tries;
    uint64_t t_start = clock_mono_ns();

    existed = nonempty(a->data);
    if (existed != 0) {
        fprintf(stderr, "tidemark restore: %s %s; restore into a new or "
                        "empty directory (nothing was changed)\n",
                a->data, existed > 0 ? "is not empty" : "is not a "
                                                          "readable "
                                                          "directory");
        goto out;
    }
    snprintf(partial, sizeof partial, "%s.partial", a->data);
    snprintf(scratch, sizeof scratch, "%s/.archive", partial);
    snprintf(walscratch, sizeof walscratch, "%s/wal", scratch);
    snprintf(marker, sizeof marker, "%s/" MARKER, partial);
    if (nonempty(partial) != 0) {
        if (access(marker, F_OK) != 0) {
            fprintf(stderr, "tidemark restore: %s exists and is not the "
                            "leftover of an interrupted restore; move it "
                            "away first\n",
                    partial);
            goto out;
        }
        fprintf(stderr, "tidemark restore: removing %s, left by an "
                        "interrupted restore\n",
                partial);
        if (rm_tree(partial) != 0) {
            fprintf(stderr, "tidemark restore: cannot remove %s: %s\n",
                    partial, strerror(errno));
            goto out;
        }
    }
    if (ar == NULL ||
        s3_parse_url(a->from, &bucket, &prefix, &err) != 0) {
        fprintf(stderr, "tidemark restore: --from: %s\n",
                ar ? err.msg : "out of memory");
        goto out;
    }
    cfg.endpoint = a->endpoint;
    cfg.bucket = bucket;
    cfg.prefix = prefix;
    if (s3_client_new(&cfg, &c, &err) != 0) {
        fprintf(stderr, "tidemark restore: %s\n", err.msg);
        goto out;
    }
    s3_describe(c, "", where, sizeof where);

    /* 1. the base */
    if (archive_list_bases(c, scratch, ar, &bases, &nbases, &err) != 0) {
        fprintf(stderr, "tidemark restore: cannot read the archive %s"
                        "archive/: %s\n",
                where, err.msg);
        goto out;
    }
    if (pick_base(a, where, bases, nbases, &base) != 0)
        goto out;

    /* 2. the log after it */
    for (tries = 0;; tries++) {
        /* 3. (the downloads, retried when a running server merged or
         * pruned a chunk meanwhile) */
        rc = archive_log_find(c, base->b->lsn + 1, &log, &err);
        if (rc) {
            clock_iso_ms(base->b->created_ms, t1, sizeof t1);
            fprintf(stderr, "tidemark restore: the archive's log after the "
                            "base snapshot of %s taken at %s is not "
                            "there: %s\n",
                    a->table, t1, err.msg);
            rc = 1;
            goto out;
        }
        if (!made) {
            if (mkdir(partial, 0755) != 0) {
                fprintf(stderr, "tidemark restore: cannot create %s: %s\n",
                        partial, strerror(errno));
                rc = 1;
                goto out;
            }
            made = 1;
            if (close(open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) !=
                    0 ||
                mkdir(scratch, 0755) != 0) {
                fprintf(stderr, "tidemark restore: cannot write in %s: %s\n",
                        partial, strerror(errno));
                rc = 1;
                goto out;
            }
            bar_start(&bar, "downloading",
                      base->file_bytes + log.bytes);
            if (archive_fetch_base(c, base, &err) != 0) {
                bar_end(&bar);
                fprintf(stderr, "tidemark restore: downloading the base "
                                "snapshot %s: %s\n",
                        base->b->id, err.msg);
                rc = 1;
                goto out;
            }
        }
        bar_start(&bar, "downloading", base->file_bytes + log.bytes);
        fc.bar = &bar;
        fc.off = base->file_bytes;
        on_fetch(&fc, 0);
        rc = archive_log_fetch(c, &log, walscratch, on_fetch, &fc, &err);
        if (rc == 0)
            break;
        if (rc != TM_ENOOBJECT || tries + 1 >= FETCH_TRIES) {
            bar_end(&bar);
            fprintf(stderr, "tidemark restore: downloading the archived "
                            "log: %s\n",
                    err.msg);
            rc = 1;
            goto out;
        }
        archive_log_free(&log);
        rm_tree(walscratch);
    }
    bar_show(&bar, base->file_bytes + log.bytes, "MB", NULL);
    bar_end(&bar);

    /* 4. a fresh data directory with the table in it */
    eo.data_dir = partial;
    eo.sync = 1;
    if (engine_open(&eo, &e, &err) != 0) {
        fprintf(stderr, "tidemark restore: %s\n", err.msg);
        rc = 1;
        goto out;
    }
    if (definition_at(walscratch, base->b->lsn + 1, a->until,
                      base->b->table_json, &ca.t, &updates, &err) != 0 ||
        restore_target_init(ca.t, name) != 0 ||
        (ca.t->restore_table_arn = strdup(base->b->table_arn)) == NULL) {
        fprintf(stderr, "tidemark restore: the table's definition "
                        "cannot be used: %s\n",
                err.msg[0] ? err.msg : "out of memory");
        rc = 1;
        goto out;
    }
    ca.t->restore_time_ms = a->latest ? base->b->created_ms : a->until;
    ca.a = ar;
    {
        struct engine_op op = {0};
        op.apply = create_apply;
        op.arg = &ca;
        if (engine_run(e, &op) != 0) {
            fprintf(stderr, "tidemark restore: creating table %s: %s\n",
                    name, op.err.msg);
            rc = 1;
            goto out;
        }
    }
    lc.bar = &bar;
    lc.rows_total = base->b->items;
    bar_start(&bar, "loading", base->b->items);
    rf.table = name;
    rf.backup_path = base->b->path;
    rf.wal_dir = walscratch;
    rf.source_no = base->b->table_no;
    rf.from_lsn = base->b->lsn + 1;
    rf.until_ms = a->until;
    rf.stamp_time = a->latest;
    rf.progress = on_batch;
    rf.progress_ctx = &lc;
    rc = restore_run_file(e, &rf, &res, &err);
    bar_end(&bar);
    if (rc) {
        fprintf(stderr, "tidemark restore: %s\n", err.msg);
        rc = 1;
        goto out;
    }
    engine_close(e);
    e = NULL;

    /* 5. DIR appears complete, or not at all */
    if (rm_tree(scratch) != 0 || unlink(marker) != 0 ||
        (access(a->data, F_OK) == 0 && rmdir(a->data) != 0) ||
        rename(partial, a->data) != 0) {
        fprintf(stderr, "tidemark restore: finishing %s failed: %s\n",
                a->data, strerror(errno));
        rc = 1;
        goto out;
    }
    made = 0; /* DIR.partial is DIR now */
    if (fsio_fsync_parent(a->data) != 0) {
        /* complete, but its name may not survive a power cut: say so
         * rather than report a failure that left a whole DIR behind */
        fprintf(stderr, "tidemark restore: warning: %s is complete, but "
                        "syncing its parent directory failed: %s; run "
                        "`sync` before relying on it after a power cut\n",
                a->data, strerror(errno));
    }
    clock_iso_ms(base->b->created_ms, t1, sizeof t1);
    if (a->latest)
        clock_iso_ms(res.last_time_ms ? res.last_time_ms
                                      : base->b->created_ms,
                     t0, sizeof t0);
    else
        clock_iso_ms(a->until, t0, sizeof t0);
    if (!a->latest && res.log_ended && res.last_time_ms < a->until) {
        char t2[64];
        clock_iso_ms(res.last_time_ms ? res.last_time_ms
                                      : base->b->created_ms,
                     t2, sizeof t2);
        fprintf(stderr, "tidemark restore: note: the archive's log ends at "
                        "%s, before %s: the table is as of its end\n",
                t2, t0);
    }
    printf("restored table %s%s%s as of %s into %s: %" PRIu64
           " items from the base snapshot of %s, %" PRIu64
           " changes replayed from %zu archived log segments (%.1f MB "
           "downloaded), in %.1f s\n"
           "its definition: the base's%s\n"
           "serve it with: tidemark serve --data %s\n",
           a->table, a->as ? " as " : "", a->as ? a->as : "", t0, a->data,
           res.rows, t1, res.changes, log.nsegs,
           (double)(base->file_bytes + log.bytes) / 1048576.0,
           (double)(clock_mono_ns() - t_start) / 1e9,
           updates ? ", then the table's later updates from the log "
                     "(indexes, settings)"
                   : "",
           a->data);
    rc = 0;
out:
    table_free(ca.t);
    if (e)
        engine_close(e);
    if (made && rm_tree(partial) != 0)
        fprintf(stderr, "tidemark restore: could not remove %s; the next "
                        "attempt will\n",
                partial);
    archive_log_free(&log);
    s3_client_free(c);
    free(bucket);
    free(prefix);
    arena_destroy(ar);
    return rc;
}

int cli_restore_main(int argc, char **argv)
{
    struct args a = {0};

    for (int i = 2; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(k, "--help") == 0 || strcmp(k, "-h") == 0) {
            usage_to(stdout);
            return 0;
        }
        if (v == NULL)
            return usage();
        i++;
        if (strcmp(k, "--from") == 0)
            a.from = v;
        else if (strcmp(k, "--s3-endpoint") == 0)
            a.endpoint = v;
        else if (strcmp(k, "--table") == 0)
            a.table = v;
        else if (strcmp(k, "--to") == 0)
            a.to = v;
        else if (strcmp(k, "--data") == 0)
            a.data = v;
        else if (strcmp(k, "--as") == 0)
            a.as = v;
        else
            return usage();
    }
    if (!a.from || !a.table || !a.to || !a.data)
        return usage();
    {
        /* "dir/" and "dir" are the same: DIR.partial must be its sibling */
        static char data[4096];
        size_t n = strlen(a.data);
        while (n > 1 && a.data[n - 1] == '/')
            n--;
        if (n >= sizeof data || n == 0 || (n == 1 && a.data[0] == '/')) {
            fprintf(stderr, "tidemark restore: --data wants a new "
                            "directory, not '%s'\n",
                    a.data);
            return 2;
        }
        memcpy(data, a.data, n);
        data[n] = '\0';
        a.data = data;
    }
    if (strcmp(a.to, "latest") == 0) {
        a.latest = 1;
        a.until = INT64_MAX;
    } else if (cli_parse_time(a.to, &a.until) != 0) {
        fprintf(stderr, "tidemark restore: --to wants an ISO 8601 time "
                        "(2026-11-25T16:20:35.123Z), epoch seconds or "
                        "latest, not '%s'\n",
                a.to);
        return 2;
    }
    if (strncmp(a.from, "s3://", 5) != 0) {
        fprintf(stderr, "tidemark restore: --from wants the object store "
                        "of the server's --backup-store, "
                        "s3://BUCKET/PREFIX, not '%s'\n",
                a.from);
        return 2;
    }
    /* the engine's and the restore's own lines: warnings and errors only */
    tm_log_set_level(TM_LOG_WARN);
    return run(&a);
}
