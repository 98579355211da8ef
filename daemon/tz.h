/*
 * tz: event time in the configured zone.  Hours are labelled by their end:
 * the hour labelled 14:00 holds 13:00 <= ts < 14:00, local time.  An hour is
 * named by its index h = floor((ts - phase) / 3600), where phase is the
 * zone's offset modulo one hour (0 for Asia/Shanghai), so hours are always
 * 3600 s long and never merge when daylight saving repeats a clock hour.
 * Day D is the hours labelled 01:00 ... 24:00 of D.
 * tz_init() sets the process's TZ (one zone per process: the C library has
 * only one) and reads the zone's offsets from 1970 to 2100 into a table of
 * transitions; after that a struct tz is immutable, and every function
 * here is lock-free and safe from any thread (glibc's localtime_r takes a
 * process-wide lock, which made HTTP readers stall ingest).
 */
#ifndef AQ_DAEMON_TZ_H
#define AQ_DAEMON_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/err.h"

#define TZ_NAME_MAX 64
/* "2026-11-29T14:00:00+08:00" and a NUL. */
#define TZ_ISO_MAX 32
/* Offset changes kept: more than any zone has had since 1970. */
#define TZ_TRANSITIONS_MAX 400

struct tz {
	char name[TZ_NAME_MAX];
	int32_t phase;     /* seconds, offset modulo 3600 */
	int32_t n;         /* transitions */
	int32_t first_off; /* offset before at[0] (or always, if n is 0) */
	int64_t at[TZ_TRANSITIONS_MAX];  /* Unix s, ascending */
	int32_t off[TZ_TRANSITIONS_MAX]; /* offset from at[k] on */
};

/* Whether the system's zone database has name (without installing it). */
bool tz_known(const char *name);

/* AQ_ERR_INVAL for a zone the system does not know. */
int tz_init(struct tz *z, const char *name) AQ_MUSTCHECK;

/* Offset east of UTC at ts, in seconds. */
int32_t tz_offset(const struct tz *z, int64_t ts);

/* Hour index of a timestamp, and the timestamp at the end of an hour. */
static inline int64_t
tz_hour(const struct tz *z, int64_t ts)
{
	int64_t t = ts - z->phase;

	return (t >= 0 ? t : t - 3599) / 3600;
}

static inline int64_t
tz_hour_end(const struct tz *z, int64_t hour)
{
	return (hour + 1) * 3600 + z->phase;
}

/* Local date (yyyymmdd) of the day an hour belongs to. */
int32_t tz_hour_day(const struct tz *z, int64_t hour);
/* The hour labelled 24:00 of a local date yyyymmdd (its last hour). */
int64_t tz_day_last_hour(const struct tz *z, int32_t yyyymmdd);
/* Local date (yyyymmdd) at ts. */
int32_t tz_date(const struct tz *z, int64_t ts);

/* ISO 8601 local time with offset, e.g. "2026-11-29T14:00:00+08:00". */
char *tz_format(const struct tz *z, int64_t ts, char *buf, size_t len);

/*
 * Parses "2026-11-29T13:59:00+08:00", "...Z", or a bare Unix time in
 * seconds.  Returns AQ_OK or AQ_ERR_INVAL.
 */
int tz_parse(const char *s, int64_t *ts) AQ_MUSTCHECK;

/* yyyymmdd <-> days since 1970-01-01 (proleptic Gregorian). */
int64_t tz_days_from_date(int32_t yyyymmdd);
int32_t tz_date_from_days(int64_t days);
/* Parses "YYYY-MM-DD" into yyyymmdd, checking the calendar. */
int tz_parse_date(const char *s, int32_t *yyyymmdd) AQ_MUSTCHECK;

#endif
