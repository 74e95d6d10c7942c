/*
 * test_sqlite.c - the built-in SQLite driver through the library: value
 * round trips, the statement cache, read-only sources, one statement per
 * call, error categories, transactions, WAL and the busy timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "helpers.h"
#include "internal.h"
#include "named.h"

struct fixture {
	char *dir;
	char *path;
	char *db_path;
	struct dbr *db;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct dbr_open_options o = { .size = sizeof(o),
				      .log_fn = t_count_cache_misses,
				      .log_level = DBR_LOG_DEBUG };
	struct dbr_error err;

	f->dir = t_tmpdir();
	f->path = t_write(f->dir, "s.ini",
			  "[database]\ndefault_source = s\n"
			  "[source.s]\ntype = sqlite\npath = s.db\n"
			  "timeout = 0.3\n"
			  "[source.ro]\ntype = sqlite\npath = s.db\n"
			  "readonly = true\n");
	f->db_path = t_path(f->dir, "s.db");
	assert_int_equal(dbr_open(&f->db, f->path, &o, &err), DBR_OK);
	t_exec(f->db, 1, "CREATE TABLE t (id INTEGER PRIMARY KEY, v)", NULL, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	dbr_close(f->db);
	t_rmtree(f->dir);
	free(f->db_path);
	free(f->path);
	free(f->dir);
	free(f);
	return 0;
}

/* Insert v, read it back, and compare type and bytes. */
static void round_trip(struct dbr *db, struct dbr_value v)
{
	struct dbr_result *res;
	struct dbr_error err;
	struct dbr_value got;

	t_exec(db, 1, "DELETE FROM t", NULL, 0);
	t_exec(db, 1, "INSERT INTO t (v) VALUES (?)", &v, 1);
	assert_int_equal(
		dbr_query(db, 1, "SELECT v FROM t", NULL, 0, &res, &err),
		DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_int_equal(dbr_result_value(res, 0, &got), DBR_OK);
	assert_int_equal(got.type, v.type);
	switch (v.type) {
	case DBR_TYPE_INT64: assert_true(got.u.i == v.u.i); break;
	case DBR_TYPE_DOUBLE:
		assert_memory_equal(&got.u.d, &v.u.d, sizeof(double));
		break;
	case DBR_TYPE_TEXT:
	case DBR_TYPE_BLOB:
		assert_int_equal(got.len, v.len);
		if (v.len)
			assert_memory_equal(got.u.b, v.u.b, v.len);
		break;
	default: break;
	}
	assert_int_equal(dbr_result_next(res), DBR_DONE);
	dbr_result_free(res);
}

static void test_sqlite__values_round_trip(void **state)
{
	struct fixture *f = *state;
	static const char blob[] = { 0, 1, 2, 0, (char)0xff, 0 };
	static const char utf8[] = "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5"
				   "\xd1\x82 \xf0\x9f\x91\x8b";

	round_trip(f->db, dbr_null());
	round_trip(f->db, dbr_int64(0));
	round_trip(f->db, dbr_int64(INT64_MIN));
	round_trip(f->db, dbr_int64(INT64_MAX));
	round_trip(f->db, dbr_int64(-1));
	round_trip(f->db, dbr_double(1.5));
	round_trip(f->db, dbr_double(-0.1));
	round_trip(f->db, dbr_double(DBL_MAX));
	round_trip(f->db, dbr_double(DBL_MIN));
	round_trip(f->db, dbr_double(DBL_TRUE_MIN));
	round_trip(f->db, dbr_text("", 0));
	round_trip(f->db, dbr_text(NULL, 0)); /* empty, not NULL */
	round_trip(f->db, dbr_text("hello", 5));
	round_trip(f->db, dbr_text(utf8, strlen(utf8)));
	round_trip(f->db, dbr_text("a\0b", 3));
	round_trip(f->db, dbr_blob(blob, sizeof(blob)));
	round_trip(f->db, dbr_blob(NULL, 0));
}

/*
 * A statement that returns rows reads its parameters again at each step:
 * the caller may change its buffer once dbr_query() returns. One without
 * rows has finished by then.
 */
static void test_sqlite__params_outlive_the_call(void **state)
{
	struct fixture *f = *state;
	struct dbr_result *res;
	struct dbr_error err;
	struct dbr_value v;
	char buf[2] = "a";
	int rows = 0;

	v = dbr_text(buf, 1);
	t_exec(f->db, 1, "INSERT INTO t (v) VALUES (?), (?), (?)",
	       (struct dbr_value[]){ v, v, v }, 3);
	assert_int_equal(dbr_query(f->db, 1, "SELECT v FROM t WHERE v = ?", &v,
				   1, &res, &err),
			 DBR_OK);
	buf[0] = 'b';
	while (dbr_result_next(res) == DBR_ROW)
		rows++;
	dbr_result_free(res);
	assert_int_equal(rows, 3);
	assert_int_equal(t_sqlite_int(f->db_path, "SELECT count(*) FROM t "
						  "WHERE v = 'a'"),
			 3);
}

/* Empty text and NULL stay apart, as the backend sees them. */
static void test_sqlite__empty_is_not_null(void **state)
{
	struct fixture *f = *state;
	struct dbr_value v[2] = { dbr_text("", 0), dbr_null() };

	t_exec(f->db, 1, "INSERT INTO t (v) VALUES (?), (?)", v, 2);
	assert_int_equal(t_sqlite_int(f->db_path, "SELECT count(*) FROM t "
						  "WHERE v = ''"),
			 1);
	assert_int_equal(t_sqlite_int(f->db_path, "SELECT count(*) FROM t "
						  "WHERE v IS NULL"),
			 1);
}

static void test_sqlite__statement_cache_hit(void **state)
{
	struct fixture *f = *state;
	struct dbr_value v = dbr_int64(7);
	int i;

	atomic_store(&t_cache_misses, 0);
	for (i = 0; i < 5; i++)
		t_exec(f->db, 1, "SELECT v FROM t WHERE id = ?", &v, 1);
	assert_int_equal(atomic_load(&t_cache_misses), 1);
	t_exec(f->db, 1, "SELECT id FROM t WHERE id = ?", &v, 1);
	t_exec(f->db, 1, "SELECT v FROM t WHERE id = ?", &v, 1);
	assert_int_equal(atomic_load(&t_cache_misses), 2);
}

/*
 * A named statement is translated once per thread and text: repeats hit
 * the translation cache (and the driver's statement cache sees one text);
 * a name repeated binds one value; 17 texts push the first out of the
 * 16 kept.
 */
static void test_sqlite__named_translation_cached(void **state)
{
	struct fixture *f = *state;
	struct dbr_param p[2] = { { "id", dbr_int64(5) },
				  { "v", dbr_text("five", 4) } };
	struct dbr_result *res;
	struct dbr_error err;
	uint64_t misses = dbr__named_misses;
	char sql[64];
	int i;

	atomic_store(&t_cache_misses, 0);
	for (i = 0; i < 5; i++)
		assert_int_equal(dbr_query_named(f->db, 1,
						 "INSERT OR REPLACE INTO t "
						 "VALUES (:id, :v || :v)",
						 p, 2, NULL, &err),
				 DBR_OK);
	assert_int_equal(dbr__named_misses - misses, 1);
	assert_int_equal(atomic_load(&t_cache_misses), 1);
	assert_int_equal(dbr_query_named(f->db, 1,
					 "SELECT v FROM t WHERE id = :id", p, 1,
					 &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_string_equal(dbr_result_text(res, 0, NULL), "fivefive");
	dbr_result_free(res);
	for (i = 0; i < 16; i++) {
		snprintf(sql, sizeof(sql), "SELECT :id + %d", i);
		assert_int_equal(
			dbr_query_named(f->db, 1, sql, p, 1, NULL, &err),
			DBR_OK);
	}
	misses = dbr__named_misses;
	assert_int_equal(
		dbr_query_named(f->db, 1, "SELECT :id + 15", p, 1, NULL, &err),
		DBR_OK);
	assert_int_equal(dbr__named_misses, misses);
	assert_int_equal(dbr_query_named(f->db, 1,
					 "SELECT v FROM t WHERE id = :id", p, 1,
					 NULL, &err),
			 DBR_OK);
	assert_int_equal(dbr__named_misses, misses + 1);
}

/* The cache knows a statement by its text, never by the caller's address:
 * one buffer holding new text each time runs each text. */
static void test_sqlite__cache_key_is_the_text(void **state)
{
	static const char *const texts[] = { "SELECT 1 AS n", "SELECT 2 AS n",
					     "SELECT 3",
					     "SELECT 4 AS n, 0 AS padding",
					     "SELECT 2 AS n" };
	static const int64_t want[] = { 1, 2, 3, 4, 2 };
	struct fixture *f = *state;
	struct dbr_result *res;
	struct dbr_error err;
	char buf[64];
	size_t i;

	atomic_store(&t_cache_misses, 0);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		memset(buf, 'x', sizeof(buf));
		strcpy(buf, texts[i]);
		assert_int_equal(dbr_query(f->db, 1, buf, NULL, 0, &res, &err),
				 DBR_OK);
		assert_int_equal(dbr_result_next(res), DBR_ROW);
		assert_int_equal(dbr_result_int64(res, 0), want[i]);
		dbr_result_free(res);
	}
	assert_int_equal(atomic_load(&t_cache_misses), 4);
}

/* The statement used last is the most recently used: hits on it keep it
 * when a new statement evicts one (the cache holds 64). */
static void test_sqlite__cache_keeps_the_last_used(void **state)
{
	struct fixture *f = *state;
	char sql[32];
	int i;

	t_exec(f->db, 1, "SELECT 0", NULL, 0);
	for (i = 1; i < 64; i++) {
		snprintf(sql, sizeof(sql), "SELECT %d", i);
		t_exec(f->db, 1, sql, NULL, 0);
	}
	for (i = 0; i < 63; i++)
		t_exec(f->db, 1, "SELECT 0", NULL, 0);
	t_exec(f->db, 1, "SELECT 64", NULL, 0); /* evicts "SELECT 1" */
	atomic_store(&t_cache_misses, 0);
	t_exec(f->db, 1, "SELECT 0", NULL, 0);
	assert_int_equal(atomic_load(&t_cache_misses), 0);
	t_exec(f->db, 1, "SELECT 1", NULL, 0);
	assert_int_equal(atomic_load(&t_cache_misses), 1);
}

/* Text and blob parameters after others, one past the copies' first
 * room: every one is read as the caller gave it, after its buffers
 * changed. */
static void test_sqlite__byte_params_after_others(void **state)
{
	struct fixture *f = *state;
	struct dbr_result *res;
	struct dbr_error err;
	struct dbr_value p[5], v;
	char text[300], blob[600];

	memset(text, 't', sizeof(text));
	memset(blob, 'b', sizeof(blob));
	p[0] = dbr_int64(7);
	p[1] = dbr_text(text, sizeof(text));
	p[2] = dbr_double(0.5);
	p[3] = dbr_blob(blob, sizeof(blob));
	p[4] = dbr_text("end", 3);
	assert_int_equal(
		dbr_query(f->db, 1, "SELECT ?, ?, ?, ?, ?", p, 5, &res, &err),
		DBR_OK);
	memset(text, 'x', sizeof(text));
	memset(blob, 'x', sizeof(blob));
	memset(text, 't', sizeof(text) / 2);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_int_equal(dbr_result_int64(res, 0), 7);
	assert_int_equal(dbr_result_value(res, 1, &v), DBR_OK);
	assert_int_equal(v.len, sizeof(text));
	assert_true(v.u.s[0] == 't' && v.u.s[sizeof(text) - 1] == 't');
	assert_true(dbr_result_double(res, 2) == 0.5);
	assert_int_equal(dbr_result_value(res, 3, &v), DBR_OK);
	assert_int_equal(v.len, sizeof(blob));
	assert_true(((const char *)v.u.b)[sizeof(blob) - 1] == 'b');
	assert_string_equal(dbr_result_text(res, 4, NULL), "end");
	dbr_result_free(res);
}

/* What a write changed is its own until its end, and read after it: a
 * RETURNING insert reports nothing while its rows are read. */
static void test_sqlite__changes_at_the_end_only(void **state)
{
	struct fixture *f = *state;
	struct dbr_result *res;
	struct dbr_error err;
	int64_t id;

	assert_int_equal(dbr_query(f->db, 1,
				   "INSERT INTO t (id, v) VALUES (51, 1), "
				   "(52, 2) RETURNING id",
				   NULL, 0, &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_int_equal(dbr_result_changes(res), 0);
	assert_false(dbr_result_last_insert_id(res, &id));
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_int_equal(dbr_result_next(res), DBR_DONE);
	assert_int_equal(dbr_result_changes(res), 2);
	assert_true(dbr_result_last_insert_id(res, &id));
	assert_int_equal(id, 52);
	dbr_result_free(res);
	assert_int_equal(dbr_query(f->db, 1, "SELECT 1", NULL, 0, &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_int_equal(dbr_result_next(res), DBR_DONE);
	assert_int_equal(dbr_result_changes(res), 0);
	assert_false(dbr_result_last_insert_id(res, &id));
	dbr_result_free(res);
}

static void test_sqlite__readonly_refuses_writes(void **state)
{
	struct fixture *f = *state;
	struct dbr_value v = dbr_int64(1);
	struct dbr_error err;
	struct dbr_result *res;

	assert_int_equal(dbr_query_source(f->db, "ro",
					  "INSERT INTO t (v) "
					  "VALUES (?)",
					  &v, 1, NULL, &err),
			 DBR_E_READONLY);
	assert_string_equal(err.source, "ro");
	assert_non_null(strstr(err.message, "source 'ro': "));
	assert_int_equal(t_sqlite_int(f->db_path, "SELECT count(*) FROM t"), 0);
	/* Reading still works. */
	assert_int_equal(dbr_query_source(f->db, "ro", "SELECT count(*) FROM t",
					  NULL, 0, &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	dbr_result_free(res);
}

static void test_sqlite__one_statement_per_call(void **state)
{
	struct fixture *f = *state;
	struct dbr_error err;

	assert_int_equal(dbr_query(f->db, 1,
				   "INSERT INTO t (v) VALUES (1); "
				   "DELETE FROM t",
				   NULL, 0, NULL, &err),
			 DBR_E_STMT);
	assert_non_null(strstr(err.message, "text after the first statement"));
	assert_int_equal(t_sqlite_int(f->db_path, "SELECT count(*) FROM t"), 0);
	/* A final semicolon, blanks and comments are not a statement. */
	t_exec(f->db, 1, "SELECT 1; ", NULL, 0);
	t_exec(f->db, 1, "SELECT 1; -- done\n/* really */", NULL, 0);
	assert_int_equal(
		dbr_query(f->db, 1, "  -- nothing", NULL, 0, NULL, &err),
		DBR_E_STMT);
	assert_non_null(strstr(err.message, "empty statement"));
}

static void test_sqlite__errors_categorised(void **state)
{
	struct fixture *f = *state;
	struct dbr_value v[2] = { dbr_int64(1), dbr_text("x", 1) };
	struct dbr_error err;

	t_exec(f->db, 1, "INSERT INTO t (id, v) VALUES (?, ?)", v, 2);
	assert_int_equal(dbr_query(f->db, 1,
				   "INSERT INTO t (id, v) VALUES "
				   "(?, ?)",
				   v, 2, NULL, &err),
			 DBR_E_CONSTRAINT);
	assert_int_equal(err.code, DBR_E_CONSTRAINT);
	assert_int_equal(err.native_code, SQLITE_CONSTRAINT_PRIMARYKEY);
	assert_string_equal(err.source, "s");
	assert_non_null(strstr(err.message, "UNIQUE constraint failed"));
	assert_int_equal(dbr_query(f->db, 1, "SELEC 1", NULL, 0, NULL, &err),
			 DBR_E_STMT);
	assert_non_null(strstr(err.message, "syntax error"));
	assert_int_equal(dbr_query(f->db, 1, "SELECT ?", v, 2, NULL, &err),
			 DBR_E_MISUSE);
	assert_non_null(strstr(err.message, "1 placeholders but 2 parameters"));
	assert_int_equal(dbr_query(f->db, 1, NULL, NULL, 0, NULL, &err),
			 DBR_E_MISUSE);
}

/*
 * SQLite's own placeholder forms are refused, naming the form, and the
 * refused statement is not cached: it is refused again on its next call.
 */
static void test_sqlite__only_question_mark_placeholders(void **state)
{
	static const char *const sql[] = {
		"SELECT ?5",	       "SELECT ?, ?1", "SELECT :x",
		"SELECT @x",	       "SELECT $x",    "SELECT $a::b(c)",
		"SELECT '?' || :name",
	};
	static const char *const form[] = { "'?5'",   "'?1'", "':x'",
					    "'@x'",   "'$x'", "'$a::b(c)'",
					    "':name'" };
	struct fixture *f = *state;
	struct dbr_value v = dbr_int64(1);
	struct dbr_error err;
	size_t i;
	int k;

	for (i = 0; i < sizeof(sql) / sizeof(*sql); i++)
		for (k = 0; k < 2; k++) {
			assert_int_equal(
				dbr_query(f->db, 1, sql[i], &v, 1, NULL, &err),
				DBR_E_MISUSE);
			assert_non_null(strstr(err.message, form[i]));
		}
	t_exec(f->db, 1, "SELECT ? || ':x @y $z ?5'", &v, 1);
}

static void test_sqlite__changes_and_insert_id(void **state)
{
	struct fixture *f = *state;
	struct dbr_value v = dbr_int64(5);
	struct dbr_result *res;
	struct dbr_error err;
	int64_t id;

	assert_int_equal(dbr_query(f->db, 1,
				   "INSERT INTO t (id, v) VALUES "
				   "(41, 0), (42, ?)",
				   &v, 1, &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_column_count(res), 0);
	assert_int_equal(dbr_result_next(res), DBR_DONE);
	assert_int_equal(dbr_result_changes(res), 2);
	assert_true(dbr_result_last_insert_id(res, &id));
	assert_int_equal(id, 42);
	dbr_result_free(res);
	assert_int_equal(dbr_query(f->db, 1, "UPDATE t SET v = v + 1", NULL, 0,
				   &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_DONE);
	assert_int_equal(dbr_result_changes(res), 2);
	assert_false(dbr_result_last_insert_id(res, &id));
	dbr_result_free(res);
	assert_int_equal(dbr_query(f->db, 1,
				   "SELECT id AS ident, v FROM t "
				   "ORDER BY id",
				   NULL, 0, &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_column_count(res), 2);
	assert_string_equal(dbr_result_column_name(res, 0), "ident");
	assert_null(dbr_result_column_name(res, 2));
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_int_equal(dbr_result_int64(res, 0), 41);
	assert_true(dbr_result_double(res, 1) == 1.0);
	assert_null(dbr_result_text(res, 1, NULL));
	assert_int_equal(dbr_result_type(res, 5), DBR_TYPE_NULL);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_int_equal(dbr_result_int64(res, 1), 6);
	assert_int_equal(dbr_result_next(res), DBR_DONE);
	assert_int_equal(dbr_result_next(res), DBR_DONE);
	dbr_result_free(res);
}

static void test_sqlite__transactions(void **state)
{
	struct fixture *f = *state;
	struct dbr_result *res;
	struct dbr_error err;
	struct dbr_tx *tx;

	assert_int_equal(dbr_tx_begin(f->db, 1, &tx, &err), DBR_OK);
	assert_int_equal(dbr_tx_query(tx, "INSERT INTO t (v) VALUES (1)", NULL,
				      0, NULL, &err),
			 DBR_OK);
	assert_int_equal(
		dbr_tx_query(tx, "SELECT count(*) FROM t", NULL, 0, &res, &err),
		DBR_OK);
	/* One result at a time per transaction. */
	assert_int_equal(dbr_tx_query(tx, "SELECT 1", NULL, 0, NULL, &err),
			 DBR_E_MISUSE);
	assert_int_equal(dbr_tx_commit(tx, &err), DBR_E_MISUSE);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_int_equal(dbr_result_int64(res, 0), 1);
	dbr_result_free(res);
	assert_int_equal(dbr_tx_rollback(tx, &err), DBR_OK);
	assert_int_equal(t_sqlite_int(f->db_path, "SELECT count(*) FROM t"), 0);
	assert_int_equal(dbr_tx_begin_source(f->db, "s", &tx, &err), DBR_OK);
	assert_int_equal(dbr_tx_query(tx, "INSERT INTO t (v) VALUES (2)", NULL,
				      0, NULL, &err),
			 DBR_OK);
	assert_int_equal(dbr_tx_commit(tx, &err), DBR_OK);
	assert_int_equal(t_sqlite_int(f->db_path, "SELECT count(*) FROM t"), 1);
	assert_int_equal(dbr_tx_rollback(NULL, &err), DBR_OK);
}

/* A handle on one source 'k' in a new folder, configured by extra keys. */
static struct dbr *open_one(char **dir, const char *keys)
{
	char text[512], *path;
	struct dbr *db;

	*dir = t_tmpdir();
	snprintf(text, sizeof(text),
		 "[database]\ndefault_source = k\n"
		 "[source.k]\ntype = sqlite\npath = k.db\n%s",
		 keys);
	path = t_write(*dir, "k.ini", text);
	db = t_open(path);
	free(path);
	return db;
}

static void close_one(struct dbr *db, char *dir)
{
	dbr_close(db);
	t_rmtree(dir);
	free(dir);
}

/*
 * Issue 11, item 7: BEGIN sent through dbr_query left the one pooled
 * connection in a transaction, so three acknowledged INSERTs of other
 * callers were lost at close. It is refused now, and what would change
 * the connection's state (ATTACH, a PRAGMA that sets) is refused too.
 */
static void test_sqlite__begin_through_query_loses_nothing(void **state)
{
	static const char *const refused[] = {
		"BEGIN",
		"begin immediate",
		"SAVEPOINT a",
		"COMMIT",
		"ATTACH ':memory:' AS m",
		"PRAGMA foreign_keys = ON",
		"PRAGMA main.query_only(1)",
	};
	struct dbr_error err;
	struct dbr_result *res;
	char *dir, *file;
	struct dbr *db;
	size_t i;
	int64_t chat;

	(void)state;
	db = open_one(&dir, "max_connections = 1\n");
	file = t_path(dir, "k.db");
	t_exec(db, 1, "CREATE TABLE w (v)", NULL, 0);
	assert_int_equal(dbr_query(db, 1, "BEGIN", NULL, 0, NULL, &err),
			 DBR_E_MISUSE);
	assert_non_null(strstr(err.message, "dbr_tx_begin"));
	for (chat = 1; chat <= 3; chat++)
		t_exec(db, chat, "INSERT INTO w VALUES (1)", NULL, 0);
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (dbr_query(db, 1, refused[i], NULL, 0, NULL, &err) !=
		    DBR_E_MISUSE)
			fail_msg("not refused: '%s'", refused[i]);
	/* A PRAGMA that reads is a query like any other. */
	assert_int_equal(
		dbr_query(db, 1, "PRAGMA foreign_keys", NULL, 0, &res, &err),
		DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	dbr_result_free(res);
	dbr_close(db);
	assert_int_equal(t_sqlite_int(file, "SELECT count(*) FROM w"), 3);
	t_rmtree(dir);
	free(dir);
	free(file);
}

/*
 * Savepoints run inside dbr_tx_query; the same text through plain
 * dbr_query is refused afterwards although it is then cached.
 */
static void test_sqlite__savepoints_in_transactions(void **state)
{
	struct fixture *f = *state;
	struct dbr_error err;
	struct dbr_tx *tx;

	assert_int_equal(dbr_tx_begin(f->db, 1, &tx, &err), DBR_OK);
	assert_int_equal(dbr_tx_query(tx, "INSERT INTO t (v) VALUES (1)", NULL,
				      0, NULL, &err),
			 DBR_OK);
	assert_int_equal(dbr_tx_query(tx, "SAVEPOINT a", NULL, 0, NULL, &err),
			 DBR_OK);
	assert_int_equal(dbr_tx_query(tx, "INSERT INTO t (v) VALUES (2)", NULL,
				      0, NULL, &err),
			 DBR_OK);
	assert_int_equal(dbr_tx_query(tx, "ROLLBACK TO a", NULL, 0, NULL, &err),
			 DBR_OK);
	assert_int_equal(dbr_tx_query(tx, "RELEASE a", NULL, 0, NULL, &err),
			 DBR_OK);
	assert_int_equal(dbr_tx_query(tx, "COMMIT", NULL, 0, NULL, &err),
			 DBR_E_MISUSE);
	assert_int_equal(dbr_tx_commit(tx, &err), DBR_OK);
	assert_int_equal(t_sqlite_int(f->db_path, "SELECT sum(v) FROM t"), 1);
	assert_int_equal(
		dbr_query(f->db, 1, "SAVEPOINT a", NULL, 0, NULL, &err),
		DBR_E_MISUSE);
	assert_int_equal(dbr_query(f->db, 1, "RELEASE a", NULL, 0, NULL, &err),
			 DBR_E_MISUSE);
}

/*
 * A commit that fails on a deferred foreign key leaves SQLite inside the
 * transaction: the pooled connection must be outside any transaction when
 * the next caller gets it (max_connections = 1: the same connection).
 */
static void test_sqlite__failed_commit_leaves_no_transaction(void **state)
{
	struct dbr_value p = dbr_int64(99);
	struct dbr_error err;
	struct dbr_tx *tx;
	char *dir, *file;
	struct dbr *db;

	(void)state;
	db = open_one(&dir, "max_connections = 1\nforeign_keys = true\n");
	file = t_path(dir, "k.db");
	t_exec(db, 1, "CREATE TABLE parent (id INTEGER PRIMARY KEY)", NULL, 0);
	t_exec(db, 1,
	       "CREATE TABLE child (pid INTEGER REFERENCES parent (id) "
	       "DEFERRABLE INITIALLY DEFERRED)",
	       NULL, 0);
	assert_int_equal(dbr_tx_begin(db, 1, &tx, &err), DBR_OK);
	assert_int_equal(dbr_tx_query(tx, "INSERT INTO child VALUES (?)", &p, 1,
				      NULL, &err),
			 DBR_OK);
	assert_int_equal(dbr_tx_commit(tx, &err), DBR_E_CONSTRAINT);
	assert_non_null(strstr(err.message, "FOREIGN KEY"));
	t_exec(db, 2, "INSERT INTO parent VALUES (1)", NULL, 0);
	assert_int_equal(dbr_tx_begin(db, 3, &tx, &err), DBR_OK);
	assert_int_equal(dbr_tx_commit(tx, &err), DBR_OK);
	dbr_close(db);
	assert_int_equal(t_sqlite_int(file, "SELECT count(*) FROM parent"), 1);
	assert_int_equal(t_sqlite_int(file, "SELECT count(*) FROM child"), 0);
	t_rmtree(dir);
	free(dir);
	free(file);
}

/* Issue 11, item 13: an insert that reuses the previous rowid (insert,
 * delete, insert) still reports its id. */
static void test_sqlite__insert_id_of_reused_rowid(void **state)
{
	struct fixture *f = *state;
	struct dbr_result *res;
	struct dbr_error err;
	int64_t id = 0;
	int i;

	for (i = 0; i < 2; i++) {
		assert_int_equal(dbr_query(f->db, 1,
					   "INSERT INTO t (v) VALUES (7)", NULL,
					   0, &res, &err),
				 DBR_OK);
		assert_int_equal(dbr_result_next(res), DBR_DONE);
		assert_true(dbr_result_last_insert_id(res, &id));
		assert_int_equal(id, 1);
		dbr_result_free(res);
		t_exec(f->db, 1, "DELETE FROM t", NULL, 0);
	}
	/* An upsert that only updates inserts nothing. */
	t_exec(f->db, 1, "INSERT INTO t (id, v) VALUES (5, 0)", NULL, 0);
	assert_int_equal(dbr_query(f->db, 1,
				   "INSERT INTO t (id, v) VALUES (5, 1) ON "
				   "CONFLICT (id) DO UPDATE SET v = 2",
				   NULL, 0, &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_DONE);
	assert_int_equal(dbr_result_changes(res), 1);
	assert_false(dbr_result_last_insert_id(res, &id));
	dbr_result_free(res);
}

/*
 * Issue 11, item 15: a process out of file descriptors cannot open the
 * file, which is a local shortage (DBR_E_RESOURCE, named as such), not a
 * source that is down.
 */
static void test_sqlite__no_fd_left_is_resource(void **state)
{
	struct rlimit old, low;
	struct dbr_error err;
	int rc, after, st = 0, fd;
	char *dir;
	struct dbr *db;

	(void)state;
	db = open_one(&dir, "");
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	/* Every descriptor below the new limit is taken: fd is the lowest
	 * free one. */
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	low = old;
	low.rlim_cur = (rlim_t)fd + 1;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	rc = dbr_query(db, 1, "SELECT 1", NULL, 0, NULL, &err);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	close(fd);
	assert_int_equal(rc, DBR_E_RESOURCE);
	assert_non_null(strstr(err.message, "no file descriptor left"));
	assert_non_null(strstr(err.message, "EMFILE"));
	assert_true(err.retryable);
	assert_non_null(strstr(err.hint, "ulimit"));
	assert_int_equal(dbr_source_status(db, NULL, &st, NULL, NULL), DBR_OK);
	assert_int_equal(st, DBR_SOURCE_AVAILABLE);
	after = dbr_query(db, 1, "SELECT 1", NULL, 0, NULL, &err);
	assert_int_equal(after, DBR_OK);
	close_one(db, dir);
}

/*
 * State no statement text names: a TEMP table would outlive the call on
 * the pooled connection, so the connection that made it is not pooled
 * and the next caller (max_connections = 1) does not see it.
 */
static void test_sqlite__temp_objects_not_pooled(void **state)
{
	struct dbr_result *res;
	struct dbr_error err;
	struct dbr *db;
	char *dir;
	int i;

	(void)state;
	db = open_one(&dir, "max_connections = 1\n");
	for (i = 0; i < 2; i++) {
		t_exec(db, 1, "CREATE TEMP TABLE scratch (x)", NULL, 0);
		assert_int_equal(dbr_query(db, 1,
					   "SELECT count(*) FROM "
					   "sqlite_temp_master",
					   NULL, 0, &res, &err),
				 DBR_OK);
		assert_int_equal(dbr_result_next(res), DBR_ROW);
		assert_int_equal(dbr_result_int64(res, 0), 0);
		dbr_result_free(res);
	}
	close_one(db, dir);
}

/* The first column of the first row of sql on chat 1, as an integer. */
static int64_t one_int(struct dbr *db, const char *sql)
{
	struct dbr_result *res;
	struct dbr_error err;
	int64_t v;

	if (dbr_query(db, 1, sql, NULL, 0, &res, &err))
		fail_msg("%s: %s", sql, err.message);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	v = dbr_result_int64(res, 0);
	dbr_result_free(res);
	return v;
}

/*
 * Issue 15 item 6: `synchronous` holds on every connection of the source,
 * not only the first (two are open at once here, one inside a
 * transaction); unset, SQLite's default (FULL, 2) stays.
 */
static void test_sqlite__synchronous_on_every_connection(void **state)
{
	static const struct {
		const char *value;
		int64_t want;
	} cases[] = { { "off", 0 },
		      { "normal", 1 },
		      { "full", 2 },
		      { "extra", 3 },
		      { NULL, 2 } };
	struct dbr_error err;
	struct dbr_tx *tx;
	struct dbr *db;
	char keys[128], *dir;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(keys, sizeof(keys), "max_connections = 2\n%s%s\n",
			 cases[i].value ? "synchronous = " : "",
			 cases[i].value ? cases[i].value : "");
		db = open_one(&dir, keys);
		assert_int_equal(dbr_tx_begin(db, 1, &tx, &err), DBR_OK);
		assert_int_equal(one_int(db, "PRAGMA synchronous"),
				 cases[i].want);
		assert_int_equal(dbr_tx_rollback(tx, &err), DBR_OK);
		assert_int_equal(one_int(db, "PRAGMA synchronous"),
				 cases[i].want);
		close_one(db, dir);
	}
}

/* The test extension copied to dir/name (sub-folders made 0755), mode. */
static char *put_ext(const char *dir, const char *name, mode_t mode)
{
	char *path = t_path(dir, name), *slash = strrchr(path, '/');

	*slash = '\0';
	if (strcmp(path, dir))
		assert_true(!mkdir(path, 0755) || errno == EEXIST);
	*slash = '/';
	t_copy(DBR_TEST_EXT, path);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

/* dir/e.ini with one SQLite source 'e' and `keys`; its path. */
static char *ext_ini(const char *dir, const char *keys)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 "[database]\ndefault_source = e\n"
		 "[source.e]\ntype = sqlite\npath = e.db\n%s\n",
		 keys);
	return t_write(dir, "e.ini", text);
}

/* dbr_test_answer() inside a transaction and beside it: two connections
 * at once. */
static void answer_twice(struct dbr *db, int64_t want)
{
	struct dbr_result *res;
	struct dbr_error err;
	struct dbr_tx *tx;

	if (dbr_tx_begin(db, 1, &tx, &err))
		fail_msg("begin: %s", err.message);
	if (dbr_tx_query(tx, "SELECT dbr_test_answer()", NULL, 0, &res, &err))
		fail_msg("%s", err.message);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_int_equal(dbr_result_int64(res, 0), want);
	dbr_result_free(res);
	assert_int_equal(one_int(db, "SELECT dbr_test_answer()"), want);
	assert_int_equal(dbr_tx_rollback(tx, &err), DBR_OK);
}

/*
 * Issue 15 item 6: `extensions` loads each file on every new connection
 * (two open at once), by the entry point derived from the real file name
 * (letters of the base name without "lib", lower case) or the one given;
 * the SQL function load_extension() stays refused to statements.
 */
static void test_sqlite__extensions_on_every_connection(void **state)
{
	static const struct {
		const char *file, *keys;
		int64_t want;
	} cases[] = {
		{ "libdbranswer.so", "extensions = libdbranswer.so", 42 },
		{ "sub/libDbr_Answer-2.x.so",
		  "extensions = sub/libDbr_Answer-2.x.so", 42 },
		{ "libdbranswer.so",
		  "extensions = libdbranswer.so:dbr_answer_other_init", 43 },
	};
	struct dbr_error err;
	char keys[512], sql[512], *dir, *ext, *ini;
	struct dbr *db;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		dir = t_tmpdir();
		ext = put_ext(dir, cases[i].file, 0755);
		snprintf(keys, sizeof(keys), "max_connections = 2\n%s",
			 cases[i].keys);
		ini = ext_ini(dir, keys);
		db = t_open(ini);
		answer_twice(db, cases[i].want);
		snprintf(sql, sizeof(sql), "SELECT load_extension('%s')", ext);
		assert_int_not_equal(dbr_query(db, 1, sql, NULL, 0, NULL, &err),
				     DBR_OK);
		assert_non_null(strstr(err.message, "not authorized"));
		assert_int_equal(one_int(db, "SELECT dbr_test_answer()"),
				 cases[i].want);
		dbr_close(db);
		t_rmtree(dir);
		free(ini);
		free(ext);
		free(dir);
	}
}

/*
 * A missing file, one another user could replace (mode 0666, or in a
 * 0777 folder) and one that is not a shared object are configuration
 * errors with the INI's file and line, before anything is loaded.
 */
static void test_sqlite__unsafe_extensions_refused_at_load(void **state)
{
	static const struct {
		const char *file;
		mode_t mode;
		const char *value, *why;
	} cases[] = {
		{ NULL, 0, "missing.so",
		  "extension '%s/missing.so' cannot be opened" },
		{ "libdbranswer.so", 0666, "libdbranswer.so",
		  "extension file '%s/libdbranswer.so' is writable by group" },
		{ "open/libdbranswer.so", 0755, "open/libdbranswer.so",
		  "extension folder '%s/open' is writable by group" },
		{ "e.ini", 0644, "e.ini:x_init", "not an ELF file" },
	};
	struct dbr_error err;
	char keys[256], want[512], *dir, *ext, *ini, *sub;
	struct dbr *db;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		dir = t_tmpdir();
		ext = cases[i].file && strcmp(cases[i].file, "e.ini")
			      ? put_ext(dir, cases[i].file, cases[i].mode)
			      : NULL;
		sub = t_path(dir, "open");
		if (ext && strstr(ext, "/open/"))
			assert_int_equal(chmod(sub, 0777), 0);
		snprintf(keys, sizeof(keys), "extensions = %s", cases[i].value);
		ini = ext_ini(dir, keys);
		assert_int_equal(dbr_open(&db, ini, NULL, &err), DBR_E_CONFIG);
		snprintf(want, sizeof(want), "e.ini:6: bad value");
		assert_non_null(strstr(err.message, want));
		snprintf(want, sizeof(want), cases[i].why, dir);
		if (!strstr(err.message, want))
			fail_msg("'%s' lacks '%s'", err.message, want);
		t_rmtree(dir);
		free(sub);
		free(ini);
		free(ext);
		free(dir);
	}
}

/*
 * Each file is checked again when a connection loads it (it may have
 * changed since the configuration loaded), and an entry point the file
 * lacks fails the open: the error names the source, the file and why.
 */
static void test_sqlite__extensions_checked_on_open(void **state)
{
	struct dbr_error err;
	char *dir, *ext, *ini;
	struct dbr *db;

	(void)state;
	dir = t_tmpdir();
	ext = put_ext(dir, "libdbranswer.so", 0755);
	ini = ext_ini(dir, "extensions = libdbranswer.so");
	db = t_open(ini);
	assert_int_equal(chmod(ext, 0666), 0);
	assert_int_equal(dbr_source_ping(db, "e", &err), DBR_E_CONFIG);
	assert_non_null(strstr(err.message, "source 'e': extension file '"));
	assert_non_null(strstr(err.message, "writable by group or others"));
	assert_false(err.retryable);
	dbr_close(db);
	free(ini);
	assert_int_equal(chmod(ext, 0755), 0);
	ini = ext_ini(dir, "extensions = libdbranswer.so:no_such_init");
	db = t_open(ini);
	assert_int_equal(dbr_source_ping(db, "e", &err), DBR_E_CONFIG);
	assert_non_null(strstr(err.message, "source 'e': extension '"));
	assert_non_null(strstr(err.message, "(entry no_such_init) cannot be "
					    "loaded"));
	assert_false(err.retryable);
	dbr_close(db);
	t_rmtree(dir);
	free(ini);
	free(ext);
	free(dir);
}

/*
 * State SQLite keeps per connection, reached without the words the
 * statement guard knows: a table created as `temp.x` (not `CREATE TEMP`)
 * shadows the real one for every later statement on that connection, so
 * acknowledged writes of the next callers went into it and were lost; a
 * pragma set under EXPLAIN (SQLite applies it while preparing) turned
 * foreign keys off for the next caller. Neither connection is pooled now.
 */
static void test_sqlite__hidden_state_not_pooled(void **state)
{
	struct dbr *db;
	char *dir, *path;

	(void)state;
	db = open_one(&dir, "max_connections = 1\nforeign_keys = true\n");
	t_exec(db, 1, "CREATE TABLE users (a)", NULL, 0);
	t_exec(db, 1, "CREATE TABLE temp.users (a)", NULL, 0);
	t_exec(db, 1, "INSERT INTO users VALUES (1)", NULL, 0);
	t_exec(db, 1, "INSERT INTO users VALUES (2)", NULL, 0);
	t_exec(db, 1, "CREATE VIRTUAL TABLE temp.v USING rtree(id, a, b)", NULL,
	       0);
	assert_int_equal(one_int(db, "SELECT count(*) FROM sqlite_temp_master"),
			 0);
	assert_int_equal(one_int(db, "PRAGMA foreign_keys"), 1);
	t_exec(db, 1, "EXPLAIN PRAGMA foreign_keys = OFF", NULL, 0);
	assert_int_equal(one_int(db, "PRAGMA foreign_keys"), 1);
	dbr_close(db);
	path = t_path(dir, "k.db");
	assert_int_equal(t_sqlite_int(path, "SELECT count(*) FROM users"), 2);
	free(path);
	t_rmtree(dir);
	free(dir);
}

/* A read-only source writes no file at all: VACUUM INTO is refused. */
static void test_sqlite__readonly_writes_no_file(void **state)
{
	struct dbr_error err;
	struct dbr *db;
	char *dir, *path, sql[600];

	(void)state;
	db = open_one(&dir, "");
	t_exec(db, 1, "CREATE TABLE t (a)", NULL, 0);
	dbr_close(db);
	path = t_write(dir, "ro.ini",
		       "[database]\ndefault_source = k\n"
		       "[source.k]\ntype = sqlite\npath = k.db\n"
		       "readonly = true\n");
	db = t_open(path);
	free(path);
	path = t_path(dir, "copy.db");
	snprintf(sql, sizeof(sql), "VACUUM INTO '%s'", path);
	assert_int_not_equal(dbr_query(db, 1, sql, NULL, 0, NULL, &err),
			     DBR_OK);
	assert_int_equal(access(path, F_OK), -1);
	free(path);
	close_one(db, dir);
}

/*
 * SQLite's last insert row id, as SQL reads it, is SQLite's own: never
 * changed by the driver, also inside a statement (the parent/child idiom),
 * after a write that failed before it ran, or one freed early.
 */
static void test_sqlite__sql_sees_sqlite_rowid(void **state)
{
	struct dbr_result *res;
	struct dbr_error err;
	struct dbr_tx *tx;
	struct dbr *db;
	char *dir;

	(void)state;
	db = open_one(&dir, "max_connections = 1\n");
	t_exec(db, 1, "CREATE TABLE t (a)", NULL, 0);
	t_exec(db, 1, "CREATE TABLE chi (p)", NULL, 0);
	assert_int_equal(dbr_tx_begin(db, 1, &tx, &err), DBR_OK);
	assert_int_equal(dbr_tx_query(tx, "INSERT INTO t VALUES (1)", NULL, 0,
				      NULL, &err),
			 DBR_OK);
	assert_int_equal(dbr_tx_query(tx,
				      "INSERT INTO chi VALUES "
				      "(last_insert_rowid())",
				      NULL, 0, NULL, &err),
			 DBR_OK);
	/* Refused at binding: no parameter for its placeholder. */
	assert_int_equal(
		dbr_tx_query(tx, "UPDATE t SET a = ?", NULL, 0, NULL, &err),
		DBR_E_MISUSE);
	/* A write with RETURNING freed before its end. */
	assert_int_equal(dbr_tx_query(tx, "UPDATE t SET a = 2 RETURNING a",
				      NULL, 0, &res, &err),
			 DBR_OK);
	dbr_result_free(res);
	assert_int_equal(dbr_tx_query(tx, "SELECT last_insert_rowid()", NULL, 0,
				      &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_int_equal(dbr_result_int64(res, 0), 1);
	dbr_result_free(res);
	assert_int_equal(dbr_tx_commit(tx, &err), DBR_OK);
	assert_int_equal(one_int(db, "SELECT p FROM chi"), 1);
	close_one(db, dir);
}

/* A pragma that only reads (its argument names a table) keeps its
 * connection and its cached statement: prepared once for three runs. */
static void test_sqlite__reading_pragma_keeps_connection(void **state)
{
	struct dbr_open_options o = { .size = sizeof(o),
				      .log_fn = t_count_cache_misses,
				      .log_level = DBR_LOG_DEBUG };
	struct dbr_error err;
	char *dir = t_tmpdir(), *path;
	struct dbr *db;
	int i;

	(void)state;
	path = t_write(dir, "p.ini",
		       "[source.k]\ntype = sqlite\npath = k.db\n"
		       "max_connections = 1\n");
	assert_int_equal(dbr_open(&db, path, &o, &err), DBR_OK);
	t_exec(db, 1, "CREATE TABLE t (a)", NULL, 0);
	atomic_store(&t_cache_misses, 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(one_int(db, "SELECT count(*) FROM "
					     "pragma_table_info('t')"),
				 1);
	for (i = 0; i < 3; i++)
		t_exec(db, 1, "PRAGMA table_info(t)", NULL, 0);
	assert_int_equal(atomic_load(&t_cache_misses), 2);
	dbr_close(db);
	t_rmtree(dir);
	free(path);
	free(dir);
}

/* Writable files run in WAL mode; a held write lock ends in a timeout
 * after the source's timeout, not a hang. */
static void test_sqlite__wal_and_busy_timeout(void **state)
{
	struct fixture *f = *state;
	struct dbr_error err;
	sqlite3 *h;
	sqlite3_stmt *st;
	double t0;

	assert_int_equal(sqlite3_open(f->db_path, &h), SQLITE_OK);
	assert_int_equal(
		sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &st, NULL),
		SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL),
			 SQLITE_OK);
	t0 = dbr__now();
	assert_int_equal(dbr_query(f->db, 1, "INSERT INTO t (v) VALUES (1)",
				   NULL, 0, NULL, &err),
			 DBR_E_TIMEOUT);
	assert_true(dbr__now() - t0 >= 0.25);
	assert_non_null(strstr(err.message, "database is locked"));
	sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(h);
	t_exec(f->db, 1, "INSERT INTO t (v) VALUES (1)", NULL, 0);
}

/* A file that is not a database fails to open with the connection
 * category and a clear message. */
static void test_sqlite__not_a_database(void **state)
{
	char *dir = t_tmpdir(), *path, *junk;
	struct dbr_error err;
	struct dbr *db;

	(void)state;
	junk = t_write(dir, "junk.db",
		       "this is not an SQLite database file, "
		       "just some text that is long enough");
	path = t_write(dir, "j.ini",
		       "[source.j]\ntype = sqlite\n"
		       "path = junk.db\n");
	db = t_open(path);
	assert_int_equal(dbr_query(db, 1, "SELECT 1", NULL, 0, NULL, &err),
			 DBR_E_UNAVAILABLE);
	assert_non_null(strstr(err.message, "source 'j' is unavailable (cannot "
					    "use"));
	assert_non_null(strstr(err.message, "not a database"));
	assert_int_equal(dbr_source_ping(db, "j", &err), DBR_E_CONN);
	assert_non_null(strstr(err.message, "source 'j': cannot use"));
	/* Lost like a server, but no retry can help a damaged file. */
	assert_false(err.retryable);
	assert_non_null(strstr(err.hint, "not an SQLite database"));
	dbr_close(db);
	t_rmtree(dir);
	free(junk);
	free(path);
	free(dir);
}

/* Connections opened at the same moment on a new file all switch it to
 * WAL without a "database is locked" (SQLite answers that at once, without
 * its busy handler, to a journal mode change racing another). */
static pthread_barrier_t gate;
static atomic_int open_failures;

static void *first_query(void *arg)
{
	struct dbr_error err;

	pthread_barrier_wait(&gate);
	if (dbr_query(arg, 1, "SELECT 1", NULL, 0, NULL, &err)) {
		fprintf(stderr, "%s\n", err.message);
		atomic_fetch_add(&open_failures, 1);
	}
	return NULL;
}

static void test_sqlite__concurrent_first_opens(void **state)
{
	char *dir = t_tmpdir(), *path;
	pthread_t th[8];
	struct dbr *db;
	int round, i;

	(void)state;
	for (round = 0; round < 10; round++) {
		char name[32], text[160];

		snprintf(name, sizeof(name), "c%d.ini", round);
		snprintf(text, sizeof(text),
			 "[source.c]\ntype = sqlite\n"
			 "path = fresh%d.db\nmax_connections = 8\n",
			 round);
		path = t_write(dir, name, text);
		db = t_open(path);
		pthread_barrier_init(&gate, NULL, 8);
		for (i = 0; i < 8; i++)
			pthread_create(&th[i], NULL, first_query, db);
		for (i = 0; i < 8; i++)
			pthread_join(th[i], NULL);
		pthread_barrier_destroy(&gate);
		dbr_close(db);
		free(path);
	}
	assert_int_equal(atomic_load(&open_failures), 0);
	t_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_sqlite__values_round_trip),
		T(test_sqlite__params_outlive_the_call),
		T(test_sqlite__empty_is_not_null),
		T(test_sqlite__statement_cache_hit),
		T(test_sqlite__cache_key_is_the_text),
		T(test_sqlite__cache_keeps_the_last_used),
		T(test_sqlite__byte_params_after_others),
		T(test_sqlite__changes_at_the_end_only),
		T(test_sqlite__readonly_refuses_writes),
		T(test_sqlite__one_statement_per_call),
		T(test_sqlite__errors_categorised),
		T(test_sqlite__only_question_mark_placeholders),
		T(test_sqlite__changes_and_insert_id),
		T(test_sqlite__transactions),
		T(test_sqlite__wal_and_busy_timeout),
		T(test_sqlite__savepoints_in_transactions),
		T(test_sqlite__insert_id_of_reused_rowid),
		cmocka_unit_test(
			test_sqlite__begin_through_query_loses_nothing),
		cmocka_unit_test(
			test_sqlite__failed_commit_leaves_no_transaction),
		cmocka_unit_test(test_sqlite__no_fd_left_is_resource),
		cmocka_unit_test(test_sqlite__temp_objects_not_pooled),
		cmocka_unit_test(test_sqlite__hidden_state_not_pooled),
		cmocka_unit_test(test_sqlite__synchronous_on_every_connection),
		cmocka_unit_test(test_sqlite__extensions_on_every_connection),
		cmocka_unit_test(
			test_sqlite__unsafe_extensions_refused_at_load),
		cmocka_unit_test(test_sqlite__extensions_checked_on_open),
		cmocka_unit_test(test_sqlite__readonly_writes_no_file),
		cmocka_unit_test(test_sqlite__sql_sees_sqlite_rowid),
		cmocka_unit_test(test_sqlite__reading_pragma_keeps_connection),
		cmocka_unit_test(test_sqlite__not_a_database),
		cmocka_unit_test(test_sqlite__concurrent_first_opens),
		T(test_sqlite__named_translation_cached),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
