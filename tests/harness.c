/* harness: helpers of the integration tests (see harness.h). */

/* mkdtemp is not in POSIX 2008's base; glibc's default set has it. */
#define _DEFAULT_SOURCE
#include "tests/harness.h"

#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct buf {
	char *p;
	size_t len;
};

static char tmpdir[256];
/* Everything spawned, so that a failed test leaves no broker behind. */
static pid_t spawned[64];
static int nspawned;

static void cleanup(void);
static void forget(pid_t pid);
static size_t on_body(void *data, size_t size, size_t n, void *arg);
static void on_publish(struct mosquitto *m, void *obj, int mid);

static void
cleanup(void)
{
	char cmd[300];

	for (int k = 0; k < nspawned; k++)
		if (spawned[k] > 0 && kill(spawned[k], SIGKILL) == 0)
			waitpid(spawned[k], NULL, 0);

	if (tmpdir[0] != '\0' && getenv("AQ_KEEP_TMP") == NULL) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "harness: cannot remove %s\n", tmpdir);
	}
}

static void
forget(pid_t pid)
{
	for (int k = 0; k < nspawned; k++)
		if (spawned[k] == pid)
			spawned[k] = 0;
}

const char *
h_tmpdir(void)
{
	if (tmpdir[0] == '\0') {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/aqgrid-test.XXXXXX");
		ck_assert_ptr_nonnull(mkdtemp(tmpdir));
		atexit(cleanup);
	}
	return tmpdir;
}

long long
h_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
h_sleep_ms(int ms)
{
	struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&t, NULL);
}

int
h_free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	ck_assert_int_ge(fd, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	ck_assert_int_ne(port, 1883);
	return port;
}

void
h_spawn(struct h_proc *p, const char *const argv[], const char *log, bool wrap)
{
	h_spawn_env(p, argv, log, wrap, NULL);
}

void
h_spawn_env(struct h_proc *p, const char *const argv[], const char *log,
    bool wrap, const char *const env[])
{
	const char *w = wrap ? getenv("AQ_WRAP") : NULL;
	char *words[64], *copy = NULL;
	int n = 0, fd;

	snprintf(p->log, sizeof(p->log), "%s/%s", h_tmpdir(), log);
	if (w != NULL && *w != '\0') {
		char *save = NULL;

		copy = strdup(w);
		for (char *t = strtok_r(copy, " ", &save); t != NULL && n < 32;
		     t = strtok_r(NULL, " ", &save))
			words[n++] = t;
	}
	for (int k = 0; argv[k] != NULL && n < 63; k++)
		words[n++] = (char *)(uintptr_t)argv[k];
	words[n] = NULL;
	/* A fresh log, emptied before the child runs: h_log_wait() must never
	 * find a line an earlier process wrote under the same name. */
	if ((fd = open(p->log, O_WRONLY | O_CREAT | O_TRUNC, 0644)) >= 0)
		close(fd);
	p->pid = fork();
	ck_assert_int_ge(p->pid, 0);
	if (p->pid == 0) {
		fd = open(p->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		for (int k = 0; env != NULL && env[k] != NULL; k++)
			putenv((char *)(uintptr_t)env[k]);
		execvp(words[0], words);
		_exit(127);
	}
	free(copy);
	if (nspawned < (int)(sizeof(spawned) / sizeof(spawned[0])))
		spawned[nspawned++] = p->pid;
	(void)h_tmpdir(); /* registers cleanup() in this process */
}

bool
h_alive(const struct h_proc *p)
{
	return p->pid > 0 && waitpid(p->pid, NULL, WNOHANG) == 0;
}

int
h_stop(struct h_proc *p, int sig, int secs)
{
	int status = 0;
	long long until = h_ms() + secs * 1000LL;

	if (p->pid <= 0)
		return -1;
	kill(p->pid, sig);
	while (h_ms() < until) {
		pid_t r = waitpid(p->pid, &status, WNOHANG);

		if (r == p->pid) {
			forget(p->pid);
			p->pid = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status)
						 : 128 + WTERMSIG(status);
		}
		h_sleep_ms(20);
	}
	kill(p->pid, SIGKILL);
	waitpid(p->pid, &status, 0);
	forget(p->pid);
	p->pid = 0;
	return -1;
}

const char *
h_log_wait(const struct h_proc *p, const char *text, int secs)
{
	static char line[1024];
	long long until = h_ms() + secs * 1000LL;

	do {
		FILE *f = fopen(p->log, "r");

		if (f != NULL) {
			while (fgets(line, sizeof(line), f) != NULL) {
				if (strstr(line, text) != NULL) {
					fclose(f);
					return line;
				}
			}
			fclose(f);
		}
		h_sleep_ms(50);
	} while (h_ms() < until);
	return NULL;
}

void
h_broker_start(struct h_proc *p, int *port)
{
	h_broker_start_with(p, port, NULL);
}

void
h_broker_start_with(struct h_proc *p, int *port, const char *extra)
{
	for (int attempt = 0; attempt < 5; attempt++) {
		char conf[600], log[64];
		FILE *f;
		struct mosquitto *m;
		const char *argv[] = {"mosquitto", "-c", conf, NULL};
		long long until;

		if (*port == 0 || attempt > 0)
			*port = h_free_port();
		snprintf(conf, sizeof(conf), "%s/mosquitto-%d.conf", h_tmpdir(),
		    *port);
		snprintf(log, sizeof(log), "mosquitto-%d.log", *port);
		ck_assert_ptr_nonnull(f = fopen(conf, "w"));
		fprintf(f,
		    "listener %d 127.0.0.1\nallow_anonymous true\n"
		    "persistence false\nmax_queued_messages 1000000\n%s",
		    *port, extra != NULL ? extra : "");
		fclose(f);
		h_spawn(p, argv, log, false);
		/* Poll-connect until it accepts, up to 5 s. */
		mosquitto_lib_init();
		m = mosquitto_new(NULL, true, NULL);
		until = h_ms() + 5000;
		while (h_ms() < until && h_alive(p)) {
			if (mosquitto_connect(m, "127.0.0.1", *port, 10) ==
			    MOSQ_ERR_SUCCESS) {
				mosquitto_disconnect(m);
				mosquitto_destroy(m);
				return;
			}
			h_sleep_ms(100);
		}
		mosquitto_destroy(m);
		h_stop(p, SIGKILL, 1);
	}
	ck_abort_msg("cannot start mosquitto");
}

static void
on_publish(struct mosquitto *m, void *obj, int mid)
{
	(void)m;
	(void)mid;
	(*(int *)obj)++;
}

struct mosquitto *
h_mqtt(int port, const char *id)
{
	static int acked;
	struct mosquitto *m;

	mosquitto_lib_init();
	m = mosquitto_new(id, true, &acked);
	ck_assert_ptr_nonnull(m);
	mosquitto_publish_callback_set(m, on_publish);
	ck_assert_int_eq(
	    mosquitto_connect(m, "127.0.0.1", port, 30), MOSQ_ERR_SUCCESS);
	return m;
}

void
h_publish(struct mosquitto *m, const char *topic, const void *payload,
    size_t len, int qos)
{
	int *acked = mosquitto_userdata(m);
	int before = *acked;
	long long until = h_ms() + 5000;

	ck_assert_int_eq(
	    mosquitto_publish(m, NULL, topic, (int)len, payload, qos, false),
	    MOSQ_ERR_SUCCESS);
	/* QoS 0 is "sent" once written; QoS 1 once the broker acknowledged. */
	do {
		ck_assert_int_eq(mosquitto_loop(m, 10, 1), MOSQ_ERR_SUCCESS);
	} while (*acked == before && h_ms() < until);
	ck_assert_msg(*acked != before, "no acknowledgement for %s", topic);
}

void
h_mqtt_close(struct mosquitto *m)
{
	mosquitto_disconnect(m);
	(void)mosquitto_loop(m, 10, 1);
	mosquitto_destroy(m);
}

static size_t
on_body(void *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	char *grown = realloc(b->p, b->len + size * n + 1);

	if (grown == NULL)
		return 0;
	b->p = grown;
	memcpy(b->p + b->len, data, size * n);
	b->len += size * n;
	b->p[b->len] = '\0';
	return size * n;
}

char *
h_get(const char *url, long *code)
{
	CURL *c = curl_easy_init();
	struct buf b = {NULL, 0};
	CURLcode rc;

	ck_assert_ptr_nonnull(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, code);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		free(b.p);
		return NULL;
	}
	if (b.p == NULL)
		b.p = calloc(1, 1);
	return b.p;
}

json_t *
h_request(const struct h_daemon *d, const char *method, const char *path,
    const char *token, const char *body, long *code)
{
	char url[256], auth[256];
	struct buf b = {NULL, 0};
	struct curl_slist *hs = NULL;
	CURL *c = curl_easy_init();
	json_t *j;

	ck_assert_ptr_nonnull(c);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", d->http, path);
	hs = curl_slist_append(hs, "Content-Type: application/json");
	if (token != NULL) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		hs = curl_slist_append(hs, auth);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
	if (body != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, code);
	curl_slist_free_all(hs);
	curl_easy_cleanup(c);
	j = b.p != NULL ? json_loads(b.p, 0, NULL) : NULL;
	free(b.p);
	return j;
}

int
h_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	signal(SIGPIPE, SIG_IGN);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

const char *
h_bin(const char *env, const char *dflt)
{
	const char *b = getenv(env);

	return b != NULL && *b != '\0' ? b : dflt;
}

void
h_daemon_start(struct h_daemon *d, const char *log)
{
	h_daemon_start_env(d, log, NULL);
}

void
h_daemon_start_env(struct h_daemon *d, const char *log, const char *const env[])
{
	static const char key[] = "http://127.0.0.1:";
	const char *argv[] = {
	    h_bin("AQGRIDD", "build/aqgridd"), "-f", "-c", d->conf, NULL};
	const char *line;

	h_spawn_env(&d->proc, argv, log, true, env);
	line = h_log_wait(&d->proc, key, 30);
	ck_assert_msg(
	    line != NULL, "aqgridd did not start (see %s)", d->proc.log);
	d->http = atoi(strstr(line, key) + sizeof(key) - 1);
	ck_assert_int_gt(d->http, 0);
	ck_assert_msg(h_status_wait(d, "mqtt.connected", 1, 30),
	    "aqgridd did not subscribe at the broker (see %s)", d->proc.log);
}

double
h_num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	ck_assert_msg(json_is_number(v), "%s is not a number", key);
	return json_number_value(v);
}

json_t *
h_json(const struct h_daemon *d, const char *path, long *code)
{
	char url[512];
	char *body;
	json_t *j;
	json_error_t e;
	long status;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", d->http, path);
	body = h_get(url, &status);
	ck_assert_msg(body != NULL, "GET %s failed", url);
	j = json_loads(body, 0, &e);
	ck_assert_msg(j != NULL, "GET %s: not JSON: %s", url, body);
	free(body);
	if (code != NULL)
		*code = status;
	return j;
}

long long
h_status(const struct h_daemon *d, const char *path)
{
	json_t *s = h_json(d, "/api/v1/status", NULL), *v = s;
	char key[64];
	const char *p = path;
	long long n;

	while (v != NULL && *p != '\0') {
		size_t k = strcspn(p, ".");

		ck_assert_uint_lt(k, sizeof(key));
		memcpy(key, p, k);
		key[k] = '\0';
		v = json_object_get(v, key);
		p += k + (p[k] == '.');
	}
	n = json_is_boolean(v) ? json_is_true(v) : json_integer_value(v);
	json_decref(s);
	return n;
}

bool
h_status_wait(
    const struct h_daemon *d, const char *path, long long want, int secs)
{
	long long until = h_ms() + secs * 1000LL;

	do {
		if (h_status(d, path) >= want)
			return true;
		h_sleep_ms(50);
	} while (h_ms() < until);
	return false;
}

void
h_publishf(struct mosquitto *m, const char *topic, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ck_assert_int_lt(n, (int)sizeof(buf));
	h_publish(m, topic, buf, (size_t)n, 1);
}

int64_t
h_hour_start(int back)
{
	return ((int64_t)time(NULL) / 3600 - back) * 3600;
}

#define SINK_SCRIPT_MAX 16

struct upload {
	char *p;
	size_t len;
};

static struct {
	struct MHD_Daemon *d;
	pthread_mutex_t mu;
	struct h_hook reqs[H_SINK_MAX];
	int n;
	int script[SINK_SCRIPT_MAX];
	char retry_after[SINK_SCRIPT_MAX][64];
	int nscript, pos;
} sink = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void
sink_done(void *cls, struct MHD_Connection *c, void **con_cls,
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

/* Keeps the request in r (the sink locked). */
static void
sink_keep(struct h_hook *r, struct MHD_Connection *c, const char *url,
    const struct upload *u)
{
	const char *v;

	memset(r, 0, sizeof(*r));
	snprintf(r->path, sizeof(r->path), "%s", url);
#define GETV(kind, name, dst)                                                  \
	if ((v = MHD_lookup_connection_value(c, kind, name)) != NULL)          \
	snprintf(dst, sizeof(dst), "%s", v)
	GETV(MHD_GET_ARGUMENT_KIND, "timestamp", r->q_timestamp);
	GETV(MHD_GET_ARGUMENT_KIND, "sign", r->q_sign);
	GETV(MHD_GET_ARGUMENT_KIND, "access_token", r->q_token);
	GETV(MHD_HEADER_KIND, "Idempotency-Key", r->idem);
	GETV(MHD_HEADER_KIND, "Content-Type", r->ctype);
	GETV(MHD_HEADER_KIND, "X-Aqgrid-Signature", r->sig);
	GETV(MHD_HEADER_KIND, "X-Aqgrid-Timestamp", r->sigts);
#undef GETV
	r->text = strdup(u->p != NULL ? u->p : "");
	r->body = u->p != NULL ? json_loads(u->p, 0, NULL) : NULL;
}

static enum MHD_Result
sink_req(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *data, size_t *size,
    void **con_cls)
{
	struct upload *u = *con_cls;
	struct MHD_Response *resp;
	const char *v;
	int status = 200;
	char ra[64] = "";
	enum MHD_Result ret;

	(void)cls;
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
	pthread_mutex_lock(&sink.mu);
	if (sink.n < H_SINK_MAX) {
		sink_keep(&sink.reqs[sink.n], c, url, u);
		sink.n++;
	}
	if (sink.pos < sink.nscript) {
		status = sink.script[sink.pos];
		snprintf(ra, sizeof(ra), "%s", sink.retry_after[sink.pos]);
		sink.pos++;
	} else if (strncmp(url, "/s500", 5) == 0)
		status = 500;
	else if (strncmp(url, "/s400", 5) == 0)
		status = 400;
	pthread_mutex_unlock(&sink.mu);
	v = strncmp(url, "/refuse", 7) == 0
	    ? "{\"errcode\":130101,\"errmsg\":\"send too fast\"}"
	    : "{\"errcode\":0,\"errmsg\":\"ok\",\"code\":0}";
	resp = MHD_create_response_from_buffer(
	    strlen(v), (void *)(uintptr_t)v, MHD_RESPMEM_PERSISTENT);
	if (ra[0] != '\0')
		MHD_add_response_header(resp, "Retry-After", ra);
	ret = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

int
h_sink_start(int port)
{
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_ptr_null(sink.d);
	sink.d = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG,
	    0, NULL, NULL, sink_req, NULL, MHD_OPTION_SOCK_ADDR,
	    (struct sockaddr *)&sa, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
	    MHD_OPTION_NOTIFY_COMPLETED, sink_done, NULL, MHD_OPTION_END);
	ck_assert_msg(sink.d != NULL, "cannot listen on port %d", port);
	return MHD_get_daemon_info(sink.d, MHD_DAEMON_INFO_BIND_PORT)->port;
}

void
h_sink_stop(void)
{
	if (sink.d != NULL)
		MHD_stop_daemon(sink.d);
	sink.d = NULL;
}

void
h_sink_clear(void)
{
	pthread_mutex_lock(&sink.mu);
	for (int k = 0; k < sink.n; k++) {
		free(sink.reqs[k].text);
		json_decref(sink.reqs[k].body);
	}
	sink.n = sink.nscript = sink.pos = 0;
	pthread_mutex_unlock(&sink.mu);
}

void
h_sink_script(int status, const char *retry_after)
{
	pthread_mutex_lock(&sink.mu);
	ck_assert_int_lt(sink.nscript, SINK_SCRIPT_MAX);
	sink.script[sink.nscript] = status;
	snprintf(sink.retry_after[sink.nscript], 64, "%s",
	    retry_after != NULL ? retry_after : "");
	sink.nscript++;
	pthread_mutex_unlock(&sink.mu);
}

int
h_sink_count(void)
{
	int n;

	pthread_mutex_lock(&sink.mu);
	n = sink.n;
	pthread_mutex_unlock(&sink.mu);
	return n;
}

bool
h_sink_wait(int n, int secs)
{
	long long end = h_ms() + secs * 1000LL;

	while (h_sink_count() < n && h_ms() < end)
		h_sleep_ms(10);
	return h_sink_count() >= n;
}

/* A request once kept is not written again until h_sink_clear(). */
const struct h_hook *
h_sink_get(int i)
{
	return i >= 0 && i < h_sink_count() ? &sink.reqs[i] : NULL;
}

const struct h_hook *
h_sink_find(const char *prefix, int nth)
{
	int n = h_sink_count();

	for (int k = 0; k < n; k++)
		if (strncmp(sink.reqs[k].path, prefix, strlen(prefix)) == 0 &&
		    nth-- == 0)
			return &sink.reqs[k];
	return NULL;
}
