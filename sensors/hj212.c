/*
 * hj212: HJ 212 frames from a byte stream, their data segments, the
 * readings of data commands and the data acknowledgement (see hj212.h).
 *
 * What the standards say, and where it was checked (the texts are
 * Chinese; HJ 212-2017 was read through copies of its tables quoted in
 * public code, HJ 212-2025 could not be read at all):
 * - Frame: "##", four decimal digits giving the data segment's length,
 *   the data segment, four hex digits of CRC over the data segment only,
 *   CR LF (HJ 212-2017 6.3.2, table 2: data segment 0 <= n <= 1024).
 *   The CRC (appendix A) gives 1C80 for the standard's own sample frame
 *   "QN=20160801085857223;ST=32;CN=1062;...;CP=&&RtdInterval=30&&".
 * - Flag = V5..V0 D A: A (bit 0) asks for an answer, D (bit 1) says PNUM
 *   and PNO follow; the version V is 1 for HJ 212-2017 (Flag 4, 5) and
 *   2 for HJ 212-2025 (Flag 8, 9), as the Rust crate "a" 0.1.1 (docs.rs,
 *   src/flag.rs, citing HJ 212-2025 6.3.3) and several implementations
 *   read it; HJ/T 212-2005 has no version bits (Flag 0 to 3, or none).
 * - Data flags (HJ 212-2017 6.6.4 "数据标记（可扩充）", table 8): N normal,
 *   F instrument stopped, M maintenance, S manually set value, D fault,
 *   C calibration, T above the measuring range, B communication fault
 *   between instrument and data logger.  No public copy of HJ 212-2025's
 *   table was found: its letters are taken to be 2017's, and any other
 *   letter is left out like them (the table says it may be extended).
 *   HJ/T 212-2005's flags (P power failure, ...) are letters too.
 * - Factor codes (HJ 212-2017 appendix B): a34004 PM2.5, a34002 PM10,
 *   a05024 O3, a21026 SO2, a21004 NO2, a21005 CO, a01001 temperature
 *   (degC), a01002 relative humidity (%), a01006 air pressure (kPa; real
 *   frames send "a01006-Rtd=100.3"), a01007 wind speed (m/s), a01008 wind
 *   direction (degrees).  Ambient-air stations send gases and particles
 *   in ug/m3 and CO in mg/m3, our canonical units.
 * - DataTime is the logger's local time without zone.  For minute, hourly
 *   and daily data it names the start of the interval: implementations
 *   send the hour 08:00-09:00 as DataTime=...080000 after 09:00 (one
 *   stamps CN 2061 with the previous hour, another's tests expect a 2061
 *   sent at 12:01 to say 11:00).  The standard's own wording on this was
 *   not found.  DataTime is the reading's ts as it is, not rounded.
 * - The data acknowledgement is CN 9014 with ST 91 echoing QN, PW and MN
 *   with CP=&&&& (HJ 212-2017 appendix C); for 2025 the same with the
 *   version 2 in Flag; 2005 implementations echo QN and CN inside CP.
 *
 * Choices where the text leaves room:
 * - A frame is taken when its CRC matches, CR LF or not (see
 *   hj212_stream_feed()); hj212_unframe() takes one with or without it.
 * - The data segment is printable ASCII; a CR or LF inside the length a
 *   frame claims refuses it early, so that a corrupt length does not hold
 *   back the good frames behind it.
 * - QN is required from 2017 on; 2005 data uploads carry none.
 * - Values without a -Flag are N.  A flag that is not one letter drops the
 *   value as a schema fault.  Lower-case codes, fields and flags are read
 *   as upper-case ones.  A factor given twice refuses the frame (schema):
 *   it is ambiguous.  Unknown factors and fields are ignored.
 */
#include "sensors/hj212.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon/pol.h"

#define HDR_LEN 6 /* "##" and four digits */
#define CRC_LEN 4
#define TS_MIN INT64_C(946684800)  /* 2000-01-01T00:00:00Z */
#define TS_MAX INT64_C(4102444800) /* 2100-01-01T00:00:00Z */
#define DATATIME_LEN 14            /* yyyyMMddHHmmss */
#define NUM_TEXT_MAX 64
#define FLAG_MAX 255
#define VERSION_2017 1
#define VERSION_2025 2
#define ACK_ST 91
#define ACK_CN 9014

/* How a frame candidate at the head of the buffer stands. */
enum cand { CAND_WAIT, CAND_BAD, CAND_FRAME };

/* The header fields hj212_parse() reads. */
enum field { F_QN, F_ST, F_CN, F_PW, F_MN, F_FLAG, F_PNUM, F_PNO, F_COUNT };

/* One factor of a CP area, as found. */
struct slot {
	const char *val;
	size_t val_len;
	const char *flag;
	size_t flag_len;
	bool has_val, has_flag;
};

static size_t find_start(const uint8_t *b, size_t n);
static enum cand candidate(
    struct hj212_stream *s, const uint8_t *b, size_t avail, size_t *dlen);
static void stream_run(struct hj212_stream *s,
    void (*fn)(void *arg, const char *data, size_t len), void *arg);
static bool is_digit(int c);
static int hex_digit(int c);
static bool crc_field(const char *p, uint16_t *crc);
static int refuse(enum reason *why, enum reason r);
static bool digits(const char *p, size_t n, size_t max_digits, long *out);
static bool text_eq(const char *p, size_t n, const char *word);
static int set_text(char *dst, size_t size, const char *p, size_t n);
static int field_index(const char *p, size_t n);
static int parse_field(struct hj212_msg *m, int f, const char *v, size_t n);
static int cp_pair(const char *p, size_t n, int cn_field, struct slot *slots,
    const char **dt, size_t *dt_len, enum reason *why);
static int data_time(const struct tz *z, const char *p, size_t n, int64_t *ts);
static enum reason number(const char *p, size_t n, double *v);
static bool flag_usable(int letter);
static int empty_reason(uint32_t reasons);

/* Data commands: the field that carries the value, and the period. */
static const struct {
	int cn;
	const char *field;
	int32_t period;
} datacmds[] = {
    {2011, "Rtd", 60},    /* real-time data */
    {2051, "Avg", 60},    /* minute data */
    {2061, "Avg", 3600},  /* hourly data */
    {2031, "Avg", 86400}, /* daily data */
};
#define DATACMDS (sizeof(datacmds) / sizeof(datacmds[0]))

/* Factor codes (HJ 212-2017 appendix B) we read, with the factor turning
 * the sender's unit into ours. */
static const struct {
	const char *code;
	bool met;
	int idx; /* enum pol or enum met */
	double scale;
} codes[] = {
    {"a34004", false, POL_PM25, 1}, /* PM2.5, ug/m3 */
    {"a34002", false, POL_PM10, 1}, /* PM10, ug/m3 */
    {"a05024", false, POL_O3, 1},   /* O3, ug/m3 */
    {"a21026", false, POL_SO2, 1},  /* SO2, ug/m3 */
    {"a21004", false, POL_NO2, 1},  /* NO2, ug/m3 */
    {"a21005", false, POL_CO, 1},   /* CO, mg/m3 */
    {"a01001", true, MET_TEMP, 1},  /* temperature, degC */
    {"a01002", true, MET_RH, 1},    /* relative humidity, % */
    {"a01006", true, MET_PRES, 10}, /* air pressure, kPa to hPa */
    {"a01007", true, MET_WS, 1},    /* wind speed, m/s */
    {"a01008", true, MET_WD, 1},    /* wind direction, degrees */
    {"a34001", true, MET_TSP, 1},   /* TSP, ug/m3 like PM10 (a dust site) */
};
#define CODES (sizeof(codes) / sizeof(codes[0]))

/* Data flags, HJ 212-2017 6.6.4 table 8; only N gives a usable value. */
static const struct {
	char letter;
	bool usable;
} data_flags[] = {
    {'N', true},  /* instrument working normally */
    {'F', false}, /* instrument stopped */
    {'M', false}, /* data from a maintenance period */
    {'S', false}, /* value set by hand */
    {'D', false}, /* instrument fault */
    {'C', false}, /* instrument calibrating */
    {'T', false}, /* sample above the measuring range */
    {'B', false}, /* instrument to data logger communication fault */
};
#define DATA_FLAGS (sizeof(data_flags) / sizeof(data_flags[0]))

/* Header field names, by enum field. */
static const char *const field_names[F_COUNT] = {
    [F_QN] = "QN",
    [F_ST] = "ST",
    [F_CN] = "CN",
    [F_PW] = "PW",
    [F_MN] = "MN",
    [F_FLAG] = "Flag",
    [F_PNUM] = "PNUM",
    [F_PNO] = "PNO",
};

/* The CRC's eight shifts of one byte, for every byte value (polynomial
 * 0xA001): the bit-by-bit loop was most of the cost of a frame. */
static const uint16_t crc_table[256] = {
    0x0000,
    0xC0C1,
    0xC181,
    0x0140,
    0xC301,
    0x03C0,
    0x0280,
    0xC241,
    0xC601,
    0x06C0,
    0x0780,
    0xC741,
    0x0500,
    0xC5C1,
    0xC481,
    0x0440,
    0xCC01,
    0x0CC0,
    0x0D80,
    0xCD41,
    0x0F00,
    0xCFC1,
    0xCE81,
    0x0E40,
    0x0A00,
    0xCAC1,
    0xCB81,
    0x0B40,
    0xC901,
    0x09C0,
    0x0880,
    0xC841,
    0xD801,
    0x18C0,
    0x1980,
    0xD941,
    0x1B00,
    0xDBC1,
    0xDA81,
    0x1A40,
    0x1E00,
    0xDEC1,
    0xDF81,
    0x1F40,
    0xDD01,
    0x1DC0,
    0x1C80,
    0xDC41,
    0x1400,
    0xD4C1,
    0xD581,
    0x1540,
    0xD701,
    0x17C0,
    0x1680,
    0xD641,
    0xD201,
    0x12C0,
    0x1380,
    0xD341,
    0x1100,
    0xD1C1,
    0xD081,
    0x1040,
    0xF001,
    0x30C0,
    0x3180,
    0xF141,
    0x3300,
    0xF3C1,
    0xF281,
    0x3240,
    0x3600,
    0xF6C1,
    0xF781,
    0x3740,
    0xF501,
    0x35C0,
    0x3480,
    0xF441,
    0x3C00,
    0xFCC1,
    0xFD81,
    0x3D40,
    0xFF01,
    0x3FC0,
    0x3E80,
    0xFE41,
    0xFA01,
    0x3AC0,
    0x3B80,
    0xFB41,
    0x3900,
    0xF9C1,
    0xF881,
    0x3840,
    0x2800,
    0xE8C1,
    0xE981,
    0x2940,
    0xEB01,
    0x2BC0,
    0x2A80,
    0xEA41,
    0xEE01,
    0x2EC0,
    0x2F80,
    0xEF41,
    0x2D00,
    0xEDC1,
    0xEC81,
    0x2C40,
    0xE401,
    0x24C0,
    0x2580,
    0xE541,
    0x2700,
    0xE7C1,
    0xE681,
    0x2640,
    0x2200,
    0xE2C1,
    0xE381,
    0x2340,
    0xE101,
    0x21C0,
    0x2080,
    0xE041,
    0xA001,
    0x60C0,
    0x6180,
    0xA141,
    0x6300,
    0xA3C1,
    0xA281,
    0x6240,
    0x6600,
    0xA6C1,
    0xA781,
    0x6740,
    0xA501,
    0x65C0,
    0x6480,
    0xA441,
    0x6C00,
    0xACC1,
    0xAD81,
    0x6D40,
    0xAF01,
    0x6FC0,
    0x6E80,
    0xAE41,
    0xAA01,
    0x6AC0,
    0x6B80,
    0xAB41,
    0x6900,
    0xA9C1,
    0xA881,
    0x6840,
    0x7800,
    0xB8C1,
    0xB981,
    0x7940,
    0xBB01,
    0x7BC0,
    0x7A80,
    0xBA41,
    0xBE01,
    0x7EC0,
    0x7F80,
    0xBF41,
    0x7D00,
    0xBDC1,
    0xBC81,
    0x7C40,
    0xB401,
    0x74C0,
    0x7580,
    0xB541,
    0x7700,
    0xB7C1,
    0xB681,
    0x7640,
    0x7200,
    0xB2C1,
    0xB381,
    0x7340,
    0xB101,
    0x71C0,
    0x7080,
    0xB041,
    0x5000,
    0x90C1,
    0x9181,
    0x5140,
    0x9301,
    0x53C0,
    0x5280,
    0x9241,
    0x9601,
    0x56C0,
    0x5780,
    0x9741,
    0x5500,
    0x95C1,
    0x9481,
    0x5440,
    0x9C01,
    0x5CC0,
    0x5D80,
    0x9D41,
    0x5F00,
    0x9FC1,
    0x9E81,
    0x5E40,
    0x5A00,
    0x9AC1,
    0x9B81,
    0x5B40,
    0x9901,
    0x59C0,
    0x5880,
    0x9841,
    0x8801,
    0x48C0,
    0x4980,
    0x8941,
    0x4B00,
    0x8BC1,
    0x8A81,
    0x4A40,
    0x4E00,
    0x8EC1,
    0x8F81,
    0x4F40,
    0x8D01,
    0x4DC0,
    0x4C80,
    0x8C41,
    0x4400,
    0x84C1,
    0x8581,
    0x4540,
    0x8701,
    0x47C0,
    0x4680,
    0x8641,
    0x8201,
    0x42C0,
    0x4380,
    0x8341,
    0x4100,
    0x81C1,
    0x8081,
    0x4040,
};

uint16_t
hj212_crc(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint16_t crc = 0xFFFF;

	/* HJ 212 XORs the byte into the register shifted right by 8 first
	 * (Modbus would XOR it into the low byte); then the eight shifts. */
	for (size_t i = 0; i < len; i++) {
		crc = (uint16_t)((crc >> 8) ^ p[i]);
		crc = (uint16_t)((crc >> 8) ^ crc_table[crc & 0xFF]);
	}
	return crc;
}

void
hj212_stream_init(struct hj212_stream *s)
{
	memset(s, 0, sizeof(*s));
}

size_t
hj212_stream_feed(struct hj212_stream *s, const void *p, size_t n,
    void (*fn)(void *arg, const char *data, size_t len), void *arg)
{
	const uint8_t *in = p;
	size_t left = n;

	/* The buffer never stays full: a frame at most fills it up to two
	 * bytes short, and is decided as soon as it is in. */
	while (left > 0) {
		size_t k = sizeof(s->buf) - s->len;

		if (k > left)
			k = left;
		memcpy(s->buf + s->len, in, k);
		s->len += k;
		in += k;
		left -= k;
		stream_run(s, fn, arg);
	}
	return n;
}

void
hj212_stream_flush(struct hj212_stream *s,
    void (*fn)(void *arg, const char *data, size_t len), void *arg)
{
	while (s->len > 0) {
		if (s->len >= 2 && s->buf[0] == '#' && s->buf[1] == '#')
			s->stats.bad_length++;
		s->stats.garbage_bytes++;
		memmove(s->buf, s->buf + 1, s->len - 1);
		s->len--;
		s->checked = 0;
		stream_run(s, fn, arg);
	}
	s->tail = 0;
}

int
hj212_unframe(const void *frame, size_t n, const char **data, size_t *len,
    enum reason *why)
{
	const char *f = frame;
	long dlen;
	uint16_t crc;

	if (n < HDR_LEN + CRC_LEN || f[0] != '#' || f[1] != '#' ||
	    !digits(f + 2, 4, 4, &dlen))
		return refuse(why, REASON_SYNTAX);
	if (n != HDR_LEN + (size_t)dlen + CRC_LEN &&
	    (n != HDR_LEN + (size_t)dlen + CRC_LEN + 2 || f[n - 2] != '\r' ||
		f[n - 1] != '\n'))
		return refuse(why, REASON_SYNTAX);
	if (!crc_field(f + HDR_LEN + dlen, &crc) ||
	    crc != hj212_crc(f + HDR_LEN, (size_t)dlen))
		return refuse(why, REASON_SYNTAX);
	*data = f + HDR_LEN;
	*len = (size_t)dlen;
	return AQ_OK;
}

int
hj212_parse(
    const char *data, size_t len, struct hj212_msg *out, enum reason *why)
{
	struct hj212_msg m;
	const char *p = data, *end = data + len;
	uint32_t seen = 0;
	int rc;

	memset(&m, 0, sizeof(m));
	m.flag = -1;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)data[i] < 0x20 ||
		    (unsigned char)data[i] > 0x7e)
			return refuse(why, REASON_SYNTAX);
	while (p < end && m.cp == NULL) {
		const char *fe, *eq;
		int f;

		/* CP is last, and may hold ';' and '=': it runs to the final
		 * "&&" that ends the segment. */
		if (end - p >= 3 && strncasecmp(p, "CP=", 3) == 0) {
			if (end - p < 7 || strncmp(p + 3, "&&", 2) != 0 ||
			    strncmp(end - 2, "&&", 2) != 0)
				return refuse(why, REASON_SYNTAX);
			m.cp = p + 5;
			m.cp_len = (size_t)(end - p) - 7;
			break;
		}
		fe = memchr(p, ';', (size_t)(end - p));
		if (fe == NULL)
			fe = end;
		if (fe == p) { /* an empty field: ";;" */
			p = fe + 1;
			continue;
		}
		if ((eq = memchr(p, '=', (size_t)(fe - p))) == NULL)
			return refuse(why, REASON_SYNTAX);
		if ((f = field_index(p, (size_t)(eq - p))) >= 0) {
			if (seen & (UINT32_C(1) << f))
				return refuse(why, REASON_SCHEMA);
			seen |= UINT32_C(1) << f;
			rc = parse_field(&m, f, eq + 1, (size_t)(fe - eq - 1));
			if (rc != AQ_OK)
				return refuse(why, REASON_SCHEMA);
		}
		p = fe == end ? end : fe + 1;
	}
	if (m.cp == NULL || !(seen & (UINT32_C(1) << F_CN)) ||
	    !(seen & (UINT32_C(1) << F_MN)))
		return refuse(why, REASON_SCHEMA);
	if (m.flag < 0 || (m.flag >> 2) == 0)
		m.edition = HJ212_2005;
	else if ((m.flag >> 2) == VERSION_2017)
		m.edition = HJ212_2017;
	else if ((m.flag >> 2) == VERSION_2025)
		m.edition = HJ212_2025;
	else
		return refuse(why, REASON_SCHEMA);
	if (m.edition != HJ212_2005 && m.qn[0] == '\0')
		return refuse(why, REASON_SCHEMA);
	if (m.flag >= 0 && (m.flag & HJ212_FLAG_SPLIT)) {
		if (m.pnum < 1 || m.pno < 1 || m.pno > m.pnum)
			return refuse(why, REASON_SCHEMA);
	} else {
		m.pnum = m.pno = 0;
	}
	*out = m;
	return AQ_OK;
}

int
hj212_readings(const struct hj212_msg *m, const struct tz *z,
    struct decode_result *out, uint32_t flagged[26], enum reason *why)
{
	struct slot slots[CODES];
	const char *dt = NULL, *p, *end;
	size_t dt_len = 0, i;
	struct decoded *r = &out->r[0];
	uint32_t reasons = 0;
	int64_t ts;
	int rc;

	out->n = 0;
	memset(out->dropped, 0, sizeof(out->dropped));
	memset(out->flagged, 0, sizeof(out->flagged));
	for (i = 0; i < DATACMDS && datacmds[i].cn != m->cn; i++)
		;
	if (i == DATACMDS || m->cp == NULL)
		return refuse(why, REASON_SCHEMA);
	memset(slots, 0, sizeof(slots));
	/* ';' parts groups of ',' parted pairs; the groups tell nothing we
	 * need, so both are separators here. */
	p = m->cp;
	end = m->cp + m->cp_len;
	while (p < end) {
		const char *q = p;

		while (q < end && *q != ';' && *q != ',')
			q++;
		rc = cp_pair(
		    p, (size_t)(q - p), (int)i, slots, &dt, &dt_len, why);
		if (rc != AQ_OK)
			return rc;
		p = q < end ? q + 1 : end;
	}
	if (dt == NULL || data_time(z, dt, dt_len, &ts) != AQ_OK)
		return refuse(why, REASON_BAD_TIME);
	if (strnlen(m->mn, sizeof(m->mn)) == 0)
		return refuse(why, REASON_NO_SENSOR);
	if (strnlen(m->mn, sizeof(m->mn)) >= sizeof(r->sensor) ||
	    strnlen(m->pw, sizeof(m->pw)) >= sizeof(r->pw))
		return refuse(why, REASON_SCHEMA);
	memset(r, 0, sizeof(*r));
	memcpy(r->sensor, m->mn, strnlen(m->mn, sizeof(m->mn)));
	memcpy(r->pw, m->pw, strnlen(m->pw, sizeof(m->pw)));
	r->registered_only = true;
	r->ts = ts;
	r->period = datacmds[i].period;
	for (size_t c = 0; c < CODES; c++) {
		const struct slot *sl = &slots[c];
		enum reason drop = REASON_COUNT;
		int letter = 'N';
		double v = 0;

		if (!sl->has_val)
			continue;
		if (sl->has_flag) {
			letter = sl->flag_len == 1 ? sl->flag[0] : 0;
			if (letter >= 'a' && letter <= 'z')
				letter -= 'a' - 'A';
			if (letter < 'A' || letter > 'Z')
				drop = REASON_SCHEMA;
		}
		if (drop == REASON_COUNT && !flag_usable(letter)) {
			flagged[letter - 'A']++;
			drop = REASON_FLAGGED;
		}
		if (drop == REASON_COUNT)
			drop = number(sl->val, sl->val_len, &v);
		if (drop != REASON_COUNT) {
			out->dropped[drop]++;
			if (!codes[c].met)
				reasons |= UINT32_C(1) << drop;
			continue;
		}
		if (codes[c].met) {
			r->met[codes[c].idx] = v * codes[c].scale;
			r->met_has |= UINT32_C(1) << codes[c].idx;
		} else {
			r->v[codes[c].idx] = v * codes[c].scale;
			r->has |= UINT32_C(1) << codes[c].idx;
		}
	}
	if (r->has == 0)
		return refuse(why, (enum reason)empty_reason(reasons));
	out->n = 1;
	return AQ_OK;
}

size_t
hj212_ack(const struct hj212_msg *m, char *buf, size_t len)
{
	char hdr[HDR_LEN + 1];
	size_t dlen, total;
	int n;

	if (len <= HDR_LEN)
		return 0;
	if (m->edition == HJ212_2005)
		n = snprintf(buf + HDR_LEN, len - HDR_LEN,
		    "ST=%d;CN=%d;PW=%s;MN=%s;Flag=0;CP=&&%s%s%sCN=%d&&", ACK_ST,
		    ACK_CN, m->pw, m->mn, m->qn[0] != '\0' ? "QN=" : "", m->qn,
		    m->qn[0] != '\0' ? ";" : "", m->cn);
	else
		n = snprintf(buf + HDR_LEN, len - HDR_LEN,
		    "QN=%s;ST=%d;CN=%d;PW=%s;MN=%s;Flag=%d;CP=&&&&", m->qn,
		    ACK_ST, ACK_CN, m->pw, m->mn,
		    (m->edition == HJ212_2025 ? VERSION_2025 : VERSION_2017)
			<< 2);
	if (n < 0 || n > HJ212_DATA_MAX)
		return 0;
	dlen = (size_t)n;
	total = HDR_LEN + dlen + CRC_LEN + 2;
	if (total >= len)
		return 0;
	(void)snprintf(hdr, sizeof(hdr), "##%04d", n);
	memcpy(buf, hdr, HDR_LEN);
	(void)snprintf(buf + HDR_LEN + dlen, len - HDR_LEN - dlen, "%04X\r\n",
	    (unsigned)hj212_crc(buf + HDR_LEN, dlen));
	return total;
}

/* Where the first "##" of b is; else where a last lone '#' is; else n. */
static size_t
find_start(const uint8_t *b, size_t n)
{
	const uint8_t *p = b, *end = b + n;

	while ((p = memchr(p, '#', (size_t)(end - p))) != NULL) {
		if (p + 1 == end || p[1] == '#')
			return (size_t)(p - b);
		p += 2; /* p[1] is not '#' */
		if (p >= end)
			break;
	}
	return n;
}

/*
 * Decides the frame candidate at b ("##" and avail - 2 bytes more): wait
 * for more, refuse it (counted), or a good frame of *dlen data bytes.
 * s->checked keeps how far CR and LF were looked for, so that a frame
 * trickling in is scanned once.
 */
static enum cand
candidate(struct hj212_stream *s, const uint8_t *b, size_t avail, size_t *dlen)
{
	size_t hdr = avail < HDR_LEN ? avail : HDR_LEN, total, end, k;
	long n = 0;
	uint16_t crc;

	for (k = 2; k < hdr; k++) {
		if (!is_digit(b[k])) {
			s->stats.bad_length++;
			return CAND_BAD;
		}
		n = n * 10 + (b[k] - '0');
	}
	if (avail < HDR_LEN)
		return CAND_WAIT;
	if (n > HJ212_DATA_LIMIT) {
		s->stats.oversize++;
		return CAND_BAD;
	}
	total = HDR_LEN + (size_t)n + CRC_LEN;
	end = avail < total ? avail : total;
	for (k = s->checked > HDR_LEN ? s->checked : HDR_LEN; k < end; k++) {
		if (b[k] == '\r' || b[k] == '\n') {
			s->stats.bad_length++;
			return CAND_BAD;
		}
	}
	s->checked = end;
	if (avail < total)
		return CAND_WAIT;
	if (!crc_field((const char *)b + HDR_LEN + n, &crc) ||
	    crc != hj212_crc(b + HDR_LEN, (size_t)n)) {
		s->stats.bad_crc++;
		return CAND_BAD;
	}
	*dlen = (size_t)n;
	return CAND_FRAME;
}

/* Takes every frame out of the buffer, leaving at most a partial one. */
static void
stream_run(struct hj212_stream *s,
    void (*fn)(void *arg, const char *data, size_t len), void *arg)
{
	size_t off = 0;

	while (off < s->len) {
		const uint8_t *b = s->buf + off;
		size_t avail = s->len - off, i, dlen = 0;
		enum cand c;

		if (s->tail > 0) {
			/* The CR LF after a frame, when it comes. */
			if (b[0] == (s->tail == 2 ? '\r' : '\n')) {
				off++;
				s->tail--;
			} else {
				s->tail = 0;
			}
			continue;
		}
		i = find_start(b, avail);
		s->stats.garbage_bytes += i;
		off += i;
		if (avail - i < 2)
			break;
		c = candidate(s, b + i, avail - i, &dlen);
		if (c == CAND_WAIT)
			break;
		s->checked = 0;
		if (c == CAND_BAD) {
			/* Resume one byte on: "###0101..." may hide a frame
			 * behind a stray '#', and a corrupt frame one inside.
			 */
			s->stats.garbage_bytes++;
			off++;
			continue;
		}
		s->stats.frames++;
		if (fn != NULL)
			fn(arg, (const char *)b + i + HDR_LEN, dlen);
		off += HDR_LEN + dlen + CRC_LEN;
		s->tail = 2;
	}
	memmove(s->buf, s->buf + off, s->len - off);
	s->len -= off;
}

static bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Four hex digits, either case. */
static bool
crc_field(const char *p, uint16_t *crc)
{
	unsigned v = 0;

	for (int i = 0; i < CRC_LEN; i++) {
		int h = hex_digit((unsigned char)p[i]);

		if (h < 0)
			return false;
		v = v << 4 | (unsigned)h;
	}
	*crc = (uint16_t)v;
	return true;
}

/* Sets *why and returns AQ_ERR_INVAL, so that a refusal is one statement. */
static int
refuse(enum reason *why, enum reason r)
{
	*why = r;
	return AQ_ERR_INVAL;
}

/* 1 to max_digits decimal digits, and nothing else; their value to *out
 * unless out is NULL (a QN's 23 digits hold no long). */
static bool
digits(const char *p, size_t n, size_t max_digits, long *out)
{
	long v = 0;

	if (n == 0 || n > max_digits || (out != NULL && n > 18))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit((unsigned char)p[i]))
			return false;
		if (out != NULL)
			v = v * 10 + (p[i] - '0');
	}
	if (out != NULL)
		*out = v;
	return true;
}

/* Whether the n bytes at p are word, ignoring case. */
static bool
text_eq(const char *p, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(p, word, n) == 0;
}

/* dst = the n bytes at p; AQ_ERR_RANGE if they do not fit. */
static int
set_text(char *dst, size_t size, const char *p, size_t n)
{
	if (n >= size)
		return AQ_ERR_RANGE;
	memcpy(dst, p, n);
	dst[n] = '\0';
	return AQ_OK;
}

static int
field_index(const char *p, size_t n)
{
	for (int f = 0; f < F_COUNT; f++)
		if (text_eq(p, n, field_names[f]))
			return f;
	return -1;
}

/* Sets header field f of m from its value (v, n). */
static int
parse_field(struct hj212_msg *m, int f, const char *v, size_t n)
{
	long x = 0;

	switch (f) {
	case F_QN:
		if (!digits(v, n, HJ212_QN_MAX - 1, NULL))
			return AQ_ERR_INVAL;
		return set_text(m->qn, sizeof(m->qn), v, n);
	case F_ST:
		if (!digits(v, n, 5, &x))
			return AQ_ERR_INVAL;
		m->st = (int)x;
		return AQ_OK;
	case F_CN:
		if (!digits(v, n, 6, &x))
			return AQ_ERR_INVAL;
		m->cn = (int)x;
		return AQ_OK;
	case F_PW:
		return set_text(m->pw, sizeof(m->pw), v, n);
	case F_MN:
		if (n == 0)
			return AQ_ERR_INVAL;
		return set_text(m->mn, sizeof(m->mn), v, n);
	case F_FLAG:
		if (!digits(v, n, 3, &x) || x > FLAG_MAX)
			return AQ_ERR_INVAL;
		m->flag = (int)x;
		return AQ_OK;
	case F_PNUM:
	case F_PNO:
		if (!digits(v, n, 9, &x))
			return AQ_ERR_INVAL;
		*(f == F_PNUM ? &m->pnum : &m->pno) = (int)x;
		return AQ_OK;
	default:
		return AQ_ERR_INVAL;
	}
}

/* Notes one KEY=VALUE pair of a CP area: DataTime, or a factor's value
 * (field datacmds[cmd].field) or flag; others are ignored. */
static int
cp_pair(const char *p, size_t n, int cmd, struct slot *slots, const char **dt,
    size_t *dt_len, enum reason *why)
{
	const char *eq, *dash;
	size_t c;

	if (n == 0) /* "...;&&" or ";;" */
		return AQ_OK;
	if ((eq = memchr(p, '=', n)) == NULL)
		return refuse(why, REASON_SYNTAX);
	if (text_eq(p, (size_t)(eq - p), "DataTime")) {
		if (*dt != NULL)
			return refuse(why, REASON_SCHEMA);
		*dt = eq + 1;
		*dt_len = n - (size_t)(eq - p) - 1;
		return AQ_OK;
	}
	if ((dash = memchr(p, '-', (size_t)(eq - p))) == NULL)
		return AQ_OK;
	for (c = 0; c < CODES; c++)
		if (text_eq(p, (size_t)(dash - p), codes[c].code))
			break;
	if (c == CODES)
		return AQ_OK;
	if (text_eq(dash + 1, (size_t)(eq - dash - 1), datacmds[cmd].field)) {
		if (slots[c].has_val)
			return refuse(why, REASON_SCHEMA);
		slots[c].has_val = true;
		slots[c].val = eq + 1;
		slots[c].val_len = n - (size_t)(eq - p) - 1;
	} else if (text_eq(dash + 1, (size_t)(eq - dash - 1), "Flag")) {
		if (slots[c].has_flag)
			return refuse(why, REASON_SCHEMA);
		slots[c].has_flag = true;
		slots[c].flag = eq + 1;
		slots[c].flag_len = n - (size_t)(eq - p) - 1;
	}
	return AQ_OK;
}

/*
 * DataTime (yyyyMMddHHmmss, local time of z) into Unix seconds.  The offset
 * is the one in force at the instant meant: first guessed from the local
 * seconds taken as UTC, then read again at the instant that guess gives
 * (exact but for the hour a clock change repeats or skips).
 */
static int
data_time(const struct tz *z, const char *p, size_t n, int64_t *ts)
{
	long date, hh, mm, ss;
	int64_t local, guess, t;

	if (n != DATATIME_LEN || !digits(p, 8, 8, &date) ||
	    !digits(p + 8, 2, 2, &hh) || !digits(p + 10, 2, 2, &mm) ||
	    !digits(p + 12, 2, 2, &ss))
		return AQ_ERR_INVAL;
	if (date < 19000101 || date % 100 == 0 || date / 100 % 100 == 0 ||
	    date / 100 % 100 > 12 || hh > 23 || mm > 59 || ss > 59 ||
	    tz_date_from_days(tz_days_from_date((int32_t)date)) != date)
		return AQ_ERR_INVAL;
	local =
	    tz_days_from_date((int32_t)date) * 86400 + hh * 3600 + mm * 60 + ss;
	guess = local - tz_offset(z, local);
	t = local - tz_offset(z, guess);
	if (t < TS_MIN || t >= TS_MAX)
		return AQ_ERR_INVAL;
	*ts = t;
	return AQ_OK;
}

/* A decimal number, as the standard writes them (N14.2 and the like);
 * REASON_COUNT if it is one, else why the value is dropped.  strtod alone
 * would take hexadecimal and "nan", so the bytes are checked first; the
 * spellings of infinity and NaN count as not finite, as in every other
 * format (decode.h). */
static enum reason
number(const char *p, size_t n, double *v)
{
	char text[NUM_TEXT_MAX];
	const char *s;
	char *end;
	double d;

	if (n == 0 || n >= sizeof(text))
		return REASON_NOT_NUMBER;
	memcpy(text, p, n);
	text[n] = '\0';
	s = text + (text[0] == '+' || text[0] == '-');
	if (strcasecmp(s, "nan") == 0 || strcasecmp(s, "inf") == 0 ||
	    strcasecmp(s, "infinity") == 0)
		return REASON_NOT_FINITE;
	for (size_t i = 0; i < n; i++)
		if (strchr("0123456789.eE+-", text[i]) == NULL)
			return REASON_NOT_NUMBER;
	d = strtod(text, &end);
	if (*end != '\0' || end == text)
		return REASON_NOT_NUMBER;
	if (!isfinite(d))
		return REASON_OUT_OF_RANGE; /* "1e400": a number, too large */
	*v = d;
	return REASON_COUNT;
}

/* Unknown letters are not usable either: the table may be extended. */
static bool
flag_usable(int letter)
{
	for (size_t i = 0; i < DATA_FLAGS; i++)
		if (data_flags[i].letter == letter)
			return data_flags[i].usable;
	return false;
}

/* The reason a frame left without pollutant values is refused for: the
 * one reason its pollutant values were all dropped for, else no_values
 * (decode.c's rule for every format). */
static int
empty_reason(uint32_t reasons)
{
	int r = 0;

	if (reasons == 0 || (reasons & (reasons - 1)) != 0)
		return REASON_NO_VALUES;
	while ((reasons >> r) != 1)
		r++;
	return r;
}
