/*
 * test_postgres.c - the PostgreSQL plugin against a real server (started
 * by scripts/test.sh; DBR_TEST_PG names it): rows land where their chats
 * are mapped, types map to dbroute values, a terminated backend is
 * replaced, the password comes from the environment.
 */
#define _GNU_SOURCE /* memmem */
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "helpers.h"

static char *dir, *config, *lite_db;
static const char *conninfo;
static struct dbr *db;
static PGconn *check; /* a second connection, to look behind dbroute */
static pid_t stopped; /* a backend SIGSTOPped by a test, for teardown */

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

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pause_ms(long ms)
{
	nanosleep(&(struct timespec){ ms / 1000, (ms % 1000) * 1000000L },
		  NULL);
}

static void pg_exec(const char *sql)
{
	PGresult *r = PQexec(check, sql);

	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "%s: %s", sql, PQerrorMessage(check));
		fail();
	}
	PQclear(r);
}

/*
 * A handle whose default source `pg` is this server, named `app` in
 * pg_stat_activity, with extra lines in its section (e.g.
 * "max_connections = 1\n"). *path receives the file (free() it).
 */
static struct dbr *open_pg(const char *app, const char *extra, char **path)
{
	char text[2048], name[64];

	snprintf(text, sizeof(text),
		 "[database]\nretry_interval = 0\n"
		 "[source.pg]\ntype = postgres\n"
		 "conninfo = %s application_name=%s\n%s",
		 conninfo, app, extra);
	snprintf(name, sizeof(name), "%s.ini", app);
	*path = t_write(dir, name, text);
	return t_open(*path);
}

/* The first column of the first row of sql on db's chat, as an integer
 * (-1 on error, with the error printed). */
static int64_t db_int(struct dbr *h, const char *sql)
{
	struct dbr_result *res;
	struct dbr_error err;
	int64_t v = -1;

	if (dbr_query(h, 1, sql, NULL, 0, &res, &err)) {
		fprintf(stderr, "%s: %s\n", sql, err.message);
		return -1;
	}
	if (dbr_result_next(res) == DBR_ROW)
		v = dbr_result_int64(res, 0);
	dbr_result_free(res);
	return v;
}

/* The first column of the first row as text, copied into buf. */
static const char *db_text(struct dbr *h, const char *sql, char *buf,
			   size_t size)
{
	struct dbr_result *res;
	struct dbr_error err;

	buf[0] = '\0';
	if (dbr_query(h, 1, sql, NULL, 0, &res, &err)) {
		fprintf(stderr, "%s: %s\n", sql, err.message);
		return buf;
	}
	if (dbr_result_next(res) == DBR_ROW)
		snprintf(buf, size, "%s", dbr_result_text(res, 0, NULL));
	dbr_result_free(res);
	return buf;
}

/* Whether a write through h's next connection is committed at once (its
 * connection is outside any transaction): 1 when it is. */
static int64_t writes_commit(struct dbr *h)
{
	int64_t before = pg_int("SELECT count(*) FROM pg_m WHERE n = 777");

	if (db_int(h, "INSERT INTO pg_m (n) VALUES (777) RETURNING 1") != 1)
		return -1;
	return pg_int("SELECT count(*) FROM pg_m WHERE n = 777") - before;
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
	if (stopped)
		kill(stopped, SIGCONT);
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
	/* numeric is a double (exact decimals: select it as ::text). */
	assert_int_equal(dbr_result_type(res, 5), DBR_TYPE_DOUBLE);
	assert_true(dbr_result_double(res, 5) == 3.1);
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

/* A refusal no retry fixes: its SQLSTATE, libpq's usual message. */
static void assert_refused(const struct dbr_error *err, const char *state,
			   const char *text)
{
	assert_int_equal(err->code, DBR_E_CONN);
	assert_string_equal(err->sqlstate, state);
	assert_false(err->retryable);
	assert_non_null(strstr(err->hint, "credentials or database"));
	assert_non_null(strstr(err->message, text));
	assert_null(strstr(err->message, state));
	assert_null(strstr(err->message, "LOCATION"));
}

/*
 * A connection refused for what the configuration says (a password
 * unset or wrong, a role or a database that does not exist) carries the
 * server's SQLSTATE, is not retryable and says what to fix; a server that
 * is not there stays retryable. Statements after a connect keep libpq's
 * usual messages.
 */
static void test_postgres__connect_refusals_classified(void **state)
{
	char text[4096], *path;
	struct dbr_error err;

	(void)state;
	snprintf(text, sizeof(text),
		 "[database]\ndefault_source = lite\n"
		 "[source.lite]\ntype = sqlite\npath = lite.db\n"
		 "[source.pw]\ntype = postgres\nconninfo = %s user=dbr_pw\n"
		 "password_env = DBR_TEST_WRONG_PASSWORD\n"
		 "[source.unset]\ntype = postgres\nconninfo = %s\n"
		 "password_env = DBR_TEST_UNSET_PASSWORD\n"
		 "[source.role]\ntype = postgres\n"
		 "conninfo = %s user=dbr_no_such_role\n"
		 "[source.nodb]\ntype = postgres\n"
		 "conninfo = %s dbname=dbr_no_such_db\n"
		 "[source.away]\ntype = postgres\n"
		 "conninfo = host=127.0.0.1 port=1 dbname=x\ntimeout = 1\n",
		 conninfo, conninfo, conninfo, conninfo);
	path = t_write(dir, "refused.ini", text);
	setenv("DBR_TEST_WRONG_PASSWORD", "wrong", 1);
	unsetenv("DBR_TEST_UNSET_PASSWORD");
	assert_int_equal(t_ping_at(path, "pw", &err), DBR_E_CONN);
	assert_refused(&err, "28P01", "password authentication failed");
	assert_int_equal(t_ping_at(path, "role", &err), DBR_E_CONN);
	assert_refused(&err, "28000", "dbr_no_such_role");
	assert_int_equal(t_ping_at(path, "nodb", &err), DBR_E_CONN);
	assert_refused(&err, "3D000", "dbr_no_such_db");
	assert_int_equal(t_ping_at(path, "unset", &err), DBR_E_CONN);
	assert_false(err.retryable);
	assert_non_null(strstr(err.hint, "credentials or database"));
	assert_int_equal(t_ping_at(path, "away", &err), DBR_E_CONN);
	assert_true(err.retryable);
	assert_string_equal(err.sqlstate, "");
	/* A connection made: statements' messages as before. */
	assert_int_equal(dbr_query(db, -1001, "SELEC 1", NULL, 0, NULL, &err),
			 DBR_E_STMT);
	assert_string_equal(err.sqlstate, "42601");
	assert_null(strstr(err.message, "LOCATION"));
	assert_null(strstr(err.message, "42601"));
	unsetenv("DBR_TEST_WRONG_PASSWORD");
	free(path);
}

/*
 * Item a: a deferred constraint fails at the implicit commit, after the
 * INSERT's command tag: the INSERT is an error and stores nothing, with
 * or without rows, and a COMMIT that fails on it says so too.
 */
static void test_postgres__deferred_constraint_fails(void **state)
{
	struct dbr_result *res;
	struct dbr_error err;
	struct dbr_tx *tx;

	(void)state;
	pg_exec("DROP TABLE IF EXISTS pg_def");
	pg_exec("CREATE TABLE pg_def (id INTEGER, CONSTRAINT pg_def_u "
		"UNIQUE (id) DEFERRABLE INITIALLY DEFERRED)");
	pg_exec("INSERT INTO pg_def VALUES (1)");
	assert_int_equal(dbr_query(db, -1001, "INSERT INTO pg_def VALUES (1)",
				   NULL, 0, NULL, &err),
			 DBR_E_CONSTRAINT);
	assert_string_equal(err.sqlstate, "23505");
	/* With rows: the first row comes, the end is the error. */
	assert_int_equal(dbr_query(db, -1001,
				   "INSERT INTO pg_def VALUES (1) RETURNING id",
				   NULL, 0, &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_int_equal(dbr_result_next(res), DBR_E_CONSTRAINT);
	dbr_result_free(res);
	assert_int_equal(dbr_tx_begin(db, -1001, &tx, &err), DBR_OK);
	assert_int_equal(dbr_tx_query(tx, "INSERT INTO pg_def VALUES (1)", NULL,
				      0, NULL, &err),
			 DBR_OK);
	assert_int_equal(dbr_tx_commit(tx, &err), DBR_E_CONSTRAINT);
	assert_int_equal(pg_int("SELECT count(*) FROM pg_def"), 1);
	/* The connections went back clean. */
	t_exec(db, -1001, "INSERT INTO pg_def VALUES (2)", NULL, 0);
	assert_int_equal(pg_int("SELECT count(*) FROM pg_def"), 2);
	pg_exec("DROP TABLE pg_def");
}

/*
 * Item b: statements that change a connection's state are refused, or
 * leave nothing behind for the next caller of the one connection (a
 * setting the server reports, changed by set_config(), makes the
 * connection closed rather than pooled). A setting the server does not
 * report (work_mem) cannot be seen without a round trip: a statement that
 * calls set_config() leaves its connection closed whatever it sets.
 */
static void test_postgres__session_state_not_pooled(void **state)
{
	static const char *const sqls[] = {
		"BEGIN",
		"SET work_mem = '1111kB'",
		"SET TIME ZONE 'UTC+5'",
		"SELECT set_config('timezone', 'UTC+5', false)",
		"SELECT set_config('DateStyle', 'German', false)",
		"SELECT set_config('application_name', 'other', false)",
		"SELECT set_config('work_mem', '1111kB', false)",
		"LISTEN pg_chan",
		"PREPARE pg_p AS SELECT 1",
		"DISCARD ALL",
		"DECLARE pg_cur CURSOR WITH HOLD FOR SELECT 1",
	};
	char tz[64], wm[64], ds[64], buf[64], *path;
	struct dbr_error err;
	struct dbr *one;
	size_t i;

	(void)state;
	one = open_pg("dbr_test_one", "max_connections = 1\n", &path);
	db_text(one, "SHOW TimeZone", tz, sizeof(tz));
	db_text(one, "SHOW work_mem", wm, sizeof(wm));
	db_text(one, "SHOW DateStyle", ds, sizeof(ds));
	for (i = 0; i < sizeof(sqls) / sizeof(*sqls); i++) {
		int rc = dbr_query(one, 1, sqls[i], NULL, 0, NULL, &err);

		if (rc)
			fprintf(stderr, "%s: refused: %s\n", sqls[i],
				err.message);
		/* The next caller: no transaction, the same settings. */
		assert_int_equal(writes_commit(one), 1);
		assert_string_equal(
			db_text(one, "SHOW TimeZone", buf, sizeof(buf)), tz);
		assert_string_equal(
			db_text(one, "SHOW work_mem", buf, sizeof(buf)), wm);
		assert_string_equal(
			db_text(one, "SHOW DateStyle", buf, sizeof(buf)), ds);
		assert_string_equal(
			db_text(one, "SHOW application_name", buf, sizeof(buf)),
			"dbr_test_one");
		assert_int_equal(db_int(one, "SELECT count(*) FROM "
					     "pg_prepared_statements WHERE "
					     "name = 'pg_p'"),
				 0);
		assert_int_equal(db_int(one, "SELECT count(*) FROM "
					     "pg_listening_channels()"),
				 0);
		assert_int_equal(db_int(one, "SELECT count(*) FROM pg_cursors "
					     "WHERE name <> ''"),
				 0);
	}
	dbr_close(one);
	free(path);
}

/* COPY is refused, without spinning, and the connection works after. */
static void test_postgres__copy_refused(void **state)
{
	static const char *const sqls[] = {
		"COPY pg_m TO STDOUT",
		"COPY (SELECT generate_series(1, 100000)) TO STDOUT",
		"COPY pg_m FROM STDIN",
	};
	struct dbr_error err;
	char *path;
	struct dbr *one;
	size_t i;

	(void)state;
	one = open_pg("dbr_test_copy", "max_connections = 1\n", &path);
	for (i = 0; i < sizeof(sqls) / sizeof(*sqls); i++) {
		assert_int_not_equal(
			dbr_query(one, 1, sqls[i], NULL, 0, NULL, &err),
			DBR_OK);
		assert_non_null(strstr(err.message, "COPY"));
		assert_int_equal(db_int(one, "SELECT 7"), 7);
	}
	dbr_close(one);
	free(path);
}

/* A failed statement inside a transaction, then rollback: the next
 * caller of the one connection is fine. */
static void test_postgres__failed_tx_rolled_back(void **state)
{
	struct dbr_error err;
	struct dbr_tx *tx;
	struct dbr *one;
	char *path;

	(void)state;
	one = open_pg("dbr_test_one", "max_connections = 1\n", &path);
	assert_int_equal(dbr_tx_begin(one, 1, &tx, &err), DBR_OK);
	assert_int_equal(dbr_tx_query(tx, "SELECT 1/0", NULL, 0, NULL, &err),
			 DBR_E_STMT);
	assert_int_equal(dbr_tx_rollback(tx, &err), DBR_OK);
	assert_int_equal(writes_commit(one), 1);
	dbr_close(one);
	free(path);
}

/*
 * Item c: a read-only source stays read-only whatever its statements
 * set: SET is refused, and set_config() leaves a connection that is not
 * pooled, so a later INSERT fails and stores nothing.
 */
static void test_postgres__readonly_holds(void **state)
{
	struct dbr_error err;
	struct dbr *ro;
	char *path;

	(void)state;
	ro = open_pg("dbr_test_ro", "max_connections = 1\nreadonly = true\n",
		     &path);
	assert_int_equal(dbr_query(ro, 1, "INSERT INTO pg_m (n) VALUES (901)",
				   NULL, 0, NULL, &err),
			 DBR_E_READONLY);
	assert_int_not_equal(dbr_query(ro, 1,
				       "SET default_transaction_read_only = "
				       "off",
				       NULL, 0, NULL, &err),
			     DBR_OK);
	assert_int_equal(dbr_query(ro, 1, "INSERT INTO pg_m (n) VALUES (902)",
				   NULL, 0, NULL, &err),
			 DBR_E_READONLY);
	assert_int_equal(dbr_query(ro, 1,
				   "SELECT set_config("
				   "'default_transaction_read_only', 'off', "
				   "false)",
				   NULL, 0, NULL, &err),
			 DBR_OK);
	assert_int_equal(dbr_query(ro, 1, "INSERT INTO pg_m (n) VALUES (903)",
				   NULL, 0, NULL, &err),
			 DBR_E_READONLY);
	/* RESET ALL returns to the startup packet's value, not to off. */
	dbr_query(ro, 1, "RESET ALL", NULL, 0, NULL, &err);
	assert_int_equal(dbr_query(ro, 1, "INSERT INTO pg_m (n) VALUES (904)",
				   NULL, 0, NULL, &err),
			 DBR_E_READONLY);
	assert_int_equal(pg_int("SELECT count(*) FROM pg_m WHERE n > 900"), 0);
	dbr_close(ro);
	free(path);
}

/*
 * Review 3: inside dbr_tx on a read-only source, read-write mode set
 * before the transaction's first query (SET TRANSACTION READ WRITE, SET
 * LOCAL transaction_read_only, set_config(), also after a SAVEPOINT) made
 * the INSERT that followed commit. The transaction begins read-only with
 * its first query done, so PostgreSQL refuses read-write mode itself.
 */
static void test_postgres__readonly_tx_holds(void **state)
{
	static const char *const tries[][2] = {
		{ "SET TRANSACTION READ WRITE", NULL },
		{ "SET LOCAL transaction_read_only = off", NULL },
		{ "SELECT set_config('transaction_read_only', 'off', true)",
		  NULL },
		{ "SAVEPOINT s", "SET TRANSACTION READ WRITE" },
		{ "SAVEPOINT s", "SET LOCAL transaction_read_only = off" },
	};
	struct dbr_error err;
	struct dbr_tx *tx;
	struct dbr *ro;
	char *path;
	size_t i, j;
	int rc;

	(void)state;
	ro = open_pg("dbr_test_ro_tx", "max_connections = 1\nreadonly = true\n",
		     &path);
	for (i = 0; i < sizeof(tries) / sizeof(*tries); i++) {
		assert_int_equal(dbr_tx_begin(ro, 1, &tx, &err), DBR_OK);
		/* The try is refused by the server (its last statement). */
		for (j = 0, rc = DBR_OK; j < 2 && tries[i][j]; j++)
			rc = dbr_tx_query(tx, tries[i][j], NULL, 0, NULL, &err);
		assert_int_not_equal(rc, DBR_OK);
		rc = dbr_tx_query(tx, "INSERT INTO pg_m (n) VALUES (911)", NULL,
				  0, NULL, &err);
		if (rc == DBR_OK)
			fprintf(stderr, "%s: the INSERT was accepted\n",
				tries[i][0]);
		assert_int_not_equal(rc, DBR_OK);
		dbr_tx_commit(tx, &err);
		assert_int_equal(
			pg_int("SELECT count(*) FROM pg_m WHERE n = 911"), 0);
	}
	/* A read-only transaction still reads. */
	assert_int_equal(dbr_tx_begin(ro, 1, &tx, &err), DBR_OK);
	assert_int_equal(dbr_tx_query(tx, "SELECT 1", NULL, 0, NULL, &err),
			 DBR_OK);
	assert_int_equal(dbr_tx_commit(tx, &err), DBR_OK);
	/* As documented: it has run a query, so no isolation level is set. */
	assert_int_equal(dbr_tx_begin(ro, 1, &tx, &err), DBR_OK);
	assert_int_not_equal(dbr_tx_query(tx,
					  "SET TRANSACTION ISOLATION LEVEL "
					  "SERIALIZABLE",
					  NULL, 0, NULL, &err),
			     DBR_OK);
	assert_non_null(strstr(err.message, "before any query"));
	assert_int_equal(dbr_tx_rollback(tx, &err), DBR_OK);
	dbr_close(ro);
	free(path);
}

/*
 * Review 4: a setting the server does not report (search_path, work_mem
 * on PostgreSQL 15) changed by set_config() leaked to the next caller of
 * the one connection: an INSERT landed in another schema's table. A
 * statement that calls set_config, in any case, leaves its connection
 * closed, not pooled: the next caller has a new backend.
 */
static void test_postgres__set_config_not_pooled(void **state)
{
	char wm[64], buf[64], *path;
	int64_t pid;
	struct dbr *one;

	(void)state;
	pg_exec("DROP SCHEMA IF EXISTS dbr_evil CASCADE");
	pg_exec("DROP TABLE IF EXISTS pg_sp");
	pg_exec("CREATE SCHEMA dbr_evil");
	pg_exec("CREATE TABLE dbr_evil.pg_sp (n INTEGER)");
	pg_exec("CREATE TABLE public.pg_sp (n INTEGER)");
	one = open_pg("dbr_test_sp", "max_connections = 1\n", &path);
	pid = db_int(one, "SELECT pg_backend_pid()");
	assert_true(pid > 0);
	t_exec(one, 1, "SELECT set_config('search_path', 'dbr_evil', false)",
	       NULL, 0);
	assert_int_not_equal(db_int(one, "SELECT pg_backend_pid()"), pid);
	t_exec(one, 1, "INSERT INTO pg_sp VALUES (7)", NULL, 0);
	assert_int_equal(pg_int("SELECT count(*) FROM public.pg_sp"), 1);
	assert_int_equal(pg_int("SELECT count(*) FROM dbr_evil.pg_sp"), 0);
	/* In any case, inside an expression. */
	db_text(one, "SHOW work_mem", wm, sizeof(wm));
	pid = db_int(one, "SELECT pg_backend_pid()");
	t_exec(one, 1,
	       "SELECT 1 FROM (SELECT Pg_Catalog.SET_CONFIG("
	       "'work_mem', '1234kB', false)) s",
	       NULL, 0);
	assert_int_not_equal(db_int(one, "SELECT pg_backend_pid()"), pid);
	assert_string_equal(db_text(one, "SHOW work_mem", buf, sizeof(buf)),
			    wm);
	dbr_close(one);
	free(path);
	pg_exec("DROP SCHEMA dbr_evil CASCADE");
	pg_exec("DROP TABLE pg_sp");
}

/*
 * Issue 15 item 6: `search_path` (a value with a blank, escaped for libpq)
 * and `options` hold on every connection of the source (two at once here,
 * one inside a transaction), and the source's search_path wins over the
 * server's. A session that changes one later is not pooled: the next
 * caller finds the configured values again.
 */
static void test_postgres__session_settings_on_every_connection(void **state)
{
	char buf[128], *path;
	struct dbr_error err;
	struct dbr_tx *tx;
	struct dbr *two;
	int64_t pid;

	(void)state;
	pg_exec("DROP SCHEMA IF EXISTS dbr_app CASCADE");
	pg_exec("CREATE SCHEMA dbr_app");
	pg_exec("CREATE TABLE dbr_app.pg_ss (n INTEGER)");
	two = open_pg("dbr_test_ss",
		      "max_connections = 2\n"
		      "search_path = dbr_app, public\n"
		      "options = -c work_mem=7MB -c lock_timeout=3s\n",
		      &path);
	assert_int_equal(dbr_tx_begin(two, 1, &tx, &err), DBR_OK);
	assert_string_equal(db_text(two, "SHOW search_path", buf, sizeof(buf)),
			    "dbr_app, public");
	assert_string_equal(db_text(two, "SHOW work_mem", buf, sizeof(buf)),
			    "7MB");
	assert_int_equal(dbr_tx_rollback(tx, &err), DBR_OK);
	assert_string_equal(db_text(two, "SHOW lock_timeout", buf, sizeof(buf)),
			    "3s");
	t_exec(two, 1, "INSERT INTO pg_ss VALUES (1)", NULL, 0);
	assert_int_equal(pg_int("SELECT count(*) FROM dbr_app.pg_ss"), 1);
	/* Changed later: that connection is closed, not pooled. */
	pid = db_int(two, "SELECT pg_backend_pid()");
	t_exec(two, 1, "SELECT set_config('search_path', 'public', false)",
	       NULL, 0);
	assert_string_equal(db_text(two, "SHOW search_path", buf, sizeof(buf)),
			    "dbr_app, public");
	assert_int_not_equal(db_int(two, "SELECT pg_backend_pid()"), pid);
	dbr_close(two);
	free(path);
	pg_exec("DROP SCHEMA dbr_app CASCADE");
}

/* Run sql on the one connection of h and check that it was closed after
 * it: the next statement runs on another backend. */
static void closed_after(struct dbr *h, const char *sql)
{
	int64_t pid = db_int(h, "SELECT pg_backend_pid()");

	assert_true(pid > 0);
	t_exec(h, 1, sql, NULL, 0);
	if (db_int(h, "SELECT pg_backend_pid()") == pid)
		fail_msg("pooled after '%s'", sql);
}

/*
 * Review 2, item 1: a temporary table survived in the pool and shadowed
 * the real one (pg_temp is searched first): the next caller's INSERTs
 * went into it and were lost with it. Plain CREATE TEMP is refused; the
 * other forms, and CREATE TEMP inside dbr_tx, close their connection.
 */
static void test_postgres__temp_table_not_pooled(void **state)
{
	static const char *const temps[] = {
		"SELECT 1 AS n INTO TEMP pg_tt",
		"CREATE TABLE pg_temp.pg_tt (n INTEGER)",
	};
	struct dbr_error err;
	struct dbr_tx *tx;
	struct dbr *one;
	char *path;
	size_t i;

	(void)state;
	pg_exec("DROP TABLE IF EXISTS pg_tt");
	pg_exec("CREATE TABLE public.pg_tt (n INTEGER)");
	one = open_pg("dbr_test_tt", "max_connections = 1\n", &path);
	assert_int_equal(dbr_query(one, 1, "CREATE TEMP TABLE pg_tt (n int)",
				   NULL, 0, NULL, &err),
			 DBR_E_MISUSE);
	assert_non_null(strstr(err.message, "ON COMMIT DROP"));
	for (i = 0; i < sizeof(temps) / sizeof(temps[0]); i++) {
		closed_after(one, temps[i]);
		t_exec(one, 1, "INSERT INTO pg_tt VALUES (7)", NULL, 0);
		assert_int_equal(pg_int("SELECT count(*) FROM public.pg_tt"),
				 (int64_t)i + 1);
	}
	assert_int_equal(dbr_tx_begin(one, 1, &tx, &err), DBR_OK);
	assert_int_equal(dbr_tx_query(tx, "CREATE TEMP TABLE pg_tt (n int)",
				      NULL, 0, NULL, &err),
			 DBR_OK);
	assert_int_equal(dbr_tx_commit(tx, &err), DBR_OK);
	t_exec(one, 1, "INSERT INTO pg_tt VALUES (7)", NULL, 0);
	assert_int_equal(pg_int("SELECT count(*) FROM public.pg_tt"), 3);
	/* A column named temp keeps its connection. */
	assert_int_equal(db_int(one, "SELECT pg_backend_pid() AS temp"),
			 db_int(one, "SELECT pg_backend_pid()"));
	dbr_close(one);
	free(path);
	pg_exec("DROP TABLE pg_tt");
}

/*
 * Review 2, item 2: UPDATE pg_settings changed search_path without the
 * text set_config, and the next caller's INSERT went to another schema.
 */
static void test_postgres__pg_settings_not_pooled(void **state)
{
	struct dbr *one;
	char *path;

	(void)state;
	pg_exec("DROP SCHEMA IF EXISTS dbr_evil2 CASCADE");
	pg_exec("DROP TABLE IF EXISTS pg_sp2");
	pg_exec("CREATE SCHEMA dbr_evil2");
	pg_exec("CREATE TABLE dbr_evil2.pg_sp2 (n INTEGER)");
	pg_exec("CREATE TABLE public.pg_sp2 (n INTEGER)");
	one = open_pg("dbr_test_ps", "max_connections = 1\n", &path);
	closed_after(one, "UPDATE pg_settings SET setting = 'dbr_evil2' "
			  "WHERE name = 'search_path'");
	t_exec(one, 1, "INSERT INTO pg_sp2 VALUES (7)", NULL, 0);
	assert_int_equal(pg_int("SELECT count(*) FROM public.pg_sp2"), 1);
	assert_int_equal(pg_int("SELECT count(*) FROM dbr_evil2.pg_sp2"), 0);
	dbr_close(one);
	free(path);
	pg_exec("DROP SCHEMA dbr_evil2 CASCADE");
	pg_exec("DROP TABLE pg_sp2");
}

/* The number of advisory locks on key 7 held by any backend, once the
 * closed backends are gone (waits up to 5 s for them to exit). */
static int64_t advisory_locks_left(void)
{
	int64_t n = -1;
	int i;

	for (i = 0; i < 100; i++) {
		n = pg_int("SELECT count(*) FROM pg_locks WHERE "
			   "locktype = 'advisory' AND objid = 7");
		if (n == 0)
			break;
		pause_ms(50);
	}
	return n;
}

/*
 * Review 2, item 3: a session advisory lock stayed on the pooled backend,
 * LISTEN inside a DO block kept listening, and a procedure may do
 * anything (here: SET). Each closes its connection now.
 */
static void test_postgres__session_locks_not_pooled(void **state)
{
	char wm[64], buf[64], *path;
	struct dbr *one;

	(void)state;
	pg_exec("CREATE OR REPLACE PROCEDURE dbr_p() LANGUAGE plpgsql AS "
		"'BEGIN EXECUTE ''SET work_mem = ''''1234kB''''''; END'");
	one = open_pg("dbr_test_lk", "max_connections = 1\n", &path);
	closed_after(one, "SELECT pg_advisory_lock(7)");
	assert_int_equal(advisory_locks_left(), 0);
	closed_after(one, "SELECT pg_try_advisory_lock_shared(7)");
	assert_int_equal(advisory_locks_left(), 0);
	closed_after(one, "DO $$BEGIN EXECUTE 'LISTEN dbr_chan'; END$$");
	assert_int_equal(
		db_int(one, "SELECT count(*) FROM pg_listening_channels()"), 0);
	db_text(one, "SHOW work_mem", wm, sizeof(wm));
	closed_after(one, "CALL dbr_p()");
	assert_string_equal(db_text(one, "SHOW work_mem", buf, sizeof(buf)),
			    wm);
	/* The transaction-level lock ends with its statement: pooled. */
	assert_int_equal(db_int(one, "SELECT pg_backend_pid() FROM "
				     "(SELECT pg_advisory_xact_lock(7)) s"),
			 db_int(one, "SELECT pg_backend_pid()"));
	dbr_close(one);
	free(path);
	pg_exec("DROP PROCEDURE dbr_p()");
}

/*
 * Review 3, item 1: a comment between INTO and TEMP hid the temporary
 * table from the scan, the connection was pooled, and the next caller's
 * INSERT went into the temporary table and was lost. The same inside
 * dbr_tx, with comments around TEMP in CREATE.
 */
static void test_postgres__commented_temp_not_pooled(void **state)
{
	struct dbr_error err;
	struct dbr_tx *tx;
	struct dbr *one;
	char *path;

	(void)state;
	pg_exec("DROP TABLE IF EXISTS pg_tc");
	pg_exec("CREATE TABLE public.pg_tc (n INTEGER)");
	one = open_pg("dbr_test_tc", "max_connections = 1\n", &path);
	closed_after(one, "SELECT 1 AS n INTO -- c\n TEMP pg_tc");
	t_exec(one, 1, "INSERT INTO pg_tc VALUES (7)", NULL, 0);
	assert_int_equal(pg_int("SELECT count(*) FROM public.pg_tc"), 1);
	assert_int_equal(dbr_tx_begin(one, 1, &tx, &err), DBR_OK);
	assert_int_equal(dbr_tx_query(tx,
				      "CREATE /*a*/ TEMP /*b*/ TABLE pg_tc "
				      "(n int)",
				      NULL, 0, NULL, &err),
			 DBR_OK);
	assert_int_equal(dbr_tx_commit(tx, &err), DBR_OK);
	t_exec(one, 1, "INSERT INTO pg_tc VALUES (7)", NULL, 0);
	assert_int_equal(pg_int("SELECT count(*) FROM public.pg_tc"), 2);
	dbr_close(one);
	free(path);
	pg_exec("DROP TABLE pg_tc");
}

/*
 * Review 3, item 2: ordinary statements - a column named temporary,
 * listen, local or temp, a word in a string literal or a comment - closed
 * their connection, a reconnect and a re-prepare on every call. Each
 * runs twice now on the same backend.
 */
static void test_postgres__ordinary_statements_pooled(void **state)
{
	static const char *const plain[] = {
		"INSERT INTO pg_ord (body) VALUES ('please listen')",
		"INSERT INTO pg_ord (body) VALUES ('only temporary')",
		"SELECT count(*) FROM pg_ord WHERE temporary",
		"SELECT listen FROM pg_ord",
		"UPDATE pg_ord SET local = 1, temp = 2.5",
		"SELECT local, temp FROM pg_ord",
		"SELECT id FROM pg_ord -- we listen here",
		"SELECT count(*) FROM pg_ord WHERE body <> E'it\\'s temp'",
	};
	struct dbr *one;
	int64_t pid;
	char *path;
	size_t i;
	int k;

	(void)state;
	pg_exec("DROP TABLE IF EXISTS pg_ord");
	pg_exec("CREATE TABLE pg_ord (id SERIAL, body TEXT, temporary BOOL "
		"DEFAULT false, listen INTEGER DEFAULT 0, local INTEGER "
		"DEFAULT 0, temp REAL DEFAULT 0)");
	one = open_pg("dbr_test_ord", "max_connections = 1\n", &path);
	pid = db_int(one, "SELECT pg_backend_pid()");
	assert_true(pid > 0);
	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		for (k = 0; k < 2; k++) {
			t_exec(one, 1, plain[i], NULL, 0);
			if (db_int(one, "SELECT pg_backend_pid()") != pid)
				fail_msg("closed after '%s'", plain[i]);
		}
	}
	assert_int_equal(pg_int("SELECT count(*) FROM pg_ord"), 4);
	dbr_close(one);
	free(path);
	pg_exec("DROP TABLE pg_ord");
}

/* Run `SELECT * FROM pg_alt` on both connections of a two-connection
 * pool at once, and check the number of columns each sees. */
static void select_star_twice(struct dbr *two, size_t ncols)
{
	struct dbr_result *a, *b;
	struct dbr_error err;

	if (dbr_query(two, 1, "SELECT * FROM pg_alt", NULL, 0, &a, &err)) {
		fprintf(stderr, "%s\n", err.message);
		fail();
	}
	if (dbr_query(two, 1, "SELECT * FROM pg_alt", NULL, 0, &b, &err)) {
		fprintf(stderr, "%s\n", err.message);
		fail();
	}
	assert_int_equal(dbr_result_column_count(a), ncols);
	assert_int_equal(dbr_result_column_count(b), ncols);
	assert_int_equal(dbr_result_next(a), DBR_ROW);
	assert_int_equal(dbr_result_next(b), DBR_ROW);
	assert_int_equal(dbr_result_next(a), DBR_DONE);
	assert_int_equal(dbr_result_next(b), DBR_DONE);
	dbr_result_free(a);
	dbr_result_free(b);
}

/*
 * Item d: a schema change from another session makes the cached plans of
 * `SELECT *` stale (0A000): outside a transaction each pooled connection
 * prepares it again and runs it; inside one the error is returned, and
 * the statement works again after the rollback.
 */
static void test_postgres__stale_plan_prepared_again(void **state)
{
	struct dbr_error err;
	struct dbr_tx *tx;
	struct dbr *two;
	char *path;

	(void)state;
	pg_exec("DROP TABLE IF EXISTS pg_alt");
	pg_exec("CREATE TABLE pg_alt (a INTEGER, b INTEGER)");
	pg_exec("INSERT INTO pg_alt VALUES (1, 2)");
	two = open_pg("dbr_test_two", "max_connections = 2\n", &path);
	select_star_twice(two, 2);
	pg_exec("ALTER TABLE pg_alt ADD COLUMN c INTEGER");
	select_star_twice(two, 3);
	select_star_twice(two, 3);
	pg_exec("ALTER TABLE pg_alt ALTER COLUMN b TYPE TEXT");
	select_star_twice(two, 3);
	assert_int_equal(dbr_tx_begin(two, 1, &tx, &err), DBR_OK);
	pg_exec("ALTER TABLE pg_alt ALTER COLUMN c TYPE TEXT");
	assert_int_equal(
		dbr_tx_query(tx, "SELECT * FROM pg_alt", NULL, 0, NULL, &err),
		DBR_E_STMT);
	assert_string_equal(err.sqlstate, "0A000");
	assert_int_equal(dbr_tx_rollback(tx, &err), DBR_OK);
	select_star_twice(two, 3);
	dbr_close(two);
	free(path);
	pg_exec("DROP TABLE pg_alt");
}

/*
 * Item e: a backend that stops answering (SIGSTOP) ends a statement and
 * a ping with DBR_E_TIMEOUT, within their bounds (timeout 1 s, statement
 * timeout 1 s: 2 s; 10 s allowed here), and a fresh connection follows.
 */
static void test_postgres__frozen_backend_times_out(void **state)
{
	struct dbr_error err;
	struct dbr *fz;
	char *path;
	double t0;
	int i;

	(void)state;
	fz = open_pg("dbr_test_frozen",
		     "max_connections = 1\ntimeout = 1\n"
		     "statement_timeout = 1\n",
		     &path);
	for (i = 0; i < 2; i++) {
		stopped = (pid_t)db_int(fz, "SELECT pg_backend_pid()");
		assert_true(stopped > 0);
		assert_int_equal(kill(stopped, SIGSTOP), 0);
		t0 = now_s();
		if (i == 0)
			assert_int_equal(dbr_query(fz, 1, "SELECT 1", NULL, 0,
						   NULL, &err),
					 DBR_E_TIMEOUT);
		else
			assert_int_equal(dbr_source_ping(fz, "pg", &err),
					 DBR_E_TIMEOUT);
		assert_true(now_s() - t0 < 10);
		kill(stopped, SIGCONT);
		stopped = 0;
		assert_int_equal(db_int(fz, "SELECT 5"), 5);
	}
	dbr_close(fz);
	free(path);
}

/*
 * Item f (6): every bytea of a row stays valid until the next row, also
 * when a later, larger one would grow a shared buffer.
 */
static void test_postgres__bytea_columns_stay_valid(void **state)
{
	struct dbr_result *res;
	struct dbr_error err;
	struct dbr_value a, b, a2;

	(void)state;
	assert_int_equal(dbr_query(db, -1001,
				   "SELECT '\\x0102'::bytea, "
				   "decode(repeat('ab', 100000), 'hex')",
				   NULL, 0, &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	dbr_result_value(res, 0, &a);
	dbr_result_value(res, 1, &b);
	assert_int_equal(b.len, 100000);
	assert_int_equal(a.len, 2);
	assert_memory_equal(a.u.b, "\x01\x02", 2);
	dbr_result_value(res, 0, &a2);
	assert_memory_equal(a2.u.b, "\x01\x02", 2);
	assert_int_equal((unsigned char)((const char *)b.u.b)[99999], 0xab);
	dbr_result_free(res);
}

/* Item f (3): an impossible parameter count is misuse, at once. */
static void test_postgres__huge_nparams_misuse(void **state)
{
	struct dbr_value p = dbr_int64(1);
	struct dbr_error err;

	(void)state;
	assert_int_equal(
		dbr_query(db, -1001, "SELECT ?", &p, (size_t)-1, NULL, &err),
		DBR_E_MISUSE);
	assert_int_equal(dbr_query(db, -1001, "SELECT ?", &p,
				   (size_t)-1 / 2 + 1, NULL, &err),
			 DBR_E_MISUSE);
	t_exec(db, -1001, "SELECT ?", &p, 1);
}

/*
 * Item f (16): freeing a result after one row of two million does not read
 * them all: the statement is stopped on the server (its sequence is far
 * from 2,000,000), and the source answers at once.
 */
static void test_postgres__half_read_result_stopped(void **state)
{
	struct dbr_result *res;
	struct dbr_error err;
	struct dbr *one;
	char *path;
	int i;

	(void)state;
	pg_exec("DROP SEQUENCE IF EXISTS pg_seq");
	pg_exec("CREATE SEQUENCE pg_seq");
	one = open_pg("dbr_test_half", "max_connections = 1\n", &path);
	assert_int_equal(dbr_query(one, 1,
				   "SELECT nextval('pg_seq'), repeat('x', 50) "
				   "FROM generate_series(1, 2000000)",
				   NULL, 0, &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	dbr_result_free(res);
	assert_int_equal(db_int(one, "SELECT 3"), 3);
	/* The stopped backend is gone within 10 s. */
	for (i = 0; i < 1000 && pg_int("SELECT count(*) FROM pg_stat_activity "
				       "WHERE query LIKE '%pg_seq%' AND "
				       "state = 'active' AND pid <> "
				       "pg_backend_pid()") > 0;
	     i++)
		pause_ms(10);
	assert_true(pg_int("SELECT last_value FROM pg_seq") < 1000000);
	dbr_close(one);
	free(path);
	pg_exec("DROP SEQUENCE pg_seq");
}

/*
 * A result freed half-read is stopped only when it is a query outside a
 * transaction. A write with RETURNING freed after its first row keeps all
 * it did (closing the link would roll it back, although the caller saw
 * its row), and a query freed early inside a transaction leaves the
 * transaction going.
 */
static void test_postgres__half_read_writes_kept(void **state)
{
	struct dbr_result *res;
	struct dbr_error err;
	struct dbr_tx *tx;
	struct dbr *one;
	char *path;

	(void)state;
	pg_exec("DROP TABLE IF EXISTS pg_half");
	pg_exec("CREATE TABLE pg_half (g INT)");
	one = open_pg("dbr_test_half_w", "max_connections = 1\n", &path);
	assert_int_equal(dbr_query(one, 1,
				   "INSERT INTO pg_half SELECT g FROM "
				   "generate_series(1, 5000) g RETURNING g",
				   NULL, 0, &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	dbr_result_free(res);
	assert_int_equal(pg_int("SELECT count(*) FROM pg_half"), 5000);
	/* Inside a transaction, an early free leaves it going. */
	assert_int_equal(dbr_tx_begin(one, 1, &tx, &err), DBR_OK);
	assert_int_equal(dbr_tx_query(tx, "INSERT INTO pg_half VALUES (0)",
				      NULL, 0, NULL, &err),
			 DBR_OK);
	assert_int_equal(dbr_tx_query(tx,
				      "SELECT g FROM generate_series(1, "
				      "200000) g",
				      NULL, 0, &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	dbr_result_free(res);
	assert_int_equal(dbr_tx_commit(tx, &err), DBR_OK);
	assert_int_equal(pg_int("SELECT count(*) FROM pg_half"), 5001);
	dbr_close(one);
	free(path);
	pg_exec("DROP TABLE pg_half");
}

/* Item f (16): a 50 MB bytea comes back whole, and the connection that
 * carried it is replaced (libpq keeps its buffers at their largest). */
static void test_postgres__large_bytea(void **state)
{
	struct dbr_result *res;
	struct dbr_error err;
	struct dbr_value v;
	struct dbr *one;
	char *path;
	int64_t pid;

	(void)state;
	one = open_pg("dbr_test_big", "max_connections = 1\n", &path);
	pid = db_int(one, "SELECT pg_backend_pid()");
	assert_int_equal(dbr_query(one, 1,
				   "SELECT decode(repeat('7f', 50000000), "
				   "'hex')",
				   NULL, 0, &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	dbr_result_value(res, 0, &v);
	assert_int_equal(v.type, DBR_TYPE_BLOB);
	assert_int_equal(v.len, 50000000);
	assert_int_equal(((const char *)v.u.b)[49999999], 0x7f);
	dbr_result_free(res);
	assert_int_not_equal(db_int(one, "SELECT pg_backend_pid()"), pid);
	pid = db_int(one, "SELECT pg_backend_pid()");
	assert_int_equal(db_int(one, "SELECT pg_backend_pid()"), pid);
	dbr_close(one);
	free(path);
}

/*
 * Item g: a diverted operation is remembered only when it wrote: not a
 * SELECT, but an INSERT and a SELECT of a function that inserts.
 */
static void test_postgres__diverted_reads_not_writes(void **state)
{
	char text[2048], *path;
	int64_t chats[8];
	uint64_t beyond;
	struct dbr *dv;
	size_t n, i;
	bool seen[3] = { false, false, false };

	(void)state;
	pg_exec("DROP TABLE IF EXISTS pg_dv");
	pg_exec("CREATE TABLE pg_dv (n INTEGER)");
	pg_exec("CREATE OR REPLACE FUNCTION pg_dv_f() RETURNS INTEGER "
		"LANGUAGE sql AS 'INSERT INTO pg_dv VALUES (1) RETURNING n'");
	snprintf(text, sizeof(text),
		 "[database]\ndefault_source = pg\nfallback = default\n"
		 "retry_interval = 60\n"
		 "[source.pg]\ntype = postgres\nconninfo = %s\n"
		 "[source.pg_down]\ntype = postgres\n"
		 "conninfo = host=127.0.0.1 port=1 dbname=x\ntimeout = 1\n"
		 "[chat_mapping]\n-7 = pg_down\n-8 = pg_down\n-9 = pg_down\n",
		 conninfo);
	path = t_write(dir, "divert.ini", text);
	dv = t_open(path);
	t_exec(dv, -7, "SELECT 1", NULL, 0);
	t_exec(dv, -8, "INSERT INTO pg_dv VALUES (2)", NULL, 0);
	t_exec(dv, -9, "SELECT pg_dv_f()", NULL, 0);
	assert_int_equal(
		dbr_source_diverted_chats(dv, "pg_down", chats, 8, &n, &beyond),
		DBR_OK);
	for (i = 0; i < n; i++)
		if (chats[i] <= -7 && chats[i] >= -9)
			seen[-7 - chats[i]] = true;
	assert_false(seen[0]);
	assert_true(seen[1]);
	assert_true(seen[2]);
	assert_int_equal(pg_int("SELECT count(*) FROM pg_dv"), 2);
	dbr_close(dv);
	free(path);
	pg_exec("DROP FUNCTION pg_dv_f()");
	pg_exec("DROP TABLE pg_dv");
}

struct pg_kill_later {
	pid_t pid;
};

/* Stop the backend, let the sender fill the socket, then end it. */
static void *kill_later(void *arg)
{
	const struct pg_kill_later *k = arg;

	pause_ms(300);
	kill(k->pid, SIGTERM);
	kill(k->pid, SIGCONT);
	return NULL;
}

/*
 * Item h (5): a backend that dies while a 64 MB parameter is being sent
 * does not kill this process with SIGPIPE (left at its default here):
 * the statement fails and the source answers again.
 */
static void test_postgres__no_sigpipe(void **state)
{
	const size_t size = (size_t)64 << 20;
	struct pg_kill_later k;
	struct dbr_error err;
	struct dbr_value p;
	struct dbr *one;
	pthread_t t;
	char *path, *big;
	int rc;

	(void)state;
	signal(SIGPIPE, SIG_DFL);
	big = calloc(1, size);
	assert_non_null(big);
	one = open_pg("dbr_test_pipe", "max_connections = 1\ntimeout = 5\n",
		      &path);
	k.pid = (pid_t)db_int(one, "SELECT pg_backend_pid()");
	assert_true(k.pid > 0);
	assert_int_equal(kill(k.pid, SIGSTOP), 0);
	assert_int_equal(pthread_create(&t, NULL, kill_later, &k), 0);
	p = dbr_blob(big, size);
	rc = dbr_query(one, 1, "SELECT length(?)", &p, 1, NULL, &err);
	pthread_join(t, NULL);
	assert_int_not_equal(rc, DBR_OK);
	assert_int_equal(db_int(one, "SELECT 4"), 4);
	dbr_close(one);
	free(path);
	free(big);
}

/* Item h (15): no file descriptor left to connect is a local resource
 * error, and the source stays available. */
static void test_postgres__no_fd_is_resource(void **state)
{
	struct rlimit old, low;
	struct dbr_error err;
	struct dbr *one;
	char *path;
	int fd, rc, st;

	(void)state;
	one = open_pg("dbr_test_fd", "", &path);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	low = old;
	low.rlim_cur = (rlim_t)fd + 1;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	rc = dbr_query(one, 1, "SELECT 1", NULL, 0, NULL, &err);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	close(fd);
	assert_int_equal(rc, DBR_E_RESOURCE);
	assert_non_null(strstr(err.message, "EMFILE"));
	assert_int_equal(dbr_source_status(one, NULL, &st, NULL, NULL), DBR_OK);
	assert_int_equal(st, DBR_SOURCE_AVAILABLE);
	assert_int_equal(db_int(one, "SELECT 6"), 6);
	dbr_close(one);
	free(path);
}

/*
 * A loopback proxy between dbroute and the server, on a Unix socket of its
 * own: it forwards both ways until the client sends a DEALLOCATE, and from
 * then on drops what the server says on that link, so that the DEALLOCATE
 * (and anything after it) waits out its deadline. Other links go on.
 */
#define PROXY_LINKS 4

struct proxy {
	int lfd;
	int cfd[PROXY_LINKS], sfd[PROXY_LINKS];
	bool frozen[PROXY_LINKS];
	struct sockaddr_un up; /* the server's socket */
	char conninfo[512];    /* a conninfo that reaches the server through
				  the proxy */
	atomic_bool stop;
	atomic_int deallocates; /* links frozen so far */
	pthread_t thread;
};

static void proxy_close(struct proxy *p, int i)
{
	close(p->cfd[i]);
	close(p->sfd[i]);
	p->cfd[i] = p->sfd[i] = -1;
	p->frozen[i] = false;
}

static void proxy_accept(struct proxy *p)
{
	int c = accept(p->lfd, NULL, NULL), s, i;

	if (c < 0)
		return;
	for (i = 0; i < PROXY_LINKS && p->cfd[i] >= 0; i++)
		;
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (i == PROXY_LINKS || s < 0 ||
	    connect(s, (struct sockaddr *)&p->up, sizeof(p->up))) {
		close(c);
		if (s >= 0)
			close(s);
		return;
	}
	p->cfd[i] = c;
	p->sfd[i] = s;
}

/* Move what one side of link i has to the other; false at its end. */
static bool proxy_move(struct proxy *p, int i, bool from_client)
{
	char buf[65536];
	ssize_t n =
		recv(from_client ? p->cfd[i] : p->sfd[i], buf, sizeof(buf), 0);

	if (n <= 0)
		return false;
	if (from_client && memmem(buf, (size_t)n, "DEALLOCATE", 10) &&
	    !p->frozen[i]) {
		p->frozen[i] = true;
		atomic_fetch_add(&p->deallocates, 1);
	}
	if (!from_client && p->frozen[i])
		return true;
	return send(from_client ? p->sfd[i] : p->cfd[i], buf, (size_t)n,
		    MSG_NOSIGNAL) == n;
}

/* Each round's poll is bounded, and the test stops the proxy. */
static void *proxy_main(void *arg)
{
	struct proxy *p = arg;
	struct pollfd pf[1 + 2 * PROXY_LINKS];
	int i, n;

	while (!atomic_load(&p->stop)) {
		pf[0] = (struct pollfd){ p->lfd, POLLIN, 0 };
		for (i = 0; i < PROXY_LINKS; i++) {
			pf[1 + 2 * i] = (struct pollfd){ p->cfd[i], POLLIN, 0 };
			pf[2 + 2 * i] = (struct pollfd){ p->sfd[i], POLLIN, 0 };
		}
		n = poll(pf, 1 + 2 * PROXY_LINKS, 20);
		if (n <= 0)
			continue;
		if (pf[0].revents)
			proxy_accept(p);
		for (i = 0; i < PROXY_LINKS; i++) {
			if (p->cfd[i] < 0)
				continue;
			if ((pf[1 + 2 * i].revents &&
			     !proxy_move(p, i, true)) ||
			    (pf[2 + 2 * i].revents && !proxy_move(p, i, false)))
				proxy_close(p, i);
		}
	}
	for (i = 0; i < PROXY_LINKS; i++)
		if (p->cfd[i] >= 0)
			proxy_close(p, i);
	return NULL;
}

/* Start a proxy to the server `check` is connected to (over its Unix
 * socket), listening in a new folder under dir. */
static struct proxy *proxy_start(void)
{
	struct proxy *p = calloc(1, sizeof(*p));
	struct sockaddr_un a = { 0 };
	const char *port = PQport(check);
	char *pdir;
	int i;

	assert_non_null(p);
	if (!port || !*port)
		port = "5432";
	pdir = t_path(dir, "proxy");
	assert_true(mkdir(pdir, 0700) == 0 || access(pdir, F_OK) == 0);
	p->up.sun_family = AF_UNIX;
	snprintf(p->up.sun_path, sizeof(p->up.sun_path), "%s/.s.PGSQL.%s",
		 PQhost(check), port);
	a.sun_family = AF_UNIX;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/.s.PGSQL.%s", pdir, port);
	unlink(a.sun_path);
	snprintf(p->conninfo, sizeof(p->conninfo),
		 "host=%s port=%s dbname=%s user=%s", pdir, port, PQdb(check),
		 PQuser(check));
	free(pdir);
	for (i = 0; i < PROXY_LINKS; i++)
		p->cfd[i] = p->sfd[i] = -1;
	p->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(p->lfd >= 0);
	assert_int_equal(bind(p->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(p->lfd, 16), 0);
	atomic_init(&p->stop, false);
	atomic_init(&p->deallocates, 0);
	assert_int_equal(pthread_create(&p->thread, NULL, proxy_main, p), 0);
	return p;
}

static void proxy_stop(struct proxy *p)
{
	atomic_store(&p->stop, true);
	pthread_join(p->thread, NULL);
	close(p->lfd);
	free(p);
}

/* A handle whose source `pg` (max_connections = 1, timeout = 1) reaches
 * the server through proxy p. */
static struct dbr *open_proxied(const struct proxy *p, const char *name,
				char **path)
{
	char text[2048];

	snprintf(text, sizeof(text),
		 "[database]\nretry_interval = 0\n"
		 "[source.pg]\ntype = postgres\nconninfo = %s\n"
		 "max_connections = 1\ntimeout = 1\n",
		 p->conninfo);
	*path = t_write(dir, name, text);
	return t_open(*path);
}

/*
 * Review 1: a cached statement whose plan went stale inside a transaction
 * is prepared again at its next use outside one, after a DEALLOCATE of
 * its old name; when that DEALLOCATE times out and the link is closed,
 * the statement being prepared again was freed with the whole cache and
 * then written to (ASan: heap-use-after-free). Now it fails with the
 * timeout, and the next call runs on a new connection.
 */
static void test_postgres__deallocate_timeout_in_reprepare(void **state)
{
	struct proxy *p = proxy_start();
	struct dbr_error err;
	struct dbr_tx *tx;
	struct dbr *one;
	char *path;

	(void)state;
	pg_exec("DROP TABLE IF EXISTS pg_uaf");
	pg_exec("CREATE TABLE pg_uaf (a INTEGER)");
	pg_exec("INSERT INTO pg_uaf VALUES (1)");
	one = open_proxied(p, "uaf.ini", &path);
	assert_int_equal(db_int(one, "SELECT * FROM pg_uaf"), 1);
	pg_exec("ALTER TABLE pg_uaf ADD COLUMN b INTEGER");
	assert_int_equal(dbr_tx_begin(one, 1, &tx, &err), DBR_OK);
	assert_int_equal(
		dbr_tx_query(tx, "SELECT * FROM pg_uaf", NULL, 0, NULL, &err),
		DBR_E_STMT);
	assert_int_equal(dbr_tx_rollback(tx, &err), DBR_OK);
	assert_int_equal(atomic_load(&p->deallocates), 0);
	assert_int_equal(
		dbr_query(one, 1, "SELECT * FROM pg_uaf", NULL, 0, NULL, &err),
		DBR_E_TIMEOUT);
	assert_int_equal(atomic_load(&p->deallocates), 1);
	assert_int_equal(db_int(one, "SELECT * FROM pg_uaf"), 1);
	dbr_close(one);
	proxy_stop(p);
	free(path);
	pg_exec("DROP TABLE pg_uaf");
}

/*
 * Review 2: the 65th distinct statement evicts the least recently used
 * one from the 64-entry cache, whose DEALLOCATE times out; closing the
 * link cleared the cache, the evicted statement among them, and the
 * eviction then freed it again (double free). Now the statement fails
 * with the timeout, and the next call runs on a new connection.
 */
static void test_postgres__deallocate_timeout_in_eviction(void **state)
{
	struct proxy *p = proxy_start();
	struct dbr_error err;
	struct dbr *one;
	char *path, sql[32];
	int i;

	(void)state;
	one = open_proxied(p, "evict.ini", &path);
	for (i = 0; i < 64; i++) {
		snprintf(sql, sizeof(sql), "SELECT %d", i);
		assert_int_equal(db_int(one, sql), i);
	}
	assert_int_equal(atomic_load(&p->deallocates), 0);
	assert_int_equal(dbr_query(one, 1, "SELECT 64", NULL, 0, NULL, &err),
			 DBR_E_TIMEOUT);
	assert_int_equal(atomic_load(&p->deallocates), 1);
	assert_int_equal(db_int(one, "SELECT 65"), 65);
	dbr_close(one);
	proxy_stop(p);
	free(path);
}

/*
 * Review 6: float4, float8 and numeric are read the same under an
 * application's LC_NUMERIC with a decimal comma (strtod read "1.5" as 1
 * there; the driver's own locale is made at load, under any LC_NUMERIC).
 */
static void test_postgres__numbers_ignore_locale(void **state)
{
	struct dbr_result *res = NULL;
	struct dbr_error err;
	double d[4] = { 0, 0, 0, 0 };
	int rc, i;

	(void)state;
	if (!t_comma_locale(dir)) {
		fprintf(stderr, "no de_DE.UTF-8 locale and localedef failed: "
				"skipped\n");
		skip();
	}
	/* The locale is in effect (checked after it is undone, so that a
	 * failure does not leave it so). */
	d[0] = strtod("1.5", NULL);
	rc = dbr_query(db, -1001,
		       "SELECT 1.5::float8, 2.25::float4, 3.125::numeric", NULL,
		       0, &res, &err);
	if (rc == DBR_OK && dbr_result_next(res) == DBR_ROW)
		for (i = 1; i < 4; i++)
			d[i] = dbr_result_double(res, (size_t)i - 1);
	dbr_result_free(res);
	t_c_locale();
	assert_int_equal(rc, DBR_OK);
	assert_true(d[0] == 1.0);
	assert_true(d[1] == 1.5);
	assert_true(d[2] == 2.25);
	assert_true(d[3] == 3.125);
}

/*
 * The example chat bot's CREATE TABLE, read from examples/chatbot.c (its
 * string literals joined), holds a real Telegram group id on PostgreSQL:
 * a chat id column of type INTEGER (int4) overflows.
 */
static void test_postgres__example_schema_holds_group_ids(void **state)
{
	char *src = t_read(DBR_TEST_DIR "/../examples/chatbot.c");
	char sql[1024], renamed[1100];
	struct dbr_value p = dbr_int64(-1001234567890);
	const char *at, *q;
	size_t n = 0;

	(void)state;
	assert_non_null(src);
	at = strstr(src, "CREATE TABLE");
	assert_non_null(at);
	/* Back to the literal's opening quote, then every literal up to ;. */
	while (at > src && at[-1] != '"')
		at--;
	for (q = at; *q && *q != ';';) {
		while (*q && *q != '"' && n < sizeof(sql) - 1)
			sql[n++] = *q++;
		if (*q == '"')
			q++; /* the closing quote */
		while (*q && *q != '"' && *q != ';')
			q++;
		if (*q == '"')
			q++; /* the next literal's opening quote */
	}
	sql[n] = '\0';
	free(src);
	at = strstr(sql, "messages");
	assert_non_null(at);
	snprintf(renamed, sizeof(renamed), "%.*spg_chatbot_%s", (int)(at - sql),
		 sql, at);
	PQclear(PQexec(check, "DROP TABLE IF EXISTS pg_chatbot_messages"));
	t_exec(db, -1001, renamed, NULL, 0);
	t_exec(db, -1001,
	       "INSERT INTO pg_chatbot_messages (chat_id, message_id) "
	       "VALUES (?, 1)",
	       &p, 1);
	assert_int_equal(pg_int("SELECT count(*) FROM pg_chatbot_messages "
				"WHERE chat_id = -1001234567890"),
			 1);
	PQclear(PQexec(check, "DROP TABLE pg_chatbot_messages"));
}

/* An empty statement fails as on SQLite, with a message that says so. */
static void test_postgres__empty_statement_named(void **state)
{
	static const char *const empty[] = { "", "  ", "-- nothing\n",
					     "/* x */" };
	struct dbr_result *res;
	struct dbr_error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		assert_int_equal(dbr_query_source(db, "pg", empty[i], NULL, 0,
						  &res, &err),
				 DBR_E_STMT);
		assert_null(res);
		assert_non_null(strstr(err.message, "empty statement"));
		assert_int_equal(dbr_query_source(db, "lite", empty[i], NULL, 0,
						  &res, &err),
				 DBR_E_STMT);
		assert_non_null(strstr(err.message, "empty statement"));
	}
	/* The source is still good. */
	assert_int_equal(
		dbr_query_source(db, "pg", "SELECT 1", NULL, 0, NULL, &err),
		DBR_OK);
}

/* Fill err with garbage, as an uninitialised struct on the stack may be. */
static void err_garbage(struct dbr_error *err)
{
	memset(err, 0xa5, sizeof(*err));
}

static void assert_reserved_zero(const struct dbr_error *err)
{
	size_t i;

	assert_non_null(err->hint);
	for (i = 0; i < sizeof(err->reserved) / sizeof(err->reserved[0]); i++)
		assert_true(err->reserved[i] == 0);
}

/*
 * A serialization failure (SQLSTATE 40001), reported by the driver through
 * the host's set_error, is retryable with its own hint; a constraint error
 * (23505) is not. Every field is set over a struct full of garbage.
 */
static void test_postgres__serialization_failure_retryable(void **state)
{
	struct dbr_result *res;
	struct dbr_error err;
	struct dbr_tx *tx;

	(void)state;
	pg_exec("DROP TABLE IF EXISTS pg_ser");
	pg_exec("CREATE TABLE pg_ser (id INTEGER PRIMARY KEY, n INTEGER)");
	pg_exec("INSERT INTO pg_ser VALUES (1, 0)");
	assert_int_equal(dbr_tx_begin_source(db, "pg", &tx, &err), DBR_OK);
	assert_int_equal(dbr_tx_query(tx,
				      "SET TRANSACTION ISOLATION LEVEL "
				      "REPEATABLE READ",
				      NULL, 0, NULL, &err),
			 DBR_OK);
	assert_int_equal(
		dbr_tx_query(tx, "SELECT n FROM pg_ser", NULL, 0, NULL, &err),
		DBR_OK);
	/* Another session changes the row after the snapshot was taken. */
	pg_exec("UPDATE pg_ser SET n = 1 WHERE id = 1");
	err_garbage(&err);
	assert_int_equal(dbr_tx_query(tx,
				      "UPDATE pg_ser SET n = 2 WHERE id = 1",
				      NULL, 0, NULL, &err),
			 DBR_E_STMT);
	assert_string_equal(err.sqlstate, "40001");
	assert_true(err.retryable);
	assert_string_equal(err.hint, "run the whole transaction again");
	assert_string_equal(err.source, "pg");
	assert_false(err.truncated);
	assert_reserved_zero(&err);
	assert_int_equal(dbr_tx_rollback(tx, &err), DBR_OK);

	err_garbage(&err);
	assert_int_equal(dbr_query_source(db, "pg",
					  "INSERT INTO pg_ser VALUES (1, 0)",
					  NULL, 0, &res, &err),
			 DBR_E_CONSTRAINT);
	assert_null(res);
	assert_string_equal(err.sqlstate, "23505");
	assert_false(err.retryable);
	assert_true(strlen(err.hint) > 0);
	assert_reserved_zero(&err);
	pg_exec("DROP TABLE pg_ser");
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
		cmocka_unit_test(test_postgres__connect_refusals_classified),
		cmocka_unit_test(test_postgres__deferred_constraint_fails),
		cmocka_unit_test(test_postgres__session_state_not_pooled),
		cmocka_unit_test(test_postgres__copy_refused),
		cmocka_unit_test(test_postgres__failed_tx_rolled_back),
		cmocka_unit_test(test_postgres__readonly_holds),
		cmocka_unit_test(test_postgres__readonly_tx_holds),
		cmocka_unit_test(test_postgres__set_config_not_pooled),
		cmocka_unit_test(
			test_postgres__session_settings_on_every_connection),
		cmocka_unit_test(test_postgres__temp_table_not_pooled),
		cmocka_unit_test(test_postgres__pg_settings_not_pooled),
		cmocka_unit_test(test_postgres__session_locks_not_pooled),
		cmocka_unit_test(test_postgres__commented_temp_not_pooled),
		cmocka_unit_test(test_postgres__ordinary_statements_pooled),
		cmocka_unit_test(test_postgres__stale_plan_prepared_again),
		cmocka_unit_test(test_postgres__frozen_backend_times_out),
		cmocka_unit_test(test_postgres__bytea_columns_stay_valid),
		cmocka_unit_test(test_postgres__huge_nparams_misuse),
		cmocka_unit_test(test_postgres__half_read_result_stopped),
		cmocka_unit_test(test_postgres__half_read_writes_kept),
		cmocka_unit_test(test_postgres__large_bytea),
		cmocka_unit_test(test_postgres__diverted_reads_not_writes),
		cmocka_unit_test(test_postgres__no_sigpipe),
		cmocka_unit_test(test_postgres__no_fd_is_resource),
		cmocka_unit_test(
			test_postgres__deallocate_timeout_in_reprepare),
		cmocka_unit_test(test_postgres__deallocate_timeout_in_eviction),
		cmocka_unit_test(test_postgres__numbers_ignore_locale),
		cmocka_unit_test(test_postgres__example_schema_holds_group_ids),
		cmocka_unit_test(test_postgres__empty_statement_named),
		cmocka_unit_test(
			test_postgres__serialization_failure_retryable),
	};

	int rc = t_need_server("DBR_TEST_PG", "PostgreSQL server");

	if (rc)
		return rc;
	/* DBR_TEST_FILTER=test_postgres__read* runs some cases only. */
	if (getenv("DBR_TEST_FILTER"))
		cmocka_set_test_filter(getenv("DBR_TEST_FILTER"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
