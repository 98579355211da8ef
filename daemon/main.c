/*
 * aqgridd: the air-quality grid daemon.  The composition root: reads the
 * configuration, builds the state, starts the HTTP server, the MQTT
 * ingest and the HJ 212 listener, and runs the main loop that acts on
 * signals.
 */

/* realpath() is XSI, not POSIX base: glibc's default set has it. */
#define _DEFAULT_SOURCE
/* Hours of stored rows the forecast models learn from at start-up. */
#define FORECAST_TRAIN_HOURS 2000
#include <sys/stat.h>

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alerts/service.h"
#include "daemon/conf.h"
#include "daemon/fcgrid.h"
#include "daemon/fix.h"
#include "daemon/hotspot.h"
#include "daemon/log.h"
#include "daemon/sdnotify.h"
#include "daemon/state.h"
#include "daemon/store.h"
#include "daemon/tz.h"
#include "daemon/version.h"
#include "sensors/decode.h"
#include "sensors/hj212net.h"
#include "sensors/ingest.h"
#include "sensors/publish.h"
#include "web/api.h"

static volatile sig_atomic_t got_term, got_hup;
/* -j: JSON log lines whatever [log] format says. */
static int json_flag;

/* What every published view goes to. */
struct view_hooks {
	struct service *svc;
	struct state *st;
	struct publish *pub;
	struct fcgrid *fc;
};

static void on_signal(int sig);
static double view_value(const struct cell_view *v, enum ind i);
static void forecast_train(struct state *st, struct fcgrid *g);
static int forecast_groups(const struct conf *c, struct fcgrid *g);
static void usage(void);
static int decoder_hook(const char *name);
static int same_grid(const struct conf *a, const struct conf *b);
static void reload(struct state *st, struct ingest *in, const char *path);
static void notify(const char *state);
static int detach(void);
static struct store *open_store(const struct conf *c);
static void prune(struct state *st, int64_t now);
static void watch_store(struct store *s, bool *degraded);
static void on_view(void *ctx, const struct cell_view *v);
static void bridge_alerts(
    struct service *svc, struct publish *pub, uint64_t *last);

static const struct conf_hooks hooks = {.decoder = decoder_hook};

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: aqgridd [-fjtv] [-c file]\n"
	    "  -c file  configuration (default "
	    "/etc/aqgridd/aqgridd.conf)\n"
	    "  -f       stay in the foreground\n"
	    "  -j       log JSON lines (as [log] format = json)\n"
	    "  -t       check the configuration and exit\n"
	    "  -v       more logging\n");
	exit(2);
}

static int
decoder_hook(const char *name)
{
	return decoder_from_name(name);
}

/* Whether a reload keeps what only a restart can change. */
static int
same_grid(const struct conf *a, const struct conf *b)
{
	if (a->ncells != b->ncells || a->lateness != b->lateness ||
	    strcmp(a->timezone, b->timezone) != 0 ||
	    a->nsensors != b->nsensors || a->sensors_max != b->sensors_max)
		return 0;
	for (uint32_t k = 0; k < a->ncells; k++)
		if (strcmp(a->cells[k].id, b->cells[k].id) != 0)
			return 0;
	for (uint32_t k = 0; k < a->nsensors; k++)
		if (strcmp(a->sensors[k].id, b->sensors[k].id) != 0 ||
		    strcmp(a->sensors[k].cell, b->sensors[k].cell) != 0)
			return 0;
	return 1;
}

static void
reload(struct state *st, struct ingest *in, const char *path)
{
	const struct conf *old = state_conf(st);
	struct conf *c = NULL;
	char *errs = NULL;
	size_t errlen = 0;
	FILE *f = open_memstream(&errs, &errlen);

	if (f == NULL) {
		log_warn("reload: open_memstream");
		return;
	}
	if (conf_load(path, &hooks, &c, f) != AQ_OK) {
		fclose(f);
		log_warnx("reload: %s is not valid, keeping the running "
			  "configuration:\n%s",
		    path, errs);
		free(errs);
		return;
	}
	fclose(f);
	free(errs);
	if (!same_grid(old, c)) {
		log_warnx("reload: the grid, sensor registry, time zone or "
			  "lateness changed; restart aqgridd to apply; keeping "
			  "the running configuration");
		conf_free(c);
		return;
	}
	if (strcmp(old->mqtt_host, c->mqtt_host) != 0 ||
	    old->mqtt_port != c->mqtt_port ||
	    strcmp(old->http_addr, c->http_addr) != 0 ||
	    old->http_port != c->http_port ||
	    strcmp(old->hj212_addr, c->hj212_addr) != 0 ||
	    old->hj212_port != c->hj212_port)
		log_warnx("reload: MQTT, HTTP or HJ 212 addresses take effect "
			  "at the next restart");
	if (old->pub_enabled != c->pub_enabled ||
	    strcmp(old->pub_prefix, c->pub_prefix) != 0 ||
	    old->pub_discovery != c->pub_discovery)
		log_warnx("reload: [publish] takes effect at the next restart");
	log_set_json(json_flag || c->log_format == 1);
	state_set_conf(st, c);
	ingest_reload(in);
	log_info("reload: configuration %s applied", path);
}

/* Tells the service manager (systemd, Type=notify) the state; logged
 * once if the socket it names cannot be reached. */
static void
notify(const char *state)
{
	static bool told;

	if (sdnotify(state) < 0 && !told) {
		told = true;
		log_warn("sd_notify: $NOTIFY_SOCKET");
	}
}

/* The history database in the store folder (created if missing), or NULL
 * when nothing is to be kept.  A damaged file is moved aside and logged. */
static struct store *
open_store(const struct conf *c)
{
	char path[CONF_PATH_MAX + 16], msg[1024];
	struct store *s = NULL;

	if (c->store_dir[0] == '\0') {
		log_warnx("store: no [store] dir: history and state are not "
			  "kept across restarts");
		return NULL;
	}
	if (mkdir(c->store_dir, 0750) != 0 && errno != EEXIST)
		fatal("store: %s", c->store_dir);
	snprintf(path, sizeof(path), "%s/aqgrid.db", c->store_dir);
	if (store_open(path, (size_t)c->store_queue, &s, msg, sizeof(msg)) !=
	    AQ_OK)
		fatalx("store: %s", msg);
	if (msg[0] != '\0')
		log_warnx("store: %s", msg);
	return s;
}

/* Retention: hourly and daily rows older than retention_days go. */
static void
prune(struct state *st, int64_t now)
{
	struct store *s = state_store(st);
	int64_t before = now - state_conf(st)->retention_days * 86400;

	if (s != NULL &&
	    store_prune(s, before, tz_date(state_tz(st), before)) != AQ_OK)
		log_warnx("store: cannot delete rows past the retention");
}

/* Says once when the store starts failing, and when it recovers. */
static void
watch_store(struct store *s, bool *degraded)
{
	struct store_stats ss;

	if (s == NULL)
		return;
	store_stats(s, &ss);
	if (ss.degraded && !*degraded)
		log_warnx(
		    "store: cannot write (%s); %zu rows waiting, retrying",
		    ss.error, ss.queued);
	else if (!ss.degraded && *degraded)
		log_info("store: writing again");
	*degraded = ss.degraded;
}

/* Every published view feeds the cell's forecast (with the hour's weather
 * its sensors reported), goes through the alert
 * rules, and to MQTT; each hour's PM2.5 of a cell goes to the hotspots,
 * judged at the end of a publication (NULL). */
static void
on_view(void *ctx, const struct cell_view *v)
{
	const struct view_hooks *h = ctx;

	if (v != NULL && h->fc != NULL && v->hour != WIN_NO_HOUR &&
	    fcgrid_hour(h->fc, v->cell, v->hour, view_value(v, IND_PM25_1H),
		view_value(v, IND_O3_1H), &v->stats.wx) == AQ_ERR_NOMEM)
		log_warnx("forecast: no memory for cell %u's model", v->cell);
	/* The publication's hours learn with the neighbours' values of the
	 * same hour that are known by now. */
	if (v == NULL && h->fc != NULL && fcgrid_flush(h->fc) == AQ_ERR_NOMEM)
		log_warnx("forecast: no memory to learn an hour");
	service_view(h->svc, v, (int64_t)time(NULL));
	publish_view(h->pub, v);
	if (v == NULL)
		hotspots_update(state_hotspots(h->st));
	else if (v->hour != WIN_NO_HOUR)
		hotspots_value(state_hotspots(h->st), v->cell, v->hour,
		    view_value(v, IND_PM25_1H));
}

/* A view's hourly value of indicator i, or NaN. */
static double
view_value(const struct cell_view *v, enum ind i)
{
	return v->stats.in.has & IND_BIT(i) ? fix_to_double(v->stats.in.v[i])
					    : NAN;
}

/*
 * The neighbours' mean of a cell is over the other cells of its first
 * area, as aqgrid-eval's over the other stations of the city; the cells of
 * no area make one more group.
 */
static int
forecast_groups(const struct conf *c, struct fcgrid *g)
{
	int32_t *grp = malloc((c->ncells ? c->ncells : 1) * sizeof(*grp));
	int rc;

	if (grp == NULL)
		return AQ_ERR_NOMEM;
	for (uint32_t k = 0; k < c->ncells; k++)
		grp[k] = c->cells[k].area >= 0 ? c->cells[k].area
					       : (int32_t)c->nareas;
	rc = fcgrid_set_groups(g, grp);
	free(grp);
	return rc;
}

/*
 * The models learn from the store's hourly rows of the last
 * FORECAST_TRAIN_HOURS at start-up (nothing of them is saved), with the
 * weather the rows keep, as the live views gave it: the views
 * that follow (the image's, the journal's, live ones) continue from the
 * newest row.  Every cell's rows of a day go in before that day is
 * learned, so each hour learns with all its neighbours, as a publication
 * holding every cell's hour would.
 */
static void
forecast_train(struct state *st, struct fcgrid *g)
{
	static struct store_hour rows[512];
	struct store *s = state_store(st);
	const struct conf *c = state_conf(st);
	const struct tz *z = state_tz(st);
	int64_t to = ((int64_t)time(NULL) + 86400) / 3600 * 3600;
	int64_t from = to - (int64_t)FORECAST_TRAIN_HOURS * 3600;
	uint64_t fed = 0;

	if (s == NULL)
		return;
	for (int64_t w = from; w <= to; w += 24 * 3600) {
		for (uint32_t k = 0; k < c->ncells; k++) {
			int64_t after = INT64_MIN;
			uint32_t n = 512;

			while (n == 512) {
				if (store_history(s, c->cells[k].id, w,
					w + 24 * 3600 - 1, after, 512, rows,
					&n) != AQ_OK) {
					log_warnx("forecast: cannot read cell "
						  "%s's history",
					    c->cells[k].id);
					break;
				}
				for (uint32_t i = 0; i < n; i++) {
					const struct store_hour *r = &rows[i];
					double pm =
					    r->has & IND_BIT(IND_PM25_1H)
					    ? fix_to_double(r->v[IND_PM25_1H])
					    : NAN;
					double o3 = r->has & IND_BIT(IND_O3_1H)
					    ? fix_to_double(r->v[IND_O3_1H])
					    : NAN;

					if (fcgrid_hour(g, k,
						tz_hour(z, r->hour - 1), pm, o3,
						&r->wx) == AQ_OK)
						fed++;
					after = r->hour;
				}
			}
		}
		if (fcgrid_flush(g) == AQ_ERR_NOMEM)
			log_warnx("forecast: no memory to learn an hour");
	}
	if (fed > 0)
		log_info("forecast: models trained on %llu stored cell-hours",
		    (unsigned long long)fed);
}

/* The alert notices of the event feed, to PREFIX/alerts (alerts/ and
 * sensors/ do not know each other: the composition root carries them). */
static void
bridge_alerts(struct service *svc, struct publish *pub, uint64_t *last)
{
	static struct service_event ev[64];
	uint32_t n = 0;

	if (pub == NULL)
		return;
	do {
		(void)service_events(svc, *last, ev, 64, &n);
		for (uint32_t k = 0; k < n; k++) {
			*last = ev[k].id;
			if (strcmp(ev[k].type, "alert") == 0)
				(void)publish_alert(
				    pub, ev[k].json, strlen(ev[k].json));
		}
	} while (n == 64);
}

/* Into the background, as daemon(3) would (not POSIX). */
static int
detach(void)
{
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -1;
	if (chdir("/") != 0)
		return -1;
	return 0;
}

int
main(int argc, char **argv)
{
	const char *path = "/etc/aqgridd/aqgridd.conf";
	int foreground = 0, test = 0, verbose = 0, ch;
	bool bad;
	uint32_t ncells;
	struct conf *conf = NULL;
	struct state *st = NULL;
	struct api *api = NULL;
	struct ingest *in = NULL;
	struct hj212net *hj = NULL;
	struct store *store = NULL;
	struct service *svc = NULL;
	struct publish *pub = NULL;
	static struct view_hooks vh;
	uint64_t last_event = 0;
	int64_t last_tick = 0;
	bool store_degraded = false;
	int64_t last_prune = 0;
	struct timespec mono;
	struct sigaction sa;
	char msg[64];
	static const char *decoders[DECODER_COUNT];

	while ((ch = getopt(argc, argv, "c:fjtv")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'j':
			json_flag = 1;
			break;
		case 't':
			test = 1;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_init(verbose);
	log_set_json(json_flag);
	if (conf_load(path, &hooks, &conf, stderr) != AQ_OK)
		return 1;
	log_set_json(json_flag || conf->log_format == 1);
	/* Both, so that every problem is reported at once. */
	bad = service_check(conf, stderr) != AQ_OK;
	bad |= api_check(conf, stderr) != AQ_OK;
	if (bad) {
		conf_free(conf);
		return 1;
	}
	if (test) {
		printf("configuration OK\n");
		conf_free(conf);
		return 0;
	}
	/* Relative paths in the configuration stay valid after chdir(). */
	if (conf->web_root[0] != '/') {
		char *abs = realpath(conf->web_root, NULL);

		if (abs != NULL && strlen(abs) < sizeof(conf->web_root))
			snprintf(
			    conf->web_root, sizeof(conf->web_root), "%s", abs);
		free(abs);
	}
	if (conf->store_dir[0] != '\0' && conf->store_dir[0] != '/') {
		char *abs;

		(void)mkdir(conf->store_dir, 0750);
		abs = realpath(conf->store_dir, NULL);
		if (abs != NULL && strlen(abs) < sizeof(conf->store_dir))
			snprintf(conf->store_dir, sizeof(conf->store_dir), "%s",
			    abs);
		free(abs);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	if (!foreground && detach() != 0)
		fatal("cannot detach");

	decode_init();
	/* The metrics' decoder labels are decode's own names. */
	for (int d = 0; d < DECODER_COUNT; d++)
		decoders[d] = decoder_name((enum decoder)d);
	ncells = conf->ncells;
	if ((st = state_new(conf, decoders, DECODER_COUNT)) == NULL)
		fatalx("cannot build the state for %u cells", ncells);
	conf = NULL; /* the state owns it */
	store = open_store(state_conf(st));
	state_set_store(st, store);
	/* Before the alert service, whose forecast.* rules read them. */
	if (state_conf(st)->forecast_cells > 0) {
		if ((vh.fc = fcgrid_new(ncells, state_conf(st)->nareas,
			 (uint32_t)state_conf(st)->forecast_cells, state_tz(st),
			 (enum aqi_std)state_conf(st)->aqi_std)) == NULL)
			fatalx("cannot allocate the forecasts");
		if (forecast_groups(state_conf(st), vh.fc) != AQ_OK)
			fatalx("cannot allocate the forecasts' groups");
		for (uint32_t a = 0;
		     store != NULL && a < state_conf(st)->nareas; a++) {
			const char *id = state_conf(st)->areas[a].id;
			int rc = fcgrid_ext_load(vh.fc, a, store, id);

			if (rc != AQ_OK && rc != AQ_ERR_NOTFOUND)
				log_warnx("forecast: area %s: stored external "
					  "forecast unreadable",
				    id);
		}
		state_set_forecasts(st, vh.fc);
		forecast_train(st, vh.fc);
	}
	if (service_new(st, store, stderr, &svc) != AQ_OK)
		fatalx("cannot start the alert service");
	if (store == NULL && state_conf(st)->nsections > 0)
		log_warnx(
		    "alerts: without [store] dir, alert state is not kept "
		    "and no notification is sent");
	vh.svc = svc;
	vh.st = st;
	last_event = service_event_last(svc);
	/* Before ingest: the views it restores are published too. */
	if (state_conf(st)->pub_enabled && (pub = publish_start(st)) == NULL)
		fatalx("cannot start publishing to MQTT");
	vh.pub = pub;
	state_on_publish(st, on_view, &vh);
	{
		/* Dust sites' monitors are not ambient air. */
		struct state_divert d;

		service_divert(svc, &d);
		state_set_divert(st, &d);
		if (service_site_count(svc) > 0)
			log_info(
			    "sites: %u dust sites", service_site_count(svc));
	}
	if (service_start(svc) != AQ_OK)
		fatalx("cannot start the notifiers");
	if ((api = api_start(st, svc)) == NULL)
		fatalx("cannot start the HTTP server");
	/* HJ 212 times carry no zone: they are read in the grid's. */
	decode_set_zone(state_tz(st));
	if ((in = ingest_start(st)) == NULL)
		fatalx("cannot start MQTT ingest");
	/* After ingest, which it feeds; a listener that cannot bind is as
	 * fatal as an HTTP server that cannot. */
	if (hj212net_enabled(state_conf(st))) {
		if ((hj = hj212net_start(st, in)) == NULL)
			fatalx("cannot start the HJ 212 listener");
		log_info("hj212: listening on %s:%u",
		    state_conf(st)->hj212_addr, (unsigned)hj212net_port(hj));
	}
	log_info("aqgridd %s: %u cells, %u areas, %u registered sensors, "
		 "standard %s; %s://%s:%u/",
	    AQ_VERSION, state_conf(st)->ncells, state_conf(st)->nareas,
	    state_conf(st)->nsensors,
	    aqi_std_name((enum aqi_std)state_conf(st)->aqi_std),
	    api_tls(api) ? "https" : "http", state_conf(st)->http_addr,
	    (unsigned)api_port(api));
	/* Every listener is bound and the engine runs: ready for
	 * systemd, which then orders the units that need aqgridd. */
	notify("READY=1");

	while (!got_term) {
		struct timespec t = {0, 100 * 1000000};

		nanosleep(&t, NULL);
		/* Cadence on the monotonic clock (a clock step must not
		 * stop the ticks); what the ticks compute uses the wall
		 * clock. */
		clock_gettime(CLOCK_MONOTONIC, &mono);
		if ((int64_t)mono.tv_sec != last_tick) {
			last_tick = (int64_t)mono.tv_sec;
			service_tick(svc, (int64_t)time(NULL));
			watch_store(store, &store_degraded);
		}
		if (last_prune == 0 || last_tick - last_prune >= 3600) {
			last_prune = last_tick;
			prune(st, (int64_t)time(NULL));
		}
		bridge_alerts(svc, pub, &last_event);
		if (got_hup) {
			got_hup = 0;
			clock_gettime(CLOCK_MONOTONIC, &mono);
			snprintf(msg, sizeof(msg),
			    "RELOADING=1\nMONOTONIC_USEC=%lld",
			    (long long)mono.tv_sec * 1000000 +
				mono.tv_nsec / 1000);
			notify(msg);
			reload(st, in, path);
			notify("READY=1");
		}
	}
	notify("STOPPING=1");
	log_info("aqgridd: stopping");
	api_stop(api);
	hj212net_stop(hj);
	ingest_stop(in);
	/* After ingest, whose last views it may still be given. */
	bridge_alerts(svc, pub, &last_event);
	publish_stop(pub);
	service_free(svc);
	store_close(store);
	state_free(st);
	fcgrid_free(vh.fc);
	log_info("aqgridd: stopped");
	return 0;
}
