/*
 * check_integ_hj212: the built aqgridd's HJ 212 listener against data
 * loggers simulated here as plain TCP clients on loopback (with a real
 * mosquitto for the daemon's MQTT side) -- exact acknowledgements, exact
 * values through to the API, refused loggers and passwords, flagged
 * values, split messages, frames cut into tiny writes or sent together,
 * garbage, slow and idle connections, the connection limit; and the same
 * frames over MQTT.
 */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sensors/hj212.h"
#include "tests/harness.h"

#define L1 "88888880000001" /* r000c001, password 123456 */
#define L2 "88888880000002" /* r001c001, password 654321 */
#define L3 "88888880000003" /* r002c002, no password */
#define L4 "88888880000004" /* r002c000, for MQTT */

/* A simulated data logger: its connection and the answers it expects. */
struct logger {
	int fd;
	const char *mn, *pw;
	int seq;
	bool refused;     /* the daemon must not answer it */
	char want[16384]; /* acknowledgements due, in order */
	size_t nwant;
};

static void write_conf(
    struct h_daemon *d, int mqtt_port, int connections, const char *extra);
static void start(struct h_daemon *d, const char *log);
static bool metrics_has(const struct h_daemon *d, const char *line);
static void data_time(int64_t t, char *buf, size_t len);
static size_t frame(char *buf, size_t cap, const char *data);
static int tcp_connect(int port);
static void write_all(int fd, const void *p, size_t len);
static size_t read_within(int fd, void *buf, size_t len, int ms);
static bool closed_within(int fd, int ms);
static void logger_open(
    struct logger *l, int port, const char *mn, const char *pw);
static size_t logger_frame(struct logger *l, char *buf, size_t cap, int cn,
    int flag, const char *extra, int64_t t, const char *cp);
static void logger_send(
    struct logger *l, int cn, int flag, int64_t t, const char *cp);
static void logger_check_acks(struct logger *l);
static double cell_num(const struct h_daemon *d, const char *cell,
    const char *obj, const char *key, bool *null);

static void
write_conf(
    struct h_daemon *d, int mqtt_port, int connections, const char *extra)
{
	FILE *f;

	snprintf(d->conf, sizeof(d->conf), "%s/hj212-%d.conf", h_tmpdir(),
	    mqtt_port);
	ck_assert_ptr_nonnull(f = fopen(d->conf, "w"));
	fprintf(f,
	    "[mqtt]\nhost = 127.0.0.1\nport = %d\nclient_id = aqgridd-hj\n"
	    "backoff_min = 1\nbackoff_max = 1\n"
	    "subscribe = aq/hj212/# hj212 1\n"
	    "[http]\nlisten = 127.0.0.1:0\nweb_root = web\nthreads = 2\n"
	    "[hj212]\nlisten = 127.0.0.1:0\nconnections = %d\n"
	    "idle_timeout = 10\nframe_timeout = 1\n"
	    "[standards]\ntimezone = Asia/Shanghai\n"
	    "[grid]\norigin = 40.0 116.0\ncell_size = 1000\nrows = 3\n"
	    "cols = 4\n"
	    "[sensor " L1 "]\ncell = r000c001\npassword = 123456\n"
	    "[sensor " L2 "]\ncell = r001c001\npassword = 654321\n"
	    "[sensor " L3 "]\ncell = r002c002\n"
	    "[sensor " L4 "]\ncell = r002c000\npassword = 111111\n%s",
	    mqtt_port, connections, extra != NULL ? extra : "");
	fclose(f);
}

static void
start(struct h_daemon *d, const char *log)
{
	static const char key[] = "hj212: listening on 127.0.0.1:";
	const char *line;

	h_daemon_start(d, log);
	line = h_log_wait(&d->proc, key, 5);
	ck_assert_msg(line != NULL, "no HJ 212 listener (see %s)", d->proc.log);
	d->hj212 = atoi(strstr(line, key) + sizeof(key) - 1);
	ck_assert_int_gt(d->hj212, 0);
	ck_assert_int_eq(h_status(d, "hj212.listening"), 1);
}

/* Whether /metrics has this exact line. */
static bool
metrics_has(const struct h_daemon *d, const char *line)
{
	char url[128];
	char *body, *p;
	long code;
	size_t n = strlen(line);
	bool found = false;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", d->http);
	ck_assert_ptr_nonnull(body = h_get(url, &code));
	for (p = body; (p = strstr(p, line)) != NULL; p++)
		if ((p == body || p[-1] == '\n') && p[n] == '\n') {
			found = true;
			break;
		}
	free(body);
	return found;
}

/* The start of the hour `back` hours before the current one. */
/* HJ 212 times are local: the configured zone, Asia/Shanghai, UTC+8. */
static void
data_time(int64_t t, char *buf, size_t len)
{
	time_t local = (time_t)(t + 8 * 3600);
	struct tm tm;

	gmtime_r(&local, &tm);
	strftime(buf, len, "%Y%m%d%H%M%S", &tm);
}

/* "##" + length + data + CRC + CR LF. */
static size_t
frame(char *buf, size_t cap, const char *data)
{
	size_t len = strlen(data);
	int n = snprintf(buf, cap, "##%04zu%s%04X\r\n", len, data,
	    (unsigned)hj212_crc(data, len));

	ck_assert(n > 0 && (size_t)n < cap);
	return (size_t)n;
}

static int
tcp_connect(int port)
{
	struct sockaddr_in sa = {0};
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	ck_assert_int_ge(fd, 0);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	/* Tiny writes go out as tiny segments. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void
write_all(int fd, const void *p, size_t len)
{
	const char *s = p;

	while (len > 0) {
		ssize_t w = write(fd, s, len);

		ck_assert_msg(w > 0, "write: %s", strerror(errno));
		s += w;
		len -= (size_t)w;
	}
}

/* Reads up to len bytes, waiting at most ms in all; returns how many. */
static size_t
read_within(int fd, void *buf, size_t len, int ms)
{
	long long until = h_ms() + ms;
	size_t got = 0;

	while (got < len) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		long long left = until - h_ms();
		ssize_t r;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		if ((r = read(fd, (char *)buf + got, len - got)) <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

/* Whether the daemon closes fd within ms (what it sends is ignored). */
static bool
closed_within(int fd, int ms)
{
	long long until = h_ms() + ms;
	char buf[256];

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		long long left = until - h_ms();
		ssize_t r;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return false;
		r = read(fd, buf, sizeof(buf));
		if (r == 0 || (r < 0 && errno == ECONNRESET))
			return true;
	}
}

static void
logger_open(struct logger *l, int port, const char *mn, const char *pw)
{
	memset(l, 0, sizeof(*l));
	l->fd = tcp_connect(port);
	l->mn = mn;
	l->pw = pw;
}

/*
 * One frame of l into buf (CP at time t, after "DataTime=...;"); extra
 * goes after Flag (PNUM and PNO).  When Flag asks for it (bit A), the
 * answer the standard prescribes is added to what l expects: CN 9014 with
 * the request's QN, PW and MN, system code 91 and Flag 4 (HJ 212-2017,
 * no answer wanted).
 */
static size_t
logger_frame(struct logger *l, char *buf, size_t cap, int cn, int flag,
    const char *extra, int64_t t, const char *cp)
{
	char data[4096], qn[24], dt[16], ack[512];

	data_time(t, dt, sizeof(dt));
	snprintf(qn, sizeof(qn), "%s%03d", dt, l->seq++ % 1000);
	snprintf(data, sizeof(data),
	    "QN=%s;ST=22;CN=%d;PW=%s;MN=%s;Flag=%d;%sCP=&&DataTime=%s;%s&&", qn,
	    cn, l->pw, l->mn, flag, extra != NULL ? extra : "", dt, cp);
	if ((flag & 1) && !l->refused) {
		char ackdata[256];
		size_t n;

		snprintf(ackdata, sizeof(ackdata),
		    "QN=%s;ST=91;CN=9014;PW=%s;MN=%s;Flag=4;CP=&&&&", qn, l->pw,
		    l->mn);
		n = frame(ack, sizeof(ack), ackdata);
		ck_assert_uint_lt(l->nwant + n, sizeof(l->want));
		memcpy(l->want + l->nwant, ack, n);
		l->nwant += n;
	}
	return frame(buf, cap, data);
}

static void
logger_send(struct logger *l, int cn, int flag, int64_t t, const char *cp)
{
	char buf[4200];
	size_t n = logger_frame(l, buf, sizeof(buf), cn, flag, NULL, t, cp);

	write_all(l->fd, buf, n);
}

/* Exactly the answers expected so far, byte for byte: an answer to a
 * frame that should have had none would shift them. */
static void
logger_check_acks(struct logger *l)
{
	char got[sizeof(l->want)];
	size_t n = read_within(l->fd, got, l->nwant, 10000);

	ck_assert_msg(n == l->nwant, "logger %s: %zu of %zu answer bytes",
	    l->mn, n, l->nwant);
	ck_assert_msg(memcmp(got, l->want, n) == 0,
	    "logger %s: answers differ:\n got %.*s\nwant %.*s", l->mn, (int)n,
	    got, (int)n, l->want);
	l->nwant = 0;
}

/* A number of a cell's object (e.g. "concentrations", "pm25_1h"); *null
 * when it is null. */
static double
cell_num(const struct h_daemon *d, const char *cell, const char *obj,
    const char *key, bool *null)
{
	char path[128];
	json_t *c, *v;
	double x;

	snprintf(path, sizeof(path), "/api/v1/cells/%s", cell);
	c = h_json(d, path, NULL);
	v = json_object_get(obj != NULL ? json_object_get(c, obj) : c, key);
	*null = v == NULL || json_is_null(v);
	x = json_number_value(v);
	json_decref(c);
	return x;
}

START_TEST(loggers)
{
	struct h_proc broker;
	struct h_daemon d;
	struct logger l1, l2, l3, bad;
	int port = 0, idle, slow;
	long long idle_since, slow_since;
	int64_t h0 = h_hour_start(30), hx = h_hour_start(5),
		t2 = h_hour_start(2);
	char batch[16384], buf[4200], cp[512];
	const char *part1 = "a34004-Rtd=40,a34004-Flag=N";
	const char *part2 = "a34002-Rtd=70,a34002-Flag=N";
	const char garbage[] = "GARBAGE\r\nnot a frame 12345\r\n";
	size_t nb = 0, n;
	bool null;
	json_t *c, *s;

	h_broker_start(&broker, &port);
	write_conf(&d, port, 16, NULL);
	start(&d, "loggers.log");
	/* Connected first, silent throughout: closed after idle_timeout. */
	idle = tcp_connect(d.hj212);
	idle_since = h_ms();

	/* L1: 25 hourly means of PM2.5 80 in r000c001, the first ten in one
	 * write, every third without asking for an answer; then a real-time
	 * reading of the next hour, so the 25th hour is complete. */
	logger_open(&l1, d.hj212, L1, "123456");
	for (int h = 0; h < 25; h++) {
		int flag = h % 3 == 2 ? 4 : 5;

		n = logger_frame(&l1, batch + nb, sizeof(batch) - nb, 2061,
		    flag, NULL, h0 + h * 3600,
		    "a34004-Min=70,a34004-Avg=80,a34004-Max=90,a34004-Flag=N");
		nb += n;
		if (h >= 9) {
			write_all(l1.fd, batch, nb);
			nb = 0;
		}
	}
	logger_send(&l1, 2011, 5, h0 + 25 * 3600, "a34004-Rtd=1,a34004-Flag=N");

	/* L2: real-time PM2.5 and PM10 in r001c001; the last frame one byte
	 * per write. */
	logger_open(&l2, d.hj212, L2, "654321");
	for (int k = 0; k < 3; k++) {
		snprintf(cp, sizeof(cp),
		    "a34004-Rtd=%d,a34004-Flag=N;a34002-Rtd=45,a34002-Flag=N",
		    30 + k);
		logger_send(&l2, 2011, 5, t2 + k * 60, cp);
	}
	n = logger_frame(&l2, buf, sizeof(buf), 2011, 5, NULL, t2 + 180,
	    "a34004-Rtd=33,a34004-Flag=N;a34002-Rtd=50,a34002-Flag=N");
	for (size_t k = 0; k < n; k++)
		write_all(l2.fd, buf + k, 1);

	/* L3 (no password): an hour whose PM2.5 is flagged M (maintenance)
	 * in r002c002, garbage before and between frames, then the next
	 * hour's reading split into two parts (Flag A + D), each
	 * acknowledged, joined into one reading. */
	logger_open(&l3, d.hj212, L3, "");
	write_all(l3.fd, garbage, sizeof(garbage) - 1);
	logger_send(&l3, 2061, 5, hx,
	    "a34004-Avg=500,a34004-Flag=M;a34002-Avg=60,a34002-Flag=N");
	write_all(l3.fd, garbage, sizeof(garbage) - 1);
	nb = logger_frame(&l3, batch, sizeof(batch), 2011, 7, "PNUM=2;PNO=1;",
	    hx + 3600 + 120, part1);
	l3.seq--; /* both parts carry one QN */
	nb += logger_frame(&l3, batch + nb, sizeof(batch) - nb, 2011, 7,
	    "PNUM=2;PNO=2;", hx + 3600 + 120, part2);
	write_all(l3.fd, batch, nb);

	/* An unknown logger, and L1 with a wrong password: refused without
	 * an answer.  Each connection's last frame is answered, so an
	 * answer to a refused frame would show in the bytes. */
	logger_open(&bad, d.hj212, "99999999999999", "123456");
	bad.refused = true;
	logger_send(&bad, 2011, 5, t2, "a34004-Rtd=5,a34004-Flag=N");
	l1.pw = "000000";
	l1.refused = true;
	logger_send(
	    &l1, 2011, 5, h0 + 25 * 3600 + 60, "a34004-Rtd=2,a34004-Flag=N");
	l1.pw = "123456";
	l1.refused = false;
	logger_send(
	    &l1, 2011, 5, h0 + 25 * 3600 + 120, "a34004-Rtd=3,a34004-Flag=N");

	logger_check_acks(&l1);
	logger_check_acks(&l2);
	logger_check_acks(&l3);
	ck_assert_uint_eq(read_within(bad.fd, buf, 1, 300), 0);
	/* Every byte of garbage, and no other, skipped. */
	ck_assert_int_eq(h_status(&d, "hj212.garbage_bytes"),
	    2 * (long long)(sizeof(garbage) - 1));

	/* A slow sender: one byte every 200 ms of a frame that would be 101
	 * bytes long; frame_timeout 1 s cuts it off. */
	slow = tcp_connect(d.hj212);
	slow_since = h_ms();
	{
		const char *drip = "##0101QN=20260101000000000;ST=22;CN=2011";
		bool closed = false;

		for (size_t k = 0; k < strlen(drip) && !closed; k++) {
			if (write(slow, drip + k, 1) != 1)
				break;
			closed = closed_within(slow, 200);
		}
		ck_assert_msg(closed, "the slow sender was not cut off");
		ck_assert_int_ge(h_ms() - slow_since, 1000);
		ck_assert_int_le(h_ms() - slow_since, 3000);
	}
	close(slow);

	/* 25 + 1 + 1 from L1, 4 from L2, 1 + 1 (joined) from L3. */
	ck_assert(h_status_wait(
	    &d, "readings.by_decoder.hj212.readings_accepted", 33, 10));
	ck_assert(h_status_wait(&d, "hj212.disconnects.slow", 1, 5));
	h_sleep_ms(300); /* views are published at least every 100 ms */

	/* HJ 633-2026 hourly: PM2.5 80 read on the 24 h column: 100 + 50 *
	 * (80 - 60) / (115 - 60) = 118.2 -> 119. */
	c = h_json(&d, "/api/v1/cells/r000c001", NULL);
	ck_assert_int_eq(json_integer_value(json_object_get(
			     json_object_get(c, "aqi"), "value")),
	    119);
	ck_assert(
	    json_real_value(json_object_get(
		json_object_get(c, "concentrations"), "pm25_1h")) == 80.0);
	ck_assert(
	    json_real_value(json_object_get(
		json_object_get(c, "concentrations"), "pm25_24h")) == 80.0);
	json_decref(c);

	/* L2's newest values, as sent. */
	c = h_json(&d, "/api/v1/cells/r001c001", NULL);
	s = json_array_get(json_object_get(c, "sensors"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(s, "id")), L2);
	ck_assert(json_real_value(json_object_get(
		      json_object_get(s, "raw"), "pm25")) == 33.0);
	ck_assert(json_real_value(json_object_get(
		      json_object_get(s, "raw"), "pm10")) == 50.0);
	json_decref(c);

	/* L3: the flagged PM2.5 is left out of its hour, PM10 kept; the
	 * split reading carries both parts' values. */
	cell_num(&d, "r002c002", "concentrations", "pm25_1h", &null);
	ck_assert(null);
	ck_assert(cell_num(&d, "r002c002", "concentrations", "pm10_1h",
		      &null) == 60.0);
	c = h_json(&d, "/api/v1/cells/r002c002", NULL);
	s = json_array_get(json_object_get(c, "sensors"), 0);
	ck_assert(json_real_value(json_object_get(
		      json_object_get(s, "raw"), "pm25")) == 40.0);
	ck_assert(json_real_value(json_object_get(
		      json_object_get(s, "raw"), "pm10")) == 70.0);
	json_decref(c);

	/* The counts. */
	ck_assert_int_eq(h_status(&d, "rejected.unknown_logger"), 1);
	ck_assert_int_eq(h_status(&d, "rejected.bad_password"), 1);
	ck_assert_int_eq(h_status(&d, "hj212.flagged.M"), 1);
	/* The slow sender's partial frame, given up when it was cut off. */
	ck_assert_int_eq(h_status(&d, "hj212.frames.bad_length"), 1);
	/* 25 + 1 + 2 (L1), 4 (L2), 1 + 2 (L3), 1 (unknown). */
	ck_assert_int_eq(h_status(&d, "hj212.frames.ok"), 36);
	ck_assert_int_eq(h_status(&d, "hj212.frames.bad_crc"), 0);
	/* 17 + 1 + 1 (L1), 4 (L2), 1 + 2 (L3). */
	ck_assert_int_eq(h_status(&d, "hj212.acks"), 26);
	ck_assert_int_eq(h_status(&d, "hj212.accepted"), 6);
	ck_assert_int_eq(h_status(&d, "hj212.disconnects.slow"), 1);
	ck_assert(metrics_has(&d, "aqgrid_hj212_flagged_total{flag=\"M\"} 1"));
	ck_assert(metrics_has(
	    &d, "aqgrid_hj212_disconnects_total{reason=\"slow\"} 1"));
	ck_assert(metrics_has(&d, "aqgrid_hj212_acks_total 26"));
	ck_assert(
	    metrics_has(&d, "aqgrid_hj212_frames_total{result=\"ok\"} 36"));
	ck_assert(metrics_has(&d, "# TYPE aqgrid_hj212_connections gauge"));

	/* The loggers hang up; the silent connection goes after
	 * idle_timeout (10 s). */
	ck_assert_int_eq(h_status(&d, "hj212.connections"), 5);
	close(l1.fd);
	close(l2.fd);
	close(l3.fd);
	close(bad.fd);
	ck_assert(h_status_wait(&d, "hj212.disconnects.closed", 4, 5));
	ck_assert_int_eq(h_status(&d, "hj212.disconnects.idle"), 0);
	ck_assert_msg(closed_within(idle, 14000 - (int)(h_ms() - idle_since)),
	    "the idle connection was not closed");
	ck_assert_int_ge(h_ms() - idle_since, 9500);
	close(idle);
	ck_assert(h_status_wait(&d, "hj212.disconnects.idle", 1, 2));
	ck_assert_int_eq(h_status(&d, "hj212.connections"), 0);
	ck_assert_int_eq(h_stop(&d.proc, SIGTERM, 30), 0);
	h_stop(&broker, SIGTERM, 5);
}
END_TEST

START_TEST(connection_limit)
{
	struct h_proc broker;
	struct h_daemon d;
	struct logger l[3];
	int port = 0, fourth;

	h_broker_start(&broker, &port);
	write_conf(&d, port, 3, NULL);
	start(&d, "limit.log");
	for (int k = 0; k < 3; k++)
		logger_open(&l[k], d.hj212, L3, "");
	ck_assert(h_status_wait(&d, "hj212.connections", 3, 5));
	/* The fourth is accepted and closed at once, and counted. */
	fourth = tcp_connect(d.hj212);
	ck_assert(closed_within(fourth, 2000));
	close(fourth);
	ck_assert(h_status_wait(&d, "hj212.refused", 1, 2));
	ck_assert_int_eq(h_status(&d, "hj212.accepted"), 3);
	ck_assert(metrics_has(
	    &d, "aqgrid_hj212_connections_total{result=\"refused\"} 1"));
	/* The three still work. */
	for (int k = 0; k < 3; k++) {
		logger_send(&l[k], 2011, 5, h_hour_start(1) + 60 * k,
		    "a34004-Rtd=12,a34004-Flag=N");
		logger_check_acks(&l[k]);
	}
	for (int k = 0; k < 3; k++)
		close(l[k].fd);
	ck_assert_int_eq(h_stop(&d.proc, SIGTERM, 30), 0);
	h_stop(&broker, SIGTERM, 5);
}
END_TEST

/* The same frames published over MQTT decode the same way; the registry
 * and its passwords apply there too. */
START_TEST(over_mqtt)
{
	struct h_proc broker;
	struct h_daemon d;
	struct mosquitto *m;
	struct logger l;
	int port = 0;
	int64_t h0 = h_hour_start(30);
	char buf[4200];
	size_t n;
	json_t *c;

	h_broker_start(&broker, &port);
	write_conf(&d, port, 16, NULL);
	start(&d, "mqtt.log");
	m = h_mqtt(port, "pub-hj212");
	memset(&l, 0, sizeof(l));
	l.mn = L4;
	l.pw = "111111";
	for (int h = 0; h < 25; h++) {
		n = logger_frame(&l, buf, sizeof(buf), 2061, 5, NULL,
		    h0 + h * 3600, "a34004-Avg=80,a34004-Flag=N");
		h_publish(m, "aq/hj212/" L4, buf, n, 1);
	}
	n = logger_frame(&l, buf, sizeof(buf), 2011, 5, NULL, h0 + 25 * 3600,
	    "a34004-Rtd=1,a34004-Flag=N");
	h_publish(m, "aq/hj212/" L4, buf, n, 1);
	/* A wrong password, an unknown logger and a flagged value. */
	l.pw = "222222";
	n = logger_frame(&l, buf, sizeof(buf), 2011, 5, NULL,
	    h0 + 25 * 3600 + 60, "a34004-Rtd=2,a34004-Flag=N");
	h_publish(m, "aq/hj212/" L4, buf, n, 1);
	l.pw = "111111";
	l.mn = "99999999999999";
	n = logger_frame(&l, buf, sizeof(buf), 2011, 5, NULL,
	    h0 + 25 * 3600 + 60, "a34004-Rtd=2,a34004-Flag=N");
	h_publish(m, "aq/hj212/x", buf, n, 1);
	l.mn = L4;
	n = logger_frame(&l, buf, sizeof(buf), 2011, 5, NULL,
	    h0 + 25 * 3600 + 120,
	    "a34004-Rtd=2,a34004-Flag=D;a34002-Rtd=20,a34002-Flag=N");
	h_publish(m, "aq/hj212/" L4, buf, n, 1);

	ck_assert(h_status_wait(
	    &d, "readings.by_decoder.hj212.readings_accepted", 27, 10));
	ck_assert(h_status_wait(&d, "rejected.unknown_logger", 1, 5));
	ck_assert(h_status_wait(&d, "rejected.bad_password", 1, 5));
	ck_assert(h_status_wait(&d, "hj212.flagged.D", 1, 5));
	h_sleep_ms(300);
	c = h_json(&d, "/api/v1/cells/r002c000", NULL);
	ck_assert_int_eq(json_integer_value(json_object_get(
			     json_object_get(c, "aqi"), "value")),
	    119);
	ck_assert(
	    json_real_value(json_object_get(
		json_object_get(c, "concentrations"), "pm25_1h")) == 80.0);
	json_decref(c);
	ck_assert_int_eq(h_status(&d, "rejected.unknown_logger"), 1);
	ck_assert_int_eq(h_status(&d, "rejected.bad_password"), 1);
	ck_assert_int_eq(
	    h_status(&d, "readings.by_decoder.hj212.readings_accepted"), 27);
	h_mqtt_close(m);
	ck_assert_int_eq(h_stop(&d.proc, SIGTERM, 30), 0);
	h_stop(&broker, SIGTERM, 5);
}
END_TEST

static Suite *
hj212_suite(void)
{
	Suite *s = suite_create("integ_hj212");
	TCase *tc = tcase_create("hj212");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, loggers);
	tcase_add_test(tc, connection_limit);
	tcase_add_test(tc, over_mqtt);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_run(hj212_suite());
}
