/*
 * api: the HTTP server (api.h).  One table of routes drives the router, the
 * route label of the request counter and the OpenAPI document, so the three
 * cannot drift apart.  Handlers build their answer from copies: cell views
 * taken one at a time with state_view() (a reader holds a cell's lock only
 * for one copy, so ingest never waits on HTTP) and relaxed atomic counters.
 */
#include "web/api.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "alerts/alert.h"
#include "alerts/notify.h"
#include "alerts/rule.h"
#include "alerts/service.h"
#include "daemon/aqi.h"
#include "daemon/fault.h"
#include "daemon/hotspot.h"
#include "daemon/fix.h"
#include "daemon/limits.h"
#include "daemon/log.h"
#include "daemon/plan.h"
#include "daemon/pol.h"
#include "daemon/reason.h"
#include "daemon/tz.h"
#include "daemon/version.h"

#define API_LIMIT_DEFAULT 100
#define API_LIMIT_MAX 10000
#define API_MIN_AQI_MAX 100000
#define API_FILE_NAME_MAX 64
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
/* History pages: rows per page by default and at most (more is 400), the
 * span when from is not given, and cell-hours read for one page of an
 * area (its page holds fewer hours when it has many cells). */
#define API_HIST_LIMIT_DEFAULT 500
#define API_HIST_LIMIT_MAX 5000
#define API_HIST_HOURS_DEFAULT 48
#define API_HIST_DAYS_DEFAULT 31
#define API_AREA_ROWS 20000
#define API_CSV_TYPE "text/csv; charset=utf-8"
#define API_NO_STORE                                                           \
	"history: this daemon keeps no history (no [store] dir in its "        \
	"configuration)"
#define HIST_TIME_MAX INT64_C(253402300799) /* 9999-12-31T23:59:59Z */
#define HIST_DATE_MAX 99991231
#define HIST_TIME_DOC "expected Unix seconds, ISO 8601 or YYYY-MM-DD"
#define HIST_DATE_DOC "expected YYYY-MM-DD, Unix seconds or ISO 8601"
/* The indicators an area's history averages unless told. */
#define HIST_AREA_INDS                                                         \
	(IND_BIT(IND_PM25_1H) | IND_BIT(IND_O3_1H) | IND_BIT(IND_PM10_1H) |    \
	    IND_BIT(IND_NO2_1H) | IND_BIT(IND_SO2_1H) | IND_BIT(IND_CO_1H))
/* Bearer tokens ([http] tokens_file): bytes, and how many. */
#define API_TOKEN_MAX 256
#define API_TOKEN_MIN 16
#define API_TOKEN_NAME_MAX ALERT_WHO_MAX
#define API_TOKENS_MAX 1024
/* Alert-log entries per answer by default and at most; delivery
 * attempts shown with an alert. */
#define API_LOG_LIMIT_DEFAULT 100
#define API_LOG_LIMIT_MAX 1000
#define API_ATTEMPTS_MAX 200
/* Event streams: a comment on a quiet stream this often (seconds), the
 * waker's round (ms), events copied from the ring at once, and the bytes
 * MHD asks the reader for at once. */
#define SSE_HEARTBEAT 15
#define SSE_WAKE_MS 250
#define SSE_BATCH 4
#define SSE_BLOCK 4096

enum route {
	R_HEALTHZ,
	R_READYZ,
	R_STATUS,
	R_CELLS,
	R_CELL,
	R_AREAS,
	R_AREA,
	R_CELL_HISTORY,
	R_CELL_DAILY,
	R_AREA_HISTORY,
	R_ALERTS,
	R_ALERT,
	R_ALERT_ACK,
	R_SILENCES,
	R_SILENCE,
	R_NOTIFICATIONS,
	R_EVENTS,
	R_SITES,
	R_SITE_BLACKLIST, /* before R_SITE, whose {id} would take it */
	R_SITE,
	R_CELL_FORECAST,
	R_HOTSPOTS,
	R_AREA_WARNING,
	R_AREA_FORECAST,
	R_INDICATORS,
	R_OPENAPI,
	R_METRICS,
	R_INDEX,
	R_STATIC,
	R_COUNT,
	R_OTHER = R_COUNT /* the counter's label for unmatched paths */
};

/* Status codes the request counter keeps apart; others count as "other". */
static const unsigned int http_codes[] = {
    200, 201, 204, 400, 401, 403, 404, 405, 409, 413, 414, 500, 503};
#define NCODES (sizeof(http_codes) / sizeof(http_codes[0]))

enum cell_status { CELL_OK, CELL_NO_DATA, CELL_OFFLINE };

struct api {
	struct MHD_Daemon *d;
	struct state *st;
	uint16_t port;
	char *openapi; /* the document, built once at start */
	size_t openapi_len;
	char *tls_cert, *tls_key; /* PEM, owned; NULL for plain HTTP */
	size_t tls_key_len;
	_Atomic uint64_t requests[R_COUNT + 1][NCODES + 1];
	struct service *svc;      /* NULL: alerts are off */
	struct api_token *tokens; /* owned; wiped at the end */
	size_t ntokens;
	/* Event streams: the list, under sse_mu, and the waker. */
	pthread_mutex_t sse_mu;
	bool sse_mu_ok;
	struct sse *sse;
	uint32_t nsse, sse_max;
	struct MHD_Connection **wake; /* sse_max: the waker's scratch */
	uint32_t nwake;
	pthread_t waker;
	bool waker_on;
	atomic_bool stopping;
	_Atomic uint64_t sse_refused, sse_cut;
	struct plan_cache *plan; /* days formed for /api/v1/indicators */
	pthread_t plan_warm;     /* fills it once at start */
	bool plan_warm_on;
};

/* A bearer token of the tokens file. */
struct api_token {
	char name[API_TOKEN_NAME_MAX];
	char token[API_TOKEN_MAX]; /* NUL-padded: compared whole */
	bool rw;
};

/*
 * One event stream.  The list of a->sse holds it from h_events() until
 * MHD is done with it (dead) and the waker or api_stop() frees it.
 * suspended is written under sse_mu; the rest by the one MHD thread
 * serving the connection.
 */
struct sse {
	struct api *a;
	struct sse *prev, *next;
	struct MHD_Connection *conn;
	uint64_t cursor; /* id of the last event sent */
	int64_t beat;    /* monotonic s when bytes were last made */
	bool suspended;  /* by sse_read(), until resumed */
	bool started;    /* the first fill is done */
	bool done;       /* end once buf is sent */
	atomic_bool dead;
	size_t len, off; /* of buf: made, and handed to MHD */
	struct service_event ev[SSE_BATCH];
	char buf[SSE_BATCH * (SERVICE_EVENT_MAX + 64) + 256];
};

/* The alerts list's filters. */
struct alert_q {
	const char *state, *area, *cell; /* NULL: any */
	int severity;                    /* -1: any */
};

/* One request: what the handler reads, and the answer it leaves. */
struct req {
	struct api *a;
	struct state *st;
	const struct conf *conf;
	struct MHD_Connection *conn;
	const struct tz *tz; /* immutable, shared */
	int64_t now;
	enum route route;
	char param[API_PARAM_MAX];       /* the {id} or {file} of the route */
	bool escaped;                    /* the raw path had a %-escape */
	const struct api_target *target; /* the query's parameters */
	const char *in; /* the request body, in_len bytes; NULL for none */
	size_t in_len;
	unsigned int code;
	json_t *json;     /* owned */
	char *body;       /* owned (malloc), len bytes */
	const char *text; /* static, len bytes */
	size_t len;
	int fd; /* owned, size bytes; -1 for none */
	uint64_t size;
	const char *ctype;
	char next[24];   /* a history page's next cursor: X-Next-Cursor */
	const char *who; /* the bearer token's name, or NULL */
	struct sse *sse; /* an event stream to answer with, owned */
};

/* A cell reduced to what lists and aggregates need. */
struct summary {
	uint32_t cell;
	const char *id;
	enum aqi_std std;
	int aqi, level;
	uint32_t primary;
	int64_t hour_end; /* WIN_NO_HOUR: no complete hour */
	enum cell_status status;
	uint32_t faulty; /* listed sensors flagged faulty (fault.h) */
	uint32_t has;    /* IND_BIT()s of v[] */
	int64_t v[IND_AQI_COUNT];
};

/* A growing output buffer; bad sticks once an allocation failed. */
struct buf {
	char *p;
	size_t len, cap;
	bool bad;
};

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

typedef int handler_fn(struct req *r);

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

/* A history route's query, checked (hist_query()). */
struct hist_q {
	int64_t from, to; /* hour ends (Unix s), or dates yyyymmdd */
	int64_t after;    /* the cursor; INT64_MIN for the first page */
	uint32_t limit;
	uint32_t inds; /* IND_BIT()s shown */
	bool csv;
};

/* What an hourly and a daily row of a cell share. */
struct hist_row {
	int aqi, level;
	uint32_t primary, exceeds, has;
	const int64_t *v;
	const uint8_t *n;
};

/* A cell's row at one hour, as an area's history aggregates it. */
struct area_row {
	int64_t hour;
	uint32_t cell;
	int aqi, level;
	uint32_t has;
	uint32_t exceeds; /* IND_BIT()s over their limit */
	int64_t v[IND_AQI_COUNT];
};

static handler_fn h_cell_forecast, h_area_warning, h_area_forecast;
static int warning_answer(struct req *r, int ai);
static json_t *fc_value(const struct fcgrid_forecast *f, int p, int k);
static json_t *jfc(double v);
static handler_fn h_healthz, h_readyz, h_status, h_cells, h_cell, h_areas,
    h_area, h_openapi, h_metrics, h_static, h_cell_history, h_cell_daily,
    h_area_history, h_alerts, h_alert, h_ack, h_silences, h_silence_add,
    h_silence_rm, h_notifications, h_events, h_sites, h_site, h_site_blacklist,
    h_indicators;

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
static void wipe(char *p, size_t n);
static enum route match(const char *url, char *param, size_t len);
static bool match_one(
    const char *pat, const char *url, char *param, size_t len);
static enum MHD_Result send_answer(struct req *r, enum route route);
static void count(struct api *a, enum route route, unsigned int code);
static void req_reset(struct req *r);
static int fail(struct req *r, unsigned int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int dump(const json_t *j, char **out, size_t *len);
static int dump_cb(const char *p, size_t n, void *data);
static void put(struct buf *b, const char *p, size_t n);
static void put_text(struct buf *b, const char *s);
static void put_str(struct buf *b, const char *s);
static void put_real(struct buf *b, double v);
static void put_int(struct buf *b, bool has, long long v);
static bool utf8_ok(const char *s);
static const char *arg(const struct req *r, const char *key);
static int parse_count(const char *s, long long max, long long *out);
static int find_area(const struct conf *c, const char *id);
static json_t *child(json_t *parent, const char *key);
static json_t *child_array(json_t *parent, const char *key);
static json_t *jfix(bool has, int64_t v);
static json_t *limits_json(struct req *r, const struct cell_view *v);
static json_t *jint(bool has, long long v);
static json_t *jstr(const char *s);
static json_t *jtext(const char *s);
static json_t *jtime(struct req *r, int64_t ts);
static char *iso(struct req *r, int64_t ts, char *buf, size_t len);
static json_t *jinds(uint32_t bits);
static json_t *sensor_values_json(const double *v, uint32_t has);
static int summarize(struct req *r, uint32_t cell, struct summary *s);
static enum cell_status view_status(struct req *r, const struct cell_view *v);
static void summary_write(
    struct req *r, const struct summary *s, struct buf *b);
static int by_id(const void *x, const void *y);
static int by_aqi(const void *x, const void *y);
static json_t *aqi_json(
    const struct req *r, const struct aqi_result *res, enum aqi_report report);
static json_t *values_json(const struct aqi_input *in);
static json_t *hours_json(const uint8_t *n);
static json_t *day_json(struct req *r, const struct cell_view *v);
static json_t *sensors_json(struct req *r, const struct cell_view *v);
static bool hist_query(struct req *r, bool daily, uint32_t dflt,
    struct hist_q *q, char *why, size_t len);
static int when(
    struct req *r, const char *s, bool daily, bool end, int64_t *out);
static bool hist_inds(const char *s, uint32_t *out, char *why, size_t len);
static void put_key(struct buf *b, const char *key);
static void put_inds(struct buf *b, uint32_t bits);
static void put_csv(struct buf *b, const char *s);
static void put_csv_inds(struct buf *b, uint32_t bits);
static void put_fix(struct buf *b, bool csv, bool has, int64_t v);
static void hist_head(struct req *r, const struct hist_q *q, bool daily,
    uint32_t n, const char *next, struct buf *b);
static void hist_csv_head(const char *label, uint32_t inds, struct buf *b);
static void hist_row(const struct hist_q *q, const char *key, const char *label,
    const struct hist_row *h, struct buf *b);
static char *date_text(int32_t d, char *buf, size_t len);
static int hist_done(
    struct req *r, const struct hist_q *q, const char *next, struct buf *b);
static int cell_rows(struct req *r, bool daily);
static int indicators_json(
    struct req *r, int ai, const struct plan_result *res, json_t **out);
static json_t *plan_valid_json(const struct plan_valid *v);
static void *plan_warm(void *arg);
static int by_hour_cell(const void *x, const void *y);
static void area_hour(struct req *r, const struct hist_q *q,
    const struct area_row *rows, uint32_t n, uint32_t ncells, struct buf *b);
static int area_json(struct req *r, uint32_t area, const struct summary *sums,
    uint32_t *seen, bool ids, json_t **out);
static int h_hotspots(struct req *r);
static int metrics_text(struct req *r, FILE *f);
static void metrics_hj212(struct counters *c, FILE *f);
static void metrics_sse(struct api *a, FILE *f);
static void metrics_alerts(struct api *a, FILE *f);
static void metrics_publish(
    const struct conf *conf, struct counters *c, FILE *f);
static int status_hj212(struct counters *c, json_t *o);
static void metric_head(
    FILE *f, const char *name, const char *type, const char *help);
static const char *content_type(const char *name);
static bool file_name_ok(const char *name);
static json_t *openapi_build(void);
static json_t *openapi_op(const struct route_def *rd);
static json_t *openapi_method(
    const struct route_def *rd, const struct method_def *m);
static int openapi_patch(json_t *doc);
static json_t *openapi_schema(const struct schema_def *sd);
static json_t *dsl_type(const char **sp);
static json_t *ref(const char *name, size_t len);
static int resolve(const char *host, int64_t port, struct sockaddr_storage *ss);
static void tok_err(FILE *errs, const char *path, int line, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));
static int tokens_load(
    const char *path, FILE *errs, struct api_token **out, size_t *nout);
static bool token_name_ok(const char *s);
static bool token_ok(const char *s);
static const struct api_token *token_find(const struct api *a, const char *h);
static bool read_guarded(enum route route);
static int authorize(struct req *r, bool write);
static handler_fn *route_fn(enum route route, const char *method, bool *write);
static const char *route_allow(enum route route);
static bool alerts_on(struct req *r);
static json_t *jwhen(struct req *r, int64_t ts);
static json_t *jopt(const char *s);
static json_t *alert_json(struct req *r, const struct alert_info *ai);
static int64_t alert_changed(const struct alert_info *ai);
static int by_newest(const void *x, const void *y);
static bool alert_filter(struct req *r, struct alert_q *q);
static bool alert_match(const struct alert_q *q, const struct alert_info *ai);
static int log_entry(void *ctx, int64_t id, const void *value, size_t len);
static int alert_log(
    struct req *r, const struct alert_q *q, const char *after, uint32_t limit);
static int attempt_one(void *ctx, const struct notify_attempt *at);
static json_t *body_json(struct req *r, const char *keys);
static bool body_str(
    struct req *r, json_t *j, const char *key, char *out, size_t max);
static bool body_time(
    struct req *r, json_t *j, const char *key, int64_t dflt, int64_t *out);
static json_t *silence_json(struct req *r, const struct alert_silence *s);
static int silences_list(struct req *r, uint64_t only, json_t **out);
static int dead_one(void *ctx, const struct notify_dead *d);
static int64_t mono(void);
static void sse_put(struct sse *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sse_fill(struct sse *e);
static ssize_t sse_read(void *cls, uint64_t pos, char *out, size_t max);
static void sse_free(void *cls);
static void sse_reap(struct api *a);
static uint32_t sse_due(struct api *a, uint64_t seen, bool all);
static void *sse_waker(void *arg);

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
    {"POST", "post", h_ack, "ackAlert",
	"Acknowledges an open alert: repeats stop, the resolved "
	"notification does not.  The author is the token's name.",
	"#AckRequest", alert_params, ack_resps},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL}};
static const struct method_def silences_methods[] = {
    {"POST", "post", h_silence_add, "addSilence",
	"Adds a silence: matching alerts change state but notify nobody "
	"from starts_at to ends_at.  The author is the token's name.",
	"#SilenceRequest", no_params, silence_add_resps},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL}};
static const struct method_def silence_methods[] = {
    {"DELETE", "delete", h_silence_rm, "expireSilence",
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
    {"POST", "post", h_area_forecast, "postAreaForecast",
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
    [R_HEALTHZ] = {h_healthz, "getHealth", "health",
	"Liveness: the server answers.", no_params, healthz_resps, NULL},
    [R_READYZ] = {h_readyz, "getReady", "health",
	"Readiness: connected to the MQTT broker.", no_params, readyz_resps,
	NULL},
    [R_STATUS] = {h_status, "getStatus", "meta",
	"Version, uptime, ingest counters and standards.", no_params,
	status_resps, NULL},
    [R_CELLS] = {h_cells, "listCells", "cells",
	"Cells with their latest complete hour, filtered, sorted and "
	"paged.",
	cells_params, cells_resps, NULL},
    [R_CELL] = {h_cell, "getCell", "cells",
	"One cell: AQI, IAQIs, concentrations, exceedances, the latest "
	"complete day and sensors.",
	cell_params, cell_resps, NULL},
    [R_AREAS] = {h_areas, "listAreas", "areas",
	"Areas with their worst cell, means and level counts.", no_params,
	areas_resps, NULL},
    [R_AREA] = {h_area, "getArea", "areas",
	"One area with its aggregates and cell ids.", area_params, area_resps,
	NULL},
    [R_CELL_HISTORY] = {h_cell_history, "getCellHistory", "history",
	"A cell's hourly rows from the store (AQI, level, primary "
	"pollutants, exceedances, each indicator's value and valid "
	"hours), paged by cursor; JSON or CSV.",
	cell_history_params, cell_history_resps, NULL},
    [R_CELL_DAILY] = {h_cell_daily, "getCellDaily", "history",
	"A cell's daily rows from the store (daily AQI, daily means, "
	"maxima and MDA8), paged by cursor; JSON or CSV.",
	cell_daily_params, cell_daily_resps, NULL},
    [R_AREA_HISTORY] = {h_area_history, "getAreaHistory", "history",
	"An area's hours aggregated from its cells' rows as for the area "
	"itself: worst cell, means over cells with a valid value (with "
	"how many), cells per level.  A page may hold fewer hours than "
	"limit in a large area (at most 20000 cell-hours are read a "
	"page); follow next_cursor until it is null.",
	area_history_params, area_history_resps, NULL},
    [R_ALERTS] = {h_alerts, "listAlerts", "alerts",
	"Alerts filtered by state, severity, area and cell, newest change "
	"first; with after, the alert log after that cursor.",
	alerts_params, alerts_resps, NULL},
    [R_ALERT] = {h_alert, "getAlert", "alerts",
	"One alert with its notification delivery attempts.", alert_params,
	alert_resps, NULL},
    [R_ALERT_ACK] = {NULL, NULL, "alerts", NULL, alert_params, NULL,
	ack_methods},
    [R_SILENCES] = {h_silences, "listSilences", "alerts",
	"Silences, expired ones too.", no_params, silences_resps,
	silences_methods},
    [R_SILENCE] = {NULL, NULL, "alerts", NULL, silence_params, NULL,
	silence_methods},
    [R_NOTIFICATIONS] = {h_notifications, "listNotifications", "alerts",
	"Dead-lettered notifications: attempts ran out or the receiver "
	"refused them for good.",
	notifications_params, notifications_resps, NULL},
    [R_EVENTS] = {h_events, "streamEvents", "alerts",
	"Server-Sent Events of alert notices, acknowledgements, silences "
	"and cell AQI changes.  Starts after Last-Event-ID (header or "
	"last_event_id), else with the next event.",
	events_params, events_resps, NULL},
    [R_SITES] = {h_sites, "listSites", "sites",
	"Dust sites (construction, plant, yard, road) with their "
	"green/yellow/red status, latest hour, excess over the background "
	"and this month's red hours and episodes.",
	no_params, sites_resps, NULL},
    [R_SITE_BLACKLIST] = {h_site_blacklist, "getSiteBlacklist", "sites",
	"Sites whose red hours or red episodes in a local month reach "
	"[sites] blacklist_red_hours or blacklist_red_episodes.",
	blacklist_params, blacklist_resps, NULL},
    [R_SITE] = {h_site, "getSite", "sites",
	"One dust site: its status, the history of its status changes "
	"(newest first) and its latest judged hours with the background "
	"and the excess over it.",
	site_params, site_resps, NULL},
    [R_CELL_FORECAST] = {h_cell_forecast, "getCellForecast", "forecasts",
	"A cell's forecast from its online model: hourly PM2.5 and O3 for "
	"the next 72 hours with 80% intervals, the PM2.5 24-hour and O3 "
	"8-hour means over observed and forecast hours, and the daily AQI "
	"(PM2.5 and O3 only) of each day not over yet that the hours "
	"cover.",
	cell_params, cell_forecast_resps, NULL},
    [R_HOTSPOTS] = {h_hotspots, "listHotspots", "cells",
	"Cells whose PM2.5 stands persistently above their neighbours' "
	"median, ranked by excess-hours, with the likely direction of the "
	"source when sensors report wind.  Judged every hour.",
	no_params, hotspots_resps, NULL},
    [R_AREA_WARNING] = {h_area_warning, "getAreaWarning", "forecasts",
	"The area's heavy-pollution warning level (none, blue, yellow, "
	"orange, red) from the daily AQI forecast of today and the days "
	"after: an external forecast posted for the area when it covers "
	"today or later, else the mean of its cells' forecast PM2.5 24-hour "
	"means and O3 MDA8.",
	area_params, area_warning_resps, NULL},
    [R_AREA_FORECAST] = {NULL, NULL, "forecasts", NULL, area_params, NULL,
	area_forecast_methods},
    [R_INDICATORS] = {h_indicators, "getIndicators", "history",
	"The district plan's indicators of an area or the grid over a date "
	"range (default: year to date): good-days ratio, PM2.5 mean with "
	"the annual validity rule, O3 MDA8 90th percentile and exceedance "
	"days per pollutant, each against the [plan] target and the GB 3095 "
	"limit.  An area's day is the mean over its cells of each daily "
	"statistic, its daily AQI computed from those means.",
	indicators_params, indicators_resps, NULL},
    [R_OPENAPI] = {h_openapi, "getOpenApi", "meta",
	"This OpenAPI 3.0.3 document.", no_params, openapi_resps, NULL},
    [R_METRICS] = {h_metrics, "getMetrics", "meta", "Prometheus metrics.",
	no_params, metrics_resps, NULL},
    [R_INDEX] = {h_static, "getDashboard", "dashboard",
	"The dashboard (static/index.html).", no_params, index_resps, NULL},
    [R_STATIC] = {h_static, "getStaticFile", "dashboard",
	"A file of the dashboard.", file_params, static_resps, NULL},
};

/* The indicators of a cell's concentrations, in the API's order. */
static const enum ind conc_inds[] = {IND_PM25_1H, IND_PM25_24H, IND_PM10_1H,
    IND_PM10_24H, IND_SO2_1H, IND_SO2_24H, IND_NO2_1H, IND_NO2_24H, IND_CO_1H,
    IND_CO_8H, IND_CO_24H, IND_O3_1H, IND_O3_8H};
#define NCONC (sizeof(conc_inds) / sizeof(conc_inds[0]))
/* The values a cell summary carries. */
static const enum ind summary_inds[] = {
    IND_PM25_1H, IND_PM10_1H, IND_O3_1H, IND_O3_8H, IND_PM25_24H};
/* The hourly values an area averages. */
static const enum ind mean_inds[] = {
    IND_PM25_1H, IND_O3_1H, IND_PM10_1H, IND_NO2_1H, IND_SO2_1H, IND_CO_1H};

static const char *const cell_status_names[] = {
    [CELL_OK] = "ok",
    [CELL_NO_DATA] = "no_data",
    [CELL_OFFLINE] = "offline",
};

static const struct {
	const char *ext, *type;
} content_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".json", "application/json"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
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
	"sensors:[#SensorState] sensors_total:integer limits:{number}"},
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
	    tokens_load(c->http_tokens_file, NULL, &a->tokens, &a->ntokens) !=
		AQ_OK)
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
		if (pthread_create(&a->waker, NULL, sse_waker, a) != 0) {
			log_warnx("http: cannot start the event stream thread");
			goto fail;
		}
		a->waker_on = true;
	}
	/* The first read of a large store takes seconds: done now, not in
	 * the first request (which waits for it if it comes sooner). */
	if (state_store(st) != NULL &&
	    pthread_create(&a->plan_warm, NULL, plan_warm, a) == 0)
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
	 * then resume every one; sse_read() ends them. */
	atomic_store(&a->stopping, true);
	if (a->waker_on)
		pthread_join(a->waker, NULL);
	if (a->sse_mu_ok) {
		uint32_t n = sse_due(a, 0, true);

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
		wipe((char *)a->tokens, a->ntokens * sizeof(*a->tokens));
	free(a->tokens);
	free(a->openapi);
	free(a->tls_cert);
	if (a->tls_key != NULL)
		wipe(a->tls_key, a->tls_key_len);
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
		wipe(p, n + 1);
	free(p);
	if (f != NULL)
		fclose(f);
	return rc;
}

/* memset that the compiler may not drop as a dead store. */
static void
wipe(char *p, size_t n)
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
		rc = fail(&r, MHD_HTTP_CONTENT_TOO_LARGE,
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
		rc = fail(&r, (unsigned int)k->refuse, "bad request target");
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
		    ? fail(&r, MHD_HTTP_NOT_FOUND, "not found")
		    : preflight(&r);
	else if (route == R_OTHER)
		rc = fail(&r, MHD_HTTP_NOT_FOUND, "not found");
	else if ((fn = route_fn(route, method, &write)) == NULL)
		rc =
		    fail(&r, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
	else if ((rc = authorize(&r, write)) == AQ_OK && r.code == 0)
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
		/* The response owns the stream from here (sse_free()). */
		resp = MHD_create_response_from_callback(
		    MHD_SIZE_UNKNOWN, SSE_BLOCK, sse_read, r->sse, sse_free);
		if (resp == NULL)
			sse_free(r->sse);
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

	while (k < NCODES && http_codes[k] != code)
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
		sse_free(r->sse);
	r->sse = NULL;
}

/* Sets a JSON error answer {"error": "..."}. */
static int
fail(struct req *r, unsigned int code, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	req_reset(r);
	r->code = code;
	return (r->json = json_object()) == NULL ||
		json_object_set_new(r->json, "error", jtext(msg)) != 0
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

	put(b, p, n);
	return b->bad ? -1 : 0;
}

static void
put(struct buf *b, const char *p, size_t n)
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

static void
put_text(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/*
 * A JSON string, or null for NULL; text that is not UTF-8 becomes U+FFFD,
 * as jtext() does.
 */
static void
put_str(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run;

	if (s == NULL) {
		put_text(b, "null");
		return;
	}
	if (!utf8_ok(s))
		s = "\xef\xbf\xbd";
	put(b, "\"", 1);
	for (run = s; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		char esc[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};

		if (ch >= 0x20 && ch != '"' && ch != '\\')
			continue;
		put(b, run, (size_t)(s - run));
		if (ch == '"' || ch == '\\') {
			esc[1] = (char)ch;
			put(b, esc, 2);
		} else {
			put(b, esc, sizeof(esc));
		}
		run = s + 1;
	}
	put(b, run, (size_t)(s - run));
	put(b, "\"", 1);
}

/* As jansson prints a real with API_DUMP_FLAGS, so that every answer
 * writes numbers alike. */
static void
put_real(struct buf *b, double v)
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
	put(b, t, (size_t)n);
}

static void
put_int(struct buf *b, bool has, long long v)
{
	char t[24];

	if (!has) {
		put_text(b, "null");
		return;
	}
	snprintf(t, sizeof(t), "%lld", v);
	put_text(b, t);
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
static const char *
arg(const struct req *r, const char *key)
{
	for (size_t k = 0; r->target != NULL && k < r->target->nargs; k++)
		if (strcmp(r->target->args[k].key, key) == 0)
			return r->target->args[k].value;
	return NULL;
}

/* Plain decimal digits only: no sign, spaces or exponent. */
static int
parse_count(const char *s, long long max, long long *out)
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

static int
find_area(const struct conf *c, const char *id)
{
	for (uint32_t k = 0; k < c->nareas; k++)
		if (strcmp(c->areas[k].id, id) == 0)
			return (int)k;
	return -1;
}

/* A new object or array under key; returns it borrowed, or NULL. */
static json_t *
child(json_t *parent, const char *key)
{
	json_t *o = json_object();

	return json_object_set_new(parent, key, o) == 0 ? o : NULL;
}

static json_t *
child_array(json_t *parent, const char *key)
{
	json_t *o = json_array();

	return json_object_set_new(parent, key, o) == 0 ? o : NULL;
}

static json_t *
jfix(bool has, int64_t v)
{
	return has ? json_real(fix_to_double(v)) : json_null();
}

static json_t *
jint(bool has, long long v)
{
	return has ? json_integer((json_int_t)v) : json_null();
}

static json_t *
jstr(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

/* Text from the configuration or a message, which may not be UTF-8: a
 * replacement character stands in rather than failing the answer. */
static json_t *
jtext(const char *s)
{
	json_t *j = json_string(s);

	return j != NULL ? j : json_string("\xef\xbf\xbd");
}

static json_t *
jtime(struct req *r, int64_t ts)
{
	char buf[TZ_ISO_MAX];

	if (ts == WIN_NO_HOUR)
		return json_null();
	return json_string(iso(r, ts, buf, sizeof(buf)));
}

static char *
iso(struct req *r, int64_t ts, char *buf, size_t len)
{
	return tz_format(r->tz, ts, buf, len);
}

static json_t *
jinds(uint32_t bits)
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

static enum cell_status
view_status(struct req *r, const struct cell_view *v)
{
	uint32_t n =
	    v->nsensors < STATE_VIEW_SENSORS ? v->nsensors : STATE_VIEW_SENSORS;
	enum cell_status s = CELL_NO_DATA;

	/* Sensors are listed newest first: when the listed ones are all
	 * offline, so are any past the list. */
	if (v->hour != WIN_NO_HOUR) {
		s = n > 0 ? CELL_OFFLINE : CELL_OK;
		for (uint32_t k = 0; k < n && s == CELL_OFFLINE; k++)
			if (state_sensor_status(r->st, v->sensors[k], r->now) !=
			    SENSOR_OFFLINE)
				s = CELL_OK;
	}
	return s;
}

static int
summarize(struct req *r, uint32_t cell, struct summary *s)
{
	struct cell_view v;
	int rc;

	if ((rc = state_view(r->st, cell, &v)) != AQ_OK)
		goto out;
	memset(s, 0, sizeof(*s));
	s->cell = cell;
	s->id = r->conf->cells[cell].id;
	s->std = v.aqi.std;
	s->aqi = v.aqi.aqi;
	s->level = v.aqi.aqi >= 0 ? v.aqi.level : 0;
	s->primary = v.aqi.aqi >= 0 ? v.aqi.primary : 0;
	s->hour_end = v.hour == WIN_NO_HOUR ? WIN_NO_HOUR : v.hour_end;
	s->status = view_status(r, &v);
	for (uint32_t k = 0; k < v.nsensors && k < STATE_VIEW_SENSORS; k++)
		if (fault_flags(state_faults(r->st), v.sensors[k]) != 0)
			s->faulty++;
	if (v.hour != WIN_NO_HOUR) {
		s->has = v.stats.in.has & (IND_BIT(IND_AQI_COUNT) - 1);
		memcpy(s->v, v.stats.in.v, sizeof(s->v));
	}
out:
	return rc;
}

/* Written directly, not through jansson: a list of 10,000 cells would
 * otherwise cost some 200,000 small allocations. */
static void
summary_write(struct req *r, const struct summary *s, struct buf *b)
{
	const struct conf_cell *cc = &r->conf->cells[s->cell];
	char hour[TZ_ISO_MAX];
	bool first = true;

	put_text(b, "{\"id\":");
	put_str(b, s->id);
	put_text(b, ",\"area\":");
	put_str(b,
	    cc->area >= 0 && (uint32_t)cc->area < r->conf->nareas
		? r->conf->areas[cc->area].id
		: NULL);
	put_text(b, ",\"lat\":");
	put_real(b, cc->lat);
	put_text(b, ",\"lon\":");
	put_real(b, cc->lon);
	put_text(b, ",\"row\":");
	put_int(b, cc->row >= 0, cc->row);
	put_text(b, ",\"col\":");
	put_int(b, cc->col >= 0, cc->col);
	put_text(b, ",\"hour\":");
	put_str(b,
	    s->hour_end == WIN_NO_HOUR
		? NULL
		: iso(r, s->hour_end, hour, sizeof(hour)));
	put_text(b, ",\"aqi\":");
	put_int(b, s->aqi >= 0, s->aqi);
	put_text(b, ",\"level\":");
	put_int(b, s->level > 0, s->level);
	put_text(b, ",\"category\":");
	put_str(b, aqi_category(s->std, s->level));
	put_text(b, ",\"category_en\":");
	put_str(b, aqi_category_en(s->std, s->level));
	put_text(b, ",\"color\":");
	put_str(b, aqi_color(s->std, s->level));
	put_text(b, ",\"primary\":[");
	for (int i = 0; i < IND_COUNT; i++) {
		if ((s->primary & IND_BIT(i)) == 0)
			continue;
		if (!first)
			put_text(b, ",");
		put_str(b, ind_name((enum ind)i));
		first = false;
	}
	put_text(b, "]");
	for (size_t k = 0; k < sizeof(summary_inds) / sizeof(summary_inds[0]);
	     k++) {
		enum ind i = summary_inds[k];

		put_text(b, ",\"");
		put_text(b, ind_name(i));
		put_text(b, "\":");
		if (s->has & IND_BIT(i))
			put_real(b, fix_to_double(s->v[i]));
		else
			put_text(b, "null");
	}
	put_text(b, ",\"status\":");
	put_str(b, cell_status_names[s->status]);
	put_text(b, ",\"faulty_sensors\":");
	put_int(b, true, s->faulty);
	put_text(b, "}");
}

static int
by_id(const void *x, const void *y)
{
	const struct summary *a = x, *b = y;

	return strcmp(a->id, b->id);
}

/* Highest AQI first, unknown last, ties by id. */
static int
by_aqi(const void *x, const void *y)
{
	const struct summary *a = x, *b = y;

	if (a->aqi != b->aqi)
		return a->aqi < b->aqi ? 1 : -1;
	return strcmp(a->id, b->id);
}

static json_t *
aqi_json(
    const struct req *r, const struct aqi_result *res, enum aqi_report report)
{
	static const struct aqi_input none;
	struct aqi_result empty;
	json_t *o, *iaqi = NULL, *notes = NULL;
	int level;
	bool bad;

	/* A view without data holds a zeroed result: list the indicators
	 * the configured report reads anyway, all unknown. */
	if (res->used == 0) {
		struct aqi_opts opts = {
		    .std = (enum aqi_std)r->conf->aqi_std, .report = report};

		if (aqi_compute(&opts, &none, &empty) != AQ_OK) {
			memset(&empty, 0, sizeof(empty));
			empty.std = opts.std;
			empty.aqi = -1;
		}
		res = &empty;
	}
	level = res->aqi >= 0 ? res->level : 0;
	if ((o = json_object()) == NULL)
		return NULL;
	bad =
	    json_object_set_new(o, "standard", jstr(aqi_std_name(res->std))) ||
	    json_object_set_new(o, "report",
		json_string(report == AQI_DAILY ? "daily" : "hourly")) ||
	    json_object_set_new(o, "value", jint(res->aqi >= 0, res->aqi)) ||
	    json_object_set_new(o, "level", jint(level > 0, level)) ||
	    json_object_set_new(
		o, "category", jstr(aqi_category(res->std, level))) ||
	    json_object_set_new(
		o, "category_en", jstr(aqi_category_en(res->std, level))) ||
	    json_object_set_new(o, "color", jstr(aqi_color(res->std, level))) ||
	    json_object_set_new(
		o, "primary", jinds(res->aqi >= 0 ? res->primary : 0)) ||
	    (iaqi = child(o, "iaqi")) == NULL ||
	    (notes = child_array(o, "notes")) == NULL;
	for (int i = 0; i < IND_AQI_COUNT && !bad; i++)
		if (res->used & IND_BIT(i))
			bad = json_object_set_new(iaqi, ind_name((enum ind)i),
				  jint(res->iaqi[i] >= 0, res->iaqi[i])) != 0;
	for (int b = 0; b < AQI_NOTE_COUNT_ && !bad; b++)
		if (res->notes & (UINT32_C(1) << b))
			bad = json_array_append_new(notes,
				  jstr(aqi_note_text(UINT32_C(1) << b))) != 0;
	if (bad) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

static json_t *
values_json(const struct aqi_input *in)
{
	json_t *o = json_object();

	for (size_t k = 0; k < NCONC && o != NULL; k++) {
		enum ind i = conc_inds[k];

		if (json_object_set_new(o, ind_name(i),
			jfix(in->has & IND_BIT(i), in->v[i])) != 0) {
			json_decref(o);
			o = NULL;
		}
	}
	return o;
}

static json_t *
hours_json(const uint8_t *n)
{
	json_t *o = json_object();

	for (size_t k = 0; k < NCONC && o != NULL; k++) {
		enum ind i = conc_inds[k];

		if (json_object_set_new(o, ind_name(i), json_integer(n[i])) !=
		    0) {
			json_decref(o);
			o = NULL;
		}
	}
	return o;
}

static json_t *
day_json(struct req *r, const struct cell_view *v)
{
	char date[16];
	json_t *o;

	/* A day without any valid statistic has nothing to show. */
	if (v->day == 0 || v->day_stats.in.has == 0)
		return json_null();
	snprintf(date, sizeof(date), "%04d-%02d-%02d", (int)(v->day / 10000),
	    (int)(v->day / 100 % 100), (int)(v->day % 100));
	if ((o = json_object()) == NULL)
		return NULL;
	if (json_object_set_new(o, "date", json_string(date)) ||
	    json_object_set_new(
		o, "aqi", aqi_json(r, &v->day_aqi, AQI_DAILY)) ||
	    json_object_set_new(
		o, "concentrations", values_json(&v->day_stats.in)) ||
	    json_object_set_new(o, "valid_hours", hours_json(v->day_stats.n)) ||
	    json_object_set_new(o, "exceeds", jinds(v->day_exceeds))) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

/* The newest values of a sensor: as sent (raw) or calibrated. */
static json_t *
sensor_values_json(const double *v, uint32_t has)
{
	json_t *o = json_object();

	for (int p = 0; p < POL_COUNT && o != NULL; p++) {
		if (!(has & (1u << p)))
			continue;
		if (json_object_set_new(
			o, pol_name((enum pol)p), json_real(v[p])) != 0) {
			json_decref(o);
			o = NULL;
		}
	}
	return o;
}

/* The faults a sensor is flagged for now, and their pollutants:
 * {"kinds": ["stuck"], "pollutants": ["pm25"]}. */
static json_t *
sensor_faults_json(struct req *r, uint32_t sensor)
{
	const struct fault *fd = state_faults(r->st);
	uint32_t fl = fault_flags(fd, sensor),
		 pols = fault_pollutants(fd, sensor);
	json_t *o = json_object(), *k = json_array(), *p = json_array();

	if (o == NULL || k == NULL || p == NULL ||
	    json_object_set(o, "kinds", k) ||
	    json_object_set(o, "pollutants", p))
		goto fail;
	for (int i = 0; i < FAULT_KIND_COUNT; i++)
		if ((fl & FAULT_BIT(i)) &&
		    json_array_append_new(
			k, json_string(fault_kind_name((enum fault_kind)i))))
			goto fail;
	for (int i = 0; i < POL_COUNT; i++)
		if ((pols & (1u << i)) &&
		    json_array_append_new(
			p, json_string(pol_name((enum pol)i))))
			goto fail;
	json_decref(k);
	json_decref(p);
	return o;
fail:
	json_decref(k);
	json_decref(p);
	json_decref(o);
	return NULL;
}

static json_t *
sensors_json(struct req *r, const struct cell_view *v)
{
	uint32_t n =
	    v->nsensors < STATE_VIEW_SENSORS ? v->nsensors : STATE_VIEW_SENSORS;
	json_t *a = json_array(), *s;

	for (uint32_t k = 0; k < n && a != NULL; k++) {
		uint32_t x = v->sensors[k];
		double raw[POL_COUNT], val[POL_COUNT];
		uint32_t has = state_sensor_values(r->st, x, raw, val);

		if ((s = json_object()) == NULL ||
		    json_array_append_new(a, s) != 0 ||
		    json_object_set_new(
			s, "id", jtext(state_sensor_id(r->st, x))) ||
		    json_object_set_new(
			s, "last", jtime(r, state_sensor_last(r->st, x))) ||
		    json_object_set_new(s, "status",
			json_string(sensor_status_name(
			    state_sensor_status(r->st, x, r->now)))) ||
		    json_object_set_new(
			s, "faults", sensor_faults_json(r, x)) ||
		    json_object_set_new(
			s, "values", sensor_values_json(val, has)) ||
		    json_object_set_new(
			s, "raw", sensor_values_json(raw, has))) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

/*
 * Aggregates an area over the summaries of its cells (sums is indexed by
 * cell; seen[] stamps cells already counted, since an area may list a cell
 * twice).
 */
static int
area_json(struct req *r, uint32_t area, const struct summary *sums,
    uint32_t *seen, bool ids, json_t **out)
{
	const struct conf_area *ar = &r->conf->areas[area];
	enum { NMEAN = sizeof(mean_inds) / sizeof(mean_inds[0]) };
	int64_t sum[NMEAN] = {0};
	uint32_t nmean[NMEAN] = {0}, levels[7] = {0}, status[3] = {0};
	uint32_t ncells = 0;
	const struct summary *worst = NULL;
	json_t *o = NULL, *j, *cell_ids = NULL;
	char key[2] = "0";
	int rc = AQ_ERR_NOMEM;

	if (ids && (cell_ids = json_array()) == NULL)
		goto out;
	for (uint32_t k = 0; k < ar->ncells; k++) {
		uint32_t c = ar->cells[k];
		const struct summary *s = &sums[c];

		if (seen[c] == area + 1)
			continue;
		seen[c] = area + 1;
		ncells++;
		if (ids &&
		    json_array_append_new(cell_ids, json_string(s->id)) != 0)
			goto out;
		levels[s->aqi >= 0 ? s->level : 0]++;
		status[s->status]++;
		if (s->aqi >= 0 &&
		    (worst == NULL || s->aqi > worst->aqi ||
			(s->aqi == worst->aqi && strcmp(s->id, worst->id) < 0)))
			worst = s;
		for (size_t m = 0; m < NMEAN; m++) {
			if (s->has & IND_BIT(mean_inds[m])) {
				sum[m] += s->v[mean_inds[m]];
				nmean[m]++;
			}
		}
	}
	if ((o = json_object()) == NULL ||
	    json_object_set_new(o, "id", jtext(ar->id)) ||
	    json_object_set_new(o, "name", jtext(ar->name)) ||
	    json_object_set_new(o, "name_en", jtext(ar->name_en)) ||
	    json_object_set_new(o, "cells", json_integer(ncells)))
		goto out;
	if (worst == NULL) {
		if (json_object_set_new(o, "worst", json_null()))
			goto out;
	} else if ((j = child(o, "worst")) == NULL ||
	    json_object_set_new(j, "cell", json_string(worst->id)) ||
	    json_object_set_new(j, "aqi", json_integer(worst->aqi)) ||
	    json_object_set_new(j, "level", json_integer(worst->level)) ||
	    json_object_set_new(
		j, "color", jstr(aqi_color(worst->std, worst->level)))) {
		goto out;
	}
	if ((j = child(o, "mean")) == NULL)
		goto out;
	for (size_t m = 0; m < NMEAN; m++) {
		int64_t mean = 0;

		/* Kept to 0.001 unit, like the cell-hour values averaged. */
		if (nmean[m] > 0 &&
		    fix_muldiv_round(sum[m], 1, nmean[m], &mean) == AQ_OK)
			mean = fix_round_half_even(mean, fix_step(3));
		if (json_object_set_new(
			j, ind_name(mean_inds[m]), jfix(nmean[m] > 0, mean)))
			goto out;
	}
	if ((j = child(o, "levels")) == NULL)
		goto out;
	for (int l = 1; l <= 6; l++) {
		key[0] = (char)('0' + l);
		if (json_object_set_new(j, key, json_integer(levels[l])))
			goto out;
	}
	if (json_object_set_new(j, "unknown", json_integer(levels[0])) ||
	    (j = child(o, "status")) == NULL)
		goto out;
	for (int s = 0; s < 3; s++)
		if (json_object_set_new(
			j, cell_status_names[s], json_integer(status[s])))
			goto out;
	if (ids) {
		/* Stolen even when it fails. */
		j = cell_ids;
		cell_ids = NULL;
		if (json_object_set_new(o, "cell_ids", j) != 0)
			goto out;
	}
	*out = o;
	o = NULL;
	rc = AQ_OK;
out:
	json_decref(cell_ids);
	json_decref(o);
	return rc;
}

/* ---- Handlers ---- */

static int
h_healthz(struct req *r)
{
	r->code = MHD_HTTP_OK;
	return (r->json = json_object()) == NULL ||
		json_object_set_new(r->json, "status", json_string("ok"))
	    ? AQ_ERR_NOMEM
	    : AQ_OK;
}

/* Ready: connected to the broker.  Degraded (still 200: live data flows,
 * the history does not): the store cannot write. */
static int
h_readyz(struct req *r)
{
	bool up = atomic_load_explicit(&state_counters(r->st)->mqtt_connected,
		      memory_order_relaxed) != 0;
	struct store *s = state_store(r->st);
	struct store_stats ss = {.degraded = false};
	json_t *why;

	if (s != NULL)
		store_stats(s, &ss);
	r->code = up ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
	if ((r->json = json_object()) == NULL ||
	    json_object_set_new(r->json, "ready", json_boolean(up)) ||
	    json_object_set_new(r->json, "status",
		json_string(!up       ? "not ready"
			: ss.degraded ? "degraded"
				      : "ok")) ||
	    json_object_set_new(r->json, "reasons", why = json_array()) ||
	    why == NULL)
		return AQ_ERR_NOMEM;
	if (!up && json_array_append_new(why, json_string("mqtt disconnected")))
		return AQ_ERR_NOMEM;
	if (ss.degraded &&
	    json_array_append_new(
		why, json_sprintf("store cannot write: %s", ss.error)))
		return AQ_ERR_NOMEM;
	/* The old single reason, kept for clients that read it. */
	if (!up &&
	    json_object_set_new(
		r->json, "reason", json_string("mqtt disconnected")))
		return AQ_ERR_NOMEM;
	return AQ_OK;
}

static int
h_status(struct req *r)
{
	struct counters *c = state_counters(r->st);
	const struct conf *conf = r->conf;
	int nd = state_ndecoders(r->st);
	int64_t started = state_started(r->st);
	uint64_t acc = 0, rej = 0;
	json_t *o, *j, *by, *d;
	int rc = AQ_ERR_NOMEM;

	r->code = MHD_HTTP_OK;
	for (int k = 0; k < nd; k++) {
		acc += atomic_load_explicit(
		    &c->readings[k][1], memory_order_relaxed);
		rej += atomic_load_explicit(
		    &c->readings[k][0], memory_order_relaxed);
	}
	if ((o = r->json = json_object()) == NULL ||
	    json_object_set_new(o, "version", json_string(AQ_VERSION)) ||
	    json_object_set_new(
		o, "uptime", json_integer(state_uptime(r->st))) ||
	    json_object_set_new(o, "started", jtime(r, started)) ||
	    (j = child(o, "mqtt")) == NULL ||
	    json_object_set_new(j, "connected",
		json_boolean(atomic_load_explicit(
		    &c->mqtt_connected, memory_order_relaxed))) ||
	    json_object_set_new(j, "connects",
		json_integer((json_int_t)atomic_load_explicit(
		    &c->mqtt_connects, memory_order_relaxed))) ||
	    json_object_set_new(j, "reconnects",
		json_integer((json_int_t)atomic_load_explicit(
		    &c->mqtt_reconnects, memory_order_relaxed))) ||
	    (j = child(o, "readings")) == NULL ||
	    json_object_set_new(j, "accepted", json_integer((json_int_t)acc)) ||
	    json_object_set_new(j, "rejected", json_integer((json_int_t)rej)) ||
	    (by = child(j, "by_decoder")) == NULL)
		goto out;
	for (int k = 0; k < nd; k++) {
		if ((d = child(by, state_decoder_name(r->st, k))) == NULL ||
		    json_object_set_new(d, "messages_accepted",
			json_integer((json_int_t)atomic_load_explicit(
			    &c->messages[k][1], memory_order_relaxed))) ||
		    json_object_set_new(d, "messages_rejected",
			json_integer((json_int_t)atomic_load_explicit(
			    &c->messages[k][0], memory_order_relaxed))) ||
		    json_object_set_new(d, "readings_accepted",
			json_integer((json_int_t)atomic_load_explicit(
			    &c->readings[k][1], memory_order_relaxed))) ||
		    json_object_set_new(d, "readings_rejected",
			json_integer((json_int_t)atomic_load_explicit(
			    &c->readings[k][0], memory_order_relaxed))))
			goto out;
	}
	if ((j = child(o, "rejected")) == NULL)
		goto out;
	for (int k = 0; k < REASON_COUNT; k++)
		if (json_object_set_new(j, reason_name((enum reason)k),
			json_integer((json_int_t)atomic_load_explicit(
			    &c->rejected[k], memory_order_relaxed))))
			goto out;
	if (json_object_set_new(
		o, "cells", json_integer(state_ncells(r->st))) ||
	    json_object_set_new(
		o, "sensors", json_integer(state_nsensors(r->st))) ||
	    (j = child(o, "standard")) == NULL ||
	    json_object_set_new(
		j, "aqi", jstr(aqi_std_name((enum aqi_std)conf->aqi_std))) ||
	    json_object_set_new(
		j, "limits", jstr(limits_ed_name(conf->limits.ed))) ||
	    json_object_set_new(j, "grade", json_integer(conf->limits.grade)) ||
	    json_object_set_new(j, "timezone", jtext(conf->timezone)) ||
	    (j = child(o, "queue")) == NULL ||
	    json_object_set_new(j, "depth",
		json_integer(atomic_load_explicit(
		    &c->queue_depth, memory_order_relaxed))) ||
	    json_object_set_new(j, "capacity",
		json_integer(atomic_load_explicit(
		    &c->queue_capacity, memory_order_relaxed))))
		goto out;
	rc = status_hj212(c, o);
out:
	return rc;
}

/* The "hj212" object of the status, there even when nothing listens. */
static int
status_hj212(struct counters *c, json_t *o)
{
	json_t *h, *j;
	int rc = AQ_ERR_NOMEM;

	if ((h = child(o, "hj212")) == NULL ||
	    json_object_set_new(h, "listening",
		json_boolean(atomic_load_explicit(
		    &c->hj212_listening, memory_order_relaxed))) ||
	    json_object_set_new(h, "connections",
		json_integer((json_int_t)atomic_load_explicit(
		    &c->hj212_connections, memory_order_relaxed))) ||
	    json_object_set_new(h, "accepted",
		json_integer((json_int_t)atomic_load_explicit(
		    &c->hj212_accepted, memory_order_relaxed))) ||
	    json_object_set_new(h, "refused",
		json_integer((json_int_t)atomic_load_explicit(
		    &c->hj212_refused, memory_order_relaxed))) ||
	    (j = child(h, "disconnects")) == NULL)
		goto out;
	for (int k = 0; k < STATE_HJ212_DISC_COUNT; k++)
		if (json_object_set_new(j,
			state_hj212_disc_name((enum state_hj212_disc)k),
			json_integer((json_int_t)atomic_load_explicit(
			    &c->hj212_disconnects[k], memory_order_relaxed))))
			goto out;
	if ((j = child(h, "frames")) == NULL)
		goto out;
	for (int k = 0; k < STATE_HJ212_FRAME_COUNT; k++)
		if (json_object_set_new(j,
			state_hj212_frame_name((enum state_hj212_frame)k),
			json_integer((json_int_t)atomic_load_explicit(
			    &c->hj212_frames[k], memory_order_relaxed))))
			goto out;
	if (json_object_set_new(h, "garbage_bytes",
		json_integer((json_int_t)atomic_load_explicit(
		    &c->hj212_garbage_bytes, memory_order_relaxed))) ||
	    json_object_set_new(h, "acks",
		json_integer((json_int_t)atomic_load_explicit(
		    &c->hj212_acks, memory_order_relaxed))) ||
	    (j = child(h, "flagged")) == NULL)
		goto out;
	for (int k = 0; k < 26; k++) {
		uint64_t n = atomic_load_explicit(
		    &c->hj212_flagged[k], memory_order_relaxed);
		char letter[2] = {(char)('A' + k), '\0'};

		if (n != 0 &&
		    json_object_set_new(j, letter, json_integer((json_int_t)n)))
			goto out;
	}
	rc = AQ_OK;
out:
	return rc;
}

static int
h_cells(struct req *r)
{
	const struct conf *conf = r->conf;
	const char *area = arg(r, "area"), *min = arg(r, "min_aqi");
	const char *sort = arg(r, "sort"), *limit = arg(r, "limit");
	const char *cursor = arg(r, "cursor");
	long long min_aqi = -1, lim = API_LIMIT_DEFAULT, off = 0;
	uint32_t ncells = state_ncells(r->st), ncand, n = 0, end;
	struct summary *sums = NULL;
	uint8_t *seen = NULL;
	struct buf b = {NULL, 0, 0, false};
	char next[24];
	int ai = -1, rc = AQ_ERR_NOMEM;

	if (min != NULL &&
	    parse_count(min, API_MIN_AQI_MAX, &min_aqi) != AQ_OK) {
		rc = fail(r, MHD_HTTP_BAD_REQUEST,
		    "min_aqi: expected an integer from 0 to %d",
		    API_MIN_AQI_MAX);
		goto out;
	}
	if (limit != NULL &&
	    (parse_count(limit, API_LIMIT_MAX, &lim) != AQ_OK || lim == 0)) {
		rc = fail(r, MHD_HTTP_BAD_REQUEST,
		    "limit: expected an integer from 1 to %d", API_LIMIT_MAX);
		goto out;
	}
	if (sort != NULL && strcmp(sort, "aqi") != 0 &&
	    strcmp(sort, "id") != 0) {
		rc = fail(
		    r, MHD_HTTP_BAD_REQUEST, "sort: expected 'aqi' or 'id'");
		goto out;
	}
	if (cursor != NULL && parse_count(cursor, UINT32_MAX, &off) != AQ_OK) {
		rc = fail(r, MHD_HTTP_BAD_REQUEST,
		    "cursor: not a cursor from meta.next");
		goto out;
	}
	if (area != NULL && (ai = find_area(conf, area)) < 0) {
		rc = fail(r, MHD_HTTP_NOT_FOUND, "area: no such area");
		goto out;
	}
	ncand = ai >= 0 ? conf->areas[ai].ncells : ncells;
	if ((ai >= 0 && (seen = calloc(ncells, 1)) == NULL) ||
	    (sums = calloc(ncand > 0 ? ncand : 1, sizeof(*sums))) == NULL)
		goto out;
	for (uint32_t k = 0; k < ncand; k++) {
		uint32_t c = ai >= 0 ? conf->areas[ai].cells[k] : k;

		if (seen != NULL) {
			if (seen[c])
				continue;
			seen[c] = 1;
		}
		if (summarize(r, c, &sums[n]) != AQ_OK ||
		    (min_aqi >= 0 && sums[n].aqi < min_aqi))
			continue;
		n++;
	}
	qsort(sums, n, sizeof(*sums),
	    sort != NULL && strcmp(sort, "aqi") == 0 ? by_aqi : by_id);
	end = off + lim < n ? (uint32_t)(off + lim) : n;
	snprintf(next, sizeof(next), "%u", end);
	put_text(&b, "{\"meta\":{\"count\":");
	put_int(&b, true, n);
	put_text(&b, ",\"next\":");
	put_str(&b, end < n ? next : NULL);
	put_text(&b, "},\"results\":[");
	for (uint32_t k = (uint32_t)off; k < end; k++) {
		if (k > off)
			put_text(&b, ",");
		summary_write(r, &sums[k], &b);
	}
	put_text(&b, "]}");
	if (b.bad)
		goto out;
	r->code = MHD_HTTP_OK;
	r->body = b.p;
	r->len = b.len;
	b.p = NULL;
	rc = AQ_OK;
out:
	free(b.p);
	free(sums);
	free(seen);
	return rc;
}

static int
h_cell(struct req *r)
{
	const struct conf *conf = r->conf;
	int64_t c = conf_cell_find(conf, r->param);
	const struct conf_cell *cc;
	const struct conf_area *ar;
	struct cell_view v;
	json_t *o, *u;
	int rc = AQ_ERR_NOMEM;

	if (c < 0 || c >= state_ncells(r->st) ||
	    state_view(r->st, (uint32_t)c, &v) != AQ_OK) {
		rc = fail(r, MHD_HTTP_NOT_FOUND, "no such cell");
		goto out;
	}
	cc = &conf->cells[c];
	ar = cc->area >= 0 && (uint32_t)cc->area < conf->nareas
	    ? &conf->areas[cc->area]
	    : NULL;
	r->code = MHD_HTTP_OK;
	if ((o = r->json = json_object()) == NULL ||
	    json_object_set_new(o, "id", jtext(cc->id)) ||
	    json_object_set_new(o, "area", ar ? jtext(ar->id) : json_null()) ||
	    json_object_set_new(
		o, "area_name", ar ? jtext(ar->name) : json_null()) ||
	    json_object_set_new(o, "lat", json_real(cc->lat)) ||
	    json_object_set_new(o, "lon", json_real(cc->lon)) ||
	    json_object_set_new(o, "row", jint(cc->row >= 0, cc->row)) ||
	    json_object_set_new(o, "col", jint(cc->col >= 0, cc->col)) ||
	    json_object_set_new(o, "hour",
		jtime(r, v.hour != WIN_NO_HOUR ? v.hour_end : WIN_NO_HOUR)) ||
	    json_object_set_new(o, "newest", jtime(r, v.newest)) ||
	    json_object_set_new(o, "status",
		json_string(cell_status_names[view_status(r, &v)])) ||
	    json_object_set_new(o, "aqi", aqi_json(r, &v.aqi, AQI_HOURLY)) ||
	    json_object_set_new(
		o, "concentrations", values_json(&v.stats.in)) ||
	    (u = child(o, "units")) == NULL)
		goto out;
	for (size_t k = 0; k < NCONC; k++)
		if (json_object_set_new(u, ind_name(conc_inds[k]),
			json_string(
			    unit_name(pol_unit(ind_pol(conc_inds[k]))))))
			goto out;
	if (json_object_set_new(o, "valid_hours", hours_json(v.stats.n)) ||
	    json_object_set_new(o, "exceeds", jinds(v.exceeds)) ||
	    json_object_set_new(o, "day", day_json(r, &v)) ||
	    json_object_set_new(o, "sensors", sensors_json(r, &v)) ||
	    json_object_set_new(o, "sensors_total", json_integer(v.nsensors)) ||
	    json_object_set_new(o, "limits", limits_json(r, &v)))
		goto out;
	rc = AQ_OK;
out:
	return rc;
}

/*
 * The GB 3095 limits in force on the date of the cell's hour (today
 * without one), by indicator, for the dashboard's chart; indicators
 * without a limit are left out.
 */
static json_t *
limits_json(struct req *r, const struct cell_view *v)
{
	json_t *o = json_object();
	int32_t date = v->hour != WIN_NO_HOUR ? tz_hour_day(r->tz, v->hour)
					      : tz_date(r->tz, r->now);
	int64_t lim;

	for (size_t k = 0; o != NULL && k < NCONC; k++)
		if (limits_get(&r->conf->limits, date, conc_inds[k], &lim) &&
		    json_object_set_new(
			o, ind_name(conc_inds[k]), jfix(true, lim))) {
			json_decref(o);
			o = NULL;
		}
	return o;
}

static int
h_hotspots(struct req *r)
{
	uint32_t ncells = state_ncells(r->st), n;
	struct hotspot *l;
	int64_t hour;
	json_t *res, *o;
	int rc = AQ_ERR_NOMEM;

	if ((l = calloc(ncells > 0 ? ncells : 1, sizeof(*l))) == NULL)
		return rc;
	n = hotspots_list(state_hotspots(r->st), l, ncells, &hour);
	if (n > ncells)
		n = ncells;
	r->code = MHD_HTTP_OK;
	if ((r->json = json_object()) == NULL ||
	    json_object_set_new(r->json, "hour",
		hour == HOTSPOT_NO_HOUR ? json_null()
					: jtime(r, tz_hour_end(r->tz, hour))) ||
	    json_object_set_new(r->json, "count", json_integer(n)) ||
	    (res = child_array(r->json, "results")) == NULL)
		goto out;
	for (uint32_t k = 0; k < n; k++) {
		const struct hotspot *h = &l[k];
		bool up = h->source == HOTSPOT_UPWIND;

		if ((o = json_object()) == NULL ||
		    json_array_append_new(res, o) ||
		    json_object_set_new(
			o, "cell", jtext(r->conf->cells[h->cell].id)) ||
		    json_object_set_new(o, "rank", json_integer(k + 1)) ||
		    json_object_set_new(
			o, "hour", jtime(r, tz_hour_end(r->tz, h->hour))) ||
		    json_object_set_new(
			o, "since", jtime(r, tz_hour_end(r->tz, h->since))) ||
		    json_object_set_new(o, "hours", json_integer(h->hours)) ||
		    json_object_set_new(o, "value", json_real(h->value)) ||
		    json_object_set_new(
			o, "background", json_real(h->background)) ||
		    json_object_set_new(o, "excess", json_real(h->excess)) ||
		    json_object_set_new(
			o, "mean_excess", json_real(h->mean_excess)) ||
		    json_object_set_new(
			o, "excess_hours", json_real(h->excess_hours)) ||
		    json_object_set_new(o, "source",
			json_string(up                       ? "upwind"
				: h->source == HOTSPOT_LOCAL ? "local"
							     : "no_wind")) ||
		    json_object_set_new(o, "source_deg",
			up ? json_real(h->source_deg) : json_null()) ||
		    json_object_set_new(o, "source_compass",
			up ? json_string(hotspot_compass(h->source_deg))
			   : json_null()) ||
		    json_object_set_new(o, "wind_speed",
			h->source != HOTSPOT_NO_WIND ? json_real(h->wind_speed)
						     : json_null()))
			goto out;
	}
	rc = AQ_OK;
out:
	free(l);
	return rc;
}

static int
h_areas(struct req *r)
{
	const struct conf *conf = r->conf;
	uint32_t ncells = state_ncells(r->st);
	struct summary *sums = NULL;
	uint32_t *seen = NULL;
	json_t *meta, *res, *a = NULL;
	int rc = AQ_ERR_NOMEM;

	if ((sums = calloc(ncells > 0 ? ncells : 1, sizeof(*sums))) == NULL ||
	    (seen = calloc(ncells > 0 ? ncells : 1, sizeof(*seen))) == NULL)
		goto out;
	for (uint32_t c = 0; c < ncells; c++)
		if ((rc = summarize(r, c, &sums[c])) != AQ_OK)
			goto out;
	rc = AQ_ERR_NOMEM;
	r->code = MHD_HTTP_OK;
	if ((r->json = json_object()) == NULL ||
	    (meta = child(r->json, "meta")) == NULL ||
	    json_object_set_new(meta, "count", json_integer(conf->nareas)) ||
	    (res = child_array(r->json, "results")) == NULL)
		goto out;
	for (uint32_t k = 0; k < conf->nareas; k++)
		if (area_json(r, k, sums, seen, false, &a) != AQ_OK ||
		    json_array_append_new(res, a) != 0)
			goto out;
	rc = AQ_OK;
out:
	free(seen);
	free(sums);
	return rc;
}

static int
h_area(struct req *r)
{
	const struct conf *conf = r->conf;
	uint32_t ncells = state_ncells(r->st);
	struct summary *sums = NULL;
	uint32_t *seen = NULL;
	int ai = find_area(conf, r->param), rc = AQ_ERR_NOMEM;

	if (ai < 0) {
		rc = fail(r, MHD_HTTP_NOT_FOUND, "no such area");
		goto out;
	}
	if ((sums = calloc(ncells > 0 ? ncells : 1, sizeof(*sums))) == NULL ||
	    (seen = calloc(ncells > 0 ? ncells : 1, sizeof(*seen))) == NULL)
		goto out;
	/* Only the area's cells are summarised; the rest stay zero. */
	for (uint32_t k = 0; k < conf->areas[ai].ncells; k++) {
		uint32_t c = conf->areas[ai].cells[k];

		if ((rc = summarize(r, c, &sums[c])) != AQ_OK)
			goto out;
	}
	r->code = MHD_HTTP_OK;
	rc = area_json(r, (uint32_t)ai, sums, seen, true, &r->json);
out:
	free(seen);
	free(sums);
	return rc;
}

/* ---- History ---- */

/*
 * The from, to, indicators, format, limit and cursor of a history route,
 * checked.  Hourly routes: from and to bound the hours' ends (Unix s),
 * after is the last hour of the page before (INT64_MIN at first).  Daily:
 * the same with dates yyyymmdd.  Returns false with the reason in why.
 */
static bool
hist_query(struct req *r, bool daily, uint32_t dflt, struct hist_q *q,
    char *why, size_t len)
{
	const char *from = arg(r, "from"), *to = arg(r, "to");
	const char *inds = arg(r, "indicators"), *format = arg(r, "format");
	const char *limit = arg(r, "limit"), *cursor = arg(r, "cursor");
	const char *accept = MHD_lookup_connection_value(
	    r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
	long long v = 0;

	*q = (struct hist_q){
	    .after = INT64_MIN, .limit = API_HIST_LIMIT_DEFAULT, .inds = dflt};
	if (format != NULL && strcmp(format, "csv") != 0 &&
	    strcmp(format, "json") != 0) {
		snprintf(why, len, "format: expected 'json' or 'csv'");
		return false;
	}
	q->csv = format != NULL
	    ? strcmp(format, "csv") == 0
	    : accept != NULL && strstr(accept, "text/csv") != NULL;
	if (from != NULL && when(r, from, daily, false, &q->from) != AQ_OK) {
		snprintf(why, len, "from: %s",
		    daily ? HIST_DATE_DOC : HIST_TIME_DOC);
		return false;
	}
	if (to != NULL && when(r, to, daily, true, &q->to) != AQ_OK) {
		snprintf(
		    why, len, "to: %s", daily ? HIST_DATE_DOC : HIST_TIME_DOC);
		return false;
	}
	if (to == NULL)
		q->to = daily ? tz_date(r->tz, r->now) : r->now;
	if (from == NULL && daily)
		q->from = tz_date_from_days(tz_days_from_date((int32_t)q->to) -
		    (API_HIST_DAYS_DEFAULT - 1));
	else if (from == NULL)
		q->from = q->to - API_HIST_HOURS_DEFAULT * 3600 + 1;
	if (q->from > q->to) {
		snprintf(why, len, "from: after to");
		return false;
	}
	if (inds != NULL && !hist_inds(inds, &q->inds, why, len))
		return false;
	if (limit != NULL &&
	    (parse_count(limit, API_HIST_LIMIT_MAX, &v) != AQ_OK || v == 0)) {
		snprintf(why, len, "limit: expected an integer from 1 to %d",
		    API_HIST_LIMIT_MAX);
		return false;
	}
	if (limit != NULL)
		q->limit = (uint32_t)v;
	if (cursor != NULL &&
	    parse_count(cursor, daily ? HIST_DATE_MAX : HIST_TIME_MAX, &v) !=
		AQ_OK) {
		snprintf(why, len, "cursor: not a next_cursor of this route");
		return false;
	}
	if (cursor != NULL)
		q->after = v;
	return true;
}

/*
 * A from or to: Unix seconds, ISO 8601 with an offset or Z, ISO 8601
 * without one (local time in the zone), or YYYY-MM-DD: the day's first
 * hour (from) or its last (to).  Daily routes take the local date of any
 * of these.
 */
static int
when(struct req *r, const char *s, bool daily, bool end, int64_t *out)
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

/* indicators=a,b,...: names of stored indicators; every unknown one is
 * named in why. */
static bool
hist_inds(const char *s, uint32_t *out, char *why, size_t len)
{
	uint32_t bits = 0;
	size_t w = 0;
	char name[32];

	why[0] = '\0';
	while (*s != '\0') {
		size_t n = strcspn(s, ",");
		int i = -1;

		if (n > 0 && n < sizeof(name)) {
			memcpy(name, s, n);
			name[n] = '\0';
			i = ind_from_name(name);
		}
		if (i >= 0 && i < IND_AQI_COUNT)
			bits |= IND_BIT(i);
		else if (n > 0 && w < len)
			w += (size_t)snprintf(why + w, len - w, "%s'%.*s'",
			    w == 0 ? "indicators: unknown " : ", ",
			    (int)(n < sizeof(name) ? n : sizeof(name)), s);
		s += n + (s[n] == ',');
	}
	if (w == 0 && bits == 0)
		snprintf(why, len, "indicators: none given");
	if (why[0] != '\0')
		return false;
	*out = bits;
	return true;
}

/* "key": */
static void
put_key(struct buf *b, const char *key)
{
	put_str(b, key);
	put(b, ":", 1);
}

/* ["a","b"] of the indicators in bits. */
static void
put_inds(struct buf *b, uint32_t bits)
{
	bool first = true;

	put(b, "[", 1);
	for (int i = 0; i < IND_COUNT; i++) {
		if ((bits & IND_BIT(i)) == 0)
			continue;
		if (!first)
			put(b, ",", 1);
		put_str(b, ind_name((enum ind)i));
		first = false;
	}
	put(b, "]", 1);
}

/* A CSV field: quoted when it holds a comma, a quote or a line break. */
static void
put_csv(struct buf *b, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		put_text(b, s);
		return;
	}
	put(b, "\"", 1);
	for (; *s != '\0'; s++) {
		if (*s == '"')
			put(b, "\"", 1);
		put(b, s, 1);
	}
	put(b, "\"", 1);
}

/* Indicator names joined by ';' (one CSV field, never quoted). */
static void
put_csv_inds(struct buf *b, uint32_t bits)
{
	bool first = true;

	for (int i = 0; i < IND_COUNT; i++) {
		if ((bits & IND_BIT(i)) == 0)
			continue;
		if (!first)
			put(b, ";", 1);
		put_text(b, ind_name((enum ind)i));
		first = false;
	}
}

/* A fix value, or for CSV nothing / for JSON null when absent. */
static void
put_fix(struct buf *b, bool csv, bool has, int64_t v)
{
	if (has)
		put_real(b, fix_to_double(v));
	else if (!csv)
		put_text(b, "null");
}

/* The head shared by the three routes' JSON: from, to, indicators, units,
 * count and next_cursor, then the results array opens. */
static void
hist_head(struct req *r, const struct hist_q *q, bool daily, uint32_t n,
    const char *next, struct buf *b)
{
	char t[TZ_ISO_MAX];
	bool first = true;

	put_text(b, ",\"from\":");
	put_str(b,
	    daily ? date_text((int32_t)q->from, t, sizeof(t))
		  : iso(r, q->from, t, sizeof(t)));
	put_text(b, ",\"to\":");
	put_str(b,
	    daily ? date_text((int32_t)q->to, t, sizeof(t))
		  : iso(r, q->to, t, sizeof(t)));
	put_text(b, ",\"indicators\":");
	put_inds(b, q->inds);
	put_text(b, ",\"units\":{");
	for (int i = 0; i < IND_AQI_COUNT; i++) {
		if ((q->inds & IND_BIT(i)) == 0)
			continue;
		if (!first)
			put(b, ",", 1);
		put_key(b, ind_name((enum ind)i));
		put_str(b, unit_name(pol_unit(ind_pol((enum ind)i))));
		first = false;
	}
	put_text(b, "},\"count\":");
	put_int(b, true, n);
	put_text(b, ",\"next_cursor\":");
	put_str(b, next[0] != '\0' ? next : NULL);
	put_text(b, ",\"results\":[");
}

/* The CSV head line of a cell's rows: the label, then each indicator's
 * value and count. */
static void
hist_csv_head(const char *label, uint32_t inds, struct buf *b)
{
	put_text(b, label);
	put_text(b, ",aqi,level,primary,exceeds");
	for (int i = 0; i < IND_AQI_COUNT; i++) {
		if ((inds & IND_BIT(i)) == 0)
			continue;
		put_text(b, ",");
		put_text(b, ind_name((enum ind)i));
		put_text(b, ",n_");
		put_text(b, ind_name((enum ind)i));
	}
	put_text(b, "\r\n");
}

/* One hourly or daily row of a cell, label its hour or date. */
static void
hist_row(const struct hist_q *q, const char *key, const char *label,
    const struct hist_row *h, struct buf *b)
{
	bool first = true, na = h->aqi < 0;

	if (q->csv) {
		put_text(b, label);
		put(b, ",", 1);
		if (!na)
			put_int(b, true, h->aqi);
		put(b, ",", 1);
		if (!na)
			put_int(b, true, h->level);
		put(b, ",", 1);
		put_csv_inds(b, na ? 0 : h->primary);
		put(b, ",", 1);
		put_csv_inds(b, h->exceeds);
		for (int i = 0; i < IND_AQI_COUNT; i++) {
			if ((q->inds & IND_BIT(i)) == 0)
				continue;
			put(b, ",", 1);
			put_fix(b, true, h->has & IND_BIT(i), h->v[i]);
			put(b, ",", 1);
			put_int(b, true, h->n[i]);
		}
		put_text(b, "\r\n");
		return;
	}
	put(b, "{", 1);
	put_key(b, key);
	put_str(b, label);
	put_text(b, ",\"aqi\":");
	put_int(b, !na, h->aqi);
	put_text(b, ",\"level\":");
	put_int(b, !na, h->level);
	put_text(b, ",\"primary\":");
	put_inds(b, na ? 0 : h->primary);
	put_text(b, ",\"exceeds\":");
	put_inds(b, h->exceeds);
	put_text(b, ",\"concentrations\":{");
	for (int i = 0; i < IND_AQI_COUNT; i++) {
		if ((q->inds & IND_BIT(i)) == 0)
			continue;
		if (!first)
			put(b, ",", 1);
		put_key(b, ind_name((enum ind)i));
		put_fix(b, false, h->has & IND_BIT(i), h->v[i]);
		first = false;
	}
	put_text(b, "},\"valid_hours\":{");
	first = true;
	for (int i = 0; i < IND_AQI_COUNT; i++) {
		if ((q->inds & IND_BIT(i)) == 0)
			continue;
		if (!first)
			put(b, ",", 1);
		put_key(b, ind_name((enum ind)i));
		put_int(b, true, h->n[i]);
		first = false;
	}
	put_text(b, "}}");
}

/* "2026-11-29" from yyyymmdd. */
static char *
date_text(int32_t d, char *buf, size_t len)
{
	snprintf(buf, len, "%04d-%02d-%02d", (int)(d / 10000),
	    (int)(d / 100 % 100), (int)(d % 100));
	return buf;
}

/* Hands the finished page to send_answer(): JSON or CSV, with its next
 * cursor in X-Next-Cursor as well. */
static int
hist_done(
    struct req *r, const struct hist_q *q, const char *next, struct buf *b)
{
	if (b->bad)
		return AQ_ERR_NOMEM;
	r->code = MHD_HTTP_OK;
	r->body = b->p;
	r->len = b->len;
	r->ctype = q->csv ? API_CSV_TYPE : "application/json";
	snprintf(r->next, sizeof(r->next), "%s", next);
	b->p = NULL;
	return AQ_OK;
}

static json_t *
jfc(double v)
{
	return isnan(v) ? json_null() : json_real(round(v * 10) / 10);
}

static json_t *
fc_value(const struct fcgrid_forecast *f, int p, int k)
{
	json_t *o;

	if (!f->has[p])
		return json_null();
	if ((o = json_object()) == NULL ||
	    json_object_set_new(o, "value", jfc(f->h[p][k].mid)) ||
	    json_object_set_new(o, "lo", jfc(f->h[p][k].lo)) ||
	    json_object_set_new(o, "hi", jfc(f->h[p][k].hi))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* GET /api/v1/cells/{id}/forecast */
static int
h_cell_forecast(struct req *r)
{
	int64_t c = conf_cell_find(r->conf, r->param);
	const struct fcgrid *g = state_forecasts(r->st);
	struct fcgrid_forecast *f = NULL;
	json_t *o, *hours, *days;
	bool ready;
	int rc = AQ_ERR_NOMEM;

	if (c < 0 || c >= state_ncells(r->st)) {
		rc = fail(r, MHD_HTTP_NOT_FOUND, "no such cell");
		goto out;
	}
	if ((f = malloc(sizeof(*f))) == NULL)
		goto out;
	ready = g != NULL && fcgrid_get(g, (uint32_t)c, f) == AQ_OK;
	r->code = MHD_HTTP_OK;
	if ((o = r->json = json_object()) == NULL ||
	    json_object_set_new(o, "cell", jtext(r->conf->cells[c].id)) ||
	    json_object_set_new(o, "ready", json_boolean(ready)) ||
	    json_object_set_new(o, "origin",
		jtime(
		    r, ready ? tz_hour_end(r->tz, f->origin) : WIN_NO_HOUR)) ||
	    json_object_set_new(o, "horizon", json_integer(FC_H)) ||
	    json_object_set_new(o, "interval", json_real(0.8)) ||
	    (hours = child_array(o, "hours")) == NULL ||
	    (days = child_array(o, "days")) == NULL)
		goto out;
	for (int k = 0; ready && k < FC_H; k++) {
		json_t *h = json_object();

		if (h == NULL || json_array_append_new(hours, h) ||
		    json_object_set_new(h, "time",
			jtime(r, tz_hour_end(r->tz, f->origin + 1 + k))) ||
		    json_object_set_new(h, "pm25", fc_value(f, FC_PM25, k)) ||
		    json_object_set_new(h, "o3", fc_value(f, FC_O3, k)) ||
		    json_object_set_new(h, "pm25_24h", jfc(f->pm25_24h[k])) ||
		    json_object_set_new(h, "o3_8h", jfc(f->o3_8h[k])))
			goto out;
	}
	for (int k = 0; ready && k < f->ndays; k++) {
		const struct fcgrid_day *d = &f->day[k];
		json_t *j = json_object();
		char date[16];

		snprintf(date, sizeof(date), "%04d-%02d-%02d",
		    (int)(d->date / 10000), (int)(d->date / 100 % 100),
		    (int)(d->date % 100));
		if (j == NULL || json_array_append_new(days, j) ||
		    json_object_set_new(j, "date", json_string(date)) ||
		    json_object_set_new(j, "aqi", jint(d->aqi >= 0, d->aqi)) ||
		    json_object_set_new(j, "level",
			jint(d->aqi >= 0,
			    d->aqi >= 0
				? aqi_level(
				      (enum aqi_std)r->conf->aqi_std, d->aqi)
				: 0)) ||
		    json_object_set_new(j, "pm25_24h", jfc(d->pm25_24h)) ||
		    json_object_set_new(j, "o3_8h", jfc(d->o3_8h)))
			goto out;
	}
	rc = AQ_OK;
out:
	free(f);
	return rc;
}

/*
 * The area's warning: days from today on, from its external forecast when
 * that reaches today, else from the mean over its cells with a forecast
 * of their PM2.5 24-hour means and O3 MDA8 (the city AQI is computed from
 * mean concentrations too).
 */
static int
warning_answer(struct req *r, int ai)
{
	const struct conf_area *ar = &r->conf->areas[ai];
	const struct fcgrid *g = state_forecasts(r->st);
	struct fcgrid_forecast *f = NULL;
	struct fcgrid_ext ext[FCGRID_EXT_DAYS];
	int32_t date[FCGRID_EXT_DAYS], today = tz_date(r->tz, r->now);
	int aqi[FCGRID_EXT_DAYS], nd = 0, ne = 0, ncells = 0;
	double pm[FCGRID_EXT_DAYS] = {0}, o3[FCGRID_EXT_DAYS] = {0};
	int npm[FCGRID_EXT_DAYS] = {0}, no3[FCGRID_EXT_DAYS] = {0};
	int64_t at = 0;
	const char *source = "none";
	enum aqi_std std = (enum aqi_std)r->conf->aqi_std;
	json_t *o, *days;
	int rc = AQ_ERR_NOMEM;

	if (g != NULL)
		fcgrid_get_external(g, (uint32_t)ai, ext, &ne, &at);
	if (ne > 0 && ext[ne - 1].date >= today) {
		source = "external";
		for (int k = 0; k < ne; k++)
			if (ext[k].date >= today) {
				date[nd] = ext[k].date;
				aqi[nd++] = ext[k].aqi;
			}
	} else if (g != NULL) {
		if ((f = malloc(sizeof(*f))) == NULL)
			goto out;
		for (uint32_t k = 0; k < ar->ncells; k++) {
			if (fcgrid_get(g, ar->cells[k], f) != AQ_OK)
				continue;
			ncells++;
			for (int d = 0; d < f->ndays; d++) {
				int x = 0;

				if (f->day[d].date < today)
					continue;
				while (x < nd && date[x] != f->day[d].date)
					x++;
				if (x == nd) {
					if (nd == FCGRID_EXT_DAYS)
						continue;
					date[nd++] = f->day[d].date;
				}
				if (!isnan(f->day[d].pm25_24h)) {
					pm[x] += f->day[d].pm25_24h;
					npm[x]++;
				}
				if (!isnan(f->day[d].o3_8h)) {
					o3[x] += f->day[d].o3_8h;
					no3[x]++;
				}
			}
		}
		for (int x = 0; x < nd; x++)
			aqi[x] = fc_aqi(std, npm[x] ? pm[x] / npm[x] : NAN,
			    no3[x] ? o3[x] / no3[x] : NAN);
		if (nd > 0)
			source = "model";
	}
	r->code = MHD_HTTP_OK;
	if ((o = r->json = json_object()) == NULL ||
	    json_object_set_new(o, "area", jtext(ar->id)) ||
	    json_object_set_new(o, "level",
		json_string(fcgrid_warn_name(fcgrid_warn_level(aqi, nd)))) ||
	    json_object_set_new(o, "source", json_string(source)) ||
	    json_object_set_new(o, "received",
		ne > 0 && strcmp(source, "external") == 0 ? jtime(r, at)
							  : json_null()) ||
	    json_object_set_new(o, "cells", json_integer(ncells)) ||
	    (days = child_array(o, "days")) == NULL)
		goto out;
	for (int x = 0; x < nd; x++) {
		json_t *j = json_object();
		char buf[16];

		snprintf(buf, sizeof(buf), "%04d-%02d-%02d",
		    (int)(date[x] / 10000), (int)(date[x] / 100 % 100),
		    (int)(date[x] % 100));
		if (j == NULL || json_array_append_new(days, j) ||
		    json_object_set_new(j, "date", json_string(buf)) ||
		    json_object_set_new(j, "aqi", jint(aqi[x] >= 0, aqi[x])))
			goto out;
	}
	rc = AQ_OK;
out:
	free(f);
	return rc;
}

/* GET /api/v1/areas/{id}/warning */
static int
h_area_warning(struct req *r)
{
	int ai = find_area(r->conf, r->param);

	if (ai < 0)
		return fail(r, MHD_HTTP_NOT_FOUND, "no such area");
	return warning_answer(r, ai);
}

/* POST /api/v1/areas/{id}/forecast {"days":[{"date","aqi"}]} */
static int
h_area_forecast(struct req *r)
{
	struct fcgrid *g = state_forecasts(r->st);
	struct fcgrid_ext d[FCGRID_EXT_DAYS];
	int ai = find_area(r->conf, r->param), n = 0, rc;
	json_t *j, *days, *v;
	size_t k;

	if (ai < 0)
		return fail(r, MHD_HTTP_NOT_FOUND, "no such area");
	if (g == NULL)
		return fail(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "forecasts are off ([forecast] cells_max = 0)");
	if ((j = body_json(r, "days")) == NULL)
		return r->json != NULL ? AQ_OK : AQ_ERR_NOMEM;
	days = json_object_get(j, "days");
	if (!json_is_array(days) || json_array_size(days) > FCGRID_EXT_DAYS) {
		json_decref(j);
		return fail(r, MHD_HTTP_BAD_REQUEST,
		    "days: expected an array of at most %d {\"date\", "
		    "\"aqi\"}",
		    FCGRID_EXT_DAYS);
	}
	json_array_foreach(days, k, v)
	{
		json_t *a = json_object_get(v, "aqi");
		const char *ds = json_string_value(json_object_get(v, "date"));

		if (ds == NULL || tz_parse_date(ds, &d[n].date) != AQ_OK ||
		    !json_is_integer(a) || json_object_size(v) != 2) {
			json_decref(j);
			return fail(r, MHD_HTTP_BAD_REQUEST,
			    "days[%zu]: expected {\"date\": \"YYYY-MM-DD\", "
			    "\"aqi\": integer}",
			    k);
		}
		d[n].aqi = (int)json_integer_value(a);
		if (json_integer_value(a) < 0 || json_integer_value(a) > 500)
			d[n].aqi = -1;
		n++;
	}
	json_decref(j);
	if ((rc = fcgrid_set_external(g, (uint32_t)ai, d, n, r->now)) != AQ_OK)
		return fail(r, MHD_HTTP_BAD_REQUEST,
		    "days: AQI 0..500 and dates ascending, without repeats");
	if (state_store(r->st) != NULL &&
	    fcgrid_ext_save(g, (uint32_t)ai, state_store(r->st),
		r->conf->areas[ai].id) != AQ_OK)
		return fail(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "the forecast is in use but could not be stored");
	return warning_answer(r, ai);
}

static int
h_cell_history(struct req *r)
{
	return cell_rows(r, false);
}

static int
h_cell_daily(struct req *r)
{
	return cell_rows(r, true);
}

/*
 * A cell's hourly (or daily) rows from the store, one page: limit + 1
 * are read, the last only to tell whether a next page exists, and the
 * cursor is the last hour (date) shown, so that the next page starts
 * right after it.
 */
static int
cell_rows(struct req *r, bool daily)
{
	int64_t c = conf_cell_find(r->conf, r->param);
	struct store *s = state_store(r->st);
	const char *id;
	struct hist_q q;
	struct store_hour *hours = NULL;
	struct store_day *days = NULL;
	struct hist_row h;
	struct buf b = {NULL, 0, 0, false};
	char why[256], next[24] = "", label[TZ_ISO_MAX];
	uint32_t n = 0;
	int rc = AQ_ERR_NOMEM, got;

	if (c < 0 || c >= state_ncells(r->st)) {
		rc = fail(r, MHD_HTTP_NOT_FOUND, "no such cell");
		goto out;
	}
	id = r->conf->cells[c].id;
	if (!hist_query(
		r, daily, IND_BIT(IND_AQI_COUNT) - 1, &q, why, sizeof(why))) {
		rc = fail(r, MHD_HTTP_BAD_REQUEST, "%s", why);
		goto out;
	}
	if (s == NULL) {
		rc = fail(r, MHD_HTTP_SERVICE_UNAVAILABLE, API_NO_STORE);
		goto out;
	}
	if (daily) {
		if ((days = calloc(q.limit + 1, sizeof(*days))) == NULL)
			goto out;
		got = store_daily(s, id, (int32_t)q.from, (int32_t)q.to,
		    q.after == INT64_MIN ? INT32_MIN : (int32_t)q.after,
		    q.limit + 1, days, &n);
	} else {
		if ((hours = calloc(q.limit + 1, sizeof(*hours))) == NULL)
			goto out;
		got = store_history(
		    s, id, q.from, q.to, q.after, q.limit + 1, hours, &n);
	}
	if (got != AQ_OK) {
		rc = fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "history: cannot read the store: %s", aq_strerror(got));
		goto out;
	}
	if (n > q.limit) {
		n = q.limit;
		snprintf(next, sizeof(next), "%lld",
		    daily ? (long long)days[n - 1].date
			  : (long long)hours[n - 1].hour);
	}
	if (q.csv) {
		hist_csv_head(daily ? "date" : "hour", q.inds, &b);
	} else {
		put_text(&b, "{\"cell\":");
		put_str(&b, id);
		hist_head(r, &q, daily, n, next, &b);
	}
	for (uint32_t k = 0; k < n; k++) {
		if (daily) {
			h = (struct hist_row){days[k].aqi, days[k].level,
			    days[k].primary, days[k].exceeds, days[k].has,
			    days[k].v, days[k].n};
			date_text(days[k].date, label, sizeof(label));
		} else {
			h = (struct hist_row){hours[k].aqi, hours[k].level,
			    hours[k].primary, hours[k].exceeds, hours[k].has,
			    hours[k].v, hours[k].n};
			iso(r, hours[k].hour, label, sizeof(label));
		}
		if (k > 0 && !q.csv)
			put(&b, ",", 1);
		hist_row(&q, daily ? "date" : "hour", label, &h, &b);
	}
	if (!q.csv)
		put_text(&b, "]}");
	rc = hist_done(r, &q, next, &b);
out:
	free(b.p);
	free(days);
	free(hours);
	return rc;
}

static int
by_hour_cell(const void *x, const void *y)
{
	const struct area_row *a = x, *b = y;

	if (a->hour != b->hour)
		return a->hour < b->hour ? -1 : 1;
	return a->cell < b->cell ? -1 : a->cell > b->cell;
}

/*
 * An area's hours, aggregated from its cells' rows as h_area() aggregates
 * their latest hour: the worst AQI (ties to the lower id), the mean of
 * each indicator over the cells with a valid value (to 0.001), cells per
 * level; each with the cells behind it.  A page holds the first L hours
 * any cell has after the cursor, L being limit or fewer when the area is
 * large (at most API_AREA_ROWS rows read in all): reading L + 1 rows of
 * each cell finds every row of those hours, and more hours than L among
 * them means there is a next page.
 */
static int
h_area_history(struct req *r)
{
	const struct conf *conf = r->conf;
	uint32_t ncells = state_ncells(r->st), nuniq = 0, lim, nrows = 0;
	struct store *s = state_store(r->st);
	int ai = find_area(conf, r->param), rc = AQ_ERR_NOMEM, got;
	const struct conf_area *ar;
	struct hist_q q;
	uint32_t *cells = NULL, nhours = 0, n, end = 0;
	uint8_t *seen = NULL;
	struct store_hour *buf = NULL;
	struct area_row *rows = NULL;
	struct buf b = {NULL, 0, 0, false};
	char why[256], next[24] = "";

	if (ai < 0) {
		rc = fail(r, MHD_HTTP_NOT_FOUND, "no such area");
		goto out;
	}
	ar = &conf->areas[ai];
	if (!hist_query(r, false, HIST_AREA_INDS, &q, why, sizeof(why))) {
		rc = fail(r, MHD_HTTP_BAD_REQUEST, "%s", why);
		goto out;
	}
	if (s == NULL) {
		rc = fail(r, MHD_HTTP_SERVICE_UNAVAILABLE, API_NO_STORE);
		goto out;
	}
	/* An area may list a cell twice: count it once. */
	if ((seen = calloc(ncells > 0 ? ncells : 1, 1)) == NULL ||
	    (cells = calloc(ar->ncells > 0 ? ar->ncells : 1, sizeof(*cells))) ==
		NULL)
		goto out;
	for (uint32_t k = 0; k < ar->ncells; k++)
		if (ar->cells[k] < ncells && !seen[ar->cells[k]]) {
			seen[ar->cells[k]] = 1;
			cells[nuniq++] = ar->cells[k];
		}
	lim = q.limit;
	if (nuniq > 0 && lim > API_AREA_ROWS / nuniq)
		lim = API_AREA_ROWS / nuniq > 0 ? API_AREA_ROWS / nuniq : 1;
	if ((buf = calloc(lim + 1, sizeof(*buf))) == NULL ||
	    (rows = calloc((size_t)nuniq * (lim + 1) + 1, sizeof(*rows))) ==
		NULL)
		goto out;
	for (uint32_t k = 0; k < nuniq; k++) {
		got = store_history(s, conf->cells[cells[k]].id, q.from, q.to,
		    q.after, lim + 1, buf, &n);
		if (got != AQ_OK) {
			rc = fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
			    "history: cannot read the store: %s",
			    aq_strerror(got));
			goto out;
		}
		for (uint32_t i = 0; i < n; i++) {
			struct area_row *a = &rows[nrows++];

			a->hour = buf[i].hour;
			a->cell = cells[k];
			a->aqi = buf[i].aqi;
			a->level = buf[i].level;
			a->has = buf[i].has & q.inds;
			a->exceeds = buf[i].exceeds;
			memcpy(a->v, buf[i].v, sizeof(a->v));
		}
	}
	qsort(rows, nrows, sizeof(*rows), by_hour_cell);
	/* The rows of the page's hours end at end. */
	for (end = 0; end < nrows; end++) {
		if (end == 0 || rows[end].hour != rows[end - 1].hour) {
			if (nhours == lim)
				break;
			nhours++;
		}
	}
	if (end < nrows)
		snprintf(
		    next, sizeof(next), "%lld", (long long)rows[end - 1].hour);
	if (q.csv) {
		put_text(&b, "hour,reporting,worst_cell,worst_aqi,worst_level");
		for (int i = 0; i < IND_AQI_COUNT; i++) {
			if ((q.inds & IND_BIT(i)) == 0)
				continue;
			put_text(&b, ",");
			put_text(&b, ind_name((enum ind)i));
			put_text(&b, ",n_");
			put_text(&b, ind_name((enum ind)i));
		}
		put_text(&b,
		    ",level_1,level_2,level_3,level_4,level_5,"
		    "level_6,level_unknown\r\n");
	} else {
		put_text(&b, "{\"area\":");
		put_str(&b, ar->id);
		put_text(&b, ",\"name\":");
		put_str(&b, ar->name);
		put_text(&b, ",\"name_en\":");
		put_str(&b, ar->name_en);
		put_text(&b, ",\"cells\":");
		put_int(&b, true, nuniq);
		hist_head(r, &q, false, nhours, next, &b);
	}
	for (uint32_t k = 0, first = 0; k < end; first = k) {
		while (k < end && rows[k].hour == rows[first].hour)
			k++;
		if (first > 0 && !q.csv)
			put(&b, ",", 1);
		area_hour(r, &q, rows + first, k - first, nuniq, &b);
	}
	if (!q.csv)
		put_text(&b, "]}");
	rc = hist_done(r, &q, next, &b);
out:
	free(b.p);
	free(rows);
	free(buf);
	free(cells);
	free(seen);
	return rc;
}

/* One hour of an area from the n rows its cells have for it (ncells in
 * the area: those without a row count as unknown). */
static void
area_hour(struct req *r, const struct hist_q *q, const struct area_row *rows,
    uint32_t n, uint32_t ncells, struct buf *b)
{
	const struct area_row *worst = NULL;
	int64_t sum[IND_AQI_COUNT] = {0}, mean[IND_AQI_COUNT] = {0};
	uint32_t nmean[IND_AQI_COUNT] = {0}, levels[7] = {0}, nexc = 0;
	enum aqi_std std = (enum aqi_std)r->conf->aqi_std;
	char t[TZ_ISO_MAX], key[8];
	bool first = true;

	levels[0] = ncells - n;
	for (uint32_t k = 0; k < n; k++) {
		const struct area_row *a = &rows[k];

		levels[a->aqi >= 0 && a->level >= 1 && a->level <= 6 ? a->level
								     : 0]++;
		if (a->exceeds != 0)
			nexc++;
		if (a->aqi >= 0 &&
		    (worst == NULL || a->aqi > worst->aqi ||
			(a->aqi == worst->aqi &&
			    strcmp(r->conf->cells[a->cell].id,
				r->conf->cells[worst->cell].id) < 0)))
			worst = a;
		for (int i = 0; i < IND_AQI_COUNT; i++)
			if (a->has & IND_BIT(i)) {
				sum[i] += a->v[i];
				nmean[i]++;
			}
	}
	/* Kept to 0.001 unit, like the cell-hour values averaged. */
	for (int i = 0; i < IND_AQI_COUNT; i++)
		if (nmean[i] > 0 &&
		    fix_muldiv_round(sum[i], 1, nmean[i], &mean[i]) == AQ_OK)
			mean[i] = fix_round_half_even(mean[i], fix_step(3));
	iso(r, rows[0].hour, t, sizeof(t));
	if (q->csv) {
		put_text(b, t);
		put(b, ",", 1);
		put_int(b, true, n);
		put(b, ",", 1);
		if (worst != NULL) {
			put_csv(b, r->conf->cells[worst->cell].id);
			put(b, ",", 1);
			put_int(b, true, worst->aqi);
			put(b, ",", 1);
			put_int(b, true, worst->level);
		} else {
			put_text(b, ",,");
		}
		for (int i = 0; i < IND_AQI_COUNT; i++) {
			if ((q->inds & IND_BIT(i)) == 0)
				continue;
			put(b, ",", 1);
			put_fix(b, true, nmean[i] > 0, mean[i]);
			put(b, ",", 1);
			put_int(b, true, nmean[i]);
		}
		for (int l = 1; l <= 7; l++) {
			put(b, ",", 1);
			put_int(b, true, levels[l % 7]);
		}
		put_text(b, "\r\n");
		return;
	}
	put_text(b, "{\"hour\":");
	put_str(b, t);
	put_text(b, ",\"reporting\":");
	put_int(b, true, n);
	put_text(b, ",\"exceeding\":");
	put_int(b, true, nexc);
	put_text(b, ",\"worst\":");
	if (worst == NULL) {
		put_text(b, "null");
	} else {
		put_text(b, "{\"cell\":");
		put_str(b, r->conf->cells[worst->cell].id);
		put_text(b, ",\"aqi\":");
		put_int(b, true, worst->aqi);
		put_text(b, ",\"level\":");
		put_int(b, true, worst->level);
		put_text(b, ",\"color\":");
		put_str(b, aqi_color(std, worst->level));
		put_text(b, "}");
	}
	put_text(b, ",\"mean\":{");
	for (int i = 0; i < IND_AQI_COUNT; i++) {
		if ((q->inds & IND_BIT(i)) == 0)
			continue;
		if (!first)
			put(b, ",", 1);
		put_key(b, ind_name((enum ind)i));
		put_fix(b, false, nmean[i] > 0, mean[i]);
		first = false;
	}
	put_text(b, "},\"mean_cells\":{");
	first = true;
	for (int i = 0; i < IND_AQI_COUNT; i++) {
		if ((q->inds & IND_BIT(i)) == 0)
			continue;
		if (!first)
			put(b, ",", 1);
		put_key(b, ind_name((enum ind)i));
		put_int(b, true, nmean[i]);
		first = false;
	}
	put_text(b, "},\"levels\":{");
	for (int l = 1; l <= 6; l++) {
		key[0] = (char)('0' + l);
		key[1] = '\0';
		put_key(b, key);
		put_int(b, true, levels[l]);
		put(b, ",", 1);
	}
	put_text(b, "\"unknown\":");
	put_int(b, true, levels[0]);
	put_text(b, "}}");
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

static int
h_metrics(struct req *r)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int rc = AQ_ERR_NOMEM;

	if ((f = open_memstream(&text, &len)) == NULL)
		goto out;
	rc = metrics_text(r, f);
	if (fclose(f) != 0 && rc == AQ_OK)
		rc = AQ_ERR_NOMEM;
	if (rc != AQ_OK)
		goto out;
	r->code = MHD_HTTP_OK;
	r->body = text;
	r->len = len;
	r->ctype = "text/plain; version=0.0.4; charset=utf-8";
	text = NULL;
out:
	free(text);
	return rc;
}

static int
h_static(struct req *r)
{
	const char *name = r->route == R_STATIC ? r->param : "index.html";
	char path[CONF_PATH_MAX + API_FILE_NAME_MAX + 16];
	struct stat sb;
	int fd = -1, n, rc;

	/*
	 * One segment of plain characters, under static/: nothing can name a
	 * path outside it.  The file must not be a link, and O_NONBLOCK keeps
	 * a FIFO from hanging the thread.
	 */
	if (r->escaped) {
		rc = fail(r, MHD_HTTP_BAD_REQUEST, "bad path");
		goto out;
	}
	n = snprintf(
	    path, sizeof(path), "%s/static/%s", r->conf->web_root, name);
	if (!file_name_ok(name) || n < 0 || (size_t)n >= sizeof(path) ||
	    (fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)) <
		0 ||
	    fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		rc = fail(r, MHD_HTTP_NOT_FOUND, "not found");
		goto out;
	}
	r->code = MHD_HTTP_OK;
	r->fd = fd;
	r->size = (uint64_t)sb.st_size;
	r->ctype = content_type(name);
	fd = -1;
	rc = AQ_OK;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

static bool
file_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > API_FILE_NAME_MAX || name[0] == '.' ||
	    strstr(name, "..") != NULL)
		return false;
	for (size_t k = 0; k < n; k++) {
		char ch = name[k];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			(ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
			ch == '-'))
			return false;
	}
	return true;
}

static const char *
content_type(const char *name)
{
	const char *dot = strrchr(name, '.');

	for (size_t k = 0; dot != NULL &&
	     k < sizeof(content_types) / sizeof(content_types[0]);
	     k++)
		if (strcmp(dot, content_types[k].ext) == 0)
			return content_types[k].type;
	return "application/octet-stream";
}

/* ---- Plan indicators ---- */

/*
 * The plan's indicators of an area (area=) or the grid: the days from the
 * store in one scan (plan_read()), summarised by plan_compute(), against
 * the [plan] targets and the limits of the configured edition as of to.
 */
static int
h_indicators(struct req *r)
{
	const struct conf *c = r->conf;
	const char *area = arg(r, "area"), *from = arg(r, "from");
	const char *to = arg(r, "to");
	struct store *s = state_store(r->st);
	struct plan_day *days = NULL;
	struct plan_result res;
	size_t n = 0;
	int64_t f = 0, t = 0;
	int ai = -1, rc = AQ_ERR_NOMEM, got;

	if (area != NULL && (ai = find_area(c, area)) < 0) {
		rc = fail(r, MHD_HTTP_NOT_FOUND, "no such area");
		goto out;
	}
	if (from != NULL && when(r, from, true, false, &f) != AQ_OK) {
		rc = fail(r, MHD_HTTP_BAD_REQUEST, "from: %s", HIST_DATE_DOC);
		goto out;
	}
	if (to != NULL && when(r, to, true, true, &t) != AQ_OK) {
		rc = fail(r, MHD_HTTP_BAD_REQUEST, "to: %s", HIST_DATE_DOC);
		goto out;
	}
	/* Year to date: the latest complete day and its year's first. */
	if (to == NULL)
		t = tz_date_from_days(
		    tz_days_from_date(tz_date(r->tz, r->now)) - 1);
	if (from == NULL)
		f = t / 10000 * 10000 + 101;
	if (f > t) {
		rc = fail(r, MHD_HTTP_BAD_REQUEST, "from: after to");
		goto out;
	}
	if (tz_days_from_date((int32_t)t) - tz_days_from_date((int32_t)f) >=
	    PLAN_DAYS_MAX) {
		rc = fail(r, MHD_HTTP_BAD_REQUEST,
		    "to: more than %d days after from", PLAN_DAYS_MAX - 1);
		goto out;
	}
	if (s == NULL) {
		rc = fail(r, MHD_HTTP_SERVICE_UNAVAILABLE, API_NO_STORE);
		goto out;
	}
	got = plan_cache_read(
	    r->a->plan, s, c, ai, (int32_t)f, (int32_t)t, &days, &n);
	if (got == AQ_OK)
		got = plan_compute(days, n, (int32_t)f, (int32_t)t, &res);
	if (got == AQ_ERR_NOMEM)
		goto out;
	if (got != AQ_OK) {
		rc = fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "indicators: cannot read the store: %s", aq_strerror(got));
		goto out;
	}
	r->code = MHD_HTTP_OK;
	rc = indicators_json(r, ai, &res, &r->json);
out:
	free(days);
	return rc;
}

/* What plan_result says, as the Indicators schema. */
static int
indicators_json(
    struct req *r, int ai, const struct plan_result *res, json_t **out)
{
	const struct conf *c = r->conf;
	const struct limits_opts *l = &c->limits;
	const struct conf_area *a = ai >= 0 ? &c->areas[ai] : NULL;
	json_t *o = json_object(), *g, *pm, *o3, *ex, *e;
	char d0[16], d1[16];
	int64_t lim = 0, tgt = 0;
	bool ok = o != NULL, has_lim;
	double ratio = 0;

	ok = ok &&
	    !json_object_set_new(o, "area", a ? jtext(a->id) : json_null()) &&
	    !json_object_set_new(o, "name", a ? jtext(a->name) : json_null()) &&
	    !json_object_set_new(
		o, "name_en", a ? jtext(a->name_en) : json_null()) &&
	    !json_object_set_new(o, "cells",
		json_integer(
		    a ? (json_int_t)a->ncells : (json_int_t)c->ncells)) &&
	    !json_object_set_new(
		o, "from", json_string(date_text(res->from, d0, sizeof(d0)))) &&
	    !json_object_set_new(
		o, "to", json_string(date_text(res->to, d1, sizeof(d1)))) &&
	    !json_object_set_new(o, "days", json_integer(res->days)) &&
	    !json_object_set_new(
		o, "data_days", json_integer(res->data_days)) &&
	    !json_object_set_new(o, "aqi_standard",
		json_string(aqi_std_name((enum aqi_std)c->aqi_std))) &&
	    !json_object_set_new(
		o, "limits", json_string(limits_ed_name(l->ed))) &&
	    !json_object_set_new(o, "grade", json_integer(l->grade));
	/* Good days: ratio in percent, the target met at ratio >= target. */
	if (res->valid_days > 0)
		ratio = 100.0 * res->good_days / res->valid_days;
	ok = ok && (g = child(o, "good_days")) != NULL &&
	    !json_object_set_new(g, "good", json_integer(res->good_days)) &&
	    !json_object_set_new(g, "valid", json_integer(res->valid_days)) &&
	    !json_object_set_new(g, "ratio",
		res->valid_days > 0 ? json_real(ratio) : json_null()) &&
	    !json_object_set_new(g, "target", json_real(c->plan_good_days)) &&
	    !json_object_set_new(g, "meets_target",
		res->valid_days > 0
		    ? json_boolean((double)res->good_days * 100.0 >=
			  c->plan_good_days * res->valid_days)
		    : json_null());
	/* PM2.5 mean against its target and the annual limit. */
	has_lim = limits_get(l, res->to, IND_PM25_ANNUAL, &lim);
	if (fix_from_double(c->plan_pm25, &tgt) != AQ_OK)
		tgt = 0;
	ok = ok && (pm = child(o, "pm25")) != NULL &&
	    !json_object_set_new(
		pm, "value", jfix(res->pm25_known, res->pm25_mean)) &&
	    !json_object_set_new(
		pm, "validity", plan_valid_json(&res->pm25_valid)) &&
	    !json_object_set_new(pm, "target", json_real(c->plan_pm25)) &&
	    !json_object_set_new(pm, "meets_target",
		res->pm25_known ? json_boolean(res->pm25_mean <= tgt)
				: json_null()) &&
	    !json_object_set_new(pm, "limit", jfix(has_lim, lim)) &&
	    !json_object_set_new(pm, "exceeds_limit",
		res->pm25_known && has_lim ? json_boolean(res->pm25_mean > lim)
					   : json_null());
	/* O3: the 90th percentile of MDA8 against the MDA8 limit. */
	has_lim = limits_get(l, res->to, IND_O3_8H, &lim);
	if (fix_from_double(c->plan_o3_p90, &tgt) != AQ_OK)
		tgt = 0;
	ok = ok && (o3 = child(o, "o3_8h_p90")) != NULL &&
	    !json_object_set_new(
		o3, "value", jfix(res->o3_known, res->o3_p90)) &&
	    !json_object_set_new(
		o3, "validity", plan_valid_json(&res->o3_valid)) &&
	    !json_object_set_new(o3, "target",
		tgt > 0 ? json_real(c->plan_o3_p90) : json_null()) &&
	    !json_object_set_new(o3, "meets_target",
		res->o3_known && tgt > 0 ? json_boolean(res->o3_p90 <= tgt)
					 : json_null()) &&
	    !json_object_set_new(o3, "limit", jfix(has_lim, lim)) &&
	    !json_object_set_new(o3, "exceeds_limit",
		res->o3_known && has_lim ? json_boolean(res->o3_p90 > lim)
					 : json_null());
	ok = ok && (ex = child(o, "exceedances")) != NULL;
	for (int p = 0; ok && p < POL_COUNT; p++) {
		enum ind i = plan_stat((enum pol)p);

		has_lim = limits_get(l, res->to, i, &lim);
		ok = (e = child(ex, pol_name((enum pol)p))) != NULL &&
		    !json_object_set_new(
			e, "indicator", json_string(ind_name(i))) &&
		    !json_object_set_new(
			e, "days", json_integer(res->exceed_days[p])) &&
		    !json_object_set_new(
			e, "valid_days", json_integer(res->stat_days[p])) &&
		    !json_object_set_new(e, "limit", jfix(has_lim, lim));
	}
	ok = ok &&
	    !json_object_set_new(
		o, "exceedance_days", json_integer(res->exceed_any));
	if (!ok) {
		json_decref(o);
		return AQ_ERR_NOMEM;
	}
	*out = o;
	return AQ_OK;
}

/* The year to date of the grid, which reads every area's days too. */
static void *
plan_warm(void *arg)
{
	struct api *a = arg;
	const struct tz *z = state_tz(a->st);
	int32_t to = tz_date_from_days(
	    tz_days_from_date(tz_date(z, (int64_t)time(NULL))) - 1);
	struct plan_day *days = NULL;
	size_t n = 0;

	if (plan_cache_read(a->plan, state_store(a->st), state_conf(a->st), -1,
		to / 10000 * 10000 + 101, to, &days, &n) == AQ_OK)
		free(days);
	return NULL;
}

static json_t *
plan_valid_json(const struct plan_valid *v)
{
	return json_pack("{s:b, s:I, s:I, s:I, s:I}", "valid", v->valid, "days",
	    (json_int_t)v->got, "need", (json_int_t)v->need, "months",
	    (json_int_t)v->months, "months_short", (json_int_t)v->months_short);
}

/* ---- Tokens ---- */

/* A tokens-file problem: to errs as conf.h words it, or to the log. */
static void
tok_err(FILE *errs, const char *path, int line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (errs != NULL)
		conf_errf(errs, path, line, "%s", msg);
	else if (line > 0)
		log_warnx("http: %s:%d: %s", path, line, msg);
	else
		log_warnx("http: %s: %s", path, msg);
}

/*
 * Reads the tokens file: "NAME TOKEN rw|ro" a line, blank lines and lines
 * starting with '#' skipped.  A file others may read or write is refused
 * (a leaked token is a way in).  Every problem is reported, never a token.
 */
static int
tokens_load(const char *path, FILE *errs, struct api_token **out, size_t *nout)
{
	struct api_token *t = NULL, *grown;
	char line[API_TOKEN_MAX + API_TOKEN_NAME_MAX + 64];
	FILE *f = NULL;
	struct stat sb;
	size_t n = 0;
	int lineno = 0, bad = 0, rc = AQ_ERR_INVAL;

	if ((f = fopen(path, "r")) == NULL || fstat(fileno(f), &sb) != 0) {
		tok_err(errs, path, 0, "tokens_file: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		tok_err(errs, path, 0, "tokens_file: not a regular file");
		goto out;
	}
	if ((sb.st_mode & (S_IROTH | S_IWOTH)) != 0) {
		tok_err(errs, path, 0,
		    "tokens_file: readable or writable by others "
		    "(chmod o-rw it)");
		goto out;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *name, *tok, *acc, *extra, *save = NULL;
		size_t len = strlen(line);

		lineno++;
		if (len > 0 && line[len - 1] != '\n' && !feof(f)) {
			tok_err(errs, path, lineno, "line too long");
			bad++;
			while (fgets(line, sizeof(line), f) != NULL &&
			    strchr(line, '\n') == NULL)
				;
			continue;
		}
		name = strtok_r(line, " \t\r\n", &save);
		if (name == NULL || name[0] == '#')
			continue;
		tok = strtok_r(NULL, " \t\r\n", &save);
		acc = strtok_r(NULL, " \t\r\n", &save);
		extra = strtok_r(NULL, " \t\r\n", &save);
		if (tok == NULL || acc == NULL || extra != NULL) {
			tok_err(errs, path, lineno,
			    "expected NAME TOKEN rw|ro, three fields");
			bad++;
			continue;
		}
		if (!token_name_ok(name)) {
			tok_err(errs, path, lineno,
			    "bad name: 1 to %d letters, digits, '.', '_', "
			    "'-' or '@'",
			    API_TOKEN_NAME_MAX - 1);
			bad++;
			continue;
		}
		if (!token_ok(tok)) {
			tok_err(errs, path, lineno,
			    "token of %s: %d to %d printable characters, "
			    "no spaces",
			    name, API_TOKEN_MIN, API_TOKEN_MAX - 1);
			bad++;
			continue;
		}
		if (strcmp(acc, "rw") != 0 && strcmp(acc, "ro") != 0) {
			tok_err(errs, path, lineno,
			    "access of %s: expected rw or ro", name);
			bad++;
			continue;
		}
		for (size_t k = 0; k < n; k++) {
			if (strcmp(t[k].name, name) == 0) {
				tok_err(errs, path, lineno,
				    "name %s given twice", name);
				bad++;
				goto next;
			}
			if (strcmp(t[k].token, tok) == 0) {
				tok_err(errs, path, lineno,
				    "the token of %s is also %s's", name,
				    t[k].name);
				bad++;
				goto next;
			}
		}
		if (n == API_TOKENS_MAX) {
			tok_err(errs, path, lineno, "more than %d tokens",
			    API_TOKENS_MAX);
			bad++;
			break;
		}
		if ((grown = realloc(t, (n + 1) * sizeof(*t))) == NULL) {
			rc = AQ_ERR_NOMEM;
			tok_err(errs, path, lineno, "out of memory");
			goto out;
		}
		t = grown;
		memset(&t[n], 0, sizeof(t[n]));
		snprintf(t[n].name, sizeof(t[n].name), "%s", name);
		memcpy(t[n].token, tok, strlen(tok));
		t[n].rw = strcmp(acc, "rw") == 0;
		n++;
	next:
		wipe(line, sizeof(line));
	}
	if (ferror(f)) {
		tok_err(errs, path, 0, "tokens_file: cannot read it");
		goto out;
	}
	if (bad > 0)
		goto out;
	*out = t;
	*nout = n;
	t = NULL;
	n = 0;
	rc = AQ_OK;
out:
	wipe(line, sizeof(line));
	if (t != NULL)
		wipe((char *)t, n * sizeof(*t));
	free(t);
	if (f != NULL)
		fclose(f);
	return rc;
}

static bool
token_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= API_TOKEN_NAME_MAX)
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			(*s >= '0' && *s <= '9') || strchr("._-@", *s) != NULL))
			return false;
	return true;
}

static bool
token_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < API_TOKEN_MIN || n >= API_TOKEN_MAX)
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

int
api_check(const struct conf *c, FILE *errs)
{
	struct api_token *t = NULL;
	size_t n = 0;
	int rc = AQ_OK;

	if (c->http_read_auth && c->http_tokens_file[0] == '\0') {
		conf_errf(errs, c->path, 0,
		    "[http] read_auth = yes needs tokens_file");
		rc = AQ_ERR_INVAL;
	}
	if (c->http_tokens_file[0] != '\0' &&
	    tokens_load(c->http_tokens_file, errs, &t, &n) != AQ_OK)
		rc = AQ_ERR_INVAL;
	if (t != NULL)
		wipe((char *)t, n * sizeof(*t));
	free(t);
	return rc;
}

/*
 * The token an "Authorization: Bearer TOKEN" header names, or NULL.  Every
 * token is compared whole, and the match picked without a branch, so the
 * time taken says nothing of how much of a token was right.
 */
static const struct api_token *
token_find(const struct api *a, const char *h)
{
	char given[API_TOKEN_MAX];
	size_t len, hit = SIZE_MAX;

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	for (h += 7; *h == ' '; h++)
		;
	len = strlen(h);
	while (len > 0 && (h[len - 1] == ' ' || h[len - 1] == '\t'))
		len--;
	if (len == 0 || len >= sizeof(given))
		return NULL;
	memset(given, 0, sizeof(given));
	memcpy(given, h, len);
	for (size_t k = 0; k < a->ntokens; k++) {
		const volatile char *p = a->tokens[k].token;
		unsigned int d = 0;
		size_t m;

		for (size_t i = 0; i < API_TOKEN_MAX; i++)
			d |= (unsigned char)(given[i] ^ p[i]);
		m = (size_t)0 - (size_t)(d == 0);
		hit = (hit & ~m) | (k & m);
	}
	wipe(given, sizeof(given));
	return hit == SIZE_MAX ? NULL : &a->tokens[hit];
}

/* Reads of /api/v1 (but its OpenAPI document) when read_auth is on. */
static bool
read_guarded(enum route route)
{
	return route != R_OPENAPI &&
	    strncmp(route_pattern[route], "/api/v1/", 8) == 0;
}

/*
 * Lets the request through (r->who set when a token came), or sets the
 * 401 or 403 answer.  Writes always need an rw token.
 */
static int
authorize(struct req *r, bool write)
{
	const struct api_token *t;

	if (!write && !(r->conf->http_read_auth && read_guarded(r->route)))
		return AQ_OK;
	t = token_find(r->a,
	    MHD_lookup_connection_value(
		r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION));
	if (t == NULL)
		return r->a->ntokens == 0
		    ? fail(r, MHD_HTTP_UNAUTHORIZED,
			  "no tokens are configured ([http] tokens_file)")
		    : fail(r, MHD_HTTP_UNAUTHORIZED,
			  "a known bearer token is needed "
			  "(Authorization: Bearer TOKEN)");
	if (write && !t->rw)
		return fail(
		    r, MHD_HTTP_FORBIDDEN, "token %s is read-only", t->name);
	r->who = t->name;
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

/* ---- Alerts ---- */

static bool
alerts_on(struct req *r)
{
	if (r->a->svc != NULL)
		return true;
	(void)fail(r, MHD_HTTP_SERVICE_UNAVAILABLE, "alerts are off");
	return false;
}

/* A time of the alert engine (Unix s; 0 or less: none). */
static json_t *
jwhen(struct req *r, int64_t ts)
{
	char buf[TZ_ISO_MAX];

	if (ts <= 0 || ts == INT64_MIN)
		return json_null();
	return json_string(iso(r, ts, buf, sizeof(buf)));
}

/* Text of an id, or null for "". */
static json_t *
jopt(const char *s)
{
	return s[0] != '\0' ? jtext(s) : json_null();
}

static json_t *
alert_json(struct req *r, const struct alert_info *ai)
{
	json_t *o, *ack = json_null();

	if (ai->acked)
		ack = json_pack("{s:o,s:o,s:o}", "by", jtext(ai->ack_who), "at",
		    jwhen(r, ai->ack_at), "comment", jtext(ai->ack_comment));
	o = json_pack("{s:s,s:o,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:I,s:o,s:o,s:o,"
		      "s:o,s:o,s:o,s:b,s:b,s:o,s:b,s:b}",
	    "fingerprint", ai->fingerprint, "rule", jtext(ai->rule), "state",
	    alert_state_name(ai->state), "severity",
	    rule_severity_name(ai->severity), "scope",
	    rule_scope_name(ai->scope), "object", jtext(ai->object), "cell",
	    jopt(ai->cell), "sensor", jopt(ai->sensor), "area", jopt(ai->area),
	    "alert_id", (json_int_t)ai->alert_id, "value",
	    ai->has_value ? json_real(ai->value) : json_null(), "event_time",
	    jwhen(r, ai->event_time), "pending_since",
	    jwhen(r, ai->pending_since), "starts_at", jwhen(r, ai->starts_at),
	    "ends_at", jwhen(r, ai->ends_at), "last_notified",
	    jwhen(r, ai->last_notified), "announced", ai->announced, "acked",
	    ai->acked, "ack", ack, "silenced", ai->silenced, "inhibited",
	    ai->inhibited);
	return o;
}

/* When the alert last changed state, for "newest first". */
static int64_t
alert_changed(const struct alert_info *ai)
{
	switch (ai->state) {
	case ALERT_RESOLVED:
		return ai->ends_at;
	case ALERT_FIRING:
		return ai->starts_at;
	case ALERT_PENDING:
		return ai->pending_since;
	default:
		return ai->event_time;
	}
}

static int
by_newest(const void *x, const void *y)
{
	const struct alert_info *a = *(const struct alert_info *const *)x;
	const struct alert_info *b = *(const struct alert_info *const *)y;
	int64_t ta = alert_changed(a), tb = alert_changed(b);

	if (ta != tb)
		return ta > tb ? -1 : 1;
	return strcmp(a->fingerprint, b->fingerprint);
}

/* The alerts list's filters, checked; false after setting the answer. */
static bool
alert_filter(struct req *r, struct alert_q *q)
{
	const char *s;

	memset(q, 0, sizeof(*q));
	q->severity = -1;
	q->state = arg(r, "state");
	q->area = arg(r, "area");
	q->cell = arg(r, "cell");
	if (q->state != NULL && strcmp(q->state, "pending") != 0 &&
	    strcmp(q->state, "firing") != 0 &&
	    strcmp(q->state, "resolved") != 0 &&
	    strcmp(q->state, "inactive") != 0) {
		(void)fail(r, MHD_HTTP_BAD_REQUEST,
		    "state: expected pending, firing, resolved or inactive");
		return false;
	}
	if ((s = arg(r, "severity")) != NULL &&
	    (q->severity = rule_severity_from_name(s)) < 0) {
		(void)fail(r, MHD_HTTP_BAD_REQUEST,
		    "severity: expected info, warning or critical");
		return false;
	}
	if (q->area != NULL && find_area(r->conf, q->area) < 0) {
		(void)fail(r, MHD_HTTP_NOT_FOUND, "no such area");
		return false;
	}
	if (q->cell != NULL && conf_cell_find(r->conf, q->cell) < 0) {
		(void)fail(r, MHD_HTTP_NOT_FOUND, "no such cell");
		return false;
	}
	return true;
}

static bool
alert_match(const struct alert_q *q, const struct alert_info *ai)
{
	if (q->state != NULL
		? strcmp(alert_state_name(ai->state), q->state) != 0
		: ai->state == ALERT_INACTIVE)
		return false;
	if (q->severity >= 0 && (int)ai->severity != q->severity)
		return false;
	if (q->area != NULL && strcmp(ai->area, q->area) != 0)
		return false;
	return q->cell == NULL || strcmp(ai->cell, q->cell) == 0;
}

/*
 * GET /api/v1/alerts: the alerts matching the filters, newest change
 * first; with after, the alert log's entries after that cursor instead.
 */
static int
h_alerts(struct req *r)
{
	struct alert_info one, *all = NULL, **hits = NULL;
	const char *s;
	struct alert_q q;
	long long limit = API_LIMIT_MAX;
	uint32_t n, got, k, nhits = 0;
	json_t *list;
	int rc = AQ_ERR_NOMEM;

	if (!alerts_on(r) || !alert_filter(r, &q))
		return r->json != NULL ? AQ_OK : AQ_ERR_NOMEM;
	if ((s = arg(r, "limit")) != NULL &&
	    (parse_count(s, API_LIMIT_MAX, &limit) != AQ_OK || limit < 1))
		return fail(r, MHD_HTTP_BAD_REQUEST, "limit: expected 1 to %d",
		    API_LIMIT_MAX);
	if ((s = arg(r, "after")) != NULL)
		return alert_log(r, &q, s,
		    arg(r, "limit") != NULL ? (uint32_t)limit
					    : API_LOG_LIMIT_DEFAULT);
	n = service_alerts(r->a->svc, &one, 0, r->now);
	if ((all = calloc((size_t)n + 1, sizeof(*all))) == NULL ||
	    (hits = calloc((size_t)n + 1, sizeof(*hits))) == NULL)
		goto out;
	got = service_alerts(r->a->svc, all, n, r->now);
	for (k = 0; k < got && k < n; k++)
		if (alert_match(&q, &all[k]))
			hits[nhits++] = &all[k];
	qsort(hits, nhits, sizeof(*hits), by_newest);
	if (nhits > (uint32_t)limit)
		nhits = (uint32_t)limit;
	r->code = MHD_HTTP_OK;
	if ((r->json = json_object()) == NULL ||
	    json_object_set_new(r->json, "count", json_integer(nhits)) ||
	    (list = child_array(r->json, "results")) == NULL)
		goto out;
	for (k = 0; k < nhits; k++)
		if (json_array_append_new(list, alert_json(r, hits[k])))
			goto out;
	rc = AQ_OK;
out:
	free(hits);
	free(all);
	return rc;
}

struct log_ctx {
	struct req *r;
	json_t *list;
	uint32_t want, read;
	int64_t last;
	bool more;
	int rc;
};

/* One alert-log entry: "key=value" lines, '\\' escaping '\\' and '\n'. */
static int
log_entry(void *ctx, int64_t id, const void *value, size_t len)
{
	struct log_ctx *c = ctx;
	const char *p = value, *end = p + len;
	json_t *o;
	char key[32], val[ALERT_COMMENT_MAX * 2];

	if (c->read == c->want) {
		c->more = true;
		return 1;
	}
	c->read++;
	c->last = id;
	if ((o = json_object()) == NULL || json_array_append_new(c->list, o) ||
	    json_object_set_new(o, "id", json_integer(id)))
		goto nomem;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *eq;
		size_t kl, o2 = 0;
		json_t *v;
		long long num;

		if (nl == NULL)
			nl = end;
		eq = memchr(p, '=', (size_t)(nl - p));
		if (eq == NULL || (kl = (size_t)(eq - p)) == 0 ||
		    kl >= sizeof(key)) {
			p = nl + 1;
			continue;
		}
		memcpy(key, p, kl);
		key[kl] = '\0';
		for (p = eq + 1; p < nl && o2 + 1 < sizeof(val); p++) {
			if (*p == '\\' && p + 1 < nl) {
				p++;
				val[o2++] = *p == 'n' ? '\n' : *p;
			} else {
				val[o2++] = *p;
			}
		}
		val[o2] = '\0';
		p = nl + 1;
		if (strcmp(key, "now") == 0 || strcmp(key, "t") == 0) {
			int64_t ts = strtoll(val, NULL, 10);

			v = jwhen(c->r, ts);
			snprintf(key, sizeof(key), "%s",
			    key[0] == 'n' ? "time" : "event_time");
		} else if (strcmp(key, "value") == 0) {
			v = json_real(strtod(val, NULL));
		} else if ((strcmp(key, "alert_id") == 0 ||
			       strcmp(key, "silence") == 0) &&
		    parse_count(val, LLONG_MAX, &num) == AQ_OK) {
			v = json_integer(num);
		} else {
			v = jtext(val);
		}
		if (json_object_set_new(o, key, v))
			goto nomem;
	}
	return 0;
nomem:
	c->rc = AQ_ERR_NOMEM;
	return 1;
}

/* The alert log after a cursor, filtered as the list is: state by the
 * entry's event, the others by its alert. */
static int
alert_log(
    struct req *r, const struct alert_q *q, const char *after, uint32_t limit)
{
	struct store *st = service_store(r->a->svc);
	struct log_ctx c = {r, NULL, limit, 0, 0, false, AQ_OK};
	struct alert_info ai;
	long long from;
	json_t *out = NULL, *e;
	size_t k;
	int rc;

	if (parse_count(after, INT64_MAX, &from) != AQ_OK)
		return fail(r, MHD_HTTP_BAD_REQUEST,
		    "after: expected a cursor (cursor of an earlier answer, "
		    "or 0)");
	if (limit > API_LOG_LIMIT_MAX)
		return fail(r, MHD_HTTP_BAD_REQUEST,
		    "limit: at most %d with after", API_LOG_LIMIT_MAX);
	if (st == NULL)
		return fail(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "the alert log needs a store ([store] dir)");
	c.last = (int64_t)from;
	if ((c.list = json_array()) == NULL)
		return AQ_ERR_NOMEM;
	rc = store_log_read(
	    st, "alertlog", (int64_t)from, limit + 1, log_entry, &c);
	if (c.rc != AQ_OK) {
		json_decref(c.list);
		return c.rc;
	}
	if (rc < 0) {
		json_decref(c.list);
		return fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "the alert log could not be read");
	}
	/* Filtered after the read: the store is not held meanwhile. */
	if ((out = json_array()) == NULL)
		goto nomem;
	json_array_foreach(c.list, k, e)
	{
		const char *ev = json_string_value(json_object_get(e, "event"));
		const char *fp =
		    json_string_value(json_object_get(e, "fingerprint"));

		if (q->state != NULL &&
		    (ev == NULL || strcmp(ev, q->state) != 0))
			continue;
		if (q->severity >= 0 || q->area != NULL || q->cell != NULL) {
			struct alert_q q2 = *q;

			q2.state = NULL;
			if (fp == NULL ||
			    service_alert(r->a->svc, fp, &ai, r->now) != AQ_OK)
				continue;
			ai.state = ALERT_FIRING; /* any but inactive */
			if (!alert_match(&q2, &ai))
				continue;
		}
		if (json_array_append(out, e))
			goto nomem;
	}
	r->code = MHD_HTTP_OK;
	if ((r->json = json_pack("{s:I,s:I,s:b,s:o}", "count",
		 (json_int_t)json_array_size(out), "cursor", (json_int_t)c.last,
		 "more", c.more, "results", out)) == NULL) {
		out = NULL;
		goto nomem;
	}
	json_decref(c.list);
	return AQ_OK;
nomem:
	json_decref(out);
	json_decref(c.list);
	return AQ_ERR_NOMEM;
}

struct attempt_ctx {
	struct req *r;
	json_t *list;
	int rc;
};

static int
attempt_one(void *ctx, const struct notify_attempt *at)
{
	struct attempt_ctx *c = ctx;
	json_t *o = json_pack("{s:I,s:I,s:o,s:I,s:o,s:o,s:o,s:o,s:o}", "id",
	    (json_int_t)at->id, "notice", (json_int_t)at->notice, "receiver",
	    jtext(at->receiver), "attempt", (json_int_t)at->attempt, "time",
	    jwhen(c->r, at->time_ms / 1000), "status",
	    at->status != 0 ? json_integer(at->status) : json_null(), "error",
	    jtext(at->error), "result", jtext(at->result), "next_try",
	    at->next_ms > 0 ? jwhen(c->r, at->next_ms / 1000) : json_null());

	if (o == NULL || json_array_append_new(c->list, o)) {
		c->rc = AQ_ERR_NOMEM;
		return 1;
	}
	return 0;
}

/* GET /api/v1/alerts/{fingerprint}: the alert and its delivery attempts. */
static int
h_alert(struct req *r)
{
	struct alert_info ai;
	struct attempt_ctx c = {r, NULL, AQ_OK};
	struct store *st;

	if (!alerts_on(r))
		return AQ_OK;
	if (service_alert(r->a->svc, r->param, &ai, r->now) != AQ_OK)
		return fail(r, MHD_HTTP_NOT_FOUND, "no such alert");
	if ((r->json = alert_json(r, &ai)) == NULL ||
	    (c.list = child_array(r->json, "attempts")) == NULL)
		return AQ_ERR_NOMEM;
	st = service_store(r->a->svc);
	if (st != NULL && ai.alert_id != 0 &&
	    notify_attempts(
		st, ai.alert_id, 0, API_ATTEMPTS_MAX, attempt_one, &c) < 0 &&
	    c.rc == AQ_OK)
		return fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "the delivery attempts could not be read");
	r->code = MHD_HTTP_OK;
	return c.rc;
}

/*
 * The request body as a JSON object whose members are all in keys
 * (space-separated); NULL after setting a 400.  An empty body is {}.
 */
static json_t *
body_json(struct req *r, const char *keys)
{
	json_error_t e;
	json_t *j, *v;
	const char *k;

	if (r->in == NULL || r->in_len == 0)
		j = json_object();
	else
		j = json_loadb(r->in, r->in_len, JSON_REJECT_DUPLICATES, &e);
	if (j == NULL) {
		(void)fail(r, MHD_HTTP_BAD_REQUEST, "body: %s (byte %d)",
		    e.text, e.position);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		(void)fail(r, MHD_HTTP_BAD_REQUEST, "body: expected an object");
		return NULL;
	}
	json_object_foreach(j, k, v)
	{
		const char *hit = strstr(keys, k);
		size_t n = strlen(k);

		(void)v;
		if (hit == NULL || (hit != keys && hit[-1] != ' ') ||
		    (hit[n] != ' ' && hit[n] != '\0')) {
			(void)fail(r, MHD_HTTP_BAD_REQUEST,
			    "body: unknown member \"%.40s\"", k);
			json_decref(j);
			return NULL;
		}
	}
	return j;
}

/* An optional string member of at most max - 1 bytes into out. */
static bool
body_str(struct req *r, json_t *j, const char *key, char *out, size_t max)
{
	json_t *v = json_object_get(j, key);

	out[0] = '\0';
	if (v == NULL || json_is_null(v))
		return true;
	if (!json_is_string(v) || json_string_length(v) >= max) {
		(void)fail(r, MHD_HTTP_BAD_REQUEST,
		    "%s: expected a string of at most %zu bytes", key, max - 1);
		return false;
	}
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return true;
}

/* POST /api/v1/alerts/{fingerprint}/ack {"comment": "..."}. */
static int
h_ack(struct req *r)
{
	char comment[ALERT_COMMENT_MAX];
	struct alert_info ai;
	json_t *j;
	int rc;

	if (!alerts_on(r) || (j = body_json(r, "comment")) == NULL)
		return r->json != NULL ? AQ_OK : AQ_ERR_NOMEM;
	if (!body_str(r, j, "comment", comment, sizeof(comment))) {
		json_decref(j);
		return AQ_OK;
	}
	json_decref(j);
	if (service_alert(r->a->svc, r->param, &ai, r->now) != AQ_OK)
		return fail(r, MHD_HTTP_NOT_FOUND, "no such alert");
	rc = service_ack(r->a->svc, r->param, r->who, comment, r->now);
	/* AQ_ERR_IO: acknowledged, the store will be written later. */
	if (rc == AQ_ERR_INVAL)
		return fail(r, MHD_HTTP_CONFLICT,
		    "the alert is %s: only a pending or firing one can be "
		    "acknowledged",
		    alert_state_name(ai.state));
	if (rc != AQ_OK && rc != AQ_ERR_IO)
		return rc;
	if (service_alert(r->a->svc, r->param, &ai, r->now) != AQ_OK)
		return fail(r, MHD_HTTP_NOT_FOUND, "no such alert");
	r->code = MHD_HTTP_OK;
	return (r->json = alert_json(r, &ai)) != NULL ? AQ_OK : AQ_ERR_NOMEM;
}

static json_t *
silence_json(struct req *r, const struct alert_silence *s)
{
	json_t *m = json_array();

	for (uint32_t k = 0; m != NULL && k < s->nm; k++)
		if (json_array_append_new(m,
			json_sprintf("%s%s%s", s->m[k].key,
			    s->m[k].neq ? "!=" : "=", s->m[k].value))) {
			json_decref(m);
			m = NULL;
		}
	if (m == NULL)
		return NULL;
	return json_pack("{s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:s}", "id",
	    (json_int_t)s->id, "matchers", m, "starts_at", jwhen(r, s->start),
	    "ends_at", jwhen(r, s->end), "author", jtext(s->author), "comment",
	    jtext(s->comment), "created", jwhen(r, s->created), "status",
	    r->now < s->start     ? "pending"
		: r->now < s->end ? "active"
				  : "expired");
}

/* Every silence (expired ones too), newest first. */
static int
silences_list(struct req *r, uint64_t only, json_t **out)
{
	struct alert_silence one, *all = NULL;
	uint32_t n = service_silences(r->a->svc, &one, 0), got;
	json_t *list = json_array(), *o;
	int rc = AQ_ERR_NOMEM;

	if (list == NULL || (all = calloc((size_t)n + 1, sizeof(*all))) == NULL)
		goto out;
	got = service_silences(r->a->svc, all, n);
	for (uint32_t k = got < n ? got : n; k-- > 0;) {
		if (only != 0 && all[k].id != only)
			continue;
		if ((o = silence_json(r, &all[k])) == NULL ||
		    json_array_append_new(list, o))
			goto out;
	}
	*out = list;
	list = NULL;
	rc = AQ_OK;
out:
	json_decref(list);
	free(all);
	return rc;
}

static int
h_silences(struct req *r)
{
	json_t *list = NULL;

	if (!alerts_on(r))
		return AQ_OK;
	if (silences_list(r, 0, &list) != AQ_OK)
		return AQ_ERR_NOMEM;
	r->code = MHD_HTTP_OK;
	return (r->json = json_pack("{s:I,s:o}", "count",
		    (json_int_t)json_array_size(list), "results", list)) != NULL
	    ? AQ_OK
	    : AQ_ERR_NOMEM;
}

/* A time member: Unix seconds (number or text) or ISO 8601. */
static bool
body_time(struct req *r, json_t *j, const char *key, int64_t dflt, int64_t *out)
{
	json_t *v = json_object_get(j, key);

	if (v == NULL || json_is_null(v)) {
		if (dflt == INT64_MIN) {
			(void)fail(r, MHD_HTTP_BAD_REQUEST, "%s: missing", key);
			return false;
		}
		*out = dflt;
		return true;
	}
	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    json_integer_value(v) <= HIST_TIME_MAX) {
		*out = json_integer_value(v);
		return true;
	}
	if (json_is_string(v) &&
	    when(r, json_string_value(v), false, false, out) == AQ_OK)
		return true;
	(void)fail(r, MHD_HTTP_BAD_REQUEST,
	    "%s: expected Unix seconds or ISO 8601", key);
	return false;
}

/* POST /api/v1/silences. */
static int
h_silence_add(struct req *r)
{
	struct alert_silence s;
	char text[RULE_MATCHERS_MAX * NOTICE_ID_MAX * 3], why[160];
	json_t *j, *m, *v, *o;
	size_t k, len = 0;
	uint64_t id = 0;
	int rc = AQ_OK;

	if (!alerts_on(r) ||
	    (j = body_json(r, "matchers starts_at ends_at comment")) == NULL)
		return r->json != NULL ? AQ_OK : AQ_ERR_NOMEM;
	memset(&s, 0, sizeof(s));
	text[0] = '\0';
	m = json_object_get(j, "matchers");
	if (json_is_string(m)) {
		snprintf(text, sizeof(text), "%s", json_string_value(m));
	} else if (json_is_array(m)) {
		json_array_foreach(m, k, v)
		{
			if (!json_is_string(v) ||
			    len + json_string_length(v) + 2 > sizeof(text))
				break;
			len += (size_t)snprintf(text + len, sizeof(text) - len,
			    "%s%s", len > 0 ? " " : "", json_string_value(v));
		}
		if (k < json_array_size(m))
			text[0] = '\0';
	}
	if (text[0] == '\0') {
		rc = fail(r, MHD_HTTP_BAD_REQUEST,
		    "matchers: expected \"KEY=VALUE KEY!=VALUE ...\" or an "
		    "array of them");
		goto out;
	}
	if (rule_parse_matchers(text, s.m, RULE_MATCHERS_MAX, &s.nm, why,
		sizeof(why)) != AQ_OK ||
	    s.nm == 0) {
		rc = fail(r, MHD_HTTP_BAD_REQUEST, "matchers: %s",
		    s.nm == 0 && why[0] == '\0' ? "none given" : why);
		goto out;
	}
	if (!body_time(r, j, "starts_at", r->now, &s.start) ||
	    !body_time(r, j, "ends_at", INT64_MIN, &s.end) ||
	    !body_str(r, j, "comment", s.comment, sizeof(s.comment)))
		goto out;
	if (s.end <= s.start || s.end <= r->now) {
		rc = fail(r, MHD_HTTP_BAD_REQUEST,
		    "ends_at: must be after starts_at and in the future");
		goto out;
	}
	snprintf(s.author, sizeof(s.author), "%s", r->who);
	rc = service_silence_add(r->a->svc, &s, r->now, &id);
	if (rc == AQ_ERR_INVAL) {
		rc = fail(r, MHD_HTTP_BAD_REQUEST, "silence refused");
		goto out;
	}
	if (rc != AQ_OK && rc != AQ_ERR_IO)
		goto out;
	s.id = id;
	s.created = r->now;
	r->code = MHD_HTTP_CREATED;
	rc = (o = silence_json(r, &s)) != NULL ? AQ_OK : AQ_ERR_NOMEM;
	r->json = o;
out:
	json_decref(j);
	return rc;
}

/* DELETE /api/v1/silences/{id}: ends it now; it stays listed, expired. */
static int
h_silence_rm(struct req *r)
{
	long long id;
	json_t *list = NULL;
	int rc;

	if (!alerts_on(r))
		return AQ_OK;
	if (parse_count(r->param, LLONG_MAX, &id) != AQ_OK || id == 0)
		return fail(r, MHD_HTTP_NOT_FOUND, "no such silence");
	rc = service_silence_expire(r->a->svc, (uint64_t)id, r->now);
	if (rc == AQ_ERR_INVAL)
		return fail(r, MHD_HTTP_NOT_FOUND, "no such silence");
	if (rc != AQ_OK && rc != AQ_ERR_IO)
		return rc;
	if (silences_list(r, (uint64_t)id, &list) != AQ_OK)
		return AQ_ERR_NOMEM;
	r->code = MHD_HTTP_OK;
	r->json = json_incref(json_array_get(list, 0));
	json_decref(list);
	return r->json != NULL ? AQ_OK : AQ_ERR_NOMEM;
}

struct dead_ctx {
	struct req *r;
	json_t *list;
	uint32_t limit;
	int rc;
};

static int
dead_one(void *ctx, const struct notify_dead *d)
{
	struct dead_ctx *c = ctx;
	json_t *o;

	if (json_array_size(c->list) >= c->limit)
		return 1;
	o = json_pack("{s:o,s:I,s:o,s:o,s:o,s:I,s:o,s:o,s:o,s:o}", "key",
	    jtext(d->key), "notice", (json_int_t)d->notice, "receiver",
	    jtext(d->receiver), "rule", jtext(d->rule), "kind", jtext(d->kind),
	    "attempts", (json_int_t)d->attempts, "created",
	    jwhen(c->r, d->created), "dead_at", jwhen(c->r, d->dead_at), "last",
	    jtext(d->last), "idempotency_key", jtext(d->idempotency_key));
	if (o == NULL || json_array_append_new(c->list, o)) {
		c->rc = AQ_ERR_NOMEM;
		return 1;
	}
	return 0;
}

/* GET /api/v1/notifications?status=dead: the dead letters. */
static int
h_notifications(struct req *r)
{
	struct dead_ctx c = {r, NULL, API_LOG_LIMIT_MAX, AQ_OK};
	const char *s = arg(r, "status");
	struct store *st;
	long long limit;

	if (!alerts_on(r))
		return AQ_OK;
	if (s != NULL && strcmp(s, "dead") != 0)
		return fail(r, MHD_HTTP_BAD_REQUEST,
		    "status: only dead (delivered notifications are not "
		    "kept)");
	if ((s = arg(r, "limit")) != NULL) {
		if (parse_count(s, API_LOG_LIMIT_MAX, &limit) != AQ_OK ||
		    limit < 1)
			return fail(r, MHD_HTTP_BAD_REQUEST,
			    "limit: expected 1 to %d", API_LOG_LIMIT_MAX);
		c.limit = (uint32_t)limit;
	}
	if ((st = service_store(r->a->svc)) == NULL)
		return fail(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "dead letters need a store ([store] dir)");
	if ((c.list = json_array()) == NULL)
		return AQ_ERR_NOMEM;
	if (notify_dead_list(st, dead_one, &c) < 0 && c.rc == AQ_OK) {
		json_decref(c.list);
		return fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "the dead letters could not be read");
	}
	if (c.rc != AQ_OK) {
		json_decref(c.list);
		return c.rc;
	}
	r->code = MHD_HTTP_OK;
	return (r->json = json_pack("{s:I,s:o}", "count",
		    (json_int_t)json_array_size(c.list), "results", c.list)) !=
		NULL
	    ? AQ_OK
	    : AQ_ERR_NOMEM;
}

/* ---- Server-Sent Events ---- */

static int64_t
mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec;
}

/*
 * GET /api/v1/events.  The stream starts after Last-Event-ID (header, or
 * ?last_event_id=), else at the newest event.  Over [http] sse_clients
 * open streams: 503.
 */
static int
h_events(struct req *r)
{
	struct api *a = r->a;
	const char *s = MHD_lookup_connection_value(
	    r->conn, MHD_HEADER_KIND, "Last-Event-ID");
	long long last = 0;
	struct sse *e;
	bool full;

	if (!alerts_on(r))
		return AQ_OK;
	if (s == NULL)
		s = arg(r, "last_event_id");
	if (s != NULL && parse_count(s, INT64_MAX, &last) != AQ_OK)
		return fail(r, MHD_HTTP_BAD_REQUEST,
		    "Last-Event-ID: expected an event id");
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return AQ_ERR_NOMEM;
	e->a = a;
	e->conn = r->conn;
	e->cursor = s != NULL ? (uint64_t)last : service_event_last(a->svc);
	e->beat = mono();
	pthread_mutex_lock(&a->sse_mu);
	sse_reap(a);
	full = a->nsse >= a->sse_max || atomic_load(&a->stopping);
	if (!full) {
		e->next = a->sse;
		if (a->sse != NULL)
			a->sse->prev = e;
		a->sse = e;
		a->nsse++;
	}
	pthread_mutex_unlock(&a->sse_mu);
	if (full) {
		free(e);
		atomic_fetch_add_explicit(
		    &a->sse_refused, 1, memory_order_relaxed);
		return fail(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "too many event streams open (%u)", a->sse_max);
	}
	r->sse = e;
	r->code = MHD_HTTP_OK;
	r->ctype = "text/event-stream; charset=utf-8";
	return AQ_OK;
}

static void
sse_put(struct sse *e, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(e->buf + e->len, sizeof(e->buf) - e->len, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof(e->buf) - e->len)
		e->len += (size_t)n;
}

/*
 * Fills the buffer from the service's ring: a copy under its lock, never
 * a wait.  A stream whose Last-Event-ID is too old gets a reset and goes
 * on from the newest event; one that fell behind while open (a slow
 * reader) gets a reset and ends.
 */
static void
sse_fill(struct sse *e)
{
	struct api *a = e->a;
	int64_t now = mono();
	uint32_t n = 0;
	uint64_t last;

	if (!e->started)
		sse_put(e, ": aqgridd events\nretry: 3000\n\n");
	if (!service_events(a->svc, e->cursor, e->ev, SSE_BATCH, &n)) {
		last = service_event_last(a->svc);
		sse_put(e,
		    "id: %llu\nevent: reset\ndata: {\"reason\":\"%s\","
		    "\"last_event_id\":%llu}\n\n",
		    (unsigned long long)last,
		    e->started ? "too slow: events were dropped before they "
				 "were sent"
			       : "the events after Last-Event-ID were dropped",
		    (unsigned long long)last);
		e->cursor = last;
		if (e->started) {
			e->done = true;
			atomic_fetch_add_explicit(
			    &a->sse_cut, 1, memory_order_relaxed);
		}
		n = 0;
	}
	e->started = true;
	for (uint32_t k = 0; k < n; k++) {
		sse_put(e, "id: %llu\nevent: %s\ndata: %s\n\n",
		    (unsigned long long)e->ev[k].id, e->ev[k].type,
		    e->ev[k].json);
		e->cursor = e->ev[k].id;
	}
	if (e->len == 0 && now - e->beat >= SSE_HEARTBEAT)
		sse_put(e, ": heartbeat\n\n");
	if (e->len > 0)
		e->beat = now;
}

/*
 * MHD's content reader, on a server thread: hands out what the buffer
 * holds; with nothing to send it suspends the connection (returning 0
 * alone would have MHD's polling thread call again at once) until the
 * waker resumes it for news or a heartbeat.
 */
static ssize_t
sse_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct sse *e = cls;
	struct api *a = e->a;
	size_t n;

	(void)pos;
	for (int k = 0; e->off == e->len && k < 3; k++) {
		e->off = e->len = 0;
		if (e->done || atomic_load(&a->stopping))
			return MHD_CONTENT_READER_END_OF_STREAM;
		sse_fill(e);
		if (e->len > 0)
			break;
		pthread_mutex_lock(&a->sse_mu);
		if (!atomic_load(&a->stopping) &&
		    service_event_last(a->svc) <= e->cursor) {
			e->suspended = true;
			MHD_suspend_connection(e->conn);
			pthread_mutex_unlock(&a->sse_mu);
			return 0;
		}
		pthread_mutex_unlock(&a->sse_mu);
	}
	if (e->off == e->len)
		return 0;
	n = e->len - e->off < max ? e->len - e->off : max;
	memcpy(out, e->buf + e->off, n);
	e->off += n;
	return (ssize_t)n;
}

/* MHD is done with the stream: the waker (or api_stop) frees it.  Takes
 * no lock, as MHD may hold its own here. */
static void
sse_free(void *cls)
{
	struct sse *e = cls;

	atomic_store(&e->dead, true);
}

/* Frees the streams MHD is done with (sse_mu held). */
static void
sse_reap(struct api *a)
{
	struct sse *e = a->sse, *next;

	for (; e != NULL; e = next) {
		next = e->next;
		if (!atomic_load(&e->dead))
			continue;
		if (e->prev != NULL)
			e->prev->next = e->next;
		else
			a->sse = e->next;
		if (e->next != NULL)
			e->next->prev = e->prev;
		a->nsse--;
		free(e);
	}
}

/*
 * Takes the suspended streams that have news (or all, when stopping, or
 * those owing a heartbeat) off the list's suspended state into a->wake;
 * the caller resumes them after unlocking.  A suspended connection is
 * never closed by MHD, so the pointers stay good until resumed.
 */
static uint32_t
sse_due(struct api *a, uint64_t seen, bool all)
{
	int64_t now = mono();
	uint32_t n = 0;

	pthread_mutex_lock(&a->sse_mu);
	sse_reap(a);
	for (struct sse *e = a->sse; e != NULL && n < a->nwake; e = e->next)
		if (e->suspended &&
		    (all || e->cursor < seen ||
			now - e->beat >= SSE_HEARTBEAT)) {
			e->suspended = false;
			a->wake[n++] = e->conn;
		}
	pthread_mutex_unlock(&a->sse_mu);
	return n;
}

/* The waker thread: resumes streams when events come, and for
 * heartbeats. */
static void *
sse_waker(void *arg)
{
	struct api *a = arg;
	uint64_t seen = service_event_last(a->svc);
	uint32_t n;

	while (!atomic_load(&a->stopping)) {
		(void)service_event_wait(a->svc, seen, SSE_WAKE_MS);
		seen = service_event_last(a->svc);
		n = sse_due(a, seen, false);
		for (uint32_t k = 0; k < n; k++)
			MHD_resume_connection(a->wake[k]);
	}
	return NULL;
}

/* ---- Metrics ---- */

static void
metric_head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label values here are the program's own names: decoders, reasons,
 * route patterns.  None holds a quote, backslash or newline. */
static int
metrics_text(struct req *r, FILE *f)
{
	static const char *const results[2] = {"rejected", "accepted"};
	struct counters *c = state_counters(r->st);
	int nd = state_ndecoders(r->st);
	uint32_t ncells = state_ncells(r->st), levels[7] = {0};
	uint64_t cum = 0, n, ns;
	struct cell_view v;

	metric_head(
	    f, "aqgrid_build_info", "gauge", "The running version; always 1.");
	fprintf(f, "aqgrid_build_info{version=\"%s\"} 1\n", AQ_VERSION);
	metric_head(f, "aqgrid_up", "gauge", "1 while the daemon serves.");
	fprintf(f, "aqgrid_up 1\n");
	metric_head(f, "aqgrid_start_time_seconds", "gauge",
	    "When the daemon started, Unix seconds.");
	fprintf(f, "aqgrid_start_time_seconds %lld\n",
	    (long long)state_started(r->st));
	metric_head(f, "aqgrid_messages_total", "counter",
	    "MQTT messages decoded, by decoder and result.");
	for (int d = 0; d < nd; d++)
		for (int k = 1; k >= 0; k--)
			fprintf(f,
			    "aqgrid_messages_total{decoder=\"%s\","
			    "result=\"%s\"} %llu\n",
			    state_decoder_name(r->st, d), results[k],
			    (unsigned long long)atomic_load_explicit(
				&c->messages[d][k], memory_order_relaxed));
	metric_head(f, "aqgrid_readings_total", "counter",
	    "Readings from decoded messages, by decoder and result.");
	for (int d = 0; d < nd; d++)
		for (int k = 1; k >= 0; k--)
			fprintf(f,
			    "aqgrid_readings_total{decoder=\"%s\","
			    "result=\"%s\"} %llu\n",
			    state_decoder_name(r->st, d), results[k],
			    (unsigned long long)atomic_load_explicit(
				&c->readings[d][k], memory_order_relaxed));
	metric_head(f, "aqgrid_rejections_total", "counter",
	    "Payloads, readings and values refused, by reason.");
	for (int k = 0; k < REASON_COUNT; k++)
		fprintf(f, "aqgrid_rejections_total{reason=\"%s\"} %llu\n",
		    reason_name((enum reason)k),
		    (unsigned long long)atomic_load_explicit(
			&c->rejected[k], memory_order_relaxed));
	metric_head(f, "aqgrid_mqtt_connected", "gauge",
	    "1 while connected to the MQTT broker.");
	fprintf(f, "aqgrid_mqtt_connected %d\n",
	    atomic_load_explicit(&c->mqtt_connected, memory_order_relaxed) !=
		0);
	metric_head(f, "aqgrid_mqtt_connects_total", "counter",
	    "Successful connections to the MQTT broker.");
	fprintf(f, "aqgrid_mqtt_connects_total %llu\n",
	    (unsigned long long)atomic_load_explicit(
		&c->mqtt_connects, memory_order_relaxed));
	metric_head(f, "aqgrid_mqtt_reconnects_total", "counter",
	    "Connections after a lost one.");
	fprintf(f, "aqgrid_mqtt_reconnects_total %llu\n",
	    (unsigned long long)atomic_load_explicit(
		&c->mqtt_reconnects, memory_order_relaxed));
	metric_head(f, "aqgrid_queue_depth", "gauge",
	    "Messages waiting between MQTT and the engine.");
	fprintf(f, "aqgrid_queue_depth %lld\n",
	    (long long)atomic_load_explicit(
		&c->queue_depth, memory_order_relaxed));
	metric_head(f, "aqgrid_queue_capacity", "gauge",
	    "Messages the ingest queue holds.");
	fprintf(f, "aqgrid_queue_capacity %lld\n",
	    (long long)atomic_load_explicit(
		&c->queue_capacity, memory_order_relaxed));
	if (state_store(r->st) != NULL) {
		struct store_stats ss;

		store_stats(state_store(r->st), &ss);
		metric_head(f, "aqgrid_store_degraded", "gauge",
		    "1 while the history database cannot write.");
		fprintf(f, "aqgrid_store_degraded %d\n", ss.degraded ? 1 : 0);
		metric_head(f, "aqgrid_store_rows_committed_total", "counter",
		    "Hourly and daily rows written to the database.");
		fprintf(f, "aqgrid_store_rows_committed_total %llu\n",
		    (unsigned long long)ss.committed);
		metric_head(f, "aqgrid_store_rows_dropped_total", "counter",
		    "Rows lost: the store's queue was full.");
		fprintf(f, "aqgrid_store_rows_dropped_total %llu\n",
		    (unsigned long long)ss.dropped);
		metric_head(f, "aqgrid_store_commit_failures_total", "counter",
		    "Database commits that failed (disk full, I/O errors).");
		fprintf(f, "aqgrid_store_commit_failures_total %llu\n",
		    (unsigned long long)ss.failed);
		metric_head(f, "aqgrid_store_queue_rows", "gauge",
		    "Rows waiting for the database writer.");
		fprintf(f, "aqgrid_store_queue_rows %zu\n", ss.queued);
	}
	for (uint32_t k = 0; k < ncells; k++)
		if (state_view(r->st, k, &v) == AQ_OK)
			levels[v.aqi.aqi >= 0 ? v.aqi.level : 0]++;
	metric_head(f, "aqgrid_cells", "gauge",
	    "Cells by AQI level of their latest complete hour.");
	for (int l = 1; l <= 6; l++)
		fprintf(f, "aqgrid_cells{level=\"%d\"} %u\n", l, levels[l]);
	fprintf(f, "aqgrid_cells{level=\"unknown\"} %u\n", levels[0]);
	metric_head(f, "aqgrid_sensors", "gauge", "Sensors known.");
	fprintf(f, "aqgrid_sensors %u\n", state_nsensors(r->st));
	{
		uint32_t faulty[FAULT_KIND_COUNT] = {0};
		const struct fault *fd = state_faults(r->st);

		for (uint32_t k = 0; k < state_nsensors(r->st); k++) {
			uint32_t fl = fault_flags(fd, k);

			for (int i = 0; i < FAULT_KIND_COUNT; i++)
				if (fl & FAULT_BIT(i))
					faulty[i]++;
		}
		metric_head(f, "aqgrid_sensors_faulty", "gauge",
		    "Sensors flagged faulty now, by kind of fault.");
		for (int i = 0; i < FAULT_KIND_COUNT; i++)
			fprintf(f, "aqgrid_sensors_faulty{kind=\"%s\"} %u\n",
			    fault_kind_name((enum fault_kind)i), faulty[i]);
		metric_head(f, "aqgrid_sensor_faults_total", "counter",
		    "Fault flags raised on sensors, by kind.");
		for (int i = 0; i < FAULT_KIND_COUNT; i++)
			fprintf(f,
			    "aqgrid_sensor_faults_total{kind=\"%s\"} %llu\n",
			    fault_kind_name((enum fault_kind)i),
			    (unsigned long long)fault_detections(
				fd, (enum fault_kind)i));
	}
	metric_head(f, "aqgrid_http_requests_total", "counter",
	    "HTTP requests answered, by route pattern and status code.");
	for (int k = 0; k <= R_COUNT; k++) {
		for (size_t i = 0; i <= NCODES; i++) {
			char code[16] = "other";

			n = atomic_load_explicit(
			    &r->a->requests[k][i], memory_order_relaxed);
			if (n == 0)
				continue;
			if (i < NCODES)
				snprintf(
				    code, sizeof(code), "%u", http_codes[i]);
			fprintf(f,
			    "aqgrid_http_requests_total{route=\"%s\","
			    "code=\"%s\"} %llu\n",
			    route_pattern[k], code, (unsigned long long)n);
		}
	}
	metric_head(f, "aqgrid_ingest_latency_seconds", "histogram",
	    "Time from a message's arrival to its engine update.");
	/* Buckets before the count: a reading counted between the two reads
	 * then raises only +Inf, and the buckets stay cumulative. */
	for (int b = 0; b < STATE_LATENCY_BUCKETS; b++) {
		cum += atomic_load_explicit(
		    &c->latency_bucket[b], memory_order_relaxed);
		fprintf(f,
		    "aqgrid_ingest_latency_seconds_bucket{le=\"%g\"} "
		    "%llu\n",
		    state_latency_bounds[b], (unsigned long long)cum);
	}
	ns = atomic_load_explicit(&c->latency_sum_ns, memory_order_relaxed);
	n = atomic_load_explicit(&c->latency_count, memory_order_relaxed);
	if (n < cum)
		n = cum;
	fprintf(f, "aqgrid_ingest_latency_seconds_bucket{le=\"+Inf\"} %llu\n",
	    (unsigned long long)n);
	fprintf(f, "aqgrid_ingest_latency_seconds_sum %llu.%09llu\n",
	    (unsigned long long)(ns / 1000000000u),
	    (unsigned long long)(ns % 1000000000u));
	fprintf(f, "aqgrid_ingest_latency_seconds_count %llu\n",
	    (unsigned long long)n);
	metric_head(f, "aqgrid_view_publishes_total", "counter",
	    "Cell views recomputed and published.");
	fprintf(f, "aqgrid_view_publishes_total %llu\n",
	    (unsigned long long)atomic_load_explicit(
		&c->publishes, memory_order_relaxed));
	metrics_hj212(c, f);
	metrics_sse(r->a, f);
	metrics_publish(r->conf, c, f);
	metrics_alerts(r->a, f);
	return ferror(f) ? AQ_ERR_NOMEM : AQ_OK;
}

/* The alert engine and the notifiers (zero when alerts are off). */
static void
metrics_alerts(struct api *a, FILE *f)
{
	struct alert_stats as;
	struct notify_stats *ns = calloc(1, sizeof(*ns));

	memset(&as, 0, sizeof(as));
	if (ns == NULL)
		return;
	if (a->svc != NULL)
		service_stats(a->svc, &as, ns);
	metric_head(f, "aqgrid_alerts", "gauge",
	    "Open alerts by state (pending: waiting for their for time).");
	fprintf(f, "aqgrid_alerts{state=\"firing\"} %u\n", as.firing);
	fprintf(f, "aqgrid_alerts{state=\"pending\"} %u\n", as.pending);
	metric_head(f, "aqgrid_alert_notices_total", "counter",
	    "Notices the alert engine made (firing, repeat, resolved).");
	fprintf(f, "aqgrid_alert_notices_total %llu\n",
	    (unsigned long long)as.notices);
	metric_head(f, "aqgrid_alert_store_failures_total", "counter",
	    "Alert state writes the store refused.");
	fprintf(f, "aqgrid_alert_store_failures_total %llu\n",
	    (unsigned long long)as.store_failures);
	metric_head(f, "aqgrid_notifications_total", "counter",
	    "Notifications by receiver and result (sent: accepted by the "
	    "receiver; failed: attempts that failed; dead: dead-lettered).");
	for (uint32_t k = 0; k < ns->nreceivers; k++) {
		const struct notify_rstats *rs = &ns->r[k];

		fprintf(f,
		    "aqgrid_notifications_total{receiver=\"%s\",result="
		    "\"sent\"} "
		    "%llu\n",
		    rs->id, (unsigned long long)rs->sent);
		fprintf(f,
		    "aqgrid_notifications_total{receiver=\"%s\","
		    "result=\"failed\"} %llu\n",
		    rs->id, (unsigned long long)rs->failed);
		fprintf(f,
		    "aqgrid_notifications_total{receiver=\"%s\",result="
		    "\"dead\"} "
		    "%llu\n",
		    rs->id, (unsigned long long)rs->dead);
	}
	metric_head(f, "aqgrid_notifications_queued", "gauge",
	    "Notifications in the outbox (in flight included), by receiver.");
	for (uint32_t k = 0; k < ns->nreceivers; k++)
		fprintf(f,
		    "aqgrid_notifications_queued{receiver=\"%s\"} %llu\n",
		    ns->r[k].id, (unsigned long long)ns->r[k].queued);
	metric_head(f, "aqgrid_notices_refused_total", "counter",
	    "Notices the outbox refused (full, or a store error).");
	fprintf(f, "aqgrid_notices_refused_total %llu\n",
	    (unsigned long long)ns->refused);
	free(ns);
}

/* Publishing back to MQTT ([publish]; all zero while it is off). */
static void
metrics_publish(const struct conf *conf, struct counters *c, FILE *f)
{
	static const char *const kinds[] = {"cell", "area", "alert"};

	metric_head(f, "aqgrid_publish_enabled", "gauge",
	    "1 when [publish] enabled is on.");
	fprintf(f, "aqgrid_publish_enabled %d\n", conf->pub_enabled ? 1 : 0);
	metric_head(f, "aqgrid_publish_connected", "gauge",
	    "1 while the publishing client is connected to the broker.");
	fprintf(f, "aqgrid_publish_connected %d\n",
	    atomic_load_explicit(&c->pub_connected, memory_order_relaxed));
	metric_head(f, "aqgrid_publish_messages_total", "counter",
	    "Messages published back to MQTT, by kind (discovery: Home "
	    "Assistant documents and the status).");
	for (int k = 0; k < 3; k++)
		fprintf(f, "aqgrid_publish_messages_total{kind=\"%s\"} %llu\n",
		    kinds[k],
		    (unsigned long long)atomic_load_explicit(
			&c->pub_messages[k], memory_order_relaxed));
	fprintf(f, "aqgrid_publish_messages_total{kind=\"discovery\"} %llu\n",
	    (unsigned long long)atomic_load_explicit(
		&c->pub_discovery, memory_order_relaxed));
	metric_head(f, "aqgrid_publish_dropped_total", "counter",
	    "Messages not published: the broker away, or the queue full.");
	fprintf(f, "aqgrid_publish_dropped_total %llu\n",
	    (unsigned long long)atomic_load_explicit(
		&c->pub_dropped, memory_order_relaxed));
}

/* The event streams: open now, refused (over sse_clients), cut off
 * (fell behind the event ring). */
static void
metrics_sse(struct api *a, FILE *f)
{
	uint32_t open;

	pthread_mutex_lock(&a->sse_mu);
	sse_reap(a);
	open = a->nsse;
	pthread_mutex_unlock(&a->sse_mu);
	metric_head(f, "aqgrid_sse_clients", "gauge",
	    "Event streams (/api/v1/events) open.");
	fprintf(f, "aqgrid_sse_clients %u\n", open);
	metric_head(f, "aqgrid_sse_refused_total", "counter",
	    "Event streams refused: sse_clients were open.");
	fprintf(f, "aqgrid_sse_refused_total %llu\n",
	    (unsigned long long)atomic_load_explicit(
		&a->sse_refused, memory_order_relaxed));
	metric_head(f, "aqgrid_sse_cut_total", "counter",
	    "Event streams ended because the client read too slowly.");
	fprintf(f, "aqgrid_sse_cut_total %llu\n",
	    (unsigned long long)atomic_load_explicit(
		&a->sse_cut, memory_order_relaxed));
}

static void
metrics_hj212(struct counters *c, FILE *f)
{
	static const char *const conns[2] = {"accepted", "refused"};
	_Atomic uint64_t *const conn_counts[2] = {
	    &c->hj212_accepted, &c->hj212_refused};

	metric_head(f, "aqgrid_hj212_connections", "gauge",
	    "HJ 212 data logger connections open.");
	fprintf(f, "aqgrid_hj212_connections %lld\n",
	    (long long)atomic_load_explicit(
		&c->hj212_connections, memory_order_relaxed));
	metric_head(f, "aqgrid_hj212_connections_total", "counter",
	    "HJ 212 connections accepted, or refused over the limit.");
	for (int k = 0; k < 2; k++)
		fprintf(f,
		    "aqgrid_hj212_connections_total{result=\"%s\"} %llu\n",
		    conns[k],
		    (unsigned long long)atomic_load_explicit(
			conn_counts[k], memory_order_relaxed));
	metric_head(f, "aqgrid_hj212_disconnects_total", "counter",
	    "HJ 212 connections ended: idle, slow frame, error, or closed "
	    "by the logger.");
	for (int k = 0; k < STATE_HJ212_DISC_COUNT; k++)
		fprintf(f,
		    "aqgrid_hj212_disconnects_total{reason=\"%s\"} %llu\n",
		    state_hj212_disc_name((enum state_hj212_disc)k),
		    (unsigned long long)atomic_load_explicit(
			&c->hj212_disconnects[k], memory_order_relaxed));
	metric_head(f, "aqgrid_hj212_frames_total", "counter",
	    "HJ 212 frames, by what became of them at the listener.");
	for (int k = 0; k < STATE_HJ212_FRAME_COUNT; k++)
		fprintf(f, "aqgrid_hj212_frames_total{result=\"%s\"} %llu\n",
		    state_hj212_frame_name((enum state_hj212_frame)k),
		    (unsigned long long)atomic_load_explicit(
			&c->hj212_frames[k], memory_order_relaxed));
	metric_head(f, "aqgrid_hj212_garbage_bytes_total", "counter",
	    "Bytes between HJ 212 frames that were not part of one.");
	fprintf(f, "aqgrid_hj212_garbage_bytes_total %llu\n",
	    (unsigned long long)atomic_load_explicit(
		&c->hj212_garbage_bytes, memory_order_relaxed));
	metric_head(f, "aqgrid_hj212_acks_total", "counter",
	    "HJ 212 data acknowledgements (CN 9014) sent.");
	fprintf(f, "aqgrid_hj212_acks_total %llu\n",
	    (unsigned long long)atomic_load_explicit(
		&c->hj212_acks, memory_order_relaxed));
	metric_head(f, "aqgrid_hj212_flagged_total", "counter",
	    "HJ 212 values left out for their flag, by flag letter.");
	for (int k = 0; k < 26; k++) {
		uint64_t n = atomic_load_explicit(
		    &c->hj212_flagged[k], memory_order_relaxed);

		if (n != 0)
			fprintf(f,
			    "aqgrid_hj212_flagged_total{flag=\"%c\"} %llu\n",
			    'A' + k, (unsigned long long)n);
	}
}

/* ---- OpenAPI ---- */

static json_t *
openapi_build(void)
{
	json_t *doc = json_object(), *j, *paths, *comp, *p;

	if (doc == NULL ||
	    json_object_set_new(doc, "openapi", json_string("3.0.3")) ||
	    (j = child(doc, "info")) == NULL ||
	    json_object_set_new(j, "title", json_string("aqgridd API")) ||
	    json_object_set_new(j, "version", json_string(AQ_VERSION)) ||
	    json_object_set_new(j, "description",
		json_string("Air-quality grid monitoring: cells, areas, AQI "
			    "(HJ 633 / US EPA), concentration limits and the "
			    "daemon's health. Hours are labelled by their "
			    "end, in local time with offset.")) ||
	    (paths = child(doc, "paths")) == NULL)
		goto fail;
	for (int k = 0; k < R_COUNT; k++) {
		if ((p = child(paths, route_pattern[k])) == NULL ||
		    (routes[k].fn != NULL &&
			json_object_set_new(p, "get", openapi_op(&routes[k]))))
			goto fail;
		for (const struct method_def *m = routes[k].more;
		     m != NULL && m->http != NULL; m++)
			if (json_object_set_new(
				p, m->key, openapi_method(&routes[k], m)))
				goto fail;
	}
	if ((j = child(doc, "components")) == NULL ||
	    json_object_set_new(j, "securitySchemes",
		json_pack("{s:{s:s,s:s,s:s}}", "bearer", "type", "http",
		    "scheme", "bearer", "description",
		    "A token of [http] tokens_file: rw for writes; ro or rw "
		    "for reads when read_auth is on.")) ||
	    (comp = child(j, "schemas")) == NULL)
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
	    (p = child_array(op, "tags")) == NULL ||
	    json_array_append_new(p, json_string(rd->tag)) ||
	    (params = child_array(op, "parameters")) == NULL ||
	    (resps = child(op, "responses")) == NULL)
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
		    ((r = child(resps, code)) == NULL ||
			json_object_set_new(
			    r, "description", json_string(rs->doc)) ||
			child(r, "content") == NULL))
			goto fail;
		if ((m = child(json_object_get(r, "content"),
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
		if ((r = child(resps, code)) == NULL ||
		    json_object_set_new(
			r, "description", json_string(before[k].doc)) ||
		    (m = child(r, "content")) == NULL ||
		    (m = child(m, "application/json")) == NULL ||
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
	    (props = child(o, "properties")) == NULL ||
	    (req = child_array(o, "required")) == NULL)
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
			    (en = child_array(t, "enum")) == NULL)
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
			    (en = child_array(t, "enum")) == NULL ||
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
			    (any = child_array(w, "anyOf")) == NULL) {
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
			    (nul = child_array(nul, "enum")) == NULL ||
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

/* ---- Dust sites ---- */

static json_t *
jnum(bool has, double v)
{
	return has && isfinite(v) ? json_real(round(v * 10) / 10) : json_null();
}

static json_t *
site_json(struct req *r, const struct site_info *si)
{
	const struct site_def *d = si->def;
	const struct conf *c = state_conf(r->a->st);
	const struct site_eval *e = &si->e;
	bool hour = si->last_hour != 0;
	json_t *o = json_pack(
	    "{s:o,s:o,s:s,s:o,s:o,s:s,s:f,s:f,s:b,s:s,s:o,s:o,"
	    "s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:i,s:i}",
	    "id", jtext(d->id), "name", jtext(d->name), "kind",
	    site_kind_name(d->kind), "company", jtext(d->company), "contact",
	    jtext(d->contact), "cell", c->cells[d->cell].id, "lat", d->lat,
	    "lon", d->lon, "active", si->active, "status",
	    site_status_name(si->status), "since", jwhen(r, si->since), "hour",
	    jwhen(r, si->last_hour), "last_seen", jwhen(r, si->last_seen),
	    "pm10_1h", jnum(hour && e->has_1h, e->v1h), "background",
	    jnum(hour && e->has_bg, e->bg), "excess",
	    jnum(hour && e->has_1h && e->has_bg, e->v1h - e->bg),
	    "pm10_rolling", jnum(hour && e->has_roll, e->roll),
	    "background_rolling", jnum(hour && e->has_bgroll, e->bgroll),
	    "pm25_1h", jnum(si->has_pm25, si->pm25_1h), "red_hours",
	    (int)si->red_hours, "episodes", (int)si->episodes);

	if (o == NULL)
		return NULL;
	json_object_set_new(
	    o, "pm25_background", jnum(hour && e->has25_bg, e->bg25));
	json_object_set_new(o, "pm25_excess",
	    jnum(hour && e->has25_1h && e->has25_bg, e->v25_1h - e->bg25));
	json_object_set_new(
	    o, "pm25_rolling", jnum(hour && e->has25_roll, e->roll25));
	json_object_set_new(o, "pm25_background_rolling",
	    jnum(hour && e->has25_bgroll, e->bgroll25));
	json_object_set_new(o, "tsp_1h", jnum(si->has_tsp, si->tsp_1h));
	json_object_set_new(
	    o, "tsp_rolling", jnum(hour && e->hastsp_roll, e->tsp_roll));
	return o;
}

static int
h_sites(struct req *r)
{
	uint32_t n;
	json_t *list;
	struct site_info si;

	if (!alerts_on(r))
		return AQ_OK;
	n = service_site_count(r->a->svc);
	if ((list = json_array()) == NULL)
		return AQ_ERR_NOMEM;
	for (uint32_t k = 0; k < n; k++)
		if (service_site_info(r->a->svc, k, r->now, &si) == AQ_OK &&
		    json_array_append_new(list, site_json(r, &si)) != 0) {
			json_decref(list);
			return AQ_ERR_NOMEM;
		}
	r->code = MHD_HTTP_OK;
	return (r->json = json_pack("{s:I,s:o}", "count", (json_int_t)n,
		    "results", list)) != NULL
	    ? AQ_OK
	    : AQ_ERR_NOMEM;
}

static json_t *
jdate(int32_t yyyymmdd)
{
	char buf[16];

	if (yyyymmdd == 0)
		return json_null();
	snprintf(buf, sizeof(buf), "%04d-%02d-%02d", (int)(yyyymmdd / 10000),
	    (int)(yyyymmdd / 100 % 100), (int)(yyyymmdd % 100));
	return json_string(buf);
}

static int
h_site(struct req *r)
{
	struct site_change *changes = NULL;
	int64_t hours[SITE_HOURS], site;
	struct site_eval ev[SITE_HOURS];
	struct site_info si;
	json_t *rcv, *sen, *cl, *hl;
	uint32_t n;
	int rc = AQ_ERR_NOMEM;

	if (!alerts_on(r))
		return AQ_OK;
	if ((site = service_site_find(r->a->svc, r->param)) < 0 ||
	    service_site_info(r->a->svc, (uint32_t)site, r->now, &si) != AQ_OK)
		return fail(r, MHD_HTTP_NOT_FOUND, "no such site");
	if ((changes = calloc(SITE_CHANGES, sizeof(*changes))) == NULL ||
	    (r->json = site_json(r, &si)) == NULL ||
	    (rcv = child_array(r->json, "receivers")) == NULL ||
	    (sen = child_array(r->json, "sensors")) == NULL ||
	    (cl = child_array(r->json, "changes")) == NULL ||
	    (hl = child_array(r->json, "hours")) == NULL)
		goto out;
	for (uint32_t k = 0; k < si.def->nreceivers; k++)
		json_array_append_new(rcv, jtext(si.def->receivers[k]));
	for (uint32_t k = 0; k < si.def->nsensors; k++)
		json_array_append_new(sen, jtext(si.def->sensors[k]));
	json_object_set_new(r->json, "from", jdate(si.def->from));
	json_object_set_new(r->json, "to", jdate(si.def->to));
	n = service_site_changes(
	    r->a->svc, (uint32_t)site, changes, SITE_CHANGES);
	for (uint32_t k = 0; k < n; k++) {
		const struct site_change *c = &changes[k];
		json_t *ch = json_pack(
		    "{s:I,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,"
		    "s:o}",
		    "id", (json_int_t)c->id, "from", site_status_name(c->from),
		    "status", site_status_name(c->to), "hour",
		    jwhen(r, c->hour), "pm10_1h", jnum(c->e.has_1h, c->e.v1h),
		    "background", jnum(c->e.has_bg, c->e.bg), "excess",
		    jnum(c->e.has_1h && c->e.has_bg, c->e.v1h - c->e.bg),
		    "pm10_rolling", jnum(c->e.has_roll, c->e.roll),
		    "background_rolling", jnum(c->e.has_bgroll, c->e.bgroll),
		    "pm25_1h", jnum(c->e.has25_1h, c->e.v25_1h),
		    "pm25_background", jnum(c->e.has25_bg, c->e.bg25),
		    "pm25_rolling", jnum(c->e.has25_roll, c->e.roll25),
		    "pm25_background_rolling",
		    jnum(c->e.has25_bgroll, c->e.bgroll25));

		if (ch != NULL) {
			json_object_set_new(
			    ch, "tsp_1h", jnum(c->e.hastsp_1h, c->e.tsp_1h));
			json_object_set_new(ch, "tsp_rolling",
			    jnum(c->e.hastsp_roll, c->e.tsp_roll));
			json_array_append_new(cl, ch);
		}
	}
	n = service_site_hours(r->a->svc, (uint32_t)site, hours, ev, 48);
	for (uint32_t k = 0; k < n; k++) {
		json_t *ho = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "hour",
		    jwhen(r, hours[k]), "pm10_1h",
		    jnum(ev[k].has_1h, ev[k].v1h), "background",
		    jnum(ev[k].has_bg, ev[k].bg), "excess",
		    jnum(ev[k].has_1h && ev[k].has_bg, ev[k].v1h - ev[k].bg),
		    "pm25_1h", jnum(ev[k].has25_1h, ev[k].v25_1h),
		    "pm25_background", jnum(ev[k].has25_bg, ev[k].bg25));

		if (ho != NULL) {
			json_object_set_new(
			    ho, "tsp_1h", jnum(ev[k].hastsp_1h, ev[k].tsp_1h));
			json_array_append_new(hl, ho);
		}
	}
	r->code = MHD_HTTP_OK;
	rc = AQ_OK;
out:
	free(changes);
	return rc;
}

static int
h_site_blacklist(struct req *r)
{
	const char *m = arg(r, "month");
	struct site_black *bl = NULL;
	struct site_rules rules;
	int32_t ym;
	uint32_t n;
	json_t *list;
	char name[16];
	int rc = AQ_ERR_NOMEM;

	if (!alerts_on(r))
		return AQ_OK;
	if (m != NULL) {
		int32_t date;
		char buf[16];

		if (strlen(m) != 7 ||
		    snprintf(buf, sizeof(buf), "%s-01", m) >=
			(int)sizeof(buf) ||
		    tz_parse_date(buf, &date) != AQ_OK)
			return fail(
			    r, MHD_HTTP_BAD_REQUEST, "month: expected YYYY-MM");
		ym = date / 100;
	} else {
		ym = tz_date(r->tz, r->now) / 100;
	}
	snprintf(
	    name, sizeof(name), "%04d-%02d", (int)(ym / 100), (int)(ym % 100));
	service_site_rules(r->a->svc, &rules);
	if ((bl = calloc(SITE_MAX, sizeof(*bl))) == NULL ||
	    (list = json_array()) == NULL)
		goto out;
	n = service_site_blacklist(r->a->svc, ym, bl, SITE_MAX);
	for (uint32_t k = 0; k < n && k < SITE_MAX; k++)
		json_array_append_new(list,
		    json_pack("{s:o,s:o,s:s,s:o,s:o,s:i,s:i}", "id",
			jtext(bl[k].def->id), "name", jtext(bl[k].def->name),
			"kind", site_kind_name(bl[k].def->kind), "company",
			jtext(bl[k].def->company), "contact",
			jtext(bl[k].def->contact), "red_hours",
			(int)bl[k].red_hours, "episodes", (int)bl[k].episodes));
	r->code = MHD_HTTP_OK;
	if ((r->json = json_pack("{s:s,s:i,s:i,s:I,s:o}", "month", name,
		 "red_hours_min", rules.bl_hours, "episodes_min",
		 rules.bl_episodes, "count", (json_int_t)json_array_size(list),
		 "results", list)) != NULL)
		rc = AQ_OK;
out:
	free(bl);
	return rc;
}
