/*
 * check_hotspot: a synthetic 10 x 10 grid with a smooth background that
 * varies in space and with the time of day, a little noise, and a plume
 * from a source at one cell: the source's cell ranks first; with a steady
 * wind the cell downwind of it has its source upwind, towards the source;
 * with a turning wind the source's own cell holds it (local).  A clean
 * grid has no hotspot, and without wind no direction is claimed.
 */
#include "daemon/conf.h"
#include "daemon/hotspot.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ROWS 10
#define COLS 10
#define CELLS (ROWS * COLS)
#define SRC (4 * COLS + 6) /* the source's cell, row 4, column 6 */
#define H0 INT64_C(400000) /* an hour index */

/* Downwind of a wind from wd degrees: the neighbour's row and column
 * steps (north is row - 1, east is column + 1). */
static void
downwind(double wd, int *dr, int *dc)
{
	double to = wd + 180.0;

	*dr = (int)lround(-cos(to * 3.14159265358979 / 180.0));
	*dc = (int)lround(sin(to * 3.14159265358979 / 180.0));
}

static struct hotspots *
grid(void)
{
	static struct conf_cell cells[CELLS];
	struct conf g = {.rows = ROWS, .cols = COLS, .cells = cells};
	struct hotspot_conf c;
	struct hotspots *h;

	hotspots_defaults(&c);
	ck_assert_ptr_nonnull(h = hotspots_new(CELLS, &c));
	for (g.ncells = 0; g.ncells < CELLS; g.ncells++) {
		cells[g.ncells].row = (int32_t)(g.ncells / COLS);
		cells[g.ncells].col = (int32_t)(g.ncells % COLS);
	}
	for (uint32_t k = 0; k < CELLS; k++) {
		uint32_t nb[8], n = conf_cell_neighbours(&g, k, nb);

		hotspots_set_neighbours(h, k, nb, n);
	}
	return h;
}

/* Background at a cell and hour, with noise of +-3 from a hash. */
static double
background(int k, int64_t hour)
{
	unsigned x = (unsigned)(k * 2654435761u) ^ (unsigned)(hour * 40503u);
	int r = k / COLS, c = k % COLS;

	x ^= x >> 13;
	x *= 0x5bd1e995u;
	x ^= x >> 15;
	return 40 + 10 * sin(r / 3.0) + 8 * cos(c / 4.0) +
	    15 * sin(6.283185307 * (double)(hour % 24) / 24) +
	    6.0 * ((x % 1000) / 1000.0 - 0.5);
}

/* One hour of the grid: a plume of `plume` at the source and 40% of it
 * on its downwind neighbour, and the wind when wd >= 0. */
static void
hour(struct hotspots *h, int64_t hr, double plume, double wd)
{
	int dr = 0, dc = 0;

	if (wd >= 0)
		downwind(wd, &dr, &dc);
	for (int k = 0; k < CELLS; k++) {
		double v = background(k, hr);

		if (k == SRC)
			v += plume;
		if (wd >= 0 && plume > 0 && k == SRC + dr * COLS + dc)
			v += 0.4 * plume;
		hotspots_value(h, (uint32_t)k, hr, v);
		if (wd >= 0)
			hotspots_wind(h, (uint32_t)k, hr, 3.0, wd);
	}
	hotspots_update(h);
}

static const struct hotspot *
find(const struct hotspot *l, uint32_t n, uint32_t cell)
{
	for (uint32_t k = 0; k < n; k++)
		if (l[k].cell == cell)
			return &l[k];
	return NULL;
}

START_TEST(steady_wind_points_upwind)
{
	struct hotspots *h = grid();
	struct hotspot l[CELLS];
	const struct hotspot *e;
	int64_t at;
	uint32_t n;

	for (int64_t t = 0; t < 48; t++)
		hour(h, H0 + t, 80, 270); /* from the west */
	n = hotspots_list(h, l, CELLS, &at);
	ck_assert_int_eq(at, H0 + 47);
	ck_assert_uint_ge(n, 2);
	ck_assert_uint_eq(l[0].cell, SRC);
	ck_assert_int_eq(l[0].hours, 48);
	ck_assert_int_eq(l[0].since, H0);
	ck_assert(l[0].mean_excess > 60 && l[0].mean_excess < 100);
	ck_assert_double_eq_tol(l[0].wind_speed, 3.0, 1e-9);
	/* The cell east of the source: its source lies to the west. */
	ck_assert_ptr_nonnull(e = find(l, n, SRC + 1));
	ck_assert_uint_eq(e->cell, l[1].cell);
	ck_assert_int_eq(e->source, HOTSPOT_UPWIND);
	ck_assert_double_eq_tol(e->source_deg, 270, 1e-9);
	ck_assert_str_eq(hotspot_compass(e->source_deg), "W");
	hotspots_free(h);
}
END_TEST

START_TEST(turning_wind_finds_the_source_local)
{
	static const double winds[] = {0, 45, 90, 135, 180, 225, 315, 270};
	struct hotspots *h = grid();
	struct hotspot l[CELLS];
	const struct hotspot *e;
	int64_t at, t = 0;
	uint32_t n;

	for (int round = 0; round < 2; round++)
		for (size_t w = 0; w < sizeof(winds) / sizeof(winds[0]); w++)
			for (int k = 0; k < 6; k++, t++)
				hour(h, H0 + t, 80, winds[w]);
	n = hotspots_list(h, l, CELLS, &at);
	ck_assert_uint_ge(n, 2);
	ck_assert_uint_eq(l[0].cell, SRC);
	ck_assert_int_eq(l[0].source, HOTSPOT_LOCAL);
	/* The last wind came from the west: east of the source, the
	 * excess came with that wind only. */
	ck_assert_ptr_nonnull(e = find(l, n, SRC + 1));
	ck_assert_int_eq(e->source, HOTSPOT_UPWIND);
	ck_assert_str_eq(hotspot_compass(e->source_deg), "W");
	hotspots_free(h);
}
END_TEST

START_TEST(clean_grid_has_none)
{
	struct hotspots *h = grid();
	struct hotspot l[CELLS];
	int64_t at;

	for (int64_t t = 0; t < 72; t++)
		hour(h, H0 + t, 0, 90);
	ck_assert_uint_eq(hotspots_list(h, l, CELLS, &at), 0);
	ck_assert_int_eq(at, H0 + 71);
	hotspots_free(h);
}
END_TEST

START_TEST(no_wind_no_direction)
{
	struct hotspots *h = grid();
	struct hotspot l[CELLS];
	int64_t at;

	for (int64_t t = 0; t < 12; t++)
		hour(h, H0 + t, 50, -1);
	ck_assert_uint_eq(hotspots_list(h, l, CELLS, &at), 1);
	ck_assert_uint_eq(l[0].cell, SRC);
	ck_assert_int_eq(l[0].source, HOTSPOT_NO_WIND);
	ck_assert_double_eq_tol(l[0].wind_speed, 0, 1e-12);
	hotspots_free(h);
}
END_TEST

/* A burst of hours (a replay) is judged hour by hour, as live data. */
START_TEST(burst_is_judged_in_order)
{
	struct hotspots *a = grid(), *b = grid();
	struct hotspot la[CELLS], lb[CELLS];
	int64_t ata, atb;
	uint32_t na, nb;

	for (int64_t t = 0; t < 24; t++) {
		hour(a, H0 + t, 40, -1);
		for (int k = 0; k < CELLS; k++)
			hotspots_value(b, (uint32_t)k, H0 + t,
			    background(k, H0 + t) + (k == SRC ? 40 : 0));
		if (t % 3 == 2)
			hotspots_update(b);
	}
	hotspots_update(b);
	na = hotspots_list(a, la, CELLS, &ata);
	nb = hotspots_list(b, lb, CELLS, &atb);
	ck_assert_int_eq(ata, atb);
	ck_assert_uint_eq(na, nb);
	ck_assert_uint_eq(na, 1);
	ck_assert_int_eq(la[0].hours, lb[0].hours);
	ck_assert_double_eq_tol(la[0].excess_hours, lb[0].excess_hours, 1e-9);
	hotspots_free(a);
	hotspots_free(b);
}
END_TEST

static Suite *
hotspot_suite(void)
{
	Suite *s = suite_create("hotspot");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, steady_wind_points_upwind);
	tcase_add_test(tc, turning_wind_finds_the_source_local);
	tcase_add_test(tc, clean_grid_has_none);
	tcase_add_test(tc, no_wind_no_direction);
	tcase_add_test(tc, burst_is_judged_in_order);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(hotspot_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
