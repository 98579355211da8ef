/* hj212net: the HJ 212 TCP listener (see hj212net.h). */
#include "sensors/hj212net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon/log.h"
#include "sensors/decode.h"
#include "sensors/hj212.h"

#define POLL_MS 100      /* timeouts are checked at least this often */
#define READ_MAX 16384   /* bytes read from one connection per turn */
#define SPLIT_PARTS 64   /* parts of a split message at most (PNUM) */
#define ACCEPT_PAUSE 100 /* ms without accepting after running out of fds */
#define BACKLOG 128

/* A split message (Flag D) being joined: the header of its first part
 * and where each part's CP lies in cp. */
struct split {
	bool active;
	char qn[HJ212_QN_MAX];
	char mn[HJ212_MN_MAX];
	char pw[HJ212_PW_MAX];
	int st, cn, flag, pnum;
	uint64_t have; /* bit pno - 1 for each part received */
	uint16_t off[SPLIT_PARTS], len[SPLIT_PARTS];
	size_t used;
	int64_t started; /* ms */
	char cp[HJ212_DATA_MAX];
};

struct conn {
	struct hj212net *net;
	int fd;
	int64_t last_frame;  /* ms: the last whole frame, or the accept */
	int64_t frame_start; /* ms: when the frame in the buffer began; 0 */
	bool completed;      /* a frame completed during the current read */
	bool dead;
	enum state_hj212_disc why;
	struct hj212_stream stream;
	struct split split;
};

/* A registered sensor's id, sorted for bsearch; idx into conf->sensors.
 * The registry changes only with a restart, and replaced configurations
 * live as long as the state, so id may point into the first one. */
struct logger {
	const char *id;
	uint32_t idx;
};

struct hj212net {
	struct state *st;
	struct ingest *in;
	int lfd;
	uint16_t port;
	pthread_t thread;
	bool started;
	_Atomic bool stop;
	struct logger *loggers;
	uint32_t nloggers;
	struct conn **conns;
	struct pollfd *pfd;
	size_t nconns, max;
	int64_t now, accept_pause;
	struct complain accept_complain;
	uint8_t rbuf[READ_MAX];
	char seg[HJ212_DATA_MAX + 1];    /* a joined data segment */
	char frame[HJ212_FRAME_MAX + 1]; /* a frame re-framed for ingest */
};

static int64_t now_ms(void);
static int logger_cmp(const void *a, const void *b);
static int loggers_build(struct hj212net *n);
static int64_t logger_find(const struct hj212net *n, const char *mn);
static int listen_on(struct hj212net *n, const struct conf *c);
static int set_nonblock(int fd);
static void accept_all(struct hj212net *n);
static void conn_read(struct hj212net *n, struct conn *c);
static void conn_close(struct hj212net *n, size_t k);
static void conn_kill(struct conn *c, enum state_hj212_disc why);
static void sweep(struct hj212net *n);
static void take_stats(struct hj212net *n, struct conn *c);
static void on_frame(void *arg, const char *data, size_t len);
static void refuse(struct hj212net *n, enum reason why);
static bool is_data(int cn);
static int submit(
    struct hj212net *n, const char *mn, const char *data, size_t len);
static bool split_add(struct conn *c, const struct hj212_msg *m);
static void split_drop(struct conn *c);
static int split_join(struct hj212net *n, struct conn *c, size_t *len);
static void send_ack(struct conn *c, const struct hj212_msg *m);
static void *net_main(void *arg);

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool
hj212net_enabled(const struct conf *c)
{
	return c->hj212_addr[0] != '\0';
}

static int
logger_cmp(const void *a, const void *b)
{
	return strcmp(
	    ((const struct logger *)a)->id, ((const struct logger *)b)->id);
}

static int
loggers_build(struct hj212net *n)
{
	const struct conf *c = state_conf(n->st);

	if (c->nsensors == 0)
		return AQ_OK;
	if ((n->loggers = calloc(c->nsensors, sizeof(*n->loggers))) == NULL)
		return AQ_ERR_NOMEM;
	for (uint32_t k = 0; k < c->nsensors; k++) {
		n->loggers[k].id = c->sensors[k].id;
		n->loggers[k].idx = k;
	}
	n->nloggers = c->nsensors;
	qsort(n->loggers, n->nloggers, sizeof(*n->loggers), logger_cmp);
	return AQ_OK;
}

/* The registry index of the sensor whose id is mn, or -1. */
static int64_t
logger_find(const struct hj212net *n, const char *mn)
{
	struct logger key = {.id = mn};
	const struct logger *l;

	if (n->nloggers == 0)
		return -1;
	l = bsearch(
	    &key, n->loggers, n->nloggers, sizeof(*n->loggers), logger_cmp);
	return l != NULL ? (int64_t)l->idx : -1;
}

static int
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -1 : 0;
}

/* Binds and listens on c's [hj212] listen; logs why it could not. */
static int
listen_on(struct hj212net *n, const struct conf *c)
{
	struct addrinfo hints = {0}, *res = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[sizeof(c->hj212_addr)], port[8];
	size_t hl = strlen(c->hj212_addr);
	int one = 1, gai, rc = AQ_ERR_IO;

	/* "[::1]" names an IPv6 address, as in URLs. */
	if (hl >= 2 && c->hj212_addr[0] == '[' && c->hj212_addr[hl - 1] == ']')
		snprintf(host, sizeof(host), "%.*s", (int)(hl - 2),
		    c->hj212_addr + 1);
	else
		snprintf(host, sizeof(host), "%s", c->hj212_addr);
	snprintf(port, sizeof(port), "%u", (unsigned)c->hj212_port);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((gai = getaddrinfo(host, port, &hints, &res)) != 0) {
		log_warnx("hj212: %s: %s", host, gai_strerror(gai));
		goto out;
	}
	if ((n->lfd = socket(
		 res->ai_family, res->ai_socktype, res->ai_protocol)) < 0) {
		log_warn("hj212: socket");
		goto out;
	}
	/* A restart must not wait for old connections' TIME_WAIT. */
	setsockopt(n->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(n->lfd, res->ai_addr, res->ai_addrlen) != 0 ||
	    listen(n->lfd, BACKLOG) != 0) {
		log_warn("hj212: cannot listen on %s:%s", c->hj212_addr, port);
		goto out;
	}
	if (set_nonblock(n->lfd) != 0 ||
	    getsockname(n->lfd, (struct sockaddr *)&ss, &sl) != 0) {
		log_warn("hj212: listening socket");
		goto out;
	}
	n->port = ss.ss_family == AF_INET6
	    ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
	    : ntohs(((struct sockaddr_in *)&ss)->sin_port);
	rc = AQ_OK;
out:
	if (res != NULL)
		freeaddrinfo(res);
	return rc;
}

struct hj212net *
hj212net_start(struct state *st, struct ingest *in)
{
	const struct conf *c = state_conf(st);
	struct hj212net *n;

	if (!hj212net_enabled(c))
		return NULL;
	if ((n = calloc(1, sizeof(*n))) == NULL) {
		log_warn("hj212: listener");
		return NULL;
	}
	n->st = st;
	n->in = in;
	n->lfd = -1;
	n->max = (size_t)c->hj212_connections;
	n->conns = calloc(n->max, sizeof(*n->conns));
	n->pfd = calloc(n->max + 1, sizeof(*n->pfd));
	if (n->conns == NULL || n->pfd == NULL || loggers_build(n) != AQ_OK) {
		log_warn("hj212: tables for %zu connections", n->max);
		goto fail;
	}
	if (listen_on(n, c) != AQ_OK)
		goto fail;
	if (pthread_create(&n->thread, NULL, net_main, n) != 0) {
		log_warnx("hj212: cannot start the listener thread");
		goto fail;
	}
	n->started = true;
	atomic_store(&state_counters(st)->hj212_listening, 1);
	return n;
fail:
	hj212net_stop(n);
	return NULL;
}

uint16_t
hj212net_port(const struct hj212net *n)
{
	return n->port;
}

void
hj212net_stop(struct hj212net *n)
{
	if (n == NULL)
		return;
	atomic_store(&n->stop, true);
	if (n->started)
		pthread_join(n->thread, NULL);
	/* Closed by us, not by the loggers: not counted as disconnects. */
	for (size_t k = 0; k < n->nconns; k++) {
		close(n->conns[k]->fd);
		free(n->conns[k]);
	}
	atomic_fetch_sub(
	    &state_counters(n->st)->hj212_connections, (int64_t)n->nconns);
	atomic_store(&state_counters(n->st)->hj212_listening, 0);
	if (n->lfd >= 0)
		close(n->lfd);
	free(n->loggers);
	free(n->pfd);
	free(n->conns);
	free(n);
}

/* Accepts every waiting connection; those beyond the limit are closed at
 * once, so a flood cannot hold descriptors. */
static void
accept_all(struct hj212net *n)
{
	struct counters *k = state_counters(n->st);

	for (;;) {
		struct conn *c;
		int fd = accept(n->lfd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				/* Out of descriptors: the socket stays
				 * readable, so pause rather than spin. */
				if (log_complain(&n->accept_complain))
					log_warn("hj212: accept");
				n->accept_pause = n->now + ACCEPT_PAUSE;
			}
			break;
		}
		if (n->nconns >= n->max) {
			close(fd);
			atomic_fetch_add_explicit(
			    &k->hj212_refused, 1, memory_order_relaxed);
			continue;
		}
		if (set_nonblock(fd) != 0 ||
		    (c = calloc(1, sizeof(*c))) == NULL) {
			if (log_complain(&n->accept_complain))
				log_warn("hj212: new connection");
			close(fd);
			continue;
		}
		c->net = n;
		c->fd = fd;
		c->last_frame = n->now;
		hj212_stream_init(&c->stream);
		n->conns[n->nconns++] = c;
		atomic_fetch_add(&k->hj212_connections, 1);
		atomic_fetch_add_explicit(
		    &k->hj212_accepted, 1, memory_order_relaxed);
		log_complain_clear(&n->accept_complain);
	}
}

static void
conn_kill(struct conn *c, enum state_hj212_disc why)
{
	if (!c->dead) {
		c->dead = true;
		c->why = why;
	}
}

/* Closes and forgets connection k; the last one takes its place. */
static void
conn_close(struct hj212net *n, size_t k)
{
	struct conn *c = n->conns[k];
	struct counters *ctr = state_counters(n->st);

	/* A partial frame is given up (a corrupt length may claim more than
	 * will ever come); good frames the stream holds behind it still go
	 * in, though no answer can be relied on any more. */
	hj212_stream_flush(&c->stream, on_frame, c);
	take_stats(n, c);
	if (c->split.active)
		split_drop(c);
	atomic_fetch_add_explicit(
	    &ctr->hj212_disconnects[c->why], 1, memory_order_relaxed);
	atomic_fetch_sub(&ctr->hj212_connections, 1);
	close(c->fd);
	free(c);
	n->conns[k] = n->conns[--n->nconns];
}

/* Moves the stream's counts of refused frames to the global counters. */
static void
take_stats(struct hj212net *n, struct conn *c)
{
	struct counters *k = state_counters(n->st);
	struct hj212_stats *s = &c->stream.stats;

	if (s->bad_crc != 0)
		atomic_fetch_add_explicit(
		    &k->hj212_frames[STATE_HJ212_FRAME_BAD_CRC], s->bad_crc,
		    memory_order_relaxed);
	if (s->bad_length != 0)
		atomic_fetch_add_explicit(
		    &k->hj212_frames[STATE_HJ212_FRAME_BAD_LENGTH],
		    s->bad_length, memory_order_relaxed);
	if (s->oversize != 0)
		atomic_fetch_add_explicit(
		    &k->hj212_frames[STATE_HJ212_FRAME_OVERSIZE], s->oversize,
		    memory_order_relaxed);
	if (s->garbage_bytes != 0)
		atomic_fetch_add_explicit(&k->hj212_garbage_bytes,
		    s->garbage_bytes, memory_order_relaxed);
	memset(s, 0, sizeof(*s));
}

static void
conn_read(struct hj212net *n, struct conn *c)
{
	ssize_t r = read(c->fd, n->rbuf, sizeof(n->rbuf));

	if (r < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			conn_kill(c, STATE_HJ212_DISC_ERROR);
		return;
	}
	if (r == 0) {
		conn_kill(c, STATE_HJ212_DISC_CLOSED);
		return;
	}
	c->completed = false;
	hj212_stream_feed(&c->stream, n->rbuf, (size_t)r, on_frame, c);
	take_stats(n, c);
	/* The frame clock runs from the first byte of a frame: it restarts
	 * with the bytes left over after a whole frame. */
	if (c->stream.len == 0)
		c->frame_start = 0;
	else if (c->completed || c->frame_start == 0)
		c->frame_start = n->now;
}

/* Idle and slow connections, and split messages never completed. */
static void
sweep(struct hj212net *n)
{
	const struct conf *cf = state_conf(n->st);
	int64_t idle = cf->hj212_idle_timeout * 1000;
	int64_t slow = cf->hj212_frame_timeout * 1000;

	for (size_t k = 0; k < n->nconns; k++) {
		struct conn *c = n->conns[k];

		if (c->frame_start != 0 && n->now - c->frame_start > slow)
			conn_kill(c, STATE_HJ212_DISC_SLOW);
		else if (c->frame_start == 0 && n->now - c->last_frame > idle)
			conn_kill(c, STATE_HJ212_DISC_IDLE);
		if (c->split.active && n->now - c->split.started > slow)
			split_drop(c);
	}
	for (size_t k = n->nconns; k-- > 0;)
		if (n->conns[k]->dead)
			conn_close(n, k);
}

/* A frame refused before it reached the ingest worker. */
static void
refuse(struct hj212net *n, enum reason why)
{
	state_count_reject(n->st, why, 1);
	atomic_fetch_add_explicit(
	    &state_counters(n->st)->messages[DECODER_HJ212][0], 1,
	    memory_order_relaxed);
}

/* The commands carrying readings; others (heartbeats, start-up times,
 * ...) are answered but have nothing for the engine. */
static bool
is_data(int cn)
{
	return cn == 2011 || cn == 2051 || cn == 2061 || cn == 2031;
}

/* Frames a data segment again (the decoder takes whole frames) and queues
 * it for the ingest worker. */
static int
submit(struct hj212net *n, const char *mn, const char *data, size_t len)
{
	char topic[8 + HJ212_MN_MAX];
	int w;

	if (len > HJ212_DATA_MAX)
		return AQ_ERR_RANGE;
	w = snprintf(n->frame, sizeof(n->frame), "##%04zu%.*s%04X\r\n", len,
	    (int)len, data, (unsigned)hj212_crc(data, len));
	if (w < 0 || (size_t)w >= sizeof(n->frame))
		return AQ_ERR_RANGE;
	snprintf(topic, sizeof(topic), "hj212/%s", mn);
	return ingest_submit(n->in, DECODER_HJ212, topic, n->frame, (size_t)w);
}

/* Abandons the split message in progress, counted as incomplete. */
static void
split_drop(struct conn *c)
{
	c->split.active = false;
	atomic_fetch_add_explicit(
	    &state_counters(c->net->st)
		 ->hj212_frames[STATE_HJ212_FRAME_INCOMPLETE],
	    1, memory_order_relaxed);
}

/*
 * Adds one part of a split message; when it completes the message, joins
 * the parts and queues the whole.  One message is joined per connection
 * at a time (a logger sends the parts of one message in a row): a part
 * of another message abandons the one in progress.  Returns whether the
 * part was taken (and may be acknowledged).
 */
static bool
split_add(struct conn *c, const struct hj212_msg *m)
{
	struct split *s = &c->split;
	struct hj212net *n = c->net;
	size_t len;
	uint64_t all;

	if (m->pnum > SPLIT_PARTS || m->pno < 1 || m->pno > m->pnum) {
		atomic_fetch_add_explicit(
		    &state_counters(n->st)
			 ->hj212_frames[STATE_HJ212_FRAME_INCOMPLETE],
		    1, memory_order_relaxed);
		return false;
	}
	if (s->active &&
	    (strcmp(s->qn, m->qn) != 0 || strcmp(s->mn, m->mn) != 0 ||
		s->pnum != m->pnum))
		split_drop(c);
	if (!s->active) {
		s->active = true;
		snprintf(s->qn, sizeof(s->qn), "%s", m->qn);
		snprintf(s->mn, sizeof(s->mn), "%s", m->mn);
		snprintf(s->pw, sizeof(s->pw), "%s", m->pw);
		s->st = m->st;
		s->cn = m->cn;
		s->flag = m->flag & ~HJ212_FLAG_SPLIT;
		s->pnum = m->pnum;
		s->have = 0;
		s->used = 0;
		s->started = n->now;
	}
	if (s->have & (UINT64_C(1) << (m->pno - 1)))
		return true; /* sent again: already have it */
	if (m->cp_len > sizeof(s->cp) - s->used) {
		split_drop(c);
		return false;
	}
	memcpy(s->cp + s->used, m->cp, m->cp_len);
	s->off[m->pno - 1] = (uint16_t)s->used;
	s->len[m->pno - 1] = (uint16_t)m->cp_len;
	s->used += m->cp_len;
	s->have |= UINT64_C(1) << (m->pno - 1);
	all = s->pnum == 64 ? UINT64_MAX : (UINT64_C(1) << s->pnum) - 1;
	if (s->have != all)
		return true;
	s->active = false;
	if (split_join(n, c, &len) != AQ_OK) {
		atomic_fetch_add_explicit(
		    &state_counters(n->st)
			 ->hj212_frames[STATE_HJ212_FRAME_INCOMPLETE],
		    1, memory_order_relaxed);
		return false;
	}
	return !is_data(s->cn) || submit(n, s->mn, n->seg, len) == AQ_OK;
}

/*
 * The data segment of a complete split message: the first part's header
 * without PNUM and PNO, and the parts' CP in PNO order, joined by ';'.
 * A part that repeats the first part's DataTime field loses it, so the
 * joined CP names its time once.
 */
static int
split_join(struct hj212net *n, struct conn *c, size_t *len)
{
	const struct split *s = &c->split;
	const char *cp0 = s->cp + s->off[0];
	size_t dt = 0, cap = sizeof(n->seg), w;
	int r;

	/* "DataTime=...;" at the start of the first part, if any. */
	if (s->len[0] > 9 && memcmp(cp0, "DataTime=", 9) == 0) {
		const char *semi = memchr(cp0, ';', s->len[0]);

		if (semi != NULL)
			dt = (size_t)(semi - cp0) + 1;
	}
	r = snprintf(n->seg, cap,
	    "%s%s%sST=%02d;CN=%04d;PW=%s;MN=%s;Flag=%d;CP=&&",
	    s->qn[0] != '\0' ? "QN=" : "", s->qn, s->qn[0] != '\0' ? ";" : "",
	    s->st, s->cn, s->pw, s->mn, s->flag);
	if (r < 0 || (size_t)r >= cap)
		return AQ_ERR_RANGE;
	w = (size_t)r;
	for (int p = 0; p < s->pnum; p++) {
		const char *part = s->cp + s->off[p];
		size_t pl = s->len[p];

		if (p > 0 && dt > 0 && pl >= dt && memcmp(part, cp0, dt) == 0) {
			part += dt;
			pl -= dt;
		}
		if (pl == 0)
			continue;
		if (p > 0 && n->seg[w - 1] != ';' && n->seg[w - 1] != '&') {
			if (w + 1 >= cap)
				return AQ_ERR_RANGE;
			n->seg[w++] = ';';
		}
		if (pl >= cap - w)
			return AQ_ERR_RANGE;
		memcpy(n->seg + w, part, pl);
		w += pl;
	}
	if (w + 2 >= cap)
		return AQ_ERR_RANGE;
	memcpy(n->seg + w, "&&", 2);
	w += 2;
	n->seg[w] = '\0';
	*len = w;
	return AQ_OK;
}

/* Writes the answer without blocking: a logger that does not read its
 * answers until the socket buffer fills is dropped, never waited for. */
static void
send_ack(struct conn *c, const struct hj212_msg *m)
{
	char buf[256];
	size_t len = hj212_ack(m, buf, sizeof(buf));
	ssize_t w;

	if (len == 0 || c->dead)
		return;
	do
		w = write(c->fd, buf, len);
	while (w < 0 && errno == EINTR);
	if (w != (ssize_t)len) {
		conn_kill(c, STATE_HJ212_DISC_ERROR);
		return;
	}
	atomic_fetch_add_explicit(
	    &state_counters(c->net->st)->hj212_acks, 1, memory_order_relaxed);
}

/* One whole frame (CRC and length already checked) from connection arg. */
static void
on_frame(void *arg, const char *data, size_t len)
{
	struct conn *c = arg;
	struct hj212net *n = c->net;
	struct hj212_msg m;
	enum reason why;
	const char *pw;
	int64_t k;
	bool taken;

	c->completed = true;
	c->last_frame = n->now;
	atomic_fetch_add_explicit(
	    &state_counters(n->st)->hj212_frames[STATE_HJ212_FRAME_OK], 1,
	    memory_order_relaxed);
	if (hj212_parse(data, len, &m, &why) != AQ_OK) {
		refuse(n, why);
		return;
	}
	if ((k = logger_find(n, m.mn)) < 0) {
		refuse(n, REASON_UNKNOWN_LOGGER);
		return;
	}
	/* The password is read from the running configuration: a reload
	 * may change it, though not the registry's ids. */
	pw = state_conf(n->st)->sensors[k].password;
	if (pw[0] != '\0' && strcmp(pw, m.pw) != 0) {
		refuse(n, REASON_BAD_PASSWORD);
		return;
	}
	if (m.flag >= 0 && (m.flag & HJ212_FLAG_SPLIT) && m.pnum > 1)
		taken = split_add(c, &m);
	else
		taken = !is_data(m.cn) || submit(n, m.mn, data, len) == AQ_OK;
	/* A message lost to a full queue is not acknowledged: the logger
	 * sends it again. */
	if (taken && m.flag >= 0 && (m.flag & HJ212_FLAG_ACK)) {
		/* Answered only once the journal holds it. */
		ingest_commit(n->in);
		send_ack(c, &m);
	}
}

static void *
net_main(void *arg)
{
	struct hj212net *n = arg;

	while (!atomic_load(&n->stop)) {
		size_t np = n->nconns;
		bool listening;
		int r;

		n->now = now_ms();
		listening = n->now >= n->accept_pause;
		n->pfd[0].fd = listening ? n->lfd : -1;
		n->pfd[0].events = POLLIN;
		n->pfd[0].revents = 0;
		for (size_t k = 0; k < np; k++) {
			n->pfd[k + 1].fd = n->conns[k]->fd;
			n->pfd[k + 1].events = POLLIN;
			n->pfd[k + 1].revents = 0;
		}
		r = poll(n->pfd, (nfds_t)(np + 1), POLL_MS);
		if (r < 0 && errno != EINTR) {
			log_warn("hj212: poll");
			break;
		}
		n->now = now_ms();
		for (size_t k = 0; r > 0 && k < np; k++) {
			if (n->pfd[k + 1].revents &
			    (POLLIN | POLLHUP | POLLERR))
				conn_read(n, n->conns[k]);
			if ((n->pfd[k + 1].revents & POLLNVAL))
				conn_kill(n->conns[k], STATE_HJ212_DISC_ERROR);
		}
		if (r > 0 && (n->pfd[0].revents & POLLIN))
			accept_all(n);
		sweep(n);
	}
	return NULL;
}
