/*
 * test_portability.c - every example of docs/portability.md that starts
 * with `-- portable` runs on SQLite, PostgreSQL and MariaDB (the servers
 * scripts/test.sh starts: DBR_TEST_PG, DBR_TEST_MYSQL), statement by
 * statement: each statement succeeds on the three, and the rows each
 * returns hold the same values on the three (the same type and bytes,
 * doubles compared exactly; an integer and a double of the same value
 * count as the same).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define NENGINES 3
static const char *const engines[NENGINES] = { "lite", "pg", "my" };

static char *dir;
static struct dbr *db;

/* One value of a result, kept for the comparison. */
struct cell {
	int type;
	int64_t i;
	double d;
	char *s; /* text or blob bytes (owned) */
	size_t len;
};

struct rows {
	struct cell *cells;
	size_t n, cap, ncols;
};

static void rows_free(struct rows *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->cells[i].s);
	free(r->cells);
	memset(r, 0, sizeof(*r));
}

static void add_cell(struct rows *r, const struct dbr_value *v)
{
	struct cell *c;

	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->cells = realloc(r->cells, r->cap * sizeof(*r->cells));
		assert_non_null(r->cells);
	}
	c = &r->cells[r->n++];
	memset(c, 0, sizeof(*c));
	c->type = v->type;
	if (v->type == DBR_TYPE_INT64 || v->type == DBR_TYPE_BOOL ||
	    v->type == DBR_TYPE_TIMESTAMP)
		c->i = v->u.i;
	else if (v->type == DBR_TYPE_DOUBLE)
		c->d = v->u.d;
	else if (v->type == DBR_TYPE_TEXT || v->type == DBR_TYPE_BLOB) {
		c->s = malloc(v->len + 1);
		assert_non_null(c->s);
		memcpy(c->s, v->u.b, v->len);
		c->len = v->len;
	}
}

/* Run sql on one engine; its rows into *r. */
static void run(int e, const char *sql, struct rows *r)
{
	struct dbr_result *res;
	struct dbr_error err;
	struct dbr_value v;
	size_t c;
	int rc;

	if (dbr_query_source(db, engines[e], sql, NULL, 0, &res, &err))
		fail_msg("%s: %s\n%s", engines[e], err.message, sql);
	r->ncols = dbr_result_column_count(res);
	while ((rc = dbr_result_next(res)) == DBR_ROW)
		for (c = 0; c < r->ncols; c++) {
			dbr_result_value(res, c, &v);
			add_cell(r, &v);
		}
	if (rc != DBR_DONE)
		fail_msg("%s: %s\n%s", engines[e],
			 dbr_result_error(res)->message, sql);
	dbr_result_free(res);
}

static bool same(const struct cell *a, const struct cell *b)
{
	if (a->type == DBR_TYPE_INT64 && b->type == DBR_TYPE_DOUBLE)
		return (double)a->i == b->d && (int64_t)b->d == a->i;
	if (a->type == DBR_TYPE_DOUBLE && b->type == DBR_TYPE_INT64)
		return same(b, a);
	if (a->type != b->type)
		return false;
	if (a->type == DBR_TYPE_INT64 || a->type == DBR_TYPE_BOOL ||
	    a->type == DBR_TYPE_TIMESTAMP)
		return a->i == b->i;
	if (a->type == DBR_TYPE_DOUBLE)
		return !memcmp(&a->d, &b->d, sizeof(double));
	if (a->type == DBR_TYPE_NULL)
		return true;
	return a->len == b->len && !memcmp(a->s, b->s, a->len);
}

static void describe(const struct cell *c, char *out, size_t size)
{
	if (c->type == DBR_TYPE_INT64)
		snprintf(out, size, "int64 %lld", (long long)c->i);
	else if (c->type == DBR_TYPE_BOOL)
		snprintf(out, size, "bool %lld", (long long)c->i);
	else if (c->type == DBR_TYPE_TIMESTAMP)
		snprintf(out, size, "timestamp %lld", (long long)c->i);
	else if (c->type == DBR_TYPE_DOUBLE)
		snprintf(out, size, "double %.17g", c->d);
	else if (c->type == DBR_TYPE_NULL)
		snprintf(out, size, "NULL");
	else
		snprintf(out, size, "%s '%.*s'",
			 c->type == DBR_TYPE_TEXT ? "text" : "blob",
			 (int)(c->len > 60 ? 60 : c->len), c->s);
}

/* One statement on the three engines, its rows compared. */
static void check_statement(const char *sql)
{
	struct rows r[NENGINES];
	char a[128], b[128];
	size_t i;
	int e;

	memset(r, 0, sizeof(r));
	for (e = 0; e < NENGINES; e++)
		run(e, sql, &r[e]);
	for (e = 1; e < NENGINES; e++) {
		if (r[e].n != r[0].n || r[e].ncols != r[0].ncols)
			fail_msg("%s: %zu values in %zu columns, %s: %zu in "
				 "%zu\n%s",
				 engines[0], r[0].n, r[0].ncols, engines[e],
				 r[e].n, r[e].ncols, sql);
		for (i = 0; i < r[0].n; i++) {
			if (same(&r[0].cells[i], &r[e].cells[i]))
				continue;
			describe(&r[0].cells[i], a, sizeof(a));
			describe(&r[e].cells[i], b, sizeof(b));
			fail_msg("value %zu: %s: %s, %s: %s\n%s", i, engines[0],
				 a, engines[e], b, sql);
		}
	}
	for (e = 0; e < NENGINES; e++)
		rows_free(&r[e]);
}

/*
 * Every statement of every portable block, in order. A block is the text
 * between a ```sql line and the closing ``` whose first line is
 * `-- portable`; a statement ends with a line that ends with ';'.
 */
static void test_portability__examples_mean_the_same(void **state)
{
	char *doc = t_read(DBR_TEST_DIR "/../docs/portability.md");
	char *line, *next, stmt[4096];
	bool in_block = false, portable = false;
	int blocks = 0, statements = 0;
	size_t len = 0;

	(void)state;
	assert_non_null(doc);
	for (line = doc; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!in_block) {
			in_block = !strcmp(line, "```sql");
			portable = false;
			len = 0;
			continue;
		}
		if (!strcmp(line, "```")) {
			in_block = false;
			assert_int_equal(len, 0); /* no unfinished statement */
			continue;
		}
		if (!len && !portable) {
			portable = !strcmp(line, "-- portable");
			blocks += portable;
			if (portable)
				continue;
		}
		if (!portable)
			continue;
		assert_true(len + strlen(line) + 2 < sizeof(stmt));
		len += (size_t)snprintf(stmt + len, sizeof(stmt) - len, "%s%s",
					len ? "\n" : "", line);
		if (len && stmt[len - 1] == ';') {
			stmt[--len] = '\0';
			check_statement(stmt);
			statements++;
			len = 0;
		}
	}
	free(doc);
	assert_true(blocks >= 5);
	assert_true(statements >= 30);
}

/* Each engine's table for typed values: the timestamp column's type is
 * the one part that is spelled differently (docs/portability.md). pgtz
 * is PostgreSQL with a session time zone 5:30 east of UTC. */
#define NTYPED 4
static const char *const typed_engines[NTYPED] = { "lite", "pg", "pgtz", "my" };
static const char *const ts_types[NTYPED] = { "TIMESTAMP", "TIMESTAMPTZ",
					      "TIMESTAMPTZ", "DATETIME(6)" };

/* The rows written: id, b, t. */
#define NTROWS 6
static const int64_t t_values[NTROWS] = {
	DBR_TIMESTAMP_MIN, DBR_TIMESTAMP_MAX, 1700000000123456LL, 0, -1,
	951868800000001LL /* 2000-03-01 00:00:00.000001 */
};

static void exec_on(const char *src, const char *sql, const struct dbr_value *p,
		    size_t n)
{
	struct dbr_error err;

	if (dbr_query_source(db, src, sql, p, n, NULL, &err))
		fail_msg("%s: %s\n%s", src, err.message, sql);
}

static void typed_table(int e)
{
	char sql[256];
	struct dbr_value p[3];
	int64_t i;

	exec_on(typed_engines[e], "DROP TABLE IF EXISTS p_typed", NULL, 0);
	snprintf(sql, sizeof(sql),
		 "CREATE TABLE p_typed (id BIGINT PRIMARY KEY, b BOOLEAN, "
		 "t %s)",
		 ts_types[e]);
	exec_on(typed_engines[e], sql, NULL, 0);
	for (i = 0; i < NTROWS; i++) {
		p[0] = dbr_int64(i + 1);
		p[1] = dbr_bool(i % 2 == 0);
		p[2] = dbr_timestamp(t_values[i]);
		exec_on(typed_engines[e],
			"INSERT INTO p_typed VALUES (?, ?, ?)", p, 3);
	}
	p[0] = dbr_int64(NTROWS + 1);
	p[1] = dbr_null_of(DBR_TYPE_BOOL);
	p[2] = dbr_null_of(DBR_TYPE_TIMESTAMP);
	exec_on(typed_engines[e], "INSERT INTO p_typed VALUES (?, ?, ?)", p, 3);
}

/* The ids a statement with parameters selects, as "1,2,3". */
static void ids(const char *src, const char *sql, const struct dbr_value *p,
		size_t n, char *out, size_t size)
{
	struct dbr_result *res;
	struct dbr_error err;
	size_t len = 0;
	int rc;

	out[0] = '\0';
	if (dbr_query_source(db, src, sql, p, n, &res, &err))
		fail_msg("%s: %s\n%s", src, err.message, sql);
	while ((rc = dbr_result_next(res)) == DBR_ROW && len + 24 < size)
		len += (size_t)snprintf(out + len, size - len, "%s%lld",
					len ? "," : "",
					(long long)dbr_result_int64(res, 0));
	assert_int_equal(rc, DBR_DONE);
	dbr_result_free(res);
}

/*
 * A bool and a timestamp written through dbroute read back identical, typed,
 * on every engine (microseconds, the years 1000 and 9999, before 1970, a
 * PostgreSQL session in another time zone); a typed NULL works where
 * PostgreSQL needs a type; a timestamp outside the years 1000-9999 is
 * refused before it is sent, naming it.
 */
static void test_portability__bool_and_timestamp_round_trip(void **state)
{
	struct dbr_value p[2], v;
	struct dbr_result *res;
	struct dbr_error err;
	char got[128], text[DBR_TIMESTAMP_TEXT_SIZE];
	int64_t i;
	int e, rc;

	(void)state;
	for (e = 0; e < NTYPED; e++) {
		const char *src = typed_engines[e];

		typed_table(e);
		if (dbr_query_source(db, src,
				     "SELECT id, b, t FROM p_typed ORDER BY id",
				     NULL, 0, &res, &err))
			fail_msg("%s: %s", src, err.message);
		for (i = 0; i < NTROWS; i++) {
			assert_int_equal(dbr_result_next(res), DBR_ROW);
			dbr_result_value(res, 1, &v);
			if (v.type != DBR_TYPE_BOOL || v.u.i != (i % 2 == 0))
				fail_msg("%s: row %lld: b type %d value %lld",
					 src, (long long)i + 1, v.type,
					 (long long)v.u.i);
			dbr_result_value(res, 2, &v);
			if (v.type != DBR_TYPE_TIMESTAMP ||
			    v.u.i != t_values[i])
				fail_msg("%s: row %lld: t type %d value %lld, "
					 "not %lld (%.*s)",
					 src, (long long)i + 1, v.type,
					 (long long)v.u.i,
					 (long long)t_values[i],
					 v.type == DBR_TYPE_TEXT ? (int)v.len
								 : 0,
					 v.type == DBR_TYPE_TEXT ? v.u.s : "");
		}
		assert_int_equal(dbr_result_next(res), DBR_ROW);
		assert_int_equal(dbr_result_type(res, 1), DBR_TYPE_NULL);
		assert_int_equal(dbr_result_type(res, 2), DBR_TYPE_NULL);
		assert_int_equal(dbr_result_next(res), DBR_DONE);
		dbr_result_free(res);

		/* The same typed NULL twice: (? IS NULL OR t > ?). */
		p[0] = p[1] = dbr_null_of(DBR_TYPE_TIMESTAMP);
		ids(src,
		    "SELECT id FROM p_typed WHERE (? IS NULL OR t > ?) "
		    "ORDER BY id",
		    p, 2, got, sizeof(got));
		assert_string_equal(got, "1,2,3,4,5,6,7");
		p[0] = p[1] = dbr_timestamp(0);
		ids(src,
		    "SELECT id FROM p_typed WHERE (? IS NULL OR t > ?) "
		    "ORDER BY id",
		    p, 2, got, sizeof(got));
		assert_string_equal(got, "2,3,6");
		p[0] = dbr_bool(true);
		ids(src, "SELECT id FROM p_typed WHERE b = ? ORDER BY id", p, 1,
		    got, sizeof(got));
		assert_string_equal(got, "1,3,5");

		/* Out of range: refused, naming the value. */
		p[0] = dbr_int64(100);
		p[1] = dbr_timestamp(DBR_TIMESTAMP_MAX + 1);
		rc = dbr_query_source(
			db, src, "INSERT INTO p_typed (id, t) VALUES (?, ?)", p,
			2, NULL, &err);
		assert_int_equal(rc, DBR_E_MISUSE);
		assert_non_null(strstr(err.message, "parameter 2: timestamp "
						    "253402300800000000 is "
						    "outside years 1000 to "
						    "9999"));
		p[1] = dbr_timestamp(DBR_TIMESTAMP_MIN - 1);
		assert_int_equal(dbr_query_source(db, src,
						  "INSERT INTO p_typed (id, t) "
						  "VALUES (?, ?)",
						  p, 2, NULL, &err),
				 DBR_E_MISUSE);
	}
	/* The text form, as SQLite stores it. */
	if (dbr_query_source(db, "lite",
			     "SELECT t || '' FROM p_typed WHERE id = 3", NULL,
			     0, &res, &err))
		fail_msg("%s", err.message);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_int_equal(dbr_timestamp_format(t_values[2], text, sizeof(text)),
			 DBR_OK);
	assert_string_equal(dbr_result_text(res, 0, NULL), text);
	assert_string_equal(text, "2023-11-14 22:13:20.123456");
	dbr_result_free(res);
}

/*
 * Timestamps from SQLite, PostgreSQL and MariaDB merged in one fan-out,
 * ascending and descending: one order across the three.
 */
static void test_portability__timestamps_merge_in_order(void **state)
{
	static const char *const srcs[3] = { "lite", "pg", "my" };
	struct dbr_fanout *f;
	struct dbr_result *res;
	struct dbr_error err;
	int64_t last, t;
	int e, rows, desc, rc;

	(void)state;
	for (e = 0; e < NTYPED; e++)
		typed_table(e);
	for (desc = 0; desc < 2; desc++) {
		assert_int_equal(dbr_fanout_new(&f), DBR_OK);
		for (e = 0; e < 3; e++)
			dbr_fanout_add_source(f, srcs[e]);
		dbr_fanout_order_by(f, "t", desc);
		rc = dbr_query_all(db, f,
				   desc ? "SELECT t, b FROM p_typed WHERE t IS "
					  "NOT NULL ORDER BY t DESC"
					: "SELECT t, b FROM p_typed WHERE t IS "
					  "NOT NULL ORDER BY t",
				   NULL, 0, &res, &err);
		if (rc)
			fail_msg("%s", err.message);
		rows = 0;
		last = desc ? INT64_MAX : INT64_MIN;
		while ((rc = dbr_result_next(res)) == DBR_ROW) {
			assert_int_equal(dbr_result_type(res, 0),
					 DBR_TYPE_TIMESTAMP);
			assert_int_equal(dbr_result_type(res, 1),
					 DBR_TYPE_BOOL);
			t = dbr_result_int64(res, 0);
			assert_true(desc ? t <= last : t >= last);
			last = t;
			rows++;
		}
		if (rc != DBR_DONE)
			fail_msg("%s", dbr_result_error(res)->message);
		assert_int_equal(rows, 3 * NTROWS);
		dbr_result_free(res);
		dbr_fanout_free(f);
	}
}

/* The chat each engine serves ([chat_mapping] of setup()). */
static const int64_t engine_chat[NTYPED] = { 1, 2, 4, 3 };

/* A named statement's first column, rows as "a,b,c". */
static int named(int e, const char *sql, const struct dbr_param *p, size_t n,
		 char *out, size_t size, struct dbr_error *err)
{
	struct dbr_result *res;
	size_t len = 0, l;
	const char *t;
	int rc;

	out[0] = '\0';
	rc = dbr_query_named(db, engine_chat[e], sql, p, n, &res, err);
	if (rc)
		return rc;
	while ((rc = dbr_result_next(res)) == DBR_ROW && len + 40 < size) {
		t = dbr_result_text(res, 0, &l);
		if (t)
			len += (size_t)snprintf(out + len, size - len, "%s%.*s",
						len ? "," : "", (int)l, t);
		else
			len += (size_t)snprintf(
				out + len, size - len, "%s%lld", len ? "," : "",
				(long long)dbr_result_int64(res, 0));
	}
	assert_int_equal(rc, DBR_DONE);
	dbr_result_free(res);
	return DBR_OK;
}

/* A named statement refused with code, its message containing want. */
static void refused(int e, const char *sql, const struct dbr_param *p, size_t n,
		    int code, const char *want)
{
	struct dbr_error err;
	char got[64];

	assert_int_equal(named(e, sql, p, n, got, sizeof(got), &err), code);
	if (!strstr(err.message, want))
		fail_msg("%s: '%s' does not say '%s'", typed_engines[e],
			 err.message, want);
}

/*
 * `:name` placeholders on the three engines: a name used twice (the typed
 * NULL of issue 17 too), names in any order, `:x` inside strings,
 * quoted identifiers and comments and PostgreSQL's `::` casts left alone,
 * and every refusal named before anything is sent.
 */
static void test_portability__named_parameters(void **state)
{
	struct dbr_param p[3];
	struct dbr_error err;
	char got[256];
	int e;

	(void)state;
	for (e = 0; e < NTYPED; e++) {
		typed_table(e);
		p[0] = (struct dbr_param){ "since",
					   dbr_null_of(DBR_TYPE_TIMESTAMP) };
		p[1] = (struct dbr_param){ "b", dbr_bool(true) };
		if (named(e,
			  "SELECT id FROM p_typed WHERE (:since IS NULL OR "
			  "t > :since) AND b = :b ORDER BY id",
			  p, 2, got, sizeof(got), &err))
			fail_msg("%s: %s", typed_engines[e], err.message);
		assert_string_equal(got, "1,3,5");
		p[0].value = dbr_timestamp(0);
		if (named(e,
			  "SELECT id FROM p_typed WHERE (:since IS NULL OR "
			  "t > :since) AND b = :b ORDER BY id",
			  p, 2, got, sizeof(got), &err))
			fail_msg("%s: %s", typed_engines[e], err.message);
		assert_string_equal(got, "3");
		/* Not placeholders: ':b' in a string, a comment, a quoted
		 * name. */
		p[0] = (struct dbr_param){ "id", dbr_int64(2) };
		if (named(e,
			  "SELECT ':b :id' AS \"x:b\" /* :b */ FROM p_typed "
			  "WHERE id = :id -- :nope\n",
			  p, 1, got, sizeof(got), &err))
			fail_msg("%s: %s", typed_engines[e], err.message);
		assert_string_equal(got, ":b :id");
		/* Refusals. */
		refused(e, "SELECT id FROM p_typed WHERE id = :id AND b = ?", p,
			1, DBR_E_MISUSE, "mixes '?' and ':name'");
		refused(e, "SELECT :id, :other", p, 1, DBR_E_MISUSE,
			"placeholder ':other' has no named parameter");
		p[1] = (struct dbr_param){ "extra", dbr_int64(1) };
		refused(e, "SELECT :id", p, 2, DBR_E_MISUSE,
			"named parameter 'extra' is used by no placeholder");
		p[1] = (struct dbr_param){ "id", dbr_int64(1) };
		refused(e, "SELECT :id", p, 2, DBR_E_MISUSE,
			"named parameter 'id' is given twice");
		p[1] = (struct dbr_param){ NULL, dbr_int64(1) };
		refused(e, "SELECT :id", p, 2, DBR_E_MISUSE,
			"named parameter 2 has no name");
		/* In dbr_query() a :name stays refused. */
		assert_int_equal(dbr_query(db, engine_chat[e], "SELECT :id",
					   NULL, 0, NULL, &err),
				 DBR_E_MISUSE);
	}
	/* PostgreSQL: casts, dollar quotes, `??` as a literal `?`. */
	p[0] = (struct dbr_param){ "n", dbr_text("41", 2) };
	if (named(1, "SELECT (:n::int + 1)::text || $$:n$$ || '?\?'", p, 1, got,
		  sizeof(got), &err))
		fail_msg("%s", err.message);
	assert_string_equal(got, "42:n??");
	if (named(1, "SELECT ('{\"a\":1}'::jsonb ?? 'a')::text || :n", p, 1,
		  got, sizeof(got), &err))
		fail_msg("%s", err.message);
	assert_string_equal(got, "true41");
}

/* A named statement inside a transaction. */
static void test_portability__named_parameters_in_tx(void **state)
{
	struct dbr_param p[2] = { { "id", dbr_int64(9) },
				  { "t", dbr_timestamp(DBR_TIMESTAMP_MAX) } };
	struct dbr_result *res;
	struct dbr_error err;
	struct dbr_tx *tx;
	int e;

	(void)state;
	for (e = 0; e < NTYPED; e++) {
		typed_table(e);
		assert_int_equal(dbr_tx_begin(db, engine_chat[e], &tx, &err),
				 DBR_OK);
		if (dbr_tx_query_named(tx,
				       "INSERT INTO p_typed (id, t) VALUES "
				       "(:id, :t)",
				       p, 2, NULL, &err))
			fail_msg("%s: %s", typed_engines[e], err.message);
		assert_int_equal(dbr_tx_query_named(tx,
						    "SELECT t FROM p_typed "
						    "WHERE id = :id",
						    p, 1, &res, &err),
				 DBR_OK);
		assert_int_equal(dbr_result_next(res), DBR_ROW);
		assert_int_equal(dbr_result_int64(res, 0), DBR_TIMESTAMP_MAX);
		dbr_result_free(res);
		assert_int_equal(
			dbr_tx_query_named(tx, "SELECT ?", p, 1, NULL, &err),
			DBR_E_MISUSE);
		assert_int_equal(dbr_tx_rollback(tx, &err), DBR_OK);
	}
}

static int setup(void **state)
{
	char text[2048], *path;

	(void)state;
	dir = t_tmpdir();
	snprintf(text, sizeof(text),
		 "[database]\ndefault_source = lite\n"
		 "[source.lite]\ntype = sqlite\npath = lite.db\n"
		 "[source.pg]\ntype = postgres\nconninfo = %s\n"
		 "[source.my]\ntype = mysql\nunix_socket = %s\nuser = dbr\n"
		 "database = dbroute_test\n"
		 "password_env = DBR_TEST_MYSQL_PASSWORD\n"
		 "[source.pgtz]\ntype = postgres\nconninfo = %s\n"
		 "options = -c TimeZone=Asia/Kolkata\nsearch_path = pgtz\n"
		 "[chat_mapping]\n1 = lite\n2 = pg\n3 = my\n4 = pgtz\n",
		 getenv("DBR_TEST_PG"), getenv("DBR_TEST_MYSQL"),
		 getenv("DBR_TEST_PG"));
	path = t_write(dir, "portability.ini", text);
	db = t_open(path);
	free(path);
	exec_on("pg", "CREATE SCHEMA IF NOT EXISTS pgtz", NULL, 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dbr_close(db);
	t_rmtree(dir);
	free(dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_portability__examples_mean_the_same),
		cmocka_unit_test(
			test_portability__bool_and_timestamp_round_trip),
		cmocka_unit_test(test_portability__timestamps_merge_in_order),
		cmocka_unit_test(test_portability__named_parameters),
		cmocka_unit_test(test_portability__named_parameters_in_tx),
	};
	int rc = t_need_server("DBR_TEST_PG", "PostgreSQL server");

	if (!rc)
		rc = t_need_server("DBR_TEST_MYSQL", "MariaDB server");
	if (rc)
		return rc;
	return cmocka_run_group_tests(tests, setup, teardown);
}
