/*
 * test_fanout.c - one statement on several sources, one merged cursor:
 * concatenation, ordered merge (checked against the same query on one
 * database holding every row), limit, distinct, stable ties, partial
 * results, column mismatches, sources out of order, a million rows in
 * bounded memory, and the CLI.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "helpers.h"

static char *dir;
static struct dbr *db;

/* Rows of each source: overlapping ids and values, NULLs, mixed number
 * types, text with high bytes, and one row identical in a and b. */
static const char *const rows[3] = {
	"(1, 10, 'x'), (2, NULL, 'y'), (3, 2.5, 'z'), (7, 10, 'same'),"
	"(8, 3, 'caf\xc3\xa9')",
	"(4, 10, 'x'), (5, -1, NULL), (6, 2.5, 'a'), (7, 10, 'same'),"
	"(9, 9e18, 'big')",
	"(10, NULL, 'n'), (11, 0, ''), (12, 10, 'x'), (13, -1.5, 'neg'),"
	"(14, 3, 'caf')",
};

static void sql_exec(const char *file, const char *sql)
{
	char *path = t_path(dir, file);
	sqlite3 *h;

	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	if (sqlite3_exec(h, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(h));
	sqlite3_close(h);
	free(path);
}

static int setup(void **state)
{
	char sql[1024];
	char *path;
	int i;

	(void)state;
	dir = t_tmpdir();
	for (i = 0; i < 3; i++) {
		char file[16];

		snprintf(file, sizeof(file), "%c.db", 'a' + i);
		snprintf(sql, sizeof(sql),
			 "CREATE TABLE m (id INTEGER, v, t TEXT);"
			 "INSERT INTO m VALUES %s;",
			 rows[i]);
		sql_exec(file, sql);
		snprintf(sql, sizeof(sql), "INSERT INTO m VALUES %s;", rows[i]);
		if (i == 0)
			sql_exec("all.db", "CREATE TABLE m (id INTEGER, v, "
					   "t TEXT)");
		sql_exec("all.db", sql);
	}
	sql_exec("w.db", "CREATE TABLE m (id INTEGER, v, t TEXT, extra);");
	path = t_write(dir, "f.ini",
		       "[database]\ndefault_source = a\n"
		       "[source.a]\ntype = sqlite\npath = a.db\n"
		       "[source.b]\ntype = sqlite\npath = b.db\n"
		       "[source.c]\ntype = sqlite\npath = c.db\n"
		       "[source.wide]\ntype = sqlite\npath = w.db\n"
		       "[source.junk]\ntype = sqlite\npath = junk.txt\n"
		       "[source.cache]\ntype = template\n");
	db = t_open(path);
	free(path);
	free(t_write(dir, "junk.txt", "this is not an SQLite database ..."));
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

static struct dbr_fanout *abc(void)
{
	struct dbr_fanout *f;

	assert_int_equal(dbr_fanout_new(&f), DBR_OK);
	dbr_fanout_add_source(f, "c"); /* order of definition, not of call */
	dbr_fanout_add_source(f, "a");
	dbr_fanout_add_source(f, "b");
	return f;
}

static void test_fanout__concatenation(void **state)
{
	struct dbr_fanout *f = abc();
	struct dbr_result *res;
	struct dbr_error err;
	int n = 0, seen[15] = { 0 };
	const char *last = "a";

	(void)state;
	assert_int_equal(dbr_query_all(db, f, "SELECT id, v, t FROM m", NULL, 0,
				       &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_column_count(res), 3);
	assert_string_equal(dbr_result_column_name(res, 2), "t");
	while (dbr_result_next(res) == DBR_ROW) {
		int64_t id = dbr_result_int64(res, 0);
		const char *src = dbr_result_source(res);

		assert_true(strcmp(src, last) >= 0); /* a's, then b's, c's */
		last = src;
		if (id != 7)
			seen[id]++;
		n++;
	}
	assert_int_equal(n, 15);
	for (n = 1; n <= 14; n++)
		if (n != 7)
			assert_int_equal(seen[n], 1);
	dbr_result_free(res);
	dbr_fanout_free(f);
}

/* Compare a merged result with the same query on all.db, row by row. */
static void expect_like_single(struct dbr_result *res, const char *sql,
			       int limit)
{
	char *path = t_path(dir, "all.db");
	sqlite3_stmt *st;
	sqlite3 *h;
	int n = 0;

	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW && (!limit || n < limit)) {
		struct dbr_value a, b;
		int c;

		assert_int_equal(dbr_result_next(res), DBR_ROW);
		for (c = 0; c < 3; c++) {
			dbr_result_value(res, (size_t)c, &a);
			switch (sqlite3_column_type(st, c)) {
			case SQLITE_NULL:
				assert_int_equal(a.type, DBR_TYPE_NULL);
				break;
			case SQLITE_INTEGER:
				assert_int_equal(a.type, DBR_TYPE_INT64);
				assert_true(a.u.i ==
					    sqlite3_column_int64(st, c));
				break;
			case SQLITE_FLOAT:
				assert_int_equal(a.type, DBR_TYPE_DOUBLE);
				assert_true(a.u.d ==
					    sqlite3_column_double(st, c));
				break;
			default:
				b = dbr_text(
					(const char *)sqlite3_column_text(st,
									  c),
					(size_t)sqlite3_column_bytes(st, c));
				assert_int_equal(a.len, b.len);
				assert_memory_equal(a.u.s, b.u.s, a.len);
			}
		}
		n++;
	}
	assert_int_equal(dbr_result_next(res), DBR_DONE);
	sqlite3_finalize(st);
	sqlite3_close(h);
	free(path);
}

static void test_fanout__ordered_merge_equals_one_database(void **state)
{
	static const char sql[] = "SELECT id, v, t FROM m ORDER BY v DESC, "
				  "t, id";
	struct dbr_fanout *f = abc();
	struct dbr_result *res;
	struct dbr_error err;

	(void)state;
	dbr_fanout_order_by(f, "v", true);
	dbr_fanout_order_by(f, "t", false);
	dbr_fanout_order_by(f, "id", false);
	assert_int_equal(dbr_query_all(db, f, sql, NULL, 0, &res, &err),
			 DBR_OK);
	expect_like_single(res, sql, 0);
	dbr_result_free(res);
	/* limit is exact */
	dbr_fanout_set_limit(f, 7);
	assert_int_equal(dbr_query_all(db, f, sql, NULL, 0, &res, &err),
			 DBR_OK);
	expect_like_single(res, sql, 7);
	dbr_result_free(res);
	dbr_fanout_free(f);
}

/* Equal keys come in source order; DISTINCT drops the repeated row. */
static void test_fanout__ties_and_distinct(void **state)
{
	struct dbr_fanout *f = abc();
	struct dbr_result *res;
	struct dbr_error err;
	int i;

	(void)state;
	dbr_fanout_order_by(f, "v", false);
	assert_int_equal(dbr_query_all(db, f,
				       "SELECT v, t FROM m WHERE v = "
				       "10 ORDER BY v",
				       NULL, 0, &res, &err),
			 DBR_OK);
	for (i = 0; i < 4; i++) {
		assert_int_equal(dbr_result_next(res), DBR_ROW);
		if (i == 2)
			assert_string_equal(dbr_result_source(res), "b");
	}
	dbr_result_free(res);
	/* Rows of a then b: ids 1 and 7 from a, 4 and 7 from b, 12 from c. */
	dbr_fanout_set_flags(f, DBR_FANOUT_DISTINCT);
	assert_int_equal(dbr_query_all(db, f,
				       "SELECT id, v, t FROM m WHERE "
				       "v = 10 ORDER BY v",
				       NULL, 0, &res, &err),
			 DBR_OK);
	for (i = 0; dbr_result_next(res) == DBR_ROW; i++)
		;
	assert_int_equal(i, 4); /* (7, 10, 'same') once */
	dbr_result_free(res);
	dbr_fanout_free(f);
}

static void test_fanout__partial_results(void **state)
{
	struct dbr_fanout *f;
	struct dbr_result *res;
	struct dbr_error err, why;
	int n = 0;

	(void)state;
	dbr_fanout_new(&f);
	dbr_fanout_add_source(f, "a");
	dbr_fanout_add_source(f, "junk");
	assert_int_equal(
		dbr_query_all(db, f, "SELECT id FROM m", NULL, 0, &res, &err),
		DBR_E_UNAVAILABLE);
	assert_null(res);
	assert_string_equal(err.source, "junk");
	dbr_fanout_set_flags(f, DBR_FANOUT_ALLOW_PARTIAL);
	assert_int_equal(
		dbr_query_all(db, f, "SELECT id FROM m", NULL, 0, &res, &err),
		DBR_OK);
	while (dbr_result_next(res) == DBR_ROW)
		n++;
	assert_int_equal(n, 5);
	assert_string_equal(dbr_result_missing(res, 0, &why), "junk");
	assert_non_null(strstr(why.message, "not a database"));
	assert_null(dbr_result_missing(res, 1, NULL));
	dbr_result_free(res);
	dbr_fanout_free(f);
	/* No source answered: an error, even with partial results. */
	dbr_fanout_new(&f);
	dbr_fanout_add_source(f, "junk");
	dbr_fanout_set_flags(f, DBR_FANOUT_ALLOW_PARTIAL);
	assert_int_equal(dbr_query_all(db, f, "SELECT 1", NULL, 0, &res, &err),
			 DBR_E_UNAVAILABLE);
	assert_non_null(strstr(err.message, "no source answered"));
	dbr_fanout_free(f);
}

static void test_fanout__mismatches_and_order_errors(void **state)
{
	struct dbr_fanout *f;
	struct dbr_result *res;
	struct dbr_error err;
	struct dbr_value p = dbr_int64(0);
	int rc;

	(void)state;
	dbr_fanout_new(&f);
	dbr_fanout_add_source(f, "a");
	dbr_fanout_add_source(f, "wide");
	assert_int_equal(
		dbr_query_all(db, f, "SELECT * FROM m", NULL, 0, &res, &err),
		DBR_E_STMT);
	assert_string_equal(err.message, "fan-out: source 'a' returns 3 "
					 "columns but source 'wide' returns 4");
	dbr_fanout_free(f);
	/* A source sorting against the merge's order is caught. */
	f = abc();
	dbr_fanout_order_by(f, "id", false);
	assert_int_equal(dbr_query_all(db, f,
				       "SELECT id FROM m WHERE id > ? "
				       "ORDER BY id DESC",
				       &p, 1, &res, &err),
			 DBR_OK);
	while ((rc = dbr_result_next(res)) == DBR_ROW)
		;
	assert_int_equal(rc, DBR_E_STMT);
	assert_non_null(strstr(dbr_result_error(res)->message,
			       "returned rows out of the merge order"));
	dbr_result_free(res);
	dbr_fanout_order_by(f, "nope", false);
	assert_int_equal(
		dbr_query_all(db, f, "SELECT id FROM m", NULL, 0, &res, &err),
		DBR_E_MISUSE);
	assert_non_null(strstr(err.message, "no column named 'nope'"));
	dbr_fanout_free(f);
}

/* Order keys of different classes from two sources (a number on one,
 * text on the other) fail the merge: there is no order that means
 * anything between them. */
static void test_fanout__keys_of_different_classes(void **state)
{
	struct dbr_fanout *f;
	struct dbr_result *res;
	struct dbr_error err;
	int rc;

	(void)state;
	dbr_fanout_new(&f);
	dbr_fanout_add_source(f, "a");
	dbr_fanout_add_source(f, "b");
	dbr_fanout_order_by(f, "k", false);
	/* In a, ids below 4 are numbers and the rest text; b has text only
	 * (its ids are 4 and up). */
	assert_int_equal(dbr_query_all(db, f,
				       "SELECT CASE WHEN id < 4 THEN id ELSE "
				       "CAST(id AS TEXT) END AS k FROM m "
				       "ORDER BY k",
				       NULL, 0, &res, &err),
			 DBR_OK);
	while ((rc = dbr_result_next(res)) == DBR_ROW)
		;
	assert_int_equal(rc, DBR_E_STMT);
	assert_string_equal(dbr_result_error(res)->message,
			    "fan-out: cannot order by 'k': source 'b' gives "
			    "text and source 'a' gives a number");
	dbr_result_free(res);
	dbr_fanout_free(f);
}

/* Parallel fan-outs on pools of two connections, from many threads: each
 * takes its connections in source order before it runs, so none holds
 * one source's connection while waiting for another's. */
struct fan_thread {
	struct dbr *db;
	int ok, failed;
	char why[DBR_ERROR_MESSAGE_SIZE];
};

static void *fan_loop(void *arg)
{
	struct fan_thread *t = arg;
	struct dbr_fanout *f;
	struct dbr_result *res;
	struct dbr_error err;
	int i;

	dbr_fanout_new(&f);
	dbr_fanout_add_source(f, "p");
	dbr_fanout_add_source(f, "q");
	for (i = 0; i < 25; i++) {
		if (dbr_query_all(t->db, f, "SELECT count(*) FROM m", NULL, 0,
				  &res, &err)) {
			snprintf(t->why, sizeof(t->why), "%s", err.message);
			t->failed++;
			continue;
		}
		while (dbr_result_next(res) == DBR_ROW)
			;
		dbr_result_free(res);
		t->ok++;
	}
	dbr_fanout_free(f);
	return NULL;
}

static void test_fanout__parallel_on_small_pools(void **state)
{
	struct fan_thread t[16];
	pthread_t th[16];
	struct dbr *small;
	char *path;
	int i;

	(void)state;
	path = t_write(dir, "small.ini",
		       "[database]\ndefault_source = p\n"
		       "[source.p]\ntype = sqlite\npath = a.db\n"
		       "max_connections = 2\ntimeout = 3\n"
		       "[source.q]\ntype = sqlite\npath = b.db\n"
		       "max_connections = 2\ntimeout = 3\n");
	small = t_open(path);
	for (i = 0; i < 16; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		t[i].db = small;
		assert_int_equal(pthread_create(&th[i], NULL, fan_loop, &t[i]),
				 0);
	}
	for (i = 0; i < 16; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < 16; i++) {
		if (t[i].failed)
			fail_msg("thread %d: %d of 25 fan-outs failed: %s", i,
				 t[i].failed, t[i].why);
		assert_int_equal(t[i].ok, 25);
	}
	dbr_close(small);
	free(path);
}

/* By default every SQL source: the key-value "cache" is left out. */
static void test_fanout__default_sources_and_sequential(void **state)
{
	struct dbr_fanout *f;
	struct dbr_result *res;
	struct dbr_error err;

	(void)state;
	assert_int_equal(
		dbr_query_all(db, NULL, "SELECT 1", NULL, 0, &res, &err),
		DBR_E_UNAVAILABLE); /* junk is SQL, and broken */
	dbr_fanout_new(&f);
	dbr_fanout_set_flags(f,
			     DBR_FANOUT_ALLOW_PARTIAL | DBR_FANOUT_SEQUENTIAL);
	assert_int_equal(dbr_query_all(db, f, "SELECT count(*) FROM m", NULL, 0,
				       &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_string_equal(dbr_result_source(res), "a");
	while (dbr_result_next(res) == DBR_ROW)
		assert_string_not_equal(dbr_result_source(res), "cache");
	dbr_result_free(res);
	dbr_fanout_free(f);
	/* A plain chat operation reaches exactly one source. */
	assert_int_equal(
		dbr_query(db, 1, "SELECT count(*) FROM m", NULL, 0, &res, &err),
		DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_int_equal(dbr_result_next(res), DBR_DONE);
	dbr_result_free(res);
}

/* Bytes the allocator has handed out now (heap and mmap'd blocks). */
static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* A million wide rows across sources, merged with a small limit: memory
 * stays bounded by the sources, not the rows (not a timed test). */
static void test_fanout__million_rows_bounded_memory(void **state)
{
	struct dbr_fanout *f;
	struct dbr_result *res;
	struct dbr_error err;
	char sql[512], *path;
	struct dbr *big;
	size_t before, peak;
	int i, n = 0;
	int64_t prev = -1;

	(void)state;
	for (i = 0; i < 4; i++) {
		char file[16];

		snprintf(file, sizeof(file), "big%d.db", i);
		snprintf(
			sql, sizeof(sql),
			"PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
			"CREATE TABLE r (id INTEGER PRIMARY KEY, pad TEXT);"
			"WITH RECURSIVE s(k) AS (SELECT 0 UNION ALL SELECT k+1 "
			"FROM s WHERE k < 249999) INSERT INTO r SELECT k*4+%d,"
			" printf('%%0200d', k) FROM s;",
			i);
		sql_exec(file, sql);
	}
	path = t_write(dir, "big.ini",
		       "[database]\ndefault_source = b0\n"
		       "[source.b0]\ntype = sqlite\npath = big0.db\n"
		       "[source.b1]\ntype = sqlite\npath = big1.db\n"
		       "[source.b2]\ntype = sqlite\npath = big2.db\n"
		       "[source.b3]\ntype = sqlite\npath = big3.db\n");
	big = t_open(path);
	before = peak = heap_in_use();
	dbr_fanout_new(&f);
	dbr_fanout_order_by(f, "id", true);
	dbr_fanout_set_limit(f, 10);
	assert_int_equal(dbr_query_all(big, f,
				       "SELECT id, pad FROM r ORDER BY "
				       "id DESC",
				       NULL, 0, &res, &err),
			 DBR_OK);
	while (dbr_result_next(res) == DBR_ROW) {
		int64_t id = dbr_result_int64(res, 0);

		if (heap_in_use() > peak)
			peak = heap_in_use();
		assert_true(prev < 0 || id == prev - 1);
		prev = id;
		n++;
	}
	assert_int_equal(n, 10);
	assert_int_equal(prev, 999990);
	dbr_result_free(res);
	dbr_fanout_free(f);
	/* 1,000,000 rows of 200 bytes would be 200 MB held; four sources'
	 * connections with their page caches are a few MB. */
	fprintf(stderr, "heap grew by at most %zu KiB\n",
		(peak - before) / 1024);
	assert_true(peak - before < 32u << 20);
	dbr_close(big);
	free(path);
}

/* SQLite and PostgreSQL in one ordered merge, where a server is running.
 * PostgreSQL sorts NULLs last by default: the statement says NULLS FIRST,
 * which SQLite accepts too. */
static void test_fanout__sqlite_and_postgres(void **state)
{
	static const char *const ins[] = {
		"INSERT INTO fo_m VALUES (1, 0.5), (2, NULL), (3, 7), (4, 7)",
		"INSERT INTO fo_m VALUES (5, -2), (6, 7), (7, NULL), (8, 100)",
	};
	static const int64_t want[] = { 2, 7, 5, 1, 3, 4, 6, 8 };
	static const char *const sel[] = {
		"SELECT id, v FROM fo_m ORDER BY v NULLS FIRST, id",
		"SELECT id, CAST(v AS NUMERIC) AS v FROM fo_m "
		"ORDER BY v NULLS FIRST, id",
	};
	const char *pg = getenv("DBR_TEST_PG");
	char text[1024], *path;
	struct dbr_fanout *f;
	struct dbr_result *res;
	struct dbr_error err;
	struct dbr *both;
	int i, k;

	(void)state;
	t_need_server_or_skip("DBR_TEST_PG", "PostgreSQL");
	snprintf(text, sizeof(text),
		 "[database]\ndefault_source = lite\n"
		 "[source.lite]\ntype = sqlite\npath = fo.db\n"
		 "[source.pg]\ntype = postgres\nconninfo = %s\n",
		 pg);
	path = t_write(dir, "both.ini", text);
	both = t_open(path);
	dbr_query_source(both, "pg", "DROP TABLE IF EXISTS fo_m", NULL, 0, NULL,
			 NULL);
	for (i = 0; i < 2; i++) {
		const char *src = i ? "pg" : "lite";

		assert_int_equal(dbr_query_source(both, src,
						  "CREATE TABLE fo_m "
						  "(id INTEGER, v "
						  "DOUBLE PRECISION)",
						  NULL, 0, NULL, &err),
				 DBR_OK);
		assert_int_equal(dbr_query_source(both, src, ins[i], NULL, 0,
						  NULL, &err),
				 DBR_OK);
	}
	dbr_fanout_new(&f);
	dbr_fanout_order_by(f, "v", false);
	dbr_fanout_order_by(f, "id", false);
	/* A double, then a NUMERIC (PostgreSQL's AVG type; SQLite makes it
	 * a number too): numbers merge as numbers, never as text. */
	for (k = 0; k < 2; k++) {
		assert_int_equal(
			dbr_query_all(both, f, sel[k], NULL, 0, &res, &err),
			DBR_OK);
		for (i = 0; i < 8; i++) {
			assert_int_equal(dbr_result_next(res), DBR_ROW);
			assert_int_equal(dbr_result_int64(res, 0), want[i]);
			assert_string_equal(dbr_result_source(res),
					    want[i] <= 4 ? "lite" : "pg");
		}
		assert_int_equal(dbr_result_next(res), DBR_DONE);
		dbr_result_free(res);
	}
	dbr_fanout_free(f);
	dbr_query_source(both, "pg", "DROP TABLE fo_m", NULL, 0, NULL, NULL);
	dbr_close(both);
	free(path);
}

static void test_fanout__cli(void **state)
{
	char *out = NULL, *err = NULL;

	(void)state;
	assert_int_equal(t_run_cli(dir,
				   "query -c f.ini --source a --source b "
				   "--order id:desc --limit 3 "
				   "--with-source 'SELECT id, t FROM m "
				   "ORDER BY id DESC'",
				   &out, &err),
			 0);
	assert_string_equal(out, "source\tid\tt\nb\t9\tbig\na\t8\tcaf\xc3\xa9\n"
				 "a\t7\tsame\n");
	assert_int_equal(t_run_cli(dir,
				   "query -c f.ini --source a --source "
				   "junk --allow-partial 'SELECT count(*)"
				   " AS n FROM m'",
				   &out, &err),
			 0);
	assert_string_equal(out, "n\n5\n");
	assert_non_null(strstr(err, "source 'junk' skipped: "));
	assert_int_equal(t_run_cli(dir,
				   "query -c f.ini --source junk "
				   "--source junk --allow-partial "
				   "'SELECT 1'",
				   &out, &err),
			 1);
	assert_non_null(strstr(err, "no source answered"));
	assert_int_equal(t_run_cli(dir,
				   "query -c f.ini --all --distinct "
				   "--allow-partial 'SELECT v FROM m "
				   "WHERE v = 10'",
				   &out, &err),
			 0);
	assert_string_equal(out, "v\n10\n");
	assert_int_equal(t_run_cli(dir,
				   "query -c f.ini --chat 1 --limit 3 "
				   "'SELECT 1'",
				   &out, &err),
			 2);
	assert_int_equal(t_run_cli(dir,
				   "query -c f.ini --all --order id:up "
				   "'SELECT 1'",
				   &out, &err),
			 2);
	free(out);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fanout__concatenation),
		cmocka_unit_test(
			test_fanout__ordered_merge_equals_one_database),
		cmocka_unit_test(test_fanout__ties_and_distinct),
		cmocka_unit_test(test_fanout__partial_results),
		cmocka_unit_test(test_fanout__mismatches_and_order_errors),
		cmocka_unit_test(test_fanout__keys_of_different_classes),
		cmocka_unit_test(test_fanout__parallel_on_small_pools),
		cmocka_unit_test(test_fanout__default_sources_and_sequential),
		cmocka_unit_test(test_fanout__million_rows_bounded_memory),
		cmocka_unit_test(test_fanout__sqlite_and_postgres),
		cmocka_unit_test(test_fanout__cli),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
