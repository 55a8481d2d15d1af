/*
 * pitr.h - point-in-time recovery's history keeper.
 *
 * A background thread that, for every table with point-in-time recovery
 * on, keeps the history a restore needs and nothing more:
 *
 *   1. a base snapshot (a hidden BACKUP_BASE in the backup store) at least
 *      every PITR_BASE_INTERVAL (one day) of the server's clock, so that a
 *      restore replays at most a day of the table's log;
 *   2. bases older than the recovery window are deleted, except the newest
 *      of them, which a restore to the window's first moment starts from;
 *   3. the change log is pinned from the oldest kept base's position
 *      (engine_pin_log), so the records a restore replays are never
 *      checkpointed away; older records go at the next checkpoint.
 *
 * EarliestRestorableDateTime therefore moves forward as time passes
 * (api_pitr.c computes it from the kept bases and the period).  The
 * server's clock may be moved by tests (--unsafe-test-clock): a round
 * then catches up at once.
 */
#ifndef TM_PITR_H
#define TM_PITR_H

#include "backup/backup.h"
#include "engine/engine.h"

#define PITR_BASE_INTERVAL_MS (24LL * 3600 * 1000)

struct pitr_keeper;

struct pitr_keeper *pitr_start(struct engine *e, struct backup_store *bs,
                               const char *region, const char *account,
                               unsigned interval_ms);
void pitr_stop(struct pitr_keeper *k); /* NULL-safe */

#endif
