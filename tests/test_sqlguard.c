/*
 * test_sqlguard.c - the statements plain dbr_query refuses because they
 * would change a pooled connection's state.
 */
#include "helpers.h"
#include "sqlguard.h"

static void test_sqlguard__plain_select_passes(void **state)
{
	(void)state;
	assert_null(
		dbr_sqlguard_refuse("SELECT 1", DBR_SQLGUARD_SQLITE, false));
	assert_null(
		dbr_sqlguard_refuse("SELECT 1", DBR_SQLGUARD_POSTGRES, false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sqlguard__plain_select_passes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
