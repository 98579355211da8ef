/* stats: order statistics (stats.h). */
#include "daemon/stats.h"

#include <math.h>

double
stats_median(double *v, uint32_t n)
{
	uint32_t m = 0;

	/* The values to the front, in order, the NaNs behind them. */
	for (uint32_t i = 0; i < n; i++) {
		double x = v[i];
		uint32_t j = m;

		if (isnan(x))
			continue;
		v[i] = v[m];
		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
		m++;
	}
	if (m == 0)
		return NAN;
	return m % 2 ? v[m / 2] : 0.5 * (v[m / 2 - 1] + v[m / 2]);
}
