/* service: the alert engine and the notifiers behind one lock (service.h). */
#include "alerts/service.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "daemon/log.h"

#define PENDING_MAX 64      /* notices kept while the outbox refuses */
#define LIVENESS_EVERY 5    /* seconds between sensor liveness passes */
#define EVENT_ALERTS_MAX 20 /* alerts listed in one notice event */
#define LOG_ALERTS_MAX 20   /* alerts of one notice logged one by one */
#define LOG_LIVENESS_MAX 20 /* sensor changes logged one by one a pass */
#define SITE_SAVE_EVERY 60  /* seconds between saves of the sites' hours */

struct service {
	pthread_mutex_t mu;
	pthread_cond_t news; /* an event was added */
	struct state *st;
	struct store *store;
	struct rule_set *rules;
	struct alert_engine *engine;
	struct notify *notify; /* NULL without a store */
	struct site_engine *sites;
	int64_t last_site_save;
	bool started;
	int64_t last_liveness;
	/* Notices the outbox refused (disk full): retried at every tick. */
	struct notice *pending[PENDING_MAX];
	uint32_t npending;
	uint64_t lost;
	/* Per cell: the AQI and level last seen, for cell events. */
	int *aqi, *level;
	/* The event ring. */
	struct service_event *events;
	uint64_t next_event; /* id of the next event; ids start at 1 */
	struct complain complain;
	/* Per sensor: offline at the last liveness pass (for the log). */
	uint8_t *offline;
	uint32_t noffline;
};

static void on_notice(void *ctx, const struct notice *n);
static void push_event(
    struct service *svc, const char *type, json_t *body /* stolen */);
static void retry_pending(struct service *svc);
static bool cell_unknown(
    struct service *svc, const struct cell_view *v, int64_t now);
static void log_liveness(struct service *svc, uint32_t n, int64_t now);
static void flush_sites(struct service *svc, int64_t now);
static bool site_owns(void *ctx, const char *sensor);
static int site_reading(void *ctx, const char *sensor, const struct reading *r,
    double tsp, int64_t now);

int
service_check(const struct conf *c, FILE *errs)
{
	struct rule_set *rs = NULL;
	struct site_def *defs = NULL;
	uint32_t nsites = 0;
	int rc = rule_set_load(c, &rs, errs);
	int rn = notify_new(c, NULL, errs, NULL);
	int rsite = site_load(c, &defs, &nsites, errs);

	rule_set_free(rs);
	free(defs);
	return rc != AQ_OK ? rc : rn != AQ_OK ? rn : rsite;
}

int
service_new(struct state *st, struct store *s, FILE *errs, struct service **out)
{
	const struct conf *c = state_conf(st);
	struct alert_opts o = {.tz = state_tz(st),
	    .fc = state_forecasts(st),
	    .group_wait = c->alert_group_wait,
	    .group_interval = c->alert_group_interval};
	struct service *svc;
	int rc = AQ_ERR_NOMEM;

	if ((svc = calloc(1, sizeof(*svc))) == NULL)
		return rc;
	svc->st = st;
	svc->store = s;
	svc->next_event = 1;
	pthread_mutex_init(&svc->mu, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&svc->news, &ca);
		pthread_condattr_destroy(&ca);
	}
	if ((svc->aqi = malloc(c->ncells * sizeof(*svc->aqi))) == NULL ||
	    (svc->level = calloc(c->ncells, sizeof(*svc->level))) == NULL ||
	    (svc->events = calloc(SERVICE_EVENTS_MAX, sizeof(*svc->events))) ==
		NULL)
		goto fail;
	for (uint32_t k = 0; k < c->ncells; k++)
		svc->aqi[k] = -2; /* not seen yet: the first view is news */
	if ((rc = rule_set_load(c, &svc->rules, errs)) != AQ_OK)
		goto fail;
	if (s != NULL) {
		if ((rc = notify_new(c, s, errs, &svc->notify)) != AQ_OK)
			goto fail;
	} else if ((rc = notify_new(c, NULL, errs, NULL)) != AQ_OK)
		goto fail;
	rc = AQ_ERR_NOMEM;
	if ((svc->engine = alert_engine_new(
		 c, svc->rules, &o, s, on_notice, svc)) == NULL)
		goto fail;
	if ((rc = alert_engine_load(svc->engine, (int64_t)time(NULL))) !=
	    AQ_OK) {
		fprintf(errs, "alerts: cannot read the alert state: %s\n",
		    aq_strerror(rc));
		goto fail;
	}
	rc = AQ_ERR_INVAL;
	if ((svc->sites = site_engine_new(c, state_tz(st), s, errs)) == NULL)
		goto fail;
	if ((rc = site_engine_load(svc->sites)) != AQ_OK) {
		fprintf(errs, "sites: cannot read the sites' state: %s\n",
		    aq_strerror(rc));
		goto fail;
	}
	*out = svc;
	return AQ_OK;
fail:
	service_free(svc);
	return rc;
}

int
service_start(struct service *svc)
{
	int rc = AQ_OK;

	pthread_mutex_lock(&svc->mu);
	if (svc->notify != NULL && !svc->started)
		rc = notify_start(svc->notify);
	svc->started = rc == AQ_OK;
	pthread_mutex_unlock(&svc->mu);
	return rc;
}

void
service_free(struct service *svc)
{
	if (svc == NULL)
		return;
	if (svc->sites != NULL)
		site_engine_save(svc->sites);
	if (svc->notify != NULL)
		notify_stop(svc->notify, 5000);
	notify_free(svc->notify);
	site_engine_free(svc->sites);
	alert_engine_free(svc->engine);
	rule_set_free(svc->rules);
	for (uint32_t k = 0; k < svc->npending; k++)
		free(svc->pending[k]);
	free(svc->events);
	free(svc->offline);
	free(svc->level);
	free(svc->aqi);
	pthread_cond_destroy(&svc->news);
	pthread_mutex_destroy(&svc->mu);
	free(svc);
}

/* The engine's notices (lock held): to the outbox, and to the feed. */
static void
on_notice(void *ctx, const struct notice *n)
{
	static const char *const kinds[] = {"firing", "repeat", "resolved"};
	struct service *svc = ctx;
	json_t *o, *list;
	int rc = AQ_OK;

	if (svc->notify != NULL) {
		/* Earlier refused notices first: the outbox keeps order. */
		retry_pending(svc);
		if (svc->npending > 0 ||
		    (rc = notify_submit(svc->notify, n)) != AQ_OK) {
			struct notice *copy;

			if (svc->npending < PENDING_MAX &&
			    (copy = malloc(sizeof(*copy))) != NULL) {
				memcpy(copy, n, sizeof(*copy));
				svc->pending[svc->npending++] = copy;
			} else {
				svc->lost++;
				log_warnx("alerts: notice %llu of rule %s "
					  "lost: the outbox refused it (%s)",
				    (unsigned long long)n->id, n->rule,
				    aq_strerror(rc));
			}
		}
	}
	/* One line per alert (the first few of a large group). */
	for (uint32_t k = 0; k < n->nalerts && k < LOG_ALERTS_MAX; k++)
		log_info_id(n->alerts[k].cell, n->alerts[k].sensor,
		    "alerts: %s %s (%s): %s", n->rule, kinds[n->kind],
		    rule_severity_name(n->severity), n->alerts[k].summary);
	if (n->nalerts > LOG_ALERTS_MAX)
		log_info("alerts: %s %s: %u more alerts in notice %llu",
		    n->rule, kinds[n->kind], n->nalerts - LOG_ALERTS_MAX,
		    (unsigned long long)n->id);
	o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:I}", "notice", (json_int_t)n->id,
	    "kind", kinds[n->kind], "rule", n->rule, "severity",
	    rule_severity_name(n->severity), "area", n->area, "count",
	    (json_int_t)n->nalerts);
	if (o == NULL)
		return;
	list = json_array();
	for (uint32_t k = 0; k < n->nalerts && k < EVENT_ALERTS_MAX; k++) {
		const struct notice_alert *a = &n->alerts[k];

		json_array_append_new(list,
		    json_pack("{s:s,s:s,s:s,s:o}", "fingerprint",
			a->fingerprint, "cell", a->cell, "sensor", a->sensor,
			"value",
			a->has_value ? json_real(a->value) : json_null()));
	}
	json_object_set_new(o, "alerts", list);
	push_event(svc, "alert", o);
}

/* Appends an event (lock held); body is stolen. */
static void
push_event(struct service *svc, const char *type, json_t *body)
{
	struct service_event *ev =
	    &svc->events[svc->next_event % SERVICE_EVENTS_MAX];
	size_t len;

	if (body == NULL)
		return;
	len = json_dumpb(body, ev->json, sizeof(ev->json) - 1,
	    JSON_COMPACT | JSON_REAL_PRECISION(10));
	json_decref(body);
	if (len == 0 || len >= sizeof(ev->json))
		snprintf(ev->json, sizeof(ev->json), "{\"truncated\":true}");
	else
		ev->json[len] = '\0';
	ev->id = svc->next_event++;
	snprintf(ev->type, sizeof(ev->type), "%s", type);
	pthread_cond_broadcast(&svc->news);
}

static void
retry_pending(struct service *svc)
{
	uint32_t done = 0;

	while (done < svc->npending &&
	    notify_submit(svc->notify, svc->pending[done]) == AQ_OK)
		free(svc->pending[done++]);
	if (done == 0)
		return;
	memmove(svc->pending, svc->pending + done,
	    (svc->npending - done) * sizeof(*svc->pending));
	svc->npending -= done;
}

/* Unknown: every sensor listed for the cell is offline or silent. */
static bool
cell_unknown(struct service *svc, const struct cell_view *v, int64_t now)
{
	uint32_t n =
	    v->nsensors < STATE_VIEW_SENSORS ? v->nsensors : STATE_VIEW_SENSORS;

	for (uint32_t k = 0; k < n; k++)
		if (state_sensor_status(svc->st, v->sensors[k], now) ==
		    SENSOR_OK)
			return false;
	return true;
}

void
service_view(struct service *svc, const struct cell_view *v, int64_t now)
{
	const struct conf *c = state_conf(svc->st);
	bool unknown;
	int aqi, level;
	int rc;

	if (v == NULL) {
		/* The end of a publication: what it raised goes out now (or
		 * after group_wait), not at the next second's tick. */
		pthread_mutex_lock(&svc->mu);
		site_engine_settle(svc->sites, now);
		flush_sites(svc, now);
		(void)alert_engine_tick(svc->engine, now);
		pthread_mutex_unlock(&svc->mu);
		return;
	}
	aqi = v->aqi.aqi;
	level = aqi >= 0 ? v->aqi.level : 0;
	unknown = cell_unknown(svc, v, now);
	pthread_mutex_lock(&svc->mu);
	site_engine_view(svc->sites, v, now);
	if ((rc = alert_engine_cell(svc->engine, v, unknown, now)) != AQ_OK &&
	    log_complain(&svc->complain))
		log_warnx("alerts: cell %s: %s (alert state kept in memory, "
			  "written again later)",
		    c->cells[v->cell].id, aq_strerror(rc));
	if (v->cell < c->ncells &&
	    (svc->aqi[v->cell] != aqi || svc->level[v->cell] != level) &&
	    v->hour != WIN_NO_HOUR) {
		svc->aqi[v->cell] = aqi;
		svc->level[v->cell] = level;
		push_event(svc, "cell",
		    json_pack("{s:s,s:I,s:o,s:o}", "cell", c->cells[v->cell].id,
			"hour", (json_int_t)v->hour_end, "aqi",
			aqi >= 0 ? json_integer(aqi) : json_null(), "level",
			aqi >= 0 ? json_integer(level) : json_null()));
	}
	pthread_mutex_unlock(&svc->mu);
}

/* Logs the sensors that went offline or came back since the last pass
 * (lock held); sensors found since then start as online. */
static void
log_liveness(struct service *svc, uint32_t n, int64_t now)
{
	const struct conf *c = state_conf(svc->st);
	uint32_t logged = 0, more = 0;

	if (n > svc->noffline) {
		uint8_t *grown = realloc(svc->offline, n);

		if (grown == NULL)
			return;
		memset(grown + svc->noffline, 0, n - svc->noffline);
		svc->offline = grown;
		svc->noffline = n;
	}
	for (uint32_t k = 0; k < n; k++) {
		uint8_t off =
		    state_sensor_status(svc->st, k, now) == SENSOR_OFFLINE;
		uint32_t cell = state_sensor_cell(svc->st, k);
		const char *id = state_sensor_id(svc->st, k);

		if (off == svc->offline[k])
			continue;
		svc->offline[k] = off;
		if (logged++ >= LOG_LIVENESS_MAX) {
			more++;
			continue;
		}
		log_info_id(cell < c->ncells ? c->cells[cell].id : NULL, id,
		    "sensors: %s %s", id,
		    off ? "is offline (no reading for longer than expected)"
			: "is reporting again");
	}
	if (more > 0)
		log_info("sensors: %u more sensors changed between offline "
			 "and online",
		    more);
}

void
service_tick(struct service *svc, int64_t now)
{
	uint32_t n = state_nsensors(svc->st);

	pthread_mutex_lock(&svc->mu);
	if (svc->notify != NULL && svc->npending > 0)
		retry_pending(svc);
	site_engine_settle(svc->sites, now);
	flush_sites(svc, now);
	if (now - svc->last_site_save >= SITE_SAVE_EVERY) {
		svc->last_site_save = now;
		site_engine_save(svc->sites);
	}
	if (now - svc->last_liveness >= LIVENESS_EVERY) {
		struct cell_view v;

		svc->last_liveness = now;
		log_liveness(svc, n, now);
		for (uint32_t k = 0; k < n; k++)
			(void)alert_engine_sensor(svc->engine,
			    state_sensor_id(svc->st, k),
			    state_sensor_cell(svc->st, k),
			    state_sensor_status(svc->st, k, now) ==
				SENSOR_OFFLINE,
			    now, now);
		/* Data quality: the sensors flagged faulty (fault.h). */
		for (uint32_t k = 0; k < n; k++)
			(void)alert_engine_sensor_fault(svc->engine,
			    state_sensor_id(svc->st, k),
			    state_sensor_cell(svc->st, k),
			    fault_flags(state_faults(svc->st), k) != 0, now,
			    now);
		/* A silent cell publishes no view: tell the engine it is
		 * unknown, so its offline rules and timers move on. */
		for (uint32_t c = 0; c < state_ncells(svc->st); c++)
			if (state_view(svc->st, c, &v) == AQ_OK &&
			    v.nsensors > 0 && cell_unknown(svc, &v, now))
				(void)alert_engine_cell(
				    svc->engine, &v, true, now);
	}
	(void)alert_engine_tick(svc->engine, now);
	pthread_mutex_unlock(&svc->mu);
}

int
service_ack(struct service *svc, const char *fingerprint, const char *who,
    const char *comment, int64_t now)
{
	int rc;

	pthread_mutex_lock(&svc->mu);
	rc = alert_ack(svc->engine, fingerprint, who, comment, now);
	if (rc == AQ_OK)
		push_event(svc, "ack",
		    json_pack("{s:s,s:s,s:s}", "fingerprint", fingerprint, "by",
			who, "comment", comment != NULL ? comment : ""));
	pthread_mutex_unlock(&svc->mu);
	return rc;
}

int
service_silence_add(struct service *svc, const struct alert_silence *s,
    int64_t now, uint64_t *id)
{
	uint64_t got = 0;
	int rc;

	pthread_mutex_lock(&svc->mu);
	rc = alert_silence_add(svc->engine, s, now, &got);
	if (rc == AQ_OK)
		push_event(svc, "silence",
		    json_pack("{s:I,s:s,s:I,s:I}", "id", (json_int_t)got,
			"state", "added", "starts_at", (json_int_t)s->start,
			"ends_at", (json_int_t)s->end));
	pthread_mutex_unlock(&svc->mu);
	if (id != NULL)
		*id = got;
	return rc;
}

int
service_silence_expire(struct service *svc, uint64_t id, int64_t now)
{
	int rc;

	pthread_mutex_lock(&svc->mu);
	rc = alert_silence_expire(svc->engine, id, now);
	if (rc == AQ_OK)
		push_event(svc, "silence",
		    json_pack(
			"{s:I,s:s}", "id", (json_int_t)id, "state", "expired"));
	pthread_mutex_unlock(&svc->mu);
	return rc;
}

uint32_t
service_silences(struct service *svc, struct alert_silence *out, uint32_t max)
{
	uint32_t n;

	pthread_mutex_lock(&svc->mu);
	n = alert_silences(svc->engine, out, max);
	pthread_mutex_unlock(&svc->mu);
	return n;
}

uint32_t
service_alerts(
    struct service *svc, struct alert_info *out, uint32_t max, int64_t now)
{
	uint32_t n;

	pthread_mutex_lock(&svc->mu);
	n = alert_engine_list(svc->engine, out, max, now);
	pthread_mutex_unlock(&svc->mu);
	return n;
}

int
service_alert(struct service *svc, const char *fingerprint,
    struct alert_info *out, int64_t now)
{
	int rc;

	pthread_mutex_lock(&svc->mu);
	rc = alert_engine_get(svc->engine, fingerprint, out, now);
	pthread_mutex_unlock(&svc->mu);
	return rc;
}

bool
service_events(struct service *svc, uint64_t after, struct service_event *out,
    uint32_t max, uint32_t *n)
{
	uint64_t first, id;
	bool whole;

	pthread_mutex_lock(&svc->mu);
	/* The oldest event still held. */
	first = svc->next_event > SERVICE_EVENTS_MAX
	    ? svc->next_event - SERVICE_EVENTS_MAX
	    : 1;
	whole = after + 1 >= first;
	id = after + 1 < first ? first : after + 1;
	*n = 0;
	for (; id < svc->next_event && *n < max; id++)
		out[(*n)++] = svc->events[id % SERVICE_EVENTS_MAX];
	pthread_mutex_unlock(&svc->mu);
	return whole;
}

uint64_t
service_event_last(struct service *svc)
{
	uint64_t id;

	pthread_mutex_lock(&svc->mu);
	id = svc->next_event - 1;
	pthread_mutex_unlock(&svc->mu);
	return id;
}

bool
service_event_wait(struct service *svc, uint64_t after, int timeout_ms)
{
	struct timespec t;
	bool got;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += timeout_ms / 1000;
	t.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&svc->mu);
	while (svc->next_event - 1 <= after &&
	    pthread_cond_timedwait(&svc->news, &svc->mu, &t) != ETIMEDOUT)
		;
	got = svc->next_event - 1 > after;
	pthread_mutex_unlock(&svc->mu);
	return got;
}

void
service_stats(struct service *svc, struct alert_stats *alerts,
    struct notify_stats *notify)
{
	pthread_mutex_lock(&svc->mu);
	if (alerts != NULL)
		alert_engine_stats(svc->engine, alerts);
	pthread_mutex_unlock(&svc->mu);
	if (notify != NULL) {
		memset(notify, 0, sizeof(*notify));
		if (svc->notify != NULL)
			notify_stats(svc->notify, notify);
	}
}

struct store *
service_store(struct service *svc)
{
	return svc->store;
}

/* ---- Dust sites ---- */

static int
site_notice(void *ctx, const struct notice *n)
{
	on_notice(ctx, n);
	return 0;
}

static uint64_t
site_notice_id(void *ctx)
{
	return alert_engine_notice_id(((struct service *)ctx)->engine);
}

/* The sites' status changes (lock held): an event each, then notices. */
static void
flush_sites(struct service *svc, int64_t now)
{
	uint32_t n = site_engine_pending(svc->sites);

	for (uint32_t k = 0; k < n; k++) {
		const struct site_change *c =
		    site_engine_pending_at(svc->sites, k);

		push_event(svc, "site",
		    json_pack("{s:s,s:s,s:s,s:I}", "site", c->site, "from",
			site_status_name(c->from), "status",
			site_status_name(c->to), "hour", (json_int_t)c->hour));
	}
	site_engine_flush(svc->sites, now, site_notice, site_notice_id, svc);
}

/* Immutable after service_new(): no lock. */
static bool
site_owns(void *ctx, const char *sensor)
{
	return site_engine_sensor(((struct service *)ctx)->sites, sensor) >= 0;
}

static int
site_reading(void *ctx, const char *sensor, const struct reading *r, double tsp,
    int64_t now)
{
	struct service *svc = ctx;
	int64_t site = site_engine_sensor(svc->sites, sensor);
	int rc;

	if (site < 0)
		return AQ_ERR_INVAL;
	pthread_mutex_lock(&svc->mu);
	rc = site_engine_reading(svc->sites, (uint32_t)site, r, tsp, now);
	pthread_mutex_unlock(&svc->mu);
	return rc;
}

void
service_divert(struct service *svc, struct state_divert *d)
{
	memset(d, 0, sizeof(*d));
	if (site_engine_count(svc->sites) == 0)
		return;
	d->owns = site_owns;
	d->reading = site_reading;
	d->ctx = svc;
}

uint32_t
service_site_count(struct service *svc)
{
	return site_engine_count(svc->sites);
}

int64_t
service_site_find(struct service *svc, const char *id)
{
	return site_engine_find(svc->sites, id);
}

int
service_site_info(
    struct service *svc, uint32_t site, int64_t now, struct site_info *out)
{
	int rc;

	pthread_mutex_lock(&svc->mu);
	rc = site_engine_info(svc->sites, site, now, out);
	pthread_mutex_unlock(&svc->mu);
	return rc;
}

uint32_t
service_site_changes(
    struct service *svc, uint32_t site, struct site_change *out, uint32_t max)
{
	uint32_t n;

	pthread_mutex_lock(&svc->mu);
	n = site_engine_changes(svc->sites, site, out, max);
	pthread_mutex_unlock(&svc->mu);
	return n;
}

uint32_t
service_site_hours(struct service *svc, uint32_t site, int64_t *hours,
    struct site_eval *ev, uint32_t max)
{
	uint32_t n;

	pthread_mutex_lock(&svc->mu);
	n = site_engine_hours(svc->sites, site, hours, ev, max);
	pthread_mutex_unlock(&svc->mu);
	return n;
}

uint32_t
service_site_blacklist(
    struct service *svc, int32_t yyyymm, struct site_black *out, uint32_t max)
{
	uint32_t n;

	pthread_mutex_lock(&svc->mu);
	n = site_engine_blacklist(svc->sites, yyyymm, out, max);
	pthread_mutex_unlock(&svc->mu);
	return n;
}

void
service_site_rules(struct service *svc, struct site_rules *out)
{
	*out = *site_engine_rules(svc->sites);
}
