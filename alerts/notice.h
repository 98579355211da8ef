/*
 * notice: what the alert engine (alert.h) hands to the notifiers
 * (notify.h) -- one notification about one or more alerts of one rule,
 * grouped by area.  Plain data, copied by value where it crosses threads;
 * strings are NUL-terminated and truncated to their arrays.
 */
#ifndef AQ_ALERTS_NOTICE_H
#define AQ_ALERTS_NOTICE_H

#include <stdint.h>

#define NOTICE_ALERTS_MAX 128 /* alerts listed in one grouped notice */
#define NOTICE_ID_MAX 64
#define NOTICE_TEXT_MAX 512
#define NOTICE_LABELS_MAX 8

enum notice_kind {
	NOTICE_FIRING,   /* alerts that started firing */
	NOTICE_REPEAT,   /* still firing, repeat interval elapsed, not acked */
	NOTICE_RESOLVED, /* alerts that ended */
};

enum notice_severity { SEV_INFO, SEV_WARNING, SEV_CRITICAL, SEV_COUNT };

enum notice_scope { SCOPE_CELL, SCOPE_AREA, SCOPE_GRID, SCOPE_SENSOR };

struct notice_label {
	char key[NOTICE_ID_MAX];
	char value[NOTICE_ID_MAX];
};

/* One alert as it stands when the notice is made. */
struct notice_alert {
	char fingerprint[NOTICE_ID_MAX];  /* stable per (rule, scope) */
	uint64_t alert_id;                /* alert-log id of this episode */
	char cell[NOTICE_ID_MAX];         /* "" unless scope cell/sensor */
	char sensor[NOTICE_ID_MAX];       /* "" unless scope sensor */
	char area[NOTICE_ID_MAX];         /* the cell's area, or the area */
	double value;                     /* statistic at the last change */
	int has_value;                    /* 0: unknown (offline) */
	int64_t starts_at;                /* Unix s, first firing */
	int64_t ends_at;                  /* Unix s when resolved, else 0 */
	int64_t event_hour;               /* hour end of the statistic */
	char summary[NOTICE_TEXT_MAX];    /* English, template filled */
	char summary_zh[NOTICE_TEXT_MAX]; /* Chinese */
};

struct notice {
	uint64_t id; /* unique, increasing: idempotency */
	enum notice_kind kind;
	char rule[NOTICE_ID_MAX];        /* rule id */
	char rule_name[NOTICE_TEXT_MAX]; /* human name */
	char indicator[NOTICE_ID_MAX];   /* e.g. "pm25_24h", "aqi" */
	char op[4];                      /* ">", ">=", "<", "<=" */
	double threshold;
	enum notice_severity severity;
	enum notice_scope scope;
	char area[NOTICE_ID_MAX]; /* group key: area id, "" for the grid */
	struct notice_label labels[NOTICE_LABELS_MAX];
	uint32_t nlabels;
	int64_t created; /* Unix s (wall clock) */
	/* One receiver id: the notice goes to it alone and the routes are
	 * not asked (a dust site's contact); "" routes it. */
	char to[NOTICE_ID_MAX];
	uint32_t nalerts;
	struct notice_alert alerts[NOTICE_ALERTS_MAX];
};

#endif
