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
 *            over 24 hours, wind u and v times the PM2.5 level; each group
 *            (wind, temperature and dew point, pressure, rain) 0 while it
 *            is not given, so a cell without a barometer still has the rest
 *   26..29   neighbours' mean minus the cell's value, and its change over
 *            3 hours, for PM2.5 and O3 (0 until given)
 *   30..31   day of year: sin, cos of one cycle a year
 *   32..34   PM2.5 level terms: the 24-hour mean squared, the last value
 *            squared, the last value times O3's (the response to the
 *            level is not linear: episodes build and clear faster)
 *   35..38   weather times level: dew-point depression and dew point
 *            times PM2.5 (humid stagnant air accumulates), wind speed times
 *            PM2.5, the north-westerly wind component (it clears the
 *            city); 0 until the weather is given
 */
#define NX 39
#define X_NB 26
#define X_POL 1
#define X_HOD 11
#define X_WX 15
#define X_DOY 30
#define X_LVL 32
#define X_WL 35
#define RING (FC_H + 1) /* hours of features and gains kept */
#define LAGS 25         /* hours of values kept for the lags */

#define LAMBDA 0.9998   /* forgetting: about 5,000 hours of memory */
#define P_INIT 10.0     /* initial inverse covariance (times I) */
#define P_TRACE_MAX 1e6 /* no forgetting beyond: bounds an idle P */
#define Q_STEP 0.02     /* quantile step at 1 h, times the mean |residual| */
#define B_STEP 0.05     /* step of the quantiles' slopes, relative */
#define MU_STEP 0.001   /* running mean and variance of the forecast */
#define C_STEP 0.002    /* climatology median step, times its mean |dev| */
#define W_STEP 0.01     /* climatology weight step */
#define W_HMIN 36       /* climatology blend from this horizon on */
#define WX_STALE 6      /* hours a weather observation stands for */

/* The weather's groups, each fresh or stale on its own. */
enum { WG_WIND, WG_THERMO, WG_PRES, WG_RAIN, WG_COUNT };

/*
 * Per pollutant and horizon, the output stage: quantiles q of the residual
 * as a + b (f - mu) of the regression's forecast f (a and b by online
 * quantile regression), the mean |residual|, mu and the variance of f, and
 * the weight of the climatology in the median.
 */
enum { Q10, Q50, Q90, NQ, QABS = NQ, QB, QMU = QB + NQ, QVAR, QW, QN };
static const double q_tau[NQ] = {0.1, 0.5, 0.9};

struct fc_model {
	int64_t last;               /* index of the last hour fed */
	uint32_t nval;              /* hours fed with a PM2.5 or O3 value */
	int64_t seen[FC_POL_COUNT]; /* last hour with a value */
	/* Lags: values of the last LAGS hours, slot hour % LAGS. */
	double lag[LAGS][2 * FC_POL_COUNT]; /* own, then neighbours' */
	double wx[LAGS][3];                 /* temp, dewp, pres */
	unsigned char wbits[LAGS]; /* 1 << WG_THERMO, 1 << WG_PRES: given */
	double carry[2 * FC_POL_COUNT]; /* last value seen */
	double wcarry[6];               /* last weather seen */
	int64_t wseen[WG_COUNT];        /* last hour each group was given */
	/* RLS: shared inverse covariance, features and gains by hour. */
	double p[NX][NX];
	float x[RING][NX];
	float k[RING][NX];
	int64_t xhour[RING]; /* hour of each slot, or INT64_MIN */
	float w[FC_POL_COUNT][FC_H][NX];
	float q[FC_POL_COUNT][FC_H][QN];
	/* Climatology: hour-of-day median of each pollutant, transformed,
	 * by a slow online quantile tracker, and its mean |deviation|. */
	float clim[FC_POL_COUNT][24];
	float cdev[FC_POL_COUNT];
	uint32_t cseen[FC_POL_COUNT]; /* bit hod: clim[p][hod] is set */
	int hod;                      /* local hour of day of the last hour */
};

static int slot(int64_t, int);
static double tr_fwd(double);
static double tr_inv(double);
static void out_learn(float *, double, double, double);
static double out_median(const float *, double);
static void blend_learn(float *, double, double, double);
static double mean_back(const struct fc_model *, int, int, double);
static bool fresh(const struct fc_model *, int, int64_t);
static void features(const struct fc_model *, int64_t, int, double *);
static void learn(struct fc_model *, int64_t, int);
static void clim_update(struct fc_model *, int64_t, int);
static void push(struct fc_model *, int64_t, int, const struct fc_obs *);

struct fc_model *
fc_new(void)
{
	struct fc_model *m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->last = INT64_MIN;
	for (int g = 0; g < WG_COUNT; g++)
		m->wseen[g] = INT64_MIN;
	for (int p = 0; p < FC_POL_COUNT; p++)
		m->seen[p] = INT64_MIN;
	for (int p = 0; p < 2 * FC_POL_COUNT; p++)
		m->carry[p] = NAN;
	for (int i = 0; i < LAGS; i++) {
		for (int p = 0; p < 2 * FC_POL_COUNT; p++)
			m->lag[i][p] = NAN;
		m->wbits[i] = 0;
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
	/* Hours since the epoch over the mean Gregorian year. */
	a = tau * fmod((double)hour / (24 * 365.2425), 1.0);
	x[X_DOY + 0] = sin(a);
	x[X_DOY + 1] = cos(a);
	x[X_LVL + 0] = x[X_POL + 3] * x[X_POL + 3] / 20.0;
	x[X_LVL + 1] = x[X_POL] * x[X_POL] / 20.0;
	x[X_LVL + 2] = x[X_POL] * x[X_POL + 5] / 20.0;
	/* Weather older than WX_STALE hours is taken as absent: features 0. */
	{
		const double *c = m->wcarry; /* wspd, wdir, temp, dewp, pres,
						rain */
		int s3 = slot(hour - 3, LAGS), s24 = slot(hour - 24, LAGS);
		double d = c[1] * tau / 360.0, nw;

		if (fresh(m, WG_WIND, hour)) {
			x[X_WX + 0] = c[0] / 3.0;
			/* Towards where the wind blows: u east, v north. */
			x[X_WX + 1] = -c[0] * sin(d) / 3.0;
			x[X_WX + 2] = -c[0] * cos(d) / 3.0;
			x[X_WX + 9] = x[X_WX + 1] * x[X_POL] / 10.0;
			x[X_WX + 10] = x[X_WX + 2] * x[X_POL] / 10.0;
			x[X_WL + 2] = c[0] * x[X_POL] / 30.0;
			/* From the north-west (315 degrees) only; 0 otherwise.
			 */
			nw = c[0] * cos(d - tau * 315.0 / 360.0);
			x[X_WL + 3] = nw > 0 ? nw / 3.0 : 0;
		}
		if (fresh(m, WG_THERMO, hour)) {
			x[X_WX + 3] = c[2] / 10.0;
			x[X_WX + 4] = c[3] / 10.0;
			if (m->wbits[s24] >> WG_THERMO & 1)
				x[X_WX + 8] = (c[2] - m->wx[s24][0]) / 5.0;
			x[X_WL + 0] = (c[2] - c[3]) * x[X_POL] / 100.0;
			x[X_WL + 1] = c[3] * x[X_POL] / 100.0;
		}
		if (fresh(m, WG_PRES, hour)) {
			if (m->wbits[s3] >> WG_PRES & 1)
				x[X_WX + 5] = (c[4] - m->wx[s3][2]) / 3.0;
			if (m->wbits[s24] >> WG_PRES & 1)
				x[X_WX + 6] = (c[4] - m->wx[s24][2]) / 5.0;
		}
		if (fresh(m, WG_RAIN, hour))
			x[X_WX + 7] = log1p(c[5]);
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

/* Whether weather group g was given in the last WX_STALE hours. */
static bool
fresh(const struct fc_model *m, int g, int64_t hour)
{
	return m->wseen[g] != INT64_MIN && hour - m->wseen[g] < WX_STALE;
}

/* The targets of hour `hour` arrived: update each horizon's model with the
 * features of the hour it forecast from. */
static void
learn(struct fc_model *m, int64_t hour, int hod)
{
	for (int p = 0; p < FC_POL_COUNT; p++) {
		double y = m->lag[slot(hour, LAGS)][p];

		if (isnan(y))
			continue;
		for (int h = 1; h <= FC_H; h++) {
			/* Slower at long horizons, whose residuals arrive late
			 * and are strongly correlated. */
			double qs = Q_STEP / sqrt(h);
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
			out_learn(q, f, e, qs);
			if (p == FC_PM25 && h >= W_HMIN &&
			    (m->cseen[p] >> hod & 1))
				blend_learn(q, f, y, m->clim[p][hod]);
			q[QMU] += (float)(MU_STEP * (f - q[QMU]));
			q[QVAR] += (float)(MU_STEP *
			    ((f - q[QMU]) * (f - q[QMU]) - q[QVAR]));
			for (int i = 0; i < NX; i++)
				w[i] += (float)(k[i] * e);
		}
	}
}

/* One step of online quantile regression of the residual e on the
 * centred forecast f - mu: q[j] + q[QB + j] (f - mu), each quantile. */
static void
out_learn(float *q, double f, double e, double qs)
{
	double g = f - q[QMU];
	double iv = q[QVAR] > 0 ? 1.0 / q[QVAR] : 0;

	for (int j = 0; j < NQ; j++) {
		double st = qs * q[QABS] *
		    (q_tau[j] - (e < q[j] + q[QB + j] * g ? 1.0 : 0.0));
		q[j] += (float)st;
		q[QB + j] += (float)(B_STEP * st * g * iv);
	}
}

/* The median before the climatology blend, in transformed units. */
static double
out_median(const float *q, double f)
{
	return f + q[Q50] + q[QB + Q50] * (f - q[QMU]);
}

/* A sign-gradient step of the climatology weight, kept in [0, 1], on the
 * absolute error of the blended median against the target y. */
static void
blend_learn(float *q, double f, double y, double c)
{
	double z = out_median(q, f), d = c - z, w;

	w = q[QW] +
	    W_STEP * (y > z + q[QW] * d ? 1 : -1) * d / (fabs(d) + q[QABS]);
	q[QW] = (float)(w < 0 ? 0 : w > 1 ? 1 : w);
}

/* The hour-of-day climatology learns the hour's values, after the models
 * (so the weight learns from a climatology that had not seen them). */
static void
clim_update(struct fc_model *m, int64_t hour, int hod)
{
	for (int p = 0; p < FC_POL_COUNT; p++) {
		double y = m->lag[slot(hour, LAGS)][p], e;
		float *c = &m->clim[p][hod];

		if (isnan(y))
			continue;
		if (!(m->cseen[p] >> hod & 1)) {
			*c = (float)y;
			m->cseen[p] |= UINT32_C(1) << hod;
			continue;
		}
		e = y - *c;
		*c += (float)(C_STEP * m->cdev[p] * (e < 0 ? -0.5 : 0.5));
		m->cdev[p] += (float)(0.001 * (fabs(e) - m->cdev[p]));
	}
}

/* Store hour's values and weather in the lags. */
static void
push(struct fc_model *m, int64_t hour, int hod, const struct fc_obs *o)
{
	int s = slot(hour, LAGS);
	bool any = false;

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
	m->wbits[s] = 0;
	if (o == NULL)
		goto out;
	if (!isnan(o->temp) && !isnan(o->dewp)) {
		m->wx[s][0] = m->wcarry[2] = o->temp;
		m->wx[s][1] = m->wcarry[3] = o->dewp;
		m->wbits[s] |= 1 << WG_THERMO;
		m->wseen[WG_THERMO] = hour;
	}
	if (!isnan(o->pres)) {
		m->wx[s][2] = m->wcarry[4] = o->pres;
		m->wbits[s] |= 1 << WG_PRES;
		m->wseen[WG_PRES] = hour;
	}
	if (!isnan(o->wspd) && !isnan(o->wdir)) {
		m->wcarry[0] = o->wspd;
		m->wcarry[1] = o->wdir;
		m->wseen[WG_WIND] = hour;
	}
	if (!isnan(o->rain)) {
		m->wcarry[5] = o->rain;
		m->wseen[WG_RAIN] = hour;
	}
out:
	m->last = hour;
	m->hod = hod;
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
				m->wbits[i] = 0;
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
	learn(m, hour, hod);
	clim_update(m, hour, hod);

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
		int th = (m->hod + h + 1) % 24; /* the target's hour of day */
		double f = 0, g, sh = 0;

		for (int i = 0; i < NX; i++)
			f += (double)w[i] * x[i];
		g = f - q[QMU];
		/* The climatology blend shifts the interval with the median. */
		if (q[QW] > 0 && (m->cseen[p] >> th & 1))
			sh = q[QW] * (m->clim[p][th] - out_median(q, f));
		out[h].mid = fmax(0, tr_inv(sh + out_median(q, f)));
		out[h].lo = fmax(0, tr_inv(sh + f + q[Q10] + q[QB + Q10] * g));
		out[h].hi = fmax(0, tr_inv(sh + f + q[Q90] + q[QB + Q90] * g));
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
