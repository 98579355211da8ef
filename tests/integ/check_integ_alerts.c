/*
 * check_integ_alerts: alerts from end to end -- the built aqgridd with a
 * real mosquitto, its store, rules written here, and a real webhook
 * receiver inside the test (a libmicrohttpd server on a loopback port that
 * records every request, keyed by its Idempotency-Key).  Readings are
 * hourly means (period 3600): a reading of hour k+1 completes hour k,
 * whose pm25_1h the rules read.  Each test counts notifications by
 * distinct idempotency key, as a receiver deduplicating them would.
 */
#include <check.h>
#include <jansson.h>
#include <mosquitto.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tests/harness.h"

#define WAIT_S 60 /* generous: the daemon may run under valgrind */

static int hook_port; /* the recording sink's */

/* One test's world: broker, daemon, publisher, store folder. */
struct env {
	struct h_proc broker;
	int mqtt;
	struct h_daemon d;
	struct mosquitto *m;
	char name[64];
	char store[512];
	char extra[8192];
};

static bool has_object(const json_t *body, const char *cell);
static int notices(
    const char *rule, const char *kind, const char *object, json_t **first);
static bool wait_notices(
    const char *rule, const char *kind, const char *object, int want, int secs);
static int requests(const char *rule, const char *kind, const char *object);
static int distinct_keys(void);
static void check_keys(void);
static void env_start(struct env *e, const char *name, const char *extra);
static void daemon_start(struct env *e, const char *log);
static void env_stop(struct env *e);
static char *newest(const struct h_daemon *d, const char *cell);
static void reading(
    struct env *e, const char *sensor, const char *cell, int64_t ts, int pm);
static void step(
    struct env *e, const char *sensor, const char *cell, int64_t ts, int pm);
static void next_tick(void);
static long long store_count(const char *store, const char *sql);
static bool store_wait(
    const char *store, const char *sql, long long want, int secs);
static const char *alert_record(const char *store, const char *rule);

/* Whether the body lists an alert of this cell or sensor. */
static bool
has_object(const json_t *body, const char *object)
{
	const json_t *a;
	size_t k;

	json_array_foreach(json_object_get(body, "alerts"), k, a)
	{
		const char *c = json_string_value(json_object_get(a, "cell"));
		const char *s = json_string_value(json_object_get(a, "sensor"));

		if ((c != NULL && strcmp(c, object) == 0) ||
		    (s != NULL && strcmp(s, object) == 0))
			return true;
	}
	return false;
}

static bool
is_match(const struct h_hook *r, const char *rule, const char *kind,
    const char *object)
{
	const char *ru = json_string_value(
	    json_object_get(json_object_get(r->body, "rule"), "id"));
	const char *ki = json_string_value(json_object_get(r->body, "kind"));

	return ru != NULL && ki != NULL && strcmp(ru, rule) == 0 &&
	    strcmp(ki, kind) == 0 &&
	    (object == NULL || has_object(r->body, object));
}

/*
 * Notifications of rule and kind listing object (a cell or sensor; NULL:
 * any), counted by distinct Idempotency-Key; *first (if not NULL) gets
 * a new reference to the first one's body.
 */
static int
notices(const char *rule, const char *kind, const char *object, json_t **first)
{
	int n = 0;

	if (first != NULL)
		*first = NULL;
	for (int k = 0; k < h_sink_count(); k++) {
		const struct h_hook *r = h_sink_get(k);
		bool seen = false;

		if (!is_match(r, rule, kind, object))
			continue;
		for (int j = 0; j < k && !seen; j++)
			seen = strcmp(h_sink_get(j)->idem, r->idem) == 0;
		if (seen)
			continue;
		if (n++ == 0 && first != NULL)
			*first = json_incref(r->body);
	}
	return n;
}

/* Requests (repeats included) of rule and kind listing object. */
static int
requests(const char *rule, const char *kind, const char *object)
{
	int n = 0;

	for (int k = 0; k < h_sink_count(); k++)
		n += is_match(h_sink_get(k), rule, kind, object);
	return n;
}

static bool
wait_notices(
    const char *rule, const char *kind, const char *object, int want, int secs)
{
	long long until = h_ms() + secs * 1000LL;

	while (notices(rule, kind, object, NULL) < want && h_ms() < until)
		h_sleep_ms(20);
	return notices(rule, kind, object, NULL) >= want;
}

static int
distinct_keys(void)
{
	int n = 0;

	for (int k = 0; k < h_sink_count(); k++) {
		bool seen = false;

		for (int j = 0; j < k && !seen; j++)
			seen = strcmp(h_sink_get(j)->idem,
				   h_sink_get(k)->idem) == 0;
		n += !seen;
	}
	return n;
}

/* Every request is a documented webhook: JSON, to /hook, with its key in
 * the header and the body alike. */
static void
check_keys(void)
{
	for (int k = 0; k < h_sink_count(); k++) {
		const struct h_hook *r = h_sink_get(k);
		const char *key = json_string_value(
		    json_object_get(r->body, "idempotency_key"));

		ck_assert_msg(r->body != NULL, "request %d is not JSON", k);
		ck_assert_str_eq(r->path, "/hook");
		ck_assert_msg(strncmp(r->ctype, "application/json", 16) == 0,
		    "Content-Type %s", r->ctype);
		ck_assert_ptr_nonnull(key);
		ck_assert_str_eq(r->idem, key);
	}
}

/*
 * A broker, the receiver (on a fresh port) and a daemon named name (its
 * client id too) with a store, a 10 x 12 grid -- area north is the 100
 * cells r000c000-r009c009, area south the 20 cells of columns 10 and 11 --
 * and extra (rules, sensors) in its configuration.
 */
static void
env_start(struct env *e, const char *name, const char *extra)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	snprintf(e->store, sizeof(e->store), "%s/%s-store", h_tmpdir(), name);
	snprintf(e->extra, sizeof(e->extra), "%s", extra);
	h_sink_clear();
	hook_port = h_sink_start(0);
	h_broker_start(&e->broker, &e->mqtt);
	daemon_start(e, "1");
	e->m = h_mqtt(e->mqtt, name);
}

/* Writes the configuration (the receiver's port may have changed) and
 * starts the daemon, its log "<name>-<log>.log". */
static void
daemon_start(struct env *e, const char *log)
{
	char path[600];
	FILE *f;

	snprintf(
	    e->d.conf, sizeof(e->d.conf), "%s/%s.conf", h_tmpdir(), e->name);
	ck_assert_ptr_nonnull(f = fopen(e->d.conf, "w"));
	fprintf(f,
	    "[mqtt]\nhost = 127.0.0.1\nport = %d\nclient_id = aqd-%s\n"
	    "backoff_min = 1\nbackoff_max = 1\n"
	    "subscribe = aq/al/+ json 1\n"
	    "[http]\nlisten = 127.0.0.1:0\nweb_root = web\nthreads = 2\n"
	    "[standards]\ntimezone = Asia/Shanghai\n"
	    "[grid]\norigin = 40.0 116.0\ncell_size = 500\nrows = 10\n"
	    "cols = 12\n"
	    "[area north]\nname = 北\nname_en = North\n"
	    "cells = r000c000-r009c009\n"
	    "[area south]\nname = 南\nname_en = South\n"
	    "cells = r000c010-r009c011\n"
	    "[store]\ndir = %s\nsnapshot_interval = 5\n"
	    "[receiver hook]\ntype = webhook\n"
	    "url = http://127.0.0.1:%d/hook\ntimeout = 5\n%s",
	    e->mqtt, e->name, e->store, hook_port, e->extra);
	fclose(f);
	snprintf(path, sizeof(path), "%s-%s.log", e->name, log);
	h_daemon_start(&e->d, path);
}

static void
env_stop(struct env *e)
{
	check_keys();
	h_mqtt_close(e->m);
	ck_assert_int_eq(h_stop(&e->d.proc, SIGTERM, 30), 0);
	h_stop(&e->broker, SIGTERM, 5);
	h_sink_stop();
}

/* The cell's newest reading as served ("" when none); owned. */
static char *
newest(const struct h_daemon *d, const char *cell)
{
	char path[128];
	json_t *c;
	const char *s;
	char *out;

	snprintf(path, sizeof(path), "/api/v1/cells/%s", cell);
	c = h_json(d, path, NULL);
	s = json_string_value(json_object_get(c, "newest"));
	out = strdup(s != NULL ? s : "");
	json_decref(c);
	return out;
}

/* An hourly mean of PM2.5 from sensor in cell for the hour starting ts. */
static void
reading(struct env *e, const char *sensor, const char *cell, int64_t ts, int pm)
{
	char topic[64];

	snprintf(topic, sizeof(topic), "aq/al/%s", sensor);
	h_publishf(e->m, topic,
	    "{\"ts\":%lld,\"period\":3600,\"cell\":\"%s\",\"pm25\":%d}",
	    (long long)ts, cell, pm);
}

/*
 * reading(), then waits until the cell's view holds it.  Views are
 * evaluated by the ingest thread in the order it publishes them, so the
 * next step's view cannot overtake this one: every hour is evaluated.
 */
static void
step(struct env *e, const char *sensor, const char *cell, int64_t ts, int pm)
{
	char *before = newest(&e->d, cell), *now = NULL;
	long long until = h_ms() + WAIT_S * 1000LL;

	reading(e, sensor, cell, ts, pm);
	do {
		free(now);
		now = newest(&e->d, cell);
		if (strcmp(now, before) != 0)
			break;
		h_sleep_ms(10);
	} while (h_ms() < until);
	ck_assert_msg(strcmp(now, before) != 0, "%s: reading at %lld not seen",
	    cell, (long long)ts);
	free(before);
	free(now);
}

/*
 * Returns once the wall clock has passed the start of the second after
 * the next: the daemon's once-a-second tick (which sends the notices the
 * evaluations queued) has run in between.  The scenario's cadence, not a
 * wait for something to settle: live, hours are an hour apart.
 */
static void
next_tick(void)
{
	time_t t = time(NULL);

	while (time(NULL) < t + 2)
		h_sleep_ms(20);
	h_sleep_ms(150);
}

/* One number from the store's database, read-only beside the daemon. */
static long long
store_count(const char *store, const char *sql)
{
	char path[600];
	sqlite3 *db;
	sqlite3_stmt *st;
	long long n = -1;

	snprintf(path, sizeof(path), "file:%s/aqgrid.db?mode=ro", store);
	ck_assert_int_eq(sqlite3_open_v2(path, &db,
			     SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL),
	    SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static bool
store_wait(const char *store, const char *sql, long long want, int secs)
{
	long long until = h_ms() + secs * 1000LL;

	while (store_count(store, sql) < want && h_ms() < until)
		h_sleep_ms(50);
	return store_count(store, sql) >= want;
}

/* The stored state of the (one) alert of rule, as written by the engine
 * ("key=value" lines; static buffer, "" if none). */
static const char *
alert_record(const char *store, const char *rule)
{
	static char out[4096];
	char path[600], like[128];
	sqlite3 *db;
	sqlite3_stmt *st;

	out[0] = '\0';
	snprintf(path, sizeof(path), "file:%s/aqgrid.db?mode=ro", store);
	snprintf(like, sizeof(like), "rule=%s\n%%", rule);
	ck_assert_int_eq(sqlite3_open_v2(path, &db,
			     SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL),
	    SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	ck_assert_int_eq(sqlite3_prepare_v2(db,
			     "SELECT value FROM rec WHERE ns = 'alert' AND "
			     "CAST(value AS TEXT) LIKE ?",
			     -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(st, 1, like, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(out, sizeof(out), "%.*s", sqlite3_column_bytes(st, 0),
		    (const char *)sqlite3_column_blob(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return out;
}

#define RULE_PM(id, extra)                                                        \
	"[rule " id "]\nname = PM2.5 hour high\nname_zh = PM2.5小时浓度高\n" \
	"when = pm25_1h > 100\nclear = 80\nseverity = critical\n"                 \
	"labels = team=air\n"                                                     \
	"summary = {cell} PM2.5 {value} > {threshold}\n"                          \
	"summary_zh = {cell} PM2.5 {value} 超过 {threshold}\n" extra

/* a. One exceedance: one firing notification, with the documented body,
 * then one resolved. */
START_TEST(exceedance_fires_once_and_resolves_once)
{
	struct env e;
	json_t *f, *r, *a, *ra;
	int64_t h = h_hour_start(6);
	char key[128];

	env_start(&e, "once", RULE_PM("pm_high", ""));
	step(&e, "s-a", "r002c003", h, 150);
	step(&e, "s-a", "r002c003", h + 3600, 150);
	ck_assert(wait_notices("pm_high", "firing", "r002c003", 1, WAIT_S));
	ck_assert_int_eq(notices("pm_high", "firing", NULL, &f), 1);

	/* The body, field by field (README, Notifications). */
	snprintf(key, sizeof(key), "aqgrid-%lld-hook",
	    (long long)json_integer_value(json_object_get(f, "notice_id")));
	ck_assert_str_eq(
	    json_string_value(json_object_get(f, "idempotency_key")), key);
	ck_assert_str_eq(json_string_value(json_object_get(f, "version")), "1");
	ck_assert_str_eq(
	    json_string_value(json_object_get(f, "receiver")), "hook");
	ck_assert_str_eq(
	    json_string_value(json_object_get(f, "status")), "firing");
	ck_assert_str_eq(
	    json_string_value(json_object_get(f, "severity")), "critical");
	ck_assert_str_eq(
	    json_string_value(json_object_get(f, "scope")), "cell");
	ck_assert_str_eq(
	    json_string_value(json_object_get(f, "area")), "north");
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_object_get(f, "labels"), "team")),
	    "air");
	a = json_object_get(f, "rule");
	ck_assert_str_eq(
	    json_string_value(json_object_get(a, "name")), "PM2.5 hour high");
	ck_assert_str_eq(
	    json_string_value(json_object_get(a, "indicator")), "pm25_1h");
	ck_assert_str_eq(json_string_value(json_object_get(a, "op")), ">");
	ck_assert(json_number_value(json_object_get(a, "threshold")) == 100);
	ck_assert_int_ge(json_integer_value(json_object_get(f, "created")),
	    (json_int_t)time(NULL) - 600);
	ck_assert_int_eq(json_array_size(json_object_get(f, "alerts")), 1);
	a = json_array_get(json_object_get(f, "alerts"), 0);
	ck_assert_str_eq(
	    json_string_value(json_object_get(a, "cell")), "r002c003");
	ck_assert_str_eq(
	    json_string_value(json_object_get(a, "area")), "north");
	ck_assert(json_is_null(json_object_get(a, "sensor")));
	ck_assert(json_is_null(json_object_get(a, "ends_at")));
	ck_assert(json_number_value(json_object_get(a, "value")) == 150);
	/* Event time: the end of the hour that exceeded. */
	ck_assert_int_eq(
	    json_integer_value(json_object_get(a, "event_hour")), h + 3600);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(a, "starts_at")), h + 3600);
	ck_assert_ptr_nonnull(
	    strstr(json_string_value(json_object_get(a, "summary")),
		"r002c003 PM2.5"));
	ck_assert_ptr_nonnull(strstr(
	    json_string_value(json_object_get(a, "summary_zh")), "超过 100"));

	/* Still over: nothing new.  Then under clear: resolved, once. */
	step(&e, "s-a", "r002c003", h + 7200, 40);
	step(&e, "s-a", "r002c003", h + 3 * 3600, 40);
	ck_assert(wait_notices("pm_high", "resolved", "r002c003", 1, WAIT_S));
	ck_assert_int_eq(notices("pm_high", "resolved", NULL, &r), 1);
	ck_assert_str_eq(
	    json_string_value(json_object_get(r, "status")), "resolved");
	ra = json_array_get(json_object_get(r, "alerts"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(ra, "fingerprint")),
	    json_string_value(json_object_get(a, "fingerprint")));
	ck_assert_int_eq(json_integer_value(json_object_get(ra, "id")),
	    json_integer_value(json_object_get(a, "id")));
	ck_assert_int_eq(
	    json_integer_value(json_object_get(ra, "ends_at")), h + 3 * 3600);
	ck_assert(json_number_value(json_object_get(ra, "value")) == 40);
	ck_assert_int_gt(json_integer_value(json_object_get(r, "notice_id")),
	    json_integer_value(json_object_get(f, "notice_id")));
	ck_assert_int_eq(notices("pm_high", "firing", NULL, NULL), 1);
	ck_assert_int_eq(distinct_keys(), 2);
	json_decref(f);
	json_decref(r);
	env_stop(&e);
}
END_TEST

/*
 * b. A noisy series around the threshold (100, clear 80, clear_for 2 h):
 * one firing, one resolved, when the value has stayed under clear for two
 * hours.  Each hour gets its own tick, as live, so a wrong resolve and a
 * second firing would each be sent.
 */
START_TEST(noisy_series_fires_once_resolves_once)
{
	static const int pm[] = {
	    95, 105, 90, 130, 70, 95, 99, 110, 60, 70, 75, 50};
	const int n = (int)(sizeof(pm) / sizeof(pm[0]));
	struct env e;
	json_t *r;
	int64_t h = h_hour_start(n + 1);

	env_start(&e, "noisy", RULE_PM("hyst", "clear_for = 2h\n"));
	step(&e, "s-n", "r005c005", h, pm[0]);
	step(&e, "s-n", "r005c005", h + 3600, pm[1]);
	step(&e, "s-n", "r005c005", h + 7200, pm[2]); /* hour 1: 105 */
	ck_assert(wait_notices("hyst", "firing", "r005c005", 1, WAIT_S));
	for (int k = 3; k < n; k++) {
		next_tick();
		step(&e, "s-n", "r005c005", h + 3600 * k, pm[k]);
	}
	/* Hours 8, 9, 10 (60, 70, 75) under clear: resolved at the end of
	 * hour 10, not at hour 2 (90: under the threshold, over clear), nor
	 * hour 4 (70, then 95), nor hour 6 (without hysteresis). */
	ck_assert(wait_notices("hyst", "resolved", "r005c005", 1, WAIT_S));
	next_tick();
	ck_assert_int_eq(notices("hyst", "resolved", NULL, &r), 1);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(
		json_array_get(json_object_get(r, "alerts"), 0), "ends_at")),
	    h + 11 * 3600);
	ck_assert_int_eq(notices("hyst", "firing", NULL, NULL), 1);
	ck_assert_int_eq(distinct_keys(), 2);
	json_decref(r);
	env_stop(&e);
}
END_TEST

/* c. The 100 cells of north firing together: one notification listing
 * them all; the two of south: one of their own. */
START_TEST(hundred_cells_one_notification)
{
	struct env e;
	json_t *f;
	char cell[16], sensor[32];
	int64_t h = h_hour_start(3);
	bool seen[100] = {false};
	const json_t *a;
	size_t k;

	/* group_wait: the first alert of a burst waits 5 s for the rest
	 * (the default 0 sends it at once, the rest grouped 30 s later). */
	env_start(&e, "group", RULE_PM("grp", "") "[alerts]\ngroup_wait = 5\n");
	for (int i = 0; i < 102; i++) {
		snprintf(cell, sizeof(cell), "r%03dc%03d",
		    i < 100 ? i / 10 : i - 100, i < 100 ? i % 10 : 10);
		snprintf(sensor, sizeof(sensor), "g-%s", cell);
		reading(&e, sensor, cell, h, 150);
	}
	ck_assert(h_status_wait(&e.d, "readings.accepted", 102, WAIT_S));
	/* The completing hour for all of them, in one burst. */
	for (int i = 0; i < 102; i++) {
		snprintf(cell, sizeof(cell), "r%03dc%03d",
		    i < 100 ? i / 10 : i - 100, i < 100 ? i % 10 : 10);
		snprintf(sensor, sizeof(sensor), "g-%s", cell);
		reading(&e, sensor, cell, h + 3600, 150);
	}
	ck_assert(wait_notices("grp", "firing", "r009c009", 1, WAIT_S));
	ck_assert(wait_notices("grp", "firing", "r001c010", 1, WAIT_S));
	next_tick();
	ck_assert_int_eq(notices("grp", "firing", "r000c000", &f), 1);
	ck_assert_str_eq(
	    json_string_value(json_object_get(f, "area")), "north");
	ck_assert_int_eq(json_array_size(json_object_get(f, "alerts")), 100);
	json_array_foreach(json_object_get(f, "alerts"), k, a)
	{
		const char *c = json_string_value(json_object_get(a, "cell"));
		int r = -1, col = -1;

		ck_assert_int_eq(sscanf(c, "r%3dc%3d", &r, &col), 2);
		ck_assert_int_lt(r, 10);
		ck_assert_int_lt(col, 10);
		ck_assert_msg(!seen[r * 10 + col], "%s listed twice", c);
		seen[r * 10 + col] = true;
	}
	json_decref(f);
	ck_assert_int_eq(notices("grp", "firing", "r000c010", &f), 1);
	ck_assert_str_eq(
	    json_string_value(json_object_get(f, "area")), "south");
	ck_assert_int_eq(json_array_size(json_object_get(f, "alerts")), 2);
	json_decref(f);
	ck_assert_int_eq(distinct_keys(), 2);
	env_stop(&e);
}
END_TEST

/*
 * d. Offline is not clean: the sensor of a firing cell goes silent (its
 * interval 1 s: offline after 3 s); the sensor and the cell get their
 * liveness alerts, the pollution alert neither resolves nor fires again,
 * and resolves from the data once it returns.
 */
START_TEST(offline_is_not_clean)
{
	struct env e;
	json_t *r;
	int64_t h = h_hour_start(6);

	env_start(&e, "offline",
	    RULE_PM("pm_off",
		"") "[rule gone]\nwhen = offline == 1\nscope = sensor\nfor = "
		    "0\n"
		    "severity = info\nsummary = {sensor} offline\n"
		    "[rule blind]\nwhen = offline == 1\nfor = 0\n"
		    "summary = {cell} unknown\n"
		    "[sensor s-off]\ncell = r007c001\ninterval = 1\n");
	step(&e, "s-off", "r007c001", h, 150);
	step(&e, "s-off", "r007c001", h + 3600, 150);
	ck_assert(wait_notices("pm_off", "firing", "r007c001", 1, WAIT_S));

	/* Silent. */
	ck_assert(wait_notices("gone", "firing", "s-off", 1, WAIT_S));
	ck_assert(wait_notices("blind", "firing", "r007c001", 1, WAIT_S));
	next_tick();
	ck_assert_int_eq(requests("pm_off", "resolved", NULL), 0);
	ck_assert_int_eq(requests("pm_off", "firing", NULL), 1);

	/* Back, still over (hour 1), then under (hour 2). */
	step(&e, "s-off", "r007c001", h + 7200, 40);
	ck_assert(wait_notices("gone", "resolved", "s-off", 1, WAIT_S));
	ck_assert(wait_notices("blind", "resolved", "r007c001", 1, WAIT_S));
	ck_assert_int_eq(requests("pm_off", "resolved", NULL), 0);
	step(&e, "s-off", "r007c001", h + 3 * 3600, 40);
	ck_assert(wait_notices("pm_off", "resolved", "r007c001", 1, WAIT_S));
	ck_assert_int_eq(notices("pm_off", "resolved", NULL, &r), 1);
	/* Resolved by the hour of data under clear, not by the silence. */
	ck_assert_int_eq(
	    json_integer_value(json_object_get(
		json_array_get(json_object_get(r, "alerts"), 0), "ends_at")),
	    h + 3 * 3600);
	ck_assert_int_eq(notices("pm_off", "firing", NULL, NULL), 1);
	json_decref(r);
	env_stop(&e);
}
END_TEST

/*
 * e. kill -9 with an alert firing and announced; the condition clears
 * while the daemon is down (readings queued by the broker for its
 * persistent session).  After the restart: no firing again, the resolved
 * one arrives; nothing else, beyond repeats of a key.
 */
START_TEST(kill9_announces_nothing_twice)
{
	struct env e;
	json_t *r;
	int64_t h = h_hour_start(6);
	const char *rec;

	env_start(&e, "kill9", RULE_PM("k9", ""));
	step(&e, "s-k", "r004c011", h, 150);
	step(&e, "s-k", "r004c011", h + 3600, 150);
	ck_assert(wait_notices("k9", "firing", "r004c011", 1, WAIT_S));
	/* The engine records the announcement right after handing the
	 * notice to the outbox; wait for it, as a crash before it may
	 * legitimately announce again. */
	{
		long long until = h_ms() + WAIT_S * 1000LL;

		while (strstr(alert_record(e.store, "k9"), "\nannounced=1") ==
			NULL &&
		    h_ms() < until)
			h_sleep_ms(50);
		rec = alert_record(e.store, "k9");
		ck_assert_msg(strstr(rec, "\nannounced=1") != NULL, "%s", rec);
	}
	(void)h_stop(&e.d.proc, SIGKILL, 5);
	reading(&e, "s-k", "r004c011", h + 7200, 40);
	reading(&e, "s-k", "r004c011", h + 3 * 3600, 40);
	daemon_start(&e, "2");
	ck_assert(wait_notices("k9", "resolved", "r004c011", 1, WAIT_S));
	next_tick();
	ck_assert_int_eq(notices("k9", "resolved", NULL, &r), 1);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(
		json_array_get(json_object_get(r, "alerts"), 0), "ends_at")),
	    h + 3 * 3600);
	ck_assert_int_eq(notices("k9", "firing", NULL, NULL), 1);
	ck_assert_int_eq(distinct_keys(), 2);
	json_decref(r);
	env_stop(&e);
}
END_TEST

/*
 * f. The receiver is down when an alert fires: the notification waits in
 * the store's outbox, its attempts failing, and is delivered once when the
 * receiver is back on the same port.
 */
START_TEST(receiver_down_then_back_delivers_once)
{
	static const char outbox[] =
	    "SELECT count(*) FROM rec WHERE ns = 'outbox'";
	static const char tries[] =
	    "SELECT count(*) FROM log WHERE ns = 'attempts'";
	struct env e;
	int port;
	int64_t h = h_hour_start(6);

	env_start(&e, "down", RULE_PM("pm_down", ""));
	port = hook_port;
	h_sink_stop();
	step(&e, "s-d", "r006c006", h, 150);
	step(&e, "s-d", "r006c006", h + 3600, 150);
	ck_assert(store_wait(e.store, outbox, 1, WAIT_S));
	ck_assert(store_wait(e.store, tries, 1, WAIT_S));
	ck_assert_int_eq(store_count(e.store, outbox), 1);
	ck_assert_int_eq(requests("pm_down", "firing", NULL), 0);

	h_sink_start(port);
	ck_assert(wait_notices("pm_down", "firing", "r006c006", 1, WAIT_S));
	{
		long long until = h_ms() + WAIT_S * 1000LL;

		while (store_count(e.store, outbox) > 0 && h_ms() < until)
			h_sleep_ms(50);
	}
	ck_assert_int_eq(store_count(e.store, outbox), 0);
	ck_assert_int_eq(requests("pm_down", "firing", NULL), 1);
	ck_assert_int_eq(distinct_keys(), 1);
	env_stop(&e);
}
END_TEST

/*
 * g. Inhibition: severe (pm25_1h > 250) mutes heavy (> 150) in the same
 * cell.  Cell A is both: only severe is sent; cell B (another area) only
 * heavy: sent.  When A falls to heavy, its heavy alert, firing all along,
 * is announced.
 */
START_TEST(inhibition_mutes_heavy_while_severe)
{
	struct env e;
	json_t *f;
	int64_t h = h_hour_start(6);

	env_start(&e, "inhibit",
	    "[rule heavy]\nwhen = pm25_1h > 150\nclear = 140\n"
	    "[rule severe]\nwhen = pm25_1h > 250\nclear = 240\n"
	    "severity = critical\n"
	    "[inhibit severe_mutes_heavy]\nsource = rule=severe\n"
	    "target = rule=heavy\nequal = cell\n");
	step(&e, "s-ia", "r003c003", h, 300);
	step(&e, "s-ib", "r003c010", h, 200);
	step(&e, "s-ia", "r003c003", h + 3600, 300);
	step(&e, "s-ib", "r003c010", h + 3600, 200);
	ck_assert(wait_notices("severe", "firing", "r003c003", 1, WAIT_S));
	ck_assert(wait_notices("heavy", "firing", "r003c010", 1, WAIT_S));
	next_tick();
	ck_assert_int_eq(requests("heavy", "firing", "r003c003"), 0);
	ck_assert_int_eq(requests("severe", "firing", "r003c010"), 0);

	/* A: 300 for one more hour, then 200: severe ends, heavy speaks. */
	step(&e, "s-ia", "r003c003", h + 7200, 200);
	step(&e, "s-ia", "r003c003", h + 3 * 3600, 200);
	ck_assert(wait_notices("severe", "resolved", "r003c003", 1, WAIT_S));
	ck_assert(wait_notices("heavy", "firing", "r003c003", 1, WAIT_S));
	next_tick();
	ck_assert_int_eq(notices("heavy", "firing", "r003c003", &f), 1);
	ck_assert_int_eq(json_array_size(json_object_get(f, "alerts")), 1);
	/* Firing since the first hour, muted until now. */
	ck_assert_int_eq(
	    json_integer_value(json_object_get(
		json_array_get(json_object_get(f, "alerts"), 0), "starts_at")),
	    h + 3600);
	json_decref(f);
	ck_assert_int_eq(distinct_keys(), 4);
	env_stop(&e);
}
END_TEST

/*
 * g'. A silence through the API (POST /api/v1/silences, a bearer token):
 * the silenced cell's alert fires unannounced while a cell of another
 * area is announced; expiring the silence (DELETE) announces it.
 */
START_TEST(silence_through_the_api)
{
	static const char token[] = "tok-0123456789abcdef";
	struct env e;
	json_t *j, *f;
	char tokens[512], extra[1024], body[256], path[64];
	int64_t h = h_hour_start(6);
	long code;
	FILE *t;

	snprintf(tokens, sizeof(tokens), "%s/silence.tokens", h_tmpdir());
	ck_assert_ptr_nonnull(t = fopen(tokens, "w"));
	fprintf(t, "ops %s rw\n", token);
	fclose(t);
	ck_assert_int_eq(chmod(tokens, 0600), 0);
	snprintf(extra, sizeof(extra), "%s[http]\ntokens_file = %s\n",
	    RULE_PM("pm_sil", ""), tokens);
	env_start(&e, "silence", extra);

	snprintf(body, sizeof(body),
	    "{\"matchers\":\"rule=pm_sil cell=r008c008\",\"ends_at\":%lld,"
	    "\"comment\":\"sensor maintenance\"}",
	    (long long)time(NULL) + 3600);
	j = h_request(&e.d, "POST", "/api/v1/silences", NULL, body, &code);
	ck_assert_int_eq(code, 401);
	json_decref(j);
	j = h_request(&e.d, "POST", "/api/v1/silences", token, body, &code);
	ck_assert_int_eq(code, 201);
	snprintf(path, sizeof(path), "/api/v1/silences/%lld",
	    (long long)json_integer_value(json_object_get(j, "id")));
	json_decref(j);

	step(&e, "s-s1", "r008c008", h, 150);
	step(&e, "s-s2", "r008c010", h, 150);
	step(&e, "s-s1", "r008c008", h + 3600, 150);
	step(&e, "s-s2", "r008c010", h + 3600, 150);
	ck_assert(wait_notices("pm_sil", "firing", "r008c010", 1, WAIT_S));
	next_tick();
	ck_assert_int_eq(requests("pm_sil", "firing", "r008c008"), 0);

	j = h_request(&e.d, "DELETE", path, token, NULL, &code);
	ck_assert_int_eq(code, 200);
	json_decref(j);
	ck_assert(wait_notices("pm_sil", "firing", "r008c008", 1, WAIT_S));
	next_tick();
	ck_assert_int_eq(notices("pm_sil", "firing", "r008c008", &f), 1);
	ck_assert_int_eq(json_array_size(json_object_get(f, "alerts")), 1);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(
		json_array_get(json_object_get(f, "alerts"), 0), "starts_at")),
	    h + 3600);
	json_decref(f);
	ck_assert_int_eq(distinct_keys(), 2);
	env_stop(&e);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("integ_alerts");
	TCase *tc = tcase_create("alerts");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, exceedance_fires_once_and_resolves_once);
	tcase_add_test(tc, noisy_series_fires_once_resolves_once);
	tcase_add_test(tc, hundred_cells_one_notification);
	tcase_add_test(tc, offline_is_not_clean);
	tcase_add_test(tc, kill9_announces_nothing_twice);
	tcase_add_test(tc, receiver_down_then_back_delivers_once);
	tcase_add_test(tc, inhibition_mutes_heavy_while_severe);
	tcase_add_test(tc, silence_through_the_api);
	suite_add_tcase(s, tc);
	return h_run(s);
}
