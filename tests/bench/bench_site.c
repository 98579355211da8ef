/*
 * bench_site: the cost of the dust sites' status engine per site-hour.
 * 1,000 sites on a 100 x 100 grid (each with its 3 x 3 background block)
 * get 72 hours of minute readings of their monitors (60 a site-hour) and
 * the hourly PM10 views of every background cell, with local episodes so
 * that statuses change; every hour ends with site_engine_settle() and
 * site_engine_flush().  No store.  Prints the median over runs; with
 * --callgrind runs one pass for `valgrind --tool=callgrind
 * --toggle-collect=bench_pass` and prints the site-hours.
 */
#include "alerts/site.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/fix.h"

#define ROWS 100
#define COLS 100
#define SITES 1000
#define HOURS 72
#define RUNS 5
/* 2026-11-29T00:00:00+08:00 */
#define T0 INT64_C(1795968000)

static unsigned long notices, changes;
static uint64_t ids;

long bench_pass(
    struct site_engine *e, const struct conf *c, const struct tz *z);

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
on_notice(void *ctx, const struct notice *n)
{
	(void)ctx;
	notices += n->nalerts;
	return 0;
}

static uint64_t
next_id(void *ctx)
{
	(void)ctx;
	return ++ids;
}

static int
decoder(const char *name)
{
	return strcmp(name, "json") == 0 ? 0 : -1;
}

/* One pass of HOURS hours; returns the site-hours.  Not static: the
 * callgrind toggle names it. */
long
bench_pass(struct site_engine *e, const struct conf *c, const struct tz *z)
{
	struct cell_view v;
	long n = 0;

	for (int h = 0; h < HOURS; h++) {
		int64_t t = T0 + (int64_t)h * 3600;

		for (uint32_t s = 0; s < SITES; s++) {
			/* A local episode of 3 hours a day at some sites. */
			bool dusty = (s * 7 + (uint32_t)h / 24) % 5 == 0 &&
			    h % 24 >= 9 && h % 24 < 12;
			struct reading r = {.period = 60,
			    .has = (1u << POL_PM10) | (1u << POL_PM25)};

			for (int m = 0; m < 60; m++) {
				r.ts = t + m * 60;
				r.v[POL_PM10] = (dusty ? 420 : 80) + m % 7;
				r.v[POL_PM25] = r.v[POL_PM10] / 3;
				if (site_engine_reading(
					e, s, &r, NAN, t + 3600) != AQ_OK)
					exit(1);
			}
			n++;
		}
		memset(&v, 0, sizeof(v));
		v.hour = tz_hour(z, t);
		v.hour_end = t + 3600;
		v.stats.in.has = IND_BIT(IND_PM10_1H);
		for (uint32_t k = 0; k < c->ncells; k++) {
			v.cell = k;
			v.stats.in.v[IND_PM10_1H] =
			    (int64_t)(60 + (k + (uint32_t)h) % 20) * FIX_ONE;
			site_engine_view(e, &v, t + 3600);
		}
		site_engine_settle(e, t + 3600);
		changes += site_engine_pending(e);
		site_engine_flush(e, t + 3600, on_notice, next_id, NULL);
	}
	return n;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	static const struct conf_hooks hooks = {.decoder = decoder};
	char dir[] = "/tmp/aqgrid-bench-site.XXXXXX", path[128];
	struct conf *c = NULL;
	struct tz z;
	double us[RUNS];
	bool cg = argc > 1 && strcmp(argv[1], "--callgrind") == 0;
	int runs = cg ? 1 : RUNS;
	long n = 0;
	FILE *f;

	if (mkdtemp(dir) == NULL || tz_init(&z, "Asia/Shanghai") != AQ_OK)
		return 1;
	snprintf(path, sizeof(path), "%s/b.conf", dir);
	if ((f = fopen(path, "w")) == NULL)
		return 1;
	fprintf(f,
	    "[mqtt]\nsubscribe = aq/# json 1\n[grid]\n"
	    "origin = 40.0 116.0\nrows = %d\ncols = %d\n",
	    ROWS, COLS);
	for (int s = 0; s < SITES; s++)
		fprintf(f,
		    "[site s%d]\nkind = construction\ncell = r%03dc%03d\n"
		    "sensor = dust-%d\n",
		    s, (s * 37) % ROWS, (s * 53 + s / ROWS) % COLS, s);
	fclose(f);
	if (conf_load(path, &hooks, &c, stderr) != AQ_OK)
		return 1;
	for (int r = 0; r < runs; r++) {
		struct site_engine *e = site_engine_new(c, &z, NULL, stderr);
		double t;

		if (e == NULL)
			return 1;
		t = now_s();
		n = bench_pass(e, c, &z);
		us[r] = (now_s() - t) * 1e6 / (double)n;
		site_engine_free(e);
	}
	qsort(us, (size_t)runs, sizeof(us[0]), cmp);
	if (cg)
		printf("site-hours: %ld %ld\n", n, n);
	else
		printf("sites: %.2f us per site-hour (60 readings, the "
		       "background views, judgement and notices; median of "
		       "%d runs, %ld site-hours each; %lu status changes)\n",
		    us[runs / 2], runs, n, changes / (unsigned long)runs);
	conf_free(c);
	unlink(path);
	rmdir(dir);
	return 0;
}
