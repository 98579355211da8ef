/*
 * check_fault: the sensor-fault detector on 60 days of real hourly PM2.5
 * from six Beijing stations (tests/fixtures/faults), as six cells that
 * neighbour one another; cell 0 has a second sensor reading its station
 * with a little noise.  Clean, nothing is flagged; each injected fault is
 * flagged, its readings left out, and the flag clears after it; a
 * detector restored from an image mid-way flags what an uninterrupted one
 * flags.
 */
#include "daemon/fault.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIXTURE "tests/fixtures/faults/beijing-pm25-60d.csv"
#define CELLS 6
#define SENSORS (CELLS + 1) /* sensor 6: the second one of cell 0 */
#define HOURS_MAX 1440
#define T0 INT64_C(1456761600) /* 2016-03-01T00:00:00+08:00 */

enum inj { NONE, STUCK, SPIKE, OFFSET, DOUBLE };

struct fault_run {
	int sensor; /* injected at this sensor */
	enum inj inj;
	int from, to; /* hours [from, to) */
	double held;
};

static double data[HOURS_MAX][CELLS];
static int hours;
static double spike_factor = 6; /* (x + 10) k - 10 */

static void load(void);
static double value(int s, int h, struct fault_run *fr);
static struct fault *detector(void);
static struct fault *detector_with(bool sibling);
static struct fault *synthetic(int cells);
static double smallest_spike(bool sibling);
static uint32_t feed(struct fault *f, int h, struct fault_run *fr,
    uint32_t flags[SENSORS], uint32_t *left_out);
static Suite *fault_suite(void);

static void
load(void)
{
	FILE *fp = fopen(FIXTURE, "r");
	char line[256];

	ck_assert_ptr_nonnull(fp);
	hours = 0;
	while (fgets(line, sizeof(line), fp) != NULL && hours < HOURS_MAX) {
		char *p = line;

		if (line[0] == '#')
			continue;
		for (int c = 0; c < CELLS; c++) {
			char *end;
			double v = strtod(p, &end);

			data[hours][c] = end == p ? NAN : v;
			p = strchr(end, ',');
			p = p != NULL ? p + 1 : end;
		}
		hours++;
	}
	fclose(fp);
	ck_assert_int_eq(hours, HOURS_MAX);
}

/* Sensor s's value at hour h, with the run's fault; NAN when missing. */
static double
value(int s, int h, struct fault_run *fr)
{
	double x = data[h][s == CELLS ? 0 : s];

	if (isnan(x))
		return x;
	if (s == CELLS)
		x = fmax(
		    0.0, x * (1 + 0.04 * sin(h * 1.7)) + 1.5 * cos(h * 0.9));
	if (fr == NULL || fr->sensor != s || h < fr->from || h >= fr->to)
		return x;
	switch (fr->inj) {
	case STUCK:
		if (h == fr->from)
			fr->held = x;
		return fr->held;
	case SPIKE:
		return (x + 10) * spike_factor - 10;
	case OFFSET:
		return x + 80;
	case DOUBLE:
		return 2 * x + 20;
	default:
		return x;
	}
}

static struct fault *
detector(void)
{
	return detector_with(true);
}

/* The six stations; the second sensor of cell 0 placed or not. */
static struct fault *
detector_with(bool sibling)
{
	struct fault_conf fc;
	struct fault *f;

	fault_defaults(&fc);
	ck_assert_ptr_nonnull(f = fault_new(CELLS, SENSORS, &fc));
	for (uint32_t c = 0; c < CELLS; c++) {
		uint32_t nb[CELLS], n = 0;

		for (uint32_t o = 0; o < CELLS; o++)
			if (o != c)
				nb[n++] = o;
		fault_set_neighbours(f, c, nb, n);
		fault_add_sensor(f, c, c);
	}
	if (sibling)
		fault_add_sensor(f, CELLS, 0);
	return f;
}

/* Feeds hour h; returns the union of the flags raised, flags[] the flags
 * after, and adds the sensors whose reading was left out to *left_out. */
static uint32_t
feed(struct fault *f, int h, struct fault_run *fr, uint32_t flags[SENSORS],
    uint32_t *left_out)
{
	uint32_t any = 0;

	for (int s = 0; s < SENSORS; s++) {
		struct reading r = {.ts = T0 + (int64_t)h * 3600,
		    .period = 3600,
		    .has = 1u << POL_PM25};

		r.v[POL_PM25] = value(s, h, fr);
		if (isnan(r.v[POL_PM25]))
			continue;
		if (fault_observe(f, (uint32_t)s, &r) != 0 && left_out != NULL)
			*left_out |= 1u << s;
		flags[s] = fault_flags(f, (uint32_t)s);
		any |= flags[s];
	}
	return any;
}

/* The flags of every sensor at every hour of the clean data. */
static uint32_t clean[HOURS_MAX][SENSORS];

static void
run_clean(void)
{
	struct fault *f = detector();
	uint32_t flags[SENSORS] = {0};

	for (int h = 0; h < hours; h++) {
		feed(f, h, NULL, flags, NULL);
		memcpy(clean[h], flags, sizeof(flags));
	}
	fault_free(f);
}

/*
 * The raw data has faults of its own: a stuck hour or two at low levels
 * and a few upward spikes (78 and 270 ug/m3 among neighbours at 10-20 at
 * Aotizhongxin on 9 March 2016).  No bias or disagreement is raised on
 * it, and under 1% of the readings are left out.
 */
START_TEST(clean_data)
{
	struct fault *f;
	uint32_t flags[SENSORS] = {0}, any = 0;
	long left = 0, n = 0;

	load();
	f = detector();
	for (int h = 0; h < hours; h++)
		for (int s = 0; s < SENSORS; s++) {
			struct reading r = {.ts = T0 + (int64_t)h * 3600,
			    .period = 3600,
			    .has = 1u << POL_PM25};

			if (isnan(r.v[POL_PM25] = value(s, h, NULL)))
				continue;
			n++;
			left += fault_observe(f, (uint32_t)s, &r) != 0;
			flags[s] = fault_flags(f, (uint32_t)s);
			any |= flags[s];
		}
	ck_assert_uint_eq(
	    any & (FAULT_BIT(FAULT_BIAS) | FAULT_BIT(FAULT_DISAGREE)), 0);
	ck_assert_uint_eq(fault_detections(f, FAULT_BIAS), 0);
	ck_assert_uint_eq(fault_detections(f, FAULT_DISAGREE), 0);
	ck_assert_int_lt(left * 100, n);
	ck_assert_int_gt(n, 9000);
	fault_free(f);
}
END_TEST

/* Each fault: where, when, the kinds that name it, the hours it may take
 * to be flagged and to clear. */
static const struct {
	struct fault_run run;
	uint32_t kinds;
	int within, clear;
} cases[] = {
    {{2, STUCK, 700, 712, 0}, FAULT_BIT(FAULT_STUCK), 12, 24},
    {{4, SPIKE, 900, 901, 0}, FAULT_BIT(FAULT_SPIKE), 2, 24},
    {{5, OFFSET, 1000, 1120, 0}, FAULT_BIT(FAULT_BIAS), 72, 96},
    {{CELLS, DOUBLE, 1200, 1248, 0},
	FAULT_BIT(FAULT_DISAGREE) | FAULT_BIT(FAULT_BIAS), 24, 48},
};

START_TEST(injected_fault_is_flagged)
{
	struct fault_run fr = cases[_i].run;
	struct fault *f;
	uint32_t flags[SENSORS] = {0}, left = 0;
	int raised = -1, cleared = -1;

	load();
	run_clean();
	f = detector();
	for (int h = 0; h < hours; h++) {
		uint32_t before = flags[fr.sensor];

		feed(
		    f, h, &fr, flags, h >= fr.from && h < fr.to ? &left : NULL);
		/* The other sensors are flagged as on the clean data. */
		for (int s = 0; s < SENSORS; s++)
			if (s != fr.sensor)
				ck_assert_msg((flags[s] & ~clean[h][s]) == 0,
				    "sensor %d flagged %#x at hour %d", s,
				    flags[s], h);
		if (raised < 0 && (flags[fr.sensor] & cases[_i].kinds) &&
		    h >= fr.from)
			raised = h;
		if (raised >= 0 && cleared < 0 && before != 0 &&
		    flags[fr.sensor] == 0)
			cleared = h;
	}
	ck_assert_msg(raised >= 0 && raised < fr.from + cases[_i].within,
	    "raised at %d", raised);
	ck_assert_msg(cleared >= fr.to && cleared < fr.to + cases[_i].clear,
	    "cleared at %d", cleared);
	/* Stuck, spike and disagreement keep the readings out. */
	if (!(cases[_i].kinds & FAULT_BIT(FAULT_BIAS)))
		ck_assert_uint_eq(left, 1u << fr.sensor);
	fault_free(f);
}
END_TEST

START_TEST(image_resumes_the_same)
{
	struct fault_run fa = cases[0].run, fb = cases[0].run;
	struct fault *a, *b;
	uint32_t fla[SENSORS] = {0}, flb[SENSORS] = {0};
	void *buf;
	size_t n;

	load();
	a = detector();
	b = detector();
	fa.to = fb.to = 760; /* still stuck at the image */
	for (int h = 0; h < 720; h++)
		feed(a, h, &fa, fla, NULL);
	ck_assert_uint_ne(fla[2], 0);
	ck_assert_ptr_nonnull(buf = malloc(fault_image_size(a, SENSORS)));
	n = fault_image_save(a, SENSORS, buf);
	ck_assert_uint_eq(n, fault_image_size(a, SENSORS));
	ck_assert_int_eq(fault_image_load(b, buf, n - 1), AQ_ERR_INVAL);
	ck_assert_int_eq(fault_image_load(b, buf, n), AQ_OK);
	fb.held = fa.held;
	for (int h = 720; h < hours; h++) {
		feed(a, h, &fa, fla, NULL);
		feed(b, h, &fb, flb, NULL);
		ck_assert_mem_eq(fla, flb, sizeof(fla));
	}
	for (int k = 0; k < FAULT_KIND_COUNT; k++)
		ck_assert_uint_eq(fault_detections(a, (enum fault_kind)k),
		    fault_detections(b, (enum fault_kind)k));
	free(buf);
	fault_free(a);
	fault_free(b);
}
END_TEST

/* A haze that reaches every cell within the hour and stays: no reading
 * of it is left out, not even of the first cells to report it, and no
 * spike is raised. */
START_TEST(haze_onset_is_not_held)
{
	struct fault *f;
	uint32_t flags[SENSORS] = {0};

	load();
	f = detector();
	for (int h = 0; h < hours; h++) {
		uint32_t left = 0;

		if (h >= 1000)
			for (int c = 0; c < CELLS; c++)
				data[h][c] = (data[h][c] + 10) * 6 - 10;
		feed(f, h, NULL, flags, &left);
		if (h >= 1000 && h < 1006) {
			ck_assert_msg(
			    left == 0, "hour %d: %#x left out", h, left);
			for (int s = 0; s < SENSORS; s++)
				ck_assert(!(flags[s] & FAULT_BIT(FAULT_SPIKE)));
		}
	}
	fault_free(f);
}
END_TEST

/* A one-hour jump of cell 0's air, read by both of its sensors and by no
 * neighbour: what raises a spike on sensor 0 alone (checked first) is no
 * spike when its sibling rose with it, and the sibling's reading, which
 * comes when the first one's is known, is not left out. */
START_TEST(jump_seen_by_both_sensors_is_no_spike)
{
	struct fault_run fr = {0, SPIKE, 900, 901, 0};
	struct fault *f;
	uint32_t flags[SENSORS] = {0}, spiked = 0;

	load();
	f = detector();
	for (int h = 0; h < 930; h++) {
		uint32_t left = 0;

		feed(f, h, &fr, flags, &left);
		if (h >= 900)
			spiked |= flags[0] & FAULT_BIT(FAULT_SPIKE);
	}
	fault_free(f);
	ck_assert_uint_ne(spiked, 0); /* sensor 0 alone: a spike */

	f = detector();
	memset(flags, 0, sizeof(flags));
	spiked = 0;
	data[900][0] = (data[900][0] + 10) * 6 - 10;
	for (int h = 0; h < 930; h++) {
		uint32_t left = 0;

		feed(f, h, NULL, flags, &left);
		if (h == 900)
			ck_assert_msg(!(left & (1u << CELLS)),
			    "the second sensor's reading was left out");
		if (h >= 900)
			spiked |=
			    (flags[0] | flags[CELLS]) & FAULT_BIT(FAULT_SPIKE);
	}
	ck_assert_uint_eq(spiked, 0);
	fault_free(f);
}
END_TEST

/* A sensor that never varied (a test rig, a constant source) and has no
 * neighbours is never called stuck; a late reading teaches nothing. */
START_TEST(constant_alone_is_not_stuck)
{
	struct fault_conf fc;
	struct fault *f;
	struct reading r = {.period = 60, .has = 1u << POL_PM25};

	fault_defaults(&fc);
	ck_assert_ptr_nonnull(f = fault_new(1, 1, &fc));
	fault_add_sensor(f, 0, 0);
	for (int k = 0; k < 3 * 1440; k++) {
		r.ts = T0 + 60 * k;
		r.v[POL_PM25] = 35;
		ck_assert_uint_eq(fault_observe(f, 0, &r), 0);
	}
	ck_assert_uint_eq(fault_flags(f, 0), 0);
	fault_free(f);
}
END_TEST

/* Six cells of synthetic air, neighbours of one another, one sensor each
 * (cell c's sensor is c). */
static struct fault *
synthetic(int cells)
{
	struct fault_conf fc;
	struct fault *f;

	fault_defaults(&fc);
	ck_assert_ptr_nonnull(
	    f = fault_new((uint32_t)cells, (uint32_t)cells, &fc));
	for (uint32_t c = 0; c < (uint32_t)cells; c++) {
		uint32_t nb[CELLS], n = 0;

		for (uint32_t o = 0; o < (uint32_t)cells; o++)
			if (o != c)
				nb[n++] = o;
		fault_set_neighbours(f, c, nb, n);
		fault_add_sensor(f, c, c);
	}
	return f;
}

/* A sensor that never repeats a value (float readings) stuck while the
 * air is still (its neighbours within 10%): the neighbours cannot tell,
 * but four equal readings of such a sensor are no chance; it is flagged
 * once the run is unlikely enough (its repeat probability is learned, so
 * a few hours after it lasts stuck = 3 h), and nothing else is. */
START_TEST(stuck_in_still_air)
{
	struct fault *f = synthetic(CELLS);
	int raised = -1;

	for (int h = 0; h < 700; h++)
		for (int c = 0; c < CELLS; c++) {
			struct reading r = {.ts = T0 + (int64_t)h * 3600,
			    .period = 3600,
			    .has = 1u << POL_PM25};
			/* Moving air, then still from hour 500. */
			double x = h < 500 || h >= 530
			    ? 60 + 40 * sin(h * 0.21 + c) + 7 * sin(h * 1.3 * c)
			    : 60 + 2 * sin(h * 1.7 + c);

			if (c == 0 && h >= 510 && h < 520)
				x = 60 + 2 * sin(510 * 1.7);
			r.v[POL_PM25] = x;
			(void)fault_observe(f, (uint32_t)c, &r);
			if (c != 0)
				ck_assert_uint_eq(
				    fault_flags(f, (uint32_t)c), 0);
			else if (raised < 0 &&
			    (fault_flags(f, 0) & FAULT_BIT(FAULT_STUCK)))
				raised = h;
		}
	/* Not before the run lasts 3 h, and within it. */
	ck_assert_int_ge(raised, 513);
	ck_assert_int_lt(raised, 520);
	ck_assert_uint_eq(fault_flags(f, 0), 0); /* cleared after */
	fault_free(f);
}
END_TEST

/*
 * A sensor of whole ug/m3 that repeats its clean-air values often (3 or 4
 * for hours) but never a value of a haze: stuck in a haze while the
 * neighbours move, it is flagged after 3 h, as a sensor that never
 * repeats would be; its repeats at the floor do not excuse a run at
 * 150.  (With one repeat probability for all levels they would.)
 */
START_TEST(floor_repeats_do_not_excuse_a_haze_run)
{
	struct fault *f = synthetic(CELLS);
	int raised = -1;

	for (int h = 0; h < 1200; h++)
		for (int c = 0; c < CELLS; c++) {
			struct reading r = {.ts = T0 + (int64_t)h * 3600,
			    .period = 3600,
			    .has = 1u << POL_PM25};
			bool calm = (h / 24) % 2 == 0;
			double x = calm ? 3 + ((h + c) / 5) % 2
					: 150 + 60 * sin(h * 0.37 + 0.1 * c);

			if (c == 0 && h >= 1177 && h < 1184)
				x = 150 + 60 * sin(1177 * 0.37);
			/* Whole ug/m3 at sensor 0 only. */
			r.v[POL_PM25] = c == 0 ? round(x) : x;
			(void)fault_observe(f, (uint32_t)c, &r);
			if (c == 0 && h < 1177)
				ck_assert_uint_eq(fault_flags(f, 0), 0);
			if (c == 0 && raised < 0 &&
			    (fault_flags(f, 0) & FAULT_BIT(FAULT_STUCK)))
				raised = h;
		}
	ck_assert_int_ge(raised, 1180);
	ck_assert_int_lt(raised, 1184);
	fault_free(f);
}
END_TEST

/* The smallest spike factor (x + 10) k - 10, k in steps of 0.25, that
 * flags sensor 0 at hour 900 of the fixture, with or without its second
 * sensor in the cell. */
static double
smallest_spike(bool sibling)
{
	struct fault_run fr = {0, SPIKE, 900, 901, 0};
	double k;

	for (spike_factor = 1.5; spike_factor < 12; spike_factor += 0.25) {
		struct fault *f = detector_with(sibling);
		uint32_t flags[SENSORS] = {0}, spiked = 0;

		for (int h = 0; h < 910; h++) {
			feed(f, h, &fr, flags, NULL);
			if (h >= 900)
				spiked |= flags[0] & FAULT_BIT(FAULT_SPIKE);
		}
		fault_free(f);
		if (spiked)
			break;
	}
	/* Cleared for the other tests. */
	k = spike_factor;
	spike_factor = 6;
	return k;
}

/* A sensor alone in its cell is held to 4/3 of spike_z: no sibling can
 * second a jump of its air, and a station's own one-hour jumps would be
 * taken for spikes.  The same sensor, the same reading: with its sibling
 * a smaller step is a spike than without it. */
START_TEST(alone_a_spike_needs_a_larger_step)
{
	double paired, alone;

	load();
	paired = smallest_spike(true);
	alone = smallest_spike(false);
	ck_assert_double_lt(paired, 12);
	ck_assert_double_lt(alone, 12);
	ck_assert_double_gt(alone, paired);
}
END_TEST

START_TEST(kind_names)
{
	for (int k = 0; k < FAULT_KIND_COUNT; k++)
		ck_assert_int_eq(
		    fault_kind_from_name(fault_kind_name((enum fault_kind)k)),
		    k);
	ck_assert_int_eq(fault_kind_from_name("broken"), -1);
}
END_TEST

static Suite *
fault_suite(void)
{
	Suite *s = suite_create("fault");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, clean_data);
	tcase_add_loop_test(tc, injected_fault_is_flagged, 0,
	    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, image_resumes_the_same);
	tcase_add_test(tc, haze_onset_is_not_held);
	tcase_add_test(tc, jump_seen_by_both_sensors_is_no_spike);
	tcase_add_test(tc, constant_alone_is_not_stuck);
	tcase_add_test(tc, stuck_in_still_air);
	tcase_add_test(tc, floor_repeats_do_not_excuse_a_haze_run);
	tcase_add_test(tc, alone_a_spike_needs_a_larger_step);
	tcase_add_test(tc, kind_names);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(fault_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
