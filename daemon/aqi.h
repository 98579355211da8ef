/*
 * aqi: the air-quality index by HJ 633-2026, HJ 633-2012 and US EPA 2024,
 * exactly as ../shared/STANDARDS.md decides (tables, rounding, special rules).
 * All arithmetic on concentrations is on fix values (fix.h): China's IAQI
 * ceiling, its GB/T 8170 input rounding (2026) and the US truncation and
 * half-up rounding are integer operations, so an exact IAQI stays exact.
 * Pure: static tables only, no allocation, no logging, thread-safe.
 *
 * Indicators each report reads (see pol.h for the names):
 *   hj633-2026 hourly: pm25_1h pm10_1h so2_1h no2_1h co_1h o3_1h
 *              daily:  pm25_24h pm10_24h so2_24h no2_24h co_24h o3_8h (MDA8)
 *   hj633-2012 hourly: so2_1h no2_1h co_1h o3_1h o3_8h, and pm25_1h pm10_1h
 *                      (decision D1; pm25_24h pm10_24h with pm2012_moving);
 *                      so2_24h only when so2_1h > 800 (decision D3)
 *              daily:  pm25_24h pm10_24h so2_24h no2_24h co_24h
 *                      o3_1h (daily max 1-hour) o3_8h (MDA8)
 *   epa-2024   hourly: pm25_1h pm10_1h (NowCast values, 24-hour rows)
 *                      o3_8h o3_1h co_8h so2_1h so2_24h no2_1h
 *              daily:  pm25_24h pm10_24h o3_8h o3_1h co_8h so2_1h so2_24h
 *                      no2_1h (daily maxima where the TAD says so)
 * PM 1-hour values use the 24-hour columns/rows throughout.
 */
#ifndef AQ_DAEMON_AQI_H
#define AQ_DAEMON_AQI_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/err.h"
#include "daemon/pol.h"

enum aqi_std { AQI_HJ633_2026, AQI_HJ633_2012, AQI_EPA_2024, AQI_STD_COUNT };
enum aqi_report { AQI_HOURLY, AQI_DAILY };

/* Special rules that fired, one bit each (aqi_note_text() describes). */
enum aqi_note {
	AQI_NOTE_CN_CAPPED = 1u << 0,        /* above the 500 row: 500 (D2) */
	AQI_NOTE_SO2_1H_AS_200 = 1u << 1,    /* 2026: SO2 1h > 800 */
	AQI_NOTE_SO2_1H_NA = 1u << 2,        /* 2012: SO2 1h > 800 */
	AQI_NOTE_SO2_FROM_24H = 1u << 3,     /* 2012 hourly / US: so2_24h */
	AQI_NOTE_O3_8H_AS_300 = 1u << 4,     /* 2026: O3 8h > 800 */
	AQI_NOTE_O3_8H_NA = 1u << 5,         /* 2012: O3 8h > 800 */
	AQI_NOTE_MISSING_HIDDEN = 1u << 6,   /* 2026 s5.3.1: NA, AQI <= 100 */
	AQI_NOTE_US_EXTRAPOLATED = 1u << 7,  /* above 500, extrapolated (D4) */
	AQI_NOTE_US_CAPPED = 1u << 8,        /* above 500, capped (--cap) */
	AQI_NOTE_US_O3_1H_LOW = 1u << 9,     /* O3 1h < 0.125 ppm: NA */
	AQI_NOTE_US_O3_8H_HIGH = 1u << 10,   /* O3 8h > 0.200 ppm: NA */
	AQI_NOTE_US_SO2_AS_200 = 1u << 11,   /* SO2 1h >= 305, 24h < 305 */
	AQI_NOTE_US_SO2_24H_ONLY = 1u << 12, /* only 24h < 305: NA */
	AQI_NOTE_COUNT_ = 13
};

struct aqi_opts {
	enum aqi_std std;
	enum aqi_report report;
	bool cap;           /* US: cap at 500 instead of extrapolating */
	bool pm2012_moving; /* 2012 hourly: PM from 24-hour moving means */
	uint32_t exempt;    /* 2026 s5.3.2: 1u << POL_x outside programme */
};

struct aqi_input {
	uint32_t has;              /* IND_BIT(i) for each value given */
	int64_t v[IND_COUNT];      /* fix value (fix.h) */
	enum unit unit[IND_COUNT]; /* unit of v[i] */
};

struct aqi_result {
	enum aqi_std std;
	enum aqi_report report;
	int aqi;             /* -1: NA */
	int level;           /* 1..6; 0 when aqi is NA */
	int iaqi[IND_COUNT]; /* -1: NA or not read by this report */
	/* The value each IAQI was computed from, in the standard's unit after
	 * conversion, rounding or truncation (fix); valid where iaqi >= 0. */
	int64_t value[IND_COUNT];
	uint32_t used;      /* indicators this report reads */
	uint32_t na;        /* of those, the ones without an IAQI */
	uint32_t ignored;   /* given but not read by this report */
	uint32_t primary;   /* ties all listed; none at China AQI <= 50 */
	uint32_t nonattain; /* 2012 only: IAQI > 100 */
	uint32_t converted; /* converted into the standard's unit first */
	uint32_t notes;     /* enum aqi_note bits */
};

/*
 * Computes the IAQIs and the AQI.  Returns AQ_OK and fills *out, or
 * AQ_ERR_RANGE when a given value is negative or too large to convert and
 * AQ_ERR_INVAL when a unit cannot apply (ppb for PM); *out is then unset.
 */
int aqi_compute(const struct aqi_opts *opts, const struct aqi_input *in,
    struct aqi_result *out) AQ_MUSTCHECK;

/* Level 1..6 of an AQI (>= 0) under a standard. */
int aqi_level(enum aqi_std std, int aqi);
/* Category (Chinese, English) and colour "#RRGGBB" of a level 1..6. */
const char *aqi_category(enum aqi_std std, int level);
const char *aqi_category_en(enum aqi_std std, int level);
const char *aqi_color(enum aqi_std std, int level);
/* "hj633-2026", "hj633-2012", "epa-2024"; from_name returns -1 if unknown. */
const char *aqi_std_name(enum aqi_std std);
int aqi_std_from_name(const char *s);
/* One sentence for a single aqi_note bit, e.g. "SO2 1h > 800 counted as
 * 200"; NULL for anything else. */
const char *aqi_note_text(uint32_t note);

/*
 * US NowCast (STANDARDS.md 4.5, decision D7).  c[0] is the current hour,
 * c[k] k hours earlier, n of them (n <= 12); present[k] false marks a
 * missing hour.  PM2.5 and PM10 in ug/m3 use 12 hours and the 0.5 minimum
 * weight; O3 in ppm uses AirNow's legacy 8-hour method.  Stores the result
 * truncated like the daily value (PM2.5 0.1, PM10 1, O3 0.001 ppm).
 * Returns AQ_OK, AQ_ERR_RANGE when fewer than 2 of the 3 most recent hours
 * are present (NA) and AQ_ERR_INVAL for another pollutant.
 */
int aqi_nowcast(enum pol p, const int64_t *c, const bool *present, int n,
    int64_t *out) AQ_MUSTCHECK;

#endif
