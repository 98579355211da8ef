/* notify: receivers, routes, the durable outbox and the delivery thread. */
#include "alerts/notify.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerts/format.h"
#include "daemon/log.h"

#define NS_OUTBOX "outbox"
#define NS_DEAD "dead"
#define NS_ATTEMPTS "attempts"
#define URL_MAX 1024
#define SECRET_MAX 256
#define ORIGIN_MAX 256
#define IDEM_MAX 96
#define RESP_MAX 2048
#define ROUTE_LABELS_MAX 16
#define ROUTE_LIST_MAX 512
#define RATE_WINDOW_MS 60000
#define RATE_MAX 6000
#define POLL_MAX_MS 1000

struct item {
	struct item *next;
	char key[STORE_KEY_MAX];
	char idem[IDEM_MAX];
	int rcv;
	json_t *rec; /* the stored record, owned */
	int64_t next_ms;
	uint32_t attempts;
	/* While in flight. */
	CURL *easy;
	struct curl_slist *hdrs;
	char url[URL_MAX + FORMAT_SIGN_MAX + 64];
	char resp[RESP_MAX];
	size_t resp_len;
	char errbuf[CURL_ERROR_SIZE];
};

struct receiver {
	char id[CONF_ID_MAX];
	enum format_type type;
	char url[URL_MAX];
	char origin[ORIGIN_MAX]; /* scheme://host[:port], for logs */
	char secret[SECRET_MAX];
	bool has_secret;
	long timeout_ms;
	uint32_t rate; /* a minute; 0: unlimited */
	enum format_lang lang;
	uint32_t max_attempts;
	/* Delivery thread only. */
	int64_t *sent_at; /* ring of the last `rate` starts, monotonic ms */
	uint32_t ring_head, ring_n;
	struct item *inflight;
	struct complain complain;
	/* Under notify.mu. */
	uint64_t sent, failed, dead, queued;
};

struct matcher {
	char key[NOTICE_ID_MAX];
	char value[NOTICE_ID_MAX];
	bool neg;
};

struct route {
	char id[CONF_ID_MAX];
	uint32_t sev_mask;          /* 1u << severity; 0: any */
	char areas[ROUTE_LIST_MAX]; /* " a b " ; "" any */
	char rules[ROUTE_LIST_MAX];
	struct matcher labels[ROUTE_LABELS_MAX];
	uint32_t nlabels;
	uint64_t receivers; /* bit per receiver; 0 with "none" */
	bool cont;
};

struct notify {
	struct store *st;
	struct receiver *rcv;
	uint32_t nrcv;
	struct route *routes;
	uint32_t nroutes;
	uint32_t backoff_first_ms, backoff_max_ms;
	unsigned seed;

	pthread_mutex_t mu;
	bool started, stopping;
	uint32_t grace_ms;
	struct item *pending; /* submitted, not yet taken by the thread */
	struct item **pending_tail;
	uint64_t nqueued;
	uint64_t submitted, refused, unrouted;
	CURLM *multi;
	pthread_t thread;

	struct item *items; /* delivery thread only */
};

struct load_ctx {
	struct notify *n;
	struct item *head, **tail;
	struct item *orphans; /* receivers no longer configured */
	int rc;
};

static int parse_receiver(
    const struct conf_section *s, struct receiver *r, FILE *errs);
static int parse_route(const struct notify *n, const struct conf_section *s,
    struct route *ro, FILE *errs);
static int read_secret(
    const struct conf_kv *kv, char *out, size_t cap, FILE *errs);
static int parse_uint(const struct conf_kv *kv, uint32_t min, uint32_t max,
    uint32_t *out, FILE *errs);
static bool list_has(const char *list, const char *word);
static int list_add(char *list, size_t cap, const char *words);
static void url_origin(const char *url, char *out, size_t cap);
static bool route_match(const struct route *ro, const struct notice *nt);
static uint64_t route_mask(
    struct notify *n, const struct notice *nt, bool *unrouted);
static int64_t wall_ms(void);
static int64_t mono_ms(void);
static void item_free(struct item *it);
static struct item *item_new(const char *key, int rcv, json_t *rec);
static int load_one(void *ctx, const char *key, const void *v, size_t len);
static int put_record(struct notify *n, struct item *it);
static void log_attempt(struct notify *n, const struct item *it, int64_t now,
    long status, const char *error, const char *result, int64_t next);
static void *run(void *arg);
static bool rate_ok(const struct receiver *r, int64_t now, int64_t *wait);
static int start_one(struct notify *n, struct item *it);
static void finish_one(struct notify *n, struct item *it, CURLcode res);
static void drop_item(struct notify *n, struct item *it);
static void to_dead(struct notify *n, struct item *it, const char *why);
static size_t on_write(char *data, size_t size, size_t nmemb, void *arg);
static bool robot_refused(
    const struct item *it, enum format_type t, char *why, size_t cap);
static int dead_one(void *ctx, const char *key, const void *v, size_t len);
static int attempt_one(void *ctx, int64_t id, const void *v, size_t len);

static const char *const kind_names[] = {"firing", "repeat", "resolved"};
static const char *const sev_names[SEV_COUNT] = {"info", "warning", "critical"};

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* scheme://host[:port] of url, without user info, path or query: what
 * logs may show (robot URLs carry access tokens in path and query). */
static void
url_origin(const char *url, char *out, size_t cap)
{
	const char *p = strstr(url, "://"), *host, *end, *at;
	size_t slen;

	if (p == NULL) {
		snprintf(out, cap, "?");
		return;
	}
	slen = (size_t)(p - url);
	host = p + 3;
	end = host + strcspn(host, "/?#");
	for (at = host; at < end; at++)
		if (*at == '@')
			host = at + 1;
	snprintf(
	    out, cap, "%.*s://%.*s", (int)slen, url, (int)(end - host), host);
}

static bool
list_has(const char *list, const char *word)
{
	char pat[NOTICE_ID_MAX + 2];

	snprintf(pat, sizeof(pat), " %s ", word);
	return strstr(list, pat) != NULL;
}

/* Appends the space- or comma-separated words to list as " a b ". */
static int
list_add(char *list, size_t cap, const char *words)
{
	const char *p = words;
	size_t len = strlen(list), w;

	while (*p != '\0') {
		p += strspn(p, " ,\t");
		if ((w = strcspn(p, " ,\t")) == 0)
			break;
		if (len == 0)
			list[len++] = ' ';
		if (len + w + 2 > cap)
			return AQ_ERR_RANGE;
		memcpy(list + len, p, w);
		len += w;
		list[len++] = ' ';
		list[len] = '\0';
		p += w;
	}
	return AQ_OK;
}

static int
parse_uint(const struct conf_kv *kv, uint32_t min, uint32_t max, uint32_t *out,
    FILE *errs)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(kv->value, &end, 10);
	if (errno != 0 || end == kv->value || *end != '\0' || v < min ||
	    v > max) {
		conf_errf(errs, kv->file, kv->line,
		    "%s: an integer from %" PRIu32 " to %" PRIu32 " expected",
		    kv->key, min, max);
		return AQ_ERR_INVAL;
	}
	*out = (uint32_t)v;
	return AQ_OK;
}

/* The secret from a file (relative to the file naming it), one line. */
static int
read_secret(const struct conf_kv *kv, char *out, size_t cap, FILE *errs)
{
	char path[CONF_PATH_MAX + 64];
	const char *slash;
	FILE *f = NULL;
	size_t len = 0;
	int rc = AQ_ERR_INVAL;

	slash = strrchr(kv->file, '/');
	if (kv->value[0] == '/' || slash == NULL)
		snprintf(path, sizeof(path), "%s", kv->value);
	else
		snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - kv->file),
		    kv->file, kv->value);
	if ((f = fopen(path, "r")) == NULL) {
		conf_errf(errs, kv->file, kv->line, "secret_file %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (fgets(out, (int)cap, f) != NULL)
		len = strlen(out);
	while (len > 0 &&
	    (out[len - 1] == '\n' || out[len - 1] == '\r' ||
		out[len - 1] == ' ' || out[len - 1] == '\t'))
		out[--len] = '\0';
	if (len == 0 || len + 1 >= cap) {
		conf_errf(errs, kv->file, kv->line,
		    "secret_file %s: empty or longer than %zu bytes", path,
		    cap - 2);
		goto out;
	}
	rc = AQ_OK;
out:
	if (f != NULL)
		fclose(f);
	return rc;
}

static int
parse_receiver(const struct conf_section *s, struct receiver *r, FILE *errs)
{
	const char *v;
	int t, bad = 0;
	bool has_rate = false, has_lang = false, has_file = false;
	uint32_t u;

	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%s", s->id);
	r->timeout_ms = 10000;
	r->max_attempts = 15;
	if ((v = conf_section_get(s, "type")) == NULL ||
	    (t = format_type_parse(v)) < 0) {
		conf_errf(errs, s->file, s->line,
		    "[receiver %s]: type must be one of webhook alertmanager "
		    "wecom dingtalk feishu slack pagerduty",
		    s->id);
		return AQ_ERR_INVAL;
	}
	r->type = (enum format_type)t;
	for (uint32_t k = 0; k < s->nkv; k++) {
		const struct conf_kv *kv = &s->kv[k];

		if (strcmp(kv->key, "type") == 0)
			continue;
		if (strcmp(kv->key, "url") == 0) {
			if ((strncmp(kv->value, "http://", 7) != 0 &&
				strncmp(kv->value, "https://", 8) != 0) ||
			    strlen(kv->value) >= sizeof(r->url)) {
				conf_errf(errs, kv->file, kv->line,
				    "url: an http:// or https:// URL of at "
				    "most %d bytes expected",
				    URL_MAX - 1);
				bad = 1;
			} else
				snprintf(
				    r->url, sizeof(r->url), "%s", kv->value);
		} else if (strcmp(kv->key, "secret") == 0) {
			if (kv->value[0] == '\0' ||
			    strlen(kv->value) >= sizeof(r->secret)) {
				conf_errf(errs, kv->file, kv->line,
				    "secret: 1 to %d bytes expected",
				    SECRET_MAX - 2);
				bad = 1;
			} else
				snprintf(r->secret, sizeof(r->secret), "%s",
				    kv->value);
			r->has_secret = true;
		} else if (strcmp(kv->key, "secret_file") == 0) {
			if (read_secret(kv, r->secret, sizeof(r->secret),
				errs) != AQ_OK)
				bad = 1;
			has_file = true;
		} else if (strcmp(kv->key, "timeout") == 0) {
			if (parse_uint(kv, 1, 300, &u, errs) != AQ_OK)
				bad = 1;
			else
				r->timeout_ms = (long)u * 1000;
		} else if (strcmp(kv->key, "rate") == 0) {
			if (parse_uint(kv, 0, RATE_MAX, &r->rate, errs) !=
			    AQ_OK)
				bad = 1;
			has_rate = true;
		} else if (strcmp(kv->key, "max_attempts") == 0) {
			if (parse_uint(kv, 1, 100, &r->max_attempts, errs) !=
			    AQ_OK)
				bad = 1;
		} else if (strcmp(kv->key, "language") == 0) {
			if (strcmp(kv->value, "zh") == 0)
				r->lang = FMT_LANG_ZH;
			else if (strcmp(kv->value, "en") == 0)
				r->lang = FMT_LANG_EN;
			else {
				conf_errf(errs, kv->file, kv->line,
				    "language: zh or en expected");
				bad = 1;
			}
			has_lang = true;
		} else {
			conf_errf(errs, kv->file, kv->line,
			    "unknown key '%s' in [receiver %s]", kv->key,
			    s->id);
			bad = 1;
		}
	}
	if (r->has_secret && has_file) {
		conf_errf(errs, s->file, s->line,
		    "[receiver %s]: secret and secret_file both given", s->id);
		bad = 1;
	}
	r->has_secret = r->has_secret || has_file;
	if (r->url[0] == '\0' && !bad) {
		conf_errf(
		    errs, s->file, s->line, "[receiver %s]: no url", s->id);
		bad = 1;
	}
	if (r->type == FMT_PAGERDUTY && !r->has_secret) {
		conf_errf(errs, s->file, s->line,
		    "[receiver %s]: pagerduty needs its routing key as secret "
		    "or secret_file",
		    s->id);
		bad = 1;
	}
	if (!has_rate)
		r->rate = format_type_robot(r->type) ? 20 : 0;
	if (!has_lang)
		r->lang = r->type == FMT_WECOM || r->type == FMT_DINGTALK ||
			r->type == FMT_FEISHU
		    ? FMT_LANG_ZH
		    : FMT_LANG_EN;
	url_origin(r->url, r->origin, sizeof(r->origin));
	return bad ? AQ_ERR_INVAL : AQ_OK;
}

static int
parse_route(const struct notify *n, const struct conf_section *s,
    struct route *ro, FILE *errs)
{
	bool has_rcv = false;
	int bad = 0;

	memset(ro, 0, sizeof(*ro));
	snprintf(ro->id, sizeof(ro->id), "%s", s->id);
	for (uint32_t k = 0; k < s->nkv; k++) {
		const struct conf_kv *kv = &s->kv[k];
		char list[ROUTE_LIST_MAX] = "", word[NOTICE_ID_MAX];
		const char *p;
		size_t w;

		if (strcmp(kv->key, "receivers") == 0) {
			has_rcv = true;
			if (strcmp(kv->value, "none") == 0)
				continue;
			if (list_add(list, sizeof(list), kv->value) != AQ_OK ||
			    list[0] == '\0') {
				conf_errf(errs, kv->file, kv->line,
				    "receivers: receiver ids or none expected");
				bad = 1;
				continue;
			}
			for (p = list + 1; *p != '\0'; p += w + 1) {
				uint32_t r;

				w = strcspn(p, " ");
				snprintf(word, sizeof(word), "%.*s", (int)w, p);
				for (r = 0; r < n->nrcv; r++)
					if (strcmp(n->rcv[r].id, word) == 0)
						break;
				if (r == n->nrcv) {
					conf_errf(errs, kv->file, kv->line,
					    "receivers: no [receiver %s]",
					    word);
					bad = 1;
				} else
					ro->receivers |= 1ull << r;
			}
		} else if (strcmp(kv->key, "severity") == 0) {
			if (list_add(list, sizeof(list), kv->value) != AQ_OK)
				list[0] = '\0';
			for (int v = 0; v < SEV_COUNT; v++)
				if (list_has(list, sev_names[v]))
					ro->sev_mask |= 1u << v;
			for (p = list; *p != '\0'; p += w) {
				p += strspn(p, " ");
				w = strcspn(p, " ");
				snprintf(word, sizeof(word), "%.*s", (int)w, p);
				if (w > 0 && strcmp(word, "info") != 0 &&
				    strcmp(word, "warning") != 0 &&
				    strcmp(word, "critical") != 0) {
					conf_errf(errs, kv->file, kv->line,
					    "severity: info, warning or "
					    "critical expected");
					bad = 1;
					break;
				}
			}
			if (ro->sev_mask == 0 && !bad) {
				conf_errf(errs, kv->file, kv->line,
				    "severity: info, warning or critical "
				    "expected");
				bad = 1;
			}
		} else if (strcmp(kv->key, "area") == 0 ||
		    strcmp(kv->key, "rule") == 0) {
			char *dst = kv->key[0] == 'a' ? ro->areas : ro->rules;

			if (list_add(dst, ROUTE_LIST_MAX, kv->value) != AQ_OK) {
				conf_errf(errs, kv->file, kv->line,
				    "%s: list too long", kv->key);
				bad = 1;
			}
		} else if (strcmp(kv->key, "label") == 0) {
			struct matcher *m = &ro->labels[ro->nlabels];
			const char *eq = strchr(kv->value, '=');
			size_t klen;

			if (ro->nlabels == ROUTE_LABELS_MAX || eq == NULL ||
			    eq == kv->value) {
				conf_errf(errs, kv->file, kv->line,
				    "label: KEY=VALUE or KEY!=VALUE expected "
				    "(at most %d)",
				    ROUTE_LABELS_MAX);
				bad = 1;
				continue;
			}
			m->neg = eq[-1] == '!';
			klen = (size_t)(eq - kv->value) - (m->neg ? 1 : 0);
			if (klen == 0 || klen >= sizeof(m->key) ||
			    strlen(eq + 1) >= sizeof(m->value)) {
				conf_errf(errs, kv->file, kv->line,
				    "label: key or value too long or empty");
				bad = 1;
				continue;
			}
			snprintf(m->key, sizeof(m->key), "%.*s", (int)klen,
			    kv->value);
			snprintf(m->value, sizeof(m->value), "%s", eq + 1);
			ro->nlabels++;
		} else if (strcmp(kv->key, "continue") == 0) {
			if (strcmp(kv->value, "yes") == 0)
				ro->cont = true;
			else if (strcmp(kv->value, "no") == 0)
				ro->cont = false;
			else {
				conf_errf(errs, kv->file, kv->line,
				    "continue: yes or no expected");
				bad = 1;
			}
		} else {
			conf_errf(errs, kv->file, kv->line,
			    "unknown key '%s' in [route %s]", kv->key, s->id);
			bad = 1;
		}
	}
	if (!has_rcv) {
		conf_errf(errs, s->file, s->line,
		    "[route %s]: no receivers (ids, or none)", s->id);
		bad = 1;
	}
	return bad ? AQ_ERR_INVAL : AQ_OK;
}

int
notify_new(
    const struct conf *c, struct store *st, FILE *errs, struct notify **out)
{
	const struct conf_section *s;
	struct notify *n;
	uint32_t nr = 0, nro = 0;
	int rc = AQ_ERR_NOMEM, bad = 0;

	if ((n = calloc(1, sizeof(*n))) == NULL)
		return AQ_ERR_NOMEM;
	n->st = st;
	n->backoff_first_ms = NOTIFY_BACKOFF_FIRST_MS;
	n->backoff_max_ms = NOTIFY_BACKOFF_MAX_MS;
	n->seed = (unsigned)wall_ms() ^ (unsigned)(uintptr_t)n;
	n->pending_tail = &n->pending;
	pthread_mutex_init(&n->mu, NULL);
	/* Thread-safe and counted since libcurl 7.84; paired in free. */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	for (s = NULL; (s = conf_section_next(c, "receiver", s)) != NULL;)
		nr++;
	for (s = NULL; (s = conf_section_next(c, "route", s)) != NULL;)
		nro++;
	if (nr > NOTIFY_RECEIVERS_MAX) {
		conf_errf(errs, c->path, 0, "more than %d receivers",
		    NOTIFY_RECEIVERS_MAX);
		rc = AQ_ERR_INVAL;
		goto out;
	}
	if ((nr > 0 && (n->rcv = calloc(nr, sizeof(*n->rcv))) == NULL) ||
	    (nro > 0 && (n->routes = calloc(nro, sizeof(*n->routes))) == NULL))
		goto out;
	for (s = NULL; (s = conf_section_next(c, "receiver", s)) != NULL;)
		if (parse_receiver(s, &n->rcv[n->nrcv++], errs) != AQ_OK)
			bad = 1;
	for (s = NULL; (s = conf_section_next(c, "route", s)) != NULL;)
		if (parse_route(n, s, &n->routes[n->nroutes++], errs) != AQ_OK)
			bad = 1;
	for (uint32_t r = 0; r < n->nrcv && !bad; r++) {
		struct receiver *rv = &n->rcv[r];

		if (rv->rate > 0 &&
		    (rv->sent_at = calloc(rv->rate, sizeof(int64_t))) == NULL)
			goto out;
	}
	rc = bad ? AQ_ERR_INVAL : AQ_OK;
out:
	if (rc == AQ_OK && st != NULL) {
		*out = n;
		return AQ_OK;
	}
	notify_free(n);
	return rc;
}

void
notify_free(struct notify *n)
{
	if (n == NULL)
		return;
	notify_stop(n, 0);
	for (uint32_t r = 0; r < n->nrcv; r++) {
		/* Wipe secrets before the memory goes back. */
		memset(n->rcv[r].secret, 0, sizeof(n->rcv[r].secret));
		free(n->rcv[r].sent_at);
	}
	free(n->rcv);
	free(n->routes);
	pthread_mutex_destroy(&n->mu);
	free(n);
	curl_global_cleanup();
}

static bool
route_match(const struct route *ro, const struct notice *nt)
{
	uint32_t nl =
	    nt->nlabels < NOTICE_LABELS_MAX ? nt->nlabels : NOTICE_LABELS_MAX;

	if (ro->sev_mask != 0 &&
	    ((unsigned)nt->severity >= SEV_COUNT ||
		!(ro->sev_mask & (1u << nt->severity))))
		return false;
	if (ro->areas[0] != '\0' && !list_has(ro->areas, nt->area))
		return false;
	if (ro->rules[0] != '\0' && !list_has(ro->rules, nt->rule))
		return false;
	for (uint32_t k = 0; k < ro->nlabels; k++) {
		const struct matcher *m = &ro->labels[k];
		bool eq = false;

		for (uint32_t j = 0; j < nl; j++)
			if (strcmp(nt->labels[j].key, m->key) == 0)
				eq = strcmp(nt->labels[j].value, m->value) == 0;
		if (eq == m->neg)
			return false;
	}
	return true;
}

/* The receivers of nt: the first matching route's, and those of the
 * following ones while "continue = yes"; all receivers when no route
 * matches (nothing is dropped unless a route says "receivers = none"). */
static uint64_t
route_mask(struct notify *n, const struct notice *nt, bool *unrouted)
{
	uint64_t mask = 0;
	bool matched = false;

	if (nt->to[0] != '\0') {
		for (uint32_t r = 0; r < n->nrcv; r++)
			if (strcmp(n->rcv[r].id, nt->to) == 0)
				mask |= 1ull << r;
		*unrouted = false;
		return mask;
	}
	for (uint32_t k = 0; k < n->nroutes; k++) {
		if (!route_match(&n->routes[k], nt))
			continue;
		matched = true;
		mask |= n->routes[k].receivers;
		if (!n->routes[k].cont)
			break;
	}
	*unrouted = !matched;
	if (!matched)
		mask = n->nrcv == 64 ? ~0ull : (1ull << n->nrcv) - 1;
	return mask;
}

size_t
notify_route(const struct notify *n, const struct notice *nt, const char **ids,
    size_t cap)
{
	bool unrouted;
	uint64_t mask =
	    route_mask((struct notify *)(uintptr_t)n, nt, &unrouted);
	size_t count = 0;

	for (uint32_t r = 0; r < n->nrcv; r++)
		if (mask & (1ull << r)) {
			if (count < cap)
				ids[count] = n->rcv[r].id;
			count++;
		}
	return count;
}

static struct item *
item_new(const char *key, int rcv, json_t *rec)
{
	struct item *it = calloc(1, sizeof(*it));
	const char *idem = NULL;
	json_int_t att = 0, next = 0;

	if (it == NULL)
		return NULL;
	snprintf(it->key, sizeof(it->key), "%s", key);
	it->rcv = rcv;
	it->rec = rec;
	(void)json_unpack(rec, "{s?s, s?I, s?I}", "idempotency_key", &idem,
	    "attempts", &att, "next", &next);
	snprintf(it->idem, sizeof(it->idem), "%s", idem ? idem : key);
	it->attempts = (uint32_t)att;
	it->next_ms = next;
	return it;
}

static void
item_free(struct item *it)
{
	if (it == NULL)
		return;
	json_decref(it->rec);
	curl_slist_free_all(it->hdrs);
	free(it);
}

int
notify_submit(struct notify *n, const struct notice *nt)
{
	struct item *head = NULL, **tail = &head, *it;
	char key[STORE_KEY_MAX], idem[IDEM_MAX], *body = NULL, *text = NULL;
	bool unrouted;
	uint64_t mask, count = 0;
	uint32_t nal =
	    nt->nalerts < NOTICE_ALERTS_MAX ? nt->nalerts : NOTICE_ALERTS_MAX;
	int rc = AQ_OK;

	pthread_mutex_lock(&n->mu);
	mask = route_mask(n, nt, &unrouted);
	for (uint32_t r = 0; r < n->nrcv; r++)
		if (mask & (1ull << r))
			count += n->rcv[r].type == FMT_PAGERDUTY ? nal : 1;
	if (n->nqueued + count > NOTIFY_OUTBOX_MAX) {
		rc = AQ_ERR_FULL;
		goto out;
	}
	for (uint32_t r = 0; r < n->nrcv && rc == AQ_OK; r++) {
		const struct receiver *rv = &n->rcv[r];
		uint32_t parts = rv->type == FMT_PAGERDUTY ? nal : 1;

		if (!(mask & (1ull << r)))
			continue;
		for (uint32_t k = 0; k < parts && rc == AQ_OK; k++) {
			struct format_ctx fc = {rv->id, idem, rv->lang, k};
			json_t *rec, *alerts;

			if (rv->type == FMT_PAGERDUTY) {
				snprintf(key, sizeof(key),
				    "%020" PRIu64 ":%s:%03" PRIu32, nt->id,
				    rv->id, k);
				snprintf(idem, sizeof(idem),
				    "aqgrid-%" PRIu64 "-%s-%" PRIu32, nt->id,
				    rv->id, k);
			} else {
				snprintf(key, sizeof(key), "%020" PRIu64 ":%s",
				    nt->id, rv->id);
				snprintf(idem, sizeof(idem),
				    "aqgrid-%" PRIu64 "-%s", nt->id, rv->id);
			}
			rc = AQ_ERR_NOMEM;
			if ((body = format_body(rv->type, &fc, nt)) == NULL)
				break;
			if ((alerts = json_array()) == NULL)
				break;
			for (uint32_t a = 0; a < nal; a++)
				if (rv->type != FMT_PAGERDUTY || a == k)
					json_array_append_new(alerts,
					    json_integer(
						(json_int_t)nt->alerts[a]
						    .alert_id));
			rec = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:s, "
					"s:o, s:I, s:i, s:I, s:s, s:s}",
			    "key", key, "notice", (json_int_t)nt->id,
			    "receiver", rv->id, "type",
			    format_type_name(rv->type), "idempotency_key", idem,
			    "rule", nt->rule, "kind",
			    (unsigned)nt->kind < 3 ? kind_names[nt->kind] : "?",
			    "alerts", alerts, "created",
			    (json_int_t)(wall_ms() / 1000), "attempts", 0,
			    "next", (json_int_t)0, "last", "", "body", body);
			free(body);
			body = NULL;
			if (rec == NULL)
				break;
			if ((text = json_dumps(rec, JSON_COMPACT)) == NULL ||
			    (it = item_new(key, (int)r, rec)) == NULL) {
				json_decref(rec);
				break;
			}
			*tail = it;
			tail = &it->next;
			rc = store_rec_put(
			    n->st, NS_OUTBOX, key, text, strlen(text));
			free(text);
			text = NULL;
		}
	}
	if (rc != AQ_OK) {
		/* Nothing of a refused notice stays behind. */
		for (it = head; it != NULL; it = it->next)
			if (store_rec_del(n->st, NS_OUTBOX, it->key) != AQ_OK)
				log_warnx(
				    "notify: cannot take back %s", it->key);
		goto out;
	}
	n->submitted++;
	if (unrouted && n->nroutes > 0)
		n->unrouted++;
	for (it = head; it != NULL; it = it->next)
		n->rcv[it->rcv].queued++;
	if (n->started && head != NULL) {
		n->nqueued += count;
		*n->pending_tail = head;
		n->pending_tail = tail;
		head = NULL;
		curl_multi_wakeup(n->multi);
	}
out:
	if (rc != AQ_OK)
		n->refused++;
	pthread_mutex_unlock(&n->mu);
	free(body);
	free(text);
	while (head != NULL) {
		it = head->next;
		item_free(head);
		head = it;
	}
	return rc;
}

static int
load_one(void *ctx, const char *key, const void *v, size_t len)
{
	struct load_ctx *lc = ctx;
	struct item *it;
	json_t *rec;
	const char *rid = NULL;
	uint32_t r;

	if ((rec = json_loadb(v, len, 0, NULL)) == NULL ||
	    json_unpack(rec, "{s:s}", "receiver", &rid) != 0) {
		log_warnx("notify: outbox record %s unreadable, skipped", key);
		json_decref(rec);
		return 0;
	}
	for (r = 0; r < lc->n->nrcv; r++)
		if (strcmp(lc->n->rcv[r].id, rid) == 0)
			break;
	if ((it = item_new(key, r < lc->n->nrcv ? (int)r : -1, rec)) == NULL) {
		json_decref(rec);
		lc->rc = AQ_ERR_NOMEM;
		return 1;
	}
	if (it->rcv < 0) {
		it->next = lc->orphans;
		lc->orphans = it;
	} else {
		*lc->tail = it;
		lc->tail = &it->next;
	}
	return 0;
}

int
notify_start(struct notify *n)
{
	struct load_ctx lc = {n, NULL, &lc.head, NULL, AQ_OK};
	struct item *it;
	int rc;

	pthread_mutex_lock(&n->mu);
	if (n->started) {
		pthread_mutex_unlock(&n->mu);
		return AQ_ERR_INVAL;
	}
	rc = store_rec_each(n->st, NS_OUTBOX, load_one, &lc);
	if (rc == AQ_OK)
		rc = lc.rc;
	if (rc == AQ_OK && (n->multi = curl_multi_init()) == NULL)
		rc = AQ_ERR_NOMEM;
	if (rc != AQ_OK)
		goto out;
	/* A record that was dead-lettered just before a crash is gone. */
	for (struct item **p = &lc.head; *p != NULL;) {
		size_t len;
		bool found = false;
		int grc = store_rec_get(
		    n->st, NS_DEAD, (*p)->key, NULL, 0, &len, &found);

		if (grc == AQ_ERR_RANGE || (grc == AQ_OK && found)) {
			it = *p;
			*p = it->next;
			if (store_rec_del(n->st, NS_OUTBOX, it->key) != AQ_OK)
				log_warnx("notify: cannot delete %s", it->key);
			item_free(it);
		} else
			p = &(*p)->next;
	}
	n->nqueued = 0;
	for (uint32_t r = 0; r < n->nrcv; r++)
		n->rcv[r].queued = 0;
	n->items = lc.head;
	lc.head = NULL;
	for (it = n->items; it != NULL; it = it->next) {
		n->rcv[it->rcv].queued++;
		n->nqueued++;
	}
	while ((it = lc.orphans) != NULL) {
		lc.orphans = it->next;
		it->next = NULL;
		log_warnx("notify: %s: its receiver is no longer configured; "
			  "dead-lettered",
		    it->key);
		to_dead(n, it, "receiver no longer configured");
	}
	n->stopping = false;
	if (pthread_create(&n->thread, NULL, run, n) != 0) {
		rc = AQ_ERR_NOMEM;
		goto out;
	}
	n->started = true;
	if (n->nqueued > 0)
		log_info("notify: %" PRIu64 " notifications to deliver from "
			 "the outbox",
		    n->nqueued);
out:
	if (rc != AQ_OK) {
		while ((it = n->items) != NULL) {
			n->items = it->next;
			item_free(it);
		}
		if (n->multi != NULL)
			curl_multi_cleanup(n->multi);
		n->multi = NULL;
	}
	while ((it = lc.head) != NULL) {
		lc.head = it->next;
		item_free(it);
	}
	while ((it = lc.orphans) != NULL) {
		lc.orphans = it->next;
		item_free(it);
	}
	pthread_mutex_unlock(&n->mu);
	return rc;
}

void
notify_stop(struct notify *n, uint32_t grace_ms)
{
	struct item *it;

	pthread_mutex_lock(&n->mu);
	if (!n->started) {
		pthread_mutex_unlock(&n->mu);
		return;
	}
	n->stopping = true;
	n->grace_ms = grace_ms;
	curl_multi_wakeup(n->multi);
	pthread_mutex_unlock(&n->mu);
	pthread_join(n->thread, NULL);
	pthread_mutex_lock(&n->mu);
	curl_multi_cleanup(n->multi);
	n->multi = NULL;
	while ((it = n->pending) != NULL) {
		n->pending = it->next;
		item_free(it);
	}
	n->pending_tail = &n->pending;
	n->started = false;
	pthread_mutex_unlock(&n->mu);
}

/* Writes the item's record back to the outbox (attempts, next, last). */
static int
put_record(struct notify *n, struct item *it)
{
	char *text = json_dumps(it->rec, JSON_COMPACT);
	int rc = AQ_ERR_NOMEM;

	if (text != NULL)
		rc = store_rec_put(
		    n->st, NS_OUTBOX, it->key, text, strlen(text));
	free(text);
	return rc;
}

static void
log_attempt(struct notify *n, const struct item *it, int64_t now, long status,
    const char *error, const char *result, int64_t next)
{
	json_t *e;
	char *text = NULL;
	const char *rid = it->rcv >= 0 ? n->rcv[it->rcv].id : "?";
	json_int_t notice = 0;

	(void)json_unpack(it->rec, "{s:I}", "notice", &notice);
	e = json_pack("{s:I, s:s, s:s, s:O?, s:i, s:I, s:i, s:s, s:s, s:I}",
	    "notice", notice, "receiver", rid, "key", it->key, "alerts",
	    json_object_get(it->rec, "alerts"), "attempt", (int)it->attempts,
	    "time", (json_int_t)now, "status", (int)status, "error", error,
	    "result", result, "next", (json_int_t)next);
	if (e != NULL && (text = json_dumps(e, JSON_COMPACT)) != NULL &&
	    store_log_append(n->st, NS_ATTEMPTS, text, strlen(text), NULL) !=
		AQ_OK)
		log_warnx("notify: cannot record an attempt of %s", it->key);
	free(text);
	json_decref(e);
}

/* Moves it (owned) to the dead letters and frees it. */
static void
to_dead(struct notify *n, struct item *it, const char *why)
{
	char *text;

	json_object_set_new(it->rec, "last", json_string(why));
	json_object_set_new(it->rec, "attempts", json_integer(it->attempts));
	json_object_set_new(it->rec, "dead_at", json_integer(wall_ms() / 1000));
	json_object_set_new(it->rec, "next", json_integer(0));
	text = json_dumps(it->rec, JSON_COMPACT);
	/* Dead first, then out of the outbox: a crash in between leaves
	 * both, and notify_start() drops the outbox copy. */
	if (text == NULL ||
	    store_rec_put(n->st, NS_DEAD, it->key, text, strlen(text)) !=
		AQ_OK ||
	    store_rec_del(n->st, NS_OUTBOX, it->key) != AQ_OK)
		log_warnx(
		    "notify: %s: cannot move to the dead letters", it->key);
	free(text);
	if (it->rcv >= 0)
		n->rcv[it->rcv].dead++;
	item_free(it);
}

static size_t
on_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct item *it = arg;
	size_t len = size * nmemb, room = sizeof(it->resp) - 1 - it->resp_len;

	memcpy(it->resp + it->resp_len, data, len < room ? len : room);
	it->resp_len += len < room ? len : room;
	it->resp[it->resp_len] = '\0';
	return len;
}

/* True when the sliding window has room; else *wait is how long until. */
static bool
rate_ok(const struct receiver *r, int64_t now, int64_t *wait)
{
	int64_t oldest;

	if (r->rate == 0 || r->ring_n < r->rate)
		return true;
	oldest = r->sent_at[r->ring_head];
	if (now - oldest >= RATE_WINDOW_MS)
		return true;
	*wait = RATE_WINDOW_MS - (now - oldest);
	return false;
}

static int
start_one(struct notify *n, struct item *it)
{
	struct receiver *r = &n->rcv[it->rcv];
	const char *body = json_string_value(json_object_get(it->rec, "body"));
	char *signed_body = NULL, sign[FORMAT_SIGN_MAX], ts[32], hdr[256];
	int64_t now = wall_ms();
	int rc = AQ_ERR_NOMEM;

	if (body == NULL)
		body = "{}";
	snprintf(it->url, sizeof(it->url), "%s", r->url);
	it->resp_len = 0;
	it->resp[0] = '\0';
	it->errbuf[0] = '\0';
	if (r->has_secret && r->type == FMT_DINGTALK) {
		if (format_dingtalk_sign(r->secret, now, sign, sizeof(sign)) !=
		    AQ_OK)
			goto out;
		snprintf(it->url, sizeof(it->url),
		    "%s%ctimestamp=%" PRId64 "&sign=%s", r->url,
		    strchr(r->url, '?') ? '&' : '?', now, sign);
	} else if (r->has_secret && r->type == FMT_FEISHU) {
		if (format_feishu_sign(
			r->secret, now / 1000, sign, sizeof(sign)) != AQ_OK)
			goto out;
		snprintf(ts, sizeof(ts), "%" PRId64, now / 1000);
		if ((signed_body = format_add_key(
			 body, "timestamp", ts, "sign", sign)) == NULL)
			goto out;
		body = signed_body;
	} else if (r->type == FMT_PAGERDUTY) {
		if ((signed_body = format_add_key(
			 body, "routing_key", r->secret, NULL, NULL)) == NULL)
			goto out;
		body = signed_body;
	}
	curl_slist_free_all(it->hdrs);
	it->hdrs = NULL;
	if ((it->hdrs = curl_slist_append(it->hdrs,
		 "Content-Type: application/json; charset=utf-8")) == NULL)
		goto out;
	snprintf(hdr, sizeof(hdr), "Idempotency-Key: %s", it->idem);
	if (curl_slist_append(it->hdrs, hdr) == NULL)
		goto out;
	if (r->has_secret && r->type == FMT_WEBHOOK) {
		/* X-Aqgrid-Signature: sha256=HMAC(secret, ts "." body). */
		char *msg;
		size_t blen = strlen(body);
		int src;

		snprintf(ts, sizeof(ts), "%" PRId64, now / 1000);
		if ((msg = malloc(strlen(ts) + 1 + blen + 1)) == NULL)
			goto out;
		snprintf(msg, strlen(ts) + 1 + blen + 1, "%s.%s", ts, body);
		src = format_hmac_hex(r->secret, strlen(r->secret), msg,
		    strlen(msg), sign, sizeof(sign));
		free(msg);
		if (src != AQ_OK)
			goto out;
		snprintf(hdr, sizeof(hdr), "X-Aqgrid-Timestamp: %s", ts);
		if (curl_slist_append(it->hdrs, hdr) == NULL)
			goto out;
		snprintf(
		    hdr, sizeof(hdr), "X-Aqgrid-Signature: sha256=%s", sign);
		if (curl_slist_append(it->hdrs, hdr) == NULL)
			goto out;
	}
	if ((it->easy = curl_easy_init()) == NULL)
		goto out;
	curl_easy_setopt(it->easy, CURLOPT_URL, it->url);
	curl_easy_setopt(it->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(it->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(it->easy, CURLOPT_HTTPHEADER, it->hdrs);
	curl_easy_setopt(it->easy, CURLOPT_COPYPOSTFIELDS, body);
	curl_easy_setopt(it->easy, CURLOPT_USERAGENT, "aqgridd");
	curl_easy_setopt(it->easy, CURLOPT_TIMEOUT_MS, r->timeout_ms);
	curl_easy_setopt(it->easy, CURLOPT_CONNECTTIMEOUT_MS,
	    r->timeout_ms < 5000 ? r->timeout_ms : 5000L);
	curl_easy_setopt(it->easy, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(it->easy, CURLOPT_WRITEDATA, it);
	curl_easy_setopt(it->easy, CURLOPT_ERRORBUFFER, it->errbuf);
	curl_easy_setopt(it->easy, CURLOPT_PRIVATE, it);
	if (curl_multi_add_handle(n->multi, it->easy) != CURLM_OK) {
		curl_easy_cleanup(it->easy);
		it->easy = NULL;
		goto out;
	}
	r->inflight = it;
	if (r->rate > 0) {
		r->sent_at[(r->ring_head + r->ring_n) % r->rate] = mono_ms();
		if (r->ring_n < r->rate)
			r->ring_n++;
		else
			r->ring_head = (r->ring_head + 1) % r->rate;
	}
	rc = AQ_OK;
out:
	free(signed_body);
	return rc;
}

/* Robots answer 200 with an error code in the body. */
static bool
robot_refused(const struct item *it, enum format_type t, char *why, size_t cap)
{
	json_t *o, *code;
	json_int_t c = 0;
	const char *msg = NULL;
	bool refused = false;

	if (t != FMT_WECOM && t != FMT_DINGTALK && t != FMT_FEISHU)
		return false;
	if ((o = json_loads(it->resp, 0, NULL)) == NULL)
		return false;
	code = json_object_get(o, t == FMT_FEISHU ? "code" : "errcode");
	if (code == NULL && t == FMT_FEISHU)
		code = json_object_get(o, "StatusCode");
	if (json_is_integer(code) && (c = json_integer_value(code)) != 0) {
		msg = json_string_value(
		    json_object_get(o, t == FMT_FEISHU ? "msg" : "errmsg"));
		snprintf(why, cap, "errcode %" JSON_INTEGER_FORMAT ": %.64s", c,
		    msg != NULL ? msg : "");
		refused = true;
	}
	json_decref(o);
	return refused;
}

static void
drop_item(struct notify *n, struct item *it)
{
	for (struct item **p = &n->items; *p != NULL; p = &(*p)->next)
		if (*p == it) {
			*p = it->next;
			break;
		}
	it->next = NULL;
	pthread_mutex_lock(&n->mu);
	if (it->rcv >= 0 && n->rcv[it->rcv].queued > 0)
		n->rcv[it->rcv].queued--;
	if (n->nqueued > 0)
		n->nqueued--;
	pthread_mutex_unlock(&n->mu);
}

static void
finish_one(struct notify *n, struct item *it, CURLcode res)
{
	struct receiver *r = &n->rcv[it->rcv];
	long status = 0;
	curl_off_t retry_after = 0;
	char why[NOTIFY_ERROR_MAX] = "";
	bool ok = false, permanent = false;
	int64_t delay, next, now = wall_ms();

	curl_easy_getinfo(it->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(it->easy, CURLINFO_RETRY_AFTER, &retry_after);
	curl_multi_remove_handle(n->multi, it->easy);
	curl_easy_cleanup(it->easy);
	it->easy = NULL;
	r->inflight = NULL;
	it->attempts++;
	if (res != CURLE_OK)
		snprintf(why, sizeof(why), "%.100s",
		    it->errbuf[0] ? it->errbuf : curl_easy_strerror(res));
	else if (status >= 200 && status < 300)
		ok = !robot_refused(it, r->type, why, sizeof(why));
	else {
		snprintf(why, sizeof(why), "HTTP %ld", status);
		/* Other 4xx will not change by asking again. */
		permanent = status < 500 && status != 408 && status != 425 &&
		    status != 429;
	}
	if (ok) {
		log_attempt(n, it, now, status, "", "sent", 0);
		drop_item(n, it);
		if (store_rec_del(n->st, NS_OUTBOX, it->key) != AQ_OK)
			log_warnx("notify: %s: delivered but still in the "
				  "outbox; it will be sent again",
			    it->key);
		pthread_mutex_lock(&n->mu);
		r->sent++;
		pthread_mutex_unlock(&n->mu);
		log_complain_clear(&r->complain);
		log_debug(
		    "notify: %s: %s delivered (%s)", r->id, it->key, r->origin);
		item_free(it);
		return;
	}
	pthread_mutex_lock(&n->mu);
	r->failed++;
	pthread_mutex_unlock(&n->mu);
	if (permanent || it->attempts >= r->max_attempts) {
		log_attempt(n, it, now, status, why, "dead", 0);
		log_warnx("notify: %s (%s): %s dead-lettered after %" PRIu32
			  " attempts: %s",
		    r->id, r->origin, it->key, it->attempts, why);
		drop_item(n, it);
		pthread_mutex_lock(&n->mu);
		to_dead(n, it, why);
		pthread_mutex_unlock(&n->mu);
		return;
	}
	delay = (int64_t)n->backoff_first_ms
	    << (it->attempts - 1 < 30 ? it->attempts - 1 : 30);
	if (delay > n->backoff_max_ms)
		delay = n->backoff_max_ms;
	/* Jitter: 75 % to 125 % of the delay. */
	delay = delay * 3 / 4 + (int64_t)(rand_r(&n->seed) % (delay / 2 + 1));
	if (retry_after > NOTIFY_RETRY_AFTER_MAX_S)
		retry_after = NOTIFY_RETRY_AFTER_MAX_S;
	if (retry_after > 0 && retry_after * 1000 > delay)
		delay = (int64_t)retry_after * 1000;
	next = now + delay;
	it->next_ms = next;
	json_object_set_new(it->rec, "attempts", json_integer(it->attempts));
	json_object_set_new(it->rec, "next", json_integer(next));
	json_object_set_new(it->rec, "last", json_string(why));
	if (put_record(n, it) != AQ_OK)
		log_warnx("notify: %s: cannot update the outbox", it->key);
	log_attempt(n, it, now, status, why, "retry", next);
	if (log_complain(&r->complain))
		log_warnx("notify: %s (%s): %s: %s; attempt %" PRIu32
			  " of %" PRIu32 ", next in %" PRId64 " ms",
		    r->id, r->origin, it->key, why, it->attempts,
		    r->max_attempts, delay);
}

static void *
run(void *arg)
{
	struct notify *n = arg;
	struct item *it, *got;
	int64_t deadline = 0;
	bool stopping = false;
	int running = 0, left;

	for (;;) {
		int64_t now = wall_ms(), mono = mono_ms(), wake = POLL_MAX_MS;
		uint32_t inflight = 0;
		CURLMsg *m;

		pthread_mutex_lock(&n->mu);
		if (n->pending != NULL) {
			struct item **t = &n->items;

			while (*t != NULL)
				t = &(*t)->next;
			*t = n->pending;
			n->pending = NULL;
			n->pending_tail = &n->pending;
		}
		if (n->stopping && !stopping) {
			stopping = true;
			deadline = mono + n->grace_ms;
		}
		pthread_mutex_unlock(&n->mu);

		for (uint32_t r = 0; r < n->nrcv; r++)
			if (n->rcv[r].inflight != NULL)
				inflight++;
		if (stopping && (inflight == 0 || mono >= deadline))
			break;
		for (uint32_t r = 0; r < n->nrcv && !stopping; r++) {
			struct receiver *rv = &n->rcv[r];
			int64_t wait = 0;

			if (rv->inflight != NULL)
				continue;
			got = NULL;
			for (it = n->items; it != NULL; it = it->next) {
				if (it->rcv != (int)r)
					continue;
				if (it->next_ms <= now) {
					got = it;
					break;
				}
				if (it->next_ms - now < wake)
					wake = it->next_ms - now;
			}
			if (got == NULL)
				continue;
			if (!rate_ok(rv, mono, &wait)) {
				if (wait < wake)
					wake = wait;
				continue;
			}
			if (start_one(n, got) != AQ_OK) {
				log_warnx("notify: %s: cannot start a request "
					  "for %s",
				    rv->id, got->key);
				got->next_ms = now + 1000;
			}
			wake = 0;
		}
		curl_multi_perform(n->multi, &running);
		while ((m = curl_multi_info_read(n->multi, &left)) != NULL) {
			if (m->msg != CURLMSG_DONE)
				continue;
			char *priv = NULL;

			curl_easy_getinfo(
			    m->easy_handle, CURLINFO_PRIVATE, &priv);
			got = (struct item *)(void *)priv;
			if (got != NULL)
				finish_one(n, got, m->data.result);
			wake = 0;
		}
		if (stopping) {
			int64_t rest = deadline - mono_ms();
			wake = rest < wake ? (rest > 0 ? rest : 0) : wake;
		}
		if (wake > 0)
			curl_multi_poll(n->multi, NULL, 0, (int)wake, NULL);
	}
	/* Aborted in flight: their records stay as they were. */
	for (uint32_t r = 0; r < n->nrcv; r++) {
		struct item *fl = n->rcv[r].inflight;

		if (fl == NULL)
			continue;
		curl_multi_remove_handle(n->multi, fl->easy);
		curl_easy_cleanup(fl->easy);
		fl->easy = NULL;
		n->rcv[r].inflight = NULL;
	}
	pthread_mutex_lock(&n->mu);
	while ((it = n->items) != NULL) {
		n->items = it->next;
		item_free(it);
	}
	n->nqueued = 0;
	for (uint32_t r = 0; r < n->nrcv; r++)
		n->rcv[r].queued = 0;
	pthread_mutex_unlock(&n->mu);
	return NULL;
}

void
notify_stats(struct notify *n, struct notify_stats *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&n->mu);
	out->submitted = n->submitted;
	out->refused = n->refused;
	out->unrouted = n->unrouted;
	out->nreceivers = n->nrcv;
	for (uint32_t r = 0; r < n->nrcv; r++) {
		struct notify_rstats *s = &out->r[r];

		snprintf(s->id, sizeof(s->id), "%s", n->rcv[r].id);
		s->type = format_type_name(n->rcv[r].type);
		s->sent = n->rcv[r].sent;
		s->failed = n->rcv[r].failed;
		s->dead = n->rcv[r].dead;
		s->queued = n->rcv[r].queued;
	}
	pthread_mutex_unlock(&n->mu);
}

struct dead_ctx {
	notify_dead_fn fn;
	void *ctx;
};

static int
dead_one(void *ctx, const char *key, const void *v, size_t len)
{
	struct dead_ctx *dc = ctx;
	struct notify_dead d = {.key = key};
	json_int_t notice = 0, att = 0, created = 0, dead_at = 0;
	json_t *o;
	int rc;

	if ((o = json_loadb(v, len, 0, NULL)) == NULL)
		return 0;
	(void)json_unpack(o, "{s?I, s?s, s?s, s?s, s?I, s?I, s?I, s?s, s?s}",
	    "notice", &notice, "receiver", &d.receiver, "rule", &d.rule, "kind",
	    &d.kind, "attempts", &att, "created", &created, "dead_at", &dead_at,
	    "last", &d.last, "idempotency_key", &d.idempotency_key);
	d.notice = (uint64_t)notice;
	d.attempts = (uint32_t)att;
	d.created = created;
	d.dead_at = dead_at;
	if (d.receiver == NULL)
		d.receiver = "";
	if (d.rule == NULL)
		d.rule = "";
	if (d.kind == NULL)
		d.kind = "";
	if (d.last == NULL)
		d.last = "";
	if (d.idempotency_key == NULL)
		d.idempotency_key = "";
	rc = dc->fn(dc->ctx, &d);
	json_decref(o);
	return rc;
}

int
notify_dead_list(struct store *st, notify_dead_fn fn, void *ctx)
{
	struct dead_ctx dc = {fn, ctx};

	return store_rec_each(st, NS_DEAD, dead_one, &dc);
}

struct attempt_ctx {
	notify_attempt_fn fn;
	void *ctx;
	uint64_t alert_id;
	uint32_t limit, matched, rows;
	int64_t last;
	int rc;
};

static int
attempt_one(void *ctx, int64_t id, const void *v, size_t len)
{
	struct attempt_ctx *ac = ctx;
	struct notify_attempt a = {.id = id};
	json_int_t notice = 0, att = 0, t = 0, status = 0, next = 0;
	json_t *o, *alerts = NULL, *x;
	size_t k;
	bool want = ac->alert_id == 0;

	ac->rows++;
	ac->last = id;
	if ((o = json_loadb(v, len, 0, NULL)) == NULL)
		return 0;
	(void)json_unpack(o, "{s?I, s?s, s?I, s?I, s?I, s?s, s?s, s?I, s?o}",
	    "notice", &notice, "receiver", &a.receiver, "attempt", &att, "time",
	    &t, "status", &status, "error", &a.error, "result", &a.result,
	    "next", &next, "alerts", &alerts);
	json_array_foreach(alerts, k, x) if (json_is_integer(x) &&
	    (uint64_t)json_integer_value(x) == ac->alert_id) want = true;
	if (want) {
		a.notice = (uint64_t)notice;
		a.attempt = (uint32_t)att;
		a.time_ms = t;
		a.status = (long)status;
		a.next_ms = next;
		a.receiver = a.receiver ? a.receiver : "";
		a.error = a.error ? a.error : "";
		a.result = a.result ? a.result : "";
		ac->matched++;
		ac->rc = ac->fn(ac->ctx, &a);
	}
	json_decref(o);
	return ac->rc != 0 || ac->matched >= ac->limit ? -1 : 0;
}

int
notify_attempts(struct store *st, uint64_t alert_id, int64_t after,
    uint32_t limit, notify_attempt_fn fn, void *ctx)
{
	struct attempt_ctx ac = {fn, ctx, alert_id, limit, 0, 0, after, 0};
	int rc;

	/* Read in chunks: the filter is applied after the store's limit. */
	do {
		ac.rows = 0;
		rc = store_log_read(
		    st, NS_ATTEMPTS, ac.last, 256, attempt_one, &ac);
		if (rc != AQ_OK)
			break;
	} while (ac.rows == 256 && ac.matched < limit);
	if (ac.rc != 0)
		return ac.rc;
	return rc == -1 ? AQ_OK : rc;
}

void
notify_test_backoff(struct notify *n, uint32_t first_ms, uint32_t max_ms)
{
	pthread_mutex_lock(&n->mu);
	n->backoff_first_ms = first_ms;
	n->backoff_max_ms = max_ms;
	pthread_mutex_unlock(&n->mu);
}
