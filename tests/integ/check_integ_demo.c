/*
 * check_integ_demo: what `make demo` promises a first-time user, on a grid
 * smaller than the demo's.  aqgrid-sim back-fills 8 days as etc/demo.sh
 * has it (faults injected, a dust site, a local source) through a real
 * mosquitto into the built aqgridd; then every cell has an AQI and a
 * forecast of 72 hours whose daily cycle is the simulator's (ozone by day,
 * not by night), every area a warning level from the model,
 * /api/v1/indicators complete days of data, and the source's cell is the
 * first hotspot.
 */
#include <check.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/harness.h"

#define ROWS 4
#define COLS 6
#define BACKFILL_H 192 /* etc/demo.sh's */

static void write_conf(struct h_daemon *d, int mqtt_port);
static int local_hour(const char *iso);
static json_t *forecast_ready(
    const struct h_daemon *d, const char *cell, long long end);
static void hour_label(int64_t t, char *buf, size_t len);

static void
write_conf(struct h_daemon *d, int mqtt_port)
{
	FILE *f;

	snprintf(d->conf, sizeof(d->conf), "%s/aqgridd-demo-%d.conf",
	    h_tmpdir(), mqtt_port);
	ck_assert_ptr_nonnull(f = fopen(d->conf, "w"));
	fprintf(f,
	    "[mqtt]\nhost = 127.0.0.1\nport = %d\nclient_id = aqgridd-demo\n"
	    "backoff_min = 1\nbackoff_max = 1\n"
	    "subscribe = aq/demo/# json 1\n"
	    "[http]\nlisten = 127.0.0.1:0\nweb_root = web\nthreads = 2\n"
	    "[standards]\ntimezone = Asia/Shanghai\n"
	    "[grid]\norigin = 39.975 116.38\ncell_size = 500\nrows = %d\n"
	    "cols = %d\n"
	    "[area west]\nname = 西\nname_en = West\n"
	    "cells = r000c000-r003c002\n"
	    "[area east]\nname = 东\nname_en = East\n"
	    "cells = r000c003-r003c005\n"
	    "[store]\ndir = %s/demo-store-%d\n",
	    mqtt_port, ROWS, COLS, h_tmpdir(), mqtt_port);
	fclose(f);
}

/* The hour of day of "YYYY-MM-DDTHH:MM:SS+08:00". */
static int
local_hour(const char *iso)
{
	ck_assert_ptr_nonnull(iso);
	ck_assert_uint_ge(strlen(iso), 13);
	return atoi(iso + 11);
}

/* "YYYY-MM-DDTHH:00:00+08:00" of Unix time t. */
static void
hour_label(int64_t t, char *buf, size_t len)
{
	time_t l = (time_t)t + 8 * 3600;
	struct tm tm;

	gmtime_r(&l, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:00:00+08:00", &tm);
}

/* The cell's forecast once ready (owned), or NULL at end (h_ms()). */
static json_t *
forecast_ready(const struct h_daemon *d, const char *cell, long long end)
{
	char path[128];
	long code;

	snprintf(path, sizeof(path), "/api/v1/cells/%s/forecast", cell);
	for (;;) {
		json_t *j = h_json(d, path, &code);

		ck_assert_int_eq(code, 200);
		if (json_is_true(json_object_get(j, "ready")))
			return j;
		json_decref(j);
		if (h_ms() > end)
			return NULL;
		h_sleep_ms(200);
	}
}

START_TEST(eight_days_warm_every_feature)
{
	struct h_proc broker, sim;
	struct h_daemon d;
	char portarg[16], rows[8], cols[8], bf[8];
	char now0[40], now1[40];
	double day_o3 = 0, night_o3 = 0, day_pm = 0, night_pm = 0;
	int nday = 0, nnight = 0, port = 0;
	long long end;
	long code;
	json_t *j, *x;
	size_t k;
	const char *argv[] = {h_bin("AQGRID_SIM", "build/aqgrid-sim"), "-p",
	    portarg, "-q", "1", "-t", "aq/demo", "synth", "--rows", rows,
	    "--cols", cols, "--backfill", bf, "--no-live", "--dust-sites", "1",
	    "--sources", "1", NULL};

	h_broker_start(&broker, &port);
	write_conf(&d, port);
	h_daemon_start(&d, "demo.log");
	snprintf(portarg, sizeof(portarg), "%d", port);
	snprintf(rows, sizeof(rows), "%d", ROWS);
	snprintf(cols, sizeof(cols), "%d", COLS);
	snprintf(bf, sizeof(bf), "%d", BACKFILL_H);
	h_spawn(&sim, argv, "demo-sim.log", false);
	ck_assert_int_eq(h_stop(&sim, 0, 240), 0);

	/* The back-fill ends now: its last reading's hour is the current
	 * one (or, in an hour's first five minutes, the one before), and
	 * the latest complete hour the one before that. */
	hour_label(h_hour_start(0), now0, sizeof(now0));
	hour_label(h_hour_start(1), now1, sizeof(now1));
	end = h_ms() + 120 * 1000LL;
	for (int r = 0; r < ROWS; r++) {
		for (int c = 0; c < COLS; c++) {
			char id[32];
			json_t *hours, *days;
			const char *origin;

			snprintf(id, sizeof(id), "r%03dc%03d", r, c);
			j = forecast_ready(&d, id, end);
			ck_assert_msg(j != NULL, "%s: no forecast", id);
			origin =
			    json_string_value(json_object_get(j, "origin"));
			ck_assert_ptr_nonnull(origin);
			/* The last views may come a publication after the
			 * first ready one. */
			while (strcmp(origin, now0) != 0 &&
			    strcmp(origin, now1) != 0 && h_ms() < end) {
				json_decref(j);
				h_sleep_ms(200);
				j = forecast_ready(&d, id, end);
				ck_assert_ptr_nonnull(j);
				origin = json_string_value(
				    json_object_get(j, "origin"));
			}
			ck_assert_msg(strcmp(origin, now0) == 0 ||
				strcmp(origin, now1) == 0,
			    "%s: origin %s, not %s or %s", id, origin, now0,
			    now1);
			hours = json_object_get(j, "hours");
			ck_assert_int_eq(json_array_size(hours), 72);
			json_array_foreach(hours, k, x)
			{
				json_t *pm = json_object_get(x, "pm25");
				json_t *o3 = json_object_get(x, "o3");
				int h;

				ck_assert(
				    h_num(pm, "lo") <= h_num(pm, "value"));
				ck_assert(
				    h_num(pm, "value") <= h_num(pm, "hi"));
				ck_assert(
				    h_num(o3, "lo") <= h_num(o3, "value"));
				ck_assert(
				    h_num(o3, "value") <= h_num(o3, "hi"));
				if (k >= 24)
					continue;
				/* The simulator's cycle: ozone from the
				 * afternoon sun, PM2.5 under the night's
				 * shallow mixing layer. */
				h = local_hour(json_string_value(
				    json_object_get(x, "time")));
				if (h >= 13 && h <= 17) {
					day_o3 += h_num(o3, "value");
					day_pm += h_num(pm, "value");
					nday++;
				} else if (h >= 1 && h <= 6) {
					night_o3 += h_num(o3, "value");
					night_pm += h_num(pm, "value");
					nnight++;
				}
			}
			days = json_object_get(j, "days");
			ck_assert_uint_ge(json_array_size(days), 2);
			ck_assert(json_integer_value(json_object_get(
				      json_array_get(days, 0), "aqi")) > 0);
			json_decref(j);
		}
	}
	ck_assert_int_gt(nday, 0);
	ck_assert_int_gt(nnight, 0);
	ck_assert_msg(day_o3 / nday > 2 * night_o3 / nnight,
	    "O3 forecast: afternoon %g, night %g", day_o3 / nday,
	    night_o3 / nnight);
	ck_assert_msg(night_pm / nnight > day_pm / nday,
	    "PM2.5 forecast: night %g, afternoon %g", night_pm / nnight,
	    day_pm / nday);

	/* Every cell on the map: an hour with an AQI (a dropout of the
	 * simulator's may blank one cell's latest hour). */
	j = h_json(&d, "/api/v1/cells?limit=100", &code);
	ck_assert_int_eq(code, 200);
	{
		int with_aqi = 0;

		ck_assert_int_eq(json_array_size(json_object_get(j, "results")),
		    ROWS * COLS);
		json_array_foreach(json_object_get(j, "results"), k, x)
		{
			const char *h =
			    json_string_value(json_object_get(x, "hour"));

			ck_assert_msg(h != NULL &&
				(strcmp(h, now0) == 0 || strcmp(h, now1) == 0),
			    "hour %s", h ? h : "null");
			with_aqi += json_is_integer(json_object_get(x, "aqi"));
		}
		ck_assert_int_ge(with_aqi, ROWS * COLS - 2);
	}
	json_decref(j);

	/* The areas' warning levels come from the cells' forecasts. */
	for (int a = 0; a < 2; a++) {
		const char *path = a ? "/api/v1/areas/east/warning"
				     : "/api/v1/areas/west/warning";
		const char *level;

		j = h_json(&d, path, &code);
		ck_assert_int_eq(code, 200);
		ck_assert_str_eq(
		    json_string_value(json_object_get(j, "source")), "model");
		ck_assert_int_eq(
		    json_integer_value(json_object_get(j, "cells")),
		    ROWS * COLS / 2);
		level = json_string_value(json_object_get(j, "level"));
		ck_assert_ptr_nonnull(level);
		ck_assert(
		    strstr(" none blue yellow orange red ", level) != NULL);
		ck_assert_uint_ge(
		    json_array_size(json_object_get(j, "days")), 2);
		json_decref(j);
	}

	/* The simulator's source, in cell (ROWS / 3, 2 COLS / 3), stands out
	 * of its neighbours whatever the wind, day and night. */
	j = h_json(&d, "/api/v1/hotspots", &code);
	ck_assert_int_eq(code, 200);
	x = json_array_get(json_object_get(j, "results"), 0);
	ck_assert_msg(x != NULL, "no hotspot");
	{
		char want[32];
		const char *src =
		    json_string_value(json_object_get(x, "source"));

		snprintf(
		    want, sizeof(want), "r%03dc%03d", ROWS / 3, 2 * COLS / 3);
		ck_assert_str_eq(
		    json_string_value(json_object_get(x, "cell")), want);
		ck_assert(h_num(x, "excess") > 0);
		ck_assert_int_ge(
		    json_integer_value(json_object_get(x, "hours")), 3);
		ck_assert_ptr_nonnull(src);
		ck_assert_str_ne(src, "no_wind");
	}
	json_decref(j);

	/* The plan's indicators: the seven whole days before today (and
	 * the first, partial one when it has 20 hours), once the store has
	 * their rows. */
	end = h_ms() + 60 * 1000LL;
	for (;;) {
		j = h_json(&d, "/api/v1/indicators", &code);
		ck_assert_int_eq(code, 200);
		if (json_integer_value(json_object_get(j, "data_days")) >= 7 ||
		    h_ms() > end)
			break;
		json_decref(j);
		h_sleep_ms(200);
	}
	ck_assert_int_ge(
	    json_integer_value(json_object_get(j, "data_days")), 7);
	ck_assert_int_le(
	    json_integer_value(json_object_get(j, "data_days")), 8);
	x = json_object_get(j, "good_days");
	ck_assert_int_ge(json_integer_value(json_object_get(x, "valid")), 7);
	ck_assert_int_le(json_integer_value(json_object_get(x, "good")),
	    json_integer_value(json_object_get(x, "valid")));
	json_decref(j);

	ck_assert_int_eq(h_stop(&d.proc, SIGTERM, 30), 0);
	h_stop(&broker, SIGTERM, 5);
}
END_TEST

static Suite *
integ_suite(void)
{
	Suite *s = suite_create("integ_demo");
	TCase *tc = tcase_create("demo");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, eight_days_warm_every_feature);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_run(integ_suite());
}
