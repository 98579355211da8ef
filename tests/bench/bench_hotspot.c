/*
 * bench_hotspot: the hourly hotspot computation (hotspot.h) on a grid of
 * 10,000 cells (100 x 100, 8 neighbours each) with wind everywhere and a
 * few plumes: the time of one hotspots_update() at a new hour -- the hour
 * before judged for good, the new one provisionally, the ranking -- median
 * over 48 hours after a day of warm-up.  --callgrind runs a
 * fixed pass and prints the updates made, for instruction counts.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/conf.h"
#include "daemon/hotspot.h"

enum { SIDE = 100, CELLS = SIDE * SIDE, WARM = 24, HOURS = 48 };

static double now(void);
static void feed(struct hotspots *h, int64_t hour);
static int cmp(const void *a, const void *b);

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One hour: a smooth field, the time of day, a fixed wobble, a plume at
 * every 1,000th cell, a wind turning through the day. */
static void
feed(struct hotspots *h, int64_t hour)
{
	double wd = fmod(15.0 * (double)hour, 360.0);

	for (uint32_t k = 0; k < CELLS; k++) {
		int r = (int)(k / SIDE), c = (int)(k % SIDE);
		double v = 40 + 10 * sin(r / 9.0) + 8 * cos(c / 7.0) +
		    15 * sin(6.283185307 * (double)(hour % 24) / 24) +
		    3 * sin(r * 7.1 + c * 3.3 + (double)hour * 1.9);

		if (k % 1000 == 500)
			v += 60;
		hotspots_value(h, k, hour, v);
		hotspots_wind(h, k, hour, 3.0, wd);
	}
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
	struct hotspot_conf hc;
	struct hotspots *h;
	struct conf g = {.rows = SIDE, .cols = SIDE};
	double ms[HOURS];
	struct hotspot top[8];
	int64_t at, h0 = 400000;
	uint32_t n = 0;
	int updates = 0;

	hotspots_defaults(&hc);
	if ((g.cells = calloc(CELLS, sizeof(*g.cells))) == NULL ||
	    (h = hotspots_new(CELLS, &hc)) == NULL)
		return 1;
	for (g.ncells = 0; g.ncells < CELLS; g.ncells++) {
		g.cells[g.ncells].row = (int32_t)(g.ncells / SIDE);
		g.cells[g.ncells].col = (int32_t)(g.ncells % SIDE);
	}
	for (uint32_t k = 0; k < CELLS; k++) {
		uint32_t nb[8], m = conf_cell_neighbours(&g, k, nb);

		hotspots_set_neighbours(h, k, nb, m);
	}
	/* Every update is counted: callgrind collects them all. */
	for (int64_t t = 0; t < WARM; t++) {
		feed(h, h0 + t);
		updates += hotspots_update(h) > 0;
	}
	if (argc > 1 && strcmp(argv[1], "--callgrind") == 0) {
		for (int64_t t = WARM; t < WARM + 8; t++) {
			feed(h, h0 + t);
			updates += hotspots_update(h) > 0;
		}
		printf("callgrind pass: %d updates\n", updates);
		hotspots_free(h);
		free(g.cells);
		return 0;
	}
	for (int64_t t = 0; t < HOURS; t++) {
		double t0;

		feed(h, h0 + WARM + t);
		t0 = now();
		hotspots_update(h);
		ms[t] = (now() - t0) * 1000;
	}
	n = hotspots_list(h, top, 8, &at);
	qsort(ms, HOURS, sizeof(ms[0]), cmp);
	printf("hotspots: %.2f ms per hourly update of %d cells (median of %d "
	       "hours; %u hotspots, first %s%u)\n",
	    ms[HOURS / 2], CELLS, HOURS, n, n > 0 ? "cell " : "none ",
	    n > 0 ? top[0].cell : 0);
	hotspots_free(h);
	free(g.cells);
	return 0;
}
