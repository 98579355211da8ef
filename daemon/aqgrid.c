/*
 * aqgrid: the operator's command line.  Each subcommand is one row of
 * cmds[] (name, usage line, help text, function), so adding one touches the
 * table and one function.  aqi and nowcast compute locally and print JSON,
 * one object per input.  status, cells, cell and history ask a running
 * aqgridd over its HTTP API (libcurl) and print text for people, or with
 * --json the API's JSON (history: --csv, the API's CSV).  Exit status: 0 done;
 * 1 a failure while running (a bad standard-input line, a daemon that cannot be
 * reached or answers with an error, a write error), told in one line on stderr;
 * 2 bad arguments, told in one line on stderr with nothing on stdout.
 */
#include <curl/curl.h>
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "daemon/aqi.h"
#include "daemon/err.h"
#include "daemon/fix.h"
#include "daemon/limits.h"
#include "daemon/pol.h"
#include "daemon/tz.h"
#include "daemon/version.h"

#define EXIT_USAGE 2
/* GB 3095 is China's: "today", which picks its limit set, is China's. */
#define DEFAULT_ZONE "Asia/Shanghai"
/* A standard-input line longer than this is refused before parsing. */
#define INPUT_LINE_MAX 65536
#define REASON_MAX 512
/* Arguments are echoed in messages at most this long, escaped. */
#define SHOWN_MAX 80
#define SHOWN_BUF (SHOWN_MAX * 4 + 8)
#define NOWCAST_HOURS 12
/* A value's text with its unit, from standard input. */
#define VALUE_TEXT_MAX 128
/* Real numbers in output: enough digits for any decimal the engine keeps
 * (at most nine before and three after the point), few enough that the
 * binary noise of a double never shows ("0.071", not "0.0709999..."). */
#define DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))
/* Where status, cells and cell find the daemon, unless --url says. */
#define DEFAULT_URL "http://127.0.0.1:8080"
#define URL_ENV "AQGRID_URL"
/* The API bearer token for alerts, ack and silence, unless told. */
#define TOKEN_ENV "AQGRID_TOKEN"
/* A base URL, and one with the API path and query after it. */
#define BASE_MAX 1024
#define URL_MAX 4096
/* Seconds to connect, and for a whole request. */
#define HTTP_TIMEOUT 10L
/* An answer larger than this is refused rather than held. */
#define BODY_MAX ((size_t)64 << 20)
/* Cells asked for per page, and at most in all with --limit. */
#define PAGE_CELLS 1000
#define CELLS_LIMIT_MAX 1000000L
/* The API's own bound on min_aqi. */
#define MIN_AQI_MAX 100000L
/* Labels of "label  value" lines, padded to this width. */
#define LABEL_WIDTH 10
/* Columns of a text table, at most. */
#define TABLE_COLS_MAX 24
/* History rows asked for per page (the API's most), and the longest
 * cursor taken from an answer. */
#define HIST_PAGE 5000
#define HIST_CURSOR_MAX 64

struct cmd {
	const char *name;
	const char *usage; /* one line, after "aqgrid " */
	const char *help;  /* the details, for --help */
	int (*run)(const struct cmd *c, int argc, char **argv);
};

struct optspec {
	const char *name; /* with its leading "--" */
	bool arg;
};

/* What aqgrid aqi's options decide; the same for every input. */
struct aqi_cfg {
	struct aqi_opts aqi;
	bool report_set; /* else chosen per input, see report_for() */
	struct limits_opts lim;
	int32_t date; /* yyyymmdd */
	bool date_set;
};

enum aqi_optid {
	AO_STANDARD,
	AO_REPORT,
	AO_LIMITS,
	AO_GRADE,
	AO_DATE,
	AO_CAP,
	AO_HELP,
	AO_HELP_SHORT,
	AO_COUNT
};

enum nowcast_optid { NO_POLLUTANT, NO_HELP, NO_HELP_SHORT, NO_COUNT };

/* The options of status, cells and cell: status and cell take the first
 * NET_COMMON only. */
enum net_optid {
	NET_URL,
	NET_JSON,
	NET_HELP,
	NET_HELP_SHORT,
	NET_AREA,
	NET_MIN_AQI,
	NET_SORT,
	NET_LIMIT,
	NET_COUNT
};
#define NET_COMMON (NET_HELP_SHORT + 1)

enum hist_optid {
	HO_URL,
	HO_JSON,
	HO_HELP,
	HO_HELP_SHORT,
	HO_FROM,
	HO_TO,
	HO_INDICATORS,
	HO_DAILY,
	HO_CSV,
	HO_AREA,
	HO_PAGE,
	HO_COUNT
};

/* What the options of history decide; NULL for what was not given. */
struct hist_cfg {
	char base[BASE_MAX];
	bool json, csv, daily, area, help;
	const char *id; /* the cell, or with area the area */
	const char *from, *to, *inds;
	long page; /* rows asked per request */
};

/* The options of alerts, ack and silence: the common ones, then those
 * one command takes (al_parse()'s mask). */
enum al_optid {
	AL_URL,
	AL_JSON,
	AL_HELP,
	AL_HELP_SHORT,
	AL_TOKEN,
	AL_TOKEN_FILE,
	AL_STATE,
	AL_COMMENT,
	AL_FOR,
	AL_COUNT
};
#define AL_OWN AL_STATE
#define AL_BIT(id) (1u << (id))

/* What the options of alerts, ack and silence decide. */
struct al_cfg {
	char base[BASE_MAX];
	bool json, help;
	char token[300]; /* "" for none */
	const char *state, *comment, *dur;
	const char *args[2];
	int nargs;
};

enum ind_optid {
	IO_URL,
	IO_JSON,
	IO_HELP,
	IO_HELP_SHORT,
	IO_AREA,
	IO_FROM,
	IO_TO,
	IO_COUNT
};

/* What the options of indicators decide; NULL for what was not given. */
struct ind_cfg {
	char base[BASE_MAX];
	bool json, help;
	const char *area, *from, *to;
};

/* What the options of status, cells and cell decide. */
struct net_cfg {
	char base[BASE_MAX]; /* the daemon's URL, without a trailing '/' */
	bool json, help;
	const char *id;   /* cell: the cell */
	const char *area; /* cells: the filters, NULL or -1 when not given */
	long min_aqi;
	const char *sort;
	long limit; /* cells: at most this many, 0 for all */
};

/* An answer's body, as received. */
struct body {
	char *p; /* NUL-terminated */
	size_t len, cap;
	bool too_big, nomem;
};

/* One subcommand's connection to the daemon's API. */
struct client {
	const char *cmd;  /* for messages */
	const char *base; /* borrowed */
	CURL *curl;
	bool global;                /* curl_global_init() done */
	struct body body;           /* of the latest answer */
	char next[HIST_CURSOR_MAX]; /* its X-Next-Cursor, or "" */
	char err[CURL_ERROR_SIZE];
};

/* Text in columns two spaces apart: the heads, then rows of owned
 * strings; a column whose right[] is true is aligned to the right. */
struct table {
	int ncols;
	const char *const *heads;
	const bool *right;
	char **text; /* ncols a row */
	size_t n, cap;
	bool nomem;
};

static int cmd_aqi(const struct cmd *c, int argc, char **argv);
static int cmd_nowcast(const struct cmd *c, int argc, char **argv);
static int cmd_help(const struct cmd *c, int argc, char **argv);
static const struct cmd *find_cmd(const char *name);
static void print_usage(FILE *f);
static void print_cmd_help(const struct cmd *c);
static int finish_output(int rc);
static void usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static const char *shown(const char *s, char *buf, size_t len);
static int take_option(const char *cmd, const struct optspec *specs, int n,
    int argc, char **argv, int *i, const char **val);
static bool is_option(const char *a);
static int aqi_option(
    const char *cmd, struct aqi_cfg *cfg, int id, const char *val);
static int aqi_arg(
    const char *arg, struct aqi_input *in, char *why, size_t len);
static int parse_value(enum ind i, const char *text, bool unit_ok, int64_t *v,
    enum unit *u, char *why, size_t len);
static bool looks_numeric(const char *s);
static int check_range(enum ind i, int64_t v, enum unit u);
static int real_text(double x, char *buf, size_t len);
static int member_text(enum ind i, json_t *j, char *text, size_t tlen,
    bool *missing, char *why, size_t len);
static int json_value(
    enum ind i, json_t *j, struct aqi_input *in, char *why, size_t len);
static int parse_line(
    const char *line, struct aqi_input *in, char *why, size_t len);
static enum aqi_report report_for(
    const struct aqi_cfg *cfg, const struct aqi_input *in);
static int evaluate(const struct aqi_cfg *cfg, const struct aqi_input *in,
    json_t **out, char *why, size_t len);
static json_t *result_json(
    const struct aqi_cfg *cfg, const struct aqi_result *r, uint32_t exceeds);
static bool put(json_t *o, const char *key, json_t *v);
static json_t *nullable_int(bool na, json_int_t v);
static json_t *nullable_str(bool na, const char *s);
static json_t *ind_array(uint32_t bits);
static int emit(json_t *j);
static int emit_error(long lineno, const char *why);
static bool utf8_ok(const char *s);
static int read_line(FILE *f, char *buf, size_t len, const char **bad);
static int aqi_stdin(const struct aqi_cfg *cfg);
static int nowcast_pollutant(const char *cmd, const char *val);
static int nowcast_hour(
    const char *cmd, const char *arg, int64_t *v, bool *present);
static int nowcast_print(const char *cmd, enum pol p, const int64_t *conc,
    const bool *present, int n);
static int cmd_status(const struct cmd *c, int argc, char **argv);
static int cmd_cells(const struct cmd *c, int argc, char **argv);
static int cmd_cell(const struct cmd *c, int argc, char **argv);
static int net_parse(const struct cmd *c, int nspecs, int nids, int argc,
    char **argv, struct net_cfg *cfg);
static int net_option(
    const char *cmd, struct net_cfg *cfg, int id, const char *val);
static int count_arg(const char *s, long max, long *out);
static int base_url(
    const char *cmd, const char *what, const char *url, char *base, size_t len);
static int pick_url(const char *cmd, const char *url, char *base, size_t len);
static int cmd_history(const struct cmd *c, int argc, char **argv);
static int hist_parse(
    const struct cmd *c, int argc, char **argv, struct hist_cfg *cfg);
static int hist_option(
    const char *cmd, struct hist_cfg *cfg, int id, const char *val);
static int hist_path(
    struct client *cl, const struct hist_cfg *cfg, char *path, size_t len);
static int hist_fetch(
    struct client *cl, const struct hist_cfg *cfg, json_t **out);
static void hist_fail(
    const struct client *cl, const struct hist_cfg *cfg, long code);
static int hist_print(const struct hist_cfg *cfg, json_t *page);
static int client_init(struct client *cl, const char *cmd, const char *base);
static int client_raw(struct client *cl, const char *path, long *code);
static size_t on_header(char *data, size_t size, size_t n, void *arg);
static void client_fini(struct client *cl);
static size_t on_body(char *data, size_t size, size_t n, void *arg);
static int client_get(
    struct client *cl, const char *path, long *code, json_t **out);
static int client_get_ok(struct client *cl, const char *path, json_t **out);
static void client_fail(const struct client *cl, long code, json_t *j);
static void client_reach_fail(const struct client *cl, CURLcode rc);
static int emit_raw(const struct body *b);
static int cells_fetch(
    struct client *cl, const struct net_cfg *cfg, json_t **out);
static int cells_page(struct client *cl, const struct net_cfg *cfg,
    const char *cursor, long want, json_t **page);
static int cell_fetch(struct client *cl, const char *id, json_t **out);
static int cells_print(json_t *cells);
static void status_print(const char *base, json_t *s);
static int cell_print(json_t *c);
static void cell_indicators(json_t *c, struct table *t);
static void cell_sensors(json_t *c, struct table *t);
static void print_kv(const char *label, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static json_t *at(json_t *o, const char *k1, const char *k2);
static const char *str_at(json_t *o, const char *k1, const char *k2);
static const char *field(const json_t *v, char *buf, size_t len);
static const char *num_text(const json_t *v, char *buf, size_t len);
static const char *time_text(
    const json_t *v, bool secs, bool zone, char *buf, size_t len);
static const char *level_text(json_t *aqi, char *buf, size_t len);
static const char *list_text(
    const json_t *a, const char *empty, char *buf, size_t len);
static const char *uptime_text(long long s, char *buf, size_t len);
static void table_init(
    struct table *t, int ncols, const char *const *heads, const bool *right);
static void table_add(struct table *t, const char *s);
static int table_print(const struct table *t);
static void table_fini(struct table *t);
static size_t text_width(const char *s);
static int cmd_indicators(const struct cmd *c, int argc, char **argv);
static int ind_parse(
    const struct cmd *c, int argc, char **argv, struct ind_cfg *cfg);
static int ind_path(
    struct client *cl, const struct ind_cfg *cfg, char *path, size_t len);
static int ind_print(json_t *j);
static void ind_row(struct table *t, const char *name, json_t *o,
    const char *value, const char *cmp);
static int cmd_alerts(const struct cmd *c, int argc, char **argv);
static int cmd_ack(const struct cmd *c, int argc, char **argv);
static int cmd_silence(const struct cmd *c, int argc, char **argv);
static int cmd_sites(const struct cmd *c, int argc, char **argv);
static int al_parse(const struct cmd *c, unsigned int mask, int nmin, int nmax,
    int argc, char **argv, struct al_cfg *cfg);
static int token_read(const char *cmd, const char *path, struct al_cfg *cfg);
static bool al_plain(const char *s);
static int client_call(struct client *cl, const char *method, const char *path,
    const char *body, const char *token, long *code, json_t **out);
static int client_call_ok(struct client *cl, const char *method,
    const char *path, const char *body, const struct al_cfg *cfg, long want,
    json_t **out);
static int al_duration(const char *s, long *out);

static const struct cmd cmds[] = {
    {
	"aqi",
	"aqi [--standard hj633-2026|hj633-2012|epa-2024] "
	"[--report hourly|daily] [--limits gb3095-2026|gb3095-2012] "
	"[--grade 1|2] [--date YYYY-MM-DD] [--cap] [IND=VALUE[UNIT] ...]",
	"Computes the AQI of the concentrations given as IND=VALUE[UNIT]\n"
	"arguments, or, when none is given, of each JSON object read from\n"
	"standard input, one per line.  Prints one JSON object per input.\n"
	"\n"
	"  --standard STD  hj633-2026 (default), hj633-2012 or epa-2024\n"
	"  --report REP    hourly or daily; default: daily when no *_1h\n"
	"                  indicator is given, else hourly (decided for\n"
	"                  each input line on its own)\n"
	"  --limits ED     gb3095-2026 (default) or gb3095-2012, for\n"
	"                  \"exceeds\"\n"
	"  --grade G       1 or 2 (default 2): the GB 3095 area class\n"
	"  --date DATE     the day whose limits apply (default: today in\n"
	"                  " DEFAULT_ZONE "); GB 3095-2026 has transition\n"
	"                  limits to 2030-12-31, final ones from 2031-01-01\n"
	"  --cap           cap the US AQI at 500 (default: extrapolate)\n"
	"\n"
	"IND: pm25_1h pm25_24h pm10_1h pm10_24h so2_1h so2_24h no2_1h\n"
	"  no2_24h co_1h co_8h co_24h o3_1h o3_8h, and, for the limits\n"
	"  only, pm25_annual pm10_annual so2_annual no2_annual.\n"
	"VALUE: a plain decimal, not negative, no exponent.  UNIT: ug/m3\n"
	"  (default), mg/m3 (default for CO), ppb or ppm (gases only).\n"
	"  Examples: pm25_24h=80 o3_8h=0.071ppm so2_1h=80ppb co_1h=1.2mg/m3\n"
	"\n"
	"Standard input: one object a line, e.g.\n"
	"  {\"pm25_24h\":80,\"so2_1h\":\"80ppb\",\n"
	"   \"o3_8h\":{\"value\":0.071,\"unit\":\"ppm\"}}\n"
	"  Numbers are in the default unit; a string may carry a unit;\n"
	"  null means missing.  Blank lines are skipped.  A bad line prints\n"
	"  {\"error\":\"line N: reason\"} in its place, the other lines go\n"
	"  on, and the exit status is then 1.\n"
	"\n"
	"Output: standard, report, aqi, level, category, category_en,\n"
	"  color, primary, iaqi (every indicator the report reads, null\n"
	"  for NA), exceeds, nonattainment (hj633-2012 only), na, ignored,\n"
	"  converted, notes, limits, grade, date.\n",
	cmd_aqi,
    },
    {
	"nowcast",
	"nowcast --pollutant pm25|pm10|o3 V1 [V2 ... V12]",
	"Computes the US NowCast of hourly values, the current hour first,\n"
	"and its EPA 2024 AQI.  Prints {\"nowcast\":X,\"aqi\":N}.\n"
	"PM2.5 and PM10 are in ug/m3 (12 hours); O3 is in ppm (AirNow's\n"
	"legacy 8-hour method).  NA marks a missing hour.  With fewer than\n"
	"2 of the 3 most recent hours present both are null.\n",
	cmd_nowcast,
    },
    {
	"status",
	"status [--url URL] [--json]",
	"Asks a running aqgridd for its state (GET /api/v1/status) and prints\n"
	"a summary: version, uptime, the MQTT connection, readings accepted\n"
	"and rejected with the reasons that occurred, cells, sensors, the\n"
	"standards in force and the ingest queue.\n"
	"\n"
	"  --url URL  the daemon's HTTP address: http://HOST[:PORT][/PATH]\n"
	"             or https://...  (default: $" URL_ENV ", else\n"
	"             " DEFAULT_URL ")\n"
	"  --json     print the API's answer as it is, one JSON object\n"
	"\n"
	"A daemon that cannot be reached, or that answers with an error,\n"
	"is told in one line on stderr, and the exit status is 1.\n",
	cmd_status,
    },
    {
	"cells",
	"cells [--url URL] [--area AREA] [--min-aqi N] [--sort aqi|id] "
	"[--limit N] [--json]",
	"Lists the cells with their latest complete hour (GET /api/v1/cells,\n"
	"following its pages), one line per cell:\n"
	"  ID, AREA, HOUR (the hour's end, in the daemon's time zone),\n"
	"  AQI, LEVEL (the level and its English category), PRIMARY (the\n"
	"  primary pollutants), PM2.5 1h and O3 1h (ug/m3), STATUS (ok,\n"
	"  no_data or offline).  A dash marks an unknown value.\n"
	"\n"
	"  --url URL    as for status\n"
	"  --area AREA  only the cells of this area (its id)\n"
	"  --min-aqi N  only cells whose AQI is known and at least N\n"
	"               (0 to 100000)\n"
	"  --sort KEY   id (default), or aqi: highest first, unknown last\n"
	"  --limit N    at most N cells (1 to 1000000; default: all)\n"
	"  --json       print one JSON array of the API's cell summaries\n"
	"\n"
	"Errors as for status; an unknown area exits 1.\n",
	cmd_cells,
    },
    {
	"cell",
	"cell ID [--url URL] [--json]",
	"Shows one cell (GET /api/v1/cells/ID): its area, latest complete\n"
	"hour and status; the hourly AQI with its level, category and\n"
	"primary pollutants; every indicator with its concentration (ug/m3,\n"
	"CO mg/m3), its IAQI where the hourly report reads it and its valid\n"
	"hours; the exceedances; the latest complete day's AQI; and the\n"
	"sensors, with when each was last seen.\n"
	"\n"
	"  --url URL  as for status\n"
	"  --json     print the API's answer as it is, one JSON object\n"
	"\n"
	"Errors as for status; an unknown cell exits 1.\n",
	cmd_cell,
    },
    {
	"history",
	"history ID [--url URL] [--from T] [--to T] [--indicators LIST] "
	"[--daily] [--area] [--csv | --json] [--page N]",
	"Prints a cell's hours from the daemon's store (GET\n"
	"/api/v1/cells/ID/history), following its pages to the last, one\n"
	"line per hour: HOUR (its end, in the daemon's time zone), AQI,\n"
	"LEVEL, PRIMARY, EXCEEDS and a column per indicator (ug/m3, CO\n"
	"mg/m3).  A dash marks an unknown value.\n"
	"\n"
	"  --url URL          as for status\n"
	"  --from T, --to T   the first and last hour, by its end: Unix\n"
	"                     seconds, ISO 8601 with an offset or Z, ISO\n"
	"                     8601 in the daemon's zone (2026-11-29T14:00),\n"
	"                     or YYYY-MM-DD (from: the day's first hour,\n"
	"                     to: its last); default the last 48 hours\n"
	"  --indicators LIST  indicators, comma-separated (pm25_1h,o3_8h);\n"
	"                     default all, and the table leaves out those\n"
	"                     without any value\n"
	"  --daily            the cell's days (GET .../daily): dates\n"
	"                     YYYY-MM-DD, default the last 31 days\n"
	"  --area             ID is an area: its hours aggregated over its\n"
	"                     cells (GET /api/v1/areas/ID/history): CELLS\n"
	"                     reporting, the WORST cell with its AQI and\n"
	"                     LEVEL, the indicators' means\n"
	"  --csv              the API's CSV: one header line, then a row a\n"
	"                     line with each value's valid-hour count\n"
	"  --json             one JSON array of the API's rows\n"
	"  --page N           rows asked per request, 1 to 5000 (default);\n"
	"                     the output is the same\n"
	"\n"
	"Errors as for status; an unknown cell or area, a bad time or\n"
	"indicator (the daemon's message says which), or a daemon that keeps\n"
	"no history exits 1.\n",
	cmd_history,
    },
    {
	"alerts",
	"alerts [--url URL] [--state S] [--token T | --token-file F] "
	"[--json]",
	"Prints the daemon's alerts (GET /api/v1/alerts), newest change\n"
	"first, one line each: FINGERPRINT, STATE, SEVERITY, RULE, OBJECT\n"
	"(cell, area, grid or sensor), VALUE, SINCE (when it entered its\n"
	"state) and ACKED.\n"
	"\n"
	"  --url URL         as for status\n"
	"  --state S         pending, firing, resolved or inactive (default:\n"
	"                    all but inactive)\n"
	"  --token T         an API token (also " TOKEN_ENV "); needed when\n"
	"                    the daemon has [http] read_auth = yes\n"
	"  --token-file F    the token from a file: its first line, the\n"
	"                    token alone or \"NAME TOKEN rw|ro\"\n"
	"  --json            print the API's answer as it is\n"
	"\n"
	"Errors as for status; alerts off in the daemon exits 1.\n",
	cmd_alerts,
    },
    {
	"ack",
	"ack FINGERPRINT [--comment C] [--url URL] [--token T | --token-file "
	"F] [--json]",
	"Acknowledges an open alert (POST /api/v1/alerts/FINGERPRINT/ack):\n"
	"its repeated notifications stop, the resolved one does not.  Needs\n"
	"an rw token; the daemon records the token's name as the author.\n"
	"\n"
	"  --comment C       why, or who is on it\n"
	"  --url, --token, --token-file, --json   as for alerts\n"
	"\n"
	"Exits 1 when the daemon refuses: no such alert (404), not open\n"
	"(409), no token or an unknown one (401), a read-only one (403).\n",
	cmd_ack,
    },
    {
	"silence",
	"silence add MATCHERS --for DURATION [--comment C] | silence list | "
	"silence rm ID  [--url URL] [--token T | --token-file F] [--json]",
	"Manages silences (/api/v1/silences): matching alerts still change\n"
	"state, but notify nobody while the silence lasts.\n"
	"\n"
	"  add MATCHERS      from now for DURATION (90s, 15m, 2h, 1d): "
	"KEY=VALUE\n"
	"                    or KEY!=VALUE separated by spaces, all must "
	"hold;\n"
	"                    KEY rule, area, cell, sensor, severity, scope or\n"
	"                    a label.  Prints the new silence's ID.\n"
	"                    Example: silence add 'rule=pm25_24h "
	"cell=r001c002'\n"
	"                    --for 2h --comment 'sensor maintenance'\n"
	"  list              every silence: ID, STATUS (pending, active,\n"
	"                    expired), ENDS, MATCHERS, AUTHOR, COMMENT\n"
	"  rm ID             expires the silence now\n"
	"  --comment C       (add) why\n"
	"  --url, --token, --token-file, --json   as for alerts\n"
	"\n"
	"add and rm need an rw token; the author is the token's name.\n",
	cmd_silence,
    },
    {
	"indicators",
	"indicators [--url URL] [--area AREA] [--from DATE] [--to DATE] "
	"[--json]",
	"Shows the district plan's indicators of an area, or of the whole\n"
	"grid, over a date range (GET /api/v1/indicators): the good-days\n"
	"ratio (days with a daily AQI of at most 100 over days with one),\n"
	"the PM2.5 mean of the daily means and the O3 MDA8 90th percentile,\n"
	"each with its target ([plan] in the daemon's configuration), the\n"
	"GB 3095 limit, and whether the annual validity rule (27 daily\n"
	"values a month, 25 in February, 324 a year; its share for part of\n"
	"a month or year) holds; then the exceedance days per pollutant.\n"
	"An area's day is the mean over its cells of each daily statistic.\n"
	"\n"
	"  --url URL    as for status\n"
	"  --area AREA  an area (its id); default the whole grid\n"
	"  --from DATE  the first local date, YYYY-MM-DD (default 1 January\n"
	"               of --to's year)\n"
	"  --to DATE    the last local date (default yesterday, the latest\n"
	"               complete day)\n"
	"  --json       print the API's answer as it is, one JSON object\n"
	"\n"
	"Errors as for status; an unknown area, a bad date or a daemon that\n"
	"keeps no history exits 1.\n",
	cmd_indicators,
    },
    {
	"sites",
	"sites [ID | blacklist [YYYY-MM]] [--url URL] [--json]",
	"Prints the dust sites (GET /api/v1/sites), one line each: ID,\n"
	"STATUS (green, yellow, red; inactive outside its dates), KIND,\n"
	"PM10 (the latest judged hour's mean, ug/m3), BACKGROUND, EXCESS,\n"
	"RED_H and EPISODES (this month's red hours and red episodes), NAME.\n"
	"\n"
	"  ID                one site (GET /api/v1/sites/ID): its facts,\n"
	"                    then its status changes, newest first\n"
	"  blacklist [M]     the month's blacklist (GET\n"
	"                    /api/v1/sites/blacklist?month=M), default the\n"
	"                    current month in the daemon's zone\n"
	"  --url URL         as for status\n"
	"  --json            print the API's answer as it is\n"
	"\n"
	"Errors as for status; an unknown site or a bad month exits 1.\n",
	cmd_sites,
    },
    {
	"help",
	"help [SUBCOMMAND]",
	"Prints this help, or one subcommand's.\n",
	cmd_help,
    },
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static const struct optspec aqi_opts[AO_COUNT] = {
    [AO_STANDARD] = {"--standard", true},
    [AO_REPORT] = {"--report", true},
    [AO_LIMITS] = {"--limits", true},
    [AO_GRADE] = {"--grade", true},
    [AO_DATE] = {"--date", true},
    [AO_CAP] = {"--cap", false},
    [AO_HELP] = {"--help", false},
    [AO_HELP_SHORT] = {"-h", false},
};

static const struct optspec nowcast_opts[NO_COUNT] = {
    [NO_POLLUTANT] = {"--pollutant", true},
    [NO_HELP] = {"--help", false},
    [NO_HELP_SHORT] = {"-h", false},
};

static const struct optspec hist_opts[HO_COUNT] = {
    [HO_URL] = {"--url", true},
    [HO_JSON] = {"--json", false},
    [HO_HELP] = {"--help", false},
    [HO_HELP_SHORT] = {"-h", false},
    [HO_FROM] = {"--from", true},
    [HO_TO] = {"--to", true},
    [HO_INDICATORS] = {"--indicators", true},
    [HO_DAILY] = {"--daily", false},
    [HO_CSV] = {"--csv", false},
    [HO_AREA] = {"--area", false},
    [HO_PAGE] = {"--page", true},
};

static const struct optspec al_opts[AL_COUNT] = {
    [AL_URL] = {"--url", true},
    [AL_JSON] = {"--json", false},
    [AL_HELP] = {"--help", false},
    [AL_HELP_SHORT] = {"-h", false},
    [AL_TOKEN] = {"--token", true},
    [AL_TOKEN_FILE] = {"--token-file", true},
    [AL_STATE] = {"--state", true},
    [AL_COMMENT] = {"--comment", true},
    [AL_FOR] = {"--for", true},
};

static const struct optspec ind_opts[IO_COUNT] = {
    [IO_URL] = {"--url", true},
    [IO_JSON] = {"--json", false},
    [IO_HELP] = {"--help", false},
    [IO_HELP_SHORT] = {"-h", false},
    [IO_AREA] = {"--area", true},
    [IO_FROM] = {"--from", true},
    [IO_TO] = {"--to", true},
};

static const struct optspec net_opts[NET_COUNT] = {
    [NET_URL] = {"--url", true},
    [NET_JSON] = {"--json", false},
    [NET_HELP] = {"--help", false},
    [NET_HELP_SHORT] = {"-h", false},
    [NET_AREA] = {"--area", true},
    [NET_MIN_AQI] = {"--min-aqi", true},
    [NET_SORT] = {"--sort", true},
    [NET_LIMIT] = {"--limit", true},
};

int
main(int argc, char **argv)
{
	const struct cmd *c = NULL;
	int rc;

	if (argc < 2) {
		usage_error(NULL, "missing subcommand (try 'aqgrid --help')");
		rc = EXIT_USAGE;
	} else if (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		rc = cmd_help(find_cmd("help"), argc - 1, argv + 1);
	} else if (strcmp(argv[1], "--version") == 0) {
		printf("aqgrid %s\n", AQ_VERSION);
		rc = finish_output(EXIT_SUCCESS);
	} else if ((c = find_cmd(argv[1])) != NULL) {
		rc = c->run(c, argc - 1, argv + 1);
	} else {
		char b[SHOWN_BUF];

		usage_error(NULL,
		    "unknown subcommand '%s' (try 'aqgrid --help')",
		    shown(argv[1], b, sizeof(b)));
		rc = EXIT_USAGE;
	}
	return rc;
}

static const struct cmd *
find_cmd(const char *name)
{
	const struct cmd *found = NULL;

	for (size_t k = 0; k < NCMDS && found == NULL; k++)
		if (strcmp(cmds[k].name, name) == 0)
			found = &cmds[k];
	return found;
}

static void
print_usage(FILE *f)
{
	fprintf(f,
	    "usage: aqgrid SUBCOMMAND [ARG ...]\n"
	    "       aqgrid --help | --version\n\n");
	for (size_t k = 0; k < NCMDS; k++)
		fprintf(f, "  aqgrid %s\n", cmds[k].usage);
}

static void
print_cmd_help(const struct cmd *c)
{
	printf("usage: aqgrid %s\n\n%s", c->usage, c->help);
}

/* Exit status after flushing stdout: a full disk or a closed pipe must not
 * pass for success. */
static int
finish_output(int rc)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "aqgrid: writing standard output failed\n");
		rc = EXIT_FAILURE;
	}
	return rc;
}

static void
usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "aqgrid%s%s: ", cmd != NULL ? " " : "",
	    cmd != NULL ? cmd : "");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/*
 * s as it may be shown in a one-line message: control bytes become \xNN
 * (UTF-8 passes) and anything past SHOWN_MAX bytes becomes "...".
 */
static const char *
shown(const char *s, char *buf, size_t len)
{
	size_t o = 0, k;

	for (k = 0; s[k] != '\0' && k < SHOWN_MAX && o + 5 < len; k++) {
		unsigned char ch = (unsigned char)s[k];

		if (ch < 0x20 || ch == 0x7f)
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", ch);
		else
			buf[o++] = (char)ch;
	}
	if (s[k] != '\0' && o + 4 <= len) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

/*
 * Matches argv[*i] against specs, as "--name", "--name=value" or
 * "--name value" (then *i moves past the value).  Returns the spec's index,
 * or -1 after telling the user what is wrong.
 */
static int
take_option(const char *cmd, const struct optspec *specs, int n, int argc,
    char **argv, int *i, const char **val)
{
	const char *a = argv[*i];
	const char *eq = strchr(a, '=');
	size_t nlen = eq != NULL ? (size_t)(eq - a) : strlen(a);
	char b[SHOWN_BUF];
	int id = -1;

	for (int k = 0; k < n && id < 0; k++)
		if (strlen(specs[k].name) == nlen &&
		    strncmp(specs[k].name, a, nlen) == 0)
			id = k;
	if (id < 0) {
		usage_error(cmd, "unknown option '%s'", shown(a, b, sizeof(b)));
	} else if (!specs[id].arg && eq != NULL) {
		usage_error(
		    cmd, "option '%s' takes no argument", specs[id].name);
		id = -1;
	} else if (specs[id].arg && eq != NULL) {
		*val = eq + 1;
	} else if (specs[id].arg && *i + 1 >= argc) {
		usage_error(
		    cmd, "option '%s' needs an argument", specs[id].name);
		id = -1;
	} else if (specs[id].arg) {
		*val = argv[++*i];
	}
	return id;
}

/* "-x" and "--x" are options; "-" alone and "-5" (a negative value, told
 * as such later) are not. */
static bool
is_option(const char *a)
{
	return a[0] == '-' && a[1] != '\0' && !(a[1] >= '0' && a[1] <= '9') &&
	    a[1] != '.';
}

static int
cmd_help(const struct cmd *c, int argc, char **argv)
{
	const struct cmd *about = NULL;
	char b[SHOWN_BUF];
	int rc = EXIT_SUCCESS;

	if (argc > 2) {
		usage_error(c->name, "too many arguments");
		rc = EXIT_USAGE;
	} else if (argc == 2 && (about = find_cmd(argv[1])) == NULL) {
		usage_error(c->name, "unknown subcommand '%s'",
		    shown(argv[1], b, sizeof(b)));
		rc = EXIT_USAGE;
	} else if (about != NULL) {
		print_cmd_help(about);
		rc = finish_output(rc);
	} else {
		print_usage(stdout);
		for (size_t k = 0; k < NCMDS; k++)
			printf("\naqgrid %s\n%s", cmds[k].name, cmds[k].help);
		printf("\nEnvironment: " URL_ENV " is the default of --url.\n"
		       "\nExit status: 0 done, 1 a failure while running (for "
		       "aqi, a bad input line;\nfor status, cells and cell, a "
		       "daemon that cannot be reached or answers\nwith an "
		       "error), 2 bad arguments.\n");
		rc = finish_output(rc);
	}
	return rc;
}

static int
cmd_aqi(const struct cmd *c, int argc, char **argv)
{
	struct aqi_cfg cfg = {
	    .aqi = {.std = AQI_HJ633_2026, .report = AQI_DAILY},
	    .lim = {.ed = LIMITS_GB3095_2026, .grade = 2},
	};
	struct aqi_input in = {0};
	json_t *out = NULL;
	char why[REASON_MAX];
	bool opts_done = false, help = false;
	int nargs = 0, rc = EXIT_SUCCESS;
	struct tz z;

	for (int i = 1; i < argc && rc == EXIT_SUCCESS && !help; i++) {
		const char *val = NULL;
		int id;

		if (!opts_done && strcmp(argv[i], "--") == 0) {
			opts_done = true;
		} else if (!opts_done && is_option(argv[i])) {
			id = take_option(
			    c->name, aqi_opts, AO_COUNT, argc, argv, &i, &val);
			if (id < 0)
				rc = EXIT_USAGE;
			else if (id == AO_HELP || id == AO_HELP_SHORT)
				help = true;
			else
				rc = aqi_option(c->name, &cfg, id, val);
		} else if (aqi_arg(argv[i], &in, why, sizeof(why)) != AQ_OK) {
			usage_error(c->name, "%s", why);
			rc = EXIT_USAGE;
		} else {
			nargs++;
		}
	}
	if (help) {
		print_cmd_help(c);
		rc = finish_output(EXIT_SUCCESS);
		goto out;
	}
	if (rc != EXIT_SUCCESS)
		goto out;
	if (!cfg.date_set) {
		if (tz_init(&z, DEFAULT_ZONE) != AQ_OK) {
			fprintf(stderr,
			    "aqgrid %s: no time zone %s on this system; "
			    "give --date\n",
			    c->name, DEFAULT_ZONE);
			rc = EXIT_FAILURE;
			goto out;
		}
		cfg.date = tz_date(&z, (int64_t)time(NULL));
	}
	if (nargs == 0) {
		rc = aqi_stdin(&cfg);
	} else if (evaluate(&cfg, &in, &out, why, sizeof(why)) != AQ_OK) {
		/* The arguments were checked one by one, so this is a
		 * combination the engine refuses. */
		usage_error(c->name, "%s", why);
		rc = EXIT_USAGE;
	} else {
		rc = finish_output(
		    emit(out) == AQ_OK ? EXIT_SUCCESS : EXIT_FAILURE);
	}
out:
	json_decref(out);
	return rc;
}

/* Applies one option; returns EXIT_SUCCESS or, after telling, EXIT_USAGE. */
static int
aqi_option(const char *cmd, struct aqi_cfg *cfg, int id, const char *val)
{
	char b[SHOWN_BUF];
	const char *expect = NULL;
	int v;

	switch (id) {
	case AO_STANDARD:
		if ((v = aqi_std_from_name(val)) < 0)
			expect = "hj633-2026, hj633-2012 or epa-2024";
		else
			cfg->aqi.std = (enum aqi_std)v;
		break;
	case AO_REPORT:
		cfg->report_set = true;
		if (strcmp(val, "hourly") == 0)
			cfg->aqi.report = AQI_HOURLY;
		else if (strcmp(val, "daily") == 0)
			cfg->aqi.report = AQI_DAILY;
		else
			expect = "hourly or daily";
		break;
	case AO_LIMITS:
		if ((v = limits_ed_from_name(val)) < 0)
			expect = "gb3095-2026 or gb3095-2012";
		else
			cfg->lim.ed = (enum limits_ed)v;
		break;
	case AO_GRADE:
		if (strcmp(val, "1") == 0 || strcmp(val, "2") == 0)
			cfg->lim.grade = val[0] - '0';
		else
			expect = "1 or 2";
		break;
	case AO_DATE:
		if (tz_parse_date(val, &cfg->date) != AQ_OK)
			expect = "a date YYYY-MM-DD";
		else
			cfg->date_set = true;
		break;
	case AO_CAP:
		cfg->aqi.cap = true;
		break;
	default:
		break;
	}
	if (expect != NULL)
		usage_error(cmd, "bad %s '%s' (expected %s)", aqi_opts[id].name,
		    shown(val, b, sizeof(b)), expect);
	return expect != NULL ? EXIT_USAGE : EXIT_SUCCESS;
}

/* One IND=VALUE[UNIT] argument into in; AQ_ERR_INVAL with the reason. */
static int
aqi_arg(const char *arg, struct aqi_input *in, char *why, size_t len)
{
	const char *eq = strchr(arg, '=');
	char name[SHOWN_MAX + 1], b[SHOWN_BUF];
	size_t nlen = eq != NULL ? (size_t)(eq - arg) : 0;
	int64_t v;
	enum unit u;
	int i = -1, rc = AQ_ERR_INVAL;

	/* The name alone is shown when unknown: it is what was mistyped. */
	snprintf(name, sizeof(name), "%.*s",
	    (int)(nlen < SHOWN_MAX ? nlen : SHOWN_MAX), arg);
	if (eq != NULL && nlen < SHOWN_MAX)
		i = ind_from_name(name);
	if (eq == NULL)
		snprintf(why, len, "expected IND=VALUE, got '%s'",
		    shown(arg, b, sizeof(b)));
	else if (i < 0)
		snprintf(why, len, "unknown indicator '%s'",
		    shown(name, b, sizeof(b)));
	else if (in->has & IND_BIT(i))
		snprintf(why, len, "duplicate indicator '%s'",
		    ind_name((enum ind)i));
	else
		rc = parse_value((enum ind)i, eq + 1, true, &v, &u, why, len);
	if (rc == AQ_OK) {
		in->has |= IND_BIT(i);
		in->v[i] = v;
		in->unit[i] = u;
	}
	return rc;
}

/*
 * VALUE[UNIT] for indicator i (the unit only when unit_ok).  Returns AQ_OK,
 * or AQ_ERR_INVAL with the reason in why.  Besides the syntax it refuses
 * what the engine would: a negative value, a mixing ratio of particulate
 * matter, and a value too large to convert to the units of the standards.
 */
static int
parse_value(enum ind i, const char *text, bool unit_ok, int64_t *v,
    enum unit *u, char *why, size_t len)
{
	enum pol p = ind_pol(i);
	const char *end = text;
	char b[SHOWN_BUF], ub[SHOWN_BUF];
	int64_t x = 0;
	int pr = fix_parse(text, &end, &x);
	int unit = pol_unit(p), rc = AQ_ERR_INVAL;

	if (pr == AQ_OK && *end != '\0')
		unit = unit_ok ? unit_from_name(end) : -1;
	if (pr == AQ_ERR_RANGE)
		snprintf(why, len, "value '%s' out of range for %s",
		    shown(text, b, sizeof(b)), ind_name(i));
	else if (pr != AQ_OK || (unit < 0 && !unit_ok))
		snprintf(why, len, "bad value '%s' for %s",
		    shown(text, b, sizeof(b)), ind_name(i));
	else if (unit < 0 && looks_numeric(end))
		snprintf(why, len, "bad value '%s' for %s (plain decimal only)",
		    shown(text, b, sizeof(b)), ind_name(i));
	else if (unit < 0)
		snprintf(why, len, "unknown unit '%s' for %s",
		    shown(end, ub, sizeof(ub)), ind_name(i));
	else if (x < 0 || text[0] == '-')
		snprintf(why, len, "negative value '%s' for %s",
		    shown(text, b, sizeof(b)), ind_name(i));
	else if (!pol_is_gas(p) && (unit == UNIT_PPB || unit == UNIT_PPM))
		snprintf(why, len, "unit '%s' does not apply to %s",
		    unit_name((enum unit)unit), ind_name(i));
	else if (check_range(i, x, (enum unit)unit) != AQ_OK)
		snprintf(why, len, "value '%s' out of range for %s",
		    shown(text, b, sizeof(b)), ind_name(i));
	else
		rc = AQ_OK;
	if (rc == AQ_OK) {
		*v = x;
		*u = (enum unit)unit;
	}
	return rc;
}

/* Whether the text after a number still belongs to it ("1e5", "1.2.3",
 * "5-"): then the value is bad, rather than its unit unknown. */
static bool
looks_numeric(const char *s)
{
	return (s[0] != '\0' && strchr("0123456789.+-", s[0]) != NULL) ||
	    ((s[0] == 'e' || s[0] == 'E') && s[1] != '\0' &&
		strchr("0123456789+-", s[1]) != NULL);
}

/* AQ_OK when v converts to every unit a standard may read it in, so that
 * neither aqi_compute() nor limits_exceeds() can fail on it later. */
static int
check_range(enum ind i, int64_t v, enum unit u)
{
	enum pol p = ind_pol(i);
	int rc = AQ_OK;
	int64_t out;

	for (int to = 0; to < UNIT_COUNT && rc == AQ_OK; to++) {
		if (!pol_is_gas(p) && (to == UNIT_PPB || to == UNIT_PPM))
			continue;
		rc = pol_convert(p, v, u, (enum unit)to, false, &out);
		if (rc == AQ_OK)
			rc = pol_convert(p, v, u, (enum unit)to, true, &out);
		if (rc == AQ_OK && out > FIX_MAX)
			rc = AQ_ERR_RANGE;
	}
	return rc;
}

/*
 * The shortest plain decimal that reads back as x (x >= 0), e.g. "0.071"
 * for the double jansson parsed from 0.071: what the sender wrote, when it
 * had at most 17 significant digits.  buf holds at least 64 bytes.  Returns
 * AQ_ERR_RANGE from 1e21 up, where fix_parse() would refuse it anyway.
 */
static int
real_text(double x, char *buf, size_t len)
{
	static const char zeros[] = "00000000000000000000";
	char e[40], digits[24];
	int prec, nd = 0, rc = AQ_OK;
	const char *p;
	long exp;

	for (prec = 0; prec < 17; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec, x);
		if (strtod(e, NULL) == x)
			break;
	}
	/* e is "d.ddde+XX": keep the digits, then place the point. */
	for (p = e; *p != 'e' && *p != '\0'; p++)
		if (*p >= '0' && *p <= '9')
			digits[nd++] = *p;
	exp = *p == 'e' ? strtol(p + 1, NULL, 10) : 0;
	if (exp > 20)
		rc = AQ_ERR_RANGE;
	else if (exp < -20) /* far below a fix value's 1e-9 */
		snprintf(buf, len, "0");
	else if (exp < 0)
		snprintf(
		    buf, len, "0.%.*s%.*s", (int)(-exp - 1), zeros, nd, digits);
	else if (nd <= exp + 1)
		snprintf(buf, len, "%.*s%.*s", nd, digits, (int)(exp + 1 - nd),
		    zeros);
	else
		snprintf(buf, len, "%.*s.%.*s", (int)(exp + 1), digits,
		    (int)(nd - exp - 1), digits + exp + 1);
	return rc;
}

/*
 * The text "VALUE[UNIT]" of one member of a standard-input object, which
 * is a number in the default unit, a string "VALUE[UNIT]", an object
 * {"value":V,"unit":U} with V a number or a string, or null (*missing).
 * A number goes through its shortest decimal text, so 0.071 stays 0.071.
 * Returns AQ_OK, or AQ_ERR_INVAL with the reason in why.
 */
static int
member_text(enum ind i, json_t *j, char *text, size_t tlen, bool *missing,
    char *why, size_t len)
{
	json_t *jv = j, *ju = NULL;
	const char *unit = "", *s;
	char num[64] = "", b[SHOWN_BUF];
	int64_t dummy;
	int rc = AQ_OK;

	*missing = false;
	if (json_is_object(j)) {
		jv = json_object_get(j, "value");
		ju = json_object_get(j, "unit");
		for (void *it = json_object_iter(j); it != NULL && rc == AQ_OK;
		     it = json_object_iter_next(j, it)) {
			s = json_object_iter_key(it);
			if (strcmp(s, "value") != 0 && strcmp(s, "unit") != 0) {
				snprintf(why, len, "unknown key '%s' in %s",
				    shown(s, b, sizeof(b)), ind_name(i));
				rc = AQ_ERR_INVAL;
			}
		}
		if (rc == AQ_OK && jv == NULL) {
			snprintf(why, len, "no \"value\" for %s", ind_name(i));
			rc = AQ_ERR_INVAL;
		} else if (rc == AQ_OK && ju != NULL &&
		    (!json_is_string(ju) ||
			unit_from_name(json_string_value(ju)) < 0)) {
			snprintf(why, len,
			    "bad \"unit\" for %s (expected "
			    "ug/m3, mg/m3, ppb or ppm)",
			    ind_name(i));
			rc = AQ_ERR_INVAL;
		} else if (ju != NULL) {
			unit = json_string_value(ju);
		}
	}
	if (rc != AQ_OK) {
		/* told above */
	} else if (json_is_null(jv)) {
		*missing = true;
	} else if (json_is_integer(jv)) {
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(jv));
	} else if (json_is_real(jv) && json_real_value(jv) < 0) {
		snprintf(why, len, "negative value %g for %s",
		    json_real_value(jv), ind_name(i));
		rc = AQ_ERR_INVAL;
	} else if (json_is_real(jv) &&
	    real_text(json_real_value(jv), num, sizeof(num)) != AQ_OK) {
		snprintf(why, len, "value %g out of range for %s",
		    json_real_value(jv), ind_name(i));
		rc = AQ_ERR_INVAL;
	} else if (json_is_string(jv) && ju != NULL &&
	    (fix_parse(json_string_value(jv), &s, &dummy) != AQ_OK ||
		*s != '\0')) {
		snprintf(why, len,
		    "bad \"value\" for %s (a plain decimal, as \"unit\" "
		    "is given)",
		    ind_name(i));
		rc = AQ_ERR_INVAL;
	} else if (!json_is_real(jv) && !json_is_string(jv)) {
		snprintf(why, len,
		    "bad value for %s (expected a number, a string or an "
		    "object)",
		    ind_name(i));
		rc = AQ_ERR_INVAL;
	}
	s = json_is_string(jv) ? json_string_value(jv) : num;
	if (rc == AQ_OK && !*missing &&
	    (size_t)snprintf(text, tlen, "%s%s", s, unit) >= tlen) {
		snprintf(why, len, "value of %s too long", ind_name(i));
		rc = AQ_ERR_INVAL;
	}
	return rc;
}

/* One member of a standard-input object into in (see member_text()). */
static int
json_value(enum ind i, json_t *j, struct aqi_input *in, char *why, size_t len)
{
	char text[VALUE_TEXT_MAX];
	bool missing = false;
	int64_t v = 0;
	enum unit u = UNIT_UGM3;
	int rc = member_text(i, j, text, sizeof(text), &missing, why, len);

	if (rc == AQ_OK && !missing)
		rc = parse_value(i, text, true, &v, &u, why, len);
	if (rc == AQ_OK && !missing) {
		in->has |= IND_BIT(i);
		in->v[i] = v;
		in->unit[i] = u;
	}
	return rc;
}

/* One standard-input line into in; AQ_ERR_INVAL with the reason. */
static int
parse_line(const char *line, struct aqi_input *in, char *why, size_t len)
{
	json_t *root;
	json_error_t jerr;
	const char *key;
	json_t *val;
	char b[SHOWN_BUF];
	int rc = AQ_OK, i;

	*in = (struct aqi_input){0};
	root = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(why, len, "bad JSON: %s", jerr.text);
		rc = AQ_ERR_INVAL;
	} else if (!json_is_object(root)) {
		snprintf(why, len, "expected a JSON object");
		rc = AQ_ERR_INVAL;
	}
	json_object_foreach(root, key, val)
	{
		if (rc != AQ_OK)
			break;
		if ((i = ind_from_name(key)) < 0) {
			snprintf(why, len, "unknown indicator '%s'",
			    shown(key, b, sizeof(b)));
			rc = AQ_ERR_INVAL;
		} else {
			rc = json_value((enum ind)i, val, in, why, len);
		}
	}
	json_decref(root);
	return rc;
}

/* The report asked for, else hourly exactly when a 1-hour value is given. */
static enum aqi_report
report_for(const struct aqi_cfg *cfg, const struct aqi_input *in)
{
	static const uint32_t hourly = IND_BIT(IND_PM25_1H) |
	    IND_BIT(IND_PM10_1H) | IND_BIT(IND_SO2_1H) | IND_BIT(IND_NO2_1H) |
	    IND_BIT(IND_CO_1H) | IND_BIT(IND_O3_1H);

	enum aqi_report rep = cfg->aqi.report;

	if (!cfg->report_set)
		rep = (in->has & hourly) != 0 ? AQI_HOURLY : AQI_DAILY;
	return rep;
}

/*
 * The AQI, the exceedances and their JSON for one input.  The annual
 * indicators feed the limits only: the AQI engine never sees them, so they
 * are not listed as "ignored" either.
 */
static int
evaluate(const struct aqi_cfg *cfg, const struct aqi_input *in, json_t **out,
    char *why, size_t len)
{
	struct aqi_opts o = cfg->aqi;
	struct aqi_input ain = *in;
	struct aqi_result r;
	uint32_t exceeds = 0;
	int rc;

	o.report = report_for(cfg, in);
	ain.has &= IND_BIT(IND_AQI_COUNT) - 1;
	rc = aqi_compute(&o, &ain, &r);
	if (rc == AQ_OK)
		rc = limits_exceeds(&cfg->lim, cfg->date, in, &exceeds);
	if (rc != AQ_OK)
		snprintf(why, len, "cannot evaluate: %s", aq_strerror(rc));
	else if ((*out = result_json(cfg, &r, exceeds)) == NULL)
		snprintf(why, len, "%s", aq_strerror(rc = AQ_ERR_NOMEM));
	return rc;
}

static json_t *
result_json(
    const struct aqi_cfg *cfg, const struct aqi_result *r, uint32_t exceeds)
{
	json_t *o = json_object(), *iaqi = json_object(), *notes = json_array();
	bool na = r->aqi < 0;
	bool ok = o != NULL && iaqi != NULL && notes != NULL;
	char date[16];

	for (int i = 0; i < IND_COUNT && ok; i++)
		if (r->used & IND_BIT(i))
			ok = put(iaqi, ind_name((enum ind)i),
			    nullable_int(r->iaqi[i] < 0, r->iaqi[i]));
	for (int b = 0; b < AQI_NOTE_COUNT_ && ok; b++)
		if ((r->notes & (1u << b)) != 0 &&
		    aqi_note_text(1u << b) != NULL)
			ok = json_array_append_new(notes,
				 json_string(aqi_note_text(1u << b))) == 0;
	snprintf(date, sizeof(date), "%04d-%02d-%02d", (int)(cfg->date / 10000),
	    (int)(cfg->date / 100 % 100), (int)(cfg->date % 100));

	/* The keys in the order the usage documents. */
	ok = ok && put(o, "standard", json_string(aqi_std_name(r->std)));
	ok = ok &&
	    put(o, "report",
		json_string(r->report == AQI_HOURLY ? "hourly" : "daily"));
	ok = ok && put(o, "aqi", nullable_int(na, r->aqi));
	ok = ok && put(o, "level", nullable_int(na, r->level));
	ok = ok &&
	    put(o, "category",
		nullable_str(na, na ? NULL : aqi_category(r->std, r->level)));
	ok = ok &&
	    put(o, "category_en",
		nullable_str(
		    na, na ? NULL : aqi_category_en(r->std, r->level)));
	ok = ok &&
	    put(o, "color",
		nullable_str(na, na ? NULL : aqi_color(r->std, r->level)));
	ok = ok && put(o, "primary", ind_array(r->primary));
	ok = ok && put(o, "iaqi", json_incref(iaqi));
	ok = ok && put(o, "exceeds", ind_array(exceeds));
	if (r->std == AQI_HJ633_2012)
		ok = ok && put(o, "nonattainment", ind_array(r->nonattain));
	ok = ok && put(o, "na", ind_array(r->na));
	ok = ok && put(o, "ignored", ind_array(r->ignored));
	ok = ok && put(o, "converted", ind_array(r->converted));
	ok = ok && put(o, "notes", json_incref(notes));
	ok = ok && put(o, "limits", json_string(limits_ed_name(cfg->lim.ed)));
	ok = ok && put(o, "grade", json_integer(cfg->lim.grade));
	ok = ok && put(o, "date", json_string(date));
	json_decref(iaqi);
	json_decref(notes);
	if (!ok) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

/* Adds v (taking ownership) to o; false when v is NULL or adding fails,
 * so that one flag tracks every allocation. */
static bool
put(json_t *o, const char *key, json_t *v)
{
	return json_object_set_new(o, key, v) == 0;
}

static json_t *
nullable_int(bool na, json_int_t v)
{
	return na ? json_null() : json_integer(v);
}

static json_t *
nullable_str(bool na, const char *s)
{
	return na || s == NULL ? json_null() : json_string(s);
}

/* Names of the indicators in bits, in the order of enum ind. */
static json_t *
ind_array(uint32_t bits)
{
	json_t *a = json_array();

	for (int i = 0; i < IND_COUNT && a != NULL; i++) {
		if ((bits & IND_BIT(i)) != 0 &&
		    json_array_append_new(
			a, json_string(ind_name((enum ind)i))) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

/* Prints j as one line; AQ_ERR_NOMEM or AQ_ERR_IO on failure. */
static int
emit(json_t *j)
{
	char *s = json_dumps(j, DUMP_FLAGS);
	int rc = AQ_OK;

	if (s == NULL)
		rc = AQ_ERR_NOMEM;
	else if (puts(s) == EOF)
		rc = AQ_ERR_IO;
	free(s);
	return rc;
}

static int
emit_error(long lineno, const char *why)
{
	char text[REASON_MAX + 32];
	json_t *j;
	int rc;

	snprintf(text, sizeof(text), "line %ld: %s", lineno, why);
	/* A reason may quote bytes that are not UTF-8 (a line cut inside a
	 * character), which a JSON string cannot hold: they become '?'. */
	if (!utf8_ok(text))
		for (char *p = text; *p != '\0'; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
	j = json_pack("{s:s}", "error", text);
	rc = j != NULL ? emit(j) : AQ_ERR_NOMEM;
	json_decref(j);
	return rc;
}

/* Whether json_string() takes s: it checks UTF-8 as a JSON parser must. */
static bool
utf8_ok(const char *s)
{
	json_t *j = json_string(s);
	bool ok = j != NULL;

	json_decref(j);
	return ok;
}

/*
 * Reads one line, without its newline, into buf (len bytes).  Returns 1
 * for a line, 0 at the end of input and -1 on a read error.  A line too
 * long for buf, or holding a NUL byte, is read to its end and *bad tells
 * why; memory stays bounded however long the line.
 */
static int
read_line(FILE *f, char *buf, size_t len, const char **bad)
{
	size_t n = 0;
	int ch = EOF, rc;

	*bad = NULL;
	while ((ch = getc(f)) != EOF && ch != '\n') {
		if (ch == '\0' && *bad == NULL)
			*bad = "NUL byte in line";
		if (n + 1 < len)
			buf[n++] = (char)ch;
		else
			*bad = "line too long";
	}
	buf[n] = '\0';
	if (ferror(f))
		rc = -1;
	else if (ch == EOF && n == 0 && *bad == NULL)
		rc = 0;
	else
		rc = 1;
	return rc;
}

/* aqgrid aqi without IND arguments: one result line per input line. */
static int
aqi_stdin(const struct aqi_cfg *cfg)
{
	char *buf = malloc(INPUT_LINE_MAX + 1);
	char why[REASON_MAX];
	const char *bad;
	struct aqi_input in;
	json_t *out;
	long lineno = 0;
	bool failed = false;
	int r = 0, rc = AQ_OK;

	if (buf == NULL) {
		fprintf(stderr, "aqgrid aqi: %s\n", aq_strerror(AQ_ERR_NOMEM));
		return EXIT_FAILURE;
	}
	while (rc == AQ_OK &&
	    (r = read_line(stdin, buf, INPUT_LINE_MAX + 1, &bad)) > 0) {
		lineno++;
		if (bad == NULL && buf[strspn(buf, " \t\r")] == '\0')
			continue;
		out = NULL;
		if (bad != NULL)
			snprintf(why, sizeof(why), "%s", bad);
		if (bad != NULL ||
		    parse_line(buf, &in, why, sizeof(why)) != AQ_OK ||
		    evaluate(cfg, &in, &out, why, sizeof(why)) != AQ_OK) {
			failed = true;
			rc = emit_error(lineno, why);
		} else {
			rc = emit(out);
		}
		json_decref(out);
	}
	free(buf);
	if (r < 0)
		fprintf(stderr, "aqgrid aqi: reading standard input failed\n");
	if (rc != AQ_OK)
		fprintf(stderr, "aqgrid aqi: %s\n", aq_strerror(rc));
	return finish_output(
	    failed || r < 0 || rc != AQ_OK ? EXIT_FAILURE : EXIT_SUCCESS);
}

static int
cmd_nowcast(const struct cmd *c, int argc, char **argv)
{
	int64_t conc[NOWCAST_HOURS] = {0};
	bool present[NOWCAST_HOURS] = {false};
	bool opts_done = false, help = false;
	int n = 0, pol = -1, rc = EXIT_SUCCESS;

	for (int i = 1; i < argc && rc == EXIT_SUCCESS && !help; i++) {
		const char *val = NULL;
		int id;

		if (!opts_done && strcmp(argv[i], "--") == 0) {
			opts_done = true;
		} else if (!opts_done && is_option(argv[i])) {
			id = take_option(c->name, nowcast_opts, NO_COUNT, argc,
			    argv, &i, &val);
			if (id < 0)
				rc = EXIT_USAGE;
			else if (id == NO_HELP || id == NO_HELP_SHORT)
				help = true;
			else if ((pol = nowcast_pollutant(c->name, val)) < 0)
				rc = EXIT_USAGE;
		} else if (n == NOWCAST_HOURS) {
			usage_error(c->name,
			    "too many hourly values at '%s' (at most %d)",
			    argv[i], NOWCAST_HOURS);
			rc = EXIT_USAGE;
		} else {
			rc = nowcast_hour(
			    c->name, argv[i], &conc[n], &present[n]);
			n++;
		}
	}
	if (help) {
		print_cmd_help(c);
		rc = finish_output(EXIT_SUCCESS);
	} else if (rc == EXIT_SUCCESS && pol < 0) {
		usage_error(c->name, "missing --pollutant");
		rc = EXIT_USAGE;
	} else if (rc == EXIT_SUCCESS && n == 0) {
		usage_error(
		    c->name, "no hourly values (give 1 to %d)", NOWCAST_HOURS);
		rc = EXIT_USAGE;
	} else if (rc == EXIT_SUCCESS) {
		rc = nowcast_print(c->name, (enum pol)pol, conc, present, n);
	}
	return rc;
}

/* The pollutant of --pollutant, or -1 after telling. */
static int
nowcast_pollutant(const char *cmd, const char *val)
{
	static const char *const names[] = {"pm25", "pm10", "o3"};
	static const enum pol pols[] = {POL_PM25, POL_PM10, POL_O3};
	char b[SHOWN_BUF];
	int p = -1;

	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if (strcmp(val, names[k]) == 0)
			p = (int)pols[k];
	if (p < 0)
		usage_error(cmd,
		    "bad --pollutant '%s' (expected pm25, pm10 or o3)",
		    shown(val, b, sizeof(b)));
	return p;
}

/* One hourly value, or NA; EXIT_SUCCESS or, after telling, EXIT_USAGE. */
static int
nowcast_hour(const char *cmd, const char *arg, int64_t *v, bool *present)
{
	const char *end = arg, *what = NULL;
	char b[SHOWN_BUF];
	int pr;

	*present = strcmp(arg, "NA") != 0;
	pr = *present ? fix_parse(arg, &end, v) : AQ_OK;
	if (pr == AQ_ERR_RANGE)
		what = "out-of-range";
	else if (pr != AQ_OK || (*present && *end != '\0'))
		what = "bad";
	else if (*present && (*v < 0 || arg[0] == '-'))
		what = "negative";
	if (what != NULL)
		usage_error(cmd,
		    "%s value '%s' (expected a concentration or NA)", what,
		    shown(arg, b, sizeof(b)));
	return what != NULL ? EXIT_USAGE : EXIT_SUCCESS;
}

/*
 * Computes and prints {"nowcast":X,"aqi":N}.  The AQI is read as the TAD
 * reads a NowCast: PM on the 24-hour rows (as pm25_1h/pm10_1h of an
 * hourly EPA report), O3 on the 8-hour rows in ppm.
 */
static int
nowcast_print(const char *cmd, enum pol p, const int64_t *conc,
    const bool *present, int n)
{
	struct aqi_opts o = {.std = AQI_EPA_2024, .report = AQI_HOURLY};
	struct aqi_input in = {0};
	struct aqi_result r = {.aqi = -1};
	enum ind i = p == POL_PM25 ? IND_PM25_1H
	    : p == POL_PM10        ? IND_PM10_1H
				   : IND_O3_8H;
	char num[FIX_STR_MAX];
	json_t *out = NULL, *x = NULL;
	int64_t nc = 0;
	int nrc = aqi_nowcast(p, conc, present, n, &nc), rc = EXIT_FAILURE;

	if (nrc == AQ_OK) {
		in.has = IND_BIT(i);
		in.v[i] = nc;
		in.unit[i] = p == POL_O3 ? UNIT_PPM : UNIT_UGM3;
		nrc = aqi_compute(&o, &in, &r);
		/* The truncated NowCast has at most three decimals: the
		 * double nearest that text prints back as the same text
		 * under DUMP_FLAGS. */
		x = json_real(strtod(fix_format(nc, num, sizeof(num)), NULL));
	} else if (nrc == AQ_ERR_RANGE) {
		/* Fewer than 2 of the 3 latest hours: NA, not an error. */
		nrc = AQ_OK;
		x = json_null();
	}
	if (nrc != AQ_OK) {
		fprintf(stderr, "aqgrid %s: %s\n", cmd, aq_strerror(nrc));
		json_decref(x);
	} else if ((out = json_object()) == NULL) {
		json_decref(x);
	} else if (put(out, "nowcast", x) &&
	    put(out, "aqi", nullable_int(r.aqi < 0, r.aqi)) &&
	    emit(out) == AQ_OK) {
		rc = EXIT_SUCCESS;
	}
	json_decref(out);
	return finish_output(rc);
}

/* ---- status, cells, cell: asking a running aqgridd ---- */

static int
cmd_status(const struct cmd *c, int argc, char **argv)
{
	struct net_cfg cfg;
	struct client cl = {0};
	json_t *s = NULL;
	int rc = net_parse(c, NET_COMMON, 0, argc, argv, &cfg);

	if (rc != EXIT_SUCCESS) {
		/* told */
	} else if (cfg.help) {
		print_cmd_help(c);
	} else if (client_init(&cl, c->name, cfg.base) != AQ_OK ||
	    client_get_ok(&cl, "/api/v1/status", &s) != AQ_OK) {
		rc = EXIT_FAILURE;
	} else if (cfg.json) {
		rc = emit_raw(&cl.body) == AQ_OK ? EXIT_SUCCESS : EXIT_FAILURE;
	} else {
		status_print(cfg.base, s);
	}
	json_decref(s);
	client_fini(&cl);
	return finish_output(rc);
}

static int
cmd_cells(const struct cmd *c, int argc, char **argv)
{
	struct net_cfg cfg;
	struct client cl = {0};
	json_t *cells = NULL;
	int rc = net_parse(c, NET_COUNT, 0, argc, argv, &cfg);

	if (rc != EXIT_SUCCESS) {
		/* told */
	} else if (cfg.help) {
		print_cmd_help(c);
	} else if (client_init(&cl, c->name, cfg.base) != AQ_OK ||
	    cells_fetch(&cl, &cfg, &cells) != AQ_OK) {
		rc = EXIT_FAILURE;
	} else if (cfg.json) {
		if (emit(cells) == AQ_ERR_NOMEM) {
			fprintf(stderr, "aqgrid %s: %s\n", c->name,
			    aq_strerror(AQ_ERR_NOMEM));
			rc = EXIT_FAILURE;
		}
	} else if (cells_print(cells) != AQ_OK) {
		fprintf(stderr, "aqgrid %s: %s\n", c->name,
		    aq_strerror(AQ_ERR_NOMEM));
		rc = EXIT_FAILURE;
	}
	json_decref(cells);
	client_fini(&cl);
	return finish_output(rc);
}

static int
cmd_cell(const struct cmd *c, int argc, char **argv)
{
	struct net_cfg cfg;
	struct client cl = {0};
	json_t *cell = NULL;
	int rc = net_parse(c, NET_COMMON, 1, argc, argv, &cfg);

	if (rc != EXIT_SUCCESS) {
		/* told */
	} else if (cfg.help) {
		print_cmd_help(c);
	} else if (client_init(&cl, c->name, cfg.base) != AQ_OK ||
	    cell_fetch(&cl, cfg.id, &cell) != AQ_OK) {
		rc = EXIT_FAILURE;
	} else if (cfg.json) {
		rc = emit_raw(&cl.body) == AQ_OK ? EXIT_SUCCESS : EXIT_FAILURE;
	} else if (cell_print(cell) != AQ_OK) {
		fprintf(stderr, "aqgrid %s: %s\n", c->name,
		    aq_strerror(AQ_ERR_NOMEM));
		rc = EXIT_FAILURE;
	}
	json_decref(cell);
	client_fini(&cl);
	return finish_output(rc);
}

/*
 * aqgrid history: the options, then every page of the history asked
 * for.  CSV is written page by page as it comes (the header line once);
 * the table and --json need all the rows first.
 */
static int
cmd_history(const struct cmd *c, int argc, char **argv)
{
	struct hist_cfg cfg;
	struct client cl = {0};
	json_t *page = NULL;
	int rc = hist_parse(c, argc, argv, &cfg);

	if (rc != EXIT_SUCCESS) {
		/* told */
	} else if (cfg.help) {
		print_cmd_help(c);
	} else if (client_init(&cl, c->name, cfg.base) != AQ_OK ||
	    hist_fetch(&cl, &cfg, &page) != AQ_OK) {
		rc = EXIT_FAILURE;
	} else if (cfg.csv) {
		/* written */
	} else if (cfg.json) {
		if (emit(json_object_get(page, "results")) == AQ_ERR_NOMEM) {
			fprintf(stderr, "aqgrid %s: %s\n", c->name,
			    aq_strerror(AQ_ERR_NOMEM));
			rc = EXIT_FAILURE;
		}
	} else if (hist_print(&cfg, page) != AQ_OK) {
		fprintf(stderr, "aqgrid %s: %s\n", c->name,
		    aq_strerror(AQ_ERR_NOMEM));
		rc = EXIT_FAILURE;
	}
	json_decref(page);
	client_fini(&cl);
	return finish_output(rc);
}

/* The options and the ID of aqgrid history, then the URL as for the
 * others.  Returns EXIT_SUCCESS or, after telling, EXIT_USAGE. */
static int
hist_parse(const struct cmd *c, int argc, char **argv, struct hist_cfg *cfg)
{
	const char *url = NULL;
	char b[SHOWN_BUF];
	bool opts_done = false;
	int rc = EXIT_SUCCESS;

	*cfg = (struct hist_cfg){.page = HIST_PAGE};
	for (int i = 1; i < argc && rc == EXIT_SUCCESS && !cfg->help; i++) {
		const char *val = NULL;
		int id;

		if (!opts_done && strcmp(argv[i], "--") == 0) {
			opts_done = true;
		} else if (!opts_done && is_option(argv[i])) {
			id = take_option(
			    c->name, hist_opts, HO_COUNT, argc, argv, &i, &val);
			if (id < 0)
				rc = EXIT_USAGE;
			else if (id == HO_HELP || id == HO_HELP_SHORT)
				cfg->help = true;
			else if (id == HO_URL)
				url = val;
			else
				rc = hist_option(c->name, cfg, id, val);
		} else if (cfg->id == NULL) {
			cfg->id = argv[i];
		} else {
			usage_error(c->name, "unexpected argument '%s'",
			    shown(argv[i], b, sizeof(b)));
			rc = EXIT_USAGE;
		}
	}
	if (rc != EXIT_SUCCESS || cfg->help) {
		/* told, or nothing more to check */
	} else if (cfg->id == NULL || cfg->id[0] == '\0') {
		usage_error(c->name, "%s %s ID",
		    cfg->id == NULL ? "missing" : "empty",
		    cfg->area ? "area" : "cell");
		rc = EXIT_USAGE;
	} else if (cfg->csv && cfg->json) {
		usage_error(c->name, "--csv and --json exclude each other");
		rc = EXIT_USAGE;
	} else if (cfg->daily && cfg->area) {
		usage_error(c->name,
		    "--daily and --area exclude each other (areas have "
		    "hourly history only)");
		rc = EXIT_USAGE;
	} else {
		rc = pick_url(c->name, url, cfg->base, sizeof(cfg->base));
	}
	return rc;
}

/* Applies one option of aqgrid history; the daemon checks the times and
 * names, and its message says what is wrong with them. */
static int
hist_option(const char *cmd, struct hist_cfg *cfg, int id, const char *val)
{
	const char **slot = id == HO_FROM ? &cfg->from
	    : id == HO_TO                 ? &cfg->to
	    : id == HO_INDICATORS         ? &cfg->inds
					  : NULL;

	if (slot != NULL && val[0] == '\0') {
		usage_error(cmd, "empty %s", hist_opts[id].name);
		return EXIT_USAGE;
	}
	if (slot != NULL)
		*slot = val;
	else if (id == HO_JSON)
		cfg->json = true;
	else if (id == HO_CSV)
		cfg->csv = true;
	else if (id == HO_DAILY)
		cfg->daily = true;
	else if (id == HO_AREA)
		cfg->area = true;
	else if (id == HO_PAGE &&
	    (count_arg(val, HIST_PAGE, &cfg->page) != AQ_OK ||
		cfg->page == 0)) {
		char b[SHOWN_BUF];

		usage_error(cmd,
		    "bad --page '%s' (expected an integer from 1 to %d)",
		    shown(val, b, sizeof(b)), HIST_PAGE);
		return EXIT_USAGE;
	}
	return EXIT_SUCCESS;
}

/*
 * The query of every page but its cursor: the route, then limit, from,
 * to, indicators and format, each escaped.  Returns AQ_OK, or AQ_ERR_*
 * after telling why.
 */
static int
hist_path(struct client *cl, const struct hist_cfg *cfg, char *path, size_t len)
{
	const char *const vals[] = {cfg->id, cfg->from, cfg->to, cfg->inds};
	const char *const keys[] = {"", "&from=", "&to=", "&indicators="};
	char *esc[4] = {NULL, NULL, NULL, NULL};
	size_t n;
	int rc = AQ_ERR_NOMEM;

	for (int k = 0; k < 4; k++)
		if (vals[k] != NULL &&
		    (esc[k] = curl_easy_escape(cl->curl, vals[k], 0)) == NULL) {
			fprintf(stderr, "aqgrid %s: %s\n", cl->cmd,
			    aq_strerror(rc));
			goto out;
		}
	n = (size_t)snprintf(path, len, "/api/v1/%s/%s/%s?limit=%ld%s",
	    cfg->area ? "areas" : "cells", esc[0],
	    cfg->daily ? "daily" : "history", cfg->page,
	    cfg->csv ? "&format=csv" : "");
	for (int k = 1; k < 4 && n < len; k++)
		if (esc[k] != NULL)
			n += (size_t)snprintf(
			    path + n, len - n, "%s%s", keys[k], esc[k]);
	rc = AQ_OK;
	if (n >= len) {
		fprintf(stderr, "aqgrid %s: arguments too long\n", cl->cmd);
		rc = AQ_ERR_INVAL;
	}
out:
	for (int k = 0; k < 4; k++)
		curl_free(esc[k]);
	return rc;
}

/*
 * Every page, following next_cursor (X-Next-Cursor for CSV) until there
 * is none.  CSV goes to stdout as it comes; otherwise *out gets the
 * first page's answer (owned) with the results of all.  A cursor that
 * does not move on is an error, not a loop.
 */
static int
hist_fetch(struct client *cl, const struct hist_cfg *cfg, json_t **out)
{
	char path[URL_MAX], url[URL_MAX + HIST_CURSOR_MAX + 16];
	char cursor[HIST_CURSOR_MAX] = "", *esc = NULL;
	json_t *first = NULL, *j = NULL, *res;
	const char *next;
	long code = 0;
	int rc;

	if ((rc = hist_path(cl, cfg, path, sizeof(path))) != AQ_OK)
		return rc;
	for (int pages = 0; rc == AQ_OK; pages++) {
		/* The page before is done with (next pointed into it). */
		if (j != first)
			json_decref(j);
		j = NULL;
		snprintf(url, sizeof(url), "%s%s%s", path,
		    esc != NULL ? "&cursor=" : "", esc != NULL ? esc : "");
		curl_free(esc);
		esc = NULL;
		if ((rc = client_raw(cl, url, &code)) != AQ_OK)
			break;
		if (code != 200) {
			hist_fail(cl, cfg, code);
			rc = AQ_ERR_IO;
			break;
		}
		if (cfg->csv) {
			const char *p = cl->body.p != NULL ? cl->body.p : "";
			size_t skip = 0;

			/* The header line once, from the first page. */
			if (pages > 0)
				skip = strcspn(p, "\n") +
				    (p[strcspn(p, "\n")] != '\0');
			if (fwrite(p + skip, 1, cl->body.len - skip, stdout) !=
			    cl->body.len - skip) {
				rc = AQ_ERR_IO;
				break;
			}
			next = cl->next;
		} else {
			j = json_loadb(cl->body.p != NULL ? cl->body.p : "",
			    cl->body.len, 0, NULL);
			res = json_object_get(j, "results");
			next = json_string_value(
			    json_object_get(j, "next_cursor"));
			if (!json_is_array(res)) {
				fprintf(stderr,
				    "aqgrid %s: %s: unexpected answer to %s\n",
				    cl->cmd, cl->base, path);
				rc = AQ_ERR_IO;
				break;
			}
			if (first == NULL) {
				first = j;
			} else if (json_array_extend(
				       json_object_get(first, "results"),
				       res) != 0) {
				fprintf(stderr, "aqgrid %s: %s\n", cl->cmd,
				    aq_strerror(AQ_ERR_NOMEM));
				rc = AQ_ERR_NOMEM;
				break;
			}
		}
		if (next == NULL || next[0] == '\0')
			break;
		if (strcmp(next, cursor) == 0 ||
		    strlen(next) >= sizeof(cursor)) {
			fprintf(stderr,
			    "aqgrid %s: %s: unexpected answer to %s (the "
			    "cursor does not move on)\n",
			    cl->cmd, cl->base, path);
			rc = AQ_ERR_IO;
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s", next);
		if ((esc = curl_easy_escape(cl->curl, cursor, 0)) == NULL) {
			fprintf(stderr, "aqgrid %s: %s\n", cl->cmd,
			    aq_strerror(AQ_ERR_NOMEM));
			rc = AQ_ERR_NOMEM;
		}
	}
	if (j != first)
		json_decref(j);
	if (rc == AQ_OK && !cfg->csv)
		*out = first;
	else
		json_decref(first);
	return rc;
}

/* Tells an error answer: the cell or area the daemon lacks by name, else
 * the daemon's own message (a bad time, no store, ...). */
static void
hist_fail(const struct client *cl, const struct hist_cfg *cfg, long code)
{
	json_t *j = json_loadb(
	    cl->body.p != NULL ? cl->body.p : "", cl->body.len, 0, NULL);
	const char *why = str_at(j, "error", NULL);
	char b[SHOWN_BUF];

	if (code == 404 &&
	    strcmp(why, cfg->area ? "no such area" : "no such cell") == 0)
		fprintf(stderr, "aqgrid %s: no %s '%s'\n", cl->cmd,
		    cfg->area ? "area" : "cell", shown(cfg->id, b, sizeof(b)));
	else
		client_fail(cl, code, j);
	json_decref(j);
}

/*
 * The table of aqgrid history: the row's hour (or date), then for a cell
 * its AQI, level, primary pollutants and exceedances, for an area the
 * cells reporting, the worst one with its AQI and level; then a column
 * per indicator (an area's: the mean).  Without --indicators the
 * indicators without any value are left out.
 */
static int
hist_print(const struct hist_cfg *cfg, json_t *page)
{
	json_t *rows = json_object_get(page, "results"), *inds, *r, *v;
	const char *heads[TABLE_COLS_MAX], *names[TABLE_COLS_MAX];
	bool right[TABLE_COLS_MAX] = {false};
	const char *vals = cfg->area ? "mean" : "concentrations";
	char b[SHOWN_BUF], f[2][SHOWN_BUF];
	int ncols = 0, nfixed, ninds = 0;
	struct table t;
	size_t k, i;
	int rc;

	if (json_array_size(rows) == 0) {
		printf("no %s from %s to %s\n", cfg->daily ? "days" : "hours",
		    field(json_object_get(page, "from"), f[0], sizeof(f[0])),
		    field(json_object_get(page, "to"), f[1], sizeof(f[1])));
		return AQ_OK;
	}
	heads[ncols++] = cfg->daily ? "DATE" : "HOUR";
	if (cfg->area) {
		heads[ncols++] = "CELLS";
		heads[ncols++] = "WORST";
	}
	heads[ncols++] = "AQI";
	heads[ncols++] = "LEVEL";
	if (!cfg->area) {
		heads[ncols++] = "PRIMARY";
		heads[ncols++] = "EXCEEDS";
	}
	nfixed = ncols;
	for (int c = 1; c < nfixed; c++)
		right[c] = strcmp(heads[c], "AQI") == 0 ||
		    strcmp(heads[c], "LEVEL") == 0 ||
		    strcmp(heads[c], "CELLS") == 0;
	inds = json_object_get(page, "indicators");
	json_array_foreach(inds, k, v)
	{
		bool any = cfg->inds != NULL;

		json_array_foreach(rows, i, r)
		{
			any = any ||
			    json_is_number(at(r, vals, json_string_value(v)));
		}
		if (any && json_is_string(v) && ncols < TABLE_COLS_MAX) {
			names[ninds++] = json_string_value(v);
			right[ncols] = true;
			heads[ncols++] = json_string_value(v);
		}
	}
	table_init(&t, ncols, heads, right);
	json_array_foreach(rows, k, r)
	{
		if (cfg->daily)
			table_add(&t,
			    field(json_object_get(r, "date"), b, sizeof(b)));
		else
			table_add(&t,
			    time_text(json_object_get(r, "hour"), false, false,
				b, sizeof(b)));
		if (cfg->area) {
			snprintf(b, sizeof(b),
			    "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT,
			    json_integer_value(json_object_get(r, "reporting")),
			    json_integer_value(json_object_get(page, "cells")));
			table_add(&t, b);
			table_add(
			    &t, field(at(r, "worst", "cell"), b, sizeof(b)));
			table_add(
			    &t, field(at(r, "worst", "aqi"), b, sizeof(b)));
			table_add(
			    &t, field(at(r, "worst", "level"), b, sizeof(b)));
		} else {
			table_add(
			    &t, field(json_object_get(r, "aqi"), b, sizeof(b)));
			table_add(&t,
			    field(json_object_get(r, "level"), b, sizeof(b)));
			table_add(&t,
			    list_text(json_object_get(r, "primary"), "-", b,
				sizeof(b)));
			table_add(&t,
			    list_text(json_object_get(r, "exceeds"), "-", b,
				sizeof(b)));
		}
		for (int n = 0; n < ninds; n++)
			table_add(
			    &t, num_text(at(r, vals, names[n]), b, sizeof(b)));
	}
	rc = table_print(&t);
	table_fini(&t);
	return rc;
}

/*
 * The options and arguments of status and cells (no argument) or cell
 * (nids 1: the cell's ID), then the daemon's URL: --url, else $AQGRID_URL,
 * else DEFAULT_URL.  Only the first nspecs of net_opts[] are taken.
 * Returns EXIT_SUCCESS or, after telling, EXIT_USAGE.
 */
static int
net_parse(const struct cmd *c, int nspecs, int nids, int argc, char **argv,
    struct net_cfg *cfg)
{
	const char *url = NULL;
	char b[SHOWN_BUF];
	bool opts_done = false;
	int ids = 0, rc = EXIT_SUCCESS;

	*cfg = (struct net_cfg){.min_aqi = -1};
	for (int i = 1; i < argc && rc == EXIT_SUCCESS && !cfg->help; i++) {
		const char *val = NULL;
		int id;

		if (!opts_done && strcmp(argv[i], "--") == 0) {
			opts_done = true;
		} else if (!opts_done && is_option(argv[i])) {
			id = take_option(
			    c->name, net_opts, nspecs, argc, argv, &i, &val);
			if (id < 0)
				rc = EXIT_USAGE;
			else if (id == NET_HELP || id == NET_HELP_SHORT)
				cfg->help = true;
			else if (id == NET_URL)
				url = val;
			else
				rc = net_option(c->name, cfg, id, val);
		} else if (ids < nids) {
			cfg->id = argv[i];
			ids++;
		} else {
			usage_error(c->name, "unexpected argument '%s'",
			    shown(argv[i], b, sizeof(b)));
			rc = EXIT_USAGE;
		}
	}
	if (rc != EXIT_SUCCESS || cfg->help) {
		/* told, or nothing more to check */
	} else if (nids > 0 && cfg->id == NULL) {
		usage_error(c->name, "missing cell ID");
		rc = EXIT_USAGE;
	} else if (nids > 0 && cfg->id[0] == '\0') {
		usage_error(c->name, "empty cell ID");
		rc = EXIT_USAGE;
	} else {
		rc = pick_url(c->name, url, cfg->base, sizeof(cfg->base));
	}
	return rc;
}

/* Applies one option; returns EXIT_SUCCESS or, after telling, EXIT_USAGE. */
static int
net_option(const char *cmd, struct net_cfg *cfg, int id, const char *val)
{
	char b[SHOWN_BUF], expect[64] = "";

	switch (id) {
	case NET_JSON:
		cfg->json = true;
		break;
	case NET_AREA:
		if (val[0] == '\0')
			snprintf(expect, sizeof(expect), "an area id");
		else
			cfg->area = val;
		break;
	case NET_MIN_AQI:
		if (count_arg(val, MIN_AQI_MAX, &cfg->min_aqi) != AQ_OK)
			snprintf(expect, sizeof(expect),
			    "an integer from 0 to %ld", MIN_AQI_MAX);
		break;
	case NET_SORT:
		if (strcmp(val, "aqi") == 0 || strcmp(val, "id") == 0)
			cfg->sort = val;
		else
			snprintf(expect, sizeof(expect), "aqi or id");
		break;
	case NET_LIMIT:
		if (count_arg(val, CELLS_LIMIT_MAX, &cfg->limit) != AQ_OK ||
		    cfg->limit == 0)
			snprintf(expect, sizeof(expect),
			    "an integer from 1 to %ld", CELLS_LIMIT_MAX);
		break;
	default:
		break;
	}
	if (expect[0] != '\0')
		usage_error(cmd, "bad %s '%s' (expected %s)", net_opts[id].name,
		    shown(val, b, sizeof(b)), expect);
	return expect[0] != '\0' ? EXIT_USAGE : EXIT_SUCCESS;
}

/* Digits only, at most max, into *out: AQ_OK, AQ_ERR_INVAL or
 * AQ_ERR_RANGE.  (strtol would take a sign and leading blanks.) */
static int
count_arg(const char *s, long max, long *out)
{
	long v = 0;
	int rc = *s != '\0' ? AQ_OK : AQ_ERR_INVAL;

	for (; *s != '\0' && rc == AQ_OK; s++) {
		if (*s < '0' || *s > '9')
			rc = AQ_ERR_INVAL;
		else if ((v = v * 10 + (*s - '0')) > max)
			rc = AQ_ERR_RANGE;
	}
	if (rc == AQ_OK)
		*out = v;
	return rc;
}

/* The daemon's base URL: --url, else $AQGRID_URL, else the default. */
static int
pick_url(const char *cmd, const char *url, char *base, size_t len)
{
	const char *env = getenv(URL_ENV);

	if (url != NULL)
		return base_url(cmd, "--url", url, base, len);
	if (env != NULL && *env != '\0')
		return base_url(cmd, URL_ENV, env, base, len);
	return base_url(cmd, "URL", DEFAULT_URL, base, len);
}

/*
 * Checks the daemon's URL (what names where it came from) and copies it
 * into base without its trailing '/', for the API's paths to follow.  It
 * is http:// or https://, a host, then no blank, control byte, '?' or
 * '#'.  Returns EXIT_SUCCESS or, after telling, EXIT_USAGE.
 */
static int
base_url(
    const char *cmd, const char *what, const char *url, char *base, size_t len)
{
	size_t n = strlen(url), skip = 0;
	char b[SHOWN_BUF];
	bool ok;

	if (strncmp(url, "http://", 7) == 0)
		skip = 7;
	else if (strncmp(url, "https://", 8) == 0)
		skip = 8;
	ok = skip > 0 && url[skip] != '\0' && strchr("/:?#", url[skip]) == NULL;
	for (size_t k = 0; k < n && ok; k++)
		ok = (unsigned char)url[k] > ' ' && url[k] != 0x7f &&
		    url[k] != '?' && url[k] != '#';
	while (ok && url[n - 1] == '/')
		n--;
	if (!ok) {
		usage_error(cmd,
		    "bad %s '%s' (expected http://HOST[:PORT][/PATH] or "
		    "https://...)",
		    what, shown(url, b, sizeof(b)));
	} else if (n >= len) {
		usage_error(
		    cmd, "%s too long (at most %zu bytes)", what, len - 1);
		ok = false;
	} else {
		memcpy(base, url, n);
		base[n] = '\0';
	}
	return ok ? EXIT_SUCCESS : EXIT_USAGE;
}

/*
 * Readies cl to ask the daemon at base (borrowed until client_fini()).
 * Returns AQ_OK, or AQ_ERR_NOMEM after telling; client_fini() is due
 * either way.
 */
static int
client_init(struct client *cl, const char *cmd, const char *base)
{
	CURL *c = NULL;
	bool ok;

	*cl = (struct client){.cmd = cmd, .base = base};
	ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
	cl->global = ok;
	ok = ok && (c = cl->curl = curl_easy_init()) != NULL;
	/* No signals (SIGALRM for name look-ups), bounded waits, and the
	 * answer's body whatever its status: errors come as JSON. */
	ok = ok && curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
	ok = ok &&
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, HTTP_TIMEOUT) ==
		CURLE_OK;
	ok = ok &&
	    curl_easy_setopt(c, CURLOPT_TIMEOUT, HTTP_TIMEOUT) == CURLE_OK;
	ok = ok &&
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") ==
		CURLE_OK;
	ok = ok &&
	    curl_easy_setopt(
		c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)BODY_MAX) == CURLE_OK;
	ok = ok &&
	    curl_easy_setopt(c, CURLOPT_USERAGENT, "aqgrid/" AQ_VERSION) ==
		CURLE_OK;
	ok =
	    ok && curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cl->err) == CURLE_OK;
	ok = ok &&
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK;
	ok = ok &&
	    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK;
	ok =
	    ok && curl_easy_setopt(c, CURLOPT_HEADERDATA, cl->next) == CURLE_OK;
	ok =
	    ok && curl_easy_setopt(c, CURLOPT_WRITEDATA, &cl->body) == CURLE_OK;
	if (!ok)
		fprintf(stderr, "aqgrid %s: cannot set up libcurl\n", cmd);
	return ok ? AQ_OK : AQ_ERR_NOMEM;
}

/* Frees what client_init() made; a zeroed cl is a no-op. */
static void
client_fini(struct client *cl)
{
	curl_easy_cleanup(cl->curl);
	free(cl->body.p);
	if (cl->global)
		curl_global_cleanup();
	*cl = (struct client){0};
}

/* libcurl's write callback: appends to the body, up to BODY_MAX. */
static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t len = size * n, cap = b->cap;
	char *p = b->p;

	if (len > BODY_MAX - b->len) {
		b->too_big = true;
		len = 0;
	} else {
		while (cap < b->len + len + 1)
			cap = cap > 0 ? cap * 2 : 16384;
		if (cap != b->cap && (p = realloc(b->p, cap)) == NULL) {
			b->nomem = true;
			len = 0;
		} else {
			b->p = p;
			b->cap = cap;
			memcpy(b->p + b->len, data, len);
			b->len += len;
			b->p[b->len] = '\0';
		}
	}
	/* Returning less than was given stops the transfer. */
	return len == size * n ? len : 0;
}

/*
 * GETs path (after the base URL).  Returns AQ_OK with the status in
 * *code, the answer's text in cl->body and its X-Next-Cursor in cl->next
 * ("" for none), until the next request; else tells why and returns
 * AQ_ERR_IO.
 */
static int
client_raw(struct client *cl, const char *path, long *code)
{
	char url[URL_MAX];
	CURLcode r = CURLE_OK;
	int rc = AQ_ERR_IO;

	cl->body.len = 0;
	cl->body.too_big = cl->body.nomem = false;
	if (cl->body.p != NULL)
		cl->body.p[0] = '\0';
	cl->err[0] = '\0';
	cl->next[0] = '\0';
	if ((size_t)snprintf(url, sizeof(url), "%s%s", cl->base, path) >=
	    sizeof(url))
		fprintf(stderr, "aqgrid %s: request too long\n", cl->cmd);
	else if ((r = curl_easy_setopt(cl->curl, CURLOPT_URL, url)) !=
		CURLE_OK ||
	    (r = curl_easy_perform(cl->curl)) != CURLE_OK)
		client_reach_fail(cl, r);
	else if (curl_easy_getinfo(cl->curl, CURLINFO_RESPONSE_CODE, code) ==
	    CURLE_OK)
		rc = AQ_OK;
	else
		fprintf(stderr, "aqgrid %s: %s: no HTTP status\n", cl->cmd,
		    cl->base);
	return rc;
}

/* libcurl's header callback: keeps X-Next-Cursor (arg, HIST_CURSOR_MAX
 * bytes) of the last answer; a longer one is dropped. */
static size_t
on_header(char *data, size_t size, size_t n, void *arg)
{
	static const char name[] = "X-Next-Cursor:";
	char *next = arg;
	size_t len = size * n, k = sizeof(name) - 1, e;

	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0)
		next[0] = '\0';
	if (len > k && strncasecmp(data, name, k) == 0) {
		while (k < len && (data[k] == ' ' || data[k] == '\t'))
			k++;
		for (e = len; e > k && strchr(" \t\r\n", data[e - 1]) != NULL;
		     e--)
			;
		if (e - k < HIST_CURSOR_MAX) {
			memcpy(next, data + k, e - k);
			next[e - k] = '\0';
		}
	}
	return len;
}

/*
 * GETs path (after the base URL) and parses the answer, whatever its
 * status.  Returns AQ_OK with the status in *code and the JSON (owned) in
 * *out; else tells why and returns AQ_ERR_IO.  The answer's text stays in
 * cl->body until the next request.
 */
static int
client_get(struct client *cl, const char *path, long *code, json_t **out)
{
	json_error_t e;
	json_t *j = NULL;
	long status = 0;

	if (client_raw(cl, path, &status) != AQ_OK) {
		/* told */
	} else if ((j = json_loadb(cl->body.p != NULL ? cl->body.p : "",
			cl->body.len, 0, &e)) == NULL) {
		if (status == 200)
			fprintf(stderr,
			    "aqgrid %s: %s: the answer is not JSON\n", cl->cmd,
			    cl->base);
		else
			fprintf(stderr, "aqgrid %s: %s: HTTP %ld\n", cl->cmd,
			    cl->base, status);
	} else {
		*code = status;
		*out = j;
	}
	return j != NULL ? AQ_OK : AQ_ERR_IO;
}

/* client_get(), for an answer that must be HTTP 200. */
static int
client_get_ok(struct client *cl, const char *path, json_t **out)
{
	json_t *j = NULL;
	long code = 0;
	int rc = client_get(cl, path, &code, &j);

	if (rc == AQ_OK && code != 200) {
		client_fail(cl, code, j);
		json_decref(j);
		rc = AQ_ERR_IO;
	} else if (rc == AQ_OK) {
		*out = j;
	}
	return rc;
}

/* Tells an HTTP error, with the API's {"error": ...} text when given. */
static void
client_fail(const struct client *cl, long code, json_t *j)
{
	const char *why = json_string_value(json_object_get(j, "error"));
	char b[SHOWN_BUF];

	if (why != NULL)
		fprintf(stderr, "aqgrid %s: %s: HTTP %ld: %s\n", cl->cmd,
		    cl->base, code, shown(why, b, sizeof(b)));
	else
		fprintf(stderr, "aqgrid %s: %s: HTTP %ld\n", cl->cmd, cl->base,
		    code);
}

/* Tells why a request got no answer. */
static void
client_reach_fail(const struct client *cl, CURLcode rc)
{
	const char *why = cl->err[0] != '\0' ? cl->err : curl_easy_strerror(rc);
	char b[SHOWN_BUF];
	long oserr = 0;

	/* "Connection refused" says more than libcurl's "Failed to connect
	 * to 127.0.0.1 port 8080 after 0 ms: Couldn't connect to server". */
	if (rc == CURLE_COULDNT_CONNECT &&
	    curl_easy_getinfo(cl->curl, CURLINFO_OS_ERRNO, &oserr) ==
		CURLE_OK &&
	    oserr != 0)
		why = strerror((int)oserr);
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		fprintf(stderr, "aqgrid %s: cannot reach %s: %s\n", cl->cmd,
		    cl->base, shown(why, b, sizeof(b)));
		break;
	case CURLE_OPERATION_TIMEDOUT:
		fprintf(stderr, "aqgrid %s: %s: no answer within %ld s\n",
		    cl->cmd, cl->base, HTTP_TIMEOUT);
		break;
	case CURLE_FILESIZE_EXCEEDED:
	case CURLE_WRITE_ERROR:
		if (rc == CURLE_FILESIZE_EXCEEDED || cl->body.too_big)
			fprintf(stderr,
			    "aqgrid %s: %s: answer larger than %zu MiB\n",
			    cl->cmd, cl->base, BODY_MAX >> 20);
		else
			fprintf(stderr, "aqgrid %s: %s\n", cl->cmd,
			    aq_strerror(AQ_ERR_NOMEM));
		break;
	default:
		fprintf(stderr, "aqgrid %s: %s: %s\n", cl->cmd, cl->base,
		    shown(why, b, sizeof(b)));
		break;
	}
}

/* Prints an answer as it came, without trailing blanks, and a newline. */
static int
emit_raw(const struct body *b)
{
	size_t n = b->len;

	while (n > 0 && strchr(" \t\r\n", b->p[n - 1]) != NULL)
		n--;
	return fwrite(b->p, 1, n, stdout) == n && putchar('\n') != EOF
	    ? AQ_OK
	    : AQ_ERR_IO;
}

/*
 * The cells the filters let through, all of them or the first
 * cfg->limit, page after page, as one array (owned) in *out.  Returns
 * AQ_OK, or AQ_ERR_* after telling why.
 */
static int
cells_fetch(struct client *cl, const struct net_cfg *cfg, json_t **out)
{
	json_t *all = json_array(), *page = NULL, *res, *next;
	char cursor[24] = "";
	long got = 0, want, off = 0, prev = 0;
	bool more = true;
	int rc = all != NULL ? AQ_OK : AQ_ERR_NOMEM;

	while (rc == AQ_OK && more) {
		want = PAGE_CELLS;
		if (cfg->limit > 0 && cfg->limit - got < want)
			want = cfg->limit - got;
		rc = cells_page(
		    cl, cfg, cursor[0] != '\0' ? cursor : NULL, want, &page);
		res = json_object_get(page, "results");
		next = at(page, "meta", "next");
		more = json_is_string(next);
		/* A cursor is an offset: it must move on, or paging would
		 * never end. */
		if (rc == AQ_OK &&
		    (!json_is_array(res) ||
			(more &&
			    (json_array_size(res) == 0 ||
				count_arg(json_string_value(next), INT32_MAX,
				    &off) != AQ_OK ||
				off <= prev)))) {
			fprintf(stderr,
			    "aqgrid %s: %s: unexpected answer to "
			    "/api/v1/cells\n",
			    cl->cmd, cl->base);
			rc = AQ_ERR_IO;
		} else if (rc == AQ_OK && json_array_extend(all, res) != 0) {
			rc = AQ_ERR_NOMEM;
			fprintf(stderr, "aqgrid %s: %s\n", cl->cmd,
			    aq_strerror(rc));
		} else if (rc == AQ_OK) {
			got += (long)json_array_size(res);
			more = more && (cfg->limit == 0 || got < cfg->limit);
			snprintf(cursor, sizeof(cursor), "%ld", off);
			prev = off;
		}
		json_decref(page);
		page = NULL;
	}
	if (rc == AQ_OK)
		*out = all;
	else
		json_decref(all);
	return rc;
}

/*
 * The cell id, as /api/v1/cells/ID answers.  Returns AQ_OK with the
 * answer (owned) in *out, or AQ_ERR_* after telling why.
 */
static int
cell_fetch(struct client *cl, const char *id, json_t **out)
{
	char path[URL_MAX], b[SHOWN_BUF], *esc = NULL;
	json_t *j = NULL;
	long code = 0;
	int rc = AQ_ERR_NOMEM;

	if ((esc = curl_easy_escape(cl->curl, id, 0)) == NULL) {
		fprintf(stderr, "aqgrid %s: %s\n", cl->cmd, aq_strerror(rc));
		goto out;
	}
	if ((size_t)snprintf(path, sizeof(path), "/api/v1/cells/%s", esc) >=
	    sizeof(path)) {
		fprintf(stderr, "aqgrid %s: cell ID too long\n", cl->cmd);
		rc = AQ_ERR_INVAL;
		goto out;
	}
	if ((rc = client_get(cl, path, &code, &j)) != AQ_OK)
		goto out;
	/* The API's words for a cell it lacks, as against a path it does
	 * not serve ("not found": then the URL is wrong). */
	if (code == 404 &&
	    strcmp(str_at(j, "error", NULL), "no such cell") == 0) {
		fprintf(stderr, "aqgrid %s: no cell '%s'\n", cl->cmd,
		    shown(id, b, sizeof(b)));
		rc = AQ_ERR_IO;
	} else if (code != 200) {
		client_fail(cl, code, j);
		rc = AQ_ERR_IO;
	} else {
		*out = j;
		j = NULL;
	}
out:
	json_decref(j);
	curl_free(esc);
	return rc;
}

/*
 * One page of /api/v1/cells: want cells from cursor (NULL: the first).
 * Returns AQ_OK with the answer (owned) in *page, or AQ_ERR_* after
 * telling why.
 */
static int
cells_page(struct client *cl, const struct net_cfg *cfg, const char *cursor,
    long want, json_t **page)
{
	char path[URL_MAX], b[SHOWN_BUF], *area = NULL;
	size_t n;
	json_t *j = NULL;
	long code = 0;
	int rc = AQ_ERR_NOMEM;

	if (cfg->area != NULL &&
	    (area = curl_easy_escape(cl->curl, cfg->area, 0)) == NULL) {
		fprintf(stderr, "aqgrid %s: %s\n", cl->cmd, aq_strerror(rc));
		goto out;
	}
	n = (size_t)snprintf(path, sizeof(path), "/api/v1/cells?limit=%ld%s%s",
	    want, area != NULL ? "&area=" : "", area != NULL ? area : "");
	if (n < sizeof(path) && cfg->min_aqi >= 0)
		n += (size_t)snprintf(
		    path + n, sizeof(path) - n, "&min_aqi=%ld", cfg->min_aqi);
	if (n < sizeof(path) && cfg->sort != NULL)
		n += (size_t)snprintf(
		    path + n, sizeof(path) - n, "&sort=%s", cfg->sort);
	if (n < sizeof(path) && cursor != NULL)
		n += (size_t)snprintf(
		    path + n, sizeof(path) - n, "&cursor=%s", cursor);
	if (n >= sizeof(path)) {
		fprintf(stderr, "aqgrid %s: --area too long\n", cl->cmd);
		rc = AQ_ERR_INVAL;
		goto out;
	}
	if ((rc = client_get(cl, path, &code, &j)) != AQ_OK)
		goto out;
	/* As for cell: the API's words for an area it lacks. */
	if (code == 404 && cfg->area != NULL &&
	    strcmp(str_at(j, "error", NULL), "area: no such area") == 0) {
		fprintf(stderr, "aqgrid %s: no area '%s'\n", cl->cmd,
		    shown(cfg->area, b, sizeof(b)));
		rc = AQ_ERR_IO;
	} else if (code != 200) {
		client_fail(cl, code, j);
		rc = AQ_ERR_IO;
	} else {
		*page = j;
		j = NULL;
	}
out:
	json_decref(j);
	curl_free(area);
	return rc;
}

/* The table of aqgrid cells. */
static int
cells_print(json_t *cells)
{
	static const char *const heads[] = {"ID", "AREA", "HOUR", "AQI",
	    "LEVEL", "PRIMARY", "PM2.5 1h", "O3 1h", "STATUS"};
	static const bool right[] = {
	    false, false, false, true, false, false, true, true, false};
	char b[SHOWN_BUF];
	struct table t;
	json_t *c;
	size_t k;
	int rc;

	table_init(&t, (int)(sizeof(heads) / sizeof(heads[0])), heads, right);
	json_array_foreach(cells, k, c)
	{
		table_add(&t, field(json_object_get(c, "id"), b, sizeof(b)));
		table_add(&t, field(json_object_get(c, "area"), b, sizeof(b)));
		table_add(&t,
		    time_text(json_object_get(c, "hour"), false, false, b,
			sizeof(b)));
		table_add(&t, field(json_object_get(c, "aqi"), b, sizeof(b)));
		table_add(&t, level_text(c, b, sizeof(b)));
		table_add(&t,
		    list_text(
			json_object_get(c, "primary"), "-", b, sizeof(b)));
		table_add(
		    &t, field(json_object_get(c, "pm25_1h"), b, sizeof(b)));
		table_add(&t, field(json_object_get(c, "o3_1h"), b, sizeof(b)));
		table_add(
		    &t, field(json_object_get(c, "status"), b, sizeof(b)));
	}
	rc = table_print(&t);
	table_fini(&t);
	return rc;
}

/* The summary of aqgrid status. */
static void
status_print(const char *base, json_t *s)
{
	json_t *rej = json_object_get(s, "rejected"), *v;
	const char *key;
	char f[4][SHOWN_BUF], why[1024] = "";
	size_t n = 0;

	print_kv("url", "%s", base);
	print_kv("version", "%s",
	    field(json_object_get(s, "version"), f[0], sizeof(f[0])));
	print_kv("uptime", "%s (since %s)",
	    uptime_text(json_integer_value(json_object_get(s, "uptime")), f[0],
		sizeof(f[0])),
	    time_text(
		json_object_get(s, "started"), true, true, f[1], sizeof(f[1])));
	print_kv("mqtt", "%s, reconnects %s",
	    json_is_true(at(s, "mqtt", "connected")) ? "connected"
						     : "disconnected",
	    field(at(s, "mqtt", "reconnects"), f[0], sizeof(f[0])));
	/* The reasons that occurred, in the API's order. */
	json_object_foreach(rej, key, v)
	{
		if (json_integer_value(v) > 0 && n < sizeof(why))
			n += (size_t)snprintf(why + n, sizeof(why) - n,
			    "%s%s %" JSON_INTEGER_FORMAT, n > 0 ? ", " : "",
			    shown(key, f[0], sizeof(f[0])),
			    json_integer_value(v));
	}
	print_kv("readings", "accepted %s, rejected %s%s%s%s",
	    field(at(s, "readings", "accepted"), f[0], sizeof(f[0])),
	    field(at(s, "readings", "rejected"), f[1], sizeof(f[1])),
	    n > 0 ? " (" : "", why, n > 0 ? ")" : "");
	print_kv("cells", "%s",
	    field(json_object_get(s, "cells"), f[0], sizeof(f[0])));
	print_kv("sensors", "%s",
	    field(json_object_get(s, "sensors"), f[0], sizeof(f[0])));
	print_kv("standard", "%s, limits %s grade %s, time zone %s",
	    field(at(s, "standard", "aqi"), f[0], sizeof(f[0])),
	    field(at(s, "standard", "limits"), f[1], sizeof(f[1])),
	    field(at(s, "standard", "grade"), f[2], sizeof(f[2])),
	    field(at(s, "standard", "timezone"), f[3], sizeof(f[3])));
	print_kv("queue", "depth %s of %s",
	    field(at(s, "queue", "depth"), f[0], sizeof(f[0])),
	    field(at(s, "queue", "capacity"), f[1], sizeof(f[1])));
}

/* The block of aqgrid cell: facts, then the indicators and the sensors. */
static int
cell_print(json_t *c)
{
	static const char *const iheads[] = {
	    "INDICATOR", "VALUE", "UNIT", "IAQI", "HOURS"};
	static const bool iright[] = {false, true, false, true, true};
	static const char *const sheads[] = {"SENSOR", "LAST SEEN", "STATUS"};
	static const bool sright[] = {false, false, false};
	json_t *aqi = json_object_get(c, "aqi"),
	       *day = json_object_get(c, "day");
	json_t *sensors = json_object_get(c, "sensors"), *v;
	struct table ind, sen;
	char f[5][SHOWN_BUF];
	size_t k;
	int rc;

	print_kv(
	    "cell", "%s", field(json_object_get(c, "id"), f[0], sizeof(f[0])));
	field(json_object_get(c, "area"), f[0], sizeof(f[0]));
	field(json_object_get(c, "area_name"), f[1], sizeof(f[1]));
	if (json_is_string(json_object_get(c, "area_name")) &&
	    strcmp(f[0], f[1]) != 0)
		print_kv("area", "%s (%s)", f[0], f[1]);
	else
		print_kv("area", "%s", f[0]);
	print_kv("hour", "%s",
	    time_text(
		json_object_get(c, "hour"), false, true, f[0], sizeof(f[0])));
	print_kv("status", "%s",
	    field(json_object_get(c, "status"), f[0], sizeof(f[0])));
	print_kv("aqi", "%s (%s, %s)",
	    field(json_object_get(aqi, "value"), f[0], sizeof(f[0])),
	    field(json_object_get(aqi, "standard"), f[1], sizeof(f[1])),
	    field(json_object_get(aqi, "report"), f[2], sizeof(f[2])));
	print_kv("level", "%s", level_text(aqi, f[0], sizeof(f[0])));
	print_kv("primary", "%s",
	    list_text(
		json_object_get(aqi, "primary"), "-", f[0], sizeof(f[0])));
	json_array_foreach(json_object_get(aqi, "notes"), k, v)
	{
		print_kv("note", "%s", field(v, f[0], sizeof(f[0])));
	}
	print_kv("exceeds", "%s",
	    list_text(
		json_object_get(c, "exceeds"), "none", f[0], sizeof(f[0])));
	if (json_is_object(day))
		print_kv("day", "%s: AQI %s, level %s, primary %s, exceeds %s",
		    field(json_object_get(day, "date"), f[0], sizeof(f[0])),
		    field(at(day, "aqi", "value"), f[1], sizeof(f[1])),
		    level_text(json_object_get(day, "aqi"), f[2], sizeof(f[2])),
		    list_text(
			at(day, "aqi", "primary"), "-", f[3], sizeof(f[3])),
		    list_text(json_object_get(day, "exceeds"), "none", f[4],
			sizeof(f[4])));
	else
		print_kv("day", "none");
	field(json_object_get(c, "sensors_total"), f[0], sizeof(f[0]));
	if (json_array_size(sensors) <
	    (size_t)json_integer_value(json_object_get(c, "sensors_total")))
		print_kv("sensors", "%s (the latest %zu shown)", f[0],
		    json_array_size(sensors));
	else
		print_kv("sensors", "%s", f[0]);

	table_init(&ind, 5, iheads, iright);
	table_init(&sen, 3, sheads, sright);
	cell_indicators(c, &ind);
	cell_sensors(c, &sen);
	putchar('\n');
	rc = table_print(&ind);
	if (rc == AQ_OK && sen.n > 0) {
		putchar('\n');
		rc = table_print(&sen);
	}
	table_fini(&sen);
	table_fini(&ind);
	return rc;
}

/* A row per indicator, in the API's order; the IAQI column is blank where
 * the hourly report does not read the indicator. */
static void
cell_indicators(json_t *c, struct table *t)
{
	json_t *iaqi = at(c, "aqi", "iaqi"), *v, *u;
	const char *key;
	char b[SHOWN_BUF];

	json_object_foreach(json_object_get(c, "concentrations"), key, v)
	{
		table_add(t, shown(key, b, sizeof(b)));
		table_add(t, num_text(v, b, sizeof(b)));
		u = at(c, "units", key);
		table_add(t,
		    json_is_string(u)                 ? field(u, b, sizeof(b))
			: strncmp(key, "co_", 3) == 0 ? "mg/m3"
						      : "ug/m3");
		u = json_object_get(iaqi, key);
		table_add(t, u != NULL ? field(u, b, sizeof(b)) : "");
		table_add(t, field(at(c, "valid_hours", key), b, sizeof(b)));
	}
}

/* A row per sensor listed, newest first as the API lists them. */
static void
cell_sensors(json_t *c, struct table *t)
{
	json_t *s;
	char b[SHOWN_BUF];
	size_t k;

	json_array_foreach(json_object_get(c, "sensors"), k, s)
	{
		table_add(t, field(json_object_get(s, "id"), b, sizeof(b)));
		table_add(t,
		    time_text(
			json_object_get(s, "last"), true, false, b, sizeof(b)));
		table_add(t, field(json_object_get(s, "status"), b, sizeof(b)));
	}
}

/* "label     value": the values of a block start in one column. */
static void
print_kv(const char *label, const char *fmt, ...)
{
	va_list ap;

	printf("%-*s", LABEL_WIDTH, label);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* o[k1], or o[k1][k2]; NULL when missing. */
static json_t *
at(json_t *o, const char *k1, const char *k2)
{
	json_t *v = json_object_get(o, k1);

	return k2 != NULL ? json_object_get(v, k2) : v;
}

/* The string at o[k1] (or o[k1][k2]), or "" when it is not one. */
static const char *
str_at(json_t *o, const char *k1, const char *k2)
{
	const char *s = json_string_value(at(o, k1, k2));

	return s != NULL ? s : "";
}

/*
 * A value as shown in text: a string made printable (see shown()), a
 * number by num_text(), true/false as yes/no, else "-".
 */
static const char *
field(const json_t *v, char *buf, size_t len)
{
	const char *s = buf;

	if (json_is_string(v))
		s = shown(json_string_value(v), buf, len);
	else if (json_is_boolean(v))
		s = json_is_true(v) ? "yes" : "no";
	else
		s = num_text(v, buf, len);
	return s;
}

/* A number: an integer as it is, a real with at most three decimals (the
 * engine keeps no more) and no trailing zeros; "-" for anything else. */
static const char *
num_text(const json_t *v, char *buf, size_t len)
{
	size_t n;

	if (json_is_integer(v)) {
		snprintf(
		    buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	} else if (json_is_real(v)) {
		snprintf(buf, len, "%.3f", json_real_value(v));
		n = strlen(buf);
		while (n > 0 && strchr(buf, '.') != NULL &&
		    (buf[n - 1] == '0' || buf[n - 1] == '.'))
			buf[--n] = '\0';
		if (strcmp(buf, "-0") == 0)
			snprintf(buf, len, "0");
	} else {
		snprintf(buf, len, "-");
	}
	return buf;
}

/*
 * An API time "2026-11-29T14:00:00+08:00" as "2026-11-29 14:00", with
 * ":00" when secs and " +08:00" when zone.  The API writes times in the
 * daemon's zone: they are shown in it.  null is "-"; a string of another
 * shape is shown as it is.
 */
static const char *
time_text(const json_t *v, bool secs, bool zone, char *buf, size_t len)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	const char *s = json_string_value(v);
	bool ok = s != NULL && strlen(s) >= sizeof(shape) - 1;

	for (size_t k = 0; ok && k < sizeof(shape) - 1; k++)
		ok = shape[k] == 'd' ? s[k] >= '0' && s[k] <= '9'
				     : s[k] == shape[k];
	if (ok) {
		char z[SHOWN_BUF];

		snprintf(buf, len, "%.10s %.*s%s%s", s, secs ? 8 : 5, s + 11,
		    zone && s[19] != '\0' ? " " : "",
		    zone ? shown(s + 19, z, sizeof(z)) : "");
	} else if (s != NULL) {
		shown(s, buf, len);
	} else {
		snprintf(buf, len, "-");
	}
	return buf;
}

/* "3 Lightly polluted" from o's level and category_en; "-" when unknown. */
static const char *
level_text(json_t *o, char *buf, size_t len)
{
	json_t *level = json_object_get(o, "level");
	const char *cat = json_string_value(json_object_get(o, "category_en"));
	char b[SHOWN_BUF];

	if (!json_is_integer(level))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT "%s%s",
		    json_integer_value(level), cat != NULL ? " " : "",
		    cat != NULL ? shown(cat, b, sizeof(b)) : "");
	return buf;
}

/* The strings of an array joined by commas, or the text empty when there
 * are none. */
static const char *
list_text(const json_t *a, const char *empty, char *buf, size_t len)
{
	char b[SHOWN_BUF];
	size_t n = 0;
	json_t *v;

	buf[0] = '\0';
	for (size_t k = 0; k < json_array_size(a) && n < len; k++) {
		v = json_array_get(a, k);
		n += (size_t)snprintf(buf + n, len - n, "%s%s",
		    n > 0 ? "," : "", field(v, b, sizeof(b)));
	}
	if (buf[0] == '\0')
		snprintf(buf, len, "%s", empty);
	return buf;
}

/* "2d 3h 4m 5s", without the leading units that are zero. */
static const char *
uptime_text(long long s, char *buf, size_t len)
{
	long long d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60;

	if (d > 0)
		snprintf(buf, len, "%lldd %lldh %lldm %llds", d, h, m, s % 60);
	else if (h > 0)
		snprintf(buf, len, "%lldh %lldm %llds", h, m, s % 60);
	else if (m > 0)
		snprintf(buf, len, "%lldm %llds", m, s % 60);
	else
		snprintf(buf, len, "%llds", s % 60);
	return buf;
}

static void
table_init(
    struct table *t, int ncols, const char *const *heads, const bool *right)
{
	*t = (struct table){.ncols = ncols, .heads = heads, .right = right};
}

/* Appends a copy of s (made printable by the caller) as the next field,
 * row after row; a failure shows in table_print(). */
static void
table_add(struct table *t, const char *s)
{
	size_t cap = t->cap > 0 ? t->cap * 2 : 64;
	char **grown, *copy = NULL;

	if (!t->nomem && t->n == t->cap) {
		if ((grown = realloc(t->text, cap * sizeof(*grown))) == NULL) {
			t->nomem = true;
		} else {
			t->text = grown;
			t->cap = cap;
		}
	}
	if (!t->nomem && (copy = strdup(s)) == NULL)
		t->nomem = true;
	if (!t->nomem)
		t->text[t->n++] = copy;
}

/* Prints the heads and the rows; AQ_ERR_NOMEM if a field was lost. */
static int
table_print(const struct table *t)
{
	size_t w[TABLE_COLS_MAX] = {0}, rows = t->n / (size_t)t->ncols;
	const char *s;
	int rc = t->nomem || t->ncols > TABLE_COLS_MAX ? AQ_ERR_NOMEM : AQ_OK;

	for (int c = 0; c < t->ncols && rc == AQ_OK; c++) {
		w[c] = text_width(t->heads[c]);
		for (size_t r = 0; r < rows; r++)
			if (text_width(
				t->text[r * (size_t)t->ncols + (size_t)c]) >
			    w[c])
				w[c] = text_width(
				    t->text[r * (size_t)t->ncols + (size_t)c]);
	}
	for (size_t r = 0; r <= rows && rc == AQ_OK; r++) {
		for (int c = 0; c < t->ncols; c++) {
			s = r == 0
			    ? t->heads[c]
			    : t->text[(r - 1) * (size_t)t->ncols + (size_t)c];
			/* No blanks at the end of a line. */
			if (c + 1 == t->ncols && !t->right[c])
				printf("%s%s", c > 0 ? "  " : "", s);
			else
				printf("%s%*s%s%*s", c > 0 ? "  " : "",
				    t->right[c] ? (int)(w[c] - text_width(s))
						: 0,
				    "", s,
				    t->right[c] ? 0
						: (int)(w[c] - text_width(s)),
				    "");
		}
		putchar('\n');
	}
	return rc;
}

static void
table_fini(struct table *t)
{
	for (size_t k = 0; k < t->n; k++)
		free(t->text[k]);
	free(t->text);
	*t = (struct table){0};
}

/* Columns s takes on a terminal: one per UTF-8 character. */
static size_t
text_width(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* ---- alerts, ack, silence ---- */

/*
 * The options of alerts, ack and silence: each takes the common ones
 * (--url, --json, --token, --token-file, --help) and those of its own
 * (mask, AL_BIT()s), and nmin to nmax arguments.
 */
static int
al_parse(const struct cmd *c, unsigned int mask, int nmin, int nmax, int argc,
    char **argv, struct al_cfg *cfg)
{
	const char *url = NULL, *tf = NULL;
	const char *tok = getenv(TOKEN_ENV);
	char b[SHOWN_BUF];
	bool opts_done = false;
	int rc = EXIT_SUCCESS;

	*cfg = (struct al_cfg){0};
	for (int i = 1; i < argc && rc == EXIT_SUCCESS && !cfg->help; i++) {
		const char *val = NULL;
		int id;

		if (!opts_done && strcmp(argv[i], "--") == 0) {
			opts_done = true;
		} else if (!opts_done && is_option(argv[i])) {
			id = take_option(
			    c->name, al_opts, AL_COUNT, argc, argv, &i, &val);
			if (id < 0) {
				rc = EXIT_USAGE;
			} else if (id >= AL_OWN && !(mask & AL_BIT(id))) {
				usage_error(c->name, "unknown option '%s'",
				    al_opts[id].name);
				rc = EXIT_USAGE;
			} else if (id == AL_HELP || id == AL_HELP_SHORT) {
				cfg->help = true;
			} else if (id == AL_URL) {
				url = val;
			} else if (id == AL_JSON) {
				cfg->json = true;
			} else if (id == AL_TOKEN) {
				tok = val;
			} else if (id == AL_TOKEN_FILE) {
				tf = val;
			} else if (id == AL_STATE) {
				cfg->state = val;
			} else if (id == AL_COMMENT) {
				cfg->comment = val;
			} else if (id == AL_FOR) {
				cfg->dur = val;
			}
		} else if (cfg->nargs < nmax) {
			cfg->args[cfg->nargs++] = argv[i];
		} else {
			usage_error(c->name, "unexpected argument '%s'",
			    shown(argv[i], b, sizeof(b)));
			rc = EXIT_USAGE;
		}
	}
	if (rc != EXIT_SUCCESS || cfg->help)
		return rc;
	if (cfg->nargs < nmin) {
		usage_error(
		    c->name, "missing argument (see aqgrid help %s)", c->name);
		return EXIT_USAGE;
	}
	if (tf != NULL && (rc = token_read(c->name, tf, cfg)) != EXIT_SUCCESS)
		return rc;
	if (tf == NULL && tok != NULL && *tok != '\0') {
		if (strlen(tok) >= sizeof(cfg->token) ||
		    strpbrk(tok, " \t\r\n") != NULL) {
			usage_error(c->name,
			    "bad token (no spaces, at most "
			    "255 bytes)");
			return EXIT_USAGE;
		}
		snprintf(cfg->token, sizeof(cfg->token), "%s", tok);
	}
	return pick_url(c->name, url, cfg->base, sizeof(cfg->base));
}

/*
 * A token from a file: its first line that is not blank or a comment,
 * either the token alone or a tokens-file line "NAME TOKEN rw|ro".
 */
static int
token_read(const char *cmd, const char *path, struct al_cfg *cfg)
{
	char line[512], *f[3], *save = NULL;
	FILE *fp = fopen(path, "r");
	int n = 0, rc = EXIT_USAGE;

	if (fp == NULL) {
		usage_error(cmd, "--token-file: %s", strerror(errno));
		return EXIT_USAGE;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		n = 0;
		for (char *w = strtok_r(line, " \t\r\n", &save);
		     w != NULL && n < 3; w = strtok_r(NULL, " \t\r\n", &save))
			f[n++] = w;
		if (n > 0 && f[0][0] != '#')
			break;
		n = 0;
	}
	fclose(fp);
	if (n == 1 || n == 3) {
		const char *t = n == 1 ? f[0] : f[1];

		if (strlen(t) < sizeof(cfg->token)) {
			snprintf(cfg->token, sizeof(cfg->token), "%s", t);
			rc = EXIT_SUCCESS;
		}
	}
	if (rc != EXIT_SUCCESS)
		usage_error(cmd, "--token-file: no token in it");
	memset(line, 0, sizeof(line));
	return rc;
}

/* A path segment the API takes as it is: letters and digits. */
static bool
al_plain(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			(*s >= '0' && *s <= '9')))
			return false;
	return true;
}

/*
 * A request with method (NULL: GET), a JSON body (NULL: none) and the
 * token, if any.  As client_get(); the options are put back after.
 */
static int
client_call(struct client *cl, const char *method, const char *path,
    const char *body, const char *token, long *code, json_t **out)
{
	struct curl_slist *h = NULL, *h2;
	char auth[300];
	CURL *c = cl->curl;
	int rc = AQ_ERR_NOMEM;

	if (token != NULL && token[0] != '\0') {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		if ((h2 = curl_slist_append(h, auth)) == NULL)
			goto out;
		h = h2;
	}
	if (body != NULL) {
		if ((h2 = curl_slist_append(
			 h, "Content-Type: application/json")) == NULL)
			goto out;
		h = h2;
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	rc = client_get(cl, path, code, out);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
	curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
out:
	memset(auth, 0, sizeof(auth));
	if (h != NULL) {
		for (h2 = h; h2 != NULL; h2 = h2->next)
			memset(h2->data, 0, strlen(h2->data));
		curl_slist_free_all(h);
	}
	return rc;
}

/* client_call() for an answer of status want, else told: AQ_ERR_IO. */
static int
client_call_ok(struct client *cl, const char *method, const char *path,
    const char *body, const struct al_cfg *cfg, long want, json_t **out)
{
	json_t *j = NULL;
	long code = 0;
	int rc = client_call(cl, method, path, body, cfg->token, &code, &j);

	if (rc == AQ_OK && code != want) {
		client_fail(cl, code, j);
		if ((code == 401 || code == 403) && cfg->token[0] == '\0')
			fprintf(stderr,
			    "aqgrid %s: give a token: --token, --token-file "
			    "or " TOKEN_ENV "\n",
			    cl->cmd);
		json_decref(j);
		rc = AQ_ERR_IO;
	} else if (rc == AQ_OK) {
		*out = j;
	}
	return rc;
}

static int
cmd_alerts(const struct cmd *c, int argc, char **argv)
{
	static const char *const heads[] = {"FINGERPRINT", "STATE", "SEVERITY",
	    "RULE", "OBJECT", "VALUE", "SINCE", "ACKED"};
	static const bool right[] = {
	    false, false, false, false, false, true, false, false};
	struct al_cfg cfg;
	struct client cl = {0};
	struct table t;
	json_t *j = NULL, *a;
	char path[128], b[SHOWN_BUF];
	size_t k;
	int rc = al_parse(c, AL_BIT(AL_STATE), 0, 0, argc, argv, &cfg);

	if (rc != EXIT_SUCCESS || cfg.help) {
		if (cfg.help)
			print_cmd_help(c);
		return finish_output(rc);
	}
	if (cfg.state != NULL && !al_plain(cfg.state)) {
		usage_error(c->name, "bad --state '%s'",
		    shown(cfg.state, b, sizeof(b)));
		return finish_output(EXIT_USAGE);
	}
	snprintf(path, sizeof(path), "/api/v1/alerts%s%s",
	    cfg.state != NULL ? "?state=" : "",
	    cfg.state != NULL ? cfg.state : "");
	if (client_init(&cl, c->name, cfg.base) != AQ_OK ||
	    client_call_ok(&cl, NULL, path, NULL, &cfg, 200, &j) != AQ_OK) {
		rc = EXIT_FAILURE;
	} else if (cfg.json) {
		rc = emit_raw(&cl.body) == AQ_OK ? EXIT_SUCCESS : EXIT_FAILURE;
	} else {
		table_init(&t, 8, heads, right);
		json_array_foreach(json_object_get(j, "results"), k, a)
		{
			const char *st = str_at(a, "state", NULL);
			const char *since = strcmp(st, "resolved") == 0
			    ? "ends_at"
			    : strcmp(st, "firing") == 0 ? "starts_at"
							: "pending_since";

			table_add(&t,
			    field(json_object_get(a, "fingerprint"), b,
				sizeof(b)));
			table_add(&t,
			    field(json_object_get(a, "state"), b, sizeof(b)));
			table_add(&t,
			    field(
				json_object_get(a, "severity"), b, sizeof(b)));
			table_add(&t,
			    field(json_object_get(a, "rule"), b, sizeof(b)));
			table_add(&t,
			    field(json_object_get(a, "object"), b, sizeof(b)));
			table_add(&t,
			    field(json_object_get(a, "value"), b, sizeof(b)));
			table_add(&t,
			    time_text(json_object_get(a, since), false, false,
				b, sizeof(b)));
			table_add(&t,
			    field(json_object_get(a, "acked"), b, sizeof(b)));
		}
		rc = table_print(&t) == AQ_OK ? EXIT_SUCCESS : EXIT_FAILURE;
		table_fini(&t);
	}
	json_decref(j);
	client_fini(&cl);
	return finish_output(rc);
}

static int
cmd_ack(const struct cmd *c, int argc, char **argv)
{
	struct al_cfg cfg;
	struct client cl = {0};
	json_t *j = NULL, *body = NULL;
	char path[160], *text = NULL, b[SHOWN_BUF];
	int rc = al_parse(c, AL_BIT(AL_COMMENT), 1, 1, argc, argv, &cfg);

	if (rc != EXIT_SUCCESS || cfg.help) {
		if (cfg.help)
			print_cmd_help(c);
		return finish_output(rc);
	}
	if (!al_plain(cfg.args[0]) || strlen(cfg.args[0]) > 64) {
		usage_error(c->name, "bad FINGERPRINT '%s'",
		    shown(cfg.args[0], b, sizeof(b)));
		return finish_output(EXIT_USAGE);
	}
	snprintf(path, sizeof(path), "/api/v1/alerts/%s/ack", cfg.args[0]);
	if ((body = json_pack("{s:s}", "comment",
		 cfg.comment != NULL ? cfg.comment : "")) == NULL ||
	    (text = json_dumps(body, JSON_COMPACT)) == NULL) {
		fprintf(stderr, "aqgrid %s: %s (is --comment UTF-8?)\n",
		    c->name, aq_strerror(AQ_ERR_INVAL));
		rc = EXIT_USAGE;
	} else if (client_init(&cl, c->name, cfg.base) != AQ_OK ||
	    client_call_ok(&cl, "POST", path, text, &cfg, 200, &j) != AQ_OK) {
		rc = EXIT_FAILURE;
	} else if (cfg.json) {
		rc = emit_raw(&cl.body) == AQ_OK ? EXIT_SUCCESS : EXIT_FAILURE;
	} else {
		printf("acknowledged %s (%s, by %s)\n", cfg.args[0],
		    field(json_object_get(j, "rule"), b, sizeof(b)),
		    str_at(j, "ack", "by"));
	}
	free(text);
	json_decref(body);
	json_decref(j);
	client_fini(&cl);
	return finish_output(rc);
}

/* "90s", "15m", "2h", "1d": seconds, up to a year. */
static int
al_duration(const char *s, long *out)
{
	char *end;
	long v, mul;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || v <= 0 || end[0] == '\0' ||
	    end[1] != '\0')
		return AQ_ERR_INVAL;
	mul = *end == 's' ? 1
	    : *end == 'm' ? 60
	    : *end == 'h' ? 3600
	    : *end == 'd' ? 86400
			  : 0;
	if (mul == 0 || v > 366L * 86400 / mul)
		return AQ_ERR_INVAL;
	*out = v * mul;
	return AQ_OK;
}

static int
cmd_silence(const struct cmd *c, int argc, char **argv)
{
	static const char *const heads[] = {
	    "ID", "STATUS", "ENDS", "MATCHERS", "AUTHOR", "COMMENT"};
	static const bool right[] = {true, false, false, false, false, false};
	struct al_cfg cfg;
	struct client cl = {0};
	struct table t;
	json_t *j = NULL, *body = NULL, *s, *m;
	char path[96], *text = NULL, b[SHOWN_BUF], list[512];
	const char *sub;
	long dur = 0;
	size_t k, i;
	int rc = al_parse(
	    c, AL_BIT(AL_COMMENT) | AL_BIT(AL_FOR), 1, 2, argc, argv, &cfg);

	if (rc != EXIT_SUCCESS || cfg.help) {
		if (cfg.help)
			print_cmd_help(c);
		return finish_output(rc);
	}
	sub = cfg.args[0];
	if (strcmp(sub, "add") == 0) {
		if (cfg.nargs != 2 || cfg.args[1][0] == '\0') {
			usage_error(c->name, "add needs MATCHERS");
			return finish_output(EXIT_USAGE);
		}
		if (cfg.dur == NULL || al_duration(cfg.dur, &dur) != AQ_OK) {
			usage_error(c->name,
			    "add needs --for DURATION (90s, 15m, 2h, 1d; up "
			    "to a year)");
			return finish_output(EXIT_USAGE);
		}
		if ((body = json_pack("{s:s,s:I,s:s}", "matchers", cfg.args[1],
			 "ends_at", (json_int_t)time(NULL) + dur, "comment",
			 cfg.comment != NULL ? cfg.comment : "")) == NULL ||
		    (text = json_dumps(body, JSON_COMPACT)) == NULL) {
			usage_error(c->name,
			    "MATCHERS and --comment must be "
			    "UTF-8");
			rc = EXIT_USAGE;
		} else if (client_init(&cl, c->name, cfg.base) != AQ_OK ||
		    client_call_ok(&cl, "POST", "/api/v1/silences", text, &cfg,
			201, &j) != AQ_OK) {
			rc = EXIT_FAILURE;
		} else if (cfg.json) {
			rc = emit_raw(&cl.body) == AQ_OK ? EXIT_SUCCESS
							 : EXIT_FAILURE;
		} else {
			printf("silence %s until %s\n",
			    field(json_object_get(j, "id"), b, sizeof(b)),
			    time_text(json_object_get(j, "ends_at"), false,
				true, list, sizeof(list)));
		}
	} else if (strcmp(sub, "rm") == 0) {
		if (cfg.nargs != 2 ||
		    strspn(cfg.args[1], "0123456789") != strlen(cfg.args[1]) ||
		    cfg.args[1][0] == '\0' || strlen(cfg.args[1]) > 19) {
			usage_error(
			    c->name, "rm needs a silence ID (a number)");
			return finish_output(EXIT_USAGE);
		}
		snprintf(
		    path, sizeof(path), "/api/v1/silences/%s", cfg.args[1]);
		if (client_init(&cl, c->name, cfg.base) != AQ_OK ||
		    client_call_ok(&cl, "DELETE", path, NULL, &cfg, 200, &j) !=
			AQ_OK)
			rc = EXIT_FAILURE;
		else if (cfg.json)
			rc = emit_raw(&cl.body) == AQ_OK ? EXIT_SUCCESS
							 : EXIT_FAILURE;
		else
			printf("silence %s expired\n", cfg.args[1]);
	} else if (strcmp(sub, "list") == 0 && cfg.nargs == 1) {
		if (client_init(&cl, c->name, cfg.base) != AQ_OK ||
		    client_call_ok(&cl, NULL, "/api/v1/silences", NULL, &cfg,
			200, &j) != AQ_OK) {
			rc = EXIT_FAILURE;
		} else if (cfg.json) {
			rc = emit_raw(&cl.body) == AQ_OK ? EXIT_SUCCESS
							 : EXIT_FAILURE;
		} else {
			table_init(&t, 6, heads, right);
			json_array_foreach(json_object_get(j, "results"), k, s)
			{
				size_t o = 0;

				list[0] = '\0';
				json_array_foreach(
				    json_object_get(s, "matchers"), i, m)
				{
					o += (size_t)snprintf(list + o,
					    o < sizeof(list) ? sizeof(list) - o
							     : 0,
					    "%s%s", o > 0 ? " " : "",
					    json_string_value(m) != NULL
						? json_string_value(m)
						: "?");
				}
				table_add(&t,
				    field(json_object_get(s, "id"), b,
					sizeof(b)));
				table_add(&t,
				    field(json_object_get(s, "status"), b,
					sizeof(b)));
				table_add(&t,
				    time_text(json_object_get(s, "ends_at"),
					false, false, b, sizeof(b)));
				table_add(&t, shown(list, b, sizeof(b)));
				table_add(&t,
				    field(json_object_get(s, "author"), b,
					sizeof(b)));
				table_add(&t,
				    field(json_object_get(s, "comment"), b,
					sizeof(b)));
			}
			rc = table_print(&t) == AQ_OK ? EXIT_SUCCESS
						      : EXIT_FAILURE;
			table_fini(&t);
		}
	} else {
		usage_error(c->name, "expected add MATCHERS, list or rm ID");
		rc = EXIT_USAGE;
	}
	free(text);
	json_decref(body);
	json_decref(j);
	client_fini(&cl);
	return finish_output(rc);
}

/* ---- indicators: the plan's indicators of an area or the grid ---- */

static int
cmd_indicators(const struct cmd *c, int argc, char **argv)
{
	struct ind_cfg cfg;
	struct client cl = {0};
	json_t *j = NULL;
	char path[1024];
	int rc = ind_parse(c, argc, argv, &cfg);

	if (rc != EXIT_SUCCESS) {
		/* told */
	} else if (cfg.help) {
		print_cmd_help(c);
	} else if (client_init(&cl, c->name, cfg.base) != AQ_OK ||
	    ind_path(&cl, &cfg, path, sizeof(path)) != AQ_OK ||
	    client_get_ok(&cl, path, &j) != AQ_OK) {
		rc = EXIT_FAILURE;
	} else if (cfg.json) {
		rc = emit_raw(&cl.body) == AQ_OK ? EXIT_SUCCESS : EXIT_FAILURE;
	} else if (ind_print(j) != AQ_OK) {
		fprintf(stderr, "aqgrid %s: %s\n", c->name,
		    aq_strerror(AQ_ERR_NOMEM));
		rc = EXIT_FAILURE;
	}
	json_decref(j);
	client_fini(&cl);
	return finish_output(rc);
}

/* The options of aqgrid indicators; the daemon checks the dates, and its
 * message says what is wrong with them. */
static int
ind_parse(const struct cmd *c, int argc, char **argv, struct ind_cfg *cfg)
{
	const char *url = NULL;
	char b[SHOWN_BUF];
	int rc = EXIT_SUCCESS;

	*cfg = (struct ind_cfg){.json = false};
	for (int i = 1; i < argc && rc == EXIT_SUCCESS && !cfg->help; i++) {
		const char *val = NULL;
		int id;

		if (!is_option(argv[i])) {
			usage_error(c->name, "unexpected argument '%s'",
			    shown(argv[i], b, sizeof(b)));
			rc = EXIT_USAGE;
			break;
		}
		id = take_option(
		    c->name, ind_opts, IO_COUNT, argc, argv, &i, &val);
		if (id < 0)
			rc = EXIT_USAGE;
		else if (id == IO_HELP || id == IO_HELP_SHORT)
			cfg->help = true;
		else if (id == IO_URL)
			url = val;
		else if (id == IO_JSON)
			cfg->json = true;
		else if (val[0] == '\0') {
			usage_error(c->name, "empty %s", ind_opts[id].name);
			rc = EXIT_USAGE;
		} else if (id == IO_AREA)
			cfg->area = val;
		else if (id == IO_FROM)
			cfg->from = val;
		else
			cfg->to = val;
	}
	if (rc == EXIT_SUCCESS && !cfg->help)
		rc = pick_url(c->name, url, cfg->base, sizeof(cfg->base));
	return rc;
}

/* /api/v1/indicators with the options given, escaped. */
static int
ind_path(struct client *cl, const struct ind_cfg *cfg, char *path, size_t len)
{
	const char *const vals[] = {cfg->area, cfg->from, cfg->to};
	const char *const keys[] = {"area", "from", "to"};
	size_t n = (size_t)snprintf(path, len, "/api/v1/indicators");
	char sep = '?';
	int rc = AQ_OK;

	for (int k = 0; k < 3 && rc == AQ_OK; k++) {
		char *esc;

		if (vals[k] == NULL)
			continue;
		if ((esc = curl_easy_escape(cl->curl, vals[k], 0)) == NULL) {
			rc = AQ_ERR_NOMEM;
			fprintf(stderr, "aqgrid %s: %s\n", cl->cmd,
			    aq_strerror(rc));
			break;
		}
		if (n < len)
			n += (size_t)snprintf(
			    path + n, len - n, "%c%s=%s", sep, keys[k], esc);
		sep = '&';
		curl_free(esc);
	}
	if (rc == AQ_OK && n >= len) {
		fprintf(stderr, "aqgrid %s: arguments too long\n", cl->cmd);
		rc = AQ_ERR_RANGE;
	}
	return rc;
}

/* One indicator's line: value, target (cmp: "<=" or ">="), whether it is
 * met, the limit and whether it is exceeded, and the validity. */
static void
ind_row(struct table *t, const char *name, json_t *o, const char *value,
    const char *cmp)
{
	json_t *v = json_object_get(o, "validity");
	json_t *met = json_object_get(o, "meets_target");
	json_t *over = json_object_get(o, "exceeds_limit");
	char b[SHOWN_BUF], n[64];

	table_add(t, name);
	table_add(t, value);
	if (json_is_null(json_object_get(o, "target"))) {
		table_add(t, "-");
	} else {
		snprintf(b, sizeof(b), "%s %s", cmp,
		    num_text(json_object_get(o, "target"), n, sizeof(n)));
		table_add(t, b);
	}
	table_add(
	    t, json_is_boolean(met) ? (json_is_true(met) ? "yes" : "no") : "-");
	table_add(t, num_text(json_object_get(o, "limit"), b, sizeof(b)));
	table_add(t,
	    json_is_boolean(over) ? (json_is_true(over) ? "yes" : "no") : "-");
	if (v == NULL) {
		table_add(t, "-");
	} else {
		snprintf(b, sizeof(b), "%s (%lld days, need %lld)",
		    json_is_true(json_object_get(v, "valid")) ? "yes" : "no",
		    (long long)json_integer_value(json_object_get(v, "days")),
		    (long long)json_integer_value(json_object_get(v, "need")));
		table_add(t, b);
	}
}

/* The human form of an Indicators answer: a header, the indicators, then
 * the exceedance days per pollutant. */
static int
ind_print(json_t *j)
{
	static const char *const heads[] = {
	    "INDICATOR", "VALUE", "TARGET", "MET", "LIMIT", "OVER", "VALID"};
	static const bool right[] = {
	    false, true, false, false, true, false, false};
	static const char *const eheads[] = {
	    "POLLUTANT", "STATISTIC", "DAYS", "OF DAYS", "LIMIT"};
	static const bool eright[] = {false, false, true, true, true};
	json_t *g = json_object_get(j, "good_days"), *ex, *e;
	char b[SHOWN_BUF], f[3][SHOWN_BUF];
	const char *key;
	struct table t;
	int rc;

	if (json_is_null(json_object_get(j, "area")))
		print_kv("area", "the whole grid (%lld cells)",
		    (long long)json_integer_value(json_object_get(j, "cells")));
	else
		print_kv("area", "%s, %s (%lld cells)",
		    field(json_object_get(j, "area"), f[0], sizeof(f[0])),
		    field(json_object_get(j, "name_en"), f[1], sizeof(f[1])),
		    (long long)json_integer_value(json_object_get(j, "cells")));
	print_kv("range", "%s to %s: %lld days, %lld with data",
	    field(json_object_get(j, "from"), f[0], sizeof(f[0])),
	    field(json_object_get(j, "to"), f[1], sizeof(f[1])),
	    (long long)json_integer_value(json_object_get(j, "days")),
	    (long long)json_integer_value(json_object_get(j, "data_days")));
	print_kv("standard", "%s, %s grade %lld",
	    field(json_object_get(j, "aqi_standard"), f[0], sizeof(f[0])),
	    field(json_object_get(j, "limits"), f[1], sizeof(f[1])),
	    (long long)json_integer_value(json_object_get(j, "grade")));
	putchar('\n');
	table_init(&t, (int)(sizeof(heads) / sizeof(heads[0])), heads, right);
	if (json_is_real(json_object_get(g, "ratio")))
		snprintf(b, sizeof(b), "%.1f%% (%lld/%lld)",
		    json_real_value(json_object_get(g, "ratio")),
		    (long long)json_integer_value(json_object_get(g, "good")),
		    (long long)json_integer_value(json_object_get(g, "valid")));
	else
		snprintf(b, sizeof(b), "- (0/0)");
	ind_row(&t, "good days", g, b, ">=");
	ind_row(&t, "PM2.5 mean", json_object_get(j, "pm25"),
	    num_text(at(j, "pm25", "value"), f[2], sizeof(f[2])), "<=");
	ind_row(&t, "O3 MDA8 p90", json_object_get(j, "o3_8h_p90"),
	    num_text(at(j, "o3_8h_p90", "value"), f[2], sizeof(f[2])), "<=");
	rc = table_print(&t);
	table_fini(&t);
	if (rc != AQ_OK)
		return rc;
	putchar('\n');
	table_init(
	    &t, (int)(sizeof(eheads) / sizeof(eheads[0])), eheads, eright);
	ex = json_object_get(j, "exceedances");
	json_object_foreach(ex, key, e)
	{
		table_add(&t, shown(key, b, sizeof(b)));
		table_add(
		    &t, field(json_object_get(e, "indicator"), b, sizeof(b)));
		table_add(&t, field(json_object_get(e, "days"), b, sizeof(b)));
		table_add(
		    &t, field(json_object_get(e, "valid_days"), b, sizeof(b)));
		table_add(
		    &t, num_text(json_object_get(e, "limit"), b, sizeof(b)));
	}
	table_add(&t, "any");
	table_add(&t, "-");
	table_add(
	    &t, field(json_object_get(j, "exceedance_days"), b, sizeof(b)));
	table_add(&t, field(json_object_get(j, "data_days"), b, sizeof(b)));
	table_add(&t, "-");
	rc = table_print(&t);
	table_fini(&t);
	return rc;
}

/* ---- sites ---- */

/* A number of a JSON answer, "-" when null or absent. */
static const char *
site_num(json_t *o, const char *key, char *buf, size_t len)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_number(v))
		return "-";
	snprintf(buf, len, "%.0f", json_number_value(v));
	return buf;
}

static const char *
site_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "-";
}

static void
sites_print(json_t *j)
{
	json_t *s;
	size_t k;
	char a[32], b[32], e[32];

	printf("%-16s %-8s %-12s %6s %10s %6s %5s %8s  %s\n", "ID", "STATUS",
	    "KIND", "PM10", "BACKGROUND", "EXCESS", "RED_H", "EPISODES",
	    "NAME");
	json_array_foreach(json_object_get(j, "results"), k, s)
	{
		printf("%-16s %-8s %-12s %6s %10s %6s %5lld %8lld  %s\n",
		    site_str(s, "id"),
		    json_is_true(json_object_get(s, "active"))
			? site_str(s, "status")
			: "inactive",
		    site_str(s, "kind"), site_num(s, "pm10_1h", a, sizeof(a)),
		    site_num(s, "background", b, sizeof(b)),
		    site_num(s, "excess", e, sizeof(e)),
		    (long long)json_integer_value(
			json_object_get(s, "red_hours")),
		    (long long)json_integer_value(
			json_object_get(s, "episodes")),
		    site_str(s, "name"));
	}
}

static void
site_print(json_t *s)
{
	json_t *c;
	size_t k;
	char a[32], b[32], e[32];

	printf("%s  %s (%s, %s)\n", site_str(s, "id"), site_str(s, "name"),
	    site_str(s, "kind"), site_str(s, "cell"));
	printf("status %s since %s%s\n", site_str(s, "status"),
	    site_str(s, "since"),
	    json_is_true(json_object_get(s, "active")) ? "" : " (inactive)");
	printf("hour %s: PM10 %s, background %s, excess %s ug/m3\n",
	    site_str(s, "hour"), site_num(s, "pm10_1h", a, sizeof(a)),
	    site_num(s, "background", b, sizeof(b)),
	    site_num(s, "excess", e, sizeof(e)));
	printf("company %s; contact %s\n", site_str(s, "company"),
	    site_str(s, "contact"));
	printf("this month: %lld red hours, %lld red episodes\n",
	    (long long)json_integer_value(json_object_get(s, "red_hours")),
	    (long long)json_integer_value(json_object_get(s, "episodes")));
	printf("%-25s %-7s %-7s %6s %10s\n", "HOUR", "FROM", "TO", "PM10",
	    "BACKGROUND");
	json_array_foreach(json_object_get(s, "changes"), k, c)
	{
		printf("%-25s %-7s %-7s %6s %10s\n", site_str(c, "hour"),
		    site_str(c, "from"), site_str(c, "status"),
		    site_num(c, "pm10_1h", a, sizeof(a)),
		    site_num(c, "background", b, sizeof(b)));
	}
}

static void
blacklist_print(json_t *j)
{
	json_t *s;
	size_t k;

	printf("month %s: %lld sites (at %lld red hours or %lld red episodes; "
	       "0: not by that)\n",
	    site_str(j, "month"),
	    (long long)json_integer_value(json_object_get(j, "count")),
	    (long long)json_integer_value(json_object_get(j, "red_hours_min")),
	    (long long)json_integer_value(json_object_get(j, "episodes_min")));
	printf("%-16s %5s %8s  %s\n", "ID", "RED_H", "EPISODES", "NAME");
	json_array_foreach(json_object_get(j, "results"), k, s)
	{
		printf("%-16s %5lld %8lld  %s\n", site_str(s, "id"),
		    (long long)json_integer_value(
			json_object_get(s, "red_hours")),
		    (long long)json_integer_value(
			json_object_get(s, "episodes")),
		    site_str(s, "name"));
	}
}

/* Whether s is a site id or month the path may carry as it is. */
static bool
site_word(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("._-", *s) == NULL)
			return false;
	return true;
}

static int
cmd_sites(const struct cmd *c, int argc, char **argv)
{
	struct net_cfg cfg;
	struct client cl = {0};
	json_t *j = NULL;
	const char *pos[2] = {NULL, NULL};
	char **rest = calloc((size_t)argc + 1, sizeof(*rest));
	char path[256], b[SHOWN_BUF];
	int nrest = 0, npos = 0, rc;

	if (rest == NULL) {
		fprintf(stderr, "aqgrid %s: %s\n", c->name,
		    aq_strerror(AQ_ERR_NOMEM));
		return EXIT_FAILURE;
	}
	/* The words go to the path; the options to net_parse. */
	rest[nrest++] = argv[0];
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--url") == 0 && i + 1 < argc) {
			rest[nrest++] = argv[i++];
			rest[nrest++] = argv[i];
		} else if (is_option(argv[i]) || npos == 2) {
			rest[nrest++] = argv[i];
		} else {
			pos[npos++] = argv[i];
		}
	}
	rc = net_parse(c, NET_COMMON, 0, nrest, rest, &cfg);
	if (rc == EXIT_SUCCESS && !cfg.help) {
		if ((pos[0] != NULL && !site_word(pos[0])) ||
		    (pos[1] != NULL && !site_word(pos[1]))) {
			usage_error(c->name, "bad site id or month '%s'",
			    shown(!site_word(pos[0]) ? pos[0] : pos[1], b,
				sizeof(b)));
			rc = EXIT_USAGE;
		} else if (pos[1] != NULL && strcmp(pos[0], "blacklist") != 0) {
			usage_error(c->name, "unexpected argument '%s'",
			    shown(pos[1], b, sizeof(b)));
			rc = EXIT_USAGE;
		}
	}
	if (pos[0] == NULL)
		snprintf(path, sizeof(path), "/api/v1/sites");
	else if (strcmp(pos[0], "blacklist") == 0)
		snprintf(path, sizeof(path), "/api/v1/sites/blacklist%s%s",
		    pos[1] != NULL ? "?month=" : "",
		    pos[1] != NULL ? pos[1] : "");
	else
		snprintf(path, sizeof(path), "/api/v1/sites/%s", pos[0]);
	if (rc != EXIT_SUCCESS) {
		/* told */
	} else if (cfg.help) {
		print_cmd_help(c);
	} else if (client_init(&cl, c->name, cfg.base) != AQ_OK ||
	    client_get_ok(&cl, path, &j) != AQ_OK) {
		rc = EXIT_FAILURE;
	} else if (cfg.json) {
		rc = emit_raw(&cl.body) == AQ_OK ? EXIT_SUCCESS : EXIT_FAILURE;
	} else if (pos[0] == NULL) {
		sites_print(j);
	} else if (strcmp(pos[0], "blacklist") == 0) {
		blacklist_print(j);
	} else {
		site_print(j);
	}
	json_decref(j);
	client_fini(&cl);
	free(rest);
	return finish_output(rc);
}
