/*
 * api_history: the history routes (api_history.h): hourly and daily rows
 * of a cell from the store, and an area's hours aggregated from its cells.
 */
#include "web/api_history.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "alerts/service.h"
#include "daemon/aqi.h"
#include "daemon/fix.h"
#include "daemon/pol.h"
#include "daemon/tz.h"

/* History pages: rows per page by default and at most (more is 400), the
 * span when from is not given, and cell-hours read for one page of an
 * area (its page holds fewer hours when it has many cells). */
#define API_HIST_LIMIT_DEFAULT 500
#define API_HIST_LIMIT_MAX 5000
#define API_HIST_HOURS_DEFAULT 48
#define API_HIST_DAYS_DEFAULT 31
#define API_AREA_ROWS 20000
#define API_CSV_TYPE "text/csv; charset=utf-8"
#define HIST_DATE_MAX 99991231
#define HIST_TIME_DOC "expected Unix seconds, ISO 8601 or YYYY-MM-DD"

/* The indicators an area's history averages unless told. */
#define HIST_AREA_INDS                                                         \
	(IND_BIT(IND_PM25_1H) | IND_BIT(IND_O3_1H) | IND_BIT(IND_PM10_1H) |    \
	    IND_BIT(IND_NO2_1H) | IND_BIT(IND_SO2_1H) | IND_BIT(IND_CO_1H))

/* A history route's query, checked (hist_query()). */
struct hist_q {
	int64_t from, to; /* hour ends (Unix s), or dates yyyymmdd */
	int64_t after;    /* the cursor; INT64_MIN for the first page */
	uint32_t limit;
	uint32_t inds; /* IND_BIT()s shown */
	bool csv;
};

/* What an hourly and a daily row of a cell share. */
struct hist_row {
	int aqi, level;
	uint32_t primary, exceeds, has;
	const int64_t *v;
	const uint8_t *n;
};

/* A cell's row at one hour, as an area's history aggregates it. */
struct area_row {
	int64_t hour;
	uint32_t cell;
	int aqi, level;
	uint32_t has;
	uint32_t exceeds; /* IND_BIT()s over their limit */
	int64_t v[IND_AQI_COUNT];
};

static bool hist_query(struct req *r, bool daily, uint32_t dflt,
    struct hist_q *q, char *why, size_t len);
static bool hist_inds(const char *s, uint32_t *out, char *why, size_t len);
static void put_key(struct buf *b, const char *key);
static void put_inds(struct buf *b, uint32_t bits);
static void put_csv(struct buf *b, const char *s);
static void put_csv_inds(struct buf *b, uint32_t bits);
static void put_fix(struct buf *b, bool csv, bool has, int64_t v);
static void put_values(struct buf *b, uint32_t inds, const char *vkey,
    uint32_t has, const int64_t *v, const char *nkey, const uint32_t *n);
static void put_csv_values(struct buf *b, uint32_t inds, uint32_t has,
    const int64_t *v, const uint32_t *n);
static void hist_head(struct req *r, const struct hist_q *q, bool daily,
    uint32_t n, const char *next, struct buf *b);
static void hist_csv_head(const char *label, uint32_t inds, struct buf *b);
static void hist_row(const struct hist_q *q, const char *key, const char *label,
    const struct hist_row *h, struct buf *b);
static int hist_done(
    struct req *r, const struct hist_q *q, const char *next, struct buf *b);
static int cell_rows(struct req *r, bool daily);
static int by_hour_cell(const void *x, const void *y);
static void area_hour(struct req *r, const struct hist_q *q,
    const struct area_row *rows, uint32_t n, uint32_t ncells, struct buf *b);

/*
 * The from, to, indicators, format, limit and cursor of a history route,
 * checked.  Hourly routes: from and to bound the hours' ends (Unix s),
 * after is the last hour of the page before (INT64_MIN at first).  Daily:
 * the same with dates yyyymmdd.  Returns false with the reason in why.
 */
static bool
hist_query(struct req *r, bool daily, uint32_t dflt, struct hist_q *q,
    char *why, size_t len)
{
	const char *from = api_query_arg(r, "from"),
		   *to = api_query_arg(r, "to");
	const char *inds = api_query_arg(r, "indicators"),
		   *format = api_query_arg(r, "format");
	const char *limit = api_query_arg(r, "limit"),
		   *cursor = api_query_arg(r, "cursor");
	const char *accept = MHD_lookup_connection_value(
	    r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
	long long v = 0;

	*q = (struct hist_q){
	    .after = INT64_MIN, .limit = API_HIST_LIMIT_DEFAULT, .inds = dflt};
	if (format != NULL && strcmp(format, "csv") != 0 &&
	    strcmp(format, "json") != 0) {
		snprintf(why, len, "format: expected 'json' or 'csv'");
		return false;
	}
	q->csv = format != NULL
	    ? strcmp(format, "csv") == 0
	    : accept != NULL && strstr(accept, "text/csv") != NULL;
	if (from != NULL &&
	    api_when(r, from, daily, false, &q->from) != AQ_OK) {
		snprintf(why, len, "from: %s",
		    daily ? HIST_DATE_DOC : HIST_TIME_DOC);
		return false;
	}
	if (to != NULL && api_when(r, to, daily, true, &q->to) != AQ_OK) {
		snprintf(
		    why, len, "to: %s", daily ? HIST_DATE_DOC : HIST_TIME_DOC);
		return false;
	}
	if (to == NULL)
		q->to = daily ? tz_date(r->tz, r->now) : r->now;
	if (from == NULL && daily)
		q->from = tz_date_from_days(tz_days_from_date((int32_t)q->to) -
		    (API_HIST_DAYS_DEFAULT - 1));
	else if (from == NULL)
		q->from = q->to - API_HIST_HOURS_DEFAULT * 3600 + 1;
	if (q->from > q->to) {
		snprintf(why, len, "from: after to");
		return false;
	}
	if (inds != NULL && !hist_inds(inds, &q->inds, why, len))
		return false;
	if (limit != NULL &&
	    (api_parse_count(limit, API_HIST_LIMIT_MAX, &v) != AQ_OK ||
		v == 0)) {
		snprintf(why, len, "limit: expected an integer from 1 to %d",
		    API_HIST_LIMIT_MAX);
		return false;
	}
	if (limit != NULL)
		q->limit = (uint32_t)v;
	if (cursor != NULL &&
	    api_parse_count(
		cursor, daily ? HIST_DATE_MAX : HIST_TIME_MAX, &v) != AQ_OK) {
		snprintf(why, len, "cursor: not a next_cursor of this route");
		return false;
	}
	if (cursor != NULL)
		q->after = v;
	return true;
}

/* indicators=a,b,...: names of stored indicators; every unknown one is
 * named in why. */
static bool
hist_inds(const char *s, uint32_t *out, char *why, size_t len)
{
	uint32_t bits = 0;
	size_t w = 0;
	char name[32];

	why[0] = '\0';
	while (*s != '\0') {
		size_t n = strcspn(s, ",");
		int i = -1;

		if (n > 0 && n < sizeof(name)) {
			memcpy(name, s, n);
			name[n] = '\0';
			i = ind_from_name(name);
		}
		if (i >= 0 && i < IND_AQI_COUNT)
			bits |= IND_BIT(i);
		else if (n > 0 && w < len)
			w += (size_t)snprintf(why + w, len - w, "%s'%.*s'",
			    w == 0 ? "indicators: unknown " : ", ",
			    (int)(n < sizeof(name) ? n : sizeof(name)), s);
		s += n + (s[n] == ',');
	}
	if (w == 0 && bits == 0)
		snprintf(why, len, "indicators: none given");
	if (why[0] != '\0')
		return false;
	*out = bits;
	return true;
}

/* "key": */
static void
put_key(struct buf *b, const char *key)
{
	api_put_str(b, key);
	api_put(b, ":", 1);
}

/* ["a","b"] of the indicators in bits. */
static void
put_inds(struct buf *b, uint32_t bits)
{
	bool first = true;

	api_put(b, "[", 1);
	for (int i = 0; i < IND_COUNT; i++) {
		if ((bits & IND_BIT(i)) == 0)
			continue;
		if (!first)
			api_put(b, ",", 1);
		api_put_str(b, ind_name((enum ind)i));
		first = false;
	}
	api_put(b, "]", 1);
}

/* A CSV field: quoted when it holds a comma, a quote or a line break. */
static void
put_csv(struct buf *b, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		api_put_text(b, s);
		return;
	}
	api_put(b, "\"", 1);
	for (; *s != '\0'; s++) {
		if (*s == '"')
			api_put(b, "\"", 1);
		api_put(b, s, 1);
	}
	api_put(b, "\"", 1);
}

/* Indicator names joined by ';' (one CSV field, never quoted). */
static void
put_csv_inds(struct buf *b, uint32_t bits)
{
	bool first = true;

	for (int i = 0; i < IND_COUNT; i++) {
		if ((bits & IND_BIT(i)) == 0)
			continue;
		if (!first)
			api_put(b, ";", 1);
		api_put_text(b, ind_name((enum ind)i));
		first = false;
	}
}

/* A fix value, or for CSV nothing / for JSON null when absent. */
static void
put_fix(struct buf *b, bool csv, bool has, int64_t v)
{
	if (has)
		api_put_real(b, fix_to_double(v));
	else if (!csv)
		api_put_text(b, "null");
}

/*
 * ,"vkey":{"ind":value,...},"nkey":{"ind":count,...} over the indicators
 * in inds: v[i] (null unless has holds IND_BIT(i)) and n[i] (a cell-hour's
 * valid hours, or the cells averaged into an area's mean).
 */
static void
put_values(struct buf *b, uint32_t inds, const char *vkey, uint32_t has,
    const int64_t *v, const char *nkey, const uint32_t *n)
{
	const char *const key[2] = {vkey, nkey};

	for (int o = 0; o < 2; o++) {
		bool first = true;

		api_put(b, ",", 1);
		put_key(b, key[o]);
		api_put(b, "{", 1);
		for (int i = 0; i < IND_AQI_COUNT; i++) {
			if ((inds & IND_BIT(i)) == 0)
				continue;
			if (!first)
				api_put(b, ",", 1);
			put_key(b, ind_name((enum ind)i));
			if (o == 0)
				put_fix(b, false, has & IND_BIT(i), v[i]);
			else
				api_put_int(b, true, n[i]);
			first = false;
		}
		api_put(b, "}", 1);
	}
}

/* The same as CSV columns: ",value,count" for each indicator in inds. */
static void
put_csv_values(struct buf *b, uint32_t inds, uint32_t has, const int64_t *v,
    const uint32_t *n)
{
	for (int i = 0; i < IND_AQI_COUNT; i++) {
		if ((inds & IND_BIT(i)) == 0)
			continue;
		api_put(b, ",", 1);
		put_fix(b, true, has & IND_BIT(i), v[i]);
		api_put(b, ",", 1);
		api_put_int(b, true, n[i]);
	}
}

/* The head shared by the three routes' JSON: from, to, indicators, units,
 * count and next_cursor, then the results array opens. */
static void
hist_head(struct req *r, const struct hist_q *q, bool daily, uint32_t n,
    const char *next, struct buf *b)
{
	char t[TZ_ISO_MAX];
	bool first = true;

	api_put_text(b, ",\"from\":");
	api_put_str(b,
	    daily ? api_date_text((int32_t)q->from, t, sizeof(t))
		  : api_iso(r, q->from, t, sizeof(t)));
	api_put_text(b, ",\"to\":");
	api_put_str(b,
	    daily ? api_date_text((int32_t)q->to, t, sizeof(t))
		  : api_iso(r, q->to, t, sizeof(t)));
	api_put_text(b, ",\"indicators\":");
	put_inds(b, q->inds);
	api_put_text(b, ",\"units\":{");
	for (int i = 0; i < IND_AQI_COUNT; i++) {
		if ((q->inds & IND_BIT(i)) == 0)
			continue;
		if (!first)
			api_put(b, ",", 1);
		put_key(b, ind_name((enum ind)i));
		api_put_str(b, unit_name(pol_unit(ind_pol((enum ind)i))));
		first = false;
	}
	api_put_text(b, "},\"count\":");
	api_put_int(b, true, n);
	api_put_text(b, ",\"next_cursor\":");
	api_put_str(b, next[0] != '\0' ? next : NULL);
	api_put_text(b, ",\"results\":[");
}

/* The CSV head line of a cell's rows: the label, then each indicator's
 * value and count. */
static void
hist_csv_head(const char *label, uint32_t inds, struct buf *b)
{
	api_put_text(b, label);
	api_put_text(b, ",aqi,level,primary,exceeds");
	for (int i = 0; i < IND_AQI_COUNT; i++) {
		if ((inds & IND_BIT(i)) == 0)
			continue;
		api_put_text(b, ",");
		api_put_text(b, ind_name((enum ind)i));
		api_put_text(b, ",n_");
		api_put_text(b, ind_name((enum ind)i));
	}
	api_put_text(b, "\r\n");
}

/* One hourly or daily row of a cell, label its hour or date. */
static void
hist_row(const struct hist_q *q, const char *key, const char *label,
    const struct hist_row *h, struct buf *b)
{
	bool na = h->aqi < 0;
	uint32_t n[IND_AQI_COUNT];

	for (int i = 0; i < IND_AQI_COUNT; i++)
		n[i] = h->n[i];
	if (q->csv) {
		api_put_text(b, label);
		api_put(b, ",", 1);
		if (!na)
			api_put_int(b, true, h->aqi);
		api_put(b, ",", 1);
		if (!na)
			api_put_int(b, true, h->level);
		api_put(b, ",", 1);
		put_csv_inds(b, na ? 0 : h->primary);
		api_put(b, ",", 1);
		put_csv_inds(b, h->exceeds);
		put_csv_values(b, q->inds, h->has, h->v, n);
		api_put_text(b, "\r\n");
		return;
	}
	api_put(b, "{", 1);
	put_key(b, key);
	api_put_str(b, label);
	api_put_text(b, ",\"aqi\":");
	api_put_int(b, !na, h->aqi);
	api_put_text(b, ",\"level\":");
	api_put_int(b, !na, h->level);
	api_put_text(b, ",\"primary\":");
	put_inds(b, na ? 0 : h->primary);
	api_put_text(b, ",\"exceeds\":");
	put_inds(b, h->exceeds);
	put_values(
	    b, q->inds, "concentrations", h->has, h->v, "valid_hours", n);
	api_put_text(b, "}");
}

/* Hands the finished page to send_answer(): JSON or CSV, with its next
 * cursor in X-Next-Cursor as well. */
static int
hist_done(
    struct req *r, const struct hist_q *q, const char *next, struct buf *b)
{
	if (b->bad)
		return AQ_ERR_NOMEM;
	r->code = MHD_HTTP_OK;
	r->body = b->p;
	r->len = b->len;
	r->ctype = q->csv ? API_CSV_TYPE : "application/json";
	snprintf(r->next, sizeof(r->next), "%s", next);
	b->p = NULL;
	return AQ_OK;
}

int
api_cell_history(struct req *r)
{
	return cell_rows(r, false);
}

int
api_cell_daily(struct req *r)
{
	return cell_rows(r, true);
}

/*
 * A cell's hourly (or daily) rows from the store, one page: limit + 1
 * are read, the last only to tell whether a next page exists, and the
 * cursor is the last hour (date) shown, so that the next page starts
 * right after it.
 */
static int
cell_rows(struct req *r, bool daily)
{
	int64_t c = conf_cell_find(r->conf, r->param);
	struct store *s = state_store(r->st);
	const char *id;
	struct hist_q q;
	struct store_hour *hours = NULL;
	struct store_day *days = NULL;
	struct hist_row h;
	struct buf b = {NULL, 0, 0, false};
	char why[256], next[24] = "", label[TZ_ISO_MAX];
	uint32_t n = 0;
	int rc = AQ_ERR_NOMEM, got;

	if (c < 0 || c >= state_ncells(r->st)) {
		rc = api_fail(r, MHD_HTTP_NOT_FOUND, "no such cell");
		goto out;
	}
	id = r->conf->cells[c].id;
	if (!hist_query(
		r, daily, IND_BIT(IND_AQI_COUNT) - 1, &q, why, sizeof(why))) {
		rc = api_fail(r, MHD_HTTP_BAD_REQUEST, "%s", why);
		goto out;
	}
	if (s == NULL) {
		rc = api_fail(r, MHD_HTTP_SERVICE_UNAVAILABLE, API_NO_STORE);
		goto out;
	}
	if (daily) {
		if ((days = calloc(q.limit + 1, sizeof(*days))) == NULL)
			goto out;
		got = store_daily(s, id, (int32_t)q.from, (int32_t)q.to,
		    q.after == INT64_MIN ? INT32_MIN : (int32_t)q.after,
		    q.limit + 1, days, &n);
	} else {
		if ((hours = calloc(q.limit + 1, sizeof(*hours))) == NULL)
			goto out;
		got = store_history(
		    s, id, q.from, q.to, q.after, q.limit + 1, hours, &n);
	}
	if (got != AQ_OK) {
		rc = api_fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "history: cannot read the store: %s", aq_strerror(got));
		goto out;
	}
	if (n > q.limit) {
		n = q.limit;
		snprintf(next, sizeof(next), "%lld",
		    daily ? (long long)days[n - 1].date
			  : (long long)hours[n - 1].hour);
	}
	if (q.csv) {
		hist_csv_head(daily ? "date" : "hour", q.inds, &b);
	} else {
		api_put_text(&b, "{\"cell\":");
		api_put_str(&b, id);
		hist_head(r, &q, daily, n, next, &b);
	}
	for (uint32_t k = 0; k < n; k++) {
		if (daily) {
			h = (struct hist_row){days[k].aqi, days[k].level,
			    days[k].primary, days[k].exceeds, days[k].has,
			    days[k].v, days[k].n};
			api_date_text(days[k].date, label, sizeof(label));
		} else {
			h = (struct hist_row){hours[k].aqi, hours[k].level,
			    hours[k].primary, hours[k].exceeds, hours[k].has,
			    hours[k].v, hours[k].n};
			api_iso(r, hours[k].hour, label, sizeof(label));
		}
		if (k > 0 && !q.csv)
			api_put(&b, ",", 1);
		hist_row(&q, daily ? "date" : "hour", label, &h, &b);
	}
	if (!q.csv)
		api_put_text(&b, "]}");
	rc = hist_done(r, &q, next, &b);
out:
	free(b.p);
	free(days);
	free(hours);
	return rc;
}

static int
by_hour_cell(const void *x, const void *y)
{
	const struct area_row *a = x, *b = y;

	if (a->hour != b->hour)
		return a->hour < b->hour ? -1 : 1;
	return a->cell < b->cell ? -1 : a->cell > b->cell;
}

/*
 * An area's hours, aggregated from its cells' rows as api_area() aggregates
 * their latest hour: the worst AQI (ties to the lower id), the mean of
 * each indicator over the cells with a valid value (to 0.001), cells per
 * level; each with the cells behind it.  A page holds the first L hours
 * any cell has after the cursor, L being limit or fewer when the area is
 * large (at most API_AREA_ROWS rows read in all): reading L + 1 rows of
 * each cell finds every row of those hours, and more hours than L among
 * them means there is a next page.
 */
int
api_area_history(struct req *r)
{
	const struct conf *conf = r->conf;
	uint32_t ncells = state_ncells(r->st), nuniq = 0, lim, nrows = 0;
	struct store *s = state_store(r->st);
	int ai = api_find_area(conf, r->param), rc = AQ_ERR_NOMEM, got;
	const struct conf_area *ar;
	struct hist_q q;
	uint32_t *cells = NULL, nhours = 0, n, end = 0;
	uint8_t *seen = NULL;
	struct store_hour *buf = NULL;
	struct area_row *rows = NULL;
	struct buf b = {NULL, 0, 0, false};
	char why[256], next[24] = "";

	if (ai < 0) {
		rc = api_fail(r, MHD_HTTP_NOT_FOUND, "no such area");
		goto out;
	}
	ar = &conf->areas[ai];
	if (!hist_query(r, false, HIST_AREA_INDS, &q, why, sizeof(why))) {
		rc = api_fail(r, MHD_HTTP_BAD_REQUEST, "%s", why);
		goto out;
	}
	if (s == NULL) {
		rc = api_fail(r, MHD_HTTP_SERVICE_UNAVAILABLE, API_NO_STORE);
		goto out;
	}
	/* An area may list a cell twice: count it once. */
	if ((seen = calloc(ncells > 0 ? ncells : 1, 1)) == NULL ||
	    (cells = calloc(ar->ncells > 0 ? ar->ncells : 1, sizeof(*cells))) ==
		NULL)
		goto out;
	for (uint32_t k = 0; k < ar->ncells; k++)
		if (ar->cells[k] < ncells && !seen[ar->cells[k]]) {
			seen[ar->cells[k]] = 1;
			cells[nuniq++] = ar->cells[k];
		}
	lim = q.limit;
	if (nuniq > 0 && lim > API_AREA_ROWS / nuniq)
		lim = API_AREA_ROWS / nuniq > 0 ? API_AREA_ROWS / nuniq : 1;
	if ((buf = calloc(lim + 1, sizeof(*buf))) == NULL ||
	    (rows = calloc((size_t)nuniq * (lim + 1) + 1, sizeof(*rows))) ==
		NULL)
		goto out;
	for (uint32_t k = 0; k < nuniq; k++) {
		got = store_history(s, conf->cells[cells[k]].id, q.from, q.to,
		    q.after, lim + 1, buf, &n);
		if (got != AQ_OK) {
			rc = api_fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
			    "history: cannot read the store: %s",
			    aq_strerror(got));
			goto out;
		}
		for (uint32_t i = 0; i < n; i++) {
			struct area_row *a = &rows[nrows++];

			a->hour = buf[i].hour;
			a->cell = cells[k];
			a->aqi = buf[i].aqi;
			a->level = buf[i].level;
			a->has = buf[i].has & q.inds;
			a->exceeds = buf[i].exceeds;
			memcpy(a->v, buf[i].v, sizeof(a->v));
		}
	}
	qsort(rows, nrows, sizeof(*rows), by_hour_cell);
	/* The rows of the page's hours end at end. */
	for (end = 0; end < nrows; end++) {
		if (end == 0 || rows[end].hour != rows[end - 1].hour) {
			if (nhours == lim)
				break;
			nhours++;
		}
	}
	if (end < nrows)
		snprintf(
		    next, sizeof(next), "%lld", (long long)rows[end - 1].hour);
	if (q.csv) {
		api_put_text(
		    &b, "hour,reporting,worst_cell,worst_aqi,worst_level");
		for (int i = 0; i < IND_AQI_COUNT; i++) {
			if ((q.inds & IND_BIT(i)) == 0)
				continue;
			api_put_text(&b, ",");
			api_put_text(&b, ind_name((enum ind)i));
			api_put_text(&b, ",n_");
			api_put_text(&b, ind_name((enum ind)i));
		}
		api_put_text(&b,
		    ",level_1,level_2,level_3,level_4,level_5,"
		    "level_6,level_unknown\r\n");
	} else {
		api_put_text(&b, "{\"area\":");
		api_put_str(&b, ar->id);
		api_put_text(&b, ",\"name\":");
		api_put_str(&b, ar->name);
		api_put_text(&b, ",\"name_en\":");
		api_put_str(&b, ar->name_en);
		api_put_text(&b, ",\"cells\":");
		api_put_int(&b, true, nuniq);
		hist_head(r, &q, false, nhours, next, &b);
	}
	for (uint32_t k = 0, first = 0; k < end; first = k) {
		while (k < end && rows[k].hour == rows[first].hour)
			k++;
		if (first > 0 && !q.csv)
			api_put(&b, ",", 1);
		area_hour(r, &q, rows + first, k - first, nuniq, &b);
	}
	if (!q.csv)
		api_put_text(&b, "]}");
	rc = hist_done(r, &q, next, &b);
out:
	free(b.p);
	free(rows);
	free(buf);
	free(cells);
	free(seen);
	return rc;
}

/* One hour of an area from the n rows its cells have for it (ncells in
 * the area: those without a row count as unknown). */
static void
area_hour(struct req *r, const struct hist_q *q, const struct area_row *rows,
    uint32_t n, uint32_t ncells, struct buf *b)
{
	const struct area_row *worst = NULL;
	int64_t sum[IND_AQI_COUNT] = {0}, mean[IND_AQI_COUNT] = {0};
	uint32_t nmean[IND_AQI_COUNT] = {0}, levels[7] = {0}, nexc = 0;
	enum aqi_std std = (enum aqi_std)r->conf->aqi_std;
	uint32_t has = 0; /* IND_BIT()s with a mean */
	char t[TZ_ISO_MAX], key[8];

	levels[0] = ncells - n;
	for (uint32_t k = 0; k < n; k++) {
		const struct area_row *a = &rows[k];

		levels[a->aqi >= 0 && a->level >= 1 && a->level <= 6 ? a->level
								     : 0]++;
		if (a->exceeds != 0)
			nexc++;
		if (a->aqi >= 0 &&
		    (worst == NULL || a->aqi > worst->aqi ||
			(a->aqi == worst->aqi &&
			    strcmp(r->conf->cells[a->cell].id,
				r->conf->cells[worst->cell].id) < 0)))
			worst = a;
		for (int i = 0; i < IND_AQI_COUNT; i++)
			if (a->has & IND_BIT(i)) {
				sum[i] += a->v[i];
				nmean[i]++;
			}
		has |= a->has;
	}
	/* Kept to 0.001 unit, like the cell-hour values averaged. */
	for (int i = 0; i < IND_AQI_COUNT; i++)
		if (nmean[i] > 0 &&
		    fix_muldiv_round(sum[i], 1, nmean[i], &mean[i]) == AQ_OK)
			mean[i] = fix_round_half_even(mean[i], fix_step(3));
	api_iso(r, rows[0].hour, t, sizeof(t));
	if (q->csv) {
		api_put_text(b, t);
		api_put(b, ",", 1);
		api_put_int(b, true, n);
		api_put(b, ",", 1);
		if (worst != NULL) {
			put_csv(b, r->conf->cells[worst->cell].id);
			api_put(b, ",", 1);
			api_put_int(b, true, worst->aqi);
			api_put(b, ",", 1);
			api_put_int(b, true, worst->level);
		} else {
			api_put_text(b, ",,");
		}
		put_csv_values(b, q->inds, has, mean, nmean);
		for (int l = 1; l <= 7; l++) {
			api_put(b, ",", 1);
			api_put_int(b, true, levels[l % 7]);
		}
		api_put_text(b, "\r\n");
		return;
	}
	api_put_text(b, "{\"hour\":");
	api_put_str(b, t);
	api_put_text(b, ",\"reporting\":");
	api_put_int(b, true, n);
	api_put_text(b, ",\"exceeding\":");
	api_put_int(b, true, nexc);
	api_put_text(b, ",\"worst\":");
	if (worst == NULL) {
		api_put_text(b, "null");
	} else {
		api_put_text(b, "{\"cell\":");
		api_put_str(b, r->conf->cells[worst->cell].id);
		api_put_text(b, ",\"aqi\":");
		api_put_int(b, true, worst->aqi);
		api_put_text(b, ",\"level\":");
		api_put_int(b, true, worst->level);
		api_put_text(b, ",\"color\":");
		api_put_str(b, aqi_color(std, worst->level));
		api_put_text(b, "}");
	}
	put_values(b, q->inds, "mean", has, mean, "mean_cells", nmean);
	api_put_text(b, ",\"levels\":{");
	for (int l = 1; l <= 6; l++) {
		key[0] = (char)('0' + l);
		key[1] = '\0';
		put_key(b, key);
		api_put_int(b, true, levels[l]);
		api_put(b, ",", 1);
	}
	api_put_text(b, "\"unknown\":");
	api_put_int(b, true, levels[0]);
	api_put_text(b, "}}");
}
