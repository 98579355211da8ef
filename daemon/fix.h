/*
 * fix: exact decimal fixed point for concentrations.
 * A value is an int64_t counting billionths (1e-9) of its unit, so every
 * decimal a sensor or an operator writes with up to nine fractional digits
 * is held exactly, and the standards' ceilings, truncations and GB/T 8170
 * roundings are done on integers, never on binary floats.
 * Pure functions: no allocation, no logging, thread-safe.
 */
#ifndef AQ_DAEMON_FIX_H
#define AQ_DAEMON_FIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/err.h"

#define FIX_ONE INT64_C(1000000000)
/* Largest magnitude accepted: 1e9 units, far above any real concentration. */
#define FIX_MAX (FIX_ONE * INT64_C(1000000000))
/* Buffer size that fits any value fix_format() writes. */
#define FIX_STR_MAX 32

/* 10^digits in fix units, for 0 <= digits <= 9: the step of a value
 * rounded to that many decimals (fix_step(0) == FIX_ONE). */
int64_t fix_step(int digits);

/*
 * Parses a plain decimal ("35", "-0.5", "1.25e2" is rejected) with at most
 * 18 significant digits; digits past the ninth decimal are rounded half to
 * even.  On success stores the value and, if end is not NULL, the first
 * character not consumed.  Returns AQ_OK, AQ_ERR_INVAL or AQ_ERR_RANGE.
 */
int fix_parse(const char *s, const char **end, int64_t *out) AQ_MUSTCHECK;

/* Nearest fix value to x; AQ_ERR_RANGE for NaN, infinities and |x| past
 * FIX_MAX. */
int fix_from_double(double x, int64_t *out) AQ_MUSTCHECK;
double fix_to_double(int64_t v);

/* Rounding to a multiple of step (a power of ten from fix_step()). */
int64_t fix_floor(int64_t v, int64_t step);
int64_t fix_round_half_even(int64_t v, int64_t step);

/* Shortest decimal text of v ("35.01", "-2", "0.000000001"); returns buf. */
char *fix_format(int64_t v, char *buf, size_t len);

/* a * b / c rounded toward negative infinity (exact, 128-bit
 * intermediate); c > 0.  AQ_ERR_RANGE if the result leaves int64_t. */
int fix_muldiv_floor(
    int64_t a, int64_t b, int64_t c, int64_t *out) AQ_MUSTCHECK;
/* The same rounded to nearest, halves away from zero. */
int fix_muldiv_round(
    int64_t a, int64_t b, int64_t c, int64_t *out) AQ_MUSTCHECK;

#endif
