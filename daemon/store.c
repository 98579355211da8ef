/* store: history in SQLite, written by a thread from a bounded queue. */
#include "daemon/store.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/fix.h"

/* Indicators with a column: the annual ones are not per-hour statistics. */
#define NCOLS IND_AQI_COUNT
/* The hourly rows' weather columns (struct wx_hour's fields, in order). */
#define WX_COLS ", temp, rh, pres, rain, wspd, wdir"
#define WX_DECL                                                                \
	", temp REAL, rh REAL, pres REAL, rain REAL, wspd REAL, wdir REAL"
#define NWX 6
#define BUSY_MS 5000
#define SQL_MAX 2048
#define PATH_BUF 4200
/* What SQLite 3.40 starts with; "lifting" the test limit restores it. */
#define PAGES_UNLIMITED 1073741823

enum rec_kind { REC_HOUR, REC_DAY };

struct rec {
	enum rec_kind kind;
	union {
		struct store_hour h;
		struct store_day d;
	} u;
};

struct store {
	/* The writer thread's connection and statements. */
	sqlite3 *wdb;
	sqlite3_stmt *ins_hour, *ins_day;
	/* The readers' connection, under rlock; records and logs are written
	 * on it too, in the caller's thread. */
	pthread_mutex_t rlock;
	sqlite3 *rdb;
	sqlite3_stmt *sel_hour, *sel_day, *scan_day, *del_hour, *del_day;
	sqlite3_stmt *rec_put, *rec_del, *rec_get, *rec_each;
	sqlite3_stmt *log_put, *log_read, *log_prune;

	/* Everything below is under lock. */
	pthread_mutex_t lock;
	pthread_cond_t work; /* rows queued, or stop */
	pthread_cond_t ctl;  /* stop or a test hook: ends a backoff wait */
	pthread_cond_t done; /* a commit attempt ended */
	struct rec *ring;
	size_t cap, head, count;
	uint64_t seq;           /* rows accepted so far */
	uint64_t committed_seq; /* of those, committed */
	uint64_t fail_gen;      /* commit failures so far */
	bool stop;
	int test_pages; /* > 0: a max_page_count to apply; 0 none */
	uint32_t backoff_first_ms, backoff_max_ms;
	struct store_stats st;
	/* Daily rows changed since store_daily_dirty() last asked: the
	 * earliest date committed (INT32_MAX: none), and rows deleted
	 * before this date (INT32_MIN: none). */
	int32_t day_changed, day_pruned;

	bool sync_ok, thread_ok;
	pthread_t writer;
};

static int check_file(const char *path, char *why, size_t len);
static int move_aside(const char *path, char *dest, size_t len);
static int open_db(const char *path, sqlite3 **out, char *msg, size_t msglen);
static int create_schema(sqlite3 *db, char *msg, size_t msglen);
static int prepare_all(struct store *s, char *msg, size_t msglen);
static void columns(char *buf, size_t len, bool decl);
static int sync_init(struct store *s);
static void destroy(struct store *s);
static void *writer_main(void *arg);
static int commit_batch(struct store *s, size_t n, char *err, size_t errlen);
static int bind_rec(sqlite3_stmt *st, const struct rec *r);
static int hour_row(sqlite3_stmt *st, void *out, uint32_t i, const char *cell);
static int day_row(sqlite3_stmt *st, void *out, uint32_t i, const char *cell);
static int select_rows(struct store *s, sqlite3_stmt *st, const char *cell,
    int64_t from, int64_t to, int64_t after, uint32_t limit, void *out,
    uint32_t *n, int (*row)(sqlite3_stmt *, void *, uint32_t, const char *));
static int read_stats(sqlite3_stmt *st, int first, int *aqi, int *level,
    uint32_t *primary, uint32_t *exceeds, uint32_t *has, int64_t *v,
    uint8_t *n);
static int apply_pages(sqlite3 *db, int pages);
static void wx_columns(sqlite3_stmt *st, int first, struct wx_hour *out);
static double wx_get(const struct wx_hour *w, int k);
static void deadline_after(struct timespec *ts, uint32_t ms);
static int enqueue(struct store *s, const struct rec *r);
static bool cell_ok(const char *cell);
static bool key_ok(const char *key);
static int step_done(struct store *s, sqlite3_stmt *st);

int
store_open(const char *path, size_t queue_capacity, struct store **out,
    char *msg, size_t msglen)
{
	struct store *s = NULL;
	char why[256], dest[PATH_BUF];
	int rc = AQ_ERR_INVAL;

	if (msglen > 0)
		msg[0] = '\0';
	if (path == NULL || *path == '\0' || out == NULL ||
	    queue_capacity == 0 ||
	    queue_capacity > SIZE_MAX / 2 / sizeof(struct rec)) {
		snprintf(msg, msglen, "bad arguments");
		goto out;
	}
	if ((rc = check_file(path, why, sizeof(why))) == AQ_ERR_RANGE) {
		/* Corrupt: keep it for a post-mortem, start empty. */
		if ((rc = move_aside(path, dest, sizeof(dest))) != AQ_OK) {
			snprintf(msg, msglen,
			    "%s: %s; cannot move it aside: %s", path, why,
			    strerror(errno));
			goto out;
		}
		snprintf(msg, msglen,
		    "%s: %s; moved aside to %s, starting an empty database",
		    path, why, dest);
	} else if (rc != AQ_OK) {
		snprintf(msg, msglen, "%s: %s", path, why);
		goto out;
	}

	rc = AQ_ERR_NOMEM;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto out;
	s->cap = queue_capacity;
	s->st.capacity = queue_capacity;
	s->backoff_first_ms = STORE_BACKOFF_FIRST_MS;
	s->day_changed = INT32_MAX;
	s->day_pruned = INT32_MIN;
	s->backoff_max_ms = STORE_BACKOFF_MAX_MS;
	if ((s->ring = calloc(queue_capacity, sizeof(*s->ring))) == NULL)
		goto out;
	if ((rc = sync_init(s)) != AQ_OK)
		goto out;
	/* The recovery text, if any, goes first; errors replace it. */
	if ((rc = open_db(path, &s->wdb, msg, msglen)) != AQ_OK ||
	    (rc = create_schema(s->wdb, msg, msglen)) != AQ_OK ||
	    (rc = open_db(path, &s->rdb, msg, msglen)) != AQ_OK ||
	    (rc = prepare_all(s, msg, msglen)) != AQ_OK)
		goto out;
	if (pthread_create(&s->writer, NULL, writer_main, s) != 0) {
		snprintf(msg, msglen, "cannot start the writer thread");
		rc = AQ_ERR_NOMEM;
		goto out;
	}
	s->thread_ok = true;
	*out = s;
	s = NULL;
	rc = AQ_OK;
out:
	destroy(s);
	return rc;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_broadcast(&s->work);
	pthread_cond_broadcast(&s->ctl);
	pthread_mutex_unlock(&s->lock);
	destroy(s);
}

int
store_put_hour(struct store *s, const struct store_hour *h)
{
	struct rec r;

	if (h == NULL || !cell_ok(h->cell))
		return AQ_ERR_INVAL;
	r.kind = REC_HOUR;
	r.u.h = *h;
	return enqueue(s, &r);
}

int
store_put_day(struct store *s, const struct store_day *d)
{
	struct rec r;

	if (d == NULL || !cell_ok(d->cell))
		return AQ_ERR_INVAL;
	r.kind = REC_DAY;
	r.u.d = *d;
	return enqueue(s, &r);
}

int
store_flush(struct store *s)
{
	uint64_t target, gen;
	int rc = AQ_OK;

	pthread_mutex_lock(&s->lock);
	target = s->seq;
	gen = s->fail_gen;
	if (s->st.degraded && s->committed_seq < target) {
		rc = AQ_ERR_IO;
		goto out;
	}
	while (s->committed_seq < target && s->fail_gen == gen && !s->stop)
		pthread_cond_wait(&s->done, &s->lock);
	if (s->committed_seq < target)
		rc = AQ_ERR_IO;
out:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void
store_stats(struct store *s, struct store_stats *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->st;
	out->queued = s->count;
	pthread_mutex_unlock(&s->lock);
}

/* Row i of a store_hour or store_day array, from a selected row. */
static int
hour_row(sqlite3_stmt *st, void *out, uint32_t i, const char *cell)
{
	struct store_hour *h = (struct store_hour *)out + i;

	memset(h, 0, sizeof(*h));
	strcpy(h->cell, cell); /* cell_ok() bounded it */
	h->hour = sqlite3_column_int64(st, 0);
	wx_columns(st, 5 + 2 * NCOLS, &h->wx);
	return read_stats(st, 1, &h->aqi, &h->level, &h->primary, &h->exceeds,
	    &h->has, h->v, h->n);
}

static int
day_row(sqlite3_stmt *st, void *out, uint32_t i, const char *cell)
{
	struct store_day *d = (struct store_day *)out + i;

	memset(d, 0, sizeof(*d));
	strcpy(d->cell, cell);
	d->date = sqlite3_column_int(st, 0);
	return read_stats(st, 1, &d->aqi, &d->level, &d->primary, &d->exceeds,
	    &d->has, d->v, d->n);
}

/* The rows of cell with from <= key <= to and key > after, in key order,
 * at most limit, each placed by row(). */
static int
select_rows(struct store *s, sqlite3_stmt *st, const char *cell, int64_t from,
    int64_t to, int64_t after, uint32_t limit, void *out, uint32_t *n,
    int (*row)(sqlite3_stmt *, void *, uint32_t, const char *))
{
	uint32_t got = 0;
	int rc = AQ_ERR_INVAL, src = SQLITE_DONE;

	if (cell == NULL || !cell_ok(cell) || n == NULL ||
	    (out == NULL && limit > 0))
		return rc;
	pthread_mutex_lock(&s->rlock);
	rc = AQ_ERR_IO;
	if (sqlite3_bind_text(st, 1, cell, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, from) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, to) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 4, after) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 5, limit) != SQLITE_OK)
		goto out;
	while (got < limit && (src = sqlite3_step(st)) == SQLITE_ROW) {
		if (row(st, out, got, cell) != AQ_OK)
			goto out;
		got++;
	}
	if (got < limit && src != SQLITE_DONE)
		goto out;
	*n = got;
	rc = AQ_OK;
out:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&s->rlock);
	return rc;
}

int
store_history(struct store *s, const char *cell, int64_t from, int64_t to,
    int64_t after, uint32_t limit, struct store_hour *out, uint32_t *n)
{
	return select_rows(
	    s, s->sel_hour, cell, from, to, after, limit, out, n, hour_row);
}

int
store_daily(struct store *s, const char *cell, int32_t from, int32_t to,
    int32_t after, uint32_t limit, struct store_day *out, uint32_t *n)
{
	return select_rows(
	    s, s->sel_day, cell, from, to, after, limit, out, n, day_row);
}

int
store_daily_scan(
    struct store *s, int32_t from, int32_t to, store_day_fn fn, void *ctx)
{
	sqlite3_stmt *st = s->scan_day;
	struct store_day d;
	int rc = AQ_ERR_IO, src;

	if (fn == NULL)
		return AQ_ERR_INVAL;
	pthread_mutex_lock(&s->rlock);
	if (sqlite3_bind_int(st, 1, from) != SQLITE_OK ||
	    sqlite3_bind_int(st, 2, to) != SQLITE_OK)
		goto out;
	memset(&d, 0, sizeof(d));
	d.aqi = -1;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *cell = sqlite3_column_text(st, 0);
		int stop;

		if (cell == NULL || !cell_ok((const char *)cell))
			continue;
		strcpy(d.cell, (const char *)cell); /* cell_ok() bounded it */
		d.date = sqlite3_column_int(st, 1);
		d.has = 0;
		for (int i = 0; i < NCOLS; i++) {
			if (sqlite3_column_type(st, 2 + i) == SQLITE_NULL)
				continue;
			if (fix_from_double(sqlite3_column_double(st, 2 + i),
				&d.v[i]) != AQ_OK)
				goto out;
			d.has |= IND_BIT(i);
		}
		if ((stop = fn(ctx, &d)) != 0) {
			rc = stop;
			goto out;
		}
	}
	if (src == SQLITE_DONE)
		rc = AQ_OK;
out:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&s->rlock);
	return rc;
}

int
store_rec_put(struct store *s, const char *ns, const char *key,
    const void *value, size_t len)
{
	sqlite3_stmt *st = s->rec_put;
	int rc;

	if (!key_ok(ns) || !key_ok(key) || (value == NULL && len > 0) ||
	    len > STORE_VALUE_MAX)
		return AQ_ERR_INVAL;
	pthread_mutex_lock(&s->rlock);
	rc = sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC) == SQLITE_OK &&
		sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC) == SQLITE_OK &&
		sqlite3_bind_blob(st, 3, len > 0 ? value : "", (int)len,
		    SQLITE_STATIC) == SQLITE_OK
	    ? step_done(s, st)
	    : AQ_ERR_IO;
	pthread_mutex_unlock(&s->rlock);
	return rc;
}

int
store_rec_del(struct store *s, const char *ns, const char *key)
{
	sqlite3_stmt *st = s->rec_del;
	int rc;

	if (!key_ok(ns) || !key_ok(key))
		return AQ_ERR_INVAL;
	pthread_mutex_lock(&s->rlock);
	rc = sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC) == SQLITE_OK &&
		sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC) == SQLITE_OK
	    ? step_done(s, st)
	    : AQ_ERR_IO;
	pthread_mutex_unlock(&s->rlock);
	return rc;
}

int
store_rec_get(struct store *s, const char *ns, const char *key, void *buf,
    size_t cap, size_t *len, bool *found)
{
	sqlite3_stmt *st = s->rec_get;
	size_t size;
	int rc = AQ_ERR_INVAL, src;

	if (!key_ok(ns) || !key_ok(key) || len == NULL || found == NULL ||
	    (buf == NULL && cap > 0))
		return rc;
	pthread_mutex_lock(&s->rlock);
	rc = AQ_ERR_IO;
	if (sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC) != SQLITE_OK)
		goto out;
	if ((src = sqlite3_step(st)) == SQLITE_DONE) {
		*found = false;
		rc = AQ_OK;
		goto out;
	}
	if (src != SQLITE_ROW)
		goto out;
	size = (size_t)sqlite3_column_bytes(st, 0);
	if (size > cap) {
		rc = AQ_ERR_RANGE;
		goto out;
	}
	if (size > 0)
		memcpy(buf, sqlite3_column_blob(st, 0), size);
	*len = size;
	*found = true;
	rc = AQ_OK;
out:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&s->rlock);
	return rc;
}

int
store_rec_each(struct store *s, const char *ns, store_rec_fn fn, void *ctx)
{
	sqlite3_stmt *st = s->rec_each;
	int rc = AQ_ERR_INVAL, src = SQLITE_DONE;

	if (!key_ok(ns) || fn == NULL)
		return rc;
	pthread_mutex_lock(&s->rlock);
	rc = AQ_ERR_IO;
	if (sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC) != SQLITE_OK)
		goto out;
	rc = AQ_OK;
	while (rc == AQ_OK && (src = sqlite3_step(st)) == SQLITE_ROW)
		rc = fn(ctx, (const char *)sqlite3_column_text(st, 0),
		    sqlite3_column_blob(st, 1),
		    (size_t)sqlite3_column_bytes(st, 1));
	if (rc == AQ_OK && src != SQLITE_DONE)
		rc = AQ_ERR_IO;
out:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&s->rlock);
	return rc;
}

int
store_log_append(
    struct store *s, const char *ns, const void *value, size_t len, int64_t *id)
{
	sqlite3_stmt *st = s->log_put;
	int rc;

	if (!key_ok(ns) || (value == NULL && len > 0) || len > STORE_VALUE_MAX)
		return AQ_ERR_INVAL;
	pthread_mutex_lock(&s->rlock);
	rc = sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC) == SQLITE_OK &&
		sqlite3_bind_blob(st, 2, len > 0 ? value : "", (int)len,
		    SQLITE_STATIC) == SQLITE_OK
	    ? step_done(s, st)
	    : AQ_ERR_IO;
	if (rc == AQ_OK && id != NULL)
		*id = sqlite3_last_insert_rowid(s->rdb);
	pthread_mutex_unlock(&s->rlock);
	return rc;
}

int
store_log_read(struct store *s, const char *ns, int64_t after, uint32_t limit,
    store_log_fn fn, void *ctx)
{
	sqlite3_stmt *st = s->log_read;
	int rc = AQ_ERR_INVAL, src = SQLITE_DONE;

	if (!key_ok(ns) || fn == NULL)
		return rc;
	pthread_mutex_lock(&s->rlock);
	rc = AQ_ERR_IO;
	if (sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, after) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, limit) != SQLITE_OK)
		goto out;
	rc = AQ_OK;
	while (rc == AQ_OK && (src = sqlite3_step(st)) == SQLITE_ROW)
		rc = fn(ctx, sqlite3_column_int64(st, 0),
		    sqlite3_column_blob(st, 1),
		    (size_t)sqlite3_column_bytes(st, 1));
	if (rc == AQ_OK && src != SQLITE_DONE)
		rc = AQ_ERR_IO;
out:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&s->rlock);
	return rc;
}

int
store_log_prune(struct store *s, const char *ns, int64_t before)
{
	sqlite3_stmt *st = s->log_prune;
	int rc;

	if (!key_ok(ns))
		return AQ_ERR_INVAL;
	pthread_mutex_lock(&s->rlock);
	rc = sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC) == SQLITE_OK &&
		sqlite3_bind_int64(st, 2, before) == SQLITE_OK
	    ? step_done(s, st)
	    : AQ_ERR_IO;
	pthread_mutex_unlock(&s->rlock);
	return rc;
}

int
store_prune(struct store *s, int64_t hourly_before, int32_t daily_before)
{
	int rc = AQ_ERR_IO;

	pthread_mutex_lock(&s->rlock);
	if (sqlite3_bind_int64(s->del_hour, 1, hourly_before) != SQLITE_OK ||
	    sqlite3_bind_int(s->del_day, 1, daily_before) != SQLITE_OK)
		goto out;
	/* Two autocommit statements: a half-done prune is still correct. */
	if (sqlite3_step(s->del_hour) != SQLITE_DONE ||
	    sqlite3_step(s->del_day) != SQLITE_DONE)
		goto out;
	if (sqlite3_changes(s->rdb) > 0) {
		pthread_mutex_lock(&s->lock);
		if (daily_before > s->day_pruned)
			s->day_pruned = daily_before;
		pthread_mutex_unlock(&s->lock);
	}
	rc = AQ_OK;
out:
	sqlite3_reset(s->del_hour);
	sqlite3_reset(s->del_day);
	pthread_mutex_unlock(&s->rlock);
	return rc;
}

void
store_daily_dirty(
    struct store *s, int32_t *changed_from, int32_t *pruned_before)
{
	pthread_mutex_lock(&s->lock);
	*changed_from = s->day_changed;
	*pruned_before = s->day_pruned;
	s->day_changed = INT32_MAX;
	s->day_pruned = INT32_MIN;
	pthread_mutex_unlock(&s->lock);
}

void
store_test_limit_pages(struct store *s, int pages)
{
	/* Records are written on the readers' connection: limit it now. */
	pthread_mutex_lock(&s->rlock);
	(void)apply_pages(s->rdb, pages > 0 ? pages : PAGES_UNLIMITED);
	pthread_mutex_unlock(&s->rlock);
	pthread_mutex_lock(&s->lock);
	s->test_pages = pages > 0 ? pages : PAGES_UNLIMITED;
	pthread_cond_broadcast(&s->work);
	pthread_cond_broadcast(&s->ctl);
	pthread_mutex_unlock(&s->lock);
}

void
store_test_backoff(struct store *s, uint32_t first_ms, uint32_t max_ms)
{
	pthread_mutex_lock(&s->lock);
	s->backoff_first_ms = first_ms > 0 ? first_ms : 1;
	s->backoff_max_ms = max_ms > first_ms ? max_ms : first_ms;
	pthread_mutex_unlock(&s->lock);
}

/*
 * AQ_OK when path is absent, empty or a sound database; AQ_ERR_RANGE when
 * it is not a database or is corrupt; AQ_ERR_IO when it cannot be judged
 * (permissions, locked): such a file is left alone.
 */
static int
check_file(const char *path, char *why, size_t len)
{
	struct stat sb;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	const unsigned char *res;
	int rc = AQ_ERR_IO, src;

	if (stat(path, &sb) == -1) {
		if (errno == ENOENT)
			rc = AQ_OK;
		else
			snprintf(why, len, "%s", strerror(errno));
		goto out;
	}
	if (sb.st_size == 0) {
		rc = AQ_OK;
		goto out;
	}
	if ((src = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL)) !=
	    SQLITE_OK) {
		snprintf(why, len, "%s", sqlite3_errstr(src));
		goto out;
	}
	sqlite3_busy_timeout(db, BUSY_MS);
	if ((src = sqlite3_prepare_v2(
		 db, "PRAGMA quick_check(1)", -1, &st, NULL)) == SQLITE_OK)
		src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		res = sqlite3_column_text(st, 0);
		if (res != NULL && strcmp((const char *)res, "ok") == 0) {
			rc = AQ_OK;
			goto out;
		}
		snprintf(why, len, "corrupt (quick_check: %s)",
		    res != NULL ? (const char *)res : "?");
		/* One line: the check's text may hold newlines. */
		why[strcspn(why, "\n")] = '\0';
		rc = AQ_ERR_RANGE;
		goto out;
	}
	snprintf(why, len, "%s", sqlite3_errmsg(db));
	if ((src & 0xff) == SQLITE_NOTADB || (src & 0xff) == SQLITE_CORRUPT)
		rc = AQ_ERR_RANGE;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

/* Renames path, path-wal and path-shm to dest ("<path>.corrupt-<time>",
 * with ".N" if taken) and its -wal, -shm. */
static int
move_aside(const char *path, char *dest, size_t len)
{
	static const char *const sfx[] = {"-wal", "-shm"};
	char from[PATH_BUF], to[PATH_BUF];
	long long now = (long long)time(NULL);
	int rc = AQ_ERR_IO, w;

	for (int i = 0; i < 100; i++) {
		if (i == 0)
			w = snprintf(dest, len, "%s.corrupt-%lld", path, now);
		else
			w = snprintf(
			    dest, len, "%s.corrupt-%lld.%d", path, now, i);
		if (w < 0 || (size_t)w >= len) {
			errno = ENAMETOOLONG;
			goto out;
		}
		if (access(dest, F_OK) == -1 && errno == ENOENT)
			break;
		if (i == 99) {
			errno = EEXIST;
			goto out;
		}
	}
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		w = snprintf(from, sizeof(from), "%s%s", path, sfx[i]);
		if (w < 0 || (size_t)w >= sizeof(from))
			continue;
		w = snprintf(to, sizeof(to), "%s%s", dest, sfx[i]);
		if (w < 0 || (size_t)w >= sizeof(to))
			continue;
		/* A leftover -wal must not be replayed into the new file. */
		if (rename(from, to) == -1 && errno != ENOENT)
			(void)unlink(from);
	}
	if (rename(path, dest) == -1)
		goto out;
	rc = AQ_OK;
out:
	return rc;
}

static int
open_db(const char *path, sqlite3 **out, char *msg, size_t msglen)
{
	static const char pragmas[] = "PRAGMA journal_mode=WAL;"
				      "PRAGMA synchronous=NORMAL;";
	sqlite3 *db = NULL;
	int rc = AQ_ERR_IO, src;

	/* Each connection is used by one thread at a time (the writer, or
	 * a reader under rlock): SQLite's own mutexes are not needed. */
	src = sqlite3_open_v2(path, &db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	    NULL);
	if (src != SQLITE_OK) {
		snprintf(msg, msglen, "%s: %s", path,
		    db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(src));
		goto out;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, BUSY_MS);
	if (sqlite3_exec(db, pragmas, NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(msg, msglen, "%s: %s", path, sqlite3_errmsg(db));
		goto out;
	}
	*out = db;
	db = NULL;
	rc = AQ_OK;
out:
	sqlite3_close(db);
	return rc;
}

/* Creates the tables of a new file (user_version 0) in one transaction;
 * refuses a newer schema.  Later versions migrate here, step by step. */
static int
create_schema(sqlite3 *db, char *msg, size_t msglen)
{
	sqlite3_stmt *st = NULL;
	char cols[SQL_MAX], sql[3 * SQL_MAX];
	int rc = AQ_ERR_IO, version = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) !=
		SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		goto fail;
	version = sqlite3_column_int(st, 0);
	if (version == STORE_SCHEMA_VERSION) {
		rc = AQ_OK;
		goto out;
	}
	if (version == 2) {
		/* Version 3 added the hourly rows' weather: rows written
		 * before have none (NULL). */
		snprintf(sql, sizeof(sql),
		    "BEGIN IMMEDIATE;"
		    "ALTER TABLE hourly ADD COLUMN temp REAL;"
		    "ALTER TABLE hourly ADD COLUMN rh REAL;"
		    "ALTER TABLE hourly ADD COLUMN pres REAL;"
		    "ALTER TABLE hourly ADD COLUMN rain REAL;"
		    "ALTER TABLE hourly ADD COLUMN wspd REAL;"
		    "ALTER TABLE hourly ADD COLUMN wdir REAL;"
		    "PRAGMA user_version=%d;"
		    "COMMIT;",
		    STORE_SCHEMA_VERSION);
		if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
			(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			goto fail;
		}
		rc = AQ_OK;
		goto out;
	}
	if (version != 0) {
		snprintf(msg, msglen,
		    "schema version %d is not %d (a newer aqgridd's?)", version,
		    STORE_SCHEMA_VERSION);
		rc = AQ_ERR_INVAL;
		goto out;
	}
	columns(cols, sizeof(cols), true);
	snprintf(sql, sizeof(sql),
	    "BEGIN IMMEDIATE;"
	    "CREATE TABLE IF NOT EXISTS hourly(cell TEXT NOT NULL,"
	    " hour INTEGER NOT NULL, aqi INTEGER, level INTEGER,"
	    " primary_bits INTEGER NOT NULL, exceeds_bits INTEGER NOT "
	    "NULL%s" WX_DECL ", PRIMARY KEY(cell, hour)) WITHOUT ROWID;"
	    "CREATE TABLE IF NOT EXISTS daily(cell TEXT NOT NULL,"
	    " date INTEGER NOT NULL, aqi INTEGER, level INTEGER,"
	    " primary_bits INTEGER NOT NULL, exceeds_bits INTEGER NOT NULL%s,"
	    " PRIMARY KEY(cell, date)) WITHOUT ROWID;"
	    "CREATE TABLE IF NOT EXISTS rec(ns TEXT NOT NULL, key TEXT NOT "
	    "NULL,"
	    " value BLOB NOT NULL, PRIMARY KEY(ns, key)) WITHOUT ROWID;"
	    "CREATE TABLE IF NOT EXISTS log(id INTEGER PRIMARY KEY "
	    "AUTOINCREMENT,"
	    " ns TEXT NOT NULL, value BLOB NOT NULL);"
	    "CREATE INDEX IF NOT EXISTS log_ns ON log(ns, id);"
	    "PRAGMA user_version=%d;"
	    "COMMIT;",
	    cols, cols, STORE_SCHEMA_VERSION);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		goto fail;
	}
	rc = AQ_OK;
	goto out;
fail:
	snprintf(msg, msglen, "schema: %s", sqlite3_errmsg(db));
out:
	sqlite3_finalize(st);
	return rc;
}

static int
prepare_all(struct store *s, char *msg, size_t msglen)
{
	char cols[SQL_MAX], marks[SQL_MAX];
	char sql[5][3 * SQL_MAX];
	size_t off = 0;
	struct {
		sqlite3 *db;
		sqlite3_stmt **st;
		const char *sql;
	} const plan[] = {
	    {s->wdb, &s->ins_hour, sql[0]},
	    {s->wdb, &s->ins_day, sql[1]},
	    {s->rdb, &s->sel_hour, sql[2]},
	    {s->rdb, &s->sel_day, sql[3]},
	    {s->rdb, &s->scan_day, sql[4]},
	    {s->rdb, &s->rec_put,
		"INSERT OR REPLACE INTO rec(ns, key, value) VALUES(?, ?, ?)"},
	    {s->rdb, &s->rec_del, "DELETE FROM rec WHERE ns = ? AND key = ?"},
	    {s->rdb, &s->rec_get,
		"SELECT value FROM rec WHERE ns = ? AND key = ?"},
	    {s->rdb, &s->rec_each,
		"SELECT key, value FROM rec WHERE ns = ? ORDER BY key"},
	    {s->rdb, &s->log_put, "INSERT INTO log(ns, value) VALUES(?, ?)"},
	    {s->rdb, &s->log_read,
		"SELECT id, value FROM log WHERE ns = ? AND id > ?"
		" ORDER BY id LIMIT ?"},
	    {s->rdb, &s->log_prune, "DELETE FROM log WHERE ns = ? AND id < ?"},
	    {s->rdb, &s->del_hour, "DELETE FROM hourly WHERE hour < ?"},
	    {s->rdb, &s->del_day, "DELETE FROM daily WHERE date < ?"},
	};
	int rc = AQ_ERR_IO;

	columns(cols, sizeof(cols), false);
	for (int i = 0; i < 2 * NCOLS; i++)
		off +=
		    (size_t)snprintf(marks + off, sizeof(marks) - off, ", ?");
	snprintf(sql[0], sizeof(sql[0]),
	    "INSERT OR REPLACE INTO hourly(cell, hour, aqi, level,"
	    " primary_bits, exceeds_bits%s" WX_COLS
	    ") VALUES(?, ?, ?, ?, ?, ?%s, ?, ?, ?, ?, ?, ?)",
	    cols, marks);
	snprintf(sql[1], sizeof(sql[1]),
	    "INSERT OR REPLACE INTO daily(cell, date, aqi, level,"
	    " primary_bits, exceeds_bits%s) VALUES(?, ?, ?, ?, ?, ?%s)",
	    cols, marks);
	snprintf(sql[2], sizeof(sql[2]),
	    "SELECT hour, aqi, level, primary_bits, exceeds_bits%s" WX_COLS
	    " FROM hourly WHERE cell = ?1 AND hour >= ?2 AND hour <= ?3"
	    " AND hour > ?4 ORDER BY hour LIMIT ?5",
	    cols);
	snprintf(sql[3], sizeof(sql[3]),
	    "SELECT date, aqi, level, primary_bits, exceeds_bits%s"
	    " FROM daily WHERE cell = ?1 AND date >= ?2 AND date <= ?3"
	    " AND date > ?4 ORDER BY date LIMIT ?5",
	    cols);
	/* The scan reads the values only: every column costs. */
	off = 0;
	marks[0] = '\0';
	for (int i = 0; i < NCOLS; i++)
		off += (size_t)snprintf(marks + off, sizeof(marks) - off,
		    ", %s", ind_name((enum ind)i));
	snprintf(sql[4], sizeof(sql[4]),
	    "SELECT cell, date%s FROM daily WHERE date >= ?1 AND date <= ?2",
	    marks);
	for (size_t i = 0; i < sizeof(plan) / sizeof(plan[0]); i++)
		if (sqlite3_prepare_v3(plan[i].db, plan[i].sql, -1,
			SQLITE_PREPARE_PERSISTENT, plan[i].st,
			NULL) != SQLITE_OK) {
			snprintf(msg, msglen, "prepare: %s",
			    sqlite3_errmsg(plan[i].db));
			goto out;
		}
	rc = AQ_OK;
out:
	return rc;
}

/* The indicator columns ", pm25_1h, ..., n_pm25_1h, ...", with their
 * types when decl. */
static void
columns(char *buf, size_t len, bool decl)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < NCOLS; i++)
			off +=
			    (size_t)snprintf(buf + off, len - off, ", %s%s%s",
				k == 0 ? "" : "n_", ind_name((enum ind)i),
				!decl        ? ""
				    : k == 0 ? " REAL"
					     : " INTEGER NOT NULL DEFAULT 0");
}

static int
sync_init(struct store *s)
{
	pthread_condattr_t ca;
	int rc = AQ_ERR_NOMEM;

	if (pthread_condattr_init(&ca) != 0)
		return rc;
	/* Backoff deadlines must not move with the wall clock. */
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0)
		goto out;
	if (pthread_mutex_init(&s->lock, NULL) != 0)
		goto out;
	if (pthread_mutex_init(&s->rlock, NULL) != 0)
		goto out_lock;
	if (pthread_cond_init(&s->work, &ca) != 0)
		goto out_rlock;
	if (pthread_cond_init(&s->ctl, &ca) != 0)
		goto out_work;
	if (pthread_cond_init(&s->done, &ca) != 0)
		goto out_ctl;
	s->sync_ok = true;
	rc = AQ_OK;
	goto out;
out_ctl:
	pthread_cond_destroy(&s->ctl);
out_work:
	pthread_cond_destroy(&s->work);
out_rlock:
	pthread_mutex_destroy(&s->rlock);
out_lock:
	pthread_mutex_destroy(&s->lock);
out:
	pthread_condattr_destroy(&ca);
	return rc;
}

/* Frees whatever store_open() got to; the writer must be stopping. */
static void
destroy(struct store *s)
{
	if (s == NULL)
		return;

	sqlite3_stmt *const sts[] = {s->ins_hour, s->ins_day, s->sel_hour,
	    s->sel_day, s->scan_day, s->del_hour, s->del_day, s->rec_put,
	    s->rec_del, s->rec_get, s->rec_each, s->log_put, s->log_read,
	    s->log_prune};

	if (s->thread_ok)
		pthread_join(s->writer, NULL);
	for (size_t i = 0; i < sizeof(sts) / sizeof(sts[0]); i++)
		sqlite3_finalize(sts[i]);
	/* The last connection to close checkpoints and removes the WAL. */
	sqlite3_close(s->rdb);
	sqlite3_close(s->wdb);
	if (s->sync_ok) {
		pthread_cond_destroy(&s->done);
		pthread_cond_destroy(&s->ctl);
		pthread_cond_destroy(&s->work);
		pthread_mutex_destroy(&s->rlock);
		pthread_mutex_destroy(&s->lock);
	}
	free(s->ring);
	free(s);
}

/*
 * The writer: takes everything queued, commits it in one transaction and
 * only then frees the slots, so a failed batch is retried whole.  Producers
 * write only past head + count, which the writer never reads.
 */
static void *
writer_main(void *arg)
{
	struct store *s = arg;
	struct timespec until;
	char err[STORE_ERROR_MAX];
	uint32_t backoff;
	uint64_t seq;
	size_t n;
	int pages;

	pthread_mutex_lock(&s->lock);
	backoff = s->backoff_first_ms;
	for (;;) {
		while (s->count == 0 && !s->stop && s->test_pages == 0)
			pthread_cond_wait(&s->work, &s->lock);
		if (s->test_pages != 0) {
			pages = s->test_pages;
			s->test_pages = 0;
			pthread_mutex_unlock(&s->lock);
			(void)apply_pages(s->wdb, pages);
			pthread_mutex_lock(&s->lock);
			continue;
		}
		if (s->count == 0)
			break; /* stopping, and nothing left */
		n = s->count;
		seq = s->seq;
		pthread_mutex_unlock(&s->lock);

		err[0] = '\0';
		int rc = commit_batch(s, n, err, sizeof(err));

		pthread_mutex_lock(&s->lock);
		if (rc == AQ_OK) {
			for (size_t k = 0; k < n; k++) {
				const struct rec *r =
				    &s->ring[(s->head + k) % s->cap];

				if (r->kind == REC_DAY &&
				    r->u.d.date < s->day_changed)
					s->day_changed = r->u.d.date;
			}
			s->head = (s->head + n) % s->cap;
			s->count -= n;
			s->committed_seq = seq;
			s->st.committed += n;
			s->st.degraded = false;
			backoff = s->backoff_first_ms;
			pthread_cond_broadcast(&s->done);
			continue;
		}
		s->st.degraded = true;
		s->st.failed++;
		snprintf(s->st.error, sizeof(s->st.error), "%s", err);
		s->fail_gen++;
		pthread_cond_broadcast(&s->done);
		if (s->stop) {
			/* Closing: one attempt only, then the rows are lost. */
			s->st.dropped += s->count;
			s->count = 0;
			break;
		}
		deadline_after(&until, backoff);
		backoff = backoff > s->backoff_max_ms / 2 ? s->backoff_max_ms
							  : backoff * 2;
		while (!s->stop && s->test_pages == 0)
			if (pthread_cond_timedwait(&s->ctl, &s->lock, &until) ==
			    ETIMEDOUT)
				break;
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* One transaction for n rows from the queue's head. */
static int
commit_batch(struct store *s, size_t n, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = AQ_ERR_IO, src;

	if ((src = sqlite3_exec(s->wdb, "BEGIN IMMEDIATE", NULL, NULL, NULL)) !=
	    SQLITE_OK)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct rec *r = &s->ring[(s->head + i) % s->cap];

		st = r->kind == REC_HOUR ? s->ins_hour : s->ins_day;
		if ((src = bind_rec(st, r)) != SQLITE_OK ||
		    (src = sqlite3_step(st)) != SQLITE_DONE)
			goto out;
		sqlite3_reset(st);
		st = NULL;
	}
	if ((src = sqlite3_exec(s->wdb, "COMMIT", NULL, NULL, NULL)) !=
	    SQLITE_OK)
		goto out;
	rc = AQ_OK;
out:
	if (rc != AQ_OK) {
		snprintf(err, errlen, "%s (%s)", sqlite3_errmsg(s->wdb),
		    sqlite3_errstr(src));
		if (st != NULL)
			sqlite3_reset(st);
		/* SQLite may have rolled back already (SQLITE_FULL). */
		if (!sqlite3_get_autocommit(s->wdb))
			(void)sqlite3_exec(
			    s->wdb, "ROLLBACK", NULL, NULL, NULL);
	}
	return rc;
}

/* Binds a row's parameters in the order of the INSERTs: cell, key, aqi,
 * level, primary, exceeds, the values, the counts. */
static int
bind_rec(sqlite3_stmt *st, const struct rec *r)
{
	const int64_t *v;
	const uint8_t *cnt;
	uint32_t primary, exceeds, has;
	int aqi, level, src;

	if (r->kind == REC_HOUR) {
		const struct store_hour *h = &r->u.h;

		src = sqlite3_bind_text(st, 1, h->cell, -1, SQLITE_STATIC);
		if (src == SQLITE_OK)
			src = sqlite3_bind_int64(st, 2, h->hour);
		aqi = h->aqi;
		level = h->level;
		primary = h->primary;
		exceeds = h->exceeds;
		has = h->has;
		v = h->v;
		cnt = h->n;
	} else {
		const struct store_day *d = &r->u.d;

		src = sqlite3_bind_text(st, 1, d->cell, -1, SQLITE_STATIC);
		if (src == SQLITE_OK)
			src = sqlite3_bind_int(st, 2, d->date);
		aqi = d->aqi;
		level = d->level;
		primary = d->primary;
		exceeds = d->exceeds;
		has = d->has;
		v = d->v;
		cnt = d->n;
	}
	if (src != SQLITE_OK)
		return src;
	/* NA is NULL, so SQL aggregates skip it. */
	src = aqi < 0 ? sqlite3_bind_null(st, 3) : sqlite3_bind_int(st, 3, aqi);
	if (src == SQLITE_OK)
		src = aqi < 0 ? sqlite3_bind_null(st, 4)
			      : sqlite3_bind_int(st, 4, level);
	if (src == SQLITE_OK)
		src = sqlite3_bind_int64(st, 5, primary);
	if (src == SQLITE_OK)
		src = sqlite3_bind_int64(st, 6, exceeds);
	for (int i = 0; i < NCOLS && src == SQLITE_OK; i++) {
		if (has & IND_BIT(i))
			src =
			    sqlite3_bind_double(st, 7 + i, fix_to_double(v[i]));
		else
			src = sqlite3_bind_null(st, 7 + i);
		if (src == SQLITE_OK)
			src = sqlite3_bind_int(st, 7 + NCOLS + i, cnt[i]);
	}
	for (int k = 0; k < NWX && r->kind == REC_HOUR && src == SQLITE_OK;
	     k++) {
		double x = wx_get(&r->u.h.wx, k);

		src = isnan(x) ? sqlite3_bind_null(st, 7 + 2 * NCOLS + k)
			       : sqlite3_bind_double(st, 7 + 2 * NCOLS + k, x);
	}
	return src;
}

/* Field k of a weather, in the order of WX_COLS. */
static double
wx_get(const struct wx_hour *w, int k)
{
	const double f[NWX] = {
	    w->temp, w->rh, w->pres, w->rain, w->wspd, w->wdir};

	return f[k];
}

/* The weather columns from column first on (NULL: NaN). */
static void
wx_columns(sqlite3_stmt *st, int first, struct wx_hour *out)
{
	double f[NWX];

	for (int k = 0; k < NWX; k++)
		f[k] = sqlite3_column_type(st, first + k) == SQLITE_NULL
		    ? NAN
		    : sqlite3_column_double(st, first + k);
	out->temp = f[0];
	out->rh = f[1];
	out->pres = f[2];
	out->rain = f[3];
	out->wspd = f[4];
	out->wdir = f[5];
}

/* Reads aqi, level, primary, exceeds, the values and the counts from
 * column first on. */
static int
read_stats(sqlite3_stmt *st, int first, int *aqi, int *level, uint32_t *primary,
    uint32_t *exceeds, uint32_t *has, int64_t *v, uint8_t *n)
{
	sqlite3_int64 c;
	int rc = AQ_ERR_RANGE;

	if (sqlite3_column_type(st, first) == SQLITE_NULL) {
		*aqi = -1;
		*level = 0;
	} else {
		*aqi = sqlite3_column_int(st, first);
		*level = sqlite3_column_int(st, first + 1);
	}
	*primary = (uint32_t)sqlite3_column_int64(st, first + 2);
	*exceeds = (uint32_t)sqlite3_column_int64(st, first + 3);
	*has = 0;
	for (int i = 0; i < NCOLS; i++) {
		int col = first + 4 + i;

		if (sqlite3_column_type(st, col) != SQLITE_NULL) {
			if (fix_from_double(
				sqlite3_column_double(st, col), &v[i]) != AQ_OK)
				goto out;
			*has |= IND_BIT(i);
		}
		c = sqlite3_column_int64(st, col + NCOLS);
		n[i] = (uint8_t)(c < 0 ? 0 : c > UINT8_MAX ? UINT8_MAX : c);
	}
	rc = AQ_OK;
out:
	return rc;
}

/* PRAGMA max_page_count (SQLite clamps it to the current size). */
static int
apply_pages(sqlite3 *db, int pages)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "PRAGMA max_page_count=%d", pages);
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? AQ_OK
								    : AQ_ERR_IO;
}

static void
deadline_after(struct timespec *ts, uint32_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static int
enqueue(struct store *s, const struct rec *r)
{
	int rc = AQ_ERR_FULL;

	pthread_mutex_lock(&s->lock);
	if (s->stop) {
		rc = AQ_ERR_INVAL;
		goto out;
	}
	if (s->count == s->cap) {
		s->st.dropped++;
		goto out;
	}
	s->ring[(s->head + s->count) % s->cap] = *r;
	s->count++;
	s->seq++;
	pthread_cond_signal(&s->work);
	rc = AQ_OK;
out:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static bool
cell_ok(const char *cell)
{
	size_t len = strnlen(cell, WIN_CELL_ID_MAX);

	return len > 0 && len < WIN_CELL_ID_MAX;
}

static bool
key_ok(const char *key)
{
	size_t len;

	if (key == NULL)
		return false;
	len = strnlen(key, STORE_KEY_MAX);
	return len > 0 && len < STORE_KEY_MAX;
}

/* Runs a bound write statement on the readers' connection (rlock held) in
 * its own transaction, then resets it. */
static int
step_done(struct store *s, sqlite3_stmt *st)
{
	int src = sqlite3_step(st);

	(void)s;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return src == SQLITE_DONE ? AQ_OK : AQ_ERR_IO;
}
