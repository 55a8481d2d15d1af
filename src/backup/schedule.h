/*
 * schedule.h - scheduled backups: per table an interval and a retention
 * (--backup-schedule), producing ordinary USER backups named by schedule
 * and date.  See schedule.c for the rules.
 */
#ifndef TM_SCHEDULE_H
#define TM_SCHEDULE_H

#include "backup/backup.h"
#include "base/err.h"
#include "engine/engine.h"

struct backup_scheduler;

/* Add one --backup-schedule TABLE=EVERY[,keep=N|keep=AGE] to *s (created
 * on first use).  TM_EVALIDATION with a message on a bad spec. */
int backup_schedule_parse(const char *spec, struct backup_scheduler **s,
                          struct tm_error *err);

/* Start the thread (no-op for NULL). */
int backup_schedule_start(struct backup_scheduler *s, struct engine *e,
                          struct backup_store *bs, const char *region,
                          const char *account);

/* Stop and free.  NULL-safe. */
void backup_schedule_stop(struct backup_scheduler *s);

#endif
