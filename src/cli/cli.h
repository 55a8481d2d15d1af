/*
 * cli.h - offline commands of the tidemark binary (no server running).
 */
#ifndef TM_CLI_H
#define TM_CLI_H

/* `tidemark backup ...`: list, inspect, verify, delete (backup_cli.c).
 * argv[1] is "backup".  Returns the process exit status. */
int cli_backup_main(int argc, char **argv);

/* `tidemark history ...`: a table's or an item's changes in a time range
 * from the retained change log (history_cli.c). */
int cli_history_main(int argc, char **argv);

#endif
