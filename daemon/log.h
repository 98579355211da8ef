/*
 * log: the daemon's log, after OpenBSD's log.c.  Lines go to stderr (where
 * journald picks them up) as "LEVEL module: message"; log_debug only with
 * -v.  log_warn appends strerror(errno).  fatal/fatalx are for start-up
 * only: they log and exit(1).  Thread-safe (one write per line).
 */
#ifndef AQ_DAEMON_LOG_H
#define AQ_DAEMON_LOG_H

#include <stdbool.h>

#define AQ_PRINTF(a, b) __attribute__((format(printf, a, b)))

void log_init(int verbose);
void log_warn(const char *fmt, ...) AQ_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) AQ_PRINTF(1, 2);
void log_info(const char *fmt, ...) AQ_PRINTF(1, 2);
void log_debug(const char *fmt, ...) AQ_PRINTF(1, 2);
void fatal(const char *fmt, ...) AQ_PRINTF(1, 2) __attribute__((noreturn));
void fatalx(const char *fmt, ...) AQ_PRINTF(1, 2) __attribute__((noreturn));

/*
 * A limiter for repeated failures, after collectd's c_complain: true when
 * a message about this failure should be logged now (the first time, then
 * at most once per interval seconds, doubling up to an hour).
 */
struct complain {
	long long next; /* Unix s */
	int interval;
};
bool log_complain(struct complain *c);
/* Resets the limiter after the failure has cleared. */
void log_complain_clear(struct complain *c);

#endif
