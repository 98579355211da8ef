/*
 * format: the bodies and signatures of the notification formats -- a
 * notice (notice.h) as the generic JSON webhook, the Prometheus
 * Alertmanager webhook v4 body, WeCom and DingTalk robot markdown, Feishu
 * text, Slack incoming-webhook text and PagerDuty Events API v2 events.
 * Bodies are built with jansson and carry no secret: what needs one (the
 * DingTalk URL signature, the Feishu body signature, the PagerDuty routing
 * key, the generic webhook's HMAC header) is added at send time by the
 * functions at the end.  HMAC-SHA256 and Base64 come from GnuTLS.
 * Pure: no I/O, no logging, no state; thread-safe.
 */
#ifndef AQ_ALERTS_FORMAT_H
#define AQ_ALERTS_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "alerts/notice.h"
#include "daemon/err.h"

enum format_type {
	FMT_WEBHOOK,
	FMT_ALERTMANAGER,
	FMT_WECOM,
	FMT_DINGTALK,
	FMT_FEISHU,
	FMT_SLACK,
	FMT_PAGERDUTY,
	FMT_COUNT
};

enum format_lang { FMT_LANG_ZH, FMT_LANG_EN };

/* Byte budgets of the text formats (the services' own limits, less room
 * for the JSON around it); alerts that do not fit are counted instead. */
#define FORMAT_WECOM_TEXT_MAX 4000
#define FORMAT_DINGTALK_TEXT_MAX 18000
#define FORMAT_FEISHU_TEXT_MAX 18000
#define FORMAT_SLACK_TEXT_MAX 3500
#define FORMAT_PAGERDUTY_SUMMARY_MAX 1000

/* HMAC-SHA256 in Base64 (44 characters) and URL-encoded Base64. */
#define FORMAT_SIGN_MAX 160

struct format_ctx {
	const char *receiver; /* receiver id (Alertmanager "receiver") */
	const char *idem_key; /* idempotency key of this notification */
	enum format_lang lang;
	uint32_t alert; /* PagerDuty: which alert of the notice */
};

/* "webhook", "alertmanager", ... -> enum format_type, or -1. */
int format_type_parse(const char *name);
const char *format_type_name(enum format_type t);
/* True for the types whose URL carries an access token. */
int format_type_robot(enum format_type t);

/*
 * The body of t for nt (borrowed) as compact JSON, returns owned (free()),
 * or NULL when out of memory.  PagerDuty bodies describe the single alert
 * ctx->alert and omit routing_key (format_add_key adds it).
 */
char *format_body(
    enum format_type t, const struct format_ctx *ctx, const struct notice *nt);

/* RFC 3339 UTC ("2026-11-29T05:59:00Z") of t into out (>= 21 bytes). */
void format_time(int64_t t, char *out, size_t cap);

/*
 * HMAC-SHA256 of msg with key, Base64-encoded into out.  AQ_ERR_RANGE when
 * out is too small, AQ_ERR_INVAL when GnuTLS refuses.
 */
int format_hmac_b64(const void *key, size_t keylen, const void *msg,
    size_t msglen, char *out, size_t cap) AQ_MUSTCHECK;
/* The same in lower-case hex (64 characters). */
int format_hmac_hex(const void *key, size_t keylen, const void *msg,
    size_t msglen, char *out, size_t cap) AQ_MUSTCHECK;

/*
 * DingTalk: sign = urlencode(base64(HMAC-SHA256(key = secret,
 * msg = ts_ms + "\n" + secret))), ts in milliseconds.
 */
int format_dingtalk_sign(
    const char *secret, int64_t ts_ms, char *out, size_t cap) AQ_MUSTCHECK;
/*
 * Feishu: sign = base64(HMAC-SHA256(key = ts_s + "\n" + secret, msg =
 * "")), ts in seconds.
 */
int format_feishu_sign(
    const char *secret, int64_t ts_s, char *out, size_t cap) AQ_MUSTCHECK;

/* body (borrowed JSON object text) with the string members name = value
 * and, if name2 is not NULL, name2 = value2 added; returns owned or NULL
 * (not JSON, no memory). */
char *format_add_key(const char *body, const char *name, const char *value,
    const char *name2, const char *value2);

#endif
