/*
 * check_integ_forecast: the built aqgridd forecasts from what it is sent.
 * aqgrid-sim replays four months of a real station (tests/fixtures/forecast)
 * through a real mosquitto into the daemon; every hour reaches the cell's
 * model in order, and GET /api/v1/cells/{id}/forecast answers from it;
 * after a restart, the models relearn from the store's rows.
 */
#include <sys/stat.h>

#include <check.h>
#include <jansson.h>
#include <mosquitto.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/tz.h"
#include "tests/harness.h"

#define FIXTURE "tests/fixtures/forecast/beijing-dongsi-2014q4.csv.gz"

#define TOKEN "tok-forecast-0123456789"

static void write_conf(struct h_daemon *d, int mqtt_port);
static void local_date(int days, char *buf, size_t len);
static json_t *wait_ready(const struct h_daemon *d, const char *cell, int secs);
static bool firing(const struct h_daemon *d, const char *rule, const char *cell,
    int secs, double *value);
static const char *post_days(
    const struct h_daemon *d, const int *aqi, int n, int first, long *code);

static void
write_conf(struct h_daemon *d, int mqtt_port)
{
	FILE *f;
	char tokens[512];

	snprintf(tokens, sizeof(tokens), "%s/fc.tokens", h_tmpdir());
	ck_assert_ptr_nonnull(f = fopen(tokens, "w"));
	fprintf(f, "centre %s rw\nviewer tok-viewer-0123456789 ro\n", TOKEN);
	fclose(f);
	ck_assert_int_eq(chmod(tokens, 0600), 0);
	snprintf(d->conf, sizeof(d->conf), "%s/aqgridd-fc-%d.conf", h_tmpdir(),
	    mqtt_port);
	ck_assert_ptr_nonnull(f = fopen(d->conf, "w"));
	fprintf(f,
	    "[mqtt]\nhost = 127.0.0.1\nport = %d\nclient_id = aqgridd-fc\n"
	    "backoff_min = 1\nbackoff_max = 1\n"
	    "subscribe = aq/fc/# json 1\n"
	    "[http]\nlisten = 127.0.0.1:0\nweb_root = web\nthreads = 2\n"
	    "tokens_file = %s\n"
	    "[standards]\ntimezone = Asia/Shanghai\n"
	    "[grid]\norigin = 40.0 116.0\ncell_size = 1000\nrows = 1\n"
	    "cols = 2\n[area city]\nname = 城\nname_en = City\n"
	    "cells = r000c000-r000c001\n[store]\ndir = %s/fc-store-%d\n"
	    "[forecast]\nexternal_topic = cityfc/#\n"
	    "[rule fc_pm]\nname = PM2.5 24 h mean forecast high\n"
	    "when = forecast.pm25_24h.12h > 40\nseverity = warning\n",
	    mqtt_port, tokens, h_tmpdir(), mqtt_port);
	fclose(f);
}

/* The cell's forecast once ready (owned), waiting up to secs: views are
 * published every 100 ms, slower under valgrind. */
static json_t *
wait_ready(const struct h_daemon *d, const char *cell, int secs)
{
	char path[128];
	long long end = h_ms() + secs * 1000LL;
	long code;
	json_t *j;

	snprintf(path, sizeof(path), "/api/v1/cells/%s/forecast", cell);
	for (;;) {
		j = h_json(d, path, &code);
		ck_assert_int_eq(code, 200);
		if (json_is_true(json_object_get(j, "ready")) || h_ms() > end)
			return j;
		json_decref(j);
		h_sleep_ms(100);
	}
}

/* Waits up to secs for rule's alert on cell to be firing; its value. */
static bool
firing(const struct h_daemon *d, const char *rule, const char *cell, int secs,
    double *value)
{
	long long end = h_ms() + secs * 1000LL;
	long code;

	for (;;) {
		json_t *j = h_json(d, "/api/v1/alerts?state=firing", &code), *x;
		size_t k;
		bool hit = false;

		json_array_foreach(json_object_get(j, "results"), k, x)
		{
			const char *r =
			    json_string_value(json_object_get(x, "rule"));
			const char *c =
			    json_string_value(json_object_get(x, "cell"));

			if (r != NULL && c != NULL && strcmp(r, rule) == 0 &&
			    strcmp(c, cell) == 0) {
				*value = json_number_value(
				    json_object_get(x, "value"));
				hit = true;
			}
		}
		json_decref(j);
		if (hit)
			return true;
		if (h_ms() > end)
			return false;
		h_sleep_ms(200);
	}
}

/* The local (UTC+8) date days from today, YYYY-MM-DD. */
static void
local_date(int days, char *buf, size_t len)
{
	time_t t = time(NULL) + 8 * 3600 + (time_t)days * 86400;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d", &tm);
}

/* Posts n days of AQI from today + first on; returns the level. */
static const char *
post_days(
    const struct h_daemon *d, const int *aqi, int n, int first, long *code)
{
	static char level[16];
	char body[1024], date[16];
	size_t k = 0;
	json_t *j;

	k += (size_t)snprintf(body, sizeof(body), "{\"days\":[");
	for (int i = 0; i < n; i++) {
		local_date(first + i, date, sizeof(date));
		k += (size_t)snprintf(body + k, sizeof(body) - k,
		    "%s{\"date\":\"%s\",\"aqi\":%d}", i > 0 ? "," : "", date,
		    aqi[i]);
	}
	snprintf(body + k, sizeof(body) - k, "]}");
	j = h_request(
	    d, "POST", "/api/v1/areas/city/forecast", TOKEN, body, code);
	snprintf(level, sizeof(level), "%s",
	    j != NULL && json_string_value(json_object_get(j, "level"))
		? json_string_value(json_object_get(j, "level"))
		: "");
	json_decref(j);
	return level;
}

START_TEST(forecast_from_a_replay)
{
	struct h_proc broker, sim;
	struct h_daemon d;
	char portarg[16];
	int port = 0;
	json_t *j, *hours, *days;
	long code;
	const char *argv[] = {h_bin("AQGRID_SIM", "build/aqgrid-sim"), "-p",
	    portarg, "-q", "1", "-t", "aq/fc", "replay", "--speed", "720000",
	    FIXTURE, NULL};

	h_broker_start(&broker, &port);
	write_conf(&d, port);
	h_daemon_start(&d, "fc.log");

	/* Before any data: the cell exists, its model does not. */
	j = h_json(&d, "/api/v1/cells/r000c000/forecast", &code);
	ck_assert_int_eq(code, 200);
	ck_assert(json_is_false(json_object_get(j, "ready")));
	ck_assert_int_eq(json_array_size(json_object_get(j, "hours")), 0);
	json_decref(j);
	j = h_json(&d, "/api/v1/cells/r009c009/forecast", &code);
	ck_assert_int_eq(code, 404);
	json_decref(j);

	/* 200 hours a second: the daemon publishes views at least every
	 * 100 ms and hands the hook the hours in between from its 48-hour
	 * windows, so at this pace no hour is skipped (as fast as the broker
	 * takes them, a model would see gaps). */
	snprintf(portarg, sizeof(portarg), "%d", port);
	h_spawn(&sim, argv, "fc-sim.log", false);
	ck_assert_int_eq(h_stop(&sim, 0, 120), 0);
	/* 2,952 rows; a row without any value is not a reading. */
	ck_assert(h_status_wait(&d, "readings.accepted", 2900, 60));
	j = wait_ready(&d, "r000c000", 30);
	/* The last view may come a publication later than the first ready
	 * one: wait for the last hour. */
	for (int k = 0; k < 100 &&
	     strcmp(json_string_value(json_object_get(j, "origin")),
		 "2015-01-31T23:00:00+08:00") != 0;
	     k++) {
		json_decref(j);
		h_sleep_ms(100);
		j = wait_ready(&d, "r000c000", 30);
	}
	ck_assert(json_is_true(json_object_get(j, "ready")));
	ck_assert_int_eq(json_integer_value(json_object_get(j, "horizon")), 72);
	/* The last row is the hour from 23:00 on 31 January, which no newer
	 * reading completes: the latest complete hour ends at 23:00. */
	ck_assert_str_eq(json_string_value(json_object_get(j, "origin")),
	    "2015-01-31T23:00:00+08:00");
	hours = json_object_get(j, "hours");
	ck_assert_int_eq(json_array_size(hours), 72);
	ck_assert_str_eq(json_string_value(
			     json_object_get(json_array_get(hours, 0), "time")),
	    "2015-02-01T00:00:00+08:00");
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_array_get(hours, 71), "time")),
	    "2015-02-03T23:00:00+08:00");
	for (size_t k = 0; k < 72; k++) {
		json_t *h = json_array_get(hours, k);
		json_t *pm = json_object_get(h, "pm25");
		json_t *o3 = json_object_get(h, "o3");

		ck_assert(h_num(pm, "lo") <= h_num(pm, "value"));
		ck_assert(h_num(pm, "value") <= h_num(pm, "hi"));
		ck_assert(h_num(pm, "lo") >= 0);
		ck_assert_msg(h_num(pm, "hi") < 1000, "k %zu: %g %g %g", k,
		    h_num(pm, "lo"), h_num(pm, "value"), h_num(pm, "hi"));
		ck_assert(h_num(o3, "lo") <= h_num(o3, "hi"));
		/* Observed hours fill the 24-hour mean at first. */
		ck_assert(h_num(h, "pm25_24h") > 0);
		ck_assert(h_num(h, "o3_8h") >= 0);
		/* Further ahead, wider: the interval at 72 h is wider than
		 * at 1 h (the residual quantiles per horizon). */
		if (k == 71) {
			json_t *p1 =
			    json_object_get(json_array_get(hours, 0), "pm25");
			ck_assert(h_num(pm, "hi") - h_num(pm, "lo") >
			    h_num(p1, "hi") - h_num(p1, "lo"));
		}
	}
	/* 31 January (its last hour is forecast), 1 and 2 February; the
	 * third is not covered whole by 72 hours. */
	days = json_object_get(j, "days");
	ck_assert_int_eq(json_array_size(days), 3);
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_array_get(days, 0), "date")),
	    "2015-01-31");
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_array_get(days, 2), "date")),
	    "2015-02-02");
	for (size_t k = 0; k < 3; k++) {
		json_t *dd = json_array_get(days, k);
		ck_assert(h_num(dd, "aqi") > 0);
		ck_assert(h_num(dd, "level") >= 1 && h_num(dd, "level") <= 6);
	}
	json_decref(j);

	/* The other cell got nothing. */
	j = h_json(&d, "/api/v1/cells/r000c001/forecast", &code);
	ck_assert(json_is_false(json_object_get(j, "ready")));
	json_decref(j);
	/* In the OpenAPI document. */
	j = h_json(&d, "/api/v1/openapi.json", &code);
	ck_assert_ptr_nonnull(json_object_get(
	    json_object_get(j, "paths"), "/api/v1/cells/{id}/forecast"));
	json_decref(j);

	ck_assert_int_eq(h_stop(&d.proc, SIGTERM, 30), 0);
	h_stop(&broker, SIGTERM, 5);
}
END_TEST

/* Recent hours (the start-up relearning reads the store's last 2,000
 * hours before now): the forecast survives a restart. */
START_TEST(relearns_after_restart)
{
	struct h_proc broker;
	struct h_daemon d;
	struct mosquitto *m;
	int port = 0, n = 200;
	int64_t h0 = h_hour_start(n), at = 0;
	json_t *j;
	long code;
	char origin[64], *before = NULL, *after = NULL;
	double value = 0;

	h_broker_start(&broker, &port);
	write_conf(&d, port);
	h_daemon_start(&d, "fc-restart.log");
	m = h_mqtt(port, "pub-fc");
	/* With the weather a sensor reports, which the models learn from
	 * live and, after the restart, from the store's rows. */
	for (int k = 0; k <= n; k++)
		h_publishf(m, "aq/fc/r000c001/s-1",
		    "{\"ts\":%lld,\"period\":%d,\"cell\":\"r000c001\","
		    "\"pm25\":%.1f,\"o3\":%.1f,\"temp\":%.1f,\"rh\":%.1f,"
		    "\"pres\":%.1f,\"rain\":%.1f,\"ws\":%.1f,\"wd\":%d}",
		    (long long)(h0 + k * 3600), k < n ? 3600 : 60,
		    50 + 30 * sin(k / 6.0) + k % 5,
		    60 + 40 * sin(k * 6.2832 / 24),
		    5 + 6 * sin(k * 6.2832 / 24), 40 + 30 * sin(k / 9.0),
		    1010 + 8 * sin(k / 30.0), k % 17 == 0 ? 1.5 : 0.0,
		    1 + (k % 7) * 0.6, (k * 37) % 360);
	ck_assert(h_status_wait(&d, "readings.accepted", n + 1, 30));
	/* Ready comes at hour 168: wait for the last complete hour (the
	 * hour before the current one, which ends at h0 + n hours). */
	for (long long end = h_ms() + 30000;;) {
		const char *o;

		j = wait_ready(&d, "r000c001", 30);
		ck_assert(json_is_true(json_object_get(j, "ready")));
		o = json_string_value(json_object_get(j, "origin"));
		snprintf(origin, sizeof(origin), "%s", o ? o : "");
		json_decref(j);
		if ((tz_parse(origin, &at) == AQ_OK && at == h0 + n * 3600LL) ||
		    h_ms() > end)
			break;
		h_sleep_ms(100);
	}
	ck_assert_msg(at == h0 + n * 3600LL, "origin %s", origin);
	/* The area's warning from its one cell's model: today and after. */
	j = h_json(&d, "/api/v1/areas/city/warning", &code);
	ck_assert_str_eq(
	    json_string_value(json_object_get(j, "source")), "model");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "cells")), 1);
	ck_assert_int_ge(json_array_size(json_object_get(j, "days")), 2);
	/* PM2.5 about 50 and O3 up to 100: nowhere near AQI 200. */
	ck_assert_str_eq(
	    json_string_value(json_object_get(j, "level")), "none");
	json_decref(j);
	/* The early-warning rule on the forecast 24-hour mean (> 40) fires
	 * for the cell with data, with the forecast maximum as its value. */
	ck_assert_msg(firing(&d, "fc_pm", "r000c001", 30, &value),
	    "rule fc_pm did not fire");
	ck_assert(value > 40 && value < 150);
	h_mqtt_close(m);
	j = h_json(&d, "/api/v1/cells/r000c001/forecast", &code);
	ck_assert_ptr_nonnull(
	    before = json_dumps(json_object_get(j, "hours"), JSON_COMPACT));
	json_decref(j);

	ck_assert_int_eq(h_stop(&d.proc, SIGTERM, 30), 0);
	h_daemon_start(&d, "fc-restart2.log");
	ck_assert_ptr_nonnull(
	    h_log_wait(&d.proc, "forecast: models trained on", 30));
	j = h_json(&d, "/api/v1/cells/r000c001/forecast", &code);
	ck_assert(json_is_true(json_object_get(j, "ready")));
	ck_assert_str_eq(
	    json_string_value(json_object_get(j, "origin")), origin);
	ck_assert_int_eq(json_array_size(json_object_get(j, "hours")), 72);
	/* The relearnt model is the live one: the same weather came back
	 * from the store's rows, so the same forecast to the last digit. */
	ck_assert_ptr_nonnull(
	    after = json_dumps(json_object_get(j, "hours"), JSON_COMPACT));
	ck_assert_msg(strcmp(after, before) == 0,
	    "the relearnt forecast differs: %.200s ... against %.200s ...",
	    after, before);
	free(after);
	free(before);
	json_decref(j);
	ck_assert_int_eq(h_stop(&d.proc, SIGTERM, 30), 0);
	h_stop(&broker, SIGTERM, 5);
}
END_TEST

/* The area's warning level from a posted (external) forecast, by the
 * graded standard; the rw token is required; bad days are refused. */
START_TEST(area_warning_levels)
{
	struct h_proc broker;
	struct h_daemon d;
	int port = 0;
	long code;
	json_t *j;
	static const int red[] = {250, 320, 310, 210};
	static const int orange[] = {150, 210, 220, 310, 120};
	static const int yellow[] = {150, 250, 350, 180};
	static const int blue[] = {120, 210, 180};
	static const int at500[] = {500};
	static const int bad[] = {600};

	h_broker_start(&broker, &port);
	write_conf(&d, port);
	h_daemon_start(&d, "fc-warn.log");

	j = h_json(&d, "/api/v1/areas/city/warning", &code);
	ck_assert_int_eq(code, 200);
	ck_assert_str_eq(
	    json_string_value(json_object_get(j, "level")), "none");
	ck_assert_str_eq(
	    json_string_value(json_object_get(j, "source")), "none");
	json_decref(j);
	j = h_json(&d, "/api/v1/areas/nowhere/warning", &code);
	ck_assert_int_eq(code, 404);
	json_decref(j);
	j = h_request(&d, "POST", "/api/v1/areas/city/forecast", NULL,
	    "{\"days\":[]}", &code);
	ck_assert_int_eq(code, 401);
	json_decref(j);
	j = h_request(&d, "POST", "/api/v1/areas/city/forecast",
	    "tok-viewer-0123456789", "{\"days\":[]}", &code);
	ck_assert_int_eq(code, 403);
	json_decref(j);

	ck_assert_str_eq(post_days(&d, red, 4, 0, &code), "red");
	ck_assert_int_eq(code, 200);
	j = h_json(&d, "/api/v1/areas/city/warning", &code);
	ck_assert_str_eq(json_string_value(json_object_get(j, "level")), "red");
	ck_assert_str_eq(
	    json_string_value(json_object_get(j, "source")), "external");
	ck_assert_int_eq(json_array_size(json_object_get(j, "days")), 4);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(
		json_array_get(json_object_get(j, "days"), 1), "aqi")),
	    320);
	json_decref(j);
	ck_assert_str_eq(post_days(&d, orange, 5, 0, &code), "orange");
	ck_assert_str_eq(post_days(&d, yellow, 4, 0, &code), "yellow");
	ck_assert_str_eq(post_days(&d, blue, 3, 0, &code), "blue");
	ck_assert_str_eq(post_days(&d, at500, 1, 1, &code), "red");
	/* Days before today do not count: a forecast of the past is none. */
	ck_assert_str_eq(post_days(&d, red, 4, -5, &code), "none");
	j = h_json(&d, "/api/v1/areas/city/warning", &code);
	ck_assert_str_eq(
	    json_string_value(json_object_get(j, "source")), "none");
	json_decref(j);
	post_days(&d, bad, 1, 0, &code);
	ck_assert_int_eq(code, 400);
	j = h_request(&d, "POST", "/api/v1/areas/city/forecast", TOKEN,
	    "{\"days\":[{\"date\":\"2026-12-02\",\"aqi\":100},"
	    "{\"date\":\"2026-12-01\",\"aqi\":100}]}",
	    &code);
	ck_assert_int_eq(code, 400);
	json_decref(j);

	ck_assert_int_eq(h_stop(&d.proc, SIGTERM, 30), 0);
	h_stop(&broker, SIGTERM, 5);
}
END_TEST

/* The area's warning (source and level) after up to secs; "" if none. */
static const char *
warning_wait(
    const struct h_daemon *d, const char *source, const char *level, int secs)
{
	static char got[64];
	long long end = h_ms() + secs * 1000LL;
	long code;

	for (;;) {
		json_t *j = h_json(d, "/api/v1/areas/city/warning", &code);
		const char *src =
		    json_string_value(json_object_get(j, "source"));
		const char *lvl =
		    json_string_value(json_object_get(j, "level"));

		bool done;

		snprintf(got, sizeof(got), "%s %s", src ? src : "?",
		    lvl ? lvl : "?");
		done =
		    (src != NULL && lvl != NULL && strcmp(src, source) == 0 &&
			strcmp(lvl, level) == 0) ||
		    h_ms() > end;
		json_decref(j);
		if (done)
			return got;
		h_sleep_ms(100);
	}
}

/* The city forecast centre's forecast over MQTT ([forecast]
 * external_topic) wins the area's warning, is kept across a restart, and
 * a bad message changes nothing. */
START_TEST(external_forecast_over_mqtt)
{
	struct h_proc broker;
	struct h_daemon d;
	struct mosquitto *m;
	int port = 0;
	char body[1024], date[16];
	size_t k = 0;
	static const int red[] = {250, 320, 310, 210};

	h_broker_start(&broker, &port);
	write_conf(&d, port);
	h_daemon_start(&d, "fc-ext.log");
	ck_assert_ptr_nonnull(h_log_wait(&d.proc, "subscribed; ready", 30));
	ck_assert_str_eq(warning_wait(&d, "none", "none", 0), "none none");

	k += (size_t)snprintf(body, sizeof(body), "{\"days\":[");
	for (int i = 0; i < 4; i++) {
		local_date(i, date, sizeof(date));
		k += (size_t)snprintf(body + k, sizeof(body) - k,
		    "%s{\"date\":\"%s\",\"aqi\":%d}", i > 0 ? "," : "", date,
		    red[i]);
	}
	snprintf(body + k, sizeof(body) - k, "]}");
	ck_assert_ptr_nonnull(m = h_mqtt(port, "centre"));
	/* The area from the topic's last level. */
	h_publish(m, "cityfc/city", body, strlen(body), 1);
	ck_assert_str_eq(
	    warning_wait(&d, "external", "red", 15), "external red");
	/* Not JSON, an unknown area, an AQI out of range: ignored, logged. */
	h_publish(m, "cityfc/city", "{", 1, 1);
	snprintf(body, sizeof(body), "{\"area\":\"nowhere\",\"days\":[]}");
	h_publish(m, "cityfc/x", body, strlen(body), 1);
	snprintf(body, sizeof(body),
	    "{\"days\":[{\"date\":\"2026-12-01\",\"aqi\":900}]}");
	h_publish(m, "cityfc/city", body, strlen(body), 1);
	ck_assert_ptr_nonnull(h_log_wait(&d.proc, "0..500", 15));
	ck_assert_str_eq(
	    warning_wait(&d, "external", "red", 0), "external red");
	h_mqtt_close(m);

	/* Kept in the store: the restarted daemon still warns red. */
	ck_assert_int_eq(h_stop(&d.proc, SIGTERM, 30), 0);
	h_daemon_start(&d, "fc-ext2.log");
	ck_assert_str_eq(
	    warning_wait(&d, "external", "red", 0), "external red");
	ck_assert_int_eq(h_stop(&d.proc, SIGTERM, 30), 0);
	h_stop(&broker, SIGTERM, 5);
}
END_TEST

static Suite *
integ_suite(void)
{
	Suite *s = suite_create("integ_forecast");
	TCase *tc = tcase_create("forecast");

	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, forecast_from_a_replay);
	tcase_add_test(tc, relearns_after_restart);
	tcase_add_test(tc, area_warning_levels);
	tcase_add_test(tc, external_forecast_over_mqtt);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_run(integ_suite());
}
