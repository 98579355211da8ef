/* check_store: the SQLite history store, in a fresh temporary directory. */
#include "daemon/store.h"

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/fix.h"

#define MSG_MAX 512

static char dir[64];
static char path[128];

static void setup(void);
static void teardown(void);
static struct store *open_ok(size_t cap);
static void make_hour(
    struct store_hour *h, const char *cell, int64_t hour, int seed);
static void assert_hour_eq(
    const struct store_hour *a, const struct store_hour *b);
static void assert_same(double a, double b);
static int count_rows(const char *table);
static bool corrupt_file_exists(void);
static void wait_drained(struct store *s);
static void put_hours(
    struct store *s, const char *cell, int64_t first, int count);

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check_store.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/aq.db", dir);
}

static void
teardown(void)
{
	char p[400];
	DIR *d;
	struct dirent *e;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

static struct store *
open_ok(size_t cap)
{
	struct store *s = NULL;
	char msg[MSG_MAX];

	ck_assert_int_eq(store_open(path, cap, &s, msg, sizeof(msg)), AQ_OK);
	ck_assert_str_eq(msg, "");
	ck_assert_ptr_nonnull(s);
	store_test_backoff(s, 10, 40);
	return s;
}

/* Values as the engine makes them (multiples of 0.001), some absent. */
static void
make_hour(struct store_hour *h, const char *cell, int64_t hour, int seed)
{
	memset(h, 0, sizeof(*h));
	snprintf(h->cell, sizeof(h->cell), "%s", cell);
	h->hour = hour;
	h->aqi = seed % 5 == 0 ? -1 : 20 + seed % 400;
	h->level = h->aqi < 0 ? 0 : 1 + seed % 6;
	h->primary = IND_BIT(IND_PM25_1H) | (uint32_t)(seed & 1) << IND_O3_8H;
	h->exceeds = seed % 3 == 0 ? IND_BIT(IND_PM10_24H) : 0;
	for (int i = 0; i < IND_AQI_COUNT; i++) {
		if ((seed + i) % 4 == 0)
			continue; /* absent: NULL */
		h->has |= IND_BIT(i);
		h->v[i] = (int64_t)((seed * 7919 + i * 104729) % 9999999) *
		    (FIX_ONE / 1000);
		h->n[i] = (uint8_t)((seed + i) % 25);
	}
	/* The weather as the engine keeps it (wx.h), a field absent now and
	 * then. */
	h->wx.temp = seed % 7 == 0 ? NAN : -12.34 + seed % 50;
	h->wx.rh = 40.01 + seed % 60;
	h->wx.pres = seed % 3 == 0 ? NAN : 990.1 + seed % 30;
	h->wx.rain = seed % 4 == 0 ? NAN : (seed % 9) * 0.13;
	h->wx.wspd = (seed % 12) * 0.37;
	h->wx.wdir = seed % 5 == 0 ? NAN : (seed * 22.5 - (seed / 16) * 360);
}

/* Equal doubles, or both NaN. */
static void
assert_same(double a, double b)
{
	if (isnan(a) || isnan(b))
		ck_assert(isnan(a) && isnan(b));
	else
		ck_assert(a == b);
}

static void
assert_hour_eq(const struct store_hour *a, const struct store_hour *b)
{
	ck_assert_str_eq(a->cell, b->cell);
	ck_assert_int_eq(a->hour, b->hour);
	ck_assert_int_eq(a->aqi, b->aqi);
	ck_assert_int_eq(a->level, b->level);
	ck_assert_uint_eq(a->primary, b->primary);
	ck_assert_uint_eq(a->exceeds, b->exceeds);
	ck_assert_uint_eq(a->has, b->has);
	for (int i = 0; i < IND_AQI_COUNT; i++) {
		if (a->has & IND_BIT(i))
			ck_assert_int_eq(a->v[i], b->v[i]);
		ck_assert_uint_eq(a->n[i], b->n[i]);
	}
	assert_same(a->wx.temp, b->wx.temp);
	assert_same(a->wx.rh, b->wx.rh);
	assert_same(a->wx.pres, b->wx.pres);
	assert_same(a->wx.rain, b->wx.rain);
	assert_same(a->wx.wspd, b->wx.wspd);
	assert_same(a->wx.wdir, b->wx.wdir);
}

static void
put_hours(struct store *s, const char *cell, int64_t first, int count)
{
	struct store_hour h;

	for (int i = 0; i < count; i++) {
		make_hour(&h, cell, first + 3600 * i, i);
		ck_assert_int_eq(store_put_hour(s, &h), AQ_OK);
	}
}

/* Rows of a table, through a connection of the test's own. */
static int
count_rows(const char *table)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char sql[128];
	int n;

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static bool
corrupt_file_exists(void)
{
	DIR *d;
	struct dirent *e;
	bool found = false;

	ck_assert_ptr_nonnull(d = opendir(dir));
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, "aq.db.corrupt-", 14) == 0 &&
		    strchr(e->d_name + 14, '-') == NULL)
			found = true;
	closedir(d);
	return found;
}

/* Polls (10 ms) until the writer has committed everything, up to 3 s. */
static void
wait_drained(struct store *s)
{
	const struct timespec tick = {0, 10000000};
	struct store_stats st;

	for (int i = 0; i < 300; i++) {
		store_stats(s, &st);
		if (st.queued == 0 && !st.degraded)
			return;
		nanosleep(&tick, NULL);
	}
	ck_abort_msg("store did not drain: %s", st.error);
}

START_TEST(schema_and_reopen)
{
	struct store *s = open_ok(16);
	struct store *s2 = NULL;
	sqlite3 *db;
	sqlite3_stmt *st;
	char msg[MSG_MAX];

	put_hours(s, "r001c001", 3600, 3);
	store_close(s);
	s = open_ok(16);
	store_close(s);
	ck_assert_int_eq(count_rows("hourly"), 3);
	ck_assert_int_eq(count_rows("daily"), 0);
	ck_assert_int_eq(count_rows("rec"), 0);
	ck_assert_int_eq(count_rows("log"), 0);

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(
	    sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	ck_assert_int_eq(
	    sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(st, 0), STORE_SCHEMA_VERSION);
	sqlite3_finalize(st);
	/* One column per non-annual indicator, and its count. */
	ck_assert_int_eq(
	    sqlite3_prepare_v2(db, "SELECT o3_8h, n_o3_8h, pm25_24h FROM daily",
		-1, &st, NULL),
	    SQLITE_OK);
	sqlite3_finalize(st);
	ck_assert_int_ne(sqlite3_prepare_v2(db,
			     "SELECT pm25_annual FROM hourly", -1, &st, NULL),
	    SQLITE_OK);
	/* A newer schema is refused and left as it is. */
	ck_assert_int_eq(
	    sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(
	    store_open(path, 16, &s2, msg, sizeof(msg)), AQ_ERR_INVAL);
	ck_assert_ptr_null(s2);
	ck_assert_ptr_nonnull(strstr(msg, "99"));
	ck_assert(!corrupt_file_exists());
	ck_assert_int_eq(count_rows("hourly"), 3);
}
END_TEST

/* A file of schema 2 (no weather columns) gets them: its rows read with no
 * weather, new rows keep theirs. */
START_TEST(schema_2_gains_weather)
{
	struct store *s = open_ok(16);
	struct store_hour h, out[4];
	sqlite3 *db;
	uint32_t n = 0;

	put_hours(s, "r001c001", 3600, 2);
	store_close(s);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db,
			     "ALTER TABLE hourly DROP COLUMN temp;"
			     "ALTER TABLE hourly DROP COLUMN rh;"
			     "ALTER TABLE hourly DROP COLUMN pres;"
			     "ALTER TABLE hourly DROP COLUMN rain;"
			     "ALTER TABLE hourly DROP COLUMN wspd;"
			     "ALTER TABLE hourly DROP COLUMN wdir;"
			     "PRAGMA user_version=2;",
			     NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	s = open_ok(16);
	make_hour(&h, "r001c001", 3 * 3600, 11);
	ck_assert_int_eq(store_put_hour(s, &h), AQ_OK);
	ck_assert_int_eq(store_flush(s), AQ_OK);
	ck_assert_int_eq(
	    store_history(s, "r001c001", 0, INT64_MAX, INT64_MIN, 4, out, &n),
	    AQ_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert(isnan(out[0].wx.temp) && isnan(out[1].wx.wdir));
	assert_hour_eq(&out[2], &h);
	store_close(s);
}
END_TEST

START_TEST(round_trip)
{
	struct store *s = open_ok(64);
	struct store_hour in[5], out[8];
	uint32_t n = 99;

	for (int i = 0; i < 5; i++)
		make_hour(&in[i], "r010c020", 1700000000 + 3600 * i, i);
	/* Edge values: zero, the smallest step, a large one; all absent. */
	in[1].v[IND_PM25_1H] = 0;
	in[1].v[IND_CO_1H] = FIX_ONE / 1000;
	in[1].v[IND_O3_8H] = INT64_C(987654321) * (FIX_ONE / 1000);
	in[1].has |=
	    IND_BIT(IND_PM25_1H) | IND_BIT(IND_CO_1H) | IND_BIT(IND_O3_8H);
	in[2].has = 0;
	ck_assert_int_eq(in[0].aqi, -1);
	for (int i = 4; i >= 0; i--)
		ck_assert_int_eq(store_put_hour(s, &in[i]), AQ_OK);
	/* Another cell's row must not show. */
	put_hours(s, "r010c021", 1700000000, 2);
	ck_assert_int_eq(store_flush(s), AQ_OK);
	ck_assert_int_eq(
	    store_history(s, "r010c020", 0, INT64_MAX, INT64_MIN, 8, out, &n),
	    AQ_OK);
	ck_assert_uint_eq(n, 5);
	for (int i = 0; i < 5; i++)
		assert_hour_eq(&out[i], &in[i]);
	ck_assert_int_eq(out[0].aqi, -1);
	ck_assert_int_eq(out[0].level, 0);
	ck_assert_uint_eq(out[2].has, 0);
	/* The range is inclusive at both ends. */
	ck_assert_int_eq(store_history(s, "r010c020", in[1].hour, in[3].hour,
			     INT64_MIN, 8, out, &n),
	    AQ_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(out[0].hour, in[1].hour);
	ck_assert_int_eq(
	    store_history(s, "nowhere", 0, INT64_MAX, INT64_MIN, 8, out, &n),
	    AQ_OK);
	ck_assert_uint_eq(n, 0);
	/* A cell id without its NUL is refused. */
	memset(in[0].cell, 'x', sizeof(in[0].cell));
	ck_assert_int_eq(store_put_hour(s, &in[0]), AQ_ERR_INVAL);
	store_close(s);
}
END_TEST

/* Every multiple of 0.001 the engine can make comes back exactly. */
START_TEST(fix_double_exact)
{
	int64_t back;

	for (int64_t k = 0; k < 2000000; k += 1) {
		int64_t v = k * 1000003 % 1000000000 * (FIX_ONE / 1000);

		ck_assert_int_eq(
		    fix_from_double(fix_to_double(v), &back), AQ_OK);
		if (back != v)
			ck_abort_msg("%lld came back as %lld", (long long)v,
			    (long long)back);
	}
}
END_TEST

START_TEST(replace_same_key)
{
	struct store *s = open_ok(16);
	struct store_hour h, out[2];
	uint32_t n;

	make_hour(&h, "r001c001", 7200, 1);
	ck_assert_int_eq(store_put_hour(s, &h), AQ_OK);
	ck_assert_int_eq(store_flush(s), AQ_OK);
	h.aqi = 321;
	h.level = 6;
	h.has &= ~IND_BIT(IND_PM25_1H);
	h.v[IND_NO2_1H] = 42 * FIX_ONE;
	h.has |= IND_BIT(IND_NO2_1H);
	ck_assert_int_eq(store_put_hour(s, &h), AQ_OK);
	ck_assert_int_eq(store_flush(s), AQ_OK);
	ck_assert_int_eq(
	    store_history(s, "r001c001", 0, INT64_MAX, INT64_MIN, 2, out, &n),
	    AQ_OK);
	ck_assert_uint_eq(n, 1);
	assert_hour_eq(&out[0], &h);
	store_close(s);
}
END_TEST

START_TEST(cursor_paging)
{
	struct store *s = open_ok(128);
	struct store_hour page[30];
	int64_t after = INT64_MIN, want = 3600;
	uint32_t n, pages = 0, total = 0;

	put_hours(s, "r002c002", 3600, 100);
	put_hours(s, "r002c003", 3600, 10);
	ck_assert_int_eq(store_flush(s), AQ_OK);
	do {
		ck_assert_int_eq(store_history(s, "r002c002", 0, INT64_MAX,
				     after, 30, page, &n),
		    AQ_OK);
		for (uint32_t i = 0; i < n; i++) {
			ck_assert_int_eq(page[i].hour, want);
			want += 3600;
		}
		if (n > 0)
			after = page[n - 1].hour;
		total += n;
		pages++;
	} while (n == 30);
	ck_assert_uint_eq(total, 100);
	ck_assert_uint_eq(pages, 4);
	store_close(s);
}
END_TEST

START_TEST(daily_rows)
{
	struct store *s = open_ok(16);
	struct store_day d, out[4];
	uint32_t n;

	for (int i = 0; i < 4; i++) {
		memset(&d, 0, sizeof(d));
		snprintf(d.cell, sizeof(d.cell), "r003c004");
		d.date = 20260301 + i;
		d.aqi = i == 2 ? -1 : 50 + i;
		d.level = i == 2 ? 0 : 2;
		d.primary = IND_BIT(IND_O3_8H);
		d.exceeds = IND_BIT(IND_PM25_24H);
		d.has = IND_BIT(IND_PM25_24H) | IND_BIT(IND_O3_8H);
		d.v[IND_PM25_24H] = (75 + i) * FIX_ONE + 125 * (FIX_ONE / 1000);
		d.v[IND_O3_8H] = 160 * FIX_ONE;
		d.n[IND_PM25_24H] = 24;
		d.n[IND_O3_8H] = 17;
		ck_assert_int_eq(store_put_day(s, &d), AQ_OK);
	}
	ck_assert_int_eq(store_flush(s), AQ_OK);
	ck_assert_int_eq(store_daily(s, "r003c004", 20260302, 20260304,
			     INT32_MIN, 2, out, &n),
	    AQ_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(out[0].date, 20260302);
	ck_assert_int_eq(out[0].v[IND_PM25_24H], 76125000000);
	ck_assert_int_eq(out[1].aqi, -1);
	ck_assert_int_eq(out[1].level, 0);
	ck_assert_uint_eq(out[1].has, d.has);
	ck_assert_uint_eq(out[1].n[IND_O3_8H], 17);
	ck_assert_uint_eq(out[1].exceeds, IND_BIT(IND_PM25_24H));
	ck_assert_int_eq(store_daily(s, "r003c004", 20260302, 20260304,
			     out[1].date, 2, out, &n),
	    AQ_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(out[0].date, 20260304);
	ck_assert_int_eq(out[0].aqi, 53);
	store_close(s);
}
END_TEST

/* Collects records or log entries as "key=value;" text. */
static int
collect_rec(void *ctx, const char *key, const void *value, size_t len)
{
	char *out = ctx;

	snprintf(out + strlen(out), 256 - strlen(out), "%s=%.*s;", key,
	    (int)len, (const char *)value);
	return strcmp(key, "stop") == 0 ? 7 : 0;
}

static int
collect_log(void *ctx, int64_t id, const void *value, size_t len)
{
	char *out = ctx;

	snprintf(out + strlen(out), 256 - strlen(out), "%lld:%.*s;",
	    (long long)id, (int)len, (const char *)value);
	return 0;
}

START_TEST(records_are_durable_at_once)
{
	struct store *s = open_ok(4);
	char buf[16], text[256] = "", longkey[STORE_KEY_MAX + 1];
	size_t len = 0;
	bool found = true;

	ck_assert_int_eq(store_rec_put(s, "alert", "b", "abc", 3), AQ_OK);
	ck_assert_int_eq(
	    store_rec_put(s, "alert", "a", "\0\1\2\3\4", 5), AQ_OK);
	ck_assert_int_eq(store_rec_put(s, "alert", "b", "defgh", 5), AQ_OK);
	ck_assert_int_eq(store_rec_put(s, "silence", "a", NULL, 0), AQ_OK);
	/* Committed before return: another connection sees them now. */
	ck_assert_int_eq(count_rows("rec"), 3);
	ck_assert_int_eq(
	    store_rec_get(s, "alert", "b", buf, sizeof(buf), &len, &found),
	    AQ_OK);
	ck_assert(found);
	ck_assert_uint_eq(len, 5);
	ck_assert_mem_eq(buf, "defgh", 5);
	ck_assert_int_eq(
	    store_rec_get(s, "silence", "a", buf, sizeof(buf), &len, &found),
	    AQ_OK);
	ck_assert(found);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(
	    store_rec_get(s, "alert", "a", buf, 4, &len, &found), AQ_ERR_RANGE);
	ck_assert_int_eq(
	    store_rec_get(s, "silence", "b", buf, sizeof(buf), &len, &found),
	    AQ_OK);
	ck_assert(!found);
	ck_assert_int_eq(store_rec_put(s, "alert", "c", "x", 1), AQ_OK);
	ck_assert_int_eq(store_rec_each(s, "alert", collect_rec, text), AQ_OK);
	/* "a" holds a NUL first: printed as empty text. */
	ck_assert_str_eq(text, "a=;b=defgh;c=x;");
	ck_assert_int_eq(store_rec_del(s, "alert", "a"), AQ_OK);
	ck_assert_int_eq(store_rec_del(s, "alert", "none"), AQ_OK);
	ck_assert_int_eq(store_rec_put(s, "alert", "stop", "!", 1), AQ_OK);
	text[0] = '\0';
	/* A callback's non-zero ends the walk and is returned. */
	ck_assert_int_eq(store_rec_each(s, "alert", collect_rec, text), 7);
	ck_assert_str_eq(text, "b=defgh;c=x;stop=!;");
	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	ck_assert_int_eq(
	    store_rec_put(s, "alert", longkey, "x", 1), AQ_ERR_INVAL);
	ck_assert_int_eq(store_rec_put(s, "", "k", "x", 1), AQ_ERR_INVAL);
	ck_assert_int_eq(
	    store_rec_put(s, "alert", "big", buf, STORE_VALUE_MAX + 1),
	    AQ_ERR_INVAL);
	store_close(s);
	s = open_ok(4);
	ck_assert_int_eq(
	    store_rec_get(s, "alert", "c", buf, sizeof(buf), &len, &found),
	    AQ_OK);
	ck_assert(found);
	ck_assert_mem_eq(buf, "x", 1);
	store_close(s);
}
END_TEST

START_TEST(log_reads_by_cursor)
{
	struct store *s = open_ok(4);
	char text[256] = "";
	int64_t id[4];

	ck_assert_int_eq(
	    store_log_append(s, "alertlog", "one", 3, &id[0]), AQ_OK);
	ck_assert_int_eq(
	    store_log_append(s, "attempts", "x", 1, &id[1]), AQ_OK);
	ck_assert_int_eq(
	    store_log_append(s, "alertlog", "two", 3, &id[2]), AQ_OK);
	ck_assert_int_eq(
	    store_log_append(s, "alertlog", "three", 5, &id[3]), AQ_OK);
	ck_assert(id[0] < id[1] && id[1] < id[2] && id[2] < id[3]);
	ck_assert_int_eq(
	    store_log_read(s, "alertlog", id[0], 1, collect_log, text), AQ_OK);
	snprintf(text + 128, 128, "%lld:two;", (long long)id[2]);
	ck_assert_str_eq(text, text + 128);
	text[0] = '\0';
	ck_assert_int_eq(store_log_prune(s, "alertlog", id[3]), AQ_OK);
	ck_assert_int_eq(
	    store_log_read(s, "alertlog", 0, 100, collect_log, text), AQ_OK);
	snprintf(text + 128, 128, "%lld:three;", (long long)id[3]);
	ck_assert_str_eq(text, text + 128);
	store_close(s);
	/* Ids keep growing after a restart, even past pruned ones. */
	s = open_ok(4);
	ck_assert_int_eq(store_log_prune(s, "alertlog", INT64_MAX), AQ_OK);
	ck_assert_int_eq(
	    store_log_append(s, "alertlog", "four", 4, &id[0]), AQ_OK);
	ck_assert(id[0] > id[3]);
	store_close(s);
}
END_TEST

START_TEST(records_fail_loudly_when_full)
{
	struct store *s = open_ok(4);
	static char big[200000];
	char buf[8];
	size_t len;
	bool found = true;

	store_test_limit_pages(s, 1);
	ck_assert_int_eq(
	    store_rec_put(s, "outbox", "n1", big, sizeof(big)), AQ_ERR_IO);
	ck_assert_int_eq(
	    store_rec_get(s, "outbox", "n1", buf, sizeof(buf), &len, &found),
	    AQ_OK);
	ck_assert(!found);
	store_test_limit_pages(s, 0);
	ck_assert_int_eq(
	    store_rec_put(s, "outbox", "n1", big, sizeof(big)), AQ_OK);
	store_close(s);
}
END_TEST

START_TEST(prune_old_rows)
{
	struct store *s = open_ok(32);
	struct store_day d;
	struct store_hour out[16];
	uint32_t n;

	put_hours(s, "r004c004", 3600, 10);
	memset(&d, 0, sizeof(d));
	snprintf(d.cell, sizeof(d.cell), "r004c004");
	for (int i = 0; i < 5; i++) {
		d.date = 20260101 + i;
		ck_assert_int_eq(store_put_day(s, &d), AQ_OK);
	}
	ck_assert_int_eq(store_flush(s), AQ_OK);
	ck_assert_int_eq(store_prune(s, 6 * 3600, 20260104), AQ_OK);
	ck_assert_int_eq(
	    store_history(s, "r004c004", 0, INT64_MAX, INT64_MIN, 16, out, &n),
	    AQ_OK);
	ck_assert_uint_eq(n, 5);
	ck_assert_int_eq(out[0].hour, 6 * 3600);
	store_close(s);
	ck_assert_int_eq(count_rows("daily"), 2);
}
END_TEST

/*
 * Capacity 4 while another connection holds the write lock: the writer
 * waits in its busy handler with its batch still queued, so exactly 4
 * puts of 10 are accepted; released, all 4 are committed.
 */
START_TEST(queue_full_drops)
{
	struct store *s = open_ok(4);
	struct store_stats st;
	struct store_hour h, out[16];
	sqlite3 *db;
	uint32_t n;
	int ok = 0, full = 0, rc;

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(
	    sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	for (int i = 0; i < 10; i++) {
		make_hour(&h, "r005c005", 3600 * (i + 1), i);
		rc = store_put_hour(s, &h);
		ck_assert(rc == AQ_OK || rc == AQ_ERR_FULL);
		if (rc == AQ_OK)
			ok++;
		else
			full++;
	}
	ck_assert_int_eq(ok, 4);
	ck_assert_int_eq(full, 6);
	store_stats(s, &st);
	ck_assert_uint_eq(st.dropped, 6);
	ck_assert_uint_eq(st.queued, 4);
	ck_assert_uint_eq(st.capacity, 4);
	ck_assert_int_eq(
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(store_flush(s), AQ_OK);
	ck_assert_int_eq(
	    store_history(s, "r005c005", 0, INT64_MAX, INT64_MIN, 16, out, &n),
	    AQ_OK);
	ck_assert_uint_eq(n, 4);
	for (uint32_t i = 0; i < n; i++)
		ck_assert_int_eq(out[i].hour, 3600 * (int64_t)(i + 1));
	store_stats(s, &st);
	ck_assert_uint_eq(st.committed, 4);
	ck_assert_uint_eq(st.queued, 0);
	ck_assert_uint_eq(st.dropped, 6);
	store_close(s);
}
END_TEST

static void
recovers(void)
{
	struct store *s = NULL;
	struct store_hour out[4];
	char msg[MSG_MAX];
	uint32_t n;

	ck_assert_int_eq(store_open(path, 8, &s, msg, sizeof(msg)), AQ_OK);
	ck_assert_ptr_nonnull(strstr(msg, ".corrupt-"));
	ck_assert_ptr_null(strchr(msg, '\n'));
	ck_assert(corrupt_file_exists());
	put_hours(s, "r006c006", 3600, 2);
	ck_assert_int_eq(store_flush(s), AQ_OK);
	ck_assert_int_eq(
	    store_history(s, "r006c006", 0, INT64_MAX, INT64_MIN, 4, out, &n),
	    AQ_OK);
	ck_assert_uint_eq(n, 2);
	store_close(s);
	/* The fresh file opens cleanly again. */
	store_close(open_ok(8));
}

START_TEST(corrupt_garbage)
{
	char junk[8192], wal[160];
	FILE *f;

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 131 + 7);
	ck_assert_ptr_nonnull(f = fopen(path, "wb"));
	ck_assert_uint_eq(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
	fclose(f);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	ck_assert_ptr_nonnull(f = fopen(wal, "wb"));
	ck_assert_uint_eq(fwrite(junk, 1, 100, f), 100);
	fclose(f);
	recovers();
	ck_assert_int_eq(access(wal, F_OK), -1);
}
END_TEST

START_TEST(corrupt_truncated)
{
	struct store *s = open_ok(512);
	struct stat sb;

	put_hours(s, "r007c007", 3600, 400);
	store_close(s);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_gt(sb.st_size, 8 * 4096);
	ck_assert_int_eq(truncate(path, sb.st_size / 2 + 100), 0);
	recovers();
}
END_TEST

/*
 * A full disk (max_page_count): puts queue, commits fail and the store is
 * degraded; at the bound puts are refused; once there is room again the
 * retry commits every accepted row.
 */
START_TEST(disk_full_retry)
{
	struct store *s = open_ok(64);
	struct store_stats st;
	struct store_hour h, out[128];
	uint32_t n;
	int accepted;

	put_hours(s, "r008c008", 3600, 1);
	ck_assert_int_eq(store_flush(s), AQ_OK);
	store_test_limit_pages(s, 1);
	/* The first rows may still fit the last page; 50 cannot. */
	for (accepted = 1; accepted < 50; accepted++) {
		make_hour(&h, "r008c008", 3600 * (accepted + 1), accepted);
		ck_assert_int_eq(store_put_hour(s, &h), AQ_OK);
	}
	ck_assert_int_eq(store_flush(s), AQ_ERR_IO);
	store_stats(s, &st);
	ck_assert(st.degraded);
	ck_assert_ptr_nonnull(strstr(st.error, "full"));
	ck_assert_uint_ge(st.failed, 1);
	ck_assert_uint_gt(st.queued, 0);
	ck_assert_uint_eq(st.committed + st.queued, 50);
	/* Degraded, puts still queue up to the bound, then are refused. */
	for (;;) {
		ck_assert_int_lt(accepted, 200);
		make_hour(&h, "r008c008", 3600 * (accepted + 1), accepted);
		if (store_put_hour(s, &h) != AQ_OK)
			break;
		accepted++;
	}
	ck_assert_int_eq(store_flush(s), AQ_ERR_IO);
	store_stats(s, &st);
	ck_assert_uint_eq(st.queued, 64);
	ck_assert_uint_eq(st.dropped, 1);
	ck_assert_uint_eq(st.committed + st.queued, (uint64_t)accepted);

	store_test_limit_pages(s, 0);
	wait_drained(s);
	store_stats(s, &st);
	ck_assert(!st.degraded);
	ck_assert_uint_eq(st.committed, (uint64_t)accepted);
	ck_assert_ptr_nonnull(strstr(st.error, "full")); /* kept */
	ck_assert_int_eq(
	    store_history(s, "r008c008", 0, INT64_MAX, INT64_MIN, 128, out, &n),
	    AQ_OK);
	ck_assert_uint_eq(n, (uint32_t)accepted);
	for (uint32_t i = 0; i < n; i++) {
		make_hour(&h, "r008c008", 3600 * (int64_t)(i + 1), (int)i);
		assert_hour_eq(&out[i], &h);
	}
	store_close(s);
}
END_TEST

START_TEST(bad_arguments)
{
	struct store *s = NULL;
	char msg[MSG_MAX], bad[160];

	ck_assert_int_eq(
	    store_open(path, 0, &s, msg, sizeof(msg)), AQ_ERR_INVAL);
	snprintf(bad, sizeof(bad), "%s/no/such/dir/aq.db", dir);
	ck_assert_int_eq(store_open(bad, 4, &s, msg, sizeof(msg)), AQ_ERR_IO);
	ck_assert_str_ne(msg, "");
	ck_assert_ptr_null(s);
	store_close(NULL);
}
END_TEST

static Suite *
store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, schema_and_reopen);
	tcase_add_test(tc, schema_2_gains_weather);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, fix_double_exact);
	tcase_add_test(tc, replace_same_key);
	tcase_add_test(tc, cursor_paging);
	tcase_add_test(tc, daily_rows);
	tcase_add_test(tc, records_are_durable_at_once);
	tcase_add_test(tc, log_reads_by_cursor);
	tcase_add_test(tc, records_fail_loudly_when_full);
	tcase_add_test(tc, prune_old_rows);
	tcase_add_test(tc, queue_full_drops);
	tcase_add_test(tc, corrupt_garbage);
	tcase_add_test(tc, corrupt_truncated);
	tcase_add_test(tc, disk_full_retry);
	tcase_add_test(tc, bad_arguments);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(store_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
