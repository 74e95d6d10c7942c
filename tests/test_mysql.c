/*
 * test_mysql.c - the MariaDB/MySQL plugin against a real server (started
 * by scripts/test.sh: DBR_TEST_MYSQL is its socket, user dbr with the
 * password in DBR_TEST_MYSQL_PASSWORD): binary data and utf8mb4, values
 * of 16 MiB and one larger than the server's packet, a statement that
 * outlives the timeout (killed on the server), a read-only source that
 * refuses every write form, a changed session not pooled, the server
 * killed and started again. Runs alone (it stops the server).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mysql.h>

#include "catalog.h"
#include "config.h"
#include "handle.h"
#include "helpers.h"
#include "sqllex.h"
#include "sqlscan.h"

static char *dir, *config;
static struct dbr *db;
static MYSQL *check; /* root, to look behind dbroute */

static MYSQL *root_link(void)
{
	MYSQL *m = mysql_init(NULL);

	if (!m || !mysql_real_connect(m, NULL, "root", NULL, "dbroute_test", 0,
				      getenv("DBR_TEST_MYSQL"), 0)) {
		fprintf(stderr, "root: %s\n", m ? mysql_error(m) : "no memory");
		mysql_close(m);
		return NULL;
	}
	return m;
}

static void my_exec(const char *sql)
{
	if (mysql_query(check, sql)) {
		fprintf(stderr, "%s: %s\n", sql, mysql_error(check));
		fail();
	}
}

/* The first column of the first row, as an integer (-1: none). */
static long long my_int(const char *sql)
{
	MYSQL_RES *r;
	MYSQL_ROW row;
	long long v = -1;

	if (mysql_query(check, sql) || !(r = mysql_store_result(check))) {
		fprintf(stderr, "%s: %s\n", sql, mysql_error(check));
		return -1;
	}
	row = mysql_fetch_row(r);
	if (row && row[0])
		v = strtoll(row[0], NULL, 10);
	mysql_free_result(r);
	return v;
}

static void pause_ms(long ms)
{
	nanosleep(&(struct timespec){ ms / 1000, (ms % 1000) * 1000000L },
		  NULL);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int setup(void **state)
{
	char text[2048];
	const char *sock = getenv("DBR_TEST_MYSQL");

	(void)state;
	dir = t_tmpdir();
	snprintf(text, sizeof(text),
		 "[database]\ndefault_source = my\nretry_interval = 1\n"
		 "[source.my]\ntype = mysql\nunix_socket = %s\nuser = dbr\n"
		 "database = dbroute_test\n"
		 "password_env = DBR_TEST_MYSQL_PASSWORD\ntimeout = 1\n"
		 "[source.one]\ntype = mysql\nunix_socket = %s\nuser = dbr\n"
		 "database = dbroute_test\n"
		 "password_env = DBR_TEST_MYSQL_PASSWORD\nmax_connections = 1\n"
		 "[source.ro]\ntype = mysql\nunix_socket = %s\nuser = dbr\n"
		 "database = dbroute_test\n"
		 "password_env = DBR_TEST_MYSQL_PASSWORD\nreadonly = true\n"
		 "[source.tcp]\ntype = mysql\nhost = 127.0.0.1\nport = %s\n"
		 "user = dbr\ndatabase = dbroute_test\n"
		 "password_env = DBR_TEST_MYSQL_PASSWORD\n",
		 sock, sock, sock, getenv("DBR_TEST_MYSQL_PORT"));
	config = t_write(dir, "my.ini", text);
	check = root_link();
	if (!check)
		return -1;
	db = t_open(config);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dbr_close(db);
	if (check) {
		mysql_query(check, "DROP TABLE IF EXISTS my_t");
		mysql_query(check, "DROP FUNCTION IF EXISTS my_writes");
		mysql_query(check, "DROP PROCEDURE IF EXISTS my_sets");
		mysql_close(check);
	}
	t_rmtree(dir);
	free(dir);
	free(config);
	return 0;
}

static int each_setup(void **state)
{
	(void)state;
	if (!check)
		check = root_link();
	if (!check)
		return -1;
	my_exec("DROP TABLE IF EXISTS my_t");
	my_exec("CREATE TABLE my_t (id BIGINT AUTO_INCREMENT PRIMARY KEY, "
		"s LONGTEXT, b LONGBLOB)");
	return 0;
}

static int q(const char *source, const char *sql, const struct dbr_value *p,
	     size_t n, struct dbr_result **res, struct dbr_error *err)
{
	return dbr_query_source(db, source, sql, p, n, res, err);
}

/* Every byte value in a blob, and 4-byte UTF-8 (an emoji) in text, come
 * back unchanged; the insert id and the matched rows are reported. */
static void test_mysql__binary_and_utf8mb4(void **state)
{
	static const char emoji[] = "chat \xf0\x9f\x98\x80 \xf0\x9f\x91\x8b";
	struct dbr_value p[2], v;
	struct dbr_result *res;
	struct dbr_error err;
	unsigned char all[256];
	int64_t id = 0;
	int i;

	(void)state;
	for (i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	p[0] = dbr_text(emoji, strlen(emoji));
	p[1] = dbr_blob(all, sizeof(all));
	assert_int_equal(q("my", "INSERT INTO my_t (s, b) VALUES (?, ?)", p, 2,
			   &res, &err),
			 DBR_OK);
	assert_true(dbr_result_last_insert_id(res, &id));
	assert_int_equal(id, 1);
	dbr_result_free(res);
	assert_int_equal(q("my", "SELECT s, b, LENGTH(s) FROM my_t", NULL, 0,
			   &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	dbr_result_value(res, 0, &v);
	assert_int_equal(v.type, DBR_TYPE_TEXT);
	assert_string_equal(v.u.s, emoji);
	dbr_result_value(res, 1, &v);
	assert_int_equal(v.type, DBR_TYPE_BLOB);
	assert_int_equal(v.len, sizeof(all));
	assert_memory_equal(v.u.b, all, sizeof(all));
	assert_int_equal(dbr_result_int64(res, 2), (int64_t)strlen(emoji));
	dbr_result_free(res);
	/* An UPDATE that changes nothing still matched its row. */
	assert_int_equal(q("my", "UPDATE my_t SET s = s", NULL, 0, &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_changes(res), 1);
	dbr_result_free(res);
}

/* A 16 MiB value both ways; one larger than the server's packet limit is
 * a statement error, and the source stays up. */
static void test_mysql__huge_values(void **state)
{
	size_t big = (size_t)16 << 20, over = (size_t)40 << 20, i;
	char *buf = malloc(over);
	struct dbr_value p, v;
	struct dbr_result *res;
	struct dbr_error err;
	int st;

	(void)state;
	assert_non_null(buf);
	for (i = 0; i < over; i++)
		buf[i] = (char)(i * 7 + i / 1000);
	p = dbr_blob(buf, big);
	assert_int_equal(
		q("my", "INSERT INTO my_t (b) VALUES (?)", &p, 1, NULL, &err),
		DBR_OK);
	assert_int_equal(q("my", "SELECT b FROM my_t", NULL, 0, &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	dbr_result_value(res, 0, &v);
	assert_int_equal(v.len, big);
	assert_memory_equal(v.u.b, buf, big);
	dbr_result_free(res);
	p = dbr_blob(buf, over);
	st = q("my", "INSERT INTO my_t (b) VALUES (?)", &p, 1, NULL, &err);
	assert_int_equal(st, DBR_E_STMT);
	assert_int_equal(dbr_source_ping(db, "my", &err), DBR_OK);
	assert_int_equal(dbr_source_status(db, "my", &st, NULL, NULL), DBR_OK);
	assert_int_equal(st, DBR_SOURCE_AVAILABLE);
	free(buf);
}

/* A statement that outlives the timeout (1 s) fails with DBR_E_TIMEOUT
 * and is killed on the server. */
static void test_mysql__timeout_kills_query(void **state)
{
	struct dbr_error err;
	double t0 = now_s();
	long long left = -1;
	int i;

	(void)state;
	i = q("my", "SELECT SLEEP(30) AS dbr_timeout_probe", NULL, 0, NULL,
	      &err);
	if (i != DBR_E_TIMEOUT)
		fail_msg("%d after %.1f s: %s", i, now_s() - t0, err.message);
	assert_true(now_s() - t0 < 10);
	for (i = 0; i < 100; i++) {
		left = my_int("SELECT COUNT(*) FROM information_schema."
			      "processlist WHERE info LIKE "
			      "'%dbr_timeout_probe%' AND info NOT LIKE "
			      "'%processlist%'");
		if (left == 0)
			break;
		pause_ms(50);
	}
	assert_int_equal(left, 0);
	assert_int_equal(q("my", "SELECT 1", NULL, 0, NULL, &err), DBR_OK);
}

/* Write helpers created through the writable source. */
static void make_routines(void)
{
	my_exec("DROP FUNCTION IF EXISTS my_writes");
	my_exec("CREATE FUNCTION my_writes() RETURNS INT MODIFIES SQL DATA "
		"BEGIN INSERT INTO my_t (s) VALUES ('f'); RETURN 1; END");
	my_exec("DROP PROCEDURE IF EXISTS my_sets");
	my_exec("CREATE PROCEDURE my_sets() "
		"SET SESSION sql_mode = 'ANSI_QUOTES'");
}

/* Every form of write is refused on a read-only source, before or by the
 * server, and nothing is written. */
static void test_mysql__readonly_refuses_every_write(void **state)
{
	static const char *const writes[] = {
		"INSERT INTO my_t (s) VALUES ('x')",
		"REPLACE INTO my_t (s) VALUES ('x')",
		"UPDATE my_t SET s = 'x'",
		"DELETE FROM my_t",
		"TRUNCATE TABLE my_t",
		"CREATE TABLE my_t2 (a INT)",
		"DROP TABLE my_t",
		"ALTER TABLE my_t ADD COLUMN c INT",
		"RENAME TABLE my_t TO my_t3",
		"SET SESSION TRANSACTION READ WRITE",
		"SET STATEMENT tx_read_only = 0 FOR INSERT INTO my_t (s) "
		"VALUES ('x')",
		"EXECUTE IMMEDIATE 'INSERT INTO my_t (s) VALUES (1)'",
		"CALL my_sets()",
		"DO my_writes()",
		"SELECT my_writes()",
		"(SELECT my_writes())",
		"SELECT 1 INTO OUTFILE '/tmp/dbr_my_outfile'",
		"/*! INSERT INTO my_t (s) VALUES ('x') */",
		"SELECT 1 /*! INTO OUTFILE '/tmp/dbr_my_outfile2' */",
		"WITH w AS (SELECT 1) SELECT my_writes() FROM w",
		"ANALYZE SELECT my_writes()",
		"EXPLAIN ANALYZE SELECT my_writes()",
		"GRANT SELECT ON my_t TO 'dbr_ro'@'localhost'",
		"LOCK TABLES my_t WRITE",
		"HANDLER my_t OPEN",
		"LOAD DATA INFILE '/etc/hostname' INTO TABLE my_t",
		"XA START 'x'",
	};
	struct dbr_error err;
	size_t i;
	int rc;

	(void)state;
	make_routines();
	for (i = 0; i < sizeof(writes) / sizeof(*writes); i++) {
		rc = q("ro", writes[i], NULL, 0, NULL, &err);
		if (rc != DBR_E_READONLY && rc != DBR_E_MISUSE)
			fail_msg("not refused (%d): %s: %s", rc, writes[i],
				 rc ? err.message : "");
	}
	assert_int_equal(my_int("SELECT COUNT(*) FROM my_t"), 0);
	assert_int_equal(my_int("SELECT COUNT(*) FROM information_schema."
				"tables WHERE table_name IN ('my_t2', "
				"'my_t3')"),
			 0);
	assert_int_equal(
		q("ro", "SELECT COUNT(*) FROM my_t", NULL, 0, NULL, &err),
		DBR_OK);
	assert_int_equal(q("ro", "SHOW TABLES", NULL, 0, NULL, &err), DBR_OK);
	assert_int_equal(q("ro", "DESCRIBE my_t", NULL, 0, NULL, &err), DBR_OK);
}

/* The session's id on the one-connection source. */
static int64_t session_id(void)
{
	struct dbr_result *res;
	struct dbr_error err;
	int64_t id;

	assert_int_equal(
		q("one", "SELECT CONNECTION_ID()", NULL, 0, &res, &err),
		DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	id = dbr_result_int64(res, 0);
	dbr_result_free(res);
	return id;
}

/*
 * A connection whose session changed (a procedure set a variable: no
 * guard sees it) is not pooled again; a plain statement keeps it.
 */
static void test_mysql__changed_session_not_pooled(void **state)
{
	struct dbr_error err;
	int64_t a, b;

	(void)state;
	make_routines();
	a = session_id();
	assert_int_equal(q("one", "INSERT INTO my_t (s) VALUES ('a')", NULL, 0,
			   NULL, &err),
			 DBR_OK);
	b = session_id();
	assert_true(a == b);
	assert_int_equal(q("one", "CALL my_sets()", NULL, 0, NULL, &err),
			 DBR_OK);
	b = session_id();
	assert_true(a != b);
	assert_int_equal(
		q("one", "SET SESSION sql_mode = ''", NULL, 0, NULL, &err),
		DBR_E_MISUSE);
	assert_int_equal(q("one", "CREATE TEMPORARY TABLE tt (a INT)", NULL, 0,
			   NULL, &err),
			 DBR_E_MISUSE);
	assert_int_equal(q("one", "USE mysql", NULL, 0, NULL, &err),
			 DBR_E_MISUSE);
}

/* Whether the user lock `name` is free, waited for (bounded): a closed
 * session's locks are released by the server shortly after. */
static bool lock_freed(const char *name)
{
	char sql[128];
	int i;

	snprintf(sql, sizeof(sql), "SELECT IS_FREE_LOCK('%s')", name);
	for (i = 0; i < 100; i++) {
		if (my_int(sql) == 1)
			return true;
		pause_ms(20);
	}
	return false;
}

/*
 * A user lock (GET_LOCK, also spelled `GET_LOCK`, taken by a stored
 * function or procedure, or after 1--1) never stays with a pooled
 * connection: it is released (RELEASE_ALL_LOCKS) or the connection
 * closed. FLUSH ... WITH READ LOCK and BACKUP are refused.
 */
static void test_mysql__user_locks_not_pooled(void **state)
{
	static const char *const takes[] = {
		"SELECT GET_LOCK('k1', 0)",	  "SELECT `GET_LOCK`('k1', 0)",
		"SELECT `get_lock` ('k1', 0)",	  "SELECT my_lock()",
		"SELECT dbroute_test.my_lock()",  "CALL my_lockp()",
		"SELECT 1--1, GET_LOCK('k1', 0)",
	};
	static const char *const refused[] = {
		"FLUSH TABLES WITH READ LOCK",
		"FLUSH TABLES my_t WITH READ LOCK",
		"flush /* x */ tables my_t for export",
		"BACKUP STAGE START",
		"BACKUP LOCK my_t",
	};
	struct dbr_error err;
	struct dbr_tx *tx;
	int64_t a;
	size_t i;

	(void)state;
	my_exec("DROP FUNCTION IF EXISTS my_lock");
	my_exec("CREATE FUNCTION my_lock() RETURNS INT NO SQL "
		"RETURN GET_LOCK('k1', 0)");
	my_exec("DROP PROCEDURE IF EXISTS my_lockp");
	my_exec("CREATE PROCEDURE my_lockp() DO GET_LOCK('k1', 0)");
	for (i = 0; i < sizeof(takes) / sizeof(*takes); i++) {
		if (q("one", takes[i], NULL, 0, NULL, &err))
			fail_msg("%s: %s", takes[i], err.message);
		if (!lock_freed("k1"))
			fail_msg("lock kept after %s", takes[i]);
	}
	/* A stored function's lock is released, the connection kept. */
	a = session_id();
	assert_int_equal(q("one", "SELECT my_lock()", NULL, 0, NULL, &err),
			 DBR_OK);
	assert_true(lock_freed("k1"));
	assert_true(session_id() == a);
	/* Inside a transaction the lock lasts until it ends. */
	assert_int_equal(dbr_tx_begin_source(db, "one", &tx, &err), DBR_OK);
	assert_int_equal(
		dbr_tx_query(tx, "SELECT my_lock()", NULL, 0, NULL, &err),
		DBR_OK);
	assert_int_equal(my_int("SELECT IS_FREE_LOCK('k1')"), 0);
	assert_int_equal(dbr_tx_commit(tx, &err), DBR_OK);
	assert_true(lock_freed("k1"));
	for (i = 0; i < sizeof(refused) / sizeof(*refused); i++)
		if (q("one", refused[i], NULL, 0, NULL, &err) != DBR_E_MISUSE)
			fail_msg("not refused: %s", refused[i]);
	my_exec("DROP FUNCTION my_lock");
	my_exec("DROP PROCEDURE my_lockp");
}

/*
 * MySQL reads -- as a comment only before a blank or a control
 * character: 2--1 is 2 - -1, so the ? after it is a placeholder and a
 * read-only source sees the INTO OUTFILE after it.
 */
static void test_mysql__dash_needs_blank(void **state)
{
	struct dbr_value p = dbr_int64(4);
	struct dbr_result *res;
	struct dbr_error err;
	int rc;

	(void)state;
	assert_int_equal(q("my", "SELECT 2--1 AS v, ? AS w", &p, 1, &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_int_equal(dbr_result_int64(res, 0), 3);
	assert_int_equal(dbr_result_int64(res, 1), 4);
	dbr_result_free(res);
	assert_int_equal(q("my", "SELECT 2 --\t?\n", NULL, 0, NULL, &err),
			 DBR_OK);
	rc = q("ro", "SELECT 1--1 INTO OUTFILE '/tmp/dbr_my_dash'", NULL, 0,
	       NULL, &err);
	if (rc != DBR_E_READONLY)
		fail_msg("%d: %s", rc, rc ? err.message : "");
}

/*
 * A server in NO_BACKSLASH_ESCAPES mode: 'a\' is a whole literal, so
 * the ? after it is a placeholder, the GET_LOCK after it is seen, and a
 * read-only source sees the INTO OUTFILE after it.
 */
static void test_mysql__no_backslash_escapes(void **state)
{
	struct dbr_value p = dbr_int64(5);
	struct dbr_result *res;
	struct dbr_error err;
	struct dbr *nbe;
	int rc;

	(void)state;
	my_exec("SET GLOBAL sql_mode = "
		"CONCAT(@@GLOBAL.sql_mode, ',NO_BACKSLASH_ESCAPES')");
	nbe = t_open(config);
	rc = dbr_query_source(nbe, "my", "SELECT 'a\\' AS s, ? AS n", &p, 1,
			      &res, &err);
	if (rc == DBR_OK) {
		assert_int_equal(dbr_result_next(res), DBR_ROW);
		assert_string_equal(dbr_result_text(res, 0, NULL), "a\\");
		assert_int_equal(dbr_result_int64(res, 1), 5);
		dbr_result_free(res);
	}
	if (!rc)
		rc = dbr_query_source(nbe, "ro",
				      "SELECT 'a\\' INTO OUTFILE "
				      "'/tmp/dbr_my_nbe' -- '",
				      NULL, 0, NULL, &err) == DBR_E_READONLY
			     ? DBR_OK
			     : -1;
	if (!rc)
		rc = dbr_query_source(nbe, "one",
				      "SELECT 'a\\', GET_LOCK('k2', 0), '\\'",
				      NULL, 0, NULL, &err);
	my_exec("SET GLOBAL sql_mode = "
		"REPLACE(@@GLOBAL.sql_mode, 'NO_BACKSLASH_ESCAPES', '')");
	dbr_close(nbe);
	if (rc)
		fail_msg("%d: %s", rc, err.message);
	assert_true(lock_freed("k2"));
}

/*
 * DDL inside a transaction commits it on the server: the statement
 * fails, so do the ones after it, and commit and rollback say the
 * transaction ended.
 */
static void test_mysql__tx_ended_by_server(void **state)
{
	struct dbr_error err;
	struct dbr_tx *tx;
	int i;

	(void)state;
	for (i = 0; i < 2; i++) {
		assert_int_equal(dbr_tx_begin_source(db, "my", &tx, &err),
				 DBR_OK);
		assert_int_equal(dbr_tx_query(tx,
					      "INSERT INTO my_t (s) "
					      "VALUES ('a')",
					      NULL, 0, NULL, &err),
				 DBR_OK);
		assert_int_not_equal(dbr_tx_query(tx,
						  "CREATE TABLE IF NOT EXISTS "
						  "my_t4 (a INT)",
						  NULL, 0, NULL, &err),
				     DBR_OK);
		assert_non_null(strstr(err.message, "ended implicitly"));
		assert_int_not_equal(dbr_tx_query(tx,
						  "INSERT INTO my_t (s) "
						  "VALUES ('b')",
						  NULL, 0, NULL, &err),
				     DBR_OK);
		assert_int_not_equal(i ? dbr_tx_rollback(tx, &err)
				       : dbr_tx_commit(tx, &err),
				     DBR_OK);
		assert_non_null(strstr(err.message, "ended implicitly"));
	}
	/* The server committed the first inserts, nothing after them. */
	assert_int_equal(my_int("SELECT COUNT(*) FROM my_t WHERE s = 'b'"), 0);
	my_exec("DROP TABLE my_t4");
}

/* The other side of a deadlock: root's transaction, heavier (it changed
 * more rows, so InnoDB picks dbroute's as the victim), waits for row 1. */
static void *deadlock_peer(void *arg)
{
	MYSQL *m = arg;

	if (mysql_query(m, "UPDATE my_t SET s = 'r' WHERE id = 1"))
		fprintf(stderr, "peer: %s\n", mysql_error(m));
	return NULL;
}

/*
 * A deadlock rolls the whole transaction back on the server: the
 * statements after it fail (they would otherwise run outside any
 * transaction and stay), and so does the commit.
 */
static void test_mysql__tx_deadlock_ends_it(void **state)
{
	struct dbr_error err;
	struct dbr_tx *tx;
	pthread_t peer;
	MYSQL *m = root_link();
	int rc, i;

	(void)state;
	assert_non_null(m);
	my_exec("INSERT INTO my_t (s) VALUES ('1'), ('2')");
	for (i = 0; i < 20; i++)
		my_exec("INSERT INTO my_t (s) VALUES ('w')");
	assert_int_equal(dbr_tx_begin_source(db, "my", &tx, &err), DBR_OK);
	assert_int_equal(dbr_tx_query(tx,
				      "UPDATE my_t SET s = 'a' WHERE id = 1",
				      NULL, 0, NULL, &err),
			 DBR_OK);
	assert_int_equal(mysql_query(m, "START TRANSACTION"), 0);
	assert_int_equal(mysql_query(m, "UPDATE my_t SET s = 'r' WHERE id > 1"),
			 0);
	assert_int_equal(pthread_create(&peer, NULL, deadlock_peer, m), 0);
	pause_ms(300); /* the peer waits for row 1 (bounded by its join) */
	rc = dbr_tx_query(tx, "UPDATE my_t SET s = 'a' WHERE id = 2", NULL, 0,
			  NULL, &err);
	assert_int_equal(pthread_join(peer, NULL), 0);
	mysql_query(m, "COMMIT");
	mysql_close(m);
	if (rc == DBR_OK || err.native_code != 1213) {
		dbr_tx_rollback(tx, &err);
		skip(); /* the server chose the peer as the victim */
	}
	assert_int_not_equal(dbr_tx_query(tx,
					  "INSERT INTO my_t (s) VALUES ('c')",
					  NULL, 0, NULL, &err),
			     DBR_OK);
	assert_non_null(strstr(err.message, "ended implicitly"));
	assert_int_not_equal(dbr_tx_commit(tx, &err), DBR_OK);
	assert_int_equal(my_int("SELECT COUNT(*) FROM my_t WHERE s = 'c'"), 0);
}

/*
 * A cached statement whose columns changed (ALTER TABLE, 2057 from the
 * client library) is prepared again, not taken for a lost link.
 */
static void test_mysql__new_metadata_reprepared(void **state)
{
	struct dbr_result *res;
	struct dbr_error err;
	int64_t a;
	int st;

	(void)state;
	a = session_id();
	assert_int_equal(q("one", "SELECT * FROM my_t", NULL, 0, &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_column_count(res), 3);
	dbr_result_free(res);
	my_exec("ALTER TABLE my_t ADD COLUMN c INT");
	st = q("one", "SELECT * FROM my_t", NULL, 0, &res, &err);
	if (st)
		fail_msg("%d: %s", st, err.message);
	assert_int_equal(dbr_result_column_count(res), 4);
	dbr_result_free(res);
	assert_true(session_id() == a);
	assert_int_equal(dbr_source_status(db, "one", &st, NULL, NULL), DBR_OK);
	assert_int_equal(st, DBR_SOURCE_AVAILABLE);
}

/* A handle on one source "x" as `user` with `extra` lines; *path is
 * its configuration file. */
static struct dbr *open_as(const char *user, const char *extra, char **path)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 "[database]\ndefault_source = x\n"
		 "[source.x]\ntype = mysql\nunix_socket = %s\nuser = %s\n"
		 "database = dbroute_test\n"
		 "password_env = DBR_TEST_MYSQL_PASSWORD\n%s",
		 getenv("DBR_TEST_MYSQL"), user, extra);
	*path = t_write(dir, "x.ini", text);
	return t_open(*path);
}

/* An unknown or forbidden database named by a statement is that
 * statement's error, not the source's. */
static void test_mysql__bad_database_is_statement_error(void **state)
{
	struct dbr_error err;
	struct dbr *ro;
	char *path;
	int st, st2, code;

	(void)state;
	assert_int_equal(
		q("my", "SHOW TABLES FROM dbr_nosuch", NULL, 0, NULL, &err),
		DBR_E_STMT);
	assert_int_equal(err.native_code, 1049);
	assert_int_equal(dbr_source_status(db, "my", &st, NULL, NULL), DBR_OK);
	assert_int_equal(st, DBR_SOURCE_AVAILABLE);
	ro = open_as("dbr_ro", "", &path);
	st = dbr_query_source(ro, "x", "SHOW TABLES FROM mysql", NULL, 0, NULL,
			      &err);
	code = err.native_code;
	assert_int_equal(dbr_source_status(ro, "x", &st2, NULL, NULL), DBR_OK);
	dbr_close(ro);
	free(path);
	assert_int_equal(st, DBR_E_STMT);
	assert_int_equal(code, 1044);
	assert_int_equal(st2, DBR_SOURCE_AVAILABLE);
}

/* statement_timeout = 1.5 reaches the server as 1.5 under a locale whose
 * decimal separator is a comma. */
static void test_mysql__statement_timeout_comma_locale(void **state)
{
	struct dbr_result *res;
	struct dbr_error err;
	char *path;
	struct dbr *st;
	int rc;

	(void)state;
	if (!t_comma_locale(dir))
		skip();
	st = open_as("dbr", "statement_timeout = 1.5\n", &path);
	rc = dbr_query_source(st, "x", "SELECT @@max_statement_time", NULL, 0,
			      &res, &err);
	t_c_locale();
	if (rc)
		fail_msg("%d: %s", rc, err.message);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_true(dbr_result_double(res, 0) == 1.5);
	dbr_result_free(res);
	dbr_close(st);
	free(path);
}

/*
 * A result freed early whose rows are large is not read on for long:
 * past a few MiB the connection is closed instead (not pooled).
 */
static void test_mysql__early_free_bounded_by_bytes(void **state)
{
	struct dbr_result *res;
	struct dbr_error err;
	int64_t a;

	(void)state;
	a = session_id();
	assert_int_equal(q("one",
			   "SELECT seq, REPEAT('y', 1048576) FROM "
			   "seq_1_to_200",
			   NULL, 0, &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	dbr_result_free(res);
	assert_true(session_id() != a);
}

/* Backslash escapes, # comments and backticks are read as MySQL reads
 * them: a ? inside them is text, the one outside a placeholder. */
static void test_mysql__lexer(void **state)
{
	struct dbr_value p = dbr_int64(7);
	struct dbr_result *res;
	struct dbr_error err;

	(void)state;
	assert_int_equal(q("my",
			   "SELECT 'a\\'?' AS `x?``y`, ? AS n # ?\n"
			   "-- ?\n",
			   &p, 1, &res, &err),
			 DBR_OK);
	assert_string_equal(dbr_result_column_name(res, 0), "x?`y");
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_string_equal(dbr_result_text(res, 0, NULL), "a'?");
	assert_int_equal(dbr_result_int64(res, 1), 7);
	dbr_result_free(res);
	assert_int_equal(
		q("my", "SELECT \"a\\\"?\" AS s, ?", &p, 1, &res, &err),
		DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_string_equal(dbr_result_text(res, 0, NULL), "a\"?");
	dbr_result_free(res);
}

/*
 * The shared lexer counts placeholders as the server does: 3,000 random
 * SELECTs of literals with backslash escapes and doubled quotes, `?`
 * inside and outside them, #, -- and block comments, -- before a
 * character that is not blank (2--1), and backtick and
 * double-quoted aliases, each prepared by the server itself; wherever it
 * accepts one, its count of parameters is the lexer's, and the lexer saw
 * one statement.
 */
static void test_mysql__lexer_agrees_with_server(void **state)
{
	static const char *const vals[] = {
		"?",	"'a?'",	  "'\\'?'",  "'x''?'", "\"?\\\"?\"", "'\\\\'",
		"'#?'", "'-- ?'", "'/*?*/'", "1",      "0x3f",	     "\"a'?\"",
	};
	static const char *const seps[] = {
		" + ", " /* ? */ + ", " # ? ' \n + ", " -- ? \"\n + ",
		"\n+", "/**/+/*'*/",  "--",	      "\t--\x01? \n+",
	};
	static const char *const alias[] = { "", " AS `a?``b`", " AS \"q?\"",
					     " AS `#?`" };
	struct dbr_sqlbuf out = { NULL, 0 };
	struct dbr_sqlscan info;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	char sql[1024];
	int i, k, n, accepted = 0;
	MYSQL_STMT *st;

	(void)state;
	for (i = 0; i < 3000; i++) {
		n = snprintf(sql, sizeof(sql), "SELECT ");
		for (k = 0; k < 1 + (int)(x % 6); k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			n += snprintf(sql + n, sizeof(sql) - (size_t)n, "%s%s",
				      k ? seps[x % 8] : "",
				      vals[(x >> 8) % 12]);
		}
		snprintf(sql + n, sizeof(sql) - (size_t)n, "%s",
			 alias[(x >> 16) % 4]);
		assert_int_equal(
			dbr_sqlscan(sql,
				    DBR_SQLLEX_BACKSLASH_ESCAPES |
					    DBR_SQLLEX_HASH_COMMENTS |
					    DBR_SQLLEX_BACKTICK_IDS |
					    DBR_SQLLEX_DASH_NEEDS_BLANK |
					    DBR_SQLSCAN_QMARK,
				    &out, &info),
			0);
		st = mysql_stmt_init(check);
		assert_non_null(st);
		if (!mysql_stmt_prepare(st, sql, (unsigned long)strlen(sql))) {
			accepted++;
			if (mysql_stmt_param_count(st) != info.nparams ||
			    info.trailing || info.refused)
				fail_msg("server %lu, lexer %zu: %s",
					 mysql_stmt_param_count(st),
					 info.nparams, sql);
		}
		mysql_stmt_close(st);
	}
	dbr_sqlbuf_free(&out);
	assert_true(accepted > 1000);
}

/*
 * DECIMAL results (AVG of integers, a decimal column) are doubles, as
 * PostgreSQL's numeric is, so they compare and sort as numbers; read in
 * the C locale whatever the application's LC_NUMERIC.
 */
static void test_mysql__decimal_is_double(void **state)
{
	struct dbr_result *res;
	struct dbr_error err;
	struct dbr_value v;
	bool comma = t_comma_locale(dir);

	(void)state;
	assert_int_equal(q("my",
			   "SELECT AVG(x), CAST(-12.75 AS DECIMAL(10,2)) "
			   "FROM (SELECT 2 AS x UNION ALL SELECT 3) t",
			   NULL, 0, &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	dbr_result_value(res, 0, &v);
	assert_int_equal(v.type, DBR_TYPE_DOUBLE);
	assert_true(v.u.d == 2.5);
	dbr_result_value(res, 1, &v);
	assert_int_equal(v.type, DBR_TYPE_DOUBLE);
	assert_true(v.u.d == -12.75);
	dbr_result_free(res);
	if (comma)
		t_c_locale();
}

static void on_table(void *ud, const struct dbr_table_info *t)
{
	char *text = ud;
	size_t i, len = strlen(text);

	len += (size_t)snprintf(text + len, 1024 - len, "%s%s%s:", t->schema,
				*t->schema ? "." : "", t->name);
	for (i = 0; i < t->ncolumns; i++)
		len += (size_t)snprintf(text + len, 1024 - len, " %s/%u/%u/%d",
					t->columns[i].name, t->columns[i].cls,
					t->columns[i].pk,
					t->columns[i].notnull);
	snprintf(text + len, 1024 - len, "\n");
}

/*
 * list_tables: the base tables of the source's database (not views, not
 * another database's), columns in order with class, primary key position
 * and NOT NULL.
 */
static void test_mysql__catalog_lists_tables(void **state)
{
	struct dbr_error err;
	char text[1024] = "", *path;
	struct dbr *cat;

	(void)state;
	my_exec("DROP DATABASE IF EXISTS dbr_cat");
	my_exec("DROP DATABASE IF EXISTS dbr_other");
	my_exec("CREATE DATABASE dbr_cat");
	my_exec("CREATE DATABASE dbr_other");
	my_exec("CREATE TABLE dbr_cat.t (a INT, b VARCHAR(20) NOT NULL, "
		"c DOUBLE, d DECIMAL(10,2), e DATE, f VARBINARY(8), "
		"g BOOLEAN, PRIMARY KEY (b, a))");
	my_exec("CREATE TABLE dbr_cat.u (x LONGBLOB)");
	my_exec("CREATE VIEW dbr_cat.v AS SELECT a FROM dbr_cat.t");
	my_exec("CREATE TABLE dbr_other.h (x INT)");
	snprintf(text, sizeof(text),
		 "[source.cat]\ntype = mysql\nunix_socket = %s\nuser = dbr\n"
		 "database = dbr_cat\npassword_env = DBR_TEST_MYSQL_PASSWORD\n",
		 getenv("DBR_TEST_MYSQL"));
	path = t_write(dir, "cat.ini", text);
	cat = t_open(path);
	text[0] = '\0';
	assert_int_equal(
		dbr__catalog_tables(dbr__config_source(cat->cfg, "cat"),
				    on_table, text, &err),
		DBR_OK);
	assert_string_equal(text, "t: a/1/2/1 b/3/1/1 c/2/0/0 d/2/0/0 "
				  "e/5/0/0 f/4/0/0 g/1/0/0\n"
				  "u: x/4/0/0\n");
	dbr_close(cat);
	free(path);
	my_exec("DROP DATABASE dbr_cat");
	my_exec("DROP DATABASE dbr_other");
}

/* TCP on loopback works as the socket does; a wrong password is a
 * refused connection no retry fixes. */
static void test_mysql__tcp_and_bad_password(void **state)
{
	struct dbr_error err;
	char *saved = strdup(getenv("DBR_TEST_MYSQL_PASSWORD"));

	(void)state;
	assert_int_equal(q("tcp", "SELECT 1", NULL, 0, NULL, &err), DBR_OK);
	setenv("DBR_TEST_MYSQL_PASSWORD", "wrong", 1);
	assert_int_equal(t_ping_at(config, "tcp", &err), DBR_E_CONN);
	assert_int_equal(err.native_code, 1045);
	assert_string_equal(err.sqlstate, "28000");
	assert_false(err.retryable);
	assert_non_null(strstr(err.hint, "credentials or database"));
	setenv("DBR_TEST_MYSQL_PASSWORD", saved, 1);
	free(saved);
}

/*
 * The server killed: a query fails with DBR_E_CONN (or, once the source
 * is known down, DBR_E_UNAVAILABLE), never hangs; started again, the
 * source serves again.
 */
static void test_mysql__server_killed_and_back(void **state)
{
	const char *start = getenv("DBR_TEST_MYSQL_START");
	const char *pidfile = getenv("DBR_TEST_MYSQL_PIDFILE");
	char *pid_text, cmd[4096];
	struct dbr_error err;
	int rc = DBR_OK, i;
	pid_t pid;

	(void)state;
	if (!start || !pidfile)
		skip();
	assert_int_equal(q("my", "SELECT 1", NULL, 0, NULL, &err), DBR_OK);
	pid_text = t_read(pidfile);
	assert_non_null(pid_text);
	pid = (pid_t)strtol(pid_text, NULL, 10);
	free(pid_text);
	mysql_close(check);
	check = NULL;
	assert_int_equal(kill(pid, SIGKILL), 0);
	for (i = 0; i < 100 && kill(pid, 0) == 0; i++)
		pause_ms(50);
	unlink(pidfile);
	rc = q("my", "SELECT 1", NULL, 0, NULL, &err);
	assert_true(rc == DBR_E_CONN || rc == DBR_E_UNAVAILABLE);
	snprintf(cmd, sizeof(cmd), "(%s </dev/null >/dev/null 2>&1 &)", start);
	assert_int_equal(system(cmd), 0);
	for (i = 0; i < 200 && !(check = root_link()); i++)
		pause_ms(100);
	assert_non_null(check);
	for (i = 0, rc = -1; i < 100 && rc; i++) {
		rc = q("my", "SELECT 1", NULL, 0, NULL, &err);
		if (rc)
			pause_ms(100);
	}
	assert_int_equal(rc, DBR_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, each_setup, NULL)
		T(test_mysql__binary_and_utf8mb4),
		T(test_mysql__huge_values),
		T(test_mysql__timeout_kills_query),
		T(test_mysql__readonly_refuses_every_write),
		T(test_mysql__changed_session_not_pooled),
		T(test_mysql__lexer),
		T(test_mysql__lexer_agrees_with_server),
		T(test_mysql__decimal_is_double),
		T(test_mysql__catalog_lists_tables),
		T(test_mysql__tcp_and_bad_password),
		T(test_mysql__user_locks_not_pooled),
		T(test_mysql__dash_needs_blank),
		T(test_mysql__no_backslash_escapes),
		T(test_mysql__tx_ended_by_server),
		T(test_mysql__tx_deadlock_ends_it),
		T(test_mysql__new_metadata_reprepared),
		T(test_mysql__bad_database_is_statement_error),
		T(test_mysql__statement_timeout_comma_locale),
		T(test_mysql__early_free_bounded_by_bytes),
		T(test_mysql__server_killed_and_back),
#undef T
	};
	int rc = t_need_server("DBR_TEST_MYSQL", "MariaDB server");

	if (rc)
		return rc;
	return cmocka_run_group_tests(tests, setup, teardown);
}
