/*
 * hotspot: cells whose concentration stands persistently above their local
 * background, ranked, with the likely direction of the source when the
 * cells report wind.
 *
 * Fed hour by hour (hotspots_value, hotspots_wind; any order within an
 * hour), hotspots_update() judges the newest hour provisionally (cells
 * late to report it may still change it) and every hour before it once
 * and for good, in order, so that a replay judges as live data does.  At
 * a judged hour a cell's background is the median of its neighbours'
 * values (at least two), and the cell stands out when its excess over it
 * exceeds the largest of abs_min, rel_min times the background and twice
 * the neighbours' spread (1.4826 MAD).  A cell standing out for
 * min_hours in a row or more is a hotspot, ranked by its excess summed over
 * that run (excess-hours: excess and duration at once).
 *
 * The source direction is a pollution rose: per cell, the excess by the
 * sector the wind came from (8 sectors, decaying over a week).  A cell
 * whose excess comes with every wind holds its source (HOTSPOT_LOCAL); one
 * whose excess comes with one wind has its source upwind, in that sector.
 *
 * Memory is allocated by hotspots_new() only.  The feeding functions and
 * hotspots_update() belong to one thread; hotspots_list() may be called
 * from any thread.  Never logs.
 */
#ifndef AQ_DAEMON_HOTSPOT_H
#define AQ_DAEMON_HOTSPOT_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/err.h"

#define HOTSPOT_SECTORS 8
#define HOTSPOT_NEIGHBOURS_MAX 8
#define HOTSPOT_NO_HOUR INT64_MIN

enum hotspot_source {
	HOTSPOT_NO_WIND, /* no wind reported with the excess */
	HOTSPOT_LOCAL,   /* excess with every wind: the source is in it */
	HOTSPOT_UPWIND   /* excess with one wind: source_deg */
};

struct hotspot_conf {
	double abs_min; /* smallest excess, ug/m3 */
	double rel_min; /* smallest excess, share of the background */
	int32_t min_hours;
};

/* One hotspot: a cell as judged at the newest hour, or the hour before
 * when it has not reported the newest yet. */
struct hotspot {
	uint32_t cell;
	int64_t hour;       /* judged at (hour index, tz.h) */
	int64_t since;      /* first hour of the run (hour index, tz.h) */
	int32_t hours;      /* its length */
	double value;       /* at the hour, ug/m3 */
	double background;  /* the neighbours' median */
	double excess;      /* value - background */
	double mean_excess; /* over the run */
	double excess_hours;
	enum hotspot_source source;
	double source_deg; /* where the source lies, degrees from north */
	double wind_speed; /* mean over the run, m/s; 0 without wind */
};

struct hotspots;

void hotspots_defaults(struct hotspot_conf *c);
/* Returns owned, or NULL. */
struct hotspots *hotspots_new(uint32_t cells, const struct hotspot_conf *c);
void hotspots_free(struct hotspots *h);
void hotspots_set_neighbours(
    struct hotspots *h, uint32_t cell, const uint32_t *nb, uint32_t n);

/* A cell's value at an hour (a NAN value is none). */
void hotspots_value(struct hotspots *h, uint32_t cell, int64_t hour, double v);
/* The wind at a cell over an hour: speed m/s, direction it blows from,
 * degrees. */
void hotspots_wind(
    struct hotspots *h, uint32_t cell, int64_t hour, double ws, double wd);
/* When values came since the last call: judges, in order, every hour
 * before the newest not judged yet, then the newest provisionally, and
 * publishes the ranking at the newest; returns the hours judged. */
int hotspots_update(struct hotspots *h);

/* The ranking, first the largest: copies up to max and returns how many
 * hotspots there are; *hour is the newest hour (HOTSPOT_NO_HOUR: none). */
uint32_t hotspots_list(
    struct hotspots *h, struct hotspot *out, uint32_t max, int64_t *hour);

/* "N", "NE", ... of a direction in degrees. */
const char *hotspot_compass(double deg);

#endif
