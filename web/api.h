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
 * /api/v1/openapi.json, /metrics, / (web_root/static/index.html) and
 * /static/{file} (web_root/static/FILE: one segment of [A-Za-z0-9._-],
 * not starting with '.', no %-escapes, no links).  No route takes a
 * request body.
 */
#ifndef AQ_WEB_API_H
#define AQ_WEB_API_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/state.h"

struct api;

/*
 * Starts serving on the configuration's http address and port (port 0
 * picks a free one).  Borrows st until api_stop().  Returns owned, or
 * NULL after logging why.
 */
struct api *api_start(struct state *st);
/* The port actually bound. */
uint16_t api_port(const struct api *a);
/* Stops accepting, finishes requests in flight, frees a (NULL: no-op). */
void api_stop(struct api *a);

/*
 * The router's path patterns ("/api/v1/cells/{id}", ...), which are also
 * the route label of aqgrid_http_requests_total and the paths of the
 * OpenAPI document: sets *out to a static array and returns its length.
 */
size_t api_routes(const char *const **out);

#endif
