/* check_win: the engine's windows, validity rules and event-time handling. */
#include "daemon/win.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "daemon/fix.h"

#define DAY 20261128 /* a Saturday; Asia/Shanghai, UTC+8, no DST */

static struct win *w;
static uint32_t cell, s1, s2;

static void setup(void);
static void teardown(void);
static int64_t at(int32_t date, int hh, int mm);
static int feed(
    uint32_t sensor, int64_t ts, int32_t period, enum pol p, double v);
static void feed_hours(
    uint32_t sensor, int32_t date, int from, int to, enum pol p, double v);
static int64_t hour_of(int32_t date, int label);
static int64_t fx(const char *s);
static int feed_wx(uint32_t sensor, int64_t ts, int32_t period, uint32_t has,
    const double v[WX_COUNT]);
static struct wx_hour wx_at(int label);

static void
setup(void)
{
	struct win_conf conf = {
	    .tz = "Asia/Shanghai",
	    .lateness = 7200,
	    .cells_max = 4,
	    .sensors_max = 8,
	    .limits = {LIMITS_GB3095_2026, 2},
	};

	ck_assert_ptr_nonnull(w = win_new(&conf));
	ck_assert_int_eq(win_add_cell(w, "r001c001", &cell), AQ_OK);
	ck_assert_int_eq(win_add_sensor(w, "s1", cell, &s1), AQ_OK);
	ck_assert_int_eq(win_add_sensor(w, "s2", cell, &s2), AQ_OK);
}

static void
teardown(void)
{
	win_free(w);
	w = NULL;
}

/* Unix time of local (UTC+8) hh:mm on date. */
static int64_t
at(int32_t date, int hh, int mm)
{
	return tz_days_from_date(date) * 86400 + hh * 3600 + mm * 60 - 8 * 3600;
}

static int
feed(uint32_t sensor, int64_t ts, int32_t period, enum pol p, double v)
{
	struct reading r = {.ts = ts, .period = period, .has = 1u << p};

	r.v[p] = v;
	return win_update(w, sensor, &r);
}

/* Hourly means for the hours labelled from..to (1..24) of date. */
static void
feed_hours(
    uint32_t sensor, int32_t date, int from, int to, enum pol p, double v)
{
	for (int h = from; h <= to; h++)
		ck_assert_int_eq(
		    feed(sensor, at(date, h - 1, 0), 3600, p, v), AQ_OK);
}

/* Hour index of the hour labelled label:00 (1..24) of date. */
static int64_t
hour_of(int32_t date, int label)
{
	return tz_hour(win_tz(w), at(date, label - 1, 0));
}

static int64_t
fx(const char *s)
{
	int64_t v = 0;

	ck_assert_int_eq(fix_parse(s, NULL, &v), AQ_OK);
	return v;
}

/* A reading with CO and the weather fields has (1u << WX_x) of v. */
static int
feed_wx(uint32_t sensor, int64_t ts, int32_t period, uint32_t has,
    const double v[WX_COUNT])
{
	struct reading r = {.ts = ts, .period = period, .has = 1u << POL_CO};

	r.v[POL_CO] = 0.5;
	r.wx_has = has;
	for (int f = 0; f < WX_COUNT; f++)
		r.wx[f] = v[f];
	return win_update(w, sensor, &r);
}

/* The cell's weather of the hour labelled label:00 of DAY. */
static struct wx_hour
wx_at(int label)
{
	struct win_hour st;

	ck_assert_int_eq(
	    win_cell_hour(w, cell, hour_of(DAY, label), &st), AQ_OK);
	return st.wx;
}

#define WIND ((1u << WX_WS) | (1u << WX_WD))

/* The hour's wind: the direction of the vector mean (across north it is
 * north, not the arithmetic 180), the speed a scalar mean. */
START_TEST(weather_vector_mean_wind)
{
	double a[WX_COUNT] = {0}, b[WX_COUNT] = {0};
	struct wx_hour x;

	a[WX_WS] = b[WX_WS] = 3;
	a[WX_WD] = 350;
	b[WX_WD] = 10;
	ck_assert_int_eq(feed_wx(s1, at(DAY, 9, 0), 3600, WIND, a), AQ_OK);
	ck_assert_int_eq(feed_wx(s2, at(DAY, 9, 0), 3600, WIND, b), AQ_OK);
	/* Opposite winds, 2 m/s from the east, 4 from the west. */
	a[WX_WS] = 2;
	a[WX_WD] = 90;
	b[WX_WS] = 4;
	b[WX_WD] = 270;
	ck_assert_int_eq(feed_wx(s1, at(DAY, 10, 0), 3600, WIND, a), AQ_OK);
	ck_assert_int_eq(feed_wx(s2, at(DAY, 10, 0), 3600, WIND, b), AQ_OK);
	/* Calm: speed 0, direction 0. */
	a[WX_WS] = 0;
	ck_assert_int_eq(feed_wx(s1, at(DAY, 11, 0), 3600, WIND, a), AQ_OK);
	ck_assert_int_eq(feed(s1, at(DAY, 12, 0), 60, POL_PM25, 1), AQ_OK);

	x = wx_at(10);
	ck_assert_double_eq_tol(x.wdir, 0, 1e-9);
	ck_assert_double_eq_tol(x.wspd, 3, 1e-9);
	x = wx_at(11);
	ck_assert_double_eq_tol(x.wdir, 270, 1e-9);
	ck_assert_double_eq_tol(x.wspd, 3, 1e-9);
	x = wx_at(12);
	ck_assert_double_eq_tol(x.wspd, 0, 1e-9);
	ck_assert_double_eq_tol(x.wdir, 0, 1e-9);
	/* A wind of 10 m/s from 30 degrees with one of 1 m/s from 120: the
	 * speed-weighted direction, by its components. */
	{
		struct win_hour st;
		double u = 10 * sin(30 / 57.29577951308232) +
		    1 * sin(120 / 57.29577951308232);
		double v = 10 * cos(30 / 57.29577951308232) +
		    1 * cos(120 / 57.29577951308232);

		a[WX_WS] = 10;
		a[WX_WD] = 30;
		b[WX_WS] = 1;
		b[WX_WD] = 120;
		ck_assert_int_eq(
		    feed_wx(s2, at(DAY, 12, 0), 1800, WIND, a), AQ_OK);
		ck_assert_int_eq(
		    feed_wx(s2, at(DAY, 12, 30), 1800, WIND, b), AQ_OK);
		ck_assert_int_eq(
		    feed(s1, at(DAY, 13, 0), 60, POL_PM25, 1), AQ_OK);
		ck_assert_int_eq(
		    win_cell_hour(w, cell, hour_of(DAY, 13), &st), AQ_OK);
		ck_assert_double_eq_tol(
		    st.wx.wdir, atan2(u, v) * 57.29577951308232, 0.05);
		ck_assert_double_eq_tol(st.wx.wspd, 5.5, 1e-9);
	}
}
END_TEST

/* Each field is the mean of the readings that had it; one no reading had
 * is absent, as is a direction without a speed, and an implausible value
 * is left out. */
START_TEST(weather_missing_fields)
{
	double a[WX_COUNT] = {0}, b[WX_COUNT] = {0};
	struct wx_hour x;

	a[WX_TEMP] = 12.5;
	a[WX_WD] = 200;   /* no speed: no direction */
	b[WX_TEMP] = 250; /* not plausible: ignored */
	b[WX_RH] = 64;
	b[WX_PRES] = 1012.3;
	b[WX_WS] = 1.5; /* a speed without direction counts */
	ck_assert_int_eq(feed_wx(s1, at(DAY, 9, 0), 3600,
			     (1u << WX_TEMP) | (1u << WX_WD), a),
	    AQ_OK);
	ck_assert_int_eq(feed_wx(s2, at(DAY, 9, 0), 3600,
			     (1u << WX_TEMP) | (1u << WX_RH) | (1u << WX_PRES) |
				 (1u << WX_WS),
			     b),
	    AQ_OK);
	/* The next hour: pollutants only. */
	ck_assert_int_eq(feed(s1, at(DAY, 10, 0), 3600, POL_PM25, 1), AQ_OK);
	ck_assert_int_eq(feed(s1, at(DAY, 11, 0), 60, POL_PM25, 1), AQ_OK);
	x = wx_at(10);
	ck_assert_double_eq_tol(x.temp, 12.5, 1e-9);
	ck_assert_double_eq_tol(x.rh, 64, 1e-9);
	ck_assert_double_eq_tol(x.pres, 1012.3, 1e-9);
	ck_assert_double_eq_tol(x.wspd, 1.5, 1e-9);
	ck_assert(isnan(x.wdir));
	ck_assert(isnan(x.rain));
	x = wx_at(11);
	ck_assert(isnan(x.temp) && isnan(x.rh) && isnan(x.pres) &&
	    isnan(x.rain) && isnan(x.wspd) && isnan(x.wdir));
}
END_TEST

/* A reading's weather goes to its own hour, clipped as its pollutants,
 * weighted by the seconds it covers; rain is spread over the period; a
 * late reading changes its hour; a duplicate changes nothing. */
START_TEST(weather_hour_boundaries)
{
	double a[WX_COUNT] = {0}, b[WX_COUNT] = {0};
	const uint32_t tr = (1u << WX_TEMP) | (1u << WX_RAIN);
	struct wx_hour x;

	/* 13:00-14:00 at 10 degC, 13:45-14:00 at 20: (10 * 60 + 20 * 15) /
	 * 75 minutes.  The second reading's period runs past 14:00 and
	 * its rain, 4 mm over 30 minutes, half of it in the hour: a rate of
	 * 8 mm/h over its 15 minutes; the first's 1 mm, 1 mm/h. */
	a[WX_TEMP] = 10;
	a[WX_RAIN] = 1;
	b[WX_TEMP] = 20;
	b[WX_RAIN] = 4;
	ck_assert_int_eq(feed_wx(s1, at(DAY, 13, 0), 3600, tr, a), AQ_OK);
	ck_assert_int_eq(feed_wx(s2, at(DAY, 13, 45), 1800, tr, b), AQ_OK);
	/* 14:00 belongs to the next hour. */
	a[WX_TEMP] = -5;
	ck_assert_int_eq(
	    feed_wx(s1, at(DAY, 14, 0), 60, 1u << WX_TEMP, a), AQ_OK);
	ck_assert_int_eq(feed(s1, at(DAY, 15, 0), 60, POL_PM25, 1), AQ_OK);
	x = wx_at(14);
	ck_assert_double_eq_tol(x.temp, (10.0 * 60 + 20 * 15) / 75, 0.005);
	ck_assert_double_eq_tol(x.rain, (1.0 * 60 + 8 * 15) / 75, 0.005);
	ck_assert_double_eq_tol(wx_at(15).temp, -5, 1e-9);
	/* The same reading again: a duplicate, nothing counted. */
	b[WX_TEMP] = 40;
	ck_assert_int_eq(feed_wx(s2, at(DAY, 13, 45), 1800, tr, b), AQ_ERR_DUP);
	ck_assert_double_eq_tol(
	    wx_at(14).temp, (10.0 * 60 + 20 * 15) / 75, 0.005);
	/* A late one (within the lateness) joins its hour: s2 13:00-13:15
	 * at 40 degC. */
	ck_assert_int_eq(
	    feed_wx(s2, at(DAY, 13, 0), 900, 1u << WX_TEMP, b), AQ_OK);
	ck_assert_double_eq_tol(
	    wx_at(14).temp, (10.0 * 60 + 20 * 15 + 40 * 15) / 90, 0.005);
	ck_assert_double_eq_tol(wx_at(15).temp, -5, 1e-9);
}
END_TEST

START_TEST(coverage_45_minutes)
{
	struct win_hour st;

	/* 44 one-minute readings of 13:00-13:44: not a valid hour. */
	for (int m = 0; m < 44; m++)
		ck_assert_int_eq(
		    feed(s1, at(DAY, 13, m), 60, POL_PM25, 10 + m), AQ_OK);
	/* A reading of the next hour closes nothing by itself. */
	ck_assert_int_eq(feed(s1, at(DAY, 14, 0), 60, POL_PM25, 1), AQ_OK);
	ck_assert_int_eq(win_cell_hour(w, cell, hour_of(DAY, 14), &st), AQ_OK);
	ck_assert(!(st.in.has & IND_BIT(IND_PM25_1H)));
	/* The 45th minute arrives late and makes it valid: mean of 10..54. */
	ck_assert_int_eq(feed(s1, at(DAY, 13, 44), 60, POL_PM25, 54), AQ_OK);
	ck_assert_int_eq(win_cell_hour(w, cell, hour_of(DAY, 14), &st), AQ_OK);
	ck_assert(st.in.has & IND_BIT(IND_PM25_1H));
	ck_assert_int_eq(st.in.v[IND_PM25_1H], fx("32"));
	ck_assert_int_eq(st.in.unit[IND_PM25_1H], UNIT_UGM3);
}
END_TEST

START_TEST(period_clipped_to_hour)
{
	struct win_hour st;

	/* A 3600 s reading at 13:30 covers only 30 minutes of its hour. */
	ck_assert_int_eq(feed(s1, at(DAY, 13, 30), 3600, POL_O3, 80), AQ_OK);
	ck_assert_int_eq(win_cell_hour(w, cell, hour_of(DAY, 14), &st), AQ_OK);
	ck_assert(!(st.in.has & IND_BIT(IND_O3_1H)));
	/* Overlapping readings do not add coverage twice. */
	ck_assert_int_eq(feed(s1, at(DAY, 13, 40), 1200, POL_O3, 80), AQ_OK);
	ck_assert_int_eq(win_cell_hour(w, cell, hour_of(DAY, 14), &st), AQ_OK);
	ck_assert(!(st.in.has & IND_BIT(IND_O3_1H)));
	ck_assert_int_eq(feed(s1, at(DAY, 13, 15), 900, POL_O3, 80), AQ_OK);
	ck_assert_int_eq(win_cell_hour(w, cell, hour_of(DAY, 14), &st), AQ_OK);
	ck_assert(st.in.has & IND_BIT(IND_O3_1H));
}
END_TEST

START_TEST(cell_mean_of_valid_sensors)
{
	struct win_hour st;

	ck_assert_int_eq(feed(s1, at(DAY, 9, 0), 3600, POL_NO2, 40), AQ_OK);
	ck_assert_int_eq(feed(s2, at(DAY, 9, 0), 3600, POL_NO2, 45.5), AQ_OK);
	ck_assert_int_eq(win_cell_hour(w, cell, hour_of(DAY, 10), &st), AQ_OK);
	ck_assert_int_eq(st.in.v[IND_NO2_1H], fx("42.75"));
	/* A sensor with too little coverage is left out, not averaged in. */
	ck_assert_int_eq(feed(s1, at(DAY, 10, 0), 3600, POL_NO2, 40), AQ_OK);
	ck_assert_int_eq(feed(s2, at(DAY, 10, 0), 60, POL_NO2, 400), AQ_OK);
	ck_assert_int_eq(win_cell_hour(w, cell, hour_of(DAY, 11), &st), AQ_OK);
	ck_assert_int_eq(st.in.v[IND_NO2_1H], fx("40"));
}
END_TEST

START_TEST(mean_24h_needs_20_hours)
{
	struct win_hour st;

	/* Hours labelled 01..19 only: 19 valid hours, no 24-hour mean. */
	feed_hours(s1, DAY, 1, 19, POL_PM25, 50);
	ck_assert_int_eq(feed(s1, at(DAY, 23, 0), 3600, POL_PM25, 90), AQ_OK);
	ck_assert_int_eq(win_cell_hour(w, cell, hour_of(DAY, 23), &st), AQ_OK);
	ck_assert(!(st.in.has & IND_BIT(IND_PM25_24H)));
	ck_assert_int_eq(st.n[IND_PM25_24H], 19);
	/* The 20th hour (labelled 20:00, arriving in time) makes a mean. */
	ck_assert_int_eq(feed(s1, at(DAY, 22, 0), 3600, POL_PM25, 70), AQ_OK);
	ck_assert_int_eq(win_cell_hour(w, cell, hour_of(DAY, 23), &st), AQ_OK);
	ck_assert(st.in.has & IND_BIT(IND_PM25_24H));
	ck_assert_int_eq(st.n[IND_PM25_24H], 20);
	ck_assert_int_eq(st.in.v[IND_PM25_24H], fx("51"));
}
END_TEST

START_TEST(mean_8h_needs_6_hours)
{
	struct win_hour st;

	feed_hours(s1, DAY, 10, 14, POL_O3, 100);
	ck_assert_int_eq(win_cell_hour(w, cell, hour_of(DAY, 14), &st), AQ_OK);
	ck_assert(!(st.in.has & IND_BIT(IND_O3_8H)));
	feed_hours(s1, DAY, 15, 15, POL_O3, 130);
	ck_assert_int_eq(win_cell_hour(w, cell, hour_of(DAY, 15), &st), AQ_OK);
	ck_assert_int_eq(st.in.v[IND_O3_8H], fx("105"));
	ck_assert_int_eq(st.n[IND_O3_8H], 6);
}
END_TEST

START_TEST(late_readings)
{
	struct win_hour st;

	feed_hours(s1, DAY, 10, 12, POL_SO2, 10);
	/* The newest reading is at 11:00, so 09:00 is still on time (2 h)
	 * and updates the hour labelled 10:00 ... */
	ck_assert_int_eq(feed(s2, at(DAY, 9, 0), 3600, POL_SO2, 30), AQ_OK);
	ck_assert_int_eq(win_cell_hour(w, cell, hour_of(DAY, 10), &st), AQ_OK);
	ck_assert_int_eq(st.in.v[IND_SO2_1H], fx("20"));
	/* ... and one second earlier is refused and changes nothing. */
	ck_assert_int_eq(
	    feed(s2, at(DAY, 9, 0) - 1, 3600, POL_SO2, 900), AQ_ERR_STALE);
	ck_assert_int_eq(win_cell_hour(w, cell, hour_of(DAY, 9), &st), AQ_OK);
	ck_assert(!(st.in.has & IND_BIT(IND_SO2_1H)));
	/* Lateness is measured from the cell's newest reading, whichever
	 * sensor sent it. */
	ck_assert_int_eq(feed(s2, at(DAY, 13, 0), 60, POL_SO2, 1), AQ_OK);
	ck_assert_int_eq(
	    feed(s1, at(DAY, 10, 59), 60, POL_SO2, 1), AQ_ERR_STALE);
}
END_TEST

START_TEST(late_reading_updates_dependants)
{
	struct win_hour st;

	feed_hours(s1, DAY, 6, 9, POL_CO, 1.0);
	feed_hours(s1, DAY, 11, 11, POL_CO, 1.0);
	ck_assert_int_eq(win_cell_hour(w, cell, hour_of(DAY, 11), &st), AQ_OK);
	ck_assert(!(st.in.has & IND_BIT(IND_CO_8H)));
	/* Hour 10:00 arrives late: the 8-hour mean at 11:00 becomes valid. */
	ck_assert_int_eq(feed(s1, at(DAY, 9, 0), 3600, POL_CO, 1.6), AQ_OK);
	ck_assert_int_eq(win_cell_hour(w, cell, hour_of(DAY, 11), &st), AQ_OK);
	ck_assert_int_eq(st.in.v[IND_CO_8H], fx("1.1"));
	ck_assert_int_eq(st.in.unit[IND_CO_8H], UNIT_MGM3);
}
END_TEST

START_TEST(duplicates_change_nothing)
{
	struct win_hour st;

	ck_assert_int_eq(feed(s1, at(DAY, 9, 0), 3600, POL_PM10, 100), AQ_OK);
	ck_assert_int_eq(
	    feed(s1, at(DAY, 9, 0), 3600, POL_PM10, 300), AQ_ERR_DUP);
	/* Another sensor at the same time is not a duplicate. */
	ck_assert_int_eq(feed(s2, at(DAY, 9, 0), 3600, POL_PM10, 200), AQ_OK);
	ck_assert_int_eq(win_cell_hour(w, cell, hour_of(DAY, 10), &st), AQ_OK);
	ck_assert_int_eq(st.in.v[IND_PM10_1H], fx("150"));
}
END_TEST

START_TEST(image_resumes_exactly)
{
	struct win_conf conf = {
	    .tz = "Asia/Shanghai",
	    .lateness = 7200,
	    .cells_max = 4,
	    .sensors_max = 8,
	    .limits = {LIMITS_GB3095_2026, 2},
	};
	struct win *v;
	struct win_hour a, b;
	char msg[200];
	size_t len;
	uint32_t c2, s3;
	void *buf;

	double t[WX_COUNT] = {0};

	/* A late sensor found at run time, an open hour (with weather), a
	 * duplicate. */
	ck_assert_int_eq(win_add_sensor(w, "found", cell, &s3), AQ_OK);
	feed_hours(s1, DAY, 1, 20, POL_PM25, 40);
	ck_assert_int_eq(feed(s3, at(DAY, 20, 0), 1800, POL_PM25, 80), AQ_OK);
	t[WX_TEMP] = 8;
	ck_assert_int_eq(
	    feed_wx(s1, at(DAY, 20, 0), 1800, 1u << WX_TEMP, t), AQ_OK);
	ck_assert_ptr_nonnull(buf = malloc(win_image_size(w)));
	len = win_image_save(w, buf);
	ck_assert_uint_le(len, win_image_size(w));

	ck_assert_ptr_nonnull(v = win_new(&conf));
	ck_assert_int_eq(win_add_cell(v, "r001c001", &c2), AQ_OK);
	ck_assert_int_eq(win_add_sensor(v, "s1", c2, &s3), AQ_OK);
	ck_assert_int_eq(win_add_sensor(v, "s2", c2, &s3), AQ_OK);
	ck_assert_int_eq(win_image_load(v, buf, len, msg, sizeof(msg)), AQ_OK);
	ck_assert_int_eq(win_find_sensor(v, "found"), 2);
	ck_assert_int_eq(win_cell_newest(v, c2), win_cell_newest(w, cell));
	/* The open hour goes on where it was: the same reading is a
	 * duplicate, the other half of the hour completes it. */
	{
		struct reading r = {.ts = at(DAY, 20, 0),
		    .period = 1800,
		    .has = 1u << POL_PM25};

		r.v[POL_PM25] = 80;
		ck_assert_int_eq(win_update(v, 2, &r), AQ_ERR_DUP);
		r.ts = at(DAY, 20, 30);
		r.v[POL_PM25] = 20;
		ck_assert_int_eq(win_update(v, 2, &r), AQ_OK);
	}
	ck_assert_int_eq(feed(2, at(DAY, 20, 30), 1800, POL_PM25, 20), AQ_OK);
	/* The open hour's weather sums went on too: 8 then 12 degC. */
	{
		struct reading r = {.ts = at(DAY, 20, 30),
		    .period = 1800,
		    .has = 1u << POL_CO,
		    .wx_has = 1u << WX_TEMP};

		r.v[POL_CO] = 0.5;
		r.wx[WX_TEMP] = 12;
		ck_assert_int_eq(win_update(v, s1, &r), AQ_OK);
		ck_assert_int_eq(win_update(w, s1, &r), AQ_OK);
	}
	ck_assert_int_eq(win_cell_hour(w, cell, hour_of(DAY, 21), &a), AQ_OK);
	ck_assert_int_eq(win_cell_hour(v, c2, hour_of(DAY, 21), &b), AQ_OK);
	ck_assert_double_eq_tol(a.wx.temp, 10, 1e-9);
	ck_assert_double_eq_tol(b.wx.temp, a.wx.temp, 1e-12);
	ck_assert_int_eq(a.in.v[IND_PM25_1H], fx("50"));
	ck_assert_int_eq(b.in.v[IND_PM25_1H], a.in.v[IND_PM25_1H]);
	ck_assert_int_eq(b.in.v[IND_PM25_24H], a.in.v[IND_PM25_24H]);
	ck_assert_mem_eq(b.n, a.n, sizeof(a.n));

	/* Another grid, a cut image, another layout: refused, unchanged. */
	win_free(v);
	ck_assert_ptr_nonnull(v = win_new(&conf));
	ck_assert_int_eq(win_add_cell(v, "r009c009", &c2), AQ_OK);
	ck_assert_int_eq(
	    win_image_load(v, buf, len, msg, sizeof(msg)), AQ_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(msg, "grid"));
	ck_assert_int_eq(win_cell_newest(v, c2), WIN_NO_HOUR);
	ck_assert_int_eq(
	    win_image_load(v, buf, len - 1, msg, sizeof(msg)), AQ_ERR_INVAL);
	((char *)buf)[0] ^= 1;
	ck_assert_int_eq(
	    win_image_load(v, buf, len, msg, sizeof(msg)), AQ_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(msg, "layout"));
	win_free(v);
	free(buf);
}
END_TEST

START_TEST(bad_readings_change_nothing)
{
	struct reading r = {.ts = at(DAY, 9, 0), .period = 60, .has = 3};
	struct win_hour st;

	r.v[POL_PM25] = 10;
	r.v[POL_PM10] = -1;
	ck_assert_int_eq(win_update(w, s1, &r), AQ_ERR_RANGE);
	r.v[POL_PM10] = NAN;
	ck_assert_int_eq(win_update(w, s1, &r), AQ_ERR_RANGE);
	r.v[POL_PM10] = 20;
	r.period = 0;
	ck_assert_int_eq(win_update(w, s1, &r), AQ_ERR_RANGE);
	ck_assert_int_eq(win_update(w, 99, &r), AQ_ERR_INVAL);
	ck_assert(win_cell_newest_hour(w, cell) == WIN_NO_HOUR);
	ck_assert_int_eq(
	    win_cell_hour(w, cell, hour_of(DAY, 10), &st), AQ_ERR_RANGE);
}
END_TEST

START_TEST(window_bounds)
{
	struct win_hour st;

	feed_hours(s1, DAY, 1, 1, POL_PM25, 10);
	ck_assert_int_eq(win_cell_hour(w, cell, hour_of(DAY, 1), &st), AQ_OK);
	/* 48 hours on, the first hour has left the window. */
	ck_assert_int_eq(
	    feed(s1, at(DAY, 0, 0) + 48 * 3600, 3600, POL_PM25, 10), AQ_OK);
	ck_assert_int_eq(
	    win_cell_hour(w, cell, hour_of(DAY, 1), &st), AQ_ERR_RANGE);
	ck_assert_int_eq(win_cell_hour(w, cell, hour_of(DAY, 2), &st), AQ_OK);
	ck_assert(!(st.in.has & IND_BIT(IND_PM25_1H)));
	ck_assert_int_eq(
	    win_cell_hour(w, cell, hour_of(DAY, 1) + 49, &st), AQ_ERR_RANGE);
}
END_TEST

START_TEST(day_boundaries_local)
{
	struct win_day d;

	/* Day D is hours 01:00 ... 24:00 local: readings from 00:00 local on
	 * D to 23:59 belong to it, and 00:00 of D + 1 does not. */
	feed_hours(s1, DAY, 1, 24, POL_PM25, 40);
	ck_assert_int_eq(feed(s1, at(DAY, 24, 0), 3600, POL_PM25, 400), AQ_OK);
	ck_assert_int_eq(win_cell_day(w, cell, DAY, false, &d), AQ_OK);
	ck_assert_int_eq(d.in.v[IND_PM25_24H], fx("40"));
	ck_assert_int_eq(d.n[IND_PM25_24H], 24);
	ck_assert_int_eq(d.in.v[IND_PM25_1H], fx("40"));
	ck_assert_int_eq(tz_hour_day(win_tz(w), hour_of(DAY, 24)), DAY);
	ck_assert_int_eq(tz_hour_day(win_tz(w), hour_of(DAY, 1)), DAY);
	ck_assert_int_eq(
	    tz_hour_day(win_tz(w), hour_of(DAY, 24) + 1), 20261129);
}
END_TEST

START_TEST(day_boundaries_utc)
{
	struct win_conf conf = {.tz = "UTC",
	    .lateness = 7200,
	    .cells_max = 1,
	    .sensors_max = 1,
	    .limits = {LIMITS_GB3095_2026, 2}};
	struct win *u = win_new(&conf);
	uint32_t c, s;
	struct win_day d;
	struct reading r = {.period = 3600, .has = 1u << POL_PM25};

	ck_assert_ptr_nonnull(u);
	ck_assert_int_eq(win_add_cell(u, "c", &c), AQ_OK);
	ck_assert_int_eq(win_add_sensor(u, "s", c, &s), AQ_OK);
	/* The same instants as day_boundaries_local, read in UTC: local
	 * 00:00 ... 23:00 of DAY are 16:00 of the day before ... 15:00. */
	for (int h = 0; h < 25; h++) {
		r.ts = at(DAY, h, 0);
		r.v[POL_PM25] = h < 24 ? 40 : 400;
		ck_assert_int_eq(win_update(u, s, &r), AQ_OK);
	}
	ck_assert_int_eq(win_cell_day(u, c, DAY, false, &d), AQ_OK);
	ck_assert_int_eq(d.n[IND_PM25_24H], 17);
	ck_assert(!(d.in.has & IND_BIT(IND_PM25_24H)));
	win_free(u);
	/* Leave the process zone as the other tests expect it. */
	ck_assert_int_eq(tz_init(&(struct tz){0}, "Asia/Shanghai"), AQ_OK);
}
END_TEST

/* O3 of a day whose hours labelled 01..missing are absent. */
static void
o3_day(int missing, double level)
{
	feed_hours(s1, DAY, missing + 1, 24, POL_O3, level);
}

START_TEST(mda8_14_windows)
{
	struct win_day d;

	/* Hours 01..05 missing: windows ending 08, 09, 10 have 3-5 hours;
	 * 11:00 onwards have >= 6: 14 valid windows. */
	o3_day(5, 120);
	ck_assert_int_eq(win_cell_day(w, cell, DAY, false, &d), AQ_OK);
	ck_assert_int_eq(d.n[IND_O3_8H], 14);
	ck_assert(d.in.has & IND_BIT(IND_O3_8H));
	ck_assert_int_eq(d.in.v[IND_O3_8H], fx("120"));
	/* The daily maximum 1-hour value needs 20 hours: 19 here. */
	ck_assert(!(d.in.has & IND_BIT(IND_O3_1H)));
}
END_TEST

START_TEST(mda8_13_windows)
{
	struct win_day d;

	o3_day(6, 120);
	ck_assert_int_eq(win_cell_day(w, cell, DAY, false, &d), AQ_OK);
	ck_assert_int_eq(d.n[IND_O3_8H], 13);
	ck_assert(!(d.in.has & IND_BIT(IND_O3_8H)));
}
END_TEST

START_TEST(mda8_13_windows_over_limit)
{
	struct win_day d;

	/* 13 windows, but the maximum exceeds the grade II limit (160). */
	o3_day(6, 161);
	ck_assert_int_eq(win_cell_day(w, cell, DAY, false, &d), AQ_OK);
	ck_assert_int_eq(d.n[IND_O3_8H], 13);
	ck_assert(d.in.has & IND_BIT(IND_O3_8H));
	ck_assert_int_eq(d.in.v[IND_O3_8H], fx("161"));
}
END_TEST

START_TEST(mda8_13_windows_at_limit)
{
	struct win_day d;

	/* Equal to the limit complies, so 13 windows stay invalid. */
	o3_day(6, 160);
	ck_assert_int_eq(win_cell_day(w, cell, DAY, false, &d), AQ_OK);
	ck_assert(!(d.in.has & IND_BIT(IND_O3_8H)));
}
END_TEST

START_TEST(mda8_takes_the_maximum_window)
{
	struct win_day d;

	/* 100 all day, 180 for hours 13..16: best window 13..20 or so:
	 * (4 * 180 + 4 * 100) / 8 = 140. */
	feed_hours(s1, DAY, 1, 12, POL_O3, 100);
	feed_hours(s1, DAY, 13, 16, POL_O3, 180);
	feed_hours(s1, DAY, 17, 24, POL_O3, 100);
	ck_assert_int_eq(feed(s1, at(DAY, 24, 0), 60, POL_O3, 0), AQ_OK);
	ck_assert_int_eq(win_cell_day(w, cell, DAY, false, &d), AQ_OK);
	ck_assert_int_eq(d.n[IND_O3_8H], 17);
	ck_assert_int_eq(d.in.v[IND_O3_8H], fx("140"));
	ck_assert_int_eq(d.in.v[IND_O3_1H], fx("180"));
}
END_TEST

START_TEST(mda8_us_windows)
{
	struct win_day d;

	/* US windows start 07:00 ... 23:00: the last ones need the next
	 * day's hours up to 07:00 (labelled 07:00 of D + 1). */
	feed_hours(s1, DAY, 1, 24, POL_O3, 100);
	feed_hours(s1, 20261129, 1, 7, POL_O3, 200);
	ck_assert_int_eq(win_cell_day(w, cell, DAY, true, &d), AQ_OK);
	ck_assert_int_eq(d.n[IND_O3_8H], 17);
	/* Window starting 23:00: hour 24:00 of D (100), 01..07 of D+1 (200). */
	ck_assert_int_eq(d.in.v[IND_O3_8H], fx("187.5"));
	ck_assert_int_eq(win_cell_day(w, cell, DAY, false, &d), AQ_OK);
	ck_assert_int_eq(d.in.v[IND_O3_8H], fx("100"));
}
END_TEST

START_TEST(daily_means_and_maxima)
{
	struct win_day d;

	for (int h = 1; h <= 24; h++) {
		ck_assert_int_eq(
		    feed(s1, at(DAY, h - 1, 0), 3600, POL_SO2, h), AQ_OK);
		ck_assert_int_eq(feed(s1, at(DAY, h - 1, 0) + 1, 3600, POL_CO,
				     h <= 8 ? 2.0 : 1.0),
		    AQ_OK);
	}
	ck_assert_int_eq(win_cell_day(w, cell, DAY, false, &d), AQ_OK);
	ck_assert_int_eq(d.in.v[IND_SO2_24H], fx("12.5"));
	ck_assert_int_eq(d.in.v[IND_SO2_1H], fx("24"));
	ck_assert_int_eq(d.in.v[IND_CO_8H], fx("2"));
	ck_assert_int_eq(d.in.v[IND_CO_24H], fx("1.333333333"));
	ck_assert_int_eq(d.in.v[IND_CO_1H], fx("2"));
}
END_TEST

START_TEST(ids_and_capacity)
{
	uint32_t x;

	ck_assert_int_eq(win_add_cell(w, "r001c001", &x), AQ_ERR_INVAL);
	ck_assert_int_eq(win_add_cell(w, "", &x), AQ_ERR_INVAL);
	ck_assert_int_eq(win_add_cell(w, "c2", &x), AQ_OK);
	ck_assert_int_eq(win_add_cell(w, "c3", &x), AQ_OK);
	ck_assert_int_eq(win_add_cell(w, "c4", &x), AQ_OK);
	ck_assert_int_eq(win_add_cell(w, "c5", &x), AQ_ERR_FULL);
	ck_assert_int_eq(win_find_cell(w, "c3"), 2);
	ck_assert_int_eq(win_find_cell(w, "c5"), -1);
	ck_assert_int_eq(win_add_sensor(w, "s1", 0, &x), AQ_ERR_INVAL);
	ck_assert_int_eq(win_add_sensor(w, "s9", 7, &x), AQ_ERR_INVAL);
	ck_assert_int_eq(win_find_sensor(w, "s2"), s2);
	ck_assert_str_eq(win_sensor_id(w, s2), "s2");
	ck_assert_uint_eq(win_sensor_cell(w, s2), cell);
	/* The cell's hours and their weather, and the weather sums of the
	 * hours still open (3 with a lateness of 2 hours). */
	ck_assert_uint_le(win_cell_bytes(w), 2048);
}
END_TEST

static Suite *
win_suite(void)
{
	Suite *s = suite_create("win");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, coverage_45_minutes);
	tcase_add_test(tc, period_clipped_to_hour);
	tcase_add_test(tc, cell_mean_of_valid_sensors);
	tcase_add_test(tc, mean_24h_needs_20_hours);
	tcase_add_test(tc, mean_8h_needs_6_hours);
	tcase_add_test(tc, late_readings);
	tcase_add_test(tc, late_reading_updates_dependants);
	tcase_add_test(tc, duplicates_change_nothing);
	tcase_add_test(tc, bad_readings_change_nothing);
	tcase_add_test(tc, window_bounds);
	tcase_add_test(tc, day_boundaries_local);
	tcase_add_test(tc, day_boundaries_utc);
	tcase_add_test(tc, mda8_14_windows);
	tcase_add_test(tc, mda8_13_windows);
	tcase_add_test(tc, mda8_13_windows_over_limit);
	tcase_add_test(tc, mda8_13_windows_at_limit);
	tcase_add_test(tc, mda8_takes_the_maximum_window);
	tcase_add_test(tc, mda8_us_windows);
	tcase_add_test(tc, daily_means_and_maxima);
	tcase_add_test(tc, ids_and_capacity);
	tcase_add_test(tc, image_resumes_exactly);
	tcase_add_test(tc, weather_vector_mean_wind);
	tcase_add_test(tc, weather_missing_fields);
	tcase_add_test(tc, weather_hour_boundaries);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(win_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
