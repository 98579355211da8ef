#include "daemon/fcgrid.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PAST 24 /* observed hours kept for the moving means and today */

struct fcgrid_cell {
	struct fc_model *m;
	/* Observed hourly values, slot hour % PAST. */
	double past[PAST][FC_POL_COUNT];
	int64_t past_hour[PAST];
	/* Hours given but maybe not learned yet, slot hour % PAST: what the
	 * neighbours' mean reads. */
	double seen[PAST][FC_POL_COUNT];
	int64_t seen_hour[PAST];
	int64_t last_given;       /* the last hour given, or INT64_MIN */
	bool ready;               /* f is set; under the grid's lock */
	struct fcgrid_forecast f; /* under the grid's lock */
};

struct fcgrid {
	uint32_t ncells;
	const struct tz *tz;
	enum aqi_std std;
	struct fcgrid_cell **cells; /* allocated at a cell's first value */
	/* Guards every cell's ready and f, and the counters. */
	pthread_mutex_t *mu;
	uint32_t models, nready, models_max;
	uint32_t nareas;
	struct area_ext {
		int n;
		int64_t at;
		struct fcgrid_ext d[FCGRID_EXT_DAYS];
	} * ext;                    /* per area, under mu */
	struct fcgrid_forecast tmp; /* the writer's scratch */
	/* Neighbours (fcgrid_set_groups): each cell's group or -1, the
	 * groups' members, and the hours waiting for fcgrid_flush(). */
	int32_t *group;
	uint32_t ngroups, *gfirst, *gcell; /* members gfirst[k]..[k+1] */
	struct pend {
		uint32_t cell, seq;
		int32_t grp;
		int64_t hour;
		double v[FC_POL_COUNT];
		struct wx_hour wx;
	} * pend;
	uint32_t npend, pendmax, pendcap;
	struct gsum {
		int64_t hour;
		double sum[FC_POL_COUNT];
		int cnt[FC_POL_COUNT];
	} * gsum; /* per group, the last hour summed in a flush */
};

static int slot(int64_t);
static int hod_of(const struct fcgrid *, int64_t);
static double value_at(
    const struct fcgrid_cell *, const struct fcgrid_forecast *, int64_t, int);
static void derive(const struct fcgrid *, const struct fcgrid_cell *,
    struct fcgrid_forecast *);
static int learn(struct fcgrid *, struct fcgrid_cell *, int64_t, double, double,
    const double *, const struct wx_hour *);
static int pend_cmp(const void *, const void *);

struct fcgrid *
fcgrid_new(uint32_t ncells, uint32_t nareas, uint32_t models_max,
    const struct tz *tz, enum aqi_std std)
{
	struct fcgrid *g;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	g->ncells = ncells;
	g->nareas = nareas;
	g->models_max = models_max;
	g->tz = tz;
	g->std = std;
	if ((g->cells = calloc(ncells ? ncells : 1, sizeof(*g->cells))) ==
		NULL ||
	    (g->ext = calloc(nareas ? nareas : 1, sizeof(*g->ext))) == NULL ||
	    (g->mu = malloc(sizeof(*g->mu))) == NULL ||
	    pthread_mutex_init(g->mu, NULL) != 0) {
		free(g->mu);
		free(g->ext);
		free(g->cells);
		free(g);
		return NULL;
	}
	return g;
}

void
fcgrid_free(struct fcgrid *g)
{
	if (g == NULL)
		return;
	for (uint32_t c = 0; c < g->ncells; c++)
		if (g->cells[c] != NULL) {
			fc_free(g->cells[c]->m);
			free(g->cells[c]);
		}
	pthread_mutex_destroy(g->mu);
	free(g->group);
	free(g->gfirst);
	free(g->gcell);
	free(g->pend);
	free(g->gsum);
	free(g->mu);
	free(g->ext);
	free(g->cells);
	free(g);
}

static int
slot(int64_t hour)
{
	int s = (int)(hour % PAST);

	return s < 0 ? s + PAST : s;
}

/* The local hour of day of the hour's label (its end): 24:00 is 0. */
static int
hod_of(const struct fcgrid *g, int64_t hour)
{
	int64_t end = tz_hour_end(g->tz, hour);
	int64_t local = end + tz_offset(g->tz, end);
	int64_t h = (local / 3600) % 24;

	return (int)(h < 0 ? h + 24 : h);
}

/* Pollutant p at hour: observed up to the origin, forecast after. */
static double
value_at(const struct fcgrid_cell *c, const struct fcgrid_forecast *f,
    int64_t hour, int p)
{
	int64_t k = hour - f->origin;

	if (k >= 1 && k <= FC_H)
		return f->has[p] ? f->h[p][k - 1].mid : NAN;
	if (k <= 0 && k > -PAST && c->past_hour[slot(hour)] == hour)
		return c->past[slot(hour)][p];
	return NAN;
}

/* Moving means and daily AQIs from the hourly forecast in *f. */
static void
derive(const struct fcgrid *g, const struct fcgrid_cell *c,
    struct fcgrid_forecast *f)
{
	int32_t date = 0;

	for (int k = 0; k < FC_H; k++) {
		int64_t hr = f->origin + 1 + k;
		double s = 0, s8 = 0;
		int n = 0, n8 = 0;

		for (int i = 0; i < 24; i++) {
			double v = value_at(c, f, hr - i, FC_PM25);
			if (!isnan(v)) {
				s += v;
				n++;
			}
		}
		for (int i = 0; i < 8; i++) {
			double v = value_at(c, f, hr - i, FC_O3);
			if (!isnan(v)) {
				s8 += v;
				n8++;
			}
		}
		f->pm25_24h[k] = n >= 20 ? s / n : NAN;
		f->o3_8h[k] = n8 >= 6 ? s8 / n8 : NAN;
	}
	/* Days not over yet, from the origin's day on, covered whole. */
	f->ndays = 0;
	date = tz_hour_day(g->tz, f->origin + 1);
	while (f->ndays < FCGRID_DAYS) {
		int64_t last = tz_day_last_hour(g->tz, date);
		int64_t first = last - 23;
		double pm[24], o3[24];
		struct fcgrid_day *d = &f->day[f->ndays];

		if (last > f->origin + FC_H)
			break;
		for (int i = 0; i < 24; i++) {
			pm[i] = value_at(c, f, first + i, FC_PM25);
			o3[i] = value_at(c, f, first + i, FC_O3);
		}
		d->date = date;
		d->aqi = fc_day_aqi(g->std, pm, o3, &d->pm25_24h, &d->o3_8h);
		f->ndays++;
		date = tz_hour_day(g->tz, last + 1);
	}
}

int
fcgrid_hour(struct fcgrid *g, uint32_t cell, int64_t hour, double pm25,
    double o3, const struct wx_hour *wx)
{
	struct fcgrid_cell *c;
	struct pend *q;
	int s = slot(hour);

	if (cell >= g->ncells)
		return AQ_ERR_RANGE;
	if ((c = g->cells[cell]) == NULL) {
		if (isnan(pm25) && isnan(o3))
			return AQ_OK;
		if (g->models >= g->models_max)
			return AQ_ERR_FULL;
		if ((c = calloc(1, sizeof(*c))) == NULL)
			return AQ_ERR_NOMEM;
		if ((c->m = fc_new()) == NULL) {
			free(c);
			return AQ_ERR_NOMEM;
		}
		for (int i = 0; i < PAST; i++)
			c->past_hour[i] = c->seen_hour[i] = INT64_MIN;
		c->last_given = INT64_MIN;
		pthread_mutex_lock(g->mu);
		g->cells[cell] = c;
		g->models++;
		pthread_mutex_unlock(g->mu);
	}
	if (hour <= c->last_given)
		return AQ_ERR_STALE;
	if (g->group == NULL) {
		double nb[FC_POL_COUNT] = {NAN, NAN};
		int rc = learn(g, c, hour, pm25, o3, nb, wx);

		if (rc == AQ_OK)
			c->last_given = hour;
		return rc;
	}
	c->last_given = hour;
	c->seen[s][FC_PM25] = pm25;
	c->seen[s][FC_O3] = o3;
	c->seen_hour[s] = hour;
	if (g->npend == g->pendcap && g->pendcap < g->pendmax) {
		uint32_t n = g->pendcap ? g->pendcap * 2 : 256;
		struct pend *p;

		n = n > g->pendmax ? g->pendmax : n;
		if ((p = realloc(g->pend, n * sizeof(*p))) != NULL) {
			g->pend = p;
			g->pendcap = n;
		}
	}
	if (g->npend == g->pendcap)
		fcgrid_flush(g);
	if (g->pendcap == 0) /* no memory for even one: learn alone */
		return learn(g, c, hour, pm25, o3, (double[]){NAN, NAN}, wx);
	q = &g->pend[g->npend];
	q->cell = cell;
	q->seq = g->npend++;
	q->grp = g->group[cell];
	q->hour = hour;
	q->v[FC_PM25] = pm25;
	q->v[FC_O3] = o3;
	if (wx != NULL)
		q->wx = *wx;
	else
		wx_clear(&q->wx);
	return AQ_OK;
}

/* Feeds the cell's model and recomputes its forecast. */
static int
learn(struct fcgrid *g, struct fcgrid_cell *c, int64_t hour, double pm25,
    double o3, const double *nb, const struct wx_hour *wx)
{
	struct fc_obs o;
	struct fcgrid_forecast *f = &g->tmp;
	bool ok;
	int rc;

	fc_obs_clear(&o);
	o.v[FC_PM25] = pm25;
	o.v[FC_O3] = o3;
	o.nb[FC_PM25] = nb[FC_PM25];
	o.nb[FC_O3] = nb[FC_O3];
	wx_fc_obs(wx, &o);
	if ((rc = fc_hour(c->m, hour, hod_of(g, hour), &o)) != AQ_OK)
		return rc;
	c->past[slot(hour)][FC_PM25] = pm25;
	c->past[slot(hour)][FC_O3] = o3;
	c->past_hour[slot(hour)] = hour;

	memset(f, 0, sizeof(*f));
	f->origin = hour;
	f->has[FC_PM25] = fc_predict(c->m, FC_PM25, f->h[FC_PM25]);
	f->has[FC_O3] = fc_predict(c->m, FC_O3, f->h[FC_O3]);
	ok = f->has[FC_PM25] || f->has[FC_O3];
	if (ok)
		derive(g, c, f);
	pthread_mutex_lock(g->mu);
	if (ok != c->ready)
		g->nready += ok ? 1 : (uint32_t)-1;
	c->ready = ok;
	if (ok)
		c->f = *f;
	pthread_mutex_unlock(g->mu);
	return AQ_OK;
}

int
fcgrid_set_groups(struct fcgrid *g, const int32_t *group)
{
	uint32_t ng = 0;

	for (uint32_t k = 0; k < g->ncells; k++) {
		if (group[k] < -1)
			return AQ_ERR_INVAL;
		if (group[k] >= 0 && (uint32_t)group[k] + 1 > ng)
			ng = (uint32_t)group[k] + 1;
	}
	if (g->group != NULL || g->npend > 0)
		return AQ_ERR_INVAL;
	if ((g->group = malloc(
		 (g->ncells ? g->ncells : 1) * sizeof(*g->group))) == NULL ||
	    (g->gfirst = calloc(ng + 1, sizeof(*g->gfirst))) == NULL ||
	    (g->gcell = malloc(
		 (g->ncells ? g->ncells : 1) * sizeof(*g->gcell))) == NULL ||
	    (g->gsum = calloc(ng ? ng : 1, sizeof(*g->gsum))) == NULL) {
		free(g->group);
		free(g->gfirst);
		free(g->gcell);
		g->group = NULL;
		g->gfirst = g->gcell = NULL;
		return AQ_ERR_NOMEM;
	}
	memcpy(g->group, group, g->ncells * sizeof(*g->group));
	g->ngroups = ng;
	/* Counting sort of the cells by group: members in cell order. */
	for (uint32_t k = 0; k < g->ncells; k++)
		if (group[k] >= 0)
			g->gfirst[group[k] + 1]++;
	for (uint32_t i = 0; i < ng; i++)
		g->gfirst[i + 1] += g->gfirst[i];
	{
		uint32_t *fill = calloc(ng ? ng : 1, sizeof(*fill));

		if (fill == NULL) {
			free(g->group);
			free(g->gfirst);
			free(g->gcell);
			g->group = NULL;
			g->gfirst = g->gcell = NULL;
			return AQ_ERR_NOMEM;
		}
		for (uint32_t k = 0; k < g->ncells; k++)
			if (group[k] >= 0)
				g->gcell[g->gfirst[group[k]] +
				    fill[group[k]]++] = k;
		free(fill);
	}
	g->pendmax = g->ncells * PAST > 1024 ? g->ncells * PAST : 1024;
	return AQ_OK;
}

static int
pend_cmp(const void *a, const void *b)
{
	const struct pend *x = a, *y = b;

	if (x->hour != y->hour)
		return x->hour < y->hour ? -1 : 1;
	if (x->grp != y->grp)
		return x->grp < y->grp ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int
fcgrid_flush(struct fcgrid *g)
{
	int ret = AQ_OK;

	if (g->npend == 0)
		return AQ_OK;
	/* By hour then group: each group's hour is summed once.  A cell's
	 * hours keep their order (they were given ascending). */
	qsort(g->pend, g->npend, sizeof(*g->pend), pend_cmp);
	for (uint32_t k = 0; k < g->ngroups; k++)
		g->gsum[k].hour = INT64_MIN;
	for (uint32_t i = 0; i < g->npend; i++) {
		const struct pend *q = &g->pend[i];
		struct fcgrid_cell *c = g->cells[q->cell];
		double nb[FC_POL_COUNT] = {NAN, NAN};
		int s = slot(q->hour), rc;

		if (q->grp >= 0) {
			struct gsum *a = &g->gsum[q->grp];

			if (a->hour != q->hour) {
				memset(a, 0, sizeof(*a));
				a->hour = q->hour;
				for (uint32_t j = g->gfirst[q->grp];
				     j < g->gfirst[q->grp + 1]; j++) {
					const struct fcgrid_cell *m =
					    g->cells[g->gcell[j]];

					if (m == NULL ||
					    m->seen_hour[s] != q->hour)
						continue;
					for (int p = 0; p < FC_POL_COUNT; p++)
						if (!isnan(m->seen[s][p])) {
							a->sum[p] +=
							    m->seen[s][p];
							a->cnt[p]++;
						}
				}
			}
			for (int p = 0; p < FC_POL_COUNT; p++) {
				double sum = a->sum[p];
				int n = a->cnt[p];

				if (c->seen_hour[s] == q->hour &&
				    !isnan(c->seen[s][p])) {
					sum -= c->seen[s][p];
					n--;
				}
				nb[p] = n > 0 ? sum / n : NAN;
			}
		}
		rc = learn(
		    g, c, q->hour, q->v[FC_PM25], q->v[FC_O3], nb, &q->wx);
		if (rc != AQ_OK && rc != AQ_ERR_STALE)
			ret = rc;
	}
	g->npend = 0;
	return ret;
}

int
fcgrid_get(const struct fcgrid *g, uint32_t cell, struct fcgrid_forecast *out)
{
	int rc = AQ_ERR_NOTFOUND;

	if (cell >= g->ncells)
		return AQ_ERR_NOTFOUND;
	pthread_mutex_lock(g->mu);
	if (g->cells[cell] != NULL && g->cells[cell]->ready) {
		*out = g->cells[cell]->f;
		rc = AQ_OK;
	}
	pthread_mutex_unlock(g->mu);
	return rc;
}

void
fcgrid_counts(const struct fcgrid *g, uint32_t *models, uint32_t *ready)
{
	pthread_mutex_lock(g->mu);
	*models = g->models;
	*ready = g->nready;
	pthread_mutex_unlock(g->mu);
}

enum fcgrid_warn
fcgrid_warn_level(const int *aqi, int n)
{
	enum fcgrid_warn w = FCGRID_WARN_NONE, x;

	for (int i = 0; i < n; i++) {
		int run = 0, n300 = 0;

		if (aqi[i] >= 500)
			return FCGRID_WARN_RED;
		/* The run of days > 200 that starts here. */
		for (int j = i; j < n && aqi[j] > 200; j++) {
			run++;
			n300 += aqi[j] > 300;
		}
		if (run >= 4 && n300 >= 2)
			x = FCGRID_WARN_RED;
		else if (run >= 3 && n300 >= 1)
			x = FCGRID_WARN_ORANGE;
		else if (run >= 2)
			x = FCGRID_WARN_YELLOW;
		else if (run >= 1)
			x = FCGRID_WARN_BLUE;
		else
			x = FCGRID_WARN_NONE;
		if (x > w)
			w = x;
	}
	return w;
}

const char *
fcgrid_warn_name(enum fcgrid_warn w)
{
	static const char *const names[] = {
	    "none", "blue", "yellow", "orange", "red"};

	return (unsigned)w < sizeof(names) / sizeof(names[0]) ? names[w]
							      : "none";
}

int
fcgrid_set_external(struct fcgrid *g, uint32_t area, const struct fcgrid_ext *d,
    int n, int64_t at)
{
	if (area >= g->nareas)
		return AQ_ERR_RANGE;
	if (n < 0 || n > FCGRID_EXT_DAYS)
		return AQ_ERR_INVAL;
	for (int i = 0; i < n; i++)
		if (d[i].aqi < 0 || d[i].aqi > 500 ||
		    (i > 0 && d[i].date <= d[i - 1].date))
			return AQ_ERR_INVAL;
	pthread_mutex_lock(g->mu);
	g->ext[area].n = n;
	g->ext[area].at = at;
	if (n > 0)
		memcpy(g->ext[area].d, d, (size_t)n * sizeof(*d));
	pthread_mutex_unlock(g->mu);
	return AQ_OK;
}

void
fcgrid_get_external(const struct fcgrid *g, uint32_t area,
    struct fcgrid_ext d[FCGRID_EXT_DAYS], int *n, int64_t *at)
{
	*n = 0;
	*at = 0;
	if (area >= g->nareas)
		return;
	pthread_mutex_lock(g->mu);
	*n = g->ext[area].n;
	*at = g->ext[area].at;
	if (*n > 0)
		memcpy(d, g->ext[area].d, (size_t)*n * sizeof(*d));
	pthread_mutex_unlock(g->mu);
}

/* Record: "at n date aqi date aqi ..." in decimal. */
int
fcgrid_ext_save(
    const struct fcgrid *g, uint32_t area, struct store *s, const char *key)
{
	struct fcgrid_ext d[FCGRID_EXT_DAYS];
	char buf[64 + FCGRID_EXT_DAYS * 24];
	int n, len;
	int64_t at;

	fcgrid_get_external(g, area, d, &n, &at);
	if (n == 0)
		return store_rec_del(s, FCGRID_EXT_NS, key);
	len = snprintf(buf, sizeof(buf), "%" PRId64 " %d", at, n);
	for (int k = 0; k < n; k++)
		len += snprintf(buf + len, sizeof(buf) - (size_t)len,
		    " %" PRId32 " %d", d[k].date, d[k].aqi);
	return store_rec_put(s, FCGRID_EXT_NS, key, buf, (size_t)len);
}

int
fcgrid_ext_load(
    struct fcgrid *g, uint32_t area, struct store *s, const char *key)
{
	struct fcgrid_ext d[FCGRID_EXT_DAYS];
	char buf[64 + FCGRID_EXT_DAYS * 24], *p, *e;
	size_t len;
	bool found;
	long long at, v;
	long n;
	int rc;

	if ((rc = store_rec_get(s, FCGRID_EXT_NS, key, buf, sizeof(buf) - 1,
		 &len, &found)) != AQ_OK)
		return rc == AQ_ERR_RANGE ? AQ_ERR_INVAL : rc;
	if (!found)
		return AQ_ERR_NOTFOUND;
	buf[len] = '\0';
	at = strtoll(buf, &p, 10);
	n = strtol(p, &e, 10);
	if (e == p || n < 1 || n > FCGRID_EXT_DAYS)
		return AQ_ERR_INVAL;
	for (long k = 0; k < n; k++) {
		p = e;
		v = strtoll(p, &e, 10);
		if (e == p || v < 0 || v > INT32_MAX)
			return AQ_ERR_INVAL;
		d[k].date = (int32_t)v;
		p = e;
		v = strtoll(p, &e, 10);
		if (e == p)
			return AQ_ERR_INVAL;
		d[k].aqi = (int)v;
	}
	return fcgrid_set_external(g, area, d, (int)n, (int64_t)at);
}
