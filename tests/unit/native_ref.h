/*
 * native_ref: the jansson-based native decoder that decode.c's own parser
 * replaced, kept as the reference oracle of the differential tests: the
 * unit test (check_decode_native.c) and the libFuzzer harness
 * (tests/fuzz/fuzz_json.c).  A header of static functions, so that each
 * includes one copy and neither links the other; include it once.
 * ref_decode() answers as decode() did for DECODER_NATIVE, for payloads
 * of up to REF_TEXT_MAX bytes (it aborts on longer ones).  jansson
 * allocates with its own functions here; not thread-safe (one buffer).
 */
#ifndef AQ_TESTS_UNIT_NATIVE_REF_H
#define AQ_TESTS_UNIT_NATIVE_REF_H

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon/fix.h"
#include "daemon/tz.h"
#include "sensors/decode.h"

/*
 * The reference oracle: today's (jansson-based) native decoder, copied
 * from sensors/decode.c as it was before the hand-written parser, with a
 * ref_ prefix.  Only what the native format uses is kept (no Sensor.
 * Community text numbers, no arena: jansson allocates with malloc here).
 * It is the specification the new parser is held to; do not "fix" it.
 *
 * One change, in ref_decode(): jansson 2.14 drops a raw NUL byte that
 * follows a number or true, false or null ([1\0] and {"a":1\0} parse: its
 * one-byte push-back buffer takes NUL for "empty").  No JSON text holds a
 * raw NUL, and the native parser refuses it as the syntax fault it is, so
 * the oracle is given 0x01 for each NUL: another control character, which
 * jansson refuses wherever JSON does.
 */
#define REF_DEPTH_MAX 16
#define REF_TS_MIN INT64_C(946684800)
#define REF_TS_MAX INT64_C(4102444800)
#define REF_PERIOD_DEFAULT 60
#define REF_PERIOD_MAX 86400
#define REF_TEXT_MAX 65536

struct ref_ctx {
	const char *topic;
	int64_t now;
	struct decode_result *out;
	uint32_t pol_drops[DECODE_READINGS_MAX];
};

enum ref_num { REF_NUM_OK, REF_NUM_ABSENT, REF_NUM_DROP };

enum ref_nf {
	REF_NF_SENSOR,
	REF_NF_TS,
	REF_NF_PERIOD,
	REF_NF_CELL,
	REF_NF_LAT,
	REF_NF_LON,
	REF_NF_UNITS,
	REF_NF_POL,
	REF_NF_MET = REF_NF_POL + POL_COUNT,
	REF_NF_COUNT = REF_NF_MET + MET_COUNT
};

static bool ref_too_deep(const unsigned char *p, size_t len);
static int ref_refuse(enum reason *why, enum reason r);
static bool ref_nonfinite_spelling(const char *s);
static enum ref_num ref_json_num(const json_t *j, double *v, enum reason *r);
static bool ref_has_ctrl(const char *s, size_t len);
static int ref_set_sensor(char *dst, const char *prefix, const char *id,
    size_t len, enum reason *why);
static int ref_topic_sensor(const char *topic, char *dst, enum reason *why);
static struct decoded *ref_new_reading(struct ref_ctx *c);
static void ref_drop(struct ref_ctx *c, int i, bool pol, enum reason r);
static bool ref_to_canonical(enum pol p, enum unit u, double v, double *out);
static void ref_put_pol(
    struct ref_ctx *c, int i, enum pol p, enum unit u, double v);
static void ref_put_met(struct ref_ctx *c, int i, enum met m, double v);
static void ref_take_pol(
    struct ref_ctx *c, int i, enum pol p, enum unit u, const json_t *j);
static void ref_take_met(struct ref_ctx *c, int i, enum met m, const json_t *j);
static int ref_finish(struct ref_ctx *c, enum reason *why);
static int ref_time_value(const json_t *j, int64_t *ts, enum reason *why);
static int ref_native_units(
    json_t *units, enum unit u[POL_COUNT], bool *bad_unit, enum reason *why);
static int ref_native_key(const char *key);
static int ref_native_decode(struct ref_ctx *c, json_t *root, enum reason *why);
static int ref_decode(const char *topic, const void *payload, size_t len,
    size_t max_len, int64_t now, struct decode_result *out, enum reason *why);

static const char *const ref_native_keys[REF_NF_COUNT] = {
    [REF_NF_SENSOR] = "sensor",
    [REF_NF_TS] = "ts",
    [REF_NF_PERIOD] = "period",
    [REF_NF_CELL] = "cell",
    [REF_NF_LAT] = "lat",
    [REF_NF_LON] = "lon",
    [REF_NF_UNITS] = "units",
    [REF_NF_POL + POL_PM25] = "pm25",
    [REF_NF_POL + POL_PM10] = "pm10",
    [REF_NF_POL + POL_SO2] = "so2",
    [REF_NF_POL + POL_NO2] = "no2",
    [REF_NF_POL + POL_CO] = "co",
    [REF_NF_POL + POL_O3] = "o3",
    [REF_NF_MET + MET_TEMP] = "temp",
    [REF_NF_MET + MET_RH] = "rh",
    [REF_NF_MET + MET_WS] = "ws",
    [REF_NF_MET + MET_WD] = "wd",
    [REF_NF_MET + MET_PRES] = "pres",
    [REF_NF_MET + MET_RAIN] = "rain",
    [REF_NF_MET + MET_TSP] = "tsp",
};

static bool
ref_too_deep(const unsigned char *p, size_t len)
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
		else if (k == 3 && ++depth > REF_DEPTH_MAX)
			return true;
		else if (k == 4)
			depth--;
	}
	return false;
}

static int
ref_refuse(enum reason *why, enum reason r)
{
	*why = r;
	return AQ_ERR_INVAL;
}

static bool
ref_nonfinite_spelling(const char *s)
{
	if (*s == '+' || *s == '-')
		s++;
	return strcasecmp(s, "nan") == 0 || strcasecmp(s, "inf") == 0 ||
	    strcasecmp(s, "infinity") == 0;
}

static enum ref_num
ref_json_num(const json_t *j, double *v, enum reason *r)
{
	if (j == NULL || json_is_null(j))
		return REF_NUM_ABSENT;
	if (json_is_number(j)) {
		*v = json_number_value(j);
		return REF_NUM_OK;
	}
	if (json_is_string(j) && ref_nonfinite_spelling(json_string_value(j)))
		*r = REASON_NOT_FINITE;
	else
		*r = REASON_NOT_NUMBER;
	return REF_NUM_DROP;
}

static bool
ref_has_ctrl(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

static int
ref_set_sensor(
    char *dst, const char *prefix, const char *id, size_t len, enum reason *why)
{
	size_t plen = strlen(prefix);

	if (len == 0)
		return ref_refuse(why, REASON_NO_SENSOR);
	if (plen + len >= WIN_SENSOR_ID_MAX || ref_has_ctrl(id, len))
		return ref_refuse(why, REASON_SCHEMA);
	memcpy(dst, prefix, plen);
	memcpy(dst + plen, id, len);
	dst[plen + len] = '\0';
	return AQ_OK;
}

static int
ref_topic_sensor(const char *topic, char *dst, enum reason *why)
{
	const char *last;
	size_t len;

	if (topic == NULL)
		return ref_refuse(why, REASON_NO_SENSOR);
	last = strrchr(topic, '/');
	last = last != NULL ? last + 1 : topic;
	len = strlen(last);
	if (len == 0 || len >= WIN_SENSOR_ID_MAX || ref_has_ctrl(last, len))
		return ref_refuse(why, REASON_NO_SENSOR);
	memcpy(dst, last, len + 1);
	return AQ_OK;
}

static struct decoded *
ref_new_reading(struct ref_ctx *c)
{
	struct decoded *r;

	if (c->out->n >= DECODE_READINGS_MAX)
		return NULL;
	c->pol_drops[c->out->n] = 0;
	r = &c->out->r[c->out->n++];
	memset(r, 0, sizeof(*r));
	r->period = REF_PERIOD_DEFAULT;
	return r;
}

static void
ref_drop(struct ref_ctx *c, int i, bool pol, enum reason r)
{
	c->out->dropped[r]++;
	if (pol)
		c->pol_drops[i] |= UINT32_C(1) << r;
}

static bool
ref_to_canonical(enum pol p, enum unit u, double v, double *out)
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
ref_put_pol(struct ref_ctx *c, int i, enum pol p, enum unit u, double v)
{
	struct decoded *r = &c->out->r[i];
	double cv;

	if (!ref_to_canonical(p, u, v, &cv)) {
		ref_drop(c, i, true, REASON_OUT_OF_RANGE);
		return;
	}
	r->v[p] = cv;
	r->has |= UINT32_C(1) << p;
}

static void
ref_put_met(struct ref_ctx *c, int i, enum met m, double v)
{
	struct decoded *r = &c->out->r[i];

	r->met[m] = v;
	r->met_has |= UINT32_C(1) << m;
}

static void
ref_take_pol(struct ref_ctx *c, int i, enum pol p, enum unit u, const json_t *j)
{
	enum reason r;
	double v;
	enum ref_num k = ref_json_num(j, &v, &r);

	if (k == REF_NUM_OK)
		ref_put_pol(c, i, p, u, v);
	else if (k == REF_NUM_DROP)
		ref_drop(c, i, true, r);
}

static void
ref_take_met(struct ref_ctx *c, int i, enum met m, const json_t *j)
{
	enum reason r;
	double v;
	enum ref_num k = ref_json_num(j, &v, &r);

	if (k == REF_NUM_OK)
		ref_put_met(c, i, m, v * 1);
	else if (k == REF_NUM_DROP)
		ref_drop(c, i, false, r);
}

static int
ref_finish(struct ref_ctx *c, enum reason *why)
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
		return ref_refuse(why, (enum reason)r);
	}
	return ref_refuse(why, REASON_NO_VALUES);
}

static int
ref_time_value(const json_t *j, int64_t *ts, enum reason *why)
{
	int64_t t;

	if (j == NULL || json_is_null(j))
		return ref_refuse(why, REASON_BAD_TIME);
	if (json_is_integer(j)) {
		t = json_integer_value(j);
	} else if (json_is_real(j)) {
		double d = json_real_value(j);

		if (!(d >= (double)REF_TS_MIN && d < (double)REF_TS_MAX))
			return ref_refuse(why, REASON_BAD_TIME);
		t = (int64_t)floor(d);
	} else if (json_is_string(j)) {
		if (tz_parse(json_string_value(j), &t) != AQ_OK)
			return ref_refuse(why, REASON_BAD_TIME);
	} else {
		return ref_refuse(why, REASON_SCHEMA);
	}
	if (t < REF_TS_MIN || t >= REF_TS_MAX)
		return ref_refuse(why, REASON_BAD_TIME);
	*ts = t;
	return AQ_OK;
}

static int
ref_native_units(
    json_t *units, enum unit u[POL_COUNT], bool *bad_unit, enum reason *why)
{
	const char *key;
	json_t *val;

	for (int p = 0; p < POL_COUNT; p++)
		u[p] = pol_unit(p);
	if (units == NULL || json_is_null(units))
		return AQ_OK;
	if (!json_is_object(units))
		return ref_refuse(why, REASON_SCHEMA);
	json_object_foreach(units, key, val)
	{
		int p = pol_from_name(key), v;

		if (p < 0)
			continue;
		if (!json_is_string(val))
			return ref_refuse(why, REASON_SCHEMA);
		v = unit_from_name(json_string_value(val));
		if (v < 0 ||
		    (!pol_is_gas(p) && (v == UNIT_PPB || v == UNIT_PPM)))
			*bad_unit = true;
		else
			u[p] = v;
	}
	return AQ_OK;
}

static int
ref_native_key(const char *key)
{
	for (int k = 0; k < REF_NF_COUNT; k++)
		if (strcmp(key, ref_native_keys[k]) == 0)
			return k;
	return -1;
}

static int
ref_native_decode(struct ref_ctx *c, json_t *root, enum reason *why)
{
	json_t *f[REF_NF_COUNT] = {NULL};
	enum unit units[POL_COUNT];
	bool bad_unit = false;
	struct decoded *r;
	const char *key;
	json_t *val;
	int rc;

	if (!json_is_object(root))
		return ref_refuse(why, REASON_SCHEMA);
	json_object_foreach(root, key, val)
	{
		int k = ref_native_key(key);

		if (k >= 0)
			f[k] = json_is_null(val) ? NULL : val;
	}
	r = ref_new_reading(c);

	if ((f[REF_NF_SENSOR] != NULL && !json_is_string(f[REF_NF_SENSOR])) ||
	    (f[REF_NF_TS] != NULL && !json_is_number(f[REF_NF_TS]) &&
		!json_is_string(f[REF_NF_TS])))
		return ref_refuse(why, REASON_SCHEMA);
	if (f[REF_NF_PERIOD] != NULL) {
		json_int_t p = json_integer_value(f[REF_NF_PERIOD]);

		if (!json_is_integer(f[REF_NF_PERIOD]) || p < 1 ||
		    p > REF_PERIOD_MAX)
			return ref_refuse(why, REASON_SCHEMA);
		r->period = (int32_t)p;
	}
	if (f[REF_NF_CELL] != NULL) {
		size_t len = json_string_length(f[REF_NF_CELL]);

		if (!json_is_string(f[REF_NF_CELL]) || len >= WIN_CELL_ID_MAX ||
		    ref_has_ctrl(json_string_value(f[REF_NF_CELL]), len))
			return ref_refuse(why, REASON_SCHEMA);
		memcpy(r->cell, json_string_value(f[REF_NF_CELL]), len + 1);
	}
	if (f[REF_NF_LAT] != NULL || f[REF_NF_LON] != NULL) {
		if (!json_is_number(f[REF_NF_LAT]) ||
		    !json_is_number(f[REF_NF_LON]))
			return ref_refuse(why, REASON_SCHEMA);
		r->lat = json_number_value(f[REF_NF_LAT]);
		r->lon = json_number_value(f[REF_NF_LON]);
		if (fabs(r->lat) > 90 || fabs(r->lon) > 180)
			return ref_refuse(why, REASON_SCHEMA);
		r->has_pos = true;
	}
	if ((rc = ref_native_units(f[REF_NF_UNITS], units, &bad_unit, why)) !=
	    AQ_OK)
		return rc;
	if (f[REF_NF_SENSOR] != NULL)
		rc = ref_set_sensor(r->sensor, "",
		    json_string_value(f[REF_NF_SENSOR]),
		    json_string_length(f[REF_NF_SENSOR]), why);
	else
		rc = ref_topic_sensor(c->topic, r->sensor, why);
	if (rc != AQ_OK)
		return rc;
	if ((rc = ref_time_value(f[REF_NF_TS], &r->ts, why)) != AQ_OK)
		return rc;
	if (bad_unit)
		return ref_refuse(why, REASON_BAD_UNIT);

	for (int p = 0; p < POL_COUNT; p++)
		ref_take_pol(c, 0, p, units[p], f[REF_NF_POL + p]);
	for (int m = 0; m < MET_COUNT; m++)
		ref_take_met(c, 0, m, f[REF_NF_MET + m]);
	return ref_finish(c, why);
}

/* decode() for DECODER_NATIVE as it was: length, nesting, jansson (with
 * NUL bytes made 0x01, see above). */
static int
ref_decode(const char *topic, const void *payload, size_t len, size_t max_len,
    int64_t now, struct decode_result *out, enum reason *why)
{
	static char text[REF_TEXT_MAX];
	struct ref_ctx c = {.topic = topic, .now = now, .out = out};
	json_error_t err;
	json_t *root = NULL;
	int rc;

	out->n = 0;
	memset(out->dropped, 0, sizeof(out->dropped));
	if (len > max_len)
		return ref_refuse(why, REASON_OVERSIZE);
	if (payload == NULL || len == 0 || ref_too_deep(payload, len))
		return ref_refuse(why, REASON_SYNTAX);
	if (len > sizeof(text))
		abort(); /* the callers keep payloads shorter */
	for (size_t i = 0; i < len; i++)
		text[i] = ((const char *)payload)[i] == '\0'
		    ? '\x01'
		    : ((const char *)payload)[i];
	root = json_loadb(
	    text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
	if (root == NULL) {
		switch (json_error_code(&err)) {
		case json_error_out_of_memory:
			*why = REASON_SYNTAX;
			return AQ_ERR_NOMEM;
		case json_error_duplicate_key:
			return ref_refuse(why, REASON_SCHEMA);
		default:
			return ref_refuse(why, REASON_SYNTAX);
		}
	}
	rc = ref_native_decode(&c, root, why);
	json_decref(root);
	return rc;
}

#endif
