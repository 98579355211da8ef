/*
 * check_api: the HTTP API over real HTTP on loopback.  The daemon's state
 * is built from tests/fixtures/conf/api.conf and fed straight into the
 * engine; the server listens on port 0 and libcurl asks it.
 */
#include "web/api.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/aqi.h"
#include "daemon/conf.h"
#include "daemon/fix.h"
#include "daemon/log.h"
#include "daemon/reason.h"
#include "daemon/state.h"
#include "daemon/tz.h"
#include "daemon/version.h"

#define CONF_FILE "tests/fixtures/conf/api.conf"
#define ODD_FILE "tests/fixtures/api/odd.conf"
#define NTHREADS 8
#define HAMMER_MIN 25 /* requests each thread makes at least */
#define NO_VALUE (-1.0)
/* The limits of setup_limits(). */
#define LIM_BODY 1000
#define LIM_HEADER 8192
#define LIM_ORIGINS "https://good.example http://localhost:3000"

struct resp {
	long code;
	char *body;
	size_t len, cap;
	char head[8192];
	size_t hlen;
};

struct worker {
	pthread_t tid;
	atomic_int done;
	atomic_int bad;
	char why[256];         /* read after the join */
	char hour[TZ_ISO_MAX]; /* of the last answer */
	int moves;             /* times the hour moved on */
};

static struct conf *conf;
static struct state *st;
static struct api *api;
static const struct tz *zone;
static char tmp[64];             /* temporary folder of the web root */
static int64_t t_last;           /* newest reading of the live cells */
static int64_t hour_c;           /* their latest complete hour */
static uint32_t s_reg;           /* the registered sensor, in r000c000 */
static atomic_int stop;          /* ends the hammering threads */
static struct curl_slist *extra; /* request headers http() adds */
static const char *const decoders[] = {"json"};

static int decoder_hook(const char *name);
static void setup_tmp(void);
static void setup_repo(void);
static void setup_with(const char *web_root);
static void setup_odd(void);
static void setup_limits(void);
static void setup_cap(void);
static void setup_limits_cap(int cap);
static int raw_connect(void);
static void raw_send(int fd, const char *p, size_t len);
static size_t raw_read(int fd, char *out, size_t cap, bool one);
static size_t raw(const char *req, size_t len, char *out, size_t cap);
static int count_of(const char *hay, const char *needle);
static void teardown(void);
static void make_root(void);
static void put_file(const char *path, const char *text);
static void remove_root(void);
static int64_t hour_start(int64_t hour);
static uint32_t add_sensor(const char *id, const char *cell);
static int feed(
    uint32_t sensor, int64_t ts, int32_t period, double pm25, double o3);
static void populate(void);
static int http(
    CURL *c, const char *method, const char *path, struct resp *out);
static void resp_free(struct resp *r);
static size_t on_body(char *p, size_t size, size_t n, void *data);
static size_t on_head(char *p, size_t size, size_t n, void *data);
static bool header(
    const struct resp *r, const char *name, char *val, size_t len);
static json_t *get_json(const char *path, long code);
static json_t *at(json_t *j, const char *path);
static void assert_str(json_t *j, const char *path, const char *want);
static void assert_int(json_t *j, const char *path, long long want);
static void assert_num(json_t *j, const char *path, double want);
static void assert_null(json_t *j, const char *path);
static void assert_inds(json_t *j, const char *path, const char *want);
static void assert_error(
    const char *method, const char *path, long code, const char *word);
static char *iso(int64_t ts, char *buf);
static uint64_t metric(const char *text, const char *series);
static void check_refs(json_t *doc, json_t *j);
static bool inline_handler(const char *html);
static void *hammer(void *arg);
static int check_cell(json_t *cell, char *why, size_t len);

static int
decoder_hook(const char *name)
{
	return strcmp(name, "json") == 0 ? 0 : -1;
}

static void
setup_tmp(void)
{
	char web[128];

	make_root();
	snprintf(web, sizeof(web), "%s/web", tmp);
	setup_with(web);
}

/* The dashboard as committed: the tests run from the repository's top. */
static void
setup_repo(void)
{
	tmp[0] = '\0';
	setup_with("web");
}

static void
setup_with(const char *web_root)
{
	const struct conf_hooks hooks = {decoder_hook};

	ck_assert_int_eq(conf_load(CONF_FILE, &hooks, &conf, stderr), AQ_OK);
	snprintf(conf->web_root, sizeof(conf->web_root), "%s", web_root);
	/* The state takes conf; it stays readable until state_free(). */
	ck_assert_ptr_nonnull(st = state_new(conf, decoders, 1));
	zone = win_tz(state_engine(st));
	populate();
	ck_assert_ptr_nonnull(api = api_start(st, NULL));
	ck_assert_uint_ne(api_port(api), 0);
}

/* Names that need escaping (odd.conf), one cell with data. */
static void
setup_odd(void)
{
	const struct conf_hooks hooks = {decoder_hook};
	uint32_t s;

	tmp[0] = '\0';
	ck_assert_int_eq(conf_load(ODD_FILE, &hooks, &conf, stderr), AQ_OK);
	ck_assert_ptr_nonnull(st = state_new(conf, decoders, 1));
	zone = win_tz(state_engine(st));
	t_last = (int64_t)time(NULL) - 30;
	hour_c = tz_hour(zone, t_last) - 1;
	s = add_sensor("s1", "q\"1\\x");
	ck_assert_int_eq(
	    feed(s, hour_start(hour_c), 3600, 80, NO_VALUE), AQ_OK);
	ck_assert_int_eq(feed(s, t_last, 60, 80, NO_VALUE), AQ_OK);
	ck_assert_uint_gt(state_publish(st), 0);
	ck_assert_ptr_nonnull(api = api_start(st, NULL));
}

static void
teardown(void)
{
	api_stop(api);
	api = NULL;
	state_free(st);
	st = NULL;
	conf = NULL; /* freed with the state */
	remove_root();
}

/*
 * tmp/web/static holds the files to serve; tmp/web/secret.txt (in the
 * root, outside static/), tmp/outside.txt and a link static/link.txt ->
 * ../secret.txt must never be served.
 */
static void
make_root(void)
{
	char p[256];

	snprintf(tmp, sizeof(tmp), "/tmp/check_api.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	snprintf(p, sizeof(p), "%s/web", tmp);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/web/static", tmp);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	put_file("web/static/index.html", "<!doctype html><p>INDEX</p>\n");
	put_file("web/static/app.js", "console.log('APP');\n");
	put_file("web/static/app.css", "body{margin:0}\n");
	put_file("web/static/logo.svg", "<svg/>\n");
	put_file("web/secret.txt", "SECRET-IN-ROOT\n");
	put_file("outside.txt", "SECRET-OUTSIDE\n");
	snprintf(p, sizeof(p), "%s/web/static/link.txt", tmp);
	ck_assert_int_eq(symlink("../secret.txt", p), 0);
}

static void
put_file(const char *path, const char *text)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", tmp, path);
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static void
remove_root(void)
{
	static const char *const files[] = {"web/static/index.html",
	    "web/static/app.js", "web/static/app.css", "web/static/logo.svg",
	    "web/static/link.txt", "web/secret.txt", "outside.txt",
	    "web/static", "web"};
	char p[256];

	if (tmp[0] == '\0')
		return;
	for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
		snprintf(p, sizeof(p), "%s/%s", tmp, files[k]);
		(void)remove(p);
	}
	(void)remove(tmp);
	tmp[0] = '\0';
}

static int64_t
hour_start(int64_t hour)
{
	return tz_hour_end(zone, hour - 1);
}

static uint32_t
add_sensor(const char *id, const char *cell)
{
	int64_t c = conf_cell_find(conf, cell);
	uint32_t s;

	ck_assert_int_ge(c, 0);
	ck_assert_int_eq(state_sensor(st, id, (uint32_t)c, &s), AQ_OK);
	return s;
}

/* One reading of PM2.5 and/or O3 (NO_VALUE leaves one out), as the
 * ingest thread applies it.  It arrives when it is stamped: the sensor of
 * a reading 29 hours old has been silent since, and is offline. */
static int
feed(uint32_t sensor, int64_t ts, int32_t period, double pm25, double o3)
{
	struct win *w = state_engine(st);
	struct reading r = {.ts = ts, .period = period};
	int64_t prev = win_cell_newest_hour(w, win_sensor_cell(w, sensor));
	int rc;

	if (pm25 >= 0) {
		r.has |= 1u << POL_PM25;
		r.v[POL_PM25] = pm25;
	}
	if (o3 >= 0) {
		r.has |= 1u << POL_O3;
		r.v[POL_O3] = o3;
	}
	if ((rc = win_update(w, sensor, &r)) == AQ_OK)
		state_updated(st, sensor, &r, NULL, prev, ts);
	return rc;
}

/*
 * Cells and what HJ 633-2026 makes of their latest complete hour (PM
 * values are rounded to integers first, IAQI rounded up):
 *   r000c000  PM2.5 80 for 47 h   IAQI 100 + 50 * 20 / 55 = 118.2 -> 119
 *   r000c001  PM2.5 35.2          -> 35: IAQI 50, AQI <= 100 with
 *                                 pollutants missing: shown as NA
 *   r000c002  PM2.5 150, O3 250   IAQI 200 and 100 + 50 * 50 / 100 = 125
 *   r001c000  PM2.5 250           IAQI 300
 *   r001c001  PM2.5 80            IAQI 119 (ties r000c000)
 *   r002c003  PM2.5 10, 29 h ago  IAQI 15, NA; its sensor is offline
 *   others    no data
 * The view shows the hour before each cell's newest reading, so every
 * live cell gets one more reading in the hour after hour_c.
 */
static void
populate(void)
{
	uint32_t s2, s3, s4, s5, s6;

	t_last = (int64_t)time(NULL) - 30;
	hour_c = tz_hour(zone, t_last) - 1;
	s_reg = add_sensor("reg-1", "r000c000");
	s2 = add_sensor("s2", "r000c001");
	s3 = add_sensor("s3", "r000c002");
	s4 = add_sensor("s4", "r001c000");
	s5 = add_sensor("s5", "r001c001");
	s6 = add_sensor("s6", "r002c003");
	for (int64_t h = hour_c - 46; h <= hour_c; h++)
		ck_assert_int_eq(
		    feed(s_reg, hour_start(h), 3600, 80, NO_VALUE), AQ_OK);
	ck_assert_int_eq(
	    feed(s2, hour_start(hour_c), 3600, 35.2, NO_VALUE), AQ_OK);
	ck_assert_int_eq(feed(s3, hour_start(hour_c), 3600, 150, 250), AQ_OK);
	ck_assert_int_eq(
	    feed(s4, hour_start(hour_c), 3600, 250, NO_VALUE), AQ_OK);
	ck_assert_int_eq(
	    feed(s5, hour_start(hour_c), 3600, 80, NO_VALUE), AQ_OK);
	ck_assert_int_eq(feed(s_reg, t_last, 60, 80, NO_VALUE), AQ_OK);
	ck_assert_int_eq(feed(s2, t_last, 60, 35.2, NO_VALUE), AQ_OK);
	ck_assert_int_eq(feed(s3, t_last, 60, 150, 250), AQ_OK);
	ck_assert_int_eq(feed(s4, t_last, 60, 250, NO_VALUE), AQ_OK);
	ck_assert_int_eq(feed(s5, t_last, 60, 80, NO_VALUE), AQ_OK);
	ck_assert_int_eq(
	    feed(s6, hour_start(hour_c - 30), 3600, 10, NO_VALUE), AQ_OK);
	ck_assert_int_eq(
	    feed(s6, hour_start(hour_c - 29), 60, 10, NO_VALUE), AQ_OK);
	ck_assert_uint_gt(state_publish(st), 0);
}

/* ---- HTTP ---- */

static size_t
on_body(char *p, size_t size, size_t n, void *data)
{
	struct resp *r = data;
	size_t len = size * n;

	if (r->len + len + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		char *grown;

		while (cap < r->len + len + 1)
			cap *= 2;
		if ((grown = realloc(r->body, cap)) == NULL)
			return 0;
		r->body = grown;
		r->cap = cap;
	}
	memcpy(r->body + r->len, p, len);
	r->len += len;
	r->body[r->len] = '\0';
	return len;
}

static size_t
on_head(char *p, size_t size, size_t n, void *data)
{
	struct resp *r = data;
	size_t len = size * n;

	if (r->hlen + len < sizeof(r->head)) {
		memcpy(r->head + r->hlen, p, len);
		r->hlen += len;
		r->head[r->hlen] = '\0';
	}
	return len;
}

/* c: a handle to reuse (keep-alive), or NULL for a fresh one. */
static int
http(CURL *c, const char *method, const char *path, struct resp *out)
{
	CURL *h = c != NULL ? c : curl_easy_init();
	char url[1024];
	CURLcode rc = CURLE_FAILED_INIT;

	memset(out, 0, sizeof(*out));
	if (h == NULL)
		return -1;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s",
	    (unsigned int)api_port(api), path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	/* Send "/../" as written: the server must defend itself. */
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_head);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, out);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, extra);
	/* A reused handle keeps the last request's method otherwise. */
	curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "POST") == 0)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "{\"x\":1}");
	else if (strcmp(method, "GET") != 0)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->code);
	if (c == NULL)
		curl_easy_cleanup(h);
	if (out->body == NULL &&
	    on_body((char *)(uintptr_t) "", 1, 0, out) != 0)
		return -1;
	return rc == CURLE_OK && out->body != NULL ? 0 : -1;
}

static void
resp_free(struct resp *r)
{
	free(r->body);
	r->body = NULL;
}

/* Case-insensitive header lookup in the last response's headers. */
static bool
header(const struct resp *r, const char *name, char *val, size_t len)
{
	size_t n = strlen(name);

	for (const char *l = r->head; *l != '\0';) {
		const char *e = strstr(l, "\r\n");
		size_t k = 0;

		if (e == NULL)
			e = l + strlen(l);
		while (k < n && l + k < e &&
		    tolower((unsigned char)l[k]) ==
			tolower((unsigned char)name[k]))
			k++;
		if (k == n && l[n] == ':') {
			const char *v = l + n + 1;

			while (*v == ' ')
				v++;
			snprintf(val, len, "%.*s", (int)(e - v), v);
			return true;
		}
		l = *e != '\0' ? e + 2 : e;
	}
	return false;
}

static json_t *
get_json(const char *path, long code)
{
	struct resp r;
	json_error_t err;
	json_t *j;
	char ct[128];

	ck_assert_int_eq(http(NULL, "GET", path, &r), 0);
	ck_assert_msg(r.code == code, "%s: HTTP %ld, wanted %ld: %s", path,
	    r.code, code, r.body);
	ck_assert(header(&r, "Content-Type", ct, sizeof(ct)));
	ck_assert_str_eq(ct, "application/json");
	j = json_loads(r.body, 0, &err);
	ck_assert_msg(j != NULL, "%s: %s", path, err.text);
	resp_free(&r);
	return j;
}

/* "a.b.0.c": objects by key, arrays by index. */
static json_t *
at(json_t *j, const char *path)
{
	char key[128];

	while (j != NULL && *path != '\0') {
		size_t n = strcspn(path, ".");

		snprintf(key, sizeof(key), "%.*s", (int)n, path);
		if (json_is_array(j))
			j = json_array_get(j, strtoul(key, NULL, 10));
		else
			j = json_object_get(j, key);
		path += n + (path[n] == '.');
	}
	return j;
}

static void
assert_str(json_t *j, const char *path, const char *want)
{
	json_t *v = at(j, path);

	ck_assert_msg(json_is_string(v), "%s: not a string", path);
	ck_assert_str_eq(json_string_value(v), want);
}

static void
assert_int(json_t *j, const char *path, long long want)
{
	json_t *v = at(j, path);

	ck_assert_msg(json_is_integer(v), "%s: not an integer", path);
	ck_assert_msg(json_integer_value(v) == want, "%s: %lld, wanted %lld",
	    path, (long long)json_integer_value(v), want);
}

static void
assert_num(json_t *j, const char *path, double want)
{
	json_t *v = at(j, path);

	ck_assert_msg(json_is_number(v), "%s: not a number", path);
	ck_assert_msg(fabs(json_number_value(v) - want) < 1e-9,
	    "%s: %.10g, wanted %.10g", path, json_number_value(v), want);
}

static void
assert_null(json_t *j, const char *path)
{
	ck_assert_msg(json_is_null(at(j, path)), "%s: not null", path);
}

/* want: indicator names separated by spaces, in order. */
static void
assert_inds(json_t *j, const char *path, const char *want)
{
	json_t *a = at(j, path), *v;
	char got[256] = "";
	size_t k;

	ck_assert_msg(json_is_array(a), "%s: not an array", path);
	json_array_foreach(a, k, v)
	{
		ck_assert(json_is_string(v));
		if (k > 0)
			strcat(got, " ");
		strncat(
		    got, json_string_value(v), sizeof(got) - strlen(got) - 2);
	}
	ck_assert_str_eq(got, want);
}

/* An error answer in JSON whose message names word. */
static void
assert_error(const char *method, const char *path, long code, const char *word)
{
	struct resp r;
	json_t *j;

	ck_assert_int_eq(http(NULL, method, path, &r), 0);
	ck_assert_msg(r.code == code, "%s %s: HTTP %ld, wanted %ld", method,
	    path, r.code, code);
	ck_assert_ptr_nonnull(j = json_loads(r.body, 0, NULL));
	ck_assert_msg(
	    json_is_string(json_object_get(j, "error")), "%s", r.body);
	if (word != NULL)
		ck_assert_msg(
		    strstr(json_string_value(json_object_get(j, "error")),
			word) != NULL,
		    "%s: '%s' does not name %s", path, r.body, word);
	json_decref(j);
	resp_free(&r);
}

static char *
iso(int64_t ts, char *buf)
{
	return tz_format(zone, ts, buf, TZ_ISO_MAX);
}

/* The value of one series ("name{labels}"), or 0 when absent. */
static uint64_t
metric(const char *text, const char *series)
{
	size_t n = strlen(series);

	for (const char *l = text; *l != '\0';) {
		if (strncmp(l, series, n) == 0 && l[n] == ' ')
			return strtoull(l + n + 1, NULL, 10);
		l = strchr(l, '\n');
		if (l == NULL)
			break;
		l++;
	}
	return 0;
}

/* ---- Tests ---- */

START_TEST(health_and_ready)
{
	struct resp r;
	json_t *j;
	CURL *c;
	long conns = 0;
	char v[64];

	j = get_json("/healthz", 200);
	assert_str(j, "status", "ok");
	json_decref(j);
	j = get_json("/readyz", 503);
	ck_assert(json_is_false(json_object_get(j, "ready")));
	assert_str(j, "reason", "mqtt disconnected");
	json_decref(j);
	atomic_store(&state_counters(st)->mqtt_connected, 1);
	j = get_json("/readyz", 200);
	ck_assert(json_is_true(json_object_get(j, "ready")));
	ck_assert_ptr_null(json_object_get(j, "reason"));
	json_decref(j);
	/* One connection serves request after request. */
	ck_assert_ptr_nonnull(c = curl_easy_init());
	for (int k = 0; k < 3; k++) {
		ck_assert_int_eq(
		    http(c, "GET", "/api/v1/cells/r000c000", &r), 0);
		ck_assert_int_eq(r.code, 200);
		ck_assert(!header(&r, "Connection", v, sizeof(v)) ||
		    strcmp(v, "close") != 0);
		ck_assert_int_eq(
		    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &conns),
		    CURLE_OK);
		ck_assert_int_eq(conns, k == 0 ? 1 : 0);
		resp_free(&r);
	}
	curl_easy_cleanup(c);
	/* HEAD: the headers of GET, no body. */
	ck_assert_int_eq(http(NULL, "HEAD", "/healthz", &r), 0);
	ck_assert_int_eq(r.code, 200);
	ck_assert_uint_eq(r.len, 0);
	resp_free(&r);
}
END_TEST

START_TEST(status)
{
	struct counters *c = state_counters(st);
	json_t *j, *rej, *v;
	const char *key;

	state_count_reject(st, REASON_SYNTAX, 3);
	atomic_fetch_add(&c->messages[0][1], 7);
	atomic_fetch_add(&c->readings[0][1], 5);
	atomic_fetch_add(&c->readings[0][0], 2);
	atomic_fetch_add(&c->mqtt_connects, 2);
	atomic_fetch_add(&c->mqtt_reconnects, 1);
	atomic_store(&c->queue_depth, 4);
	j = get_json("/api/v1/status", 200);
	assert_str(j, "version", AQ_VERSION);
	ck_assert(json_integer_value(at(j, "uptime")) >= 0);
	ck_assert(json_is_string(at(j, "started")));
	ck_assert(json_is_false(at(j, "mqtt.connected")));
	assert_int(j, "mqtt.connects", 2);
	assert_int(j, "mqtt.reconnects", 1);
	assert_int(j, "readings.accepted", 5);
	assert_int(j, "readings.rejected", 2);
	assert_int(j, "readings.by_decoder.json.messages_accepted", 7);
	assert_int(j, "readings.by_decoder.json.messages_rejected", 0);
	assert_int(j, "readings.by_decoder.json.readings_accepted", 5);
	assert_int(j, "readings.by_decoder.json.readings_rejected", 2);
	rej = at(j, "rejected");
	ck_assert_uint_eq(json_object_size(rej), REASON_COUNT);
	for (int k = 0; k < REASON_COUNT; k++)
		assert_int(rej, reason_name((enum reason)k),
		    k == REASON_SYNTAX ? 3 : 0);
	json_object_foreach(rej, key, v) ck_assert(json_is_integer(v));
	assert_int(j, "cells", 12);
	assert_int(j, "sensors", 6);
	assert_str(j, "standard.aqi", "hj633-2026");
	assert_str(j, "standard.limits", "gb3095-2026");
	assert_int(j, "standard.grade", 2);
	assert_str(j, "standard.timezone", "Asia/Shanghai");
	assert_int(j, "queue.depth", 4);
	assert_int(j, "queue.capacity", conf->queue);
	json_decref(j);
}
END_TEST

START_TEST(cell_detail)
{
	static const char *const hourly[] = {
	    "pm25_1h", "pm10_1h", "so2_1h", "no2_1h", "co_1h", "o3_1h"};
	char want[TZ_ISO_MAX], date[16];
	json_t *j, *iaqi;
	int32_t day = tz_hour_day(zone, hour_c);

	/* The latest complete day ends at or before the complete hour. */
	if (tz_day_last_hour(zone, day) != hour_c)
		day = tz_date_from_days(tz_days_from_date(day) - 1);
	snprintf(date, sizeof(date), "%04d-%02d-%02d", (int)(day / 10000),
	    (int)(day / 100 % 100), (int)(day % 100));
	j = get_json("/api/v1/cells/r000c000", 200);
	assert_str(j, "id", "r000c000");
	assert_str(j, "area", "north");
	assert_str(j, "area_name", "北区");
	assert_int(j, "row", 0);
	assert_int(j, "col", 0);
	ck_assert(json_is_real(at(j, "lat")) && json_is_real(at(j, "lon")));
	assert_str(j, "hour", iso(tz_hour_end(zone, hour_c), want));
	assert_str(j, "newest", iso(t_last, want));
	assert_str(j, "status", "ok");
	assert_str(j, "aqi.standard", "hj633-2026");
	assert_str(j, "aqi.report", "hourly");
	assert_int(j, "aqi.value", 119);
	assert_int(j, "aqi.level", 3);
	assert_str(j, "aqi.category", "轻度污染");
	assert_str(j, "aqi.category_en", "Lightly polluted");
	assert_str(j, "aqi.color", "#FF7E00");
	assert_inds(j, "aqi.primary", "pm25_1h");
	/* Every indicator the hourly report reads, known or not. */
	iaqi = at(j, "aqi.iaqi");
	ck_assert_uint_eq(json_object_size(iaqi), 6);
	for (size_t k = 0; k < 6; k++)
		if (k == 0)
			assert_int(iaqi, hourly[k], 119);
		else
			assert_null(iaqi, hourly[k]);
	ck_assert_uint_eq(json_array_size(at(j, "aqi.notes")), 0);
	ck_assert_uint_eq(json_object_size(at(j, "concentrations")), 13);
	assert_num(j, "concentrations.pm25_1h", 80);
	assert_num(j, "concentrations.pm25_24h", 80);
	assert_null(j, "concentrations.pm10_1h");
	assert_null(j, "concentrations.o3_8h");
	assert_str(j, "units.co_1h", "mg/m3");
	assert_str(j, "units.pm25_1h", "ug/m3");
	assert_int(j, "valid_hours.pm25_1h", 1);
	assert_int(j, "valid_hours.pm25_24h", 24);
	assert_int(j, "valid_hours.o3_1h", 0);
	assert_inds(j, "exceeds", "pm25_24h");
	assert_str(j, "day.date", date);
	assert_str(j, "day.aqi.report", "daily");
	assert_int(j, "day.aqi.value", 119);
	assert_int(j, "day.aqi.iaqi.pm25_24h", 119);
	assert_inds(j, "day.aqi.primary", "pm25_24h");
	assert_num(j, "day.concentrations.pm25_24h", 80);
	assert_num(j, "day.concentrations.pm25_1h", 80);
	assert_int(j, "day.valid_hours.pm25_24h", 24);
	assert_inds(j, "day.exceeds", "pm25_24h");
	assert_str(j, "sensors.0.id", "reg-1");
	assert_str(j, "sensors.0.last", iso(t_last, want));
	assert_str(j, "sensors.0.status", "ok");
	assert_int(j, "sensors_total", 1);
	/* Its sensor reports no weather: every field null. */
	ck_assert_uint_eq(json_object_size(at(j, "weather")), 6);
	assert_null(j, "weather.temp");
	assert_null(j, "weather.wd");
	json_decref(j);
}
END_TEST

START_TEST(cell_values)
{
	struct resp r;
	json_t *j;

	/* 35.2 is printed as written, without binary noise. */
	ck_assert_int_eq(http(NULL, "GET", "/api/v1/cells/r000c001", &r), 0);
	ck_assert_int_eq(r.code, 200);
	ck_assert_msg(
	    strstr(r.body, "\"pm25_1h\":35.2,") != NULL, "%s", r.body);
	ck_assert_ptr_nonnull(j = json_loads(r.body, 0, NULL));
	resp_free(&r);
	assert_null(j, "aqi.value");
	assert_null(j, "aqi.level");
	assert_null(j, "aqi.category");
	assert_null(j, "aqi.color");
	assert_inds(j, "aqi.primary", "");
	assert_int(j, "aqi.iaqi.pm25_1h", 50);
	assert_str(j, "aqi.notes.0", aqi_note_text(AQI_NOTE_MISSING_HIDDEN));
	json_decref(j);

	j = get_json("/api/v1/cells/r000c002", 200);
	assert_int(j, "aqi.value", 200);
	assert_int(j, "aqi.level", 4);
	assert_str(j, "aqi.color", "#FF0000");
	assert_int(j, "aqi.iaqi.pm25_1h", 200);
	assert_int(j, "aqi.iaqi.o3_1h", 125);
	assert_inds(j, "aqi.primary", "pm25_1h");
	assert_num(j, "concentrations.o3_1h", 250);
	json_decref(j);

	j = get_json("/api/v1/cells/r001c000", 200);
	assert_int(j, "aqi.value", 300);
	assert_int(j, "aqi.level", 5);
	assert_str(j, "aqi.color", "#99004C");
	assert_str(j, "aqi.category_en", "Heavily polluted");
	assert_str(j, "area", "south");
	json_decref(j);

	j = get_json("/api/v1/cells/r002c003", 200);
	assert_str(j, "status", "offline");
	assert_str(j, "sensors.0.id", "s6");
	assert_str(j, "sensors.0.status", "offline");
	json_decref(j);

	j = get_json("/api/v1/cells/r002c000", 200);
	assert_str(j, "status", "no_data");
	assert_null(j, "hour");
	assert_null(j, "newest");
	assert_null(j, "aqi.value");
	ck_assert_uint_eq(json_object_size(at(j, "aqi.iaqi")), 6);
	assert_null(j, "aqi.iaqi.pm25_1h");
	assert_null(j, "day");
	ck_assert_uint_eq(json_array_size(at(j, "sensors")), 0);
	assert_int(j, "sensors_total", 0);
	json_decref(j);
}
END_TEST

START_TEST(cells_list)
{
	static const char *const by_aqi[] = {"r001c000", "r000c002", "r000c000",
	    "r001c001", "r000c001", "r000c003", "r001c002", "r001c003",
	    "r002c000", "r002c001", "r002c002", "r002c003"};
	static const char *const keys[] = {"id", "area", "lat", "lon", "row",
	    "col", "hour", "aqi", "level", "category", "category_en", "color",
	    "primary", "pm25_1h", "pm10_1h", "o3_1h", "o3_8h", "pm25_24h",
	    "status"};
	char want[TZ_ISO_MAX], id[48];
	json_t *j, *res, *c;
	size_t k;

	j = get_json("/api/v1/cells", 200);
	assert_int(j, "meta.count", 12);
	assert_null(j, "meta.next");
	res = at(j, "results");
	ck_assert_uint_eq(json_array_size(res), 12);
	json_array_foreach(res, k, c)
	{
		snprintf(id, sizeof(id), "r%03zuc%03zu", k / 4, k % 4);
		assert_str(c, "id", id);
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			ck_assert_msg(json_object_get(c, keys[i]) != NULL,
			    "%s lacks %s", id, keys[i]);
	}
	assert_str(res, "0.area", "north");
	assert_int(res, "0.aqi", 119);
	assert_int(res, "0.level", 3);
	assert_str(res, "0.category", "轻度污染");
	assert_str(res, "0.category_en", "Lightly polluted");
	assert_str(res, "0.color", "#FF7E00");
	assert_inds(res, "0.primary", "pm25_1h");
	assert_num(res, "0.pm25_1h", 80);
	assert_num(res, "0.pm25_24h", 80);
	assert_null(res, "0.o3_1h");
	assert_str(res, "0.hour", iso(tz_hour_end(zone, hour_c), want));
	assert_str(res, "0.status", "ok");
	assert_int(res, "0.row", 0);
	assert_int(res, "0.col", 0);
	assert_str(res, "5.area", "south");
	assert_num(res, "2.o3_1h", 250);
	assert_null(res, "1.aqi");
	assert_str(res, "8.status", "no_data");
	assert_null(res, "8.hour");
	assert_null(res, "8.color");
	assert_str(res, "11.status", "offline");
	json_decref(j);

	j = get_json("/api/v1/cells?sort=aqi", 200);
	res = at(j, "results");
	ck_assert_uint_eq(json_array_size(res), 12);
	json_array_foreach(res, k, c) assert_str(c, "id", by_aqi[k]);
	json_decref(j);

	j = get_json("/api/v1/cells?min_aqi=150&sort=aqi", 200);
	assert_int(j, "meta.count", 2);
	assert_str(j, "results.0.id", "r001c000");
	assert_str(j, "results.1.id", "r000c002");
	json_decref(j);

	j = get_json("/api/v1/cells?area=south", 200);
	assert_int(j, "meta.count", 8);
	json_array_foreach(at(j, "results"), k, c)
	    ck_assert(strncmp(json_string_value(json_object_get(c, "id")),
			  "r000", 4) != 0);
	json_decref(j);

	j = get_json("/api/v1/cells?area=south&sort=aqi&limit=2", 200);
	assert_int(j, "meta.count", 8);
	assert_str(j, "meta.next", "2");
	assert_str(j, "results.0.id", "r001c000");
	assert_str(j, "results.1.id", "r001c001");
	json_decref(j);
}
END_TEST

/* Following meta.next visits every cell once, in order, for both sorts. */
START_TEST(cells_paging)
{
	static const char *const sorts[] = {"id", "aqi"};

	for (size_t s = 0; s < 2; s++) {
		char path[256], all[12][16], seen[12] = {0};
		json_t *j = NULL, *c, *next;
		int n = 0, pages = 0;
		size_t k;

		snprintf(path, sizeof(path), "/api/v1/cells?sort=%s&limit=12",
		    sorts[s]);
		j = get_json(path, 200);
		json_array_foreach(at(j, "results"), k, c)
		    snprintf(all[k], sizeof(all[k]), "%s",
			json_string_value(json_object_get(c, "id")));
		json_decref(j);
		snprintf(path, sizeof(path), "/api/v1/cells?sort=%s&limit=5",
		    sorts[s]);
		for (;;) {
			j = get_json(path, 200);
			pages++;
			assert_int(j, "meta.count", 12);
			json_array_foreach(at(j, "results"), k, c)
			{
				const char *id =
				    json_string_value(json_object_get(c, "id"));
				int r = id[3] - '0', col = id[7] - '0';

				ck_assert_int_lt(n, 12);
				ck_assert_str_eq(id, all[n]);
				ck_assert_int_eq(seen[r * 4 + col]++, 0);
				n++;
			}
			next = at(j, "meta.next");
			if (json_is_null(next)) {
				json_decref(j);
				break;
			}
			snprintf(path, sizeof(path),
			    "/api/v1/cells?sort=%s&limit=5&cursor=%s", sorts[s],
			    json_string_value(next));
			json_decref(j);
		}
		ck_assert_int_eq(n, 12);
		ck_assert_int_eq(pages, 3);
	}
}
END_TEST

START_TEST(bad_requests)
{
	struct resp r;
	char allow[64];

	assert_error("GET", "/api/v1/cells?min_aqi=abc", 400, "min_aqi");
	assert_error("GET", "/api/v1/cells?min_aqi=-5", 400, "min_aqi");
	assert_error("GET", "/api/v1/cells?limit=0", 400, "limit");
	assert_error("GET", "/api/v1/cells?limit=10001", 400, "limit");
	assert_error("GET", "/api/v1/cells?limit=5x", 400, "limit");
	assert_error("GET", "/api/v1/cells?sort=name", 400, "sort");
	assert_error("GET", "/api/v1/cells?cursor=abc", 400, "cursor");
	assert_error("GET", "/api/v1/cells?cursor=-1", 400, "cursor");
	assert_error("GET", "/api/v1/cells?area=nowhere", 404, "area");
	assert_error("GET", "/api/v1/cells/r999c999", 404, "cell");
	assert_error("GET", "/api/v1/cells/nope", 404, "cell");
	assert_error("GET", "/api/v1/cells/", 404, NULL);
	assert_error("GET", "/api/v1/cells/r000c000/x", 404, NULL);
	assert_error("GET", "/api/v1/areas/nowhere", 404, "area");
	assert_error("GET", "/nope", 404, NULL);
	assert_error("GET", "/api/v2/cells", 404, NULL);
	assert_error("DELETE", "/healthz", 405, NULL);
	assert_error("PUT", "/metrics", 405, NULL);
	assert_error("POST", "/api/v1/status", 405, NULL);
	ck_assert_int_eq(http(NULL, "POST", "/api/v1/cells", &r), 0);
	ck_assert_int_eq(r.code, 405);
	ck_assert(header(&r, "Allow", allow, sizeof(allow)));
	ck_assert_str_eq(allow, "GET, HEAD");
	resp_free(&r);
	/* The server still answers after refusing a body. */
	json_decref(get_json("/healthz", 200));
}
END_TEST

START_TEST(areas)
{
	static const char *const south[] = {"r001c000", "r001c001", "r001c002",
	    "r001c003", "r002c000", "r002c001", "r002c002", "r002c003"};
	json_t *j, *n, *s, *c;
	size_t k;

	j = get_json("/api/v1/areas", 200);
	assert_int(j, "meta.count", 2);
	n = at(j, "results.0");
	assert_str(n, "id", "north");
	assert_str(n, "name", "北区");
	assert_str(n, "name_en", "North");
	assert_int(n, "cells", 4);
	assert_str(n, "worst.cell", "r000c002");
	assert_int(n, "worst.aqi", 200);
	assert_int(n, "worst.level", 4);
	assert_str(n, "worst.color", "#FF0000");
	/* (80 + 35.2 + 150) / 3 */
	assert_num(n, "mean.pm25_1h", 88.4);
	assert_num(n, "mean.o3_1h", 250);
	assert_null(n, "mean.pm10_1h");
	assert_null(n, "mean.co_1h");
	assert_int(n, "levels.1", 0);
	assert_int(n, "levels.3", 1);
	assert_int(n, "levels.4", 1);
	assert_int(n, "levels.unknown", 2);
	ck_assert_ptr_null(json_object_get(n, "cell_ids"));
	s = at(j, "results.1");
	assert_str(s, "id", "south");
	assert_int(s, "cells", 8);
	assert_str(s, "worst.cell", "r001c000");
	assert_int(s, "worst.aqi", 300);
	assert_int(s, "worst.level", 5);
	assert_str(s, "worst.color", "#99004C");
	/* (250 + 80 + 10) / 3, kept to 0.001 */
	assert_num(s, "mean.pm25_1h", 113.333);
	assert_int(s, "levels.3", 1);
	assert_int(s, "levels.5", 1);
	assert_int(s, "levels.unknown", 6);
	assert_int(s, "status.ok", 2);
	assert_int(s, "status.offline", 1);
	assert_int(s, "status.no_data", 5);
	json_decref(j);

	j = get_json("/api/v1/areas/south", 200);
	assert_str(j, "id", "south");
	assert_str(j, "worst.cell", "r001c000");
	assert_num(j, "mean.pm25_1h", 113.333);
	ck_assert_uint_eq(json_array_size(at(j, "cell_ids")), 8);
	json_array_foreach(at(j, "cell_ids"), k, c)
	    ck_assert_str_eq(json_string_value(c), south[k]);
	json_decref(j);
	j = get_json("/api/v1/areas/north", 200);
	assert_null(j, "mean.pm10_1h");
	assert_int(j, "levels.unknown", 2);
	json_decref(j);
}
END_TEST

START_TEST(metrics)
{
	static const char *const names[] = {"aqgrid_build_info", "aqgrid_up",
	    "aqgrid_messages_total", "aqgrid_readings_total",
	    "aqgrid_rejections_total", "aqgrid_mqtt_connected",
	    "aqgrid_mqtt_connects_total", "aqgrid_mqtt_reconnects_total",
	    "aqgrid_queue_depth", "aqgrid_queue_capacity", "aqgrid_cells",
	    "aqgrid_sensors", "aqgrid_http_requests_total",
	    "aqgrid_ingest_latency_seconds", "aqgrid_view_publishes_total"};
	static const char *const series = "aqgrid_http_requests_total{"
					  "route=\"/api/v1/cells/{id}\","
					  "code=\"200\"}";
	struct resp r, x;
	char line[256], ct[128];
	uint64_t before;

	state_latency(st, 300000); /* 0.3 ms */
	state_count_reject(st, REASON_NEGATIVE, 2);
	ck_assert_int_eq(http(NULL, "GET", "/nope", &x), 0);
	resp_free(&x);
	ck_assert_int_eq(http(NULL, "GET", "/metrics", &r), 0);
	ck_assert_int_eq(r.code, 200);
	ck_assert(header(&r, "Content-Type", ct, sizeof(ct)));
	ck_assert(strncmp(ct, "text/plain; version=0.0.4", 25) == 0);
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		snprintf(line, sizeof(line), "# HELP %s ", names[k]);
		ck_assert_msg(strstr(r.body, line) != NULL, "no %s", line);
		snprintf(line, sizeof(line), "# TYPE %s ", names[k]);
		ck_assert_msg(strstr(r.body, line) != NULL, "no %s", line);
	}
	ck_assert_uint_eq(
	    metric(r.body, "aqgrid_build_info{version=\"" AQ_VERSION "\"}"), 1);
	ck_assert_uint_eq(metric(r.body, "aqgrid_up"), 1);
	for (int k = 0; k < REASON_COUNT; k++) {
		snprintf(line, sizeof(line),
		    "aqgrid_rejections_total{reason=\"%s\"} %d",
		    reason_name((enum reason)k), k == REASON_NEGATIVE ? 2 : 0);
		ck_assert_msg(strstr(r.body, line) != NULL, "no %s", line);
	}
	ck_assert(strstr(r.body,
		      "aqgrid_messages_total{decoder=\"json\","
		      "result=\"accepted\"} 0\n") != NULL);
	ck_assert(strstr(r.body,
		      "aqgrid_readings_total{decoder=\"json\","
		      "result=\"rejected\"} 0\n") != NULL);
	ck_assert_uint_eq(metric(r.body, "aqgrid_cells{level=\"3\"}"), 2);
	ck_assert_uint_eq(metric(r.body, "aqgrid_cells{level=\"4\"}"), 1);
	ck_assert_uint_eq(metric(r.body, "aqgrid_cells{level=\"5\"}"), 1);
	ck_assert_uint_eq(metric(r.body, "aqgrid_cells{level=\"unknown\"}"), 8);
	ck_assert_uint_eq(metric(r.body, "aqgrid_sensors"), 6);
	ck_assert_uint_eq(
	    metric(r.body, "aqgrid_queue_capacity"), (uint64_t)conf->queue);
	ck_assert_uint_eq(metric(r.body,
			      "aqgrid_http_requests_total{"
			      "route=\"other\",code=\"404\"}"),
	    1);
	ck_assert_uint_eq(metric(r.body,
			      "aqgrid_ingest_latency_seconds_bucket{"
			      "le=\"0.00025\"}"),
	    0);
	ck_assert_uint_eq(metric(r.body,
			      "aqgrid_ingest_latency_seconds_bucket{"
			      "le=\"0.0005\"}"),
	    1);
	ck_assert_uint_eq(metric(r.body,
			      "aqgrid_ingest_latency_seconds_bucket{"
			      "le=\"+Inf\"}"),
	    1);
	ck_assert_uint_eq(
	    metric(r.body, "aqgrid_ingest_latency_seconds_count"), 1);
	ck_assert(strstr(r.body,
		      "aqgrid_ingest_latency_seconds_sum "
		      "0.000300000\n") != NULL);
	ck_assert_uint_gt(metric(r.body, "aqgrid_view_publishes_total"), 0);
	before = metric(r.body, series);
	resp_free(&r);

	/* The counter moves, labelled by the pattern, never the raw path. */
	json_decref(get_json("/api/v1/cells/r000c000", 200));
	ck_assert_int_eq(http(NULL, "GET", "/metrics", &r), 0);
	ck_assert_uint_eq(metric(r.body, series), before + 1);
	ck_assert_uint_eq(metric(r.body,
			      "aqgrid_http_requests_total{"
			      "route=\"/metrics\",code=\"200\"}"),
	    1);
	ck_assert_ptr_null(strstr(r.body, "r000c000"));
	ck_assert_ptr_null(strstr(r.body, "/nope"));
	resp_free(&r);
}
END_TEST

/* Every "$ref" of the document names one of its schemas. */
static void
check_refs(json_t *doc, json_t *j)
{
	const char *key;
	json_t *v;
	size_t k;

	if (json_is_object(j)) {
		json_object_foreach(j, key, v)
		{
			if (strcmp(key, "$ref") == 0) {
				const char *p = json_string_value(v);

				ck_assert_ptr_nonnull(p);
				ck_assert(strncmp(p, "#/components/schemas/",
					      21) == 0);
				ck_assert_msg(at(at(doc, "components.schemas"),
						  p + 21) != NULL,
				    "dangling %s", p);
			} else {
				check_refs(doc, v);
			}
		}
	} else if (json_is_array(j)) {
		json_array_foreach(j, k, v) check_refs(doc, v);
	}
}

START_TEST(openapi)
{
	static const char *const cells_params[] = {
	    "area", "min_aqi", "sort", "limit", "cursor"};
	static const char *const main_schemas[] = {"CellSummary", "CellDetail",
	    "Area", "AreaDetail", "Status", "Error"};
	const char *const *pat;
	size_t n = api_routes(&pat), k;
	json_t *j, *paths, *op, *p;

	j = get_json("/api/v1/openapi.json", 200);
	assert_str(j, "openapi", "3.0.3");
	assert_str(j, "info.version", AQ_VERSION);
	paths = at(j, "paths");
	ck_assert_uint_ge(n, 10);
	ck_assert_uint_eq(json_object_size(paths), n);
	for (size_t i = 0; i < n; i++) {
		/* Each path has GET, or a write (POST, DELETE) only. */
		p = json_object_get(paths, pat[i]);
		if ((op = json_object_get(p, "get")) == NULL &&
		    (op = json_object_get(p, "post")) == NULL)
			op = json_object_get(p, "delete");
		ck_assert_msg(op != NULL, "no operation for %s", pat[i]);
		ck_assert(
		    json_object_size(json_object_get(op, "responses")) > 0);
		ck_assert(json_is_object(at(op, "responses.200")) ||
		    json_is_object(at(op, "responses.201")));
		ck_assert(json_is_object(at(op, "responses.400")));
		ck_assert(json_is_object(at(op, "responses.413")));
		ck_assert(json_is_object(at(op, "responses.414")));
		if (strchr(pat[i], '{') != NULL)
			assert_str(op, "parameters.0.in", "path");
	}
	op = at(paths, "/api/v1/cells.get");
	ck_assert_ptr_nonnull(op);
	json_array_foreach(json_object_get(op, "parameters"), k, p)
	{
		ck_assert_uint_lt(k, 5);
		assert_str(p, "name", cells_params[k]);
		assert_str(p, "in", "query");
	}
	ck_assert_uint_eq(
	    json_array_size(json_object_get(op, "parameters")), 5);
	for (size_t i = 0; i < 6; i++)
		ck_assert_ptr_nonnull(json_object_get(
		    at(j, "components.schemas"), main_schemas[i]));
	assert_str(j, "components.schemas.CellSummary.properties.status.enum.2",
	    "offline");
	check_refs(j, j);
	json_decref(j);
}
END_TEST

START_TEST(static_files)
{
	static const char *const attacks[] = {"/../etc/passwd", "/%2e%2e/",
	    "/%2e%2e/%2e%2e/etc/passwd", "/static/..%2f..%2fsecret.txt",
	    "/static/..%2fsecret.txt", "/static/%2e%2e%2fsecret.txt",
	    "/static/../secret.txt", "/static/../../outside.txt",
	    "/static/..%5csecret.txt", "/static/..\\secret.txt",
	    "/static/.hidden", "/static/..", "/static/.", "/static/link.txt",
	    "/static/app.js%00.png", "/static/%2e%2e", "/static//etc/passwd",
	    "/static/secret.txt", "/secret.txt", "/outside.txt",
	    "/static/app%2ejs", "/static/"};
	char v[512];
	struct resp r;

	ck_assert_int_eq(http(NULL, "GET", "/", &r), 0);
	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(r.body, "<!doctype html><p>INDEX</p>\n");
	ck_assert(header(&r, "Content-Type", v, sizeof(v)));
	ck_assert_str_eq(v, "text/html; charset=utf-8");
	ck_assert(header(&r, "Content-Security-Policy", v, sizeof(v)));
	ck_assert_str_eq(v,
	    "default-src 'self'; script-src 'self'; "
	    "style-src 'self'; img-src 'self' data:; "
	    "connect-src 'self'; frame-ancestors 'none'");
	ck_assert(header(&r, "X-Content-Type-Options", v, sizeof(v)));
	ck_assert_str_eq(v, "nosniff");
	ck_assert(header(&r, "Referrer-Policy", v, sizeof(v)));
	ck_assert_str_eq(v, "no-referrer");
	resp_free(&r);
	for (size_t k = 0; k < 3; k++) {
		static const char *const files[][3] = {
		    {"/static/app.js", "text/javascript; charset=utf-8",
			"console.log('APP');\n"},
		    {"/static/app.css", "text/css; charset=utf-8",
			"body{margin:0}\n"},
		    {"/static/logo.svg", "image/svg+xml", "<svg/>\n"}};

		ck_assert_int_eq(http(NULL, "GET", files[k][0], &r), 0);
		ck_assert_int_eq(r.code, 200);
		ck_assert_str_eq(r.body, files[k][2]);
		ck_assert(header(&r, "Content-Type", v, sizeof(v)));
		ck_assert_str_eq(v, files[k][1]);
		ck_assert(header(&r, "X-Content-Type-Options", v, sizeof(v)));
		resp_free(&r);
	}
	for (size_t k = 0; k < sizeof(attacks) / sizeof(attacks[0]); k++) {
		ck_assert_int_eq(http(NULL, "GET", attacks[k], &r), 0);
		ck_assert_msg(r.code == 400 || r.code == 404, "%s: HTTP %ld",
		    attacks[k], r.code);
		ck_assert_msg(strstr(r.body, "SECRET") == NULL &&
			strstr(r.body, "root:") == NULL,
		    "%s: %s", attacks[k], r.body);
		ck_assert(header(&r, "X-Content-Type-Options", v, sizeof(v)));
		resp_free(&r);
	}
	/* Escapes are refused outright, even where they would be harmless. */
	ck_assert_int_eq(http(NULL, "GET", "/static/app%2ejs", &r), 0);
	ck_assert_int_eq(r.code, 400);
	resp_free(&r);
	/* Security headers on API answers and errors too. */
	ck_assert_int_eq(http(NULL, "GET", "/api/v1/cells/r000c000", &r), 0);
	ck_assert(header(&r, "X-Content-Type-Options", v, sizeof(v)));
	ck_assert_str_eq(v, "nosniff");
	ck_assert(header(&r, "Referrer-Policy", v, sizeof(v)));
	ck_assert_str_eq(v, "no-referrer");
	resp_free(&r);
	ck_assert_int_eq(http(NULL, "DELETE", "/api/v1/cells", &r), 0);
	ck_assert_int_eq(r.code, 405);
	ck_assert(header(&r, "Referrer-Policy", v, sizeof(v)));
	resp_free(&r);
}
END_TEST

/* An attribute like onclick=, which the CSP would block. */
static bool
inline_handler(const char *html)
{
	for (const char *p = strstr(html, " on"); p != NULL;
	     p = strstr(p + 1, " on")) {
		const char *q = p + 3;

		while (*q >= 'a' && *q <= 'z')
			q++;
		if (q > p + 3 && *q == '=')
			return true;
	}
	return false;
}

/* The committed dashboard: served, and within its own CSP. */
START_TEST(dashboard)
{
	static const char *const files[][2] = {
	    {"/static/app.js", "text/javascript; charset=utf-8"},
	    {"/static/app.css", "text/css; charset=utf-8"}};
	char v[512];
	struct resp r;

	ck_assert_int_eq(http(NULL, "GET", "/", &r), 0);
	ck_assert_int_eq(r.code, 200);
	ck_assert(header(&r, "Content-Security-Policy", v, sizeof(v)));
	ck_assert_ptr_nonnull(strstr(r.body, "<canvas"));
	ck_assert_ptr_nonnull(strstr(r.body, "/static/app.js"));
	ck_assert_ptr_nonnull(strstr(r.body, "/static/app.css"));
	/* No inline script or style, nothing from elsewhere. */
	ck_assert_ptr_null(strstr(r.body, "<script>"));
	ck_assert_ptr_null(strstr(r.body, "<style"));
	ck_assert_ptr_null(strstr(r.body, "style="));
	ck_assert(!inline_handler(r.body));
	ck_assert_ptr_null(strstr(r.body, "http:"));
	ck_assert_ptr_null(strstr(r.body, "https:"));
	resp_free(&r);
	for (size_t k = 0; k < 2; k++) {
		ck_assert_int_eq(http(NULL, "GET", files[k][0], &r), 0);
		ck_assert_int_eq(r.code, 200);
		ck_assert(header(&r, "Content-Type", v, sizeof(v)));
		ck_assert_str_eq(v, files[k][1]);
		ck_assert_ptr_null(strstr(r.body, "http:"));
		ck_assert_ptr_null(strstr(r.body, "https:"));
		resp_free(&r);
	}
}
END_TEST

/* Ids and names come back exactly, whatever they hold. */
START_TEST(odd_names)
{
	json_t *j;

	j = get_json("/api/v1/cells", 200);
	assert_int(j, "meta.count", 4);
	assert_str(j, "results.0.id", "q\"1\\x");
	assert_null(j, "results.0.row");
	assert_null(j, "results.0.col");
	assert_str(j, "results.0.area", "odd");
	assert_int(j, "results.0.aqi", 119);
	assert_num(j, "results.0.lat", 39.8);
	assert_str(j, "results.1.id", "r000c000");
	assert_str(j, "results.3.id", "点位");
	json_decref(j);
	j = get_json("/api/v1/cells/%E7%82%B9%E4%BD%8D", 200);
	assert_str(j, "id", "点位");
	assert_str(j, "area_name", "A \"quoted\" \\ name");
	json_decref(j);
	j = get_json("/api/v1/cells/q%221%5Cx", 200);
	assert_str(j, "id", "q\"1\\x");
	assert_int(j, "aqi.value", 119);
	json_decref(j);
	j = get_json("/api/v1/cells?area=odd&sort=aqi", 200);
	assert_int(j, "meta.count", 3);
	assert_str(j, "results.0.id", "q\"1\\x");
	json_decref(j);
	j = get_json("/api/v1/areas/odd", 200);
	assert_str(j, "name", "A \"quoted\" \\ name");
	/* Not UTF-8: replaced, never passed on. */
	assert_str(j, "name_en", "\xef\xbf\xbd");
	assert_int(j, "cells", 3);
	assert_str(j, "worst.cell", "q\"1\\x");
	json_decref(j);
}
END_TEST

/*
 * A cell answer agrees with itself: the AQI is the largest IAQI, and the
 * PM2.5 IAQI is what the standard makes of the PM2.5 value shown.
 */
static int
check_cell(json_t *cell, char *why, size_t len)
{
	struct aqi_opts o = {.std = AQI_HJ633_2026, .report = AQI_HOURLY};
	struct aqi_input in = {0};
	struct aqi_result res;
	json_t *aqi = json_object_get(cell, "aqi"), *v;
	json_t *pm = at(cell, "concentrations.pm25_1h");
	const char *key;
	json_int_t max = -1;

	if (!json_is_object(aqi) || !json_is_string(at(cell, "hour"))) {
		snprintf(why, len, "no aqi or hour");
		return -1;
	}
	json_object_foreach(json_object_get(aqi, "iaqi"), key,
	    v) if (json_is_integer(v) && json_integer_value(v) > max) max =
	    json_integer_value(v);
	v = json_object_get(aqi, "value");
	if (json_is_integer(v) && json_integer_value(v) != max) {
		snprintf(why, len, "aqi %lld but largest iaqi %lld",
		    (long long)json_integer_value(v), (long long)max);
		return -1;
	}
	if (!json_is_null(v) && !json_is_integer(v)) {
		snprintf(why, len, "aqi not a number or null");
		return -1;
	}
	in.has = IND_BIT(IND_PM25_1H);
	in.unit[IND_PM25_1H] = UNIT_UGM3;
	if (!json_is_number(pm) ||
	    fix_from_double(json_number_value(pm), &in.v[IND_PM25_1H]) !=
		AQ_OK ||
	    aqi_compute(&o, &in, &res) != AQ_OK ||
	    res.iaqi[IND_PM25_1H] !=
		json_integer_value(at(aqi, "iaqi.pm25_1h"))) {
		snprintf(why, len, "pm25_1h and its iaqi disagree");
		return -1;
	}
	return 0;
}

static void *
hammer(void *arg)
{
	struct worker *w = arg;
	CURL *c = curl_easy_init();
	struct resp r;
	json_t *j;

	while (c != NULL && w->bad == 0 &&
	    (!atomic_load(&stop) || atomic_load(&w->done) < HAMMER_MIN)) {
		int n = atomic_load(&w->done);
		const char *path = n % 4 == 3 ? "/api/v1/cells?sort=aqi&limit=3"
					      : "/api/v1/cells/r000c000";

		if (http(c, "GET", path, &r) != 0 || r.code != 200) {
			snprintf(w->why, sizeof(w->why), "%s: HTTP %ld", path,
			    r.code);
			w->bad = 1;
		} else if ((j = json_loads(r.body, 0, NULL)) == NULL) {
			snprintf(w->why, sizeof(w->why), "%s: bad JSON", path);
			w->bad = 1;
		} else {
			if (n % 4 != 3 &&
			    check_cell(j, w->why, sizeof(w->why)) != 0)
				w->bad = 1;
			/* One connection, one request after another: never
			 * an older hour than the last answer's. */
			if (n % 4 != 3 && w->bad == 0) {
				const char *h =
				    json_string_value(at(j, "hour"));
				int cmp = strcmp(h, w->hour);

				if (cmp < 0) {
					snprintf(w->why, sizeof(w->why),
					    "hour went back: %s after %s", h,
					    w->hour);
					w->bad = 1;
				}
				w->moves += cmp > 0 && w->hour[0] != '\0';
				snprintf(w->hour, sizeof(w->hour), "%s", h);
			}
			if (n % 4 == 3 &&
			    json_array_size(json_object_get(j, "results")) !=
				3) {
				snprintf(w->why, sizeof(w->why), "short page");
				w->bad = 1;
			}
			json_decref(j);
		}
		resp_free(&r);
		atomic_fetch_add(&w->done, 1);
	}
	if (c == NULL)
		w->bad = 1;
	curl_easy_cleanup(c);
	return NULL;
}

/* Readers hammer one cell while the ingest side keeps moving it on. */
START_TEST(concurrent_readers)
{
	struct worker w[NTHREADS];
	int64_t h = hour_c + 1;
	int steps = 0, moves = 0, fed = AQ_OK, joined = 0;
	uint32_t published = 1;
	bool all;

	atomic_store(&stop, 0);
	for (int k = 0; k < NTHREADS; k++) {
		memset(&w[k], 0, sizeof(w[k]));
		atomic_init(&w[k].done, 0);
		atomic_init(&w[k].bad, 0);
		ck_assert_int_eq(
		    pthread_create(&w[k].tid, NULL, hammer, &w[k]), 0);
	}
	/* No assertion may leave this function while the readers run (with
	 * CK_FORK=no it would pull their stack from under them): failures
	 * are recorded, the readers stopped and joined, then asserted. */
	do {
		/* Each new hour completes the one before it. */
		h++;
		fed = feed(s_reg, hour_start(h), 3600,
		    40 + (double)(steps * 7 % 120) + 0.1, NO_VALUE);
		published = state_publish(st);
		steps++;
		all = true;
		for (int k = 0; k < NTHREADS; k++)
			if (atomic_load(&w[k].done) < HAMMER_MIN &&
			    w[k].bad == 0)
				all = false;
	} while (fed == AQ_OK && published == 1 && (!all || steps < 50) &&
	    steps < 10000000);
	atomic_store(&stop, 1);
	for (int k = 0; k < NTHREADS; k++)
		joined += pthread_join(w[k].tid, NULL) == 0;
	ck_assert_int_eq(joined, NTHREADS);
	ck_assert_int_eq(fed, AQ_OK);
	ck_assert_uint_eq(published, 1);
	for (int k = 0; k < NTHREADS; k++) {
		ck_assert_msg(w[k].bad == 0, "thread %d: %s", k, w[k].why);
		ck_assert_int_ge(atomic_load(&w[k].done), HAMMER_MIN);
		moves += w[k].moves;
	}
	/* The readers did see the cell move on under them. */
	ck_assert_int_gt(moves, 0);
}
END_TEST

/* ---- Request targets, limits, CORS ---- */

/* What api_parse_target() makes of a target: status, route, {param},
 * whether escaped, and the query as "key=value|key" (NULL: not checked). */
static const struct target_case {
	const char *target;
	int status;
	const char *route; /* pattern, or NULL for none */
	const char *param;
	bool escaped;
	const char *args;
} target_cases[] = {
    {"/healthz", 0, "/healthz", "", false, ""},
    {"/", 0, "/", "", false, ""},
    {"/api/v1/cells/r000c001", 0, "/api/v1/cells/{id}", "r000c001", false, ""},
    {"/api/v1/cells/q%221%5Cx", 0, "/api/v1/cells/{id}", "q\"1\\x", true, ""},
    {"/api/v1/cells/%E7%82%B9%E4%BD%8D", 0, "/api/v1/cells/{id}",
	"\xe7\x82\xb9\xe4\xbd\x8d", true, ""},
    {"/static/app.js", 0, "/static/{file}", "app.js", false, ""},
    {"/static/app%2ejs", 0, "/static/{file}", "app.js", true, ""},
    {"/static/..%5csecret.txt", 0, "/static/{file}", "..\\secret.txt", true,
	""},
    {"/static//etc/passwd", 0, NULL, "", false, ""},
    {"/api/v1/cells/", 0, NULL, "", false, ""},
    {"/api/v1/cells?area=a%20b&limit=5&sort", 0, "/api/v1/cells", "", false,
	"area=a b|limit=5|sort"},
    {"/api/v1/cells?a=1+2&&b=%2F&c=&a=2", 0, "/api/v1/cells", "", false,
	"a=1 2|b=/|c=|a=2"},
    {"/api/v1/cells?%zz", 400, NULL, NULL, false, NULL},
    {"/api/v1/cells?x=%00", 400, NULL, NULL, false, NULL},
    {"/api/v1/cells?x=%4", 400, NULL, NULL, false, NULL},
    {"/static/..%2fsecret.txt", 400, NULL, NULL, false, NULL},
    {"/static/..%2Fsecret.txt", 400, NULL, NULL, false, NULL},
    {"/static/..\\secret.txt", 400, NULL, NULL, false, NULL},
    {"/static/app.js%00.png", 400, NULL, NULL, false, NULL},
    {"/static/%0a", 400, NULL, NULL, false, NULL},
    {"/static/a\tb", 400, NULL, NULL, false, NULL},
    {"/%2e%2e/etc/passwd", 400, NULL, NULL, false, NULL},
    {"/%2E%2e/", 400, NULL, NULL, false, NULL},
    {"/static/../secret.txt", 400, NULL, NULL, false, NULL},
    {"/static/..", 400, NULL, NULL, false, NULL},
    {"/static/.", 400, NULL, NULL, false, NULL},
    {"/a/./b", 400, NULL, NULL, false, NULL},
    {"/healthz%", 400, NULL, NULL, false, NULL},
    {"/healthz%g0", 400, NULL, NULL, false, NULL},
    {"/healthz#top", 400, NULL, NULL, false, NULL},
    {"http://example.org/healthz", 400, NULL, NULL, false, NULL},
    {"*", 400, NULL, NULL, false, NULL},
    {"", 400, NULL, NULL, false, NULL},
    {"healthz", 400, NULL, NULL, false, NULL},
};

START_TEST(parse_target)
{
	const struct target_case *tc = &target_cases[_i];
	static struct api_target t;
	const char *const *pats;
	char args[512] = "";
	size_t n = api_routes(&pats);
	int rc = api_parse_target(tc->target, &t);

	ck_assert_msg(
	    rc == tc->status, "%s: %d, wanted %d", tc->target, rc, tc->status);
	if (rc != 0)
		return;
	if (tc->route == NULL) {
		ck_assert_msg(
		    t.route == -1, "%s: route %d", tc->target, t.route);
	} else {
		ck_assert_msg(t.route >= 0 && (size_t)t.route < n,
		    "%s: no route", tc->target);
		ck_assert_str_eq(pats[t.route], tc->route);
		ck_assert_str_eq(t.param, tc->param);
	}
	ck_assert_msg(t.escaped == tc->escaped, "%s: escaped", tc->target);
	for (size_t k = 0; k < t.nargs; k++) {
		size_t len = strlen(args);

		snprintf(args + len, sizeof(args) - len, "%s%s%s%s",
		    k > 0 ? "|" : "", t.args[k].key,
		    t.args[k].value != NULL ? "=" : "",
		    t.args[k].value != NULL ? t.args[k].value : "");
	}
	ck_assert_str_eq(args, tc->args);
}
END_TEST

/* Lengths and counts at their bounds. */
START_TEST(parse_target_bounds)
{
	static struct api_target t;
	static char target[API_TARGET_MAX + 8];
	size_t n;

	memset(target, 'a', sizeof(target));
	target[0] = '/';
	target[API_TARGET_MAX - 1] = '\0';
	ck_assert_int_eq(api_parse_target(target, &t), 0);
	ck_assert_int_eq(t.route, -1);
	ck_assert_uint_eq(strlen(t.path), API_TARGET_MAX - 1);
	target[API_TARGET_MAX - 1] = 'a';
	target[API_TARGET_MAX] = '\0';
	ck_assert_int_eq(api_parse_target(target, &t), 414);
	/* A query of nothing but short pairs fills buf exactly. */
	n = (size_t)snprintf(target, sizeof(target), "/healthz?");
	for (int k = 0; k < API_ARGS_MAX; k++)
		n += (size_t)snprintf(target + n, sizeof(target) - n,
		    "%sk%d=%d", k ? "&" : "", k, k);
	ck_assert_int_eq(api_parse_target(target, &t), 0);
	ck_assert_uint_eq(t.nargs, API_ARGS_MAX);
	ck_assert_str_eq(t.args[API_ARGS_MAX - 1].value, "31");
	snprintf(target + n, sizeof(target) - n, "&one=more");
	ck_assert_int_eq(api_parse_target(target, &t), 400);
	/* The longest query: every byte a separate key. */
	memset(target, '&', sizeof(target));
	memcpy(target, "/?", 2);
	for (size_t k = 2; k < API_TARGET_MAX - 1; k += 2)
		target[k] = 'x';
	target[API_TARGET_MAX - 1] = '\0';
	ck_assert_int_eq(api_parse_target(target, &t), 400); /* > ARGS_MAX */
}
END_TEST

static void
setup_limits(void)
{
	setup_limits_cap(64);
}

/* The per-client cap of 2 only where it is the test: elsewhere the
 * server's reaping of closed connections in its own time would make
 * back-to-back requests race it. */
static void
setup_cap(void)
{
	setup_limits_cap(2);
}

static void
setup_limits_cap(int cap)
{
	const struct conf_hooks hooks = {decoder_hook};

	tmp[0] = '\0';
	ck_assert_int_eq(conf_load(CONF_FILE, &hooks, &conf, stderr), AQ_OK);
	snprintf(conf->web_root, sizeof(conf->web_root), "web");
	conf->http_max_body = LIM_BODY;
	conf->http_max_header = LIM_HEADER;
	conf->http_client_connections = cap;
	conf->http_idle_timeout = 2;
	snprintf(conf->http_cors_origins, sizeof(conf->http_cors_origins), "%s",
	    LIM_ORIGINS);
	ck_assert_ptr_nonnull(st = state_new(conf, decoders, 1));
	zone = win_tz(state_engine(st));
	ck_assert_ptr_nonnull(api = api_start(st, NULL));
}

/* A loopback connection to the server; reads give up after 10 s, a guard
 * against a hang, not a measurement. */
static int
raw_connect(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	struct timeval tv = {10, 0};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(api_port(api));
	ck_assert_int_eq(
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Sends what it can: the server may close early (that is the test). */
static void
raw_send(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

/*
 * Reads into out (NUL-terminated) until the server closes, or, with one,
 * until one whole response with a Content-Length is in.
 */
static size_t
raw_read(int fd, char *out, size_t cap, bool one)
{
	size_t len = 0;

	out[0] = '\0';
	while (len + 1 < cap) {
		ssize_t n = recv(fd, out + len, cap - 1 - len, 0);
		const char *end, *cl;

		if (n <= 0)
			break;
		len += (size_t)n;
		out[len] = '\0';
		if (one && (end = strstr(out, "\r\n\r\n")) != NULL &&
		    (cl = strstr(out, "Content-Length: ")) != NULL &&
		    (size_t)(end + 4 - out) + strtoul(cl + 16, NULL, 10) <= len)
			break;
	}
	return len;
}

static size_t
raw(const char *req, size_t len, char *out, size_t cap)
{
	int fd = raw_connect();
	size_t n;

	raw_send(fd, req, len);
	n = raw_read(fd, out, cap, false);
	close(fd);
	return n;
}

static int
count_of(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(hay, needle); p != NULL;
	     p = strstr(p + 1, needle))
		n++;
	return n;
}

/* The server refuses what a parser must never let through. */
START_TEST(targets_over_http)
{
	static const char *const bad[] = {"/static/app.js%00.png",
	    "/%2e%2e/%2e%2e/etc/passwd", "/healthz?x=%00",
	    "/api/v1/cells?limit=%zz", "/static/..%2Fsecret.txt"};
	json_t *j;

	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		assert_error("GET", bad[k], 400, "target");
	/* The query reaches the handler decoded. */
	j = get_json("/api/v1/cells?limit=%32&sort=a%71i", 200);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "results")), 2);
	json_decref(j);
}
END_TEST

START_TEST(body_limit)
{
	static char req[LIM_BODY * 4];
	static char out[16384];
	size_t n;
	int fd;

	/* Declared too large: 413 before a byte of the body is read. */
	n = (size_t)snprintf(req, sizeof(req),
	    "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n",
	    LIM_BODY + 1);
	raw(req, n, out, sizeof(out));
	ck_assert_msg(strncmp(out, "HTTP/1.1 413 ", 13) == 0, "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "request body over 1000 bytes"));
	ck_assert_ptr_nonnull(strstr(out, "X-Content-Type-Options: nosniff"));
	/* Within the limit: read, ignored by GET, and the connection serves
	 * the next request. */
	n = (size_t)snprintf(req, sizeof(req),
	    "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n",
	    LIM_BODY);
	memset(req + n, 'b', LIM_BODY);
	n += LIM_BODY;
	n += (size_t)snprintf(req + n, sizeof(req) - n,
	    "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	raw(req, n, out, sizeof(out));
	ck_assert_msg(count_of(out, "HTTP/1.1 200 ") == 2, "%s", out);
	/* Chunked past the limit: the connection ends unanswered. */
	n = (size_t)snprintf(req, sizeof(req),
	    "GET /healthz HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n%x\r\n",
	    LIM_BODY * 2);
	memset(req + n, 'c', LIM_BODY * 2);
	n += LIM_BODY * 2;
	n += (size_t)snprintf(req + n, sizeof(req) - n, "\r\n0\r\n\r\n");
	raw(req, n, out, sizeof(out));
	ck_assert_msg(strstr(out, "HTTP/1.1 200") == NULL, "%s", out);
	/* A POST body over the limit, from curl: 413 too. */
	fd = raw_connect();
	n = (size_t)snprintf(req, sizeof(req),
	    "POST /api/v1/status HTTP/1.1\r\nHost: x\r\nContent-Length: "
	    "99999999\r\nExpect: 100-continue\r\n\r\n");
	raw_send(fd, req, n);
	raw_read(fd, out, sizeof(out), false);
	close(fd);
	ck_assert_msg(strncmp(out, "HTTP/1.1 413 ", 13) == 0, "%s", out);
	ck_assert_ptr_null(strstr(out, "100 Continue"));
	/* Still serving. */
	json_decref(get_json("/healthz", 200));
}
END_TEST

START_TEST(header_limit)
{
	static char req[LIM_HEADER * 3];
	static char out[16384];
	size_t n;

	/* Headers over max_header: libmicrohttpd's own 431. */
	n = (size_t)snprintf(
	    req, sizeof(req), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(req + n, 'h', LIM_HEADER * 2);
	n += LIM_HEADER * 2;
	n += (size_t)snprintf(req + n, sizeof(req) - n, "\r\n\r\n");
	raw(req, n, out, sizeof(out));
	ck_assert_msg(strncmp(out, "HTTP/1.1 431 ", 13) == 0, "%.200s", out);
	/* A request line over it: libmicrohttpd's 414. */
	n = (size_t)snprintf(req, sizeof(req), "GET /healthz?x=");
	memset(req + n, 'u', LIM_HEADER * 2);
	n += LIM_HEADER * 2;
	n += (size_t)snprintf(
	    req + n, sizeof(req) - n, " HTTP/1.1\r\nHost: x\r\n\r\n");
	raw(req, n, out, sizeof(out));
	ck_assert_msg(strncmp(out, "HTTP/1.1 414 ", 13) == 0, "%.200s", out);
	/* Within max_header but over API_TARGET_MAX: ours. */
	n = (size_t)snprintf(req, sizeof(req), "GET /healthz?x=");
	memset(req + n, 'u', API_TARGET_MAX);
	n += API_TARGET_MAX;
	n += (size_t)snprintf(req + n, sizeof(req) - n,
	    " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	raw(req, n, out, sizeof(out));
	ck_assert_msg(strncmp(out, "HTTP/1.1 414 ", 13) == 0, "%.200s", out);
	ck_assert_ptr_nonnull(strstr(out, "bad request target"));
	json_decref(get_json("/healthz", 200));
}
END_TEST

START_TEST(client_cap)
{
	static const char get[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
	char out[4096];
	int fd[3];
	bool again = false;
	long long until;

	/* Two connections, each known to the server by an answer. */
	for (int k = 0; k < 2; k++) {
		fd[k] = raw_connect();
		raw_send(fd[k], get, sizeof(get) - 1);
		raw_read(fd[k], out, sizeof(out), true);
		ck_assert_msg(
		    strncmp(out, "HTTP/1.1 200 ", 13) == 0, "%d: %s", k, out);
	}
	/* The third from the same address is closed unanswered. */
	fd[2] = raw_connect();
	raw_send(fd[2], get, sizeof(get) - 1);
	ck_assert_uint_eq(raw_read(fd[2], out, sizeof(out), false), 0);
	close(fd[2]);
	/* The first two still work. */
	raw_send(fd[1], get, sizeof(get) - 1);
	raw_read(fd[1], out, sizeof(out), true);
	ck_assert_msg(strncmp(out, "HTTP/1.1 200 ", 13) == 0, "%s", out);
	/* Once one closes, a new one gets in (the server notices the close
	 * in its own time: poll). */
	close(fd[0]);
	until = (long long)time(NULL) + 10;
	while (!again && (long long)time(NULL) < until) {
		int f = raw_connect();

		raw_send(f, get, sizeof(get) - 1);
		raw_read(f, out, sizeof(out), true);
		again = strncmp(out, "HTTP/1.1 200 ", 13) == 0;
		close(f);
		if (!again)
			nanosleep(&(struct timespec){0, 50000000}, NULL);
	}
	ck_assert(again);
	close(fd[1]);
}
END_TEST

START_TEST(idle_timeout)
{
	char out[256];
	int fd = raw_connect();
	ssize_t n;

	/* Silent past idle_timeout (2 s): closed by the server, before the
	 * 10 s guard of raw_connect(). */
	n = recv(fd, out, sizeof(out), 0);
	ck_assert_msg(n == 0 || (n < 0 && errno == ECONNRESET), "recv %zd: %s",
	    n, n < 0 ? strerror(errno) : "data");
	close(fd);
}
END_TEST

START_TEST(security_headers)
{
	/* One connection for all the requests (keep-alive): closed ones the
	 * server has not reaped yet would count against the per-client cap
	 * of 2 and refuse the next. */
	CURL *c = curl_easy_init();
	static const char *const paths[] = {
	    "/healthz", "/api/v1/cells/r000c000", "/metrics", "/nope"};
	struct resp r;
	char v[512];

	for (size_t k = 0; k < sizeof(paths) / sizeof(paths[0]); k++) {
		ck_assert_int_eq(http(c, "GET", paths[k], &r), 0);
		ck_assert(header(&r, "X-Content-Type-Options", v, sizeof(v)));
		ck_assert_str_eq(v, "nosniff");
		ck_assert(header(&r, "Referrer-Policy", v, sizeof(v)));
		ck_assert_str_eq(v, "no-referrer");
		ck_assert(header(&r, "X-Frame-Options", v, sizeof(v)));
		ck_assert_str_eq(v, "DENY");
		ck_assert(header(&r, "Content-Security-Policy", v, sizeof(v)));
		ck_assert_str_eq(
		    v, "default-src 'none'; frame-ancestors 'none'");
		ck_assert_ptr_null(strstr(v, "unsafe-inline"));
		resp_free(&r);
	}
	ck_assert_int_eq(http(c, "GET", "/", &r), 0);
	ck_assert_int_eq(r.code, 200);
	ck_assert(header(&r, "Content-Security-Policy", v, sizeof(v)));
	ck_assert_ptr_nonnull(strstr(v, "script-src 'self'"));
	ck_assert_ptr_null(strstr(v, "unsafe-inline"));
	ck_assert(header(&r, "X-Frame-Options", v, sizeof(v)));
	resp_free(&r);
	/* Unknown methods: 405 with Allow, and the same headers. */
	ck_assert_int_eq(http(c, "BREW", "/healthz", &r), 0);
	ck_assert_int_eq(r.code, 405);
	ck_assert(header(&r, "Allow", v, sizeof(v)));
	ck_assert_str_eq(v, "GET, HEAD");
	ck_assert(header(&r, "X-Frame-Options", v, sizeof(v)));
	resp_free(&r);
	curl_easy_cleanup(c);
}
END_TEST

/* CORS is off unless configured (setup_tmp has no cors_origins). */
START_TEST(cors_off)
{
	/* One connection for all the requests (keep-alive): closed ones the
	 * server has not reaped yet would count against the per-client cap
	 * of 2 and refuse the next. */
	CURL *c = curl_easy_init();
	struct resp r;
	char v[256];

	extra = curl_slist_append(NULL, "Origin: https://good.example");
	ck_assert_int_eq(http(c, "GET", "/api/v1/status", &r), 0);
	ck_assert_int_eq(r.code, 200);
	ck_assert(!header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
	resp_free(&r);
	extra = curl_slist_append(extra, "Access-Control-Request-Method: GET");
	ck_assert_int_eq(http(c, "OPTIONS", "/api/v1/status", &r), 0);
	ck_assert_int_eq(r.code, 405);
	ck_assert(!header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
	resp_free(&r);
	curl_slist_free_all(extra);
	extra = NULL;
	curl_easy_cleanup(c);
}
END_TEST

START_TEST(cors_allowed)
{
	/* One connection for all the requests (keep-alive): closed ones the
	 * server has not reaped yet would count against the per-client cap
	 * of 2 and refuse the next. */
	CURL *c = curl_easy_init();
	static const char *const origins[] = {
	    "https://good.example", "http://localhost:3000"};
	struct resp r;
	char v[256];

	for (size_t k = 0; k < 2; k++) {
		char o[128];

		snprintf(o, sizeof(o), "Origin: %s", origins[k]);
		extra = curl_slist_append(NULL, o);
		ck_assert_int_eq(http(c, "GET", "/api/v1/status", &r), 0);
		ck_assert_int_eq(r.code, 200);
		ck_assert(
		    header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
		ck_assert_str_eq(v, origins[k]);
		ck_assert(header(&r, "Vary", v, sizeof(v)));
		ck_assert_str_eq(v, "Origin");
		resp_free(&r);
		/* The preflight. */
		extra = curl_slist_append(
		    extra, "Access-Control-Request-Method: GET");
		ck_assert_int_eq(
		    http(c, "OPTIONS", "/api/v1/cells/r000c000", &r), 0);
		ck_assert_int_eq(r.code, 204);
		ck_assert_uint_eq(r.len, 0);
		ck_assert(
		    header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
		ck_assert_str_eq(v, origins[k]);
		ck_assert(
		    header(&r, "Access-Control-Allow-Methods", v, sizeof(v)));
		ck_assert_str_eq(v, "GET, HEAD");
		ck_assert(
		    header(&r, "Access-Control-Allow-Headers", v, sizeof(v)));
		ck_assert(header(&r, "Access-Control-Max-Age", v, sizeof(v)));
		ck_assert_str_eq(v, "600");
		ck_assert(header(&r, "Vary", v, sizeof(v)));
		resp_free(&r);
		curl_slist_free_all(extra);
		extra = NULL;
	}
	curl_easy_cleanup(c);
}
END_TEST

START_TEST(cors_refused)
{
	/* One connection for all the requests (keep-alive): closed ones the
	 * server has not reaped yet would count against the per-client cap
	 * of 2 and refuse the next. */
	CURL *c = curl_easy_init();
	static const char *const origins[] = {"Origin: https://evil.example",
	    "Origin: https://good.example.evil", "Origin: http://good.example",
	    "Origin: https://good.example/", "Origin: null"};
	struct resp r;
	char v[256];

	for (size_t k = 0; k < sizeof(origins) / sizeof(origins[0]); k++) {
		extra = curl_slist_append(NULL, origins[k]);
		ck_assert_int_eq(http(c, "GET", "/api/v1/status", &r), 0);
		ck_assert_int_eq(r.code, 200);
		ck_assert_msg(
		    !header(&r, "Access-Control-Allow-Origin", v, sizeof(v)),
		    "%s", origins[k]);
		ck_assert(!header(&r, "Vary", v, sizeof(v)));
		resp_free(&r);
		extra = curl_slist_append(
		    extra, "Access-Control-Request-Method: GET");
		ck_assert_int_eq(http(c, "OPTIONS", "/api/v1/status", &r), 0);
		ck_assert_int_eq(r.code, 405);
		ck_assert(
		    !header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
		ck_assert(
		    !header(&r, "Access-Control-Allow-Methods", v, sizeof(v)));
		resp_free(&r);
		curl_slist_free_all(extra);
		extra = NULL;
	}
	curl_easy_cleanup(c);
}
END_TEST

static Suite *
api_suite(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("http");
	TCase *tr = tcase_create("dashboard");
	TCase *tl = tcase_create("load");
	TCase *tn = tcase_create("names");
	TCase *tt = tcase_create("target");
	TCase *tm = tcase_create("limits");
	TCase *tk = tcase_create("client_cap");

	tcase_add_checked_fixture(tc, setup_tmp, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, health_and_ready);
	tcase_add_test(tc, status);
	tcase_add_test(tc, cell_detail);
	tcase_add_test(tc, cell_values);
	tcase_add_test(tc, cells_list);
	tcase_add_test(tc, cells_paging);
	tcase_add_test(tc, bad_requests);
	tcase_add_test(tc, areas);
	tcase_add_test(tc, metrics);
	tcase_add_test(tc, openapi);
	tcase_add_test(tc, static_files);
	tcase_add_test(tc, cors_off);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tr, setup_repo, teardown);
	tcase_set_timeout(tr, 30);
	tcase_add_test(tr, dashboard);
	suite_add_tcase(s, tr);
	tcase_add_checked_fixture(tn, setup_odd, teardown);
	tcase_set_timeout(tn, 30);
	tcase_add_test(tn, odd_names);
	suite_add_tcase(s, tn);
	tcase_add_checked_fixture(tl, setup_tmp, teardown);
	tcase_set_timeout(tl, 120);
	tcase_add_test(tl, concurrent_readers);
	suite_add_tcase(s, tl);
	tcase_add_loop_test(tt, parse_target, 0,
	    (int)(sizeof(target_cases) / sizeof(target_cases[0])));
	tcase_add_test(tt, parse_target_bounds);
	suite_add_tcase(s, tt);
	tcase_add_checked_fixture(tm, setup_limits, teardown);
	tcase_set_timeout(tm, 30);
	tcase_add_test(tm, targets_over_http);
	tcase_add_test(tm, body_limit);
	tcase_add_test(tm, header_limit);
	tcase_add_test(tm, idle_timeout);
	tcase_add_test(tm, security_headers);
	tcase_add_test(tm, cors_allowed);
	tcase_add_test(tm, cors_refused);
	suite_add_tcase(s, tm);
	tcase_add_checked_fixture(tk, setup_cap, teardown);
	tcase_set_timeout(tk, 30);
	tcase_add_test(tk, client_cap);
	suite_add_tcase(s, tk);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return EXIT_FAILURE;
	sr = srunner_create(api_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
