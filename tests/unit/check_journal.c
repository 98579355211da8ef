/* check_journal: the message journal and the state image file, in a fresh
 * temporary directory. */
#include "daemon/journal.h"

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MSG_MAX 512

static char dir[64];

struct seen {
	int n;
	uint64_t seq[16];
	int32_t decoder[16];
	int64_t arrived[16];
	char topic[16][32];
	char payload[16][32];
};

static void setup(void);
static void teardown(void);
static void collect(void *ctx, const struct journal_rec *r);
static struct journal *open_ok(uint64_t after, struct seen *s, uint64_t *torn);
static void add3(struct journal *j, int first);
static int count_segments(void);
static off_t segment_size(void);

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check_journal.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	char p[400];
	DIR *d;
	struct dirent *e;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

static void
collect(void *ctx, const struct journal_rec *r)
{
	struct seen *s = ctx;

	ck_assert_int_lt(s->n, 16);
	s->seq[s->n] = r->seq;
	s->decoder[s->n] = r->decoder;
	s->arrived[s->n] = r->arrived_ns;
	snprintf(s->topic[s->n], sizeof(s->topic[0]), "%s", r->topic);
	snprintf(s->payload[s->n], sizeof(s->payload[0]), "%.*s", (int)r->len,
	    (const char *)r->payload);
	s->n++;
}

static struct journal *
open_ok(uint64_t after, struct seen *s, uint64_t *torn)
{
	struct journal *j = NULL;
	char msg[MSG_MAX];

	memset(s, 0, sizeof(*s));
	ck_assert_int_eq(
	    journal_open(dir, after, collect, s, &j, torn, msg, sizeof(msg)),
	    AQ_OK);
	return j;
}

/* Records first, first + 1, first + 2: topic "t/<k>", payload "p<k>". */
static void
add3(struct journal *j, int first)
{
	for (int k = first; k < first + 3; k++) {
		char topic[16], payload[16];
		uint64_t seq;

		snprintf(topic, sizeof(topic), "t/%d", k);
		snprintf(payload, sizeof(payload), "p%d", k);
		ck_assert_int_eq(journal_add(j, k % 4, 1000 + k, topic, payload,
				     strlen(payload), &seq),
		    AQ_OK);
		ck_assert_uint_eq(seq, (uint64_t)k);
	}
}

static int
count_segments(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		n += strncmp(e->d_name, "journal-", 8) == 0;
	closedir(d);
	return n;
}

/* Size of the only segment. */
static off_t
segment_size(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct stat sb;
	char p[400];
	off_t size = -1;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, "journal-", 8) == 0) {
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			ck_assert_int_eq(stat(p, &sb), 0);
			size = sb.st_size;
		}
	closedir(d);
	return size;
}

START_TEST(records_come_back_in_order)
{
	struct seen s;
	uint64_t torn;
	struct journal *j = open_ok(0, &s, &torn);

	ck_assert_int_eq(s.n, 0);
	ck_assert_uint_eq(journal_next(j), 1);
	add3(j, 1);
	/* Only buffered so far: a commit puts them in the file. */
	ck_assert_int_eq(segment_size(), 0);
	ck_assert_int_eq(journal_commit(j), AQ_OK);
	ck_assert_int_gt(segment_size(), 0);
	ck_assert_int_eq(journal_sync(j), AQ_OK);
	journal_close(j);

	j = open_ok(0, &s, &torn);
	ck_assert_int_eq(s.n, 3);
	ck_assert_uint_eq(torn, 0);
	for (int k = 0; k < 3; k++) {
		char want[16];

		ck_assert_uint_eq(s.seq[k], (uint64_t)k + 1);
		ck_assert_int_eq(s.decoder[k], (k + 1) % 4);
		ck_assert_int_eq(s.arrived[k], 1000 + k + 1);
		snprintf(want, sizeof(want), "t/%d", k + 1);
		ck_assert_str_eq(s.topic[k], want);
		snprintf(want, sizeof(want), "p%d", k + 1);
		ck_assert_str_eq(s.payload[k], want);
	}
	/* Numbering goes on after a restart, in a new segment. */
	ck_assert_uint_eq(journal_next(j), 4);
	add3(j, 4);
	journal_close(j);
	ck_assert_int_eq(count_segments(), 2);

	/* Only what comes after the image's mark is replayed. */
	j = open_ok(4, &s, &torn);
	ck_assert_int_eq(s.n, 2);
	ck_assert_uint_eq(s.seq[0], 5);
	ck_assert_uint_eq(s.seq[1], 6);
	journal_close(j);
}
END_TEST

START_TEST(torn_tail_is_skipped)
{
	struct seen s;
	uint64_t torn;
	struct journal *j = open_ok(0, &s, &torn);
	char p[400];
	DIR *d;
	struct dirent *e;

	add3(j, 1);
	journal_close(j);
	/* A power cut in the middle of the last record. */
	ck_assert_ptr_nonnull(d = opendir(dir));
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, "journal-", 8) == 0)
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
	closedir(d);
	ck_assert_int_eq(truncate(p, segment_size() - 3), 0);

	j = open_ok(0, &s, &torn);
	ck_assert_int_eq(s.n, 2);
	ck_assert_uint_eq(torn, 1);
	ck_assert_str_eq(s.payload[1], "p2");
	/* The damaged record's number is never reused for another. */
	ck_assert_uint_eq(journal_next(j), 3);
	journal_close(j);
}
END_TEST

START_TEST(flipped_byte_is_refused)
{
	struct seen s;
	uint64_t torn;
	struct journal *j = open_ok(0, &s, &torn);
	char p[400];
	DIR *d;
	struct dirent *e;
	int fd;

	add3(j, 1);
	journal_close(j);
	ck_assert_ptr_nonnull(d = opendir(dir));
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, "journal-", 8) == 0)
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
	closedir(d);
	/* The second record's payload: "p2" becomes "X2". */
	ck_assert_int_ge(fd = open(p, O_WRONLY), 0);
	ck_assert_int_eq(pwrite(fd, "X", 1, segment_size() * 2 / 3 - 2), 1);
	close(fd);
	j = open_ok(0, &s, &torn);
	ck_assert_int_eq(torn, 1);
	ck_assert_int_eq(s.n, 1);
	journal_close(j);
}
END_TEST

START_TEST(release_drops_what_an_image_holds)
{
	struct seen s;
	uint64_t torn;
	struct journal *j = open_ok(0, &s, &torn);

	add3(j, 1);
	ck_assert_int_eq(journal_commit(j), AQ_OK);
	/* Records 3 is not yet in an image: keep everything. */
	journal_release(j, 2);
	ck_assert_int_eq(count_segments(), 1);
	journal_close(j);
	j = open_ok(2, &s, &torn);
	ck_assert_int_eq(s.n, 1);
	ck_assert_uint_eq(s.seq[0], 3);
	add3(j, 4);
	ck_assert_int_eq(journal_commit(j), AQ_OK);
	ck_assert_int_eq(count_segments(), 2);
	journal_release(j, 3);
	ck_assert_int_eq(count_segments(), 1);
	journal_release(j, 6);
	/* Everything is held: a fresh empty segment remains. */
	ck_assert_int_eq(count_segments(), 1);
	ck_assert_int_eq(segment_size(), 0);
	ck_assert_uint_eq(journal_next(j), 7);
	journal_close(j);
	j = open_ok(6, &s, &torn);
	ck_assert_int_eq(s.n, 0);
	ck_assert_uint_eq(journal_next(j), 7);
	journal_close(j);
}
END_TEST

START_TEST(image_is_whole_or_refused)
{
	char path[128], msg[MSG_MAX];
	const char body[] = "the state of the grid";
	void *buf = NULL;
	size_t len = 0;
	struct stat sb;
	int fd;

	snprintf(path, sizeof(path), "%s/engine.img", dir);
	ck_assert_int_eq(journal_image_read(path, &buf, &len, msg, sizeof(msg)),
	    AQ_ERR_NOTFOUND);
	ck_assert_int_eq(
	    journal_image_write(path, body, sizeof(body), msg, sizeof(msg)),
	    AQ_OK);
	ck_assert_int_eq(
	    journal_image_read(path, &buf, &len, msg, sizeof(msg)), AQ_OK);
	ck_assert_uint_eq(len, sizeof(body));
	ck_assert_mem_eq(buf, body, sizeof(body));
	free(buf);
	buf = NULL;

	/* One byte changed: the CRC says so. */
	ck_assert_int_ge(fd = open(path, O_WRONLY), 0);
	ck_assert_int_eq(pwrite(fd, "T", 1, 30), 1);
	close(fd);
	ck_assert_int_eq(journal_image_read(path, &buf, &len, msg, sizeof(msg)),
	    AQ_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(msg, "CRC"));
	ck_assert_ptr_null(buf);

	/* Truncated. */
	ck_assert_int_eq(
	    journal_image_write(path, body, sizeof(body), msg, sizeof(msg)),
	    AQ_OK);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(truncate(path, sb.st_size - 1), 0);
	ck_assert_int_eq(journal_image_read(path, &buf, &len, msg, sizeof(msg)),
	    AQ_ERR_INVAL);
	/* No temporary file left behind. */
	snprintf(msg, sizeof(msg), "%s.tmp", path);
	ck_assert_int_ne(stat(msg, &sb), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("journal");
	TCase *tc = tcase_create("journal");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, records_come_back_in_order);
	tcase_add_test(tc, torn_tail_is_skipped);
	tcase_add_test(tc, flipped_byte_is_refused);
	tcase_add_test(tc, release_drops_what_an_image_holds);
	tcase_add_test(tc, image_is_whole_or_refused);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
