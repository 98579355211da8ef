/* log: leveled logging to stderr (see log.h). */
#include "daemon/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int verbosity;

static void vlog(const char *level, const char *fmt, va_list ap,
    const char *suffix) __attribute__((format(printf, 2, 0)));

void
log_init(int verbose)
{
	verbosity = verbose;
}

static void
vlog(const char *level, const char *fmt, va_list ap, const char *suffix)
{
	char line[1024];
	int n;

	/* One fprintf per line keeps lines whole across threads. */
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	if (suffix != NULL)
		fprintf(stderr, "%s %s: %s\n", level, line, suffix);
	else
		fprintf(stderr, "%s %s\n", level, line);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	const char *e = strerror(errno);

	va_start(ap, fmt);
	vlog("warning", fmt, ap, e);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("warning", fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("info", fmt, ap, NULL);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (verbosity < 1)
		return;
	va_start(ap, fmt);
	vlog("debug", fmt, ap, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;
	const char *e = strerror(errno);

	va_start(ap, fmt);
	vlog("fatal", fmt, ap, e);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("fatal", fmt, ap, NULL);
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
