/* check_conf: the configuration parser, its defaults, ranges and errors. */
#include "daemon/conf.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/aqgrid-conf.XXXXXX";
static char errs[8192];

static int decoder(const char *name);
static const char *write_file(const char *name, const char *text);
static struct conf *load(const char *text, int want);

static const struct conf_hooks hooks = {.decoder = decoder};

static int
decoder(const char *name)
{
	return strcmp(name, "json") == 0 ? 0
	    : strcmp(name, "senml") == 0 ? 1
					 : -1;
}

static const char *
write_file(const char *name, const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	return path;
}

/* Loads text as a.conf; want is AQ_OK or AQ_ERR_INVAL.  Errors land in
 * errs. */
static struct conf *
load(const char *text, int want)
{
	struct conf *c = NULL;
	const char *path = write_file("a.conf", text);
	FILE *f = fmemopen(errs, sizeof(errs), "w");

	ck_assert_ptr_nonnull(f);
	memset(errs, 0, sizeof(errs));
	ck_assert_int_eq(conf_load(path, &hooks, &c, f), want);
	fclose(f);
	if (want != AQ_OK)
		ck_assert_ptr_null(c);
	return c;
}

#define MIN "[mqtt]\nsubscribe = aq/# json 1\n[grid]\nrows = 2\ncols = 3\n"

static void
setup(void)
{
	strcpy(dir, "/tmp/aqgrid-conf.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(defaults)
{
	struct conf *c = load(MIN, AQ_OK);

	ck_assert_str_eq(c->mqtt_host, "127.0.0.1");
	ck_assert_int_eq(c->mqtt_port, 1883);
	ck_assert_str_eq(c->mqtt_client_id, "aqgridd");
	ck_assert_int_eq(c->mqtt_protocol, 0);
	ck_assert_str_eq(c->http_addr, "127.0.0.1");
	ck_assert_int_eq(c->http_port, 8080);
	ck_assert_int_eq(c->aqi_std, AQI_HJ633_2026);
	ck_assert_int_eq(c->limits.ed, LIMITS_GB3095_2026);
	ck_assert_int_eq(c->limits.grade, 2);
	ck_assert_str_eq(c->timezone, "Asia/Shanghai");
	ck_assert_int_eq(c->lateness, 7200);
	ck_assert(c->check_future);
	ck_assert_int_eq(c->max_payload, 16384);
	ck_assert(c->qc_max[POL_CO] == 150);
	ck_assert_uint_eq(c->ncells, 6);
	ck_assert_int_eq(c->sensors_max, 24);
	ck_assert_str_eq(c->cells[4].id, "r001c001");
	ck_assert_int_eq(c->subs[0].decoder, 0);
	ck_assert_int_eq(c->subs[0].qos, 1);
	conf_free(c);
}
END_TEST

/* The plan's targets: defaults, values, ranges; and [faults] is a
 * section one may write. */
START_TEST(plan_and_faults_sections)
{
	struct conf *c = load(MIN, AQ_OK);

	ck_assert(c->plan_good_days == 88);
	ck_assert(c->plan_pm25 == 35);
	ck_assert(c->plan_o3_p90 == 160);
	conf_free(c);
	c = load(MIN "[plan]\ngood_days = 90.5\npm25 = 30\no3_8h_p90 = 0\n"
		     "[faults]\ndetect = no\n",
	    AQ_OK);
	ck_assert(c->plan_good_days == 90.5);
	ck_assert(c->plan_pm25 == 30);
	ck_assert(c->plan_o3_p90 == 0);
	ck_assert(!c->faults);
	conf_free(c);
	ck_assert_ptr_null(load(MIN "[plan]\ngood_days = 101\n", AQ_ERR_INVAL));
	ck_assert_ptr_nonnull(strstr(errs, "a.conf:7: good_days"));
}
END_TEST

START_TEST(every_error_with_its_line)
{
	load("[mqtt]\nport = 70000\nprotocol = 4\nsubscribe = a/# xml 1\n"
	     "subscribe = a/#\n[http]\nlisten = nowhere\n[standards]\n"
	     "aqi = hj633-1999\ntimezone = Mars/Base\n[ingest]\n"
	     "check_future = maybe\nmax = pm25 -1\nlateness = 1e3\n"
	     "[grid]\nrows = 2\ncols = 2\ncolour = red\n[weather]\n"
	     "x = 1\nnot a key value line\n[area a]\ncells = r000c000 r9c9\n"
	     "[sensor s]\ncell = r005c005\ncalibrate = pm25 0 1\n",
	    AQ_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(errs, "a.conf:2: port: 70000 is outside"));
	ck_assert_ptr_nonnull(
	    strstr(errs, "a.conf:3: protocol: unknown value '4'"));
	ck_assert_ptr_nonnull(strstr(errs,
	    "a.conf:4: subscribe: unknown "
	    "decoder 'xml'"));
	ck_assert_ptr_nonnull(strstr(errs, "a.conf:5: subscribe: expected"));
	ck_assert_ptr_nonnull(strstr(errs, "a.conf:7: listen: expected"));
	ck_assert_ptr_nonnull(strstr(errs, "a.conf:9: aqi: unknown value"));
	ck_assert_ptr_nonnull(strstr(errs, "a.conf:10: timezone: unknown"));
	ck_assert_ptr_nonnull(strstr(errs, "a.conf:12: check_future: 'maybe'"));
	ck_assert_ptr_nonnull(strstr(errs, "a.conf:13: max: expected"));
	ck_assert_ptr_nonnull(
	    strstr(errs, "a.conf:14: lateness: '1e3' is not"));
	ck_assert_ptr_nonnull(
	    strstr(errs, "a.conf:18: unknown key 'colour' in [grid]"));
	ck_assert_ptr_nonnull(strstr(errs, "a.conf:19: unknown section"));
	ck_assert_ptr_nonnull(strstr(errs, "a.conf:21: expected key = value"));
	ck_assert_ptr_nonnull(strstr(errs, "a.conf:23: cells: no cell 'r9c9'"));
	ck_assert_ptr_nonnull(strstr(errs, "a.conf:26: calibrate: expected"));
	ck_assert_ptr_nonnull(
	    strstr(errs, "[sensor s]: cell 'r005c005' is not"));
}
END_TEST

START_TEST(grid_areas_and_placement)
{
	uint32_t nb[8];
	struct conf *c =
	    load("[mqtt]\nsubscribe = aq/# json 0\n[grid]\n"
		 "origin = 40.0 116.0\ncell_size = 1000\n"
		 "rows = 3\ncols = 4\n"
		 "cell = school-1 39.5 116.5\n"
		 "[area n]\nname = 北区\ncells = r000c000-r000c003\n"
		 "[area s]\ncells = r001c001-r002c002, school-1\n",
		AQ_OK);

	ck_assert_uint_eq(c->ncells, 13);
	ck_assert_uint_eq(c->nareas, 2);
	ck_assert_str_eq(c->areas[0].name, "北区");
	ck_assert_uint_eq(c->areas[0].ncells, 4);
	ck_assert_uint_eq(c->areas[1].ncells, 5);
	ck_assert_int_eq(conf_cell_find(c, "school-1"), 12);
	ck_assert_int_eq(c->cells[12].area, 1);
	ck_assert_int_eq(c->cells[conf_cell_find(c, "r002c003")].area, -1);
	ck_assert_int_eq(conf_cell_find(c, "r003c000"), -1);
	/* Row 0 is the northern row; column 0 the western one. */
	ck_assert_int_eq(conf_cell_at(c, 39.999, 116.001), 0);
	ck_assert_int_eq(conf_cell_at(c, 39.985, 116.030), 1 * 4 + 2);
	ck_assert_int_eq(conf_cell_at(c, 40.001, 116.001), -1);
	ck_assert_int_eq(conf_cell_at(c, 39.999, 115.999), -1);
	ck_assert(c->cells[0].lat < 40.0 && c->cells[0].lat > 39.99);
	/* The 8 around r001c001, 3 around a corner, none for school-1. */
	ck_assert_uint_eq(conf_cell_neighbours(c, 1 * 4 + 1, nb), 8);
	ck_assert_uint_eq(nb[0], 0);
	ck_assert_uint_eq(nb[3], 1 * 4 + 0);
	ck_assert_uint_eq(nb[4], 1 * 4 + 2);
	ck_assert_uint_eq(nb[7], 2 * 4 + 2);
	ck_assert_uint_eq(conf_cell_neighbours(c, 2 * 4 + 3, nb), 3);
	ck_assert_uint_eq(nb[0], 1 * 4 + 2);
	ck_assert_uint_eq(conf_cell_neighbours(c, 12, nb), 0);
	conf_free(c);
}
END_TEST

START_TEST(include_and_registry)
{
	struct conf *c;

	write_file("grid.conf",
	    "[grid]\nrows = 1\ncols = 2\n"
	    "[sensor bb-1]\ncell = r000c001\ninterval = 300\n"
	    "calibrate = pm25 1.05 -2\n");
	c = load("[mqtt]\nsubscribe = aq/# senml 2\ninclude = grid.conf\n"
		 "[ingest]\nsensors_max = 10\n",
	    AQ_OK);
	ck_assert_uint_eq(c->ncells, 2);
	ck_assert_uint_eq(c->nsensors, 1);
	ck_assert_str_eq(c->sensors[0].cell, "r000c001");
	ck_assert_int_eq(c->sensors[0].interval, 300);
	ck_assert(c->sensors[0].slope[POL_PM25] == 1.05);
	ck_assert(c->sensors[0].intercept[POL_PM25] == -2);
	ck_assert_uint_eq(c->sensors[0].cal_has, 1u << POL_PM25);
	ck_assert_int_eq(c->subs[0].qos, 2);
	conf_free(c);
	/* An error inside an included file names that file. */
	write_file("grid.conf", "[grid]\nrows = 1\ncols = x\n");
	load("[mqtt]\nsubscribe = aq/# json 1\ninclude = grid.conf\n",
	    AQ_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(errs, "grid.conf:3: cols: 'x' is not"));
	load("[mqtt]\nsubscribe = aq/# json 1\ninclude = missing.conf\n"
	     "[grid]\nrows = 1\ncols = 1\n",
	    AQ_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(errs, "a.conf:3: include: cannot read"));
	/* A cycle is named where it closes, not read again and again. */
	write_file(
	    "grid.conf", "[grid]\nrows = 1\ncols = 1\ninclude = a.conf\n");
	load("[mqtt]\nsubscribe = aq/# json 1\ninclude = grid.conf\n",
	    AQ_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(errs, "grid.conf:4: include: '"));
	ck_assert_ptr_nonnull(strstr(errs, "a.conf' includes itself"));
	ck_assert_ptr_null(strstr(errs, "nested too deep"));
}
END_TEST

/* [http] TLS goes in pairs, reported where it was set; CORS origins are
 * origins. */
START_TEST(http_security_keys)
{
	struct conf *c;

	load(MIN "[http]\n\ntls_key = /k.pem\n", AQ_ERR_INVAL);
	ck_assert_ptr_nonnull(
	    strstr(errs, "a.conf:8: [http]: tls_cert and tls_key go together"));
	load(MIN "[http]\ntls_cert = /c.pem\n", AQ_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(errs, "a.conf:7: [http]: tls_cert and"));
	load(MIN "[http]\ncors_origins = https://a.example *\n", AQ_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(errs, "a.conf:7: cors_origins: '*'"));
	load(MIN "[http]\ncors_origins = https://a.example/\n", AQ_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(errs, "'https://a.example/' is not"));
	load(MIN "[http]\ncors_origins = ftp://a.example\n", AQ_ERR_INVAL);
	load(MIN "[http]\nmax_header = 100\n", AQ_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(errs, "max_header: 100 is outside"));
	c = load(MIN "[http]\ntls_cert = /c.pem\ntls_key = /k.pem\n"
		     "cors_origins = https://a.example  http://[::1]:8080\n"
		     "max_body = 0\nclient_connections = 0\n",
	    AQ_OK);
	ck_assert_str_eq(c->http_tls_cert, "/c.pem");
	ck_assert_str_eq(c->http_tls_key, "/k.pem");
	ck_assert_str_eq(
	    c->http_cors_origins, "https://a.example  http://[::1]:8080");
	ck_assert_int_eq(c->http_max_body, 0);
	conf_free(c);
	/* The defaults. */
	c = load(MIN, AQ_OK);
	ck_assert_str_eq(c->http_tls_cert, "");
	ck_assert_str_eq(c->http_cors_origins, "");
	ck_assert_int_eq(c->http_client_connections, 32);
	ck_assert_int_eq(c->http_idle_timeout, 30);
	ck_assert_int_eq(c->http_max_header, 16384);
	ck_assert_int_eq(c->http_max_body, 65536);
	conf_free(c);
}
END_TEST

START_TEST(whole_config_checks)
{
	load("[grid]\nrows = 1\ncols = 1\n", AQ_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(errs, "no subscribe lines"));
	load("[mqtt]\nsubscribe = a json 0\n", AQ_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(errs, "no cells"));
	load("[mqtt]\nsubscribe = a json 0\n[grid]\nrows = 2\n", AQ_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(errs, "rows and cols go together"));
	load(MIN "[mqtt]\nbackoff_min = 10\nbackoff_max = 5\n", AQ_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(errs, "backoff_max is below"));
	load(MIN "[mqtt]\ncert_file = /x\n", AQ_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(errs, "cert_file and key_file go"));
	load(MIN "[area a]\nname = x\n[area a]\n", AQ_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(errs, "[area a]: defined twice"));
	load(MIN "[area]\n", AQ_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(errs, "[area]: needs an id"));
	load("nope = 1\n" MIN, AQ_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(errs, "a.conf:1: 'nope' outside"));
}
END_TEST

START_TEST(manual_page)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	conf_write_man(f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(text, ".SS [mqtt]"));
	ck_assert_ptr_nonnull(strstr(text,
	    ".B lateness\nInteger 0 to 21600.\n"
	    "Default: 7200.\n"));
	ck_assert_ptr_nonnull(strstr(text, ".SS [sensor ID]"));
	/* A section's keys are together under one heading, though its rows
	 * are not adjacent in the table ([http], [hj212], then [http]). */
	ck_assert_ptr_nonnull(strstr(text, ".SS [http]"));
	ck_assert_ptr_null(
	    strstr(strstr(text, ".SS [http]") + 1, ".SS [http]"));
	free(text);
}
END_TEST

START_TEST(raw_sections)
{
	struct conf *c;
	const struct conf_section *s;

	write_file("rules.conf",
	    "# rules\n[rule pm25]\nwhen = pm25_24h > 75\nlabels = a=b\n"
	    "labels = c=d\n[inhibit severe]\n\nsource = rule=aqi300\n");
	c = load(MIN "[receiver duty]\nurl = http://x/\nempty =\n"
		     "include = rules.conf\n[route all]\nreceiver = duty\n"
		     "[rule aqi300]\n",
	    AQ_OK);
	ck_assert_uint_eq(c->nsections, 5);
	s = conf_section_find(c, "receiver", "duty");
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s->kind, "receiver");
	ck_assert_int_eq(s->line, 6);
	ck_assert_ptr_nonnull(strstr(s->file, "a.conf"));
	ck_assert_uint_eq(s->nkv, 2);
	ck_assert_str_eq(s->kv[0].key, "url");
	ck_assert_str_eq(s->kv[0].value, "http://x/");
	ck_assert_int_eq(s->kv[0].line, 7);
	ck_assert_str_eq(s->kv[1].value, "");
	/* Lines of an included file name that file, and keys may repeat. */
	s = conf_section_find(c, "rule", "pm25");
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(strstr(s->file, "rules.conf"));
	ck_assert_int_eq(s->line, 2);
	ck_assert_uint_eq(s->nkv, 3);
	ck_assert_int_eq(s->kv[2].line, 5);
	ck_assert_ptr_nonnull(strstr(s->kv[2].file, "rules.conf"));
	ck_assert_str_eq(conf_section_get(s, "labels"), "c=d");
	ck_assert_ptr_null(conf_section_get(s, "for"));
	/* After the include, its last section goes on in rules.conf's
	 * section; a new header in a.conf starts anew. */
	s = conf_section_find(c, "route", "all");
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(strstr(s->kv[0].file, "a.conf"));
	ck_assert_int_eq(s->kv[0].line, 11);
	/* conf_section_next walks one kind in file order. */
	s = conf_section_next(c, "rule", NULL);
	ck_assert_str_eq(s->id, "pm25");
	s = conf_section_next(c, "rule", s);
	ck_assert_str_eq(s->id, "aqi300");
	ck_assert_uint_eq(s->nkv, 0);
	ck_assert_ptr_null(conf_section_next(c, "rule", s));
	ck_assert_ptr_null(conf_section_find(c, "rule", "duty"));
	conf_free(c);

	/* The same id twice in one kind is an error; in two kinds it is
	 * not. */
	load(MIN "[rule a]\nx = 1\n[inhibit a]\n[rule a]\n[rule]\n"
		 "[route a b]\n[rule z]\nno equals sign\n",
	    AQ_ERR_INVAL);
	ck_assert_ptr_nonnull(
	    strstr(errs, "a.conf:9: [rule a]: defined twice (first at "));
	ck_assert_ptr_nonnull(strstr(errs, "a.conf:6)"));
	ck_assert_ptr_nonnull(strstr(errs, "a.conf:10: [rule]: needs an id"));
	ck_assert_ptr_nonnull(strstr(errs, "a.conf:11: [route]: needs an id"));
	ck_assert_ptr_nonnull(strstr(errs, "a.conf:13: expected key = value"));
	ck_assert_ptr_null(strstr(errs, "[inhibit a]"));
}
END_TEST

START_TEST(error_format)
{
	char buf[128] = "";
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	ck_assert_ptr_nonnull(f);
	conf_errf(f, "x.conf", 12, "when: %s", "bad");
	conf_errf(f, "x.conf", 0, "no rules");
	fclose(f);
	ck_assert_str_eq(buf, "x.conf:12: when: bad\nx.conf: no rules\n");
}
END_TEST

static Suite *
conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, plan_and_faults_sections);
	tcase_add_test(tc, every_error_with_its_line);
	tcase_add_test(tc, grid_areas_and_placement);
	tcase_add_test(tc, include_and_registry);
	tcase_add_test(tc, whole_config_checks);
	tcase_add_test(tc, http_security_keys);
	tcase_add_test(tc, manual_page);
	tcase_add_test(tc, raw_sections);
	tcase_add_test(tc, error_format);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(conf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
