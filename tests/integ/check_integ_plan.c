/*
 * check_integ_plan: the plan indicators end to end.  aqgrid-sim replays
 * the Beijing excerpt (tests/fixtures/replay: Dongsi in r000c000, Tiantan
 * in r000c001, 2013-12-30 .. 2014-01-01) through a real mosquitto into a
 * real aqgridd with a store; GET /api/v1/indicators and aqgrid indicators
 * must agree with each other and with the indicators this test computes
 * on its own from the CSV files: daily means (>= 20 hours), O3 MDA8 (8-hour
 * means of >= 6 hours, >= 14 windows ending 08:00 .. 24:00), an area's day
 * as the mean over its cells, GB 3095-2026 grade II daily limits copied
 * from STANDARDS.md, the percentile by its formula in doubles.  Only the
 * daily AQI of the means is taken from the library (aqi_compute, tested
 * on its own in check_aqi).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/aqi.h"
#include "daemon/fix.h"
#include "tests/harness.h"

#define FIXTURES "tests/fixtures/replay"
#define NST 2
#define NDAYS 3
/* 2013-12-30T00:00:00+08:00, the excerpt's first hour. */
#define T0 1388332800
#define MAX_ARGS 32

static const char *const files[NST] = {FIXTURES "/beijing-excerpt-dongsi.csv",
    FIXTURES "/beijing-excerpt-tiantan.csv"};
static const char *const sensors[NST] = {"st-dongsi", "st-tiantan"};
static const char *const cells[NST] = {"r000c000", "r000c001"};
static const char *const dates[NDAYS] = {
    "2013-12-30", "2013-12-31", "2014-01-01"};
/* CSV columns PM2.5 PM10 SO2 NO2 CO O3 (5..10), as enum pol orders them;
 * CO in ug/m3 there. */
static const char *const pols[POL_COUNT] = {
    "pm25", "pm10", "so2", "no2", "co", "o3"};
/* GB 3095-2026 transition limits, grade II, daily (O3: MDA8). */
static const double daily_limit[POL_COUNT] = {60, 120, 150, 80, 4, 160};

/* One station's hourly values: [day][hour][pollutant], NAN when NA. */
static double hourly[NST][NDAYS][24][POL_COUNT];

/* What the test expects of one area (a set of stations). */
struct expect {
	int valid_days, good_days, data_days;
	double pm25_mean, o3_p90;
	int pm25_days, o3_days;
	int exceed[POL_COUNT], stat_days[POL_COUNT], exceed_any;
};

struct run {
	int status;
	char *out, *err;
};

static void read_csv(int st);
static bool station_day(int st, int d, int p, double *out);
static void expect_for(const bool *member, struct expect *e);
static double percentile(double *v, int n, double p);
static int cmp_dbl(const void *a, const void *b);
static void run_prog(
    struct run *r, const char *prog, bool wrap, const char *const *args);
static char *slurp(const char *path);
static void check_answer(json_t *j, const struct expect *e);
static void write_conf(struct h_daemon *d, int mqtt_port, const char *store);

static void
read_csv(int st)
{
	FILE *f = fopen(files[st], "r");
	char line[1024];
	int rows = 0;

	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f)); /* header */
	while (fgets(line, sizeof(line), f) != NULL) {
		char *fld[20], *save = NULL;
		int n = 0, day, hour;

		for (char *t = strtok_r(line, ",", &save); t != NULL && n < 20;
		     t = strtok_r(NULL, ",", &save))
			fld[n++] = t;
		ck_assert_int_ge(n, 11);
		day = atoi(fld[3]) == 30 ? 0 : atoi(fld[3]) == 31 ? 1 : 2;
		hour = atoi(fld[4]);
		for (int p = 0; p < POL_COUNT; p++) {
			double v = strcmp(fld[5 + p], "NA") == 0
			    ? NAN
			    : strtod(fld[5 + p], NULL);

			hourly[st][day][hour][p] = p == POL_CO ? v / 1000 : v;
		}
		rows++;
	}
	fclose(f);
	ck_assert_int_eq(rows, NDAYS * 24);
}

/* A station's daily statistic of pollutant p on day d: the daily mean
 * (>= 20 hours), for O3 the MDA8; false when not valid.  The replay's
 * hour H of a day is the hour labelled H+1, so the day's hours are the
 * CSV's 0..23 and its 8-hour windows are CSV hours j..j+7, j = 0..16. */
static bool
station_day(int st, int d, int p, double *out)
{
	double sum = 0, best = -1;
	int n = 0, windows = 0;

	if (p != POL_O3) {
		for (int h = 0; h < 24; h++)
			if (!isnan(hourly[st][d][h][p])) {
				sum += hourly[st][d][h][p];
				n++;
			}
		*out = n > 0 ? sum / n : 0;
		return n >= 20;
	}
	for (int j = 0; j <= 16; j++) {
		sum = 0;
		n = 0;
		for (int h = j; h < j + 8; h++)
			if (!isnan(hourly[st][d][h][p])) {
				sum += hourly[st][d][h][p];
				n++;
			}
		if (n < 6)
			continue;
		windows++;
		if (sum / n > best)
			best = sum / n;
	}
	*out = best;
	return windows >= 14 || (windows > 0 && best > daily_limit[POL_O3]);
}

static void
expect_for(const bool *member, struct expect *e)
{
	double pm[NDAYS], o3[NDAYS], pm_sum = 0;

	memset(e, 0, sizeof(*e));
	for (int d = 0; d < NDAYS; d++) {
		struct aqi_opts o = {
		    .std = AQI_HJ633_2026, .report = AQI_DAILY};
		struct aqi_input in;
		struct aqi_result r;
		bool any = false;

		memset(&in, 0, sizeof(in));
		for (int p = 0; p < POL_COUNT; p++) {
			double sum = 0, v, mean;
			int n = 0;
			enum ind i = p == POL_O3 ? IND_O3_8H
			    : p == POL_PM25      ? IND_PM25_24H
			    : p == POL_PM10      ? IND_PM10_24H
			    : p == POL_SO2       ? IND_SO2_24H
			    : p == POL_NO2       ? IND_NO2_24H
						 : IND_CO_24H;

			in.unit[i] = p == POL_CO ? UNIT_MGM3 : UNIT_UGM3;
			for (int st = 0; st < NST; st++)
				if (member[st] && station_day(st, d, p, &v)) {
					sum += v;
					n++;
				}
			if (n == 0)
				continue;
			mean = sum / n;
			any = true;
			ck_assert_int_eq(
			    fix_from_double(mean, &in.v[i]), AQ_OK);
			in.has |= IND_BIT(i);
			e->stat_days[p]++;
			if (mean > daily_limit[p])
				e->exceed[p]++;
			if (p == POL_PM25) {
				pm[e->pm25_days++] = mean;
				pm_sum += mean;
			}
			if (p == POL_O3)
				o3[e->o3_days++] = mean;
		}
		for (int p = 0; p < POL_COUNT; p++) {
			double v, sum = 0;
			int n = 0;

			for (int st = 0; st < NST; st++)
				if (member[st] && station_day(st, d, p, &v)) {
					sum += v;
					n++;
				}
			if (n > 0 && sum / n > daily_limit[p]) {
				e->exceed_any++;
				break;
			}
		}
		e->data_days += any ? 1 : 0;
		ck_assert_int_eq(aqi_compute(&o, &in, &r), AQ_OK);
		if (r.aqi >= 0) {
			e->valid_days++;
			e->good_days += r.aqi <= 100 ? 1 : 0;
		}
	}
	(void)pm;
	e->pm25_mean = e->pm25_days > 0 ? pm_sum / e->pm25_days : NAN;
	e->o3_p90 = e->o3_days > 0 ? percentile(o3, e->o3_days, 90) : NAN;
}

static int
cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* STANDARDS.md section 2: k = 1 + (n - 1) p / 100, s = floor(k). */
static double
percentile(double *v, int n, double p)
{
	double k = 1 + (n - 1) * p / 100;
	int s = (int)floor(k);

	qsort(v, (size_t)n, sizeof(*v), cmp_dbl);
	if (s >= n)
		return v[n - 1];
	return v[s - 1] + (k - s) * (v[s] - v[s - 1]);
}

static void
run_prog(struct run *r, const char *prog, bool wrap, const char *const *args)
{
	static int seq;
	const char *w = getenv("AQ_WRAP");
	char *wbuf = strdup(wrap && w != NULL ? w : ""), *save = NULL;
	const char *argv[MAX_ARGS];
	char out[300], err[300];
	int argc = 0, st;
	pid_t pid;

	ck_assert_ptr_nonnull(wbuf);
	for (char *t = strtok_r(wbuf, " ", &save); t != NULL;
	     t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	argv[argc++] = prog;
	for (int k = 0; args[k] != NULL; k++) {
		ck_assert_int_lt(argc, MAX_ARGS - 1);
		argv[argc++] = args[k];
	}
	argv[argc] = NULL;
	seq++;
	snprintf(out, sizeof(out), "%s/plan-%d.out", h_tmpdir(), seq);
	snprintf(err, sizeof(err), "%s/plan-%d.err", h_tmpdir(), seq);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
			_exit(126);
		execvp(argv[0], (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		ck_assert_int_eq(errno, EINTR);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r->out = slurp(out);
	r->err = slurp(err);
	free(wbuf);
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *s;
	long n;

	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	ck_assert_ptr_nonnull(s = malloc((size_t)n + 1));
	ck_assert_int_eq(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = '\0';
	fclose(f);
	return s;
}

#define NUM(o, k) json_number_value(json_object_get(o, k))
#define INT(o, k) json_integer_value(json_object_get(o, k))

static void
check_answer(json_t *j, const struct expect *e)
{
	json_t *g = json_object_get(j, "good_days");
	json_t *pm = json_object_get(j, "pm25");
	json_t *o3 = json_object_get(j, "o3_8h_p90");
	json_t *ex = json_object_get(j, "exceedances");

	ck_assert_str_eq(
	    json_string_value(json_object_get(j, "from")), "2013-12-30");
	ck_assert_str_eq(
	    json_string_value(json_object_get(j, "to")), "2014-01-01");
	ck_assert_int_eq(INT(j, "days"), NDAYS);
	ck_assert_int_eq(INT(j, "data_days"), e->data_days);
	ck_assert_int_eq(INT(g, "valid"), e->valid_days);
	ck_assert_int_eq(INT(g, "good"), e->good_days);
	ck_assert(fabs(NUM(g, "ratio") - 100.0 * e->good_days / e->valid_days) <
	    1e-6);
	/* Targets from [plan]: good_days = 50, pm25 = 35. */
	ck_assert(NUM(g, "target") == 50);
	ck_assert(json_is_true(json_object_get(g, "meets_target")) ==
	    (e->good_days * 100 >= 50 * e->valid_days));
	ck_assert_msg(fabs(NUM(pm, "value") - e->pm25_mean) < 0.001,
	    "PM2.5 mean %g, expected %g", NUM(pm, "value"), e->pm25_mean);
	ck_assert(json_is_true(json_object_get(pm, "meets_target")) ==
	    (e->pm25_mean <= 35));
	ck_assert(NUM(pm, "limit") == 30);
	ck_assert(json_is_true(json_object_get(pm, "exceeds_limit")) ==
	    (e->pm25_mean > 30));
	ck_assert_int_eq(
	    INT(json_object_get(pm, "validity"), "days"), e->pm25_days);
	/* Two days of December 2013 need 2, one of January 2014 needs 1. */
	ck_assert_int_eq(INT(json_object_get(pm, "validity"), "need"), 3);
	ck_assert_int_eq(INT(json_object_get(pm, "validity"), "months"), 2);
	ck_assert(json_is_true(json_object_get(json_object_get(pm, "validity"),
		      "valid")) == (e->pm25_days == 3));
	ck_assert_msg(fabs(NUM(o3, "value") - e->o3_p90) < 0.001,
	    "O3 p90 %g, expected %g", NUM(o3, "value"), e->o3_p90);
	ck_assert(NUM(o3, "limit") == 160);
	for (int p = 0; p < POL_COUNT; p++) {
		json_t *x = json_object_get(ex, pols[p]);

		ck_assert_ptr_nonnull(x);
		ck_assert_int_eq(INT(x, "days"), e->exceed[p]);
		ck_assert_int_eq(INT(x, "valid_days"), e->stat_days[p]);
		ck_assert(NUM(x, "limit") == daily_limit[p]);
	}
	ck_assert_int_eq(INT(j, "exceedance_days"), e->exceed_any);
}

static void
write_conf(struct h_daemon *d, int mqtt_port, const char *store)
{
	FILE *f;

	snprintf(d->conf, sizeof(d->conf), "%s/plan.conf", h_tmpdir());
	ck_assert_ptr_nonnull(f = fopen(d->conf, "w"));
	fprintf(f,
	    "[mqtt]\nhost = 127.0.0.1\nport = %d\nclient_id = plan\n"
	    "backoff_min = 1\nbackoff_max = 1\n"
	    "subscribe = aq/plan/# json 1\n"
	    "[http]\nlisten = 127.0.0.1:0\nweb_root = web\nthreads = 2\n"
	    "[standards]\ntimezone = Asia/Shanghai\n"
	    "[ingest]\ncheck_future = no\n"
	    "[grid]\norigin = 40.0 116.0\ncell_size = 1000\nrows = 1\n"
	    "cols = 3\n"
	    "[area east]\nname = 东\nname_en = East\ncells = r000c000\n"
	    "[store]\ndir = %s\nretention_days = 36600\n"
	    "[plan]\ngood_days = 50\npm25 = 35\n"
	    /* The test counts every reading of the excerpt; fault detection,
	     * which keeps some out (Tiantan's O3 of 1 three hours running on
	     * 2013-12-30), is checked on its own. */
	    "[faults]\ndetect = no\n",
	    mqtt_port, store);
	fclose(f);
}

START_TEST(test_replay_indicators)
{
	struct h_proc broker;
	struct h_daemon d;
	struct mosquitto *m;
	struct run r;
	struct expect grid, east;
	char store[600], port[16], url[64];
	const bool all[NST] = {true, true}, first[NST] = {true, false};
	const char *sim[] = {"-p", port, "-t", "aq/plan", "replay", "--from",
	    NULL, "--to", NULL, files[0], files[1], NULL};
	const char *cli_json[] = {"indicators", "--url", url, "--from",
	    dates[0], "--to", dates[2], "--json", NULL};
	const char *cli_area[] = {"indicators", "--url", url, "--area", "east",
	    "--from", dates[0], "--to", dates[2], NULL};
	const char *path = "/api/v1/indicators?from=2013-12-30&to=2014-01-01";
	json_t *j = NULL, *c;
	json_error_t je;
	long code = 0;
	int mport = 0;
	long long t0 = h_ms();

	for (int st = 0; st < NST; st++)
		read_csv(st);
	expect_for(all, &grid);
	expect_for(first, &east);
	/* The data have what the test means to check. */
	ck_assert_int_eq(grid.valid_days, NDAYS);
	ck_assert_int_gt(grid.exceed_any, 0);

	h_broker_start(&broker, &mport);
	snprintf(store, sizeof(store), "%s/plan-store", h_tmpdir());
	write_conf(&d, mport, store);
	h_daemon_start(&d, "plan-daemon.log");
	snprintf(port, sizeof(port), "%d", mport);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", d.http);
	/* All three days in one replay, as fast as the simulator sends:
	 * a cell's 72 hours may reach the engine before one publication,
	 * and not one of their rows may be lost for it. */
	sim[6] = dates[0];
	sim[8] = dates[NDAYS - 1];
	run_prog(&r, h_bin("AQGRID_SIM", "build/aqgrid-sim"), false, sim);
	ck_assert_msg(r.status == 0, "aqgrid-sim: %s", r.err);
	free(r.out);
	free(r.err);
	ck_assert(h_status_wait(&d, "readings.accepted", NDAYS * 24 * NST, 20));
	/* A reading of the next day's first hour closes 2014-01-01. */
	m = h_mqtt(mport, "plan-close");
	for (int st = 0; st < NST; st++) {
		char topic[64];

		snprintf(topic, sizeof(topic), "aq/plan/%s/%s", cells[st],
		    sensors[st]);
		h_publishf(m, topic,
		    "{\"ts\":%d,\"period\":3600,\"sensor\":\"%s\","
		    "\"cell\":\"%s\",\"pm25\":10}",
		    T0 + NDAYS * 24 * 3600, sensors[st], cells[st]);
	}
	h_mqtt_close(m);
	/* The store's writer commits in the background: wait for both
	 * cells' last day (an answer in between is formed from what is
	 * committed, and is read again once the rest is). */
	for (int st = 0; st < NST; st++) {
		char p[128];
		long long n = 0;

		snprintf(p, sizeof(p),
		    "/api/v1/cells/%s/daily?from=2014-01-01&to=2014-01-01",
		    cells[st]);
		do {
			json_decref(j);
			j = h_json(&d, p, &code);
			ck_assert_int_eq(code, 200);
			n = INT(j, "count");
			if (n < 1)
				h_sleep_ms(100);
		} while (n < 1 && h_ms() - t0 < 20000);
		ck_assert_int_eq(n, 1);
	}
	json_decref(j);
	j = h_json(&d, path, &code);
	ck_assert_int_eq(code, 200);
	check_answer(j, &grid);
	ck_assert(json_is_null(json_object_get(j, "area")));
	ck_assert_int_eq(INT(j, "cells"), 3);

	/* The CLI's JSON is the API's answer. */
	run_prog(&r, h_bin("AQGRID", "build/aqgrid"), true, cli_json);
	ck_assert_msg(r.status == 0, "aqgrid indicators: %s", r.err);
	c = json_loads(r.out, 0, &je);
	ck_assert_msg(c != NULL, "%s", je.text);
	ck_assert(json_equal(c, j));
	json_decref(c);
	free(r.out);
	free(r.err);
	json_decref(j);

	/* The area holds Dongsi only. */
	j = h_json(&d,
	    "/api/v1/indicators?area=east&from=2013-12-30&to=2014-01-01",
	    &code);
	ck_assert_int_eq(code, 200);
	check_answer(j, &east);
	ck_assert_str_eq(json_string_value(json_object_get(j, "area")), "east");
	json_decref(j);

	/* The table says the same. */
	run_prog(&r, h_bin("AQGRID", "build/aqgrid"), true, cli_area);
	ck_assert_msg(r.status == 0, "aqgrid indicators: %s", r.err);
	ck_assert_ptr_nonnull(strstr(r.out, "area      east, East (1 cells)"));
	ck_assert_ptr_nonnull(
	    strstr(r.out, "range     2013-12-30 to 2014-01-01: 3 days"));
	{
		char want[64];

		snprintf(want, sizeof(want), "%.1f%% (%d/%d)",
		    100.0 * east.good_days / east.valid_days, east.good_days,
		    east.valid_days);
		ck_assert_msg(
		    strstr(r.out, want) != NULL, "%s not in\n%s", want, r.out);
	}
	free(r.out);
	free(r.err);

	/* Errors: an unknown area, dates the wrong way round, a bad date. */
	j = h_json(&d, "/api/v1/indicators?area=nowhere", &code);
	ck_assert_int_eq(code, 404);
	json_decref(j);
	j = h_json(
	    &d, "/api/v1/indicators?from=2014-01-02&to=2014-01-01", &code);
	ck_assert_int_eq(code, 400);
	json_decref(j);
	j = h_json(&d, "/api/v1/indicators?from=2014-13-01", &code);
	ck_assert_int_eq(code, 400);
	json_decref(j);
	{
		const char *bad[] = {
		    "indicators", "--url", url, "--area", "nowhere", NULL};

		run_prog(&r, h_bin("AQGRID", "build/aqgrid"), true, bad);
		ck_assert_int_eq(r.status, 1);
		ck_assert_ptr_nonnull(strstr(r.err, "no such area"));
		free(r.out);
		free(r.err);
	}
	/* Year to date by default: to is yesterday, from its 1 January. */
	j = h_json(&d, "/api/v1/indicators", &code);
	ck_assert_int_eq(code, 200);
	ck_assert_str_eq(
	    json_string_value(json_object_get(j, "from")) + 4, "-01-01");
	ck_assert_int_eq(INT(j, "data_days"), 0);
	ck_assert(json_is_null(
	    json_object_get(json_object_get(j, "good_days"), "ratio")));
	json_decref(j);

	ck_assert_int_eq(h_stop(&d.proc, SIGTERM, 10), 0);
	h_stop(&broker, SIGTERM, 5);
}
END_TEST

static Suite *
plan_suite(void)
{
	Suite *s = suite_create("integ_plan");
	TCase *tc = tcase_create("plan");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_replay_indicators);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_run(plan_suite());
}
