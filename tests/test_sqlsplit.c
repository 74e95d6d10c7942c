/*
 * test_sqlsplit.c - scripts split into statements with their lines, in
 * each lexical dialect; the no-transaction marker; the classifier of
 * transaction control.
 */
#include <string.h>

#include <sqlite3.h>

#include "helpers.h"
#include "sqlguard.h"
#include "sqllex.h"
#include "sqlsplit.h"

#define PG   DBR_SQLLEX_POSTGRES
#define LITE DBR_SQLLEX_SQLITE
#define MYSQL                                                                  \
	(DBR_SQLLEX_BACKSLASH_ESCAPES | DBR_SQLLEX_HASH_COMMENTS |             \
	 DBR_SQLLEX_BACKTICK_IDS)

/* One expected statement: its text and its line. */
struct want {
	const char *text;
	unsigned line;
};

#define MAXSTMT 16

/*
 * Split sql under flags and compare with want (ended by a NULL text);
 * then, when error is not DBR_SQLSPLIT_OK, expect that error at
 * error_line after the statements.
 */
static void split_full(const char *sql, uint32_t flags, const struct want *want,
		       enum dbr_sqlsplit_error error, unsigned error_line)
{
	struct dbr_sqlsplit sp;
	struct dbr_sqlstmt st;
	enum dbr_sqlsplit_step step;
	size_t i;

	dbr_sqlsplit_init(&sp, sql, strlen(sql), flags);
	for (i = 0; i < MAXSTMT; i++) {
		step = dbr_sqlsplit_next(&sp, &st);
		if (step != DBR_SQLSPLIT_STMT)
			break;
		if (!want[i].text)
			fail_msg("extra statement '%.*s' in '%s'",
				 (int)(st.end - st.start), sql + st.start, sql);
		assert_true(st.start < st.end && st.end <= strlen(sql));
		if (strlen(want[i].text) != st.end - st.start ||
		    memcmp(want[i].text, sql + st.start, st.end - st.start))
			fail_msg("statement %zu of '%s': got '%.*s', want '%s'",
				 i, sql, (int)(st.end - st.start),
				 sql + st.start, want[i].text);
		assert_int_equal(st.line, want[i].line);
	}
	if (want[i].text)
		fail_msg("statement '%s' missing in '%s'", want[i].text, sql);
	if (error == DBR_SQLSPLIT_OK) {
		assert_int_equal(step, DBR_SQLSPLIT_DONE);
		assert_int_equal(dbr_sqlsplit_next(&sp, &st),
				 DBR_SQLSPLIT_DONE);
		return;
	}
	assert_int_equal(step, DBR_SQLSPLIT_ERROR);
	assert_int_equal(sp.error, error);
	assert_int_equal(sp.error_line, error_line);
	assert_int_equal(dbr_sqlsplit_next(&sp, &st), DBR_SQLSPLIT_ERROR);
}

static void split(const char *sql, uint32_t flags, const struct want *want)
{
	split_full(sql, flags, want, DBR_SQLSPLIT_OK, 0);
}

/* Splitting sql fails with error at line, after any statements. */
static void fails(const char *sql, uint32_t flags,
		  enum dbr_sqlsplit_error error, unsigned line)
{
	struct dbr_sqlsplit sp;
	struct dbr_sqlstmt st;
	unsigned n = 0;

	dbr_sqlsplit_init(&sp, sql, strlen(sql), flags);
	while (n++ < MAXSTMT &&
	       dbr_sqlsplit_next(&sp, &st) == DBR_SQLSPLIT_STMT)
		;
	if (sp.error != error || sp.error_line != line)
		fail_msg("'%s': error %d at line %u, want %d at %u", sql,
			 (int)sp.error, sp.error_line, (int)error, line);
}

/* Every dialect splits these alike. */
static void test_sqlsplit__common(void **state)
{
	static const uint32_t all[] = { 0, PG, LITE, MYSQL };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		uint32_t f = all[i];

		split("", f, (struct want[]){ { NULL, 0 } });
		split(" ;; \n ; -- only a comment\n/* and */", f,
		      (struct want[]){ { NULL, 0 } });
		split("SELECT 1", f,
		      (struct want[]){ { "SELECT 1", 1 }, { NULL, 0 } });
		split("SELECT 1;SELECT 2;", f,
		      (struct want[]){ { "SELECT 1", 1 },
				       { "SELECT 2", 1 },
				       { NULL, 0 } });
		split("\n\n  SELECT 1 ;\n\nSELECT\n2\n;\n-- tail\n", f,
		      (struct want[]){ { "SELECT 1", 3 },
				       { "SELECT\n2", 5 },
				       { NULL, 0 } });
		split("-- head ; x\nSELECT 1 -- c ;\n, 2; /* ; */ SELECT 3", f,
		      (struct want[]){ { "SELECT 1 -- c ;\n, 2", 2 },
				       { "SELECT 3", 3 },
				       { NULL, 0 } });
		split("INSERT INTO t VALUES ('a;b', 'it''s;'); SELECT \"x;\"\"\"",
		      f,
		      (struct want[]){
			      { "INSERT INTO t VALUES ('a;b', 'it''s;')", 1 },
			      { "SELECT \"x;\"\"\"", 1 },
			      { NULL, 0 } });
		/* A string over lines counts its lines. */
		split("SELECT 'a\n;\nb';\nSELECT 2", f,
		      (struct want[]){ { "SELECT 'a\n;\nb'", 1 },
				       { "SELECT 2", 4 },
				       { NULL, 0 } });
		/* CRLF line ends. */
		split("SELECT 1;\r\nSELECT 2;\r\n", f,
		      (struct want[]){ { "SELECT 1", 1 },
				       { "SELECT 2", 2 },
				       { NULL, 0 } });
		/* A ; inside parentheses (psql's rule). */
		split("CREATE RULE r AS ON INSERT TO t DO ALSO (SELECT 1; "
		      "SELECT 2); SELECT 3",
		      f,
		      (struct want[]){ { "CREATE RULE r AS ON INSERT TO t DO "
					 "ALSO (SELECT 1; SELECT 2)",
					 1 },
				       { "SELECT 3", 1 },
				       { NULL, 0 } });
		split("SELECT 1);SELECT (2)", f,
		      (struct want[]){ { "SELECT 1)", 1 },
				       { "SELECT (2)", 1 },
				       { NULL, 0 } });
		fails("SELECT 1;\nSELECT 'open;\n", f, DBR_SQLSPLIT_E_QUOTE, 2);
		fails("SELECT \"open", f, DBR_SQLSPLIT_E_IDENT, 1);
		fails("\n\n/* open", f, DBR_SQLSPLIT_E_COMMENT, 3);
		fails("SELECT 1;\nSELECT (1,\n2;\n", f, DBR_SQLSPLIT_E_PAREN,
		      2);
	}
}

static void test_sqlsplit__statements_before_an_error(void **state)
{
	(void)state;
	split_full("SELECT 1;\nSELECT 2;\nSELECT 'x", PG,
		   (struct want[]){
			   { "SELECT 1", 1 }, { "SELECT 2", 2 }, { NULL, 0 } },
		   DBR_SQLSPLIT_E_QUOTE, 3);
}

static void test_sqlsplit__postgres(void **state)
{
	(void)state;
	split("CREATE FUNCTION f() RETURNS int AS $$\nBEGIN\n  RETURN 1;\n"
	      "END\n$$ LANGUAGE plpgsql;\nSELECT f()",
	      PG,
	      (struct want[]){ { "CREATE FUNCTION f() RETURNS int AS $$\n"
				 "BEGIN\n  RETURN 1;\nEND\n$$ LANGUAGE plpgsql",
				 1 },
			       { "SELECT f()", 6 },
			       { NULL, 0 } });
	split("SELECT $body$ ; $$ ; $body$; SELECT $a$$b$$a$;", PG,
	      (struct want[]){ { "SELECT $body$ ; $$ ; $body$", 1 },
			       { "SELECT $a$$b$$a$", 1 },
			       { NULL, 0 } });
	/* $1 and a$b are no dollar quotes. */
	split("SELECT $1; SELECT a$b; SELECT 1", PG,
	      (struct want[]){ { "SELECT $1", 1 },
			       { "SELECT a$b", 1 },
			       { "SELECT 1", 1 },
			       { NULL, 0 } });
	/* E'' takes backslash escapes; a plain '' does not. */
	split("SELECT E'a\\';b'; SELECT 'c\\'; SELECT e'\\\\'; SELECT 4", PG,
	      (struct want[]){ { "SELECT E'a\\';b'", 1 },
			       { "SELECT 'c\\'", 1 },
			       { "SELECT e'\\\\'", 1 },
			       { "SELECT 4", 1 },
			       { NULL, 0 } });
	/* Block comments nest in PostgreSQL. */
	split("SELECT /* a /* b */ ; */ 1; SELECT 2", PG,
	      (struct want[]){ { "SELECT /* a /* b */ ; */ 1", 1 },
			       { "SELECT 2", 1 },
			       { NULL, 0 } });
	/* SQL-standard function bodies (psql's rule), with a CASE. */
	split("CREATE OR REPLACE FUNCTION f(x int) RETURNS int\n"
	      "LANGUAGE sql BEGIN ATOMIC\n  SELECT CASE WHEN x > 0 THEN 1 "
	      "ELSE 0 END;\n  SELECT 2;\nEND;\nCREATE PROCEDURE p() BEGIN "
	      "ATOMIC SELECT 1; END; SELECT 3",
	      PG,
	      (struct want[]){
		      { "CREATE OR REPLACE FUNCTION f(x int) RETURNS int\n"
			"LANGUAGE sql BEGIN ATOMIC\n  SELECT CASE WHEN x > 0 "
			"THEN 1 ELSE 0 END;\n  SELECT 2;\nEND",
			1 },
		      { "CREATE PROCEDURE p() BEGIN ATOMIC SELECT 1; END", 6 },
		      { "SELECT 3", 6 },
		      { NULL, 0 } });
	/* A trigger in PostgreSQL has no body of its own. */
	split("CREATE TRIGGER t AFTER INSERT ON x FOR EACH ROW EXECUTE "
	      "FUNCTION f();\nSELECT 1",
	      PG,
	      (struct want[]){ { "CREATE TRIGGER t AFTER INSERT ON x FOR EACH "
				 "ROW EXECUTE FUNCTION f()",
				 1 },
			       { "SELECT 1", 2 },
			       { NULL, 0 } });
	/* BEGIN outside a function is a statement of its own. */
	split("BEGIN; SELECT 1; END;", PG,
	      (struct want[]){ { "BEGIN", 1 },
			       { "SELECT 1", 1 },
			       { "END", 1 },
			       { NULL, 0 } });
	split("SELECT '[;]'[1]; SELECT 2", PG,
	      (struct want[]){ { "SELECT '[;]'[1]", 1 },
			       { "SELECT 2", 1 },
			       { NULL, 0 } });
	fails("SELECT 1;\n\nSELECT $x$ never\n;", PG, DBR_SQLSPLIT_E_DOLLAR, 3);
	fails("SELECT /* a /* b */ ;", PG, DBR_SQLSPLIT_E_COMMENT, 1);
	fails("SELECT E'\\'", PG, DBR_SQLSPLIT_E_QUOTE, 1);
	fails("CREATE FUNCTION f() BEGIN ATOMIC\nSELECT 1;\n", PG,
	      DBR_SQLSPLIT_E_BODY, 1);
}

static void test_sqlsplit__sqlite(void **state)
{
	(void)state;
	split("CREATE TABLE t(a);\nCREATE TRIGGER tr AFTER INSERT ON t\n"
	      "BEGIN\n  UPDATE t SET a = CASE WHEN a > 0 THEN 1 ELSE 0 END;\n"
	      "  INSERT INTO t VALUES (';');\nEND;\nSELECT 1;",
	      LITE,
	      (struct want[]){ { "CREATE TABLE t(a)", 1 },
			       { "CREATE TRIGGER tr AFTER INSERT ON t\nBEGIN\n"
				 "  UPDATE t SET a = CASE WHEN a > 0 THEN 1 "
				 "ELSE 0 END;\n  INSERT INTO t VALUES (';');\n"
				 "END",
				 2 },
			       { "SELECT 1", 7 },
			       { NULL, 0 } });
	/* TEMP, comments between the words, any case, and END at the end. */
	split("create temp /* c */ trigger x before delete on t begin "
	      "select raise(abort, 'no'); end",
	      LITE,
	      (struct want[]){ { "create temp /* c */ trigger x before delete "
				 "on t begin select raise(abort, 'no'); end",
				 1 },
			       { NULL, 0 } });
	/* A CASE ... END right before the ; does not end the body. */
	split("CREATE TRIGGER x AFTER UPDATE ON t BEGIN SELECT CASE 1 WHEN 1 "
	      "THEN 2 END; END; SELECT 2",
	      LITE,
	      (struct want[]){ { "CREATE TRIGGER x AFTER UPDATE ON t BEGIN "
				 "SELECT CASE 1 WHEN 1 THEN 2 END; END",
				 1 },
			       { "SELECT 2", 1 },
			       { NULL, 0 } });
	/* "END" quoted is a name, not the end. */
	split("CREATE TRIGGER x AFTER UPDATE ON t BEGIN SELECT 1; \"END\"; "
	      "END; SELECT 2",
	      LITE,
	      (struct want[]){ { "CREATE TRIGGER x AFTER UPDATE ON t BEGIN "
				 "SELECT 1; \"END\"; END",
				 1 },
			       { "SELECT 2", 1 },
			       { NULL, 0 } });
	/* Other CREATEs are not triggers; [x] and `x` are identifiers. */
	split("CREATE TABLE [a;b](`c;d`); CREATE TEMP TABLE x(y); SELECT 1",
	      LITE,
	      (struct want[]){ { "CREATE TABLE [a;b](`c;d`)", 1 },
			       { "CREATE TEMP TABLE x(y)", 1 },
			       { "SELECT 1", 1 },
			       { NULL, 0 } });
	/* Block comments do not nest; $ and # are code; no E'' strings. */
	split("SELECT /* /* */ 1; SELECT $a; SELECT E'\\'; SELECT #", LITE,
	      (struct want[]){ { "SELECT /* /* */ 1", 1 },
			       { "SELECT $a", 1 },
			       { "SELECT E'\\'", 1 },
			       { "SELECT #", 1 },
			       { NULL, 0 } });
	fails("SELECT 1;\nCREATE TRIGGER x AFTER INSERT ON t BEGIN\nSELECT 1;\n",
	      LITE, DBR_SQLSPLIT_E_TRIGGER, 2);
	fails("SELECT [open", LITE, DBR_SQLSPLIT_E_IDENT, 1);
	fails("SELECT `open", LITE, DBR_SQLSPLIT_E_IDENT, 1);
}

/*
 * Each statement the splitter finds in these SQLite scripts is complete by
 * sqlite3_complete once its ';' is added, and none of its prefixes that
 * ends with a ';' is.
 */
static void test_sqlsplit__agrees_with_sqlite3_complete(void **state)
{
	static const char *const scripts[] = {
		"CREATE TRIGGER a AFTER INSERT ON t BEGIN SELECT 1; SELECT "
		"CASE WHEN 1 THEN 2 END; END; SELECT ';'",
		"EXPLAIN CREATE TRIGGER a AFTER INSERT ON t BEGIN SELECT 1; "
		"END; SELECT 1",
		"CREATE TEMPORARY TRIGGER \"a;\" AFTER INSERT ON t BEGIN "
		"INSERT INTO t VALUES ('END;'); END /* ; */ ; VALUES (1)",
		"CREATE TRIGGER a AFTER INSERT ON t BEGIN SELECT 1; END",
		"SELECT 1 -- ;\n; SELECT [a;]; SELECT `b;`",
	};
	char buf[512];
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
		struct dbr_sqlsplit sp;
		struct dbr_sqlstmt st;
		unsigned n = 0;

		dbr_sqlsplit_init(&sp, scripts[i], strlen(scripts[i]), LITE);
		while (n++ < MAXSTMT &&
		       dbr_sqlsplit_next(&sp, &st) == DBR_SQLSPLIT_STMT) {
			size_t len = st.end - st.start;

			assert_true(len + 2 < sizeof(buf));
			memcpy(buf, scripts[i] + st.start, len);
			for (j = 1; j < len; j++) {
				if (buf[j - 1] != ';')
					continue;
				buf[j] = '\0';
				assert_int_equal(sqlite3_complete(buf), 0);
				buf[j] = scripts[i][st.start + j];
			}
			memcpy(buf + len, ";", 2);
			assert_int_equal(sqlite3_complete(buf), 1);
		}
		assert_int_equal(sp.error, DBR_SQLSPLIT_OK);
		assert_true(n > 1);
	}
}

static void test_sqlsplit__mysql(void **state)
{
	(void)state;
	split("SELECT 'a\\';b', \"c\\\";d\"; # x ; y\nSELECT `e;``f`; SELECT 1",
	      MYSQL,
	      (struct want[]){ { "SELECT 'a\\';b', \"c\\\";d\"", 1 },
			       { "SELECT `e;``f`", 2 },
			       { "SELECT 1", 2 },
			       { NULL, 0 } });
	/* No dollar quotes: $$ is code and the ; inside ends. */
	split("SELECT $$;$$", MYSQL,
	      (struct want[]){ { "SELECT $$", 1 }, { "$$", 1 }, { NULL, 0 } });
	fails("SELECT 'a\\'", MYSQL, DBR_SQLSPLIT_E_QUOTE, 1);
}

static void test_sqlsplit__nul_byte(void **state)
{
	static const char sql[] = "SELECT 1;\nSELECT '\0';";
	struct dbr_sqlsplit sp;
	struct dbr_sqlstmt st;

	(void)state;
	dbr_sqlsplit_init(&sp, sql, sizeof(sql) - 1, PG);
	assert_int_equal(dbr_sqlsplit_next(&sp, &st), DBR_SQLSPLIT_STMT);
	assert_int_equal(dbr_sqlsplit_next(&sp, &st), DBR_SQLSPLIT_ERROR);
	/* The quote runs to the NUL: the literal is open at line 2. */
	assert_int_equal(sp.error, DBR_SQLSPLIT_E_QUOTE);
	assert_int_equal(sp.error_line, 2);
	dbr_sqlsplit_init(&sp, "SELECT 1;\0SELECT 2", 18, PG);
	assert_int_equal(dbr_sqlsplit_next(&sp, &st), DBR_SQLSPLIT_STMT);
	assert_int_equal(dbr_sqlsplit_next(&sp, &st), DBR_SQLSPLIT_ERROR);
	assert_int_equal(sp.error, DBR_SQLSPLIT_E_NUL);
	assert_int_equal(sp.error_line, 1);
	assert_string_equal(dbr_sqlsplit_strerror(sp.error),
			    "NUL byte in the text");
}

static void test_sqlsplit__no_transaction_marker(void **state)
{
	static const char *const yes[] = {
		"-- dbroute: no-transaction\nCREATE INDEX CONCURRENTLY i ON t(a);",
		"--dbroute:no-transaction",
		"  --   dbroute:  no-transaction  \r\nSELECT 1",
	};
	static const char *const no[] = {
		"",
		"SELECT 1;\n-- dbroute: no-transaction\n",
		"-- dbroute: no-transactions\n",
		"-- dbroute: no-transaction; SELECT 1\n",
		"-- DBROUTE: NO-TRANSACTION\n",
		"/* dbroute: no-transaction */\n",
		"-- dbroute no-transaction\n",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(
			dbr_sqlsplit_no_transaction(yes[i], strlen(yes[i])));
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_false(dbr_sqlsplit_no_transaction(no[i], strlen(no[i])));
	/* Only the first line is read, never past len. */
	assert_true(
		dbr_sqlsplit_no_transaction("-- dbroute: no-transactionX", 26));
}

static void test_sqlsplit__tx_control(void **state)
{
	static const char *const yes[] = {
		"BEGIN",
		"begin transaction",
		"COMMIT",
		"END",
		"ROLLBACK",
		"ABORT",
		"START TRANSACTION ISOLATION LEVEL SERIALIZABLE",
		"SAVEPOINT a",
		"RELEASE a",
		"ROLLBACK TO a",
		"PREPARE TRANSACTION 'x'",
		"COMMIT PREPARED 'x'",
		"/* c */ (BEGIN",
		"END; SELECT 1",
	};
	static const char *const no[] = {
		"SELECT 1",
		"CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT 1; END",
		"CREATE FUNCTION f() BEGIN ATOMIC SELECT 1; END",
		"DECLARE c CURSOR; BEGIN; SELECT 1 FOR",
		"SET x = 1",
		"START",
		"-- BEGIN\nSELECT 1",
		"",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!dbr_sqlguard_is_tx_control(yes[i]))
			fail_msg("'%s' is transaction control", yes[i]);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (dbr_sqlguard_is_tx_control(no[i]))
			fail_msg("'%s' is no transaction control", no[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sqlsplit__common),
		cmocka_unit_test(test_sqlsplit__statements_before_an_error),
		cmocka_unit_test(test_sqlsplit__postgres),
		cmocka_unit_test(test_sqlsplit__sqlite),
		cmocka_unit_test(test_sqlsplit__agrees_with_sqlite3_complete),
		cmocka_unit_test(test_sqlsplit__mysql),
		cmocka_unit_test(test_sqlsplit__nul_byte),
		cmocka_unit_test(test_sqlsplit__no_transaction_marker),
		cmocka_unit_test(test_sqlsplit__tx_control),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
