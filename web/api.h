/*
 * api: aqgridd's HTTP server (libmicrohttpd): the REST API under /api/v1,
 * /healthz, /readyz, /metrics (Prometheus text) and the dashboard's static
 * files.  Handlers only read: cell views, counters and the configuration
 * from state.h; they never touch the engine.  Errors are JSON
 * {"error": "..."} with the right status.  The server runs its own threads.
 *
 * Routes (GET and HEAD; another method gets 405 with Allow, an unknown
 * path 404): /healthz, /readyz, /api/v1/status, /api/v1/cells,
 * /api/v1/cells/{id}, /api/v1/areas, /api/v1/areas/{id},
 * /api/v1/hotspots, /api/v1/openapi.json, /metrics, /
 * (web_root/static/index.html) and /static/{file} (web_root/static/FILE: one
 * segment of [A-Za-z0-9._-], not starting with '.', no %-escapes, no links). No
 * route takes a request body yet; a body is read (up to [http] max_body, else
 * 413) before the handler runs, so that later POST routes find it whole.
 *
 * Every target goes through api_parse_target() first: what it refuses
 * gets 400 or 414 before any route sees it.  Every answer of ours carries
 * Content-Security-Policy (no inline script; 'none' but for the
 * dashboard), X-Content-Type-Options: nosniff, Referrer-Policy:
 * no-referrer, X-Frame-Options: DENY and Cache-Control: no-cache.  CORS
 * is off unless [http] cors_origins lists the request's Origin: then the
 * answer carries Access-Control-Allow-Origin: ORIGIN and Vary: Origin,
 * and an OPTIONS preflight to a route gets 204 with the allowed methods,
 * headers and Max-Age; other origins get nothing CORS.  What
 * libmicrohttpd refuses on its own (a request line or headers over
 * max_header: 414 or 431; a connection over client_connections or
 * connections: closed unanswered) carries none of these headers.  With
 * tls_cert and tls_key the server speaks only HTTPS (TLS 1.2 or 1.3).
 */
#ifndef AQ_WEB_API_H
#define AQ_WEB_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>

#include "alerts/service.h"
#include "daemon/conf.h"
#include "daemon/state.h"

struct api;

/*
 * Starts serving on the configuration's http address and port (port 0
 * picks a free one), with the alert routes on svc (NULL: they answer 503
 * "alerts are off").  Reads [http] tokens_file.  Borrows st and svc until
 * api_stop().  Returns owned, or NULL after logging why.
 */
struct api *api_start(struct state *st, struct service *svc);
/* Checks what api_start() reads beyond the configuration (the tokens
 * file), every problem to errs as "file:line: reason" (aqgridd -t).
 * AQ_OK or AQ_ERR_INVAL. */
int api_check(const struct conf *c, FILE *errs) AQ_MUSTCHECK;
/* The port actually bound. */
uint16_t api_port(const struct api *a);
/* Whether it speaks HTTPS ([http] tls_cert and tls_key). */
bool api_tls(const struct api *a);
/* Stops accepting, finishes requests in flight, frees a (NULL: no-op). */
void api_stop(struct api *a);

#define API_TARGET_MAX 2048 /* longest request target, bytes: else 414 */
#define API_ARGS_MAX 32     /* query parameters in one target */
#define API_PARAM_MAX 128   /* longest {id} or {file} segment */

/* A query parameter, decoded; value NULL for a key without '='. */
struct api_arg {
	const char *key, *value; /* into the api_target's buf */
};

/* A request target taken apart by api_parse_target(). */
struct api_target {
	int route;    /* index into api_routes(), or -1: none matched */
	bool escaped; /* the path held a %-escape */
	char param[API_PARAM_MAX]; /* the route's {name} segment, decoded */
	char path[API_TARGET_MAX]; /* decoded */
	size_t nargs;
	struct api_arg args[API_ARGS_MAX]; /* in the order sent */
	char buf[API_TARGET_MAX];
};

/*
 * Takes a request target apart as sent ("/path?query", not unescaped):
 * decodes %XX in the path and %XX and '+' in the query, matches the path
 * against the routes and splits the query at '&' and '='.  Pure: no
 * allocation, no I/O, no locks; t is scratch on failure.  Returns 0, or
 * the status to refuse with: 414 for a target of API_TARGET_MAX bytes or
 * more; 400 for one that is not "/..." (absolute URLs, "*"), a control
 * character or '#' anywhere, a bad %-escape or %00 anywhere, a '\\' in
 * the path as sent, an escaped '/' or control character there, a "." or
 * ".." segment (escaped or not), or more than API_ARGS_MAX parameters.
 * An escaped '\\' passes (cell ids may hold one): the static route
 * refuses any escape, and file names are [A-Za-z0-9._-].
 */
int api_parse_target(const char *target, struct api_target *t);

/*
 * The router's path patterns ("/api/v1/cells/{id}", ...), which are also
 * the route label of aqgrid_http_requests_total and the paths of the
 * OpenAPI document: sets *out to a static array and returns its length.
 */
size_t api_routes(const char *const **out);

#endif
