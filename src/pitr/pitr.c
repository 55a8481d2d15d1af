/*
 * pitr.c - the history keeper; see pitr.h for the policy.
 */
#include "pitr/pitr.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "catalog/catalog.h"

struct pitr_keeper {
    struct engine *e;
    struct backup_store *bs;
    const char *region, *account;
    unsigned interval_ms;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stop;
};

/* One pass over every table; returns the log position to pin (0: none). */
static uint64_t round_once(struct pitr_keeper *k)
{
    struct arena *a = arena_create(65536, 1u << 30);
    struct catalog *cat = engine_catalog(k->e);
    struct backup_info **v;
    char **names;
    size_t n, nb;
    int more;
    uint64_t pin = 0;
    int64_t now = clock_now_ms();

    if (a == NULL)
        return 0;
    if (catalog_names(cat, NULL, (size_t)-1, a, &names, &n, &more) != 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        struct table *t;
        struct backup_info *newest = NULL, *keep_from = NULL;
        int64_t start;

        if (catalog_get(cat, names[i], a, &t) != 0 || !t->pitr ||
            t->status != TABLE_ACTIVE)
            continue;
        if (backup_store_list(k->bs, a, &v, &nb) != 0)
            continue;
        for (size_t b = 0; b < nb; b++)
            if (v[b]->type == BACKUP_BASE &&
                strcmp(v[b]->table_id, t->id) == 0)
                newest = v[b];
        if (newest == NULL || now - newest->created_ms >=
                                  PITR_BASE_INTERVAL_MS) {
            struct tm_error err = {0};
            struct backup_info *made;
            char bname[320];
            snprintf(bname, sizeof bname, "%.200s$PointInTimeBase", t->name);
            if (backup_store_create(k->bs, k->e, t->name, bname, BACKUP_BASE,
                                    k->region, k->account, a, &made,
                                    &err) != 0)
                tm_warn("point-in-time base of %s: %s", t->name, err.msg);
            if (backup_store_list(k->bs, a, &v, &nb) != 0)
                continue;
        }
        /* prune: keep the newest base at or before the window's start and
         * every newer one */
        start = now - (int64_t)t->pitr_days * 86400000LL;
        for (size_t b = 0; b < nb; b++)
            if (v[b]->type == BACKUP_BASE &&
                strcmp(v[b]->table_id, t->id) == 0 &&
                v[b]->created_ms <= start)
                keep_from = v[b];
        for (size_t b = 0; b < nb; b++) {
            struct backup_info *gone;
            struct tm_error err;
            if (v[b]->type != BACKUP_BASE ||
                strcmp(v[b]->table_id, t->id) != 0)
                continue;
            if (keep_from && v[b]->created_ms < keep_from->created_ms) {
                if (backup_store_delete(k->bs, v[b]->arn, a, &gone, &err) ==
                    0)
                    tm_info("point-in-time base %s of %s pruned (older than "
                            "the %d-day window)",
                            v[b]->arn, t->name, t->pitr_days);
                continue;
            }
            if (pin == 0 || v[b]->lsn + 1 < pin)
                pin = v[b]->lsn + 1;
        }
    }
out:
    arena_destroy(a);
    return pin;
}

static void *keeper_main(void *arg)
{
    struct pitr_keeper *k = arg;

    pthread_setname_np(pthread_self(), "tm-pitr"); /* top -H, perf */
    pthread_mutex_lock(&k->lock);
    while (!k->stop) {
        struct timespec ts;
        uint64_t pin;

        pthread_mutex_unlock(&k->lock);
        pin = round_once(k);
        engine_pin_log(k->e, pin);
        pthread_mutex_lock(&k->lock);
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += k->interval_ms / 1000;
        ts.tv_nsec += (long)(k->interval_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        while (!k->stop &&
               pthread_cond_timedwait(&k->cond, &k->lock, &ts) == 0)
            ;
    }
    pthread_mutex_unlock(&k->lock);
    return NULL;
}

struct pitr_keeper *pitr_start(struct engine *e, struct backup_store *bs,
                               const char *region, const char *account,
                               unsigned interval_ms)
{
    struct pitr_keeper *k = calloc(1, sizeof *k);

    if (k == NULL)
        return NULL;
    k->e = e;
    k->bs = bs;
    k->region = region;
    k->account = account;
    k->interval_ms = interval_ms ? interval_ms : 1000;
    pthread_mutex_init(&k->lock, NULL);
    pthread_cond_init(&k->cond, NULL);
    if (pthread_create(&k->thread, NULL, keeper_main, k) != 0) {
        free(k);
        return NULL;
    }
    return k;
}

void pitr_stop(struct pitr_keeper *k)
{
    if (k == NULL)
        return;
    pthread_mutex_lock(&k->lock);
    k->stop = 1;
    pthread_cond_signal(&k->cond);
    pthread_mutex_unlock(&k->lock);
    pthread_join(k->thread, NULL);
    pthread_mutex_destroy(&k->lock);
    pthread_cond_destroy(&k->cond);
    free(k);
}
