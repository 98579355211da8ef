/* hotspot: persistent excess over the local background (see hotspot.h). */
#include "daemon/hotspot.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/stats.h"

#define RING 4             /* hours of values kept per cell */
#define ROSE_DECAY 0.99407 /* per hour: exp(-1 / 168), a week */
#define LOCAL_RATIO 2.0    /* best sector within this of the median: local */
#define LOCAL_SECTORS 4    /* sectors seen before a source can be local */
#define DEG(r) ((r)*57.29577951308232)
#define RAD(d) ((d) / 57.29577951308232)

struct hcell {
	int64_t hr[RING];
	double v[RING];
	int64_t whr[RING];
	double wu[RING], wv[RING], ws[RING]; /* sums of the hour's winds */
	uint32_t wn[RING];
	uint32_t nb[HOTSPOT_NEIGHBOURS_MAX];
	uint32_t nnb;
	/* The current run of hours standing out. */
	int64_t since;
	int32_t hours;
	double sum, ws_sum;
	int32_t ws_n;
	/* At the latest hour judged with a background. */
	int64_t at;
	double value, bg, excess;
	double rose_sum[HOTSPOT_SECTORS], rose_n[HOTSPOT_SECTORS];
};

struct hotspots {
	struct hotspot_conf conf;
	uint32_t ncells;
	struct hcell *c;
	int64_t newest, judged;
	bool fresh; /* values came since the last update */
	struct hotspot *work;
	pthread_mutex_t mu; /* guards what follows */
	struct hotspot *pub;
	uint32_t npub;
	int64_t pub_hour;
};

static void judge_cell(const struct hotspots *h, struct hcell *c, int64_t hour);
static bool entry(const struct hotspots *h, uint32_t k, const struct hcell *c,
    int64_t oldest, struct hotspot *o);
static void source(const struct hcell *c, struct hotspot *out);
static int by_excess_hours(const void *a, const void *b);

void
hotspots_defaults(struct hotspot_conf *c)
{
	c->abs_min = 10;
	c->rel_min = 0.25;
	c->min_hours = 3;
}

struct hotspots *
hotspots_new(uint32_t cells, const struct hotspot_conf *conf)
{
	struct hotspots *h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->conf = *conf;
	h->ncells = cells;
	h->newest = h->judged = h->pub_hour = HOTSPOT_NO_HOUR;
	h->c = calloc((size_t)cells + 1, sizeof(*h->c));
	h->work = calloc((size_t)cells + 1, sizeof(*h->work));
	h->pub = calloc((size_t)cells + 1, sizeof(*h->pub));
	if (h->c == NULL || h->work == NULL || h->pub == NULL) {
		free(h->c);
		free(h->work);
		free(h->pub);
		free(h);
		return NULL;
	}
	for (uint32_t k = 0; k < cells; k++) {
		for (int r = 0; r < RING; r++)
			h->c[k].hr[r] = h->c[k].whr[r] = HOTSPOT_NO_HOUR;
		h->c[k].at = HOTSPOT_NO_HOUR;
	}
	pthread_mutex_init(&h->mu, NULL);
	return h;
}

void
hotspots_free(struct hotspots *h)
{
	if (h == NULL)
		return;
	pthread_mutex_destroy(&h->mu);
	free(h->pub);
	free(h->work);
	free(h->c);
	free(h);
}

void
hotspots_set_neighbours(
    struct hotspots *h, uint32_t cell, const uint32_t *nb, uint32_t n)
{
	struct hcell *c;

	if (cell >= h->ncells)
		return;
	c = &h->c[cell];
	c->nnb = 0;
	for (uint32_t k = 0; k < n && c->nnb < HOTSPOT_NEIGHBOURS_MAX; k++)
		if (nb[k] < h->ncells && nb[k] != cell)
			c->nb[c->nnb++] = nb[k];
}

/* Ring slot of an hour (hours may be negative). */
static int
slot(int64_t hour)
{
	return (int)(((hour % RING) + RING) % RING);
}

void
hotspots_value(struct hotspots *h, uint32_t cell, int64_t hour, double v)
{
	struct hcell *c;
	int s = slot(hour);

	if (cell >= h->ncells || hour == HOTSPOT_NO_HOUR)
		return;
	c = &h->c[cell];
	/* An hour older than the ring holds, or judged, changes nothing. */
	if ((c->hr[s] != HOTSPOT_NO_HOUR && c->hr[s] > hour) ||
	    (h->judged != HOTSPOT_NO_HOUR && hour <= h->judged))
		return;
	c->hr[s] = hour;
	c->v[s] = v;
	h->fresh = true;
	if (h->newest == HOTSPOT_NO_HOUR || hour > h->newest)
		h->newest = hour;
}

void
hotspots_wind(
    struct hotspots *h, uint32_t cell, int64_t hour, double ws, double wd)
{
	struct hcell *c;
	int s = slot(hour);

	if (cell >= h->ncells || !isfinite(ws) || !isfinite(wd) || ws < 0)
		return;
	c = &h->c[cell];
	if (c->whr[s] != hour) {
		if (c->whr[s] != HOTSPOT_NO_HOUR && c->whr[s] > hour)
			return;
		c->whr[s] = hour;
		c->wu[s] = c->wv[s] = c->ws[s] = 0;
		c->wn[s] = 0;
	}
	c->wu[s] += sin(RAD(wd));
	c->wv[s] += cos(RAD(wd));
	c->ws[s] += ws;
	c->wn[s]++;
}

/* The wind at a cell over an hour, else its neighbours' (wind is wider
 * than a cell); false without any. */
static bool
wind_at(const struct hotspots *h, const struct hcell *c, int64_t hour,
    double *ws, double *wd)
{
	int s = slot(hour);
	double u = 0, v = 0, sp = 0;
	uint32_t n = 0;

	if (c->whr[s] == hour && c->wn[s] > 0) {
		u = c->wu[s];
		v = c->wv[s];
		sp = c->ws[s];
		n = c->wn[s];
	} else {
		for (uint32_t k = 0; k < c->nnb; k++) {
			const struct hcell *o = &h->c[c->nb[k]];

			if (o->whr[s] == hour && o->wn[s] > 0) {
				u += o->wu[s];
				v += o->wv[s];
				sp += o->ws[s];
				n += o->wn[s];
			}
		}
	}
	if (n == 0)
		return false;
	*ws = sp / n;
	*wd = fmod(DEG(atan2(u, v)) + 360.0, 360.0);
	return true;
}

/* Judges cell c (h's, or a copy) at an hour whose values all came. */
static void
judge_cell(const struct hotspots *h, struct hcell *c, int64_t hour)
{
	int s = slot(hour);
	double nbv[HOTSPOT_NEIGHBOURS_MAX], bg, mad, ex, thr, ws = 0, wd = 0;
	uint32_t n = 0;
	bool wind;

	if (c->hr[s] != hour || isnan(c->v[s]))
		return;
	for (uint32_t j = 0; j < c->nnb; j++) {
		const struct hcell *o = &h->c[c->nb[j]];

		if (o->hr[s] == hour && !isnan(o->v[s]))
			nbv[n++] = o->v[s];
	}
	if (n < 2)
		return;
	bg = stats_median(nbv, n);
	for (uint32_t j = 0; j < n; j++)
		nbv[j] = fabs(nbv[j] - bg);
	mad = 1.4826 * stats_median(nbv, n);
	ex = c->v[s] - bg;
	thr = fmax(h->conf.abs_min, fmax(h->conf.rel_min * bg, 2 * mad));
	c->at = hour;
	c->value = c->v[s];
	c->bg = bg;
	c->excess = ex;
	wind = wind_at(h, c, hour, &ws, &wd);
	for (int q = 0; q < HOTSPOT_SECTORS; q++) {
		c->rose_sum[q] *= ROSE_DECAY;
		c->rose_n[q] *= ROSE_DECAY;
	}
	if (wind) {
		int q =
		    (int)floor(fmod(wd + 22.5, 360.0) / 45.0) % HOTSPOT_SECTORS;

		c->rose_sum[q] += fmax(ex, 0.0);
		c->rose_n[q] += 1;
	}
	if (ex > thr) {
		if (c->hours == 0) {
			c->since = hour;
			c->sum = c->ws_sum = 0;
			c->ws_n = 0;
		}
		c->hours++;
		c->sum += ex;
		if (wind) {
			c->ws_sum += ws;
			c->ws_n++;
		}
	} else {
		c->hours = 0;
	}
}

/* The pollution rose's verdict on where the excess comes from. */
static void
source(const struct hcell *c, struct hotspot *out)
{
	double m[HOTSPOT_SECTORS], sorted[HOTSPOT_SECTORS];
	int best = -1;
	uint32_t k = 0;

	out->source = HOTSPOT_NO_WIND;
	out->source_deg = 0;
	for (int q = 0; q < HOTSPOT_SECTORS; q++) {
		m[q] = c->rose_n[q] >= 0.5 ? c->rose_sum[q] / c->rose_n[q] : -1;
		if (m[q] < 0)
			continue;
		sorted[k++] = m[q];
		if (best < 0 || m[q] > m[best])
			best = q;
	}
	if (best < 0)
		return;
	if (k >= LOCAL_SECTORS &&
	    m[best] <= LOCAL_RATIO * stats_median(sorted, k)) {
		out->source = HOTSPOT_LOCAL;
		return;
	}
	out->source = HOTSPOT_UPWIND;
	out->source_deg = best * (360.0 / HOTSPOT_SECTORS);
}

static int
by_excess_hours(const void *a, const void *b)
{
	const struct hotspot *x = a, *y = b;

	if (x->excess_hours != y->excess_hours)
		return x->excess_hours < y->excess_hours ? 1 : -1;
	return (x->cell > y->cell) - (x->cell < y->cell);
}

/* The hotspot of cell k in state c, judged at oldest or later, into o;
 * false if none. */
static bool
entry(const struct hotspots *h, uint32_t k, const struct hcell *c,
    int64_t oldest, struct hotspot *o)
{
	if (c->at == HOTSPOT_NO_HOUR || c->at < oldest ||
	    c->hours < h->conf.min_hours)
		return false;
	o->cell = k;
	o->hour = c->at;
	o->since = c->since;
	o->hours = c->hours;
	o->value = c->value;
	o->background = c->bg;
	o->excess = c->excess;
	o->excess_hours = c->sum;
	o->mean_excess = c->sum / c->hours;
	o->wind_speed = c->ws_n > 0 ? c->ws_sum / c->ws_n : 0;
	source(c, o);
	return true;
}

int
hotspots_update(struct hotspots *h)
{
	int64_t from;
	uint32_t n = 0;
	int judged = 0;

	if (h->newest == HOTSPOT_NO_HOUR || !h->fresh)
		return 0;
	/* Hours before the newest are final: judged once, in order. */
	from = h->judged == HOTSPOT_NO_HOUR ? h->newest - (RING - 1)
					    : h->judged + 1;
	if (from < h->newest - (RING - 1))
		from = h->newest - (RING - 1);
	for (int64_t hr = from; hr < h->newest; hr++, judged++)
		for (uint32_t k = 0; k < h->ncells; k++)
			judge_cell(h, &h->c[k], hr);
	if (h->newest - 1 > h->judged || h->judged == HOTSPOT_NO_HOUR)
		h->judged = h->newest - 1;
	/* The newest hour, provisionally: on copies, since cells late to
	 * report it may still change it.  A cell that has not reported it
	 * yet stands as judged at the hour before. */
	for (uint32_t k = 0; k < h->ncells; k++) {
		struct hcell c = h->c[k];

		judge_cell(h, &c, h->newest);
		if (entry(h, k, &c, h->newest - 1, &h->work[n]))
			n++;
	}
	h->fresh = false;
	qsort(h->work, n, sizeof(*h->work), by_excess_hours);
	pthread_mutex_lock(&h->mu);
	memcpy(h->pub, h->work, n * sizeof(*h->pub));
	h->npub = n;
	h->pub_hour = h->newest;
	pthread_mutex_unlock(&h->mu);
	return judged + 1;
}

uint32_t
hotspots_list(
    struct hotspots *h, struct hotspot *out, uint32_t max, int64_t *hour)
{
	uint32_t n;

	pthread_mutex_lock(&h->mu);
	n = h->npub;
	memcpy(out, h->pub, (n < max ? n : max) * sizeof(*out));
	*hour = h->pub_hour;
	pthread_mutex_unlock(&h->mu);
	return n;
}

const char *
hotspot_compass(double deg)
{
	static const char *const names[8] = {
	    "N", "NE", "E", "SE", "S", "SW", "W", "NW"};

	return names[(int)floor(
			 fmod(fmod(deg, 360.0) + 360.0 + 22.5, 360.0) / 45.0) %
	    8];
}
