/*
 * answer.c - a tiny SQLite loadable extension for the tests: the SQL
 * function dbr_test_answer() returns 42 when loaded through the entry
 * point SQLite derives from the file name (libdbranswer.so:
 * sqlite3_dbranswer_init), 43 through the entry named explicitly,
 * dbr_answer_other_init.
 */
#include <stddef.h>

#include <sqlite3ext.h>

SQLITE_EXTENSION_INIT1

/* The build hides symbols by default: the entry points are exported. */
#define EXPORT __attribute__((visibility("default")))

static void answer(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	(void)argv;
	sqlite3_result_int(ctx, *(const int *)sqlite3_user_data(ctx));
}

static int add_answer(sqlite3 *db, int *value)
{
	return sqlite3_create_function(db, "dbr_test_answer", 0,
				       SQLITE_UTF8 | SQLITE_DETERMINISTIC,
				       value, answer, NULL, NULL);
}

EXPORT int sqlite3_dbranswer_init(sqlite3 *db, char **msg,
				  const sqlite3_api_routines *api);
EXPORT int dbr_answer_other_init(sqlite3 *db, char **msg,
				 const sqlite3_api_routines *api);

int sqlite3_dbranswer_init(sqlite3 *db, char **msg,
			   const sqlite3_api_routines *api)
{
	static int derived = 42;

	(void)msg;
	SQLITE_EXTENSION_INIT2(api);
	return add_answer(db, &derived);
}

int dbr_answer_other_init(sqlite3 *db, char **msg,
			  const sqlite3_api_routines *api)
{
	static int other = 43;

	(void)msg;
	SQLITE_EXTENSION_INIT2(api);
	return add_answer(db, &other);
}
