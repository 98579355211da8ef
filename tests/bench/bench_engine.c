/*
 * bench_engine: the engine's reading-update rate on one core and its memory
 * per cell.  Readings of six pollutants arrive in event-time order, one per
 * sensor per minute, across a grid of cells with two sensors each.  Prints
 * the median over several runs; with --callgrind runs one fixed pass for
 * `valgrind --tool=callgrind --toggle-collect=win_update`.
 * Allocation calls made by the engine during the update loop are counted
 * through the linker's --wrap, so "no allocation" is measured, not assumed.
 */
#include "daemon/win.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);

static unsigned long allocs;

void *
__wrap_malloc(size_t n)
{
	allocs++;
	return __real_malloc(n);
}

void *
__wrap_calloc(size_t n, size_t m)
{
	allocs++;
	return __real_calloc(n, m);
}

void *
__wrap_realloc(void *p, size_t n)
{
	allocs++;
	return __real_realloc(p, n);
}

static double now(void);
static struct win *grid(uint32_t cells, uint32_t sensors);
static long run(
    struct win *w, uint32_t sensors, int minutes, int64_t t0, double *secs);
static int cmp(const void *a, const void *b);
static long rss_kib(void);

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct win *
grid(uint32_t cells, uint32_t sensors)
{
	struct win_conf conf = {.tz = "Asia/Shanghai",
	    .lateness = 7200,
	    .cells_max = cells,
	    .sensors_max = sensors,
	    .limits = {LIMITS_GB3095_2026, 2}};
	struct win *w = win_new(&conf);
	char id[32];
	uint32_t c, s;

	if (w == NULL)
		exit(1);
	for (uint32_t i = 0; i < cells; i++) {
		snprintf(id, sizeof(id), "r%03uc%03u", i / 1000, i % 1000);
		if (win_add_cell(w, id, &c) != AQ_OK)
			exit(1);
	}
	for (uint32_t i = 0; i < sensors; i++) {
		snprintf(id, sizeof(id), "s%05u", i);
		if (win_add_sensor(w, id, i % cells, &s) != AQ_OK)
			exit(1);
	}
	return w;
}

/* Feeds `minutes` minutes of readings from t0; returns the count. */
static long
run(struct win *w, uint32_t sensors, int minutes, int64_t t0, double *secs)
{
	struct reading r = {.period = 60, .has = (1u << POL_COUNT) - 1};
	long n = 0;
	double start = now();

	for (int m = 0; m < minutes; m++) {
		r.ts = t0 + m * 60;
		for (uint32_t s = 0; s < sensors; s++) {
			double base =
			    20.0 + (double)((s * 7 + (uint32_t)m) % 50);

			r.v[POL_PM25] = base;
			r.v[POL_PM10] = base * 1.6;
			r.v[POL_SO2] = 6.0;
			r.v[POL_NO2] = base * 0.8;
			r.v[POL_CO] = 0.7;
			r.v[POL_O3] = 120.0 - base;
			if (win_update(w, s, &r) == AQ_OK)
				n++;
		}
	}
	*secs = now() - start;
	return n;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static long
rss_kib(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL)
		return -1;
	if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident * 4;
}

int
main(int argc, char **argv)
{
	enum { RUNS = 7, CELLS = 10000, SENSORS = 20000, MINUTES = 120 };
	const int64_t t0 = 1795881600; /* 2026-11-29 00:00 +08:00 */
	double rates[RUNS], secs;
	struct win *w;
	long n, before, after;
	unsigned long a0;

	if (argc > 1 && strcmp(argv[1], "--callgrind") == 0) {
		w = grid(1000, 2000);
		n = run(w, 2000, 30, t0, &secs);
		printf("callgrind pass: %ld readings\n", n);
		win_free(w);
		return 0;
	}
	for (int i = 0; i < RUNS; i++) {
		w = grid(CELLS, SENSORS);
		a0 = allocs;
		n = run(w, SENSORS, MINUTES, t0, &secs);
		if (allocs != a0) {
			fprintf(stderr,
			    "bench: %lu allocations on the update "
			    "path\n",
			    allocs - a0);
			return 1;
		}
		rates[i] = (double)n / secs;
		win_free(w);
	}
	qsort(rates, RUNS, sizeof(rates[0]), cmp);
	printf("engine: %d cells, %d sensors, readings of 6 pollutants\n",
	    CELLS, SENSORS);
	printf("engine: update rate median %.2f M readings/s "
	       "(min %.2f, max %.2f, %d runs, one core), "
	       "0 allocations on the update path\n",
	    rates[RUNS / 2] / 1e6, rates[0] / 1e6, rates[RUNS - 1] / 1e6, RUNS);

	before = rss_kib();
	w = grid(CELLS, SENSORS);
	/* 25 simulated hours touch every window and every sensor slot. */
	n = run(w, SENSORS, 25 * 60, t0, &secs);
	after = rss_kib();
	printf("engine: %zu bytes per cell, %zu bytes per sensor "
	       "(lateness 2 h); RSS for %d cells + %d sensors after 25 h: "
	       "%ld KiB (%ld readings)\n",
	    win_cell_bytes(w), win_sensor_bytes(w), CELLS, SENSORS,
	    after - before, n);
	win_free(w);
	return 0;
}
