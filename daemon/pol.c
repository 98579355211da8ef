/* pol: pollutant and indicator names, units and conversions (see pol.h). */
#include "daemon/pol.h"

#include <string.h>

#include "daemon/fix.h"

/* Molar masses in 1e-4 g/mol, and the molar volume in 1e-4 L/mol, so that
 * ug/m3 = ppb * M / V_m is a ratio of integers. */
#define MOLAR_VOLUME INT64_C(244650)

static const struct {
	const char *name;
	int64_t molar_mass;
} pols[POL_COUNT] = {
    [POL_PM25] = {"pm25", 0},
    [POL_PM10] = {"pm10", 0},
    [POL_SO2] = {"so2", 640660},
    [POL_NO2] = {"no2", 460055},
    [POL_CO] = {"co", 280100},
    [POL_O3] = {"o3", 479970},
};

static const struct {
	const char *name;
	enum pol pol;
} inds[IND_COUNT] = {
    [IND_PM25_1H] = {"pm25_1h", POL_PM25},
    [IND_PM25_24H] = {"pm25_24h", POL_PM25},
    [IND_PM10_1H] = {"pm10_1h", POL_PM10},
    [IND_PM10_24H] = {"pm10_24h", POL_PM10},
    [IND_SO2_1H] = {"so2_1h", POL_SO2},
    [IND_SO2_24H] = {"so2_24h", POL_SO2},
    [IND_NO2_1H] = {"no2_1h", POL_NO2},
    [IND_NO2_24H] = {"no2_24h", POL_NO2},
    [IND_CO_1H] = {"co_1h", POL_CO},
    [IND_CO_8H] = {"co_8h", POL_CO},
    [IND_CO_24H] = {"co_24h", POL_CO},
    [IND_O3_1H] = {"o3_1h", POL_O3},
    [IND_O3_8H] = {"o3_8h", POL_O3},
    [IND_PM25_ANNUAL] = {"pm25_annual", POL_PM25},
    [IND_PM10_ANNUAL] = {"pm10_annual", POL_PM10},
    [IND_SO2_ANNUAL] = {"so2_annual", POL_SO2},
    [IND_NO2_ANNUAL] = {"no2_annual", POL_NO2},
};

static const char *const units[UNIT_COUNT] = {
    [UNIT_UGM3] = "ug/m3",
    [UNIT_MGM3] = "mg/m3",
    [UNIT_PPB] = "ppb",
    [UNIT_PPM] = "ppm",
};

const char *
pol_name(enum pol p)
{
	return pols[p].name;
}

int
pol_from_name(const char *s)
{
	for (int p = 0; p < POL_COUNT; p++)
		if (strcmp(s, pols[p].name) == 0)
			return p;
	return -1;
}

enum unit
pol_unit(enum pol p)
{
	return p == POL_CO ? UNIT_MGM3 : UNIT_UGM3;
}

bool
pol_is_gas(enum pol p)
{
	return pols[p].molar_mass != 0;
}

const char *
ind_name(enum ind i)
{
	return inds[i].name;
}

int
ind_from_name(const char *s)
{
	for (int i = 0; i < IND_COUNT; i++)
		if (strcmp(s, inds[i].name) == 0)
			return i;
	return -1;
}

enum pol
ind_pol(enum ind i)
{
	return inds[i].pol;
}

const char *
unit_name(enum unit u)
{
	return units[u];
}

int
unit_from_name(const char *s)
{
	for (int u = 0; u < UNIT_COUNT; u++)
		if (strcmp(s, units[u]) == 0)
			return u;
	return -1;
}

int
pol_convert(enum pol p, int64_t v, enum unit from, enum unit to, bool floor,
    int64_t *out)
{
	/* Each unit as a multiple of ug/m3 (mass) or ppb (mixing ratio). */
	static const int64_t scale[UNIT_COUNT] = {1, 1000, 1, 1000};
	bool from_mass = from == UNIT_UGM3 || from == UNIT_MGM3;
	bool to_mass = to == UNIT_UGM3 || to == UNIT_MGM3;
	int64_t num = scale[from], den = scale[to];
	int64_t mid;
	int rc;

	if (!pol_is_gas(p) && (!from_mass || !to_mass))
		return AQ_ERR_INVAL;
	if (from == to) {
		*out = v;
		return AQ_OK;
	}
	if (from_mass != to_mass) {
		if (from_mass) {
			num *= MOLAR_VOLUME;
			den *= pols[p].molar_mass;
		} else {
			num *= pols[p].molar_mass;
			den *= MOLAR_VOLUME;
		}
	}
	/* num and den are below 2^31, so one 128-bit step is exact. */
	if (floor)
		rc = fix_muldiv_floor(v, num, den, &mid);
	else
		rc = fix_muldiv_round(v, num, den, &mid);
	if (rc == AQ_OK)
		*out = mid;
	return rc;
}
