/* check_stats: the median of a neighbourhood's values. */
#include "daemon/stats.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>

/* Odd and even counts, unsorted, with ties and negatives. */
static const struct {
	double v[8];
	uint32_t n;
	double want;
} cases[] = {
    {{42.5}, 1, 42.5},
    {{3, 1}, 2, 2},
    {{5, -1, 3}, 3, 3},
    {{9, 2, 7, 4}, 4, 5.5},
    {{2, 2, 2, 8, 1}, 5, 2},
    {{-4, -8, -6, -2}, 4, -5},
    {{1e-3, 1e9, 5, 5, 5, 0}, 6, 5},
    {{8, 7, 6, 5, 4, 3, 2, 1}, 8, 4.5},
};

START_TEST(median_of_counts)
{
	double v[8];
	uint32_t n = cases[_i].n;

	for (uint32_t k = 0; k < n; k++)
		v[k] = cases[_i].v[k];
	ck_assert_double_eq(stats_median(v, n), cases[_i].want);
	/* Sorted in place, as the contract says. */
	for (uint32_t k = 1; k < n; k++)
		ck_assert(v[k - 1] <= v[k]);
}
END_TEST

START_TEST(median_of_nothing)
{
	double v[3] = {NAN, NAN, NAN};

	ck_assert(isnan(stats_median(NULL, 0)));
	ck_assert(isnan(stats_median(v, 3)));
}
END_TEST

START_TEST(nans_are_left_out)
{
	double v[7] = {NAN, 4, NAN, 1, 3, NAN, 2};

	/* 1 2 3 4: the NaNs neither count nor shift the middle. */
	ck_assert_double_eq(stats_median(v, 7), 2.5);
	for (int k = 0; k < 4; k++)
		ck_assert_double_eq(v[k], k + 1);
	for (int k = 4; k < 7; k++)
		ck_assert(isnan(v[k]));
	v[0] = NAN;
	v[1] = 7;
	v[2] = NAN;
	ck_assert_double_eq(stats_median(v, 3), 7);
}
END_TEST

static Suite *
stats_suite(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("median");

	tcase_add_loop_test(
	    tc, median_of_counts, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, median_of_nothing);
	tcase_add_test(tc, nans_are_left_out);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(stats_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
