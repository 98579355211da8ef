/*
 * pol: pollutants, indicators and units, and the exact conversions between
 * mass concentrations and mixing ratios at 25 degC and 1013.25 hPa
 * (V_m = 24.465 L/mol; STANDARDS.md section 6).
 * Canonical units: ug/m3, except CO in mg/m3.  Particulate matter is never
 * converted to ppb/ppm.  Pure: static tables only, thread-safe, never logs.
 */
#ifndef AQ_DAEMON_POL_H
#define AQ_DAEMON_POL_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/err.h"

enum pol { POL_PM25, POL_PM10, POL_SO2, POL_NO2, POL_CO, POL_O3, POL_COUNT };

/* An indicator is a pollutant with its averaging; the names are the API's. */
enum ind {
	IND_PM25_1H,
	IND_PM25_24H,
	IND_PM10_1H,
	IND_PM10_24H,
	IND_SO2_1H,
	IND_SO2_24H,
	IND_NO2_1H,
	IND_NO2_24H,
	IND_CO_1H,
	IND_CO_8H,
	IND_CO_24H,
	IND_O3_1H,
	IND_O3_8H,
	IND_PM25_ANNUAL,
	IND_PM10_ANNUAL,
	IND_SO2_ANNUAL,
	IND_NO2_ANNUAL,
	IND_COUNT
};
/* Indicators before this one can carry an IAQI. */
#define IND_AQI_COUNT IND_PM25_ANNUAL
#define IND_BIT(i) (UINT32_C(1) << (i))

enum unit { UNIT_UGM3, UNIT_MGM3, UNIT_PPB, UNIT_PPM, UNIT_COUNT };

/* "pm25", "pm10", "so2", "no2", "co", "o3". */
const char *pol_name(enum pol p);
/* Returns the pollutant named s, or -1. */
int pol_from_name(const char *s);
/* Canonical unit: UNIT_MGM3 for CO, UNIT_UGM3 otherwise. */
enum unit pol_unit(enum pol p);
bool pol_is_gas(enum pol p);

/* "pm25_1h", ...; ind_from_name returns -1 for an unknown name. */
const char *ind_name(enum ind i);
int ind_from_name(const char *s);
enum pol ind_pol(enum ind i);

/* "ug/m3", "mg/m3", "ppb", "ppm"; unit_from_name returns -1 if unknown. */
const char *unit_name(enum unit u);
int unit_from_name(const char *s);

/*
 * Converts v (fix units, see fix.h) of pollutant p from one unit to another.
 * The exact result is rounded down when floor is true (for the US
 * truncation), else to nearest.  AQ_ERR_INVAL for a mixing ratio of
 * particulate matter, AQ_ERR_RANGE on overflow.
 */
int pol_convert(enum pol p, int64_t v, enum unit from, enum unit to, bool floor,
    int64_t *out) AQ_MUSTCHECK;

#endif
