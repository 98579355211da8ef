/*
 * api_internal: what the api_*.c modules share and nobody else may see:
 * the request (struct req) a handler reads and answers through, the
 * server (struct api), the route enum and the helpers api.c defines for
 * every handler.  A handler returns AQ_OK with r->code and r->json (or
 * r->body, r->text, r->fd) set, or api_fail()'s status, or AQ_ERR_NOMEM
 * (500).  Handlers run on MHD's threads: they read state.h copies and the
 * alert service, never the engine.
 */
#ifndef AQ_WEB_API_INTERNAL_H
#define AQ_WEB_API_INTERNAL_H

#include "web/api.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>
#include <microhttpd.h>

#include "alerts/alert.h"
#include "daemon/plan.h"

/* The largest limit of a list (cells, alerts, sites). */
#define API_LIMIT_MAX 10000
/* The 503 of the routes that read the store, without one. */
#define API_NO_STORE                                                           \
	"history: this daemon keeps no history (no [store] dir in its "        \
	"configuration)"
/* The latest time api_when() takes, and what a bad date is told. */
#define HIST_TIME_MAX INT64_C(253402300799) /* 9999-12-31T23:59:59Z */
#define HIST_DATE_DOC "expected YYYY-MM-DD, Unix seconds or ISO 8601"

/* Bearer tokens ([http] tokens_file): longest token and name, bytes. */
#define API_TOKEN_MAX 256
#define API_TOKEN_NAME_MAX ALERT_WHO_MAX
/* Events an event stream copies from the service's ring at once. */
#define SSE_BATCH 4

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

/* Status codes the request counter keeps apart (api.c); others count as
 * "other". */
#define API_NCODES 13
extern const unsigned int api_http_codes[API_NCODES];

struct api {
	struct MHD_Daemon *d;
	struct state *st;
	uint16_t port;
	char *openapi; /* the document, built once at start */
	size_t openapi_len;
	char *tls_cert, *tls_key; /* PEM, owned; NULL for plain HTTP */
	size_t tls_key_len;
	_Atomic uint64_t requests[R_COUNT + 1][API_NCODES + 1];
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
 * One event stream.  The list of a->sse holds it from api_events() until
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
	bool suspended;  /* by api_sse_read(), until resumed */
	bool started;    /* the first fill is done */
	bool done;       /* end once buf is sent */
	atomic_bool dead;
	size_t len, off; /* of buf: made, and handed to MHD */
	struct service_event ev[SSE_BATCH];
	char buf[SSE_BATCH * (SERVICE_EVENT_MAX + 64) + 256];
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

/* A growing output buffer; bad sticks once an allocation failed. */
struct buf {
	char *p;
	size_t len, cap;
	bool bad;
};

typedef int handler_fn(struct req *r);

void api_wipe(char *p, size_t n);
int api_fail(struct req *r, unsigned int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void api_put(struct buf *b, const char *p, size_t n);
void api_put_text(struct buf *b, const char *s);
void api_put_str(struct buf *b, const char *s);
void api_put_real(struct buf *b, double v);
void api_put_int(struct buf *b, bool has, long long v);
const char *api_query_arg(const struct req *r, const char *key);
int api_parse_count(const char *s, long long max, long long *out);
int api_find_area(const struct conf *c, const char *id);
json_t *api_child(json_t *parent, const char *key);
json_t *api_child_array(json_t *parent, const char *key);
json_t *api_jfix(bool has, int64_t v);
json_t *api_jint(bool has, long long v);
json_t *api_jstr(const char *s);
json_t *api_jtext(const char *s);
json_t *api_jtime(struct req *r, int64_t ts);
char *api_iso(struct req *r, int64_t ts, char *buf, size_t len);
json_t *api_jinds(uint32_t bits);
int api_when(struct req *r, const char *s, bool daily, bool end, int64_t *out);
char *api_date_text(int32_t d, char *buf, size_t len);
json_t *api_jdate(int32_t d);
int api_list(struct req *r, json_t *list);
json_t *api_jwhen(struct req *r, int64_t ts);
json_t *api_body_json(struct req *r, const char *keys);

#endif
