/*
 * aqgrid-faulteval: scores the sensor-fault detector (daemon/fault.h) on
 * the Beijing multi-site data.  The 12 stations are 12 cells, each the
 * others' neighbours, with two sensors each: the station's PM2.5 as
 * published, and a second sensor that reads it with realistic noise
 * (x * (1 + N(0, 0.05)) + N(0, 2), never below 0).  Faults are injected at
 * known sensors and hours (seeded, so every run gives the same table):
 *   stuck   the value at the onset, held 6-24 hours;
 *   spike   one reading of (x + 10) * U(4, 10) - 10;
 *   offset  x + U(20, 40) ug/m3 for 5 days;
 *   drift   x + a ramp from 0 to U(40, 80) ug/m3 over 10 days.
 * A flag raised on a sensor during an episode (or within a grace after
 * it) of a matching kind is a true detection: stuck for stuck, spike for
 * spike, bias or disagree for offset and drift; any other raise is a
 * false one.  Prints precision, recall and the median delay per fault,
 * then the false raises per sensor-year on the same data left clean.
 *
 * Usage: aqgrid-faulteval DIR [seed]
 * For tuning, FE_SPIKE_Z, FE_BIAS_H, FE_DIS and FE_STUCK override the
 * detector's settings; FE_DEBUG=KIND prints the raises of that kind on the
 * clean data, FE_MISSED=TYPE the faults of that type never flagged.
 * FE_HALF=1 (or 2) scores only the faults and raises of the first two
 * years (or the last two): tune on one, check on the other.  FE_SOLO=1
 * leaves the second sensors out: one sensor a cell.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "daemon/fault.h"

#define STATIONS 12
#define SENSORS (2 * STATIONS)
#define HOURS 35064 /* 2013-03-01 00:00 ... 2017-02-28 23:00 */
#define WARMUP_H (30 * 24)
#define GRACE_H 24
#define EPISODES_MAX 20000

enum inj { INJ_STUCK, INJ_SPIKE, INJ_OFFSET, INJ_DRIFT, INJ_COUNT };
static const char *const inj_names[INJ_COUNT] = {
    "stuck", "spike", "offset", "drift"};

struct episode {
	int sensor;
	enum inj type;
	int start, end; /* hours, [start, end) */
	double a;       /* value held, factor, offset or ramp height */
	int detected;   /* hour of the first matching raise, or -1 */
	int fed;        /* faulty readings fed (missing hours feed none) */
	double lo, hi;  /* the clean values it replaced: range */
};

static double data[STATIONS][HOURS]; /* NAN when missing */
static struct episode eps[EPISODES_MAX];
static int neps;
static uint64_t rng = 88172645463325252ULL;
static int score_from, score_to = HOURS; /* hours scored */

static double
urand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / 9007199254740992.0;
}

static double
nrand(void)
{
	double u = urand(), v = urand();

	return sqrt(-2 * log(u + 1e-300)) * cos(6.283185307179586 * v);
}

static int64_t
days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

static int
load(const char *dir)
{
	static const char *const names[STATIONS] = {"Aotizhongxin", "Changping",
	    "Dingling", "Dongsi", "Guanyuan", "Gucheng", "Huairou",
	    "Nongzhanguan", "Shunyi", "Tiantan", "Wanliu", "Wanshouxigong"};
	int64_t t0 = days_from_civil(2013, 3, 1);

	for (int s = 0; s < STATIONS; s++) {
		char path[1024], line[512];
		gzFile z;

		for (int h = 0; h < HOURS; h++)
			data[s][h] = NAN;
		snprintf(path, sizeof(path),
		    "%s/PRSA_Data_%s_20130301-20170228.csv.gz", dir, names[s]);
		if ((z = gzopen(path, "rb")) == NULL) {
			fprintf(stderr, "faulteval: %s: cannot open\n", path);
			return -1;
		}
		gzgets(z, line, sizeof(line));
		while (gzgets(z, line, sizeof(line)) != NULL) {
			int no, y, mo, d, hr;
			char pm[32];
			int64_t h;

			if (sscanf(line, "%d,%d,%d,%d,%d,%31[^,]", &no, &y, &mo,
				&d, &hr, pm) != 6)
				continue;
			h = (days_from_civil(y, mo, d) - t0) * 24 + hr;
			if (h >= 0 && h < HOURS && strcmp(pm, "NA") != 0)
				data[s][h] = atof(pm);
		}
		gzclose(z);
	}
	return 0;
}

/* Episodes at random sensors and times, apart from one another. */
static void
schedule(void)
{
	neps = 0;
	for (int s = 0; s < SENSORS; s++) {
		int h = WARMUP_H + (int)(urand() * 7 * 24);

		while (neps < EPISODES_MAX) {
			struct episode *e = &eps[neps];
			double u = urand();

			e->sensor = s;
			e->type = u < 0.4 ? INJ_SPIKE
			    : u < 0.7     ? INJ_STUCK
			    : u < 0.85    ? INJ_OFFSET
					  : INJ_DRIFT;
			e->start = h;
			switch (e->type) {
			case INJ_STUCK:
				e->end = h + 6 + (int)(urand() * 19);
				e->a = -1;
				break;
			case INJ_SPIKE:
				e->end = h + 1;
				e->a = 4 + 6 * urand();
				break;
			case INJ_OFFSET:
				e->end = h + 5 * 24;
				e->a = 20 + 20 * urand();
				break;
			case INJ_DRIFT:
				e->end = h + 10 * 24;
				e->a = 40 + 40 * urand();
				break;
			default:
				break;
			}
			/* A stuck sensor holds the value of its onset. */
			if (e->end + GRACE_H + 24 >= HOURS)
				break;
			e->detected = -1;
			e->fed = 0;
			neps++;
			/* Clean time after an episode: the detector's own
			 * baseline recovers, as after a repair. */
			h = e->end + 4 * 24 + (int)(urand() * 10 * 24);
		}
	}
}

/* The episode of sensor s at hour h, or NULL. */
static struct episode *
episode_at(int s, int h, int grace)
{
	for (int k = 0; k < neps; k++)
		if (eps[k].sensor == s && h >= eps[k].start &&
		    h < eps[k].end + grace)
			return &eps[k];
	return NULL;
}

static bool
matches(enum inj t, int kind)
{
	switch (t) {
	case INJ_STUCK:
		return kind == FAULT_STUCK;
	case INJ_SPIKE:
		return kind == FAULT_SPIKE;
	default:
		return kind == FAULT_BIAS || kind == FAULT_DISAGREE;
	}
}

static int
cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

struct tally {
	long raised[FAULT_KIND_COUNT]; /* all raises */
	long good[INJ_COUNT];          /* raises matching an episode */
	long bad[INJ_COUNT];           /* raises of the class, not matching */
	long cross[FAULT_KIND_COUNT];  /* raised during another fault */
	long readings;
	long excluded_clean; /* clean readings left out */
	long clean;
};

/* Replays the data through a detector, with faults when inject. */
static int
run(bool inject, struct tally *t)
{
	struct fault_conf fc;
	struct fault *f;
	uint64_t nrng = 0x9e3779b97f4a7c15ULL;
	uint32_t prev[SENSORS] = {0};
	int64_t t0 = days_from_civil(2013, 3, 1) * 86400;

	memset(t, 0, sizeof(*t));
	fault_defaults(&fc);
	if (getenv("FE_SPIKE_Z"))
		fc.spike_z = atof(getenv("FE_SPIKE_Z"));
	if (getenv("FE_BIAS_H"))
		fc.bias_h = atof(getenv("FE_BIAS_H"));
	if (getenv("FE_DIS"))
		fc.disagree = atof(getenv("FE_DIS"));
	if (getenv("FE_STUCK"))
		fc.stuck_secs = atoi(getenv("FE_STUCK"));
	if ((f = fault_new(STATIONS, SENSORS, &fc)) == NULL)
		return -1;
	for (uint32_t c = 0; c < STATIONS; c++) {
		uint32_t nb[STATIONS - 1], n = 0;

		for (uint32_t o = 0; o < STATIONS; o++)
			if (o != c)
				nb[n++] = o;
		fault_set_neighbours(f, c, nb, n);
		fault_add_sensor(f, 2 * c, c);
		if (!getenv("FE_SOLO"))
			fault_add_sensor(f, 2 * c + 1, c);
	}
	for (int h = 0; h < HOURS; h++) {
		for (int s = 0; s < SENSORS; s++) {
			double x = data[s / 2][h];
			struct reading r = {.ts = t0 + (int64_t)h * 3600,
			    .period = 3600,
			    .has = 1u << POL_PM25};
			struct episode *e = NULL;
			uint32_t now, out;

			if (isnan(x) || (s % 2 && getenv("FE_SOLO")))
				continue;
			/* The same noise with or without faults. */
			if (s % 2) {
				uint64_t save = rng;

				rng = nrng;
				x = fmax(0.0,
				    x * (1 + 0.05 * nrand()) + 2 * nrand());
				nrng = rng;
				rng = save;
			}
			if (inject && (e = episode_at(s, h, 0)) != NULL) {
				if (e->fed++ == 0 || x < e->lo)
					e->lo = x;
				if (e->fed == 1 || x > e->hi)
					e->hi = x;
				switch (e->type) {
				case INJ_STUCK:
					if (e->a < 0)
						e->a = x;
					x = e->a;
					break;
				case INJ_SPIKE:
					x = (x + 10) * e->a - 10;
					break;
				case INJ_OFFSET:
					x += e->a;
					break;
				case INJ_DRIFT:
					x += e->a * (h - e->start) /
					    (double)(e->end - e->start);
					break;
				default:
					break;
				}
			}
			r.v[POL_PM25] = x;
			out = fault_observe(f, (uint32_t)s, &r);
			t->readings++;
			if (e == NULL) {
				t->clean++;
				if (out)
					t->excluded_clean++;
			}
			now = fault_flags(f, (uint32_t)s);
			for (int k = 0; k < FAULT_KIND_COUNT; k++) {
				struct episode *m;

				if (!(now & ~prev[s] & FAULT_BIT(k)))
					continue;
				t->raised[k]++;
				if (!inject && getenv("FE_DEBUG") &&
				    k == atoi(getenv("FE_DEBUG")) && h > 1 &&
				    h + 1 < HOURS)
					printf(
					    "false %d s%d h%d: %.0f %.0f %.0f "
					    "| %.0f %.0f\n",
					    k, s, h, data[s / 2][h - 1], x,
					    data[s / 2][h + 1],
					    data[(s / 2 + 1) % STATIONS][h],
					    data[(s / 2 + 5) % STATIONS][h]);
				if (!inject || h < score_from || h >= score_to)
					continue;
				m = episode_at(s, h, GRACE_H);
				if (m != NULL && matches(m->type, k)) {
					t->good[m->type]++;
					if (m->detected < 0)
						m->detected = h;
					continue;
				}
				if (m != NULL) {
					/* A true fault, flagged as
					 * another kind. */
					t->cross[k]++;
					continue;
				}
				/* Offset and drift share a class. */
				t->bad[k == FAULT_STUCK    ? INJ_STUCK
					: k == FAULT_SPIKE ? INJ_SPIKE
							   : INJ_OFFSET]++;
			}
			prev[s] = now;
		}
	}
	fault_free(f);
	return 0;
}

/*
 * Stuck faults that a detector could see at all: at least four readings
 * fed (a run of stuck = 3 h), and the clean values they replaced not all
 * within the data's resolution (1 ug/m3) of the value held.  The others
 * changed nothing a reader of the sensor could tell (a station already
 * flat at its floor) or were too short to be a run.  Printed beside the
 * table, which counts every fault fed.
 */
static void
stuck_seen(void)
{
	int n = 0, hit = 0, flat = 0, brief = 0;

	for (int k = 0; k < neps; k++) {
		const struct episode *e = &eps[k];

		if (e->type != INJ_STUCK || e->fed == 0 ||
		    e->start < score_from || e->start >= score_to)
			continue;
		if (e->fed < 4) {
			brief++;
			continue;
		}
		if (fabs(e->lo - e->a) <= 1 && fabs(e->hi - e->a) <= 1) {
			flat++;
			continue;
		}
		n++;
		hit += e->detected >= 0;
	}
	printf("\nStuck faults that could be seen: %d (left aside: %d of under "
	       "4 readings, %d on values already within 1 ug/m3 of the one "
	       "held); detected %d, recall %.3f\n",
	    n, brief, flat, hit, n ? (double)hit / n : 0);
}

int
main(int argc, char **argv)
{
	struct tally ti, tc;
	double years;

	if (argc < 2) {
		fprintf(stderr, "usage: aqgrid-faulteval DIR [seed]\n");
		return 2;
	}
	if (argc > 2)
		rng = strtoull(argv[2], NULL, 0) | 1;
	if (getenv("FE_HALF") && atoi(getenv("FE_HALF")) == 1)
		score_to = HOURS / 2;
	else if (getenv("FE_HALF") && atoi(getenv("FE_HALF")) == 2)
		score_from = HOURS / 2;
	if (load(argv[1]) != 0)
		return 1;
	schedule();
	if (run(true, &ti) != 0 || run(false, &tc) != 0)
		return 1;
	printf("| fault | injected | detected | recall | precision | "
	       "median delay (h) |\n");
	printf("|---|---:|---:|---:|---:|---:|\n");
	for (int i = 0; i < INJ_COUNT; i++) {
		int n = 0, hit = 0, delays[EPISODES_MAX], nd = 0;
		long good = 0, bad = 0;

		for (int k = 0; k < neps; k++) {
			/* A fault in a gap of the data is no fault seen. */
			if (eps[k].type != (enum inj)i || eps[k].fed == 0 ||
			    eps[k].start < score_from ||
			    eps[k].start >= score_to)
				continue;
			n++;
			if (eps[k].detected >= 0) {
				hit++;
				delays[nd++] = eps[k].detected - eps[k].start;
			}
		}
		good = ti.good[i];
		/* Offset and drift share the bias and disagree flags: their
		 * false raises are counted once, under offset. */
		bad = ti.bad[i == INJ_DRIFT ? INJ_OFFSET : i];
		if (i == INJ_OFFSET || i == INJ_DRIFT)
			good = ti.good[INJ_OFFSET] + ti.good[INJ_DRIFT];
		if (getenv("FE_MISSED"))
			for (int k = 0; k < neps; k++)
				if (eps[k].type == (enum inj)i &&
				    eps[k].detected < 0 &&
				    atoi(getenv("FE_MISSED")) == i)
					printf(
					    "missed %s s%d h%d len %d fed %d "
					    "a=%.2f x=%.0f prev=%.0f "
					    "next=%.0f window %.0f-%.0f\n",
					    inj_names[i], eps[k].sensor,
					    eps[k].start,
					    eps[k].end - eps[k].start,
					    eps[k].fed, eps[k].a,
					    data[eps[k].sensor / 2]
						[eps[k].start],
					    data[eps[k].sensor / 2]
						[eps[k].start - 1],
					    data[eps[k].sensor / 2]
						[eps[k].start + 1],
					    eps[k].lo, eps[k].hi);
		qsort(delays, (size_t)nd, sizeof(int), cmp_int);
		printf("| %s | %d | %d | %.3f | %.3f | %d |\n", inj_names[i], n,
		    hit, n ? (double)hit / n : 0,
		    good + bad ? (double)good / (double)(good + bad) : 0,
		    nd ? delays[nd / 2] : -1);
	}
	stuck_seen();
	printf("\nRaised during a fault of another kind (not counted above):");
	for (int k = 0; k < FAULT_KIND_COUNT; k++)
		printf(" %s %ld", fault_kind_name((enum fault_kind)k),
		    ti.cross[k]);
	printf("\n");
	years = (double)tc.readings / (365.25 * 24);
	printf("\nClean data (%ld sensor-hours, %.1f sensor-years): raises per "
	       "sensor-year:",
	    tc.readings, years);
	for (int k = 0; k < FAULT_KIND_COUNT; k++)
		printf(" %s %.2f", fault_kind_name((enum fault_kind)k),
		    (double)tc.raised[k] / years);
	printf("; readings excluded %.4f%%\n",
	    100.0 * (double)tc.excluded_clean / (double)tc.clean);
	return 0;
}
