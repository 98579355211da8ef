/*
 * check_sim: aqgrid-sim against a real mosquitto broker.  The broker runs
 * on a free loopback port (never 1883) from a config in a temporary
 * directory; a libmosquitto subscriber on aq/sim/# collects what the
 * program publishes.  The program is $AQGRID_SIM (default
 * build/aqgrid-sim), run under the words of $AQ_WRAP if set (e.g.
 * "valgrind -q --error-exitcode=1").  Fixtures are read from
 * tests/fixtures/replay, relative to the working directory.  Mode hj212
 * runs against an HJ 212 listener in a thread of the test, which checks
 * framing and CRC with its own code and answers as each test asks.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define FIXTURES "tests/fixtures/replay"
#define DONGSI FIXTURES "/beijing-excerpt-dongsi.csv"
#define TIANTAN FIXTURES "/beijing-excerpt-tiantan.csv"
/* 2013-12-30T00:00:00+08:00, the excerpt's first hour. */
#define EXCERPT_T0 1388332800
#define SYNC_TOPIC "aq/sim/zz-check-sync"
#define ARGS_MAX 64
#define TEST_PATH_MAX 512
#define OUT_MAX 65536
#define HJ_CONN_MAX 16
#define HJ_DATA_MAX 1024

/* The pollutant codes aqgrid-sim hj212 sends. */
static const char *const hj_codes[] = {
    "a34004", "a34002", "a05024", "a21004", "a21026", "a21005"};

struct broker {
	pid_t pid;
	int port;
	bool persist;
	bool ok;
	char dir[TEST_PATH_MAX];
	char conf[TEST_PATH_MAX];
};

struct msg {
	char *topic;
	char *payload;
};

struct sub {
	struct mosquitto *mosq;
	pthread_mutex_t mu;
	bool subscribed;
	int sync_seen;
	int sync_sent;
	struct msg *m;
	int n, cap;
};

struct run {
	int status; /* exit status, or -1 (killed, timed out) */
	char out[OUT_MAX];
	char err[OUT_MAX];
};

/* Answers ack requests the program should accept, or not. */
enum hj_answer { ANS_ACK, ANS_NONE, ANS_BAD_ODD };

struct hj_conn {
	int fd;
	char *bytes; /* all received */
	size_t len, cap, parsed;
	int reads, frames;
	bool crlf; /* the CR LF of a frame taken is awaited */
	char mn[64];
};

struct hj_rx {
	int conn;
	char data[HJ_DATA_MAX];
};

/* The listener: a thread polling the listening socket and every
 * connection; it checks the framing and CRC of what arrives, keeps the
 * data segments and answers as told. */
struct hj_srv {
	int lfd, port;
	pthread_t th;
	pthread_mutex_t mu;
	bool stop;
	enum hj_answer ans;
	bool close_first; /* drop the first connection at its first frame */
	bool eager;       /* answer at the CRC, before the CR LF */
	bool closed;
	struct hj_conn c[HJ_CONN_MAX];
	int nc;
	struct hj_rx *rx;
	int nrx;
	char err[256];
};

/* One broker per TCase, started by an unchecked fixture in the runner. */
static struct broker br;
static char tmpdir[TEST_PATH_MAX];

static void fail_setup(const char *what);
static int free_port(void);
static bool port_accepts(int port);
static bool broker_spawn(struct broker *b);
static bool broker_start_on(struct broker *b);
static void broker_kill(struct broker *b);
static void broker_kill_at_exit(void);
static void broker_up_common(bool persist);
static void broker_up(void);
static void broker_up_persist(void);
static void broker_down(void);
static void sub_on_connect(struct mosquitto *m, void *arg, int rc);
static void sub_on_subscribe(
    struct mosquitto *m, void *arg, int mid, int n, const int *granted);
static void sub_on_message(
    struct mosquitto *m, void *arg, const struct mosquitto_message *msg);
static void sub_start(struct sub *s, const char *id, bool clean);
static void sub_sync(struct sub *s);
static int sub_count(struct sub *s);
static bool sub_wait(struct sub *s, int n, int ms);
static void sub_stop(struct sub *s);
static pid_t sim_spawn(
    int port, const char *const *args, const char *out, const char *err);
static int sim_wait(pid_t pid, int timeout_ms);
static void read_file(const char *path, char *buf, size_t len);
static void run_sim_port(struct run *r, int port, const char *const *args);
static void run_sim(struct run *r, const char *const *args);
static int timeout_ms(void);
static int count_lines(const char *s);
static json_t *msg_json(const struct msg *m);
static const struct msg *find_reading(
    const struct sub *s, const char *sensor, long long ts);
static void check_value(const struct msg *m, const char *key, double want);
static void check_absent(const struct msg *m, const char *key);
static void sleep_ms(int ms);
static int longest_repeat(const struct sub *s);
static int count_distinct(struct sub *s);
static uint16_t test_crc(const char *p, size_t n);
static int hj_wrap(char *buf, size_t len, const char *data, unsigned crc_xor);
static bool hj_field(const char *data, const char *key, char *out, size_t len);
static double hj_value(const char *data, const char *key);
static void hj_srv_error(struct hj_srv *s, const char *what, const char *at);
static void hj_srv_frames(struct hj_srv *s, int k);
static void *hj_srv_main(void *arg);
static void hj_srv_start(struct hj_srv *s, enum hj_answer ans);
static bool hj_srv_wait(struct hj_srv *s, int n);
static void hj_srv_stop(struct hj_srv *s);
static void run_hj(
    struct run *r, const struct hj_srv *s, const char *const *args);
static void hj_mn(int k, char *buf, size_t len);
static void hj_check_frame(const char *data, int cn, int flag);
static int hj_frames_of(
    const struct hj_srv *s, int k, const char **out, int max);

static char setup_error[256];

static void
fail_setup(const char *what)
{
	if (setup_error[0] == '\0')
		snprintf(setup_error, sizeof(setup_error), "%s", what);
}

/* A loopback port nobody listens on right now. */
static int
free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd, port = -1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static bool
port_accepts(int port)
{
	struct sockaddr_in a;
	int fd;
	bool ok;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return false;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

static void
sleep_ms(int ms)
{
	struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&t, NULL);
}

/* Starts mosquitto with b's config and polls its port every 100 ms for
 * up to 5 s. */
static bool
broker_spawn(struct broker *b)
{
	char log[TEST_PATH_MAX + 16];
	int fd, st;

	snprintf(log, sizeof(log), "%s/broker.log", b->dir);
	if ((b->pid = fork()) < 0)
		return false;
	if (b->pid == 0) {
		if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600)) >=
		    0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execlp("mosquitto", "mosquitto", "-c", b->conf, (char *)NULL);
		_exit(127);
	}
	for (int k = 0; k < 50; k++) {
		if (port_accepts(b->port))
			return true;
		if (waitpid(b->pid, &st, WNOHANG) == b->pid) {
			b->pid = -1;
			return false;
		}
		sleep_ms(100);
	}
	broker_kill(b);
	return false;
}

/* Picks a port, writes the config and starts the broker; another process
 * may take the port in between, so this tries a few. */
static bool
broker_start_on(struct broker *b)
{
	const struct passwd *pw = getpwuid(geteuid());
	FILE *f;

	for (int attempt = 0; attempt < 5; attempt++) {
		if ((b->port = free_port()) <= 0 || b->port == 1883)
			continue;
		if ((f = fopen(b->conf, "w")) == NULL)
			return false;
		/* Run as root, mosquitto would become user "mosquitto" and
		 * could not write its database into our directory. */
		fprintf(f,
		    "listener %d 127.0.0.1\n"
		    "allow_anonymous true\n"
		    "max_queued_messages 0\n"
		    "user %s\n",
		    b->port, pw != NULL ? pw->pw_name : "root");
		if (b->persist)
			fprintf(f,
			    "persistence true\n"
			    "persistence_location %s/\n",
			    b->dir);
		else
			fprintf(f, "persistence false\n");
		fclose(f);
		if (broker_spawn(b))
			return true;
	}
	return false;
}

static void
broker_kill(struct broker *b)
{
	int st;

	if (b->pid <= 0)
		return;
	kill(b->pid, SIGTERM);
	/* When Check forks the tests, the broker is the runner's child and a
	 * test cannot wait for it: it waits for the port to close, which
	 * mosquitto does after saving its database. */
	if (waitpid(b->pid, &st, 0) != b->pid)
		for (int k = 0; k < 500 && port_accepts(b->port); k++)
			sleep_ms(10);
	b->pid = -1;
}

/* A broker restarted inside a forked test dies with that process. */
static void
broker_kill_at_exit(void)
{
	broker_kill(&br);
}

static void
broker_up_common(bool persist)
{
	char tmpl[] = "/tmp/check_sim.XXXXXX";

	memset(&br, 0, sizeof(br));
	br.pid = -1;
	br.persist = persist;
	setup_error[0] = '\0';
	if (mkdtemp(tmpl) == NULL) {
		fail_setup("mkdtemp failed");
		return;
	}
	snprintf(tmpdir, sizeof(tmpdir), "%s", tmpl);
	snprintf(br.dir, sizeof(br.dir), "%s", tmpl);
	snprintf(br.conf, sizeof(br.conf), "%s/m.conf", tmpl);
	mosquitto_lib_init();
	br.ok = broker_start_on(&br);
	if (!br.ok)
		fail_setup("mosquitto did not start (is it installed?)");
}

static void
broker_up(void)
{
	broker_up_common(false);
}

/* A broker that keeps sessions across a restart. */
static void
broker_up_persist(void)
{
	broker_up_common(true);
}

static void
broker_down(void)
{
	char cmd[TEST_PATH_MAX + 16];

	broker_kill(&br);
	mosquitto_lib_cleanup();
	if (tmpdir[0] != '\0') {
		/* Everything in it was made by these tests. */
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(
			    stderr, "check_sim: could not remove %s\n", tmpdir);
	}
	tmpdir[0] = '\0';
}

static void
sub_on_connect(struct mosquitto *m, void *arg, int rc)
{
	(void)arg;
	/* Subscribe again after a reconnection; a persistent session keeps
	 * it anyway. */
	if (rc == 0)
		mosquitto_subscribe(m, NULL, "aq/sim/#", 1);
}

static void
sub_on_subscribe(
    struct mosquitto *m, void *arg, int mid, int n, const int *granted)
{
	struct sub *s = arg;

	(void)m;
	(void)mid;
	(void)n;
	(void)granted;
	pthread_mutex_lock(&s->mu);
	s->subscribed = true;
	pthread_mutex_unlock(&s->mu);
}

static void
sub_on_message(
    struct mosquitto *m, void *arg, const struct mosquitto_message *msg)
{
	struct sub *s = arg;
	char *topic, *payload;

	(void)m;
	pthread_mutex_lock(&s->mu);
	if (strcmp(msg->topic, SYNC_TOPIC) == 0) {
		/* libmosquitto NUL-terminates every payload. */
		s->sync_seen = (int)strtol(msg->payload, NULL, 10);
		pthread_mutex_unlock(&s->mu);
		return;
	}
	if (s->n == s->cap) {
		struct msg *nm;

		s->cap = s->cap ? s->cap * 2 : 256;
		nm = realloc(s->m, (size_t)s->cap * sizeof(*s->m));
		if (nm == NULL)
			abort();
		s->m = nm;
	}
	topic = strdup(msg->topic);
	payload = malloc((size_t)msg->payloadlen + 1);
	if (topic == NULL || payload == NULL)
		abort();
	memcpy(payload, msg->payload, (size_t)msg->payloadlen);
	payload[msg->payloadlen] = '\0';
	s->m[s->n].topic = topic;
	s->m[s->n].payload = payload;
	s->n++;
	pthread_mutex_unlock(&s->mu);
}

static void
sub_start(struct sub *s, const char *id, bool clean)
{
	bool ok = false;

	ck_assert_msg(br.ok, "%s", setup_error);
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	s->mosq = mosquitto_new(id, clean, s);
	ck_assert_ptr_nonnull(s->mosq);
	mosquitto_connect_callback_set(s->mosq, sub_on_connect);
	mosquitto_subscribe_callback_set(s->mosq, sub_on_subscribe);
	mosquitto_message_callback_set(s->mosq, sub_on_message);
	mosquitto_reconnect_delay_set(s->mosq, 1, 1, false);
	ck_assert_int_eq(mosquitto_connect(s->mosq, "127.0.0.1", br.port, 30),
	    MOSQ_ERR_SUCCESS);
	ck_assert_int_eq(mosquitto_loop_start(s->mosq), MOSQ_ERR_SUCCESS);
	for (int k = 0; k < 500 && !ok; k++) {
		pthread_mutex_lock(&s->mu);
		ok = s->subscribed;
		pthread_mutex_unlock(&s->mu);
		if (!ok)
			sleep_ms(10);
	}
	ck_assert_msg(ok, "subscriber got no SUBACK");
}

/*
 * Waits until everything the program published has arrived.  It exited
 * after the broker acknowledged its messages, so they are queued for us
 * before a marker we publish now; the marker's arrival proves theirs.
 */
static void
sub_sync(struct sub *s)
{
	char payload[16];
	bool seen = false;

	s->sync_sent++;
	snprintf(payload, sizeof(payload), "%d", s->sync_sent);
	ck_assert_int_eq(mosquitto_publish(s->mosq, NULL, SYNC_TOPIC,
			     (int)strlen(payload), payload, 1, false),
	    MOSQ_ERR_SUCCESS);
	for (int k = 0; k < timeout_ms() / 10 && !seen; k++) {
		pthread_mutex_lock(&s->mu);
		seen = s->sync_seen == s->sync_sent;
		pthread_mutex_unlock(&s->mu);
		if (!seen)
			sleep_ms(10);
	}
	ck_assert_msg(seen, "sync marker did not come back");
}

static int
sub_count(struct sub *s)
{
	int n;

	pthread_mutex_lock(&s->mu);
	n = s->n;
	pthread_mutex_unlock(&s->mu);
	return n;
}

static bool
sub_wait(struct sub *s, int n, int ms)
{
	for (int k = 0; k < ms / 10; k++) {
		if (sub_count(s) >= n)
			return true;
		sleep_ms(10);
	}
	return sub_count(s) >= n;
}

static void
sub_stop(struct sub *s)
{
	if (s->mosq != NULL) {
		mosquitto_disconnect(s->mosq);
		mosquitto_loop_stop(s->mosq, false);
		mosquitto_destroy(s->mosq);
	}
	for (int k = 0; k < s->n; k++) {
		free(s->m[k].topic);
		free(s->m[k].payload);
	}
	free(s->m);
	pthread_mutex_destroy(&s->mu);
	memset(s, 0, sizeof(*s));
}

/* Longer under valgrind, which is some 20 times slower. */
static int
timeout_ms(void)
{
	const char *w = getenv("AQ_WRAP");

	return w != NULL && w[0] != '\0' ? 60000 : 15000;
}

/* Runs the program: $AQ_WRAP words, the binary, -p port, args. */
static pid_t
sim_spawn(int port, const char *const *args, const char *out, const char *err)
{
	const char *bin = getenv("AQGRID_SIM");
	const char *wrap = getenv("AQ_WRAP");
	char *argv[ARGS_MAX];
	char *words = NULL, *save = NULL, *w;
	char portbuf[16];
	int n = 0, fd;
	pid_t pid;

	if (bin == NULL || bin[0] == '\0')
		bin = "build/aqgrid-sim";
	snprintf(portbuf, sizeof(portbuf), "%d", port);
	if (wrap != NULL && (words = strdup(wrap)) != NULL)
		for (w = strtok_r(words, " \t", &save);
		     w != NULL && n < ARGS_MAX / 2;
		     w = strtok_r(NULL, " \t", &save))
			argv[n++] = w;
	argv[n++] = (char *)(uintptr_t)bin;
	argv[n++] = (char *)(uintptr_t) "-p";
	argv[n++] = portbuf;
	for (int k = 0; args[k] != NULL && n < ARGS_MAX - 1; k++)
		argv[n++] = (char *)(uintptr_t)args[k];
	argv[n] = NULL;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		if ((fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0)
			dup2(fd, 1);
		if ((fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0)
			dup2(fd, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	free(words);
	return pid;
}

/* Exit status, or -1 after killing a program that overran. */
static int
sim_wait(pid_t pid, int ms)
{
	int st;

	for (int k = 0; k < ms / 5; k++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		sleep_ms(5);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

static void
read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f != NULL) {
		n = fread(buf, 1, len - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
}

static void
run_sim_port(struct run *r, int port, const char *const *args)
{
	char out[TEST_PATH_MAX + 16], err[TEST_PATH_MAX + 16];
	pid_t pid;

	snprintf(out, sizeof(out), "%s/sim.out", tmpdir);
	snprintf(err, sizeof(err), "%s/sim.err", tmpdir);
	pid = sim_spawn(port, args, out, err);
	ck_assert_int_gt(pid, 0);
	r->status = sim_wait(pid, timeout_ms());
	read_file(out, r->out, sizeof(r->out));
	read_file(err, r->err, sizeof(r->err));
}

static void
run_sim(struct run *r, const char *const *args)
{
	ck_assert_msg(br.ok, "%s", setup_error);
	run_sim_port(r, br.port, args);
}

static int
count_lines(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

static json_t *
msg_json(const struct msg *m)
{
	json_error_t e;
	json_t *j = json_loads(m->payload, JSON_REJECT_DUPLICATES, &e);

	ck_assert_msg(
	    j != NULL && json_is_object(j), "not JSON: %s", m->payload);
	return j;
}

static const struct msg *
find_reading(const struct sub *s, const char *sensor, long long ts)
{
	char key[128];

	snprintf(
	    key, sizeof(key), "{\"sensor\":\"%s\",\"ts\":%lld,", sensor, ts);
	for (int k = 0; k < s->n; k++)
		if (strncmp(s->m[k].payload, key, strlen(key)) == 0)
			return &s->m[k];
	ck_abort_msg("no reading of %s at %lld", sensor, ts);
	return NULL;
}

static void
check_value(const struct msg *m, const char *key, double want)
{
	json_t *j = msg_json(m);
	json_t *v = json_object_get(j, key);

	ck_assert_msg(json_is_number(v), "%s: no number %s", m->payload, key);
	ck_assert_msg(fabs(json_number_value(v) - want) < 1e-9,
	    "%s: %s is %g, not %g", m->payload, key, json_number_value(v),
	    want);
	json_decref(j);
}

static void
check_absent(const struct msg *m, const char *key)
{
	json_t *j = msg_json(m);

	ck_assert_msg(
	    json_object_get(j, key) == NULL, "%s: has %s", m->payload, key);
	json_decref(j);
}

/* The longest run of one sensor's consecutive readings that differ only
 * in ts (the payload after ts, on the same topic). */
static int
longest_repeat(const struct sub *s)
{
	const char *prev[8] = {NULL};
	int run[8] = {0}, best = 0;

	for (int k = 0; k < s->n; k++) {
		const char *rest = strstr(s->m[k].payload, ",\"period\"");
		int row, col, i;

		ck_assert_ptr_nonnull(rest);
		ck_assert_int_eq(
		    sscanf(s->m[k].topic, "aq/sim/r%3dc%3d", &row, &col), 2);
		i = (row * 2 + col) % 8;
		run[i] = prev[i] != NULL && strcmp(prev[i], rest) == 0
		    ? run[i] + 1
		    : 1;
		prev[i] = rest;
		best = run[i] > best ? run[i] : best;
	}
	return best;
}

/* Distinct payloads received: QoS 1 may deliver one twice. */
static int
count_distinct(struct sub *s)
{
	int distinct = 0;

	pthread_mutex_lock(&s->mu);
	for (int k = 0; k < s->n; k++) {
		bool dup = false;

		for (int q = 0; q < k && !dup; q++)
			dup = strcmp(s->m[q].payload, s->m[k].payload) == 0;
		distinct += !dup;
	}
	pthread_mutex_unlock(&s->mu);
	return distinct;
}

START_TEST(replay_excerpt)
{
	static const char *const args[] = {"replay", DONGSI, TIANTAN, NULL};
	struct sub s;
	struct run r;
	const struct msg *m;
	long long last = 0;

	sub_start(&s, NULL, true);
	run_sim(&r, args);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	ck_assert_str_eq(r.out, "");
	ck_assert_str_eq(r.err,
	    "aqgrid-sim: published 144 messages "
	    "(144 acked)\n");
	sub_sync(&s);
	ck_assert_int_eq(s.n, 144);

	for (int k = 0; k < s.n; k++) {
		json_t *j = msg_json(&s.m[k]);
		const char *sensor =
		    json_string_value(json_object_get(j, "sensor"));
		const char *cell =
		    json_string_value(json_object_get(j, "cell"));
		long long ts = json_integer_value(json_object_get(j, "ts"));
		char topic[128];

		ck_assert_ptr_nonnull(sensor);
		ck_assert_ptr_nonnull(cell);
		ck_assert_int_eq(
		    json_integer_value(json_object_get(j, "period")), 3600);
		snprintf(topic, sizeof(topic), "aq/sim/%s/%s", cell, sensor);
		ck_assert_str_eq(s.m[k].topic, topic);
		ck_assert_str_eq(cell,
		    strcmp(sensor, "st-dongsi") == 0 ? "r000c000" : "r000c001");
		/* Merged in time order, Dongsi (the first file) first. */
		ck_assert_int_ge(ts, last);
		ck_assert_str_eq(
		    sensor, k % 2 == 0 ? "st-dongsi" : "st-tiantan");
		ck_assert_int_eq(ts, EXCERPT_T0 + (k / 2) * 3600);
		last = ts;
		json_decref(j);
	}

	/* Row 7297: hour 0 of 2013-12-30 is the hour starting then. */
	m = find_reading(&s, "st-dongsi", EXCERPT_T0);
	ck_assert_ptr_nonnull(strstr(m->payload, "\"co\":2.4,"));
	check_value(m, "pm25", 82);
	check_value(m, "pm10", 99);
	check_value(m, "so2", 59);
	check_value(m, "no2", 98);
	check_value(m, "o3", 6);
	check_value(m, "temp", 4.6);
	check_value(m, "pres", 1013.1);
	check_value(m, "ws", 3.3);
	check_value(m, "wd", 292.5); /* WNW */
	check_value(m, "rh", 15);    /* TEMP 4.6, DEWP -19.9: 14.97 */
	check_value(m, "rain", 0);
	/* Row 7315: CO is NA, O3 an imputed 23.562. */
	m = find_reading(&s, "st-dongsi", EXCERPT_T0 + 18 * 3600);
	check_absent(m, "co");
	ck_assert_ptr_nonnull(strstr(m->payload, "\"o3\":23.562,"));
	check_value(m, "wd", 247.5); /* WSW */
	check_value(m, "pres", 1011.4);
	/* Row 7335: CO 300 ug/m3. */
	m = find_reading(&s, "st-dongsi", EXCERPT_T0 + 38 * 3600);
	ck_assert_ptr_nonnull(strstr(m->payload, "\"co\":0.3,"));
	check_value(m, "wd", 315); /* NW */
	check_value(m, "ws", 6.5);
	/* Tiantan row 7345, across the year: CO and O3 both NA. */
	m = find_reading(&s, "st-tiantan", EXCERPT_T0 + 48 * 3600);
	check_absent(m, "co");
	check_absent(m, "o3");
	check_value(m, "pm25", 32);
	check_value(m, "pm10", 110);
	check_value(m, "temp", -0.4);
	check_value(m, "wd", 270); /* W */
	/* Tiantan row 7368, the last. */
	m = find_reading(&s, "st-tiantan", EXCERPT_T0 + 71 * 3600);
	check_value(m, "co", 2.7);
	check_value(m, "pm25", 90);
	check_value(m, "o3", 2);
	check_value(m, "wd", 67.5); /* ENE */
	check_value(m, "pres", 1014.7);
	sub_stop(&s);
}
END_TEST

/* A gzip file, --cell and --from/--to. */
START_TEST(replay_options)
{
	char gz[TEST_PATH_MAX + 16], buf[4096];
	const char *args[] = {"replay", "--cell", "tiantan=r005c007", "--from",
	    "2013-12-31", "--to=2013-12-31", gz, TIANTAN, NULL};
	struct sub s;
	struct run r;
	FILE *in;
	gzFile out;
	size_t n;

	ck_assert_msg(br.ok, "%s", setup_error);
	snprintf(gz, sizeof(gz), "%s/dongsi.csv.gz", tmpdir);
	ck_assert_ptr_nonnull(in = fopen(DONGSI, "rb"));
	ck_assert_ptr_nonnull(out = gzopen(gz, "wb9"));
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		ck_assert_int_eq(gzwrite(out, buf, (unsigned)n), (int)n);
	fclose(in);
	ck_assert_int_eq(gzclose(out), Z_OK);

	sub_start(&s, NULL, true);
	run_sim(&r, args);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	ck_assert_str_eq(r.err,
	    "aqgrid-sim: published 48 messages "
	    "(48 acked)\n");
	sub_sync(&s);
	ck_assert_int_eq(s.n, 48);
	for (int k = 0; k < s.n; k++) {
		bool dongsi = k % 2 == 0;
		long long ts = EXCERPT_T0 + 86400 + (k / 2) * 3600;
		char want[128];

		snprintf(want, sizeof(want), "{\"sensor\":\"%s\",\"ts\":%lld,",
		    dongsi ? "st-dongsi" : "st-tiantan", ts);
		ck_assert_msg(strncmp(s.m[k].payload, want, strlen(want)) == 0,
		    "%s: not %s", s.m[k].payload, want);
		ck_assert_str_eq(s.m[k].topic,
		    dongsi ? "aq/sim/r000c000/st-dongsi"
			   : "aq/sim/r005c007/st-tiantan");
	}
	sub_stop(&s);
}
END_TEST

START_TEST(synth_backfill)
{
	static const char *const args[] = {"synth", "--backfill", "2",
	    "--no-live", "--rows", "3", "--cols", "4", "--fault-free", NULL};
	struct sub s;
	struct run r;
	long long t0, t1;
	int per_sensor[12] = {0};

	sub_start(&s, NULL, true);
	t0 = (long long)time(NULL);
	run_sim(&r, args);
	t1 = (long long)time(NULL);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	ck_assert_str_eq(r.out, "");
	ck_assert_str_eq(r.err,
	    "aqgrid-sim: published 288 messages "
	    "(288 acked)\n");
	sub_sync(&s);
	ck_assert_int_eq(s.n, 288);
	for (int k = 0; k < s.n; k++) {
		json_t *j = msg_json(&s.m[k]);
		const char *sensor, *cell;
		long long ts;
		int row, col, idx;
		double pm25, pm10, o3;
		char want[64], topic[128];

		ck_assert_int_eq(json_unpack(j, "{s:s, s:I, s:s}", "sensor",
				     &sensor, "ts", &ts, "cell", &cell),
		    0);
		ck_assert_int_eq(
		    json_integer_value(json_object_get(j, "period")), 300);
		/* The last 2 hours: start = now - 7200, 24 readings of
		 * 300 s. */
		ck_assert_int_ge(ts, t0 - 7200);
		ck_assert_int_le(ts + 300, t1);
		ck_assert_int_eq(sscanf(cell, "r%3dc%3d", &row, &col), 2);
		ck_assert(row >= 0 && row < 3 && col >= 0 && col < 4);
		snprintf(want, sizeof(want), "s-%s-1", cell);
		ck_assert_str_eq(sensor, want);
		snprintf(topic, sizeof(topic), "aq/sim/%s/%s", cell, sensor);
		ck_assert_str_eq(s.m[k].topic, topic);
		idx = row * 4 + col;
		per_sensor[idx]++;
		pm25 = json_number_value(json_object_get(j, "pm25"));
		pm10 = json_number_value(json_object_get(j, "pm10"));
		o3 = json_number_value(json_object_get(j, "o3"));
		ck_assert(json_is_number(json_object_get(j, "pm25")));
		ck_assert(json_is_number(json_object_get(j, "o3")));
		ck_assert(pm25 > 0 && pm25 < 1000);
		ck_assert(pm10 >= pm25 && pm10 < 2000);
		ck_assert(o3 > 0 && o3 < 1000);
		ck_assert(json_is_number(json_object_get(j, "co")));
		ck_assert(json_is_number(json_object_get(j, "temp")));
		json_decref(j);
	}
	for (int k = 0; k < 12; k++)
		ck_assert_int_eq(per_sensor[k], 24);
	sub_stop(&s);
}
END_TEST

/*
 * The same seed and start give the same readings.  Faults show: one
 * sensor repeats its reading for hours, one falls silent once live.
 */
START_TEST(synth_seeded_faults)
{
	/* 2 x 2 sensors, a day of back-fill (1152 readings less dropouts),
	 * then live readings as fast as possible up to --count. */
	const char *args[] = {"synth", "--rows", "2", "--cols", "2",
	    "--backfill", "24", "--start", "2026-01-10T00:00:00+08:00",
	    "--seed", "42", "--rate", "0", "--count", "1200", NULL, NULL};
	const long long live0 = 1767974400LL + 86400;
	struct sub a;
	struct run r;
	int live_seen[4] = {0}, back_seen[4] = {0};
	int silent = 0;

	/* Two runs into one subscriber: the second repeats the first. */
	sub_start(&a, NULL, true);
	run_sim(&r, args);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	run_sim(&r, args);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	sub_sync(&a);
	ck_assert_int_eq(a.n, 2400);
	for (int k = 0; k < 1200; k++)
		ck_assert_str_eq(a.m[k].payload, a.m[k + 1200].payload);
	a.n = 1200; /* sub_stop() frees them all the same */

	for (int k = 0; k < a.n; k++) {
		json_t *j = msg_json(&a.m[k]);
		const char *sensor =
		    json_string_value(json_object_get(j, "sensor"));
		long long ts = json_integer_value(json_object_get(j, "ts"));
		int row, col;

		ck_assert_int_eq(sscanf(sensor, "s-r%3dc%3d", &row, &col), 2);
		if (ts >= live0)
			live_seen[row * 2 + col]++;
		else
			back_seen[row * 2 + col]++;
		json_decref(j);
	}
	/* Exactly one sensor is silent in live mode, though not before. */
	for (int k = 0; k < 4; k++) {
		ck_assert_int_gt(back_seen[k], 250);
		silent += live_seen[k] == 0;
	}
	ck_assert_int_eq(silent, 1);
	/* Stuck for 4 hours: 48 five-minute readings alike but for ts. */
	ck_assert_int_ge(longest_repeat(&a), 48);
	a.n = 2400;
	sub_stop(&a);

	args[15] = "--fault-free";
	sub_start(&a, NULL, true);
	run_sim(&r, args);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	sub_sync(&a);
	ck_assert_int_eq(a.n, 1200);
	ck_assert_int_lt(longest_repeat(&a), 3);
	sub_stop(&a);
}
END_TEST

/*
 * --sources 1 adds PM2.5 (and PM10 with it) to one cell, (R / 3, 2C / 3),
 * and changes nothing else.
 */
START_TEST(synth_sources)
{
	const char *args[] = {"synth", "--rows", "3", "--cols", "6",
	    "--backfill", "1", "--no-live", "--start",
	    "2026-01-10T00:00:00+08:00", "--fault-free", NULL, NULL, NULL};
	struct sub a;
	struct run r;
	int in_cell = 0;

	sub_start(&a, NULL, true);
	run_sim(&r, args);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	args[11] = "--sources";
	args[12] = "1";
	run_sim(&r, args);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	sub_sync(&a);
	ck_assert_int_eq(a.n, 2 * 12 * 18);
	for (int k = 0; k < a.n / 2; k++) {
		json_t *p = msg_json(&a.m[k]), *q = msg_json(&a.m[k + a.n / 2]);
		const char *cell =
		    json_string_value(json_object_get(p, "cell"));

		ck_assert_str_eq(a.m[k].topic, a.m[k + a.n / 2].topic);
		if (strcmp(cell, "r001c004") == 0) {
			double d =
			    json_number_value(json_object_get(q, "pm25")) -
			    json_number_value(json_object_get(p, "pm25"));

			in_cell++;
			/* 50 to 90, 0.8 to 1.2 times by the hour, through
			 * the sensor's calibration and noise. */
			ck_assert_msg(d > 25 && d < 150, "pm25 + %g", d);
			ck_assert(
			    json_number_value(json_object_get(q, "pm10")) >
			    json_number_value(json_object_get(p, "pm10")));
		} else {
			ck_assert_str_eq(
			    a.m[k].payload, a.m[k + a.n / 2].payload);
		}
		json_decref(p);
		json_decref(q);
	}
	ck_assert_int_eq(in_cell, 12);
	sub_stop(&a);
}
END_TEST

START_TEST(count_stops)
{
	static const char *const backfill[] = {"synth", "--rows", "3", "--cols",
	    "4", "--backfill", "2", "--count", "30", NULL};
	static const char *const live[] = {"-q", "0", "synth", "--rows", "3",
	    "--cols", "4", "--backfill", "0", "--rate", "0", "--count", "50",
	    NULL};
	struct sub s;
	struct run r;

	sub_start(&s, NULL, true);
	run_sim(&r, backfill);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	ck_assert_str_eq(r.err,
	    "aqgrid-sim: published 30 messages "
	    "(30 acked)\n");
	sub_sync(&s);
	ck_assert_int_eq(s.n, 30);
	run_sim(&r, live);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	ck_assert_str_eq(r.err,
	    "aqgrid-sim: published 50 messages "
	    "(50 acked)\n");
	sub_sync(&s);
	ck_assert_int_eq(s.n, 80);
	sub_stop(&s);
}
END_TEST

/* SIGTERM in live mode: a clean stop, nothing lost, a summary. */
START_TEST(sigterm_stops)
{
	static const char *const args[] = {"synth", "--rows", "2", "--cols",
	    "2", "--backfill", "0", "--interval", "1", "--speed", "20",
	    "--fault-free", NULL};
	char out[TEST_PATH_MAX + 16], err[TEST_PATH_MAX + 16], want[128];
	struct sub s;
	struct run r;
	pid_t pid;

	sub_start(&s, NULL, true);
	snprintf(out, sizeof(out), "%s/sim.out", tmpdir);
	snprintf(err, sizeof(err), "%s/sim.err", tmpdir);
	pid = sim_spawn(br.port, args, out, err);
	ck_assert_int_gt(pid, 0);
	ck_assert_msg(sub_wait(&s, 10, timeout_ms()), "no live readings");
	kill(pid, SIGTERM);
	r.status = sim_wait(pid, timeout_ms());
	read_file(err, r.err, sizeof(r.err));
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	sub_sync(&s);
	snprintf(want, sizeof(want),
	    "aqgrid-sim: published %d messages (%d acked)\n", s.n, s.n);
	ck_assert_str_eq(r.err, want);
	sub_stop(&s);
}
END_TEST

/* Bad usage: exit 2, one line on stderr, nothing on stdout. */
static const char *const bad_usage[][8] = {
    {NULL},
    {"frobnicate", NULL},
    {"synth", "--rows", "0", NULL},
    {"synth", "--rows", "x", NULL},
    {"synth", "--cols", "1001", NULL},
    {"-q", "3", "synth", NULL},
    {"-p", "0", "synth", NULL},
    {"-x", "synth", NULL},
    {"-t", "aq/#", "synth", NULL},
    {"--rows", "3", "synth", NULL},
    {"synth", "extra", NULL},
    {"synth", "--cell", "a=r000c000", NULL},
    {"synth", "--live=yes", NULL},
    {"synth", "--start", "yesterday", NULL},
    {"synth", "--speed", "0", NULL},
    {"synth", "--count", NULL},
    {"replay", NULL},
    {"replay", "--rows", "3", DONGSI, NULL},
    {"replay", "--from", "2014-02-30", DONGSI, NULL},
    {"replay", "--cell", "dongsi=r1c1", DONGSI, NULL},
    {"replay", "--cell", "nowhere=r001c001", DONGSI, NULL},
    {"hj212", "--loggers", "0", NULL},
    {"hj212", "--loggers", "10001", NULL},
    {"hj212", "--cn", "2051", NULL},
    {"hj212", "--port", "0", NULL},
    {"hj212", "--host", "", NULL},
    {"hj212", "--mn-prefix", "0100-A89", NULL},
    {"hj212", "--password", "12;34", NULL},
    {"hj212", "--ack-timeout", "0", NULL},
    {"hj212", "--split", "--mqtt", NULL},
    {"hj212", "--no-live", NULL},
    {"hj212", "--no-ack=yes", NULL},
    {"hj212", "--speed", "2", NULL},
    {"hj212", "extra", NULL},
    {"synth", "--loggers", "3", NULL},
    {"--port", "9213", "hj212", NULL},
};

START_TEST(usage_errors)
{
	struct run r;

	run_sim(&r, bad_usage[_i]);
	ck_assert_msg(
	    r.status == 2, "case %d: exit %d: %s", _i, r.status, r.err);
	ck_assert_str_eq(r.out, "");
	ck_assert_msg(count_lines(r.err) == 1, "case %d: %s", _i, r.err);
	ck_assert_msg(strncmp(r.err, "aqgrid-sim: ", 12) == 0, "%s", r.err);
}
END_TEST

/* Failures while running: exit 1 and one line. */
START_TEST(run_errors)
{
	static const char *const synth[] = {"synth", "--no-live", NULL};
	static const char *const missing[] = {"replay", "no/such.csv", NULL};
	static const char *const notcsv[] = {
	    "replay", FIXTURES "/README.md", NULL};
	struct run r;
	int port = free_port();

	run_sim_port(&r, port, synth);
	ck_assert_msg(r.status == 1, "exit %d: %s", r.status, r.err);
	ck_assert_msg(
	    count_lines(r.err) == 1 && strstr(r.err, "cannot connect") != NULL,
	    "%s", r.err);
	ck_assert_str_eq(r.out, "");
	run_sim(&r, missing);
	ck_assert_msg(r.status == 1 && count_lines(r.err) == 1, "exit %d: %s",
	    r.status, r.err);
	run_sim(&r, notcsv);
	ck_assert_msg(r.status == 1 && count_lines(r.err) == 1, "exit %d: %s",
	    r.status, r.err);
}
END_TEST

START_TEST(help)
{
	static const char *const args[] = {"--help", NULL};
	struct run r;

	run_sim(&r, args);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.err, "");
	ck_assert_ptr_nonnull(strstr(r.out, "usage: aqgrid-sim"));
	ck_assert_ptr_nonnull(strstr(r.out, "MODE replay FILE..."));
}
END_TEST

/*
 * The broker restarts while the program publishes live at QoS 1: it
 * reconnects and every message arrives (some perhaps twice).  The broker
 * keeps the subscriber's session across the restart (persistence).
 */
START_TEST(reconnects)
{
	static const char *const args[] = {"-i", "check-sim-pub", "synth",
	    "--rows", "2", "--cols", "2", "--backfill", "0", "--rate", "40",
	    "--count", "120", "--fault-free", NULL};
	char out[TEST_PATH_MAX + 16], err[TEST_PATH_MAX + 16];
	struct sub s;
	struct run r;
	pid_t pid;
	int distinct = 0;

	sub_start(&s, "check-sim-sub", false);
	snprintf(out, sizeof(out), "%s/sim.out", tmpdir);
	snprintf(err, sizeof(err), "%s/sim.err", tmpdir);
	pid = sim_spawn(br.port, args, out, err);
	ck_assert_int_gt(pid, 0);
	ck_assert_msg(sub_wait(&s, 30, timeout_ms()), "no live readings");
	broker_kill(&br);
	ck_assert_msg(broker_spawn(&br), "broker did not restart");
	atexit(broker_kill_at_exit);
	r.status = sim_wait(pid, timeout_ms());
	read_file(err, r.err, sizeof(r.err));
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	ck_assert_ptr_nonnull(
	    strstr(r.err, "aqgrid-sim: published 120 messages (120 acked)\n"));
	ck_assert_ptr_nonnull(strstr(r.err, "connection lost"));
	/* No marker here: messages queued for the subscriber during the
	 * restart may be overtaken by newer ones, so poll for all of them. */
	for (int k = 0; k < timeout_ms() / 10 && distinct < 120; k++) {
		sleep_ms(10);
		distinct = count_distinct(&s);
	}
	ck_assert_int_eq(distinct, 120);
	sub_stop(&s);
}
END_TEST

/* ---- Mode hj212 against a listener of the test's own ---- */

/* The standard's CRC, written again here so the test checks the program
 * against an independent reading of it. */
static uint16_t
test_crc(const char *p, size_t n)
{
	unsigned crc = 0xFFFF;

	for (size_t k = 0; k < n; k++) {
		crc = (crc >> 8) ^ (unsigned char)p[k];
		for (int b = 0; b < 8; b++)
			crc = (crc & 1) ? (crc >> 1) ^ 0xA001 : crc >> 1;
	}
	return (uint16_t)crc;
}

/* "##" + length + data + CRC + CR LF around data, into buf. */
static int
hj_wrap(char *buf, size_t len, const char *data, unsigned crc_xor)
{
	return snprintf(buf, len, "##%04zu%s%04X\r\n", strlen(data), data,
	    (unsigned)(uint16_t)(test_crc(data, strlen(data)) ^ crc_xor));
}

/* Copies the value of key in an HJ 212 data segment ("key=" after the
 * start or one of ;,&) into out; false if absent. */
static bool
hj_field(const char *data, const char *key, char *out, size_t len)
{
	size_t klen = strlen(key);

	for (const char *p = data; (p = strstr(p, key)) != NULL; p++) {
		size_t n;

		if ((p != data && strchr(";,&", p[-1]) == NULL) ||
		    p[klen] != '=')
			continue;
		p += klen + 1;
		n = strcspn(p, ";,&");
		snprintf(out, len, "%.*s", (int)n, p);
		return true;
	}
	return false;
}

static double
hj_value(const char *data, const char *key)
{
	char v[64];

	ck_assert_msg(
	    hj_field(data, key, v, sizeof(v)), "%s: no %s", data, key);
	return strtod(v, NULL);
}

static void
hj_srv_error(struct hj_srv *s, const char *what, const char *at)
{
	if (s->err[0] == '\0')
		snprintf(s->err, sizeof(s->err), "%s: %.120s", what, at);
}

/* The frames in c's bytes so far; call with mu held. */
static void
hj_srv_frames(struct hj_srv *s, int k)
{
	struct hj_conn *c = &s->c[k];
	char ack[HJ_DATA_MAX + 16], data[HJ_DATA_MAX], qn[32], mn[64], flag[8];
	unsigned dlen;
	size_t total;

	while (c->fd >= 0 && c->len - c->parsed >= (c->crlf ? 2 : 6)) {
		const char *f = c->bytes + c->parsed;
		char crc[16], head[8];

		if (c->crlf) {
			if (memcmp(f, "\r\n", 2) != 0)
				hj_srv_error(s, "no CR LF", f);
			c->parsed += 2;
			c->crlf = false;
			continue;
		}
		/* The bytes are not a string: the head is copied to be one. */
		memcpy(head, f, 6);
		head[6] = '\0';
		if (strncmp(head, "##", 2) != 0 ||
		    strspn(head + 2, "0123456789") != 4 ||
		    (dlen = (unsigned)atoi(head + 2)) >= HJ_DATA_MAX) {
			hj_srv_error(s, "bad framing", head);
			c->parsed = c->len;
			return;
		}
		/* Eager, a frame is taken at its CRC, the CR LF checked when
		 * it comes. */
		total = dlen + (s->eager ? 10 : 12);
		if (c->len - c->parsed < total)
			return;
		memcpy(data, f + 6, dlen);
		data[dlen] = '\0';
		snprintf(
		    crc, sizeof(crc), "%04X", (unsigned)test_crc(data, dlen));
		if (memcmp(f + 6 + dlen, crc, 4) != 0 ||
		    (!s->eager && memcmp(f + total - 2, "\r\n", 2) != 0))
			hj_srv_error(s, "bad CRC or end", data);
		c->parsed += total;
		c->crlf = s->eager;
		c->frames++;
		if (s->nrx % 64 == 0 &&
		    (s->rx = realloc(s->rx,
			 (size_t)(s->nrx + 64) * sizeof(*s->rx))) == NULL)
			abort();
		s->rx[s->nrx].conn = k;
		memcpy(s->rx[s->nrx++].data, data, dlen + 1);
		if (!hj_field(data, "MN", mn, sizeof(mn)) ||
		    !hj_field(data, "QN", qn, sizeof(qn)) ||
		    !hj_field(data, "Flag", flag, sizeof(flag))) {
			hj_srv_error(s, "no MN, QN or Flag", data);
			continue;
		}
		if (c->mn[0] == '\0')
			snprintf(c->mn, sizeof(c->mn), "%s", mn);
		else if (strcmp(c->mn, mn) != 0)
			hj_srv_error(s, "MN changed on a connection", data);
		if (s->close_first && !s->closed && k == 0) {
			s->closed = true;
			close(c->fd);
			c->fd = -1;
			return;
		}
		if (strcmp(flag, "5") != 0 || s->ans == ANS_NONE)
			continue;
		snprintf(data, sizeof(data),
		    "QN=%s;ST=91;CN=9014;PW=123456;MN=%s;Flag=4;CP=&&&&", qn,
		    mn);
		hj_wrap(ack, sizeof(ack), data,
		    s->ans == ANS_BAD_ODD && c->frames % 2 == 0 ? 1 : 0);
		if (write(c->fd, ack, strlen(ack)) != (ssize_t)strlen(ack))
			hj_srv_error(s, "short write", ack);
	}
}

static void *
hj_srv_main(void *arg)
{
	struct hj_srv *s = arg;
	struct pollfd pf[HJ_CONN_MAX + 1];
	char buf[65536];
	bool stop = false;

	while (!stop) {
		int n = 0;

		pthread_mutex_lock(&s->mu);
		stop = s->stop;
		pf[n].fd = s->nc < HJ_CONN_MAX ? s->lfd : -1;
		pf[n++].events = POLLIN;
		for (int k = 0; k < s->nc; k++) {
			pf[n].fd = s->c[k].fd;
			pf[n++].events = POLLIN;
		}
		pthread_mutex_unlock(&s->mu);
		if (poll(pf, (nfds_t)n, 10) <= 0)
			continue;
		pthread_mutex_lock(&s->mu);
		if (pf[0].revents & POLLIN) {
			int fd = accept(s->lfd, NULL, NULL);

			if (fd >= 0) {
				memset(&s->c[s->nc], 0, sizeof(s->c[0]));
				s->c[s->nc++].fd = fd;
			}
		}
		for (int k = 0; k + 1 < n; k++) {
			struct hj_conn *c = &s->c[k];
			ssize_t got;

			if (pf[k + 1].revents == 0 || c->fd < 0)
				continue;
			got = read(c->fd, buf, sizeof(buf));
			if (got <= 0) {
				close(c->fd);
				c->fd = -1;
				continue;
			}
			if (c->len + (size_t)got > c->cap) {
				c->cap = (c->len + (size_t)got) * 2;
				if ((c->bytes = realloc(c->bytes, c->cap)) ==
				    NULL)
					abort();
			}
			memcpy(c->bytes + c->len, buf, (size_t)got);
			c->len += (size_t)got;
			c->reads++;
			hj_srv_frames(s, k);
		}
		pthread_mutex_unlock(&s->mu);
	}
	return NULL;
}

static void
hj_srv_start(struct hj_srv *s, enum hj_answer ans)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	memset(s, 0, sizeof(*s));
	s->ans = ans;
	pthread_mutex_init(&s->mu, NULL);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(s->lfd = socket(AF_INET, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(s->lfd, 64), 0);
	ck_assert_int_eq(getsockname(s->lfd, (struct sockaddr *)&a, &len), 0);
	s->port = ntohs(a.sin_port);
	ck_assert_int_eq(pthread_create(&s->th, NULL, hj_srv_main, s), 0);
}

/* Waits until n frames have arrived. */
static bool
hj_srv_wait(struct hj_srv *s, int n)
{
	int got = 0;

	for (int k = 0; k < timeout_ms() / 10 && got < n; k++) {
		pthread_mutex_lock(&s->mu);
		got = s->nrx;
		pthread_mutex_unlock(&s->mu);
		if (got < n)
			sleep_ms(10);
	}
	return got >= n;
}

static void
hj_srv_stop(struct hj_srv *s)
{
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->th, NULL);
	close(s->lfd);
	for (int k = 0; k < s->nc; k++) {
		if (s->c[k].fd >= 0)
			close(s->c[k].fd);
		free(s->c[k].bytes);
	}
	free(s->rx);
	pthread_mutex_destroy(&s->mu);
}

/* Runs aqgrid-sim hj212 --port (the listener's) and args. */
static void
run_hj(struct run *r, const struct hj_srv *s, const char *const *args)
{
	const char *argv[ARGS_MAX];
	char port[16];
	int n = 0;

	snprintf(port, sizeof(port), "%d", s->port);
	argv[n++] = "hj212";
	argv[n++] = "--port";
	argv[n++] = port;
	for (int k = 0; args[k] != NULL && n < ARGS_MAX - 1; k++)
		argv[n++] = args[k];
	argv[n] = NULL;
	run_sim(r, argv);
}

/* The MN of logger k (from 1) with the default prefix. */
static void
hj_mn(int k, char *buf, size_t len)
{
	snprintf(buf, len, "010000A8900016%010d", k);
}

/* Checks one real-time or hourly frame of ours. */
static void
hj_check_frame(const char *data, int cn, int flag)
{
	const char *kind = cn == 2061 ? "Avg" : "Rtd";
	char v[64], key[32];
	double pm25, pm10, co;

	ck_assert_msg(strncmp(data, "QN=", 3) == 0 &&
		strspn(data + 3, "0123456789") == 17 && data[20] == ';',
	    "%s", data);
	ck_assert(hj_field(data, "ST", v, sizeof(v)) && strcmp(v, "22") == 0);
	ck_assert(hj_field(data, "CN", v, sizeof(v)) && atoi(v) == cn);
	ck_assert(hj_field(data, "PW", v, sizeof(v)) && !strcmp(v, "123456"));
	ck_assert(hj_field(data, "Flag", v, sizeof(v)) && atoi(v) == flag);
	ck_assert_ptr_nonnull(strstr(data, ";CP=&&DataTime="));
	ck_assert_msg(strcmp(data + strlen(data) - 2, "&&") == 0, "%s", data);
	ck_assert(hj_field(data, "DataTime", v, sizeof(v)) && strlen(v) == 14 &&
	    strspn(v, "0123456789") == 14);
	for (size_t k = 0; k < sizeof(hj_codes) / sizeof(hj_codes[0]); k++) {
		snprintf(key, sizeof(key), "%s-Flag", hj_codes[k]);
		ck_assert(hj_field(data, key, v, sizeof(v)) && !strcmp(v, "N"));
		snprintf(key, sizeof(key), "%s-%s", hj_codes[k], kind);
		ck_assert_msg(hj_value(data, key) > 0, "%s: %s", data, key);
	}
	snprintf(key, sizeof(key), "a34004-%s", kind);
	pm25 = hj_value(data, key);
	snprintf(key, sizeof(key), "a34002-%s", kind);
	pm10 = hj_value(data, key);
	snprintf(key, sizeof(key), "a21005-%s", kind);
	co = hj_value(data, key);
	ck_assert_msg(pm25 < 1000 && pm10 >= pm25 && pm10 < 2000, "%s", data);
	ck_assert_msg(co < 20, "%s", data);
}

/* Frames of logger k in order of arrival. */
static int
hj_frames_of(const struct hj_srv *s, int k, const char **out, int max)
{
	char mn[64], v[64];
	int n = 0;

	hj_mn(k, mn, sizeof(mn));
	for (int i = 0; i < s->nrx; i++)
		if (hj_field(s->rx[i].data, "MN", v, sizeof(v)) &&
		    strcmp(v, mn) == 0 && n < max)
			out[n++] = s->rx[i].data;
	return n;
}

/* Real-time data of 3 loggers as fast as answered: --count splits the
 * frames among them; one MN per connection; DataTime steps a second. */
START_TEST(hj212_frames)
{
	static const char *const args[] = {"--loggers", "3", "--count", "14",
	    "--rate", "0", "--start", "2026-11-29T14:00:00+08:00", NULL};
	struct hj_srv s;
	struct run r;
	const char *f[16];
	char want[32], v[64];

	hj_srv_start(&s, ANS_ACK);
	run_hj(&r, &s, args);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	ck_assert_str_eq(r.out, "");
	ck_assert_str_eq(
	    r.err, "aqgrid-sim: sent 14 frames (14 acknowledged)\n");
	ck_assert(hj_srv_wait(&s, 14));
	pthread_mutex_lock(&s.mu);
	ck_assert_msg(s.err[0] == '\0', "%s", s.err);
	ck_assert_int_eq(s.nc, 3);
	ck_assert_int_eq(s.nrx, 14);
	for (int k = 1; k <= 3; k++) {
		int n = hj_frames_of(&s, k, f, 16);

		ck_assert_int_eq(n, k < 3 ? 5 : 4);
		for (int i = 0; i < n; i++) {
			hj_check_frame(f[i], 2011, 5);
			snprintf(want, sizeof(want), "2026112914000%d", i);
			ck_assert(hj_field(f[i], "DataTime", v, sizeof(v)));
			ck_assert_str_eq(v, want);
			snprintf(want, sizeof(want), "2026112914000%d000", i);
			ck_assert(hj_field(f[i], "QN", v, sizeof(v)));
			ck_assert_str_eq(v, want);
		}
	}
	for (int k = 0; k < s.nc; k++) {
		char mn[64];

		/* Connection k is one logger's, whichever. */
		ck_assert_int_eq(strncmp(s.c[k].mn, "010000A8900016", 14), 0);
		for (int q = 0; q < k; q++)
			ck_assert_str_ne(s.c[k].mn, s.c[q].mn);
		hj_mn(3, mn, sizeof(mn));
		ck_assert_int_eq(s.c[k].frames, strcmp(s.c[k].mn, mn) ? 5 : 4);
	}
	pthread_mutex_unlock(&s.mu);
	hj_srv_stop(&s);
}
END_TEST

/* --split sends the same bytes, in more reads than frames, and takes an
 * answer that comes before the frame's last piece. */
START_TEST(hj212_split)
{
	const char *args[] = {"--loggers", "2", "--count", "6", "--rate", "0",
	    "--start", "2026-11-29T14:00:00+08:00", NULL, NULL};
	struct hj_srv s, t;
	struct run r;

	hj_srv_start(&s, ANS_ACK);
	run_hj(&r, &s, args);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	args[8] = "--split";
	hj_srv_start(&t, ANS_ACK);
	t.eager = true;
	run_hj(&r, &t, args);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	ck_assert_str_eq(r.err, "aqgrid-sim: sent 6 frames (6 acknowledged)\n");
	ck_assert(hj_srv_wait(&s, 6) && hj_srv_wait(&t, 6));
	pthread_mutex_lock(&s.mu);
	pthread_mutex_lock(&t.mu);
	ck_assert_msg(
	    s.err[0] == '\0' && t.err[0] == '\0', "%s%s", s.err, t.err);
	ck_assert_int_eq(t.nc, 2);
	for (int k = 0; k < 2; k++) {
		const struct hj_conn *a = &t.c[k], *b = &s.c[0];

		if (strcmp(b->mn, a->mn) != 0)
			b = &s.c[1];
		ck_assert_str_eq(a->mn, b->mn);
		ck_assert_int_eq(a->len, b->len);
		ck_assert_int_eq(memcmp(a->bytes, b->bytes, a->len), 0);
		ck_assert_int_eq(a->frames, 3);
		ck_assert_msg(a->reads > a->frames, "%d reads", a->reads);
	}
	pthread_mutex_unlock(&t.mu);
	pthread_mutex_unlock(&s.mu);
	hj_srv_stop(&t);
	hj_srv_stop(&s);
}
END_TEST

/* --no-ack: Flag=4, and no answer awaited. */
START_TEST(hj212_no_ack)
{
	static const char *const args[] = {
	    "--loggers", "2", "--count", "6", "--rate", "0", "--no-ack", NULL};
	struct hj_srv s;
	struct run r;

	hj_srv_start(&s, ANS_NONE);
	run_hj(&r, &s, args);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	ck_assert_str_eq(r.err, "aqgrid-sim: sent 6 frames (0 acknowledged)\n");
	ck_assert(hj_srv_wait(&s, 6));
	pthread_mutex_lock(&s.mu);
	ck_assert_msg(s.err[0] == '\0', "%s", s.err);
	ck_assert_int_eq(s.nrx, 6);
	for (int i = 0; i < s.nrx; i++)
		hj_check_frame(s.rx[i].data, 2011, 4);
	pthread_mutex_unlock(&s.mu);
	hj_srv_stop(&s);
}
END_TEST

/* Answers with a bad CRC do not acknowledge; --ack-timeout gives up. */
START_TEST(hj212_bad_answers)
{
	static const char *const args[] = {"--loggers", "1", "--count", "4",
	    "--rate", "0", "--ack-timeout", "1", NULL};
	struct hj_srv s;
	struct run r;

	hj_srv_start(&s, ANS_BAD_ODD);
	run_hj(&r, &s, args);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	ck_assert_str_eq(r.err,
	    "aqgrid-sim: 2 answers refused (bad CRC, or no frame of their "
	    "QN)\n"
	    "aqgrid-sim: 2 frames not acknowledged\n"
	    "aqgrid-sim: sent 4 frames (2 acknowledged)\n");
	hj_srv_stop(&s);
}
END_TEST

/* Hourly back-fill first, then real-time data, --count frames in all. */
START_TEST(hj212_backfill)
{
	static const char *const backfill[] = {"--loggers", "2", "--backfill",
	    "3", "--no-live", "--start", "2026-11-29T10:20:00+08:00", NULL};
	static const char *const counted[] = {"--loggers", "2", "--backfill",
	    "1", "--count", "5", "--rate", "0", "--start",
	    "2026-11-29T10:20:00+08:00", NULL};
	struct hj_srv s;
	struct run r;
	const char *f[8];
	char want[32], v[64];

	hj_srv_start(&s, ANS_ACK);
	run_hj(&r, &s, backfill);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	ck_assert_str_eq(r.err, "aqgrid-sim: sent 6 frames (6 acknowledged)\n");
	ck_assert(hj_srv_wait(&s, 6));
	pthread_mutex_lock(&s.mu);
	ck_assert_msg(s.err[0] == '\0', "%s", s.err);
	for (int k = 1; k <= 2; k++) {
		ck_assert_int_eq(hj_frames_of(&s, k, f, 8), 3);
		for (int i = 0; i < 3; i++) {
			hj_check_frame(f[i], 2061, 5);
			snprintf(want, sizeof(want), "202611291%d0000", i);
			ck_assert(hj_field(f[i], "DataTime", v, sizeof(v)));
			ck_assert_str_eq(v, want);
		}
	}
	pthread_mutex_unlock(&s.mu);
	hj_srv_stop(&s);

	hj_srv_start(&s, ANS_ACK);
	run_hj(&r, &s, counted);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	ck_assert_str_eq(r.err, "aqgrid-sim: sent 5 frames (5 acknowledged)\n");
	ck_assert(hj_srv_wait(&s, 5));
	pthread_mutex_lock(&s.mu);
	ck_assert_int_eq(hj_frames_of(&s, 1, f, 8), 3);
	hj_check_frame(f[0], 2061, 5);
	hj_check_frame(f[1], 2011, 5);
	hj_check_frame(f[2], 2011, 5);
	/* Live data begin where the back-fill ends. */
	ck_assert(hj_field(f[1], "DataTime", v, sizeof(v)));
	ck_assert_str_eq(v, "20261129112000");
	ck_assert_int_eq(hj_frames_of(&s, 2, f, 8), 2);
	hj_check_frame(f[0], 2061, 5);
	hj_check_frame(f[1], 2011, 5);
	pthread_mutex_unlock(&s.mu);
	hj_srv_stop(&s);
}
END_TEST

/* --rate paces the frames: 10 at 20 a second take 0.45 s at least. */
START_TEST(hj212_rate)
{
	static const char *const args[] = {
	    "--loggers", "2", "--count", "10", "--rate", "20", NULL};
	struct hj_srv s;
	struct run r;
	struct timespec t0, t1;
	double dt;

	hj_srv_start(&s, ANS_ACK);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	run_hj(&r, &s, args);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	ck_assert_str_eq(
	    r.err, "aqgrid-sim: sent 10 frames (10 acknowledged)\n");
	dt = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	ck_assert_msg(dt >= 0.45, "%.3f s", dt);
	hj_srv_stop(&s);
}
END_TEST

/* The listener drops a connection: the logger reconnects and sends its
 * unanswered frames again, with their QN. */
START_TEST(hj212_reconnects)
{
	static const char *const args[] = {
	    "--loggers", "2", "--count", "6", "--rate", "0", NULL};
	struct hj_srv s;
	struct run r;
	const char *f[8];

	hj_srv_start(&s, ANS_ACK);
	s.close_first = true;
	run_hj(&r, &s, args);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	ck_assert_ptr_nonnull(strstr(r.err, "connection lost"));
	ck_assert_ptr_nonnull(strstr(r.err, "connected again"));
	ck_assert_ptr_nonnull(
	    strstr(r.err, "aqgrid-sim: sent 6 frames (6 acknowledged)\n"));
	pthread_mutex_lock(&s.mu);
	ck_assert_msg(s.err[0] == '\0', "%s", s.err);
	ck_assert_int_eq(s.nc, 3);
	ck_assert_str_eq(s.c[2].mn, s.c[0].mn);
	ck_assert_int_eq(s.c[2].frames, 3);
	/* The first frame came twice, the same. */
	ck_assert_int_eq(hj_frames_of(&s, atoi(s.c[0].mn + 14), f, 8), 4);
	ck_assert_str_eq(f[0], f[1]);
	pthread_mutex_unlock(&s.mu);
	hj_srv_stop(&s);
}
END_TEST

/* No listener: exit 1 and one line. */
START_TEST(hj212_refused)
{
	const char *args[] = {"hj212", "--port", NULL, NULL};
	char port[16];
	struct run r;

	snprintf(port, sizeof(port), "%d", free_port());
	args[2] = port;
	run_sim(&r, args);
	ck_assert_msg(r.status == 1, "exit %d: %s", r.status, r.err);
	ck_assert_str_eq(r.out, "");
	ck_assert_msg(count_lines(r.err) == 1 &&
		strstr(r.err, "cannot connect to 127.0.0.1:") != NULL,
	    "%s", r.err);
}
END_TEST

/* --mqtt: the same frames, one a message on PREFIX/MN. */
START_TEST(hj212_mqtt)
{
	static const char *const args[] = {"-t", "aq/sim/hj", "hj212", "--mqtt",
	    "--loggers", "2", "--count", "4", "--rate", "0", NULL};
	struct sub s;
	struct run r;

	sub_start(&s, NULL, true);
	run_sim(&r, args);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	ck_assert_str_eq(r.out, "");
	ck_assert_str_eq(r.err, "aqgrid-sim: sent 4 frames (4 acknowledged)\n");
	sub_sync(&s);
	ck_assert_int_eq(s.n, 4);
	for (int k = 0; k < s.n; k++) {
		const char *f = s.m[k].payload;
		char mn[64], topic[128], crc[16];
		unsigned dlen;

		ck_assert_int_eq(sscanf(f, "##%4u", &dlen), 1);
		ck_assert_int_eq(strlen(f), dlen + 12);
		snprintf(
		    crc, sizeof(crc), "%04X", (unsigned)test_crc(f + 6, dlen));
		ck_assert_int_eq(memcmp(f + 6 + dlen, crc, 4), 0);
		ck_assert_str_eq(f + 10 + dlen, "\r\n");
		hj_mn(k % 2 + 1, mn, sizeof(mn));
		snprintf(topic, sizeof(topic), "aq/sim/hj/%s", mn);
		ck_assert_str_eq(s.m[k].topic, topic);
		ck_assert_ptr_nonnull(strstr(f, mn));
	}
	sub_stop(&s);
}
END_TEST

static Suite *
sim_suite(void)
{
	Suite *s = suite_create("aqgrid-sim");
	TCase *tc = tcase_create("broker");
	TCase *re = tcase_create("restart");
	TCase *hj = tcase_create("hj212");
	int t = timeout_ms() / 1000 * 2;

	tcase_add_unchecked_fixture(tc, broker_up, broker_down);
	tcase_set_timeout(tc, t);
	tcase_add_test(tc, replay_excerpt);
	tcase_add_test(tc, replay_options);
	tcase_add_test(tc, synth_backfill);
	tcase_add_test(tc, synth_seeded_faults);
	tcase_add_test(tc, synth_sources);
	tcase_add_test(tc, count_stops);
	tcase_add_test(tc, sigterm_stops);
	tcase_add_loop_test(
	    tc, usage_errors, 0, sizeof(bad_usage) / sizeof(bad_usage[0]));
	tcase_add_test(tc, run_errors);
	tcase_add_test(tc, help);
	suite_add_tcase(s, tc);

	tcase_add_unchecked_fixture(re, broker_up_persist, broker_down);
	tcase_set_timeout(re, t);
	tcase_add_test(re, reconnects);
	suite_add_tcase(s, re);

	tcase_add_unchecked_fixture(hj, broker_up, broker_down);
	tcase_set_timeout(hj, t);
	tcase_add_test(hj, hj212_frames);
	tcase_add_test(hj, hj212_split);
	tcase_add_test(hj, hj212_no_ack);
	tcase_add_test(hj, hj212_bad_answers);
	tcase_add_test(hj, hj212_backfill);
	tcase_add_test(hj, hj212_rate);
	tcase_add_test(hj, hj212_reconnects);
	tcase_add_test(hj, hj212_refused);
	tcase_add_test(hj, hj212_mqtt);
	suite_add_tcase(s, hj);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(sim_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
