/* publish: results and alerts back to MQTT (see publish.h). */
#include "sensors/publish.h"

#include <math.h>
#include <mosquitto.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/aqi.h"
#include "daemon/fix.h"
#include "daemon/log.h"
#include "daemon/pol.h"
#include "daemon/tz.h"
#include "daemon/version.h"

#define TOPIC_MAX 512
#define PAYLOAD_MAX 4096
#define ROOM_WAIT_MS 1000 /* for room in the library's queue, at most */

enum pub_kind { PUB_CELL, PUB_AREA, PUB_ALERT };

/* A text being built; len stays below cap (cut when too long). */
struct text {
	char *p;
	size_t len, cap;
	bool cut;
};

/* One Home Assistant sensor of a cell. */
struct quantity {
	const char *key;  /* in the cell's JSON, and the object id */
	const char *name; /* entity name */
	const char *device_class;
	const char *unit; /* NULL: none (the AQI) */
};

struct publish {
	struct state *st;
	const struct conf *c; /* the one at start: changes need a restart */
	struct mosquitto *mosq;
	char prefix[128], disc[128], node[64];
	int qos;
	bool retain, discovery;
	int64_t queue;
	uint32_t ncells, nareas;
	/* Marked cells: the ingest thread produces, the worker consumes. */
	_Atomic uint8_t *marked;
	uint32_t *ring; /* ncells slots: a cell is in it at most once */
	_Atomic uint64_t tail;
	uint64_t head; /* the worker's */
	/* The worker's: last text sent (FNV-1a; 0 none), areas to redo. */
	uint64_t *cell_hash, *area_hash;
	uint8_t *area_dirty;
	uint32_t *stamp;          /* per cell: area + 1 seen, deduplicates */
	uint32_t *ca_off, *ca_ix; /* areas of each cell (CSR) */
	/* Alerts: a ring under mu. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool wake, stop;
	char (*alerts)[PUBLISH_ALERT_MAX];
	uint32_t a_head, a_n;
	/* Messages handed to the library, not yet written. */
	_Atomic int64_t inflight;
	_Atomic int connected;
	_Atomic int resync;
	pthread_t worker;
	bool worker_started, loop_started;
};

static const struct quantity quantities[] = {
    {"aqi", "AQI", "aqi", NULL},
    {"pm25", "PM2.5", "pm25", "\xc2\xb5g/m\xc2\xb3"},
    {"pm10", "PM10", "pm10", "\xc2\xb5g/m\xc2\xb3"},
    {"o3", "Ozone", "ozone", "\xc2\xb5g/m\xc2\xb3"},
    {"no2", "NO2", "nitrogen_dioxide", "\xc2\xb5g/m\xc2\xb3"},
    {"so2", "SO2", "sulphur_dioxide", "\xc2\xb5g/m\xc2\xb3"},
    {"co_ppm", "CO", "carbon_monoxide", "ppm"},
};
#define NQUANT (sizeof(quantities) / sizeof(quantities[0]))

/* The hourly concentrations a cell's message carries, by name. */
static const struct {
	const char *key;
	enum ind ind;
} concs[] = {
    {"pm25", IND_PM25_1H},
    {"pm10", IND_PM10_1H},
    {"so2", IND_SO2_1H},
    {"no2", IND_NO2_1H},
    {"co", IND_CO_1H},
    {"o3", IND_O3_1H},
    {"o3_8h", IND_O3_8H},
    {"pm25_24h", IND_PM25_24H},
};
#define NCONCS (sizeof(concs) / sizeof(concs[0]))
/* Of those, the ones an area averages (the first six). */
#define NMEANS 6

static void put(struct text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void put_str(struct text *t, const char *s);
static void put_fix(struct text *t, bool has, int64_t v);
static void safe_id(const char *id, char *out, size_t len);
static uint64_t hash(const char *p, size_t len);
static bool conc(const struct cell_view *v, enum ind i, int64_t *out);
static bool send(struct publish *p, const char *topic, const char *payload,
    size_t len, bool retain, int kind);
static void cell_text(
    struct publish *p, const struct cell_view *v, struct text *t);
static void cell_weather(struct text *t, const struct wx_hour *w);
static void publish_cell(struct publish *p, uint32_t cell);
static void publish_area(struct publish *p, uint32_t area);
static void publish_discovery(struct publish *p);
static void resync(struct publish *p);
static void drain(struct publish *p);
static void *worker(void *arg);
static int client_setup(struct publish *p);
static void on_connect(struct mosquitto *m, void *obj, int rc);
static void on_disconnect(struct mosquitto *m, void *obj, int rc);
static void on_publish(struct mosquitto *m, void *obj, int mid);
static void wake(struct publish *p);
static void free_all(struct publish *p);

static void
put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->cut)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= t->cap - t->len) {
		t->cut = true;
		return;
	}
	t->len += (size_t)n;
}

/* A JSON string (NULL: null). */
static void
put_str(struct text *t, const char *s)
{
	if (s == NULL) {
		put(t, "null");
		return;
	}
	put(t, "\"");
	for (; *s != '\0' && !t->cut; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			put(t, "\\%c", ch);
		else if (ch < 0x20)
			put(t, "\\u%04x", ch);
		else
			put(t, "%c", ch);
	}
	put(t, "\"");
}

static void
put_fix(struct text *t, bool has, int64_t v)
{
	char buf[FIX_STR_MAX];

	if (has)
		put(t, "%s", fix_format(v, buf, sizeof(buf)));
	else
		put(t, "null");
}

/* An id as one topic level and a Home Assistant object id: letters,
 * digits, '_' and '-' kept, anything else '_'. */
static void
safe_id(const char *id, char *out, size_t len)
{
	size_t k = 0;

	for (; id[k] != '\0' && k + 1 < len; k++) {
		char ch = id[k];

		out[k] = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			(ch >= '0' && ch <= '9') || ch == '_' || ch == '-'
		    ? ch
		    : '_';
	}
	out[k] = '\0';
}

static uint64_t
hash(const char *p, size_t len)
{
	uint64_t h = UINT64_C(14695981039346656037);

	for (size_t k = 0; k < len; k++) {
		h ^= (unsigned char)p[k];
		h *= UINT64_C(1099511628211);
	}
	return h == 0 ? 1 : h;
}

/* A cell-hour value of indicator i in its pollutant's canonical unit,
 * rounded to 0.1 ug/m3 (0.001 mg/m3 for CO). */
static bool
conc(const struct cell_view *v, enum ind i, int64_t *out)
{
	enum pol pl = ind_pol(i);
	int64_t x;

	if (v->hour == WIN_NO_HOUR || !(v->stats.in.has & IND_BIT(i)) ||
	    pol_convert(pl, v->stats.in.v[i], v->stats.in.unit[i], pol_unit(pl),
		false, &x) != AQ_OK)
		return false;
	*out = fix_round_half_even(x, fix_step(pl == POL_CO ? 3 : 1));
	return true;
}

/*
 * Hands a message to the library: dropped (and counted) when the broker
 * is away, or when the library's queue stays full for ROOM_WAIT_MS.  Only
 * the worker calls this, so the wait never reaches ingest.
 */
static bool
send(struct publish *p, const char *topic, const char *payload, size_t len,
    bool retain, int kind)
{
	struct counters *c = state_counters(p->st);
	int waited = 0, rc;

	while (atomic_load(&p->connected) &&
	    atomic_load(&p->inflight) >= p->queue && waited < ROOM_WAIT_MS) {
		struct timespec ms = {0, 1000000};

		nanosleep(&ms, NULL);
		waited++;
	}
	if (!atomic_load(&p->connected) ||
	    atomic_load(&p->inflight) >= p->queue) {
		atomic_fetch_add_explicit(
		    &c->pub_dropped, 1, memory_order_relaxed);
		return false;
	}
	atomic_fetch_add(&p->inflight, 1);
	rc = mosquitto_publish(
	    p->mosq, NULL, topic, (int)len, payload, p->qos, retain);
	if (rc != MOSQ_ERR_SUCCESS) {
		atomic_fetch_sub(&p->inflight, 1);
		atomic_fetch_add_explicit(
		    &c->pub_dropped, 1, memory_order_relaxed);
		return false;
	}
	if (kind >= 0)
		atomic_fetch_add_explicit(
		    &c->pub_messages[kind], 1, memory_order_relaxed);
	else
		atomic_fetch_add_explicit(
		    &c->pub_discovery, 1, memory_order_relaxed);
	return true;
}

static void
cell_text(struct publish *p, const struct cell_view *v, struct text *t)
{
	const struct conf_cell *cc = &p->c->cells[v->cell];
	const struct aqi_result *a = &v->aqi;
	bool has = a->aqi >= 0;
	char hour[TZ_ISO_MAX];
	int64_t x = 0, ppm = 0;
	bool first = true;

	put(t, "{\"cell\":");
	put_str(t, cc->id);
	put(t, ",\"area\":");
	put_str(t,
	    cc->area >= 0 && (uint32_t)cc->area < p->c->nareas
		? p->c->areas[cc->area].id
		: NULL);
	put(t, ",\"hour\":");
	put_str(t, tz_format(state_tz(p->st), v->hour_end, hour, sizeof(hour)));
	put(t, ",\"time\":%lld,\"standard\":\"%s\"", (long long)v->hour_end,
	    aqi_std_name(a->std));
	if (has)
		put(t, ",\"aqi\":%d,\"level\":%d", a->aqi, a->level);
	else
		put(t, ",\"aqi\":null,\"level\":null");
	put(t, ",\"category\":");
	put_str(t, has ? aqi_category_en(a->std, a->level) : NULL);
	put(t, ",\"color\":");
	put_str(t, has ? aqi_color(a->std, a->level) : NULL);
	put(t, ",\"primary\":[");
	for (int i = 0; i < IND_AQI_COUNT; i++) {
		if (!has || !(a->primary & IND_BIT(i)))
			continue;
		put(t, "%s\"%s\"", first ? "" : ",", ind_name((enum ind)i));
		first = false;
	}
	put(t, "]");
	for (size_t k = 0; k < NCONCS; k++) {
		bool h = conc(v, concs[k].ind, &x);

		put(t, ",\"%s\":", concs[k].key);
		put_fix(t, h, x);
	}
	/* CO in ppm too, the unit every Home Assistant accepts. */
	put(t, ",\"co_ppm\":");
	put_fix(t,
	    conc(v, IND_CO_1H, &x) &&
		pol_convert(POL_CO, x, UNIT_MGM3, UNIT_PPM, false, &ppm) ==
		    AQ_OK,
	    fix_round_half_even(ppm, fix_step(3)));
	cell_weather(t, &v->stats.wx);
	put(t, "}");
}

/* The hour's weather as the engine keeps it (wx.h), null when absent. */
static void
cell_weather(struct text *t, const struct wx_hour *w)
{
	const struct {
		const char *key;
		double v;
		int decimals;
	} f[] = {{"temp", w->temp, 2}, {"rh", w->rh, 2}, {"pres", w->pres, 1},
	    {"rain", w->rain, 2}, {"ws", w->wspd, 2}, {"wd", w->wdir, 1}};

	put(t, ",\"weather\":{");
	for (size_t k = 0; k < sizeof(f) / sizeof(f[0]); k++) {
		put(t, "%s\"%s\":", k > 0 ? "," : "", f[k].key);
		if (isnan(f[k].v))
			put(t, "null");
		else
			put(t, "%.*f", f[k].decimals, f[k].v);
	}
	put(t, "}");
}

static void
publish_cell(struct publish *p, uint32_t cell)
{
	char topic[TOPIC_MAX], id[WIN_CELL_ID_MAX], buf[PAYLOAD_MAX];
	struct text t = {buf, 0, sizeof(buf), false};
	struct cell_view v;
	uint64_t h;

	if (state_view(p->st, cell, &v) != AQ_OK || v.hour == WIN_NO_HOUR)
		return;
	cell_text(p, &v, &t);
	if (t.cut || (h = hash(buf, t.len)) == p->cell_hash[cell])
		return;
	safe_id(p->c->cells[cell].id, id, sizeof(id));
	snprintf(topic, sizeof(topic), "%s/cells/%s", p->prefix, id);
	p->cell_hash[cell] =
	    send(p, topic, buf, t.len, p->retain, PUB_CELL) ? h : 0;
	for (uint32_t k = p->ca_off[cell]; k < p->ca_off[cell + 1]; k++)
		p->area_dirty[p->ca_ix[k]] = 1;
}

/* An area: its worst cell's AQI and level, mean hourly values. */
static void
publish_area(struct publish *p, uint32_t area)
{
	const struct conf_area *ar = &p->c->areas[area];
	char topic[TOPIC_MAX], id[CONF_ID_MAX], buf[PAYLOAD_MAX];
	char hour[TZ_ISO_MAX];
	struct text t = {buf, 0, sizeof(buf), false};
	int64_t sum[NMEANS] = {0}, newest = WIN_NO_HOUR;
	uint32_t n[NMEANS] = {0}, ncells = 0, ndata = 0;
	int worst = -1, level = 0, std = 0;
	const char *worst_id = NULL;
	uint64_t h;

	for (uint32_t k = 0; k < ar->ncells; k++) {
		uint32_t c = ar->cells[k];
		struct cell_view v;
		int64_t x = 0;

		if (p->stamp[c] == area + 1)
			continue;
		p->stamp[c] = area + 1;
		ncells++;
		if (state_view(p->st, c, &v) != AQ_OK || v.hour == WIN_NO_HOUR)
			continue;
		ndata++;
		std = (int)v.aqi.std;
		if (newest == WIN_NO_HOUR || v.hour_end > newest)
			newest = v.hour_end;
		if (v.aqi.aqi > worst) {
			worst = v.aqi.aqi;
			level = v.aqi.level;
			worst_id = p->c->cells[c].id;
		}
		for (size_t m = 0; m < NMEANS; m++) {
			if (conc(&v, concs[m].ind, &x)) {
				sum[m] += x;
				n[m]++;
			}
		}
	}
	/* Stamps are per area: reset them for the next area's pass. */
	for (uint32_t k = 0; k < ar->ncells; k++)
		p->stamp[ar->cells[k]] = 0;
	if (ndata == 0)
		return;
	put(&t, "{\"area\":");
	put_str(&t, ar->id);
	put(&t, ",\"name\":");
	put_str(&t, ar->name);
	put(&t, ",\"name_en\":");
	put_str(&t, ar->name_en);
	put(&t, ",\"hour\":");
	put_str(&t, tz_format(state_tz(p->st), newest, hour, sizeof(hour)));
	put(&t, ",\"time\":%lld,\"cells\":%u,\"cells_with_data\":%u",
	    (long long)newest, ncells, ndata);
	if (worst >= 0) {
		put(&t, ",\"aqi\":%d,\"level\":%d,\"category\":", worst, level);
		put_str(&t, aqi_category_en((enum aqi_std)std, level));
		put(&t, ",\"worst_cell\":");
		put_str(&t, worst_id);
	} else {
		put(&t,
		    ",\"aqi\":null,\"level\":null,\"category\":null,"
		    "\"worst_cell\":null");
	}
	put(&t, ",\"mean\":{");
	for (size_t m = 0; m < NMEANS; m++) {
		int64_t mean = 0;
		bool has = n[m] > 0 &&
		    fix_muldiv_round(sum[m], 1, n[m], &mean) == AQ_OK;

		put(&t, "%s\"%s\":", m == 0 ? "" : ",", concs[m].key);
		put_fix(&t, has,
		    fix_round_half_even(
			mean, fix_step(concs[m].ind == IND_CO_1H ? 3 : 1)));
	}
	put(&t, "}}");
	if (t.cut || (h = hash(buf, t.len)) == p->area_hash[area])
		return;
	safe_id(ar->id, id, sizeof(id));
	snprintf(topic, sizeof(topic), "%s/areas/%s", p->prefix, id);
	p->area_hash[area] =
	    send(p, topic, buf, t.len, p->retain, PUB_AREA) ? h : 0;
}

/* One document per cell and quantity: Home Assistant makes each cell a
 * device with its sensors. */
static void
publish_discovery(struct publish *p)
{
	char topic[TOPIC_MAX], id[WIN_CELL_ID_MAX], buf[PAYLOAD_MAX];

	for (uint32_t c = 0; c < p->ncells && atomic_load(&p->connected); c++) {
		const struct conf_cell *cc = &p->c->cells[c];
		const struct conf_area *ar =
		    cc->area >= 0 && (uint32_t)cc->area < p->c->nareas
		    ? &p->c->areas[cc->area]
		    : NULL;
		char device[256];

		safe_id(cc->id, id, sizeof(id));
		if (ar != NULL)
			snprintf(device, sizeof(device), "Air quality %s (%s)",
			    cc->id, ar->name_en[0] ? ar->name_en : ar->id);
		else
			snprintf(
			    device, sizeof(device), "Air quality %s", cc->id);
		for (size_t q = 0; q < NQUANT; q++) {
			const struct quantity *qu = &quantities[q];
			struct text t = {buf, 0, sizeof(buf), false};

			put(&t, "{\"name\":");
			put_str(&t, qu->name);
			put(&t, ",\"unique_id\":\"%s_%s_%s\"", p->node, id,
			    qu->key);
			put(&t, ",\"state_topic\":\"%s/cells/%s\"", p->prefix,
			    id);
			put(&t,
			    ",\"value_template\":\"{{ value_json.%s }}\","
			    "\"device_class\":\"%s\","
			    "\"state_class\":\"measurement\"",
			    qu->key, qu->device_class);
			if (qu->unit != NULL)
				put(&t, ",\"unit_of_measurement\":\"%s\"",
				    qu->unit);
			put(&t,
			    ",\"availability_topic\":\"%s/status\","
			    "\"device\":{\"identifiers\":[\"%s_%s\"],"
			    "\"name\":",
			    p->prefix, p->node, id);
			put_str(&t, device);
			put(&t,
			    ",\"manufacturer\":\"aqgrid\",\"model\":\"grid "
			    "cell\",\"sw_version\":\"%s\"}}",
			    AQ_VERSION);
			if (t.cut)
				continue;
			snprintf(topic, sizeof(topic),
			    "%s/sensor/%s/%s_%s/config", p->disc, p->node, id,
			    qu->key);
			(void)send(p, topic, buf, t.len, p->retain, -1);
		}
	}
}

/* After a (re)connect: the status, the documents, everything again. */
static void
resync(struct publish *p)
{
	char topic[TOPIC_MAX];

	snprintf(topic, sizeof(topic), "%s/status", p->prefix);
	(void)send(p, topic, "online", 6, true, -1);
	if (p->discovery)
		publish_discovery(p);
	memset(p->cell_hash, 0, p->ncells * sizeof(*p->cell_hash));
	memset(p->area_hash, 0, p->nareas * sizeof(*p->area_hash));
	for (uint32_t c = 0; c < p->ncells; c++)
		publish_cell(p, c);
}

/* What the ingest thread marked, the alerts queued, the areas touched. */
static void
drain(struct publish *p)
{
	uint64_t tail = atomic_load_explicit(&p->tail, memory_order_acquire);
	char topic[TOPIC_MAX], alert[PUBLISH_ALERT_MAX];

	while (p->head < tail) {
		uint32_t cell = p->ring[p->head % p->ncells];

		p->head++;
		/* Cleared before the view is read: a later change marks the
		 * cell again and is not lost. */
		atomic_store(&p->marked[cell], 0);
		publish_cell(p, cell);
	}
	snprintf(topic, sizeof(topic), "%s/alerts", p->prefix);
	for (;;) {
		size_t len;

		pthread_mutex_lock(&p->mu);
		if (p->a_n == 0) {
			pthread_mutex_unlock(&p->mu);
			break;
		}
		len = strlen(p->alerts[p->a_head]);
		memcpy(alert, p->alerts[p->a_head], len + 1);
		p->a_head = (p->a_head + 1) % PUBLISH_ALERTS_QUEUED;
		p->a_n--;
		pthread_mutex_unlock(&p->mu);
		(void)send(p, topic, alert, len, false, PUB_ALERT);
	}
	for (uint32_t a = 0; a < p->nareas; a++) {
		if (!p->area_dirty[a])
			continue;
		p->area_dirty[a] = 0;
		publish_area(p, a);
	}
}

static void *
worker(void *arg)
{
	struct publish *p = arg;
	bool stopping = false;

	while (!stopping) {
		struct timespec until;

		pthread_mutex_lock(&p->mu);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		while (!p->stop && !p->wake)
			if (pthread_cond_timedwait(&p->cv, &p->mu, &until) != 0)
				break;
		p->wake = false;
		stopping = p->stop;
		pthread_mutex_unlock(&p->mu);
		if (atomic_exchange(&p->resync, 0)) {
			for (uint32_t a = 0; a < p->nareas; a++)
				p->area_dirty[a] = 1;
			resync(p);
		}
		drain(p);
	}
	return NULL;
}

static void
wake(struct publish *p)
{
	pthread_mutex_lock(&p->mu);
	p->wake = true;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

static void
on_connect(struct mosquitto *m, void *obj, int rc)
{
	struct publish *p = obj;

	(void)m;
	if (rc != 0) {
		log_warnx("publish: broker refused the connection: %s",
		    mosquitto_connack_string(rc));
		return;
	}
	/* What the library held for the old connection is gone. */
	atomic_store(&p->inflight, 0);
	atomic_store(&p->connected, 1);
	atomic_store(&state_counters(p->st)->pub_connected, 1);
	atomic_store(&p->resync, 1);
	log_info("publish: connected to %s:%lld, publishing on %s/",
	    p->c->mqtt_host, (long long)p->c->mqtt_port, p->prefix);
	wake(p);
}

static void
on_disconnect(struct mosquitto *m, void *obj, int rc)
{
	struct publish *p = obj;

	(void)m;
	atomic_store(&p->connected, 0);
	atomic_store(&state_counters(p->st)->pub_connected, 0);
	if (rc != 0)
		log_warnx("publish: disconnected from the broker: %s",
		    mosquitto_strerror(rc));
}

static void
on_publish(struct mosquitto *m, void *obj, int mid)
{
	struct publish *p = obj;
	int64_t n = atomic_load(&p->inflight);

	(void)m;
	(void)mid;
	while (n > 0 && !atomic_compare_exchange_weak(&p->inflight, &n, n - 1))
		;
}

static int
client_setup(struct publish *p)
{
	const struct conf *c = p->c;
	char topic[TOPIC_MAX];
	int rc;

	if ((p->mosq = mosquitto_new(c->pub_client_id, true, p)) == NULL) {
		log_warn("publish: mosquitto_new");
		return -1;
	}
	mosquitto_connect_callback_set(p->mosq, on_connect);
	mosquitto_disconnect_callback_set(p->mosq, on_disconnect);
	mosquitto_publish_callback_set(p->mosq, on_publish);
	snprintf(topic, sizeof(topic), "%s/status", p->prefix);
	if (mosquitto_will_set(p->mosq, topic, 7, "offline", p->qos, true) !=
	    MOSQ_ERR_SUCCESS) {
		log_warnx("publish: cannot set the will on %s", topic);
		return -1;
	}
	if (c->mqtt_username[0] != '\0') {
		char pw[256] = "";
		FILE *f;

		if (c->mqtt_password_file[0] != '\0') {
			if ((f = fopen(c->mqtt_password_file, "r")) == NULL) {
				log_warn("publish: %s", c->mqtt_password_file);
				return -1;
			}
			if (fgets(pw, sizeof(pw), f) != NULL)
				pw[strcspn(pw, "\r\n")] = '\0';
			fclose(f);
		}
		rc = mosquitto_username_pw_set(p->mosq, c->mqtt_username,
		    c->mqtt_password_file[0] != '\0' ? pw : NULL);
		memset(pw, 0, sizeof(pw));
		if (rc != MOSQ_ERR_SUCCESS) {
			log_warnx(
			    "publish: credentials: %s", mosquitto_strerror(rc));
			return -1;
		}
	}
	if (c->mqtt_ca_file[0] != '\0' &&
	    (rc = mosquitto_tls_set(p->mosq, c->mqtt_ca_file, NULL,
		 c->mqtt_cert_file[0] ? c->mqtt_cert_file : NULL,
		 c->mqtt_key_file[0] ? c->mqtt_key_file : NULL, NULL)) !=
		MOSQ_ERR_SUCCESS) {
		log_warnx("publish: TLS: %s", mosquitto_strerror(rc));
		return -1;
	}
	mosquitto_reconnect_delay_set(p->mosq, (unsigned)c->mqtt_backoff_min,
	    (unsigned)c->mqtt_backoff_max, true);
	/* Refused now is retried by the network thread, as later drops are. */
	if ((rc = mosquitto_connect_async(p->mosq, c->mqtt_host,
		 (int)c->mqtt_port, (int)c->mqtt_keepalive)) !=
	    MOSQ_ERR_SUCCESS)
		log_warnx("publish: cannot connect to %s:%lld yet: %s",
		    c->mqtt_host, (long long)c->mqtt_port,
		    mosquitto_strerror(rc));
	if ((rc = mosquitto_loop_start(p->mosq)) != MOSQ_ERR_SUCCESS) {
		log_warnx(
		    "publish: network thread: %s", mosquitto_strerror(rc));
		return -1;
	}
	p->loop_started = true;
	return 0;
}

struct publish *
publish_start(struct state *st)
{
	const struct conf *c = state_conf(st);
	struct publish *p;
	uint32_t total = 0;

	if (!c->pub_enabled)
		return NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		log_warn("publish: calloc");
		return NULL;
	}
	p->st = st;
	p->c = c;
	p->ncells = c->ncells;
	p->nareas = c->nareas;
	p->qos = (int)c->pub_qos;
	p->retain = c->pub_retain;
	p->discovery = c->pub_discovery;
	p->queue = c->pub_queue;
	snprintf(p->prefix, sizeof(p->prefix), "%s", c->pub_prefix);
	snprintf(p->disc, sizeof(p->disc), "%s", c->pub_disc_prefix);
	safe_id(c->pub_client_id, p->node, sizeof(p->node));
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	for (uint32_t a = 0; a < c->nareas; a++)
		total += c->areas[a].ncells;
	p->marked = calloc(p->ncells + 1, sizeof(*p->marked));
	p->ring = calloc(p->ncells + 1, sizeof(*p->ring));
	p->cell_hash = calloc(p->ncells + 1, sizeof(*p->cell_hash));
	p->stamp = calloc(p->ncells + 1, sizeof(*p->stamp));
	p->ca_off = calloc(p->ncells + 2, sizeof(*p->ca_off));
	p->ca_ix = calloc(total + 1, sizeof(*p->ca_ix));
	p->area_hash = calloc(p->nareas + 1, sizeof(*p->area_hash));
	p->area_dirty = calloc(p->nareas + 1, 1);
	p->alerts = calloc(PUBLISH_ALERTS_QUEUED, sizeof(*p->alerts));
	if (p->marked == NULL || p->ring == NULL || p->cell_hash == NULL ||
	    p->stamp == NULL || p->ca_off == NULL || p->ca_ix == NULL ||
	    p->area_hash == NULL || p->area_dirty == NULL ||
	    p->alerts == NULL) {
		log_warnx("publish: no memory for %u cells", p->ncells);
		goto fail;
	}
	/* The areas of each cell: counts, prefix sums, then the lists (an
	 * area listing a cell twice lists it twice; harmless). */
	for (uint32_t a = 0; a < c->nareas; a++)
		for (uint32_t k = 0; k < c->areas[a].ncells; k++)
			p->ca_off[c->areas[a].cells[k] + 1]++;
	for (uint32_t k = 0; k < p->ncells; k++)
		p->ca_off[k + 1] += p->ca_off[k];
	for (uint32_t a = 0; a < c->nareas; a++)
		for (uint32_t k = 0; k < c->areas[a].ncells; k++)
			p->ca_ix[p->ca_off[c->areas[a].cells[k]] +
			    p->stamp[c->areas[a].cells[k]]++] = a;
	memset(p->stamp, 0, (p->ncells + 1) * sizeof(*p->stamp));
	mosquitto_lib_init();
	if (pthread_create(&p->worker, NULL, worker, p) != 0) {
		log_warnx("publish: cannot start the worker");
		goto fail;
	}
	p->worker_started = true;
	if (client_setup(p) != 0)
		goto fail;
	return p;
fail:
	free_all(p);
	return NULL;
}

void
publish_view(struct publish *p, const struct cell_view *v)
{
	uint64_t tail;

	if (p == NULL)
		return;
	if (v == NULL) {
		wake(p);
		return;
	}
	if (v->cell >= p->ncells || atomic_exchange(&p->marked[v->cell], 1))
		return;
	tail = atomic_load_explicit(&p->tail, memory_order_relaxed);
	p->ring[tail % p->ncells] = v->cell;
	atomic_store_explicit(&p->tail, tail + 1, memory_order_release);
}

int
publish_alert(struct publish *p, const char *json, size_t len)
{
	int rc = AQ_OK;

	if (p == NULL)
		return AQ_OK;
	pthread_mutex_lock(&p->mu);
	if (len >= PUBLISH_ALERT_MAX)
		rc = AQ_ERR_RANGE;
	else if (p->a_n >= PUBLISH_ALERTS_QUEUED)
		rc = AQ_ERR_FULL;
	else {
		char *slot =
		    p->alerts[(p->a_head + p->a_n) % PUBLISH_ALERTS_QUEUED];

		memcpy(slot, json, len);
		slot[len] = '\0';
		p->a_n++;
		p->wake = true;
		pthread_cond_signal(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	if (rc != AQ_OK)
		atomic_fetch_add_explicit(&state_counters(p->st)->pub_dropped,
		    1, memory_order_relaxed);
	return rc;
}

static void
free_all(struct publish *p)
{
	if (p->worker_started) {
		pthread_mutex_lock(&p->mu);
		p->stop = true;
		pthread_cond_signal(&p->cv);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->worker, NULL);
	}
	if (p->mosq != NULL) {
		if (p->loop_started) {
			char topic[TOPIC_MAX];

			snprintf(topic, sizeof(topic), "%s/status", p->prefix);
			if (atomic_load(&p->connected))
				(void)mosquitto_publish(p->mosq, NULL, topic, 7,
				    "offline", p->qos, true);
			mosquitto_disconnect(p->mosq);
			mosquitto_loop_stop(p->mosq, false);
		}
		mosquitto_destroy(p->mosq);
		mosquitto_lib_cleanup();
	}
	atomic_store(&state_counters(p->st)->pub_connected, 0);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p->marked);
	free(p->ring);
	free(p->cell_hash);
	free(p->stamp);
	free(p->ca_off);
	free(p->ca_ix);
	free(p->area_hash);
	free(p->area_dirty);
	free(p->alerts);
	free(p);
}

void
publish_stop(struct publish *p)
{
	if (p == NULL)
		return;
	free_all(p);
	log_info("publish: stopped");
}
