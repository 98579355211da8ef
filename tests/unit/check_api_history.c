/*
 * check_api_history: the history routes of the HTTP API over real HTTP on
 * loopback -- /api/v1/cells/{id}/history, /cells/{id}/daily and
 * /areas/{id}/history -- read from a store opened in a temporary folder
 * and filled with hand-made rows.  The grid is tests/fixtures/conf/api.conf
 * (Asia/Shanghai, area north = r000c000-r000c003).  A file of its own
 * rather than more of check_api.c: its fixture needs a store.
 */
#include "web/api.h"

#include <check.h>
#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "daemon/conf.h"
#include "daemon/fix.h"
#include "daemon/state.h"
#include "daemon/store.h"
#include "daemon/tz.h"

#define CONF_FILE "tests/fixtures/conf/api.conf"
/* 2026-01-10T01:00:00+08:00, the end of the first hour of the rows. */
#define H0 INT64_C(1767978000)
#define HOUR 3600

struct resp {
	long code;
	char *body;
	size_t len, cap;
	char head[8192];
	size_t hlen;
};

static struct state *st;
static struct store *store;
static struct api *api;
static char dir[64];

static int decoder_hook(const char *name);
static void setup_store(void);
static void setup_none(void);
static void start(bool with_store);
static void teardown(void);
static int64_t fx(double v);
static void put_hour(const char *cell, int64_t hour, int aqi, int level,
    uint32_t primary, uint32_t exceeds);
static void set_value(struct store_hour *h, enum ind i, double v, int n);
static void fill(void);
static int http(
    const char *path, const char *accept, bool head, struct resp *out);
static void resp_free(struct resp *r);
static size_t on_body(char *p, size_t size, size_t n, void *data);
static size_t on_head(char *p, size_t size, size_t n, void *data);
static bool header(
    const struct resp *r, const char *name, char *val, size_t len);
static json_t *get_json(const char *path, long code);
static char *get_csv(
    const char *path, const char *accept, char *next, size_t len);
static json_t *at(json_t *j, const char *path);
static void assert_str(json_t *j, const char *path, const char *want);
static void assert_int(json_t *j, const char *path, long long want);
static void assert_num(json_t *j, const char *path, double want);
static void assert_null(json_t *j, const char *path);
static void assert_list(json_t *j, const char *path, const char *want);
static void assert_error(const char *path, long code, const char *word);
static int hours_of(const char *path, char *got, size_t len, int *pages);

static const char *const decoders[] = {"json"};

static int
decoder_hook(const char *name)
{
	return strcmp(name, "json") == 0 ? 0 : -1;
}

static void
setup_store(void)
{
	start(true);
}

static void
setup_none(void)
{
	start(false);
}

static void
start(bool with_store)
{
	const struct conf_hooks hooks = {decoder_hook};
	struct conf *conf;
	char path[128], msg[256];

	ck_assert_int_eq(conf_load(CONF_FILE, &hooks, &conf, stderr), AQ_OK);
	ck_assert_ptr_nonnull(st = state_new(conf, decoders, 1));
	if (with_store) {
		snprintf(dir, sizeof(dir), "/tmp/check_api_history.XXXXXX");
		ck_assert_ptr_nonnull(mkdtemp(dir));
		snprintf(path, sizeof(path), "%s/aq.db", dir);
		ck_assert_int_eq(
		    store_open(path, 4096, &store, msg, sizeof(msg)), AQ_OK);
		fill();
		state_set_store(st, store);
	}
	ck_assert_ptr_nonnull(api = api_start(st, NULL));
}

static void
teardown(void)
{
	char p[400];
	DIR *d;
	struct dirent *e;

	api_stop(api);
	api = NULL;
	state_free(st);
	st = NULL;
	store_close(store);
	store = NULL;
	if (dir[0] == '\0' || (d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
	dir[0] = '\0';
}

static int64_t
fx(double v)
{
	int64_t f;

	ck_assert_int_eq(fix_from_double(v, &f), AQ_OK);
	return f;
}

static struct store_hour pending;

/* Starts a row in pending; set_value() adds values, the next put_hour()
 * or fill()'s end queues it. */
static void
put_hour(const char *cell, int64_t hour, int aqi, int level, uint32_t primary,
    uint32_t exceeds)
{
	if (pending.cell[0] != '\0')
		ck_assert_int_eq(store_put_hour(store, &pending), AQ_OK);
	memset(&pending, 0, sizeof(pending));
	if (cell == NULL)
		return;
	snprintf(pending.cell, sizeof(pending.cell), "%s", cell);
	pending.hour = hour;
	pending.aqi = aqi;
	pending.level = level;
	pending.primary = primary;
	pending.exceeds = exceeds;
}

/* v < 0: not valid, only its count n. */
static void
set_value(struct store_hour *h, enum ind i, double v, int n)
{
	if (v >= 0) {
		h->has |= IND_BIT(i);
		h->v[i] = fx(v);
	}
	h->n[i] = (uint8_t)n;
}

/*
 * r000c000: hours H0 + k h for k = 0..9 but 3 (a gap): PM2.5 1 h 10 +
 * 1.5 k (1 valid hour), O3 8 h 100 + k (6 + k hours), AQI 20 + k level 1
 * primary pm25_1h; k = 5 is NA; k = 7 exceeds pm25_24h.
 * The area north at H0 + 2 h: r000c000 (AQI 22, level 1, PM2.5 13),
 * r000c001 (AQI 120, level 3, PM2.5 91, O3 1 h 40), r000c002 (AQI 120,
 * level 3, no PM2.5), r000c003 without a row.  At H0 + 4 h PM2.5 16,
 * 10 and 11.004: mean 12.335 (12.334666... kept to 0.001).
 * r000c002 also has a row 2 hours ago and one 50 hours ago (defaults).
 * Days of r000c000: 2026-01-01 .. 2026-01-05.
 */
static void
fill(void)
{
	const struct tz *z = state_tz(st);
	int64_t now_h = tz_hour_end(z, tz_hour(z, time(NULL)) - 2);
	struct store_day d;

	for (int k = 0; k < 10; k++) {
		if (k == 3)
			continue;
		put_hour("r000c000", H0 + k * HOUR, k == 5 ? -1 : 20 + k,
		    k == 5 ? 0 : 1, k == 5 ? 0 : IND_BIT(IND_PM25_1H),
		    k == 7 ? IND_BIT(IND_PM25_24H) : 0);
		set_value(&pending, IND_PM25_1H, 10 + 1.5 * k, 1);
		set_value(&pending, IND_O3_8H, 100 + k, 6 + k);
		set_value(&pending, IND_PM25_24H, -1, 3);
	}
	put_hour("r000c001", H0 + 2 * HOUR, 120, 3, IND_BIT(IND_PM25_1H), 0);
	set_value(&pending, IND_PM25_1H, 91, 1);
	set_value(&pending, IND_O3_1H, 40, 1);
	put_hour("r000c002", H0 + 2 * HOUR, 120, 3, IND_BIT(IND_O3_1H), 0);
	set_value(&pending, IND_O3_1H, -1, 0);
	put_hour("r000c001", H0 + 4 * HOUR, 30, 1, IND_BIT(IND_PM25_1H), 0);
	set_value(&pending, IND_PM25_1H, 10, 1);
	put_hour("r000c002", H0 + 4 * HOUR, 31, 1, IND_BIT(IND_PM25_1H), 0);
	set_value(&pending, IND_PM25_1H, 11.004, 1);
	put_hour("r000c002", now_h, 40, 1, IND_BIT(IND_PM25_1H), 0);
	set_value(&pending, IND_PM25_1H, 27, 1);
	put_hour("r000c002", now_h - 48 * HOUR, 41, 1, IND_BIT(IND_PM25_1H), 0);
	set_value(&pending, IND_PM25_1H, 28, 1);
	put_hour(NULL, 0, 0, 0, 0, 0);
	for (int k = 1; k <= 5; k++) {
		memset(&d, 0, sizeof(d));
		snprintf(d.cell, sizeof(d.cell), "r000c000");
		d.date = 20260100 + k;
		d.aqi = 60 + k;
		d.level = 2;
		d.primary = IND_BIT(IND_PM25_24H);
		d.exceeds = k == 2 ? IND_BIT(IND_PM25_24H) : 0;
		d.has = IND_BIT(IND_PM25_24H) | IND_BIT(IND_O3_8H);
		d.v[IND_PM25_24H] = fx(40 + k * 0.25);
		d.n[IND_PM25_24H] = 24;
		d.v[IND_O3_8H] = fx(80 + k);
		d.n[IND_O3_8H] = 14;
		ck_assert_int_eq(store_put_day(store, &d), AQ_OK);
	}
	ck_assert_int_eq(store_flush(store), AQ_OK);
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

	/* Only the last answer's headers. */
	if (len > 5 && strncmp(p, "HTTP/", 5) == 0)
		r->hlen = 0;
	if (r->hlen + len < sizeof(r->head)) {
		memcpy(r->head + r->hlen, p, len);
		r->hlen += len;
		r->head[r->hlen] = '\0';
	}
	return len;
}

static int
http(const char *path, const char *accept, bool head, struct resp *out)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	char url[2048], acc[128];
	CURLcode rc;

	memset(out, 0, sizeof(*out));
	if (h == NULL)
		return -1;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s",
	    (unsigned int)api_port(api), path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_head);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, out);
	if (head)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	if (accept != NULL) {
		snprintf(acc, sizeof(acc), "Accept: %s", accept);
		hdrs = curl_slist_append(hdrs, acc);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	}
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->code);
	curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
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

static bool
header(const struct resp *r, const char *name, char *val, size_t len)
{
	size_t n = strlen(name);

	for (const char *l = r->head; *l != '\0';) {
		const char *e = strstr(l, "\r\n");

		if (e == NULL)
			e = l + strlen(l);
		if (strncasecmp(l, name, n) == 0 && l[n] == ':') {
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

/* The answer as JSON; its X-Next-Cursor must match next_cursor. */
static json_t *
get_json(const char *path, long code)
{
	struct resp r;
	json_error_t err;
	json_t *j, *next;
	char v[128];

	ck_assert_int_eq(http(path, NULL, false, &r), 0);
	ck_assert_msg(r.code == code, "%s: HTTP %ld, wanted %ld: %s", path,
	    r.code, code, r.body);
	ck_assert(header(&r, "Content-Type", v, sizeof(v)));
	ck_assert_str_eq(v, "application/json");
	j = json_loads(r.body, JSON_REJECT_DUPLICATES, &err);
	ck_assert_msg(j != NULL, "%s: %s: %s", path, err.text, r.body);
	next = json_object_get(j, "next_cursor");
	if (json_is_string(next)) {
		ck_assert(header(&r, "X-Next-Cursor", v, sizeof(v)));
		ck_assert_str_eq(v, json_string_value(next));
	} else {
		ck_assert(!header(&r, "X-Next-Cursor", v, sizeof(v)));
	}
	resp_free(&r);
	return j;
}

/* A CSV answer (owned), its X-Next-Cursor in next ("" for none). */
static char *
get_csv(const char *path, const char *accept, char *next, size_t len)
{
	struct resp r;
	char v[128];

	ck_assert_int_eq(http(path, accept, false, &r), 0);
	ck_assert_msg(r.code == 200, "%s: HTTP %ld: %s", path, r.code, r.body);
	ck_assert(header(&r, "Content-Type", v, sizeof(v)));
	ck_assert_str_eq(v, "text/csv; charset=utf-8");
	if (!header(&r, "X-Next-Cursor", next, len))
		next[0] = '\0';
	return r.body;
}

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

/* An array of strings, or an object's keys, joined by spaces. */
static void
assert_list(json_t *j, const char *path, const char *want)
{
	json_t *a = at(j, path), *v;
	char got[512] = "";
	const char *key;
	size_t k;

	if (json_is_object(a)) {
		json_object_foreach(a, key, v)
		{
			if (got[0] != '\0')
				strcat(got, " ");
			strcat(got, key);
		}
	} else {
		ck_assert_msg(json_is_array(a), "%s: not an array", path);
		json_array_foreach(a, k, v)
		{
			ck_assert(json_is_string(v));
			if (k > 0)
				strcat(got, " ");
			strcat(got, json_string_value(v));
		}
	}
	ck_assert_str_eq(got, want);
}

static void
assert_error(const char *path, long code, const char *word)
{
	struct resp r;
	json_t *j;
	const char *e;

	ck_assert_int_eq(http(path, NULL, false, &r), 0);
	ck_assert_msg(r.code == code, "%s: HTTP %ld, wanted %ld: %s", path,
	    r.code, code, r.body);
	ck_assert_ptr_nonnull(j = json_loads(r.body, 0, NULL));
	e = json_string_value(json_object_get(j, "error"));
	ck_assert_msg(e != NULL, "%s", r.body);
	ck_assert_msg(strstr(e, word) != NULL, "%s: '%s' does not name %s",
	    path, e, word);
	json_decref(j);
	resp_free(&r);
}

/* Follows next_cursor from path (which ends in a query), collecting the
 * rows' hour (or date) labels joined by spaces; returns the rows. */
static int
hours_of(const char *path, char *got, size_t len, int *pages)
{
	char p[1024];
	json_t *j, *v;
	size_t k;
	int n = 0;

	got[0] = '\0';
	*pages = 0;
	snprintf(p, sizeof(p), "%s", path);
	for (;;) {
		const char *next;

		j = get_json(p, 200);
		(*pages)++;
		ck_assert_int_eq(json_integer_value(at(j, "count")),
		    (long long)json_array_size(at(j, "results")));
		json_array_foreach(at(j, "results"), k, v)
		{
			json_t *l = json_object_get(v, "hour");

			if (l == NULL)
				l = json_object_get(v, "date");
			ck_assert(json_is_string(l));
			if (got[0] != '\0')
				strncat(got, " ", len - strlen(got) - 1);
			strncat(
			    got, json_string_value(l), len - strlen(got) - 1);
			n++;
		}
		next = json_string_value(at(j, "next_cursor"));
		if (next == NULL) {
			json_decref(j);
			break;
		}
		ck_assert_uint_gt(json_array_size(at(j, "results")), 0);
		snprintf(p, sizeof(p), "%s&cursor=%s", path, next);
		json_decref(j);
		ck_assert_int_lt(*pages, 100);
	}
	return n;
}

/* ---- Tests ---- */

#define RANGE "from=1767978000&to=1768010400"

START_TEST(cell_history_json)
{
	json_t *j, *r;

	j = get_json("/api/v1/cells/r000c000/history?" RANGE, 200);
	assert_str(j, "cell", "r000c000");
	assert_str(j, "from", "2026-01-10T01:00:00+08:00");
	assert_str(j, "to", "2026-01-10T10:00:00+08:00");
	assert_list(j, "indicators",
	    "pm25_1h pm25_24h pm10_1h pm10_24h so2_1h so2_24h no2_1h "
	    "no2_24h co_1h co_8h co_24h o3_1h o3_8h");
	assert_str(j, "units.pm25_1h", "ug/m3");
	assert_str(j, "units.co_1h", "mg/m3");
	assert_int(j, "count", 9);
	assert_null(j, "next_cursor");
	r = at(j, "results.0");
	assert_str(r, "hour", "2026-01-10T01:00:00+08:00");
	assert_int(r, "aqi", 20);
	assert_int(r, "level", 1);
	assert_list(r, "primary", "pm25_1h");
	assert_list(r, "exceeds", "");
	assert_num(r, "concentrations.pm25_1h", 10);
	assert_num(r, "concentrations.o3_8h", 100);
	assert_null(r, "concentrations.pm25_24h");
	assert_null(r, "concentrations.co_1h");
	ck_assert_uint_eq(json_object_size(at(r, "concentrations")), 13);
	assert_int(r, "valid_hours.pm25_1h", 1);
	assert_int(r, "valid_hours.o3_8h", 6);
	assert_int(r, "valid_hours.pm25_24h", 3);
	assert_int(r, "valid_hours.co_1h", 0);
	/* The gap at k = 3: the fourth row is k = 4. */
	assert_str(j, "results.2.hour", "2026-01-10T03:00:00+08:00");
	assert_str(j, "results.3.hour", "2026-01-10T05:00:00+08:00");
	assert_num(j, "results.3.concentrations.pm25_1h", 16);
	/* k = 5: NA. */
	r = at(j, "results.4");
	assert_str(r, "hour", "2026-01-10T06:00:00+08:00");
	assert_null(r, "aqi");
	assert_null(r, "level");
	assert_list(r, "primary", "");
	assert_num(r, "concentrations.pm25_1h", 17.5);
	/* k = 7: an exceedance. */
	assert_list(j, "results.6.exceeds", "pm25_24h");
	assert_str(j, "results.8.hour", "2026-01-10T10:00:00+08:00");
	assert_int(j, "results.8.aqi", 29);
	json_decref(j);

	/* The same hours however from and to are written. */
	j = get_json("/api/v1/cells/r000c000/history?from=2026-01-10T01:00"
		     "&to=2026-01-10T10:00:00%2B08:00",
	    200);
	assert_int(j, "count", 9);
	json_decref(j);
	j = get_json("/api/v1/cells/r000c000/history?from=2026-01-09T17:00:00Z"
		     "&to=2026-01-10T05:30:00",
	    200);
	assert_int(j, "count", 4);
	assert_str(j, "results.3.hour", "2026-01-10T05:00:00+08:00");
	json_decref(j);
	/* A date is its hours: 01:00 of it to 24:00 of it. */
	j = get_json(
	    "/api/v1/cells/r000c000/history?from=2026-01-10&to=2026-01-10",
	    200);
	assert_str(j, "from", "2026-01-10T01:00:00+08:00");
	assert_str(j, "to", "2026-01-11T00:00:00+08:00");
	assert_int(j, "count", 9);
	json_decref(j);
	j = get_json("/api/v1/cells/r000c000/history?to=2026-01-09", 200);
	assert_int(j, "count", 0);
	assert_list(j, "results", "");
	json_decref(j);
}
END_TEST

START_TEST(cell_history_defaults)
{
	const struct tz *z = state_tz(st);
	char want[TZ_ISO_MAX];
	json_t *j;

	/* The last 48 hours: the row 2 hours ago, not the one 50 ago. */
	j = get_json("/api/v1/cells/r000c002/history", 200);
	assert_int(j, "count", 1);
	assert_str(j, "results.0.hour",
	    tz_format(z, tz_hour_end(z, tz_hour(z, time(NULL)) - 2), want,
		sizeof(want)));
	assert_num(j, "results.0.concentrations.pm25_1h", 27);
	json_decref(j);
	j = get_json("/api/v1/cells/r000c003/history", 200);
	assert_int(j, "count", 0);
	json_decref(j);
}
END_TEST

START_TEST(indicators)
{
	json_t *j;

	j = get_json("/api/v1/cells/r000c000/history?" RANGE
		     "&indicators=o3_8h,pm25_1h",
	    200);
	assert_list(j, "indicators", "pm25_1h o3_8h");
	assert_list(j, "units", "pm25_1h o3_8h");
	assert_list(j, "results.0.concentrations", "pm25_1h o3_8h");
	assert_list(j, "results.0.valid_hours", "pm25_1h o3_8h");
	assert_num(j, "results.1.concentrations.pm25_1h", 11.5);
	assert_num(j, "results.1.concentrations.o3_8h", 101);
	assert_int(j, "results.1.valid_hours.o3_8h", 7);
	json_decref(j);
	assert_error("/api/v1/cells/r000c000/history?indicators=pm25_1h,pm99,"
		     "foo",
	    400, "'pm99', 'foo'");
	/* Annual indicators are not kept by hour. */
	assert_error("/api/v1/cells/r000c000/history?indicators=pm25_annual",
	    400, "'pm25_annual'");
	assert_error(
	    "/api/v1/cells/r000c000/history?indicators=", 400, "indicators");
	assert_error(
	    "/api/v1/cells/r000c000/history?indicators=,", 400, "indicators");
}
END_TEST

START_TEST(csv)
{
	char next[64];
	char *body;

	body = get_csv("/api/v1/cells/r000c000/history?" RANGE
		       "&indicators=pm25_1h,o3_8h&format=csv",
	    NULL, next, sizeof(next));
	ck_assert_str_eq(body,
	    "hour,aqi,level,primary,exceeds,pm25_1h,n_pm25_1h,o3_8h,n_o3_8h\r\n"
	    "2026-01-10T01:00:00+08:00,20,1,pm25_1h,,10.0,1,100.0,6\r\n"
	    "2026-01-10T02:00:00+08:00,21,1,pm25_1h,,11.5,1,101.0,7\r\n"
	    "2026-01-10T03:00:00+08:00,22,1,pm25_1h,,13.0,1,102.0,8\r\n"
	    "2026-01-10T05:00:00+08:00,24,1,pm25_1h,,16.0,1,104.0,10\r\n"
	    "2026-01-10T06:00:00+08:00,,,,,17.5,1,105.0,11\r\n"
	    "2026-01-10T07:00:00+08:00,26,1,pm25_1h,,19.0,1,106.0,12\r\n"
	    "2026-01-10T08:00:00+08:00,27,1,pm25_1h,pm25_24h,20.5,1,107.0,"
	    "13\r\n"
	    "2026-01-10T09:00:00+08:00,28,1,pm25_1h,,22.0,1,108.0,14\r\n"
	    "2026-01-10T10:00:00+08:00,29,1,pm25_1h,,23.5,1,109.0,15\r\n");
	ck_assert_str_eq(next, "");
	free(body);
	/* Accept: text/csv asks the same; an invalid value is empty. */
	body = get_csv("/api/v1/cells/r000c000/history?" RANGE
		       "&indicators=pm25_24h&limit=2",
	    "text/csv", next, sizeof(next));
	ck_assert_str_eq(body,
	    "hour,aqi,level,primary,exceeds,pm25_24h,n_pm25_24h\r\n"
	    "2026-01-10T01:00:00+08:00,20,1,pm25_1h,,,3\r\n"
	    "2026-01-10T02:00:00+08:00,21,1,pm25_1h,,,3\r\n");
	ck_assert_str_eq(next, "1767981600");
	free(body);
	/* format=json beats Accept. */
	{
		struct resp r;
		char ct[64];

		ck_assert_int_eq(
		    http("/api/v1/cells/r000c000/history?format=json",
			"text/csv", false, &r),
		    0);
		ck_assert(header(&r, "Content-Type", ct, sizeof(ct)));
		ck_assert_str_eq(ct, "application/json");
		resp_free(&r);
	}
	assert_error(
	    "/api/v1/cells/r000c000/history?format=xml", 400, "format");
}
END_TEST

START_TEST(paging)
{
	char got[2048], path[256], next[64], *body, all[4096] = "";
	int pages, n;

	for (int lim = 1; lim <= 10; lim++) {
		snprintf(path, sizeof(path),
		    "/api/v1/cells/r000c000/history?" RANGE "&limit=%d", lim);
		n = hours_of(path, got, sizeof(got), &pages);
		ck_assert_int_eq(n, 9);
		ck_assert_int_eq(pages, (9 + lim - 1) / lim);
		ck_assert_str_eq(got,
		    "2026-01-10T01:00:00+08:00 2026-01-10T02:00:00+08:00 "
		    "2026-01-10T03:00:00+08:00 2026-01-10T05:00:00+08:00 "
		    "2026-01-10T06:00:00+08:00 2026-01-10T07:00:00+08:00 "
		    "2026-01-10T08:00:00+08:00 2026-01-10T09:00:00+08:00 "
		    "2026-01-10T10:00:00+08:00");
	}
	/* CSV pages, by X-Next-Cursor: each with its header line. */
	next[0] = '\0';
	n = 0;
	do {
		snprintf(path, sizeof(path),
		    "/api/v1/cells/r000c000/history?" RANGE
		    "&limit=4&format=csv&indicators=pm25_1h%s%s",
		    next[0] != '\0' ? "&cursor=" : "", next);
		body = get_csv(path, NULL, next, sizeof(next));
		ck_assert_msg(strncmp(body, "hour,aqi,", 9) == 0, "%s", body);
		strcat(all, strchr(body, '\n') + 1);
		free(body);
		n++;
	} while (next[0] != '\0' && n < 10);
	ck_assert_int_eq(n, 3);
	ck_assert_str_eq(all,
	    "2026-01-10T01:00:00+08:00,20,1,pm25_1h,,10.0,1\r\n"
	    "2026-01-10T02:00:00+08:00,21,1,pm25_1h,,11.5,1\r\n"
	    "2026-01-10T03:00:00+08:00,22,1,pm25_1h,,13.0,1\r\n"
	    "2026-01-10T05:00:00+08:00,24,1,pm25_1h,,16.0,1\r\n"
	    "2026-01-10T06:00:00+08:00,,,,,17.5,1\r\n"
	    "2026-01-10T07:00:00+08:00,26,1,pm25_1h,,19.0,1\r\n"
	    "2026-01-10T08:00:00+08:00,27,1,pm25_1h,pm25_24h,20.5,1\r\n"
	    "2026-01-10T09:00:00+08:00,28,1,pm25_1h,,22.0,1\r\n"
	    "2026-01-10T10:00:00+08:00,29,1,pm25_1h,,23.5,1\r\n");
	/* Days and area hours page the same way. */
	n = hours_of("/api/v1/cells/r000c000/daily?from=2026-01-01&to=2026-01-"
		     "31&limit=2",
	    got, sizeof(got), &pages);
	ck_assert_int_eq(n, 5);
	ck_assert_int_eq(pages, 3);
	ck_assert_str_eq(
	    got, "2026-01-01 2026-01-02 2026-01-03 2026-01-04 2026-01-05");
	n = hours_of("/api/v1/areas/north/history?" RANGE "&limit=1", got,
	    sizeof(got), &pages);
	ck_assert_int_eq(n, 9);
	ck_assert_int_eq(pages, 9);
	ck_assert_str_eq(got,
	    "2026-01-10T01:00:00+08:00 2026-01-10T02:00:00+08:00 "
	    "2026-01-10T03:00:00+08:00 2026-01-10T05:00:00+08:00 "
	    "2026-01-10T06:00:00+08:00 2026-01-10T07:00:00+08:00 "
	    "2026-01-10T08:00:00+08:00 2026-01-10T09:00:00+08:00 "
	    "2026-01-10T10:00:00+08:00");
}
END_TEST

START_TEST(daily)
{
	char next[64], *body;
	json_t *j, *r;

	j = get_json("/api/v1/cells/r000c000/daily?from=2026-01-02&to=2026-01-"
		     "04&indicators=pm25_24h,o3_8h",
	    200);
	assert_str(j, "cell", "r000c000");
	assert_str(j, "from", "2026-01-02");
	assert_str(j, "to", "2026-01-04");
	assert_int(j, "count", 3);
	assert_null(j, "next_cursor");
	r = at(j, "results.0");
	assert_str(r, "date", "2026-01-02");
	assert_int(r, "aqi", 62);
	assert_int(r, "level", 2);
	assert_list(r, "primary", "pm25_24h");
	assert_list(r, "exceeds", "pm25_24h");
	assert_num(r, "concentrations.pm25_24h", 40.5);
	assert_num(r, "concentrations.o3_8h", 82);
	assert_int(r, "valid_hours.pm25_24h", 24);
	assert_int(r, "valid_hours.o3_8h", 14);
	assert_str(j, "results.2.date", "2026-01-04");
	json_decref(j);
	/* Dates as times: their local dates. */
	j = get_json("/api/v1/cells/r000c000/daily?from=1767196800"
		     "&to=2026-01-02T23:59:59%2B08:00",
	    200);
	assert_str(j, "from", "2026-01-01");
	assert_str(j, "to", "2026-01-02");
	assert_int(j, "count", 2);
	json_decref(j);
	body = get_csv("/api/v1/cells/r000c000/daily?from=2026-01-04&format=csv"
		       "&indicators=pm25_24h",
	    NULL, next, sizeof(next));
	ck_assert_str_eq(body,
	    "date,aqi,level,primary,exceeds,pm25_24h,n_pm25_24h\r\n"
	    "2026-01-04,64,2,pm25_24h,,41.0,24\r\n"
	    "2026-01-05,65,2,pm25_24h,,41.25,24\r\n");
	free(body);
}
END_TEST

START_TEST(area_history)
{
	char next[64], *body;
	json_t *j, *h;

	j = get_json("/api/v1/areas/north/history?" RANGE
		     "&indicators=pm25_1h,o3_1h",
	    200);
	assert_str(j, "area", "north");
	assert_str(j, "name", "北区");
	assert_str(j, "name_en", "North");
	assert_int(j, "cells", 4);
	assert_list(j, "indicators", "pm25_1h o3_1h");
	assert_int(j, "count", 9);
	/* H0 + 2 h: the hand-made case. */
	h = at(j, "results.2");
	assert_str(h, "hour", "2026-01-10T03:00:00+08:00");
	assert_int(h, "reporting", 3);
	assert_str(h, "worst.cell", "r000c001");
	assert_int(h, "worst.aqi", 120);
	assert_int(h, "worst.level", 3);
	assert_str(h, "worst.color", "#FF7E00");
	assert_num(h, "mean.pm25_1h", 52); /* (13 + 91) / 2 */
	assert_int(h, "mean_cells.pm25_1h", 2);
	assert_num(h, "mean.o3_1h", 40);
	assert_int(h, "mean_cells.o3_1h", 1);
	assert_list(h, "levels", "1 2 3 4 5 6 unknown");
	assert_int(h, "levels.1", 1);
	assert_int(h, "levels.2", 0);
	assert_int(h, "levels.3", 2);
	assert_int(h, "levels.unknown", 1);
	/* H0 + 4 h: (16 + 10 + 11.004) / 3 = 12.334666..., to 0.001. */
	h = at(j, "results.3");
	assert_str(h, "hour", "2026-01-10T05:00:00+08:00");
	assert_int(h, "reporting", 3);
	assert_num(h, "mean.pm25_1h", 12.335);
	assert_int(h, "mean_cells.pm25_1h", 3);
	assert_null(h, "mean.o3_1h");
	assert_int(h, "mean_cells.o3_1h", 0);
	assert_str(h, "worst.cell", "r000c002");
	assert_int(h, "worst.aqi", 31);
	/* H0 + 5 h: one cell, NA. */
	h = at(j, "results.4");
	assert_int(h, "reporting", 1);
	assert_null(h, "worst");
	assert_int(h, "levels.unknown", 4);
	assert_num(h, "mean.pm25_1h", 17.5);
	json_decref(j);
	/* The default indicators are those of /api/v1/areas/{id}. */
	j = get_json("/api/v1/areas/north/history?" RANGE "&limit=1", 200);
	assert_list(
	    j, "indicators", "pm25_1h pm10_1h so2_1h no2_1h co_1h o3_1h");
	assert_int(j, "count", 1);
	assert_str(j, "next_cursor", "1767978000");
	json_decref(j);
	body = get_csv("/api/v1/areas/north/history?from=1767981600&to="
		       "1767985200&indicators=pm25_1h&format=csv",
	    NULL, next, sizeof(next));
	ck_assert_str_eq(body,
	    "hour,reporting,worst_cell,worst_aqi,worst_level,pm25_1h,"
	    "n_pm25_1h,level_1,level_2,level_3,level_4,level_5,level_6,"
	    "level_unknown\r\n"
	    "2026-01-10T02:00:00+08:00,1,r000c000,21,1,11.5,1,1,0,0,0,0,0,3\r\n"
	    "2026-01-10T03:00:00+08:00,3,r000c001,120,3,52.0,2,1,0,2,0,0,0,"
	    "1\r\n");
	ck_assert_str_eq(next, "");
	free(body);
	/* An area without any row. */
	j = get_json("/api/v1/areas/south/history?" RANGE, 200);
	assert_int(j, "cells", 8);
	assert_int(j, "count", 0);
	json_decref(j);
}
END_TEST

START_TEST(bad_requests)
{
	static const char *const routes[] = {"/api/v1/cells/r000c000/history",
	    "/api/v1/cells/r000c000/daily", "/api/v1/areas/north/history"};
	char p[256];

	for (size_t k = 0; k < 3; k++) {
		snprintf(p, sizeof(p), "%s?from=yesterday", routes[k]);
		assert_error(p, 400, "from");
		snprintf(p, sizeof(p), "%s?to=2026-13-01", routes[k]);
		assert_error(p, 400, "to");
		snprintf(p, sizeof(p), "%s?from=2026-01-05&to=2026-01-04",
		    routes[k]);
		assert_error(p, 400, "after to");
		snprintf(p, sizeof(p), "%s?limit=0", routes[k]);
		assert_error(p, 400, "limit");
		snprintf(p, sizeof(p), "%s?limit=5001", routes[k]);
		assert_error(p, 400, "limit");
		snprintf(p, sizeof(p), "%s?limit=-1", routes[k]);
		assert_error(p, 400, "limit");
		snprintf(p, sizeof(p), "%s?cursor=abc", routes[k]);
		assert_error(p, 400, "cursor");
		snprintf(p, sizeof(p), "%s?format=html", routes[k]);
		assert_error(p, 400, "format");
		snprintf(p, sizeof(p), "%s?indicators=pm2.5", routes[k]);
		assert_error(p, 400, "'pm2.5'");
	}
	assert_error(
	    "/api/v1/cells/r000c000/history?from=2026-01-10T01:00+0800x", 400,
	    "from");
	assert_error(
	    "/api/v1/cells/r000c000/history?from=99999999999999", 400, "from");
	/* limit=5000 is the bound, taken. */
	json_decref(get_json("/api/v1/cells/r000c000/history?limit=5000", 200));
	assert_error("/api/v1/cells/r999c999/history", 404, "no such cell");
	assert_error("/api/v1/cells/nope/daily", 404, "no such cell");
	assert_error("/api/v1/areas/nowhere/history", 404, "no such area");
	assert_error("/api/v1/cells/r000c000/history/x", 404, "not found");
}
END_TEST

START_TEST(head_and_openapi)
{
	static const char *const paths[] = {"/api/v1/cells/{id}/history",
	    "/api/v1/cells/{id}/daily", "/api/v1/areas/{id}/history"};
	struct resp r;
	json_t *j, *op;

	ck_assert_int_eq(
	    http("/api/v1/cells/r000c000/history?" RANGE "&limit=2", NULL, true,
		&r),
	    0);
	ck_assert_int_eq(r.code, 200);
	ck_assert_uint_eq(r.len, 0);
	resp_free(&r);
	j = get_json("/api/v1/openapi.json", 200);
	for (size_t k = 0; k < 3; k++) {
		char names[256] = "";
		json_t *p;
		size_t i;

		op = json_object_get(
		    json_object_get(json_object_get(j, "paths"), paths[k]),
		    "get");
		ck_assert_msg(op != NULL, "%s", paths[k]);
		json_array_foreach(json_object_get(op, "parameters"), i, p)
		{
			ck_assert(
			    json_is_string(json_object_get(p, "description")));
			if (i > 0)
				strcat(names, " ");
			strcat(names,
			    json_string_value(json_object_get(p, "name")));
		}
		ck_assert_str_eq(
		    names, "id from to indicators format limit cursor");
		assert_str(op, "parameters.0.in", "path");
		assert_str(op, "parameters.4.schema.enum.1", "csv");
		ck_assert(json_is_object(
		    at(op, "responses.200.content.application/json.schema")));
		ck_assert(json_is_object(
		    at(op, "responses.200.content.text/csv.schema")));
		ck_assert(json_is_string(at(op, "responses.200.description")));
		ck_assert(json_is_object(at(op, "responses.400")));
		ck_assert(json_is_object(at(op, "responses.404")));
		ck_assert(json_is_object(at(op, "responses.503")));
	}
	ck_assert(json_is_object(at(j, "components.schemas.HourRow")));
	ck_assert(json_is_object(at(j, "components.schemas.AreaHour")));
	json_decref(j);
}
END_TEST

START_TEST(no_store)
{
	assert_error("/api/v1/cells/r000c000/history", 503, "no history");
	assert_error("/api/v1/cells/r000c000/daily", 503, "no history");
	assert_error("/api/v1/areas/north/history", 503, "no history");
	/* Unknown ones are still unknown. */
	assert_error("/api/v1/cells/r999c999/history", 404, "no such cell");
	assert_error("/api/v1/areas/nowhere/history", 404, "no such area");
}
END_TEST

static Suite *
history_suite(void)
{
	Suite *s = suite_create("api_history");
	TCase *tc = tcase_create("store");
	TCase *tn = tcase_create("none");

	tcase_add_checked_fixture(tc, setup_store, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, cell_history_json);
	tcase_add_test(tc, cell_history_defaults);
	tcase_add_test(tc, indicators);
	tcase_add_test(tc, csv);
	tcase_add_test(tc, paging);
	tcase_add_test(tc, daily);
	tcase_add_test(tc, area_history);
	tcase_add_test(tc, bad_requests);
	tcase_add_test(tc, head_and_openapi);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tn, setup_none, teardown);
	tcase_set_timeout(tn, 30);
	tcase_add_test(tn, no_store);
	suite_add_tcase(s, tn);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(history_suite());
	int failed;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
