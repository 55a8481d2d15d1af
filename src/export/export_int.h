/*
 * export_int.h - what export.c (the manager, its workers and the export
 * job) and import.c (the import job and its records) share.
 */
#ifndef TM_EXPORT_INT_H
#define TM_EXPORT_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

#include "export/export.h"

enum job_kind { JOB_EXPORT, JOB_IMPORT };

struct job {
    enum job_kind kind;
    char *arn;
    struct job *next;
};

struct export_mgr {
    struct engine *engine;
    struct backup_store *backups;
    char *region, *account, *s3_endpoint;
    char *exports_dir, *imports_dir, *staging_dir;
    int test_slow_ms;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct export_info **ex;     /* heap records, ascending start */
    size_t nex, capex;
    struct import_info **im;
    size_t nim, capim;
    struct job *head, *tail;     /* waiting jobs */
    pthread_t workers[EXPORT_WORKERS];
    int nworkers;
    _Atomic int stopping;
};

/* Write record `o` (taken) as <dir>/<id>.json durably. */
int xfer_record_write(const char *dir, const char *id, json_t *o,
                      struct tm_error *err);

/* Queue a job (under no lock; takes the lock). */
int xfer_queue(struct export_mgr *m, enum job_kind kind, const char *arn);

/* 1 once the manager is stopping: a job returns at its next item. */
int xfer_stopping(struct export_mgr *m);

/* --unsafe-test-slow-transfers: sleep after every 100 items. */
void xfer_slow(struct export_mgr *m, uint64_t items);

/* A new "<14-digit ms>-<8 hex>" id. */
void xfer_new_id(int64_t ms, char out[32]);

/* import.c: run one import job; load the records at start. */
void import_run(struct export_mgr *m, const char *arn);
int import_load_records(struct export_mgr *m, struct tm_error *err);
void import_info_free(struct import_info *x);

#endif
