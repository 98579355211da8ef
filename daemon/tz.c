/* tz: event time in the configured zone (see tz.h). */

/* tm_gmtoff is not in POSIX 2008: glibc's default set has it. */
#define _DEFAULT_SOURCE
#include "daemon/tz.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The span tz_init() reads offsets for: 1970-01-01 to 2100-01-01 UTC. */
#define TZ_FROM INT64_C(0)
#define TZ_TO INT64_C(4102444800)

static int32_t libc_offset(int64_t ts);
static int parse_num(const char **p, int digits, int *out);

bool
tz_known(const char *name)
{
	const char *dir = getenv("TZDIR");
	char path[512];

	if (strcmp(name, "UTC") == 0)
		return true;
	/* A relative name must not climb out of the zone database. */
	if (name[0] == '\0' || name[0] == '/' || strstr(name, "..") != NULL)
		return false;
	snprintf(path, sizeof(path), "%s/%s",
	    dir != NULL ? dir : "/usr/share/zoneinfo", name);
	return access(path, R_OK) == 0;
}

/* The C library's offset at ts (takes its lock). */
static int32_t
libc_offset(int64_t ts)
{
	time_t t = (time_t)ts;
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL)
		return 0;
	return (int32_t)tm.tm_gmtoff;
}

int
tz_init(struct tz *z, const char *name)
{
	int32_t prev;

	if (strlen(name) >= TZ_NAME_MAX || !tz_known(name))
		return AQ_ERR_INVAL;
	if (setenv("TZ", name, 1) != 0)
		return AQ_ERR_NOMEM;
	tzset();
	memset(z, 0, sizeof(*z));
	snprintf(z->name, sizeof(z->name), "%s", name);
	/* Walk a day at a time (no zone changes twice within a day) and find
	 * each change to the second by bisection. */
	prev = z->first_off = libc_offset(TZ_FROM);
	for (int64_t t = TZ_FROM; t < TZ_TO; t += 86400) {
		int32_t next = libc_offset(t + 86400);
		int64_t lo = t, hi = t + 86400;

		if (next == prev)
			continue;
		while (hi - lo > 1) {
			int64_t mid = lo + (hi - lo) / 2;

			if (libc_offset(mid) == prev)
				lo = mid;
			else
				hi = mid;
		}
		if (z->n == TZ_TRANSITIONS_MAX)
			break;
		z->at[z->n] = hi;
		z->off[z->n++] = next;
		prev = next;
	}
	z->phase = ((tz_offset(z, (int64_t)time(NULL)) % 3600) + 3600) % 3600;
	return AQ_OK;
}

int32_t
tz_offset(const struct tz *z, int64_t ts)
{
	int32_t lo = 0, hi = z->n;

	/* The last transition at or before ts, by bisection. */
	while (lo < hi) {
		int32_t mid = (lo + hi) / 2;

		if (z->at[mid] <= ts)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo == 0 ? z->first_off : z->off[lo - 1];
}

int32_t
tz_date(const struct tz *z, int64_t ts)
{
	int64_t local = ts + tz_offset(z, ts);
	int64_t days = local >= 0 ? local / 86400 : (local - 86399) / 86400;

	return tz_date_from_days(days);
}

int32_t
tz_hour_day(const struct tz *z, int64_t hour)
{
	return tz_date(z, tz_hour_end(z, hour) - 1);
}

int64_t
tz_day_last_hour(const struct tz *z, int32_t yyyymmdd)
{
	/* Local midnight ending the day, found from the offset there. */
	int64_t midnight = (tz_days_from_date(yyyymmdd) + 1) * 86400;
	int64_t ts = midnight - tz_offset(z, midnight);

	ts = midnight - tz_offset(z, ts);
	return tz_hour(z, ts - 1);
}

char *
tz_format(const struct tz *z, int64_t ts, char *buf, size_t len)
{
	int32_t off = tz_offset(z, ts);
	int64_t local = ts + off;
	int64_t days = local >= 0 ? local / 86400 : (local - 86399) / 86400;
	int64_t sec = local - days * 86400;
	int32_t d = tz_date_from_days(days);
	int32_t aoff = off < 0 ? -off : off;

	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d",
	    (int)(d / 10000), (int)(d / 100 % 100), (int)(d % 100),
	    (int)(sec / 3600), (int)(sec / 60 % 60), (int)(sec % 60),
	    off < 0 ? '-' : '+', (int)(aoff / 3600), (int)(aoff / 60 % 60));
	return buf;
}

static int
parse_num(const char **p, int digits, int *out)
{
	int v = 0;

	for (int i = 0; i < digits; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return AQ_ERR_INVAL;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += digits;
	*out = v;
	return AQ_OK;
}

int
tz_parse(const char *s, int64_t *ts)
{
	const char *p = s;
	int y, mo, d, h, mi, sec = 0, oh = 0, om = 0, sign = 0;
	int32_t date;
	char *end;

	if (*s != '\0' && strchr(s, '-') == NULL) {
		long long v = strtoll(s, &end, 10);

		if (*end != '\0' || end == s)
			return AQ_ERR_INVAL;
		*ts = v;
		return AQ_OK;
	}
	if (parse_num(&p, 4, &y) || *p++ != '-' || parse_num(&p, 2, &mo) ||
	    *p++ != '-' || parse_num(&p, 2, &d) || (*p != 'T' && *p != ' '))
		return AQ_ERR_INVAL;
	p++;
	if (parse_num(&p, 2, &h) || *p++ != ':' || parse_num(&p, 2, &mi))
		return AQ_ERR_INVAL;
	if (*p == ':') {
		p++;
		if (parse_num(&p, 2, &sec))
			return AQ_ERR_INVAL;
		/* Fractions of a second are accepted and dropped. */
		if (*p == '.')
			for (p++; isdigit((unsigned char)*p); p++)
				;
	}
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (parse_num(&p, 2, &oh))
			return AQ_ERR_INVAL;
		if (*p == ':')
			p++;
		if (parse_num(&p, 2, &om))
			return AQ_ERR_INVAL;
	} else {
		return AQ_ERR_INVAL; /* a time without a zone is ambiguous */
	}
	date = y * 10000 + mo * 100 + d;
	if (*p != '\0' || h > 23 || mi > 59 || sec > 60 || oh > 23 || om > 59 ||
	    tz_date_from_days(tz_days_from_date(date)) != date)
		return AQ_ERR_INVAL;
	*ts = tz_days_from_date(date) * 86400 + h * 3600 + mi * 60 + sec -
	    sign * (oh * 3600 + om * 60);
	return AQ_OK;
}

int
tz_parse_date(const char *s, int32_t *yyyymmdd)
{
	const char *p = s;
	int y, m, d;
	int32_t date;

	if (parse_num(&p, 4, &y) || *p++ != '-' || parse_num(&p, 2, &m) ||
	    *p++ != '-' || parse_num(&p, 2, &d) || *p != '\0')
		return AQ_ERR_INVAL;
	date = y * 10000 + m * 100 + d;
	if (m < 1 || m > 12 || d < 1 ||
	    tz_date_from_days(tz_days_from_date(date)) != date)
		return AQ_ERR_INVAL;
	*yyyymmdd = date;
	return AQ_OK;
}

/* Days from civil date, after H. Hinnant's public-domain algorithm
 * description (days_from_civil), written anew here. */
int64_t
tz_days_from_date(int32_t yyyymmdd)
{
	int64_t y = yyyymmdd / 10000, m = yyyymmdd / 100 % 100,
		d = yyyymmdd % 100;
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int32_t
tz_date_from_days(int64_t days)
{
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = yoe + era * 400;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t d = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;

	y += m <= 2;
	return (int32_t)(y * 10000 + m * 100 + d);
}
