/*
 * rule: alert rules and inhibitions read from the configuration's raw
 * [rule ID] and [inhibit ID] sections (conf.h), and the pure functions the
 * lifecycle engine (alert.h) evaluates them with.
 *
 *   [rule pm25_24h]
 *   name = PM2.5 24 h mean above the grade II limit     (English)
 *   name_zh = PM2.5 24小时平均超过二级限值
 *   when = pm25_24h > 60          VARIABLE OP THRESHOLD
 *   clear = 55                    hysteresis; default: the threshold
 *   for = 1h                      pending time; clear_for, repeat alike
 *   severity = warning            info | warning | critical
 *   scope = cell                  cell | area | grid | sensor
 *   aggregate = max               area and grid: max | min | mean
 *   labels = kind=exceedance pollutant=pm25
 *   summary = {cell}: {indicator} {value} > {threshold}   (summary_zh)
 *
 * Variables (values in canonical units: ug/m3, CO mg/m3):
 *   IND             the latest complete hour's statistic, IND one of
 *                   pm25_1h pm25_24h pm10_1h pm10_24h so2_1h so2_24h
 *                   no2_1h no2_24h co_1h co_8h co_24h o3_1h o3_8h
 *                   (*_24h, co_8h, o3_8h: moving means)
 *   aqi, level      that hour's real-time AQI and its level 1-6
 *   exceeds.IND     1 when the hour's IND is over its GB 3095 limit, else
 *                   0 (IND with a limit only)
 *   day.IND         the latest complete day: *_24h daily means, *_1h and
 *                   co_8h daily maxima, o3_8h the MDA8
 *   o3_mda8         the same as day.o3_8h
 *   day.aqi, day.level, day.exceeds.IND   the daily report
 *   offline         1 when the sensor (scope sensor) or every sensor of the
 *                   cell (scope cell) is offline, else 0
 *   fault           1 when the sensor (scope sensor) is flagged faulty
 *                   (stuck, spike, bias, disagree: daemon/fault.h), else 0:
 *                   a data-quality alert
 *   forecast.IND.Nh the highest forecast median (fcgrid.h) of IND over the
 *                   next N hours, 1 <= N <= 72; IND one of pm25_1h
 *                   pm25_24h o3_1h o3_8h (24-hour and 8-hour means over
 *                   observed and forecast hours).  Missing while the cell
 *                   has no forecast.  E.g. forecast.pm25_24h.12h > 60:
 *                   the 24-hour mean will pass the limit within 12 hours.
 * OP: > >= < <= == != (== and != take no clear).  A statistic that is
 * absent (invalid, or its cell offline) is missing, never zero.
 *
 * Durations: an integer and a unit, "90s", "15m", "2h", "1d", or "0".
 *
 *   [inhibit severe_mutes_heavy]
 *   source = rule=aqi_severe       matchers KEY=VALUE or KEY!=VALUE, all
 *   target = rule=aqi_heavy        must hold; KEY rule, area, cell, sensor,
 *   equal = cell                   severity, scope, or a label
 *
 * A firing source alert mutes every target alert (not itself) whose
 * listed fields equal its own.
 *
 * Pure: no I/O but the error stream given, never logs; a struct rule_set is
 * immutable after rule_set_load() and may be read from any thread.
 */
#ifndef AQ_ALERTS_RULE_H
#define AQ_ALERTS_RULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "alerts/notice.h"
#include "daemon/conf.h"
#include "daemon/err.h"
#include "daemon/pol.h"
#include "daemon/state.h"
#include "daemon/tz.h"

#define RULE_ID_MAX CONF_ID_MAX
#define RULE_VAR_MAX 32 /* variable name with its NUL */
#define RULE_MATCHERS_MAX 8
#define RULE_EQUAL_MAX 8
#define RULES_MAX 1024

enum rule_var {
	RV_HOUR,        /* ind: the latest complete hour's statistic */
	RV_AQI,         /* real-time AQI of that hour */
	RV_LEVEL,       /* its level */
	RV_EXCEEDS,     /* ind over its limit at that hour: 0/1 */
	RV_DAY,         /* ind: the latest complete day's statistic */
	RV_DAY_AQI,     /* daily AQI */
	RV_DAY_LEVEL,   /* its level */
	RV_DAY_EXCEEDS, /* ind over its limit that day: 0/1 */
	RV_OFFLINE,     /* liveness: 0/1 */
	RV_FAULT,       /* a sensor flagged faulty: 0/1 */
	RV_FORECAST,    /* ind's forecast maximum over the next hours */
	RV_COUNT
};

enum rule_op { RULE_GT, RULE_GE, RULE_LT, RULE_LE, RULE_EQ, RULE_NE };

enum rule_agg { RULE_AGG_MAX, RULE_AGG_MIN, RULE_AGG_MEAN };

struct rule_when {
	enum rule_var var;
	int ind;   /* enum ind for RV_HOUR, _DAY, *_EXCEEDS, _FORECAST */
	int hours; /* RV_FORECAST: the next 1..FC_H hours */
	enum rule_op op;
	double threshold;
	char name[RULE_VAR_MAX]; /* as written: "pm25_24h", "o3_mda8" */
};

struct rule_matcher {
	char key[NOTICE_ID_MAX];
	char value[NOTICE_ID_MAX];
	bool neq; /* KEY!=VALUE */
};

struct rule {
	char id[RULE_ID_MAX];
	char name[NOTICE_TEXT_MAX];
	char name_zh[NOTICE_TEXT_MAX];
	struct rule_when when;
	double clear; /* resolve once !(value OP clear) */
	int64_t for_s, clear_for_s, repeat_s; /* seconds; repeat 0: never */
	enum notice_severity severity;
	enum notice_scope scope;
	enum rule_agg agg;
	struct notice_label labels[NOTICE_LABELS_MAX];
	uint32_t nlabels;
	char summary[NOTICE_TEXT_MAX]; /* templates */
	char summary_zh[NOTICE_TEXT_MAX];
};

struct rule_inhibit {
	char id[RULE_ID_MAX];
	struct rule_matcher source[RULE_MATCHERS_MAX];
	struct rule_matcher target[RULE_MATCHERS_MAX];
	uint32_t nsource, ntarget;
	char equal[RULE_EQUAL_MAX][NOTICE_ID_MAX];
	uint32_t nequal;
};

struct rule_set {
	struct rule *rules; /* in configuration order */
	uint32_t nrules;
	struct rule_inhibit *inhibits;
	uint32_t ninhibits;
};

/* What a summary template's placeholders are filled with: {rule} {name}
 * {severity} {scope} {indicator} {op} {threshold} {clear} {unit} from the
 * rule, {cell} {area} {sensor} {value} from these ("" and "unknown" /
 * "未知" when absent). */
struct rule_fill {
	const char *cell, *area, *sensor; /* NULL: "" */
	double value;
	bool has_value;
};

/*
 * Parses "VARIABLE OP NUMBER".  Returns AQ_OK and *out, or AQ_ERR_INVAL
 * with the reason (no file:line) in err (errlen > 0); *out unset then.
 * Fuzzable: any NUL-terminated text.
 */
int rule_parse_when(const char *text, struct rule_when *out, char *err,
    size_t errlen) AQ_MUSTCHECK;
/* "90s", "15m", "2h", "1d", "0" -> seconds (up to 366 days). */
int rule_parse_duration(const char *text, int64_t *out) AQ_MUSTCHECK;
/* Space-separated KEY=VALUE / KEY!=VALUE; at most max. */
int rule_parse_matchers(const char *text, struct rule_matcher *out,
    uint32_t max, uint32_t *n, char *err, size_t errlen) AQ_MUSTCHECK;

/*
 * Reads every [rule] and [inhibit] section of c (borrowed).  Returns AQ_OK
 * and *out (owned), or AQ_ERR_INVAL after writing every problem to errs
 * as "file:line: reason", or AQ_ERR_NOMEM.
 */
int rule_set_load(
    const struct conf *c, struct rule_set **out, FILE *errs) AQ_MUSTCHECK;
void rule_set_free(struct rule_set *rs);
/* Index of the rule with id, or -1. */
int rule_find(const struct rule_set *rs, const char *id);

/* Whether v meets the condition (value OP threshold). */
bool rule_holds(const struct rule_when *w, double v);
/* Whether v is on the safe side of the rule's clear threshold. */
bool rule_cleared(const struct rule *r, double v);
/*
 * The rule's variable in a cell's view: returns true and *out, or false
 * when missing (absent statistic, or unknown: the cell's sensors are all
 * offline or flagged).  RV_OFFLINE is unknown ? 1 : 0, never missing.
 */
bool rule_cell_value(const struct rule_when *w, const struct cell_view *v,
    bool unknown, double *out);
/* A forecast variable (RV_FORECAST) from the cell's forecast f (NULL:
 * none): true and *out, or false when missing. */
bool rule_forecast_value(
    const struct rule_when *w, const struct fcgrid_forecast *f, double *out);
/* Event time of the variable in the view: the hour's end, or for day.*
 * the end of the day's last hour in zone z; INT64_MIN if none. */
int64_t rule_cell_time(
    const struct rule_when *w, const struct cell_view *v, const struct tz *z);

/* Fills tmpl into out (always NUL-terminated, truncated to len).
 * Returns AQ_OK, or AQ_ERR_INVAL for an unknown placeholder. */
int rule_fill(const struct rule *r, const char *tmpl, const struct rule_fill *f,
    bool zh, char *out, size_t len);

/* ">", ">=", ...; "info", ...; "cell", ...: static strings. */
const char *rule_op_name(enum rule_op op);
const char *rule_severity_name(enum notice_severity s);
const char *rule_scope_name(enum notice_scope s);
int rule_severity_from_name(const char *s);
int rule_scope_from_name(const char *s);

#endif
