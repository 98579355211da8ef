/*
 * win: the engine's state -- cells, their sensors, and every cell's rolling
 * windows -- driven by event time only (tz.h), so a replay gives the answers
 * live data gives.
 *
 * A reading covers [ts, ts + period), clipped to its hour.  A sensor-hour
 * mean is valid when that sensor's readings of a pollutant cover at least 45
 * of the hour's minutes; a cell-hour value is the mean of its sensors' valid
 * sensor-hour means, kept to 0.001 unit.  From the cell-hour values come the
 * 24-hour moving means (>= 20 of 24 hours), the 8-hour moving means of O3
 * and CO (>= 6 of 8), the calendar-day means (>= 20 hours), the daily
 * maxima and the O3 MDA8 (17 windows ending 08:00 ... 24:00, >= 14 valid, or
 * fewer when the maximum exceeds the O3 8-hour limit).  An invalid
 * statistic is absent from the result, never a zero.
 *
 * The weather fields a reading carries go to its cell-hour's weather
 * (wx.h) with the same hour boundaries and clipping as its pollutants; the
 * cell keeps each of its WIN_HOURS hours' weather, and the sums of the
 * hours readings may still reach.
 *
 * A reading more than `lateness` seconds older than the newest one of its
 * cell is refused (AQ_ERR_STALE); one with the same sensor and timestamp as
 * an earlier one changes nothing (AQ_ERR_DUP).
 *
 * Memory is allocated once by win_new(); win_update() never allocates.
 * Not thread-safe: the caller serialises access.  Never logs.
 */
#ifndef AQ_DAEMON_WIN_H
#define AQ_DAEMON_WIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/aqi.h"
#include "daemon/err.h"
#include "daemon/limits.h"
#include "daemon/pol.h"
#include "daemon/tz.h"
#include "daemon/wx.h"

#define WIN_HOURS 48           /* hourly values kept per cell */
#define WIN_LATENESS_MAX 21600 /* seconds */
#define WIN_CELL_ID_MAX 32
#define WIN_SENSOR_ID_MAX 64
#define WIN_NO_HOUR INT64_MIN

struct win;

struct win_conf {
	const char *tz;     /* zone name, e.g. "Asia/Shanghai" */
	int32_t lateness;   /* seconds, 0 ... WIN_LATENESS_MAX */
	uint32_t cells_max; /* capacity, allocated at once */
	uint32_t sensors_max;
	struct limits_opts limits; /* for the MDA8 validity clause */
};

/* One sensor's values at one time, in canonical units (pol.h), and the
 * weather it reported (wx.h: rain in mm over the period; a field out of
 * its plausible range is ignored, never refused). */
struct reading {
	int64_t ts;     /* start of the averaging period, Unix seconds */
	int32_t period; /* seconds, >= 1 */
	uint32_t has;   /* 1u << POL_x for each value present */
	double v[POL_COUNT];
	uint32_t wx_has; /* 1u << WX_x for each field present */
	double wx[WX_COUNT];
};

/* Statistics of one cell at one hour.  in.v[] holds indicators pm25_1h,
 * pm25_24h, pm10_*, so2_*, no2_*, co_1h, co_8h, co_24h (moving means),
 * o3_1h, o3_8h (moving); n[] counts the valid hours behind each; wx is
 * the hour's weather (NaN fields: none reported). */
struct win_hour {
	int64_t hour;
	struct aqi_input in;
	uint8_t n[IND_COUNT];
	struct wx_hour wx;
};

/* Statistics of one cell over one local day.  in.v[]: *_24h the daily
 * means, *_1h the daily maximum hourly values, co_8h the daily maximum
 * 8-hour CO mean, o3_8h the MDA8 (US windows if us was set); n[] counts
 * the valid hours (or 8-hour windows) behind each. */
struct win_day {
	int32_t date;
	struct aqi_input in;
	uint8_t n[IND_COUNT];
};

/* Returns owned, or NULL (bad conf or no memory). */
struct win *win_new(const struct win_conf *conf);
void win_free(struct win *w);

/* The zone the engine labels hours in (borrowed; valid until win_free). */
const struct tz *win_tz(const struct win *w);

/* AQ_ERR_FULL at capacity, AQ_ERR_INVAL for a bad or duplicate id. */
int win_add_cell(struct win *w, const char *id, uint32_t *out) AQ_MUSTCHECK;
int win_add_sensor(
    struct win *w, const char *id, uint32_t cell, uint32_t *out) AQ_MUSTCHECK;
/* Index of a cell or sensor by id, or -1. */
int64_t win_find_cell(const struct win *w, const char *id);
int64_t win_find_sensor(const struct win *w, const char *id);
uint32_t win_cells(const struct win *w);
uint32_t win_sensors(const struct win *w);
const char *win_cell_id(const struct win *w, uint32_t cell);
const char *win_sensor_id(const struct win *w, uint32_t sensor);
uint32_t win_sensor_cell(const struct win *w, uint32_t sensor);
/* Sensors of a cell, newest first: writes up to max indices to out and
 * returns how many the cell has. */
uint32_t win_cell_sensors(
    const struct win *w, uint32_t cell, uint32_t *out, uint32_t max);
/* Newest reading time of a cell, or WIN_NO_HOUR. */
int64_t win_cell_newest(const struct win *w, uint32_t cell);
/* Newest reading time of a sensor, or WIN_NO_HOUR. */
int64_t win_sensor_last(const struct win *w, uint32_t sensor);

/*
 * Adds a reading of a sensor.  Returns AQ_OK, AQ_ERR_STALE (too late),
 * AQ_ERR_DUP (seen before), AQ_ERR_RANGE (a negative, non-finite or
 * absurd value, or a bad period) or AQ_ERR_INVAL (no such sensor).
 * Nothing changes unless it returns AQ_OK.
 */
int win_update(
    struct win *w, uint32_t sensor, const struct reading *r) AQ_MUSTCHECK;

/* Hour index of the cell's newest reading, or WIN_NO_HOUR.  The latest
 * complete hour is the one before it. */
int64_t win_cell_newest_hour(const struct win *w, uint32_t cell);

/* Statistics at an hour no older than WIN_HOURS before the newest;
 * AQ_ERR_RANGE otherwise. */
int win_cell_hour(struct win *w, uint32_t cell, int64_t hour,
    struct win_hour *out) AQ_MUSTCHECK;
/* Statistics of a local day (yyyymmdd) whose hours are still held;
 * AQ_ERR_RANGE otherwise. */
int win_cell_day(struct win *w, uint32_t cell, int32_t date, bool us,
    struct win_day *out) AQ_MUSTCHECK;

/*
 * The engine's image, to resume after a restart: win_image_size() bytes
 * at most, written by win_image_save() (returns the length).
 * win_image_load() accepts only an image of an engine with the same cells
 * in the same order, zone, lateness and layout, whose first sensors are
 * this engine's (the registry); otherwise AQ_ERR_INVAL with the reason in
 * msg and nothing changed.  Neither allocates.
 */
size_t win_image_size(const struct win *w);
size_t win_image_save(const struct win *w, void *buf);
int win_image_load(struct win *w, const void *buf, size_t len, char *msg,
    size_t msglen) AQ_MUSTCHECK;

/* Bytes held per cell (with its weather sums) and per sensor, for the
 * benchmark and metrics. */
size_t win_cell_bytes(const struct win *w);
size_t win_sensor_bytes(const struct win *w);

#endif
