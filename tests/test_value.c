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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_value__int64_against_double),
		cmocka_unit_test(test_value__nan_sorts_first),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
