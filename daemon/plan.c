/* plan: the district plan's indicators from daily rows (plan.h). */
#include "daemon/plan.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/fix.h"
#include "daemon/tz.h"

/* What plan_read()'s scan accumulates: one area's (or the grid's) days. */
struct scan {
	const struct conf *c;
	const bool *member; /* per conf cell; NULL: every cell */
	int64_t first;      /* days since 1970 of from */
	int32_t from, to;
	struct plan_acc *acc; /* one per date of the range */
};

/* One cached date of one area; date 0 when the slot is empty. */
struct plan_slot {
	int32_t date;
	bool has_day; /* some cell had a row */
	struct plan_day day;
};

struct plan_cache {
	pthread_mutex_t mu;
	atomic_bool stop;        /* plan_cache_stop(): scans end at once */
	uint64_t print;          /* of the configuration the slots belong to */
	uint32_t nsets;          /* areas, and the grid last */
	struct plan_slot *slots; /* nsets * PLAN_CACHE_DAYS */
	/* The areas of each cell: areas[first[c] .. first[c + 1]). */
	uint32_t *first, *areas;
	uint32_t ncells;
};

/* What the cache's scan accumulates: every area and the grid. */
struct scan_all {
	struct plan_cache *pc;
	const struct conf *c;
	int64_t first; /* days since 1970 of from */
	int32_t from, to;
	uint32_t ndays;
	struct plan_acc *acc; /* [set * ndays + day] */
};

static int cmp_fix(const void *a, const void *b);
static uint64_t fingerprint(const struct conf *c);
static int cache_reset(struct plan_cache *pc, const struct conf *c);
static int cache_fill(struct plan_cache *pc, struct store *s,
    const struct conf *c, int32_t from, int32_t to);
static int on_row_all(void *ctx, const struct store_day *d);
static int days_in_month(int y, int m);
static uint32_t share(uint32_t part, uint32_t whole, uint32_t need);
static int on_row(void *ctx, const struct store_day *d);

static const enum ind stat_ind[POL_COUNT] = {
    [POL_PM25] = IND_PM25_24H,
    [POL_PM10] = IND_PM10_24H,
    [POL_SO2] = IND_SO2_24H,
    [POL_NO2] = IND_NO2_24H,
    [POL_CO] = IND_CO_24H,
    [POL_O3] = IND_O3_8H,
};

enum ind
plan_stat(enum pol p)
{
	return stat_ind[p];
}

void
plan_acc_add(struct plan_acc *a, const struct store_day *d)
{
	/* A row without a valid statistic (too few hours of everything)
	 * says nothing about the day. */
	if ((d->has & (IND_BIT(IND_AQI_COUNT) - 1)) == 0)
		return;
	for (int i = 0; i < IND_AQI_COUNT; i++)
		if (d->has & IND_BIT(i)) {
			a->sum[i] += d->v[i];
			a->n[i]++;
		}
	a->rows++;
}

void
plan_day_form(const struct plan_acc *a, int32_t date, const struct aqi_opts *o,
    const struct limits_opts *l, struct plan_day *out)
{
	struct aqi_opts ao = *o;
	struct aqi_input in;
	struct aqi_result r;
	struct plan_day d;
	uint32_t stats = 0;

	memset(&d, 0, sizeof(d));
	memset(&in, 0, sizeof(in));
	d.date = date;
	d.aqi = -1;
	d.cells = a->rows;
	for (int i = 0; i < IND_AQI_COUNT; i++) {
		in.unit[i] = pol_unit(ind_pol((enum ind)i));
		if (a->n[i] == 0)
			continue;
		/* Non-negative sums: half up is the nearest. */
		d.v[i] = (a->sum[i] + a->n[i] / 2) / a->n[i];
		d.n[i] = a->n[i];
		d.has |= IND_BIT(i);
		in.v[i] = d.v[i];
	}
	for (int p = 0; p < POL_COUNT; p++)
		stats |= IND_BIT(stat_ind[p]);
	in.has = d.has;
	ao.report = AQI_DAILY;
	/* Means of valid daily values cannot be out of range; if one were,
	 * the day would simply have no AQI or no exceedance. */
	if (aqi_compute(&ao, &in, &r) == AQ_OK)
		d.aqi = r.aqi;
	in.has = d.has & stats;
	if (limits_exceeds(l, date, &in, &d.exceeds) != AQ_OK)
		d.exceeds = 0;
	*out = d;
}

static int
cmp_fix(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

int
plan_percentile(int64_t *v, size_t n, unsigned p, int64_t *out)
{
	uint64_t num;
	size_t s;
	unsigned r;
	int64_t frac = 0;

	if (n == 0 || p > 100)
		return AQ_ERR_INVAL;
	qsort(v, n, sizeof(*v), cmp_fix);
	/* k - 1 = (n - 1) p / 100: s - 1 its whole part, r / 100 the rest. */
	num = (uint64_t)(n - 1) * p;
	s = (size_t)(num / 100);
	r = (unsigned)(num % 100);
	if (r > 0 && fix_muldiv_round(v[s + 1] - v[s], r, 100, &frac) != AQ_OK)
		return AQ_ERR_RANGE;
	*out = v[s] + frac;
	return AQ_OK;
}

static int
days_in_month(int y, int m)
{
	static const int len[12] = {
	    31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : len[m - 1];
}

/* need for a whole, its share (rounded up) for part of it. */
static uint32_t
share(uint32_t part, uint32_t whole, uint32_t need)
{
	if (part >= whole)
		return need;
	return (uint32_t)(((uint64_t)part * need + whole - 1) / whole);
}

void
plan_need(int32_t from, int32_t to, const bool *per_day, struct plan_valid *out)
{
	int64_t first = tz_days_from_date(from), last = tz_days_from_date(to);
	struct plan_valid v = {.valid = true};
	int64_t d = first;

	/* Months, then years: each a run of the range's days. */
	while (d <= last) {
		int32_t date = tz_date_from_days(d);
		int y = date / 10000, m = date / 100 % 100;
		int len = days_in_month(y, m);
		uint32_t part = 0, got = 0;

		for (; d <= last && tz_date_from_days(d) / 100 == date / 100;
		     d++) {
			part++;
			got += per_day[d - first] ? 1 : 0;
		}
		v.months++;
		v.got += got;
		if (got < share(part, (uint32_t)len,
			      m == 2 ? PLAN_NEED_FEB : PLAN_NEED_MONTH)) {
			v.months_short++;
			v.valid = false;
		}
	}
	for (d = first; d <= last;) {
		int y = tz_date_from_days(d) / 10000;
		bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
		uint32_t part = 0, got = 0, need, months = 0;

		for (; d <= last && tz_date_from_days(d) / 10000 == y; d++) {
			int32_t date = tz_date_from_days(d);
			int m = date / 100 % 100, len = days_in_month(y, m);

			/* The month's own need, counted at its last day in
			 * the range. */
			if (d == last ||
			    tz_date_from_days(d + 1) / 100 != date / 100) {
				uint32_t mp = (uint32_t)(date % 100);

				if (tz_date_from_days(first) / 100 ==
				    date / 100)
					mp -= (uint32_t)(from % 100) - 1;
				months += share(mp, (uint32_t)len,
				    m == 2 ? PLAN_NEED_FEB : PLAN_NEED_MONTH);
			}
			part++;
			got += per_day[d - first] ? 1 : 0;
		}
		/* A whole year needs 324 even when it has 366 days; a part
		 * its share, but never more than its months ask together. */
		need = part == (leap ? 366u : 365u)
		    ? PLAN_NEED_YEAR
		    : share(part, 365, PLAN_NEED_YEAR);
		if (part < (leap ? 366u : 365u) && need > months)
			need = months;
		v.need += need;
		if (got < need)
			v.valid = false;
	}
	*out = v;
}

int
plan_compute(const struct plan_day *days, size_t n, int32_t from, int32_t to,
    struct plan_result *out)
{
	struct plan_result res;
	int64_t first, ndays;
	int64_t *pm = NULL, *o3 = NULL, sum = 0;
	bool *has_pm = NULL, *has_o3 = NULL;
	size_t npm = 0, no3 = 0;
	int rc = AQ_ERR_INVAL;
	enum ind pm25 = stat_ind[POL_PM25], o3i = stat_ind[POL_O3];

	first = tz_days_from_date(from);
	ndays = tz_days_from_date(to) - first + 1;
	if (from > to || ndays < 1 || ndays > PLAN_DAYS_MAX)
		goto out;
	rc = AQ_ERR_NOMEM;
	if ((pm = malloc((size_t)ndays * sizeof(*pm))) == NULL ||
	    (o3 = malloc((size_t)ndays * sizeof(*o3))) == NULL ||
	    (has_pm = calloc((size_t)ndays, sizeof(*has_pm))) == NULL ||
	    (has_o3 = calloc((size_t)ndays, sizeof(*has_o3))) == NULL)
		goto out;
	memset(&res, 0, sizeof(res));
	res.from = from;
	res.to = to;
	res.days = (uint32_t)ndays;
	for (size_t k = 0; k < n; k++) {
		const struct plan_day *d = &days[k];
		int64_t at;

		if (d->date < from || d->date > to)
			continue;
		at = tz_days_from_date(d->date) - first;
		if (d->cells > 0)
			res.data_days++;
		if (d->aqi >= 0) {
			res.valid_days++;
			if (d->aqi <= PLAN_GOOD_AQI)
				res.good_days++;
		}
		for (int p = 0; p < POL_COUNT; p++) {
			uint32_t bit = IND_BIT(stat_ind[p]);

			if (d->has & bit)
				res.stat_days[p]++;
			if (d->exceeds & bit)
				res.exceed_days[p]++;
		}
		if (d->exceeds != 0)
			res.exceed_any++;
		if (d->has & IND_BIT(pm25)) {
			pm[npm++] = d->v[pm25];
			sum += d->v[pm25];
			has_pm[at] = true;
		}
		if (d->has & IND_BIT(o3i)) {
			o3[no3++] = d->v[o3i];
			has_o3[at] = true;
		}
	}
	if (npm > 0) {
		res.pm25_known = true;
		res.pm25_mean = (sum + (int64_t)npm / 2) / (int64_t)npm;
	}
	plan_need(from, to, has_pm, &res.pm25_valid);
	plan_need(from, to, has_o3, &res.o3_valid);
	rc = AQ_OK;
	if (no3 > 0) {
		res.o3_known = true;
		rc = plan_percentile(o3, no3, PLAN_O3_PERCENTILE, &res.o3_p90);
	}
	if (rc == AQ_OK)
		*out = res;
out:
	free(has_o3);
	free(has_pm);
	free(o3);
	free(pm);
	return rc;
}

static int
on_row(void *ctx, const struct store_day *d)
{
	struct scan *sc = ctx;
	int64_t cell, at;

	if (d->date < sc->from || d->date > sc->to)
		return 0;
	if (sc->member != NULL) {
		cell = conf_cell_find(sc->c, d->cell);
		if (cell < 0 || !sc->member[cell])
			return 0;
	}
	at = tz_days_from_date(d->date) - sc->first;
	plan_acc_add(&sc->acc[at], d);
	return 0;
}

int
plan_read(struct store *s, const struct conf *c, int64_t area, int32_t from,
    int32_t to, struct plan_day **out, size_t *n)
{
	struct scan sc = {.c = c, .from = from, .to = to};
	struct aqi_opts o = {.std = (enum aqi_std)c->aqi_std};
	struct plan_day *days = NULL;
	bool *member = NULL;
	int64_t ndays;
	size_t got = 0;
	int rc = AQ_ERR_INVAL;

	sc.first = tz_days_from_date(from);
	ndays = tz_days_from_date(to) - sc.first + 1;
	if (area < -1 || area >= (int64_t)c->nareas || from > to || ndays < 1 ||
	    ndays > PLAN_DAYS_MAX)
		goto out;
	rc = AQ_ERR_NOMEM;
	if ((sc.acc = calloc((size_t)ndays, sizeof(*sc.acc))) == NULL)
		goto out;
	if (area >= 0) {
		const struct conf_area *a = &c->areas[area];

		if ((member = calloc(c->ncells + 1, sizeof(*member))) == NULL)
			goto out;
		for (uint32_t k = 0; k < a->ncells; k++)
			member[a->cells[k]] = true;
		sc.member = member;
	}
	if ((rc = store_daily_scan(s, from, to, on_row, &sc)) != AQ_OK)
		goto out;
	rc = AQ_ERR_NOMEM;
	if ((days = malloc((size_t)ndays * sizeof(*days))) == NULL)
		goto out;
	for (int64_t k = 0; k < ndays; k++) {
		if (sc.acc[k].rows == 0)
			continue;
		plan_day_form(&sc.acc[k], tz_date_from_days(sc.first + k), &o,
		    &c->limits, &days[got++]);
	}
	*out = days;
	*n = got;
	days = NULL;
	rc = AQ_OK;
out:
	free(days);
	free(member);
	free(sc.acc);
	return rc;
}

struct plan_cache *
plan_cache_new(void)
{
	struct plan_cache *pc = calloc(1, sizeof(*pc));

	if (pc != NULL && pthread_mutex_init(&pc->mu, NULL) != 0) {
		free(pc);
		pc = NULL;
	}
	return pc;
}

void
plan_cache_stop(struct plan_cache *pc)
{
	if (pc != NULL)
		atomic_store(&pc->stop, true);
}

void
plan_cache_free(struct plan_cache *pc)
{
	if (pc == NULL)
		return;
	pthread_mutex_destroy(&pc->mu);
	free(pc->slots);
	free(pc->first);
	free(pc->areas);
	free(pc);
}

/* FNV-1a over what the days depend on: cells, areas, standards. */
static uint64_t
fingerprint(const struct conf *c)
{
	uint64_t h = UINT64_C(14695981039346656037);
	int64_t v[5] = {
	    c->aqi_std, c->limits.ed, c->limits.grade, c->ncells, c->nareas};
	const unsigned char *p;

#define FNV(ptr, len)                                                          \
	for (p = (const unsigned char *)(ptr);                                 \
	     p < (const unsigned char *)(ptr) + (len); p++)                    \
	h = (h ^ *p) * UINT64_C(1099511628211)
	FNV(v, sizeof(v));
	for (uint32_t k = 0; k < c->ncells; k++)
		FNV(c->cells[k].id, strlen(c->cells[k].id) + 1);
	for (uint32_t k = 0; k < c->nareas; k++) {
		FNV(c->areas[k].id, strlen(c->areas[k].id) + 1);
		FNV(c->areas[k].cells,
		    c->areas[k].ncells * sizeof(c->areas[k].cells[0]));
	}
#undef FNV
	return h;
}

/* Empties the cache and sizes it for c. */
static int
cache_reset(struct plan_cache *pc, const struct conf *c)
{
	uint32_t *count = NULL, total = 0;
	int rc = AQ_ERR_NOMEM;

	free(pc->slots);
	free(pc->first);
	free(pc->areas);
	pc->slots = NULL;
	pc->first = pc->areas = NULL;
	pc->print = 0;
	pc->nsets = c->nareas + 1;
	pc->ncells = c->ncells;
	if ((pc->slots = calloc((size_t)pc->nsets * PLAN_CACHE_DAYS,
		 sizeof(*pc->slots))) == NULL ||
	    (pc->first = calloc((size_t)c->ncells + 1, sizeof(*pc->first))) ==
		NULL ||
	    (count = calloc((size_t)c->ncells + 1, sizeof(*count))) == NULL)
		goto out;
	for (uint32_t a = 0; a < c->nareas; a++)
		for (uint32_t k = 0; k < c->areas[a].ncells; k++) {
			count[c->areas[a].cells[k]]++;
			total++;
		}
	for (uint32_t k = 0; k < c->ncells; k++)
		pc->first[k + 1] = pc->first[k] + count[k];
	if ((pc->areas = calloc((size_t)total + 1, sizeof(*pc->areas))) == NULL)
		goto out;
	memset(count, 0, ((size_t)c->ncells + 1) * sizeof(*count));
	for (uint32_t a = 0; a < c->nareas; a++)
		for (uint32_t k = 0; k < c->areas[a].ncells; k++) {
			uint32_t cell = c->areas[a].cells[k];

			pc->areas[pc->first[cell] + count[cell]++] = a;
		}
	pc->print = fingerprint(c);
	rc = AQ_OK;
out:
	if (rc != AQ_OK) {
		free(pc->slots);
		pc->slots = NULL;
	}
	free(count);
	return rc;
}

static int
on_row_all(void *ctx, const struct store_day *d)
{
	struct scan_all *sc = ctx;
	struct plan_cache *pc = sc->pc;
	int64_t cell, at;

	if (atomic_load_explicit(&pc->stop, memory_order_relaxed))
		return AQ_ERR_STALE;
	if (d->date < sc->from || d->date > sc->to ||
	    (cell = conf_cell_find(sc->c, d->cell)) < 0 ||
	    (uint64_t)cell >= pc->ncells)
		return 0;
	at = tz_days_from_date(d->date) - sc->first;
	plan_acc_add(&sc->acc[(size_t)(pc->nsets - 1) * sc->ndays + at], d);
	for (uint32_t k = pc->first[cell]; k < pc->first[cell + 1]; k++)
		plan_acc_add(
		    &sc->acc[(size_t)pc->areas[k] * sc->ndays + at], d);
	return 0;
}

/* Reads from..to (at most PLAN_CACHE_DAYS days) for every area and the
 * grid in one scan, into the slots. */
static int
cache_fill(struct plan_cache *pc, struct store *s, const struct conf *c,
    int32_t from, int32_t to)
{
	struct scan_all sc = {.pc = pc, .c = c, .from = from, .to = to};
	struct aqi_opts o = {.std = (enum aqi_std)c->aqi_std};
	int rc = AQ_ERR_NOMEM;

	sc.first = tz_days_from_date(from);
	sc.ndays = (uint32_t)(tz_days_from_date(to) - sc.first + 1);
	if ((sc.acc = calloc((size_t)pc->nsets * sc.ndays, sizeof(*sc.acc))) ==
	    NULL)
		goto out;
	if ((rc = store_daily_scan(s, from, to, on_row_all, &sc)) != AQ_OK)
		goto out;
	for (uint32_t set = 0; set < pc->nsets; set++)
		for (uint32_t k = 0; k < sc.ndays; k++) {
			int64_t days = sc.first + k;
			struct plan_slot *sl =
			    &pc->slots[(size_t)set * PLAN_CACHE_DAYS +
				(size_t)(days % PLAN_CACHE_DAYS)];
			const struct plan_acc *a =
			    &sc.acc[(size_t)set * sc.ndays + k];

			sl->date = tz_date_from_days(days);
			sl->has_day = a->rows > 0;
			if (sl->has_day)
				plan_day_form(
				    a, sl->date, &o, &c->limits, &sl->day);
		}
out:
	free(sc.acc);
	return rc;
}

int
plan_cache_read(struct plan_cache *pc, struct store *s, const struct conf *c,
    int64_t area, int32_t from, int32_t to, struct plan_day **out, size_t *n)
{
	struct plan_day *days = NULL;
	int64_t first = tz_days_from_date(from), last = tz_days_from_date(to);
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	int32_t changed, pruned;
	size_t got = 0;
	uint32_t set;
	int rc = AQ_ERR_INVAL;

	if (area < -1 || area >= (int64_t)c->nareas || from > to)
		return rc;
	/* Long ranges, and dates before 1970 (no slot), are read directly. */
	if (last - first + 1 > PLAN_CACHE_DAYS || first < 0)
		return plan_read(s, c, area, from, to, out, n);
	pthread_mutex_lock(&pc->mu);
	rc = AQ_ERR_NOMEM;
	if ((pc->slots == NULL || pc->print != fingerprint(c)) &&
	    cache_reset(pc, c) != AQ_OK)
		goto out;
	/* Forget what the store says changed (all of it, the first time:
	 * the reset slots are empty anyway). */
	store_daily_dirty(s, &changed, &pruned);
	if (changed != INT32_MAX || pruned != INT32_MIN)
		for (size_t k = 0; k < (size_t)pc->nsets * PLAN_CACHE_DAYS; k++)
			if (pc->slots[k].date != 0 &&
			    (pc->slots[k].date >= changed ||
				pc->slots[k].date < pruned))
				pc->slots[k].date = 0;
	set = area >= 0 ? (uint32_t)area : pc->nsets - 1;
	for (int64_t d = first; d <= last; d++)
		if (pc->slots[(size_t)set * PLAN_CACHE_DAYS +
			  (size_t)(d % PLAN_CACHE_DAYS)]
			.date != tz_date_from_days(d)) {
			if (d < lo)
				lo = d;
			hi = d;
		}
	if (lo <= hi &&
	    (rc = cache_fill(pc, s, c, tz_date_from_days(lo),
		 tz_date_from_days(hi))) != AQ_OK)
		goto out;
	rc = AQ_ERR_NOMEM;
	if ((days = malloc((size_t)(last - first + 1) * sizeof(*days))) == NULL)
		goto out;
	for (int64_t d = first; d <= last; d++) {
		const struct plan_slot *sl =
		    &pc->slots[(size_t)set * PLAN_CACHE_DAYS +
			(size_t)(d % PLAN_CACHE_DAYS)];

		if (sl->has_day)
			days[got++] = sl->day;
	}
	*out = days;
	*n = got;
	rc = AQ_OK;
out:
	pthread_mutex_unlock(&pc->mu);
	return rc;
}
