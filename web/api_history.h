/*
 * api_history: /api/v1/cells/{id}/history, /api/v1/cells/{id}/daily and
 * /api/v1/areas/{id}/history: rows from the store, paged by cursor
 * (X-Next-Cursor), as JSON or CSV.  503 without a [store].  Handlers as
 * api_internal.h says.
 */
#ifndef AQ_WEB_API_HISTORY_H
#define AQ_WEB_API_HISTORY_H

#include "web/api_internal.h"

handler_fn api_cell_history, api_cell_daily, api_area_history;

#endif
