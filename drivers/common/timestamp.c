/*
 * timestamp.c - timestamps broken down, joined, written and read (see
 * timestamp.h). Days are counted with the proleptic Gregorian calendar's
 * civil-day algorithms (H. Hinnant, "chrono-Compatible Low-Level Date
 * Algorithms"), exact for every year of the range.
 */
#include <stdio.h>

#include "timestamp.h"

#define US_PER_SEC 1000000LL
#define US_PER_DAY (86400LL * US_PER_SEC)

static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, struct dbr_tm *tm)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	tm->day = (int)(doy - (153 * mp + 2) / 5 + 1);
	tm->month = (int)(mp < 10 ? mp + 3 : mp - 9);
	tm->year = (int)(yoe + era * 400 + (tm->month <= 2));
}

void dbr_ts_split(int64_t us, struct dbr_tm *tm)
{
	int64_t days = us / US_PER_DAY, rest = us % US_PER_DAY;

	if (rest < 0) {
		rest += US_PER_DAY;
		days--;
	}
	civil_from_days(days, tm);
	tm->usec = (int)(rest % US_PER_SEC);
	rest /= US_PER_SEC;
	tm->second = (int)(rest % 60);
	tm->minute = (int)(rest / 60 % 60);
	tm->hour = (int)(rest / 3600);
}

static int month_days(int year, int month)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30,
				      31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return days[month - 1] + (month == 2 && leap);
}

/*
 * dbr_ts_join() for years 1 to 10000: a local time with its zone may
 * fall outside the range that UTC is within.
 */
static bool join_any(const struct dbr_tm *tm, int64_t *us)
{
	if (tm->year < 1 || tm->year > 10000 || tm->month < 1 ||
	    tm->month > 12 || tm->day < 1 ||
	    tm->day > month_days(tm->year, tm->month) || tm->hour < 0 ||
	    tm->hour > 23 || tm->minute < 0 || tm->minute > 59 ||
	    tm->second < 0 || tm->second > 59 || tm->usec < 0 ||
	    tm->usec > 999999)
		return false;
	*us = days_from_civil(tm->year, tm->month, tm->day) * US_PER_DAY +
	      ((int64_t)tm->hour * 3600 + tm->minute * 60 + tm->second) *
		      US_PER_SEC +
	      tm->usec;
	return true;
}

bool dbr_ts_join(const struct dbr_tm *tm, int64_t *us)
{
	return tm->year >= 1000 && tm->year <= 9999 && join_any(tm, us);
}

size_t dbr_ts_format(int64_t us, char *out)
{
	struct dbr_tm tm;

	if (!dbr_ts_in_range(us)) {
		out[0] = '\0';
		return 0;
	}
	dbr_ts_split(us, &tm);
	snprintf(out, DBR_TS_TEXT_SIZE, "%04d-%02d-%02d %02d:%02d:%02d.%06d",
		 tm.year, tm.month, tm.day, tm.hour, tm.minute, tm.second,
		 tm.usec);
	return DBR_TS_TEXT_LEN;
}

/* n digits at s[*at] as a number; false when one is not a digit. */
static bool digits(const char *s, size_t len, size_t *at, int n, int *out)
{
	int v = 0;

	if (len - *at < (size_t)n)
		return false;
	while (n--) {
		char ch = s[(*at)++];

		if (ch < '0' || ch > '9')
			return false;
		v = v * 10 + (ch - '0');
	}
	*out = v;
	return true;
}

/* s[*at] is ch: step over it. */
static bool expect(const char *s, size_t len, size_t *at, char ch)
{
	if (*at >= len || s[*at] != ch)
		return false;
	(*at)++;
	return true;
}

/* An optional fraction of 1 to 6 digits, scaled to microseconds. */
static bool fraction(const char *s, size_t len, size_t *at, int *usec)
{
	int n = 0;

	*usec = 0;
	if (!expect(s, len, at, '.'))
		return true;
	while (*at < len && s[*at] >= '0' && s[*at] <= '9' && n < 6) {
		*usec = *usec * 10 + (s[(*at)++] - '0');
		n++;
	}
	if (!n || (*at < len && s[*at] >= '0' && s[*at] <= '9'))
		return false;
	while (n++ < 6)
		*usec *= 10;
	return true;
}

/* An optional zone: its offset east of UTC in seconds. */
static bool zone(const char *s, size_t len, size_t *at, int *offset)
{
	int sign, h, m = 0, sec = 0;

	*offset = 0;
	if (*at == len)
		return true;
	if (s[*at] == 'Z')
		return ++*at == len;
	if (s[*at] != '+' && s[*at] != '-')
		return false;
	sign = s[(*at)++] == '-' ? -1 : 1;
	if (!digits(s, len, at, 2, &h) || h > 15)
		return false;
	if (*at < len && s[*at] != ':' && !digits(s, len, at, 2, &m))
		return false;
	if (expect(s, len, at, ':') && !digits(s, len, at, 2, &m))
		return false;
	if (expect(s, len, at, ':') && !digits(s, len, at, 2, &sec))
		return false;
	if (m > 59 || sec > 59 || *at != len)
		return false;
	*offset = sign * (h * 3600 + m * 60 + sec);
	return true;
}

bool dbr_ts_parse(const char *s, size_t len, int64_t *us)
{
	struct dbr_tm tm;
	size_t at = 0;
	int offset;
	int64_t t;

	/* Five digits: 10000-01-01 in a zone east of UTC. */
	if (!digits(s, len, &at, len > 4 && s[4] != '-' ? 5 : 4, &tm.year) ||
	    !expect(s, len, &at, '-') || !digits(s, len, &at, 2, &tm.month) ||
	    !expect(s, len, &at, '-') || !digits(s, len, &at, 2, &tm.day) ||
	    (!expect(s, len, &at, ' ') && !expect(s, len, &at, 'T')) ||
	    !digits(s, len, &at, 2, &tm.hour) || !expect(s, len, &at, ':') ||
	    !digits(s, len, &at, 2, &tm.minute) || !expect(s, len, &at, ':') ||
	    !digits(s, len, &at, 2, &tm.second) ||
	    !fraction(s, len, &at, &tm.usec) || !zone(s, len, &at, &offset) ||
	    !join_any(&tm, &t))
		return false;
	t -= (int64_t)offset * US_PER_SEC;
	if (!dbr_ts_in_range(t))
		return false;
	*us = t;
	return true;
}
