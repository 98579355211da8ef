/*
 * check_integ_tls: transport security of the built aqgridd against real
 * peers -- MQTT over TLS to a mosquitto with a TLS listener and a password
 * file (server certificate only, then client certificates required), a
 * wrong CA refused, HTTPS from the daemon's own server, and a password
 * that never shows in the log, the status or the metrics.  Certificates are
 * made for each run with the openssl command into the test's folder.
 */
#include <check.h>
#include <curl/curl.h>
#include <jansson.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/harness.h"

/* Distinctive enough that finding it anywhere is a leak. */
#define SECRET "Zebra-Quartz-7731-secret"
#define GOOD_PW "pw-that-the-broker-knows"

struct body {
	char *p;
	size_t len;
};

static void run(const char *cmd);
static void make_certs(void);
static const char *path(const char *name);
static void write_text(const char *name, const char *text);
static void broker_tls(struct h_proc *p, int *port, bool require_cert);
static void write_conf(
    struct h_daemon *d, const char *name, int port, const char *extra);
static void daemon_spawn(struct h_daemon *d, const char *log, bool https);
static struct mosquitto *publisher(int port);
static void on_publish(struct mosquitto *m, void *obj, int mid);
static void publish_reading(struct mosquitto *m, const char *sensor);
static char *https_get(
    const struct h_daemon *d, const char *scheme, const char *p, long *code);
static size_t on_body(void *data, size_t size, size_t n, void *arg);
static char *slurp(const char *file);

static void
run(const char *cmd)
{
	char full[4096];

	snprintf(full, sizeof(full), "cd '%s' && (%s) >>openssl.log 2>&1",
	    h_tmpdir(), cmd);
	ck_assert_msg(system(full) == 0, "failed: %s (see %s/openssl.log)", cmd,
	    h_tmpdir());
}

static const char *
path(const char *name)
{
	static char buf[4][600];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", h_tmpdir(), name);
	return buf[k];
}

static void
write_text(const char *name, const char *text)
{
	FILE *f = fopen(path(name), "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

/*
 * A CA, a server certificate for localhost and 127.0.0.1 and a client
 * certificate signed by it, and a second CA that signed nothing: P-256
 * keys, valid two days.  Made once per process.
 */
static void
make_certs(void)
{
	static bool made;
	static const char *const ca =
	    "openssl req -x509 -newkey ec -pkeyopt "
	    "ec_paramgen_curve:prime256v1 -nodes -days 2 -keyout %s.key "
	    "-out %s.pem -subj /CN=%s";
	static const char *const leaf =
	    "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
	    "-nodes -keyout %s.key -out %s.csr -subj /CN=%s && "
	    "openssl x509 -req -in %s.csr -CA ca.pem -CAkey ca.key "
	    "-CAcreateserial -days 2 -out %s.pem -extfile %s.ext";
	char cmd[1024];

	if (made)
		return;
	snprintf(cmd, sizeof(cmd), ca, "ca", "ca", "aqgrid-test-ca");
	run(cmd);
	snprintf(cmd, sizeof(cmd), ca, "other-ca", "other-ca", "other-ca");
	run(cmd);
	write_text("server.ext",
	    "basicConstraints = CA:FALSE\n"
	    "subjectAltName = DNS:localhost, IP:127.0.0.1\n"
	    "extendedKeyUsage = serverAuth\n");
	write_text("client.ext",
	    "basicConstraints = CA:FALSE\n"
	    "extendedKeyUsage = clientAuth\n");
	snprintf(cmd, sizeof(cmd), leaf, "server", "server", "localhost",
	    "server", "server", "server");
	run(cmd);
	snprintf(cmd, sizeof(cmd), leaf, "client", "client", "aqgridd",
	    "client", "client", "client");
	run(cmd);
	/* mosquitto's password file: aqgridd with GOOD_PW, and a publisher. */
	run("mosquitto_passwd -c -b passwd aqgridd " GOOD_PW
	    " && mosquitto_passwd -b passwd pub pub-pw && chmod 0600 passwd");
	write_text("good.pw", GOOD_PW "\n");
	write_text("secret.pw", SECRET "\n");
	made = true;
}

/* mosquitto with one TLS listener on a free loopback port, passwords
 * required; polled with a TCP connect until it listens. */
static void
broker_tls(struct h_proc *p, int *port, bool require_cert)
{
	for (int attempt = 0; attempt < 5; attempt++) {
		char conf[64], log[64], text[2048];
		const char *argv[] = {"mosquitto", "-c", NULL, NULL};
		long long until;

		*port = h_free_port();
		snprintf(conf, sizeof(conf), "mosquitto-tls-%d.conf", *port);
		snprintf(log, sizeof(log), "mosquitto-tls-%d.log", *port);
		/* Run as root (CI is), mosquitto would become the user
		 * mosquitto before reading the password file in our private
		 * folder: stay. */
		snprintf(text, sizeof(text),
		    "%s"
		    "per_listener_settings false\n"
		    "allow_anonymous false\npersistence false\n"
		    "password_file %s\n"
		    "listener %d 127.0.0.1\ncafile %s\ncertfile %s\n"
		    "keyfile %s\nrequire_certificate %s\n"
		    "use_identity_as_username false\n",
		    geteuid() == 0 ? "user root\n" : "", path("passwd"), *port,
		    path("ca.pem"), path("server.pem"), path("server.key"),
		    require_cert ? "true" : "false");
		write_text(conf, text);
		argv[2] = path(conf);
		h_spawn(p, argv, log, false);
		until = h_ms() + 5000;
		while (h_ms() < until && h_alive(p)) {
			if (h_log_wait(p, "running", 0) != NULL)
				return;
			h_sleep_ms(50);
		}
		h_stop(p, SIGKILL, 1);
	}
	ck_abort_msg("cannot start mosquitto with TLS (see %s)", p->log);
}

static void
write_conf(struct h_daemon *d, const char *name, int port, const char *extra)
{
	char text[4096];

	snprintf(d->conf, sizeof(d->conf), "%s", path(name));
	snprintf(text, sizeof(text),
	    "[mqtt]\nhost = 127.0.0.1\nport = %d\nclient_id = aqgridd-tls\n"
	    "backoff_min = 1\nbackoff_max = 1\n"
	    "subscribe = aq/tls/+ json 1\n%s\n"
	    "[http]\nlisten = 127.0.0.1:0\nweb_root = web\nthreads = 2\n"
	    "[standards]\ntimezone = Asia/Shanghai\n"
	    "[grid]\norigin = 40.0 116.0\ncell_size = 1000\nrows = 2\n"
	    "cols = 2\n",
	    port, extra);
	write_text(name, text);
}

/* Starts aqgridd and reads its HTTP(S) port from the log; does not wait
 * for the broker (h_daemon_start() does). */
static void
daemon_spawn(struct h_daemon *d, const char *log, bool https)
{
	const char *argv[] = {
	    h_bin("AQGRIDD", "build/aqgridd"), "-f", "-v", "-c", d->conf, NULL};
	const char *key = https ? "https://127.0.0.1:" : "http://127.0.0.1:";
	const char *line;

	h_spawn(&d->proc, argv, log, true);
	line = h_log_wait(&d->proc, key, 30);
	ck_assert_msg(
	    line != NULL, "aqgridd did not start (see %s)", d->proc.log);
	d->http = atoi(strstr(line, key) + strlen(key));
	ck_assert_int_gt(d->http, 0);
}

static void
on_publish(struct mosquitto *m, void *obj, int mid)
{
	(void)m;
	(void)mid;
	(*(int *)obj)++;
}

/* A publisher over TLS with a password (h_publish() waits for PUBACK). */
static struct mosquitto *
publisher(int port)
{
	static int acked;
	struct mosquitto *m;

	mosquitto_lib_init();
	ck_assert_ptr_nonnull(m = mosquitto_new("pub-tls", true, &acked));
	mosquitto_publish_callback_set(m, on_publish);
	ck_assert_int_eq(mosquitto_tls_set(m, path("ca.pem"), NULL,
			     path("client.pem"), path("client.key"), NULL),
	    MOSQ_ERR_SUCCESS);
	ck_assert_int_eq(
	    mosquitto_username_pw_set(m, "pub", "pub-pw"), MOSQ_ERR_SUCCESS);
	ck_assert_int_eq(
	    mosquitto_connect(m, "127.0.0.1", port, 30), MOSQ_ERR_SUCCESS);
	return m;
}

static void
publish_reading(struct mosquitto *m, const char *sensor)
{
	char topic[64];

	snprintf(topic, sizeof(topic), "aq/tls/%s", sensor);
	h_publishf(m, topic,
	    "{\"ts\":%lld,\"period\":60,\"cell\":\"r000c001\",\"pm25\":42}",
	    (long long)time(NULL) - 30);
}

static size_t
on_body(void *data, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	char *grown = realloc(b->p, b->len + size * n + 1);

	if (grown == NULL)
		return 0;
	b->p = grown;
	memcpy(b->p + b->len, data, size * n);
	b->len += size * n;
	b->p[b->len] = '\0';
	return size * n;
}

/* GET scheme://localhost:port/p trusting only our CA; NULL if the
 * exchange failed. */
static char *
https_get(
    const struct h_daemon *d, const char *scheme, const char *p, long *code)
{
	CURL *c = curl_easy_init();
	struct body b = {NULL, 0};
	char url[256];
	CURLcode rc;

	ck_assert_ptr_nonnull(c);
	snprintf(url, sizeof(url), "%s://localhost:%d%s", scheme, d->http, p);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CAINFO, path("ca.pem"));
	curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	*code = 0;
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, code);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		free(b.p);
		return NULL;
	}
	return b.p != NULL ? b.p : calloc(1, 1);
}

static char *
slurp(const char *file)
{
	FILE *f = fopen(file, "r");
	char *p = NULL;
	size_t len = 0;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(getdelim(&p, &len, '\0', f) >= 0 || feof(f), 1);
	fclose(f);
	return p != NULL ? p : calloc(1, 1);
}

/* The daemon reaches the broker over TLS with a password, and a reading
 * published through it is ingested. */
START_TEST(mqtt_tls_password)
{
	struct h_proc broker;
	struct h_daemon d;
	struct mosquitto *m;
	char extra[1024];
	int port;

	make_certs();
	broker_tls(&broker, &port, false);
	snprintf(extra, sizeof(extra),
	    "ca_file = %s\nusername = aqgridd\npassword_file = %s\n",
	    path("ca.pem"), path("good.pw"));
	write_conf(&d, "tls-pw.conf", port, extra);
	h_daemon_start(&d, "tls-pw.log");
	m = publisher(port);
	publish_reading(m, "s-tls");
	ck_assert(h_status_wait(&d, "readings.accepted", 1, 20));
	h_mqtt_close(m);
	ck_assert_int_eq(h_stop(&d.proc, SIGTERM, 10), 0);
	h_stop(&broker, SIGTERM, 5);
}
END_TEST

/* [publish] reaches the same broker with the same TLS and credentials:
 * connected, its discovery documents counted. */
START_TEST(mqtt_tls_publish)
{
	struct h_proc broker;
	struct h_daemon d;
	char extra[1024], url[128], *text = NULL;
	long long until;
	long code;
	int port;

	make_certs();
	broker_tls(&broker, &port, false);
	snprintf(extra, sizeof(extra),
	    "ca_file = %s\nusername = aqgridd\npassword_file = %s\n"
	    "[publish]\nenabled = yes\n",
	    path("ca.pem"), path("good.pw"));
	write_conf(&d, "tls-pub.conf", port, extra);
	h_daemon_start(&d, "tls-pub.log");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", d.http);
	until = h_ms() + 20000;
	do {
		free(text);
		text = h_get(url, &code);
		ck_assert_ptr_nonnull(text);
		if (strstr(text,
			"\naqgrid_publish_messages_total{kind="
			"\"discovery\"} 29\n") != NULL)
			break;
		h_sleep_ms(50);
	} while (h_ms() < until);
	/* 4 cells x 7 sensors, and the status. */
	ck_assert_ptr_nonnull(strstr(
	    text, "\naqgrid_publish_messages_total{kind=\"discovery\"} 29\n"));
	ck_assert_ptr_nonnull(strstr(text, "\naqgrid_publish_connected 1\n"));
	free(text);
	ck_assert_int_eq(h_stop(&d.proc, SIGTERM, 10), 0);
	h_stop(&broker, SIGTERM, 5);
}
END_TEST

/* A listener that requires client certificates: in with cert_file and
 * key_file, and without them the daemon never gets in. */
START_TEST(mqtt_tls_client_cert)
{
	struct h_proc broker;
	struct h_daemon d, bare;
	struct mosquitto *m;
	char extra[2048];
	int port;

	make_certs();
	broker_tls(&broker, &port, true);
	snprintf(extra, sizeof(extra),
	    "ca_file = %s\ncert_file = %s\nkey_file = %s\n"
	    "username = aqgridd\npassword_file = %s\n",
	    path("ca.pem"), path("client.pem"), path("client.key"),
	    path("good.pw"));
	write_conf(&d, "tls-cert.conf", port, extra);
	h_daemon_start(&d, "tls-cert.log");
	m = publisher(port);
	publish_reading(m, "s-cert");
	ck_assert(h_status_wait(&d, "readings.accepted", 1, 20));
	h_mqtt_close(m);
	ck_assert_int_eq(h_stop(&d.proc, SIGTERM, 10), 0);
	/* Same broker, no client certificate: refused, and said so. */
	snprintf(extra, sizeof(extra),
	    "ca_file = %s\nusername = aqgridd\npassword_file = %s\n",
	    path("ca.pem"), path("good.pw"));
	write_conf(&bare, "tls-nocert.conf", port, extra);
	daemon_spawn(&bare, "tls-nocert.log", false);
	ck_assert_msg(h_log_wait(&bare.proc,
			  "the broker answered CONNECT: OpenSSL Error", 20),
	    "no refusal logged (see %s)", bare.proc.log);
	ck_assert_int_eq(h_status(&bare, "mqtt.connected"), 0);
	ck_assert_int_eq(h_stop(&bare.proc, SIGTERM, 10), 0);
	h_stop(&broker, SIGTERM, 5);
}
END_TEST

/* A CA that did not sign the broker's certificate: no connection, and a
 * log line that says why. */
START_TEST(mqtt_tls_wrong_ca)
{
	struct h_proc broker;
	struct h_daemon d;
	char extra[1024];
	const char *line;
	int port;

	make_certs();
	broker_tls(&broker, &port, false);
	snprintf(extra, sizeof(extra),
	    "ca_file = %s\nusername = aqgridd\npassword_file = %s\n",
	    path("other-ca.pem"), path("good.pw"));
	write_conf(&d, "tls-wrongca.conf", port, extra);
	daemon_spawn(&d, "tls-wrongca.log", false);
	/* As libmosquitto goes: refused at connect, or right after. */
	line = h_log_wait(&d.proc, "certificate verify failed", 20);
	ck_assert_msg(line != NULL, "no refusal logged (see %s)", d.proc.log);
	ck_assert_msg(strstr(line, "ingest: cannot connect") != NULL ||
		strstr(line, "ingest: connection to") != NULL,
	    "unclear: %s", line);
	ck_assert_int_eq(h_status(&d, "mqtt.connected"), 0);
	ck_assert_int_eq(h_stop(&d.proc, SIGTERM, 10), 0);
	h_stop(&broker, SIGTERM, 5);
}
END_TEST

/* [http] tls_cert and tls_key: HTTPS only. */
START_TEST(https_server)
{
	struct h_proc broker;
	struct h_daemon d;
	char extra[1024], *body;
	long code;
	int port = 0;

	make_certs();
	h_broker_start(&broker, &port);
	snprintf(extra, sizeof(extra), "[http]\ntls_cert = %s\ntls_key = %s\n",
	    path("server.pem"), path("server.key"));
	write_conf(&d, "https.conf", port, extra);
	daemon_spawn(&d, "https.log", true);
	body = https_get(&d, "https", "/healthz", &code);
	ck_assert_msg(body != NULL, "HTTPS failed");
	ck_assert_int_eq(code, 200);
	ck_assert_str_eq(body, "{\"status\":\"ok\"}");
	free(body);
	/* Plain HTTP to the same port gets no answer. */
	body = https_get(&d, "http", "/healthz", &code);
	ck_assert_msg(body == NULL || code != 200, "plain HTTP answered");
	free(body);
	/* Still serving HTTPS after that. */
	body = https_get(&d, "https", "/api/v1/status", &code);
	ck_assert_ptr_nonnull(body);
	ck_assert_int_eq(code, 200);
	free(body);
	ck_assert_int_eq(h_stop(&d.proc, SIGTERM, 10), 0);
	h_stop(&broker, SIGTERM, 5);
}
END_TEST

/* A key that cannot be read, or that is no key: start-up fails, and the
 * log says which file. */
START_TEST(https_bad_files)
{
	struct h_daemon d;
	char extra[1024];
	const char *line;

	make_certs();
	snprintf(extra, sizeof(extra), "[http]\ntls_cert = %s\ntls_key = %s\n",
	    path("server.pem"), path("missing.key"));
	write_conf(&d, "https-missing.conf", 1, extra);
	{
		const char *argv[] = {h_bin("AQGRIDD", "build/aqgridd"), "-f",
		    "-c", d.conf, NULL};

		h_spawn(&d.proc, argv, "https-missing.log", true);
	}
	line = h_log_wait(&d.proc, "missing.key", 20);
	ck_assert_msg(line != NULL, "see %s", d.proc.log);
	ck_assert_ptr_nonnull(strstr(line, "tls_key"));
	ck_assert_ptr_nonnull(strstr(line, "No such file"));
	ck_assert_int_ne(h_stop(&d.proc, SIGTERM, 10), 0);
	/* A certificate given as the key. */
	snprintf(extra, sizeof(extra), "[http]\ntls_cert = %s\ntls_key = %s\n",
	    path("server.pem"), path("ca.pem"));
	write_conf(&d, "https-nokey.conf", 1, extra);
	{
		const char *argv[] = {h_bin("AQGRIDD", "build/aqgridd"), "-f",
		    "-c", d.conf, NULL};

		h_spawn(&d.proc, argv, "https-nokey.log", true);
	}
	line = h_log_wait(&d.proc, "cannot start HTTPS", 20);
	ck_assert_msg(line != NULL, "see %s", d.proc.log);
	ck_assert_ptr_nonnull(strstr(line, "ca.pem"));
	ck_assert_int_ne(h_stop(&d.proc, SIGTERM, 10), 0);
}
END_TEST

/*
 * The broker refuses the password: the distinctive string of the password
 * file appears nowhere -- not in the debug log, /api/v1/status, /metrics,
 * /readyz or the OpenAPI document.
 */
START_TEST(secret_never_shown)
{
	static const char *const paths[] = {"/api/v1/status", "/metrics",
	    "/readyz", "/healthz", "/api/v1/openapi.json", "/api/v1/cells"};
	struct h_proc broker;
	struct h_daemon d;
	char extra[1024], url[256], *body, *log;
	long code;
	int port;

	make_certs();
	broker_tls(&broker, &port, false);
	snprintf(extra, sizeof(extra),
	    "ca_file = %s\nusername = aqgridd\npassword_file = %s\n",
	    path("ca.pem"), path("secret.pw"));
	write_conf(&d, "secret.conf", port, extra);
	daemon_spawn(&d, "secret.log", false);
	ck_assert_msg(h_log_wait(&d.proc, "ingest: broker refused", 20),
	    "no refusal logged (see %s)", d.proc.log);
	/* The broker did see the attempt, with the wrong password. */
	ck_assert_ptr_nonnull(h_log_wait(&broker, "not authorised", 5));
	for (size_t k = 0; k < sizeof(paths) / sizeof(paths[0]); k++) {
		snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", d.http,
		    paths[k]);
		ck_assert_ptr_nonnull(body = h_get(url, &code));
		ck_assert_msg(code == 200 || code == 503, "%s: %ld", url, code);
		ck_assert_msg(strstr(body, SECRET) == NULL, "%s leaks", url);
		ck_assert_msg(strstr(body, "secret.pw") == NULL,
		    "%s shows the password file", url);
		free(body);
	}
	ck_assert_int_eq(h_stop(&d.proc, SIGTERM, 10), 0);
	log = slurp(d.proc.log);
	ck_assert_ptr_nonnull(strstr(log, "ingest: broker refused"));
	ck_assert_msg(strstr(log, SECRET) == NULL, "the log leaks: %s", log);
	free(log);
	h_stop(&broker, SIGTERM, 5);
}
END_TEST

static Suite *
tls_suite(void)
{
	Suite *s = suite_create("integ_tls");
	TCase *tm = tcase_create("mqtt");
	TCase *th = tcase_create("https");

	tcase_set_timeout(tm, 90);
	tcase_add_test(tm, mqtt_tls_password);
	tcase_add_test(tm, mqtt_tls_publish);
	tcase_add_test(tm, mqtt_tls_client_cert);
	tcase_add_test(tm, mqtt_tls_wrong_ca);
	tcase_add_test(tm, secret_never_shown);
	suite_add_tcase(s, tm);
	tcase_set_timeout(th, 60);
	tcase_add_test(th, https_server);
	tcase_add_test(th, https_bad_files);
	suite_add_tcase(s, th);
	return s;
}

int
main(void)
{
	int rc;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return EXIT_FAILURE;
	rc = h_run(tls_suite());
	curl_global_cleanup();
	return rc;
}
