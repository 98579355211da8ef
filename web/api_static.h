/*
 * api_static: / and /static/{file}: files of web_root/static, one segment
 * of [A-Za-z0-9._-] not starting with '.', regular files only, answered
 * from an open descriptor with a type by extension.  Handler as
 * api_internal.h says.
 */
#ifndef AQ_WEB_API_STATIC_H
#define AQ_WEB_API_STATIC_H

#include "web/api_internal.h"

handler_fn api_static;

#endif
