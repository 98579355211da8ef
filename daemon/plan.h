/*
 * plan: the district plan's indicators over a date range (good-days ratio,
 * PM2.5 mean with the annual validity rule, O3 MDA8 90th percentile,
 * exceedance days per pollutant), from the store's daily rows
 * (../shared/STANDARDS.md section 2; README "Plan indicators").
 *
 * An area's day (or the grid's) is formed the way a city's is from its
 * stations: each daily statistic (daily means, daily maxima, MDA8) is the
 * mean over the cells with a valid value of it, and the daily AQI and the
 * exceedances are computed from those means (plan_acc_add(), then
 * plan_day_form()).  plan_compute() summarises days in a date range.
 *
 * Everything but plan_read() and the cache is pure: no logging, no locks,
 * and only plan_compute() allocates (scratch it frees).  plan_read()
 * scans the store once (store_daily_scan()).  Returns AQ_OK or AQ_ERR_*.
 */
#ifndef AQ_DAEMON_PLAN_H
#define AQ_DAEMON_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/aqi.h"
#include "daemon/conf.h"
#include "daemon/err.h"
#include "daemon/limits.h"
#include "daemon/pol.h"
#include "daemon/store.h"

/* The percentile of O3 MDA8 evaluated, and the AQI of a good day. */
#define PLAN_O3_PERCENTILE 90
#define PLAN_GOOD_AQI 100
/* The annual rule: daily values a year, a month, and in February. */
#define PLAN_NEED_YEAR 324
#define PLAN_NEED_MONTH 27
#define PLAN_NEED_FEB 25
/* Longest date range plan_read() accepts, days. */
#define PLAN_DAYS_MAX 3700

/* Sums of one area's cell rows of one date. */
struct plan_acc {
	int64_t sum[IND_AQI_COUNT];
	uint32_t n[IND_AQI_COUNT];
	uint32_t rows; /* cell rows added (with a value) */
};

/* An area's (or the grid's) day. */
struct plan_day {
	int32_t date;              /* yyyymmdd */
	int aqi;                   /* daily AQI of the means; -1: NA */
	uint32_t has;              /* IND_BIT()s of v */
	int64_t v[IND_AQI_COUNT];  /* means over cells (fix) */
	uint32_t n[IND_AQI_COUNT]; /* cells behind each mean */
	uint32_t cells;            /* cells with a row holding a value */
	uint32_t exceeds; /* IND_BIT()s of plan_stat over their daily limit */
};

/* Whether a mean or percentile meets the annual validity rule, scaled to
 * the range (see plan_need()). */
struct plan_valid {
	bool valid;
	uint32_t got;                  /* days with a value in the range */
	uint32_t need;                 /* what the rule asks for the range */
	uint32_t months, months_short; /* months touched, months under need */
};

struct plan_result {
	int32_t from, to;    /* yyyymmdd */
	uint32_t days;       /* calendar days in the range */
	uint32_t data_days;  /* days with a cell row holding a value */
	uint32_t valid_days; /* days with a daily AQI */
	uint32_t good_days;  /* of those, AQI <= 100 */
	bool pm25_known;     /* pm25_mean set: at least one daily mean */
	int64_t pm25_mean;   /* mean of the daily means (fix) */
	struct plan_valid pm25_valid;
	bool o3_known; /* o3_p90 set */
	int64_t o3_p90;
	struct plan_valid o3_valid;
	uint32_t stat_days[POL_COUNT]; /* days with the daily statistic */
	uint32_t exceed_days[POL_COUNT];
	uint32_t exceed_any; /* days with any pollutant over its limit */
};

/* The daily statistic of each pollutant that exceedances are counted on
 * (its daily mean; MDA8 for O3). */
enum ind plan_stat(enum pol p);

/* Adds a cell's daily row (borrowed) to an area day's sums; a row
 * without any valid statistic is left out (it is no day with data). */
void plan_acc_add(struct plan_acc *a, const struct store_day *d);

/* The day of date from its sums: means rounded to the nearest fix unit,
 * the daily AQI by o (report forced to daily; -1 when NA) and the
 * exceedances of the plan_stat() indicators by l on that date. */
void plan_day_form(const struct plan_acc *a, int32_t date,
    const struct aqi_opts *o, const struct limits_opts *l,
    struct plan_day *out);

/*
 * The p-th percentile (0..100) of v[0..n-1] (n >= 1), which is sorted in
 * place: k = 1 + (n - 1) p / 100, s = floor(k), x_s + (k - s)(x_s+1 - x_s),
 * exactly (rounded to the nearest fix unit).  AQ_ERR_INVAL for n == 0.
 */
int plan_percentile(
    int64_t *v, size_t n, unsigned p, int64_t *out) AQ_MUSTCHECK;

/*
 * The annual rule scaled to the range from..to: a month wholly in the
 * range needs 27 values (25 in February, leap year or not), a year wholly
 * in it 324 (even a leap year); a part of a month or year needs its
 * share, rounded up (ceil(days * 27 / days of the month), ceil(days * 324
 * / 365)), a part of a year never more than its months' needs together.
 * per_day[k] says whether day from + k has a value.  Fills *out.
 */
void plan_need(
    int32_t from, int32_t to, const bool *per_day, struct plan_valid *out);

/*
 * Summarises days (ascending dates, one per date; dates outside from..to
 * are skipped) over from..to.  AQ_ERR_INVAL for from > to or a range over
 * PLAN_DAYS_MAX days, AQ_ERR_NOMEM.
 */
int plan_compute(const struct plan_day *days, size_t n, int32_t from,
    int32_t to, struct plan_result *out) AQ_MUSTCHECK;

/*
 * Forms the days from..to of area (index into c->areas; -1 for the whole
 * grid) from the store in one scan.  *out (returns owned, free()) holds
 * one day per date with a cell row, ascending, *n of them.  AQ_ERR_INVAL
 * for a bad area or range, AQ_ERR_IO, AQ_ERR_NOMEM.
 */
int plan_read(struct store *s, const struct conf *c, int64_t area, int32_t from,
    int32_t to, struct plan_day **out, size_t *n) AQ_MUSTCHECK;

/*
 * A cache of formed days for plan_read()'s callers that ask again and
 * again (the API): the days of every area and of the grid, one ring of
 * PLAN_CACHE_DAYS dates each, filled by one scan of the dates missing and
 * kept until the store says daily rows of those dates changed or were
 * pruned (store_daily_dirty(); the cache is its one consumer) or the
 * configuration's areas, cells or standards change.  Thread-safe (one
 * mutex: requests wait for each other's scans).
 */
#define PLAN_CACHE_DAYS 800

struct plan_cache;

/* Returns owned, or NULL when out of memory. */
struct plan_cache *plan_cache_new(void);
void plan_cache_free(struct plan_cache *pc);
/* A scan in progress, and every later one, ends with AQ_ERR_STALE: for
 * shutting down without waiting for a long first read.  NULL: no-op. */
void plan_cache_stop(struct plan_cache *pc);

/* As plan_read(); ranges longer than PLAN_CACHE_DAYS bypass the cache. */
int plan_cache_read(struct plan_cache *pc, struct store *s,
    const struct conf *c, int64_t area, int32_t from, int32_t to,
    struct plan_day **out, size_t *n) AQ_MUSTCHECK;

#endif
