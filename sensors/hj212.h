/*
 * hj212: the national transmission protocol of Chinese monitoring stations'
 * data loggers, HJ 212-2017 and HJ 212-2025.
 *
 *   ## + 4-digit data length + data segment + 4 hex CRC + CR LF
 *
 * The CRC is the standard's own (register 0xFFFF; per byte, crc = (crc >> 8)
 * ^ byte, then 8 shifts with polynomial 0xA001), not Modbus CRC-16.  The
 * data segment is "QN=...;ST=..;CN=....;PW=...;MN=...;Flag=..;[PNUM=..;
 * PNO=..;]CP=&&...&&".
 *
 * Three layers, all pure (no I/O, no allocation, no logging, thread-safe
 * on distinct objects):
 *  - hj212_stream: reassembles frames from a byte stream (split across
 *    reads, several in one read, garbage between them) with a bounded
 *    buffer;
 *  - hj212_parse: a frame's header fields and the raw CP area;
 *  - hj212_readings: CP data of commands 2011 (real-time), 2051 (minute),
 *    2061 (hourly) and 2031 (daily) into readings, values flagged other
 *    than N excluded and counted by flag letter.
 * And hj212_ack builds the data acknowledgement (CN 9014) a frame whose
 * Flag asks for one must receive.
 *
 * Editions: the Flag's version bits (Flag >> 2) are 0 for HJ/T 212-2005
 * (or no Flag at all), 1 for HJ 212-2017 and 2 for HJ 212-2025; other
 * versions are refused.  The frame, the data segment and the data flags
 * read here are the same in all three as far as public material shows;
 * hj212.c lists the sources and what could not be checked.
 */
#ifndef AQ_SENSORS_HJ212_H
#define AQ_SENSORS_HJ212_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/err.h"
#include "daemon/reason.h"
#include "daemon/tz.h"
#include "sensors/decode.h"

#define HJ212_DATA_MAX 9999 /* the length field has four digits */
/* "##" + length + data + CRC + CR LF */
#define HJ212_FRAME_MAX (2 + 4 + HJ212_DATA_MAX + 4 + 2)
/* A longer claimed data segment is refused as oversize at once, so that a
 * corrupt length holds back the frames behind it by at most this much.
 * The standard allows 1024 bytes (HJ 212-2017 table 2, 0 <= n <= 1024);
 * loggers that put many factors in one frame send more. */
#define HJ212_DATA_LIMIT 4096
#define HJ212_QN_MAX 24
/* HJ212_PW_MAX is defined in decode.h, whose struct decoded carries PW. */
#define HJ212_MN_MAX 32

/* Flag bits (both editions): A, the sender wants an answer; D, the CP is
 * split over several frames (PNUM, PNO).  The bits above them carry the
 * protocol version. */
#define HJ212_FLAG_ACK 0x01
#define HJ212_FLAG_SPLIT 0x02

enum hj212_edition { HJ212_2005, HJ212_2017, HJ212_2025 };

struct hj212_msg {
	/* Request id, yyyyMMddHHmmssSSS; "" if none (only 2005 frames, whose
	 * data uploads carry none, may lack it). */
	char qn[HJ212_QN_MAX];
	int st; /* system code */
	int cn; /* command */
	char pw[HJ212_PW_MAX];
	char mn[HJ212_MN_MAX];
	int flag;                   /* -1 when absent */
	enum hj212_edition edition; /* from Flag's version bits */
	int pnum, pno;              /* 0 when not split */
	const char *cp;             /* between "CP=&&" and "&&", borrowed */
	size_t cp_len;
};

/*
 * Frames delivered and refused, for counting.  garbage_bytes counts every
 * byte dropped that belongs to no delivered frame: noise between frames
 * and the bytes of refused frames.  So at any time the bytes fed equal the
 * delivered frames' bytes (the CR LF, or a lone CR, right after a frame
 * belongs to it) plus garbage_bytes plus the bytes still buffered (len).
 *  - bad_length: a length field that is not four digits, a CR or LF before
 *    the end the length claims (the data segment holds neither), or a
 *    partial frame given up by hj212_stream_flush();
 *  - bad_crc: a CRC field that is not four hex digits or does not match;
 *  - oversize: a length above HJ212_DATA_LIMIT.
 */
struct hj212_stats {
	uint64_t frames;
	uint64_t garbage_bytes;
	uint64_t bad_length;
	uint64_t bad_crc;
	uint64_t oversize;
};

/* A connection's reassembly state; caller-owned, no allocation.  Between
 * calls buf holds at most one partial frame, from its "##" (or a lone
 * "#"). */
struct hj212_stream {
	uint8_t buf[HJ212_FRAME_MAX];
	size_t len;
	size_t checked; /* bytes of the partial frame checked for CR, LF */
	int tail;       /* CR LF bytes still expected after the last frame */
	struct hj212_stats stats;
};

uint16_t hj212_crc(const void *data, size_t len);

void hj212_stream_init(struct hj212_stream *s);

/*
 * Takes n bytes from a connection.  Complete frames are handed to fn one at
 * a time, as the data segment (data, len) with CRC and framing already
 * checked; what is not a frame is skipped and counted in s->stats.  The
 * data pointer is valid only during the call, and fn must not feed s.
 * fn may be NULL (frames are then only counted).  Returns the number of
 * bytes consumed (always n).
 *
 * A frame is delivered as soon as its CRC is in and matches: the CR LF
 * that should follow is taken when it comes, but not waited for, since
 * some loggers leave it out (a frame then ends where the next "##"
 * starts).  After a refused frame the scan resumes one byte after its
 * start, so a good frame inside or behind a corrupt one is not lost.
 */
size_t hj212_stream_feed(struct hj212_stream *s, const void *p, size_t n,
    void (*fn)(void *arg, const char *data, size_t len), void *arg);

/*
 * Gives up the partial frame buffered (counted as bad_length), delivers the
 * frames found behind it and empties the buffer.  For the listener when a
 * connection closes, or when no byte came for the frame timeout: a length
 * claiming more than was sent would otherwise hold up what follows until
 * that many bytes arrive.
 */
void hj212_stream_flush(struct hj212_stream *s,
    void (*fn)(void *arg, const char *data, size_t len), void *arg);

/*
 * Checks one whole frame ("##...\r\n" or without the CR LF) and returns its
 * data segment (borrowed) in *data, *len.  AQ_ERR_INVAL with *why =
 * REASON_SYNTAX for bad framing, length or CRC.
 */
int hj212_unframe(const void *frame, size_t n, const char **data, size_t *len,
    enum reason *why) AQ_MUSTCHECK;

/*
 * Parses a data segment's fields.  AQ_ERR_INVAL with *why (syntax or
 * schema) when a field is malformed or QN/CN/MN/CP are missing.  Syntax:
 * a byte that is not printable ASCII, a field without '=', a CP that does
 * not end the segment as "CP=&&...&&".  Schema: a required field missing
 * (QN only from 2017 on) or given twice, a value of the wrong form, an
 * unknown version in Flag, PNUM and PNO missing or inconsistent when Flag
 * says the frame is split.  Field names are matched ignoring case; other
 * fields are ignored.  out is written only on success.
 */
int hj212_parse(const char *data, size_t len, struct hj212_msg *out,
    enum reason *why) AQ_MUSTCHECK;

/*
 * The readings of a data command (2011, 2051, 2061, 2031) into out (sensor
 * = MN; period 60 for real-time and minute data, 3600 hourly, 86400 daily;
 * ts = DataTime, a local time of zone z -- HJ 212 times carry no zone --
 * taken as the start of the period).  Values whose flag is not N are left
 * out and counted in flagged[letter - 'A'].  AQ_ERR_INVAL with *why for
 * other commands or unreadable CP.
 * out->n, out->dropped and out->flagged are reset first; flagged[] is
 * added to (pass out->flagged for the counts of this frame alone).  A
 * flagged value is also counted in out->dropped[REASON_FLAGGED]; one whose
 * flag is not a letter is dropped as REASON_SCHEMA.  The readings have
 * registered_only set and carry PW.  The message may come from a split
 * frame the caller put together; hj212_readings does not look at Flag.
 */
int hj212_readings(const struct hj212_msg *m, const struct tz *z,
    struct decode_result *out, uint32_t flagged[26],
    enum reason *why) AQ_MUSTCHECK;

/*
 * The data acknowledgement (CN 9014) of m, as a whole frame with CR LF and
 * a NUL after it, into buf; returns its length (without the NUL), or 0 if
 * len is too small.  2017 and 2025:
 * "QN=<QN>;ST=91;CN=9014;PW=<PW>;MN=<MN>;Flag=<version << 2>;CP=&&&&";
 * 2005, which names the request inside CP:
 * "ST=91;CN=9014;PW=<PW>;MN=<MN>;Flag=0;CP=&&QN=<QN>;CN=<CN>&&".
 */
size_t hj212_ack(const struct hj212_msg *m, char *buf, size_t len);

#endif
