/*
 * qc: range and clock checks of decoded readings (see qc.h).
 *
 * A value at exactly its bound passes; zero passes.  A reading stamped too
 * far ahead is refused before its values are looked at, so they are not
 * counted as dropped.  When the values of a reading all went for one
 * reason, the reading is refused with that reason (a reading whose only
 * value is negative is "negative"), else with no_values.
 */
#include "sensors/qc.h"

#include <math.h>

#define QC_MAX_FUTURE 300 /* seconds */

/* Bounds far above any real ambient reading, canonical units (pol.h). */
static const double qc_max[POL_COUNT] = {
    [POL_PM25] = 2000,
    [POL_PM10] = 10000,
    [POL_SO2] = 10000,
    [POL_NO2] = 5000,
    [POL_CO] = 150,
    [POL_O3] = 2000,
};

void
qc_defaults(struct qc_conf *c)
{
	for (int p = 0; p < POL_COUNT; p++)
		c->max[p] = qc_max[p];
	c->check_future = true;
	c->max_future = QC_MAX_FUTURE;
}

int
qc_check(const struct qc_conf *c, struct decoded *r, int64_t now,
    uint32_t dropped[REASON_COUNT], enum reason *why)
{
	uint32_t reasons = 0;
	enum reason gone = REASON_NO_VALUES;

	if (c->check_future && r->ts > now + c->max_future) {
		*why = REASON_FUTURE;
		return AQ_ERR_RANGE;
	}
	for (int p = 0; p < POL_COUNT; p++) {
		double v = r->v[p];

		if ((r->has & (UINT32_C(1) << p)) == 0)
			continue;
		if (!isfinite(v))
			gone = REASON_NOT_FINITE;
		else if (v < 0)
			gone = REASON_NEGATIVE;
		else if (v > c->max[p])
			gone = REASON_OUT_OF_RANGE;
		else
			continue;
		r->has &= ~(UINT32_C(1) << p);
		dropped[gone]++;
		reasons |= UINT32_C(1) << gone;
	}
	/* Weather fields feed no index: a bad one is forgotten, not counted. */
	for (int m = 0; m < MET_COUNT; m++)
		if (m != MET_TSP && !isfinite(r->met[m]))
			r->met_has &= ~(UINT32_C(1) << m);
	/* TSP (a dust site's) is checked like a pollutant and counted, but
	 * never decides whether the reading is refused. */
	if (r->met_has & (UINT32_C(1) << MET_TSP)) {
		double v = r->met[MET_TSP];
		enum reason bad = !isfinite(v) ? REASON_NOT_FINITE
		    : v < 0                    ? REASON_NEGATIVE
		    : v > QC_TSP_MAX           ? REASON_OUT_OF_RANGE
					       : REASON_COUNT;

		if (bad != REASON_COUNT) {
			r->met_has &= ~(UINT32_C(1) << MET_TSP);
			dropped[bad]++;
		}
	}
	if (r->has != 0)
		return AQ_OK;
	*why = reasons == (UINT32_C(1) << gone) ? gone : REASON_NO_VALUES;
	return AQ_ERR_RANGE;
}
