/*
 * api_sites: /api/v1/sites, /api/v1/sites/{id} and
 * /api/v1/sites/blacklist: the dust sites' status, history and monthly
 * red hours, from the alert service.  Handlers as api_internal.h says.
 */
#ifndef AQ_WEB_API_SITES_H
#define AQ_WEB_API_SITES_H

#include "web/api_internal.h"

handler_fn api_sites, api_site, api_site_blacklist;

#endif
