/*
 * check_decode: the four payload decoders, on good payloads with exact
 * values and on a corpus of malformed ones, one file each, named
 * <decoder>/<expected reason>--<name>.<ext> under AQ_CORPUS (HJ 212 frames
 * too, decoded in the zone the integration test's daemon uses).  Payloads
 * over the size bound are made here, up to a megabyte, not kept as files.
 */
#include "sensors/decode.h"

#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

#include "daemon/tz.h"
#include "sensors/qc.h"

#ifndef AQ_CORPUS_DIR
#define AQ_CORPUS_DIR "tests/fixtures/payloads/bad"
#endif
#ifndef AQ_GOOD_DIR
#define AQ_GOOD_DIR "tests/fixtures/payloads/good"
#endif

#define MAX_LEN 16384
#define NOW INT64_C(1795932000) /* 2026-11-29T14:00:00+08:00 */
#define TS (NOW - 60)           /* 13:59 */
#define CORPUS_MAX 512
#define CORPUS_MIN 230
#define CORPUS_MIN_JSON 40 /* files for each JSON decoder */
#define CORPUS_MIN_HJ212 20
#define CORPUS_BYTES_MAX (200 * 1024)
#define PATH_MAX_LEN 1024
#define EPS 1e-9

/* Molar masses (g/mol) and the molar volume (L/mol) at 25 degC and
 * 1013.25 hPa, written out here so the conversions are checked
 * independently of pol.c's integers. */
#define M_O3 47.997
#define M_NO2 46.0055
#define M_SO2 64.066
#define M_CO 28.01
#define V_M 24.465

struct corpus_file {
	char path[PATH_MAX_LEN];
	char name[PATH_MAX_LEN];
	int decoder;  /* -1: the directory names no decoder */
	int reason;   /* -1: the file name names no reason */
	bool dropped; /* "<reason>--dropped-...": decodes, value dropped */
};

struct thread_arg {
	const char *payload;
	double pm25;
	int failures;
};

static void read_dir(const char *top, bool good);
static int by_name(const void *a, const void *b);
static char *slurp(const char *path, size_t *len);
static int dec(enum decoder d, const char *topic, const char *payload,
    struct decode_result *out, enum reason *why);
static const struct decoded *find(const struct decode_result *out, int64_t ts);
static int decode_loop(void *arg);
static Suite *decode_suite(void);

static struct corpus_file bad_files[CORPUS_MAX], good_files[CORPUS_MAX];
static int n_bad, n_good;
static size_t bad_bytes;
static struct decode_result res; /* large; one for the tests that need it */
static struct tz zone;

static int
by_name(const void *a, const void *b)
{
	return strcmp(((const struct corpus_file *)a)->path,
	    ((const struct corpus_file *)b)->path);
}

/* Lists top/<decoder>/<file>; an unreadable directory leaves the list
 * short, which the size test reports. */
static void
read_dir(const char *top, bool good)
{
	struct corpus_file *files = good ? good_files : bad_files;
	int *n = good ? &n_good : &n_bad;
	DIR *td = opendir(top);
	struct dirent *de;

	if (td == NULL)
		return;
	while ((de = readdir(td)) != NULL) {
		char dir[PATH_MAX_LEN / 2];
		struct dirent *fe;
		DIR *fd;

		if (de->d_name[0] == '.')
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", top, de->d_name);
		if ((fd = opendir(dir)) == NULL)
			continue;
		while ((fe = readdir(fd)) != NULL && *n < CORPUS_MAX) {
			struct corpus_file *f = &files[*n];
			const char *sep;

			if (fe->d_name[0] == '.')
				continue;
			snprintf(
			    f->path, sizeof(f->path), "%s/%s", dir, fe->d_name);
			snprintf(f->name, sizeof(f->name), "%s/%s", de->d_name,
			    fe->d_name);
			f->decoder = decoder_from_name(de->d_name);
			f->reason = -1;
			sep = strstr(fe->d_name, "--");
			for (int r = 0; sep != NULL && r < REASON_COUNT; r++)
				if (strlen(reason_name(r)) ==
					(size_t)(sep - fe->d_name) &&
				    strncmp(fe->d_name, reason_name(r),
					(size_t)(sep - fe->d_name)) == 0)
					f->reason = r;
			f->dropped =
			    sep != NULL && strncmp(sep, "--dropped-", 10) == 0;
			(*n)++;
		}
		closedir(fd);
	}
	closedir(td);
	qsort(files, (size_t)*n, sizeof(files[0]), by_name);
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long size;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)size + 1)) != NULL) {
		*len = fread(buf, 1, (size_t)size, f);
		buf[*len] = '\0';
	}
	fclose(f);
	return buf;
}

static int
dec(enum decoder d, const char *topic, const char *payload,
    struct decode_result *out, enum reason *why)
{
	return decode(
	    d, topic, payload, strlen(payload), MAX_LEN, NOW, out, why);
}

static const struct decoded *
find(const struct decode_result *out, int64_t ts)
{
	for (int i = 0; i < out->n; i++)
		if (out->r[i].ts == ts)
			return &out->r[i];
	return NULL;
}

/*
 * Each malformed payload is refused with the reason its name gives, by
 * decode() or, when it decodes, by qc_check() for every reading.  A
 * "dropped-" payload decodes, and the reason counts at least one value.
 * QC's clock is the reading's own time, so that only payloads meant to
 * be "future" are checked against the decoding clock.
 */
START_TEST(corpus)
{
	const struct corpus_file *f = &bad_files[_i];
	struct qc_conf qc;
	enum reason why = REASON_COUNT;
	size_t len = 0;
	char *buf;
	int rc;

	qc_defaults(&qc);
	ck_assert_msg(f->decoder >= 0, "%s: no such decoder", f->name);
	ck_assert_msg(f->reason >= 0, "%s: no such reason", f->name);
	ck_assert_msg(
	    (buf = slurp(f->path, &len)) != NULL, "%s: unreadable", f->name);
	rc = decode(f->decoder, NULL, buf, len, MAX_LEN, NOW, &res, &why);
	free(buf);
	if (f->dropped) {
		ck_assert_msg(rc == AQ_OK, "%s: refused (%s), should decode",
		    f->name, reason_name(why));
		for (int i = 0; i < res.n; i++)
			if (qc_check(&qc, &res.r[i], res.r[i].ts, res.dropped,
				&why) != AQ_OK)
				continue; /* counted in res.dropped */
		ck_assert_msg(res.dropped[f->reason] >= 1,
		    "%s: no value dropped as %s", f->name,
		    reason_name(f->reason));
		return;
	}
	if (rc != AQ_OK) {
		ck_assert_msg(why == (enum reason)f->reason,
		    "%s: refused as %s", f->name, reason_name(why));
		return;
	}
	ck_assert_int_ge(res.n, 1);
	for (int i = 0; i < res.n; i++) {
		int64_t now = f->reason == REASON_FUTURE ? NOW : res.r[i].ts;

		rc = qc_check(&qc, &res.r[i], now, res.dropped, &why);
		ck_assert_msg(rc == AQ_ERR_RANGE,
		    "%s: reading %d passed decode and QC", f->name, i);
		ck_assert_msg(why == (enum reason)f->reason,
		    "%s: QC refused reading %d as %s", f->name, i,
		    reason_name(why));
	}
}
END_TEST

START_TEST(corpus_size)
{
	int per[DECODER_COUNT] = {0};

	ck_assert_msg(
	    n_bad >= CORPUS_MIN, "corpus %s: %d files", AQ_CORPUS_DIR, n_bad);
	ck_assert_msg(
	    bad_bytes < CORPUS_BYTES_MAX, "corpus: %zu bytes", bad_bytes);
	for (int i = 0; i < n_bad; i++)
		if (bad_files[i].decoder >= 0)
			per[bad_files[i].decoder]++;
	/* HJ 212 frames are not JSON, and check_hj212 has most of their
	 * faults: the corpus holds those a whole MQTT payload can have. */
	for (int d = 0; d < DECODER_COUNT; d++)
		ck_assert_msg(per[d] >= (d == DECODER_HJ212 ? CORPUS_MIN_HJ212
							    : CORPUS_MIN_JSON),
		    "corpus: %d files for %s", per[d], decoder_name(d));
	ck_assert_int_ge(n_good, DECODER_COUNT);
}
END_TEST

/* The good samples (for the integration tests) decode and pass QC. */
START_TEST(good_samples)
{
	const struct corpus_file *f = &good_files[_i];
	struct qc_conf qc;
	enum reason why = REASON_COUNT;
	size_t len = 0;
	char *buf;
	int rc;

	qc_defaults(&qc);
	ck_assert_msg(f->decoder >= 0, "%s: no such decoder", f->name);
	ck_assert_msg(
	    (buf = slurp(f->path, &len)) != NULL, "%s: unreadable", f->name);
	rc = decode(
	    f->decoder, "aq/test/fallback", buf, len, MAX_LEN, NOW, &res, &why);
	free(buf);
	ck_assert_msg(
	    rc == AQ_OK, "%s: refused as %s", f->name, reason_name(why));
	for (int i = 0; i < REASON_COUNT; i++)
		ck_assert_msg(res.dropped[i] == 0, "%s: dropped as %s", f->name,
		    reason_name(i));
	for (int i = 0; i < res.n; i++) {
		rc = qc_check(&qc, &res.r[i], NOW, res.dropped, &why);
		ck_assert_msg(rc == AQ_OK, "%s: QC refused %d as %s", f->name,
		    i, reason_name(why));
	}
}
END_TEST

START_TEST(native_typical)
{
	static const char p[] =
	    "{\"sensor\":\"bb-0137\",\"ts\":1795932000,\"period\":60,"
	    "\"cell\":\"r012c034\",\"lat\":39.9,\"lon\":116.4,\"pm25\":35.2,"
	    "\"pm10\":61,\"o3\":88,\"no2\":21,\"so2\":5,\"co\":0.6,"
	    "\"temp\":12.5,\"rh\":80,\"ws\":1.2,\"wd\":270,\"pres\":1013,"
	    "\"rain\":0.4,\"tsp\":140.5,\"units\":{\"o3\":\"ppb\"},"
	    "\"firmware\":\"2.1\"}";
	const struct decoded *r = &res.r[0];
	enum reason why;

	ck_assert_int_eq(
	    dec(DECODER_NATIVE, "aq/x/other", p, &res, &why), AQ_OK);
	ck_assert_int_eq(res.n, 1);
	ck_assert_str_eq(r->sensor, "bb-0137");
	ck_assert_str_eq(r->cell, "r012c034");
	ck_assert(r->has_pos);
	ck_assert_double_eq_tol(r->lat, 39.9, EPS);
	ck_assert_double_eq_tol(r->lon, 116.4, EPS);
	ck_assert_int_eq(r->ts, NOW);
	ck_assert_int_eq(r->period, 60);
	ck_assert_uint_eq(r->has, (1u << POL_COUNT) - 1);
	ck_assert_double_eq_tol(r->v[POL_PM25], 35.2, EPS);
	ck_assert_double_eq_tol(r->v[POL_PM10], 61, EPS);
	ck_assert_double_eq_tol(r->v[POL_O3], 88 * M_O3 / V_M, 1e-6);
	ck_assert_double_eq_tol(r->v[POL_NO2], 21, EPS);
	ck_assert_double_eq_tol(r->v[POL_SO2], 5, EPS);
	ck_assert_double_eq_tol(r->v[POL_CO], 0.6, EPS);
	ck_assert_uint_eq(r->met_has, (1u << MET_COUNT) - 1);
	ck_assert_double_eq_tol(r->met[MET_TEMP], 12.5, EPS);
	ck_assert_double_eq_tol(r->met[MET_RH], 80, EPS);
	ck_assert_double_eq_tol(r->met[MET_WS], 1.2, EPS);
	ck_assert_double_eq_tol(r->met[MET_WD], 270, EPS);
	ck_assert_double_eq_tol(r->met[MET_PRES], 1013, EPS);
	ck_assert_double_eq_tol(r->met[MET_RAIN], 0.4, EPS);
	ck_assert_double_eq_tol(r->met[MET_TSP], 140.5, EPS);
	for (int i = 0; i < REASON_COUNT; i++)
		ck_assert_uint_eq(res.dropped[i], 0);
}
END_TEST

static const struct {
	const char *ts;
	int64_t want;
} iso_cases[] = {
    {"\"2026-11-29T13:59:00+08:00\"", TS},
    {"\"2026-11-29T05:59:00Z\"", TS},
    {"\"2026-11-29T05:59:00.750Z\"", TS},
    {"\"2026-11-28T23:59:00-0600\"", TS},
    {"\"1795931940\"", TS},
    {"1795931940", TS},
    {"1795931940.9", TS}, /* a start of period: seconds, rounded down */
    {"946684800", INT64_C(946684800)},
};

START_TEST(native_times)
{
	char p[256];
	enum reason why;

	snprintf(p, sizeof(p), "{\"sensor\":\"s\",\"ts\":%s,\"pm25\":1}",
	    iso_cases[_i].ts);
	ck_assert_msg(dec(DECODER_NATIVE, NULL, p, &res, &why) == AQ_OK,
	    "%s: %s", iso_cases[_i].ts, reason_name(why));
	ck_assert_int_eq(res.r[0].ts, iso_cases[_i].want);
}
END_TEST

START_TEST(native_units)
{
	static const char p[] =
	    "{\"sensor\":\"s\",\"ts\":1795931940,\"pm25\":0.0352,\"pm10\":61,"
	    "\"o3\":0.088,\"no2\":21,\"so2\":0.005,\"co\":0.6,"
	    "\"units\":{\"pm25\":\"mg/m3\",\"pm10\":\"ug/m3\",\"o3\":\"ppm\","
	    "\"no2\":\"ppb\",\"so2\":\"ppm\",\"co\":\"ppm\",\"temp\":\"K\"}}";
	static const char q[] = "{\"sensor\":\"s\",\"ts\":1795931940,"
				"\"co\":600,\"units\":{\"co\":\"ug/m3\"}}";
	const struct decoded *r = &res.r[0];
	enum reason why;

	ck_assert_int_eq(dec(DECODER_NATIVE, NULL, p, &res, &why), AQ_OK);
	ck_assert_double_eq_tol(r->v[POL_PM25], 35.2, EPS);
	ck_assert_double_eq_tol(r->v[POL_PM10], 61, EPS);
	ck_assert_double_eq_tol(r->v[POL_O3], 88 * M_O3 / V_M, 1e-6);
	ck_assert_double_eq_tol(r->v[POL_NO2], 21 * M_NO2 / V_M, 1e-6);
	ck_assert_double_eq_tol(r->v[POL_SO2], 5 * M_SO2 / V_M, 1e-6);
	ck_assert_double_eq_tol(r->v[POL_CO], 0.6 * M_CO / V_M, 1e-6);
	ck_assert_int_eq(dec(DECODER_NATIVE, NULL, q, &res, &why), AQ_OK);
	ck_assert_double_eq_tol(r->v[POL_CO], 0.6, EPS);
}
END_TEST

START_TEST(native_sensor)
{
	static const char no_sensor[] = "{\"ts\":1795931940,\"pm25\":1}";
	static const char null_sensor[] =
	    "{\"sensor\":null,\"ts\":1795931940,\"pm25\":1}";
	char p[256];
	enum reason why;

	ck_assert_int_eq(
	    dec(DECODER_NATIVE, "aq/sensors/bb-0200", no_sensor, &res, &why),
	    AQ_OK);
	ck_assert_str_eq(res.r[0].sensor, "bb-0200");
	ck_assert_int_eq(
	    dec(DECODER_NATIVE, "bb-0201", null_sensor, &res, &why), AQ_OK);
	ck_assert_str_eq(res.r[0].sensor, "bb-0201");
	ck_assert_int_eq(
	    dec(DECODER_NATIVE, "aq/sensors/", no_sensor, &res, &why),
	    AQ_ERR_INVAL);
	ck_assert_int_eq(why, REASON_NO_SENSOR);
	ck_assert_int_eq(
	    dec(DECODER_NATIVE, NULL, no_sensor, &res, &why), AQ_ERR_INVAL);
	ck_assert_int_eq(why, REASON_NO_SENSOR);

	/* The longest id and cell that fit, and one byte more. */
	snprintf(p, sizeof(p),
	    "{\"sensor\":\"%063d\",\"cell\":\"%031d\",\"ts\":1795931940,"
	    "\"pm25\":1}",
	    7, 8);
	ck_assert_int_eq(dec(DECODER_NATIVE, NULL, p, &res, &why), AQ_OK);
	ck_assert_uint_eq(strlen(res.r[0].sensor), WIN_SENSOR_ID_MAX - 1);
	ck_assert_uint_eq(strlen(res.r[0].cell), WIN_CELL_ID_MAX - 1);
	snprintf(p, sizeof(p),
	    "{\"sensor\":\"%064d\",\"ts\":1795931940,\"pm25\":1}", 7);
	ck_assert_int_eq(
	    dec(DECODER_NATIVE, NULL, p, &res, &why), AQ_ERR_INVAL);
	ck_assert_int_eq(why, REASON_SCHEMA);
}
END_TEST

/* A null is an absent field; other non-numbers are dropped and counted. */
START_TEST(native_drops)
{
	static const char p[] =
	    "{\"sensor\":\"s\",\"ts\":1795931940,\"pm25\":\"x\",\"pm10\":35,"
	    "\"o3\":\"NaN\",\"no2\":null,\"so2\":\"-Infinity\",\"co\":[1],"
	    "\"temp\":\"warm\",\"rh\":null,\"period\":null,\"cell\":null}";
	const struct decoded *r = &res.r[0];
	enum reason why;

	ck_assert_int_eq(dec(DECODER_NATIVE, NULL, p, &res, &why), AQ_OK);
	ck_assert_uint_eq(r->has, 1u << POL_PM10);
	ck_assert_uint_eq(r->met_has, 0);
	ck_assert_int_eq(r->period, 60);
	ck_assert_str_eq(r->cell, "");
	ck_assert(!r->has_pos);
	ck_assert_uint_eq(res.dropped[REASON_NOT_NUMBER], 3);
	ck_assert_uint_eq(res.dropped[REASON_NOT_FINITE], 2);
}
END_TEST

START_TEST(senml_pack)
{
	static const char p[] =
	    "[{\"bn\":\"urn:dev:mac:0024befffe804ff1:\",\"bt\":1795931880,"
	    "\"bu\":\"ug/m3\",\"n\":\"pm25\",\"v\":35.2},"
	    "{\"n\":\"pm10\",\"v\":61},"
	    "{\"n\":\"o3\",\"u\":\"ppb\",\"v\":88},"
	    "{\"n\":\"temperature\",\"u\":\"Cel\",\"v\":12.5},"
	    "{\"n\":\"battery\",\"u\":\"V\",\"v\":3.3},"
	    "{\"n\":\"pm25\",\"t\":60,\"v\":36.0},"
	    "{\"n\":\"pm10\",\"t\":60,\"v\":63},"
	    "{\"bn\":\"dev/42/\",\"n\":\"pm2.5\",\"t\":60,\"v\":9}]";
	const struct decoded *r;
	enum reason why;

	ck_assert_int_eq(
	    dec(DECODER_SENML, "aq/senml/x", p, &res, &why), AQ_OK);
	ck_assert_int_eq(res.n, 3);
	ck_assert_ptr_nonnull(r = find(&res, NOW - 120));
	ck_assert_str_eq(r->sensor, "urn:dev:mac:0024befffe804ff1");
	ck_assert_int_eq(r->period, 60);
	ck_assert_uint_eq(
	    r->has, (1u << POL_PM25) | (1u << POL_PM10) | (1u << POL_O3));
	ck_assert_double_eq_tol(r->v[POL_PM25], 35.2, EPS);
	ck_assert_double_eq_tol(r->v[POL_PM10], 61, EPS);
	ck_assert_double_eq_tol(r->v[POL_O3], 88 * M_O3 / V_M, 1e-6);
	ck_assert_uint_eq(r->met_has, 1u << MET_TEMP);
	ck_assert_double_eq_tol(r->met[MET_TEMP], 12.5, EPS);
	ck_assert_ptr_nonnull(r = &res.r[1]);
	ck_assert_int_eq(r->ts, NOW - 60);
	ck_assert_str_eq(r->sensor, "urn:dev:mac:0024befffe804ff1");
	ck_assert_double_eq_tol(r->v[POL_PM25], 36, EPS);
	ck_assert_double_eq_tol(r->v[POL_PM10], 63, EPS);
	r = &res.r[2];
	ck_assert_str_eq(r->sensor, "dev/42");
	ck_assert_int_eq(r->ts, NOW - 60);
	ck_assert_uint_eq(r->has, 1u << POL_PM25);
	ck_assert_double_eq_tol(r->v[POL_PM25], 9, EPS);
}
END_TEST

/* RFC 8428 section 4.5.3: bt + t below 2^28 counts from now. */
static const struct {
	const char *p;
	int64_t want; /* seconds from NOW, or INT64_MIN: bad time */
} senml_times[] = {
    {"[{\"n\":\"pm25\",\"v\":1}]", 0},
    {"[{\"n\":\"pm25\",\"t\":0,\"v\":1}]", 0},
    {"[{\"n\":\"pm25\",\"t\":-60,\"v\":1}]", -60},
    {"[{\"n\":\"pm25\",\"t\":-0.5,\"v\":1}]", -1},
    {"[{\"bt\":-120,\"n\":\"pm25\",\"t\":30,\"v\":1}]", -90},
    {"[{\"bt\":268435455,\"n\":\"pm25\",\"v\":1}]", 268435455},
    {"[{\"bt\":268435456,\"n\":\"pm25\",\"v\":1}]", INT64_MIN},
    {"[{\"bt\":1795931940.5,\"n\":\"pm25\",\"v\":1}]", -60},
    {"[{\"bt\":1795931000,\"n\":\"pm25\",\"t\":940,\"v\":1}]", -60},
};

START_TEST(senml_time)
{
	enum reason why;
	int rc =
	    dec(DECODER_SENML, "aq/senml/dev7", senml_times[_i].p, &res, &why);

	if (senml_times[_i].want == INT64_MIN) {
		ck_assert_int_eq(rc, AQ_ERR_INVAL);
		ck_assert_int_eq(why, REASON_BAD_TIME);
		return;
	}
	ck_assert_msg(
	    rc == AQ_OK, "%s: %s", senml_times[_i].p, reason_name(why));
	ck_assert_str_eq(res.r[0].sensor, "dev7");
	ck_assert_int_eq(res.r[0].ts, NOW + senml_times[_i].want);
}
END_TEST

START_TEST(senml_units)
{
	static const char p[] =
	    "[{\"bn\":\"d:\",\"bt\":1795931940,\"n\":\"pm25\",\"u\":\"ug/m^3\","
	    "\"v\":35.2},"
	    "{\"n\":\"pm10\",\"u\":\"\xc2\xb5g/m3\",\"bv\":10,\"v\":51},"
	    "{\"bv\":0,\"n\":\"co\",\"u\":\"ppm\",\"v\":0.6},"
	    "{\"n\":\"o3\",\"u\":\"kg/m3\",\"v\":1.2e-7},"
	    "{\"n\":\"no2\",\"u\":\"ppb\",\"v\":21},"
	    "{\"n\":\"so2\",\"u\":\"mg/m3\",\"v\":0.005},"
	    "{\"n\":\"temp\",\"u\":\"K\",\"v\":285.65},"
	    "{\"n\":\"humidity\",\"u\":\"%RH\",\"v\":80},"
	    "{\"n\":\"ws\",\"u\":\"km/h\",\"v\":36},"
	    "{\"n\":\"wd\",\"u\":\"deg\",\"v\":270},"
	    "{\"n\":\"pressure\",\"u\":\"Pa\",\"v\":101325},"
	    "{\"n\":\"precipitation\",\"u\":\"mm\",\"v\":1.5},"
	    "{\"n\":\"tsp\",\"u\":\"mg/m3\",\"v\":0.145}]";
	const struct decoded *r = &res.r[0];
	enum reason why;

	ck_assert_int_eq(dec(DECODER_SENML, NULL, p, &res, &why), AQ_OK);
	ck_assert_int_eq(res.n, 1);
	ck_assert_str_eq(r->sensor, "d");
	ck_assert_double_eq_tol(r->v[POL_PM25], 35.2, EPS);
	ck_assert_double_eq_tol(r->v[POL_PM10], 61, EPS);
	ck_assert_double_eq_tol(r->v[POL_CO], 0.6 * M_CO / V_M, 1e-6);
	ck_assert_double_eq_tol(r->v[POL_O3], 120, 1e-6);
	ck_assert_double_eq_tol(r->v[POL_NO2], 21 * M_NO2 / V_M, 1e-6);
	ck_assert_double_eq_tol(r->v[POL_SO2], 5, EPS);
	ck_assert_double_eq_tol(r->met[MET_TEMP], 12.5, 1e-9);
	ck_assert_double_eq_tol(r->met[MET_RH], 80, EPS);
	ck_assert_double_eq_tol(r->met[MET_WS], 10, 1e-9);
	ck_assert_double_eq_tol(r->met[MET_WD], 270, EPS);
	ck_assert_double_eq_tol(r->met[MET_PRES], 1013.25, 1e-9);
	ck_assert_double_eq_tol(r->met[MET_RAIN], 1.5, EPS);
	/* A dust monitor's TSP, mg/m3 into ug/m3. */
	ck_assert(r->met_has & (1u << MET_TSP));
	ck_assert_double_eq_tol(r->met[MET_TSP], 145, 1e-9);
}
END_TEST

/* The most readings one pack may hold, and the names of PM2.5. */
START_TEST(senml_limits)
{
	char p[4096];
	int len = snprintf(p, sizeof(p),
	    "[{\"bn\":\"dev:\",\"bt\":%lld,"
	    "\"n\":\"pm2_5\",\"v\":1}",
	    (long long)TS);
	enum reason why;

	for (int i = 1; i < DECODE_READINGS_MAX; i++)
		len += snprintf(p + len, sizeof(p) - (size_t)len,
		    ",{\"n\":\"pm25\",\"t\":%d,\"v\":%d}", -60 * i, i);
	snprintf(p + len, sizeof(p) - (size_t)len, "]");
	ck_assert_int_eq(dec(DECODER_SENML, NULL, p, &res, &why), AQ_OK);
	ck_assert_int_eq(res.n, DECODE_READINGS_MAX);
	ck_assert_int_eq(res.r[DECODE_READINGS_MAX - 1].ts,
	    TS - 60 * (DECODE_READINGS_MAX - 1));
	ck_assert_double_eq_tol(res.r[DECODE_READINGS_MAX - 1].v[POL_PM25],
	    DECODE_READINGS_MAX - 1, EPS);
}
END_TEST

START_TEST(airgradient)
{
	static const char one[] =
	    "{\"wifi\":-46,\"serialno\":\"ecda3b1eaaaf\",\"rco2\":447,"
	    "\"pm01\":3,\"pm02\":7,\"pm10\":8,\"pm003Count\":442,"
	    "\"atmp\":25.87,\"rhum\":43,\"tvocIndex\":100,\"noxIndex\":1}";
	static const char comp[] =
	    "{\"serialno\":\"84fce60a1b2c\",\"pm02\":9,"
	    "\"pm02Compensated\":7.83,\"pm10\":11,\"atmp\":27.1,"
	    "\"atmpCompensated\":25.4,\"rhum\":38,\"rhumCompensated\":45}";
	static const char anon[] = "{\"pm02\":7}";
	const struct decoded *r = &res.r[0];
	enum reason why;

	ck_assert_int_eq(
	    dec(DECODER_AIRGRADIENT, "ag/x", one, &res, &why), AQ_OK);
	ck_assert_str_eq(r->sensor, "ag-ecda3b1eaaaf");
	ck_assert_int_eq(r->ts, NOW);
	ck_assert_int_eq(r->period, 60);
	ck_assert_uint_eq(r->has, (1u << POL_PM25) | (1u << POL_PM10));
	ck_assert_double_eq_tol(r->v[POL_PM25], 7, EPS);
	ck_assert_double_eq_tol(r->v[POL_PM10], 8, EPS);
	ck_assert_uint_eq(r->met_has, (1u << MET_TEMP) | (1u << MET_RH));
	ck_assert_double_eq_tol(r->met[MET_TEMP], 25.87, EPS);
	ck_assert_double_eq_tol(r->met[MET_RH], 43, EPS);
	ck_assert_int_eq(
	    dec(DECODER_AIRGRADIENT, "ag/x", comp, &res, &why), AQ_OK);
	ck_assert_double_eq_tol(r->v[POL_PM25], 7.83, EPS);
	ck_assert_double_eq_tol(r->v[POL_PM10], 11, EPS);
	ck_assert_double_eq_tol(r->met[MET_TEMP], 25.4, EPS);
	ck_assert_double_eq_tol(r->met[MET_RH], 45, EPS);
	ck_assert_int_eq(dec(DECODER_AIRGRADIENT, "airgradient/readings/lab",
			     anon, &res, &why),
	    AQ_OK);
	ck_assert_str_eq(r->sensor, "lab");
}
END_TEST

START_TEST(sensor_community)
{
	static const char sds[] =
	    "{\"esp8266id\":\"15080489\",\"software_version\":\"NRZ-2020-133\","
	    "\"sensordatavalues\":["
	    "{\"value_type\":\"SDS_P1\",\"value\":\"12.30\"},"
	    "{\"value_type\":\"SDS_P2\",\"value\":\"7.50\"},"
	    "{\"value_type\":\"PMS_P2\",\"value\":\"99.0\"},"
	    "{\"value_type\":\"BME280_temperature\",\"value\":\"21.4\"},"
	    "{\"value_type\":\"BME280_humidity\",\"value\":\"40.1\"},"
	    "{\"value_type\":\"BME280_pressure\",\"value\":\"101325.00\"},"
	    "{\"value_type\":\"signal\",\"value\":\"-50\"}]}";
	static const char sps[] =
	    "{\"esp8266id\":15080490,\"sensordatavalues\":["
	    "{\"value_type\":\"SPS30_P2\",\"value\":\"nan\"},"
	    "{\"value_type\":\"HPM_P2\",\"value\":\"4.20\"},"
	    "{\"value_type\":\"SPS30_P1\",\"value\":5.3},"
	    "{\"value_type\":\"temperature\",\"value\":\"-3.90\"},"
	    "{\"value_type\":\"humidity\",\"value\":\"88.20\"}]}";
	const struct decoded *r = &res.r[0];
	enum reason why;

	ck_assert_int_eq(
	    dec(DECODER_SENSOR_COMMUNITY, NULL, sds, &res, &why), AQ_OK);
	ck_assert_str_eq(r->sensor, "sc-15080489");
	ck_assert_int_eq(r->ts, NOW);
	ck_assert_int_eq(r->period, 145);
	ck_assert_uint_eq(r->has, (1u << POL_PM25) | (1u << POL_PM10));
	ck_assert_double_eq_tol(r->v[POL_PM10], 12.3, EPS);
	ck_assert_double_eq_tol(r->v[POL_PM25], 7.5, EPS);
	ck_assert_double_eq_tol(r->met[MET_TEMP], 21.4, EPS);
	ck_assert_double_eq_tol(r->met[MET_RH], 40.1, EPS);
	ck_assert_double_eq_tol(r->met[MET_PRES], 1013.25, 1e-9);
	ck_assert_int_eq(
	    dec(DECODER_SENSOR_COMMUNITY, NULL, sps, &res, &why), AQ_OK);
	ck_assert_str_eq(r->sensor, "sc-15080490");
	ck_assert_double_eq_tol(r->v[POL_PM25], 4.2, EPS);
	ck_assert_double_eq_tol(r->v[POL_PM10], 5.3, EPS);
	ck_assert_double_eq_tol(r->met[MET_TEMP], -3.9, EPS);
	ck_assert_uint_eq(res.dropped[REASON_NOT_FINITE], 1);
}
END_TEST

START_TEST(names)
{
	for (int d = 0; d < DECODER_COUNT; d++)
		ck_assert_int_eq(decoder_from_name(decoder_name(d)), d);
	ck_assert_str_eq(
	    decoder_name(DECODER_SENSOR_COMMUNITY), "sensor.community");
	ck_assert_int_eq(decoder_from_name("json"), DECODER_NATIVE);
	ck_assert_int_eq(decoder_from_name("JSON"), -1);
	ck_assert_int_eq(decoder_from_name(NULL), -1);
	ck_assert_str_eq(decoder_name(DECODER_COUNT), "unknown");
}
END_TEST

/* Length is refused before parsing; one byte under the bound is parsed.
 * The megabyte payload is made here rather than kept in the tree. */
START_TEST(length_bounds)
{
	static const char head[] = "{\"sensor\":\"s\",\"ts\":1795931940,"
				   "\"pm25\":1,\"pad\":\"";
	size_t big = 1 << 20, hl = strlen(head);
	char *p = malloc(big);
	enum reason why;

	ck_assert_ptr_nonnull(p);
	memcpy(p, head, hl);
	memset(p + hl, 'x', big - hl - 2);
	memcpy(p + big - 2, "\"}", 2);
	ck_assert_int_eq(
	    decode(DECODER_NATIVE, NULL, p, big, MAX_LEN, NOW, &res, &why),
	    AQ_ERR_INVAL);
	ck_assert_int_eq(why, REASON_OVERSIZE);
	ck_assert_int_eq(
	    decode(DECODER_NATIVE, NULL, p, big, big - 1, NOW, &res, &why),
	    AQ_ERR_INVAL);
	ck_assert_int_eq(why, REASON_OVERSIZE);
	/* At the bound it parses, from the heap: it outgrows the arena. */
	ck_assert_int_eq(
	    decode(DECODER_NATIVE, NULL, p, big, big, NOW, &res, &why), AQ_OK);
	ck_assert_double_eq_tol(res.r[0].v[POL_PM25], 1, EPS);
	memset(p, '[', big);
	ck_assert_int_eq(
	    decode(DECODER_SENML, NULL, p, big, big, NOW, &res, &why),
	    AQ_ERR_INVAL);
	ck_assert_int_eq(why, REASON_SYNTAX);
	ck_assert_int_eq(
	    decode(DECODER_SENML, NULL, p, 0, big, NOW, &res, &why),
	    AQ_ERR_INVAL);
	ck_assert_int_eq(why, REASON_SYNTAX);
	free(p);
}
END_TEST

/* A megabyte for each decoder, a payload good but for its length. */
static const struct {
	enum decoder d;
	const char *head, *tail;
	bool parses; /* within a bound of a megabyte */
} mb_cases[] = {
    {DECODER_NATIVE,
	"{\"sensor\":\"s\",\"ts\":1795931940,\"pm25\":1,\"pad\":\"", "\"}",
	true},
    {DECODER_SENML,
	"[{\"bn\":\"d:\",\"bt\":1795931940,\"n\":\"pm25\",\"v\":1},"
	"{\"n\":\"pad\",\"vs\":\"",
	"\"}]", true},
    {DECODER_AIRGRADIENT, "{\"serialno\":\"a\",\"pm02\":1,\"pad\":\"", "\"}",
	true},
    {DECODER_SENSOR_COMMUNITY,
	"{\"esp8266id\":\"1\",\"sensordatavalues\":[{\"value_type\":"
	"\"SDS_P2\",\"value\":\"1\"}],\"pad\":\"",
	"\"}", true},
    /* Four digits of length cannot describe it. */
    {DECODER_HJ212,
	"##9999QN=20261129135905123;ST=22;CN=2011;PW=123456;MN=AQ1;"
	"Flag=5;CP=&&DataTime=20261129135900;a34004-Rtd=1,a34004-Flag=N;"
	"x=",
	"&&0000\r\n", false},
};

/* Refused as oversize before anything is read from it, at the daemon's
 * default bound and one byte short of its length; within the bound, the
 * JSON formats read it (from the heap: it outgrows the arena), and a
 * megabyte of '[' is a syntax fault for every decoder. */
START_TEST(megabyte)
{
	size_t big = 1 << 20, hl = strlen(mb_cases[_i].head),
	       tl = strlen(mb_cases[_i].tail);
	enum decoder d = mb_cases[_i].d;
	char *p = malloc(big);
	enum reason why;

	ck_assert_ptr_nonnull(p);
	memcpy(p, mb_cases[_i].head, hl);
	memset(p + hl, 'x', big - hl - tl);
	memcpy(p + big - tl, mb_cases[_i].tail, tl);
	for (size_t bound = MAX_LEN; bound != 0;
	     bound = bound == MAX_LEN ? big - 1 : 0) {
		why = REASON_COUNT;
		res.n = -1;
		ck_assert_int_eq(
		    decode(d, "aq/t/mb", p, big, bound, NOW, &res, &why),
		    AQ_ERR_INVAL);
		ck_assert_int_eq(why, REASON_OVERSIZE);
		ck_assert_int_eq(res.n, 0);
		for (int r = 0; r < REASON_COUNT; r++)
			ck_assert_uint_eq(res.dropped[r], 0);
	}
	why = REASON_COUNT;
	if (mb_cases[_i].parses) {
		ck_assert_msg(
		    decode(d, "aq/t/mb", p, big, big, NOW, &res, &why) == AQ_OK,
		    "%s: %s", decoder_name(d), reason_name(why));
		ck_assert_int_eq(res.n, 1);
		ck_assert_uint_eq(res.r[0].has, 1u << POL_PM25);
		ck_assert_double_eq_tol(res.r[0].v[POL_PM25], 1, EPS);
	} else {
		ck_assert_int_eq(
		    decode(d, "aq/t/mb", p, big, big, NOW, &res, &why),
		    AQ_ERR_INVAL);
		ck_assert_int_eq(why, REASON_SYNTAX);
	}
	memset(p, '[', big);
	why = REASON_COUNT;
	ck_assert_int_eq(
	    decode(d, "aq/t/mb", p, big, big, NOW, &res, &why), AQ_ERR_INVAL);
	ck_assert_int_eq(why, REASON_SYNTAX);
	free(p);
}
END_TEST

static int
decode_loop(void *arg)
{
	struct thread_arg *t = arg;
	struct decode_result *out = malloc(sizeof(*out));
	enum reason why;

	if (out == NULL)
		return t->failures = 1;
	for (int i = 0; i < 2000; i++)
		if (dec(DECODER_NATIVE, NULL, t->payload, out, &why) != AQ_OK ||
		    out->r[0].v[POL_PM25] != t->pm25)
			t->failures++;
	free(out);
	return 0;
}

/* Each thread has its own arena: two threads decoding at once get their
 * own values back. */
START_TEST(threads)
{
	struct thread_arg a = {"{\"sensor\":\"a\",\"ts\":1795931940,"
			       "\"pm25\":11,\"pad\":\"aaaaaaaaaaaaaaaaaaaa\"}",
	    11, 0};
	struct thread_arg b = {
	    "{\"sensor\":\"b\",\"ts\":1795931940,\"pm25\":22}", 22, 0};
	thrd_t ta;

	ck_assert_int_eq(thrd_create(&ta, decode_loop, &a), thrd_success);
	decode_loop(&b);
	ck_assert_int_eq(thrd_join(ta, NULL), thrd_success);
	ck_assert_int_eq(a.failures, 0);
	ck_assert_int_eq(b.failures, 0);
}
END_TEST

static Suite *
decode_suite(void)
{
	Suite *s = suite_create("decode");
	TCase *tc = tcase_create("formats");
	TCase *tcc = tcase_create("corpus");

	tcase_add_test(tc, native_typical);
	tcase_add_loop_test(
	    tc, native_times, 0, sizeof(iso_cases) / sizeof(iso_cases[0]));
	tcase_add_test(tc, native_units);
	tcase_add_test(tc, native_sensor);
	tcase_add_test(tc, native_drops);
	tcase_add_test(tc, senml_pack);
	tcase_add_loop_test(
	    tc, senml_time, 0, sizeof(senml_times) / sizeof(senml_times[0]));
	tcase_add_test(tc, senml_units);
	tcase_add_test(tc, senml_limits);
	tcase_add_test(tc, airgradient);
	tcase_add_test(tc, sensor_community);
	tcase_add_test(tc, names);
	tcase_add_test(tc, length_bounds);
	tcase_add_loop_test(
	    tc, megabyte, 0, sizeof(mb_cases) / sizeof(mb_cases[0]));
	tcase_add_test(tc, threads);
	suite_add_tcase(s, tc);

	tcase_add_test(tcc, corpus_size);
	tcase_add_loop_test(tcc, corpus, 0, n_bad);
	tcase_add_loop_test(tcc, good_samples, 0, n_good);
	suite_add_tcase(s, tcc);
	return s;
}

int
main(void)
{
	const char *bad = getenv("AQ_CORPUS");
	const char *good = getenv("AQ_GOOD");
	SRunner *sr;
	int failed;

	decode_init();
	/* The zone of the integration test's daemon, so that HJ 212 frames
	 * get the answers they get there. */
	if (tz_init(&zone, "Asia/Shanghai") != AQ_OK)
		return EXIT_FAILURE;
	decode_set_zone(&zone);
	read_dir(bad != NULL ? bad : AQ_CORPUS_DIR, false);
	read_dir(good != NULL ? good : AQ_GOOD_DIR, true);
	for (int i = 0; i < n_bad; i++) {
		size_t len = 0;
		char *buf = slurp(bad_files[i].path, &len);

		bad_bytes += len;
		free(buf);
	}
	sr = srunner_create(decode_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
