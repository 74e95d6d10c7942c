/*
 * test_postgres.c - the PostgreSQL plugin against a real server (started
 * by scripts/test.sh; DBR_TEST_PG names it): rows land where their chats
 * are mapped, types map to dbroute values, a terminated backend is
 * replaced, the password comes from the environment.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "helpers.h"

static char *dir, *config, *lite_db;
static const char *conninfo;
static struct dbr *db;
static PGconn *check; /* a second connection, to look behind dbroute */

static int64_t pg_int(const char *sql)
{
	PGresult *r = PQexec(check, sql);
	int64_t v = -1;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	else
		fprintf(stderr, "%s: %s", sql, PQerrorMessage(check));
	PQclear(r);
	return v;
}

static int setup(void **state)
{
	char text[2048];

	(void)state;
	conninfo = getenv("DBR_TEST_PG");
	dir = t_tmpdir();
	snprintf(text, sizeof(text),
		 "[database]\ndefault_source = lite\n"
		 "[source.lite]\ntype = sqlite\npath = lite.db\n"
		 "[source.pg]\ntype = postgres\n"
		 "conninfo = %s application_name=dbr_test_pg\n"
		 "max_connections = 2\ntimeout = 5\n"
		 "[chat_mapping]\n-1001 = pg\n-1002 = pg\n",
		 conninfo);
	config = t_write(dir, "pg.ini", text);
	lite_db = t_path(dir, "lite.db");
	db = t_open(config);
	check = PQconnectdb(conninfo);
	if (PQstatus(check) != CONNECTION_OK)
		return -1;
	PQclear(PQexec(check, "SET client_min_messages = warning"));
	PQclear(PQexec(check, "DROP TABLE IF EXISTS pg_m"));
	t_exec(db, -1001, "CREATE TABLE pg_m (chat BIGINT, n INTEGER, t TEXT)",
	       NULL, 0);
	t_exec(db, 1, "CREATE TABLE pg_m (chat BIGINT, n INTEGER, t TEXT)",
	       NULL, 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	PQclear(PQexec(check, "DROP TABLE IF EXISTS pg_m"));
	PQfinish(check);
	dbr_close(db);
	t_rmtree(dir);
	free(dir);
	free(config);
	free(lite_db);
	return 0;
}

static void test_postgres__rows_land_where_mapped(void **state)
{
	static const int64_t chats[] = { -1001, -1002, 5, 6, -7 };
	struct dbr_value p[3];
	size_t i;
	int n;

	(void)state;
	for (i = 0; i < 5; i++) {
		for (n = 0; n < 10; n++) {
			p[0] = dbr_int64(chats[i]);
			p[1] = dbr_int64(n);
			p[2] = dbr_text("hello", 5);
			t_exec(db, chats[i],
			       "INSERT INTO pg_m VALUES (?, ?, ?)", p, 3);
		}
	}
	assert_int_equal(pg_int("SELECT count(*) FROM pg_m"), 20);
	assert_int_equal(pg_int("SELECT count(*) FROM pg_m WHERE chat NOT IN "
				"(-1001, -1002)"),
			 0);
	assert_int_equal(t_sqlite_int(lite_db, "SELECT count(*) FROM pg_m"),
			 30);
	assert_int_equal(t_sqlite_int(lite_db, "SELECT count(*) FROM pg_m "
					       "WHERE chat IN (-1001, -1002)"),
			 0);
}

static void test_postgres__types_map_to_values(void **state)
{
	struct dbr_result *res;
	struct dbr_error err;
	struct dbr_value v;
	size_t len;
	const char *s;

	(void)state;
	assert_int_equal(dbr_query_source(db, "pg",
					  "SELECT 1::int2 AS a, "
					  "2::int4, 3::int8, 1.5::float4, "
					  "2.25::float8, 3.10::numeric, true, "
					  "false, 'v'::varchar, "
					  "'\\x00ff'::bytea, NULL::int4, "
					  "'{\"k\":1}'::jsonb ?? 'k' AS has",
					  NULL, 0, &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_column_count(res), 12);
	assert_string_equal(dbr_result_column_name(res, 0), "a");
	assert_string_equal(dbr_result_column_name(res, 11), "has");
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_int_equal(dbr_result_type(res, 0), DBR_TYPE_INT64);
	assert_int_equal(dbr_result_int64(res, 0), 1);
	assert_int_equal(dbr_result_int64(res, 1), 2);
	assert_int_equal(dbr_result_int64(res, 2), 3);
	assert_int_equal(dbr_result_type(res, 3), DBR_TYPE_DOUBLE);
	assert_true(dbr_result_double(res, 3) == 1.5);
	assert_true(dbr_result_double(res, 4) == 2.25);
	assert_int_equal(dbr_result_type(res, 5), DBR_TYPE_TEXT);
	assert_string_equal(dbr_result_text(res, 5, NULL), "3.10");
	assert_int_equal(dbr_result_int64(res, 6), 1);
	assert_int_equal(dbr_result_int64(res, 7), 0);
	assert_string_equal(dbr_result_text(res, 8, NULL), "v");
	dbr_result_value(res, 9, &v);
	assert_int_equal(v.type, DBR_TYPE_BLOB);
	assert_int_equal(v.len, 2);
	assert_memory_equal(v.u.b, "\x00\xff", 2);
	assert_int_equal(dbr_result_type(res, 10), DBR_TYPE_NULL);
	assert_int_equal(dbr_result_int64(res, 11), 1);
	s = dbr_result_text(res, 8, &len);
	assert_int_equal(len, 1);
	assert_non_null(s);
	dbr_result_free(res);
}

/* Text parameters are untyped: the server infers int from the column. */
static void test_postgres__text_param_inferred(void **state)
{
	struct dbr_value p[2] = { dbr_text("42", 2), dbr_text("-1001", 5) };
	struct dbr_value nul = dbr_text("a\0b", 3);
	struct dbr_error err;

	(void)state;
	t_exec(db, -1001, "INSERT INTO pg_m (n, chat) VALUES (?, ?)", p, 2);
	assert_int_equal(pg_int("SELECT count(*) FROM pg_m WHERE n = 42 AND "
				"chat = -1001"),
			 1);
	assert_int_equal(dbr_query(db, -1001, "SELECT ?", &nul, 1, NULL, &err),
			 DBR_E_MISUSE);
	assert_non_null(strstr(err.message, "NUL byte"));
	assert_int_equal(dbr_query(db, -1001, "SELECT nope FROM pg_m", NULL, 0,
				   NULL, &err),
			 DBR_E_STMT);
	assert_string_equal(err.sqlstate, "42703");
	assert_non_null(strstr(err.message, "source 'pg': "));
}

/* The CLI reaches PostgreSQL for a mapped chat from the build tree, and a
 * text --param works against an integer column. */
static void test_postgres__cli_query(void **state)
{
	char *out = NULL, *err = NULL;

	(void)state;
	assert_int_equal(t_run_cli(dir,
				   "query -c pg.ini --chat -1002 --param "
				   "42 --param -1002 'INSERT INTO pg_m (n, "
				   "chat) VALUES (?, ?)'",
				   &out, &err),
			 0);
	assert_string_equal(err, "1 rows affected\n");
	assert_int_equal(
		t_run_cli(
			dir,
			"query -c pg.ini --chat -1002 --param "
			"42 'SELECT chat, n FROM pg_m WHERE n = ? AND chat = -1002'",
			&out, &err),
		0);
	assert_string_equal(out, "chat\tn\n-1002\t42\n");
	assert_int_equal(t_run_cli(dir, "check -c pg.ini", &out, &err), 0);
	assert_non_null(strstr(out, "pg\tpostgres\tok\t"));
	assert_non_null(strstr(out, "/plugins.d/postgres.so 0.1.0"));
	free(out);
	free(err);
}

/* A failed statement aborts the transaction: COMMIT says so. */
static void test_postgres__failed_transaction_commit(void **state)
{
	struct dbr_error err;
	struct dbr_tx *tx;

	(void)state;
	assert_int_equal(dbr_tx_begin(db, -1002, &tx, &err), DBR_OK);
	if (dbr_tx_query(tx, "INSERT INTO pg_m (n) VALUES (12345)", NULL, 0,
			 NULL, &err)) {
		fprintf(stderr, "%s\n", err.message);
		fail();
	}
	assert_int_equal(dbr_tx_query(tx, "SELECT 1/0", NULL, 0, NULL, &err),
			 DBR_E_STMT);
	assert_int_equal(dbr_tx_commit(tx, &err), DBR_E_STMT);
	assert_non_null(strstr(err.message, "ended as ROLLBACK"));
	assert_int_equal(pg_int("SELECT count(*) FROM pg_m WHERE n = 12345"),
			 0);
	/* The connection went back clean. */
	t_exec(db, -1002, "SELECT 1", NULL, 0);
}

/* A backend killed between operations: the next one runs on a fresh
 * connection. */
static void test_postgres__terminated_backend_replaced(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		t_exec(db, -1001, "SELECT 1", NULL, 0);
		assert_true(pg_int("SELECT count(pg_terminate_backend(pid)) "
				   "FROM pg_stat_activity WHERE "
				   "application_name = 'dbr_test_pg'") >= 1);
		/* Let the backends exit and their goodbyes arrive, and the
		 * connection idle long enough to be checked (10 ms). */
		while (pg_int("SELECT count(*) FROM pg_stat_activity WHERE "
			      "application_name = 'dbr_test_pg'") > 0)
			;
		nanosleep(&(struct timespec){ 0, 30000000L }, NULL);
		t_exec(db, -1001, "SELECT 1", NULL, 0);
	}
}

static void test_postgres__password_from_environment(void **state)
{
	char text[2048], *path;
	struct dbr_error err;
	struct dbr *pw;

	(void)state;
	snprintf(text, sizeof(text),
		 "[database]\nretry_interval = 0\n"
		 "[source.pw]\ntype = postgres\nconninfo = %s user=dbr_pw\n"
		 "password_env = DBR_TEST_PASSWORD\ntimeout = 5\n",
		 conninfo);
	path = t_write(dir, "pw.ini", text);
	pw = t_open(path);
	unsetenv("DBR_TEST_PASSWORD");
	assert_int_equal(dbr_query(pw, 1, "SELECT 1", NULL, 0, NULL, &err),
			 DBR_E_UNAVAILABLE);
	assert_non_null(strstr(err.message, "'DBR_TEST_PASSWORD' is not set"));
	setenv("DBR_TEST_PASSWORD", "wrong", 1);
	assert_int_equal(dbr_query(pw, 1, "SELECT 1", NULL, 0, NULL, &err),
			 DBR_E_UNAVAILABLE);
	assert_non_null(strstr(err.message, "password authentication failed"));
	setenv("DBR_TEST_PASSWORD", "s3cret", 1);
	assert_int_equal(dbr_query(pw, 1, "SELECT 1", NULL, 0, NULL, &err),
			 DBR_OK);
	unsetenv("DBR_TEST_PASSWORD");
	dbr_close(pw);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_postgres__rows_land_where_mapped),
		cmocka_unit_test(test_postgres__types_map_to_values),
		cmocka_unit_test(test_postgres__text_param_inferred),
		cmocka_unit_test(test_postgres__cli_query),
		cmocka_unit_test(test_postgres__failed_transaction_commit),
		cmocka_unit_test(test_postgres__terminated_backend_replaced),
		cmocka_unit_test(test_postgres__password_from_environment),
	};

	int rc = t_need_server("DBR_TEST_PG", "PostgreSQL server");

	if (rc)
		return rc;
	return cmocka_run_group_tests(tests, setup, teardown);
}
