/*
 * aqgrid-sim: publishes readings to an MQTT broker in the daemon's native
 * JSON payload, one message per reading on topic PREFIX/CELL/SENSOR.
 * Mode synth invents a grid of sensors (diurnal cycles, a spatial gradient,
 * a drifting plume, noise and injected faults); mode replay plays back the
 * hourly CSV files of the Beijing multi-site dataset.  Mode hj212 plays N
 * HJ 212 data loggers instead: one TCP connection each to aqgridd's HJ 212
 * listener, frames of the synthetic field, their acknowledgements read and
 * checked (or, with --mqtt, the same frames published for a gateway).
 *
 * Threads: libmosquitto's network thread (mosquitto_loop_start) runs the
 * callbacks, which only count and signal; the main thread builds and
 * publishes messages and keeps at most INFLIGHT_MAX of them unacknowledged,
 * so memory stays bounded however fast the readings are made.  At QoS 1 and
 * 2 the program waits for every acknowledgement before it exits, and
 * libmosquitto resends unacknowledged messages after a reconnection.
 *
 * Mode hj212 over TCP runs in the main thread alone: non-blocking sockets
 * and poll(), each logger keeping at most HJ_WINDOW frames unacknowledged.
 *
 * Exit status: 0 done; 1 a connection, file or data failure; 2 bad usage,
 * told in one line on stderr with nothing on stdout.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <mosquitto.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "daemon/err.h"
#include "daemon/fix.h"
#include "daemon/tz.h"
#include "sensors/hj212.h"

#define PROG "aqgrid-sim"
#define EXIT_CONN 1
#define EXIT_USAGE 2

/*
 * Messages handed to libmosquitto and not yet acknowledged (QoS 1, 2) or
 * written to the socket (QoS 0).  libmosquitto queues without limit, so
 * this is what bounds memory; it is also its send quota, so every message
 * counted here is on the wire, none waits inside the library.
 */
#define INFLIGHT_MAX 256
#define KEEPALIVE_S 30
#define RECONNECT_MIN_S 1
#define RECONNECT_MAX_S 30
#define CONNACK_WAIT_S 10
/* Shutdown waits for acknowledgements while they keep coming, and gives up
 * after this long without one. */
#define DRAIN_IDLE_S 30
/* The main thread wakes this often to notice a signal while it waits. */
#define POLL_MS 100

#define HOST_MAX 256
#define PREFIX_MAX 128
#define CELL_ID_MAX 9 /* "r012c034" */
#define SENSOR_ID_MAX 48
#define STATION_MAX 32
#define TOPIC_MAX (PREFIX_MAX + CELL_ID_MAX + SENSOR_ID_MAX + 2)
#define PAYLOAD_MAX 512
#define NUM_MAX 48

#define GRID_MAX 1000 /* rows and columns: three digits in a cell id */
#define PER_CELL_MAX 100
#define SENSORS_MAX 1000000
#define BACKFILL_MAX_H (366 * 24)
#define BACKFILL_PERIOD 300
#define CELL_MAP_MAX 64

/* Beijing (the data set) and the synthetic grid keep UTC+8, no DST. */
#define LOCAL_OFFSET (8 * 3600)
#define DAY_S 86400
#define SIM_PI 3.14159265358979323846

#define CSV_LINE_MAX 4096
#define CSV_FIELDS_MAX 32
/* Bad values are reported one by one up to this many per file. */
#define CSV_WARN_MAX 3

/* Mode hj212. */
#define HJ_PORT 9213
#define HJ_LOGGERS_MAX 10000
#define HJ_MN_PREFIX "010000A8900016"
#define HJ_MN_LEN 24 /* the standard's MN: prefix and index fill 24 */
#define HJ_PASSWORD "123456"
#define HJ_ST 22 /* system code: ambient air quality */
#define HJ_CN_RTD 2011
#define HJ_CN_HOUR 2061
/* Frames sent and not yet acknowledged, per logger, and frames made ahead
 * of the socket when no answer is asked for. */
#define HJ_WINDOW 8
/* One frame of ours; they are some 330 bytes. */
#define HJ_FRAME_MAX 512
#define HJ_OUT_MAX (HJ_WINDOW * HJ_FRAME_MAX)
/* Answers are some 100 bytes; longer frames are skipped. */
#define HJ_IN_MAX 1024
/* --split: each frame in six writes ("##0", half the data, the rest and
 * half the CRC, the CRC's end, CR, LF), a pause between them. */
#define HJ_PIECES 6
#define HJ_GAP_NS 2000000
#define HJ_BACKOFF_MIN_MS 500
#define HJ_BACKOFF_MAX_MS 30000
#define HJ_CONNECT_WAIT_S 10
#define HJ_ACK_TIMEOUT_S 10
#define HJ_HOUR 3600
#define HJ_MORE (-1L)
#define HJ_BAD (-2L)

enum mode { MODE_SYNTH, MODE_REPLAY, MODE_HJ212, MODE_COUNT };
#define MODE_BIT(m) (1u << (m))
#define BOTH_MODES (MODE_BIT(MODE_SYNTH) | MODE_BIT(MODE_REPLAY))
#define GRID_MODES (MODE_BIT(MODE_SYNTH) | MODE_BIT(MODE_HJ212))

enum parse_rc { PARSE_OK, PARSE_HELP, PARSE_BAD };

struct cellmap {
	char station[STATION_MAX];
	char cell[CELL_ID_MAX];
	bool used;
};

struct opts {
	const char *host;
	int port;
	int qos;
	const char *prefix;
	bool prefix_set;
	const char *client_id; /* NULL: libmosquitto makes one up */
	bool verbose;
	enum mode mode;
	uint64_t count; /* 0: no limit */
	double speed;
	/* synth */
	int rows, cols, per_cell;
	int64_t interval;
	int64_t backfill_h;
	bool live;
	double duration; /* seconds of live time; < 0: forever */
	uint64_t seed;
	int64_t start;
	bool start_set;
	double rate; /* messages a second; 0 unlimited; < 0 event-time pacing */
	bool fault_free;
	int dust_sites; /* dust-01 .. dust-NN after the grid's sensors */
	int sources;    /* cells with a persistent local source */
	/* replay */
	const char **files;
	int nfiles;
	struct cellmap map[CELL_MAP_MAX];
	int nmap;
	int32_t from, to; /* yyyymmdd, inclusive */
	bool fast;
	/* hj212 */
	const char *hj_host;
	int hj_port;
	int loggers;
	const char *mn_prefix;
	const char *password;
	int cn;
	bool ack, split, mqtt;
	int64_t ack_timeout;
	bool rows_set, cols_set, interval_set, backfill_set;
};

struct optspec {
	const char *name;
	bool arg;
	unsigned modes;
};

enum optid {
	OPT_ROWS,
	OPT_COLS,
	OPT_PER_CELL,
	OPT_INTERVAL,
	OPT_BACKFILL,
	OPT_LIVE,
	OPT_NO_LIVE,
	OPT_DURATION,
	OPT_SEED,
	OPT_START,
	OPT_SPEED,
	OPT_RATE,
	OPT_COUNT,
	OPT_FAULT_FREE,
	OPT_DUST_SITES,
	OPT_SOURCES,
	OPT_CELL,
	OPT_FROM,
	OPT_TO,
	OPT_FAST,
	OPT_HOST,
	OPT_PORT,
	OPT_LOGGERS,
	OPT_MN_PREFIX,
	OPT_PASSWORD,
	OPT_CN,
	OPT_NO_ACK,
	OPT_ACK_TIMEOUT,
	OPT_SPLIT,
	OPT_MQTT,
	OPT_NOPTS
};

/* Counters shared with libmosquitto's thread, all under mu. */
struct pub {
	struct mosquitto *mosq;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int qos;
	bool verbose;
	bool looping;     /* the network thread runs */
	bool window_full; /* the main thread waits for an acknowledgement */
	bool connected;
	bool connack_seen;
	int connack_rc;
	bool was_lost;  /* a connection was lost: say when it is back */
	uint64_t epoch; /* connections lost so far */
	uint64_t published;
	uint64_t acked;   /* PUBACK (1), PUBCOMP (2), written out (0) */
	uint64_t dropped; /* QoS 0 messages lost with a connection */
};

/*
 * The synthetic grid.  Every random quantity is a hash of the seed and of
 * what it describes (stream, sensor, time), so a reading is a pure function
 * of (seed, sensor, event time): the output does not depend on the order of
 * generation, on --count or on the options of an earlier run.
 */
struct synth {
	const struct opts *o;
	uint32_t nsensors; /* the grid's, then the dust sites' */
	uint32_t ngrid;
	int64_t start; /* ts of the first back-fill reading */
	int64_t live0; /* event time at which live publishing begins */
	uint32_t stuck, offline; /* sensor indexes; UINT32_MAX: none */
	int stuck_hour;          /* local hour its daily episode starts */
};

/* Random streams: one per kind of quantity, so they never correlate. */
enum stream {
	ST_CELL = 1,
	ST_PMDAY,
	ST_RATIO,
	ST_NO2DAY,
	ST_O3DAY,
	ST_SO2DAY,
	ST_TDAY,
	ST_RHDAY,
	ST_PDAY,
	ST_PLUME_DIR,
	ST_PLUME_OFF,
	ST_PLUME_AMP,
	ST_WIND,
	ST_CAL,
	ST_DROP,
	ST_FAULT,
	ST_NOISE, /* + field */
	ST_DUST = 64,
	ST_SOURCE
};

enum field {
	F_PM25,
	F_PM10,
	F_O3,
	F_NO2,
	F_SO2,
	F_CO,
	F_TEMP,
	F_RH,
	F_WS,
	F_WD,
	F_PRES,
	F_RAIN,
	F_COUNT
};

/* Payload keys in the order the native format lists them, and the
 * decimals the synthetic sensors report. */
static const struct {
	const char *key;
	int decimals;
} fields[F_COUNT] = {
    [F_PM25] = {"pm25", 1},
    [F_PM10] = {"pm10", 0},
    [F_O3] = {"o3", 0},
    [F_NO2] = {"no2", 0},
    [F_SO2] = {"so2", 0},
    [F_CO] = {"co", 2},
    [F_TEMP] = {"temp", 1},
    [F_RH] = {"rh", 0},
    [F_WS] = {"ws", 1},
    [F_WD] = {"wd", 0},
    [F_PRES] = {"pres", 0},
    [F_RAIN] = {"rain", 1},
};

/* Columns of the Beijing CSV that the replay reads. */
enum col {
	C_YEAR,
	C_MONTH,
	C_DAY,
	C_HOUR,
	C_PM25,
	C_PM10,
	C_SO2,
	C_NO2,
	C_CO,
	C_O3,
	C_TEMP,
	C_PRES,
	C_DEWP,
	C_WD,
	C_WSPM,
	C_RAIN,
	C_STATION,
	C_COUNT
};

static const char *const col_names[C_COUNT] = {
    [C_YEAR] = "year",
    [C_MONTH] = "month",
    [C_DAY] = "day",
    [C_HOUR] = "hour",
    [C_PM25] = "PM2.5",
    [C_PM10] = "PM10",
    [C_SO2] = "SO2",
    [C_NO2] = "NO2",
    [C_CO] = "CO",
    [C_O3] = "O3",
    [C_TEMP] = "TEMP",
    [C_PRES] = "PRES",
    [C_DEWP] = "DEWP",
    [C_WD] = "wd",
    [C_WSPM] = "WSPM",
    [C_RAIN] = "RAIN",
    [C_STATION] = "station",
};

/*
 * Numeric columns copied into the payload, as exact decimals.  CO is in
 * ug/m3 in the data set and mg/m3 in the payload.  rh (from TEMP and DEWP)
 * and wd (a compass point) are derived, see csv_parse_row().
 */
static const struct {
	enum col col;
	enum field f;
	int64_t div;
} csv_values[] = {
    {C_PM25, F_PM25, 1},
    {C_PM10, F_PM10, 1},
    {C_O3, F_O3, 1},
    {C_NO2, F_NO2, 1},
    {C_SO2, F_SO2, 1},
    {C_CO, F_CO, 1000},
    {C_TEMP, F_TEMP, 1},
    {C_WSPM, F_WS, 1},
    {C_PRES, F_PRES, 1},
    {C_RAIN, F_RAIN, 1},
};
#define NCSV_VALUES (sizeof(csv_values) / sizeof(csv_values[0]))

/* The data set's 16 compass points, as the degrees the payload wants. */
static const struct {
	const char *name;
	const char *deg;
} compass[] = {
    {"N", "0"},
    {"NNE", "22.5"},
    {"NE", "45"},
    {"ENE", "67.5"},
    {"E", "90"},
    {"ESE", "112.5"},
    {"SE", "135"},
    {"SSE", "157.5"},
    {"S", "180"},
    {"SSW", "202.5"},
    {"SW", "225"},
    {"WSW", "247.5"},
    {"W", "270"},
    {"WNW", "292.5"},
    {"NW", "315"},
    {"NNW", "337.5"},
};
#define NCOMPASS (sizeof(compass) / sizeof(compass[0]))

/* One CSV file being replayed, with its next row parsed. */
struct csv_src {
	const char *path;
	gzFile gz;
	long lineno;
	int ncols;
	int col[C_COUNT]; /* field index of each column, -1 if absent */
	char station[STATION_MAX];
	char sensor[SENSOR_ID_MAX];
	char cell[CELL_ID_MAX];
	bool has_row;
	int64_t ts;
	int64_t last_ts;
	bool has[F_COUNT];
	char val[F_COUNT][NUM_MAX];
	unsigned problems;
	bool warned_order, warned_station;
	char line[CSV_LINE_MAX];
};

struct replay {
	struct csv_src *src;
	int n;
};

/* HJ 212 pollutant codes and the synthetic fields they carry. */
static const struct {
	const char *code;
	enum field f;
} hj_codes[] = {
    {"a34004", F_PM25},
    {"a34002", F_PM10},
    {"a05024", F_O3},
    {"a21004", F_NO2},
    {"a21026", F_SO2},
    {"a21005", F_CO},
};
#define HJ_NCODES (sizeof(hj_codes) / sizeof(hj_codes[0]))

/*
 * A frame of a logger's window: made, perhaps queued in the logger's
 * output, perhaps written, waiting for its acknowledgement.  Frame r of a
 * logger is a pure function of (seed, logger, r) and its QN, so a frame is
 * made again, the same, to be sent after a reconnection.
 */
struct hj_frame {
	uint64_t r;
	char qn[HJ212_QN_MAX];
	bool queued;       /* in out[] up to end */
	bool written;      /* once, in full: counted as sent */
	size_t start, end; /* into out[] */
	int64_t written_ns;
};

struct hj_logger {
	int fd; /* -1 when down */
	bool connecting, up;
	char mn[HJ212_MN_MAX];
	uint64_t made;  /* frames made: the next one is frame `made` */
	uint64_t limit; /* frames to make in all */
	int64_t last_qn;
	struct hj_frame win[HJ_WINDOW]; /* oldest first */
	int nwin;
	char out[HJ_OUT_MAX];
	size_t out_len, out_off;
	size_t cuts[HJ_WINDOW * HJ_PIECES]; /* --split: ends of pieces */
	int ncuts, cut;
	int64_t gap_until;
	char in[HJ_IN_MAX];
	size_t in_len;
	int64_t retry_at;
	int backoff_ms;
};

/*
 * The loggers and their schedule.  Frame r < backfill of a logger is
 * hourly data of hour bf0 + r h; the others are live, k = r - backfill:
 * DataTime live0 + k * step (+ the logger's offset in the interval when
 * paced by it), due at live_mono0 + the same offset on the clock, or by
 * --rate as the (k * N + logger)-th live frame.
 */
struct hj_run {
	const struct opts *o;
	struct synth s;
	struct hj_logger *lg;
	uint32_t n;
	int64_t bf0, live0, step;
	bool live_started;
	int64_t live_mono0, dur_end;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct pollfd *pfd;
	uint32_t ndown; /* loggers down after having been up */
	uint64_t sent, acked, refused, expired, lost;
};

static const char *const mode_names[MODE_COUNT] = {"synth", "replay", "hj212"};

static const struct optspec long_opts[OPT_NOPTS] = {
    [OPT_ROWS] = {"--rows", true, GRID_MODES},
    [OPT_COLS] = {"--cols", true, GRID_MODES},
    [OPT_PER_CELL] = {"--sensors-per-cell", true, MODE_BIT(MODE_SYNTH)},
    [OPT_INTERVAL] = {"--interval", true, GRID_MODES},
    [OPT_BACKFILL] = {"--backfill", true, GRID_MODES},
    [OPT_LIVE] = {"--live", false, GRID_MODES},
    [OPT_NO_LIVE] = {"--no-live", false, GRID_MODES},
    [OPT_DURATION] = {"--duration", true, GRID_MODES},
    [OPT_SEED] = {"--seed", true, GRID_MODES},
    [OPT_START] = {"--start", true, GRID_MODES},
    [OPT_SPEED] = {"--speed", true, BOTH_MODES},
    [OPT_RATE] = {"--rate", true, GRID_MODES},
    [OPT_COUNT] = {"--count", true, BOTH_MODES | MODE_BIT(MODE_HJ212)},
    [OPT_FAULT_FREE] = {"--fault-free", false, MODE_BIT(MODE_SYNTH)},
    [OPT_DUST_SITES] = {"--dust-sites", true, MODE_BIT(MODE_SYNTH)},
    [OPT_SOURCES] = {"--sources", true, MODE_BIT(MODE_SYNTH)},
    [OPT_CELL] = {"--cell", true, MODE_BIT(MODE_REPLAY)},
    [OPT_FROM] = {"--from", true, MODE_BIT(MODE_REPLAY)},
    [OPT_TO] = {"--to", true, MODE_BIT(MODE_REPLAY)},
    [OPT_FAST] = {"--fast", false, MODE_BIT(MODE_REPLAY)},
    [OPT_HOST] = {"--host", true, MODE_BIT(MODE_HJ212)},
    [OPT_PORT] = {"--port", true, MODE_BIT(MODE_HJ212)},
    [OPT_LOGGERS] = {"--loggers", true, MODE_BIT(MODE_HJ212)},
    [OPT_MN_PREFIX] = {"--mn-prefix", true, MODE_BIT(MODE_HJ212)},
    [OPT_PASSWORD] = {"--password", true, MODE_BIT(MODE_HJ212)},
    [OPT_CN] = {"--cn", true, MODE_BIT(MODE_HJ212)},
    [OPT_NO_ACK] = {"--no-ack", false, MODE_BIT(MODE_HJ212)},
    [OPT_ACK_TIMEOUT] = {"--ack-timeout", true, MODE_BIT(MODE_HJ212)},
    [OPT_SPLIT] = {"--split", false, MODE_BIT(MODE_HJ212)},
    [OPT_MQTT] = {"--mqtt", false, MODE_BIT(MODE_HJ212)},
};

/* The --help text, a line at a time: one literal would pass the 4095
 * characters ISO C promises to support. */
static const char *const help_lines[] = {
    "usage: " PROG " [-H host] [-p port] [-q qos] [-t prefix] [-i client-id]"
    " [-v]",
    "                  MODE [OPTION ...]",
    "       " PROG " --help",
    "",
    "Publishes air-quality readings to an MQTT broker, one message per "
    "reading",
    "on topic PREFIX/CELL/SENSOR, as aqgridd's native JSON payload:",
    "  {\"sensor\":\"s-r000c000-1\",\"ts\":1764396000,\"period\":300,"
    "\"cell\":\"r000c000\",",
    "   \"pm25\":35.2,\"pm10\":61,\"o3\":88,\"no2\":21,\"so2\":5,\"co\":0.6,"
    "\"temp\":12.5,",
    "   \"rh\":80,\"ws\":1.2,\"wd\":270,\"pres\":1013}",
    "ts is the start of the averaging period, in Unix seconds.",
    "",
    "  -H host       broker host (default 127.0.0.1)",
    "  -p port       broker port (default 1883)",
    "  -q qos        0, 1 or 2 (default 1); at 1 and 2 every message is",
    "                acknowledged before the program exits",
    "  -t prefix     topic prefix (default aq/sim)",
    "  -i client-id  MQTT client id (default: a random one)",
    "  -v            report connections and faults on stderr, and print each",
    "                message as \"TOPIC PAYLOAD\" on stdout",
    "",
    "MODE synth: a synthetic grid, cells rRRRcCCC (row 0 north, column 0 "
    "west).",
    "  --rows R, --cols C     grid size (default 20 x 20, at most 1000 each)",
    "  --sensors-per-cell N   sensors s-rRRRcCCC-1 .. -N in each cell "
    "(default 1)",
    "  --backfill H           first H hours of history, one 300 s reading per",
    "                         sensor every 5 minutes, as fast as the broker",
    "                         takes them (default 24; 0 for none)",
    "  --start TS             ts of the first back-fill reading: Unix seconds",
    "                         or ISO 8601 with offset (default: now - H hours)",
    "  --live, --no-live      then go on in real time, or stop (default live)",
    "  --interval S           seconds between a sensor's live readings, and",
    "                         their period (default 60)",
    "  --speed X              live event time runs X times faster than the",
    "                         clock (default 1)",
    "  --rate N               live: exactly N messages a second instead, in",
    "                         rounds of all sensors (0: as fast as possible);",
    "                         a round's ts and period follow its duration in",
    "                         whole seconds, 1 to the interval",
    "  --duration S           stop after S seconds of live time (default:",
    "                         never)",
    "  --count N              stop after N messages in all",
    "  --seed N               the field and faults for a seed (default 1);",
    "                         the same seed and start give the same readings",
    "  --fault-free           no injected faults; otherwise one sensor is",
    "                         stuck 4 hours a day, sensors drop out for an",
    "                         hour now and then, and one goes offline for good",
    "                         after the back-fill",
    "  --dust-sites N         also N dust-site monitors dust-01 .. (PM10 and",
    "                         PM2.5 over their cell's ambient value: work",
    "                         dust by day, and on about one day in four a",
    "                         2 to 4 hour episode of 250 to 450 ug/m3 more);",
    "                         site i sits in cell ((3 + 5i) mod R, (2 + 7i)",
    "                         mod C) (default 0, at most 99)",
    "  --sources N            N cells with a local source of PM2.5 (a works",
    "                         running day and night: 50 to 90 ug/m3 more,",
    "                         more by day), standing out of their neighbours",
    "                         as hotspots; source i sits in cell",
    "                         ((R / 3 + 5i) mod R, (2C / 3 + 3i) mod C)",
    "                         (default 0, at most 9)",
    "",
    "MODE replay FILE...: the hourly CSV files of the Beijing multi-site data",
    "  set (.csv or .csv.gz, one station a file), merged in time order.  Each",
    "  station is sensor st-STATION (lower case), each row one reading with",
    "  period 3600 whose ts is hour H of the row's date in UTC+8, taken as",
    "  the start of the hour.  NA fields are left out; CO becomes mg/m3; rh",
    "  comes from TEMP and DEWP (to 0.1 %), wd from the compass point, rain",
    "  (mm in the hour) from RAIN.",
    "  --cell STATION=CELL    put STATION in CELL (repeatable); otherwise the",
    "                         k-th FILE's station goes in r000c<k>, from 000",
    "  --from DATE, --to DATE only the local dates in this range (YYYY-MM-DD,",
    "                         inclusive)",
    "  --speed X              X event hours per real hour (3600: an hour a",
    "                         second)",
    "  --fast                 as fast as the broker takes them (default)",
    "  --count N              stop after N messages",
    "",
    "MODE hj212: N HJ 212-2017 data loggers, one TCP connection each to the",
    "  HJ 212 listener of aqgridd, sending frames of the synthetic field:",
    "    ##0281QN=20261129140000000;ST=22;CN=2011;PW=123456;",
    "    MN=010000A89000160000000001;Flag=5;CP=&&DataTime=20261129140000;",
    "    a34004-Rtd=19.6,a34004-Flag=N;...;a21005-Rtd=0.39,a21005-Flag=N&&"
    "8941",
    "  (PM2.5, PM10, O3, NO2, SO2 in ug/m3, CO in mg/m3; DataTime and QN in",
    "  UTC+8).  Each frame asks for the data acknowledgement (CN 9014), which",
    "  is checked (CRC, QN); at most 8 frames a logger go unacknowledged.",
    "  -H and -p are the broker's, used only with --mqtt.",
    "  --host H, --port P     the listener (default 127.0.0.1 9213)",
    "  --loggers N            loggers (default 10, at most 10000)",
    "  --mn-prefix PFX        MN of logger k: PFX and k from 1, zero-padded",
    "                         to 24 characters (default 010000A8900016)",
    "  --password PW          PW of every frame (default 123456)",
    "  --rows R, --cols C     the synthetic grid the loggers fill row by row,",
    "                         logger k in cell k (default one row of N cells,",
    "                         1000 at most a row)",
    "  --cn 2011|2061         live frames carry real-time (Rtd, default) or",
    "                         hourly data (Avg, one hour a frame)",
    "  --interval S           seconds between a logger's live frames (default",
    "                         60, 3600 with --cn 2061); DataTime is the time",
    "                         a frame goes out",
    "  --rate N               N frames a second in all instead, in rounds of",
    "                         the loggers (0: as fast as acknowledgements",
    "                         come); DataTime steps by N-loggers/N seconds a",
    "                         round, at least 1, at most the interval",
    "  --backfill H           first hourly data (CN 2061) of the last H whole",
    "                         hours, as fast as they are taken (default 0)",
    "  --start TS             DataTime of the first frame (default: now, or",
    "                         H hours ago with --backfill)",
    "  --live, --no-live      go on after the back-fill or stop (default: on)",
    "  --duration S, --count N, --seed N  as for synth; --count counts frames",
    "  --no-ack               Flag=4: ask for no acknowledgement",
    "  --ack-timeout S        give up on an acknowledgement after S seconds",
    "                         (default 10)",
    "  --split                write each frame in six pieces, 2 ms apart",
    "  --mqtt                 publish the frames to the broker instead, on",
    "                         PREFIX/MN (default prefix aq/hj212), for",
    "                         gateways that forward them",
    "  A logger whose connection is lost reconnects (0.5 s back-off, doubling",
    "  to 30 s) and sends its unacknowledged frames again.  At exit it prints",
    "  \"" PROG ": sent N frames (M acknowledged)\" on stderr.",
    "",
    "Modes synth and replay print at exit, on stderr,",
    "  \"" PROG ": published N messages (M acked)\"; at QoS 0, M counts",
    "  the messages written to the network.",
    "SIGINT or SIGTERM stops it cleanly (a second one stops it at once).",
    "Exit status: 0 done; 1 connection, file or data failure; 2 bad usage.",
};
#define NHELP_LINES (sizeof(help_lines) / sizeof(help_lines[0]))

static volatile sig_atomic_t got_term, got_abort;

static void on_signal(int sig);
static void sim_warnx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static void usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static void opts_init(struct opts *o);
static int parse_args(int argc, char **argv, struct opts *o);
static int parse_short(struct opts *o, int argc, char **argv, int *i);
static int parse_long(
    struct opts *o, bool have_mode, int argc, char **argv, int *i);
static int set_long(struct opts *o, enum optid id, const char *val);
static int check_args(struct opts *o);
static int hj_check_args(struct opts *o);
static int parse_int(
    const char *s, long long min, long long max, long long *out);
static int parse_real(const char *s, double min, double max, double *out);
static int parse_u64(const char *s, uint64_t *out);
static bool valid_cell(const char *s);
static bool valid_name(const char *s);
static int64_t mono_ns(void);
static void sleep_until(int64_t due);
static int64_t floor_div(int64_t a, int64_t b);
static int append(char *buf, size_t len, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void format_num(double v, int decimals, char *buf, size_t len);

static int pub_init(struct pub *p, const struct opts *o);
static int pub_connect(struct pub *p, const struct opts *o);
static int pub_send(
    struct pub *p, const char *topic, const char *payload, size_t len);
static int pub_drain(struct pub *p);
static void pub_fini(struct pub *p);
static void pub_wait(struct pub *p, int ms);
static int64_t pub_outstanding(const struct pub *p);
static void on_connect(struct mosquitto *m, void *arg, int rc);
static void on_disconnect(struct mosquitto *m, void *arg, int rc);
static void on_publish(struct mosquitto *m, void *arg, int mid);
static int publish_reading(struct pub *p, const struct opts *o,
    const char *cell, const char *sensor, int64_t ts, int64_t period,
    const bool has[F_COUNT], char val[F_COUNT][NUM_MAX]);

static uint64_t mix64(uint64_t z);
static uint64_t hash4(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b);
static double u01(uint64_t h);
static double gauss(uint64_t h);
static double smooth_day(
    uint64_t seed, uint64_t stream, uint64_t key, double local);
static void synth_init(struct synth *s, const struct opts *o, int64_t now);
static void synth_names(
    const struct synth *s, uint32_t j, char *cell, char *sensor);
static bool synth_silent(
    const struct synth *s, uint32_t j, int64_t ts, bool live);
static void synth_field(
    const struct synth *s, uint32_t j, int64_t t, double v[F_COUNT]);
static int synth_send(const struct synth *s, struct pub *p, uint32_t j,
    int64_t ts, int64_t period);
static int synth_run(const struct opts *o, struct pub *p, int64_t mono0);

static int csv_split(char *line, char **f, int max);
static int csv_open(struct csv_src *s, const char *path, const struct opts *o);
static int csv_header(struct csv_src *s);
static int csv_next(struct csv_src *s, const struct opts *o);
static int csv_parse_row(
    struct csv_src *s, char **f, const struct opts *o, bool *keep);
static bool csv_row_time(struct csv_src *s, char **f, int32_t *date, int *hour);
static int csv_station(struct csv_src *s, const char *name);
static bool csv_row_values(struct csv_src *s, char **f);
static bool csv_number(const char *text, int64_t *v);
static void csv_problem(struct csv_src *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void csv_close(struct csv_src *s);
static int replay_open(struct replay *r, struct opts *o);
static int replay_run(struct replay *r, const struct opts *o, struct pub *p);
static void replay_close(struct replay *r);

static int hj_init(struct hj_run *h, const struct opts *o);
static void hj_fini(struct hj_run *h);
static void hj_local(int64_t ts, char *buf, size_t len);
static void hj_when(
    const struct hj_run *h, uint32_t j, uint64_t r, int64_t *ts, int *cn);
static int64_t hj_due(const struct hj_run *h, uint32_t j, uint64_t r);
static size_t hj_make(const struct hj_run *h, uint32_t j, uint64_t r,
    const char *qn, char *buf, size_t len);
static void hj_next_qn(struct hj_logger *l, int64_t ts, struct hj_frame *f);
static bool hj_can_make(
    const struct hj_run *h, const struct hj_logger *l, int64_t now);
static int hj_queue(struct hj_run *h, uint32_t j, struct hj_frame *f);
static int hj_fill(struct hj_run *h, uint32_t j, int64_t now);
static void hj_sent(
    struct hj_run *h, const struct hj_logger *l, struct hj_frame *f);
static void hj_flush(struct hj_run *h, uint32_t j, int64_t now);
static long hj_scan(const char *buf, size_t len, size_t *dlen);
static void hj_read(struct hj_run *h, uint32_t j);
static void hj_answer(struct hj_run *h, uint32_t j, const char *d, size_t n);
static void hj_expire(struct hj_run *h, uint32_t j, int64_t now);
static int hj_connect(struct hj_run *h, uint32_t j);
static int hj_connected(struct hj_run *h, uint32_t j);
static void hj_lost(struct hj_run *h, uint32_t j, int err, int64_t now);
static int hj_start(struct hj_run *h);
static void hj_go_live(struct hj_run *h, int64_t now);
static bool hj_backfill_done(const struct hj_run *h);
static int hj_loop(struct hj_run *h);
static int hj_step(struct hj_run *h, uint32_t j, int64_t now, bool making,
    int64_t *wake, bool *more, bool *pending);
static int hj_event(struct hj_run *h, uint32_t j, short ev, int64_t now);
static int hj_tcp_main(const struct opts *o);
static int hj_mqtt_run(const struct opts *o, struct pub *p);

int
main(int argc, char **argv)
{
	struct opts o;
	struct pub p;
	struct replay r = {NULL, 0};
	struct sigaction sa;
	bool pub_ready = false, connected = false;
	int64_t mono0 = mono_ns();
	int rc, status = EXIT_SUCCESS;

	opts_init(&o);
	rc = parse_args(argc, argv, &o);
	if (rc == PARSE_HELP) {
		for (size_t k = 0; k < NHELP_LINES; k++)
			printf("%s\n", help_lines[k]);
		goto out;
	}
	if (rc != PARSE_OK) {
		status = EXIT_USAGE;
		goto out;
	}
	/* Files are read up to their first row before any connection, so a
	 * bad file or --cell is told without touching the broker. */
	if (o.mode == MODE_REPLAY && (rc = replay_open(&r, &o)) != AQ_OK) {
		status = rc == AQ_ERR_INVAL ? EXIT_USAGE : EXIT_CONN;
		goto out;
	}

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	/* No SA_RESTART: a signal must cut a sleep short. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	if (o.mode == MODE_HJ212 && !o.mqtt) {
		status = hj_tcp_main(&o);
		goto out;
	}
	/* pub_fini() undoes a pub_init() that failed half-way, too. */
	rc = pub_init(&p, &o);
	pub_ready = true;
	if (rc != AQ_OK) {
		status = EXIT_CONN;
		goto out;
	}
	if (pub_connect(&p, &o) != AQ_OK) {
		status = EXIT_CONN;
		goto out;
	}
	connected = true;

	if (o.mode == MODE_SYNTH)
		rc = synth_run(&o, &p, mono0);
	else if (o.mode == MODE_HJ212)
		rc = hj_mqtt_run(&o, &p);
	else
		rc = replay_run(&r, &o, &p);
	if (rc != AQ_OK)
		status = EXIT_CONN;
	if (pub_drain(&p) != AQ_OK)
		status = EXIT_CONN;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		sim_warnx("writing standard output failed");
		status = EXIT_CONN;
	}
out:
	if (pub_ready)
		pub_fini(&p);
	if (connected && o.mode == MODE_HJ212)
		fprintf(stderr,
		    PROG ": sent %" PRIu64 " frames (%" PRIu64
			 " acknowledged)\n",
		    p.published, p.acked);
	else if (connected)
		fprintf(stderr,
		    PROG ": published %" PRIu64 " messages (%" PRIu64
			 " acked)\n",
		    p.published, p.acked);
	replay_close(&r);
	free(o.files);
	return status;
}

static void
on_signal(int sig)
{
	(void)sig;
	if (got_term)
		got_abort = 1;
	got_term = 1;
}

static void
sim_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs(PROG ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void
usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs(PROG ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs(" (try '" PROG " --help')\n", stderr);
	va_end(ap);
}

static void
opts_init(struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->host = "127.0.0.1";
	o->port = 1883;
	o->qos = 1;
	o->prefix = "aq/sim";
	o->mode = MODE_COUNT;
	o->speed = 1;
	o->rows = 20;
	o->cols = 20;
	o->per_cell = 1;
	o->interval = 60;
	o->backfill_h = 24;
	o->live = true;
	o->duration = -1;
	o->seed = 1;
	o->rate = -1;
	o->from = 0;
	o->to = 99991231;
	o->fast = true;
	o->hj_host = "127.0.0.1";
	o->hj_port = HJ_PORT;
	o->loggers = 10;
	o->mn_prefix = HJ_MN_PREFIX;
	o->password = HJ_PASSWORD;
	o->cn = HJ_CN_RTD;
	o->ack = true;
	o->ack_timeout = HJ_ACK_TIMEOUT_S;
}

/*
 * Global options come first, then MODE, then its options (and for replay
 * the files, in any order).  Global options are also taken after MODE.
 * "--" ends the options.  Returns a parse_rc; errors are told here.
 */
static int
parse_args(int argc, char **argv, struct opts *o)
{
	bool have_mode = false, opts_done = false;
	int rc = PARSE_OK;

	/* Every file is an argument, so argc pointers suffice. */
	if ((o->files = calloc((size_t)argc, sizeof(*o->files))) == NULL) {
		sim_warnx("out of memory");
		rc = PARSE_BAD;
	}
	for (int i = 1; i < argc && rc == PARSE_OK; i++) {
		const char *a = argv[i];

		if (!opts_done && strcmp(a, "--") == 0) {
			opts_done = true;
		} else if (!opts_done &&
		    (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
			rc = PARSE_HELP;
		} else if (!opts_done && a[0] == '-' && a[1] == '-') {
			rc = parse_long(o, have_mode, argc, argv, &i);
		} else if (!opts_done && a[0] == '-' && a[1] != '\0') {
			rc = parse_short(o, argc, argv, &i);
		} else if (!have_mode) {
			for (int m = 0; m < MODE_COUNT; m++)
				if (strcmp(a, mode_names[m]) == 0)
					o->mode = (enum mode)m;
			if (o->mode == MODE_COUNT) {
				usage_error("unknown MODE '%.64s' (synth, "
					    "replay or hj212)",
				    a);
				rc = PARSE_BAD;
			}
			have_mode = true;
		} else if (o->mode == MODE_REPLAY) {
			o->files[o->nfiles++] = a;
		} else {
			usage_error("%s takes no argument '%.64s'",
			    mode_names[o->mode], a);
			rc = PARSE_BAD;
		}
	}
	if (rc == PARSE_OK)
		rc = check_args(o);
	return rc;
}

static int
parse_short(struct opts *o, int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	const char *val = NULL;
	long long n;
	int rc = PARSE_BAD;

	if (strchr("Hpqti", a[1]) != NULL) {
		if (a[2] != '\0')
			val = a + 2;
		else if (*i + 1 < argc)
			val = argv[++*i];
		else {
			usage_error("option '-%c' needs an argument", a[1]);
			goto out;
		}
	} else if (a[1] != 'v' || a[2] != '\0') {
		usage_error("unknown option '%.64s'", a);
		goto out;
	}
	switch (a[1]) {
	case 'v':
		o->verbose = true;
		break;
	case 'H':
		if (val[0] == '\0' || strlen(val) >= HOST_MAX) {
			usage_error("bad host '%.64s'", val);
			goto out;
		}
		o->host = val;
		break;
	case 'p':
		if (parse_int(val, 1, 65535, &n) != AQ_OK) {
			usage_error("bad port '%.64s' (1 to 65535)", val);
			goto out;
		}
		o->port = (int)n;
		break;
	case 'q':
		if (parse_int(val, 0, 2, &n) != AQ_OK) {
			usage_error("bad QoS '%.64s' (0, 1 or 2)", val);
			goto out;
		}
		o->qos = (int)n;
		break;
	case 't':
		/* The rest of a topic is [a-z0-9-], so the prefix decides
		 * whether it is a valid topic to publish to. */
		if (val[0] == '\0' || strlen(val) >= PREFIX_MAX ||
		    strpbrk(val, "+#") != NULL ||
		    mosquitto_validate_utf8(val, (int)strlen(val)) !=
			MOSQ_ERR_SUCCESS) {
			usage_error("bad topic prefix '%.64s' (no wildcards, "
				    "at most %d bytes)",
			    val, PREFIX_MAX - 1);
			goto out;
		}
		o->prefix = val;
		o->prefix_set = true;
		break;
	case 'i':
		if (val[0] == '\0' || strlen(val) > 65535 ||
		    mosquitto_validate_utf8(val, (int)strlen(val)) !=
			MOSQ_ERR_SUCCESS) {
			usage_error("bad client id '%.64s'", val);
			goto out;
		}
		o->client_id = val;
		break;
	}
	rc = PARSE_OK;
out:
	return rc;
}

/* "--name value" or "--name=value"; only after MODE, and only the
 * options of that mode. */
static int
parse_long(struct opts *o, bool have_mode, int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	const char *eq = strchr(a, '=');
	size_t nlen = eq != NULL ? (size_t)(eq - a) : strlen(a);
	const char *val = NULL;
	int id = -1, rc = PARSE_BAD;

	for (int k = 0; k < OPT_NOPTS && id < 0; k++)
		if (strlen(long_opts[k].name) == nlen &&
		    strncmp(long_opts[k].name, a, nlen) == 0)
			id = k;
	if (id < 0)
		usage_error("unknown option '%.64s'", a);
	else if (!have_mode)
		usage_error("option '%s' comes after MODE", long_opts[id].name);
	else if ((long_opts[id].modes & MODE_BIT(o->mode)) == 0)
		usage_error("option '%s' is not one of %s's",
		    long_opts[id].name, mode_names[o->mode]);
	else if (!long_opts[id].arg && eq != NULL)
		usage_error(
		    "option '%s' takes no argument", long_opts[id].name);
	else if (long_opts[id].arg && eq == NULL && *i + 1 >= argc)
		usage_error(
		    "option '%s' needs an argument", long_opts[id].name);
	else
		rc = PARSE_OK;
	if (rc == PARSE_OK && long_opts[id].arg)
		val = eq != NULL ? eq + 1 : argv[++*i];
	if (rc == PARSE_OK)
		rc = set_long(o, (enum optid)id, val);
	return rc;
}

static int
set_long(struct opts *o, enum optid id, const char *val)
{
	const char *name = long_opts[id].name;
	const char *expect = NULL;
	long long n = 0;
	const char *eq;

	switch (id) {
	case OPT_ROWS:
	case OPT_COLS:
		if (parse_int(val, 1, GRID_MAX, &n) != AQ_OK)
			expect = "1 to 1000";
		else if (id == OPT_ROWS)
			o->rows = (int)n;
		else
			o->cols = (int)n;
		o->rows_set |= id == OPT_ROWS;
		o->cols_set |= id == OPT_COLS;
		break;
	case OPT_PER_CELL:
		if (parse_int(val, 1, PER_CELL_MAX, &n) != AQ_OK)
			expect = "1 to 100";
		o->per_cell = (int)n;
		break;
	case OPT_DUST_SITES:
		if (parse_int(val, 0, 99, &n) != AQ_OK)
			expect = "0 to 99";
		o->dust_sites = (int)n;
		break;
	case OPT_SOURCES:
		if (parse_int(val, 0, 9, &n) != AQ_OK)
			expect = "0 to 9";
		o->sources = (int)n;
		break;
	case OPT_INTERVAL:
		if (parse_int(val, 1, DAY_S, &n) != AQ_OK)
			expect = "seconds, 1 to 86400";
		o->interval = n;
		o->interval_set = true;
		break;
	case OPT_BACKFILL:
		if (parse_int(val, 0, BACKFILL_MAX_H, &n) != AQ_OK)
			expect = "hours, 0 to 8784";
		o->backfill_h = n;
		o->backfill_set = true;
		break;
	case OPT_LIVE:
	case OPT_NO_LIVE:
		o->live = id == OPT_LIVE;
		break;
	case OPT_DURATION:
		if (parse_real(val, 0, 1e9, &o->duration) != AQ_OK ||
		    o->duration <= 0)
			expect = "seconds, more than 0";
		break;
	case OPT_SEED:
		if (parse_u64(val, &o->seed) != AQ_OK)
			expect = "an integer, 0 to 2^64-1";
		break;
	case OPT_START:
		if (tz_parse(val, &o->start) != AQ_OK)
			expect = "Unix seconds or ISO 8601 with offset";
		o->start_set = true;
		break;
	case OPT_SPEED:
		if (parse_real(val, 0, 1e9, &o->speed) != AQ_OK ||
		    o->speed <= 0)
			expect = "a factor, more than 0";
		o->fast = false;
		break;
	case OPT_RATE:
		if (parse_real(val, 0, 1e9, &o->rate) != AQ_OK)
			expect = "messages a second, 0 for no limit";
		break;
	case OPT_COUNT:
		if (parse_int(val, 1, LLONG_MAX, &n) != AQ_OK)
			expect = "1 or more";
		o->count = (uint64_t)n;
		break;
	case OPT_FAULT_FREE:
		o->fault_free = true;
		break;
	case OPT_CELL:
		eq = strrchr(val, '=');
		if (o->nmap == CELL_MAP_MAX) {
			expect = "at most 64 of them";
		} else if (eq == NULL || eq == val ||
		    (size_t)(eq - val) >= STATION_MAX || !valid_cell(eq + 1)) {
			expect = "STATION=rRRRcCCC";
		} else {
			struct cellmap *c = &o->map[o->nmap++];

			memcpy(c->station, val, (size_t)(eq - val));
			c->station[eq - val] = '\0';
			snprintf(c->cell, sizeof(c->cell), "%s", eq + 1);
		}
		break;
	case OPT_FROM:
	case OPT_TO:
		if (tz_parse_date(val, id == OPT_FROM ? &o->from : &o->to) !=
		    AQ_OK)
			expect = "a date YYYY-MM-DD";
		break;
	case OPT_FAST:
		o->fast = true;
		break;
	case OPT_HOST:
		if (val[0] == '\0' || strlen(val) >= HOST_MAX)
			expect = "a host name or address";
		o->hj_host = val;
		break;
	case OPT_PORT:
		if (parse_int(val, 1, 65535, &n) != AQ_OK)
			expect = "1 to 65535";
		o->hj_port = (int)n;
		break;
	case OPT_LOGGERS:
		if (parse_int(val, 1, HJ_LOGGERS_MAX, &n) != AQ_OK)
			expect = "1 to 10000";
		o->loggers = (int)n;
		break;
	case OPT_MN_PREFIX:
		if (strlen(val) > HJ_MN_LEN - 1 ||
		    strspn(val,
			"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			"abcdefghijklmnopqrstuvwxyz") != strlen(val))
			expect = "letters and digits, at most 23";
		o->mn_prefix = val;
		break;
	case OPT_PASSWORD:
		/* Printable, and none of the data segment's separators. */
		if (val[0] == '\0' || strlen(val) >= HJ212_PW_MAX ||
		    strpbrk(val, ";,=&") != NULL)
			expect = "1 to 15 characters, none of ;,=&";
		for (const char *c = val; expect == NULL && *c != '\0'; c++)
			if (*c <= ' ' || *c > '~')
				expect = "1 to 15 characters, none of ;,=&";
		o->password = val;
		break;
	case OPT_CN:
		if (parse_int(val, 0, 9999, &n) != AQ_OK ||
		    (n != HJ_CN_RTD && n != HJ_CN_HOUR))
			expect = "2011 or 2061";
		o->cn = (int)n;
		break;
	case OPT_NO_ACK:
		o->ack = false;
		break;
	case OPT_ACK_TIMEOUT:
		if (parse_int(val, 1, 3600, &n) != AQ_OK)
			expect = "seconds, 1 to 3600";
		o->ack_timeout = n;
		break;
	case OPT_SPLIT:
		o->split = true;
		break;
	case OPT_MQTT:
		o->mqtt = true;
		break;
	case OPT_NOPTS:
		break;
	}
	if (expect != NULL)
		usage_error("bad %s '%.64s' (%s)", name, val, expect);
	return expect != NULL ? PARSE_BAD : PARSE_OK;
}

static int
check_args(struct opts *o)
{
	int rc = PARSE_BAD;

	if (o->mode == MODE_COUNT)
		usage_error("missing MODE (synth, replay or hj212)");
	else if (o->mode == MODE_HJ212)
		rc = hj_check_args(o);
	else if (o->mode == MODE_REPLAY && o->nfiles == 0)
		usage_error("replay needs at least one FILE");
	else if (o->mode == MODE_REPLAY && o->from > o->to)
		usage_error("--from is after --to");
	else if (o->mode == MODE_SYNTH &&
	    (long long)o->rows * o->cols * o->per_cell > SENSORS_MAX)
		usage_error("more than %d sensors", SENSORS_MAX);
	else
		rc = PARSE_OK;
	return rc;
}

/* Mode hj212's defaults, which depend on other options, and its checks. */
static int
hj_check_args(struct opts *o)
{
	int rc = PARSE_BAD;

	if (!o->backfill_set)
		o->backfill_h = 0;
	if (!o->interval_set)
		o->interval = o->cn == HJ_CN_HOUR ? HJ_HOUR : 60;
	if (!o->prefix_set)
		o->prefix = "aq/hj212";
	/* One row of the loggers unless told, as replay puts stations. */
	if (!o->cols_set)
		o->cols = o->rows_set ? (o->loggers + o->rows - 1) / o->rows
				      : o->loggers;
	o->cols = o->cols > GRID_MAX ? GRID_MAX : o->cols;
	if (!o->rows_set)
		o->rows = (o->loggers + o->cols - 1) / o->cols;
	o->rows = o->rows > GRID_MAX ? GRID_MAX : o->rows;
	o->per_cell = 1;
	o->fault_free = true;
	if (o->split && o->mqtt)
		usage_error("--split is for TCP, not --mqtt");
	else if (!o->live && o->backfill_h == 0)
		usage_error("--no-live without --backfill sends nothing");
	else
		rc = PARSE_OK;
	return rc;
}

/* strtoll with the whole string, the range and no overflow checked. */
static int
parse_int(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	int rc = AQ_ERR_INVAL;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (s[0] != '\0' && *end == '\0' && errno == 0 && v >= min &&
	    v <= max) {
		*out = v;
		rc = AQ_OK;
	}
	return rc;
}

static int
parse_real(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	int rc = AQ_ERR_INVAL;

	errno = 0;
	v = strtod(s, &end);
	if (s[0] != '\0' && *end == '\0' && errno == 0 && isfinite(v) &&
	    v >= min && v <= max) {
		*out = v;
		rc = AQ_OK;
	}
	return rc;
}

static int
parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	int rc = AQ_ERR_INVAL;

	/* strtoull would quietly negate "-1". */
	if (s[0] >= '0' && s[0] <= '9') {
		errno = 0;
		v = strtoull(s, &end, 10);
		if (*end == '\0' && errno == 0) {
			*out = (uint64_t)v;
			rc = AQ_OK;
		}
	}
	return rc;
}

/* "rRRRcCCC" with three digits each. */
static bool
valid_cell(const char *s)
{
	static const char shape[] = "r999c999";
	size_t k;
	bool ok = true;

	for (k = 0; shape[k] != '\0' && ok; k++)
		ok = shape[k] == '9' ? s[k] >= '0' && s[k] <= '9'
				     : s[k] == shape[k];
	return ok && s[k] == '\0';
}

/* A station name fit for a sensor id, a topic level and a JSON string. */
static bool
valid_name(const char *s)
{
	bool ok = s[0] != '\0';

	for (; *s != '\0' && ok; s++)
		ok = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr("-_.", *s) != NULL;
	return ok;
}

static int64_t
mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Sleeps until a CLOCK_MONOTONIC time, or until a signal asks to stop. */
static void
sleep_until(int64_t due)
{
	struct timespec t;

	t.tv_sec = (time_t)(due / 1000000000);
	t.tv_nsec = (long)(due % 1000000000);
	while (!got_term &&
	    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR)
		;
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* printf at buf + *off; AQ_ERR_RANGE (and *off unchanged) if it does not
 * fit. */
static int
append(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n, rc = AQ_ERR_RANGE;

	va_start(ap, fmt);
	n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < len - *off) {
		*off += (size_t)n;
		rc = AQ_OK;
	} else {
		buf[*off] = '\0';
	}
	return rc;
}

/* v with at most `decimals` decimals and no trailing zeros: "35.2", "61",
 * never "-0". */
static void
format_num(double v, int decimals, char *buf, size_t len)
{
	char *dot, *end;

	snprintf(buf, len, "%.*f", decimals, v);
	if ((dot = strchr(buf, '.')) != NULL) {
		end = buf + strlen(buf);
		while (end > dot && (end[-1] == '0' || end[-1] == '.'))
			*--end = '\0';
	}
	if (strcmp(buf, "-0") == 0)
		snprintf(buf, len, "0");
}

/* ---- The publisher ---- */

static int
pub_init(struct pub *p, const struct opts *o)
{
	pthread_condattr_t ca;
	int rc = AQ_ERR_NOMEM;

	memset(p, 0, sizeof(*p));
	p->qos = o->qos;
	p->verbose = o->verbose;
	pthread_mutex_init(&p->mu, NULL);
	/* Timed waits on the monotonic clock, immune to clock steps. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cv, &ca);
	pthread_condattr_destroy(&ca);
	mosquitto_lib_init();
	if ((p->mosq = mosquitto_new(o->client_id, true, p)) == NULL) {
		sim_warnx("cannot create an MQTT client: %s", strerror(errno));
		goto out;
	}
	mosquitto_connect_callback_set(p->mosq, on_connect);
	mosquitto_disconnect_callback_set(p->mosq, on_disconnect);
	mosquitto_publish_callback_set(p->mosq, on_publish);
	mosquitto_int_option(p->mosq, MOSQ_OPT_SEND_MAXIMUM, INFLIGHT_MAX);
	mosquitto_reconnect_delay_set(
	    p->mosq, RECONNECT_MIN_S, RECONNECT_MAX_S, true);
	rc = AQ_OK;
out:
	return rc;
}

/*
 * Connects, starts the network thread and waits for the broker's CONNACK.
 * The thread reconnects by itself from then on.
 */
static int
pub_connect(struct pub *p, const struct opts *o)
{
	sigset_t block, old;
	int64_t deadline;
	int rc, ack, ret = AQ_ERR_IO;

	rc = mosquitto_connect(p->mosq, o->host, o->port, KEEPALIVE_S);
	if (rc != MOSQ_ERR_SUCCESS) {
		sim_warnx("cannot connect to %s:%d: %s", o->host, o->port,
		    rc == MOSQ_ERR_ERRNO ? strerror(errno)
					 : mosquitto_strerror(rc));
		goto out;
	}
	/* The network thread inherits this mask, so SIGINT and SIGTERM reach
	 * the main thread and cut its sleeps short. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	rc = mosquitto_loop_start(p->mosq);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != MOSQ_ERR_SUCCESS) {
		sim_warnx("cannot start the network thread: %s",
		    mosquitto_strerror(rc));
		goto out;
	}
	p->looping = true;

	deadline = mono_ns() + (int64_t)CONNACK_WAIT_S * 1000000000;
	pthread_mutex_lock(&p->mu);
	while (!p->connack_seen && !got_term && mono_ns() < deadline)
		pub_wait(p, POLL_MS);
	ack = p->connack_seen ? p->connack_rc : -1;
	pthread_mutex_unlock(&p->mu);
	if (ack == 0)
		ret = AQ_OK;
	else if (ack > 0)
		sim_warnx("%s:%d refused the connection: %s", o->host, o->port,
		    mosquitto_connack_string(ack));
	else if (got_term)
		sim_warnx(
		    "interrupted while connecting to %s:%d", o->host, o->port);
	else
		sim_warnx("no answer from %s:%d within %d s", o->host, o->port,
		    CONNACK_WAIT_S);
out:
	return ret;
}

/* Call with mu held. */
static void
pub_wait(struct pub *p, int ms)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_nsec += (long)ms * 1000000;
	t.tv_sec += t.tv_nsec / 1000000000;
	t.tv_nsec %= 1000000000;
	pthread_cond_timedwait(&p->cv, &p->mu, &t);
}

/* Messages not yet acknowledged; call with mu held. */
static int64_t
pub_outstanding(const struct pub *p)
{
	return (int64_t)(p->published - p->acked - p->dropped);
}

/*
 * Publishes one message once there is room in the window and a connection.
 * Returns AQ_OK, AQ_ERR_IO for a failure (told), or AQ_ERR_STALE when a
 * signal asked to stop before the message could go (nothing published).
 */
static int
pub_send(struct pub *p, const char *topic, const char *payload, size_t len)
{
	uint64_t epoch;
	int mrc, rc = -1;

	while (rc < 0) {
		pthread_mutex_lock(&p->mu);
		while (!got_term &&
		    (!p->connected || pub_outstanding(p) >= INFLIGHT_MAX)) {
			p->window_full = true;
			pub_wait(p, POLL_MS);
		}
		p->window_full = false;
		if (got_term) {
			pthread_mutex_unlock(&p->mu);
			rc = AQ_ERR_STALE;
			break;
		}
		/* Counted before the call: the acknowledgement may come back
		 * before mosquitto_publish() returns. */
		p->published++;
		epoch = p->epoch;
		pthread_mutex_unlock(&p->mu);

		mrc = mosquitto_publish(
		    p->mosq, NULL, topic, (int)len, payload, p->qos, false);
		/* At QoS 1 and 2 a message is queued before it is sent, and
		 * NO_CONN only says the send waits for the reconnection. */
		if (mrc == MOSQ_ERR_SUCCESS ||
		    (mrc == MOSQ_ERR_NO_CONN && p->qos > 0)) {
			rc = AQ_OK;
			break;
		}
		pthread_mutex_lock(&p->mu);
		p->published--;
		/* on_disconnect() took it for lost with the others. */
		if (p->qos == 0 && p->epoch != epoch)
			p->dropped--;
		pthread_mutex_unlock(&p->mu);
		/* QoS 0 and the connection just went: again once it is back. */
		if (mrc != MOSQ_ERR_NO_CONN) {
			sim_warnx("publishing to %s failed: %s", topic,
			    mosquitto_strerror(mrc));
			rc = AQ_ERR_IO;
		}
	}
	return rc;
}

/*
 * Waits until every message is acknowledged, as long as acknowledgements
 * keep coming (DRAIN_IDLE_S) and no second signal arrives.
 */
static int
pub_drain(struct pub *p)
{
	int64_t idle_until = mono_ns() + (int64_t)DRAIN_IDLE_S * 1000000000;
	uint64_t last;
	int64_t left;

	pthread_mutex_lock(&p->mu);
	last = p->acked;
	while ((left = pub_outstanding(p)) > 0 && !got_abort &&
	    mono_ns() < idle_until) {
		pub_wait(p, POLL_MS);
		if (p->acked != last) {
			last = p->acked;
			idle_until =
			    mono_ns() + (int64_t)DRAIN_IDLE_S * 1000000000;
		}
	}
	pthread_mutex_unlock(&p->mu);
	if (left > 0)
		sim_warnx("%" PRId64 " messages not acknowledged", left);
	return left > 0 ? AQ_ERR_IO : AQ_OK;
}

static void
pub_fini(struct pub *p)
{
	bool connected;

	if (p->looping) {
		pthread_mutex_lock(&p->mu);
		connected = p->connected;
		pthread_mutex_unlock(&p->mu);
		mosquitto_disconnect(p->mosq);
		/* Without a connection the thread may sleep in its
		 * reconnection back-off, so it is cancelled instead. */
		mosquitto_loop_stop(p->mosq, !connected);
	}
	mosquitto_destroy(p->mosq); /* NULL is a no-op */
	mosquitto_lib_cleanup();
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
}

static void
on_connect(struct mosquitto *m, void *arg, int rc)
{
	struct pub *p = arg;
	bool back;

	(void)m;
	pthread_mutex_lock(&p->mu);
	p->connack_seen = true;
	p->connack_rc = rc;
	p->connected = rc == 0;
	back = rc == 0 && p->was_lost;
	if (back)
		p->was_lost = false;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	if (back)
		sim_warnx("connected again");
	else if (rc != 0 && p->was_lost)
		sim_warnx(
		    "reconnection refused: %s", mosquitto_connack_string(rc));
	else if (p->verbose && rc == 0)
		sim_warnx("connected");
}

static void
on_disconnect(struct mosquitto *m, void *arg, int rc)
{
	struct pub *p = arg;
	bool first;

	(void)m;
	pthread_mutex_lock(&p->mu);
	first = p->connected && rc != 0;
	p->connected = false;
	p->epoch++;
	/* QoS 0 messages not yet written die with the connection. */
	if (p->qos == 0)
		p->dropped = p->published - p->acked;
	if (rc != 0)
		p->was_lost = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	if (first)
		sim_warnx("connection lost (%s), reconnecting",
		    mosquitto_strerror(rc));
}

static void
on_publish(struct mosquitto *m, void *arg, int mid)
{
	struct pub *p = arg;

	(void)m;
	(void)mid;
	pthread_mutex_lock(&p->mu);
	p->acked++;
	/*
	 * Wake a main thread stuck on a full window at the first free slot,
	 * not later: the broker's Nagle algorithm holds its next PUBACKs
	 * until our TCP ACK, which the kernel delays (40 ms) while we send
	 * nothing; the PUBLISH sent now carries it.
	 */
	if (p->window_full || pub_outstanding(p) <= 0)
		pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/*
 * Publishes one reading: the present values in val[] (texts of JSON
 * numbers) after sensor, ts, period and cell.
 */
static int
publish_reading(struct pub *p, const struct opts *o, const char *cell,
    const char *sensor, int64_t ts, int64_t period, const bool has[F_COUNT],
    char val[F_COUNT][NUM_MAX])
{
	char topic[TOPIC_MAX];
	char payload[PAYLOAD_MAX];
	size_t off = 0;
	int rc;

	rc = append(payload, sizeof(payload), &off,
	    "{\"sensor\":\"%s\",\"ts\":%" PRId64 ",\"period\":%" PRId64
	    ",\"cell\":\"%s\"",
	    sensor, ts, period, cell);
	for (int f = 0; f < F_COUNT && rc == AQ_OK; f++)
		if (has[f])
			rc = append(payload, sizeof(payload), &off,
			    ",\"%s\":%s", fields[f].key, val[f]);
	if (rc == AQ_OK)
		rc = append(payload, sizeof(payload), &off, "}");
	if (rc == AQ_OK)
		rc = snprintf(topic, sizeof(topic), "%s/%s/%s", o->prefix, cell,
			 sensor) < (int)sizeof(topic)
		    ? AQ_OK
		    : AQ_ERR_RANGE;
	if (rc != AQ_OK) {
		sim_warnx("%s: message too long", sensor);
		rc = AQ_ERR_IO;
		goto out;
	}
	if ((rc = pub_send(p, topic, payload, off)) == AQ_OK && o->verbose)
		printf("%s %s\n", topic, payload);
out:
	return rc;
}

/* ---- Mode synth ---- */

/* splitmix64's finaliser: a bijective 64-bit mix. */
static uint64_t
mix64(uint64_t z)
{
	z += UINT64_C(0x9e3779b97f4a7c15);
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* A counter-based generator: splitmix64 keyed by the seed, a stream and
 * two counters, so any draw can be made without the ones before it. */
static uint64_t
hash4(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b)
{
	return mix64(mix64(mix64(seed ^ mix64(stream)) ^ a) ^ b);
}

/* Uniform in (0, 1]. */
static double
u01(uint64_t h)
{
	return (double)((h >> 11) + 1) * 0x1.0p-53;
}

/* Standard normal, Box-Muller on two draws. */
static double
gauss(uint64_t h)
{
	return sqrt(-2 * log(u01(h))) * cos(2 * SIM_PI * u01(mix64(h)));
}

/*
 * A value in [0, 1] per local day, taken at noon and eased between noons,
 * so day-to-day weather changes without a jump at midnight.
 */
static double
smooth_day(uint64_t seed, uint64_t stream, uint64_t key, double local)
{
	double x = local / DAY_S - 0.5;
	double d = floor(x);
	double w = 0.5 - 0.5 * cos(SIM_PI * (x - d));
	double v0 = u01(hash4(seed, stream, key, (uint64_t)(int64_t)d));
	double v1 = u01(hash4(seed, stream, key, (uint64_t)(int64_t)d + 1));

	return v0 + (v1 - v0) * w;
}

static void
synth_init(struct synth *s, const struct opts *o, int64_t now)
{
	uint64_t h = hash4(o->seed, ST_FAULT, 0, 0);

	memset(s, 0, sizeof(*s));
	s->o = o;
	s->ngrid = (uint32_t)(o->rows * o->cols * o->per_cell);
	s->nsensors = s->ngrid + (uint32_t)o->dust_sites;
	s->start = o->start_set ? o->start : now - o->backfill_h * 3600;
	s->live0 = s->start + o->backfill_h * 3600;
	s->stuck = s->offline = UINT32_MAX;
	if (!o->fault_free) {
		s->stuck = (uint32_t)(h % s->ngrid);
		/* A grid of one sensor keeps it rather than go silent. */
		if (s->ngrid > 1)
			s->offline =
			    (uint32_t)((s->stuck + 1 +
					   (h >> 32) % (s->ngrid - 1)) %
				s->ngrid);
		s->stuck_hour = (int)(mix64(h) % 18) + 2;
	}
}

/* The grid sensor whose cell dust site i (j = ngrid + i) sits in. */
static uint32_t
site_host(const struct synth *s, uint32_t j)
{
	uint32_t i = j - s->ngrid;
	uint32_t row = (3 + 5 * i) % (uint32_t)s->o->rows;
	uint32_t col = (2 + 7 * i) % (uint32_t)s->o->cols;

	return (row * (uint32_t)s->o->cols + col) * (uint32_t)s->o->per_cell;
}

static void
synth_names(const struct synth *s, uint32_t j, char *cell, char *sensor)
{
	uint32_t c;

	if (j >= s->ngrid) {
		synth_names(s, site_host(s, j), cell, sensor);
		snprintf(sensor, SENSOR_ID_MAX, "dust-%02u",
		    (unsigned)(j - s->ngrid + 1));
		return;
	}
	c = j / (uint32_t)s->o->per_cell;
	int row = (int)(c / (uint32_t)s->o->cols);
	int col = (int)(c % (uint32_t)s->o->cols);

	snprintf(cell, CELL_ID_MAX, "r%03dc%03d", row, col);
	snprintf(sensor, SENSOR_ID_MAX, "s-%s-%u", cell,
	    (unsigned)(j % (uint32_t)s->o->per_cell) + 1);
}

/*
 * PM2.5 that the local sources add to cell (row, col): a works running day
 * and night, 50 to 90 ug/m3 by source, more by day (0.8 to 1.2 times);
 * source i sits in cell ((R / 3 + 5i) mod R, (2C / 3 + 3i) mod C).
 * Whatever the wind, so its hotspot's source is local.
 */
static double
source_excess(const struct synth *s, int row, int col, double h)
{
	const struct opts *o = s->o;
	double x = 0;

	for (int i = 0; i < o->sources; i++) {
		if (row != (o->rows / 3 + 5 * i) % o->rows ||
		    col != (2 * o->cols / 3 + 3 * i) % o->cols)
			continue;
		x +=
		    (50 + 40 * u01(hash4(o->seed, ST_SOURCE, (uint64_t)i, 0))) *
		    (1 + 0.2 * sin(2 * SIM_PI * (h - 8) / 24));
	}
	return x;
}

/* Dropouts: a sensor is silent for a whole hour about once in 256 of its
 * hours; the offline sensor is silent for all of live mode. */
static bool
synth_silent(const struct synth *s, uint32_t j, int64_t ts, bool live)
{
	return !s->o->fault_free && j < s->ngrid &&
	    ((live && j == s->offline) ||
		(hash4(s->o->seed, ST_DROP, j, (uint64_t)floor_div(ts, 3600)) &
		    0xff) == 0);
}

/*
 * The reading of sensor j for the period starting at t.  Local time is
 * UTC+8, like Beijing's, so the cycles line up with the daemon's default
 * zone.  Levels are typical of a north-China city: PM2.5 from about 20 to
 * 150 ug/m3 by cell and day with a night and morning peak, plus a plume of
 * 100 to 320 ug/m3 drifting across the grid; O3 peaking in the afternoon,
 * higher in summer; NO2 with rush-hour peaks in the centre.
 */
static void
synth_field(const struct synth *s, uint32_t j, int64_t t, double v[F_COUNT])
{
	const struct opts *o = s->o;
	const uint64_t seed = o->seed;
	const uint32_t cell = j / (uint32_t)o->per_cell;
	const int row = (int)(cell / (uint32_t)o->cols);
	const int col = (int)(cell % (uint32_t)o->cols);
	/* The plume moves 2.2 grid widths in 8 hours, through the middle. */
	const int64_t plume_period = 8 * 3600;
	const double sigma = 0.14;
	double local, h, season, winter, summer;
	double nx, ny, cx, cy, grad, core, diurnal;
	double u, th, dx, dy, off, px, py, amp, plume;
	double pm_true, no2_true, o3_true, tdiurnal;
	int64_t p, t_stuck;

	if (j >= s->ngrid) {
		/* A dust site: its cell's air, work dust from 07:00 to 19:00
		 * local, and on about one day in four an episode. */
		int64_t lt = t + 8 * 3600, day = floor_div(lt, DAY_S);
		int hour = (int)(floor_div(lt, 3600) - day * 24);
		uint64_t e = hash4(seed, ST_DUST, j, (uint64_t)day);
		int start = 8 + (int)((e >> 8) % 8),
		    len = 2 + (int)((e >> 16) % 3);
		double dust =
		    hour >= 7 && hour < 19 ? 25 + (double)(e >> 24 & 31) : 5;

		if ((e & 3) == 0 && hour >= start && hour < start + len)
			dust += 250 + (double)((e >> 32) % 200);
		synth_field(s, site_host(s, j), t, v);
		v[F_PM10] += dust;
		v[F_PM25] += dust * 0.15;
		return;
	}
	/* The stuck sensor repeats, for STUCK hours a day, the reading it
	 * made when it got stuck. */
	if (j == s->stuck) {
		t_stuck = floor_div(t + LOCAL_OFFSET, DAY_S) * DAY_S -
		    LOCAL_OFFSET + (int64_t)s->stuck_hour * 3600;
		if (t >= t_stuck && t < t_stuck + 4 * 3600)
			t = t_stuck;
	}
	local = (double)(t + LOCAL_OFFSET);
	h = (local - floor(local / DAY_S) * DAY_S) / 3600;
	/* 1 in mid-January, 0 in mid-July. */
	season = cos(2 * SIM_PI * (local / DAY_S - 15) / 365.2425);
	winter = 0.5 + 0.5 * season;
	summer = 1 - winter;

	/* South and east dirtier, like Beijing's plain; a centre core. */
	nx = o->cols > 1 ? (double)col / (o->cols - 1) : 0.5;
	ny = o->rows > 1 ? (double)row / (o->rows - 1) : 0.5;
	grad = (0.8 + 0.35 * ny + 0.15 * nx) *
	    (0.9 + 0.2 * u01(hash4(seed, ST_CELL, cell, 0)));
	core = exp(-((nx - 0.5) * (nx - 0.5) + (ny - 0.5) * (ny - 0.5)) /
	    (2 * 0.3 * 0.3));
	/* Shallow mixing layer at night, rush hour at 8, clean afternoon. */
	diurnal = 1 + 0.30 * cos(2 * SIM_PI * (h - 3) / 24) +
	    0.12 * exp(-(h - 8) * (h - 8) / 2);

	/* The plume of episode p crosses the grid along a seeded heading,
	 * off the centre by a seeded amount, rising and fading with sin(). */
	p = floor_div(t, plume_period);
	u = (double)(t - p * plume_period) / (double)plume_period;
	th = 2 * SIM_PI * u01(hash4(seed, ST_PLUME_DIR, (uint64_t)p, 0));
	dx = cos(th);
	dy = sin(th);
	off = (u01(hash4(seed, ST_PLUME_OFF, (uint64_t)p, 0)) - 0.5) * 0.6;
	px = 0.5 + dx * (u - 0.5) * 2.2 - dy * off;
	py = 0.5 + dy * (u - 0.5) * 2.2 + dx * off;
	amp = 100 + 220 * u01(hash4(seed, ST_PLUME_AMP, (uint64_t)p, 0));
	cx = (col + 0.5) / o->cols - px;
	cy = (row + 0.5) / o->rows - py;
	plume = amp * sqrt(sin(SIM_PI * u)) *
	    exp(-(cx * cx + cy * cy) / (2 * sigma * sigma));

	pm_true = 45 * (0.55 + 1.1 * smooth_day(seed, ST_PMDAY, 0, local)) *
		diurnal * grad +
	    plume + source_excess(s, row, col, h);
	no2_true = (18 + 32 * exp(-(h - 8) * (h - 8) / (2 * 1.3 * 1.3)) +
		       38 * exp(-(h - 18.5) * (h - 18.5) / (2 * 1.6 * 1.6)) +
		       10 * (0.5 + 0.5 * cos(2 * SIM_PI * (h - 1) / 24))) *
		(0.7 + 0.6 * core) *
		(0.75 + 0.5 * smooth_day(seed, ST_NO2DAY, 0, local)) +
	    0.05 * plume;
	/* Photochemistry by day, titration by NO2, and less sun in haze. */
	o3_true = 18 + 12 * summer +
	    (35 + 130 * summer) *
		(0.6 + 0.8 * smooth_day(seed, ST_O3DAY, 0, local)) *
		(h > 8 && h < 22 ? pow(sin(SIM_PI * (h - 8) / 14), 2) : 0);
	o3_true = (o3_true - 0.3 * (no2_true - 30)) / (1 + plume / 300);

	v[F_PM25] = pm_true *
	    (1 + 0.05 * gauss(hash4(seed, ST_CAL, j, F_PM25))) *
	    (1 + 0.08 * gauss(hash4(seed, ST_NOISE + F_PM25, j, (uint64_t)t)));
	v[F_PM10] = v[F_PM25] *
	    (1.5 + 0.5 * smooth_day(seed, ST_RATIO, cell, local)) *
	    (1 + 0.04 * gauss(hash4(seed, ST_NOISE + F_PM10, j, (uint64_t)t)));
	v[F_NO2] = no2_true *
	    (1 + 0.05 * gauss(hash4(seed, ST_CAL, j, F_NO2))) *
	    (1 + 0.10 * gauss(hash4(seed, ST_NOISE + F_NO2, j, (uint64_t)t)));
	v[F_O3] = o3_true * (1 + 0.05 * gauss(hash4(seed, ST_CAL, j, F_O3))) *
	    (1 + 0.08 * gauss(hash4(seed, ST_NOISE + F_O3, j, (uint64_t)t)));
	v[F_SO2] = ((3 + 9 * winter) * diurnal * grad *
			   (0.8 + 0.4 * smooth_day(seed, ST_SO2DAY, 0, local)) +
		       0.02 * plume) *
	    (1 + 0.10 * gauss(hash4(seed, ST_NOISE + F_SO2, j, (uint64_t)t)));
	v[F_CO] = (0.2 + 0.0075 * pm_true) *
	    (1 + 0.06 * gauss(hash4(seed, ST_NOISE + F_CO, j, (uint64_t)t)));

	/* Weather: a seasonal mean, weather by the day, the daily swing,
	 * and a heat island in the centre. */
	tdiurnal = 5.5 * sin(2 * SIM_PI * (h - 9) / 24);
	v[F_TEMP] = 12.5 - 15 * season +
	    6 * (smooth_day(seed, ST_TDAY, 0, local) - 0.5) + tdiurnal +
	    1.5 * core + 0.3 * gauss(hash4(seed, ST_CAL, j, F_TEMP)) +
	    0.2 * gauss(hash4(seed, ST_NOISE + F_TEMP, j, (uint64_t)t));
	v[F_RH] = 30 + 45 * smooth_day(seed, ST_RHDAY, 0, local) + 12 * summer -
	    2.5 * tdiurnal + plume / 15 +
	    2 * gauss(hash4(seed, ST_NOISE + F_RH, j, (uint64_t)t));
	/* The wind blows the plume: its heading gives the direction the
	 * wind comes from (dx east, dy south). */
	v[F_WS] = (0.8 + 2.4 * u01(hash4(seed, ST_WIND, (uint64_t)p, 0))) *
		(1 + 0.35 * sin(2 * SIM_PI * (h - 8) / 24)) +
	    0.3 * gauss(hash4(seed, ST_NOISE + F_WS, j, (uint64_t)t));
	v[F_WD] = atan2(dx, -dy) * 180 / SIM_PI + 180 +
	    20 * gauss(hash4(seed, ST_NOISE + F_WD, j, (uint64_t)t));
	v[F_PRES] = 1003 + 18 * winter +
	    8 * (smooth_day(seed, ST_PDAY, 0, local) - 0.5) +
	    0.8 * cos(4 * SIM_PI * (h - 10) / 24) +
	    0.2 * gauss(hash4(seed, ST_NOISE + F_PRES, j, (uint64_t)t));

	/* Keep what a sensor could report. */
	v[F_PM25] = fmax(v[F_PM25], 1);
	v[F_PM10] = fmax(v[F_PM10], v[F_PM25]);
	v[F_NO2] = fmax(v[F_NO2], 1);
	v[F_O3] = fmax(v[F_O3], 2);
	v[F_SO2] = fmax(v[F_SO2], 1);
	v[F_CO] = fmax(v[F_CO], 0.1);
	v[F_RH] = fmin(fmax(v[F_RH], 5), 100);
	v[F_WS] = fmax(v[F_WS], 0.1);
	v[F_WD] = fmod(fmod(v[F_WD], 360) + 360, 360);
	v[F_RAIN] = 0;
}

static int
synth_send(const struct synth *s, struct pub *p, uint32_t j, int64_t ts,
    int64_t period)
{
	char cell[CELL_ID_MAX], sensor[SENSOR_ID_MAX];
	char val[F_COUNT][NUM_MAX];
	bool has[F_COUNT];
	double v[F_COUNT];

	synth_names(s, j, cell, sensor);
	synth_field(s, j, ts, v);
	for (int f = 0; f < F_COUNT; f++) {
		format_num(v[f], fields[f].decimals, val[f], sizeof(val[f]));
		/* 359.6 rounds to 360, which is north again. */
		if (f == F_WD && strcmp(val[f], "360") == 0)
			snprintf(val[f], sizeof(val[f]), "0");
		/* The synthetic grid has no rain gauges. */
		has[f] = f != F_RAIN;
	}
	return publish_reading(p, s->o, cell, sensor, ts, period, has, val);
}

/*
 * Back-fill, time step by time step, then live.  Live readings of sensor j
 * cover [live0 + off_j + k * interval, + interval) and go out when their
 * period ends on the event clock, which reads live0 when the program
 * started and runs --speed times faster than CLOCK_MONOTONIC; the offsets
 * off_j spread the sensors over the interval.
 * With --rate, messages go out at that rate instead, in rounds of all the
 * sensors.  Round k covers [live0 + k * step, + step), step being the
 * round's duration in whole seconds (1 to interval): timestamps keep pace
 * with the clock, as the daemon refuses readings far ahead of it, unless
 * more than one round goes out a second, and stay distinct per sensor.
 */
static int
synth_run(const struct opts *o, struct pub *p, int64_t mono0)
{
	struct synth s;
	uint64_t sent = 0, live_sent = 0;
	int64_t nback = o->backfill_h * 3600 / BACKFILL_PERIOD;
	int64_t live_mono0, dur_end, due, step = o->interval;
	int rc = AQ_OK;

	synth_init(&s, o, (int64_t)time(NULL));
	if (o->verbose && !o->fault_free) {
		char cell[CELL_ID_MAX], stuck[SENSOR_ID_MAX],
		    offline[SENSOR_ID_MAX] = "none";

		synth_names(&s, s.stuck, cell, stuck);
		if (s.offline != UINT32_MAX)
			synth_names(&s, s.offline, cell, offline);
		sim_warnx("faults: %s stuck %02d:00-%02d:00 UTC+8 daily; %s "
			  "offline after the back-fill; hour-long dropouts",
		    stuck, s.stuck_hour, s.stuck_hour + 4, offline);
	}

	for (int64_t k = 0; k < nback && rc == AQ_OK; k++) {
		int64_t ts = s.start + k * BACKFILL_PERIOD;

		for (uint32_t j = 0; j < s.nsensors && rc == AQ_OK; j++) {
			if (got_term || (o->count > 0 && sent >= o->count))
				goto out;
			if (synth_silent(&s, j, ts, false))
				continue;
			if ((rc = synth_send(&s, p, j, ts, BACKFILL_PERIOD)) ==
			    AQ_OK)
				sent++;
		}
	}
	if (rc != AQ_OK || !o->live)
		goto out;
	if (o->verbose)
		sim_warnx("back-fill done: %" PRIu64 " messages; live", sent);

	if (o->rate >= 0) {
		step = o->rate > 0 ? (int64_t)ceil(s.nsensors / o->rate) : 1;
		step = step < 1 ? 1 : step > o->interval ? o->interval : step;
	}
	live_mono0 = mono_ns();
	dur_end = o->duration >= 0 ? live_mono0 + (int64_t)(o->duration * 1e9)
				   : INT64_MAX;
	for (uint64_t m = 0; rc == AQ_OK; m++) {
		uint32_t j = (uint32_t)(m % s.nsensors);
		int64_t k = (int64_t)(m / s.nsensors);
		int64_t ts = s.live0 + k * step;

		if (o->rate < 0)
			ts += (int64_t)j * o->interval / s.nsensors;
		if (got_term || (o->count > 0 && sent >= o->count))
			break;
		if (synth_silent(&s, j, ts, true))
			continue;
		if (o->rate == 0)
			due = 0;
		else if (o->rate > 0)
			due = live_mono0 +
			    (int64_t)((double)live_sent * 1e9 / o->rate);
		else
			due = mono0 +
			    (int64_t)((double)(ts + o->interval - s.live0) *
				1e9 / o->speed);
		if (due >= dur_end || mono_ns() >= dur_end) {
			sleep_until(dur_end);
			break;
		}
		/* A sleep is a system call even when already due. */
		if (due > mono_ns())
			sleep_until(due);
		if (got_term)
			break;
		if ((rc = synth_send(&s, p, j, ts, step)) == AQ_OK) {
			sent++;
			live_sent++;
		}
	}
out:
	/* A stop by signal is a clean end. */
	return rc == AQ_ERR_STALE ? AQ_OK : rc;
}

/* ---- Mode replay ---- */

/*
 * Splits a CSV line in place into at most max fields, unquoting quoted
 * ones ("" inside quotes is a quote).  Returns the number of fields, or -1
 * for too many fields or a broken quote.
 */
static int
csv_split(char *line, char **f, int max)
{
	char *r = line, *w = line;
	int n = 0;
	bool more = true;

	while (more && n >= 0) {
		if (n == max) {
			n = -1;
			break;
		}
		f[n++] = w;
		if (*r == '"') {
			/* Up to the closing quote; "" is a quote. */
			for (r++; *r != '\0' && (*r != '"' || r[1] == '"');
			     r++) {
				if (*r == '"')
					r++;
				*w++ = *r;
			}
			if (*r == '\0' || (r[1] != ',' && r[1] != '\0'))
				n = -1;
			else
				r++;
		} else {
			while (*r != ',' && *r != '\0')
				*w++ = *r++;
		}
		if (n >= 0 && *r == '\0')
			more = false;
		else if (n >= 0) {
			r++;
			*w++ = '\0';
		}
	}
	*w = '\0';
	return n;
}

/* Opens a file (gzopen reads plain files as they are), reads its header
 * and its first row in range.  AQ_ERR_IO when told. */
static int
csv_open(struct csv_src *s, const char *path, const struct opts *o)
{
	int rc = AQ_ERR_IO;

	memset(s, 0, sizeof(*s));
	s->path = path;
	s->last_ts = INT64_MIN;
	errno = 0;
	if ((s->gz = gzopen(path, "rb")) == NULL) {
		sim_warnx("%s: %s", path,
		    errno != 0 ? strerror(errno) : "cannot open");
		goto out;
	}
	gzbuffer(s->gz, 64 * 1024);
	if ((rc = csv_header(s)) != AQ_OK || (rc = csv_next(s, o)) != AQ_OK)
		goto out;
	if (s->station[0] == '\0')
		sim_warnx("%s: no rows in range", path);
out:
	return rc;
}

static int
csv_header(struct csv_src *s)
{
	char *f[CSV_FIELDS_MAX];
	int n, rc = AQ_ERR_IO;

	s->lineno = 1;
	if (gzgets(s->gz, s->line, sizeof(s->line)) == NULL) {
		sim_warnx("%s: empty file", s->path);
		goto out;
	}
	s->line[strcspn(s->line, "\r\n")] = '\0';
	if ((n = csv_split(s->line, f, CSV_FIELDS_MAX)) < 0) {
		sim_warnx("%s:1: unreadable header", s->path);
		goto out;
	}
	s->ncols = n;
	for (int c = 0; c < C_COUNT; c++) {
		s->col[c] = -1;
		for (int k = 0; k < n; k++)
			if (strcmp(f[k], col_names[c]) == 0)
				s->col[c] = k;
	}
	for (int c = C_YEAR; c <= C_STATION; c++) {
		if (s->col[c] < 0 && (c <= C_HOUR || c == C_STATION)) {
			sim_warnx("%s:1: no column \"%s\" (not a Beijing "
				  "multi-site CSV file)",
			    s->path, col_names[c]);
			goto out;
		}
	}
	rc = AQ_OK;
out:
	return rc;
}

/*
 * Reads up to the next row in the --from/--to range and parses it; clears
 * has_row at the end of the file.  Bad rows and values are skipped and
 * told; only unreadable files fail (AQ_ERR_IO).
 */
static int
csv_next(struct csv_src *s, const struct opts *o)
{
	char *f[CSV_FIELDS_MAX];
	bool keep = false;
	size_t len;
	int n, err, rc = AQ_OK;

	while (!keep && s->gz != NULL && rc == AQ_OK) {
		if (gzgets(s->gz, s->line, sizeof(s->line)) == NULL) {
			/* Z_BUF_ERROR: a gzip stream cut short. */
			(void)gzerror(s->gz, &err);
			if (err != Z_OK) {
				sim_warnx(
				    "%s: %s", s->path, gzerror(s->gz, &err));
				rc = AQ_ERR_IO;
			} else if (s->problems > CSV_WARN_MAX) {
				sim_warnx("%s: %u problems in all", s->path,
				    s->problems);
			}
			gzclose(s->gz);
			s->gz = NULL;
			break;
		}
		s->lineno++;
		len = strlen(s->line);
		if (len + 1 == sizeof(s->line) && s->line[len - 1] != '\n') {
			sim_warnx("%s:%ld: line too long", s->path, s->lineno);
			rc = AQ_ERR_IO;
			break;
		}
		s->line[strcspn(s->line, "\r\n")] = '\0';
		if (s->line[0] == '\0')
			continue;
		n = csv_split(s->line, f, CSV_FIELDS_MAX);
		if (n != s->ncols)
			csv_problem(
			    s, "%d fields, not %d; row skipped", n, s->ncols);
		else
			rc = csv_parse_row(s, f, o, &keep);
	}
	s->has_row = keep && rc == AQ_OK;
	return rc;
}

static void
csv_problem(struct csv_src *s, const char *fmt, ...)
{
	va_list ap;

	if (++s->problems > CSV_WARN_MAX)
		return;
	va_start(ap, fmt);
	fprintf(stderr, PROG ": %s:%ld: ", s->path, s->lineno);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/*
 * One data row into s->ts and s->val[].  The data set does not say whether
 * hour H labels the hour starting or ending at H; it is taken here as the
 * START of the hour, in Beijing time (UTC+8, no daylight saving), so the
 * row "2013,12,30,0" is the reading {"ts":<2013-12-30T00:00+08:00>,
 * "period":3600}.  *keep is false for a row outside --from/--to or
 * without any value.
 */
static int
csv_parse_row(struct csv_src *s, char **f, const struct opts *o, bool *keep)
{
	int32_t date;
	int hour, rc = AQ_OK;

	*keep = false;
	if (!csv_row_time(s, f, &date, &hour) || date < o->from || date > o->to)
		goto out;
	if (s->station[0] == '\0') {
		if ((rc = csv_station(s, f[s->col[C_STATION]])) != AQ_OK)
			goto out;
	} else if (strcmp(f[s->col[C_STATION]], s->station) != 0 &&
	    !s->warned_station) {
		s->warned_station = true;
		csv_problem(s, "station '%.32s' in %s's file; published as %s",
		    f[s->col[C_STATION]], s->station, s->sensor);
	}
	s->ts = tz_days_from_date(date) * DAY_S + (int64_t)hour * 3600 -
	    LOCAL_OFFSET;
	if (s->ts <= s->last_ts && !s->warned_order) {
		s->warned_order = true;
		csv_problem(s, "rows out of time order; the merge is too");
	}
	s->last_ts = s->ts;
	/* A row of nothing but NA says nothing a reading could carry. */
	*keep = csv_row_values(s, f);
out:
	return rc;
}

/* The row's local date (yyyymmdd) and hour; false (told) if bad. */
static bool
csv_row_time(struct csv_src *s, char **f, int32_t *date, int *hour)
{
	static const char *const tname[] = {"year", "month", "day", "hour"};
	char datebuf[32];
	long long t[4];
	bool ok = true;

	for (int k = 0; k < 4 && ok; k++) {
		ok = parse_int(f[s->col[C_YEAR + k]], 0, 9999, &t[k]) == AQ_OK;
		if (!ok)
			csv_problem(s, "bad %s '%.32s'; row skipped", tname[k],
			    f[s->col[C_YEAR + k]]);
	}
	if (ok) {
		snprintf(datebuf, sizeof(datebuf), "%04lld-%02lld-%02lld", t[0],
		    t[1], t[2]);
		ok = tz_parse_date(datebuf, date) == AQ_OK && t[3] <= 23;
		if (!ok)
			csv_problem(s, "bad date %s hour %lld; row skipped",
			    datebuf, t[3]);
		*hour = (int)t[3];
	}
	return ok;
}

/* The file's station, from its first row in range, names its sensor. */
static int
csv_station(struct csv_src *s, const char *name)
{
	int rc = AQ_ERR_IO;

	if (strlen(name) + 3 >= STATION_MAX || !valid_name(name)) {
		sim_warnx("%s:%ld: station '%.32s' is no sensor name", s->path,
		    s->lineno, name);
		goto out;
	}
	snprintf(s->station, sizeof(s->station), "%s", name);
	snprintf(s->sensor, sizeof(s->sensor), "st-%s", name);
	for (char *c = s->sensor; *c != '\0'; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	rc = AQ_OK;
out:
	return rc;
}

/*
 * The row's values into s->val[]: numbers as exact decimals (the text that
 * reaches the broker is the CSV's, CO scaled, never a binary float's), rh
 * from TEMP and DEWP, wd from the compass point.  NA and bad values are
 * left out.  Returns whether any value is present.
 */
static bool
csv_row_values(struct csv_src *s, char **f)
{
	int64_t v, temp = 0, dewp = 0;
	bool has_temp = false, has_dewp = false, any = false;
	const char *text;
	size_t k;

	memset(s->has, 0, sizeof(s->has));
	for (k = 0; k < NCSV_VALUES; k++) {
		enum col c = csv_values[k].col;
		enum field fl = csv_values[k].f;

		if (s->col[c] < 0 || strcmp((text = f[s->col[c]]), "NA") == 0)
			continue;
		if (!csv_number(text, &v) ||
		    fix_muldiv_round(v, 1, csv_values[k].div, &v) != AQ_OK) {
			csv_problem(s, "bad %s '%.32s'; value skipped",
			    col_names[c], text);
			continue;
		}
		if (c == C_TEMP) {
			temp = v;
			has_temp = true;
		}
		fix_format(v, s->val[fl], sizeof(s->val[fl]));
		s->has[fl] = any = true;
	}
	if (s->col[C_DEWP] >= 0 &&
	    strcmp((text = f[s->col[C_DEWP]]), "NA") != 0) {
		has_dewp = csv_number(text, &dewp);
		if (!has_dewp)
			csv_problem(s, "bad DEWP '%.32s'; rh skipped", text);
	}
	if (has_temp && has_dewp) {
		/* Relative humidity from the dew point (Magnus formula,
		 * Alduchov and Eskridge 1996 coefficients). */
		double tc = fix_to_double(temp), td = fix_to_double(dewp);
		double rh = 100 *
		    exp(17.625 * td / (243.04 + td) -
			17.625 * tc / (243.04 + tc));

		format_num(
		    fmin(rh, 100), 1, s->val[F_RH], sizeof(s->val[F_RH]));
		s->has[F_RH] = true;
	}
	if (s->col[C_WD] >= 0 && strcmp((text = f[s->col[C_WD]]), "NA") != 0) {
		for (k = 0; k < NCOMPASS && strcmp(compass[k].name, text); k++)
			;
		if (k < NCOMPASS) {
			snprintf(s->val[F_WD], sizeof(s->val[F_WD]), "%s",
			    compass[k].deg);
			s->has[F_WD] = any = true;
		} else {
			csv_problem(s, "bad wd '%.32s'; value skipped", text);
		}
	}
	return any;
}

/*
 * A whole field that is a number.  Plain decimals are taken exactly.  The
 * data set also has a TEMP of "-2.77555756156289e-17" (2017-01-26 23:00 in
 * seven files), a float residue of 0; numbers in exponent form are rounded
 * to the nine decimals fix keeps.
 */
static bool
csv_number(const char *text, int64_t *v)
{
	const char *end;
	char *dend;
	double d;
	bool ok;

	ok = fix_parse(text, &end, v) == AQ_OK && *end == '\0';
	if (!ok && strpbrk(text, "eE") != NULL) {
		d = strtod(text, &dend);
		ok = dend != text && *dend == '\0' &&
		    fix_from_double(d, v) == AQ_OK;
	}
	return ok;
}

static void
csv_close(struct csv_src *s)
{
	if (s->gz != NULL)
		gzclose(s->gz);
	s->gz = NULL;
}

/*
 * Opens every file and gives each station its cell.  AQ_ERR_INVAL for a
 * --cell naming no file's station (told as a usage error), AQ_ERR_IO for
 * a file failure.
 */
static int
replay_open(struct replay *r, struct opts *o)
{
	int rc = AQ_ERR_IO;

	if ((r->src = calloc((size_t)o->nfiles, sizeof(*r->src))) == NULL) {
		sim_warnx("out of memory");
		goto out;
	}
	for (int k = 0; k < o->nfiles; k++) {
		struct csv_src *s = &r->src[k];
		int m;

		r->n = k + 1;
		if ((rc = csv_open(s, o->files[k], o)) != AQ_OK)
			goto out;
		for (m = 0; m < o->nmap; m++)
			if (strcasecmp(o->map[m].station, s->station) == 0)
				break;
		if (m < o->nmap) {
			o->map[m].used = true;
			snprintf(
			    s->cell, sizeof(s->cell), "%s", o->map[m].cell);
		} else if (k < GRID_MAX) {
			/* k < 1000: the modulo only tells the compiler. */
			snprintf(s->cell, sizeof(s->cell), "r000c%03u",
			    (unsigned)k % GRID_MAX);
		} else {
			sim_warnx("%s: more than %d files: give it a --cell",
			    s->path, GRID_MAX);
			rc = AQ_ERR_IO;
			goto out;
		}
	}
	for (int m = 0; m < o->nmap; m++) {
		if (!o->map[m].used) {
			usage_error("--cell: no file has station '%s'",
			    o->map[m].station);
			rc = AQ_ERR_INVAL;
			goto out;
		}
	}
	rc = AQ_OK;
out:
	return rc;
}

/*
 * Publishes the rows of all files merged by time (ties in file order).
 * With --speed, row times are paced at X event seconds per real second
 * from the first row.
 */
static int
replay_run(struct replay *r, const struct opts *o, struct pub *p)
{
	uint64_t sent = 0;
	int64_t ts0 = 0, w0 = 0;
	int rc = AQ_OK;

	while (rc == AQ_OK && !got_term && (o->count == 0 || sent < o->count)) {
		struct csv_src *best = NULL;

		for (int k = 0; k < r->n; k++)
			if (r->src[k].has_row &&
			    (best == NULL || r->src[k].ts < best->ts))
				best = &r->src[k];
		if (best == NULL)
			break;
		if (!o->fast) {
			if (sent == 0) {
				ts0 = best->ts;
				w0 = mono_ns();
			}
			sleep_until(w0 +
			    (int64_t)((double)(best->ts - ts0) * 1e9 /
				o->speed));
			if (got_term)
				break;
		}
		rc = publish_reading(p, o, best->cell, best->sensor, best->ts,
		    3600, best->has, best->val);
		if (rc == AQ_OK) {
			sent++;
			rc = csv_next(best, o);
		}
	}
	return rc == AQ_ERR_STALE ? AQ_OK : rc;
}

static void
replay_close(struct replay *r)
{
	for (int k = 0; k < r->n; k++)
		csv_close(&r->src[k]);
	free(r->src);
	r->src = NULL;
	r->n = 0;
}

/* ---- Mode hj212 ---- */

/* Allocates the loggers and lays out their schedule (see struct hj_run). */
static int
hj_init(struct hj_run *h, const struct opts *o)
{
	int64_t now = (int64_t)time(NULL), base, l0;
	uint64_t n = (uint64_t)o->loggers, hours = (uint64_t)o->backfill_h;
	int width = HJ_MN_LEN - (int)strlen(o->mn_prefix);
	int rc = AQ_ERR_NOMEM;

	memset(h, 0, sizeof(*h));
	h->o = o;
	h->n = (uint32_t)n;
	synth_init(&h->s, o, now);
	h->dur_end = INT64_MAX;
	if ((h->lg = calloc(n, sizeof(*h->lg))) == NULL ||
	    (h->pfd = calloc(n, sizeof(*h->pfd))) == NULL) {
		sim_warnx("out of memory");
		goto out;
	}
	base = o->start_set ? o->start : now - o->backfill_h * HJ_HOUR;
	h->bf0 = floor_div(base, HJ_HOUR) * HJ_HOUR;
	l0 = base + o->backfill_h * HJ_HOUR;
	if (o->cn == HJ_CN_HOUR) {
		/* Hourly data follow the back-fill, or else start with the
		 * last whole hour (the hour of --start). */
		h->live0 = o->backfill_h > 0
		    ? h->bf0 + o->backfill_h * HJ_HOUR
		    : floor_div(l0, HJ_HOUR) * HJ_HOUR -
			(o->start_set ? 0 : HJ_HOUR);
		h->step = HJ_HOUR;
	} else {
		h->live0 = l0;
		h->step = o->interval;
		if (o->rate == 0)
			h->step = 1;
		else if (o->rate > 0)
			h->step = (int64_t)ceil((double)n / o->rate);
		h->step = h->step < 1       ? 1
		    : h->step > o->interval ? o->interval
					    : h->step;
	}
	for (uint64_t k = 0; k < n; k++) {
		struct hj_logger *l = &h->lg[k];

		l->fd = -1;
		l->backoff_ms = HJ_BACKOFF_MIN_MS;
		/* A prefix of 23 and 5 digits at most: it fits. */
		if (snprintf(l->mn, sizeof(l->mn), "%s%0*" PRIu64, o->mn_prefix,
			width, k + 1) >= (int)sizeof(l->mn))
			goto out;
		/* Frame m of --count goes to logger m mod N. */
		l->limit = o->count == 0 ? UINT64_MAX
		    : o->count > k       ? (o->count - 1 - k) / n + 1
					 : 0;
		if (!o->live && l->limit > hours)
			l->limit = hours;
	}
	rc = AQ_OK;
out:
	return rc;
}

static void
hj_fini(struct hj_run *h)
{
	for (uint32_t k = 0; h->lg != NULL && k < h->n; k++)
		if (h->lg[k].fd >= 0)
			close(h->lg[k].fd);
	free(h->lg);
	free(h->pfd);
	h->lg = NULL;
	h->pfd = NULL;
}

/* yyyyMMddHHmmss in UTC+8, HJ 212's local time. */
static void
hj_local(int64_t ts, char *buf, size_t len)
{
	time_t t = (time_t)(ts + LOCAL_OFFSET);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y%m%d%H%M%S", &tm) == 0)
		snprintf(buf, len, "00000000000000");
}

/* The DataTime and command of logger j's frame r. */
static void
hj_when(const struct hj_run *h, uint32_t j, uint64_t r, int64_t *ts, int *cn)
{
	const struct opts *o = h->o;
	uint64_t hours = (uint64_t)o->backfill_h;
	int64_t k = (int64_t)(r - hours);

	if (r < hours) {
		*ts = h->bf0 + (int64_t)r * HJ_HOUR;
		*cn = HJ_CN_HOUR;
		return;
	}
	*cn = o->cn;
	*ts = h->live0 + k * h->step;
	if (o->cn == HJ_CN_RTD && o->rate < 0)
		*ts += (int64_t)j * o->interval / h->n;
}

/* When logger j's frame r may go, on CLOCK_MONOTONIC; INT64_MAX for live
 * frames before the back-fill is over. */
static int64_t
hj_due(const struct hj_run *h, uint32_t j, uint64_t r)
{
	const struct opts *o = h->o;
	uint64_t hours = (uint64_t)o->backfill_h;
	int64_t k = (int64_t)(r - hours);

	if (r < hours)
		return 0;
	if (!h->live_started)
		return INT64_MAX;
	if (o->rate == 0)
		return h->live_mono0;
	if (o->rate > 0)
		return h->live_mono0 +
		    (int64_t)((double)(k * h->n + j) * 1e9 / o->rate);
	return h->live_mono0 + k * o->interval * 1000000000 +
	    (int64_t)j * o->interval * 1000000000 / h->n;
}

/*
 * Logger j's frame r with request id qn into buf: "##", the data length,
 * the data segment, its CRC and CR LF.  Returns its length, 0 if it does
 * not fit.
 */
static size_t
hj_make(const struct hj_run *h, uint32_t j, uint64_t r, const char *qn,
    char *buf, size_t len)
{
	const struct opts *o = h->o;
	char data[HJ_FRAME_MAX], when[16], num[NUM_MAX];
	double v[F_COUNT];
	size_t off = 0;
	int64_t ts;
	int cn, n, rc;

	hj_when(h, j, r, &ts, &cn);
	hj_local(ts, when, sizeof(when));
	synth_field(&h->s, j % h->s.nsensors, ts, v);
	rc = append(data, sizeof(data), &off,
	    "QN=%s;ST=%d;CN=%d;PW=%s;MN=%s;Flag=%d;CP=&&DataTime=%s", qn, HJ_ST,
	    cn, o->password, h->lg[j].mn, o->ack ? 5 : 4, when);
	for (size_t k = 0; k < HJ_NCODES && rc == AQ_OK; k++) {
		enum field f = hj_codes[k].f;

		format_num(v[f], fields[f].decimals, num, sizeof(num));
		rc = append(data, sizeof(data), &off, ";%s-%s=%s,%s-Flag=N",
		    hj_codes[k].code, cn == HJ_CN_HOUR ? "Avg" : "Rtd", num,
		    hj_codes[k].code);
	}
	if (rc == AQ_OK)
		rc = append(data, sizeof(data), &off, "&&");
	if (rc != AQ_OK || off > HJ212_DATA_MAX)
		return 0;
	n = snprintf(buf, len, "##%04zu%s%04X\r\n", off, data,
	    (unsigned)hj212_crc(data, off));
	return n > 0 && (size_t)n < len ? (size_t)n : 0;
}

/* A new request id: the frame's DataTime to the millisecond, later than
 * the logger's last one so that every QN answers one frame. */
static void
hj_next_qn(struct hj_logger *l, int64_t ts, struct hj_frame *f)
{
	int64_t ms = ts * 1000 > l->last_qn ? ts * 1000 : l->last_qn + 1;

	l->last_qn = ms;
	hj_local(floor_div(ms, 1000), f->qn, sizeof(f->qn));
	snprintf(f->qn + 14, sizeof(f->qn) - 14, "%03d",
	    (int)(ms - floor_div(ms, 1000) * 1000));
}

/* Whether logger l may make its next frame now. */
static bool
hj_can_make(const struct hj_run *h, const struct hj_logger *l, int64_t now)
{
	uint32_t j = (uint32_t)(l - h->lg);
	int64_t due;

	if (got_term || l->made >= l->limit || l->nwin >= HJ_WINDOW)
		return false;
	due = hj_due(h, j, l->made);
	return due <= now &&
	    (l->made < (uint64_t)h->o->backfill_h || due < h->dur_end);
}

/* Appends frame f of logger j to its output, with the pieces of
 * --split. */
static int
hj_queue(struct hj_run *h, uint32_t j, struct hj_frame *f)
{
	struct hj_logger *l = &h->lg[j];
	size_t base = l->out_len, len, dlen;
	int rc = AQ_ERR_RANGE;

	len = hj_make(h, j, f->r, f->qn, l->out + base, sizeof(l->out) - base);
	if (len == 0) {
		sim_warnx("%s: frame too long", l->mn);
		goto out;
	}
	if (h->o->split) {
		dlen = len - 12;
		l->cuts[l->ncuts++] = base + 3;
		l->cuts[l->ncuts++] = base + 6 + dlen / 2;
		l->cuts[l->ncuts++] = base + 6 + dlen + 2;
		l->cuts[l->ncuts++] = base + 6 + dlen + 4;
		l->cuts[l->ncuts++] = base + len - 1;
		l->cuts[l->ncuts++] = base + len;
	}
	f->queued = true;
	f->start = base;
	f->end = base + len;
	l->out_len += len;
	rc = AQ_OK;
out:
	return rc;
}

/* Makes the frames logger j may send now, into its emptied output. */
static int
hj_fill(struct hj_run *h, uint32_t j, int64_t now)
{
	struct hj_logger *l = &h->lg[j];
	int rc = AQ_OK;

	l->out_len = l->out_off = 0;
	l->ncuts = l->cut = 0;
	while (rc == AQ_OK && hj_can_make(h, l, now)) {
		struct hj_frame *f = &l->win[l->nwin];
		int64_t ts;
		int cn;

		memset(f, 0, sizeof(*f));
		f->r = l->made;
		hj_when(h, j, f->r, &ts, &cn);
		hj_next_qn(l, ts, f);
		if ((rc = hj_queue(h, j, f)) == AQ_OK) {
			l->nwin++;
			l->made++;
		}
	}
	return rc;
}

/* Frame f, in logger l's output, is out: counted (once), and shown with
 * -v. */
static void
hj_sent(struct hj_run *h, const struct hj_logger *l, struct hj_frame *f)
{
	f->written = true;
	h->sent++;
	if (h->o->verbose)
		printf("%s %.*s\n", l->mn, (int)(f->end - f->start - 2),
		    l->out + f->start);
}

/* Writes what logger j's output holds, a piece at a time with --split;
 * frames written in full count as sent. */
static void
hj_flush(struct hj_run *h, uint32_t j, int64_t now)
{
	struct hj_logger *l = &h->lg[j];
	ssize_t n = 0;
	int k, kept;

	while (l->up && l->out_off < l->out_len && now >= l->gap_until) {
		size_t end = l->cut < l->ncuts ? l->cuts[l->cut] : l->out_len;

		n = write(l->fd, l->out + l->out_off, end - l->out_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			hj_lost(h, j, errno, now);
			return;
		}
		l->out_off += (size_t)n;
		if (l->cut < l->ncuts && l->out_off == l->cuts[l->cut]) {
			l->cut++;
			if (l->out_off < l->out_len)
				l->gap_until = now + HJ_GAP_NS;
		}
	}
	for (k = kept = 0; k < l->nwin; k++) {
		struct hj_frame *f = &l->win[k];

		if (f->queued && f->end <= l->out_off) {
			f->queued = false;
			f->written_ns = now;
			if (!f->written)
				hj_sent(h, l, f);
		}
		/* Without acknowledgements a frame is done once written. */
		if (h->o->ack || f->queued || !f->written)
			l->win[kept++] = *f;
	}
	l->nwin = kept;
}

/*
 * What starts at buf (len bytes, at a '#'): HJ_MORE for the start of a
 * frame still incomplete, HJ_BAD for no frame (bad framing, length or
 * CRC), or the frame's total length with its data length in *dlen.
 */
static long
hj_scan(const char *buf, size_t len, size_t *dlen)
{
	size_t d = 0, total;
	char crc[5];

	for (size_t k = 1; k < 6; k++) {
		if (k >= len)
			return HJ_MORE;
		if (k == 1 ? buf[k] != '#' : buf[k] < '0' || buf[k] > '9')
			return HJ_BAD;
		if (k > 1)
			d = d * 10 + (size_t)(buf[k] - '0');
	}
	total = d + 12;
	if (total > HJ_IN_MAX)
		return HJ_BAD;
	if (len < total)
		return HJ_MORE;
	snprintf(crc, sizeof(crc), "%04X", (unsigned)hj212_crc(buf + 6, d));
	if (strncasecmp(buf + 6 + d, crc, 4) != 0 || buf[total - 2] != '\r' ||
	    buf[total - 1] != '\n')
		return HJ_BAD;
	*dlen = d;
	return (long)total;
}

/* Reads logger j's connection and takes the answers it holds: whole
 * frames with a good CRC; anything else is skipped and counted. */
static void
hj_read(struct hj_run *h, uint32_t j)
{
	struct hj_logger *l = &h->lg[j];
	size_t p = 0, dlen = 0;
	const char *hash;
	ssize_t n;
	long got;

	n = read(l->fd, l->in + l->in_len, sizeof(l->in) - l->in_len);
	if (n < 0 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		hj_lost(h, j, n < 0 ? errno : 0, mono_ns());
		return;
	}
	l->in_len += (size_t)n;
	while ((hash = memchr(l->in + p, '#', l->in_len - p)) != NULL) {
		p = (size_t)(hash - l->in);
		got = hj_scan(l->in + p, l->in_len - p, &dlen);
		if (got == HJ_MORE)
			break;
		if (got == HJ_BAD) {
			/* Counted once per frame, at its "##". */
			h->refused += p + 1 < l->in_len && l->in[p + 1] == '#';
			p++;
			continue;
		}
		hj_answer(h, j, l->in + p + 6, dlen);
		p += (size_t)got;
	}
	if (hash == NULL)
		p = l->in_len;
	memmove(l->in, l->in + p, l->in_len - p);
	l->in_len -= p;
}

/*
 * One answer of logger j's listener: a data acknowledgement (CN 9014)
 * takes the frame of its QN off the window; one whose QN answers no frame
 * there is counted as refused.  Other commands are let be.
 */
static void
hj_answer(struct hj_run *h, uint32_t j, const char *d, size_t n)
{
	struct hj_logger *l = &h->lg[j];
	const char *end = d + n, *qn = NULL, *p = d, *semi;
	size_t qn_len = 0;
	bool ack = false;
	int k;

	while (p < end && (size_t)(end - p) >= 3 && strncmp(p, "CP=", 3) != 0) {
		semi = memchr(p, ';', (size_t)(end - p));
		semi = semi != NULL ? semi : end;
		if (semi - p > 3 && strncmp(p, "QN=", 3) == 0) {
			qn = p + 3;
			qn_len = (size_t)(semi - qn);
		} else if (semi - p == 7 && strncmp(p, "CN=9014", 7) == 0) {
			/* The data acknowledgement. */
			ack = true;
		}
		p = semi + 1;
	}
	if (!ack)
		return;
	/* A listener may answer once the CRC is in, before the CR LF: a
	 * frame partly written counts. */
	for (k = 0; k < l->nwin; k++)
		if (qn != NULL &&
		    (l->win[k].written ||
			(l->win[k].queued && l->out_off > l->win[k].start)) &&
		    strlen(l->win[k].qn) == qn_len &&
		    memcmp(l->win[k].qn, qn, qn_len) == 0)
			break;
	if (k == l->nwin) {
		h->refused++;
		return;
	}
	if (!l->win[k].written)
		hj_sent(h, l, &l->win[k]);
	memmove(&l->win[k], &l->win[k + 1],
	    (size_t)(l->nwin - k - 1) * sizeof(l->win[0]));
	l->nwin--;
	h->acked++;
}

/* Frames written and unanswered past --ack-timeout leave the window. */
static void
hj_expire(struct hj_run *h, uint32_t j, int64_t now)
{
	struct hj_logger *l = &h->lg[j];
	int64_t limit = h->o->ack_timeout * 1000000000;
	int k, kept;

	for (k = kept = 0; k < l->nwin; k++) {
		const struct hj_frame *f = &l->win[k];

		if (f->written && !f->queued && now - f->written_ns > limit)
			h->expired++;
		else
			l->win[kept++] = *f;
	}
	l->nwin = kept;
}

/* Starts logger j's connection.  Returns 0 or an errno value. */
static int
hj_connect(struct hj_run *h, uint32_t j)
{
	struct hj_logger *l = &h->lg[j];
	int one = 1, fd, err = 0;

	if ((fd = socket(h->addr.ss_family, SOCK_STREAM, 0)) < 0)
		return errno;
	/* Small frames must go out at once, each --split piece alone. */
	if (fcntl(fd, F_SETFL, O_NONBLOCK) != 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
		err = errno;
	else if (connect(fd, (struct sockaddr *)&h->addr, h->addrlen) != 0 &&
	    errno != EINPROGRESS)
		err = errno;
	if (err != 0) {
		close(fd);
		return err;
	}
	l->fd = fd;
	l->connecting = true;
	return 0;
}

/* Logger j's connection is up: its unanswered frames go again. */
static int
hj_connected(struct hj_run *h, uint32_t j)
{
	struct hj_logger *l = &h->lg[j];
	int rc = AQ_OK;

	l->connecting = false;
	l->up = true;
	l->backoff_ms = HJ_BACKOFF_MIN_MS;
	l->in_len = l->out_len = l->out_off = 0;
	l->ncuts = l->cut = 0;
	l->gap_until = 0;
	for (int k = 0; k < l->nwin && rc == AQ_OK; k++)
		rc = hj_queue(h, j, &l->win[k]);
	if (l->retry_at != 0 && h->ndown > 0 && --h->ndown == 0)
		sim_warnx("connected again");
	l->retry_at = 0;
	return rc;
}

/* Logger j's connection failed or went: try again after the back-off.
 * The first of a wave of losses is told. */
static void
hj_lost(struct hj_run *h, uint32_t j, int err, int64_t now)
{
	struct hj_logger *l = &h->lg[j];

	if (l->up && h->ndown++ == 0)
		sim_warnx("%s: connection lost (%s), reconnecting", l->mn,
		    err != 0 ? strerror(err) : "closed by the listener");
	h->lost += l->up;
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	l->up = l->connecting = false;
	l->in_len = l->out_len = l->out_off = 0;
	l->ncuts = l->cut = 0;
	for (int k = 0; k < l->nwin; k++)
		l->win[k].queued = false;
	l->retry_at = now + (int64_t)l->backoff_ms * 1000000;
	l->backoff_ms = l->backoff_ms * 2 > HJ_BACKOFF_MAX_MS
	    ? HJ_BACKOFF_MAX_MS
	    : l->backoff_ms * 2;
}

/*
 * Resolves the listener, makes room for the descriptors and connects
 * every logger.  AQ_ERR_IO (told) unless all of them are connected within
 * HJ_CONNECT_WAIT_S.
 */
static int
hj_start(struct hj_run *h)
{
	const struct opts *o = h->o;
	struct addrinfo hints, *ai = NULL;
	struct rlimit rl;
	char port[16];
	rlim_t need = (rlim_t)h->n + 64;
	int64_t deadline = mono_ns() + (int64_t)HJ_CONNECT_WAIT_S * 1000000000;
	uint32_t nup = 0;
	int err, rc = AQ_ERR_IO;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%d", o->hj_port);
	if ((err = getaddrinfo(o->hj_host, port, &hints, &ai)) != 0) {
		sim_warnx("%s: %s", o->hj_host, gai_strerror(err));
		goto out;
	}
	memcpy(&h->addr, ai->ai_addr, ai->ai_addrlen);
	h->addrlen = ai->ai_addrlen;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need) {
		rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
		if (rl.rlim_cur < need || setrlimit(RLIMIT_NOFILE, &rl) != 0) {
			sim_warnx("%u loggers: more than the open files "
				  "limit allows",
			    h->n);
			goto out;
		}
	}
	for (uint32_t k = 0; k < h->n && err == 0; k++)
		err = hj_connect(h, k);
	while (err == 0 && nup < h->n && !got_term && mono_ns() < deadline) {
		for (uint32_t k = 0; k < h->n; k++) {
			h->pfd[k].fd = h->lg[k].connecting ? h->lg[k].fd : -1;
			h->pfd[k].events = POLLOUT;
			h->pfd[k].revents = 0;
		}
		if (poll(h->pfd, h->n, POLL_MS) < 0 && errno != EINTR) {
			err = errno;
			break;
		}
		for (uint32_t k = 0; k < h->n && err == 0; k++) {
			socklen_t len = sizeof(err);

			if (h->pfd[k].revents == 0)
				continue;
			if (getsockopt(h->lg[k].fd, SOL_SOCKET, SO_ERROR, &err,
				&len) != 0)
				err = errno;
			if (err == 0 && (rc = hj_connected(h, k)) != AQ_OK)
				goto out;
			nup += err == 0;
		}
	}
	rc = AQ_ERR_IO;
	if (err != 0)
		sim_warnx("cannot connect to %s:%d: %s", o->hj_host, o->hj_port,
		    strerror(err));
	else if (got_term)
		sim_warnx("interrupted while connecting to %s:%d", o->hj_host,
		    o->hj_port);
	else if (nup < h->n)
		sim_warnx("%u of %u loggers not connected to %s:%d within "
			  "%d s",
		    h->n - nup, h->n, o->hj_host, o->hj_port,
		    HJ_CONNECT_WAIT_S);
	else
		rc = AQ_OK;
out:
	if (ai != NULL)
		freeaddrinfo(ai);
	return rc;
}

static void
hj_go_live(struct hj_run *h, int64_t now)
{
	h->live_started = true;
	h->live_mono0 = now;
	if (h->o->duration >= 0)
		h->dur_end = now + (int64_t)(h->o->duration * 1e9);
	if (h->o->verbose && h->o->backfill_h > 0 && h->o->live)
		sim_warnx("back-fill done; live");
}

/* Whether every logger has made its back-fill frames. */
static bool
hj_backfill_done(const struct hj_run *h)
{
	uint64_t hours = (uint64_t)h->o->backfill_h;

	for (uint32_t k = 0; k < h->n; k++)
		if (h->lg[k].made < hours && h->lg[k].made < h->lg[k].limit)
			return false;
	return true;
}

/*
 * The loop: each round makes and writes what the loggers may send,
 * reconnects the ones whose back-off is over, then polls until the next
 * thing due.  It ends when every frame is made and answered (or given
 * up), after a signal once the frames written are answered, or when
 * nothing has moved for longer than --ack-timeout with nothing left to
 * make.
 */
static int
hj_loop(struct hj_run *h)
{
	const struct opts *o = h->o;
	const int64_t ack_ns = o->ack_timeout * 1000000000;
	int64_t idle_since = mono_ns(), now;
	uint64_t moved = UINT64_MAX;
	int rc = AQ_OK;

	while (rc == AQ_OK && !got_abort) {
		bool making, more = false, pending = false;
		int64_t wake;
		uint64_t m;
		int timeout;

		now = mono_ns();
		if (!h->live_started && hj_backfill_done(h))
			hj_go_live(h, now);
		making = !got_term && !(h->live_started && now >= h->dur_end);
		wake = now + (int64_t)POLL_MS * 1000000;
		for (uint32_t j = 0; j < h->n && rc == AQ_OK; j++)
			rc = hj_step(h, j, now, making, &wake, &more, &pending);
		if (rc != AQ_OK || (!more && !pending))
			break;
		/* Nothing moving: a listener that no longer answers, or
		 * loggers that cannot reconnect. */
		m = h->sent + h->acked + h->expired + h->refused;
		if (m != moved) {
			moved = m;
			idle_since = now;
		} else if (!more && now - idle_since > ack_ns + 1000000000) {
			break;
		}
		timeout =
		    wake <= now ? 0 : (int)((wake - now + 999999) / 1000000);
		if (poll(h->pfd, h->n, timeout) < 0 && errno != EINTR) {
			sim_warnx("poll: %s", strerror(errno));
			rc = AQ_ERR_IO;
			break;
		}
		now = mono_ns();
		for (uint32_t j = 0; j < h->n && rc == AQ_OK; j++)
			if (h->pfd[j].revents != 0 &&
			    h->pfd[j].fd == h->lg[j].fd)
				rc = hj_event(h, j, h->pfd[j].revents, now);
	}
	return rc;
}

/*
 * Logger j's turn in a round: reconnect, make, write, give up on old
 * frames; then what it waits for goes into its pollfd and *wake.
 */
static int
hj_step(struct hj_run *h, uint32_t j, int64_t now, bool making, int64_t *wake,
    bool *more, bool *pending)
{
	const struct opts *o = h->o;
	const int64_t ack_ns = o->ack_timeout * 1000000000;
	struct hj_logger *l = &h->lg[j];
	struct pollfd *pf = &h->pfd[j];
	int64_t t;
	int err, rc = AQ_OK;

	if (l->fd < 0 && now >= l->retry_at && (making || l->nwin > 0) &&
	    (err = hj_connect(h, j)) != 0)
		hj_lost(h, j, err, now);
	if (l->up && making && l->out_off == l->out_len)
		rc = hj_fill(h, j, now);
	if (l->up && l->out_off < l->out_len)
		hj_flush(h, j, now);
	if (o->ack)
		hj_expire(h, j, now);
	*pending |= l->nwin > 0 || l->out_off < l->out_len;
	*more |= making && l->made < l->limit;

	t = INT64_MAX;
	if (l->fd < 0 && (making || l->nwin > 0))
		t = l->retry_at;
	else if (l->up && l->out_off < l->out_len)
		t = l->gap_until;
	else if (l->up && making && l->made < l->limit && l->nwin < HJ_WINDOW)
		t = hj_due(h, j, l->made);
	for (int k = 0; o->ack && k < l->nwin; k++)
		if (l->win[k].written && !l->win[k].queued &&
		    l->win[k].written_ns + ack_ns + 1 < t)
			t = l->win[k].written_ns + ack_ns + 1;
	*wake = t < *wake ? t : *wake;

	pf->fd = l->fd;
	pf->events = l->up ? POLLIN : 0;
	if (l->connecting ||
	    (l->up && l->out_off < l->out_len && now >= l->gap_until))
		pf->events |= POLLOUT;
	pf->revents = 0;
	return rc;
}

/* What poll() found on logger j's connection. */
static int
hj_event(struct hj_run *h, uint32_t j, short ev, int64_t now)
{
	struct hj_logger *l = &h->lg[j];
	socklen_t len;
	int err = 0, rc = AQ_OK;

	if (l->connecting) {
		len = sizeof(err);
		if (getsockopt(l->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
			err = errno;
		if (err == 0)
			rc = hj_connected(h, j);
		else
			hj_lost(h, j, err, now);
	} else {
		if (ev & (POLLIN | POLLERR | POLLHUP))
			hj_read(h, j);
		if (l->up && (ev & POLLOUT))
			hj_flush(h, j, now);
	}
	return rc;
}

/* Mode hj212 over TCP: exit status. */
static int
hj_tcp_main(const struct opts *o)
{
	struct hj_run h;
	uint64_t unanswered = 0;
	int status = EXIT_CONN;

	if (hj_init(&h, o) != AQ_OK || hj_start(&h) != AQ_OK)
		goto out;
	if (hj_loop(&h) == AQ_OK)
		status = EXIT_SUCCESS;
	for (uint32_t k = 0; k < h.n; k++)
		for (int f = 0; f < h.lg[k].nwin; f++)
			unanswered += h.lg[k].win[f].written;
	if (h.refused > 0)
		sim_warnx("%" PRIu64 " answers refused (bad CRC, or no frame "
			  "of their QN)",
		    h.refused);
	if (o->ack && h.expired + unanswered > 0)
		sim_warnx("%" PRIu64 " frames not acknowledged",
		    h.expired + unanswered);
	if (h.lost > 0)
		sim_warnx("%" PRIu64 " connections lost", h.lost);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		sim_warnx("writing standard output failed");
		status = EXIT_CONN;
	}
	fprintf(stderr,
	    PROG ": sent %" PRIu64 " frames (%" PRIu64 " acknowledged)\n",
	    h.sent, h.acked);
out:
	hj_fini(&h);
	return status;
}

/*
 * Mode hj212 with --mqtt: the same frames in the same order (frame m of
 * logger m mod N), one a message on PREFIX/MN.
 */
static int
hj_mqtt_run(const struct opts *o, struct pub *p)
{
	struct hj_run h;
	char frame[HJ_FRAME_MAX], topic[TOPIC_MAX];
	uint64_t hours = (uint64_t)o->backfill_h;
	int rc;

	if ((rc = hj_init(&h, o)) != AQ_OK)
		goto out;
	for (uint64_t m = 0; rc == AQ_OK; m++) {
		uint32_t j = (uint32_t)(m % h.n);
		uint64_t r = m / h.n;
		struct hj_frame f;
		int64_t ts, due;
		size_t len;
		int cn;

		if (got_term || (o->count > 0 && m >= o->count) ||
		    (!o->live && r >= hours))
			break;
		if (r >= hours && !h.live_started)
			hj_go_live(&h, mono_ns());
		due = hj_due(&h, j, r);
		if (r >= hours &&
		    (due >= h.dur_end || mono_ns() >= h.dur_end)) {
			sleep_until(h.dur_end);
			break;
		}
		if (due > mono_ns())
			sleep_until(due);
		if (got_term)
			break;
		memset(&f, 0, sizeof(f));
		hj_when(&h, j, r, &ts, &cn);
		hj_next_qn(&h.lg[j], ts, &f);
		len = hj_make(&h, j, r, f.qn, frame, sizeof(frame));
		if (len == 0 ||
		    snprintf(topic, sizeof(topic), "%s/%s", o->prefix,
			h.lg[j].mn) >= (int)sizeof(topic)) {
			sim_warnx("%s: frame too long", h.lg[j].mn);
			rc = AQ_ERR_IO;
			break;
		}
		if ((rc = pub_send(p, topic, frame, len)) == AQ_OK &&
		    o->verbose)
			printf("%s %.*s\n", topic, (int)len - 2, frame);
	}
out:
	hj_fini(&h);
	return rc == AQ_ERR_STALE ? AQ_OK : rc;
}
