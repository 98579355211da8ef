/*
 * check_integ_sites: dust sites from end to end -- the built aqgridd with a
 * real mosquitto, its store, and a real webhook receiver inside the test
 * (a libmicrohttpd server on a loopback port that records every request
 * with its path: one path per receiver).  A scripted day, readings of
 * hourly means (period 3600) stamped from 08:00 local on 30 November 2026
 * to 04:00 on 1 December: a regional haze (the background and both sites
 * high: s1 stays green, s2 goes yellow by the relative rule, never red),
 * then a local dust episode at s1 across local midnight (red, its
 * contact's receiver notified, cleared with hysteresis), and the monthly
 * blacklist split at the local month boundary.  A restart keeps it all.
 */
#include <check.h>
#include <math.h>
#include <jansson.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/harness.h"

#define WAIT_S 60 /* generous: the daemon may run under valgrind */
/* 2026-11-30T08:00:00+08:00 */
#define T0 INT64_C(1795996800)
#define HOURS 20

static int hook_port; /* the recording sink's */

/* Whether the body lists site id. */
static bool
lists(const json_t *body, const char *id)
{
	char fp[64];
	const json_t *a;
	size_t k;

	snprintf(fp, sizeof(fp), "site-%s", id);
	json_array_foreach(json_object_get(body, "alerts"), k, a)
	{
		const char *f =
		    json_string_value(json_object_get(a, "fingerprint"));

		if (f != NULL && strcmp(f, fp) == 0)
			return true;
	}
	return false;
}

/* Notifications at path of kind listing site, by distinct key. */
static int
notices(const char *path, const char *kind, const char *site)
{
	int n = 0;

	for (int k = 0; k < h_sink_count(); k++) {
		const struct h_hook *r = h_sink_get(k);
		const char *ki =
		    json_string_value(json_object_get(r->body, "kind"));
		const char *ru = json_string_value(
		    json_object_get(json_object_get(r->body, "rule"), "id"));
		bool seen = false;

		if (ki == NULL || ru == NULL || strcmp(ru, "dust_site") != 0 ||
		    strcmp(r->path, path) != 0 || strcmp(ki, kind) != 0 ||
		    !lists(r->body, site))
			continue;
		for (int j = 0; j < k && !seen; j++)
			seen = strcmp(h_sink_get(j)->idem, r->idem) == 0;
		n += !seen;
	}
	return n;
}

static bool
wait_notices(const char *path, const char *kind, const char *site, int want)
{
	long long until = h_ms() + WAIT_S * 1000LL;

	while (notices(path, kind, site) < want && h_ms() < until)
		h_sleep_ms(20);
	return notices(path, kind, site) >= want;
}

static void
write_conf(struct h_daemon *d, int mqtt, const char *store)
{
	FILE *f;

	snprintf(d->conf, sizeof(d->conf), "%s/sites.conf", h_tmpdir());
	ck_assert_ptr_nonnull(f = fopen(d->conf, "w"));
	fprintf(f,
	    "[mqtt]\nhost = 127.0.0.1\nport = %d\nclient_id = aqd-sites\n"
	    "backoff_min = 1\nbackoff_max = 1\nsubscribe = aq/st/+ json 1\n"
	    "[http]\nlisten = 127.0.0.1:0\nweb_root = web\nthreads = 2\n"
	    "[standards]\ntimezone = Asia/Shanghai\n"
	    "[ingest]\ncheck_future = no\n"
	    "[grid]\norigin = 40.0 116.0\ncell_size = 500\nrows = 5\n"
	    "cols = 5\n"
	    "[store]\ndir = %s\nsnapshot_interval = 5\n"
	    "[receiver c1]\ntype = webhook\nurl = http://127.0.0.1:%d/c1\n"
	    "[receiver c2]\ntype = webhook\nurl = http://127.0.0.1:%d/c2\n"
	    "[receiver insp]\ntype = webhook\n"
	    "url = http://127.0.0.1:%d/insp\n"
	    "[sites]\ninspectors = insp\nblacklist_red_hours = 4\n"
	    "blacklist_red_episodes = 0\n"
	    "[site s1]\nname = 东坝工地\nkind = construction\n"
	    "cell = r002c002\ncompany = Build Co\ncontact = Ms Li\n"
	    "receivers = c1\nsensor = dust-1\nfrom = 2026-06-01\n"
	    "[site s2]\nname = Ring road\nkind = road\nlat = 39.9978\n"
	    "lon = 116.0264\nreceivers = c2\nsensor = dust-2\n",
	    mqtt, store, hook_port, hook_port, hook_port);
	fclose(f);
}

static void
hourly(struct mosquitto *m, const char *sensor, const char *cell, int64_t ts,
    int pm10)
{
	char topic[64];

	snprintf(topic, sizeof(topic), "aq/st/%s", sensor);
	if (cell != NULL)
		h_publishf(m, topic,
		    "{\"ts\":%lld,\"period\":3600,\"cell\":\"%s\","
		    "\"pm10\":%d,\"pm25\":%d}",
		    (long long)ts, cell, pm10, pm10 / 2);
	else /* a site's monitor: TSP too, 50 over its PM10 */
		h_publishf(m, topic,
		    "{\"ts\":%lld,\"period\":3600,\"pm10\":%d,\"pm25\":%d,"
		    "\"tsp\":%d}",
		    (long long)ts, pm10, pm10 / 2, pm10 + 50);
}

/* The day's script: background, s1, s2 of hour k. */
static void
script(int k, int *bg, int *s1, int *s2)
{
	*bg = 60;
	*s1 = *s2 = 70;
	if (k >= 4 && k <= 9) { /* regional haze */
		*bg = 300;
		*s1 = 330;
		*s2 = 390;
	}
	if (k >= 12 && k <= 16) /* s1's own dust, 20:00 to 01:00 */
		*s1 = 400;
}

static json_t *
site(const struct h_daemon *d, const char *id)
{
	char path[64];
	long code = 0;
	json_t *j;

	snprintf(path, sizeof(path), "/api/v1/sites/%s", id);
	j = h_json(d, path, &code);
	ck_assert_int_eq(code, 200);
	return j;
}

static const char *
str(json_t *j, const char *key)
{
	const char *s = json_string_value(json_object_get(j, key));

	return s != NULL ? s : "";
}

/* s1's changes as "status@hour" newest first, into buf. */
static void
changes(json_t *j, char *buf, size_t len)
{
	json_t *c;
	size_t k, used = 0;

	buf[0] = '\0';
	json_array_foreach(json_object_get(j, "changes"), k, c) used +=
	    (size_t)snprintf(buf + used, len - used, "%s%s@%s", k ? " " : "",
		str(c, "status"), str(c, "hour"));
}

START_TEST(haze_episode_blacklist_restart)
{
	struct h_proc broker;
	struct h_daemon d;
	struct mosquitto *m;
	char store[512], buf[1024];
	int mqtt = 0, bg, s1, s2;
	long long until;
	json_t *j, *r;
	long code;

	hook_port = h_sink_start(0);
	snprintf(store, sizeof(store), "%s/sites-store", h_tmpdir());
	h_broker_start(&broker, &mqtt);
	memset(&d, 0, sizeof(d));
	write_conf(&d, mqtt, store);
	h_daemon_start(&d, "sites-1.log");
	m = h_mqtt(mqtt, "sites-pub");
	for (int k = 0; k < HOURS; k++) {
		int64_t ts = T0 + (int64_t)k * 3600;

		script(k, &bg, &s1, &s2);
		/* Ambient stations around both sites, one in s1's cell. */
		hourly(m, "amb-1", "r001c001", ts, bg);
		hourly(m, "amb-2", "r001c003", ts, bg + 4);
		hourly(m, "amb-3", "r003c002", ts, bg - 4);
		hourly(m, "amb-4", "r002c002", ts, bg + 2);
		hourly(m, "dust-1", NULL, ts, s1);
		hourly(m, "dust-2", NULL, ts, s2);
	}
	/* Every hour but the last judged: s1's newest is 03:00 (k 18). */
	until = h_ms() + WAIT_S * 1000LL;
	do {
		j = site(&d, "s1");
		if (strcmp(str(j, "hour"), "2026-12-01T03:00:00+08:00") == 0)
			break;
		json_decref(j);
		j = NULL;
		h_sleep_ms(50);
	} while (h_ms() < until);
	ck_assert_ptr_nonnull(j);
	/* Red at the hour labelled 21:00 (400 over about 60), held by the
	 * clear hours through 02:00, green at 03:00; nothing in the haze. */
	changes(j, buf, sizeof(buf));
	ck_assert_str_eq(buf,
	    "green@2026-12-01T03:00:00+08:00 red@2026-11-30T21:00:00+08:00");
	ck_assert_str_eq(str(j, "status"), "green");
	ck_assert_str_eq(str(j, "name"), "东坝工地");
	ck_assert_str_eq(str(j, "cell"), "r002c002");
	r = json_array_get(json_object_get(j, "changes"), 1);
	ck_assert(json_real_value(json_object_get(r, "pm10_1h")) == 400);
	ck_assert(json_real_value(json_object_get(r, "background")) == 61);
	ck_assert(json_real_value(json_object_get(r, "excess")) == 339);
	/* The monitor measures PM2.5 (half its PM10) and so do the
	 * stations: the change carries PM2.5 and its own background. */
	ck_assert(json_real_value(json_object_get(r, "pm25_1h")) == 200);
	ck_assert(json_is_real(json_object_get(r, "pm25_background")));
	ck_assert(fabs(json_real_value(json_object_get(r, "pm25_background")) -
		      30.5) <= 1);
	/* And TSP (under its thresholds all day: PM10 made it red). */
	ck_assert(json_real_value(json_object_get(r, "tsp_1h")) == 450);
	ck_assert(json_is_real(json_object_get(j, "tsp_1h")));
	json_decref(j);
	/* s2: yellow in the haze (90 over 300), never red, then green. */
	j = site(&d, "s2");
	changes(j, buf, sizeof(buf));
	ck_assert_str_eq(buf,
	    "green@2026-11-30T20:00:00+08:00 yellow@2026-11-30T13:00:00+08:00");
	ck_assert_str_eq(str(j, "cell"), "r000c004");
	json_decref(j);
	/* The monitor is not ambient: s1's cell shows its station only. */
	j = h_json(&d, "/api/v1/cells/r002c002", &code);
	ck_assert_int_eq(code, 200);
	ck_assert(json_number_value(json_object_get(
		      json_object_get(j, "concentrations"), "pm10_1h")) == 62);
	json_decref(j);
	/* Notified: s1's contact and the inspectors; s2's contact never
	 * hears of s1. */
	ck_assert(wait_notices("/c1", "firing", "s1", 1));
	ck_assert(wait_notices("/c1", "resolved", "s1", 1));
	ck_assert(wait_notices("/insp", "firing", "s1", 1));
	ck_assert(wait_notices("/insp", "firing", "s2", 1));
	ck_assert(wait_notices("/c2", "firing", "s2", 1));
	ck_assert(wait_notices("/c2", "resolved", "s2", 1));
	ck_assert_int_eq(notices("/c2", "firing", "s1"), 0);
	ck_assert_int_eq(notices("/c1", "firing", "s2"), 0);
	ck_assert_int_eq(notices("/c1", "firing", "s1"), 1);
	/* The blacklist: 4 red hours in November (21:00 to 24:00), 2 in
	 * December (01:00 and the held 02:00) of the same episode. */
	j = h_json(&d, "/api/v1/sites/blacklist?month=2026-11", &code);
	ck_assert_int_eq(code, 200);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), 1);
	r = json_array_get(json_object_get(j, "results"), 0);
	ck_assert_str_eq(str(r, "id"), "s1");
	ck_assert_int_eq(
	    json_integer_value(json_object_get(r, "red_hours")), 4);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "episodes")), 1);
	json_decref(j);
	j = h_json(&d, "/api/v1/sites/blacklist?month=2026-12", &code);
	ck_assert_int_eq(code, 200);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), 0);
	json_decref(j);
	j = h_json(&d, "/api/v1/sites/blacklist?month=2026-13", &code);
	ck_assert_int_eq(code, 400);
	json_decref(j);
	j = h_json(&d, "/api/v1/sites/nope", &code);
	ck_assert_int_eq(code, 404);
	json_decref(j);
	j = h_json(&d, "/api/v1/sites", &code);
	ck_assert_int_eq(code, 200);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), 2);
	json_decref(j);
	/* The command line reads the same. */
	{
		char url[64];
		const char *list[] = {h_bin("AQGRID", "build/aqgrid"), "sites",
		    "--url", url, NULL};
		const char *black[] = {h_bin("AQGRID", "build/aqgrid"), "sites",
		    "blacklist", "2026-11", "--url", url, NULL};
		const char *one[] = {h_bin("AQGRID", "build/aqgrid"), "sites",
		    "s1", "--url", url, NULL};
		struct h_proc p;

		snprintf(url, sizeof(url), "http://127.0.0.1:%d", d.http);
		h_spawn(&p, list, "sites-cli-1.log", false);
		ck_assert_int_eq(h_stop(&p, 0, 30), 0);
		ck_assert_ptr_nonnull(
		    h_log_wait(&p, "s2               green", 1));
		ck_assert_ptr_nonnull(h_log_wait(&p, "Ring road", 1));
		h_spawn(&p, black, "sites-cli-2.log", false);
		ck_assert_int_eq(h_stop(&p, 0, 30), 0);
		ck_assert_ptr_nonnull(
		    h_log_wait(&p, "month 2026-11: 1 sites", 1));
		ck_assert_ptr_nonnull(
		    h_log_wait(&p, "s1                   4", 1));
		h_spawn(&p, one, "sites-cli-3.log", false);
		ck_assert_int_eq(h_stop(&p, 0, 30), 0);
		ck_assert_ptr_nonnull(h_log_wait(
		    &p, "2026-11-30T21:00:00+08:00 green   red        400", 1));
	}

	/* A restart keeps the statuses, the changes and the counts. */
	ck_assert_int_eq(h_stop(&d.proc, SIGTERM, 30), 0);
	h_daemon_start(&d, "sites-2.log");
	j = site(&d, "s1");
	changes(j, buf, sizeof(buf));
	ck_assert_str_eq(buf,
	    "green@2026-12-01T03:00:00+08:00 red@2026-11-30T21:00:00+08:00");
	ck_assert_str_eq(str(j, "hour"), "2026-12-01T03:00:00+08:00");
	json_decref(j);
	j = h_json(&d, "/api/v1/sites/blacklist?month=2026-11", &code);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), 1);
	json_decref(j);

	h_mqtt_close(m);
	ck_assert_int_eq(h_stop(&d.proc, SIGTERM, 30), 0);
	h_stop(&broker, SIGTERM, 5);
	h_sink_stop();
	h_sink_clear();
}
END_TEST

START_TEST(bad_site_fails_at_start)
{
	struct h_daemon d;
	struct h_proc p;
	char path[600];
	FILE *f;
	const char *argv[] = {
	    h_bin("AQGRIDD", "build/aqgridd"), "-t", "-c", path, NULL};

	memset(&d, 0, sizeof(d));
	snprintf(path, sizeof(path), "%s/bad-sites.conf", h_tmpdir());
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs("[mqtt]\nsubscribe = aq/# json 1\n"
	      "[grid]\norigin = 40.0 116.0\nrows = 2\ncols = 2\n"
	      "[site s1]\nkind = quarry\ncell = r000c000\nsensor = d1\n"
	      "receivers = nobody\n",
	    f);
	fclose(f);
	h_spawn(&p, argv, "bad-sites.log", false);
	ck_assert_int_eq(h_stop(&p, 0, 10), 1);
	ck_assert_ptr_nonnull(
	    h_log_wait(&p, "bad-sites.conf:8: kind: 'quarry'", 1));
	ck_assert_ptr_nonnull(
	    h_log_wait(&p, "bad-sites.conf:11: receivers: no [receiver", 1));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("integ_sites");
	TCase *tc = tcase_create("sites");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, haze_episode_blacklist_restart);
	tcase_add_test(tc, bad_site_fails_at_start);
	suite_add_tcase(s, tc);
	return h_run(s);
}
