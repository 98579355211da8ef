/*
 * api: the HTTP server (api.h).  One table of routes drives the router, the
 * route label of the request counter and the OpenAPI document, so the three
 * cannot drift apart.  Handlers build their answer from copies: cell views
 * taken one at a time with state_view() (a reader holds a cell's lock only
 * for one copy, so ingest never waits on HTTP) and relaxed atomic counters.
 * Here: the route table, the server and its dispatch (target parsing,
 * CORS, auth, answers), the helpers every handler shares
 * (api_internal.h) and the OpenAPI document; the handlers live in the
 * api_*.c modules by concern.
 */
#include "web/api_internal.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "alerts/alert.h"
#include "alerts/notify.h"
#include "daemon/aqi.h"
#include "daemon/fix.h"
#include "daemon/log.h"
#include "daemon/plan.h"
#include "daemon/tz.h"
#include "daemon/version.h"

#include "web/api_cells.h"
#include "web/api_status.h"
#include "web/api_history.h"
#include "web/api_forecast.h"
#include "web/api_static.h"
#include "web/api_auth.h"
#include "web/api_alerts.h"
#include "web/api_sites.h"

/* Ten significant digits print every fix value the engine keeps (0.001
 * units, below a million) exactly and hide binary noise: 35.2, not
 * 35.200000000000003. */
#define API_DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(10))
#define API_CSP                                                                \
	"default-src 'self'; script-src 'self'; style-src 'self'; "            \
	"img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"

/* Answers other than the dashboard's pages load nothing and frame in
 * nothing. */
#define API_CSP_NONE "default-src 'none'; frame-ancestors 'none'"
#define API_ALLOW "GET, HEAD"
#define API_CORS_HEADERS "Accept, Authorization, Content-Type, Last-Event-ID"
#define API_CORS_MAX_AGE "600"
#define API_PEM_MAX (1024 * 1024) /* largest TLS certificate or key file */

/* TLS 1.2 and 1.3 only, GnuTLS's usual ciphers. */
#define API_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
/* Bytes MHD asks an event stream's reader for at once. */
#define SSE_BLOCK 4096

/* The status codes the request counter keeps apart (api_internal.h). */
const unsigned int api_http_codes[] = {
    200, 201, 204, 400, 401, 403, 404, 405, 409, 413, 414, 500, 503};

/* A request body as read so far (body_take()). */
struct body {
	char *p; /* owned (malloc) */
	size_t len, cap;
};

/*
 * What *con_cls holds from uri_log() to done(): the parsed target, and
 * the body.  One per request, so that answer() can take several calls.
 */
struct conn {
	struct api_target t;
	int refuse;   /* api_parse_target()'s status, or 0 */
	bool started; /* answer() has seen the headers */
	struct body in;
};

/* OpenAPI description of a route's parameters and responses. */
struct param_def {
	const char *name, *in, *type, *doc;
};

struct resp_def {
	unsigned int code;
	const char *doc;
	const char *body; /* "#Schema", or a media type */
};

/* A method other than GET and HEAD: these write, with an rw token. */
struct method_def {
	const char *http, *key; /* "POST", and OpenAPI's "post" */
	handler_fn *fn;
	const char *op, *summary;
	const char *body; /* request body "#Schema", or NULL */
	const struct param_def *params;
	const struct resp_def *resps;
};

struct route_def {
	handler_fn *fn; /* GET and HEAD; NULL for none */
	const char *op, *tag, *summary;
	const struct param_def *params; /* ends with a NULL name */
	const struct resp_def *resps;   /* ends with code 0 */
	const struct method_def *more;  /* NULL, or ends with a NULL http */
};

/* A component schema: "name:type" properties separated by spaces (see
 * dsl_type() for the types; a leading '-' marks an optional one). */
struct schema_def {
	const char *name, *doc, *props;
};

static handler_fn h_openapi;
static void *uri_log(void *cls, const char *uri, struct MHD_Connection *c);
static void done(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode why);
static void mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static enum MHD_Result answer(void *cls, struct MHD_Connection *conn,
    const char *url, const char *method, const char *version,
    const char *upload_data, size_t *upload_data_size, void **con_cls);
static int body_take(
    struct body *b, const char *data, size_t n, size_t max) AQ_MUSTCHECK;
static bool too_long(struct MHD_Connection *conn, int64_t max);
static int preflight(struct req *r);
static const char *cors_origin(const struct req *r);
static int decode(
    const char *s, size_t n, bool query, bool path, char *out, size_t *len);
static int hexval(char c);
static int read_pem(const char *key, const char *path, char **out, size_t *len);
static enum route match(const char *url, char *param, size_t len);
static bool match_one(
    const char *pat, const char *url, char *param, size_t len);
static enum MHD_Result send_answer(struct req *r, enum route route);
static void count(struct api *a, enum route route, unsigned int code);
static void req_reset(struct req *r);
static int dump(const json_t *j, char **out, size_t *len);
static int dump_cb(const char *p, size_t n, void *data);
static bool utf8_ok(const char *s);
static json_t *openapi_build(void);
static json_t *openapi_op(const struct route_def *rd);
static json_t *openapi_method(
    const struct route_def *rd, const struct method_def *m);
static int openapi_patch(json_t *doc);
static json_t *openapi_schema(const struct schema_def *sd);
static json_t *dsl_type(const char **sp);
static json_t *ref(const char *name, size_t len);
static int resolve(const char *host, int64_t port, struct sockaddr_storage *ss);
static handler_fn *route_fn(enum route route, const char *method, bool *write);
static const char *route_allow(enum route route);

static const char *const route_pattern[R_COUNT + 1] = {
    [R_HEALTHZ] = "/healthz",
    [R_READYZ] = "/readyz",
    [R_STATUS] = "/api/v1/status",
    [R_CELLS] = "/api/v1/cells",
    [R_CELL] = "/api/v1/cells/{id}",
    [R_AREAS] = "/api/v1/areas",
    [R_AREA] = "/api/v1/areas/{id}",
    [R_CELL_HISTORY] = "/api/v1/cells/{id}/history",
    [R_CELL_DAILY] = "/api/v1/cells/{id}/daily",
    [R_AREA_HISTORY] = "/api/v1/areas/{id}/history",
    [R_ALERTS] = "/api/v1/alerts",
    [R_ALERT] = "/api/v1/alerts/{fingerprint}",
    [R_ALERT_ACK] = "/api/v1/alerts/{fingerprint}/ack",
    [R_SILENCES] = "/api/v1/silences",
    [R_SILENCE] = "/api/v1/silences/{id}",
    [R_NOTIFICATIONS] = "/api/v1/notifications",
    [R_EVENTS] = "/api/v1/events",
    [R_SITES] = "/api/v1/sites",
    [R_SITE_BLACKLIST] = "/api/v1/sites/blacklist",
    [R_SITE] = "/api/v1/sites/{id}",
    [R_CELL_FORECAST] = "/api/v1/cells/{id}/forecast",
    [R_HOTSPOTS] = "/api/v1/hotspots",
    [R_AREA_WARNING] = "/api/v1/areas/{id}/warning",
    [R_AREA_FORECAST] = "/api/v1/areas/{id}/forecast",
    [R_INDICATORS] = "/api/v1/indicators",
    [R_OPENAPI] = "/api/v1/openapi.json",
    [R_METRICS] = "/metrics",
    [R_INDEX] = "/",
    [R_STATIC] = "/static/{file}",
    [R_OTHER] = "other",
};

static const struct param_def no_params[] = {{NULL, NULL, NULL, NULL}};

static const struct param_def cells_params[] = {
    {"area", "query", "string", "Only the cells of this area."},
    {"min_aqi", "query", "integer", "Only cells with an AQI of at least this."},
    {"sort", "query", "aqi|id",
	"Order: id (default), or aqi descending with unknown AQI last "
	"and ties by id."},
    {"limit", "query", "integer", "Page size, 1 to 10000; default 100."},
    {"cursor", "query", "string",
	"Where the page starts: meta.next of the previous page."},
    {NULL, NULL, NULL, NULL},
};

static const struct param_def cell_params[] = {
    {"id", "path", "string", "Cell id, e.g. r000c001."},
    {NULL, NULL, NULL, NULL},
};

static const struct param_def area_params[] = {
    {"id", "path", "string", "Area id."},
    {NULL, NULL, NULL, NULL},
};

#define HIST_FROM_DOC                                                          \
	"Earliest hour (by its end): Unix seconds, ISO 8601 with an offset "   \
	"or Z, ISO 8601 without one (local time in the configured zone), or "  \
	"YYYY-MM-DD (that day's first hour, 01:00).  Default: 48 hours "       \
	"before to."
#define HIST_TO_DOC                                                            \
	"Latest hour (by its end), as from; YYYY-MM-DD is that day's last "    \
	"hour (24:00).  Default: now.  from after to is 400."
#define HIST_FORMAT_DOC                                                        \
	"json (default) or csv; without it, an Accept header naming text/csv " \
	"asks for CSV.  CSV has a header line, then one row a line; unknown "  \
	"values are empty fields, lists are joined by ';'."
#define HIST_LIMIT_DOC "Rows per page, 1 to 5000 (more is 400); default 500."
#define HIST_CURSOR_DOC                                                        \
	"Where the page starts: next_cursor of the page before (also sent "    \
	"as the X-Next-Cursor header, CSV or not).  Pages follow each other "  \
	"with no gap and no repeat; the last has next_cursor null and no "     \
	"X-Next-Cursor."

static const struct param_def cell_history_params[] = {
    {"id", "path", "string", "Cell id, e.g. r000c001."},
    {"from", "query", "string", HIST_FROM_DOC},
    {"to", "query", "string", HIST_TO_DOC},
    {"indicators", "query", "string",
	"Indicators shown, comma-separated (pm25_1h,o3_8h); default all. "
	"An unknown name is 400, naming it."},
    {"format", "query", "json|csv", HIST_FORMAT_DOC},
    {"limit", "query", "integer", HIST_LIMIT_DOC},
    {"cursor", "query", "string", HIST_CURSOR_DOC},
    {NULL, NULL, NULL, NULL},
};

static const struct param_def cell_daily_params[] = {
    {"id", "path", "string", "Cell id, e.g. r000c001."},
    {"from", "query", "string",
	"Earliest local date, YYYY-MM-DD (or a time as for the hourly "
	"history: its local date).  Default: 30 days before to."},
    {"to", "query", "string", "Latest local date, as from.  Default: today."},
    {"indicators", "query", "string",
	"Indicators shown, comma-separated; default all."},
    {"format", "query", "json|csv", HIST_FORMAT_DOC},
    {"limit", "query", "integer", HIST_LIMIT_DOC},
    {"cursor", "query", "string", HIST_CURSOR_DOC},
    {NULL, NULL, NULL, NULL},
};

static const struct param_def area_history_params[] = {
    {"id", "path", "string", "Area id."},
    {"from", "query", "string", HIST_FROM_DOC},
    {"to", "query", "string", HIST_TO_DOC},
    {"indicators", "query", "string",
	"Indicators averaged, comma-separated; default pm25_1h, pm10_1h, "
	"so2_1h, no2_1h, co_1h and o3_1h."},
    {"format", "query", "json|csv", HIST_FORMAT_DOC},
    {"limit", "query", "integer", HIST_LIMIT_DOC},
    {"cursor", "query", "string", HIST_CURSOR_DOC},
    {NULL, NULL, NULL, NULL},
};

static const struct param_def file_params[] = {
    {"file", "path", "string",
	"A file of the dashboard's folder (letters, digits, '.', '_', "
	"'-'; not starting with '.')."},
    {NULL, NULL, NULL, NULL},
};

#define ALERT_OFF_DOC "Alerts are off (no alert service)."

static const struct param_def alerts_params[] = {
    {"state", "query", "pending|firing|resolved|inactive",
	"Only alerts in this state (default: all but inactive); with after, "
	"only log entries of this event."},
    {"severity", "query", "info|warning|critical", "Only this severity."},
    {"area", "query", "string", "Only alerts of this area."},
    {"cell", "query", "string", "Only alerts of this cell."},
    {"after", "query", "integer",
	"An alert-log cursor (cursor of the previous answer, or 0 for the "
	"start): the log entries after it instead of the alerts, oldest "
	"first, for incremental polling.  Needs a store."},
    {"limit", "query", "integer",
	"At most this many: 1 to 10000 (default all); with after 1 to 1000 "
	"(default 100)."},
    {NULL, NULL, NULL, NULL},
};

static const struct param_def alert_params[] = {
    {"fingerprint", "path", "string",
	"The alert's fingerprint (16 hex digits)."},
    {NULL, NULL, NULL, NULL},
};

static const struct param_def silence_params[] = {
    {"id", "path", "integer", "The silence's id."},
    {NULL, NULL, NULL, NULL},
};

static const struct param_def notifications_params[] = {
    {"status", "query", "dead", "dead (the default): the dead letters."},
    {"limit", "query", "integer", "At most this many, 1 to 1000."},
    {NULL, NULL, NULL, NULL},
};

static const struct param_def events_params[] = {
    {"last_event_id", "query", "integer",
	"Resume after this event id (as the Last-Event-ID header does)."},
    {NULL, NULL, NULL, NULL},
};

static const struct param_def site_params[] = {
    {"id", "path", "string", "The site's id ([site ID])."},
    {NULL, NULL, NULL, NULL},
};

static const struct param_def blacklist_params[] = {
    {"month", "query", "string",
	"YYYY-MM, a month in the configured zone (default: the current "
	"one)."},
    {NULL, NULL, NULL, NULL},
};

static const struct resp_def sites_resps[] = {
    {200, "Every dust site with its status.", "#SiteList"},
    {401, "read_auth is on and no known token was given.", "#Error"},
    {503, ALERT_OFF_DOC, "#Error"}, {0, NULL, NULL}};

static const struct resp_def site_resps[] = {
    {200, "The site, its status changes and its latest hours.", "#SiteDetail"},
    {401, "read_auth is on and no known token was given.", "#Error"},
    {404, "No such site.", "#Error"}, {503, ALERT_OFF_DOC, "#Error"},
    {0, NULL, NULL}};

static const struct resp_def blacklist_resps[] = {
    {200, "The month's blacklisted sites.", "#SiteBlacklist"},
    {400, "A bad month.", "#Error"},
    {401, "read_auth is on and no known token was given.", "#Error"},
    {503, ALERT_OFF_DOC, "#Error"}, {0, NULL, NULL}};

static const struct resp_def alerts_resps[] = {
    {200, "The alerts, newest change first.", "#AlertList"},
    {400, "A bad parameter, named in the message.", "#Error"},
    {401, "read_auth is on and no known token was given.", "#Error"},
    {404, "No such area or cell.", "#Error"},
    {503, ALERT_OFF_DOC " With after: no store.", "#Error"}, {0, NULL, NULL}};

static const struct resp_def alert_resps[] = {
    {200, "The alert and its delivery attempts.", "#AlertDetail"},
    {401, "read_auth is on and no known token was given.", "#Error"},
    {404, "No such alert.", "#Error"}, {503, ALERT_OFF_DOC, "#Error"},
    {0, NULL, NULL}};

static const struct resp_def ack_resps[] = {
    {200, "Acknowledged: the alert as it is now.", "#Alert"},
    {400, "A bad body.", "#Error"}, {401, "No known bearer token.", "#Error"},
    {403, "A read-only token.", "#Error"}, {404, "No such alert.", "#Error"},
    {409, "The alert is not pending or firing.", "#Error"},
    {503, ALERT_OFF_DOC, "#Error"}, {0, NULL, NULL}};

static const struct resp_def silences_resps[] = {
    {200, "Every silence, newest first, expired ones too.", "#SilenceList"},
    {401, "read_auth is on and no known token was given.", "#Error"},
    {503, ALERT_OFF_DOC, "#Error"}, {0, NULL, NULL}};

static const struct resp_def silence_add_resps[] = {
    {201, "The silence made.", "#Silence"},
    {400, "A bad body: matchers, times or comment, named.", "#Error"},
    {401, "No known bearer token.", "#Error"},
    {403, "A read-only token.", "#Error"}, {503, ALERT_OFF_DOC, "#Error"},
    {0, NULL, NULL}};

static const struct resp_def silence_rm_resps[] = {
    {200, "The silence, expired now.", "#Silence"},
    {401, "No known bearer token.", "#Error"},
    {403, "A read-only token.", "#Error"}, {404, "No such silence.", "#Error"},
    {503, ALERT_OFF_DOC, "#Error"}, {0, NULL, NULL}};

static const struct resp_def notifications_resps[] = {
    {200, "The dead letters, in outbox key order.", "#DeadLetterList"},
    {400, "A status other than dead, or a bad limit.", "#Error"},
    {401, "read_auth is on and no known token was given.", "#Error"},
    {503, ALERT_OFF_DOC " Or no store.", "#Error"}, {0, NULL, NULL}};

static const struct resp_def events_resps[] = {
    {200,
	"Server-Sent Events: for each event \"id: N\", \"event: TYPE\" "
	"(alert, ack, silence, cell) and \"data: JSON\" lines; "
	"\"event: reset\" when events were dropped before they were sent; "
	"a comment line every 15 s on a quiet stream.",
	"text/event-stream"},
    {400, "A bad Last-Event-ID.", "#Error"},
    {401, "read_auth is on and no known token was given.", "#Error"},
    {503, ALERT_OFF_DOC " Or [http] sse_clients streams are open.", "#Error"},
    {0, NULL, NULL}};

static const struct method_def ack_methods[] = {
    {"POST", "post", api_ack, "ackAlert",
	"Acknowledges an open alert: repeats stop, the resolved "
	"notification does not.  The author is the token's name.",
	"#AckRequest", alert_params, ack_resps},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL}};

static const struct method_def silences_methods[] = {
    {"POST", "post", api_silence_add, "addSilence",
	"Adds a silence: matching alerts change state but notify nobody "
	"from starts_at to ends_at.  The author is the token's name.",
	"#SilenceRequest", no_params, silence_add_resps},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL}};

static const struct method_def silence_methods[] = {
    {"DELETE", "delete", api_silence_rm, "expireSilence",
	"Expires a silence now (it stays listed).", NULL, silence_params,
	silence_rm_resps},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL}};

static const struct resp_def healthz_resps[] = {
    {200, "The server is up.", "#Health"}, {0, NULL, NULL}};

static const struct resp_def readyz_resps[] = {
    {200, "Connected to the broker.", "#Ready"},
    {503, "Not connected to the broker.", "#Ready"}, {0, NULL, NULL}};

static const struct resp_def status_resps[] = {
    {200, "Counters and settings.", "#Status"}, {0, NULL, NULL}};

static const struct resp_def cells_resps[] = {
    {200, "One page of cells.", "#CellList"},
    {400, "A bad parameter, named in the message.", "#Error"},
    {404, "No such area.", "#Error"}, {0, NULL, NULL}};

static const struct resp_def cell_resps[] = {
    {200, "The cell's latest complete hour and day.", "#CellDetail"},
    {404, "No such cell.", "#Error"}, {0, NULL, NULL}};

static const struct resp_def areas_resps[] = {
    {200, "Every area with its aggregates.", "#AreaList"}, {0, NULL, NULL}};

static const struct resp_def area_resps[] = {
    {200, "The area, its aggregates and cells.", "#AreaDetail"},
    {404, "No such area.", "#Error"}, {0, NULL, NULL}};

static const struct resp_def cell_history_resps[] = {
    {200, "One page of the cell's hours, oldest first.", "#CellHistory"},
    {200, "", "text/csv"},
    {400, "A bad parameter, named in the message.", "#Error"},
    {404, "No such cell.", "#Error"},
    {500, "The store could not be read.", "#Error"},
    {503, "The daemon keeps no history ([store] dir not set).", "#Error"},
    {0, NULL, NULL}};

static const struct resp_def cell_daily_resps[] = {
    {200, "One page of the cell's days, oldest first.", "#CellDaily"},
    {200, "", "text/csv"},
    {400, "A bad parameter, named in the message.", "#Error"},
    {404, "No such cell.", "#Error"},
    {500, "The store could not be read.", "#Error"},
    {503, "The daemon keeps no history ([store] dir not set).", "#Error"},
    {0, NULL, NULL}};

static const struct resp_def area_history_resps[] = {
    {200, "One page of the area's hours, oldest first.", "#AreaHistory"},
    {200, "", "text/csv"},
    {400, "A bad parameter, named in the message.", "#Error"},
    {404, "No such area.", "#Error"},
    {500, "The store could not be read.", "#Error"},
    {503, "The daemon keeps no history ([store] dir not set).", "#Error"},
    {0, NULL, NULL}};

static const struct resp_def cell_forecast_resps[] = {
    {200, "The cell's forecast (ready false while its model warms up).",
	"#CellForecast"},
    {404, "No such cell.", "#Error"}, {0, NULL, NULL}};

static const struct resp_def hotspots_resps[] = {
    {200, "The ranking.", "#Hotspots"}, {0, NULL, NULL}};

static const struct resp_def area_warning_resps[] = {
    {200,
	"The area's heavy-pollution warning level and the days behind "
	"it.",
	"#AreaWarning"},
    {404, "No such area.", "#Error"}, {0, NULL, NULL}};

static const struct resp_def area_forecast_resps[] = {
    {200, "Stored: the area's warning as it is now.", "#AreaWarning"},
    {400, "A bad body.", "#Error"}, {401, "No known bearer token.", "#Error"},
    {403, "A read-only token.", "#Error"}, {404, "No such area.", "#Error"},
    {503, "Forecasts are off ([forecast] cells_max = 0).", "#Error"},
    {0, NULL, NULL}};

static const struct method_def area_forecast_methods[] = {
    {"POST", "post", api_area_forecast, "postAreaForecast",
	"Stores the area's daily AQI forecast from outside (the city "
	"forecast centre), which then decides the warning level instead of "
	"the cells' models; an empty days array removes it.",
	"#AreaForecastRequest", area_params, area_forecast_resps},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL}};

static const struct param_def indicators_params[] = {
    {"area", "query", "string", "Area id; the whole grid when absent."},
    {"from", "query", "string",
	"First local date, YYYY-MM-DD (or a time: its local date).  "
	"Default: 1 January of to's year."},
    {"to", "query", "string",
	"Last local date, as from.  Default: yesterday, the latest complete "
	"day, in the configured zone.  At most 3700 days after from."},
    {NULL, NULL, NULL, NULL},
};

static const struct resp_def indicators_resps[] = {
    {200, "The indicators over the range.", "#Indicators"},
    {400, "A bad parameter, named in the message.", "#Error"},
    {404, "No such area.", "#Error"},
    {500, "The store could not be read.", "#Error"},
    {503, "The daemon keeps no history ([store] dir not set).", "#Error"},
    {0, NULL, NULL}};

static const struct resp_def openapi_resps[] = {
    {200, "This document.", "application/json"}, {0, NULL, NULL}};

static const struct resp_def metrics_resps[] = {
    {200, "Prometheus text format 0.0.4.", "text/plain"}, {0, NULL, NULL}};

static const struct resp_def index_resps[] = {
    {200, "The dashboard.", "text/html"},
    {404, "The dashboard is not installed.", "#Error"}, {0, NULL, NULL}};

static const struct resp_def static_resps[] = {{200, "The file.", "*/*"},
    {400, "An escaped or malformed path.", "#Error"},
    {404, "No such file.", "#Error"}, {0, NULL, NULL}};

static const struct route_def routes[R_COUNT] = {
    [R_HEALTHZ] = {api_healthz, "getHealth", "health",
	"Liveness: the server answers.", no_params, healthz_resps, NULL},
    [R_READYZ] = {api_readyz, "getReady", "health",
	"Readiness: connected to the MQTT broker.", no_params, readyz_resps,
	NULL},
    [R_STATUS] = {api_status, "getStatus", "meta",
	"Version, uptime, ingest counters and standards.", no_params,
	status_resps, NULL},
    [R_CELLS] = {api_cells, "listCells", "cells",
	"Cells with their latest complete hour, filtered, sorted and "
	"paged.",
	cells_params, cells_resps, NULL},
    [R_CELL] = {api_cell, "getCell", "cells",
	"One cell: AQI, IAQIs, concentrations, weather, exceedances, the "
	"latest complete day and sensors.",
	cell_params, cell_resps, NULL},
    [R_AREAS] = {api_areas, "listAreas", "areas",
	"Areas with their worst cell, means and level counts.", no_params,
	areas_resps, NULL},
    [R_AREA] = {api_area, "getArea", "areas",
	"One area with its aggregates and cell ids.", area_params, area_resps,
	NULL},
    [R_CELL_HISTORY] = {api_cell_history, "getCellHistory", "history",
	"A cell's hourly rows from the store (AQI, level, primary "
	"pollutants, exceedances, each indicator's value and valid "
	"hours), paged by cursor; JSON or CSV.",
	cell_history_params, cell_history_resps, NULL},
    [R_CELL_DAILY] = {api_cell_daily, "getCellDaily", "history",
	"A cell's daily rows from the store (daily AQI, daily means, "
	"maxima and MDA8), paged by cursor; JSON or CSV.",
	cell_daily_params, cell_daily_resps, NULL},
    [R_AREA_HISTORY] = {api_area_history, "getAreaHistory", "history",
	"An area's hours aggregated from its cells' rows as for the area "
	"itself: worst cell, means over cells with a valid value (with "
	"how many), cells per level.  A page may hold fewer hours than "
	"limit in a large area (at most 20000 cell-hours are read a "
	"page); follow next_cursor until it is null.",
	area_history_params, area_history_resps, NULL},
    [R_ALERTS] = {api_alerts, "listAlerts", "alerts",
	"Alerts filtered by state, severity, area and cell, newest change "
	"first; with after, the alert log after that cursor.",
	alerts_params, alerts_resps, NULL},
    [R_ALERT] = {api_alert, "getAlert", "alerts",
	"One alert with its notification delivery attempts.", alert_params,
	alert_resps, NULL},
    [R_ALERT_ACK] = {NULL, NULL, "alerts", NULL, alert_params, NULL,
	ack_methods},
    [R_SILENCES] = {api_silences, "listSilences", "alerts",
	"Silences, expired ones too.", no_params, silences_resps,
	silences_methods},
    [R_SILENCE] = {NULL, NULL, "alerts", NULL, silence_params, NULL,
	silence_methods},
    [R_NOTIFICATIONS] = {api_notifications, "listNotifications", "alerts",
	"Dead-lettered notifications: attempts ran out or the receiver "
	"refused them for good.",
	notifications_params, notifications_resps, NULL},
    [R_EVENTS] = {api_events, "streamEvents", "alerts",
	"Server-Sent Events of alert notices, acknowledgements, silences "
	"and cell AQI changes.  Starts after Last-Event-ID (header or "
	"last_event_id), else with the next event.",
	events_params, events_resps, NULL},
    [R_SITES] = {api_sites, "listSites", "sites",
	"Dust sites (construction, plant, yard, road) with their "
	"green/yellow/red status, latest hour, excess over the background "
	"and this month's red hours and episodes.",
	no_params, sites_resps, NULL},
    [R_SITE_BLACKLIST] = {api_site_blacklist, "getSiteBlacklist", "sites",
	"Sites whose red hours or red episodes in a local month reach "
	"[sites] blacklist_red_hours or blacklist_red_episodes.",
	blacklist_params, blacklist_resps, NULL},
    [R_SITE] = {api_site, "getSite", "sites",
	"One dust site: its status, the history of its status changes "
	"(newest first) and its latest judged hours with the background "
	"and the excess over it.",
	site_params, site_resps, NULL},
    [R_CELL_FORECAST] = {api_cell_forecast, "getCellForecast", "forecasts",
	"A cell's forecast from its online model: hourly PM2.5 and O3 for "
	"the next 72 hours with 80% intervals, the PM2.5 24-hour and O3 "
	"8-hour means over observed and forecast hours, and the daily AQI "
	"(PM2.5 and O3 only) of each day not over yet that the hours "
	"cover.",
	cell_params, cell_forecast_resps, NULL},
    [R_HOTSPOTS] = {api_hotspots, "listHotspots", "cells",
	"Cells whose PM2.5 stands persistently above their neighbours' "
	"median, ranked by excess-hours, with the likely direction of the "
	"source when sensors report wind.  Judged every hour.",
	no_params, hotspots_resps, NULL},
    [R_AREA_WARNING] = {api_area_warning, "getAreaWarning", "forecasts",
	"The area's heavy-pollution warning level (none, blue, yellow, "
	"orange, red) from the daily AQI forecast of today and the days "
	"after: an external forecast posted for the area when it covers "
	"today or later, else the mean of its cells' forecast PM2.5 24-hour "
	"means and O3 MDA8.",
	area_params, area_warning_resps, NULL},
    [R_AREA_FORECAST] = {NULL, NULL, "forecasts", NULL, area_params, NULL,
	area_forecast_methods},
    [R_INDICATORS] = {api_indicators, "getIndicators", "history",
	"The district plan's indicators of an area or the grid over a date "
	"range (default: year to date): good-days ratio, PM2.5 mean with "
	"the annual validity rule, O3 MDA8 90th percentile and exceedance "
	"days per pollutant, each against the [plan] target and the GB 3095 "
	"limit.  An area's day is the mean over its cells of each daily "
	"statistic, its daily AQI computed from those means.",
	indicators_params, indicators_resps, NULL},
    [R_OPENAPI] = {h_openapi, "getOpenApi", "meta",
	"This OpenAPI 3.0.3 document.", no_params, openapi_resps, NULL},
    [R_METRICS] = {api_metrics, "getMetrics", "meta", "Prometheus metrics.",
	no_params, metrics_resps, NULL},
    [R_INDEX] = {api_static, "getDashboard", "dashboard",
	"The dashboard (static/index.html).", no_params, index_resps, NULL},
    [R_STATIC] = {api_static, "getStaticFile", "dashboard",
	"A file of the dashboard.", file_params, static_resps, NULL},
};

#define CONC_PROPS(t)                                                          \
	"pm25_1h:" t " pm25_24h:" t " pm10_1h:" t " pm10_24h:" t " so2_1h:" t  \
	" so2_24h:" t " no2_1h:" t " no2_24h:" t " co_1h:" t " co_8h:" t       \
	" co_24h:" t " o3_1h:" t " o3_8h:" t
#define ALERT_PROPS                                                            \
	"fingerprint:string rule:string "                                      \
	"state:pending|firing|resolved|inactive "                              \
	"severity:info|warning|critical scope:cell|area|grid|sensor "          \
	"object:string cell:string? sensor:string? area:string? "              \
	"alert_id:integer value:number? event_time:date-time? "                \
	"pending_since:date-time? starts_at:date-time? ends_at:date-time? "    \
	"last_notified:date-time? announced:boolean acked:boolean "            \
	"ack:#Ack? silenced:boolean inhibited:boolean"
#define AREA_PROPS                                                             \
	"id:string name:string name_en:string cells:integer worst:#Worst? "    \
	"mean:#AreaMean levels:#AreaLevels status:#AreaStatus"
#define SITE_PROPS                                                             \
	"id:string name:string kind:construction|plant|yard|road "             \
	"company:string contact:string cell:string lat:number lon:number "     \
	"active:boolean status:green|yellow|red since:date-time? "             \
	"hour:date-time? last_seen:date-time? pm10_1h:number? "                \
	"background:number? excess:number? pm10_rolling:number? "              \
	"background_rolling:number? pm25_1h:number? pm25_background:number? "  \
	"pm25_excess:number? pm25_rolling:number? "                            \
	"pm25_background_rolling:number? tsp_1h:number? tsp_rolling:number? "  \
	"red_hours:integer episodes:integer"

static const struct schema_def schemas[] = {
    {"Error", "An error.", "error:string"},
    {"ForecastValue",
	"A forecast concentration (ug/m3): the median and the 80% "
	"prediction interval.",
	"value:number lo:number hi:number"},
    {"ForecastHour", "One forecast hour, labelled by its end.",
	"time:date-time pm25:#ForecastValue? o3:#ForecastValue? "
	"pm25_24h:number? o3_8h:number?"},
    {"ForecastDay",
	"A local day's forecast daily AQI from PM2.5 (24-hour mean) and O3 "
	"(MDA8) alone, observed hours included.",
	"date:date aqi:integer? level:integer? pm25_24h:number? "
	"o3_8h:number?"},
    {"WarningDay", "A day's forecast daily AQI.", "date:date aqi:integer?"},
    {"AreaWarning",
	"A heavy-pollution warning level from forecast daily AQI over "
	"consecutive days: blue one day > 200, yellow 2 or more, orange 3 "
	"or more with one > 300, red 4 or more with two > 300 or any day at "
	"500.",
	"area:string level:none|blue|yellow|orange|red "
	"source:model|external|none received:date-time? cells:integer "
	"days:[#WarningDay]"},
    {"AreaForecastRequest",
	"Daily AQI forecasts for the area, dates ascending (at most 10).",
	"days:[#WarningDay]"},
    {"CellForecast", "A cell's forecast.",
	"cell:string ready:boolean origin:date-time? horizon:integer "
	"interval:number hours:[#ForecastHour] days:[#ForecastDay]"},
    {"Health", "Liveness.", "status:ok"},
    {"Ready",
	"Readiness: status ok, degraded (ready, but the store cannot "
	"write) or not ready; reasons say why.",
	"ready:boolean status:string reasons:[string] -reason:string"},
    {"Mqtt", "The broker connection.",
	"connected:boolean connects:integer reconnects:integer"},
    {"DecoderCounts", "Messages and readings of one decoder.",
	"messages_accepted:integer messages_rejected:integer "
	"readings_accepted:integer readings_rejected:integer"},
    {"Readings", "Readings applied and refused.",
	"accepted:integer rejected:integer by_decoder:{#DecoderCounts}"},
    {"Standard", "The standards in force.",
	"aqi:hj633-2026|hj633-2012|epa-2024 limits:gb3095-2026|gb3095-2012 "
	"grade:integer timezone:string"},
    {"Queue", "The ingest queue.", "depth:integer capacity:integer"},
    {"LoggerDisconnects", "HJ 212 connections ended, by why.",
	"idle:integer slow:integer error:integer closed:integer"},
    {"LoggerFrames", "HJ 212 frames by what became of them.",
	"ok:integer bad_crc:integer bad_length:integer oversize:integer "
	"incomplete:integer"},
    {"LoggerListener",
	"The HJ 212 data logger listener; flagged counts values "
	"left out, by flag letter (only letters seen).",
	"listening:boolean connections:integer accepted:integer "
	"refused:integer disconnects:#LoggerDisconnects frames:#LoggerFrames "
	"garbage_bytes:integer acks:integer flagged:{integer}"},
    {"Status", "The daemon's state.",
	"version:string uptime:integer started:date-time mqtt:#Mqtt "
	"readings:#Readings rejected:{integer} cells:integer "
	"sensors:integer standard:#Standard queue:#Queue "
	"hj212:#LoggerListener"},
    {"CellSummary", "A cell in a list: its latest complete hour.",
	"id:string area:string? lat:number lon:number row:integer? "
	"col:integer? hour:date-time? aqi:integer? level:integer? "
	"category:string? category_en:string? color:string? "
	"primary:[string] pm25_1h:number? pm10_1h:number? o3_1h:number? "
	"o3_8h:number? pm25_24h:number? status:ok|no_data|offline "
	"faulty_sensors:integer"},
    {"ListMeta", "Paging.", "count:integer next:string?"},
    {"CellList", "One page of cells.", "meta:#ListMeta results:[#CellSummary]"},
    {"Aqi", "An AQI report; iaqi lists every indicator the report reads.",
	"standard:hj633-2026|hj633-2012|epa-2024 report:hourly|daily "
	"value:integer? level:integer? category:string? "
	"category_en:string? color:string? primary:[string] "
	"iaqi:{integer?} notes:[string]"},
    {"Concentrations",
	"Indicator values in ug/m3 (CO mg/m3); null when not valid.",
	CONC_PROPS("number?")},
    {"ValidHours", "Valid hours (or 8-hour windows) behind each value.",
	CONC_PROPS("integer")},
    {"Day",
	"The latest complete local day: daily means (*_24h), daily "
	"maxima (*_1h, co_8h) and the O3 MDA8 (o3_8h).",
	"date:date aqi:#Aqi concentrations:#Concentrations "
	"valid_hours:#ValidHours exceeds:[string]"},
    {"SensorValues",
	"A sensor's newest values by pollutant (ug/m3, CO "
	"mg/m3); absent ones left out.",
	"pm25:number pm10:number so2:number no2:number co:number o3:number"},
    {"SensorState", "A sensor of a cell.",
	"id:string last:date-time? status:ok|offline|no_data "
	"values:#SensorValues raw:#SensorValues faults:#SensorFaults"},
    {"SensorFaults",
	"The faults a sensor is flagged for now (stuck, spike, bias, "
	"disagree) and the pollutants flagged; their readings are left out "
	"of the cell's statistics (bias only with [faults] exclude_bias).",
	"kinds:[string] pollutants:[string]"},
    {"Hotspot",
	"A cell standing above its neighbours' median PM2.5 for hours in a "
	"row, as judged at hour (the newest, or the one before for a cell "
	"yet to report the newest): that hour's value, background and excess, "
	"the run's "
	"mean excess and excess-hours (the rank), and where the source "
	"lies by the pollution rose: local (excess with every wind), "
	"upwind (source_deg, degrees from north) or no_wind.",
	"cell:string rank:integer hour:date-time since:date-time hours:integer "
	"value:number background:number excess:number mean_excess:number "
	"excess_hours:number source:no_wind|local|upwind source_deg:number? "
	"source_compass:string? wind_speed:number?"},
    {"Hotspots", "The hotspots at the latest judged hour, first the largest.",
	"hour:date-time? count:integer results:[#Hotspot]"},
    {"CellDetail", "A cell's latest complete hour and day.",
	"id:string area:string? area_name:string? lat:number lon:number "
	"row:integer? col:integer? hour:date-time? newest:date-time? "
	"status:ok|no_data|offline aqi:#Aqi "
	"concentrations:#Concentrations units:{string} "
	"valid_hours:#ValidHours exceeds:[string] day:#Day? "
	"sensors:[#SensorState] sensors_total:integer limits:{number} "
	"weather:#Weather"},
    {"Weather",
	"The hour's weather as the cell's sensors reported it: means of "
	"temperature (degC), relative humidity (%), pressure (hPa) and wind "
	"speed (m/s), the direction of the vector mean of the wind (degrees "
	"it blows from), rain (mm in the hour); null when no sensor reported "
	"it.",
	"temp:number? rh:number? pres:number? rain:number? ws:number? "
	"wd:number?"},
    {"Worst", "The area's cell with the highest AQI.",
	"cell:string aqi:integer level:integer color:string"},
    {"AreaMean", "Means of the cells' hourly values.",
	"pm25_1h:number? o3_1h:number? pm10_1h:number? no2_1h:number? "
	"so2_1h:number? co_1h:number?"},
    {"AreaLevels", "Cells per AQI level.",
	"1:integer 2:integer 3:integer 4:integer 5:integer 6:integer "
	"unknown:integer"},
    {"AreaStatus", "Cells per status.",
	"ok:integer no_data:integer offline:integer"},
    {"Area", "An area and its aggregates.", AREA_PROPS},
    {"AreaDetail", "An area, its aggregates and cells.",
	AREA_PROPS " cell_ids:[string]"},
    {"CountMeta", "Totals.", "count:integer"},
    {"AreaList", "Every area.", "meta:#CountMeta results:[#Area]"},
    {"HourRow",
	"A cell's hour from the store, labelled by its end; aqi and level "
	"null when NA; values null when not valid.",
	"hour:date-time aqi:integer? level:integer? primary:[string] "
	"exceeds:[string] concentrations:{number?} valid_hours:{integer}"},
    {"CellHistory", "One page of a cell's hours.",
	"cell:string from:date-time to:date-time indicators:[string] "
	"units:{string} count:integer next_cursor:string? "
	"results:[#HourRow]"},
    {"DayRow",
	"A cell's local day from the store: daily means (*_24h), maxima "
	"(*_1h, co_8h), O3 MDA8 (o3_8h) and the daily AQI.",
	"date:date aqi:integer? level:integer? primary:[string] "
	"exceeds:[string] concentrations:{number?} valid_hours:{integer}"},
    {"CellDaily", "One page of a cell's days.",
	"cell:string from:date to:date indicators:[string] units:{string} "
	"count:integer next_cursor:string? results:[#DayRow]"},
    {"AreaHour",
	"An area's hour: cells with a row (reporting), those over a GB 3095 "
	"limit (exceeding), the worst of them, each mean with the cells "
	"behind it, and cells per level (unknown: NA or no row).",
	"hour:date-time reporting:integer exceeding:integer worst:#Worst? "
	"mean:{number?} "
	"mean_cells:{integer} levels:#AreaLevels"},
    {"Ack", "Who acknowledged an alert, when and why.",
	"by:string at:date-time? comment:string"},
    {"Alert",
	"An alert (one per rule and cell, area, grid or sensor); times are "
	"event times but last_notified.",
	ALERT_PROPS},
    {"AlertDetail", "An alert with its delivery attempts.",
	ALERT_PROPS " attempts:[#Attempt]"},
    {"AlertList", "Alerts.", "count:integer results:[#Alert]"},
    {"AlertLogEntry",
	"An alert-log entry; event is pending, cancelled, firing, "
	"resolved, ack, silence, expire or dropped.",
	"id:integer event:string time:date-time? -fingerprint:string "
	"-alert_id:integer -rule:string -object:string "
	"-event_time:date-time? -value:number -who:string "
	"-silence:integer"},
    {"AlertLog",
	"Alert-log entries after a cursor; pass cursor as after next time "
	"(more: there are more already).",
	"count:integer cursor:integer more:boolean results:[#AlertLogEntry]"},
    {"Attempt", "One delivery attempt of a notification.",
	"id:integer notice:integer receiver:string attempt:integer "
	"time:date-time? status:integer? error:string "
	"result:sent|retry|dead next_try:date-time?"},
    {"AckRequest", "An acknowledgement.", "-comment:string"},
    {"Silence", "A silence; status as of the answer.",
	"id:integer matchers:[string] starts_at:date-time "
	"ends_at:date-time author:string comment:string created:date-time "
	"status:pending|active|expired"},
    {"SilenceList", "Silences.", "count:integer results:[#Silence]"},
    {"SilenceRequest",
	"A new silence: matchers KEY=VALUE or KEY!=VALUE (KEY rule, area, "
	"cell, sensor, severity, scope or a label), all must hold, as one "
	"space-separated string or an array; times Unix seconds or ISO "
	"8601 (starts_at default now).",
	"matchers:string -starts_at:string ends_at:string -comment:string"},
    {"DeadLetter", "A notification given up on.",
	"key:string notice:integer receiver:string rule:string "
	"kind:firing|repeat|resolved attempts:integer created:date-time? "
	"dead_at:date-time? last:string idempotency_key:string"},
    {"DeadLetterList", "Dead letters.", "count:integer results:[#DeadLetter]"},
    {"Site",
	"A dust site and its status (ug/m3; null: unknown).  excess is "
	"pm10_1h minus background; the pm25_ values are PM2.5's and the tsp_ "
	"ones TSP's (null when the monitor does not measure it).",
	SITE_PROPS},
    {"SiteList", "Dust sites.", "count:integer results:[#Site]"},
    {"SiteChange", "A change of a site's status, judged at hour.",
	"id:integer from:green|yellow|red status:green|yellow|red "
	"hour:date-time pm10_1h:number? background:number? excess:number? "
	"pm10_rolling:number? background_rolling:number? pm25_1h:number? "
	"pm25_background:number? pm25_rolling:number? "
	"pm25_background_rolling:number? tsp_1h:number? tsp_rolling:number?"},
    {"SiteHour", "A judged hour of a site.",
	"hour:date-time pm10_1h:number? background:number? excess:number? "
	"pm25_1h:number? pm25_background:number? tsp_1h:number?"},
    {"SiteDetail", "A dust site with its changes and hours.",
	SITE_PROPS " receivers:[string] sensors:[string] from:date? to:date? "
		   "changes:[#SiteChange] hours:[#SiteHour]"},
    {"BlackSite", "A blacklisted site.",
	"id:string name:string kind:string company:string contact:string "
	"red_hours:integer episodes:integer"},
    {"SiteBlacklist", "The blacklist of a month.",
	"month:string red_hours_min:integer episodes_min:integer "
	"count:integer results:[#BlackSite]"},
    {"PlanValidity",
	"The annual validity rule (27 daily values a month, 25 in "
	"February, 324 a year) scaled to the range.",
	"valid:boolean days:integer need:integer months:integer "
	"months_short:integer"},
    {"GoodDays",
	"Days with a daily AQI of at most 100 over days with a daily AQI; "
	"ratio in percent.",
	"good:integer valid:integer ratio:number? target:number "
	"meets_target:boolean?"},
    {"PlanMean",
	"PM2.5: the mean of the area's daily means, ug/m3, against the "
	"target and the annual limit.",
	"value:number? validity:#PlanValidity target:number "
	"meets_target:boolean? limit:number exceeds_limit:boolean?"},
    {"PlanPercentile",
	"O3: the 90th percentile of the area's MDA8, ug/m3, against the "
	"target (null: none) and the MDA8 limit.",
	"value:number? validity:#PlanValidity target:number? "
	"meets_target:boolean? limit:number exceeds_limit:boolean?"},
    {"PlanExceedance",
	"Days whose daily statistic is over the GB 3095 daily limit, of "
	"the days with that statistic; limit as of to.",
	"indicator:string days:integer valid_days:integer limit:number"},
    {"Indicators", "The district plan's indicators over a date range.",
	"area:string? name:string? name_en:string? cells:integer from:date "
	"to:date days:integer data_days:integer "
	"aqi_standard:hj633-2026|hj633-2012|epa-2024 "
	"limits:gb3095-2026|gb3095-2012 grade:integer good_days:#GoodDays "
	"pm25:#PlanMean o3_8h_p90:#PlanPercentile "
	"exceedances:{#PlanExceedance} exceedance_days:integer"},
    {"AreaHistory", "One page of an area's hours.",
	"area:string name:string name_en:string cells:integer "
	"from:date-time to:date-time indicators:[string] units:{string} "
	"count:integer next_cursor:string? results:[#AreaHour]"},
};

/* ---- Server ---- */

struct api *
api_start(struct state *st, struct service *svc)
{
	const struct conf *c = state_conf(st);
	struct api *a = NULL;
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	struct MHD_OptionItem opts[12];
	json_t *doc = NULL;
	unsigned int threads, flags;
	int n = 0;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		log_warnx("http: out of memory");
		goto fail;
	}
	a->st = st;
	a->svc = svc;
	if ((a->plan = plan_cache_new()) == NULL) {
		log_warnx("http: out of memory");
		goto fail;
	}
	if (pthread_mutex_init(&a->sse_mu, NULL) != 0) {
		log_warnx("http: cannot make a mutex");
		goto fail;
	}
	a->sse_mu_ok = true;
	a->sse_max = (uint32_t)c->http_sse_clients;
	if ((a->wake = calloc(a->sse_max, sizeof(*a->wake))) == NULL) {
		log_warnx("http: out of memory");
		goto fail;
	}
	a->nwake = a->sse_max;
	if (c->http_read_auth && c->http_tokens_file[0] == '\0') {
		log_warnx("http: read_auth = yes needs tokens_file");
		goto fail;
	}
	if (c->http_tokens_file[0] != '\0' &&
	    api_tokens_load(
		c->http_tokens_file, NULL, &a->tokens, &a->ntokens) != AQ_OK)
		goto fail;
	if ((doc = openapi_build()) == NULL ||
	    dump(doc, &a->openapi, &a->openapi_len) != AQ_OK) {
		log_warnx("http: cannot build the OpenAPI document");
		goto fail;
	}
	if (resolve(c->http_addr, c->http_port, &ss) != AQ_OK)
		goto fail;
	/* MHD refuses a pool whose threads would get no connection each,
	 * and warns about a pool of one: then the polling thread serves. */
	threads = (unsigned int)c->http_threads;
	if (threads > (unsigned int)c->http_connections)
		threads = (unsigned int)c->http_connections;
	opts[n++] = (struct MHD_OptionItem){
	    MHD_OPTION_CONNECTION_LIMIT, (intptr_t)c->http_connections, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	    (intptr_t)c->http_client_connections, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT,
	    (intptr_t)c->http_idle_timeout, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (intptr_t)c->http_max_header, NULL};
	opts[n++] = (struct MHD_OptionItem){
	    MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)done, NULL};
	if (threads > 1)
		opts[n++] = (struct MHD_OptionItem){
		    MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)threads, NULL};
	/* Event streams suspend their connection while they wait. */
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
	    MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (c->http_tls_cert[0] != '\0') {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			log_warnx("http: libmicrohttpd was built without TLS");
			goto fail;
		}
		if (read_pem("tls_cert", c->http_tls_cert, &a->tls_cert,
			NULL) != AQ_OK ||
		    read_pem("tls_key", c->http_tls_key, &a->tls_key,
			&a->tls_key_len) != AQ_OK)
			goto fail;
		flags |= MHD_USE_TLS;
		opts[n++] = (struct MHD_OptionItem){
		    MHD_OPTION_HTTPS_MEM_CERT, 0, a->tls_cert};
		opts[n++] = (struct MHD_OptionItem){
		    MHD_OPTION_HTTPS_MEM_KEY, 0, a->tls_key};
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES,
		    0, (void *)(uintptr_t)API_TLS_PRIORITIES};
	}
	opts[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	/* The logger goes first, to catch what the other options say. */
	a->d = MHD_start_daemon(flags, (uint16_t)c->http_port, NULL, NULL,
	    answer, a, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_URI_LOG_CALLBACK, uri_log, NULL, MHD_OPTION_ARRAY, opts,
	    MHD_OPTION_END);
	if (a->d == NULL) {
		if (a->tls_cert != NULL)
			log_warnx("http: cannot start HTTPS on %s:%lld with "
				  "%s and %s (are they a PEM certificate and "
				  "its key?)",
			    c->http_addr, (long long)c->http_port,
			    c->http_tls_cert, c->http_tls_key);
		else
			log_warnx("http: cannot listen on %s:%lld",
			    c->http_addr, (long long)c->http_port);
		goto fail;
	}
	if ((info = MHD_get_daemon_info(a->d, MHD_DAEMON_INFO_BIND_PORT)) ==
		NULL ||
	    info->port == 0) {
		log_warnx("http: cannot read the bound port");
		goto fail;
	}
	a->port = info->port;
	if (svc != NULL) {
		if (pthread_create(&a->waker, NULL, api_sse_waker, a) != 0) {
			log_warnx("http: cannot start the event stream thread");
			goto fail;
		}
		a->waker_on = true;
	}
	/* The first read of a large store takes seconds: done now, not in
	 * the first request (which waits for it if it comes sooner). */
	if (state_store(st) != NULL &&
	    pthread_create(&a->plan_warm, NULL, api_plan_warm, a) == 0)
		a->plan_warm_on = true;
	log_debug("http: listening on %s:%u%s", c->http_addr,
	    (unsigned int)a->port, a->tls_cert != NULL ? " (HTTPS)" : "");
	json_decref(doc);
	return a;
fail:
	json_decref(doc);
	api_stop(a);
	return NULL;
}

uint16_t
api_port(const struct api *a)
{
	return a->port;
}

void
api_stop(struct api *a)
{
	if (a == NULL)
		return;
	/* A long first read of the store must not hold the stop up. */
	plan_cache_stop(a->plan);
	/* No stream may stay suspended when MHD stops: stop the waker,
	 * then resume every one; api_sse_read() ends them. */
	atomic_store(&a->stopping, true);
	if (a->waker_on)
		pthread_join(a->waker, NULL);
	if (a->sse_mu_ok) {
		uint32_t n = api_sse_due(a, 0, true);

		for (uint32_t k = 0; k < n; k++)
			MHD_resume_connection(a->wake[k]);
	}
	if (a->d != NULL)
		MHD_stop_daemon(a->d);
	if (a->sse_mu_ok) {
		while (a->sse != NULL) {
			struct sse *e = a->sse;

			a->sse = e->next;
			free(e);
		}
		pthread_mutex_destroy(&a->sse_mu);
	}
	free(a->wake);
	if (a->tokens != NULL)
		api_wipe((char *)a->tokens, a->ntokens * sizeof(*a->tokens));
	free(a->tokens);
	free(a->openapi);
	free(a->tls_cert);
	if (a->tls_key != NULL)
		api_wipe(a->tls_key, a->tls_key_len);
	free(a->tls_key);
	if (a->plan_warm_on)
		pthread_join(a->plan_warm, NULL);
	plan_cache_free(a->plan);
	free(a);
}

bool
api_tls(const struct api *a)
{
	return a->tls_cert != NULL;
}

/*
 * A PEM file into memory for MHD, NUL-terminated; *len counts the NUL.
 * The key's copy is wiped when the server stops.
 */
static int
read_pem(const char *key, const char *path, char **out, size_t *len)
{
	FILE *f = NULL;
	struct stat sb;
	char *p = NULL;
	size_t n = 0;
	int rc = AQ_ERR_IO;

	if ((f = fopen(path, "r")) == NULL || fstat(fileno(f), &sb) != 0) {
		log_warn("http: %s %s", key, path);
		goto out;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size <= 0 ||
	    sb.st_size > API_PEM_MAX) {
		log_warnx(
		    "http: %s %s: not a file of 1 byte to 1 MiB", key, path);
		goto out;
	}
	n = (size_t)sb.st_size;
	if ((p = malloc(n + 1)) == NULL) {
		log_warnx("http: out of memory");
		rc = AQ_ERR_NOMEM;
		goto out;
	}
	if (fread(p, 1, n, f) != n) {
		log_warnx("http: %s %s: cannot read it whole", key, path);
		goto out;
	}
	p[n] = '\0';
	*out = p;
	if (len != NULL)
		*len = n + 1;
	p = NULL;
	rc = AQ_OK;
out:
	if (p != NULL)
		api_wipe(p, n + 1);
	free(p);
	if (f != NULL)
		fclose(f);
	return rc;
}

/* memset that the compiler may not drop as a dead store. */
void
api_wipe(char *p, size_t n)
{
	volatile char *v = p;

	while (n-- > 0)
		*v++ = 0;
}

size_t
api_routes(const char *const **out)
{
	*out = route_pattern;
	return R_COUNT;
}

/* "[::1]", "127.0.0.1", a host name, or "*" for any IPv4 address. */
static int
resolve(const char *host, int64_t port, struct sockaddr_storage *ss)
{
	struct addrinfo hints, *res = NULL;
	char name[256], serv[16];
	size_t len = strlen(host);
	int rc = AQ_ERR_INVAL, e;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
		host++;
		len -= 2;
	}
	if (len >= sizeof(name)) {
		log_warnx("http: address too long");
		goto out;
	}
	memcpy(name, host, len);
	name[len] = '\0';
	if (strcmp(name, "*") == 0 || name[0] == '\0')
		hints.ai_family = AF_INET;
	snprintf(serv, sizeof(serv), "%lld", (long long)port);
	if ((e = getaddrinfo(hints.ai_family == AF_INET ? NULL : name, serv,
		 &hints, &res)) != 0) {
		log_warnx("http: %s: %s", name, gai_strerror(e));
		goto out;
	}
	if (res->ai_addrlen > sizeof(*ss)) {
		log_warnx("http: %s: address too long", name);
		goto out;
	}
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	rc = AQ_OK;
out:
	if (res != NULL)
		freeaddrinfo(res);
	return rc;
}

/*
 * MHD hands handlers the path already unescaped, so "%2e%2e%2f" would
 * reach them as "../".  The target as sent is seen here, once per
 * request, parsed by api_parse_target(); the result travels in *con_cls
 * until done().  NULL (out of memory) makes answer() refuse.
 */
static void *
uri_log(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct conn *k = calloc(1, sizeof(*k));

	(void)cls;
	(void)c;
	if (k != NULL)
		k->refuse = api_parse_target(uri, &k->t);
	return k;
}

static void
done(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode why)
{
	struct conn *k = *con_cls;

	(void)cls;
	(void)c;
	(void)why;
	if (k != NULL)
		free(k->in.p);
	free(k);
	*con_cls = NULL;
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_warnx("http: %s", msg);
}

/*
 * MHD calls this once the headers are in, then once per piece of the body,
 * then once more with nothing: the request is answered on that last call,
 * with the whole body in hand.  Only a body declared too large is refused
 * on the first call, unread (MHD then closes the connection); one that
 * grows too large in chunks ends the connection unanswered.
 */
static enum MHD_Result
answer(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct api *a = cls;
	struct conn *k = *con_cls;
	size_t max = (size_t)state_conf(a->st)->http_max_body;
	enum MHD_Result ret = MHD_YES;
	enum route route = R_OTHER;
	handler_fn *fn;
	bool write;
	struct req r;
	int rc;

	(void)url;
	(void)version;
	memset(&r, 0, sizeof(r));
	r.a = a;
	r.st = a->st;
	r.conf = state_conf(a->st);
	r.conn = conn;
	r.tz = state_tz(a->st);
	r.now = (int64_t)time(NULL);
	r.fd = -1;
	r.route = R_OTHER;
	if (k == NULL) {
		rc = AQ_ERR_NOMEM;
		goto send;
	}
	if (!k->started) {
		k->started = true;
		if (!too_long(conn, (int64_t)max))
			goto out;
		rc = api_fail(&r, MHD_HTTP_CONTENT_TOO_LARGE,
		    "request body over %zu bytes", max);
		goto send;
	}
	if (*upload_data_size != 0) {
		if (body_take(&k->in, upload_data, *upload_data_size, max) !=
		    AQ_OK)
			ret = MHD_NO;
		*upload_data_size = 0;
		goto out;
	}
	r.target = &k->t;
	r.in = k->in.p;
	r.in_len = k->in.len;
	if (k->refuse != 0) {
		rc =
		    api_fail(&r, (unsigned int)k->refuse, "bad request target");
		goto send;
	}
	if (k->t.route >= 0) {
		route = r.route = (enum route)k->t.route;
		r.escaped = k->t.escaped;
		memcpy(r.param, k->t.param, sizeof(r.param));
	}
	if (strcmp(method, MHD_HTTP_METHOD_OPTIONS) == 0 &&
	    cors_origin(&r) != NULL &&
	    MHD_lookup_connection_value(
		conn, MHD_HEADER_KIND, "Access-Control-Request-Method") != NULL)
		rc = route == R_OTHER
		    ? api_fail(&r, MHD_HTTP_NOT_FOUND, "not found")
		    : preflight(&r);
	else if (route == R_OTHER)
		rc = api_fail(&r, MHD_HTTP_NOT_FOUND, "not found");
	else if ((fn = route_fn(route, method, &write)) == NULL)
		rc = api_fail(
		    &r, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
	else if ((rc = api_authorize(&r, write)) == AQ_OK && r.code == 0)
		rc = fn(&r);
send:
	if (rc != AQ_OK) {
		req_reset(&r);
		r.code = MHD_HTTP_INTERNAL_SERVER_ERROR;
		r.text = "{\"error\":\"out of memory\"}";
		r.len = strlen(r.text);
		r.ctype = "application/json";
	}
	ret = send_answer(&r, route);
	req_reset(&r);
out:
	return ret;
}

/*
 * Appends a piece of the request body, up to max bytes in all: the one
 * place bodies are read, for every route that will take one.  Returns
 * AQ_ERR_RANGE past max, AQ_ERR_NOMEM; b is unchanged then.
 */
static int
body_take(struct body *b, const char *data, size_t n, size_t max)
{
	char *grown;
	size_t cap;

	if (n > max || b->len > max - n)
		return AQ_ERR_RANGE;
	if (b->len + n + 1 > b->cap) {
		cap = b->cap != 0 ? b->cap : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((grown = realloc(b->p, cap)) == NULL)
			return AQ_ERR_NOMEM;
		b->p = grown;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0'; /* for text bodies; len counts without it */
	return AQ_OK;
}

/* A Content-Length over max (MHD has refused malformed ones already). */
static bool
too_long(struct MHD_Connection *conn, int64_t max)
{
	const char *s = MHD_lookup_connection_value(
	    conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	int64_t v = 0;

	if (s == NULL)
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (*s - '0');
		if (v > max)
			return true;
	}
	return false;
}

/* The request's Origin if [http] cors_origins lists it, else NULL. */
static const char *
cors_origin(const struct req *r)
{
	const char *o =
	    MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Origin");
	const char *w = r->conf->http_cors_origins;
	size_t len;

	if (o == NULL || *o == '\0')
		return NULL;
	len = strlen(o);
	while (*w != '\0') {
		size_t n = strcspn(w, " \t");

		if (n == len && memcmp(w, o, n) == 0)
			return o;
		w += n;
		w += strspn(w, " \t");
	}
	return NULL;
}

/* A CORS preflight from an allowed origin: send_answer() adds the rest. */
static int
preflight(struct req *r)
{
	r->code = MHD_HTTP_NO_CONTENT;
	r->text = "";
	r->len = 0;
	return AQ_OK;
}

/* ---- Request targets ---- */

int
api_parse_target(const char *target, struct api_target *t)
{
	size_t plen = strcspn(target, "?"), n, qlen;
	const char *q = target + plen, *e;
	char *b;

	t->route = -1;
	t->escaped = false;
	t->param[0] = t->path[0] = '\0';
	t->nargs = 0;
	if (strlen(target) >= API_TARGET_MAX)
		return MHD_HTTP_URI_TOO_LONG;
	if (target[0] != '/')
		return MHD_HTTP_BAD_REQUEST;
	for (const char *p = target; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '#' ||
		    (*p == '\\' && p < q))
			return MHD_HTTP_BAD_REQUEST;
	t->escaped = memchr(target, '%', plen) != NULL;
	if (decode(target, plen, false, true, t->path, &n) != 0)
		return MHD_HTTP_BAD_REQUEST;
	/* No "." or ".." segment, however it was spelt. */
	for (const char *s = t->path; *s != '\0'; s += strcspn(s, "/")) {
		s++;
		n = strcspn(s, "/");
		if ((n == 1 && s[0] == '.') ||
		    (n == 2 && s[0] == '.' && s[1] == '.'))
			return MHD_HTTP_BAD_REQUEST;
	}
	t->route = match(t->path, t->param, sizeof(t->param));
	if (t->route == R_OTHER)
		t->route = -1;
	if (*q == '\0')
		return 0;
	/* The query: pairs split at '&', each decoded into buf. */
	b = t->buf;
	for (q++; *q != '\0'; q = *e == '&' ? e + 1 : e) {
		const char *eq;

		e = q + strcspn(q, "&");
		if (e == q)
			continue;
		if (t->nargs == API_ARGS_MAX)
			return MHD_HTTP_BAD_REQUEST;
		eq = memchr(q, '=', (size_t)(e - q));
		qlen = (size_t)((eq != NULL ? eq : e) - q);
		if (decode(q, qlen, true, false, b, &n) != 0)
			return MHD_HTTP_BAD_REQUEST;
		t->args[t->nargs].key = b;
		b += n + 1;
		if (eq != NULL) {
			if (decode(eq + 1, (size_t)(e - eq - 1), true, false, b,
				&n) != 0)
				return MHD_HTTP_BAD_REQUEST;
			t->args[t->nargs].value = b;
			b += n + 1;
		}
		t->nargs++;
	}
	return 0;
}

/*
 * Decodes n bytes of s into out (NUL-terminated; the result is never
 * longer than s): %XX always, '+' as a space in a query.  Refuses a bad
 * escape and an escaped NUL, and in a path an escaped '/' or control
 * character (an escaped '\\' may name a cell; no file name holds one).
 */
static int
decode(const char *s, size_t n, bool query, bool path, char *out, size_t *len)
{
	size_t o = 0;

	for (size_t k = 0; k < n; k++) {
		unsigned char ch = (unsigned char)s[k];

		if (ch == '%') {
			int hi, lo;

			if (n - k < 3 || (hi = hexval(s[k + 1])) < 0 ||
			    (lo = hexval(s[k + 2])) < 0)
				return -1;
			ch = (unsigned char)(hi * 16 + lo);
			k += 2;
			if (ch == 0 ||
			    (path && (ch == '/' || ch < 0x20 || ch == 0x7f)))
				return -1;
		} else if (ch == '+' && query) {
			ch = ' ';
		}
		out[o++] = (char)ch;
	}
	out[o] = '\0';
	*len = o;
	return 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static enum route
match(const char *url, char *param, size_t len)
{
	for (int k = 0; k < R_COUNT; k++)
		if (match_one(route_pattern[k], url, param, len))
			return (enum route)k;
	return R_OTHER;
}

/* A "{name}" in the pattern takes one non-empty path segment. */
static bool
match_one(const char *pat, const char *url, char *param, size_t len)
{
	while (*pat != '\0') {
		if (*pat == '{') {
			size_t n = strcspn(url, "/");

			if (n == 0 || n >= len)
				return false;
			memcpy(param, url, n);
			param[n] = '\0';
			url += n;
			pat = strchr(pat, '}');
			if (pat == NULL)
				return false;
			pat++;
			continue;
		}
		if (*pat++ != *url++)
			return false;
	}
	return *url == '\0';
}

static enum MHD_Result
send_answer(struct req *r, enum route route)
{
	struct MHD_Response *resp = NULL;
	enum MHD_Result ret = MHD_NO;
	const char *origin = cors_origin(r);
	bool ok;

	if (r->json != NULL && r->body == NULL &&
	    dump(r->json, &r->body, &r->len) != AQ_OK) {
		r->code = MHD_HTTP_INTERNAL_SERVER_ERROR;
		r->text = "{\"error\":\"out of memory\"}";
		r->len = strlen(r->text);
	}
	if (r->sse != NULL) {
		/* The response owns the stream from here (api_sse_free()). */
		resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN,
		    SSE_BLOCK, api_sse_read, r->sse, api_sse_free);
		if (resp == NULL)
			api_sse_free(r->sse);
		r->sse = NULL;
	} else if (r->fd >= 0) {
		if ((resp = MHD_create_response_from_fd(
			 (size_t)r->size, r->fd)) != NULL)
			r->fd = -1; /* the response closes it */
	} else if (r->body != NULL) {
		if ((resp = MHD_create_response_from_buffer(
			 r->len, r->body, MHD_RESPMEM_MUST_FREE)) != NULL)
			r->body = NULL;
	} else {
		resp = MHD_create_response_from_buffer(
		    r->len, (void *)(uintptr_t)r->text, MHD_RESPMEM_PERSISTENT);
	}
	if (resp == NULL)
		goto out;
	if (r->ctype == NULL)
		r->ctype = "application/json";
	ok = MHD_add_response_header(
		 resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->ctype) == MHD_YES &&
	    MHD_add_response_header(
		resp, "X-Content-Type-Options", "nosniff") == MHD_YES &&
	    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer") ==
		MHD_YES &&
	    MHD_add_response_header(resp, "X-Frame-Options", "DENY") ==
		MHD_YES &&
	    MHD_add_response_header(
		resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache") == MHD_YES &&
	    MHD_add_response_header(resp, "Content-Security-Policy",
		strncmp(r->ctype, "text/html", 9) == 0
		    ? API_CSP
		    : API_CSP_NONE) == MHD_YES;
	if (ok && r->code == MHD_HTTP_METHOD_NOT_ALLOWED)
		ok = MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
			 route_allow(route)) == MHD_YES;
	if (ok && r->code == MHD_HTTP_UNAUTHORIZED)
		ok = MHD_add_response_header(resp,
			 MHD_HTTP_HEADER_WWW_AUTHENTICATE,
			 "Bearer realm=\"aqgridd\"") == MHD_YES;
	if (ok && strncmp(r->ctype, "text/event-stream", 17) == 0)
		ok = MHD_add_response_header(resp, "X-Accel-Buffering", "no") ==
		    MHD_YES;
	if (ok && r->next[0] != '\0')
		ok = MHD_add_response_header(resp, "X-Next-Cursor", r->next) ==
			MHD_YES &&
		    (origin == NULL ||
			MHD_add_response_header(resp,
			    "Access-Control-Expose-Headers",
			    "X-Next-Cursor") == MHD_YES);
	/* CORS only for a listed origin, and then named back exactly. */
	if (ok && origin != NULL)
		ok = MHD_add_response_header(resp,
			 "Access-Control-Allow-Origin", origin) == MHD_YES &&
		    MHD_add_response_header(resp, "Vary", "Origin") == MHD_YES;
	if (ok && origin != NULL && r->code == MHD_HTTP_NO_CONTENT)
		ok = MHD_add_response_header(resp,
			 "Access-Control-Allow-Methods",
			 route_allow(route)) == MHD_YES &&
		    MHD_add_response_header(resp,
			"Access-Control-Allow-Headers",
			API_CORS_HEADERS) == MHD_YES &&
		    MHD_add_response_header(resp, "Access-Control-Max-Age",
			API_CORS_MAX_AGE) == MHD_YES;
	if (!ok)
		goto out;
	ret = MHD_queue_response(r->conn, r->code, resp);
	if (ret == MHD_YES)
		count(r->a, route, r->code);
out:
	if (resp != NULL)
		MHD_destroy_response(resp);
	return ret;
}

static void
count(struct api *a, enum route route, unsigned int code)
{
	size_t k = 0;

	while (k < API_NCODES && api_http_codes[k] != code)
		k++;
	atomic_fetch_add_explicit(
	    &a->requests[route][k], 1, memory_order_relaxed);
}

static void
req_reset(struct req *r)
{
	json_decref(r->json);
	r->json = NULL;
	free(r->body);
	r->body = NULL;
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	r->text = NULL;
	r->len = 0;
	r->ctype = NULL;
	r->next[0] = '\0';
	if (r->sse != NULL)
		api_sse_free(r->sse);
	r->sse = NULL;
}

/* Sets a JSON error answer {"error": "..."}. */
int
api_fail(struct req *r, unsigned int code, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	req_reset(r);
	r->code = code;
	return (r->json = json_object()) == NULL ||
		json_object_set_new(r->json, "error", api_jtext(msg)) != 0
	    ? AQ_ERR_NOMEM
	    : AQ_OK;
}

/* Dumps into memory of our own malloc, which MHD may free(): jansson's
 * allocator can be replaced process-wide (decode.h does). */
static int
dump(const json_t *j, char **out, size_t *len)
{
	struct buf b = {NULL, 0, 0, false};
	int rc = AQ_ERR_NOMEM;

	if (json_dump_callback(j, dump_cb, &b, API_DUMP_FLAGS) != 0 ||
	    dump_cb("", 1, &b) != 0)
		goto out;
	*out = b.p;
	*len = b.len - 1; /* without the NUL */
	b.p = NULL;
	rc = AQ_OK;
out:
	free(b.p);
	return rc;
}

static int
dump_cb(const char *p, size_t n, void *data)
{
	struct buf *b = data;

	api_put(b, p, n);
	return b->bad ? -1 : 0;
}

void
api_put(struct buf *b, const char *p, size_t n)
{
	if (b->bad)
		return;
	if (n > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 4096;
		char *grown;

		while (cap - b->len < n) {
			if (cap > SIZE_MAX / 2) {
				b->bad = true;
				return;
			}
			cap *= 2;
		}
		if ((grown = realloc(b->p, cap)) == NULL) {
			b->bad = true;
			return;
		}
		b->p = grown;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

void
api_put_text(struct buf *b, const char *s)
{
	api_put(b, s, strlen(s));
}

/*
 * A JSON string, or null for NULL; text that is not UTF-8 becomes U+FFFD,
 * as api_jtext() does.
 */
void
api_put_str(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run;

	if (s == NULL) {
		api_put_text(b, "null");
		return;
	}
	if (!utf8_ok(s))
		s = "\xef\xbf\xbd";
	api_put(b, "\"", 1);
	for (run = s; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		char esc[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};

		if (ch >= 0x20 && ch != '"' && ch != '\\')
			continue;
		api_put(b, run, (size_t)(s - run));
		if (ch == '"' || ch == '\\') {
			esc[1] = (char)ch;
			api_put(b, esc, 2);
		} else {
			api_put(b, esc, sizeof(esc));
		}
		run = s + 1;
	}
	api_put(b, run, (size_t)(s - run));
	api_put(b, "\"", 1);
}

/* As jansson prints a real with API_DUMP_FLAGS, so that every answer
 * writes numbers alike. */
void
api_put_real(struct buf *b, double v)
{
	char t[40];
	int n = snprintf(t, sizeof(t), "%.10g", v);

	if (n < 0 || (size_t)n >= sizeof(t) - 2) {
		b->bad = true;
		return;
	}
	if (strpbrk(t, ".e") == NULL) {
		memcpy(t + n, ".0", 3);
		n += 2;
	}
	api_put(b, t, (size_t)n);
}

void
api_put_int(struct buf *b, bool has, long long v)
{
	char t[24];

	if (!has) {
		api_put_text(b, "null");
		return;
	}
	snprintf(t, sizeof(t), "%lld", v);
	api_put_text(b, t);
}

static bool
utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		int n = *p < 0x80              ? 0
		    : *p >= 0xc2 && *p <= 0xdf ? 1
		    : *p >= 0xe0 && *p <= 0xef ? 2
		    : *p >= 0xf0 && *p <= 0xf4 ? 3
					       : -1;

		if (n < 0)
			return false;
		p++;
		for (; n > 0; n--, p++)
			if ((*p & 0xc0) != 0x80)
				return false;
	}
	return true;
}

/* ---- Helpers ---- */

/* The first query parameter named key, decoded (api_parse_target()). */
const char *
api_query_arg(const struct req *r, const char *key)
{
	for (size_t k = 0; r->target != NULL && k < r->target->nargs; k++)
		if (strcmp(r->target->args[k].key, key) == 0)
			return r->target->args[k].value;
	return NULL;
}

/* Plain decimal digits only: no sign, spaces or exponent. */
int
api_parse_count(const char *s, long long max, long long *out)
{
	long long v = 0;

	if (*s == '\0')
		return AQ_ERR_INVAL;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return AQ_ERR_INVAL;
		v = v * 10 + (*s - '0');
		if (v > max)
			return AQ_ERR_RANGE;
	}
	*out = v;
	return AQ_OK;
}

int
api_find_area(const struct conf *c, const char *id)
{
	for (uint32_t k = 0; k < c->nareas; k++)
		if (strcmp(c->areas[k].id, id) == 0)
			return (int)k;
	return -1;
}

/* A new object or array under key; returns it borrowed, or NULL. */
json_t *
api_child(json_t *parent, const char *key)
{
	json_t *o = json_object();

	return json_object_set_new(parent, key, o) == 0 ? o : NULL;
}

json_t *
api_child_array(json_t *parent, const char *key)
{
	json_t *o = json_array();

	return json_object_set_new(parent, key, o) == 0 ? o : NULL;
}

json_t *
api_jfix(bool has, int64_t v)
{
	return has ? json_real(fix_to_double(v)) : json_null();
}

json_t *
api_jint(bool has, long long v)
{
	return has ? json_integer((json_int_t)v) : json_null();
}

json_t *
api_jstr(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

/* Text from the configuration or a message, which may not be UTF-8: a
 * replacement character stands in rather than failing the answer. */
json_t *
api_jtext(const char *s)
{
	json_t *j = json_string(s);

	return j != NULL ? j : json_string("\xef\xbf\xbd");
}

json_t *
api_jtime(struct req *r, int64_t ts)
{
	char buf[TZ_ISO_MAX];

	if (ts == WIN_NO_HOUR)
		return json_null();
	return json_string(api_iso(r, ts, buf, sizeof(buf)));
}

char *
api_iso(struct req *r, int64_t ts, char *buf, size_t len)
{
	return tz_format(r->tz, ts, buf, len);
}

json_t *
api_jinds(uint32_t bits)
{
	json_t *a = json_array();

	for (int i = 0; i < IND_COUNT && a != NULL; i++) {
		if ((bits & IND_BIT(i)) == 0)
			continue;
		if (json_array_append_new(
			a, json_string(ind_name((enum ind)i))) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

/*
 * A from or to: Unix seconds, ISO 8601 with an offset or Z, ISO 8601
 * without one (local time in the zone), or YYYY-MM-DD: the day's first
 * hour (from) or its last (to).  Daily routes take the local date of any
 * of these.
 */
int
api_when(struct req *r, const char *s, bool daily, bool end, int64_t *out)
{
	char buf[48];
	int32_t date;
	int64_t t, naive;
	size_t n;

	if (tz_parse_date(s, &date) == AQ_OK) {
		int32_t prev = tz_date_from_days(tz_days_from_date(date) - 1);

		if (daily)
			*out = date;
		else
			*out = tz_hour_end(r->tz,
			    end ? tz_day_last_hour(r->tz, date)
				: tz_day_last_hour(r->tz, prev) + 1);
		return AQ_OK;
	}
	if (tz_parse(s, &t) != AQ_OK) {
		/* Local time, without a zone: the offset in force there,
		 * found as tz_day_last_hour() finds it. */
		n = strlen(s);
		if (n < 16 || n + 2 > sizeof(buf) ||
		    strpbrk(s + 10, "Zz+-") != NULL)
			return AQ_ERR_INVAL;
		snprintf(buf, sizeof(buf), "%sZ", s);
		if (tz_parse(buf, &naive) != AQ_OK)
			return AQ_ERR_INVAL;
		t = naive - tz_offset(r->tz, naive);
		t = naive - tz_offset(r->tz, t);
	}
	if (t < 0 || t > HIST_TIME_MAX)
		return AQ_ERR_RANGE;
	*out = daily ? tz_date(r->tz, t) : t;
	return AQ_OK;
}

/* "2026-11-29" from yyyymmdd. */
char *
api_date_text(int32_t d, char *buf, size_t len)
{
	snprintf(buf, len, "%04d-%02d-%02d", (int)(d / 10000),
	    (int)(d / 100 % 100), (int)(d % 100));
	return buf;
}

/* "2026-11-29" from yyyymmdd as JSON; null for 0 (no date). */
json_t *
api_jdate(int32_t d)
{
	char buf[16];

	return d == 0 ? json_null()
		      : json_string(api_date_text(d, buf, sizeof(buf)));
}

/* Answers 200 {"count": n, "results": list}; takes ownership of list. */
int
api_list(struct req *r, json_t *list)
{
	r->code = MHD_HTTP_OK;
	return (r->json = json_pack("{s:I,s:o}", "count",
		    (json_int_t)json_array_size(list), "results", list)) != NULL
	    ? AQ_OK
	    : AQ_ERR_NOMEM;
}

/*
 * The request body as a JSON object whose members are all in keys
 * (space-separated); NULL after setting a 400.  An empty body is {}.
 */
json_t *
api_body_json(struct req *r, const char *keys)
{
	json_error_t e;
	json_t *j, *v;
	const char *k;

	if (r->in == NULL || r->in_len == 0)
		j = json_object();
	else
		j = json_loadb(r->in, r->in_len, JSON_REJECT_DUPLICATES, &e);
	if (j == NULL) {
		(void)api_fail(r, MHD_HTTP_BAD_REQUEST, "body: %s (byte %d)",
		    e.text, e.position);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		(void)api_fail(
		    r, MHD_HTTP_BAD_REQUEST, "body: expected an object");
		return NULL;
	}
	json_object_foreach(j, k, v)
	{
		const char *hit = strstr(keys, k);
		size_t n = strlen(k);

		(void)v;
		if (hit == NULL || (hit != keys && hit[-1] != ' ') ||
		    (hit[n] != ' ' && hit[n] != '\0')) {
			(void)api_fail(r, MHD_HTTP_BAD_REQUEST,
			    "body: unknown member \"%.40s\"", k);
			json_decref(j);
			return NULL;
		}
	}
	return j;
}

/* A time of the alert engine (Unix s; 0 or less: none). */
json_t *
api_jwhen(struct req *r, int64_t ts)
{
	char buf[TZ_ISO_MAX];

	if (ts <= 0 || ts == INT64_MIN)
		return json_null();
	return json_string(api_iso(r, ts, buf, sizeof(buf)));
}

static int
h_openapi(struct req *r)
{
	r->code = MHD_HTTP_OK;
	r->text = r->a->openapi;
	r->len = r->a->openapi_len;
	r->ctype = "application/json";
	return AQ_OK;
}

/* The handler of method on route (GET and HEAD: the route's own), with
 * whether it writes; NULL when the route has none. */
static handler_fn *
route_fn(enum route route, const char *method, bool *write)
{
	const struct route_def *rd = &routes[route];

	*write = false;
	if (strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
	    strcmp(method, MHD_HTTP_METHOD_HEAD) == 0)
		return rd->fn;
	for (const struct method_def *m = rd->more; m != NULL && m->http; m++)
		if (strcmp(method, m->http) == 0) {
			*write = true;
			return m->fn;
		}
	return NULL;
}

/* The Allow header of a route. */
static const char *
route_allow(enum route route)
{
	static const char *const allow[] = {"", "GET, HEAD", "POST",
	    "GET, HEAD, POST", "DELETE", "GET, HEAD, DELETE", "POST, DELETE",
	    "GET, HEAD, POST, DELETE"};
	unsigned int bits = 0;

	if (route >= R_COUNT)
		return API_ALLOW;
	if (routes[route].fn != NULL)
		bits |= 1;
	for (const struct method_def *m = routes[route].more;
	     m != NULL && m->http; m++)
		bits |= strcmp(m->http, MHD_HTTP_METHOD_POST) == 0 ? 2 : 4;
	return allow[bits];
}

/* ---- OpenAPI ---- */

static json_t *
openapi_build(void)
{
	json_t *doc = json_object(), *j, *paths, *comp, *p;

	if (doc == NULL ||
	    json_object_set_new(doc, "openapi", json_string("3.0.3")) ||
	    (j = api_child(doc, "info")) == NULL ||
	    json_object_set_new(j, "title", json_string("aqgridd API")) ||
	    json_object_set_new(j, "version", json_string(AQ_VERSION)) ||
	    json_object_set_new(j, "description",
		json_string("Air-quality grid monitoring: cells, areas, AQI "
			    "(HJ 633 / US EPA), concentration limits and the "
			    "daemon's health. Hours are labelled by their "
			    "end, in local time with offset.")) ||
	    (paths = api_child(doc, "paths")) == NULL)
		goto fail;
	for (int k = 0; k < R_COUNT; k++) {
		if ((p = api_child(paths, route_pattern[k])) == NULL ||
		    (routes[k].fn != NULL &&
			json_object_set_new(p, "get", openapi_op(&routes[k]))))
			goto fail;
		for (const struct method_def *m = routes[k].more;
		     m != NULL && m->http != NULL; m++)
			if (json_object_set_new(
				p, m->key, openapi_method(&routes[k], m)))
				goto fail;
	}
	if ((j = api_child(doc, "components")) == NULL ||
	    json_object_set_new(j, "securitySchemes",
		json_pack("{s:{s:s,s:s,s:s}}", "bearer", "type", "http",
		    "scheme", "bearer", "description",
		    "A token of [http] tokens_file: rw for writes; ro or rw "
		    "for reads when read_auth is on.")) ||
	    (comp = api_child(j, "schemas")) == NULL)
		goto fail;
	for (size_t k = 0; k < sizeof(schemas) / sizeof(schemas[0]); k++)
		if (json_object_set_new(
			comp, schemas[k].name, openapi_schema(&schemas[k])))
			goto fail;
	if (openapi_patch(doc) != AQ_OK)
		goto fail;
	return doc;
fail:
	json_decref(doc);
	return NULL;
}

static json_t *
openapi_op(const struct route_def *rd)
{
	static const struct {
		unsigned int code;
		const char *doc;
	} before[] = {
	    {400,
		"A malformed request target: a bad or NUL escape, an "
		"escaped '/', a '.' or '..' segment, a control character."},
	    {413, "A request body over [http] max_body."},
	    {414, "A request target of 2048 bytes or more."},
	};
	json_t *op = json_object(), *params, *resps, *p, *r, *m, *s;
	char code[16];

	if (op == NULL ||
	    json_object_set_new(op, "operationId", json_string(rd->op)) ||
	    json_object_set_new(op, "summary", json_string(rd->summary)) ||
	    (p = api_child_array(op, "tags")) == NULL ||
	    json_array_append_new(p, json_string(rd->tag)) ||
	    (params = api_child_array(op, "parameters")) == NULL ||
	    (resps = api_child(op, "responses")) == NULL)
		goto fail;
	for (const struct param_def *pd = rd->params; pd->name != NULL; pd++) {
		const char *t = pd->type;

		if ((p = json_object()) == NULL ||
		    json_array_append_new(params, p) ||
		    json_object_set_new(p, "name", json_string(pd->name)) ||
		    json_object_set_new(p, "in", json_string(pd->in)) ||
		    json_object_set_new(p, "required",
			json_boolean(strcmp(pd->in, "path") == 0)) ||
		    json_object_set_new(
			p, "description", json_string(pd->doc)) ||
		    json_object_set_new(p, "schema", dsl_type(&t)))
			goto fail;
	}
	for (const struct resp_def *rs = rd->resps; rs->code != 0; rs++) {
		bool schema = rs->body[0] == '#';
		const char *t = rs->body;

		snprintf(code, sizeof(code), "%u", rs->code);
		/* A code listed again adds a media type to the first. */
		if ((r = json_object_get(resps, code)) == NULL &&
		    ((r = api_child(resps, code)) == NULL ||
			json_object_set_new(
			    r, "description", json_string(rs->doc)) ||
			api_child(r, "content") == NULL))
			goto fail;
		if ((m = api_child(json_object_get(r, "content"),
			 schema ? "application/json" : rs->body)) == NULL)
			goto fail;
		if (schema)
			s = dsl_type(&t);
		else if (strcmp(rs->body, "application/json") == 0)
			s = json_pack("{s:s}", "type", "object");
		else if (strcmp(rs->body, "*/*") == 0)
			s = json_pack(
			    "{s:s,s:s}", "type", "string", "format", "binary");
		else
			s = json_pack("{s:s}", "type", "string");
		if (json_object_set_new(m, "schema", s))
			goto fail;
	}
	/* What any route may answer before its handler runs. */
	for (size_t k = 0; k < sizeof(before) / sizeof(before[0]); k++) {
		snprintf(code, sizeof(code), "%u", before[k].code);
		if (json_object_get(resps, code) != NULL)
			continue;
		if ((r = api_child(resps, code)) == NULL ||
		    json_object_set_new(
			r, "description", json_string(before[k].doc)) ||
		    (m = api_child(r, "content")) == NULL ||
		    (m = api_child(m, "application/json")) == NULL ||
		    json_object_set_new(m, "schema", ref("Error", 5)))
			goto fail;
	}
	return op;
fail:
	json_decref(op);
	return NULL;
}

/* A write operation: openapi_op() of its own, with its request body and
 * the bearer token it needs. */
static json_t *
openapi_method(const struct route_def *rd, const struct method_def *m)
{
	const struct route_def as = {
	    m->fn, m->op, rd->tag, m->summary, m->params, m->resps, NULL};
	const char *t = m->body;
	json_t *op = openapi_op(&as), *schema;

	if (op == NULL ||
	    json_object_set_new(
		op, "security", json_pack("[{s:[]}]", "bearer")))
		goto fail;
	if (t != NULL &&
	    ((schema = dsl_type(&t)) == NULL ||
		json_object_set_new(op, "requestBody",
		    json_pack("{s:b,s:{s:{s:o}}}", "required",
			strcmp(m->body, "#SilenceRequest") == 0, "content",
			"application/json", "schema", schema))))
		goto fail;
	return op;
fail:
	json_decref(op);
	return NULL;
}

/* What the schema notation cannot say: one of two types. */
static int
openapi_patch(json_t *doc)
{
	json_t *sr = json_object_get(
	    json_object_get(
		json_object_get(json_object_get(doc, "components"), "schemas"),
		"SilenceRequest"),
	    "properties");
	json_t *ok = json_object_get(
	    json_object_get(
		json_object_get(
		    json_object_get(
			json_object_get(
			    json_object_get(doc, "paths"), "/api/v1/alerts"),
			"get"),
		    "responses"),
		"200"),
	    "content");
	json_t *when = json_pack(
	    "{s:[{s:s},{s:s}]}", "oneOf", "type", "string", "type", "integer");

	if (sr == NULL || ok == NULL || when == NULL ||
	    json_object_set_new(sr, "matchers",
		json_pack("{s:[{s:s},{s:s,s:{s:s}}]}", "oneOf", "type",
		    "string", "type", "array", "items", "type", "string")) ||
	    json_object_set(sr, "starts_at", when) ||
	    json_object_set(sr, "ends_at", when) ||
	    json_object_set_new(ok, "application/json",
		json_pack("{s:{s:[{s:s},{s:s}]}}", "schema", "oneOf", "$ref",
		    "#/components/schemas/AlertList", "$ref",
		    "#/components/schemas/AlertLog"))) {
		json_decref(when);
		return AQ_ERR_NOMEM;
	}
	json_decref(when);
	return AQ_OK;
}

static json_t *
openapi_schema(const struct schema_def *sd)
{
	json_t *o = json_object(), *props, *req;
	const char *p = sd->props;

	if (o == NULL ||
	    json_object_set_new(o, "type", json_string("object")) ||
	    json_object_set_new(o, "description", json_string(sd->doc)) ||
	    (props = api_child(o, "properties")) == NULL ||
	    (req = api_child_array(o, "required")) == NULL)
		goto fail;
	while (*p != '\0') {
		bool optional = *p == '-';
		const char *name, *colon;
		char key[64];

		p += optional;
		name = p;
		if ((colon = strchr(p, ':')) == NULL ||
		    (size_t)(colon - name) >= sizeof(key))
			goto fail;
		memcpy(key, name, (size_t)(colon - name));
		key[colon - name] = '\0';
		p = colon + 1;
		if (json_object_set_new(props, key, dsl_type(&p)) ||
		    (*p != ' ' && *p != '\0') ||
		    (!optional && json_array_append_new(req, json_string(key))))
			goto fail;
		while (*p == ' ')
			p++;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

/*
 * One type of the schema notation: string, integer, number, boolean,
 * date-time, date, a|b|c (a string enumeration), [T] (array of T), {T}
 * (object of T values), #Name (a component); a '?' after any of them
 * allows null.
 */
static json_t *
dsl_type(const char **sp)
{
	const char *s = *sp, *e;
	json_t *t = NULL, *en;
	size_t n;

	if (*s == '[' || *s == '{') {
		bool array = *s == '[';

		s++;
		if ((t = json_object()) == NULL ||
		    json_object_set_new(
			t, "type", json_string(array ? "array" : "object")) ||
		    json_object_set_new(t,
			array ? "items" : "additionalProperties",
			dsl_type(&s)) ||
		    *s != (array ? ']' : '}'))
			goto fail;
		s++;
	} else if (*s == '#') {
		n = strspn(s + 1,
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz");
		if (n == 0 || (t = ref(s + 1, n)) == NULL)
			goto fail;
		s += 1 + n;
	} else {
		n = strcspn(s, " ?]}");
		e = s + n;
		if (n == 0 || (t = json_object()) == NULL)
			goto fail;
		if (memchr(s, '|', n) != NULL) {
			if (json_object_set_new(
				t, "type", json_string("string")) ||
			    (en = api_child_array(t, "enum")) == NULL)
				goto fail;
			while (s < e) {
				size_t w = strcspn(s, "| ?]}");

				if (w == 0 ||
				    json_array_append_new(
					en, json_stringn(s, w)))
					goto fail;
				s += w + (s[w] == '|');
			}
		} else if (n == 9 && strncmp(s, "date-time", n) == 0) {
			if (json_object_set_new(
				t, "type", json_string("string")) ||
			    json_object_set_new(
				t, "format", json_string("date-time")))
				goto fail;
		} else if (n == 4 && strncmp(s, "date", n) == 0) {
			if (json_object_set_new(
				t, "type", json_string("string")) ||
			    json_object_set_new(
				t, "format", json_string("date")))
				goto fail;
		} else if ((n == 6 && strncmp(s, "string", n) == 0) ||
		    (n == 7 && strncmp(s, "integer", n) == 0) ||
		    (n == 6 && strncmp(s, "number", n) == 0) ||
		    (n == 7 && strncmp(s, "boolean", n) == 0)) {
			if (json_object_set_new(t, "type", json_stringn(s, n)))
				goto fail;
		} else {
			/* A single word that is no type: a one-value enum. */
			if (json_object_set_new(
				t, "type", json_string("string")) ||
			    (en = api_child_array(t, "enum")) == NULL ||
			    json_array_append_new(en, json_stringn(s, n)))
				goto fail;
		}
		s = e;
	}
	if (*s == '?') {
		s++;
		/*
		 * OpenAPI 3.0.3 lets nullable add null only to a "type" beside
		 * it, and ignores siblings of $ref: a nullable component is
		 * anyOf the component and a schema of null alone.
		 */
		if (json_object_get(t, "$ref") != NULL) {
			json_t *w = json_object(), *any = NULL, *nul;

			if (w == NULL ||
			    (any = api_child_array(w, "anyOf")) == NULL) {
				json_decref(w);
				goto fail;
			}
			/* Appending takes t, even when it fails. */
			if (json_array_append_new(any, t)) {
				t = w;
				goto fail;
			}
			t = w;
			if ((nul = json_object()) == NULL ||
			    json_array_append_new(any, nul) ||
			    json_object_set_new(
				nul, "type", json_string("object")) ||
			    json_object_set_new(nul, "nullable", json_true()) ||
			    (nul = api_child_array(nul, "enum")) == NULL ||
			    json_array_append_new(nul, json_null()))
				goto fail;
		} else if (json_object_set_new(t, "nullable", json_true())) {
			goto fail;
		}
	}
	*sp = s;
	return t;
fail:
	json_decref(t);
	return NULL;
}

static json_t *
ref(const char *name, size_t len)
{
	char buf[128];
	json_t *o;

	if (snprintf(buf, sizeof(buf), "#/components/schemas/%.*s", (int)len,
		name) >= (int)sizeof(buf) ||
	    (o = json_object()) == NULL)
		return NULL;
	if (json_object_set_new(o, "$ref", json_string(buf))) {
		json_decref(o);
		o = NULL;
	}
	return o;
}
