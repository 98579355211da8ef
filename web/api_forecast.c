/*
 * api_forecast: forecasts, warnings, hotspots and the plan's indicators
 * (api_forecast.h).
 */
#include "web/api_forecast.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>

#include "alerts/service.h"
#include "daemon/aqi.h"
#include "daemon/hotspot.h"
#include "daemon/fix.h"
#include "daemon/limits.h"
#include "daemon/plan.h"
#include "daemon/pol.h"
#include "daemon/tz.h"

static int warning_answer(struct req *r, int ai);
static json_t *fc_value(const struct fcgrid_forecast *f, int p, int k);
static json_t *jfc(double v);
static json_t *fc_day(json_t *days, int32_t date, int aqi);
static int indicators_json(
    struct req *r, int ai, const struct plan_result *res, json_t **out);
static json_t *plan_valid_json(const struct plan_valid *v);

int
api_hotspots(struct req *r)
{
	uint32_t ncells = state_ncells(r->st), n;
	struct hotspot *l;
	int64_t hour;
	json_t *res, *o;
	int rc = AQ_ERR_NOMEM;

	if ((l = calloc(ncells > 0 ? ncells : 1, sizeof(*l))) == NULL)
		return rc;
	n = hotspots_list(state_hotspots(r->st), l, ncells, &hour);
	if (n > ncells)
		n = ncells;
	r->code = MHD_HTTP_OK;
	if ((r->json = json_object()) == NULL ||
	    json_object_set_new(r->json, "hour",
		hour == HOTSPOT_NO_HOUR
		    ? json_null()
		    : api_jtime(r, tz_hour_end(r->tz, hour))) ||
	    json_object_set_new(r->json, "count", json_integer(n)) ||
	    (res = api_child_array(r->json, "results")) == NULL)
		goto out;
	for (uint32_t k = 0; k < n; k++) {
		const struct hotspot *h = &l[k];
		bool up = h->source == HOTSPOT_UPWIND;

		if ((o = json_object()) == NULL ||
		    json_array_append_new(res, o) ||
		    json_object_set_new(
			o, "cell", api_jtext(r->conf->cells[h->cell].id)) ||
		    json_object_set_new(o, "rank", json_integer(k + 1)) ||
		    json_object_set_new(
			o, "hour", api_jtime(r, tz_hour_end(r->tz, h->hour))) ||
		    json_object_set_new(o, "since",
			api_jtime(r, tz_hour_end(r->tz, h->since))) ||
		    json_object_set_new(o, "hours", json_integer(h->hours)) ||
		    json_object_set_new(o, "value", json_real(h->value)) ||
		    json_object_set_new(
			o, "background", json_real(h->background)) ||
		    json_object_set_new(o, "excess", json_real(h->excess)) ||
		    json_object_set_new(
			o, "mean_excess", json_real(h->mean_excess)) ||
		    json_object_set_new(
			o, "excess_hours", json_real(h->excess_hours)) ||
		    json_object_set_new(o, "source",
			json_string(up                       ? "upwind"
				: h->source == HOTSPOT_LOCAL ? "local"
							     : "no_wind")) ||
		    json_object_set_new(o, "source_deg",
			up ? json_real(h->source_deg) : json_null()) ||
		    json_object_set_new(o, "source_compass",
			up ? json_string(hotspot_compass(h->source_deg))
			   : json_null()) ||
		    json_object_set_new(o, "wind_speed",
			h->source != HOTSPOT_NO_WIND ? json_real(h->wind_speed)
						     : json_null()))
			goto out;
	}
	rc = AQ_OK;
out:
	free(l);
	return rc;
}

static json_t *
jfc(double v)
{
	return isnan(v) ? json_null() : json_real(round(v * 10) / 10);
}

static json_t *
fc_value(const struct fcgrid_forecast *f, int p, int k)
{
	json_t *o;

	if (!f->has[p])
		return json_null();
	if ((o = json_object()) == NULL ||
	    json_object_set_new(o, "value", jfc(f->h[p][k].mid)) ||
	    json_object_set_new(o, "lo", jfc(f->h[p][k].lo)) ||
	    json_object_set_new(o, "hi", jfc(f->h[p][k].hi))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/*
 * Appends {"date": "YYYY-MM-DD", "aqi": AQI or null} to days: the start of
 * a day of a cell's forecast and of an area's warning.  Returns the day
 * (days owns it), or NULL when out of memory.
 */
static json_t *
fc_day(json_t *days, int32_t date, int aqi)
{
	json_t *j = json_object();

	if (j == NULL || json_array_append_new(days, j) ||
	    json_object_set_new(j, "date", api_jdate(date)) ||
	    json_object_set_new(j, "aqi", api_jint(aqi >= 0, aqi)))
		return NULL;
	return j;
}

/* GET /api/v1/cells/{id}/forecast */
int
api_cell_forecast(struct req *r)
{
	int64_t c = conf_cell_find(r->conf, r->param);
	const struct fcgrid *g = state_forecasts(r->st);
	struct fcgrid_forecast *f = NULL;
	json_t *o, *hours, *days;
	bool ready;
	int rc = AQ_ERR_NOMEM;

	if (c < 0 || c >= state_ncells(r->st)) {
		rc = api_fail(r, MHD_HTTP_NOT_FOUND, "no such cell");
		goto out;
	}
	if ((f = malloc(sizeof(*f))) == NULL)
		goto out;
	ready = g != NULL && fcgrid_get(g, (uint32_t)c, f) == AQ_OK;
	r->code = MHD_HTTP_OK;
	if ((o = r->json = json_object()) == NULL ||
	    json_object_set_new(o, "cell", api_jtext(r->conf->cells[c].id)) ||
	    json_object_set_new(o, "ready", json_boolean(ready)) ||
	    json_object_set_new(o, "origin",
		api_jtime(
		    r, ready ? tz_hour_end(r->tz, f->origin) : WIN_NO_HOUR)) ||
	    json_object_set_new(o, "horizon", json_integer(FC_H)) ||
	    json_object_set_new(o, "interval", json_real(0.8)) ||
	    (hours = api_child_array(o, "hours")) == NULL ||
	    (days = api_child_array(o, "days")) == NULL)
		goto out;
	for (int k = 0; ready && k < FC_H; k++) {
		json_t *h = json_object();

		if (h == NULL || json_array_append_new(hours, h) ||
		    json_object_set_new(h, "time",
			api_jtime(r, tz_hour_end(r->tz, f->origin + 1 + k))) ||
		    json_object_set_new(h, "pm25", fc_value(f, FC_PM25, k)) ||
		    json_object_set_new(h, "o3", fc_value(f, FC_O3, k)) ||
		    json_object_set_new(h, "pm25_24h", jfc(f->pm25_24h[k])) ||
		    json_object_set_new(h, "o3_8h", jfc(f->o3_8h[k])))
			goto out;
	}
	for (int k = 0; ready && k < f->ndays; k++) {
		const struct fcgrid_day *d = &f->day[k];
		json_t *j;

		if ((j = fc_day(days, d->date, d->aqi)) == NULL ||
		    json_object_set_new(j, "level",
			api_jint(d->aqi >= 0,
			    d->aqi >= 0
				? aqi_level(
				      (enum aqi_std)r->conf->aqi_std, d->aqi)
				: 0)) ||
		    json_object_set_new(j, "pm25_24h", jfc(d->pm25_24h)) ||
		    json_object_set_new(j, "o3_8h", jfc(d->o3_8h)))
			goto out;
	}
	rc = AQ_OK;
out:
	free(f);
	return rc;
}

/*
 * The area's warning: days from today on, from its external forecast when
 * that reaches today, else from the mean over its cells with a forecast
 * of their PM2.5 24-hour means and O3 MDA8 (the city AQI is computed from
 * mean concentrations too).
 */
static int
warning_answer(struct req *r, int ai)
{
	const struct conf_area *ar = &r->conf->areas[ai];
	const struct fcgrid *g = state_forecasts(r->st);
	struct fcgrid_forecast *f = NULL;
	struct fcgrid_ext ext[FCGRID_EXT_DAYS];
	int32_t date[FCGRID_EXT_DAYS], today = tz_date(r->tz, r->now);
	int aqi[FCGRID_EXT_DAYS], nd = 0, ne = 0, ncells = 0;
	double pm[FCGRID_EXT_DAYS] = {0}, o3[FCGRID_EXT_DAYS] = {0};
	int npm[FCGRID_EXT_DAYS] = {0}, no3[FCGRID_EXT_DAYS] = {0};
	int64_t at = 0;
	const char *source = "none";
	enum aqi_std std = (enum aqi_std)r->conf->aqi_std;
	json_t *o, *days;
	int rc = AQ_ERR_NOMEM;

	if (g != NULL)
		fcgrid_get_external(g, (uint32_t)ai, ext, &ne, &at);
	if (ne > 0 && ext[ne - 1].date >= today) {
		source = "external";
		for (int k = 0; k < ne; k++)
			if (ext[k].date >= today) {
				date[nd] = ext[k].date;
				aqi[nd++] = ext[k].aqi;
			}
	} else if (g != NULL) {
		if ((f = malloc(sizeof(*f))) == NULL)
			goto out;
		for (uint32_t k = 0; k < ar->ncells; k++) {
			if (fcgrid_get(g, ar->cells[k], f) != AQ_OK)
				continue;
			ncells++;
			for (int d = 0; d < f->ndays; d++) {
				int x = 0;

				if (f->day[d].date < today)
					continue;
				while (x < nd && date[x] != f->day[d].date)
					x++;
				if (x == nd) {
					if (nd == FCGRID_EXT_DAYS)
						continue;
					date[nd++] = f->day[d].date;
				}
				if (!isnan(f->day[d].pm25_24h)) {
					pm[x] += f->day[d].pm25_24h;
					npm[x]++;
				}
				if (!isnan(f->day[d].o3_8h)) {
					o3[x] += f->day[d].o3_8h;
					no3[x]++;
				}
			}
		}
		for (int x = 0; x < nd; x++)
			aqi[x] = fc_aqi(std, npm[x] ? pm[x] / npm[x] : NAN,
			    no3[x] ? o3[x] / no3[x] : NAN);
		if (nd > 0)
			source = "model";
	}
	r->code = MHD_HTTP_OK;
	if ((o = r->json = json_object()) == NULL ||
	    json_object_set_new(o, "area", api_jtext(ar->id)) ||
	    json_object_set_new(o, "level",
		json_string(fcgrid_warn_name(fcgrid_warn_level(aqi, nd)))) ||
	    json_object_set_new(o, "source", json_string(source)) ||
	    json_object_set_new(o, "received",
		ne > 0 && strcmp(source, "external") == 0 ? api_jtime(r, at)
							  : json_null()) ||
	    json_object_set_new(o, "cells", json_integer(ncells)) ||
	    (days = api_child_array(o, "days")) == NULL)
		goto out;
	for (int x = 0; x < nd; x++)
		if (fc_day(days, date[x], aqi[x]) == NULL)
			goto out;
	rc = AQ_OK;
out:
	free(f);
	return rc;
}

/* GET /api/v1/areas/{id}/warning */
int
api_area_warning(struct req *r)
{
	int ai = api_find_area(r->conf, r->param);

	if (ai < 0)
		return api_fail(r, MHD_HTTP_NOT_FOUND, "no such area");
	return warning_answer(r, ai);
}

/* POST /api/v1/areas/{id}/forecast {"days":[{"date","aqi"}]} */
int
api_area_forecast(struct req *r)
{
	struct fcgrid *g = state_forecasts(r->st);
	struct fcgrid_ext d[FCGRID_EXT_DAYS];
	int ai = api_find_area(r->conf, r->param), n = 0, rc;
	json_t *j, *days, *v;
	size_t k;

	if (ai < 0)
		return api_fail(r, MHD_HTTP_NOT_FOUND, "no such area");
	if (g == NULL)
		return api_fail(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "forecasts are off ([forecast] cells_max = 0)");
	if ((j = api_body_json(r, "days")) == NULL)
		return r->json != NULL ? AQ_OK : AQ_ERR_NOMEM;
	days = json_object_get(j, "days");
	if (!json_is_array(days) || json_array_size(days) > FCGRID_EXT_DAYS) {
		json_decref(j);
		return api_fail(r, MHD_HTTP_BAD_REQUEST,
		    "days: expected an array of at most %d {\"date\", "
		    "\"aqi\"}",
		    FCGRID_EXT_DAYS);
	}
	json_array_foreach(days, k, v)
	{
		json_t *a = json_object_get(v, "aqi");
		const char *ds = json_string_value(json_object_get(v, "date"));

		if (ds == NULL || tz_parse_date(ds, &d[n].date) != AQ_OK ||
		    !json_is_integer(a) || json_object_size(v) != 2) {
			json_decref(j);
			return api_fail(r, MHD_HTTP_BAD_REQUEST,
			    "days[%zu]: expected {\"date\": \"YYYY-MM-DD\", "
			    "\"aqi\": integer}",
			    k);
		}
		d[n].aqi = (int)json_integer_value(a);
		if (json_integer_value(a) < 0 || json_integer_value(a) > 500)
			d[n].aqi = -1;
		n++;
	}
	json_decref(j);
	if ((rc = fcgrid_set_external(g, (uint32_t)ai, d, n, r->now)) != AQ_OK)
		return api_fail(r, MHD_HTTP_BAD_REQUEST,
		    "days: AQI 0..500 and dates ascending, without repeats");
	if (state_store(r->st) != NULL &&
	    fcgrid_ext_save(g, (uint32_t)ai, state_store(r->st),
		r->conf->areas[ai].id) != AQ_OK)
		return api_fail(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "the forecast is in use but could not be stored");
	return warning_answer(r, ai);
}

/* ---- Plan indicators ---- */

/*
 * The plan's indicators of an area (area=) or the grid: the days from the
 * store in one scan (plan_read()), summarised by plan_compute(), against
 * the [plan] targets and the limits of the configured edition as of to.
 */
int
api_indicators(struct req *r)
{
	const struct conf *c = r->conf;
	const char *area = api_query_arg(r, "area"),
		   *from = api_query_arg(r, "from");
	const char *to = api_query_arg(r, "to");
	struct store *s = state_store(r->st);
	struct plan_day *days = NULL;
	struct plan_result res;
	size_t n = 0;
	int64_t f = 0, t = 0;
	int ai = -1, rc = AQ_ERR_NOMEM, got;

	if (area != NULL && (ai = api_find_area(c, area)) < 0) {
		rc = api_fail(r, MHD_HTTP_NOT_FOUND, "no such area");
		goto out;
	}
	if (from != NULL && api_when(r, from, true, false, &f) != AQ_OK) {
		rc = api_fail(
		    r, MHD_HTTP_BAD_REQUEST, "from: %s", HIST_DATE_DOC);
		goto out;
	}
	if (to != NULL && api_when(r, to, true, true, &t) != AQ_OK) {
		rc = api_fail(r, MHD_HTTP_BAD_REQUEST, "to: %s", HIST_DATE_DOC);
		goto out;
	}
	/* Year to date: the latest complete day and its year's first. */
	if (to == NULL)
		t = tz_date_from_days(
		    tz_days_from_date(tz_date(r->tz, r->now)) - 1);
	if (from == NULL)
		f = t / 10000 * 10000 + 101;
	if (f > t) {
		rc = api_fail(r, MHD_HTTP_BAD_REQUEST, "from: after to");
		goto out;
	}
	if (tz_days_from_date((int32_t)t) - tz_days_from_date((int32_t)f) >=
	    PLAN_DAYS_MAX) {
		rc = api_fail(r, MHD_HTTP_BAD_REQUEST,
		    "to: more than %d days after from", PLAN_DAYS_MAX - 1);
		goto out;
	}
	if (s == NULL) {
		rc = api_fail(r, MHD_HTTP_SERVICE_UNAVAILABLE, API_NO_STORE);
		goto out;
	}
	got = plan_cache_read(
	    r->a->plan, s, c, ai, (int32_t)f, (int32_t)t, &days, &n);
	if (got == AQ_OK)
		got = plan_compute(days, n, (int32_t)f, (int32_t)t, &res);
	if (got == AQ_ERR_NOMEM)
		goto out;
	if (got != AQ_OK) {
		rc = api_fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "indicators: cannot read the store: %s", aq_strerror(got));
		goto out;
	}
	r->code = MHD_HTTP_OK;
	rc = indicators_json(r, ai, &res, &r->json);
out:
	free(days);
	return rc;
}

/* What plan_result says, as the Indicators schema. */
static int
indicators_json(
    struct req *r, int ai, const struct plan_result *res, json_t **out)
{
	const struct conf *c = r->conf;
	const struct limits_opts *l = &c->limits;
	const struct conf_area *a = ai >= 0 ? &c->areas[ai] : NULL;
	json_t *o = json_object(), *g, *pm, *o3, *ex, *e;
	char d0[16], d1[16];
	int64_t lim = 0, tgt = 0;
	bool ok = o != NULL, has_lim;
	double ratio = 0;

	ok = ok &&
	    !json_object_set_new(
		o, "area", a ? api_jtext(a->id) : json_null()) &&
	    !json_object_set_new(
		o, "name", a ? api_jtext(a->name) : json_null()) &&
	    !json_object_set_new(
		o, "name_en", a ? api_jtext(a->name_en) : json_null()) &&
	    !json_object_set_new(o, "cells",
		json_integer(
		    a ? (json_int_t)a->ncells : (json_int_t)c->ncells)) &&
	    !json_object_set_new(o, "from",
		json_string(api_date_text(res->from, d0, sizeof(d0)))) &&
	    !json_object_set_new(
		o, "to", json_string(api_date_text(res->to, d1, sizeof(d1)))) &&
	    !json_object_set_new(o, "days", json_integer(res->days)) &&
	    !json_object_set_new(
		o, "data_days", json_integer(res->data_days)) &&
	    !json_object_set_new(o, "aqi_standard",
		json_string(aqi_std_name((enum aqi_std)c->aqi_std))) &&
	    !json_object_set_new(
		o, "limits", json_string(limits_ed_name(l->ed))) &&
	    !json_object_set_new(o, "grade", json_integer(l->grade));
	/* Good days: ratio in percent, the target met at ratio >= target. */
	if (res->valid_days > 0)
		ratio = 100.0 * res->good_days / res->valid_days;
	ok = ok && (g = api_child(o, "good_days")) != NULL &&
	    !json_object_set_new(g, "good", json_integer(res->good_days)) &&
	    !json_object_set_new(g, "valid", json_integer(res->valid_days)) &&
	    !json_object_set_new(g, "ratio",
		res->valid_days > 0 ? json_real(ratio) : json_null()) &&
	    !json_object_set_new(g, "target", json_real(c->plan_good_days)) &&
	    !json_object_set_new(g, "meets_target",
		res->valid_days > 0
		    ? json_boolean((double)res->good_days * 100.0 >=
			  c->plan_good_days * res->valid_days)
		    : json_null());
	/* PM2.5 mean against its target and the annual limit. */
	has_lim = limits_get(l, res->to, IND_PM25_ANNUAL, &lim);
	if (fix_from_double(c->plan_pm25, &tgt) != AQ_OK)
		tgt = 0;
	ok = ok && (pm = api_child(o, "pm25")) != NULL &&
	    !json_object_set_new(
		pm, "value", api_jfix(res->pm25_known, res->pm25_mean)) &&
	    !json_object_set_new(
		pm, "validity", plan_valid_json(&res->pm25_valid)) &&
	    !json_object_set_new(pm, "target", json_real(c->plan_pm25)) &&
	    !json_object_set_new(pm, "meets_target",
		res->pm25_known ? json_boolean(res->pm25_mean <= tgt)
				: json_null()) &&
	    !json_object_set_new(pm, "limit", api_jfix(has_lim, lim)) &&
	    !json_object_set_new(pm, "exceeds_limit",
		res->pm25_known && has_lim ? json_boolean(res->pm25_mean > lim)
					   : json_null());
	/* O3: the 90th percentile of MDA8 against the MDA8 limit. */
	has_lim = limits_get(l, res->to, IND_O3_8H, &lim);
	if (fix_from_double(c->plan_o3_p90, &tgt) != AQ_OK)
		tgt = 0;
	ok = ok && (o3 = api_child(o, "o3_8h_p90")) != NULL &&
	    !json_object_set_new(
		o3, "value", api_jfix(res->o3_known, res->o3_p90)) &&
	    !json_object_set_new(
		o3, "validity", plan_valid_json(&res->o3_valid)) &&
	    !json_object_set_new(o3, "target",
		tgt > 0 ? json_real(c->plan_o3_p90) : json_null()) &&
	    !json_object_set_new(o3, "meets_target",
		res->o3_known && tgt > 0 ? json_boolean(res->o3_p90 <= tgt)
					 : json_null()) &&
	    !json_object_set_new(o3, "limit", api_jfix(has_lim, lim)) &&
	    !json_object_set_new(o3, "exceeds_limit",
		res->o3_known && has_lim ? json_boolean(res->o3_p90 > lim)
					 : json_null());
	ok = ok && (ex = api_child(o, "exceedances")) != NULL;
	for (int p = 0; ok && p < POL_COUNT; p++) {
		enum ind i = plan_stat((enum pol)p);

		has_lim = limits_get(l, res->to, i, &lim);
		ok = (e = api_child(ex, pol_name((enum pol)p))) != NULL &&
		    !json_object_set_new(
			e, "indicator", json_string(ind_name(i))) &&
		    !json_object_set_new(
			e, "days", json_integer(res->exceed_days[p])) &&
		    !json_object_set_new(
			e, "valid_days", json_integer(res->stat_days[p])) &&
		    !json_object_set_new(e, "limit", api_jfix(has_lim, lim));
	}
	ok = ok &&
	    !json_object_set_new(
		o, "exceedance_days", json_integer(res->exceed_any));
	if (!ok) {
		json_decref(o);
		return AQ_ERR_NOMEM;
	}
	*out = o;
	return AQ_OK;
}

/* The year to date of the grid, which reads every area's days too. */
void *
api_plan_warm(void *arg)
{
	struct api *a = arg;
	const struct tz *z = state_tz(a->st);
	int32_t to = tz_date_from_days(
	    tz_days_from_date(tz_date(z, (int64_t)time(NULL))) - 1);
	struct plan_day *days = NULL;
	size_t n = 0;

	if (plan_cache_read(a->plan, state_store(a->st), state_conf(a->st), -1,
		to / 10000 * 10000 + 101, to, &days, &n) == AQ_OK)
		free(days);
	return NULL;
}

static json_t *
plan_valid_json(const struct plan_valid *v)
{
	return json_pack("{s:b, s:I, s:I, s:I, s:I}", "valid", v->valid, "days",
	    (json_int_t)v->got, "need", (json_int_t)v->need, "months",
	    (json_int_t)v->months, "months_short", (json_int_t)v->months_short);
}
