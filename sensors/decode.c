/*
 * decode: the native JSON, SenML, AirGradient and Sensor.Community payloads
 * into readings (see decode.h).
 *
 * Every payload goes through the same gate: its length is checked against
 * the caller's bound, its nesting is counted without parsing, and only then
 * does jansson parse it, allocating from a per-thread arena that is reset
 * for each payload.  The format's decoder then walks the tree once, refusing
 * the payload for faults of shape (schema, sensor, time, unit) and dropping
 * single values that are not numbers, counted by reason.
 *
 * Choices where the formats leave room, kept in one place:
 * - JSON null is "absent" for every optional field of the native,
 *   AirGradient and Sensor.Community formats, and is not counted.
 * - Duplicate keys are refused as schema faults: RFC 8259 only says names
 *   SHOULD be unique, so the text is JSON, but it is ambiguous to us.
 * - Nesting deeper than DEPTH_MAX is refused as a syntax fault before
 *   parsing, as jansson's own depth limit would; no format nests past 3.
 * - Numbers jansson cannot hold (1e400, 20-digit integers) are syntax
 *   faults, as jansson reports them.  The same numbers in Sensor.Community
 *   strings are values dropped as out_of_range.
 * - A value that is not a number is dropped and counted, weather fields
 *   included; "NaN", "nan", "-inf", "Infinity" (any case, any sign) count
 *   as not_finite.  Numbers as strings are not numbers, except in
 *   Sensor.Community payloads, which send all values so.
 * - When no pollutant value is left and all the pollutant values that were
 *   dropped were dropped for one reason, the payload is refused with that
 *   reason (a lone "pm25":"NaN" is not_finite), else with no_values.
 * - An unknown unit, or ppb/ppm of particles, refuses the payload
 *   (bad_unit): a wrong conversion would be worse than none.  A SenML
 *   weather field in an unknown unit is only dropped (it feeds no index).
 * - Timestamps outside 2000 ... 2100 are bad_time: that catches
 *   milliseconds sent as seconds.  A fractional time is rounded down.
 * - Sensor ids come from the payload (with "ag-" or "sc-" before
 *   AirGradient and Sensor.Community ids), else from the topic's last
 *   level.  An empty id is no_sensor; a too long one, or one with control
 *   characters, is a schema fault; a topic that gives none is no_sensor.
 */
#include "sensors/decode.h"

#include <jansson.h>
#include <math.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon/fix.h"
#include "daemon/tz.h"

#define ARENA_SIZE 65536
#define ARENA_ALIGN alignof(max_align_t)
#define DEPTH_MAX 16
#define TS_MIN INT64_C(946684800)  /* 2000-01-01T00:00:00Z */
#define TS_MAX INT64_C(4102444800) /* 2100-01-01T00:00:00Z */
#define PERIOD_DEFAULT 60
#define PERIOD_MAX 86400
/* Sensor.Community firmware posts every 145 s by default, and each post
 * summarises the interval since the last one. */
#define SC_PERIOD 145
#define SC_VALUES_MAX 64
#define SENML_RECORDS_MAX 256
#define SENML_NAME_MAX 128
#define SENML_VERSION 10
/* RFC 8428 section 4.5.3: times below 2^28 are relative to "now". */
#define SENML_RELATIVE 268435456.0

/*
 * The arena jansson allocates from while decode() runs on this thread.
 * Blocks are bumped off buf and never freed one by one: decode() starts
 * it afresh.  A typical payload takes 1 to 5 KiB; a request that does not
 * fit, or one made while no decode() runs on the thread (the API and the
 * configuration use jansson too), goes to malloc.
 */
struct arena {
	alignas(max_align_t) unsigned char buf[ARENA_SIZE];
	size_t used;
	bool active;
	bool spilled; /* part of this payload's tree came from malloc */
};

/* One payload being decoded. */
struct ctx {
	const char *topic;
	int64_t now;
	struct decode_result *out;
	/* Reasons pollutant values of each reading were dropped for. */
	uint32_t pol_drops[DECODE_READINGS_MAX];
};

/* The base fields in force while a SenML pack is read. */
struct senml_base {
	const char *bn, *bu;
	double bt, bv;
	json_int_t version;
};

/* The regular fields of one SenML record. */
struct senml_rec {
	const char *n, *u;
	const json_t *v;     /* "v" */
	const json_t *other; /* "vs", "vb" or "vd" */
	int nvalues;
	bool has_sum;
	double t;
};

/* Whether a JSON value gave a number, was absent or was dropped. */
enum num { NUM_OK, NUM_ABSENT, NUM_DROP };

static void *arena_malloc(size_t size);
static void arena_free(void *p);
static bool too_deep(const unsigned char *p, size_t len);
static int refuse(enum reason *why, enum reason r);
static bool nonfinite_spelling(const char *s);
static enum num json_num(const json_t *j, double *v, enum reason *r);
static enum num json_num_text(const json_t *j, double *v, enum reason *r);
static bool has_ctrl(const char *s, size_t len);
static int set_sensor(char *dst, const char *prefix, const char *id, size_t len,
    enum reason *why);
static int topic_sensor(const char *topic, char *dst, enum reason *why);
static struct decoded *new_reading(struct ctx *c);
static void drop(struct ctx *c, int i, bool pol, enum reason r);
static bool to_canonical(enum pol p, enum unit u, double v, double *out);
static void put_pol(struct ctx *c, int i, enum pol p, enum unit u, double v);
static void put_met(struct ctx *c, int i, enum met m, double v);
static void take_pol(
    struct ctx *c, int i, enum pol p, enum unit u, const json_t *j, bool text);
static void take_met(
    struct ctx *c, int i, enum met m, const json_t *j, bool text, double scale);
static int finish(struct ctx *c, enum reason *why);
static int time_value(const json_t *j, int64_t *ts, enum reason *why);
static int native_units(
    json_t *units, enum unit u[POL_COUNT], bool *bad_unit, enum reason *why);
static int native_key(const char *key);
static int native_decode(struct ctx *c, json_t *root, enum reason *why);
static bool senml_name_ok(const char *s);
static int senml_measure(const char *name, size_t *prefix, bool *met);
static int senml_unit(const char *u, bool met, int idx, double *scale,
    double *offset, enum unit *unit);
static int senml_group(
    struct ctx *c, const char *sensor, int64_t ts, enum reason *why);
static int senml_fields(json_t *rec, size_t idx, struct senml_base *b,
    struct senml_rec *f, enum reason *why);
static enum num senml_value(const struct senml_rec *f,
    const struct senml_base *b, double *x, enum reason *r);
static int senml_decode(struct ctx *c, json_t *root, enum reason *why);
static void ag_take(
    struct ctx *c, const json_t *comp, const json_t *raw, bool met, int idx);
static int ag_decode(struct ctx *c, json_t *root, enum reason *why);
static int sc_measure(const char *type, bool *met);
static int sc_decode(struct ctx *c, json_t *root, enum reason *why);

static _Thread_local struct arena arena;

static const char *const decoder_names[DECODER_COUNT] = {
    [DECODER_NATIVE] = "json",
    [DECODER_SENSOR_COMMUNITY] = "sensor.community",
    [DECODER_SENML] = "senml",
    [DECODER_AIRGRADIENT] = "airgradient",
};

static int (*const decoders[DECODER_COUNT])(
    struct ctx *, json_t *, enum reason *) = {
    [DECODER_NATIVE] = native_decode,
    [DECODER_SENML] = senml_decode,
    [DECODER_AIRGRADIENT] = ag_decode,
    [DECODER_SENSOR_COMMUNITY] = sc_decode,
};

/* Native format: the keys we read; all others are ignored. */
enum nf {
	NF_SENSOR,
	NF_TS,
	NF_PERIOD,
	NF_CELL,
	NF_LAT,
	NF_LON,
	NF_UNITS,
	NF_POL,                      /* NF_POL + POL_x */
	NF_MET = NF_POL + POL_COUNT, /* NF_MET + MET_x */
	NF_COUNT = NF_MET + MET_COUNT
};

static const char *const native_keys[NF_COUNT] = {
    [NF_SENSOR] = "sensor",
    [NF_TS] = "ts",
    [NF_PERIOD] = "period",
    [NF_CELL] = "cell",
    [NF_LAT] = "lat",
    [NF_LON] = "lon",
    [NF_UNITS] = "units",
    [NF_POL + POL_PM25] = "pm25",
    [NF_POL + POL_PM10] = "pm10",
    [NF_POL + POL_SO2] = "so2",
    [NF_POL + POL_NO2] = "no2",
    [NF_POL + POL_CO] = "co",
    [NF_POL + POL_O3] = "o3",
    [NF_MET + MET_TEMP] = "temp",
    [NF_MET + MET_RH] = "rh",
    [NF_MET + MET_WS] = "ws",
    [NF_MET + MET_WD] = "wd",
    [NF_MET + MET_PRES] = "pres",
};

/* SenML measurement names (the part of a name after its last ':' or '/'). */
static const struct {
	const char *name;
	bool met;
	int idx; /* enum pol or enum met */
} senml_names[] = {
    {"pm25", false, POL_PM25},
    {"pm2.5", false, POL_PM25},
    {"pm2_5", false, POL_PM25},
    {"pm10", false, POL_PM10},
    {"so2", false, POL_SO2},
    {"no2", false, POL_NO2},
    {"co", false, POL_CO},
    {"o3", false, POL_O3},
    {"temp", true, MET_TEMP},
    {"temperature", true, MET_TEMP},
    {"rh", true, MET_RH},
    {"humidity", true, MET_RH},
    {"ws", true, MET_WS},
    {"wd", true, MET_WD},
    {"pres", true, MET_PRES},
    {"pressure", true, MET_PRES},
};

/*
 * SenML units of concentration.  RFC 8428 registers kg/m3; RFC 8798 adds
 * ug/m3 and ppm.  The others are spellings sensors use although they are
 * not registered (mg/m3, ppb, ug/m^3, and the micro sign or Greek mu).
 * scale turns the value into the given unit of pol.h.
 */
static const struct {
	const char *name;
	enum unit unit;
	double scale;
} senml_pol_units[] = {
    {"ug/m3", UNIT_UGM3, 1},
    {"ug/m^3", UNIT_UGM3, 1},
    {"\xc2\xb5g/m3", UNIT_UGM3, 1},
    {"\xce\xbcg/m3", UNIT_UGM3, 1},
    {"mg/m3", UNIT_MGM3, 1},
    {"kg/m3", UNIT_UGM3, 1e9},
    {"ppm", UNIT_PPM, 1},
    {"ppb", UNIT_PPB, 1},
};

/* SenML units of the weather fields, into degC, %, m/s, degrees and hPa:
 * value * scale + offset.  "/" is RFC 8428's ratio (0 ... 1). */
static const struct {
	const char *name;
	enum met met;
	double scale, offset;
} senml_met_units[] = {
    {"Cel", MET_TEMP, 1, 0},
    {"K", MET_TEMP, 1, -273.15},
    {"%RH", MET_RH, 1, 0},
    {"%", MET_RH, 1, 0},
    {"/", MET_RH, 100, 0},
    {"m/s", MET_WS, 1, 0},
    {"km/h", MET_WS, 1 / 3.6, 0},
    {"deg", MET_WD, 1, 0},
    {"rad", MET_WD, 57.29577951308232, 0},
    {"Pa", MET_PRES, 0.01, 0},
    {"hPa", MET_PRES, 1, 0},
};

/* AirGradient keys we read; a compensated value is preferred to the raw
 * one when both are present. */
enum agf {
	AG_SERIAL,
	AG_PM02,
	AG_PM02C,
	AG_PM10,
	AG_ATMP,
	AG_ATMPC,
	AG_RHUM,
	AG_RHUMC,
	AG_COUNT
};

static const char *const ag_keys[AG_COUNT] = {
    [AG_SERIAL] = "serialno",
    [AG_PM02] = "pm02",
    [AG_PM02C] = "pm02Compensated",
    [AG_PM10] = "pm10",
    [AG_ATMP] = "atmp",
    [AG_ATMPC] = "atmpCompensated",
    [AG_RHUM] = "rhum",
    [AG_RHUMC] = "rhumCompensated",
};

/* What each AirGradient value is, raw and compensated (AG_COUNT: no
 * compensated key). */
static const struct {
	bool met;
	int idx; /* enum pol or enum met */
	enum agf raw, comp;
} ag_values[] = {
    {false, POL_PM25, AG_PM02, AG_PM02C},
    {false, POL_PM10, AG_PM10, AG_COUNT},
    {true, MET_TEMP, AG_ATMP, AG_ATMPC},
    {true, MET_RH, AG_RHUM, AG_RHUMC},
};

/* Sensor.Community particle sensors whose P1 is PM10 and P2 is PM2.5. */
static const char *const sc_pm_sensors[] = {
    "SDS", "PMS", "SPS30", "HPM", "NPM"};

static void *
arena_malloc(size_t size)
{
	struct arena *a = &arena;
	size_t need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	void *p;

	if (need == 0)
		need = ARENA_ALIGN;
	if (!a->active)
		return malloc(size);
	if (need < size || need > ARENA_SIZE - a->used) {
		a->spilled = true;
		return malloc(size);
	}
	p = a->buf + a->used;
	a->used += need;
	return p;
}

static void
arena_free(void *p)
{
	struct arena *a = &arena;
	uintptr_t u = (uintptr_t)p, base = (uintptr_t)a->buf;

	/* A block of the arena goes when decode() starts the next payload;
	 * the others came from malloc. */
	if (u < base || u >= base + ARENA_SIZE)
		free(p);
}

/* Counts nesting without parsing, so a payload of 10,000 '[' costs one
 * pass instead of thousands of allocations.  Most bytes are of no interest,
 * and a table says so in one load. */
static bool
too_deep(const unsigned char *p, size_t len)
{
	static const unsigned char cls[256] = {
	    ['"'] = 1, ['\\'] = 2, ['['] = 3, ['{'] = 3, [']'] = 4, ['}'] = 4};
	bool in_string = false;
	int depth = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char k = cls[p[i]];

		if (k == 0)
			continue;
		if (k == 1)
			in_string = !in_string;
		else if (in_string)
			i += k == 2; /* skip the escaped byte */
		else if (k == 3 && ++depth > DEPTH_MAX)
			return true;
		else if (k == 4)
			depth--;
	}
	return false;
}

/* Sets *why and returns AQ_ERR_INVAL, so that a refusal is one statement. */
static int
refuse(enum reason *why, enum reason r)
{
	*why = r;
	return AQ_ERR_INVAL;
}

/* "NaN", "-inf", "Infinity": how sensors spell what JSON cannot hold. */
static bool
nonfinite_spelling(const char *s)
{
	if (*s == '+' || *s == '-')
		s++;
	return strcasecmp(s, "nan") == 0 || strcasecmp(s, "inf") == 0 ||
	    strcasecmp(s, "infinity") == 0;
}

/* A value that must be a JSON number. */
static enum num
json_num(const json_t *j, double *v, enum reason *r)
{
	if (j == NULL || json_is_null(j))
		return NUM_ABSENT;
	if (json_is_number(j)) {
		*v = json_number_value(j);
		return NUM_OK;
	}
	if (json_is_string(j) && nonfinite_spelling(json_string_value(j)))
		*r = REASON_NOT_FINITE;
	else
		*r = REASON_NOT_NUMBER;
	return NUM_DROP;
}

/* A value that may be a JSON number or a decimal in a string, as
 * Sensor.Community sends them.  strtod alone would take hexadecimal, so
 * the characters are checked first. */
static enum num
json_num_text(const json_t *j, double *v, enum reason *r)
{
	const char *s, *p;
	char *end;
	double d;

	if (j == NULL || !json_is_string(j))
		return json_num(j, v, r);
	s = json_string_value(j);
	if (nonfinite_spelling(s)) {
		*r = REASON_NOT_FINITE;
		return NUM_DROP;
	}
	*r = REASON_NOT_NUMBER;
	for (p = s; *p != '\0'; p++)
		if (strchr("0123456789.eE+-", *p) == NULL)
			return NUM_DROP;
	if (*s == '\0')
		return NUM_DROP;
	d = strtod(s, &end);
	if (*end != '\0' || end == s)
		return NUM_DROP;
	if (!isfinite(d)) {
		*r = REASON_OUT_OF_RANGE; /* "1e400": a number, too large */
		return NUM_DROP;
	}
	*v = d;
	return NUM_OK;
}

static bool
has_ctrl(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

/* dst (WIN_SENSOR_ID_MAX bytes) = prefix + the len bytes of id. */
static int
set_sensor(
    char *dst, const char *prefix, const char *id, size_t len, enum reason *why)
{
	size_t plen = strlen(prefix);

	if (len == 0)
		return refuse(why, REASON_NO_SENSOR);
	if (plen + len >= WIN_SENSOR_ID_MAX || has_ctrl(id, len))
		return refuse(why, REASON_SCHEMA);
	memcpy(dst, prefix, plen);
	memcpy(dst + plen, id, len);
	dst[plen + len] = '\0';
	return AQ_OK;
}

/* The topic's last level names the sensor when the payload does not.  A
 * topic that cannot is the lack of a sensor, not a fault of the payload. */
static int
topic_sensor(const char *topic, char *dst, enum reason *why)
{
	const char *last;
	size_t len;

	if (topic == NULL)
		return refuse(why, REASON_NO_SENSOR);
	last = strrchr(topic, '/');
	last = last != NULL ? last + 1 : topic;
	len = strlen(last);
	if (len == 0 || len >= WIN_SENSOR_ID_MAX || has_ctrl(last, len))
		return refuse(why, REASON_NO_SENSOR);
	memcpy(dst, last, len + 1);
	return AQ_OK;
}

/* Returns a cleared reading at the end of out, or NULL when it is full. */
static struct decoded *
new_reading(struct ctx *c)
{
	struct decoded *r;

	if (c->out->n >= DECODE_READINGS_MAX)
		return NULL;
	c->pol_drops[c->out->n] = 0;
	r = &c->out->r[c->out->n++];
	memset(r, 0, sizeof(*r));
	r->period = PERIOD_DEFAULT;
	return r;
}

static void
drop(struct ctx *c, int i, bool pol, enum reason r)
{
	c->out->dropped[r]++;
	if (pol)
		c->pol_drops[i] |= UINT32_C(1) << r;
}

/* Converts through exact decimals (pol_convert), so that 88 ppb of O3 is
 * the same number here as in the engine's tests. */
static bool
to_canonical(enum pol p, enum unit u, double v, double *out)
{
	int64_t f, g;

	if (u == pol_unit(p)) {
		*out = v;
		return true;
	}
	if (fix_from_double(v, &f) != AQ_OK ||
	    pol_convert(p, f, u, pol_unit(p), false, &g) != AQ_OK)
		return false;
	*out = fix_to_double(g);
	return true;
}

static void
put_pol(struct ctx *c, int i, enum pol p, enum unit u, double v)
{
	struct decoded *r = &c->out->r[i];
	double cv;

	if (!to_canonical(p, u, v, &cv)) {
		drop(c, i, true, REASON_OUT_OF_RANGE);
		return;
	}
	r->v[p] = cv;
	r->has |= UINT32_C(1) << p;
}

static void
put_met(struct ctx *c, int i, enum met m, double v)
{
	struct decoded *r = &c->out->r[i];

	r->met[m] = v;
	r->met_has |= UINT32_C(1) << m;
}

/* Takes pollutant p of reading i from j (text: numbers may be strings). */
static void
take_pol(
    struct ctx *c, int i, enum pol p, enum unit u, const json_t *j, bool text)
{
	enum reason r;
	double v;
	enum num k = text ? json_num_text(j, &v, &r) : json_num(j, &v, &r);

	if (k == NUM_OK)
		put_pol(c, i, p, u, v);
	else if (k == NUM_DROP)
		drop(c, i, true, r);
}

static void
take_met(
    struct ctx *c, int i, enum met m, const json_t *j, bool text, double scale)
{
	enum reason r;
	double v;
	enum num k = text ? json_num_text(j, &v, &r) : json_num(j, &v, &r);

	if (k == NUM_OK)
		put_met(c, i, m, v * scale);
	else if (k == NUM_DROP)
		drop(c, i, false, r);
}

/* Removes the readings left without a pollutant value; refuses the payload
 * when none is left, with the one reason that emptied it if there is one. */
static int
finish(struct ctx *c, enum reason *why)
{
	struct decode_result *out = c->out;
	uint32_t reasons = 0;
	int n = 0;

	for (int i = 0; i < out->n; i++) {
		if (out->r[i].has == 0) {
			reasons |= c->pol_drops[i];
			continue;
		}
		if (n != i)
			out->r[n] = out->r[i];
		n++;
	}
	out->n = n;
	if (n > 0)
		return AQ_OK;
	if (reasons != 0 && (reasons & (reasons - 1)) == 0) {
		int r = 0;

		while ((reasons >> r) != 1)
			r++;
		return refuse(why, (enum reason)r);
	}
	return refuse(why, REASON_NO_VALUES);
}

/* A native timestamp: Unix seconds as a number, or text for tz_parse(). */
static int
time_value(const json_t *j, int64_t *ts, enum reason *why)
{
	int64_t t;

	if (j == NULL || json_is_null(j))
		return refuse(why, REASON_BAD_TIME);
	if (json_is_integer(j)) {
		t = json_integer_value(j);
	} else if (json_is_real(j)) {
		double d = json_real_value(j);

		if (!(d >= (double)TS_MIN && d < (double)TS_MAX))
			return refuse(why, REASON_BAD_TIME);
		t = (int64_t)floor(d);
	} else if (json_is_string(j)) {
		if (tz_parse(json_string_value(j), &t) != AQ_OK)
			return refuse(why, REASON_BAD_TIME);
	} else {
		return refuse(why, REASON_SCHEMA);
	}
	if (t < TS_MIN || t >= TS_MAX)
		return refuse(why, REASON_BAD_TIME);
	*ts = t;
	return AQ_OK;
}

/* The native "units" object.  A pollutant's unit that is not a string is
 * a schema fault; one we do not know, or a mixing ratio of particles, sets
 * *bad_unit, which the caller reports after the other schema checks. */
static int
native_units(
    json_t *units, enum unit u[POL_COUNT], bool *bad_unit, enum reason *why)
{
	const char *key;
	json_t *val;

	for (int p = 0; p < POL_COUNT; p++)
		u[p] = pol_unit(p);
	if (units == NULL || json_is_null(units))
		return AQ_OK;
	if (!json_is_object(units))
		return refuse(why, REASON_SCHEMA);
	json_object_foreach(units, key, val)
	{
		int p = pol_from_name(key), v;

		if (p < 0)
			continue;
		if (!json_is_string(val))
			return refuse(why, REASON_SCHEMA);
		v = unit_from_name(json_string_value(val));
		if (v < 0 ||
		    (!pol_is_gas(p) && (v == UNIT_PPB || v == UNIT_PPM)))
			*bad_unit = true;
		else
			u[p] = v;
	}
	return AQ_OK;
}

/* Index of a native key in native_keys, or -1.  Keys are looked up for
 * every member of every payload, so only those sharing the first letter
 * are compared. */
static int
native_key(const char *key)
{
	static const uint32_t by_first[26] = {
#define B(k) (UINT32_C(1) << (k))
	    ['c' - 'a'] = B(NF_CELL) | B(NF_POL + POL_CO),
	    ['l' - 'a'] = B(NF_LAT) | B(NF_LON),
	    ['n' - 'a'] = B(NF_POL + POL_NO2),
	    ['o' - 'a'] = B(NF_POL + POL_O3),
	    ['p' - 'a'] = B(NF_PERIOD) | B(NF_POL + POL_PM25) |
		B(NF_POL + POL_PM10) | B(NF_MET + MET_PRES),
	    ['r' - 'a'] = B(NF_MET + MET_RH),
	    ['s' - 'a'] = B(NF_SENSOR) | B(NF_POL + POL_SO2),
	    ['t' - 'a'] = B(NF_TS) | B(NF_MET + MET_TEMP),
	    ['u' - 'a'] = B(NF_UNITS),
	    ['w' - 'a'] = B(NF_MET + MET_WS) | B(NF_MET + MET_WD),
#undef B
	};
	uint32_t set;

	if (key[0] < 'a' || key[0] > 'z')
		return -1;
	set = by_first[key[0] - 'a'];
	for (int k = 0; set != 0; k++, set >>= 1)
		if ((set & 1) != 0 && strcmp(key, native_keys[k]) == 0)
			return k;
	return -1;
}

static int
native_decode(struct ctx *c, json_t *root, enum reason *why)
{
	json_t *f[NF_COUNT] = {NULL};
	enum unit units[POL_COUNT];
	bool bad_unit = false;
	struct decoded *r;
	const char *key;
	json_t *val;
	int rc;

	if (!json_is_object(root))
		return refuse(why, REASON_SCHEMA);
	json_object_foreach(root, key, val)
	{
		int k = native_key(key);

		if (k >= 0)
			f[k] = json_is_null(val) ? NULL : val;
	}
	r = new_reading(c);

	/* Faults of shape first, then sensor, time and unit, in that order,
	 * so that a payload with several faults always gets one answer. */
	if ((f[NF_SENSOR] != NULL && !json_is_string(f[NF_SENSOR])) ||
	    (f[NF_TS] != NULL && !json_is_number(f[NF_TS]) &&
		!json_is_string(f[NF_TS])))
		return refuse(why, REASON_SCHEMA);
	if (f[NF_PERIOD] != NULL) {
		json_int_t p = json_integer_value(f[NF_PERIOD]);

		if (!json_is_integer(f[NF_PERIOD]) || p < 1 || p > PERIOD_MAX)
			return refuse(why, REASON_SCHEMA);
		r->period = (int32_t)p;
	}
	if (f[NF_CELL] != NULL) {
		size_t len = json_string_length(f[NF_CELL]);

		if (!json_is_string(f[NF_CELL]) || len >= WIN_CELL_ID_MAX ||
		    has_ctrl(json_string_value(f[NF_CELL]), len))
			return refuse(why, REASON_SCHEMA);
		memcpy(r->cell, json_string_value(f[NF_CELL]), len + 1);
	}
	if (f[NF_LAT] != NULL || f[NF_LON] != NULL) {
		if (!json_is_number(f[NF_LAT]) || !json_is_number(f[NF_LON]))
			return refuse(why, REASON_SCHEMA);
		r->lat = json_number_value(f[NF_LAT]);
		r->lon = json_number_value(f[NF_LON]);
		if (fabs(r->lat) > 90 || fabs(r->lon) > 180)
			return refuse(why, REASON_SCHEMA);
		r->has_pos = true;
	}
	if ((rc = native_units(f[NF_UNITS], units, &bad_unit, why)) != AQ_OK)
		return rc;
	if (f[NF_SENSOR] != NULL)
		rc = set_sensor(r->sensor, "", json_string_value(f[NF_SENSOR]),
		    json_string_length(f[NF_SENSOR]), why);
	else
		rc = topic_sensor(c->topic, r->sensor, why);
	if (rc != AQ_OK)
		return rc;
	if ((rc = time_value(f[NF_TS], &r->ts, why)) != AQ_OK)
		return rc;
	if (bad_unit)
		return refuse(why, REASON_BAD_UNIT);

	for (int p = 0; p < POL_COUNT; p++)
		take_pol(c, 0, p, units[p], f[NF_POL + p], false);
	for (int m = 0; m < MET_COUNT; m++)
		take_met(c, 0, m, f[NF_MET + m], false, 1);
	return finish(c, why);
}

/* RFC 8428 section 4.5.1: A-Z a-z 0-9 - : . / _, starting alphanumeric. */
static bool
senml_name_ok(const char *s)
{
	static const char extra[] = "-:./_";

	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		(*s >= '0' && *s <= '9')))
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
			(*s >= '0' && *s <= '9') || strchr(extra, *s) != NULL))
			return false;
	return true;
}

/* Index in senml_names of what a full name measures, or -1.  *prefix is
 * the length of the sensor part before the last ':' or '/' (0: none). */
static int
senml_measure(const char *name, size_t *prefix, bool *met)
{
	const char *sep = NULL, *m;

	for (const char *p = name; *p != '\0'; p++)
		if (*p == ':' || *p == '/')
			sep = p;
	m = sep != NULL ? sep + 1 : name;
	*prefix = sep != NULL ? (size_t)(sep - name) : 0;
	for (size_t i = 0; i < sizeof(senml_names) / sizeof(senml_names[0]);
	     i++) {
		if (strcmp(m, senml_names[i].name) == 0) {
			*met = senml_names[i].met;
			return senml_names[i].idx;
		}
	}
	return -1;
}

/* Resolves unit string u (NULL: none given) of a pollutant or weather
 * field.  Returns AQ_OK, or AQ_ERR_INVAL for a unit we cannot use. */
static int
senml_unit(const char *u, bool met, int idx, double *scale, double *offset,
    enum unit *unit)
{
	*scale = 1;
	*offset = 0;
	*unit = met ? UNIT_UGM3 : pol_unit(idx);
	if (u == NULL)
		return AQ_OK;
	if (met) {
		for (size_t i = 0;
		     i < sizeof(senml_met_units) / sizeof(senml_met_units[0]);
		     i++) {
			if ((int)senml_met_units[i].met == idx &&
			    strcmp(u, senml_met_units[i].name) == 0) {
				*scale = senml_met_units[i].scale;
				*offset = senml_met_units[i].offset;
				return AQ_OK;
			}
		}
		return AQ_ERR_INVAL;
	}
	for (size_t i = 0;
	     i < sizeof(senml_pol_units) / sizeof(senml_pol_units[0]); i++) {
		if (strcmp(u, senml_pol_units[i].name) == 0) {
			*unit = senml_pol_units[i].unit;
			*scale = senml_pol_units[i].scale;
			if (!pol_is_gas(idx) &&
			    (*unit == UNIT_PPB || *unit == UNIT_PPM))
				return AQ_ERR_INVAL;
			return AQ_OK;
		}
	}
	return AQ_ERR_INVAL;
}

/* Index of the reading of sensor at ts, added if new.  More readings than
 * DECODE_READINGS_MAX refuse the pack: dropping some would hide data
 * without a count to show for it; a sender can split its packs. */
static int
senml_group(struct ctx *c, const char *sensor, int64_t ts, enum reason *why)
{
	struct decoded *r;

	for (int i = c->out->n - 1; i >= 0; i--)
		if (c->out->r[i].ts == ts &&
		    strcmp(c->out->r[i].sensor, sensor) == 0)
			return i;
	if ((r = new_reading(c)) == NULL) {
		*why = REASON_SCHEMA;
		return -1;
	}
	memcpy(r->sensor, sensor, strlen(sensor) + 1);
	r->ts = ts;
	return c->out->n - 1;
}

/* Reads one record's labels, updating the base fields in force. */
static int
senml_fields(json_t *rec, size_t idx, struct senml_base *b, struct senml_rec *f,
    enum reason *why)
{
	const char *key;
	json_t *val;

	memset(f, 0, sizeof(*f));
	f->n = "";
	if (!json_is_object(rec))
		return refuse(why, REASON_SCHEMA);
	json_object_foreach(rec, key, val)
	{
		size_t kl = strlen(key);
		bool ok = true;

		/* Section 4.4: a label ending in '_' must be understood,
		 * and we understand none. */
		if (kl > 0 && key[kl - 1] == '_')
			return refuse(why, REASON_SCHEMA);
		if (strcmp(key, "bn") == 0) {
			if ((ok = json_is_string(val)))
				b->bn = json_string_value(val);
		} else if (strcmp(key, "bt") == 0) {
			if ((ok = json_is_number(val)))
				b->bt = json_number_value(val);
		} else if (strcmp(key, "bu") == 0) {
			if ((ok = json_is_string(val)))
				b->bu = json_string_value(val);
		} else if (strcmp(key, "bv") == 0) {
			if ((ok = json_is_number(val)))
				b->bv = json_number_value(val);
		} else if (strcmp(key, "bver") == 0) {
			/* One version per pack (section 4.4), given by the
			 * first record or defaulted. */
			ok = json_is_integer(val) &&
			    (idx == 0 || json_integer_value(val) == b->version);
			b->version = json_integer_value(val);
		} else if (strcmp(key, "n") == 0) {
			if ((ok = json_is_string(val)))
				f->n = json_string_value(val);
		} else if (strcmp(key, "u") == 0) {
			if ((ok = json_is_string(val)))
				f->u = json_string_value(val);
		} else if (strcmp(key, "t") == 0) {
			if ((ok = json_is_number(val)))
				f->t = json_number_value(val);
		} else if (strcmp(key, "v") == 0) {
			f->v = val;
			f->nvalues++;
		} else if (strcmp(key, "vs") == 0 || strcmp(key, "vd") == 0) {
			ok = json_is_string(val);
			f->other = val;
			f->nvalues++;
		} else if (strcmp(key, "vb") == 0) {
			ok = json_is_boolean(val);
			f->other = val;
			f->nvalues++;
		} else if (strcmp(key, "s") == 0) {
			ok = json_is_number(val);
			f->has_sum = true;
		} else if (strcmp(key, "bs") == 0 || strcmp(key, "ut") == 0) {
			ok = json_is_number(val);
		}
		if (!ok)
			return refuse(why, REASON_SCHEMA);
	}
	if (b->version < 1 || b->version > SENML_VERSION)
		return refuse(why, REASON_SCHEMA);
	return AQ_OK;
}

/* The value of a record we use: a number in v plus bv, else a drop. */
static enum num
senml_value(const struct senml_rec *f, const struct senml_base *b, double *x,
    enum reason *r)
{
	enum num k;

	if (f->v == NULL) {
		*r = json_is_string(f->other) &&
			nonfinite_spelling(json_string_value(f->other))
		    ? REASON_NOT_FINITE
		    : REASON_NOT_NUMBER;
		return NUM_DROP;
	}
	if ((k = json_num(f->v, x, r)) == NUM_ABSENT) {
		*r = REASON_NOT_NUMBER; /* "v": null */
		return NUM_DROP;
	}
	*x += b->bv;
	return k;
}

/*
 * RFC 8428 JSON: base fields (bn, bt, bu, bv, bver) carry over to later
 * records; name = bn + n, time = bt + t (relative to now below 2^28),
 * value = bv + v.  Records of names we do not measure are checked for
 * shape and skipped.  A record we use must hold exactly one value field
 * (v, vs, vb, vd) or only a sum, so bv without v is refused; anything but
 * a number in v, and vs, vb, vd or a lone sum, is a value dropped as not
 * a number.
 */
static int
senml_decode(struct ctx *c, json_t *root, enum reason *why)
{
	struct senml_base b = {.bn = "", .version = SENML_VERSION};
	size_t idx;
	json_t *rec;
	int rc;

	if (!json_is_array(root) || json_array_size(root) > SENML_RECORDS_MAX)
		return refuse(why, REASON_SCHEMA);
	json_array_foreach(root, idx, rec)
	{
		char name[SENML_NAME_MAX], sensor[WIN_SENSOR_ID_MAX];
		struct senml_rec f;
		size_t prefix, bl, nl;
		double scale, offset, x, when;
		enum unit unit;
		enum reason r;
		bool met;
		int m, g, unit_rc;

		if ((rc = senml_fields(rec, idx, &b, &f, why)) != AQ_OK)
			return rc;
		bl = strlen(b.bn);
		nl = strlen(f.n);
		if (bl + nl == 0 || bl + nl >= sizeof(name))
			return refuse(why, REASON_SCHEMA);
		memcpy(name, b.bn, bl);
		memcpy(name + bl, f.n, nl + 1);
		if (!senml_name_ok(name))
			return refuse(why, REASON_SCHEMA);
		if ((m = senml_measure(name, &prefix, &met)) < 0)
			continue;
		if (f.nvalues > 1 || (f.nvalues == 0 && !f.has_sum))
			return refuse(why, REASON_SCHEMA);

		if (prefix > 0)
			rc = set_sensor(sensor, "", name, prefix, why);
		else
			rc = topic_sensor(c->topic, sensor, why);
		if (rc != AQ_OK)
			return rc;
		when = b.bt + f.t;
		if (when < SENML_RELATIVE)
			when += (double)c->now;
		if (!(when >= (double)TS_MIN && when < (double)TS_MAX))
			return refuse(why, REASON_BAD_TIME);
		unit_rc = senml_unit(
		    f.u != NULL ? f.u : b.bu, met, m, &scale, &offset, &unit);
		if (unit_rc != AQ_OK && !met)
			return refuse(why, REASON_BAD_UNIT);
		if ((g = senml_group(c, sensor, (int64_t)floor(when), why)) < 0)
			return AQ_ERR_INVAL;
		if ((met ? c->out->r[g].met_has : c->out->r[g].has) &
		    (UINT32_C(1) << m))
			return refuse(why, REASON_SCHEMA); /* said twice */

		if (senml_value(&f, &b, &x, &r) != NUM_OK)
			drop(c, g, !met, r);
		else if (!met)
			put_pol(c, g, m, unit, x * scale);
		else if (unit_rc != AQ_OK)
			drop(c, g, false, REASON_BAD_UNIT);
		else
			put_met(c, g, m, x * scale + offset);
	}
	return finish(c, why);
}

/* Takes the compensated value when it is usable, else the raw one; a
 * compensated value that is not is counted. */
static void
ag_take(struct ctx *c, const json_t *comp, const json_t *raw, bool met, int idx)
{
	enum reason r = REASON_NOT_NUMBER;
	double v;

	switch (json_num(comp, &v, &r)) {
	case NUM_OK:
		if (met)
			put_met(c, 0, idx, v);
		else
			put_pol(c, 0, idx, UNIT_UGM3, v);
		return;
	case NUM_DROP:
		drop(c, 0, !met, r);
		break;
	case NUM_ABSENT:
		break;
	}
	if (met)
		take_met(c, 0, idx, raw, false, 1);
	else
		take_pol(c, 0, idx, UNIT_UGM3, raw, false);
}

/* AirGradient (local server and MQTT JSON): no time, so ts = now. */
static int
ag_decode(struct ctx *c, json_t *root, enum reason *why)
{
	json_t *f[AG_COUNT + 1] = {NULL}; /* f[AG_COUNT]: none */
	struct decoded *r;
	const char *key;
	json_t *val;
	int rc;

	if (!json_is_object(root))
		return refuse(why, REASON_SCHEMA);
	json_object_foreach(root, key, val)
	{
		for (int k = 0; k < AG_COUNT; k++) {
			if (strcmp(key, ag_keys[k]) == 0) {
				f[k] = json_is_null(val) ? NULL : val;
				break;
			}
		}
	}
	r = new_reading(c);
	if (f[AG_SERIAL] != NULL && !json_is_string(f[AG_SERIAL]))
		return refuse(why, REASON_SCHEMA);
	if (f[AG_SERIAL] != NULL)
		rc = set_sensor(r->sensor, "ag-",
		    json_string_value(f[AG_SERIAL]),
		    json_string_length(f[AG_SERIAL]), why);
	else
		rc = topic_sensor(c->topic, r->sensor, why);
	if (rc != AQ_OK)
		return rc;
	r->ts = c->now;
	for (size_t i = 0; i < sizeof(ag_values) / sizeof(ag_values[0]); i++)
		ag_take(c, f[ag_values[i].comp], f[ag_values[i].raw],
		    ag_values[i].met, ag_values[i].idx);
	return finish(c, why);
}

/* What a Sensor.Community value_type measures: an enum pol with *met
 * false, an enum met with *met true, or -1 for one we do not use. */
static int
sc_measure(const char *type, bool *met)
{
	const char *us = strrchr(type, '_');
	const char *what = us != NULL ? us + 1 : type;
	size_t plen = us != NULL ? (size_t)(us - type) : 0;

	*met = true;
	if (strcmp(what, "temperature") == 0)
		return MET_TEMP;
	if (strcmp(what, "humidity") == 0)
		return MET_RH;
	if (strcmp(what, "pressure") == 0)
		return MET_PRES;
	*met = false;
	if (strcmp(what, "P1") != 0 && strcmp(what, "P2") != 0)
		return -1;
	for (size_t i = 0; i < sizeof(sc_pm_sensors) / sizeof(sc_pm_sensors[0]);
	     i++)
		if (strlen(sc_pm_sensors[i]) == plen &&
		    strncmp(type, sc_pm_sensors[i], plen) == 0)
			return what[1] == '1' ? POL_PM10 : POL_PM25;
	return -1;
}

/*
 * Sensor.Community (airrohr firmware): values are decimal strings; P1 is
 * PM10 and P2 PM2.5; pressure is in Pa.  When a quantity comes twice (two
 * sensors on one node), the first usable value wins.
 */
static int
sc_decode(struct ctx *c, json_t *root, enum reason *why)
{
	json_t *id, *values, *e;
	struct decoded *r;
	size_t i;
	int rc;

	if (!json_is_object(root))
		return refuse(why, REASON_SCHEMA);
	id = json_object_get(root, "esp8266id");
	values = json_object_get(root, "sensordatavalues");
	if (!json_is_array(values) || json_array_size(values) > SC_VALUES_MAX)
		return refuse(why, REASON_SCHEMA);
	json_array_foreach(values, i, e)
	{
		if (!json_is_object(e) ||
		    !json_is_string(json_object_get(e, "value_type")))
			return refuse(why, REASON_SCHEMA);
	}
	r = new_reading(c);
	r->period = SC_PERIOD;
	if (id == NULL || json_is_null(id)) {
		rc = topic_sensor(c->topic, r->sensor, why);
	} else if (json_is_string(id)) {
		rc = set_sensor(r->sensor, "sc-", json_string_value(id),
		    json_string_length(id), why);
	} else if (json_is_integer(id) && json_integer_value(id) >= 0) {
		char buf[32];
		int len = snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(id));

		rc = set_sensor(r->sensor, "sc-", buf, (size_t)len, why);
	} else {
		rc = refuse(why, REASON_SCHEMA);
	}
	if (rc != AQ_OK)
		return rc;
	r->ts = c->now;
	json_array_foreach(values, i, e)
	{
		bool met;
		int m = sc_measure(
		    json_string_value(json_object_get(e, "value_type")), &met);
		json_t *val = json_object_get(e, "value");

		if (m < 0)
			continue;
		if (met && (r->met_has & (UINT32_C(1) << m)) == 0)
			take_met(c, 0, m, val, true, m == MET_PRES ? 0.01 : 1);
		else if (!met && (r->has & (UINT32_C(1) << m)) == 0)
			take_pol(c, 0, m, UNIT_UGM3, val, true);
	}
	return finish(c, why);
}

void
decode_init(void)
{
	json_set_alloc_funcs(arena_malloc, arena_free);
}

const char *
decoder_name(enum decoder d)
{
	return (unsigned)d < DECODER_COUNT ? decoder_names[d] : "unknown";
}

int
decoder_from_name(const char *s)
{
	for (int d = 0; s != NULL && d < DECODER_COUNT; d++)
		if (strcmp(s, decoder_names[d]) == 0)
			return d;
	return -1;
}

int
decode(enum decoder d, const char *topic, const void *payload, size_t len,
    size_t max_len, int64_t now, struct decode_result *out, enum reason *why)
{
	struct ctx c = {.topic = topic, .now = now, .out = out};
	json_error_t err;
	json_t *root = NULL;
	int rc;

	out->n = 0;
	memset(out->dropped, 0, sizeof(out->dropped));
	if (len > max_len) {
		rc = refuse(why, REASON_OVERSIZE);
		goto out;
	}
	if ((unsigned)d >= DECODER_COUNT) {
		rc = refuse(why, REASON_SCHEMA);
		goto out;
	}
	if (payload == NULL || len == 0 || too_deep(payload, len)) {
		rc = refuse(why, REASON_SYNTAX);
		goto out;
	}
	arena.used = 0;
	arena.active = true;
	arena.spilled = false;
	root = json_loadb(
	    payload, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
	if (root == NULL) {
		switch (json_error_code(&err)) {
		case json_error_out_of_memory:
			*why = REASON_SYNTAX;
			rc = AQ_ERR_NOMEM;
			break;
		case json_error_duplicate_key:
			rc = refuse(why, REASON_SCHEMA);
			break;
		default:
			rc = refuse(why, REASON_SYNTAX);
			break;
		}
		goto out;
	}
	rc = decoders[d](&c, root, why);
out:
	/* A tree wholly in the arena goes with it; walking it to free each
	 * node would cost a twentieth of the decoding. */
	if (root != NULL && arena.spilled)
		json_decref(root);
	arena.active = false;
	return rc;
}
