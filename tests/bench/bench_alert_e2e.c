/*
 * bench_alert_e2e: reading-to-webhook latency through the whole system
 * (issue #4) -- a private mosquitto, the built aqgridd with a store and a
 * webhook receiver in this process (libmicrohttpd on a loopback port).
 *
 * A 100 x 100 grid; the first CROSSINGS cells each hold an hour of PM2.5
 * at 150 (a rule `pm25_1h > 100`, no pending time) and are each an area of
 * their own, so no notification waits for another's group.  Then readings
 * go through the broker at RATE a second (QoS 0) for the other cells, and
 * every 1,000th message is instead the reading that completes one
 * crossing cell's hour: its notification names the cell, which gives the
 * send time of the reading that caused it.  Prints the median and p99 of
 * send-to-arrival over the notifications.
 *
 * Usage: bench_alert_e2e [BUILD_DIR]  (the daemon is BUILD_DIR/aqgridd)
 */
#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROWS 100
#define COLS 100
#define CROSSINGS 200
#define EVERY 1000 /* one crossing every EVERY messages */
#define RATE 10000 /* messages a second */

struct upload {
	char *p;
	size_t len;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static double sent_ms[CROSSINGS], got_ms[CROSSINGS];
static int ngot, nreq;

static double
mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void
nap_ms(int ms)
{
	struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&t, NULL);
}

static int
free_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static pid_t
spawn(const char *const argv[], const char *log)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		/* execvp() does not write through argv. */
		execvp(argv[0], (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	return pid;
}

/* Waits up to secs for text in the file. */
static bool
log_has(const char *path, const char *text, int secs)
{
	for (int k = 0; k < secs * 10; k++) {
		char buf[65536];
		FILE *f = fopen(path, "r");
		size_t n = f != NULL ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

		if (f != NULL)
			fclose(f);
		buf[n] = '\0';
		if (strstr(buf, text) != NULL)
			return true;
		nap_ms(100);
	}
	return false;
}

static void
on_done(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct upload *u = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (u != NULL) {
		free(u->p);
		free(u);
	}
	*con_cls = NULL;
}

/* Timestamps each notification's cells on arrival. */
static enum MHD_Result
on_req(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *data, size_t *size, void **con_cls)
{
	static const char ok[] = "ok";
	struct upload *u = *con_cls;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	double at = mono_ms();
	json_t *body, *a;
	size_t k;

	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	if (u == NULL) {
		if ((u = calloc(1, sizeof(*u))) == NULL)
			return MHD_NO;
		*con_cls = u;
		return MHD_YES;
	}
	if (*size > 0) {
		char *p = realloc(u->p, u->len + *size + 1);

		if (p == NULL)
			return MHD_NO;
		memcpy(p + u->len, data, *size);
		u->p = p;
		u->len += *size;
		u->p[u->len] = '\0';
		*size = 0;
		return MHD_YES;
	}
	body = u->p != NULL ? json_loads(u->p, 0, NULL) : NULL;
	pthread_mutex_lock(&mu);
	nreq++;
	json_array_foreach(json_object_get(body, "alerts"), k, a)
	{
		const char *cell =
		    json_string_value(json_object_get(a, "cell"));
		int r, col, i;

		if (cell == NULL || sscanf(cell, "r%3dc%3d", &r, &col) != 2)
			continue;
		i = r * COLS + col;
		if (i < CROSSINGS && got_ms[i] == 0) {
			got_ms[i] = at;
			ngot++;
		}
	}
	pthread_mutex_unlock(&mu);
	json_decref(body);
	resp = MHD_create_response_from_buffer(
	    sizeof(ok) - 1, (void *)(uintptr_t)ok, MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void
publish(struct mosquitto *m, int sensor_kind, int cell, int64_t ts, int pm)
{
	char topic[64], payload[160];
	int n;

	snprintf(topic, sizeof(topic), "aq/b/%c%d", sensor_kind, cell);
	n = snprintf(payload, sizeof(payload),
	    "{\"ts\":%lld,\"period\":3600,\"cell\":\"r%03dc%03d\","
	    "\"pm25\":%d}",
	    (long long)ts, cell / COLS, cell % COLS, pm);
	while (mosquitto_publish(m, NULL, topic, n, payload, 0, false) ==
	    MOSQ_ERR_NOMEM)
		nap_ms(1);
}

int
main(int argc, char **argv)
{
	const char *bdir = argc > 1 ? argv[1] : "build";
	char dir[] = "/tmp/aqgrid-bench-alert-e2e.XXXXXX";
	char path[512], mlog[600], dlog[600], daemon[512];
	struct MHD_Daemon *sink;
	struct mosquitto *m;
	pid_t broker, aqd;
	int mqtt, hook, total = CROSSINGS * EVERY, nlat = 0;
	int64_t h = ((int64_t)time(NULL) / 3600 - 2) * 3600;
	double lat[CROSSINGS], t0, elapsed;
	FILE *f;

	if (mkdtemp(dir) == NULL)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	sink = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO,
	    0, NULL, NULL, on_req, NULL, MHD_OPTION_NOTIFY_COMPLETED, on_done,
	    NULL, MHD_OPTION_END);
	if (sink == NULL)
		return 1;
	hook = MHD_get_daemon_info(sink, MHD_DAEMON_INFO_BIND_PORT)->port;

	mqtt = free_port();
	snprintf(path, sizeof(path), "%s/mosquitto.conf", dir);
	if ((f = fopen(path, "w")) == NULL)
		return 1;
	fprintf(f,
	    "listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"
	    "max_queued_messages 1000000\n",
	    mqtt);
	fclose(f);
	snprintf(mlog, sizeof(mlog), "%s/mosquitto.log", dir);
	{
		const char *args[] = {"mosquitto", "-c", path, NULL};

		broker = spawn(args, mlog);
	}

	snprintf(path, sizeof(path), "%s/aqgridd.conf", dir);
	if ((f = fopen(path, "w")) == NULL)
		return 1;
	fprintf(f,
	    "[mqtt]\nport = %d\nclient_id = bench-alert-%d\n"
	    "subscribe = aq/b/+ json 0\n"
	    "[http]\nlisten = 127.0.0.1:0\nweb_root = web\nthreads = 2\n"
	    "[ingest]\nqueue = 262144\n"
	    "[grid]\norigin = 40.0 116.0\nrows = %d\ncols = %d\n"
	    "[store]\ndir = %s/store\n"
	    "[receiver hook]\ntype = webhook\nurl = http://127.0.0.1:%d/hook\n"
	    "[rule lat]\nwhen = pm25_1h > 100\nclear = 80\n",
	    mqtt, (int)getpid(), ROWS, COLS, dir, hook);
	for (int i = 0; i < CROSSINGS; i++)
		fprintf(f, "[area x%d]\ncells = r%03dc%03d\n", i, i / COLS,
		    i % COLS);
	fclose(f);
	snprintf(daemon, sizeof(daemon), "%s/aqgridd", bdir);
	snprintf(dlog, sizeof(dlog), "%s/aqgridd.log", dir);
	{
		const char *args[] = {daemon, "-f", "-c", path, NULL};

		aqd = spawn(args, dlog);
	}
	if (!log_has(dlog, "subscribed; ready", 30)) {
		fprintf(stderr, "bench_alert_e2e: aqgridd did not start (%s)\n",
		    dlog);
		return 1;
	}

	mosquitto_lib_init();
	if ((m = mosquitto_new("bench-alert-pub", true, NULL)) == NULL ||
	    mosquitto_connect(m, "127.0.0.1", mqtt, 30) != MOSQ_ERR_SUCCESS ||
	    mosquitto_loop_start(m) != MOSQ_ERR_SUCCESS)
		return 1;
	/* The hour before: 150 in every crossing cell. */
	for (int i = 0; i < CROSSINGS; i++)
		publish(m, 'x', i, h, 150);
	nap_ms(2000);

	/* RATE a second, in slices of a millisecond. */
	t0 = mono_ms();
	for (int k = 0; k < total; k++) {
		double due = t0 + (double)k * 1000.0 / RATE;

		while (mono_ms() < due)
			nap_ms(0);
		if (k % EVERY == EVERY / 2) {
			int i = k / EVERY;

			sent_ms[i] = mono_ms();
			publish(m, 'x', i, h + 3600, 150);
		} else {
			int span = ROWS * COLS - CROSSINGS;
			int cell = CROSSINGS + k % span;

			publish(m, 'b', cell, h + 3600 + 60 * (k / span), 20);
		}
	}
	elapsed = (mono_ms() - t0) / 1000.0;
	for (int k = 0; k < 100 && ngot < CROSSINGS; k++)
		nap_ms(100);

	pthread_mutex_lock(&mu);
	for (int i = 0; i < CROSSINGS; i++)
		if (got_ms[i] > 0)
			lat[nlat++] = got_ms[i] - sent_ms[i];
	pthread_mutex_unlock(&mu);
	qsort(lat, (size_t)nlat, sizeof(lat[0]), cmp);
	if (nlat > 0)
		printf("alerts: reading to webhook at %.0f readings/s: median "
		       "%.1f ms, p99 %.1f ms, max %.1f ms (%d of %d "
		       "notifications, %d requests)\n",
		    total / elapsed, lat[nlat / 2], lat[(nlat * 99) / 100],
		    lat[nlat - 1], nlat, CROSSINGS, nreq);
	else
		printf("alerts: no notification arrived (see %s)\n", dlog);

	mosquitto_disconnect(m);
	mosquitto_loop_stop(m, false);
	mosquitto_destroy(m);
	mosquitto_lib_cleanup();
	kill(aqd, SIGTERM);
	waitpid(aqd, NULL, 0);
	kill(broker, SIGTERM);
	waitpid(broker, NULL, 0);
	MHD_stop_daemon(sink);
	if (nlat == CROSSINGS) {
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			return 1;
	}
	return nlat == CROSSINGS ? 0 : 1;
}
