/* check_alert: the alert lifecycle -- hysteresis, pending time, missing
 * data, grouping, silences, inhibition, acks -- and its persistence across
 * a restart and a failing store. */
#include "alerts/alert.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/fix.h"

#define H 3600
#define T0 1796000000  /* event times */
#define NOW 1796100000 /* wall clock */
#define MAXN 64

static char dir[] = "/tmp/aqgrid-alert.XXXXXX";
static char errs[8192];
static struct conf *conf;
static struct rule_set *rules;
static struct notice *got; /* notices received, in order */
static uint32_t ngot;

static int decoder(const char *name);
static void on_notice(void *ctx, const struct notice *n);
static struct alert_engine *engine(struct store *s, const struct alert_opts *o);
static uint32_t count(enum notice_kind kind);
static int rule_of(const char *id);
static void sample(struct alert_engine *e, const char *rule, const char *object,
    int64_t t, bool has, double v, int64_t now);

static const struct conf_hooks hooks = {.decoder = decoder};

/* 11 rows of 10: area a is rows 0-9 (100 cells), area b row 10. */
static const char *const config =
    "[mqtt]\nsubscribe = aq/# json 1\n[grid]\nrows = 11\ncols = 10\n"
    "[area a]\ncells = r000c000-r009c009\n"
    "[area b]\ncells = r010c000-r010c009\n"
    "[rule pm]\nwhen = pm25_1h > 75\nclear = 60\nrepeat = 1h\n"
    "labels = kind=exceedance\n"
    "summary = {cell} {value}\n"
    "[rule slow]\nwhen = pm25_24h > 75\nfor = 2h\nclear_for = 2h\n"
    "repeat = 0\n"
    "[rule heavy]\nwhen = aqi > 200\nrepeat = 0\n"
    "[rule severe]\nwhen = aqi > 300\nrepeat = 0\nseverity = critical\n"
    "[rule area_pm]\nwhen = pm25_1h > 100\nscope = area\n"
    "aggregate = mean\nrepeat = 0\n"
    "[rule sensor_offline]\nwhen = offline == 1\nscope = sensor\n"
    "repeat = 0\n"
    "[rule quality]\nwhen = offline == 1\nlabels = kind=data_quality\n"
    "repeat = 0\n"
    "[inhibit s]\nsource = rule=severe\ntarget = rule=heavy\n"
    "equal = cell\n"
    "[inhibit q]\nsource = rule=sensor_offline\n"
    "target = kind=data_quality\nequal = cell\n";

static int
decoder(const char *name)
{
	return strcmp(name, "json") == 0 ? 0 : -1;
}

static void
on_notice(void *ctx, const struct notice *n)
{
	(void)ctx;
	ck_assert_uint_lt(ngot, MAXN);
	got[ngot++] = *n;
}

static struct alert_engine *
engine(struct store *s, const struct alert_opts *o)
{
	struct alert_engine *e =
	    alert_engine_new(conf, rules, o, s, on_notice, NULL);

	ck_assert_ptr_nonnull(e);
	return e;
}

static uint32_t
count(enum notice_kind kind)
{
	uint32_t n = 0;

	for (uint32_t k = 0; k < ngot; k++)
		n += got[k].kind == kind;
	return n;
}

static int
rule_of(const char *id)
{
	int r = rule_find(rules, id);

	ck_assert_int_ge(r, 0);
	return r;
}

static void
sample(struct alert_engine *e, const char *rule, const char *object, int64_t t,
    bool has, double v, int64_t now)
{
	ck_assert_int_eq(alert_engine_sample(e, (uint32_t)rule_of(rule), object,
			     -1, t, has, v, now),
	    AQ_OK);
	ck_assert_int_eq(alert_engine_tick(e, now), AQ_OK);
}

static enum alert_state
state_of(struct alert_engine *e, const char *rule, const char *object)
{
	char fp[NOTICE_ID_MAX];
	struct alert_info ai;

	alert_fingerprint(rule, object, fp);
	if (alert_engine_get(e, fp, &ai, NOW) != AQ_OK)
		return ALERT_INACTIVE;
	return ai.state;
}

static void
setup(void)
{
	char path[256];
	FILE *f;

	strcpy(dir, "/tmp/aqgrid-alert.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a.conf", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(config, f);
	fclose(f);
	ck_assert_ptr_nonnull(f = fmemopen(errs, sizeof(errs), "w"));
	ck_assert_int_eq(conf_load(path, &hooks, &conf, f), AQ_OK);
	ck_assert_int_eq(rule_set_load(conf, &rules, f), AQ_OK);
	fclose(f);
	ck_assert_ptr_nonnull(got = calloc(MAXN, sizeof(*got)));
	ngot = 0;
}

static void
teardown(void)
{
	char cmd[300];

	free(got);
	rule_set_free(rules);
	conf_free(conf);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(noisy_series_fires_once_resolves_once)
{
	struct alert_engine *e = engine(NULL, NULL);
	/* Around 75 with the clear threshold at 60. */
	static const double series[] = {70, 74.9, 80, 74, 78, 65, 76, 61, 62,
	    75, 90, 60.5, 59, 62, 70, 74, 58, 50};
	size_t n = sizeof(series) / sizeof(series[0]);

	for (size_t k = 0; k < n; k++)
		sample(e, "pm", "r000c000", T0 + (int64_t)k * H, true,
		    series[k], NOW + (int64_t)k * 10);
	ck_assert_uint_eq(ngot, 2);
	ck_assert_int_eq(got[0].kind, NOTICE_FIRING);
	ck_assert_uint_eq(got[0].nalerts, 1);
	ck_assert(got[0].alerts[0].value == 80);
	ck_assert_int_eq(got[0].alerts[0].starts_at, T0 + 2 * H);
	ck_assert_str_eq(got[0].alerts[0].cell, "r000c000");
	ck_assert_str_eq(got[0].alerts[0].area, "a");
	ck_assert_str_eq(got[0].alerts[0].summary, "r000c000 80");
	ck_assert_str_eq(got[0].rule, "pm");
	ck_assert_str_eq(got[0].op, ">");
	ck_assert(got[0].threshold == 75);
	ck_assert_int_eq(got[1].kind, NOTICE_RESOLVED);
	ck_assert_int_eq(got[1].alerts[0].ends_at, T0 + 12 * H);
	ck_assert_int_eq(got[1].alerts[0].alert_id, got[0].alerts[0].alert_id);
	ck_assert_uint_gt(got[1].id, got[0].id);
	/* 74 and 58 later: no new episode. */
	ck_assert_int_eq(state_of(e, "pm", "r000c000"), ALERT_RESOLVED);
	alert_engine_free(e);
}
END_TEST

START_TEST(pending_time)
{
	struct alert_engine *e = engine(NULL, NULL);

	sample(e, "slow", "r000c001", T0, true, 80, NOW);
	ck_assert_int_eq(state_of(e, "slow", "r000c001"), ALERT_PENDING);
	sample(e, "slow", "r000c001", T0 + H, true, 80, NOW);
	ck_assert_int_eq(state_of(e, "slow", "r000c001"), ALERT_PENDING);
	/* A dip cancels; pending starts over. */
	sample(e, "slow", "r000c001", T0 + 2 * H, true, 70, NOW);
	ck_assert_int_eq(state_of(e, "slow", "r000c001"), ALERT_INACTIVE);
	sample(e, "slow", "r000c001", T0 + 3 * H, true, 80, NOW);
	sample(e, "slow", "r000c001", T0 + 4 * H, true, 80, NOW);
	ck_assert_uint_eq(ngot, 0);
	sample(e, "slow", "r000c001", T0 + 5 * H, true, 80, NOW);
	ck_assert_int_eq(state_of(e, "slow", "r000c001"), ALERT_FIRING);
	ck_assert_uint_eq(count(NOTICE_FIRING), 1);
	ck_assert_int_eq(got[0].alerts[0].starts_at, T0 + 5 * H);
	/* clear_for 2h: one safe hour is not enough, a bad one restarts. */
	sample(e, "slow", "r000c001", T0 + 6 * H, true, 10, NOW);
	sample(e, "slow", "r000c001", T0 + 7 * H, true, 76, NOW);
	sample(e, "slow", "r000c001", T0 + 8 * H, true, 10, NOW);
	sample(e, "slow", "r000c001", T0 + 9 * H, true, 10, NOW);
	ck_assert_int_eq(state_of(e, "slow", "r000c001"), ALERT_FIRING);
	sample(e, "slow", "r000c001", T0 + 10 * H, true, 10, NOW);
	ck_assert_int_eq(state_of(e, "slow", "r000c001"), ALERT_RESOLVED);
	ck_assert_uint_eq(count(NOTICE_RESOLVED), 1);
	alert_engine_free(e);
}
END_TEST

START_TEST(missing_data_holds_state)
{
	struct alert_engine *e = engine(NULL, NULL);
	struct cell_view v = {.cell = 5, .hour = 1, .hour_end = T0};

	/* Firing, then the cell goes unknown for a day: no resolve. */
	sample(e, "pm", "r000c005", T0, true, 90, NOW);
	ck_assert_int_eq(state_of(e, "pm", "r000c005"), ALERT_FIRING);
	for (int k = 1; k <= 24; k++) {
		v.hour_end = T0 + k * H;
		ck_assert_int_eq(
		    alert_engine_cell(e, &v, true, NOW + k), AQ_OK);
		ck_assert_int_eq(alert_engine_tick(e, NOW + k), AQ_OK);
	}
	ck_assert_int_eq(state_of(e, "pm", "r000c005"), ALERT_FIRING);
	ck_assert_uint_eq(count(NOTICE_RESOLVED), 0);
	/* Offline is not clean: the cell's data-quality alert fires. */
	ck_assert_int_eq(state_of(e, "quality", "r000c005"), ALERT_FIRING);
	/* A pending alert stays pending over missing data too. */
	sample(e, "slow", "r000c006", T0, true, 80, NOW);
	sample(e, "slow", "r000c006", T0 + H, false, 0, NOW);
	ck_assert_int_eq(state_of(e, "slow", "r000c006"), ALERT_PENDING);
	sample(e, "slow", "r000c006", T0 + 2 * H, true, 80, NOW);
	ck_assert_int_eq(state_of(e, "slow", "r000c006"), ALERT_FIRING);
	/* Data returns, clean: resolved. */
	v.stats.in.has = IND_BIT(IND_PM25_1H);
	v.stats.in.v[IND_PM25_1H] = 20 * FIX_ONE;
	v.aqi.aqi = 30;
	v.hour_end = T0 + 25 * H;
	ck_assert_int_eq(alert_engine_cell(e, &v, false, NOW + 100), AQ_OK);
	ck_assert_int_eq(alert_engine_tick(e, NOW + 100), AQ_OK);
	ck_assert_int_eq(state_of(e, "pm", "r000c005"), ALERT_RESOLVED);
	ck_assert_int_eq(state_of(e, "quality", "r000c005"), ALERT_RESOLVED);
	alert_engine_free(e);
}
END_TEST

START_TEST(grouping_by_rule_and_area)
{
	struct alert_engine *e = engine(NULL, NULL);
	char id[16];
	int r = rule_of("pm");

	/* 100 cells of area a and one of b fire in one batch. */
	for (int k = 0; k < 100; k++) {
		snprintf(id, sizeof(id), "r%03dc%03d", k / 10, k % 10);
		ck_assert_int_eq(alert_engine_sample(e, (uint32_t)r, id, -1, T0,
				     true, 100 + k, NOW),
		    AQ_OK);
	}
	ck_assert_int_eq(alert_engine_sample(
			     e, (uint32_t)r, "r010c000", -1, T0, true, 99, NOW),
	    AQ_OK);
	ck_assert_uint_eq(ngot, 0);
	ck_assert_int_eq(alert_engine_tick(e, NOW), AQ_OK);
	ck_assert_uint_eq(ngot, 2);
	ck_assert_str_eq(got[0].area, "a");
	ck_assert_uint_eq(got[0].nalerts, 100);
	ck_assert_str_eq(got[0].alerts[99].cell, "r009c009");
	ck_assert_str_eq(got[1].area, "b");
	ck_assert_uint_eq(got[1].nalerts, 1);
	/* A straggler waits for the group interval (30 s) after the last
	 * notice of its group. */
	ck_assert_int_eq(alert_engine_sample(e, (uint32_t)r, "r010c001", -1, T0,
			     true, 99, NOW + 5),
	    AQ_OK);
	ck_assert_int_eq(alert_engine_tick(e, NOW + 5), AQ_OK);
	ck_assert_int_eq(alert_engine_tick(e, NOW + 29), AQ_OK);
	ck_assert_uint_eq(ngot, 2);
	ck_assert_int_eq(alert_engine_tick(e, NOW + 30), AQ_OK);
	ck_assert_uint_eq(ngot, 3);
	ck_assert_str_eq(got[2].alerts[0].cell, "r010c001");
	alert_engine_free(e);
}
END_TEST

START_TEST(area_aggregate)
{
	struct alert_engine *e = engine(NULL, NULL);
	struct cell_view v = {.hour = 1, .hour_end = T0};

	v.stats.in.has = IND_BIT(IND_PM25_1H);
	v.aqi.aqi = -1;
	/* Area b: mean of its reporting cells. */
	v.cell = 100;
	v.stats.in.v[IND_PM25_1H] = 150 * FIX_ONE;
	ck_assert_int_eq(alert_engine_cell(e, &v, false, NOW), AQ_OK);
	ck_assert_int_eq(state_of(e, "area_pm", "b"), ALERT_FIRING);
	v.cell = 101;
	v.stats.in.v[IND_PM25_1H] = 60 * FIX_ONE;
	ck_assert_int_eq(alert_engine_cell(e, &v, false, NOW), AQ_OK);
	/* (150 + 60) / 2 > 100 */
	ck_assert_int_eq(state_of(e, "area_pm", "b"), ALERT_FIRING);
	v.cell = 102;
	v.stats.in.v[IND_PM25_1H] = 40 * FIX_ONE;
	ck_assert_int_eq(alert_engine_cell(e, &v, false, NOW), AQ_OK);
	/* (150 + 60 + 40) / 3 < 100 */
	ck_assert_int_eq(state_of(e, "area_pm", "b"), ALERT_RESOLVED);
	ck_assert_int_eq(state_of(e, "area_pm", "a"), ALERT_INACTIVE);
	alert_engine_free(e);
}
END_TEST

START_TEST(silences_hold)
{
	struct alert_engine *e = engine(NULL, NULL);
	struct alert_silence s = {.nm = 2, .start = NOW, .end = NOW + 600};
	struct alert_silence list[4];
	uint64_t id = 0;

	snprintf(s.m[0].key, sizeof(s.m[0].key), "rule");
	snprintf(s.m[0].value, sizeof(s.m[0].value), "pm");
	snprintf(s.m[1].key, sizeof(s.m[1].key), "cell");
	snprintf(s.m[1].value, sizeof(s.m[1].value), "r000c003");
	s.m[1].neq = true;
	snprintf(s.author, sizeof(s.author), "duty");
	ck_assert_int_eq(alert_silence_add(e, &s, NOW, &id), AQ_OK);
	ck_assert_uint_gt(id, 0);
	/* Silenced: still changes state, emits nothing. */
	sample(e, "pm", "r000c002", T0, true, 90, NOW + 1);
	ck_assert_int_eq(state_of(e, "pm", "r000c002"), ALERT_FIRING);
	ck_assert_uint_eq(ngot, 0);
	/* cell != r000c003: that one is not silenced. */
	sample(e, "pm", "r000c003", T0, true, 90, NOW + 2);
	ck_assert_uint_eq(ngot, 1);
	ck_assert_str_eq(got[0].alerts[0].cell, "r000c003");
	/* Within the window, still nothing; when it ends, the still-firing
	 * alert is announced. */
	ck_assert_int_eq(alert_engine_tick(e, NOW + 300), AQ_OK);
	ck_assert_uint_eq(ngot, 1);
	ck_assert_int_eq(alert_silence_expire(e, id, NOW + 301), AQ_OK);
	ck_assert_int_eq(alert_engine_tick(e, NOW + 301), AQ_OK);
	ck_assert_uint_eq(ngot, 2);
	ck_assert_int_eq(got[1].kind, NOTICE_FIRING);
	ck_assert_str_eq(got[1].alerts[0].cell, "r000c002");
	ck_assert_uint_eq(alert_silences(e, list, 4), 1);
	ck_assert_int_eq(list[0].end, NOW + 301);
	ck_assert_str_eq(list[0].author, "duty");
	/* A silenced alert that ends unannounced says nothing. */
	s.nm = 1;
	s.start = NOW + 400;
	s.end = NOW + 9000;
	ck_assert_int_eq(alert_silence_add(e, &s, NOW + 400, NULL), AQ_OK);
	sample(e, "pm", "r000c004", T0, true, 90, NOW + 401);
	sample(e, "pm", "r000c004", T0 + H, true, 10, NOW + 402);
	ck_assert_int_eq(state_of(e, "pm", "r000c004"), ALERT_RESOLVED);
	ck_assert_uint_eq(ngot, 2);
	/* Bad silences. */
	s.end = s.start;
	ck_assert_int_eq(alert_silence_add(e, &s, NOW, NULL), AQ_ERR_INVAL);
	ck_assert_int_eq(alert_silence_expire(e, 999999, NOW), AQ_ERR_INVAL);
	alert_engine_free(e);
}
END_TEST

START_TEST(inhibition_holds)
{
	struct alert_engine *e = engine(NULL, NULL);
	struct alert_info ai;
	char fp[NOTICE_ID_MAX];

	/* AQI 320 in one evaluation: heavy and severe fire together;
	 * only severe is heard.  Another cell's heavy is heard. */
	ck_assert_int_eq(alert_engine_sample(e, (uint32_t)rule_of("heavy"),
			     "r001c001", -1, T0, true, 320, NOW),
	    AQ_OK);
	ck_assert_int_eq(alert_engine_sample(e, (uint32_t)rule_of("severe"),
			     "r001c001", -1, T0, true, 320, NOW),
	    AQ_OK);
	ck_assert_int_eq(alert_engine_sample(e, (uint32_t)rule_of("heavy"),
			     "r001c002", -1, T0, true, 250, NOW),
	    AQ_OK);
	ck_assert_int_eq(alert_engine_tick(e, NOW), AQ_OK);
	ck_assert_uint_eq(ngot, 2);
	ck_assert_str_eq(got[0].rule, "heavy");
	ck_assert_str_eq(got[0].alerts[0].cell, "r001c002");
	ck_assert_str_eq(got[1].rule, "severe");
	ck_assert_int_eq(got[1].severity, SEV_CRITICAL);
	alert_fingerprint("heavy", "r001c001", fp);
	ck_assert_int_eq(alert_engine_get(e, fp, &ai, NOW), AQ_OK);
	ck_assert(ai.inhibited && ai.state == ALERT_FIRING && !ai.announced);
	/* Severe ends, heavy goes on: now it is announced. */
	sample(e, "severe", "r001c001", T0 + H, true, 250, NOW + 60);
	sample(e, "heavy", "r001c001", T0 + H, true, 250, NOW + 60);
	ck_assert_uint_eq(ngot, 4);
	ck_assert_int_eq(got[2].kind, NOTICE_RESOLVED);
	ck_assert_str_eq(got[2].rule, "severe");
	ck_assert_int_eq(got[3].kind, NOTICE_FIRING);
	ck_assert_str_eq(got[3].rule, "heavy");
	ck_assert_str_eq(got[3].alerts[0].cell, "r001c001");
	/* Offline sensor mutes its cell's data-quality alert. */
	ck_assert_int_eq(
	    alert_engine_sensor(e, "s-1", 30, true, NOW + 100, NOW + 100),
	    AQ_OK);
	ck_assert_int_eq(alert_engine_sample(e, (uint32_t)rule_of("quality"),
			     "r003c000", -1, NOW + 100, true, 1, NOW + 100),
	    AQ_OK);
	ck_assert_int_eq(alert_engine_tick(e, NOW + 100), AQ_OK);
	ck_assert_uint_eq(ngot, 5);
	ck_assert_str_eq(got[4].rule, "sensor_offline");
	ck_assert_str_eq(got[4].alerts[0].sensor, "s-1");
	ck_assert_str_eq(got[4].alerts[0].cell, "r003c000");
	ck_assert_int_eq(state_of(e, "quality", "r003c000"), ALERT_FIRING);
	alert_engine_free(e);
}
END_TEST

START_TEST(ack_stops_repeats_not_resolve)
{
	struct alert_engine *e = engine(NULL, NULL);
	char fp[NOTICE_ID_MAX];
	struct alert_info ai;

	sample(e, "pm", "r002c002", T0, true, 90, NOW);
	ck_assert_uint_eq(ngot, 1);
	/* repeat = 1h, by the wall clock. */
	ck_assert_int_eq(alert_engine_tick(e, NOW + H - 1), AQ_OK);
	ck_assert_uint_eq(ngot, 1);
	ck_assert_int_eq(alert_engine_tick(e, NOW + H), AQ_OK);
	ck_assert_uint_eq(ngot, 2);
	ck_assert_int_eq(got[1].kind, NOTICE_REPEAT);
	ck_assert_int_eq(alert_engine_tick(e, NOW + 2 * H), AQ_OK);
	ck_assert_uint_eq(count(NOTICE_REPEAT), 2);
	alert_fingerprint("pm", "r002c002", fp);
	ck_assert_int_eq(
	    alert_ack(e, fp, "li", "on it", NOW + 2 * H + 5), AQ_OK);
	ck_assert_int_eq(alert_engine_tick(e, NOW + 5 * H), AQ_OK);
	ck_assert_uint_eq(count(NOTICE_REPEAT), 2);
	ck_assert_int_eq(alert_engine_get(e, fp, &ai, NOW), AQ_OK);
	ck_assert(ai.acked);
	ck_assert_str_eq(ai.ack_who, "li");
	ck_assert_str_eq(ai.ack_comment, "on it");
	ck_assert_int_eq(ai.ack_at, NOW + 2 * H + 5);
	sample(e, "pm", "r002c002", T0 + H, true, 10, NOW + 6 * H);
	ck_assert_uint_eq(count(NOTICE_RESOLVED), 1);
	/* Nothing open to acknowledge any more. */
	ck_assert_int_eq(alert_ack(e, fp, "li", "", NOW), AQ_ERR_INVAL);
	ck_assert_int_eq(alert_ack(e, "0000", "li", "", NOW), AQ_ERR_INVAL);
	alert_engine_free(e);
}
END_TEST

static struct store *
open_store(void)
{
	char path[300], msg[200];
	struct store *s = NULL;

	snprintf(path, sizeof(path), "%s/aq.db", dir);
	ck_assert_int_eq(store_open(path, 16, &s, msg, sizeof(msg)), AQ_OK);
	return s;
}

static int
count_log(void *ctx, int64_t id, const void *value, size_t len)
{
	char buf[4096];

	(void)id;
	snprintf(buf, sizeof(buf), "%.*s", (int)len, (const char *)value);
	if (strstr(buf, "event=firing\n") != NULL)
		(*(int *)ctx)++;
	return 0;
}

START_TEST(restart_announces_nothing_again)
{
	struct store *s = open_store();
	struct alert_engine *e = engine(s, NULL);
	uint64_t last_id, sil = 0;
	struct alert_silence si = {.nm = 1, .start = NOW, .end = NOW + 9 * H};
	struct alert_silence list[2];
	char fp[NOTICE_ID_MAX];
	struct alert_info ai;
	int firings = 0;

	snprintf(si.m[0].key, sizeof(si.m[0].key), "cell");
	snprintf(si.m[0].value, sizeof(si.m[0].value), "r009c009");
	ck_assert_int_eq(alert_silence_add(e, &si, NOW, &sil), AQ_OK);
	sample(e, "pm", "r000c000", T0, true, 90, NOW);
	sample(e, "pm", "r000c001", T0, true, 90, NOW + 40);
	sample(e, "slow", "r000c002", T0, true, 90, NOW + 80);
	alert_fingerprint("pm", "r000c001", fp);
	ck_assert_int_eq(alert_ack(e, fp, "wang", "seen", NOW + 90), AQ_OK);
	ck_assert_uint_eq(ngot, 2);
	last_id = got[1].id;
	/* kill -9 loses nothing committed: no close of the engine needed,
	 * but the store is closed to reopen it in this process. */
	alert_engine_free(e);
	store_close(s);

	s = open_store();
	e = engine(s, NULL);
	ck_assert_int_eq(alert_engine_load(e, NOW + 100), AQ_OK);
	ck_assert_int_eq(alert_engine_tick(e, NOW + 100), AQ_OK);
	ck_assert_uint_eq(ngot, 2); /* nothing re-announced */
	ck_assert_int_eq(state_of(e, "pm", "r000c000"), ALERT_FIRING);
	ck_assert_int_eq(state_of(e, "slow", "r000c002"), ALERT_PENDING);
	ck_assert_int_eq(alert_engine_get(e, fp, &ai, NOW), AQ_OK);
	ck_assert(ai.acked && ai.announced);
	ck_assert_str_eq(ai.ack_who, "wang");
	ck_assert_uint_eq(alert_silences(e, list, 2), 1);
	ck_assert_uint_eq(list[0].id, sil);
	/* Repeats go on at the old cadence: the unacked one only. */
	ck_assert_int_eq(alert_engine_tick(e, NOW + H + 1), AQ_OK);
	ck_assert_uint_eq(ngot, 3);
	ck_assert_int_eq(got[2].kind, NOTICE_REPEAT);
	ck_assert_str_eq(got[2].alerts[0].cell, "r000c000");
	/* Cleared while down: the next samples resolve and announce it,
	 * with a notice id above those before the restart. */
	sample(e, "pm", "r000c000", T0 + 5 * H, true, 20, NOW + H + 50);
	ck_assert_uint_eq(ngot, 4);
	ck_assert_int_eq(got[3].kind, NOTICE_RESOLVED);
	ck_assert_uint_gt(got[3].id, last_id);
	/* The pending one keeps its start: fires 2 h after it. */
	sample(e, "slow", "r000c002", T0 + 2 * H, true, 90, NOW + H + 60);
	ck_assert_int_eq(state_of(e, "slow", "r000c002"), ALERT_FIRING);
	ck_assert_int_eq(
	    store_log_read(s, "alertlog", 0, 1000, count_log, &firings), AQ_OK);
	ck_assert_int_eq(firings, 3);
	alert_engine_free(e);
	store_close(s);
}
END_TEST

START_TEST(store_failure_keeps_state)
{
	struct store *s = open_store();
	struct alert_engine *e = engine(s, NULL);
	struct alert_stats st;
	int rc = AQ_OK;
	char id[16];

	/* A full disk: writes fail, the engine goes on in memory. */
	store_test_limit_pages(s, 1);
	for (int k = 0; k < 100 && rc == AQ_OK; k++) {
		snprintf(id, sizeof(id), "r%03dc%03d", k / 10, k % 10);
		rc = alert_engine_sample(
		    e, (uint32_t)rule_of("pm"), id, -1, T0, true, 90, NOW);
	}
	ck_assert_int_eq(rc, AQ_ERR_IO);
	for (int k = 0; k < 100; k++) {
		snprintf(id, sizeof(id), "r%03dc%03d", k / 10, k % 10);
		(void)alert_engine_sample(
		    e, (uint32_t)rule_of("pm"), id, -1, T0, true, 90, NOW);
	}
	ck_assert_int_eq(alert_engine_tick(e, NOW), AQ_ERR_IO);
	alert_engine_stats(e, &st);
	ck_assert_uint_gt(st.store_failures, 0);
	ck_assert_uint_gt(st.unsaved, 0);
	ck_assert_uint_eq(st.firing, 100);
	ck_assert_uint_eq(ngot, 1); /* notified all the same */
	/* Space again: the next call writes everything. */
	store_test_limit_pages(s, 0);
	ck_assert_int_eq(alert_engine_tick(e, NOW + 1), AQ_OK);
	alert_engine_stats(e, &st);
	ck_assert_uint_eq(st.unsaved, 0);
	alert_engine_free(e);
	store_close(s);
	/* And it is all there after a restart. */
	s = open_store();
	e = engine(s, NULL);
	ck_assert_int_eq(alert_engine_load(e, NOW + 2), AQ_OK);
	ck_assert_int_eq(alert_engine_tick(e, NOW + 2), AQ_OK);
	alert_engine_stats(e, &st);
	ck_assert_uint_eq(st.firing, 100);
	ck_assert_uint_eq(ngot, 1);
	alert_engine_free(e);
	store_close(s);
}
END_TEST

START_TEST(fingerprints_and_bad_input)
{
	struct alert_engine *e = engine(NULL, NULL);
	char a[NOTICE_ID_MAX], b[NOTICE_ID_MAX];

	alert_fingerprint("pm", "r000c000", a);
	alert_fingerprint("pm", "r000c000", b);
	ck_assert_str_eq(a, b);
	ck_assert_uint_eq(strlen(a), 16);
	alert_fingerprint("pm", "r000c001", b);
	ck_assert_str_ne(a, b);
	ck_assert_int_eq(
	    alert_engine_sample(e, 999, "r000c000", -1, T0, true, 1, NOW),
	    AQ_ERR_INVAL);
	ck_assert_int_eq(alert_engine_sample(e, (uint32_t)rule_of("pm"),
			     "r099c000", -1, T0, true, 1, NOW),
	    AQ_ERR_INVAL);
	ck_assert_int_eq(alert_engine_sample(e, (uint32_t)rule_of("area_pm"),
			     "nowhere", -1, T0, true, 1, NOW),
	    AQ_ERR_INVAL);
	ck_assert_int_eq(
	    alert_engine_sensor(e, "s", 5000, true, T0, NOW), AQ_ERR_INVAL);
	/* The same condition never opens two alerts. */
	sample(e, "pm", "r000c000", T0, true, 90, NOW);
	sample(e, "pm", "r000c000", T0 + H, true, 95, NOW + 1);
	ck_assert_uint_eq(count(NOTICE_FIRING), 1);
	ck_assert_str_eq(got[0].alerts[0].fingerprint, a);
	ck_assert_ptr_null(
	    alert_engine_new(conf, rules, NULL, NULL, NULL, NULL));
	alert_engine_free(e);
	alert_engine_free(NULL);
}
END_TEST

static Suite *
alert_suite(void)
{
	Suite *s = suite_create("alert");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, noisy_series_fires_once_resolves_once);
	tcase_add_test(tc, pending_time);
	tcase_add_test(tc, missing_data_holds_state);
	tcase_add_test(tc, grouping_by_rule_and_area);
	tcase_add_test(tc, area_aggregate);
	tcase_add_test(tc, silences_hold);
	tcase_add_test(tc, inhibition_holds);
	tcase_add_test(tc, ack_stops_repeats_not_resolve);
	tcase_add_test(tc, restart_announces_nothing_again);
	tcase_add_test(tc, store_failure_keeps_state);
	tcase_add_test(tc, fingerprints_and_bad_input);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(alert_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
