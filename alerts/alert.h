/*
 * alert: the lifecycle of alerts -- pending -> firing -> resolved -- for
 * the rules of a rule set (rule.h), with hysteresis, grouping, silences,
 * inhibition and acknowledgement, persisted in the store.
 *
 * One alert per fingerprint, a stable hash of (rule, scope object): a
 * cell id, an area id, "grid" or a sensor id.  A sample is the rule's
 * variable for one object at an event time t (the statistic's hour end):
 * present, or missing (unknown: its sensors offline or flagged).
 *   - Not firing: a value meeting the condition opens a pending episode;
 *     it fires once the condition still holds at t >= pending start +
 *     `for` (at once when for is 0); a value not meeting it cancels it.
 *   - Firing: it resolves once the value has stayed on the safe side of
 *     `clear` from t0 to t >= t0 + `clear_for`; a value back on the bad
 *     side restarts that wait.
 *   - A missing sample changes nothing: no firing, no resolving, no timer
 *     restarted (offline is not clean).
 * Event time drives conditions; cadence (grouping, repeats, silences'
 * windows) follows the `now` the caller passes (the wall clock), so tests
 * and replays are deterministic.
 *
 * Notices (notice.h) go to the callback: FIRING when an alert fires,
 * REPEAT every rule repeat interval while it fires unless acknowledged,
 * RESOLVED when an announced alert ends (acknowledged or not).  Notices of
 * one rule, one area and one kind are grouped: the first of a group waits
 * group_wait (default 0: the end of the current call's batch, at the next
 * alert_engine_tick()), later ones until group_interval (default 30 s)
 * after the group's previous notice.  A silenced or inhibited alert
 * changes state but emits nothing; an alert whose firing was muted is
 * announced when the mute ends; one never announced ends silently.
 *
 * With a store (store.h), alert state, silences and id counters are rec
 * records (namespaces "alert", "silence"), events an "alertlog" log; a
 * notice is emitted before the state recording it is written, so a crash
 * repeats a notice rather than losing it.  A write the store refuses is
 * kept in memory and retried at every later call (which return AQ_ERR_IO
 * meanwhile).  alert_engine_load() restores it all after a restart: no
 * firing alert is announced again, owed notices are sent.
 *
 * Not thread-safe: one thread (the ingest worker) calls everything; others
 * read through the snapshots of alert_engine_list(), _get() and
 * _silences() taken by that thread.  Never logs.
 */
#ifndef AQ_ALERTS_ALERT_H
#define AQ_ALERTS_ALERT_H

#include <stdbool.h>
#include <stdint.h>

#include "alerts/notice.h"
#include "alerts/rule.h"
#include "daemon/conf.h"
#include "daemon/err.h"
#include "daemon/state.h"
#include "daemon/store.h"
#include "daemon/tz.h"

#define ALERT_WHO_MAX 64
#define ALERT_COMMENT_MAX 256
#define ALERT_GROUP_INTERVAL 30 /* default, seconds */

enum alert_state {
	ALERT_INACTIVE, /* known, never fired or a pending one cancelled */
	ALERT_PENDING,
	ALERT_FIRING,
	ALERT_RESOLVED,
};

struct alert_opts {
	int64_t group_wait;      /* seconds; default 0 */
	int64_t group_interval;  /* seconds; 0 picks ALERT_GROUP_INTERVAL */
	const struct tz *tz;     /* zone of day.* event times; NULL: UTC */
	const struct fcgrid *fc; /* forecast.* variables; NULL: missing */
};

/* Called with each notice (borrowed for the call); must not call the
 * engine. */
typedef void (*alert_notice_fn)(void *ctx, const struct notice *n);

struct alert_info {
	char fingerprint[NOTICE_ID_MAX];
	char rule[RULE_ID_MAX];
	enum alert_state state;
	enum notice_severity severity;
	enum notice_scope scope;
	char object[NOTICE_ID_MAX]; /* cell, area, "grid" or sensor id */
	char cell[NOTICE_ID_MAX];
	char sensor[NOTICE_ID_MAX];
	char area[NOTICE_ID_MAX];
	uint64_t alert_id; /* episode; 0 before the first */
	double value;
	bool has_value;
	int64_t event_time;    /* of the latest sample */
	int64_t pending_since; /* event time */
	int64_t starts_at;     /* event time of firing; 0 */
	int64_t ends_at;       /* event time of resolving; 0 */
	int64_t last_notified; /* wall clock; 0 never */
	bool announced;        /* a FIRING notice went out */
	bool acked;
	char ack_who[ALERT_WHO_MAX];
	int64_t ack_at;
	char ack_comment[ALERT_COMMENT_MAX];
	bool silenced, inhibited; /* at the time of the snapshot */
};

struct alert_silence {
	uint64_t id; /* given by alert_silence_add() */
	struct rule_matcher m[RULE_MATCHERS_MAX];
	uint32_t nm;        /* >= 1: every one must match */
	int64_t start, end; /* wall clock [start, end) */
	char author[ALERT_WHO_MAX];
	char comment[ALERT_COMMENT_MAX];
	int64_t created;
};

struct alert_stats {
	uint64_t samples;
	uint64_t notices;
	uint64_t store_failures; /* writes the store refused */
	uint32_t unsaved;        /* records and log entries still to write */
	uint32_t alerts, firing, pending;
};

struct alert_engine;

/*
 * Borrows c, rs and s (NULL: no persistence) until alert_engine_free(); o
 * may be NULL.  Returns owned, or NULL (no memory, bad options).
 */
struct alert_engine *alert_engine_new(const struct conf *c,
    const struct rule_set *rs, const struct alert_opts *o, struct store *s,
    alert_notice_fn fn, void *ctx);
void alert_engine_free(struct alert_engine *e);

/*
 * Restores alerts, silences and counters from the store (once, before any
 * sample).  Records of rules or cells no longer configured are dropped
 * (and logged).  Owed notices go out at the next alert_engine_tick().
 * AQ_ERR_IO when the store cannot be read.
 */
int alert_engine_load(struct alert_engine *e, int64_t now) AQ_MUSTCHECK;

/*
 * Evaluates every cell, area and grid rule on a cell's published view
 * (state.h), at the event time of each rule's variable.  unknown: the
 * cell's sensors are all offline or flagged (every statistic missing,
 * offline 1).  AQ_OK, AQ_ERR_IO (state kept; retried), AQ_ERR_INVAL.
 */
int alert_engine_cell(struct alert_engine *e, const struct cell_view *v,
    bool unknown, int64_t now);
/* A sensor's liveness at event time t (for the daemon, t = now): the
 * sensor rules on 'offline'. */
int alert_engine_sensor(struct alert_engine *e, const char *sensor,
    uint32_t cell, bool offline, int64_t t, int64_t now);
/* Whether a sensor is flagged faulty at t: the sensor rules on 'fault'. */
int alert_engine_sensor_fault(struct alert_engine *e, const char *sensor,
    uint32_t cell, bool fault, int64_t t, int64_t now);
/*
 * The general form: rule's variable for object (a cell id for scope cell,
 * an area id, "grid", a sensor id with its cell) at event time t; has
 * false: missing.  AQ_ERR_INVAL for an unknown rule, object or a cell the
 * scope needs.
 */
int alert_engine_sample(struct alert_engine *e, uint32_t rule,
    const char *object, int64_t cell, int64_t t, bool has, double value,
    int64_t now);
/*
 * Sends groups whose time has come, repeats, notices owed after a mute or
 * a restart, and retries unsaved writes.  Call about once a second and
 * after each batch of samples.
 */
int alert_engine_tick(struct alert_engine *e, int64_t now);

/* Acknowledges the open (pending or firing) episode of fingerprint:
 * repeats stop, the resolved notice does not.  AQ_ERR_INVAL: no open
 * alert. */
int alert_ack(struct alert_engine *e, const char *fingerprint, const char *who,
    const char *comment, int64_t now);

/* Adds a silence (s->id ignored; *id set, may be NULL): AQ_ERR_INVAL
 * without matchers or with end <= start. */
int alert_silence_add(struct alert_engine *e, const struct alert_silence *s,
    int64_t now, uint64_t *id);
/* Ends a silence now (kept, listed as expired).  AQ_ERR_INVAL: unknown. */
int alert_silence_expire(struct alert_engine *e, uint64_t id, int64_t now);
/* Copies up to max silences; returns how many there are. */
uint32_t alert_silences(
    const struct alert_engine *e, struct alert_silence *out, uint32_t max);

/* Copies up to max alerts (in first-seen order), with silenced and
 * inhibited as of now; returns how many there are. */
uint32_t alert_engine_list(const struct alert_engine *e, struct alert_info *out,
    uint32_t max, int64_t now);
/* One alert by fingerprint: AQ_OK, or AQ_ERR_INVAL. */
int alert_engine_get(const struct alert_engine *e, const char *fingerprint,
    struct alert_info *out, int64_t now);
void alert_engine_stats(const struct alert_engine *e, struct alert_stats *out);

/* The fingerprint of (rule, object): 16 lower-case hex digits. */
void alert_fingerprint(
    const char *rule, const char *object, char out[NOTICE_ID_MAX]);
const char *alert_state_name(enum alert_state s);

/* A notice id from the engine's sequence, for notices made elsewhere (the
 * dust sites') so that outbox keys never collide. */
uint64_t alert_engine_notice_id(struct alert_engine *e);

#endif
