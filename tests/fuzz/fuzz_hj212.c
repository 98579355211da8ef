/*
 * fuzz_hj212: libFuzzer harness for the HJ 212 module.  The first byte of
 * the input picks a chunk size; the rest is fed to one stream in chunks of
 * that size and to another whole, and the two must agree frame for frame
 * and count for count (the reassembler must not depend on how reads cut the
 * stream).  Every frame delivered is parsed, read and, if it parses,
 * acknowledged, and the acknowledgement must unframe and parse again.  The
 * rest is also decoded whole as an MQTT payload, and checked as if it were
 * a frame's data segment.  A broken property traps, so that libFuzzer
 * reports it as a crash.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/tz.h"
#include "sensors/decode.h"
#include "sensors/hj212.h"

#define ACK_MAX 256
#define DECODE_MAX 16384

/* What a stream handed out: a running hash of its frames. */
struct sink {
	uint64_t frames;
	uint64_t frame_bytes;
	uint64_t hash;
};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_frame(void *arg, const char *data, size_t len);
static void check_frame(const char *data, size_t len);
static void same(const struct hj212_stream *a, const struct sink *sa,
    const struct hj212_stream *b, const struct sink *sb);
static void accounted(
    const struct hj212_stream *s, const struct sink *k, size_t fed);

static struct tz zone;
static struct hj212_stream chunked, whole;
static struct decode_result res;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	decode_init();
	if (tz_init(&zone, "Asia/Shanghai") != AQ_OK)
		abort();
	decode_set_zone(&zone);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sink a = {0}, b = {0};
	enum reason why;
	size_t chunk;

	if (size == 0)
		return 0;
	chunk = (size_t)data[0] + 1;
	data++;
	size--;
	hj212_stream_init(&chunked);
	hj212_stream_init(&whole);
	for (size_t k = 0; k < size; k += chunk)
		hj212_stream_feed(&chunked, data + k,
		    size - k < chunk ? size - k : chunk, on_frame, &a);
	hj212_stream_feed(&whole, data, size, on_frame, &b);
	same(&chunked, &a, &whole, &b);
	accounted(&whole, &b, size);
	hj212_stream_flush(&chunked, on_frame, &a);
	hj212_stream_flush(&whole, on_frame, &b);
	same(&chunked, &a, &whole, &b);
	if (whole.len != 0)
		__builtin_trap();
	if (decode(DECODER_HJ212, "hj212/fuzz", data, size, DECODE_MAX, 0, &res,
		&why) == AQ_OK &&
	    (res.n != 1 || res.r[0].has == 0 || !res.r[0].registered_only))
		__builtin_trap();
	/* Mutations seldom keep a CRC right: the rest as a data segment
	 * reaches the parser without one. */
	if (size <= HJ212_DATA_LIMIT)
		check_frame((const char *)data, size);
	return 0;
}

static void
on_frame(void *arg, const char *data, size_t len)
{
	struct sink *k = arg;

	k->frames++;
	k->frame_bytes += 10 + len;
	for (size_t i = 0; i < len; i++)
		k->hash = (k->hash ^ (unsigned char)data[i]) *
		    UINT64_C(1099511628211);
	k->hash = (k->hash ^ len) * UINT64_C(1099511628211);
	check_frame(data, len);
}

/* A delivered frame: parse, readings, and the ack round trip. */
static void
check_frame(const char *data, size_t len)
{
	struct hj212_msg m, back;
	char ack[ACK_MAX];
	const char *d;
	size_t n, dlen;
	enum reason why;

	if (len > HJ212_DATA_LIMIT)
		__builtin_trap();
	if (hj212_parse(data, len, &m, &why) != AQ_OK)
		return;
	if (m.cp < data || m.cp + m.cp_len > data + len)
		__builtin_trap();
	if (hj212_readings(&m, &zone, &res, res.flagged, &why) == AQ_OK &&
	    (res.n != 1 || res.r[0].has == 0))
		__builtin_trap();
	if ((n = hj212_ack(&m, ack, sizeof(ack))) == 0)
		return;
	if (n >= sizeof(ack) || ack[n] != '\0' ||
	    hj212_unframe(ack, n, &d, &dlen, &why) != AQ_OK ||
	    hj212_parse(d, dlen, &back, &why) != AQ_OK || back.cn != 9014)
		__builtin_trap();
}

static void
same(const struct hj212_stream *a, const struct sink *sa,
    const struct hj212_stream *b, const struct sink *sb)
{
	if (sa->frames != sb->frames || sa->hash != sb->hash ||
	    a->len != b->len ||
	    memcmp(&a->stats, &b->stats, sizeof(a->stats)) != 0 ||
	    a->stats.frames != sa->frames)
		__builtin_trap();
}

/* Bytes fed = frames (and up to two CR LF bytes each) + garbage +
 * buffered. */
static void
accounted(const struct hj212_stream *s, const struct sink *k, size_t fed)
{
	uint64_t known = k->frame_bytes + s->stats.garbage_bytes + s->len;

	if (known > fed || fed - known > 2 * k->frames)
		__builtin_trap();
}
