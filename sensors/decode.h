/*
 * decode: MQTT payloads into readings, one interface for every format:
 * the native JSON format (README.md), SenML JSON (RFC 8428), AirGradient's
 * MQTT JSON, Sensor.Community's JSON and HJ 212 frames (hj212.h; one
 * whole frame per payload, as MQTT gateways forward them).  Each call returns
 * readings or the reason it refused the payload; values converted to canonical
 * units (pol.h).  Values that are not numbers are dropped and counted in
 * out->dropped[]; range checks are qc's.
 * Payloads longer than the caller's bound are refused before parsing.
 * The native format is parsed by decode's own strict JSON parser, which
 * allocates nothing; for the other formats jansson allocates from a
 * per-thread arena reset per payload.  So decoding does not call malloc
 * in steady state (decode_init() installs the arena once per process,
 * before any thread uses jansson).  Never logs; thread-safe.
 */
#ifndef AQ_SENSORS_DECODE_H
#define AQ_SENSORS_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/err.h"
#include "daemon/pol.h"
#include "daemon/reason.h"
#include "daemon/win.h"

#define DECODE_READINGS_MAX 32
/* HJ 212 access password (PW) with its NUL; here because struct decoded
 * carries it, and hj212.h includes this header. */
#define HJ212_PW_MAX 16

struct tz;

enum decoder {
	DECODER_NATIVE,
	DECODER_SENML,
	DECODER_AIRGRADIENT,
	DECODER_SENSOR_COMMUNITY,
	DECODER_HJ212,
	DECODER_COUNT
};

/* Weather fields a sensor may report with its readings (degC, %, m/s,
 * degrees it blows from, hPa, and rain: mm over the reading's period), and
 * MET_TSP: the total suspended particulates (ug/m3) of a dust site's
 * monitor, carried the same way because it is no pollutant of the grid
 * (pol.h): only the dust sites (alerts/site.h) use it.  A reading still
 * needs a pollutant. */
enum met {
	MET_TEMP,
	MET_RH,
	MET_WS,
	MET_WD,
	MET_PRES,
	MET_RAIN,
	MET_TSP,
	MET_COUNT
};

struct decoded {
	char sensor[WIN_SENSOR_ID_MAX];
	char cell[WIN_CELL_ID_MAX]; /* "" when the payload names none */
	bool has_pos;
	double lat, lon;
	int64_t ts;     /* start of the averaging period, Unix seconds */
	int32_t period; /* seconds (default 60) */
	uint32_t has;   /* 1u << POL_x */
	double v[POL_COUNT];
	uint32_t met_has; /* 1u << MET_x */
	double met[MET_COUNT];
	char pw[HJ212_PW_MAX]; /* HJ 212 access password; "" otherwise */
	/* The sensor must be a registered HJ 212 data logger (its cell comes
	 * from the registry, never from the payload). */
	bool registered_only;
};

struct decode_result {
	int n;
	struct decoded r[DECODE_READINGS_MAX];
	uint32_t dropped[REASON_COUNT]; /* values dropped, by reason */
	/* HJ 212 values left out for their data flag, by letter - 'A' (they
	 * are in dropped[REASON_FLAGGED] too). */
	uint32_t flagged[26];
};

/* Installs the arena allocator into jansson; call once at start-up. */
void decode_init(void);

/*
 * The zone HJ 212 times (local, without offset) are read in; borrowed, so
 * z must outlive every decode().  Call once at start-up, before any thread
 * decodes (the pointer is not synchronised).  Until it is called, HJ 212
 * payloads are refused as bad_time: there is no safe default zone.
 */
void decode_set_zone(const struct tz *z);

/* "json", "senml", "airgradient", "sensor.community", "hj212"; -1 if
 * unknown. */
const char *decoder_name(enum decoder d);
int decoder_from_name(const char *s);

/*
 * Decodes one payload received on topic at wall-clock time now (used for
 * formats that carry no timestamp).  Returns AQ_OK with out->n >= 1, or
 * AQ_ERR_INVAL with *why set (out->dropped may still count values).
 */
int decode(enum decoder d, const char *topic, const void *payload, size_t len,
    size_t max_len, int64_t now, struct decode_result *out,
    enum reason *why) AQ_MUSTCHECK;

#endif
