/*
 * publish: what aqgridd computes, back to MQTT ([publish] in conf.h), for
 * the systems a bureau already has (Home Assistant, Node-RED, a SCADA).
 *
 * A second libmosquitto client of its own -- the [mqtt] broker, TLS and
 * credentials, its own client id, MQTT 3.1.1, libmosquitto's network
 * thread with its reconnects -- and one worker thread that formats and
 * publishes.  Topics, under [publish] topic_prefix (PREFIX):
 *   PREFIX/cells/ID   a cell's latest complete hour: AQI, level, primary
 *                     pollutants, hourly concentrations and weather
 *                     (JSON, retained)
 *   PREFIX/areas/ID   an area's worst cell, AQI, level, mean hourly
 *                     concentrations (JSON, retained)
 *   PREFIX/alerts     each alert notice, as the event feed has it (JSON,
 *                     never retained)
 *   PREFIX/status     "online", and "offline" (the will, and at stop)
 * and, with discovery, one Home Assistant MQTT discovery document per
 * cell and quantity, DISCOVERY_PREFIX/sensor/NODE/ID_QUANTITY/config
 * (retained; NODE is the client id), so every cell shows as a device.
 *
 * The ingest thread never waits: publish_view() marks the cell (a flag
 * per cell and a single-producer ring as large as the grid: lock-free,
 * never full, intermediate hours coalesced) and publish_view(NULL) wakes
 * the worker.  The worker reads each marked cell's view (state_view()),
 * publishes it when its text differs from the last sent, then the areas
 * holding those cells.  Alerts (publish_alert(), any thread) wait on a
 * bounded queue.  At every (re)connect the status, the discovery documents
 * and every cell and area are published again.  Messages handed to
 * libmosquitto and not yet written are bounded by [publish] queue: past
 * it for a second, or while the broker is away, a message is dropped and
 * counted (state counters pub_*), never queued without bound.
 */
#ifndef AQ_SENSORS_PUBLISH_H
#define AQ_SENSORS_PUBLISH_H

#include <stddef.h>

#include "daemon/state.h"

#define PUBLISH_ALERT_MAX 1024 /* bytes of one alert's JSON, with NUL */
#define PUBLISH_ALERTS_QUEUED 256

struct publish;

/*
 * Starts the client and the worker for st's configuration (nothing when
 * [publish] enabled is off: returns NULL without logging).  Borrows st
 * until publish_stop().  Returns owned, or NULL after logging why.
 */
struct publish *publish_start(struct state *st);

/* A published view (state's hook, the ingest thread); NULL: the end of a
 * publication.  Never blocks.  pub may be NULL (publishing off). */
void publish_view(struct publish *pub, const struct cell_view *v);

/* Queues one alert notice's JSON (copied; len bytes) for PREFIX/alerts.
 * Any thread; never blocks on the broker.  AQ_OK, AQ_ERR_RANGE (too long)
 * or AQ_ERR_FULL (queue full); both are counted as drops. */
int publish_alert(struct publish *pub, const char *json, size_t len);

/* Publishes "offline", disconnects, stops both threads, frees (NULL:
 * no-op). */
void publish_stop(struct publish *pub);

#endif
