/*
 * check_integ_faults: aqgridd under faults of its surroundings, each with a
 * real daemon, a real mosquitto and real HTTP -- a disk that really fills
 * (a 4 MiB tmpfs under the store folder), a wall clock that steps forward
 * and back while the monotonic clock runs on (libfaketime), and a broker
 * killed with SIGKILL while a publisher is sending and restarted on the
 * same port.
 */
/* unshare(2) and CLONE_NEWNS are Linux's; glibc shows them under
 * _GNU_SOURCE. */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <mosquitto.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "tests/harness.h"

#define CELL "r001c002"
#define OTHER "r000c000"
#define FAKETIME_LIB "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"
#define PUB_N 600 /* readings the killed broker's publisher sends */

/* The publisher of the broker test, run in its own thread: it never calls
 * Check (a failure is written to err for the test to report). */
struct pub {
	int port;
	int64_t from;
	_Atomic int acked; /* readings the broker acknowledged */
	int reconnects;
	int cur_mid[8]; /* mids of the reading in flight (republished) */
	int ncur;
	bool cur_acked;
	char err[256];
};

static char mounted[4][512];
static int nmounted;

static void unmount_all(void);
static void mount_small(const char *dir);
static void fill(const char *path);
static void write_conf(
    struct h_daemon *d, const char *name, int mqtt_port, const char *store);
static double metric(const struct h_daemon *d, const char *name);
static bool metric_wait(
    const struct h_daemon *d, const char *name, double lo, double hi, int secs);
static json_t *readyz(const struct h_daemon *d, long *code);
static bool readyz_wait(const struct h_daemon *d, const char *status, int secs);
static char *cell_facts(const struct h_daemon *d);
static bool facts_wait(
    const struct h_daemon *d, const char *want, int secs, char **last);
static double pm25_1h(const struct h_daemon *d, const char *cell);
static int hourly_hours(
    const char *store, const char *cell, int64_t *hours, int max);
static char *sensor_status(const struct h_daemon *d);
static bool sensor_status_wait(
    const struct h_daemon *d, const char *want, int secs);
static void set_clock(const char *path, const char *offset);
static void pub_payload(
    char *buf, size_t len, const struct pub *p, int k, char *topic);
static void on_ack(struct mosquitto *m, void *obj, int mid);
static void *publisher(void *arg);

/* Lazily: the tmpfs goes when this process ends, even killed (its own
 * mount namespace), and is detached at exit, before the harness removes
 * the temporary folder (atexit runs in reverse order). */
static void
unmount_all(void)
{
	while (nmounted > 0)
		(void)umount2(mounted[--nmounted], MNT_DETACH);
}

/* A 4 MiB tmpfs at dir: a disk that fills for real.  Fails the test when
 * the kernel refuses (the fault tests run as root, here and in CI). */
static void
mount_small(const char *dir)
{
	static bool once;

	ck_assert_int_lt(nmounted, 4);
	if (!once) {
		once = true;
		(void)h_tmpdir(); /* its cleanup runs after unmount_all */
		atexit(unmount_all);
		/* A private namespace, so that nothing outlives the test; a
		 * system without one still gets the atexit.  Source and type
		 * are ignored here, but valgrind checks them as strings. */
		if (unshare(CLONE_NEWNS) == 0)
			(void)mount(
			    "none", "/", "none", MS_REC | MS_PRIVATE, NULL);
	}
	ck_assert_msg(
	    mkdir(dir, 0750) == 0, "mkdir %s: %s", dir, strerror(errno));
	ck_assert_msg(mount("tmpfs", dir, "tmpfs", 0, "size=4m,mode=0750") == 0,
	    "cannot mount a 4 MiB tmpfs at %s: %s -- the disk-full test "
	    "needs a real small file system (run as root, or with "
	    "CAP_SYS_ADMIN)",
	    dir, strerror(errno));
	snprintf(mounted[nmounted++], sizeof(mounted[0]), "%s", dir);
}

/* Writes path until the file system refuses another byte. */
static void
fill(const char *path)
{
	static const char block[65536];
	struct statvfs vs;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	size_t chunk = sizeof(block);

	ck_assert_int_ge(fd, 0);
	while (chunk > 0) {
		if (write(fd, block, chunk) < 0) {
			ck_assert_int_eq(errno, ENOSPC);
			chunk /= 2;
		}
	}
	ck_assert_int_eq(close(fd), 0);
	ck_assert_int_eq(statvfs(path, &vs), 0);
	ck_assert_uint_eq(vs.f_bavail, 0);
}

/* A daemon named name (its client id too), with a store folder unless
 * store is NULL; images every 5 s. */
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
	    "subscribe = aq/fault/+ json 1\n"
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

/* A sample of /metrics without labels, or -1 when absent. */
static double
metric(const struct h_daemon *d, const char *name)
{
	char url[128], *body, *p;
	long code;
	double v = -1;
	size_t n = strlen(name);

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", d->http);
	body = h_get(url, &code);
	ck_assert_msg(body != NULL && code == 200, "GET %s failed", url);
	for (p = body; p != NULL && *p != '\0';
	     p = strchr(p, '\n'), p += p != NULL) {
		if (strncmp(p, name, n) == 0 && p[n] == ' ') {
			v = strtod(p + n + 1, NULL);
			break;
		}
	}
	free(body);
	return v;
}

/* Waits up to secs for lo <= metric(name) <= hi. */
static bool
metric_wait(
    const struct h_daemon *d, const char *name, double lo, double hi, int secs)
{
	long long until = h_ms() + secs * 1000LL;

	do {
		double v = metric(d, name);

		if (v >= lo && v <= hi)
			return true;
		h_sleep_ms(100);
	} while (h_ms() < until);
	return false;
}

static json_t *
readyz(const struct h_daemon *d, long *code)
{
	return h_json(d, "/readyz", code);
}

/* Waits up to secs for /readyz to say status. */
static bool
readyz_wait(const struct h_daemon *d, const char *status, int secs)
{
	long long until = h_ms() + secs * 1000LL;

	do {
		json_t *r = readyz(d, NULL);
		bool ok =
		    strcmp(json_string_value(json_object_get(r, "status")),
			status) == 0;

		json_decref(r);
		if (ok)
			return true;
		h_sleep_ms(100);
	} while (h_ms() < until);
	return false;
}

/* The cell's event-time results as served: hour, AQI, concentrations,
 * valid hours, exceedances, day. */
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

/* Waits up to secs for d to serve the facts want (*last: what it served,
 * owned). */
static bool
facts_wait(const struct h_daemon *d, const char *want, int secs, char **last)
{
	long long until = h_ms() + secs * 1000LL;

	for (;;) {
		free(*last);
		*last = cell_facts(d);
		if (strcmp(*last, want) == 0)
			return true;
		if (h_ms() > until)
			return false;
		h_sleep_ms(200);
	}
}

/* The PM2.5 of a cell's latest complete hour, or -1. */
static double
pm25_1h(const struct h_daemon *d, const char *cell)
{
	char path[64];
	json_t *c, *v;
	double x;

	snprintf(path, sizeof(path), "/api/v1/cells/%s", cell);
	c = h_json(d, path, NULL);
	v = json_object_get(json_object_get(c, "concentrations"), "pm25_1h");
	x = json_is_number(v) ? json_number_value(v) : -1;
	json_decref(c);
	return x;
}

/* The hours (ends, Unix s) of cell's rows in the store folder's database,
 * read as another program would: read-only, beside the running daemon. */
static int
hourly_hours(const char *store, const char *cell, int64_t *hours, int max)
{
	char path[600];
	sqlite3 *db;
	sqlite3_stmt *st;
	int n = 0;

	snprintf(path, sizeof(path), "file:%s/aqgrid.db?mode=ro", store);
	ck_assert_int_eq(sqlite3_open_v2(path, &db,
			     SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL),
	    SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	ck_assert_int_eq(sqlite3_prepare_v2(db,
			     "SELECT hour FROM hourly WHERE cell = ? "
			     "ORDER BY hour",
			     -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(st, 1, cell, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW && n < max)
		hours[n++] = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* The statuses of CELL's listed sensors, "ok,offline,...". */
static char *
sensor_status(const struct h_daemon *d)
{
	json_t *c = h_json(d, "/api/v1/cells/" CELL, NULL), *s;
	char *out = NULL;
	size_t len = 0, k;
	FILE *f = open_memstream(&out, &len);

	json_array_foreach(json_object_get(c, "sensors"), k, s)
	{
		fprintf(f, "%s%s", k > 0 ? "," : "",
		    json_string_value(json_object_get(s, "status")));
	}
	fclose(f);
	json_decref(c);
	return out;
}

static bool
sensor_status_wait(const struct h_daemon *d, const char *want, int secs)
{
	long long until = h_ms() + secs * 1000LL;

	do {
		char *s = sensor_status(d);
		bool ok = strcmp(s, want) == 0;

		free(s);
		if (ok)
			return true;
		h_sleep_ms(100);
	} while (h_ms() < until);
	return false;
}

/* The daemon's wall clock: real time plus offset ("+3h", "-2h"), read by
 * libfaketime at every call (FAKETIME_NO_CACHE). */
static void
set_clock(const char *path, const char *offset)
{
	char tmp[600];
	FILE *f;

	/* Whole or not at all: the daemon may read it at any moment. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ck_assert_ptr_nonnull(f = fopen(tmp, "w"));
	fprintf(f, "%s\n", offset);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(rename(tmp, path), 0);
}

START_TEST(disk_full_degrades_and_recovers)
{
	struct h_proc broker;
	struct h_daemon d;
	struct mosquitto *m;
	char store[512], filler[600], *before_hour, *after_hour;
	int port = 0, n = 0;
	int64_t h0 = h_hour_start(12), hours[16];
	double committed;
	json_t *r, *c;
	long code;

	snprintf(store, sizeof(store), "%s/full", h_tmpdir());
	mount_small(store);
	snprintf(filler, sizeof(filler), "%s/filler", store);
	h_broker_start(&broker, &port);
	write_conf(&d, "aq-full", port, store);
	h_daemon_start(&d, "full.log");
	m = h_mqtt(port, "pub-full");

	/* Two hours while there is room; a reading of the third (another
	 * sensor's) completes the second. */
	for (int h = 0; h < 3; h++, n++)
		h_publishf(m, h < 2 ? "aq/fault/s1" : "aq/fault/s0",
		    "{\"ts\":%lld,\"period\":%d,\"cell\":\"" CELL "\","
		    "\"pm25\":%d}",
		    (long long)(h0 + 3600 * h), h < 2 ? 3600 : 60, 30 + 10 * h);
	ck_assert(h_status_wait(&d, "readings.accepted", n, 20));
	ck_assert_msg(
	    metric_wait(&d, "aqgrid_store_rows_committed_total", 2, 1e9, 20),
	    "the two hours were not written while there was room: %g rows",
	    metric(&d, "aqgrid_store_rows_committed_total"));
	ck_assert(readyz_wait(&d, "ok", 5));
	c = h_json(&d, "/api/v1/cells/" CELL, NULL);
	before_hour = strdup(json_string_value(json_object_get(c, "hour")));
	json_decref(c);

	/* The disk fills up.  Then four more hours, and a minute of each in
	 * another cell: more than the journal's last page can hold. */
	fill(filler);
	for (int h = 2; h < 7; h++, n++)
		h_publishf(m, "aq/fault/s1",
		    "{\"ts\":%lld,\"period\":%d,\"cell\":\"" CELL "\","
		    "\"pm25\":%d}",
		    (long long)(h0 + 3600 * h), h < 6 ? 3600 : 60, 30 + 10 * h);
	for (int k = 0; k < 60; k++, n++)
		h_publishf(m, "aq/fault/s2",
		    "{\"ts\":%lld,\"period\":60,\"cell\":\"" OTHER "\","
		    "\"pm25\":%d,\"o3\":%d}",
		    (long long)(h0 + 3600 * 2 + 60 * k), 10 + k % 7, 50 + k);

	/* Ingest and the live API keep working: every reading taken, the
	 * newest complete hour (the sixth, PM2.5 80) served. */
	ck_assert(h_status_wait(&d, "readings.accepted", n, 30));
	ck_assert_int_eq(h_status(&d, "readings.accepted"), n);
	ck_assert_msg(readyz_wait(&d, "degraded", 30),
	    "/readyz never said degraded on a full disk (see %s)", d.proc.log);
	for (long long until = h_ms() + 5000;
	     pm25_1h(&d, CELL) != 80.0 && h_ms() < until;)
		h_sleep_ms(100);
	ck_assert(pm25_1h(&d, CELL) == 80.0);
	c = h_json(&d, "/api/v1/cells/" CELL, &code);
	ck_assert_int_eq(code, 200);
	ck_assert_str_ne(
	    json_string_value(json_object_get(c, "hour")), before_hour);
	after_hour = strdup(json_string_value(json_object_get(c, "hour")));
	json_decref(c);

	r = readyz(&d, &code);
	ck_assert_int_eq(code, 200);
	ck_assert(json_is_true(json_object_get(r, "ready")));
	ck_assert_str_eq(
	    json_string_value(json_object_get(r, "status")), "degraded");
	ck_assert_int_eq(json_array_size(json_object_get(r, "reasons")), 1);
	ck_assert_ptr_nonnull(strstr(
	    json_string_value(json_array_get(json_object_get(r, "reasons"), 0)),
	    "store cannot write"));
	json_decref(r);
	ck_assert(metric(&d, "aqgrid_store_degraded") == 1);
	ck_assert(metric(&d, "aqgrid_store_commit_failures_total") > 0);
	ck_assert(metric(&d, "aqgrid_store_queue_rows") > 0);
	committed = metric(&d, "aqgrid_store_rows_committed_total");
	ck_assert_ptr_nonnull(h_log_wait(&d.proc, "store: cannot write", 10));
	/* The journal and the state image share the full folder: they warn,
	 * and nothing stops. */
	ck_assert_ptr_nonnull(
	    h_log_wait(&d.proc, "ingest: journal: cannot write", 10));
	ck_assert(h_alive(&d.proc));

	/* Space returns: the queued rows are written, at the next retry. */
	ck_assert_int_eq(unlink(filler), 0);
	ck_assert_msg(metric_wait(&d, "aqgrid_store_degraded", 0, 0, 90),
	    "the store did not write again once space returned (see %s)",
	    d.proc.log);
	ck_assert_ptr_nonnull(h_log_wait(&d.proc, "store: writing again", 10));
	ck_assert(readyz_wait(&d, "ok", 5));
	ck_assert(metric(&d, "aqgrid_store_rows_committed_total") > committed);
	/* A row for every hour of CELL with readings, h0 to h0 + 6 h, those
	 * of the full disk too. */
	ck_assert_int_eq(hourly_hours(store, CELL, hours, 16), 7);
	for (int h = 0; h < 7; h++)
		ck_assert_int_eq(hours[h], h0 + 3600 * h);
	/* And the live answers did not change. */
	c = h_json(&d, "/api/v1/cells/" CELL, NULL);
	ck_assert_str_eq(
	    json_string_value(json_object_get(c, "hour")), after_hour);
	json_decref(c);

	free(before_hour);
	free(after_hour);
	h_mqtt_close(m);
	ck_assert_int_eq(h_stop(&d.proc, SIGTERM, 30), 0);
	h_stop(&broker, SIGTERM, 5);
	unmount_all();
}
END_TEST

START_TEST(clock_jump_keeps_event_time)
{
	struct h_proc broker;
	struct h_daemon d;
	struct mosquitto *m;
	char store[512], clock[512], *before, *now = NULL;
	char env_clock[600], env_asan[600];
	const char *env[] = {"LD_PRELOAD=" FAKETIME_LIB, env_clock,
	    "FAKETIME_NO_CACHE=1", "FAKETIME_DONT_FAKE_MONOTONIC=1", env_asan,
	    NULL};
	const char *old_asan = getenv("ASAN_OPTIONS");
	int port = 0, n = 0;
	int64_t h0 = h_hour_start(28);
	long long t0, up[3], reconnects, accepted;
	json_t *r;
	long code;

	ck_assert_msg(access(FAKETIME_LIB, R_OK) == 0,
	    "%s is missing: install faketime (etc/deps.sh)", FAKETIME_LIB);
	snprintf(store, sizeof(store), "%s/jump-store", h_tmpdir());
	snprintf(clock, sizeof(clock), "%s/faketime.rc", h_tmpdir());
	snprintf(
	    env_clock, sizeof(env_clock), "FAKETIME_TIMESTAMP_FILE=%s", clock);
	/* An ASan build wants its runtime first; libfaketime comes first. */
	snprintf(env_asan, sizeof(env_asan),
	    "ASAN_OPTIONS=%s%sverify_asan_link_order=0",
	    old_asan != NULL ? old_asan : "", old_asan != NULL ? ":" : "");
	set_clock(clock, "+0");

	h_broker_start(&broker, &port);
	write_conf(&d, "aq-jump", port, store);
	t0 = h_ms();
	h_daemon_start_env(&d, "jump.log", env);
	m = h_mqtt(port, "pub-jump");
	/* A day and two hours of hourly means, then minutes of two sensors
	 * in the next hour: 24-hour statistics and a complete day. */
	for (int h = 0; h < 26; h++, n++)
		h_publishf(m, "aq/fault/hourly",
		    "{\"ts\":%lld,\"period\":3600,\"cell\":\"" CELL "\","
		    "\"pm25\":%d,\"o3\":%d}",
		    (long long)(h0 + 3600 * h), 40 + 3 * h, 60 + 5 * h);
	for (int k = 0; k < 20; k++, n++)
		h_publishf(m, k % 2 ? "aq/fault/s1" : "aq/fault/s2",
		    "{\"ts\":%lld,\"period\":60,\"cell\":\"" CELL "\","
		    "\"pm25\":%d}",
		    (long long)(h0 + 26 * 3600 + 60 * (k / 2)), 20 + k);
	ck_assert(h_status_wait(&d, "readings.accepted", n, 20));
	ck_assert(sensor_status_wait(&d, "ok,ok,ok", 5));
	h_sleep_ms(300); /* views are published at least every 100 ms */
	before = cell_facts(&d);
	ck_assert_ptr_nonnull(strstr(before, "\"pm25_24h\""));
	up[0] = h_status(&d, "uptime");
	reconnects = h_status(&d, "mqtt.reconnects");

	/* The machine's clock steps 3 h ahead: the sensors have been silent
	 * for hours by the wall clock, but what the readings say is what
	 * they said, and the daemon has not been up for hours. */
	set_clock(clock, "+3h");
	ck_assert_msg(sensor_status_wait(&d, "offline,offline,offline", 10),
	    "sensors still %s 3 h after their last reading", sensor_status(&d));
	ck_assert_msg(facts_wait(&d, before, 0, &now),
	    "event-time results changed with the clock:\n%s\nbefore:\n%s", now,
	    before);
	up[1] = h_status(&d, "uptime");
	ck_assert_msg(up[1] >= up[0] && up[1] <= (h_ms() - t0) / 1000 + 1,
	    "uptime %lld s after %lld s of running", up[1],
	    (h_ms() - t0) / 1000);
	r = readyz(&d, &code);
	ck_assert_int_eq(code, 200);
	ck_assert_str_eq(json_string_value(json_object_get(r, "status")), "ok");
	json_decref(r);

	/* And back, to 2 h behind the real time. */
	set_clock(clock, "-2h");
	ck_assert(sensor_status_wait(&d, "ok,ok,ok", 10));
	ck_assert_msg(facts_wait(&d, before, 0, &now),
	    "event-time results changed with the clock:\n%s\nbefore:\n%s", now,
	    before);
	up[2] = h_status(&d, "uptime");
	ck_assert_msg(up[2] >= up[1] && up[2] <= (h_ms() - t0) / 1000 + 1,
	    "uptime %lld s after %lld s of running (%lld before the step)",
	    up[2], (h_ms() - t0) / 1000, up[1]);
	/* A reading of the real now is 2 h ahead of the daemon's clock;
	 * one of 3 h ago is in its past. */
	accepted = h_status(&d, "readings.accepted");
	h_publishf(m, "aq/fault/s3",
	    "{\"ts\":%lld,\"period\":60,\"cell\":\"" OTHER "\",\"pm25\":9}",
	    (long long)time(NULL));
	ck_assert(h_status_wait(&d, "rejected.future", 1, 10));
	h_publishf(m, "aq/fault/s3",
	    "{\"ts\":%lld,\"period\":60,\"cell\":\"" OTHER "\",\"pm25\":9}",
	    (long long)time(NULL) - 3 * 3600);
	ck_assert(h_status_wait(&d, "readings.accepted", accepted + 1, 10));
	ck_assert_int_eq(h_status(&d, "rejected.future"), 1);
	ck_assert_int_eq(h_status(&d, "readings.accepted"), accepted + 1);
	ck_assert(facts_wait(&d, before, 1, &now));

	/* MQTT stayed up through both steps: its keepalive runs on the
	 * monotonic clock. */
	ck_assert_int_eq(h_status(&d, "mqtt.connected"), 1);
	ck_assert_int_eq(h_status(&d, "mqtt.reconnects"), reconnects);
	ck_assert(h_alive(&d.proc));
	free(before);
	free(now);
	h_mqtt_close(m);
	ck_assert_int_eq(h_stop(&d.proc, SIGTERM, 30), 0);
	h_stop(&broker, SIGTERM, 5);
}
END_TEST

/* Reading k: three sensors, one reading a minute each, all different. */
static void
pub_payload(char *buf, size_t len, const struct pub *p, int k, char *topic)
{
	snprintf(topic, 32, "aq/fault/s%d", k % 3);
	snprintf(buf, len,
	    "{\"ts\":%lld,\"period\":60,\"cell\":\"" CELL "\","
	    "\"pm25\":%d.%d,\"o3\":%d}",
	    (long long)(p->from + 60 * (k / 3)), 10 + (k * 7) % 61, k % 10,
	    40 + (k * 11) % 73);
}

static void
on_ack(struct mosquitto *m, void *obj, int mid)
{
	struct pub *p = obj;

	(void)m;
	for (int k = 0; k < p->ncur; k++)
		if (p->cur_mid[k] == mid)
			p->cur_acked = true;
}

/*
 * Publishes PUB_N readings at QoS 1, each once the one before was
 * acknowledged, riding out the broker's death: reconnects (same client id,
 * a persistent session) and, when no acknowledgement comes after a
 * reconnect, publishes the reading again -- the daemon must count it once.
 */
static void *
publisher(void *arg)
{
	struct pub *p = arg;
	struct mosquitto *m = mosquitto_new("pub-faults", false, p);
	long long until = h_ms() + 120000;

	if (m == NULL) {
		snprintf(p->err, sizeof(p->err), "mosquitto_new");
		return NULL;
	}
	mosquitto_publish_callback_set(m, on_ack);
	if (mosquitto_connect(m, "127.0.0.1", p->port, 30) != MOSQ_ERR_SUCCESS)
		snprintf(p->err, sizeof(p->err), "cannot connect");
	for (int k = 0; k < PUB_N && p->err[0] == '\0'; k++) {
		char body[256], topic[32];
		long long resend = 0;

		pub_payload(body, sizeof(body), p, k, topic);
		p->ncur = 0;
		p->cur_acked = false;
		while (!p->cur_acked && p->err[0] == '\0') {
			int rc = MOSQ_ERR_SUCCESS;

			if (p->ncur == 0 || (resend != 0 && h_ms() > resend)) {
				if (p->ncur == 8 ||
				    mosquitto_publish(m, &p->cur_mid[p->ncur],
					topic, (int)strlen(body), body, 1,
					false) != MOSQ_ERR_SUCCESS) {
					snprintf(p->err, sizeof(p->err),
					    "cannot publish reading %d", k);
					break;
				}
				p->ncur++;
				resend = 0;
			}
			if ((rc = mosquitto_loop(m, 20, 1)) !=
			    MOSQ_ERR_SUCCESS) {
				/* The broker is gone: knock until it is back.
				 */
				h_sleep_ms(100);
				if (mosquitto_reconnect(m) ==
				    MOSQ_ERR_SUCCESS) {
					p->reconnects++;
					resend = h_ms() + 3000;
				}
			}
			if (h_ms() > until)
				snprintf(p->err, sizeof(p->err),
				    "reading %d never acknowledged", k);
		}
		if (p->cur_acked)
			atomic_fetch_add(&p->acked, 1);
	}
	mosquitto_disconnect(m);
	(void)mosquitto_loop(m, 10, 1);
	mosquitto_destroy(m);
	return NULL;
}

START_TEST(broker_killed_during_ingest)
{
	/* Persistent, saving at every change: the daemon's session and its
	 * subscription outlive a SIGKILL, so what is published while the
	 * daemon is still away is kept for it.  "user root": as root,
	 * mosquitto would otherwise switch to a user who cannot write in our
	 * folder. */
	char extra[1024], mqdir[512], dbfile[600], topic[32], body[256],
	    *fa = NULL, *fb = NULL;
	struct h_proc broker, broker2;
	struct h_daemon d, twin;
	struct mosquitto *m;
	struct pub p;
	pthread_t th;
	int port = 0, port2 = 0, at_kill;
	struct stat sb;

	memset(&p, 0, sizeof(p));
	snprintf(mqdir, sizeof(mqdir), "%s/mq-persist", h_tmpdir());
	ck_assert_int_eq(mkdir(mqdir, 0700), 0);
	snprintf(extra, sizeof(extra),
	    "persistence true\npersistence_location %s/\n"
	    "autosave_interval 1\nautosave_on_changes true\nuser root\n",
	    mqdir);
	h_broker_start_with(&broker, &port, extra);
	h_broker_start(&broker2, &port2);
	write_conf(&d, "aq-brokerkill", port, NULL);
	write_conf(&twin, "aq-brokertwin", port2, NULL);
	h_daemon_start(&d, "brokerkill.log");
	h_daemon_start(&twin, "brokertwin.log");
	/* The subscription is on disk before the broker is killed. */
	snprintf(dbfile, sizeof(dbfile), "%s/mosquitto.db", mqdir);
	for (long long until = h_ms() + 10000;
	     stat(dbfile, &sb) != 0 && h_ms() < until;)
		h_sleep_ms(50);
	ck_assert_int_eq(stat(dbfile, &sb), 0);

	p.port = port;
	p.from = h_hour_start(5);
	ck_assert_int_eq(pthread_create(&th, NULL, publisher, &p), 0);
	while (atomic_load(&p.acked) < PUB_N / 6 && p.err[0] == '\0')
		h_sleep_ms(1);
	h_stop(&broker, SIGKILL, 5);
	at_kill = atomic_load(&p.acked);
	ck_assert_msg(at_kill < PUB_N,
	    "the publisher finished before the broker was killed");
	for (long long until = h_ms() + 20000;
	     h_status(&d, "mqtt.connected") != 0 && h_ms() < until;)
		h_sleep_ms(50);
	ck_assert_int_eq(h_status(&d, "mqtt.connected"), 0);
	h_broker_start_with(&broker, &port, extra);
	ck_assert_int_eq(port, p.port);
	ck_assert_msg(h_status_wait(&d, "mqtt.connected", 1, 30),
	    "aqgridd did not reconnect (see %s)", d.proc.log);
	pthread_join(th, NULL);
	ck_assert_msg(p.err[0] == '\0', "publisher: %s", p.err);
	ck_assert_int_eq(atomic_load(&p.acked), PUB_N);
	ck_assert_int_ge(p.reconnects, 1);
	ck_assert_int_ge(h_status(&d, "mqtt.reconnects"), 1);

	/* The twin gets the same readings from a broker never killed. */
	m = h_mqtt(port2, "pub-twin");
	for (int k = 0; k < PUB_N; k++) {
		pub_payload(body, sizeof(body), &p, k, topic);
		h_publish(m, topic, body, strlen(body), 1);
	}
	h_mqtt_close(m);
	/* A marker in the next hour completes the last one; published after
	 * everything else, it is counted after it. */
	snprintf(body, sizeof(body),
	    "{\"ts\":%lld,\"period\":60,\"cell\":\"" CELL "\",\"pm25\":1}",
	    (long long)h_hour_start(0));
	m = h_mqtt(port, "pub-marker");
	h_publish(m, "aq/fault/marker", body, strlen(body), 1);
	h_mqtt_close(m);
	m = h_mqtt(port2, "pub-marker");
	h_publish(m, "aq/fault/marker", body, strlen(body), 1);
	h_mqtt_close(m);

	/* Every acknowledged reading, each once. */
	ck_assert_msg(h_status_wait(&d, "readings.accepted", PUB_N + 1, 60),
	    "%lld of %d acknowledged readings counted",
	    h_status(&d, "readings.accepted"), PUB_N + 1);
	ck_assert(h_status_wait(&twin, "readings.accepted", PUB_N + 1, 60));
	ck_assert_int_eq(h_status(&d, "readings.accepted"), PUB_N + 1);
	ck_assert_msg(facts_wait(&d, (fb = cell_facts(&twin)), 10, &fa),
	    "after the broker's death:\n%s\nnever disturbed:\n%s", fa, fb);
	ck_assert_ptr_nonnull(strstr(fa, "\"pm25_1h\""));

	free(fa);
	free(fb);
	ck_assert_int_eq(h_stop(&d.proc, SIGTERM, 30), 0);
	ck_assert_int_eq(h_stop(&twin.proc, SIGTERM, 30), 0);
	h_stop(&broker, SIGTERM, 5);
	h_stop(&broker2, SIGTERM, 5);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("integ_faults");
	TCase *tc = tcase_create("faults");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, disk_full_degrades_and_recovers);
	tcase_add_test(tc, clock_jump_keeps_event_time);
	tcase_add_test(tc, broker_killed_during_ingest);
	suite_add_tcase(s, tc);
	return h_run(s);
}
