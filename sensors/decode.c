/*
 * decode: the native JSON, SenML, AirGradient, Sensor.Community and HJ 212
 * payloads into readings (see decode.h).
 *
 * Every payload's length is first checked against the caller's bound.  The
 * native format, the hot path (every grid micro-station sends it), is then
 * parsed by a JSON parser of its own, strict and in one pass, which builds
 * no tree and allocates nothing (native_decode(), below): its answers are
 * those jansson and a walk of jansson's tree gave, which the differential
 * test (tests/unit/check_decode_native.c) holds it to.  For the other
 * formats the nesting is counted without parsing, and only then does
 * jansson parse the payload, allocating from a per-thread arena that is
 * reset for each payload; the format's decoder then walks the tree once.
 * Every decoder refuses a payload for faults of shape (schema, sensor,
 * time, unit) and drops single values that are not numbers, counted by
 * reason.
 *
 * Choices where the formats leave room, kept in one place:
 * - JSON null is "absent" for every optional field of the native,
 *   AirGradient and Sensor.Community formats, and is not counted.
 * - Duplicate keys are refused as schema faults: RFC 8259 only says names
 *   SHOULD be unique, so the text is JSON, but it is ambiguous to us.
 * - Nesting deeper than DEPTH_MAX is refused as a syntax fault before
 *   parsing (the native parser counts it as it goes, to the same answer),
 *   as jansson's own depth limit would; no format nests past 3.
 * - Numbers jansson cannot hold (1e400, 20-digit integers) are syntax
 *   faults, as jansson reports them, in the native format too.  The same
 *   numbers in Sensor.Community strings are values dropped as out_of_range.
 * - A raw NUL byte is a syntax fault wherever it is.  jansson 2.14 skips
 *   one that directly follows a number or true, false or null ({"a":1\0}),
 *   a slip of its push-back buffer; the native parser does not follow it.
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
 * - HJ 212 (hj212.c has its own choices): a payload is one whole frame,
 *   CR LF optional; the sensor is the frame's MN and must be registered.
 *   Split frames (Flag D, PNUM/PNO) are refused as schema faults: their
 *   parts may come in any order in separate messages, and only the TCP
 *   listener, which sees a connection's whole stream, puts them together.
 *   Without a zone (decode_set_zone()) HJ 212 times cannot be read, and
 *   the payload is bad_time.
 */
#include "sensors/decode.h"

#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon/fix.h"
#include "daemon/tz.h"
#include "sensors/hj212.h"

#define ARENA_SIZE 65536
#define ARENA_ALIGN alignof(max_align_t)
#define DEPTH_MAX 16
/* The native parser: keys compared as they come (more are left to
 * dup_walk()), dup_walk()'s batch and table, the longest "ts" text passed
 * to tz_parse() as it is, and the digits and exponent num_slow() keeps. */
#define KEYS_INLINE 32
#define WALK_BATCH 512
#define WALK_SLOTS (2 * WALK_BATCH)
#define TS_TEXT_MAX 128
#define NUM_DIGITS_MAX 800
#define NUM_EXP_CAP INT64_C(1000000000)
#define JSON_WS_BITS                                                           \
	((UINT64_C(1) << ' ') | (UINT64_C(1) << '\t') |                        \
	    (UINT64_C(1) << '\n') | (UINT64_C(1) << '\r'))
/* One double operation rounds correctly only where doubles are evaluated
 * as doubles (not on the x87). */
#if FLT_EVAL_METHOD == 0
#define NUM_FAST 1
#else
#define NUM_FAST 0
#endif
/* Strings are scanned a word at a time on little-endian GCC and Clang. */
#if defined(__GNUC__) && defined(__BYTE_ORDER__) &&                            \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define STR_SWAR 1
#else
#define STR_SWAR 0
#endif
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

/* Native format: the keys we read (native_key_bytes() names them); all
 * others are ignored. */
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

/* JSON types, as the native decoder tells them apart. */
enum jt {
	JT_NULL,
	JT_FALSE,
	JT_TRUE,
	JT_INT,
	JT_REAL,
	JT_STR,
	JT_ARRAY,
	JT_OBJECT
};

/* How far the native parse got; JR_NEXT: another member follows. */
enum jr { JR_OK, JR_SYNTAX, JR_DUP, JR_NEXT };

/* A JSON value in the payload.  A string is kept as the len bytes between
 * its quotes, at s; esc says they hold escapes, so that decoding them
 * gives other bytes. */
struct jv {
	enum jt type;
	bool esc;
	const unsigned char *s;
	size_t len;
	int64_t i; /* JT_INT */
	double d;  /* JT_INT and JT_REAL, as json_number_value() gives it */
};

/* A key of an object still open, to compare later keys with. */
struct jkey {
	const unsigned char *s;
	size_t len;
	uint32_t hash;
	bool esc;
};

/* The native parse: where it is, and what it has kept. */
struct jp {
	const unsigned char *p, *end;
	int depth;
	int nkeys;     /* keys[0 ... nkeys - 1]: of the open objects */
	bool overflow; /* a key did not fit in keys[]: see dup_walk() */
	bool root_object;
	uint32_t seen; /* native keys met (1u << NF_x) */
	uint32_t have; /* those whose value is not null */
	struct jv f[NF_COUNT];
	uint32_t units_seen; /* pollutants named in "units" */
	bool units_schema;   /* one of them with a unit that is no string */
	bool bad_unit;
	enum unit units[POL_COUNT];
	struct jkey keys[KEYS_INLINE];
};

/* The decoded bytes of a string, one at a time. */
struct jiter {
	const unsigned char *p, *end;
	unsigned char u[4];
	int n, i; /* u[i ... n - 1] still to give */
};

/* dup_walk()'s hash table: a slot is in use in the pass numbered gen. */
struct walk_slot {
	const unsigned char *s; /* the key's first byte after its quote */
	uint32_t hash;
	uint32_t gen;
};

struct walk {
	const unsigned char *end;
	uint32_t gen;
	bool dup;
	struct walk_slot slot[WALK_SLOTS];
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
static inline const unsigned char *skip_ws(
    const unsigned char *p, const unsigned char *end);
static int hex_digit(unsigned char c);
static inline uint64_t str_stops(uint64_t w);
static inline const unsigned char *str_plain(
    const unsigned char *p, const unsigned char *end);
static long hex4(const unsigned char *p);
static const unsigned char *jp_escape(
    const unsigned char *p, const unsigned char *end);
static int utf8_seq(const unsigned char *p, const unsigned char *end);
static inline enum jr jp_string(struct jp *j, struct jv *v);
static enum jr jp_string_rest(
    struct jp *j, struct jv *v, const unsigned char *p);
static enum jr jp_number(struct jp *j, struct jv *v);
static bool num_slow(
    const unsigned char *s, const unsigned char *e, double *out);
static enum jr jp_literal(struct jp *j, const char *word, size_t len);
static enum jr jp_value(struct jp *j, struct jv *v);
static enum jr jp_container(struct jp *j);
static enum jr jp_object(struct jp *j);
static enum jr jp_array(struct jp *j);
static inline enum jr jp_member(struct jp *j, struct jv *k);
static inline enum jr jp_colon(struct jp *j);
static inline enum jr jp_next(struct jp *j, unsigned char close);
static enum jr jp_key(struct jp *j, const struct jv *k, int first);
static int native_key_bytes(const unsigned char *s, size_t len);
static int native_key(const struct jv *k);
static enum jr native_object(struct jp *j);
static enum jr native_units_object(struct jp *j);
static enum jr native_parse(struct jp *j);
static int jstr_unit(const unsigned char **pp, unsigned char u[4]);
static int jiter_next(struct jiter *it);
static size_t jstr_copy(const struct jv *v, char *dst, size_t cap);
static uint32_t jstr_hash(const unsigned char *s, size_t len, bool esc);
static bool jstr_equal(const unsigned char *a, size_t alen, bool aesc,
    const unsigned char *b, size_t blen, bool besc);
static bool dup_walk(const unsigned char *p, const unsigned char *end);
static const unsigned char *walk_string(
    const unsigned char *p, const unsigned char *end);
static const unsigned char *walk_skip(
    const unsigned char *p, const unsigned char *end);
static const unsigned char *walk_value(struct walk *w, const unsigned char *p);
static const unsigned char *walk_member(
    const unsigned char *p, const unsigned char *end);
static bool walk_keys(struct walk *w, const unsigned char *first);
static bool walk_slot(
    struct walk *w, const unsigned char *s, const unsigned char *e, bool add);
static bool jstr_text(const struct jv *v, char *buf, size_t size);
static enum num jv_num(const struct jv *v, double *d, enum reason *r);
static int ts_long_text(const struct jv *v, int64_t *t);
static int jv_time(const struct jv *v, int64_t *ts, enum reason *why);
static int native_fields(struct ctx *c, const struct jp *j, enum reason *why);
static int native_decode(
    struct ctx *c, const unsigned char *payload, size_t len, enum reason *why);
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
static int hj212_decode(
    struct ctx *c, const void *payload, size_t len, enum reason *why);

static _Thread_local struct arena arena;
/* Set once at start-up, before decoding threads run (decode_set_zone). */
static const struct tz *hj212_zone;

static const char *const decoder_names[DECODER_COUNT] = {
    [DECODER_NATIVE] = "json",
    [DECODER_SENSOR_COMMUNITY] = "sensor.community",
    [DECODER_SENML] = "senml",
    [DECODER_AIRGRADIENT] = "airgradient",
    [DECODER_HJ212] = "hj212",
};

static int (*const decoders[DECODER_COUNT])(
    struct ctx *, json_t *, enum reason *) = {
    [DECODER_NATIVE] = NULL, /* native_decode(), without jansson */
    [DECODER_SENML] = senml_decode,
    [DECODER_AIRGRADIENT] = ag_decode,
    [DECODER_SENSOR_COMMUNITY] = sc_decode,
    [DECODER_HJ212] = NULL, /* hj212_decode(), not JSON */
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
    {"rain", true, MET_RAIN},
    {"precipitation", true, MET_RAIN},
    {"tsp", true, MET_TSP},
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

/* SenML units of the weather fields, into degC, %, m/s, degrees, hPa and mm,
 * and of TSP, into ug/m3:
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
    {"mm", MET_RAIN, 1, 0},
    {"ug/m3", MET_TSP, 1, 0},
    {"mg/m3", MET_TSP, 1000, 0},
    {"kg/m3", MET_TSP, 1e9, 0},
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

/*
 * The native format, parsed without jansson.
 *
 * One pass over the payload both checks it as RFC 8259 JSON, as strictly
 * as jansson does, and keeps what the native decoder reads: the values of
 * the keys it knows, by reference into the payload (strings are decoded
 * only when read), and the "units" object as it goes by.  Nothing is
 * allocated.  The answers are those jansson and the tree walk gave, fault
 * for fault (but for jansson's slip over NUL bytes, see the top): the
 * first fault in document order decides between syntax (bad JSON) and
 * schema (a duplicate key), and only a whole, valid document is read for
 * its fields, in the order native_fields() checks them.
 */

/* Whitespace of RFC 8259: space, tab, line feed, carriage return. */
static inline const unsigned char *
skip_ws(const unsigned char *p, const unsigned char *end)
{
	while (
	    p < end && *p <= ' ' && ((UINT64_C(1) << *p) & JSON_WS_BITS) != 0)
		p++;
	return p;
}

/* The value of a hex digit, or -1. */
static int
hex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The four hex digits at p (p + 4 <= end is the caller's), or -1. */
static long
hex4(const unsigned char *p)
{
	long v = 0;

	for (int i = 0; i < 4; i++) {
		int d = hex_digit(p[i]);

		if (d < 0)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/* Checks the escape at p (a backslash) as jansson does: \u0000 is refused
 * (no C string could hold it), and a surrogate must be a high one followed
 * by a low one.  Returns the byte after it, or NULL. */
static const unsigned char *
jp_escape(const unsigned char *p, const unsigned char *end)
{
	long u, lo;

	if (end - p < 2)
		return NULL;
	switch (p[1]) {
	case '"':
	case '\\':
	case '/':
	case 'b':
	case 'f':
	case 'n':
	case 'r':
	case 't':
		return p + 2;
	case 'u':
		break;
	default:
		return NULL;
	}
	if (end - p < 6 || (u = hex4(p + 2)) <= 0)
		return NULL;
	if (u < 0xd800 || u > 0xdfff)
		return p + 6;
	if (u > 0xdbff || end - p < 12 || p[6] != '\\' || p[7] != 'u')
		return NULL;
	lo = hex4(p + 8);
	if (lo < 0xdc00 || lo > 0xdfff)
		return NULL;
	return p + 12;
}

/* Length of the well-formed UTF-8 sequence at p (first byte >= 0x80), or
 * 0: no overlong forms, no surrogates, nothing above U+10FFFF. */
static int
utf8_seq(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	int n;

	if (c < 0xc2 || c > 0xf4)
		return 0;
	n = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (end - p < n || p[1] < lo || p[1] > hi)
		return 0;
	for (int i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/* The bytes of w that may end a run of plain string bytes: '"', '\\',
 * control characters and bytes of multibyte sequences.  The lowest one
 * flagged is exact; those above it may be false alarms, which do not
 * matter (a subtraction borrows only from a byte that is flagged). */
static inline uint64_t
str_stops(uint64_t w)
{
	const uint64_t ones = UINT64_C(0x0101010101010101);
	const uint64_t high = UINT64_C(0x8080808080808080);
	uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');

	return (((q - ones) & ~q) | ((b - ones) & ~b) |
		   ((w - ones * 0x20) & ~w) | w) &
	    high;
}

/* The first byte at or after p that is not a plain string byte: eight
 * at a time where the byte order allows it, as most keys and values are
 * plain ASCII of fewer than eight bytes. */
static inline const unsigned char *
str_plain(const unsigned char *p, const unsigned char *end)
{
#if STR_SWAR
	for (; end - p >= 8; p += 8) {
		uint64_t w, stops;

		memcpy(&w, p, sizeof(w));
		if ((stops = str_stops(w)) != 0)
			return p + (__builtin_ctzll(stops) >> 3);
	}
#endif
	while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
		p++;
	return p;
}

/* A string at j->p (its opening quote).  Most are plain ASCII, done
 * here; jp_string_rest() takes the others on from the first byte that
 * is not. */
static inline enum jr
jp_string(struct jp *j, struct jv *v)
{
	const unsigned char *p = str_plain(j->p + 1, j->end);

	if (p == j->end || *p != '"')
		return jp_string_rest(j, v, p);
	v->type = JT_STR;
	v->s = j->p + 1;
	v->len = (size_t)(p - v->s);
	v->esc = false;
	j->p = p + 1;
	return JR_OK;
}

/* The rest of the string at j->p, from p on. */
static enum jr
jp_string_rest(struct jp *j, struct jv *v, const unsigned char *p)
{
	const unsigned char *end = j->end;
	bool esc = false;

	for (;;) {
		unsigned char c;
		int n;

		if ((p = str_plain(p, end)) == end)
			goto bad;
		c = *p;
		if (c == '"')
			break;
		if (c == '\\') {
			const unsigned char *q = jp_escape(p, end);

			if (q == NULL)
				goto bad;
			esc = true;
			p = q;
		} else if (c < 0x20 || (n = utf8_seq(p, end)) == 0) {
			goto bad;
		} else {
			p += n;
		}
	}
	v->type = JT_STR;
	v->s = j->p + 1;
	v->len = (size_t)(p - v->s);
	v->esc = esc;
	j->p = p + 1;
	return JR_OK;
bad:
	j->p = p;
	return JR_SYNTAX;
}

/*
 * A number at j->p, by the JSON grammar.  As in jansson, one without a
 * fraction or exponent is an integer that must fit int64_t, and any other
 * is a double that must be finite; either fault is one of syntax.
 * Decimals of up to 19 significant digits whose scaled value is exact in
 * a double are converted with one correctly rounded operation (Clinger's
 * fast path); the others by strtod, as jansson does, through num_slow().
 */
static enum jr
jp_number(struct jp *j, struct jv *v)
{
	static const double pow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7,
	    1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
	    1e19, 1e20, 1e21, 1e22};
	const unsigned char *p = j->p, *end = j->end, *start = p, *digits;
	uint64_t m = 0; /* the digits; wrong (wrapped) past 19 of them */
	size_t nint = 0, nfrac = 0;
	int64_t e10, ex = 0;
	unsigned d;
	bool neg = false, real = false, eneg = false;

	if (*p == '-') {
		neg = true;
		p++;
	}
	if (p == end || (d = (unsigned)(*p - '0')) > 9)
		goto bad;
	if (d == 0) {
		nint = 1;
		if (++p < end && (unsigned)(*p - '0') <= 9)
			goto bad; /* no leading zeros */
	} else {
		digits = p;
		do
			m = m * 10 + d;
		while (++p < end && (d = (unsigned)(*p - '0')) <= 9);
		nint = (size_t)(p - digits);
	}
	if (p < end && *p == '.') {
		real = true;
		if (++p == end || (d = (unsigned)(*p - '0')) > 9)
			goto bad;
		digits = p;
		do
			m = m * 10 + d;
		while (++p < end && (d = (unsigned)(*p - '0')) <= 9);
		nfrac = (size_t)(p - digits);
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		real = true;
		if (++p < end && (*p == '+' || *p == '-'))
			eneg = *p++ == '-';
		if (p == end || (d = (unsigned)(*p - '0')) > 9)
			goto bad;
		do {
			if (ex < NUM_EXP_CAP)
				ex = ex * 10 + d;
		} while (++p < end && (d = (unsigned)(*p - '0')) <= 9);
	}
	j->p = p;
	if (!real) {
		if (nint > 19 || m > (uint64_t)INT64_MAX + neg)
			goto bad;
		v->type = JT_INT;
		v->i = neg && m > 0 ? -(int64_t)(m - 1) - 1 : (int64_t)m;
		v->d = (double)v->i;
		return JR_OK;
	}
	v->type = JT_REAL;
	e10 = (eneg ? -ex : ex) - (int64_t)nfrac;
	if (NUM_FAST && nint + nfrac <= 19 && m <= UINT64_C(1) << 53 &&
	    e10 >= -22 && e10 <= 22) {
		double x = (double)m;

		x = e10 < 0 ? x / pow10[-e10] : x * pow10[e10];
		v->d = neg ? -x : x;
		return JR_OK;
	}
	if (!num_slow(start, p, &v->d))
		goto bad;
	return JR_OK;
bad:
	j->p = p;
	return JR_SYNTAX;
}

/*
 * strtod on a copy of the number (the payload has no NUL after it) in a
 * form that holds the same value: significant digits and an exponent, so
 * the locale's decimal point cannot matter.  Past NUM_DIGITS_MAX digits
 * the rest is replaced by one nonzero digit if it has one: no rounding
 * boundary of a double needs more than 767 significant digits, so the
 * shortened number rounds as the whole would.  Returns false on overflow,
 * where jansson refuses the number.
 */
static bool
num_slow(const unsigned char *s, const unsigned char *e, double *out)
{
	char buf[NUM_DIGITS_MAX + 32];
	size_t n = 0, ndig = 0;
	int64_t shift = 0, ex = 0;
	bool neg = false, frac = false, sticky = false, eneg = false;
	double d;

	if (*s == '-') {
		neg = true;
		buf[n++] = '-';
		s++;
	}
	for (; s < e && *s != 'e' && *s != 'E'; s++) {
		if (*s == '.') {
			frac = true;
			continue;
		}
		shift -= frac;
		if (ndig == 0 && *s == '0')
			continue;
		if (ndig < NUM_DIGITS_MAX) {
			buf[n++] = (char)*s;
			ndig++;
		} else {
			sticky |= *s != '0';
			shift++;
		}
	}
	if (ndig == 0) {
		*out = neg ? -0.0 : 0.0;
		return true;
	}
	if (sticky) {
		buf[n++] = '1';
		shift--;
	}
	if (s < e) {
		if (*++s == '+' || *s == '-')
			eneg = *s++ == '-';
		for (; s < e; s++)
			if (ex < NUM_EXP_CAP)
				ex = ex * 10 + (*s - '0');
	}
	/* Past 10^+-99999 an 801-digit number is infinite or zero anyway. */
	shift += eneg ? -ex : ex;
	if (shift > 99999)
		shift = 99999;
	else if (shift < -99999)
		shift = -99999;
	snprintf(buf + n, sizeof(buf) - n, "e%d", (int)shift);
	d = strtod(buf, NULL);
	if (isinf(d))
		return false;
	*out = d;
	return true;
}

/* Matches an identifier: true, false, null. */
static enum jr
jp_literal(struct jp *j, const char *word, size_t len)
{
	if ((size_t)(j->end - j->p) < len || memcmp(j->p, word, len) != 0)
		return JR_SYNTAX;
	j->p += len;
	return JR_OK;
}

/* Any value at j->p; its description goes to *v. */
static enum jr
jp_value(struct jp *j, struct jv *v)
{
	if (j->p == j->end)
		return JR_SYNTAX;
	switch (*j->p) {
	case '"':
		return jp_string(j, v);
	case '{':
		v->type = JT_OBJECT;
		return jp_container(j);
	case '[':
		v->type = JT_ARRAY;
		return jp_container(j);
	case 't':
		v->type = JT_TRUE;
		return jp_literal(j, "true", 4);
	case 'f':
		v->type = JT_FALSE;
		return jp_literal(j, "false", 5);
	case 'n':
		v->type = JT_NULL;
		return jp_literal(j, "null", 4);
	default:
		return jp_number(j, v);
	}
}

/* An object or array at j->p, one level deeper. */
static enum jr
jp_container(struct jp *j)
{
	enum jr rc;

	if (++j->depth > DEPTH_MAX)
		return JR_SYNTAX;
	rc = *j->p == '{' ? jp_object(j) : jp_array(j);
	j->depth--;
	return rc;
}

/* An object the native format gives no meaning to: checked, and its keys
 * checked for duplicates. */
static enum jr
jp_object(struct jp *j)
{
	int first = j->nkeys;
	struct jv k, v;
	enum jr rc;

	j->p = skip_ws(j->p + 1, j->end);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
		return JR_OK;
	}
	for (;;) {
		if ((rc = jp_member(j, &k)) != JR_OK ||
		    (rc = jp_key(j, &k, first)) != JR_OK ||
		    (rc = jp_colon(j)) != JR_OK ||
		    (rc = jp_value(j, &v)) != JR_OK)
			return rc;
		if ((rc = jp_next(j, '}')) != JR_NEXT)
			break;
	}
	j->nkeys = first;
	return rc;
}

/* An array, whatever it holds: checked. */
static enum jr
jp_array(struct jp *j)
{
	struct jv v;
	enum jr rc;

	j->p = skip_ws(j->p + 1, j->end);
	if (j->p < j->end && *j->p == ']') {
		j->p++;
		return JR_OK;
	}
	do {
		if ((rc = jp_value(j, &v)) != JR_OK)
			return rc;
	} while ((rc = jp_next(j, ']')) == JR_NEXT);
	return rc;
}

/* The key of a member, at j->p. */
static inline enum jr
jp_member(struct jp *j, struct jv *k)
{
	if (j->p == j->end || *j->p != '"')
		return JR_SYNTAX;
	return jp_string(j, k);
}

/* The ':' after a key, and the whitespace around it. */
static inline enum jr
jp_colon(struct jp *j)
{
	j->p = skip_ws(j->p, j->end);
	if (j->p == j->end || *j->p != ':')
		return JR_SYNTAX;
	j->p = skip_ws(j->p + 1, j->end);
	return JR_OK;
}

/* After a member or element: JR_NEXT at a ',', JR_OK at the closing
 * bracket, else a fault. */
static inline enum jr
jp_next(struct jp *j, unsigned char close)
{
	j->p = skip_ws(j->p, j->end);
	if (j->p == j->end)
		return JR_SYNTAX;
	if (*j->p == ',') {
		j->p = skip_ws(j->p + 1, j->end);
		return JR_NEXT;
	}
	if (*j->p != close)
		return JR_SYNTAX;
	j->p++;
	return JR_OK;
}

/*
 * A key of the object whose keys start at j->keys[first]: refused if it
 * repeats one, then remembered.  Keys compare decoded, as jansson's do
 * ("a" and "\u0061" are one key).  Objects rarely hold many keys that are
 * not the native ones; when more are open than j->keys holds, the rest
 * are left to dup_walk() after the parse.
 */
static enum jr
jp_key(struct jp *j, const struct jv *k, int first)
{
	uint32_t h = jstr_hash(k->s, k->len, k->esc);

	for (int i = first; i < j->nkeys; i++)
		if (j->keys[i].hash == h &&
		    jstr_equal(j->keys[i].s, j->keys[i].len, j->keys[i].esc,
			k->s, k->len, k->esc))
			return JR_DUP;
	if (j->nkeys == KEYS_INLINE) {
		j->overflow = true;
		return JR_OK;
	}
	j->keys[j->nkeys].s = k->s;
	j->keys[j->nkeys].len = k->len;
	j->keys[j->nkeys].esc = k->esc;
	j->keys[j->nkeys].hash = h;
	j->nkeys++;
	return JR_OK;
}

/* The enum nf of the len bytes at s, or -1.  Every key of every
 * payload comes here: the names are spelled out again so that each is
 * one comparison of a few bytes that the compiler does inline. */
static int
native_key_bytes(const unsigned char *s, size_t len)
{
#define IS(name) (len == sizeof(name) - 1 && memcmp(s, name, len) == 0)
	if (len < 2)
		return -1;
	switch (s[0]) {
	case 'c':
		return IS("co") ? NF_POL + POL_CO : IS("cell") ? NF_CELL : -1;
	case 'l':
		return IS("lat") ? NF_LAT : IS("lon") ? NF_LON : -1;
	case 'n':
		return IS("no2") ? NF_POL + POL_NO2 : -1;
	case 'o':
		return IS("o3") ? NF_POL + POL_O3 : -1;
	case 'p':
		return IS("pm25")  ? NF_POL + POL_PM25
		    : IS("pm10")   ? NF_POL + POL_PM10
		    : IS("period") ? NF_PERIOD
		    : IS("pres")   ? NF_MET + MET_PRES
				   : -1;
	case 'r':
		return IS("rh")  ? NF_MET + MET_RH
		    : IS("rain") ? NF_MET + MET_RAIN
				 : -1;
	case 's':
		return IS("sensor") ? NF_SENSOR
		    : IS("so2")     ? NF_POL + POL_SO2
				    : -1;
	case 't':
		return IS("ts")  ? NF_TS
		    : IS("temp") ? NF_MET + MET_TEMP
		    : IS("tsp")  ? NF_MET + MET_TSP
				 : -1;
	case 'u':
		return IS("units") ? NF_UNITS : -1;
	case 'w':
		return IS("ws") ? NF_MET + MET_WS
		    : IS("wd")  ? NF_MET + MET_WD
				: -1;
	}
	return -1;
#undef IS
}

/* The enum nf of a key as decoded, or -1. */
static int
native_key(const struct jv *k)
{
	unsigned char buf[8];
	size_t n;

	if (!k->esc)
		return native_key_bytes(k->s, k->len);
	n = jstr_copy(k, (char *)buf, sizeof(buf));
	return n < sizeof(buf) ? native_key_bytes(buf, n) : -1;
}

/* The top-level object: the native keys go to j->f. */
static enum jr
native_object(struct jp *j)
{
	struct jv k, other;
	enum jr rc;

	j->depth = 1;
	j->p = skip_ws(j->p + 1, j->end);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
		return JR_OK;
	}
	do {
		int i;
		uint32_t bit;

		if ((rc = jp_member(j, &k)) != JR_OK)
			return rc;
		if ((i = native_key(&k)) < 0) {
			if ((rc = jp_key(j, &k, 0)) != JR_OK ||
			    (rc = jp_colon(j)) != JR_OK ||
			    (rc = jp_value(j, &other)) != JR_OK)
				return rc;
			continue;
		}
		bit = UINT32_C(1) << i;
		if ((j->seen & bit) != 0)
			return JR_DUP;
		j->seen |= bit;
		if ((rc = jp_colon(j)) != JR_OK)
			return rc;
		if (i == NF_UNITS && j->p < j->end && *j->p == '{') {
			j->f[i].type = JT_OBJECT;
			rc = native_units_object(j);
		} else {
			rc = jp_value(j, &j->f[i]);
		}
		if (rc != JR_OK)
			return rc;
		if (j->f[i].type != JT_NULL)
			j->have |= bit;
	} while ((rc = jp_next(j, '}')) == JR_NEXT);
	return rc;
}

/*
 * The "units" object, read as native_units() read it: a pollutant's unit
 * that is not a string (null included) is a schema fault, one we do not
 * know or a mixing ratio of particles is a bad unit; other keys are
 * ignored.  Which fault it is does not depend on the order of the keys,
 * so noting them as they come gives the tree walk's answer.
 */
static enum jr
native_units_object(struct jp *j)
{
	int first = j->nkeys;
	struct jv k, v;
	enum jr rc;

	j->depth++; /* 2, inside the top-level object */
	j->p = skip_ws(j->p + 1, j->end);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
		j->depth--;
		return JR_OK;
	}
	do {
		char name[8];
		int p = -1, u;

		if ((rc = jp_member(j, &k)) != JR_OK)
			return rc;
		if (jstr_text(&k, name, sizeof(name)))
			p = pol_from_name(name);
		if (p >= 0 && (j->units_seen & (UINT32_C(1) << p)) != 0)
			return JR_DUP;
		if (p >= 0)
			j->units_seen |= UINT32_C(1) << p;
		else if ((rc = jp_key(j, &k, first)) != JR_OK)
			return rc;
		if ((rc = jp_colon(j)) != JR_OK ||
		    (rc = jp_value(j, &v)) != JR_OK)
			return rc;
		if (p < 0)
			continue;
		if (v.type != JT_STR) {
			j->units_schema = true;
			continue;
		}
		u = jstr_text(&v, name, sizeof(name)) ? unit_from_name(name)
						      : -1;
		if (u < 0 ||
		    (!pol_is_gas(p) && (u == UNIT_PPB || u == UNIT_PPM)))
			j->bad_unit = true;
		else
			j->units[p] = u;
	} while ((rc = jp_next(j, '}')) == JR_NEXT);
	j->nkeys = first;
	j->depth--;
	return rc;
}

/* The whole payload: one value, then only whitespace. */
static enum jr
native_parse(struct jp *j)
{
	struct jv v;
	enum jr rc;

	j->p = skip_ws(j->p, j->end);
	if (j->p < j->end && *j->p == '{') {
		j->root_object = true;
		rc = native_object(j);
	} else {
		rc = jp_value(j, &v);
	}
	if (rc != JR_OK)
		return rc;
	j->p = skip_ws(j->p, j->end);
	return j->p == j->end ? JR_OK : JR_SYNTAX;
}

/*
 * One unit of a checked string at *pp: a byte, or the UTF-8 bytes of an
 * escape (a surrogate pair makes one code point), written to u.
 * Returns how many.
 */
static int
jstr_unit(const unsigned char **pp, unsigned char u[4])
{
	const unsigned char *p = *pp;
	long cp;

	if (*p != '\\') {
		u[0] = *p;
		*pp = p + 1;
		return 1;
	}
	*pp = p + 2;
	switch (p[1]) {
	case 'b':
		u[0] = '\b';
		return 1;
	case 'f':
		u[0] = '\f';
		return 1;
	case 'n':
		u[0] = '\n';
		return 1;
	case 'r':
		u[0] = '\r';
		return 1;
	case 't':
		u[0] = '\t';
		return 1;
	case 'u':
		break;
	default: /* '"', '\\', '/' */
		u[0] = p[1];
		return 1;
	}
	cp = hex4(p + 2);
	*pp = p + 6;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		cp = 0x10000 + ((cp - 0xd800) << 10) + (hex4(p + 8) - 0xdc00);
		*pp = p + 12;
	}
	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | cp >> 6);
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | cp >> 12);
		u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	u[0] = (unsigned char)(0xf0 | cp >> 18);
	u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
	u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
	u[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/* The next decoded byte of a checked string, or -1 at its end. */
static int
jiter_next(struct jiter *it)
{
	if (it->i == it->n) {
		if (it->p == it->end)
			return -1;
		it->n = jstr_unit(&it->p, it->u);
		it->i = 0;
	}
	return it->u[it->i++];
}

/* Decodes string v into dst, at most cap bytes, without a NUL.  Returns
 * the decoded length, which may be more than cap. */
static size_t
jstr_copy(const struct jv *v, char *dst, size_t cap)
{
	struct jiter it = {v->s, v->s + v->len, {0}, 0, 0};
	size_t n = 0;
	int c;

	if (!v->esc) {
		memcpy(dst, v->s, v->len < cap ? v->len : cap);
		return v->len;
	}
	while ((c = jiter_next(&it)) >= 0) {
		if (n < cap)
			dst[n] = (char)c;
		n++;
	}
	return n;
}

/* FNV-1a of a string's decoded bytes. */
static uint32_t
jstr_hash(const unsigned char *s, size_t len, bool esc)
{
	struct jiter it = {s, s + len, {0}, 0, 0};
	uint32_t h = UINT32_C(2166136261);
	int c;

	if (!esc) {
		for (size_t i = 0; i < len; i++)
			h = (h ^ s[i]) * UINT32_C(16777619);
		return h;
	}
	while ((c = jiter_next(&it)) >= 0)
		h = (h ^ (uint32_t)c) * UINT32_C(16777619);
	return h;
}

/* Whether two checked strings decode to the same bytes. */
static bool
jstr_equal(const unsigned char *a, size_t alen, bool aesc,
    const unsigned char *b, size_t blen, bool besc)
{
	struct jiter x = {a, a + alen, {0}, 0, 0};
	struct jiter y = {b, b + blen, {0}, 0, 0};
	int c;

	if (!aesc && !besc)
		return alen == blen && memcmp(a, b, alen) == 0;
	do {
		if ((c = jiter_next(&x)) != jiter_next(&y))
			return false;
	} while (c >= 0);
	return true;
}

/*
 * dup_walk: the duplicate keys jp_key() could not hold, found after the
 * parse in the text it accepted (p ... end: the whole payload, or up to
 * the syntax fault, since a duplicate before the fault is what jansson
 * would have reported).  Each object's keys are taken WALK_BATCH at a
 * time into a hash table, and the keys after each batch looked up in it:
 * no allocation, and time linear in the payload for every WALK_BATCH keys
 * of the largest object.  The text is known to be well formed up to end,
 * so it is skipped through without checks.
 */
static bool
dup_walk(const unsigned char *p, const unsigned char *end)
{
	struct walk w;

	memset(&w, 0, sizeof(w));
	w.end = end;
	(void)walk_value(&w, p);
	return w.dup;
}

/* After the string whose quote is at p, or NULL if it ends past end. */
static const unsigned char *
walk_string(const unsigned char *p, const unsigned char *end)
{
	for (p++; p < end; p++) {
		if (*p == '"')
			return p + 1;
		if (*p == '\\' && ++p == end)
			break;
	}
	return NULL;
}

/* After the value at p (not whitespace), or NULL if it ends past end. */
static const unsigned char *
walk_skip(const unsigned char *p, const unsigned char *end)
{
	const unsigned char *start = p;
	int depth = 0;

	if (*p == '"')
		return walk_string(p, end);
	if (*p != '{' && *p != '[') {
		while (p < end && *p != ',' && *p != '}' && *p != ']' &&
		    skip_ws(p, end) == p)
			p++;
		return p > start ? p : NULL;
	}
	while (p < end) {
		if (*p == '"') {
			if ((p = walk_string(p, end)) == NULL)
				return NULL;
			continue;
		}
		if (*p == '{' || *p == '[')
			depth++;
		else if ((*p == '}' || *p == ']') && --depth == 0)
			return p + 1;
		p++;
	}
	return NULL;
}

/* Visits the value at p (whitespace first); returns what follows it, or
 * NULL when the text ends in it or a duplicate was found. */
static const unsigned char *
walk_value(struct walk *w, const unsigned char *p)
{
	bool object;

	if ((p = skip_ws(p, w->end)) == w->end)
		return NULL;
	if (*p != '{' && *p != '[')
		return walk_skip(p, w->end);
	if ((object = *p == '{') && walk_keys(w, p + 1)) {
		w->dup = true;
		return NULL;
	}
	for (p++;;) {
		if ((p = skip_ws(p, w->end)) == w->end)
			return NULL;
		if (*p == '}' || *p == ']')
			return p + 1;
		if (*p == ',') {
			p++;
			continue;
		}
		if (object && (p = walk_member(p, w->end)) == NULL)
			return NULL;
		if ((p = walk_value(w, p)) == NULL)
			return NULL;
	}
}

/* After the key at p and its ':', or NULL. */
static const unsigned char *
walk_member(const unsigned char *p, const unsigned char *end)
{
	if ((p = walk_string(p, end)) == NULL || (p = skip_ws(p, end)) == end)
		return NULL;
	return p + 1;
}

/* Whether the object whose members start at first repeats a key. */
static bool
walk_keys(struct walk *w, const unsigned char *first)
{
	size_t b0 = 0;
	bool more;

	do {
		const unsigned char *p = first, *q;
		size_t idx = 0;

		w->gen++;
		more = false;
		for (;;) {
			if ((p = skip_ws(p, w->end)) == w->end || *p == '}')
				break;
			if (*p == ',') {
				p++;
				continue;
			}
			if ((q = walk_string(p, w->end)) == NULL)
				break;
			if (idx >= b0) {
				bool add = idx < b0 + WALK_BATCH;

				more |= !add;
				if (walk_slot(w, p + 1, q - 1, add))
					return true;
			}
			idx++;
			if ((p = skip_ws(q, w->end)) == w->end ||
			    (p = skip_ws(p + 1, w->end)) == w->end ||
			    (p = walk_skip(p, w->end)) == NULL)
				break;
		}
		b0 += WALK_BATCH;
	} while (more);
	return false;
}

/* Looks key s ... e up in this pass's table, and adds it if add. */
static bool
walk_slot(
    struct walk *w, const unsigned char *s, const unsigned char *e, bool add)
{
	size_t len = (size_t)(e - s);
	bool esc = memchr(s, '\\', len) != NULL;
	uint32_t h = jstr_hash(s, len, esc);

	for (uint32_t i = h;; i++) {
		struct walk_slot *sl = &w->slot[i & (WALK_SLOTS - 1)];
		size_t slen;

		if (sl->gen != w->gen) {
			if (add) {
				sl->gen = w->gen;
				sl->hash = h;
				sl->s = s;
			}
			return false;
		}
		if (sl->hash != h)
			continue;
		slen = (size_t)(walk_string(sl->s - 1, w->end) - 1 - sl->s);
		if (jstr_equal(sl->s, slen, memchr(sl->s, '\\', slen) != NULL,
			s, len, esc))
			return true;
	}
}

/* The decoded text of string v, NUL-terminated, in buf; false if it does
 * not fit. */
static bool
jstr_text(const struct jv *v, char *buf, size_t size)
{
	size_t n = jstr_copy(v, buf, size - 1);

	if (n >= size)
		return false;
	buf[n] = '\0';
	return true;
}

/* A value that must be a number, as json_num() reads one. */
static enum num
jv_num(const struct jv *v, double *d, enum reason *r)
{
	char buf[16];

	if (v == NULL)
		return NUM_ABSENT;
	if (v->type == JT_INT || v->type == JT_REAL) {
		*d = v->d;
		return NUM_OK;
	}
	if (v->type == JT_STR && jstr_text(v, buf, sizeof(buf)) &&
	    nonfinite_spelling(buf))
		*r = REASON_NOT_FINITE;
	else
		*r = REASON_NOT_NUMBER;
	return NUM_DROP;
}

/*
 * tz_parse() of a "ts" text too long for its buffer, made short with the
 * same answer.  Such a text is either all number (no '-': strtoll's
 * optional spaces, sign and digits), which is kept as its value's digits,
 * or an ISO time with a long fraction of a second, which tz_parse()
 * skips, and which is cut.  Any other long text is one tz_parse()
 * refuses.
 */
static int
ts_long_text(const struct jv *v, int64_t *t)
{
	struct jiter it = {v->s, v->s + v->len, {0}, 0, 0};
	char buf[TS_TEXT_MAX];
	size_t n = 0, nd = 0;
	bool dash = false, digits = false;
	int c;

	while ((c = jiter_next(&it)) >= 0)
		dash |= c == '-';
	it = (struct jiter){v->s, v->s + v->len, {0}, 0, 0};
	if (!dash) {
		while ((c = jiter_next(&it)) == ' ' || (c >= '\t' && c <= '\r'))
			;
		if (c == '+')
			c = jiter_next(&it);
		for (; c >= '0' && c <= '9'; c = jiter_next(&it)) {
			digits = true;
			if (nd == 0 && c == '0')
				continue;
			if (nd < 20)
				buf[nd] = (char)c;
			nd++;
		}
		if (c >= 0 || !digits)
			return tz_parse("x", t);
		if (nd == 0)
			buf[nd++] = '0';
		if (nd > 19) /* past INT64_MAX: strtoll saturates */
			memset(buf, '9', nd = 20);
		buf[nd] = '\0';
		return tz_parse(buf, t);
	}
	while (n < 20 && (c = jiter_next(&it)) >= 0)
		buf[n++] = (char)c;
	if (n < 20 || buf[16] != ':' || buf[19] != '.')
		return tz_parse("-", t);
	while ((c = jiter_next(&it)) >= '0' && c <= '9')
		;
	for (; c >= 0 && n < sizeof(buf) - 1; c = jiter_next(&it))
		buf[n++] = (char)c;
	if (c >= 0)
		return tz_parse("-", t);
	buf[n] = '\0';
	return tz_parse(buf, t);
}

/* A native timestamp, as time_value() reads it. */
static int
jv_time(const struct jv *v, int64_t *ts, enum reason *why)
{
	char buf[TS_TEXT_MAX];
	int64_t t;

	if (v == NULL)
		return refuse(why, REASON_BAD_TIME);
	if (v->type == JT_INT) {
		t = v->i;
	} else if (v->type == JT_REAL) {
		if (!(v->d >= (double)TS_MIN && v->d < (double)TS_MAX))
			return refuse(why, REASON_BAD_TIME);
		t = (int64_t)floor(v->d);
	} else if (v->type == JT_STR) {
		if ((jstr_text(v, buf, sizeof(buf))
			    ? tz_parse(buf, &t)
			    : ts_long_text(v, &t)) != AQ_OK)
			return refuse(why, REASON_BAD_TIME);
	} else {
		return refuse(why, REASON_SCHEMA);
	}
	if (t < TS_MIN || t >= TS_MAX)
		return refuse(why, REASON_BAD_TIME);
	*ts = t;
	return AQ_OK;
}

/*
 * The fields of a parsed native payload, checked in the order the tree
 * walk checked them: faults of shape first, then sensor, time and unit,
 * so that a payload with several faults always gets one answer.
 */
static int
native_fields(struct ctx *c, const struct jp *j, enum reason *why)
{
#define HAVE(k) ((j->have & (UINT32_C(1) << (k))) != 0 ? &j->f[k] : NULL)
	const struct jv *sensor = HAVE(NF_SENSOR), *ts = HAVE(NF_TS);
	const struct jv *period = HAVE(NF_PERIOD), *cell = HAVE(NF_CELL);
	const struct jv *lat = HAVE(NF_LAT), *lon = HAVE(NF_LON);
	const struct jv *units = HAVE(NF_UNITS);
	struct decoded *r;
	int rc;

	if (!j->root_object)
		return refuse(why, REASON_SCHEMA);
	r = new_reading(c);
	if ((sensor != NULL && sensor->type != JT_STR) ||
	    (ts != NULL && ts->type != JT_INT && ts->type != JT_REAL &&
		ts->type != JT_STR))
		return refuse(why, REASON_SCHEMA);
	if (period != NULL) {
		if (period->type != JT_INT || period->i < 1 ||
		    period->i > PERIOD_MAX)
			return refuse(why, REASON_SCHEMA);
		r->period = (int32_t)period->i;
	}
	if (cell != NULL) {
		char id[WIN_CELL_ID_MAX];
		size_t len;

		if (cell->type != JT_STR ||
		    (len = jstr_copy(cell, id, sizeof(id))) >= sizeof(id) ||
		    has_ctrl(id, len))
			return refuse(why, REASON_SCHEMA);
		memcpy(r->cell, id, len);
		r->cell[len] = '\0';
	}
	if (lat != NULL || lon != NULL) {
		if (lat == NULL || lon == NULL ||
		    (lat->type != JT_INT && lat->type != JT_REAL) ||
		    (lon->type != JT_INT && lon->type != JT_REAL))
			return refuse(why, REASON_SCHEMA);
		r->lat = lat->d;
		r->lon = lon->d;
		if (fabs(r->lat) > 90 || fabs(r->lon) > 180)
			return refuse(why, REASON_SCHEMA);
		r->has_pos = true;
	}
	if (units != NULL && (units->type != JT_OBJECT || j->units_schema))
		return refuse(why, REASON_SCHEMA);
	if (sensor != NULL) {
		char id[WIN_SENSOR_ID_MAX];
		size_t len = jstr_copy(sensor, id, sizeof(id));

		rc = len < sizeof(id) ? set_sensor(r->sensor, "", id, len, why)
				      : refuse(why, REASON_SCHEMA);
	} else {
		rc = topic_sensor(c->topic, r->sensor, why);
	}
	if (rc != AQ_OK)
		return rc;
	if ((rc = jv_time(ts, &r->ts, why)) != AQ_OK)
		return rc;
	if (j->bad_unit)
		return refuse(why, REASON_BAD_UNIT);

	for (int p = 0; p < POL_COUNT; p++) {
		enum reason why_drop;
		double v;

		switch (jv_num(HAVE(NF_POL + p), &v, &why_drop)) {
		case NUM_OK:
			put_pol(c, 0, p, j->units[p], v);
			break;
		case NUM_DROP:
			drop(c, 0, true, why_drop);
			break;
		case NUM_ABSENT:
			break;
		}
	}
	for (int m = 0; m < MET_COUNT; m++) {
		enum reason why_drop;
		double v;

		switch (jv_num(HAVE(NF_MET + m), &v, &why_drop)) {
		case NUM_OK:
			put_met(c, 0, m, v);
			break;
		case NUM_DROP:
			drop(c, 0, false, why_drop);
			break;
		case NUM_ABSENT:
			break;
		}
	}
	return finish(c, why);
#undef HAVE
}

/*
 * The native decoder.  A duplicate key answers schema, as jansson's
 * JSON_REJECT_DUPLICATES did, unless the payload nests too deep anywhere:
 * decode() counted nesting over the whole payload before jansson saw it.
 * A document the parse accepted nests no deeper than DEPTH_MAX, and one
 * it refused is a syntax fault either way, so only then does it matter.
 */
static int
native_decode(
    struct ctx *c, const unsigned char *payload, size_t len, enum reason *why)
{
	struct jp j;
	enum jr rc;

	j.p = payload;
	j.end = payload + len;
	j.depth = 0;
	j.nkeys = 0;
	j.overflow = false;
	j.root_object = false;
	j.seen = j.have = j.units_seen = 0;
	j.units_schema = j.bad_unit = false;
	for (int p = 0; p < POL_COUNT; p++)
		j.units[p] = pol_unit(p);
	rc = native_parse(&j);
	if (rc != JR_DUP && j.overflow &&
	    dup_walk(payload, rc == JR_OK ? j.end : j.p))
		rc = JR_DUP;
	if (rc == JR_DUP)
		return refuse(why,
		    too_deep(payload, len) ? REASON_SYNTAX : REASON_SCHEMA);
	if (rc != JR_OK)
		return refuse(why, REASON_SYNTAX);
	return native_fields(c, &j, why);
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

/* One frame: unframed, parsed, read (hj212.c). */
static int
hj212_decode(struct ctx *c, const void *payload, size_t len, enum reason *why)
{
	struct hj212_msg m;
	const char *data;
	size_t dlen;
	int rc;

	if ((rc = hj212_unframe(payload, len, &data, &dlen, why)) != AQ_OK)
		return rc;
	if ((rc = hj212_parse(data, dlen, &m, why)) != AQ_OK)
		return rc;
	if (m.flag >= 0 && (m.flag & HJ212_FLAG_SPLIT))
		return refuse(why, REASON_SCHEMA);
	if (hj212_zone == NULL)
		return refuse(why, REASON_BAD_TIME);
	return hj212_readings(&m, hj212_zone, c->out, c->out->flagged, why);
}

void
decode_init(void)
{
	json_set_alloc_funcs(arena_malloc, arena_free);
}

void
decode_set_zone(const struct tz *z)
{
	hj212_zone = z;
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
	memset(out->flagged, 0, sizeof(out->flagged));
	if (len > max_len) {
		rc = refuse(why, REASON_OVERSIZE);
		goto out;
	}
	if ((unsigned)d >= DECODER_COUNT) {
		rc = refuse(why, REASON_SCHEMA);
		goto out;
	}
	if (payload == NULL || len == 0) {
		rc = refuse(why, REASON_SYNTAX);
		goto out;
	}
	if (d == DECODER_NATIVE) {
		rc = native_decode(&c, payload, len, why);
		goto out;
	}
	if (d == DECODER_HJ212) {
		rc = hj212_decode(&c, payload, len, why);
		goto out;
	}
	if (too_deep(payload, len)) {
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
