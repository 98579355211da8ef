/* alert: the alert lifecycle engine (see alert.h). */
#include "alerts/alert.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_ALERT "alert"
#define NS_SILENCE "silence"
#define NS_LOG "alertlog"
#define META_KEY "~meta"
#define ID_BLOCK 1024 /* ids reserved per counter write */
#define REC_MAX 4096  /* bytes of one serialised record */
#define NO_TIME INT64_MIN

enum owed { OWE_NONE, OWE_FIRING, OWE_RESOLVED };

struct alert {
	uint64_t hash;
	char fp[NOTICE_ID_MAX];
	uint32_t rule;
	char object[NOTICE_ID_MAX];
	int64_t cell; /* conf index, or -1 */
	char sensor[NOTICE_ID_MAX];
	const char *area; /* borrowed from conf, "" */
	enum alert_state state;
	uint64_t alert_id;
	double value;
	bool has_value;
	int64_t last_t, pending_since, clear_since; /* clear: NO_TIME none */
	int64_t starts_at, ends_at;
	int64_t last_notified;
	bool announced;
	enum owed owed;
	bool acked;
	char ack_who[ALERT_WHO_MAX];
	int64_t ack_at;
	char ack_comment[ALERT_COMMENT_MAX];
	/* in memory only */
	bool queued; /* an entry waits in a group */
	bool dirty;
};

struct silence {
	struct alert_silence s;
	bool dirty;
};

/* Notices of one (rule, area, kind) waiting to go out together. */
struct group {
	struct notice *n;
	struct alert *who[NOTICE_ALERTS_MAX];
	uint64_t episode[NOTICE_ALERTS_MAX];
	int64_t due;
};

/* When a (rule, area, kind) group last sent. */
struct sent {
	uint32_t rule;
	const char *area;
	enum notice_kind kind;
	int64_t at;
};

/* Per area/grid rule: each cell's latest value. */
struct agg {
	double *v;
	uint8_t *has;
	struct aggst *st; /* per area, the grid after them */
};

/* A running aggregate: an exact sum (millionths) for the mean, and the
 * extreme, recomputed only after the cell holding it moved away. */
struct aggst {
	int64_t sum;
	uint32_t cnt;
	double ext;
	bool valid;
};

struct alert_engine {
	const struct conf *c;
	const struct rule_set *rs;
	struct alert_opts o;
	struct store *st;
	alert_notice_fn fn;
	void *ctx;
	/* alerts: a vector in first-seen order and an open-addressing index */
	struct alert **v;
	uint32_t n, cap;
	uint32_t *idx; /* 1 + position in v, 0 empty */
	uint32_t idxcap;
	struct silence *sil;
	uint32_t nsil;
	struct group *groups;
	uint32_t ngroups;
	struct sent *sent;
	uint32_t nsent;
	struct agg *agg; /* per rule; NULL arrays for other scopes */
	/* cell -> areas holding it */
	uint32_t *area_start, *area_list;
	/* ids: next to give, and reserved up to (exclusive) */
	uint64_t next_alert, next_notice, hi_alert, hi_notice;
	bool meta_dirty;
	/* alerts to write (dirty set), so a call costs what it changed */
	struct alert **dirty;
	uint32_t ndirty, dirtycap;
	/* log entries the store refused, in order */
	char **logq;
	uint32_t nlogq;
	bool io_failed;
	struct alert_stats stats;
};

static uint64_t fnv(uint64_t h, const char *s);
static struct alert *find(const struct alert_engine *e, uint64_t h);
static struct alert *obtain(struct alert_engine *e, uint32_t rule,
    const char *object, int64_t cell, const char *sensor);
static int index_put(struct alert_engine *e, uint32_t pos);
static void process(struct alert_engine *e, uint32_t rule, const char *object,
    int64_t cell, const char *sensor, int64_t t, bool has, double value,
    int64_t now);
static void fire(
    struct alert_engine *e, struct alert *a, int64_t t, int64_t now);
static void resolve(
    struct alert_engine *e, struct alert *a, int64_t t, int64_t now);
static void enqueue(struct alert_engine *e, struct alert *a,
    enum notice_kind kind, int64_t now);
static void flush(struct alert_engine *e, uint32_t g, int64_t now);
static bool silenced(
    const struct alert_engine *e, const struct alert *a, int64_t now);
static bool inhibited(const struct alert_engine *e, const struct alert *a);
static const char *field(
    const struct alert_engine *e, const struct alert *a, const char *key);
static bool matches(const struct alert_engine *e, const struct alert *a,
    const struct rule_matcher *m, uint32_t n);
static void mark(struct alert_engine *e, struct alert *a);
static void log_event(struct alert_engine *e, const struct alert *a,
    const char *event, int64_t now, const char *extra);
static int persist(struct alert_engine *e);
static uint64_t take_id(struct alert_engine *e, bool notice);
static size_t ser_alert(
    const struct alert_engine *e, const struct alert *a, char *buf, size_t len);
static size_t ser_silence(const struct alert_silence *s, char *buf, size_t len);
static void info_of(const struct alert_engine *e, const struct alert *a,
    struct alert_info *out, int64_t now);

static const char *const state_names[] = {
    "inactive", "pending", "firing", "resolved"};

const char *
alert_state_name(enum alert_state s)
{
	return (unsigned)s <= ALERT_RESOLVED ? state_names[s] : "?";
}

static uint64_t
fnv(uint64_t h, const char *s)
{
	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= UINT64_C(1099511628211);
	}
	return h;
}

static uint64_t
fp_hash(const char *rule, const char *object)
{
	return fnv(fnv(fnv(UINT64_C(14695981039346656037), rule), "/"), object);
}

void
alert_fingerprint(const char *rule, const char *object, char out[NOTICE_ID_MAX])
{
	snprintf(out, NOTICE_ID_MAX, "%016" PRIx64, fp_hash(rule, object));
}

/* --- Strings of the text records: key=value lines, \ escapes. --- */

static void
put(char *buf, size_t len, size_t *o, const char *key, const char *val)
{
	int n = snprintf(buf + *o, *o < len ? len - *o : 0, "%s=", key);

	*o += (size_t)n;
	for (; *val != '\0'; val++) {
		char esc = *val == '\n' ? 'n' : *val == '\\' ? '\\' : 0;

		if (esc != 0 && *o + 2 < len) {
			buf[(*o)++] = '\\';
			buf[(*o)++] = esc;
		} else if (esc == 0 && *o + 1 < len) {
			buf[(*o)++] = *val;
		} else {
			*o += 2;
		}
	}
	if (*o + 1 < len)
		buf[(*o)++] = '\n';
	else
		(*o)++;
	if (*o < len)
		buf[*o] = '\0';
}

static void
puti(char *buf, size_t len, size_t *o, const char *key, int64_t v)
{
	char num[32];

	snprintf(num, sizeof(num), "%" PRId64, v);
	put(buf, len, o, key, num);
}

static void
putd(char *buf, size_t len, size_t *o, const char *key, double v)
{
	char num[40];

	snprintf(num, sizeof(num), "%.17g", v);
	put(buf, len, o, key, num);
}

/* Finds key in a record of len bytes; unescapes its value into out. */
static bool
get(const char *rec, size_t len, const char *key, char *out, size_t cap)
{
	size_t klen = strlen(key);
	const char *p = rec, *end = rec + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl == NULL)
			nl = end;
		if ((size_t)(nl - p) > klen && memcmp(p, key, klen) == 0 &&
		    p[klen] == '=') {
			size_t o = 0;

			for (p += klen + 1; p < nl && o + 1 < cap; p++) {
				if (*p == '\\' && p + 1 < nl) {
					p++;
					out[o++] = *p == 'n' ? '\n' : *p;
				} else {
					out[o++] = *p;
				}
			}
			out[o] = '\0';
			return true;
		}
		p = nl + 1;
	}
	if (cap > 0)
		out[0] = '\0';
	return false;
}

static int64_t
geti(const char *rec, size_t len, const char *key)
{
	char buf[32];

	if (!get(rec, len, key, buf, sizeof(buf)))
		return 0;
	return strtoll(buf, NULL, 10);
}

static double
getd(const char *rec, size_t len, const char *key)
{
	char buf[40];

	if (!get(rec, len, key, buf, sizeof(buf)))
		return 0;
	return strtod(buf, NULL);
}

/* --- The engine. --- */

struct alert_engine *
alert_engine_new(const struct conf *c, const struct rule_set *rs,
    const struct alert_opts *o, struct store *s, alert_notice_fn fn, void *ctx)
{
	struct alert_engine *e;
	uint32_t total = 0;

	if (c == NULL || rs == NULL || fn == NULL ||
	    (o != NULL && (o->group_wait < 0 || o->group_interval < 0)))
		return NULL;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->c = c;
	e->rs = rs;
	if (o != NULL)
		e->o = *o;
	if (e->o.group_interval == 0)
		e->o.group_interval = ALERT_GROUP_INTERVAL;
	e->st = s;
	e->fn = fn;
	e->ctx = ctx;
	e->next_alert = e->next_notice = 1;
	e->hi_alert = e->hi_notice = 1;
	e->idxcap = 64;
	if ((e->idx = calloc(e->idxcap, sizeof(*e->idx))) == NULL ||
	    (e->agg = calloc(rs->nrules + 1, sizeof(*e->agg))) == NULL ||
	    (e->area_start = calloc(c->ncells + 1, sizeof(uint32_t))) == NULL)
		goto fail;
	for (uint32_t r = 0; r < rs->nrules; r++) {
		enum notice_scope sc = rs->rules[r].scope;

		if (sc != SCOPE_AREA && sc != SCOPE_GRID)
			continue;
		if ((e->agg[r].v = calloc(c->ncells + 1, sizeof(double))) ==
			NULL ||
		    (e->agg[r].has = calloc(c->ncells + 1, 1)) == NULL ||
		    (e->agg[r].st = calloc(
			 c->nareas + 1, sizeof(struct aggst))) == NULL)
			goto fail;
	}
	/* cell -> areas, as offsets into one list */
	for (uint32_t a = 0; a < c->nareas; a++) {
		for (uint32_t k = 0; k < c->areas[a].ncells; k++)
			e->area_start[c->areas[a].cells[k]]++;
		total += c->areas[a].ncells;
	}
	for (uint32_t k = 0, sum = 0; k <= c->ncells; k++) {
		uint32_t cnt = k < c->ncells ? e->area_start[k] : 0;

		e->area_start[k] = sum;
		sum += cnt;
	}
	if ((e->area_list = calloc(total + 1, sizeof(uint32_t))) == NULL)
		goto fail;
	{
		uint32_t *fill = calloc(c->ncells + 1, sizeof(uint32_t));

		if (fill == NULL)
			goto fail;
		for (uint32_t a = 0; a < c->nareas; a++)
			for (uint32_t k = 0; k < c->areas[a].ncells; k++) {
				uint32_t cell = c->areas[a].cells[k];

				e->area_list[e->area_start[cell] +
				    fill[cell]++] = a;
			}
		free(fill);
	}
	return e;
fail:
	alert_engine_free(e);
	return NULL;
}

void
alert_engine_free(struct alert_engine *e)
{
	if (e == NULL)
		return;
	for (uint32_t k = 0; k < e->n; k++)
		free(e->v[k]);
	free(e->v);
	free(e->dirty);
	free(e->idx);
	free(e->sil);
	for (uint32_t k = 0; k < e->ngroups; k++)
		free(e->groups[k].n);
	free(e->groups);
	free(e->sent);
	if (e->agg != NULL)
		for (uint32_t r = 0; r < e->rs->nrules; r++) {
			free(e->agg[r].v);
			free(e->agg[r].has);
			free(e->agg[r].st);
		}
	free(e->agg);
	free(e->area_start);
	free(e->area_list);
	for (uint32_t k = 0; k < e->nlogq; k++)
		free(e->logq[k]);
	free(e->logq);
	free(e);
}

static struct alert *
find(const struct alert_engine *e, uint64_t h)
{
	uint32_t mask = e->idxcap - 1;

	for (uint32_t k = (uint32_t)h & mask;; k = (k + 1) & mask) {
		uint32_t pos = e->idx[k];

		if (pos == 0)
			return NULL;
		if (e->v[pos - 1]->hash == h)
			return e->v[pos - 1];
	}
}

static int
index_put(struct alert_engine *e, uint32_t pos)
{
	uint32_t mask;

	if ((uint64_t)(e->n + 1) * 2 > e->idxcap) {
		uint32_t cap = e->idxcap * 2;
		uint32_t *idx = calloc(cap, sizeof(*idx));

		if (idx == NULL)
			return AQ_ERR_NOMEM;
		free(e->idx);
		e->idx = idx;
		e->idxcap = cap;
		for (uint32_t k = 0; k < e->n; k++)
			if (k != pos && index_put(e, k) != AQ_OK)
				return AQ_ERR_NOMEM;
	}
	mask = e->idxcap - 1;
	for (uint32_t k = (uint32_t)e->v[pos]->hash & mask;;
	     k = (k + 1) & mask) {
		if (e->idx[k] == 0) {
			e->idx[k] = pos + 1;
			return AQ_OK;
		}
	}
}

/* The area of a cell: its first area, or "". */
static const char *
cell_area(const struct alert_engine *e, int64_t cell)
{
	if (cell < 0 || (uint64_t)cell >= e->c->ncells ||
	    e->c->cells[cell].area < 0)
		return "";
	return e->c->areas[e->c->cells[cell].area].id;
}

static struct alert *
obtain(struct alert_engine *e, uint32_t rule, const char *object, int64_t cell,
    const char *sensor)
{
	const struct rule *r = &e->rs->rules[rule];
	uint64_t h = fp_hash(r->id, object);
	struct alert *a = find(e, h);

	if (a != NULL)
		return a;
	if (e->n == e->cap) {
		uint32_t cap = e->cap ? e->cap * 2 : 64;
		struct alert **v = realloc(e->v, cap * sizeof(*v));

		if (v == NULL)
			return NULL;
		e->v = v;
		e->cap = cap;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->hash = h;
	alert_fingerprint(r->id, object, a->fp);
	a->rule = rule;
	snprintf(a->object, sizeof(a->object), "%s", object);
	a->cell = cell;
	snprintf(a->sensor, sizeof(a->sensor), "%s", sensor ? sensor : "");
	a->area = r->scope == SCOPE_AREA ? e->c->areas[cell].id
	    : r->scope == SCOPE_GRID     ? ""
					 : cell_area(e, cell);
	if (r->scope == SCOPE_AREA || r->scope == SCOPE_GRID)
		a->cell = -1;
	a->last_t = a->pending_since = a->clear_since = NO_TIME;
	e->v[e->n] = a;
	if (index_put(e, e->n) != AQ_OK) {
		free(a);
		return NULL;
	}
	e->n++;
	e->stats.alerts = e->n;
	return a;
}

static void
mark(struct alert_engine *e, struct alert *a)
{
	if (a->dirty)
		return;
	if (e->ndirty == e->dirtycap) {
		uint32_t cap = e->dirtycap ? e->dirtycap * 2 : 64;
		struct alert **d = realloc(e->dirty, cap * sizeof(*d));

		if (d == NULL)
			return; /* unsaved until marked again */
		e->dirty = d;
		e->dirtycap = cap;
	}
	e->dirty[e->ndirty++] = a;
	a->dirty = true;
}

static uint64_t
take_id(struct alert_engine *e, bool notice)
{
	uint64_t *next = notice ? &e->next_notice : &e->next_alert;
	uint64_t *hi = notice ? &e->hi_notice : &e->hi_alert;

	if (*next >= *hi) {
		*hi = *next + ID_BLOCK;
		e->meta_dirty = true;
	}
	return (*next)++;
}

uint64_t
alert_engine_notice_id(struct alert_engine *e)
{
	return take_id(e, true);
}

static void
process(struct alert_engine *e, uint32_t rule, const char *object, int64_t cell,
    const char *sensor, int64_t t, bool has, double value, int64_t now)
{
	const struct rule *r = &e->rs->rules[rule];
	struct alert *a = find(e, fp_hash(r->id, object));
	bool holds;

	e->stats.samples++;
	if (!has || t == NO_TIME || !isfinite(value))
		return; /* missing: hold every state and timer */
	holds = rule_holds(&r->when, value);
	if (a == NULL) {
		if (!holds)
			return;
		if ((a = obtain(e, rule, object, cell, sensor)) == NULL)
			return;
	}
	if (a->last_t != NO_TIME && t < a->last_t)
		t = a->last_t; /* a late statistic: time does not go back */
	a->last_t = t;
	a->value = value;
	a->has_value = true;
	switch (a->state) {
	case ALERT_INACTIVE:
	case ALERT_RESOLVED:
		if (!holds)
			return;
		a->state = ALERT_PENDING;
		a->alert_id = take_id(e, false);
		a->pending_since = t;
		a->clear_since = NO_TIME;
		a->starts_at = a->ends_at = 0;
		a->acked = false;
		a->ack_who[0] = a->ack_comment[0] = '\0';
		a->ack_at = 0;
		a->announced = false;
		mark(e, a);
		log_event(e, a, "pending", now, NULL);
		if (r->for_s == 0)
			fire(e, a, t, now);
		return;
	case ALERT_PENDING:
		if (!holds) {
			a->state = ALERT_INACTIVE;
			a->pending_since = NO_TIME;
			mark(e, a);
			log_event(e, a, "cancelled", now, NULL);
		} else if (t - a->pending_since >= r->for_s) {
			fire(e, a, t, now);
		}
		return;
	case ALERT_FIRING:
		if (!rule_cleared(r, value)) {
			if (a->clear_since != NO_TIME) {
				a->clear_since = NO_TIME;
				mark(e, a);
			}
			return;
		}
		if (a->clear_since == NO_TIME) {
			a->clear_since = t;
			mark(e, a);
		}
		if (t - a->clear_since >= r->clear_for_s)
			resolve(e, a, t, now);
		return;
	}
}

static void
fire(struct alert_engine *e, struct alert *a, int64_t t, int64_t now)
{
	a->state = ALERT_FIRING;
	a->starts_at = t;
	a->clear_since = NO_TIME;
	a->owed = OWE_FIRING;
	mark(e, a);
	log_event(e, a, "firing", now, NULL);
	enqueue(e, a, NOTICE_FIRING, now);
}

static void
resolve(struct alert_engine *e, struct alert *a, int64_t t, int64_t now)
{
	a->state = ALERT_RESOLVED;
	a->ends_at = t;
	a->clear_since = NO_TIME;
	/* Nobody heard of an alert never announced: it ends silently. */
	a->owed = a->announced ? OWE_RESOLVED : OWE_NONE;
	mark(e, a);
	log_event(e, a, "resolved", now, NULL);
	if (a->owed == OWE_RESOLVED)
		enqueue(e, a, NOTICE_RESOLVED, now);
}

static int64_t
last_sent(const struct alert_engine *e, uint32_t rule, const char *area,
    enum notice_kind kind)
{
	for (uint32_t k = 0; k < e->nsent; k++)
		if (e->sent[k].rule == rule && e->sent[k].kind == kind &&
		    strcmp(e->sent[k].area, area) == 0)
			return e->sent[k].at;
	return NO_TIME;
}

static void
set_sent(struct alert_engine *e, uint32_t rule, const char *area,
    enum notice_kind kind, int64_t at)
{
	struct sent *s;

	for (uint32_t k = 0; k < e->nsent; k++)
		if (e->sent[k].rule == rule && e->sent[k].kind == kind &&
		    strcmp(e->sent[k].area, area) == 0) {
			e->sent[k].at = at;
			return;
		}
	if ((s = realloc(e->sent, (e->nsent + 1) * sizeof(*s))) == NULL)
		return; /* grouping degrades to group_wait only */
	e->sent = s;
	e->sent[e->nsent++] = (struct sent){rule, area, kind, at};
}

static void
enqueue(
    struct alert_engine *e, struct alert *a, enum notice_kind kind, int64_t now)
{
	const struct rule *r = &e->rs->rules[a->rule];
	struct group *g = NULL;
	struct notice_alert *na;
	struct rule_fill f;
	uint32_t gi;
	int64_t prev;

	if (a->queued)
		return;
	for (gi = 0; gi < e->ngroups; gi++) {
		struct notice *n = e->groups[gi].n;

		if (e->groups[gi].who[0]->rule == a->rule && n->kind == kind &&
		    strcmp(n->area, a->area) == 0) {
			g = &e->groups[gi];
			break;
		}
	}
	if (g == NULL) {
		struct group *gs =
		    realloc(e->groups, (e->ngroups + 1) * sizeof(*gs));
		struct notice *n;

		if (gs == NULL)
			return; /* owed stays set: the next tick retries */
		e->groups = gs;
		if ((n = calloc(1, sizeof(*n))) == NULL)
			return;
		g = &e->groups[gi = e->ngroups++];
		memset(g, 0, sizeof(*g));
		g->n = n;
		n->kind = kind;
		snprintf(n->rule, sizeof(n->rule), "%s", r->id);
		snprintf(n->rule_name, sizeof(n->rule_name), "%s", r->name);
		snprintf(
		    n->indicator, sizeof(n->indicator), "%s", r->when.name);
		snprintf(n->op, sizeof(n->op), "%s", rule_op_name(r->when.op));
		n->threshold = r->when.threshold;
		n->severity = r->severity;
		n->scope = r->scope;
		snprintf(n->area, sizeof(n->area), "%s", a->area);
		n->nlabels = r->nlabels;
		memcpy(n->labels, r->labels, sizeof(n->labels));
		g->due = now + e->o.group_wait;
		prev = last_sent(e, a->rule, a->area, kind);
		if (prev != NO_TIME && prev + e->o.group_interval > g->due)
			g->due = prev + e->o.group_interval;
	}
	na = &g->n->alerts[g->n->nalerts];
	memset(na, 0, sizeof(*na));
	snprintf(na->fingerprint, sizeof(na->fingerprint), "%s", a->fp);
	na->alert_id = a->alert_id;
	if (a->cell >= 0)
		snprintf(
		    na->cell, sizeof(na->cell), "%s", e->c->cells[a->cell].id);
	snprintf(na->sensor, sizeof(na->sensor), "%s", a->sensor);
	snprintf(na->area, sizeof(na->area), "%s", a->area);
	na->value = a->value;
	na->has_value = a->has_value;
	na->starts_at = a->starts_at;
	na->ends_at = a->state == ALERT_RESOLVED ? a->ends_at : 0;
	na->event_hour = a->last_t == NO_TIME ? 0 : a->last_t;
	f = (struct rule_fill){.cell = na->cell,
	    .area = a->area,
	    .sensor = a->sensor,
	    .value = a->value,
	    .has_value = a->has_value};
	(void)rule_fill(
	    r, r->summary, &f, false, na->summary, sizeof(na->summary));
	(void)rule_fill(
	    r, r->summary_zh, &f, true, na->summary_zh, sizeof(na->summary_zh));
	g->who[g->n->nalerts] = a;
	g->episode[g->n->nalerts] = a->alert_id;
	g->n->nalerts++;
	a->queued = true;
	if (g->n->nalerts == NOTICE_ALERTS_MAX)
		flush(e, gi, now);
}

static void
flush(struct alert_engine *e, uint32_t gi, int64_t now)
{
	struct group g = e->groups[gi];
	struct notice *n = g.n;
	uint32_t keep = 0, total = n->nalerts;
	uint32_t rule = g.who[0]->rule;
	const char *area = g.who[0]->area;

	/* Remove the group first: the callback must see a consistent
	 * engine, and entries may be re-queued below. */
	e->groups[gi] = e->groups[--e->ngroups];
	for (uint32_t k = 0; k < total; k++) {
		struct alert *a = g.who[k];
		bool same = a->alert_id == g.episode[k];
		bool muted = silenced(e, a, now) || inhibited(e, a);

		a->queued = false;
		switch (n->kind) {
		case NOTICE_FIRING:
			/* Resolved (or cancelled) before it went out. */
			if (!same || a->state != ALERT_FIRING ||
			    a->owed != OWE_FIRING || muted)
				continue;
			a->announced = true;
			a->owed = OWE_NONE;
			a->last_notified = now;
			break;
		case NOTICE_REPEAT:
			if (!same || a->state != ALERT_FIRING || a->acked)
				continue;
			a->last_notified = now;
			mark(e, a);
			if (muted)
				continue;
			break;
		case NOTICE_RESOLVED:
			if (!same || a->owed != OWE_RESOLVED)
				continue;
			a->owed = OWE_NONE;
			mark(e, a);
			if (muted)
				continue;
			break;
		}
		mark(e, a);
		if (keep != k) {
			n->alerts[keep] = n->alerts[k];
		}
		keep++;
	}
	n->nalerts = keep;
	if (keep > 0) {
		n->id = take_id(e, true);
		n->created = now;
		set_sent(e, rule, area, n->kind, now);
		e->stats.notices++;
		e->fn(e->ctx, n);
	}
	free(n);
}

static const char *
field(const struct alert_engine *e, const struct alert *a, const char *key)
{
	const struct rule *r = &e->rs->rules[a->rule];

	if (strcmp(key, "rule") == 0)
		return r->id;
	if (strcmp(key, "area") == 0)
		return a->area;
	if (strcmp(key, "cell") == 0)
		return a->cell >= 0 ? e->c->cells[a->cell].id : "";
	if (strcmp(key, "sensor") == 0)
		return a->sensor;
	if (strcmp(key, "severity") == 0)
		return rule_severity_name(r->severity);
	if (strcmp(key, "scope") == 0)
		return rule_scope_name(r->scope);
	for (uint32_t k = 0; k < r->nlabels; k++)
		if (strcmp(r->labels[k].key, key) == 0)
			return r->labels[k].value;
	return "";
}

static bool
matches(const struct alert_engine *e, const struct alert *a,
    const struct rule_matcher *m, uint32_t n)
{
	for (uint32_t k = 0; k < n; k++)
		if ((strcmp(field(e, a, m[k].key), m[k].value) == 0) ==
		    m[k].neq)
			return false;
	return true;
}

static bool
silenced(const struct alert_engine *e, const struct alert *a, int64_t now)
{
	for (uint32_t k = 0; k < e->nsil; k++) {
		const struct alert_silence *s = &e->sil[k].s;

		if (now >= s->start && now < s->end &&
		    matches(e, a, s->m, s->nm))
			return true;
	}
	return false;
}

/* Whether b, firing, is a source of ih that mutes a. */
static bool
mutes(const struct alert_engine *e, const struct rule_inhibit *ih,
    const struct alert *b, const struct alert *a)
{
	if (b == NULL || b == a || b->state != ALERT_FIRING ||
	    !matches(e, b, ih->source, ih->nsource))
		return false;
	for (uint32_t q = 0; q < ih->nequal; q++)
		if (strcmp(field(e, a, ih->equal[q]),
			field(e, b, ih->equal[q])) != 0)
			return false;
	return true;
}

/*
 * The usual inhibition names its source rule and asks for the same
 * object (equal = cell for cell rules, area for area rules): then the only
 * candidate is that rule's alert for a's object, found by fingerprint.
 * Anything else scans every alert.
 */
static bool
inhibited(const struct alert_engine *e, const struct alert *a)
{
	for (uint32_t k = 0; k < e->rs->ninhibits; k++) {
		const struct rule_inhibit *ih = &e->rs->inhibits[k];
		const char *key = NULL, *src = NULL;
		int sr = -1;

		if (!matches(e, a, ih->target, ih->ntarget))
			continue;
		for (uint32_t j = 0; j < ih->nsource && src == NULL; j++)
			if (strcmp(ih->source[j].key, "rule") == 0 &&
			    !ih->source[j].neq)
				src = ih->source[j].value;
		if (src != NULL && (sr = rule_find(e->rs, src)) >= 0) {
			enum notice_scope sc = e->rs->rules[sr].scope;

			key = sc == SCOPE_CELL ? "cell"
			    : sc == SCOPE_AREA ? "area"
					       : NULL;
		}
		for (uint32_t q = 0; key != NULL && q < ih->nequal; q++) {
			if (strcmp(ih->equal[q], key) == 0) {
				const char *obj = field(e, a, key);

				if (mutes(e, ih, find(e, fp_hash(src, obj)), a))
					return true;
				key = NULL;
				sr = -2; /* decided: no scan */
			}
		}
		if (sr == -2)
			continue;
		for (uint32_t j = 0; j < e->n; j++)
			if (mutes(e, ih, e->v[j], a))
				return true;
	}
	return false;
}

/* --- Persistence. --- */

static size_t
ser_alert(
    const struct alert_engine *e, const struct alert *a, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	put(buf, len, &o, "rule", e->rs->rules[a->rule].id);
	put(buf, len, &o, "object", a->object);
	put(buf, len, &o, "cell", a->cell >= 0 ? e->c->cells[a->cell].id : "");
	put(buf, len, &o, "sensor", a->sensor);
	puti(buf, len, &o, "state", a->state);
	puti(buf, len, &o, "alert_id", (int64_t)a->alert_id);
	putd(buf, len, &o, "value", a->value);
	puti(buf, len, &o, "has_value", a->has_value);
	puti(buf, len, &o, "last_t", a->last_t);
	puti(buf, len, &o, "pending_since", a->pending_since);
	puti(buf, len, &o, "clear_since", a->clear_since);
	puti(buf, len, &o, "starts_at", a->starts_at);
	puti(buf, len, &o, "ends_at", a->ends_at);
	puti(buf, len, &o, "last_notified", a->last_notified);
	puti(buf, len, &o, "announced", a->announced);
	puti(buf, len, &o, "owed", a->owed);
	puti(buf, len, &o, "acked", a->acked);
	put(buf, len, &o, "ack_who", a->ack_who);
	puti(buf, len, &o, "ack_at", a->ack_at);
	put(buf, len, &o, "ack_comment", a->ack_comment);
	return o;
}

static size_t
ser_matchers(const struct rule_matcher *m, uint32_t n, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (uint32_t k = 0; k < n && o < len; k++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s%s%s",
		    k ? " " : "", m[k].key, m[k].neq ? "!=" : "=", m[k].value);
	return o;
}

static size_t
ser_silence(const struct alert_silence *s, char *buf, size_t len)
{
	char m[RULE_MATCHERS_MAX * NOTICE_ID_MAX * 2 + 32];
	size_t o = 0;

	buf[0] = '\0';
	(void)ser_matchers(s->m, s->nm, m, sizeof(m));
	puti(buf, len, &o, "id", (int64_t)s->id);
	put(buf, len, &o, "matchers", m);
	puti(buf, len, &o, "start", s->start);
	puti(buf, len, &o, "end", s->end);
	put(buf, len, &o, "author", s->author);
	put(buf, len, &o, "comment", s->comment);
	puti(buf, len, &o, "created", s->created);
	return o;
}

static void
log_event(struct alert_engine *e, const struct alert *a, const char *event,
    int64_t now, const char *extra)
{
	char buf[REC_MAX], **q;
	size_t o = 0;

	if (e->st == NULL)
		return;
	put(buf, sizeof(buf), &o, "event", event);
	puti(buf, sizeof(buf), &o, "now", now);
	if (a != NULL) {
		put(buf, sizeof(buf), &o, "fingerprint", a->fp);
		puti(buf, sizeof(buf), &o, "alert_id", (int64_t)a->alert_id);
		put(buf, sizeof(buf), &o, "rule", e->rs->rules[a->rule].id);
		put(buf, sizeof(buf), &o, "object", a->object);
		puti(buf, sizeof(buf), &o, "t", a->last_t);
		if (a->has_value)
			putd(buf, sizeof(buf), &o, "value", a->value);
	}
	if (extra != NULL && o < sizeof(buf))
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s", extra);
	if ((q = realloc(e->logq, (e->nlogq + 1) * sizeof(*q))) == NULL)
		return;
	e->logq = q;
	if ((e->logq[e->nlogq] = strdup(buf)) != NULL)
		e->nlogq++;
}

/* Writes what changed; stops at the first refusal, keeping the rest. */
static int
persist(struct alert_engine *e)
{
	char buf[REC_MAX];
	uint32_t done = 0;
	int rc = AQ_OK;

	if (e->st == NULL) {
		for (uint32_t k = 0; k < e->ndirty; k++)
			e->dirty[k]->dirty = false;
		e->ndirty = 0;
		return AQ_OK;
	}
	if (e->meta_dirty) {
		size_t o = 0;

		puti(buf, sizeof(buf), &o, "alert_hi", (int64_t)e->hi_alert);
		puti(buf, sizeof(buf), &o, "notice_hi", (int64_t)e->hi_notice);
		if ((rc = store_rec_put(e->st, NS_ALERT, META_KEY, buf, o)) !=
		    AQ_OK)
			goto out;
		e->meta_dirty = false;
	}
	for (; done < e->ndirty; done++) {
		struct alert *a = e->dirty[done];
		size_t len = ser_alert(e, a, buf, sizeof(buf));

		if ((rc = store_rec_put(e->st, NS_ALERT, a->fp, buf,
			 len < sizeof(buf) ? len : sizeof(buf) - 1)) != AQ_OK)
			break;
		a->dirty = false;
	}
	if (done > 0) {
		memmove(e->dirty, e->dirty + done,
		    (e->ndirty - done) * sizeof(*e->dirty));
		e->ndirty -= done;
	}
	done = 0;
	if (rc != AQ_OK)
		goto out;
	for (uint32_t k = 0; k < e->nsil; k++) {
		char key[32];
		size_t len;

		if (!e->sil[k].dirty)
			continue;
		snprintf(key, sizeof(key), "%016" PRIx64, e->sil[k].s.id);
		len = ser_silence(&e->sil[k].s, buf, sizeof(buf));
		if ((rc = store_rec_put(e->st, NS_SILENCE, key, buf,
			 len < sizeof(buf) ? len : sizeof(buf) - 1)) != AQ_OK)
			goto out;
		e->sil[k].dirty = false;
	}
	for (; done < e->nlogq; done++) {
		if ((rc = store_log_append(e->st, NS_LOG, e->logq[done],
			 strlen(e->logq[done]), NULL)) != AQ_OK)
			break;
		free(e->logq[done]);
	}
	if (done > 0) {
		memmove(e->logq, e->logq + done,
		    (e->nlogq - done) * sizeof(char *));
		e->nlogq -= done;
	}
out:
	if (rc != AQ_OK)
		e->stats.store_failures++;
	e->io_failed = rc != AQ_OK;
	return rc == AQ_OK ? AQ_OK : AQ_ERR_IO;
}

struct load_ctx {
	struct alert_engine *e;
	int rc;
	char **drop; /* keys of orphaned records */
	uint32_t ndrop;
};

static int
load_alert(void *ctx, const char *key, const void *value, size_t len)
{
	struct load_ctx *l = ctx;
	struct alert_engine *e = l->e;
	const char *rec = value;
	char rule[RULE_ID_MAX], object[NOTICE_ID_MAX], cell[NOTICE_ID_MAX];
	char sensor[NOTICE_ID_MAX];
	struct alert *a;
	int ri;
	int64_t ci = -1;

	if (strcmp(key, META_KEY) == 0) {
		e->hi_alert = (uint64_t)geti(rec, len, "alert_hi");
		e->hi_notice = (uint64_t)geti(rec, len, "notice_hi");
		/* What was reserved may have been given: start above it. */
		if (e->next_alert < e->hi_alert)
			e->next_alert = e->hi_alert;
		if (e->next_notice < e->hi_notice)
			e->next_notice = e->hi_notice;
		return 0;
	}
	get(rec, len, "rule", rule, sizeof(rule));
	get(rec, len, "object", object, sizeof(object));
	get(rec, len, "cell", cell, sizeof(cell));
	get(rec, len, "sensor", sensor, sizeof(sensor));
	ri = rule_find(e->rs, rule);
	if (ri >= 0) {
		enum notice_scope sc = e->rs->rules[ri].scope;

		if (sc == SCOPE_AREA) {
			for (uint32_t k = 0; k < e->c->nareas; k++)
				if (strcmp(e->c->areas[k].id, object) == 0)
					ci = k;
		} else if (sc == SCOPE_GRID) {
			ci = strcmp(object, "grid") == 0 ? 0 : -1;
		} else {
			ci = conf_cell_find(e->c, cell);
		}
	}
	if (ri < 0 || ci < 0) {
		char **d = realloc(l->drop, (l->ndrop + 1) * sizeof(*d));

		if (d != NULL) {
			l->drop = d;
			if ((d[l->ndrop] = strdup(key)) != NULL)
				l->ndrop++;
		}
		return 0;
	}
	if ((a = obtain(e, (uint32_t)ri, object, ci, sensor)) == NULL) {
		l->rc = AQ_ERR_NOMEM;
		return 1;
	}
	a->state = (enum alert_state)geti(rec, len, "state");
	a->alert_id = (uint64_t)geti(rec, len, "alert_id");
	a->value = getd(rec, len, "value");
	a->has_value = geti(rec, len, "has_value") != 0;
	a->last_t = geti(rec, len, "last_t");
	a->pending_since = geti(rec, len, "pending_since");
	a->clear_since = geti(rec, len, "clear_since");
	a->starts_at = geti(rec, len, "starts_at");
	a->ends_at = geti(rec, len, "ends_at");
	a->last_notified = geti(rec, len, "last_notified");
	a->announced = geti(rec, len, "announced") != 0;
	a->owed = (enum owed)geti(rec, len, "owed");
	a->acked = geti(rec, len, "acked") != 0;
	get(rec, len, "ack_who", a->ack_who, sizeof(a->ack_who));
	a->ack_at = geti(rec, len, "ack_at");
	get(rec, len, "ack_comment", a->ack_comment, sizeof(a->ack_comment));
	if (a->state > ALERT_RESOLVED || a->owed > OWE_RESOLVED) {
		a->state = ALERT_INACTIVE;
		a->owed = OWE_NONE;
	}
	if (a->alert_id >= e->next_alert)
		e->next_alert = a->alert_id + 1;
	return 0;
}

static int
load_silence(void *ctx, const char *key, const void *value, size_t len)
{
	struct load_ctx *l = ctx;
	struct alert_engine *e = l->e;
	const char *rec = value;
	struct alert_silence s = {0};
	char m[RULE_MATCHERS_MAX * NOTICE_ID_MAX * 2 + 32];
	struct silence *grown;

	(void)key;
	s.id = (uint64_t)geti(rec, len, "id");
	get(rec, len, "matchers", m, sizeof(m));
	if (rule_parse_matchers(m, s.m, RULE_MATCHERS_MAX, &s.nm, NULL, 0) !=
	    AQ_OK)
		return 0;
	s.start = geti(rec, len, "start");
	s.end = geti(rec, len, "end");
	get(rec, len, "author", s.author, sizeof(s.author));
	get(rec, len, "comment", s.comment, sizeof(s.comment));
	s.created = geti(rec, len, "created");
	if ((grown = realloc(e->sil, (e->nsil + 1) * sizeof(*grown))) == NULL) {
		l->rc = AQ_ERR_NOMEM;
		return 1;
	}
	e->sil = grown;
	e->sil[e->nsil++] = (struct silence){.s = s};
	if (s.id >= e->next_alert)
		e->next_alert = s.id + 1;
	return 0;
}

int
alert_engine_load(struct alert_engine *e, int64_t now)
{
	struct load_ctx l = {.e = e};
	int rc;

	if (e->st == NULL)
		return AQ_OK;
	rc = store_rec_each(e->st, NS_ALERT, load_alert, &l);
	if (rc == AQ_OK || rc == 1)
		rc = store_rec_each(e->st, NS_SILENCE, load_silence, &l);
	if (rc == 1)
		rc = l.rc;
	for (uint32_t k = 0; k < l.ndrop; k++) {
		char extra[NOTICE_ID_MAX + 16];

		snprintf(extra, sizeof(extra), "fingerprint=%s\n", l.drop[k]);
		if (store_rec_del(e->st, NS_ALERT, l.drop[k]) != AQ_OK)
			rc = AQ_ERR_IO;
		log_event(e, NULL, "dropped", now, extra);
		free(l.drop[k]);
	}
	free(l.drop);
	/* Ids go on above everything restored. */
	if (e->hi_alert < e->next_alert || e->hi_notice < e->next_notice)
		e->meta_dirty = true;
	if (rc != AQ_OK)
		return rc == AQ_ERR_NOMEM ? rc : AQ_ERR_IO;
	return persist(e);
}

/* --- Samples. --- */

int
alert_engine_sample(struct alert_engine *e, uint32_t rule, const char *object,
    int64_t cell, int64_t t, bool has, double value, int64_t now)
{
	const struct rule *r;
	char sensor[NOTICE_ID_MAX] = "";

	if (rule >= e->rs->nrules || object == NULL ||
	    strlen(object) >= NOTICE_ID_MAX)
		return AQ_ERR_INVAL;
	r = &e->rs->rules[rule];
	switch (r->scope) {
	case SCOPE_CELL:
		if ((cell = conf_cell_find(e->c, object)) < 0)
			return AQ_ERR_INVAL;
		break;
	case SCOPE_SENSOR:
		if (cell < 0 || (uint64_t)cell >= e->c->ncells)
			return AQ_ERR_INVAL;
		snprintf(sensor, sizeof(sensor), "%s", object);
		break;
	case SCOPE_AREA:
		cell = -1;
		for (uint32_t k = 0; k < e->c->nareas; k++)
			if (strcmp(e->c->areas[k].id, object) == 0)
				cell = k;
		if (cell < 0)
			return AQ_ERR_INVAL;
		break;
	case SCOPE_GRID:
		if (strcmp(object, "grid") != 0)
			return AQ_ERR_INVAL;
		cell = 0;
		break;
	}
	process(e, rule, object, cell, sensor, t, has, value, now);
	return persist(e);
}

static int64_t
millionths(double v)
{
	return (int64_t)llround(v * 1e6);
}

/* Whether a is more extreme than b for how (max or min). */
static bool
beyond(enum rule_agg how, double a, double b)
{
	return how == RULE_AGG_MIN ? a < b : a > b;
}

/* A cell of the area (-1: the grid) changed from (oh, ov) to (nh, nv). */
static void
agg_update(struct alert_engine *e, uint32_t r, int64_t area, bool oh, double ov,
    bool nh, double nv)
{
	struct aggst *st =
	    &e->agg[r].st[area >= 0 ? (uint32_t)area : e->c->nareas];
	enum rule_agg how = e->rs->rules[r].agg;

	if (oh) {
		st->sum -= millionths(ov);
		st->cnt--;
		if (st->valid && ov == st->ext &&
		    !(nh && !beyond(how, st->ext, nv)))
			st->valid = false;
	}
	if (nh) {
		st->sum += millionths(nv);
		st->cnt++;
		if (st->valid && beyond(how, nv, st->ext))
			st->ext = nv;
		else if (st->cnt == 1)
			st->ext = nv, st->valid = true;
	}
}

/* The aggregate of an area's (or the grid's) cells for rule r. */
static bool
aggregate(const struct alert_engine *e, uint32_t r, int64_t area, double *out)
{
	const struct agg *g = &e->agg[r];
	struct aggst *st = &g->st[area >= 0 ? (uint32_t)area : e->c->nareas];
	enum rule_agg how = e->rs->rules[r].agg;
	uint32_t n = area >= 0 ? e->c->areas[area].ncells : e->c->ncells;

	if (st->cnt == 0)
		return false;
	if (how == RULE_AGG_MEAN) {
		*out = (double)st->sum / 1e6 / st->cnt;
		return true;
	}
	if (!st->valid) {
		bool first = true;

		for (uint32_t k = 0; k < n; k++) {
			uint32_t c = area >= 0 ? e->c->areas[area].cells[k] : k;

			if (g->has[c] &&
			    (first || beyond(how, g->v[c], st->ext)))
				st->ext = g->v[c], first = false;
		}
		st->valid = true;
	}
	*out = st->ext;
	return true;
}

int
alert_engine_cell(struct alert_engine *e, const struct cell_view *v,
    bool unknown, int64_t now)
{
	const struct conf *c = e->c;
	/* The cell's forecast, read once for its forecast.* rules. */
	struct fcgrid_forecast *fc = NULL;
	int fc_got = 0; /* 0: not read, 1: have, -1: none */
	int rc;

	if (v->cell >= c->ncells)
		return AQ_ERR_INVAL;
	for (uint32_t ri = 0; ri < e->rs->nrules; ri++) {
		const struct rule *r = &e->rs->rules[ri];
		int64_t t = rule_cell_time(&r->when, v, e->o.tz);
		double val = 0;
		bool has;

		if (r->scope == SCOPE_SENSOR)
			continue;
		if (r->when.var == RV_FORECAST) {
			if (fc_got == 0) {
				fc_got = -1;
				if (e->o.fc != NULL &&
				    (fc = malloc(sizeof(*fc))) != NULL &&
				    fcgrid_get(e->o.fc, v->cell, fc) == AQ_OK)
					fc_got = 1;
			}
			has = !unknown && fc_got == 1 &&
			    rule_forecast_value(&r->when, fc, &val);
		} else
			has = rule_cell_value(&r->when, v, unknown, &val);
		/* Liveness is a matter of the wall clock. */
		if (r->when.var == RV_OFFLINE)
			t = now;
		if (r->scope == SCOPE_CELL) {
			process(e, ri, c->cells[v->cell].id, v->cell, NULL, t,
			    has, val, now);
			continue;
		}
		{
			bool oh = e->agg[ri].has[v->cell] != 0;
			double ov = e->agg[ri].v[v->cell];

			e->agg[ri].v[v->cell] = val;
			e->agg[ri].has[v->cell] = has;
			if (r->scope == SCOPE_GRID)
				agg_update(e, ri, -1, oh, ov, has, val);
			for (uint32_t k = e->area_start[v->cell];
			     r->scope == SCOPE_AREA &&
			     k < e->area_start[v->cell + 1];
			     k++)
				agg_update(
				    e, ri, e->area_list[k], oh, ov, has, val);
		}
		if (r->scope == SCOPE_GRID) {
			has = aggregate(e, ri, -1, &val);
			process(e, ri, "grid", 0, NULL, t, has, val, now);
			continue;
		}
		for (uint32_t k = e->area_start[v->cell];
		     k < e->area_start[v->cell + 1]; k++) {
			uint32_t area = e->area_list[k];

			has = aggregate(e, ri, area, &val);
			process(e, ri, c->areas[area].id, area, NULL, t, has,
			    val, now);
		}
	}
	rc = persist(e);
	free(fc);
	return rc;
}

int
alert_engine_sensor(struct alert_engine *e, const char *sensor, uint32_t cell,
    bool offline, int64_t t, int64_t now)
{
	if (sensor == NULL || strlen(sensor) >= NOTICE_ID_MAX ||
	    cell >= e->c->ncells)
		return AQ_ERR_INVAL;
	for (uint32_t ri = 0; ri < e->rs->nrules; ri++)
		if (e->rs->rules[ri].scope == SCOPE_SENSOR &&
		    e->rs->rules[ri].when.var == RV_OFFLINE)
			process(e, ri, sensor, cell, sensor, t, true,
			    offline ? 1 : 0, now);
	return persist(e);
}

int
alert_engine_sensor_fault(struct alert_engine *e, const char *sensor,
    uint32_t cell, bool fault, int64_t t, int64_t now)
{
	if (sensor == NULL || strlen(sensor) >= NOTICE_ID_MAX ||
	    cell >= e->c->ncells)
		return AQ_ERR_INVAL;
	for (uint32_t ri = 0; ri < e->rs->nrules; ri++)
		if (e->rs->rules[ri].scope == SCOPE_SENSOR &&
		    e->rs->rules[ri].when.var == RV_FAULT)
			process(e, ri, sensor, cell, sensor, t, true,
			    fault ? 1 : 0, now);
	return persist(e);
}

int
alert_engine_tick(struct alert_engine *e, int64_t now)
{
	for (uint32_t k = 0; k < e->n; k++) {
		struct alert *a = e->v[k];
		const struct rule *r = &e->rs->rules[a->rule];

		if (a->queued)
			continue;
		if (a->owed == OWE_FIRING && a->state == ALERT_FIRING) {
			/* Muted at its time: announce once the mute ends. */
			if (!silenced(e, a, now) && !inhibited(e, a))
				enqueue(e, a, NOTICE_FIRING, now);
		} else if (a->owed == OWE_RESOLVED) {
			enqueue(e, a, NOTICE_RESOLVED, now);
		} else if (a->state == ALERT_FIRING && a->announced &&
		    !a->acked && r->repeat_s > 0 &&
		    now - a->last_notified >= r->repeat_s) {
			enqueue(e, a, NOTICE_REPEAT, now);
		}
	}
	for (uint32_t g = 0; g < e->ngroups;) {
		if (e->groups[g].due <= now)
			flush(e, g, now); /* moves the last group here */
		else
			g++;
	}
	return persist(e);
}

/* --- Acks and silences. --- */

int
alert_ack(struct alert_engine *e, const char *fingerprint, const char *who,
    const char *comment, int64_t now)
{
	char extra[ALERT_WHO_MAX + 16];

	for (uint32_t k = 0; k < e->n; k++) {
		struct alert *a = e->v[k];

		if (strcmp(a->fp, fingerprint) != 0)
			continue;
		if (a->state != ALERT_PENDING && a->state != ALERT_FIRING)
			return AQ_ERR_INVAL;
		a->acked = true;
		snprintf(a->ack_who, sizeof(a->ack_who), "%s", who ? who : "");
		snprintf(a->ack_comment, sizeof(a->ack_comment), "%s",
		    comment ? comment : "");
		a->ack_at = now;
		mark(e, a);
		snprintf(extra, sizeof(extra), "who=%s\n", a->ack_who);
		log_event(e, a, "ack", now, extra);
		return persist(e);
	}
	return AQ_ERR_INVAL;
}

int
alert_silence_add(struct alert_engine *e, const struct alert_silence *s,
    int64_t now, uint64_t *id)
{
	struct silence *grown;
	char extra[64];

	if (s->nm == 0 || s->nm > RULE_MATCHERS_MAX || s->end <= s->start)
		return AQ_ERR_INVAL;
	if ((grown = realloc(e->sil, (e->nsil + 1) * sizeof(*grown))) == NULL)
		return AQ_ERR_NOMEM;
	e->sil = grown;
	e->sil[e->nsil] = (struct silence){.s = *s, .dirty = true};
	e->sil[e->nsil].s.id = take_id(e, false);
	e->sil[e->nsil].s.created = now;
	if (id != NULL)
		*id = e->sil[e->nsil].s.id;
	snprintf(extra, sizeof(extra), "silence=%" PRIu64 "\n",
	    e->sil[e->nsil].s.id);
	e->nsil++;
	log_event(e, NULL, "silence", now, extra);
	return persist(e);
}

int
alert_silence_expire(struct alert_engine *e, uint64_t id, int64_t now)
{
	char extra[64];

	for (uint32_t k = 0; k < e->nsil; k++) {
		struct alert_silence *s = &e->sil[k].s;

		if (s->id != id)
			continue;
		/* Ended now; one not yet started never will. */
		if (s->end > now)
			s->end = now > s->start ? now : s->start;
		e->sil[k].dirty = true;
		snprintf(extra, sizeof(extra), "silence=%" PRIu64 "\n", id);
		log_event(e, NULL, "expire", now, extra);
		return persist(e);
	}
	return AQ_ERR_INVAL;
}

uint32_t
alert_silences(
    const struct alert_engine *e, struct alert_silence *out, uint32_t max)
{
	for (uint32_t k = 0; k < e->nsil && k < max; k++)
		out[k] = e->sil[k].s;
	return e->nsil;
}

static void
info_of(const struct alert_engine *e, const struct alert *a,
    struct alert_info *out, int64_t now)
{
	const struct rule *r = &e->rs->rules[a->rule];

	memset(out, 0, sizeof(*out));
	snprintf(out->fingerprint, sizeof(out->fingerprint), "%s", a->fp);
	snprintf(out->rule, sizeof(out->rule), "%s", r->id);
	out->state = a->state;
	out->severity = r->severity;
	out->scope = r->scope;
	snprintf(out->object, sizeof(out->object), "%s", a->object);
	snprintf(out->cell, sizeof(out->cell), "%s",
	    a->cell >= 0 ? e->c->cells[a->cell].id : "");
	snprintf(out->sensor, sizeof(out->sensor), "%s", a->sensor);
	snprintf(out->area, sizeof(out->area), "%s", a->area);
	out->alert_id = a->alert_id;
	out->value = a->value;
	out->has_value = a->has_value;
	out->event_time = a->last_t == NO_TIME ? 0 : a->last_t;
	out->pending_since = a->pending_since == NO_TIME ? 0 : a->pending_since;
	out->starts_at = a->starts_at;
	out->ends_at = a->ends_at;
	out->last_notified = a->last_notified;
	out->announced = a->announced;
	out->acked = a->acked;
	snprintf(out->ack_who, sizeof(out->ack_who), "%s", a->ack_who);
	out->ack_at = a->ack_at;
	snprintf(
	    out->ack_comment, sizeof(out->ack_comment), "%s", a->ack_comment);
	out->silenced = silenced(e, a, now);
	out->inhibited = inhibited(e, a);
}

uint32_t
alert_engine_list(const struct alert_engine *e, struct alert_info *out,
    uint32_t max, int64_t now)
{
	for (uint32_t k = 0; k < e->n && k < max; k++)
		info_of(e, e->v[k], &out[k], now);
	return e->n;
}

int
alert_engine_get(const struct alert_engine *e, const char *fingerprint,
    struct alert_info *out, int64_t now)
{
	for (uint32_t k = 0; k < e->n; k++)
		if (strcmp(e->v[k]->fp, fingerprint) == 0) {
			info_of(e, e->v[k], out, now);
			return AQ_OK;
		}
	return AQ_ERR_INVAL;
}

void
alert_engine_stats(const struct alert_engine *e, struct alert_stats *out)
{
	*out = e->stats;
	out->alerts = e->n;
	out->firing = out->pending = 0;
	out->unsaved = e->nlogq + (e->meta_dirty ? 1 : 0);
	for (uint32_t k = 0; k < e->n; k++) {
		out->firing += e->v[k]->state == ALERT_FIRING;
		out->pending += e->v[k]->state == ALERT_PENDING;
		out->unsaved += e->v[k]->dirty;
	}
	for (uint32_t k = 0; k < e->nsil; k++)
		out->unsaved += e->sil[k].dirty;
}
