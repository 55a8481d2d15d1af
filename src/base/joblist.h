/*
 * joblist.h - background threads that are joined as soon as they finish.
 *
 * Restores, index backfills and background backups each run on a thread
 * of their own.  A long-running server must not keep every finished one
 * until shutdown (each holds its job state and an unjoined thread's
 * stack), so a job list joins and frees the finished ones whenever a new
 * job starts, and all of them at shutdown (joblist_join_all, which waits
 * for the running ones: they watch their own stop flag).
 *
 * Guarantees: every started job's free function runs exactly once, after
 * its thread has returned; none runs while its thread may still touch the
 * job.  Thread-safety: every function may be called from any thread.
 */
#ifndef TM_JOBLIST_H
#define TM_JOBLIST_H

#include <pthread.h>

struct job_entry;

struct joblist {
    pthread_mutex_t lock;
    struct job_entry *head;
};

#define JOBLIST_INIT {PTHREAD_MUTEX_INITIALIZER, NULL}

/* Reap the finished jobs, then run fn(arg) on a new thread; free_fn(arg)
 * runs once that thread has been joined.  Returns 0, or an errno value
 * (nothing was started; free_fn is not called). */
int joblist_start(struct joblist *l, void *(*fn)(void *), void *arg,
                  void (*free_fn)(void *));

/* Join and free the jobs that have finished. */
void joblist_reap(struct joblist *l);

/* Join and free every job, waiting for the running ones. */
void joblist_join_all(struct joblist *l);

#endif
