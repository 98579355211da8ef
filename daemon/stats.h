/*
 * stats: small order statistics on doubles, shared by the fault
 * detector, the hotspots and the dust sites' background (each had its
 * own median).  Pure functions: no allocation, no logging, thread-safe
 * on distinct arrays.
 */
#ifndef AQ_DAEMON_STATS_H
#define AQ_DAEMON_STATS_H

#include <stdint.h>

/*
 * The median of v[0..n) without its NaNs: the middle value, or the mean
 * of the two middle ones for an even count; NaN when no value is left
 * (n = 0, or all NaN).  Reorders v: its values come first, ascending, the
 * NaNs after them.  An insertion sort: meant for the few values of a
 * neighbourhood (tens), where it beats qsort.
 */
double stats_median(double *v, uint32_t n);

#endif
