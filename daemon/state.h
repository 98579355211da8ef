/*
 * state: what the running daemon knows, shared by the ingest thread (the
 * only writer of the engine), the HTTP threads and the main loop.
 *
 * The engine (win.h) belongs to the ingest thread.  Readers never touch it:
 * they copy per-cell views that the ingest thread publishes with
 * state_publish(), each under that cell's own lock, so a reader waits at
 * most for one copy and never sees a half-updated cell.  A view holds the
 * latest complete hour (the hour before the cell's newest reading, in
 * event time) with its weather (the means of what the cell's sensors
 * reported that hour, wx.h) and the latest complete day.  Sensors' last-seen
 * times and all counters are atomics, readable at any time.
 *
 * With a store (state_set_store), state_publish() also queues the hourly
 * and daily rows of every hour that became complete or changed (a late
 * reading) since the last call (hourly rows with the hour's weather), and
 * state_image_*() save and restore everything the ingest thread knows
 * (the weather sums of hours still open too), so a restarted daemon serves
 * what it would have served without the restart.
 *
 * The state owns its configuration, swapped whole on reload
 * (state_set_conf); readers take it with state_conf() and may keep using
 * it until state_free(): replaced configurations are kept, not freed,
 * while the state lives.
 */
#ifndef AQ_DAEMON_STATE_H
#define AQ_DAEMON_STATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/aqi.h"
#include "daemon/conf.h"
#include "daemon/err.h"
#include "daemon/fault.h"
#include "daemon/fcgrid.h"
#include "daemon/hotspot.h"
#include "daemon/reason.h"
#include "daemon/store.h"
#include "daemon/win.h"

#define STATE_VIEW_SENSORS 8 /* sensors listed in a cell's view */
#define STATE_DECODERS_MAX 8
#define STATE_LATENCY_BUCKETS 12

enum sensor_status { SENSOR_OK, SENSOR_OFFLINE, SENSOR_NO_DATA };

/* Why an HJ 212 connection ended: silent past the idle timeout, a frame
 * slower than the frame timeout, a socket error (or an answer that would
 * not fit the socket buffer), or the logger closed it. */
enum state_hj212_disc {
	STATE_HJ212_DISC_IDLE,
	STATE_HJ212_DISC_SLOW,
	STATE_HJ212_DISC_ERROR,
	STATE_HJ212_DISC_CLOSED,
	STATE_HJ212_DISC_COUNT
};

/* What became of an HJ 212 frame at the listener: passed on (ok), refused
 * by the stream (bad CRC or length, larger than the protocol allows), or
 * a split message never completed (parts missing, too large, timed out). */
enum state_hj212_frame {
	STATE_HJ212_FRAME_OK,
	STATE_HJ212_FRAME_BAD_CRC,
	STATE_HJ212_FRAME_BAD_LENGTH,
	STATE_HJ212_FRAME_OVERSIZE,
	STATE_HJ212_FRAME_INCOMPLETE,
	STATE_HJ212_FRAME_COUNT
};

struct cell_view {
	uint32_t cell;
	int64_t newest;        /* newest reading, Unix s; WIN_NO_HOUR */
	int64_t hour;          /* latest complete hour index; WIN_NO_HOUR */
	int64_t hour_end;      /* its end (the hour's label), Unix s */
	struct win_hour stats; /* at that hour, with its weather (stats.wx) */
	struct aqi_result aqi; /* real-time report of that hour */
	uint32_t exceeds;      /* IND_BIT()s over their limit */
	int32_t day;           /* latest complete local day, or 0 */
	struct win_day day_stats;
	struct aqi_result day_aqi; /* daily report of that day */
	uint32_t day_exceeds;
	uint32_t nsensors; /* sensors of the cell (all, even past the list) */
	uint32_t sensors[STATE_VIEW_SENSORS];
	uint64_t version; /* bumped at every publish */
};

/* Counters; every field is written with relaxed atomics. */
struct counters {
	_Atomic uint64_t messages[STATE_DECODERS_MAX][2]; /* [dec][ok?] */
	_Atomic uint64_t readings[STATE_DECODERS_MAX][2];
	_Atomic uint64_t rejected[REASON_COUNT]; /* payloads+readings+values */
	_Atomic int mqtt_connected;
	_Atomic uint64_t mqtt_connects;
	_Atomic uint64_t mqtt_reconnects;
	_Atomic int64_t queue_depth;
	_Atomic int64_t queue_capacity;
	/* Arrival at the MQTT callback to engine update, seconds. */
	_Atomic uint64_t latency_bucket[STATE_LATENCY_BUCKETS];
	_Atomic uint64_t latency_count;
	_Atomic uint64_t latency_sum_ns;
	_Atomic uint64_t publishes;
	/* Publishing back to MQTT (sensors/publish.c). */
	_Atomic int pub_connected;
	_Atomic uint64_t pub_messages[3]; /* [0 cells, 1 areas, 2 alerts] */
	_Atomic uint64_t pub_discovery;   /* discovery documents */
	_Atomic uint64_t pub_dropped;     /* broker absent or queue full */
	/* The HJ 212 listener (sensors/hj212net.c) and decoder. */
	_Atomic int hj212_listening;
	_Atomic int64_t hj212_connections; /* open now */
	_Atomic uint64_t hj212_accepted;
	_Atomic uint64_t hj212_refused; /* over the connection limit */
	_Atomic uint64_t hj212_disconnects[STATE_HJ212_DISC_COUNT];
	_Atomic uint64_t hj212_frames[STATE_HJ212_FRAME_COUNT];
	_Atomic uint64_t hj212_garbage_bytes;
	_Atomic uint64_t hj212_acks;
	_Atomic uint64_t hj212_flagged[26]; /* values by flag letter A-Z */
};

/* Upper bounds of the latency histogram's buckets, seconds. */
extern const double state_latency_bounds[STATE_LATENCY_BUCKETS];

struct state;

/*
 * Builds the engine from conf with its cells and registered sensors, and
 * takes ownership of conf (also on failure).  decoder_names are borrowed
 * static strings.  Returns owned, or NULL.
 */
struct state *state_new(
    struct conf *conf, const char *const *decoder_names, int ndecoders);
void state_free(struct state *st);

/* --- Any thread --- */
const struct conf *state_conf(const struct state *st);
/* The zone hours are labelled in (immutable, shared). */
const struct tz *state_tz(const struct state *st);
struct counters *state_counters(struct state *st);
const char *state_decoder_name(const struct state *st, int d);
int state_ndecoders(const struct state *st);
int64_t state_started(const struct state *st); /* Unix s */
/* Seconds since state_new() by the monotonic clock: a step of the wall
 * clock (NTP, an operator) neither adds to it nor takes from it. */
int64_t state_uptime(const struct state *st);
uint32_t state_ncells(const struct state *st);
/* Copies cell's view; AQ_ERR_INVAL for a bad index. */
int state_view(
    struct state *st, uint32_t cell, struct cell_view *out) AQ_MUSTCHECK;
/* Sensors known to the engine (published count) and their facts: the
 * newest reading's time, and a status from when readings last arrived. */
uint32_t state_nsensors(const struct state *st);
const char *state_sensor_id(const struct state *st, uint32_t sensor);
int64_t state_sensor_last(const struct state *st, uint32_t sensor);
enum sensor_status state_sensor_status(
    const struct state *st, uint32_t sensor, int64_t now);
/* The sensor's newest values as sent (raw) and after calibration (value),
 * canonical units; returns the 1u << POL_x bits present.  Each value is
 * read atomically; a reading arriving meanwhile may mix two readings. */
uint32_t state_sensor_values(const struct state *st, uint32_t sensor,
    double raw[POL_COUNT], double value[POL_COUNT]);
const char *sensor_status_name(enum sensor_status s);
/* "idle", "slow", "error", "closed"; "ok", "bad_crc", "bad_length",
 * "oversize", "incomplete": the labels of the metrics. */
const char *state_hj212_disc_name(enum state_hj212_disc d);
const char *state_hj212_frame_name(enum state_hj212_frame f);
/* Records an ingest latency. */
void state_latency(struct state *st, uint64_t ns);
void state_count_reject(struct state *st, enum reason r, uint64_t n);

/* Replaces the configuration after a reload that kept the same grid;
 * takes ownership of conf. */
void state_set_conf(struct state *st, struct conf *conf);

/* The store (borrowed; NULL: none).  Set before ingest starts. */
void state_set_store(struct state *st, struct store *s);
struct store *state_store(const struct state *st);

/* The forecasts (fcgrid.h; borrowed, NULL: none).  Set before ingest
 * starts; fcgrid_get() of it may be called from any thread. */
void state_set_forecasts(struct state *st, struct fcgrid *g);
struct fcgrid *state_forecasts(const struct state *st);

/* The cell a sensor is placed in. */
uint32_t state_sensor_cell(const struct state *st, uint32_t sensor);

/* Called by state_publish() (the ingest thread) with each view it has just
 * published -- preceded, when a cell moved on by several hours at once (a
 * replay, a back-fill), by a view of each hour in between as it was then,
 * so that the hook sees every hour in order -- and with NULL once at the
 * end of a publication that changed anything.  Set before ingest starts;
 * fn must not call state_publish. */
typedef void (*state_view_fn)(void *ctx, const struct cell_view *v);
void state_on_publish(struct state *st, state_view_fn fn, void *ctx);

/* The sensor-fault detector: fault_flags(), fault_pollutants() and
 * fault_detections() of it may be called from any thread. */
const struct fault *state_faults(const struct state *st);
/*
 * Sensors whose readings are not ambient air (a dust site's boundary
 * monitor): owns() says whether id is one (any thread; it must not
 * block), reading() takes a reading of such a sensor after QC in place of
 * the grid's engine, with its TSP (ug/m3, a site-only quantity; NAN when
 * not measured), and returns AQ_OK, AQ_ERR_DUP (already seen) or
 * AQ_ERR_STALE (older than what it holds).  Called on the ingest thread.
 * Set before ingest starts; NULL fns: every sensor is ambient.
 */
struct state_divert {
	bool (*owns)(void *ctx, const char *sensor);
	int (*reading)(void *ctx, const char *sensor, const struct reading *r,
	    double tsp, int64_t now);
	void *ctx;
};
void state_set_divert(struct state *st, const struct state_divert *d);
const struct state_divert *state_divert(const struct state *st);

/* The hotspots (hotspot.h): hotspots_list() from any thread; the ingest
 * thread feeds them (state_wind, and the publish hook with the cells'
 * hourly values). */
struct hotspots *state_hotspots(struct state *st);

/* --- Ingest thread only --- */
struct win *state_engine(struct state *st);
/* Wind reported by a sensor with a reading at ts: speed m/s, direction it
 * blows from, degrees; for the hotspots' source directions. */
void state_wind(
    struct state *st, uint32_t sensor, int64_t ts, double ws, double wd);
/* Judges a sensor's reading before win_update() (fault.h), with the
 * configuration's [faults] settings; returns the 1u << POL_x bits to leave
 * out of the cell's statistics. */
uint32_t state_fault_check(
    struct state *st, uint32_t sensor, const struct reading *r);
/* Finds or registers a sensor placed in cell; AQ_ERR_FULL at capacity. */
int state_sensor(struct state *st, const char *id, uint32_t cell,
    uint32_t *out) AQ_MUSTCHECK;
/* Before win_update() of sensor's reading at ts: publishes first
 * (state_publish) when applying it would move the sensor's cell on so far
 * that an hour not yet published would leave the engine's window unseen by
 * the hook and the store -- a replay or back-fill faster than the ingest
 * batches end. */
void state_before_update(struct state *st, uint32_t sensor, int64_t ts);
/* After win_update() succeeded for a sensor's reading r (calibrated), with
 * the values as the sensor sent them (raw, or NULL when the same), the
 * cell's newest hour before it and the wall clock now. */
void state_updated(struct state *st, uint32_t sensor, const struct reading *r,
    const double *raw, int64_t prev_newest_hour, int64_t now);
/* Recomputes and publishes the views of the cells touched since the last
 * call, queues their changed rows in the store; returns how many cells. */
uint32_t state_publish(struct state *st);

/* Queues again, at the next state_publish(), every cell's rows of its
 * last `hours` complete hours (and their days): rows that a killed daemon
 * still had queued. */
void state_rewrite_rows(struct state *st, int hours);

/*
 * The image: the engine's windows, the sensors found, their newest values,
 * the fault detector's state and the counters, with mark (the journal sequence
 * applied last). state_image_size() bounds it; state_image_save() writes it
 * into buf and returns its length.  state_image_load() restores an image made
 * with the same grid, sensor registry, zone and lateness (else AQ_ERR_INVAL
 * with the reason in msg, nothing changed) and republishes every view.
 */
size_t state_image_size(const struct state *st);
size_t state_image_save(const struct state *st, uint64_t mark, void *buf);
int state_image_load(struct state *st, const void *buf, size_t len,
    uint64_t *mark, char *msg, size_t msglen) AQ_MUSTCHECK;

#endif
