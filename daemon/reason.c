/* reason: names of refusal reasons (see reason.h). */
#include "daemon/reason.h"

const char *
reason_name(enum reason r)
{
	static const char *const names[REASON_COUNT] = {
	    [REASON_OVERSIZE] = "oversize",
	    [REASON_SYNTAX] = "syntax",
	    [REASON_SCHEMA] = "schema",
	    [REASON_NO_SENSOR] = "no_sensor",
	    [REASON_BAD_TIME] = "bad_time",
	    [REASON_NO_VALUES] = "no_values",
	    [REASON_BAD_UNIT] = "bad_unit",
	    [REASON_NOT_NUMBER] = "not_number",
	    [REASON_NOT_FINITE] = "not_finite",
	    [REASON_NEGATIVE] = "negative",
	    [REASON_OUT_OF_RANGE] = "out_of_range",
	    [REASON_FUTURE] = "future",
	    [REASON_TOO_LATE] = "too_late",
	    [REASON_DUPLICATE] = "duplicate",
	    [REASON_UNPLACED] = "unplaced",
	    [REASON_UNKNOWN_CELL] = "unknown_cell",
	    [REASON_CAPACITY] = "capacity",
	    [REASON_QUEUE_FULL] = "queue_full",
	    [REASON_UNKNOWN_LOGGER] = "unknown_logger",
	    [REASON_BAD_PASSWORD] = "bad_password",
	    [REASON_FLAGGED] = "flagged",
	    [REASON_SENSOR_FAULT] = "sensor_fault",
	};

	return (unsigned)r < REASON_COUNT ? names[r] : "unknown";
}
