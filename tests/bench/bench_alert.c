/*
 * bench_alert: the cost of rule evaluation per cell-hour with 20 rules
 * (issue #4).  A grid of 2500 cells in 5 areas gets 24 hours of published
 * cell views whose PM2.5, O3 and AQI wander across the rules' thresholds,
 * so alerts open, fire and resolve; every view goes through
 * alert_engine_cell() and every hour ends with alert_engine_tick().  No
 * store: this is the evaluation alone.  Prints the median over runs; with
 * --callgrind runs one fixed pass for `valgrind --tool=callgrind
 * --toggle-collect=alert_engine_cell` and prints the cell-hours.
 */
#include "alerts/alert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/fix.h"

#define ROWS 50
#define COLS 50
#define HOURS 24
#define RUNS 5
#define T0 1796000000

static unsigned long notices;

static double now_s(void);
static void on_notice(void *ctx, const struct notice *n);
static long run(struct conf *c, struct rule_set *rs, double *secs);
static int cmp(const void *a, const void *b);

static const char *const rules_text =
    "[rule r1]\nwhen = pm25_1h > 75\nclear = 60\n"
    "[rule r2]\nwhen = pm25_24h > 60\nclear = 55\nfor = 1h\n"
    "[rule r3]\nwhen = pm10_1h > 150\n"
    "[rule r4]\nwhen = pm10_24h > 120\n"
    "[rule r5]\nwhen = o3_1h > 200\nclear = 190\n"
    "[rule r6]\nwhen = o3_8h > 160\nclear = 150\nfor = 1h\n"
    "[rule r7]\nwhen = aqi > 200\nclear = 180\n"
    "[rule r8]\nwhen = aqi > 300\nclear = 280\nseverity = critical\n"
    "[rule r9]\nwhen = level >= 4\n"
    "[rule r10]\nwhen = exceeds.pm25_24h == 1\n"
    "[rule r11]\nwhen = no2_1h > 200\n"
    "[rule r12]\nwhen = so2_1h > 500\n"
    "[rule r13]\nwhen = co_1h > 10\n"
    "[rule r14]\nwhen = day.pm25_24h > 60\n"
    "[rule r15]\nwhen = o3_mda8 > 160\n"
    "[rule r16]\nwhen = day.aqi > 150\n"
    "[rule r17]\nwhen = offline == 1\nfor = 30m\n"
    "[rule r18]\nwhen = pm25_1h > 100\nscope = area\n"
    "[rule r19]\nwhen = aqi > 150\nscope = area\naggregate = mean\n"
    "[rule r20]\nwhen = pm25_1h > 150\nscope = grid\n"
    "[inhibit i]\nsource = rule=r8\ntarget = rule=r7\nequal = cell\n";

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
on_notice(void *ctx, const struct notice *n)
{
	(void)ctx;
	notices += n->nalerts;
}

static int
decoder(const char *name)
{
	return strcmp(name, "json") == 0 ? 0 : -1;
}

/* One pass: 24 hours of every cell.  Returns the cell-hours. */
static long
run(struct conf *c, struct rule_set *rs, double *secs)
{
	struct alert_engine *e =
	    alert_engine_new(c, rs, NULL, NULL, on_notice, NULL);
	struct cell_view v;
	long n = 0;
	double t;

	if (e == NULL)
		exit(1);
	t = now_s();
	for (int h = 0; h < HOURS; h++) {
		for (uint32_t k = 0; k < c->ncells; k++) {
			/* A deterministic wander, some cells over the
			 * thresholds part of the day. */
			int64_t pm =
			    30 + (int64_t)((k * 7 + (uint32_t)h * 13) % 90);

			memset(&v, 0, sizeof(v));
			v.cell = k;
			v.hour = h;
			v.hour_end = T0 + (int64_t)h * 3600;
			v.day = 20261129;
			v.stats.in.has = (IND_BIT(IND_O3_8H) << 1) - 1;
			for (int i = 0; i < IND_AQI_COUNT; i++)
				v.stats.in.v[i] = pm * FIX_ONE;
			v.stats.in.v[IND_O3_1H] = (pm * 3) * FIX_ONE;
			v.stats.in.v[IND_CO_1H] = FIX_ONE;
			v.aqi.aqi = (int)(pm * 3);
			v.aqi.level = v.aqi.aqi > 300 ? 6 : v.aqi.aqi / 50 + 1;
			v.exceeds = pm > 60 ? IND_BIT(IND_PM25_24H) : 0;
			v.day_stats.in.has = v.stats.in.has;
			memcpy(v.day_stats.in.v, v.stats.in.v,
			    sizeof(v.stats.in.v));
			v.day_aqi.aqi = 120;
			(void)alert_engine_cell(e, &v, k % 97 == 0 && h > 20,
			    T0 + 100000 + h * 3600);
			n++;
		}
		(void)alert_engine_tick(e, T0 + 100000 + h * 3600 + 60);
	}
	*secs = now_s() - t;
	alert_engine_free(e);
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
	char path[] = "/tmp/aqgrid-bench-alert.XXXXXX";
	struct conf *c = NULL;
	struct rule_set *rs = NULL;
	double secs[RUNS];
	long n = 0;
	int fd;
	FILE *f;

	if ((fd = mkstemp(path)) < 0 || (f = fdopen(fd, "w")) == NULL)
		return 1;
	fprintf(f,
	    "[mqtt]\nsubscribe = a json 0\n[grid]\nrows = %d\ncols = %d\n",
	    ROWS, COLS);
	for (int a = 0; a < 5; a++)
		fprintf(f, "[area a%d]\ncells = r%03dc000-r%03dc%03d\n", a,
		    a * 10, a * 10 + 9, COLS - 1);
	fputs(rules_text, f);
	fclose(f);
	if (conf_load(path, &hooks, &c, stderr) != AQ_OK ||
	    rule_set_load(c, &rs, stderr) != AQ_OK)
		return 1;
	unlink(path);
	if (argc > 1 && strcmp(argv[1], "--callgrind") == 0) {
		n = run(c, rs, &secs[0]);
		printf("callgrind pass: %ld cell-hours\n", n);
	} else {
		for (int k = 0; k < RUNS; k++)
			n = run(c, rs, &secs[k]);
		qsort(secs, RUNS, sizeof(secs[0]), cmp);
		printf("alerts: %.0f ns per cell-hour with %u rules "
		       "(median of %d runs, %ld cell-hours, %lu alert "
		       "notifications per run)\n",
		    secs[RUNS / 2] * 1e9 / (double)n, rs->nrules, RUNS, n,
		    notices / RUNS);
	}
	rule_set_free(rs);
	conf_free(c);
	return 0;
}
