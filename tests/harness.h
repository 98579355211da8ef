/*
 * harness: what the integration tests share -- free loopback ports, a
 * private mosquitto broker, spawned programs with their logs, a temporary
 * folder, MQTT publishing that waits for the broker's acknowledgement, and
 * HTTP GETs over loopback.  Failures are reported with ck_abort_msg, so
 * call these from inside a test.
 */
#ifndef AQ_TESTS_HARNESS_H
#define AQ_TESTS_HARNESS_H

#include <check.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mosquitto;

struct h_proc {
	pid_t pid;
	char log[512];
};

/* A fresh folder under /tmp, made once per process; removed at exit. */
const char *h_tmpdir(void);
/* A port free on 127.0.0.1 right now (bind to 0, read it, close). */
int h_free_port(void);

/* Starts argv[0] with stdout and stderr to log (in h_tmpdir()); $AQ_WRAP
 * (e.g. "valgrind -q --error-exitcode=1") is put in front of it. */
void h_spawn(
    struct h_proc *p, const char *const argv[], const char *log, bool wrap);
/* The same with env ("NAME=value" strings, NULL-terminated; may be NULL)
 * added to the child's environment. */
void h_spawn_env(struct h_proc *p, const char *const argv[], const char *log,
    bool wrap, const char *const env[]);
/* Sends sig and waits up to secs for the exit; returns the exit status,
 * or -1 if it had to be killed. */
int h_stop(struct h_proc *p, int sig, int secs);
bool h_alive(const struct h_proc *p);
/* Waits up to secs for text to appear in the process's log; returns the
 * line holding it (static buffer) or NULL. */
const char *h_log_wait(const struct h_proc *p, const char *text, int secs);

/* A private mosquitto on a free loopback port (port 0) or the given one. */
void h_broker_start(struct h_proc *p, int *port);
/* The same with lines appended to its configuration (may be NULL), which
 * override the defaults ("persistence true\n..."). */
void h_broker_start_with(struct h_proc *p, int *port, const char *extra);

/* Connects a publisher (QoS 1 acknowledged) to the broker on port. */
struct mosquitto *h_mqtt(int port, const char *id);
/* Publishes and, for QoS 1, waits for the PUBACK. */
void h_publish(struct mosquitto *m, const char *topic, const void *payload,
    size_t len, int qos);
void h_mqtt_close(struct mosquitto *m);

/* GET url; returns the body (owned) and the status in *code, or NULL if
 * the connection failed. */
char *h_get(const char *url, long *code);

/* A running aqgridd: its process, configuration file and HTTP port. */
struct h_daemon {
	struct h_proc proc;
	char conf[512];
	int http;
	int hj212; /* the HJ 212 listener's port, for tests that read it */
};

/* An API request to the daemon with a bearer token and a JSON body (both
 * may be NULL); the answer as JSON (owned; NULL if it is not) and its
 * status in *code. */
json_t *h_request(const struct h_daemon *d, const char *method,
    const char *path, const char *token, const char *body, long *code);

/* getenv(env), or dflt: where the built programs are. */
const char *h_bin(const char *env, const char *dflt);
/* Starts $AQGRIDD -f -c d->conf (wrapped in $AQ_WRAP), reads its HTTP port
 * from its log and waits until it has subscribed at the broker. */
void h_daemon_start(struct h_daemon *d, const char *log);
/* The same with env added to the daemon's environment (h_spawn_env). */
void h_daemon_start_env(
    struct h_daemon *d, const char *log, const char *const env[]);
/* GET path from the daemon as JSON (owned); the status in *code if not
 * NULL. */
json_t *h_json(const struct h_daemon *d, const char *path, long *code);
/* The number under key of object o; fails the test when it is not one. */
double h_num(json_t *o, const char *key);
/* A number of /api/v1/status by dotted path ("readings.accepted");
 * booleans read as 0 or 1, absent as 0. */
long long h_status(const struct h_daemon *d, const char *path);
/* Waits up to secs for h_status(path) >= want. */
bool h_status_wait(
    const struct h_daemon *d, const char *path, long long want, int secs);
/* Publishes a printf-formatted payload at QoS 1 (h_publish). */
void h_publishf(struct mosquitto *m, const char *topic, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Unix time of the start of the hour `back` hours before the current. */
int64_t h_hour_start(int back);

/*
 * The recording webhook sink: one per process, an HTTP server on
 * 127.0.0.1 that keeps every request it gets (up to H_SINK_MAX; safe to
 * read while it runs).  It answers the scripted answers first, in order
 * (h_sink_script), then by path: "/s500..." 500, "/s400..." 400,
 * "/refuse..." 200 with a DingTalk/WeCom "send too fast" errcode, and 200
 * with errcode 0 otherwise.
 */
#define H_SINK_MAX 512
struct h_hook {
	char path[256];
	char q_timestamp[32], q_sign[128], q_token[64];  /* query arguments */
	char idem[128], ctype[128], sig[128], sigts[32]; /* headers */
	char *text;   /* the body as sent ("" when none) */
	json_t *body; /* the body parsed, NULL when not JSON */
};

/* Listens on port (0: any free one); returns the port bound. */
int h_sink_start(int port);
/* Stops listening; what it got stays until h_sink_clear(). */
void h_sink_stop(void);
/* Forgets the requests and the script. */
void h_sink_clear(void);
/* The next answer: status, with a Retry-After header if not NULL. */
void h_sink_script(int status, const char *retry_after);
int h_sink_count(void);
/* Waits up to secs for n requests; whether they came. */
bool h_sink_wait(int n, int secs);
/* The i-th request (0-based), or NULL. */
const struct h_hook *h_sink_get(int i);
/* The nth request (0-based) whose path starts with prefix, or NULL. */
const struct h_hook *h_sink_find(const char *prefix, int nth);

/* A test program's main: runs suite s with SIGPIPE ignored; the exit
 * status. */
int h_run(Suite *s);

/* Milliseconds of a monotonic clock. */
long long h_ms(void);
void h_sleep_ms(int ms);

#endif
