/*
 * test_conformance.c - the suite every driver passes, its cases chosen by
 * the source's capabilities:
 *
 *   test_conformance sqlite | postgres | mysql
 *   test_conformance --config FILE --source NAME [--types I,R,T,B]
 *                    [--readonly-source NAME] [--probe STATEMENT]
 *
 * The first form runs a built-in driver on a configuration of its own. The
 * second runs any driver, a plugin built out of tree included, on the
 * caller's source NAME: every source gets the ping case, and the probe
 * case when there is a probe statement ("SELECT 1" on SQL; a key-value
 * source needs --probe, or the case is skipped, saying so), which must
 * return a row; SQL sources the SQL cases, on a table conf_v created with
 * the column types I,R,T,B (integer, real, text, blob; default the SQLite
 * ones); sources with transactions the transaction cases, which need the
 * source to allow two connections (max_connections >= 2: one held by a
 * transaction, one to read beside it; refused at the start otherwise);
 * --readonly-source (a `readonly = true` source on the same database) the
 * read-only case. The cases that need one connection throughout use a
 * second handle on the same configuration, used by one call at a time.
 *
 * The PostgreSQL run needs DBR_TEST_PG (a conninfo), the MariaDB run
 * DBR_TEST_MYSQL (a Unix socket; user dbr, password in
 * DBR_TEST_MYSQL_PASSWORD, database dbroute_test): scripts/test.sh starts
 * both servers and sets them. Without its server a run is skipped (exit
 * 77), unless DBR_TEST_STRICT is set, as scripts/test.sh does, when it
 * fails.
 */
#include <float.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "helpers.h"

struct dialect {
	const char *driver;
	const char *int_type, *real_type, *text_type, *blob_type;
};

static const struct dialect dialects[] = {
	{ "sqlite", "INTEGER", "REAL", "TEXT", "BLOB" },
	{ "postgres", "BIGINT", "DOUBLE PRECISION", "TEXT", "BYTEA" },
	{ "mysql", "BIGINT", "DOUBLE", "LONGTEXT", "LONGBLOB" },
};

static const struct dialect *d;
static char *dir;
static struct dbr *db;

/*
 * The run: the source under test, its read-only twin (or NULL) and one
 * that uses a single connection: "one" (max_connections = 1) of db for
 * a built-in driver, else the source itself on its own handle one_db,
 * which never runs two calls at once, so its pool opens one connection.
 */
static const char *src = "db", *ro_src = "ro", *one_src = "one";
static struct dbr *one_db;

/* The open transaction of the running case, rolled back after it. */
static struct dbr_tx *tx;
static const char *config_file, *probe;
static struct dialect custom = { NULL, "INTEGER", "REAL", "TEXT", "BLOB" };
static char types[256];
static unsigned flags;

/*
 * Three sources on one database: "db", its read-only twin "ro" and "one",
 * whose pool holds a single connection, so that every caller gets the
 * connection the previous one used.
 */
static char *write_config(void)
{
	const char *pg = getenv("DBR_TEST_PG");
	char where[1024], text[4096];

	if (!strcmp(d->driver, "sqlite"))
		snprintf(where, sizeof(where), "path = conformance.db");
	else if (!strcmp(d->driver, "mysql"))
		snprintf(where, sizeof(where),
			 "unix_socket = %s\nuser = dbr\ndatabase = "
			 "dbroute_test\npassword_env = DBR_TEST_MYSQL_PASSWORD",
			 getenv("DBR_TEST_MYSQL"));
	else
		snprintf(where, sizeof(where), "conninfo = %s", pg);
	snprintf(text, sizeof(text),
		 "[database]\ndefault_source = db\n"
		 "[source.db]\ntype = %s\n%s\ntimeout = 5\n"
		 "[source.ro]\ntype = %s\n%s\nreadonly = true\n"
		 "[source.one]\ntype = %s\n%s\nmax_connections = 1\n",
		 d->driver, where, d->driver, where, d->driver, where);
	return t_write(dir, "conformance.ini", text);
}

static void exec(const char *sql, const struct dbr_value *p, size_t n)
{
	struct dbr_error err;

	if (dbr_query_source(db, src, sql, p, n, NULL, &err)) {
		fprintf(stderr, "%s: %s\n", sql, err.message);
		fail();
	}
}

/* The flags of source name (0 when there is none). */
static unsigned source_flags(const char *name)
{
	struct dbr_source_info info = { .size = sizeof(info) };

	return dbr_source_info(db, name, &info, NULL) ? 0 : info.flags;
}

/*
 * The transaction cases read beside an open transaction: with a single
 * connection the read would wait for the transaction's own until the
 * pool's deadline and fail, leaving the transaction open.
 */
static int two_connections(void)
{
	struct dbr_source_stats st = { .size = sizeof(st) };
	struct dbr_error err;

	if (dbr_source_stats(db, src, &st, &err)) {
		fprintf(stderr, "%s\n", err.message);
		return -1;
	}
	if (st.pool_max >= 2)
		return 0;
	fprintf(stderr,
		"source '%s' allows %u connection%s (max_connections): the "
		"transaction cases need 2 connections, one held by a "
		"transaction and one to read beside it\n",
		src, (unsigned)st.pool_max, st.pool_max == 1 ? "" : "s");
	return -1;
}

static int setup(void **state)
{
	struct dbr_open_options o = { .size = sizeof(o),
				      .log_fn = t_count_cache_misses,
				      .log_level = DBR_LOG_DEBUG };
	struct dbr_error err;
	char sql[512], *path = NULL;

	(void)state;
	dir = t_tmpdir();
	if (!config_file)
		path = write_config();
	if (dbr_open(&db, config_file ? config_file : path, &o, &err)) {
		fprintf(stderr, "%s\n", err.message);
		free(path);
		return -1;
	}
	free(path);
	flags = source_flags(src);
	if (!flags) {
		fprintf(stderr, "no source '%s'\n", src);
		return -1;
	}
	one_db = db;
	if (config_file) {
		if ((flags & DBR_SOURCE_TRANSACTIONS) && two_connections())
			return -1;
		if (dbr_open(&one_db, config_file, &o, &err)) {
			fprintf(stderr, "%s\n", err.message);
			return -1;
		}
	}
	if (!(flags & DBR_SOURCE_SQL))
		return 0;
	exec("DROP TABLE IF EXISTS conf_v", NULL, 0);
	snprintf(sql, sizeof(sql),
		 "CREATE TABLE conf_v (id %s PRIMARY KEY, i %s, r %s, s %s, "
		 "b %s)",
		 d->int_type, d->int_type, d->real_type, d->text_type,
		 d->blob_type);
	exec(sql, NULL, 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (flags & DBR_SOURCE_SQL)
		dbr_query_source(db, src, "DROP TABLE IF EXISTS conf_v", NULL,
				 0, NULL, NULL);
	if (one_db != db)
		dbr_close(one_db);
	dbr_close(db);
	t_rmtree(dir);
	free(dir);
	return 0;
}

static int each_setup(void **state)
{
	(void)state;
	if (flags & DBR_SOURCE_SQL)
		exec("DELETE FROM conf_v", NULL, 0);
	return 0;
}

/* A case that failed with its transaction open must not hold the
 * connection through the cases after it. */
static int each_teardown(void **state)
{
	(void)state;
	if (tx)
		dbr_tx_rollback(tx, NULL);
	tx = NULL;
	return 0;
}

/* A statement on the source under test. */
static int q(const char *sql, const struct dbr_value *p, size_t n,
	     struct dbr_result **res, struct dbr_error *err)
{
	return dbr_query_source(db, src, sql, p, n, res, err);
}

/* Every source answers a ping. */
static void test_conformance__ping(void **state)
{
	struct dbr_error err;

	(void)state;
	if (dbr_source_ping(db, src, &err))
		fail_msg("%s", err.message);
}

/* The probe statement returns a row whose columns have names and values
 * of the five types; the result freed half-read leaves the source usable. */
static void test_conformance__probe(void **state)
{
	struct dbr_result *res;
	struct dbr_error err;
	struct dbr_value v;
	size_t i;
	int round;

	(void)state;
	for (round = 0; round < 2; round++) {
		if (q(probe, NULL, 0, &res, &err))
			fail_msg("%s: %s", probe, err.message);
		assert_int_equal(dbr_result_next(res), DBR_ROW);
		assert_true(dbr_result_column_count(res) > 0);
		for (i = 0; i < dbr_result_column_count(res); i++) {
			assert_non_null(dbr_result_column_name(res, i));
			dbr_result_value(res, i, &v);
			assert_true(v.type >= DBR_TYPE_NULL &&
				    v.type <= DBR_TYPE_BLOB);
		}
		dbr_result_free(res);
	}
}

/* Store v in column col of a new row and compare what comes back. */
static void round_trip(const char *col, struct dbr_value v)
{
	static int64_t id;
	struct dbr_value p[2] = { dbr_int64(++id), v }, got;
	struct dbr_result *res;
	struct dbr_error err;
	char sql[128];

	snprintf(sql, sizeof(sql), "INSERT INTO conf_v (id, %s) VALUES (?, ?)",
		 col);
	exec(sql, p, 2);
	snprintf(sql, sizeof(sql), "SELECT %s FROM conf_v WHERE id = ?", col);
	assert_int_equal(q(sql, p, 1, &res, &err), DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	dbr_result_value(res, 0, &got);
	assert_int_equal(got.type, v.type);
	if (v.type == DBR_TYPE_INT64)
		assert_true(got.u.i == v.u.i);
	else if (v.type == DBR_TYPE_DOUBLE)
		assert_memory_equal(&got.u.d, &v.u.d, sizeof(double));
	else if (v.type == DBR_TYPE_TEXT || v.type == DBR_TYPE_BLOB) {
		assert_int_equal(got.len, v.len);
		if (v.len)
			assert_memory_equal(got.u.b, v.u.b, v.len);
	}
	assert_int_equal(dbr_result_next(res), DBR_DONE);
	dbr_result_free(res);
}

static void test_conformance__values(void **state)
{
	static const char blob[] = { 0, 'a', 0, (char)0xff, 0 };
	static const char utf8[] = "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5"
				   "\xd1\x82, \xe4\xb8\x96\xe7\x95\x8c "
				   "\xf0\x9f\x91\x8b";

	(void)state;
	round_trip("i", dbr_null());
	round_trip("s", dbr_null());
	round_trip("b", dbr_null());
	round_trip("i", dbr_int64(0));
	round_trip("i", dbr_int64(INT64_MIN));
	round_trip("i", dbr_int64(INT64_MAX));
	round_trip("r", dbr_double(1.5));
	round_trip("r", dbr_double(-0.1));
	round_trip("r", dbr_double(DBL_MAX));
	round_trip("r", dbr_double(DBL_MIN));
	round_trip("s", dbr_text("", 0));
	round_trip("s", dbr_text("plain", 5));
	round_trip("s", dbr_text(utf8, strlen(utf8)));
	round_trip("s", dbr_text("what? ?? $1 :x", 14));
	round_trip("b", dbr_blob(blob, sizeof(blob)));
	round_trip("b", dbr_blob("", 0));
}

/* NULL and the empty string are different values. */
static void test_conformance__null_is_not_empty(void **state)
{
	struct dbr_value p[4] = { dbr_int64(1), dbr_text("", 0), dbr_int64(2),
				  dbr_null() };
	struct dbr_result *res;
	struct dbr_error err;

	(void)state;
	exec("INSERT INTO conf_v (id, s) VALUES (?, ?), (?, ?)", p, 4);
	assert_int_equal(q("SELECT id FROM conf_v WHERE s = '' "
			   "ORDER BY id",
			   NULL, 0, &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_int_equal(dbr_result_int64(res, 0), 1);
	assert_int_equal(dbr_result_next(res), DBR_DONE);
	dbr_result_free(res);
}

static void test_conformance__placeholders_in_literals(void **state)
{
	struct dbr_value p = dbr_text("x", 1);
	struct dbr_result *res;
	struct dbr_error err;

	(void)state;
	assert_int_equal(q("SELECT '?' AS q, ? AS p, 'a''?' AS "
			   "r /* ? */ -- ?\n",
			   &p, 1, &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_column_count(res), 3);
	assert_string_equal(dbr_result_column_name(res, 1), "p");
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_string_equal(dbr_result_text(res, 0, NULL), "?");
	assert_string_equal(dbr_result_text(res, 1, NULL), "x");
	assert_string_equal(dbr_result_text(res, 2, NULL), "a'?");
	dbr_result_free(res);
}

/*
 * One placeholder syntax on every SQL driver: `?` binds the next parameter
 * and the backends' own forms are refused as misuse, naming the form;
 * inside literals, quoted identifiers and comments they are text.
 */
static void test_conformance__other_placeholders_refused(void **state)
{
	static const char *const sql[] = {
		"SELECT ?5", "SELECT ?, ?1", "SELECT $1",    "SELECT :x",
		"SELECT @x", "SELECT $x",    "SELECT ?, :a",
	};
	static const char *const form[] = { "'?5'", "'?1'", "'$1'", "':x'",
					    "'@x'", "'$x'", "':a'" };
	struct dbr_value p[2] = { dbr_int64(1), dbr_int64(2) };
	struct dbr_result *res;
	struct dbr_error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(sql) / sizeof(*sql); i++) {
		assert_int_equal(q(sql[i], p, 2, NULL, &err), DBR_E_MISUSE);
		assert_non_null(strstr(err.message, form[i]));
	}
	assert_int_equal(q("SELECT ? AS \":a ?1\", "
			   "':x @y $z ?5 $1 ?"
			   "?' AS t, "
			   "CAST(? AS CHAR) /* :c $1 */ -- @d\n",
			   p, 2, &res, &err),
			 DBR_OK);
	assert_string_equal(dbr_result_column_name(res, 0), ":a ?1");
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_int_equal(dbr_result_int64(res, 0), 1);
	assert_string_equal(dbr_result_text(res, 1, NULL), ":x @y $z ?5 $1 ?"
							   "?");
	assert_string_equal(dbr_result_text(res, 2, NULL), "2");
	dbr_result_free(res);
}

static void test_conformance__hostile_text_verbatim(void **state)
{
	static const char hostile[] = "x'); DROP TABLE conf_v; --";
	struct dbr_value p[2] = { dbr_int64(9),
				  dbr_text(hostile, strlen(hostile)) };
	struct dbr_result *res;
	struct dbr_error err;

	(void)state;
	exec("INSERT INTO conf_v (id, s) VALUES (?, ?)", p, 2);
	assert_int_equal(
		q("SELECT s FROM conf_v WHERE s = ?", &p[1], 1, &res, &err),
		DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_string_equal(dbr_result_text(res, 0, NULL), hostile);
	dbr_result_free(res);
}

static void test_conformance__constraint_category(void **state)
{
	struct dbr_value p = dbr_int64(5);
	struct dbr_error err;

	(void)state;
	exec("INSERT INTO conf_v (id) VALUES (?)", &p, 1);
	assert_int_equal(
		q("INSERT INTO conf_v (id) VALUES (?)", &p, 1, NULL, &err),
		DBR_E_CONSTRAINT);
	assert_string_equal(err.source, src);
	if (d->driver && !strcmp(d->driver, "postgres"))
		assert_string_equal(err.sqlstate, "23505");
	if (d->driver && !strcmp(d->driver, "mysql")) {
		assert_string_equal(err.sqlstate, "23000");
		assert_int_equal(err.native_code, 1062); /* ER_DUP_ENTRY */
	}
}

static int64_t count_rows(void)
{
	struct dbr_result *res;
	struct dbr_error err;
	int64_t n;

	assert_int_equal(q("SELECT count(*) FROM conf_v", NULL, 0, &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	n = dbr_result_int64(res, 0);
	dbr_result_free(res);
	return n;
}

static void test_conformance__transactions(void **state)
{
	struct dbr_value p = dbr_int64(1);
	struct dbr_error err;
	struct dbr_tx *t;

	(void)state;
	assert_int_equal(dbr_tx_begin_source(db, src, &tx, &err), DBR_OK);
	assert_int_equal(dbr_tx_query(tx, "INSERT INTO conf_v (id) VALUES (?)",
				      &p, 1, NULL, &err),
			 DBR_OK);
	assert_int_equal(count_rows(), 0); /* another connection: unseen */
	t = tx;
	tx = NULL;
	assert_int_equal(dbr_tx_rollback(t, &err), DBR_OK);
	assert_int_equal(count_rows(), 0);
	assert_int_equal(dbr_tx_begin_source(db, src, &tx, &err), DBR_OK);
	assert_int_equal(dbr_tx_query(tx, "INSERT INTO conf_v (id) VALUES (?)",
				      &p, 1, NULL, &err),
			 DBR_OK);
	t = tx;
	tx = NULL;
	assert_int_equal(dbr_tx_commit(t, &err), DBR_OK);
	assert_int_equal(count_rows(), 1);
}

static void test_conformance__statement_cache_hit(void **state)
{
	struct dbr_value p = dbr_int64(3);
	int i;

	(void)state;
	atomic_store(&t_cache_misses, 0);
	for (i = 0; i < 5; i++)
		exec("SELECT i FROM conf_v WHERE id = ? AND 1 = 1", &p, 1);
	assert_int_equal(atomic_load(&t_cache_misses), 1);
}

/* The cache holds 64 statements: the least recently used one goes. */
static void test_conformance__statement_cache_evicts_lru(void **state)
{
	char sql[64];
	int i;

	(void)state;
	atomic_store(&t_cache_misses, 0);
	for (i = 0; i < 70; i++) {
		snprintf(sql, sizeof(sql), "SELECT %d + 1 AS n", i);
		exec(sql, NULL, 0);
	}
	assert_int_equal(atomic_load(&t_cache_misses), 70);
	exec("SELECT 69 + 1 AS n", NULL, 0); /* still cached */
	assert_int_equal(atomic_load(&t_cache_misses), 70);
	exec("SELECT 0 + 1 AS n", NULL, 0); /* evicted: prepared again */
	assert_int_equal(atomic_load(&t_cache_misses), 71);
}

static void test_conformance__readonly_refuses_writes(void **state)
{
	struct dbr_value p = dbr_int64(77);
	struct dbr_error err;

	(void)state;
	assert_int_equal(dbr_query_source(db, ro_src,
					  "INSERT INTO conf_v (id) "
					  "VALUES (?)",
					  &p, 1, NULL, &err),
			 DBR_E_READONLY);
	assert_string_equal(err.source, ro_src);
	assert_int_equal(count_rows(), 0);
}

static void test_conformance__one_statement_per_call(void **state)
{
	struct dbr_error err;

	(void)state;
	assert_int_equal(q("INSERT INTO conf_v (id) VALUES (1); "
			   "INSERT INTO conf_v (id) VALUES (2)",
			   NULL, 0, NULL, &err),
			 DBR_E_STMT);
	assert_non_null(strstr(err.message, "text after the first statement"));
	assert_int_equal(count_rows(), 0);
}

static void test_conformance__changes_and_streaming(void **state)
{
	struct dbr_result *res;
	struct dbr_error err;
	struct dbr_value p;
	int64_t i, n = 0;

	(void)state;
	for (i = 1; i <= 500; i++) {
		p = dbr_int64(i);
		exec("INSERT INTO conf_v (id, i) VALUES (?, 1)", &p, 1);
	}
	assert_int_equal(q("UPDATE conf_v SET i = 2 WHERE id "
			   "<= 300",
			   NULL, 0, &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_DONE);
	assert_int_equal(dbr_result_changes(res), 300);
	dbr_result_free(res);
	assert_int_equal(
		q("SELECT id FROM conf_v ORDER BY id", NULL, 0, &res, &err),
		DBR_OK);
	while (dbr_result_next(res) == DBR_ROW)
		assert_int_equal(dbr_result_int64(res, 0), ++n);
	assert_int_equal(n, 500);
	dbr_result_free(res);
	/* A result freed half-read leaves the connection usable. */
	assert_int_equal(
		q("SELECT id FROM conf_v ORDER BY id", NULL, 0, &res, &err),
		DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	dbr_result_free(res);
	assert_int_equal(count_rows(), 500);
	/* No rows: the columns are still known. */
	assert_int_equal(q("SELECT id, s FROM conf_v WHERE id "
			   "< 0",
			   NULL, 0, &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_column_count(res), 2);
	assert_string_equal(dbr_result_column_name(res, 1), "s");
	assert_int_equal(dbr_result_next(res), DBR_DONE);
	dbr_result_free(res);
}

/*
 * Transaction control through plain dbr_query would leave the pooled
 * connection inside a transaction, and the next callers' acknowledged
 * writes would be lost: it is refused as misuse (DBR_E_MISUSE), and the
 * writes that follow on the same connection are visible to another one.
 */
static void test_conformance__tx_control_refused(void **state)
{
	static const char *const refused[] = {
		"BEGIN",	 "begin",	"COMMIT",    "ROLLBACK",
		"END",		 "SAVEPOINT a", "RELEASE a", "ROLLBACK TO a",
		"/* c */ BEGIN", "-- c\nBEGIN",
	};
	struct dbr_value p;
	struct dbr_error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		if (dbr_query_source(one_db, one_src, refused[i], NULL, 0, NULL,
				     &err) != DBR_E_MISUSE)
			fail_msg("not refused: '%s'", refused[i]);
		assert_string_equal(err.source, one_src);
	}
	assert_non_null(strstr(err.message, "dbr_tx_begin"));
	for (i = 1; i <= 3; i++) {
		p = dbr_int64((int64_t)i);
		assert_int_equal(dbr_query_source(one_db, one_src,
						  "INSERT INTO conf_v (id) "
						  "VALUES (?)",
						  &p, 1, NULL, &err),
				 DBR_OK);
	}
	assert_int_equal(count_rows(), 3);
}

/* Savepoints work inside a transaction; its end stays dbr_tx_*'s. */
static void test_conformance__savepoint_in_transaction(void **state)
{
	struct dbr_value p[2] = { dbr_int64(1), dbr_int64(2) };
	struct dbr_error err;
	struct dbr_tx *t;

	(void)state;
	assert_int_equal(dbr_tx_begin_source(one_db, one_src, &tx, &err),
			 DBR_OK);
	assert_int_equal(dbr_tx_query(tx, "INSERT INTO conf_v (id) VALUES (?)",
				      &p[0], 1, NULL, &err),
			 DBR_OK);
	assert_int_equal(dbr_tx_query(tx, "SAVEPOINT sp", NULL, 0, NULL, &err),
			 DBR_OK);
	assert_int_equal(dbr_tx_query(tx, "INSERT INTO conf_v (id) VALUES (?)",
				      &p[1], 1, NULL, &err),
			 DBR_OK);
	assert_int_equal(dbr_tx_query(tx, "ROLLBACK TO SAVEPOINT sp", NULL, 0,
				      NULL, &err),
			 DBR_OK);
	assert_int_equal(
		dbr_tx_query(tx, "RELEASE SAVEPOINT sp", NULL, 0, NULL, &err),
		DBR_OK);
	assert_int_equal(dbr_tx_query(tx, "COMMIT", NULL, 0, NULL, &err),
			 DBR_E_MISUSE);
	t = tx;
	tx = NULL;
	assert_int_equal(dbr_tx_commit(t, &err), DBR_OK);
	assert_int_equal(count_rows(), 1);
	/* The connection is back in the pool outside any transaction. */
	p[0] = dbr_int64(3);
	assert_int_equal(dbr_query_source(one_db, one_src,
					  "INSERT INTO conf_v (id) VALUES (?)",
					  &p[0], 1, NULL, &err),
			 DBR_OK);
	assert_int_equal(count_rows(), 2);
}

static void record_summary(void *ud, const struct dbr_migrate_event *ev)
{
	if (ev->kind == DBR_MIGRATE_SOURCE)
		*(struct dbr_migrate_event *)ud = *ev;
}

/*
 * dbroute migrate reads a source's version table; a missing one must read
 * as version 0, told without an error's text: the driver's has_table
 * (ABI 2.1), else SQLSTATE 42P01 or 42S02. A dry run writes nothing.
 */
static void test_conformance__missing_version_table(void **state)
{
	const char *names[2] = { src, NULL };
	struct dbr_migrate_options o = { sizeof(o), names, 0, 0,
					 DBR_MIGRATE_DRY_RUN };
	struct dbr_migrate_event sum = { 0 };
	struct dbr_error err;
	char *mig = t_path(dir, "conf_migrations");
	char *file;

	(void)state;
	assert_int_equal(mkdir(mig, 0755), 0);
	file = t_write(mig, "0001_conf.sql", "SELECT 1;\n");
	if (dbr_migrate(db, mig, &o, record_summary, &sum, &err))
		fail_msg("%s", err.message);
	assert_int_equal(sum.state, DBR_MIGRATE_PENDING);
	assert_int_equal(sum.version, 0);
	assert_int_equal(sum.pending, 1);
	free(file);
	free(mig);
}

/* What a case needs of the source. */
enum need { ANY = 0, SQL = 1, TX = 2, RO = 4 };

struct conf_case {
	struct CMUnitTest test;
	unsigned need;
};

#define C(name, need)                                                          \
	{                                                                      \
		cmocka_unit_test_setup_teardown(name, each_setup,              \
						each_teardown),                \
			need                                                   \
	}
static const struct conf_case cases[] = {
	C(test_conformance__ping, ANY),
	C(test_conformance__probe, ANY),
	C(test_conformance__values, SQL),
	C(test_conformance__null_is_not_empty, SQL),
	C(test_conformance__placeholders_in_literals, SQL),
	C(test_conformance__other_placeholders_refused, SQL),
	C(test_conformance__hostile_text_verbatim, SQL),
	C(test_conformance__constraint_category, SQL),
	C(test_conformance__transactions, SQL | TX),
	C(test_conformance__statement_cache_hit, SQL),
	C(test_conformance__statement_cache_evicts_lru, SQL),
	C(test_conformance__readonly_refuses_writes, SQL | RO),
	C(test_conformance__one_statement_per_call, SQL),
	C(test_conformance__changes_and_streaming, SQL),
	C(test_conformance__tx_control_refused, SQL),
	C(test_conformance__savepoint_in_transaction, SQL | TX),
	C(test_conformance__missing_version_table, SQL),
};
#undef C

static int usage(void)
{
	fprintf(stderr, "usage: test_conformance sqlite|postgres|mysql\n"
			"       test_conformance --config FILE --source NAME "
			"[--types INT,REAL,TEXT,BLOB]\n"
			"                        [--readonly-source NAME] "
			"[--probe STATEMENT]\n");
	return 2;
}

/* --types I,R,T,B into custom. */
static bool parse_types(const char *arg)
{
	const char **out[4] = { &custom.int_type, &custom.real_type,
				&custom.text_type, &custom.blob_type };
	char *p, *comma;
	size_t i;

	snprintf(types, sizeof(types), "%s", arg);
	for (i = 0, p = types; i < 4; i++) {
		comma = strchr(p, ',');
		if ((comma == NULL) != (i == 3) || p == comma || !*p)
			return false;
		if (comma)
			*comma = '\0';
		*out[i] = p;
		p = comma + 1;
	}
	return true;
}

static int parse_args(int argc, char **argv)
{
	int i;
	size_t k;

	for (k = 0; argc == 2 && k < sizeof(dialects) / sizeof(*dialects); k++)
		if (!strcmp(argv[1], dialects[k].driver))
			d = &dialects[k];
	if (d)
		return 0;
	d = &custom;
	ro_src = NULL;
	src = NULL;
	for (i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--config"))
			config_file = argv[i + 1];
		else if (!strcmp(argv[i], "--source"))
			src = argv[i + 1];
		else if (!strcmp(argv[i], "--readonly-source"))
			ro_src = argv[i + 1];
		else if (!strcmp(argv[i], "--probe"))
			probe = argv[i + 1];
		else if (strcmp(argv[i], "--types") ||
			 !parse_types(argv[i + 1]))
			return usage();
	}
	if (i != argc || !config_file || !src)
		return usage();
	one_src = src;
	return 0;
}

int main(int argc, char **argv)
{
	struct CMUnitTest run[sizeof(cases) / sizeof(cases[0])];
	size_t i, n = 0;
	unsigned have;
	int rc;

	rc = parse_args(argc, argv);
	if (rc)
		return rc;
	if (d->driver && !strcmp(d->driver, "postgres") &&
	    (rc = t_need_server("DBR_TEST_PG", "PostgreSQL server")))
		return rc;
	if (d->driver && !strcmp(d->driver, "mysql") &&
	    (rc = t_need_server("DBR_TEST_MYSQL", "MariaDB server")))
		return rc;
	if (setup(NULL))
		return 1;
	if (!probe)
		probe = flags & DBR_SOURCE_SQL ? "SELECT 1" : NULL;
	if (!probe)
		fprintf(stderr,
			"note: no --probe for key-value source '%s': "
			"the probe case is skipped\n",
			src);
	have = (flags & DBR_SOURCE_SQL ? SQL : 0) |
	       (flags & DBR_SOURCE_TRANSACTIONS ? TX : 0) | (ro_src ? RO : 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if ((cases[i].need & have) != cases[i].need)
			continue;
		if (cases[i].test.test_func == test_conformance__probe &&
		    !probe)
			continue;
		run[n++] = cases[i].test;
	}
	rc = _cmocka_run_group_tests(d->driver ? d->driver : src, run, n, NULL,
				     NULL);
	teardown(NULL);
	return rc;
}
