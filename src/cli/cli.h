/*
 * cli.h - offline commands of the tidemark binary (no server running).
 */
#ifndef TM_CLI_H
#define TM_CLI_H

#include <stddef.h>
#include <stdint.h>

/* `tidemark backup ...`: list, inspect, verify, delete (backup_cli.c).
 * argv[1] is "backup".  Returns the process exit status. */
int cli_backup_main(int argc, char **argv);

/* `tidemark history ...`: a table's or an item's changes in a time range
 * from the retained change log (history_cli.c). */
int cli_history_main(int argc, char **argv);

/* `tidemark restore ...`: rebuild a table from the PITR archive in an
 * object store, without a server, into a new data directory
 * (restore_cli.c). */
int cli_restore_main(int argc, char **argv);

/* ---- shared by the commands (cli_time.c) ------------------------------- */

/* A time on the command line: epoch seconds (fractions allowed) or
 * ISO 8601 UTC with optional milliseconds ("2026-11-25T16:20:35.123Z",
 * the Z optional).  0 and *ms, or -1. */
int cli_parse_time(const char *s, int64_t *ms);

#endif
