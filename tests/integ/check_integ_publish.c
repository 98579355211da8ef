/*
 * check_integ_publish: what aqgridd gives back to other systems -- the
 * built daemon with a real mosquitto, and MQTT subscribers inside the test
 * that record every message: retained cell and area messages, Home
 * Assistant discovery documents and alert notices under [publish] (and
 * nothing at all without it); JSON log lines; and the Grafana dashboard,
 * every metric of whose queries the daemon must serve.
 */
#include <check.h>
#include <jansson.h>
#include <mosquitto.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <sqlite3.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/harness.h"

#define WAIT_S 60 /* generous: the daemon may run under valgrind */
#define MSGS_MAX 4096
#define DASHBOARD "etc/grafana/aqgrid.json"

struct msg {
	char topic[256];
	char *payload;
	bool retain;
};

/* A subscriber recording what it gets. */
struct sub {
	struct mosquitto *m;
	pthread_mutex_t mu;
	struct msg msgs[MSGS_MAX];
	int n;
	bool subscribed;
};

struct env {
	struct h_proc broker;
	int mqtt;
	struct h_daemon d;
	struct mosquitto *pub;
	int sent;
};

static void on_message(
    struct mosquitto *m, void *obj, const struct mosquitto_message *msg);
static void on_subscribe(
    struct mosquitto *m, void *obj, int mid, int n, const int *granted);
static struct sub *sub_start(int port, const char *id);
static void sub_stop(struct sub *s);
static json_t *sub_wait(
    struct sub *s, const char *topic, const char *text, int secs);
static int sub_count(struct sub *s, const char *prefix);
static void write_conf(struct env *e, const char *name, const char *extra);
static void env_start(struct env *e, const char *name, const char *extra);
static void env_stop(struct env *e);
static void reading(
    struct env *e, const char *sensor, const char *cell, int64_t ts, int pm);
static bool messages_wait(struct env *e, int secs);
static void reading_wx(struct env *e, const char *sensor, int64_t ts,
    int period, const char *weather);
static double wx_num(json_t *cell, const char *key);
static json_t *api(const struct h_daemon *d, const char *path);
static char *metrics(const struct h_daemon *d);
static bool has_metric(const char *text, const char *name);
static long long metric_value(const char *text, const char *series);

static void
on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	struct sub *s = obj;

	(void)m;
	pthread_mutex_lock(&s->mu);
	if (s->n < MSGS_MAX) {
		struct msg *x = &s->msgs[s->n];

		snprintf(x->topic, sizeof(x->topic), "%s", msg->topic);
		x->payload = calloc(1, (size_t)msg->payloadlen + 1);
		if (x->payload != NULL) {
			memcpy(
			    x->payload, msg->payload, (size_t)msg->payloadlen);
			x->retain = msg->retain;
			s->n++;
		}
	}
	pthread_mutex_unlock(&s->mu);
}

static void
on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *granted)
{
	struct sub *s = obj;

	(void)m;
	(void)mid;
	(void)n;
	(void)granted;
	pthread_mutex_lock(&s->mu);
	s->subscribed = true;
	pthread_mutex_unlock(&s->mu);
}

/* Subscribes to aq/out/# and homeassistant/# and returns once the broker
 * has acknowledged it. */
static struct sub *
sub_start(int port, const char *id)
{
	static char out[] = "aq/out/#", ha[] = "homeassistant/#";
	char *const topics[] = {out, ha};
	struct sub *s = calloc(1, sizeof(*s));
	long long until = h_ms() + 10000;
	bool ok = false;

	ck_assert_ptr_nonnull(s);
	pthread_mutex_init(&s->mu, NULL);
	ck_assert_ptr_nonnull(s->m = mosquitto_new(id, true, s));
	mosquitto_message_callback_set(s->m, on_message);
	mosquitto_subscribe_callback_set(s->m, on_subscribe);
	ck_assert_int_eq(mosquitto_connect(s->m, "127.0.0.1", port, 30), 0);
	ck_assert_int_eq(mosquitto_loop_start(s->m), 0);
	ck_assert_int_eq(
	    mosquitto_subscribe_multiple(s->m, NULL, 2, topics, 1, 0, NULL), 0);
	while (!ok && h_ms() < until) {
		pthread_mutex_lock(&s->mu);
		ok = s->subscribed;
		pthread_mutex_unlock(&s->mu);
		if (!ok)
			h_sleep_ms(10);
	}
	ck_assert_msg(ok, "subscription not acknowledged");
	return s;
}

static void
sub_stop(struct sub *s)
{
	mosquitto_disconnect(s->m);
	mosquitto_loop_stop(s->m, false);
	mosquitto_destroy(s->m);
	for (int k = 0; k < s->n; k++)
		free(s->msgs[k].payload);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* The newest message on topic whose payload holds text (NULL: any), as
 * JSON (owned; the payload must parse), waiting up to secs; NULL if none
 * came. */
static json_t *
sub_wait(struct sub *s, const char *topic, const char *text, int secs)
{
	long long until = h_ms() + secs * 1000LL;
	json_t *j = NULL;

	do {
		pthread_mutex_lock(&s->mu);
		for (int k = s->n - 1; k >= 0 && j == NULL; k--) {
			json_error_t e;

			if (strcmp(s->msgs[k].topic, topic) != 0 ||
			    (text != NULL &&
				strstr(s->msgs[k].payload, text) == NULL))
				continue;
			j = json_loads(s->msgs[k].payload, 0, &e);
			ck_assert_msg(j != NULL, "%s: not JSON (%s): %s", topic,
			    e.text, s->msgs[k].payload);
			json_object_set_new(
			    j, "_retain", json_boolean(s->msgs[k].retain));
		}
		pthread_mutex_unlock(&s->mu);
		if (j == NULL)
			h_sleep_ms(20);
	} while (j == NULL && h_ms() < until);
	return j;
}

/* Messages whose topic starts with prefix. */
static int
sub_count(struct sub *s, const char *prefix)
{
	int n = 0;

	pthread_mutex_lock(&s->mu);
	for (int k = 0; k < s->n; k++)
		n += strncmp(s->msgs[k].topic, prefix, strlen(prefix)) == 0;
	pthread_mutex_unlock(&s->mu);
	return n;
}

static void
write_conf(struct env *e, const char *name, const char *extra)
{
	FILE *f;

	snprintf(e->d.conf, sizeof(e->d.conf), "%s/%s.conf", h_tmpdir(), name);
	ck_assert_ptr_nonnull(f = fopen(e->d.conf, "w"));
	fprintf(f,
	    "[mqtt]\nhost = 127.0.0.1\nport = %d\nclient_id = aqd-%s\n"
	    "backoff_min = 1\nbackoff_max = 1\n"
	    "subscribe = aq/in/+ json 1\n"
	    "[http]\nlisten = 127.0.0.1:0\nweb_root = web\nthreads = 2\n"
	    "[standards]\ntimezone = Asia/Shanghai\n"
	    "[grid]\norigin = 40.0 116.0\ncell_size = 500\nrows = 3\n"
	    "cols = 3\n"
	    "[area north]\nname = 北\nname_en = North\n"
	    "cells = r000c000-r000c002\n"
	    "[store]\ndir = %s/%s-store\n"
	    "[rule high]\nwhen = pm25_1h > 100\nclear = 80\n"
	    "summary = {cell} PM2.5 {value}\n%s",
	    e->mqtt, name, h_tmpdir(), name, extra);
	fclose(f);
}

static void
env_start(struct env *e, const char *name, const char *extra)
{
	char log[128];

	memset(e, 0, sizeof(*e));
	h_broker_start(&e->broker, &e->mqtt);
	write_conf(e, name, extra);
	snprintf(log, sizeof(log), "%s.log", name);
	h_daemon_start(&e->d, log);
	e->pub = h_mqtt(e->mqtt, name);
}

static void
env_stop(struct env *e)
{
	h_mqtt_close(e->pub);
	ck_assert_int_eq(h_stop(&e->d.proc, SIGTERM, 30), 0);
	h_stop(&e->broker, SIGTERM, 5);
}

/* An hourly mean of PM2.5 for the hour starting ts; waits until the
 * daemon has counted it (accepted or not). */
static void
reading(struct env *e, const char *sensor, const char *cell, int64_t ts, int pm)
{
	char topic[64];

	snprintf(topic, sizeof(topic), "aq/in/%s", sensor);
	h_publishf(e->pub, topic,
	    "{\"ts\":%lld,\"period\":3600,\"cell\":\"%s\",\"pm25\":%d}",
	    (long long)ts, cell, pm);
	e->sent++;
	ck_assert(messages_wait(e, WAIT_S));
}

/* Waits until the daemon has counted every message sent (accepted or
 * not). */
static bool
messages_wait(struct env *e, int secs)
{
	long long until = h_ms() + secs * 1000LL;

	do {
		if (h_status(
			&e->d, "readings.by_decoder.json.messages_accepted") +
			h_status(&e->d,
			    "readings.by_decoder.json.messages_rejected") >=
		    e->sent)
			return true;
		h_sleep_ms(10);
	} while (h_ms() < until);
	return false;
}

static json_t *
api(const struct h_daemon *d, const char *path)
{
	long code = 0;
	json_t *j = h_json(d, path, &code);

	ck_assert_msg(j != NULL && code == 200, "GET %s: %ld", path, code);
	return j;
}

static char *
metrics(const struct h_daemon *d)
{
	char url[128];
	long code = 0;
	char *body;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", d->http);
	body = h_get(url, &code);
	ck_assert_msg(body != NULL && code == 200, "GET /metrics: %ld", code);
	return body;
}

/* Whether a sample of the metric name (exactly) is in the exposition. */
static bool
has_metric(const char *text, const char *name)
{
	size_t n = strlen(name);

	for (const char *l = text; l != NULL && *l != '\0';) {
		if (l[0] != '#' && strncmp(l, name, n) == 0 &&
		    (l[n] == '{' || l[n] == ' '))
			return true;
		l = strchr(l, '\n');
		if (l != NULL)
			l++;
	}
	return false;
}

/* The value of one series written exactly as in the exposition; -1 when
 * absent. */
static long long
metric_value(const char *text, const char *series)
{
	size_t n = strlen(series);

	for (const char *l = text; l != NULL && *l != '\0';) {
		if (strncmp(l, series, n) == 0 && l[n] == ' ')
			return atoll(l + n + 1);
		l = strchr(l, '\n');
		if (l != NULL)
			l++;
	}
	return -1;
}

/* a. Cells and areas retained, discovery documents Home Assistant can
 * use, alerts as they fire, counted in the metrics. */
START_TEST(publishes_cells_areas_discovery_alerts)
{
	struct env e;
	struct sub *live, *late, *after;
	int64_t h = h_hour_start(6);
	json_t *cell, *other, *area, *alert, *api_cell, *api_area, *grid;
	json_t *api_aqi, *mark;
	const char *key;
	json_t *val;
	char *text;
	int ndisc, ncells;
	size_t k;

	env_start(&e, "pub-on", "[publish]\nenabled = yes\n");
	live = sub_start(e.mqtt, "live");
	reading(&e, "s1", "r000c001", h, 150);
	reading(&e, "s1", "r000c001", h + 3600, 150);
	reading(&e, "s2", "r000c002", h, 30);
	reading(&e, "s2", "r000c002", h + 3600, 30);

	/* The cell as the API serves it, retained for late subscribers. */
	api_cell = api(&e.d, "/api/v1/cells/r000c001");
	api_aqi = json_object_get(api_cell, "aqi");
	ck_assert_int_gt(
	    json_integer_value(json_object_get(api_aqi, "value")), 0);
	late = sub_start(e.mqtt, "late");
	cell = sub_wait(late, "aq/out/cells/r000c001", "\"pm25\":150", WAIT_S);
	ck_assert_ptr_nonnull(cell);
	ck_assert(json_is_true(json_object_get(cell, "_retain")));
	ck_assert_str_eq(
	    json_string_value(json_object_get(cell, "cell")), "r000c001");
	ck_assert_str_eq(
	    json_string_value(json_object_get(cell, "area")), "north");
	ck_assert_int_eq(json_integer_value(json_object_get(cell, "aqi")),
	    json_integer_value(json_object_get(api_aqi, "value")));
	ck_assert_int_eq(json_integer_value(json_object_get(cell, "level")),
	    json_integer_value(json_object_get(api_aqi, "level")));
	ck_assert_str_eq(json_string_value(json_array_get(
			     json_object_get(cell, "primary"), 0)),
	    "pm25_1h");
	other = sub_wait(late, "aq/out/cells/r000c002", "\"pm25\":30", WAIT_S);
	ck_assert_ptr_nonnull(other);

	/* The area: its worst cell, as the API's. */
	api_area = api(&e.d, "/api/v1/areas/north");
	area = sub_wait(
	    late, "aq/out/areas/north", "\"cells_with_data\":2", WAIT_S);
	ck_assert_ptr_nonnull(area);
	ck_assert(json_is_true(json_object_get(area, "_retain")));
	ck_assert_int_eq(json_integer_value(json_object_get(area, "aqi")),
	    json_integer_value(
		json_object_get(json_object_get(api_area, "worst"), "aqi")));
	ck_assert_str_eq(json_string_value(json_object_get(area, "worst_cell")),
	    json_string_value(
		json_object_get(json_object_get(api_area, "worst"), "cell")));

	/* The alert the rule raised, not retained. */
	alert = sub_wait(live, "aq/out/alerts", "\"firing\"", WAIT_S);
	ck_assert_ptr_nonnull(alert);
	ck_assert(!json_is_true(json_object_get(alert, "_retain")));
	ck_assert_str_eq(
	    json_string_value(json_object_get(alert, "rule")), "high");
	ck_assert_str_eq(
	    json_string_value(json_object_get(
		json_array_get(json_object_get(alert, "alerts"), 0), "cell")),
	    "r000c001");
	/* Not retained: a subscriber arriving now gets no alert (the
	 * marker, sent after it subscribed, comes after anything retained). */
	after = sub_start(e.mqtt, "after");
	h_publishf(e.pub, "aq/out/marker", "{\"marker\":true}");
	ck_assert_ptr_nonnull(
	    mark = sub_wait(after, "aq/out/marker", NULL, WAIT_S));
	json_decref(mark);
	ck_assert_int_eq(sub_count(after, "aq/out/alerts"), 0);
	ck_assert_int_gt(sub_count(after, "aq/out/cells/"), 0);
	sub_stop(after);

	/* Discovery: one document per cell and quantity. */
	grid = api(&e.d, "/api/v1/cells");
	ncells = (int)json_array_size(json_object_get(grid, "results"));
	ck_assert_int_gt(ncells, 0);
	{
		long long until = h_ms() + WAIT_S * 1000LL;

		while (sub_count(late, "homeassistant/sensor/") < ncells * 7 &&
		    h_ms() < until)
			h_sleep_ms(20);
	}
	ndisc = sub_count(late, "homeassistant/sensor/");
	ck_assert_int_eq(ndisc, ncells * 7);
	pthread_mutex_lock(&late->mu);
	for (int i = 0; i < late->n; i++) {
		const struct msg *m = &late->msgs[i];
		json_t *d, *dev, *st;
		const char *uid, *stopic, *tmpl, *cid, *id0;
		char want[300], field[64];
		regex_t re;
		regmatch_t mt[2];

		if (strncmp(m->topic, "homeassistant/sensor/", 21) != 0)
			continue;
		ck_assert(m->retain);
		ck_assert_msg((d = json_loads(m->payload, 0, NULL)) != NULL,
		    "%s: not JSON", m->topic);
		uid = json_string_value(json_object_get(d, "unique_id"));
		stopic = json_string_value(json_object_get(d, "state_topic"));
		tmpl = json_string_value(json_object_get(d, "value_template"));
		ck_assert_ptr_nonnull(uid);
		ck_assert_ptr_nonnull(stopic);
		ck_assert_ptr_nonnull(tmpl);
		ck_assert_ptr_nonnull(json_object_get(d, "name"));
		ck_assert_str_eq(
		    json_string_value(json_object_get(d, "state_class")),
		    "measurement");
		ck_assert_ptr_nonnull(
		    json_string_value(json_object_get(d, "device_class")));
		/* The topic ends in the unique id's object part. */
		snprintf(
		    want, sizeof(want), "homeassistant/sensor/%s/config", uid);
		ck_assert_msg(strstr(want, "aqgridd-pub") != NULL, "%s", uid);
		/* Unique ids are unique. */
		for (int j = 0; j < i; j++)
			if (strncmp(
				late->msgs[j].topic, "homeassistant/", 14) == 0)
				ck_assert_msg(strstr(late->msgs[j].payload,
						  uid) == NULL ||
					strcmp(late->msgs[j].topic, m->topic) ==
					    0,
				    "unique_id %s twice", uid);
		/* One device per cell, named by the cell's id. */
		dev = json_object_get(d, "device");
		id0 = json_string_value(
		    json_array_get(json_object_get(dev, "identifiers"), 0));
		ck_assert_ptr_nonnull(id0);
		ck_assert_int_eq(strncmp(stopic, "aq/out/cells/", 13), 0);
		cid = stopic + 13;
		ck_assert_ptr_nonnull(strstr(id0, cid));
		/* The state topic exists where the cell has data, and the
		 * template reads a field it has. */
		ck_assert_int_eq(
		    regcomp(&re, "value_json\\.([a-z0-9_]+)", REG_EXTENDED), 0);
		ck_assert_int_eq(regexec(&re, tmpl, 2, mt, 0), 0);
		snprintf(field, sizeof(field), "%.*s",
		    (int)(mt[1].rm_eo - mt[1].rm_so), tmpl + mt[1].rm_so);
		regfree(&re);
		if (strcmp(cid, "r000c001") == 0) {
			st = cell;
		} else if (strcmp(cid, "r000c002") == 0) {
			st = other;
		} else {
			st = NULL;
		}
		if (st != NULL)
			ck_assert_msg(json_object_get(st, field) != NULL,
			    "%s reads %s, absent from %s", uid, field, stopic);
		json_decref(d);
	}
	pthread_mutex_unlock(&late->mu);
	/* Every cell's state topic named by a document is a grid cell. */
	json_array_foreach(json_object_get(grid, "results"), k, val)
	{
		char topic[128];
		int n;

		key = json_string_value(json_object_get(val, "id"));
		snprintf(topic, sizeof(topic),
		    "homeassistant/sensor/aqgridd-pub/%s_", key);
		n = sub_count(late, topic);
		ck_assert_int_eq(n, 7);
	}

	/* Counted. */
	text = metrics(&e.d);
	ck_assert_int_ge(
	    metric_value(text, "aqgrid_publish_messages_total{kind=\"cell\"}"),
	    2);
	ck_assert_int_ge(
	    metric_value(text, "aqgrid_publish_messages_total{kind=\"alert\"}"),
	    1);
	ck_assert_int_eq(metric_value(text, "aqgrid_publish_connected"), 1);
	ck_assert_int_eq(metric_value(text, "aqgrid_publish_dropped_total"), 0);
	free(text);

	json_decref(cell);
	json_decref(other);
	json_decref(area);
	json_decref(alert);
	json_decref(api_cell);
	json_decref(api_area);
	json_decref(grid);
	sub_stop(live);
	sub_stop(late);
	env_stop(&e);
}
END_TEST

/* a2. A broker that restarts without persistence has lost the retained
 * messages: the publisher reconnects and publishes everything again. */
START_TEST(republishes_after_broker_restart)
{
	struct env e;
	struct sub *s, *s2;
	int64_t h = h_hour_start(6);
	int port;
	json_t *cell, *again;
	long long until;
	char *text;

	env_start(&e, "pub-restart", "[publish]\nenabled = yes\n");
	reading(&e, "s1", "r000c001", h, 150);
	reading(&e, "s1", "r000c001", h + 3600, 150);
	s = sub_start(e.mqtt, "before");
	cell = sub_wait(s, "aq/out/cells/r000c001", "\"pm25\":150", WAIT_S);
	ck_assert_ptr_nonnull(cell);
	sub_stop(s);

	h_mqtt_close(e.pub);
	h_stop(&e.broker, SIGTERM, 5);
	until = h_ms() + WAIT_S * 1000LL;
	do {
		text = metrics(&e.d);
		if (metric_value(text, "aqgrid_publish_connected") == 0)
			break;
		free(text);
		text = NULL;
		h_sleep_ms(50);
	} while (h_ms() < until);
	ck_assert_ptr_nonnull(text);
	free(text);

	port = e.mqtt;
	h_broker_start(&e.broker, &port);
	ck_assert_int_eq(port, e.mqtt);
	e.pub = h_mqtt(e.mqtt, "pub-restart-2");
	s = sub_start(e.mqtt, "after");
	again = sub_wait(s, "aq/out/cells/r000c001", "\"pm25\":150", WAIT_S);
	ck_assert_ptr_nonnull(again);
	json_decref(again);
	/* Retained again: a subscriber arriving now gets it at once. */
	s2 = sub_start(e.mqtt, "later");
	again = sub_wait(s2, "aq/out/cells/r000c001", "\"pm25\":150", WAIT_S);
	sub_stop(s2);
	ck_assert_ptr_nonnull(again);
	ck_assert(json_is_true(json_object_get(again, "_retain")));
	ck_assert_int_eq(json_integer_value(json_object_get(again, "aqi")),
	    json_integer_value(json_object_get(cell, "aqi")));
	json_decref(again);
	ck_assert_ptr_nonnull(
	    again = sub_wait(s, "aq/out/areas/north", NULL, WAIT_S));
	json_decref(again);
	until = h_ms() + WAIT_S * 1000LL;
	while (sub_count(s, "homeassistant/sensor/") < 9 * 7 && h_ms() < until)
		h_sleep_ms(20);
	ck_assert_int_eq(sub_count(s, "homeassistant/sensor/"), 9 * 7);
	text = metrics(&e.d);
	ck_assert_int_eq(metric_value(text, "aqgrid_publish_connected"), 1);
	free(text);
	json_decref(cell);
	sub_stop(s);
	env_stop(&e);
}
END_TEST

/* A reading of r000c001 with PM2.5 40 and the weather fields given as
 * JSON members (",\"temp\":10,..."); waits until the daemon counted it. */
static void
reading_wx(struct env *e, const char *sensor, int64_t ts, int period,
    const char *weather)
{
	char topic[64];

	snprintf(topic, sizeof(topic), "aq/in/%s", sensor);
	h_publishf(e->pub, topic,
	    "{\"ts\":%lld,\"period\":%d,\"cell\":\"r000c001\","
	    "\"pm25\":40%s}",
	    (long long)ts, period, weather);
	e->sent++;
	ck_assert(messages_wait(e, WAIT_S));
}

/* A member of a cell message's weather (NaN: null). */
static double
wx_num(json_t *cell, const char *key)
{
	json_t *v = json_object_get(json_object_get(cell, "weather"), key);

	ck_assert_msg(v != NULL, "no weather.%s", key);
	return json_is_null(v) ? NAN : json_number_value(v);
}

/* a3. A cell's published hour carries the weather its two sensors
 * reported (means, the wind's direction as a vector mean across north);
 * after a restart the daemon publishes it again from its image, an hour
 * still open then goes on with the sums it had, and the store's hourly
 * rows keep the weather the restart's forecast training reads. */
START_TEST(cell_weather_survives_restart)
{
	struct env e;
	struct sub *s;
	int64_t h = h_hour_start(6);
	json_t *cell;
	sqlite3 *db;
	sqlite3_stmt *st;
	char path[256], hour_text[32];

	env_start(&e, "pub-wx", "[publish]\nenabled = yes\n");
	reading_wx(&e, "s1", h, 3600,
	    ",\"temp\":10,\"rh\":60,\"pres\":1010,\"rain\":0.6,"
	    "\"ws\":3,\"wd\":350");
	reading_wx(&e, "s2", h, 3600,
	    ",\"temp\":12.5,\"rh\":70,\"pres\":1012,\"ws\":5,\"wd\":10");
	/* The next hour, still open at the restart: s1's first half. */
	reading_wx(&e, "s1", h + 3600, 1800, ",\"temp\":20");
	s = sub_start(e.mqtt, "wx");
	cell = sub_wait(s, "aq/out/cells/r000c001", "\"temp\":11.25", WAIT_S);
	ck_assert_ptr_nonnull(cell);
	ck_assert_double_eq_tol(wx_num(cell, "temp"), 11.25, 1e-9);
	ck_assert_double_eq_tol(wx_num(cell, "rh"), 65, 1e-9);
	ck_assert_double_eq_tol(wx_num(cell, "pres"), 1011, 1e-9);
	ck_assert_double_eq_tol(wx_num(cell, "rain"), 0.6, 1e-9);
	ck_assert_double_eq_tol(wx_num(cell, "ws"), 4, 1e-9);
	/* 3 m/s from 350 and 5 from 10: a little east of north. */
	{
		double u = 3 * sin(-10 / 57.29577951308232) +
		    5 * sin(10 / 57.29577951308232);
		double v = 3 * cos(10 / 57.29577951308232) +
		    5 * cos(10 / 57.29577951308232);

		ck_assert_double_eq_tol(
		    wx_num(cell, "wd"), atan2(u, v) * 57.29577951308232, 0.05);
	}
	snprintf(hour_text, sizeof(hour_text), "%s",
	    json_string_value(json_object_get(cell, "hour")));
	json_decref(cell);
	sub_stop(s);

	/* Restart; the retained message goes, so what comes is the new
	 * daemon's. */
	ck_assert_int_eq(h_stop(&e.d.proc, SIGTERM, 30), 0);
	h_publish(e.pub, "aq/out/cells/r000c001", "", 0, true);
	h_daemon_start(&e.d, "pub-wx2.log");
	e.sent = 0;
	s = sub_start(e.mqtt, "wx2");
	cell = sub_wait(s, "aq/out/cells/r000c001", "\"temp\":11.25", WAIT_S);
	ck_assert_ptr_nonnull(cell);
	ck_assert_str_eq(
	    json_string_value(json_object_get(cell, "hour")), hour_text);
	ck_assert_double_eq_tol(wx_num(cell, "rh"), 65, 1e-9);
	json_decref(cell);
	/* The API's cell answer shows the same. */
	cell = api(&e.d, "/api/v1/cells/r000c001");
	ck_assert_double_eq_tol(wx_num(cell, "temp"), 11.25, 1e-9);
	ck_assert_double_eq_tol(wx_num(cell, "pres"), 1011, 1e-9);
	ck_assert_double_eq_tol(wx_num(cell, "ws"), 4, 1e-9);
	ck_assert(!isnan(wx_num(cell, "wd")));
	json_decref(cell);
	/* The open hour's second half, from s2, then the hour after. */
	reading_wx(&e, "s2", h + 5400, 1800, ",\"temp\":30");
	reading_wx(&e, "s1", h + 7200, 60, "");
	cell = sub_wait(s, "aq/out/cells/r000c001", "\"temp\":25.00", WAIT_S);
	ck_assert_ptr_nonnull(cell);
	ck_assert(isnan(wx_num(cell, "rh")));
	ck_assert(isnan(wx_num(cell, "ws")) && isnan(wx_num(cell, "wd")));
	json_decref(cell);
	sub_stop(s);
	ck_assert_int_eq(h_stop(&e.d.proc, SIGTERM, 30), 0);

	/* The store's rows of both hours. */
	snprintf(path, sizeof(path), "%s/pub-wx-store/aqgrid.db", h_tmpdir());
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(
	    sqlite3_prepare_v2(db,
		"SELECT hour, temp, rh, pres, rain, wspd, wdir "
		"FROM hourly WHERE cell = 'r000c001' AND hour >= ? "
		"ORDER BY hour",
		-1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_int64(st, 1, h + 3600);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int64(st, 0), h + 3600);
	ck_assert_double_eq_tol(sqlite3_column_double(st, 1), 11.25, 1e-9);
	ck_assert_double_eq_tol(sqlite3_column_double(st, 2), 65, 1e-9);
	ck_assert_double_eq_tol(sqlite3_column_double(st, 4), 0.6, 1e-9);
	ck_assert_double_eq_tol(sqlite3_column_double(st, 5), 4, 1e-9);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int64(st, 0), h + 7200);
	ck_assert_double_eq_tol(sqlite3_column_double(st, 1), 25, 1e-9);
	ck_assert_int_eq(sqlite3_column_type(st, 2), SQLITE_NULL);
	sqlite3_finalize(st);
	sqlite3_close(db);
	h_mqtt_close(e.pub);
	h_stop(&e.broker, SIGTERM, 5);
}
END_TEST

/* b. Off by default: the same readings and alert publish nothing. */
START_TEST(publishes_nothing_when_off)
{
	struct env e;
	struct sub *s;
	int64_t h = h_hour_start(6);
	json_t *alerts;
	long long until;
	char *text;

	env_start(&e, "pub-off", "");
	s = sub_start(e.mqtt, "watch");
	reading(&e, "s1", "r000c001", h, 150);
	reading(&e, "s1", "r000c001", h + 3600, 150);
	/* The rule has fired (the daemon has done all it would do). */
	until = h_ms() + WAIT_S * 1000LL;
	do {
		alerts = api(&e.d, "/api/v1/alerts");
		if (json_array_size(json_object_get(alerts, "results")) > 0)
			break;
		json_decref(alerts);
		alerts = NULL;
		h_sleep_ms(50);
	} while (h_ms() < until);
	ck_assert_ptr_nonnull(alerts);
	json_decref(alerts);
	/* A marker after it through the same broker: once it has come,
	 * anything the daemon published would have too. */
	h_publishf(e.pub, "aq/out/marker", "{\"marker\":true}");
	ck_assert_ptr_nonnull(
	    alerts = sub_wait(s, "aq/out/marker", NULL, WAIT_S));
	json_decref(alerts);
	ck_assert_int_eq(sub_count(s, "aq/out/"), 1);
	ck_assert_int_eq(sub_count(s, "homeassistant/"), 0);
	text = metrics(&e.d);
	ck_assert_int_eq(metric_value(text, "aqgrid_publish_enabled"), 0);
	free(text);
	sub_stop(s);
	env_stop(&e);
}
END_TEST

/* c. JSON log lines (-j): every line an object with time, level, module
 * and message; the events about one cell or sensor name it. */
START_TEST(json_logs)
{
	struct env e;
	const char *argv[] = {h_bin("AQGRIDD", "build/aqgridd"), "-f", "-j",
	    "-v", "-c", e.d.conf, NULL};
	static const char key[] = "http://127.0.0.1:";
	int64_t h = h_hour_start(6);
	const char *line;
	char buf[8192];
	int lines = 0, refused = 0, alert = 0, offline = 0;
	FILE *f;

	memset(&e, 0, sizeof(e));
	h_broker_start(&e.broker, &e.mqtt);
	write_conf(
	    &e, "jlog", "[sensor s-reg]\ncell = r002c002\ninterval = 1\n");
	h_spawn(&e.d.proc, argv, "jlog.log", true);
	ck_assert_ptr_nonnull(line = h_log_wait(&e.d.proc, key, 30));
	e.d.http = atoi(strstr(line, key) + sizeof(key) - 1);
	ck_assert(h_status_wait(&e.d, "mqtt.connected", 1, 30));
	e.pub = h_mqtt(e.mqtt, "jlog");
	reading(&e, "s1", "r000c001", h, 150);
	reading(&e, "s1", "r000c001", h + 3600, 150);
	reading(&e, "s1", "r000c001", h + 3600, 150); /* a duplicate */
	reading(&e, "s-reg", "r002c002", h + 3600, 20);
	h_publishf(e.pub, "aq/in/bad", "not json");
	ck_assert_ptr_nonnull(
	    h_log_wait(&e.d.proc, "\"module\":\"alerts\"", WAIT_S));
	/* The registered sensor falls silent past its interval. */
	ck_assert_ptr_nonnull(
	    h_log_wait(&e.d.proc, "s-reg is offline", WAIT_S));
	env_stop(&e);

	ck_assert_ptr_nonnull(f = fopen(e.d.proc.log, "r"));
	while (fgets(buf, sizeof(buf), f) != NULL) {
		json_error_t err;
		json_t *j = json_loads(buf, 0, &err);
		const char *mod, *msg, *cell, *sensor;

		ck_assert_msg(
		    j != NULL, "not a JSON line (%s): %s", err.text, buf);
		lines++;
		ck_assert_ptr_nonnull(
		    json_string_value(json_object_get(j, "time")));
		ck_assert_ptr_nonnull(
		    json_string_value(json_object_get(j, "level")));
		mod = json_string_value(json_object_get(j, "module"));
		msg = json_string_value(json_object_get(j, "message"));
		ck_assert_ptr_nonnull(mod);
		ck_assert_ptr_nonnull(msg);
		ck_assert_ptr_null(strchr(mod, ':'));
		cell = json_string_value(json_object_get(j, "cell"));
		sensor = json_string_value(json_object_get(j, "sensor"));
		if (strstr(msg, "refused: duplicate") != NULL) {
			ck_assert_str_eq(mod, "ingest");
			ck_assert_str_eq(sensor, "s1");
			ck_assert_str_eq(cell, "r000c001");
			refused++;
		}
		if (strcmp(mod, "alerts") == 0 && strstr(msg, "high firing")) {
			ck_assert_str_eq(cell, "r000c001");
			alert++;
		}
		if (strstr(msg, "s-reg is offline") != NULL) {
			ck_assert_str_eq(mod, "sensors");
			ck_assert_str_eq(sensor, "s-reg");
			ck_assert_str_eq(cell, "r002c002");
			offline++;
		}
		json_decref(j);
	}
	fclose(f);
	ck_assert_int_gt(lines, 5);
	ck_assert_int_eq(refused, 1);
	ck_assert_int_eq(alert, 1);
	ck_assert_int_eq(offline, 1);
}
END_TEST

/* d. Every metric the Grafana dashboard queries is served by /metrics
 * (with publishing on, so that its series are there too). */
START_TEST(grafana_dashboard_metrics_exist)
{
	struct env e;
	json_error_t err;
	json_t *dash, *panel, *target;
	regex_t re;
	regmatch_t m[1];
	size_t k, t;
	int names = 0, exprs = 0;
	char *text;

	ck_assert_msg((dash = json_load_file(DASHBOARD, 0, &err)) != NULL,
	    "%s:%d: %s", DASHBOARD, err.line, err.text);
	env_start(&e, "grafana",
	    "[publish]\nenabled = yes\n"
	    "[receiver hook]\ntype = webhook\nurl = http://127.0.0.1:9/\n");
	text = metrics(&e.d);
	ck_assert_int_eq(regcomp(&re, "aqgrid_[a-z0-9_]+", REG_EXTENDED), 0);
	json_array_foreach(json_object_get(dash, "panels"), k, panel)
	{
		json_array_foreach(json_object_get(panel, "targets"), t, target)
		{
			const char *expr =
			    json_string_value(json_object_get(target, "expr"));

			if (expr == NULL)
				continue;
			exprs++;
			for (const char *p = expr;
			     regexec(&re, p, 1, m, 0) == 0; p += m[0].rm_eo) {
				char name[128];

				snprintf(name, sizeof(name), "%.*s",
				    (int)(m[0].rm_eo - m[0].rm_so),
				    p + m[0].rm_so);
				ck_assert_msg(has_metric(text, name),
				    "%s: %s queries %s, not in /metrics",
				    DASHBOARD,
				    json_string_value(
					json_object_get(panel, "title")),
				    name);
				names++;
			}
		}
	}
	regfree(&re);
	ck_assert_int_gt(exprs, 10);
	ck_assert_int_gt(names, 10);
	free(text);
	json_decref(dash);
	env_stop(&e);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("integ_publish");
	TCase *tc = tcase_create("publish");

	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, publishes_cells_areas_discovery_alerts);
	tcase_add_test(tc, republishes_after_broker_restart);
	tcase_add_test(tc, cell_weather_survives_restart);
	tcase_add_test(tc, publishes_nothing_when_off);
	tcase_add_test(tc, json_logs);
	tcase_add_test(tc, grafana_dashboard_metrics_exist);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	int rc;

	mosquitto_lib_init();
	rc = h_run(suite());
	mosquitto_lib_cleanup();
	return rc;
}
