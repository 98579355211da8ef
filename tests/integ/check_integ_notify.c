/*
 * check_integ_notify: the notifier against a real webhook receiver in the
 * test -- a libmicrohttpd server on a loopback port that records every
 * request and answers what the test scripts.  Bodies are parsed and
 * compared field by field; the DingTalk, Feishu and webhook signatures are
 * recomputed with openssl(1), not with the GnuTLS code under test.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alerts/format.h"
#include "alerts/notify.h"
#include "daemon/conf.h"
#include "daemon/store.h"
#include "tests/harness.h"

static int hook_port; /* the recording sink's */
static struct store *st;
static int store_seq;

static struct notice *make_notice(uint64_t id, enum notice_kind kind);
static struct conf *load_conf(const char *body);
static struct notify *make_notify(const char *receivers, bool start);
static void ext_hmac(const char *key, const char *msg, size_t msglen, bool hex,
    char *out, size_t cap);
static void setup(void);
static void teardown(void);
static int count_rec(void *ctx, const char *key, const void *v, size_t len);
static int first_key(void *ctx, const char *key, const void *v, size_t len);
static int collect_attempt(void *ctx, const struct notify_attempt *a);
static int collect_dead(void *ctx, const struct notify_dead *d);
static int decoder(const char *name);

static const char *const SECRET_DING = "SECding0123456789";
static const char *const SECRET_FEISHU = "feishu-secret-xyz";
static const char *const SECRET_HOOK = "whsec-abc";

static int
decoder(const char *name)
{
	return strcmp(name, "json") == 0 ? 0 : -1;
}

static struct notice *
make_notice(uint64_t id, enum notice_kind kind)
{
	struct notice *nt = calloc(1, sizeof(*nt));

	ck_assert_ptr_nonnull(nt);
	nt->id = id;
	nt->kind = kind;
	snprintf(nt->rule, sizeof(nt->rule), "pm25_24h_ii");
	snprintf(nt->rule_name, sizeof(nt->rule_name), "PM2.5 24h grade II");
	snprintf(nt->indicator, sizeof(nt->indicator), "pm25_24h");
	snprintf(nt->op, sizeof(nt->op), ">");
	nt->threshold = 75;
	nt->severity = SEV_CRITICAL;
	nt->scope = SCOPE_CELL;
	snprintf(nt->area, sizeof(nt->area), "dongcheng");
	snprintf(nt->labels[0].key, NOTICE_ID_MAX, "team");
	snprintf(nt->labels[0].value, NOTICE_ID_MAX, "air");
	nt->nlabels = 1;
	nt->created = 1795932000;
	nt->nalerts = 2;
	for (int k = 0; k < 2; k++) {
		struct notice_alert *a = &nt->alerts[k];

		snprintf(
		    a->fingerprint, sizeof(a->fingerprint), "fp-%c", 'a' + k);
		a->alert_id = 7 + (uint64_t)k;
		snprintf(a->cell, sizeof(a->cell), "r001c00%d", 2 + k);
		snprintf(a->area, sizeof(a->area), "dongcheng");
		a->value = k == 0 ? 80.5 : 91;
		a->has_value = 1;
		a->starts_at = 1795928400 + k;
		a->ends_at = kind == NOTICE_RESOLVED ? 1795935600 : 0;
		a->event_hour = 1795932000;
		snprintf(a->summary, sizeof(a->summary),
		    "r001c00%d PM2.5 24h %.1f > 75", 2 + k, a->value);
		snprintf(a->summary_zh, sizeof(a->summary_zh),
		    "r001c00%d PM2.5 24小时 %.1f 超过 75", 2 + k, a->value);
	}
	return nt;
}

static struct conf *
load_conf(const char *body)
{
	static int seq;
	struct conf_hooks hooks = {decoder};
	struct conf *c = NULL;
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/n%d.conf", h_tmpdir(), seq++);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fprintf(f,
	    "[mqtt]\nsubscribe = aq/# json 1\n[grid]\nrows = 2\n"
	    "cols = 2\n%s",
	    body);
	fclose(f);
	ck_assert_int_eq(conf_load(path, &hooks, &c, stderr), AQ_OK);
	return c;
}

/* A notifier on the store st for the receiver sections given (with "%d"
 * standing for the sink's port), fast backoff. */
static struct notify *
make_notify(const char *receivers, bool start)
{
	char text[8192];
	struct conf *c;
	struct notify *n = NULL;

	size_t o = 0;

	for (const char *p = receivers; *p != '\0' && o + 8 < sizeof(text);)
		if (strncmp(p, "%d", 2) == 0) {
			o += (size_t)snprintf(
			    text + o, sizeof(text) - o, "%d", hook_port);
			p += 2;
		} else
			text[o++] = *p++;
	text[o] = '\0';
	c = load_conf(text);
	ck_assert_int_eq(notify_new(c, st, stderr, &n), AQ_OK);
	conf_free(c);
	notify_test_backoff(n, 10, 40);
	if (start)
		ck_assert_int_eq(notify_start(n), AQ_OK);
	return n;
}

/*
 * HMAC-SHA256 computed by openssl(1): the key passed as hex (it may hold a
 * newline), the message from a file; Base64 (base64(1)) or hex out.
 */
static void
ext_hmac(const char *key, const char *msg, size_t msglen, bool hex, char *out,
    size_t cap)
{
	char cmd[1400], file[512], hexkey[600] = "";
	unsigned char raw[64];
	size_t got;
	FILE *f, *p;

	for (size_t k = 0; key[k] != '\0' && k < 290; k++)
		snprintf(hexkey + 2 * k, 3, "%02x", (unsigned char)key[k]);
	snprintf(file, sizeof(file), "%s/hmac.msg", h_tmpdir());
	ck_assert_ptr_nonnull(f = fopen(file, "w"));
	ck_assert_uint_eq(fwrite(msg, 1, msglen, f), msglen);
	fclose(f);
	snprintf(cmd, sizeof(cmd),
	    "openssl dgst -sha256 -mac HMAC -macopt hexkey:%s -binary %s%s",
	    hexkey, file, hex ? "" : " | base64 -w0");
	ck_assert_ptr_nonnull(p = popen(cmd, "r"));
	got = fread(raw, 1, sizeof(raw) - 1, p);
	ck_assert_int_eq(pclose(p), 0);
	if (hex) {
		ck_assert_uint_eq(got, 32);
		for (size_t k = 0; k < 32 && 2 * k + 2 < cap; k++)
			snprintf(out + 2 * k, 3, "%02x", raw[k]);
	} else {
		ck_assert_uint_eq(got, 44);
		raw[got] = '\0';
		snprintf(out, cap, "%s", (const char *)raw);
	}
}

static void
setup(void)
{
	char path[512], msg[256];

	h_sink_clear();
	snprintf(path, sizeof(path), "%s/s%d.db", h_tmpdir(), store_seq++);
	ck_assert_int_eq(store_open(path, 16, &st, msg, sizeof(msg)), AQ_OK);
}

static void
teardown(void)
{
	h_sink_stop();
	h_sink_clear();
	store_close(st);
	st = NULL;
}

static int
count_rec(void *ctx, const char *key, const void *v, size_t len)
{
	(void)key;
	(void)v;
	(void)len;
	(*(int *)ctx)++;
	return 0;
}

struct attempts {
	int n;
	struct {
		char receiver[32], result[16], error[128];
		long status;
		int64_t time, next;
		uint32_t attempt;
	} a[64];
};

static int
collect_attempt(void *ctx, const struct notify_attempt *a)
{
	struct attempts *as = ctx;

	if (as->n < 64) {
		snprintf(as->a[as->n].receiver, 32, "%s", a->receiver);
		snprintf(as->a[as->n].result, 16, "%s", a->result);
		snprintf(as->a[as->n].error, 128, "%s", a->error);
		as->a[as->n].status = a->status;
		as->a[as->n].time = a->time_ms;
		as->a[as->n].next = a->next_ms;
		as->a[as->n].attempt = a->attempt;
	}
	as->n++;
	return 0;
}

struct deads {
	int n;
	char receiver[8][32], last[8][128], idem[8][96];
	uint32_t attempts[8];
};

static int
collect_dead(void *ctx, const struct notify_dead *d)
{
	struct deads *ds = ctx;

	if (ds->n < 8) {
		snprintf(ds->receiver[ds->n], 32, "%s", d->receiver);
		snprintf(ds->last[ds->n], 128, "%s", d->last);
		snprintf(ds->idem[ds->n], 96, "%s", d->idempotency_key);
		ds->attempts[ds->n] = d->attempts;
	}
	ds->n++;
	return 0;
}

static int
first_key(void *ctx, const char *key, const void *v, size_t len)
{
	(void)v;
	(void)len;
	snprintf(ctx, STORE_KEY_MAX, "%s", key);
	return 1;
}

static int
outbox_count(void)
{
	int n = 0;

	ck_assert_int_eq(store_rec_each(st, "outbox", count_rec, &n), AQ_OK);
	return n;
}

static struct attempts *
attempts_of(uint64_t alert)
{
	static struct attempts as;

	memset(&as, 0, sizeof(as));
	ck_assert_int_eq(
	    notify_attempts(st, alert, 0, 1000, collect_attempt, &as), AQ_OK);
	return &as;
}

/* Signatures against vectors made with Python's hmac module:
 *   python3 -c 'import hmac,hashlib,base64,urllib.parse as u;
 *     s="secret"; m="1700000000000\n"+s;
 *     print(u.quote_plus(base64.b64encode(hmac.new(s.encode(),
 *       m.encode(),hashlib.sha256).digest())))'
 * and the Feishu one with key "1599360473\ntest-secret" over b"". */
START_TEST(test_vectors)
{
	char out[FORMAT_SIGN_MAX];

	ck_assert_int_eq(
	    format_dingtalk_sign("secret", 1700000000000LL, out, sizeof(out)),
	    AQ_OK);
	ck_assert_str_eq(
	    out, "OuzzJR5%2BxZ4%2FEYwqtNt6sMYZQMTa%2FHEGvc9miJe7XzY%3D");
	ck_assert_int_eq(
	    format_feishu_sign("test-secret", 1599360473, out, sizeof(out)),
	    AQ_OK);
	ck_assert_str_eq(out, "wSds2BzzFIIGf/WrhUO+NI1q/9j+FRJd3JNHKAq0NZY=");
	ck_assert_int_eq(format_hmac_hex("whsec", 5, "1700000000.{\"a\":1}", 18,
			     out, sizeof(out)),
	    AQ_OK);
	ck_assert_str_eq(out,
	    "8ad37ba156048ae0e0a5533c75cdf26fee88b07f93cb57ee4c80adb053012032");
	ck_assert_int_eq(
	    format_dingtalk_sign("secret", 1, out, 10), AQ_ERR_RANGE);
}
END_TEST

/* 128 alerts with long summaries stay within WeCom's 4096 bytes. */
START_TEST(test_truncate)
{
	struct notice *nt = make_notice(1, NOTICE_FIRING);
	struct format_ctx fc = {"w", "k", FMT_LANG_ZH, 0};
	const char *content;
	json_t *o;
	char *body;

	nt->nalerts = NOTICE_ALERTS_MAX;
	for (int k = 0; k < NOTICE_ALERTS_MAX; k++) {
		memset(nt->alerts[k].summary_zh, 'x', 300);
		nt->alerts[k].summary_zh[300] = '\0';
	}
	ck_assert_ptr_nonnull(body = format_body(FMT_WECOM, &fc, nt));
	ck_assert_ptr_nonnull(o = json_loads(body, 0, NULL));
	content = json_string_value(
	    json_object_get(json_object_get(o, "markdown"), "content"));
	ck_assert_ptr_nonnull(content);
	ck_assert_uint_le(strlen(content), 4096);
	ck_assert_ptr_nonnull(strstr(content, "……另有 "));
	ck_assert_ptr_nonnull(strstr(content, "共 128 条"));
	json_decref(o);
	free(body);
	free(nt);
}
END_TEST

static const char *const ALL_FORMATS =
    "[receiver hook]\ntype = webhook\nurl = http://127.0.0.1:%d/hook\n"
    "secret = whsec-abc\n"
    "[receiver am]\ntype = alertmanager\nurl = http://127.0.0.1:%d/am\n"
    "[receiver wecom]\ntype = wecom\n"
    "url = http://127.0.0.1:%d/wecom?key=WECOMKEY\n"
    "[receiver ding]\ntype = dingtalk\n"
    "url = http://127.0.0.1:%d/ding?access_token=DINGTOKEN\n"
    "secret = SECding0123456789\n"
    "[receiver feishu]\ntype = feishu\n"
    "url = http://127.0.0.1:%d/feishu/hook/FEISHUTOKEN\n"
    "secret = feishu-secret-xyz\nlanguage = en\n"
    "[receiver slack]\ntype = slack\n"
    "url = http://127.0.0.1:%d/slack/T0/B0/SLACKTOKEN\n"
    "[receiver pd]\ntype = pagerduty\nurl = http://127.0.0.1:%d/pd\n"
    "secret = pd-routing-key\n";

static json_t *
body_of(const struct h_hook *r)
{
	json_t *o;

	ck_assert_ptr_nonnull(r);
	o = json_loads(r->text, 0, NULL);
	ck_assert_msg(o != NULL, "%s: not JSON: %s", r->path, r->text);
	return o;
}

#define STR(o, path) json_string_value(json_object_get(o, path))

START_TEST(test_formats)
{
	struct notice *nt = make_notice(42, NOTICE_FIRING);
	struct notify *n;
	struct notify_stats ss;
	const struct h_hook *r;
	json_t *o, *a;
	char want[128], *msg;
	const char *text;

	hook_port = h_sink_start(0);
	n = make_notify(ALL_FORMATS, true);
	ck_assert_int_eq(notify_submit(n, nt), AQ_OK);
	ck_assert(h_sink_wait(8, 10));

	/* Generic webhook: header and body keys, HMAC over "ts.body". */
	r = h_sink_find("/hook", 0);
	o = body_of(r);
	ck_assert_str_eq(r->idem, "aqgrid-42-hook");
	ck_assert_str_eq(STR(o, "idempotency_key"), "aqgrid-42-hook");
	ck_assert_ptr_nonnull(strstr(r->ctype, "application/json"));
	ck_assert_str_eq(STR(o, "version"), "1");
	ck_assert_int_eq(
	    json_integer_value(json_object_get(o, "notice_id")), 42);
	ck_assert_str_eq(STR(o, "receiver"), "hook");
	ck_assert_str_eq(STR(o, "kind"), "firing");
	ck_assert_str_eq(STR(o, "status"), "firing");
	ck_assert_str_eq(STR(o, "severity"), "critical");
	ck_assert_str_eq(STR(o, "scope"), "cell");
	ck_assert_str_eq(STR(o, "area"), "dongcheng");
	ck_assert_str_eq(STR(json_object_get(o, "rule"), "id"), "pm25_24h_ii");
	ck_assert_str_eq(STR(json_object_get(o, "rule"), "op"), ">");
	ck_assert(json_number_value(json_object_get(
		      json_object_get(o, "rule"), "threshold")) == 75);
	ck_assert_str_eq(STR(json_object_get(o, "labels"), "team"), "air");
	ck_assert_uint_eq(json_array_size(json_object_get(o, "alerts")), 2);
	a = json_array_get(json_object_get(o, "alerts"), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(a, "id")), 8);
	ck_assert_str_eq(STR(a, "fingerprint"), "fp-b");
	ck_assert_str_eq(STR(a, "cell"), "r001c003");
	ck_assert(json_number_value(json_object_get(a, "value")) == 91);
	ck_assert(json_is_null(json_object_get(a, "ends_at")));
	ck_assert(json_is_null(json_object_get(a, "sensor")));
	ck_assert_int_eq(
	    json_integer_value(json_object_get(a, "starts_at")), 1795928401);
	ck_assert_str_eq(STR(a, "summary"), "r001c003 PM2.5 24h 91.0 > 75");
	ck_assert_ptr_nonnull(r->sigts[0] ? r->sigts : NULL);
	ck_assert_ptr_nonnull(msg = malloc(strlen(r->text) + 40));
	sprintf(msg, "%s.%s", r->sigts, r->text);
	ext_hmac(SECRET_HOOK, msg, strlen(msg), true, want, sizeof(want));
	free(msg);
	ck_assert_str_eq(r->sig + strlen("sha256="), want);
	ck_assert_int_eq(strncmp(r->sig, "sha256=", 7), 0);
	json_decref(o);

	/* Alertmanager webhook v4. */
	r = h_sink_find("/am", 0);
	o = body_of(r);
	ck_assert_str_eq(STR(o, "version"), "4");
	ck_assert_str_eq(STR(o, "status"), "firing");
	ck_assert_str_eq(STR(o, "receiver"), "am");
	ck_assert_int_eq(
	    json_integer_value(json_object_get(o, "truncatedAlerts")), 0);
	ck_assert_str_eq(
	    STR(json_object_get(o, "groupLabels"), "alertname"), "pm25_24h_ii");
	ck_assert_str_eq(
	    STR(json_object_get(o, "commonLabels"), "severity"), "critical");
	ck_assert(json_is_object(json_object_get(o, "commonAnnotations")));
	ck_assert_ptr_nonnull(STR(o, "groupKey"));
	ck_assert_ptr_nonnull(STR(o, "externalURL"));
	a = json_array_get(json_object_get(o, "alerts"), 0);
	ck_assert_str_eq(STR(a, "status"), "firing");
	ck_assert_str_eq(STR(a, "fingerprint"), "fp-a");
	ck_assert_str_eq(STR(a, "startsAt"), "2026-11-29T05:00:00Z");
	ck_assert_str_eq(STR(a, "endsAt"), "0001-01-01T00:00:00Z");
	ck_assert_str_eq(STR(json_object_get(a, "labels"), "cell"), "r001c002");
	ck_assert_str_eq(STR(json_object_get(a, "labels"), "team"), "air");
	ck_assert_str_eq(
	    STR(json_object_get(a, "labels"), "alertname"), "pm25_24h_ii");
	ck_assert_str_eq(STR(json_object_get(a, "annotations"), "summary"),
	    "r001c002 PM2.5 24h 80.5 > 75");
	json_decref(o);

	/* WeCom markdown, Chinese by default. */
	r = h_sink_find("/wecom", 0);
	o = body_of(r);
	ck_assert_str_eq(STR(o, "msgtype"), "markdown");
	text = STR(json_object_get(o, "markdown"), "content");
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(
	    strstr(text, "**【告警】PM2.5 24h grade II（严重）**"));
	ck_assert_ptr_nonnull(
	    strstr(text, "- r001c002 PM2.5 24小时 80.5 超过 75\n"));
	ck_assert_ptr_nonnull(
	    strstr(text, "- r001c003 PM2.5 24小时 91.0 超过 75\n"));
	ck_assert_ptr_nonnull(strstr(text, "区域：dongcheng"));
	json_decref(o);

	/* DingTalk: timestamp (ms) and sign in the query, checked here. */
	r = h_sink_find("/ding", 0);
	o = body_of(r);
	ck_assert_str_eq(r->q_token, "DINGTOKEN");
	ck_assert_uint_eq(strlen(r->q_timestamp), 13);
	ck_assert_ptr_nonnull(msg = malloc(256));
	snprintf(msg, 256, "%s\n%s", r->q_timestamp, SECRET_DING);
	ext_hmac(SECRET_DING, msg, strlen(msg), false, want, sizeof(want));
	free(msg);
	ck_assert_str_eq(r->q_sign, want); /* MHD decoded %2B etc. */
	ck_assert_str_eq(STR(o, "msgtype"), "markdown");
	ck_assert_str_eq(STR(json_object_get(o, "markdown"), "title"),
	    "【告警】PM2.5 24h grade II");
	ck_assert_ptr_nonnull(
	    strstr(STR(json_object_get(o, "markdown"), "text"), "超过 75"));
	json_decref(o);

	/* Feishu: timestamp (s) and sign in the body, key = ts\nsecret over
	 * an empty message; English as configured. */
	r = h_sink_find("/feishu/hook/FEISHUTOKEN", 0);
	o = body_of(r);
	ck_assert_uint_eq(strlen(STR(o, "timestamp")), 10);
	ck_assert_ptr_nonnull(msg = malloc(256));
	snprintf(msg, 256, "%s\n%s", STR(o, "timestamp"), SECRET_FEISHU);
	ext_hmac(msg, "", 0, false, want, sizeof(want));
	free(msg);
	ck_assert_str_eq(STR(o, "sign"), want);
	ck_assert_str_eq(STR(o, "msg_type"), "text");
	text = STR(json_object_get(o, "content"), "text");
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(
	    strstr(text, "[FIRING] PM2.5 24h grade II (critical)\n"));
	ck_assert_ptr_nonnull(strstr(text, "- r001c003 PM2.5 24h 91.0 > 75\n"));
	json_decref(o);

	/* Slack. */
	r = h_sink_find("/slack/T0/B0/SLACKTOKEN", 0);
	o = body_of(r);
	ck_assert_ptr_nonnull(
	    strstr(STR(o, "text"), "*[FIRING] PM2.5 24h grade II (critical)*"));
	json_decref(o);

	/* PagerDuty: one event per alert, dedup_key = fingerprint. */
	for (int k = 0; k < 2; k++) {
		const struct h_hook *r1 = h_sink_find("/pd", 0), *r2;

		r2 = h_sink_find("/pd", 1);
		ck_assert_ptr_nonnull(r1);
		ck_assert_ptr_nonnull(r2);
		o = body_of(k == 0 ? r1 : r2);
		ck_assert_str_eq(STR(o, "routing_key"), "pd-routing-key");
		ck_assert_str_eq(STR(o, "event_action"), "trigger");
		snprintf(want, sizeof(want), "fp-%c", 'a' + k);
		ck_assert_str_eq(STR(o, "dedup_key"), want);
		ck_assert_str_eq(
		    STR(json_object_get(o, "payload"), "severity"), "critical");
		snprintf(want, sizeof(want), "r001c00%d", 2 + k);
		ck_assert_str_eq(
		    STR(json_object_get(o, "payload"), "source"), want);
		ck_assert_str_eq(
		    STR(json_object_get(o, "payload"), "class"), "pm25_24h");
		ck_assert_str_eq((k == 0 ? r1 : r2)->idem,
		    k == 0 ? "aqgrid-42-pd-0" : "aqgrid-42-pd-1");
		json_decref(o);
	}

	/* Counters and the attempt log of alert 7: one per receiver. */
	for (int k = 0; k < 100 && outbox_count() > 0; k++)
		h_sleep_ms(20);
	ck_assert_int_eq(outbox_count(), 0);
	notify_stats(n, &ss);
	ck_assert_uint_eq(ss.nreceivers, 7);
	ck_assert_uint_eq(ss.submitted, 1);
	for (uint32_t k = 0; k < ss.nreceivers; k++) {
		ck_assert_uint_eq(
		    ss.r[k].sent, strcmp(ss.r[k].id, "pd") == 0 ? 2 : 1);
		ck_assert_uint_eq(ss.r[k].queued, 0);
		ck_assert_uint_eq(ss.r[k].failed, 0);
	}
	ck_assert_int_eq(attempts_of(7)->n, 7);
	ck_assert_int_eq(attempts_of(8)->n, 7);
	ck_assert_str_eq(attempts_of(7)->a[0].result, "sent");
	ck_assert_int_eq(attempts_of(7)->a[0].status, 200);
	ck_assert_int_eq(h_sink_count(), 8);
	notify_free(n);
	free(nt);
}
END_TEST

/* A resolved notice: Alertmanager "resolved" with endsAt, PagerDuty
 * resolve without payload. */
START_TEST(test_resolved)
{
	struct notice *nt = make_notice(43, NOTICE_RESOLVED);
	struct notify *n;
	json_t *o, *a;
	char path[512];
	FILE *f;

	/* The routing key in a file next to the configuration. */
	snprintf(path, sizeof(path), "%s/pd.key", h_tmpdir());
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs("key-from-file\n", f);
	fclose(f);
	hook_port = h_sink_start(0);
	n = make_notify(
	    "[receiver am]\ntype = alertmanager\nurl = http://127.0.0.1:%d/am\n"
	    "[receiver pd]\ntype = pagerduty\nurl = http://127.0.0.1:%d/pd\n"
	    "secret_file = pd.key\n",
	    false);
	ck_assert_int_eq(notify_start(n), AQ_OK);
	ck_assert_int_eq(notify_submit(n, nt), AQ_OK);
	ck_assert(h_sink_wait(3, 10));
	o = body_of(h_sink_find("/am", 0));
	ck_assert_str_eq(STR(o, "status"), "resolved");
	a = json_array_get(json_object_get(o, "alerts"), 0);
	ck_assert_str_eq(STR(a, "status"), "resolved");
	ck_assert_str_eq(STR(a, "endsAt"), "2026-11-29T07:00:00Z");
	json_decref(o);
	o = body_of(h_sink_find("/pd", 1));
	ck_assert_str_eq(STR(o, "event_action"), "resolve");
	ck_assert_str_eq(STR(o, "dedup_key"), "fp-b");
	ck_assert_str_eq(STR(o, "routing_key"), "key-from-file");
	ck_assert_ptr_null(json_object_get(o, "payload"));
	json_decref(o);
	notify_free(n);
	free(nt);
}
END_TEST

START_TEST(test_retry_500)
{
	struct notice *nt = make_notice(50, NOTICE_FIRING);
	struct notify *n;
	struct notify_stats ss;
	struct attempts *as;

	hook_port = h_sink_start(0);
	h_sink_script(500, NULL);
	h_sink_script(503, NULL);
	n = make_notify("[receiver hook]\ntype = webhook\n"
			"url = http://127.0.0.1:%d/hook\n",
	    true);
	ck_assert_int_eq(notify_submit(n, nt), AQ_OK);
	ck_assert(h_sink_wait(3, 10));
	for (int k = 0; k < 3; k++)
		ck_assert_str_eq(
		    h_sink_find("/hook", k)->idem, "aqgrid-50-hook");
	for (int k = 0; k < 100 && outbox_count() > 0; k++)
		h_sleep_ms(20);
	as = attempts_of(7);
	ck_assert_int_eq(as->n, 3);
	ck_assert_str_eq(as->a[0].result, "retry");
	ck_assert_int_eq(as->a[0].status, 500);
	ck_assert_str_eq(as->a[0].error, "HTTP 500");
	ck_assert_int_gt(as->a[0].next, as->a[0].time);
	ck_assert_int_eq(as->a[1].status, 503);
	ck_assert_uint_eq(as->a[1].attempt, 2);
	ck_assert_str_eq(as->a[2].result, "sent");
	ck_assert_uint_eq(as->a[2].attempt, 3);
	notify_stats(n, &ss);
	ck_assert_uint_eq(ss.r[0].sent, 1);
	ck_assert_uint_eq(ss.r[0].failed, 2);
	ck_assert_int_eq(h_sink_count(), 3);
	notify_free(n);
	free(nt);
}
END_TEST

/* 429 with Retry-After in seconds, then as an HTTP date: the next try is
 * scheduled at least that far ahead even though the backoff is 10 ms. */
START_TEST(test_retry_after)
{
	struct notice *nt = make_notice(60, NOTICE_FIRING);
	struct notify *n;
	struct attempts *as;
	char date[64];
	time_t t = time(NULL) + 3;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	hook_port = h_sink_start(0);
	h_sink_script(429, "1");
	h_sink_script(503, date);
	n = make_notify("[receiver hook]\ntype = webhook\n"
			"url = http://127.0.0.1:%d/hook\n",
	    true);
	ck_assert_int_eq(notify_submit(n, nt), AQ_OK);
	ck_assert(h_sink_wait(3, 15));
	for (int k = 0; k < 100 && outbox_count() > 0; k++)
		h_sleep_ms(20);
	as = attempts_of(7);
	ck_assert_int_eq(as->n, 3);
	ck_assert_int_eq(as->a[0].status, 429);
	ck_assert_int_ge(as->a[0].next - as->a[0].time, 1000);
	ck_assert_int_eq(as->a[1].status, 503);
	ck_assert_int_ge(as->a[1].next - as->a[1].time, 1000);
	ck_assert_str_eq(as->a[2].result, "sent");
	/* The receiver saw the retry no earlier than scheduled. */
	ck_assert_int_ge(as->a[2].time, as->a[1].next);
	notify_free(n);
	free(nt);
}
END_TEST

/* The receiver is down, then comes back on the same port. */
START_TEST(test_down_then_up)
{
	struct notice *nt = make_notice(70, NOTICE_FIRING);
	struct notify *n;
	struct attempts *as;
	int port = h_free_port();
	long long end;

	hook_port = port;
	n = make_notify("[receiver hook]\ntype = webhook\n"
			"url = http://127.0.0.1:%d/hook\nmax_attempts = 100\n",
	    true);
	ck_assert_int_eq(notify_submit(n, nt), AQ_OK);
	end = h_ms() + 10000;
	while (attempts_of(7)->n < 2 && h_ms() < end)
		h_sleep_ms(10);
	as = attempts_of(7);
	ck_assert_int_ge(as->n, 2);
	ck_assert_int_eq(as->a[0].status, 0);
	ck_assert_str_ne(as->a[0].error, "");
	ck_assert_str_eq(as->a[0].result, "retry");
	h_sink_start(port);
	ck_assert(h_sink_wait(1, 10));
	ck_assert_str_eq(h_sink_find("/hook", 0)->idem, "aqgrid-70-hook");
	for (int k = 0; k < 100 && outbox_count() > 0; k++)
		h_sleep_ms(20);
	ck_assert_int_eq(outbox_count(), 0);
	notify_free(n);
	ck_assert_int_eq(h_sink_count(), 1);
	free(nt);
}
END_TEST

/* Attempts run out (500), a 400 is final at once, a robot's errcode
 * counts as a failure; secrets and tokens appear in no log. */
START_TEST(test_dead_letter)
{
	struct notice *nt = make_notice(80, NOTICE_FIRING);
	struct notify *n;
	struct notify_stats ss;
	struct deads ds = {0};
	char logpath[512], buf[65536];
	int fd, saved;
	size_t len;
	FILE *f;
	long long end;

	hook_port = h_sink_start(0);
	snprintf(logpath, sizeof(logpath), "%s/dead.log", h_tmpdir());
	fflush(stderr);
	saved = dup(2);
	fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	dup2(fd, 2);
	close(fd);
	n = make_notify("[receiver five]\ntype = dingtalk\n"
			"url = http://127.0.0.1:%d/s500?access_token=TOKEN123\n"
			"secret = SECxyz987\nmax_attempts = 3\n"
			"[receiver four]\ntype = webhook\n"
			"url = http://127.0.0.1:%d/s400\n"
			"[receiver robot]\ntype = wecom\n"
			"url = http://127.0.0.1:%d/refuse?key=WKEY\n"
			"max_attempts = 2\n",
	    true);
	ck_assert_int_eq(notify_submit(n, nt), AQ_OK);
	end = h_ms() + 10000;
	do {
		memset(&ds, 0, sizeof(ds));
		ck_assert_int_eq(
		    notify_dead_list(st, collect_dead, &ds), AQ_OK);
		if (ds.n < 3)
			h_sleep_ms(20);
	} while (ds.n < 3 && h_ms() < end);
	notify_stats(n, &ss);
	notify_free(n);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	ck_assert_int_eq(ds.n, 3);
	/* Key order: receiver ids after the same notice id. */
	ck_assert_str_eq(ds.receiver[0], "five");
	ck_assert_uint_eq(ds.attempts[0], 3);
	ck_assert_str_eq(ds.last[0], "HTTP 500");
	ck_assert_str_eq(ds.idem[0], "aqgrid-80-five");
	ck_assert_str_eq(ds.receiver[1], "four");
	ck_assert_uint_eq(ds.attempts[1], 1);
	ck_assert_str_eq(ds.last[1], "HTTP 400");
	ck_assert_str_eq(ds.receiver[2], "robot");
	ck_assert_uint_eq(ds.attempts[2], 2);
	ck_assert_str_eq(ds.last[2], "errcode 130101: send too fast");
	ck_assert_int_eq(outbox_count(), 0);
	ck_assert_int_eq(h_sink_count(), 6);
	ck_assert_uint_eq(ss.r[0].dead, 1);
	ck_assert_uint_eq(ss.r[0].failed, 3);
	ck_assert_uint_eq(ss.r[0].queued, 0);
	ck_assert_uint_eq(ss.r[1].dead, 1);
	ck_assert_uint_eq(ss.r[2].dead, 1);
	ck_assert_int_eq(attempts_of(8)->n, 6);
	ck_assert_str_eq(attempts_of(8)->a[5].result, "dead");

	ck_assert_ptr_nonnull(f = fopen(logpath, "r"));
	len = fread(buf, 1, sizeof(buf) - 1, f);
	buf[len] = '\0';
	fclose(f);
	ck_assert_msg(strstr(buf, "dead-lettered") != NULL, "log: %s", buf);
	ck_assert_ptr_nonnull(strstr(buf, "http://127.0.0.1:"));
	ck_assert_ptr_null(strstr(buf, "TOKEN123"));
	ck_assert_ptr_null(strstr(buf, "WKEY"));
	ck_assert_ptr_null(strstr(buf, "SECxyz987"));
	ck_assert_ptr_null(strstr(buf, "/s500"));
	free(nt);
}
END_TEST

/* rate = 2 a minute: two go, three wait in the outbox. */
START_TEST(test_rate_limit)
{
	struct notify *n;
	struct notify_stats ss;
	char key[STORE_KEY_MAX] = "";
	long long end;

	hook_port = h_sink_start(0);
	n = make_notify("[receiver bot]\ntype = wecom\n"
			"url = http://127.0.0.1:%d/wecom?key=K\nrate = 2\n",
	    true);
	for (int k = 0; k < 5; k++) {
		struct notice *nt =
		    make_notice(100 + (uint64_t)k, NOTICE_FIRING);

		ck_assert_int_eq(notify_submit(n, nt), AQ_OK);
		free(nt);
	}
	ck_assert(h_sink_wait(2, 10));
	end = h_ms() + 5000;
	do {
		notify_stats(n, &ss);
		if (ss.r[0].sent < 2)
			h_sleep_ms(10);
	} while (ss.r[0].sent < 2 && h_ms() < end);
	/* Nothing more may arrive within the minute: look for a while. */
	h_sleep_ms(500);
	notify_stats(n, &ss);
	ck_assert_int_eq(h_sink_count(), 2);
	ck_assert_uint_eq(ss.r[0].sent, 2);
	ck_assert_uint_eq(ss.r[0].queued, 3);
	ck_assert_uint_eq(ss.r[0].failed, 0);
	ck_assert_int_eq(outbox_count(), 3);
	/* The first two went, in notice order; the rest wait. */
	ck_assert_int_eq(store_rec_each(st, "outbox", first_key, key), 1);
	ck_assert_str_eq(key, "00000000000000000102:bot");
	notify_free(n);
	/* Still in the outbox after a stop. */
	ck_assert_int_eq(outbox_count(), 3);
}
END_TEST

/* Submitted while the receiver is down, notifier stopped, a new one on
 * the same store delivers each exactly once with the same key. */
START_TEST(test_restart)
{
	struct notify *n;
	int port = h_free_port();
	long long end;

	hook_port = port;
	n = make_notify("[receiver hook]\ntype = webhook\n"
			"url = http://127.0.0.1:%d/hook\n"
			"[receiver am]\ntype = alertmanager\n"
			"url = http://127.0.0.1:%d/am\n",
	    true);
	for (int k = 0; k < 3; k++) {
		struct notice *nt =
		    make_notice(200 + (uint64_t)k, NOTICE_FIRING);

		ck_assert_int_eq(notify_submit(n, nt), AQ_OK);
		free(nt);
	}
	end = h_ms() + 5000;
	while (attempts_of(7)->n < 1 && h_ms() < end)
		h_sleep_ms(10);
	notify_stop(n, 200);
	notify_free(n);
	ck_assert_int_eq(outbox_count(), 6);

	h_sink_start(port);
	n = make_notify("[receiver hook]\ntype = webhook\n"
			"url = http://127.0.0.1:%d/hook\n"
			"[receiver am]\ntype = alertmanager\n"
			"url = http://127.0.0.1:%d/am\n",
	    true);
	ck_assert(h_sink_wait(6, 10));
	for (int k = 0; k < 100 && outbox_count() > 0; k++)
		h_sleep_ms(20);
	ck_assert_int_eq(outbox_count(), 0);
	h_sleep_ms(200);
	notify_free(n);
	ck_assert_int_eq(h_sink_count(), 6);
	/* Each (notice, receiver) once, in whatever order the retries
	 * allowed, with the key of its outbox record. */
	for (int k = 0; k < 3; k++) {
		const char *const rcv[] = {"hook", "am"};

		for (int m = 0; m < 2; m++) {
			char want[64], prefix[8];
			int seen = 0;

			snprintf(want, sizeof(want), "aqgrid-%d-%s", 200 + k,
			    rcv[m]);
			snprintf(prefix, sizeof(prefix), "/%s", rcv[m]);
			for (int j = 0; j < 3; j++) {
				const struct h_hook *r = h_sink_find(prefix, j);
				json_t *o = body_of(r);

				if (m == 0)
					ck_assert_str_eq(
					    STR(o, "idempotency_key"), r->idem);
				seen += strcmp(r->idem, want) == 0;
				json_decref(o);
			}
			ck_assert_int_eq(seen, 1);
		}
	}
}
END_TEST

/* kill -9 right after notify_submit() returned: a new process on the same
 * store delivers the notice once. */
START_TEST(test_kill9)
{
	char path[512], msg[256];
	int port = h_free_port(), status;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/s%d.db", h_tmpdir(), store_seq - 1);
	store_close(st);
	st = NULL;
	hook_port = port;
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* The victim: its own store connection, receiver down. */
		struct notice *nt = make_notice(500, NOTICE_FIRING);
		struct notify *n = NULL;
		struct conf *c;
		char text[256];

		if (store_open(path, 16, &st, msg, sizeof(msg)) != AQ_OK)
			_exit(2);
		snprintf(text, sizeof(text),
		    "[receiver hook]\ntype = webhook\n"
		    "url = http://127.0.0.1:%d/hook\n",
		    port);
		c = load_conf(text);
		if (notify_new(c, st, stderr, &n) != AQ_OK ||
		    notify_start(n) != AQ_OK || notify_submit(n, nt) != AQ_OK)
			_exit(3);
		raise(SIGKILL);
		_exit(4);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	ck_assert_int_eq(store_open(path, 16, &st, msg, sizeof(msg)), AQ_OK);
	ck_assert_int_eq(outbox_count(), 1);
	h_sink_start(port);
	{
		struct notify *n =
		    make_notify("[receiver hook]\ntype = webhook\n"
				"url = http://127.0.0.1:%d/hook\n",
			true);

		ck_assert(h_sink_wait(1, 10));
		for (int k = 0; k < 100 && outbox_count() > 0; k++)
			h_sleep_ms(20);
		ck_assert_int_eq(outbox_count(), 0);
		h_sleep_ms(100);
		notify_free(n);
	}
	ck_assert_int_eq(h_sink_count(), 1);
	ck_assert_str_eq(h_sink_find("/hook", 0)->idem, "aqgrid-500-hook");
}
END_TEST

/* Records of a receiver removed from the configuration are dead-lettered
 * at start, not lost and not retried forever. */
START_TEST(test_orphan)
{
	struct notice *nt = make_notice(300, NOTICE_FIRING);
	struct notify *n;
	struct deads ds = {0};

	hook_port = 9;
	n = make_notify("[receiver old]\ntype = webhook\n"
			"url = http://127.0.0.1:%d/hook\n",
	    false);
	ck_assert_int_eq(notify_submit(n, nt), AQ_OK);
	notify_free(n);
	ck_assert_int_eq(outbox_count(), 1);
	n = make_notify("[receiver new]\ntype = webhook\n"
			"url = http://127.0.0.1:%d/hook\n",
	    true);
	ck_assert_int_eq(outbox_count(), 0);
	ck_assert_int_eq(notify_dead_list(st, collect_dead, &ds), AQ_OK);
	ck_assert_int_eq(ds.n, 1);
	ck_assert_str_eq(ds.receiver[0], "old");
	ck_assert_str_eq(ds.last[0], "receiver no longer configured");
	notify_free(n);
	free(nt);
}
END_TEST

START_TEST(test_routes)
{
	struct notice *nt = make_notice(1, NOTICE_FIRING);
	struct notify *n;
	const char *ids[8];

	hook_port = 9;
	n = make_notify("[receiver a]\ntype = webhook\nurl = http://h:%d/a\n"
			"[receiver b]\ntype = webhook\nurl = http://h:%d/b\n"
			"[receiver c]\ntype = webhook\nurl = http://h:%d/c\n"
			"[route crit]\nseverity = critical\nreceivers = a\n"
			"continue = yes\n"
			"[route dc]\narea = dongcheng\nlabel = team=air\n"
			"receivers = b\n"
			"[route notair]\narea = xicheng haidian\n"
			"label = team!=air\nreceivers = c\n"
			"[route quiet]\nseverity = info\nreceivers = none\n",
	    false);
	/* critical, dongcheng, team=air: crit continues into dc. */
	ck_assert_uint_eq(notify_route(n, nt, ids, 8), 2);
	ck_assert_str_eq(ids[0], "a");
	ck_assert_str_eq(ids[1], "b");
	/* critical elsewhere: crit, and nothing after it matches. */
	snprintf(nt->area, sizeof(nt->area), "chaoyang");
	ck_assert_uint_eq(notify_route(n, nt, ids, 8), 1);
	ck_assert_str_eq(ids[0], "a");
	/* warning, dongcheng, team=air: dc stops. */
	nt->severity = SEV_WARNING;
	snprintf(nt->area, sizeof(nt->area), "dongcheng");
	ck_assert_uint_eq(notify_route(n, nt, ids, 8), 1);
	ck_assert_str_eq(ids[0], "b");
	/* warning, xicheng, team=soil: the negative matcher. */
	snprintf(nt->area, sizeof(nt->area), "xicheng");
	snprintf(nt->labels[0].value, NOTICE_ID_MAX, "soil");
	ck_assert_uint_eq(notify_route(n, nt, ids, 8), 1);
	ck_assert_str_eq(ids[0], "c");
	/* warning, xicheng, team=air: no route, so every receiver. */
	snprintf(nt->labels[0].value, NOTICE_ID_MAX, "air");
	ck_assert_uint_eq(notify_route(n, nt, ids, 8), 3);
	/* info: deliberately nobody. */
	nt->severity = SEV_INFO;
	ck_assert_uint_eq(notify_route(n, nt, ids, 8), 0);
	ck_assert_int_eq(notify_submit(n, nt), AQ_OK);
	ck_assert_int_eq(outbox_count(), 0);
	notify_free(n);
	free(nt);
}
END_TEST

START_TEST(test_conf_errors)
{
	struct conf *c;
	struct notify *n = NULL;
	char errs[8192] = "", path[512];
	FILE *f;
	size_t len;

	/* Lines 1-5 are load_conf's [mqtt] and [grid]. */
	c = load_conf("[receiver a]\ntype = fax\nurl = http://x/\n"
		      "[receiver b]\ntype = webhook\nurl = ftp://x/\n"
		      "secret = s\nsecret_file = nothere\n"
		      "rate = lots\ncolour = red\n"
		      "[receiver c]\ntype = pagerduty\nurl = http://x/\n"
		      "[route r]\nreceivers = a zz\nseverity = loud\n"
		      "continue = maybe\nlabel = =x\n"
		      "[route s]\narea = x\n");
	snprintf(path, sizeof(path), "%s/errs.txt", h_tmpdir());
	ck_assert_ptr_nonnull(f = fopen(path, "w+"));
	ck_assert_int_eq(notify_new(c, NULL, f, &n), AQ_ERR_INVAL);
	ck_assert_ptr_null(n);
	rewind(f);
	len = fread(errs, 1, sizeof(errs) - 1, f);
	errs[len] = '\0';
	fclose(f);
	conf_free(c);
#define HAS(s)                                                                 \
	ck_assert_msg(strstr(errs, s) != NULL, "no '%s' in:\n%s", s, errs)
	HAS(":6: [receiver a]: type must be one of");
	HAS(":11: url: an http:// or https:// URL");
	HAS(":13: secret_file ");
	HAS(":14: rate: an integer from 0 to 6000 expected");
	HAS(":15: unknown key 'colour' in [receiver b]");
	HAS(":9: [receiver b]: secret and secret_file both given");
	HAS(":16: [receiver c]: pagerduty needs its routing key");
	HAS(":20: receivers: no [receiver zz]");
	HAS(":21: severity: info, warning or critical expected");
	HAS(":22: continue: yes or no expected");
	HAS(":23: label: KEY=VALUE");
	HAS(":24: [route s]: no receivers");
#undef HAS
	/* A valid one checks fine without a store (aqgridd -t). */
	c = load_conf("[receiver a]\ntype = slack\nurl = https://h/x\n");
	ck_assert_int_eq(notify_new(c, NULL, stderr, &n), AQ_OK);
	ck_assert_ptr_null(n);
	conf_free(c);
}
END_TEST

/* Before notify_start() records only go to the store; start sends them. */
START_TEST(test_submit_before_start)
{
	struct notice *nt = make_notice(400, NOTICE_REPEAT);
	struct notify *n;
	json_t *o;

	hook_port = h_sink_start(0);
	n = make_notify("[receiver hook]\ntype = webhook\n"
			"url = http://127.0.0.1:%d/hook\n",
	    false);
	ck_assert_int_eq(notify_submit(n, nt), AQ_OK);
	ck_assert_int_eq(outbox_count(), 1);
	h_sleep_ms(100);
	ck_assert_int_eq(h_sink_count(), 0);
	ck_assert_int_eq(notify_start(n), AQ_OK);
	ck_assert_int_eq(notify_start(n), AQ_ERR_INVAL);
	ck_assert(h_sink_wait(1, 10));
	o = body_of(h_sink_find("/hook", 0));
	ck_assert_str_eq(STR(o, "kind"), "repeat");
	ck_assert_str_eq(STR(o, "status"), "firing");
	json_decref(o);
	notify_free(n);
	ck_assert_int_eq(h_sink_count(), 1);
	free(nt);
}
END_TEST

static Suite *
notify_suite(void)
{
	Suite *s = suite_create("notify");
	TCase *tc = tcase_create("notify");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_vectors);
	tcase_add_test(tc, test_truncate);
	tcase_add_test(tc, test_formats);
	tcase_add_test(tc, test_resolved);
	tcase_add_test(tc, test_retry_500);
	tcase_add_test(tc, test_retry_after);
	tcase_add_test(tc, test_down_then_up);
	tcase_add_test(tc, test_dead_letter);
	tcase_add_test(tc, test_rate_limit);
	tcase_add_test(tc, test_restart);
	tcase_add_test(tc, test_kill9);
	tcase_add_test(tc, test_orphan);
	tcase_add_test(tc, test_routes);
	tcase_add_test(tc, test_conf_errors);
	tcase_add_test(tc, test_submit_before_start);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_run(notify_suite());
}
