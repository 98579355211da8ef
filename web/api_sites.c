/*
 * api_sites: the dust sites' routes (api_sites.h).
 */
#include "web/api_sites.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <microhttpd.h>

#include "alerts/service.h"
#include "daemon/tz.h"

#include "web/api_alerts.h"

static json_t *
jnum(bool has, double v)
{
	return has && isfinite(v) ? json_real(round(v * 10) / 10) : json_null();
}

static json_t *
site_json(struct req *r, const struct site_info *si)
{
	const struct site_def *d = si->def;
	const struct conf *c = state_conf(r->a->st);
	const struct site_eval *e = &si->e;
	bool hour = si->last_hour != 0;
	json_t *o =
	    json_pack("{s:o,s:o,s:s,s:o,s:o,s:s,s:f,s:f,s:b,s:s,s:o,s:o,"
		      "s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:i,s:i}",
		"id", api_jtext(d->id), "name", api_jtext(d->name), "kind",
		site_kind_name(d->kind), "company", api_jtext(d->company),
		"contact", api_jtext(d->contact), "cell", c->cells[d->cell].id,
		"lat", d->lat, "lon", d->lon, "active", si->active, "status",
		site_status_name(si->status), "since", api_jwhen(r, si->since),
		"hour", api_jwhen(r, si->last_hour), "last_seen",
		api_jwhen(r, si->last_seen), "pm10_1h",
		jnum(hour && e->has_1h, e->v1h), "background",
		jnum(hour && e->has_bg, e->bg), "excess",
		jnum(hour && e->has_1h && e->has_bg, e->v1h - e->bg),
		"pm10_rolling", jnum(hour && e->has_roll, e->roll),
		"background_rolling", jnum(hour && e->has_bgroll, e->bgroll),
		"pm25_1h", jnum(si->has_pm25, si->pm25_1h), "red_hours",
		(int)si->red_hours, "episodes", (int)si->episodes);

	if (o == NULL)
		return NULL;
	json_object_set_new(
	    o, "pm25_background", jnum(hour && e->has25_bg, e->bg25));
	json_object_set_new(o, "pm25_excess",
	    jnum(hour && e->has25_1h && e->has25_bg, e->v25_1h - e->bg25));
	json_object_set_new(
	    o, "pm25_rolling", jnum(hour && e->has25_roll, e->roll25));
	json_object_set_new(o, "pm25_background_rolling",
	    jnum(hour && e->has25_bgroll, e->bgroll25));
	json_object_set_new(o, "tsp_1h", jnum(si->has_tsp, si->tsp_1h));
	json_object_set_new(
	    o, "tsp_rolling", jnum(hour && e->hastsp_roll, e->tsp_roll));
	return o;
}

int
api_sites(struct req *r)
{
	uint32_t n;
	json_t *list;
	struct site_info si;

	if (!api_alerts_on(r))
		return AQ_OK;
	n = service_site_count(r->a->svc);
	if ((list = json_array()) == NULL)
		return AQ_ERR_NOMEM;
	for (uint32_t k = 0; k < n; k++)
		if (service_site_info(r->a->svc, k, r->now, &si) == AQ_OK &&
		    json_array_append_new(list, site_json(r, &si)) != 0) {
			json_decref(list);
			return AQ_ERR_NOMEM;
		}
	r->code = MHD_HTTP_OK;
	return (r->json = json_pack("{s:I,s:o}", "count", (json_int_t)n,
		    "results", list)) != NULL
	    ? AQ_OK
	    : AQ_ERR_NOMEM;
}

int
api_site(struct req *r)
{
	struct site_change *changes = NULL;
	int64_t hours[SITE_HOURS], site;
	struct site_eval ev[SITE_HOURS];
	struct site_info si;
	json_t *rcv, *sen, *cl, *hl;
	uint32_t n;
	int rc = AQ_ERR_NOMEM;

	if (!api_alerts_on(r))
		return AQ_OK;
	if ((site = service_site_find(r->a->svc, r->param)) < 0 ||
	    service_site_info(r->a->svc, (uint32_t)site, r->now, &si) != AQ_OK)
		return api_fail(r, MHD_HTTP_NOT_FOUND, "no such site");
	if ((changes = calloc(SITE_CHANGES, sizeof(*changes))) == NULL ||
	    (r->json = site_json(r, &si)) == NULL ||
	    (rcv = api_child_array(r->json, "receivers")) == NULL ||
	    (sen = api_child_array(r->json, "sensors")) == NULL ||
	    (cl = api_child_array(r->json, "changes")) == NULL ||
	    (hl = api_child_array(r->json, "hours")) == NULL)
		goto out;
	for (uint32_t k = 0; k < si.def->nreceivers; k++)
		json_array_append_new(rcv, api_jtext(si.def->receivers[k]));
	for (uint32_t k = 0; k < si.def->nsensors; k++)
		json_array_append_new(sen, api_jtext(si.def->sensors[k]));
	json_object_set_new(r->json, "from", api_jdate(si.def->from));
	json_object_set_new(r->json, "to", api_jdate(si.def->to));
	n = service_site_changes(
	    r->a->svc, (uint32_t)site, changes, SITE_CHANGES);
	for (uint32_t k = 0; k < n; k++) {
		const struct site_change *c = &changes[k];
		json_t *ch = json_pack(
		    "{s:I,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,"
		    "s:o}",
		    "id", (json_int_t)c->id, "from", site_status_name(c->from),
		    "status", site_status_name(c->to), "hour",
		    api_jwhen(r, c->hour), "pm10_1h",
		    jnum(c->e.has_1h, c->e.v1h), "background",
		    jnum(c->e.has_bg, c->e.bg), "excess",
		    jnum(c->e.has_1h && c->e.has_bg, c->e.v1h - c->e.bg),
		    "pm10_rolling", jnum(c->e.has_roll, c->e.roll),
		    "background_rolling", jnum(c->e.has_bgroll, c->e.bgroll),
		    "pm25_1h", jnum(c->e.has25_1h, c->e.v25_1h),
		    "pm25_background", jnum(c->e.has25_bg, c->e.bg25),
		    "pm25_rolling", jnum(c->e.has25_roll, c->e.roll25),
		    "pm25_background_rolling",
		    jnum(c->e.has25_bgroll, c->e.bgroll25));

		if (ch != NULL) {
			json_object_set_new(
			    ch, "tsp_1h", jnum(c->e.hastsp_1h, c->e.tsp_1h));
			json_object_set_new(ch, "tsp_rolling",
			    jnum(c->e.hastsp_roll, c->e.tsp_roll));
			json_array_append_new(cl, ch);
		}
	}
	n = service_site_hours(r->a->svc, (uint32_t)site, hours, ev, 48);
	for (uint32_t k = 0; k < n; k++) {
		json_t *ho = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "hour",
		    api_jwhen(r, hours[k]), "pm10_1h",
		    jnum(ev[k].has_1h, ev[k].v1h), "background",
		    jnum(ev[k].has_bg, ev[k].bg), "excess",
		    jnum(ev[k].has_1h && ev[k].has_bg, ev[k].v1h - ev[k].bg),
		    "pm25_1h", jnum(ev[k].has25_1h, ev[k].v25_1h),
		    "pm25_background", jnum(ev[k].has25_bg, ev[k].bg25));

		if (ho != NULL) {
			json_object_set_new(
			    ho, "tsp_1h", jnum(ev[k].hastsp_1h, ev[k].tsp_1h));
			json_array_append_new(hl, ho);
		}
	}
	r->code = MHD_HTTP_OK;
	rc = AQ_OK;
out:
	free(changes);
	return rc;
}

int
api_site_blacklist(struct req *r)
{
	const char *m = api_query_arg(r, "month");
	struct site_black *bl = NULL;
	struct site_rules rules;
	int32_t ym;
	uint32_t n;
	json_t *list;
	char name[16];
	int rc = AQ_ERR_NOMEM;

	if (!api_alerts_on(r))
		return AQ_OK;
	if (m != NULL) {
		int32_t date;
		char buf[16];

		if (strlen(m) != 7 ||
		    snprintf(buf, sizeof(buf), "%s-01", m) >=
			(int)sizeof(buf) ||
		    tz_parse_date(buf, &date) != AQ_OK)
			return api_fail(
			    r, MHD_HTTP_BAD_REQUEST, "month: expected YYYY-MM");
		ym = date / 100;
	} else {
		ym = tz_date(r->tz, r->now) / 100;
	}
	snprintf(
	    name, sizeof(name), "%04d-%02d", (int)(ym / 100), (int)(ym % 100));
	service_site_rules(r->a->svc, &rules);
	if ((bl = calloc(SITE_MAX, sizeof(*bl))) == NULL ||
	    (list = json_array()) == NULL)
		goto out;
	n = service_site_blacklist(r->a->svc, ym, bl, SITE_MAX);
	for (uint32_t k = 0; k < n && k < SITE_MAX; k++)
		json_array_append_new(list,
		    json_pack("{s:o,s:o,s:s,s:o,s:o,s:i,s:i}", "id",
			api_jtext(bl[k].def->id), "name",
			api_jtext(bl[k].def->name), "kind",
			site_kind_name(bl[k].def->kind), "company",
			api_jtext(bl[k].def->company), "contact",
			api_jtext(bl[k].def->contact), "red_hours",
			(int)bl[k].red_hours, "episodes", (int)bl[k].episodes));
	r->code = MHD_HTTP_OK;
	if ((r->json = json_pack("{s:s,s:i,s:i,s:I,s:o}", "month", name,
		 "red_hours_min", rules.bl_hours, "episodes_min",
		 rules.bl_episodes, "count", (json_int_t)json_array_size(list),
		 "results", list)) != NULL)
		rc = AQ_OK;
out:
	free(bl);
	return rc;
}
