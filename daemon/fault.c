/* fault: online sensor-fault detection (see fault.h). */
#include "daemon/fault.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/stats.h"

#define NONE UINT32_MAX
#define WARM_H 24.0    /* hour-equivalents of residuals before judging bias */
#define TAU_BASE 168.0 /* learned baseline (residual, siblings), hours */
#define TAU_SPREAD 72.0
#define TAU_SIB 3.0     /* smoothing of the siblings' log ratio, hours */
#define SPREAD_MIN 0.05 /* log units */
#define SPREAD_INIT 0.3
#define CUSUM_K 1.5        /* allowance, in spreads */
#define E_MAX 3.0          /* largest step of the CUSUM, in spreads */
#define JUMP_MIN 0.02      /* smallest usual step, log units */
#define REP_ALPHA 0.02     /* learning of the repeat probability */
#define STUCK_P 2e-3       /* a run this unlikely from the sensor's history */
#define STUCK_P_ALONE 1e-8 /* ... this unlikely: stuck, neighbours or not */
#define PREP_MIN 1e-3      /* least repeat probability assumed */
#define LEVEL_BINS 4       /* levels of the repeat probability */
#define SOLO_Z (4.0 / 3)   /* spike_z factor of a sensor alone in its cell */
#define STUCK_CHANGES 20   /* changes seen before a run can be judged */
#define STUCK_MOVED 0.15   /* neighbours' median range during a run, log */
#define CALM_CLEAR 3       /* good readings that clear a spike or stuck flag */
#define AWAY_Z 2.0         /* |z| against the neighbours of the odd sibling */
#define SPIKE_PLACE_Z 2.5  /* a spike also leaves its usual place, z */

/* One sensor, one pollutant. */
struct fp {
	int64_t run_t0; /* start of the current run of equal values */
	int64_t lo_t;   /* when the sensor first sent its lowest value */
	float lo;       /* its lowest value: its floor */
	float last;     /* value of the previous reading */
	float y;        /* log level of the previous accepted reading */
	float yr;       /* log value of the newest reading, accepted or not */
	float rp;       /* residual of the previous accepted reading */
	float dr;       /* mean |step| of the residual */
	float dy;       /* mean |step| of y */
	float prep[LEVEL_BINS]; /* probability that a value repeats, by level */
	float rb, rs; /* residual against the neighbours: baseline, spread */
	float cp, cm; /* CUSUM of the residual, up and down */
	float db, dd; /* log ratio to the siblings: baseline, smoothed */
	float warm;   /* hour-equivalents of residuals learned */
	float dwarm;  /* ... of sibling ratios learned */
	float run_lo, run_hi; /* neighbours' median during the run */
	float peak;           /* highest y of a suspected spike */
	uint16_t run_n;
	uint8_t flags;
	uint8_t spikes;  /* spike readings in a row */
	uint8_t calm;    /* good readings since a spike or stuck flag */
	uint8_t changes; /* value changes seen, up to 255 */
	uint8_t seen;
	uint8_t run_nb;   /* readings of the run with a neighbours' median */
	uint8_t rp_ok;    /* rp holds a residual */
	uint8_t seconded; /* a sibling rose with the suspected spike */
};

struct fsensor {
	int64_t ts; /* newest reading observed */
	uint32_t cell;
	uint32_t pad;
	struct fp p[POL_COUNT];
};

struct fcell {
	int64_t ts[POL_COUNT]; /* time of the level, or WIN_NO_HOUR */
	float y[POL_COUNT];    /* log level */
	uint32_t nb[FAULT_NEIGHBOURS_MAX];
	uint32_t nnb;
	uint32_t sens[FAULT_CELL_SENSORS];
	uint32_t nsens;
};

struct fault {
	struct fault_conf conf;
	uint32_t ncells, nsensors;
	struct fsensor *s;
	struct fcell *c;
	_Atomic uint32_t *flags; /* per sensor: FAULT_BIT()s */
	_Atomic uint32_t *pols;  /* per sensor: 1u << POL_x flagged */
	_Atomic uint64_t det[FAULT_KIND_COUNT];
};

/* Scale of the log transform per pollutant, canonical unit: below it, a
 * change counts as an absolute one rather than a ratio. */
static const double log_c[POL_COUNT] = {10, 20, 5, 10, 0.3, 10};

static const char *const kind_names[FAULT_KIND_COUNT] = {
    "stuck", "spike", "bias", "disagree"};

static int level_bin(int p, double x);

/* fmax, fmin without the libm call (no NaN reaches them). */
static inline double
dmax(double a, double b)
{
	return a > b ? a : b;
}

static inline double
dmin(double a, double b)
{
	return a < b ? a : b;
}

/* Natural logarithm without the libm call: v = m 2^e, m in [1/sqrt 2,
 * sqrt 2), log m = 2 atanh((m - 1) / (m + 1)) by its series (error below
 * 1e-9).  Not a positive normal number: libm's answer. */
static double
fast_log(double v)
{
	uint64_t b;
	double m, s, s2;
	int e;

	if (!(v >= 1e-300 && v <= 1e300))
		return log(v);
	memcpy(&b, &v, sizeof(b));
	e = (int)((b >> 52) & 0x7ff) - 1023;
	b = (b & UINT64_C(0x000fffffffffffff)) | UINT64_C(0x3ff0000000000000);
	memcpy(&m, &b, sizeof(m));
	if (m > 1.4142135623730951) {
		m *= 0.5;
		e++;
	}
	s = (m - 1) / (m + 1);
	s2 = s * s;
	return e * 0.6931471805599453 +
	    2 * s *
	    (1 + s2 * (1.0 / 3 + s2 * (1.0 / 5 + s2 * (1.0 / 7 + s2 / 9))));
}
static uint32_t judge(
    struct fault *f, struct fsensor *s, int p, int64_t t, double x, double w);

void
fault_defaults(struct fault_conf *c)
{
	c->enabled = true;
	c->stuck_secs = 10800;
	c->fresh = 5400;
	c->spike_z = 4.5;
	c->bias_h = 24.0;
	c->disagree = 0.4;
	c->exclude = FAULT_BIT(FAULT_STUCK) | FAULT_BIT(FAULT_SPIKE) |
	    FAULT_BIT(FAULT_DISAGREE);
}

struct fault *
fault_new(uint32_t cells, uint32_t sensors_max, const struct fault_conf *c)
{
	struct fault *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->conf = *c;
	f->ncells = cells;
	f->nsensors = sensors_max;
	f->s = calloc((size_t)sensors_max + 1, sizeof(*f->s));
	f->c = calloc((size_t)cells + 1, sizeof(*f->c));
	f->flags = calloc((size_t)sensors_max + 1, sizeof(*f->flags));
	f->pols = calloc((size_t)sensors_max + 1, sizeof(*f->pols));
	if (f->s == NULL || f->c == NULL || f->flags == NULL ||
	    f->pols == NULL) {
		fault_free(f);
		return NULL;
	}
	for (uint32_t k = 0; k <= sensors_max; k++) {
		f->s[k].ts = WIN_NO_HOUR;
		f->s[k].cell = NONE;
	}
	for (uint32_t k = 0; k < cells; k++)
		for (int p = 0; p < POL_COUNT; p++)
			f->c[k].ts[p] = WIN_NO_HOUR;
	return f;
}

void
fault_free(struct fault *f)
{
	if (f == NULL)
		return;
	free(f->pols);
	free(f->flags);
	free(f->c);
	free(f->s);
	free(f);
}

void
fault_set_conf(struct fault *f, const struct fault_conf *c)
{
	f->conf = *c;
}

void
fault_set_neighbours(
    struct fault *f, uint32_t cell, const uint32_t *nb, uint32_t n)
{
	struct fcell *c;

	if (cell >= f->ncells)
		return;
	c = &f->c[cell];
	c->nnb = 0;
	for (uint32_t k = 0; k < n && c->nnb < FAULT_NEIGHBOURS_MAX; k++)
		if (nb[k] < f->ncells && nb[k] != cell)
			c->nb[c->nnb++] = nb[k];
}

void
fault_add_sensor(struct fault *f, uint32_t sensor, uint32_t cell)
{
	struct fcell *c;

	if (sensor > f->nsensors || cell >= f->ncells ||
	    f->s[sensor].cell != NONE)
		return;
	f->s[sensor].cell = cell;
	c = &f->c[cell];
	if (c->nsens < FAULT_CELL_SENSORS)
		c->sens[c->nsens++] = sensor;
}

/* The level bin of value x of pollutant p: below c, 3.5c, 10c, above
 * (PM2.5: 10, 35, 100 ug/m3). */
static int
level_bin(int p, double x)
{
	double c = log_c[p];

	return x < c ? 0 : x < 3.5 * c ? 1 : x < 10 * c ? 2 : 3;
}

/* Clears kind k's flag, or raises it, on q. */
static void
set_flag(struct fp *q, enum fault_kind k, bool on)
{
	if (on)
		q->flags |= (uint8_t)FAULT_BIT(k);
	else
		q->flags &= (uint8_t)~FAULT_BIT(k);
}

/*
 * Judges value x of pollutant p at t, of weight w hour-equivalents;
 * returns whether the reading's value is to be left out.
 */
static uint32_t
judge(struct fault *f, struct fsensor *s, int p, int64_t t, double x, double w)
{
	const struct fault_conf *cf = &f->conf;
	struct fcell *cell = &f->c[s->cell];
	struct fp *q = &s->p[p];
	double y = fast_log(x + log_c[p]), nbv[FAULT_NEIGHBOURS_MAX];
	double m = 0, mad = 0, sib[FAULT_CELL_SENSORS], yb = 0, sc, r = 0,
	       z = 0;
	double near[FAULT_CELL_SENSORS], nsv[FAULT_NEIGHBOURS_MAX];
	uint32_t n = 0, nsib = 0, nnear = 0, nsame = 0;
	float sec = -INFINITY; /* highest same-time sibling without a flag */
	bool agree;
	/* Siblings compare readings of the same time. */
	int64_t same = (int64_t)dmax(w * 1800, 150);
	/* WIN_NO_HOUR is INT64_MIN: never fresh. */
	int64_t lo = t - cf->fresh, hi = t + cf->fresh;
	bool rep;
	double pb;

	/* The neighbours' levels and the siblings' newest values, fresh; the
	 * neighbours only for a pollutant the sensor has sent before (its
	 * first value only starts its history). */
	for (uint32_t k = 0; q->seen && k < cell->nnb; k++) {
		const struct fcell *o = &f->c[cell->nb[k]];
		int64_t ot = o->ts[p];

		if (ot < lo || ot > hi)
			continue;
		nbv[n++] = o->y[p];
	}
	if (n >= 2) {
		/* The spread as a mean absolute deviation from the median
		 * (scaled as the MAD would be for a normal spread): one sort
		 * less, and the median already shrugs off the odd one. */
		m = stats_median(nbv, n);
		for (uint32_t k = 0; k < n; k++)
			mad += fabs(nbv[k] - m);
		mad *= 1.2533 / n;
	}
	for (uint32_t k = 0; k < cell->nsens; k++) {
		struct fsensor *o = &f->s[cell->sens[k]];
		struct fp *oq = &o->p[p];
		double yo;

		if (o == s || !oq->seen || o->ts < lo || o->ts > hi ||
		    (oq->flags &
			(FAULT_BIT(FAULT_STUCK) | FAULT_BIT(FAULT_SPIKE))))
			continue;
		/* Its newest value, a suspected spike too. */
		yo = oq->yr;
		if (o->ts >= t - same && o->ts <= t + same) {
			sib[nsib++] = yo;
			/* Its suspected spike, of about this time, is
			 * seconded when this reading, of a sensor without
			 * a flag, rose with it (nearer its peak than its
			 * level before, in its scale): a spike is a glitch
			 * of one sensor, not of the air. */
			if (oq->spikes > 0 && q->flags == 0 &&
			    y + oq->db > 0.5 * (oq->peak + oq->y))
				oq->seconded = 1;
			if (oq->flags == 0 && yo > sec)
				sec = (float)yo;
		}
		near[nnear++] = yo;
	}
	if (nsib > 0)
		yb = nsib == 1 ? sib[0] : stats_median(sib, nsib);
	if (!q->seen) {
		memset(q, 0, sizeof(*q));
		q->yr = (float)y;
		q->seen = 1;
		q->last = (float)x;
		q->y = (float)y;
		q->dy = 0.1f;
		q->dr = 0.1f;
		for (int k = 0; k < LEVEL_BINS; k++)
			q->prep[k] = 0.5f;
		q->rs = (float)SPREAD_INIT;
		q->run_t0 = t;
		q->run_n = 1;
		q->lo = (float)x;
		q->lo_t = t;
		return 0;
	}

	/* A sibling that reads as this sensor does: what sets the cell apart
	 * from its neighbours is the place, not the sensor. */
	agree = nnear > 0 &&
	    fabs(y - (nnear == 1 ? near[0] : stats_median(near, nnear)) -
		q->db) < cf->disagree / 2;
	q->yr = (float)y;
	/* Stuck: a run of equal values. */
	rep = (float)x == q->last;
	{
		int b = level_bin(p, q->last);

		if (q->run_n <= 3)
			q->prep[b] += (float)(REP_ALPHA *
			    ((rep ? 1.0 : 0.0) - q->prep[b]));
		pb = q->prep[b];
	}
	if (rep) {
		if (q->run_n < UINT16_MAX)
			q->run_n++;
	} else {
		q->run_n = 1;
		q->run_t0 = t;
		q->run_nb = 0;
		if (q->changes < UINT8_MAX)
			q->changes++;
	}
	if (n >= 2) {
		if (q->run_nb == 0 || m < q->run_lo)
			q->run_lo = (float)m;
		if (q->run_nb == 0 || m > q->run_hi)
			q->run_hi = (float)m;
		if (q->run_nb < UINT8_MAX)
			q->run_nb++;
	}
	if ((float)x < q->lo) {
		q->lo = (float)x;
		q->lo_t = t;
	}
	if (q->flags & FAULT_BIT(FAULT_STUCK)) {
		q->calm = rep ? 0 : (uint8_t)(q->calm + 1);
		if (q->calm >= CALM_CLEAR - 1)
			set_flag(q, FAULT_STUCK, false);
	} else if (rep && t - q->run_t0 >= cf->stuck_secs &&
	    q->changes >= STUCK_CHANGES) {
		/* How likely such a run is, from the sensor's repeats at this
		 * level (a clean-air minimum repeats far more often than a
		 * value of a haze). */
		double pr = pow(dmax(pb, PREP_MIN), q->run_n - 1);
		/* At its floor before the run, a sensor may well repeat. */
		bool floor = x <= q->lo + 0.2 * log_c[p] && q->lo_t < q->run_t0;
		bool moved =
		    q->run_nb < 2 || q->run_hi - q->run_lo > STUCK_MOVED;

		/* A run this unlikely is stuck however still the air. */
		if (pr < STUCK_P && ((!floor && moved) || pr < STUCK_P_ALONE)) {
			set_flag(q, FAULT_STUCK, true);
			q->calm = 0;
		}
	}
	q->last = (float)x;

	/* Spike: far from the sensor's level and from its neighbours. */
	if (n >= 2) {
		sc = dmax(q->rs, dmax(0.5 * mad, SPREAD_MIN));
		r = y - m;
		z = (r - q->rb) / sc;
	} else {
		sc = dmax(q->rs, SPREAD_MIN);
	}
	{
		double jump = y - q->y, zj = jump / dmax(q->dy, JUMP_MIN);
		bool high;

		/* Against the neighbours, the step of the residual: a
		 * sensor that jumps with its neighbours does not spike. */
		double zr = n >= 2 && q->rp_ok
		    ? (r - q->rp) / dmax(q->dr, JUMP_MIN)
		    : 0;

		/* Alone in its cell, no sibling can second a jump of the
		 * air: a higher bar. */
		double sz =
		    cell->nsens < 2 ? SOLO_Z * cf->spike_z : cf->spike_z;

		if (n >= 2)
			high = q->warm >= WARM_H && q->rp_ok && zr > sz &&
			    zj > sz && z > SPIKE_PLACE_Z;
		else
			high = zj > 2 * cf->spike_z;
		if (high && q->spikes < FAULT_SPIKE_RUN) {
			/* Suspected: a spike if the next reading comes back.
			 * Left out at once only when neighbours reporting at
			 * the same time stayed down: the first cells that a
			 * haze reaches within the hour are not held for it. */
			if (q->spikes == 0) {
				q->peak = (float)y;
				q->seconded = 0;
			} else if (y > q->peak) {
				q->peak = (float)y;
			}
			q->spikes++;
			/* The neighbours of the same time (rarely needed:
			 * gathered here). */
			for (uint32_t k = 0; k < cell->nnb; k++) {
				const struct fcell *o = &f->c[cell->nb[k]];

				if (o->ts[p] >= t - same &&
				    o->ts[p] <= t + same)
					nsv[nsame++] = o->y[p];
			}
			/* Siblings that read at the same time before this
			 * one: rose with it? */
			if (sec + q->db > 0.5 * (y + q->y))
				q->seconded = 1;
			if (!q->seconded && nsame >= 2 &&
			    (y - stats_median(nsv, nsame) - q->rb) / sc >
				cf->spike_z)
				return cf->exclude & FAULT_BIT(FAULT_SPIKE);
			return q->flags & cf->exclude & ~FAULT_BIT(FAULT_SPIKE);
		}
		if (q->spikes > 0 && !high && !q->seconded &&
		    jump < 0.5 * (q->peak - q->y)) {
			set_flag(q, FAULT_SPIKE, true);
			q->calm = 0;
		}
		q->spikes = 0;
		if (q->flags & FAULT_BIT(FAULT_SPIKE)) {
			if (++q->calm >= CALM_CLEAR)
				set_flag(q, FAULT_SPIKE, false);
		}
		if (!(q->flags & FAULT_BIT(FAULT_STUCK))) {
			q->dy += (float)(0.05 * (fabs(jump) - q->dy));
			if (n >= 2 && q->rp_ok)
				q->dr +=
				    (float)(0.05 * (fabs(r - q->rp) - q->dr));
		}
		if (n >= 2) {
			q->rp = (float)r;
			q->rp_ok = 1;
		}
		q->y = (float)y;
	}

	/* Bias: CUSUM of the residual against the neighbours. */
	if (n >= 2) {
		if (q->warm >= WARM_H) {
			double e = dmax(-E_MAX, dmin(E_MAX, z));
			double h = cf->bias_h;

			q->cp = (float)dmin(
			    2 * h, dmax(0.0, q->cp + w * (e - CUSUM_K)));
			q->cm = (float)dmin(
			    2 * h, dmax(0.0, q->cm + w * (-e - CUSUM_K)));
			if (agree)
				q->cp = q->cm = 0;
			if (q->cp > h || q->cm > h)
				set_flag(q, FAULT_BIAS, true);
			else if (q->cp < h / 4 && q->cm < h / 4)
				set_flag(q, FAULT_BIAS, false);
		}
		if (q->flags == 0) {
			double ab = w / dmin(dmax(q->warm + w, 1.0), TAU_BASE);
			double as =
			    w / dmin(dmax(q->warm + w, 1.0), TAU_SPREAD);

			q->rb += (float)(ab * (r - q->rb));
			q->rs += (float)(as * (fabs(r - q->rb) - q->rs));
			if (q->rs < SPREAD_MIN)
				q->rs = (float)SPREAD_MIN;
			if (q->warm < 1e6)
				q->warm += (float)w;
		}
	}

	/* Disagreement with the other sensors of the cell. */
	if (nsib > 0) {
		double d = y - yb, a = dmin(1.0, w / TAU_SIB);
		bool away = n < 2 || q->warm < WARM_H || fabs(z) > AWAY_Z;

		q->dd += (float)(a * (d - q->db - q->dd));
		if (q->dwarm >= WARM_H && fabs(q->dd) > cf->disagree && away)
			set_flag(q, FAULT_DISAGREE, true);
		else if (fabs(q->dd) < cf->disagree / 2)
			set_flag(q, FAULT_DISAGREE, false);
		if (q->flags == 0) {
			double ab = w / dmin(dmax(q->dwarm + w, 1.0), TAU_BASE);

			q->db += (float)(ab * (d - q->db));
			if (q->dwarm < 1e6)
				q->dwarm += (float)w;
		}
	}
	return q->flags & cf->exclude & ~FAULT_BIT(FAULT_SPIKE);
}

uint32_t
fault_observe(struct fault *f, uint32_t sensor, const struct reading *r)
{
	struct fsensor *s;
	uint32_t out = 0, flags = 0, pols = 0, old;
	double w;

	if (!f->conf.enabled || sensor > f->nsensors ||
	    f->s[sensor].cell == NONE)
		return 0;
	s = &f->s[sensor];
	if (r->ts <= s->ts) {
		/* Late or repeated: judged by the flags as they stand. */
		for (int p = 0; p < POL_COUNT; p++)
			if ((r->has & (1u << p)) &&
			    (s->p[p].flags & f->conf.exclude &
				~FAULT_BIT(FAULT_SPIKE)))
				out |= 1u << p;
		return out;
	}
	s->ts = r->ts;
	w = (r->period < 3600 ? r->period : 3600) / 3600.0;
	for (int p = 0; p < POL_COUNT; p++) {
		struct fp *q = &s->p[p];

		if (!(r->has & (1u << p)))
			continue;
		if (judge(f, s, p, r->ts, r->v[p], w))
			out |= 1u << p;
		if (q->flags != 0)
			pols |= 1u << p;
		flags |= q->flags;
		/* The cell's level, for its neighbours: a reading of a
		 * sensor without a flag (a suspected spike too, or a jump of
		 * the whole grid would leave every cell behind; the median
		 * shrugs off one spike). */
		if ((q->flags & ~FAULT_BIT(FAULT_SPIKE)) == 0) {
			f->c[s->cell].y[p] = q->yr;
			f->c[s->cell].ts[p] = r->ts;
		}
	}
	/* Pollutants the reading did not carry keep their flags. */
	for (int p = 0; p < POL_COUNT; p++)
		if (!(r->has & (1u << p)) && s->p[p].flags != 0) {
			flags |= s->p[p].flags;
			pols |= 1u << p;
		}
	old = atomic_load_explicit(&f->flags[sensor], memory_order_relaxed);
	for (int k = 0; k < FAULT_KIND_COUNT; k++)
		if ((flags & ~old) & FAULT_BIT(k))
			atomic_fetch_add_explicit(
			    &f->det[k], 1, memory_order_relaxed);
	atomic_store_explicit(&f->flags[sensor], flags, memory_order_relaxed);
	atomic_store_explicit(&f->pols[sensor], pols, memory_order_relaxed);
	return out;
}

uint32_t
fault_flags(const struct fault *f, uint32_t sensor)
{
	if (f == NULL || sensor > f->nsensors)
		return 0;
	return atomic_load_explicit(&f->flags[sensor], memory_order_relaxed);
}

uint32_t
fault_pollutants(const struct fault *f, uint32_t sensor)
{
	if (f == NULL || sensor > f->nsensors)
		return 0;
	return atomic_load_explicit(&f->pols[sensor], memory_order_relaxed);
}

uint64_t
fault_detections(const struct fault *f, enum fault_kind k)
{
	if (f == NULL || (unsigned)k >= FAULT_KIND_COUNT)
		return 0;
	return atomic_load_explicit(&f->det[k], memory_order_relaxed);
}

const char *
fault_kind_name(enum fault_kind k)
{
	return (unsigned)k < FAULT_KIND_COUNT ? kind_names[k] : "?";
}

int
fault_kind_from_name(const char *s)
{
	for (int k = 0; k < FAULT_KIND_COUNT; k++)
		if (strcmp(s, kind_names[k]) == 0)
			return k;
	return -1;
}

size_t
fault_sensor_bytes(void)
{
	return sizeof(struct fsensor) + 2 * sizeof(uint32_t);
}

/* The image: ncells, sensors (uint32 each), the cells, the sensors, their
 * flags and pollutants, the detections. */
size_t
fault_image_size(const struct fault *f, uint32_t sensors)
{
	if (sensors > f->nsensors + 1)
		sensors = f->nsensors + 1;
	return 2 * sizeof(uint32_t) + (size_t)f->ncells * sizeof(struct fcell) +
	    (size_t)sensors * (sizeof(struct fsensor) + 2 * sizeof(uint32_t)) +
	    FAULT_KIND_COUNT * sizeof(uint64_t);
}

size_t
fault_image_save(const struct fault *f, uint32_t sensors, void *buf)
{
	unsigned char *p = buf;

	if (sensors > f->nsensors + 1)
		sensors = f->nsensors + 1;
	memcpy(p, &f->ncells, sizeof(uint32_t));
	memcpy(p + 4, &sensors, sizeof(uint32_t));
	p += 8;
	memcpy(p, f->c, (size_t)f->ncells * sizeof(struct fcell));
	p += (size_t)f->ncells * sizeof(struct fcell);
	memcpy(p, f->s, (size_t)sensors * sizeof(struct fsensor));
	p += (size_t)sensors * sizeof(struct fsensor);
	for (uint32_t k = 0; k < sensors; k++) {
		uint32_t v[2] = {
		    atomic_load_explicit(&f->flags[k], memory_order_relaxed),
		    atomic_load_explicit(&f->pols[k], memory_order_relaxed)};

		memcpy(p, v, sizeof(v));
		p += sizeof(v);
	}
	for (int k = 0; k < FAULT_KIND_COUNT; k++) {
		uint64_t d =
		    atomic_load_explicit(&f->det[k], memory_order_relaxed);

		memcpy(p, &d, sizeof(d));
		p += sizeof(d);
	}
	return (size_t)(p - (unsigned char *)buf);
}

int
fault_image_load(struct fault *f, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint32_t cells, sensors;

	if (len < 8)
		return AQ_ERR_INVAL;
	memcpy(&cells, p, sizeof(cells));
	memcpy(&sensors, p + 4, sizeof(sensors));
	if (cells != f->ncells || sensors > f->nsensors + 1 ||
	    len != fault_image_size(f, sensors))
		return AQ_ERR_INVAL;
	p += 8;
	memcpy(f->c, p, (size_t)cells * sizeof(struct fcell));
	p += (size_t)cells * sizeof(struct fcell);
	memcpy(f->s, p, (size_t)sensors * sizeof(struct fsensor));
	p += (size_t)sensors * sizeof(struct fsensor);
	for (uint32_t k = 0; k < sensors; k++) {
		uint32_t v[2];

		memcpy(v, p, sizeof(v));
		p += sizeof(v);
		atomic_store_explicit(&f->flags[k], v[0], memory_order_relaxed);
		atomic_store_explicit(&f->pols[k], v[1], memory_order_relaxed);
	}
	for (int k = 0; k < FAULT_KIND_COUNT; k++) {
		uint64_t d;

		memcpy(&d, p, sizeof(d));
		p += sizeof(d);
		atomic_store_explicit(&f->det[k], d, memory_order_relaxed);
	}
	return AQ_OK;
}
