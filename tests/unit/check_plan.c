/*
 * check_plan: the plan indicators on hand-computed cases: percentile
 * interpolation (STANDARDS.md section 2), the annual validity rule per
 * month (February, leap years) and per year, the good-days ratio,
 * exceedance days per pollutant and how an area's day is formed.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/fix.h"
#include "daemon/plan.h"
#include "daemon/tz.h"

#define F(x) ((int64_t)((x)*1000) * (FIX_ONE / 1000))

static void mark(bool *per, int32_t from, int32_t d0, int32_t d1);
static struct store_day row(const char *cell, int32_t date, const double *v6);
static int json_decoder(const char *name);
static struct conf *load_conf(const char *dir, const char *area_cells);
static void put(struct store *s, const char *cell, int32_t date, double pm25);
static Suite *plan_suite(void);

/* The six daily statistics in plan_stat() order of enum pol. */
static const enum ind six[POL_COUNT] = {IND_PM25_24H, IND_PM10_24H, IND_SO2_24H,
    IND_NO2_24H, IND_CO_24H, IND_O3_8H};

/* Sets per[] for every day d0..d1 of a range starting at from. */
static void
mark(bool *per, int32_t from, int32_t d0, int32_t d1)
{
	int64_t f = tz_days_from_date(from);

	for (int64_t d = tz_days_from_date(d0); d <= tz_days_from_date(d1); d++)
		per[d - f] = true;
}

/* A cell's daily row with the six statistics (negative: absent). */
static struct store_day
row(const char *cell, int32_t date, const double *v6)
{
	struct store_day d;

	memset(&d, 0, sizeof(d));
	snprintf(d.cell, sizeof(d.cell), "%s", cell);
	d.date = date;
	for (int p = 0; p < POL_COUNT; p++)
		if (v6[p] >= 0) {
			d.v[six[p]] = F(v6[p]);
			d.has |= IND_BIT(six[p]);
		}
	return d;
}

START_TEST(test_percentile)
{
	/* k = 1 + 4 * 0.9 = 4.6: 40 + 0.6 * (50 - 40) = 46. */
	int64_t a[] = {F(50), F(10), F(40), F(20), F(30)};
	/* 1..10: k = 9.1, 9 + 0.1 = 9.1. */
	int64_t b[10];
	/* p50 of four: k = 2.5, 2 + 0.5 * (3 - 2). */
	int64_t c[] = {F(4), F(1), F(3), F(2)};
	/* One value: itself. */
	int64_t d[] = {F(77.7)};
	/* k = 1 + 2 * 0.9 = 2.8 over 100 150 200: 190. */
	int64_t e[] = {F(200), F(100), F(150)};
	int64_t out = -1;

	for (int k = 0; k < 10; k++)
		b[k] = F(10 - k);
	ck_assert_int_eq(plan_percentile(a, 5, 90, &out), AQ_OK);
	ck_assert_int_eq(out, F(46));
	ck_assert_int_eq(a[0], F(10)); /* sorted in place */
	ck_assert_int_eq(plan_percentile(b, 10, 90, &out), AQ_OK);
	ck_assert_int_eq(out, F(9.1));
	ck_assert_int_eq(plan_percentile(c, 4, 50, &out), AQ_OK);
	ck_assert_int_eq(out, F(2.5));
	ck_assert_int_eq(plan_percentile(d, 1, 90, &out), AQ_OK);
	ck_assert_int_eq(out, F(77.7));
	ck_assert_int_eq(plan_percentile(e, 3, 90, &out), AQ_OK);
	ck_assert_int_eq(out, F(190));
	/* p100 is the largest, p0 the smallest. */
	ck_assert_int_eq(plan_percentile(e, 3, 100, &out), AQ_OK);
	ck_assert_int_eq(out, F(200));
	ck_assert_int_eq(plan_percentile(e, 3, 0, &out), AQ_OK);
	ck_assert_int_eq(out, F(100));
	ck_assert_int_eq(plan_percentile(e, 0, 90, &out), AQ_ERR_INVAL);
	ck_assert_int_eq(plan_percentile(e, 3, 101, &out), AQ_ERR_INVAL);
}
END_TEST

/* Exact fractions: 1/3 of the way rounds to the nearest fix unit. */
START_TEST(test_percentile_exact)
{
	/* n = 11, p = 90: k = 10 exactly, no interpolation. */
	int64_t v[11];
	/* n = 4, p = 90: k = 3.7: 3 + 0.7 * (1000 - 3). */
	int64_t w[] = {F(1), F(2), F(3), F(1000)};
	int64_t out;

	for (int k = 0; k < 11; k++)
		v[k] = F(k + 1);
	ck_assert_int_eq(plan_percentile(v, 11, 90, &out), AQ_OK);
	ck_assert_int_eq(out, F(10));
	ck_assert_int_eq(plan_percentile(w, 4, 90, &out), AQ_OK);
	ck_assert_int_eq(out, F(700.9));
}
END_TEST

START_TEST(test_need_february)
{
	bool per[29];
	struct plan_valid v;

	/* February 2026 (28 days): 25 values are enough, 24 are not. */
	memset(per, 0, sizeof(per));
	mark(per, 20260201, 20260201, 20260225);
	plan_need(20260201, 20260228, per, &v);
	ck_assert(v.valid);
	ck_assert_uint_eq(v.got, 25);
	ck_assert_uint_eq(v.need, 25);
	ck_assert_uint_eq(v.months, 1);
	per[24] = false;
	plan_need(20260201, 20260228, per, &v);
	ck_assert(!v.valid);
	ck_assert_uint_eq(v.months_short, 1);
	/* February 2024, a leap year (29 days): still 25. */
	memset(per, 0, sizeof(per));
	mark(per, 20240201, 20240205, 20240229);
	plan_need(20240201, 20240229, per, &v);
	ck_assert(v.valid);
	ck_assert_uint_eq(v.got, 25);
	ck_assert_uint_eq(v.need, 25);
	per[28] = false;
	plan_need(20240201, 20240229, per, &v);
	ck_assert(!v.valid);
}
END_TEST

START_TEST(test_need_month)
{
	bool per[31];
	struct plan_valid v;

	/* A 30-day month needs 27, a 31-day month 27. */
	memset(per, 0, sizeof(per));
	mark(per, 20260401, 20260401, 20260427);
	plan_need(20260401, 20260430, per, &v);
	ck_assert(v.valid);
	per[0] = false;
	plan_need(20260401, 20260430, per, &v);
	ck_assert(!v.valid);
	/* Half of March (15 of 31 days): ceil(15 * 27 / 31) = 14 for the
	 * month, ceil(15 * 324 / 365) = 14 for the year. */
	memset(per, 0, sizeof(per));
	mark(per, 20260301, 20260301, 20260314);
	plan_need(20260301, 20260315, per, &v);
	ck_assert(v.valid);
	ck_assert_uint_eq(v.need, 14);
	per[13] = false;
	plan_need(20260301, 20260315, per, &v);
	ck_assert(!v.valid);
	ck_assert_uint_eq(v.months_short, 1);
	/* Across a month's end: 20..31 March (12 days, need ceil(12 * 27 /
	 * 31) = 11) and 1..10 April (10 days, need 9). */
	memset(per, 0, sizeof(per));
	mark(per, 20260320, 20260320, 20260330);
	mark(per, 20260320, 20260401, 20260409);
	plan_need(20260320, 20260410, per, &v);
	ck_assert(v.valid);
	ck_assert_uint_eq(v.months, 2);
	ck_assert_uint_eq(v.need, 20);
	per[0] = false; /* March now 10 of 11 */
	plan_need(20260320, 20260410, per, &v);
	ck_assert(!v.valid);
	ck_assert_uint_eq(v.months_short, 1);
}
END_TEST

START_TEST(test_need_year)
{
	bool per[366];
	struct plan_valid v;
	int32_t month_end[12] = {20260131, 20260228, 20260331, 20260430,
	    20260531, 20260630, 20260731, 20260831, 20260930, 20261031,
	    20261130, 20261231};

	/* 2026: every month at its minimum is 27 * 11 + 25 = 322 < 324. */
	memset(per, 0, sizeof(per));
	for (int m = 0; m < 12; m++)
		mark(per, 20260101, month_end[m] / 100 * 100 + 1,
		    month_end[m] / 100 * 100 + (m == 1 ? 25 : 27));
	plan_need(20260101, 20261231, per, &v);
	ck_assert(!v.valid);
	ck_assert_uint_eq(v.got, 322);
	ck_assert_uint_eq(v.need, 324);
	ck_assert_uint_eq(v.months, 12);
	ck_assert_uint_eq(v.months_short, 0);
	mark(per, 20260101, 20260128, 20260129);
	plan_need(20260101, 20261231, per, &v);
	ck_assert(v.valid);
	ck_assert_uint_eq(v.got, 324);
	/* 2024 has 366 days and still needs 324, not 325. */
	memset(per, 0, sizeof(per));
	mark(per, 20240101, 20240101, 20241119);
	plan_need(20240101, 20241231, per, &v);
	ck_assert_uint_eq(v.got, 324);
	ck_assert_uint_eq(v.need, 324);
	ck_assert(!v.valid); /* December has none */
	memset(per, 0, sizeof(per));
	for (int m = 0; m < 12; m++)
		mark(per, 20240101, 20240001 + (m + 1) * 100,
		    20240000 + (m + 1) * 100 + (m == 1 ? 27 : 28));
	plan_need(20240101, 20241231, per, &v);
	ck_assert_uint_eq(v.got, 27 + 28 * 11);
	ck_assert(v.valid);
}
END_TEST

/* Two cells of one area on one day, all six pollutants between them. */
START_TEST(test_area_day)
{
	const double a[POL_COUNT] = {30, 50, 10, 20, 0.5, 100};
	const double b[POL_COUNT] = {41, 70, 20, 40, 1.0, -1};
	struct store_day ra = row("r000c000", 20261101, a);
	struct store_day rb = row("r000c001", 20261101, b);
	struct aqi_opts o = {.std = AQI_HJ633_2026, .report = AQI_HOURLY};
	struct limits_opts l = {.ed = LIMITS_GB3095_2026, .grade = 2};
	struct plan_acc acc;
	struct plan_day d;

	const double none[POL_COUNT] = {-1, -1, -1, -1, -1, -1};
	struct store_day empty = row("r000c002", 20261101, none);

	memset(&acc, 0, sizeof(acc));
	plan_acc_add(&acc, &ra);
	plan_acc_add(&acc, &rb);
	/* A row without any valid statistic is no cell with data. */
	plan_acc_add(&acc, &empty);
	ck_assert_uint_eq(acc.rows, 2);
	plan_day_form(&acc, 20261101, &o, &l, &d);
	ck_assert_int_eq(d.date, 20261101);
	ck_assert_uint_eq(d.cells, 2);
	/* Means over the cells with a value: O3 from one cell only. */
	ck_assert_int_eq(d.v[IND_PM25_24H], F(35.5));
	ck_assert_uint_eq(d.n[IND_PM25_24H], 2);
	ck_assert_int_eq(d.v[IND_PM10_24H], F(60));
	ck_assert_int_eq(d.v[IND_CO_24H], F(0.75));
	ck_assert_int_eq(d.v[IND_O3_8H], F(100));
	ck_assert_uint_eq(d.n[IND_O3_8H], 1);
	/* HJ 633-2026: PM2.5 35.5 -> 36 -> IAQI 52; PM10 60 -> 50 +
	 * 50 * 10 / 70 = 57.1 -> 58; the rest lower.  The daily AQI comes
	 * from the means, not from the cells' AQIs. */
	ck_assert_int_eq(d.aqi, 58);
	ck_assert_uint_eq(d.exceeds, 0);
}
END_TEST

/* The exceedance test is on the area's mean, strictly above the limit. */
START_TEST(test_area_day_exceeds)
{
	const double a[POL_COUNT] = {70, 50, 10, 20, 0.5, 170};
	const double b[POL_COUNT] = {51, 50, 10, 20, 0.5, 150};
	const double c[POL_COUNT] = {50, 50, 10, 20, 0.5, 160};
	struct store_day ra = row("r000c000", 20261102, a);
	struct store_day rb = row("r000c001", 20261102, b);
	struct store_day rc = row("r000c002", 20261102, c);
	struct aqi_opts o = {.std = AQI_HJ633_2026};
	struct limits_opts l = {.ed = LIMITS_GB3095_2026, .grade = 2};
	struct plan_acc acc;
	struct plan_day d;

	/* PM2.5 (70 + 51) / 2 = 60.5 > 60; O3 MDA8 160 = 160 complies. */
	memset(&acc, 0, sizeof(acc));
	plan_acc_add(&acc, &ra);
	plan_acc_add(&acc, &rb);
	plan_day_form(&acc, 20261102, &o, &l, &d);
	ck_assert_uint_eq(d.exceeds, IND_BIT(IND_PM25_24H));
	/* With a third cell at 50: 57 complies; O3 160 still complies. */
	plan_acc_add(&acc, &rc);
	plan_day_form(&acc, 20261102, &o, &l, &d);
	ck_assert_uint_eq(d.exceeds, 0);
	/* Under GB 3095-2012 the PM2.5 daily limit is 75. */
	memset(&acc, 0, sizeof(acc));
	plan_acc_add(&acc, &ra);
	plan_acc_add(&acc, &rb);
	l.ed = LIMITS_GB3095_2012;
	plan_day_form(&acc, 20261102, &o, &l, &d);
	ck_assert_uint_eq(d.exceeds, 0);
}
END_TEST

/* HJ 633-2026 s5.3.1: a day missing a pollutant with an AQI <= 100 has
 * no daily AQI, so it is not a valid day; over 100 it is. */
START_TEST(test_area_day_missing)
{
	const double a[POL_COUNT] = {30, 50, 10, 20, -1, 100};
	const double b[POL_COUNT] = {130, 50, 10, 20, -1, 100};
	struct store_day ra = row("r000c000", 20261103, a);
	struct store_day rb = row("r000c000", 20261104, b);
	struct aqi_opts o = {.std = AQI_HJ633_2026};
	struct limits_opts l = {.ed = LIMITS_GB3095_2026, .grade = 2};
	struct plan_acc acc;
	struct plan_day d;

	memset(&acc, 0, sizeof(acc));
	plan_acc_add(&acc, &ra);
	plan_day_form(&acc, 20261103, &o, &l, &d);
	ck_assert_int_eq(d.aqi, -1);
	memset(&acc, 0, sizeof(acc));
	plan_acc_add(&acc, &rb);
	plan_day_form(&acc, 20261104, &o, &l, &d);
	/* PM2.5 130: 150 + 50 * (130 - 115) / 35 = 171.4, up to 172. */
	ck_assert_int_eq(d.aqi, 172);
}
END_TEST

START_TEST(test_compute)
{
	struct plan_day days[6];
	struct plan_result r;
	const int aqi[6] = {50, 100, 101, -1, 150, 40};
	const int32_t date[6] = {
	    20261230, 20261231, 20270101, 20270102, 20270103, 20270110};

	memset(days, 0, sizeof(days));
	for (int k = 0; k < 6; k++) {
		days[k].date = date[k];
		days[k].aqi = aqi[k];
		days[k].cells = 1;
	}
	/* PM2.5 on three days: 10, 20 and 40 (one exceeding). */
	days[0].has = days[1].has = days[2].has = IND_BIT(IND_PM25_24H);
	days[0].v[IND_PM25_24H] = F(10);
	days[1].v[IND_PM25_24H] = F(20);
	days[2].v[IND_PM25_24H] = F(40);
	days[2].exceeds = IND_BIT(IND_PM25_24H);
	/* O3 MDA8 on three days; one over its limit with PM2.5 too. */
	days[2].has |= IND_BIT(IND_O3_8H);
	days[3].has |= IND_BIT(IND_O3_8H);
	days[4].has |= IND_BIT(IND_O3_8H) | IND_BIT(IND_NO2_24H);
	days[2].v[IND_O3_8H] = F(200);
	days[3].v[IND_O3_8H] = F(100);
	days[4].v[IND_O3_8H] = F(150);
	days[2].exceeds |= IND_BIT(IND_O3_8H);
	days[4].exceeds = IND_BIT(IND_NO2_24H);
	/* The last day is outside the range. */
	ck_assert_int_eq(plan_compute(days, 6, 20261230, 20270105, &r), AQ_OK);
	ck_assert_uint_eq(r.days, 7);
	ck_assert_uint_eq(r.data_days, 5);
	ck_assert_uint_eq(r.valid_days, 4);
	ck_assert_uint_eq(r.good_days, 2);
	ck_assert(r.pm25_known);
	ck_assert_int_eq(r.pm25_mean, 23333333333); /* 70 / 3 */
	ck_assert(r.o3_known);
	ck_assert_int_eq(r.o3_p90, F(190));
	ck_assert_uint_eq(r.stat_days[POL_PM25], 3);
	ck_assert_uint_eq(r.exceed_days[POL_PM25], 1);
	ck_assert_uint_eq(r.exceed_days[POL_O3], 1);
	ck_assert_uint_eq(r.exceed_days[POL_NO2], 1);
	ck_assert_uint_eq(r.stat_days[POL_NO2], 1);
	ck_assert_uint_eq(r.exceed_days[POL_SO2], 0);
	ck_assert_uint_eq(r.exceed_any, 2);
	/* Two months, two years: far from valid. */
	ck_assert(!r.pm25_valid.valid);
	ck_assert_uint_eq(r.pm25_valid.got, 3);
	ck_assert_uint_eq(r.pm25_valid.months, 2);
	/* Nothing in range: all zero, nothing known. */
	ck_assert_int_eq(plan_compute(days, 6, 20270201, 20270228, &r), AQ_OK);
	ck_assert_uint_eq(r.valid_days, 0);
	ck_assert(!r.pm25_known);
	ck_assert(!r.o3_known);
	ck_assert_int_eq(
	    plan_compute(days, 6, 20270105, 20261230, &r), AQ_ERR_INVAL);
	ck_assert_int_eq(
	    plan_compute(days, 6, 20000101, 20261230, &r), AQ_ERR_INVAL);
}
END_TEST

static int
json_decoder(const char *name)
{
	return strcmp(name, "json") == 0 ? 0 : -1;
}

/* A 1 x 3 grid with area a of area_cells, in dir. */
static struct conf *
load_conf(const char *dir, const char *area_cells)
{
	const struct conf_hooks hooks = {.decoder = json_decoder};
	struct conf *c = NULL;
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/p.conf", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fprintf(f,
	    "[mqtt]\nsubscribe = aq/+ json 0\n"
	    "[grid]\norigin = 40.0 116.0\ncell_size = 1000\nrows = 1\n"
	    "cols = 3\n[area a]\nname = a\nname_en = A\ncells = %s\n",
	    area_cells);
	fclose(f);
	ck_assert_int_eq(conf_load(path, &hooks, &c, stderr), AQ_OK);
	unlink(path);
	return c;
}

/* A cell's day with all six statistics, PM2.5 as given. */
static void
put(struct store *s, const char *cell, int32_t date, double pm25)
{
	const double v[POL_COUNT] = {pm25, 50, 10, 20, 0.5, 100};
	struct store_day d = row(cell, date, v);

	ck_assert_int_eq(store_put_day(s, &d), AQ_OK);
}

/* The cache answers as plan_read() does, and forgets the days the store
 * says changed or were pruned, and everything when the areas change. */
START_TEST(test_cache)
{
	char dir[] = "/tmp/check_plan.XXXXXX", path[256], msg[256];
	struct conf *c, *c2;
	struct store *s = NULL;
	struct plan_cache *pc;
	struct plan_day *days = NULL, *direct = NULL;
	size_t n = 0, nd = 0;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	c = load_conf(dir, "r000c000");
	c2 = load_conf(dir, "r000c001-r000c002");
	snprintf(path, sizeof(path), "%s/aqgrid.db", dir);
	ck_assert_int_eq(store_open(path, 64, &s, msg, sizeof(msg)), AQ_OK);
	ck_assert_ptr_nonnull(pc = plan_cache_new());
	put(s, "r000c000", 20260301, 10);
	put(s, "r000c001", 20260301, 20);
	put(s, "r000c002", 20260301, 60);
	put(s, "r000c000", 20260302, 40);
	ck_assert_int_eq(store_flush(s), AQ_OK);

	/* The grid: (10 + 20 + 60) / 3 = 30 on the 1st, 40 on the 2nd; the
	 * 3rd has no row. */
	ck_assert_int_eq(
	    plan_cache_read(pc, s, c, -1, 20260301, 20260303, &days, &n),
	    AQ_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(days[0].date, 20260301);
	ck_assert_int_eq(days[0].v[IND_PM25_24H], F(30));
	ck_assert_uint_eq(days[0].cells, 3);
	ck_assert_int_eq(days[1].v[IND_PM25_24H], F(40));
	ck_assert_int_eq(
	    plan_read(s, c, -1, 20260301, 20260303, &direct, &nd), AQ_OK);
	ck_assert_uint_eq(nd, n);
	for (size_t k = 0; k < n; k++) {
		ck_assert_int_eq(direct[k].date, days[k].date);
		ck_assert_int_eq(direct[k].aqi, days[k].aqi);
		ck_assert_uint_eq(direct[k].has, days[k].has);
		ck_assert_uint_eq(direct[k].exceeds, days[k].exceeds);
		ck_assert_uint_eq(direct[k].cells, days[k].cells);
		for (int i = 0; i < IND_AQI_COUNT; i++)
			ck_assert_int_eq(direct[k].v[i], days[k].v[i]);
	}
	free(direct);
	free(days);
	/* Area a from the same scan: r000c000 alone. */
	ck_assert_int_eq(
	    plan_cache_read(pc, s, c, 0, 20260301, 20260302, &days, &n), AQ_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(days[0].v[IND_PM25_24H], F(10));
	free(days);

	/* A row rewritten (late data) and a new day: both seen. */
	put(s, "r000c000", 20260301, 100);
	put(s, "r000c001", 20260303, 5);
	ck_assert_int_eq(store_flush(s), AQ_OK);
	ck_assert_int_eq(
	    plan_cache_read(pc, s, c, -1, 20260301, 20260303, &days, &n),
	    AQ_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(days[0].v[IND_PM25_24H], F(60));
	ck_assert_int_eq(days[2].v[IND_PM25_24H], F(5));
	free(days);

	/* Pruned rows go from the cache too. */
	ck_assert_int_eq(store_prune(s, 0, 20260302), AQ_OK);
	ck_assert_int_eq(
	    plan_cache_read(pc, s, c, -1, 20260301, 20260303, &days, &n),
	    AQ_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(days[0].date, 20260302);
	free(days);

	/* Another configuration: area a is now the other two cells. */
	ck_assert_int_eq(
	    plan_cache_read(pc, s, c2, 0, 20260302, 20260303, &days, &n),
	    AQ_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(days[0].date, 20260303);
	ck_assert_int_eq(days[0].v[IND_PM25_24H], F(5));
	free(days);

	/* Bad arguments. */
	ck_assert_int_eq(
	    plan_cache_read(pc, s, c, 1, 20260301, 20260303, &days, &n),
	    AQ_ERR_INVAL);
	ck_assert_int_eq(
	    plan_cache_read(pc, s, c, -1, 20260303, 20260301, &days, &n),
	    AQ_ERR_INVAL);

	plan_cache_free(pc);
	store_close(s);
	conf_free(c);
	conf_free(c2);
	unlink(path);
	snprintf(path, sizeof(path), "%s/aqgrid.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/aqgrid.db-shm", dir);
	unlink(path);
	rmdir(dir);
}
END_TEST

static Suite *
plan_suite(void)
{
	Suite *s = suite_create("plan");
	TCase *tc = tcase_create("plan");

	tcase_add_test(tc, test_percentile);
	tcase_add_test(tc, test_percentile_exact);
	tcase_add_test(tc, test_need_february);
	tcase_add_test(tc, test_need_month);
	tcase_add_test(tc, test_need_year);
	tcase_add_test(tc, test_area_day);
	tcase_add_test(tc, test_area_day_exceeds);
	tcase_add_test(tc, test_area_day_missing);
	tcase_add_test(tc, test_compute);
	tcase_add_test(tc, test_cache);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(plan_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
