/*
 * check_integ_daemon: the built aqgridd against a real mosquitto broker and
 * real HTTP on loopback -- exact values from scripted readings, placement,
 * a broker restart, readings queued while the daemon was down, the
 * malformed-payload corpus, configuration errors and reload.
 */
#include <sys/stat.h>

#include <check.h>
#include <dirent.h>
#include <jansson.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/reason.h"
#include "tests/harness.h"

static void write_conf(struct h_daemon *d, int mqtt_port, const char *extra);

static void
write_conf(struct h_daemon *d, int mqtt_port, const char *extra)
{
	FILE *f;

	snprintf(d->conf, sizeof(d->conf), "%s/aqgridd-%d.conf", h_tmpdir(),
	    mqtt_port);
	ck_assert_ptr_nonnull(f = fopen(d->conf, "w"));
	fprintf(f,
	    "[mqtt]\nhost = 127.0.0.1\nport = %d\nclient_id = aqgridd-test\n"
	    "backoff_min = 1\nbackoff_max = 1\n"
	    "subscribe = aq/test/json/+ json 1\n"
	    "subscribe = aq/test/senml/+ senml 1\n"
	    "subscribe = aq/test/airgradient/+ airgradient 1\n"
	    "subscribe = aq/test/sensor.community/+ sensor.community 1\n"
	    "[http]\nlisten = 127.0.0.1:0\nweb_root = web\n"
	    "threads = 2\n"
	    "[standards]\ntimezone = Asia/Shanghai\n"
	    "[grid]\norigin = 40.0 116.0\ncell_size = 1000\nrows = 3\n"
	    "cols = 4\n"
	    "[area north]\nname = 北\nname_en = North\n"
	    "cells = r000c000-r000c003\n"
	    "[area south]\nname = 南\nname_en = South\n"
	    "cells = r001c000-r002c003\n"
	    "[sensor reg-1]\ncell = r002c003\n"
	    "calibrate = pm25 2.0 1.0\n%s",
	    mqtt_port, extra != NULL ? extra : "");
	fclose(f);
}

START_TEST(exact_values)
{
	struct h_proc broker;
	struct h_daemon d;
	struct mosquitto *m;
	int port = 0;
	int64_t h0 = h_hour_start(30);
	json_t *c, *aqi, *conc, *s;
	long code;

	h_broker_start(&broker, &port);
	write_conf(&d, port, NULL);
	h_daemon_start(&d, "exact.log");
	m = h_mqtt(port, "pub-exact");
	/* 25 hourly means of PM2.5 80 ug/m3 in r000c001, then one reading of
	 * the next hour: the latest complete hour is the 25th. */
	for (int h = 0; h < 25; h++)
		h_publishf(m, "aq/test/json/s-a",
		    "{\"ts\":%lld,\"period\":3600,\"cell\":\"r000c001\","
		    "\"pm25\":80,\"o3\":%d,\"units\":{\"o3\":\"ppb\"}}",
		    (long long)(h0 + h * 3600), 50);
	h_publishf(m, "aq/test/json/s-a",
	    "{\"ts\":%lld,\"period\":60,\"cell\":\"r000c001\",\"pm25\":1}",
	    (long long)(h0 + 25 * 3600));
	/* A registered sensor is calibrated: 2 * 10 + 1 = 21. */
	h_publishf(m, "aq/test/json/reg-1",
	    "{\"ts\":%lld,\"period\":3600,\"pm25\":10}",
	    (long long)(h0 + 24 * 3600));
	h_publishf(m, "aq/test/json/reg-1",
	    "{\"ts\":%lld,\"period\":60,\"pm25\":10}",
	    (long long)(h0 + 25 * 3600));
	/* Placement by position: 40.0 N 116.0 E is the north-west corner,
	 * so a point just south-east of it is r000c000. */
	h_publishf(m, "aq/test/json/s-pos",
	    "{\"ts\":%lld,\"lat\":39.999,\"lon\":116.001,\"pm25\":5}",
	    (long long)(h0 + 25 * 3600));
	/* Refused: a cell the grid lacks, and no place at all. */
	h_publishf(m, "aq/test/json/s-x",
	    "{\"ts\":%lld,\"cell\":\"r009c009\",\"pm25\":5}",
	    (long long)(h0 + 25 * 3600));
	h_publishf(m, "aq/test/json/s-y", "{\"ts\":%lld,\"pm25\":5}",
	    (long long)(h0 + 25 * 3600));
	ck_assert(h_status_wait(&d, "readings.accepted", 29, 20));
	ck_assert(h_status_wait(&d, "rejected.unknown_cell", 1, 5));
	ck_assert(h_status_wait(&d, "rejected.unplaced", 1, 5));
	h_sleep_ms(300); /* views are published at least every 100 ms */

	c = h_json(&d, "/api/v1/cells/r000c001", &code);
	ck_assert_int_eq(code, 200);
	aqi = json_object_get(c, "aqi");
	conc = json_object_get(c, "concentrations");
	/* HJ 633-2026 hourly: PM2.5 1 h 80 read on the 24 h column: 100 +
	 * 50 * (80 - 60) / (115 - 60) = 118.2 -> 119. */
	ck_assert_int_eq(
	    json_integer_value(json_object_get(aqi, "value")), 119);
	ck_assert_int_eq(json_integer_value(json_object_get(aqi, "level")), 3);
	ck_assert_str_eq(
	    json_string_value(json_object_get(aqi, "color")), "#FF7E00");
	ck_assert(json_real_value(json_object_get(conc, "pm25_1h")) == 80.0);
	ck_assert(json_real_value(json_object_get(conc, "pm25_24h")) == 80.0);
	/* 50 ppb O3 = 50 * 47.997 / 24.465 = 98.0932... ug/m3. */
	ck_assert(json_real_value(json_object_get(conc, "o3_1h")) == 98.093);
	ck_assert_int_eq(json_array_size(json_object_get(c, "exceeds")), 1);
	ck_assert_str_eq(
	    json_string_value(json_array_get(json_object_get(c, "exceeds"), 0)),
	    "pm25_24h");
	ck_assert_str_eq(
	    json_string_value(json_object_get(c, "area")), "north");
	json_decref(c);

	c = h_json(&d, "/api/v1/cells/r002c003", &code);
	conc = json_object_get(c, "concentrations");
	ck_assert(json_real_value(json_object_get(conc, "pm25_1h")) == 21.0);
	/* The sensor's newest values, as sent and as calibrated. */
	s = json_array_get(json_object_get(c, "sensors"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(s, "id")), "reg-1");
	ck_assert_str_eq(json_string_value(json_object_get(s, "status")), "ok");
	ck_assert(json_real_value(json_object_get(
		      json_object_get(s, "raw"), "pm25")) == 10.0);
	ck_assert(json_real_value(json_object_get(
		      json_object_get(s, "values"), "pm25")) == 21.0);
	json_decref(c);
	c = h_json(&d, "/api/v1/cells/r000c000", &code);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(c, "sensors_total")), 1);
	json_decref(c);
	c = h_json(&d, "/api/v1/cells/r009c009", &code);
	ck_assert_int_eq(code, 404);
	json_decref(c);

	h_mqtt_close(m);
	ck_assert_int_eq(h_stop(&d.proc, SIGTERM, 30), 0);
	h_stop(&broker, SIGTERM, 5);
}
END_TEST

START_TEST(broker_restart)
{
	struct h_proc broker;
	struct h_daemon d;
	struct mosquitto *m;
	int port = 0;
	int64_t t = h_hour_start(2);

	h_broker_start(&broker, &port);
	write_conf(&d, port, NULL);
	h_daemon_start(&d, "restart.log");
	m = h_mqtt(port, "pub-restart");
	h_publishf(m, "aq/test/json/s-r",
	    "{\"ts\":%lld,\"cell\":\"r001c001\",\"pm25\":30}", (long long)t);
	ck_assert(h_status_wait(&d, "readings.accepted", 1, 10));
	h_mqtt_close(m);

	/* The broker dies and comes back on the same port, without the
	 * session: the daemon must reconnect and subscribe again. */
	h_stop(&broker, SIGKILL, 5);
	ck_assert(h_status_wait(&d, "mqtt.reconnects", 0, 1));
	h_sleep_ms(300);
	ck_assert_int_eq(h_status(&d, "mqtt.connected"), 0);
	h_broker_start(&broker, &port);
	ck_assert(h_status_wait(&d, "mqtt.connected", 1, 20));
	ck_assert_int_ge(h_status(&d, "mqtt.reconnects"), 1);
	m = h_mqtt(port, "pub-restart2");
	for (int k = 1; k <= 5; k++)
		h_publishf(m, "aq/test/json/s-r",
		    "{\"ts\":%lld,\"cell\":\"r001c001\",\"pm25\":30}",
		    (long long)(t + 60 * k));
	ck_assert_msg(h_status_wait(&d, "readings.accepted", 6, 20),
	    "readings after the restart were not counted: resubscribed?");
	h_mqtt_close(m);
	ck_assert_int_eq(h_stop(&d.proc, SIGTERM, 30), 0);
	h_stop(&broker, SIGTERM, 5);
}
END_TEST

/* Readings published while the daemon is down, with MQTT 5 (loop 0) and
 * with 3.1.1 (loop 1): both keep a persistent session. */
START_TEST(queued_while_down)
{
	struct h_proc broker;
	struct h_daemon d;
	struct mosquitto *m;
	int port = 0, n = 200;
	int64_t t = h_hour_start(3);

	h_broker_start(&broker, &port);
	write_conf(&d, port, _i == 0 ? NULL : "[mqtt]\nprotocol = 3.1.1\n");
	h_daemon_start(&d, _i == 0 ? "queued-v5-1.log" : "queued-v311-1.log");
	ck_assert_int_eq(h_stop(&d.proc, SIGTERM, 30), 0);

	/* While the daemon is away, the broker queues QoS 1 messages for its
	 * persistent session. */
	m = h_mqtt(port, "pub-queued");
	for (int k = 0; k < n; k++)
		h_publishf(m, "aq/test/json/s-q",
		    "{\"ts\":%lld,\"cell\":\"r002c000\",\"pm25\":%d}",
		    (long long)(t + 10 * k), k % 50);
	h_daemon_start(&d, _i == 0 ? "queued-v5-2.log" : "queued-v311-2.log");
	ck_assert_ptr_nonnull(
	    h_log_wait(&d.proc, _i == 0 ? "(MQTT 5)" : "(MQTT 3.1.1)", 1));
	ck_assert(h_status_wait(&d, "readings.accepted", n, 30));
	/* A marker published after them arrives after them: once it is
	 * counted, nothing more of the backlog can come. */
	h_publishf(m, "aq/test/json/s-q",
	    "{\"ts\":%lld,\"cell\":\"r002c000\",\"pm25\":1}",
	    (long long)(t + 10 * n));
	ck_assert(h_status_wait(&d, "readings.accepted", n + 1, 10));
	ck_assert_int_eq(h_status(&d, "readings.accepted"), n + 1);
	ck_assert_int_eq(h_status(&d, "rejected.duplicate"), 0);
	h_mqtt_close(m);
	ck_assert_int_eq(h_stop(&d.proc, SIGTERM, 30), 0);
	h_stop(&broker, SIGTERM, 5);
}
END_TEST

START_TEST(malformed_corpus)
{
	static const char *const decoders[] = {
	    "json", "senml", "airgradient", "sensor.community", "hj212"};
	const char *root = "tests/fixtures/payloads/bad";
	size_t big = 1 << 20;
	char *mb;
	struct h_proc broker;
	struct h_daemon d;
	struct mosquitto *m;
	long long expect[REASON_COUNT] = {0};
	int port = 0, files = 0, good = 0;
	int64_t t = h_hour_start(2);

	h_broker_start(&broker, &port);
	write_conf(&d, port, "[mqtt]\nsubscribe = aq/test/hj212/+ hj212 1\n");
	h_daemon_start(&d, "corpus.log");
	m = h_mqtt(port, "pub-corpus");
	for (size_t k = 0; k < sizeof(decoders) / sizeof(decoders[0]); k++) {
		char dir[512], path[1024], topic[128];
		DIR *dp;
		struct dirent *e;

		snprintf(dir, sizeof(dir), "%s/%s", root, decoders[k]);
		ck_assert_ptr_nonnull(dp = opendir(dir));
		while ((e = readdir(dp)) != NULL) {
			char *body, *dash;
			long len;
			FILE *f;
			int r;

			if (e->d_name[0] == '.' ||
			    (dash = strstr(e->d_name, "--")) == NULL)
				continue;
			for (r = 0; r < REASON_COUNT; r++)
				if ((size_t)(dash - e->d_name) ==
					strlen(reason_name((enum reason)r)) &&
				    strncmp(e->d_name,
					reason_name((enum reason)r),
					(size_t)(dash - e->d_name)) == 0)
					break;
			ck_assert_msg(
			    r < REASON_COUNT, "%s: unknown reason", e->d_name);
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			ck_assert_ptr_nonnull(f = fopen(path, "rb"));
			fseek(f, 0, SEEK_END);
			len = ftell(f);
			rewind(f);
			body = malloc((size_t)len + 1);
			ck_assert_uint_eq(
			    fread(body, 1, (size_t)len, f), (size_t)len);
			fclose(f);
			/* An empty last level: no sensor id from the topic,
			 * as in the decoders' own corpus test. */
			snprintf(
			    topic, sizeof(topic), "aq/test/%s/", decoders[k]);
			h_publish(m, topic, body, (size_t)len, 1);
			free(body);
			expect[r]++;
			files++;
			/* Good traffic goes on between the bad. */
			h_publishf(m, "aq/test/json/s-good",
			    "{\"ts\":%lld,\"cell\":\"r001c002\",\"pm25\":%d}",
			    (long long)(t + files), files);
			good++;
		}
		closedir(dp);
	}
	/* A megabyte to each decoder, made here rather than kept. */
	ck_assert_ptr_nonnull(mb = malloc(big));
	memset(mb, '{', big);
	for (size_t k = 0; k < sizeof(decoders) / sizeof(decoders[0]); k++) {
		char topic[128];

		snprintf(topic, sizeof(topic), "aq/test/%s/mb", decoders[k]);
		h_publish(m, topic, mb, big, 1);
		expect[REASON_OVERSIZE]++;
	}
	free(mb);
	ck_assert_int_ge(files, 230);
	ck_assert(h_status_wait(&d, "readings.accepted", good, 30));
	for (int r = 0; r < REASON_COUNT; r++) {
		char path[64];

		if (expect[r] == 0)
			continue;
		snprintf(path, sizeof(path), "rejected.%s",
		    reason_name((enum reason)r));
		ck_assert_msg(h_status_wait(&d, path, expect[r], 10),
		    "%s: expected %lld, got %lld", path, expect[r],
		    h_status(&d, path));
	}
	ck_assert_int_eq(h_status(&d, "readings.accepted"), good);
	ck_assert(h_alive(&d.proc));
	h_mqtt_close(m);
	ck_assert_int_eq(h_stop(&d.proc, SIGTERM, 30), 0);
	h_stop(&broker, SIGTERM, 5);
}
END_TEST

START_TEST(config_check)
{
	struct h_daemon d;
	const char *ok[] = {
	    h_bin("AQGRIDD", "build/aqgridd"), "-t", "-c", d.conf, NULL};
	struct h_proc p;
	const char *line;

	write_conf(&d, 1884, NULL);
	h_spawn(&p, ok, "conf-ok.log", true);
	ck_assert_int_eq(h_stop(&p, 0, 30), 0);
	ck_assert_ptr_nonnull(h_log_wait(&p, "configuration OK", 1));

	/* Every problem, each as file:line: reason; exit 1. */
	write_conf(&d, 1884,
	    "[standards]\ngrade = 3\nbogus = 1\n[grid]\nrows = -1\n"
	    "[area x]\ncells = r000c000-r009c009\n");
	h_spawn(&p, ok, "conf-bad.log", true);
	ck_assert_int_eq(h_stop(&p, 0, 30), 1);
	line = h_log_wait(&p, ":34: grade: '3' is not 1 or 2", 1);
	ck_assert_ptr_nonnull(line);
	ck_assert_ptr_nonnull(strstr(line, d.conf));
	ck_assert_ptr_nonnull(h_log_wait(&p, ":35: unknown key 'bogus'", 1));
	ck_assert_ptr_nonnull(h_log_wait(&p, ":37: rows: -1 is outside", 1));
	ck_assert_ptr_nonnull(h_log_wait(&p, ":39: cells: bad rectangle", 1));
	ck_assert_ptr_null(h_log_wait(&p, "configuration OK", 0));

	/* What the parser hands on is checked too: a rule, a receiver and
	 * the tokens file, each where it is written. */
	{
		char tokens[600], extra[1400];
		FILE *f;

		snprintf(tokens, sizeof(tokens), "%s/tokens", h_tmpdir());
		ck_assert_ptr_nonnull(f = fopen(tokens, "w"));
		fputs("ops only-two-fields\n", f);
		fclose(f);
		ck_assert_int_eq(chmod(tokens, 0600), 0);
		snprintf(extra, sizeof(extra),
		    "[http]\ntokens_file = %s\n"
		    "[rule hot]\nwhen = pm25_1h >> 75\n"
		    "[receiver duty]\ntype = carrier-pigeon\n",
		    tokens);
		write_conf(&d, 1884, extra);
	}
	h_spawn(&p, ok, "conf-alerts.log", true);
	ck_assert_int_eq(h_stop(&p, 0, 30), 1);
	ck_assert_ptr_nonnull(h_log_wait(&p, ":36: when:", 1));
	ck_assert_ptr_nonnull(
	    h_log_wait(&p, ":37: [receiver duty]: type must be", 1));
	ck_assert_ptr_nonnull(h_log_wait(&p, "tokens:1:", 1));
	ck_assert_ptr_null(h_log_wait(&p, "only-two-fields", 0));
}
END_TEST

START_TEST(reload)
{
	struct h_proc broker;
	struct h_daemon d;
	int port = 0;
	long code;
	json_t *s;

	h_broker_start(&broker, &port);
	write_conf(&d, port, NULL);
	h_daemon_start(&d, "reload.log");
	/* A bad configuration is refused and the old one kept. */
	write_conf(&d, port, "[standards]\naqi = hj633-1999\n");
	kill(d.proc.pid, SIGHUP);
	ck_assert_ptr_nonnull(h_log_wait(&d.proc, "keeping the running", 10));
	s = h_json(&d, "/api/v1/status", &code);
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_object_get(s, "standard"), "aqi")),
	    "hj633-2026");
	json_decref(s);
	/* A good one is swapped in. */
	write_conf(&d, port, "[standards]\naqi = hj633-2012\n");
	kill(d.proc.pid, SIGHUP);
	ck_assert_ptr_nonnull(h_log_wait(&d.proc, "applied", 10));
	s = h_json(&d, "/api/v1/status", &code);
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_object_get(s, "standard"), "aqi")),
	    "hj633-2012");
	json_decref(s);
	ck_assert_int_eq(h_stop(&d.proc, SIGTERM, 30), 0);
	h_stop(&broker, SIGTERM, 5);
}
END_TEST

static Suite *
integ_suite(void)
{
	Suite *s = suite_create("integ_daemon");
	TCase *tc = tcase_create("daemon");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, exact_values);
	tcase_add_test(tc, broker_restart);
	tcase_add_loop_test(tc, queued_while_down, 0, 2);
	tcase_add_test(tc, malformed_corpus);
	tcase_add_test(tc, config_check);
	tcase_add_test(tc, reload);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_run(integ_suite());
}
