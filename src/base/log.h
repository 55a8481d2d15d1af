/*
 * log.h - the server's log lines on stderr.
 *
 * One line per event: "2026-11-25T14:53:15.123Z tidemark[pid] LEVEL msg".
 * Thread-safe (one fprintf per line).  The level threshold is global and
 * set once at start (tm_log_set_level); debug lines cost one comparison
 * when off.
 */
#ifndef TM_LOG_H
#define TM_LOG_H

enum tm_log_level { TM_LOG_DEBUG, TM_LOG_INFO, TM_LOG_WARN, TM_LOG_ERROR };

void tm_log_set_level(enum tm_log_level lvl);
void tm_log(enum tm_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define tm_debug(...) tm_log(TM_LOG_DEBUG, __VA_ARGS__)
#define tm_info(...) tm_log(TM_LOG_INFO, __VA_ARGS__)
#define tm_warn(...) tm_log(TM_LOG_WARN, __VA_ARGS__)
#define tm_errorf(...) tm_log(TM_LOG_ERROR, __VA_ARGS__)

#endif
