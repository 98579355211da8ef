/* journal: accepted messages on disk until an image holds them (journal.h). */
#include "daemon/journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define PATH_BUF 4200
#define SEGMENTS_MAX 4096
#define IMAGE_MAGIC "AQIMG01"

/* A record on disk: this header (len counts what follows the crc), the
 * topic with its NUL, the payload. */
struct rec_head {
	uint32_t len;
	uint32_t crc; /* CRC-32 of everything after this field */
	uint64_t seq;
	int64_t arrived_ns;
	int32_t decoder;
	uint32_t topic_len;
};

#define REC_FIXED (sizeof(struct rec_head) - 2 * sizeof(uint32_t))

struct journal {
	pthread_mutex_t mu;
	char dir[PATH_BUF / 2];
	int fd;             /* current segment */
	uint64_t first_seq; /* of the current segment */
	uint64_t next_seq;
	size_t seg_bytes;
	unsigned char *buf;
	size_t used;
	uint64_t failed;
	/* Segments before the current one, by first seq, ascending. */
	uint64_t *segs;
	size_t nsegs;
};

struct image_head {
	char magic[8];
	uint64_t len;
	uint32_t crc;
	uint32_t pad;
};

static int cmp_u64(const void *a, const void *b);
static int list_segments(const char *dir, uint64_t **out, size_t *n);
static int replay_segment(const char *path, uint64_t after, journal_fn fn,
    void *ctx, uint64_t *max_seq, uint64_t *torn);
static int start_segment(struct journal *j);
static int write_all(int fd, const void *buf, size_t len);
static int flush_locked(struct journal *j);

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The first seqs of the segments in dir, ascending (*out owned). */
static int
list_segments(const char *dir, uint64_t **out, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	uint64_t *v;
	size_t k = 0;

	if (d == NULL)
		return AQ_ERR_IO;
	if ((v = calloc(SEGMENTS_MAX, sizeof(*v))) == NULL) {
		closedir(d);
		return AQ_ERR_NOMEM;
	}
	while ((e = readdir(d)) != NULL && k < SEGMENTS_MAX) {
		unsigned long long seq;
		char tail[8];

		if (sscanf(e->d_name, "journal-%20llu%7s", &seq, tail) == 2 &&
		    strcmp(tail, ".log") == 0)
			v[k++] = (uint64_t)seq;
	}
	closedir(d);
	qsort(v, k, sizeof(*v), cmp_u64);
	*out = v;
	*n = k;
	return AQ_OK;
}

static int
replay_segment(const char *path, uint64_t after, journal_fn fn, void *ctx,
    uint64_t *max_seq, uint64_t *torn)
{
	FILE *f = fopen(path, "rb");
	unsigned char *body = NULL;
	size_t cap = 0;
	struct rec_head h;
	int rc = AQ_OK;

	if (f == NULL)
		return errno == ENOENT ? AQ_OK : AQ_ERR_IO;
	while (fread(&h, 1, 2 * sizeof(uint32_t), f) == 2 * sizeof(uint32_t)) {
		struct journal_rec r;

		if (h.len < REC_FIXED || h.len > JOURNAL_BUFFER_BYTES)
			goto torn;
		if (h.len > cap) {
			unsigned char *nb = realloc(body, h.len);

			if (nb == NULL) {
				rc = AQ_ERR_NOMEM;
				goto out;
			}
			body = nb;
			cap = h.len;
		}
		if (fread(body, 1, h.len, f) != h.len ||
		    (uint32_t)crc32(0, body, h.len) != h.crc)
			goto torn;
		memcpy(&h.seq, body, REC_FIXED);
		if (h.topic_len >= h.len - REC_FIXED ||
		    body[REC_FIXED + h.topic_len] != '\0')
			goto torn;
		if (h.seq > *max_seq)
			*max_seq = h.seq;
		if (h.seq <= after || fn == NULL)
			continue;
		r.seq = h.seq;
		r.arrived_ns = h.arrived_ns;
		r.decoder = h.decoder;
		r.topic = (const char *)body + REC_FIXED;
		r.payload = body + REC_FIXED + h.topic_len + 1;
		r.len = h.len - REC_FIXED - h.topic_len - 1;
		fn(ctx, &r);
	}
	if (!feof(f))
		rc = AQ_ERR_IO;
	goto out;
torn:
	(*torn)++;
out:
	free(body);
	fclose(f);
	return rc;
}

int
journal_open(const char *dir, uint64_t after, journal_fn fn, void *ctx,
    struct journal **out, uint64_t *torn, char *msg, size_t msglen)
{
	struct journal *j = NULL;
	uint64_t max_seq = after;
	char path[PATH_BUF];
	int rc = AQ_ERR_NOMEM;

	*torn = 0;
	if (strlen(dir) >= sizeof(j->dir)) {
		snprintf(msg, msglen, "%s: path too long", dir);
		return AQ_ERR_INVAL;
	}
	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		snprintf(msg, msglen, "%s: %s", dir, strerror(errno));
		return AQ_ERR_IO;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->buf = malloc(JOURNAL_BUFFER_BYTES)) == NULL)
		goto fail;
	j->fd = -1;
	snprintf(j->dir, sizeof(j->dir), "%s", dir);
	if ((rc = list_segments(dir, &j->segs, &j->nsegs)) != AQ_OK) {
		snprintf(msg, msglen, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	for (size_t k = 0; k < j->nsegs; k++) {
		snprintf(path, sizeof(path), "%s/journal-%020" PRIu64 ".log",
		    dir, j->segs[k]);
		if ((rc = replay_segment(
			 path, after, fn, ctx, &max_seq, torn)) != AQ_OK) {
			snprintf(msg, msglen, "%s: %s", path,
			    rc == AQ_ERR_IO ? strerror(errno)
					    : aq_strerror(rc));
			goto fail;
		}
	}
	j->next_seq = max_seq + 1;
	pthread_mutex_init(&j->mu, NULL);
	if ((rc = start_segment(j)) != AQ_OK) {
		snprintf(msg, msglen, "%s: %s", dir, strerror(errno));
		pthread_mutex_destroy(&j->mu);
		goto fail;
	}
	*out = j;
	return AQ_OK;
fail:
	if (j != NULL) {
		free(j->segs);
		free(j->buf);
		free(j);
	}
	return rc;
}

/* Opens a fresh segment for next_seq on; the previous one (if any) joins
 * the list. */
static int
start_segment(struct journal *j)
{
	char path[PATH_BUF];
	int fd;

	if (j->fd >= 0) {
		if (j->nsegs == SEGMENTS_MAX)
			return AQ_ERR_FULL;
		j->segs[j->nsegs++] = j->first_seq;
	}
	snprintf(path, sizeof(path), "%s/journal-%020" PRIu64 ".log", j->dir,
	    j->next_seq);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640)) <
	    0)
		return AQ_ERR_IO;
	if (j->fd >= 0)
		close(j->fd);
	j->fd = fd;
	j->first_seq = j->next_seq;
	j->seg_bytes = 0;
	return AQ_OK;
}

void
journal_close(struct journal *j)
{
	if (j == NULL)
		return;
	(void)journal_commit(j);
	if (j->fd >= 0)
		close(j->fd);
	pthread_mutex_destroy(&j->mu);
	free(j->segs);
	free(j->buf);
	free(j);
}

uint64_t
journal_next(struct journal *j)
{
	uint64_t n;

	pthread_mutex_lock(&j->mu);
	n = j->next_seq;
	pthread_mutex_unlock(&j->mu);
	return n;
}

static int
write_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return AQ_ERR_IO;
		p += w;
		len -= (size_t)w;
	}
	return AQ_OK;
}

/* Writes the buffer (lock held); on failure its records are dropped. */
static int
flush_locked(struct journal *j)
{
	int rc = AQ_OK;
	size_t n = 0;

	if (j->used == 0)
		return AQ_OK;
	if (write_all(j->fd, j->buf, j->used) != AQ_OK) {
		/* Count the records lost; a partial write left a torn tail
		 * that replay skips. */
		for (size_t off = 0; off < j->used; n++) {
			uint32_t len;

			memcpy(&len, j->buf + off, sizeof(len));
			off += 2 * sizeof(uint32_t) + len;
		}
		j->failed += n;
		rc = AQ_ERR_IO;
	} else
		j->seg_bytes += j->used;
	j->used = 0;
	if (rc == AQ_OK && j->seg_bytes >= JOURNAL_SEGMENT_BYTES)
		(void)start_segment(j);
	return rc;
}

int
journal_add(struct journal *j, int32_t decoder, int64_t arrived_ns,
    const char *topic, const void *payload, size_t len, uint64_t *seq)
{
	size_t tlen = strlen(topic);
	size_t body = REC_FIXED + tlen + 1 + len;
	struct rec_head h;
	unsigned char *p;
	int rc = AQ_OK;

	if (2 * sizeof(uint32_t) + body > JOURNAL_BUFFER_BYTES)
		return AQ_ERR_RANGE;
	pthread_mutex_lock(&j->mu);
	if (j->used + 2 * sizeof(uint32_t) + body > JOURNAL_BUFFER_BYTES &&
	    (rc = flush_locked(j)) != AQ_OK)
		goto out;
	h.len = (uint32_t)body;
	h.seq = j->next_seq++;
	h.arrived_ns = arrived_ns;
	h.decoder = decoder;
	h.topic_len = (uint32_t)tlen;
	p = j->buf + j->used;
	memcpy(p + 2 * sizeof(uint32_t), &h.seq, REC_FIXED);
	memcpy(p + 2 * sizeof(uint32_t) + REC_FIXED, topic, tlen + 1);
	if (len > 0)
		memcpy(p + 2 * sizeof(uint32_t) + REC_FIXED + tlen + 1, payload,
		    len);
	h.crc = (uint32_t)crc32(0, p + 2 * sizeof(uint32_t), (uInt)body);
	memcpy(p, &h.len, sizeof(h.len));
	memcpy(p + sizeof(h.len), &h.crc, sizeof(h.crc));
	j->used += 2 * sizeof(uint32_t) + body;
	*seq = h.seq;
out:
	pthread_mutex_unlock(&j->mu);
	return rc;
}

int
journal_commit(struct journal *j)
{
	int rc;

	pthread_mutex_lock(&j->mu);
	rc = flush_locked(j);
	pthread_mutex_unlock(&j->mu);
	return rc;
}

int
journal_sync(struct journal *j)
{
	int fd, rc;

	pthread_mutex_lock(&j->mu);
	fd = dup(j->fd);
	pthread_mutex_unlock(&j->mu);
	if (fd < 0)
		return AQ_ERR_IO;
	/* Outside the lock: producers keep adding while the disk syncs. */
	rc = fdatasync(fd) == 0 ? AQ_OK : AQ_ERR_IO;
	close(fd);
	return rc;
}

void
journal_release(struct journal *j, uint64_t upto)
{
	char path[PATH_BUF];
	size_t k = 0;

	pthread_mutex_lock(&j->mu);
	/* Segment k holds seqs below the next one's first seq. */
	while (k < j->nsegs) {
		uint64_t end = k + 1 < j->nsegs ? j->segs[k + 1] : j->first_seq;

		if (end - 1 > upto)
			break;
		snprintf(path, sizeof(path), "%s/journal-%020" PRIu64 ".log",
		    j->dir, j->segs[k]);
		(void)unlink(path);
		k++;
	}
	memmove(j->segs, j->segs + k, (j->nsegs - k) * sizeof(*j->segs));
	j->nsegs -= k;
	/* Everything in the current segment is held by the image too: start
	 * afresh so that it can go next time. */
	if (j->nsegs == 0 && j->next_seq - 1 <= upto && j->seg_bytes > 0 &&
	    j->used == 0 && start_segment(j) == AQ_OK) {
		snprintf(path, sizeof(path), "%s/journal-%020" PRIu64 ".log",
		    j->dir, j->segs[0]);
		(void)unlink(path);
		j->nsegs = 0;
	}
	pthread_mutex_unlock(&j->mu);
}

uint64_t
journal_failed(struct journal *j)
{
	uint64_t n;

	pthread_mutex_lock(&j->mu);
	n = j->failed;
	pthread_mutex_unlock(&j->mu);
	return n;
}

int
journal_image_write(
    const char *path, const void *buf, size_t len, char *msg, size_t msglen)
{
	char tmp[PATH_BUF], dir[PATH_BUF], *slash;
	struct image_head h;
	int fd, dfd, rc = AQ_ERR_IO;

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, IMAGE_MAGIC, sizeof(h.magic));
	h.len = len;
	h.crc = (uint32_t)crc32_z(0, buf, len);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) <
	    0) {
		snprintf(msg, msglen, "%s: %s", tmp, strerror(errno));
		return rc;
	}
	if (write_all(fd, &h, sizeof(h)) != AQ_OK ||
	    write_all(fd, buf, len) != AQ_OK || fdatasync(fd) != 0) {
		snprintf(msg, msglen, "%s: %s", tmp, strerror(errno));
		close(fd);
		(void)unlink(tmp);
		return rc;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		snprintf(msg, msglen, "%s: %s", path, strerror(errno));
		(void)unlink(tmp);
		return rc;
	}
	/* The rename itself must reach the disk. */
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		slash[slash == dir ? 1 : 0] = '\0';
	if ((dfd = open(dir, O_RDONLY | O_CLOEXEC)) >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return AQ_OK;
}

int
journal_image_read(
    const char *path, void **buf, size_t *len, char *msg, size_t msglen)
{
	struct image_head h;
	struct stat sb;
	void *b = NULL;
	FILE *f;
	int rc = AQ_ERR_INVAL;

	if ((f = fopen(path, "rb")) == NULL) {
		snprintf(msg, msglen, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? AQ_ERR_NOTFOUND : AQ_ERR_IO;
	}
	if (fstat(fileno(f), &sb) != 0) {
		snprintf(msg, msglen, "%s: %s", path, strerror(errno));
		rc = AQ_ERR_IO;
		goto out;
	}
	if (fread(&h, 1, sizeof(h), f) != sizeof(h) ||
	    memcmp(h.magic, IMAGE_MAGIC, sizeof(h.magic)) != 0 ||
	    h.len != (uint64_t)sb.st_size - sizeof(h)) {
		snprintf(msg, msglen, "%s: not a whole image", path);
		goto out;
	}
	if ((b = malloc(h.len > 0 ? h.len : 1)) == NULL) {
		rc = AQ_ERR_NOMEM;
		snprintf(msg, msglen, "%s: out of memory", path);
		goto out;
	}
	if (fread(b, 1, h.len, f) != h.len ||
	    (uint32_t)crc32_z(0, b, (size_t)h.len) != h.crc) {
		snprintf(msg, msglen, "%s: damaged (CRC mismatch)", path);
		free(b);
		b = NULL;
		goto out;
	}
	*buf = b;
	*len = h.len;
	rc = AQ_OK;
out:
	fclose(f);
	return rc;
}
