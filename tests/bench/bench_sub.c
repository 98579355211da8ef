/*
 * bench_sub: the bare subscriber of the end-to-end benchmark.  It only
 * counts messages on a topic filter, at a QoS, until it has seen N of them
 * or none arrived for 3 s, then prints "COUNT SECONDS" where SECONDS runs
 * from the first message to the last.  The rate aqgridd must keep up with.
 * With --watch it measures aqgridd the same way instead, polling its
 * /api/v1/status every 5 ms over one kept-alive connection (cheap enough
 * not to disturb what it measures, unlike a process per poll).
 */
#include <arpa/inet.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long count, want;
static double first, last;

static double now(void);
static void on_message(
    struct mosquitto *m, void *obj, const struct mosquitto_message *msg);
static void on_connect(struct mosquitto *m, void *obj, int rc);
static long accepted(int fd);
static int watch(int port);

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	(void)m;
	(void)obj;
	(void)msg;
	last = now();
	if (count++ == 0)
		first = last;
}

static void
on_connect(struct mosquitto *m, void *obj, int rc)
{
	const char *filter = obj;

	if (rc == 0)
		mosquitto_subscribe(m, NULL, filter, atoi(getenv("QOS")));
}

/* One GET of /api/v1/status on fd; readings accepted, or -1. */
static long
accepted(int fd)
{
	static const char req[] = "GET /api/v1/status HTTP/1.1\r\n"
				  "Host: 127.0.0.1\r\n\r\n";
	static const char key[] = "\"readings\":{\"accepted\":";
	static char buf[65536];
	size_t got = 0;
	long clen = -1;
	char *body = NULL, *p;

	if (write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1))
		return -1;
	for (;;) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);

		if (n <= 0)
			return -1;
		got += (size_t)n;
		buf[got] = '\0';
		if (body == NULL && (body = strstr(buf, "\r\n\r\n")) != NULL) {
			body += 4;
			p = strstr(buf, "Content-Length:");
			clen = p != NULL ? atol(p + 15) : -1;
		}
		if (body != NULL && clen >= 0 &&
		    (long)(got - (size_t)(body - buf)) >= clen)
			break;
	}
	p = strstr(body, key);
	return p != NULL ? atol(p + sizeof(key) - 1) : -1;
}

static int
watch(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	long last_n = 0;
	double idle_since = now();
	struct timespec tick = {0, 5000000};

	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		return 1;
	printf("ready\n");
	fflush(stdout);
	while (last_n < want) {
		long n = accepted(fd);
		double t = now();

		if (n < 0)
			return 1;
		if (n > last_n) {
			if (last_n == 0)
				first = t;
			last = t;
			last_n = n;
			idle_since = t;
		} else if (last_n > 0 && t - idle_since > 3.0) {
			break;
		}
		nanosleep(&tick, NULL);
	}
	printf("%ld %.6f\n", last_n, last - first);
	close(fd);
	return 0;
}

int
main(int argc, char **argv)
{
	struct mosquitto *m;
	double idle_since;

	if (argc == 4 && strcmp(argv[1], "--watch") == 0) {
		want = atol(argv[3]);
		return watch(atoi(argv[2]));
	}
	if (argc != 4) {
		fprintf(stderr,
		    "usage: QOS=q bench_sub PORT FILTER N\n"
		    "       bench_sub --watch HTTP-PORT N\n");
		return 2;
	}
	want = atol(argv[3]);
	mosquitto_lib_init();
	m = mosquitto_new("bench-sub", true, argv[2]);
	if (m == NULL || getenv("QOS") == NULL)
		return 1;
	mosquitto_connect_callback_set(m, on_connect);
	mosquitto_message_callback_set(m, on_message);
	if (mosquitto_connect(m, "127.0.0.1", atoi(argv[1]), 30) != 0)
		return 1;
	printf("ready\n");
	fflush(stdout);
	idle_since = now();
	while (count < want) {
		long before = count;

		if (mosquitto_loop(m, 100, 1) != MOSQ_ERR_SUCCESS)
			break;
		if (count != before)
			idle_since = now();
		else if (count > 0 && now() - idle_since > 3.0)
			break;
	}
	printf("%ld %.6f\n", count, last - first);
	mosquitto_destroy(m);
	mosquitto_lib_cleanup();
	return 0;
}
