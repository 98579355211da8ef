/* rule: alert rules and inhibitions from the configuration (see rule.h). */
#include "alerts/rule.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/fix.h"

#define DURATION_MAX (366 * 86400)
#define DEFAULT_REPEAT (4 * 3600)

static const char *const op_names[] = {">", ">=", "<", "<=", "==", "!="};
static const char *const sev_names[] = {"info", "warning", "critical"};
static const char *const scope_names[] = {"cell", "area", "grid", "sensor"};
static const char *const agg_names[] = {"max", "min", "mean"};
/* Fields every alert has; labels may not take these names. */
static const char *const fields[] = {
    "rule", "area", "cell", "sensor", "severity", "scope", NULL};

/* Placeholders of a summary template. */
static const char *const holders[] = {"rule", "name", "severity", "scope",
    "indicator", "op", "threshold", "clear", "unit", "cell", "area", "sensor",
    "object", "value", NULL};

struct load {
	FILE *errs;
	int nerr;
};

static void lerr(struct load *l, const char *file, int line, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int parse_labels(
    const char *text, struct rule *r, char *err, size_t errlen);
static int check_template(const char *tmpl, char *err, size_t errlen);
static void load_rule(
    struct load *l, const struct conf_section *s, struct rule *r);
static void load_inhibit(
    struct load *l, const struct conf_section *s, struct rule_inhibit *ih);
static void fmt_num(double v, char *out, size_t len);
static int name_index(const char *const *names, size_t n, const char *s);

static void
lerr(struct load *l, const char *file, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	conf_errf(l->errs, file, line, "%s", msg);
	l->nerr++;
}

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int
name_index(const char *const *names, size_t n, const char *s)
{
	for (size_t k = 0; k < n; k++)
		if (strcmp(names[k], s) == 0)
			return (int)k;
	return -1;
}

const char *
rule_op_name(enum rule_op op)
{
	return (unsigned)op < 6 ? op_names[op] : "?";
}

const char *
rule_severity_name(enum notice_severity s)
{
	return (unsigned)s < SEV_COUNT ? sev_names[s] : "?";
}

const char *
rule_scope_name(enum notice_scope s)
{
	return (unsigned)s <= SCOPE_SENSOR ? scope_names[s] : "?";
}

int
rule_severity_from_name(const char *s)
{
	return name_index(sev_names, 3, s);
}

int
rule_scope_from_name(const char *s)
{
	return name_index(scope_names, 4, s);
}

/* An indicator that may appear in a rule: those with an IAQI (the API's
 * concentrations). */
static int
ind_of(const char *s)
{
	int i = ind_from_name(s);

	return i >= 0 && i < IND_AQI_COUNT ? i : -1;
}

/* Whether the indicator has a GB 3095 limit in some edition. */
static bool
has_limit(int ind)
{
	static const struct limits_opts o = {LIMITS_GB3095_2026, 2};
	int64_t v;

	return limits_get(&o, 20260301, (enum ind)ind, &v);
}

int
rule_parse_when(
    const char *text, struct rule_when *out, char *err, size_t errlen)
{
	struct rule_when w = {0};
	const char *p = text, *start;
	char name[RULE_VAR_MAX];
	size_t n;
	char *end;
	int op = -1;

	while (isspace((unsigned char)*p))
		p++;
	start = p;
	while (islower((unsigned char)*p) || isdigit((unsigned char)*p) ||
	    *p == '_' || *p == '.')
		p++;
	n = (size_t)(p - start);
	if (n == 0) {
		seterr(err, errlen, "expected VARIABLE OP NUMBER");
		return AQ_ERR_INVAL;
	}
	if (n >= sizeof(name)) {
		seterr(err, errlen, "variable name too long");
		return AQ_ERR_INVAL;
	}
	memcpy(name, start, n);
	name[n] = '\0';
	if (strncmp(name, "forecast.", 9) == 0 ||
	    strcmp(name, "forecast") == 0) {
		char ind[RULE_VAR_MAX];
		/* "forecast" alone ends at name[8]: nothing after it. */
		const char *dot = name[8] == '.' ? strchr(name + 9, '.') : NULL;
		char *e = NULL;
		long h = 0;

		if (dot != NULL && (size_t)(dot - name - 9) < sizeof(ind)) {
			memcpy(ind, name + 9, (size_t)(dot - name - 9));
			ind[dot - name - 9] = '\0';
			h = strtol(dot + 1, &e, 10);
		}
		if (dot == NULL || e == dot + 1 || e == NULL ||
		    strcmp(e, "h") != 0 || h < 1 || h > FC_H ||
		    ((w.ind = ind_of(ind)) != IND_PM25_1H &&
			w.ind != IND_PM25_24H && w.ind != IND_O3_1H &&
			w.ind != IND_O3_8H)) {
			seterr(err, errlen,
			    "'%s': expected forecast.IND.Nh, IND one of "
			    "pm25_1h pm25_24h o3_1h o3_8h and N 1..%d",
			    name, FC_H);
			return AQ_ERR_INVAL;
		}
		w.var = RV_FORECAST;
		w.hours = (int)h;
	} else if ((w.ind = ind_of(name)) >= 0)
		w.var = RV_HOUR;
	else if (strcmp(name, "aqi") == 0)
		w.var = RV_AQI;
	else if (strcmp(name, "level") == 0)
		w.var = RV_LEVEL;
	else if (strcmp(name, "day.aqi") == 0)
		w.var = RV_DAY_AQI;
	else if (strcmp(name, "day.level") == 0)
		w.var = RV_DAY_LEVEL;
	else if (strcmp(name, "offline") == 0)
		w.var = RV_OFFLINE;
	else if (strcmp(name, "fault") == 0)
		w.var = RV_FAULT;
	else if (strcmp(name, "o3_mda8") == 0) {
		w.var = RV_DAY;
		w.ind = IND_O3_8H;
	} else if (strncmp(name, "exceeds.", 8) == 0 &&
	    (w.ind = ind_of(name + 8)) >= 0)
		w.var = RV_EXCEEDS;
	else if (strncmp(name, "day.exceeds.", 12) == 0 &&
	    (w.ind = ind_of(name + 12)) >= 0)
		w.var = RV_DAY_EXCEEDS;
	else if (strncmp(name, "day.", 4) == 0 &&
	    (w.ind = ind_of(name + 4)) >= 0)
		w.var = RV_DAY;
	else {
		seterr(err, errlen, "unknown variable '%s'", name);
		return AQ_ERR_INVAL;
	}
	if ((w.var == RV_EXCEEDS || w.var == RV_DAY_EXCEEDS) &&
	    !has_limit(w.ind)) {
		seterr(err, errlen, "'%s': %s has no GB 3095 limit", name,
		    ind_name((enum ind)w.ind));
		return AQ_ERR_INVAL;
	}
	if (w.var != RV_HOUR && w.var != RV_DAY && w.var != RV_EXCEEDS &&
	    w.var != RV_DAY_EXCEEDS && w.var != RV_FORECAST)
		w.ind = -1;
	while (isspace((unsigned char)*p))
		p++;
	for (int k = 0; k < 6; k++) {
		size_t len = strlen(op_names[k]);

		/* Longest first: ">=" before ">". */
		if (strncmp(p, op_names[k], len) == 0 &&
		    (op < 0 || len > strlen(op_names[op])))
			op = k;
	}
	if (op < 0) {
		seterr(err, errlen,
		    "expected >, >=, <, <=, == or != after '%s'", name);
		return AQ_ERR_INVAL;
	}
	p += strlen(op_names[op]);
	while (isspace((unsigned char)*p))
		p++;
	errno = 0;
	w.threshold = strtod(p, &end);
	if (end == p || errno != 0 || !isfinite(w.threshold) ||
	    fabs(w.threshold) > 1e9 || isalpha((unsigned char)*p)) {
		seterr(
		    err, errlen, "expected a number after '%s'", op_names[op]);
		return AQ_ERR_INVAL;
	}
	/* Decimal only: strtod would also read hexadecimal. */
	if (memchr(p, 'x', (size_t)(end - p)) != NULL ||
	    memchr(p, 'X', (size_t)(end - p)) != NULL)
		end = (char *)(uintptr_t)p + 1;
	p = end;
	while (isspace((unsigned char)*p))
		p++;
	if (*p != '\0') {
		seterr(err, errlen, "unexpected text after the threshold");
		return AQ_ERR_INVAL;
	}
	w.op = (enum rule_op)op;
	memcpy(w.name, name, n + 1);
	*out = w;
	return AQ_OK;
}

int
rule_parse_duration(const char *text, int64_t *out)
{
	char *end;
	long long v;
	int64_t mul;

	if (!isdigit((unsigned char)text[0]))
		return AQ_ERR_INVAL;
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno != 0 || v > DURATION_MAX)
		return AQ_ERR_RANGE;
	if (*end == '\0' && v == 0) {
		*out = 0;
		return AQ_OK;
	}
	switch (*end) {
	case 's':
		mul = 1;
		break;
	case 'm':
		mul = 60;
		break;
	case 'h':
		mul = 3600;
		break;
	case 'd':
		mul = 86400;
		break;
	default:
		return AQ_ERR_INVAL;
	}
	if (end[1] != '\0')
		return AQ_ERR_INVAL;
	if (v * mul > DURATION_MAX)
		return AQ_ERR_RANGE;
	*out = v * mul;
	return AQ_OK;
}

/* A key or value of a matcher or label: printable, no space, no quote. */
static bool
word_ok(const char *s, size_t n, bool key)
{
	if (n == 0 || n >= NOTICE_ID_MAX)
		return false;
	for (size_t k = 0; k < n; k++) {
		unsigned char ch = (unsigned char)s[k];

		if (key ? !(isalnum(ch) || ch == '_')
			: (ch <= ' ' || ch == '"' || ch == 0x7f))
			return false;
	}
	return true;
}

int
rule_parse_matchers(const char *text, struct rule_matcher *out, uint32_t max,
    uint32_t *n, char *err, size_t errlen)
{
	const char *p = text;
	uint32_t count = 0;

	for (;;) {
		const char *w, *eq, *val;
		size_t len, klen;
		struct rule_matcher m = {0};

		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		w = p;
		while (*p != '\0' && !isspace((unsigned char)*p))
			p++;
		len = (size_t)(p - w);
		eq = memchr(w, '=', len);
		if (eq == NULL) {
			seterr(err, errlen,
			    "'%.*s': expected KEY=VALUE or "
			    "KEY!=VALUE",
			    (int)len, w);
			return AQ_ERR_INVAL;
		}
		m.neq = eq > w && eq[-1] == '!';
		klen = (size_t)(eq - w) - (m.neq ? 1 : 0);
		val = eq + 1;
		if (!word_ok(w, klen, true) ||
		    !word_ok(val, (size_t)(p - val), false)) {
			seterr(err, errlen, "'%.*s': bad key or value",
			    (int)len, w);
			return AQ_ERR_INVAL;
		}
		if (count == max) {
			seterr(err, errlen, "more than %u matchers", max);
			return AQ_ERR_RANGE;
		}
		memcpy(m.key, w, klen);
		memcpy(m.value, val, (size_t)(p - val));
		out[count++] = m;
	}
	*n = count;
	return AQ_OK;
}

static int
parse_labels(const char *text, struct rule *r, char *err, size_t errlen)
{
	struct rule_matcher m[NOTICE_LABELS_MAX + 1];
	uint32_t n;
	int rc;

	rc = rule_parse_matchers(
	    text, m, NOTICE_LABELS_MAX + 1, &n, err, errlen);
	if (rc != AQ_OK)
		return rc;
	for (uint32_t k = 0; k < n; k++) {
		uint32_t j;

		if (m[k].neq) {
			seterr(err, errlen, "'%s': labels are KEY=VALUE",
			    m[k].key);
			return AQ_ERR_INVAL;
		}
		for (j = 0; fields[j] != NULL; j++)
			if (strcmp(fields[j], m[k].key) == 0)
				break;
		if (fields[j] != NULL) {
			seterr(err, errlen,
			    "'%s' is a field of every alert, not a label",
			    m[k].key);
			return AQ_ERR_INVAL;
		}
		for (j = 0; j < r->nlabels; j++)
			if (strcmp(r->labels[j].key, m[k].key) == 0)
				break;
		if (j == r->nlabels && r->nlabels == NOTICE_LABELS_MAX) {
			seterr(err, errlen, "more than %d labels",
			    NOTICE_LABELS_MAX);
			return AQ_ERR_RANGE;
		}
		memcpy(r->labels[j].key, m[k].key, sizeof(m[k].key));
		memcpy(r->labels[j].value, m[k].value, sizeof(m[k].value));
		if (j == r->nlabels)
			r->nlabels++;
	}
	return AQ_OK;
}

static int
check_template(const char *tmpl, char *err, size_t errlen)
{
	for (const char *p = tmpl; *p != '\0'; p++) {
		const char *close;
		size_t n;
		int k;

		if (*p == '}') {
			seterr(err, errlen, "'}' without '{'");
			return AQ_ERR_INVAL;
		}
		if (*p != '{')
			continue;
		if ((close = strchr(p, '}')) == NULL) {
			seterr(err, errlen, "'{' without '}'");
			return AQ_ERR_INVAL;
		}
		n = (size_t)(close - p - 1);
		for (k = 0; holders[k] != NULL; k++)
			if (strlen(holders[k]) == n &&
			    strncmp(holders[k], p + 1, n) == 0)
				break;
		if (holders[k] == NULL) {
			seterr(err, errlen, "unknown placeholder '{%.*s}'",
			    (int)n, p + 1);
			return AQ_ERR_INVAL;
		}
		p = close;
	}
	return AQ_OK;
}

static void
load_rule(struct load *l, const struct conf_section *s, struct rule *r)
{
	static const char *const keys[] = {"name", "name_zh", "when", "clear",
	    "for", "clear_for", "repeat", "severity", "scope", "aggregate",
	    "labels", "summary", "summary_zh", NULL};
	const struct conf_kv *seen[13] = {0};
	const struct conf_kv *kv;
	char msg[256];
	int64_t d;
	int k, v;

	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%s", s->id);
	snprintf(r->name, sizeof(r->name), "%s", s->id);
	r->severity = SEV_WARNING;
	r->scope = SCOPE_CELL;
	r->repeat_s = DEFAULT_REPEAT;
	r->when.var = RV_COUNT;
	for (uint32_t i = 0; i < s->nkv; i++) {
		kv = &s->kv[i];
		for (k = 0; keys[k] != NULL; k++)
			if (strcmp(keys[k], kv->key) == 0)
				break;
		if (keys[k] == NULL) {
			lerr(l, kv->file, kv->line,
			    "unknown key '%s' in [rule %s]", kv->key, s->id);
			continue;
		}
		if (seen[k] != NULL && strcmp(kv->key, "labels") != 0) {
			lerr(l, kv->file, kv->line,
			    "%s: given twice in [rule %s] (first at line %d)",
			    kv->key, s->id, seen[k]->line);
			continue;
		}
		seen[k] = kv;
	}
	for (k = 0; keys[k] != NULL; k++) {
		const char *key = keys[k], *val;

		if ((kv = seen[k]) == NULL)
			continue;
		val = kv->value;
		if (strcmp(key, "name") == 0 || strcmp(key, "name_zh") == 0) {
			char *dst = key[4] ? r->name_zh : r->name;

			if (strlen(val) >= NOTICE_TEXT_MAX || *val == '\0')
				lerr(l, kv->file, kv->line,
				    "%s: empty or longer than %d bytes", key,
				    NOTICE_TEXT_MAX - 1);
			else
				snprintf(dst, NOTICE_TEXT_MAX, "%s", val);
		} else if (strcmp(key, "when") == 0) {
			if (rule_parse_when(val, &r->when, msg, sizeof(msg)) !=
			    AQ_OK) {
				lerr(l, kv->file, kv->line, "when: %s", msg);
				r->when.var = RV_COUNT;
			}
		} else if (strcmp(key, "for") == 0 ||
		    strcmp(key, "clear_for") == 0 ||
		    strcmp(key, "repeat") == 0) {
			if (rule_parse_duration(val, &d) != AQ_OK)
				lerr(l, kv->file, kv->line,
				    "%s: '%s' is not a duration like 90s, 15m, "
				    "2h or 1d (at most 366d)",
				    key, val);
			else if (key[0] == 'f')
				r->for_s = d;
			else if (key[0] == 'c')
				r->clear_for_s = d;
			else
				r->repeat_s = d;
		} else if (strcmp(key, "severity") == 0) {
			if ((v = rule_severity_from_name(val)) < 0)
				lerr(l, kv->file, kv->line,
				    "severity: '%s' is not info, warning or "
				    "critical",
				    val);
			else
				r->severity = (enum notice_severity)v;
		} else if (strcmp(key, "scope") == 0) {
			if ((v = rule_scope_from_name(val)) < 0)
				lerr(l, kv->file, kv->line,
				    "scope: '%s' is not cell, area, grid or "
				    "sensor",
				    val);
			else
				r->scope = (enum notice_scope)v;
		} else if (strcmp(key, "aggregate") == 0) {
			if ((v = name_index(agg_names, 3, val)) < 0)
				lerr(l, kv->file, kv->line,
				    "aggregate: '%s' is not max, min or mean",
				    val);
			else
				r->agg = (enum rule_agg)v;
		} else if (strcmp(key, "summary") == 0 ||
		    strcmp(key, "summary_zh") == 0) {
			char *dst = key[7] ? r->summary_zh : r->summary;

			if (strlen(val) >= NOTICE_TEXT_MAX)
				lerr(l, kv->file, kv->line,
				    "%s: longer than %d bytes", key,
				    NOTICE_TEXT_MAX - 1);
			else if (check_template(val, msg, sizeof(msg)) != AQ_OK)
				lerr(l, kv->file, kv->line, "%s: %s", key, msg);
			else
				snprintf(dst, NOTICE_TEXT_MAX, "%s", val);
		}
	}
	/* Labels may repeat: each line adds. */
	for (uint32_t i = 0; i < s->nkv; i++) {
		kv = &s->kv[i];
		if (strcmp(kv->key, "labels") == 0 &&
		    parse_labels(kv->value, r, msg, sizeof(msg)) != AQ_OK)
			lerr(l, kv->file, kv->line, "labels: %s", msg);
	}
	/* Checks across keys, reported at the header or the key. */
	if (seen[2] == NULL) {
		lerr(l, s->file, s->line, "[rule %s]: no 'when'", s->id);
		return;
	}
	if (r->when.var == RV_COUNT)
		return;
	kv = seen[3];
	if (kv == NULL) {
		r->clear = r->when.threshold;
	} else {
		char *end;

		errno = 0;
		r->clear = strtod(kv->value, &end);
		if (end == kv->value || *end != '\0' || errno != 0 ||
		    !isfinite(r->clear))
			lerr(l, kv->file, kv->line,
			    "clear: '%s' is not a number", kv->value);
		else if (r->when.op == RULE_EQ || r->when.op == RULE_NE)
			lerr(l, kv->file, kv->line,
			    "clear: a rule with %s takes no clear threshold",
			    rule_op_name(r->when.op));
		else if ((r->when.op == RULE_GT || r->when.op == RULE_GE) &&
		    r->clear > r->when.threshold)
			lerr(l, kv->file, kv->line,
			    "clear: %s is above the threshold %g: it must "
			    "lie on the safe side (<=)",
			    kv->value, r->when.threshold);
		else if ((r->when.op == RULE_LT || r->when.op == RULE_LE) &&
		    r->clear < r->when.threshold)
			lerr(l, kv->file, kv->line,
			    "clear: %s is below the threshold %g: it must "
			    "lie on the safe side (>=)",
			    kv->value, r->when.threshold);
	}
	if (r->scope == SCOPE_SENSOR && r->when.var != RV_OFFLINE &&
	    r->when.var != RV_FAULT)
		lerr(l, seen[2]->file, seen[2]->line,
		    "when: scope sensor reads only 'offline' or 'fault'");
	if (r->when.var == RV_FAULT && r->scope != SCOPE_SENSOR)
		lerr(l, seen[2]->file, seen[2]->line,
		    "when: 'fault' is for scope sensor");
	if (r->when.var == RV_OFFLINE &&
	    (r->scope == SCOPE_AREA || r->scope == SCOPE_GRID))
		lerr(l, seen[2]->file, seen[2]->line,
		    "when: 'offline' is for scope cell or sensor");
	if (seen[9] != NULL && r->scope != SCOPE_AREA && r->scope != SCOPE_GRID)
		lerr(l, seen[9]->file, seen[9]->line,
		    "aggregate: only for scope area or grid");
	if (r->summary[0] == '\0')
		snprintf(r->summary, sizeof(r->summary), "%s",
		    "{name}: {object} {indicator} {value} {op} "
		    "{threshold}");
	if (r->summary_zh[0] == '\0')
		snprintf(r->summary_zh, sizeof(r->summary_zh), "%s",
		    "{name}：{object} {indicator} {value}（阈值 {op} "
		    "{threshold}）");
	if (r->name_zh[0] == '\0')
		snprintf(r->name_zh, sizeof(r->name_zh), "%s", r->name);
}

static void
load_inhibit(
    struct load *l, const struct conf_section *s, struct rule_inhibit *ih)
{
	char msg[256];
	bool have_src = false, have_tgt = false, have_eq = false;

	memset(ih, 0, sizeof(*ih));
	snprintf(ih->id, sizeof(ih->id), "%s", s->id);
	for (uint32_t i = 0; i < s->nkv; i++) {
		const struct conf_kv *kv = &s->kv[i];
		bool *have;

		if (strcmp(kv->key, "source") == 0)
			have = &have_src;
		else if (strcmp(kv->key, "target") == 0)
			have = &have_tgt;
		else if (strcmp(kv->key, "equal") == 0)
			have = &have_eq;
		else {
			lerr(l, kv->file, kv->line,
			    "unknown key '%s' in [inhibit %s]", kv->key, s->id);
			continue;
		}
		if (*have) {
			lerr(l, kv->file, kv->line,
			    "%s: given twice in [inhibit %s]", kv->key, s->id);
			continue;
		}
		*have = true;
		if (kv->key[0] == 's' || kv->key[0] == 't') {
			bool src = kv->key[0] == 's';

			if (rule_parse_matchers(kv->value,
				src ? ih->source : ih->target,
				RULE_MATCHERS_MAX,
				src ? &ih->nsource : &ih->ntarget, msg,
				sizeof(msg)) != AQ_OK)
				lerr(l, kv->file, kv->line, "%s: %s", kv->key,
				    msg);
			else if ((src ? ih->nsource : ih->ntarget) == 0)
				lerr(l, kv->file, kv->line,
				    "%s: needs at least one matcher", kv->key);
		} else {
			char buf[NOTICE_ID_MAX * RULE_EQUAL_MAX], *save, *tok;

			snprintf(buf, sizeof(buf), "%s", kv->value);
			for (tok = strtok_r(buf, " \t,", &save); tok != NULL;
			     tok = strtok_r(NULL, " \t,", &save)) {
				if (!word_ok(tok, strlen(tok), true) ||
				    ih->nequal == RULE_EQUAL_MAX) {
					lerr(l, kv->file, kv->line,
					    "equal: bad or too many names");
					break;
				}
				snprintf(ih->equal[ih->nequal++], NOTICE_ID_MAX,
				    "%s", tok);
			}
		}
	}
	if (!have_src || !have_tgt)
		lerr(l, s->file, s->line,
		    "[inhibit %s]: needs source and target", s->id);
}

int
rule_set_load(const struct conf *c, struct rule_set **out, FILE *errs)
{
	struct load l = {.errs = errs};
	struct rule_set *rs;
	const struct conf_section *s = NULL;
	uint32_t nr = 0, ni = 0;

	for (uint32_t k = 0; k < c->nsections; k++) {
		nr += strcmp(c->sections[k].kind, "rule") == 0;
		ni += strcmp(c->sections[k].kind, "inhibit") == 0;
	}
	if ((rs = calloc(1, sizeof(*rs))) == NULL ||
	    (nr > 0 && (rs->rules = calloc(nr, sizeof(*rs->rules))) == NULL) ||
	    (ni > 0 &&
		(rs->inhibits = calloc(ni, sizeof(*rs->inhibits))) == NULL)) {
		rule_set_free(rs);
		fprintf(errs, "%s: out of memory\n", c->path);
		return AQ_ERR_NOMEM;
	}
	if (nr > RULES_MAX) {
		s = conf_section_next(c, "rule", NULL);
		lerr(&l, s->file, s->line, "more than %d rules", RULES_MAX);
	}
	while ((s = conf_section_next(c, "rule", s)) != NULL)
		load_rule(&l, s, &rs->rules[rs->nrules++]);
	while ((s = conf_section_next(c, "inhibit", s)) != NULL)
		load_inhibit(&l, s, &rs->inhibits[rs->ninhibits++]);
	/* A matcher on rule= must name a rule: a typo would mute nothing. */
	for (uint32_t k = 0; k < rs->ninhibits; k++) {
		const struct rule_inhibit *ih = &rs->inhibits[k];
		const struct conf_section *is =
		    conf_section_find(c, "inhibit", ih->id);

		for (uint32_t j = 0; j < ih->nsource + ih->ntarget; j++) {
			const struct rule_matcher *m = j < ih->nsource
			    ? &ih->source[j]
			    : &ih->target[j - ih->nsource];

			if (strcmp(m->key, "rule") == 0 && !m->neq &&
			    rule_find(rs, m->value) < 0)
				lerr(&l, is->file, is->line,
				    "[inhibit %s]: no rule '%s'", ih->id,
				    m->value);
		}
	}
	if (l.nerr > 0) {
		rule_set_free(rs);
		return AQ_ERR_INVAL;
	}
	*out = rs;
	return AQ_OK;
}

void
rule_set_free(struct rule_set *rs)
{
	if (rs == NULL)
		return;
	free(rs->rules);
	free(rs->inhibits);
	free(rs);
}

int
rule_find(const struct rule_set *rs, const char *id)
{
	for (uint32_t k = 0; k < rs->nrules; k++)
		if (strcmp(rs->rules[k].id, id) == 0)
			return (int)k;
	return -1;
}

bool
rule_holds(const struct rule_when *w, double v)
{
	switch (w->op) {
	case RULE_GT:
		return v > w->threshold;
	case RULE_GE:
		return v >= w->threshold;
	case RULE_LT:
		return v < w->threshold;
	case RULE_LE:
		return v <= w->threshold;
	case RULE_EQ:
		return v == w->threshold;
	case RULE_NE:
		return v != w->threshold;
	}
	return false;
}

bool
rule_cleared(const struct rule *r, double v)
{
	struct rule_when w = r->when;

	w.threshold = r->clear;
	return !rule_holds(&w, v);
}

bool
rule_cell_value(const struct rule_when *w, const struct cell_view *v,
    bool unknown, double *out)
{
	bool hour = v->hour != WIN_NO_HOUR, day = v->day != 0;
	uint32_t bit = w->ind >= 0 ? IND_BIT(w->ind) : 0;

	if (w->var == RV_OFFLINE) {
		*out = unknown ? 1 : 0;
		return true;
	}
	if (unknown)
		return false;
	switch (w->var) {
	case RV_HOUR:
		if (!hour || !(v->stats.in.has & bit))
			return false;
		*out = fix_to_double(v->stats.in.v[w->ind]);
		return true;
	case RV_AQI:
	case RV_LEVEL:
		if (!hour || v->aqi.aqi < 0)
			return false;
		*out = w->var == RV_AQI ? v->aqi.aqi : v->aqi.level;
		return true;
	case RV_EXCEEDS:
		if (!hour || !(v->stats.in.has & bit))
			return false;
		*out = (v->exceeds & bit) ? 1 : 0;
		return true;
	case RV_DAY:
		if (!day || !(v->day_stats.in.has & bit))
			return false;
		*out = fix_to_double(v->day_stats.in.v[w->ind]);
		return true;
	case RV_DAY_AQI:
	case RV_DAY_LEVEL:
		if (!day || v->day_aqi.aqi < 0)
			return false;
		*out = w->var == RV_DAY_AQI ? v->day_aqi.aqi : v->day_aqi.level;
		return true;
	case RV_DAY_EXCEEDS:
		if (!day || !(v->day_stats.in.has & bit))
			return false;
		*out = (v->day_exceeds & bit) ? 1 : 0;
		return true;
	case RV_OFFLINE:
	case RV_FAULT:
	case RV_FORECAST:
	case RV_COUNT:
		break;
	}
	return false;
}

bool
rule_forecast_value(
    const struct rule_when *w, const struct fcgrid_forecast *f, double *out)
{
	bool has = false;
	double m = 0;

	if (w->var != RV_FORECAST || f == NULL)
		return false;
	for (int k = 0; k < w->hours && k < FC_H; k++) {
		double x = NAN;

		switch (w->ind) {
		case IND_PM25_1H:
			x = f->has[FC_PM25] ? f->h[FC_PM25][k].mid : NAN;
			break;
		case IND_O3_1H:
			x = f->has[FC_O3] ? f->h[FC_O3][k].mid : NAN;
			break;
		case IND_PM25_24H:
			x = f->pm25_24h[k];
			break;
		case IND_O3_8H:
			x = f->o3_8h[k];
			break;
		default:
			break;
		}
		if (!isnan(x) && (!has || x > m)) {
			m = x;
			has = true;
		}
	}
	if (has)
		*out = m;
	return has;
}

int64_t
rule_cell_time(
    const struct rule_when *w, const struct cell_view *v, const struct tz *z)
{
	bool dayvar = w->var == RV_DAY || w->var == RV_DAY_AQI ||
	    w->var == RV_DAY_LEVEL || w->var == RV_DAY_EXCEEDS;

	if (!dayvar)
		return v->hour != WIN_NO_HOUR ? v->hour_end : INT64_MIN;
	if (v->day == 0)
		return INT64_MIN;
	if (z != NULL)
		return tz_hour_end(z, tz_day_last_hour(z, v->day));
	return (tz_days_from_date(v->day) + 1) * 86400;
}

/* Up to three decimals, trailing zeros dropped: 75, 75.5, 0.125. */
static void
fmt_num(double v, char *out, size_t len)
{
	char *dot, *e;

	snprintf(out, len, "%.3f", v);
	if ((dot = strchr(out, '.')) == NULL)
		return;
	e = out + strlen(out);
	while (e > dot + 1 && e[-1] == '0')
		*--e = '\0';
	if (e == dot + 1)
		*dot = '\0';
	if (strcmp(out, "-0") == 0)
		snprintf(out, len, "0");
}

int
rule_fill(const struct rule *r, const char *tmpl, const struct rule_fill *f,
    bool zh, char *out, size_t len)
{
	size_t o = 0;
	int rc = AQ_OK;

	if (len == 0)
		return AQ_ERR_INVAL;
	for (const char *p = tmpl; *p != '\0' && rc == AQ_OK; p++) {
		char num[64];
		const char *close, *s = NULL;
		size_t n;

		if (*p != '{' || (close = strchr(p, '}')) == NULL) {
			if (o + 1 < len)
				out[o++] = *p;
			continue;
		}
		n = (size_t)(close - p - 1);
#define IS(x) (n == sizeof(x) - 1 && strncmp(p + 1, x, n) == 0)
		if (IS("rule"))
			s = r->id;
		else if (IS("name"))
			s = zh ? r->name_zh : r->name;
		else if (IS("severity"))
			s = rule_severity_name(r->severity);
		else if (IS("scope"))
			s = rule_scope_name(r->scope);
		else if (IS("indicator"))
			s = r->when.name;
		else if (IS("op"))
			s = rule_op_name(r->when.op);
		else if (IS("threshold"))
			fmt_num(r->when.threshold, num, sizeof(num)), s = num;
		else if (IS("clear"))
			fmt_num(r->clear, num, sizeof(num)), s = num;
		else if (IS("unit"))
			s = r->when.ind >= 0 &&
				(r->when.var == RV_HOUR ||
				    r->when.var == RV_DAY)
			    ? unit_name(
				  pol_unit(ind_pol((enum ind)r->when.ind)))
			    : "";
		else if (IS("cell"))
			s = f->cell;
		else if (IS("area"))
			s = f->area;
		else if (IS("sensor"))
			s = f->sensor;
		else if (IS("object"))
			s = r->scope == SCOPE_SENSOR ? f->sensor
			    : r->scope == SCOPE_CELL ? f->cell
			    : r->scope == SCOPE_AREA ? f->area
						     : (zh ? "全网" : "grid");
		else if (IS("value")) {
			if (f->has_value)
				fmt_num(f->value, num, sizeof(num)), s = num;
			else
				s = zh ? "未知" : "unknown";
		} else
			rc = AQ_ERR_INVAL;
#undef IS
		if (s == NULL)
			s = "";
		for (; *s != '\0' && o + 1 < len; s++)
			out[o++] = *s;
		p = close;
	}
	out[o] = '\0';
	return rc;
}
