/*
 * check_limits: GB 3095 limits and exceedance.  The expected limits are
 * copied by hand from STANDARDS.md section 3, table 1, not from limits.c,
 * so a typo in either table shows up here.
 */
#include <check.h>
#include <stdlib.h>

#include "daemon/fix.h"
#include "daemon/limits.h"

enum set { T26, F26, E12 };

struct cell {
	enum set set;
	enum ind ind;
	int g1, g2; /* whole canonical units; 0 when there is no limit */
};

struct ppb_case {
	enum limits_ed ed;
	int32_t date;
	int grade;
	enum ind ind;
	const char *value;
	enum unit unit;
	bool exceeds;
};

static void fill_one(struct aqi_input *in, enum ind i, int64_t v, enum unit u);
static uint32_t exceeds(
    enum limits_ed ed, int grade, int32_t date, const struct aqi_input *in);
static int64_t fix(const char *s);
static enum limits_ed set_ed(enum set s);
static Suite *limits_suite(void);

/* Table 1, every row and both grades; the indicators without a limit are
 * listed too so that their absence is checked. */
static const struct cell cells[] = {
    {T26, IND_PM25_1H, 0, 0},
    {T26, IND_PM25_24H, 35, 60},
    {T26, IND_PM10_1H, 0, 0},
    {T26, IND_PM10_24H, 50, 120},
    {T26, IND_SO2_1H, 150, 500},
    {T26, IND_SO2_24H, 50, 150},
    {T26, IND_NO2_1H, 200, 200},
    {T26, IND_NO2_24H, 80, 80},
    {T26, IND_CO_1H, 10, 10},
    {T26, IND_CO_8H, 0, 0},
    {T26, IND_CO_24H, 4, 4},
    {T26, IND_O3_1H, 160, 200},
    {T26, IND_O3_8H, 100, 160},
    {T26, IND_PM25_ANNUAL, 15, 30},
    {T26, IND_PM10_ANNUAL, 40, 60},
    {T26, IND_SO2_ANNUAL, 20, 60},
    {T26, IND_NO2_ANNUAL, 40, 40},

    {F26, IND_PM25_1H, 0, 0},
    {F26, IND_PM25_24H, 25, 50},
    {F26, IND_PM10_1H, 0, 0},
    {F26, IND_PM10_24H, 50, 100},
    {F26, IND_SO2_1H, 150, 150},
    {F26, IND_SO2_24H, 50, 50},
    {F26, IND_NO2_1H, 200, 200},
    {F26, IND_NO2_24H, 50, 50},
    {F26, IND_CO_1H, 10, 10},
    {F26, IND_CO_8H, 0, 0},
    {F26, IND_CO_24H, 4, 4},
    {F26, IND_O3_1H, 160, 200},
    {F26, IND_O3_8H, 100, 160},
    {F26, IND_PM25_ANNUAL, 10, 25},
    {F26, IND_PM10_ANNUAL, 20, 50},
    {F26, IND_SO2_ANNUAL, 20, 20},
    {F26, IND_NO2_ANNUAL, 30, 30},

    {E12, IND_PM25_1H, 0, 0},
    {E12, IND_PM25_24H, 35, 75},
    {E12, IND_PM10_1H, 0, 0},
    {E12, IND_PM10_24H, 50, 150},
    {E12, IND_SO2_1H, 150, 500},
    {E12, IND_SO2_24H, 50, 150},
    {E12, IND_NO2_1H, 200, 200},
    {E12, IND_NO2_24H, 80, 80},
    {E12, IND_CO_1H, 10, 10},
    {E12, IND_CO_8H, 0, 0},
    {E12, IND_CO_24H, 4, 4},
    {E12, IND_O3_1H, 160, 200},
    {E12, IND_O3_8H, 100, 160},
    {E12, IND_PM25_ANNUAL, 15, 35},
    {E12, IND_PM10_ANNUAL, 40, 70},
    {E12, IND_SO2_ANNUAL, 20, 60},
    {E12, IND_NO2_ANNUAL, 40, 40},
};
#define NCELLS ((int)(sizeof(cells) / sizeof(cells[0])))

/* Dates that select each set: the transition set covers dates before
 * 2026 too, and the 2012 edition ignores the date. */
static const int32_t set_dates[3][4] = {
    [T26] = {20200101, 20260301, 20261129, 20301231},
    [F26] = {20310101, 20310615, 20991231, 20310101},
    [E12] = {20120101, 20261129, 20301231, 20310101},
};

/*
 * Mixing ratios near a limit, worked out by hand with STANDARDS.md
 * section 6 (ug/m3 = ppb * M / 24.465):
 *   NO2 106 ppb = 199.33 ug/m3, 107 ppb = 201.21 (limit 200)
 *   O3 0.0815 ppm = 159.89 ug/m3, 0.0816 ppm = 160.09 (grade II 8 h 160)
 *   CO 3.49 ppm = 3.9957 mg/m3, 3.50 ppm = 4.0072 (daily 4)
 *   SO2 57 ppb = 149.26 ug/m3, 58 ppb = 151.88 (transition daily 150);
 *     19 ppb = 49.75, 20 ppb = 52.37 (final daily 50)
 * and mass units other than the canonical one, which convert exactly.
 */
static const struct ppb_case ppb_cases[] = {
    {LIMITS_GB3095_2026, 20261129, 2, IND_NO2_1H, "106", UNIT_PPB, false},
    {LIMITS_GB3095_2026, 20261129, 2, IND_NO2_1H, "107", UNIT_PPB, true},
    {LIMITS_GB3095_2026, 20261129, 2, IND_O3_8H, "0.0815", UNIT_PPM, false},
    {LIMITS_GB3095_2026, 20261129, 2, IND_O3_8H, "0.0816", UNIT_PPM, true},
    {LIMITS_GB3095_2026, 20261129, 1, IND_O3_8H, "0.0815", UNIT_PPM, true},
    {LIMITS_GB3095_2012, 20150101, 2, IND_CO_24H, "3.49", UNIT_PPM, false},
    {LIMITS_GB3095_2012, 20150101, 2, IND_CO_24H, "3.50", UNIT_PPM, true},
    {LIMITS_GB3095_2012, 20150101, 2, IND_CO_24H, "3490", UNIT_PPB, false},
    {LIMITS_GB3095_2026, 20301231, 2, IND_SO2_24H, "57", UNIT_PPB, false},
    {LIMITS_GB3095_2026, 20301231, 2, IND_SO2_24H, "58", UNIT_PPB, true},
    {LIMITS_GB3095_2026, 20310101, 2, IND_SO2_24H, "19", UNIT_PPB, false},
    {LIMITS_GB3095_2026, 20310101, 2, IND_SO2_24H, "20", UNIT_PPB, true},
    {LIMITS_GB3095_2026, 20310101, 2, IND_SO2_24H, "0.019", UNIT_PPM, false},
    {LIMITS_GB3095_2026, 20261129, 2, IND_PM25_24H, "0.06", UNIT_MGM3, false},
    {LIMITS_GB3095_2026, 20261129, 2, IND_PM25_24H, "0.060000001", UNIT_MGM3,
	true},
    {LIMITS_GB3095_2026, 20261129, 2, IND_CO_1H, "10000", UNIT_UGM3, false},
    {LIMITS_GB3095_2026, 20261129, 2, IND_CO_1H, "10000.001", UNIT_UGM3, true},
};
#define NPPB ((int)(sizeof(ppb_cases) / sizeof(ppb_cases[0])))

static void
fill_one(struct aqi_input *in, enum ind i, int64_t v, enum unit u)
{
	in->has |= IND_BIT(i);
	in->v[i] = v;
	in->unit[i] = u;
}

static uint32_t
exceeds(enum limits_ed ed, int grade, int32_t date, const struct aqi_input *in)
{
	struct limits_opts o = {.ed = ed, .grade = grade};
	uint32_t bits = 0xdeadbeef;

	ck_assert_int_eq(limits_exceeds(&o, date, in, &bits), AQ_OK);
	return bits;
}

static int64_t
fix(const char *s)
{
	int64_t v = 0;

	ck_assert_int_eq(fix_parse(s, NULL, &v), AQ_OK);
	return v;
}

static enum limits_ed
set_ed(enum set s)
{
	return s == E12 ? LIMITS_GB3095_2012 : LIMITS_GB3095_2026;
}

START_TEST(test_cell_values)
{
	const struct cell *c = &cells[_i];

	for (int d = 0; d < 4; d++) {
		int32_t date = set_dates[c->set][d];

		for (int g = 1; g <= 2; g++) {
			struct limits_opts o = {set_ed(c->set), g};
			int want = g == 1 ? c->g1 : c->g2;
			int64_t got = -7;
			bool has = limits_get(&o, date, c->ind, &got);

			ck_assert_msg(has == (want != 0),
			    "%s grade %d on %d: has %d", ind_name(c->ind), g,
			    (int)date, (int)has);
			if (want != 0)
				ck_assert_msg(got == want * FIX_ONE,
				    "%s grade %d on %d: limit %lld, want %d",
				    ind_name(c->ind), g, (int)date,
				    (long long)got, want);
			else
				ck_assert_int_eq(got, -7);
		}
	}
}
END_TEST

START_TEST(test_cell_boundary)
{
	const struct cell *c = &cells[_i];
	enum unit u = pol_unit(ind_pol(c->ind));

	for (int d = 0; d < 4; d++) {
		int32_t date = set_dates[c->set][d];

		for (int g = 1; g <= 2; g++) {
			int want = g == 1 ? c->g1 : c->g2;
			/* With no limit, test a huge value: it never exceeds.
			 */
			int64_t lim = want != 0 ? want * FIX_ONE : FIX_MAX / 2;
			struct aqi_input in = {0};
			uint32_t bit = want != 0 ? IND_BIT(c->ind) : 0;

			fill_one(&in, c->ind, lim, u);
			ck_assert_msg(
			    exceeds(set_ed(c->set), g, date, &in) == 0,
			    "%s grade %d on %d: equal must comply",
			    ind_name(c->ind), g, (int)date);
			in.v[c->ind] = lim + 1;
			ck_assert_msg(
			    exceeds(set_ed(c->set), g, date, &in) == bit,
			    "%s grade %d on %d: 1e-9 above", ind_name(c->ind),
			    g, (int)date);
			in.v[c->ind] = lim - 1;
			ck_assert_uint_eq(
			    exceeds(set_ed(c->set), g, date, &in), 0);
		}
	}
}
END_TEST

/* All indicators at once: each is judged on its own. */
START_TEST(test_all_at_once)
{
	struct aqi_input in = {0};
	uint32_t want = 0;

	for (int k = 0; k < NCELLS; k++) {
		const struct cell *c = &cells[k];

		if (c->set != F26)
			continue;
		fill_one(&in, c->ind, c->g2 * FIX_ONE + 1,
		    pol_unit(ind_pol(c->ind)));
		if (c->g2 != 0)
			want |= IND_BIT(c->ind);
	}
	/* pm25_1h, pm10_1h, co_8h at 1e-9: no limit, never listed. */
	ck_assert_uint_eq(exceeds(LIMITS_GB3095_2026, 2, 20310101, &in), want);
	for (int i = 0; i < IND_COUNT; i++)
		in.v[i] -= 1;
	ck_assert_uint_eq(exceeds(LIMITS_GB3095_2026, 2, 20310101, &in), 0);
}
END_TEST

START_TEST(test_switch_date)
{
	struct aqi_input in = {0};

	/* PM2.5 daily, grade II: 60 to 2030-12-31, 50 from 2031-01-01. */
	fill_one(&in, IND_PM25_24H, 55 * FIX_ONE, UNIT_UGM3);
	ck_assert_uint_eq(exceeds(LIMITS_GB3095_2026, 2, 20301231, &in), 0);
	ck_assert_uint_eq(exceeds(LIMITS_GB3095_2026, 2, 20310101, &in),
	    IND_BIT(IND_PM25_24H));
	ck_assert_uint_eq(exceeds(LIMITS_GB3095_2012, 2, 20310101, &in), 0);
	/* Before 2026 the 2026 edition still uses its transition set. */
	ck_assert_uint_eq(exceeds(LIMITS_GB3095_2026, 2, 20251231, &in), 0);
	in.v[IND_PM25_24H] = 61 * FIX_ONE;
	ck_assert_uint_eq(exceeds(LIMITS_GB3095_2026, 2, 20251231, &in),
	    IND_BIT(IND_PM25_24H));
	ck_assert_uint_eq(exceeds(LIMITS_GB3095_2012, 2, 20251231, &in), 0);

	/* NO2 daily 80 then 50, the same for both grades. */
	in = (struct aqi_input){0};
	fill_one(&in, IND_NO2_24H, 60 * FIX_ONE, UNIT_UGM3);
	for (int g = 1; g <= 2; g++) {
		ck_assert_uint_eq(
		    exceeds(LIMITS_GB3095_2026, g, 20301231, &in), 0);
		ck_assert_uint_eq(exceeds(LIMITS_GB3095_2026, g, 20310101, &in),
		    IND_BIT(IND_NO2_24H));
	}
}
END_TEST

START_TEST(test_units)
{
	const struct ppb_case *c = &ppb_cases[_i];
	struct aqi_input in = {0};

	fill_one(&in, c->ind, fix(c->value), c->unit);
	ck_assert_msg(exceeds(c->ed, c->grade, c->date, &in) ==
		(c->exceeds ? IND_BIT(c->ind) : 0),
	    "%s=%s%s grade %d on %d", ind_name(c->ind), c->value,
	    unit_name(c->unit), c->grade, (int)c->date);
}
END_TEST

START_TEST(test_errors)
{
	struct limits_opts o = {LIMITS_GB3095_2026, 2};
	struct aqi_input in = {0};
	uint32_t bits = 0xdeadbeef;
	int64_t v = -7;

	/* A mixing ratio of particulate matter means nothing. */
	fill_one(&in, IND_PM25_24H, 5 * FIX_ONE, UNIT_PPB);
	ck_assert_int_eq(
	    limits_exceeds(&o, 20261129, &in, &bits), AQ_ERR_INVAL);
	ck_assert_uint_eq(bits, 0xdeadbeef);

	/* The same without a limit: bad input is bad input. */
	in = (struct aqi_input){0};
	fill_one(&in, IND_PM25_1H, 5 * FIX_ONE, UNIT_PPM);
	ck_assert_int_eq(
	    limits_exceeds(&o, 20261129, &in, &bits), AQ_ERR_INVAL);
	ck_assert_uint_eq(bits, 0xdeadbeef);

	in = (struct aqi_input){0};
	fill_one(&in, IND_CO_8H, -1, UNIT_MGM3);
	ck_assert_int_eq(
	    limits_exceeds(&o, 20261129, &in, &bits), AQ_ERR_RANGE);
	ck_assert_uint_eq(bits, 0xdeadbeef);

	in = (struct aqi_input){0};
	fill_one(&in, IND_SO2_1H, -1, UNIT_UGM3);
	ck_assert_int_eq(
	    limits_exceeds(&o, 20261129, &in, &bits), AQ_ERR_RANGE);
	ck_assert_uint_eq(bits, 0xdeadbeef);

	/* 1e9 ppm of SO2 is past int64_t in fix ug/m3. */
	in = (struct aqi_input){0};
	fill_one(&in, IND_SO2_1H, FIX_MAX, UNIT_PPM);
	ck_assert_int_eq(
	    limits_exceeds(&o, 20261129, &in, &bits), AQ_ERR_RANGE);
	ck_assert_uint_eq(bits, 0xdeadbeef);

	/* Grade 3 does not exist. */
	o.grade = 3;
	in = (struct aqi_input){0};
	fill_one(&in, IND_SO2_1H, FIX_ONE, UNIT_UGM3);
	ck_assert_int_eq(
	    limits_exceeds(&o, 20261129, &in, &bits), AQ_ERR_INVAL);
	ck_assert(!limits_get(&o, 20261129, IND_SO2_1H, &v));
	o.grade = 0;
	ck_assert(!limits_get(&o, 20261129, IND_SO2_1H, &v));
	ck_assert_int_eq(v, -7);
	ck_assert_uint_eq(bits, 0xdeadbeef);
}
END_TEST

START_TEST(test_empty_input)
{
	struct aqi_input in = {0};

	ck_assert_uint_eq(exceeds(LIMITS_GB3095_2026, 1, 20261129, &in), 0);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_str_eq(limits_ed_name(LIMITS_GB3095_2026), "gb3095-2026");
	ck_assert_str_eq(limits_ed_name(LIMITS_GB3095_2012), "gb3095-2012");
	ck_assert_int_eq(
	    limits_ed_from_name("gb3095-2026"), LIMITS_GB3095_2026);
	ck_assert_int_eq(
	    limits_ed_from_name("gb3095-2012"), LIMITS_GB3095_2012);
	ck_assert_int_eq(limits_ed_from_name("GB3095-2012"), -1);
	ck_assert_int_eq(limits_ed_from_name("gb3095"), -1);
	ck_assert_int_eq(limits_ed_from_name(""), -1);
}
END_TEST

static Suite *
limits_suite(void)
{
	Suite *s = suite_create("limits");
	TCase *tc = tcase_create("limits");

	tcase_add_loop_test(tc, test_cell_values, 0, NCELLS);
	tcase_add_loop_test(tc, test_cell_boundary, 0, NCELLS);
	tcase_add_test(tc, test_all_at_once);
	tcase_add_test(tc, test_switch_date);
	tcase_add_loop_test(tc, test_units, 0, NPPB);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_empty_input);
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(limits_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
