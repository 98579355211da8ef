/*
 * check_cli: runs the built aqgrid as an operator would and checks its
 * JSON, its messages and its exit status.  The program is $AQGRID (default
 * build/aqgrid); $AQ_WRAP, e.g. "valgrind -q --error-exitcode=1", is put in
 * front of it, split on spaces.  Every expected number is worked out by
 * hand from ../shared/STANDARDS.md in the comment beside it, never by the
 * code under test.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS 64
#define MAX_LINES 16

/* What one run of the program left. */
struct run {
	int status; /* exit status, or 128 + signal */
	char *out, *err;
	size_t outlen, errlen;
};

/* A bad command line: every one exits 2 with one line on stderr that
 * names the culprit, and prints nothing on stdout. */
struct bad_case {
	const char *args[17];
	const char *names; /* must appear in the message */
};

static void run_v(struct run *r, const char *in, const char *const *args);
static void run(struct run *r, const char *in, ...);
static void run_free(struct run *r);
static void append(char **buf, size_t *len, const char *data, size_t n);
static void split_words(char *s, const char **argv, int *argc);
static json_t *parse_one(const char *text);
static json_t *one_result(const char *in, ...);
static int out_lines(const struct run *r, json_t **lines, int max);
static void ck_int(const json_t *o, const char *key, int want);
static void ck_null(const json_t *o, const char *key);
static void ck_str(const json_t *o, const char *key, const char *want);
static void ck_list(const json_t *o, const char *key, const char *want);
static void ck_iaqi(const json_t *o, const char *ind, int want);
static void ck_iaqi_keys(const json_t *o, const char *want);
static void ck_real(const json_t *o, const char *key, double want);
static void ck_one_line(const char *s);
static void today_shanghai(char *buf, size_t len);
static Suite *cli_suite(void);

/* ---- running the program ---- */

static void
append(char **buf, size_t *len, const char *data, size_t n)
{
	char *p = realloc(*buf, *len + n + 1);

	ck_assert_ptr_nonnull(p);
	memcpy(p + *len, data, n);
	*len += n;
	p[*len] = '\0';
	*buf = p;
}

/* Splits s in place on spaces into argv, after what is there. */
static void
split_words(char *s, const char **argv, int *argc)
{
	for (char *w = strtok(s, " "); w != NULL; w = strtok(NULL, " ")) {
		ck_assert_int_lt(*argc, MAX_ARGS - 1);
		argv[(*argc)++] = w;
	}
}

/*
 * Runs the program with args (NULL-terminated), feeding it in (NULL: an
 * empty standard input) and collecting stdout, stderr and the status.
 * Pipes are served with poll() so that no side can block the other.
 */
static void
run_v(struct run *r, const char *in, const char *const *args)
{
	const char *prog = getenv("AQGRID");
	const char *wrap = getenv("AQ_WRAP");
	char *wrapcopy = strdup(wrap != NULL ? wrap : "");
	const char *argv[MAX_ARGS];
	int argc = 0, pin[2], pout[2], perr[2], st;
	size_t inlen = in != NULL ? strlen(in) : 0, inoff = 0;
	pid_t pid;

	ck_assert_ptr_nonnull(wrapcopy);
	*r = (struct run){0};
	append(&r->out, &r->outlen, "", 0);
	append(&r->err, &r->errlen, "", 0);
	split_words(wrapcopy, argv, &argc);
	argv[argc++] = prog != NULL && *prog != '\0' ? prog : "build/aqgrid";
	for (int k = 0; args[k] != NULL; k++) {
		ck_assert_int_lt(argc, MAX_ARGS - 1);
		argv[argc++] = args[k];
	}
	argv[argc] = NULL;

	ck_assert_int_eq(pipe(pin), 0);
	ck_assert_int_eq(pipe(pout), 0);
	ck_assert_int_eq(pipe(perr), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(pin[0], 0);
		dup2(pout[1], 1);
		dup2(perr[1], 2);
		close(pin[0]);
		close(pin[1]);
		close(pout[0]);
		close(pout[1]);
		close(perr[0]);
		close(perr[1]);
		/* execvp() takes char *const[]; it writes through neither. */
		execvp(argv[0], (char *const *)(uintptr_t)argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);
	if (inlen == 0) {
		close(pin[1]);
		pin[1] = -1;
	} else {
		fcntl(pin[1], F_SETFL, fcntl(pin[1], F_GETFL) | O_NONBLOCK);
	}
	while (pout[0] >= 0 || perr[0] >= 0) {
		struct pollfd fds[3] = {
		    {pout[0], POLLIN, 0},
		    {perr[0], POLLIN, 0},
		    {pin[1], POLLOUT, 0},
		};
		char buf[4096];
		ssize_t n;

		if (poll(fds, 3, -1) < 0) {
			ck_assert_int_eq(errno, EINTR);
			continue;
		}
		for (int k = 0; k < 2; k++) {
			int *fd = k == 0 ? &pout[0] : &perr[0];

			if (*fd < 0 || fds[k].revents == 0)
				continue;
			n = read(*fd, buf, sizeof(buf));
			if (n > 0 && k == 0)
				append(&r->out, &r->outlen, buf, (size_t)n);
			else if (n > 0)
				append(&r->err, &r->errlen, buf, (size_t)n);
			else if (n == 0 || errno != EINTR) {
				close(*fd);
				*fd = -1;
			}
		}
		if (pin[1] >= 0 && fds[2].revents != 0) {
			n = write(pin[1], in + inoff, inlen - inoff);
			if (n > 0)
				inoff += (size_t)n;
			/* EPIPE: the program stopped reading; fine. */
			if (inoff == inlen ||
			    (n < 0 && errno != EAGAIN && errno != EINTR)) {
				close(pin[1]);
				pin[1] = -1;
			}
		}
	}
	if (pin[1] >= 0)
		close(pin[1]);
	while (waitpid(pid, &st, 0) < 0)
		ck_assert_int_eq(errno, EINTR);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	free(wrapcopy);
}

/* run(r, stdin_text, arg, ..., NULL) */
static void
run(struct run *r, const char *in, ...)
{
	const char *args[MAX_ARGS];
	int n = 0;
	va_list ap;

	va_start(ap, in);
	while ((args[n] = va_arg(ap, const char *)) != NULL)
		ck_assert_int_lt(++n, MAX_ARGS - 1);
	va_end(ap);
	run_v(r, in, args);
}

static void
run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/* ---- reading the output ---- */

static json_t *
parse_one(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &e);

	ck_assert_msg(j != NULL, "not JSON (%s): %s", e.text, text);
	ck_assert_msg(json_is_object(j), "not an object: %s", text);
	return j;
}

/* Splits stdout into lines, each one JSON object; returns their number. */
static int
out_lines(const struct run *r, json_t **lines, int max)
{
	char *copy = strdup(r->out), *p = copy, *nl;
	int n = 0;

	ck_assert_ptr_nonnull(copy);
	ck_assert_msg(r->outlen == 0 || r->out[r->outlen - 1] == '\n',
	    "stdout does not end in a newline: %s", r->out);
	while ((nl = strchr(p, '\n')) != NULL) {
		*nl = '\0';
		ck_assert_int_lt(n, max);
		lines[n++] = parse_one(p);
		p = nl + 1;
	}
	free(copy);
	return n;
}

/* Runs the program, which must succeed with exactly one JSON line and
 * nothing on stderr; returns that line (owned). */
static json_t *
one_result(const char *in, ...)
{
	const char *args[MAX_ARGS];
	struct run r;
	json_t *lines[2];
	int n = 0;
	va_list ap;

	va_start(ap, in);
	while ((args[n] = va_arg(ap, const char *)) != NULL)
		ck_assert_int_lt(++n, MAX_ARGS - 1);
	va_end(ap);
	run_v(&r, in, args);
	ck_assert_msg(r.status == 0, "exit %d, stderr: %s", r.status, r.err);
	ck_assert_msg(r.errlen == 0, "stderr: %s", r.err);
	n = out_lines(&r, lines, 2);
	ck_assert_int_eq(n, 1);
	run_free(&r);
	return lines[0];
}

static void
ck_int(const json_t *o, const char *key, int want)
{
	const json_t *v = json_object_get(o, key);

	ck_assert_msg(json_is_integer(v), "%s is not an integer", key);
	ck_assert_msg(json_integer_value(v) == want, "%s = %lld, want %d", key,
	    (long long)json_integer_value(v), want);
}

static void
ck_null(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	ck_assert_msg(json_is_null(v), "%s is not null", key);
}

static void
ck_str(const json_t *o, const char *key, const char *want)
{
	const json_t *v = json_object_get(o, key);

	ck_assert_msg(json_is_string(v), "%s is not a string", key);
	ck_assert_str_eq(json_string_value(v), want);
}

static void
ck_real(const json_t *o, const char *key, double want)
{
	const json_t *v = json_object_get(o, key);

	ck_assert_msg(json_is_number(v), "%s is not a number", key);
	ck_assert_msg(json_number_value(v) == want, "%s = %.17g, want %.17g",
	    key, json_number_value(v), want);
}

/* The array o[key] of strings, joined by spaces, must equal want. */
static void
ck_list(const json_t *o, const char *key, const char *want)
{
	const json_t *a = json_object_get(o, key);
	char got[512] = "";
	size_t k;
	json_t *v;

	ck_assert_msg(json_is_array(a), "%s is not an array", key);
	json_array_foreach(a, k, v)
	{
		ck_assert(json_is_string(v));
		if (k > 0)
			strcat(got, " ");
		strcat(got, json_string_value(v));
	}
	ck_assert_msg(
	    strcmp(got, want) == 0, "%s = [%s], want [%s]", key, got, want);
}

/* want -1: null (NA). */
static void
ck_iaqi(const json_t *o, const char *ind, int want)
{
	const json_t *iaqi = json_object_get(o, "iaqi");

	ck_assert_msg(json_is_object(iaqi), "no iaqi object");
	if (want < 0)
		ck_null(iaqi, ind);
	else
		ck_int(iaqi, ind, want);
}

/* The keys of iaqi, in order, joined by spaces. */
static void
ck_iaqi_keys(const json_t *o, const char *want)
{
	const json_t *iaqi = json_object_get(o, "iaqi");
	char got[512] = "";
	const char *key;
	json_t *v;

	ck_assert(json_is_object(iaqi));
	json_object_foreach((json_t *)(uintptr_t)iaqi, key, v)
	{
		if (got[0] != '\0')
			strcat(got, " ");
		strcat(got, key);
	}
	ck_assert_msg(
	    strcmp(got, want) == 0, "iaqi keys [%s], want [%s]", got, want);
}

static void
ck_one_line(const char *s)
{
	size_t n = strlen(s);

	ck_assert_msg(n > 1 && s[n - 1] == '\n', "not one line: '%s'", s);
	ck_assert_msg(
	    strchr(s, '\n') == s + n - 1, "more than a line: '%s'", s);
}

/* Asia/Shanghai has been UTC+8 all year since 1991. */
static void
today_shanghai(char *buf, size_t len)
{
	time_t t = time(NULL) + 8 * 3600;
	struct tm tm;

	ck_assert_ptr_nonnull(gmtime_r(&t, &tm));
	strftime(buf, len, "%Y-%m-%d", &tm);
}

/* ---- aqgrid aqi: HJ 633-2026 ---- */

START_TEST(test_2026_daily_pm25)
{
	char d0[16], d1[16];
	json_t *o;
	const char *key;
	json_t *v;
	char keys[512] = "";

	today_shanghai(d0, sizeof(d0));
	o = one_result(NULL, "aqi", "pm25_24h=80", NULL);
	today_shanghai(d1, sizeof(d1));
	/* 80 in [60, 115]: 100 + 50 * 20 / 55 = 118.18 -> 119. */
	ck_str(o, "standard", "hj633-2026");
	ck_str(o, "report", "daily");
	ck_int(o, "aqi", 119);
	ck_int(o, "level", 3);
	ck_str(o, "category", "轻度污染");
	ck_str(o, "category_en", "Lightly polluted");
	ck_str(o, "color", "#FF7E00");
	ck_list(o, "primary", "pm25_24h");
	ck_iaqi_keys(o, "pm25_24h pm10_24h so2_24h no2_24h co_24h o3_8h");
	ck_iaqi(o, "pm25_24h", 119);
	ck_iaqi(o, "o3_8h", -1);
	/* Transition grade II limit 60 (today is before 2031). */
	ck_list(o, "exceeds", "pm25_24h");
	ck_list(o, "na", "pm10_24h so2_24h no2_24h co_24h o3_8h");
	ck_list(o, "ignored", "");
	ck_list(o, "converted", "");
	ck_list(o, "notes", "");
	ck_str(o, "limits", "gb3095-2026");
	ck_int(o, "grade", 2);
	ck_assert(
	    strcmp(json_string_value(json_object_get(o, "date")), d0) == 0 ||
	    strcmp(json_string_value(json_object_get(o, "date")), d1) == 0);
	/* The keys in the documented order, and no others. */
	json_object_foreach(o, key, v)
	{
		if (keys[0] != '\0')
			strcat(keys, " ");
		strcat(keys, key);
	}
	ck_assert_str_eq(keys,
	    "standard report aqi level category category_en color primary "
	    "iaqi exceeds na ignored converted notes limits grade date");
	json_decref(o);
}
END_TEST

START_TEST(test_2026_daily_full)
{
	json_t *o = one_result(NULL, "aqi", "--date", "2026-06-01",
	    "pm25_24h=35.5", "pm10_24h=100", "so2_24h=40", "no2_24h=50",
	    "co_24h=2.2", "o3_8h=170", NULL);

	/*
	 * pm25 35.5 -> 36 (GB/T 8170, half to even): 50 + 50 * 1 / 25 = 52
	 * pm10 100 in [50, 120]: 50 + 50 * 50 / 70 = 85.71 -> 86
	 * so2 40 in [0, 50]: 40
	 * no2 50 in [40, 80]: 50 + 50 * 10 / 40 = 62.5 -> 63
	 * co 2.2 in [2, 4]: 50 + 50 * 0.2 / 2 = 55 exactly (not 56)
	 * o3_8h 170 in [160, 215]: 100 + 50 * 10 / 55 = 109.09 -> 110
	 */
	ck_int(o, "aqi", 110);
	ck_int(o, "level", 3);
	ck_list(o, "primary", "o3_8h");
	ck_iaqi(o, "pm25_24h", 52);
	ck_iaqi(o, "pm10_24h", 86);
	ck_iaqi(o, "so2_24h", 40);
	ck_iaqi(o, "no2_24h", 63);
	ck_iaqi(o, "co_24h", 55);
	ck_iaqi(o, "o3_8h", 110);
	ck_list(o, "na", "");
	/* Grade II transition: only O3 (160) is above its limit. */
	ck_list(o, "exceeds", "o3_8h");
	ck_str(o, "date", "2026-06-01");
	json_decref(o);
}
END_TEST

START_TEST(test_2026_levels)
{
	json_t *o;

	/* Every IAQI small and all six present: level I, no primary.
	 * 10*50/35 = 14.3 -> 15; 20; 5; 10*50/40 = 12.5 -> 13;
	 * 0.5*50/2 = 12.5 -> 13; 50*50/100 = 25. */
	o = one_result(NULL, "aqi", "--date", "2026-06-01", "pm25_24h=10",
	    "pm10_24h=20", "so2_24h=5", "no2_24h=10", "co_24h=0.5", "o3_8h=50",
	    NULL);
	ck_int(o, "aqi", 25);
	ck_int(o, "level", 1);
	ck_str(o, "category", "优");
	ck_str(o, "category_en", "Excellent");
	ck_str(o, "color", "#00E400");
	ck_list(o, "primary", "");
	ck_iaqi(o, "pm25_24h", 15);
	ck_iaqi(o, "no2_24h", 13);
	ck_iaqi(o, "co_24h", 13);
	json_decref(o);

	/* 200 in [150, 250]: 200 + 100 * 50 / 100 = 250, level V ("--" ends
	 * the options). */
	o = one_result(NULL, "aqi", "--", "pm25_24h=200", NULL);
	ck_int(o, "aqi", 250);
	ck_int(o, "level", 5);
	ck_str(o, "category", "重度污染");
	ck_str(o, "category_en", "Heavily polluted");
	ck_str(o, "color", "#99004C");
	json_decref(o);

	/* A tie lists both: pm10 168 in [120, 250]: 100 + 50 * 48 / 130 =
	 * 118.46 -> 119, as pm25 80. */
	o = one_result(NULL, "aqi", "pm10_24h=168", "pm25_24h=80", NULL);
	ck_int(o, "aqi", 119);
	ck_list(o, "primary", "pm25_24h pm10_24h");
	json_decref(o);

	/* 2026 s5.3.1: with pollutants missing and AQI <= 100, only the
	 * IAQIs are shown.  50 in [35, 60]: 50 + 50 * 15 / 25 = 80. */
	o = one_result(NULL, "aqi", "pm25_24h=50", NULL);
	ck_null(o, "aqi");
	ck_null(o, "level");
	ck_null(o, "category");
	ck_null(o, "category_en");
	ck_null(o, "color");
	ck_list(o, "primary", "");
	ck_iaqi(o, "pm25_24h", 80);
	ck_assert_int_eq(json_array_size(json_object_get(o, "notes")), 1);
	json_decref(o);
}
END_TEST

START_TEST(test_2026_hourly)
{
	json_t *o;

	/* A 1-hour value makes the report hourly.  pm25_1h 80 reads the
	 * 24-hour column: 119; o3_1h 250 in [200, 300] of the 1-hour
	 * column: 100 + 50 * 50 / 100 = 125. */
	o = one_result(NULL, "aqi", "pm25_1h=80", "o3_1h=250", NULL);
	ck_str(o, "report", "hourly");
	ck_int(o, "aqi", 125);
	ck_int(o, "level", 3);
	ck_list(o, "primary", "o3_1h");
	ck_iaqi_keys(o, "pm25_1h pm10_1h so2_1h no2_1h co_1h o3_1h");
	ck_iaqi(o, "pm25_1h", 119);
	ck_iaqi(o, "o3_1h", 125);
	ck_list(o, "na", "pm10_1h so2_1h no2_1h co_1h");
	/* pm25_1h has no limit; O3 1 h grade II is 200. */
	ck_list(o, "exceeds", "o3_1h");
	json_decref(o);

	/* A daily value in an hourly report is ignored by the AQI but
	 * still held to its limit (80 > 60). */
	o = one_result(NULL, "aqi", "pm25_1h=80", "pm25_24h=80", NULL);
	ck_str(o, "report", "hourly");
	ck_list(o, "ignored", "pm25_24h");
	ck_list(o, "exceeds", "pm25_24h");
	json_decref(o);

	/* --report daily overrides the default. */
	o = one_result(NULL, "aqi", "--report", "daily", "pm25_1h=80",
	    "pm25_24h=80", NULL);
	ck_str(o, "report", "daily");
	ck_list(o, "ignored", "pm25_1h");
	ck_iaqi(o, "pm25_24h", 119);
	json_decref(o);

	/* --report hourly with daily values only. */
	o = one_result(NULL, "aqi", "--report=hourly", "pm25_24h=80", NULL);
	ck_str(o, "report", "hourly");
	ck_list(o, "ignored", "pm25_24h");
	ck_null(o, "aqi");
	json_decref(o);

	/* SO2 1 h above 800 counts as 200 under 2026; 900 > 500 exceeds. */
	o = one_result(NULL, "aqi", "so2_1h=900", NULL);
	ck_int(o, "aqi", 200);
	ck_int(o, "level", 4);
	ck_str(o, "category", "中度污染");
	ck_str(o, "category_en", "Moderately polluted");
	ck_str(o, "color", "#FF0000");
	ck_list(o, "notes", "SO2 1h > 800 counted as 200");
	ck_list(o, "exceeds", "so2_1h");
	json_decref(o);
}
END_TEST

START_TEST(test_units)
{
	json_t *o;

	/* so2_1h 80 ppb = 80 * 64.066 / 24.465 = 209.49 ug/m3 -> 209;
	 * in [150, 500]: 50 + 50 * 59 / 350 = 58.43 -> 59.  Alone and <= 100
	 * the AQI is NA (2026 s5.3.1). */
	o = one_result(NULL, "aqi", "so2_1h=80ppb", NULL);
	ck_iaqi(o, "so2_1h", 59);
	ck_list(o, "converted", "so2_1h");
	ck_null(o, "aqi");
	json_decref(o);

	/* The same in ug/m3 and in mg/m3 converts nothing, or exactly. */
	o = one_result(NULL, "aqi", "so2_1h=209", NULL);
	ck_iaqi(o, "so2_1h", 59);
	ck_list(o, "converted", "");
	json_decref(o);
	o = one_result(NULL, "aqi", "so2_1h=0.209mg/m3", NULL);
	ck_iaqi(o, "so2_1h", 59);
	json_decref(o);

	/* o3_8h 0.071 ppm = 71 * 47.997 / 24.465 = 139.29 ug/m3 -> 139;
	 * in [100, 160]: 50 + 50 * 39 / 60 = 82.5 -> 83. */
	o = one_result(NULL, "aqi", "o3_8h=0.071ppm", "pm25_24h=80", NULL);
	ck_iaqi(o, "o3_8h", 83);
	ck_iaqi(o, "pm25_24h", 119);
	ck_list(o, "converted", "o3_8h");
	json_decref(o);

	/* CO defaults to mg/m3: 1.2 in [0, 5] of the 1-hour column:
	 * 50 * 1.2 / 5 = 12.  co_24h 2 ppm = 2 * 28.010 / 24.465 = 2.2898
	 * mg/m3 -> 2.3: 50 + 50 * 0.3 / 2 = 57.5 -> 58. */
	o = one_result(NULL, "aqi", "co_1h=1.2mg/m3", NULL);
	ck_iaqi(o, "co_1h", 12);
	ck_list(o, "converted", "");
	json_decref(o);
	o = one_result(NULL, "aqi", "co_1h=1.2", NULL);
	ck_iaqi(o, "co_1h", 12);
	json_decref(o);
	o = one_result(NULL, "aqi", "co_24h=2ppm", NULL);
	ck_iaqi(o, "co_24h", 58);
	ck_list(o, "converted", "co_24h");
	json_decref(o);

	/* Limits in ppb: NO2 1 h 107 ppb = 201.2 ug/m3 > 200; 106 ppb =
	 * 199.3 complies. */
	o = one_result(NULL, "aqi", "no2_1h=107ppb", NULL);
	ck_list(o, "exceeds", "no2_1h");
	json_decref(o);
	o = one_result(NULL, "aqi", "no2_1h=106ppb", NULL);
	ck_list(o, "exceeds", "");
	json_decref(o);
}
END_TEST

/* ---- HJ 633-2012 ---- */

START_TEST(test_2012)
{
	json_t *o;
	const char *key;
	json_t *v;
	char keys[512] = "";

	/* No input rounding.  pm25 80 in [75, 115]: 100 + 50 * 5 / 40 =
	 * 106.25 -> 107; pm10 160 in [150, 250]: 100 + 50 * 10 / 100 = 105.
	 * GB 3095-2012 grade II: 75 and 150, both exceeded. */
	o = one_result(NULL, "aqi", "--standard", "hj633-2012", "--limits",
	    "gb3095-2012", "--date", "2020-01-01", "pm25_24h=80",
	    "pm10_24h=160", NULL);
	ck_str(o, "standard", "hj633-2012");
	ck_str(o, "report", "daily");
	ck_int(o, "aqi", 107);
	ck_int(o, "level", 3);
	ck_list(o, "primary", "pm25_24h");
	ck_list(o, "nonattainment", "pm25_24h pm10_24h");
	ck_iaqi_keys(o, "pm25_24h pm10_24h so2_24h no2_24h co_24h o3_1h o3_8h");
	ck_iaqi(o, "pm25_24h", 107);
	ck_iaqi(o, "pm10_24h", 105);
	ck_list(o, "na", "so2_24h no2_24h co_24h o3_1h o3_8h");
	ck_list(o, "exceeds", "pm25_24h pm10_24h");
	ck_str(o, "limits", "gb3095-2012");
	ck_str(o, "date", "2020-01-01");
	json_object_foreach(o, key, v)
	{
		if (keys[0] != '\0')
			strcat(keys, " ");
		strcat(keys, key);
	}
	ck_assert_str_eq(keys,
	    "standard report aqi level category category_en color primary "
	    "iaqi exceeds nonattainment na ignored converted notes limits "
	    "grade date");
	json_decref(o);

	/* 35 gives 50 and 35.01 gives 51 [STANDARDS 1.2]. */
	o = one_result(
	    NULL, "aqi", "--standard", "hj633-2012", "pm25_24h=35", NULL);
	ck_int(o, "aqi", 50);
	ck_int(o, "level", 1);
	ck_list(o, "primary", "");
	ck_list(o, "nonattainment", "");
	json_decref(o);
	o = one_result(
	    NULL, "aqi", "--standard", "hj633-2012", "pm25_24h=35.01", NULL);
	ck_int(o, "aqi", 51);
	ck_int(o, "level", 2);
	ck_str(o, "category", "良");
	ck_str(o, "category_en", "Good");
	ck_str(o, "color", "#FFFF00");
	ck_list(o, "primary", "pm25_24h");
	json_decref(o);

	/* The editions differ at IAQI 100 for PM: 70 gives 94 under 2012
	 * (50 + 50 * 35 / 40 = 93.75) and 110 under 2026 (100 + 50 * 10 / 55
	 * = 109.09). */
	o = one_result(
	    NULL, "aqi", "--standard=hj633-2012", "pm25_24h=70", NULL);
	ck_int(o, "aqi", 94);
	json_decref(o);
	o = one_result(
	    NULL, "aqi", "--standard=hj633-2026", "pm25_24h=70", NULL);
	ck_int(o, "aqi", 110);
	ck_assert_ptr_null(json_object_get(o, "nonattainment"));
	json_decref(o);

	/* Hourly: PM 1-hour read against the 24-hour column (D1): 107. */
	o = one_result(
	    NULL, "aqi", "--standard", "hj633-2012", "pm25_1h=80", NULL);
	ck_str(o, "report", "hourly");
	ck_int(o, "aqi", 107);
	ck_iaqi(o, "pm25_1h", 107);
	json_decref(o);
}
END_TEST

/* ---- US EPA 2024 ---- */

START_TEST(test_epa)
{
	json_t *o;

	/* 35.5 starts the 101-150 row: 101. */
	o = one_result(
	    NULL, "aqi", "--standard", "epa-2024", "pm25_24h=35.5", NULL);
	ck_str(o, "standard", "epa-2024");
	ck_int(o, "aqi", 101);
	ck_int(o, "level", 3);
	ck_str(o, "category", "对敏感人群不健康");
	ck_str(o, "category_en", "Unhealthy for Sensitive Groups");
	ck_str(o, "color", "#FF7E00");
	ck_list(o, "primary", "pm25_24h");
	ck_iaqi_keys(
	    o, "pm25_24h pm10_24h so2_1h so2_24h no2_1h co_8h o3_1h o3_8h");
	json_decref(o);

	/* Truncation: 55.45 -> 55.4, the top of the row: 150. */
	o = one_result(
	    NULL, "aqi", "--standard", "epa-2024", "pm25_24h=55.45", NULL);
	ck_int(o, "aqi", 150);
	json_decref(o);

	/* 12.0 in 9.1-35.4: 51 + 49 * 2.9 / 26.3 = 56.40 -> 56. */
	o = one_result(
	    NULL, "aqi", "--standard", "epa-2024", "pm25_24h=12", NULL);
	ck_int(o, "aqi", 56);
	ck_int(o, "level", 2);
	ck_str(o, "category_en", "Moderate");
	json_decref(o);

	/* Half up: o3_8h 0.078 in 0.071-0.085: 101 + 49 * 0.007 / 0.014 =
	 * 125.5 -> 126. */
	o = one_result(
	    NULL, "aqi", "--standard", "epa-2024", "o3_8h=0.078ppm", NULL);
	ck_int(o, "aqi", 126);
	ck_list(o, "converted", "");
	json_decref(o);

	/* o3_8h 153 ug/m3 = 153 * 24.465 / 47.997 = 77.987 ppb -> 0.077 ppm:
	 * 101 + 49 * 0.006 / 0.014 = 122. */
	o = one_result(
	    NULL, "aqi", "--standard", "epa-2024", "o3_8h=153", NULL);
	ck_int(o, "aqi", 122);
	ck_list(o, "converted", "o3_8h");
	json_decref(o);

	/* 150 in 125.5-225.4: 201 + 99 * 24.5 / 99.9 = 225.28 -> 225. */
	o = one_result(
	    NULL, "aqi", "--standard", "epa-2024", "pm25_24h=150", NULL);
	ck_int(o, "aqi", 225);
	ck_int(o, "level", 5);
	ck_str(o, "category_en", "Very Unhealthy");
	ck_str(o, "color", "#8F3F97");
	json_decref(o);
}
END_TEST

START_TEST(test_epa_cap)
{
	json_t *o;

	/* 400 above 325.4, extrapolated on the 301-500 row: 301 + 199 *
	 * 174.5 / 99.9 = 648.60 -> 649; --cap: 500. */
	o = one_result(
	    NULL, "aqi", "--standard", "epa-2024", "pm25_24h=400", NULL);
	ck_int(o, "aqi", 649);
	ck_int(o, "level", 6);
	ck_str(o, "category_en", "Hazardous");
	ck_str(o, "color", "#7E0023");
	ck_assert_int_eq(json_array_size(json_object_get(o, "notes")), 1);
	json_decref(o);
	o = one_result(NULL, "aqi", "--standard", "epa-2024", "--cap",
	    "pm25_24h=400", NULL);
	ck_int(o, "aqi", 500);
	ck_int(o, "level", 6);
	ck_assert_int_eq(json_array_size(json_object_get(o, "notes")), 1);
	json_decref(o);
	/* --cap means nothing for China, which caps at 500 anyway (D2). */
	o = one_result(NULL, "aqi", "--cap", "pm25_24h=900", NULL);
	ck_int(o, "aqi", 500);
	json_decref(o);
}
END_TEST

/* ---- limits: date and grade ---- */

START_TEST(test_limits_date)
{
	json_t *o;

	/* PM2.5 daily grade II: 60 to 2030-12-31, 50 from 2031-01-01. */
	o = one_result(
	    NULL, "aqi", "--date", "2031-01-01", "pm25_24h=55", NULL);
	ck_list(o, "exceeds", "pm25_24h");
	ck_str(o, "date", "2031-01-01");
	json_decref(o);
	o = one_result(
	    NULL, "aqi", "--date", "2030-12-31", "pm25_24h=55", NULL);
	ck_list(o, "exceeds", "");
	json_decref(o);
	o = one_result(NULL, "aqi", "--date=2031-01-01", "--limits",
	    "gb3095-2012", "pm25_24h=55", NULL);
	ck_list(o, "exceeds", "");
	ck_str(o, "limits", "gb3095-2012");
	json_decref(o);
	/* Equal complies: 60 on the last transition day. */
	o = one_result(
	    NULL, "aqi", "--date", "2030-12-31", "pm25_24h=60", NULL);
	ck_list(o, "exceeds", "");
	json_decref(o);
	/* Annual indicators feed only the limits: 2031 grade II PM2.5 25. */
	o = one_result(NULL, "aqi", "--date", "2031-01-01", "pm25_annual=26",
	    "no2_annual=30", NULL);
	ck_list(o, "exceeds", "pm25_annual");
	ck_list(o, "ignored", "");
	ck_assert_ptr_null(
	    json_object_get(json_object_get(o, "iaqi"), "pm25_annual"));
	json_decref(o);
}
END_TEST

START_TEST(test_limits_grade)
{
	json_t *o;

	/* Grade I transition: pm25 35.5 > 35, pm10 100 > 50, so2 40 <= 50,
	 * no2 50 <= 80, co 2.2 <= 4, o3_8h 170 > 100. */
	o = one_result(NULL, "aqi", "--grade", "1", "--date", "2026-06-01",
	    "pm25_24h=35.5", "pm10_24h=100", "so2_24h=40", "no2_24h=50",
	    "co_24h=2.2", "o3_8h=170", NULL);
	ck_list(o, "exceeds", "pm25_24h pm10_24h o3_8h");
	ck_int(o, "grade", 1);
	json_decref(o);
	/* Grade I final: no2 daily 50, equal, still complies. */
	o = one_result(NULL, "aqi", "--grade=1", "--date", "2031-01-01",
	    "no2_24h=50", "so2_24h=50.001", NULL);
	ck_list(o, "exceeds", "so2_24h");
	json_decref(o);
}
END_TEST

/* ---- standard input ---- */

START_TEST(test_stdin)
{
	struct run r;
	json_t *l[MAX_LINES];
	int n;

	run(&r,
	    "{\"pm25_24h\":80}\n"
	    "\n"
	    "{\"o3_8h\":{\"value\":0.071,\"unit\":\"ppm\"},"
	    "\"pm25_24h\":\"80ug/m3\"}\n"
	    "{\"pm2_1h\":5}\n"
	    "this is not JSON\n"
	    "   \n"
	    "{\"so2_1h\":\"80ppb\",\"pm10_1h\":null}\n"
	    "{\"o3_8h\":\"0.071ppm\",\"pm25_24h\":80.0}\n"
	    "{\"pm25_24h\":-1}\n"
	    "[1,2]\n"
	    "{\"pm25_24h\":80}",
	    "aqi", "--date", "2031-01-01", NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert_msg(r.errlen == 0, "stderr: %s", r.err);
	n = out_lines(&r, l, MAX_LINES);
	ck_assert_int_eq(n, 9);
	ck_int(l[0], "aqi", 119);
	ck_str(l[0], "date", "2031-01-01");
	ck_list(l[0], "exceeds", "pm25_24h");
	/* Line 3: O3 0.071 ppm -> 139 ug/m3 -> 83; PM2.5 119. */
	ck_int(l[1], "aqi", 119);
	ck_iaqi(l[1], "o3_8h", 83);
	ck_list(l[1], "converted", "o3_8h");
	ck_str(l[2], "error", "line 4: unknown indicator 'pm2_1h'");
	ck_assert(strncmp(json_string_value(json_object_get(l[3], "error")),
		      "line 5: ", 8) == 0);
	/* Line 7 is hourly on its own (so2_1h), null is missing. */
	ck_str(l[4], "report", "hourly");
	ck_iaqi(l[4], "so2_1h", 59);
	ck_iaqi(l[4], "pm10_1h", -1);
	ck_list(l[4], "na", "pm25_1h pm10_1h no2_1h co_1h o3_1h");
	/* Line 8: the string form and a real number. */
	ck_str(l[5], "report", "daily");
	ck_iaqi(l[5], "o3_8h", 83);
	ck_iaqi(l[5], "pm25_24h", 119);
	ck_assert(strncmp(json_string_value(json_object_get(l[6], "error")),
		      "line 9: negative", 16) == 0);
	ck_assert(strncmp(json_string_value(json_object_get(l[7], "error")),
		      "line 10: ", 9) == 0);
	/* The last line has no newline and still counts. */
	ck_int(l[8], "aqi", 119);
	for (int k = 0; k < n; k++)
		json_decref(l[k]);
	run_free(&r);
}
END_TEST

START_TEST(test_stdin_ok)
{
	struct run r;
	json_t *l[MAX_LINES];
	int n;

	/* Options apply to every line; all good: exit 0. */
	run(&r,
	    "{\"pm25_24h\":35.5}\n"
	    "{\"o3_8h\":{\"value\":\"0.078\",\"unit\":\"ppm\"}}\n"
	    "{}\n",
	    "aqi", "--standard", "epa-2024", NULL);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	n = out_lines(&r, l, MAX_LINES);
	ck_assert_int_eq(n, 3);
	ck_int(l[0], "aqi", 101);
	ck_str(l[0], "standard", "epa-2024");
	ck_int(l[1], "aqi", 126);
	/* Nothing given: every indicator NA. */
	ck_null(l[2], "aqi");
	for (int k = 0; k < n; k++)
		json_decref(l[k]);
	run_free(&r);

	/* No input at all: no output, success. */
	run(&r, NULL, "aqi", NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_uint_eq(r.outlen, 0);
	ck_assert_uint_eq(r.errlen, 0);
	run_free(&r);
}
END_TEST

START_TEST(test_stdin_bad_values)
{
	static const char *const lines[] = {
	    "{\"pm25_24h\":\"80ppb\"}",                    /* PM in ppb */
	    "{\"pm25_24h\":\"abc\"}",                      /* not a number */
	    "{\"pm25_24h\":true}",                         /* wrong type */
	    "{\"pm25_24h\":{\"value\":1,\"unit\":\"x\"}}", /* bad unit */
	    "{\"pm25_24h\":{\"unit\":\"ug/m3\"}}",         /* no value */
	    "{\"pm25_24h\":{\"value\":1,\"foo\":1}}",      /* unknown key */
	    "{\"pm25_24h\":1,\"pm25_24h\":2}",             /* duplicate */
	    "{\"pm25_24h\":1e300}",                        /* out of range */
	    "{\"pm25_24h\":\"1e5\"}",                      /* exponent */
	    "{\"so2_1h\":{\"value\":\"8ppb\",\"unit\":\"ppb\"}}", /* 2 units */
	    "{\"pm25_24h\":\"\xff\"}",    /* not UTF-8 */
	    "\xff\xfe",                   /* not UTF-8 */
	    "{\"pm25_24h\":1}{}",         /* two objects */
	    "{\"pm25_24h\":-0.5}",        /* negative */
	    "{\"pm25_24h\":\"5 ug/m3\"}", /* a space */
	};
	struct run r;
	char in[1024] = "";
	json_t *l[MAX_LINES];
	int n, nl = (int)(sizeof(lines) / sizeof(lines[0]));

	for (int k = 0; k < nl; k++) {
		strcat(in, lines[k]);
		strcat(in, "\n");
	}
	run(&r, in, "aqi", NULL);
	ck_assert_int_eq(r.status, 1);
	n = out_lines(&r, l, MAX_LINES);
	ck_assert_int_eq(n, nl);
	for (int k = 0; k < n; k++) {
		char want[32];
		const char *e =
		    json_string_value(json_object_get(l[k], "error"));

		snprintf(want, sizeof(want), "line %d: ", k + 1);
		ck_assert_msg(e != NULL && strncmp(e, want, strlen(want)) == 0,
		    "line %d: %s", k + 1, lines[k]);
		ck_assert_int_eq(json_object_size(l[k]), 1);
		json_decref(l[k]);
	}
	run_free(&r);
}
END_TEST

/* Input is bounded: a line past 64 KiB is refused without parsing, and
 * the next line goes on. */
START_TEST(test_stdin_long)
{
	static const char head[] = "{\"pm25_24h\":", tail[] = "}\n";
	static const char next[] = "{\"pm25_24h\":80}\n";
	size_t big = 70000, o = 0;
	char *in = malloc(big + sizeof(head) + sizeof(tail) + sizeof(next));
	struct run r;
	json_t *l[MAX_LINES];
	int n;

	ck_assert_ptr_nonnull(in);
	memcpy(in, head, sizeof(head) - 1);
	o += sizeof(head) - 1;
	memset(in + o, '1', big);
	o += big;
	memcpy(in + o, tail, sizeof(tail) - 1);
	o += sizeof(tail) - 1;
	memcpy(in + o, next, sizeof(next));
	run(&r, in, "aqi", NULL);
	ck_assert_int_eq(r.status, 1);
	n = out_lines(&r, l, MAX_LINES);
	ck_assert_int_eq(n, 2);
	ck_str(l[0], "error", "line 1: line too long");
	ck_int(l[1], "aqi", 119);
	for (int k = 0; k < n; k++)
		json_decref(l[k]);
	run_free(&r);
	free(in);
}
END_TEST

/* ---- nowcast ---- */

START_TEST(test_nowcast)
{
	json_t *o;

	/* Equal hours: w = 1, NowCast 12.0; AQI 51 + 49 * 2.9 / 26.3 =
	 * 56.40 -> 56. */
	o = one_result(
	    NULL, "nowcast", "--pollutant", "pm25", "12", "12", "12", NULL);
	ck_real(o, "nowcast", 12.0);
	ck_int(o, "aqi", 56);
	json_decref(o);

	/* 20, 10: w = 0.5; (20 + 5) / 1.5 = 16.67 -> 16.6; AQI 51 + 49 *
	 * 7.5 / 26.3 = 64.97 -> 65. */
	o = one_result(
	    NULL, "nowcast", "--pollutant", "pm25", "20", "10", NULL);
	ck_real(o, "nowcast", 16.6);
	ck_int(o, "aqi", 65);
	json_decref(o);

	/* 30, NA, 10, 5: 2 of 3 present; w = 5/30 -> 0.5; (30 + 0.25 * 10 +
	 * 0.125 * 5) / (1 + 0.25 + 0.125) = 33.125 / 1.375 = 24.09 -> 24.0;
	 * AQI 51 + 49 * 14.9 / 26.3 = 78.76 -> 79. */
	o = one_result(NULL, "nowcast", "--pollutant", "pm25", "30", "NA", "10",
	    "5", NULL);
	ck_real(o, "nowcast", 24.0);
	ck_int(o, "aqi", 79);
	json_decref(o);

	/* NA, 40, 20: w = 0.5; (0.5 * 40 + 0.25 * 20) / 0.75 = 33.33 ->
	 * 33.3; AQI 51 + 49 * 24.2 / 26.3 = 96.09 -> 96. */
	o = one_result(
	    NULL, "nowcast", "--pollutant", "pm25", "NA", "40", "20", NULL);
	ck_real(o, "nowcast", 33.3);
	ck_int(o, "aqi", 96);
	json_decref(o);

	/* NA, 30, 20: w = 2/3; (20 + 80/9) / (10/9) = 26 exactly, which an
	 * exact computation must not truncate to 25.9; AQI 51 + 49 * 16.9 /
	 * 26.3 = 82.49 -> 82. */
	o = one_result(
	    NULL, "nowcast", "--pollutant", "pm25", "NA", "30", "20", NULL);
	ck_real(o, "nowcast", 26.0);
	ck_int(o, "aqi", 82);
	json_decref(o);

	/* Fewer than 2 of the 3 latest hours: NA, not an error. */
	o = one_result(NULL, "nowcast", "--pollutant", "pm25", "30", "NA", "NA",
	    "10", "10", NULL);
	ck_null(o, "nowcast");
	ck_null(o, "aqi");
	json_decref(o);
	o = one_result(NULL, "nowcast", "--pollutant", "pm25", "30", NULL);
	ck_null(o, "nowcast");
	json_decref(o);

	/* PM10 100, 50: (100 + 25) / 1.5 = 83.3 -> 83; AQI 51 + 49 * 28 /
	 * 99 = 64.86 -> 65. */
	o = one_result(
	    NULL, "nowcast", "--pollutant", "pm10", "100", "50", NULL);
	ck_real(o, "nowcast", 83.0);
	ck_int(o, "aqi", 65);
	json_decref(o);

	/* PM with a zero hour: w = 0 -> 0.5; 10 / 1.5 = 6.67 -> 6.6; AQI
	 * 50 * 6.6 / 9 = 36.67 -> 37. */
	o = one_result(NULL, "nowcast", "--pollutant", "pm25", "10", "0", NULL);
	ck_real(o, "nowcast", 6.6);
	ck_int(o, "aqi", 37);
	json_decref(o);
}
END_TEST

START_TEST(test_nowcast_o3)
{
	json_t *o;

	/* O3 0.080, 0.040: w = 0.5; 0.1 / 1.5 = 0.0667 -> 0.066; AQI 51 +
	 * 49 * 0.011 / 0.015 = 86.93 -> 87. */
	o = one_result(
	    NULL, "nowcast", "--pollutant", "o3", "0.080", "0.040", NULL);
	ck_real(o, "nowcast", 0.066);
	ck_int(o, "aqi", 87);
	json_decref(o);

	/* No minimum weight for O3: 0.080, 0.020 gives w = 0.25 and
	 * 0.085 / 1.25 = 0.068; AQI 51 + 49 * 0.013 / 0.015 = 93.47 -> 93. */
	o = one_result(
	    NULL, "nowcast", "--pollutant", "o3", "0.080", "0.020", NULL);
	ck_real(o, "nowcast", 0.068);
	ck_int(o, "aqi", 93);
	json_decref(o);

	/* c_min = 0 gives w = 0: only the current hour counts (D7);
	 * AQI 51 + 49 * 0.005 / 0.015 = 67.33 -> 67. */
	o = one_result(
	    NULL, "nowcast", "--pollutant", "o3", "0.060", "0", NULL);
	ck_real(o, "nowcast", 0.06);
	ck_int(o, "aqi", 67);
	json_decref(o);

	/* Legacy O3 uses 8 hours: the four older ones do not count, so
	 * w = 1 and the NowCast is 0.050; AQI 50 * 0.050 / 0.054 = 46.30
	 * -> 46. */
	o = one_result(NULL, "nowcast", "--pollutant", "o3", "0.050", "0.050",
	    "0.050", "0.050", "0.050", "0.050", "0.050", "0.050", "0.100",
	    "0.100", "0.100", "0.100", NULL);
	ck_real(o, "nowcast", 0.05);
	ck_int(o, "aqi", 46);
	json_decref(o);

	/* Above 0.200 ppm the 8-hour rows define no AQI (D6). */
	o = one_result(
	    NULL, "nowcast", "--pollutant", "o3", "0.250", "0.250", NULL);
	ck_real(o, "nowcast", 0.25);
	ck_null(o, "aqi");
	json_decref(o);
}
END_TEST

/* ---- help, version, bad arguments ---- */

START_TEST(test_help)
{
	static const char *const forms[][5] = {
	    {"--help", NULL, NULL},
	    {"help", NULL, NULL},
	    {"-h", NULL, NULL},
	    {"help", "aqi", NULL},
	    {"aqi", "--help", NULL},
	    {"nowcast", "--help", NULL},
	    {"--help", "nowcast", NULL},
	    {"status", "--help", NULL},
	    {"cells", "-h", NULL},
	    {"help", "cell", NULL},
	    {"cell", "--url", "http://127.0.0.1:1", "--help", NULL},
	};
	struct run r;

	for (size_t k = 0; k < sizeof(forms) / sizeof(forms[0]); k++) {
		run_v(&r, NULL, forms[k]);
		ck_assert_msg(
		    r.status == 0, "%s: exit %d", forms[k][0], r.status);
		ck_assert_uint_eq(r.errlen, 0);
		ck_assert(strstr(r.out, "usage: aqgrid") != NULL);
		if (k < 3) {
			ck_assert(
			    strstr(r.out, "aqgrid aqi [--standard") != NULL);
			ck_assert(strstr(r.out, "aqgrid nowcast --pollutant") !=
			    NULL);
			ck_assert(
			    strstr(r.out,
				"aqgrid cells [--url URL] [--area AREA]") !=
			    NULL);
			ck_assert(strstr(r.out, "AQGRID_URL") != NULL);
		}
		/* The subcommands that ask the daemon, without asking it. */
		if (k >= 7)
			ck_assert(strstr(r.out, "--url URL") != NULL);
		if (k < 5)
			ck_assert(strstr(r.out, "daily when no *_1h") != NULL);
		run_free(&r);
	}
	run(&r, NULL, "--version", NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "aqgrid 0.1.0\n");
	ck_assert_uint_eq(r.errlen, 0);
	run_free(&r);
}
END_TEST

static const struct bad_case bad_cases[] = {
    {{NULL}, "subcommand"},
    {{"frobnicate"}, "'frobnicate'"},
    {{"--frobnicate"}, "'--frobnicate'"},
    {{"aqi", "--frobnicate", "pm25_24h=1"}, "'--frobnicate'"},
    {{"aqi", "-x", "pm25_24h=1"}, "'-x'"},
    {{"aqi", "pm2_1h=5"}, "unknown indicator 'pm2_1h'"},
    {{"aqi", "pm25_24h"}, "'pm25_24h'"},
    {{"aqi", "pm25_24h=abc"}, "'abc'"},
    {{"aqi", "pm25_24h="}, "pm25_24h"},
    {{"aqi", "pm25_24h=nan"}, "'nan'"},
    {{"aqi", "pm25_24h=1e5"}, "'1e5'"},
    {{"aqi", "pm25_24h=-5"}, "'-5'"},
    {{"aqi", "pm25_24h=80xyz"}, "'xyz'"},
    {{"aqi", "so2_1h=5ppt"}, "'ppt'"},
    {{"aqi", "pm25_24h=5ppb"}, "ppb"},
    {{"aqi", "so2_1h=999999999ppm"}, "so2_1h"},
    {{"aqi", "pm25_24h=80", "pm25_24h=81"}, "duplicate indicator 'pm25_24h'"},
    {{"aqi", "pm25_24h=1", "--standard"}, "'--standard'"},
    {{"aqi", "pm25_24h=1", "--date"}, "'--date'"},
    {{"aqi", "--standard", "hj633", "pm25_24h=1"}, "'hj633'"},
    {{"aqi", "--report", "weekly", "pm25_24h=1"}, "'weekly'"},
    {{"aqi", "--limits", "who2021", "pm25_24h=1"}, "'who2021'"},
    {{"aqi", "--grade", "3", "pm25_24h=1"}, "'3'"},
    {{"aqi", "--date", "2030-02-30", "pm25_24h=1"}, "'2030-02-30'"},
    {{"aqi", "--date", "2031/01/01", "pm25_24h=1"}, "'2031/01/01'"},
    {{"aqi", "--cap=yes", "pm25_24h=1"}, "'--cap'"},
    {{"aqi", "pm\n25=1"}, "pm\\x0a25"},
    {{"aqi", "--", "--cap"}, "'--cap'"},
    {{"nowcast", "12", "12"}, "--pollutant"},
    {{"nowcast", "--pollutant", "so2", "12"}, "'so2'"},
    {{"nowcast", "--pollutant", "pm25"}, "values"},
    {{"nowcast", "--pollutant", "pm25", "12", "x"}, "'x'"},
    {{"nowcast", "--pollutant", "pm25", "12", "-3"}, "'-3'"},
    {{"nowcast", "--pollutant", "pm25", "12", "12ug/m3"}, "'12ug/m3'"},
    {{"nowcast", "--pollutant", "pm25", "1", "2", "3", "4", "5", "6", "7", "8",
	 "9", "10", "11", "12", "13"},
	"at most 12"},
    {{"nowcast", "--pollutant"}, "'--pollutant'"},
    {{"nowcast", "--bogus"}, "'--bogus'"},
    {{"help", "frobnicate"}, "'frobnicate'"},
    /* status, cells and cell refuse these before asking anything. */
    {{"status", "--bogus"}, "'--bogus'"},
    {{"status", "extra"}, "'extra'"},
    {{"status", "--url"}, "'--url'"},
    {{"status", "--url", "ftp://host"}, "'ftp://host'"},
    {{"status", "--url", "http://"}, "'http://'"},
    {{"status", "--url", "http://host/a b"}, "'http://host/a b'"},
    {{"status", "--url", "http://host/?x=1"}, "'http://host/?x=1'"},
    {{"status", "--json=yes"}, "'--json'"},
    {{"status", "--area", "north"}, "'--area'"},
    {{"cells", "--sort", "name"}, "'name'"},
    {{"cells", "--limit", "0"}, "'0'"},
    {{"cells", "--limit", "1000001"}, "'1000001'"},
    {{"cells", "--limit", "+5"}, "'+5'"},
    {{"cells", "--min-aqi", "-1"}, "'-1'"},
    {{"cells", "--min-aqi", "100001"}, "'100001'"},
    {{"cells", "--area="}, "--area"},
    {{"cells", "r000c001"}, "'r000c001'"},
    {{"cell"}, "missing cell ID"},
    {{"cell", ""}, "empty cell ID"},
    {{"cell", "r000c001", "r000c002"}, "'r000c002'"},
    {{"cell", "r000c001", "--limit", "5"}, "'--limit'"},
};
#define NBAD ((int)(sizeof(bad_cases) / sizeof(bad_cases[0])))

START_TEST(test_bad_args)
{
	const struct bad_case *c = &bad_cases[_i];
	const char *names = c->names;
	struct run r;

	/* Standard input holds a good line: a bad command line must not
	 * fall back to reading it. */
	run_v(&r, "{\"pm25_24h\":1}\n", c->args);
	ck_assert_msg(
	    r.status == 2, "%s: exit %d, stdout %s", names, r.status, r.out);
	ck_assert_msg(r.outlen == 0, "stdout: %s", r.out);
	ck_one_line(r.err);
	ck_assert_msg(strncmp(r.err, "aqgrid", 6) == 0, "%s", r.err);
	ck_assert_msg(
	    strstr(r.err, names) != NULL, "'%s' not in: %s", names, r.err);
	run_free(&r);
}
END_TEST

static Suite *
cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("cli");
	/* Under valgrind one run takes about a second. */
	int slow = getenv("AQ_WRAP") != NULL && *getenv("AQ_WRAP") != '\0';

	tcase_set_timeout(tc, slow ? 300 : 20);
	tcase_add_test(tc, test_2026_daily_pm25);
	tcase_add_test(tc, test_2026_daily_full);
	tcase_add_test(tc, test_2026_levels);
	tcase_add_test(tc, test_2026_hourly);
	tcase_add_test(tc, test_units);
	tcase_add_test(tc, test_2012);
	tcase_add_test(tc, test_epa);
	tcase_add_test(tc, test_epa_cap);
	tcase_add_test(tc, test_limits_date);
	tcase_add_test(tc, test_limits_grade);
	tcase_add_test(tc, test_stdin);
	tcase_add_test(tc, test_stdin_ok);
	tcase_add_test(tc, test_stdin_bad_values);
	tcase_add_test(tc, test_stdin_long);
	tcase_add_test(tc, test_nowcast);
	tcase_add_test(tc, test_nowcast_o3);
	tcase_add_test(tc, test_help);
	tcase_add_loop_test(tc, test_bad_args, 0, NBAD);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(cli_suite());
	int failed;

	/* A program that exits before reading its input must not kill the
	 * test with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
