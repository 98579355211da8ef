/*
 * service: the running alert service -- the rule set (rule.h), the
 * lifecycle engine (alert.h) and the notifiers (notify.h) behind one lock,
 * so that the ingest worker (each cell view as it is published), the main
 * loop (ticks and sensor liveness, once a second) and the HTTP threads
 * (lists, acknowledgements, silences) can all reach them.
 *
 * It also keeps a feed of events for Server-Sent Events: every notice
 * (alert firing, repeated, resolved), every acknowledgement and silence,
 * and every change of a cell's AQI or level, each with an id growing by one
 * and a one-line JSON body.  The last SERVICE_EVENTS_MAX events are kept,
 * so a client resuming with Last-Event-ID gets what it missed if it was not
 * away too long (service_events() says when it was).
 *
 * Notices are written to the notifiers' durable outbox before the alert
 * state that records them (alert.h), so a crash may repeat a notice but
 * never loses one.  Thread-safe.  Logs problems (a store refusing writes)
 * through log.h, rate-limited.
 */
#ifndef AQ_ALERTS_SERVICE_H
#define AQ_ALERTS_SERVICE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "alerts/alert.h"
#include "alerts/notify.h"
#include "alerts/site.h"
#include "daemon/conf.h"
#include "daemon/err.h"
#include "daemon/state.h"
#include "daemon/store.h"

#define SERVICE_EVENTS_MAX 16384
#define SERVICE_EVENT_MAX 512 /* bytes of one event's JSON, with the NUL */

struct service_event {
	uint64_t id;
	char type[16]; /* "alert", "ack", "silence", "cell", "site" */
	char json[SERVICE_EVENT_MAX];
};

struct service;

/* Checks the rules, inhibitions, receivers and routes of c, reporting
 * every problem as "file:line: reason" to errs (aqgridd -t).  AQ_OK or
 * AQ_ERR_INVAL. */
int service_check(const struct conf *c, FILE *errs) AQ_MUSTCHECK;

/*
 * Builds the service for st's configuration with the store s (NULL: alerts
 * and the outbox live in memory only) and restores alert state from it.
 * Borrows st and s until service_free().  Returns AQ_OK with *out owned, or
 * AQ_ERR_INVAL (bad rules or receivers, reported to errs), AQ_ERR_IO,
 * AQ_ERR_NOMEM.  Nothing is sent before service_start().
 */
int service_new(struct state *st, struct store *s, FILE *errs,
    struct service **out) AQ_MUSTCHECK;
/* Starts delivering notifications (and sends what the outbox holds). */
int service_start(struct service *svc) AQ_MUSTCHECK;
/* Stops delivery (5 s for requests in flight; the rest stays in the
 * outbox) and frees.  NULL: no-op. */
void service_free(struct service *svc);

/* A cell's view was published (the ingest thread, from state's hook);
 * evaluates its rules.  NULL: the end of a publication; sends what it
 * raised (subject to [alerts] group_wait).  now: wall clock. */
void service_view(struct service *svc, const struct cell_view *v, int64_t now);
/* Once a second from the main loop: sensor liveness, groups, repeats. */
void service_tick(struct service *svc, int64_t now);

/* Acknowledges the open alert with this fingerprint.  AQ_ERR_INVAL when
 * there is none. */
int service_ack(struct service *svc, const char *fingerprint, const char *who,
    const char *comment, int64_t now) AQ_MUSTCHECK;
int service_silence_add(struct service *svc, const struct alert_silence *s,
    int64_t now, uint64_t *id) AQ_MUSTCHECK;
int service_silence_expire(
    struct service *svc, uint64_t id, int64_t now) AQ_MUSTCHECK;
/* Copies up to max silences / alerts; returns how many there are. */
uint32_t service_silences(
    struct service *svc, struct alert_silence *out, uint32_t max);
uint32_t service_alerts(
    struct service *svc, struct alert_info *out, uint32_t max, int64_t now);
int service_alert(struct service *svc, const char *fingerprint,
    struct alert_info *out, int64_t now) AQ_MUSTCHECK;

/*
 * Copies up to max events with id > after into out and their count to *n.
 * Returns false when events after `after` were already dropped (the client
 * was away too long and should reload), true otherwise.
 */
bool service_events(struct service *svc, uint64_t after,
    struct service_event *out, uint32_t max, uint32_t *n);
/* Id of the newest event (0: none yet). */
uint64_t service_event_last(struct service *svc);
/* Waits up to timeout_ms for an event with id > after; true if one came. */
bool service_event_wait(struct service *svc, uint64_t after, int timeout_ms);

void service_stats(struct service *svc, struct alert_stats *alerts,
    struct notify_stats *notify);
/* The store it persists to (NULL: none), for dead letters and attempts. */
struct store *service_store(struct service *svc);

/*
 * Dust sites (site.h).  service_divert() fills d so that the ingest
 * worker hands the sites' monitors' readings to the site engine instead
 * of the grid's (state_set_divert).  The readers copy under the lock;
 * site_info.def and site_black.def stay valid until service_free().
 */
void service_divert(struct service *svc, struct state_divert *d);
uint32_t service_site_count(struct service *svc);
int64_t service_site_find(struct service *svc, const char *id);
int service_site_info(struct service *svc, uint32_t site, int64_t now,
    struct site_info *out) AQ_MUSTCHECK;
uint32_t service_site_changes(
    struct service *svc, uint32_t site, struct site_change *out, uint32_t max);
uint32_t service_site_hours(struct service *svc, uint32_t site, int64_t *hours,
    struct site_eval *ev, uint32_t max);
uint32_t service_site_blacklist(
    struct service *svc, int32_t yyyymm, struct site_black *out, uint32_t max);
void service_site_rules(struct service *svc, struct site_rules *out);

#endif
