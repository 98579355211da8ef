/*
 * conf: aqgridd's configuration, read from an INI-style file into a fresh
 * struct conf that is either wholly valid or not returned at all.
 *
 *   # comment
 *   [section]          mqtt, http, standards, ingest, grid, store,
 *                      alerts, hj212, publish, log, plan
 *   [area ID]          a named set of cells
 *   [sensor ID]        an entry of the sensor registry
 *   [sites]            the dust sites' status rules and blacklist
 *   [rule ID], [inhibit ID], [receiver ID], [route ID], [site ID]
 *                      raw sections: captured as key = value lines with
 *                      their file:line, checked by the module reading them
 *   key = value
 *   include = FILE     (anywhere; relative to the including file)
 *
 * Every key is a row of one option table (name, type, range, default,
 * description) that the parser, the defaults and the manual page share.
 * Unknown keys, values out of range and dangling references are errors,
 * each reported as "file:line: reason"; all of them are reported, not only
 * the first.  conf_load() allocates; the result is immutable and may be
 * read from any thread.  Never logs: errors go to the stream given.
 */
#ifndef AQ_DAEMON_CONF_H
#define AQ_DAEMON_CONF_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "daemon/aqi.h"
#include "daemon/err.h"
#include "daemon/limits.h"
#include "daemon/pol.h"
#include "daemon/win.h"

#define CONF_PATH_MAX 512
#define CONF_SUBS_MAX 32
#define CONF_ID_MAX 32
#define CONF_NAME_MAX 128
#define CONF_KIND_MAX 16

struct conf_sub {
	char filter[256];
	int decoder; /* from conf_hooks.decoder */
	int qos;
};

struct conf_cell {
	char id[WIN_CELL_ID_MAX];
	double lat, lon;  /* centre */
	int32_t row, col; /* -1 for a cell listed on its own */
	int32_t area;     /* first area holding it, or -1 */
};

struct conf_area {
	char id[CONF_ID_MAX];
	char name[CONF_NAME_MAX];
	char name_en[CONF_NAME_MAX];
	uint32_t *cells; /* indices into conf.cells */
	uint32_t ncells;
};

struct conf_sensor {
	char id[WIN_SENSOR_ID_MAX]; /* for HJ 212 data loggers, the MN */
	char cell[WIN_CELL_ID_MAX];
	char password[32]; /* HJ 212 PW to insist on; "" none */
	int64_t interval;  /* expected seconds between readings */
	uint32_t cal_has;  /* 1u << POL_x with a calibration */
	double slope[POL_COUNT], intercept[POL_COUNT];
};

/* One "key = value" line of a raw section; strings owned by the conf. */
struct conf_kv {
	const char *key;
	const char *value; /* trimmed, may be "" */
	const char *file;  /* where the line is, for "file:line: reason" */
	int line;
};

/*
 * A raw section, [KIND ID]: the core does not know its keys.  Lines keep
 * their order; a key may repeat (the reader decides whether it may).
 * Ids are unique per kind.
 */
struct conf_section {
	char kind[CONF_KIND_MAX]; /* "rule", "inhibit", "receiver", "route",
				     "site" */
	char id[CONF_ID_MAX];
	const char *file; /* of the header line */
	int line;
	const struct conf_kv *kv;
	uint32_t nkv;
};

struct conf {
	char path[CONF_PATH_MAX];
	/* [mqtt] */
	char mqtt_host[256];
	int64_t mqtt_port;
	char mqtt_client_id[64];
	int64_t mqtt_keepalive;
	int mqtt_protocol; /* 0 auto (v5, then v3.1.1), 5, 4 (v3.1.1) */
	char mqtt_username[128];
	char mqtt_password_file[CONF_PATH_MAX];
	char mqtt_ca_file[CONF_PATH_MAX];
	char mqtt_cert_file[CONF_PATH_MAX];
	char mqtt_key_file[CONF_PATH_MAX];
	int64_t mqtt_backoff_min, mqtt_backoff_max;
	struct conf_sub subs[CONF_SUBS_MAX];
	int nsubs;
	/* [http] */
	char http_addr[64];
	int64_t http_port;
	char web_root[CONF_PATH_MAX];
	int64_t http_threads;
	int64_t http_connections;
	int64_t http_client_connections;   /* per client address; 0: no cap */
	int64_t http_idle_timeout;         /* seconds */
	int64_t http_max_header;           /* bytes: request line and headers */
	int64_t http_max_body;             /* bytes of a request body */
	char http_tls_cert[CONF_PATH_MAX]; /* "" for plain HTTP */
	char http_tls_key[CONF_PATH_MAX];
	char http_cors_origins[1024]; /* space-separated; "" for no CORS */
	char http_tokens_file[CONF_PATH_MAX]; /* "" for none: no writes */
	bool http_read_auth;                  /* reads need a token too */
	int64_t http_sse_clients; /* event streams open at once, at most */
	/* [hj212] */
	char hj212_addr[64]; /* "" when the listener is off */
	int64_t hj212_port;
	int64_t hj212_connections;
	int64_t hj212_idle_timeout;
	int64_t hj212_frame_timeout;
	/* [standards] */
	int aqi_std; /* enum aqi_std */
	struct limits_opts limits;
	char timezone[64];
	/* [ingest] */
	int64_t lateness;
	bool check_future;
	int64_t max_future;
	int64_t max_payload;
	int64_t queue;
	int64_t sensors_max;
	double qc_max[POL_COUNT];
	/* [forecast]: cells that get a model (fcgrid.h); 0: none */
	int64_t forecast_cells;
	/* [forecast]: MQTT filter of external area forecasts; "": none */
	char forecast_ext_topic[256];
	/* [faults]: the sensor-fault detector (fault.h) */
	bool faults;
	int64_t fault_stuck; /* seconds */
	double fault_spike_z;
	double fault_bias_h;   /* hour-equivalents */
	double fault_disagree; /* log ratio */
	bool fault_exclude_bias;
	/* [hotspots] (hotspot.h) */
	double hotspot_abs_min; /* ug/m3 */
	double hotspot_rel_min; /* share of the background */
	int64_t hotspot_min_hours;
	/* [alerts] */
	int64_t alert_group_wait;     /* seconds */
	int64_t alert_group_interval; /* seconds */
	/* [sites]: the dust sites' status (alerts/site.h) */
	int site_background;  /* 0 neighbours (3x3 median), 1 cell */
	int64_t site_rolling; /* hours of the rolling mean */
	double site_yellow_1h, site_yellow_excess_1h;
	double site_red_1h, site_red_excess_1h;
	double site_yellow_roll, site_yellow_excess_roll;
	double site_red_roll, site_red_excess_roll;
	double site25_yellow_1h, site25_yellow_excess_1h; /* PM2.5 rules */
	double site25_red_1h, site25_red_excess_1h;
	double site25_yellow_roll, site25_yellow_excess_roll;
	double site25_red_roll, site25_red_excess_roll;
	double sitetsp_yellow_1h, sitetsp_red_1h; /* TSP: absolute only */
	double sitetsp_yellow_roll, sitetsp_red_roll;
	double site_clear_ratio;  /* hysteresis: thresholds x this to clear */
	int64_t site_min_hours;   /* hours a worse status must hold */
	int64_t site_clear_hours; /* hours a better status must hold */
	int64_t site_bg_wait;     /* event seconds to wait for background */
	int64_t site_bl_hours, site_bl_episodes; /* blacklist; 0: off */
	char site_inspectors[512]; /* receiver ids, space-separated */
	char site_inspectors_file[CONF_PATH_MAX];
	int site_inspectors_line;
	/* [store] */
	char store_dir[CONF_PATH_MAX]; /* "" when nothing is kept */
	int64_t retention_days;
	int64_t snapshot_interval; /* seconds between state images */
	int64_t store_queue;       /* rows waiting for the store's writer */
	/* [publish]: results back to the broker (sensors/publish.h) */
	bool pub_enabled;
	char pub_prefix[128]; /* topic prefix, e.g. "aq/out" */
	int64_t pub_qos;
	bool pub_retain;           /* cells and areas (alerts never are) */
	bool pub_discovery;        /* Home Assistant discovery documents */
	char pub_disc_prefix[128]; /* "homeassistant" */
	char pub_client_id[64];
	int64_t pub_queue; /* messages in flight at most */
	/* [log] */
	int log_format; /* 0 text, 1 JSON lines */
	/* [plan]: the district plan's targets (plan.h) */
	double plan_good_days; /* percent of valid days, at least */
	double plan_pm25;      /* ug/m3, at most */
	double plan_o3_p90;    /* ug/m3, at most; 0: none */
	/* [grid] */
	double origin_lat, origin_lon; /* north-west corner */
	int64_t cell_size;             /* metres */
	int64_t rows, cols;
	struct conf_cell *cells;
	uint32_t ncells;
	struct conf_area *areas;
	uint32_t nareas;
	struct conf_sensor *sensors;
	uint32_t nsensors;
	/* Raw sections in file order (conf_section_next() walks one kind). */
	const struct conf_section *sections;
	uint32_t nsections;
	struct conf_strs *strs; /* private: the strings they point to */
};

/* What conf needs to know from outside the core: decoder names. */
struct conf_hooks {
	int (*decoder)(const char *name); /* index, or -1 if unknown */
};

/*
 * Reads path.  Returns AQ_OK and *out (owned), or AQ_ERR_INVAL after
 * writing every problem to errs as "file:line: reason" lines.
 */
int conf_load(const char *path, const struct conf_hooks *hooks,
    struct conf **out, FILE *errs) AQ_MUSTCHECK;
void conf_free(struct conf *c);

/* Index of a cell by id, or -1 (linear in rows only for listed cells). */
int64_t conf_cell_find(const struct conf *c, const char *id);
/* The cells around cell on the regular grid (ascending, up to 8) into
 * out; how many.  A cell listed on its own has none. */
uint32_t conf_cell_neighbours(
    const struct conf *c, uint32_t cell, uint32_t out[8]);
/* The regular grid's cell holding a position, or -1. */
int64_t conf_cell_at(const struct conf *c, double lat, double lon);

/*
 * Raw sections: the next one of kind after prev (NULL: the first), or NULL
 * when no more; the one of kind and id, or NULL; the last value of key in
 * s, or NULL.  All borrow from c.
 */
const struct conf_section *conf_section_next(
    const struct conf *c, const char *kind, const struct conf_section *prev);
const struct conf_section *conf_section_find(
    const struct conf *c, const char *kind, const char *id);
const char *conf_section_get(const struct conf_section *s, const char *key);

/* Writes "file:line: " and the message and a newline to errs, the format
 * of every configuration error; line 0 prints "file: ". */
void conf_errf(FILE *errs, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Writes the option table as a manual-page section (troff) to f. */
void conf_write_man(FILE *f);
/* The section and key of the option table's row k, for checks that a
 * document lists every key; false past the last row. */
bool conf_option(size_t k, const char **section, const char **key);

#endif
