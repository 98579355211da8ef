/*
 * check_log: the daemon's log lines -- text as "LEVEL module: message",
 * and JSON lines whose fields give back exactly what was logged, however
 * the message, cell or sensor is spelled (quotes, backslashes, control
 * characters, newlines, UTF-8).  stderr goes to a file the test reads.
 */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/log.h"

static char path[64];

static void capture(void);
static char *release(void);

/* stderr into a fresh file. */
static void
capture(void)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/check_log.XXXXXX");
	ck_assert_int_ge(fd = mkstemp(path), 0);
	close(fd);
	ck_assert_ptr_nonnull(freopen(path, "w", stderr));
}

/* What was written since capture() (owned); stderr to /dev/null. */
static char *
release(void)
{
	FILE *f;
	char *text = NULL;
	size_t len = 0;

	fflush(stderr);
	ck_assert_ptr_nonnull(freopen("/dev/null", "w", stderr));
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	if (getdelim(&text, &len, '\0', f) < 0) {
		free(text);
		text = calloc(1, 1);
	}
	fclose(f);
	unlink(path);
	return text;
}

START_TEST(text_is_level_and_message)
{
	char *text;

	log_init(0);
	log_set_json(false);
	capture();
	log_warnx_id("r000c001", "s1", "ingest: reading refused: %s", "late");
	log_info("aqgridd: stopping");
	log_debug("hidden: without -v");
	text = release();
	ck_assert_str_eq(text,
	    "warning ingest: reading refused: late\n"
	    "info aqgridd: stopping\n");
	free(text);
}
END_TEST

START_TEST(json_fields_round_trip)
{
	static const char msg[] = "a \"quoted\" \\ back\tslash\x01 ctrl\n"
				  "second line, \xe5\x8c\x97 and \x7f";
	static const char cell[] = "r0\"0\\c1";
	static const char sensor[] = "s\n1";
	char *text, *line, *save = NULL;
	int n = 0;

	log_init(1);
	log_set_json(true);
	capture();
	log_warnx_id(cell, sensor, "alerts: %s", msg);
	log_info("no module here");
	errno = ENOENT;
	log_warn("store: %s", "/nowhere");
	log_debug_id(NULL, "", "ingest: nothing about one");
	text = release();
	log_set_json(false);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save), n++) {
		json_error_t e;
		json_t *j = json_loads(line, 0, &e);
		const char *t;

		ck_assert_msg(j != NULL, "not JSON (%s): %s", e.text, line);
		t = json_string_value(json_object_get(j, "time"));
		ck_assert_ptr_nonnull(t);
		ck_assert_int_eq(strlen(t), strlen("2026-11-29T12:00:00.000Z"));
		ck_assert_int_eq(t[strlen(t) - 1], 'Z');
		switch (n) {
		case 0:
			ck_assert_str_eq(
			    json_string_value(json_object_get(j, "level")),
			    "warning");
			ck_assert_str_eq(
			    json_string_value(json_object_get(j, "module")),
			    "alerts");
			ck_assert_str_eq(
			    json_string_value(json_object_get(j, "message")),
			    msg);
			ck_assert_str_eq(
			    json_string_value(json_object_get(j, "cell")),
			    cell);
			ck_assert_str_eq(
			    json_string_value(json_object_get(j, "sensor")),
			    sensor);
			break;
		case 1:
			ck_assert_str_eq(
			    json_string_value(json_object_get(j, "module")),
			    "aqgridd");
			ck_assert_str_eq(
			    json_string_value(json_object_get(j, "message")),
			    "no module here");
			ck_assert_ptr_null(json_object_get(j, "cell"));
			break;
		case 2:
			ck_assert_str_eq(
			    json_string_value(json_object_get(j, "module")),
			    "store");
			ck_assert_str_eq(
			    json_string_value(json_object_get(j, "error")),
			    strerror(ENOENT));
			break;
		case 3:
			ck_assert_str_eq(
			    json_string_value(json_object_get(j, "level")),
			    "debug");
			ck_assert_ptr_null(json_object_get(j, "cell"));
			ck_assert_ptr_null(json_object_get(j, "sensor"));
			break;
		}
		json_decref(j);
	}
	ck_assert_int_eq(n, 4);
	free(text);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("log");

	tcase_add_test(tc, text_is_level_and_message);
	tcase_add_test(tc, json_fields_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
