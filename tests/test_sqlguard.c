/*
 * test_sqlguard.c - the statements plain dbr_query refuses because they
 * would change a pooled connection's state.
 */
#include <string.h>

#include "helpers.h"
#include "sqlguard.h"

#define LITE DBR_SQLGUARD_SQLITE
#define PG   DBR_SQLGUARD_POSTGRES

/* Refused outside a transaction and inside one, in both dialects. */
static void refused_always(enum dbr_sqlguard_dialect d, const char *sql)
{
	const char *why_out = dbr_sqlguard_refuse(sql, d, false);
	const char *why_in = dbr_sqlguard_refuse(sql, d, true);

	if (!why_out || !why_in)
		fail_msg("not refused (%s): '%s'", why_out ? "in tx" : "out",
			 sql);
}

static void allowed_always(enum dbr_sqlguard_dialect d, const char *sql)
{
	const char *why = dbr_sqlguard_refuse(sql, d, false);

	if (!why)
		why = dbr_sqlguard_refuse(sql, d, true);
	if (why)
		fail_msg("refused: '%s': %s", sql, why);
}

/* Refused outside a transaction, allowed inside one. */
static void allowed_in_tx(enum dbr_sqlguard_dialect d, const char *sql)
{
	if (!dbr_sqlguard_refuse(sql, d, false))
		fail_msg("not refused outside a transaction: '%s'", sql);
	if (dbr_sqlguard_refuse(sql, d, true))
		fail_msg("refused inside a transaction: '%s'", sql);
}

static void test_sqlguard__plain_select_passes(void **state)
{
	(void)state;
	assert_null(
		dbr_sqlguard_refuse("SELECT 1", DBR_SQLGUARD_SQLITE, false));
	assert_null(
		dbr_sqlguard_refuse("SELECT 1", DBR_SQLGUARD_POSTGRES, false));
	assert_null(dbr_sqlguard_refuse("", LITE, false));
	assert_null(dbr_sqlguard_refuse("   -- only a comment", PG, false));
	assert_null(dbr_sqlguard_refuse("/* unterminated", PG, false));
	assert_null(dbr_sqlguard_refuse(NULL, PG, false));
}

static void test_sqlguard__transaction_control_both(void **state)
{
	static const char *const both[] = {
		"BEGIN",
		"begin",
		"Begin Transaction",
		"BEGIN IMMEDIATE",
		"BEGIN;",
		"COMMIT",
		"commit transaction",
		"END",
		"end;",
		"ROLLBACK",
		"rollback transaction",
		"  \n\t\r BEGIN",
		"-- a comment\nBEGIN",
		"/* a comment */ BEGIN",
		"/* one */ -- two\n /**/BEGIN",
		"(BEGIN)",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(both) / sizeof(both[0]); i++) {
		refused_always(LITE, both[i]);
		refused_always(PG, both[i]);
	}
}

static void test_sqlguard__message_names_tx_calls(void **state)
{
	const char *why = dbr_sqlguard_refuse("BEGIN", LITE, false);

	(void)state;
	assert_non_null(why);
	assert_non_null(strstr(why, "transaction control"));
	assert_non_null(strstr(why, "dbr_tx_begin"));
	assert_string_equal(why, dbr_sqlguard_refuse("commit", PG, true));
	why = dbr_sqlguard_refuse("COPY t FROM STDIN", PG, false);
	assert_string_equal(why, "COPY is not supported through dbr_query");
}

static void test_sqlguard__savepoints_only_in_tx(void **state)
{
	static const char *const both[] = {
		"SAVEPOINT a",
		"savepoint a",
		"RELEASE a",
		"RELEASE SAVEPOINT a",
		"ROLLBACK TO a",
		"ROLLBACK TO SAVEPOINT a",
		"ROLLBACK TRANSACTION TO SAVEPOINT a",
		"rollback /* x */ to a",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(both) / sizeof(both[0]); i++) {
		allowed_in_tx(LITE, both[i]);
		allowed_in_tx(PG, both[i]);
	}
	allowed_in_tx(PG, "ROLLBACK WORK TO SAVEPOINT a");
	assert_non_null(strstr(dbr_sqlguard_refuse("SAVEPOINT a", LITE, false),
			       "dbr_tx_begin"));
}

static void test_sqlguard__sqlite_attach_and_pragma(void **state)
{
	static const char *const refused[] = {
		"ATTACH 'x.db' AS x",
		"attach database ':memory:' as m",
		"DETACH x",
		"PRAGMA foreign_keys = ON",
		"pragma foreign_keys=off",
		"PRAGMA main.synchronous = OFF",
		"PRAGMA \"main\".synchronous = 0",
		"PRAGMA [main].cache_size(10)",
		"PRAGMA cache_size(-2000)",
		"PRAGMA query_only = 1",
		"PRAGMA journal_mode = DELETE",
		"/* c */ PRAGMA /* d */ temp_store /* e */ = 2",
	};
	static const char *const allowed[] = {
		"PRAGMA foreign_keys",
		"PRAGMA main.page_count",
		"PRAGMA table_info(t)",
		"PRAGMA main.index_list('t')",
		"PRAGMA integrity_check(10)",
		"PRAGMA foreign_key_check",
		"PRAGMA wal_checkpoint(PASSIVE)",
		"VACUUM",
		"VACUUM INTO '/tmp/x.db'",
		"REINDEX",
		"ANALYZE",
		"EXPLAIN BEGIN",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		refused_always(LITE, refused[i]);
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		allowed_always(LITE, allowed[i]);
	/* ATTACH is not PostgreSQL's; PRAGMA is not either. */
	allowed_always(PG, "PRAGMA x = 1");
}

static void test_sqlguard__postgres_session_state(void **state)
{
	static const char *const refused[] = {
		"START TRANSACTION",
		"start transaction isolation level serializable",
		"ABORT",
		"COMMIT PREPARED 'x'",
		"ROLLBACK PREPARED 'x'",
		"PREPARE TRANSACTION 'x'",
		"SET search_path = x",
		"set statement_timeout to 0",
		"SET SESSION default_transaction_read_only = off",
		"SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
		"SET ROLE postgres",
		"SET SESSION AUTHORIZATION postgres",
		"RESET ALL",
		"reset search_path",
		"LISTEN chan",
		"UNLISTEN *",
		"PREPARE p AS SELECT 1",
		"DEALLOCATE ALL",
		"DISCARD ALL",
		"DECLARE c CURSOR WITH HOLD FOR SELECT 1",
		"declare c no scroll cursor with hold for select 1",
		"DECLARE \"my cursor\" CURSOR WITH HOLD FOR SELECT 1",
		"COPY t TO STDOUT",
		"copy t from stdin",
		"(COPY t TO STDOUT)",
		"LOAD 'auto_explain'",
		"/* a /* nested */ comment */ SET x = 1",
	};
	static const char *const allowed[] = {
		"NOTIFY chan",
		"SELECT pg_notify('c', 'x')",
		"DECLARE c CURSOR FOR SELECT 1",
		"DECLARE c CURSOR WITHOUT HOLD FOR SELECT 1",
		"DECLARE c CURSOR FOR WITH hold AS (SELECT 1) SELECT * FROM hold",
		"START",
		"(SELECT 1) UNION (SELECT 2)",
		"WITH x AS (SELECT 1) SELECT * FROM x",
		"SELECT set_config('a.b', 'c', false)",
	};
	static const char *const in_tx[] = {
		"SET LOCAL search_path = x",
		"set local statement_timeout = 100",
		"SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
		"SET CONSTRAINTS ALL DEFERRED",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		refused_always(PG, refused[i]);
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		allowed_always(PG, allowed[i]);
	for (i = 0; i < sizeof(in_tx) / sizeof(in_tx[0]); i++)
		allowed_in_tx(PG, in_tx[i]);
	/* SQLite has none of these; SET and COPY are not its keywords. */
	allowed_always(LITE, "SET x = 1");
	allowed_always(LITE, "COPY t");
	/* The session form stays refused inside a transaction. */
	refused_always(PG, "SET SESSION search_path = x");
}

static void test_sqlguard__keyword_prefixes_and_later_words(void **state)
{
	static const char *const allowed[] = {
		"BEGINNING",
		"SELECT 1 -- BEGIN",
		"SELECT 'BEGIN'",
		"SELECT * FROM settings",
		"settings",
		"ENDING",
		"COMMITTED",
		"ROLLBACKS",
		"SAVEPOINTS",
		"RELEASED",
		"ATTACHMENT",
		"PRAGMATIC x = 1",
		"\"BEGIN\"",
		"SETTING x = 1",
		"RESETS",
		"COPYRIGHT",
		"LOADER",
		"INSERT INTO begin (x) VALUES (1)",
		"UPDATE t SET x = 1",
		"DELETE FROM commit_log",
		"SELECT 1; BEGIN",
		"BEGINXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
		"-- BEGIN\nSELECT 1",
		"/* BEGIN */ SELECT 1",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		allowed_always(LITE, allowed[i]);
		allowed_always(PG, allowed[i]);
	}
}

static void test_sqlguard__reads_by_first_keyword(void **state)
{
	static const char *const reads[] = {
		"SELECT 1",
		" select * from t",
		"(SELECT 1) UNION ALL (SELECT 2)",
		"/* c */ VALUES (1)",
		"TABLE t",
		"SHOW work_mem",
	};
	static const char *const others[] = {
		"INSERT INTO t VALUES (1) RETURNING id",
		"WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
		"EXPLAIN ANALYZE INSERT INTO t VALUES (1)",
		"UPDATE t SET x = 1 RETURNING x",
		"SELECTED",
		"",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(reads) / sizeof(reads[0]); i++)
		assert_true(
			dbr_sqlguard_is_read(reads[i], DBR_SQLGUARD_POSTGRES));
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		assert_false(
			dbr_sqlguard_is_read(others[i], DBR_SQLGUARD_POSTGRES));
	assert_false(dbr_sqlguard_is_read(NULL, DBR_SQLGUARD_SQLITE));
}

/*
 * Review 2: DECLARE ... WITH HOLD got past the guard when the reader
 * stopped early - on a U& cursor name (the word reader did not advance
 * past '&') or after 8 option words. Every word up to FOR is read now.
 */
static void test_sqlguard__declare_with_hold_any_form(void **state)
{
	static const char *const refused[] = {
		"DECLARE U&\"c\" CURSOR WITH HOLD FOR SELECT 1",
		"DECLARE u&\"d!0061ta\" UESCAPE '!' CURSOR WITH HOLD FOR "
		"SELECT 1",
		"DECLARE c BINARY BINARY BINARY BINARY BINARY BINARY BINARY "
		"BINARY BINARY CURSOR WITH HOLD FOR SELECT 1",
		"DECLARE \"for\" CURSOR WITH HOLD FOR SELECT 1",
		"DECLARE \"a\"\"for\" CURSOR WITH HOLD FOR SELECT 1",
		"DECLARE c/* for */CURSOR WITH/**/HOLD FOR SELECT 1",
		"DECLARE c -- for\n CURSOR WITH HOLD FOR SELECT 1",
		"DECLARE c INSENSITIVE NO SCROLL CURSOR WITH HOLD FOR SELECT 1",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		refused_always(PG, refused[i]);
	allowed_always(PG, "DECLARE U&\"c\" CURSOR WITHOUT HOLD FOR SELECT 1");
	allowed_always(PG, "DECLARE c CURSOR FOR SELECT 1 AS hold");
	allowed_always(PG, "DECLARE c CURSOR");
	allowed_always(PG, "DECLARE &&&& ((( '' \"");
	allowed_always(PG, "DECLARE c 'unterminated");
}

/*
 * Review 3, item 3: a cursor named hold was taken for WITH HOLD, and
 * refused even inside dbr_tx. HOLD counts only right after WITH.
 */
static void test_sqlguard__declare_named_hold(void **state)
{
	static const char *const allowed[] = {
		"DECLARE hold CURSOR FOR SELECT 1",
		"declare HOLD no scroll cursor for select 1",
		"DECLARE hold CURSOR WITHOUT HOLD FOR SELECT 1",
		"DECLARE hold BINARY CURSOR FOR SELECT 1 AS hold",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		allowed_always(PG, allowed[i]);
	refused_always(PG, "DECLARE hold CURSOR WITH HOLD FOR SELECT 1");
	refused_always(PG, "DECLARE hold CURSOR with -- c\n hold FOR SELECT 1");
}

/*
 * Review 2: statements that leave session state the server does not
 * report (a temporary table shadowing the real one, search_path through
 * pg_settings, a session advisory lock, LISTEN inside a DO block, a
 * procedure) must close their connection: the scanner says so, anywhere
 * in the text and in any case, and stays quiet for a column named temp.
 */
static void test_sqlguard__may_leave_state(void **state)
{
	static const char *const leaves[] = {
		"CREATE TEMP TABLE t (n int)",
		"create global temporary table t (n int)",
		"CREATE LOCAL TEMP VIEW v AS SELECT 1",
		"CREATE OR REPLACE TEMP VIEW v AS SELECT 1",
		"CREATE TEMP SEQUENCE s",
		"SELECT 1 AS n INTO TEMP t",
		"select 1 as n into temp table t",
		"SELECT 1 AS n INTO TEMPORARY t",
		"CREATE TABLE pg_temp.t (n int)",
		"CREATE TABLE PG_TEMP_3.t (n int)",
		"CREATE TABLE \"pg_temp\".t (n int)",
		"UPDATE pg_settings SET setting = 'x' WHERE name = 'search_path'",
		"update PG_CATALOG.PG_SETTINGS set setting = 'x'",
		"SELECT set_config('search_path', 'x', false)",
		"SELECT 1 FROM (SELECT Pg_Catalog.SET_CONFIG('a', 'b', false)) s",
		"SELECT pg_advisory_lock(7)",
		"SELECT pg_advisory_lock_shared(7)",
		"SELECT PG_TRY_ADVISORY_LOCK(7, 8)",
		"SELECT pg_try_advisory_lock_shared(7)",
		"DO $$BEGIN EXECUTE 'LISTEN chan'; END$$",
		"do 'begin null; end'",
		"/* c */ DO $x$ BEGIN END $x$",
		"CALL p()",
		"call s.p(1)",
		"WITH x AS (SELECT 1) SELECT '--', pg_advisory_lock(1) FROM x",
		"SELECT U&\"pg_advisory\\005Flock\"(7)",
	};
	static const char *const keeps[] = {
		"SELECT temp FROM weather",
		"SELECT city, temp FROM weather WHERE temp > 20 ORDER BY temp",
		"INSERT INTO temp (n) VALUES (1)",
		"MERGE INTO temp t USING s ON true WHEN MATCHED THEN DO NOTHING",
		"UPDATE weather SET temp = 3",
		"SELECT pg_advisory_xact_lock(7)",
		"SELECT pg_try_advisory_xact_lock_shared(7)",
		"SELECT pg_advisory_unlock(7)",
		"SELECT pg_listening_channels()",
		"SELECT my_set_config_x FROM t",
		"SELECT x$listen FROM t",
		"SELECT pg_temp_x FROM t",
		"SELECT * FROM templates",
		"NOTIFY chan",
		"SELECT 'DO', 'CALL'",
		"DOMAIN",
		"CALLBACK",
		"SELECT 1 -- set_config\n",
		"",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++)
		if (!dbr_sqlguard_may_leave_state(leaves[i], PG))
			fail_msg("not seen: '%s'", leaves[i]);
	for (i = 0; i < sizeof(keeps) / sizeof(keeps[0]); i++)
		if (dbr_sqlguard_may_leave_state(keeps[i], PG))
			fail_msg("false alarm: '%s'", keeps[i]);
	assert_false(dbr_sqlguard_may_leave_state(NULL, PG));
	assert_false(
		dbr_sqlguard_may_leave_state("CREATE TEMP TABLE t (n)", LITE));
}

/*
 * Review 3, item 1: the scan took words inside comments as words, so a
 * comment between INTO or CREATE and TEMP hid the temporary table; the
 * next caller's INSERT went into it and was lost. Comments are skipped
 * now, wherever they stand; so are string literals and dollar-quoted
 * bodies, whose words are not code.
 */
static void test_sqlguard__comments_hide_no_temp(void **state)
{
	static const char *const leaves[] = {
		"SELECT 1 AS n INTO -- c\n TEMP scratch",
		"SELECT 1 AS n INTO /* c */ TEMPORARY scratch",
		"CREATE /*a*/ TEMP /*b*/ TABLE t (n int)",
		"CREATE/*a*/TEMP TABLE t (n int)",
		"CREATE OR REPLACE /* x /* nested */ y */ TEMP VIEW v AS "
		"SELECT 1",
		"CREATE GLOBAL -- g\n TEMPORARY TABLE t (n int)",
		"SELECT 'it''s' AS n INTO TEMP t",
		"SELECT $$ x $$ AS n INTO temp t",
		"SELECT E'\\'' AS n INTO TEMP t",
		"SELECT 1into temp t",
		"SELECT 'a' -- 'b\n, set_config('a.b', 'c', false)",
		"SELECT $a$ $$ $a$, set_config('a.b', 'c', false)",
		"SELECT \"x\"\"\" , pg_advisory_lock(7)",
		"SELECT $1, pg_advisory_lock(7)",
		/* A server with standard_conforming_strings off reads the
		 * backslash as an escape: the call is code there. */
		"SELECT 'a\\' ', set_config('a.b', 'c', false) -- '",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++)
		if (!dbr_sqlguard_may_leave_state(leaves[i], PG))
			fail_msg("not seen: '%s'", leaves[i]);
	allowed_in_tx(PG, "CREATE /*a*/ TEMP /*b*/ TABLE t (n int)");
	allowed_in_tx(PG, "CREATE -- a\n OR REPLACE TEMP VIEW v AS SELECT 1");
}

/*
 * Review 3, item 2: ordinary statements closed their connection (a
 * reconnect and a re-prepare on every call) because a word in a string
 * or a comment, or a column named temporary, listen or local, counted.
 * Only code tokens count, and each only where it leaves state; the
 * built-ins that run a query given as text count by their name.
 */
static void test_sqlguard__ordinary_statements_pooled(void **state)
{
	static const char *const keeps[] = {
		"SELECT count(*) FROM msgs WHERE temporary",
		"SELECT listen FROM msgs",
		"UPDATE msgs SET local = 1, temp = 2.5",
		"SELECT local, temp FROM msgs",
		"SELECT temp, local FROM msgs",
		"SELECT id FROM msgs -- we listen here",
		"SELECT id FROM msgs /* set_config, pg_temp, CALL */",
		"INSERT INTO msgs (body) VALUES ('please listen')",
		"INSERT INTO msgs (body) VALUES ('only temporary')",
		"INSERT INTO msgs (body) VALUES ('create temp table t')",
		"INSERT INTO msgs (body) VALUES (E'it\\'s set_config')",
		"INSERT INTO msgs (body) VALUES (U&'d\\0061t pg_temp')",
		"INSERT INTO msgs (body) VALUES ($$ pg_advisory_lock $$)",
		"INSERT INTO msgs (body) VALUES ($q$ DO $$ $q$)",
		"SELECT \"temporary\", \"listen\" FROM msgs",
		"SELECT 1 AS \"into\", temp FROM msgs",
		"SELECT n FROM msgs WHERE body = 'x'; SELECT listen FROM t",
		"INSERT INTO temporary (n) VALUES (1)",
		"WITH RECURSIVE temp AS (SELECT 1) SELECT * FROM temp",
		"SELECT body FROM msgs WHERE body LIKE '%\\_%'",
		"SELECT $1 AS local, $2 AS temp",
		"SELECT 1e5 AS temp, .5 AS local",
		"SELECT dblinks FROM t",
	};
	static const char *const leaves[] = {
		"SELECT query_to_xml('select 1', true, true, '')",
		"SELECT Pg_Catalog.QUERY_TO_XMLSCHEMA('x', true, true, '')",
		"SELECT query_to_xml_and_xmlschema('x', true, true, '')",
		"SELECT * FROM ts_stat('SELECT v FROM t')",
		"SELECT ts_rewrite('a'::tsquery, 'SELECT t, s FROM a')",
		"SELECT dblink_connect('c', 'dbname=x')",
		"SELECT * FROM dblink('c', 'SELECT 1') AS t(n int)",
		"SELECT \"set_config\"('a.b', 'c', false)",
		"LISTEN chan",
		"SELECT 1; LISTEN chan",
		"SELECT n FROM t; CALL p()",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(keeps) / sizeof(keeps[0]); i++)
		if (dbr_sqlguard_may_leave_state(keeps[i], PG))
			fail_msg("false alarm: '%s'", keeps[i]);
	for (i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++)
		if (!dbr_sqlguard_may_leave_state(leaves[i], PG))
			fail_msg("not seen: '%s'", leaves[i]);
}

/* Review 2: plain CREATE TEMP outside dbr_tx is refused, with a message
 * that says to make it inside a transaction with ON COMMIT DROP. */
static void test_sqlguard__create_temp_only_in_tx(void **state)
{
	static const char *const in_tx[] = {
		"CREATE TEMP TABLE t (n int)",
		"create temporary table t (n int) on commit drop",
		"CREATE GLOBAL TEMPORARY TABLE t (n int)",
		"CREATE LOCAL TEMP TABLE t (n int)",
		"CREATE OR REPLACE TEMP VIEW v AS SELECT 1",
		"CREATE TEMP SEQUENCE s",
		"(CREATE TEMP TABLE t (n int))",
	};
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(in_tx) / sizeof(in_tx[0]); i++)
		allowed_in_tx(PG, in_tx[i]);
	why = dbr_sqlguard_refuse(in_tx[0], PG, false);
	assert_non_null(strstr(why, "ON COMMIT DROP"));
	assert_non_null(strstr(why, "dbr_tx"));
	allowed_always(PG, "CREATE TABLE temp (n int)");
	allowed_always(PG, "CREATE TABLE t (temp int)");
	allowed_always(PG, "CREATE OR REPLACE VIEW v AS SELECT 1");
	allowed_always(LITE, "CREATE TEMP TABLE t (n)");
}

/*
 * MySQL: FLUSH ... WITH READ LOCK, FOR EXPORT and BACKUP keep locks, in
 * any spelling; other FLUSH forms pass. -- opens a comment only before a
 * blank or a control character.
 */
static void test_sqlguard__mysql_flush_and_dashes(void **state)
{
	const enum dbr_sqlguard_dialect my = DBR_SQLGUARD_MYSQL;

	(void)state;
	refused_always(my, "FLUSH TABLES WITH READ LOCK");
	refused_always(my, "flush /* x */ tables `my t`, b with\tread lock");
	refused_always(my, "FLUSH TABLES t FOR EXPORT");
	refused_always(my, "FLUSH NO_WRITE_TO_BINLOG TABLES WITH READ LOCK");
	refused_always(my, "BACKUP STAGE START");
	refused_always(my, "backup lock t");
	allowed_always(my, "FLUSH TABLES");
	allowed_always(my, "FLUSH TABLES `lock`");
	refused_always(my, "-- x\nSET a = 1");
	refused_always(my, "--\tx\nSET a = 1");
	allowed_always(my, "--x\nSET a = 1");
	refused_always(PG, "--x\nSET a = 1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sqlguard__reads_by_first_keyword),
		cmocka_unit_test(test_sqlguard__plain_select_passes),
		cmocka_unit_test(test_sqlguard__transaction_control_both),
		cmocka_unit_test(test_sqlguard__message_names_tx_calls),
		cmocka_unit_test(test_sqlguard__savepoints_only_in_tx),
		cmocka_unit_test(test_sqlguard__sqlite_attach_and_pragma),
		cmocka_unit_test(test_sqlguard__postgres_session_state),
		cmocka_unit_test(
			test_sqlguard__keyword_prefixes_and_later_words),
		cmocka_unit_test(test_sqlguard__declare_with_hold_any_form),
		cmocka_unit_test(test_sqlguard__declare_named_hold),
		cmocka_unit_test(test_sqlguard__may_leave_state),
		cmocka_unit_test(test_sqlguard__create_temp_only_in_tx),
		cmocka_unit_test(test_sqlguard__comments_hide_no_temp),
		cmocka_unit_test(test_sqlguard__ordinary_statements_pooled),
		cmocka_unit_test(test_sqlguard__mysql_flush_and_dashes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
