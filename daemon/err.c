/* err: text for the project's error codes. */
#include "daemon/err.h"

#include <stddef.h>

const char *
aq_strerror(int err)
{
	static const char *const text[] = {
	    [AQ_OK] = "ok",
	    [AQ_ERR_NOMEM] = "out of memory",
	    [AQ_ERR_INVAL] = "invalid argument",
	    [AQ_ERR_RANGE] = "value out of range",
	    [AQ_ERR_STALE] = "too late",
	    [AQ_ERR_DUP] = "duplicate",
	    [AQ_ERR_IO] = "input/output error",
	    [AQ_ERR_FULL] = "capacity exhausted",
	    [AQ_ERR_NOTFOUND] = "not found",
	};

	if (err < 0 || (unsigned)err >= sizeof(text) / sizeof(text[0]) ||
	    text[err] == NULL)
		return "unknown error";
	return text[err];
}
