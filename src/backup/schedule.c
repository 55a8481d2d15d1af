/*
 * schedule.c - scheduled backups (DynamoDB needs AWS Backup for this).
 *
 *   --backup-schedule TABLE=EVERY[,keep=N|keep=AGE]
 *
 * EVERY and AGE are a number with a unit: m (minutes), h (hours), d
 * (days); keep=N keeps the newest N.  Each schedule produces ordinary USER
 * backups named "<table>-scheduled-<YYYYMMDD-HHMMSS>" (listed, described,
 * restored and deleted like any other), the first when the server starts
 * (if none is younger than EVERY), then every EVERY of the server's clock
 * (which --unsafe-test-clock lets tests move).  Scheduled backups past the
 * retention are deleted; backups made by hand are never touched.  A table
 * that does not exist (yet) is skipped until it does.
 */
#include "backup/schedule.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"

struct sched {
    char table[256];
    int64_t every_ms;
    int keep_count;          /* 0: by age */
    int64_t keep_ms;         /* 0: by count */
};

struct backup_scheduler {
    struct engine *e;
    struct backup_store *bs;
    const char *region, *account;
    struct sched *v;
    size_t n;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stop, started;
};

static int64_t duration(const char *s, char **end)
{
    double v = strtod(s, end);
    int64_t unit;

    if (*end == s || v <= 0)
        return -1;
    switch (**end) {
    case 'm': unit = 60000; break;
    case 'h': unit = 3600000; break;
    case 'd': unit = 86400000; break;
    default: return -1;
    }
    (*end)++;
    return (int64_t)(v * (double)unit);
}

int backup_schedule_parse(const char *spec, struct backup_scheduler **s,
                          struct tm_error *err)
{
    struct backup_scheduler *b = *s;
    struct sched one = {0}, *nv;
    const char *eq = strchr(spec, '=');
    char *end;

    if (b == NULL) {
        b = calloc(1, sizeof *b);
        if (b == NULL)
            return tm_error_set(err, TM_ENOMEM, "out of memory");
        *s = b;
    }
    if (eq == NULL || eq == spec || (size_t)(eq - spec) >= sizeof one.table)
        goto bad;
    memcpy(one.table, spec, (size_t)(eq - spec));
    one.every_ms = duration(eq + 1, &end);
    if (one.every_ms <= 0)
        goto bad;
    if (*end == ',') {
        if (strncmp(end + 1, "keep=", 5) != 0)
            goto bad;
        end += 6;
        if (strspn(end, "0123456789") == strlen(end)) {
            one.keep_count = atoi(end);
            if (one.keep_count < 1)
                goto bad;
            end += strlen(end);
        } else {
            one.keep_ms = duration(end, &end);
            if (one.keep_ms <= 0)
                goto bad;
        }
    }
    if (*end != '\0')
        goto bad;
    nv = realloc(b->v, (b->n + 1) * sizeof *nv);
    if (nv == NULL)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    b->v = nv;
    b->v[b->n++] = one;
    return 0;
bad:
    return tm_error_set(err, TM_EVALIDATION,
                        "--backup-schedule wants TABLE=EVERY[,keep=N|keep="
                        "AGE] with EVERY and AGE like 30m, 6h or 1d, not "
                        "'%s'",
                        spec);
}

static void one_round(struct backup_scheduler *b)
{
    int64_t now = clock_now_ms();

    for (size_t i = 0; i < b->n; i++) {
        struct sched *s = &b->v[i];
        struct arena *a = arena_create(65536, 1u << 30);
        struct backup_info **v, *made, *gone;
        struct tm_error err = {0};
        size_t n, mine = 0;
        int64_t newest = 0;
        char prefix[300];

        if (a == NULL)
            return;
        snprintf(prefix, sizeof prefix, "%s-scheduled-", s->table);
        if (backup_store_list(b->bs, a, &v, &n) != 0) {
            arena_destroy(a);
            continue;
        }
        for (size_t k = 0; k < n; k++)
            if (v[k]->type == BACKUP_USER &&
                strcmp(v[k]->table_name, s->table) == 0 &&
                strncmp(v[k]->name, prefix, strlen(prefix)) == 0) {
                mine++;
                newest = v[k]->created_ms;
            }
        if (mine == 0 || now - newest >= s->every_ms) {
            char name[400], when[40];
            time_t t = (time_t)(now / 1000);
            struct tm tm;
            gmtime_r(&t, &tm);
            strftime(when, sizeof when, "%Y%m%d-%H%M%S", &tm);
            snprintf(name, sizeof name, "%s%s", prefix, when);
            if (backup_store_create(b->bs, b->e, s->table, name, BACKUP_USER,
                                    b->region, b->account, a, &made,
                                    &err) == 0) {
                tm_info("scheduled backup %s of %s", made->arn, s->table);
                mine++;
                backup_store_list(b->bs, a, &v, &n);
            } else if (err.code != TM_ETABLENOTFOUND) {
                tm_warn("scheduled backup of %s failed: %s", s->table,
                        err.msg);
            }
        }
        /* retention: oldest first in v */
        for (size_t k = 0; k < n; k++) {
            struct tm_error e2;
            int expired;
            if (v[k]->type != BACKUP_USER ||
                strcmp(v[k]->table_name, s->table) != 0 ||
                strncmp(v[k]->name, prefix, strlen(prefix)) != 0)
                continue;
            expired = s->keep_count ? mine > (size_t)s->keep_count
                      : s->keep_ms  ? now - v[k]->created_ms > s->keep_ms
                                    : 0;
            if (!expired)
                continue;
            if (backup_store_delete(b->bs, v[k]->arn, a, &gone, &e2) == 0) {
                tm_info("scheduled backup %s expired (retention of %s)",
                        gone->arn, s->table);
                mine--;
            }
        }
        arena_destroy(a);
    }
}

static void *main_loop(void *arg)
{
    struct backup_scheduler *b = arg;

    pthread_setname_np(pthread_self(), "tm-schedule"); /* top -H, perf */
    pthread_mutex_lock(&b->lock);
    while (!b->stop) {
        struct timespec ts;
        pthread_mutex_unlock(&b->lock);
        one_round(b);
        pthread_mutex_lock(&b->lock);
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        while (!b->stop &&
               pthread_cond_timedwait(&b->cond, &b->lock, &ts) == 0)
            ;
    }
    pthread_mutex_unlock(&b->lock);
    return NULL;
}

int backup_schedule_start(struct backup_scheduler *b, struct engine *e,
                          struct backup_store *bs, const char *region,
                          const char *account)
{
    if (b == NULL)
        return 0;
    b->e = e;
    b->bs = bs;
    b->region = region;
    b->account = account;
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->cond, NULL);
    if (pthread_create(&b->thread, NULL, main_loop, b) != 0)
        return TM_ENOMEM;
    b->started = 1;
    for (size_t i = 0; i < b->n; i++)
        tm_info("backup schedule: %s every %lld min, keeping %s%lld%s",
                b->v[i].table, (long long)(b->v[i].every_ms / 60000),
                b->v[i].keep_count ? "the newest " : "",
                b->v[i].keep_count ? (long long)b->v[i].keep_count
                : b->v[i].keep_ms  ? (long long)(b->v[i].keep_ms / 60000)
                                   : 0LL,
                b->v[i].keep_count ? ""
                : b->v[i].keep_ms  ? " min"
                                   : " (all)");
    return 0;
}

void backup_schedule_stop(struct backup_scheduler *b)
{
    if (b == NULL)
        return;
    if (b->started) {
        pthread_mutex_lock(&b->lock);
        b->stop = 1;
        pthread_cond_signal(&b->cond);
        pthread_mutex_unlock(&b->lock);
        pthread_join(b->thread, NULL);
        pthread_mutex_destroy(&b->lock);
        pthread_cond_destroy(&b->cond);
    }
    free(b->v);
    free(b);
}
