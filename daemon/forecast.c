#include "daemon/forecast.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/fix.h"

/*
 * Feature vector, pollutants transformed (tr_fwd), the rest scaled to about
 * unit size:
 *   0        intercept
 *   1..5     PM2.5: last value, means of 3, 6 and 24 hours, value 24 h ago
 *   6..10    O3: the same
 *   11..14   hour of day: sin, cos of one and two cycles a day
 *   15..25   weather: wind speed, wind u and v, temperature, dew point,
 *            pressure change over 3 and 24 hours, rain, temperature change
 *            over 24 hours, wind u and v times the PM2.5 level (0 until
 *            the weather is given)
 *   26..29   neighbours' mean minus the cell's value, and its change over
 *            3 hours, for PM2.5 and O3 (0 until given)
 */
#define NX 30
#define X_NB 26
#define X_POL 1
#define X_HOD 11
#define X_WX 15
#define RING (FC_H + 1) /* hours of features and gains kept */
#define LAGS 25         /* hours of values kept for the lags */

#define LAMBDA 0.9998   /* forgetting: about 5,000 hours of memory */
#define P_INIT 10.0     /* initial inverse covariance (times I) */
#define P_TRACE_MAX 1e6 /* no forgetting beyond: bounds an idle P */
#define Q_STEP 0.02     /* quantile step, times the mean |residual| */

enum { Q10, Q50, Q90, NQ, QABS = NQ };
static const double q_tau[NQ] = {0.1, 0.5, 0.9};

struct fc_model {
	int64_t last;               /* index of the last hour fed */
	uint32_t nval;              /* hours fed with a PM2.5 or O3 value */
	int64_t seen[FC_POL_COUNT]; /* last hour with a value */
	/* Lags: values of the last LAGS hours, slot hour % LAGS. */
	double lag[LAGS][2 * FC_POL_COUNT]; /* own, then neighbours' */
	double wx[LAGS][4];                 /* temp, dewp, pres, valid flag */
	double carry[2 * FC_POL_COUNT];     /* last value seen */
	double wcarry[6];                   /* last weather seen */
	bool wseen;
	/* RLS: shared inverse covariance, features and gains by hour. */
	double p[NX][NX];
	float x[RING][NX];
	float k[RING][NX];
	int64_t xhour[RING]; /* hour of each slot, or INT64_MIN */
	float w[FC_POL_COUNT][FC_H][NX];
	float q[FC_POL_COUNT][FC_H][NQ + 1];
};

static int slot(int64_t, int);
static double tr_fwd(double);
static double tr_inv(double);
static double mean_back(const struct fc_model *, int, int, double);
static void features(const struct fc_model *, int64_t, int, double *);
static void learn(struct fc_model *, int64_t);
static void push(struct fc_model *, int64_t, int, const struct fc_obs *);

struct fc_model *
fc_new(void)
{
	struct fc_model *m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->last = INT64_MIN;
	for (int p = 0; p < FC_POL_COUNT; p++)
		m->seen[p] = INT64_MIN;
	for (int p = 0; p < 2 * FC_POL_COUNT; p++)
		m->carry[p] = NAN;
	for (int i = 0; i < LAGS; i++) {
		for (int p = 0; p < 2 * FC_POL_COUNT; p++)
			m->lag[i][p] = NAN;
		m->wx[i][3] = 0;
	}
	for (int i = 0; i < NX; i++)
		m->p[i][i] = P_INIT;
	for (int i = 0; i < RING; i++)
		m->xhour[i] = INT64_MIN;
	return m;
}

void
fc_free(struct fc_model *m)
{
	free(m);
}

void
fc_obs_clear(struct fc_obs *o)
{
	for (int p = 0; p < FC_POL_COUNT; p++)
		o->v[p] = o->nb[p] = NAN;
	o->temp = o->dewp = o->pres = o->rain = o->wspd = o->wdir = NAN;
}

int64_t
fc_last_hour(const struct fc_model *m)
{
	return m->last;
}

/* The transform, Box-Cox with power 1/2 on 1 + x (the square root scored
 * better than the logarithm on the Beijing data), and back. */
static double
tr_fwd(double x)
{
	return 2 * (sqrt(1 + x) - 1);
}

static double
tr_inv(double y)
{
	y = 1 + y / 2;
	return y <= 0 ? 0 : y * y - 1;
}

/* Mean of pollutant p's values over the n hours ending at the last one;
 * dflt when none. */
static double
mean_back(const struct fc_model *m, int p, int n, double dflt)
{
	double s = 0;
	int c = 0;

	for (int i = 0; i < n; i++) {
		double v = m->lag[slot(m->last - i, LAGS)][p];
		if (!isnan(v)) {
			s += v;
			c++;
		}
	}
	return c > 0 ? s / c : dflt;
}

static int
slot(int64_t hour, int n)
{
	int s = (int)(hour % n);

	return s < 0 ? s + n : s;
}

/* The feature vector of the last hour fed, at local hour of day hod. */
static void
features(const struct fc_model *m, int64_t hour, int hod, double *x)
{
	const double tau = 6.283185307179586;
	double a = tau * hod / 24.0;

	x[0] = 1;
	for (int p = 0; p < FC_POL_COUNT; p++) {
		double *xp = x + X_POL + 5 * p;
		double now = m->lag[slot(hour, LAGS)][p];
		double c = isnan(m->carry[p]) ? 0 : m->carry[p];
		double m24 = mean_back(m, p, 24, c);
		double d24 = m->lag[slot(hour - 24, LAGS)][p];

		xp[0] = isnan(now) ? c : now;
		xp[1] = mean_back(m, p, 3, xp[0]);
		xp[2] = mean_back(m, p, 6, xp[1]);
		xp[3] = m24;
		xp[4] = isnan(d24) ? m24 : d24;
	}
	x[X_HOD + 0] = sin(a);
	x[X_HOD + 1] = cos(a);
	x[X_HOD + 2] = sin(2 * a);
	x[X_HOD + 3] = cos(2 * a);
	for (int i = X_WX; i < NX; i++)
		x[i] = 0;
	if (m->wseen) {
		const double *c = m->wcarry; /* wspd, wdir, temp, dewp, pres,
						rain */
		const double *w3 = m->wx[slot(hour - 3, LAGS)];
		const double *w24 = m->wx[slot(hour - 24, LAGS)];
		double d = c[1] * tau / 360.0;

		x[X_WX + 0] = c[0] / 3.0;
		/* Towards where the wind blows: u east, v north. */
		x[X_WX + 1] = -c[0] * sin(d) / 3.0;
		x[X_WX + 2] = -c[0] * cos(d) / 3.0;
		x[X_WX + 3] = c[2] / 10.0;
		x[X_WX + 4] = c[3] / 10.0;
		x[X_WX + 5] = w3[3] != 0 ? (c[4] - w3[2]) / 3.0 : 0;
		x[X_WX + 6] = w24[3] != 0 ? (c[4] - w24[2]) / 5.0 : 0;
		x[X_WX + 7] = log1p(c[5]);
		x[X_WX + 8] = w24[3] != 0 ? (c[2] - w24[0]) / 5.0 : 0;
		x[X_WX + 9] = x[X_WX + 1] * x[X_POL] / 10.0;
		x[X_WX + 10] = x[X_WX + 2] * x[X_POL] / 10.0;
	}
	for (int p = 0; p < FC_POL_COUNT; p++) {
		double now = m->lag[slot(hour, LAGS)][FC_POL_COUNT + p];
		double b3 = m->lag[slot(hour - 3, LAGS)][FC_POL_COUNT + p];
		double c = m->carry[FC_POL_COUNT + p];

		if (isnan(c)) {
			x[X_NB + 2 * p] = x[X_NB + 2 * p + 1] = 0;
			continue;
		}
		now = isnan(now) ? c : now;
		x[X_NB + 2 * p] = now - x[X_POL + 5 * p];
		x[X_NB + 2 * p + 1] = isnan(b3) ? 0 : now - b3;
	}
}

/* The targets of hour `hour` arrived: update each horizon's model with the
 * features of the hour it forecast from. */
static void
learn(struct fc_model *m, int64_t hour)
{
	for (int p = 0; p < FC_POL_COUNT; p++) {
		double y = m->lag[slot(hour, LAGS)][p];

		if (isnan(y))
			continue;
		for (int h = 1; h <= FC_H; h++) {
			int s = slot(hour - h, RING);
			const float *x = m->x[s], *k = m->k[s];
			float *w = m->w[p][h - 1], *q = m->q[p][h - 1];
			double f = 0, e;

			if (m->xhour[s] != hour - h)
				continue;
			for (int i = 0; i < NX; i++)
				f += (double)w[i] * x[i];
			e = y - f;
			q[QABS] += (float)(0.01 * (fabs(e) - q[QABS]));
			for (int j = 0; j < NQ; j++)
				q[j] += (float)(Q_STEP * q[QABS] *
				    (q_tau[j] - (e < q[j] ? 1.0 : 0.0)));
			for (int i = 0; i < NX; i++)
				w[i] += (float)(k[i] * e);
		}
	}
}

/* Store hour's values and weather in the lags. */
static void
push(struct fc_model *m, int64_t hour, int hod, const struct fc_obs *o)
{
	int s = slot(hour, LAGS);
	bool any = false;

	(void)hod;
	for (int p = 0; p < FC_POL_COUNT; p++) {
		double v = o != NULL ? o->v[p] : NAN;

		if (!isnan(v) && v >= 0) {
			m->lag[s][p] = tr_fwd(v);
			m->carry[p] = m->lag[s][p];
			m->seen[p] = hour;
			any = true;
		} else {
			m->lag[s][p] = NAN;
		}
	}
	if (any)
		m->nval++;
	for (int p = 0; p < FC_POL_COUNT; p++) {
		double v = o != NULL ? o->nb[p] : NAN;

		m->lag[s][FC_POL_COUNT + p] = NAN;
		if (!isnan(v) && v >= 0) {
			m->lag[s][FC_POL_COUNT + p] = tr_fwd(v);
			m->carry[FC_POL_COUNT + p] = tr_fwd(v);
		}
	}
	m->wx[s][3] = 0;
	if (o != NULL && !isnan(o->temp) && !isnan(o->dewp) &&
	    !isnan(o->pres)) {
		m->wx[s][0] = o->temp;
		m->wx[s][1] = o->dewp;
		m->wx[s][2] = o->pres;
		m->wx[s][3] = 1;
		m->wcarry[2] = o->temp;
		m->wcarry[3] = o->dewp;
		m->wcarry[4] = o->pres;
		m->wseen = true;
	}
	if (o != NULL && !isnan(o->wspd) && !isnan(o->wdir)) {
		m->wcarry[0] = o->wspd;
		m->wcarry[1] = o->wdir;
	}
	if (o != NULL && !isnan(o->rain))
		m->wcarry[5] = o->rain;
	m->last = hour;
}

int
fc_hour(struct fc_model *m, int64_t hour, int hod, const struct fc_obs *o)
{
	double x[NX], px[NX], den = LAMBDA, tr = 0;
	int s;

	if (hod < 0 || hod > 23)
		return AQ_ERR_INVAL;
	if (m->last != INT64_MIN && hour <= m->last)
		return AQ_ERR_STALE;
	if (m->last != INT64_MIN && hour - m->last > 1) {
		if (hour - m->last > FC_H) {
			/* Too long: no lag or origin survives. */
			for (int i = 0; i < RING; i++)
				m->xhour[i] = INT64_MIN;
			for (int i = 0; i < LAGS; i++) {
				for (int p = 0; p < 2 * FC_POL_COUNT; p++)
					m->lag[i][p] = NAN;
				m->wx[i][3] = 0;
			}
			m->last = hour - 1;
		}
		while (m->last + 1 < hour) {
			int64_t g = m->last + 1;
			int gh = ((hod - (int)(hour - g)) % 24 + 24) % 24;

			if ((s = fc_hour(m, g, gh, NULL)) != AQ_OK)
				return s;
		}
	}
	push(m, hour, hod, o);
	learn(m, hour);

	/* RLS gain of this hour's features; P <- (P - k x'P) / lambda. */
	features(m, hour, hod, x);
	for (int i = 0; i < NX; i++) {
		double a = 0;
		for (int j = 0; j < NX; j++)
			a += m->p[i][j] * x[j];
		px[i] = a;
		den += x[i] * a;
	}
	s = slot(hour, RING);
	for (int i = 0; i < NX; i++) {
		m->x[s][i] = (float)x[i];
		m->k[s][i] = (float)(px[i] / den);
		tr += m->p[i][i];
	}
	m->xhour[s] = hour;
	for (int i = 0; i < NX; i++)
		for (int j = i; j < NX; j++) {
			double v = m->p[i][j] - px[i] * px[j] / den;
			if (tr < P_TRACE_MAX)
				v /= LAMBDA;
			m->p[i][j] = m->p[j][i] = v;
		}
	return AQ_OK;
}

bool
fc_predict(const struct fc_model *m, enum fc_pol p, struct fc_point out[FC_H])
{
	int s;
	const float *x;

	if (m->last == INT64_MIN || m->nval < FC_WARM ||
	    m->seen[p] == INT64_MIN || m->last - m->seen[p] >= FC_H)
		return false;
	s = slot(m->last, RING);
	if (m->xhour[s] != m->last)
		return false;
	x = m->x[s];
	for (int h = 0; h < FC_H; h++) {
		const float *w = m->w[p][h], *q = m->q[p][h];
		double f = 0;

		for (int i = 0; i < NX; i++)
			f += (double)w[i] * x[i];
		out[h].mid = fmax(0, tr_inv(f + q[Q50]));
		out[h].lo = fmax(0, tr_inv(f + q[Q10]));
		out[h].hi = fmax(0, tr_inv(f + q[Q90]));
		if (out[h].lo > out[h].mid)
			out[h].lo = out[h].mid;
		if (out[h].hi < out[h].mid)
			out[h].hi = out[h].mid;
	}
	return true;
}

int
fc_day_aqi(enum aqi_std std, const double pm25[24], const double o3[24],
    double *pm25_24h, double *o3_8h)
{
	double s = 0, mda8 = NAN, pm = NAN;
	int n = 0, nwin = 0;

	for (int i = 0; i < 24; i++)
		if (!isnan(pm25[i])) {
			s += pm25[i];
			n++;
		}
	if (n >= 20)
		pm = s / n;
	for (int e = 7; e < 24; e++) {
		double ws = 0;
		int c = 0;
		for (int i = e - 7; i <= e; i++)
			if (!isnan(o3[i])) {
				ws += o3[i];
				c++;
			}
		if (c >= 6) {
			nwin++;
			if (isnan(mda8) || ws / c > mda8)
				mda8 = ws / c;
		}
	}
	if (nwin < 14)
		mda8 = NAN;
	if (pm25_24h != NULL)
		*pm25_24h = pm;
	if (o3_8h != NULL)
		*o3_8h = mda8;
	return fc_aqi(std, pm, mda8);
}

int
fc_aqi(enum aqi_std std, double pm, double mda8)
{
	struct aqi_opts opts = {.std = std, .report = AQI_DAILY};
	struct aqi_input in = {0};
	struct aqi_result r;
	int aqi;

	if (!isnan(pm) && fix_from_double(pm, &in.v[IND_PM25_24H]) == AQ_OK) {
		in.has |= IND_BIT(IND_PM25_24H);
		in.unit[IND_PM25_24H] = UNIT_UGM3;
	}
	if (!isnan(mda8) && fix_from_double(mda8, &in.v[IND_O3_8H]) == AQ_OK) {
		in.has |= IND_BIT(IND_O3_8H);
		in.unit[IND_O3_8H] = UNIT_UGM3;
	}
	if (in.has == 0 || aqi_compute(&opts, &in, &r) != AQ_OK)
		return -1;
	/* The larger IAQI: 2026's rule that hides an AQI <= 100 computed
	 * without every pollutant does not apply to a forecast of two. */
	aqi = r.iaqi[IND_PM25_24H] > r.iaqi[IND_O3_8H] ? r.iaqi[IND_PM25_24H]
						       : r.iaqi[IND_O3_8H];
	return aqi;
}
