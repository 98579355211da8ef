/* site: dust sites and their red/yellow/green status (see site.h). */
#include "alerts/site.h"

#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "daemon/fix.h"
#include "daemon/stats.h"

#define NO_HOUR INT64_MIN
#define BLOCK 9               /* a cell and its 8 neighbours */
#define PENDING_MAX 4096      /* changes waiting for a flush */
#define NS_SITE "site"        /* record per site: its state */
#define NS_MONTH "site_month" /* record per site and month: counts */
#define NS_LOG "site_log"     /* log: status changes */
#define NOTIFY_FLUSH_MAX 64   /* receivers one flush writes to */

static const char *const status_names[] = {"green", "yellow", "red"};
static const char *const status_zh[] = {"绿", "黄", "红"};
static const char *const kind_names[] = {
    "construction", "plant", "yard", "road"};

/* A closed hour of a site. */
struct hour_rec {
	int64_t hour; /* index; NO_HOUR: empty slot */
	bool has10, has25, has_bg, has_bg25, judged, hastsp;
	double pm10, pm25, bg, bg25, tsp;
};

/* The month counts of one site. */
struct month {
	uint32_t site;
	int32_t yyyymm;
	uint32_t red_hours, episodes;
};

/* What the engine knows of one site. */
struct site_rt {
	int64_t open_hour; /* accumulating; NO_HOUR: none */
	double sum10, sum25, sumtsp;
	int64_t cov10, cov25, covtsp; /* seconds covered */
	int64_t last_ts;              /* newest reading's ts; INT64_MIN: none */
	int64_t newest;               /* newest closed hour */
	int64_t judged;               /* newest judged hour */
	int64_t prev_data;            /* newest judged hour with data */
	struct hour_rec ring[SITE_HOURS];
	enum site_status status;
	int64_t since;
	int up_run, down_run;
	enum site_status up_min, down_max;
	struct site_eval last;
	bool has25, hastsp;
	double pm25, tsp;
	int64_t last_hour; /* end of the newest judged hour with data */
	struct site_change changes[SITE_CHANGES];
	uint32_t nchanges;     /* ever added (ring index: % SITE_CHANGES) */
	uint32_t block[BLOCK]; /* background slots */
	uint32_t nblock;
	int32_t own;      /* slot of its own cell */
	int64_t month_ix; /* index into months of the newest, or -1 */
	bool dirty;
};

/* The published PM10 and PM2.5 1-hour values of one cell that is
 * background. */
struct slot {
	uint32_t cell;
	int64_t latest; /* newest hour seen; NO_HOUR: none */
	int64_t seen;   /* wall clock of its last view; 0: none */
	int64_t hour[SITE_HOURS];
	double v[SITE_HOURS];   /* PM10; NAN: not valid */
	double v25[SITE_HOURS]; /* PM2.5; NAN: not valid */
	uint32_t first, n;      /* sites whose block holds it: in users[] */
};

struct site_engine {
	const struct tz *z;
	struct store *store;
	struct site_rules r;
	struct site_def *defs;
	uint32_t n;
	struct site_rt *rt;
	/* sensor id -> site, sorted by id */
	struct sensor_ix {
		char id[WIN_SENSOR_ID_MAX];
		uint32_t site;
	} * sensors;
	uint32_t nsensors;
	int32_t *slot_of; /* per cell: slot or -1 */
	uint32_t ncells;
	struct slot *slots;
	uint32_t nslots;
	uint32_t *users;
	struct month *months;
	uint32_t nmonths, capmonths;
	struct site_change *pending;
	uint32_t npending;
	uint64_t dropped;      /* changes not notified: pending full */
	uint64_t store_failed; /* writes the store refused */
	char inspectors[SITE_RECEIVERS_MAX][CONF_ID_MAX];
	uint32_t ninspectors;
	const struct conf *conf;
};

struct load {
	FILE *errs;
	int nerr;
};

static void lerr(struct load *l, const char *file, int line, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));
static int cmp_sensor(const void *a, const void *b);
static int parse_ids(struct load *l, const struct conf *c, const char *file,
    int line, const char *what, const char *text, char ids[][CONF_ID_MAX],
    uint32_t *n);
static void load_one(struct load *l, const struct conf *c,
    const struct conf_section *s, struct site_def *d);
static bool cond(bool has, double v, bool has_bg, double bg, double abs,
    double ex, double scale);
static bool bg_ready(const struct site_engine *e, const struct site_rt *rt,
    int64_t h, int64_t now);
static bool bg_at(const struct site_engine *e, const struct site_rt *rt,
    int64_t h, bool pm25, double *out);
static enum site_status level_of(const double t[8], bool has_1h, double v1h,
    bool has_bg, double bg, bool has_roll, double roll, bool has_bgroll,
    double bgroll, double scale);
static void close_hour(struct site_engine *e, struct site_rt *rt);
static void judge_all(struct site_engine *e, uint32_t site, int64_t now);
static void judge(struct site_engine *e, uint32_t site, struct hour_rec *hr);
static void change(struct site_engine *e, uint32_t site, enum site_status to,
    int64_t hour_end);
static struct month *month_of(struct site_engine *e, uint32_t site, int64_t h);
static void put_month(struct site_engine *e, const struct month *m);
static void put_site(struct site_engine *e, uint32_t site);
static json_t *num(bool has, double v);

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

const char *
site_status_name(enum site_status s)
{
	return (unsigned)s < SITE_STATUS_COUNT ? status_names[s] : "?";
}

const char *
site_kind_name(enum site_kind k)
{
	return (unsigned)k < SITE_KIND_COUNT ? kind_names[k] : "?";
}

void
site_rules_from(const struct conf *c, struct site_rules *out)
{
	memset(out, 0, sizeof(*out));
	out->cell_bg = c->site_background == 1;
	out->rolling = (int)c->site_rolling;
	out->yellow_1h = c->site_yellow_1h;
	out->yellow_ex_1h = c->site_yellow_excess_1h;
	out->red_1h = c->site_red_1h;
	out->red_ex_1h = c->site_red_excess_1h;
	out->yellow_roll = c->site_yellow_roll;
	out->yellow_ex_roll = c->site_yellow_excess_roll;
	out->red_roll = c->site_red_roll;
	out->red_ex_roll = c->site_red_excess_roll;
	out->y25_1h = c->site25_yellow_1h;
	out->y25_ex_1h = c->site25_yellow_excess_1h;
	out->r25_1h = c->site25_red_1h;
	out->r25_ex_1h = c->site25_red_excess_1h;
	out->y25_roll = c->site25_yellow_roll;
	out->y25_ex_roll = c->site25_yellow_excess_roll;
	out->r25_roll = c->site25_red_roll;
	out->r25_ex_roll = c->site25_red_excess_roll;
	out->ytsp_1h = c->sitetsp_yellow_1h;
	out->rtsp_1h = c->sitetsp_red_1h;
	out->ytsp_roll = c->sitetsp_yellow_roll;
	out->rtsp_roll = c->sitetsp_red_roll;
	out->clear_ratio = c->site_clear_ratio;
	out->min_hours = (int)c->site_min_hours;
	out->clear_hours = (int)c->site_clear_hours;
	out->bg_wait = c->site_bg_wait;
	out->bl_hours = (int)c->site_bl_hours;
	out->bl_episodes = (int)c->site_bl_episodes;
}

/* Space-separated receiver ids, each a [receiver ID]. */
static int
parse_ids(struct load *l, const struct conf *c, const char *file, int line,
    const char *what, const char *text, char ids[][CONF_ID_MAX], uint32_t *n)
{
	const char *s = text;
	int bad = 0;

	*n = 0;
	while (*s != '\0') {
		size_t len;

		s += strspn(s, " \t,");
		len = strcspn(s, " \t,");
		if (len == 0)
			break;
		if (len >= CONF_ID_MAX || *n >= SITE_RECEIVERS_MAX) {
			lerr(l, file, line, "%s: too many or too long ids",
			    what);
			return AQ_ERR_INVAL;
		}
		memcpy(ids[*n], s, len);
		ids[*n][len] = '\0';
		if (conf_section_find(c, "receiver", ids[*n]) == NULL) {
			lerr(l, file, line, "%s: no [receiver %s]", what,
			    ids[*n]);
			bad = 1;
		}
		for (uint32_t k = 0; k < *n; k++)
			if (strcmp(ids[k], ids[*n]) == 0) {
				lerr(l, file, line, "%s: %s twice", what,
				    ids[*n]);
				bad = 1;
			}
		(*n)++;
		s += len;
	}
	return bad ? AQ_ERR_INVAL : AQ_OK;
}

static void
load_one(struct load *l, const struct conf *c, const struct conf_section *s,
    struct site_def *d)
{
	bool has_lat = false, has_lon = false, has_cell = false;
	int64_t cell = -1;

	memset(d, 0, sizeof(*d));
	snprintf(d->id, sizeof(d->id), "%s", s->id);
	d->kind = SITE_KIND_COUNT;
	if (s->id[0] == '\0' || strpbrk(s->id, " \t\"/") != NULL)
		lerr(l, s->file, s->line,
		    "[site]: needs an id (no spaces, quotes or '/')");
	for (uint32_t k = 0; k < s->nkv; k++) {
		const struct conf_kv *kv = &s->kv[k];
		const char *v = kv->value;
		char *end;

		if (strcmp(kv->key, "name") == 0 ||
		    strcmp(kv->key, "company") == 0 ||
		    strcmp(kv->key, "contact") == 0) {
			char *dst = kv->key[0] == 'n' ? d->name
			    : kv->key[1] == 'o' && kv->key[2] == 'm'
			    ? d->company
			    : d->contact;

			if (strlen(v) >= CONF_NAME_MAX)
				lerr(l, kv->file, kv->line,
				    "%s: longer than %d characters", kv->key,
				    CONF_NAME_MAX - 1);
			else
				memcpy(dst, v, strlen(v) + 1);
		} else if (strcmp(kv->key, "kind") == 0) {
			for (int i = 0; i < SITE_KIND_COUNT; i++)
				if (strcmp(v, kind_names[i]) == 0)
					d->kind = (enum site_kind)i;
			if (d->kind == SITE_KIND_COUNT)
				lerr(l, kv->file, kv->line,
				    "kind: '%s' is not construction, plant, "
				    "yard or road",
				    v);
		} else if (strcmp(kv->key, "lat") == 0 ||
		    strcmp(kv->key, "lon") == 0) {
			bool lat = kv->key[1] == 'a';
			double x = strtod(v, &end);

			if (end == v || *end != '\0' || !isfinite(x) ||
			    fabs(x) > (lat ? 90 : 180)) {
				lerr(l, kv->file, kv->line,
				    "%s: '%s' is not a %s", kv->key, v,
				    lat ? "latitude" : "longitude");
				continue;
			}
			if (lat) {
				d->lat = x;
				has_lat = true;
			} else {
				d->lon = x;
				has_lon = true;
			}
		} else if (strcmp(kv->key, "cell") == 0) {
			if ((cell = conf_cell_find(c, v)) < 0)
				lerr(l, kv->file, kv->line,
				    "cell: no cell '%s' in the grid", v);
			has_cell = true;
		} else if (strcmp(kv->key, "receivers") == 0) {
			(void)parse_ids(l, c, kv->file, kv->line, "receivers",
			    v, d->receivers, &d->nreceivers);
		} else if (strcmp(kv->key, "from") == 0 ||
		    strcmp(kv->key, "to") == 0) {
			int32_t date;

			if (tz_parse_date(v, &date) != AQ_OK)
				lerr(l, kv->file, kv->line,
				    "%s: '%s' is not a date YYYY-MM-DD",
				    kv->key, v);
			else if (kv->key[0] == 'f')
				d->from = date;
			else
				d->to = date;
		} else if (strcmp(kv->key, "sensor") == 0) {
			if (d->nsensors >= SITE_SENSORS_MAX)
				lerr(l, kv->file, kv->line,
				    "sensor: at most %d a site",
				    SITE_SENSORS_MAX);
			else if (v[0] == '\0' ||
			    strlen(v) >= WIN_SENSOR_ID_MAX ||
			    strpbrk(v, " \t") != NULL)
				lerr(l, kv->file, kv->line,
				    "sensor: '%s' is not a sensor id", v);
			else
				snprintf(d->sensors[d->nsensors++],
				    WIN_SENSOR_ID_MAX, "%s", v);
		} else {
			lerr(l, kv->file, kv->line,
			    "unknown key '%s' in [site %s]", kv->key, s->id);
		}
	}
	if (d->kind == SITE_KIND_COUNT) {
		d->kind = SITE_CONSTRUCTION;
		if (conf_section_get(s, "kind") == NULL)
			lerr(l, s->file, s->line,
			    "[site %s]: no kind (construction, plant, yard "
			    "or road)",
			    s->id);
	}
	if (has_lat != has_lon)
		lerr(l, s->file, s->line, "[site %s]: lat and lon go together",
		    s->id);
	d->has_pos = has_lat && has_lon;
	if (!has_cell && d->has_pos &&
	    (cell = conf_cell_at(c, d->lat, d->lon)) < 0)
		lerr(l, s->file, s->line,
		    "[site %s]: %.6f %.6f is outside the grid", s->id, d->lat,
		    d->lon);
	if (!has_cell && !d->has_pos)
		lerr(l, s->file, s->line,
		    "[site %s]: no place (cell, or lat and lon)", s->id);
	if (cell >= 0) {
		d->cell = (uint32_t)cell;
		if (!d->has_pos) {
			d->lat = c->cells[cell].lat;
			d->lon = c->cells[cell].lon;
		}
	}
	if (d->nsensors == 0)
		lerr(l, s->file, s->line, "[site %s]: no sensor (its monitor)",
		    s->id);
	if (d->from != 0 && d->to != 0 && d->to < d->from)
		lerr(
		    l, s->file, s->line, "[site %s]: to is before from", s->id);
	if (d->name[0] == '\0')
		snprintf(d->name, sizeof(d->name), "%s", d->id);
}

int
site_load(const struct conf *c, struct site_def **defs, uint32_t *n, FILE *errs)
{
	struct load l = {errs, 0};
	const struct conf_section *s = NULL;
	struct site_def *d = NULL;
	uint32_t count = 0, k = 0;
	char ids[SITE_RECEIVERS_MAX][CONF_ID_MAX];
	uint32_t nids;

	while ((s = conf_section_next(c, "site", s)) != NULL)
		count++;
	if (count > SITE_MAX) {
		lerr(&l, c->path, 0, "[site]: more than %d sites", SITE_MAX);
		return AQ_ERR_INVAL;
	}
	if (count > 0 && (d = calloc(count, sizeof(*d))) == NULL)
		return AQ_ERR_NOMEM;
	while ((s = conf_section_next(c, "site", s)) != NULL)
		load_one(&l, c, s, &d[k++]);
	if (c->site_inspectors[0] != '\0')
		(void)parse_ids(&l, c, c->site_inspectors_file,
		    c->site_inspectors_line, "inspectors", c->site_inspectors,
		    ids, &nids);
	/* A monitor belongs to one site and is not ambient. */
	for (uint32_t i = 0; i < count; i++) {
		for (uint32_t j = 0; j < d[i].nsensors; j++) {
			const char *sid = d[i].sensors[j];
			const struct conf_section *si =
			    conf_section_find(c, "site", d[i].id);
			const char *file = si->file;
			int line = si->line;

			/* The sensor's own line. */
			for (uint32_t q = 0; q < si->nkv; q++)
				if (strcmp(si->kv[q].key, "sensor") == 0 &&
				    strcmp(si->kv[q].value, sid) == 0) {
					file = si->kv[q].file;
					line = si->kv[q].line;
				}

			for (uint32_t a = 0; a <= i; a++)
				for (uint32_t b = 0;
				     b < (a == i ? j : d[a].nsensors); b++)
					if (strcmp(d[a].sensors[b], sid) == 0)
						lerr(&l, file, line,
						    "[site %s]: sensor %s is "
						    "already site %s's",
						    d[i].id, sid, d[a].id);
			for (uint32_t r = 0; r < c->nsensors; r++)
				if (strcmp(c->sensors[r].id, sid) == 0)
					lerr(&l, file, line,
					    "[site %s]: sensor %s is also a "
					    "[sensor] of the grid (a site "
					    "monitor is not ambient air)",
					    d[i].id, sid);
		}
	}
	if (l.nerr > 0) {
		free(d);
		return AQ_ERR_INVAL;
	}
	*defs = d;
	*n = count;
	return AQ_OK;
}

/* Whether one condition holds: v reaches abs, and its excess over the
 * background reaches ex (when the background is known).  A rule whose
 * thresholds are both 0 is off. */
static bool
cond(bool has, double v, bool has_bg, double bg, double abs, double ex,
    double scale)
{
	if (!has || (abs <= 0 && ex <= 0))
		return false;
	if (v < abs * scale)
		return false;
	return !has_bg || v - bg >= ex * scale;
}

/* One pollutant's level; t: red 1h, red excess 1h, red rolling, red
 * excess rolling, then the same for yellow. */
static enum site_status
level_of(const double t[8], bool has_1h, double v1h, bool has_bg, double bg,
    bool has_roll, double roll, bool has_bgroll, double bgroll, double scale)
{
	if (cond(has_1h, v1h, has_bg, bg, t[0], t[1], scale) ||
	    cond(has_roll, roll, has_bgroll, bgroll, t[2], t[3], scale))
		return SITE_RED;
	if (cond(has_1h, v1h, has_bg, bg, t[4], t[5], scale) ||
	    cond(has_roll, roll, has_bgroll, bgroll, t[6], t[7], scale))
		return SITE_YELLOW;
	return SITE_GREEN;
}

enum site_status
site_level(const struct site_rules *r, const struct site_eval *e, double scale)
{
	const double t10[8] = {r->red_1h, r->red_ex_1h, r->red_roll,
	    r->red_ex_roll, r->yellow_1h, r->yellow_ex_1h, r->yellow_roll,
	    r->yellow_ex_roll};
	const double t25[8] = {r->r25_1h, r->r25_ex_1h, r->r25_roll,
	    r->r25_ex_roll, r->y25_1h, r->y25_ex_1h, r->y25_roll,
	    r->y25_ex_roll};
	enum site_status a = level_of(t10, e->has_1h, e->v1h, e->has_bg, e->bg,
	    e->has_roll, e->roll, e->has_bgroll, e->bgroll, scale);
	enum site_status b =
	    level_of(t25, e->has25_1h, e->v25_1h, e->has25_bg, e->bg25,
		e->has25_roll, e->roll25, e->has25_bgroll, e->bgroll25, scale);
	const double ttsp[8] = {
	    r->rtsp_1h, 0, r->rtsp_roll, 0, r->ytsp_1h, 0, r->ytsp_roll, 0};
	enum site_status c = level_of(ttsp, e->hastsp_1h, e->tsp_1h, false, 0,
	    e->hastsp_roll, e->tsp_roll, false, 0, scale);

	if (b > a)
		a = b;
	return c > a ? c : a;
}

static int
cmp_sensor(const void *a, const void *b)
{
	return strcmp(((const struct sensor_ix *)a)->id,
	    ((const struct sensor_ix *)b)->id);
}

struct site_engine *
site_engine_new(
    const struct conf *c, const struct tz *z, struct store *s, FILE *errs)
{
	struct site_engine *e = calloc(1, sizeof(*e));
	uint32_t nusers = 0;

	if (e == NULL)
		return NULL;
	e->z = z;
	e->store = s;
	e->conf = c;
	e->ncells = c->ncells;
	site_rules_from(c, &e->r);
	if (site_load(c, &e->defs, &e->n, errs) != AQ_OK)
		goto fail;
	if (c->site_inspectors[0] != '\0') {
		struct load l = {errs, 0};

		if (parse_ids(&l, c, c->site_inspectors_file,
			c->site_inspectors_line, "inspectors",
			c->site_inspectors, e->inspectors,
			&e->ninspectors) != AQ_OK)
			goto fail;
	}
	if ((e->slot_of = malloc((c->ncells + 1) * sizeof(*e->slot_of))) ==
		NULL ||
	    (e->n > 0 && (e->rt = calloc(e->n, sizeof(*e->rt))) == NULL) ||
	    (e->n > 0 &&
		(e->slots = calloc((size_t)e->n * BLOCK, sizeof(*e->slots))) ==
		    NULL) ||
	    (e->n > 0 &&
		(e->users = calloc((size_t)e->n * BLOCK, sizeof(*e->users))) ==
		    NULL) ||
	    (e->n > 0 &&
		(e->sensors = calloc((size_t)e->n * SITE_SENSORS_MAX,
		     sizeof(*e->sensors))) == NULL) ||
	    (e->pending = calloc(PENDING_MAX, sizeof(*e->pending))) == NULL)
		goto fail;
	for (uint32_t k = 0; k < c->ncells; k++)
		e->slot_of[k] = -1;
	/* Each site's block: its cell and, on the regular grid, the 8
	 * around it. */
	for (uint32_t i = 0; i < e->n; i++) {
		struct site_rt *rt = &e->rt[i];
		uint32_t blk[BLOCK], nblk;

		rt->open_hour = rt->newest = rt->judged = rt->prev_data =
		    NO_HOUR;
		rt->last_ts = INT64_MIN;
		rt->month_ix = -1;
		for (uint32_t k = 0; k < SITE_HOURS; k++)
			rt->ring[k].hour = NO_HOUR;
		blk[0] = e->defs[i].cell;
		nblk = 1 + conf_cell_neighbours(c, blk[0], blk + 1);
		for (uint32_t b = 0; b < nblk; b++) {
			uint32_t cell = blk[b];

			if (e->slot_of[cell] < 0) {
				e->slot_of[cell] = (int32_t)e->nslots;
				e->slots[e->nslots].cell = cell;
				e->slots[e->nslots].latest = NO_HOUR;
				for (uint32_t h = 0; h < SITE_HOURS; h++) {
					e->slots[e->nslots].hour[h] = NO_HOUR;
					e->slots[e->nslots].v[h] = NAN;
					e->slots[e->nslots].v25[h] = NAN;
				}
				e->nslots++;
			}
			rt->block[rt->nblock++] = (uint32_t)e->slot_of[cell];
			e->slots[e->slot_of[cell]].n++;
		}
		rt->own = e->slot_of[blk[0]];
		for (uint32_t k = 0; k < e->defs[i].nsensors; k++) {
			struct sensor_ix *x = &e->sensors[e->nsensors++];

			snprintf(
			    x->id, sizeof(x->id), "%s", e->defs[i].sensors[k]);
			x->site = i;
		}
	}
	/* users[]: per slot, the sites whose block holds it. */
	for (uint32_t k = 0; k < e->nslots; k++) {
		e->slots[k].first = nusers;
		nusers += e->slots[k].n;
		e->slots[k].n = 0;
	}
	for (uint32_t i = 0; i < e->n; i++)
		for (uint32_t b = 0; b < e->rt[i].nblock; b++) {
			struct slot *sl = &e->slots[e->rt[i].block[b]];

			e->users[sl->first + sl->n++] = i;
		}
	if (e->nsensors > 0) /* else e->sensors may be NULL */
		qsort(e->sensors, e->nsensors, sizeof(*e->sensors), cmp_sensor);
	return e;
fail:
	site_engine_free(e);
	return NULL;
}

void
site_engine_free(struct site_engine *e)
{
	if (e == NULL)
		return;
	free(e->pending);
	free(e->months);
	free(e->sensors);
	free(e->users);
	free(e->slots);
	free(e->rt);
	free(e->slot_of);
	free(e->defs);
	free(e);
}

uint32_t
site_engine_count(const struct site_engine *e)
{
	return e->n;
}

const struct site_rules *
site_engine_rules(const struct site_engine *e)
{
	return &e->r;
}

int64_t
site_engine_sensor(const struct site_engine *e, const char *sensor)
{
	size_t lo = 0, hi = e->nsensors;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(sensor, e->sensors[mid].id);

		if (c == 0)
			return e->sensors[mid].site;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

int64_t
site_engine_find(const struct site_engine *e, const char *id)
{
	for (uint32_t k = 0; k < e->n; k++)
		if (strcmp(e->defs[k].id, id) == 0)
			return k;
	return -1;
}

/* The open hour becomes a closed one: a mean where SITE_COVERAGE seconds
 * of it were measured. */
static void
close_hour(struct site_engine *e, struct site_rt *rt)
{
	struct hour_rec *hr;

	(void)e;
	if (rt->open_hour == NO_HOUR)
		return;
	hr = &rt->ring[rt->open_hour % SITE_HOURS];
	memset(hr, 0, sizeof(*hr));
	hr->hour = rt->open_hour;
	hr->has10 = rt->cov10 >= SITE_COVERAGE;
	hr->pm10 = hr->has10 ? rt->sum10 / (double)rt->cov10 : 0;
	hr->has25 = rt->cov25 >= SITE_COVERAGE;
	hr->pm25 = hr->has25 ? rt->sum25 / (double)rt->cov25 : 0;
	hr->hastsp = rt->covtsp >= SITE_COVERAGE;
	hr->tsp = hr->hastsp ? rt->sumtsp / (double)rt->covtsp : 0;
	rt->newest = rt->open_hour;
	rt->open_hour = NO_HOUR;
	rt->sum10 = rt->sum25 = rt->sumtsp = 0;
	rt->cov10 = rt->cov25 = rt->covtsp = 0;
}

int
site_engine_reading(struct site_engine *e, uint32_t site,
    const struct reading *r, double tsp, int64_t now)
{
	struct site_rt *rt = &e->rt[site];
	int64_t h, end, cov;

	(void)now;
	if (r->ts == rt->last_ts)
		return AQ_ERR_DUP;
	if (r->ts < rt->last_ts)
		return AQ_ERR_STALE;
	h = tz_hour(e->z, r->ts);
	if (rt->open_hour != NO_HOUR && h > rt->open_hour)
		close_hour(e, rt);
	if (rt->open_hour == NO_HOUR)
		rt->open_hour = h;
	end = tz_hour_end(e->z, h);
	cov = r->period < 1 ? 1 : r->period;
	if (cov > end - r->ts)
		cov = end - r->ts;
	if (r->has & (1u << POL_PM10)) {
		rt->sum10 += r->v[POL_PM10] * (double)cov;
		rt->cov10 += cov;
	}
	if (r->has & (1u << POL_PM25)) {
		rt->sum25 += r->v[POL_PM25] * (double)cov;
		rt->cov25 += cov;
	}
	if (isfinite(tsp)) {
		rt->sumtsp += tsp * (double)cov;
		rt->covtsp += cov;
	}
	rt->last_ts = r->ts;
	rt->dirty = true;
	judge_all(e, site, 0);
	return AQ_OK;
}

void
site_engine_view(struct site_engine *e, const struct cell_view *v, int64_t now)
{
	struct slot *sl;
	uint32_t k;

	if (v == NULL || v->cell >= e->ncells || e->slot_of[v->cell] < 0 ||
	    v->hour == WIN_NO_HOUR)
		return;
	sl = &e->slots[e->slot_of[v->cell]];
	k = (uint32_t)(v->hour % SITE_HOURS);
	sl->hour[k] = v->hour;
	sl->v[k] = (v->stats.in.has & IND_BIT(IND_PM10_1H))
	    ? fix_to_double(v->stats.in.v[IND_PM10_1H])
	    : NAN;
	sl->v25[k] = (v->stats.in.has & IND_BIT(IND_PM25_1H))
	    ? fix_to_double(v->stats.in.v[IND_PM25_1H])
	    : NAN;
	if (sl->latest == NO_HOUR || v->hour > sl->latest)
		sl->latest = v->hour;
	sl->seen = now;
}

void
site_engine_settle(struct site_engine *e, int64_t now)
{
	for (uint32_t k = 0; k < e->n; k++)
		judge_all(e, k, now);
}

/*
 * Whether hour h's background is as known as it will be: every
 * background cell that ever reported has reported h (one at least), or
 * one of them is past h already (a lagging station does not hold the
 * site up).  With now (wall clock; 0: not), also when no background
 * cell has published anything for background_wait seconds and h ended
 * that long ago: the ambient stations are silent.
 */
static bool
bg_ready(const struct site_engine *e, const struct site_rt *rt, int64_t h,
    int64_t now)
{
	bool any = false, behind = false, quiet = true;

	for (uint32_t b = 0; b < rt->nblock; b++) {
		const struct slot *sl = &e->slots[rt->block[b]];

		if (sl->seen != 0 && now - sl->seen < e->r.bg_wait)
			quiet = false;
		if (sl->latest == NO_HOUR)
			continue;
		if (sl->latest > h)
			return true;
		if (sl->latest < h)
			behind = true;
		any = true;
	}
	if (any && !behind)
		return true;
	return now != 0 && quiet && now >= tz_hour_end(e->z, h) + e->r.bg_wait;
}

/* The background at hour h (PM10, or PM2.5 with pm25): the median of
 * the block's valid values, or with background = cell the own cell's
 * value first. */
static bool
bg_at(const struct site_engine *e, const struct site_rt *rt, int64_t h,
    bool pm25, double *out)
{
	double v[BLOCK];
	uint32_t n = 0, k = (uint32_t)(h % SITE_HOURS);

	if (e->r.cell_bg) {
		const struct slot *own = &e->slots[rt->own];

		double x = pm25 ? own->v25[k] : own->v[k];

		if (own->hour[k] == h && !isnan(x)) {
			*out = x;
			return true;
		}
	}
	for (uint32_t b = 0; b < rt->nblock; b++) {
		const struct slot *sl = &e->slots[rt->block[b]];

		double x = pm25 ? sl->v25[k] : sl->v[k];

		if (sl->hour[k] == h && !isnan(x))
			v[n++] = x;
	}
	if (n == 0)
		return false;
	*out = stats_median(v, n);
	return true;
}

/* Judges the site's closed hours in order, as far as their background
 * allows. */
static void
judge_all(struct site_engine *e, uint32_t site, int64_t now)
{
	struct site_rt *rt = &e->rt[site];
	int64_t h;

	if (rt->newest == NO_HOUR)
		return;
	h = rt->judged == NO_HOUR || rt->judged < rt->newest - SITE_HOURS + 1
	    ? rt->newest - SITE_HOURS + 1
	    : rt->judged + 1;
	for (; h <= rt->newest; h++) {
		struct hour_rec *hr = &rt->ring[h % SITE_HOURS];

		if (hr->hour != h || hr->judged) {
			rt->judged = h; /* no data that hour */
			continue;
		}
		if (!bg_ready(e, rt, h, now))
			break;
		judge(e, site, hr);
		rt->judged = h;
	}
}

static void
judge(struct site_engine *e, uint32_t site, struct hour_rec *hr)
{
	const struct site_rules *r = &e->r;
	const struct site_def *d = &e->defs[site];
	struct site_rt *rt = &e->rt[site];
	struct site_eval ev = {0};
	int64_t end = tz_hour_end(e->z, hr->hour);
	int32_t date = tz_hour_day(e->z, hr->hour);
	enum site_status raise, hold;
	double sum = 0, sumbg = 0, sum25 = 0, sumbg25 = 0, sumtsp = 0;
	int n = 0, nbg = 0, n25 = 0, nbg25 = 0, ntsp = 0,
	    need = (r->rolling * 5 + 5) / 6;

	hr->judged = true;
	rt->judged = hr->hour;
	hr->has_bg = bg_at(e, rt, hr->hour, false, &hr->bg);
	hr->has_bg25 = bg_at(e, rt, hr->hour, true, &hr->bg25);
	rt->dirty = true;
	if ((!hr->has10 && !hr->has25 && !hr->hastsp) ||
	    (d->from != 0 && date < d->from) || (d->to != 0 && date > d->to)) {
		/* No mean, or the site is not active: nothing to judge,
		 * and the runs of hours are broken. */
		rt->up_run = rt->down_run = 0;
		put_site(e, site);
		return;
	}
	ev.has_1h = hr->has10;
	ev.v1h = hr->pm10;
	ev.has_bg = hr->has_bg;
	ev.bg = hr->bg;
	ev.has25_1h = hr->has25;
	ev.v25_1h = hr->pm25;
	ev.has25_bg = hr->has_bg25;
	ev.bg25 = hr->bg25;
	ev.hastsp_1h = hr->hastsp;
	ev.tsp_1h = hr->tsp;
	for (int i = 0; i < r->rolling; i++) {
		const struct hour_rec *p =
		    &rt->ring[(hr->hour - i) % SITE_HOURS];

		if (p->hour != hr->hour - i)
			continue;
		if (p->has10) {
			sum += p->pm10;
			n++;
			if (p->has_bg) {
				sumbg += p->bg;
				nbg++;
			}
		}
		if (p->has25) {
			sum25 += p->pm25;
			n25++;
			if (p->has_bg25) {
				sumbg25 += p->bg25;
				nbg25++;
			}
		}
		if (p->hastsp) {
			sumtsp += p->tsp;
			ntsp++;
		}
	}
	ev.has_roll = n >= need;
	ev.roll = n > 0 ? sum / n : 0;
	ev.has_bgroll = ev.has_roll && nbg >= need;
	ev.bgroll = nbg > 0 ? sumbg / nbg : 0;
	ev.has25_roll = n25 >= need;
	ev.roll25 = n25 > 0 ? sum25 / n25 : 0;
	ev.has25_bgroll = ev.has25_roll && nbg25 >= need;
	ev.bgroll25 = nbg25 > 0 ? sumbg25 / nbg25 : 0;
	ev.hastsp_roll = ntsp >= need;
	ev.tsp_roll = ntsp > 0 ? sumtsp / ntsp : 0;
	if (rt->prev_data != hr->hour - 1)
		rt->up_run = rt->down_run = 0;
	rt->prev_data = hr->hour;
	rt->last = ev;
	rt->last_hour = end;
	rt->has25 = hr->has25;
	rt->pm25 = hr->pm25;
	rt->hastsp = hr->hastsp;
	rt->tsp = hr->tsp;
	raise = site_level(r, &ev, 1.0);
	hold = site_level(r, &ev, r->clear_ratio);
	if (raise > rt->status) {
		rt->up_min =
		    rt->up_run == 0 || raise < rt->up_min ? raise : rt->up_min;
		rt->down_run = 0;
		if (++rt->up_run >= r->min_hours) {
			change(e, site, rt->up_min, end);
			rt->up_run = 0;
		}
	} else if (hold < rt->status) {
		rt->down_max = rt->down_run == 0 || hold > rt->down_max
		    ? hold
		    : rt->down_max;
		rt->up_run = 0;
		if (++rt->down_run >= r->clear_hours) {
			change(e, site, rt->down_max, end);
			rt->down_run = 0;
		}
	} else {
		rt->up_run = rt->down_run = 0;
	}
	if (rt->status == SITE_RED) {
		struct month *m = month_of(e, site, hr->hour);

		if (m != NULL) {
			m->red_hours++;
			put_month(e, m);
		}
	}
	put_site(e, site);
}

static void
change(
    struct site_engine *e, uint32_t site, enum site_status to, int64_t hour_end)
{
	struct site_rt *rt = &e->rt[site];
	struct site_change *c = &rt->changes[rt->nchanges % SITE_CHANGES];
	json_t *o;
	char *text;

	memset(c, 0, sizeof(*c));
	snprintf(c->site, sizeof(c->site), "%s", e->defs[site].id);
	c->from = rt->status;
	c->to = to;
	c->hour = hour_end;
	c->e = rt->last;
	if (to == SITE_RED && rt->status != SITE_RED) {
		struct month *m =
		    month_of(e, site, tz_hour(e->z, hour_end - 1));

		if (m != NULL) {
			m->episodes++;
			put_month(e, m);
		}
	}
	rt->status = to;
	rt->since = hour_end;
	if (e->store != NULL &&
	    (o = json_pack("{s:s,s:i,s:i,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,"
			   "s:o,s:o}",
		 "site", c->site, "from", (int)c->from, "to", (int)c->to,
		 "hour", (json_int_t)hour_end, "pm10_1h",
		 num(c->e.has_1h, c->e.v1h), "background",
		 num(c->e.has_bg, c->e.bg), "pm10_rolling",
		 num(c->e.has_roll, c->e.roll), "background_rolling",
		 num(c->e.has_bgroll, c->e.bgroll), "pm25_1h",
		 num(c->e.has25_1h, c->e.v25_1h), "pm25_background",
		 num(c->e.has25_bg, c->e.bg25), "pm25_rolling",
		 num(c->e.has25_roll, c->e.roll25), "pm25_background_rolling",
		 num(c->e.has25_bgroll, c->e.bgroll25), "tsp_1h",
		 num(c->e.hastsp_1h, c->e.tsp_1h), "tsp_rolling",
		 num(c->e.hastsp_roll, c->e.tsp_roll))) != NULL) {
		if ((text = json_dumps(o, JSON_COMPACT)) != NULL)
			if (store_log_append(e->store, NS_LOG, text,
				strlen(text), &c->id) != AQ_OK)
				e->store_failed++;
		free(text);
		json_decref(o);
	}
	rt->nchanges++;
	if (e->npending < PENDING_MAX)
		e->pending[e->npending++] = *c;
	else
		e->dropped++;
}

static json_t *
num(bool has, double v)
{
	return has && isfinite(v) ? json_real(round(v * 1000) / 1000)
				  : json_null();
}

/* The site's counts for the local month of hour h (created). */
static struct month *
month_of(struct site_engine *e, uint32_t site, int64_t h)
{
	int32_t ym = tz_hour_day(e->z, h) / 100;
	struct site_rt *rt = &e->rt[site];
	struct month *m;

	if (rt->month_ix >= 0 && e->months[rt->month_ix].yyyymm == ym)
		return &e->months[rt->month_ix];
	for (uint32_t k = 0; k < e->nmonths; k++)
		if (e->months[k].site == site && e->months[k].yyyymm == ym) {
			rt->month_ix = k;
			return &e->months[k];
		}
	if (e->nmonths == e->capmonths) {
		uint32_t cap = e->capmonths ? e->capmonths * 2 : 64;

		if ((m = realloc(e->months, cap * sizeof(*m))) == NULL)
			return NULL;
		e->months = m;
		e->capmonths = cap;
	}
	m = &e->months[e->nmonths];
	memset(m, 0, sizeof(*m));
	m->site = site;
	m->yyyymm = ym;
	rt->month_ix = e->nmonths++;
	return m;
}

static void
put_month(struct site_engine *e, const struct month *m)
{
	char key[STORE_KEY_MAX], val[96];
	int n;

	if (e->store == NULL)
		return;
	snprintf(
	    key, sizeof(key), "%06d:%s", (int)m->yyyymm, e->defs[m->site].id);
	n = snprintf(val, sizeof(val), "{\"red_hours\":%u,\"episodes\":%u}",
	    m->red_hours, m->episodes);
	if (store_rec_put(e->store, NS_MONTH, key, val, (size_t)n) != AQ_OK)
		e->store_failed++;
}

/* The site's state as a record. */
static void
put_site(struct site_engine *e, uint32_t site)
{
	struct site_rt *rt = &e->rt[site];
	json_t *o, *hours;
	char *text;

	if (e->store == NULL) {
		rt->dirty = false;
		return;
	}
	if ((hours = json_array()) == NULL)
		return;
	for (uint32_t k = 0; k < SITE_HOURS; k++) {
		const struct hour_rec *hr = &rt->ring[k];

		if (hr->hour == NO_HOUR)
			continue;
		json_array_append_new(hours,
		    json_pack("[I,o,o,o,b,o,o]", (json_int_t)hr->hour,
			num(hr->has10, hr->pm10), num(hr->has25, hr->pm25),
			num(hr->has_bg, hr->bg), hr->judged,
			num(hr->has_bg25, hr->bg25), num(hr->hastsp, hr->tsp)));
	}
	o = json_pack("{s:i,s:I,s:i,s:i,s:i,s:i,s:I,s:I,s:I,s:I,s:f,s:f,s:I,"
		      "s:I,s:I,s:o}",
	    "status", (int)rt->status, "since", (json_int_t)rt->since, "up",
	    rt->up_run, "down", rt->down_run, "up_min", (int)rt->up_min,
	    "down_max", (int)rt->down_max, "open", (json_int_t)rt->open_hour,
	    "cov10", (json_int_t)rt->cov10, "cov25", (json_int_t)rt->cov25,
	    "last_ts", (json_int_t)rt->last_ts, "sum10", rt->sum10, "sum25",
	    rt->sum25, "newest", (json_int_t)rt->newest, "judged",
	    (json_int_t)rt->judged, "prev", (json_int_t)rt->prev_data, "hours",
	    hours);
	if (o == NULL)
		return;
	/* TSP's open hour; absent in a record from before TSP rules. */
	json_object_set_new(o, "covtsp", json_integer((json_int_t)rt->covtsp));
	json_object_set_new(o, "sumtsp", json_real(rt->sumtsp));
	if ((text = json_dumps(o, JSON_COMPACT)) != NULL &&
	    store_rec_put(e->store, NS_SITE, e->defs[site].id, text,
		strlen(text)) == AQ_OK)
		rt->dirty = false;
	free(text);
	json_decref(o);
}

void
site_engine_save(struct site_engine *e)
{
	for (uint32_t k = 0; k < e->n; k++)
		if (e->rt[k].dirty)
			put_site(e, k);
}

static double
dbl(json_t *v, bool *has)
{
	*has = json_is_number(v);
	return *has ? json_number_value(v) : 0;
}

static int
load_site(void *ctx, const char *key, const void *value, size_t len)
{
	struct site_engine *e = ctx;
	int64_t site = site_engine_find(e, key);
	struct site_rt *rt;
	json_t *o, *hours, *h;
	json_int_t st = 0, since = 0, up = 0, down = 0, upm = 0, dnm = 0,
		   open = 0, c10 = 0, c25 = 0, last = 0, newest = 0, judged = 0,
		   prev = 0;
	double s10 = 0, s25 = 0;
	size_t i;

	if (site < 0 || (o = json_loadb(value, len, 0, NULL)) == NULL)
		return 0; /* a site no longer configured */
	rt = &e->rt[site];
	if (json_unpack(o,
		"{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:F,s:F,s:I,s:I,s:I,"
		"s:o}",
		"status", &st, "since", &since, "up", &up, "down", &down,
		"up_min", &upm, "down_max", &dnm, "open", &open, "cov10", &c10,
		"cov25", &c25, "last_ts", &last, "sum10", &s10, "sum25", &s25,
		"newest", &newest, "judged", &judged, "prev", &prev, "hours",
		&hours) == 0 &&
	    st >= 0 && st < SITE_STATUS_COUNT) {
		rt->status = (enum site_status)st;
		rt->since = since;
		rt->up_run = (int)up;
		rt->down_run = (int)down;
		rt->up_min = (enum site_status)(upm % SITE_STATUS_COUNT);
		rt->down_max = (enum site_status)(dnm % SITE_STATUS_COUNT);
		rt->open_hour = open;
		rt->cov10 = c10;
		rt->cov25 = c25;
		rt->sum10 = s10;
		rt->sum25 = s25;
		{
			bool has;
			double ct = dbl(json_object_get(o, "covtsp"), &has);

			rt->covtsp = has ? (int64_t)ct : 0;
			rt->sumtsp = dbl(json_object_get(o, "sumtsp"), &has);
		}
		rt->last_ts = last;
		rt->newest = newest;
		rt->judged = judged;
		rt->prev_data = prev;
		json_array_foreach(hours, i, h)
		{
			struct hour_rec hr = {0};
			json_int_t hour;
			json_t *x1, *x2, *x3;
			int judged_b = 0;

			if (json_unpack(h, "[I,o,o,o,b]", &hour, &x1, &x2, &x3,
				&judged_b) != 0 ||
			    hour < 0)
				continue;
			hr.hour = hour;
			hr.pm10 = dbl(json_array_get(h, 1), &hr.has10);
			hr.pm25 = dbl(json_array_get(h, 2), &hr.has25);
			hr.bg = dbl(json_array_get(h, 3), &hr.has_bg);
			/* Absent in a record from before PM2.5 rules. */
			hr.bg25 = dbl(json_array_get(h, 5), &hr.has_bg25);
			hr.tsp = dbl(json_array_get(h, 6), &hr.hastsp);
			hr.judged = judged_b;
			rt->ring[hour % SITE_HOURS] = hr;
		}
		/* The newest judged hour with data is what the API shows. */
		for (int64_t k = rt->judged;
		     k != NO_HOUR && k > rt->judged - SITE_HOURS; k--) {
			const struct hour_rec *hr = &rt->ring[k % SITE_HOURS];

			if (hr->hour == k &&
			    (hr->has10 || hr->has25 || hr->hastsp) &&
			    hr->judged) {
				rt->last_hour = tz_hour_end(e->z, k);
				rt->last.has_1h = hr->has10;
				rt->last.v1h = hr->pm10;
				rt->last.has_bg = hr->has_bg;
				rt->last.bg = hr->bg;
				rt->last.has25_1h = hr->has25;
				rt->last.v25_1h = hr->pm25;
				rt->last.has25_bg = hr->has_bg25;
				rt->last.bg25 = hr->bg25;
				rt->last.hastsp_1h = hr->hastsp;
				rt->last.tsp_1h = hr->tsp;
				rt->has25 = hr->has25;
				rt->pm25 = hr->pm25;
				rt->hastsp = hr->hastsp;
				rt->tsp = hr->tsp;
				break;
			}
		}
	}
	json_decref(o);
	return 0;
}

static int
load_month(void *ctx, const char *key, const void *value, size_t len)
{
	struct site_engine *e = ctx;
	const char *colon = strchr(key, ':');
	json_t *o;
	json_int_t rh = 0, ep = 0;
	int64_t site;
	struct month *m;

	if (colon == NULL || (site = site_engine_find(e, colon + 1)) < 0)
		return 0;
	if ((o = json_loadb(value, len, 0, NULL)) == NULL)
		return 0;
	if (json_unpack(o, "{s:I,s:I}", "red_hours", &rh, "episodes", &ep) ==
		0 &&
	    e->nmonths < UINT32_MAX) {
		/* month_of() keys by an hour; build the entry directly. */
		if (e->nmonths == e->capmonths) {
			uint32_t cap = e->capmonths ? e->capmonths * 2 : 64;

			if ((m = realloc(e->months, cap * sizeof(*m))) ==
			    NULL) {
				json_decref(o);
				return -1;
			}
			e->months = m;
			e->capmonths = cap;
		}
		m = &e->months[e->nmonths++];
		m->site = (uint32_t)site;
		m->yyyymm = (int32_t)strtol(key, NULL, 10);
		m->red_hours = (uint32_t)rh;
		m->episodes = (uint32_t)ep;
	}
	json_decref(o);
	return 0;
}

static int
load_change(void *ctx, int64_t id, const void *value, size_t len)
{
	struct site_engine *e = ctx;
	json_t *o = json_loadb(value, len, 0, NULL);
	const char *sid = NULL;
	int from = 0, to = 0;
	json_int_t hour = 0;
	int64_t site;

	if (o == NULL)
		return 0;
	if (json_unpack(o, "{s:s,s:i,s:i,s:I}", "site", &sid, "from", &from,
		"to", &to, "hour", &hour) == 0 &&
	    (site = site_engine_find(e, sid)) >= 0 && from >= 0 &&
	    from < SITE_STATUS_COUNT && to >= 0 && to < SITE_STATUS_COUNT) {
		struct site_rt *rt = &e->rt[site];
		struct site_change *c =
		    &rt->changes[rt->nchanges++ % SITE_CHANGES];

		memset(c, 0, sizeof(*c));
		c->id = id;
		snprintf(c->site, sizeof(c->site), "%s", sid);
		c->from = (enum site_status)from;
		c->to = (enum site_status)to;
		c->hour = hour;
		c->e.v1h = dbl(json_object_get(o, "pm10_1h"), &c->e.has_1h);
		c->e.bg = dbl(json_object_get(o, "background"), &c->e.has_bg);
		c->e.roll =
		    dbl(json_object_get(o, "pm10_rolling"), &c->e.has_roll);
		c->e.bgroll = dbl(
		    json_object_get(o, "background_rolling"), &c->e.has_bgroll);
		c->e.v25_1h =
		    dbl(json_object_get(o, "pm25_1h"), &c->e.has25_1h);
		c->e.bg25 =
		    dbl(json_object_get(o, "pm25_background"), &c->e.has25_bg);
		c->e.roll25 =
		    dbl(json_object_get(o, "pm25_rolling"), &c->e.has25_roll);
		c->e.bgroll25 =
		    dbl(json_object_get(o, "pm25_background_rolling"),
			&c->e.has25_bgroll);
		c->e.tsp_1h =
		    dbl(json_object_get(o, "tsp_1h"), &c->e.hastsp_1h);
		c->e.tsp_roll =
		    dbl(json_object_get(o, "tsp_rolling"), &c->e.hastsp_roll);
	}
	json_decref(o);
	return 0;
}

struct log_pos {
	struct site_engine *e;
	int64_t last;
	uint32_t rows;
};

static int
load_change_pos(void *ctx, int64_t id, const void *value, size_t len)
{
	struct log_pos *p = ctx;

	p->last = id;
	p->rows++;
	return load_change(p->e, id, value, len);
}

int
site_engine_load(struct site_engine *e)
{
	struct log_pos p = {e, 0, 0};

	if (e->store == NULL || e->n == 0)
		return AQ_OK;
	if (store_rec_each(e->store, NS_SITE, load_site, e) < 0 ||
	    store_rec_each(e->store, NS_MONTH, load_month, e) < 0)
		return AQ_ERR_IO;
	do {
		p.rows = 0;
		if (store_log_read(e->store, NS_LOG, p.last, 1024,
			load_change_pos, &p) < 0)
			return AQ_ERR_IO;
	} while (p.rows == 1024);
	return AQ_OK;
}

uint32_t
site_engine_pending(const struct site_engine *e)
{
	return e->npending;
}

const struct site_change *
site_engine_pending_at(const struct site_engine *e, uint32_t k)
{
	return k < e->npending ? &e->pending[k] : NULL;
}

/* The notice kind of a change. */
static enum notice_kind
change_kind(const struct site_change *c)
{
	if (c->to > c->from)
		return NOTICE_FIRING;
	return c->to == SITE_GREEN ? NOTICE_RESOLVED : NOTICE_REPEAT;
}

static bool
goes_to(
    const struct site_engine *e, const struct site_change *c, const char *rcv)
{
	int64_t site = site_engine_find(e, c->site);

	for (uint32_t k = 0; k < e->ninspectors; k++)
		if (strcmp(e->inspectors[k], rcv) == 0)
			return true;
	if (site < 0)
		return false;
	for (uint32_t k = 0; k < e->defs[site].nreceivers; k++)
		if (strcmp(e->defs[site].receivers[k], rcv) == 0)
			return true;
	return false;
}

static void
fmt_v(char *buf, size_t len, bool has, double v)
{
	if (has)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "?");
}

static void
fill_alert(const struct site_engine *e, const struct site_change *c,
    struct notice_alert *a)
{
	int64_t site = site_engine_find(e, c->site);
	const struct site_def *d = site >= 0 ? &e->defs[site] : NULL;
	const struct conf_cell *cc =
	    d != NULL ? &e->conf->cells[d->cell] : NULL;
	char v[32], bg[32], ex[32], p25[160] = "", p25zh[160] = "";

	memset(a, 0, sizeof(*a));
	snprintf(a->fingerprint, sizeof(a->fingerprint), "site-%s", c->site);
	a->alert_id = c->id > 0 ? (uint64_t)c->id : 0;
	if (cc != NULL) {
		snprintf(a->cell, sizeof(a->cell), "%s", cc->id);
		if (cc->area >= 0)
			snprintf(a->area, sizeof(a->area), "%s",
			    e->conf->areas[cc->area].id);
	}
	if (d != NULL && d->nsensors > 0)
		snprintf(a->sensor, sizeof(a->sensor), "%s", d->sensors[0]);
	a->has_value = c->e.has_1h;
	a->value = c->e.v1h;
	a->starts_at = c->hour;
	a->ends_at = c->to == SITE_GREEN ? c->hour : 0;
	a->event_hour = c->hour;
	fmt_v(v, sizeof(v), c->e.has_1h, c->e.v1h);
	fmt_v(bg, sizeof(bg), c->e.has_bg, c->e.bg);
	fmt_v(ex, sizeof(ex), c->e.has_1h && c->e.has_bg, c->e.v1h - c->e.bg);
	if (c->e.has25_1h) {
		char v25[32], bg25[32];

		fmt_v(v25, sizeof(v25), true, c->e.v25_1h);
		fmt_v(bg25, sizeof(bg25), c->e.has25_bg, c->e.bg25);
		snprintf(p25, sizeof(p25), "; PM2.5 1h %s ug/m3, background %s",
		    v25, bg25);
		snprintf(p25zh, sizeof(p25zh), "；PM2.5 1小时 %s，背景 %s", v25,
		    bg25);
	}
	if (c->e.hastsp_1h) {
		size_t l = strlen(p25), lz = strlen(p25zh);

		snprintf(p25 + l, sizeof(p25) - l, "; TSP 1h %.0f ug/m3",
		    c->e.tsp_1h);
		snprintf(p25zh + lz, sizeof(p25zh) - lz, "；TSP 1小时 %.0f",
		    c->e.tsp_1h);
	}
	snprintf(a->summary, sizeof(a->summary),
	    "Dust site %s (%s): %s -> %s; PM10 1h %s ug/m3, background %s, "
	    "excess %s%s",
	    c->site, d != NULL ? d->name : "", status_names[c->from],
	    status_names[c->to], v, bg, ex, p25);
	snprintf(a->summary_zh, sizeof(a->summary_zh),
	    "扬尘点 %s（%s）：%s → %s；PM10 1小时 %s 微克/立方米，背景 %s，"
	    "超出 %s%s",
	    c->site, d != NULL ? d->name : "", status_zh[c->from],
	    status_zh[c->to], v, bg, ex, p25zh);
}

void
site_engine_flush(struct site_engine *e, int64_t now, site_notice_fn fn,
    site_id_fn next_id, void *ctx)
{
	const char *rcv[NOTIFY_FLUSH_MAX];
	uint32_t nrcv = 0;
	struct notice *nt;

	if (e->npending == 0)
		return;
	if ((nt = malloc(sizeof(*nt))) == NULL)
		return;
	/* The receivers concerned, in a stable order. */
	for (uint32_t k = 0; k < e->ninspectors && nrcv < NOTIFY_FLUSH_MAX; k++)
		rcv[nrcv++] = e->inspectors[k];
	for (uint32_t p = 0; p < e->npending; p++) {
		int64_t site = site_engine_find(e, e->pending[p].site);

		if (site < 0)
			continue;
		for (uint32_t k = 0; k < e->defs[site].nreceivers; k++) {
			const char *id = e->defs[site].receivers[k];
			bool seen = false;

			for (uint32_t j = 0; j < nrcv; j++)
				seen |= strcmp(rcv[j], id) == 0;
			if (!seen && nrcv < NOTIFY_FLUSH_MAX)
				rcv[nrcv++] = id;
		}
	}
	for (uint32_t r = 0; r < nrcv; r++) {
		for (int kind = NOTICE_FIRING; kind <= NOTICE_RESOLVED;
		     kind++) {
			enum site_status worst = SITE_GREEN;

			memset(nt, 0, offsetof(struct notice, alerts));
			for (uint32_t p = 0; p < e->npending; p++) {
				const struct site_change *c = &e->pending[p];

				if ((int)change_kind(c) != kind ||
				    !goes_to(e, c, rcv[r]) ||
				    nt->nalerts >= NOTICE_ALERTS_MAX)
					continue;
				fill_alert(e, c, &nt->alerts[nt->nalerts++]);
				if (c->to > worst)
					worst = c->to;
				if (c->from > worst && kind != NOTICE_FIRING)
					worst = c->from;
			}
			if (nt->nalerts == 0)
				continue;
			nt->id = next_id(ctx);
			nt->kind = (enum notice_kind)kind;
			snprintf(nt->rule, sizeof(nt->rule), "dust_site");
			snprintf(nt->rule_name, sizeof(nt->rule_name),
			    "Dust site status (扬尘监管)");
			snprintf(
			    nt->indicator, sizeof(nt->indicator), "pm10_1h");
			snprintf(nt->op, sizeof(nt->op), ">=");
			nt->threshold =
			    worst == SITE_RED ? e->r.red_1h : e->r.yellow_1h;
			nt->severity = worst == SITE_RED ? SEV_CRITICAL
			    : worst == SITE_YELLOW       ? SEV_WARNING
							 : SEV_INFO;
			nt->scope = SCOPE_CELL;
			snprintf(nt->labels[0].key, sizeof(nt->labels[0].key),
			    "type");
			snprintf(nt->labels[0].value,
			    sizeof(nt->labels[0].value), "dust_site");
			nt->nlabels = 1;
			if (nt->nalerts == 1) {
				snprintf(nt->labels[1].key,
				    sizeof(nt->labels[1].key), "site");
				snprintf(nt->labels[1].value,
				    sizeof(nt->labels[1].value), "%s",
				    nt->alerts[0].fingerprint + 5);
				nt->nlabels = 2;
				snprintf(nt->area, sizeof(nt->area), "%s",
				    nt->alerts[0].area);
			}
			snprintf(nt->to, sizeof(nt->to), "%s", rcv[r]);
			nt->created = now;
			(void)fn(ctx, nt);
		}
	}
	e->npending = 0;
	free(nt);
}

int
site_engine_info(const struct site_engine *e, uint32_t site, int64_t now,
    struct site_info *out)
{
	const struct site_rt *rt;
	const struct site_def *d;
	int64_t t;
	int32_t date, ym;

	if (site >= e->n)
		return AQ_ERR_INVAL;
	rt = &e->rt[site];
	d = &e->defs[site];
	memset(out, 0, sizeof(*out));
	out->def = d;
	out->status = rt->status;
	out->since = rt->since;
	out->last_hour = rt->last_hour;
	out->last_seen = rt->last_ts == INT64_MIN ? 0 : rt->last_ts;
	out->e = rt->last;
	out->has_pm25 = rt->has25 && rt->last_hour != 0;
	out->pm25_1h = rt->pm25;
	out->has_tsp = rt->hastsp && rt->last_hour != 0;
	out->tsp_1h = rt->tsp;
	t = out->last_seen != 0 ? out->last_seen : now;
	date = tz_date(e->z, t);
	out->active =
	    (d->from == 0 || date >= d->from) && (d->to == 0 || date <= d->to);
	ym = tz_date(e->z, rt->last_hour != 0 ? rt->last_hour - 1 : t) / 100;
	for (uint32_t k = 0; k < e->nmonths; k++)
		if (e->months[k].site == site && e->months[k].yyyymm == ym) {
			out->red_hours = e->months[k].red_hours;
			out->episodes = e->months[k].episodes;
		}
	return AQ_OK;
}

uint32_t
site_engine_changes(const struct site_engine *e, uint32_t site,
    struct site_change *out, uint32_t max)
{
	const struct site_rt *rt;
	uint32_t n = 0;

	if (site >= e->n)
		return 0;
	rt = &e->rt[site];
	for (uint32_t k = rt->nchanges; k > 0 && n < max; k--) {
		if (rt->nchanges - k >= SITE_CHANGES)
			break;
		out[n++] = rt->changes[(k - 1) % SITE_CHANGES];
	}
	return n;
}

uint32_t
site_engine_hours(const struct site_engine *e, uint32_t site, int64_t *hours,
    struct site_eval *ev, uint32_t max)
{
	const struct site_rt *rt;
	uint32_t n = 0;

	if (site >= e->n || e->rt[site].judged == NO_HOUR)
		return 0;
	rt = &e->rt[site];
	for (int64_t h = rt->judged; h > rt->judged - SITE_HOURS && n < max;
	     h--) {
		const struct hour_rec *hr = &rt->ring[h % SITE_HOURS];

		if (hr->hour != h || !hr->judged)
			continue;
		hours[n] = tz_hour_end(e->z, h);
		memset(&ev[n], 0, sizeof(ev[n]));
		ev[n].has_1h = hr->has10;
		ev[n].v1h = hr->pm10;
		ev[n].has_bg = hr->has_bg;
		ev[n].bg = hr->bg;
		ev[n].has25_1h = hr->has25;
		ev[n].v25_1h = hr->pm25;
		ev[n].has25_bg = hr->has_bg25;
		ev[n].bg25 = hr->bg25;
		ev[n].hastsp_1h = hr->hastsp;
		ev[n].tsp_1h = hr->tsp;
		n++;
	}
	return n;
}

uint32_t
site_engine_blacklist(const struct site_engine *e, int32_t yyyymm,
    struct site_black *out, uint32_t max)
{
	uint32_t n = 0;

	for (uint32_t s = 0; s < e->n; s++)
		for (uint32_t k = 0; k < e->nmonths; k++) {
			const struct month *m = &e->months[k];

			if (m->site != s || m->yyyymm != yyyymm)
				continue;
			if (!((e->r.bl_hours > 0 &&
				  m->red_hours >= (uint32_t)e->r.bl_hours) ||
				(e->r.bl_episodes > 0 &&
				    m->episodes >= (uint32_t)e->r.bl_episodes)))
				continue;
			if (n < max) {
				out[n].def = &e->defs[s];
				out[n].red_hours = m->red_hours;
				out[n].episodes = m->episodes;
			}
			n++;
		}
	return n;
}
