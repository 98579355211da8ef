/*
 * journal: the messages ingest accepted, kept on disk from before the
 * sender is told they arrived (the MQTT PUBACK, the HJ 212 answer) until
 * an image of the state that includes them is safely written -- so a
 * daemon killed at any moment resumes from the last image plus the
 * journal and loses nothing it accepted.
 *
 * A journal is a folder of segments "journal-<first seq>.log", each a run
 * of records: length, CRC-32, sequence number, arrival time, decoder,
 * topic and payload.  Sequence numbers grow by one per message across
 * segments and restarts.  journal_add() only copies into a buffer;
 * journal_commit() writes the buffer with one write(2), which a killed
 * process cannot undo (the kernel has the bytes); journal_sync()
 * (fdatasync) bounds what a power cut can take.  A torn record at the end
 * of a segment (power cut mid-write) ends that segment's replay; it is
 * counted, never applied.
 *
 * The image (journal_image_*) is one file written whole to a temporary
 * name, synced and renamed over the old one, with a CRC-32 over its body:
 * a reader sees the old image or the new one, never a mix.
 *
 * Thread-safe: producers add and commit under the journal's lock; the
 * release of old segments may come from another thread.  Never logs.
 */
#ifndef AQ_DAEMON_JOURNAL_H
#define AQ_DAEMON_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/err.h"

#define JOURNAL_SEGMENT_BYTES (64u << 20) /* a new segment past this */
#define JOURNAL_BUFFER_BYTES (1u << 20)   /* written out when fuller */

struct journal;

/* What journal_replay() hands back for one record; pointers valid only
 * during the call. */
struct journal_rec {
	uint64_t seq;
	int64_t arrived_ns; /* wall clock, ns since the epoch */
	int32_t decoder;
	const char *topic; /* NUL-terminated */
	const void *payload;
	size_t len;
};

typedef void (*journal_fn)(void *ctx, const struct journal_rec *r);

/*
 * Opens the journal in dir (created if missing), replays every record
 * with seq > after through fn (may be NULL) in order, then starts a new
 * segment for what comes next, numbered after the highest seq seen (or
 * after).  *torn counts damaged record tails skipped.  Returns AQ_OK with
 * *out owned, or AQ_ERR_IO / AQ_ERR_NOMEM with the reason in msg.
 */
int journal_open(const char *dir, uint64_t after, journal_fn fn, void *ctx,
    struct journal **out, uint64_t *torn, char *msg,
    size_t msglen) AQ_MUSTCHECK;
/* Commits what is buffered, closes, frees (NULL: no-op). */
void journal_close(struct journal *j);

/* Sequence number the next journal_add() will get. */
uint64_t journal_next(struct journal *j);
/*
 * Buffers a record and returns its sequence number in *seq.  Writes the
 * buffer out first when the record would not fit.  AQ_ERR_RANGE for a
 * record larger than the buffer, AQ_ERR_IO when writing failed (the
 * record is then not kept: the journal is degraded until a commit
 * succeeds).
 */
int journal_add(struct journal *j, int32_t decoder, int64_t arrived_ns,
    const char *topic, const void *payload, size_t len,
    uint64_t *seq) AQ_MUSTCHECK;
/* Writes every buffered record (AQ_ERR_IO: they are dropped and counted
 * in journal_failed()); a segment past JOURNAL_SEGMENT_BYTES is closed
 * and the next one started. */
int journal_commit(struct journal *j);
/* fdatasync of the current segment. */
int journal_sync(struct journal *j);
/* Deletes the segments whose records all have seq <= upto (an image that
 * holds them is on disk). */
void journal_release(struct journal *j, uint64_t upto);
/* Records lost to write errors so far. */
uint64_t journal_failed(struct journal *j);

/* Writes len bytes of buf as the image at path (via "<path>.tmp", synced,
 * renamed, folder synced).  AQ_ERR_IO with the reason in msg. */
int journal_image_write(const char *path, const void *buf, size_t len,
    char *msg, size_t msglen) AQ_MUSTCHECK;
/* Reads the image at path into a buffer it allocates (*buf owned, *len).
 * AQ_ERR_NOTFOUND when there is none; AQ_ERR_INVAL when it is damaged
 * (bad header, size or CRC); AQ_ERR_IO otherwise; reason in msg. */
int journal_image_read(const char *path, void **buf, size_t *len, char *msg,
    size_t msglen) AQ_MUSTCHECK;

#endif
