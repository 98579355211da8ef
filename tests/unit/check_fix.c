/* check_fix: exact decimals (fix) and unit conversions (pol). */
#include "daemon/fix.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "daemon/pol.h"

static const struct {
	const char *in;
	int rc;
	int64_t v;
	const char *out; /* fix_format of v */
} parse_cases[] = {
    {"35", AQ_OK, 35000000000, "35"},
    {"35.01", AQ_OK, 35010000000, "35.01"},
    {"-0.5", AQ_OK, -500000000, "-0.5"},
    {"+2.2", AQ_OK, 2200000000, "2.2"},
    {".5", AQ_OK, 500000000, "0.5"},
    {"7.", AQ_OK, 7000000000, "7"},
    {"0.000000001", AQ_OK, 1, "0.000000001"},
    /* Past nine decimals: half to even, then anything beyond is sticky. */
    {"0.0000000005", AQ_OK, 0, "0"},
    {"0.0000000015", AQ_OK, 2, "0.000000002"},
    {"0.00000000050001", AQ_OK, 1, "0.000000001"},
    {"000012.50", AQ_OK, 12500000000, "12.5"},
    {"1000000000", AQ_OK, 1000000000000000000, "1000000000"},
    {"1000000001", AQ_ERR_RANGE, 0, NULL},
    {"1234567890123456789", AQ_ERR_RANGE, 0, NULL},
    {"", AQ_ERR_INVAL, 0, NULL},
    {"-", AQ_ERR_INVAL, 0, NULL},
    {".", AQ_ERR_INVAL, 0, NULL},
    {"abc", AQ_ERR_INVAL, 0, NULL},
};

START_TEST(parse_and_format)
{
	int64_t v = -1;
	char buf[FIX_STR_MAX];
	int rc = fix_parse(parse_cases[_i].in, NULL, &v);

	ck_assert_msg(
	    rc == parse_cases[_i].rc, "%s: rc %d", parse_cases[_i].in, rc);
	if (rc != AQ_OK)
		return;
	ck_assert_int_eq(v, parse_cases[_i].v);
	ck_assert_str_eq(fix_format(v, buf, sizeof(buf)), parse_cases[_i].out);
}
END_TEST

START_TEST(parse_end)
{
	const char *end = NULL;
	int64_t v;

	ck_assert_int_eq(fix_parse("0.071ppm", &end, &v), AQ_OK);
	ck_assert_int_eq(v, 71000000);
	ck_assert_str_eq(end, "ppm");
}
END_TEST

START_TEST(doubles)
{
	int64_t v;

	ck_assert_int_eq(fix_from_double(35.01, &v), AQ_OK);
	ck_assert_int_eq(v, 35010000000);
	ck_assert_int_eq(fix_from_double(2.2, &v), AQ_OK);
	ck_assert_int_eq(v, 2200000000);
	ck_assert_int_eq(fix_from_double(NAN, &v), AQ_ERR_RANGE);
	ck_assert_int_eq(fix_from_double(INFINITY, &v), AQ_ERR_RANGE);
	ck_assert_int_eq(fix_from_double(2e9, &v), AQ_ERR_RANGE);
	ck_assert(fix_to_double(-1500000000) == -1.5);
}
END_TEST

START_TEST(rounding)
{
	int64_t one = fix_step(0), tenth = fix_step(1);

	ck_assert_int_eq(tenth, 100000000);
	/* GB/T 8170: an exact half goes to the even digit. */
	ck_assert_int_eq(fix_round_half_even(34500000000, one), 34 * one);
	ck_assert_int_eq(fix_round_half_even(35500000000, one), 36 * one);
	ck_assert_int_eq(fix_round_half_even(34510000000, one), 35 * one);
	ck_assert_int_eq(fix_round_half_even(34499999999, one), 34 * one);
	ck_assert_int_eq(fix_round_half_even(250000000, tenth), 2 * tenth);
	ck_assert_int_eq(fix_round_half_even(350000000, tenth), 4 * tenth);
	ck_assert_int_eq(fix_floor(29000000, fix_step(3)), 29000000);
	ck_assert_int_eq(fix_floor(35490000000, tenth), 354 * tenth);
	ck_assert_int_eq(fix_floor(-1, one), -one);
}
END_TEST

START_TEST(muldiv)
{
	int64_t v;

	ck_assert_int_eq(fix_muldiv_floor(INT64_MAX / 2, 4, 4, &v), AQ_OK);
	ck_assert_int_eq(v, INT64_MAX / 2);
	ck_assert_int_eq(fix_muldiv_floor(-7, 1, 2, &v), AQ_OK);
	ck_assert_int_eq(v, -4);
	ck_assert_int_eq(fix_muldiv_round(7, 1, 2, &v), AQ_OK);
	ck_assert_int_eq(v, 4);
	ck_assert_int_eq(fix_muldiv_round(-7, 1, 2, &v), AQ_OK);
	ck_assert_int_eq(v, -4);
	ck_assert_int_eq(fix_muldiv_floor(INT64_MAX, 3, 1, &v), AQ_ERR_RANGE);
}
END_TEST

START_TEST(conversions)
{
	int64_t v;

	/* 1 ppb SO2 = 64.066 / 24.465 ug/m3 = 2.6186797466... */
	ck_assert_int_eq(
	    pol_convert(POL_SO2, FIX_ONE, UNIT_PPB, UNIT_UGM3, false, &v),
	    AQ_OK);
	ck_assert_int_eq(v, 2618679747);
	ck_assert_int_eq(
	    pol_convert(POL_SO2, FIX_ONE, UNIT_PPB, UNIT_UGM3, true, &v),
	    AQ_OK);
	ck_assert_int_eq(v, 2618679746);
	/* 100 ug/m3 NO2 = 100 * 24.465 / 46.0055 ppb = 53.178424... */
	ck_assert_int_eq(
	    pol_convert(POL_NO2, 100 * FIX_ONE, UNIT_UGM3, UNIT_PPB, true, &v),
	    AQ_OK);
	ck_assert_int_eq(v, 53178424318);
	/* 1 mg/m3 CO = 24.465 / 28.010 ppm = 0.873438057... */
	ck_assert_int_eq(
	    pol_convert(POL_CO, FIX_ONE, UNIT_MGM3, UNIT_PPM, false, &v),
	    AQ_OK);
	ck_assert_int_eq(v, 873438058);
	/* 0.071 ppm O3 in ug/m3: 71 * 47.997 / 24.465 = 139.29233599 */
	ck_assert_int_eq(
	    pol_convert(POL_O3, 71000000, UNIT_PPM, UNIT_UGM3, false, &v),
	    AQ_OK);
	ck_assert_int_eq(v, 139292335990);
	ck_assert_int_eq(
	    pol_convert(POL_CO, 1500000000, UNIT_MGM3, UNIT_UGM3, false, &v),
	    AQ_OK);
	ck_assert_int_eq(v, 1500 * FIX_ONE);
	ck_assert_int_eq(
	    pol_convert(POL_PM25, FIX_ONE, UNIT_UGM3, UNIT_PPB, false, &v),
	    AQ_ERR_INVAL);
	ck_assert_int_eq(
	    pol_convert(POL_PM25, FIX_ONE, UNIT_PPB, UNIT_PPM, false, &v),
	    AQ_ERR_INVAL);
	ck_assert_int_eq(
	    pol_convert(POL_PM10, FIX_ONE, UNIT_PPB, UNIT_PPB, false, &v),
	    AQ_ERR_INVAL);
	ck_assert_int_eq(
	    pol_convert(POL_PM25, 7, UNIT_UGM3, UNIT_UGM3, false, &v), AQ_OK);
	ck_assert_int_eq(v, 7);
}
END_TEST

START_TEST(names)
{
	ck_assert_int_eq(ind_from_name("o3_8h"), IND_O3_8H);
	ck_assert_int_eq(ind_from_name("o3_8"), -1);
	ck_assert_str_eq(ind_name(IND_NO2_ANNUAL), "no2_annual");
	ck_assert_int_eq(ind_pol(IND_CO_8H), POL_CO);
	ck_assert_int_eq(pol_from_name("pm10"), POL_PM10);
	ck_assert_int_eq(unit_from_name("mg/m3"), UNIT_MGM3);
	ck_assert_int_eq(unit_from_name("mg"), -1);
	ck_assert_int_eq(pol_unit(POL_CO), UNIT_MGM3);
	ck_assert(!pol_is_gas(POL_PM25));
	for (int i = 0; i < IND_COUNT; i++)
		ck_assert_int_eq(ind_from_name(ind_name(i)), i);
}
END_TEST

static Suite *
fix_suite(void)
{
	Suite *s = suite_create("fix");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, parse_and_format, 0,
	    sizeof(parse_cases) / sizeof(parse_cases[0]));
	tcase_add_test(tc, parse_end);
	tcase_add_test(tc, doubles);
	tcase_add_test(tc, rounding);
	tcase_add_test(tc, muldiv);
	tcase_add_test(tc, conversions);
	tcase_add_test(tc, names);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(fix_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
