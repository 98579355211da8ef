/* ingest: MQTT to engine (see ingest.h). */
#include "sensors/ingest.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/fcgrid.h"
#include "daemon/journal.h"
#include "daemon/log.h"

#define RING_BYTES_PER_MSG 512     /* ring size = queue * this */
#define FULL_WAIT_NS 100000000     /* wait for room before counting a loss */
#define PUBLISH_EVERY_NS 100000000 /* views at least this often */
/* A busy worker that finds the ring empty naps this long rather than ask
 * to be woken: a wake-up per message cost more than the work. */
#define NAP_NS 1000000
/* Idle this long, the worker sleeps until a message wakes it. */
#define IDLE_NS 100000000
#define SESSION_EXPIRY 604800 /* v5: keep the session a week */
#define RECEIVE_MAX 1000      /* v5: QoS 1 messages in flight to us */
#define READ_BATCH 256        /* packets read per poll() at most */
#define IMAGE_NAME "state.img"
#define JOURNAL_SYNC_NS 1000000000 /* fdatasync the journal this often */
#define REWRITE_HOURS 3 /* rows rewritten after a restart (lost in queue) */

/* A message in the ring: header, topic (NUL-terminated), payload. */
struct rec {
	uint32_t size; /* whole record, padded to 8; 0 marks a wrap */
	uint32_t topic_len;
	uint32_t payload_len;
	int32_t decoder;
	int64_t arrived_ns;
	uint64_t seq; /* journal sequence number; 0 when not journaled */
};

struct ingest {
	struct state *st;
	struct mosquitto *mosq;
	pthread_t net, work;
	_Atomic bool stop_net, stop_work;
	bool net_started, work_started;
	int protocol; /* MQTT_PROTOCOL_V5 or MQTT_PROTOCOL_V311 */
	bool fell_back;
	_Atomic bool resubscribe, requalify; /* set by ingest_reload() */
	int subacks_due;                     /* network thread only */
	unsigned rng;
	struct complain conn_complain;
	/* Network thread only: whether the broker answered CONNECT on this
	 * connection, and libmosquitto's first TLS error on it. */
	bool connacked;
	char tls_error[160];

	/* The ring: written by the network thread, read by the worker. */
	pthread_mutex_t mu;
	pthread_cond_t nonempty, room;
	bool sleeping; /* the worker waits to be woken */
	uint8_t *ring;
	size_t cap, head, tail, used; /* bytes */
	size_t count, count_max;      /* messages */

	/* Durability (with a store folder): every message goes to the
	 * journal, under mu, in ring order; the worker notes the last
	 * sequence number it applied and hands images of the state to the
	 * image thread, which writes them and releases the journal. */
	struct journal *j;
	char image_path[CONF_PATH_MAX + 16];
	uint64_t applied; /* worker only */
	pthread_t imager;
	bool imager_started;
	pthread_mutex_t imu;
	pthread_cond_t icond;
	void *img; /* under imu: the image waiting to be written */
	size_t img_len;
	uint64_t img_mark;
	bool img_busy; /* the image thread owns img */
	bool imager_stop;
	struct complain image_complain;
};

static int64_t now_ns(void);
static int64_t wall_ns(void);
static void after_ns(struct timespec *t, int64_t ns);
static int subscriber_decoder(const struct conf *c, const char *topic);
static void subscribe_all(struct ingest *in);
static bool ext_forecast(
    struct ingest *in, const char *topic, const void *payload, size_t len);
static void on_log(struct mosquitto *m, void *obj, int level, const char *msg);
static void on_subscribe(struct mosquitto *m, void *obj, int mid, int count,
    const int *granted, const mosquitto_property *props);
static void on_connect(struct mosquitto *m, void *obj, int rc, int flags,
    const mosquitto_property *props);
static void on_disconnect(
    struct mosquitto *m, void *obj, int rc, const mosquitto_property *props);
static void on_message(struct mosquitto *m, void *obj,
    const struct mosquitto_message *msg, const mosquitto_property *props);
static bool ring_room(struct ingest *in, size_t size);
static bool ring_put(struct ingest *in, const char *topic, const void *data,
    size_t len, int decoder, int64_t arrived);
static int mqtt_setup(struct ingest *in);
static int mqtt_connect(struct ingest *in);
static int net_turn(struct ingest *in, int timeout_ms);
static void *imager_main(void *arg);
static int resume(struct ingest *in);
static void take_image(struct ingest *in);
static void *net_main(void *arg);
static void *work_main(void *arg);
static void sleep_backoff(struct ingest *in, int64_t *delay);
static void count(struct state *st, int dec, int kind, bool ok, uint64_t n);
static void count_flagged(struct state *st, const struct decode_result *res);
static bool registry_refuses(const struct conf *c, const struct decoded *d,
    int64_t sidx, enum reason *why);

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t
wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The deadline ns from now for pthread_cond_timedwait, on the monotonic
 * clock the condition variables use (a wall-clock step must not stretch a
 * nap into hours). */
static void
after_ns(struct timespec *t, int64_t ns)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_sec += (time_t)(ns / 1000000000);
	t->tv_nsec += (long)(ns % 1000000000);
	if (t->tv_nsec >= 1000000000) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000;
	}
}

/* Bits set in x. */
static unsigned
pop_count(uint32_t x)
{
	unsigned n = 0;

	for (; x != 0; x &= x - 1)
		n++;
	return n;
}

void
ingest_qc_conf(const struct conf *c, struct qc_conf *out)
{
	qc_defaults(out);
	memcpy(out->max, c->qc_max, sizeof(out->max));
	out->check_future = c->check_future;
	out->max_future = c->max_future;
}

/* kind 0: messages, 1: readings. */
static void
count(struct state *st, int dec, int kind, bool ok, uint64_t n)
{
	struct counters *k = state_counters(st);
	_Atomic uint64_t *c;

	if (dec < 0 || dec >= STATE_DECODERS_MAX || n == 0)
		return;
	c = kind == 0 ? &k->messages[dec][ok] : &k->readings[dec][ok];
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* Values the decoder left out for their HJ 212 flag, by letter. */
static void
count_flagged(struct state *st, const struct decode_result *res)
{
	struct counters *k = state_counters(st);

	for (int f = 0; f < 26; f++)
		if (res->flagged[f] != 0)
			atomic_fetch_add_explicit(&k->hj212_flagged[f],
			    res->flagged[f], memory_order_relaxed);
}

/*
 * A reading that only a registered sensor may send (an HJ 212 data
 * logger, whose MN is its id): never placed by its payload, and refused
 * when the registry insists on a password it did not send.  Registered
 * sensors are the engine's first, in registry order, so sidx indexes
 * c->sensors.
 */
static bool
registry_refuses(const struct conf *c, const struct decoded *d, int64_t sidx,
    enum reason *why)
{
	if (!d->registered_only)
		return false;
	if (sidx < 0 || (uint64_t)sidx >= c->nsensors) {
		*why = REASON_UNKNOWN_LOGGER;
		return true;
	}
	if (c->sensors[sidx].password[0] != '\0' &&
	    strcmp(c->sensors[sidx].password, d->pw) != 0) {
		*why = REASON_BAD_PASSWORD;
		return true;
	}
	return false;
}

/* The decoders' weather fields that the engine keeps per cell-hour. */
static const struct {
	enum met met;
	enum wx_field wx;
} met_wx[] = {
    {MET_TEMP, WX_TEMP},
    {MET_RH, WX_RH},
    {MET_PRES, WX_PRES},
    {MET_RAIN, WX_RAIN},
    {MET_WS, WX_WS},
    {MET_WD, WX_WD},
};

int
ingest_apply(struct state *st, const struct qc_conf *qc, int decoder,
    const char *topic, const void *payload, size_t len, int64_t now)
{
	const struct conf *c = state_conf(st);
	struct win *w = state_engine(st);
	const struct state_divert *div = state_divert(st);
	struct decode_result res;
	enum reason why;
	int applied = 0, refused = 0;

	if (decode((enum decoder)decoder, topic, payload, len,
		(size_t)c->max_payload, now, &res, &why) != AQ_OK) {
		count_flagged(st, &res);
		for (int r = 0; r < REASON_COUNT; r++)
			state_count_reject(st, (enum reason)r, res.dropped[r]);
		state_count_reject(st, why, 1);
		count(st, decoder, 0, false, 1);
		log_debug("ingest: message on %s refused: %s", topic,
		    reason_name(why));
		return 0;
	}
	for (int i = 0; i < res.n; i++) {
		struct decoded *d = &res.r[i];
		struct reading r = {0};
		int64_t cell = -1, sidx = win_find_sensor(w, d->sensor), prev;
		uint32_t sensor, out;
		int rc;

		/* A site's boundary monitor is not ambient air: its
		 * readings go to the sites, never into a cell.  The site
		 * declares it, so an HJ 212 one needs no registry entry. */
		if (sidx < 0 && div != NULL && div->owns(div->ctx, d->sensor)) {
			if (qc_check(qc, d, now, res.dropped, &why) != AQ_OK)
				goto refuse;
			r.ts = d->ts;
			r.period = d->period;
			r.has = d->has;
			memcpy(r.v, d->v, sizeof(r.v));
			rc = div->reading(div->ctx, d->sensor, &r,
			    (d->met_has & (1u << MET_TSP)) ? d->met[MET_TSP]
							   : NAN,
			    now);
			if (rc == AQ_OK) {
				applied++;
				continue;
			}
			why = rc == AQ_ERR_STALE ? REASON_TOO_LATE
			    : rc == AQ_ERR_DUP   ? REASON_DUPLICATE
						 : REASON_OUT_OF_RANGE;
			goto refuse;
		}
		if (registry_refuses(c, d, sidx, &why))
			goto refuse;
		if (qc_check(qc, d, now, res.dropped, &why) != AQ_OK)
			goto refuse;
		if (sidx < 0) {
			/* Not registered: placed by its cell, else its
			 * position. */
			if (d->cell[0] != '\0') {
				cell = conf_cell_find(c, d->cell);
				why = REASON_UNKNOWN_CELL;
			} else if (d->has_pos) {
				cell = conf_cell_at(c, d->lat, d->lon);
				why = REASON_UNPLACED;
			} else {
				why = REASON_UNPLACED;
			}
			if (cell < 0)
				goto refuse;
			if (state_sensor(st, d->sensor, (uint32_t)cell,
				&sensor) != AQ_OK) {
				why = REASON_CAPACITY;
				goto refuse;
			}
		} else {
			sensor = (uint32_t)sidx;
		}
		r.ts = d->ts;
		r.period = d->period;
		r.has = d->has;
		for (int p = 0; p < POL_COUNT; p++) {
			r.v[p] = d->v[p];
			/* Registered sensors come first in the engine, in
			 * registry order; calibration follows QC. */
			if (sensor < c->nsensors &&
			    (c->sensors[sensor].cal_has & (1u << p)))
				r.v[p] = fmax(0.0,
				    d->v[p] * c->sensors[sensor].slope[p] +
					c->sensors[sensor].intercept[p]);
		}
		/* The weather goes to the cell-hour with the pollutants. */
		for (size_t k = 0; k < sizeof(met_wx) / sizeof(met_wx[0]); k++)
			if (d->met_has & (1u << met_wx[k].met)) {
				r.wx_has |= 1u << met_wx[k].wx;
				r.wx[met_wx[k].wx] = d->met[met_wx[k].met];
			}
		prev = win_cell_newest_hour(w, win_sensor_cell(w, sensor));
		if ((d->met_has & (1u << MET_WS)) &&
		    (d->met_has & (1u << MET_WD)))
			state_wind(
			    st, sensor, r.ts, d->met[MET_WS], d->met[MET_WD]);
		/* A faulty sensor's values stay out of the statistics; one
		 * with nothing left is still seen (status, values). */
		if ((out = state_fault_check(st, sensor, &r)) != 0) {
			state_count_reject(st, REASON_SENSOR_FAULT,
			    (uint64_t)pop_count(out & r.has));
			if ((r.has & ~out) == 0) {
				state_updated(st, sensor, &r, d->v, prev, now);
				refused++;
				continue;
			}
			r.has &= ~out;
		}
		state_before_update(st, sensor, r.ts);
		rc = win_update(w, sensor, &r);
		if (rc == AQ_OK) {
			state_updated(st, sensor, &r, d->v, prev, now);
			applied++;
			continue;
		}
		why = rc == AQ_ERR_STALE ? REASON_TOO_LATE
		    : rc == AQ_ERR_DUP   ? REASON_DUPLICATE
					 : REASON_OUT_OF_RANGE;
	refuse:
		state_count_reject(st, why, 1);
		refused++;
		log_debug_id(d->cell, d->sensor,
		    "ingest: reading of %s at %lld refused: %s", d->sensor,
		    (long long)d->ts, reason_name(why));
	}
	count_flagged(st, &res);
	for (int r = 0; r < REASON_COUNT; r++)
		state_count_reject(st, (enum reason)r, res.dropped[r]);
	count(st, decoder, 0, applied > 0, 1);
	count(st, decoder, 1, true, (uint64_t)applied);
	count(st, decoder, 1, false, (uint64_t)refused);
	return applied;
}

/* The decoder of the first subscription whose filter matches topic. */
static int
subscriber_decoder(const struct conf *c, const char *topic)
{
	for (int k = 0; k < c->nsubs; k++) {
		bool match = false;

		if (mosquitto_topic_matches_sub(
			c->subs[k].filter, topic, &match) == MOSQ_ERR_SUCCESS &&
		    match)
			return c->subs[k].decoder;
	}
	return -1;
}

/* Whether size bytes fit at the head, wrapping to the start if they fit
 * only there.  Called with in->mu held. */
static bool
ring_room(struct ingest *in, size_t size)
{
	if (in->count >= in->count_max)
		return false;
	if (in->used == 0) {
		in->head = in->tail = 0;
		return size <= in->cap;
	}
	if (in->head < in->tail)
		return in->head + size <= in->tail;
	if (in->head == in->tail)
		return false; /* full */
	if (in->head + size <= in->cap)
		return true;
	if (size > in->tail)
		return false;
	/* Skip the tail end of the ring; a zero size marks the skip (records
	 * are 8-aligned, so at least 8 bytes remain to hold it). */
	memset(in->ring + in->head, 0, sizeof(uint32_t));
	in->used += in->cap - in->head;
	in->head = 0;
	return true;
}

static bool
ring_put(struct ingest *in, const char *topic, const void *data, size_t len,
    int decoder, int64_t arrived)
{
	size_t tlen = strlen(topic);
	size_t size = (sizeof(struct rec) + tlen + 1 + len + 7) & ~(size_t)7;
	struct timespec deadline;
	struct rec h;
	bool ok = false;

	if (size > in->cap / 2)
		return false;
	after_ns(&deadline, FULL_WAIT_NS);
	pthread_mutex_lock(&in->mu);
	/* Back-pressure first: wait a little for the worker to make room. */
	while (!ring_room(in, size))
		if (pthread_cond_timedwait(&in->room, &in->mu, &deadline) ==
		    ETIMEDOUT)
			goto out;
	h.size = (uint32_t)size;
	h.topic_len = (uint32_t)tlen;
	h.payload_len = (uint32_t)len;
	h.decoder = decoder;
	h.arrived_ns = arrived;
	h.seq = 0;
	/* Journaled in ring order, under the same lock, so that "applied up
	 * to seq" means every earlier message too. */
	if (in->j != NULL &&
	    journal_add(in->j, decoder, wall_ns(), topic, data, len, &h.seq) !=
		AQ_OK)
		h.seq = 0;
	memcpy(in->ring + in->head, &h, sizeof(h));
	memcpy(in->ring + in->head + sizeof(h), topic, tlen + 1);
	if (len > 0) /* an empty payload comes with a NULL pointer */
		memcpy(in->ring + in->head + sizeof(h) + tlen + 1, data, len);
	in->head += size;
	if (in->head == in->cap)
		in->head = 0;
	in->used += size;
	in->count++;
	atomic_store_explicit(&state_counters(in->st)->queue_depth,
	    (int64_t)in->count, memory_order_relaxed);
	if (in->sleeping)
		pthread_cond_signal(&in->nonempty);
	ok = true;
out:
	pthread_mutex_unlock(&in->mu);
	return ok;
}

int
ingest_submit(struct ingest *in, int decoder, const char *topic,
    const void *payload, size_t len)
{
	int64_t arrived = now_ns();

	if (len > (size_t)state_conf(in->st)->max_payload) {
		state_count_reject(in->st, REASON_OVERSIZE, 1);
		count(in->st, decoder, 0, false, 1);
		return AQ_ERR_RANGE;
	}
	if (!ring_put(in, topic, payload, len, decoder, arrived)) {
		state_count_reject(in->st, REASON_QUEUE_FULL, 1);
		count(in->st, decoder, 0, false, 1);
		return AQ_ERR_FULL;
	}
	return AQ_OK;
}

void
ingest_commit(struct ingest *in)
{
	if (in->j != NULL && journal_commit(in->j) != AQ_OK &&
	    log_complain(&in->image_complain))
		log_warnx("ingest: journal: cannot write (%llu messages not "
			  "kept across a restart so far)",
		    (unsigned long long)journal_failed(in->j));
}

static void
on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg,
    const mosquitto_property *props)
{
	struct ingest *in = obj;
	int dec = subscriber_decoder(state_conf(in->st), msg->topic);

	(void)m;
	(void)props;
	if (ext_forecast(in, msg->topic, msg->payload, (size_t)msg->payloadlen))
		return;
	/* A retained leftover of a filter no longer wanted has no decoder;
	 * every other message is queued or counted as lost. */
	if (dec >= 0)
		(void)ingest_submit(
		    in, dec, msg->topic, msg->payload, (size_t)msg->payloadlen);
}

/*
 * An external area forecast ([forecast] external_topic): handled here in
 * the network thread (a few a day), not queued for the engine.  The area
 * is the message's "area", or else the topic's last level.  Kept in the
 * store when there is one.  Returns whether topic is the forecasts'.
 */
static bool
ext_forecast(
    struct ingest *in, const char *topic, const void *payload, size_t len)
{
	const struct conf *c = state_conf(in->st);
	struct fcgrid *g = state_forecasts(in->st);
	struct fcgrid_ext d[FCGRID_EXT_DAYS];
	const char *area, *why = NULL;
	bool match = false;
	json_t *j, *days, *v;
	json_error_t err;
	size_t k;
	int n = 0, ai = -1;

	if (c->forecast_ext_topic[0] == '\0' ||
	    mosquitto_topic_matches_sub(c->forecast_ext_topic, topic, &match) !=
		MOSQ_ERR_SUCCESS ||
	    !match)
		return false;
	if (g == NULL)
		return true;
	if ((j = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &err)) ==
	    NULL) {
		log_warnx("forecast: %s: not JSON (%s)", topic, err.text);
		return true;
	}
	area = json_string_value(json_object_get(j, "area"));
	if (area == NULL)
		area = strrchr(topic, '/') ? strrchr(topic, '/') + 1 : topic;
	for (uint32_t a = 0; a < c->nareas && ai < 0; a++)
		if (strcmp(c->areas[a].id, area) == 0)
			ai = (int)a;
	days = json_object_get(j, "days");
	if (ai < 0)
		why = "no such area";
	else if (!json_is_array(days) ||
	    json_array_size(days) > FCGRID_EXT_DAYS)
		why = "days: expected an array of at most 10 {date, aqi}";
	json_array_foreach(days, k, v)
	{
		json_t *a = json_object_get(v, "aqi");
		const char *ds = json_string_value(json_object_get(v, "date"));

		if (why != NULL)
			break;
		if (ds == NULL || tz_parse_date(ds, &d[n].date) != AQ_OK ||
		    !json_is_integer(a) || json_integer_value(a) < 0 ||
		    json_integer_value(a) > 500) {
			why = "days: expected {\"date\": \"YYYY-MM-DD\", "
			      "\"aqi\": 0..500}";
			break;
		}
		d[n++].aqi = (int)json_integer_value(a);
	}
	if (why == NULL &&
	    fcgrid_set_external(g, (uint32_t)ai, d, n, (int64_t)time(NULL)) !=
		AQ_OK)
		why = "days: dates ascending, without repeats";
	if (why != NULL)
		log_warnx("forecast: %s: %s", topic, why);
	else if (state_store(in->st) != NULL &&
	    fcgrid_ext_save(g, (uint32_t)ai, state_store(in->st), area) !=
		AQ_OK)
		log_warnx(
		    "forecast: area %s's external forecast not stored", area);
	else
		log_info("forecast: area %s: external forecast of %d days",
		    c->areas[ai].id, n);
	json_decref(j);
	return true;
}

static void
subscribe_all(struct ingest *in)
{
	const struct conf *c = state_conf(in->st);

	if (c->forecast_ext_topic[0] != '\0') {
		int r = mosquitto_subscribe_v5(
		    in->mosq, NULL, c->forecast_ext_topic, 1, 0, NULL);

		if (r != MOSQ_ERR_SUCCESS)
			log_warnx("ingest: subscribe %s: %s",
			    c->forecast_ext_topic, mosquitto_strerror(r));
		else
			in->subacks_due++;
	}

	for (int s = 0; s < c->nsubs; s++) {
		int r = mosquitto_subscribe_v5(
		    in->mosq, NULL, c->subs[s].filter, c->subs[s].qos, 0, NULL);

		if (r != MOSQ_ERR_SUCCESS)
			log_warnx("ingest: subscribe %s: %s", c->subs[s].filter,
			    mosquitto_strerror(r));
		else
			in->subacks_due++;
	}
}

/* Ready only once the broker has acknowledged every subscription: until
 * then, messages published to the filters could still be missed. */
static void
on_subscribe(struct mosquitto *m, void *obj, int mid, int count,
    const int *granted, const mosquitto_property *props)
{
	struct ingest *in = obj;
	struct counters *k = state_counters(in->st);

	(void)m;
	(void)mid;
	(void)props;
	for (int i = 0; i < count; i++)
		if (granted[i] >= 0x80)
			log_warnx("ingest: the broker refused a subscription "
				  "(reason 0x%02x)",
			    granted[i]);
	if (in->subacks_due > 0 && --in->subacks_due == 0 &&
	    !atomic_exchange(&k->mqtt_connected, 1))
		log_info("ingest: subscribed; ready");
}

static void
on_connect(struct mosquitto *m, void *obj, int rc, int flags,
    const mosquitto_property *props)
{
	struct ingest *in = obj;
	const struct conf *c = state_conf(in->st);
	struct counters *k = state_counters(in->st);

	(void)m;
	(void)flags;
	(void)props;
	in->connacked = true;
	if (rc != 0) {
		if (log_complain(&in->conn_complain))
			log_warnx("ingest: broker refused the connection: %s",
			    in->protocol == MQTT_PROTOCOL_V5
				? mosquitto_reason_string(rc)
				: mosquitto_connack_string(rc));
		/* A v3.1.1-only broker answers v5 with "unsupported
		 * protocol version": retry in v3.1.1. */
		if (in->protocol == MQTT_PROTOCOL_V5 && c->mqtt_protocol == 0 &&
		    (rc == MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION || rc == 1))
			in->fell_back = true;
		return;
	}
	log_complain_clear(&in->conn_complain);
	/* Subscriptions are not trusted to survive: subscribe every time. */
	in->subacks_due = 0;
	subscribe_all(in);
	atomic_fetch_add(&k->mqtt_connects, 1);
	log_info("ingest: connected to %s:%lld (MQTT %s), %d subscription%s",
	    c->mqtt_host, (long long)c->mqtt_port,
	    in->protocol == MQTT_PROTOCOL_V5 ? "5" : "3.1.1", c->nsubs,
	    c->nsubs == 1 ? "" : "s");
}

static void
on_disconnect(
    struct mosquitto *m, void *obj, int rc, const mosquitto_property *props)
{
	struct ingest *in = obj;

	(void)m;
	(void)props;
	if (atomic_exchange(&state_counters(in->st)->mqtt_connected, 0) &&
	    rc != 0)
		log_warnx("ingest: disconnected from the broker: %s",
		    mosquitto_strerror(rc));
}

/* Keeps libmosquitto's first OpenSSL error of a connection, for the
 * line that reports its failure (the others are its own chatter). */
static void
on_log(struct mosquitto *m, void *obj, int level, const char *msg)
{
	struct ingest *in = obj;

	(void)m;
	if ((level & MOSQ_LOG_ERR) && in->tls_error[0] == '\0' &&
	    strncmp(msg, "OpenSSL Error", 13) == 0)
		snprintf(in->tls_error, sizeof(in->tls_error), "%s", msg);
}

static int
mqtt_setup(struct ingest *in)
{
	const struct conf *c = state_conf(in->st);
	int rc;

	if (in->mosq != NULL)
		mosquitto_destroy(in->mosq);
	/* clean_session false: the broker keeps the session and queues
	 * QoS 1 messages while the daemon is away. */
	if ((in->mosq = mosquitto_new(c->mqtt_client_id, false, in)) == NULL) {
		log_warn("ingest: mosquitto_new");
		return -1;
	}
	/* Our own thread runs the loop: the library then queues PUBACKs
	 * instead of sending them from inside its read, and net_turn() sends
	 * them only once the messages are in the journal. */
	mosquitto_threaded_set(in->mosq, true);
	mosquitto_int_option(in->mosq, MOSQ_OPT_PROTOCOL_VERSION, in->protocol);
	/* MQTT 5: let the broker keep many QoS 1 messages in flight to us
	 * (libmosquitto's default of 20 makes delivery wait on round trips);
	 * the ring, not the broker's window, is where back-pressure lives. */
	mosquitto_int_option(in->mosq, MOSQ_OPT_RECEIVE_MAXIMUM, RECEIVE_MAX);
	mosquitto_connect_v5_callback_set(in->mosq, on_connect);
	mosquitto_disconnect_v5_callback_set(in->mosq, on_disconnect);
	mosquitto_message_v5_callback_set(in->mosq, on_message);
	mosquitto_subscribe_v5_callback_set(in->mosq, on_subscribe);
	mosquitto_log_callback_set(in->mosq, on_log);
	if (c->mqtt_username[0] != '\0') {
		char pw[256] = "";
		FILE *f = NULL;

		if (c->mqtt_password_file[0] != '\0') {
			if ((f = fopen(c->mqtt_password_file, "r")) == NULL) {
				log_warn("ingest: %s", c->mqtt_password_file);
				return -1;
			}
			if (fgets(pw, sizeof(pw), f) != NULL)
				pw[strcspn(pw, "\r\n")] = '\0';
			fclose(f);
		}
		rc = mosquitto_username_pw_set(in->mosq, c->mqtt_username,
		    c->mqtt_password_file[0] != '\0' ? pw : NULL);
		memset(pw, 0, sizeof(pw));
		if (rc != MOSQ_ERR_SUCCESS) {
			log_warnx(
			    "ingest: credentials: %s", mosquitto_strerror(rc));
			return -1;
		}
	}
	if (c->mqtt_ca_file[0] != '\0') {
		rc = mosquitto_tls_set(in->mosq, c->mqtt_ca_file, NULL,
		    c->mqtt_cert_file[0] ? c->mqtt_cert_file : NULL,
		    c->mqtt_key_file[0] ? c->mqtt_key_file : NULL, NULL);
		if (rc != MOSQ_ERR_SUCCESS) {
			log_warnx("ingest: TLS: %s", mosquitto_strerror(rc));
			return -1;
		}
	}
	return 0;
}

static int
mqtt_connect(struct ingest *in)
{
	const struct conf *c = state_conf(in->st);
	mosquitto_property *props = NULL;
	int rc;

	if (in->protocol == MQTT_PROTOCOL_V5)
		mosquitto_property_add_int32(
		    &props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, SESSION_EXPIRY);
	rc = mosquitto_connect_bind_v5(in->mosq, c->mqtt_host,
	    (int)c->mqtt_port, (int)c->mqtt_keepalive, NULL, props);
	mosquitto_property_free_all(&props);
	return rc;
}

/* Sleeps the current backoff with +-25% jitter, then doubles it up to the
 * configured cap; wakes early when asked to stop. */
static void
sleep_backoff(struct ingest *in, int64_t *delay)
{
	const struct conf *c = state_conf(in->st);
	int64_t ms = *delay, jitter;

	in->rng = in->rng * 1103515245u + 12345u;
	jitter = (int64_t)((in->rng >> 8) % (uint32_t)(ms / 2 + 1)) - ms / 4;
	for (int64_t left = ms + jitter;
	     left > 0 && !atomic_load(&in->stop_net); left -= 50) {
		struct timespec t = {0, 50 * 1000000};

		nanosleep(&t, NULL);
	}
	*delay = *delay * 2 > c->mqtt_backoff_max * 1000
	    ? c->mqtt_backoff_max * 1000
	    : *delay * 2;
}

/*
 * One turn of the network loop, as mosquitto_loop() does it but reading
 * every packet already waiting before polling again: libmosquitto reads one
 * QoS 1 packet per select(), and that system call per message was the
 * largest cost of ingest.
 */
static int
net_turn(struct ingest *in, int timeout_ms)
{
	struct mosquitto *m = in->mosq;
	struct pollfd pfd = {.fd = mosquitto_socket(m), .events = POLLIN};
	int rc;

	if (pfd.fd < 0)
		return MOSQ_ERR_NO_CONN;
	if (mosquitto_want_write(m))
		pfd.events |= POLLOUT;
	if (poll(&pfd, 1, timeout_ms) < 0 && errno != EINTR)
		return MOSQ_ERR_ERRNO;
	if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
		for (int k = 0; k < READ_BATCH; k++) {
			/* The library reports "nothing more yet" only in
			 * errno, with success. */
			errno = 0;
			if ((rc = mosquitto_loop_read(m, 1)) !=
			    MOSQ_ERR_SUCCESS)
				return rc;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
		}
	}
	/* Acknowledge only what the journal holds. */
	ingest_commit(in);
	if (mosquitto_want_write(m) &&
	    (rc = mosquitto_loop_write(m, 1)) != MOSQ_ERR_SUCCESS)
		return rc;
	return mosquitto_loop_misc(m);
}

static void *
net_main(void *arg)
{
	struct ingest *in = arg;
	struct counters *k = state_counters(in->st);
	int64_t delay = state_conf(in->st)->mqtt_backoff_min * 1000;
	bool ever = false;

	while (!atomic_load(&in->stop_net)) {
		int rc;

		if (in->fell_back && in->protocol == MQTT_PROTOCOL_V5) {
			in->protocol = MQTT_PROTOCOL_V311;
			in->fell_back = false;
			log_info("ingest: broker has no MQTT 5; using 3.1.1");
			if (mqtt_setup(in) != 0)
				break;
		}
		in->connacked = false;
		in->tls_error[0] = '\0';
		rc = ever ? mosquitto_reconnect(in->mosq) : mqtt_connect(in);
		if (rc != MOSQ_ERR_SUCCESS) {
			if (log_complain(&in->conn_complain))
				log_warnx("ingest: cannot connect to %s:%lld: "
					  "%s%s%s",
				    state_conf(in->st)->mqtt_host,
				    (long long)state_conf(in->st)->mqtt_port,
				    rc == MOSQ_ERR_ERRNO
					? strerror(errno)
					: mosquitto_strerror(rc),
				    in->tls_error[0] != '\0' ? ": " : "",
				    in->tls_error);
			sleep_backoff(in, &delay);
			continue;
		}
		if (ever)
			atomic_fetch_add(&k->mqtt_reconnects, 1);
		ever = true;
		do {
			rc = net_turn(in, 100);
			if (atomic_load(&k->mqtt_connected))
				delay =
				    state_conf(in->st)->mqtt_backoff_min * 1000;
			if (atomic_load(&k->mqtt_connected) &&
			    atomic_exchange(&in->resubscribe, false))
				subscribe_all(in);
		} while (rc == MOSQ_ERR_SUCCESS &&
		    !atomic_load(&in->stop_net) && !in->fell_back);
		atomic_store(&k->mqtt_connected, 0);
		if (atomic_load(&in->stop_net))
			break;
		/* Dropped before any CONNACK: a TLS peer that wants a client
		 * certificate does this, after the handshake. */
		if (!in->connacked && log_complain(&in->conn_complain))
			log_warnx("ingest: connection to %s:%lld ended before "
				  "the broker answered CONNECT%s%s",
			    state_conf(in->st)->mqtt_host,
			    (long long)state_conf(in->st)->mqtt_port,
			    in->tls_error[0] != '\0' ? ": " : "",
			    in->tls_error);
		sleep_backoff(in, &delay);
	}
	mosquitto_disconnect_v5(in->mosq, 0, NULL);
	/* Flush the DISCONNECT: a clean goodbye keeps the session. */
	for (int i = 0; i < 5; i++)
		(void)mosquitto_loop(in->mosq, 10, 1);
	atomic_store(&k->mqtt_connected, 0);
	return NULL;
}

static void *
work_main(void *arg)
{
	struct ingest *in = arg;
	struct qc_conf qc;
	int64_t last_publish = now_ns(), last_work = last_publish;
	int64_t last_image = last_publish;

	ingest_qc_conf(state_conf(in->st), &qc);
	for (;;) {
		struct rec h;
		const uint8_t *p;

		pthread_mutex_lock(&in->mu);
		while (in->count == 0 && !atomic_load(&in->stop_work)) {
			struct timespec t;

			/* Nothing to do: publish what changed, then nap while
			 * messages are flowing, or sleep until woken. */
			pthread_mutex_unlock(&in->mu);
			state_publish(in->st);
			last_publish = now_ns();
			pthread_mutex_lock(&in->mu);
			if (in->count != 0 || atomic_load(&in->stop_work))
				break;
			in->sleeping = last_publish - last_work > IDLE_NS;
			after_ns(&t, in->sleeping ? 50000000 : NAP_NS);
			pthread_cond_timedwait(&in->nonempty, &in->mu, &t);
			in->sleeping = false;
		}
		if (in->count == 0) {
			/* Asked to stop, and every message is applied. */
			pthread_mutex_unlock(&in->mu);
			break;
		}
		memcpy(&h.size, in->ring + in->tail, sizeof(h.size));
		if (h.size == 0) {
			in->used -= in->cap - in->tail;
			in->tail = 0;
		}
		memcpy(&h, in->ring + in->tail, sizeof(h));
		pthread_mutex_unlock(&in->mu);

		/* The producer never writes into [tail, tail + size) while the
		 * record is counted, so it is read without the lock. */
		if (atomic_exchange(&in->requalify, false))
			ingest_qc_conf(state_conf(in->st), &qc);
		p = in->ring + in->tail + sizeof(h);
		ingest_apply(in->st, &qc, h.decoder, (const char *)p,
		    p + h.topic_len + 1, h.payload_len, (int64_t)time(NULL));
		last_work = now_ns();
		state_latency(in->st, (uint64_t)(last_work - h.arrived_ns));
		if (h.seq != 0)
			in->applied = h.seq;

		pthread_mutex_lock(&in->mu);
		in->tail += h.size;
		if (in->tail == in->cap)
			in->tail = 0;
		in->used -= h.size;
		in->count--;
		atomic_store_explicit(&state_counters(in->st)->queue_depth,
		    (int64_t)in->count, memory_order_relaxed);
		/* Every producer waiting for room (the MQTT thread and the
		 * HJ 212 listener) gets to look. */
		pthread_cond_broadcast(&in->room);
		pthread_mutex_unlock(&in->mu);
		if (last_work - last_publish > PUBLISH_EVERY_NS) {
			state_publish(in->st);
			last_publish = now_ns();
		}
		if (in->j != NULL &&
		    last_work - last_image >
			state_conf(in->st)->snapshot_interval * 1000000000) {
			take_image(in);
			last_image = now_ns();
		}
	}
	state_publish(in->st);
	return NULL;
}

/* Hands an image of the state to the image thread, unless it is still
 * writing the last one (then the next turn tries again). */
static void
take_image(struct ingest *in)
{
	pthread_mutex_lock(&in->imu);
	if (!in->img_busy) {
		in->img_len = state_image_save(in->st, in->applied, in->img);
		in->img_mark = in->applied;
		in->img_busy = true;
		pthread_cond_signal(&in->icond);
	}
	pthread_mutex_unlock(&in->imu);
}

/* Writes the images the worker hands over, then lets the journal drop what
 * they hold; syncs the journal every second. */
static void *
imager_main(void *arg)
{
	struct ingest *in = arg;
	char msg[512];
	struct timespec t;

	pthread_mutex_lock(&in->imu);
	while (!in->imager_stop) {
		if (!in->img_busy) {
			after_ns(&t, JOURNAL_SYNC_NS);
			pthread_cond_timedwait(&in->icond, &in->imu, &t);
			if (!in->img_busy) {
				pthread_mutex_unlock(&in->imu);
				(void)journal_sync(in->j);
				pthread_mutex_lock(&in->imu);
				continue;
			}
		}
		pthread_mutex_unlock(&in->imu);
		/* The journal first: the image must not claim records that a
		 * power cut could still take from the journal's tail. */
		(void)journal_sync(in->j);
		if (journal_image_write(in->image_path, in->img, in->img_len,
			msg, sizeof(msg)) == AQ_OK)
			journal_release(in->j, in->img_mark);
		else if (log_complain(&in->image_complain))
			log_warnx("ingest: state image: %s", msg);
		pthread_mutex_lock(&in->imu);
		in->img_busy = false;
	}
	pthread_mutex_unlock(&in->imu);
	return NULL;
}

struct replay {
	struct ingest *in;
	struct qc_conf qc;
	uint64_t n, last;
};

static void
replay_one(void *ctx, const struct journal_rec *r)
{
	struct replay *rp = ctx;

	(void)ingest_apply(rp->in->st, &rp->qc, r->decoder, r->topic,
	    r->payload, r->len, r->arrived_ns / 1000000000);
	rp->n++;
	rp->last = r->seq;
}

/*
 * With a store folder: restores the last image of the state, applies what
 * the journal holds after it, and opens the journal for what comes next.
 * A missing image is a first start; a damaged or foreign one is set aside
 * with a warning (the journal is still applied).  Returns 0, or -1 after
 * logging why.
 */
static int
resume(struct ingest *in)
{
	const struct conf *c = state_conf(in->st);
	struct replay rp = {.in = in};
	int64_t t0 = now_ns();
	uint64_t mark = 0, torn = 0;
	char msg[512];
	void *buf = NULL;
	size_t len = 0;
	int rc;

	snprintf(in->image_path, sizeof(in->image_path), "%s/" IMAGE_NAME,
	    c->store_dir);
	rc = journal_image_read(in->image_path, &buf, &len, msg, sizeof(msg));
	if (rc == AQ_OK)
		rc =
		    state_image_load(in->st, buf, len, &mark, msg, sizeof(msg));
	free(buf);
	if (rc != AQ_OK && rc != AQ_ERR_NOTFOUND)
		log_warnx(
		    "ingest: %s: %s; starting without it", in->image_path, msg);
	ingest_qc_conf(c, &rp.qc);
	if (journal_open(c->store_dir, mark, replay_one, &rp, &in->j, &torn,
		msg, sizeof(msg)) != AQ_OK) {
		log_warnx("ingest: journal: %s", msg);
		return -1;
	}
	if (torn > 0)
		log_warnx("ingest: journal: %llu damaged record tails skipped",
		    (unsigned long long)torn);
	in->applied = rp.n > 0 ? rp.last : mark;
	state_rewrite_rows(in->st, REWRITE_HOURS);
	state_publish(in->st);
	if (rc == AQ_OK || rp.n > 0)
		log_info("ingest: resumed from %s%s and %llu journaled "
			 "messages in %lld ms",
		    rc == AQ_OK ? "the state image" : "nothing",
		    rc == AQ_OK ? "" : " (no image)", (unsigned long long)rp.n,
		    (long long)((now_ns() - t0) / 1000000));
	if ((in->img = malloc(state_image_size(in->st))) == NULL) {
		log_warn("ingest: state image buffer");
		return -1;
	}
	return 0;
}

struct ingest *
ingest_start(struct state *st)
{
	const struct conf *c = state_conf(st);
	struct ingest *in = calloc(1, sizeof(*in));

	if (in == NULL)
		return NULL;
	in->st = st;
	in->rng = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)in;
	in->protocol =
	    c->mqtt_protocol == 4 ? MQTT_PROTOCOL_V311 : MQTT_PROTOCOL_V5;
	in->count_max = (size_t)c->queue;
	in->cap = (size_t)c->queue * RING_BYTES_PER_MSG;
	if (in->cap < 4 * (size_t)c->max_payload)
		in->cap = 4 * (size_t)c->max_payload;
	in->cap = (in->cap + 7) & ~(size_t)7;
	pthread_mutex_init(&in->mu, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&in->nonempty, &ca);
		pthread_cond_init(&in->room, &ca);
		pthread_cond_init(&in->icond, &ca);
		pthread_condattr_destroy(&ca);
	}
	pthread_mutex_init(&in->imu, NULL);
	if ((in->ring = malloc(in->cap)) == NULL) {
		log_warn("ingest: queue of %zu bytes", in->cap);
		goto fail;
	}
	if (c->store_dir[0] != '\0') {
		if (resume(in) != 0)
			goto fail;
		if (pthread_create(&in->imager, NULL, imager_main, in) != 0)
			goto fail;
		in->imager_started = true;
	}
	mosquitto_lib_init();
	if (mqtt_setup(in) != 0)
		goto fail;
	if (pthread_create(&in->work, NULL, work_main, in) != 0)
		goto fail;
	in->work_started = true;
	if (pthread_create(&in->net, NULL, net_main, in) != 0)
		goto fail;
	in->net_started = true;
	return in;
fail:
	ingest_stop(in);
	return NULL;
}

void
ingest_reload(struct ingest *in)
{
	atomic_store(&in->resubscribe, true);
	atomic_store(&in->requalify, true);
}

void
ingest_stop(struct ingest *in)
{
	if (in == NULL)
		return;
	atomic_store(&in->stop_net, true);
	if (in->net_started)
		pthread_join(in->net, NULL);
	pthread_mutex_lock(&in->mu);
	atomic_store(&in->stop_work, true);
	pthread_cond_signal(&in->nonempty);
	pthread_mutex_unlock(&in->mu);
	if (in->work_started)
		pthread_join(in->work, NULL);
	if (in->imager_started) {
		pthread_mutex_lock(&in->imu);
		in->imager_stop = true;
		pthread_cond_signal(&in->icond);
		pthread_mutex_unlock(&in->imu);
		pthread_join(in->imager, NULL);
	}
	/* Everything received is applied: one last image, and the journal
	 * has nothing left to replay. */
	if (in->j != NULL && in->img != NULL) {
		char msg[512];
		size_t len = state_image_save(in->st, in->applied, in->img);

		ingest_commit(in);
		if (journal_image_write(in->image_path, in->img, len, msg,
			sizeof(msg)) == AQ_OK)
			journal_release(in->j, in->applied);
		else
			log_warnx("ingest: state image: %s", msg);
	}
	journal_close(in->j);
	free(in->img);
	if (in->mosq != NULL)
		mosquitto_destroy(in->mosq);
	mosquitto_lib_cleanup();
	pthread_cond_destroy(&in->room);
	pthread_cond_destroy(&in->nonempty);
	pthread_mutex_destroy(&in->mu);
	pthread_cond_destroy(&in->icond);
	pthread_mutex_destroy(&in->imu);
	free(in->ring);
	free(in);
}
