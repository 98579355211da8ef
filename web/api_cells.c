/*
 * api_cells: the cells and areas routes (api_cells.h).
 */
#include "web/api_cells.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <microhttpd.h>

#include "daemon/aqi.h"
#include "daemon/fault.h"
#include "daemon/fix.h"
#include "daemon/limits.h"
#include "daemon/pol.h"
#include "daemon/tz.h"

#define API_LIMIT_DEFAULT 100
#define API_MIN_AQI_MAX 100000

enum cell_status { CELL_OK, CELL_NO_DATA, CELL_OFFLINE };

/* A cell reduced to what lists and aggregates need. */
struct summary {
	uint32_t cell;
	const char *id;
	enum aqi_std std;
	int aqi, level;
	uint32_t primary;
	int64_t hour_end; /* WIN_NO_HOUR: no complete hour */
	enum cell_status status;
	uint32_t faulty; /* listed sensors flagged faulty (fault.h) */
	uint32_t has;    /* IND_BIT()s of v[] */
	int64_t v[IND_AQI_COUNT];
};

static json_t *limits_json(struct req *r, const struct cell_view *v);
static json_t *weather_json(const struct wx_hour *w);
static json_t *sensor_values_json(const double *v, uint32_t has);
static int summarize(struct req *r, uint32_t cell, struct summary *s);
static enum cell_status view_status(struct req *r, const struct cell_view *v);
static void summary_write(
    struct req *r, const struct summary *s, struct buf *b);
static int by_id(const void *x, const void *y);
static int by_aqi(const void *x, const void *y);
static json_t *aqi_json(
    const struct req *r, const struct aqi_result *res, enum aqi_report report);
static json_t *values_json(const struct aqi_input *in);
static json_t *hours_json(const uint8_t *n);
static json_t *day_json(struct req *r, const struct cell_view *v);
static json_t *sensors_json(struct req *r, const struct cell_view *v);
static int area_json(struct req *r, uint32_t area, const struct summary *sums,
    uint32_t *seen, bool ids, json_t **out);

/* The indicators of a cell's concentrations, in the API's order. */
static const enum ind conc_inds[] = {IND_PM25_1H, IND_PM25_24H, IND_PM10_1H,
    IND_PM10_24H, IND_SO2_1H, IND_SO2_24H, IND_NO2_1H, IND_NO2_24H, IND_CO_1H,
    IND_CO_8H, IND_CO_24H, IND_O3_1H, IND_O3_8H};
#define NCONC (sizeof(conc_inds) / sizeof(conc_inds[0]))

/* The values a cell summary carries. */
static const enum ind summary_inds[] = {
    IND_PM25_1H, IND_PM10_1H, IND_O3_1H, IND_O3_8H, IND_PM25_24H};

/* The hourly values an area averages. */
static const enum ind mean_inds[] = {
    IND_PM25_1H, IND_O3_1H, IND_PM10_1H, IND_NO2_1H, IND_SO2_1H, IND_CO_1H};

static const char *const cell_status_names[] = {
    [CELL_OK] = "ok",
    [CELL_NO_DATA] = "no_data",
    [CELL_OFFLINE] = "offline",
};

static enum cell_status
view_status(struct req *r, const struct cell_view *v)
{
	uint32_t n =
	    v->nsensors < STATE_VIEW_SENSORS ? v->nsensors : STATE_VIEW_SENSORS;
	enum cell_status s = CELL_NO_DATA;

	/* Sensors are listed newest first: when the listed ones are all
	 * offline, so are any past the list. */
	if (v->hour != WIN_NO_HOUR) {
		s = n > 0 ? CELL_OFFLINE : CELL_OK;
		for (uint32_t k = 0; k < n && s == CELL_OFFLINE; k++)
			if (state_sensor_status(r->st, v->sensors[k], r->now) !=
			    SENSOR_OFFLINE)
				s = CELL_OK;
	}
	return s;
}

static int
summarize(struct req *r, uint32_t cell, struct summary *s)
{
	struct cell_view v;
	int rc;

	if ((rc = state_view(r->st, cell, &v)) != AQ_OK)
		goto out;
	memset(s, 0, sizeof(*s));
	s->cell = cell;
	s->id = r->conf->cells[cell].id;
	s->std = v.aqi.std;
	s->aqi = v.aqi.aqi;
	s->level = v.aqi.aqi >= 0 ? v.aqi.level : 0;
	s->primary = v.aqi.aqi >= 0 ? v.aqi.primary : 0;
	s->hour_end = v.hour == WIN_NO_HOUR ? WIN_NO_HOUR : v.hour_end;
	s->status = view_status(r, &v);
	for (uint32_t k = 0; k < v.nsensors && k < STATE_VIEW_SENSORS; k++)
		if (fault_flags(state_faults(r->st), v.sensors[k]) != 0)
			s->faulty++;
	if (v.hour != WIN_NO_HOUR) {
		s->has = v.stats.in.has & (IND_BIT(IND_AQI_COUNT) - 1);
		memcpy(s->v, v.stats.in.v, sizeof(s->v));
	}
out:
	return rc;
}

/* Written directly, not through jansson: a list of 10,000 cells would
 * otherwise cost some 200,000 small allocations. */
static void
summary_write(struct req *r, const struct summary *s, struct buf *b)
{
	const struct conf_cell *cc = &r->conf->cells[s->cell];
	char hour[TZ_ISO_MAX];
	bool first = true;

	api_put_text(b, "{\"id\":");
	api_put_str(b, s->id);
	api_put_text(b, ",\"area\":");
	api_put_str(b,
	    cc->area >= 0 && (uint32_t)cc->area < r->conf->nareas
		? r->conf->areas[cc->area].id
		: NULL);
	api_put_text(b, ",\"lat\":");
	api_put_real(b, cc->lat);
	api_put_text(b, ",\"lon\":");
	api_put_real(b, cc->lon);
	api_put_text(b, ",\"row\":");
	api_put_int(b, cc->row >= 0, cc->row);
	api_put_text(b, ",\"col\":");
	api_put_int(b, cc->col >= 0, cc->col);
	api_put_text(b, ",\"hour\":");
	api_put_str(b,
	    s->hour_end == WIN_NO_HOUR
		? NULL
		: api_iso(r, s->hour_end, hour, sizeof(hour)));
	api_put_text(b, ",\"aqi\":");
	api_put_int(b, s->aqi >= 0, s->aqi);
	api_put_text(b, ",\"level\":");
	api_put_int(b, s->level > 0, s->level);
	api_put_text(b, ",\"category\":");
	api_put_str(b, aqi_category(s->std, s->level));
	api_put_text(b, ",\"category_en\":");
	api_put_str(b, aqi_category_en(s->std, s->level));
	api_put_text(b, ",\"color\":");
	api_put_str(b, aqi_color(s->std, s->level));
	api_put_text(b, ",\"primary\":[");
	for (int i = 0; i < IND_COUNT; i++) {
		if ((s->primary & IND_BIT(i)) == 0)
			continue;
		if (!first)
			api_put_text(b, ",");
		api_put_str(b, ind_name((enum ind)i));
		first = false;
	}
	api_put_text(b, "]");
	for (size_t k = 0; k < sizeof(summary_inds) / sizeof(summary_inds[0]);
	     k++) {
		enum ind i = summary_inds[k];

		api_put_text(b, ",\"");
		api_put_text(b, ind_name(i));
		api_put_text(b, "\":");
		if (s->has & IND_BIT(i))
			api_put_real(b, fix_to_double(s->v[i]));
		else
			api_put_text(b, "null");
	}
	api_put_text(b, ",\"status\":");
	api_put_str(b, cell_status_names[s->status]);
	api_put_text(b, ",\"faulty_sensors\":");
	api_put_int(b, true, s->faulty);
	api_put_text(b, "}");
}

static int
by_id(const void *x, const void *y)
{
	const struct summary *a = x, *b = y;

	return strcmp(a->id, b->id);
}

/* Highest AQI first, unknown last, ties by id. */
static int
by_aqi(const void *x, const void *y)
{
	const struct summary *a = x, *b = y;

	if (a->aqi != b->aqi)
		return a->aqi < b->aqi ? 1 : -1;
	return strcmp(a->id, b->id);
}

static json_t *
aqi_json(
    const struct req *r, const struct aqi_result *res, enum aqi_report report)
{
	static const struct aqi_input none;
	struct aqi_result empty;
	json_t *o, *iaqi = NULL, *notes = NULL;
	int level;
	bool bad;

	/* A view without data holds a zeroed result: list the indicators
	 * the configured report reads anyway, all unknown. */
	if (res->used == 0) {
		struct aqi_opts opts = {
		    .std = (enum aqi_std)r->conf->aqi_std, .report = report};

		if (aqi_compute(&opts, &none, &empty) != AQ_OK) {
			memset(&empty, 0, sizeof(empty));
			empty.std = opts.std;
			empty.aqi = -1;
		}
		res = &empty;
	}
	level = res->aqi >= 0 ? res->level : 0;
	if ((o = json_object()) == NULL)
		return NULL;
	bad = json_object_set_new(
		  o, "standard", api_jstr(aqi_std_name(res->std))) ||
	    json_object_set_new(o, "report",
		json_string(report == AQI_DAILY ? "daily" : "hourly")) ||
	    json_object_set_new(
		o, "value", api_jint(res->aqi >= 0, res->aqi)) ||
	    json_object_set_new(o, "level", api_jint(level > 0, level)) ||
	    json_object_set_new(
		o, "category", api_jstr(aqi_category(res->std, level))) ||
	    json_object_set_new(
		o, "category_en", api_jstr(aqi_category_en(res->std, level))) ||
	    json_object_set_new(
		o, "color", api_jstr(aqi_color(res->std, level))) ||
	    json_object_set_new(
		o, "primary", api_jinds(res->aqi >= 0 ? res->primary : 0)) ||
	    (iaqi = api_child(o, "iaqi")) == NULL ||
	    (notes = api_child_array(o, "notes")) == NULL;
	for (int i = 0; i < IND_AQI_COUNT && !bad; i++)
		if (res->used & IND_BIT(i))
			bad =
			    json_object_set_new(iaqi, ind_name((enum ind)i),
				api_jint(res->iaqi[i] >= 0, res->iaqi[i])) != 0;
	for (int b = 0; b < AQI_NOTE_COUNT_ && !bad; b++)
		if (res->notes & (UINT32_C(1) << b))
			bad =
			    json_array_append_new(notes,
				api_jstr(aqi_note_text(UINT32_C(1) << b))) != 0;
	if (bad) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

static json_t *
values_json(const struct aqi_input *in)
{
	json_t *o = json_object();

	for (size_t k = 0; k < NCONC && o != NULL; k++) {
		enum ind i = conc_inds[k];

		if (json_object_set_new(o, ind_name(i),
			api_jfix(in->has & IND_BIT(i), in->v[i])) != 0) {
			json_decref(o);
			o = NULL;
		}
	}
	return o;
}

static json_t *
hours_json(const uint8_t *n)
{
	json_t *o = json_object();

	for (size_t k = 0; k < NCONC && o != NULL; k++) {
		enum ind i = conc_inds[k];

		if (json_object_set_new(o, ind_name(i), json_integer(n[i])) !=
		    0) {
			json_decref(o);
			o = NULL;
		}
	}
	return o;
}

static json_t *
day_json(struct req *r, const struct cell_view *v)
{
	json_t *o;

	/* A day without any valid statistic has nothing to show. */
	if (v->day == 0 || v->day_stats.in.has == 0)
		return json_null();
	if ((o = json_object()) == NULL)
		return NULL;
	if (json_object_set_new(o, "date", api_jdate(v->day)) ||
	    json_object_set_new(
		o, "aqi", aqi_json(r, &v->day_aqi, AQI_DAILY)) ||
	    json_object_set_new(
		o, "concentrations", values_json(&v->day_stats.in)) ||
	    json_object_set_new(o, "valid_hours", hours_json(v->day_stats.n)) ||
	    json_object_set_new(o, "exceeds", api_jinds(v->day_exceeds))) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

/* The newest values of a sensor: as sent (raw) or calibrated. */
static json_t *
sensor_values_json(const double *v, uint32_t has)
{
	json_t *o = json_object();

	for (int p = 0; p < POL_COUNT && o != NULL; p++) {
		if (!(has & (1u << p)))
			continue;
		if (json_object_set_new(
			o, pol_name((enum pol)p), json_real(v[p])) != 0) {
			json_decref(o);
			o = NULL;
		}
	}
	return o;
}

/* The faults a sensor is flagged for now, and their pollutants:
 * {"kinds": ["stuck"], "pollutants": ["pm25"]}. */
static json_t *
sensor_faults_json(struct req *r, uint32_t sensor)
{
	const struct fault *fd = state_faults(r->st);
	uint32_t fl = fault_flags(fd, sensor),
		 pols = fault_pollutants(fd, sensor);
	json_t *o = json_object(), *k = json_array(), *p = json_array();

	if (o == NULL || k == NULL || p == NULL ||
	    json_object_set(o, "kinds", k) ||
	    json_object_set(o, "pollutants", p))
		goto fail;
	for (int i = 0; i < FAULT_KIND_COUNT; i++)
		if ((fl & FAULT_BIT(i)) &&
		    json_array_append_new(
			k, json_string(fault_kind_name((enum fault_kind)i))))
			goto fail;
	for (int i = 0; i < POL_COUNT; i++)
		if ((pols & (1u << i)) &&
		    json_array_append_new(
			p, json_string(pol_name((enum pol)i))))
			goto fail;
	json_decref(k);
	json_decref(p);
	return o;
fail:
	json_decref(k);
	json_decref(p);
	json_decref(o);
	return NULL;
}

static json_t *
sensors_json(struct req *r, const struct cell_view *v)
{
	uint32_t n =
	    v->nsensors < STATE_VIEW_SENSORS ? v->nsensors : STATE_VIEW_SENSORS;
	json_t *a = json_array(), *s;

	for (uint32_t k = 0; k < n && a != NULL; k++) {
		uint32_t x = v->sensors[k];
		double raw[POL_COUNT], val[POL_COUNT];
		uint32_t has = state_sensor_values(r->st, x, raw, val);

		if ((s = json_object()) == NULL ||
		    json_array_append_new(a, s) != 0 ||
		    json_object_set_new(
			s, "id", api_jtext(state_sensor_id(r->st, x))) ||
		    json_object_set_new(
			s, "last", api_jtime(r, state_sensor_last(r->st, x))) ||
		    json_object_set_new(s, "status",
			json_string(sensor_status_name(
			    state_sensor_status(r->st, x, r->now)))) ||
		    json_object_set_new(
			s, "faults", sensor_faults_json(r, x)) ||
		    json_object_set_new(
			s, "values", sensor_values_json(val, has)) ||
		    json_object_set_new(
			s, "raw", sensor_values_json(raw, has))) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

/*
 * Aggregates an area over the summaries of its cells (sums is indexed by
 * cell; seen[] stamps cells already counted, since an area may list a cell
 * twice).
 */
static int
area_json(struct req *r, uint32_t area, const struct summary *sums,
    uint32_t *seen, bool ids, json_t **out)
{
	const struct conf_area *ar = &r->conf->areas[area];
	enum { NMEAN = sizeof(mean_inds) / sizeof(mean_inds[0]) };
	int64_t sum[NMEAN] = {0};
	uint32_t nmean[NMEAN] = {0}, levels[7] = {0}, status[3] = {0};
	uint32_t ncells = 0;
	const struct summary *worst = NULL;
	json_t *o = NULL, *j, *cell_ids = NULL;
	char key[2] = "0";
	int rc = AQ_ERR_NOMEM;

	if (ids && (cell_ids = json_array()) == NULL)
		goto out;
	for (uint32_t k = 0; k < ar->ncells; k++) {
		uint32_t c = ar->cells[k];
		const struct summary *s = &sums[c];

		if (seen[c] == area + 1)
			continue;
		seen[c] = area + 1;
		ncells++;
		if (ids &&
		    json_array_append_new(cell_ids, json_string(s->id)) != 0)
			goto out;
		levels[s->aqi >= 0 ? s->level : 0]++;
		status[s->status]++;
		if (s->aqi >= 0 &&
		    (worst == NULL || s->aqi > worst->aqi ||
			(s->aqi == worst->aqi && strcmp(s->id, worst->id) < 0)))
			worst = s;
		for (size_t m = 0; m < NMEAN; m++) {
			if (s->has & IND_BIT(mean_inds[m])) {
				sum[m] += s->v[mean_inds[m]];
				nmean[m]++;
			}
		}
	}
	if ((o = json_object()) == NULL ||
	    json_object_set_new(o, "id", api_jtext(ar->id)) ||
	    json_object_set_new(o, "name", api_jtext(ar->name)) ||
	    json_object_set_new(o, "name_en", api_jtext(ar->name_en)) ||
	    json_object_set_new(o, "cells", json_integer(ncells)))
		goto out;
	if (worst == NULL) {
		if (json_object_set_new(o, "worst", json_null()))
			goto out;
	} else if ((j = api_child(o, "worst")) == NULL ||
	    json_object_set_new(j, "cell", json_string(worst->id)) ||
	    json_object_set_new(j, "aqi", json_integer(worst->aqi)) ||
	    json_object_set_new(j, "level", json_integer(worst->level)) ||
	    json_object_set_new(
		j, "color", api_jstr(aqi_color(worst->std, worst->level)))) {
		goto out;
	}
	if ((j = api_child(o, "mean")) == NULL)
		goto out;
	for (size_t m = 0; m < NMEAN; m++) {
		int64_t mean = 0;

		/* Kept to 0.001 unit, like the cell-hour values averaged. */
		if (nmean[m] > 0 &&
		    fix_muldiv_round(sum[m], 1, nmean[m], &mean) == AQ_OK)
			mean = fix_round_half_even(mean, fix_step(3));
		if (json_object_set_new(j, ind_name(mean_inds[m]),
			api_jfix(nmean[m] > 0, mean)))
			goto out;
	}
	if ((j = api_child(o, "levels")) == NULL)
		goto out;
	for (int l = 1; l <= 6; l++) {
		key[0] = (char)('0' + l);
		if (json_object_set_new(j, key, json_integer(levels[l])))
			goto out;
	}
	if (json_object_set_new(j, "unknown", json_integer(levels[0])) ||
	    (j = api_child(o, "status")) == NULL)
		goto out;
	for (int s = 0; s < 3; s++)
		if (json_object_set_new(
			j, cell_status_names[s], json_integer(status[s])))
			goto out;
	if (ids) {
		/* Stolen even when it fails. */
		j = cell_ids;
		cell_ids = NULL;
		if (json_object_set_new(o, "cell_ids", j) != 0)
			goto out;
	}
	*out = o;
	o = NULL;
	rc = AQ_OK;
out:
	json_decref(cell_ids);
	json_decref(o);
	return rc;
}

int
api_cells(struct req *r)
{
	const struct conf *conf = r->conf;
	const char *area = api_query_arg(r, "area"),
		   *min = api_query_arg(r, "min_aqi");
	const char *sort = api_query_arg(r, "sort"),
		   *limit = api_query_arg(r, "limit");
	const char *cursor = api_query_arg(r, "cursor");
	long long min_aqi = -1, lim = API_LIMIT_DEFAULT, off = 0;
	uint32_t ncells = state_ncells(r->st), ncand, n = 0, end;
	struct summary *sums = NULL;
	uint8_t *seen = NULL;
	struct buf b = {NULL, 0, 0, false};
	char next[24];
	int ai = -1, rc = AQ_ERR_NOMEM;

	if (min != NULL &&
	    api_parse_count(min, API_MIN_AQI_MAX, &min_aqi) != AQ_OK) {
		rc = api_fail(r, MHD_HTTP_BAD_REQUEST,
		    "min_aqi: expected an integer from 0 to %d",
		    API_MIN_AQI_MAX);
		goto out;
	}
	if (limit != NULL &&
	    (api_parse_count(limit, API_LIMIT_MAX, &lim) != AQ_OK ||
		lim == 0)) {
		rc = api_fail(r, MHD_HTTP_BAD_REQUEST,
		    "limit: expected an integer from 1 to %d", API_LIMIT_MAX);
		goto out;
	}
	if (sort != NULL && strcmp(sort, "aqi") != 0 &&
	    strcmp(sort, "id") != 0) {
		rc = api_fail(
		    r, MHD_HTTP_BAD_REQUEST, "sort: expected 'aqi' or 'id'");
		goto out;
	}
	if (cursor != NULL &&
	    api_parse_count(cursor, UINT32_MAX, &off) != AQ_OK) {
		rc = api_fail(r, MHD_HTTP_BAD_REQUEST,
		    "cursor: not a cursor from meta.next");
		goto out;
	}
	if (area != NULL && (ai = api_find_area(conf, area)) < 0) {
		rc = api_fail(r, MHD_HTTP_NOT_FOUND, "area: no such area");
		goto out;
	}
	ncand = ai >= 0 ? conf->areas[ai].ncells : ncells;
	if ((ai >= 0 && (seen = calloc(ncells, 1)) == NULL) ||
	    (sums = calloc(ncand > 0 ? ncand : 1, sizeof(*sums))) == NULL)
		goto out;
	for (uint32_t k = 0; k < ncand; k++) {
		uint32_t c = ai >= 0 ? conf->areas[ai].cells[k] : k;

		if (seen != NULL) {
			if (seen[c])
				continue;
			seen[c] = 1;
		}
		if (summarize(r, c, &sums[n]) != AQ_OK ||
		    (min_aqi >= 0 && sums[n].aqi < min_aqi))
			continue;
		n++;
	}
	qsort(sums, n, sizeof(*sums),
	    sort != NULL && strcmp(sort, "aqi") == 0 ? by_aqi : by_id);
	end = off + lim < n ? (uint32_t)(off + lim) : n;
	snprintf(next, sizeof(next), "%u", end);
	api_put_text(&b, "{\"meta\":{\"count\":");
	api_put_int(&b, true, n);
	api_put_text(&b, ",\"next\":");
	api_put_str(&b, end < n ? next : NULL);
	api_put_text(&b, "},\"results\":[");
	for (uint32_t k = (uint32_t)off; k < end; k++) {
		if (k > off)
			api_put_text(&b, ",");
		summary_write(r, &sums[k], &b);
	}
	api_put_text(&b, "]}");
	if (b.bad)
		goto out;
	r->code = MHD_HTTP_OK;
	r->body = b.p;
	r->len = b.len;
	b.p = NULL;
	rc = AQ_OK;
out:
	free(b.p);
	free(sums);
	free(seen);
	return rc;
}

int
api_cell(struct req *r)
{
	const struct conf *conf = r->conf;
	int64_t c = conf_cell_find(conf, r->param);
	const struct conf_cell *cc;
	const struct conf_area *ar;
	struct cell_view v;
	json_t *o, *u;
	int rc = AQ_ERR_NOMEM;

	if (c < 0 || c >= state_ncells(r->st) ||
	    state_view(r->st, (uint32_t)c, &v) != AQ_OK) {
		rc = api_fail(r, MHD_HTTP_NOT_FOUND, "no such cell");
		goto out;
	}
	cc = &conf->cells[c];
	ar = cc->area >= 0 && (uint32_t)cc->area < conf->nareas
	    ? &conf->areas[cc->area]
	    : NULL;
	r->code = MHD_HTTP_OK;
	if ((o = r->json = json_object()) == NULL ||
	    json_object_set_new(o, "id", api_jtext(cc->id)) ||
	    json_object_set_new(
		o, "area", ar ? api_jtext(ar->id) : json_null()) ||
	    json_object_set_new(
		o, "area_name", ar ? api_jtext(ar->name) : json_null()) ||
	    json_object_set_new(o, "lat", json_real(cc->lat)) ||
	    json_object_set_new(o, "lon", json_real(cc->lon)) ||
	    json_object_set_new(o, "row", api_jint(cc->row >= 0, cc->row)) ||
	    json_object_set_new(o, "col", api_jint(cc->col >= 0, cc->col)) ||
	    json_object_set_new(o, "hour",
		api_jtime(
		    r, v.hour != WIN_NO_HOUR ? v.hour_end : WIN_NO_HOUR)) ||
	    json_object_set_new(o, "newest", api_jtime(r, v.newest)) ||
	    json_object_set_new(o, "status",
		json_string(cell_status_names[view_status(r, &v)])) ||
	    json_object_set_new(o, "aqi", aqi_json(r, &v.aqi, AQI_HOURLY)) ||
	    json_object_set_new(
		o, "concentrations", values_json(&v.stats.in)) ||
	    (u = api_child(o, "units")) == NULL)
		goto out;
	for (size_t k = 0; k < NCONC; k++)
		if (json_object_set_new(u, ind_name(conc_inds[k]),
			json_string(
			    unit_name(pol_unit(ind_pol(conc_inds[k]))))))
			goto out;
	if (json_object_set_new(o, "valid_hours", hours_json(v.stats.n)) ||
	    json_object_set_new(o, "exceeds", api_jinds(v.exceeds)) ||
	    json_object_set_new(o, "day", day_json(r, &v)) ||
	    json_object_set_new(o, "sensors", sensors_json(r, &v)) ||
	    json_object_set_new(o, "sensors_total", json_integer(v.nsensors)) ||
	    json_object_set_new(o, "limits", limits_json(r, &v)) ||
	    json_object_set_new(o, "weather", weather_json(&v.stats.wx)))
		goto out;
	rc = AQ_OK;
out:
	return rc;
}

/* The hour's weather (wx.h); null members where absent. */
static json_t *
weather_json(const struct wx_hour *w)
{
	const struct {
		const char *key;
		double v;
	} f[] = {{"temp", w->temp}, {"rh", w->rh}, {"pres", w->pres},
	    {"rain", w->rain}, {"ws", w->wspd}, {"wd", w->wdir}};
	json_t *o = json_object();

	for (size_t k = 0; o != NULL && k < sizeof(f) / sizeof(f[0]); k++)
		if (json_object_set_new(o, f[k].key,
			isnan(f[k].v) ? json_null() : json_real(f[k].v))) {
			json_decref(o);
			o = NULL;
		}
	return o;
}

/*
 * The GB 3095 limits in force on the date of the cell's hour (today
 * without one), by indicator, for the dashboard's chart; indicators
 * without a limit are left out.
 */
static json_t *
limits_json(struct req *r, const struct cell_view *v)
{
	json_t *o = json_object();
	int32_t date = v->hour != WIN_NO_HOUR ? tz_hour_day(r->tz, v->hour)
					      : tz_date(r->tz, r->now);
	int64_t lim;

	for (size_t k = 0; o != NULL && k < NCONC; k++)
		if (limits_get(&r->conf->limits, date, conc_inds[k], &lim) &&
		    json_object_set_new(
			o, ind_name(conc_inds[k]), api_jfix(true, lim))) {
			json_decref(o);
			o = NULL;
		}
	return o;
}

int
api_areas(struct req *r)
{
	const struct conf *conf = r->conf;
	uint32_t ncells = state_ncells(r->st);
	struct summary *sums = NULL;
	uint32_t *seen = NULL;
	json_t *meta, *res, *a = NULL;
	int rc = AQ_ERR_NOMEM;

	if ((sums = calloc(ncells > 0 ? ncells : 1, sizeof(*sums))) == NULL ||
	    (seen = calloc(ncells > 0 ? ncells : 1, sizeof(*seen))) == NULL)
		goto out;
	for (uint32_t c = 0; c < ncells; c++)
		if ((rc = summarize(r, c, &sums[c])) != AQ_OK)
			goto out;
	rc = AQ_ERR_NOMEM;
	r->code = MHD_HTTP_OK;
	if ((r->json = json_object()) == NULL ||
	    (meta = api_child(r->json, "meta")) == NULL ||
	    json_object_set_new(meta, "count", json_integer(conf->nareas)) ||
	    (res = api_child_array(r->json, "results")) == NULL)
		goto out;
	for (uint32_t k = 0; k < conf->nareas; k++)
		if (area_json(r, k, sums, seen, false, &a) != AQ_OK ||
		    json_array_append_new(res, a) != 0)
			goto out;
	rc = AQ_OK;
out:
	free(seen);
	free(sums);
	return rc;
}

int
api_area(struct req *r)
{
	const struct conf *conf = r->conf;
	uint32_t ncells = state_ncells(r->st);
	struct summary *sums = NULL;
	uint32_t *seen = NULL;
	int ai = api_find_area(conf, r->param), rc = AQ_ERR_NOMEM;

	if (ai < 0) {
		rc = api_fail(r, MHD_HTTP_NOT_FOUND, "no such area");
		goto out;
	}
	if ((sums = calloc(ncells > 0 ? ncells : 1, sizeof(*sums))) == NULL ||
	    (seen = calloc(ncells > 0 ? ncells : 1, sizeof(*seen))) == NULL)
		goto out;
	/* Only the area's cells are summarised; the rest stay zero. */
	for (uint32_t k = 0; k < conf->areas[ai].ncells; k++) {
		uint32_t c = conf->areas[ai].cells[k];

		if ((rc = summarize(r, c, &sums[c])) != AQ_OK)
			goto out;
	}
	r->code = MHD_HTTP_OK;
	rc = area_json(r, (uint32_t)ai, sums, seen, true, &r->json);
out:
	free(seen);
	free(sums);
	return rc;
}
