/*
 * store: the daemon's history on disk, one SQLite database file in WAL mode
 * (synchronous=NORMAL, so a power cut may lose the last commits but never
 * corrupts the file).  Tables: hourly (cell, hour end), daily (cell, local
 * date yyyymmdd), both WITHOUT ROWID with one REAL column per non-annual
 * indicator (pol.h; NULL when absent) and one n_<indicator> count each,
 * the hourly rows also the hour's weather (temp, rh, pres, rain, wspd,
 * wdir; wx.h; NULL when absent),
 * rec (namespace, key, blob) for durable records such as alert state,
 * silences and the notification outbox, and log (namespace, id, blob), an
 * append-only log read by cursor.  PRAGMA user_version numbers the schema;
 * a file with a newer one is refused, never changed; one of version 2 gets
 * the weather columns (ALTER TABLE) at store_open().
 *
 * Hourly and daily rows are written asynchronously: store_put_hour() and
 * store_put_day() copy the row into a queue
 * allocated at store_open() and return at once; AQ_ERR_FULL when it is
 * full (the drop is counted), never blocking.  One writer thread commits
 * everything queued in one transaction with INSERT OR REPLACE (prepared
 * statements reused).  When a commit fails (disk full, I/O error, lock
 * held too long), the batch stays queued and is retried after 1 s,
 * doubling to 30 s, while store_stats() reports the store degraded with
 * the error; new puts still queue until the bound.  store_close() makes
 * one last attempt and counts what it could not commit as dropped.
 *
 * Reads and store_prune() run in the caller's thread on a second
 * connection shared under a mutex (WAL lets it read while the writer
 * commits); they see committed rows only -- store_flush() first to read
 * one's own writes.  Values are fix values (fix.h) in canonical units,
 * stored as REAL and read back exactly for values with up to six decimals
 * (the engine's are multiples of 0.001).
 *
 * store_open() checks an existing file (PRAGMA quick_check); one that is
 * not a database or is corrupt is renamed "<path>.corrupt-<unix time>"
 * (with its -wal and -shm) and an empty database is started instead.
 *
 * All functions are thread-safe.  The store never logs: store_open()
 * writes what it did into msg, store_stats() carries the last error.
 */
#ifndef AQ_DAEMON_STORE_H
#define AQ_DAEMON_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/err.h"
#include "daemon/pol.h"
#include "daemon/win.h"
#include "daemon/wx.h"

#define STORE_SCHEMA_VERSION 3
#define STORE_KEY_MAX 128           /* rec namespace or key, with the NUL */
#define STORE_VALUE_MAX 1048576     /* bytes per rec or log value */
#define STORE_ERROR_MAX 160         /* store_stats error text */
#define STORE_BACKOFF_FIRST_MS 1000 /* first retry after a failed commit */
#define STORE_BACKOFF_MAX_MS 30000

/* A cell's statistics at one hour (hour: the hour's end, Unix s).  Only
 * indicators before IND_AQI_COUNT are stored; v[i] counts when has has
 * IND_BIT(i).  level is 0 when aqi is -1 (NA).  wx: the hour's weather
 * (wx.h; NaN fields are NULL), read back as the same doubles. */
struct store_hour {
	char cell[WIN_CELL_ID_MAX];
	int64_t hour;
	int aqi; /* -1: NA */
	int level;
	uint32_t primary, exceeds; /* IND_BIT()s */
	uint32_t has;
	int64_t v[IND_COUNT]; /* fix values (fix.h) */
	uint8_t n[IND_COUNT]; /* valid hours behind each */
	struct wx_hour wx;
};

/* The same for one local day (yyyymmdd); v[] the daily statistics. */
struct store_day {
	char cell[WIN_CELL_ID_MAX];
	int32_t date;
	int aqi;
	int level;
	uint32_t primary, exceeds;
	uint32_t has;
	int64_t v[IND_COUNT];
	uint8_t n[IND_COUNT];
};

struct store_stats {
	bool degraded;               /* the last commit failed */
	char error[STORE_ERROR_MAX]; /* last failure, kept after recovery */
	uint64_t failed;             /* commits that failed */
	uint64_t dropped;            /* puts refused, rows lost at close */
	uint64_t committed;          /* rows committed */
	size_t queued;               /* rows waiting (hours, days) */
	size_t capacity;             /* queue_capacity given at open */
};

struct store;

/*
 * Opens or creates the database at path (borrowed) with a queue of
 * queue_capacity hourly and daily rows (>= 1) and starts the writer.
 * Returns AQ_OK with *out owned and msg "" or describing a recovery
 * (corrupt file moved aside); otherwise AQ_ERR_INVAL (bad arguments, a
 * newer schema), AQ_ERR_IO (cannot open or create), AQ_ERR_NOMEM, with
 * the reason in msg.  msg is one line without the module name.
 */
int store_open(const char *path, size_t queue_capacity, struct store **out,
    char *msg, size_t msglen) AQ_MUSTCHECK;
/* Commits what is queued (one attempt if degraded), stops the writer and
 * closes.  NULL: no-op. */
void store_close(struct store *s);

/* Copy the row (borrowed) into the queue.  AQ_ERR_FULL when full,
 * AQ_ERR_INVAL for a cell id without its NUL.  Never block for I/O, never
 * allocate. */
int store_put_hour(struct store *s, const struct store_hour *h);
int store_put_day(struct store *s, const struct store_day *d);

/* Waits until everything queued before the call is committed (AQ_OK), or
 * a commit attempt fails (AQ_ERR_IO; the rows stay queued).  Returns
 * AQ_ERR_IO at once when the store is degraded. */
int store_flush(struct store *s);

void store_stats(struct store *s, struct store_stats *out);

/*
 * Up to limit hourly rows of cell with from <= hour <= to and hour > after
 * (a cursor: the last hour returned before, or INT64_MIN), by hour.
 * Writes them to out and their count to *n (< limit: no more rows).
 * AQ_ERR_INVAL for bad arguments, AQ_ERR_IO on a database error.
 */
int store_history(struct store *s, const char *cell, int64_t from, int64_t to,
    int64_t after, uint32_t limit, struct store_hour *out,
    uint32_t *n) AQ_MUSTCHECK;
/* The same for daily rows, dates yyyymmdd (after: INT32_MIN at first). */
int store_daily(struct store *s, const char *cell, int32_t from, int32_t to,
    int32_t after, uint32_t limit, struct store_day *out,
    uint32_t *n) AQ_MUSTCHECK;

/*
 * Every daily row of every cell with from <= date <= to, in one scan of
 * the table, in (cell, date) order: fn gets each (borrowed, valid during
 * the call) with its cell, date, has and v[] only (aqi -1, the rest 0:
 * each column read costs) until it returns non-zero, which is then
 * returned.  fn must not call the store.  AQ_ERR_IO on a database error.
 */
typedef int (*store_day_fn)(void *ctx, const struct store_day *d);
int store_daily_scan(
    struct store *s, int32_t from, int32_t to, store_day_fn fn, void *ctx);

/*
 * What changed in the daily table since the last call (one consumer: the
 * plan indicators' cache): *changed_from the earliest date of daily rows
 * committed (INT32_MAX when none), *pruned_before the date before which
 * store_prune() deleted daily rows (INT32_MIN when none).
 */
void store_daily_dirty(
    struct store *s, int32_t *changed_from, int32_t *pruned_before);

/*
 * Durable records, (ns, key) -> value, for state that must survive a
 * restart or kill -9 exactly as it was: alert state, silences, acks, the
 * notification outbox.  Unlike hourly rows these are written in the
 * caller's thread and committed before the call returns (WAL: a killed
 * process loses nothing committed; a power cut may lose the last
 * commits).  ns and key: 1 to STORE_KEY_MAX - 1 bytes; values up to
 * STORE_VALUE_MAX.  Each returns AQ_OK, AQ_ERR_INVAL for bad arguments or
 * AQ_ERR_IO when the database refuses (disk full: nothing is changed, the
 * caller keeps its copy and tries again later).
 */
int store_rec_put(struct store *s, const char *ns, const char *key,
    const void *value, size_t len) AQ_MUSTCHECK;
/* Deleting a missing key is AQ_OK. */
int store_rec_del(
    struct store *s, const char *ns, const char *key) AQ_MUSTCHECK;
/* Copies the value into buf (cap bytes) and its size into *len with *found
 * true; *found false when there is no such key.  AQ_ERR_RANGE when the
 * value is longer than cap. */
int store_rec_get(struct store *s, const char *ns, const char *key, void *buf,
    size_t cap, size_t *len, bool *found) AQ_MUSTCHECK;
/* Calls fn for every record of ns in key order (bytewise) until fn returns
 * non-zero (then returns that value).  fn must not call the store. */
typedef int (*store_rec_fn)(
    void *ctx, const char *key, const void *value, size_t len);
int store_rec_each(struct store *s, const char *ns, store_rec_fn fn, void *ctx);

/*
 * Append-only logs (the alert log, notification attempts): each entry of
 * ns gets an id larger than every earlier one of any log, written to *id
 * (may be NULL), committed before return.  store_log_read() calls fn for
 * up to limit entries of ns with id > after, in id order; fn returns
 * non-zero to stop (returned).  store_log_prune() deletes entries of ns
 * with id < before.  Errors as for records.
 */
int store_log_append(struct store *s, const char *ns, const void *value,
    size_t len, int64_t *id) AQ_MUSTCHECK;
typedef int (*store_log_fn)(
    void *ctx, int64_t id, const void *value, size_t len);
int store_log_read(struct store *s, const char *ns, int64_t after,
    uint32_t limit, store_log_fn fn, void *ctx);
int store_log_prune(
    struct store *s, const char *ns, int64_t before) AQ_MUSTCHECK;

/* Deletes hourly rows with hour < hourly_before and daily rows with date <
 * daily_before (retention), in the caller's thread.  AQ_ERR_IO on error. */
int store_prune(
    struct store *s, int64_t hourly_before, int32_t daily_before) AQ_MUSTCHECK;

/*
 * Test-only hooks.  store_test_limit_pages sets PRAGMA max_page_count on
 * both connections (SQLite keeps it at least the current size; 0
 * lifts the limit): at once for records and logs, before the writer's next
 * commit for rows, waking a writer waiting to retry; it simulates a full disk.
 * store_test_backoff replaces the retry delays (1 s to 30 s) so tests stay
 * fast.
 */
void store_test_limit_pages(struct store *s, int pages);
void store_test_backoff(struct store *s, uint32_t first_ms, uint32_t max_ms);

#endif
