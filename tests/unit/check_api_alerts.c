/*
 * check_api_alerts: the alert routes and the event stream over real HTTP on
 * loopback, against a real alert service (alerts/service.h) with a store in
 * a temporary folder.  The state gets readings as the ingest thread would
 * apply them; every published view goes to the service, whose rule
 * "aqi_high" (AQI > 100, no pending time) fires for the polluted cells.
 * The one receiver points at a closed port and gives up after one
 * attempt, so its notifications become dead letters.
 */
#include "web/api.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alerts/service.h"
#include "daemon/conf.h"
#include "daemon/log.h"
#include "daemon/state.h"
#include "daemon/store.h"
#include "daemon/tz.h"

#define TOK_RW "rw-token-0123456789abcdef"
#define TOK_RO "ro-token-fedcba9876543210"
#define TOK_BAD "no-such-token-00000000000"
#define SSE_MAX 2
#define NO_VALUE (-1.0)

struct resp {
	long code;
	char *body;
	size_t len;
	char head[8192];
	size_t hlen;
};

static char tmp[64];
static struct conf *conf;
static struct state *st;
static struct store *store;
static struct service *svc;
static struct api *api;
static const struct tz *zone;
static const char *const decoders[] = {"json"};

static int decoder_hook(const char *name);
static void put_file(const char *path, const char *text, mode_t mode);
static void setup(void);
static void teardown(void);
static void on_view(void *ctx, const struct cell_view *v);
static uint32_t add_sensor(const char *id, const char *cell);
static void feed(uint32_t sensor, int64_t ts, int32_t period, double pm25);
static void populate(void);
static size_t on_body(char *p, size_t size, size_t n, void *data);
static size_t on_head(char *p, size_t size, size_t n, void *data);
static void req(struct api *a, const char *method, const char *path,
    const char *token, const char *body, struct resp *out);
static json_t *req_json(const char *method, const char *path, const char *token,
    const char *body, long code);
static const char *str(json_t *j, const char *key);
static char *fingerprint_of(const char *cell, char *out);
static int sse_open(
    uint16_t port, const char *extra, char *buf, size_t cap, size_t *len);
static bool sse_wait(
    int fd, char *buf, size_t cap, size_t *len, const char *want, int ms);
static int events_in(
    const char *text, const char *type, long long *ids, int max);
static void nap_ms(int ms);

static int
decoder_hook(const char *name)
{
	return strcmp(name, "json") == 0 ? 0 : -1;
}

static void
put_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

static void
setup(void)
{
	const struct conf_hooks hooks = {decoder_hook};
	char path[128], tok[128], db[128], text[4096], msg[256];

	snprintf(tmp, sizeof(tmp), "/tmp/check_api_alerts.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	snprintf(tok, sizeof(tok), "%s/tokens", tmp);
	put_file(tok,
	    "# who token access\n"
	    "alice " TOK_RW " rw\n"
	    "\n"
	    "bob\t" TOK_RO "\tro\n",
	    0600);
	snprintf(text, sizeof(text),
	    "[mqtt]\nsubscribe = aq/# json 1\n"
	    "[http]\nlisten = 127.0.0.1:0\nthreads = 4\nconnections = 64\n"
	    "tokens_file = %s\nsse_clients = %d\n"
	    "[standards]\ntimezone = Asia/Shanghai\n"
	    "[grid]\norigin = 39.95 116.30\ncell_size = 1000\nrows = 3\n"
	    "cols = 4\n"
	    "[area north]\nname = North\ncells = r000c000-r000c003\n"
	    "[area south]\nname = South\ncells = r001c000-r002c003\n"
	    "[rule aqi_high]\nname = AQI above 100\nwhen = aqi > 100\n"
	    "severity = warning\nsummary = {cell}: AQI {value}\n"
	    "[receiver dead]\ntype = webhook\nurl = http://127.0.0.1:1/x\n"
	    "max_attempts = 1\n",
	    tok, SSE_MAX);
	snprintf(path, sizeof(path), "%s/aqgridd.conf", tmp);
	put_file(path, text, 0644);
	ck_assert_int_eq(conf_load(path, &hooks, &conf, stderr), AQ_OK);
	ck_assert_ptr_nonnull(st = state_new(conf, decoders, 1));
	zone = win_tz(state_engine(st));
	snprintf(db, sizeof(db), "%s/aq.db", tmp);
	ck_assert_int_eq(store_open(db, 1024, &store, msg, sizeof(msg)), AQ_OK);
	ck_assert_int_eq(service_new(st, store, stderr, &svc), AQ_OK);
	state_on_publish(st, on_view, svc);
	ck_assert_int_eq(service_start(svc), AQ_OK);
	ck_assert_ptr_nonnull(api = api_start(st, svc));
	populate();
}

static void
teardown(void)
{
	char cmd[160];

	api_stop(api);
	api = NULL;
	service_free(svc);
	svc = NULL;
	store_close(store);
	store = NULL;
	state_free(st);
	st = NULL;
	conf = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmp);
}

static void
on_view(void *ctx, const struct cell_view *v)
{
	service_view(ctx, v, (int64_t)time(NULL));
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

static void
feed(uint32_t sensor, int64_t ts, int32_t period, double pm25)
{
	struct win *w = state_engine(st);
	struct reading r = {.ts = ts, .period = period};
	int64_t prev = win_cell_newest_hour(w, win_sensor_cell(w, sensor));

	r.has = 1u << POL_PM25;
	r.v[POL_PM25] = pm25;
	ck_assert_int_eq(win_update(w, sensor, &r), AQ_OK);
	state_updated(st, sensor, &r, NULL, prev, ts);
}

/* r001c000 (south) PM2.5 250: AQI 300; r000c002 (north) PM2.5 150: AQI
 * 200; r000c001 PM2.5 20: clean.  One complete hour each. */
static void
populate(void)
{
	int64_t now = (int64_t)time(NULL) - 30, hour = tz_hour(zone, now) - 1;
	int64_t start = tz_hour_end(zone, hour - 1);
	uint32_t s1 = add_sensor("s1", "r001c000"),
		 s2 = add_sensor("s2", "r000c002"),
		 s3 = add_sensor("s3", "r000c001");

	feed(s1, start, 3600, 250);
	feed(s2, start, 3600, 150);
	feed(s3, start, 3600, 20);
	feed(s1, now, 60, 250);
	feed(s2, now, 60, 150);
	feed(s3, now, 60, 20);
	ck_assert_uint_gt(state_publish(st), 0);
	service_tick(svc, (int64_t)time(NULL));
}

static size_t
on_body(char *p, size_t size, size_t n, void *data)
{
	struct resp *r = data;
	char *grown = realloc(r->body, r->len + size * n + 1);

	if (grown == NULL)
		return 0;
	r->body = grown;
	memcpy(r->body + r->len, p, size * n);
	r->len += size * n;
	r->body[r->len] = '\0';
	return size * n;
}

static size_t
on_head(char *p, size_t size, size_t n, void *data)
{
	struct resp *r = data;

	if (r->hlen + size * n < sizeof(r->head)) {
		memcpy(r->head + r->hlen, p, size * n);
		r->hlen += size * n;
		r->head[r->hlen] = '\0';
	}
	return size * n;
}

static void
req(struct api *a, const char *method, const char *path, const char *token,
    const char *body, struct resp *out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[512], auth[256];

	ck_assert_ptr_nonnull(c);
	memset(out, 0, sizeof(*out));
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s",
	    (unsigned)api_port(a), path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_head);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	if (token != NULL) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, auth);
	}
	if (body != NULL) {
		h = curl_slist_append(h, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->code);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (out->body == NULL)
		out->body = calloc(1, 1);
}

static json_t *
req_json(const char *method, const char *path, const char *token,
    const char *body, long code)
{
	struct resp r;
	json_error_t e;
	json_t *j;

	req(api, method, path, token, body, &r);
	ck_assert_msg(r.code == code, "%s %s: HTTP %ld, not %ld: %s", method,
	    path, r.code, code, r.body);
	j = json_loads(r.body, 0, &e);
	ck_assert_msg(j != NULL, "%s %s: not JSON: %s", method, path, r.body);
	free(r.body);
	return j;
}

static const char *
str(json_t *j, const char *key)
{
	const char *s = json_string_value(json_object_get(j, key));

	ck_assert_msg(s != NULL, "no string %s", key);
	return s;
}

/* The fingerprint of the firing alert of a cell, from the API. */
static char *
fingerprint_of(const char *cell, char *out)
{
	char path[128];
	json_t *j, *a;

	snprintf(
	    path, sizeof(path), "/api/v1/alerts?state=firing&cell=%s", cell);
	j = req_json("GET", path, NULL, NULL, 200);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), 1);
	a = json_array_get(json_object_get(j, "results"), 0);
	snprintf(out, 64, "%s", str(a, "fingerprint"));
	json_decref(j);
	return out;
}

/* An event stream over a raw socket (HTTP/1.0: no chunks, the body as
 * sent), its headers read. */
static int
sse_open(uint16_t port, const char *extra, char *buf, size_t cap, size_t *len)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	char rq[512];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	snprintf(rq, sizeof(rq),
	    "GET /api/v1/events HTTP/1.0\r\nHost: x\r\n%s\r\n", extra);
	ck_assert_int_eq(write(fd, rq, strlen(rq)), (ssize_t)strlen(rq));
	*len = 0;
	ck_assert_msg(sse_wait(fd, buf, cap, len, "\r\n\r\n", 5000),
	    "no headers: %s", buf);
	return fd;
}

/* Reads into buf (appending at *len) until want shows up or ms pass. */
static bool
sse_wait(int fd, char *buf, size_t cap, size_t *len, const char *want, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int waited = 0;
	ssize_t n;

	buf[*len] = '\0';
	while (strstr(buf, want) == NULL && waited < ms) {
		if (poll(&p, 1, 100) <= 0) {
			waited += 100;
			continue;
		}
		if ((n = read(fd, buf + *len, cap - 1 - *len)) <= 0)
			break;
		*len += (size_t)n;
		buf[*len] = '\0';
	}
	return strstr(buf, want) != NULL;
}

/* Ids of the events of a type in an event-stream text, in order. */
static int
events_in(const char *text, const char *type, long long *ids, int max)
{
	char want[64];
	int n = 0;

	snprintf(want, sizeof(want), "\nevent: %s\n", type);
	for (const char *p = strstr(text, "id: "); p != NULL && n < max;
	     p = strstr(p + 1, "\nid: ")) {
		const char *id = p[0] == '\n' ? p + 5 : p + 4;
		const char *nl = strchr(id, '\n');

		if (nl != NULL && strncmp(nl, want, strlen(want)) == 0)
			ids[n++] = strtoll(id, NULL, 10);
	}
	return n;
}

/* Between polls of a condition only. */
static void
nap_ms(int ms)
{
	struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&t, NULL);
}

START_TEST(alerts_list)
{
	json_t *j, *a;
	size_t k;

	j = req_json("GET", "/api/v1/alerts", NULL, NULL, 200);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), 2);
	json_array_foreach(json_object_get(j, "results"), k, a)
	{
		ck_assert_str_eq(str(a, "state"), "firing");
		ck_assert_str_eq(str(a, "rule"), "aqi_high");
		ck_assert_str_eq(str(a, "severity"), "warning");
		ck_assert(json_is_false(json_object_get(a, "acked")));
	}
	json_decref(j);
	j = req_json("GET", "/api/v1/alerts?area=south", NULL, NULL, 200);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), 1);
	a = json_array_get(json_object_get(j, "results"), 0);
	ck_assert_str_eq(str(a, "cell"), "r001c000");
	ck_assert_str_eq(str(a, "area"), "south");
	ck_assert_double_eq(
	    json_number_value(json_object_get(a, "value")), 300);
	json_decref(j);
	j = req_json(
	    "GET", "/api/v1/alerts?severity=critical", NULL, NULL, 200);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), 0);
	json_decref(j);
	j = req_json("GET", "/api/v1/alerts?state=resolved", NULL, NULL, 200);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), 0);
	json_decref(j);
	j = req_json("GET", "/api/v1/alerts?cell=r000c001", NULL, NULL, 200);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), 0);
	json_decref(j);
	json_decref(
	    req_json("GET", "/api/v1/alerts?state=open", NULL, NULL, 400));
	json_decref(
	    req_json("GET", "/api/v1/alerts?severity=huge", NULL, NULL, 400));
	json_decref(
	    req_json("GET", "/api/v1/alerts?cell=r999c999", NULL, NULL, 404));
	json_decref(
	    req_json("GET", "/api/v1/alerts?area=east", NULL, NULL, 404));
}
END_TEST

START_TEST(alert_log)
{
	json_t *j, *e;
	long long cursor;
	size_t k;
	int firing = 0;

	j = req_json("GET", "/api/v1/alerts?after=0", NULL, NULL, 200);
	json_array_foreach(json_object_get(j, "results"), k, e)
	{
		ck_assert_int_gt(
		    json_integer_value(json_object_get(e, "id")), 0);
		if (strcmp(str(e, "event"), "firing") == 0) {
			firing++;
			ck_assert_str_eq(str(e, "rule"), "aqi_high");
			ck_assert(json_is_string(json_object_get(e, "time")));
		}
	}
	ck_assert_int_eq(firing, 2);
	cursor = json_integer_value(json_object_get(j, "cursor"));
	ck_assert_int_gt(cursor, 0);
	json_decref(j);
	j = req_json("GET", "/api/v1/alerts?after=0&state=firing&cell=r001c000",
	    NULL, NULL, 200);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), 1);
	json_decref(j);

	/* Incremental: nothing new, then the ack. */
	{
		char path[96], fp[64];

		snprintf(
		    path, sizeof(path), "/api/v1/alerts?after=%lld", cursor);
		j = req_json("GET", path, NULL, NULL, 200);
		ck_assert_int_eq(
		    json_integer_value(json_object_get(j, "count")), 0);
		ck_assert_int_eq(
		    json_integer_value(json_object_get(j, "cursor")), cursor);
		json_decref(j);
		fingerprint_of("r000c002", fp);
		snprintf(path, sizeof(path), "/api/v1/alerts/%s/ack", fp);
		json_decref(req_json("POST", path, TOK_RW, "{}", 200));
		snprintf(
		    path, sizeof(path), "/api/v1/alerts?after=%lld", cursor);
		j = req_json("GET", path, NULL, NULL, 200);
		ck_assert_int_eq(
		    json_integer_value(json_object_get(j, "count")), 1);
		e = json_array_get(json_object_get(j, "results"), 0);
		ck_assert_str_eq(str(e, "event"), "ack");
		ck_assert_str_eq(str(e, "who"), "alice");
		ck_assert_str_eq(str(e, "fingerprint"), fp);
		json_decref(j);
	}
	json_decref(req_json("GET", "/api/v1/alerts?after=x", NULL, NULL, 400));
}
END_TEST

START_TEST(auth_and_ack)
{
	char path[128], fp[64], hv[128];
	struct resp r;
	json_t *j;

	fingerprint_of("r001c000", fp);
	snprintf(path, sizeof(path), "/api/v1/alerts/%s/ack", fp);
	req(api, "POST", path, NULL, "{\"comment\":\"x\"}", &r);
	ck_assert_int_eq(r.code, 401);
	ck_assert_ptr_nonnull(strstr(r.head, "WWW-Authenticate: Bearer"));
	free(r.body);
	req(api, "POST", path, TOK_BAD, "{\"comment\":\"x\"}", &r);
	ck_assert_int_eq(r.code, 401);
	free(r.body);
	req(api, "POST", path, TOK_RO, "{\"comment\":\"x\"}", &r);
	ck_assert_int_eq(r.code, 403);
	ck_assert_ptr_nonnull(strstr(r.body, "bob"));
	free(r.body);
	/* Nothing changed yet. */
	snprintf(hv, sizeof(hv), "/api/v1/alerts/%s", fp);
	j = req_json("GET", hv, NULL, NULL, 200);
	ck_assert(json_is_false(json_object_get(j, "acked")));
	ck_assert(json_is_array(json_object_get(j, "attempts")));
	json_decref(j);
	json_decref(req_json("POST", path, TOK_RW, "{\"comment\":1}", 400));
	json_decref(req_json("POST", path, TOK_RW, "{\"why\":\"x\"}", 400));
	json_decref(req_json("POST", path, TOK_RW, "{", 400));
	j = req_json("POST", path, TOK_RW, "{\"comment\":\"on it\"}", 200);
	ck_assert(json_is_true(json_object_get(j, "acked")));
	ck_assert_str_eq(str(json_object_get(j, "ack"), "by"), "alice");
	ck_assert_str_eq(str(json_object_get(j, "ack"), "comment"), "on it");
	json_decref(j);
	j = req_json("GET", hv, NULL, NULL, 200);
	ck_assert(json_is_true(json_object_get(j, "acked")));
	json_decref(j);
	json_decref(req_json(
	    "POST", "/api/v1/alerts/0000000000000000/ack", TOK_RW, "{}", 404));
	json_decref(req_json(
	    "GET", "/api/v1/alerts/0000000000000000", NULL, NULL, 404));
	/* GET on a write-only path: 405 with what it allows. */
	req(api, "GET", path, NULL, NULL, &r);
	ck_assert_int_eq(r.code, 405);
	ck_assert_ptr_nonnull(strstr(r.head, "Allow: POST"));
	free(r.body);
	req(api, "DELETE", "/api/v1/alerts", TOK_RW, NULL, &r);
	ck_assert_int_eq(r.code, 405);
	free(r.body);
}
END_TEST

START_TEST(silences)
{
	char body[256], path[64];
	long long id;
	json_t *j, *s;
	int64_t now = (int64_t)time(NULL);

	snprintf(body, sizeof(body),
	    "{\"matchers\":\"rule=aqi_high cell=r001c000\",\"ends_at\":%lld,"
	    "\"comment\":\"works\"}",
	    (long long)now + 7200);
	json_decref(req_json("POST", "/api/v1/silences", NULL, body, 401));
	json_decref(req_json("POST", "/api/v1/silences", TOK_RO, body, 403));
	j = req_json("POST", "/api/v1/silences", TOK_RW, body, 201);
	id = json_integer_value(json_object_get(j, "id"));
	ck_assert_int_gt(id, 0);
	ck_assert_str_eq(str(j, "author"), "alice");
	ck_assert_str_eq(str(j, "status"), "active");
	ck_assert_str_eq(json_string_value(
			     json_array_get(json_object_get(j, "matchers"), 1)),
	    "cell=r001c000");
	json_decref(j);
	/* An array of matchers and ISO times. */
	j = req_json("POST", "/api/v1/silences", TOK_RW,
	    "{\"matchers\":[\"severity=warning\",\"area!=north\"],"
	    "\"starts_at\":\"2999-01-01T00:00:00Z\","
	    "\"ends_at\":\"2999-01-02T00:00:00+08:00\"}",
	    201);
	ck_assert_str_eq(str(j, "status"), "pending");
	json_decref(j);
	j = req_json("GET", "/api/v1/silences", NULL, NULL, 200);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), 2);
	s = json_array_get(json_object_get(j, "results"), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(s, "id")), id);
	ck_assert_str_eq(str(s, "comment"), "works");
	json_decref(j);
	snprintf(path, sizeof(path), "/api/v1/silences/%lld", id);
	json_decref(req_json("DELETE", path, NULL, NULL, 401));
	json_decref(req_json("DELETE", path, TOK_RO, NULL, 403));
	j = req_json("DELETE", path, TOK_RW, NULL, 200);
	ck_assert_str_eq(str(j, "status"), "expired");
	json_decref(j);
	json_decref(
	    req_json("DELETE", "/api/v1/silences/999", TOK_RW, NULL, 404));
	json_decref(
	    req_json("DELETE", "/api/v1/silences/x", TOK_RW, NULL, 404));
	/* Refused bodies. */
	json_decref(req_json("POST", "/api/v1/silences", TOK_RW,
	    "{\"matchers\":\"rule\",\"ends_at\":4102444800}", 400));
	json_decref(req_json("POST", "/api/v1/silences", TOK_RW,
	    "{\"matchers\":\"rule=x\",\"ends_at\":1000}", 400));
	json_decref(req_json("POST", "/api/v1/silences", TOK_RW,
	    "{\"matchers\":\"rule=x\"}", 400));
	json_decref(req_json("POST", "/api/v1/silences", TOK_RW,
	    "{\"matchers\":\"rule=x\",\"ends_at\":\"soon\"}", 400));
	json_decref(req_json("POST", "/api/v1/silences", TOK_RW,
	    "{\"ends_at\":4102444800}", 400));
}
END_TEST

START_TEST(events_stream)
{
	char buf[65536], fp[64], path[96], extra[64];
	size_t len = 0;
	long long acks[4], sils[4], all[16];
	int fd, n;
	json_t *j;

	fingerprint_of("r001c000", fp);
	fd = sse_open(api_port(api), "", buf, sizeof(buf), &len);
	ck_assert(sse_wait(fd, buf, sizeof(buf), &len, "retry: 3000", 5000));
	ck_assert_ptr_nonnull(strstr(buf, "Content-Type: text/event-stream"));
	snprintf(path, sizeof(path), "/api/v1/alerts/%s/ack", fp);
	json_decref(req_json("POST", path, TOK_RW, "{\"comment\":\"c\"}", 200));
	j = req_json("POST", "/api/v1/silences", TOK_RW,
	    "{\"matchers\":\"cell=r000c002\",\"ends_at\":4102444800}", 201);
	json_decref(j);
	ck_assert_msg(
	    sse_wait(fd, buf, sizeof(buf), &len, "event: silence", 5000),
	    "no silence event: %s", buf);
	close(fd);
	ck_assert_int_eq(events_in(buf, "ack", acks, 4), 1);
	ck_assert_int_eq(events_in(buf, "silence", sils, 4), 1);
	ck_assert_int_lt(acks[0], sils[0]);
	ck_assert_ptr_nonnull(strstr(buf, fp));
	ck_assert_ptr_nonnull(strstr(buf, "\"by\":\"alice\""));
	ck_assert_ptr_null(strstr(buf, TOK_RW));

	/* Resuming just before the ack gets both again, in order, at once. */
	snprintf(extra, sizeof(extra), "Last-Event-ID: %lld\r\n", acks[0] - 1);
	len = 0;
	fd = sse_open(api_port(api), extra, buf, sizeof(buf), &len);
	ck_assert(sse_wait(fd, buf, sizeof(buf), &len, "event: silence", 5000));
	close(fd);
	n = events_in(buf, "ack", all, 16);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(all[0], acks[0]);
	ck_assert_int_eq(events_in(buf, "silence", all, 16), 1);
	ck_assert_int_eq(all[0], sils[0]);
	ck_assert_ptr_null(strstr(buf, "event: reset"));
	/* The query parameter does the same. */
	{
		struct resp r;

		snprintf(path, sizeof(path), "/api/v1/events?last_event_id=x");
		req(api, "GET", path, NULL, NULL, &r);
		ck_assert_int_eq(r.code, 400);
		free(r.body);
	}
}
END_TEST

START_TEST(events_notices_and_reset)
{
	char buf[262144];
	size_t len = 0;
	long long ids[64];
	int fd, n;
	struct cell_view v;
	int64_t c = conf_cell_find(conf, "r000c003");
	uint64_t before;

	/* Cell AQI events, pushed straight through the service. */
	fd = sse_open(api_port(api), "", buf, sizeof(buf), &len);
	ck_assert(sse_wait(fd, buf, sizeof(buf), &len, "retry: 3000", 5000));
	ck_assert_int_ge(c, 0);
	ck_assert_int_eq(state_view(st, (uint32_t)c, &v), AQ_OK);
	before = service_event_last(svc);
	v.hour = 100;
	v.hour_end = 3600 * 100;
	for (int k = 0; k < 10; k++) {
		v.aqi.aqi = 10 + k;
		v.aqi.level = 1;
		service_view(svc, &v, (int64_t)time(NULL));
	}
	ck_assert_uint_eq(service_event_last(svc), before + 10);
	ck_assert(sse_wait(fd, buf, sizeof(buf), &len, "\"aqi\":19", 5000));
	close(fd);
	n = events_in(buf, "cell", ids, 64);
	ck_assert_int_eq(n, 10);
	for (int k = 0; k < n; k++)
		ck_assert_int_eq(ids[k], (long long)before + 1 + k);

	/* A Last-Event-ID older than the ring: a reset, then live. */
	for (int k = 0; k < SERVICE_EVENTS_MAX + 10; k++) {
		v.aqi.aqi = 20 + k % 2;
		service_view(svc, &v, (int64_t)time(NULL));
	}
	len = 0;
	fd = sse_open(
	    api_port(api), "Last-Event-ID: 1\r\n", buf, sizeof(buf), &len);
	ck_assert(sse_wait(fd, buf, sizeof(buf), &len, "event: reset", 5000));
	v.aqi.aqi = 77;
	service_view(svc, &v, (int64_t)time(NULL));
	ck_assert(sse_wait(fd, buf, sizeof(buf), &len, "\"aqi\":77", 5000));
	close(fd);
}
END_TEST

START_TEST(events_limit)
{
	int fd[SSE_MAX];
	struct resp r;
	char text[8192], buf[4096];
	size_t len;
	bool freed = false;

	for (int k = 0; k < SSE_MAX; k++)
		fd[k] = sse_open(api_port(api), "", buf, sizeof(buf), &len);
	req(api, "GET", "/api/v1/events", NULL, NULL, &r);
	ck_assert_int_eq(r.code, 503);
	ck_assert_ptr_nonnull(strstr(r.body, "too many event streams"));
	free(r.body);
	req(api, "GET", "/metrics", NULL, NULL, &r);
	snprintf(text, sizeof(text), "%s", r.body);
	free(r.body);
	ck_assert_ptr_nonnull(strstr(text, "\naqgrid_sse_clients 2\n"));
	ck_assert_ptr_nonnull(strstr(text, "\naqgrid_sse_refused_total 1\n"));
	ck_assert_ptr_null(strstr(text, TOK_RW));
	ck_assert_ptr_null(strstr(text, TOK_RO));
	/* A closed stream frees its place once the server writes to it. */
	close(fd[0]);
	for (int k = 0; k < 50; k++) {
		struct cell_view v;

		ck_assert_int_eq(state_view(st, 0, &v), AQ_OK);
		v.hour = 200;
		v.aqi.aqi = k;
		v.aqi.level = 1;
		service_view(svc, &v, (int64_t)time(NULL));
		nap_ms(100);
		req(api, "GET", "/metrics", NULL, NULL, &r);
		freed = strstr(r.body, "\naqgrid_sse_clients 1\n") != NULL;
		free(r.body);
		if (freed)
			break;
	}
	ck_assert_msg(freed, "the closed stream kept its place");
	fd[0] = sse_open(api_port(api), "", buf, sizeof(buf), &len);
	close(fd[0]);
	close(fd[1]);
}
END_TEST

START_TEST(dead_letters)
{
	json_t *j = NULL, *d;
	char fp[64], path[96];
	int k;

	for (k = 0; k < 100; k++) {
		j = req_json("GET", "/api/v1/notifications?status=dead", NULL,
		    NULL, 200);
		if (json_integer_value(json_object_get(j, "count")) > 0)
			break;
		json_decref(j);
		j = NULL;
		nap_ms(100);
	}
	ck_assert_msg(j != NULL, "no dead letter within 10 s");
	d = json_array_get(json_object_get(j, "results"), 0);
	ck_assert_str_eq(str(d, "receiver"), "dead");
	ck_assert_str_eq(str(d, "rule"), "aqi_high");
	ck_assert_str_eq(str(d, "kind"), "firing");
	ck_assert_int_eq(json_integer_value(json_object_get(d, "attempts")), 1);
	json_decref(j);
	json_decref(req_json(
	    "GET", "/api/v1/notifications?status=sent", NULL, NULL, 400));
	/* The alert lists the failed attempt. */
	fingerprint_of("r001c000", fp);
	snprintf(path, sizeof(path), "/api/v1/alerts/%s", fp);
	j = req_json("GET", path, NULL, NULL, 200);
	d = json_array_get(json_object_get(j, "attempts"), 0);
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(str(d, "receiver"), "dead");
	ck_assert_str_eq(str(d, "result"), "dead");
	json_decref(j);
}
END_TEST

/* read_auth, and a server without the service. */
START_TEST(read_auth_and_off)
{
	struct api *off, *guarded;
	struct resp r;

	ck_assert_ptr_nonnull(off = api_start(st, NULL));
	req(off, "GET", "/api/v1/alerts", NULL, NULL, &r);
	ck_assert_int_eq(r.code, 503);
	ck_assert_ptr_nonnull(strstr(r.body, "alerts are off"));
	free(r.body);
	req(off, "GET", "/api/v1/events", NULL, NULL, &r);
	ck_assert_int_eq(r.code, 503);
	free(r.body);
	api_stop(off);

	conf->http_read_auth = true;
	ck_assert_ptr_nonnull(guarded = api_start(st, svc));
	req(guarded, "GET", "/api/v1/alerts", NULL, NULL, &r);
	ck_assert_int_eq(r.code, 401);
	free(r.body);
	req(guarded, "GET", "/api/v1/cells", TOK_BAD, NULL, &r);
	ck_assert_int_eq(r.code, 401);
	free(r.body);
	req(guarded, "GET", "/api/v1/alerts", TOK_RO, NULL, &r);
	ck_assert_int_eq(r.code, 200);
	free(r.body);
	req(guarded, "GET", "/api/v1/openapi.json", NULL, NULL, &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "\"bearer\""));
	ck_assert_ptr_nonnull(strstr(r.body, "\"/api/v1/silences\""));
	free(r.body);
	req(guarded, "GET", "/healthz", NULL, NULL, &r);
	ck_assert_int_eq(r.code, 200);
	free(r.body);
	api_stop(guarded);
	conf->http_read_auth = false;
}
END_TEST

/* Bad tokens files are start-up errors with file:line, and no token is
 * ever written out. */
START_TEST(tokens_file)
{
	char path[128], log[128], text[8192];
	FILE *f;
	size_t n;
	int saved = dup(2), fd;

	snprintf(log, sizeof(log), "%s/log", tmp);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(dup2(fd, 2), 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/bad", tmp);
	put_file(path,
	    "ok " TOK_RW " rw\n"
	    "short abc rw\n"
	    "who " TOK_RO " admin\n"
	    "two " TOK_RW " ro\n"
	    "a b c d\n",
	    0600);
	snprintf(
	    conf->http_tokens_file, sizeof(conf->http_tokens_file), "%s", path);
	ck_assert_int_eq(api_check(conf, stderr), AQ_ERR_INVAL);
	ck_assert_ptr_null(api_start(st, svc));
	/* Readable by others: refused. */
	put_file(path, "ok " TOK_RW " rw\n", 0644);
	ck_assert_int_eq(api_check(conf, stderr), AQ_ERR_INVAL);
	put_file(path, "ok " TOK_RW " rw\n", 0640);
	ck_assert_int_eq(api_check(conf, stderr), AQ_OK);
	conf->http_read_auth = true;
	conf->http_tokens_file[0] = '\0';
	ck_assert_int_eq(api_check(conf, stderr), AQ_ERR_INVAL);
	conf->http_read_auth = false;
	/* Unknown tokens asked with are not logged either. */
	{
		struct resp r;

		req(api, "POST", "/api/v1/silences", TOK_BAD, "{}", &r);
		free(r.body);
	}
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	f = fopen(log, "r");
	ck_assert_ptr_nonnull(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	ck_assert_msg(
	    strstr(text, "bad:2: token of short") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "bad:3: access of who") != NULL, "%s", text);
	ck_assert_msg(
	    strstr(text, "bad:4: the token of two is also ok's") != NULL, "%s",
	    text);
	ck_assert_msg(
	    strstr(text, "bad:5: expected NAME TOKEN") != NULL, "%s", text);
	ck_assert_msg(
	    strstr(text, "readable or writable by others") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "read_auth = yes needs tokens_file") != NULL,
	    "%s", text);
	ck_assert_ptr_null(strstr(text, TOK_RW));
	ck_assert_ptr_null(strstr(text, TOK_RO));
	ck_assert_ptr_null(strstr(text, TOK_BAD));
	ck_assert_ptr_null(strstr(text, "abc"));
}
END_TEST

static Suite *
api_alerts_suite(void)
{
	Suite *s = suite_create("api_alerts");
	TCase *tc = tcase_create("alerts");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, alerts_list);
	tcase_add_test(tc, alert_log);
	tcase_add_test(tc, auth_and_ack);
	tcase_add_test(tc, silences);
	tcase_add_test(tc, events_stream);
	tcase_add_test(tc, events_notices_and_reset);
	tcase_add_test(tc, events_limit);
	tcase_add_test(tc, dead_letters);
	tcase_add_test(tc, read_auth_and_off);
	tcase_add_test(tc, tokens_file);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return EXIT_FAILURE;
	sr = srunner_create(api_alerts_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
