/* limits: GB 3095 concentration limits and exceedance (see limits.h). */
#include "daemon/limits.h"

#include <stddef.h>
#include <string.h>

#include "daemon/fix.h"

/* The last day of the GB 3095-2026 transition period.  Dates before the
 * standard took force (2026-03-01) use the transition limits too: the 2026
 * edition defines no earlier set, and a caller who wants the limits that
 * were in force then asks for GB 3095-2012. */
#define TRANSITION_LAST 20301231

/* One limit set: STANDARDS.md section 3, table 1. */
enum set { SET_2026_TRANSITION, SET_2026_FINAL, SET_2012, SET_COUNT };

struct lim {
	bool has;
	int64_t grade[2]; /* grade I, grade II */
};

static int pick_set(const struct limits_opts *o, int32_t yyyymmdd);

/* Every table 1 limit is a whole number of its canonical unit. */
#define L(g1, g2)                                                              \
	{                                                                      \
		true,                                                          \
		{                                                              \
			(g1) * FIX_ONE, (g2)*FIX_ONE                           \
		}                                                              \
	}

/*
 * Indicators map to averagings as limits.h says: *_24h are daily means,
 * o3_8h the daily maximum 8-hour mean, *_1h and *_annual as named.
 * pm25_1h, pm10_1h and co_8h have no limit and stay zero (has false).
 */
static const struct lim sets[SET_COUNT][IND_COUNT] =
    {
	[SET_2026_TRANSITION] =
	    {
		[IND_PM25_24H] = L(35, 60),
		[IND_PM10_24H] = L(50, 120),
		[IND_SO2_1H] = L(150, 500),
		[IND_SO2_24H] = L(50, 150),
		[IND_NO2_1H] = L(200, 200),
		[IND_NO2_24H] = L(80, 80),
		[IND_CO_1H] = L(10, 10),
		[IND_CO_24H] = L(4, 4),
		[IND_O3_1H] = L(160, 200),
		[IND_O3_8H] = L(100, 160),
		[IND_PM25_ANNUAL] = L(15, 30),
		[IND_PM10_ANNUAL] = L(40, 60),
		[IND_SO2_ANNUAL] = L(20, 60),
		[IND_NO2_ANNUAL] = L(40, 40),
	    },
	[SET_2026_FINAL] =
	    {
		[IND_PM25_24H] = L(25, 50),
		[IND_PM10_24H] = L(50, 100),
		[IND_SO2_1H] = L(150, 150),
		[IND_SO2_24H] = L(50, 50),
		[IND_NO2_1H] = L(200, 200),
		[IND_NO2_24H] = L(50, 50),
		[IND_CO_1H] = L(10, 10),
		[IND_CO_24H] = L(4, 4),
		[IND_O3_1H] = L(160, 200),
		[IND_O3_8H] = L(100, 160),
		[IND_PM25_ANNUAL] = L(10, 25),
		[IND_PM10_ANNUAL] = L(20, 50),
		[IND_SO2_ANNUAL] = L(20, 20),
		[IND_NO2_ANNUAL] = L(30, 30),
	    },
	[SET_2012] =
	    {
		[IND_PM25_24H] = L(35, 75),
		[IND_PM10_24H] = L(50, 150),
		[IND_SO2_1H] = L(150, 500),
		[IND_SO2_24H] = L(50, 150),
		[IND_NO2_1H] = L(200, 200),
		[IND_NO2_24H] = L(80, 80),
		[IND_CO_1H] = L(10, 10),
		[IND_CO_24H] = L(4, 4),
		[IND_O3_1H] = L(160, 200),
		[IND_O3_8H] = L(100, 160),
		[IND_PM25_ANNUAL] = L(15, 35),
		[IND_PM10_ANNUAL] = L(40, 70),
		[IND_SO2_ANNUAL] = L(20, 60),
		[IND_NO2_ANNUAL] = L(40, 40),
	    },
};

static const char *const ed_names[LIMITS_ED_COUNT] = {
    [LIMITS_GB3095_2026] = "gb3095-2026",
    [LIMITS_GB3095_2012] = "gb3095-2012",
};

const char *
limits_ed_name(enum limits_ed ed)
{
	return ed_names[ed];
}

int
limits_ed_from_name(const char *s)
{
	int found = -1;

	for (int e = 0; e < LIMITS_ED_COUNT && found < 0; e++)
		if (strcmp(s, ed_names[e]) == 0)
			found = e;
	return found;
}

/* The limit set for the options and date, or -1 for bad options. */
static int
pick_set(const struct limits_opts *o, int32_t yyyymmdd)
{
	int set = -1;

	if (o->grade != 1 && o->grade != 2)
		set = -1;
	else if (o->ed == LIMITS_GB3095_2012)
		set = SET_2012;
	else if (o->ed == LIMITS_GB3095_2026)
		set = yyyymmdd <= TRANSITION_LAST ? SET_2026_TRANSITION
						  : SET_2026_FINAL;
	return set;
}

bool
limits_get(
    const struct limits_opts *o, int32_t yyyymmdd, enum ind i, int64_t *out)
{
	int set = pick_set(o, yyyymmdd);
	const struct lim *l;

	if (set < 0 || (unsigned)i >= IND_COUNT)
		return false;
	l = &sets[set][i];
	if (l->has)
		*out = l->grade[o->grade - 1];
	return l->has;
}

int
limits_exceeds(const struct limits_opts *o, int32_t yyyymmdd,
    const struct aqi_input *in, uint32_t *out)
{
	uint32_t bits = 0;
	int rc = AQ_OK;

	if (pick_set(o, yyyymmdd) < 0)
		rc = AQ_ERR_INVAL;
	/* Every given value is checked, with a limit or without, so that an
	 * input is refused here exactly when aqi_compute() refuses it. */
	for (int i = 0; i < IND_COUNT && rc == AQ_OK; i++) {
		enum pol p = ind_pol((enum ind)i);
		int64_t limit, v;

		if ((in->has & IND_BIT(i)) == 0)
			continue;
		/* A negative concentration is not a measurement. */
		if (in->v[i] < 0)
			rc = AQ_ERR_RANGE;
		/* Rounded to the nearest billionth, not down: truncation is
		 * the US AQI's rule, and GB 3095 has none.  Only a value
		 * within 5e-10 of a limit could be judged otherwise. */
		if (rc == AQ_OK)
			rc = pol_convert(
			    p, in->v[i], in->unit[i], pol_unit(p), false, &v);
		if (rc == AQ_OK &&
		    limits_get(o, yyyymmdd, (enum ind)i, &limit) && v > limit)
			bits |= IND_BIT(i);
	}
	if (rc == AQ_OK)
		*out = bits;
	return rc;
}
