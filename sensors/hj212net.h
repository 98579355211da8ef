/*
 * hj212net: the TCP listener HJ 212 data loggers connect to.
 *
 * One thread polls the listening socket and every connection (all
 * non-blocking).  Each connection reassembles frames with its own
 * hj212_stream; a frame from a logger the sensor registry knows (MN = the
 * sensor's id), with the password the registry asks for, goes to the
 * ingest worker through ingest_submit() as one whole frame on topic
 * "hj212/MN" (decoder DECODER_HJ212), after the parts of a split message
 * are joined into one; then, if its Flag asks, the CN 9014 answer is
 * written back.  Connections beyond the configured number, silent past
 * the idle timeout, or holding a frame open past the frame timeout are
 * closed.  All counting goes to state.h's counters.
 *
 * hj212net_start() allocates the tables; each connection allocates its
 * buffers once, when it is accepted; nothing per frame.
 */
#ifndef AQ_SENSORS_HJ212NET_H
#define AQ_SENSORS_HJ212NET_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/conf.h"
#include "daemon/state.h"
#include "sensors/ingest.h"

struct hj212net;

/* Whether c asks for the listener ([hj212] listen is not empty). */
bool hj212net_enabled(const struct conf *c);

/*
 * Binds [hj212] listen and starts the thread.  Borrows st and in until
 * hj212net_stop().  Returns owned; NULL without logging when the listener
 * is off (see hj212net_enabled), or NULL after logging why it failed.
 */
struct hj212net *hj212net_start(struct state *st, struct ingest *in);

/* The port bound (the one chosen when the configuration said 0). */
uint16_t hj212net_port(const struct hj212net *n);

/* Closes every connection, stops the thread and frees n (NULL: no-op).
 * Call before ingest_stop(). */
void hj212net_stop(struct hj212net *n);

#endif
