/*
 * decode: MQTT payloads into readings, one interface for every format:
 * the native JSON format (README.md), SenML JSON (RFC 8428), AirGradient's
 * MQTT JSON and Sensor.Community's JSON.  Each call returns readings or the
 * reason it refused the payload; values converted to canonical units
 * (pol.h).  Values that are not numbers are dropped and counted in
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

enum decoder {
	DECODER_NATIVE,
	DECODER_SENML,
	DECODER_AIRGRADIENT,
	DECODER_SENSOR_COMMUNITY,
	DECODER_COUNT
};

/* Weather fields a sensor may report with its readings. */
enum met { MET_TEMP, MET_RH, MET_WS, MET_WD, MET_PRES, MET_COUNT };

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
};

struct decode_result {
	int n;
	struct decoded r[DECODE_READINGS_MAX];
	uint32_t dropped[REASON_COUNT]; /* values dropped, by reason */
};

/* Installs the arena allocator into jansson; call once at start-up. */
void decode_init(void);

/* "json", "senml", "airgradient", "sensor.community"; -1 if unknown. */
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
