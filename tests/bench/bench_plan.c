/*
 * bench_plan: how long GET /api/v1/indicators takes to read and summarise
 * a store of DAYS days x ROWS x COLS cells (400 x 100 x 100 by default:
 * the retention of a year to date and more, on a 10,000-cell grid), for
 * the whole grid and for an area of 100 cells: plan_read() (one scan of
 * the daily table, the days formed) plus plan_compute().  Fills the store
 * through store_put_day() first (not timed).  Prints the median of RUNS
 * runs of each.
 *
 *   bench_plan [DAYS [ROWS COLS]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/conf.h"
#include "daemon/fix.h"
#include "daemon/plan.h"
#include "daemon/store.h"
#include "daemon/tz.h"

#define RUNS 5

static int decoder(const char *name);
static double now_s(void);
static int cmp_d(const void *a, const void *b);
static void fill_day(
    struct store *s, const struct conf *c, int32_t date, int k);
static double cached(struct plan_cache *pc, struct store *s,
    const struct conf *c, int64_t area, int32_t from, int32_t to);
static double median_run(struct store *s, const struct conf *c, int64_t area,
    int32_t from, int32_t to, size_t *ndays);

/* The one decoder the configuration names. */
static int
decoder(const char *name)
{
	return strcmp(name, "json") == 0 ? 0 : -1;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The rows of every cell on date, the k-th day: values that vary. */
static void
fill_day(struct store *s, const struct conf *c, int32_t date, int k)
{
	struct store_day d;

	memset(&d, 0, sizeof(d));
	d.date = date;
	for (uint32_t cell = 0; cell < c->ncells; cell++) {
		snprintf(d.cell, sizeof(d.cell), "%s", c->cells[cell].id);
		d.aqi = (int)((cell * 7 + (uint32_t)k * 13) % 180);
		d.level = 1;
		d.has = 0;
		for (int i = 0; i < IND_AQI_COUNT; i++) {
			d.v[i] = (int64_t)((cell + (uint32_t)k * 3 +
					       (uint32_t)i * 11) %
				     150) *
			    FIX_ONE;
			d.n[i] = 24;
			d.has |= IND_BIT(i);
		}
		while (store_put_day(s, &d) == AQ_ERR_FULL)
			if (store_flush(s) != AQ_OK)
				exit(1);
	}
}

/* One plan_cache_read() and plan_compute(), timed. */
static double
cached(struct plan_cache *pc, struct store *s, const struct conf *c,
    int64_t area, int32_t from, int32_t to)
{
	struct plan_day *days = NULL;
	struct plan_result r;
	size_t n;
	double t0 = now_s();

	if (plan_cache_read(pc, s, c, area, from, to, &days, &n) != AQ_OK ||
	    plan_compute(days, n, from, to, &r) != AQ_OK) {
		fprintf(stderr, "bench_plan: plan_cache_read failed\n");
		exit(1);
	}
	free(days);
	return now_s() - t0;
}

static double
median_run(struct store *s, const struct conf *c, int64_t area, int32_t from,
    int32_t to, size_t *ndays)
{
	double t[RUNS];

	for (int k = 0; k < RUNS; k++) {
		struct plan_day *days = NULL;
		struct plan_result r;
		double t0 = now_s();

		if (plan_read(s, c, area, from, to, &days, ndays) != AQ_OK ||
		    plan_compute(days, *ndays, from, to, &r) != AQ_OK) {
			fprintf(stderr, "bench_plan: plan_read failed\n");
			exit(1);
		}
		t[k] = now_s() - t0;
		free(days);
	}
	qsort(t, RUNS, sizeof(t[0]), cmp_d);
	return t[RUNS / 2];
}

int
main(int argc, char **argv)
{
	int ndays = argc > 1 ? atoi(argv[1]) : 400;
	int rows = argc > 3 ? atoi(argv[2]) : 100;
	int cols = argc > 3 ? atoi(argv[3]) : 100;
	char dir[] = "/tmp/bench_plan.XXXXXX", path[128], cpath[128];
	char msg[512];
	struct store *s = NULL;
	struct conf *c = NULL;
	const struct conf_hooks hooks = {.decoder = decoder};
	int32_t from = 20250101, to;
	size_t n = 0;
	double t0, fill, grid, area;
	FILE *f;

	if (ndays < 1 || ndays > PLAN_DAYS_MAX || rows < 10 || cols < 10 ||
	    mkdtemp(dir) == NULL)
		return 2;
	to = tz_date_from_days(tz_days_from_date(from) + ndays - 1);
	snprintf(cpath, sizeof(cpath), "%s/b.conf", dir);
	snprintf(path, sizeof(path), "%s/aqgrid.db", dir);
	if ((f = fopen(cpath, "w")) == NULL)
		return 1;
	fprintf(f,
	    "[mqtt]\nsubscribe = aq/+ json 0\n"
	    "[grid]\norigin = 40.0 116.0\ncell_size = 1000\nrows = %d\n"
	    "cols = %d\n[area a]\nname = a\nname_en = A\n"
	    "cells = r000c000-r009c009\n",
	    rows, cols);
	fclose(f);
	if (conf_load(cpath, &hooks, &c, stderr) != AQ_OK ||
	    store_open(path, 262144, &s, msg, sizeof(msg)) != AQ_OK) {
		fprintf(stderr, "bench_plan: %s\n", msg);
		return 1;
	}
	t0 = now_s();
	for (int k = 0; k < ndays; k++)
		fill_day(
		    s, c, tz_date_from_days(tz_days_from_date(from) + k), k);
	if (store_flush(s) != AQ_OK)
		return 1;
	fill = now_s() - t0;
	grid = median_run(s, c, -1, from, to, &n);
	printf("plan: %d days x %u cells (%.0f s to fill): whole grid %.3f s "
	       "(%zu days formed)",
	    ndays, c->ncells, fill, grid, n);
	area = median_run(s, c, 0, from, to, &n);
	printf(", area of %u cells %.3f s; medians of %d\n", c->areas[0].ncells,
	    area, RUNS);
	/* The API's cache: the first request scans once for every area, the
	 * next ones read the slots; a new day re-reads that day only. */
	{
		struct plan_cache *pc = plan_cache_new();
		double cold, warm[RUNS], next;
		int32_t next_day = tz_date_from_days(tz_days_from_date(to) + 1);
		int32_t from2 = tz_date_from_days(tz_days_from_date(from) + 1);

		if (pc == NULL)
			return 1;
		cold = cached(pc, s, c, -1, from, to);
		for (int k = 0; k < RUNS; k++)
			warm[k] =
			    cached(pc, s, c, k % 2 == 0 ? -1 : 0, from, to);
		qsort(warm, RUNS, sizeof(warm[0]), cmp_d);
		fill_day(s, c, next_day, ndays);
		if (store_flush(s) != AQ_OK)
			return 1;
		next = cached(pc, s, c, -1, from2, next_day);
		printf("plan cache: first request %.3f s, then %.6f s (median "
		       "of %d, grid and area), after a new day of %u rows "
		       "%.3f s\n",
		    cold, warm[RUNS / 2], RUNS, c->ncells, next);
		plan_cache_free(pc);
	}
	store_close(s);
	conf_free(c);
	unlink(path);
	snprintf(path, sizeof(path), "%s/aqgrid.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/aqgrid.db-shm", dir);
	unlink(path);
	unlink(cpath);
	rmdir(dir);
	return 0;
}
