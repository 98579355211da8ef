/*
 * check_man: the built manual pages ($AQ_MAN, default build/man).
 * aqgridd.conf(5) lists every key of the parser's option table under its
 * section, and no key the table does not have, so page and parser cannot
 * drift; every key its ALERT SECTIONS list (the alert service's own,
 * checked by alerts/, not in the table) is one $AQGRIDD -t knows; and every
 * page formats without a warning from mandoc -Tlint and groff -ww (the
 * checks lintian and man --warnings make).
 */
#define _DEFAULT_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/conf.h"

static const char *const pages[] = {
    "aqgridd.8", "aqgridd.conf.5", "aqgrid.1", "aqgrid-sim.1", NULL};

static char *slurp(const char *path);
static char *run(const char *cmd, int *status);
static const char *man_dir(void);
static bool page_has(const char *page, const char *section, const char *key);
static char *check_key(const char *kind, const char *key);

static const char *
man_dir(void)
{
	const char *d = getenv("AQ_MAN");

	return d != NULL && d[0] != '\0' ? d : "build/man";
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	size_t len = 0;
	FILE *out;
	int ch;

	ck_assert_msg(f != NULL, "cannot open %s (make man)", path);
	out = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(out);
	while ((ch = fgetc(f)) != EOF)
		fputc(ch, out);
	fclose(f);
	fclose(out);
	return text;
}

/* The command's standard output and error, and its exit status. */
static char *
run(const char *cmd, int *status)
{
	char full[1024];
	char *text = NULL;
	size_t len = 0;
	FILE *p, *out;
	int ch;

	snprintf(full, sizeof(full), "%s 2>&1", cmd);
	p = popen(full, "r");
	ck_assert_ptr_nonnull(p);
	out = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(out);
	while ((ch = fgetc(p)) != EOF)
		fputc(ch, out);
	*status = pclose(p);
	fclose(out);
	return text;
}

/* Whether ".B key" is a line of the page's ".SS [section...]" part. */
static bool
page_has(const char *page, const char *section, const char *key)
{
	char head[128], line[128];
	const char *s, *end;
	size_t n;

	n = (size_t)snprintf(head, sizeof(head), "\n.SS [%s", section);
	for (s = strstr(page, head); s != NULL; s = strstr(s + 1, head))
		if (s[n] == ']' || s[n] == ' ')
			break;
	if (s == NULL)
		return false;
	s = strchr(s + 1, '\n');
	end = strstr(s, "\n.S");
	if (end == NULL)
		end = s + strlen(s);
	snprintf(line, sizeof(line), "\n.B %s\n", key);
	s = strstr(s, line);
	return s != NULL && s < end;
}

START_TEST(conf_page_lists_every_key)
{
	char path[512];
	char *page;
	const char *section, *key;
	size_t k, nkeys = 0, nlisted = 0;
	const char *p, *opts, *end;

	snprintf(path, sizeof(path), "%s/aqgridd.conf.5", man_dir());
	page = slurp(path);
	for (k = 0; conf_option(k, &section, &key); k++)
		ck_assert_msg(page_has(page, section, key),
		    "aqgridd.conf(5) does not list [%s] %s", section, key);
	nkeys = k;
	ck_assert_uint_gt(nkeys, 40);
	/* And nothing else: the OPTIONS section has one .B line a key. */
	opts = strstr(page, "\n.SH OPTIONS\n");
	ck_assert_ptr_nonnull(opts);
	end = strstr(opts + 1, "\n.SH ");
	ck_assert_ptr_nonnull(end);
	for (p = strstr(opts, "\n.TP\n.B "); p != NULL && p < end;
	     p = strstr(p + 1, "\n.TP\n.B "))
		nlisted++;
	ck_assert_uint_eq(nlisted, nkeys);
	free(page);
}
END_TEST

START_TEST(pages_lint_clean)
{
	char cmd[1024];
	char *out;
	int status;

	for (const char *const *pg = pages; *pg != NULL; pg++) {
		snprintf(
		    cmd, sizeof(cmd), "mandoc -Tlint %s/%s", man_dir(), *pg);
		out = run(cmd, &status);
		ck_assert_msg(status == 0 && out[0] == '\0',
		    "mandoc -Tlint %s (status %d):\n%s", *pg, status, out);
		free(out);
		snprintf(cmd, sizeof(cmd),
		    "LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z %s/%s", man_dir(),
		    *pg);
		out = run(cmd, &status);
		ck_assert_msg(status == 0 && out[0] == '\0',
		    "groff -ww %s (status %d):\n%s", *pg, status, out);
		free(out);
	}
}
END_TEST

/* The pages are filled in: no placeholder is left, and each names
 * itself in its NAME section. */
START_TEST(pages_filled_in)
{
	char path[512], want[128];
	char *page;

	for (const char *const *pg = pages; *pg != NULL; pg++) {
		size_t n = (size_t)snprintf(want, sizeof(want), ".SH NAME\n");

		snprintf(path, sizeof(path), "%s/%s", man_dir(), *pg);
		page = slurp(path);
		ck_assert_msg(strstr(page, "@VERSION@") == NULL,
		    "%s: @VERSION@ left", *pg);
		ck_assert_msg(
		    strstr(page, "@DATE@") == NULL, "%s: @DATE@ left", *pg);
		/* "aqgrid-sim.1" names itself "aqgrid\-sim \- ...". */
		for (const char *c = *pg; *c != '\0' && n + 3 < sizeof(want);
		     c++) {
			if (*c == '.' && strchr(c + 1, '.') == NULL)
				break;
			if (*c == '-')
				want[n++] = '\\';
			want[n++] = *c;
		}
		snprintf(want + n, sizeof(want) - n, " \\- ");
		ck_assert_msg(
		    strstr(page, want) != NULL, "%s: no \"%s\"", *pg, want);
		free(page);
	}
}
END_TEST

/* "aqgridd -t" on a configuration with key = value in a [kind x]
 * section (receivers get a type and url first, as the service reads keys
 * only of a well-typed receiver); its output. */
static char *
check_key(const char *kind, const char *key)
{
	char path[] = "/tmp/check_man.XXXXXX", cmd[1100];
	const char *aqgridd = getenv("AQGRIDD");
	char *out;
	FILE *f;
	int status, fd;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f,
	    "[mqtt]\nsubscribe = a/# json 1\n[grid]\norigin = 40 116\n"
	    "rows = 1\ncols = 1\n[%s x]\n%s%s = 1\n",
	    kind,
	    strcmp(kind, "receiver") == 0 ? "type = webhook\n"
					    "url = http://127.0.0.1/\n"
					  : "",
	    key);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "%s -t -c %s",
	    aqgridd != NULL ? aqgridd : "build/aqgridd", path);
	out = run(cmd, &status);
	unlink(path);
	return out;
}

START_TEST(alert_keys_known)
{
	char path[512], want[128];
	char *page, *out;
	const char *p, *end, *kind;
	int nkeys = 0, nsections = 0;

	snprintf(path, sizeof(path), "%s/aqgridd.conf.5", man_dir());
	page = slurp(path);
	p = strstr(page, "\n.SH ALERT SECTIONS\n");
	ck_assert_ptr_nonnull(p);
	end = strstr(p + 1, "\n.SH ");
	ck_assert_ptr_nonnull(end);
	for (const char *const *k = (const char *const[]){"rule", "inhibit",
		 "receiver", "route", NULL};
	     *k != NULL; k++) {
		/* The method finds an unknown key in this kind of section. */
		snprintf(want, sizeof(want),
		    "unknown key 'no_such_key' in [%s x]", *k);
		out = check_key(*k, "no_such_key");
		ck_assert_msg(strstr(out, want) != NULL, "%s: %s", *k, out);
		free(out);
	}
	while ((p = strstr(p, "\n.SS [")) != NULL && p < end) {
		char kbuf[32];
		const char *q, *next;

		p += 6;
		snprintf(kbuf, sizeof(kbuf), "%.*s", (int)strcspn(p, " ]"), p);
		kind = kbuf;
		nsections++;
		next = strstr(p, "\n.S");
		/* Each ".TP" item's keys: ".B key" or ".BR a \", \" b". */
		for (q = strstr(p, "\n.TP\n.B"); q != NULL && q < next;
		     q = strstr(q + 1, "\n.TP\n.B")) {
			const char *w = q + 7;

			w += *w == 'R';
			while (*w == ' ' || *w == '"' || *w == ',') {
				char key[64];
				size_t n;

				while (*w == ' ')
					w++;
				if (*w == '"') { /* a quoted separator */
					w = strchr(w + 1, '"') + 1;
					continue;
				}
				n = strcspn(w, " \n");
				snprintf(key, sizeof(key), "%.*s", (int)n, w);
				w += n;
				snprintf(want, sizeof(want), "unknown key '%s'",
				    key);
				out = check_key(kind, key);
				ck_assert_msg(strstr(out, want) == NULL,
				    "aqgridd.conf(5) lists [%s] %s, which "
				    "aqgridd does not know: %s",
				    kind, key, out);
				free(out);
				nkeys++;
			}
		}
	}
	ck_assert_int_eq(nsections, 4);
	ck_assert_int_ge(nkeys, 25);
	free(page);
}
END_TEST

static Suite *
man_suite(void)
{
	Suite *s = suite_create("man");
	TCase *tc = tcase_create("pages");

	tcase_add_test(tc, conf_page_lists_every_key);
	tcase_add_test(tc, alert_keys_known);
	tcase_add_test(tc, pages_lint_clean);
	tcase_add_test(tc, pages_filled_in);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(man_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
