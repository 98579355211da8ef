/* check_tz: hour labels, local days and ISO 8601 times. */
#include "daemon/tz.h"

#include <check.h>
#include <stdlib.h>

START_TEST(zones)
{
	struct tz z;

	ck_assert_int_eq(tz_init(&z, "Asia/Shanghai"), AQ_OK);
	ck_assert_int_eq(z.phase, 0);
	ck_assert_int_eq(tz_init(&z, "UTC"), AQ_OK);
	ck_assert_int_eq(tz_init(&z, "Mars/Olympus"), AQ_ERR_INVAL);
	ck_assert_int_eq(tz_init(&z, "../../etc/passwd"), AQ_ERR_INVAL);
	ck_assert_int_eq(tz_init(&z, ""), AQ_ERR_INVAL);
}
END_TEST

START_TEST(hours_labelled_by_end)
{
	struct tz z;
	int64_t ts, h;
	char buf[TZ_ISO_MAX];

	ck_assert_int_eq(tz_init(&z, "Asia/Shanghai"), AQ_OK);
	ck_assert_int_eq(tz_parse("2026-11-29T13:00:00+08:00", &ts), AQ_OK);
	h = tz_hour(&z, ts);
	ck_assert_str_eq(tz_format(&z, tz_hour_end(&z, h), buf, sizeof(buf)),
	    "2026-11-29T14:00:00+08:00");
	ck_assert_int_eq(tz_hour(&z, ts + 3599), h);
	ck_assert_int_eq(tz_hour(&z, ts - 1), h - 1);
	/* 23:30 belongs to the hour labelled 24:00 of the same day. */
	ck_assert_int_eq(tz_parse("2026-11-29T23:30:00+08:00", &ts), AQ_OK);
	ck_assert_int_eq(tz_hour_day(&z, tz_hour(&z, ts)), 20261129);
	ck_assert_int_eq(tz_day_last_hour(&z, 20261129), tz_hour(&z, ts));
	ck_assert_int_eq(tz_hour_day(&z, tz_hour(&z, ts) + 1), 20261130);
	ck_assert_int_eq(tz_date(&z, ts), 20261129);
	ck_assert_int_eq(tz_date(&z, ts + 1800), 20261130);
}
END_TEST

START_TEST(half_hour_zone)
{
	struct tz z;
	int64_t ts;
	char buf[TZ_ISO_MAX];

	/* India is UTC+5:30: local hours start at :30 UTC. */
	ck_assert_int_eq(tz_init(&z, "Asia/Kolkata"), AQ_OK);
	ck_assert_int_eq(z.phase, 1800);
	ck_assert_int_eq(tz_parse("2026-11-29T10:00:00+05:30", &ts), AQ_OK);
	ck_assert_int_eq(tz_hour(&z, ts), tz_hour(&z, ts + 3599));
	ck_assert_int_ne(tz_hour(&z, ts), tz_hour(&z, ts - 1));
	ck_assert_str_eq(
	    tz_format(&z, tz_hour_end(&z, tz_hour(&z, ts)), buf, sizeof(buf)),
	    "2026-11-29T11:00:00+05:30");
}
END_TEST

START_TEST(daylight_saving_days)
{
	struct tz z;
	int64_t spring, autumn;

	/* New York's 2026 spring-forward day has 23 hours, autumn 25. */
	ck_assert_int_eq(tz_init(&z, "America/New_York"), AQ_OK);
	spring =
	    tz_day_last_hour(&z, 20260308) - tz_day_last_hour(&z, 20260307);
	autumn =
	    tz_day_last_hour(&z, 20261101) - tz_day_last_hour(&z, 20261031);
	ck_assert_int_eq(spring, 23);
	ck_assert_int_eq(autumn, 25);
	ck_assert_int_eq(
	    tz_hour_day(&z, tz_day_last_hour(&z, 20261101)), 20261101);
	ck_assert_int_eq(
	    tz_hour_day(&z, tz_day_last_hour(&z, 20261101) + 1), 20261102);
}
END_TEST

static const struct {
	const char *in;
	int rc;
	int64_t ts;
} parse_cases[] = {
    {"2026-11-29T13:59:00+08:00", AQ_OK, 1795931940},
    {"2026-11-29T05:59:00Z", AQ_OK, 1795931940},
    {"2026-11-29 05:59:00Z", AQ_OK, 1795931940},
    {"2026-11-29T05:59Z", AQ_OK, 1795931940},
    {"2026-11-29T05:59:00.250Z", AQ_OK, 1795931940},
    {"2026-11-29T00:29:00-0530", AQ_OK, 1795931940},
    {"1795932000", AQ_OK, 1795932000},
    {"2026-11-29T13:59:00", AQ_ERR_INVAL, 0},
    {"2026-02-29T00:00:00Z", AQ_ERR_INVAL, 0},
    {"2026-11-29T24:00:00Z", AQ_ERR_INVAL, 0},
    {"2026-11-29T13:59:00+08:00x", AQ_ERR_INVAL, 0},
    {"17643960x", AQ_ERR_INVAL, 0},
    {"", AQ_ERR_INVAL, 0},
};

START_TEST(parse_times)
{
	int64_t ts = 0;

	ck_assert_msg(tz_parse(parse_cases[_i].in, &ts) == parse_cases[_i].rc,
	    "%s", parse_cases[_i].in);
	if (parse_cases[_i].rc == AQ_OK)
		ck_assert_int_eq(ts, parse_cases[_i].ts);
}
END_TEST

START_TEST(dates)
{
	int32_t d;

	ck_assert_int_eq(tz_days_from_date(19700101), 0);
	ck_assert_int_eq(tz_days_from_date(20000301), 11017);
	ck_assert_int_eq(tz_date_from_days(-1), 19691231);
	for (int64_t k = -700000; k < 800000; k += 997)
		ck_assert_int_eq(tz_days_from_date(tz_date_from_days(k)), k);
	ck_assert_int_eq(tz_parse_date("2024-02-29", &d), AQ_OK);
	ck_assert_int_eq(d, 20240229);
	ck_assert_int_eq(tz_parse_date("2026-02-29", &d), AQ_ERR_INVAL);
	ck_assert_int_eq(tz_parse_date("2026-13-01", &d), AQ_ERR_INVAL);
	ck_assert_int_eq(tz_parse_date("2026-1-01", &d), AQ_ERR_INVAL);
	ck_assert_int_eq(tz_parse_date("2026-01-00", &d), AQ_ERR_INVAL);
}
END_TEST

static Suite *
tz_suite(void)
{
	Suite *s = suite_create("tz");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, zones);
	tcase_add_test(tc, hours_labelled_by_end);
	tcase_add_test(tc, half_hour_zone);
	tcase_add_test(tc, daylight_saving_days);
	tcase_add_loop_test(
	    tc, parse_times, 0, sizeof(parse_cases) / sizeof(parse_cases[0]));
	tcase_add_test(tc, dates);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(tz_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
