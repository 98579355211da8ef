/*
 * site: dust sites (扬尘监管) -- construction sites, concrete plants, yards
 * and roads, each with a PM10 (and perhaps PM2.5) monitor at its boundary
 * -- and their green / yellow / red status.
 *
 * Sites come from the configuration's [site ID] sections (site_load()
 * checks them, every problem as "file:line: reason"); the rules from
 * [sites].  A site monitor's readings never reach the grid's cells (a
 * boundary monitor is not ambient air): the daemon diverts them here
 * (state.h's state_divert) and site_engine_reading() averages them into
 * hours.  The background of an hour is the PM10 (and PM2.5) 1-hour value
 * of the site's grid cell and its neighbours, as published
 * (site_engine_view()); a site's status is the worst of its PM10, PM2.5
 * and TSP rules (PM2.5 and TSP when its monitor measures them).  TSP is
 * judged on absolute thresholds only: no ambient station measures it.
 * Each complete hour of a site is judged, in hour order, once its
 * background is known: every background cell has published that hour, or
 * one is past it (or, when they have all been silent for background_wait
 * seconds of the wall clock and the hour ended that long ago, by the
 * absolute thresholds alone).  A status is entered after
 * min_hours consecutive hours whose 1-hour or rolling mean reach its
 * absolute threshold and its excess over the background, and left after
 * clear_hours consecutive hours below its thresholds times clear_ratio.
 *
 * Status changes are appended to the store's log "site_log", each site's
 * state to the record ("site", id) at every judged hour and by
 * site_engine_save(), and the month's counts (red hours, red episodes; a
 * month is local, an hour belongs to its label's date) to ("site_month",
 * "YYYYMM:id"), so a restart keeps them; site_engine_load() reads them
 * back.  Changes wait in the engine until site_engine_flush() turns them
 * into notices (notice.h), one per receiver and kind, to the site's
 * receivers and the inspectors.
 *
 * Not thread-safe: the caller locks (the alert service does).  Never logs.
 */
#ifndef AQ_ALERTS_SITE_H
#define AQ_ALERTS_SITE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "alerts/notice.h"
#include "daemon/conf.h"
#include "daemon/err.h"
#include "daemon/state.h"
#include "daemon/store.h"
#include "daemon/tz.h"

#define SITE_MAX 4096
#define SITE_SENSORS_MAX 4
#define SITE_HOURS 72   /* hourly means kept per site */
#define SITE_CHANGES 64 /* status changes kept per site in memory */
#define SITE_RECEIVERS_MAX 8
#define SITE_COVERAGE 2700 /* seconds of an hour a valid mean needs */

enum site_status { SITE_GREEN, SITE_YELLOW, SITE_RED, SITE_STATUS_COUNT };
enum site_kind {
	SITE_CONSTRUCTION,
	SITE_PLANT,
	SITE_YARD,
	SITE_ROAD,
	SITE_KIND_COUNT
};

/* One site as configured. */
struct site_def {
	char id[CONF_ID_MAX];
	char name[CONF_NAME_MAX];
	enum site_kind kind;
	bool has_pos;
	double lat, lon; /* the site's, else its cell's centre */
	uint32_t cell;
	char company[CONF_NAME_MAX];
	char contact[CONF_NAME_MAX];
	char receivers[SITE_RECEIVERS_MAX][CONF_ID_MAX];
	uint32_t nreceivers;
	int32_t from, to; /* active local dates yyyymmdd; 0: open */
	char sensors[SITE_SENSORS_MAX][WIN_SENSOR_ID_MAX];
	uint32_t nsensors;
};

/* The status rules ([sites]); thresholds in ug/m3. */
struct site_rules {
	bool cell_bg; /* background: the cell's own value first */
	int rolling;  /* hours */
	double yellow_1h, yellow_ex_1h, red_1h, red_ex_1h;
	double yellow_roll, yellow_ex_roll, red_roll, red_ex_roll;
	/* The same for PM2.5, when the monitor measures it. */
	double y25_1h, y25_ex_1h, r25_1h, r25_ex_1h;
	double y25_roll, y25_ex_roll, r25_roll, r25_ex_roll;
	/* TSP's, absolute only. */
	double ytsp_1h, rtsp_1h, ytsp_roll, rtsp_roll;
	double clear_ratio;
	int min_hours, clear_hours;
	int64_t bg_wait;
	int bl_hours, bl_episodes;
};

/* What one hour is judged on; has_* false when unknown. */
struct site_eval {
	bool has_1h, has_bg, has_roll, has_bgroll; /* PM10 */
	double v1h, bg, roll, bgroll;
	bool has25_1h, has25_bg, has25_roll, has25_bgroll; /* PM2.5 */
	double v25_1h, bg25, roll25, bgroll25;
	bool hastsp_1h, hastsp_roll; /* TSP */
	double tsp_1h, tsp_roll;
};

/* One status change. */
struct site_change {
	int64_t id; /* log id, 0 before it is stored */
	char site[CONF_ID_MAX];
	enum site_status from, to;
	int64_t hour; /* end of the hour judged, Unix s */
	struct site_eval e;
};

/* A site as it stands (site_engine_info). */
struct site_info {
	const struct site_def *def; /* borrowed from the engine */
	bool active;                /* at its newest hour's date */
	enum site_status status;
	int64_t since;      /* hour end it entered the status; 0: never */
	int64_t last_hour;  /* end of the newest judged hour; 0: none */
	int64_t last_seen;  /* newest reading, Unix s; 0: none */
	struct site_eval e; /* at last_hour */
	bool has_pm25;
	double pm25_1h; /* at last_hour */
	bool has_tsp;
	double tsp_1h;                /* at last_hour */
	uint32_t red_hours, episodes; /* this month (of last_hour) */
};

/* A blacklisted site of a month (site_engine_blacklist). */
struct site_black {
	const struct site_def *def;
	uint32_t red_hours, episodes;
};

struct site_engine;

/* Reads c's [site] sections into *defs (owned, free()) and *n, checking
 * every value, the sensors (unique, not in the [sensor] registry), the
 * receivers and [sites] inspectors.  Problems to errs as "file:line:
 * reason".  AQ_OK, AQ_ERR_INVAL, AQ_ERR_NOMEM. */
int site_load(const struct conf *c, struct site_def **defs, uint32_t *n,
    FILE *errs) AQ_MUSTCHECK;
/* [sites] of c. */
void site_rules_from(const struct conf *c, struct site_rules *out);

/* The status an hour asks for with every threshold times scale (1 to
 * enter a status, clear_ratio to hold it): the worst of PM10's, PM2.5's
 * and TSP's. */
enum site_status site_level(
    const struct site_rules *r, const struct site_eval *e, double scale);

/*
 * The engine for c's sites (checked with site_load first) in zone z
 * (borrowed), persisting to s (NULL: memory only).  Returns owned, or
 * NULL (errors to errs).
 */
struct site_engine *site_engine_new(
    const struct conf *c, const struct tz *z, struct store *s, FILE *errs);
void site_engine_free(struct site_engine *e);
/* Restores statuses, changes and month counts from the store. */
int site_engine_load(struct site_engine *e) AQ_MUSTCHECK;
/* Writes every site's state (a clean stop). */
void site_engine_save(struct site_engine *e);

uint32_t site_engine_count(const struct site_engine *e);
/* Index of the site whose monitor sensor is, or -1.  Immutable after
 * site_engine_new(): any thread, no lock. */
int64_t site_engine_sensor(const struct site_engine *e, const char *sensor);
/* A reading of a site's monitor, with its TSP (ug/m3; NAN: none):
 * AQ_OK, AQ_ERR_DUP, AQ_ERR_STALE. */
int site_engine_reading(struct site_engine *e, uint32_t site,
    const struct reading *r, double tsp, int64_t now) AQ_MUSTCHECK;
/* A cell's published view (its PM10 1-hour value is background); now:
 * the wall clock.  Nothing is judged until site_engine_settle(). */
void site_engine_view(
    struct site_engine *e, const struct cell_view *v, int64_t now);
/* Judges every hour whose background is now known: after a publication
 * of views, and once a second (now: wall clock) for sites whose ambient
 * stations went silent. */
void site_engine_settle(struct site_engine *e, int64_t now);

/* Status changes not yet flushed, and the k-th of them. */
uint32_t site_engine_pending(const struct site_engine *e);
const struct site_change *site_engine_pending_at(
    const struct site_engine *e, uint32_t k);
/*
 * Turns the changes since the last flush into notices, one per receiver
 * and kind (firing: worse, resolved: back to green, repeat: better but
 * not green), and calls fn with each; ids come from next_id.  A notice
 * that fn refuses (non-zero) is dropped: its changes are in the log.
 */
typedef int (*site_notice_fn)(void *ctx, const struct notice *n);
typedef uint64_t (*site_id_fn)(void *ctx);
void site_engine_flush(struct site_engine *e, int64_t now, site_notice_fn fn,
    site_id_fn next_id, void *ctx);

/* Readers.  now (wall clock) decides whether a site without readings
 * is active. */
int site_engine_info(const struct site_engine *e, uint32_t site, int64_t now,
    struct site_info *out) AQ_MUSTCHECK;
int64_t site_engine_find(const struct site_engine *e, const char *id);
/* Copies up to max of the site's latest changes, newest first; returns
 * how many it copied. */
uint32_t site_engine_changes(const struct site_engine *e, uint32_t site,
    struct site_change *out, uint32_t max);
/* The site's judged hours, newest first, up to max: hour ends in hours[],
 * evaluations in ev[]. */
uint32_t site_engine_hours(const struct site_engine *e, uint32_t site,
    int64_t *hours, struct site_eval *ev, uint32_t max);
/* Sites blacklisted in month yyyymm, in configuration order. */
uint32_t site_engine_blacklist(const struct site_engine *e, int32_t yyyymm,
    struct site_black *out, uint32_t max);
const struct site_rules *site_engine_rules(const struct site_engine *e);

const char *site_status_name(enum site_status s);
const char *site_kind_name(enum site_kind k);

#endif
