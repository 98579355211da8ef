/*
 * ingest: the path of a message from the broker into the engine.
 *
 * A network thread runs libmosquitto (MQTT v5, falling back to v3.1.1;
 * QoS as configured; fixed client id and a persistent session), reconnects
 * with capped exponential backoff and jitter, and resubscribes on every
 * connect.  Its message callback only copies the message into a bounded
 * byte ring and returns; when the ring stays full for 100 ms the message
 * is counted as lost (reason queue_full), never dropped silently.
 * One worker thread takes messages from the ring in order: decode, quality
 * control, placement in a cell, calibration, engine update (the pollutants
 * and the weather fields the reading carries, to its cell-hour), and
 * publication of the cell views it changed.  Other producers (the HJ 212
 * listener) put messages on the same ring with ingest_submit().  All
 * counting goes to state.h's counters.
 *
 * With a store folder ([store] dir), every message is also written to a
 * journal (journal.h) before the broker gets its PUBACK or a data logger
 * its answer, the worker hands an image of the state to a background
 * thread every snapshot_interval seconds (and one last image at stop),
 * and ingest_start() first restores the last image and applies what the
 * journal holds after it: a daemon killed at any moment resumes with every
 * message it accepted applied exactly once (the engine ignores the
 * duplicates a broker redelivers).
 *
 * ingest_start() allocates; nothing on the per-message path does.
 */
#ifndef AQ_SENSORS_INGEST_H
#define AQ_SENSORS_INGEST_H

#include <stdint.h>

#include "daemon/state.h"
#include "sensors/decode.h"
#include "sensors/qc.h"

struct ingest;

/* Connects (in the background) and starts both threads.  Borrows st until
 * ingest_stop().  Returns owned, or NULL after logging why. */
struct ingest *ingest_start(struct state *st);

/*
 * Queues a message that did not come from the broker (an HJ 212 frame from
 * the TCP listener) on the same ring as MQTT messages, so the worker
 * applies it in order with everything else.  Copies payload; any thread.
 * Returns AQ_OK, AQ_ERR_RANGE when payload is larger than max_payload, or
 * AQ_ERR_FULL when the ring stayed full; both counted as MQTT losses are.
 */
int ingest_submit(struct ingest *in, int decoder, const char *topic,
    const void *payload, size_t len);

/* Writes what was submitted so far to the journal (with a store folder):
 * call before telling the sender it arrived.  Any thread. */
void ingest_commit(struct ingest *in);

/* After state_set_conf(): picks up new subscriptions and QC settings. */
void ingest_reload(struct ingest *in);

/* Disconnects from the broker, applies every message already received,
 * stops both threads and frees in (NULL: no-op). */
void ingest_stop(struct ingest *in);

/*
 * One message through decode, QC, placement and the engine, as the worker
 * does it (exposed for tests and the benchmark; ingest thread only).
 * Returns the number of readings applied.
 */
int ingest_apply(struct state *st, const struct qc_conf *qc, int decoder,
    const char *topic, const void *payload, size_t len, int64_t now);

/* QC settings from a configuration. */
void ingest_qc_conf(const struct conf *c, struct qc_conf *out);

#endif
