/*
 * check_integ_store: what aqgridd keeps across restarts, against a real
 * mosquitto and real HTTP -- a kill -9 in the middle of ingest loses and
 * doubles nothing (compared with a twin daemon that was never stopped), a
 * clean restart serves the same answers at once, and a damaged database or
 * state image is moved aside rather than crashing the daemon or serving
 * garbage.
 */
#include <check.h>
#include <jansson.h>
#include <mosquitto.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/harness.h"

#define CELL "r001c002"

static void write_conf(
    struct h_daemon *d, const char *name, int mqtt_port, const char *store);
static void publish_minutes(
    struct mosquitto *m, const char *sensor, int64_t from, int n, int seed);
static char *cell_facts(const struct h_daemon *d);
static char *hourly_rows(const char *store);
static bool same_facts(const struct h_daemon *a, const struct h_daemon *b,
    int secs, char **last_a, char **last_b);

/* A daemon named name (its client id too), with its store folder, or none
 * when store is NULL; images every 5 s. */
static void
write_conf(
    struct h_daemon *d, const char *name, int mqtt_port, const char *store)
{
	FILE *f;

	snprintf(d->conf, sizeof(d->conf), "%s/%s.conf", h_tmpdir(), name);
	ck_assert_ptr_nonnull(f = fopen(d->conf, "w"));
	fprintf(f,
	    "[mqtt]\nhost = 127.0.0.1\nport = %d\nclient_id = %s\n"
	    "backoff_min = 1\nbackoff_max = 1\n"
	    "subscribe = aq/store/+ json 1\n"
	    "[http]\nlisten = 127.0.0.1:0\nweb_root = web\nthreads = 2\n"
	    "[standards]\ntimezone = Asia/Shanghai\n"
	    "[grid]\norigin = 40.0 116.0\ncell_size = 1000\nrows = 3\n"
	    "cols = 4\n"
	    "[area all]\nname = 全\nname_en = All\ncells = r000c000-r002c003\n",
	    mqtt_port, name);
	if (store != NULL)
		fprintf(f, "[store]\ndir = %s\nsnapshot_interval = 5\n", store);
	fclose(f);
}

/* n one-minute readings of sensor in CELL from `from` on, every value
 * different so that a reading lost or counted twice shows in the means. */
static void
publish_minutes(
    struct mosquitto *m, const char *sensor, int64_t from, int n, int seed)
{
	char topic[64];

	snprintf(topic, sizeof(topic), "aq/store/%s", sensor);
	for (int k = 0; k < n; k++)
		h_publishf(m, topic,
		    "{\"ts\":%lld,\"period\":60,\"cell\":\"" CELL "\","
		    "\"pm25\":%d.%d,\"o3\":%d}",
		    (long long)(from + 60 * k), 20 + (seed + k) % 97, k % 10,
		    60 + (seed * 7 + k) % 53);
}

/* The cell's statistics as served: AQI, concentrations, validity, day. */
static char *
cell_facts(const struct h_daemon *d)
{
	json_t *c = h_json(d, "/api/v1/cells/" CELL, NULL), *keep;
	char *s;

	keep = json_pack("{s:O?,s:O?,s:O?,s:O?,s:O?,s:O?}", "hour",
	    json_object_get(c, "hour"), "aqi", json_object_get(c, "aqi"),
	    "concentrations", json_object_get(c, "concentrations"),
	    "valid_hours", json_object_get(c, "valid_hours"), "exceeds",
	    json_object_get(c, "exceeds"), "day", json_object_get(c, "day"));
	ck_assert_ptr_nonnull(keep);
	s = json_dumps(keep, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(keep);
	json_decref(c);
	return s;
}

/* Every hourly row of a store folder's database, as text. */
static char *
hourly_rows(const char *store)
{
	char path[600], *out = NULL;
	size_t len = 0;
	sqlite3 *db;
	sqlite3_stmt *st;
	FILE *f = open_memstream(&out, &len);

	snprintf(path, sizeof(path), "file:%s/aqgrid.db?mode=ro", store);
	ck_assert_int_eq(sqlite3_open_v2(path, &db,
			     SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL),
	    SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	ck_assert_int_eq(
	    sqlite3_prepare_v2(
		db, "SELECT * FROM hourly ORDER BY cell, hour", -1, &st, NULL),
	    SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (int i = 0; i < sqlite3_column_count(st); i++)
			fprintf(f, "%s|",
			    sqlite3_column_type(st, i) == SQLITE_NULL
				? "-"
				: (const char *)sqlite3_column_text(st, i));
		fputc('\n', f);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	fclose(f);
	return out;
}

/* Waits up to secs for both daemons to serve the same facts of CELL. */
static bool
same_facts(const struct h_daemon *a, const struct h_daemon *b, int secs,
    char **last_a, char **last_b)
{
	long long until = h_ms() + secs * 1000LL;

	for (;;) {
		free(*last_a);
		free(*last_b);
		*last_a = cell_facts(a);
		*last_b = cell_facts(b);
		if (strcmp(*last_a, *last_b) == 0)
			return true;
		if (h_ms() > until)
			return false;
		h_sleep_ms(200);
	}
}

START_TEST(kill9_during_ingest_loses_and_doubles_nothing)
{
	struct h_proc broker;
	struct h_daemon a, twin;
	struct mosquitto *m;
	char store[512], *fa = NULL, *fb = NULL, *ra, *rb;
	int port = 0;
	int64_t h0 = h_hour_start(26);
	long long base;

	snprintf(store, sizeof(store), "%s/kill9-store", h_tmpdir());
	h_broker_start(&broker, &port);
	write_conf(&a, "aq-killed", port, store);
	write_conf(&twin, "aq-twin", port, NULL);
	h_daemon_start(&a, "kill9-a1.log");
	h_daemon_start(&twin, "kill9-twin.log");
	m = h_mqtt(port, "pub-kill9");

	/* A day of hourly means, so that the 24-hour statistics and the day
	 * come from both the image and the journal. */
	for (int h = 0; h < 24; h++)
		h_publishf(m, "aq/store/hourly",
		    "{\"ts\":%lld,\"period\":3600,\"cell\":\"" CELL "\","
		    "\"pm25\":%d,\"o3\":%d}",
		    (long long)(h0 + 3600 * h), 30 + h * 3, 40 + h);
	publish_minutes(m, "s1", h0 + 24 * 3600, 30, 1);
	ck_assert(h_status_wait(&a, "readings.accepted", 54, 20));
	/* Let an image be taken (every 5 s, at the next message). */
	h_sleep_ms(5500);
	publish_minutes(m, "s1", h0 + 24 * 3600 + 1800, 20, 2);
	ck_assert(h_log_wait(&a.proc, "resumed", 0) == NULL);

	/* Killed while messages are flowing; more arrive while it is down
	 * (queued by the broker: the session persists). */
	publish_minutes(m, "s2", h0 + 24 * 3600, 40, 3);
	(void)h_stop(&a.proc, SIGKILL, 5);
	publish_minutes(m, "s2", h0 + 24 * 3600 + 2400, 60, 4);
	publish_minutes(m, "s1", h0 + 25 * 3600 - 600, 20, 5);

	h_daemon_start(&a, "kill9-a2.log");
	ck_assert_ptr_nonnull(h_log_wait(&a.proc, "resumed from", 5));
	ck_assert(h_status_wait(&twin, "readings.accepted", 194, 20));
	base = h_status(&a, "readings.accepted");
	ck_assert_msg(same_facts(&a, &twin, 20, &fa, &fb),
	    "after kill -9:\n%s\nnever stopped:\n%s", fa, fb);
	/* The facts include the valid hours and the means of every minute:
	 * equal means nothing was lost and nothing counted twice.  And
	 * they are real: the latest hour has data. */
	ck_assert_ptr_nonnull(strstr(fa, "\"pm25_1h\""));
	ck_assert_int_gt(base, 0);

	/* History goes on: the hours the twin has are in the store too. */
	publish_minutes(m, "s1", h0 + 26 * 3600, 1, 6);
	ck_assert(same_facts(&a, &twin, 20, &fa, &fb));
	h_sleep_ms(1500); /* the store's writer commits in the background */
	ra = hourly_rows(store);
	ck_assert_ptr_nonnull(strstr(ra, CELL "|"));
	/* 24 hourly hours + the hour of minutes, each as a row. */
	rb = ra;
	for (int n = 0; n < 26; n++) {
		ck_assert_msg((rb = strchr(rb, '\n')) != NULL,
		    "only %d rows:\n%s", n, ra);
		rb++;
	}
	free(ra);
	free(fa);
	free(fb);
	h_mqtt_close(m);
	ck_assert_int_eq(h_stop(&a.proc, SIGTERM, 10), 0);
	ck_assert_int_eq(h_stop(&twin.proc, SIGTERM, 10), 0);
	h_stop(&broker, SIGTERM, 5);
}
END_TEST

START_TEST(clean_restart_serves_the_same_at_once)
{
	struct h_proc broker;
	struct h_daemon d;
	struct mosquitto *m;
	char store[512], *before, *after;
	int port = 0;
	int64_t h0 = h_hour_start(27);

	snprintf(store, sizeof(store), "%s/restart-store", h_tmpdir());
	h_broker_start(&broker, &port);
	write_conf(&d, "aq-restart", port, store);
	h_daemon_start(&d, "restart-1.log");
	m = h_mqtt(port, "pub-restart");
	for (int h = 0; h < 26; h++)
		h_publishf(m, "aq/store/hourly",
		    "{\"ts\":%lld,\"period\":3600,\"cell\":\"" CELL "\","
		    "\"pm25\":%d,\"o3\":%d}",
		    (long long)(h0 + 3600 * h), 80 + h, 100 + 2 * h);
	ck_assert(h_status_wait(&d, "readings.accepted", 26, 20));
	h_sleep_ms(300);
	before = cell_facts(&d);
	ck_assert_ptr_nonnull(strstr(before, "\"pm25_24h\""));
	ck_assert_int_eq(h_stop(&d.proc, SIGTERM, 10), 0);

	/* With the broker gone too, nothing new can arrive: what is served
	 * comes from the store alone, from the first request on. */
	h_mqtt_close(m);
	h_stop(&broker, SIGTERM, 5);
	{
		const char *argv[] = {h_bin("AQGRIDD", "build/aqgridd"), "-f",
		    "-c", d.conf, NULL};
		static const char key[] = "http://127.0.0.1:";
		const char *line;

		h_spawn(&d.proc, argv, "restart-2.log", true);
		ck_assert_ptr_nonnull(
		    line = h_log_wait(&d.proc, "resumed from the state", 10));
		ck_assert_ptr_nonnull(line = h_log_wait(&d.proc, key, 10));
		d.http = atoi(strstr(line, key) + sizeof(key) - 1);
	}
	after = cell_facts(&d);
	ck_assert_str_eq(after, before);
	free(before);
	free(after);
	ck_assert_int_eq(h_stop(&d.proc, SIGTERM, 10), 0);
}
END_TEST

START_TEST(damaged_store_is_moved_aside)
{
	struct h_proc broker;
	struct h_daemon d;
	struct mosquitto *m;
	char store[512], path[600];
	FILE *f;
	int port = 0;
	struct stat sb;
	json_t *c;
	long code;

	snprintf(store, sizeof(store), "%s/damaged-store", h_tmpdir());
	ck_assert_int_eq(mkdir(store, 0750), 0);
	snprintf(path, sizeof(path), "%s/aqgrid.db", store);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs("SQLite format 3\nthis is not a database at all", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/state.img", store);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs("AQIMG01\0 half an image", f);
	fclose(f);

	h_broker_start(&broker, &port);
	write_conf(&d, "aq-damaged", port, store);
	h_daemon_start(&d, "damaged.log");
	ck_assert_ptr_nonnull(h_log_wait(&d.proc, "moved aside", 1));
	ck_assert_ptr_nonnull(h_log_wait(&d.proc, "state.img", 1));
	/* It serves, from nothing, and takes new data. */
	m = h_mqtt(port, "pub-damaged");
	h_publishf(m, "aq/store/s9",
	    "{\"ts\":%lld,\"period\":3600,\"cell\":\"" CELL "\",\"pm25\":12}",
	    (long long)h_hour_start(2));
	h_publishf(m, "aq/store/s9",
	    "{\"ts\":%lld,\"period\":60,\"cell\":\"" CELL "\",\"pm25\":12}",
	    (long long)h_hour_start(1));
	ck_assert(h_status_wait(&d, "readings.accepted", 2, 20));
	h_sleep_ms(300);
	c = h_json(&d, "/api/v1/cells/" CELL, &code);
	ck_assert_int_eq(code, 200);
	ck_assert(
	    json_real_value(json_object_get(
		json_object_get(c, "concentrations"), "pm25_1h")) == 12.0);
	json_decref(c);
	/* The damaged file is kept for a post-mortem. */
	snprintf(path, sizeof(path), "%s/aqgrid.db", store);
	ck_assert_int_eq(stat(path, &sb), 0);
	h_mqtt_close(m);
	ck_assert_int_eq(h_stop(&d.proc, SIGTERM, 10), 0);
	h_stop(&broker, SIGTERM, 5);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("integ_store");
	TCase *tc = tcase_create("store");

	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, kill9_during_ingest_loses_and_doubles_nothing);
	tcase_add_test(tc, clean_restart_serves_the_same_at_once);
	tcase_add_test(tc, damaged_store_is_moved_aside);
	suite_add_tcase(s, tc);
	return h_run(s);
}
