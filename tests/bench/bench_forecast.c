/*
 * bench_forecast: the forecast model's cost per cell-hour (fc_hour, which
 * learns and stores the hour, plus fc_predict of both pollutants for 72
 * hours).  Synthetic hours with weather and neighbours, so every feature is
 * live.  Prints the median over runs of ns per cell-hour; with --callgrind
 * runs one fixed pass for `valgrind --tool=callgrind
 * --toggle-collect=fc_cell_hour`.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/forecast.h"

#define CELLS 64
#define HOURS 2000
#define RUNS 5

void fc_cell_hour(struct fc_model *, int64_t, const struct fc_obs *);
static double now_ns(void);
static int cmp(const void *, const void *);
static long pass(void);

/* The unit measured: one hour into one cell's model, and its forecasts. */
void
fc_cell_hour(struct fc_model *m, int64_t h, const struct fc_obs *o)
{
	struct fc_point fp[FC_H];

	if (fc_hour(m, h, (int)(h % 24), o) != AQ_OK)
		abort();
	(void)fc_predict(m, FC_PM25, fp);
	(void)fc_predict(m, FC_O3, fp);
}

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static long
pass(void)
{
	static struct fc_model *m[CELLS];
	long n = 0;

	for (int c = 0; c < CELLS; c++)
		if ((m[c] = fc_new()) == NULL)
			abort();
	for (int64_t h = 0; h < HOURS; h++)
		for (int c = 0; c < CELLS; c++) {
			struct fc_obs o;
			double t = (double)h + 7 * c;

			fc_obs_clear(&o);
			o.v[FC_PM25] = 60 + 40 * sin(t / 17) + (h % 7);
			o.v[FC_O3] = 50 + 40 * sin(t / 24 * 6.283);
			o.nb[FC_PM25] = o.v[FC_PM25] * 1.1;
			o.nb[FC_O3] = o.v[FC_O3] * 0.9;
			o.temp = 10 + 8 * sin(t / 24 * 6.283);
			o.dewp = o.temp - 5;
			o.pres = 1010 + 5 * sin(t / 100);
			o.rain = 0;
			o.wspd = 2 + sin(t / 30);
			o.wdir = fmod(t * 3, 360);
			fc_cell_hour(m[c], h, &o);
			n++;
		}
	for (int c = 0; c < CELLS; c++)
		fc_free(m[c]);
	return n;
}

int
main(int argc, char **argv)
{
	double r[RUNS];
	long n = 0;

	if (argc > 1 && strcmp(argv[1], "--callgrind") == 0) {
		n = pass();
		printf("callgrind pass: %ld cell-hours\n", n);
		return 0;
	}
	for (int i = 0; i < RUNS; i++) {
		double t0 = now_ns();
		n = pass();
		r[i] = (now_ns() - t0) / (double)n;
	}
	qsort(r, RUNS, sizeof(*r), cmp);
	printf("forecast: %d cells x %d hours, %.2f us per cell-hour "
	       "(median of %d runs; learn + 72 h of PM2.5 and O3)\n",
	    CELLS, HOURS, r[RUNS / 2] / 1000, RUNS);
	return 0;
}
