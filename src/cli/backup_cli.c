/*
 * backup_cli.c - `tidemark backup`: on-demand backups for operators,
 * without a running server.
 *
 *   tidemark backup list    [--data DIR | --store DIR] [--table NAME]
 *   tidemark backup inspect [--data DIR | --store DIR] ARN|ID|FILE
 *   tidemark backup verify  [--data DIR | --store DIR] ARN|ID|FILE
 *   tidemark backup delete  [--data DIR | --store DIR] ARN|ID
 *
 * The store is opened read-only for list/inspect/verify (a server may be
 * writing into it).  verify reads every block, checks every checksum and
 * count, and exits 1 naming the file and offset on any fault; on a
 * terminal it shows a progress bar.  delete refuses to run while a server
 * holds the data directory (its registry would go stale): stop it, or use
 * DeleteBackup through the API.
 *
 * Exit status: 0 success, 1 a fault or not found, 2 usage.
 */
#include "cli/cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "backup/backup.h"
#include "backup/backup_format.h"
#include "base/clock.h"

static const char *const type_names[] = {"USER", "SYSTEM", "AWS_BACKUP",
                                         "PITR_BASE"};

static int usage(void)
{
    fprintf(stderr,
            "usage: tidemark backup list    [--data DIR | --store DIR] "
            "[--table NAME]\n"
            "       tidemark backup inspect [--data DIR | --store DIR] "
            "ARN|ID|FILE\n"
            "       tidemark backup verify  [--data DIR | --store DIR] "
            "ARN|ID|FILE\n"
            "       tidemark backup delete  [--data DIR | --store DIR] "
            "ARN|ID\n"
            "The store defaults to <data>/backups, the data directory to "
            "./data.\n"
            "An object store: --store s3://BUCKET/PREFIX [--s3-endpoint "
            "URL], credentials\n"
            "from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or "
            "~/.aws/credentials.\n");
    return 2;
}

/* Find a backup by ARN, id or file path in the store. */
static struct backup_info *find(struct backup_info **v, size_t n,
                                const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i]->arn, what) == 0 || strcmp(v[i]->id, what) == 0 ||
            strcmp(v[i]->path, what) == 0)
            return v[i];
    return NULL;
}

struct progress {
    int tty;
    uint64_t total;
    uint64_t last_pct;
    const char *what;
};

static void show(void *ctx, uint64_t rows, uint64_t bytes)
{
    struct progress *p = ctx;
    uint64_t pct = p->total ? bytes * 100 / p->total : 100;
    char bar[41];
    size_t fill = (size_t)(pct * 40 / 100);

    (void)rows;
    if (!p->tty || pct == p->last_pct)
        return;
    p->last_pct = pct;
    memset(bar, '#', fill);
    memset(bar + fill, ' ', 40 - fill);
    bar[40] = '\0';
    fprintf(stderr, "\r%s [%s] %3llu%% %llu MB", p->what, bar,
            (unsigned long long)pct,
            (unsigned long long)(bytes >> 20));
}

static int verify_file(const char *path, int quiet)
{
    struct backup_read_options o = {0};
    struct backup_reader *r = NULL;
    struct progress pg = {isatty(2), 0, 101, "checking "};
    struct tm_error err = {0};
    const uint8_t *k, *it;
    size_t kl, il;
    uint64_t rows = 0, t0 = clock_mono_ns();
    int got, fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd >= 0) {
        off_t end = lseek(fd, 0, SEEK_END);
        pg.total = end > 0 ? (uint64_t)end : 0;
        close(fd);
    }
    o.check = BACKUP_CHECK_AT_OPEN;
    o.progress = show;
    o.progress_ctx = &pg;
    if (backup_reader_open_opts(path, &o, &r, &err) != 0) {
        if (pg.tty)
            fputc('\n', stderr);
        fprintf(stderr, "tidemark backup verify: FAULT: %s\n", err.msg);
        return 1;
    }
    pg.what = "reading  ";
    pg.last_pct = 101;
    while ((got = backup_reader_next(r, &k, &kl, &it, &il, &err)) == 1)
        rows++;
    if (pg.tty)
        fputc('\n', stderr);
    if (got < 0) {
        fprintf(stderr, "tidemark backup verify: FAULT: %s\n", err.msg);
        backup_reader_close(r);
        return 1;
    }
    if (!quiet)
        printf("%s: OK: %llu rows, %llu blocks, %llu bytes, every checksum "
               "and count verified in %.1f ms\n",
               path, (unsigned long long)rows,
               (unsigned long long)backup_reader_stats(r)->blocks,
               (unsigned long long)backup_reader_stats(r)->file_bytes,
               (double)(clock_mono_ns() - t0) / 1e6);
    backup_reader_close(r);
    return 0;
}

static int inspect_file(const char *path)
{
    struct backup_read_options o = {0};
    struct backup_reader *r = NULL;
    struct tm_error err = {0};
    const struct backup_meta *m;
    const struct backup_stats *st;
    char when[96];

    o.check = BACKUP_CHECK_STREAMING; /* header and footer only */
    if (backup_reader_open_opts(path, &o, &r, &err) != 0) {
        fprintf(stderr, "tidemark backup inspect: %s\n", err.msg);
        return 1;
    }
    m = backup_reader_meta(r);
    st = backup_reader_stats(r);
    clock_iso_ms(m->created_ms, when, sizeof when);
    printf("file:            %s\n"
           "format version:  %u\n"
           "backup ARN:      %s\n"
           "backup name:     %s\n"
           "backup type:     %s\n"
           "created:         %s\n"
           "log position:    %llu\n"
           "table ARN:       %s\n"
           "table id:        %s\n"
           "rows:            %llu\n"
           "item bytes:      %llu\n"
           "blocks:          %llu\n"
           "file bytes:      %llu\n"
           "schema:          %s\n",
           path, m->format_version, m->backup_arn, m->backup_name,
           m->backup_type >= 0 && m->backup_type < 3
               ? type_names[m->backup_type]
               : "?",
           when, (unsigned long long)m->lsn, m->table_arn, m->table_id,
           (unsigned long long)st->rows, (unsigned long long)st->item_bytes,
           (unsigned long long)st->blocks, (unsigned long long)st->file_bytes,
           m->table_json);
    backup_reader_close(r);
    return 0;
}

/* 1 if a server holds the data directory. */
static int server_running(const char *data)
{
    char path[4096];
    int fd, held;

    snprintf(path, sizeof path, "%s/LOCK", data);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    held = flock(fd, LOCK_EX | LOCK_NB) != 0;
    close(fd);
    return held;
}

/* Remove the scratch directory of an object-store session. */
static void rm_scratch(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[4200];

    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

int cli_backup_main(int argc, char **argv)
{
    const char *data = "./data", *store = NULL, *table = NULL, *cmd, *what;
    const char *endpoint = NULL;
    char store_dir[4096], cache[] = "/tmp/tidemark-backup-XXXXXX";
    int remote;
    struct backup_store *s = NULL;
    struct backup_info **v;
    struct arena *a;
    struct tm_error err = {0};
    size_t n;
    int i, rc = 0;

    if (argc < 3)
        return usage();
    cmd = argv[2];
    what = NULL;
    for (i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
            data = argv[++i];
        else if (strcmp(argv[i], "--store") == 0 && i + 1 < argc)
            store = argv[++i];
        else if (strcmp(argv[i], "--table") == 0 && i + 1 < argc)
            table = argv[++i];
        else if (strcmp(argv[i], "--s3-endpoint") == 0 && i + 1 < argc)
            endpoint = argv[++i];
        else if (argv[i][0] == '-')
            return usage();
        else if (what == NULL)
            what = argv[i];
        else
            return usage();
    }
    if (strcmp(cmd, "list") && (what == NULL || (strcmp(cmd, "inspect") &&
                                                strcmp(cmd, "verify") &&
                                                strcmp(cmd, "delete"))))
        return usage();
    /* a file path works without a store */
    if (what && strchr(what, '/') && access(what, R_OK) == 0 &&
        strstr(what, "arn:") != what) {
        if (strcmp(cmd, "verify") == 0)
            return verify_file(what, 0);
        if (strcmp(cmd, "inspect") == 0)
            return inspect_file(what);
    }
    snprintf(store_dir, sizeof store_dir, "%s/backups", data);
    /* an object store: its descriptions are read into a scratch directory
     * and rows files fetched there */
    remote = store && strncmp(store, "s3://", 5) == 0;
    if (remote && mkdtemp(cache) == NULL) {
        fprintf(stderr, "tidemark backup: cannot create %s: %s\n", cache,
                strerror(errno));
        return 1;
    }
    if (backup_store_open(remote ? cache : store ? store : store_dir,
                          !remote, &s, &err) != 0 ||
        (remote && backup_store_set_remote(s, store, endpoint, &err) != 0)) {
        fprintf(stderr, "tidemark backup: %s\n", err.msg);
        backup_store_close(s);
        if (remote)
            rm_scratch(cache);
        return 1;
    }
    a = arena_create(65536, 1u << 30);
    if (a == NULL || backup_store_list(s, a, &v, &n) != 0) {
        fprintf(stderr, "tidemark backup: out of memory\n");
        backup_store_close(s);
        arena_destroy(a);
        return 1;
    }
    if (strcmp(cmd, "list") == 0) {
        printf("%-24s %-10s %-7s %-26s %12s %12s  %s\n", "CREATED", "TYPE",
               "STATUS", "TABLE", "ITEMS", "BYTES", "NAME / ARN");
        for (size_t k = 0; k < n; k++) {
            char when[96];
            if (table && strcmp(v[k]->table_name, table) != 0)
                continue;
            clock_iso_ms(v[k]->created_ms, when, sizeof when);
            printf("%-24s %-10s %-7s %-26s %12llu %12llu  %s %s\n", when,
                   type_names[v[k]->type],
                   backup_status(v[k]), v[k]->table_name,
                   (unsigned long long)v[k]->items,
                   (unsigned long long)v[k]->size_bytes, v[k]->name,
                   v[k]->arn);
        }
    } else {
        struct backup_info *b = find(v, n, what);
        if (b == NULL) {
            fprintf(stderr, "tidemark backup %s: no backup %s in %s\n", cmd,
                    what, backup_store_where(s));
            rc = 1;
        } else if (strcmp(cmd, "delete") && b->creating) {
            fprintf(stderr, "tidemark backup %s: backup %s is still being "
                            "created; try again when it is AVAILABLE\n",
                    cmd, b->arn);
            rc = 1;
        } else if (strcmp(cmd, "delete") &&
                   backup_store_fetch(s, b, &err) != 0) {
            fprintf(stderr, "tidemark backup %s: %s\n", cmd, err.msg);
            rc = 1;
        } else if (strcmp(cmd, "inspect") == 0) {
            rc = inspect_file(b->path);
        } else if (strcmp(cmd, "verify") == 0) {
            rc = verify_file(b->path, 0);
        } else if (remote) {
            struct backup_info *gone;
            if (backup_store_delete(s, b->arn, a, &gone, &err) != 0) {
                fprintf(stderr, "tidemark backup delete: %s\n", err.msg);
                rc = 1;
            } else {
                printf("deleted %s\n", gone->arn);
            }
        } else if (server_running(data)) {
            fprintf(stderr, "tidemark backup delete: a server is running on "
                            "%s; use DeleteBackup through the API, or stop "
                            "it first\n",
                    data);
            rc = 1;
        } else {
            struct backup_info *gone;
            struct backup_store *w = NULL;
            backup_store_close(s);
            s = NULL;
            if (backup_store_open(store ? store : store_dir, 0, &w, &err) !=
                    0 ||
                backup_store_delete(w, b->arn, a, &gone, &err) != 0) {
                fprintf(stderr, "tidemark backup delete: %s\n", err.msg);
                rc = 1;
            } else {
                printf("deleted %s\n", gone->arn);
            }
            backup_store_close(w);
        }
    }
    backup_store_close(s);
    arena_destroy(a);
    if (remote)
        rm_scratch(cache);
    return rc;
}
