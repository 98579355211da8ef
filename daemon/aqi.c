/*
 * aqi: IAQI and AQI by HJ 633-2026, HJ 633-2012 and US EPA 2024, and the
 * US NowCast (see aqi.h; the rules and decisions are STANDARDS.md's).
 * Every concentration is a fix value and every rounding an integer
 * operation; floating point appears only as the NowCast's first estimate,
 * which an exact integer test then corrects.
 */
#include "daemon/aqi.h"

#include <limits.h>
#include <stddef.h>
#include <string.h>

#include "daemon/fix.h"

/* 128-bit products for the NowCast's exact test, as in fix.c. */
__extension__ typedef unsigned __int128 aqi_u128;

/* Breakpoints per China column and rows per US table. */
#define CN_BPS 8
#define US_ROWS 6
/* US breakpoints are kept in thousandths of the US unit. */
#define MILLI (FIX_ONE / 1000)
/* The largest NowCast window (PM, 12 hours) and the O3 legacy window. */
#define NC_PM_HOURS 12
#define NC_O3_HOURS 8
/*
 * Limbs of the NowCast's exact sums: weights a^k * b^(11-k) with a, b below
 * 2^60 and differences below 2^61, twelve of them, stay under 2^725.
 */
#define BIG_LIMBS 12

/*
 * China: one column per indicator kind.  bp[k] is the concentration (in
 * ug/m3, CO in mg/m3) at IAQI cn_iaqi[k]; the rows are continuous.  The
 * SO2 1-hour column stops at IAQI 200 and the O3 8-hour column at 300;
 * above them the editions differ (STANDARDS.md 1.1 notes b and c).
 */
enum cn_col_id {
	CN_SO2_24H,
	CN_SO2_1H,
	CN_NO2_24H,
	CN_NO2_1H,
	CN_CO_24H,
	CN_CO_1H,
	CN_O3_1H,
	CN_O3_8H,
	CN_PM10_2012,
	CN_PM25_2012,
	CN_PM10_2026,
	CN_PM25_2026,
	CN_COL_COUNT
};

struct cn_col {
	int n; /* breakpoints in use */
	int64_t bp[CN_BPS];
};

/*
 * US: disjoint rows on truncated values.  lo and hi are in thousandths of
 * the table's unit; digits is the truncation (decimals kept).
 */
enum us_tab_id {
	US_O3_8H,
	US_O3_1H,
	US_PM25,
	US_PM10,
	US_CO,
	US_SO2_1H,
	US_SO2_24H,
	US_NO2,
	US_TAB_COUNT
};

struct us_row {
	int64_t lo, hi;
	int ilo, ihi;
};

struct us_tab {
	int n;
	int digits;
	enum unit unit;
	struct us_row row[US_ROWS];
};

/* Unsigned magnitude, least significant limb first. */
struct big {
	uint64_t l[BIG_LIMBS];
};

static int check_input(const struct aqi_input *);
static void result_init(const struct aqi_opts *, struct aqi_result *);
static void result_finish(
    const struct aqi_opts *, const struct aqi_input *, struct aqi_result *);
static enum cn_col_id cn_column(enum aqi_std, enum ind);
static int cn_value(
    enum aqi_std, enum pol, int64_t, enum unit, int64_t *, bool *);
static int cn_iaqi_of(const struct cn_col *, int64_t, int *);
static int cn_indicator(
    enum aqi_std, const struct aqi_input *, enum ind, struct aqi_result *);
static int cn_compute(
    const struct aqi_opts *, const struct aqi_input *, struct aqi_result *);
static enum us_tab_id us_table(enum ind);
static int us_value(
    const struct us_tab *, enum pol, int64_t, enum unit, int64_t *, bool *);
static int us_iaqi_of(const struct us_tab *, int64_t, bool, int *, uint32_t *);
static int us_indicator(const struct aqi_opts *, const struct aqi_input *,
    enum ind, struct aqi_result *);
static int us_so2(
    const struct aqi_opts *, const struct aqi_input *, struct aqi_result *);
static int us_compute(
    const struct aqi_opts *, const struct aqi_input *, struct aqi_result *);
static const char *level_text(
    enum aqi_std, int, const char *const *, const char *const *);
static void big_set(struct big *, uint64_t);
static void big_mul(struct big *, uint64_t);
static void big_addmul(struct big *, const struct big *, uint64_t);
static int big_cmp(const struct big *, const struct big *);
static bool nc_at_least(
    const struct big *, const int64_t *, const bool *, int, int64_t);

/* IAQI at each China breakpoint. */
static const int cn_iaqi[CN_BPS] = {0, 50, 100, 150, 200, 300, 400, 500};

/* HJ 633-2012 table 1 and HJ 633-2026 table 3 (STANDARDS.md 1.1). */
static const struct cn_col cn_cols[CN_COL_COUNT] = {
    [CN_SO2_24H] = {8, {0, 50, 150, 475, 800, 1600, 2100, 2620}},
    [CN_SO2_1H] = {5, {0, 150, 500, 650, 800}},
    [CN_NO2_24H] = {8, {0, 40, 80, 180, 280, 565, 750, 940}},
    [CN_NO2_1H] = {8, {0, 100, 200, 700, 1200, 2340, 3090, 3840}},
    [CN_CO_24H] = {8, {0, 2, 4, 14, 24, 36, 48, 60}},
    [CN_CO_1H] = {8, {0, 5, 10, 35, 60, 90, 120, 150}},
    [CN_O3_1H] = {8, {0, 160, 200, 300, 400, 800, 1000, 1200}},
    [CN_O3_8H] = {6, {0, 100, 160, 215, 265, 800}},
    [CN_PM10_2012] = {8, {0, 50, 150, 250, 350, 420, 500, 600}},
    [CN_PM25_2012] = {8, {0, 35, 75, 115, 150, 250, 350, 500}},
    [CN_PM10_2026] = {8, {0, 50, 120, 250, 350, 420, 500, 600}},
    [CN_PM25_2026] = {8, {0, 35, 60, 115, 150, 250, 350, 500}},
};

/* TAD 2024 table 6 (STANDARDS.md 4.1), in thousandths. */
static const struct us_tab us_tabs[US_TAB_COUNT] = {
    [US_O3_8H] = {5, 3, UNIT_PPM,
	{{0, 54, 0, 50}, {55, 70, 51, 100}, {71, 85, 101, 150},
	    {86, 105, 151, 200}, {106, 200, 201, 300}}},
    [US_O3_1H] = {4, 3, UNIT_PPM,
	{{125, 164, 101, 150}, {165, 204, 151, 200}, {205, 404, 201, 300},
	    {405, 604, 301, 500}}},
    [US_PM25] = {6, 1, UNIT_UGM3,
	{{0, 9000, 0, 50}, {9100, 35400, 51, 100}, {35500, 55400, 101, 150},
	    {55500, 125400, 151, 200}, {125500, 225400, 201, 300},
	    {225500, 325400, 301, 500}}},
    [US_PM10] = {6, 0, UNIT_UGM3,
	{{0, 54000, 0, 50}, {55000, 154000, 51, 100},
	    {155000, 254000, 101, 150}, {255000, 354000, 151, 200},
	    {355000, 424000, 201, 300}, {425000, 604000, 301, 500}}},
    [US_CO] = {6, 1, UNIT_PPM,
	{{0, 4400, 0, 50}, {4500, 9400, 51, 100}, {9500, 12400, 101, 150},
	    {12500, 15400, 151, 200}, {15500, 30400, 201, 300},
	    {30500, 50400, 301, 500}}},
    [US_SO2_1H] = {4, 0, UNIT_PPB,
	{{0, 35000, 0, 50}, {36000, 75000, 51, 100}, {76000, 185000, 101, 150},
	    {186000, 304000, 151, 200}}},
    [US_SO2_24H] = {2, 0, UNIT_PPB,
	{{305000, 604000, 201, 300}, {605000, 1004000, 301, 500}}},
    [US_NO2] = {6, 0, UNIT_PPB,
	{{0, 53000, 0, 50}, {54000, 100000, 51, 100},
	    {101000, 360000, 101, 150}, {361000, 649000, 151, 200},
	    {650000, 1249000, 201, 300}, {1250000, 2049000, 301, 500}}},
};

#define B(x) IND_BIT(IND_##x)
/*
 * Indicators each report reads (aqi.h).  The 2012 hourly PM pair and its
 * conditional so2_24h are adjusted in result_init() and cn_compute().
 */
static const uint32_t report_used[AQI_STD_COUNT][2] = {
    [AQI_HJ633_2026] =
	{
	    [AQI_HOURLY] = B(PM25_1H) | B(PM10_1H) | B(SO2_1H) | B(NO2_1H) |
		B(CO_1H) | B(O3_1H),
	    [AQI_DAILY] = B(PM25_24H) | B(PM10_24H) | B(SO2_24H) | B(NO2_24H) |
		B(CO_24H) | B(O3_8H),
	},
    [AQI_HJ633_2012] =
	{
	    [AQI_HOURLY] = B(PM25_1H) | B(PM10_1H) | B(SO2_1H) | B(NO2_1H) |
		B(CO_1H) | B(O3_1H) | B(O3_8H),
	    [AQI_DAILY] = B(PM25_24H) | B(PM10_24H) | B(SO2_24H) | B(NO2_24H) |
		B(CO_24H) | B(O3_1H) | B(O3_8H),
	},
    [AQI_EPA_2024] =
	{
	    [AQI_HOURLY] = B(PM25_1H) | B(PM10_1H) | B(O3_8H) | B(O3_1H) |
		B(CO_8H) | B(SO2_1H) | B(SO2_24H) | B(NO2_1H),
	    [AQI_DAILY] = B(PM25_24H) | B(PM10_24H) | B(O3_8H) | B(O3_1H) |
		B(CO_8H) | B(SO2_1H) | B(SO2_24H) | B(NO2_1H),
	},
};

static const char *const std_names[AQI_STD_COUNT] = {
    [AQI_HJ633_2026] = "hj633-2026",
    [AQI_HJ633_2012] = "hj633-2012",
    [AQI_EPA_2024] = "epa-2024",
};

/* STANDARDS.md 1.5 (the same in both China editions) and 4.4. */
static const char *const cn_category[6] = {
    "优", "良", "轻度污染", "中度污染", "重度污染", "严重污染"};
static const char *const cn_category_en[6] = {"Excellent", "Good",
    "Lightly polluted", "Moderately polluted", "Heavily polluted",
    "Severely polluted"};
static const char *const cn_color[6] = {
    "#00E400", "#FFFF00", "#FF7E00", "#FF0000", "#99004C", "#7E0023"};
static const char *const us_category[6] = {
    "良好", "中等", "对敏感人群不健康", "不健康", "非常不健康", "危险"};
static const char *const us_category_en[6] = {"Good", "Moderate",
    "Unhealthy for Sensitive Groups", "Unhealthy", "Very Unhealthy",
    "Hazardous"};
static const char *const us_color[6] = {
    "#00E400", "#FFFF00", "#FF7E00", "#FF0000", "#8F3F97", "#7E0023"};

/* Indexed by bit position of enum aqi_note. */
static const char *const note_text[AQI_NOTE_COUNT_] = {
    "Concentration above the IAQI 500 breakpoint counted as 500",
    "SO2 1h > 800 counted as 200",
    "SO2 1h > 800 has no IAQI",
    "SO2 taken from its 24-hour mean",
    "O3 8h > 800 counted as 300",
    "O3 8h > 800 has no IAQI; O3 taken from its 1-hour value",
    "Pollutants missing and AQI <= 100: AQI, level and primary shown as NA",
    "Concentration above the AQI 500 breakpoint extrapolated",
    "Concentration above the AQI 500 breakpoint capped at 500",
    "O3 1h < 0.125 ppm has no AQI",
    "O3 8h > 0.200 ppm has no AQI; use the 1-hour value",
    "SO2 1h >= 305 ppb with 24h < 305 ppb or missing counted as 200",
    "Only an SO2 24h value < 305 ppb given: no AQI",
};

int
aqi_compute(const struct aqi_opts *opts, const struct aqi_input *in,
    struct aqi_result *out)
{
	struct aqi_result r;
	int rc = AQ_ERR_INVAL;

	if (opts == NULL || in == NULL || out == NULL ||
	    (unsigned)opts->std >= AQI_STD_COUNT ||
	    (opts->report != AQI_HOURLY && opts->report != AQI_DAILY))
		goto out;
	if ((rc = check_input(in)) != AQ_OK)
		goto out;
	result_init(opts, &r);
	if (opts->std == AQI_EPA_2024)
		rc = us_compute(opts, in, &r);
	else
		rc = cn_compute(opts, in, &r);
	if (rc != AQ_OK)
		goto out;
	result_finish(opts, in, &r);
	*out = r;
out:
	return rc;
}

/*
 * Every given value is checked, read or not, so that a bad reading is
 * reported whichever standard is asked for.
 */
static int
check_input(const struct aqi_input *in)
{
	int rc = AQ_OK;

	if ((in->has & ~(IND_BIT(IND_COUNT) - 1)) != 0)
		rc = AQ_ERR_INVAL;
	for (int i = 0; i < IND_COUNT && rc == AQ_OK; i++) {
		if ((in->has & IND_BIT(i)) == 0)
			continue;
		if ((unsigned)in->unit[i] >= UNIT_COUNT)
			rc = AQ_ERR_INVAL;
		else if (!pol_is_gas(ind_pol((enum ind)i)) &&
		    (in->unit[i] == UNIT_PPB || in->unit[i] == UNIT_PPM))
			rc = AQ_ERR_INVAL;
		else if (in->v[i] < 0 || in->v[i] > FIX_MAX)
			rc = AQ_ERR_RANGE;
	}
	return rc;
}

static void
result_init(const struct aqi_opts *opts, struct aqi_result *r)
{
	memset(r, 0, sizeof(*r));
	r->std = opts->std;
	r->report = opts->report;
	r->aqi = -1;
	for (int i = 0; i < IND_COUNT; i++)
		r->iaqi[i] = -1;
	r->used = report_used[opts->std][opts->report];
	/* D1: the literal 2012 reading uses the 24-hour moving means. */
	if (opts->std == AQI_HJ633_2012 && opts->report == AQI_HOURLY &&
	    opts->pm2012_moving)
		r->used = (r->used & ~(B(PM25_1H) | B(PM10_1H))) | B(PM25_24H) |
		    B(PM10_24H);
}

/* The AQI, level, primary and the masks, from the IAQIs. */
static void
result_finish(const struct aqi_opts *opts, const struct aqi_input *in,
    struct aqi_result *r)
{
	uint32_t report_pols = 0, have_pols = 0, missing;

	r->ignored = in->has & ~r->used;
	for (int i = 0; i < IND_AQI_COUNT; i++) {
		uint32_t pol_bit = UINT32_C(1) << ind_pol((enum ind)i);

		if ((r->used & IND_BIT(i)) == 0)
			continue;
		report_pols |= pol_bit;
		if (r->iaqi[i] < 0) {
			r->na |= IND_BIT(i);
			continue;
		}
		have_pols |= pol_bit;
		if (r->iaqi[i] > r->aqi)
			r->aqi = r->iaqi[i];
		if (opts->std == AQI_HJ633_2012 && r->iaqi[i] > 100)
			r->nonattain |= IND_BIT(i);
	}
	/*
	 * HJ 633-2026 s5.3.1 (D9): with a pollutant of the programme missing,
	 * an AQI <= 100 might be wrong by omission, so it is not published.
	 * Without any IAQI there is no AQI to hide and no note.
	 */
	missing = report_pols & ~have_pols & ~opts->exempt;
	if (opts->std == AQI_HJ633_2026 && r->aqi >= 0 && r->aqi <= 100 &&
	    missing != 0) {
		r->aqi = -1;
		r->notes |= AQI_NOTE_MISSING_HIDDEN;
	}
	if (r->aqi >= 0)
		r->level = aqi_level(opts->std, r->aqi);
	/* D8: every tied indicator; China names none at AQI <= 50. */
	if (r->aqi >= 0 && (opts->std == AQI_EPA_2024 || r->aqi > 50))
		for (int i = 0; i < IND_AQI_COUNT; i++)
			if (r->iaqi[i] == r->aqi)
				r->primary |= IND_BIT(i);
}

static enum cn_col_id
cn_column(enum aqi_std std, enum ind i)
{
	bool y26 = std == AQI_HJ633_2026;
	enum cn_col_id col;

	switch (i) {
	case IND_PM25_1H:
	case IND_PM25_24H:
		col = y26 ? CN_PM25_2026 : CN_PM25_2012;
		break;
	case IND_PM10_1H:
	case IND_PM10_24H:
		col = y26 ? CN_PM10_2026 : CN_PM10_2012;
		break;
	case IND_SO2_1H:
		col = CN_SO2_1H;
		break;
	case IND_SO2_24H:
		col = CN_SO2_24H;
		break;
	case IND_NO2_1H:
		col = CN_NO2_1H;
		break;
	case IND_NO2_24H:
		col = CN_NO2_24H;
		break;
	case IND_CO_1H:
		col = CN_CO_1H;
		break;
	case IND_O3_1H:
		col = CN_O3_1H;
		break;
	case IND_O3_8H:
		col = CN_O3_8H;
		break;
	default:
		/* co_24h; no China report reads co_8h or the annual means. */
		col = CN_CO_24H;
		break;
	}
	return col;
}

/*
 * The concentration China's formula reads: converted into ug/m3 (CO
 * mg/m3) and, under 2026, rounded by GB/T 8170 to 1 ug/m3 (CO 0.1 mg/m3).
 * Under 2026 a converted value is rounded from the exact quotient, not
 * from its nearest fix value: rounding twice would turn 9.4999999996 into
 * 9.5 and then 10.  The quotient lies in [floor, ceil] of the conversion;
 * when those differ it is no fix value, so it is never a tie, and it lies
 * above a tie exactly when its floor is at or above that tie.
 */
static int
cn_value(enum aqi_std std, enum pol p, int64_t v, enum unit from, int64_t *out,
    bool *converted)
{
	enum unit to = pol_unit(p);
	int64_t step = fix_step(p == POL_CO ? 1 : 0);
	int64_t lo = v, neg_hi = -v, base;
	int rc = AQ_OK;

	*converted = from != to;
	if (std == AQI_HJ633_2012) {
		rc = pol_convert(p, v, from, to, false, out);
		goto out;
	}
	if (*converted &&
	    ((rc = pol_convert(p, v, from, to, true, &lo)) != AQ_OK ||
		(rc = pol_convert(p, -v, from, to, true, &neg_hi)) != AQ_OK))
		goto out;
	if (lo == -neg_hi) {
		*out = fix_round_half_even(lo, step);
	} else {
		base = fix_floor(lo, step);
		*out = 2 * (lo - base) >= step ? base + step : base;
	}
out:
	return rc;
}

/*
 * IAQI = I_lo + ceil((I_hi - I_lo) * (C - BP_lo) / (BP_hi - BP_lo)), the
 * ceiling taken as -floor(-x) on exact integers.  *iaqi is -1 above the
 * column's top breakpoint; the caller applies the edition's rule there.
 */
static int
cn_iaqi_of(const struct cn_col *col, int64_t c, int *iaqi)
{
	int64_t lo, hi, q = 0;
	int k = 1, rc = AQ_OK;

	while (k < col->n && c > col->bp[k] * FIX_ONE)
		k++;
	if (k == col->n) {
		*iaqi = -1;
		goto out;
	}
	lo = col->bp[k - 1] * FIX_ONE;
	hi = col->bp[k] * FIX_ONE;
	rc = fix_muldiv_floor(
	    -(int64_t)(cn_iaqi[k] - cn_iaqi[k - 1]), c - lo, hi - lo, &q);
	if (rc == AQ_OK)
		*iaqi = cn_iaqi[k - 1] + (int)-q;
out:
	return rc;
}

static int
cn_indicator(enum aqi_std std, const struct aqi_input *in, enum ind i,
    struct aqi_result *r)
{
	enum cn_col_id col = cn_column(std, i);
	bool converted = false, y26 = std == AQI_HJ633_2026;
	int64_t c = 0;
	int iaqi = -1, rc;

	if ((rc = cn_value(std, ind_pol(i), in->v[i], in->unit[i], &c,
		 &converted)) != AQ_OK)
		goto out;
	if ((rc = cn_iaqi_of(&cn_cols[col], c, &iaqi)) != AQ_OK)
		goto out;
	if (iaqi < 0) {
		/* Above the top breakpoint (STANDARDS.md 1.1, D2, D3). */
		if (col == CN_SO2_1H) {
			iaqi = y26 ? 200 : -1;
			r->notes |=
			    y26 ? AQI_NOTE_SO2_1H_AS_200 : AQI_NOTE_SO2_1H_NA;
		} else if (col == CN_O3_8H) {
			iaqi = y26 ? 300 : -1;
			r->notes |=
			    y26 ? AQI_NOTE_O3_8H_AS_300 : AQI_NOTE_O3_8H_NA;
		} else {
			iaqi = 500;
			r->notes |= AQI_NOTE_CN_CAPPED;
		}
	}
	r->value[i] = c;
	r->iaqi[i] = iaqi;
	if (converted)
		r->converted |= IND_BIT(i);
out:
	return rc;
}

static int
cn_compute(const struct aqi_opts *opts, const struct aqi_input *in,
    struct aqi_result *r)
{
	uint32_t todo = r->used & in->has;
	int rc = AQ_OK;

	for (int i = 0; i < IND_AQI_COUNT && rc == AQ_OK; i++)
		if ((todo & IND_BIT(i)) != 0)
			rc = cn_indicator(opts->std, in, (enum ind)i, r);
	/*
	 * D3: a 2012 hourly SO2 1h above 800 has no IAQI, and SO2 is then
	 * read from its 24-hour mean, which the report reads only then.
	 */
	if (rc == AQ_OK && opts->std == AQI_HJ633_2012 &&
	    opts->report == AQI_HOURLY &&
	    (r->notes & AQI_NOTE_SO2_1H_NA) != 0) {
		r->used |= B(SO2_24H);
		if ((in->has & B(SO2_24H)) != 0 &&
		    (rc = cn_indicator(opts->std, in, IND_SO2_24H, r)) == AQ_OK)
			r->notes |= AQI_NOTE_SO2_FROM_24H;
	}
	return rc;
}

static enum us_tab_id
us_table(enum ind i)
{
	enum us_tab_id t;

	switch (i) {
	case IND_O3_8H:
		t = US_O3_8H;
		break;
	case IND_O3_1H:
		t = US_O3_1H;
		break;
	case IND_PM25_1H:
	case IND_PM25_24H:
		t = US_PM25;
		break;
	case IND_PM10_1H:
	case IND_PM10_24H:
		t = US_PM10;
		break;
	case IND_SO2_1H:
		t = US_SO2_1H;
		break;
	case IND_SO2_24H:
		t = US_SO2_24H;
		break;
	case IND_NO2_1H:
		t = US_NO2;
		break;
	default:
		/* co_8h: the only other indicator a US report reads. */
		t = US_CO;
		break;
	}
	return t;
}

/*
 * TAD 2024 s IV step 1: convert rounding down, then truncate.  Both are
 * floors on integers, so the result is the exact value truncated.
 */
static int
us_value(const struct us_tab *t, enum pol p, int64_t v, enum unit from,
    int64_t *out, bool *converted)
{
	int64_t c = 0;
	int rc;

	*converted = from != t->unit;
	if ((rc = pol_convert(p, v, from, t->unit, true, &c)) == AQ_OK)
		*out = fix_floor(c, fix_step(t->digits));
	return rc;
}

/*
 * Equation 1 rounded half up, on the row holding c.  Truncation puts every
 * value inside a row, since the gaps between rows are one truncation step.
 * Above the top row the value is extrapolated (D4) or capped.
 */
static int
us_iaqi_of(
    const struct us_tab *t, int64_t c, bool cap, int *iaqi, uint32_t *notes)
{
	const struct us_row *row;
	int64_t q = 0;
	int k = 0, rc = AQ_OK;

	while (k < t->n - 1 && c > t->row[k].hi * MILLI)
		k++;
	row = &t->row[k];
	if (c > row->hi * MILLI) {
		*notes |= cap ? AQI_NOTE_US_CAPPED : AQI_NOTE_US_EXTRAPOLATED;
		if (cap) {
			*iaqi = 500;
			goto out;
		}
	}
	rc = fix_muldiv_round(row->ihi - row->ilo, c - row->lo * MILLI,
	    (row->hi - row->lo) * MILLI, &q);
	if (rc == AQ_OK && q > INT_MAX - row->ilo)
		rc = AQ_ERR_RANGE;
	if (rc == AQ_OK)
		*iaqi = row->ilo + (int)q;
out:
	return rc;
}

static int
us_indicator(const struct aqi_opts *opts, const struct aqi_input *in,
    enum ind i, struct aqi_result *r)
{
	const struct us_tab *t = &us_tabs[us_table(i)];
	bool converted = false;
	int64_t c = 0;
	int iaqi = -1, rc;

	if ((rc = us_value(t, ind_pol(i), in->v[i], in->unit[i], &c,
		 &converted)) != AQ_OK)
		goto out;
	/* D6 and TAD note 2: blank cells of the O3 columns. */
	if (i == IND_O3_1H && c < t->row[0].lo * MILLI)
		r->notes |= AQI_NOTE_US_O3_1H_LOW;
	else if (i == IND_O3_8H && c > t->row[t->n - 1].hi * MILLI)
		r->notes |= AQI_NOTE_US_O3_8H_HIGH;
	else if ((rc = us_iaqi_of(t, c, opts->cap, &iaqi, &r->notes)) != AQ_OK)
		goto out;
	r->value[i] = c;
	r->iaqi[i] = iaqi;
	if (converted)
		r->converted |= IND_BIT(i);
out:
	return rc;
}

/*
 * SO2, TAD 2024 s IV (STANDARDS.md 4.3).  A 24-hour mean >= 305 ppb is
 * read against the 24-hour rows whatever the 1-hour value: those rows
 * start above everything the 1-hour rows can give.
 */
static int
us_so2(const struct aqi_opts *opts, const struct aqi_input *in,
    struct aqi_result *r)
{
	const struct us_tab *t1 = &us_tabs[US_SO2_1H];
	const struct us_tab *t24 = &us_tabs[US_SO2_24H];
	int64_t limit = t24->row[0].lo * MILLI, c1 = 0, c24 = 0;
	bool has1 = (in->has & B(SO2_1H)) != 0;
	bool has24 = (in->has & B(SO2_24H)) != 0, conv = false;
	int rc = AQ_OK;

	if (has1) {
		if ((rc = us_value(t1, POL_SO2, in->v[IND_SO2_1H],
			 in->unit[IND_SO2_1H], &c1, &conv)) != AQ_OK)
			goto out;
		r->value[IND_SO2_1H] = c1;
		if (conv)
			r->converted |= B(SO2_1H);
	}
	if (has24) {
		if ((rc = us_value(t24, POL_SO2, in->v[IND_SO2_24H],
			 in->unit[IND_SO2_24H], &c24, &conv)) != AQ_OK)
			goto out;
		r->value[IND_SO2_24H] = c24;
		if (conv)
			r->converted |= B(SO2_24H);
	}
	if (has24 && c24 >= limit) {
		rc = us_iaqi_of(
		    t24, c24, opts->cap, &r->iaqi[IND_SO2_24H], &r->notes);
		r->notes |= AQI_NOTE_SO2_FROM_24H;
	} else if (has1 && c1 >= limit) {
		r->iaqi[IND_SO2_1H] = 200;
		r->notes |= AQI_NOTE_US_SO2_AS_200;
	} else if (has1) {
		rc = us_iaqi_of(
		    t1, c1, opts->cap, &r->iaqi[IND_SO2_1H], &r->notes);
	} else if (has24) {
		r->notes |= AQI_NOTE_US_SO2_24H_ONLY;
	}
out:
	return rc;
}

static int
us_compute(const struct aqi_opts *opts, const struct aqi_input *in,
    struct aqi_result *r)
{
	uint32_t todo = r->used & in->has & ~(B(SO2_1H) | B(SO2_24H));
	int rc = AQ_OK;

	for (int i = 0; i < IND_AQI_COUNT && rc == AQ_OK; i++)
		if ((todo & IND_BIT(i)) != 0)
			rc = us_indicator(opts, in, (enum ind)i, r);
	if (rc == AQ_OK)
		rc = us_so2(opts, in, r);
	return rc;
}

/* The bands are the same in both systems: 0-50, ..., 201-300, above. */
int
aqi_level(enum aqi_std std, int aqi)
{
	static const int top[5] = {50, 100, 150, 200, 300};
	int level = 0;

	if ((unsigned)std < AQI_STD_COUNT && aqi >= 0)
		for (level = 1; level < 6 && aqi > top[level - 1]; level++)
			continue;
	return level;
}

/* The text tables take NULL for an unknown standard or level 0 (NA). */
static const char *
level_text(
    enum aqi_std std, int level, const char *const *cn, const char *const *us)
{
	const char *text = NULL;

	if ((unsigned)std < AQI_STD_COUNT && level >= 1 && level <= 6)
		text = std == AQI_EPA_2024 ? us[level - 1] : cn[level - 1];
	return text;
}

const char *
aqi_category(enum aqi_std std, int level)
{
	return level_text(std, level, cn_category, us_category);
}

const char *
aqi_category_en(enum aqi_std std, int level)
{
	return level_text(std, level, cn_category_en, us_category_en);
}

const char *
aqi_color(enum aqi_std std, int level)
{
	return level_text(std, level, cn_color, us_color);
}

const char *
aqi_std_name(enum aqi_std std)
{
	return (unsigned)std < AQI_STD_COUNT ? std_names[std] : NULL;
}

int
aqi_std_from_name(const char *s)
{
	int found = -1;

	for (int i = 0; s != NULL && i < AQI_STD_COUNT && found < 0; i++)
		if (strcmp(s, std_names[i]) == 0)
			found = i;
	return found;
}

const char *
aqi_note_text(uint32_t note)
{
	const char *text = NULL;
	int bit = 0;

	/* Exactly one bit, and a known one. */
	if (note != 0 && (note & (note - 1)) == 0) {
		while ((note >> bit) != 1)
			bit++;
		if (bit < AQI_NOTE_COUNT_)
			text = note_text[bit];
	}
	return text;
}

static void
big_set(struct big *b, uint64_t v)
{
	memset(b, 0, sizeof(*b));
	b->l[0] = v;
}

/* b *= m; the callers' bounds (BIG_LIMBS) keep the product in range. */
static void
big_mul(struct big *b, uint64_t m)
{
	uint64_t carry = 0;

	for (int k = 0; k < BIG_LIMBS; k++) {
		aqi_u128 p = (aqi_u128)b->l[k] * m + carry;

		b->l[k] = (uint64_t)p;
		carry = (uint64_t)(p >> 64);
	}
}

/* acc += x * m. */
static void
big_addmul(struct big *acc, const struct big *x, uint64_t m)
{
	uint64_t carry = 0;

	for (int k = 0; k < BIG_LIMBS; k++) {
		aqi_u128 p = (aqi_u128)x->l[k] * m + acc->l[k] + carry;

		acc->l[k] = (uint64_t)p;
		carry = (uint64_t)(p >> 64);
	}
}

static int
big_cmp(const struct big *a, const struct big *b)
{
	int k = BIG_LIMBS - 1;

	while (k > 0 && a->l[k] == b->l[k])
		k--;
	return a->l[k] < b->l[k] ? -1 : a->l[k] > b->l[k];
}

/*
 * Whether the NowCast sum(w^k c_k) / sum(w^k) is at least x, exactly.
 * With w = a/b and the weights scaled by b^(n-1), wt[k] = a^k b^(n-1-k),
 * this is sum over present hours of wt[k] (c_k - x) >= 0, whose positive
 * and negative parts are compared as big integers.
 */
static bool
nc_at_least(const struct big *wt, const int64_t *c, const bool *present, int n,
    int64_t x)
{
	struct big pos, neg;

	big_set(&pos, 0);
	big_set(&neg, 0);
	for (int k = 0; k < n; k++) {
		if (!present[k])
			continue;
		if (c[k] >= x)
			big_addmul(&pos, &wt[k], (uint64_t)(c[k] - x));
		else
			big_addmul(&neg, &wt[k], (uint64_t)(x - c[k]));
	}
	return big_cmp(&pos, &neg) >= 0;
}

/*
 * NowCast (STANDARDS.md 4.5, D7).  w = cmin/cmax = a/b over the present
 * hours; a missing hour drops out of both sums and the others keep their
 * exponent.  When cmin = 0 with O3's zero minimum weight, w = 0 leaves
 * only the most recent present hour: that is c[0] as D7 says, and when
 * c[0] is missing it is the limit of the NowCast as w falls to 0 (the 2-of-3
 * rule then guarantees c[1]).  long double gives a first estimate of the
 * truncated value; nc_at_least() then moves it to the exact answer, so
 * twelve hours of 35.5 give 35.5 and not 35.4.
 */
int
aqi_nowcast(
    enum pol p, const int64_t *c, const bool *present, int n, int64_t *out)
{
	struct big wt[NC_PM_HOURS];
	int64_t cmin = -1, cmax = -1, a, b, step, t;
	long double w, wk = 1, num = 0, den = 0;
	int hours, recent = 0, first = -1, rc = AQ_ERR_INVAL;

	if (p != POL_PM25 && p != POL_PM10 && p != POL_O3)
		goto out;
	if (c == NULL || present == NULL || n < 0 || n > NC_PM_HOURS)
		goto out;
	hours = p == POL_O3 ? NC_O3_HOURS : NC_PM_HOURS;
	if (n < hours)
		hours = n;
	step = fix_step(p == POL_PM25 ? 1 : p == POL_PM10 ? 0 : 3);
	rc = AQ_ERR_RANGE;
	for (int k = 0; k < hours; k++) {
		if (!present[k])
			continue;
		if (c[k] < 0 || c[k] > FIX_MAX)
			goto out;
		if (k < 3)
			recent++;
		if (first < 0)
			first = k;
		if (cmin < 0 || c[k] < cmin)
			cmin = c[k];
		if (c[k] > cmax)
			cmax = c[k];
	}
	if (recent < 2)
		goto out;
	rc = AQ_OK;
	if (cmax == 0) {
		/* All zero: w = 1, and the mean is 0. */
		a = b = 1;
	} else if (p != POL_O3 && 2 * cmin < cmax) {
		/* PM's minimum weight 0.5. */
		a = 1;
		b = 2;
	} else {
		a = cmin;
		b = cmax;
	}
	if (a == 0) {
		*out = fix_floor(c[first], step);
		goto out;
	}
	w = (long double)a / (long double)b;
	for (int k = 0; k < hours; k++) {
		if (present[k]) {
			num += wk * (long double)c[k];
			den += wk;
		}
		wk *= w;
	}
	for (int k = 0; k < hours; k++) {
		big_set(&wt[k], 1);
		for (int j = 0; j < hours - 1; j++)
			big_mul(&wt[k], (uint64_t)(j < k ? a : b));
	}
	t = fix_floor((int64_t)(num / den), step);
	while (t > 0 && !nc_at_least(wt, c, present, hours, t))
		t -= step;
	while (nc_at_least(wt, c, present, hours, t + step))
		t += step;
	*out = t;
out:
	return rc;
}
