/* check_site: the dust sites' status engine -- the relative rule on a
 * regional haze, a local episode with hysteresis, minimum durations, the
 * monthly blacklist across a local month boundary, notices to the site's
 * receivers and the inspectors, persistence, and configuration errors. */
#include "alerts/site.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/fix.h"

#define H 3600
#define MAXN 32

static char dir[] = "/tmp/aqgrid-site.XXXXXX";
static char errs[8192];
static struct conf *conf;
static struct tz z;
static struct notice *got;
static uint32_t ngot;
static uint64_t next_notice;

static int decoder(const char *name);
static const struct conf_hooks hooks = {.decoder = decoder};

/* 5 x 5 cells; s1 in the middle, s2 in a corner. */
static const char *const base =
    "[mqtt]\nsubscribe = aq/# json 1\n[grid]\norigin = 40.0 116.0\n"
    "rows = 5\ncols = 5\ncell_size = 500\n"
    "[receiver c1]\ntype = webhook\nurl = http://127.0.0.1:9/c1\n"
    "[receiver c2]\ntype = webhook\nurl = http://127.0.0.1:9/c2\n"
    "[receiver insp]\ntype = webhook\nurl = http://127.0.0.1:9/i\n"
    "[sensor amb]\ncell = r001c001\n"
    "[site s1]\nname = Site one\nkind = construction\ncell = r002c002\n"
    "company = Build Co\ncontact = Ms Li\nreceivers = c1\n"
    "sensor = dust-1\n"
    "[site s2]\nkind = road\ncell = r000c000\nreceivers = c2\n"
    "sensor = dust-2\nsensor = dust-2b\n";

static int
decoder(const char *name)
{
	return strcmp(name, "json") == 0 ? 0 : -1;
}

static int
on_notice(void *ctx, const struct notice *n)
{
	(void)ctx;
	ck_assert_uint_lt(ngot, MAXN);
	got[ngot++] = *n;
	return 0;
}

static uint64_t
take_id(void *ctx)
{
	(void)ctx;
	return ++next_notice;
}

static void
load(const char *extra)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/s.conf", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(base, f);
	fputs(extra, f);
	fclose(f);
	ck_assert_ptr_nonnull(f = fmemopen(errs, sizeof(errs), "w"));
	ck_assert_int_eq(conf_load(path, &hooks, &conf, f), AQ_OK);
	fclose(f);
}

static struct site_engine *
engine(struct store *s)
{
	struct site_engine *e = site_engine_new(conf, &z, s, stderr);

	ck_assert_ptr_nonnull(e);
	return e;
}

static void
setup(void)
{
	strcpy(dir, "/tmp/aqgrid-site.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(tz_init(&z, "Asia/Shanghai"), AQ_OK);
	ck_assert_ptr_nonnull(got = calloc(MAXN, sizeof(*got)));
	ngot = 0;
	conf = NULL;
}

static void
teardown(void)
{
	char cmd[300];

	free(got);
	conf_free(conf);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Every cell's PM10 1-hour value at the hour starting at ts. */
static void
background(struct site_engine *e, int64_t ts, double bg)
{
	for (uint32_t c = 0; c < conf->ncells; c++) {
		struct cell_view v;

		memset(&v, 0, sizeof(v));
		v.cell = c;
		v.hour = tz_hour(&z, ts);
		v.hour_end = tz_hour_end(&z, v.hour);
		v.stats.in.has = IND_BIT(IND_PM10_1H);
		v.stats.in.v[IND_PM10_1H] = (int64_t)(bg * 1000) * 1000000;
		site_engine_view(e, &v, ts + H);
	}
}

/* One hourly reading of a site's monitor for the hour starting at ts. */
static void
reading(struct site_engine *e, const char *sensor, int64_t ts, double pm10)
{
	struct reading r = {.ts = ts, .period = H, .has = 1u << POL_PM10};
	int64_t site = site_engine_sensor(e, sensor);

	ck_assert_int_ge(site, 0);
	r.v[POL_PM10] = pm10;
	ck_assert_int_eq(
	    site_engine_reading(e, (uint32_t)site, &r, NAN, ts + H), AQ_OK);
}

/* Hour k of a series: the background, then the site's reading (which
 * closes hour k - 1, judged with its background). */
static void
hour(struct site_engine *e, int64_t t0, int k, double bg, double pm10)
{
	background(e, t0 + (int64_t)k * H, bg);
	reading(e, "dust-1", t0 + (int64_t)k * H, pm10);
}

static enum site_status
status(struct site_engine *e, const char *id)
{
	struct site_info si;

	ck_assert_int_eq(
	    site_engine_info(e, (uint32_t)site_engine_find(e, id), 0, &si),
	    AQ_OK);
	return si.status;
}

static int64_t
at(const char *iso)
{
	int64_t t;

	ck_assert_int_eq(tz_parse(iso, &t), AQ_OK);
	return t;
}

START_TEST(regional_haze_stays_below_red)
{
	struct site_engine *e;
	int64_t t0 = at("2026-11-10T00:00:00+08:00");

	load("");
	e = engine(NULL);
	/* Background 300 everywhere, the site a little above: green. */
	for (int k = 0; k < 6; k++)
		hour(e, t0, k, 300, 330);
	ck_assert_int_eq(status(e, "s1"), SITE_GREEN);
	/* 100 over a background of 300: yellow by the 1-hour rule (80),
	 * never red (150), though 400 is far above the absolute 250. */
	for (int k = 6; k < 12; k++)
		hour(e, t0, k, 300, 400);
	ck_assert_int_eq(status(e, "s1"), SITE_YELLOW);
	ck_assert_uint_eq(site_engine_pending(e), 1);
	ck_assert_int_eq(site_engine_pending_at(e, 0)->to, SITE_YELLOW);
	ck_assert(site_engine_pending_at(e, 0)->e.bg == 300);
	site_engine_free(e);
}
END_TEST

START_TEST(local_episode_red_then_clears_with_hysteresis)
{
	struct site_engine *e;
	int64_t t0 = at("2026-11-10T00:00:00+08:00");
	struct site_info si;
	struct site_change ch[4];

	load("[sites]\ninspectors = insp\n");
	e = engine(NULL);
	hour(e, t0, 0, 50, 60);
	hour(e, t0, 1, 50, 400); /* hour 0 judged: green */
	hour(e, t0, 2, 50, 230); /* hour 1: 350 over 50: red */
	ck_assert_int_eq(status(e, "s1"), SITE_RED);
	/* 230 is under red's 250 but over its hold (200, excess 120). */
	hour(e, t0, 3, 50, 100);
	ck_assert_int_eq(status(e, "s1"), SITE_RED);
	/* One hour under the hold thresholds is not enough ... */
	hour(e, t0, 4, 50, 90);
	ck_assert_int_eq(status(e, "s1"), SITE_RED);
	/* ... two are (clear_hours 2): straight down to green. */
	hour(e, t0, 5, 50, 90);
	ck_assert_int_eq(status(e, "s1"), SITE_GREEN);
	ck_assert_int_eq(site_engine_info(e, 0, 0, &si), AQ_OK);
	ck_assert_int_eq(si.since, t0 + 5 * H);
	ck_assert_uint_eq(site_engine_changes(e, 0, ch, 4), 2);
	ck_assert_int_eq(ch[0].to, SITE_GREEN);
	ck_assert_int_eq(ch[1].to, SITE_RED);
	ck_assert_int_eq(ch[1].hour, t0 + 2 * H);
	ck_assert(ch[1].e.v1h == 400 && ch[1].e.bg == 50);
	/* Notices: the site's contact and the inspectors, firing and
	 * resolved each. */
	site_engine_flush(e, 1000, on_notice, take_id, NULL);
	ck_assert_uint_eq(ngot, 4);
	for (uint32_t k = 0; k < ngot; k++) {
		ck_assert_uint_eq(got[k].nalerts, 1);
		ck_assert_str_eq(got[k].alerts[0].fingerprint, "site-s1");
		ck_assert_str_eq(got[k].alerts[0].cell, "r002c002");
		ck_assert_str_eq(got[k].alerts[0].sensor, "dust-1");
	}
	ck_assert_str_eq(got[0].to, "insp");
	ck_assert_int_eq(got[0].kind, NOTICE_FIRING);
	ck_assert_int_eq(got[0].severity, SEV_CRITICAL);
	ck_assert_str_eq(got[1].to, "insp");
	ck_assert_int_eq(got[1].kind, NOTICE_RESOLVED);
	ck_assert_str_eq(got[2].to, "c1");
	ck_assert_str_eq(got[3].to, "c1");
	ck_assert_ptr_nonnull(strstr(got[0].alerts[0].summary, "green -> red"));
	ck_assert_uint_eq(site_engine_pending(e), 0);
	site_engine_free(e);
}
END_TEST

/* Several sites red at the same hour: one notice per receiver and kind,
 * the inspectors' listing every site, each contact's only its own. */
START_TEST(sites_red_together_one_notice_per_receiver)
{
	struct site_engine *e;
	int64_t t0 = at("2026-11-10T00:00:00+08:00");
	uint32_t insp = MAXN, c1 = MAXN, c2 = MAXN;
	bool s1 = false, s2 = false;

	load("[sites]\ninspectors = insp\n");
	e = engine(NULL);
	for (int k = 0; k < 3; k++) {
		double v = k == 1 ? 400 : 60;

		background(e, t0 + (int64_t)k * H, 50);
		reading(e, "dust-1", t0 + (int64_t)k * H, v);
		reading(e, "dust-2", t0 + (int64_t)k * H, v);
	}
	ck_assert_int_eq(status(e, "s1"), SITE_RED);
	ck_assert_int_eq(status(e, "s2"), SITE_RED);
	ck_assert_uint_eq(site_engine_pending(e), 2);
	site_engine_flush(e, 1000, on_notice, take_id, NULL);
	/* Not one notice per site and receiver (4): one per receiver. */
	ck_assert_uint_eq(ngot, 3);
	for (uint32_t k = 0; k < ngot; k++) {
		ck_assert_int_eq(got[k].kind, NOTICE_FIRING);
		if (strcmp(got[k].to, "insp") == 0)
			insp = k;
		else if (strcmp(got[k].to, "c1") == 0)
			c1 = k;
		else if (strcmp(got[k].to, "c2") == 0)
			c2 = k;
	}
	ck_assert_uint_lt(insp, MAXN);
	ck_assert_uint_lt(c1, MAXN);
	ck_assert_uint_lt(c2, MAXN);
	ck_assert_uint_eq(got[insp].nalerts, 2);
	for (uint32_t a = 0; a < 2; a++) {
		s1 |= strcmp(got[insp].alerts[a].fingerprint, "site-s1") == 0;
		s2 |= strcmp(got[insp].alerts[a].fingerprint, "site-s2") == 0;
	}
	ck_assert(s1 && s2);
	ck_assert_uint_eq(got[c1].nalerts, 1);
	ck_assert_str_eq(got[c1].alerts[0].fingerprint, "site-s1");
	ck_assert_uint_eq(got[c2].nalerts, 1);
	ck_assert_str_eq(got[c2].alerts[0].fingerprint, "site-s2");
	site_engine_free(e);
}
END_TEST

START_TEST(minimum_duration_to_enter)
{
	struct site_engine *e;
	int64_t t0 = at("2026-11-10T00:00:00+08:00");

	load("[sites]\nmin_hours = 3\n");
	e = engine(NULL);
	hour(e, t0, 0, 50, 400);
	hour(e, t0, 1, 50, 400);
	hour(e, t0, 2, 50, 60); /* two red hours, then a dip */
	hour(e, t0, 3, 50, 400);
	ck_assert_int_eq(status(e, "s1"), SITE_GREEN);
	hour(e, t0, 4, 50, 400);
	hour(e, t0, 5, 50, 400);
	hour(e, t0, 6, 50, 60); /* hours 3, 4, 5 */
	ck_assert_int_eq(status(e, "s1"), SITE_RED);
	site_engine_free(e);
}
END_TEST

START_TEST(background_wait_then_absolute_only)
{
	struct site_engine *e;
	int64_t t0 = at("2026-11-10T00:00:00+08:00");

	load("");
	e = engine(NULL);
	/* The background reported hour 0 only; the site goes on. */
	background(e, t0, 300);
	reading(e, "dust-1", t0, 400);
	reading(e, "dust-1", t0 + H, 400); /* hour 0: yellow (bg 300) */
	ck_assert_int_eq(status(e, "s1"), SITE_YELLOW);
	reading(e, "dust-1", t0 + 2 * H, 400);
	/* Hour 1 waits for its background ... */
	site_engine_settle(e, t0 + 2 * H);
	ck_assert_int_eq(status(e, "s1"), SITE_YELLOW);
	/* ... while the stations around were heard from recently ... */
	background(e, t0 - H, 300); /* a late view, seen at t0 */
	site_engine_settle(e, t0 + 2 * H + 1799);
	ck_assert_int_eq(status(e, "s1"), SITE_YELLOW);
	/* ... until they have been silent for background_wait (1800 s)
	 * and the hour ended that long ago: the absolute rule alone. */
	site_engine_settle(e, t0 + 2 * H + 1800);
	ck_assert_int_eq(status(e, "s1"), SITE_RED);
	site_engine_free(e);
}
END_TEST

START_TEST(blacklist_across_local_month_boundary)
{
	struct site_engine *e;
	struct store *s;
	struct site_black bl[4];
	char path[300], msg[200];
	/* 21:00 local on 30 November: hours labelled 22:00, 23:00 and
	 * 24:00 are November's, 01:00 and 02:00 December's. */
	int64_t t0 = at("2026-11-30T21:00:00+08:00");

	load("[sites]\nblacklist_red_hours = 3\nblacklist_red_episodes = 0\n");
	snprintf(path, sizeof(path), "%s/a.db", dir);
	ck_assert_int_eq(store_open(path, 1024, &s, msg, sizeof(msg)), AQ_OK);
	e = engine(s);
	/* Red from the hour labelled 22:00 (30 Nov) to 01:00 (1 Dec), and
	 * held through 02:00 by the clear hours. */
	for (int k = 0; k < 4; k++)
		hour(e, t0, k, 50, 400);
	hour(e, t0, 4, 50, 40);
	hour(e, t0, 5, 50, 40);
	hour(e, t0, 6, 50, 40);
	ck_assert_int_eq(status(e, "s1"), SITE_GREEN);
	ck_assert_uint_eq(site_engine_blacklist(e, 202611, bl, 4), 1);
	ck_assert_str_eq(bl[0].def->id, "s1");
	ck_assert_uint_eq(bl[0].red_hours, 3);
	ck_assert_uint_eq(bl[0].episodes, 1);
	/* December has the episode's last 2 red hours, not its start. */
	ck_assert_uint_eq(site_engine_blacklist(e, 202612, bl, 4), 0);
	{
		struct site_info si;

		ck_assert_int_eq(site_engine_info(e, 0, 0, &si), AQ_OK);
		ck_assert_uint_eq(si.red_hours, 2);
		ck_assert_uint_eq(si.episodes, 0);
	}
	/* One more red hour in December lists it there too. */
	hour(e, t0, 7, 50, 400);
	hour(e, t0, 8, 50, 40);
	ck_assert_uint_eq(site_engine_blacklist(e, 202612, bl, 4), 1);
	ck_assert_uint_eq(bl[0].red_hours, 3);
	ck_assert_uint_eq(bl[0].episodes, 1);
	site_engine_free(e);
	/* The counts survive a restart. */
	e = engine(s);
	ck_assert_int_eq(site_engine_load(e), AQ_OK);
	ck_assert_uint_eq(site_engine_blacklist(e, 202611, bl, 4), 1);
	ck_assert_uint_eq(bl[0].red_hours, 3);
	site_engine_free(e);
	store_close(s);
}
END_TEST

START_TEST(state_survives_restart)
{
	struct site_engine *e;
	struct store *s;
	struct site_change ch[4];
	struct site_info si;
	char path[300], msg[200];
	int64_t t0 = at("2026-11-10T00:00:00+08:00");

	load("");
	snprintf(path, sizeof(path), "%s/a.db", dir);
	ck_assert_int_eq(store_open(path, 1024, &s, msg, sizeof(msg)), AQ_OK);
	e = engine(s);
	hour(e, t0, 0, 50, 400);
	hour(e, t0, 1, 50, 90); /* hour 0 red */
	background(e, t0 + 2 * H, 50);
	reading(e, "dust-1", t0 + 2 * H, 90); /* hour 1 below: 1 of 2 */
	/* Half of hour 2 measured when it stops. */
	site_engine_save(e);
	site_engine_free(e);

	e = engine(s);
	ck_assert_int_eq(site_engine_load(e), AQ_OK);
	ck_assert_int_eq(status(e, "s1"), SITE_RED);
	ck_assert_uint_eq(site_engine_changes(e, 0, ch, 4), 1);
	ck_assert_int_eq(ch[0].to, SITE_RED);
	ck_assert_int_gt(ch[0].id, 0);
	/* The same reading again is a duplicate, an older one stale. */
	{
		struct reading r = {.ts = t0 + 2 * H,
		    .period = H,
		    .has = 1u << POL_PM10,
		    .v = {[POL_PM10] = 90}};

		ck_assert_int_eq(
		    site_engine_reading(e, 0, &r, NAN, 0), AQ_ERR_DUP);
		r.ts -= 60;
		ck_assert_int_eq(
		    site_engine_reading(e, 0, &r, NAN, 0), AQ_ERR_STALE);
	}
	/* The run of clear hours went on across the restart. */
	background(e, t0 + 3 * H, 50);
	reading(e, "dust-1", t0 + 3 * H, 90);
	ck_assert_int_eq(status(e, "s1"), SITE_GREEN);
	ck_assert_int_eq(site_engine_info(e, 0, 0, &si), AQ_OK);
	ck_assert_int_eq(si.last_hour, t0 + 3 * H);
	site_engine_free(e);
	store_close(s);
}
END_TEST

START_TEST(neighbours_median_background)
{
	struct site_engine *e;
	int64_t t0 = at("2026-11-10T00:00:00+08:00");
	struct cell_view v;

	load("");
	e = engine(NULL);
	/* The site's own cell is dusty (its plume), the 8 around it not:
	 * the median of the block is the clean value. */
	background(e, t0, 60);
	memset(&v, 0, sizeof(v));
	v.cell = (uint32_t)conf_cell_find(conf, "r002c002");
	v.hour = tz_hour(&z, t0);
	v.stats.in.has = IND_BIT(IND_PM10_1H);
	v.stats.in.v[IND_PM10_1H] = 380 * FIX_ONE;
	site_engine_view(e, &v, t0 + H);
	reading(e, "dust-1", t0, 400);
	background(e, t0 + H, 60);
	reading(e, "dust-1", t0 + H, 60);
	ck_assert_int_eq(status(e, "s1"), SITE_RED);
	site_engine_free(e);
	conf_free(conf);
	/* background = cell takes the cell's own value: 20 over it. */
	load("[sites]\nbackground = cell\n");
	e = engine(NULL);
	background(e, t0, 60);
	site_engine_view(e, &v, t0 + H);
	reading(e, "dust-1", t0, 400);
	background(e, t0 + H, 60);
	reading(e, "dust-1", t0 + H, 60);
	ck_assert_int_eq(status(e, "s1"), SITE_GREEN);
	site_engine_free(e);
}
END_TEST

START_TEST(level_rules)
{
	struct site_rules r;
	struct site_eval ev = {
	    .has_1h = true, .v1h = 260, .has_bg = true, .bg = 100};

	load("");
	site_rules_from(conf, &r);
	/* 160 over: red needs 150 over and 250. */
	ck_assert_int_eq(site_level(&r, &ev, 1.0), SITE_RED);
	ev.bg = 120;
	ck_assert_int_eq(site_level(&r, &ev, 1.0), SITE_YELLOW);
	/* Unknown background: the absolute thresholds alone. */
	ev.has_bg = false;
	ck_assert_int_eq(site_level(&r, &ev, 1.0), SITE_RED);
	ev.v1h = 149;
	ck_assert_int_eq(site_level(&r, &ev, 1.0), SITE_GREEN);
	/* Hold thresholds: 0.8 of 150. */
	ck_assert_int_eq(site_level(&r, &ev, r.clear_ratio), SITE_YELLOW);
	/* The rolling mean alone. */
	ev.has_1h = false;
	ev.has_roll = true;
	ev.roll = 260;
	ck_assert_int_eq(site_level(&r, &ev, 1.0), SITE_RED);
	ev.has_bgroll = true;
	ev.bgroll = 200;
	ck_assert_int_eq(site_level(&r, &ev, 1.0), SITE_YELLOW);
}
END_TEST

/* Every cell's PM10 and PM2.5 1-hour values at the hour starting at ts. */
static void
background2(struct site_engine *e, int64_t ts, double bg10, double bg25)
{
	for (uint32_t c = 0; c < conf->ncells; c++) {
		struct cell_view v;

		memset(&v, 0, sizeof(v));
		v.cell = c;
		v.hour = tz_hour(&z, ts);
		v.hour_end = tz_hour_end(&z, v.hour);
		v.stats.in.has = IND_BIT(IND_PM10_1H) | IND_BIT(IND_PM25_1H);
		v.stats.in.v[IND_PM10_1H] = (int64_t)(bg10 * 1000) * 1000000;
		v.stats.in.v[IND_PM25_1H] = (int64_t)(bg25 * 1000) * 1000000;
		site_engine_view(e, &v, ts + H);
	}
}

/* Hour k with PM2.5: backgrounds, then the monitor's reading (pm10 < 0:
 * the monitor measures PM2.5 only). */
static void
hour25(struct site_engine *e, int64_t t0, int k, double bg10, double bg25,
    double pm10, double pm25)
{
	int64_t ts = t0 + (int64_t)k * H;
	struct reading r = {.ts = ts, .period = H, .has = 1u << POL_PM25};
	int64_t site = site_engine_sensor(e, "dust-1");

	background2(e, ts, bg10, bg25);
	ck_assert_int_ge(site, 0);
	r.v[POL_PM25] = pm25;
	if (pm10 >= 0) {
		r.has |= 1u << POL_PM10;
		r.v[POL_PM10] = pm10;
	}
	ck_assert_int_eq(
	    site_engine_reading(e, (uint32_t)site, &r, NAN, ts + H), AQ_OK);
}

START_TEST(pm25_level_rules)
{
	struct site_rules r;
	struct site_eval ev = {.has_1h = true,
	    .v1h = 60,
	    .has_bg = true,
	    .bg = 50,
	    .has25_1h = true,
	    .v25_1h = 130,
	    .has25_bg = true,
	    .bg25 = 40};

	load("");
	site_rules_from(conf, &r);
	/* PM10 green, PM2.5 90 over 40 at 130: red (115, 75 over). */
	ck_assert_int_eq(site_level(&r, &ev, 1.0), SITE_RED);
	/* A PM2.5 haze: 130 over a background of 100 is 30 over, under
	 * yellow's 40: green. */
	ev.bg25 = 100;
	ck_assert_int_eq(site_level(&r, &ev, 1.0), SITE_GREEN);
	/* 50 over 80: yellow (75 and 40 over), not red (75 over). */
	ev.bg25 = 80;
	ck_assert_int_eq(site_level(&r, &ev, 1.0), SITE_YELLOW);
	/* The worse of the two: PM10 red wins over PM2.5 yellow. */
	ev.v1h = 300;
	ck_assert_int_eq(site_level(&r, &ev, 1.0), SITE_RED);
	ev.v1h = 60;
	/* Hold: 0.8 of yellow's 75 and 40 over. */
	ev.v25_1h = 70;
	ev.bg25 = 30;
	ck_assert_int_eq(site_level(&r, &ev, 1.0), SITE_GREEN);
	ck_assert_int_eq(site_level(&r, &ev, r.clear_ratio), SITE_YELLOW);
	/* The rolling PM2.5 mean alone. */
	ev.has25_1h = false;
	ev.has25_roll = true;
	ev.roll25 = 120;
	ck_assert_int_eq(site_level(&r, &ev, 1.0), SITE_RED);
	ev.has25_bgroll = true;
	ev.bgroll25 = 90;
	ck_assert_int_eq(site_level(&r, &ev, 1.0), SITE_YELLOW);
	/* Configured thresholds; both 0 turn a rule off. */
	conf_free(conf);
	load("[sites]\npm25_red_rolling = 0\npm25_red_excess_rolling = 0\n"
	     "pm25_yellow_rolling = 100\npm25_yellow_excess_rolling = 10\n");
	site_rules_from(conf, &r);
	ck_assert(r.y25_roll == 100 && r.r25_roll == 0);
	ck_assert_int_eq(site_level(&r, &ev, 1.0), SITE_YELLOW);
	ev.roll25 = 99;
	ck_assert_int_eq(site_level(&r, &ev, 1.0), SITE_GREEN);
}
END_TEST

START_TEST(pm25_episode_red_with_pm10_green)
{
	struct site_engine *e;
	int64_t t0 = at("2026-11-10T00:00:00+08:00");
	struct site_info si;
	struct site_change ch[4];
	int64_t hours[4];
	struct site_eval ev[4];

	load("");
	e = engine(NULL);
	/* A regional PM2.5 haze: background 150, the site 170: green. */
	for (int k = 0; k < 4; k++)
		hour25(e, t0, k, 100, 150, 110, 170);
	ck_assert_int_eq(status(e, "s1"), SITE_GREEN);
	/* Clean air, then local PM2.5 at 160 over 30; PM10 stays green. */
	hour25(e, t0, 4, 60, 30, 80, 40);
	hour25(e, t0, 5, 60, 30, 80, 160);
	hour25(e, t0, 6, 60, 30, 80, 40);
	ck_assert_int_eq(status(e, "s1"), SITE_RED);
	ck_assert_uint_eq(site_engine_changes(e, 0, ch, 4), 1);
	ck_assert_int_eq(ch[0].to, SITE_RED);
	ck_assert(ch[0].e.has25_1h && ch[0].e.v25_1h == 160);
	ck_assert(ch[0].e.has25_bg && ch[0].e.bg25 == 30);
	ck_assert(ch[0].e.v1h == 80);
	ck_assert_int_eq(site_engine_info(e, 0, 0, &si), AQ_OK);
	ck_assert(si.has_pm25 && si.pm25_1h == 160);
	ck_assert_uint_eq(site_engine_hours(e, 0, hours, ev, 4), 4);
	ck_assert(ev[0].has25_1h && ev[0].v25_1h == 160 && ev[0].bg25 == 30);
	ck_assert(ev[1].has25_1h && ev[1].v25_1h == 40);
	/* Two clean hours clear it. */
	hour25(e, t0, 7, 60, 30, 80, 40);
	ck_assert_int_eq(status(e, "s1"), SITE_RED);
	hour25(e, t0, 8, 60, 30, 80, 40);
	ck_assert_int_eq(status(e, "s1"), SITE_GREEN);
	site_engine_flush(e, 1000, on_notice, take_id, NULL);
	ck_assert_uint_ge(ngot, 1);
	ck_assert_ptr_nonnull(strstr(got[0].alerts[0].summary, "PM2.5 1h 160"));
	site_engine_free(e);
}
END_TEST

START_TEST(pm25_only_monitor_is_judged)
{
	struct site_engine *e;
	struct store *s;
	int64_t t0 = at("2026-11-10T00:00:00+08:00");
	struct site_info si;
	char path[300], msg[200];

	load("[sites]\nmin_hours = 2\n");
	snprintf(path, sizeof(path), "%s/p.db", dir);
	ck_assert_int_eq(store_open(path, 1024, &s, msg, sizeof(msg)), AQ_OK);
	e = engine(s);
	hour25(e, t0, 0, 60, 30, -1, 40);
	hour25(e, t0, 1, 60, 30, -1, 90); /* yellow, once */
	hour25(e, t0, 2, 60, 30, -1, 95); /* twice: yellow */
	hour25(e, t0, 3, 60, 30, -1, 40);
	ck_assert_int_eq(status(e, "s1"), SITE_YELLOW);
	ck_assert_int_eq(site_engine_info(e, 0, 0, &si), AQ_OK);
	ck_assert(!si.e.has_1h && si.e.has25_1h && si.e.v25_1h == 95);
	site_engine_save(e);
	site_engine_free(e);
	/* A restart keeps the PM2.5 hours and their background. */
	e = engine(s);
	ck_assert_int_eq(site_engine_load(e), AQ_OK);
	ck_assert_int_eq(status(e, "s1"), SITE_YELLOW);
	ck_assert_int_eq(site_engine_info(e, 0, 0, &si), AQ_OK);
	ck_assert(si.e.has25_1h && si.e.v25_1h == 95 && si.e.has25_bg &&
	    si.e.bg25 == 30);
	site_engine_free(e);
	store_close(s);
}
END_TEST

/* Hour k with TSP: the PM10 background, then the monitor's PM10 and TSP. */
static void
hourtsp(struct site_engine *e, int64_t t0, int k, double bg, double pm10,
    double tsp)
{
	int64_t ts = t0 + (int64_t)k * H;
	struct reading r = {.ts = ts, .period = H, .has = 1u << POL_PM10};
	int64_t site = site_engine_sensor(e, "dust-1");

	background(e, ts, bg);
	ck_assert_int_ge(site, 0);
	r.v[POL_PM10] = pm10;
	ck_assert_int_eq(
	    site_engine_reading(e, (uint32_t)site, &r, tsp, ts + H), AQ_OK);
}

/* TSP rules are absolute only, their defaults those of the option table;
 * the status is the worst of the three pollutants. */
START_TEST(tsp_level_rules)
{
	struct site_rules r;
	struct site_eval ev = {
	    .has_1h = true, .v1h = 60, .has_bg = true, .bg = 50};

	load("");
	site_rules_from(conf, &r);
	ck_assert(r.ytsp_1h == 700 && r.rtsp_1h == 800);
	ck_assert(r.ytsp_roll == 300 && r.rtsp_roll == 600);
	ck_assert_int_eq(site_level(&r, &ev, 1), SITE_GREEN);
	ev.hastsp_1h = true;
	ev.tsp_1h = 750;
	ck_assert_int_eq(site_level(&r, &ev, 1), SITE_YELLOW);
	ev.tsp_1h = 800;
	ck_assert_int_eq(site_level(&r, &ev, 1), SITE_RED);
	/* Held at clear_ratio: 650 is over 800 * 0.8. */
	ev.tsp_1h = 650;
	ck_assert_int_eq(site_level(&r, &ev, 1), SITE_GREEN);
	ck_assert_int_eq(site_level(&r, &ev, r.clear_ratio), SITE_RED);
	/* The rolling mean alone. */
	ev.tsp_1h = 100;
	ev.hastsp_roll = true;
	ev.tsp_roll = 300;
	ck_assert_int_eq(site_level(&r, &ev, 1), SITE_YELLOW);
	ev.tsp_roll = 600;
	ck_assert_int_eq(site_level(&r, &ev, 1), SITE_RED);
	/* A rule whose threshold is 0 is off. */
	conf_free(conf);
	load("[sites]\ntsp_red_1h = 0\ntsp_red_rolling = 0\n");
	site_rules_from(conf, &r);
	ck_assert_int_eq(site_level(&r, &ev, 1), SITE_YELLOW);
}
END_TEST

START_TEST(tsp_episode_red_with_pm10_green)
{
	struct site_engine *e;
	int64_t t0 = at("2026-11-10T00:00:00+08:00");
	struct site_info si;
	struct site_change ch[4];
	int64_t hours[4];
	struct site_eval ev[4];
	char path[300], msg[256];
	struct store *s;

	load("");
	snprintf(path, sizeof(path), "%s/t.db", dir);
	ck_assert_int_eq(store_open(path, 1024, &s, msg, sizeof(msg)), AQ_OK);
	e = engine(s);
	hourtsp(e, t0, 0, 50, 60, 120);
	hourtsp(e, t0, 1, 50, 60, 120);
	ck_assert_int_eq(status(e, "s1"), SITE_GREEN);
	/* Earthwork: TSP at 900 while PM10 stays at 70 over 50. */
	hourtsp(e, t0, 2, 50, 70, 900);
	hourtsp(e, t0, 3, 50, 60, 120);
	ck_assert_int_eq(status(e, "s1"), SITE_RED);
	ck_assert_uint_eq(site_engine_changes(e, 0, ch, 4), 1);
	ck_assert_int_eq(ch[0].to, SITE_RED);
	ck_assert(ch[0].e.hastsp_1h && ch[0].e.tsp_1h == 900);
	ck_assert(ch[0].e.v1h == 70 && !ch[0].e.has25_1h);
	ck_assert_int_eq(site_engine_info(e, 0, 0, &si), AQ_OK);
	ck_assert(si.has_tsp && si.tsp_1h == 900);
	ck_assert_uint_eq(site_engine_hours(e, 0, hours, ev, 4), 3);
	ck_assert(ev[0].hastsp_1h && ev[0].tsp_1h == 900);
	ck_assert(ev[1].hastsp_1h && ev[1].tsp_1h == 120);
	site_engine_flush(e, 1000, on_notice, take_id, NULL);
	ck_assert_uint_ge(ngot, 1);
	ck_assert_ptr_nonnull(strstr(got[0].alerts[0].summary, "TSP 1h 900"));
	/* A restart keeps the TSP hours and the open hour's TSP. */
	site_engine_save(e);
	site_engine_free(e);
	e = engine(s);
	ck_assert_int_eq(site_engine_load(e), AQ_OK);
	ck_assert_int_eq(status(e, "s1"), SITE_RED);
	ck_assert_int_eq(site_engine_info(e, 0, 0, &si), AQ_OK);
	ck_assert(si.has_tsp && si.tsp_1h == 900);
	ck_assert_uint_eq(site_engine_changes(e, 0, ch, 4), 1);
	ck_assert(ch[0].e.hastsp_1h && ch[0].e.tsp_1h == 900);
	/* Two clean hours clear it; the first was open at the restart. */
	hourtsp(e, t0, 4, 50, 60, 120);
	ck_assert_int_eq(status(e, "s1"), SITE_RED);
	ck_assert_uint_eq(site_engine_hours(e, 0, hours, ev, 4), 4);
	ck_assert(ev[0].hastsp_1h && ev[0].tsp_1h == 120);
	hourtsp(e, t0, 5, 50, 60, 120);
	ck_assert_int_eq(status(e, "s1"), SITE_GREEN);
	site_engine_free(e);
	store_close(s);
}
END_TEST

START_TEST(config_errors_have_file_and_line)
{
	static const char *const bad =
	    "[site x1]\nkind = quarry\ncell = r009c009\nsensor = dust-1\n"
	    "receivers = nobody\nfrom = 2026-13-01\ncolour = red\n"
	    "[site x2]\nkind = yard\nlat = 10\nlon = 10\nsensor = amb\n"
	    "[site x3]\nkind = plant\ncell = r000c001\n"
	    "[sites]\ninspectors = insp ghost\n";
	struct site_def *defs = NULL;
	uint32_t n = 0;
	FILE *f;

	load(bad);
	ck_assert_ptr_nonnull(f = fmemopen(errs, sizeof(errs), "w"));
	ck_assert_int_eq(site_load(conf, &defs, &n, f), AQ_ERR_INVAL);
	fclose(f);
	ck_assert_ptr_null(defs);
	ck_assert_ptr_nonnull(
	    strstr(errs, "s.conf:34: kind: 'quarry' is not construction"));
	ck_assert_ptr_nonnull(strstr(errs, ":35: cell: no cell 'r009c009'"));
	ck_assert_ptr_nonnull(
	    strstr(errs, ":36: [site x1]: sensor dust-1 is already site s1"));
	ck_assert_ptr_nonnull(strstr(errs,
	    ":37: receivers: no [receiver "
	    "nobody]"));
	ck_assert_ptr_nonnull(strstr(errs, ":38: from: '2026-13-01'"));
	ck_assert_ptr_nonnull(strstr(errs, ":39: unknown key 'colour'"));
	ck_assert_ptr_nonnull(
	    strstr(errs, ":40: [site x2]: 10.000000 10.000000 is outside"));
	ck_assert_ptr_nonnull(
	    strstr(errs, ":44: [site x2]: sensor amb is also a [sensor]"));
	ck_assert_ptr_nonnull(strstr(errs, ":45: [site x3]: no sensor"));
	ck_assert_ptr_nonnull(
	    strstr(errs, ":49: inspectors: no [receiver ghost]"));
}
END_TEST

static Suite *
site_suite(void)
{
	Suite *s = suite_create("site");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, regional_haze_stays_below_red);
	tcase_add_test(tc, local_episode_red_then_clears_with_hysteresis);
	tcase_add_test(tc, sites_red_together_one_notice_per_receiver);
	tcase_add_test(tc, minimum_duration_to_enter);
	tcase_add_test(tc, background_wait_then_absolute_only);
	tcase_add_test(tc, blacklist_across_local_month_boundary);
	tcase_add_test(tc, state_survives_restart);
	tcase_add_test(tc, neighbours_median_background);
	tcase_add_test(tc, level_rules);
	tcase_add_test(tc, pm25_level_rules);
	tcase_add_test(tc, pm25_episode_red_with_pm10_green);
	tcase_add_test(tc, pm25_only_monitor_is_judged);
	tcase_add_test(tc, tsp_level_rules);
	tcase_add_test(tc, tsp_episode_red_with_pm10_green);
	tcase_add_test(tc, config_errors_have_file_and_line);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(site_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
