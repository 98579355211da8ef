/*
 * fcgrid: the forecasts of every cell of the grid (forecast.h), fed with
 * each cell's complete hours by the ingest thread and read by any thread.
 *
 * A cell's model and forecast are allocated at its first hour with a value
 * (about 52 KB); a cell without data costs a pointer.
 * After each hour fed the cell's forecast is recomputed and kept: hourly
 * PM2.5 and O3 for FC_H hours with 80% intervals, the PM2.5 24-hour and O3
 * 8-hour moving means over the observed and forecast hours (>= 20 of 24 and
 * >= 6 of 8 hours), and the daily AQI of each local day that is not over
 * yet and that the observed and forecast hours cover whole.
 *
 * fcgrid_hour() is for one writer thread; fcgrid_get() copies a cell's
 * forecast under a lock and may be called from any thread.  Never logs.
 */
#ifndef AQ_DAEMON_FCGRID_H
#define AQ_DAEMON_FCGRID_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/aqi.h"
#include "daemon/err.h"
#include "daemon/forecast.h"
#include "daemon/store.h"
#include "daemon/tz.h"
#include "daemon/wx.h"

#define FCGRID_DAYS 4      /* today and up to three days after */
#define FCGRID_EXT_DAYS 10 /* days of an external forecast kept */

/*
 * Heavy-pollution warning levels from forecast daily AQI, per the
 * Ministry of Environmental Protection's graded standard (README): over
 * the longest run of consecutive days with AQI > 200, blue for 1 day,
 * yellow for 2 or more, orange for 3 or more with one > 300, red for 4 or
 * more with two > 300 -- or any day at 500.
 */
enum fcgrid_warn {
	FCGRID_WARN_NONE,
	FCGRID_WARN_BLUE,
	FCGRID_WARN_YELLOW,
	FCGRID_WARN_ORANGE,
	FCGRID_WARN_RED
};

/* A day of an area's forecast from outside (the city forecast centre). */
struct fcgrid_ext {
	int32_t date; /* local yyyymmdd */
	int aqi;
};

struct fcgrid_day {
	int32_t date;           /* local yyyymmdd */
	int aqi;                /* PM2.5 and O3 only; -1: not valid */
	double pm25_24h, o3_8h; /* NaN: not valid */
};

struct fcgrid_forecast {
	int64_t origin; /* hour index (tz.h) of the last hour seen */
	bool has[FC_POL_COUNT];
	struct fc_point h[FC_POL_COUNT][FC_H]; /* hour origin + 1 + k */
	double pm25_24h[FC_H], o3_8h[FC_H];    /* NaN: not valid */
	int ndays;
	struct fcgrid_day day[FCGRID_DAYS];
};

struct fcgrid;

/* Returns owned, or NULL.  tz is borrowed and must outlive the grid; at
 * most models_max cells get a model; nareas areas may get an external
 * forecast. */
struct fcgrid *fcgrid_new(uint32_t ncells, uint32_t nareas, uint32_t models_max,
    const struct tz *tz, enum aqi_std std);
void fcgrid_free(struct fcgrid *g);

/*
 * Feeds a cell's complete hour (hour index, tz.h) with its hourly PM2.5
 * and O3 in ug/m3 (NaN: none) and its weather (wx.h, borrowed; NULL:
 * none), which the model gets as fc_obs's (the dew point from the
 * temperature and humidity, wx_fc_obs).  Hours not after the cell's last one
 * are ignored (AQ_ERR_STALE); AQ_ERR_NOMEM when the cell's model cannot be
 * allocated; AQ_ERR_FULL when models_max cells have one; AQ_ERR_RANGE for
 * a cell past the grid.
 */
int fcgrid_hour(struct fcgrid *g, uint32_t cell, int64_t hour, double pm25,
    double o3, const struct wx_hour *wx) AQ_MUSTCHECK;

/*
 * The neighbours' mean (fc_obs.nb): group[k] >= 0 puts cell k in a group
 * (daemon: its area), -1 in none.  Copies group; once per grid, before any
 * hour.  From then on fcgrid_hour() only records an hour, and
 * fcgrid_flush() learns the recorded hours, each with the mean of the
 * other cells of its group that have been given the same hour by then
 * (one of the last 24 hours).  Without groups, fcgrid_hour() learns at
 * once with no neighbours.  AQ_ERR_INVAL, AQ_ERR_NOMEM.
 */
int fcgrid_set_groups(struct fcgrid *g, const int32_t *group) AQ_MUSTCHECK;
/* Learns the hours recorded since the last flush (fcgrid_hour() flushes
 * by itself when ncells * 24 wait).  AQ_ERR_NOMEM when a learning failed
 * for lack of memory. */
int fcgrid_flush(struct fcgrid *g);

/* The cell's latest forecast; AQ_ERR_NOTFOUND while it has none. */
int fcgrid_get(const struct fcgrid *g, uint32_t cell,
    struct fcgrid_forecast *out) AQ_MUSTCHECK;

/* The level of n consecutive days' AQI (-1: unknown, breaks a run). */
enum fcgrid_warn fcgrid_warn_level(const int *aqi, int n);
/* "none", "blue", "yellow", "orange", "red". */
const char *fcgrid_warn_name(enum fcgrid_warn w);

/* Replaces area's external forecast (n <= FCGRID_EXT_DAYS days, dates
 * ascending, AQI 0..500) received at Unix time at; AQ_ERR_INVAL
 * otherwise, AQ_ERR_RANGE for an area past the grid's.  Any thread. */
int fcgrid_set_external(struct fcgrid *g, uint32_t area,
    const struct fcgrid_ext *d, int n, int64_t at) AQ_MUSTCHECK;
/* Copies area's external forecast; its day count (0: none) goes to *n. */
void fcgrid_get_external(const struct fcgrid *g, uint32_t area,
    struct fcgrid_ext d[FCGRID_EXT_DAYS], int *n, int64_t *at);

/* Store records of the external forecasts: namespace FCGRID_EXT_NS, key
 * the area's id.  save (deletes the record when the area has none): AQ_OK
 * or the store's error; load: AQ_OK, AQ_ERR_NOTFOUND without a record,
 * AQ_ERR_INVAL for a bad one, or the store's error. */
#define FCGRID_EXT_NS "forecast.external"
int fcgrid_ext_save(const struct fcgrid *g, uint32_t area, struct store *s,
    const char *key) AQ_MUSTCHECK;
int fcgrid_ext_load(struct fcgrid *g, uint32_t area, struct store *s,
    const char *key) AQ_MUSTCHECK;

/* Cells with a model, and cells with a forecast. */
void fcgrid_counts(const struct fcgrid *g, uint32_t *models, uint32_t *ready);

#endif
