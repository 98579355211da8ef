/*
 * fault: online detection of lying sensors, one reading at a time, before
 * the reading reaches the engine (win.h).
 *
 * Per sensor and pollutant it keeps a few numbers and flags four faults:
 *   stuck     the same value repeated for at least stuck_secs, while the
 *             sensor's own history at that level (its repeat probability
 *             is learned in four level bins) makes such a run unlikely
 *             and, when the neighbours report, their median moved and the
 *             value is not the sensor's floor; a run far less likely
 *             still (1e-8) is stuck whatever the neighbours did;
 *   spike     an upward reading whose step is large against the sensor's
 *             usual steps and, when the neighbours report, against theirs
 *             (the step of its residual; spike_z, 4/3 spike_z for a sensor
 *             alone in its cell) and leaves its usual place,
 *             raised when the next reading comes back (at most
 *             FAULT_SPIKE_RUN in a row: a longer excursion is a level)
 *             and no other sensor of the cell without a flag rose with it
 *             at the same time (it seconds it: the air jumped); the
 *             suspected reading is left out at once only when neighbours
 *             reporting at the same time contradict it and no sibling
 *             that read before seconded it;
 *   bias      a drift or offset against the neighbouring cells: the
 *             residual y - median(neighbours) (y = log(x + c), c per
 *             pollutant), centred on the sensor's learned baseline and
 *             scaled by its learned spread (at least the neighbours'
 *             current MAD), accumulated by a two-sided CUSUM in
 *             hour-equivalents of readings;
 *   disagree  the sensor and the other sensors of its cell part (a
 *             smoothed log ratio beyond `disagree`), the sensor being the
 *             one away from its neighbours (or either, without them).
 * Each flag clears, with hysteresis, when the sensor behaves again.  A
 * cell's level (its neighbours' view of it) is its newest reading from a
 * sensor without a flag.  Neighbours are given by the caller.
 *
 * Deterministic: the same readings in the same order give the same flags
 * (a replay reproduces them); the image carries everything.  A reading not
 * newer than the sensor's previous one is judged by the current flags and
 * teaches nothing.
 *
 * Memory is allocated by fault_new() only; fault_observe() neither
 * allocates nor logs.  Ingest thread only, except fault_flags() and
 * fault_detections(), which are atomic and may be read from any thread.
 */
#ifndef AQ_DAEMON_FAULT_H
#define AQ_DAEMON_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/err.h"
#include "daemon/pol.h"
#include "daemon/win.h"

#define FAULT_NEIGHBOURS_MAX 16 /* neighbour cells per cell */
#define FAULT_CELL_SENSORS 4    /* sensors of a cell compared together */
#define FAULT_SPIKE_RUN 3       /* spike readings in a row at most */

enum fault_kind {
	FAULT_STUCK,
	FAULT_SPIKE,
	FAULT_BIAS,
	FAULT_DISAGREE,
	FAULT_KIND_COUNT
};
#define FAULT_BIT(k) (1u << (k))

struct fault_conf {
	bool enabled;
	int32_t stuck_secs; /* a flat run this long, seconds */
	int32_t fresh;      /* neighbours' and siblings' newest age, s */
	double spike_z;     /* robust z of a spike */
	double bias_h;      /* CUSUM threshold, hour-equivalents */
	double disagree;    /* smoothed |log ratio| between siblings */
	uint32_t exclude;   /* FAULT_BIT()s whose readings are excluded */
};

struct fault;

void fault_defaults(struct fault_conf *c);
/* Returns owned, or NULL (no memory). */
struct fault *fault_new(
    uint32_t cells, uint32_t sensors_max, const struct fault_conf *c);
void fault_free(struct fault *f);
void fault_set_conf(struct fault *f, const struct fault_conf *c);
/* Sets a cell's neighbours (up to FAULT_NEIGHBOURS_MAX kept). */
void fault_set_neighbours(
    struct fault *f, uint32_t cell, const uint32_t *nb, uint32_t n);
/* Places a new sensor in its cell (only the first FAULT_CELL_SENSORS
 * sensors of a cell are compared with one another). */
void fault_add_sensor(struct fault *f, uint32_t sensor, uint32_t cell);

/*
 * Judges reading r of sensor and learns from it; returns the 1u << POL_x
 * bits of r's values to leave out of the cell's statistics.
 */
uint32_t fault_observe(
    struct fault *f, uint32_t sensor, const struct reading *r);

/* FAULT_BIT()s now raised for a sensor (over its pollutants), and the
 * pollutants flagged.  Any thread. */
uint32_t fault_flags(const struct fault *f, uint32_t sensor);
uint32_t fault_pollutants(const struct fault *f, uint32_t sensor);
/* Flags raised (rising edges) since fault_new(), per kind.  Any thread. */
uint64_t fault_detections(const struct fault *f, enum fault_kind k);
/* "stuck", "spike", "bias", "disagree"; fault_kind_from_name: -1. */
const char *fault_kind_name(enum fault_kind k);
int fault_kind_from_name(const char *s);

/* Bytes held per sensor. */
size_t fault_sensor_bytes(void);

/*
 * The detector's image: fault_image_size() bytes at most for `sensors`
 * sensors, written by fault_image_save() (returns the length);
 * fault_image_load() takes an image of a detector with the same cells
 * (AQ_ERR_INVAL otherwise, nothing changed).
 */
size_t fault_image_size(const struct fault *f, uint32_t sensors);
size_t fault_image_save(const struct fault *f, uint32_t sensors, void *buf);
int fault_image_load(struct fault *f, const void *buf, size_t len) AQ_MUSTCHECK;

#endif
