/*
 * bench_ingest: the daemon's per-message cost in process -- decode, quality
 * control, placement and engine update of a 160-byte native JSON payload
 * (ingest_apply) -- on a grid of 10,000 cells with 20,000 sensors, and the
 * resident memory of that state after 25 simulated hours.  Medians over
 * several runs; --callgrind runs one fixed pass for instruction counts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/conf.h"
#include "daemon/state.h"
#include "sensors/decode.h"
#include "sensors/ingest.h"

enum { CELLS_SIDE = 100, SENSORS = 20000, RUNS = 5 };

static double now(void);
static int decoder_hook(const char *name);
static struct state *make_state(void);
static long feed(struct state *st, const struct qc_conf *qc, int64_t t0,
    int steps, int step_s, double *secs);
static long rss_kib(void);
static int cmp(const void *a, const void *b);

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
decoder_hook(const char *name)
{
	return decoder_from_name(name);
}

static struct state *
make_state(void)
{
	static const char *names[DECODER_COUNT];
	const struct conf_hooks hooks = {.decoder = decoder_hook};
	char path[] = "/tmp/aqgrid-bench-XXXXXX";
	struct conf *c = NULL;
	FILE *f;
	int fd = mkstemp(path);

	for (int d = 0; d < DECODER_COUNT; d++)
		names[d] = decoder_name((enum decoder)d);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL)
		exit(1);
	fprintf(f,
	    "[mqtt]\nsubscribe = aq/# json 1\n[ingest]\n"
	    "check_future = no\nsensors_max = %d\n[grid]\n"
	    "origin = 40 116\nrows = %d\ncols = %d\n",
	    SENSORS, CELLS_SIDE, CELLS_SIDE);
	fclose(f);
	if (conf_load(path, &hooks, &c, stderr) != AQ_OK)
		exit(1);
	unlink(path);
	return state_new(c, names, DECODER_COUNT);
}

/* steps rounds of one reading per sensor, step_s seconds apart; only the
 * ingest_apply() calls are timed, not the making of the payloads. */
static long
feed(struct state *st, const struct qc_conf *qc, int64_t t0, int steps,
    int step_s, double *secs)
{
	static char payload[SENSORS][256];
	static int len[SENSORS];
	char topic[64];
	long n = 0;

	*secs = 0;
	for (int k = 0; k < steps; k++) {
		int64_t ts = t0 + (int64_t)k * step_s;
		double start;

		for (int s = 0; s < SENSORS; s++)
			len[s] = snprintf(payload[s], sizeof(payload[s]),
			    "{\"sensor\":\"s%05d\",\"ts\":%lld,\"period\":%d,"
			    "\"cell\":\"r%03dc%03d\",\"pm25\":%d.4,\"pm10\":%d,"
			    "\"o3\":%d,\"no2\":21,\"so2\":5,\"co\":0.6,"
			    "\"temp\":12.5,\"rh\":80}",
			    s, (long long)ts, step_s, (s / 2) / CELLS_SIDE,
			    (s / 2) % CELLS_SIDE, 20 + (s + k) % 60,
			    40 + (s + k) % 90, 30 + (s * 7 + k) % 150);
		snprintf(topic, sizeof(topic), "aq/bench");
		start = now();
		for (int s = 0; s < SENSORS; s++) {
			n += ingest_apply(
			    st, qc, 0, topic, payload[s], (size_t)len[s], ts);
			if (s % 4096 == 0)
				state_publish(st);
		}
		state_publish(st);
		*secs += now() - start;
	}
	return n;
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
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
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
	const int64_t t0 = 1795881600; /* 2026-11-29 00:00 +08:00 */
	double ns[RUNS], secs;
	struct qc_conf qc;
	struct state *st;
	long n, before;

	decode_init();
	if (argc > 1 && strcmp(argv[1], "--callgrind") == 0) {
		st = make_state();
		ingest_qc_conf(state_conf(st), &qc);
		n = feed(st, &qc, t0, 3, 60, &secs);
		printf("callgrind pass: %ld readings\n", n);
		state_free(st);
		return 0;
	}
	for (int r = 0; r < RUNS; r++) {
		st = make_state();
		ingest_qc_conf(state_conf(st), &qc);
		n = feed(st, &qc, t0, 10, 60, &secs);
		if (n != 10L * SENSORS) {
			fprintf(stderr, "bench: %ld of %d readings applied\n",
			    n, 10 * SENSORS);
			return 1;
		}
		ns[r] = secs * 1e9 / (double)n;
		state_free(st);
	}
	qsort(ns, RUNS, sizeof(ns[0]), cmp);
	printf("ingest: decode + QC + engine per 160-byte native message: "
	       "median %.0f ns (min %.0f, max %.0f, %d runs)\n",
	    ns[RUNS / 2], ns[0], ns[RUNS - 1], RUNS);

	before = rss_kib();
	st = make_state();
	ingest_qc_conf(state_conf(st), &qc);
	/* 25 hours of 5-minute readings from every sensor. */
	n = feed(st, &qc, t0, 25 * 12, 300, &secs);
	printf("ingest: RSS of the state with %d cells and %d sensors after "
	       "25 simulated hours: %ld MiB (%ld readings, %.0f k/s)\n",
	    CELLS_SIDE * CELLS_SIDE, SENSORS, (rss_kib() - before) / 1024, n,
	    (double)n / secs / 1e3);
	state_free(st);
	return 0;
}
