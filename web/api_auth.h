/*
 * api_auth: the [http] tokens_file ("name rw|ro token" lines, checked
 * whole at start and by aqgridd -t) and api_authorize(): writes need an
 * rw token, reads of /api/v1 need one when read_auth is on.  Tokens are
 * compared in constant time and wiped when the server stops; never
 * logged.
 */
#ifndef AQ_WEB_API_AUTH_H
#define AQ_WEB_API_AUTH_H

#include "web/api_internal.h"

int api_tokens_load(
    const char *path, FILE *errs, struct api_token **out, size_t *nout);
int api_authorize(struct req *r, bool write);

#endif
