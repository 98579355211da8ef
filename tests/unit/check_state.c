/* check_state: published views and the hook that sees them hour by hour. */
#include "daemon/state.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/fix.h"
#include "daemon/tz.h"

struct seen {
	int n, ends;
	int64_t hour[256];
	int64_t pm25[256]; /* the hour's pm25_1h, fix; -1 when absent */
	double temp[256], wdir[256]; /* the hour's weather */
};

static char dir[64];
static struct state *st;
static struct seen seen;
static uint32_t sensor;

static int
decoder(const char *name)
{
	return strcmp(name, "json") == 0 ? 0 : -1;
}

static const struct conf_hooks hooks = {.decoder = decoder};

static struct conf *make_conf(void);

static void
hook(void *ctx, const struct cell_view *v)
{
	struct seen *s = ctx;

	if (v == NULL) {
		s->ends++;
		return;
	}
	ck_assert_int_lt(s->n, 256);
	s->hour[s->n] = v->hour;
	s->pm25[s->n] = v->stats.in.has & IND_BIT(IND_PM25_1H)
	    ? v->stats.in.v[IND_PM25_1H]
	    : -1;
	s->temp[s->n] = v->stats.wx.temp;
	s->wdir[s->n] = v->stats.wx.wdir;
	s->n++;
}

/* The test's configuration: one cell, no store (owned). */
static struct conf *
make_conf(void)
{
	struct conf *c = NULL;
	char path[128];
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/check_state.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a.conf", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(
	    "[mqtt]\nsubscribe = aq/# json 1\n[grid]\nrows = 1\ncols = 1\n", f);
	fclose(f);
	ck_assert_int_eq(conf_load(path, &hooks, &c, stderr), AQ_OK);
	unlink(path);
	rmdir(dir);
	return c;
}

static void
setup(void)
{
	struct conf *c = make_conf();

	ck_assert_ptr_nonnull(st = state_new(c, NULL, 0));
	memset(&seen, 0, sizeof(seen));
	state_on_publish(st, hook, &seen);
	ck_assert_int_eq(state_sensor(st, "s1", 0, &sensor), AQ_OK);
	state_publish(st);
	memset(&seen, 0, sizeof(seen));
}

static void
teardown(void)
{
	state_free(st);
}

/* An hourly mean of PM2.5 v for the hour starting at ts, with the
 * weather of wx (NULL: none). */
static void
feed_wx(int64_t ts, double v, const double *wx)
{
	struct win *w = state_engine(st);
	struct reading r = {.ts = ts, .period = 3600, .has = 1u << POL_PM25};
	int64_t prev = win_cell_newest_hour(w, 0);

	r.v[POL_PM25] = v;
	if (wx != NULL) {
		r.wx_has = (1u << WX_COUNT) - 1;
		memcpy(r.wx, wx, sizeof(r.wx));
	}
	state_before_update(st, sensor, ts);
	ck_assert_int_eq(win_update(w, sensor, &r), AQ_OK);
	state_updated(st, sensor, &r, NULL, prev, ts);
}

static void
feed(int64_t ts, double v)
{
	feed_wx(ts, v, NULL);
}

/*
 * The hour's weather is on the views the hook sees (each hour of a burst
 * its own), in the store's hourly rows, and after an image's restore.
 */
START_TEST(weather_in_views_rows_and_image)
{
	const struct tz *z = state_tz(st);
	int64_t t0 = 1795900000 - 1795900000 % 3600;
	int64_t h0 = tz_hour(z, t0);
	char sdir[64], spath[128], msg[256];
	struct store *store = NULL;
	struct store_hour rows[8];
	struct cell_view a, b;
	struct state *st2;
	struct conf *c = NULL;
	uint64_t mark;
	uint32_t n = 0, s2;
	size_t len;
	void *buf;

	snprintf(sdir, sizeof(sdir), "/tmp/check_state.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(sdir));
	snprintf(spath, sizeof(spath), "%s/aq.db", sdir);
	ck_assert_int_eq(
	    store_open(spath, 64, &store, msg, sizeof(msg)), AQ_OK);
	state_set_store(st, store);
	for (int k = 0; k < 5; k++) {
		double wx[WX_COUNT] = {[WX_TEMP] = 10 + k,
		    [WX_RH] = 50,
		    [WX_PRES] = 1000 + k,
		    [WX_RAIN] = 0.5,
		    [WX_WS] = 2,
		    [WX_WD] = 90 * k};

		feed_wx(t0 + 3600 * k, 40, wx);
	}
	state_publish(st);
	ck_assert_int_eq(seen.n, 4);
	for (int k = 0; k < 4; k++) {
		ck_assert_int_eq(seen.hour[k], h0 + k);
		ck_assert_double_eq_tol(seen.temp[k], 10 + k, 1e-9);
		ck_assert_double_eq_tol(seen.wdir[k], 90 * k, 1e-9);
	}
	ck_assert_int_eq(store_flush(store), AQ_OK);
	ck_assert_int_eq(store_history(store, "r000c000", 0, INT64_MAX,
			     INT64_MIN, 8, rows, &n),
	    AQ_OK);
	/* The hour before the first (empty) and the four complete ones. */
	ck_assert_uint_eq(n, 5);
	ck_assert(isnan(rows[0].wx.temp));
	for (uint32_t k = 0; k < 4; k++) {
		const struct store_hour *r = &rows[k + 1];

		ck_assert_int_eq(r->hour, tz_hour_end(z, h0 + k));
		ck_assert_double_eq_tol(r->wx.temp, 10 + k, 1e-9);
		ck_assert_double_eq_tol(r->wx.pres, 1000 + k, 1e-9);
		ck_assert_double_eq_tol(r->wx.rain, 0.5, 1e-9);
		ck_assert_double_eq_tol(r->wx.rh, 50, 1e-9);
	}

	/* The image: the same view, and the open hour's sums go on. */
	ck_assert_ptr_nonnull(buf = malloc(state_image_size(st)));
	len = state_image_save(st, 7, buf);
	c = make_conf();
	ck_assert_ptr_nonnull(st2 = state_new(c, NULL, 0));
	ck_assert_int_eq(state_sensor(st2, "s1", 0, &s2), AQ_OK);
	ck_assert_int_eq(
	    state_image_load(st2, buf, len, &mark, msg, sizeof(msg)), AQ_OK);
	ck_assert_int_eq(state_view(st, 0, &a), AQ_OK);
	ck_assert_int_eq(state_view(st2, 0, &b), AQ_OK);
	ck_assert_int_eq(b.hour, a.hour);
	ck_assert_double_eq_tol(a.stats.wx.temp, 13, 1e-9);
	ck_assert(memcmp(&a.stats.wx, &b.stats.wx, sizeof(a.stats.wx)) == 0);
	free(buf);
	state_free(st2);
	state_set_store(st, NULL);
	store_close(store);
	unlink(spath);
	snprintf(spath, sizeof(spath), "%s/aq.db-wal", sdir);
	unlink(spath);
	snprintf(spath, sizeof(spath), "%s/aq.db-shm", sdir);
	unlink(spath);
	rmdir(sdir);
}
END_TEST

START_TEST(a_burst_of_hours_is_seen_hour_by_hour)
{
	const struct tz *z = state_tz(st);
	int64_t t0 = 1795900000 - 1795900000 % 3600;
	int64_t h0 = tz_hour(z, t0);

	/* Six hours arrive before one publication (a replay, a back-fill):
	 * the hook still sees each of the five complete ones, in order. */
	for (int k = 0; k < 6; k++)
		feed(t0 + 3600 * k, k == 1 ? 150 : 40);
	state_publish(st);
	ck_assert_int_eq(seen.n, 5);
	ck_assert_int_eq(seen.ends, 1);
	for (int k = 0; k < 5; k++) {
		ck_assert_int_eq(seen.hour[k], h0 + k);
		ck_assert_int_eq(
		    seen.pm25[k], (k == 1 ? 150 : 40) * (int64_t)FIX_ONE);
	}

	/* One more hour: only that one. */
	memset(&seen, 0, sizeof(seen));
	feed(t0 + 3600 * 6, 40);
	state_publish(st);
	ck_assert_int_eq(seen.n, 1);
	ck_assert_int_eq(seen.hour[0], h0 + 5);

	/* A late reading in a complete hour: the latest view again, changed
	 * in place; no hour goes back. */
	memset(&seen, 0, sizeof(seen));
	{
		struct win *w = state_engine(st);
		struct reading r = {
		    .ts = t0 + 5 * 3600 + 1800, .period = 60, .has = 1u};
		uint32_t s2;

		ck_assert_int_eq(state_sensor(st, "s2", 0, &s2), AQ_OK);
		r.v[POL_PM25] = 10;
		ck_assert_int_eq(win_update(w, s2, &r), AQ_OK);
		state_updated(st, s2, &r, NULL, h0 + 6, r.ts);
	}
	state_publish(st);
	ck_assert_int_eq(seen.n, 1);
	ck_assert_int_eq(seen.hour[0], h0 + 5);

	/* Nothing changed: no call at all. */
	memset(&seen, 0, sizeof(seen));
	state_publish(st);
	ck_assert_int_eq(seen.n, 0);
	ck_assert_int_eq(seen.ends, 0);
}
END_TEST

START_TEST(a_burst_longer_than_the_window_loses_no_hour)
{
	const struct tz *z = state_tz(st);
	int64_t t0 = 1795900000 - 1795900000 % 3600;
	int64_t h0 = tz_hour(z, t0);
	int hours = 4 * WIN_HOURS + 5;

	/* Four windows' worth of hours before one publication (a replay sent
	 * faster than the ingest batches end): every complete hour still
	 * reaches the hook (and the store's rows), in order, each with its
	 * own value -- none falls out of the engine unseen. */
	for (int k = 0; k < hours; k++)
		feed(t0 + 3600 * k, 10 + k % 50);
	state_publish(st);
	ck_assert_int_eq(seen.n, hours - 1);
	for (int k = 0; k < hours - 1; k++) {
		ck_assert_int_eq(seen.hour[k], h0 + k);
		ck_assert_int_eq(
		    seen.pm25[k], (10 + k % 50) * (int64_t)FIX_ONE);
	}
	ck_assert_int_ge(seen.ends, 4);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("state");
	TCase *tc = tcase_create("state");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, a_burst_of_hours_is_seen_hour_by_hour);
	tcase_add_test(tc, weather_in_views_rows_and_image);
	tcase_add_test(tc, a_burst_longer_than_the_window_loses_no_hour);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
