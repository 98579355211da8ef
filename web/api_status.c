/*
 * api_status: /healthz, /readyz, /api/v1/status and /metrics
 * (api_status.h).
 */
#include "web/api_status.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <microhttpd.h>

#include "alerts/alert.h"
#include "alerts/notify.h"
#include "alerts/service.h"
#include "daemon/aqi.h"
#include "daemon/fault.h"
#include "daemon/limits.h"
#include "daemon/reason.h"
#include "daemon/version.h"

#include "web/api_alerts.h"

static int metrics_text(struct req *r, FILE *f);
static void metrics_hj212(struct counters *c, FILE *f);
static void metrics_sse(struct api *a, FILE *f);
static void metrics_alerts(struct api *a, FILE *f);
static void metrics_publish(
    const struct conf *conf, struct counters *c, FILE *f);
static int status_hj212(struct counters *c, json_t *o);
static void metric_head(
    FILE *f, const char *name, const char *type, const char *help);

int
api_healthz(struct req *r)
{
	r->code = MHD_HTTP_OK;
	return (r->json = json_object()) == NULL ||
		json_object_set_new(r->json, "status", json_string("ok"))
	    ? AQ_ERR_NOMEM
	    : AQ_OK;
}

/* Ready: connected to the broker.  Degraded (still 200: live data flows,
 * the history does not): the store cannot write. */
int
api_readyz(struct req *r)
{
	bool up = atomic_load_explicit(&state_counters(r->st)->mqtt_connected,
		      memory_order_relaxed) != 0;
	struct store *s = state_store(r->st);
	struct store_stats ss = {.degraded = false};
	json_t *why;

	if (s != NULL)
		store_stats(s, &ss);
	r->code = up ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
	if ((r->json = json_object()) == NULL ||
	    json_object_set_new(r->json, "ready", json_boolean(up)) ||
	    json_object_set_new(r->json, "status",
		json_string(!up       ? "not ready"
			: ss.degraded ? "degraded"
				      : "ok")) ||
	    json_object_set_new(r->json, "reasons", why = json_array()) ||
	    why == NULL)
		return AQ_ERR_NOMEM;
	if (!up && json_array_append_new(why, json_string("mqtt disconnected")))
		return AQ_ERR_NOMEM;
	if (ss.degraded &&
	    json_array_append_new(
		why, json_sprintf("store cannot write: %s", ss.error)))
		return AQ_ERR_NOMEM;
	/* The old single reason, kept for clients that read it. */
	if (!up &&
	    json_object_set_new(
		r->json, "reason", json_string("mqtt disconnected")))
		return AQ_ERR_NOMEM;
	return AQ_OK;
}

int
api_status(struct req *r)
{
	struct counters *c = state_counters(r->st);
	const struct conf *conf = r->conf;
	int nd = state_ndecoders(r->st);
	int64_t started = state_started(r->st);
	uint64_t acc = 0, rej = 0;
	json_t *o, *j, *by, *d;
	int rc = AQ_ERR_NOMEM;

	r->code = MHD_HTTP_OK;
	for (int k = 0; k < nd; k++) {
		acc += atomic_load_explicit(
		    &c->readings[k][1], memory_order_relaxed);
		rej += atomic_load_explicit(
		    &c->readings[k][0], memory_order_relaxed);
	}
	if ((o = r->json = json_object()) == NULL ||
	    json_object_set_new(o, "version", json_string(AQ_VERSION)) ||
	    json_object_set_new(
		o, "uptime", json_integer(state_uptime(r->st))) ||
	    json_object_set_new(o, "started", api_jtime(r, started)) ||
	    (j = api_child(o, "mqtt")) == NULL ||
	    json_object_set_new(j, "connected",
		json_boolean(atomic_load_explicit(
		    &c->mqtt_connected, memory_order_relaxed))) ||
	    json_object_set_new(j, "connects",
		json_integer((json_int_t)atomic_load_explicit(
		    &c->mqtt_connects, memory_order_relaxed))) ||
	    json_object_set_new(j, "reconnects",
		json_integer((json_int_t)atomic_load_explicit(
		    &c->mqtt_reconnects, memory_order_relaxed))) ||
	    (j = api_child(o, "readings")) == NULL ||
	    json_object_set_new(j, "accepted", json_integer((json_int_t)acc)) ||
	    json_object_set_new(j, "rejected", json_integer((json_int_t)rej)) ||
	    (by = api_child(j, "by_decoder")) == NULL)
		goto out;
	for (int k = 0; k < nd; k++) {
		if ((d = api_child(by, state_decoder_name(r->st, k))) == NULL ||
		    json_object_set_new(d, "messages_accepted",
			json_integer((json_int_t)atomic_load_explicit(
			    &c->messages[k][1], memory_order_relaxed))) ||
		    json_object_set_new(d, "messages_rejected",
			json_integer((json_int_t)atomic_load_explicit(
			    &c->messages[k][0], memory_order_relaxed))) ||
		    json_object_set_new(d, "readings_accepted",
			json_integer((json_int_t)atomic_load_explicit(
			    &c->readings[k][1], memory_order_relaxed))) ||
		    json_object_set_new(d, "readings_rejected",
			json_integer((json_int_t)atomic_load_explicit(
			    &c->readings[k][0], memory_order_relaxed))))
			goto out;
	}
	if ((j = api_child(o, "rejected")) == NULL)
		goto out;
	for (int k = 0; k < REASON_COUNT; k++)
		if (json_object_set_new(j, reason_name((enum reason)k),
			json_integer((json_int_t)atomic_load_explicit(
			    &c->rejected[k], memory_order_relaxed))))
			goto out;
	if (json_object_set_new(
		o, "cells", json_integer(state_ncells(r->st))) ||
	    json_object_set_new(
		o, "sensors", json_integer(state_nsensors(r->st))) ||
	    (j = api_child(o, "standard")) == NULL ||
	    json_object_set_new(j, "aqi",
		api_jstr(aqi_std_name((enum aqi_std)conf->aqi_std))) ||
	    json_object_set_new(
		j, "limits", api_jstr(limits_ed_name(conf->limits.ed))) ||
	    json_object_set_new(j, "grade", json_integer(conf->limits.grade)) ||
	    json_object_set_new(j, "timezone", api_jtext(conf->timezone)) ||
	    (j = api_child(o, "queue")) == NULL ||
	    json_object_set_new(j, "depth",
		json_integer(atomic_load_explicit(
		    &c->queue_depth, memory_order_relaxed))) ||
	    json_object_set_new(j, "capacity",
		json_integer(atomic_load_explicit(
		    &c->queue_capacity, memory_order_relaxed))))
		goto out;
	rc = status_hj212(c, o);
out:
	return rc;
}

/* The "hj212" object of the status, there even when nothing listens. */
static int
status_hj212(struct counters *c, json_t *o)
{
	json_t *h, *j;
	int rc = AQ_ERR_NOMEM;

	if ((h = api_child(o, "hj212")) == NULL ||
	    json_object_set_new(h, "listening",
		json_boolean(atomic_load_explicit(
		    &c->hj212_listening, memory_order_relaxed))) ||
	    json_object_set_new(h, "connections",
		json_integer((json_int_t)atomic_load_explicit(
		    &c->hj212_connections, memory_order_relaxed))) ||
	    json_object_set_new(h, "accepted",
		json_integer((json_int_t)atomic_load_explicit(
		    &c->hj212_accepted, memory_order_relaxed))) ||
	    json_object_set_new(h, "refused",
		json_integer((json_int_t)atomic_load_explicit(
		    &c->hj212_refused, memory_order_relaxed))) ||
	    (j = api_child(h, "disconnects")) == NULL)
		goto out;
	for (int k = 0; k < STATE_HJ212_DISC_COUNT; k++)
		if (json_object_set_new(j,
			state_hj212_disc_name((enum state_hj212_disc)k),
			json_integer((json_int_t)atomic_load_explicit(
			    &c->hj212_disconnects[k], memory_order_relaxed))))
			goto out;
	if ((j = api_child(h, "frames")) == NULL)
		goto out;
	for (int k = 0; k < STATE_HJ212_FRAME_COUNT; k++)
		if (json_object_set_new(j,
			state_hj212_frame_name((enum state_hj212_frame)k),
			json_integer((json_int_t)atomic_load_explicit(
			    &c->hj212_frames[k], memory_order_relaxed))))
			goto out;
	if (json_object_set_new(h, "garbage_bytes",
		json_integer((json_int_t)atomic_load_explicit(
		    &c->hj212_garbage_bytes, memory_order_relaxed))) ||
	    json_object_set_new(h, "acks",
		json_integer((json_int_t)atomic_load_explicit(
		    &c->hj212_acks, memory_order_relaxed))) ||
	    (j = api_child(h, "flagged")) == NULL)
		goto out;
	for (int k = 0; k < 26; k++) {
		uint64_t n = atomic_load_explicit(
		    &c->hj212_flagged[k], memory_order_relaxed);
		char letter[2] = {(char)('A' + k), '\0'};

		if (n != 0 &&
		    json_object_set_new(j, letter, json_integer((json_int_t)n)))
			goto out;
	}
	rc = AQ_OK;
out:
	return rc;
}

int
api_metrics(struct req *r)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int rc = AQ_ERR_NOMEM;

	if ((f = open_memstream(&text, &len)) == NULL)
		goto out;
	rc = metrics_text(r, f);
	if (fclose(f) != 0 && rc == AQ_OK)
		rc = AQ_ERR_NOMEM;
	if (rc != AQ_OK)
		goto out;
	r->code = MHD_HTTP_OK;
	r->body = text;
	r->len = len;
	r->ctype = "text/plain; version=0.0.4; charset=utf-8";
	text = NULL;
out:
	free(text);
	return rc;
}

/* ---- Metrics ---- */

static void
metric_head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A counter without labels: its head and its one sample. */
static void
metric_count(FILE *f, const char *name, const char *help, uint64_t v)
{
	metric_head(f, name, "counter", help);
	fprintf(f, "%s %llu\n", name, (unsigned long long)v);
}

/* A gauge without labels: its head and its one sample. */
static void
metric_gauge(FILE *f, const char *name, const char *help, long long v)
{
	metric_head(f, name, "gauge", help);
	fprintf(f, "%s %lld\n", name, v);
}

/* Label values here are the program's own names: decoders, reasons,
 * route patterns.  None holds a quote, backslash or newline. */
static int
metrics_text(struct req *r, FILE *f)
{
	static const char *const results[2] = {"rejected", "accepted"};
	struct counters *c = state_counters(r->st);
	int nd = state_ndecoders(r->st);
	uint32_t ncells = state_ncells(r->st), levels[7] = {0};
	uint64_t cum = 0, n, ns;
	struct cell_view v;
	const char *const *pat;

	metric_head(
	    f, "aqgrid_build_info", "gauge", "The running version; always 1.");
	fprintf(f, "aqgrid_build_info{version=\"%s\"} 1\n", AQ_VERSION);
	metric_gauge(f, "aqgrid_up", "1 while the daemon serves.", 1);
	metric_gauge(f, "aqgrid_start_time_seconds",
	    "When the daemon started, Unix seconds.", state_started(r->st));
	metric_head(f, "aqgrid_messages_total", "counter",
	    "MQTT messages decoded, by decoder and result.");
	for (int d = 0; d < nd; d++)
		for (int k = 1; k >= 0; k--)
			fprintf(f,
			    "aqgrid_messages_total{decoder=\"%s\","
			    "result=\"%s\"} %llu\n",
			    state_decoder_name(r->st, d), results[k],
			    (unsigned long long)atomic_load_explicit(
				&c->messages[d][k], memory_order_relaxed));
	metric_head(f, "aqgrid_readings_total", "counter",
	    "Readings from decoded messages, by decoder and result.");
	for (int d = 0; d < nd; d++)
		for (int k = 1; k >= 0; k--)
			fprintf(f,
			    "aqgrid_readings_total{decoder=\"%s\","
			    "result=\"%s\"} %llu\n",
			    state_decoder_name(r->st, d), results[k],
			    (unsigned long long)atomic_load_explicit(
				&c->readings[d][k], memory_order_relaxed));
	metric_head(f, "aqgrid_rejections_total", "counter",
	    "Payloads, readings and values refused, by reason.");
	for (int k = 0; k < REASON_COUNT; k++)
		fprintf(f, "aqgrid_rejections_total{reason=\"%s\"} %llu\n",
		    reason_name((enum reason)k),
		    (unsigned long long)atomic_load_explicit(
			&c->rejected[k], memory_order_relaxed));
	metric_gauge(f, "aqgrid_mqtt_connected",
	    "1 while connected to the MQTT broker.",
	    atomic_load_explicit(&c->mqtt_connected, memory_order_relaxed) !=
		0);
	metric_count(f, "aqgrid_mqtt_connects_total",
	    "Successful connections to the MQTT broker.",
	    atomic_load_explicit(&c->mqtt_connects, memory_order_relaxed));
	metric_count(f, "aqgrid_mqtt_reconnects_total",
	    "Connections after a lost one.",
	    atomic_load_explicit(&c->mqtt_reconnects, memory_order_relaxed));
	metric_gauge(f, "aqgrid_queue_depth",
	    "Messages waiting between MQTT and the engine.",
	    atomic_load_explicit(&c->queue_depth, memory_order_relaxed));
	metric_gauge(f, "aqgrid_queue_capacity",
	    "Messages the ingest queue holds.",
	    atomic_load_explicit(&c->queue_capacity, memory_order_relaxed));
	if (state_store(r->st) != NULL) {
		struct store_stats ss;

		store_stats(state_store(r->st), &ss);
		metric_gauge(f, "aqgrid_store_degraded",
		    "1 while the history database cannot write.",
		    ss.degraded ? 1 : 0);
		metric_count(f, "aqgrid_store_rows_committed_total",
		    "Hourly and daily rows written to the database.",
		    ss.committed);
		metric_count(f, "aqgrid_store_rows_dropped_total",
		    "Rows lost: the store's queue was full.", ss.dropped);
		metric_count(f, "aqgrid_store_commit_failures_total",
		    "Database commits that failed (disk full, I/O errors).",
		    ss.failed);
		metric_gauge(f, "aqgrid_store_queue_rows",
		    "Rows waiting for the database writer.", ss.queued);
	}
	for (uint32_t k = 0; k < ncells; k++)
		if (state_view(r->st, k, &v) == AQ_OK)
			levels[v.aqi.aqi >= 0 ? v.aqi.level : 0]++;
	metric_head(f, "aqgrid_cells", "gauge",
	    "Cells by AQI level of their latest complete hour.");
	for (int l = 1; l <= 6; l++)
		fprintf(f, "aqgrid_cells{level=\"%d\"} %u\n", l, levels[l]);
	fprintf(f, "aqgrid_cells{level=\"unknown\"} %u\n", levels[0]);
	metric_gauge(
	    f, "aqgrid_sensors", "Sensors known.", state_nsensors(r->st));
	{
		uint32_t faulty[FAULT_KIND_COUNT] = {0};
		const struct fault *fd = state_faults(r->st);

		for (uint32_t k = 0; k < state_nsensors(r->st); k++) {
			uint32_t fl = fault_flags(fd, k);

			for (int i = 0; i < FAULT_KIND_COUNT; i++)
				if (fl & FAULT_BIT(i))
					faulty[i]++;
		}
		metric_head(f, "aqgrid_sensors_faulty", "gauge",
		    "Sensors flagged faulty now, by kind of fault.");
		for (int i = 0; i < FAULT_KIND_COUNT; i++)
			fprintf(f, "aqgrid_sensors_faulty{kind=\"%s\"} %u\n",
			    fault_kind_name((enum fault_kind)i), faulty[i]);
		metric_head(f, "aqgrid_sensor_faults_total", "counter",
		    "Fault flags raised on sensors, by kind.");
		for (int i = 0; i < FAULT_KIND_COUNT; i++)
			fprintf(f,
			    "aqgrid_sensor_faults_total{kind=\"%s\"} %llu\n",
			    fault_kind_name((enum fault_kind)i),
			    (unsigned long long)fault_detections(
				fd, (enum fault_kind)i));
	}
	metric_head(f, "aqgrid_http_requests_total", "counter",
	    "HTTP requests answered, by route pattern and status code.");
	/* The patterns' array ends with R_OTHER's label. */
	(void)api_routes(&pat);
	for (int k = 0; k <= R_COUNT; k++) {
		for (size_t i = 0; i <= API_NCODES; i++) {
			char code[16] = "other";

			n = atomic_load_explicit(
			    &r->a->requests[k][i], memory_order_relaxed);
			if (n == 0)
				continue;
			if (i < API_NCODES)
				snprintf(code, sizeof(code), "%u",
				    api_http_codes[i]);
			fprintf(f,
			    "aqgrid_http_requests_total{route=\"%s\","
			    "code=\"%s\"} %llu\n",
			    pat[k], code, (unsigned long long)n);
		}
	}
	metric_head(f, "aqgrid_ingest_latency_seconds", "histogram",
	    "Time from a message's arrival to its engine update.");
	/* Buckets before the count: a reading counted between the two reads
	 * then raises only +Inf, and the buckets stay cumulative. */
	for (int b = 0; b < STATE_LATENCY_BUCKETS; b++) {
		cum += atomic_load_explicit(
		    &c->latency_bucket[b], memory_order_relaxed);
		fprintf(f,
		    "aqgrid_ingest_latency_seconds_bucket{le=\"%g\"} "
		    "%llu\n",
		    state_latency_bounds[b], (unsigned long long)cum);
	}
	ns = atomic_load_explicit(&c->latency_sum_ns, memory_order_relaxed);
	n = atomic_load_explicit(&c->latency_count, memory_order_relaxed);
	if (n < cum)
		n = cum;
	fprintf(f, "aqgrid_ingest_latency_seconds_bucket{le=\"+Inf\"} %llu\n",
	    (unsigned long long)n);
	fprintf(f, "aqgrid_ingest_latency_seconds_sum %llu.%09llu\n",
	    (unsigned long long)(ns / 1000000000u),
	    (unsigned long long)(ns % 1000000000u));
	fprintf(f, "aqgrid_ingest_latency_seconds_count %llu\n",
	    (unsigned long long)n);
	metric_count(f, "aqgrid_view_publishes_total",
	    "Cell views recomputed and published.",
	    atomic_load_explicit(&c->publishes, memory_order_relaxed));
	metrics_hj212(c, f);
	metrics_sse(r->a, f);
	metrics_publish(r->conf, c, f);
	metrics_alerts(r->a, f);
	return ferror(f) ? AQ_ERR_NOMEM : AQ_OK;
}

/* The alert engine and the notifiers (zero when alerts are off). */
static void
metrics_alerts(struct api *a, FILE *f)
{
	struct alert_stats as;
	struct notify_stats *ns = calloc(1, sizeof(*ns));

	memset(&as, 0, sizeof(as));
	if (ns == NULL)
		return;
	if (a->svc != NULL)
		service_stats(a->svc, &as, ns);
	metric_head(f, "aqgrid_alerts", "gauge",
	    "Open alerts by state (pending: waiting for their for time).");
	fprintf(f, "aqgrid_alerts{state=\"firing\"} %u\n", as.firing);
	fprintf(f, "aqgrid_alerts{state=\"pending\"} %u\n", as.pending);
	metric_count(f, "aqgrid_alert_notices_total",
	    "Notices the alert engine made (firing, repeat, resolved).",
	    as.notices);
	metric_count(f, "aqgrid_alert_store_failures_total",
	    "Alert state writes the store refused.", as.store_failures);
	metric_head(f, "aqgrid_notifications_total", "counter",
	    "Notifications by receiver and result (sent: accepted by the "
	    "receiver; failed: attempts that failed; dead: dead-lettered).");
	for (uint32_t k = 0; k < ns->nreceivers; k++) {
		const struct notify_rstats *rs = &ns->r[k];

		fprintf(f,
		    "aqgrid_notifications_total{receiver=\"%s\",result="
		    "\"sent\"} "
		    "%llu\n",
		    rs->id, (unsigned long long)rs->sent);
		fprintf(f,
		    "aqgrid_notifications_total{receiver=\"%s\","
		    "result=\"failed\"} %llu\n",
		    rs->id, (unsigned long long)rs->failed);
		fprintf(f,
		    "aqgrid_notifications_total{receiver=\"%s\",result="
		    "\"dead\"} "
		    "%llu\n",
		    rs->id, (unsigned long long)rs->dead);
	}
	metric_head(f, "aqgrid_notifications_queued", "gauge",
	    "Notifications in the outbox (in flight included), by receiver.");
	for (uint32_t k = 0; k < ns->nreceivers; k++)
		fprintf(f,
		    "aqgrid_notifications_queued{receiver=\"%s\"} %llu\n",
		    ns->r[k].id, (unsigned long long)ns->r[k].queued);
	metric_count(f, "aqgrid_notices_refused_total",
	    "Notices the outbox refused (full, or a store error).",
	    ns->refused);
	free(ns);
}

/* Publishing back to MQTT ([publish]; all zero while it is off). */
static void
metrics_publish(const struct conf *conf, struct counters *c, FILE *f)
{
	static const char *const kinds[] = {"cell", "area", "alert"};

	metric_gauge(f, "aqgrid_publish_enabled",
	    "1 when [publish] enabled is on.", conf->pub_enabled ? 1 : 0);
	metric_gauge(f, "aqgrid_publish_connected",
	    "1 while the publishing client is connected to the broker.",
	    atomic_load_explicit(&c->pub_connected, memory_order_relaxed));
	metric_head(f, "aqgrid_publish_messages_total", "counter",
	    "Messages published back to MQTT, by kind (discovery: Home "
	    "Assistant documents and the status).");
	for (int k = 0; k < 3; k++)
		fprintf(f, "aqgrid_publish_messages_total{kind=\"%s\"} %llu\n",
		    kinds[k],
		    (unsigned long long)atomic_load_explicit(
			&c->pub_messages[k], memory_order_relaxed));
	fprintf(f, "aqgrid_publish_messages_total{kind=\"discovery\"} %llu\n",
	    (unsigned long long)atomic_load_explicit(
		&c->pub_discovery, memory_order_relaxed));
	metric_count(f, "aqgrid_publish_dropped_total",
	    "Messages not published: the broker away, or the queue full.",
	    atomic_load_explicit(&c->pub_dropped, memory_order_relaxed));
}

/* The event streams: open now, refused (over sse_clients), cut off
 * (fell behind the event ring). */
static void
metrics_sse(struct api *a, FILE *f)
{
	uint32_t open;

	pthread_mutex_lock(&a->sse_mu);
	api_sse_reap(a);
	open = a->nsse;
	pthread_mutex_unlock(&a->sse_mu);
	metric_gauge(f, "aqgrid_sse_clients",
	    "Event streams (/api/v1/events) open.", open);
	metric_count(f, "aqgrid_sse_refused_total",
	    "Event streams refused: sse_clients were open.",
	    atomic_load_explicit(&a->sse_refused, memory_order_relaxed));
	metric_count(f, "aqgrid_sse_cut_total",
	    "Event streams ended because the client read too slowly.",
	    atomic_load_explicit(&a->sse_cut, memory_order_relaxed));
}

static void
metrics_hj212(struct counters *c, FILE *f)
{
	static const char *const conns[2] = {"accepted", "refused"};
	_Atomic uint64_t *const conn_counts[2] = {
	    &c->hj212_accepted, &c->hj212_refused};

	metric_gauge(f, "aqgrid_hj212_connections",
	    "HJ 212 data logger connections open.",
	    atomic_load_explicit(&c->hj212_connections, memory_order_relaxed));
	metric_head(f, "aqgrid_hj212_connections_total", "counter",
	    "HJ 212 connections accepted, or refused over the limit.");
	for (int k = 0; k < 2; k++)
		fprintf(f,
		    "aqgrid_hj212_connections_total{result=\"%s\"} %llu\n",
		    conns[k],
		    (unsigned long long)atomic_load_explicit(
			conn_counts[k], memory_order_relaxed));
	metric_head(f, "aqgrid_hj212_disconnects_total", "counter",
	    "HJ 212 connections ended: idle, slow frame, error, or closed "
	    "by the logger.");
	for (int k = 0; k < STATE_HJ212_DISC_COUNT; k++)
		fprintf(f,
		    "aqgrid_hj212_disconnects_total{reason=\"%s\"} %llu\n",
		    state_hj212_disc_name((enum state_hj212_disc)k),
		    (unsigned long long)atomic_load_explicit(
			&c->hj212_disconnects[k], memory_order_relaxed));
	metric_head(f, "aqgrid_hj212_frames_total", "counter",
	    "HJ 212 frames, by what became of them at the listener.");
	for (int k = 0; k < STATE_HJ212_FRAME_COUNT; k++)
		fprintf(f, "aqgrid_hj212_frames_total{result=\"%s\"} %llu\n",
		    state_hj212_frame_name((enum state_hj212_frame)k),
		    (unsigned long long)atomic_load_explicit(
			&c->hj212_frames[k], memory_order_relaxed));
	metric_count(f, "aqgrid_hj212_garbage_bytes_total",
	    "Bytes between HJ 212 frames that were not part of one.",
	    atomic_load_explicit(
		&c->hj212_garbage_bytes, memory_order_relaxed));
	metric_count(f, "aqgrid_hj212_acks_total",
	    "HJ 212 data acknowledgements (CN 9014) sent.",
	    atomic_load_explicit(&c->hj212_acks, memory_order_relaxed));
	metric_head(f, "aqgrid_hj212_flagged_total", "counter",
	    "HJ 212 values left out for their flag, by flag letter.");
	for (int k = 0; k < 26; k++) {
		uint64_t n = atomic_load_explicit(
		    &c->hj212_flagged[k], memory_order_relaxed);

		if (n != 0)
			fprintf(f,
			    "aqgrid_hj212_flagged_total{flag=\"%c\"} %llu\n",
			    'A' + k, (unsigned long long)n);
	}
}
