/*
 * check_hj212: the HJ 212 module -- CRC against values computed by an
 * independent program, the stream reassembler on every way of cutting a
 * stream with garbage between its frames, the data segment's fields, the
 * readings of the four data commands, the data acknowledgement, and the
 * decoder through decode().  Frames from public material and written for
 * the tests are in tests/fixtures/hj212 (README there).
 */
#include "sensors/hj212.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sensors/decode.h"

#ifndef AQ_HJ212_DIR
#define AQ_HJ212_DIR "tests/fixtures/hj212"
#endif

#define EPS 1e-9
#define MAX_LEN 16384
#define NOW INT64_C(1795932000) /* 2026-11-29T14:00:00+08:00 */
#define GOT_MAX 16
#define STREAM_MAX 2048
#define PATH_LEN 512

/* The standard's own sample frame (HJ 212-2017 appendix A). */
#define SAMPLE_DATA                                                            \
	"QN=20160801085857223;ST=32;CN=1062;PW=100000;"                        \
	"MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&"
#define SAMPLE "##0101" SAMPLE_DATA "1C80\r\n"

/* Frames handed out by the stream, copied. */
struct got {
	int n;
	size_t len[GOT_MAX];
	char data[GOT_MAX][STREAM_MAX];
};

/* A stream of frames and garbage, and what it must give. */
struct scenario {
	char buf[STREAM_MAX];
	size_t len;
	int nframes;
	const char *frames[3];
	size_t frame_bytes; /* bytes of the delivered frames, CR LF included */
	struct hj212_stats want;
};

static void collect(void *arg, const char *data, size_t len);
static size_t frame(char *buf, size_t size, const char *data, bool crlf);
static void put(struct scenario *sc, const void *p, size_t n);
static void scenario_build(struct scenario *sc);
static void scenario_check(const struct scenario *sc,
    const struct hj212_stream *s, const struct got *g, const char *how);
static int parse_str(const char *data, struct hj212_msg *m, enum reason *why);
static int readings(const char *data, struct decode_result *out,
    uint32_t *flagged, enum reason *why);
static char *slurp(const char *name, size_t *len);
static void setup(void);
static void count_only(void *arg, const char *data, size_t len);
static Suite *hj212_suite(void);

static struct tz shanghai;
static struct decode_result res;

static const char air_2011[] =
    "QN=20261129135905123;ST=22;CN=2011;PW=123456;"
    "MN=AQ0000000000000000000001;Flag=5;CP=&&DataTime=20261129135900;"
    "a34004-Rtd=35.2,a34004-Flag=N;a21026-Rtd=12,a21026-Flag=N&&";
static const char dust_2011[] =
    "QN=20180906103406000;ST=39;CN=2011;PW=123456;"
    "MN=690000D5800028F889000003;Flag=4;CP=&&DataTime=20180906103406;"
    "a34004-Rtd=45.0;a34002-Rtd=62.7;a34001-Rtd=78.4;LA-Rtd=63.2;"
    "a01001-Rtd=28.3;a01002-Rtd=60.0;a01006-Rtd=100.3;a01007-Rtd=0.0;"
    "a01008-Rtd=45&&";

static void
collect(void *arg, const char *data, size_t len)
{
	struct got *g = arg;

	ck_assert_int_lt(g->n, GOT_MAX);
	ck_assert_uint_lt(len, STREAM_MAX);
	memcpy(g->data[g->n], data, len);
	g->len[g->n++] = len;
}

/* "##" + length + data + CRC (+ CR LF) into buf; returns its length. */
static size_t
frame(char *buf, size_t size, const char *data, bool crlf)
{
	size_t n = strlen(data);
	int k = snprintf(buf, size, "##%04zu%s%04X%s", n, data,
	    (unsigned)hj212_crc(data, n), crlf ? "\r\n" : "");

	ck_assert(k > 0 && (size_t)k < size);
	return (size_t)k;
}

static void
put(struct scenario *sc, const void *p, size_t n)
{
	ck_assert_uint_le(sc->len + n, sizeof(sc->buf));
	memcpy(sc->buf + sc->len, p, n);
	sc->len += n;
}

/*
 * Garbage, frame A, a lone '#', "##" and junk, frame B with a bad CRC,
 * frame A claiming a length too long (its CR LF comes first), an oversize
 * claim, frame B, a truncated frame whose claimed length runs into what
 * follows, a stray '#' glued to frame C, which ends the stream without its
 * CR LF.
 */
static void
scenario_build(struct scenario *sc)
{
	char f[STREAM_MAX];
	size_t n;
	uint32_t x = 12345;

	memset(sc, 0, sizeof(*sc));
	for (int i = 0; i < 20; i++) {
		char c;

		x = x * 1103515245u + 12345u;
		c = (char)(x >> 16);
		put(sc, c == '#' ? "$" : &c, 1);
	}
	n = frame(f, sizeof(f), SAMPLE_DATA, true);
	put(sc, f, n);
	sc->frame_bytes += n;
	put(sc, "#x", 2);
	put(sc, "##junk", 6);
	sc->want.bad_length++;
	n = frame(f, sizeof(f), air_2011, true);
	f[n - 3] = f[n - 3] == '0' ? '1' : '0'; /* the CRC's last digit */
	put(sc, f, n);
	sc->want.bad_crc++;
	n = frame(f, sizeof(f), SAMPLE_DATA, true);
	memcpy(f + 2, "0200", 4);
	put(sc, f, n);
	sc->want.bad_length++;
	put(sc, "##5000abc", 9);
	sc->want.oversize++;
	n = frame(f, sizeof(f), air_2011, true);
	put(sc, f, n);
	sc->frame_bytes += n;
	put(sc, "##0101QN=2016", 13);
	sc->want.bad_crc++;
	put(sc, "#", 1);
	sc->want.bad_length++; /* "###0..." */
	n = frame(f, sizeof(f), dust_2011, false);
	put(sc, f, n);
	sc->frame_bytes += n;
	sc->nframes = 3;
	sc->frames[0] = SAMPLE_DATA;
	sc->frames[1] = air_2011;
	sc->frames[2] = dust_2011;
	sc->want.frames = 3;
	sc->want.garbage_bytes = sc->len - sc->frame_bytes;
}

static void
scenario_check(const struct scenario *sc, const struct hj212_stream *s,
    const struct got *g, const char *how)
{
	ck_assert_msg(g->n == sc->nframes, "%s: %d frames", how, g->n);
	for (int i = 0; i < g->n; i++)
		ck_assert_msg(g->len[i] == strlen(sc->frames[i]) &&
			memcmp(g->data[i], sc->frames[i], g->len[i]) == 0,
		    "%s: frame %d", how, i);
	ck_assert_msg(s->stats.frames == sc->want.frames, "%s", how);
	ck_assert_msg(s->stats.garbage_bytes == sc->want.garbage_bytes,
	    "%s: garbage %llu, want %llu", how,
	    (unsigned long long)s->stats.garbage_bytes,
	    (unsigned long long)sc->want.garbage_bytes);
	ck_assert_msg(s->stats.bad_length == sc->want.bad_length,
	    "%s: bad_length %llu", how,
	    (unsigned long long)s->stats.bad_length);
	ck_assert_msg(s->stats.bad_crc == sc->want.bad_crc, "%s: bad_crc %llu",
	    how, (unsigned long long)s->stats.bad_crc);
	ck_assert_msg(s->stats.oversize == sc->want.oversize, "%s", how);
	ck_assert_msg(s->len == 0, "%s: %zu bytes left", how, s->len);
}

static int
parse_str(const char *data, struct hj212_msg *m, enum reason *why)
{
	return hj212_parse(data, strlen(data), m, why);
}

/* Parses a data segment and reads it in Asia/Shanghai. */
static int
readings(const char *data, struct decode_result *out, uint32_t *flagged,
    enum reason *why)
{
	struct hj212_msg m;
	int rc = hj212_parse(data, strlen(data), &m, why);

	if (rc != AQ_OK)
		return rc;
	return hj212_readings(&m, &shanghai, out, flagged, why);
}

static char *
slurp(const char *name, size_t *len)
{
	char path[PATH_LEN];
	FILE *f;
	char *buf;
	long size;

	snprintf(path, sizeof(path), "%s/%s", AQ_HJ212_DIR, name);
	ck_assert_msg((f = fopen(path, "rb")) != NULL, "%s", path);
	ck_assert(fseek(f, 0, SEEK_END) == 0);
	ck_assert((size = ftell(f)) > 0);
	rewind(f);
	ck_assert((buf = malloc((size_t)size)) != NULL);
	ck_assert(fread(buf, 1, (size_t)size, f) == (size_t)size);
	fclose(f);
	*len = (size_t)size;
	return buf;
}

static void
setup(void)
{
	ck_assert_int_eq(tz_init(&shanghai, "Asia/Shanghai"), AQ_OK);
	decode_set_zone(&shanghai);
}

/* CRCs computed by a separate Python program (hj212.c's algorithm written
 * again from the standard's appendix A). */
static const struct {
	const char *data;
	uint16_t crc;
} crcs[] = {
    {"", 0xFFFF},
    {"A", 0x7080},
    {"123456789", 0x2F80},
    {SAMPLE_DATA, 0x1C80},
    {"QN=20160801085857223;ST=91;CN=9014;PW=100000;"
     "MN=010000A8900016F000169DC0;Flag=4;CP=&&&&",
	0x71C0},
};

START_TEST(crc)
{
	ck_assert_uint_eq(
	    hj212_crc(crcs[_i].data, strlen(crcs[_i].data)), crcs[_i].crc);
}
END_TEST

START_TEST(sample_frame)
{
	const char *data;
	size_t len;
	enum reason why;

	ck_assert_uint_eq(strlen(SAMPLE_DATA), 101);
	ck_assert_int_eq(
	    hj212_unframe(SAMPLE, strlen(SAMPLE), &data, &len, &why), AQ_OK);
	ck_assert_uint_eq(len, 101);
	ck_assert(data == &SAMPLE[6]);
	/* Without CR LF, and with a lower-case CRC. */
	ck_assert_int_eq(
	    hj212_unframe(SAMPLE, strlen(SAMPLE) - 2, &data, &len, &why),
	    AQ_OK);
	ck_assert_int_eq(
	    hj212_unframe("##0101" SAMPLE_DATA "1c80", 111, &data, &len, &why),
	    AQ_OK);
}
END_TEST

/* Frames hj212_unframe refuses, all as syntax. */
static const char *const bad_frames[] = {
    "",
    "##0101",
    "#0101" SAMPLE_DATA "1C80\r\n",
    "##101" SAMPLE_DATA "1C80\r\n",
    "##01a1" SAMPLE_DATA "1C80\r\n",
    "##0100" SAMPLE_DATA "1C80\r\n",
    "##0102" SAMPLE_DATA "1C80\r\n",
    "##0101" SAMPLE_DATA "1C81\r\n",
    "##0101" SAMPLE_DATA "1C8G\r\n",
    "##0101" SAMPLE_DATA "1C80\n",
    "##0101" SAMPLE_DATA "1C80\r\nx",
    "##0101" SAMPLE_DATA "1C80\n\r",
    " ##0101" SAMPLE_DATA "1C80\r\n",
};

START_TEST(unframe_bad)
{
	const char *data = NULL;
	size_t len = 0;
	enum reason why = REASON_COUNT;

	ck_assert_int_eq(hj212_unframe(bad_frames[_i], strlen(bad_frames[_i]),
			     &data, &len, &why),
	    AQ_ERR_INVAL);
	ck_assert_int_eq(why, REASON_SYNTAX);
	ck_assert(data == NULL);
}
END_TEST

START_TEST(stream_whole)
{
	struct scenario sc;
	struct hj212_stream s;
	struct got g = {0};

	scenario_build(&sc);
	hj212_stream_init(&s);
	ck_assert_uint_eq(
	    hj212_stream_feed(&s, sc.buf, sc.len, collect, &g), sc.len);
	scenario_check(&sc, &s, &g, "whole");
}
END_TEST

/* Cut once at every byte boundary, 0 and len included. */
START_TEST(stream_every_split)
{
	struct scenario sc;
	char how[32];

	scenario_build(&sc);
	for (size_t k = 0; k <= sc.len; k++) {
		struct hj212_stream s;
		struct got g = {0};

		hj212_stream_init(&s);
		hj212_stream_feed(&s, sc.buf, k, collect, &g);
		hj212_stream_feed(&s, sc.buf + k, sc.len - k, collect, &g);
		snprintf(how, sizeof(how), "split at %zu", k);
		scenario_check(&sc, &s, &g, how);
	}
}
END_TEST

/* One byte at a time, and in chunks of every size from 2 to 64. */
START_TEST(stream_chunks)
{
	struct scenario sc;
	char how[32];

	scenario_build(&sc);
	for (size_t chunk = 1; chunk <= 64; chunk++) {
		struct hj212_stream s;
		struct got g = {0};

		hj212_stream_init(&s);
		for (size_t k = 0; k < sc.len; k += chunk)
			hj212_stream_feed(&s, sc.buf + k,
			    sc.len - k < chunk ? sc.len - k : chunk, collect,
			    &g);
		snprintf(how, sizeof(how), "chunks of %zu", chunk);
		scenario_check(&sc, &s, &g, how);
	}
}
END_TEST

/* Bytes fed = delivered frames + garbage + buffered, at every step. */
START_TEST(stream_accounting)
{
	struct scenario sc;
	struct hj212_stream s;
	struct got g = {0};

	scenario_build(&sc);
	hj212_stream_init(&s);
	for (size_t k = 0; k < sc.len; k++) {
		size_t framed = 0;

		hj212_stream_feed(&s, sc.buf + k, 1, collect, &g);
		for (int i = 0; i < g.n; i++)
			framed += 10 + g.len[i] + (i < 2 ? 2 : 0);
		/* Frame i's CR LF counts once it has come. */
		if (g.n > 0 && g.n <= 2 && s.tail > 0)
			framed -= (size_t)s.tail;
		ck_assert_uint_eq(
		    framed + s.stats.garbage_bytes + s.len, k + 1);
	}
}
END_TEST

START_TEST(stream_limits)
{
	static char big[3 * HJ212_FRAME_MAX];
	struct hj212_stream s;
	struct got g = {0};
	size_t n;

	/* Noise larger than the buffer goes by, counted. */
	memset(big, 'x', sizeof(big));
	hj212_stream_init(&s);
	hj212_stream_feed(&s, big, sizeof(big), collect, &g);
	ck_assert_uint_eq(s.stats.garbage_bytes, sizeof(big));
	ck_assert_uint_eq(s.len, 0);

	/* The largest frame accepted, then one byte more claimed. */
	memcpy(big, "QN=1;CN=2011;MN=x;CP=&&", 23);
	memset(big + 23, 'a', HJ212_DATA_LIMIT - 25);
	memcpy(big + HJ212_DATA_LIMIT - 2, "&&", 3);
	ck_assert_uint_eq(strlen(big), HJ212_DATA_LIMIT);
	{
		static char f[HJ212_FRAME_MAX + 1];
		int frames = 0;

		n = frame(f, sizeof(f), big, true);
		hj212_stream_init(&s);
		hj212_stream_feed(&s, f, n, count_only, &frames);
		ck_assert_int_eq(frames, 1);
	}
	ck_assert_uint_eq(s.stats.frames, 1);
	ck_assert_uint_eq(s.len, 0);
	hj212_stream_init(&s);
	hj212_stream_feed(&s, "##4097", 6, collect, &g);
	ck_assert_uint_eq(s.stats.oversize, 1);
	ck_assert_uint_eq(s.stats.garbage_bytes, 6);
	/* A lone '#' waits for the next read. */
	hj212_stream_init(&s);
	hj212_stream_feed(&s, "abc#", 4, collect, &g);
	ck_assert_uint_eq(s.len, 1);
	ck_assert_uint_eq(s.stats.garbage_bytes, 3);
	n = frame(big, sizeof(big), SAMPLE_DATA, true);
	hj212_stream_feed(&s, big + 1, n - 1, collect, &g);
	ck_assert_int_eq(g.n, 1);
	ck_assert_uint_eq(s.stats.frames, 1);
	ck_assert_uint_eq(s.len, 0);
}
END_TEST

/* Counts frames, for those longer than collect() keeps. */
static void
count_only(void *arg, const char *data, size_t len)
{
	(void)data;
	(void)len;
	(*(int *)arg)++;
}

START_TEST(stream_flush)
{
	struct hj212_stream s;
	struct got g = {0};
	char f[STREAM_MAX];
	size_t n;
	int frames = 0;

	/* A long claim holds up a frame without CR LF until flushed. */
	hj212_stream_init(&s);
	hj212_stream_feed(&s, "##0500abc", 9, collect, &g);
	n = frame(f, sizeof(f), SAMPLE_DATA, false);
	hj212_stream_feed(&s, f, n, collect, &g);
	ck_assert_int_eq(g.n, 0);
	ck_assert_uint_eq(s.len, 9 + n);
	hj212_stream_flush(&s, collect, &g);
	ck_assert_int_eq(g.n, 1);
	ck_assert_uint_eq(g.len[0], 101);
	ck_assert_uint_eq(s.stats.bad_length, 1);
	ck_assert_uint_eq(s.stats.garbage_bytes, 9);
	ck_assert_uint_eq(s.len, 0);
	/* A partial frame at the end; a lone '#'; nothing. */
	hj212_stream_init(&s);
	hj212_stream_feed(&s, f, 50, count_only, &frames);
	hj212_stream_flush(&s, count_only, &frames);
	ck_assert_uint_eq(s.stats.bad_length, 1);
	ck_assert_uint_eq(s.stats.garbage_bytes, 50);
	hj212_stream_feed(&s, "#", 1, count_only, &frames);
	hj212_stream_flush(&s, count_only, &frames);
	ck_assert_uint_eq(s.stats.bad_length, 1);
	ck_assert_uint_eq(s.stats.garbage_bytes, 51);
	hj212_stream_flush(&s, NULL, NULL);
	ck_assert_int_eq(frames, 0);
	ck_assert_uint_eq(s.len, 0);
}
END_TEST

START_TEST(parse_sample)
{
	struct hj212_msg m;
	enum reason why;

	ck_assert_int_eq(parse_str(SAMPLE_DATA, &m, &why), AQ_OK);
	ck_assert_str_eq(m.qn, "20160801085857223");
	ck_assert_int_eq(m.st, 32);
	ck_assert_int_eq(m.cn, 1062);
	ck_assert_str_eq(m.pw, "100000");
	ck_assert_str_eq(m.mn, "010000A8900016F000169DC0");
	ck_assert_int_eq(m.flag, 5);
	ck_assert_int_eq(m.edition, HJ212_2017);
	ck_assert_int_eq(m.pnum, 0);
	ck_assert_int_eq(m.pno, 0);
	ck_assert_uint_eq(m.cp_len, strlen("RtdInterval=30"));
	ck_assert(memcmp(m.cp, "RtdInterval=30", m.cp_len) == 0);
}
END_TEST

START_TEST(parse_fields)
{
	struct hj212_msg m;
	enum reason why;

	/* Split, 2025, CP holding ';', '=', ',' and "&&" inside. */
	ck_assert_int_eq(
	    parse_str("QN=20260101000000001;ST=22;CN=2011;PW=pw;MN=m1;Flag=11;"
		      "PNUM=3;PNO=2;CP=&&DataTime=1;a=b,c=d;e&&f=g&&",
		&m, &why),
	    AQ_OK);
	ck_assert_int_eq(m.edition, HJ212_2025);
	ck_assert_int_eq(m.flag, 11);
	ck_assert_int_eq(m.pnum, 3);
	ck_assert_int_eq(m.pno, 2);
	ck_assert_uint_eq(m.cp_len, strlen("DataTime=1;a=b,c=d;e&&f=g"));
	ck_assert(memcmp(m.cp, "DataTime=1;a=b,c=d;e&&f=g", m.cp_len) == 0);
	/* PNUM and PNO without Flag D are not kept. */
	ck_assert_int_eq(parse_str("QN=1;CN=2011;MN=m;Flag=4;PNUM=3;PNO=2;"
				   "CP=&&&&",
			     &m, &why),
	    AQ_OK);
	ck_assert_int_eq(m.pnum, 0);
	ck_assert_uint_eq(m.cp_len, 0);
	/* 2005: no Flag and no QN; names in any case; unknown fields and
	 * empty ones pass. */
	ck_assert_int_eq(parse_str("st=32;;cn=2011;pw=123456;mn=LD1;RF=1;"
				   "cp=&&DataTime=20160824003817&&",
			     &m, &why),
	    AQ_OK);
	ck_assert_int_eq(m.edition, HJ212_2005);
	ck_assert_int_eq(m.flag, -1);
	ck_assert_str_eq(m.qn, "");
	ck_assert_str_eq(m.pw, "123456");
	ck_assert_int_eq(
	    parse_str("CN=2011;MN=m;Flag=3;PNUM=1;PNO=1;CP=&&&&", &m, &why),
	    AQ_OK);
	ck_assert_int_eq(m.edition, HJ212_2005);
	ck_assert_int_eq(m.pnum, 1);
	/* A QN of the most digits kept, beyond what a long holds (the fuzzer
	 * found the parser multiplying them into one: signed overflow). */
	ck_assert_int_eq(parse_str("QN=99999999999999999999999;CN=2011;MN=m;"
				   "Flag=4;CP=&&&&",
			     &m, &why),
	    AQ_OK);
	ck_assert_str_eq(m.qn, "99999999999999999999999");
}
END_TEST

/* Data segments hj212_parse refuses, with the reason. */
static const struct {
	const char *data;
	enum reason why;
} bad_segments[] = {
    {"QN=1;CN=2011;MN=m;Flag=4", REASON_SCHEMA},    /* no CP */
    {"QN=1;MN=m;Flag=4;CP=&&&&", REASON_SCHEMA},    /* no CN */
    {"QN=1;CN=2011;Flag=4;CP=&&&&", REASON_SCHEMA}, /* no MN */
    {"CN=2011;MN=m;Flag=4;CP=&&&&", REASON_SCHEMA}, /* 2017, no QN */
    {"QN=1;CN=2011;MN=;Flag=4;CP=&&&&", REASON_SCHEMA},
    {"QN=1x;CN=2011;MN=m;Flag=4;CP=&&&&", REASON_SCHEMA},
    {"QN=1;CN=20a1;MN=m;Flag=4;CP=&&&&", REASON_SCHEMA},
    {"QN=1;ST=;CN=2011;MN=m;Flag=4;CP=&&&&", REASON_SCHEMA},
    {"QN=1;CN=2011;MN=m;Flag=256;CP=&&&&", REASON_SCHEMA},
    {"QN=1;CN=2011;MN=m;Flag=-1;CP=&&&&", REASON_SCHEMA},
    {"QN=1;CN=2011;MN=m;Flag=12;CP=&&&&", REASON_SCHEMA}, /* version 3 */
    {"QN=1;CN=2011;MN=m;Flag=7;CP=&&&&", REASON_SCHEMA},  /* D, no PNUM */
    {"QN=1;CN=2011;MN=m;Flag=7;PNUM=2;PNO=3;CP=&&&&", REASON_SCHEMA},
    {"QN=1;CN=2011;MN=m;Flag=7;PNUM=2;PNO=0;CP=&&&&", REASON_SCHEMA},
    {"QN=1;CN=2011;CN=2011;MN=m;Flag=4;CP=&&&&", REASON_SCHEMA},
    {"QN=1;CN=2011;MN=0123456789012345678901234567890123;CP=&&&&",
	REASON_SCHEMA},
    {"QN=1;CN=2011;PW=01234567890123456;MN=m;CP=&&&&", REASON_SCHEMA},
    {"QN=1;CN=2011;MN=m;Flag;CP=&&&&", REASON_SYNTAX},
    {"QN=1;CN=2011;MN=m;Flag=4;CP=&&a=1", REASON_SYNTAX},
    {"QN=1;CN=2011;MN=m;Flag=4;CP=a=1&&", REASON_SYNTAX},
    {"QN=1;CN=2011;MN=m;Flag=4;CP=&&&", REASON_SYNTAX},
    {"QN=1;CN=2011;MN=m;Flag=4;CP=&&&&;", REASON_SYNTAX},
    {"QN=1;CN=2011;MN=m\t;Flag=4;CP=&&&&", REASON_SYNTAX},
    {"QN=1;CN=2011;MN=m\xe6;Flag=4;CP=&&&&", REASON_SYNTAX},
};

START_TEST(parse_bad)
{
	struct hj212_msg m = {.cn = 7};
	enum reason why = REASON_COUNT;

	ck_assert_msg(
	    parse_str(bad_segments[_i].data, &m, &why) == AQ_ERR_INVAL,
	    "%s: accepted", bad_segments[_i].data);
	ck_assert_msg(why == bad_segments[_i].why, "%s: %s",
	    bad_segments[_i].data, reason_name(why));
	ck_assert_int_eq(m.cn, 7); /* out untouched */
}
END_TEST

START_TEST(readings_2011)
{
	static const char data[] =
	    "QN=20261129135905123;ST=22;CN=2011;PW=123456;MN=AQ1;Flag=5;"
	    "CP=&&DataTime=20261129135900;a34004-Rtd=35.2,a34004-Flag=N;"
	    "a34002-Rtd=61,a34002-SampleTime=20261129135800;"
	    "A21005-RTD=0.8,A21005-FLAG=n;a21026-Rtd=12,a21026-Flag=N;"
	    "a01006-Rtd=101.3,a01006-Flag=N;a01001-Rtd=-3.5;a01002-Rtd=80;"
	    "a01007-Rtd=1.2;a01008-Rtd=270;a34001-Rtd=150.5;a99999-Rtd=1;"
	    "a05024-Avg=9&&";
	uint32_t flagged[26] = {0};
	const struct decoded *r = &res.r[0];
	enum reason why;

	ck_assert_int_eq(readings(data, &res, flagged, &why), AQ_OK);
	ck_assert_int_eq(res.n, 1);
	ck_assert_str_eq(r->sensor, "AQ1");
	ck_assert_str_eq(r->pw, "123456");
	ck_assert(r->registered_only);
	ck_assert_str_eq(r->cell, "");
	ck_assert(!r->has_pos);
	ck_assert_int_eq(r->ts, NOW - 60);
	ck_assert_int_eq(r->period, 60);
	ck_assert_uint_eq(r->has,
	    (1u << POL_PM25) | (1u << POL_PM10) | (1u << POL_CO) |
		(1u << POL_SO2));
	ck_assert_double_eq_tol(r->v[POL_PM25], 35.2, EPS);
	ck_assert_double_eq_tol(r->v[POL_PM10], 61, EPS);
	ck_assert_double_eq_tol(r->v[POL_CO], 0.8, EPS); /* mg/m3 */
	ck_assert_double_eq_tol(r->v[POL_SO2], 12, EPS);
	ck_assert_uint_eq(
	    r->met_has, ((1u << MET_COUNT) - 1) & ~(1u << MET_RAIN));
	ck_assert_double_eq_tol(r->met[MET_PRES], 1013, 1e-9);
	ck_assert_double_eq_tol(r->met[MET_TEMP], -3.5, EPS);
	ck_assert_double_eq_tol(r->met[MET_RH], 80, EPS);
	ck_assert_double_eq_tol(r->met[MET_WS], 1.2, EPS);
	ck_assert_double_eq_tol(r->met[MET_WD], 270, EPS);
	ck_assert_double_eq_tol(r->met[MET_TSP], 150.5, EPS); /* a34001 */
	for (int i = 0; i < REASON_COUNT; i++)
		ck_assert_uint_eq(res.dropped[i], 0);
	for (int i = 0; i < 26; i++)
		ck_assert_uint_eq(flagged[i], 0);
}
END_TEST

/* Minute, hourly and daily data: -Avg is the value, periods and times. */
START_TEST(readings_periods)
{
	static const struct {
		int cn;
		const char *time;
		int64_t ts;
		int32_t period;
	} cmds[] = {
	    {2051, "20261129135900", NOW - 60, 60},
	    {2061, "20261129130000", NOW - 3600, 3600},
	    {2031, "20261129000000", NOW - 14 * 3600, 86400},
	};
	char data[512];
	enum reason why;

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		snprintf(data, sizeof(data),
		    "QN=1;CN=%d;MN=AQ1;Flag=4;CP=&&DataTime=%s;"
		    "a34004-Min=1,a34004-Avg=35.2,a34004-Max=50,a34004-Cou=9,"
		    "a34004-Flag=N;a34002-Rtd=61&&",
		    cmds[i].cn, cmds[i].time);
		ck_assert_int_eq(
		    readings(data, &res, res.flagged, &why), AQ_OK);
		ck_assert_int_eq(res.r[0].ts, cmds[i].ts);
		ck_assert_int_eq(res.r[0].period, cmds[i].period);
		ck_assert_uint_eq(res.r[0].has, 1u << POL_PM25);
		ck_assert_double_eq_tol(res.r[0].v[POL_PM25], 35.2, EPS);
	}
}
END_TEST

START_TEST(readings_flags)
{
	static const char data[] =
	    "QN=1;CN=2061;MN=AQ1;Flag=4;CP=&&DataTime=20261129130000;"
	    "a34004-Avg=35.2,a34004-Flag=N;a34002-Avg=61,a34002-Flag=M;"
	    "a21026-Avg=5,a21026-Flag=C;a21004-Avg=21,a21004-Flag=D;"
	    "a05024-Avg=88,a05024-Flag=NN;a21005-Avg=0.6,a21005-Flag=B;"
	    "a01001-Avg=12,a01001-Flag=T;a01002-Avg=80,a01002-Flag=m;"
	    "a01007-Avg=x&&";
	uint32_t total[26] = {0};
	enum reason why;

	ck_assert_int_eq(readings(data, &res, res.flagged, &why), AQ_OK);
	ck_assert_uint_eq(res.r[0].has, 1u << POL_PM25);
	ck_assert_uint_eq(res.r[0].met_has, 0);
	ck_assert_uint_eq(res.flagged['M' - 'A'], 2);
	ck_assert_uint_eq(res.flagged['C' - 'A'], 1);
	ck_assert_uint_eq(res.flagged['D' - 'A'], 1);
	ck_assert_uint_eq(res.flagged['B' - 'A'], 1);
	ck_assert_uint_eq(res.flagged['T' - 'A'], 1);
	ck_assert_uint_eq(res.flagged['N' - 'A'], 0);
	ck_assert_uint_eq(res.dropped[REASON_FLAGGED], 6);
	ck_assert_uint_eq(res.dropped[REASON_SCHEMA], 1);
	ck_assert_uint_eq(res.dropped[REASON_NOT_NUMBER], 1);
	/* A separate array is added to; out->flagged is reset each time. */
	ck_assert_int_eq(readings(data, &res, total, &why), AQ_OK);
	ck_assert_int_eq(readings(data, &res, total, &why), AQ_OK);
	ck_assert_uint_eq(total['M' - 'A'], 4);
	ck_assert_uint_eq(res.flagged['M' - 'A'], 0);
}
END_TEST

/* Frames refused by hj212_readings, with the reason. */
static const struct {
	const char *cp;
	int cn;
	enum reason why;
} bad_cps[] = {
    {"DataTime=20261129130000;a34004-Avg=1,a34004-Flag=D;"
     "a34002-Avg=2,a34002-Flag=F",
	2061, REASON_FLAGGED},
    {"DataTime=20261129130000;a34004-Avg=1,a34004-Flag=D;a34002-Avg=x", 2061,
	REASON_NO_VALUES},
    {"DataTime=20261129130000;a34004-Avg=x;a34002-Avg=", 2061,
	REASON_NOT_NUMBER},
    {"DataTime=20261129130000;a34004-Avg=NaN;a34002-Avg=-inf", 2061,
	REASON_NOT_FINITE},
    {"DataTime=20261129130000;a34004-Avg=1e400", 2061, REASON_OUT_OF_RANGE},
    {"DataTime=20261129130000;a34004-Avg=0x10", 2061, REASON_NOT_NUMBER},
    {"DataTime=20261129130000;a34004-Rtd=1;a01001-Avg=3", 2061,
	REASON_NO_VALUES},
    {"DataTime=20261129130000;a99999-Avg=1", 2061, REASON_NO_VALUES},
    {"DataTime=20261129130000", 2061, REASON_NO_VALUES},
    {"a34004-Avg=1", 2061, REASON_BAD_TIME},
    {"DataTime=2026112913000;a34004-Avg=1", 2061, REASON_BAD_TIME},
    {"DataTime=20261129250000;a34004-Avg=1", 2061, REASON_BAD_TIME},
    {"DataTime=20260230120000;a34004-Avg=1", 2061, REASON_BAD_TIME},
    {"DataTime=20261300120000;a34004-Avg=1", 2061, REASON_BAD_TIME},
    {"DataTime=19990101120000;a34004-Avg=1", 2061, REASON_BAD_TIME},
    {"DataTime=2026112913000x;a34004-Avg=1", 2061, REASON_BAD_TIME},
    {"DataTime=20261129130000;DataTime=20261129130000;a34004-Avg=1", 2061,
	REASON_SCHEMA},
    {"DataTime=20261129130000;a34004-Avg=1;A34004-Avg=2", 2061, REASON_SCHEMA},
    {"DataTime=20261129130000;a34004-Avg=1,a34004-Flag=N,a34004-Flag=N", 2061,
	REASON_SCHEMA},
    {"DataTime=20261129130000;a34004-Avg", 2061, REASON_SYNTAX},
    {"DataTime=20261129130000;a34004-Avg=1", 1062, REASON_SCHEMA},
    {"DataTime=20261129130000;a34004-Avg=1", 9014, REASON_SCHEMA},
    {"DataTime=20261129130000;a34004-Avg=1", 2081, REASON_SCHEMA},
};

START_TEST(readings_bad)
{
	char data[512];
	enum reason why = REASON_COUNT;

	snprintf(data, sizeof(data), "QN=1;CN=%d;MN=AQ1;Flag=4;CP=&&%s&&",
	    bad_cps[_i].cn, bad_cps[_i].cp);
	ck_assert_msg(readings(data, &res, res.flagged, &why) == AQ_ERR_INVAL,
	    "%s: accepted", bad_cps[_i].cp);
	ck_assert_msg(
	    why == bad_cps[_i].why, "%s: %s", bad_cps[_i].cp, reason_name(why));
	ck_assert_int_eq(res.n, 0);
}
END_TEST

/* The offset is the one at the instant meant, summer time included. */
START_TEST(readings_zone)
{
	struct hj212_msg m;
	struct tz ny;
	enum reason why;

	ck_assert_int_eq(tz_init(&ny, "America/New_York"), AQ_OK);
	ck_assert_int_eq(parse_str("QN=1;CN=2061;MN=AQ1;Flag=4;CP=&&"
				   "DataTime=20260701120000;a34004-Avg=1&&",
			     &m, &why),
	    AQ_OK);
	ck_assert_int_eq(
	    hj212_readings(&m, &ny, &res, res.flagged, &why), AQ_OK);
	ck_assert_int_eq(res.r[0].ts, INT64_C(1782921600)); /* 16:00Z */
	ck_assert_int_eq(parse_str("QN=1;CN=2061;MN=AQ1;Flag=4;CP=&&"
				   "DataTime=20260115120000;a34004-Avg=1&&",
			     &m, &why),
	    AQ_OK);
	ck_assert_int_eq(
	    hj212_readings(&m, &ny, &res, res.flagged, &why), AQ_OK);
	ck_assert_int_eq(res.r[0].ts, INT64_C(1768496400)); /* 17:00Z */
	ck_assert_int_eq(tz_init(&shanghai, "Asia/Shanghai"), AQ_OK);
}
END_TEST

START_TEST(ack)
{
	static const char want17[] =
	    "##0087QN=20160801085857223;ST=91;CN=9014;PW=100000;"
	    "MN=010000A8900016F000169DC0;Flag=4;CP=&&&&71C0\r\n";
	static const char want25[] =
	    "##0087QN=20261130000510123;ST=91;CN=9014;PW=123456;"
	    "MN=AQ0000000000000000000001;Flag=8;CP=&&&&E541\r\n";
	static const char want05[] = "##0063ST=91;CN=9014;PW=123456;"
				     "MN=88888880000001;Flag=0;CP=&&CN=2011&&"
				     "5280\r\n";
	struct hj212_msg m, back;
	char buf[256];
	const char *data;
	size_t len, n;
	enum reason why;

	ck_assert_int_eq(parse_str(SAMPLE_DATA, &m, &why), AQ_OK);
	n = hj212_ack(&m, buf, sizeof(buf));
	ck_assert_uint_eq(n, strlen(want17));
	ck_assert_str_eq(buf, want17);
	ck_assert_int_eq(hj212_unframe(buf, n, &data, &len, &why), AQ_OK);
	ck_assert_int_eq(hj212_parse(data, len, &back, &why), AQ_OK);
	ck_assert_int_eq(back.cn, 9014);
	ck_assert_int_eq(back.st, 91);
	ck_assert_str_eq(back.qn, m.qn);
	ck_assert_uint_eq(back.cp_len, 0);
	/* Too small by one (the NUL), then exactly enough. */
	ck_assert_uint_eq(hj212_ack(&m, buf, strlen(want17)), 0);
	ck_assert_uint_eq(hj212_ack(&m, buf, 6), 0);
	ck_assert_uint_eq(hj212_ack(&m, buf, strlen(want17) + 1), n);

	ck_assert_int_eq(parse_str("QN=20261130000510123;ST=22;CN=2031;"
				   "PW=123456;MN=AQ0000000000000000000001;"
				   "Flag=9;CP=&&&&",
			     &m, &why),
	    AQ_OK);
	ck_assert_uint_eq(hj212_ack(&m, buf, sizeof(buf)), strlen(want25));
	ck_assert_str_eq(buf, want25);
	ck_assert_int_eq(parse_str("ST=32;CN=2011;PW=123456;MN=88888880000001;"
				   "Flag=1;CP=&&&&",
			     &m, &why),
	    AQ_OK);
	ck_assert_uint_eq(hj212_ack(&m, buf, sizeof(buf)), strlen(want05));
	ck_assert_str_eq(buf, want05);
	ck_assert_int_eq(
	    hj212_unframe(buf, strlen(want05), &data, &len, &why), AQ_OK);
}
END_TEST

/* The fixtures through decode(): outcome and a value each. */
static const struct {
	const char *file;
	int rc;
	enum reason why;
	int64_t ts;
	double pm25;
} fixtures[] = {
    {"standard-1062.txt", AQ_ERR_INVAL, REASON_SCHEMA, 0, 0},
    {"water-2011.txt", AQ_ERR_INVAL, REASON_NO_VALUES, 0, 0},
    {"dust-2011.txt", AQ_OK, REASON_COUNT, INT64_C(1536201246), 45.0},
    {"air-2011.txt", AQ_OK, REASON_COUNT, NOW - 60, 35.2},
    {"air-2051.txt", AQ_OK, REASON_COUNT, NOW - 60, 35.2},
    {"air-2061.txt", AQ_OK, REASON_COUNT, NOW - 3600, 35.2},
    {"air-2031.txt", AQ_OK, REASON_COUNT, NOW - 14 * 3600, 35.2},
};

START_TEST(decode_fixtures)
{
	enum reason why = REASON_COUNT;
	size_t len;
	char *buf = slurp(fixtures[_i].file, &len);
	int rc = decode(
	    DECODER_HJ212, "hj212/x", buf, len, MAX_LEN, NOW, &res, &why);

	free(buf);
	ck_assert_msg(rc == fixtures[_i].rc, "%s: %s", fixtures[_i].file,
	    reason_name(why));
	if (rc != AQ_OK) {
		ck_assert_int_eq(why, fixtures[_i].why);
		return;
	}
	ck_assert_int_eq(res.n, 1);
	ck_assert_int_eq(res.r[0].ts, fixtures[_i].ts);
	ck_assert_double_eq_tol(res.r[0].v[POL_PM25], fixtures[_i].pm25, EPS);
	ck_assert(res.r[0].registered_only);
}
END_TEST

START_TEST(decode_details)
{
	static const char native[] =
	    "{\"sensor\":\"s\",\"ts\":1795932000,\"pm25\":1}";
	char f[STREAM_MAX];
	enum reason why;
	size_t n;
	size_t len;
	char *buf;

	ck_assert_str_eq(decoder_name(DECODER_HJ212), "hj212");
	ck_assert_int_eq(decoder_from_name("hj212"), DECODER_HJ212);
	/* dust-2011: weather in canonical units, PM10, nothing dropped. */
	buf = slurp("dust-2011.txt", &len);
	ck_assert_int_eq(
	    decode(DECODER_HJ212, NULL, buf, len, MAX_LEN, NOW, &res, &why),
	    AQ_OK);
	ck_assert_str_eq(res.r[0].sensor, "690000D5800028F889000003");
	ck_assert_double_eq_tol(res.r[0].v[POL_PM10], 62.7, EPS);
	ck_assert_double_eq_tol(res.r[0].met[MET_PRES], 1003, 1e-9);
	ck_assert_double_eq_tol(res.r[0].met[MET_TEMP], 28.3, EPS);
	ck_assert_double_eq_tol(res.r[0].met[MET_TSP], 78.4, EPS); /* a34001 */
	ck_assert_uint_eq(
	    res.r[0].met_has, ((1u << MET_COUNT) - 1) & ~(1u << MET_RAIN));
	/* The payload bound comes first. */
	ck_assert_int_eq(
	    decode(DECODER_HJ212, NULL, buf, len, len - 1, NOW, &res, &why),
	    AQ_ERR_INVAL);
	ck_assert_int_eq(why, REASON_OVERSIZE);
	free(buf);
	/* air-2061: three values flagged. */
	buf = slurp("air-2061.txt", &len);
	ck_assert_int_eq(
	    decode(DECODER_HJ212, NULL, buf, len, MAX_LEN, NOW, &res, &why),
	    AQ_OK);
	ck_assert_uint_eq(res.flagged['M' - 'A'], 1);
	ck_assert_uint_eq(res.flagged['C' - 'A'], 1);
	ck_assert_uint_eq(res.flagged['D' - 'A'], 1);
	ck_assert_uint_eq(res.dropped[REASON_FLAGGED], 3);
	ck_assert_uint_eq(res.r[0].has, 1u << POL_PM25);
	free(buf);
	/* flagged is cleared for the next payload, whatever its format. */
	ck_assert_int_eq(decode(DECODER_NATIVE, "aq/x", native,
			     sizeof(native) - 1, MAX_LEN, NOW, &res, &why),
	    AQ_OK);
	ck_assert_uint_eq(res.flagged['M' - 'A'], 0);
	/* Without CR LF; split frames; garbage; a bad CRC. */
	n = frame(f, sizeof(f), air_2011, false);
	ck_assert_int_eq(
	    decode(DECODER_HJ212, NULL, f, n, MAX_LEN, NOW, &res, &why), AQ_OK);
	n = frame(f, sizeof(f),
	    "QN=1;CN=2011;MN=m;Flag=7;PNUM=2;PNO=1;"
	    "CP=&&DataTime=20261129135900;a34004-Rtd=1&&",
	    true);
	ck_assert_int_eq(
	    decode(DECODER_HJ212, NULL, f, n, MAX_LEN, NOW, &res, &why),
	    AQ_ERR_INVAL);
	ck_assert_int_eq(why, REASON_SCHEMA);
	ck_assert_int_eq(decode(DECODER_HJ212, NULL, "{\"pm25\":1}", 11,
			     MAX_LEN, NOW, &res, &why),
	    AQ_ERR_INVAL);
	ck_assert_int_eq(why, REASON_SYNTAX);
	n = frame(f, sizeof(f), air_2011, true);
	f[n - 3] ^= 1;
	ck_assert_int_eq(
	    decode(DECODER_HJ212, NULL, f, n, MAX_LEN, NOW, &res, &why),
	    AQ_ERR_INVAL);
	ck_assert_int_eq(why, REASON_SYNTAX);
	/* No zone set: times cannot be read. */
	n = frame(f, sizeof(f), air_2011, true);
	decode_set_zone(NULL);
	ck_assert_int_eq(
	    decode(DECODER_HJ212, NULL, f, n, MAX_LEN, NOW, &res, &why),
	    AQ_ERR_INVAL);
	ck_assert_int_eq(why, REASON_BAD_TIME);
	decode_set_zone(&shanghai);
}
END_TEST

static Suite *
hj212_suite(void)
{
	Suite *s = suite_create("hj212");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, crc, 0, sizeof(crcs) / sizeof(crcs[0]));
	tcase_add_test(tc, sample_frame);
	tcase_add_loop_test(
	    tc, unframe_bad, 0, sizeof(bad_frames) / sizeof(bad_frames[0]));
	tcase_add_test(tc, stream_whole);
	tcase_add_test(tc, stream_every_split);
	tcase_add_test(tc, stream_chunks);
	tcase_add_test(tc, stream_accounting);
	tcase_add_test(tc, stream_limits);
	tcase_add_test(tc, stream_flush);
	tcase_add_test(tc, parse_sample);
	tcase_add_test(tc, parse_fields);
	tcase_add_loop_test(
	    tc, parse_bad, 0, sizeof(bad_segments) / sizeof(bad_segments[0]));
	tcase_add_test(tc, readings_2011);
	tcase_add_test(tc, readings_periods);
	tcase_add_test(tc, readings_flags);
	tcase_add_loop_test(
	    tc, readings_bad, 0, sizeof(bad_cps) / sizeof(bad_cps[0]));
	tcase_add_test(tc, readings_zone);
	tcase_add_test(tc, ack);
	tcase_add_loop_test(
	    tc, decode_fixtures, 0, sizeof(fixtures) / sizeof(fixtures[0]));
	tcase_add_test(tc, decode_details);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(hj212_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
