/*
 * bench_sub: the bare subscriber of the end-to-end benchmark.  It only
 * counts messages on a topic filter, at a QoS, until it has seen N of them
 * or none arrived for 3 s, then prints "COUNT SECONDS" where SECONDS runs
 * from the first message to the last.  The rate aqgridd must keep up with.
 */
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long count, want;
static double first, last;

static double now(void);
static void on_message(
    struct mosquitto *m, void *obj, const struct mosquitto_message *msg);
static void on_connect(struct mosquitto *m, void *obj, int rc);

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

int
main(int argc, char **argv)
{
	struct mosquitto *m;
	double idle_since;

	if (argc != 4) {
		fprintf(stderr, "usage: QOS=q bench_sub PORT FILTER N\n");
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
