/*
 * qc: quality control of decoded readings before they reach the engine.
 * Non-finite, negative and physically impossible values are dropped one by
 * one and counted by reason; a reading left with no pollutant value, or
 * stamped too far ahead of the wall clock, is refused whole.
 * Pure: no allocation, never logs, thread-safe.
 */
#ifndef AQ_SENSORS_QC_H
#define AQ_SENSORS_QC_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/err.h"
#include "daemon/pol.h"
#include "daemon/reason.h"
#include "sensors/decode.h"

struct qc_conf {
	double max[POL_COUNT]; /* largest possible value, canonical unit */
	bool check_future;     /* off for replays of old data */
	int64_t max_future;    /* seconds a timestamp may lead the clock */
};

/* TSP's bound, ug/m3: twice PM10's (TSP holds PM10 and coarser dust). */
#define QC_TSP_MAX 20000

/* Bounds well above any real reading (README.md lists them). */
void qc_defaults(struct qc_conf *c);

/*
 * Checks r in place at wall-clock time now, adding dropped values to
 * dropped[].  Returns AQ_OK, or AQ_ERR_RANGE with *why when the whole
 * reading is refused.
 */
int qc_check(const struct qc_conf *c, struct decoded *r, int64_t now,
    uint32_t dropped[REASON_COUNT], enum reason *why) AQ_MUSTCHECK;

#endif
