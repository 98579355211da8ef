/*
 * err: the project's error codes.
 * Functions return int holding enum aq_err; AQ_OK is 0.  aq_strerror()
 * returns a static string and never fails.
 */
#ifndef AQ_DAEMON_ERR_H
#define AQ_DAEMON_ERR_H

#define AQ_MUSTCHECK __attribute__((warn_unused_result))

enum aq_err {
	AQ_OK = 0,
	AQ_ERR_NOMEM,
	AQ_ERR_INVAL,
	AQ_ERR_RANGE,
	AQ_ERR_STALE,
	AQ_ERR_DUP,
	AQ_ERR_IO,
	AQ_ERR_FULL,
	AQ_ERR_NOTFOUND,
};

const char *aq_strerror(int err);

#endif
