/* check_qc: range and clock checks at their boundaries, from tables. */
#include "sensors/qc.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NOW INT64_C(1795932000) /* 2026-11-29T14:00:00+08:00 */
#define KEEP REASON_COUNT       /* the value passes */

static void reading(struct decoded *r, int64_t ts);
static Suite *qc_suite(void);

/*
 * One value of one pollutant, alone in its reading or beside a good PM10
 * value (with_good): the value passes (KEEP) or is dropped for a reason;
 * alone, a dropped value takes the reading with it, for that reason.
 */
static const struct {
	enum pol p;
	double v;
	bool with_good;
	enum reason want;
} value_cases[] = {
    {POL_PM25, 0, false, KEEP},
    {POL_PM25, -0.0, false, KEEP},
    {POL_PM25, 35.2, false, KEEP},
    {POL_PM25, -1e-9, false, REASON_NEGATIVE},
    {POL_PM25, -5, true, REASON_NEGATIVE},
    {POL_PM25, 2000, false, KEEP},
    {POL_PM25, 2000.000001, false, REASON_OUT_OF_RANGE},
    {POL_PM25, 2001, true, REASON_OUT_OF_RANGE},
    {POL_PM10, 10000, true, KEEP},
    {POL_PM10, 10000.5, false, REASON_OUT_OF_RANGE},
    {POL_SO2, 10000, false, KEEP},
    {POL_SO2, 10001, true, REASON_OUT_OF_RANGE},
    {POL_NO2, 5000, false, KEEP},
    {POL_NO2, 5000.01, false, REASON_OUT_OF_RANGE},
    {POL_NO2, -0.5, true, REASON_NEGATIVE},
    {POL_CO, 150, false, KEEP},
    {POL_CO, 150.001, false, REASON_OUT_OF_RANGE},
    {POL_CO, 0.001, true, KEEP},
    {POL_O3, 2000, false, KEEP},
    {POL_O3, 2000.5, true, REASON_OUT_OF_RANGE},
    {POL_PM25, NAN, false, REASON_NOT_FINITE},
    {POL_PM25, INFINITY, true, REASON_NOT_FINITE},
    {POL_O3, -INFINITY, false, REASON_NOT_FINITE}, /* not "negative" */
    {POL_CO, 1e300, false, REASON_OUT_OF_RANGE},
};

/* The clock: a reading may lead it by max_future seconds, not one more. */
static const struct {
	int64_t lead;
	bool check_future;
	int64_t max_future;
	int rc;
} clock_cases[] = {
    {0, true, 300, AQ_OK},
    {-86400, true, 300, AQ_OK},
    {300, true, 300, AQ_OK},
    {301, true, 300, AQ_ERR_RANGE},
    {3600, true, 300, AQ_ERR_RANGE},
    {3600, false, 300, AQ_OK},
    {0, true, 0, AQ_OK},
    {1, true, 0, AQ_ERR_RANGE},
};

static void
reading(struct decoded *r, int64_t ts)
{
	memset(r, 0, sizeof(*r));
	strcpy(r->sensor, "s");
	r->ts = ts;
	r->period = 60;
}

START_TEST(values)
{
	struct qc_conf c;
	struct decoded r;
	uint32_t dropped[REASON_COUNT] = {0};
	enum reason why = REASON_COUNT;
	enum pol p = value_cases[_i].p;
	enum reason want = value_cases[_i].want;
	int rc;

	qc_defaults(&c);
	reading(&r, NOW);
	r.v[p] = value_cases[_i].v;
	r.has = UINT32_C(1) << p;
	if (value_cases[_i].with_good && p != POL_PM10) {
		r.v[POL_PM10] = 50;
		r.has |= UINT32_C(1) << POL_PM10;
	}
	rc = qc_check(&c, &r, NOW, dropped, &why);
	for (int i = 0; i < REASON_COUNT; i++)
		ck_assert_msg(dropped[i] == (i == (int)want ? 1u : 0u),
		    "case %d: dropped[%s] = %u", _i, reason_name(i),
		    dropped[i]);
	ck_assert_int_eq((r.has >> p) & 1, want == KEEP);
	if (want == KEEP || value_cases[_i].with_good) {
		ck_assert_int_eq(rc, AQ_OK);
		ck_assert_int_eq(why, REASON_COUNT); /* untouched */
	} else {
		ck_assert_int_eq(rc, AQ_ERR_RANGE);
		ck_assert_msg(why == want, "case %d: refused as %s", _i,
		    reason_name(why));
	}
}
END_TEST

START_TEST(clock)
{
	struct qc_conf c;
	struct decoded r;
	uint32_t dropped[REASON_COUNT] = {0};
	enum reason why = REASON_COUNT;
	int rc;

	qc_defaults(&c);
	c.check_future = clock_cases[_i].check_future;
	c.max_future = clock_cases[_i].max_future;
	reading(&r, NOW + clock_cases[_i].lead);
	r.v[POL_PM25] = 10;
	r.has = UINT32_C(1) << POL_PM25;
	rc = qc_check(&c, &r, NOW, dropped, &why);
	ck_assert_int_eq(rc, clock_cases[_i].rc);
	if (rc != AQ_OK)
		ck_assert_int_eq(why, REASON_FUTURE);
}
END_TEST

START_TEST(defaults)
{
	struct qc_conf c;

	memset(&c, 0xff, sizeof(c));
	qc_defaults(&c);
	ck_assert(c.max[POL_PM25] == 2000);
	ck_assert(c.max[POL_PM10] == 10000);
	ck_assert(c.max[POL_SO2] == 10000);
	ck_assert(c.max[POL_NO2] == 5000);
	ck_assert(c.max[POL_CO] == 150);
	ck_assert(c.max[POL_O3] == 2000);
	ck_assert(c.check_future);
	ck_assert_int_eq(c.max_future, 300);
}
END_TEST

/* Values gone for two different reasons leave no one reason to give. */
START_TEST(mixed_reasons)
{
	struct qc_conf c;
	struct decoded r;
	uint32_t dropped[REASON_COUNT] = {0};
	enum reason why;

	qc_defaults(&c);
	reading(&r, NOW);
	r.v[POL_PM25] = -1;
	r.v[POL_PM10] = 1e6;
	r.v[POL_O3] = -2;
	r.has = (UINT32_C(1) << POL_PM25) | (UINT32_C(1) << POL_PM10) |
	    (UINT32_C(1) << POL_O3);
	ck_assert_int_eq(qc_check(&c, &r, NOW, dropped, &why), AQ_ERR_RANGE);
	ck_assert_int_eq(why, REASON_NO_VALUES);
	ck_assert_uint_eq(dropped[REASON_NEGATIVE], 2);
	ck_assert_uint_eq(dropped[REASON_OUT_OF_RANGE], 1);
	ck_assert_uint_eq(r.has, 0);

	reading(&r, NOW); /* nothing to begin with */
	ck_assert_int_eq(qc_check(&c, &r, NOW, dropped, &why), AQ_ERR_RANGE);
	ck_assert_int_eq(why, REASON_NO_VALUES);
}
END_TEST

/* A reading from the future is refused whole: its values are not
 * counted as dropped. */
START_TEST(future_first)
{
	struct qc_conf c;
	struct decoded r;
	uint32_t dropped[REASON_COUNT] = {0};
	enum reason why;

	qc_defaults(&c);
	reading(&r, NOW + 3600);
	r.v[POL_PM25] = -1;
	r.has = UINT32_C(1) << POL_PM25;
	ck_assert_int_eq(qc_check(&c, &r, NOW, dropped, &why), AQ_ERR_RANGE);
	ck_assert_int_eq(why, REASON_FUTURE);
	for (int i = 0; i < REASON_COUNT; i++)
		ck_assert_uint_eq(dropped[i], 0);
}
END_TEST

/* Weather fields: a non-finite one is forgotten without a count, and
 * never decides the fate of the reading. */
START_TEST(weather)
{
	struct qc_conf c;
	struct decoded r;
	uint32_t dropped[REASON_COUNT] = {0};
	enum reason why;

	qc_defaults(&c);
	reading(&r, NOW);
	r.v[POL_PM25] = 12;
	r.has = UINT32_C(1) << POL_PM25;
	r.met[MET_TEMP] = NAN;
	r.met[MET_RH] = -INFINITY;
	r.met[MET_PRES] = 1013.25;
	r.met[MET_WD] = -10; /* not a concentration: no sign check */
	r.met_has = (UINT32_C(1) << MET_TEMP) | (UINT32_C(1) << MET_RH) |
	    (UINT32_C(1) << MET_PRES) | (UINT32_C(1) << MET_WD);
	ck_assert_int_eq(qc_check(&c, &r, NOW, dropped, &why), AQ_OK);
	ck_assert_uint_eq(
	    r.met_has, (UINT32_C(1) << MET_PRES) | (UINT32_C(1) << MET_WD));
	for (int i = 0; i < REASON_COUNT; i++)
		ck_assert_uint_eq(dropped[i], 0);

	r.has = 0;
	ck_assert_int_eq(qc_check(&c, &r, NOW, dropped, &why), AQ_ERR_RANGE);
	ck_assert_int_eq(why, REASON_NO_VALUES);
}
END_TEST

/* A dust site's TSP: checked like a pollutant and counted, but it never
 * decides whether the reading is refused. */
START_TEST(tsp_range)
{
	static const struct {
		double v;
		bool kept;
		enum reason why;
	} cases[] = {
	    {0, true, REASON_COUNT},
	    {QC_TSP_MAX, true, REASON_COUNT},
	    {QC_TSP_MAX + 1, false, REASON_OUT_OF_RANGE},
	    {-1, false, REASON_NEGATIVE},
	    {NAN, false, REASON_NOT_FINITE},
	};
	struct qc_conf c;

	qc_defaults(&c);
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct decoded r;
		uint32_t dropped[REASON_COUNT] = {0};
		enum reason why;

		reading(&r, NOW);
		r.v[POL_PM10] = 80;
		r.has = UINT32_C(1) << POL_PM10;
		r.met[MET_TSP] = cases[k].v;
		r.met_has = UINT32_C(1) << MET_TSP;
		ck_assert_int_eq(qc_check(&c, &r, NOW, dropped, &why), AQ_OK);
		ck_assert_uint_eq(r.has, UINT32_C(1) << POL_PM10);
		ck_assert_int_eq(
		    (r.met_has & (UINT32_C(1) << MET_TSP)) != 0, cases[k].kept);
		for (int i = 0; i < REASON_COUNT; i++)
			ck_assert_uint_eq(
			    dropped[i], i == (int)cases[k].why ? 1 : 0);
	}
}
END_TEST

/* The bounds are the configuration's, and counts add up across calls. */
START_TEST(custom_bounds)
{
	struct qc_conf c;
	struct decoded r;
	uint32_t dropped[REASON_COUNT] = {0};
	enum reason why;

	qc_defaults(&c);
	c.max[POL_PM25] = 500;
	for (int i = 0; i < 3; i++) {
		reading(&r, NOW);
		r.v[POL_PM25] = 500.5;
		r.v[POL_PM10] = 600;
		r.has = (UINT32_C(1) << POL_PM25) | (UINT32_C(1) << POL_PM10);
		ck_assert_int_eq(qc_check(&c, &r, NOW, dropped, &why), AQ_OK);
		ck_assert_uint_eq(r.has, UINT32_C(1) << POL_PM10);
	}
	ck_assert_uint_eq(dropped[REASON_OUT_OF_RANGE], 3);
}
END_TEST

static Suite *
qc_suite(void)
{
	Suite *s = suite_create("qc");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(
	    tc, values, 0, sizeof(value_cases) / sizeof(value_cases[0]));
	tcase_add_loop_test(
	    tc, clock, 0, sizeof(clock_cases) / sizeof(clock_cases[0]));
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, mixed_reasons);
	tcase_add_test(tc, future_first);
	tcase_add_test(tc, weather);
	tcase_add_test(tc, tsp_range);
	tcase_add_test(tc, custom_bounds);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(qc_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
