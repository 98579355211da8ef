/*
 * reason: why a payload, a reading or a value was refused.  The names are
 * the `reason` label of the metrics and the keys of the status API.
 * Pure: static table, thread-safe.
 */
#ifndef AQ_DAEMON_REASON_H
#define AQ_DAEMON_REASON_H

enum reason {
	REASON_OVERSIZE,       /* payload larger than the configured bound */
	REASON_SYNTAX,         /* not valid JSON (or not UTF-8) */
	REASON_SCHEMA,         /* valid JSON of the wrong shape or types */
	REASON_NO_SENSOR,      /* no sensor id in the payload or topic */
	REASON_BAD_TIME,       /* timestamp missing or unreadable */
	REASON_NO_VALUES,      /* no pollutant value left to use */
	REASON_BAD_UNIT,       /* unknown unit, or ppb for particles */
	REASON_NOT_NUMBER,     /* a value that is a string, bool, ... */
	REASON_NOT_FINITE,     /* NaN or infinity, however spelled */
	REASON_NEGATIVE,       /* a concentration below zero */
	REASON_OUT_OF_RANGE,   /* physically impossible */
	REASON_FUTURE,         /* timestamp too far ahead of the clock */
	REASON_TOO_LATE,       /* older than the lateness allows */
	REASON_DUPLICATE,      /* same sensor and timestamp seen before */
	REASON_UNPLACED,       /* sensor not in any cell of the grid */
	REASON_UNKNOWN_CELL,   /* names a cell the grid does not have */
	REASON_CAPACITY,       /* sensor table full */
	REASON_QUEUE_FULL,     /* ingest queue full: lost, counted */
	REASON_UNKNOWN_LOGGER, /* HJ 212: MN not in the sensor registry */
	REASON_BAD_PASSWORD,   /* HJ 212: PW does not match the registry */
	REASON_FLAGGED,        /* HJ 212: value flagged other than N */
	REASON_SENSOR_FAULT,   /* value of a sensor flagged faulty (fault.h) */
	REASON_COUNT
};

/* "oversize", "syntax", ... */
const char *reason_name(enum reason r);

#endif
