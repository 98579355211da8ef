/*
 * api_status: /healthz (liveness), /readyz (connected to the broker),
 * /api/v1/status (version, uptime, ingest counters, standards) and
 * /metrics (Prometheus text).  Reads counters only, relaxed.  Handlers as
 * api_internal.h says.
 */
#ifndef AQ_WEB_API_STATUS_H
#define AQ_WEB_API_STATUS_H

#include "web/api_internal.h"

handler_fn api_healthz, api_readyz, api_status, api_metrics;

#endif
