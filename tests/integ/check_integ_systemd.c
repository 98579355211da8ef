/*
 * check_integ_systemd: aqgridd speaks systemd's notification protocol
 * without systemd.  The test plays the service manager: it binds the
 * AF_UNIX datagram socket that $NOTIFY_SOCKET names (a path, then an
 * abstract name), starts the real daemon with a real broker, and reads
 * what the daemon sends: READY=1 once it serves, RELOADING=1 then READY=1
 * around a SIGHUP reload, STOPPING=1 on SIGTERM.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/harness.h"

static void write_conf(struct h_daemon *d, int mqtt_port);
static int notify_socket(const char *name, char *env, size_t envlen);
static bool recv_state(
    int fd, const char *want, int secs, char *last, size_t lastlen);

static void
write_conf(struct h_daemon *d, int mqtt_port)
{
	FILE *f;

	snprintf(d->conf, sizeof(d->conf), "%s/aqgridd-sd-%d.conf", h_tmpdir(),
	    mqtt_port);
	ck_assert_ptr_nonnull(f = fopen(d->conf, "w"));
	fprintf(f,
	    "[mqtt]\nhost = 127.0.0.1\nport = %d\nclient_id = aqgridd-sd\n"
	    "backoff_min = 1\nbackoff_max = 1\n"
	    "subscribe = aq/test/json/+ json 1\n"
	    "[http]\nlisten = 127.0.0.1:0\nweb_root = web\nthreads = 2\n"
	    "[grid]\norigin = 40.0 116.0\ncell_size = 1000\nrows = 2\n"
	    "cols = 2\n",
	    mqtt_port);
	fclose(f);
}

/* Binds the manager's end: a path under h_tmpdir(), or with name starting
 * '@' an abstract one; env gets "NOTIFY_SOCKET=..." for the daemon. */
static int
notify_socket(const char *name, char *env, size_t envlen)
{
	struct sockaddr_un sa;
	socklen_t len;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (name[0] == '@') {
		snprintf(sa.sun_path, sizeof(sa.sun_path), "@%s-%d", name + 1,
		    (int)getpid());
		snprintf(env, envlen, "NOTIFY_SOCKET=%s", sa.sun_path);
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
		    strlen(sa.sun_path));
		sa.sun_path[0] = '\0';
	} else {
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", h_tmpdir(),
		    name);
		snprintf(env, envlen, "NOTIFY_SOCKET=%s", sa.sun_path);
		len = sizeof(sa);
	}
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_msg(bind(fd, (struct sockaddr *)&sa, len) == 0, "bind: %s",
	    strerror(errno));
	return fd;
}

/* Reads datagrams for up to secs until one has the line want; the last
 * one read goes to last. */
static bool
recv_state(int fd, const char *want, int secs, char *last, size_t lastlen)
{
	long long end = h_ms() + secs * 1000LL;
	struct timeval tv = {0, 200 * 1000};
	char buf[512];

	last[0] = '\0';
	ck_assert_int_eq(
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	while (h_ms() < end) {
		ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
		const char *p;

		if (n < 0)
			continue;
		buf[n] = '\0';
		snprintf(last, lastlen, "%s", buf);
		for (p = buf; p != NULL; p = strchr(p, '\n')) {
			p += *p == '\n';
			if (strncmp(p, want, strlen(want)) == 0 &&
			    (p[strlen(want)] == '\n' ||
				p[strlen(want)] == '\0'))
				return true;
		}
	}
	return false;
}

static void
run(const char *sockname)
{
	struct h_proc broker;
	struct h_daemon d;
	int port = 0, fd;
	char env[160], last[512];
	const char *envv[] = {env, NULL};

	fd = notify_socket(sockname, env, sizeof(env));
	h_broker_start(&broker, &port);
	write_conf(&d, port);
	h_daemon_start_env(
	    &d, sockname[0] == '@' ? "sd-abs.log" : "sd.log", envv);
	ck_assert_msg(recv_state(fd, "READY=1", 30, last, sizeof(last)),
	    "no READY=1 (last: \"%s\"; see %s)", last, d.proc.log);
	/* Nothing more until something happens. */
	ck_assert_msg(!recv_state(fd, "READY=1", 1, last, sizeof(last)),
	    "a second READY=1 without a reload");

	kill(d.proc.pid, SIGHUP);
	ck_assert_msg(recv_state(fd, "RELOADING=1", 30, last, sizeof(last)),
	    "no RELOADING=1 after SIGHUP (last: \"%s\")", last);
	ck_assert_msg(strstr(last, "MONOTONIC_USEC=") != NULL,
	    "RELOADING=1 without MONOTONIC_USEC: \"%s\"", last);
	ck_assert_msg(recv_state(fd, "READY=1", 30, last, sizeof(last)),
	    "no READY=1 after the reload (last: \"%s\")", last);
	ck_assert_ptr_nonnull(h_log_wait(&d.proc, "reload: configuration", 10));

	kill(d.proc.pid, SIGTERM);
	ck_assert_msg(recv_state(fd, "STOPPING=1", 30, last, sizeof(last)),
	    "no STOPPING=1 after SIGTERM (last: \"%s\")", last);
	ck_assert_int_eq(h_stop(&d.proc, SIGTERM, 30), 0);
	h_stop(&broker, SIGTERM, 10);
	close(fd);
}

START_TEST(notify_path)
{
	run("notify.sock");
}
END_TEST

START_TEST(notify_abstract)
{
	run("@aqgridd-test");
}
END_TEST

/* A daemon without $NOTIFY_SOCKET runs as before (the other suites), and
 * one whose socket is missing says so once and still serves. */
START_TEST(notify_missing_socket)
{
	struct h_proc broker;
	struct h_daemon d;
	int port = 0;
	char env[160];
	const char *envv[] = {env, NULL};

	snprintf(env, sizeof(env), "NOTIFY_SOCKET=%s/absent.sock", h_tmpdir());
	h_broker_start(&broker, &port);
	write_conf(&d, port);
	h_daemon_start_env(&d, "sd-missing.log", envv);
	ck_assert_ptr_nonnull(h_log_wait(&d.proc, "sd_notify", 10));
	ck_assert_int_eq(h_status(&d, "mqtt.connected"), 1);
	ck_assert_int_eq(h_stop(&d.proc, SIGTERM, 30), 0);
	h_stop(&broker, SIGTERM, 10);
}
END_TEST

static Suite *
systemd_suite(void)
{
	Suite *s = suite_create("integ_systemd");
	TCase *tc = tcase_create("notify");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, notify_path);
	tcase_add_test(tc, notify_abstract);
	tcase_add_test(tc, notify_missing_socket);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_run(systemd_suite());
}
