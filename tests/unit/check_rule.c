/* check_rule: alert rules, their grammar, errors with file:line, the
 * shipped defaults and the values rules read from a cell's view. */
#include "alerts/rule.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/fix.h"
#include "daemon/limits.h"

static char dir[] = "/tmp/aqgrid-rule.XXXXXX";
static char errs[16384];

static int decoder(const char *name);
static struct conf *load_conf(const char *text, int want);
static struct rule_set *load_rules(const char *text, int want);

static const struct conf_hooks hooks = {.decoder = decoder};

#define MIN "[mqtt]\nsubscribe = aq/# json 1\n[grid]\nrows = 2\ncols = 2\n"

static int
decoder(const char *name)
{
	return strcmp(name, "json") == 0 || strcmp(name, "senml") == 0 ||
		strcmp(name, "airgradient") == 0 ||
		strcmp(name, "sensor.community") == 0
	    ? 0
	    : -1;
}

static struct conf *
load_conf(const char *text, int want)
{
	char path[256];
	struct conf *c = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "%s/a.conf", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	ck_assert_ptr_nonnull(f = fmemopen(errs, sizeof(errs), "w"));
	memset(errs, 0, sizeof(errs));
	ck_assert_int_eq(conf_load(path, &hooks, &c, f), want);
	fclose(f);
	return c;
}

/* Loads MIN + text and its rules; want is AQ_OK or AQ_ERR_INVAL. */
static struct rule_set *
load_rules(const char *text, int want)
{
	char buf[8192];
	struct conf *c;
	struct rule_set *rs = NULL;
	FILE *f;

	snprintf(buf, sizeof(buf), "%s%s", MIN, text);
	c = load_conf(buf, AQ_OK);
	ck_assert_ptr_nonnull(f = fmemopen(errs, sizeof(errs), "w"));
	memset(errs, 0, sizeof(errs));
	ck_assert_int_eq(rule_set_load(c, &rs, f), want);
	fclose(f);
	conf_free(c);
	if (want != AQ_OK)
		ck_assert_ptr_null(rs);
	return rs;
}

static void
setup(void)
{
	strcpy(dir, "/tmp/aqgrid-rule.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* "when" texts, what they parse to, or the error they give. */
static const struct {
	const char *text;
	int var, ind, op;
	double thr;
	const char *err; /* NULL: valid */
} whens[] = {
    {"pm25_24h > 75", RV_HOUR, IND_PM25_24H, RULE_GT, 75, NULL},
    {"  o3_8h>=160  ", RV_HOUR, IND_O3_8H, RULE_GE, 160, NULL},
    {"aqi>200", RV_AQI, -1, RULE_GT, 200, NULL},
    {"level == 6", RV_LEVEL, -1, RULE_EQ, 6, NULL},
    {"exceeds.pm25_24h == 1", RV_EXCEEDS, IND_PM25_24H, RULE_EQ, 1, NULL},
    {"day.pm25_24h > 60", RV_DAY, IND_PM25_24H, RULE_GT, 60, NULL},
    {"o3_mda8 > 160", RV_DAY, IND_O3_8H, RULE_GT, 160, NULL},
    {"day.aqi >= 201", RV_DAY_AQI, -1, RULE_GE, 201, NULL},
    {"day.level != 1", RV_DAY_LEVEL, -1, RULE_NE, 1, NULL},
    {"day.exceeds.o3_8h == 1", RV_DAY_EXCEEDS, IND_O3_8H, RULE_EQ, 1, NULL},
    {"offline == 1", RV_OFFLINE, -1, RULE_EQ, 1, NULL},
    {"fault == 1", RV_FAULT, -1, RULE_EQ, 1, NULL},
    {"co_1h < 0.5", RV_HOUR, IND_CO_1H, RULE_LT, 0.5, NULL},
    {"no2_1h <= -1e2", RV_HOUR, IND_NO2_1H, RULE_LE, -100, NULL},
    {"forecast.pm25_24h.12h > 60", RV_FORECAST, IND_PM25_24H, RULE_GT, 60,
	NULL},
    {"forecast.o3_8h.72h >= 160", RV_FORECAST, IND_O3_8H, RULE_GE, 160, NULL},
    {"forecast.pm25_1h.1h > 75", RV_FORECAST, IND_PM25_1H, RULE_GT, 75, NULL},
    {"forecast.aqi > 200", 0, 0, 0, 0, "expected forecast.IND.Nh"},
    {"forecast > 1", 0, 0, 0, 0, "expected forecast.IND.Nh"},
    {"forecast.pm25_24h > 1", 0, 0, 0, 0, "expected forecast.IND.Nh"},
    {"forecast.pm25_24h.73h > 1", 0, 0, 0, 0, "N 1..72"},
    {"forecast.pm25_24h.0h > 1", 0, 0, 0, 0, "N 1..72"},
    {"forecast.pm25_24h.12 > 1", 0, 0, 0, 0, "expected forecast.IND.Nh"},
    {"forecast.no2_1h.12h > 1", 0, 0, 0, 0, "expected forecast.IND.Nh"},
    {"pm25_annual > 35", 0, 0, 0, 0, "unknown variable 'pm25_annual'"},
    {"exceeds.pm25_1h == 1", 0, 0, 0, 0, "has no GB 3095 limit"},
    {"PM25_1h > 1", 0, 0, 0, 0, "expected VARIABLE OP NUMBER"},
    {"", 0, 0, 0, 0, "expected VARIABLE OP NUMBER"},
    {"aqi", 0, 0, 0, 0, "expected >, >=, <, <=, == or !="},
    {"aqi = 3", 0, 0, 0, 0, "expected >, >="},
    {"aqi > ", 0, 0, 0, 0, "expected a number"},
    {"aqi > nan", 0, 0, 0, 0, "expected a number"},
    {"aqi > inf", 0, 0, 0, 0, "expected a number"},
    {"aqi > 1e999", 0, 0, 0, 0, "expected a number"},
    {"aqi > 3 4", 0, 0, 0, 0, "unexpected text"},
    {"aqi > 0x10", 0, 0, 0, 0, "unexpected text"},
    {"a.very.long.variable.name.beyond.the.limit > 1", 0, 0, 0, 0, "too long"},
};

START_TEST(parse_when)
{
	struct rule_when w;
	char err[128] = "";
	int rc = rule_parse_when(whens[_i].text, &w, err, sizeof(err));

	if (whens[_i].err == NULL) {
		ck_assert_msg(rc == AQ_OK, "%s: %s", whens[_i].text, err);
		ck_assert_int_eq(w.var, whens[_i].var);
		ck_assert_int_eq(w.ind, whens[_i].ind);
		ck_assert_int_eq(w.op, whens[_i].op);
		ck_assert(w.threshold == whens[_i].thr);
	} else {
		ck_assert_int_eq(rc, AQ_ERR_INVAL);
		ck_assert_msg(strstr(err, whens[_i].err) != NULL, "%s: %s",
		    whens[_i].text, err);
	}
}
END_TEST

START_TEST(durations)
{
	int64_t d = -1;

	ck_assert_int_eq(rule_parse_duration("90s", &d), AQ_OK);
	ck_assert_int_eq(d, 90);
	ck_assert_int_eq(rule_parse_duration("15m", &d), AQ_OK);
	ck_assert_int_eq(d, 900);
	ck_assert_int_eq(rule_parse_duration("2h", &d), AQ_OK);
	ck_assert_int_eq(d, 7200);
	ck_assert_int_eq(rule_parse_duration("1d", &d), AQ_OK);
	ck_assert_int_eq(d, 86400);
	ck_assert_int_eq(rule_parse_duration("0", &d), AQ_OK);
	ck_assert_int_eq(d, 0);
	ck_assert_int_ne(rule_parse_duration("90", &d), AQ_OK);
	ck_assert_int_ne(rule_parse_duration("-5m", &d), AQ_OK);
	ck_assert_int_ne(rule_parse_duration("1h30m", &d), AQ_OK);
	ck_assert_int_ne(rule_parse_duration("2w", &d), AQ_OK);
	ck_assert_int_ne(rule_parse_duration("367d", &d), AQ_OK);
	ck_assert_int_ne(
	    rule_parse_duration("99999999999999999999s", &d), AQ_OK);
	ck_assert_int_ne(rule_parse_duration("", &d), AQ_OK);
	ck_assert_int_eq(d, 0);
}
END_TEST

/* A data-quality rule reads 'fault', for scope sensor only. */
START_TEST(fault_rule)
{
	struct rule_set *rs =
	    load_rules("[rule dq]\nwhen = fault == 1\nscope = sensor\n", AQ_OK);

	ck_assert_int_eq(rs->rules[rule_find(rs, "dq")].when.var, RV_FAULT);
	ck_assert_int_eq(rs->rules[rule_find(rs, "dq")].scope, SCOPE_SENSOR);
	rule_set_free(rs);
	ck_assert_ptr_null(
	    load_rules("[rule dq]\nwhen = fault == 1\n", AQ_ERR_INVAL));
	ck_assert_ptr_nonnull(
	    strstr(errs, "when: 'fault' is for scope sensor"));
}
END_TEST

START_TEST(a_whole_rule)
{
	struct rule_set *rs =
	    load_rules("[rule pm]\nname = PM high\n"
		       "name_zh = 颗粒物高\n"
		       "when = pm25_24h > 75\nclear = 60\n"
		       "for = 2h\nclear_for = 90m\n"
		       "repeat = 1d\nseverity = critical\n"
		       "scope = area\naggregate = mean\n"
		       "labels = kind=exceedance a=b\n"
		       "labels = a=c\n"
		       "summary = {area}: {value} > {threshold}\n"
		       "[rule bare]\nwhen = offline == 1\n",
		AQ_OK);
	const struct rule *r;

	ck_assert_uint_eq(rs->nrules, 2);
	r = &rs->rules[rule_find(rs, "pm")];
	ck_assert_str_eq(r->name, "PM high");
	ck_assert_str_eq(r->name_zh, "颗粒物高");
	ck_assert(r->clear == 60);
	ck_assert_int_eq(r->for_s, 7200);
	ck_assert_int_eq(r->clear_for_s, 5400);
	ck_assert_int_eq(r->repeat_s, 86400);
	ck_assert_int_eq(r->severity, SEV_CRITICAL);
	ck_assert_int_eq(r->scope, SCOPE_AREA);
	ck_assert_int_eq(r->agg, RULE_AGG_MEAN);
	/* A later labels line overrides the same key. */
	ck_assert_uint_eq(r->nlabels, 2);
	ck_assert_str_eq(r->labels[1].key, "a");
	ck_assert_str_eq(r->labels[1].value, "c");
	/* Defaults: the threshold as clear, warning, cell, 4 h repeats. */
	r = &rs->rules[rule_find(rs, "bare")];
	ck_assert_str_eq(r->name, "bare");
	ck_assert(r->clear == 1);
	ck_assert_int_eq(r->severity, SEV_WARNING);
	ck_assert_int_eq(r->scope, SCOPE_CELL);
	ck_assert_int_eq(r->repeat_s, 4 * 3600);
	ck_assert_int_eq(r->for_s, 0);
	ck_assert_int_eq(rule_find(rs, "nope"), -1);
	rule_set_free(rs);
}
END_TEST

START_TEST(errors_with_file_and_line)
{
	/* MIN is 5 lines: the first rule line is 6. */
	load_rules("[rule a]\n"                      /* 6 */
		   "when = pm25_24h > 75\n"          /* 7 */
		   "clear = 80\n"                    /* 8 */
		   "for = 2 hours\n"                 /* 9 */
		   "severity = fatal\n"              /* 10 */
		   "summary = {cell} {colour}\n"     /* 11 */
		   "colour = red\n"                  /* 12 */
		   "when = aqi > 1\n"                /* 13 */
		   "[rule b]\n"                      /* 14 */
		   "name = b\n"                      /* 15 */
		   "[rule c]\n"                      /* 16 */
		   "when = forecast.pm25_24h > 75\n" /* 17 */
		   "[rule d]\n"                      /* 18 */
		   "when = o3_1h < 10\n"             /* 19 */
		   "clear = 5\n"                     /* 20 */
		   "[rule e]\n"                      /* 21 */
		   "when = aqi > 100\n"              /* 22 */
		   "scope = sensor\n"                /* 23 */
		   "aggregate = max\n"               /* 24 */
		   "labels = cell=x\n"               /* 25 */
		   "[rule f]\n"                      /* 26 */
		   "when = level == 5\n"             /* 27 */
		   "clear = 4\n"                     /* 28 */
		   "[inhibit i]\n"                   /* 29 */
		   "source = rule=zzz\n"             /* 30 */
		   "target = rule=a equal\n"         /* 31 */
		   "[inhibit j]\n"                   /* 32 */
		   "source = rule=a\n",              /* 33 */
	    AQ_ERR_INVAL);
	ck_assert_ptr_nonnull(
	    strstr(errs, "a.conf:8: clear: 80 is above the threshold 75"));
	ck_assert_ptr_nonnull(strstr(errs, "a.conf:9: for: '2 hours' is not"));
	ck_assert_ptr_nonnull(strstr(errs, "a.conf:10: severity: 'fatal'"));
	ck_assert_ptr_nonnull(
	    strstr(errs, "a.conf:11: summary: unknown placeholder '{colour}'"));
	ck_assert_ptr_nonnull(
	    strstr(errs, "a.conf:12: unknown key 'colour' in [rule a]"));
	ck_assert_ptr_nonnull(
	    strstr(errs, "a.conf:13: when: given twice in [rule a]"));
	ck_assert_ptr_nonnull(strstr(errs, "a.conf:14: [rule b]: no 'when'"));
	ck_assert_ptr_nonnull(strstr(errs,
	    "a.conf:17: when: 'forecast.pm25_24h': expected "
	    "forecast.IND.Nh"));
	ck_assert_ptr_nonnull(
	    strstr(errs, "a.conf:20: clear: 5 is below the threshold 10"));
	ck_assert_ptr_nonnull(
	    strstr(errs, "a.conf:22: when: scope sensor reads only"));
	ck_assert_ptr_nonnull(
	    strstr(errs, "a.conf:24: aggregate: only for scope area"));
	ck_assert_ptr_nonnull(
	    strstr(errs, "a.conf:25: labels: 'cell' is a field"));
	ck_assert_ptr_nonnull(
	    strstr(errs, "a.conf:28: clear: a rule with == takes no clear"));
	ck_assert_ptr_nonnull(strstr(errs, "a.conf:31: target: 'equal'"));
	ck_assert_ptr_nonnull(strstr(errs,
	    "a.conf:29: [inhibit i]: no rule "
	    "'zzz'"));
	ck_assert_ptr_nonnull(
	    strstr(errs, "a.conf:32: [inhibit j]: needs source and target"));
}
END_TEST

/* The shipped configuration loads, and its GB 3095 thresholds are those
 * of limits.h for the configured edition and grade. */
START_TEST(shipped_defaults)
{
	struct conf *c = NULL;
	struct rule_set *rs = NULL;
	struct limits_opts lo;
	int64_t lim;
	FILE *f = fmemopen(errs, sizeof(errs), "w");
	static const struct {
		const char *rule;
		enum ind ind;
	} gb[] = {{"pm25_24h", IND_PM25_24H}, {"pm25_daily", IND_PM25_24H},
	    {"o3_1h", IND_O3_1H}, {"o3_8h", IND_O3_8H}};

	memset(errs, 0, sizeof(errs));
	ck_assert_int_eq(conf_load("etc/aqgridd.conf", &hooks, &c, f), AQ_OK);
	ck_assert_int_eq(rule_set_load(c, &rs, f), AQ_OK);
	fclose(f);
	ck_assert_msg(errs[0] == '\0', "%s", errs);
	ck_assert_uint_ge(rs->nrules, 8);
	ck_assert_uint_eq(rs->ninhibits, 2);
	lo = c->limits;
	for (size_t k = 0; k < sizeof(gb) / sizeof(gb[0]); k++) {
		const struct rule *r = &rs->rules[rule_find(rs, gb[k].rule)];

		/* The transition period of GB 3095-2026. */
		ck_assert(limits_get(&lo, 20270101, gb[k].ind, &lim));
		ck_assert_msg(r->when.threshold == fix_to_double(lim),
		    "%s: %g, limit %g", r->id, r->when.threshold,
		    fix_to_double(lim));
		ck_assert_int_eq(r->when.op, RULE_GT);
		ck_assert_int_eq(r->when.ind, gb[k].ind);
	}
	ck_assert(rs->rules[rule_find(rs, "aqi_heavy")].when.threshold == 200);
	ck_assert(rs->rules[rule_find(rs, "aqi_severe")].when.threshold == 300);
	ck_assert_int_eq(
	    rs->rules[rule_find(rs, "sensor_offline")].scope, SCOPE_SENSOR);
	rule_set_free(rs);
	conf_free(c);
}
END_TEST

START_TEST(values_of_a_view)
{
	struct cell_view v = {.hour = 100, .hour_end = 360000, .day = 20261129};
	struct rule_when w;
	double x = -1;

	v.stats.in.has = IND_BIT(IND_PM25_24H) | IND_BIT(IND_O3_8H);
	v.stats.in.v[IND_PM25_24H] = 80 * FIX_ONE + FIX_ONE / 2;
	v.exceeds = IND_BIT(IND_PM25_24H);
	v.aqi.aqi = 120;
	v.aqi.level = 3;
	v.day_stats.in.has = IND_BIT(IND_O3_8H);
	v.day_stats.in.v[IND_O3_8H] = 170 * FIX_ONE;
	v.day_aqi.aqi = -1;

	ck_assert_int_eq(rule_parse_when("pm25_24h > 75", &w, NULL, 0), AQ_OK);
	ck_assert(rule_cell_value(&w, &v, false, &x));
	ck_assert(x == 80.5);
	ck_assert_int_eq(rule_cell_time(&w, &v, NULL), 360000);
	/* Unknown (offline) is missing, never zero. */
	ck_assert(!rule_cell_value(&w, &v, true, &x));
	ck_assert_int_eq(rule_parse_when("pm10_24h > 75", &w, NULL, 0), AQ_OK);
	ck_assert(!rule_cell_value(&w, &v, false, &x));
	ck_assert_int_eq(
	    rule_parse_when("exceeds.pm25_24h == 1", &w, NULL, 0), AQ_OK);
	ck_assert(rule_cell_value(&w, &v, false, &x) && x == 1);
	ck_assert_int_eq(
	    rule_parse_when("exceeds.o3_8h == 1", &w, NULL, 0), AQ_OK);
	ck_assert(rule_cell_value(&w, &v, false, &x) && x == 0);
	ck_assert_int_eq(rule_parse_when("level >= 3", &w, NULL, 0), AQ_OK);
	ck_assert(rule_cell_value(&w, &v, false, &x) && x == 3);
	ck_assert_int_eq(rule_parse_when("o3_mda8 > 160", &w, NULL, 0), AQ_OK);
	ck_assert(rule_cell_value(&w, &v, false, &x) && x == 170);
	/* 2026-11-29 ends at 2026-11-30T00:00Z without a zone. */
	ck_assert_int_eq(rule_cell_time(&w, &v, NULL), 1795996800);
	ck_assert_int_eq(rule_parse_when("day.aqi > 100", &w, NULL, 0), AQ_OK);
	ck_assert(!rule_cell_value(&w, &v, false, &x));
	ck_assert_int_eq(rule_parse_when("offline == 1", &w, NULL, 0), AQ_OK);
	ck_assert(rule_cell_value(&w, &v, true, &x) && x == 1);
	ck_assert(rule_cell_value(&w, &v, false, &x) && x == 0);
	v.hour = WIN_NO_HOUR;
	ck_assert_int_eq(rule_parse_when("aqi > 100", &w, NULL, 0), AQ_OK);
	ck_assert(!rule_cell_value(&w, &v, false, &x));
}
END_TEST

START_TEST(hysteresis_sides)
{
	struct rule r = {0};

	ck_assert_int_eq(rule_parse_when("aqi > 200", &r.when, NULL, 0), AQ_OK);
	r.clear = 180;
	ck_assert(rule_holds(&r.when, 201));
	ck_assert(!rule_holds(&r.when, 200));
	ck_assert(!rule_cleared(&r, 181));
	ck_assert(rule_cleared(&r, 180));
	ck_assert_int_eq(
	    rule_parse_when("o3_1h < 10", &r.when, NULL, 0), AQ_OK);
	r.clear = 20;
	ck_assert(rule_holds(&r.when, 9));
	ck_assert(!rule_cleared(&r, 19));
	ck_assert(rule_cleared(&r, 20));
}
END_TEST

START_TEST(summaries)
{
	struct rule_set *rs =
	    load_rules("[rule pm]\nname = PM\nname_zh = 颗粒物\n"
		       "when = pm25_24h > 75\nlabels = x=y\n"
		       "summary = {rule}/{name}/{severity}/{scope}/"
		       "{indicator}/{op}/{threshold}/{clear}/{unit}/{cell}/"
		       "{area}/{sensor}/{object}/{value}\n"
		       "summary_zh = {name}：{value}\n",
		AQ_OK);
	const struct rule *r = &rs->rules[0];
	struct rule_fill f = {.cell = "r000c001",
	    .area = "north",
	    .value = 80.25,
	    .has_value = true};
	char out[NOTICE_TEXT_MAX], tiny[8];

	ck_assert_int_eq(
	    rule_fill(r, r->summary, &f, false, out, sizeof(out)), AQ_OK);
	ck_assert_str_eq(out,
	    "pm/PM/warning/cell/pm25_24h/>/75/75/ug/m3/"
	    "r000c001/north//r000c001/80.25");
	f.has_value = false;
	ck_assert_int_eq(
	    rule_fill(r, r->summary_zh, &f, true, out, sizeof(out)), AQ_OK);
	ck_assert_str_eq(out, "颗粒物：未知");
	ck_assert_int_eq(
	    rule_fill(r, "{value}{nope}", &f, false, out, sizeof(out)),
	    AQ_ERR_INVAL);
	/* Truncated, never overrun. */
	ck_assert_int_eq(
	    rule_fill(r, r->summary, &f, false, tiny, sizeof(tiny)), AQ_OK);
	ck_assert_str_eq(tiny, "pm/PM/w");
	rule_set_free(rs);
}
END_TEST

START_TEST(matchers)
{
	struct rule_matcher m[RULE_MATCHERS_MAX];
	uint32_t n = 0;
	char err[128];

	ck_assert_int_eq(rule_parse_matchers("rule=a  cell!=r000c000 kind=x", m,
			     RULE_MATCHERS_MAX, &n, err, sizeof(err)),
	    AQ_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(m[1].key, "cell");
	ck_assert_str_eq(m[1].value, "r000c000");
	ck_assert(m[1].neq && !m[0].neq);
	ck_assert_int_eq(
	    rule_parse_matchers("rule", m, 8, &n, err, sizeof(err)),
	    AQ_ERR_INVAL);
	ck_assert_int_eq(rule_parse_matchers("=x", m, 8, &n, err, sizeof(err)),
	    AQ_ERR_INVAL);
	ck_assert_int_eq(rule_parse_matchers("a=", m, 8, &n, err, sizeof(err)),
	    AQ_ERR_INVAL);
	ck_assert_int_eq(
	    rule_parse_matchers("a=1 b=2", m, 1, &n, err, sizeof(err)),
	    AQ_ERR_RANGE);
}
END_TEST

static Suite *
rule_suite(void)
{
	Suite *s = suite_create("rule");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(
	    tc, parse_when, 0, sizeof(whens) / sizeof(whens[0]));
	tcase_add_test(tc, durations);
	tcase_add_test(tc, a_whole_rule);
	tcase_add_test(tc, fault_rule);
	tcase_add_test(tc, errors_with_file_and_line);
	tcase_add_test(tc, shipped_defaults);
	tcase_add_test(tc, values_of_a_view);
	tcase_add_test(tc, hysteresis_sides);
	tcase_add_test(tc, summaries);
	tcase_add_test(tc, matchers);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(rule_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
