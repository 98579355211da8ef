/* conf: the configuration file and its option table (see conf.h). */
#include "daemon/conf.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/tz.h"

#define INCLUDE_DEPTH_MAX 8
#define LINE_MAX_LEN 4096
#define CELLS_MAX 1000000
#define AREAS_MAX 4096
#define SENSORS_MAX 1000000
#define SECTIONS_MAX 65536
#define SECTION_KEYS_MAX 1024
#define METRES_PER_DEG_LAT 111320.0
#define PI 3.14159265358979323846

enum scope { S_CONF, S_AREA, S_SENSOR };

enum opt_type { T_STR, T_INT, T_DBL, T_BOOL, T_ENUM, T_FN };

struct parse;

/* What the raw sections point to, owned by the conf. */
struct conf_strs {
	struct conf_section *secs; /* conf.sections, writable */
	struct conf_kv **kvs;      /* each section's kv, writable */
	char **v;                  /* every string */
	size_t nv;
	const char *last_file; /* interned, for reuse */
};

/* Kinds of raw sections (see conf.h). */
static const char *const raw_kinds[] = {
    "rule", "inhibit", "receiver", "route", "site", NULL};

struct opt {
	const char *section;
	const char *key;
	enum opt_type type;
	size_t off;  /* into struct conf, conf_area or conf_sensor */
	size_t size; /* T_STR: buffer size */
	double min, max;
	const char *def; /* default, as it would be written in the file */
	const char *const *names; /* T_ENUM, index order */
	int (*fn)(struct parse *p, const struct opt *o, const char *val);
	const char *doc;
};

/* An area's cell list, resolved once the whole grid is known. */
struct ref {
	uint32_t area;
	char *text;
	char file[CONF_PATH_MAX];
	int line;
};

struct parse {
	struct conf *c;
	const struct conf_hooks *hooks;
	FILE *errs;
	int nerr;
	const char *file;
	int line;
	char section[32];
	void *obj;   /* current area or sensor */
	int64_t raw; /* index of the current raw section, or -1 */
	struct ref *refs;
	size_t nrefs;
	/* explicit [grid] cell entries, kept until the grid is built */
	struct conf_cell *extra;
	size_t nextra;
	int depth;
	/* the files being read, outermost first: an include cycle is an
	 * error, not k^depth reads */
	dev_t dev[INCLUDE_DEPTH_MAX + 1];
	ino_t ino[INCLUDE_DEPTH_MAX + 1];
	/* where tls_cert or tls_key was last set, for finish()'s check */
	char tls_file[CONF_PATH_MAX];
	int tls_line;
};

static const char *const std_names[] = {
    "hj633-2026", "hj633-2012", "epa-2024", NULL};
static const char *const limits_names[] = {"gb3095-2026", "gb3095-2012", NULL};
static const char *const log_formats[] = {"text", "json", NULL};
static const char *const site_bg_names[] = {"neighbours", "cell", NULL};
static const char *const proto_names[] = {
    "auto", "", "", "", "3.1.1", "5", NULL};

static int fn_subscribe(struct parse *p, const struct opt *o, const char *val);
static int fn_listen(struct parse *p, const struct opt *o, const char *val);
static int fn_hj212_listen(
    struct parse *p, const struct opt *o, const char *val);
static int fn_timezone(struct parse *p, const struct opt *o, const char *val);
static int fn_grade(struct parse *p, const struct opt *o, const char *val);
static int fn_qcmax(struct parse *p, const struct opt *o, const char *val);
static int fn_cell(struct parse *p, const struct opt *o, const char *val);
static int fn_cells(struct parse *p, const struct opt *o, const char *val);
static int fn_calibrate(struct parse *p, const struct opt *o, const char *val);
static int fn_tls(struct parse *p, const struct opt *o, const char *val);
static int fn_cors(struct parse *p, const struct opt *o, const char *val);
static int fn_topic(struct parse *p, const struct opt *o, const char *val);
static int fn_inspectors(struct parse *p, const struct opt *o, const char *val);

#define C(f) offsetof(struct conf, f)
#define CS(f) offsetof(struct conf, f), sizeof(((struct conf *)0)->f)
#define A(f) offsetof(struct conf_area, f), sizeof(((struct conf_area *)0)->f)
#define SN(f)                                                                  \
	offsetof(struct conf_sensor, f), sizeof(((struct conf_sensor *)0)->f)

static const struct opt opts[] = {
    {"mqtt", "host", T_STR, CS(mqtt_host), 0, 0, "127.0.0.1", NULL, NULL,
	"Broker host name or address."},
    {"mqtt", "port", T_INT, C(mqtt_port), 0, 1, 65535, "1883", NULL, NULL,
	"Broker port."},
    {"mqtt", "client_id", T_STR, CS(mqtt_client_id), 0, 0, "aqgridd", NULL,
	NULL,
	"Fixed client id: with the persistent session, the broker keeps "
	"what arrives while aqgridd is away."},
    {"mqtt", "keepalive", T_INT, C(mqtt_keepalive), 0, 5, 3600, "30", NULL,
	NULL, "Keep-alive interval, seconds."},
    {"mqtt", "protocol", T_ENUM, C(mqtt_protocol), 0, 0, 0, "auto", proto_names,
	NULL, "MQTT version: 5, 3.1.1, or auto (5, falling back to 3.1.1)."},
    {"mqtt", "username", T_STR, CS(mqtt_username), 0, 0, "", NULL, NULL,
	"User name; empty for none."},
    {"mqtt", "password_file", T_STR, CS(mqtt_password_file), 0, 0, "", NULL,
	NULL, "File whose first line is the password (kept out of this file)."},
    {"mqtt", "ca_file", T_STR, CS(mqtt_ca_file), 0, 0, "", NULL, NULL,
	"CA certificate file: set to use TLS."},
    {"mqtt", "cert_file", T_STR, CS(mqtt_cert_file), 0, 0, "", NULL, NULL,
	"Client certificate for TLS, optional."},
    {"mqtt", "key_file", T_STR, CS(mqtt_key_file), 0, 0, "", NULL, NULL,
	"Client key for TLS, with cert_file."},
    {"mqtt", "backoff_min", T_INT, C(mqtt_backoff_min), 0, 1, 60, "1", NULL,
	NULL, "First reconnect delay, seconds."},
    {"mqtt", "backoff_max", T_INT, C(mqtt_backoff_max), 0, 1, 3600, "60", NULL,
	NULL, "Largest reconnect delay, seconds (doubling, with jitter)."},
    {"mqtt", "subscribe", T_FN, 0, 0, 0, 0, NULL, NULL, fn_subscribe,
	"FILTER DECODER QOS: a topic filter, the decoder for its payloads "
	"(json, senml, airgradient, sensor.community) and QoS 0-2. "
	"Repeat for more filters."},
    {"http", "listen", T_FN, 0, 0, 0, 0, "127.0.0.1:8080", NULL, fn_listen,
	"ADDRESS:PORT of the HTTP API and dashboard; port 0 picks a free "
	"one."},
    {"hj212", "listen", T_FN, 0, 0, 0, 0, "", NULL, fn_hj212_listen,
	"ADDRESS:PORT where HJ 212 data loggers connect over TCP; empty "
	"(the default) for none; port 0 picks a free one."},
    {"hj212", "connections", T_INT, C(hj212_connections), 0, 1, 65536, "4096",
	NULL, NULL, "Largest number of data logger connections."},
    {"hj212", "idle_timeout", T_INT, C(hj212_idle_timeout), 0, 10, 86400, "900",
	NULL, NULL,
	"Seconds a logger connection may stay silent before it is closed."},
    {"hj212", "frame_timeout", T_INT, C(hj212_frame_timeout), 0, 1, 3600, "30",
	NULL, NULL,
	"Seconds a frame may take to arrive whole (slow senders are cut "
	"off)."},
    {"http", "web_root", T_STR, CS(web_root), 0, 0, "web", NULL, NULL,
	"Folder of the dashboard's static files."},
    {"http", "threads", T_INT, C(http_threads), 0, 1, 64, "4", NULL, NULL,
	"HTTP worker threads."},
    {"http", "connections", T_INT, C(http_connections), 0, 1, 100000, "1024",
	NULL, NULL, "Largest number of open HTTP connections."},
    {"http", "client_connections", T_INT, C(http_client_connections), 0, 0,
	100000, "32", NULL, NULL,
	"Largest number of open HTTP connections from one client address; "
	"0 for no cap. Connections over it are closed unanswered."},
    {"http", "idle_timeout", T_INT, C(http_idle_timeout), 0, 1, 3600, "30",
	NULL, NULL,
	"Seconds an HTTP connection may stay idle (or a request take to "
	"arrive) before it is closed."},
    {"http", "max_header", T_INT, C(http_max_header), 0, 4096, 1048576, "16384",
	NULL, NULL,
	"Bytes of memory per connection for the request line and headers "
	"(and the read buffer): a request that does not fit gets 414 or "
	"431."},
    {"http", "max_body", T_INT, C(http_max_body), 0, 0, 16777216, "65536", NULL,
	NULL,
	"Largest request body, bytes: a larger declared Content-Length gets "
	"413; a chunked body that grows past it closes the connection."},
    {"http", "tls_cert", T_FN, CS(http_tls_cert), 0, 0, "", NULL, fn_tls,
	"PEM certificate (chain) file: with tls_key, serve HTTPS instead of "
	"HTTP."},
    {"http", "tls_key", T_FN, CS(http_tls_key), 0, 0, "", NULL, fn_tls,
	"PEM private key file of tls_cert (unencrypted; keep it mode 0600)."},
    {"http", "cors_origins", T_FN, CS(http_cors_origins), 0, 0, "", NULL,
	fn_cors,
	"Space-separated origins (scheme://host[:port]) whose pages may "
	"call the API from a browser (CORS); empty, the default, for none."},
    {"http", "tokens_file", T_STR, CS(http_tokens_file), 0, 0, "", NULL, NULL,
	"File of API bearer tokens, one \"NAME TOKEN rw|ro\" a line ('#' "
	"starts a comment); it must not be readable by others. Writes (ack, "
	"silences) need an rw token; empty, the default, for none."},
    {"http", "read_auth", T_BOOL, C(http_read_auth), 0, 0, 0, "no", NULL, NULL,
	"Whether reading /api/v1 (but the OpenAPI document) needs a token "
	"too."},
    {"http", "sse_clients", T_INT, C(http_sse_clients), 0, 1, 10000, "64", NULL,
	NULL,
	"Largest number of open event streams (/api/v1/events); more get "
	"503."},
    {"standards", "aqi", T_ENUM, C(aqi_std), 0, 0, 0, "hj633-2026", std_names,
	NULL, "AQI standard: hj633-2026, hj633-2012 or epa-2024."},
    {"standards", "limits", T_ENUM, C(limits.ed), 0, 0, 0, "gb3095-2026",
	limits_names, NULL,
	"Concentration limits: gb3095-2026 or gb3095-2012."},
    {"standards", "grade", T_FN, 0, 0, 1, 2, "2", NULL, fn_grade,
	"Limit grade: 1 (class 1 areas) or 2."},
    {"standards", "timezone", T_FN, 0, 0, 0, 0, "Asia/Shanghai", NULL,
	fn_timezone,
	"Zone whose clock labels hours and days (tz database name)."},
    {"ingest", "lateness", T_INT, C(lateness), 0, 0, WIN_LATENESS_MAX, "7200",
	NULL, NULL,
	"Seconds a reading may lag its cell's newest one and still count."},
    {"ingest", "check_future", T_BOOL, C(check_future), 0, 0, 0, "yes", NULL,
	NULL,
	"Refuse readings stamped ahead of the clock (turn off for "
	"replays)."},
    {"ingest", "max_future", T_INT, C(max_future), 0, 0, 86400, "300", NULL,
	NULL, "Seconds a timestamp may lead the clock."},
    {"ingest", "max_payload", T_INT, C(max_payload), 0, 64, 1048576, "16384",
	NULL, NULL, "Largest payload decoded, bytes; longer ones are refused."},
    {"ingest", "queue", T_INT, C(queue), 0, 16, 4194304, "65536", NULL, NULL,
	"Messages buffered between MQTT and the engine."},
    {"alerts", "group_wait", T_INT, C(alert_group_wait), 0, 0, 3600, "0", NULL,
	NULL,
	"Seconds the first alert of a new group (rule and area) waits for "
	"others before it is sent; 0 sends it with the batch that raised it."},
    {"alerts", "group_interval", T_INT, C(alert_group_interval), 0, 1, 86400,
	"30", NULL, NULL,
	"Seconds after a group's notification during which more alerts of "
	"the group wait, to go out together in the next one."},
    {"sites", "background", T_ENUM, C(site_background), 0, 0, 0, "neighbours",
	site_bg_names, NULL,
	"A dust site's background at an hour: neighbours, the median PM10 "
	"1-hour value of its grid cell and the 8 around it (a monitor next "
	"to the site cannot raise it alone), or cell, its own cell's value "
	"(the median of the neighbours when the cell has none)."},
    {"sites", "rolling_hours", T_INT, C(site_rolling), 0, 1, 72, "24", NULL,
	NULL,
	"Hours of a site's rolling PM10 mean (valid with 5/6 of its hours, "
	"as GB 3095 asks 20 of 24)."},
    {"sites", "yellow_1h", T_DBL, C(site_yellow_1h), 0, 0, 100000, "150", NULL,
	NULL,
	"Yellow: PM10 1-hour mean at least this (ug/m3; GB 3095 grade II "
	"24-hour limit) and ..."},
    {"sites", "yellow_excess_1h", T_DBL, C(site_yellow_excess_1h), 0, 0, 100000,
	"80", NULL, NULL,
	"... at least this over the background (ug/m3; the difference limit "
	"of Hebei DB13/2934-2019).  Without a background the absolute "
	"threshold alone decides."},
    {"sites", "red_1h", T_DBL, C(site_red_1h), 0, 0, 100000, "250", NULL, NULL,
	"Red: PM10 1-hour mean at least this (ug/m3) and ..."},
    {"sites", "red_excess_1h", T_DBL, C(site_red_excess_1h), 0, 0, 100000,
	"150", NULL, NULL, "... at least this over the background (ug/m3)."},
    {"sites", "yellow_rolling", T_DBL, C(site_yellow_roll), 0, 0, 100000, "150",
	NULL, NULL,
	"Yellow also: the rolling PM10 mean at least this (ug/m3) and ..."},
    {"sites", "yellow_excess_rolling", T_DBL, C(site_yellow_excess_roll), 0, 0,
	100000, "50", NULL, NULL,
	"... at least this over the background's rolling mean (ug/m3)."},
    {"sites", "red_rolling", T_DBL, C(site_red_roll), 0, 0, 100000, "250", NULL,
	NULL, "Red also: the rolling PM10 mean at least this (ug/m3) and ..."},
    {"sites", "red_excess_rolling", T_DBL, C(site_red_excess_roll), 0, 0,
	100000, "100", NULL, NULL,
	"... at least this over the background's rolling mean (ug/m3)."},
    {"sites", "pm25_yellow_1h", T_DBL, C(site25_yellow_1h), 0, 0, 100000, "75",
	NULL, NULL,
	"Yellow by PM2.5 (when the monitor measures it): PM2.5 1-hour mean "
	"at least this (ug/m3; GB 3095 grade II 24-hour limit) and ..."},
    {"sites", "pm25_yellow_excess_1h", T_DBL, C(site25_yellow_excess_1h), 0, 0,
	100000, "40", NULL, NULL,
	"... at least this over the PM2.5 background (ug/m3; ours: PM10's "
	"80 times the ratio of the two limits, 75/150, rounded)."},
    {"sites", "pm25_red_1h", T_DBL, C(site25_red_1h), 0, 0, 100000, "115", NULL,
	NULL,
	"Red by PM2.5: 1-hour mean at least this (ug/m3; the HJ 633 "
	"breakpoint of IAQI 150, as PM10's 250) and ..."},
    {"sites", "pm25_red_excess_1h", T_DBL, C(site25_red_excess_1h), 0, 0,
	100000, "75", NULL, NULL,
	"... at least this over the PM2.5 background (ug/m3; ours, PM10's "
	"150 halved)."},
    {"sites", "pm25_yellow_rolling", T_DBL, C(site25_yellow_roll), 0, 0, 100000,
	"75", NULL, NULL,
	"Yellow also: the rolling PM2.5 mean at least this (ug/m3) and ..."},
    {"sites", "pm25_yellow_excess_rolling", T_DBL, C(site25_yellow_excess_roll),
	0, 0, 100000, "25", NULL, NULL,
	"... at least this over the PM2.5 background's rolling mean (ug/m3; "
	"ours, PM10's 50 halved)."},
    {"sites", "pm25_red_rolling", T_DBL, C(site25_red_roll), 0, 0, 100000,
	"115", NULL, NULL,
	"Red also: the rolling PM2.5 mean at least this (ug/m3) and ..."},
    {"sites", "pm25_red_excess_rolling", T_DBL, C(site25_red_excess_roll), 0, 0,
	100000, "50", NULL, NULL,
	"... at least this over the PM2.5 background's rolling mean (ug/m3; "
	"ours, PM10's 100 halved).  Both thresholds 0: the rule is off."},
    {"sites", "tsp_yellow_1h", T_DBL, C(sitetsp_yellow_1h), 0, 0, 100000, "700",
	NULL, NULL,
	"Yellow by TSP (when the monitor measures it; absolute only, as no "
	"ambient station measures TSP): TSP 1-hour mean at least this "
	"(ug/m3; Shaanxi DB61/1078-2017's hourly limit for the structure "
	"and finishing stages, 0.7 mg/m3).  0: the rule is off."},
    {"sites", "tsp_red_1h", T_DBL, C(sitetsp_red_1h), 0, 0, 100000, "800", NULL,
	NULL,
	"Red by TSP: 1-hour mean at least this (ug/m3; DB61/1078-2017's "
	"hourly limit for demolition, earthwork and foundations, 0.8 mg/m3; "
	"Liaoning DB21/2642-2016 sets the same as a 5-minute limit in "
	"built-up areas)."},
    {"sites", "tsp_yellow_rolling", T_DBL, C(sitetsp_yellow_roll), 0, 0, 100000,
	"300", NULL, NULL,
	"Yellow also: the rolling TSP mean at least this (ug/m3; the GB 3095 "
	"grade II 24-hour TSP limit)."},
    {"sites", "tsp_red_rolling", T_DBL, C(sitetsp_red_roll), 0, 0, 100000,
	"600", NULL, NULL,
	"Red also: the rolling TSP mean at least this (ug/m3; ours, twice "
	"the yellow one)."},
    {"sites", "clear_ratio", T_DBL, C(site_clear_ratio), 0, 0.1, 1, "0.8", NULL,
	NULL,
	"Hysteresis: a status holds while its conditions hold with every "
	"threshold times this."},
    {"sites", "min_hours", T_INT, C(site_min_hours), 0, 1, 48, "1", NULL, NULL,
	"Consecutive hours a worse status's conditions must hold before "
	"the site takes it."},
    {"sites", "clear_hours", T_INT, C(site_clear_hours), 0, 1, 48, "2", NULL,
	NULL,
	"Consecutive hours below a status's hold conditions before the "
	"site steps down."},
    {"sites", "background_wait", T_INT, C(site_bg_wait), 0, 0, 86400, "1800",
	NULL, NULL,
	"Seconds (wall clock) that a site's hour waits for its background "
	"when every ambient station around it is silent; then it is judged "
	"by the absolute thresholds alone."},
    {"sites", "blacklist_red_hours", T_INT, C(site_bl_hours), 0, 0, 744, "24",
	NULL, NULL,
	"A site with at least this many red hours in a local month is on "
	"that month's blacklist; 0: not by hours."},
    {"sites", "blacklist_red_episodes", T_INT, C(site_bl_episodes), 0, 0, 744,
	"3", NULL, NULL,
	"A site with at least this many red episodes starting in a local "
	"month is on the blacklist; 0: not by episodes."},
    {"sites", "inspectors", T_FN, 0, 0, 0, 0, "", NULL, fn_inspectors,
	"Receiver ids ([receiver ID]) that get every site's status "
	"changes, besides each site's own receivers."},
    {"store", "dir", T_STR, CS(store_dir), 0, 0, "", NULL, NULL,
	"Folder for what aqgridd keeps across restarts: the history database "
	"(aqgrid.db), the state image and the message journal.  Empty: "
	"nothing is kept, a restart starts from nothing."},
    {"store", "retention_days", T_INT, C(retention_days), 0, 2, 36600, "400",
	NULL, NULL,
	"Days of hourly and daily history kept (400: a year to date and "
	"the annual indicators)."},
    {"store", "snapshot_interval", T_INT, C(snapshot_interval), 0, 5, 3600,
	"60", NULL, NULL,
	"Seconds between images of the state; the journal holds what "
	"arrived since the last one."},
    {"store", "queue", T_INT, C(store_queue), 0, 1024, 4194304, "262144", NULL,
	NULL,
	"Hourly and daily rows waiting for the database writer; a full "
	"queue drops rows (counted) rather than slow ingest."},
    {"plan", "good_days", T_DBL, C(plan_good_days), 0, 0, 100, "88", NULL, NULL,
	"Target of the good-days ratio, percent: days with a daily AQI of "
	"at most 100 over days with a daily AQI (the district plan's 2025 "
	"target is 88)."},
    {"plan", "pm25", T_DBL, C(plan_pm25), 0, 0, 1000, "35", NULL, NULL,
	"Target of the PM2.5 mean of the daily means, ug/m3 (the district "
	"plan's 2025 target is 35)."},
    {"plan", "o3_8h_p90", T_DBL, C(plan_o3_p90), 0, 0, 1000, "160", NULL, NULL,
	"Target of the 90th percentile of the O3 daily maximum 8-hour "
	"means, ug/m3; 0 for none (160 is the GB 3095 grade II limit)."},
    {"ingest", "sensors_max", T_INT, C(sensors_max), 0, 0, SENSORS_MAX, "0",
	NULL, NULL,
	"Sensors the engine has room for; 0: four per cell plus the "
	"registry."},
    {"forecast", "cells_max", T_INT, C(forecast_cells), 0, 0, 1000000, "10000",
	NULL, NULL,
	"Cells that get an online forecast model (about 52 KB each, "
	"allocated at a cell's first value; later cells have none); 0: no "
	"forecasts."},
    {"forecast", "external_topic", T_STR, CS(forecast_ext_topic), 0, 0, "",
	NULL, NULL,
	"MQTT topic filter the ingest client subscribes to for external area "
	"forecasts (the city forecast centre's): a message is "
	"{\"area\": ID, \"days\": [{\"date\": \"YYYY-MM-DD\", \"aqi\": "
	"N}]}, as the body of POST /api/v1/areas/{id}/forecast plus the "
	"area; empty: none."},
    {"faults", "detect", T_BOOL, C(faults), 0, 0, 0, "yes", NULL, NULL,
	"Detect lying sensors (stuck, spikes, bias against the neighbouring "
	"cells, disagreement within a cell) and leave their readings out "
	"of the cells' statistics."},
    {"faults", "stuck", T_INT, C(fault_stuck), 0, 600, 604800, "10800", NULL,
	NULL,
	"Seconds a sensor must repeat one value, while its neighbours move, "
	"before it is flagged stuck."},
    {"faults", "spike_z", T_DBL, C(fault_spike_z), 0, 2, 100, "4.5", NULL, NULL,
	"Robust z-score of a reading's step, against the sensor's own "
	"steps and against its neighbours', above which a reading that "
	"comes back is a spike."},
    {"faults", "bias_h", T_DBL, C(fault_bias_h), 0, 1, 10000, "24", NULL, NULL,
	"CUSUM threshold, in hour-equivalents of readings, of a drift or "
	"offset against the neighbouring cells."},
    {"faults", "disagree", T_DBL, C(fault_disagree), 0, 0.05, 5, "0.4", NULL,
	NULL,
	"Smoothed log ratio between the sensors of one cell beyond which "
	"the odd one is flagged."},
    {"faults", "exclude_bias", T_BOOL, C(fault_exclude_bias), 0, 0, 0, "no",
	NULL, NULL,
	"Also leave out the readings of a sensor biased against its "
	"neighbours (off: with one sensor, a bias cannot be told from a "
	"local source, a hotspot)."},
    {"ingest", "max", T_FN, 0, 0, 0, 0, NULL, NULL, fn_qcmax,
	"POLLUTANT VALUE: largest physically possible value (ug/m3, CO "
	"mg/m3); defaults pm25 2000, pm10 10000, so2 10000, no2 5000, "
	"co 150, o3 2000."},
    {"publish", "enabled", T_BOOL, C(pub_enabled), 0, 0, 0, "no", NULL, NULL,
	"Whether aqgridd publishes what it computes back to the [mqtt] "
	"broker (a second client of its own): each cell's and area's AQI, "
	"level and concentrations, and the alerts."},
    {"publish", "topic_prefix", T_FN, CS(pub_prefix), 0, 0, "aq/out", NULL,
	fn_topic,
	"Topics published: PREFIX/cells/ID and PREFIX/areas/ID (retained "
	"JSON), PREFIX/alerts (each alert notice) and PREFIX/status "
	"(online or offline)."},
    {"publish", "qos", T_INT, C(pub_qos), 0, 0, 2, "0", NULL, NULL,
	"QoS of the published messages."},
    {"publish", "retain", T_BOOL, C(pub_retain), 0, 0, 0, "yes", NULL, NULL,
	"Whether cell and area messages (and discovery documents) are "
	"retained, so a new subscriber gets the current values at once."},
    {"publish", "discovery", T_BOOL, C(pub_discovery), 0, 0, 0, "yes", NULL,
	NULL,
	"Whether Home Assistant MQTT discovery documents are published: "
	"every cell then shows as a device with AQI and pollutant sensors."},
    {"publish", "discovery_prefix", T_FN, CS(pub_disc_prefix), 0, 0,
	"homeassistant", NULL, fn_topic, "Home Assistant's discovery prefix."},
    {"publish", "client_id", T_STR, CS(pub_client_id), 0, 0, "aqgridd-pub",
	NULL, NULL, "Client id of the publishing connection."},
    {"publish", "queue", T_INT, C(pub_queue), 0, 16, 1048576, "65536", NULL,
	NULL,
	"Messages handed to the MQTT library and not yet sent, at most; "
	"past it (a slow or absent broker) messages are dropped and counted, "
	"never waited for by ingest."},
    {"log", "format", T_ENUM, C(log_format), 0, 0, 0, "text", log_formats, NULL,
	"text (\"LEVEL module: message\" lines) or json (one JSON object a "
	"line: time, level, module, message, and cell or sensor where the "
	"event concerns one).  aqgridd -j selects json too."},
    {"hotspots", "abs_min", T_DBL, C(hotspot_abs_min), 0, 0, 1000, "10", NULL,
	NULL,
	"Smallest PM2.5 excess over the neighbours' median (ug/m3) for a "
	"cell to stand out in an hour."},
    {"hotspots", "rel_min", T_DBL, C(hotspot_rel_min), 0, 0, 10, "0.25", NULL,
	NULL, "Smallest excess as a share of the neighbours' median."},
    {"hotspots", "min_hours", T_INT, C(hotspot_min_hours), 0, 1, 720, "3", NULL,
	NULL, "Hours in a row a cell must stand out to be a hotspot."},
    {"grid", "origin", T_FN, 0, 0, 0, 0, NULL, NULL, fn_cell,
	"LAT LON of the regular grid's north-west corner."},
    {"grid", "cell_size", T_INT, C(cell_size), 0, 10, 100000, "1000", NULL,
	NULL, "Side of a grid cell, metres."},
    {"grid", "rows", T_INT, C(rows), 0, 0, 1000, "0", NULL, NULL,
	"Rows of the regular grid (r000 is the northern row)."},
    {"grid", "cols", T_INT, C(cols), 0, 0, 1000, "0", NULL, NULL,
	"Columns of the regular grid (c000 is the western column)."},
    {"grid", "cell", T_FN, 0, 0, 0, 0, NULL, NULL, fn_cell,
	"ID LAT LON: a cell outside the regular grid. Repeatable."},
    {"area", "name", T_STR, A(name), 0, 0, "", NULL, NULL,
	"Name of the area (e.g. a street or town), in Chinese."},
    {"area", "name_en", T_STR, A(name_en), 0, 0, "", NULL, NULL,
	"Name of the area in English."},
    {"area", "cells", T_FN, 0, 0, 0, 0, NULL, NULL, fn_cells,
	"Cells of the area: ids and rectangles like r000c000-r004c009. "
	"Repeatable."},
    {"sensor", "cell", T_STR, SN(cell), 0, 0, "", NULL, NULL,
	"Cell the sensor stands in."},
    {"sensor", "interval", T_INT, offsetof(struct conf_sensor, interval), 0, 1,
	86400, "60", NULL, NULL, "Expected seconds between its readings."},
    {"sensor", "password", T_STR, SN(password), 0, 0, "", NULL, NULL,
	"HJ 212 access password (PW) the logger must send; empty for "
	"none."},
    {"sensor", "calibrate", T_FN, 0, 0, 0, 0, NULL, NULL, fn_calibrate,
	"POLLUTANT SLOPE INTERCEPT: value = raw * SLOPE + INTERCEPT. "
	"Repeatable."},
};

#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static void err(struct parse *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static char *trim(char *s);
static int parse_int(const char *s, int64_t *out);
static int parse_dbl(const char *s, double *out);
static int set_value(
    struct parse *p, const struct opt *o, void *base, const char *val);
static void *scope_base(struct parse *p, const struct opt *o);
static int read_file(struct parse *p, const char *path);
static void handle_line(struct parse *p, char *line, const char *path);
static void open_section(struct parse *p, char *hdr);
static void set_defaults(struct parse *p);
static void build_grid(struct parse *p);
static void resolve_refs(struct parse *p);
static int cell_id_rc(const char *id, int *r, int *c);
static void finish(struct parse *p);
static const char *intern(struct parse *p, const char *text);
static const char *intern_file(struct parse *p);
static void open_raw(struct parse *p, const char *kind, const char *id);
static void add_kv(struct parse *p, const char *key, const char *val);

void
conf_errf(FILE *errs, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (line > 0)
		fprintf(errs, "%s:%d: ", file, line);
	else
		fprintf(errs, "%s: ", file);
	va_start(ap, fmt);
	vfprintf(errs, fmt, ap);
	va_end(ap);
	fputc('\n', errs);
}

static void
err(struct parse *p, const char *fmt, ...)
{
	va_list ap;

	fprintf(p->errs, "%s:%d: ", p->file, p->line);
	va_start(ap, fmt);
	vfprintf(p->errs, fmt, ap);
	va_end(ap);
	fputc('\n', p->errs);
	p->nerr++;
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int
parse_int(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return AQ_ERR_INVAL;
	*out = v;
	return AQ_OK;
}

static int
parse_dbl(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v))
		return AQ_ERR_INVAL;
	*out = v;
	return AQ_OK;
}

static void *
scope_base(struct parse *p, const struct opt *o)
{
	if (strcmp(o->section, "area") == 0 ||
	    strcmp(o->section, "sensor") == 0)
		return p->obj;
	return p->c;
}

static int
set_value(struct parse *p, const struct opt *o, void *base, const char *val)
{
	char *dst = (char *)base + o->off;
	int64_t i;
	double d;

	switch (o->type) {
	case T_STR:
		if (strlen(val) >= o->size) {
			err(p, "%s: longer than %zu characters", o->key,
			    o->size - 1);
			return AQ_ERR_RANGE;
		}
		memcpy(dst, val, strlen(val) + 1);
		return AQ_OK;
	case T_INT:
		if (parse_int(val, &i) != AQ_OK) {
			err(p, "%s: '%s' is not an integer", o->key, val);
			return AQ_ERR_INVAL;
		}
		if ((double)i < o->min || (double)i > o->max) {
			err(p, "%s: %lld is outside %.0f..%.0f", o->key,
			    (long long)i, o->min, o->max);
			return AQ_ERR_RANGE;
		}
		memcpy(dst, &i, sizeof(i));
		return AQ_OK;
	case T_DBL:
		if (parse_dbl(val, &d) != AQ_OK || d < o->min || d > o->max) {
			err(p, "%s: '%s' is not a number in %g..%g", o->key,
			    val, o->min, o->max);
			return AQ_ERR_RANGE;
		}
		memcpy(dst, &d, sizeof(d));
		return AQ_OK;
	case T_BOOL:
		if (strcmp(val, "yes") == 0 || strcmp(val, "true") == 0 ||
		    strcmp(val, "on") == 0)
			*(bool *)(void *)dst = true;
		else if (strcmp(val, "no") == 0 || strcmp(val, "false") == 0 ||
		    strcmp(val, "off") == 0)
			*(bool *)(void *)dst = false;
		else {
			err(p, "%s: '%s' is not yes or no", o->key, val);
			return AQ_ERR_INVAL;
		}
		return AQ_OK;
	case T_ENUM:
		for (int k = 0; o->names[k] != NULL; k++) {
			if (o->names[k][0] != '\0' &&
			    strcmp(o->names[k], val) == 0) {
				memcpy(dst, &k, sizeof(k));
				return AQ_OK;
			}
		}
		err(p, "%s: unknown value '%s'", o->key, val);
		return AQ_ERR_INVAL;
	case T_FN:
		return o->fn(p, o, val);
	}
	return AQ_ERR_INVAL;
}

static int
fn_subscribe(struct parse *p, const struct opt *o, const char *val)
{
	char filter[256], dec[64];
	int qos, d, n = 0;
	struct conf_sub *s;

	(void)o;
	if (sscanf(val, "%255s %63s %d %n", filter, dec, &qos, &n) != 3 ||
	    val[n] != '\0') {
		err(p, "subscribe: expected FILTER DECODER QOS, got '%s'", val);
		return AQ_ERR_INVAL;
	}
	if ((d = p->hooks->decoder(dec)) < 0) {
		err(p, "subscribe: unknown decoder '%s'", dec);
		return AQ_ERR_INVAL;
	}
	if (qos < 0 || qos > 2) {
		err(p, "subscribe: QoS %d is not 0, 1 or 2", qos);
		return AQ_ERR_RANGE;
	}
	if (p->c->nsubs == CONF_SUBS_MAX) {
		err(p, "subscribe: more than %d filters", CONF_SUBS_MAX);
		return AQ_ERR_RANGE;
	}
	s = &p->c->subs[p->c->nsubs++];
	snprintf(s->filter, sizeof(s->filter), "%s", filter);
	s->decoder = d;
	s->qos = qos;
	return AQ_OK;
}

static int
fn_listen(struct parse *p, const struct opt *o, const char *val)
{
	const char *colon = strrchr(val, ':');
	int64_t port;

	(void)o;
	if (colon == NULL || colon == val ||
	    (size_t)(colon - val) >= sizeof(p->c->http_addr) ||
	    parse_int(colon + 1, &port) != AQ_OK || port < 0 || port > 65535) {
		err(p, "listen: expected ADDRESS:PORT, got '%s'", val);
		return AQ_ERR_INVAL;
	}
	memcpy(p->c->http_addr, val, (size_t)(colon - val));
	p->c->http_addr[colon - val] = '\0';
	p->c->http_port = port;
	return AQ_OK;
}

static int
fn_hj212_listen(struct parse *p, const struct opt *o, const char *val)
{
	const char *colon = strrchr(val, ':');
	int64_t port;

	(void)o;
	if (*val == '\0') {
		p->c->hj212_addr[0] = '\0';
		return AQ_OK;
	}
	if (colon == NULL || colon == val ||
	    (size_t)(colon - val) >= sizeof(p->c->hj212_addr) ||
	    parse_int(colon + 1, &port) != AQ_OK || port < 0 || port > 65535) {
		err(p, "listen: expected ADDRESS:PORT, got '%s'", val);
		return AQ_ERR_INVAL;
	}
	memcpy(p->c->hj212_addr, val, (size_t)(colon - val));
	p->c->hj212_addr[colon - val] = '\0';
	p->c->hj212_port = port;
	return AQ_OK;
}

static int
fn_timezone(struct parse *p, const struct opt *o, const char *val)
{
	(void)o;
	/* The zone is checked without installing it: tz_init() would change
	 * the running daemon's zone before the new config is accepted. */
	if (strlen(val) >= sizeof(p->c->timezone) || !tz_known(val)) {
		err(p, "timezone: unknown zone '%s'", val);
		return AQ_ERR_INVAL;
	}
	snprintf(p->c->timezone, sizeof(p->c->timezone), "%s", val);
	return AQ_OK;
}

static int
fn_grade(struct parse *p, const struct opt *o, const char *val)
{
	int64_t g;

	(void)o;
	if (parse_int(val, &g) != AQ_OK || (g != 1 && g != 2)) {
		err(p, "grade: '%s' is not 1 or 2", val);
		return AQ_ERR_INVAL;
	}
	p->c->limits.grade = (int)g;
	return AQ_OK;
}

static int
fn_qcmax(struct parse *p, const struct opt *o, const char *val)
{
	char name[16];
	double v;
	int pol, n = 0;

	(void)o;
	if (sscanf(val, "%15s %lf %n", name, &v, &n) != 2 || val[n] != '\0' ||
	    (pol = pol_from_name(name)) < 0 || !isfinite(v) || v <= 0) {
		err(p, "max: expected POLLUTANT VALUE > 0, got '%s'", val);
		return AQ_ERR_INVAL;
	}
	p->c->qc_max[pol] = v;
	return AQ_OK;
}

/* [grid] origin = LAT LON, and cell = ID LAT LON. */
static int
fn_cell(struct parse *p, const struct opt *o, const char *val)
{
	char id[WIN_CELL_ID_MAX + 1] = "";
	double lat, lon;
	int n = 0, ok;
	struct conf_cell *cc;

	if (strcmp(o->key, "origin") == 0)
		ok = sscanf(val, "%lf %lf %n", &lat, &lon, &n) == 2;
	else
		ok = sscanf(val, "%32s %lf %lf %n", id, &lat, &lon, &n) == 3 &&
		    strlen(id) < WIN_CELL_ID_MAX;
	if (!ok || val[n] != '\0' || !(lat >= -90 && lat <= 90) ||
	    !(lon >= -180 && lon <= 180)) {
		err(p, "%s: expected %sLAT LON, got '%s'", o->key,
		    strcmp(o->key, "cell") == 0 ? "ID " : "", val);
		return AQ_ERR_INVAL;
	}
	if (strcmp(o->key, "origin") == 0) {
		p->c->origin_lat = lat;
		p->c->origin_lon = lon;
		return AQ_OK;
	}
	if (p->nextra == CELLS_MAX) {
		err(p, "cell: too many cells");
		return AQ_ERR_RANGE;
	}
	cc = realloc(p->extra, (p->nextra + 1) * sizeof(*cc));
	if (cc == NULL) {
		err(p, "out of memory");
		return AQ_ERR_NOMEM;
	}
	p->extra = cc;
	cc = &p->extra[p->nextra++];
	memset(cc, 0, sizeof(*cc));
	memcpy(cc->id, id, strlen(id) + 1);
	cc->lat = lat;
	cc->lon = lon;
	cc->row = cc->col = -1;
	return AQ_OK;
}

static int
fn_cells(struct parse *p, const struct opt *o, const char *val)
{
	struct ref *r = realloc(p->refs, (p->nrefs + 1) * sizeof(*r));

	(void)o;
	if (r == NULL || (r[p->nrefs].text = strdup(val)) == NULL) {
		if (r != NULL)
			p->refs = r;
		err(p, "out of memory");
		return AQ_ERR_NOMEM;
	}
	p->refs = r;
	r = &p->refs[p->nrefs++];
	r->area = (uint32_t)((struct conf_area *)p->obj - p->c->areas);
	snprintf(r->file, sizeof(r->file), "%s", p->file);
	r->line = p->line;
	return AQ_OK;
}

static int
fn_calibrate(struct parse *p, const struct opt *o, const char *val)
{
	struct conf_sensor *s = p->obj;
	char name[16];
	double slope, icpt;
	int pol, n = 0;

	(void)o;
	if (sscanf(val, "%15s %lf %lf %n", name, &slope, &icpt, &n) != 3 ||
	    val[n] != '\0' || (pol = pol_from_name(name)) < 0 ||
	    !isfinite(slope) || !isfinite(icpt) || slope <= 0 || slope > 100 ||
	    fabs(icpt) > 10000) {
		err(p,
		    "calibrate: expected POLLUTANT SLOPE INTERCEPT (slope "
		    "in (0, 100]), got '%s'",
		    val);
		return AQ_ERR_INVAL;
	}
	s->cal_has |= 1u << pol;
	s->slope[pol] = slope;
	s->intercept[pol] = icpt;
	return AQ_OK;
}

/* Copies text into the conf's strings; NULL after reporting. */
static const char *
intern(struct parse *p, const char *text)
{
	struct conf_strs *st = p->c->strs;
	char **grown, *copy;

	if ((grown = realloc(st->v, (st->nv + 1) * sizeof(*grown))) == NULL ||
	    (copy = strdup(text)) == NULL) {
		if (grown != NULL)
			st->v = grown;
		err(p, "out of memory");
		return NULL;
	}
	st->v = grown;
	st->v[st->nv++] = copy;
	return copy;
}

/* The file name of the line being read, interned once per file. */
static const char *
intern_file(struct parse *p)
{
	struct conf_strs *st = p->c->strs;

	if (st->last_file == NULL || strcmp(st->last_file, p->file) != 0)
		st->last_file = intern(p, p->file);
	return st->last_file;
}

static void
open_raw(struct parse *p, const char *kind, const char *id)
{
	struct conf *c = p->c;
	struct conf_strs *st = c->strs;
	struct conf_section *secs, *sec;
	struct conf_kv **kvs;
	const char *file;

	if (id == NULL || *id == '\0' || strlen(id) >= CONF_ID_MAX ||
	    strpbrk(id, " \t\"/") != NULL) {
		err(p,
		    "[%s]: needs an id (no spaces, quotes or '/', under %d "
		    "characters)",
		    kind, CONF_ID_MAX);
		return;
	}
	for (uint32_t k = 0; k < c->nsections; k++) {
		if (strcmp(st->secs[k].kind, kind) == 0 &&
		    strcmp(st->secs[k].id, id) == 0) {
			err(p, "[%s %s]: defined twice (first at %s:%d)", kind,
			    id, st->secs[k].file, st->secs[k].line);
			return;
		}
	}
	if (c->nsections >= SECTIONS_MAX) {
		err(p, "[%s]: too many sections", kind);
		return;
	}
	if ((file = intern_file(p)) == NULL)
		return;
	secs = realloc(st->secs, (c->nsections + 1) * sizeof(*secs));
	if (secs != NULL)
		c->sections = st->secs = secs;
	kvs = realloc(st->kvs, (c->nsections + 1) * sizeof(*kvs));
	if (kvs != NULL)
		st->kvs = kvs;
	if (secs == NULL || kvs == NULL) {
		err(p, "out of memory");
		return;
	}
	sec = &st->secs[c->nsections];
	memset(sec, 0, sizeof(*sec));
	snprintf(sec->kind, sizeof(sec->kind), "%s", kind);
	snprintf(sec->id, sizeof(sec->id), "%s", id);
	sec->file = file;
	sec->line = p->line;
	st->kvs[c->nsections] = NULL;
	p->raw = c->nsections++;
	snprintf(p->section, sizeof(p->section), "%s", kind);
}

static void
add_kv(struct parse *p, const char *key, const char *val)
{
	struct conf_strs *st = p->c->strs;
	struct conf_section *sec = &st->secs[p->raw];
	struct conf_kv *kv;
	const char *file, *k, *v;

	if (*key == '\0') {
		err(p, "expected key = value");
		return;
	}
	if (sec->nkv >= SECTION_KEYS_MAX) {
		err(p, "[%s %s]: too many lines", sec->kind, sec->id);
		return;
	}
	if ((file = intern_file(p)) == NULL || (k = intern(p, key)) == NULL ||
	    (v = intern(p, val)) == NULL)
		return;
	if ((kv = realloc(st->kvs[p->raw], (sec->nkv + 1) * sizeof(*kv))) ==
	    NULL) {
		err(p, "out of memory");
		return;
	}
	st->kvs[p->raw] = kv;
	sec->kv = kv;
	kv[sec->nkv++] = (struct conf_kv){
	    .key = k, .value = v, .file = file, .line = p->line};
}

/* tls_cert, tls_key: a path, remembered with where it was set. */
static int
fn_tls(struct parse *p, const struct opt *o, const char *val)
{
	if (strlen(val) >= o->size) {
		err(p, "%s: longer than %zu characters", o->key, o->size - 1);
		return AQ_ERR_RANGE;
	}
	memcpy((char *)p->c + o->off, val, strlen(val) + 1);
	snprintf(p->tls_file, sizeof(p->tls_file), "%s", p->file);
	p->tls_line = p->line;
	return AQ_OK;
}

/* An MQTT topic prefix: levels without wildcards, no empty level. */
static int
fn_topic(struct parse *p, const struct opt *o, const char *val)
{
	size_t n = strlen(val);

	if (n >= o->size) {
		err(p, "%s: longer than %zu characters", o->key, o->size - 1);
		return AQ_ERR_RANGE;
	}
	if (n == 0 || strpbrk(val, "+# \t") != NULL || val[0] == '/' ||
	    val[n - 1] == '/' || strstr(val, "//") != NULL) {
		err(p,
		    "%s: '%s' is not a topic prefix like aq/out (no "
		    "wildcards, spaces or empty levels)",
		    o->key, val);
		return AQ_ERR_INVAL;
	}
	memcpy((char *)p->c + o->off, val, n + 1);
	return AQ_OK;
}

/*
 * Origins as browsers send them: http or https, a host of letters,
 * digits, '.', '-' (or a bracketed IPv6 address) and an optional port;
 * no path, no trailing slash, no wildcard.
 */
static int
fn_cors(struct parse *p, const struct opt *o, const char *val)
{
	const char *w = val;

	if (strlen(val) >= o->size) {
		err(p, "%s: longer than %zu characters", o->key, o->size - 1);
		return AQ_ERR_RANGE;
	}
	while (*w != '\0') {
		size_t n = strcspn(w, " \t"), host;
		size_t scheme = strncmp(w, "https://", 8) == 0 ? 8
		    : strncmp(w, "http://", 7) == 0            ? 7
							       : 0;

		host = scheme == 0
		    ? 0
		    : strspn(w + scheme,
			  "abcdefghijklmnopqrstuvwxyz"
			  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]");
		if (scheme == 0 || host == 0 || scheme + host != n) {
			err(p,
			    "cors_origins: '%.*s' is not an origin like "
			    "https://example.org:8443",
			    (int)n, w);
			return AQ_ERR_INVAL;
		}
		w += n;
		w += strspn(w, " \t");
	}
	memcpy((char *)p->c + o->off, val, strlen(val) + 1);
	return AQ_OK;
}

/* [sites] inspectors: kept with its place, for the receivers' check. */
static int
fn_inspectors(struct parse *p, const struct opt *o, const char *val)
{
	struct conf *c = p->c;

	if (strlen(val) >= sizeof(c->site_inspectors)) {
		err(p, "%s: longer than %zu characters", o->key,
		    sizeof(c->site_inspectors) - 1);
		return AQ_ERR_RANGE;
	}
	snprintf(c->site_inspectors, sizeof(c->site_inspectors), "%s", val);
	snprintf(c->site_inspectors_file, sizeof(c->site_inspectors_file), "%s",
	    p->file != NULL ? p->file : "");
	c->site_inspectors_line = p->line;
	return AQ_OK;
}

static void
open_section(struct parse *p, char *hdr)
{
	char *name = trim(hdr), *id = NULL, *sp;

	p->obj = NULL;
	p->raw = -1;
	p->section[0] = '\0';
	if ((sp = strpbrk(name, " \t")) != NULL) {
		*sp = '\0';
		id = trim(sp + 1);
	}
	for (int k = 0; raw_kinds[k] != NULL; k++) {
		if (strcmp(name, raw_kinds[k]) == 0) {
			open_raw(p, raw_kinds[k], id);
			return;
		}
	}
	if (strcmp(name, "area") == 0 || strcmp(name, "sensor") == 0) {
		bool area = name[0] == 'a';
		size_t max = area ? CONF_ID_MAX : WIN_SENSOR_ID_MAX;
		uint32_t *count = area ? &p->c->nareas : &p->c->nsensors;
		size_t size = area ? sizeof(struct conf_area)
				   : sizeof(struct conf_sensor);
		void **arr =
		    area ? (void **)&p->c->areas : (void **)&p->c->sensors;
		char *grown;

		if (id == NULL || *id == '\0' || strlen(id) >= max ||
		    strpbrk(id, " \t\"/") != NULL) {
			err(p,
			    "[%s]: needs an id (no spaces, quotes or '/', "
			    "under %zu characters)",
			    name, max);
			return;
		}
		for (uint32_t k = 0; k < *count; k++) {
			if (strcmp((char *)*arr + k * size, id) == 0) {
				err(p, "[%s %s]: defined twice", name, id);
				return;
			}
		}
		if (*count >= (area ? AREAS_MAX : SENSORS_MAX) ||
		    (grown = realloc(*arr, (*count + 1) * size)) == NULL) {
			err(p, "[%s]: too many", name);
			return;
		}
		*arr = grown;
		p->obj = grown + *count * size;
		memset(p->obj, 0, size);
		memcpy(p->obj, id, strlen(id) + 1);
		(*count)++;
		if (!area)
			((struct conf_sensor *)p->obj)->interval = 60;
	} else if (id != NULL ||
	    (strcmp(name, "mqtt") != 0 && strcmp(name, "http") != 0 &&
		strcmp(name, "standards") != 0 && strcmp(name, "ingest") != 0 &&
		strcmp(name, "hj212") != 0 && strcmp(name, "grid") != 0 &&
		strcmp(name, "store") != 0 && strcmp(name, "alerts") != 0 &&
		strcmp(name, "publish") != 0 && strcmp(name, "log") != 0 &&
		strcmp(name, "faults") != 0 && strcmp(name, "sites") != 0 &&
		strcmp(name, "hotspots") != 0 && strcmp(name, "plan") != 0 &&
		strcmp(name, "forecast") != 0)) {
		err(p, "unknown section [%s%s%s]", name, id ? " " : "",
		    id ? id : "");
		return;
	}
	snprintf(p->section, sizeof(p->section), "%s", name);
}

static void
handle_line(struct parse *p, char *line, const char *path)
{
	char *s = trim(line), *eq, *key, *val;
	const struct opt *o = NULL;

	if (*s == '\0' || *s == '#' || *s == ';')
		return;
	if (*s == '[') {
		char *close = strchr(s, ']');

		if (close == NULL || trim(close + 1)[0] != '\0') {
			err(p, "malformed section header");
			p->section[0] = '\0';
			p->raw = -1;
			return;
		}
		*close = '\0';
		open_section(p, s + 1);
		return;
	}
	if ((eq = strchr(s, '=')) == NULL) {
		err(p, "expected key = value");
		return;
	}
	*eq = '\0';
	key = trim(s);
	val = trim(eq + 1);
	if (strcmp(key, "include") == 0) {
		char full[CONF_PATH_MAX];
		const char *slash = strrchr(path, '/');
		int saved_line = p->line;

		if (val[0] == '/' || slash == NULL)
			snprintf(full, sizeof(full), "%s", val);
		else
			snprintf(full, sizeof(full), "%.*s/%s",
			    (int)(slash - path), path, val);
		if (p->depth >= INCLUDE_DEPTH_MAX) {
			err(p, "include: nested too deep");
			return;
		}
		if (read_file(p, full) != AQ_OK)
			err(p, "include: cannot read '%s'", full);
		p->file = path;
		p->line = saved_line;
		return;
	}
	if (p->section[0] == '\0') {
		err(p, "'%s' outside a valid section", key);
		return;
	}
	if (p->raw >= 0) {
		add_kv(p, key, val);
		return;
	}
	for (size_t k = 0; k < NOPTS; k++) {
		if (strcmp(opts[k].section, p->section) == 0 &&
		    strcmp(opts[k].key, key) == 0) {
			o = &opts[k];
			break;
		}
	}
	if (o == NULL) {
		err(p, "unknown key '%s' in [%s]", key, p->section);
		return;
	}
	(void)set_value(p, o, scope_base(p, o), val);
}

static int
read_file(struct parse *p, const char *path)
{
	FILE *f = fopen(path, "r");
	char buf[LINE_MAX_LEN];
	struct stat sb;
	int line = 0;

	if (f == NULL)
		return AQ_ERR_IO;
	if (fstat(fileno(f), &sb) == 0) {
		for (int k = 0; k < p->depth; k++)
			if (p->dev[k] == sb.st_dev && p->ino[k] == sb.st_ino) {
				err(p, "include: '%s' includes itself", path);
				fclose(f);
				return AQ_OK;
			}
		p->dev[p->depth] = sb.st_dev;
		p->ino[p->depth] = sb.st_ino;
	}
	p->depth++;
	while (fgets(buf, sizeof(buf), f) != NULL) {
		size_t len = strlen(buf);

		p->file = path;
		p->line = ++line;
		if (len == sizeof(buf) - 1 && buf[len - 1] != '\n') {
			int ch;

			err(p, "line longer than %d bytes", LINE_MAX_LEN - 2);
			while ((ch = fgetc(f)) != EOF && ch != '\n')
				;
			continue;
		}
		handle_line(p, buf, path);
	}
	p->depth--;
	fclose(f);
	return AQ_OK;
}

static void
set_defaults(struct parse *p)
{
	static const double qc[POL_COUNT] = {[POL_PM25] = 2000,
	    [POL_PM10] = 10000,
	    [POL_SO2] = 10000,
	    [POL_NO2] = 5000,
	    [POL_CO] = 150,
	    [POL_O3] = 2000};

	p->file = "(defaults)";
	for (size_t k = 0; k < NOPTS; k++)
		if (opts[k].def != NULL && strcmp(opts[k].section, "area") &&
		    strcmp(opts[k].section, "sensor"))
			(void)set_value(p, &opts[k], p->c, opts[k].def);
	memcpy(p->c->qc_max, qc, sizeof(qc));
}

/* "r012c034" -> 12, 34. */
static int
cell_id_rc(const char *id, int *r, int *c)
{
	int n = 0;

	if (sscanf(id, "r%3dc%3d%n", r, c, &n) != 2 || id[n] != '\0' ||
	    strlen(id) != 8 || *r < 0 || *c < 0)
		return 0;
	return 1;
}

static void
build_grid(struct parse *p)
{
	struct conf *c = p->c;
	uint64_t n = (uint64_t)c->rows * (uint64_t)c->cols + p->nextra;
	double dlat = (double)c->cell_size / METRES_PER_DEG_LAT;

	p->file = c->path;
	p->line = 0;
	if ((c->rows == 0) != (c->cols == 0)) {
		err(p, "[grid]: rows and cols go together");
		return;
	}
	if (n == 0) {
		err(p, "[grid]: no cells (set rows and cols, or list cells)");
		return;
	}
	if (n > CELLS_MAX ||
	    (c->cells = calloc(n, sizeof(*c->cells))) == NULL) {
		err(p, "[grid]: too many cells (%llu)", (unsigned long long)n);
		return;
	}
	for (int64_t r = 0; r < c->rows; r++) {
		for (int64_t k = 0; k < c->cols; k++) {
			struct conf_cell *cc = &c->cells[c->ncells++];
			double lat = c->origin_lat - ((double)r + 0.5) * dlat;

			snprintf(cc->id, sizeof(cc->id), "r%03dc%03d", (int)r,
			    (int)k);
			cc->lat = lat;
			cc->lon = c->origin_lon +
			    ((double)k + 0.5) * dlat / cos(lat * PI / 180);
			cc->row = (int32_t)r;
			cc->col = (int32_t)k;
			cc->area = -1;
		}
	}
	for (size_t k = 0; k < p->nextra; k++) {
		if (conf_cell_find(c, p->extra[k].id) >= 0) {
			err(p, "[grid]: cell '%s' listed twice",
			    p->extra[k].id);
			continue;
		}
		c->cells[c->ncells] = p->extra[k];
		c->cells[c->ncells++].area = -1;
	}
}

static void
resolve_refs(struct parse *p)
{
	struct conf *c = p->c;

	for (size_t k = 0; k < p->nrefs; k++) {
		struct ref *r = &p->refs[k];
		struct conf_area *a = &c->areas[r->area];
		char *save = NULL, *tok;

		p->file = r->file;
		p->line = r->line;
		for (tok = strtok_r(r->text, " \t,", &save); tok != NULL;
		     tok = strtok_r(NULL, " \t,", &save)) {
			char *dash = strchr(tok, '-');
			int64_t one = conf_cell_find(c, tok);
			int r0, c0, r1, c1;
			uint32_t *grown;

			/* A listed cell's id may itself hold a '-'. */
			if (one >= 0 || dash == NULL) {
				if (one < 0) {
					err(p, "cells: no cell '%s'", tok);
					continue;
				}
				r0 = r1 = -1;
				c0 = c1 = (int)one;
			} else {
				*dash = '\0';
				if (!cell_id_rc(tok, &r0, &c0) ||
				    !cell_id_rc(dash + 1, &r1, &c1) ||
				    r1 < r0 || c1 < c0 || r1 >= c->rows ||
				    c1 >= c->cols) {
					err(p, "cells: bad rectangle '%s-%s'",
					    tok, dash + 1);
					continue;
				}
			}
			grown = realloc(a->cells,
			    (a->ncells +
				(size_t)(r0 < 0
					? 1
					: (r1 - r0 + 1) * (c1 - c0 + 1))) *
				sizeof(*grown));
			if (grown == NULL) {
				err(p, "out of memory");
				return;
			}
			a->cells = grown;
			if (r0 < 0) {
				a->cells[a->ncells++] = (uint32_t)c0;
				continue;
			}
			for (int rr = r0; rr <= r1; rr++)
				for (int cc = c0; cc <= c1; cc++)
					a->cells[a->ncells++] =
					    (uint32_t)(rr * c->cols + cc);
		}
	}
	for (uint32_t k = 0; k < c->nareas; k++)
		for (uint32_t i = 0; i < c->areas[k].ncells; i++)
			if (c->cells[c->areas[k].cells[i]].area < 0)
				c->cells[c->areas[k].cells[i]].area =
				    (int32_t)k;
}

static void
finish(struct parse *p)
{
	struct conf *c = p->c;

	build_grid(p);
	if (c->cells != NULL)
		resolve_refs(p);
	p->file = c->path;
	p->line = 0;
	for (uint32_t k = 0; k < c->nareas; k++)
		if (c->areas[k].ncells == 0)
			err(p, "[area %s]: no cells", c->areas[k].id);
	for (uint32_t k = 0; k < c->nsensors && c->cells != NULL; k++)
		if (conf_cell_find(c, c->sensors[k].cell) < 0)
			err(p, "[sensor %s]: cell '%s' is not in the grid",
			    c->sensors[k].id, c->sensors[k].cell);
	if (c->nsubs == 0)
		err(p, "[mqtt]: no subscribe lines");
	if (c->mqtt_backoff_max < c->mqtt_backoff_min)
		err(p, "[mqtt]: backoff_max is below backoff_min");
	if ((c->mqtt_cert_file[0] != '\0') != (c->mqtt_key_file[0] != '\0'))
		err(p, "[mqtt]: cert_file and key_file go together");
	if ((c->http_tls_cert[0] != '\0') != (c->http_tls_key[0] != '\0')) {
		p->file = p->tls_file;
		p->line = p->tls_line;
		err(p, "[http]: tls_cert and tls_key go together");
		p->file = c->path;
		p->line = 0;
	}
	if (c->sensors_max == 0)
		c->sensors_max = 4 * (int64_t)c->ncells + c->nsensors;
	if (c->sensors_max < c->nsensors)
		err(p, "[ingest]: sensors_max is below the registry's %u",
		    c->nsensors);
}

int
conf_load(const char *path, const struct conf_hooks *hooks, struct conf **out,
    FILE *errs)
{
	struct parse p = {
	    .hooks = hooks, .errs = errs, .file = path, .raw = -1};
	int rc = AQ_ERR_INVAL;

	if ((p.c = calloc(1, sizeof(*p.c))) == NULL ||
	    (p.c->strs = calloc(1, sizeof(*p.c->strs))) == NULL) {
		free(p.c);
		fprintf(errs, "%s: out of memory\n", path);
		return AQ_ERR_NOMEM;
	}
	snprintf(p.c->path, sizeof(p.c->path), "%s", path);
	set_defaults(&p);
	p.file = path;
	if (read_file(&p, path) != AQ_OK) {
		fprintf(errs, "%s: cannot read: %s\n", path, strerror(errno));
		p.nerr++;
	} else {
		finish(&p);
	}
	if (p.nerr == 0) {
		*out = p.c;
		p.c = NULL;
		rc = AQ_OK;
	}
	for (size_t k = 0; k < p.nrefs; k++)
		free(p.refs[k].text);
	free(p.refs);
	free(p.extra);
	conf_free(p.c);
	return rc;
}

void
conf_free(struct conf *c)
{
	if (c == NULL)
		return;
	for (uint32_t k = 0; k < c->nareas; k++)
		free(c->areas[k].cells);
	free(c->areas);
	free(c->sensors);
	free(c->cells);
	if (c->strs != NULL) {
		for (uint32_t k = 0; k < c->nsections; k++)
			free(c->strs->kvs[k]);
		for (size_t k = 0; k < c->strs->nv; k++)
			free(c->strs->v[k]);
		free(c->strs->kvs);
		free(c->strs->secs);
		free(c->strs->v);
		free(c->strs);
	}
	free(c);
}

const struct conf_section *
conf_section_next(
    const struct conf *c, const char *kind, const struct conf_section *prev)
{
	uint32_t k = prev == NULL ? 0 : (uint32_t)(prev - c->sections) + 1;

	for (; k < c->nsections; k++)
		if (strcmp(c->sections[k].kind, kind) == 0)
			return &c->sections[k];
	return NULL;
}

const struct conf_section *
conf_section_find(const struct conf *c, const char *kind, const char *id)
{
	const struct conf_section *s = NULL;

	while ((s = conf_section_next(c, kind, s)) != NULL)
		if (strcmp(s->id, id) == 0)
			return s;
	return NULL;
}

const char *
conf_section_get(const struct conf_section *s, const char *key)
{
	for (uint32_t k = s->nkv; k > 0; k--)
		if (strcmp(s->kv[k - 1].key, key) == 0)
			return s->kv[k - 1].value;
	return NULL;
}

int64_t
conf_cell_find(const struct conf *c, const char *id)
{
	int r, k;

	if (cell_id_rc(id, &r, &k) && r < c->rows && k < c->cols)
		return (int64_t)r * c->cols + k;
	for (uint32_t i = (uint32_t)(c->rows * c->cols); i < c->ncells; i++)
		if (strcmp(c->cells[i].id, id) == 0)
			return i;
	return -1;
}

uint32_t
conf_cell_neighbours(const struct conf *c, uint32_t cell, uint32_t out[8])
{
	const struct conf_cell *cc;
	uint32_t n = 0;

	if (cell >= c->ncells || (cc = &c->cells[cell])->row < 0)
		return 0;
	for (int64_t r = cc->row - 1; r <= cc->row + 1; r++)
		for (int64_t k = cc->col - 1; k <= cc->col + 1; k++)
			if (r >= 0 && k >= 0 && r < c->rows && k < c->cols &&
			    (r != cc->row || k != cc->col))
				out[n++] = (uint32_t)(r * c->cols + k);
	return n;
}

int64_t
conf_cell_at(const struct conf *c, double lat, double lon)
{
	double dlat = (double)c->cell_size / METRES_PER_DEG_LAT;
	double r, k;

	if (c->rows == 0 || !isfinite(lat) || !isfinite(lon))
		return -1;
	r = floor((c->origin_lat - lat) / dlat);
	if (r < 0 || r >= (double)c->rows)
		return -1;
	/* Columns are as wide as the row's centre latitude makes them. */
	k = floor((lon - c->origin_lon) /
	    (dlat / cos((c->origin_lat - (r + 0.5) * dlat) * PI / 180)));
	if (k < 0 || k >= (double)c->cols)
		return -1;
	return (int64_t)r * c->cols + (int64_t)k;
}

static void write_man_opt(FILE *f, const struct opt *o);
static void write_man_text(FILE *f, const char *s);

/* Grouped by section, in the order each section first appears in the
 * table (a section's rows need not be adjacent). */
void
conf_write_man(FILE *f)
{
	for (size_t k = 0; k < NOPTS; k++) {
		const char *section = opts[k].section;
		bool seen = false;

		for (size_t j = 0; j < k && !seen; j++)
			seen = strcmp(opts[j].section, section) == 0;
		if (seen)
			continue;
		fprintf(f, ".SS [%s%s]\n", section,
		    strcmp(section, "area") == 0 ||
			    strcmp(section, "sensor") == 0
			? " ID"
			: "");
		for (size_t j = k; j < NOPTS; j++)
			if (strcmp(opts[j].section, section) == 0)
				write_man_opt(f, &opts[j]);
	}
}

/* One key: its range (integers, booleans, names), its default, its doc. */
static void
write_man_opt(FILE *f, const struct opt *o)
{
	char buf[512];

	fprintf(f, ".TP\n.B %s\n", o->key);
	if (o->type == T_INT)
		fprintf(f, "Integer %.0f to %.0f.\n", o->min, o->max);
	else if (o->type == T_DBL)
		fprintf(f, "Number %g to %g.\n", o->min, o->max);
	else if (o->type == T_BOOL)
		fprintf(f, "yes or no.\n");
	else if (o->type == T_ENUM) {
		size_t n = 0;

		buf[0] = '\0';
		for (size_t j = 0; o->names[j] != NULL; j++)
			if (o->names[j][0] != '\0')
				n += (size_t)snprintf(buf + n,
				    n < sizeof(buf) ? sizeof(buf) - n : 0,
				    "%s%s", n > 0 ? ", " : "One of ",
				    o->names[j]);
		if (n > 0 && n < sizeof(buf) - 1)
			write_man_text(f, strcat(buf, "."));
	}
	if (o->def != NULL) {
		snprintf(buf, sizeof(buf), "Default: %s.",
		    o->def[0] ? o->def : "empty");
		write_man_text(f, buf);
	}
	write_man_text(f, o->doc);
}

/* Text as troff input lines: a new line for each sentence and before 72
 * columns; backslashes escaped, and a line that would start with a control
 * character protected by \&. */
static void
write_man_text(FILE *f, const char *s)
{
	size_t col = 0;
	char last = ' '; /* the previous word's last character */

	while (*s != '\0') {
		size_t w;

		while (*s == ' ')
			s++;
		if (*s == '\0')
			break;
		w = strcspn(s, " ");
		if (col > 0 && (col + 1 + w > 72 || last == '.')) {
			fputc('\n', f);
			col = 0;
		} else if (col > 0) {
			fputc(' ', f);
			col++;
		}
		if (col == 0 && (*s == '.' || *s == '\''))
			fputs("\\&", f);
		for (size_t k = 0; k < w; k++) {
			if (s[k] == '\\')
				fputs("\\e", f);
			else
				fputc(s[k], f);
		}
		last = s[w - 1];
		col += w;
		s += w;
	}
	if (col > 0)
		fputc('\n', f);
}

bool
conf_option(size_t k, const char **section, const char **key)
{
	if (k >= NOPTS)
		return false;
	*section = opts[k].section;
	*key = opts[k].key;
	return true;
}
