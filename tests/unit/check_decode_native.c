/*
 * check_decode_native: the native decoder's own JSON parser against the
 * jansson-based decoder it replaced, kept in native_ref.h as the reference
 * oracle.  Every corpus file and good sample, about 200,000 deterministic
 * mutations and generated payloads, and a table of JSON edge cases go
 * through both; the return code, the reason, the readings (bit for bit)
 * and the dropped counts must be the same.  AQ_FUZZ_ROUNDS=n runs n
 * rounds instead of the default, for a longer search by hand.
 */
#include "sensors/decode.h"

#include <check.h>
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon/fix.h"
#include "daemon/tz.h"
#include "tests/unit/native_ref.h"

#ifndef AQ_PAYLOADS_DIR
#define AQ_PAYLOADS_DIR "tests/fixtures/payloads"
#endif

#define MAX_LEN 65536
#define NOW INT64_C(1795932000) /* 2026-11-29T14:00:00+08:00 */
#define SEEDS_MAX 512
#define SEED_MUTATE_MAX 4096 /* larger seeds are compared, not mutated */
#define BUF_MAX 65536
#define FUZZ_ROUNDS 110 /* mutations of every seed, and generated payloads */
#define GEN_PER_ROUND 1600
#define PATH_MAX_LEN 1024
#define SHOW_MAX 160

/* What one mutation does to a payload. */
enum mut {
	MUT_FLIP,
	MUT_CHAR,
	MUT_INSERT,
	MUT_DELETE,
	MUT_TRUNCATE,
	MUT_SPLICE,
	MUT_DUP_KEY,
	MUT_VALUE,
	MUT_COUNT
};

struct seed {
	char name[PATH_MAX_LEN];
	char *p;
	size_t len;
};

/* An edge case: payload (len 0: strlen), and the answer, -1 for AQ_OK. */
struct edge {
	const char *p;
	size_t len;
	int want;
};

static uint64_t rnd(void);
static size_t rnd_below(size_t n);
static const char *rnd_pick(const char *const *list, size_t n);
static void show(const unsigned char *p, size_t len, char *buf, size_t size);
static bool same(const unsigned char *p, size_t len, const char *topic,
    char *msg, size_t size);
static void check_same(const unsigned char *p, size_t len, const char *topic);
static size_t put(char *buf, size_t len, size_t cap, const char *s, size_t n);
static size_t mutate(char *buf, size_t len, size_t cap, enum mut m);
static size_t find_key(const char *buf, size_t len, size_t *klen);
static size_t gen_native(char *buf, size_t cap);
static size_t gen_many_keys(char *buf, size_t cap);
static size_t gen_number(char *buf, size_t cap);
static size_t gen_long_ts(char *buf, size_t cap);
static void load_seeds(void);
static Suite *native_suite(void);

static struct seed seeds[SEEDS_MAX];
static int n_seeds;
static uint64_t rng = UINT64_C(0x6a09e667f3bcc909);
static struct decode_result res_new, res_ref;
static unsigned long outcomes[REASON_COUNT + 1]; /* [REASON_COUNT]: ok */

/* splitmix64: a fixed seed makes every run test the same inputs. */
static uint64_t
rnd(void)
{
	uint64_t z = (rng += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static size_t
rnd_below(size_t n)
{
	return n == 0 ? 0 : (size_t)(rnd() % n);
}

static const char *
rnd_pick(const char *const *list, size_t n)
{
	return list[rnd_below(n)];
}

/* The payload as C text, cut short, for failure messages. */
static void
show(const unsigned char *p, size_t len, char *buf, size_t size)
{
	size_t n = 0;

	for (size_t i = 0; i < len && n + 8 < size && i < SHOW_MAX; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
			buf[n++] = (char)p[i];
		else
			n += (size_t)snprintf(
			    buf + n, size - n, "\\x%02x", (unsigned)p[i]);
	}
	if (len > SHOW_MAX && n + 4 < size)
		n += (size_t)snprintf(buf + n, size - n, "...");
	buf[n] = '\0';
}

/* Whether both decoders give the same answer; msg says how they differ. */
static bool
same(const unsigned char *p, size_t len, const char *topic, char *msg,
    size_t size)
{
	enum reason wn = REASON_COUNT, wr = REASON_COUNT;
	int rn =
	    decode(DECODER_NATIVE, topic, p, len, MAX_LEN, NOW, &res_new, &wn);
	int rr = ref_decode(topic, p, len, MAX_LEN, NOW, &res_ref, &wr);
	const struct decoded *a = res_new.r, *b = res_ref.r;

	outcomes[rr == AQ_OK ? REASON_COUNT : wr]++;
	if (rn != rr || (rr != AQ_OK && wn != wr)) {
		snprintf(msg, size, "rc %d (%s), reference %d (%s)", rn,
		    rn == AQ_OK ? "ok" : reason_name(wn), rr,
		    rr == AQ_OK ? "ok" : reason_name(wr));
		return false;
	}
	if (res_new.n != res_ref.n) {
		snprintf(msg, size, "%d readings, reference %d", res_new.n,
		    res_ref.n);
		return false;
	}
	if (memcmp(res_new.dropped, res_ref.dropped, sizeof(res_new.dropped)) !=
	    0) {
		snprintf(msg, size, "dropped[] differ");
		return false;
	}
	for (int i = 0; i < res_ref.n; i++) {
		const char *what = NULL;

		if (memcmp(a[i].sensor, b[i].sensor, sizeof(a[i].sensor)) != 0)
			what = "sensor";
		else if (memcmp(a[i].cell, b[i].cell, sizeof(a[i].cell)) != 0)
			what = "cell";
		else if (a[i].has_pos != b[i].has_pos ||
		    memcmp(&a[i].lat, &b[i].lat, sizeof(a[i].lat)) != 0 ||
		    memcmp(&a[i].lon, &b[i].lon, sizeof(a[i].lon)) != 0)
			what = "position";
		else if (a[i].ts != b[i].ts)
			what = "ts";
		else if (a[i].period != b[i].period)
			what = "period";
		else if (a[i].has != b[i].has ||
		    memcmp(a[i].v, b[i].v, sizeof(a[i].v)) != 0)
			what = "values";
		else if (a[i].met_has != b[i].met_has ||
		    memcmp(a[i].met, b[i].met, sizeof(a[i].met)) != 0)
			what = "weather";
		if (what != NULL) {
			snprintf(msg, size, "reading %d: %s differs", i, what);
			return false;
		}
	}
	return true;
}

static void
check_same(const unsigned char *p, size_t len, const char *topic)
{
	char msg[256], text[SHOW_MAX * 4 + 8];

	if (same(p, len, topic, msg, sizeof(msg)))
		return;
	show(p, len, text, sizeof(text));
	ck_abort_msg("%s (%zu bytes, topic %s): \"%s\"", msg, len,
	    topic != NULL ? topic : "(none)", text);
}

/* Appends n bytes of s (strlen when n is SIZE_MAX) if they fit. */
static size_t
put(char *buf, size_t len, size_t cap, const char *s, size_t n)
{
	if (n == SIZE_MAX)
		n = strlen(s);
	if (len + n > cap)
		return len;
	memcpy(buf + len, s, n);
	return len + n;
}

/* Values to put in place of others: the edges of JSON and of the native
 * format's fields. */
static const char *const values[] = {"0", "-0", "-0.0", "0.0", "1", "-1",
    "35.2", "61", "1e2", "1E+2", "1e-2", "2e9", "01", "-01", "+1", ".5", "1.",
    "1.e5", "1e", "1e+", "-", "0x10", "NaN", "-Infinity", "Infinity", "1e400",
    "-1e400", "1e-400", "4.9e-324", "2.4703282292062327e-324",
    "2.2250738585072011e-308", "1.7976931348623157e308",
    "1.7976931348623159e308", "9007199254740993", "9007199254740993.0",
    "9223372036854775807", "9223372036854775808", "-9223372036854775808",
    "-9223372036854775809", "123456789012345678901234567890",
    "0.1000000000000000055511151231257827", "1795931940", "1795931940.9",
    "1795931940000", "946684799.99", "4102444800", "60", "86400", "86401",
    "true", "false", "null", "tru", "nul", "True", "nulll", "\"\"", "\"x\"",
    "\"NaN\"", "\"nan\"", "\"-inf\"", "\"+Infinity\"", "\"INF\"", "\"infinit\"",
    "\"\\u004eaN\"", "\"35\"", "\"ppb\"", "\"ppm\"", "\"mg/m3\"", "\"ug/m3\"",
    "\"\\u0070pb\"", "\"2026-11-29T13:59:00+08:00\"",
    "\"2026-11-29T05:59:00Z\"", "\"2026-11-29T05:59:00.123456Z\"",
    "\"2026-02-30T13:59:00Z\"", "\"1795931940\"", "\" 1795931940\"",
    "\"+1795931940\"", "\"2026\\u002d11-29T05:59:00Z\"", "\"bb-0137\"",
    "\"r012c034\"", "\"a\\nb\"", "\"a\\u007fb\"", "\"\\u00e9\"",
    "\"\\ud83d\\ude00\"", "\"\\uD83D\\uDE00\"", "\"\\ud800\"", "\"\\udc00\"",
    "\"\\ud800\\u0041\"", "\"\\u0000\"", "\"\\x41\"", "\"\\u12\"",
    "\"\\/\\\\\\\"\\b\\f\\r\\t\"", "\"\xc3\xa9\"", "\"\xe2\x82\xac\"",
    "\"\xf0\x9f\x98\x80\"", "\"\xef\xbf\xbf\"", "\"\xf4\x8f\xbf\xbf\"",
    "\"\xc0\xaf\"", "\"\xe0\x80\xaf\"", "\"\xed\xa0\x80\"",
    "\"\xf4\x90\x80\x80\"", "\"\xf5\x80\x80\x80\"", "\"\x80\"", "\"\xc3\"",
    "\"\x7f\"", "\"\x01\"", "[]", "[1]", "[1,]", "[,1]", "{}", "{\"a\":1}",
    "{\"a\":1,\"a\":2}", "{\"a\":1,}", "{\"a\"}",
    "[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]", "{\"pm25\":\"ppb\"}",
    "{\"o3\":\"ppb\",\"x\":[1,{}]}", "{\"co\":null}",
    "{\"no2\":\"ppm\",\"n\\u006f2\":\"ppb\"}", "{\"pm10\":\"mg/m3\"}"};

/* Text to insert: structure, and members of the native format. */
static const char *const tokens[] = {"{", "}", "[", "]", ",", ":", "\"", "\\",
    " ", "\t", "\n", "\r", "\f", "\v", "\xc2\xa0", "\x00", "\x1f", "\x7f",
    "\x80", "\xbf", "\xc0", "\xc2", "\xe0", "\xed", "\xf0", "\xf4", "\xf5",
    "\xff", "\\u", "\\u00", "\\ud800", "\\udc00", "\\u0000", "\\n", "\\\"", "e",
    "E", ".", "-", "+", "0", "1e400", "null", "true", "[[[[[[[[", "]]]]]]]]",
    "\"sensor\":\"s\",", "\"ts\":1795931940,", "\"pm25\":1,", "\"pm25\":null,",
    "\"units\":{\"pm25\":\"ug/m3\"},", "\"x\":{\"y\":[1]},",
    "\"pm\\u00325\":2,", "\"period\":300,", "\"cell\":\"r001c002\","};

/* Replaces, inserts or removes bytes by one rule of enum mut. */
static size_t
mutate(char *buf, size_t len, size_t cap, enum mut m)
{
	static char tmp[BUF_MAX];
	size_t at = rnd_below(len + 1), n, klen;
	const char *s;

	switch (m) {
	case MUT_FLIP:
		if (len > 0)
			buf[rnd_below(len)] = (char)rnd();
		return len;
	case MUT_CHAR:
		s = rnd_pick(tokens, sizeof(tokens) / sizeof(tokens[0]));
		if (len > 0)
			buf[rnd_below(len)] = s[0];
		return len;
	case MUT_INSERT:
		s = rnd_pick(tokens, sizeof(tokens) / sizeof(tokens[0]));
		n = s[0] == '\0' ? 1 : strlen(s);
		break;
	case MUT_DELETE:
		n = 1 + rnd_below(8);
		if (at + n > len)
			n = len - at;
		memmove(buf + at, buf + at + n, len - at - n);
		return len - n;
	case MUT_TRUNCATE:
		return at;
	case MUT_SPLICE: {
		size_t from = rnd_below(len + 1);

		n = rnd_below(len - from + 1);
		if (n > sizeof(tmp))
			n = sizeof(tmp);
		memcpy(tmp, buf + from, n);
		s = tmp;
		break;
	}
	case MUT_DUP_KEY:
		/* The same key again, after some '{' or ','. */
		if ((at = find_key(buf, len, &klen)) == SIZE_MAX)
			return len;
		n = (size_t)snprintf(tmp, sizeof(tmp), "%.*s%s", (int)klen,
		    buf + at, rnd_pick(values, 4));
		if (n + 1 >= sizeof(tmp))
			return len;
		tmp[n++] = ',';
		s = tmp;
		for (size_t tries = 0; tries < 8; tries++) {
			at = rnd_below(len);
			if (buf[at] == '{' || buf[at] == ',')
				break;
		}
		at++;
		if (at > len)
			at = len;
		break;
	case MUT_VALUE: {
		/* A value after some ':' replaced. */
		size_t end;

		for (size_t tries = 0; tries < 8; tries++) {
			at = rnd_below(len);
			if (buf[at] == ':')
				break;
		}
		if (at >= len || buf[at] != ':')
			return len;
		at++;
		for (end = at; end < len && buf[end] != ',' && buf[end] != '}';
		     end++)
			;
		s = rnd_pick(values, sizeof(values) / sizeof(values[0]));
		n = strlen(s);
		if (len - (end - at) + n > cap)
			return len;
		memmove(buf + at + n, buf + end, len - end);
		memcpy(buf + at, s, n);
		return len - (end - at) + n;
	}
	default:
		return len;
	}
	if (len + n > cap)
		return len;
	memmove(buf + at + n, buf + at, len - at);
	memcpy(buf + at, s, n);
	return len + n;
}

/* Start of some "key": in buf (its quote), length through its ':'. */
static size_t
find_key(const char *buf, size_t len, size_t *klen)
{
	for (size_t tries = 0; tries < 8; tries++) {
		size_t at = rnd_below(len), e;

		if (buf[at] != '"' ||
		    (at > 0 && buf[at - 1] != '{' && buf[at - 1] != ','))
			continue;
		for (e = at + 1; e < len && buf[e] != '"'; e++)
			if (buf[e] == '\\')
				e++;
		if (e + 1 < len && buf[e + 1] == ':') {
			*klen = e + 2 - at;
			return at;
		}
	}
	return SIZE_MAX;
}

/* A long or hard number: many digits, long fractions, exponents. */
static size_t
gen_number(char *buf, size_t cap)
{
	static const char *const hard[] = {
	    "1.00000000000000011102230246251565404236316680908203125",
	    "2.2250738585072012e-308", "4.9406564584124654e-324",
	    "2.4703282292062328e-324", "1.7976931348623158e308",
	    "9007199254740992.5", "0.30000000000000004", "123.456e-2"};
	size_t n = 0, digits = 1 + rnd_below(rnd_below(4) == 0 ? 1200 : 30);

	if (rnd_below(4) == 0) {
		n = put(buf, n, cap, rnd_pick(hard, 8), SIZE_MAX);
		if (rnd_below(2) == 0) /* a long tail: ties, or just above */
			for (size_t i = 0; i < digits && n < cap - 2; i++)
				buf[n++] =
				    i + 1 == digits && rnd_below(2) ? '1' : '0';
		return n;
	}
	if (rnd_below(3) == 0)
		buf[n++] = '-';
	if (rnd_below(3) == 0) {
		buf[n++] = '0';
	} else {
		buf[n++] = (char)('1' + rnd_below(9));
		for (size_t i = 1; i < digits && n < cap - 40; i++)
			buf[n++] = (char)('0' + rnd_below(10));
	}
	if (rnd_below(2) == 0) {
		size_t f = 1 + rnd_below(rnd_below(3) == 0 ? 900 : 20);

		buf[n++] = '.';
		for (size_t i = 0; i < f && n < cap - 30; i++)
			buf[n++] = (char)('0' +
			    (rnd_below(3) == 0 ? 0 : rnd_below(10)));
	}
	if (rnd_below(3) == 0) {
		/* One rnd() per declaration, as in gen_many_keys(). */
		const char *sign = rnd_below(2) ? "-" : rnd_below(2) ? "+" : "";
		int e = (int)rnd_below(rnd_below(2) ? 400 : 40);

		n += (size_t)snprintf(buf + n, cap - n, "e%s%d", sign, e);
	}
	return n;
}

/* A "ts" text longer than the decoder's buffer for it: a number after
 * much space or many zeros, or an ISO time with a long fraction, either
 * spoiled now and then. */
static size_t
gen_long_ts(char *buf, size_t cap)
{
	static const char *const pads[] = {" ", "\\t", "\\n", "\\r", "\\f",
	    "\\u000b", "\\u0020", "0", "\\u0030"};
	static const char *const zones[] = {"Z", "+08:00", "-0600", "+0800",
	    "\\u002d06:00", "", "+08:00x", "Z ", "+8:00", "+08:60"};
	static const char *const spoil[] = {
	    "", "", "", "", "x", "-", " ", "+", "\\u002d", "."};
	size_t n = put(buf, 0, cap, "\"", 1), reps = 100 + rnd_below(200);

	if (rnd_below(2) == 0) {
		size_t pad = rnd_below(3), zeros;

		for (size_t i = 0; i < reps && n + 64 < cap; i++)
			n = put(buf, n, cap, pad == 2 ? "0" : rnd_pick(pads, 7),
			    SIZE_MAX);
		if (rnd_below(3) == 0)
			n = put(buf, n, cap, rnd_pick(spoil, 10), SIZE_MAX);
		if (rnd_below(2) == 0)
			n = put(buf, n, cap, "+", 1);
		zeros = rnd_below(2) * reps;
		for (size_t i = 0; i < zeros && n + 64 < cap; i++)
			n = put(buf, n, cap, rnd_below(2) ? "0" : "\\u0030",
			    SIZE_MAX);
		n = put(buf, n, cap,
		    rnd_below(4) ? "1795931940" : "17959319400000000000",
		    SIZE_MAX);
	} else {
		n = put(buf, n, cap,
		    rnd_below(4) ? "2026-11-29T13:59:00" : "2026-11-29T13:59",
		    SIZE_MAX);
		n = put(buf, n, cap, rnd_below(8) ? "." : ":", 1);
		for (size_t i = 0; i < reps && n + 64 < cap; i++)
			n = put(buf, n, cap, rnd_below(16) ? "7" : "\\u0037",
			    SIZE_MAX);
		n = put(buf, n, cap, rnd_pick(zones, 10), SIZE_MAX);
	}
	if (rnd_below(4) == 0)
		n = put(buf, n, cap, rnd_pick(spoil, 10), SIZE_MAX);
	return put(buf, n, cap, "\"", 1);
}

/* A native payload of random members, in random order and spacing. */
static size_t
gen_native(char *buf, size_t cap)
{
	static const char *const sensors[] = {"\"s1\"", "\"bb-0137\"", "\"\"",
	    "\"a\\\"b\"", "\"a\\tb\"", "\"\\u0073\\u0031\"",
	    "\"\\ud83d\\ude00\"", "\"\xc3\xa9t\xc3\xa9\"", "\"a\\u007f\"", "7",
	    "null", "true", "[]",
	    "\"ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"
	    "s\"",
	    "\"ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"
	    "ss\"",
	    "\"sssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"
	    "\\u00e9\""};
	static const char *const times[] = {"1795931940", "1795931940.9",
	    "1795931940.0", "-60", "946684800", "946684799", "946684799.5",
	    "4102444799", "4102444800", "4102444799.99", "1795931940000", "1e9",
	    "1.8e9", "9223372036854775807", "-9223372036854775808", "1e400",
	    "\"2026-11-29T13:59:00+08:00\"", "\"2026-11-29T05:59:00Z\"",
	    "\"2026-11-29T05:59:00.750Z\"", "\"2026-11-28T23:59:00-0600\"",
	    "\"2026-11-29 05:59:00Z\"", "\"2026-11-29T13:59:00\"",
	    "\"2026-02-30T13:59:00Z\"", "\"1795931940\"", "\" \\t1795931940\"",
	    "\"+1795931940\"", "\"-1795931940\"", "\"1795931940x\"",
	    "\"99999999999999999999\"", "\"2026\\u002d11-29T05:59:00Z\"",
	    "\"\\u0031795931940\"", "\"yesterday\"", "\"\"", "null", "true",
	    "{\"s\":1}", "[1795931940]"};
	static const char *const periods[] = {"60", "300", "1", "0", "-1",
	    "86400", "86401", "60.0", "6e1", "\"60\"", "null", "true",
	    "9223372036854775807", "9223372036854775808", "-0"};
	static const char *const cells[] = {"\"r012c034\"", "\"\"", "12034",
	    "\"rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr\"",
	    "\"rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr\"",
	    "\"rrrrrrrrrrrrrrrrrrrrrrrrrrrrr\\u00e9\"", "\"r\\u0000\"",
	    "\"r\\n1\"", "\"r\\/1\"", "null", "[]"};
	static const char *const coords[] = {"39.9", "116.4", "-90", "90",
	    "90.0000001", "180", "-180.5", "0", "-0.0", "1e308", "\"39.9\"",
	    "null", "true", "1e-400"};
	static const char *const units[] = {"{\"o3\":\"ppb\"}",
	    "{\"o3\":\"ppm\",\"no2\":\"ppb\",\"so2\":\"ppm\",\"co\":\"ppm\"}",
	    "{\"pm25\":\"ppb\"}", "{\"pm10\":\"ppm\"}", "{\"pm25\":\"mg/m3\"}",
	    "{\"co\":\"ug/m3\"}", "{\"o3\":\"furlongs\"}", "{\"o3\":5}",
	    "{\"o3\":null}", "{\"temp\":\"K\",\"x\":[1,{\"y\":null}]}",
	    "{\"o\\u0033\":\"ppb\"}", "{\"o3\":\"pp\\u0062\"}",
	    "{\"o3\":\"ppb\",\"o3\":\"ppm\"}", "{\"x\":1,\"x\":2}", "{}",
	    "\"ppb\"", "[]", "null", "5"};
	static const char *const pollutants[] = {"35.2", "61", "0", "-5", "0.6",
	    "2000.001", "151", "2e9", "1e-400", "-0.0", "0.000000001",
	    "0.0000000001", "9007199254740993", "123456789.123456789",
	    "\"NaN\"", "\"nan\"", "\"-inf\"", "\"+Infinity\"", "\"INFINITY\"",
	    "\"infinityy\"", "\"35\"", "\"\"", "\"\\u004eaN\"", "true", "false",
	    "null", "[21]", "{\"v\":61}", "1e400"};
	static const char *const names[] = {"sensor", "ts", "period", "cell",
	    "lat", "lon", "units", "pm25", "pm10", "so2", "no2", "co", "o3",
	    "temp", "rh", "ws", "wd", "pres", "firmware", "x", "pm2\\u0035",
	    "\\u0073ensor", "PM25", "pm25 ", "", "units\\u0000"};
	static const char *const spaces[] = {
	    "", "", "", " ", "\n", "\t ", "\r\n"};
	/* How many entries of each list above are good values (pollutants
	 * last): a payload meant to be good takes them seven times in eight. */
	static const size_t good[] = {2, 3, 2, 1, 3, 3, 6, 5};
	size_t n = 0, count = 1 + rnd_below(14);
	const char *sp = rnd_below(4) == 0 ? spaces[1 + rnd_below(6)] : "";
	bool valid = rnd_below(2) == 0;
	uint32_t used = 0;

	n = put(buf, n, cap, "{", SIZE_MAX);
	for (size_t i = 0; i < count; i++) {
		size_t k = rnd_below(sizeof(names) / sizeof(names[0]));
		size_t list;
		bool pick_good = valid && rnd_below(8) != 0;
		const char *v;
		char num[2048];

		if (valid) {
			/* sensor and ts first, and no key twice */
			k = i < 2 ? i : rnd_below(20);
			if ((used & (UINT32_C(1) << k)) != 0)
				continue;
			used |= UINT32_C(1) << k;
		}
		list = k <= 6 ? k : k == 21 ? 0 : 7;
		if (buf[n - 1] != '{')
			n = put(buf, n, cap, ",", SIZE_MAX);
		n = put(buf, n, cap, sp, SIZE_MAX);
		n = put(buf, n, cap, "\"", SIZE_MAX);
		n = put(buf, n, cap, names[k], SIZE_MAX);
		n = put(buf, n, cap, "\"", SIZE_MAX);
		n = put(buf, n, cap, sp, SIZE_MAX);
		n = put(buf, n, cap, ":", SIZE_MAX);
		n = put(buf, n, cap, sp, SIZE_MAX);
#define PICK(a) rnd_pick(a, pick_good ? good[list] : sizeof(a) / sizeof(a[0]))
		switch (list) {
		case 0:
			v = PICK(sensors);
			break;
		case 1:
			if (rnd_below(8) == 0) {
				num[gen_long_ts(num, sizeof(num) - 1)] = '\0';
				v = num;
			} else {
				v = PICK(times);
			}
			break;
		case 2:
			v = PICK(periods);
			break;
		case 3:
			v = PICK(cells);
			break;
		case 4:
		case 5:
			v = PICK(coords);
			break;
		case 6:
			v = PICK(units);
			break;
		default:
			if (pick_good) {
				v = PICK(pollutants);
			} else if (rnd_below(6) == 0) {
				num[gen_number(num, sizeof(num) - 1)] = '\0';
				v = num;
			} else if (rnd_below(8) == 0) {
				v = rnd_pick(
				    values, sizeof(values) / sizeof(values[0]));
			} else {
				v = PICK(pollutants);
			}
			break;
		}
#undef PICK
		n = put(buf, n, cap, v, SIZE_MAX);
		n = put(buf, n, cap, sp, SIZE_MAX);
	}
	return put(buf, n, cap, "}", SIZE_MAX);
}

/*
 * An object with more keys than the parser compares as it goes, nested
 * or not, from a small alphabet so that duplicates come at any distance
 * (and beyond a batch of the duplicate search after the parse).
 */
static size_t
gen_many_keys(char *buf, size_t cap)
{
	size_t n = 0, count = 20 + rnd_below(rnd_below(4) == 0 ? 1400 : 80);
	size_t alphabet = count + rnd_below(count / 8 + 2);
	bool nested = rnd_below(2) == 0;

	n = put(buf, n, cap, "{\"sensor\":\"s\",\"ts\":1795931940,", SIZE_MAX);
	n = put(buf, n, cap, nested ? "\"x\":[1,{" : "", SIZE_MAX);
	for (size_t i = 0; i < count; i++) {
		/* Some keys spelled with an escape: "k7" and "\u006b7".  One
		 * rnd() per declaration: compilers order arguments their own
		 * way, and the inputs must not depend on it. */
		size_t k = rnd_below(alphabet);
		const char *k0 = rnd_below(8) == 0 ? "\\u006b" : "k";
		const char *v =
		    rnd_below(16) == 0 ? "{\"k1\":1,\"k2\":[{\"k1\":2}]}" : "1";
		char key[64];
		int len;

		len = snprintf(key, sizeof(key), "%s\"%s%zu\":%s",
		    i > 0 ? "," : "", k0, k, v);
		n = put(buf, n, cap, key, (size_t)len);
	}
	n = put(buf, n, cap, nested ? "}]," : ",", SIZE_MAX);
	return put(buf, n, cap, "\"pm25\":1}", SIZE_MAX);
}

/* Every payload of the corpus, good and bad, of every decoder: all are
 * JSON-ish text worth feeding the native decoder. */
static void
load_seeds(void)
{
	static const char *const tops[] = {
	    AQ_PAYLOADS_DIR "/bad", AQ_PAYLOADS_DIR "/good"};

	for (size_t t = 0; t < 2; t++) {
		DIR *td = opendir(tops[t]);
		struct dirent *de;

		if (td == NULL)
			continue;
		while ((de = readdir(td)) != NULL) {
			char dir[PATH_MAX_LEN / 2];
			struct dirent *fe;
			DIR *fd;

			if (de->d_name[0] == '.')
				continue;
			snprintf(
			    dir, sizeof(dir), "%s/%s", tops[t], de->d_name);
			if ((fd = opendir(dir)) == NULL)
				continue;
			while (
			    (fe = readdir(fd)) != NULL && n_seeds < SEEDS_MAX) {
				struct seed *s = &seeds[n_seeds];
				FILE *f;
				long size;

				if (fe->d_name[0] == '.')
					continue;
				snprintf(s->name, sizeof(s->name), "%s/%s", dir,
				    fe->d_name);
				if ((f = fopen(s->name, "rb")) == NULL)
					continue;
				if (fseek(f, 0, SEEK_END) == 0 &&
				    (size = ftell(f)) >= 0 &&
				    fseek(f, 0, SEEK_SET) == 0 &&
				    (s->p = malloc((size_t)size + 1)) != NULL) {
					s->len =
					    fread(s->p, 1, (size_t)size, f);
					n_seeds++;
				}
				fclose(f);
			}
			closedir(fd);
		}
		closedir(td);
	}
}

/* Every corpus file as it is. */
START_TEST(corpus_as_is)
{
	ck_assert_int_ge(n_seeds, 180);
	for (int i = 0; i < n_seeds; i++) {
		check_same(
		    (const unsigned char *)seeds[i].p, seeds[i].len, NULL);
		check_same((const unsigned char *)seeds[i].p, seeds[i].len,
		    "aq/x/topic-id");
	}
}
END_TEST

/*
 * The differential search: each round mutates every seed once (one to
 * three rules of enum mut), and generates native payloads, long numbers
 * and objects of many keys, some of them mutated too.  The outcomes are
 * counted, so that a search that only ever finds syntax faults fails.
 */
START_TEST(differential)
{
	static const char *const topics[] = {
	    NULL, "aq/x/bb-9", "aq/x/", "t", "aq/\x01"};
	static char buf[BUF_MAX];
	const char *env = getenv("AQ_FUZZ_ROUNDS");
	long rounds = env != NULL ? strtol(env, NULL, 10) : FUZZ_ROUNDS;
	unsigned long total = 0, kinds = 0;

	memset(outcomes, 0, sizeof(outcomes));
	for (long round = 0; round < rounds; round++) {
		for (int i = 0; i < n_seeds; i++) {
			size_t len = seeds[i].len, k = 1 + rnd_below(3);

			if (len > SEED_MUTATE_MAX)
				continue;
			memcpy(buf, seeds[i].p, len);
			while (k-- > 0)
				len = mutate(buf, len, sizeof(buf),
				    (enum mut)rnd_below(MUT_COUNT));
			check_same(
			    (unsigned char *)buf, len, rnd_pick(topics, 5));
			total++;
		}
		for (int i = 0; i < GEN_PER_ROUND; i++) {
			size_t len;

			if (i % 64 == 0)
				len = gen_many_keys(buf, sizeof(buf));
			else
				len = gen_native(buf, sizeof(buf));
			if (rnd_below(3) == 0)
				len = mutate(buf, len, sizeof(buf),
				    (enum mut)rnd_below(MUT_COUNT));
			check_same(
			    (unsigned char *)buf, len, rnd_pick(topics, 5));
			total++;
		}
	}
	for (int r = 0; r <= REASON_COUNT; r++)
		kinds += outcomes[r] >= 100;
	printf("differential: %lu inputs; ok %lu, syntax %lu, schema %lu, "
	       "bad_time %lu, no_values %lu, other %lu\n",
	    total, outcomes[REASON_COUNT], outcomes[REASON_SYNTAX],
	    outcomes[REASON_SCHEMA], outcomes[REASON_BAD_TIME],
	    outcomes[REASON_NO_VALUES],
	    total - outcomes[REASON_COUNT] - outcomes[REASON_SYNTAX] -
		outcomes[REASON_SCHEMA] - outcomes[REASON_BAD_TIME] -
		outcomes[REASON_NO_VALUES]);
	fflush(stdout);
	if (rounds >= FUZZ_ROUNDS) {
		ck_assert_uint_ge(total, 190000);
		ck_assert_uint_ge(outcomes[REASON_COUNT], total / 20);
		ck_assert_uint_ge(kinds, 8);
	}
}
END_TEST

/* Edges of JSON and of the native fields: the answer named, and the
 * reference's the same.  -1 is AQ_OK. */
#define OK (-1)
#define P(body) "{\"sensor\":\"s\",\"ts\":1795931940," body "}"
static const struct edge edges[] = {
    /* Whitespace: only space, tab, line feed and carriage return. */
    {" \t\n\r{ \"sensor\" :\t\"s\" ,\n\"ts\"\r: 1795931940 , \"pm25\" : 1 } "
     "\r\n",
	0, OK},
    {"\f" P("\"pm25\":1"), 0, REASON_SYNTAX},
    {P("\"pm25\":1\v"), 0, REASON_SYNTAX},
    {P("\"pm25\":\xc2\xa0 1"), 0, REASON_SYNTAX},
    {"", 0, REASON_SYNTAX},
    {" \n\t\r ", 0, REASON_SYNTAX},
    /* Escapes. */
    {"{\"sensor\":\"a\\\"b\\\\c\\/d\",\"ts\":1795931940,\"pm25\":1}", 0, OK},
    {"{\"sensor\":\"\\u0041\\u00e9\\u20ac\\ud83d\\ude00\",\"ts\":1795931940,"
     "\"pm25\":1}",
	0, OK},
    {"{\"sensor\":\"\\uD83D\\uDE00\",\"ts\":1795931940,\"pm25\":1}", 0, OK},
    {"{\"sensor\":\"a\\bb\",\"ts\":1795931940,\"pm25\":1}", 0, REASON_SCHEMA},
    {"{\"sensor\":\"a\\u007f\",\"ts\":1795931940,\"pm25\":1}", 0,
	REASON_SCHEMA},
    {"{\"sensor\":\"\\ud800\",\"ts\":1795931940,\"pm25\":1}", 0, REASON_SYNTAX},
    {"{\"sensor\":\"\\udc00\\ud800\",\"ts\":1795931940,\"pm25\":1}", 0,
	REASON_SYNTAX},
    {"{\"sensor\":\"\\ud800\\u0041\",\"ts\":1795931940,\"pm25\":1}", 0,
	REASON_SYNTAX},
    {"{\"sensor\":\"\\ud800\\n\",\"ts\":1795931940,\"pm25\":1}", 0,
	REASON_SYNTAX},
    {"{\"sensor\":\"\\ud800x\",\"ts\":1795931940,\"pm25\":1}", 0,
	REASON_SYNTAX},
    {"{\"sensor\":\"\\u12\",\"ts\":1795931940,\"pm25\":1}", 0, REASON_SYNTAX},
    {"{\"sensor\":\"\\u12g4\",\"ts\":1795931940,\"pm25\":1}", 0, REASON_SYNTAX},
    {"{\"sensor\":\"\\x41\",\"ts\":1795931940,\"pm25\":1}", 0, REASON_SYNTAX},
    {"{\"sensor\":\"\\U0041\",\"ts\":1795931940,\"pm25\":1}", 0, REASON_SYNTAX},
    {"{\"sensor\":\"\\u0000\",\"ts\":1795931940,\"pm25\":1}", 0, REASON_SYNTAX},
    {P("\"x\\u0000\":1,\"pm25\":1"), 0, REASON_SYNTAX},
    {P("\"x\":\"\\u0000\",\"pm25\":1"), 0, REASON_SYNTAX},
    {P("\"x\":\"\\"), 0, REASON_SYNTAX},
    /* Escaped keys are the keys they spell. */
    {P("\"pm\\u0032\\u0035\":7"), 0, OK},
    {"{\"\\u0073ensor\":\"s\",\"ts\":1795931940,\"pm25\":1}", 0, OK},
    {P("\"pm25\":1,\"pm\\u00325\":2"), 0, REASON_SCHEMA},
    {P("\"x\":1,\"\\u0078\":2,\"pm25\":1"), 0, REASON_SCHEMA},
    {P("\"\xc3\xa9\":1,\"\\u00e9\":2,\"pm25\":1"), 0, REASON_SCHEMA},
    {P("\"\xf0\x9f\x98\x80\":1,\"\\ud83d\\ude00\":2,\"pm25\":1"), 0,
	REASON_SCHEMA},
    /* Control characters and UTF-8. */
    {"{\"sensor\":\"a\x01\",\"ts\":1795931940,\"pm25\":1}", 0, REASON_SYNTAX},
    {"{\"sensor\":\"a\x1f\",\"ts\":1795931940,\"pm25\":1}", 0, REASON_SYNTAX},
    {"{\"sensor\":\"a\x7f\",\"ts\":1795931940,\"pm25\":1}", 0, REASON_SCHEMA},
    {P("\"x\":\"\x7f\",\"pm25\":1"), 0, OK},
    {"{\"sensor\":\"a\tb\",\"ts\":1795931940,\"pm25\":1}", 0, REASON_SYNTAX},
    {"{\"sensor\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbf\xf4\x8f"
     "\xbf\xbf\",\"ts\":1795931940,\"pm25\":1}",
	0, OK},
    {P("\"x\":\"\xc0\xaf\",\"pm25\":1"), 0, REASON_SYNTAX},
    {P("\"x\":\"\xc1\xbf\",\"pm25\":1"), 0, REASON_SYNTAX},
    {P("\"x\":\"\xe0\x80\xaf\",\"pm25\":1"), 0, REASON_SYNTAX},
    {P("\"x\":\"\xe0\x9f\xbf\",\"pm25\":1"), 0, REASON_SYNTAX},
    {P("\"x\":\"\xf0\x80\x80\xaf\",\"pm25\":1"), 0, REASON_SYNTAX},
    {P("\"x\":\"\xf0\x8f\xbf\xbf\",\"pm25\":1"), 0, REASON_SYNTAX},
    {P("\"x\":\"\xed\xa0\x80\",\"pm25\":1"), 0, REASON_SYNTAX},
    {P("\"x\":\"\xed\xbf\xbf\",\"pm25\":1"), 0, REASON_SYNTAX},
    {P("\"x\":\"\xed\x9f\xbf\",\"pm25\":1"), 0, OK},
    {P("\"x\":\"\xf4\x90\x80\x80\",\"pm25\":1"), 0, REASON_SYNTAX},
    {P("\"x\":\"\xf5\x80\x80\x80\",\"pm25\":1"), 0, REASON_SYNTAX},
    {P("\"x\":\"\xff\",\"pm25\":1"), 0, REASON_SYNTAX},
    {P("\"x\":\"\x80\",\"pm25\":1"), 0, REASON_SYNTAX},
    {P("\"x\":\"\xc3\",\"pm25\":1"), 0, REASON_SYNTAX},
    {P("\"x\":\"\xe2\x82\",\"pm25\":1"), 0, REASON_SYNTAX},
    {P("\"x\":\"\xf0\x9f\x98\",\"pm25\":1"), 0, REASON_SYNTAX},
    {"{\"sensor\":\"s\",\"ts\":1795931940,\"pm25\":1,\"x\":\"\xf0\x9f", 0,
	REASON_SYNTAX},
    {P("\"pm25\":1,\xc3\xa9"), 0, REASON_SYNTAX},
    /* Numbers, by the grammar, and as jansson holds them. */
    {P("\"pm25\":01"), 0, REASON_SYNTAX},
    {P("\"pm25\":-01"), 0, REASON_SYNTAX},
    {P("\"pm25\":00"), 0, REASON_SYNTAX},
    {P("\"pm25\":+1"), 0, REASON_SYNTAX},
    {P("\"pm25\":.5"), 0, REASON_SYNTAX},
    {P("\"pm25\":1."), 0, REASON_SYNTAX},
    {P("\"pm25\":1.e5"), 0, REASON_SYNTAX},
    {P("\"pm25\":1e"), 0, REASON_SYNTAX},
    {P("\"pm25\":1e+"), 0, REASON_SYNTAX},
    {P("\"pm25\":1e-x"), 0, REASON_SYNTAX},
    {P("\"pm25\":-"), 0, REASON_SYNTAX},
    {P("\"pm25\":- 1"), 0, REASON_SYNTAX},
    {P("\"pm25\":0x10"), 0, REASON_SYNTAX},
    {P("\"pm25\":NaN"), 0, REASON_SYNTAX},
    {P("\"pm25\":Infinity"), 0, REASON_SYNTAX},
    {P("\"pm25\":-Infinity"), 0, REASON_SYNTAX},
    {P("\"pm25\":1E5"), 0, OK},
    {P("\"pm25\":1e-5"), 0, OK},
    {P("\"pm25\":2.5E+1"), 0, OK},
    {P("\"pm25\":-0"), 0, OK},
    {P("\"pm25\":-0.0"), 0, OK},
    {P("\"pm25\":0e400"), 0, OK},
    {P("\"pm25\":1e-400"), 0, OK},
    {P("\"pm25\":-1e-400"), 0, OK},
    {P("\"pm25\":1e400"), 0, REASON_SYNTAX},
    {P("\"pm25\":-1e400"), 0, REASON_SYNTAX},
    {P("\"pm25\":1.7976931348623158e308"), 0, OK},
    {P("\"pm25\":1.7976931348623159e308"), 0, REASON_SYNTAX},
    {P("\"pm25\":123456789012345678901234567890.5"), 0, OK},
    {P("\"pm25\":123456789012345678901234567890"), 0, REASON_SYNTAX},
    {P("\"pm25\":9223372036854775807"), 0, OK},
    {P("\"pm25\":9223372036854775808"), 0, REASON_SYNTAX},
    {P("\"pm25\":-9223372036854775808"), 0, OK},
    {P("\"pm25\":-9223372036854775809"), 0, REASON_SYNTAX},
    {P("\"pm25\":1,\"x\":10000000000000000000"), 0, REASON_SYNTAX},
    {P("\"pm25\":1,\"x\":1e99999999999999999999999"), 0, REASON_SYNTAX},
    {P("\"pm25\":1,\"x\":1e-99999999999999999999999"), 0, OK},
    {P("\"pm25\":1e0000000000000000000000001"), 0, OK},
    {P("\"period\":9223372036854775807,\"pm25\":1"), 0, REASON_SCHEMA},
    {P("\"period\":60.0,\"pm25\":1"), 0, REASON_SCHEMA},
    {P("\"period\":6e1,\"pm25\":1"), 0, REASON_SCHEMA},
    {P("\"period\":-0,\"pm25\":1"), 0, REASON_SCHEMA},
    {P("\"pm25\":"
       "1.000000000000000111022302462515654042363166809082031250000000000"),
	0, OK},
    {P("\"pm25\":"
       "1.000000000000000111022302462515654042363166809082031250000000001"),
	0, OK},
    /* Literals. */
    {P("\"pm25\":1,\"x\":tru"), 0, REASON_SYNTAX},
    {P("\"pm25\":1,\"x\":truex"), 0, REASON_SYNTAX},
    {P("\"pm25\":1,\"x\":True"), 0, REASON_SYNTAX},
    {P("\"pm25\":1,\"x\":nul"), 0, REASON_SYNTAX},
    {P("\"pm25\":1,\"x\":null1"), 0, REASON_SYNTAX},
    {P("\"pm25\":1,\"x\":[true,false,null]"), 0, OK},
    {P("\"pm25\":null,\"pm10\":2"), 0, OK},
    {P("\"pm25\":true"), 0, REASON_NOT_NUMBER},
    /* Structure. */
    {P("\"pm25\":1") " x", 0, REASON_SYNTAX},
    {P("\"pm25\":1") P("\"pm25\":1"), 0, REASON_SYNTAX},
    {P("\"pm25\":1") "\n", 0, OK},
    {P("\"pm25\":1,"), 0, REASON_SYNTAX},
    {P("\"pm25\":1,,\"pm10\":1"), 0, REASON_SYNTAX},
    {P("\"pm25\" 1"), 0, REASON_SYNTAX},
    {P("\"pm25\"::1"), 0, REASON_SYNTAX},
    {P("pm25:1"), 0, REASON_SYNTAX},
    {P("'pm25':1"), 0, REASON_SYNTAX},
    {P("\"pm25\":1,\"x\":[1,]"), 0, REASON_SYNTAX},
    {P("\"pm25\":1,\"x\":[,1]"), 0, REASON_SYNTAX},
    {P("\"pm25\":1,\"x\":{\"a\":1,}"), 0, REASON_SYNTAX},
    {P("\"pm25\":1,\"x\":{\"a\"}"), 0, REASON_SYNTAX},
    {P("\"pm25\":1,\"x\":{1:2}"), 0, REASON_SYNTAX},
    {P("\"pm25\":1,\"x\":[1 2]"), 0, REASON_SYNTAX},
    {P("\"pm25\":1,\"x\":[1}"), 0, REASON_SYNTAX},
    {P("\"pm25\":1,\"x\":{\"a\":1]"), 0, REASON_SYNTAX},
    {"{\"sensor\":\"s\",\"ts\":1795931940,\"pm25\":1", 0, REASON_SYNTAX},
    {"{", 0, REASON_SYNTAX},
    {"}", 0, REASON_SYNTAX},
    {"[]", 0, REASON_SCHEMA},
    {"\"x\"", 0, REASON_SCHEMA},
    {"-0.5e3", 0, REASON_SCHEMA},
    {"null", 0, REASON_SCHEMA},
    {"true", 0, REASON_SCHEMA},
    {"{}", 0, REASON_NO_SENSOR},
    {" {} ", 0, REASON_NO_SENSOR},
    {"{\"sensor\":\"s\",\"ts\":1795931940,\"pm25\":1,\"x\":{\"a\":[{}, [], "
     "{\"b\":[1,\"2\",{\"c\":null}]}]}}",
	0, OK},
    /* Nesting: the top object is level 1 of DEPTH_MAX (16). */
    {P("\"pm25\":1,\"x\":[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]"), 0, OK},
    {P("\"pm25\":1,\"x\":[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]"), 0, REASON_SYNTAX},
    {P("\"pm25\":1,\"x\":[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]"), 0, REASON_SYNTAX},
    {P("\"pm25\":1,\"units\":{\"x\":[[[[[[[[[[[[[[1]]]]]]]]]]]]]]}"), 0, OK},
    {P("\"pm25\":1,\"units\":{\"x\":[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]}"), 0,
	REASON_SYNTAX},
    {P("\"pm25\":1,\"x\":\"[[[[[[[[[[[[[[[[[[[[\""), 0, OK},
    {"[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]", 0, REASON_SCHEMA},
    {"[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]", 0, REASON_SYNTAX},
    /* Duplicates: refused as schema faults, before later syntax faults
     * but not before earlier ones, and never past a nesting fault. */
    {P("\"pm25\":1,\"pm25\":1"), 0, REASON_SCHEMA},
    {P("\"pm25\":1,\"ts\":1"), 0, REASON_SCHEMA},
    {P("\"x\":1,\"x\":1,\"pm25\":1"), 0, REASON_SCHEMA},
    {P("\"pm25\":1,\"pm25\":1 x"), 0, REASON_SCHEMA},
    {P("\"pm25\":1,\"pm25\"x"), 0, REASON_SCHEMA},
    {P("\"pm25\":1,\"pm25\""), 0, REASON_SCHEMA},
    {P("\"pm25\":01,\"pm25\":1"), 0, REASON_SYNTAX},
    {P("\"pm25\":1,\"pm25\":1,\"x\":[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]"), 0,
	REASON_SYNTAX},
    {P("\"pm25\":1,\"pm25\":1,\"x\":\"[[[[[[[[[[[[[[[[[[[[\""), 0,
	REASON_SCHEMA},
    {P("\"pm25\":1,\"x\":{\"a\":1,\"b\":{\"a\":2},\"a\":3}"), 0, REASON_SCHEMA},
    {P("\"pm25\":1,\"x\":[{\"a\":1},{\"a\":1}]"), 0, OK},
    {P("\"pm25\":1,\"x\":[{\"a\":1,\"a\":1}]"), 0, REASON_SCHEMA},
    {P("\"pm25\":1,\"x\":{\"a\":1},\"y\":{\"a\":1}"), 0, OK},
    {P("\"pm25\":1,\"units\":{\"o3\":\"ppb\",\"o3\":\"ppb\"}"), 0,
	REASON_SCHEMA},
    {P("\"pm25\":1,\"units\":{\"x\":1,\"x\":1}"), 0, REASON_SCHEMA},
    {P("\"pm25\":1,\"units\":{\"o3\":\"ppb\"},\"units\":{}"), 0, REASON_SCHEMA},
    {P("\"pm25\":1,\"units\":{\"o3\":\"ppb\",\"o\\u0033\":\"ppm\"}"), 0,
	REASON_SCHEMA},
    /* Fields. */
    {P("\"units\":null,\"pm25\":1"), 0, OK},
    {P("\"units\":{\"pm25\":null},\"pm25\":1"), 0, REASON_SCHEMA},
    {P("\"units\":{\"pm25\":\"ppb\"},\"pm25\":1"), 0, REASON_BAD_UNIT},
    {P("\"units\":{\"pm25\":\"ppb\",\"o3\":5},\"pm25\":1"), 0, REASON_SCHEMA},
    {P("\"units\":{\"temp\":5,\"x\":null},\"pm25\":1"), 0, OK},
    {P("\"units\":{\"o3\":\"pp\\u0062\"},\"o3\":88"), 0, OK},
    {P("\"units\":{\"o3\":\"ppbx\"},\"o3\":88"), 0, REASON_BAD_UNIT},
    {P("\"units\":{\"o3\":\"ppbppbppb\"},\"o3\":88"), 0, REASON_BAD_UNIT},
    {P("\"units\":[],\"pm25\":1"), 0, REASON_SCHEMA},
    {P("\"pm25\":\"\\u004eaN\""), 0, REASON_NOT_FINITE},
    {P("\"pm25\":\"+INF\""), 0, REASON_NOT_FINITE},
    {P("\"pm25\":\"-infinity\""), 0, REASON_NOT_FINITE},
    {P("\"pm25\":\"--inf\""), 0, REASON_NOT_NUMBER},
    {P("\"pm25\":\"infinityinfinity\""), 0, REASON_NOT_NUMBER},
    {P("\"pm25\":-5"), 0, OK}, /* negative: qc's to refuse */
    {"{\"sensor\":\"\",\"ts\":1795931940,\"pm25\":1}", 0, REASON_NO_SENSOR},
    {"{\"ts\":\"2026-11-29T13:59:00.123456789012345678901234567890123456789"
     "0123456789012345678901234567890123456789012345678901234567890123456"
     "78901234567890123456789+08:00\",\"sensor\":\"s\",\"pm25\":1}",
	0, OK},
    {"{\"ts\":\"2026-11-29T13:59:00.123456789012345678901234567890123456789"
     "0123456789012345678901234567890123456789012345678901234567890123456"
     "78901234567890123456789+08:00x\",\"sensor\":\"s\",\"pm25\":1}",
	0, REASON_BAD_TIME},
    {"{\"ts\":\"2026-11-29T13:59:00.123456789012345678901234567890123456789"
     "0123456789012345678901234567890123456789012345678901234567890123456"
     "78901234567890123456789Z\\u0020\",\"sensor\":\"s\",\"pm25\":1}",
	0, REASON_BAD_TIME},
    {"{\"ts\":\"00000000000000000000000000000000000000000000000000000000000"
     "0000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000001795931940\",\"sensor\":\"s\",\"pm25\":1}",
	0, OK},
    {"{\"ts\":\"                                                           "
     "                                                                   "
     "   \\t\\n\\r\\f+1795931940\",\"sensor\":\"s\",\"pm25\":1}",
	0, OK},
    {"{\"ts\":\"                                                           "
     "                                                                   "
     "   1795931940 \",\"sensor\":\"s\",\"pm25\":1}",
	0, REASON_BAD_TIME},
    {"{\"ts\":\"00000000000000000000000000000000000000000000000000000000000"
     "0000000000000000000000000000000000000000000000000000000000000000000"
     "0000000000000000017959319400000000000\",\"sensor\":\"s\",\"pm25\":1}",
	0, REASON_BAD_TIME},
    {"{\"ts\":\"00000000000000000000000000000000000000000000000000000000000"
     "0000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000001795931940\\u002d\",\"sensor\":\"s\",\"pm25\":1}",
	0, REASON_BAD_TIME},
    {"{\"ts\":\"00000000000000000000000000000000000000000000000000000000000"
     "0000000000000000000000000000000000000000000000000000000000000000000"
     "00000000000000000\",\"sensor\":\"s\",\"pm25\":1}",
	0, REASON_BAD_TIME},
    {"{\"ts\":\"\\u0031\\u0037\\u0039\\u0035\\u0039\\u0033\\u0031\\u0039\\u0034"
     "\\u0030\\u0030\\u0030\\u0030\\u0030\\u0030\\u0030\\u0030\\u0030\\u0030"
     "\",\"sensor\":\"s\",\"pm25\":1}",
	0, REASON_BAD_TIME},
};
#undef P

START_TEST(edge_cases)
{
	const struct edge *e = &edges[_i];
	size_t len = e->len != 0 ? e->len : strlen(e->p);
	enum reason why = REASON_COUNT;
	char text[SHOW_MAX * 4 + 8];
	int rc;

	check_same((const unsigned char *)e->p, len, NULL);
	rc = decode(
	    DECODER_NATIVE, NULL, e->p, len, MAX_LEN, NOW, &res_new, &why);
	show((const unsigned char *)e->p, len, text, sizeof(text));
	if (e->want == OK)
		ck_assert_msg(rc == AQ_OK, "\"%s\": refused as %s", text,
		    reason_name(why));
	else
		ck_assert_msg(rc != AQ_OK && why == (enum reason)e->want,
		    "\"%s\": %s, should be %s", text,
		    rc == AQ_OK ? "decoded" : reason_name(why),
		    reason_name(e->want));
}
END_TEST

/* A raw NUL byte, in a string and between tokens. */
START_TEST(nul_bytes)
{
	static const char in_string[] =
	    "{\"sensor\":\"s\0\",\"ts\":1795931940,\"pm25\":1}";
	static const char between[] =
	    "{\"sensor\":\"s\",\0\"ts\":1795931940,\"pm25\":1}";
	static const char after[] = "{\"sensor\":\"s\",\"ts\":1795931940,"
				    "\"pm25\":1}\0";
	/* Where jansson 2.14 let one through: after a number or literal. */
	static const char *const dropped[] = {
	    "{\"sensor\":\"s\",\"ts\":1795931940,\"pm25\":1\0}",
	    "{\"sensor\":\"s\",\"ts\":1795931940\0,\"pm25\":1}",
	    "{\"sensor\":\"s\",\"ts\":1795931940,\"pm25\":1,\"x\":null\0}",
	    "{\"sensor\":\"s\",\"ts\":1795931940,\"pm25\":1,\"x\":[true\0]}"};
	enum reason why;

	for (size_t i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++) {
		size_t len = strlen(dropped[i]) + 1 +
		    strlen(dropped[i] + strlen(dropped[i]) + 1);

		check_same((const unsigned char *)dropped[i], len, NULL);
		ck_assert_int_eq(decode(DECODER_NATIVE, NULL, dropped[i], len,
				     MAX_LEN, NOW, &res_new, &why),
		    AQ_ERR_INVAL);
		ck_assert_int_eq(why, REASON_SYNTAX);
	}

	check_same(
	    (const unsigned char *)in_string, sizeof(in_string) - 1, NULL);
	check_same((const unsigned char *)between, sizeof(between) - 1, NULL);
	check_same((const unsigned char *)after, sizeof(after) - 1, NULL);
	ck_assert_int_eq(decode(DECODER_NATIVE, NULL, after, sizeof(after) - 1,
			     MAX_LEN, NOW, &res_new, &why),
	    AQ_ERR_INVAL);
	ck_assert_int_eq(why, REASON_SYNTAX);
}
END_TEST

/* Values the native decoder keeps, bit for bit: decoded strings, the sign
 * of zero, the rounding of long numbers. */
START_TEST(exact_values)
{
	static const char p[] =
	    "{\"sensor\":\"\\u00e9\\ud83d\\ude00\\t\",\"cell\":\"r\\/1\","
	    "\"ts\":1795931940.9,\"pm25\":-0.0,\"pm10\":"
	    "1.00000000000000011102230246251565404236316680908203125000001,"
	    "\"co\":9007199254740993,\"temp\":-0,\"rh\":4.9e-324}";
	static const char q[] =
	    "{\"sensor\":\"\\u00e9\",\"cell\":\"r\\/1\",\"ts\":1795931940.9,"
	    "\"pm25\":1e-400,\"pm10\":"
	    "1.00000000000000011102230246251565404236316680908203125}";
	const struct decoded *r = &res_new.r[0];
	enum reason why;

	check_same((const unsigned char *)p, sizeof(p) - 1, NULL);
	check_same((const unsigned char *)q, sizeof(q) - 1, NULL);
	ck_assert_int_eq(decode(DECODER_NATIVE, NULL, q, sizeof(q) - 1, MAX_LEN,
			     NOW, &res_new, &why),
	    AQ_OK);
	ck_assert_str_eq(r->sensor, "\xc3\xa9");
	ck_assert_str_eq(r->cell, "r/1");
	ck_assert_int_eq(r->ts, 1795931940);
	ck_assert(r->v[POL_PM25] == 0 && !signbit(r->v[POL_PM25]));
	ck_assert(r->v[POL_PM10] == 1.0); /* a tie, to even */
	ck_assert_int_eq(decode(DECODER_NATIVE, NULL, p, sizeof(p) - 1, MAX_LEN,
			     NOW, &res_new, &why),
	    AQ_ERR_INVAL);
	ck_assert_int_eq(why, REASON_SCHEMA); /* the tab in the sensor id */
}
END_TEST

/* Duplicates among more keys than the parser holds as it goes, found
 * after the parse, across batches of the search. */
START_TEST(many_keys)
{
	static char p[BUF_MAX];
	static const struct {
		int keys, dup_a, dup_b; /* -1: no duplicate */
		bool nested, cut_after;
	} cases[] = {
	    {40, -1, -1, false, false},
	    {40, 3, 39, false, false},
	    {40, 3, 39, true, false},
	    {40, 3, 39, true, true},
	    {600, 10, 590, false, false},
	    {600, 520, 530, true, false},
	    {1500, 1100, 1499, false, false},
	    {1500, 1, 1499, true, true},
	    {1500, -1, -1, true, false},
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		size_t n = 0;
		enum reason why;
		int rc;

		n = put(p, n, sizeof(p), "{\"sensor\":\"s\",\"ts\":1795931940,",
		    SIZE_MAX);
		n = put(p, n, sizeof(p), cases[c].nested ? "\"x\":[{" : "",
		    SIZE_MAX);
		for (int k = 0; k < cases[c].keys; k++) {
			char m[32];
			int id = k == cases[c].dup_b ? cases[c].dup_a : k;

			n = put(p, n, sizeof(p), m,
			    (size_t)snprintf(m, sizeof(m), "%s\"k%d\":[%d]",
				k > 0 ? "," : "", id, k));
			if (k == cases[c].dup_b && cases[c].cut_after)
				break;
		}
		if (!cases[c].cut_after) {
			n = put(p, n, sizeof(p), cases[c].nested ? "}]," : ",",
			    SIZE_MAX);
			n = put(p, n, sizeof(p), "\"pm25\":1}", SIZE_MAX);
		}
		check_same((unsigned char *)p, n, NULL);
		rc = decode(
		    DECODER_NATIVE, NULL, p, n, MAX_LEN, NOW, &res_new, &why);
		if (cases[c].dup_a >= 0) {
			ck_assert_int_eq(rc, AQ_ERR_INVAL);
			ck_assert_int_eq(why, REASON_SCHEMA);
		} else {
			ck_assert_int_eq(rc, AQ_OK);
		}
	}
}
END_TEST

/* Every cut of a payload whose keys outnumber those compared as they come,
 * with a duplicate only the search after the parse finds, and without:
 * a duplicate before the cut is a schema fault, else the cut is one of
 * syntax. */
START_TEST(many_keys_cut)
{
	static char p[BUF_MAX];

	for (int dup = 0; dup < 2; dup++) {
		size_t n = put(p, 0, sizeof(p),
		    "{\"sensor\":\"s\",\"ts\":1795931940,\"x\":[{", SIZE_MAX);

		for (int k = 0; k < 45; k++) {
			char m[64];
			int id = dup && k == 44 ? 40 : k;

			n = put(p, n, sizeof(p), m,
			    (size_t)snprintf(m, sizeof(m),
				"%s\"k%d\" : [%d, \"v\\\"\", {\"a\":%s}]",
				k > 0 ? "," : "", id, k, k % 2 ? "[]" : "1.5"));
		}
		n = put(p, n, sizeof(p), "}],\"pm25\":1}", SIZE_MAX);
		for (size_t cut = n / 2; cut <= n; cut++)
			check_same((unsigned char *)p, cut, NULL);
	}
}
END_TEST

static Suite *
native_suite(void)
{
	Suite *s = suite_create("decode_native");
	TCase *tc = tcase_create("edges");
	TCase *td = tcase_create("differential");

	tcase_add_loop_test(
	    tc, edge_cases, 0, sizeof(edges) / sizeof(edges[0]));
	tcase_add_test(tc, nul_bytes);
	tcase_add_test(tc, exact_values);
	tcase_add_test(tc, many_keys);
	tcase_add_test(tc, many_keys_cut);
	suite_add_tcase(s, tc);

	/* Under valgrind the search takes minutes rather than a second. */
	tcase_set_timeout(td, 600);
	tcase_add_test(td, corpus_as_is);
	tcase_add_test(td, differential);
	suite_add_tcase(s, td);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	decode_init();
	load_seeds();
	sr = srunner_create(native_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	for (int i = 0; i < n_seeds; i++)
		free(seeds[i].p);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
