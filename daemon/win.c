/* win: cells, sensors and rolling windows of the engine (see win.h). */
#include "daemon/win.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/fix.h"

#define SEEN_WORDS 57         /* 3648 bits: one per second of an hour */
#define MINUTES_VALID 45      /* sensor-hour validity, GB 3095 table 4 */
#define DAY_HOURS_VALID 20    /* daily and 24-hour means */
#define WIN8_HOURS_VALID 6    /* 8-hour means */
#define MDA8_WINDOWS_VALID 14 /* daily maximum 8-hour mean */
#define VAL_NONE INT32_MIN    /* an invalid hourly value */
#define VAL_MAX 1000000.0     /* largest value accepted, canonical unit */
#define NONE UINT32_MAX
#define MILLI_TO_FIX (FIX_ONE / 1000)

/* One sensor's readings within one hour. */
struct slot {
	int64_t hour;
	uint64_t seen[SEEN_WORDS]; /* timestamps seen, by second */
	uint64_t cover[POL_COUNT]; /* minutes covered, per pollutant */
	double sum[POL_COUNT];
	uint16_t n[POL_COUNT];
};

struct sensor {
	char id[WIN_SENSOR_ID_MAX];
	uint32_t cell;
	uint32_t next; /* next sensor of the same cell */
	int64_t last_ts;
};

struct cell {
	char id[WIN_CELL_ID_MAX];
	int64_t newest_ts;
	int64_t newest_hour;
	uint32_t first_sensor;
	/* Cell-hour values in 0.001 unit, ring indexed by hour. */
	int32_t val[WIN_HOURS][POL_COUNT];
	/* Cell-hour weather, the same ring. */
	struct wx_packed wx[WIN_HOURS];
};

/* Open-addressing index from id to position + 1 (0: empty). */
struct index {
	uint32_t *tab;
	uint32_t mask;
};

struct win {
	struct tz tz;
	int32_t lateness;
	uint32_t nslots; /* slots per sensor */
	struct limits_opts limits;
	uint32_t ncells, cells_max, nsensors, sensors_max;
	struct cell *cells;
	struct sensor *sensors;
	struct slot *slots;
	/* Weather sums of the hours readings may still reach: nslots per
	 * cell, slot hour % nslots. */
	struct wx_acc *wxacc;
	struct index cell_ix, sensor_ix;
};

/* The indicators of each pollutant at 1, 24 and 8 hours (-1: none). */
static const int pol_inds[POL_COUNT][3] = {
    [POL_PM25] = {IND_PM25_1H, IND_PM25_24H, -1},
    [POL_PM10] = {IND_PM10_1H, IND_PM10_24H, -1},
    [POL_SO2] = {IND_SO2_1H, IND_SO2_24H, -1},
    [POL_NO2] = {IND_NO2_1H, IND_NO2_24H, -1},
    [POL_CO] = {IND_CO_1H, IND_CO_24H, IND_CO_8H},
    [POL_O3] = {IND_O3_1H, -1, IND_O3_8H},
};

static uint32_t hash_id(const char *s);
static int index_init(struct index *ix, uint32_t max);
static int64_t index_find(
    const struct index *ix, const char *id, const void *base, size_t stride);
static void index_put(struct index *ix, const char *id, uint32_t pos);
static int id_ok(const char *id, size_t max);
static uint32_t ring(int64_t hour);
static struct slot *slot_of(const struct win *w, uint32_t sensor, int64_t hour);
static int32_t cell_get(const struct cell *c, int64_t hour, enum pol p);
static void cell_advance(struct cell *c, int64_t hour);
static void cell_recompute(
    struct win *w, struct cell *c, int64_t hour, uint32_t has);
static void cell_weather(struct win *w, uint32_t cell, int64_t hour,
    const struct reading *r, int32_t secs);
static uint64_t minute_mask(int64_t from, int64_t to);
static int mean_of(const struct cell *c, int64_t first, int64_t last,
    enum pol p, int need, int64_t *out, uint8_t *n);
static void put(struct aqi_input *in, int ind, int64_t v);
static void day_max8(const struct win *w, const struct cell *c, int64_t e0,
    int64_t e1, enum pol p, int32_t date, struct win_day *out, int ind);

static uint32_t
hash_id(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	while (*s != '\0')
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

static int
index_init(struct index *ix, uint32_t max)
{
	uint32_t cap = 16;

	while (cap < 2 * (uint64_t)max && cap < (1u << 31))
		cap <<= 1;
	if ((ix->tab = calloc(cap, sizeof(*ix->tab))) == NULL)
		return AQ_ERR_NOMEM;
	ix->mask = cap - 1;
	return AQ_OK;
}

/* Ids sit at the start of each element of base, stride bytes apart. */
static int64_t
index_find(
    const struct index *ix, const char *id, const void *base, size_t stride)
{
	uint32_t i = hash_id(id) & ix->mask;

	for (; ix->tab[i] != 0; i = (i + 1) & ix->mask) {
		const char *cand =
		    (const char *)base + (size_t)(ix->tab[i] - 1) * stride;

		if (strcmp(cand, id) == 0)
			return ix->tab[i] - 1;
	}
	return -1;
}

static void
index_put(struct index *ix, const char *id, uint32_t pos)
{
	uint32_t i = hash_id(id) & ix->mask;

	while (ix->tab[i] != 0)
		i = (i + 1) & ix->mask;
	ix->tab[i] = pos + 1;
}

static int
id_ok(const char *id, size_t max)
{
	size_t len = strlen(id);

	return len > 0 && len < max;
}

struct win *
win_new(const struct win_conf *conf)
{
	struct win *w = NULL;

	if (conf->lateness < 0 || conf->lateness > WIN_LATENESS_MAX ||
	    conf->cells_max == 0 || conf->cells_max > (1u << 26) ||
	    conf->sensors_max > (1u << 26))
		return NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	if (tz_init(&w->tz, conf->tz) != AQ_OK)
		goto fail;
	w->lateness = conf->lateness;
	/* Hours a reading may still reach: see win_update(). */
	w->nslots = (uint32_t)((conf->lateness + 3599) / 3600) + 1;
	w->limits = conf->limits;
	w->cells_max = conf->cells_max;
	w->sensors_max = conf->sensors_max;
	w->cells = calloc(conf->cells_max, sizeof(*w->cells));
	w->sensors = calloc(conf->sensors_max + 1, sizeof(*w->sensors));
	w->slots = calloc(
	    (size_t)(conf->sensors_max + 1) * w->nslots, sizeof(*w->slots));
	w->wxacc =
	    calloc((size_t)conf->cells_max * w->nslots, sizeof(*w->wxacc));
	if (w->cells == NULL || w->sensors == NULL || w->slots == NULL ||
	    w->wxacc == NULL ||
	    index_init(&w->cell_ix, conf->cells_max) != AQ_OK ||
	    index_init(&w->sensor_ix, conf->sensors_max) != AQ_OK)
		goto fail;
	return w;
fail:
	win_free(w);
	return NULL;
}

void
win_free(struct win *w)
{
	if (w == NULL)
		return;
	free(w->cell_ix.tab);
	free(w->sensor_ix.tab);
	free(w->wxacc);
	free(w->slots);
	free(w->sensors);
	free(w->cells);
	free(w);
}

const struct tz *
win_tz(const struct win *w)
{
	return &w->tz;
}

int
win_add_cell(struct win *w, const char *id, uint32_t *out)
{
	struct cell *c;

	if (!id_ok(id, WIN_CELL_ID_MAX) || win_find_cell(w, id) >= 0)
		return AQ_ERR_INVAL;
	if (w->ncells == w->cells_max)
		return AQ_ERR_FULL;
	c = &w->cells[w->ncells];
	memcpy(c->id, id, strlen(id) + 1);
	c->newest_ts = WIN_NO_HOUR;
	c->newest_hour = WIN_NO_HOUR;
	c->first_sensor = NONE;
	for (int h = 0; h < WIN_HOURS; h++) {
		for (int p = 0; p < POL_COUNT; p++)
			c->val[h][p] = VAL_NONE;
		wx_packed_clear(&c->wx[h]);
	}
	for (uint32_t k = 0; k < w->nslots; k++)
		wx_acc_init(
		    &w->wxacc[(size_t)w->ncells * w->nslots + k], WX_NO_HOUR);
	index_put(&w->cell_ix, id, w->ncells);
	*out = w->ncells++;
	return AQ_OK;
}

int
win_add_sensor(struct win *w, const char *id, uint32_t cell, uint32_t *out)
{
	struct sensor *s;
	uint32_t n = w->nsensors;

	if (!id_ok(id, WIN_SENSOR_ID_MAX) || cell >= w->ncells ||
	    win_find_sensor(w, id) >= 0)
		return AQ_ERR_INVAL;
	if (n == w->sensors_max)
		return AQ_ERR_FULL;
	s = &w->sensors[n];
	memcpy(s->id, id, strlen(id) + 1);
	s->cell = cell;
	s->last_ts = WIN_NO_HOUR;
	s->next = w->cells[cell].first_sensor;
	w->cells[cell].first_sensor = n;
	for (uint32_t k = 0; k < w->nslots; k++)
		w->slots[(size_t)n * w->nslots + k].hour = WIN_NO_HOUR;
	index_put(&w->sensor_ix, id, n);
	*out = w->nsensors++;
	return AQ_OK;
}

int64_t
win_find_cell(const struct win *w, const char *id)
{
	return index_find(&w->cell_ix, id, w->cells, sizeof(*w->cells));
}

int64_t
win_find_sensor(const struct win *w, const char *id)
{
	return index_find(&w->sensor_ix, id, w->sensors, sizeof(*w->sensors));
}

uint32_t
win_cells(const struct win *w)
{
	return w->ncells;
}

uint32_t
win_sensors(const struct win *w)
{
	return w->nsensors;
}

const char *
win_cell_id(const struct win *w, uint32_t cell)
{
	return w->cells[cell].id;
}

const char *
win_sensor_id(const struct win *w, uint32_t sensor)
{
	return w->sensors[sensor].id;
}

uint32_t
win_sensor_cell(const struct win *w, uint32_t sensor)
{
	return w->sensors[sensor].cell;
}

uint32_t
win_cell_sensors(
    const struct win *w, uint32_t cell, uint32_t *out, uint32_t max)
{
	uint32_t n = 0;

	for (uint32_t si = w->cells[cell].first_sensor; si != NONE;
	     si = w->sensors[si].next, n++)
		if (n < max)
			out[n] = si;
	return n;
}

int64_t
win_cell_newest(const struct win *w, uint32_t cell)
{
	return w->cells[cell].newest_ts;
}

int64_t
win_sensor_last(const struct win *w, uint32_t sensor)
{
	return w->sensors[sensor].last_ts;
}

int64_t
win_cell_newest_hour(const struct win *w, uint32_t cell)
{
	return w->cells[cell].newest_hour;
}

static uint32_t
ring(int64_t hour)
{
	int64_t r = hour % WIN_HOURS;

	return (uint32_t)(r < 0 ? r + WIN_HOURS : r);
}

static struct slot *
slot_of(const struct win *w, uint32_t sensor, int64_t hour)
{
	int64_t k = hour % (int64_t)w->nslots;

	if (k < 0)
		k += w->nslots;
	return &w->slots[(size_t)sensor * w->nslots + (size_t)k];
}

static int32_t
cell_get(const struct cell *c, int64_t hour, enum pol p)
{
	if (c->newest_hour == WIN_NO_HOUR || hour > c->newest_hour ||
	    hour <= c->newest_hour - WIN_HOURS)
		return VAL_NONE;
	return c->val[ring(hour)][p];
}

/* Moves the cell's newest hour forward, clearing the hours it passes. */
static void
cell_advance(struct cell *c, int64_t hour)
{
	int64_t from =
	    c->newest_hour == WIN_NO_HOUR || hour - c->newest_hour >= WIN_HOURS
	    ? hour - WIN_HOURS + 1
	    : c->newest_hour + 1;

	for (int64_t h = from; h <= hour; h++) {
		for (int p = 0; p < POL_COUNT; p++)
			c->val[ring(h)][p] = VAL_NONE;
		wx_packed_clear(&c->wx[ring(h)]);
	}
	c->newest_hour = hour;
}

/* Minutes of an hour overlapped by the seconds [from, to), to > from. */
static uint64_t
minute_mask(int64_t from, int64_t to)
{
	int lo = (int)(from / 60), hi = (int)((to - 1) / 60);
	uint64_t upto = hi >= 63 ? ~UINT64_C(0) : (UINT64_C(1) << (hi + 1)) - 1;

	return upto & ~((UINT64_C(1) << lo) - 1);
}

/* The cell-hour value is the mean of its sensors' valid hour means. */
static void
cell_recompute(struct win *w, struct cell *c, int64_t hour, uint32_t has)
{
	for (int p = 0; p < POL_COUNT; p++) {
		int64_t total = 0, n = 0;

		if (!(has & (1u << p)))
			continue;
		for (uint32_t si = c->first_sensor; si != NONE;
		     si = w->sensors[si].next) {
			const struct slot *sl = slot_of(w, si, hour);

			if (sl->hour != hour || sl->n[p] == 0 ||
			    __builtin_popcountll(sl->cover[p]) < MINUTES_VALID)
				continue;
			total += llround(sl->sum[p] / sl->n[p] * 1000.0);
			n++;
		}
		c->val[ring(hour)][p] =
		    n == 0 ? VAL_NONE : (int32_t)((2 * total + n) / (2 * n));
	}
}

int
win_update(struct win *w, uint32_t sensor, const struct reading *r)
{
	struct sensor *s;
	struct cell *c;
	struct slot *sl;
	int64_t hour, off, end;
	uint64_t mask;

	if (sensor >= w->nsensors)
		return AQ_ERR_INVAL;
	if (r->period < 1 || r->period > 86400 || r->has == 0 ||
	    r->has >= (1u << POL_COUNT))
		return AQ_ERR_RANGE;
	for (int p = 0; p < POL_COUNT; p++)
		if ((r->has & (1u << p)) &&
		    !(r->v[p] >= 0.0 && r->v[p] <= VAL_MAX))
			return AQ_ERR_RANGE;
	s = &w->sensors[sensor];
	c = &w->cells[s->cell];
	if (c->newest_ts != WIN_NO_HOUR && r->ts < c->newest_ts - w->lateness)
		return AQ_ERR_STALE;
	hour = tz_hour(&w->tz, r->ts);
	/* A reading reaches at most nslots hours back from its cell's newest
	 * hour, which no sensor of the cell is past; so a slot holding
	 * another hour holds an older one, already frozen in the cell. */
	sl = slot_of(w, sensor, hour);
	off = r->ts - (tz_hour_end(&w->tz, hour) - 3600);
	if (sl->hour == hour &&
	    (sl->seen[off / 64] & (UINT64_C(1) << (off % 64))))
		return AQ_ERR_DUP;
	if (sl->hour != hour) {
		memset(sl, 0, sizeof(*sl));
		sl->hour = hour;
	}
	sl->seen[off / 64] |= UINT64_C(1) << (off % 64);
	end = off + r->period < 3600 ? off + r->period : 3600;
	mask = minute_mask(off, end);
	for (int p = 0; p < POL_COUNT; p++) {
		if (!(r->has & (1u << p)))
			continue;
		sl->sum[p] += r->v[p];
		sl->n[p]++;
		sl->cover[p] |= mask;
	}
	if (c->newest_hour == WIN_NO_HOUR || hour > c->newest_hour)
		cell_advance(c, hour);
	if (r->ts > c->newest_ts)
		c->newest_ts = r->ts;
	if (r->ts > s->last_ts)
		s->last_ts = r->ts;
	cell_recompute(w, c, hour, r->has);
	if (r->wx_has != 0)
		cell_weather(w, s->cell, hour, r, (int32_t)(end - off));
	return AQ_OK;
}

/* Adds a reading's weather (secs seconds of hour) to its cell-hour's sums
 * and keeps the hour's values.  As for the sensors' slots, a sum slot
 * holding another hour holds an older, frozen one. */
static void
cell_weather(struct win *w, uint32_t cell, int64_t hour,
    const struct reading *r, int32_t secs)
{
	struct wx_acc *a = &w->wxacc[(size_t)cell * w->nslots +
	    (size_t)(((hour % w->nslots) + w->nslots) % w->nslots)];

	if (a->hour != (int32_t)hour) {
		if (a->hour != WX_NO_HOUR && a->hour > (int32_t)hour)
			return;
		wx_acc_init(a, (int32_t)hour);
	}
	wx_acc_add(a, r->wx_has, r->wx, secs, r->period);
	wx_acc_pack(a, &w->cells[cell].wx[ring(hour)]);
}

/* Mean of the valid hours first..last in fix, valid with >= need hours. */
static int
mean_of(const struct cell *c, int64_t first, int64_t last, enum pol p, int need,
    int64_t *out, uint8_t *n)
{
	int64_t sum = 0;
	int cnt = 0;

	for (int64_t h = first; h <= last; h++) {
		int32_t v = cell_get(c, h, p);

		if (v != VAL_NONE) {
			sum += v;
			cnt++;
		}
	}
	*n = (uint8_t)cnt;
	if (cnt < need || cnt == 0)
		return 0;
	/* sum is in 0.001 unit: scale to fix and divide, rounding half up. */
	*out = (2 * sum * MILLI_TO_FIX + cnt) / (2 * cnt);
	return 1;
}

static void
put(struct aqi_input *in, int ind, int64_t v)
{
	in->has |= IND_BIT(ind);
	in->v[ind] = v;
}

int
win_cell_hour(struct win *w, uint32_t cell, int64_t hour, struct win_hour *out)
{
	const struct cell *c;

	if (cell >= w->ncells)
		return AQ_ERR_INVAL;
	c = &w->cells[cell];
	if (c->newest_hour == WIN_NO_HOUR || hour > c->newest_hour ||
	    hour <= c->newest_hour - WIN_HOURS)
		return AQ_ERR_RANGE;
	memset(out, 0, sizeof(*out));
	out->hour = hour;
	wx_unpack(&c->wx[ring(hour)], &out->wx);
	for (int p = 0; p < POL_COUNT; p++) {
		const int *ind = pol_inds[p];
		int32_t v = cell_get(c, hour, (enum pol)p);
		int64_t m;

		for (int k = 0; k < 3; k++)
			if (ind[k] >= 0)
				out->in.unit[ind[k]] = pol_unit((enum pol)p);
		out->n[ind[0]] = v != VAL_NONE;
		if (v != VAL_NONE)
			put(&out->in, ind[0], v * MILLI_TO_FIX);
		if (ind[1] >= 0 &&
		    mean_of(c, hour - 23, hour, (enum pol)p, DAY_HOURS_VALID,
			&m, &out->n[ind[1]]))
			put(&out->in, ind[1], m);
		if (ind[2] >= 0 &&
		    mean_of(c, hour - 7, hour, (enum pol)p, WIN8_HOURS_VALID,
			&m, &out->n[ind[2]]))
			put(&out->in, ind[2], m);
	}
	return AQ_OK;
}

/* The largest valid 8-hour mean over windows ending at e0..e1, into
 * out's indicator ind: valid with >= 14 windows, or fewer for O3 when it
 * already exceeds the O3 8-hour limit. */
static void
day_max8(const struct win *w, const struct cell *c, int64_t e0, int64_t e1,
    enum pol p, int32_t date, struct win_day *out, int ind)
{
	int64_t best = -1, m, limit;
	int windows = 0;
	uint8_t n;

	for (int64_t e = e0; e <= e1; e++) {
		if (!mean_of(c, e - 7, e, p, WIN8_HOURS_VALID, &m, &n))
			continue;
		windows++;
		if (m > best)
			best = m;
	}
	out->n[ind] = (uint8_t)windows;
	if (windows == 0)
		return;
	if (windows >= MDA8_WINDOWS_VALID ||
	    (p == POL_O3 && limits_get(&w->limits, date, IND_O3_8H, &limit) &&
		best > limit))
		put(&out->in, ind, best);
}

int
win_cell_day(
    struct win *w, uint32_t cell, int32_t date, bool us, struct win_day *out)
{
	const struct cell *c;
	int64_t first, last;

	if (cell >= w->ncells)
		return AQ_ERR_INVAL;
	c = &w->cells[cell];
	last = tz_day_last_hour(&w->tz, date);
	first = tz_day_last_hour(
		    &w->tz, tz_date_from_days(tz_days_from_date(date) - 1)) +
	    1;
	if (c->newest_hour == WIN_NO_HOUR || first > c->newest_hour ||
	    first <= c->newest_hour - WIN_HOURS)
		return AQ_ERR_RANGE;
	memset(out, 0, sizeof(*out));
	out->date = date;
	for (int p = 0; p < POL_COUNT; p++) {
		const int *ind = pol_inds[p];
		int64_t m, max = -1;
		int cnt = 0;

		for (int k = 0; k < 3; k++)
			if (ind[k] >= 0)
				out->in.unit[ind[k]] = pol_unit((enum pol)p);
		if (ind[1] >= 0 &&
		    mean_of(c, first, last, (enum pol)p, DAY_HOURS_VALID, &m,
			&out->n[ind[1]]))
			put(&out->in, ind[1], m);
		/* Daily maximum hourly value, on the daily means' rule (D12).
		 */
		for (int64_t h = first; h <= last; h++) {
			int32_t v = cell_get(c, h, (enum pol)p);

			if (v == VAL_NONE)
				continue;
			cnt++;
			if (v > max)
				max = v;
		}
		out->n[ind[0]] = (uint8_t)cnt;
		if (cnt >= DAY_HOURS_VALID)
			put(&out->in, ind[0], max * MILLI_TO_FIX);
		if (ind[2] < 0)
			continue;
		/* China: 8-hour windows ending 08:00 ... 24:00 of the day; the
		 * US O3 windows start 07:00 ... 23:00 instead. */
		if (us && p == POL_O3)
			day_max8(w, c, first + 14, first + 30, (enum pol)p,
			    date, out, ind[2]);
		else
			day_max8(w, c, first + 7, last, (enum pol)p, date, out,
			    ind[2]);
	}
	return AQ_OK;
}

size_t
win_cell_bytes(const struct win *w)
{
	/* The cell, its weather sums and its two index entries. */
	return sizeof(struct cell) + w->nslots * sizeof(struct wx_acc) +
	    2 * sizeof(uint32_t);
}

size_t
win_sensor_bytes(const struct win *w)
{
	return sizeof(struct sensor) + w->nslots * sizeof(struct slot) +
	    2 * sizeof(uint32_t);
}

/* The image's header; cells, sensors and slots follow as they are held. */
struct image_head {
	char magic[8];
	uint32_t cell_size, sensor_size, slot_size;
	uint32_t ncells, nsensors, nslots;
	int32_t lateness;
	uint32_t wxacc_size; /* sizeof(struct wx_acc); keeps 8-alignment */
	char tz[TZ_NAME_MAX];
};

/* The cells are read in place: they must be aligned as the engine's. */
_Static_assert(sizeof(struct image_head) % 8 == 0, "image head alignment");
/* The weather sums follow the slots: they must keep the alignment. */
_Static_assert(sizeof(struct wx_acc) % 8 == 0, "weather sums alignment");

static const char image_magic[8] = "AQWIN03";

size_t
win_image_size(const struct win *w)
{
	return sizeof(struct image_head) +
	    (size_t)w->ncells * sizeof(struct cell) +
	    (size_t)w->ncells * w->nslots * sizeof(struct wx_acc) +
	    (size_t)w->sensors_max * sizeof(struct sensor) +
	    (size_t)w->sensors_max * w->nslots * sizeof(struct slot);
}

size_t
win_image_save(const struct win *w, void *buf)
{
	struct image_head h;
	unsigned char *p = buf;
	size_t n;

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, image_magic, sizeof(h.magic));
	h.cell_size = sizeof(struct cell);
	h.sensor_size = sizeof(struct sensor);
	h.slot_size = sizeof(struct slot);
	h.wxacc_size = sizeof(struct wx_acc);
	h.ncells = w->ncells;
	h.nsensors = w->nsensors;
	h.nslots = w->nslots;
	h.lateness = w->lateness;
	memcpy(h.tz, w->tz.name, sizeof(h.tz));
	memcpy(p, &h, sizeof(h));
	p += sizeof(h);
	n = (size_t)w->ncells * sizeof(struct cell);
	memcpy(p, w->cells, n);
	p += n;
	n = (size_t)w->nsensors * sizeof(struct sensor);
	memcpy(p, w->sensors, n);
	p += n;
	n = (size_t)w->nsensors * w->nslots * sizeof(struct slot);
	memcpy(p, w->slots, n);
	p += n;
	n = (size_t)w->ncells * w->nslots * sizeof(struct wx_acc);
	memcpy(p, w->wxacc, n);
	p += n;
	return (size_t)(p - (unsigned char *)buf);
}

int
win_image_load(
    struct win *w, const void *buf, size_t len, char *msg, size_t msglen)
{
	const unsigned char *p = buf;
	const struct cell *cells;
	const struct sensor *sensors;
	struct image_head h;
	size_t need;

	if (len < sizeof(h)) {
		snprintf(msg, msglen, "engine image truncated");
		return AQ_ERR_INVAL;
	}
	memcpy(&h, p, sizeof(h));
	if (memcmp(h.magic, image_magic, sizeof(h.magic)) != 0 ||
	    h.cell_size != sizeof(struct cell) ||
	    h.sensor_size != sizeof(struct sensor) ||
	    h.slot_size != sizeof(struct slot) ||
	    h.wxacc_size != sizeof(struct wx_acc)) {
		snprintf(msg, msglen, "engine image of another layout");
		return AQ_ERR_INVAL;
	}
	if (h.ncells != w->ncells || h.nslots != w->nslots ||
	    h.lateness != w->lateness ||
	    strncmp(h.tz, w->tz.name, sizeof(h.tz)) != 0) {
		snprintf(msg, msglen,
		    "engine image of another grid, zone or lateness");
		return AQ_ERR_INVAL;
	}
	if (h.nsensors > w->sensors_max || h.nsensors < w->nsensors) {
		snprintf(
		    msg, msglen, "engine image of another sensor registry");
		return AQ_ERR_INVAL;
	}
	need = sizeof(h) + (size_t)h.ncells * sizeof(struct cell) +
	    (size_t)h.nsensors * sizeof(struct sensor) +
	    (size_t)h.nsensors * h.nslots * sizeof(struct slot) +
	    (size_t)h.ncells * h.nslots * sizeof(struct wx_acc);
	if (len != need) {
		snprintf(msg, msglen, "engine image truncated");
		return AQ_ERR_INVAL;
	}
	cells = (const struct cell *)(const void *)(p + sizeof(h));
	sensors = (const struct sensor *)(const void *)(cells + h.ncells);
	for (uint32_t c = 0; c < h.ncells; c++)
		if (strncmp(cells[c].id, w->cells[c].id, WIN_CELL_ID_MAX) !=
		    0) {
			snprintf(msg, msglen, "engine image of another grid");
			return AQ_ERR_INVAL;
		}
	for (uint32_t k = 0; k < h.nsensors; k++) {
		if (k < w->nsensors &&
		    (strncmp(sensors[k].id, w->sensors[k].id,
			 WIN_SENSOR_ID_MAX) != 0 ||
			sensors[k].cell != w->sensors[k].cell)) {
			snprintf(msg, msglen,
			    "engine image of another sensor registry");
			return AQ_ERR_INVAL;
		}
		if (!id_ok(sensors[k].id, WIN_SENSOR_ID_MAX) ||
		    memchr(sensors[k].id, '\0', WIN_SENSOR_ID_MAX) == NULL ||
		    sensors[k].cell >= h.ncells ||
		    (sensors[k].next != NONE &&
			sensors[k].next >= h.nsensors)) {
			snprintf(msg, msglen, "engine image damaged");
			return AQ_ERR_INVAL;
		}
	}
	for (uint32_t c = 0; c < h.ncells; c++)
		if (cells[c].first_sensor != NONE &&
		    cells[c].first_sensor >= h.nsensors) {
			snprintf(msg, msglen, "engine image damaged");
			return AQ_ERR_INVAL;
		}
	memcpy(w->cells, cells, (size_t)h.ncells * sizeof(struct cell));
	memcpy(w->sensors, sensors, (size_t)h.nsensors * sizeof(struct sensor));
	memcpy(w->slots, sensors + h.nsensors,
	    (size_t)h.nsensors * h.nslots * sizeof(struct slot));
	memcpy(w->wxacc,
	    (const unsigned char *)(sensors + h.nsensors) +
		(size_t)h.nsensors * h.nslots * sizeof(struct slot),
	    (size_t)h.ncells * h.nslots * sizeof(struct wx_acc));
	memset(w->sensor_ix.tab, 0,
	    ((size_t)w->sensor_ix.mask + 1) * sizeof(*w->sensor_ix.tab));
	for (uint32_t k = 0; k < h.nsensors; k++)
		index_put(&w->sensor_ix, w->sensors[k].id, k);
	w->nsensors = h.nsensors;
	return AQ_OK;
}
