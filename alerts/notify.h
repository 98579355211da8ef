/*
 * notify: delivers notices (notice.h) to the receivers of the
 * configuration's [receiver ID] sections, routed by its [route ID]
 * sections, over HTTP with libcurl's multi interface on one thread.
 *
 * The outbox is durable: notify_submit() writes one record per
 * (notice, receiver) -- per alert for PagerDuty -- into the store (rec
 * namespace "outbox", key "<notice id, 20 digits>:<receiver>[:<alert>]")
 * before it returns AQ_OK, so an accepted notice survives kill -9.  The
 * thread sends each record until the receiver accepts it (the record is
 * deleted), or its attempts run out or the receiver refuses it for good
 * (moved to namespace "dead", kept).  Every attempt is appended to the log
 * namespace "attempts".  notify_start() reloads the outbox: delivery is at
 * least once; the idempotency key (generic webhook: Idempotency-Key header
 * and body field) lets a receiver drop a repeat after a crash.
 *
 * Per receiver: one request in flight, a rate limit (messages a minute,
 * a sliding window), a timeout, retries with exponential backoff and
 * jitter that honour 429 and Retry-After, a cap on attempts.  Secrets
 * (secret, secret_file) never leave this module: logs name receivers by id
 * and URLs by scheme and host only.
 *
 * Thread-safe: submit, stats and the readers may be called from any thread.
 * Logs through log.h with the prefix "notify: ".
 */
#ifndef AQ_ALERTS_NOTIFY_H
#define AQ_ALERTS_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "alerts/notice.h"
#include "daemon/conf.h"
#include "daemon/err.h"
#include "daemon/store.h"

#define NOTIFY_RECEIVERS_MAX 64
#define NOTIFY_OUTBOX_MAX 10000 /* records queued in memory at most */
#define NOTIFY_BACKOFF_FIRST_MS 1000
#define NOTIFY_BACKOFF_MAX_MS 600000
#define NOTIFY_RETRY_AFTER_MAX_S 3600 /* a longer Retry-After is capped */
#define NOTIFY_ERROR_MAX 128

struct notify;

/* One receiver's counters (notify_stats). */
struct notify_rstats {
	char id[CONF_ID_MAX];
	const char *type; /* "webhook", "dingtalk", ... (static) */
	uint64_t sent;    /* notifications the receiver accepted */
	uint64_t failed;  /* attempts that failed */
	uint64_t dead;    /* notifications dead-lettered */
	uint64_t queued;  /* in the outbox now, in flight included */
};

struct notify_stats {
	uint64_t submitted; /* notices accepted */
	uint64_t refused;   /* notices refused: outbox full or store error */
	uint64_t unrouted;  /* notices no route matched (sent to all) */
	uint32_t nreceivers;
	struct notify_rstats r[NOTIFY_RECEIVERS_MAX];
};

/* A dead-lettered notification (notify_dead_list). */
struct notify_dead {
	const char *key; /* the outbox key it had */
	uint64_t notice;
	const char *receiver;
	const char *rule;
	const char *kind; /* "firing", "repeat", "resolved" */
	uint32_t attempts;
	int64_t created;  /* Unix s, when submitted */
	int64_t dead_at;  /* Unix s */
	const char *last; /* last outcome, e.g. "HTTP 500" */
	const char *idempotency_key;
};

/* One delivery attempt (notify_attempts). */
struct notify_attempt {
	int64_t id; /* log id: the cursor */
	uint64_t notice;
	const char *receiver;
	uint32_t attempt;   /* 1, 2, ... */
	int64_t time_ms;    /* Unix ms when it ended */
	long status;        /* HTTP status, 0 when none */
	const char *error;  /* curl error or receiver's refusal, "" if none */
	const char *result; /* "sent", "retry", "dead" */
	int64_t next_ms;    /* Unix ms of the next try, 0 if none */
};

/*
 * Reads the [receiver ID] and [route ID] sections of c (borrowed; not kept
 * after return) and the secret files, and binds st (borrowed; must outlive
 * the notifier).  Problems go to errs as "file:line: reason", all of them;
 * returns AQ_OK with *out owned, AQ_ERR_INVAL, or AQ_ERR_NOMEM.  st may be
 * NULL to check a configuration only (aqgridd -t); then *out is not set.
 */
int notify_new(const struct conf *c, struct store *st, FILE *errs,
    struct notify **out) AQ_MUSTCHECK;
/* Stops it if running (notify_stop with no grace) and frees.  NULL: no-op. */
void notify_free(struct notify *n);

/*
 * Reloads the outbox (records of receivers no longer configured are
 * dead-lettered) and starts the delivery thread.  AQ_ERR_IO when the store
 * cannot be read, AQ_ERR_NOMEM, AQ_ERR_INVAL if already started.
 */
int notify_start(struct notify *n) AQ_MUSTCHECK;
/*
 * Stops starting requests, lets those in flight finish for up to grace_ms,
 * aborts the rest and joins the thread.  Whatever was not delivered stays
 * in the outbox for the next notify_start().
 */
void notify_stop(struct notify *n, uint32_t grace_ms);

/*
 * Routes nt (borrowed) and writes its outbox records, committed, before
 * returning AQ_OK (also when no receiver wants it).  AQ_ERR_IO when the
 * store refuses (nothing of it is kept: submit it again later),
 * AQ_ERR_FULL when NOTIFY_OUTBOX_MAX records wait, AQ_ERR_NOMEM.  Before
 * notify_start() the records only go to the store.
 */
int notify_submit(struct notify *n, const struct notice *nt) AQ_MUSTCHECK;

/*
 * The receiver ids nt goes to, in route order without repeats: up to cap
 * of them into ids (borrowed from n); returns how many there are.
 */
size_t notify_route(const struct notify *n, const struct notice *nt,
    const char **ids, size_t cap);

void notify_stats(struct notify *n, struct notify_stats *out);

/* Calls fn for each dead-lettered notification in key order until it
 * returns non-zero (returned).  The strings live during the call only. */
typedef int (*notify_dead_fn)(void *ctx, const struct notify_dead *d);
int notify_dead_list(struct store *st, notify_dead_fn fn, void *ctx);

/* Calls fn for up to limit attempts with log id > after (0: from the
 * start) that concern alert_id (0: every attempt), in order. */
typedef int (*notify_attempt_fn)(void *ctx, const struct notify_attempt *a);
int notify_attempts(struct store *st, uint64_t alert_id, int64_t after,
    uint32_t limit, notify_attempt_fn fn, void *ctx);

/* Test-only: replaces the backoff's first delay and cap (ms). */
void notify_test_backoff(struct notify *n, uint32_t first_ms, uint32_t max_ms);

#endif
