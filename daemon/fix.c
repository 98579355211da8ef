/* fix: exact decimal fixed point (see fix.h). */
#include "daemon/fix.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

__extension__ typedef __int128 fix_i128;

static int64_t floordiv(int64_t a, int64_t b);

int64_t
fix_step(int digits)
{
	int64_t s = FIX_ONE;

	while (digits-- > 0)
		s /= 10;
	return s;
}

/* Floor division for b > 0. */
static int64_t
floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if (a % b != 0 && a < 0)
		q--;
	return q;
}

int
fix_parse(const char *s, const char **end, int64_t *out)
{
	const char *p = s;
	bool neg = false;
	int64_t mant = 0;
	int frac = 0, sig = 0, digits = 0;
	int rest = -1; /* first dropped digit, -1 if none */
	bool sticky = false;

	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	for (; *p >= '0' && *p <= '9'; p++, digits++) {
		if (mant == 0 && *p == '0')
			continue;
		if (++sig > 18)
			return AQ_ERR_RANGE;
		mant = mant * 10 + (*p - '0');
	}
	if (*p == '.') {
		p++;
		for (; *p >= '0' && *p <= '9'; p++, digits++) {
			if (frac == 9) {
				if (rest < 0)
					rest = *p - '0';
				else if (*p != '0')
					sticky = true;
				continue;
			}
			frac++;
			if (mant != 0 || *p != '0')
				sig++;
			if (sig > 18)
				return AQ_ERR_RANGE;
			mant = mant * 10 + (*p - '0');
		}
	}
	if (digits == 0)
		return AQ_ERR_INVAL;
	for (; frac < 9; frac++) {
		if (mant > INT64_MAX / 10)
			return AQ_ERR_RANGE;
		mant *= 10;
	}
	if (rest > 5 || (rest == 5 && (sticky || (mant & 1))))
		mant++;
	if (mant > FIX_MAX)
		return AQ_ERR_RANGE;
	if (end != NULL)
		*end = p;
	*out = neg ? -mant : mant;
	return AQ_OK;
}

int
fix_from_double(double x, int64_t *out)
{
	double scaled;

	if (!isfinite(x) || fabs(x) > (double)FIX_MAX / (double)FIX_ONE)
		return AQ_ERR_RANGE;
	scaled = x * (double)FIX_ONE;
	*out = (int64_t)llround(scaled);
	return AQ_OK;
}

double
fix_to_double(int64_t v)
{
	return (double)(v / FIX_ONE) + (double)(v % FIX_ONE) / (double)FIX_ONE;
}

int64_t
fix_floor(int64_t v, int64_t step)
{
	return floordiv(v, step) * step;
}

int64_t
fix_round_half_even(int64_t v, int64_t step)
{
	int64_t q = floordiv(v, step);
	int64_t r = v - q * step;

	if (2 * r > step || (2 * r == step && (q & 1)))
		q++;
	return q * step;
}

char *
fix_format(int64_t v, char *buf, size_t len)
{
	uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	uint64_t ip = mag / (uint64_t)FIX_ONE, fp = mag % (uint64_t)FIX_ONE;
	char frac[16];
	int n;

	if (fp == 0) {
		snprintf(buf, len, "%s%llu", v < 0 ? "-" : "",
		    (unsigned long long)ip);
		return buf;
	}
	snprintf(frac, sizeof(frac), "%09llu", (unsigned long long)fp);
	for (n = 9; n > 0 && frac[n - 1] == '0'; n--)
		frac[n - 1] = '\0';
	snprintf(buf, len, "%s%llu.%s", v < 0 ? "-" : "",
	    (unsigned long long)ip, frac);
	return buf;
}

int
fix_muldiv_floor(int64_t a, int64_t b, int64_t c, int64_t *out)
{
	fix_i128 n = (fix_i128)a * b, q = n / c;

	if (n % c != 0 && n < 0)
		q--;
	if (q > INT64_MAX || q < INT64_MIN)
		return AQ_ERR_RANGE;
	*out = (int64_t)q;
	return AQ_OK;
}

int
fix_muldiv_round(int64_t a, int64_t b, int64_t c, int64_t *out)
{
	fix_i128 n = (fix_i128)a * b, q;

	n = n < 0 ? n - c / 2 : n + c / 2;
	q = n / c;
	if (q > INT64_MAX || q < INT64_MIN)
		return AQ_ERR_RANGE;
	*out = (int64_t)q;
	return AQ_OK;
}
