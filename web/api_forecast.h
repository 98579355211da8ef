/*
 * api_forecast: /api/v1/cells/{id}/forecast (the cell's online model),
 * /api/v1/areas/{id}/warning and /forecast (warning level, external
 * forecasts posted for an area), /api/v1/hotspots and /api/v1/indicators
 * (the district plan's indicators, from a plan_cache warmed once at
 * start by api_plan_warm()).  Handlers as api_internal.h says.
 */
#ifndef AQ_WEB_API_FORECAST_H
#define AQ_WEB_API_FORECAST_H

#include "web/api_internal.h"

handler_fn api_cell_forecast, api_area_warning, api_area_forecast;
handler_fn api_indicators;
void *api_plan_warm(void *arg);
int api_hotspots(struct req *r);

#endif
