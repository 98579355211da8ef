/* log: leveled logging to stderr (see log.h). */
#include "daemon/log.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MODULE_MAX 24

static int verbosity;
static bool json_lines;

struct ids {
	const char *cell, *sensor;
};

static void vlog(const char *level, const struct ids *ids, const char *fmt,
    va_list ap, const char *suffix) __attribute__((format(printf, 3, 0)));
static size_t put_json(char *dst, size_t cap, size_t at, const char *key,
    const char *val, size_t len);

void
log_init(int verbose)
{
	verbosity = verbose;
}

void
log_set_json(bool json)
{
	json_lines = json;
}

/* Appends ,"key":"val" (len bytes of val, escaped) at dst + at; returns
 * the new length (cap - 1 at most: a line too long is cut). */
static size_t
put_json(char *dst, size_t cap, size_t at, const char *key, const char *val,
    size_t len)
{
	static const char hex[] = "0123456789abcdef";
	int n = snprintf(dst + at, cap - at, ",\"%s\":\"", key);

	if (n < 0 || (size_t)n >= cap - at)
		return at;
	at += (size_t)n;
	for (size_t k = 0; k < len && at + 8 < cap; k++) {
		unsigned char ch = (unsigned char)val[k];

		if (ch == '"' || ch == '\\') {
			dst[at++] = '\\';
			dst[at++] = (char)ch;
		} else if (ch == '\n') {
			dst[at++] = '\\';
			dst[at++] = 'n';
		} else if (ch < 0x20 || ch == 0x7f) {
			memcpy(dst + at, "\\u00", 4);
			dst[at + 4] = hex[ch >> 4];
			dst[at + 5] = hex[ch & 15];
			at += 6;
		} else {
			dst[at++] = (char)ch;
		}
	}
	if (at + 1 < cap)
		dst[at++] = '"';
	dst[at] = '\0';
	return at;
}

static void
vlog(const char *level, const struct ids *ids, const char *fmt, va_list ap,
    const char *suffix)
{
	char line[1024], out[3072], stamp[32];
	const char *msg = line;
	size_t at, mlen = 0;
	struct timespec ts;
	struct tm tm;
	int n;

	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	if (!json_lines) {
		/* One fprintf per line keeps lines whole across threads. */
		if (suffix != NULL)
			fprintf(stderr, "%s %s: %s\n", level, line, suffix);
		else
			fprintf(stderr, "%s %s\n", level, line);
		return;
	}
	/* The module is the leading word before ": " (house style). */
	while (mlen < MODULE_MAX &&
	    (islower((unsigned char)line[mlen]) ||
		isdigit((unsigned char)line[mlen]) || line[mlen] == '_'))
		mlen++;
	if (mlen > 0 && line[mlen] == ':' && line[mlen + 1] == ' ')
		msg = line + mlen + 2;
	else
		mlen = 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(stamp, sizeof(stamp),
	    "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    ts.tv_nsec / 1000000);
	if (n < 0)
		return;
	snprintf(out, sizeof(out), "{\"time\":\"%s\",\"level\":\"%s\"", stamp,
	    level);
	at = strlen(out);
	at = mlen > 0 ? put_json(out, sizeof(out), at, "module", line, mlen)
		      : put_json(out, sizeof(out), at, "module", "aqgridd", 7);
	at = put_json(out, sizeof(out), at, "message", msg, strlen(msg));
	if (suffix != NULL)
		at = put_json(
		    out, sizeof(out), at, "error", suffix, strlen(suffix));
	if (ids != NULL && ids->cell != NULL && ids->cell[0] != '\0')
		at = put_json(
		    out, sizeof(out), at, "cell", ids->cell, strlen(ids->cell));
	if (ids != NULL && ids->sensor != NULL && ids->sensor[0] != '\0')
		at = put_json(out, sizeof(out), at, "sensor", ids->sensor,
		    strlen(ids->sensor));
	fprintf(stderr, "%.*s}\n", (int)at, out);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	const char *e = strerror(errno);

	va_start(ap, fmt);
	vlog("warning", NULL, fmt, ap, e);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("warning", NULL, fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("info", NULL, fmt, ap, NULL);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (verbosity < 1)
		return;
	va_start(ap, fmt);
	vlog("debug", NULL, fmt, ap, NULL);
	va_end(ap);
}

void
log_warnx_id(const char *cell, const char *sensor, const char *fmt, ...)
{
	va_list ap;
	const struct ids ids = {cell, sensor};

	va_start(ap, fmt);
	vlog("warning", &ids, fmt, ap, NULL);
	va_end(ap);
}

void
log_info_id(const char *cell, const char *sensor, const char *fmt, ...)
{
	va_list ap;
	const struct ids ids = {cell, sensor};

	va_start(ap, fmt);
	vlog("info", &ids, fmt, ap, NULL);
	va_end(ap);
}

void
log_debug_id(const char *cell, const char *sensor, const char *fmt, ...)
{
	va_list ap;
	const struct ids ids = {cell, sensor};

	if (verbosity < 1)
		return;
	va_start(ap, fmt);
	vlog("debug", &ids, fmt, ap, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;
	const char *e = strerror(errno);

	va_start(ap, fmt);
	vlog("fatal", NULL, fmt, ap, e);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("fatal", NULL, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}

bool
log_complain(struct complain *c)
{
	struct timespec ts;
	long long now;

	/* Monotonic: a clock stepped back must not mute warnings. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (long long)ts.tv_sec;
	if (now < c->next)
		return false;
	c->interval = c->interval == 0 ? 10
	    : c->interval >= 3600      ? 3600
				       : c->interval * 2;
	c->next = now + c->interval;
	return true;
}

void
log_complain_clear(struct complain *c)
{
	c->next = 0;
	c->interval = 0;
}
