/*
 * api_cells: /api/v1/cells, /api/v1/cells/{id}, /api/v1/areas and
 * /api/v1/areas/{id}: each cell's latest complete hour (AQI, IAQIs,
 * concentrations, exceedances, the latest complete day, sensors) and
 * areas aggregated from their cells (worst cell, means, level counts).
 * Handlers as api_internal.h says.
 */
#ifndef AQ_WEB_API_CELLS_H
#define AQ_WEB_API_CELLS_H

#include "web/api_internal.h"

handler_fn api_cells, api_cell, api_areas, api_area;

#endif
