/*
 * forecast: one cell's online forecast of hourly PM2.5 and O3 for the next
 * FC_H hours, each with an 80% prediction interval.
 *
 * The model works on 2 (sqrt(1 + x) - 1).  One feature vector per hour
 * (recent levels and means of both pollutants, the value 24 hours before,
 * the hour of day and the day of year as harmonics, squares and products
 * of the PM2.5 level, the neighbouring cells' mean, and the weather and
 * its products with the level when they are given) feeds FC_H linear
 * models per pollutant, one per horizon, fitted by recursive least
 * squares with exponential forgetting.  All horizons see the same inputs,
 * only delayed, so they share one inverse-covariance matrix: its gain
 * vector is computed once an hour and kept FC_H hours, and the model of
 * horizon h uses the gain of the hour it forecast from (exact RLS, about
 * n^2 + 2 FC_H n multiply-adds an hour, n = 39 inputs).  Per horizon, an
 * online quantile regression (0.1, 0.5, 0.9) of the out-of-sample residuals on
 * the forecast gives the median and the interval; its step shrinks as
 * 1 / sqrt(h).  From 36 hours on, the PM2.5 median is blended with the
 * model's own slow hour-of-day median, with a weight learnt online from
 * the out-of-sample absolute errors.  Weather fields are optional, each
 * may be NaN, and weather older than 6 hours counts as absent.
 *
 * Skill (aqgrid-eval on the Beijing data, scored 2016-03 to 2017-02, MAE
 * over the better of persistence and the hour-of-day median): PM2.5 0.914,
 * 0.867, 0.851, 0.865, 0.887 at 1, 3, 6, 12, 24 h with weather, 0.920,
 * 0.886, 0.884, 0.903, 0.921 without (the daemon today); about 1.0 at 48
 * and 72 h.  80% intervals cover 80-84%.
 *
 * Hours are fed in order, one call per hour; missing values are NaN.  A
 * gap of skipped hours is filled with missing hours (a gap longer than
 * FC_H hours restarts the lags).  Forecasts are available once the model
 * has seen FC_WARM hours with a value.
 *
 * Memory is allocated once by fc_new(); nothing else allocates.  Pure: no
 * I/O, no logging, not thread-safe (the caller serialises access).
 */
#ifndef AQ_DAEMON_FORECAST_H
#define AQ_DAEMON_FORECAST_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/aqi.h"
#include "daemon/err.h"

#define FC_H 72     /* horizons 1 ... FC_H hours */
#define FC_WARM 168 /* hours with a value before forecasts are given */

enum fc_pol { FC_PM25, FC_O3, FC_POL_COUNT };

/* One hour's cell values; NaN where absent. */
struct fc_obs {
	double v[FC_POL_COUNT];  /* ug/m3 */
	double nb[FC_POL_COUNT]; /* the neighbouring cells' mean, ug/m3 */
	double temp;             /* degC */
	double dewp;             /* dew point, degC */
	double pres;             /* hPa */
	double rain;             /* mm in the hour */
	double wspd;             /* m/s */
	double wdir;             /* degrees the wind blows from, 0 = north */
};

/* One horizon's forecast, in ug/m3: the median and the 80% interval. */
struct fc_point {
	double mid, lo, hi;
};

struct fc_model;

struct fc_model *fc_new(void);
void fc_free(struct fc_model *m);

/* Sets every field of *o to NaN. */
void fc_obs_clear(struct fc_obs *o);

/*
 * Feeds the hour with index hour (Unix seconds / 3600 of its end) and local
 * hour of day hod (0..23).  AQ_ERR_STALE when hour is not after the last
 * one fed (nothing changes), AQ_ERR_INVAL for a bad hod.
 */
int fc_hour(struct fc_model *m, int64_t hour, int hod,
    const struct fc_obs *o) AQ_MUSTCHECK;

/* Index of the last hour fed, or INT64_MIN. */
int64_t fc_last_hour(const struct fc_model *m);

/*
 * Forecast of pollutant p for the hours after the last one fed: out[k] is
 * hour last + 1 + k, k < FC_H.  Returns false (out unset) while the model is
 * warming up or has had no value of p for FC_H hours.
 */
bool fc_predict(
    const struct fc_model *m, enum fc_pol p, struct fc_point out[FC_H]);

/*
 * Daily AQI of one calendar day from its 24 hourly values (index 0 is the
 * hour ending 01:00, NaN where missing) under standard std: PM2.5 as the
 * 24-hour mean (>= 20 hours), O3 as the MDA8 (17 windows of 8 hours, each
 * >= 6 hours, >= 14 windows).  Stores the day's PM2.5 mean and MDA8 (NaN
 * when invalid) when the pointers are not NULL.  Returns the AQI of the
 * two, or -1 when neither is valid.
 */
int fc_day_aqi(enum aqi_std std, const double pm25[24], const double o3[24],
    double *pm25_24h, double *o3_8h);
/* The daily AQI of a PM2.5 24-hour mean and an O3 MDA8 (either NaN);
 * -1 when both are. */
int fc_aqi(enum aqi_std std, double pm25_24h, double o3_8h);

#endif
