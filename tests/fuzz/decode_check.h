/*
 * decode_check: what the payload harnesses (fuzz_json.c, fuzz_senml.c,
 * fuzz_airgradient.c, fuzz_sensorcommunity.c) assert of decode() and
 * qc_check() on any input.  A header of static functions so that each
 * harness, one program, includes one copy; include it once.
 *
 * - decode() answers AQ_OK or AQ_ERR_INVAL (AQ_ERR_NOMEM is not expected
 *   of a payload within the bound), a refusal with a reason decode() may
 *   give, and the same answer, field for field, when asked twice (the
 *   per-thread arena must leave nothing behind).  One byte less of bound
 *   makes the payload oversize, with nothing read from it.
 * - A decoded reading is one the engine can take: 1 to DECODE_READINGS_MAX
 *   readings, each with a NUL-terminated sensor id that is not empty and
 *   has no control characters, a NUL-terminated cell id, a time in 2000
 *   ... 2100, a period of 1 s to a day, at least one pollutant, only known
 *   bits set, no NaN, a position within the globe, and no two readings of
 *   one sensor at one time.  Infinities may leave decode() (SenML's
 *   bv + v can overflow); QC must not let them through.
 * - After qc_check() accepts a reading, every value left is finite, not
 *   negative and within its bound, and no value was added; a refusal
 *   names a reason QC gives.
 * A broken property traps, so that libFuzzer reports it as a crash.
 */
#ifndef AQ_TESTS_FUZZ_DECODE_CHECK_H
#define AQ_TESTS_FUZZ_DECODE_CHECK_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sensors/decode.h"
#include "sensors/qc.h"

#define FUZZ_NOW INT64_C(1795932000) /* 2026-11-29T14:00:00+08:00 */
#define FUZZ_MAX_LEN 16384           /* the daemon's default max_payload */
#define FUZZ_TOPIC "aq/fuzz/s-1"
#define FUZZ_TS_MIN INT64_C(946684800)  /* 2000-01-01 */
#define FUZZ_TS_MAX INT64_C(4102444800) /* 2100-01-01 */

static void fuzz_decode(enum decoder d, const uint8_t *data, size_t size);
static bool fuzz_refusal_ok(enum decoder d, enum reason r);
static bool fuzz_text_ok(const char *s, size_t size, bool empty_ok);
static void fuzz_reading_ok(enum decoder d, const struct decoded *r);
static bool fuzz_same_reading(const struct decoded *a, const struct decoded *b);
static void fuzz_qc(const struct decoded *r);

static struct decode_result fuzz_res, fuzz_again;

/* Reasons decode() refuses a payload for; QC's, the engine's and the
 * registry's are not among them. */
static bool
fuzz_refusal_ok(enum decoder d, enum reason r)
{
	switch (r) {
	case REASON_OVERSIZE:
	case REASON_SYNTAX:
	case REASON_SCHEMA:
	case REASON_NO_SENSOR:
	case REASON_BAD_TIME:
	case REASON_NO_VALUES:
	case REASON_BAD_UNIT:
	case REASON_NOT_NUMBER:
	case REASON_NOT_FINITE:
	case REASON_OUT_OF_RANGE:
		return true;
	case REASON_FLAGGED:
		return d == DECODER_HJ212;
	default:
		return false;
	}
}

/* A NUL within size, and no control characters before it. */
static bool
fuzz_text_ok(const char *s, size_t size, bool empty_ok)
{
	size_t n = strnlen(s, size);

	if (n == size || (n == 0 && !empty_ok))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static void
fuzz_reading_ok(enum decoder d, const struct decoded *r)
{
	if (!fuzz_text_ok(r->sensor, sizeof(r->sensor), false) ||
	    !fuzz_text_ok(r->cell, sizeof(r->cell), true) ||
	    strnlen(r->pw, sizeof(r->pw)) == sizeof(r->pw))
		__builtin_trap();
	if (r->ts < FUZZ_TS_MIN || r->ts >= FUZZ_TS_MAX || r->period < 1 ||
	    r->period > 86400)
		__builtin_trap();
	if (r->has == 0 || (r->has >> POL_COUNT) != 0 ||
	    (r->met_has >> MET_COUNT) != 0)
		__builtin_trap();
	if (r->registered_only != (d == DECODER_HJ212))
		__builtin_trap();
	if (r->has_pos &&
	    !(r->lat >= -90 && r->lat <= 90 && r->lon >= -180 && r->lon <= 180))
		__builtin_trap();
	for (int p = 0; p < POL_COUNT; p++)
		if ((r->has >> p & 1) && isnan(r->v[p]))
			__builtin_trap();
	for (int m = 0; m < MET_COUNT; m++)
		if ((r->met_has >> m & 1) && isnan(r->met[m]))
			__builtin_trap();
}

/* Field for field, values bit for bit. */
static bool
fuzz_same_reading(const struct decoded *a, const struct decoded *b)
{
	return strcmp(a->sensor, b->sensor) == 0 &&
	    strcmp(a->cell, b->cell) == 0 && strcmp(a->pw, b->pw) == 0 &&
	    a->has_pos == b->has_pos &&
	    memcmp(&a->lat, &b->lat, sizeof(a->lat)) == 0 &&
	    memcmp(&a->lon, &b->lon, sizeof(a->lon)) == 0 && a->ts == b->ts &&
	    a->period == b->period && a->has == b->has &&
	    memcmp(a->v, b->v, sizeof(a->v)) == 0 && a->met_has == b->met_has &&
	    memcmp(a->met, b->met, sizeof(a->met)) == 0 &&
	    a->registered_only == b->registered_only;
}

static void
fuzz_qc(const struct decoded *in)
{
	struct qc_conf qc;
	struct decoded r = *in;
	uint32_t dropped[REASON_COUNT] = {0};
	enum reason why = REASON_COUNT;

	qc_defaults(&qc);
	if (qc_check(&qc, &r, FUZZ_NOW, dropped, &why) != AQ_OK) {
		if (why != REASON_FUTURE && why != REASON_NOT_FINITE &&
		    why != REASON_NEGATIVE && why != REASON_OUT_OF_RANGE &&
		    why != REASON_NO_VALUES)
			__builtin_trap();
		return;
	}
	if (r.has == 0 || (r.has & ~in->has) != 0 ||
	    (r.met_has & ~in->met_has) != 0)
		__builtin_trap();
	for (int p = 0; p < POL_COUNT; p++)
		if ((r.has >> p & 1) &&
		    !(isfinite(r.v[p]) && r.v[p] >= 0 && r.v[p] <= qc.max[p]))
			__builtin_trap();
	for (int m = 0; m < MET_COUNT; m++)
		if ((r.met_has >> m & 1) && !isfinite(r.met[m]))
			__builtin_trap();
}

static void
fuzz_decode(enum decoder d, const uint8_t *data, size_t size)
{
	struct decode_result *a = &fuzz_res, *b = &fuzz_again;
	enum reason wa = REASON_COUNT, wb = REASON_COUNT;
	int ra =
	    decode(d, FUZZ_TOPIC, data, size, FUZZ_MAX_LEN, FUZZ_NOW, a, &wa);
	int rb =
	    decode(d, FUZZ_TOPIC, data, size, FUZZ_MAX_LEN, FUZZ_NOW, b, &wb);

	if (ra != rb || memcmp(a->dropped, b->dropped, sizeof(a->dropped)) != 0)
		__builtin_trap();
	if (ra != AQ_OK) {
		if (ra != AQ_ERR_INVAL || wa != wb || !fuzz_refusal_ok(d, wa) ||
		    (size > FUZZ_MAX_LEN) != (wa == REASON_OVERSIZE))
			__builtin_trap();
	} else {
		if (a->n < 1 || a->n > DECODE_READINGS_MAX || a->n != b->n)
			__builtin_trap();
		for (int i = 0; i < a->n; i++) {
			fuzz_reading_ok(d, &a->r[i]);
			if (!fuzz_same_reading(&a->r[i], &b->r[i]))
				__builtin_trap();
			for (int k = 0; k < i; k++)
				if (a->r[k].ts == a->r[i].ts &&
				    strcmp(a->r[k].sensor, a->r[i].sensor) == 0)
					__builtin_trap();
			fuzz_qc(&a->r[i]);
		}
	}
	if (size > 0 && size <= FUZZ_MAX_LEN) {
		wb = REASON_COUNT;
		if (decode(d, FUZZ_TOPIC, data, size, size - 1, FUZZ_NOW, b,
			&wb) != AQ_ERR_INVAL ||
		    wb != REASON_OVERSIZE || b->n != 0)
			__builtin_trap();
	}
}

#endif
