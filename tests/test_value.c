/*
 * test_value.c - dbroute's value comparison at the edges of int64 and
 * double: every int64 is compared with a double exactly, without relying
 * on long double being wider than double.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "value.h"

/* The sign of a - b, checked both ways round. */
static int cmp(struct dbr_value a, struct dbr_value b)
{
	int c = dbr__value_cmp(&a, &b);

	assert_int_equal(dbr__value_cmp(&b, &a), -c);
	return c;
}

static void test_value__int64_against_double(void **state)
{
	const double two63 = 9223372036854775808.0;
	const double two53 = 9007199254740992.0;

	(void)state;
	/* 9.223372036854775807e18 is 2^63 as a double: above INT64_MAX. */
	assert_int_equal(
		cmp(dbr_int64(INT64_MAX), dbr_double(9.223372036854775807e18)),
		-1);
	assert_int_equal(cmp(dbr_int64(INT64_MAX), dbr_double(two63)), -1);
	assert_int_equal(cmp(dbr_int64(INT64_MIN), dbr_double(-two63)), 0);
	assert_int_equal(cmp(dbr_int64(INT64_MIN + 1), dbr_double(-two63)), 1);
	assert_int_equal(
		cmp(dbr_int64(INT64_MIN), dbr_double(nextafter(-two63, 0))),
		-1);
	assert_int_equal(cmp(dbr_int64(INT64_MIN),
			     dbr_double(nextafter(-two63, -INFINITY))),
			 1);
	/* 2^53 + 1 has no double: it is above 2^53 as a double. */
	assert_int_equal(cmp(dbr_int64(9007199254740993), dbr_double(two53)),
			 1);
	assert_int_equal(cmp(dbr_int64(9007199254740992), dbr_double(two53)),
			 0);
	assert_int_equal(cmp(dbr_int64(9007199254740991), dbr_double(two53)),
			 -1);
	assert_int_equal(
		cmp(dbr_int64(INT64_MAX - 1), dbr_double(nextafter(two63, 0))),
		1);
	/* Fractions break ties on the integral part, both signs. */
	assert_int_equal(cmp(dbr_int64(2), dbr_double(2.5)), -1);
	assert_int_equal(cmp(dbr_int64(3), dbr_double(2.5)), 1);
	assert_int_equal(cmp(dbr_int64(-2), dbr_double(-2.5)), 1);
	assert_int_equal(cmp(dbr_int64(-3), dbr_double(-2.5)), -1);
	assert_int_equal(cmp(dbr_int64(0), dbr_double(-0.0)), 0);
	assert_int_equal(cmp(dbr_int64(0), dbr_double(0.0)), 0);
	assert_int_equal(cmp(dbr_int64(INT64_MAX), dbr_double(INFINITY)), -1);
	assert_int_equal(cmp(dbr_int64(INT64_MIN), dbr_double(-INFINITY)), 1);
}

static void test_value__nan_sorts_first(void **state)
{
	(void)state;
	assert_int_equal(cmp(dbr_double(NAN), dbr_int64(INT64_MIN)), -1);
	assert_int_equal(cmp(dbr_double(NAN), dbr_double(-INFINITY)), -1);
	assert_int_equal(cmp(dbr_double(NAN), dbr_double(NAN)), 0);
	assert_int_equal(cmp(dbr_double(-0.0), dbr_double(0.0)), 0);
	/* Numbers sort after NULL and before text. */
	assert_int_equal(cmp(dbr_null(), dbr_double(NAN)), -1);
	assert_int_equal(cmp(dbr_double(NAN), dbr_text("a", 1)), -1);
}

/* The text form: fixed width, UTC, six fraction digits; the edges. */
static void test_value__timestamp_text(void **state)
{
	char buf[DBR_TIMESTAMP_TEXT_SIZE];
	int64_t us;

	(void)state;
	assert_int_equal(dbr_timestamp_format(0, buf, sizeof(buf)), DBR_OK);
	assert_string_equal(buf, "1970-01-01 00:00:00.000000");
	assert_int_equal(dbr_timestamp_format(-1, buf, sizeof(buf)), DBR_OK);
	assert_string_equal(buf, "1969-12-31 23:59:59.999999");
	assert_int_equal(
		dbr_timestamp_format(DBR_TIMESTAMP_MIN, buf, sizeof(buf)),
		DBR_OK);
	assert_string_equal(buf, "1000-01-01 00:00:00.000000");
	assert_int_equal(
		dbr_timestamp_format(DBR_TIMESTAMP_MAX, buf, sizeof(buf)),
		DBR_OK);
	assert_string_equal(buf, "9999-12-31 23:59:59.999999");
	assert_int_equal(
		dbr_timestamp_format(951782400000000LL, buf, sizeof(buf)),
		DBR_OK);
	assert_string_equal(buf, "2000-02-29 00:00:00.000000");
	/* Out of range, or no room: refused, buf emptied. */
	assert_int_equal(
		dbr_timestamp_format(DBR_TIMESTAMP_MAX + 1, buf, sizeof(buf)),
		DBR_E_MISUSE);
	assert_string_equal(buf, "");
	assert_int_equal(
		dbr_timestamp_format(DBR_TIMESTAMP_MIN - 1, buf, sizeof(buf)),
		DBR_E_MISUSE);
	assert_int_equal(dbr_timestamp_format(0, buf, sizeof(buf) - 1),
			 DBR_E_MISUSE);
	assert_int_equal(dbr_timestamp_format(0, NULL, 0), DBR_E_MISUSE);

	/* Read back, and the spellings engines write. */
#define PARSE(text, want)                                                      \
	do {                                                                   \
		assert_int_equal(dbr_timestamp_parse(text, strlen(text), &us), \
				 DBR_OK);                                      \
		assert_int_equal(us, want);                                    \
	} while (0)
	PARSE("9999-12-31 23:59:59.999999", DBR_TIMESTAMP_MAX);
	PARSE("1000-01-01 00:00:00", DBR_TIMESTAMP_MIN);
	PARSE("1970-01-01T00:00:01.5Z", 1500000);
	PARSE("1970-01-01 05:30:00+05:30", 0);
	PARSE("1970-01-01 05:30:00+0530", 0);
	PARSE("1969-12-31 19:00:00-05", 0);
	PARSE("10000-01-01 05:29:59.999999+05:30", DBR_TIMESTAMP_MAX);
	PARSE("1000-01-01 00:00:00+00:00:00", DBR_TIMESTAMP_MIN);
#undef PARSE
	static const char *const bad[] = {
		"",
		"1970-01-01",
		"1970-01-01 00:00",
		"1970-02-30 00:00:00",
		"1970-01-01 24:00:00",
		"1970-01-01 00:00:00.",
		"1970-01-01 00:00:00.1234567",
		"1970-01-01 00:00:00 ",
		"1970-01-01 00:00:00+",
		"1970-01-01 00:00:00+05:3",
		"0999-12-31 23:59:59.999999",
		"1000-01-01 00:00:00+00:01",
		"9999-12-31 23:59:59-00:01",
		"10000-01-01 00:00:00",
		"1970-01-01 00:00:00 BC",
		"infinity",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (dbr_timestamp_parse(bad[i], strlen(bad[i]), &us) !=
		    DBR_E_MISUSE)
			fail_msg("read: '%s'", bad[i]);
	assert_int_equal(dbr_timestamp_parse(NULL, 0, &us), DBR_E_MISUSE);
}

/* x and y encode to the same bytes. */
static void same_encoding(struct dbr_value x, struct dbr_value y, char **a,
			  size_t *acap, char **b, size_t *bcap)
{
	size_t alen = 0, blen = 0;

	assert_int_equal(dbr__value_encode(&x, a, &alen, acap), DBR_OK);
	assert_int_equal(dbr__value_encode(&y, b, &blen, bcap), DBR_OK);
	assert_true(alen == blen && !memcmp(*a, *b, alen));
}

/*
 * Bools compare as 0 and 1 among numbers; timestamps by time, and beside
 * text as their text form; equal by the rule means equal encodings.
 */
static void test_value__bool_and_timestamp_order(void **state)
{
	static const char t0[] = "1970-01-01 00:00:00.000000";
	char *a = NULL, *b = NULL;
	size_t acap = 0, bcap = 0;

	(void)state;
	assert_int_equal(cmp(dbr_bool(false), dbr_bool(true)), -1);
	assert_int_equal(cmp(dbr_bool(true), dbr_int64(1)), 0);
	assert_int_equal(cmp(dbr_bool(true), dbr_double(0.5)), 1);
	assert_int_equal(cmp(dbr_bool(false), dbr_null()), 1);
	assert_int_equal(cmp(dbr_timestamp(-1), dbr_timestamp(0)), -1);
	assert_int_equal(cmp(dbr_timestamp(0), dbr_text(t0, 26)), 0);
	assert_int_equal(cmp(dbr_timestamp(1), dbr_text(t0, 26)), 1);
	assert_int_equal(cmp(dbr_timestamp(DBR_TIMESTAMP_MIN), dbr_int64(0)),
			 1);
	assert_int_equal(cmp(dbr_timestamp(0), dbr_blob("", 0)), -1);

	same_encoding(dbr_bool(true), dbr_int64(1), &a, &acap, &b, &bcap);
	same_encoding(dbr_timestamp(0), dbr_text(t0, 26), &a, &acap, &b, &bcap);
	dbr__free(a);
	dbr__free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_value__int64_against_double),
		cmocka_unit_test(test_value__nan_sorts_first),
		cmocka_unit_test(test_value__timestamp_text),
		cmocka_unit_test(test_value__bool_and_timestamp_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
