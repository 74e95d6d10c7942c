/*
 * test_sqlscan.c - `?` placeholders to $n outside quotes and comments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "sqllex.h"
#include "sqlscan.h"

static void expect_in(uint32_t flags, const char *sql, const char *want,
		      size_t nparams, const char *trailing)
{
	struct dbr_sqlbuf b = { NULL, 0 };
	struct dbr_sqlscan info;

	assert_int_equal(dbr_sqlscan(sql, flags, &b, &info), 0);
	assert_string_equal(b.buf, want);
	assert_int_equal(info.nparams, nparams);
	if (trailing)
		assert_string_equal(info.trailing, trailing);
	else
		assert_null(info.trailing);
	dbr_sqlbuf_free(&b);
}

static void expect(const char *sql, const char *want, size_t nparams,
		   const char *trailing)
{
	expect_in(DBR_SQLLEX_POSTGRES, sql, want, nparams, trailing);
}

static void test_sqlscan__placeholders(void **state)
{
	(void)state;
	expect("SELECT ?, ?", "SELECT $1, $2", 2, NULL);
	expect("", "", 0, NULL);
	expect("?", "$1", 1, NULL);
	expect("x = ?::int", "x = $1::int", 1, NULL);
	/* ?? is a literal ?, e.g. jsonb's operators. */
	expect("j ?? 'k' AND j ??| ?", "j ? 'k' AND j ?| $1", 1, NULL);
}

static void test_sqlscan__quotes_and_comments(void **state)
{
	(void)state;
	expect("SELECT '?', ?", "SELECT '?', $1", 1, NULL);
	expect("SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1", 1, NULL);
	expect("SELECT E'\\' ?', ?", "SELECT E'\\' ?', $1", 1, NULL);
	expect("SELECT '\\', ?", "SELECT '\\', $1", 1, NULL);
	expect("SELECT \"a?\"\"b\", ?", "SELECT \"a?\"\"b\", $1", 1, NULL);
	expect("SELECT $$?$$, $t$ ? $$ ? $t$, ?",
	       "SELECT $$?$$, $t$ ? $$ ? $t$, $1", 1, NULL);
	expect("SELECT a$b, ?", "SELECT a$b, $1", 1, NULL);
	expect("SELECT ? -- what ?\n, ?", "SELECT $1 -- what ?\n, $2", 2, NULL);
	expect("SELECT /* ? /* ? */ ? */ ?", "SELECT /* ? /* ? */ ? */ $1", 1,
	       NULL);
	expect("SELECT 'unterminated ?", "SELECT 'unterminated ?", 0, NULL);
}

/*
 * An E'' string takes backslash escapes as well as '': in E'a''b\'?' the
 * \' is an escaped quote, so the ? is still inside the literal. A
 * standard string takes no backslash escapes: in 'a''b\'?' the quote
 * after the backslash ends it, and the ? after it is a placeholder.
 */
static void test_sqlscan__escape_strings(void **state)
{
	(void)state;
	expect("SELECT E'a''b\\'?', ?", "SELECT E'a''b\\'?', $1", 1, NULL);
	expect("SELECT e'a''b\\'?', ?", "SELECT e'a''b\\'?', $1", 1, NULL);
	expect("SELECT 'a''b\\', ?", "SELECT 'a''b\\', $1", 1, NULL);
	expect("SELECT 'a''b\\'?'", "SELECT 'a''b\\'$1'", 1, NULL);
	/* An escaped backslash does not escape the quote after it. */
	expect("SELECT E'\\\\', ?", "SELECT E'\\\\', $1", 1, NULL);
	/* An identifier ending in E is no prefix. */
	expect("SELECT 1 AS e, note'\\', ?", "SELECT 1 AS e, note'\\', $1", 1,
	       NULL);
	/* Inside E'', a ; does not end the statement either. */
	expect("SELECT E'\\';?'; x", "SELECT E'\\';?'", 0, "x");
}

static void test_sqlscan__one_statement(void **state)
{
	(void)state;
	expect("SELECT 1;", "SELECT 1", 0, NULL);
	expect("SELECT 1 ; -- end\n /* c */ ", "SELECT 1 ", 0, NULL);
	expect("SELECT ?; DELETE FROM t", "SELECT $1", 1, "DELETE FROM t");
	expect("SELECT ';'; x", "SELECT ';'", 0, "x");
}

/*
 * A statement ends where the splitter (sqlsplit.c) ends it: a ';' inside
 * parentheses (CREATE RULE ... DO (a; b)) or inside a function's BEGIN
 * ATOMIC ... END body does not end it, and the trigger body rule holds
 * in SQLite's dialect.
 */
static void test_sqlscan__statement_end_as_split(void **state)
{
	static const char *const whole[] = {
		"CREATE FUNCTION f() RETURNS int LANGUAGE sql\n"
		"BEGIN ATOMIC\n  SELECT ?;\n  SELECT CASE WHEN 1 = 1 THEN 2 "
		"END;\nEND",
		"CREATE OR REPLACE PROCEDURE p() LANGUAGE sql "
		"BEGIN ATOMIC INSERT INTO t VALUES (1); END",
		"CREATE RULE r AS ON INSERT TO r1 DO ALSO "
		"(INSERT INTO r2 VALUES (new.x); INSERT INTO r2 VALUES (?))",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(whole) / sizeof(whole[0]); i++) {
		struct dbr_sqlbuf b = { NULL, 0 };
		struct dbr_sqlscan info;
		char sql[512];

		snprintf(sql, sizeof(sql), "%s; SELECT 9", whole[i]);
		assert_int_equal(
			dbr_sqlscan(sql, DBR_SQLLEX_POSTGRES, &b, &info), 0);
		assert_string_equal(info.trailing, "SELECT 9");
		assert_int_equal(strlen(b.buf) >= strlen(whole[i]) - 2, 1);
		assert_null(strstr(b.buf, "SELECT 9"));
		dbr_sqlbuf_free(&b);
		snprintf(sql, sizeof(sql), "%s;", whole[i]);
		assert_int_equal(
			dbr_sqlscan(sql, DBR_SQLLEX_POSTGRES, &b, &info), 0);
		assert_null(info.trailing);
		dbr_sqlbuf_free(&b);
	}
	expect_in(DBR_SQLLEX_SQLITE,
		  "CREATE TRIGGER g AFTER INSERT ON t BEGIN "
		  "UPDATE t SET x = ?; END; SELECT 2",
		  "CREATE TRIGGER g AFTER INSERT ON t BEGIN "
		  "UPDATE t SET x = $1; END",
		  1, "SELECT 2");
	/* Outside such a statement, BEGIN is a statement of its own. */
	expect("BEGIN; SELECT 1", "BEGIN", 0, "SELECT 1");
}

/* The dialect decides what is quoted: the lexer's flags, not a name. */
static void test_sqlscan__dialects(void **state)
{
	(void)state;
	/* No dollar quotes, no E'' strings, comments that do not nest. */
	expect_in(0, "SELECT $$?$$, E'\\', ?", "SELECT $$$1$$, E'\\', $2", 2,
		  NULL);
	expect_in(0, "SELECT /* /* */ ? */", "SELECT /* /* */ $1 */", 1, NULL);
	/* MySQL: backslash escapes everywhere, # comments, `names`. */
	expect_in(DBR_SQLLEX_BACKSLASH_ESCAPES | DBR_SQLLEX_HASH_COMMENTS |
			  DBR_SQLLEX_BACKTICK_IDS,
		  "SELECT '\\'?', `?`, ? # ?\n; x",
		  "SELECT '\\'?', `?`, $1 # ?\n", 1, "x");
	/* MySQL: -- is a comment only before a blank or a control
	 * character (the end of the text too). */
	expect_in(DBR_SQLLEX_DASH_NEEDS_BLANK, "SELECT 2--?, ? --\t?\n--",
		  "SELECT 2--$1, $2 --\t?\n--", 2, NULL);
	expect_in(0, "SELECT 2--?, ?", "SELECT 2--?, ?", 0, NULL);
	/* SQLite: [names]. */
	expect_in(DBR_SQLLEX_SQLITE, "SELECT [?], ?", "SELECT [?], $1", 1,
		  NULL);
}

static void refused(const char *sql, const char *want)
{
	struct dbr_sqlbuf b = { NULL, 0 };
	struct dbr_sqlscan info;

	assert_int_equal(dbr_sqlscan(sql, DBR_SQLLEX_POSTGRES, &b, &info), 0);
	if (!want) {
		assert_null(info.refused);
	} else {
		assert_non_null(info.refused);
		assert_int_equal(info.refused_len, strlen(want));
		assert_memory_equal(info.refused, want, strlen(want));
	}
	dbr_sqlbuf_free(&b);
}

/* dbroute numbers parameters itself: other placeholder forms are named. */
static void test_sqlscan__other_placeholders_refused(void **state)
{
	(void)state;
	refused("SELECT $1, ?", "$1");
	refused("SELECT ?5", "?5");
	refused("SELECT ?, ?12 + 1", "?12");
	refused("SELECT :name", ":name");
	refused("SELECT x FROM t WHERE y = @who", "@who");
	refused("SELECT $val + 1", "$val");
	refused("SELECT ?, :a, @b", ":a");
	/* Not placeholders: quoted, commented, casts, operators, slices. */
	refused("SELECT ?", NULL);
	refused("SELECT j ?? 'k', j ??| ?", NULL);
	refused("SELECT ':x', '@y', '$1', '?2', \"?3\"", NULL);
	refused("SELECT 1 -- :x $1 ?2\n/* @y */", NULL);
	refused("SELECT $$ :x $1 $$, $t$ @y $t$", NULL);
	refused("SELECT ?::int, x::text", NULL);
	refused("SELECT a @> b, b <@ a, @ -5, a[1:n], a$1", NULL);
	refused("SELECT E'\\':x'", NULL);
}

/* dbr_sqlscan_named() in dialect flags: the text, the names as "a,b". */
static void expect_named(uint32_t flags, const char *sql, const char *want,
			 const char *names, const char *mixed)
{
	struct dbr_sqlbuf b = { NULL, 0 };
	struct dbr_sqlnames n = { NULL, 0, 0 };
	struct dbr_sqlscan info;
	char got[256];
	size_t i, len = 0;

	assert_int_equal(dbr_sqlscan_named(sql, flags, &b, &info, &n), 0);
	assert_string_equal(b.buf, want);
	assert_int_equal(info.nparams, n.n);
	got[0] = '\0';
	for (i = 0; i < n.n; i++)
		len += (size_t)snprintf(got + len, sizeof(got) - len, "%s%.*s",
					i ? "," : "", (int)n.v[i].len,
					sql + n.v[i].at);
	assert_string_equal(got, names);
	if (mixed)
		assert_string_equal(info.mixed, mixed);
	else
		assert_null(info.mixed);
	free(n.v);
	dbr_sqlbuf_free(&b);
}

/*
 * `:name` placeholders: repeats, casts, slices, strings, comments, quoted
 * names and dollar quotes of each dialect; `??` kept for the driver, a
 * lone `?` reported as mixed.
 */
static void test_sqlscan__named(void **state)
{
	const uint32_t my = DBR_SQLLEX_BACKSLASH_ESCAPES |
			    DBR_SQLLEX_HASH_COMMENTS | DBR_SQLLEX_BACKTICK_IDS |
			    DBR_SQLLEX_DASH_NEEDS_BLANK | DBR_SQLSCAN_QMARK;

	(void)state;
	expect_named(DBR_SQLLEX_POSTGRES,
		     "SELECT :a, :b_2, :a::int, x::text, arr[1:n], ':c', "
		     "\":d\", $$:e$$, $t$:f$t$ /* :g */ -- :h\n",
		     "SELECT $1, $2, $3::int, x::text, arr[1:n], ':c', "
		     "\":d\", $$:e$$, $t$:f$t$ /* :g */ -- :h\n",
		     "a,b_2,a", NULL);
	expect_named(DBR_SQLLEX_POSTGRES | DBR_SQLSCAN_QMARK,
		     "j ?? 'k' AND id = :id", "j ?? 'k' AND id = ?", "id",
		     NULL);
	expect_named(DBR_SQLLEX_POSTGRES, "SELECT :a, ?, ?", "SELECT $1, ?, ?",
		     "a", "?, ?");
	expect_named(my, "SELECT :a, 'x\\':b', `:c`, \":d\" # :e\n, :a",
		     "SELECT ?, 'x\\':b', `:c`, \":d\" # :e\n, ?", "a,a", NULL);
	expect_named(DBR_SQLLEX_SQLITE | DBR_SQLSCAN_QMARK,
		     "SELECT [:a], :b, x:c", "SELECT [:a], ?, x?", "b,c", NULL);
	expect_named(DBR_SQLLEX_SQLITE,
		     "SELECT :1, : a, ::", "SELECT :1, : a, ::", "", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sqlscan__placeholders),
		cmocka_unit_test(test_sqlscan__quotes_and_comments),
		cmocka_unit_test(test_sqlscan__escape_strings),
		cmocka_unit_test(test_sqlscan__one_statement),
		cmocka_unit_test(test_sqlscan__statement_end_as_split),
		cmocka_unit_test(test_sqlscan__dialects),
		cmocka_unit_test(test_sqlscan__other_placeholders_refused),
		cmocka_unit_test(test_sqlscan__named),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
