/* format: notification bodies (jansson) and signatures (GnuTLS). */
#include "alerts/format.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A growing string for the text formats. */
struct sbuf {
	char *p;
	size_t len, cap;
	int failed;
};

static void sb_add(struct sbuf *b, const char *s, size_t n);
static void sb_printf(struct sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static const char *kind_word(const struct notice *nt, enum format_lang lang);
static const char *sev_word(enum notice_severity s, enum format_lang lang);
static const char *summary_of(
    const struct notice_alert *a, enum format_lang lang);
static char *text_of(const struct notice *nt, enum format_lang lang,
    enum format_type t, size_t budget);
static json_t *labels_json(const struct notice *nt);
static json_t *am_alert(const struct notice *nt, const struct notice_alert *a,
    enum format_lang lang);
static json_t *body_webhook(
    const struct format_ctx *ctx, const struct notice *nt);
static json_t *body_alertmanager(
    const struct format_ctx *ctx, const struct notice *nt);
static json_t *body_pagerduty(
    const struct format_ctx *ctx, const struct notice *nt);
static json_t *body_text(
    const struct format_ctx *ctx, enum format_type t, const struct notice *nt);

static const char *const type_names[FMT_COUNT] = {
    [FMT_WEBHOOK] = "webhook",
    [FMT_ALERTMANAGER] = "alertmanager",
    [FMT_WECOM] = "wecom",
    [FMT_DINGTALK] = "dingtalk",
    [FMT_FEISHU] = "feishu",
    [FMT_SLACK] = "slack",
    [FMT_PAGERDUTY] = "pagerduty",
};

static const char *const sev_en[SEV_COUNT] = {"info", "warning", "critical"};
static const char *const sev_zh[SEV_COUNT] = {"提示", "警告", "严重"};
static const char *const scope_names[] = {"cell", "area", "grid", "sensor"};

int
format_type_parse(const char *name)
{
	for (int t = 0; t < FMT_COUNT; t++)
		if (strcmp(name, type_names[t]) == 0)
			return t;
	return -1;
}

const char *
format_type_name(enum format_type t)
{
	return (unsigned)t < FMT_COUNT ? type_names[t] : "?";
}

int
format_type_robot(enum format_type t)
{
	return t == FMT_WECOM || t == FMT_DINGTALK || t == FMT_FEISHU ||
	    t == FMT_SLACK;
}

void
format_time(int64_t t, char *out, size_t cap)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, cap, "1970-01-01T00:00:00Z");
}

static void
sb_add(struct sbuf *b, const char *s, size_t n)
{
	char *p;
	size_t cap;

	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		cap = b->cap == 0 ? 1024 : b->cap;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->failed = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		b->failed = 1;
	else
		sb_add(b, tmp,
		    (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static const char *
kind_word(const struct notice *nt, enum format_lang lang)
{
	switch (nt->kind) {
	case NOTICE_FIRING:
		return lang == FMT_LANG_ZH ? "告警" : "FIRING";
	case NOTICE_REPEAT:
		return lang == FMT_LANG_ZH ? "持续告警" : "STILL FIRING";
	case NOTICE_RESOLVED:
		return lang == FMT_LANG_ZH ? "已恢复" : "RESOLVED";
	}
	return "?";
}

static const char *
sev_word(enum notice_severity s, enum format_lang lang)
{
	if ((unsigned)s >= SEV_COUNT)
		return "?";
	return lang == FMT_LANG_ZH ? sev_zh[s] : sev_en[s];
}

/* The alert's summary in lang, else in the other language. */
static const char *
summary_of(const struct notice_alert *a, enum format_lang lang)
{
	const char *first = lang == FMT_LANG_ZH ? a->summary_zh : a->summary;
	const char *other = lang == FMT_LANG_ZH ? a->summary : a->summary_zh;

	return first[0] != '\0' ? first : other;
}

/*
 * The human text shared by the robots and Slack: a title line, a line with
 * the area, the condition and the count, then one line per alert while
 * they fit in budget bytes.
 */
static char *
text_of(const struct notice *nt, enum format_lang lang, enum format_type t,
    size_t budget)
{
	struct sbuf b = {0};
	const char *bold = t == FMT_SLACK ? "*" : t == FMT_FEISHU ? "" : "**";
	const char *area = nt->area[0] != '\0' ? nt->area
	    : lang == FMT_LANG_ZH              ? "全网格"
					       : "whole grid";
	char line[NOTICE_TEXT_MAX + 128];
	uint32_t k, n = nt->nalerts;

	if (n > NOTICE_ALERTS_MAX)
		n = NOTICE_ALERTS_MAX;
	if (lang == FMT_LANG_ZH)
		sb_printf(&b, "%s【%s】%s（%s）%s\n", bold, kind_word(nt, lang),
		    nt->rule_name, sev_word(nt->severity, lang), bold);
	else
		sb_printf(&b, "%s[%s] %s (%s)%s\n", bold, kind_word(nt, lang),
		    nt->rule_name, sev_word(nt->severity, lang), bold);
	if (lang == FMT_LANG_ZH)
		sb_printf(&b, "区域：%s · %s %s %g · 共 %" PRIu32 " 条\n", area,
		    nt->indicator, nt->op, nt->threshold, n);
	else
		sb_printf(&b, "Area: %s · %s %s %g · %" PRIu32 " alert%s\n",
		    area, nt->indicator, nt->op, nt->threshold, n,
		    n == 1 ? "" : "s");
	for (k = 0; k < n; k++) {
		snprintf(line, sizeof(line), "- %s\n",
		    summary_of(&nt->alerts[k], lang));
		if (b.len + strlen(line) + 64 > budget)
			break;
		sb_add(&b, line, strlen(line));
	}
	if (k < n) {
		if (lang == FMT_LANG_ZH)
			sb_printf(&b, "……另有 %" PRIu32 " 条\n", n - k);
		else
			sb_printf(&b, "... and %" PRIu32 " more\n", n - k);
	}
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

static json_t *
labels_json(const struct notice *nt)
{
	json_t *o = json_object();
	uint32_t n = nt->nlabels;

	if (o == NULL)
		return NULL;
	if (n > NOTICE_LABELS_MAX)
		n = NOTICE_LABELS_MAX;
	for (uint32_t k = 0; k < n; k++)
		json_object_set_new(
		    o, nt->labels[k].key, json_string(nt->labels[k].value));
	return o;
}

/*
 * The generic webhook (README "Notifications" documents it): version,
 * idempotency_key, the notice and every alert with both summaries.
 */
static json_t *
body_webhook(const struct format_ctx *ctx, const struct notice *nt)
{
	static const char *const kinds[] = {"firing", "repeat", "resolved"};
	json_t *alerts = json_array(), *o = NULL;
	uint32_t n = nt->nalerts;

	if (alerts == NULL)
		return NULL;
	if (n > NOTICE_ALERTS_MAX)
		n = NOTICE_ALERTS_MAX;
	for (uint32_t k = 0; k < n; k++) {
		const struct notice_alert *a = &nt->alerts[k];

		json_array_append_new(alerts,
		    json_pack("{s:I, s:s, s:s?, s:s?, s:s?, s:o, s:I, s:o, "
			      "s:I, s:s, s:s}",
			"id", (json_int_t)a->alert_id, "fingerprint",
			a->fingerprint, "cell", a->cell[0] ? a->cell : NULL,
			"sensor", a->sensor[0] ? a->sensor : NULL, "area",
			a->area[0] ? a->area : NULL, "value",
			a->has_value ? json_real(a->value) : json_null(),
			"starts_at", (json_int_t)a->starts_at, "ends_at",
			a->ends_at ? json_integer(a->ends_at) : json_null(),
			"event_hour", (json_int_t)a->event_hour, "summary",
			a->summary, "summary_zh", a->summary_zh));
	}
	o = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, "
		      "s:f}, s:s, s:s, s:s?, s:o, s:I, s:o}",
	    "version", "1", "idempotency_key", ctx->idem_key, "notice_id",
	    (json_int_t)nt->id, "receiver", ctx->receiver, "kind",
	    (unsigned)nt->kind < 3 ? kinds[nt->kind] : "?", "status",
	    nt->kind == NOTICE_RESOLVED ? "resolved" : "firing", "rule", "id",
	    nt->rule, "name", nt->rule_name, "indicator", nt->indicator, "op",
	    nt->op, "threshold", nt->threshold, "severity",
	    sev_word(nt->severity, FMT_LANG_EN), "scope",
	    (unsigned)nt->scope < 4 ? scope_names[nt->scope] : "?", "area",
	    nt->area[0] ? nt->area : NULL, "labels", labels_json(nt), "created",
	    (json_int_t)nt->created, "alerts", alerts);
	return o;
}

/* One alert of the Alertmanager body: labels, annotations, times. */
static json_t *
am_alert(const struct notice *nt, const struct notice_alert *a,
    enum format_lang lang)
{
	json_t *labels = labels_json(nt), *ann;
	char starts[32], ends[32];

	if (labels == NULL)
		return NULL;
	json_object_set_new(labels, "alertname", json_string(nt->rule));
	json_object_set_new(labels, "severity",
	    json_string(sev_word(nt->severity, FMT_LANG_EN)));
	json_object_set_new(labels, "indicator", json_string(nt->indicator));
	if (a->area[0] != '\0')
		json_object_set_new(labels, "area", json_string(a->area));
	if (a->cell[0] != '\0')
		json_object_set_new(labels, "cell", json_string(a->cell));
	if (a->sensor[0] != '\0')
		json_object_set_new(labels, "sensor", json_string(a->sensor));
	ann = json_pack("{s:s, s:s, s:s}", "summary", summary_of(a, lang),
	    "summary_en", a->summary, "summary_zh", a->summary_zh);
	if (a->has_value && ann != NULL)
		json_object_set_new(ann, "value", json_sprintf("%g", a->value));
	format_time(a->starts_at, starts, sizeof(starts));
	/* Alertmanager's zero time means "not ended". */
	if (a->ends_at != 0 && nt->kind == NOTICE_RESOLVED)
		format_time(a->ends_at, ends, sizeof(ends));
	else
		snprintf(ends, sizeof(ends), "0001-01-01T00:00:00Z");
	return json_pack("{s:s, s:o, s:o, s:s, s:s, s:s, s:s}", "status",
	    nt->kind == NOTICE_RESOLVED ? "resolved" : "firing", "labels",
	    labels, "annotations", ann, "startsAt", starts, "endsAt", ends,
	    "generatorURL", "", "fingerprint", a->fingerprint);
}

/*
 * Prometheus Alertmanager webhook v4 (its documented "webhook_config"
 * payload), so that bridges written for Alertmanager take aqgrid's alerts.
 */
static json_t *
body_alertmanager(const struct format_ctx *ctx, const struct notice *nt)
{
	json_t *alerts = json_array(), *group, *common;
	char key[3 * NOTICE_ID_MAX];
	uint32_t n = nt->nalerts;

	if (alerts == NULL)
		return NULL;
	if (n > NOTICE_ALERTS_MAX)
		n = NOTICE_ALERTS_MAX;
	for (uint32_t k = 0; k < n; k++)
		json_array_append_new(
		    alerts, am_alert(nt, &nt->alerts[k], ctx->lang));
	group = json_pack("{s:s}", "alertname", nt->rule);
	if (group != NULL && nt->area[0] != '\0')
		json_object_set_new(group, "area", json_string(nt->area));
	common = labels_json(nt);
	if (common != NULL) {
		json_object_set_new(common, "alertname", json_string(nt->rule));
		json_object_set_new(common, "severity",
		    json_string(sev_word(nt->severity, FMT_LANG_EN)));
	}
	snprintf(key, sizeof(key), "{}:{alertname=\"%s\", area=\"%s\"}",
	    nt->rule, nt->area);
	return json_pack("{s:s, s:s, s:i, s:s, s:s, s:o, s:o, s:{}, s:s, "
			 "s:o}",
	    "version", "4", "groupKey", key, "truncatedAlerts", 0, "status",
	    nt->kind == NOTICE_RESOLVED ? "resolved" : "firing", "receiver",
	    ctx->receiver, "groupLabels", group, "commonLabels", common,
	    "commonAnnotations", "externalURL", "", "alerts", alerts);
}

/*
 * PagerDuty Events API v2: one event per alert, dedup_key = the alert's
 * fingerprint, so PagerDuty's incident follows aqgrid's alert; resolve
 * needs no payload.
 */
static json_t *
body_pagerduty(const struct format_ctx *ctx, const struct notice *nt)
{
	static const char *const pd_sev[SEV_COUNT] = {
	    "info", "warning", "critical"};
	const struct notice_alert *a;
	char summary[FORMAT_PAGERDUTY_SUMMARY_MAX + 1], ts[32];
	const char *source;

	if (ctx->alert >= nt->nalerts || ctx->alert >= NOTICE_ALERTS_MAX)
		return NULL;
	a = &nt->alerts[ctx->alert];
	if (nt->kind == NOTICE_RESOLVED)
		return json_pack("{s:s, s:s}", "event_action", "resolve",
		    "dedup_key", a->fingerprint);
	snprintf(summary, sizeof(summary), "%s: %s", nt->rule_name,
	    summary_of(a, ctx->lang));
	source = a->sensor[0] ? a->sensor
	    : a->cell[0]      ? a->cell
	    : a->area[0]      ? a->area
			      : "grid";
	format_time(a->starts_at, ts, sizeof(ts));
	return json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s*, s:s*, "
			 "s:s, s:{s:s, s:s, s:I, s:o}}}",
	    "event_action", "trigger", "dedup_key", a->fingerprint, "client",
	    "aqgrid", "payload", "summary", summary, "source", source,
	    "severity",
	    (unsigned)nt->severity < SEV_COUNT ? pd_sev[nt->severity] : "info",
	    "timestamp", ts, "component", a->cell[0] ? a->cell : NULL, "group",
	    a->area[0] ? a->area : NULL, "class", nt->indicator,
	    "custom_details", "rule", nt->rule, "op", nt->op, "alert_id",
	    (json_int_t)a->alert_id, "value",
	    a->has_value ? json_real(a->value) : json_null());
}

/* WeCom and DingTalk markdown, Feishu and Slack text. */
static json_t *
body_text(
    const struct format_ctx *ctx, enum format_type t, const struct notice *nt)
{
	json_t *o = NULL;
	char *text, title[NOTICE_TEXT_MAX + 64];
	size_t budget = t == FMT_WECOM ? FORMAT_WECOM_TEXT_MAX
	    : t == FMT_SLACK           ? FORMAT_SLACK_TEXT_MAX
	    : t == FMT_DINGTALK        ? FORMAT_DINGTALK_TEXT_MAX
				       : FORMAT_FEISHU_TEXT_MAX;

	if ((text = text_of(nt, ctx->lang, t, budget)) == NULL)
		return NULL;
	switch (t) {
	case FMT_WECOM:
		o = json_pack("{s:s, s:{s:s}}", "msgtype", "markdown",
		    "markdown", "content", text);
		break;
	case FMT_DINGTALK:
		snprintf(title, sizeof(title),
		    ctx->lang == FMT_LANG_ZH ? "【%s】%s" : "[%s] %s",
		    kind_word(nt, ctx->lang), nt->rule_name);
		o = json_pack("{s:s, s:{s:s, s:s}}", "msgtype", "markdown",
		    "markdown", "title", title, "text", text);
		break;
	case FMT_FEISHU:
		o = json_pack("{s:s, s:{s:s}}", "msg_type", "text", "content",
		    "text", text);
		break;
	case FMT_SLACK:
		o = json_pack("{s:s}", "text", text);
		break;
	default:
		break;
	}
	free(text);
	return o;
}

char *
format_body(
    enum format_type t, const struct format_ctx *ctx, const struct notice *nt)
{
	json_t *o = NULL;
	char *s = NULL;

	switch (t) {
	case FMT_WEBHOOK:
		o = body_webhook(ctx, nt);
		break;
	case FMT_ALERTMANAGER:
		o = body_alertmanager(ctx, nt);
		break;
	case FMT_PAGERDUTY:
		o = body_pagerduty(ctx, nt);
		break;
	case FMT_WECOM:
	case FMT_DINGTALK:
	case FMT_FEISHU:
	case FMT_SLACK:
		o = body_text(ctx, t, nt);
		break;
	default:
		break;
	}
	if (o != NULL)
		s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
	json_decref(o);
	return s;
}

int
format_hmac_b64(const void *key, size_t keylen, const void *msg, size_t msglen,
    char *out, size_t cap)
{
	unsigned char digest[32];
	gnutls_datum_t in = {digest, sizeof(digest)}, b64 = {NULL, 0};
	int rc = AQ_ERR_INVAL;

	if (gnutls_hmac_fast(
		GNUTLS_MAC_SHA256, key, keylen, msg, msglen, digest) != 0)
		goto out;
	if (gnutls_base64_encode2(&in, &b64) != 0)
		goto out;
	rc = AQ_ERR_RANGE;
	if (b64.size + 1 > cap)
		goto out;
	memcpy(out, b64.data, b64.size);
	out[b64.size] = '\0';
	rc = AQ_OK;
out:
	gnutls_free(b64.data);
	return rc;
}

int
format_hmac_hex(const void *key, size_t keylen, const void *msg, size_t msglen,
    char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char digest[32];

	if (cap < 2 * sizeof(digest) + 1)
		return AQ_ERR_RANGE;
	if (gnutls_hmac_fast(
		GNUTLS_MAC_SHA256, key, keylen, msg, msglen, digest) != 0)
		return AQ_ERR_INVAL;
	for (size_t k = 0; k < sizeof(digest); k++) {
		out[2 * k] = hex[digest[k] >> 4];
		out[2 * k + 1] = hex[digest[k] & 15];
	}
	out[2 * sizeof(digest)] = '\0';
	return AQ_OK;
}

int
format_dingtalk_sign(const char *secret, int64_t ts_ms, char *out, size_t cap)
{
	char msg[512], b64[64];
	size_t o = 0;
	int n, rc;

	n = snprintf(msg, sizeof(msg), "%" PRId64 "\n%s", ts_ms, secret);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return AQ_ERR_RANGE;
	rc = format_hmac_b64(
	    secret, strlen(secret), msg, (size_t)n, b64, sizeof(b64));
	if (rc != AQ_OK)
		return rc;
	/* URL-encode: Base64's '+', '/' and '=' are the only specials. */
	for (const char *p = b64; *p != '\0'; p++) {
		const char *rep = *p == '+' ? "%2B"
		    : *p == '/'             ? "%2F"
		    : *p == '='             ? "%3D"
					    : NULL;
		size_t len = rep != NULL ? 3 : 1;

		if (o + len + 1 > cap)
			return AQ_ERR_RANGE;
		if (rep != NULL)
			memcpy(out + o, rep, 3);
		else
			out[o] = *p;
		o += len;
	}
	out[o] = '\0';
	return AQ_OK;
}

int
format_feishu_sign(const char *secret, int64_t ts_s, char *out, size_t cap)
{
	char key[512];
	int n;

	n = snprintf(key, sizeof(key), "%" PRId64 "\n%s", ts_s, secret);
	if (n < 0 || (size_t)n >= sizeof(key))
		return AQ_ERR_RANGE;
	return format_hmac_b64(key, (size_t)n, "", 0, out, cap);
}

char *
format_add_key(const char *body, const char *name, const char *value,
    const char *name2, const char *value2)
{
	json_t *o;
	char *s = NULL;

	if ((o = json_loads(body, 0, NULL)) == NULL || !json_is_object(o))
		goto out;
	if (json_object_set_new(o, name, json_string(value)) != 0)
		goto out;
	if (name2 != NULL &&
	    json_object_set_new(o, name2, json_string(value2)) != 0)
		goto out;
	s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
out:
	json_decref(o);
	return s;
}
