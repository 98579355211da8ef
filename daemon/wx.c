/* wx: a cell-hour's weather from its sensors' fields (see wx.h). */
#include "daemon/wx.h"

#include <math.h>
#include <stddef.h>

#define NONE INT16_MIN
#define DEG(r) ((r)*57.29577951308232)
#define RAD(d) ((d) / 57.29577951308232)
/* Magnus formula over water, Alduchov and Eskridge (1996). */
#define MAGNUS_A 17.625
#define MAGNUS_B 243.04

/* Kept units: value = v / scale + offset. */
static const struct {
	double scale, offset;
} unit[WX_COUNT] = {
    [WX_TEMP] = {100, 0},
    [WX_RH] = {100, 0},
    [WX_PRES] = {10, 1000},
    [WX_RAIN] = {100, 0},
    [WX_WS] = {100, 0},
    [WX_WD] = {10, 0},
};

static int ok(int f, double v);
static int16_t pack(int f, double v);

void
wx_clear(struct wx_hour *o)
{
	o->temp = o->rh = o->pres = o->rain = o->wspd = o->wdir = NAN;
}

void
wx_packed_clear(struct wx_packed *p)
{
	for (int f = 0; f < WX_COUNT; f++)
		p->v[f] = NONE;
}

void
wx_acc_init(struct wx_acc *a, int32_t hour)
{
	a->hour = hour;
	a->u = a->v = 0;
	for (int f = 0; f < WX_COUNT; f++)
		a->w[f] = 0;
	for (int f = 0; f <= WX_WS; f++)
		a->sum[f] = 0;
}

/* Whether field f's reading value v is plausible. */
static int
ok(int f, double v)
{
	switch (f) {
	case WX_TEMP:
		return v >= WX_TEMP_MIN && v <= WX_TEMP_MAX;
	case WX_RH:
		return v >= 0 && v <= 100;
	case WX_PRES:
		return v >= WX_PRES_MIN && v <= WX_PRES_MAX;
	case WX_RAIN:
		return v >= 0;
	case WX_WS:
		return v >= 0 && v <= WX_WS_MAX;
	default:
		return v >= 0 && v <= 360;
	}
}

void
wx_acc_add(struct wx_acc *a, uint32_t has, const double v[WX_COUNT],
    int32_t secs, int32_t period)
{
	double sec = secs;

	if (secs < 1 || period < secs)
		return;
	for (int f = WX_TEMP; f <= WX_WS; f++) {
		if (!(has & (1u << f)) || !ok(f, v[f]))
			continue;
		if (f == WX_RAIN) {
			/* The share of the period's rain in this hour; a
			 * rate beyond the plausible is a broken gauge. */
			if (v[f] * 3600.0 / period > WX_RAIN_MAX)
				continue;
			a->sum[f] += v[f] * sec / period;
		} else {
			a->sum[f] += v[f] * sec;
		}
		a->w[f] += (uint32_t)secs;
	}
	if ((has & (1u << WX_WS)) && (has & (1u << WX_WD)) &&
	    ok(WX_WS, v[WX_WS]) && ok(WX_WD, v[WX_WD])) {
		/* The vector the wind blows from, speed-weighted. */
		a->u += (float)(v[WX_WS] * sin(RAD(v[WX_WD])) * sec);
		a->v += (float)(v[WX_WS] * cos(RAD(v[WX_WD])) * sec);
		a->w[WX_WD] += (uint32_t)secs;
	}
}

/* Field f's kept value: rounded, clamped to the kept range. */
static int16_t
pack(int f, double v)
{
	double x = nearbyint((v - unit[f].offset) * unit[f].scale);

	if (x < -32767)
		x = -32767;
	if (x > 32767)
		x = 32767;
	return (int16_t)x;
}

void
wx_acc_pack(const struct wx_acc *a, struct wx_packed *out)
{
	for (int f = 0; f < WX_COUNT; f++) {
		double v;

		out->v[f] = NONE;
		if (a->w[f] == 0)
			continue;
		if (f == WX_WD) {
			v = 0;
			if (a->u != 0 || a->v != 0)
				v = DEG(atan2(a->u, a->v));
			if (v < 0)
				v += 360;
			out->v[f] = pack(f, v);
			if (out->v[f] >= 3600)
				out->v[f] -= 3600;
			continue;
		}
		v = a->sum[f] / a->w[f];
		if (f == WX_RAIN)
			v *= 3600; /* the mean rate over one hour */
		out->v[f] = pack(f, v);
	}
}

void
wx_unpack(const struct wx_packed *p, struct wx_hour *out)
{
	double v[WX_COUNT];

	for (int f = 0; f < WX_COUNT; f++)
		v[f] = p->v[f] == NONE
		    ? NAN
		    : p->v[f] / unit[f].scale + unit[f].offset;
	out->temp = v[WX_TEMP];
	out->rh = v[WX_RH];
	out->pres = v[WX_PRES];
	out->rain = v[WX_RAIN];
	out->wspd = v[WX_WS];
	out->wdir = v[WX_WD];
}

double
wx_dewpoint(double temp, double rh)
{
	double g;

	if (isnan(temp) || isnan(rh) || rh <= 0)
		return NAN;
	g = log(rh / 100.0) + MAGNUS_A * temp / (MAGNUS_B + temp);
	return MAGNUS_B * g / (MAGNUS_A - g);
}

double
wx_rh(double temp, double dewp)
{
	double rh;

	if (isnan(temp) || isnan(dewp))
		return NAN;
	rh = 100.0 *
	    exp(MAGNUS_A * dewp / (MAGNUS_B + dewp) -
		MAGNUS_A * temp / (MAGNUS_B + temp));
	return rh > 100 ? 100 : rh;
}

void
wx_fc_obs(const struct wx_hour *w, struct fc_obs *o)
{
	if (w == NULL) {
		o->temp = o->dewp = o->pres = o->rain = o->wspd = o->wdir = NAN;
		return;
	}
	o->temp = w->temp;
	o->dewp = wx_dewpoint(w->temp, w->rh);
	o->pres = w->pres;
	o->rain = w->rain;
	o->wspd = w->wspd;
	o->wdir = w->wdir;
}
