/*
 * log: the daemon's log, after OpenBSD's log.c.  Lines go to stderr (where
 * journald picks them up) as "LEVEL module: message"; log_debug only with
 * -v.  log_warn appends strerror(errno).  fatal/fatalx are for start-up
 * only: they log and exit(1).  Thread-safe (one write per line).
 *
 * Messages start with their module ("ingest: ...").  With log_set_json()
 * each line is instead one JSON object: "time" (UTC, ISO 8601 with
 * milliseconds), "level", "module" (the message's prefix, "aqgridd" when
 * it has none), "message" (the rest), and for the *_id variants "cell"
 * and "sensor" when given (NULL or "" leaves the field out).
 */
#ifndef AQ_DAEMON_LOG_H
#define AQ_DAEMON_LOG_H

#include <stdbool.h>

#define AQ_PRINTF(a, b) __attribute__((format(printf, a, b)))

void log_init(int verbose);
/* JSON lines (true) or text (false, the default). */
void log_set_json(bool json);
void log_warn(const char *fmt, ...) AQ_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) AQ_PRINTF(1, 2);
void log_info(const char *fmt, ...) AQ_PRINTF(1, 2);
void log_debug(const char *fmt, ...) AQ_PRINTF(1, 2);
/* The same about one cell and/or sensor (ids borrowed, may be NULL). */
void log_warnx_id(const char *cell, const char *sensor, const char *fmt, ...)
    AQ_PRINTF(3, 4);
void log_info_id(const char *cell, const char *sensor, const char *fmt, ...)
    AQ_PRINTF(3, 4);
void log_debug_id(const char *cell, const char *sensor, const char *fmt, ...)
    AQ_PRINTF(3, 4);
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
