/* state: the daemon's shared state and published cell views (state.h). */
#include "daemon/state.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/limits.h"
#include "daemon/tz.h"

#define OFFLINE_INTERVALS 3 /* silent this many intervals: offline */

const double state_latency_bounds[STATE_LATENCY_BUCKETS] = {0.00005, 0.0001,
    0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1.0, 10.0};

struct view_slot {
	pthread_mutex_t mu;
	struct cell_view v;
};

struct state {
	_Atomic(const struct conf *) conf;
	const struct conf **old; /* replaced, kept for readers */
	size_t nold;
	const char *const *decoders;
	int ndecoders;
	int64_t started;
	int64_t started_mono; /* CLOCK_MONOTONIC s, for the uptime */
	struct win *w;
	struct fault *fd;
	struct hotspots *hs;
	const struct conf *fd_conf; /* the conf fd was last set from */
	struct view_slot *views;
	uint8_t *dirty;
	uint32_t *dirty_list;
	uint32_t ndirty;
	/* per cell: the oldest hour whose row must be (re)written, or
	 * INT64_MAX; ingest thread only */
	int64_t *row_from;
	struct store *store;
	struct fcgrid *forecasts;
	state_view_fn on_view;
	void *on_view_ctx;
	struct state_divert divert;
	int64_t *shown; /* per cell: latest hour the hook saw; ingest thread */
	_Atomic int64_t *last; /* per sensor: newest reading's own time */
	_Atomic int64_t *seen; /* per sensor: wall clock of its arrival */
	int64_t *interval;     /* per sensor, seconds */
	/* per sensor: newest values as sent and as calibrated */
	_Atomic uint32_t *has;
	_Atomic double *raw, *value; /* [sensor * POL_COUNT + p] */
	_Atomic uint32_t nsensors;
	struct counters counters;
};

static int64_t mono_s(void);
static void fault_conf_from(const struct conf *c, struct fault_conf *out);
static void touch(struct state *st, uint32_t cell);
static void put_rows(struct state *st, const struct conf *conf, uint32_t cell,
    const struct cell_view *v);
static void build_view(struct state *st, const struct conf *conf, uint32_t cell,
    struct cell_view *v);
static void build_view_at(struct state *st, const struct conf *conf,
    uint32_t cell, int64_t hour, struct cell_view *v);
static void show_hours(struct state *st, const struct conf *conf, uint32_t cell,
    const struct cell_view *v);

struct state *
state_new(struct conf *conf, const char *const *decoder_names, int ndecoders)
{
	struct state *st;
	struct win_conf wc = {.tz = conf->timezone,
	    .lateness = (int32_t)conf->lateness,
	    .cells_max = conf->ncells,
	    .sensors_max = (uint32_t)conf->sensors_max,
	    .limits = conf->limits};
	uint32_t idx;

	if (ndecoders > STATE_DECODERS_MAX ||
	    (st = calloc(1, sizeof(*st))) == NULL) {
		conf_free(conf);
		return NULL;
	}
	atomic_init(&st->conf, conf);
	st->decoders = decoder_names;
	st->ndecoders = ndecoders;
	st->started = (int64_t)time(NULL);
	st->started_mono = mono_s();
	st->w = win_new(&wc);
	{
		struct fault_conf fc;

		fault_conf_from(conf, &fc);
		st->fd = fault_new(conf->ncells, wc.sensors_max, &fc);
		st->fd_conf = conf;
	}
	{
		struct hotspot_conf hc;

		hotspots_defaults(&hc);
		hc.abs_min = conf->hotspot_abs_min;
		hc.rel_min = conf->hotspot_rel_min;
		hc.min_hours = (int32_t)conf->hotspot_min_hours;
		st->hs = hotspots_new(conf->ncells, &hc);
	}
	st->views = calloc(conf->ncells, sizeof(*st->views));
	st->dirty = calloc(conf->ncells, 1);
	st->dirty_list = calloc(conf->ncells, sizeof(*st->dirty_list));
	st->row_from = calloc(conf->ncells, sizeof(*st->row_from));
	st->shown = calloc(conf->ncells, sizeof(*st->shown));
	st->last = calloc(wc.sensors_max + 1, sizeof(*st->last));
	st->seen = calloc(wc.sensors_max + 1, sizeof(*st->seen));
	st->interval = calloc(wc.sensors_max + 1, sizeof(*st->interval));
	st->has = calloc(wc.sensors_max + 1, sizeof(*st->has));
	st->raw =
	    calloc((size_t)(wc.sensors_max + 1) * POL_COUNT, sizeof(*st->raw));
	st->value = calloc(
	    (size_t)(wc.sensors_max + 1) * POL_COUNT, sizeof(*st->value));
	if (st->w == NULL || st->fd == NULL || st->hs == NULL ||
	    st->views == NULL || st->dirty == NULL || st->dirty_list == NULL ||
	    st->row_from == NULL || st->shown == NULL || st->last == NULL ||
	    st->seen == NULL || st->interval == NULL || st->has == NULL ||
	    st->raw == NULL || st->value == NULL)
		goto fail;
	for (uint32_t c = 0; c < conf->ncells; c++) {
		if (win_add_cell(st->w, conf->cells[c].id, &idx) != AQ_OK)
			goto fail;
		pthread_mutex_init(&st->views[c].mu, NULL);
		st->row_from[c] = INT64_MAX;
		st->shown[c] = WIN_NO_HOUR;
	}
	for (uint32_t c = 0; c < conf->ncells; c++) {
		uint32_t nb[8], n = conf_cell_neighbours(conf, c, nb);

		fault_set_neighbours(st->fd, c, nb, n);
		hotspots_set_neighbours(st->hs, c, nb, n);
	}
	for (uint32_t k = 0; k < conf->nsensors; k++) {
		int64_t cell = conf_cell_find(conf, conf->sensors[k].cell);

		if (cell < 0 ||
		    state_sensor(
			st, conf->sensors[k].id, (uint32_t)cell, &idx) != AQ_OK)
			goto fail;
		st->interval[idx] = conf->sensors[k].interval;
	}
	st->ndirty = 0;
	memset(st->dirty, 0, conf->ncells);
	for (uint32_t c = 0; c < conf->ncells; c++)
		build_view(st, conf, c, &st->views[c].v);
	atomic_store(&st->counters.queue_capacity, conf->queue);
	return st;
fail:
	state_free(st);
	return NULL;
}

void
state_free(struct state *st)
{
	if (st == NULL)
		return;
	if (st->views != NULL && st->w != NULL)
		for (uint32_t c = 0; c < win_cells(st->w); c++)
			pthread_mutex_destroy(&st->views[c].mu);
	for (size_t k = 0; k < st->nold; k++)
		conf_free((struct conf *)(uintptr_t)st->old[k]);
	conf_free((struct conf *)(uintptr_t)atomic_load(&st->conf));
	free(st->old);
	fault_free(st->fd);
	hotspots_free(st->hs);
	free(st->value);
	free(st->raw);
	free(st->has);
	free(st->interval);
	free(st->seen);
	free(st->last);
	free(st->row_from);
	free(st->shown);
	free(st->dirty_list);
	free(st->dirty);
	free(st->views);
	win_free(st->w);
	free(st);
}

const struct conf *
state_conf(const struct state *st)
{
	return atomic_load(&((struct state *)(uintptr_t)st)->conf);
}

void
state_set_conf(struct state *st, struct conf *conf)
{
	const struct conf **grown =
	    realloc(st->old, (st->nold + 1) * sizeof(*grown));

	/* Without room to remember the old one, keep it: readers may hold
	 * it, and an unswapped reload is safer than a use after free. */
	if (grown == NULL) {
		conf_free(conf);
		return;
	}
	st->old = grown;
	st->old[st->nold++] = atomic_exchange(&st->conf, conf);
}

const struct tz *
state_tz(const struct state *st)
{
	return win_tz(st->w);
}

struct counters *
state_counters(struct state *st)
{
	return &st->counters;
}

const char *
state_decoder_name(const struct state *st, int d)
{
	return d >= 0 && d < st->ndecoders ? st->decoders[d] : "unknown";
}

int
state_ndecoders(const struct state *st)
{
	return st->ndecoders;
}

int64_t
state_started(const struct state *st)
{
	return st->started;
}

int64_t
state_uptime(const struct state *st)
{
	return mono_s() - st->started_mono;
}

uint32_t
state_ncells(const struct state *st)
{
	return win_cells(st->w);
}

int
state_view(struct state *st, uint32_t cell, struct cell_view *out)
{
	if (cell >= win_cells(st->w))
		return AQ_ERR_INVAL;
	pthread_mutex_lock(&st->views[cell].mu);
	*out = st->views[cell].v;
	pthread_mutex_unlock(&st->views[cell].mu);
	return AQ_OK;
}

uint32_t
state_nsensors(const struct state *st)
{
	return atomic_load_explicit(
	    &((struct state *)(uintptr_t)st)->nsensors, memory_order_acquire);
}

/* A sensor's id and cell never change once its index is published, so
 * readers may read them from the engine without the ingest thread. */
const char *
state_sensor_id(const struct state *st, uint32_t sensor)
{
	return win_sensor_id(st->w, sensor);
}

int64_t
state_sensor_last(const struct state *st, uint32_t sensor)
{
	return atomic_load_explicit(&st->last[sensor], memory_order_relaxed);
}

enum sensor_status
state_sensor_status(const struct state *st, uint32_t sensor, int64_t now)
{
	int64_t seen =
	    atomic_load_explicit(&st->seen[sensor], memory_order_relaxed);

	if (seen == WIN_NO_HOUR)
		return SENSOR_NO_DATA;
	/* Liveness is a wall-clock matter: silent for several expected
	 * intervals is offline, whatever the readings' own times say (a
	 * replay of last year is alive; a sensor sending nothing is not). */
	if (now - seen > OFFLINE_INTERVALS * st->interval[sensor])
		return SENSOR_OFFLINE;
	return SENSOR_OK;
}

const char *
sensor_status_name(enum sensor_status s)
{
	static const char *const names[] = {"ok", "offline", "no_data"};

	return names[s];
}

const char *
state_hj212_disc_name(enum state_hj212_disc d)
{
	static const char *const names[STATE_HJ212_DISC_COUNT] = {
	    "idle", "slow", "error", "closed"};

	return (unsigned)d < STATE_HJ212_DISC_COUNT ? names[d] : "unknown";
}

const char *
state_hj212_frame_name(enum state_hj212_frame f)
{
	static const char *const names[STATE_HJ212_FRAME_COUNT] = {
	    "ok", "bad_crc", "bad_length", "oversize", "incomplete"};

	return (unsigned)f < STATE_HJ212_FRAME_COUNT ? names[f] : "unknown";
}

void
state_latency(struct state *st, uint64_t ns)
{
	double s = (double)ns / 1e9;
	int b = 0;

	while (b < STATE_LATENCY_BUCKETS - 1 && s > state_latency_bounds[b])
		b++;
	/* The last bucket also takes what lies above it; +Inf is count. */
	if (s <= state_latency_bounds[b])
		atomic_fetch_add_explicit(
		    &st->counters.latency_bucket[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(
	    &st->counters.latency_count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(
	    &st->counters.latency_sum_ns, ns, memory_order_relaxed);
}

void
state_count_reject(struct state *st, enum reason r, uint64_t n)
{
	if ((unsigned)r < REASON_COUNT && n > 0)
		atomic_fetch_add_explicit(
		    &st->counters.rejected[r], n, memory_order_relaxed);
}

void
state_set_store(struct state *st, struct store *s)
{
	st->store = s;
}

struct store *
state_store(const struct state *st)
{
	return st->store;
}

void
state_set_forecasts(struct state *st, struct fcgrid *g)
{
	st->forecasts = g;
}

struct fcgrid *
state_forecasts(const struct state *st)
{
	return st->forecasts;
}

uint32_t
state_sensor_cell(const struct state *st, uint32_t sensor)
{
	/* Set once when the sensor is added, before it is published. */
	return win_sensor_cell(st->w, sensor);
}

void
state_set_divert(struct state *st, const struct state_divert *d)
{
	st->divert = *d;
}

const struct state_divert *
state_divert(const struct state *st)
{
	return st->divert.owns != NULL ? &st->divert : NULL;
}

void
state_on_publish(struct state *st, state_view_fn fn, void *ctx)
{
	st->on_view = fn;
	st->on_view_ctx = ctx;
}

struct win *
state_engine(struct state *st)
{
	return st->w;
}

static int64_t
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

static void
touch(struct state *st, uint32_t cell)
{
	if (st->dirty[cell])
		return;
	st->dirty[cell] = 1;
	st->dirty_list[st->ndirty++] = cell;
}

int
state_sensor(struct state *st, const char *id, uint32_t cell, uint32_t *out)
{
	int64_t found = win_find_sensor(st->w, id);
	uint32_t idx;
	int rc;

	if (found >= 0) {
		*out = (uint32_t)found;
		return AQ_OK;
	}
	if ((rc = win_add_sensor(st->w, id, cell, &idx)) != AQ_OK)
		return rc;
	atomic_store_explicit(
	    &st->last[idx], WIN_NO_HOUR, memory_order_relaxed);
	atomic_store_explicit(
	    &st->seen[idx], WIN_NO_HOUR, memory_order_relaxed);
	st->interval[idx] = 60;
	fault_add_sensor(st->fd, idx, cell);
	atomic_store_explicit(&st->nsensors, idx + 1, memory_order_release);
	touch(st, cell);
	*out = idx;
	return AQ_OK;
}

static void
fault_conf_from(const struct conf *c, struct fault_conf *out)
{
	fault_defaults(out);
	out->enabled = c->faults;
	out->stuck_secs = (int32_t)c->fault_stuck;
	out->spike_z = c->fault_spike_z;
	out->bias_h = c->fault_bias_h;
	out->disagree = c->fault_disagree;
	if (c->fault_exclude_bias)
		out->exclude |= FAULT_BIT(FAULT_BIAS);
}

const struct fault *
state_faults(const struct state *st)
{
	return st->fd;
}

struct hotspots *
state_hotspots(struct state *st)
{
	return st->hs;
}

void
state_wind(struct state *st, uint32_t sensor, int64_t ts, double ws, double wd)
{
	hotspots_wind(st->hs, win_sensor_cell(st->w, sensor),
	    tz_hour(win_tz(st->w), ts), ws, wd);
}

uint32_t
state_fault_check(struct state *st, uint32_t sensor, const struct reading *r)
{
	const struct conf *c = state_conf(st);

	/* A reload's settings, taken on this thread. */
	if (c != st->fd_conf) {
		struct fault_conf fc;

		fault_conf_from(c, &fc);
		fault_set_conf(st->fd, &fc);
		st->fd_conf = c;
	}
	return fault_observe(st->fd, sensor, r);
}

uint32_t
state_sensor_values(const struct state *st, uint32_t sensor,
    double raw[POL_COUNT], double value[POL_COUNT])
{
	for (int p = 0; p < POL_COUNT; p++) {
		raw[p] = atomic_load_explicit(
		    &st->raw[sensor * POL_COUNT + p], memory_order_relaxed);
		value[p] = atomic_load_explicit(
		    &st->value[sensor * POL_COUNT + p], memory_order_relaxed);
	}
	return atomic_load_explicit(&st->has[sensor], memory_order_relaxed);
}

void
state_updated(struct state *st, uint32_t sensor, const struct reading *r,
    const double *raw, int64_t prev_newest_hour, int64_t now)
{
	uint32_t cell = win_sensor_cell(st->w, sensor);
	int64_t newest = win_cell_newest_hour(st->w, cell);
	int64_t ts = r->ts;

	if (ts > atomic_load_explicit(&st->last[sensor], memory_order_relaxed))
		atomic_store_explicit(
		    &st->last[sensor], ts, memory_order_relaxed);
	atomic_store_explicit(&st->seen[sensor], now, memory_order_relaxed);
	/* Only the newest reading's values are shown: a late one keeps them. */
	if (ts >=
	    atomic_load_explicit(&st->last[sensor], memory_order_relaxed)) {
		for (int p = 0; p < POL_COUNT; p++) {
			atomic_store_explicit(
			    &st->value[sensor * POL_COUNT + p], r->v[p],
			    memory_order_relaxed);
			atomic_store_explicit(&st->raw[sensor * POL_COUNT + p],
			    raw != NULL ? raw[p] : r->v[p],
			    memory_order_relaxed);
		}
		atomic_store_explicit(
		    &st->has[sensor], r->has, memory_order_relaxed);
	}
	/* The view shows complete hours only: it changes when the newest
	 * hour moves on, or when a late reading lands in a complete hour.
	 * The rows to write start at the hour that became complete or
	 * changed. */
	int64_t hour = tz_hour(win_tz(st->w), ts);

	if (newest != prev_newest_hour) {
		int64_t from = prev_newest_hour == WIN_NO_HOUR
		    ? newest - 1
		    : prev_newest_hour;

		if (from < st->row_from[cell])
			st->row_from[cell] = from;
		touch(st, cell);
	} else if (hour < newest) {
		if (hour < st->row_from[cell])
			st->row_from[cell] = hour;
		touch(st, cell);
	}
}

/* The store's row of a cell at an hour or a day, from its statistics. */
static void
fill_row(const struct conf *conf, const struct tz *z, int64_t hour,
    int32_t date, const struct aqi_input *in, const uint8_t *n,
    enum aqi_report report, struct store_hour *h)
{
	struct aqi_opts o = {
	    .std = (enum aqi_std)conf->aqi_std, .report = report};
	struct aqi_result r;

	h->aqi = -1;
	h->level = 0;
	h->primary = h->exceeds = 0;
	if (aqi_compute(&o, in, &r) == AQ_OK && r.aqi >= 0) {
		h->aqi = r.aqi;
		h->level = r.level;
		h->primary = r.primary;
	}
	if (limits_exceeds(&conf->limits,
		date != 0 ? date : tz_hour_day(z, hour), in,
		&h->exceeds) != AQ_OK)
		h->exceeds = 0;
	h->has = in->has & (IND_BIT(IND_AQI_COUNT) - 1);
	for (int i = 0; i < IND_AQI_COUNT; i++) {
		h->v[i] = in->has & IND_BIT(i) ? in->v[i] : 0;
		h->n[i] = n[i];
	}
}

/* Queues the rows of cell from row_from to the view's hour, and the rows
 * of the complete days among them. */
static void
put_rows(struct state *st, const struct conf *conf, uint32_t cell,
    const struct cell_view *v)
{
	const struct tz *z = win_tz(st->w);
	int64_t from = st->row_from[cell];
	int32_t last_date = 0;
	struct store_hour h;
	struct store_day d;
	struct win_hour wh;
	struct win_day wd;

	st->row_from[cell] = INT64_MAX;
	if (st->store == NULL || v->hour == WIN_NO_HOUR || from > v->hour)
		return;
	if (from < v->hour - (WIN_HOURS - 1))
		from = v->hour - (WIN_HOURS - 1);
	memset(&h, 0, sizeof(h));
	snprintf(h.cell, sizeof(h.cell), "%s", win_cell_id(st->w, cell));
	for (int64_t hr = from; hr <= v->hour; hr++) {
		int32_t date = tz_hour_day(z, hr);

		if (win_cell_hour(st->w, cell, hr, &wh) != AQ_OK)
			continue;
		h.hour = tz_hour_end(z, hr);
		h.wx = wh.wx;
		fill_row(conf, z, hr, 0, &wh.in, wh.n, AQI_HOURLY, &h);
		/* A full queue counts the row as dropped (store_stats). */
		(void)store_put_hour(st->store, &h);
		/* A day's row once its last hour is complete. */
		if (date == last_date || tz_day_last_hour(z, date) > v->hour)
			continue;
		last_date = date;
		if (win_cell_day(st->w, cell, date,
			conf->aqi_std == AQI_EPA_2024, &wd) != AQ_OK)
			continue;
		memset(&d, 0, sizeof(d));
		memcpy(d.cell, h.cell, sizeof(d.cell));
		d.date = date;
		fill_row(conf, z, hr, date, &wd.in, wd.n, AQI_DAILY, &h);
		d.aqi = h.aqi;
		d.level = h.level;
		d.primary = h.primary;
		d.exceeds = h.exceeds;
		d.has = h.has;
		memcpy(d.v, h.v, sizeof(d.v));
		memcpy(d.n, h.n, sizeof(d.n));
		(void)store_put_day(st->store, &d);
	}
}

static void
build_view(struct state *st, const struct conf *conf, uint32_t cell,
    struct cell_view *v)
{
	int64_t newest_hour = win_cell_newest_hour(st->w, cell);

	build_view_at(st, conf, cell,
	    newest_hour == WIN_NO_HOUR ? WIN_NO_HOUR : newest_hour - 1, v);
}

/* The view of cell as it was when hour was its latest complete hour
 * (WIN_NO_HOUR: none yet). */
static void
build_view_at(struct state *st, const struct conf *conf, uint32_t cell,
    int64_t hour, struct cell_view *v)
{
	const struct tz *z = win_tz(st->w);
	struct aqi_opts ho = {
	    .std = (enum aqi_std)conf->aqi_std, .report = AQI_HOURLY};
	struct aqi_opts dopt = ho;
	int32_t date;

	dopt.report = AQI_DAILY;
	memset(v, 0, sizeof(*v));
	v->cell = cell;
	v->newest = win_cell_newest(st->w, cell);
	v->hour = WIN_NO_HOUR;
	v->aqi.aqi = v->day_aqi.aqi = -1;
	v->nsensors =
	    win_cell_sensors(st->w, cell, v->sensors, STATE_VIEW_SENSORS);
	if (hour == WIN_NO_HOUR)
		return;
	v->hour = hour;
	v->hour_end = tz_hour_end(z, v->hour);
	date = tz_hour_day(z, v->hour);
	if (win_cell_hour(st->w, cell, v->hour, &v->stats) != AQ_OK ||
	    aqi_compute(&ho, &v->stats.in, &v->aqi) != AQ_OK ||
	    limits_exceeds(&conf->limits, date, &v->stats.in, &v->exceeds) !=
		AQ_OK) {
		v->aqi.aqi = -1;
		v->exceeds = 0;
	}
	/* The latest complete day ends at or before the latest complete
	 * hour. */
	if (tz_day_last_hour(z, date) != v->hour)
		date = tz_date_from_days(tz_days_from_date(date) - 1);
	if (win_cell_day(st->w, cell, date, conf->aqi_std == AQI_EPA_2024,
		&v->day_stats) != AQ_OK)
		return;
	v->day = date;
	if (aqi_compute(&dopt, &v->day_stats.in, &v->day_aqi) != AQ_OK ||
	    limits_exceeds(&conf->limits, date, &v->day_stats.in,
		&v->day_exceeds) != AQ_OK) {
		v->day_aqi.aqi = -1;
		v->day_exceeds = 0;
	}
}

/* Hands the hook every hour of cell that became complete since it last
 * saw the cell, oldest first and each as it was then, so that a burst of
 * hours (a replay, a back-fill) is seen hour by hour as live data would
 * have been; then the latest view, also when it changed in place (a late
 * reading). */
static void
show_hours(struct state *st, const struct conf *conf, uint32_t cell,
    const struct cell_view *v)
{
	int64_t from;
	struct cell_view past;

	if (v->hour == WIN_NO_HOUR) {
		st->on_view(st->on_view_ctx, v);
		return;
	}
	/* A cell seen for the first time: every hour the engine holds. */
	from = st->shown[cell] == WIN_NO_HOUR ? v->hour - (WIN_HOURS - 1)
					      : st->shown[cell] + 1;
	if (from < v->hour - (WIN_HOURS - 1))
		from = v->hour - (WIN_HOURS - 1);
	for (int64_t hr = from; hr < v->hour; hr++) {
		build_view_at(st, conf, cell, hr, &past);
		/* Before the cell's first data there is nothing to see. */
		if (past.stats.in.has == 0 && past.day_stats.in.has == 0 &&
		    st->shown[cell] == WIN_NO_HOUR)
			continue;
		past.version = v->version;
		st->on_view(st->on_view_ctx, &past);
	}
	st->shown[cell] = v->hour;
	st->on_view(st->on_view_ctx, v);
}

void
state_before_update(struct state *st, uint32_t sensor, int64_t ts)
{
	uint32_t cell = win_sensor_cell(st->w, sensor);
	int64_t oldest = st->row_from[cell], hour;

	if (!st->dirty[cell])
		return;
	if (st->on_view != NULL && st->shown[cell] != WIN_NO_HOUR &&
	    st->shown[cell] + 1 < oldest)
		oldest = st->shown[cell] + 1;
	if (oldest == INT64_MAX)
		return;
	hour = tz_hour(win_tz(st->w), ts);
	/* The rows to come include the day of the oldest hour, whose first
	 * hours must still be held (a day back), and the reading's hour
	 * becomes the newest, the one before it the latest complete (two
	 * hours). */
	if (hour - oldest >= WIN_HOURS - 2 - 24)
		state_publish(st);
}

uint32_t
state_publish(struct state *st)
{
	const struct conf *conf = state_conf(st);
	uint32_t n = st->ndirty;
	struct cell_view v;

	for (uint32_t k = 0; k < n; k++) {
		uint32_t cell = st->dirty_list[k];
		struct view_slot *slot = &st->views[cell];

		/* Built outside the lock: readers wait only for the copy. */
		build_view(st, conf, cell, &v);
		put_rows(st, conf, cell, &v);
		pthread_mutex_lock(&slot->mu);
		v.version = slot->v.version + 1;
		slot->v = v;
		pthread_mutex_unlock(&slot->mu);
		if (st->on_view != NULL)
			show_hours(st, conf, cell, &v);
		st->dirty[cell] = 0;
	}
	st->ndirty = 0;
	if (st->on_view != NULL && n > 0)
		st->on_view(st->on_view_ctx, NULL);
	atomic_fetch_add_explicit(
	    &st->counters.publishes, n, memory_order_relaxed);
	return n;
}

/* The image's header; the sensors' facts, then the engine's image follow. */
struct image_head {
	char magic[8];
	uint64_t mark;
	uint32_t nsensors;
	uint32_t npol;
	uint64_t win_len;
	uint64_t fault_len; /* the detector's image, after the engine's */
};

static const char image_magic[8] = "AQSTAT4";

/* Per sensor: last, seen, interval (int64), has (uint32) and 4 bytes of 0,
 * raw and value (double[POL_COUNT]): a multiple of 8, so that the engine's
 * image after them stays aligned. */
#define SENSOR_IMAGE_BYTES                                                     \
	(3 * sizeof(int64_t) + 2 * sizeof(uint32_t) +                          \
	    2 * POL_COUNT * sizeof(double))
_Static_assert(SENSOR_IMAGE_BYTES % 8 == 0, "sensor image alignment");

size_t
state_image_size(const struct state *st)
{
	const struct conf *conf = state_conf(st);

	return sizeof(struct image_head) +
	    ((size_t)conf->sensors_max + 1) * SENSOR_IMAGE_BYTES +
	    win_image_size(st->w) +
	    fault_image_size(st->fd, (uint32_t)conf->sensors_max + 1);
}

static unsigned char *
put_bytes(unsigned char *p, const void *v, size_t n)
{
	memcpy(p, v, n);
	return p + n;
}

size_t
state_image_save(const struct state *st, uint64_t mark, void *buf)
{
	struct image_head h;
	unsigned char *p = buf;
	uint32_t n = win_sensors(st->w), zero = 0;

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, image_magic, sizeof(h.magic));
	h.mark = mark;
	h.nsensors = n;
	h.npol = POL_COUNT;
	p += sizeof(h);
	for (uint32_t k = 0; k < n; k++) {
		int64_t last = atomic_load_explicit(
			    &st->last[k], memory_order_relaxed),
			seen = atomic_load_explicit(
			    &st->seen[k], memory_order_relaxed);
		uint32_t has =
		    atomic_load_explicit(&st->has[k], memory_order_relaxed);

		p = put_bytes(p, &last, sizeof(last));
		p = put_bytes(p, &seen, sizeof(seen));
		p = put_bytes(p, &st->interval[k], sizeof(st->interval[k]));
		p = put_bytes(p, &has, sizeof(has));
		p = put_bytes(p, &zero, sizeof(zero));
		for (int q = 0; q < 2 * POL_COUNT; q++) {
			double x = atomic_load_explicit(q < POL_COUNT
				? &st->raw[k * POL_COUNT + (uint32_t)q]
				: &st->value[k * POL_COUNT +
				      (uint32_t)(q - POL_COUNT)],
			    memory_order_relaxed);

			p = put_bytes(p, &x, sizeof(x));
		}
	}
	h.win_len = win_image_save(st->w, p);
	p += h.win_len;
	h.fault_len = fault_image_save(st->fd, n, p);
	memcpy(buf, &h, sizeof(h));
	return (size_t)(p - (unsigned char *)buf) + h.fault_len;
}

int
state_image_load(struct state *st, const void *buf, size_t len, uint64_t *mark,
    char *msg, size_t msglen)
{
	const unsigned char *p = buf;
	struct image_head h;
	size_t facts;
	int rc;

	if (len < sizeof(h)) {
		snprintf(msg, msglen, "state image truncated");
		return AQ_ERR_INVAL;
	}
	memcpy(&h, p, sizeof(h));
	if (memcmp(h.magic, image_magic, sizeof(h.magic)) != 0 ||
	    h.npol != POL_COUNT) {
		snprintf(msg, msglen, "state image of another layout");
		return AQ_ERR_INVAL;
	}
	facts = (size_t)h.nsensors * SENSOR_IMAGE_BYTES;
	if (h.nsensors > state_conf(st)->sensors_max ||
	    len - sizeof(h) < facts ||
	    len - sizeof(h) - facts != h.win_len + h.fault_len) {
		snprintf(msg, msglen, "state image truncated");
		return AQ_ERR_INVAL;
	}
	if ((rc = win_image_load(st->w, p + sizeof(h) + facts, h.win_len, msg,
		 msglen)) != AQ_OK)
		return rc;
	if (win_sensors(st->w) != h.nsensors ||
	    fault_image_load(st->fd, p + sizeof(h) + facts + h.win_len,
		h.fault_len) != AQ_OK) {
		snprintf(msg, msglen, "state image damaged");
		return AQ_ERR_INVAL;
	}
	p += sizeof(h);
	for (uint32_t k = 0; k < h.nsensors; k++) {
		int64_t last, seen;
		uint32_t has;

		memcpy(&last, p, sizeof(last));
		memcpy(&seen, p + 8, sizeof(seen));
		memcpy(&st->interval[k], p + 16, sizeof(st->interval[k]));
		memcpy(&has, p + 24, sizeof(has));
		p += 32;
		atomic_store_explicit(&st->last[k], last, memory_order_relaxed);
		atomic_store_explicit(&st->seen[k], seen, memory_order_relaxed);
		atomic_store_explicit(&st->has[k], has, memory_order_relaxed);
		for (int q = 0; q < 2 * POL_COUNT; q++, p += sizeof(double)) {
			double x;

			memcpy(&x, p, sizeof(x));
			atomic_store_explicit(q < POL_COUNT
				? &st->raw[k * POL_COUNT + (uint32_t)q]
				: &st->value[k * POL_COUNT +
				      (uint32_t)(q - POL_COUNT)],
			    x, memory_order_relaxed);
		}
	}
	atomic_store_explicit(&st->nsensors, h.nsensors, memory_order_release);
	for (uint32_t c = 0; c < win_cells(st->w); c++) {
		int64_t newest = win_cell_newest_hour(st->w, c);

		st->row_from[c] = INT64_MAX;
		/* The hook saw these hours before the restart. */
		st->shown[c] = newest == WIN_NO_HOUR ? WIN_NO_HOUR : newest - 1;
		touch(st, c);
	}
	state_publish(st);
	*mark = h.mark;
	return AQ_OK;
}

void
state_rewrite_rows(struct state *st, int hours)
{
	for (uint32_t c = 0; c < win_cells(st->w); c++) {
		int64_t newest = win_cell_newest_hour(st->w, c);

		if (newest == WIN_NO_HOUR)
			continue;
		if (newest - hours < st->row_from[c])
			st->row_from[c] = newest - hours;
		touch(st, c);
	}
}
