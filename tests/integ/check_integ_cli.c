/*
 * check_integ_cli: the built aqgrid's status, cells, cell and history
 * against the built aqgridd, fed by a real mosquitto broker -- the exact
 * text and JSON for scripted readings, paging over a large grid and over
 * the stored history, and what an operator meets when things go wrong: no
 * daemon, an unknown cell or area, a wrong URL, bad arguments, no store.
 * The programs are $AQGRID and $AQGRIDD (default
 * build/aqgrid, build/aqgridd); $AQ_WRAP, e.g. "valgrind -q
 * --error-exitcode=1", is put in front of both, split on spaces.
 */
#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/version.h"
#include "tests/harness.h"

#define MAX_ARGS 64

/* API tokens of the history daemon: a writer and a reader. */
#define RW_TOKEN "duty-0123456789abcdef"
#define RO_TOKEN "wall-0123456789abcdef"

struct daemon {
	struct h_proc proc;
	char conf[512];
	int http;
	char url[64]; /* http://127.0.0.1:PORT */
};

/* What one run of aqgrid left. */
struct run {
	int status; /* exit status, or 128 + signal */
	char *out, *err;
};

/* The day the scripted readings fill: yesterday in Asia/Shanghai, whose
 * last hour (labelled by its end, today's 00:00) is the latest complete
 * hour. */
struct day {
	int64_t start;  /* Unix time of today's 00:00 in Shanghai */
	char today[16]; /* YYYY-MM-DD */
	char yesterday[16];
	char hour_iso[32]; /* as the API writes the latest hour */
};

static const char *bin(const char *env, const char *dflt);
static void write_conf(struct daemon *dm, int mqtt_port, int rows, int cols);
static void start(struct daemon *dm, const char *kind);
static bool cell_aqi_is(const struct daemon *dm, const char *id, int want);
static long long status_num(
    const struct daemon *dm, const char *a, const char *b);
static void on_publish(struct mosquitto *m, void *obj, int mid);
static void publish_retained(int port, const char *topic, const char *text);
static void publish_json(struct mosquitto *m, const char *topic,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void day_init(struct day *y);
static void run(struct run *r, const char *arg, ...);
static void run_v(struct run *r, const char *const *args);
static char *slurp(const char *path);
static void run_free(struct run *r);
static void ck_ok(const struct run *r);
static void ck_fails(const struct run *r, int status, const char *err);
static const char *line_of(const char *text, int n, char *buf, size_t len);
static int count_lines(const char *text);
static json_t *parse(const char *text);
static void setup_small(void);
static void setup_big(void);
static void setup_history(void);
static const char *hour_label(int h, bool iso, char *buf, size_t len);
static void teardown(void);
static Suite *cli_suite(void);

/* Set up by the checked fixtures, in the process that runs the test. */
static struct h_proc broker;
static struct daemon d;
static struct day day;

static const char *
bin(const char *env, const char *dflt)
{
	const char *b = getenv(env);

	return b != NULL && *b != '\0' ? b : dflt;
}

/* The grid of check_integ_daemon, rows x cols, areas north (row 0) and
 * south (the rest). */
static void
write_conf(struct daemon *dm, int mqtt_port, int rows, int cols)
{
	FILE *f;

	snprintf(dm->conf, sizeof(dm->conf), "%s/aqgridd-cli-%d.conf",
	    h_tmpdir(), mqtt_port);
	ck_assert_ptr_nonnull(f = fopen(dm->conf, "w"));
	fprintf(f,
	    "[mqtt]\nhost = 127.0.0.1\nport = %d\nclient_id = aqgridd-cli\n"
	    "backoff_min = 1\nbackoff_max = 1\n"
	    "subscribe = aq/test/json/+ json 1\n"
	    "[http]\nlisten = 127.0.0.1:0\nweb_root = web\nthreads = 2\n"
	    "[standards]\ntimezone = Asia/Shanghai\n"
	    "[grid]\norigin = 40.0 116.0\ncell_size = 1000\nrows = %d\n"
	    "cols = %d\n"
	    "[area north]\nname = 北\nname_en = North\n"
	    "cells = r000c000-r000c%03d\n"
	    "[area south]\nname = 南\nname_en = South\n"
	    "cells = r001c000-r%03dc%03d\n",
	    mqtt_port, rows, cols, cols - 1, rows - 1, cols - 1);
	fclose(f);
}

/* Starts aqgridd, reads its port from its log (kind-N.log, a new one
 * each time: the port is taken from the first line giving one) and waits
 * until it is connected to the broker. */
static void
start(struct daemon *dm, const char *kind)
{
	static int seq;
	const char *argv[] = {
	    bin("AQGRIDD", "build/aqgridd"), "-f", "-c", dm->conf, NULL};
	const char *line, *p;
	char log[64];
	long long until = h_ms() + 20000;
	bool up = false;

	snprintf(log, sizeof(log), "%s-%d.log", kind, ++seq);
	h_spawn(&dm->proc, argv, log, true);
	line = h_log_wait(&dm->proc, "http://127.0.0.1:", 30);
	ck_assert_msg(
	    line != NULL, "aqgridd did not start (see %s)", dm->proc.log);
	p = strstr(line, "http://127.0.0.1:") + strlen("http://127.0.0.1:");
	dm->http = atoi(p);
	ck_assert_int_gt(dm->http, 0);
	snprintf(dm->url, sizeof(dm->url), "http://127.0.0.1:%d", dm->http);
	do {
		char url[128];
		char *body;
		json_t *s = NULL;
		long code;

		snprintf(url, sizeof(url), "%s/api/v1/status", dm->url);
		if ((body = h_get(url, &code)) != NULL)
			s = json_loads(body, 0, NULL);
		up = json_is_true(
		    json_object_get(json_object_get(s, "mqtt"), "connected"));
		json_decref(s);
		free(body);
		if (!up)
			h_sleep_ms(50);
	} while (!up && h_ms() < until);
	ck_assert_msg(up, "aqgridd did not connect to the broker");
}

/* Whether the cell's hourly AQI is want (views are published every
 * 100 ms or so, after the readings are counted). */
static bool
cell_aqi_is(const struct daemon *dm, const char *id, int want)
{
	char url[128];
	char *body;
	json_t *c = NULL;
	long code;
	bool is;

	snprintf(url, sizeof(url), "%s/api/v1/cells/%s", dm->url, id);
	if ((body = h_get(url, &code)) != NULL)
		c = json_loads(body, 0, NULL);
	is = json_integer_value(
		 json_object_get(json_object_get(c, "aqi"), "value")) == want;
	json_decref(c);
	free(body);
	return is;
}

/* status[a][b] of /api/v1/status, or -1 when it cannot be read. */
static long long
status_num(const struct daemon *dm, const char *a, const char *b)
{
	char url[128];
	char *body;
	json_t *s = NULL, *v;
	long code;
	long long n;

	snprintf(url, sizeof(url), "%s/api/v1/status", dm->url);
	if ((body = h_get(url, &code)) != NULL)
		s = json_loads(body, 0, NULL);
	v = json_object_get(json_object_get(s, a), b);
	n = json_is_integer(v) ? json_integer_value(v) : -1;
	json_decref(s);
	free(body);
	return n;
}

static void
on_publish(struct mosquitto *m, void *obj, int mid)
{
	(void)m;
	(void)mid;
	*(bool *)obj = true;
}

/*
 * Publishes a retained message (QoS 1, acknowledged) from a client of its
 * own.  The broker gives it to a subscription made later too, so the
 * daemon gets it exactly once whether or not the broker has handled its
 * SUBSCRIBE yet -- which "connected" in the status does not tell.
 */
static void
publish_retained(int port, const char *topic, const char *text)
{
	struct mosquitto *m;
	bool acked = false;
	long long until = h_ms() + 5000;

	mosquitto_lib_init();
	ck_assert_ptr_nonnull(m = mosquitto_new(NULL, true, &acked));
	mosquitto_publish_callback_set(m, on_publish);
	ck_assert_int_eq(
	    mosquitto_connect(m, "127.0.0.1", port, 30), MOSQ_ERR_SUCCESS);
	ck_assert_int_eq(
	    mosquitto_publish(m, NULL, topic, (int)strlen(text), text, 1, true),
	    MOSQ_ERR_SUCCESS);
	while (!acked && h_ms() < until)
		ck_assert_int_eq(mosquitto_loop(m, 10, 1), MOSQ_ERR_SUCCESS);
	ck_assert_msg(acked, "no acknowledgement for %s", topic);
	mosquitto_disconnect(m);
	(void)mosquitto_loop(m, 10, 1);
	mosquitto_destroy(m);
}

static void
publish_json(struct mosquitto *m, const char *topic, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	h_publish(m, topic, buf, (size_t)n, 1);
}

/* Asia/Shanghai has been UTC+8 all year since 1991. */
static void
day_init(struct day *y)
{
	time_t t = time(NULL) + 8 * 3600, u;
	struct tm tm;

	y->start = ((int64_t)t / 86400) * 86400 - 8 * 3600;
	u = (time_t)(y->start + 8 * 3600);
	ck_assert_ptr_nonnull(gmtime_r(&u, &tm));
	strftime(y->today, sizeof(y->today), "%Y-%m-%d", &tm);
	strftime(
	    y->hour_iso, sizeof(y->hour_iso), "%Y-%m-%dT%H:%M:%S+08:00", &tm);
	u -= 86400;
	ck_assert_ptr_nonnull(gmtime_r(&u, &tm));
	strftime(y->yesterday, sizeof(y->yesterday), "%Y-%m-%d", &tm);
}

/* ---- running aqgrid ---- */

/* run(r, arg, ..., NULL) */
static void
run(struct run *r, const char *arg, ...)
{
	const char *args[MAX_ARGS];
	int n = 0;
	va_list ap;

	va_start(ap, arg);
	for (const char *a = arg; a != NULL; a = va_arg(ap, const char *)) {
		ck_assert_int_lt(n, MAX_ARGS - 1);
		args[n++] = a;
	}
	va_end(ap);
	args[n] = NULL;
	run_v(r, args);
}

/* Runs aqgrid with args, stdout and stderr to files, and waits for it. */
static void
run_v(struct run *r, const char *const *args)
{
	static int seq;
	char *wrap = strdup(bin("AQ_WRAP", "")), *save = NULL;
	const char *argv[MAX_ARGS];
	char out[300], err[300];
	int argc = 0, st;
	pid_t pid;

	ck_assert_ptr_nonnull(wrap);
	for (char *w = strtok_r(wrap, " ", &save); w != NULL;
	     w = strtok_r(NULL, " ", &save)) {
		ck_assert_int_lt(argc, MAX_ARGS - 2);
		argv[argc++] = w;
	}
	argv[argc++] = bin("AQGRID", "build/aqgrid");
	for (int k = 0; args[k] != NULL; k++) {
		ck_assert_int_lt(argc, MAX_ARGS - 1);
		argv[argc++] = args[k];
	}
	argv[argc] = NULL;
	seq++;
	snprintf(out, sizeof(out), "%s/run-%d-%d.out", h_tmpdir(),
	    (int)getpid(), seq);
	snprintf(err, sizeof(err), "%s/run-%d-%d.err", h_tmpdir(),
	    (int)getpid(), seq);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
			_exit(126);
		/* execvp() takes char *const[]; it writes through neither. */
		execvp(argv[0], (char *const *)(uintptr_t)argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		ck_assert_int_eq(errno, EINTR);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r->out = slurp(out);
	r->err = slurp(err);
	free(wrap);
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *s = NULL;
	size_t n = 0, cap = 0, got;

	ck_assert_ptr_nonnull(f);
	do {
		if (cap - n < 4096) {
			cap = cap * 2 + 8192;
			ck_assert_ptr_nonnull(s = realloc(s, cap));
		}
		got = fread(s + n, 1, cap - n - 1, f);
		n += got;
	} while (got > 0);
	s[n] = '\0';
	fclose(f);
	return s;
}

static void
run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/* A success: exit 0, something on stdout, nothing on stderr. */
static void
ck_ok(const struct run *r)
{
	ck_assert_msg(r->status == 0, "exit %d, stderr: %s", r->status, r->err);
	ck_assert_msg(r->err[0] == '\0', "stderr: %s", r->err);
	ck_assert_msg(r->out[0] != '\0', "nothing on stdout");
}

/* A failure: the status, nothing on stdout, and exactly err (one line)
 * on stderr. */
static void
ck_fails(const struct run *r, int status, const char *err)
{
	ck_assert_msg(r->status == status, "exit %d, want %d; stderr: %s",
	    r->status, status, r->err);
	ck_assert_msg(r->out[0] == '\0', "stdout: %s", r->out);
	ck_assert_str_eq(r->err, err);
}

/* Line n (from 0) of text, without its newline, into buf. */
static const char *
line_of(const char *text, int n, char *buf, size_t len)
{
	const char *p = text, *nl;

	for (int k = 0; k < n && p != NULL; k++)
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	ck_assert_msg(p != NULL && *p != '\0', "no line %d in: %s", n, text);
	nl = strchr(p, '\n');
	ck_assert_ptr_nonnull(nl);
	ck_assert_uint_lt((size_t)(nl - p), len);
	memcpy(buf, p, (size_t)(nl - p));
	buf[nl - p] = '\0';
	return buf;
}

static int
count_lines(const char *text)
{
	int n = 0;

	for (const char *p = text; *p != '\0'; p++)
		n += *p == '\n';
	return n;
}

/* The one line of text as JSON. */
static json_t *
parse(const char *text)
{
	json_error_t e;
	json_t *j;

	ck_assert_int_eq(count_lines(text), 1);
	j = json_loads(text, JSON_REJECT_DUPLICATES, &e);
	ck_assert_msg(j != NULL, "not JSON (%s): %s", e.text, text);
	return j;
}

/* ---- fixtures ---- */

/*
 * A 3 x 4 grid.  First a reading that names a cell the grid lacks, sent
 * retained: once it is counted, the daemon's subscription is in place.
 * Then sensor s-a reports yesterday's 24 hourly means for r000c001, PM2.5
 * 80 ug/m3 and O3 50 ppb, and one reading at today's 00:00 that closes
 * the last hour: the latest complete hour is yesterday's 24:00 (written as
 * today's 00:00) and yesterday is the latest complete day.
 */
static void
setup_small(void)
{
	struct mosquitto *m;
	char text[256];
	int port = 0;
	long long until;

	day_init(&day);
	h_broker_start(&broker, &port);
	write_conf(&d, port, 3, 4);
	start(&d, "cli-small");
	snprintf(text, sizeof(text),
	    "{\"ts\":%lld,\"cell\":\"r009c009\",\"pm25\":5}",
	    (long long)day.start);
	publish_retained(port, "aq/test/json/s-x", text);
	until = h_ms() + 20000;
	while (status_num(&d, "rejected", "unknown_cell") < 1 && h_ms() < until)
		h_sleep_ms(50);
	ck_assert_int_eq(status_num(&d, "rejected", "unknown_cell"), 1);
	m = h_mqtt(port, "pub-cli");
	for (int h = 0; h < 24; h++)
		publish_json(m, "aq/test/json/s-a",
		    "{\"ts\":%lld,\"period\":3600,\"cell\":\"r000c001\","
		    "\"pm25\":80,\"o3\":50,\"units\":{\"o3\":\"ppb\"}}",
		    (long long)(day.start - 86400 + h * 3600));
	publish_json(m, "aq/test/json/s-a",
	    "{\"ts\":%lld,\"period\":60,\"cell\":\"r000c001\",\"pm25\":1}",
	    (long long)day.start);
	h_mqtt_close(m);
	until = h_ms() + 10000;
	while (!cell_aqi_is(&d, "r000c001", 119) && h_ms() < until)
		h_sleep_ms(50);
	ck_assert_msg(cell_aqi_is(&d, "r000c001", 119), "no AQI 119 in time");
}

/* 30 x 41 = 1230 cells: more than the 1000 of one page. */
static void
setup_big(void)
{
	int port = 0;

	h_broker_start(&broker, &port);
	write_conf(&d, port, 30, 41);
	start(&d, "cli-big");
}

/* The daemon must stop cleanly (under valgrind: without errors). */
static void
teardown(void)
{
	ck_assert_int_eq(h_stop(&d.proc, SIGTERM, 30), 0);
	h_stop(&broker, SIGTERM, 5);
}

/* ---- status ---- */

START_TEST(test_status)
{
	struct run r;
	char buf[512], want[512];
	json_t *s;

	run(&r, "status", "--url", d.url, NULL);
	ck_ok(&r);
	ck_assert_int_eq(count_lines(r.out), 9);
	snprintf(want, sizeof(want), "url       %s", d.url);
	ck_assert_str_eq(line_of(r.out, 0, buf, sizeof(buf)), want);
	ck_assert_str_eq(
	    line_of(r.out, 1, buf, sizeof(buf)), "version   " AQ_VERSION);
	/* "uptime    3s (since 2026-11-29 15:03:33 +08:00)" */
	line_of(r.out, 2, buf, sizeof(buf));
	ck_assert_msg(strncmp(buf, "uptime    ", 10) == 0 &&
		strstr(buf, "s (since ") != NULL &&
		strstr(buf, " +08:00)") != NULL,
	    "%s", buf);
	ck_assert_str_eq(line_of(r.out, 3, buf, sizeof(buf)),
	    "mqtt      connected, reconnects 0");
	ck_assert_str_eq(line_of(r.out, 4, buf, sizeof(buf)),
	    "readings  accepted 25, rejected 1 (unknown_cell 1)");
	ck_assert_str_eq(line_of(r.out, 5, buf, sizeof(buf)), "cells     12");
	ck_assert_str_eq(line_of(r.out, 6, buf, sizeof(buf)), "sensors   1");
	ck_assert_str_eq(line_of(r.out, 7, buf, sizeof(buf)),
	    "standard  hj633-2026, limits gb3095-2026 grade 2, time zone "
	    "Asia/Shanghai");
	ck_assert_str_eq(
	    line_of(r.out, 8, buf, sizeof(buf)), "queue     depth 0 of 65536");
	run_free(&r);

	/* The API's own JSON, on one line. */
	run(&r, "status", "--json", "--url", d.url, NULL);
	ck_ok(&r);
	s = parse(r.out);
	ck_assert(json_is_true(
	    json_object_get(json_object_get(s, "mqtt"), "connected")));
	ck_assert_int_eq(json_integer_value(json_object_get(
			     json_object_get(s, "readings"), "accepted")),
	    25);
	ck_assert_int_eq(json_integer_value(json_object_get(
			     json_object_get(s, "rejected"), "unknown_cell")),
	    1);
	ck_assert_str_eq(
	    json_string_value(json_object_get(s, "version")), AQ_VERSION);
	json_decref(s);
	run_free(&r);

	/* AQGRID_URL stands in for --url; a trailing '/' is dropped. */
	snprintf(buf, sizeof(buf), "%s/", d.url);
	ck_assert_int_eq(setenv("AQGRID_URL", buf, 1), 0);
	run(&r, "status", NULL);
	unsetenv("AQGRID_URL");
	ck_ok(&r);
	snprintf(want, sizeof(want), "url       %s\n", d.url);
	ck_assert_msg(strncmp(r.out, want, strlen(want)) == 0, "%s", r.out);
	run_free(&r);
}
END_TEST

/* ---- cells ---- */

START_TEST(test_cells_table)
{
	static const char *const head =
	    "ID        AREA   HOUR              AQI  LEVEL               "
	    "PRIMARY  PM2.5 1h   O3 1h  STATUS";
	/* PM2.5 1 h 80 read on the 24 h column: 100 + 50 * (80 - 60) /
	 * (115 - 60) = 118.2 -> 119, level 3; 50 ppb O3 = 50 * 47.997 /
	 * 24.465 = 98.093 ug/m3. */
	char row1[256], want[1024], buf[256];
	struct run r;

	snprintf(row1, sizeof(row1),
	    "r000c001  north  %s 00:00  119  3 Lightly polluted  pm25_1h"
	    "        80  98.093  ok",
	    day.today);
	snprintf(want, sizeof(want),
	    "%s\n"
	    "r000c000  north  -                   -  -                   "
	    "-               -       -  no_data\n"
	    "%s\n"
	    "r000c002  north  -                   -  -                   "
	    "-               -       -  no_data\n"
	    "r000c003  north  -                   -  -                   "
	    "-               -       -  no_data\n",
	    head, row1);
	run(&r, "cells", "--url", d.url, "--area", "north", NULL);
	ck_ok(&r);
	ck_assert_str_eq(r.out, want);
	run_free(&r);

	/* Every cell, by id. */
	run(&r, "cells", "--url", d.url, NULL);
	ck_ok(&r);
	ck_assert_int_eq(count_lines(r.out), 13);
	ck_assert_str_eq(line_of(r.out, 0, buf, sizeof(buf)), head);
	ck_assert_str_eq(line_of(r.out, 2, buf, sizeof(buf)), row1);
	ck_assert(strncmp(line_of(r.out, 12, buf, sizeof(buf)),
		      "r002c003  south  -", 18) == 0);
	run_free(&r);

	/* Filters and order, passed on to the API. */
	snprintf(want, sizeof(want), "%s\n%s\n", head, row1);
	run(&r, "cells", "--url", d.url, "--min-aqi", "119", NULL);
	ck_ok(&r);
	ck_assert_str_eq(r.out, want);
	run_free(&r);
	run(&r, "cells", "--url", d.url, "--sort=aqi", "--limit", "2", NULL);
	ck_ok(&r);
	ck_assert_int_eq(count_lines(r.out), 3);
	ck_assert_str_eq(line_of(r.out, 1, buf, sizeof(buf)), row1);
	ck_assert(
	    strncmp(line_of(r.out, 2, buf, sizeof(buf)), "r000c000", 8) == 0);
	run_free(&r);
	/* Nothing left: the heads alone. */
	run(&r, "cells", "--url", d.url, "--min-aqi", "120", NULL);
	ck_ok(&r);
	ck_assert_int_eq(count_lines(r.out), 1);
	run_free(&r);
}
END_TEST

START_TEST(test_cells_json)
{
	struct run r;
	json_t *a, *c;

	run(&r, "cells", "--json", "--url", d.url, NULL);
	ck_ok(&r);
	a = parse(r.out);
	ck_assert(json_is_array(a));
	ck_assert_uint_eq(json_array_size(a), 12);
	c = json_array_get(a, 1);
	ck_assert_str_eq(
	    json_string_value(json_object_get(c, "id")), "r000c001");
	ck_assert_str_eq(
	    json_string_value(json_object_get(c, "area")), "north");
	ck_assert_str_eq(
	    json_string_value(json_object_get(c, "hour")), day.hour_iso);
	ck_assert_int_eq(json_integer_value(json_object_get(c, "aqi")), 119);
	ck_assert_int_eq(json_integer_value(json_object_get(c, "level")), 3);
	ck_assert_str_eq(json_string_value(json_object_get(c, "category_en")),
	    "Lightly polluted");
	ck_assert(json_real_value(json_object_get(c, "pm25_1h")) == 80.0);
	ck_assert(json_real_value(json_object_get(c, "o3_1h")) == 98.093);
	ck_assert_str_eq(json_string_value(json_object_get(c, "status")), "ok");
	ck_assert(json_is_null(json_object_get(json_array_get(a, 11), "aqi")));
	json_decref(a);
	run_free(&r);

	/* An area, and an empty answer: still an array. */
	run(&r, "cells", "--json", "--url", d.url, "--area=south", NULL);
	ck_ok(&r);
	a = parse(r.out);
	ck_assert_uint_eq(json_array_size(a), 8);
	json_decref(a);
	run_free(&r);
	run(&r, "cells", "--json", "--url", d.url, "--min-aqi=500", NULL);
	ck_ok(&r);
	ck_assert_str_eq(r.out, "[]\n");
	run_free(&r);
}
END_TEST

/* ---- cell ---- */

START_TEST(test_cell)
{
	char want[4096];
	struct run r;
	json_t *c;

	/* O3 1 h 98.093 on HJ 633's 1-hour column: 50 * 98.093 / 160 =
	 * 30.7 -> 31.  The day: PM2.5 24 h 80 -> 119 again, O3 8 h below
	 * 50; GB 3095-2026 grade 2 (transition) limits PM2.5 24 h to 75. */
	snprintf(want, sizeof(want),
	    "cell      r000c001\n"
	    "area      north (北)\n"
	    "hour      %s 00:00 +08:00\n"
	    "status    ok\n"
	    "aqi       119 (hj633-2026, hourly)\n"
	    "level     3 Lightly polluted\n"
	    "primary   pm25_1h\n"
	    "exceeds   pm25_24h\n"
	    "day       %s: AQI 119, level 3 Lightly polluted, primary "
	    "pm25_24h, exceeds pm25_24h\n"
	    "sensors   1\n"
	    "\n"
	    "INDICATOR   VALUE  UNIT   IAQI  HOURS\n"
	    "pm25_1h        80  ug/m3   119      1\n"
	    "pm25_24h       80  ug/m3           24\n"
	    "pm10_1h         -  ug/m3     -      0\n"
	    "pm10_24h        -  ug/m3            0\n"
	    "so2_1h          -  ug/m3     -      0\n"
	    "so2_24h         -  ug/m3            0\n"
	    "no2_1h          -  ug/m3     -      0\n"
	    "no2_24h         -  ug/m3            0\n"
	    "co_1h           -  mg/m3     -      0\n"
	    "co_8h           -  mg/m3            0\n"
	    "co_24h          -  mg/m3            0\n"
	    "o3_1h      98.093  ug/m3    31      1\n"
	    "o3_8h      98.093  ug/m3            8\n"
	    "\n"
	    "SENSOR  LAST SEEN            STATUS\n"
	    "s-a     %s 00:00:00  ok\n",
	    day.today, day.yesterday, day.today);
	run(&r, "cell", "r000c001", "--url", d.url, NULL);
	ck_ok(&r);
	ck_assert_str_eq(r.out, want);
	run_free(&r);

	run(&r, "cell", "--json", "--url", d.url, "r000c001", NULL);
	ck_ok(&r);
	c = parse(r.out);
	ck_assert_str_eq(
	    json_string_value(json_object_get(c, "id")), "r000c001");
	ck_assert_int_eq(json_integer_value(json_object_get(
			     json_object_get(c, "aqi"), "value")),
	    119);
	ck_assert(
	    json_real_value(json_object_get(
		json_object_get(c, "concentrations"), "pm25_24h")) == 80.0);
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_object_get(c, "day"), "date")),
	    day.yesterday);
	json_decref(c);
	run_free(&r);
}
END_TEST

/* ---- what goes wrong ---- */

START_TEST(test_not_found)
{
	char want[256];
	struct run r;

	run(&r, "cell", "r009c009", "--url", d.url, NULL);
	ck_fails(&r, 1, "aqgrid cell: no cell 'r009c009'\n");
	run_free(&r);
	/* Escaped on the way (a blank is no URL's). */
	run(&r, "cell", "r000 c001", "--url", d.url, NULL);
	ck_fails(&r, 1, "aqgrid cell: no cell 'r000 c001'\n");
	run_free(&r);
	run(&r, "cells", "--area", "east", "--url", d.url, NULL);
	ck_fails(&r, 1, "aqgrid cells: no area 'east'\n");
	run_free(&r);
	/* A URL that is not the API's: its error text, as it came. */
	snprintf(want, sizeof(want), "%s/x", d.url);
	run(&r, "cell", "r000c001", "--url", want, NULL);
	snprintf(want, sizeof(want), "aqgrid cell: %s/x: HTTP 404: not found\n",
	    d.url);
	ck_fails(&r, 1, want);
	run_free(&r);
}
END_TEST

START_TEST(test_paging)
{
	struct run r;
	json_t *a;

	/* 1230 cells come in two pages (1000 + 230), in id order. */
	run(&r, "cells", "--json", "--url", d.url, NULL);
	ck_ok(&r);
	a = parse(r.out);
	ck_assert_uint_eq(json_array_size(a), 1230);
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_array_get(a, 0), "id")),
	    "r000c000");
	/* Cell 1000 (the second page's first) is row 1000 / 41 = 24,
	 * column 1000 % 41 = 16. */
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_array_get(a, 1000), "id")),
	    "r024c016");
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_array_get(a, 1229), "id")),
	    "r029c040");
	json_decref(a);
	run_free(&r);

	/* --limit across a page: 1000 + 100; 1099 = 26 * 41 + 33. */
	run(&r, "cells", "--json", "--limit", "1100", "--url", d.url, NULL);
	ck_ok(&r);
	a = parse(r.out);
	ck_assert_uint_eq(json_array_size(a), 1100);
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_array_get(a, 1099), "id")),
	    "r026c033");
	json_decref(a);
	run_free(&r);

	/* The table: heads and a line per cell. */
	run(&r, "cells", "--url", d.url, "--area", "south", NULL);
	ck_ok(&r);
	ck_assert_int_eq(count_lines(r.out), 1 + 29 * 41);
	run_free(&r);
}
END_TEST

/* ---- history ---- */

/*
 * The 3 x 4 grid with a store.  s-a reports yesterday's 24 hourly means
 * for r000c001, PM2.5 80 + h ug/m3 in hour h and O3 50 ppb, then a
 * reading at today's 00:00 closes the day: the store gets the hours
 * yesterday 01:00 to today 00:00 and yesterday's day, written by its own
 * thread, so the setup waits until the API serves them all.
 */
static void
setup_history(void)
{
	struct mosquitto *m;
	char text[512], url[512];
	int port = 0;
	long long until;
	json_t *j = NULL;
	FILE *f;

	day_init(&day);
	h_broker_start(&broker, &port);
	write_conf(&d, port, 3, 4);
	ck_assert_ptr_nonnull(f = fopen(d.conf, "a"));
	fprintf(f, "[store]\ndir = %s/store-%d\n", h_tmpdir(), port);
	/* An alert for the alerts, ack and silence commands: yesterday's
	 * last hours go over 100. */
	fprintf(f,
	    "[rule hot]\nwhen = pm25_1h > 100\nclear = 90\n"
	    "severity = critical\n"
	    "[http]\ntokens_file = %s/tokens-%d\n",
	    h_tmpdir(), port);
	ck_assert_int_eq(fclose(f), 0);
	snprintf(text, sizeof(text), "%s/tokens-%d", h_tmpdir(), port);
	ck_assert_ptr_nonnull(f = fopen(text, "w"));
	fputs("duty " RW_TOKEN " rw\nwall " RO_TOKEN " ro\n", f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(text, 0600), 0);
	start(&d, "cli-hist");
	snprintf(text, sizeof(text),
	    "{\"ts\":%lld,\"cell\":\"r009c009\",\"pm25\":5}",
	    (long long)day.start);
	publish_retained(port, "aq/test/json/s-x", text);
	until = h_ms() + 20000;
	while (status_num(&d, "rejected", "unknown_cell") < 1 && h_ms() < until)
		h_sleep_ms(50);
	ck_assert_int_eq(status_num(&d, "rejected", "unknown_cell"), 1);
	m = h_mqtt(port, "pub-cli-hist");
	for (int h = 0; h < 24; h++)
		publish_json(m, "aq/test/json/s-a",
		    "{\"ts\":%lld,\"period\":3600,\"cell\":\"r000c001\","
		    "\"pm25\":%d,\"o3\":50,\"units\":{\"o3\":\"ppb\"}}",
		    (long long)(day.start - 86400 + h * 3600), 80 + h);
	publish_json(m, "aq/test/json/s-a",
	    "{\"ts\":%lld,\"period\":60,\"cell\":\"r000c001\",\"pm25\":1}",
	    (long long)day.start);
	h_mqtt_close(m);
	until = h_ms() + 20000;
	do {
		char *body;
		long code = 0;

		json_decref(j);
		j = NULL;
		snprintf(url, sizeof(url),
		    "%s/api/v1/cells/r000c001/daily?from=%s&to=%s", d.url,
		    day.yesterday, day.yesterday);
		if ((body = h_get(url, &code)) != NULL && code == 200)
			j = json_loads(body, 0, NULL);
		free(body);
		if (json_integer_value(json_object_get(j, "count")) < 1)
			h_sleep_ms(50);
	} while (json_integer_value(json_object_get(j, "count")) < 1 &&
	    h_ms() < until);
	ck_assert_msg(json_integer_value(json_object_get(j, "count")) == 1,
	    "the day never reached the store");
	json_decref(j);
}

/* "YYYY-MM-DDTHH:MM:SS+08:00" (iso) or "YYYY-MM-DD HH:MM" of the end of
 * yesterday's hour h. */
static const char *
hour_label(int h, bool iso, char *buf, size_t len)
{
	time_t t = (time_t)(day.start - 86400 + (h + 1) * 3600 + 8 * 3600);
	struct tm tm;

	ck_assert_ptr_nonnull(gmtime_r(&t, &tm));
	strftime(
	    buf, len, iso ? "%Y-%m-%dT%H:%M:%S+08:00" : "%Y-%m-%d %H:%M", &tm);
	return buf;
}

START_TEST(test_history)
{
	static const char csv_head[] =
	    "hour,aqi,level,primary,exceeds,pm25_1h,n_pm25_1h,pm25_24h,"
	    "n_pm25_24h,pm10_1h,";
	char buf[512], want[128], url[512], *api;
	struct run r;
	json_t *a, *e;
	long code;
	size_t k;

	/* The table, with one indicator: a head and 24 hours. */
	run(&r, "history", "r000c001", "--url", d.url, "--from", day.yesterday,
	    "--to", day.yesterday, "--indicators", "pm25_1h", NULL);
	ck_ok(&r);
	ck_assert_int_eq(count_lines(r.out), 25);
	line_of(r.out, 0, buf, sizeof(buf));
	ck_assert_msg(strncmp(buf, "HOUR  ", 6) == 0 &&
		strstr(buf, "  AQI  LEVEL  PRIMARY  EXCEEDS  ") != NULL &&
		strcmp(buf + strlen(buf) - 9, "  pm25_1h") == 0,
	    "%s", buf);
	line_of(r.out, 1, buf, sizeof(buf));
	hour_label(0, false, want, sizeof(want));
	ck_assert_msg(strncmp(buf, want, strlen(want)) == 0 &&
		strcmp(buf + strlen(buf) - 4, "  80") == 0,
	    "%s", buf);
	line_of(r.out, 24, buf, sizeof(buf));
	snprintf(want, sizeof(want), "%s 00:00", day.today);
	ck_assert_msg(strncmp(buf, want, strlen(want)) == 0 &&
		strcmp(buf + strlen(buf) - 4, " 103") == 0,
	    "%s", buf);
	run_free(&r);

	/* --json: every row, followed across pages of 7 (4 requests). */
	run(&r, "history", "r000c001", "--json", "--page", "7", "--url", d.url,
	    "--from", day.yesterday, "--to", day.yesterday, NULL);
	ck_ok(&r);
	a = parse(r.out);
	ck_assert_uint_eq(json_array_size(a), 24);
	json_array_foreach(a, k, e)
	{
		ck_assert_str_eq(json_string_value(json_object_get(e, "hour")),
		    hour_label((int)k, true, want, sizeof(want)));
		ck_assert(json_real_value(json_object_get(
			      json_object_get(e, "concentrations"),
			      "pm25_1h")) == 80.0 + (double)k);
		ck_assert_int_eq(
		    json_integer_value(json_object_get(
			json_object_get(e, "valid_hours"), "pm25_1h")),
		    1);
	}
	ck_assert_int_eq(
	    json_integer_value(json_object_get(json_array_get(a, 0), "aqi")),
	    119);
	json_decref(a);
	run_free(&r);

	/* --csv is the API's CSV, the header line once, however paged. */
	snprintf(url, sizeof(url),
	    "%s/api/v1/cells/r000c001/history?from=%s&to=%s&format=csv", d.url,
	    day.yesterday, day.yesterday);
	ck_assert_ptr_nonnull(api = h_get(url, &code));
	ck_assert_int_eq(code, 200);
	ck_assert_int_eq(count_lines(api), 25);
	ck_assert_msg(
	    strncmp(api, csv_head, sizeof(csv_head) - 1) == 0, "%s", api);
	for (int page = 0; page < 2; page++) {
		run(&r, "history", "r000c001", "--csv", "--page",
		    page == 0 ? "5000" : "5", "--url", d.url, "--from",
		    day.yesterday, "--to", day.yesterday, NULL);
		ck_ok(&r);
		ck_assert_str_eq(r.out, api);
		run_free(&r);
	}
	free(api);

	/* The day: PM2.5 24 h, the mean of 80 ... 103. */
	run(&r, "history", "r000c001", "--daily", "--json", "--url", d.url,
	    "--from", day.yesterday, "--to", day.today, NULL);
	ck_ok(&r);
	a = parse(r.out);
	ck_assert_uint_eq(json_array_size(a), 1);
	e = json_array_get(a, 0);
	ck_assert_str_eq(
	    json_string_value(json_object_get(e, "date")), day.yesterday);
	ck_assert(
	    json_real_value(json_object_get(
		json_object_get(e, "concentrations"), "pm25_24h")) == 91.5);
	ck_assert_int_eq(json_integer_value(json_object_get(
			     json_object_get(e, "valid_hours"), "pm25_24h")),
	    24);
	json_decref(a);
	run_free(&r);
}
END_TEST

START_TEST(test_history_area)
{
	char buf[512], want[128];
	struct run r;
	json_t *a, *e;
	size_t k;

	/* The area north: only r000c001 reports, so it is the worst and
	 * the means are its values. */
	run(&r, "history", "north", "--area", "--json", "--page", "10", "--url",
	    d.url, "--from", day.yesterday, "--to", day.yesterday, NULL);
	ck_ok(&r);
	a = parse(r.out);
	ck_assert_uint_eq(json_array_size(a), 24);
	json_array_foreach(a, k, e)
	{
		ck_assert_str_eq(json_string_value(json_object_get(e, "hour")),
		    hour_label((int)k, true, want, sizeof(want)));
		ck_assert_int_eq(
		    json_integer_value(json_object_get(e, "reporting")), 1);
		ck_assert_str_eq(json_string_value(json_object_get(
				     json_object_get(e, "worst"), "cell")),
		    "r000c001");
		ck_assert(
		    json_real_value(json_object_get(json_object_get(e, "mean"),
			"pm25_1h")) == 80.0 + (double)k);
		ck_assert_int_eq(json_integer_value(json_object_get(
				     json_object_get(e, "levels"), "unknown")),
		    3);
	}
	json_decref(a);
	run_free(&r);
	run(&r, "history", "north", "--area", "--url", d.url, "--from",
	    day.yesterday, "--to", day.yesterday, NULL);
	ck_ok(&r);
	ck_assert_int_eq(count_lines(r.out), 25);
	line_of(r.out, 1, buf, sizeof(buf));
	ck_assert_msg(strstr(buf, "  1/4  r000c001  ") != NULL, "%s", buf);
	run_free(&r);

	/* Nothing in the range: told, not an error. */
	run(&r, "history", "r000c002", "--url", d.url, "--from", day.yesterday,
	    "--to", day.yesterday, NULL);
	ck_ok(&r);
	ck_assert_msg(strncmp(r.out, "no hours from ", 14) == 0, "%s", r.out);
	run_free(&r);

	/* What goes wrong: the daemon's words. */
	run(&r, "history", "r009c009", "--url", d.url, NULL);
	ck_fails(&r, 1, "aqgrid history: no cell 'r009c009'\n");
	run_free(&r);
	run(&r, "history", "east", "--area", "--url", d.url, NULL);
	ck_fails(&r, 1, "aqgrid history: no area 'east'\n");
	run_free(&r);
	run(&r, "history", "r000c001", "--from", "last week", "--url", d.url,
	    NULL);
	snprintf(buf, sizeof(buf),
	    "aqgrid history: %s: HTTP 400: from: expected Unix seconds, "
	    "ISO 8601 or YYYY-MM-DD\n",
	    d.url);
	ck_fails(&r, 1, buf);
	run_free(&r);
	run(&r, "history", "r000c001", "--indicators", "pm25_1h,pm99", "--csv",
	    "--url", d.url, NULL);
	snprintf(buf, sizeof(buf),
	    "aqgrid history: %s: HTTP 400: indicators: unknown 'pm99'\n",
	    d.url);
	ck_fails(&r, 1, buf);
	run_free(&r);
}
END_TEST

/* ---- alerts, ack, silence ---- */

START_TEST(test_alerts_ack_silence)
{
	struct run r;
	char fp[64] = "", id[32] = "", want[512];
	long long until = h_ms() + 20000;
	json_t *j = NULL, *a;

	/* The alert raised by yesterday's last hours, as a table... */
	do {
		run(&r, "alerts", "--url", d.url, NULL);
		if (strstr(r.out, "firing") == NULL) {
			run_free(&r);
			h_sleep_ms(100);
			continue;
		}
		break;
	} while (h_ms() < until);
	ck_ok(&r);
	ck_assert_ptr_nonnull(strstr(r.out, "hot"));
	ck_assert_ptr_nonnull(strstr(r.out, "critical"));
	ck_assert_ptr_nonnull(strstr(r.out, "r000c001"));
	run_free(&r);
	/* ... and as the API's JSON, for its fingerprint. */
	run(&r, "alerts", "--state", "firing", "--json", "--url", d.url, NULL);
	ck_ok(&r);
	j = parse(r.out);
	a = json_array_get(json_object_get(j, "results"), 0);
	ck_assert_ptr_nonnull(a);
	snprintf(fp, sizeof(fp), "%s",
	    json_string_value(json_object_get(a, "fingerprint")));
	ck_assert_int_eq(strlen(fp), 16);
	json_decref(j);
	run_free(&r);

	/* Acknowledging needs a token, and one that may write. */
	run(&r, "ack", fp, "--url", d.url, NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert_ptr_nonnull(strstr(r.err, "401"));
	ck_assert_ptr_null(strstr(r.err, RW_TOKEN));
	run_free(&r);
	run(&r, "ack", fp, "--token", RO_TOKEN, "--url", d.url, NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert_ptr_nonnull(strstr(r.err, "403"));
	run_free(&r);
	run(&r, "ack", fp, "--comment", "on it", "--token", RW_TOKEN, "--url",
	    d.url, NULL);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	run_free(&r);
	run(&r, "alerts", "--state", "firing", "--json", "--url", d.url, NULL);
	ck_ok(&r);
	j = parse(r.out);
	a = json_array_get(json_object_get(j, "results"), 0);
	ck_assert_ptr_nonnull(strstr(r.out, "duty"));
	ck_assert_ptr_nonnull(strstr(r.out, "on it"));
	ck_assert_str_eq(
	    json_string_value(json_object_get(a, "fingerprint")), fp);
	json_decref(j);
	run_free(&r);

	/* A silence: added (its id printed), listed active, removed. */
	run(&r, "silence", "add", "cell=r000c001 rule=hot", "--for", "2h",
	    "--comment", "maintenance", "--token", RW_TOKEN, "--url", d.url,
	    NULL);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	ck_assert_int_eq(sscanf(r.out, "silence %31s until", id), 1);
	run_free(&r);
	run(&r, "silence", "list", "--url", d.url, NULL);
	ck_ok(&r);
	ck_assert_ptr_nonnull(strstr(r.out, "active"));
	ck_assert_ptr_nonnull(strstr(r.out, "maintenance"));
	ck_assert_ptr_nonnull(strstr(r.out, "cell=r000c001"));
	run_free(&r);
	run(&r, "silence", "rm", id, "--token", RW_TOKEN, "--url", d.url, NULL);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	run_free(&r);
	run(&r, "silence", "list", "--url", d.url, NULL);
	ck_ok(&r);
	ck_assert_ptr_nonnull(strstr(r.out, "expired"));
	ck_assert_ptr_null(strstr(r.out, "active"));
	run_free(&r);
	/* The token never reaches the daemon's log. */
	{
		char *log = slurp(d.proc.log);

		snprintf(want, sizeof(want), "%s", RW_TOKEN);
		ck_assert_ptr_null(strstr(log, want));
		free(log);
	}
}
END_TEST

/* The small daemon has no [store]. */
START_TEST(test_history_no_store)
{
	char want[256];
	struct run r;

	run(&r, "history", "r000c001", "--url", d.url, NULL);
	snprintf(want, sizeof(want),
	    "aqgrid history: %s: HTTP 503: history: this daemon keeps no "
	    "history (no [store] dir in its configuration)\n",
	    d.url);
	ck_fails(&r, 1, want);
	run_free(&r);
}
END_TEST

START_TEST(test_unreachable)
{
	static const char *const cmds[][2] = {
	    {"status", NULL}, {"cells", NULL}, {"cell", "r000c001"}};
	char url[64], want[256];
	struct run r;

	/* A port just closed: nobody listens there. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", h_free_port());
	for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++) {
		const char *args[] = {
		    cmds[k][0], "--url", url, cmds[k][1], NULL};

		run_v(&r, args);
		snprintf(want, sizeof(want),
		    "aqgrid %s: cannot reach %s: Connection refused\n",
		    cmds[k][0], url);
		ck_fails(&r, 1, want);
		run_free(&r);
	}
	/* The same through AQGRID_URL. */
	ck_assert_int_eq(setenv("AQGRID_URL", url, 1), 0);
	run(&r, "cells", "--json", NULL);
	unsetenv("AQGRID_URL");
	snprintf(want, sizeof(want),
	    "aqgrid cells: cannot reach %s: Connection refused\n", url);
	ck_fails(&r, 1, want);
	run_free(&r);
}
END_TEST

START_TEST(test_bad_args)
{
	struct run r;

	/* Refused before any request: exit 2, nothing on stdout. */
	run(&r, "status", "--frobnicate", NULL);
	ck_fails(&r, 2, "aqgrid status: unknown option '--frobnicate'\n");
	run_free(&r);
	run(&r, "cells", "--sort", "name", NULL);
	ck_fails(
	    &r, 2, "aqgrid cells: bad --sort 'name' (expected aqi or id)\n");
	run_free(&r);
	run(&r, "cell", NULL);
	ck_fails(&r, 2, "aqgrid cell: missing cell ID\n");
	run_free(&r);
	ck_assert_int_eq(setenv("AQGRID_URL", "127.0.0.1:8080", 1), 0);
	run(&r, "status", NULL);
	unsetenv("AQGRID_URL");
	ck_fails(&r, 2,
	    "aqgrid status: bad AQGRID_URL '127.0.0.1:8080' (expected "
	    "http://HOST[:PORT][/PATH] or https://...)\n");
	run_free(&r);
}
END_TEST

static Suite *
cli_suite(void)
{
	Suite *s = suite_create("integ_cli");
	TCase *small = tcase_create("small");
	TCase *big = tcase_create("big");
	TCase *alone = tcase_create("alone");
	TCase *hist = tcase_create("history");
	/* Under valgrind one run of a program takes a second or more. */
	int slow = getenv("AQ_WRAP") != NULL && *getenv("AQ_WRAP") != '\0';

	tcase_set_timeout(small, slow ? 300 : 120);
	tcase_add_checked_fixture(small, setup_small, teardown);
	tcase_add_test(small, test_status);
	tcase_add_test(small, test_cells_table);
	tcase_add_test(small, test_cells_json);
	tcase_add_test(small, test_cell);
	tcase_add_test(small, test_not_found);
	tcase_add_test(small, test_history_no_store);
	suite_add_tcase(s, small);

	tcase_set_timeout(big, slow ? 300 : 120);
	tcase_add_checked_fixture(big, setup_big, teardown);
	tcase_add_test(big, test_paging);
	suite_add_tcase(s, big);

	tcase_set_timeout(hist, slow ? 300 : 120);
	tcase_add_checked_fixture(hist, setup_history, teardown);
	tcase_add_test(hist, test_history);
	tcase_add_test(hist, test_history_area);
	tcase_add_test(hist, test_alerts_ack_silence);
	suite_add_tcase(s, hist);

	tcase_set_timeout(alone, slow ? 300 : 120);
	tcase_add_test(alone, test_unreachable);
	tcase_add_test(alone, test_bad_args);
	suite_add_tcase(s, alone);
	return s;
}

int
main(void)
{
	return h_run(cli_suite());
}
