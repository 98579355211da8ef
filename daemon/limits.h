/*
 * limits: GB 3095-2026 (transition limits to 2030-12-31, final from
 * 2031-01-01) and GB 3095-2012 concentration limits, grade I and II, and the
 * exceedance test (strictly greater than the limit; equal complies).
 * Limits are in canonical units (ug/m3, CO mg/m3) as fix values.
 * o3_8h is held to the daily maximum 8-hour limit; pm25_1h, pm10_1h and
 * co_8h have no limit.  Pure: static tables, thread-safe, never logs.
 */
#ifndef AQ_DAEMON_LIMITS_H
#define AQ_DAEMON_LIMITS_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/aqi.h"
#include "daemon/err.h"
#include "daemon/pol.h"

enum limits_ed { LIMITS_GB3095_2026, LIMITS_GB3095_2012, LIMITS_ED_COUNT };

struct limits_opts {
	enum limits_ed ed;
	int grade; /* 1 or 2 */
};

/* "gb3095-2026", "gb3095-2012"; from_name returns -1 if unknown. */
const char *limits_ed_name(enum limits_ed ed);
int limits_ed_from_name(const char *s);

/*
 * The limit for indicator i on the date yyyymmdd (e.g. 20261129), which
 * picks the GB 3095-2026 period.  Returns false when i has no limit.
 */
bool limits_get(
    const struct limits_opts *o, int32_t yyyymmdd, enum ind i, int64_t *out);

/*
 * Sets *out to the IND_BIT()s of the given indicators that exceed their
 * limit, converting other units to the canonical one first.  Returns AQ_OK,
 * or AQ_ERR_INVAL/AQ_ERR_RANGE as pol_convert() does (*out unset).
 */
int limits_exceeds(const struct limits_opts *o, int32_t yyyymmdd,
    const struct aqi_input *in, uint32_t *out) AQ_MUSTCHECK;

#endif
