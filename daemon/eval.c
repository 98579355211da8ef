/*
 * aqgrid-eval: scores the forecast model (forecast.h) on the Beijing
 * multi-site data, 12 stations as 12 cells, hourly, with no look-ahead:
 * each station's model is fed hour by hour from the first row; from the
 * scoring start on, after each hour it forecasts the next FC_H hours, and
 * the forecasts are compared with the values that come later.  Baselines:
 * persistence (the value at the forecast origin) and the hour-of-day
 * median of the data before the scoring start.  Pairs whose origin or
 * target value is missing are skipped for every method alike.
 *
 * usage: aqgrid-eval [-bdnw] [-s YYYY-MM-DD] [-e YYYY-MM-DD] DIR
 *   -b  no barometer: leave out the PRES column (micro-stations that report
 *       temperature, humidity and wind only)
 *   -d  the daemon's path: the weather as sensors report it (relative
 *       humidity from TEMP and DEWP to 0.1 %, as aqgrid-sim's replay sends
 *       it), through the engine's cell-hour weather (wx.h: its rounding,
 *       the dew point back from the humidity)
 *   -w  ignore the weather columns (a daemon whose sensors report none)
 *   -n  no neighbours: do not give each station the others' hourly mean
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "daemon/aqi.h"
#include "daemon/forecast.h"
#include "daemon/wx.h"

#define ROWS_MAX 40000
#define STATIONS_MAX 16
#define NH 7

struct station {
	char name[64];
	int n;
	int64_t hour[ROWS_MAX];
	int hod[ROWS_MAX];
	struct fc_obs obs[ROWS_MAX];
};

struct acc {
	double model, pers, clim;
	double cover;
	long n;
};

static const int eval_h[NH] = {1, 3, 6, 12, 24, 48, 72};

static int64_t days_from_civil(int, int, int);
static double field_num(const char *);
static double wind_dir(const char *);
static int load(const char *, struct station *);
static int cmp_double(const void *, const void *);
static double median(double *, int);
static int parse_day(const char *, int64_t *);
static void daemon_weather(struct fc_obs *);

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t
days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static double
field_num(const char *s)
{
	char *end;
	double v;

	if (strncmp(s, "NA", 2) == 0)
		return NAN;
	v = strtod(s, &end);
	return end == s ? NAN : v;
}

/* Degrees the wind blows from for a 16-point compass name, or NaN. */
static double
wind_dir(const char *s)
{
	static const char *pts[16] = {"N", "NNE", "NE", "ENE", "E", "ESE", "SE",
	    "SSE", "S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW"};
	char b[8];
	size_t n = 0;

	if (*s == '"')
		s++;
	while (n < sizeof(b) - 1 && s[n] != '"' && s[n] != ',' && s[n])
		b[n] = s[n], n++;
	b[n] = '\0';
	for (int i = 0; i < 16; i++)
		if (strcmp(b, pts[i]) == 0)
			return 22.5 * i;
	return NAN;
}

static int
load(const char *path, struct station *st)
{
	gzFile f;
	char line[512];
	int rc = -1;

	if ((f = gzopen(path, "rb")) == NULL)
		return -1;
	st->n = 0;
	if (gzgets(f, line, sizeof(line)) == NULL)
		goto out;
	while (gzgets(f, line, sizeof(line)) != NULL && st->n < ROWS_MAX) {
		const char *fld[18];
		int nf = 0;
		char *p = line;
		struct fc_obs *o = &st->obs[st->n];

		fld[nf++] = p;
		while (*p && nf < 18)
			if (*p++ == ',')
				fld[nf++] = p;
		if (nf < 18)
			continue;
		st->hour[st->n] =
		    days_from_civil(atoi(fld[1]), atoi(fld[2]), atoi(fld[3])) *
			24 +
		    atoi(fld[4]);
		st->hod[st->n] = atoi(fld[4]);
		fc_obs_clear(o);
		o->v[FC_PM25] = field_num(fld[5]);
		o->v[FC_O3] = field_num(fld[10]);
		o->temp = field_num(fld[11]);
		o->pres = field_num(fld[12]);
		o->dewp = field_num(fld[13]);
		o->rain = field_num(fld[14]);
		o->wdir = wind_dir(fld[15]);
		o->wspd = field_num(fld[16]);
		if (st->n == 0) {
			const char *q = fld[17];
			size_t k = 0;
			if (*q == '"')
				q++;
			while (k < sizeof(st->name) - 1 && q[k] &&
			    q[k] != '"' && q[k] != '\r' && q[k] != '\n')
				st->name[k] = q[k], k++;
			st->name[k] = '\0';
		}
		st->n++;
	}
	rc = st->n > 0 ? 0 : -1;
out:
	gzclose(f);
	return rc;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
median(double *v, int n)
{
	if (n == 0)
		return NAN;
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int
parse_day(const char *s, int64_t *hour)
{
	int y, m, d;

	if (sscanf(s, "%d-%d-%d", &y, &m, &d) != 3)
		return -1;
	*hour = days_from_civil(y, m, d) * 24;
	return 0;
}

/*
 * The row's weather as the daemon's model gets it: one reading of the hour
 * (period 3600) with what a sensor sends -- TEMP, the relative humidity
 * from TEMP and DEWP to 0.1 %, PRES, RAIN, WSPM and wd -- through the
 * engine's cell-hour weather and wx_fc_obs(), as fcgrid feeds the model.
 */
static void
daemon_weather(struct fc_obs *o)
{
	double v[WX_COUNT];
	uint32_t has = 0;
	struct wx_acc a;
	struct wx_packed pk;
	struct wx_hour w;

	v[WX_TEMP] = o->temp;
	v[WX_RH] = round(wx_rh(o->temp, o->dewp) * 10) / 10;
	v[WX_PRES] = o->pres;
	v[WX_RAIN] = o->rain;
	v[WX_WS] = o->wspd;
	v[WX_WD] = o->wdir;
	for (int f = 0; f < WX_COUNT; f++)
		if (!isnan(v[f]))
			has |= 1u << f;
	wx_acc_init(&a, 0);
	wx_acc_add(&a, has, v, 3600, 3600);
	wx_acc_pack(&a, &pk);
	wx_unpack(&pk, &w);
	wx_fc_obs(&w, o);
}

int
main(int argc, char **argv)
{
	static struct station st[STATIONS_MAX];
	static struct acc acc[FC_POL_COUNT][NH];
	/* Daily AQI, lead days 1..3: model and persistence error, level
	 * hits, days. */
	double aqi_model[3] = {0}, aqi_pers[3] = {0}, aqi_clim[3] = {0};
	long aqi_lvl_m[3] = {0}, aqi_lvl_p[3] = {0}, aqi_n[3] = {0};
	long heavy_obs = 0, heavy_hit = 0, heavy_fa = 0;
	static double tmp[ROWS_MAX];
	int64_t start, end;
	bool noweather = false, nonb = false, daemon = false, nopres = false;
	const char *dir;
	int ns = 0, c;
	DIR *d;
	struct dirent *de;

	if (parse_day("2016-03-01", &start) != 0 ||
	    parse_day("2017-03-01", &end) != 0)
		return 2;
	while ((c = getopt(argc, argv, "bdwns:e:")) != -1) {
		switch (c) {
		case 'b':
			nopres = true;
			break;
		case 'd':
			daemon = true;
			break;
		case 'w':
			noweather = true;
			break;
		case 'n':
			nonb = true;
			break;
		case 's':
			if (parse_day(optarg, &start) != 0)
				goto usage;
			break;
		case 'e':
			if (parse_day(optarg, &end) != 0)
				goto usage;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1)
		goto usage;
	dir = argv[optind];
	if ((d = opendir(dir)) == NULL) {
		perror(dir);
		return 1;
	}
	while ((de = readdir(d)) != NULL && ns < STATIONS_MAX) {
		char path[4096];
		size_t l = strlen(de->d_name);
		if (l < 7 || strcmp(de->d_name + l - 7, ".csv.gz") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (load(path, &st[ns]) != 0) {
			fprintf(stderr, "aqgrid-eval: %s: cannot read\n", path);
			closedir(d);
			return 1;
		}
		ns++;
	}
	closedir(d);
	if (ns == 0) {
		fprintf(stderr, "aqgrid-eval: %s: no *.csv.gz\n", dir);
		return 1;
	}

	for (int k = 0; k < ns; k++) {
		struct station *s = &st[k];
		struct fc_model *m = fc_new();
		double clim[FC_POL_COUNT][24];
		struct fc_point fp[FC_POL_COUNT][FC_H];
		bool okp[FC_POL_COUNT];

		if (m == NULL)
			return 1;
		for (int p = 0; p < FC_POL_COUNT; p++)
			for (int hd = 0; hd < 24; hd++) {
				int n = 0;
				for (int i = 0; i < s->n && s->hour[i] < start;
				     i++)
					if (s->hod[i] == hd &&
					    !isnan(s->obs[i].v[p]))
						tmp[n++] = s->obs[i].v[p];
				clim[p][hd] = median(tmp, n);
			}
		for (int i = 0; i < s->n; i++) {
			struct fc_obs o = s->obs[i];

			if (noweather) {
				double a = o.v[0], b = o.v[1];
				fc_obs_clear(&o);
				o.v[0] = a;
				o.v[1] = b;
			} else if (daemon) {
				daemon_weather(&o);
			}
			if (nopres)
				o.pres = NAN;
			/* The other stations' mean of the same hour. */
			for (int p = 0; p < FC_POL_COUNT && !nonb; p++) {
				double sum = 0;
				int cnt = 0;
				for (int z = 0; z < ns; z++)
					if (z != k && i < st[z].n &&
					    st[z].hour[i] == s->hour[i] &&
					    !isnan(st[z].obs[i].v[p])) {
						sum += st[z].obs[i].v[p];
						cnt++;
					}
				o.nb[p] = cnt > 0 ? sum / cnt : NAN;
			}
			if (fc_hour(m, s->hour[i], s->hod[i], &o) != AQ_OK) {
				fprintf(stderr,
				    "aqgrid-eval: %s: row %d out "
				    "of order\n",
				    s->name, i + 1);
				return 1;
			}
			if (s->hour[i] < start || s->hour[i] >= end)
				continue;
			for (int p = 0; p < FC_POL_COUNT; p++) {
				double y0 = s->obs[i].v[p];

				okp[p] = fc_predict(m, p, fp[p]);
				if (!okp[p] || isnan(y0))
					continue;
				for (int j = 0; j < NH; j++) {
					int h = eval_h[j];
					double y;
					struct acc *a = &acc[p][j];
					if (i + h >= s->n ||
					    s->hour[i + h] >= end ||
					    isnan(y = s->obs[i + h].v[p]))
						continue;
					a->model += fabs(fp[p][h - 1].mid - y);
					a->pers += fabs(y0 - y);
					a->clim +=
					    fabs(clim[p][s->hod[i + h]] - y);
					a->cover += fp[p][h - 1].lo <= y &&
					    y <= fp[p][h - 1].hi;
					a->n++;
				}
			}
			/* Daily AQI at the end of each day (the hour
			 * labelled 23 closes it): the next three days. */
			if (s->hod[i] != 23 || !okp[0] || !okp[1] ||
			    i + FC_H >= s->n || s->hour[i + FC_H] >= end)
				continue;
			{
				double pm[24], o3[24], cpm[24], co3[24];
				int today;

				for (int q = 0; q < 24; q++) {
					pm[q] = s->obs[i - 23 + q].v[0];
					o3[q] = s->obs[i - 23 + q].v[1];
					cpm[q] = clim[0][(q + 1) % 24];
					co3[q] = clim[1][(q + 1) % 24];
				}
				today = fc_day_aqi(
				    AQI_HJ633_2026, pm, o3, NULL, NULL);
				for (int dd = 0; dd < 3; dd++) {
					int obs, fc, cl;
					for (int q = 0; q < 24; q++) {
						int r = i + 1 + dd * 24 + q;
						pm[q] = s->obs[r].v[0];
						o3[q] = s->obs[r].v[1];
					}
					obs = fc_day_aqi(
					    AQI_HJ633_2026, pm, o3, NULL, NULL);
					for (int q = 0; q < 24; q++) {
						pm[q] = fp[0][dd * 24 + q].mid;
						o3[q] = fp[1][dd * 24 + q].mid;
					}
					fc = fc_day_aqi(
					    AQI_HJ633_2026, pm, o3, NULL, NULL);
					cl = fc_day_aqi(AQI_HJ633_2026, cpm,
					    co3, NULL, NULL);
					if (obs < 0 || fc < 0 || today < 0)
						continue;
					aqi_model[dd] += abs(fc - obs);
					aqi_pers[dd] += abs(today - obs);
					aqi_clim[dd] += abs(cl - obs);
					aqi_lvl_m[dd] +=
					    aqi_level(AQI_HJ633_2026, fc) ==
					    aqi_level(AQI_HJ633_2026, obs);
					aqi_lvl_p[dd] +=
					    aqi_level(AQI_HJ633_2026, today) ==
					    aqi_level(AQI_HJ633_2026, obs);
					aqi_n[dd]++;
					if (dd == 0) {
						heavy_obs += obs > 200;
						heavy_hit +=
						    obs > 200 && fc > 200;
						heavy_fa +=
						    obs <= 200 && fc > 200;
					}
				}
			}
		}
		fc_free(m);
	}

	printf(
	    "aqgrid-eval: %d stations, %s%s, %s, scored from the hour ending "
	    "at the start day's 00:00 on, no look-ahead\n",
	    ns,
	    noweather    ? "pollutants only (-w)"
		: daemon ? "weather as the daemon gets it (-d)"
			 : "with weather",
	    nopres && !noweather ? " without pressure (-b)" : "",
	    nonb ? "no neighbours (-n)" : "with the other stations' mean");
	for (int p = 0; p < FC_POL_COUNT; p++) {
		printf("\n%s MAE (ug/m3)\n", p == 0 ? "PM2.5" : "O3");
		printf("%4s %8s %8s %8s %8s %7s %8s %9s\n", "h", "pairs",
		    "model", "persist", "hod-med", "ratio", "cover80",
		    "target");
		for (int j = 0; j < NH; j++) {
			struct acc *a = &acc[p][j];
			double n = a->n > 0 ? (double)a->n : 1;
			double best = fmin(a->pers, a->clim) / n;
			double ratio = a->model / n / best;
			double tgt = eval_h[j] == 1 ? 0.97 : 0.90;
			double cov = a->cover / n;
			printf("%4d %8ld %8.2f %8.2f %8.2f %7.3f %7.1f%% %9s\n",
			    eval_h[j], a->n, a->model / n, a->pers / n,
			    a->clim / n, ratio, 100 * cov,
			    p != 0 || eval_h[j] > 24 ? "-"
				: ratio <= tgt && cov >= 0.75 && cov <= 0.85
				? "met"
				: "NOT met");
		}
	}
	printf("\nDaily AQI (HJ 633-2026, PM2.5 24h and O3 MDA8 only), "
	       "forecast at the end of each day\n");
	printf("%4s %6s %9s %9s %9s %9s %9s\n", "day", "days", "model",
	    "persist", "hod-med", "lvl-mod", "lvl-pers");
	for (int dd = 0; dd < 3; dd++) {
		double n = aqi_n[dd] > 0 ? (double)aqi_n[dd] : 1;
		printf("%4d %6ld %9.1f %9.1f %9.1f %8.1f%% %8.1f%%\n", dd + 1,
		    aqi_n[dd], aqi_model[dd] / n, aqi_pers[dd] / n,
		    aqi_clim[dd] / n, 100 * aqi_lvl_m[dd] / n,
		    100 * aqi_lvl_p[dd] / n);
	}
	printf("next day AQI > 200: %ld days observed, %ld forecast of them, "
	       "%ld false alarms\n",
	    heavy_obs, heavy_hit, heavy_fa);
	return 0;
usage:
	fprintf(stderr,
	    "usage: aqgrid-eval [-bdnw] [-s YYYY-MM-DD] "
	    "[-e YYYY-MM-DD] DIR\n");
	return 2;
}
