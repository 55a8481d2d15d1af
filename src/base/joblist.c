/*
 * joblist.c - the job list of joblist.h.
 */
#include "base/joblist.h"

#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdlib.h>

struct job_entry {
    pthread_t thread;
    void *(*fn)(void *);
    void *arg;
    void (*free_fn)(void *);
    _Atomic int finished;
    struct job_entry *next;
};

static void *trampoline(void *p)
{
    struct job_entry *e = p;

    pthread_setname_np(pthread_self(), "tm-job"); /* top -H, perf */
    e->fn(e->arg);
    /* a finished job gives its memory back: glibc keeps freed blocks in
     * the arena of the thread that used them (a backup's zstd contexts,
     * a restore's batches), which made the soak's heap creep */
    malloc_trim(0);
    atomic_store(&e->finished, 1);
    return NULL;
}

/* Unlink the entries to join (finished ones, or all) under the lock,
 * then join and free them outside it. */
static void take(struct joblist *l, int all)
{
    struct job_entry *done = NULL, **pp;

    pthread_mutex_lock(&l->lock);
    pp = &l->head;
    while (*pp) {
        struct job_entry *e = *pp;
        if (all || atomic_load(&e->finished)) {
            *pp = e->next;
            e->next = done;
            done = e;
        } else {
            pp = &e->next;
        }
    }
    pthread_mutex_unlock(&l->lock);
    while (done) {
        struct job_entry *next = done->next;
        pthread_join(done->thread, NULL);
        if (done->free_fn)
            done->free_fn(done->arg);
        free(done);
        done = next;
    }
}

void joblist_reap(struct joblist *l)
{
    take(l, 0);
}

void joblist_join_all(struct joblist *l)
{
    take(l, 1);
}

int joblist_start(struct joblist *l, void *(*fn)(void *), void *arg,
                  void (*free_fn)(void *))
{
    struct job_entry *e = calloc(1, sizeof *e);
    int rc;

    joblist_reap(l);
    if (e == NULL)
        return ENOMEM;
    e->fn = fn;
    e->arg = arg;
    e->free_fn = free_fn;
    pthread_mutex_lock(&l->lock);
    rc = pthread_create(&e->thread, NULL, trampoline, e);
    if (rc == 0) {
        e->next = l->head;
        l->head = e;
    }
    pthread_mutex_unlock(&l->lock);
    if (rc != 0)
        free(e);
    return rc;
}
