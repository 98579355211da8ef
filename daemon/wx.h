/*
 * wx: the weather of a cell-hour, from the weather fields its sensors
 * report with their readings (temperature, relative humidity, pressure,
 * rain, wind speed and direction).
 *
 * The engine (win.h) adds each reading's fields to the sums of the
 * reading's own hour (the hour its pollutants go to), weighted by the
 * seconds of that hour the reading covers, so a sensor reporting all hour
 * weighs as much as any other whatever its interval.  The hour's values:
 * the weighted means of temperature, humidity, pressure and wind speed
 * (a scalar mean, as an anemometer's hourly mean); the direction of the
 * vector mean of the wind (speed-weighted, so 350 and 10 degrees give 0,
 * not 180; 0 when the vectors cancel or all is calm); rain, each reading's
 * mm spread evenly over its period, as the mean rate times one hour.  A
 * field no reading of the hour had is absent (NaN); a field outside its
 * plausible range (WX_*_MIN/MAX below) is ignored.  No coverage rule: a
 * few minutes of weather describe the hour well enough for the forecast.
 *
 * Kept values are rounded (struct wx_packed, 12 bytes): 0.01 degC, 0.01 %,
 * 0.1 hPa, 0.01 mm, 0.01 m/s, 0.1 degree; wx_unpack() gives the same
 * doubles wherever it runs, so what the store keeps, a restart's training
 * reads and aqgrid-eval's daemon path feed are the values the live models
 * get.
 *
 * The forecast (forecast.h) wants the dew point: wx_fc_obs() derives it
 * from the hour's mean temperature and humidity (Magnus formula,
 * Alduchov and Eskridge 1996 coefficients; wx_dewpoint, wx_rh).
 *
 * Pure functions on caller-owned values; never allocates, never logs.
 */
#ifndef AQ_DAEMON_WX_H
#define AQ_DAEMON_WX_H

#include <stdint.h>

#include "daemon/forecast.h"

enum wx_field { WX_TEMP, WX_RH, WX_PRES, WX_RAIN, WX_WS, WX_WD, WX_COUNT };

/* Plausible values of a reading's fields; others are ignored. */
#define WX_TEMP_MIN (-80.0) /* degC */
#define WX_TEMP_MAX 60.0
#define WX_PRES_MIN 500.0 /* hPa */
#define WX_PRES_MAX 1100.0
#define WX_RAIN_MAX 300.0 /* mm an hour, as a rate over the period */
#define WX_WS_MAX 75.0    /* m/s */

/* A cell-hour's weather; NaN where absent. */
struct wx_hour {
	double temp; /* degC */
	double rh;   /* % */
	double pres; /* hPa */
	double rain; /* mm in the hour */
	double wspd; /* m/s, scalar mean */
	double wdir; /* degrees the wind blows from, 0 = north; [0, 360) */
};

/* The sums of one cell-hour while readings may still reach it (80
 * bytes; the wind's vector in float, ample for a direction kept to 0.1
 * degree). */
struct wx_acc {
	int32_t hour;          /* hour index (tz.h), WX_NO_HOUR: unused */
	uint32_t w[WX_COUNT];  /* seconds weighing each field's sum */
	float u, v;            /* the wind's vector sums, east and north */
	double sum[WX_WS + 1]; /* temp, rh, pres, rain, ws */
};
#define WX_NO_HOUR INT32_MIN

/* A cell-hour's weather as kept: INT16_MIN where absent. */
struct wx_packed {
	int16_t v[WX_COUNT];
};

/* Sets every field of *o to NaN. */
void wx_clear(struct wx_hour *o);
void wx_packed_clear(struct wx_packed *p);
/* Empty sums for hour. */
void wx_acc_init(struct wx_acc *a, int32_t hour);
/*
 * Adds a reading's fields: has holds 1u << WX_x for each v[] given (rain:
 * mm over the reading's period; direction in degrees it blows from,
 * needing the speed too), covering secs seconds of the hour (>= 1) of a
 * period of period seconds (>= secs).
 */
void wx_acc_add(struct wx_acc *a, uint32_t has, const double v[WX_COUNT],
    int32_t secs, int32_t period);
/* The hour's values from its sums. */
void wx_acc_pack(const struct wx_acc *a, struct wx_packed *out);
void wx_unpack(const struct wx_packed *p, struct wx_hour *out);

/* Dew point (degC) of air at temp degC and rh %, NaN when either is
 * NaN or rh <= 0; and the relative humidity (%, at most 100) of air at
 * temp with dew point dewp. */
double wx_dewpoint(double temp, double rh);
double wx_rh(double temp, double dewp);

/* Sets o's weather (temp, dewp, pres, rain, wspd, wdir) from w (NULL:
 * all NaN); leaves o's other fields. */
void wx_fc_obs(const struct wx_hour *w, struct fc_obs *o);

#endif
