/*
 * check_integ_quality: sensor faults and hotspots through the real daemon,
 * a real mosquitto and real HTTP.  A 5 x 5 grid, one sensor a cell, 60
 * hours of hourly PM2.5 over a smooth background that follows the time of
 * day; a plume at r002c002 spreading east under a west wind; the sensor of
 * r000c000 stuck from hour 40.  The stuck sensor is flagged in the cell's
 * API and the metrics, its readings are left out, the plume's cell ranks
 * first among the hotspots and the cell east of it has its source to the
 * west; after kill -9 the restarted daemon (image and journal) shows the
 * same flags.
 */
#include <check.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness.h"

#define HOURS 60
#define STUCK_FROM 40

static void write_conf(struct h_daemon *d, int port, const char *store);
static double level(int r, int c, int h);
static json_t *sensor_of(const struct h_daemon *d, const char *cell);
static Suite *quality_suite(void);

static void
write_conf(struct h_daemon *d, int port, const char *store)
{
	FILE *f;

	snprintf(
	    d->conf, sizeof(d->conf), "%s/quality-%d.conf", h_tmpdir(), port);
	ck_assert_ptr_nonnull(f = fopen(d->conf, "w"));
	fprintf(f,
	    "[mqtt]\nhost = 127.0.0.1\nport = %d\nclient_id = aq-quality\n"
	    "backoff_min = 1\nbackoff_max = 1\n"
	    "subscribe = aq/q/+ json 1\n"
	    "[http]\nlisten = 127.0.0.1:0\nweb_root = web\nthreads = 2\n"
	    "[standards]\ntimezone = Asia/Shanghai\n"
	    "[grid]\norigin = 40.0 116.0\ncell_size = 1000\nrows = 5\n"
	    "cols = 5\n"
	    "[store]\ndir = %s\nsnapshot_interval = 5\n"
	    "[rule sensor_fault]\nwhen = fault == 1\nscope = sensor\n"
	    "severity = warning\n",
	    port, store);
	fclose(f);
}

/* The background: a gentle slope, the time of day and a fixed wobble. */
static double
level(int r, int c, int h)
{
	return 40 + 3 * r + 2 * c + 15 * sin(6.283185307 * (h % 24) / 24.0) +
	    2.5 * sin(r * 7.1 + c * 3.3 + h * 1.9);
}

static json_t *
sensor_of(const struct h_daemon *d, const char *cell)
{
	char path[64];
	long code;
	json_t *c, *s;

	snprintf(path, sizeof(path), "/api/v1/cells/%s", cell);
	c = h_json(d, path, &code);
	ck_assert_int_eq(code, 200);
	s = json_incref(json_array_get(json_object_get(c, "sensors"), 0));
	json_decref(c);
	ck_assert_ptr_nonnull(s);
	return s;
}

/* The fault kinds of a cell's first sensor, joined: "stuck", "". */
static void
kinds_of(const struct h_daemon *d, const char *cell, char *out, size_t len)
{
	json_t *s = sensor_of(d, cell), *k;
	size_t i;

	out[0] = '\0';
	json_array_foreach(
	    json_object_get(json_object_get(s, "faults"), "kinds"), i, k)
	{
		if (i > 0)
			strncat(out, ",", len - strlen(out) - 1);
		strncat(out, json_string_value(k), len - strlen(out) - 1);
	}
	json_decref(s);
}

START_TEST(stuck_sensor_and_plume)
{
	struct h_proc broker;
	struct h_daemon d;
	struct mosquitto *m;
	char store[512], kinds[64];
	int port = 0;
	int64_t h0 = h_hour_start(HOURS);
	double held = 0;
	json_t *j, *first, *east = NULL, *e;
	long code;
	size_t i;
	char *metrics;

	snprintf(store, sizeof(store), "%s/quality-store", h_tmpdir());
	h_broker_start(&broker, &port);
	write_conf(&d, port, store);
	h_daemon_start(&d, "quality-1.log");
	m = h_mqtt(port, "pub-quality");
	for (int h = 0; h <= HOURS; h++)
		for (int r = 0; r < 5; r++)
			for (int c = 0; c < 5; c++) {
				double v = level(r, c, h);

				if (r == 2 && c == 2)
					v += 80;
				if (r == 2 && c == 3)
					v += 30;
				if (r == 0 && c == 0 && h >= STUCK_FROM) {
					if (h == STUCK_FROM)
						held = v;
					v = held;
				}
				h_publishf(m, "aq/q/s",
				    "{\"sensor\":\"q-r%dc%d\",\"ts\":%lld,"
				    "\"period\":%d,\"cell\":\"r%03dc%03d\","
				    "\"pm25\":%.3f,\"ws\":3.5,\"wd\":270}",
				    r, c, (long long)(h0 + h * 3600),
				    h < HOURS ? 3600 : 60, r, c, v);
			}
	ck_assert(h_status_wait(&d, "readings.accepted",
	    25 * (HOURS + 1) - (HOURS + 1 - STUCK_FROM), 30));
	h_sleep_ms(300);

	/* The stuck sensor: flagged, its readings left out. */
	kinds_of(&d, "r000c000", kinds, sizeof(kinds));
	ck_assert_str_eq(kinds, "stuck");
	/* Flagged within hours of the onset (3 at least: the run it
	 * takes), left out from then on. */
	ck_assert_int_ge(
	    h_status(&d, "rejected.sensor_fault"), HOURS + 1 - STUCK_FROM - 12);
	ck_assert_int_le(
	    h_status(&d, "rejected.sensor_fault"), HOURS + 1 - STUCK_FROM - 3);
	kinds_of(&d, "r001c001", kinds, sizeof(kinds));
	ck_assert_str_eq(kinds, "");
	/* The cell list counts it, for the map's mark. */
	j = h_json(&d, "/api/v1/cells?limit=100", &code);
	ck_assert_int_eq(code, 200);
	json_array_foreach(json_object_get(j, "results"), i, e)
	{
		ck_assert_int_eq(
		    json_integer_value(json_object_get(e, "faulty_sensors")),
		    strcmp(json_string_value(json_object_get(e, "id")),
			"r000c000") == 0
			? 1
			: 0);
	}
	json_decref(j);
	{
		char url[128];

		snprintf(
		    url, sizeof(url), "http://127.0.0.1:%d/metrics", d.http);
		ck_assert_ptr_nonnull(metrics = h_get(url, &code));
		ck_assert_int_eq(code, 200);
		ck_assert_ptr_nonnull(strstr(
		    metrics, "aqgrid_sensors_faulty{kind=\"stuck\"} 1\n"));
		ck_assert_ptr_nonnull(strstr(
		    metrics, "aqgrid_sensors_faulty{kind=\"spike\"} 0\n"));
		free(metrics);
	}

	/* The data-quality rule fires for the stuck sensor only. */
	{
		json_t *a = NULL, *r0;
		long long t0 = h_ms();

		while (h_ms() - t0 < 15000) {
			a = h_json(&d, "/api/v1/alerts?state=firing", &code);
			if (json_array_size(json_object_get(a, "results")) > 0)
				break;
			json_decref(a);
			a = NULL;
			h_sleep_ms(200);
		}
		ck_assert_ptr_nonnull(a);
		ck_assert_uint_eq(
		    json_array_size(json_object_get(a, "results")), 1);
		r0 = json_array_get(json_object_get(a, "results"), 0);
		ck_assert_str_eq(json_string_value(json_object_get(r0, "rule")),
		    "sensor_fault");
		ck_assert_str_eq(
		    json_string_value(json_object_get(r0, "sensor")), "q-r0c0");
		json_decref(a);
	}

	/* The plume: its cell first, and east of it the source lies west. */
	j = h_json(&d, "/api/v1/hotspots", &code);
	ck_assert_int_eq(code, 200);
	ck_assert_int_ge(json_integer_value(json_object_get(j, "count")), 2);
	first = json_array_get(json_object_get(j, "results"), 0);
	ck_assert_str_eq(
	    json_string_value(json_object_get(first, "cell")), "r002c002");
	ck_assert_int_eq(json_integer_value(json_object_get(first, "rank")), 1);
	ck_assert(json_real_value(json_object_get(first, "mean_excess")) > 50);
	json_array_foreach(json_object_get(j, "results"), i, e)
	{
		if (strcmp(json_string_value(json_object_get(e, "cell")),
			"r002c003") == 0)
			east = e;
	}
	ck_assert_ptr_nonnull(east);
	ck_assert_str_eq(
	    json_string_value(json_object_get(east, "source")), "upwind");
	ck_assert_str_eq(
	    json_string_value(json_object_get(east, "source_compass")), "W");
	ck_assert(json_real_value(json_object_get(east, "wind_speed")) == 3.5);
	json_decref(j);

	/* kill -9: the image and the journal give back the same flags. */
	(void)h_stop(&d.proc, SIGKILL, 5);
	h_daemon_start(&d, "quality-2.log");
	h_sleep_ms(500);
	kinds_of(&d, "r000c000", kinds, sizeof(kinds));
	ck_assert_str_eq(kinds, "stuck");
	kinds_of(&d, "r002c002", kinds, sizeof(kinds));
	ck_assert_str_eq(kinds, "");
	/* Still stuck: still flagged, still left out. */
	h_publishf(m, "aq/q/s",
	    "{\"sensor\":\"q-r0c0\",\"ts\":%lld,\"period\":60,"
	    "\"cell\":\"r000c000\",\"pm25\":%.3f}",
	    (long long)(h0 + HOURS * 3600 + 60), held);
	h_sleep_ms(300);
	kinds_of(&d, "r000c000", kinds, sizeof(kinds));
	ck_assert_str_eq(kinds, "stuck");
	h_mqtt_close(m);
	ck_assert_int_eq(h_stop(&d.proc, SIGTERM, 10), 0);
	h_stop(&broker, SIGTERM, 5);
}
END_TEST

static Suite *
quality_suite(void)
{
	Suite *s = suite_create("integ_quality");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, stuck_sensor_and_plume);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_run(quality_suite());
}
