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
#define HJ212_QN_MAX 24
#define HJ212_PW_MAX 16
#define HJ212_MN_MAX 32

/* Flag bits (both editions): A, the sender wants an answer; D, the CP is
 * split over several frames (PNUM, PNO).  The bits above them carry the
 * protocol version. */
#define HJ212_FLAG_ACK 0x01
#define HJ212_FLAG_SPLIT 0x02

enum hj212_edition { HJ212_2005, HJ212_2017, HJ212_2025 };

struct hj212_msg {
	char qn[HJ212_QN_MAX]; /* request id, yyyyMMddHHmmssSSS; "" if none */
	int st;		       /* system code */
	int cn;		       /* command */
	char pw[HJ212_PW_MAX];
	char mn[HJ212_MN_MAX];
	int flag; /* -1 when absent */
	enum hj212_edition edition; /* from Flag's version bits */
	int pnum, pno;		    /* 0 when not split */
	const char *cp;		    /* between "CP=&&" and "&&", borrowed */
	size_t cp_len;
};

/* Bytes between frames and frames refused, for counting. */
struct hj212_stats {
	uint64_t frames;
	uint64_t garbage_bytes;
	uint64_t bad_length;
	uint64_t bad_crc;
	uint64_t oversize;
};

/* A connection's reassembly state; caller-owned, no allocation. */
struct hj212_stream {
	uint8_t buf[HJ212_FRAME_MAX];
	size_t len;
	struct hj212_stats stats;
};

uint16_t hj212_crc(const void *data, size_t len);

void hj212_stream_init(struct hj212_stream *s);

/*
 * Takes n bytes from a connection.  Complete frames are handed to fn one at
 * a time, as the data segment (data, len) with CRC and framing already
 * checked; what is not a frame is skipped and counted in s->stats.  The
 * data pointer is valid only during the call.  Returns the number of bytes
 * consumed (always n).
 */
size_t hj212_stream_feed(struct hj212_stream *s, const void *p, size_t n,
    void (*fn)(void *arg, const char *data, size_t len), void *arg);

/*
 * Checks one whole frame ("##...\r\n" or without the CR LF) and returns its
 * data segment (borrowed) in *data, *len.  AQ_ERR_INVAL with *why =
 * REASON_SYNTAX for bad framing, length or CRC.
 */
int hj212_unframe(const void *frame, size_t n, const char **data, size_t *len,
    enum reason *why) AQ_MUSTCHECK;

/* Parses a data segment's fields.  AQ_ERR_INVAL with *why (syntax or
 * schema) when a field is malformed or QN/CN/MN/CP are missing. */
int hj212_parse(const char *data, size_t len, struct hj212_msg *out,
    enum reason *why) AQ_MUSTCHECK;

/*
 * The readings of a data command (2011, 2051, 2061, 2031) into out (sensor
 * = MN; period 60 for real-time and minute data, 3600 hourly, 86400 daily;
 * ts = DataTime, a local time of zone z -- HJ 212 times carry no zone --
 * taken as the start of the period).  Values whose flag is not N are left
 * out and counted in flagged[letter - 'A'].  AQ_ERR_INVAL with *why for
 * other commands or unreadable CP.
 */
int hj212_readings(const struct hj212_msg *m, const struct tz *z,
    struct decode_result *out, uint32_t flagged[26], enum reason *why)
    AQ_MUSTCHECK;

/* The data acknowledgement (CN 9014) of m, as a whole frame with CR LF,
 * into buf; returns its length, or 0 if len is too small. */
size_t hj212_ack(const struct hj212_msg *m, char *buf, size_t len);

#endif
