/*
 * timestamp.h - dbroute's timestamp values (UTC microseconds since
 * 1970-01-01, years 1000 to 9999) and their one canonical text form,
 * `YYYY-MM-DD HH:MM:SS.ffffff` (always six fraction digits, UTC, no zone):
 * fixed width, so texts sort as their times do.
 *
 * Shared by the core and the SQL drivers. Compiled into each plugin; it
 * uses only the C library.
 */
#ifndef DBR_TIMESTAMP_H
#define DBR_TIMESTAMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The canonical text's length, and a buffer that holds it with its NUL. */
#define DBR_TS_TEXT_LEN	 26
#define DBR_TS_TEXT_SIZE 27

/* 1000-01-01 00:00:00 and 9999-12-31 23:59:59.999999, UTC. */
#define DBR_TS_MIN (-30610224000000000LL)
#define DBR_TS_MAX (253402300799999999LL)

/* A broken-down UTC time. */
struct dbr_tm {
	int year, month, day, hour, minute, second, usec;
};

/* Whether us is within years 1000 to 9999. */
static inline bool dbr_ts_in_range(int64_t us)
{
	return us >= DBR_TS_MIN && us <= DBR_TS_MAX;
}

/* The time of `us` (in range) broken down. */
void dbr_ts_split(int64_t us, struct dbr_tm *tm);

/*
 * The microseconds of a broken-down UTC time, its fields checked (a day
 * the month has, hours 0-23 ...), years 1000 to 9999. Returns false when
 * a field is out of range.
 */
bool dbr_ts_join(const struct dbr_tm *tm, int64_t *us);

/*
 * Write the canonical text of us into out (DBR_TS_TEXT_SIZE bytes, NUL
 * included). Returns its length, or 0 when us is out of range.
 */
size_t dbr_ts_format(int64_t us, char *out);

/*
 * Read a time written `YYYY-MM-DD HH:MM:SS` (or with `T` between date and
 * time), then optionally 1 to 6 fraction digits after a `.`, then
 * optionally a zone: `Z`, or `+HH`, `+HH:MM`, `+HH:MM:SS`, `+HHMM` (or
 * `-`), the offset subtracted to give UTC. Nothing may follow. The
 * canonical text is one such spelling; the year may have five digits
 * (10000-01-01 05:30 at +05:30 is in range). Returns false for anything
 * else, and for a time whose UTC year is outside 1000 to 9999.
 */
bool dbr_ts_parse(const char *s, size_t len, int64_t *us);

#endif /* DBR_TIMESTAMP_H */
