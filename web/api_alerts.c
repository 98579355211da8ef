/*
 * api_alerts: alerts, silences, dead-lettered notifications and the
 * Server-Sent Events stream (api_alerts.h).
 */
#include "web/api_alerts.h"

#include <sys/types.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>

#include "alerts/alert.h"
#include "alerts/notify.h"
#include "alerts/rule.h"
#include "alerts/service.h"

/* Alert-log entries per answer by default and at most; delivery
 * attempts shown with an alert. */
#define API_LOG_LIMIT_DEFAULT 100
#define API_LOG_LIMIT_MAX 1000
#define API_ATTEMPTS_MAX 200

/* Event streams: a comment on a quiet stream this often (seconds) and the
 * waker's round (ms); SSE_BATCH (api_internal.h) and SSE_BLOCK (api.c)
 * are the events copied from the ring at once and the bytes MHD asks the
 * reader for at once. */
#define SSE_HEARTBEAT 15
#define SSE_WAKE_MS 250

/* The alerts list's filters. */
struct alert_q {
	const char *state, *area, *cell; /* NULL: any */
	int severity;                    /* -1: any */
};

static json_t *jopt(const char *s);
static json_t *alert_json(struct req *r, const struct alert_info *ai);
static int64_t alert_changed(const struct alert_info *ai);
static int by_newest(const void *x, const void *y);
static bool alert_filter(struct req *r, struct alert_q *q);
static bool alert_match(const struct alert_q *q, const struct alert_info *ai);
static int log_entry(void *ctx, int64_t id, const void *value, size_t len);
static int alert_log(
    struct req *r, const struct alert_q *q, const char *after, uint32_t limit);
static int attempt_one(void *ctx, const struct notify_attempt *at);
static bool body_str(
    struct req *r, json_t *j, const char *key, char *out, size_t max);
static bool body_time(
    struct req *r, json_t *j, const char *key, int64_t dflt, int64_t *out);
static json_t *silence_json(struct req *r, const struct alert_silence *s);
static int silences_list(struct req *r, uint64_t only, json_t **out);
static int dead_one(void *ctx, const struct notify_dead *d);
static int64_t mono(void);
static void sse_put(struct sse *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sse_fill(struct sse *e);

bool
api_alerts_on(struct req *r)
{
	if (r->a->svc != NULL)
		return true;
	(void)api_fail(r, MHD_HTTP_SERVICE_UNAVAILABLE, "alerts are off");
	return false;
}

/* Text of an id, or null for "". */
static json_t *
jopt(const char *s)
{
	return s[0] != '\0' ? api_jtext(s) : json_null();
}

static json_t *
alert_json(struct req *r, const struct alert_info *ai)
{
	json_t *o, *ack = json_null();

	if (ai->acked)
		ack = json_pack("{s:o,s:o,s:o}", "by", api_jtext(ai->ack_who),
		    "at", api_jwhen(r, ai->ack_at), "comment",
		    api_jtext(ai->ack_comment));
	o = json_pack("{s:s,s:o,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:I,s:o,s:o,s:o,"
		      "s:o,s:o,s:o,s:b,s:b,s:o,s:b,s:b}",
	    "fingerprint", ai->fingerprint, "rule", api_jtext(ai->rule),
	    "state", alert_state_name(ai->state), "severity",
	    rule_severity_name(ai->severity), "scope",
	    rule_scope_name(ai->scope), "object", api_jtext(ai->object), "cell",
	    jopt(ai->cell), "sensor", jopt(ai->sensor), "area", jopt(ai->area),
	    "alert_id", (json_int_t)ai->alert_id, "value",
	    ai->has_value ? json_real(ai->value) : json_null(), "event_time",
	    api_jwhen(r, ai->event_time), "pending_since",
	    api_jwhen(r, ai->pending_since), "starts_at",
	    api_jwhen(r, ai->starts_at), "ends_at", api_jwhen(r, ai->ends_at),
	    "last_notified", api_jwhen(r, ai->last_notified), "announced",
	    ai->announced, "acked", ai->acked, "ack", ack, "silenced",
	    ai->silenced, "inhibited", ai->inhibited);
	return o;
}

/* When the alert last changed state, for "newest first". */
static int64_t
alert_changed(const struct alert_info *ai)
{
	switch (ai->state) {
	case ALERT_RESOLVED:
		return ai->ends_at;
	case ALERT_FIRING:
		return ai->starts_at;
	case ALERT_PENDING:
		return ai->pending_since;
	default:
		return ai->event_time;
	}
}

static int
by_newest(const void *x, const void *y)
{
	const struct alert_info *a = *(const struct alert_info *const *)x;
	const struct alert_info *b = *(const struct alert_info *const *)y;
	int64_t ta = alert_changed(a), tb = alert_changed(b);

	if (ta != tb)
		return ta > tb ? -1 : 1;
	return strcmp(a->fingerprint, b->fingerprint);
}

/* The alerts list's filters, checked; false after setting the answer. */
static bool
alert_filter(struct req *r, struct alert_q *q)
{
	const char *s;

	memset(q, 0, sizeof(*q));
	q->severity = -1;
	q->state = api_query_arg(r, "state");
	q->area = api_query_arg(r, "area");
	q->cell = api_query_arg(r, "cell");
	if (q->state != NULL && strcmp(q->state, "pending") != 0 &&
	    strcmp(q->state, "firing") != 0 &&
	    strcmp(q->state, "resolved") != 0 &&
	    strcmp(q->state, "inactive") != 0) {
		(void)api_fail(r, MHD_HTTP_BAD_REQUEST,
		    "state: expected pending, firing, resolved or inactive");
		return false;
	}
	if ((s = api_query_arg(r, "severity")) != NULL &&
	    (q->severity = rule_severity_from_name(s)) < 0) {
		(void)api_fail(r, MHD_HTTP_BAD_REQUEST,
		    "severity: expected info, warning or critical");
		return false;
	}
	if (q->area != NULL && api_find_area(r->conf, q->area) < 0) {
		(void)api_fail(r, MHD_HTTP_NOT_FOUND, "no such area");
		return false;
	}
	if (q->cell != NULL && conf_cell_find(r->conf, q->cell) < 0) {
		(void)api_fail(r, MHD_HTTP_NOT_FOUND, "no such cell");
		return false;
	}
	return true;
}

static bool
alert_match(const struct alert_q *q, const struct alert_info *ai)
{
	if (q->state != NULL
		? strcmp(alert_state_name(ai->state), q->state) != 0
		: ai->state == ALERT_INACTIVE)
		return false;
	if (q->severity >= 0 && (int)ai->severity != q->severity)
		return false;
	if (q->area != NULL && strcmp(ai->area, q->area) != 0)
		return false;
	return q->cell == NULL || strcmp(ai->cell, q->cell) == 0;
}

/*
 * GET /api/v1/alerts: the alerts matching the filters, newest change
 * first; with after, the alert log's entries after that cursor instead.
 */
int
api_alerts(struct req *r)
{
	struct alert_info one, *all = NULL, **hits = NULL;
	const char *s;
	struct alert_q q;
	long long limit = API_LIMIT_MAX;
	uint32_t n, got, k, nhits = 0;
	json_t *list;
	int rc = AQ_ERR_NOMEM;

	if (!api_alerts_on(r) || !alert_filter(r, &q))
		return r->json != NULL ? AQ_OK : AQ_ERR_NOMEM;
	if ((s = api_query_arg(r, "limit")) != NULL &&
	    (api_parse_count(s, API_LIMIT_MAX, &limit) != AQ_OK || limit < 1))
		return api_fail(r, MHD_HTTP_BAD_REQUEST,
		    "limit: expected 1 to %d", API_LIMIT_MAX);
	if ((s = api_query_arg(r, "after")) != NULL)
		return alert_log(r, &q, s,
		    api_query_arg(r, "limit") != NULL ? (uint32_t)limit
						      : API_LOG_LIMIT_DEFAULT);
	n = service_alerts(r->a->svc, &one, 0, r->now);
	if ((all = calloc((size_t)n + 1, sizeof(*all))) == NULL ||
	    (hits = calloc((size_t)n + 1, sizeof(*hits))) == NULL)
		goto out;
	got = service_alerts(r->a->svc, all, n, r->now);
	for (k = 0; k < got && k < n; k++)
		if (alert_match(&q, &all[k]))
			hits[nhits++] = &all[k];
	qsort(hits, nhits, sizeof(*hits), by_newest);
	if (nhits > (uint32_t)limit)
		nhits = (uint32_t)limit;
	r->code = MHD_HTTP_OK;
	if ((r->json = json_object()) == NULL ||
	    json_object_set_new(r->json, "count", json_integer(nhits)) ||
	    (list = api_child_array(r->json, "results")) == NULL)
		goto out;
	for (k = 0; k < nhits; k++)
		if (json_array_append_new(list, alert_json(r, hits[k])))
			goto out;
	rc = AQ_OK;
out:
	free(hits);
	free(all);
	return rc;
}

struct log_ctx {
	struct req *r;
	json_t *list;
	uint32_t want, read;
	int64_t last;
	bool more;
	int rc;
};

/* One alert-log entry: "key=value" lines, '\\' escaping '\\' and '\n'. */
static int
log_entry(void *ctx, int64_t id, const void *value, size_t len)
{
	struct log_ctx *c = ctx;
	const char *p = value, *end = p + len;
	json_t *o;
	char key[32], val[ALERT_COMMENT_MAX * 2];

	if (c->read == c->want) {
		c->more = true;
		return 1;
	}
	c->read++;
	c->last = id;
	if ((o = json_object()) == NULL || json_array_append_new(c->list, o) ||
	    json_object_set_new(o, "id", json_integer(id)))
		goto nomem;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *eq;
		size_t kl, o2 = 0;
		json_t *v;
		long long num;

		if (nl == NULL)
			nl = end;
		eq = memchr(p, '=', (size_t)(nl - p));
		if (eq == NULL || (kl = (size_t)(eq - p)) == 0 ||
		    kl >= sizeof(key)) {
			p = nl + 1;
			continue;
		}
		memcpy(key, p, kl);
		key[kl] = '\0';
		for (p = eq + 1; p < nl && o2 + 1 < sizeof(val); p++) {
			if (*p == '\\' && p + 1 < nl) {
				p++;
				val[o2++] = *p == 'n' ? '\n' : *p;
			} else {
				val[o2++] = *p;
			}
		}
		val[o2] = '\0';
		p = nl + 1;
		if (strcmp(key, "now") == 0 || strcmp(key, "t") == 0) {
			int64_t ts = strtoll(val, NULL, 10);

			v = api_jwhen(c->r, ts);
			snprintf(key, sizeof(key), "%s",
			    key[0] == 'n' ? "time" : "event_time");
		} else if (strcmp(key, "value") == 0) {
			v = json_real(strtod(val, NULL));
		} else if ((strcmp(key, "alert_id") == 0 ||
			       strcmp(key, "silence") == 0) &&
		    api_parse_count(val, LLONG_MAX, &num) == AQ_OK) {
			v = json_integer(num);
		} else {
			v = api_jtext(val);
		}
		if (json_object_set_new(o, key, v))
			goto nomem;
	}
	return 0;
nomem:
	c->rc = AQ_ERR_NOMEM;
	return 1;
}

/* The alert log after a cursor, filtered as the list is: state by the
 * entry's event, the others by its alert. */
static int
alert_log(
    struct req *r, const struct alert_q *q, const char *after, uint32_t limit)
{
	struct store *st = service_store(r->a->svc);
	struct log_ctx c = {r, NULL, limit, 0, 0, false, AQ_OK};
	struct alert_info ai;
	long long from;
	json_t *out = NULL, *e;
	size_t k;
	int rc;

	if (api_parse_count(after, INT64_MAX, &from) != AQ_OK)
		return api_fail(r, MHD_HTTP_BAD_REQUEST,
		    "after: expected a cursor (cursor of an earlier answer, "
		    "or 0)");
	if (limit > API_LOG_LIMIT_MAX)
		return api_fail(r, MHD_HTTP_BAD_REQUEST,
		    "limit: at most %d with after", API_LOG_LIMIT_MAX);
	if (st == NULL)
		return api_fail(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "the alert log needs a store ([store] dir)");
	c.last = (int64_t)from;
	if ((c.list = json_array()) == NULL)
		return AQ_ERR_NOMEM;
	rc = store_log_read(
	    st, "alertlog", (int64_t)from, limit + 1, log_entry, &c);
	if (c.rc != AQ_OK) {
		json_decref(c.list);
		return c.rc;
	}
	if (rc < 0) {
		json_decref(c.list);
		return api_fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "the alert log could not be read");
	}
	/* Filtered after the read: the store is not held meanwhile. */
	if ((out = json_array()) == NULL)
		goto nomem;
	json_array_foreach(c.list, k, e)
	{
		const char *ev = json_string_value(json_object_get(e, "event"));
		const char *fp =
		    json_string_value(json_object_get(e, "fingerprint"));

		if (q->state != NULL &&
		    (ev == NULL || strcmp(ev, q->state) != 0))
			continue;
		if (q->severity >= 0 || q->area != NULL || q->cell != NULL) {
			struct alert_q q2 = *q;

			q2.state = NULL;
			if (fp == NULL ||
			    service_alert(r->a->svc, fp, &ai, r->now) != AQ_OK)
				continue;
			ai.state = ALERT_FIRING; /* any but inactive */
			if (!alert_match(&q2, &ai))
				continue;
		}
		if (json_array_append(out, e))
			goto nomem;
	}
	r->code = MHD_HTTP_OK;
	if ((r->json = json_pack("{s:I,s:I,s:b,s:o}", "count",
		 (json_int_t)json_array_size(out), "cursor", (json_int_t)c.last,
		 "more", c.more, "results", out)) == NULL) {
		out = NULL;
		goto nomem;
	}
	json_decref(c.list);
	return AQ_OK;
nomem:
	json_decref(out);
	json_decref(c.list);
	return AQ_ERR_NOMEM;
}

struct attempt_ctx {
	struct req *r;
	json_t *list;
	int rc;
};

static int
attempt_one(void *ctx, const struct notify_attempt *at)
{
	struct attempt_ctx *c = ctx;
	json_t *o = json_pack("{s:I,s:I,s:o,s:I,s:o,s:o,s:o,s:o,s:o}", "id",
	    (json_int_t)at->id, "notice", (json_int_t)at->notice, "receiver",
	    api_jtext(at->receiver), "attempt", (json_int_t)at->attempt, "time",
	    api_jwhen(c->r, at->time_ms / 1000), "status",
	    at->status != 0 ? json_integer(at->status) : json_null(), "error",
	    api_jtext(at->error), "result", api_jtext(at->result), "next_try",
	    at->next_ms > 0 ? api_jwhen(c->r, at->next_ms / 1000)
			    : json_null());

	if (o == NULL || json_array_append_new(c->list, o)) {
		c->rc = AQ_ERR_NOMEM;
		return 1;
	}
	return 0;
}

/* GET /api/v1/alerts/{fingerprint}: the alert and its delivery attempts. */
int
api_alert(struct req *r)
{
	struct alert_info ai;
	struct attempt_ctx c = {r, NULL, AQ_OK};
	struct store *st;

	if (!api_alerts_on(r))
		return AQ_OK;
	if (service_alert(r->a->svc, r->param, &ai, r->now) != AQ_OK)
		return api_fail(r, MHD_HTTP_NOT_FOUND, "no such alert");
	if ((r->json = alert_json(r, &ai)) == NULL ||
	    (c.list = api_child_array(r->json, "attempts")) == NULL)
		return AQ_ERR_NOMEM;
	st = service_store(r->a->svc);
	if (st != NULL && ai.alert_id != 0 &&
	    notify_attempts(
		st, ai.alert_id, 0, API_ATTEMPTS_MAX, attempt_one, &c) < 0 &&
	    c.rc == AQ_OK)
		return api_fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "the delivery attempts could not be read");
	r->code = MHD_HTTP_OK;
	return c.rc;
}

/* An optional string member of at most max - 1 bytes into out. */
static bool
body_str(struct req *r, json_t *j, const char *key, char *out, size_t max)
{
	json_t *v = json_object_get(j, key);

	out[0] = '\0';
	if (v == NULL || json_is_null(v))
		return true;
	if (!json_is_string(v) || json_string_length(v) >= max) {
		(void)api_fail(r, MHD_HTTP_BAD_REQUEST,
		    "%s: expected a string of at most %zu bytes", key, max - 1);
		return false;
	}
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return true;
}

/* POST /api/v1/alerts/{fingerprint}/ack {"comment": "..."}. */
int
api_ack(struct req *r)
{
	char comment[ALERT_COMMENT_MAX];
	struct alert_info ai;
	json_t *j;
	int rc;

	if (!api_alerts_on(r) || (j = api_body_json(r, "comment")) == NULL)
		return r->json != NULL ? AQ_OK : AQ_ERR_NOMEM;
	if (!body_str(r, j, "comment", comment, sizeof(comment))) {
		json_decref(j);
		return AQ_OK;
	}
	json_decref(j);
	if (service_alert(r->a->svc, r->param, &ai, r->now) != AQ_OK)
		return api_fail(r, MHD_HTTP_NOT_FOUND, "no such alert");
	rc = service_ack(r->a->svc, r->param, r->who, comment, r->now);
	/* AQ_ERR_IO: acknowledged, the store will be written later. */
	if (rc == AQ_ERR_INVAL)
		return api_fail(r, MHD_HTTP_CONFLICT,
		    "the alert is %s: only a pending or firing one can be "
		    "acknowledged",
		    alert_state_name(ai.state));
	if (rc != AQ_OK && rc != AQ_ERR_IO)
		return rc;
	if (service_alert(r->a->svc, r->param, &ai, r->now) != AQ_OK)
		return api_fail(r, MHD_HTTP_NOT_FOUND, "no such alert");
	r->code = MHD_HTTP_OK;
	return (r->json = alert_json(r, &ai)) != NULL ? AQ_OK : AQ_ERR_NOMEM;
}

static json_t *
silence_json(struct req *r, const struct alert_silence *s)
{
	json_t *m = json_array();

	for (uint32_t k = 0; m != NULL && k < s->nm; k++)
		if (json_array_append_new(m,
			json_sprintf("%s%s%s", s->m[k].key,
			    s->m[k].neq ? "!=" : "=", s->m[k].value))) {
			json_decref(m);
			m = NULL;
		}
	if (m == NULL)
		return NULL;
	return json_pack("{s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:s}", "id",
	    (json_int_t)s->id, "matchers", m, "starts_at",
	    api_jwhen(r, s->start), "ends_at", api_jwhen(r, s->end), "author",
	    api_jtext(s->author), "comment", api_jtext(s->comment), "created",
	    api_jwhen(r, s->created), "status",
	    r->now < s->start     ? "pending"
		: r->now < s->end ? "active"
				  : "expired");
}

/* Every silence (expired ones too), newest first. */
static int
silences_list(struct req *r, uint64_t only, json_t **out)
{
	struct alert_silence one, *all = NULL;
	uint32_t n = service_silences(r->a->svc, &one, 0), got;
	json_t *list = json_array(), *o;
	int rc = AQ_ERR_NOMEM;

	if (list == NULL || (all = calloc((size_t)n + 1, sizeof(*all))) == NULL)
		goto out;
	got = service_silences(r->a->svc, all, n);
	for (uint32_t k = got < n ? got : n; k-- > 0;) {
		if (only != 0 && all[k].id != only)
			continue;
		if ((o = silence_json(r, &all[k])) == NULL ||
		    json_array_append_new(list, o))
			goto out;
	}
	*out = list;
	list = NULL;
	rc = AQ_OK;
out:
	json_decref(list);
	free(all);
	return rc;
}

int
api_silences(struct req *r)
{
	json_t *list = NULL;

	if (!api_alerts_on(r))
		return AQ_OK;
	if (silences_list(r, 0, &list) != AQ_OK)
		return AQ_ERR_NOMEM;
	return api_list(r, list);
}

/* A time member: Unix seconds (number or text) or ISO 8601. */
static bool
body_time(struct req *r, json_t *j, const char *key, int64_t dflt, int64_t *out)
{
	json_t *v = json_object_get(j, key);

	if (v == NULL || json_is_null(v)) {
		if (dflt == INT64_MIN) {
			(void)api_fail(
			    r, MHD_HTTP_BAD_REQUEST, "%s: missing", key);
			return false;
		}
		*out = dflt;
		return true;
	}
	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    json_integer_value(v) <= HIST_TIME_MAX) {
		*out = json_integer_value(v);
		return true;
	}
	if (json_is_string(v) &&
	    api_when(r, json_string_value(v), false, false, out) == AQ_OK)
		return true;
	(void)api_fail(r, MHD_HTTP_BAD_REQUEST,
	    "%s: expected Unix seconds or ISO 8601", key);
	return false;
}

/* POST /api/v1/silences. */
int
api_silence_add(struct req *r)
{
	struct alert_silence s;
	char text[RULE_MATCHERS_MAX * NOTICE_ID_MAX * 3], why[160];
	json_t *j, *m, *v, *o;
	size_t k, len = 0;
	uint64_t id = 0;
	int rc = AQ_OK;

	if (!api_alerts_on(r) ||
	    (j = api_body_json(r, "matchers starts_at ends_at comment")) ==
		NULL)
		return r->json != NULL ? AQ_OK : AQ_ERR_NOMEM;
	memset(&s, 0, sizeof(s));
	text[0] = '\0';
	m = json_object_get(j, "matchers");
	if (json_is_string(m)) {
		snprintf(text, sizeof(text), "%s", json_string_value(m));
	} else if (json_is_array(m)) {
		json_array_foreach(m, k, v)
		{
			if (!json_is_string(v) ||
			    len + json_string_length(v) + 2 > sizeof(text))
				break;
			len += (size_t)snprintf(text + len, sizeof(text) - len,
			    "%s%s", len > 0 ? " " : "", json_string_value(v));
		}
		if (k < json_array_size(m))
			text[0] = '\0';
	}
	if (text[0] == '\0') {
		rc = api_fail(r, MHD_HTTP_BAD_REQUEST,
		    "matchers: expected \"KEY=VALUE KEY!=VALUE ...\" or an "
		    "array of them");
		goto out;
	}
	if (rule_parse_matchers(text, s.m, RULE_MATCHERS_MAX, &s.nm, why,
		sizeof(why)) != AQ_OK ||
	    s.nm == 0) {
		rc = api_fail(r, MHD_HTTP_BAD_REQUEST, "matchers: %s",
		    s.nm == 0 && why[0] == '\0' ? "none given" : why);
		goto out;
	}
	if (!body_time(r, j, "starts_at", r->now, &s.start) ||
	    !body_time(r, j, "ends_at", INT64_MIN, &s.end) ||
	    !body_str(r, j, "comment", s.comment, sizeof(s.comment)))
		goto out;
	if (s.end <= s.start || s.end <= r->now) {
		rc = api_fail(r, MHD_HTTP_BAD_REQUEST,
		    "ends_at: must be after starts_at and in the future");
		goto out;
	}
	snprintf(s.author, sizeof(s.author), "%s", r->who);
	rc = service_silence_add(r->a->svc, &s, r->now, &id);
	if (rc == AQ_ERR_INVAL) {
		rc = api_fail(r, MHD_HTTP_BAD_REQUEST, "silence refused");
		goto out;
	}
	if (rc != AQ_OK && rc != AQ_ERR_IO)
		goto out;
	s.id = id;
	s.created = r->now;
	r->code = MHD_HTTP_CREATED;
	rc = (o = silence_json(r, &s)) != NULL ? AQ_OK : AQ_ERR_NOMEM;
	r->json = o;
out:
	json_decref(j);
	return rc;
}

/* DELETE /api/v1/silences/{id}: ends it now; it stays listed, expired. */
int
api_silence_rm(struct req *r)
{
	long long id;
	json_t *list = NULL;
	int rc;

	if (!api_alerts_on(r))
		return AQ_OK;
	if (api_parse_count(r->param, LLONG_MAX, &id) != AQ_OK || id == 0)
		return api_fail(r, MHD_HTTP_NOT_FOUND, "no such silence");
	rc = service_silence_expire(r->a->svc, (uint64_t)id, r->now);
	if (rc == AQ_ERR_INVAL)
		return api_fail(r, MHD_HTTP_NOT_FOUND, "no such silence");
	if (rc != AQ_OK && rc != AQ_ERR_IO)
		return rc;
	if (silences_list(r, (uint64_t)id, &list) != AQ_OK)
		return AQ_ERR_NOMEM;
	r->code = MHD_HTTP_OK;
	r->json = json_incref(json_array_get(list, 0));
	json_decref(list);
	return r->json != NULL ? AQ_OK : AQ_ERR_NOMEM;
}

struct dead_ctx {
	struct req *r;
	json_t *list;
	uint32_t limit;
	int rc;
};

static int
dead_one(void *ctx, const struct notify_dead *d)
{
	struct dead_ctx *c = ctx;
	json_t *o;

	if (json_array_size(c->list) >= c->limit)
		return 1;
	o = json_pack("{s:o,s:I,s:o,s:o,s:o,s:I,s:o,s:o,s:o,s:o}", "key",
	    api_jtext(d->key), "notice", (json_int_t)d->notice, "receiver",
	    api_jtext(d->receiver), "rule", api_jtext(d->rule), "kind",
	    api_jtext(d->kind), "attempts", (json_int_t)d->attempts, "created",
	    api_jwhen(c->r, d->created), "dead_at", api_jwhen(c->r, d->dead_at),
	    "last", api_jtext(d->last), "idempotency_key",
	    api_jtext(d->idempotency_key));
	if (o == NULL || json_array_append_new(c->list, o)) {
		c->rc = AQ_ERR_NOMEM;
		return 1;
	}
	return 0;
}

/* GET /api/v1/notifications?status=dead: the dead letters. */
int
api_notifications(struct req *r)
{
	struct dead_ctx c = {r, NULL, API_LOG_LIMIT_MAX, AQ_OK};
	const char *s = api_query_arg(r, "status");
	struct store *st;
	long long limit;

	if (!api_alerts_on(r))
		return AQ_OK;
	if (s != NULL && strcmp(s, "dead") != 0)
		return api_fail(r, MHD_HTTP_BAD_REQUEST,
		    "status: only dead (delivered notifications are not "
		    "kept)");
	if ((s = api_query_arg(r, "limit")) != NULL) {
		if (api_parse_count(s, API_LOG_LIMIT_MAX, &limit) != AQ_OK ||
		    limit < 1)
			return api_fail(r, MHD_HTTP_BAD_REQUEST,
			    "limit: expected 1 to %d", API_LOG_LIMIT_MAX);
		c.limit = (uint32_t)limit;
	}
	if ((st = service_store(r->a->svc)) == NULL)
		return api_fail(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "dead letters need a store ([store] dir)");
	if ((c.list = json_array()) == NULL)
		return AQ_ERR_NOMEM;
	if (notify_dead_list(st, dead_one, &c) < 0 && c.rc == AQ_OK) {
		json_decref(c.list);
		return api_fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "the dead letters could not be read");
	}
	if (c.rc != AQ_OK) {
		json_decref(c.list);
		return c.rc;
	}
	return api_list(r, c.list);
}

/* ---- Server-Sent Events ---- */

static int64_t
mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec;
}

/*
 * GET /api/v1/events.  The stream starts after Last-Event-ID (header, or
 * ?last_event_id=), else at the newest event.  Over [http] sse_clients
 * open streams: 503.
 */
int
api_events(struct req *r)
{
	struct api *a = r->a;
	const char *s = MHD_lookup_connection_value(
	    r->conn, MHD_HEADER_KIND, "Last-Event-ID");
	long long last = 0;
	struct sse *e;
	bool full;

	if (!api_alerts_on(r))
		return AQ_OK;
	if (s == NULL)
		s = api_query_arg(r, "last_event_id");
	if (s != NULL && api_parse_count(s, INT64_MAX, &last) != AQ_OK)
		return api_fail(r, MHD_HTTP_BAD_REQUEST,
		    "Last-Event-ID: expected an event id");
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return AQ_ERR_NOMEM;
	e->a = a;
	e->conn = r->conn;
	e->cursor = s != NULL ? (uint64_t)last : service_event_last(a->svc);
	e->beat = mono();
	pthread_mutex_lock(&a->sse_mu);
	api_sse_reap(a);
	full = a->nsse >= a->sse_max || atomic_load(&a->stopping);
	if (!full) {
		e->next = a->sse;
		if (a->sse != NULL)
			a->sse->prev = e;
		a->sse = e;
		a->nsse++;
	}
	pthread_mutex_unlock(&a->sse_mu);
	if (full) {
		free(e);
		atomic_fetch_add_explicit(
		    &a->sse_refused, 1, memory_order_relaxed);
		return api_fail(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "too many event streams open (%u)", a->sse_max);
	}
	r->sse = e;
	r->code = MHD_HTTP_OK;
	r->ctype = "text/event-stream; charset=utf-8";
	return AQ_OK;
}

static void
sse_put(struct sse *e, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(e->buf + e->len, sizeof(e->buf) - e->len, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof(e->buf) - e->len)
		e->len += (size_t)n;
}

/*
 * Fills the buffer from the service's ring: a copy under its lock, never
 * a wait.  A stream whose Last-Event-ID is too old gets a reset and goes
 * on from the newest event; one that fell behind while open (a slow
 * reader) gets a reset and ends.
 */
static void
sse_fill(struct sse *e)
{
	struct api *a = e->a;
	int64_t now = mono();
	uint32_t n = 0;
	uint64_t last;

	if (!e->started)
		sse_put(e, ": aqgridd events\nretry: 3000\n\n");
	if (!service_events(a->svc, e->cursor, e->ev, SSE_BATCH, &n)) {
		last = service_event_last(a->svc);
		sse_put(e,
		    "id: %llu\nevent: reset\ndata: {\"reason\":\"%s\","
		    "\"last_event_id\":%llu}\n\n",
		    (unsigned long long)last,
		    e->started ? "too slow: events were dropped before they "
				 "were sent"
			       : "the events after Last-Event-ID were dropped",
		    (unsigned long long)last);
		e->cursor = last;
		if (e->started) {
			e->done = true;
			atomic_fetch_add_explicit(
			    &a->sse_cut, 1, memory_order_relaxed);
		}
		n = 0;
	}
	e->started = true;
	for (uint32_t k = 0; k < n; k++) {
		sse_put(e, "id: %llu\nevent: %s\ndata: %s\n\n",
		    (unsigned long long)e->ev[k].id, e->ev[k].type,
		    e->ev[k].json);
		e->cursor = e->ev[k].id;
	}
	if (e->len == 0 && now - e->beat >= SSE_HEARTBEAT)
		sse_put(e, ": heartbeat\n\n");
	if (e->len > 0)
		e->beat = now;
}

/*
 * MHD's content reader, on a server thread: hands out what the buffer
 * holds; with nothing to send it suspends the connection (returning 0
 * alone would have MHD's polling thread call again at once) until the
 * waker resumes it for news or a heartbeat.
 */
ssize_t
api_sse_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct sse *e = cls;
	struct api *a = e->a;
	size_t n;

	(void)pos;
	for (int k = 0; e->off == e->len && k < 3; k++) {
		e->off = e->len = 0;
		if (e->done || atomic_load(&a->stopping))
			return MHD_CONTENT_READER_END_OF_STREAM;
		sse_fill(e);
		if (e->len > 0)
			break;
		pthread_mutex_lock(&a->sse_mu);
		if (!atomic_load(&a->stopping) &&
		    service_event_last(a->svc) <= e->cursor) {
			e->suspended = true;
			MHD_suspend_connection(e->conn);
			pthread_mutex_unlock(&a->sse_mu);
			return 0;
		}
		pthread_mutex_unlock(&a->sse_mu);
	}
	if (e->off == e->len)
		return 0;
	n = e->len - e->off < max ? e->len - e->off : max;
	memcpy(out, e->buf + e->off, n);
	e->off += n;
	return (ssize_t)n;
}

/* MHD is done with the stream: the waker (or api_stop) frees it.  Takes
 * no lock, as MHD may hold its own here. */
void
api_sse_free(void *cls)
{
	struct sse *e = cls;

	atomic_store(&e->dead, true);
}

/* Frees the streams MHD is done with (sse_mu held). */
void
api_sse_reap(struct api *a)
{
	struct sse *e = a->sse, *next;

	for (; e != NULL; e = next) {
		next = e->next;
		if (!atomic_load(&e->dead))
			continue;
		if (e->prev != NULL)
			e->prev->next = e->next;
		else
			a->sse = e->next;
		if (e->next != NULL)
			e->next->prev = e->prev;
		a->nsse--;
		free(e);
	}
}

/*
 * Takes the suspended streams that have news (or all, when stopping, or
 * those owing a heartbeat) off the list's suspended state into a->wake;
 * the caller resumes them after unlocking.  A suspended connection is
 * never closed by MHD, so the pointers stay good until resumed.
 */
uint32_t
api_sse_due(struct api *a, uint64_t seen, bool all)
{
	int64_t now = mono();
	uint32_t n = 0;

	pthread_mutex_lock(&a->sse_mu);
	api_sse_reap(a);
	for (struct sse *e = a->sse; e != NULL && n < a->nwake; e = e->next)
		if (e->suspended &&
		    (all || e->cursor < seen ||
			now - e->beat >= SSE_HEARTBEAT)) {
			e->suspended = false;
			a->wake[n++] = e->conn;
		}
	pthread_mutex_unlock(&a->sse_mu);
	return n;
}

/* The waker thread: resumes streams when events come, and for
 * heartbeats. */
void *
api_sse_waker(void *arg)
{
	struct api *a = arg;
	uint64_t seen = service_event_last(a->svc);
	uint32_t n;

	while (!atomic_load(&a->stopping)) {
		(void)service_event_wait(a->svc, seen, SSE_WAKE_MS);
		seen = service_event_last(a->svc);
		n = api_sse_due(a, seen, false);
		for (uint32_t k = 0; k < n; k++)
			MHD_resume_connection(a->wake[k]);
	}
	return NULL;
}
