/*
 * test_integration.c - two SQLite sources behind one handle: every row is
 * written to the file its chat is mapped to and to no other (checked by
 * opening the files with sqlite3 directly), from several threads at once,
 * and a hostile parameter is stored verbatim; misuse of the query and
 * result calls is refused; an error on a later row is returned when the
 * rows are not wanted; a transaction never falls back.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define CHATS	 40
#define MESSAGES 25
#define THREADS	 4

struct fixture {
	char *dir;
	char *path;
	char *main_db;
	char *groups_db;
	struct dbr *db;
};

/* Negative chats are mapped to 'groups'; the rest fall to 'main'. */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char text[4096];
	size_t used;
	int c;

	f->dir = t_tmpdir();
	used = (size_t)snprintf(text, sizeof(text),
				"[database]\ndefault_source = main\n"
				"[source.main]\ntype = sqlite\npath = main.db\n"
				"[source.groups]\ntype = sqlite\n"
				"path = groups.db\nmax_connections = 2\n"
				"[chat_mapping]\n");
	for (c = 1; c <= CHATS; c++)
		used += (size_t)snprintf(text + used, sizeof(text) - used,
					 "%d = groups\n", -c);
	f->path = t_write(f->dir, "i.ini", text);
	f->main_db = t_path(f->dir, "main.db");
	f->groups_db = t_path(f->dir, "groups.db");
	f->db = t_open(f->path);
	assert_int_equal(dbr_query_source(f->db, "main",
					  "CREATE TABLE m "
					  "(chat INTEGER, n INTEGER, text)",
					  NULL, 0, NULL, NULL),
			 DBR_OK);
	assert_int_equal(dbr_query_source(f->db, "groups",
					  "CREATE TABLE m "
					  "(chat INTEGER, n INTEGER, text)",
					  NULL, 0, NULL, NULL),
			 DBR_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	dbr_close(f->db);
	t_rmtree(f->dir);
	free(f->main_db);
	free(f->groups_db);
	free(f->path);
	free(f->dir);
	free(f);
	return 0;
}

struct job {
	struct dbr *db;
	int first; /* this thread writes chats first, first + THREADS, ... */
	int errors;
};

static void *writer(void *arg)
{
	struct job *j = arg;
	struct dbr_value p[3];
	struct dbr_error err;
	int c, n;

	for (c = j->first; c <= CHATS; c += THREADS) {
		for (n = 0; n < MESSAGES; n++) {
			int64_t chat = n % 2 ? -c : c; /* one mapped, one not */

			p[0] = dbr_int64(chat);
			p[1] = dbr_int64(n);
			p[2] = dbr_text("hi", 2);
			if (dbr_query(j->db, chat,
				      "INSERT INTO m VALUES "
				      "(?, ?, ?)",
				      p, 3, NULL, &err)) {
				fprintf(stderr, "%s\n", err.message);
				j->errors++;
			}
		}
	}
	return NULL;
}

static void test_integration__rows_land_where_mapped(void **state)
{
	struct fixture *f = *state;
	pthread_t th[THREADS];
	struct job jobs[THREADS];
	int i;

	for (i = 0; i < THREADS; i++) {
		jobs[i] = (struct job){ f->db, i + 1, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, writer, &jobs[i]),
				 0);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(jobs[i].errors, 0);
	}
	/* Mapped (negative) chats only in groups.db, the rest only in
	 * main.db, each row exactly once. */
	assert_int_equal(t_sqlite_int(f->groups_db, "SELECT count(*) FROM m"),
			 CHATS * (MESSAGES / 2));
	assert_int_equal(t_sqlite_int(f->groups_db, "SELECT count(*) FROM m "
						    "WHERE chat >= 0"),
			 0);
	assert_int_equal(t_sqlite_int(f->main_db, "SELECT count(*) FROM m"),
			 CHATS * (MESSAGES - MESSAGES / 2));
	assert_int_equal(t_sqlite_int(f->main_db, "SELECT count(*) FROM m "
						  "WHERE chat < 0"),
			 0);
	assert_int_equal(t_sqlite_int(f->main_db,
				      "SELECT count(*) FROM (SELECT "
				      "chat, n FROM m GROUP BY chat, n "
				      "HAVING count(*) > 1)"),
			 0);
}

static void test_integration__hostile_parameter_verbatim(void **state)
{
	struct fixture *f = *state;
	static const char hostile[] = "x'); DROP TABLE m; --";
	struct dbr_value p[3] = { dbr_int64(-1), dbr_int64(1),
				  dbr_text(hostile, strlen(hostile)) };
	struct dbr_result *res;
	struct dbr_error err;

	t_exec(f->db, -1, "INSERT INTO m VALUES (?, ?, ?)", p, 3);
	assert_int_equal(dbr_query(f->db, -1,
				   "SELECT text FROM m WHERE "
				   "text = ?",
				   &p[2], 1, &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_string_equal(dbr_result_text(res, 0, NULL), hostile);
	assert_string_equal(dbr_result_source(res), "groups");
	dbr_result_free(res);
	assert_int_equal(t_sqlite_int(f->groups_db,
				      "SELECT count(*) FROM m "
				      "WHERE text = 'x''); DROP TABLE m; --'"),
			 1);
	assert_int_equal(t_sqlite_int(f->main_db, "SELECT count(*) FROM m"), 0);
}

/* A transaction pins one connection of the chat's source. */
static void test_integration__transaction_on_chat(void **state)
{
	struct fixture *f = *state;
	struct dbr_value p = dbr_int64(-3);
	struct dbr_error err;
	struct dbr_tx *tx;
	int i;

	assert_int_equal(dbr_tx_begin(f->db, -3, &tx, &err), DBR_OK);
	for (i = 0; i < 10; i++)
		assert_int_equal(dbr_tx_query(tx,
					      "INSERT INTO m (chat) "
					      "VALUES (?)",
					      &p, 1, NULL, &err),
				 DBR_OK);
	assert_int_equal(t_sqlite_int(f->groups_db, "SELECT count(*) FROM m"),
			 0); /* not committed yet */
	assert_int_equal(dbr_tx_commit(tx, &err), DBR_OK);
	assert_int_equal(t_sqlite_int(f->groups_db, "SELECT count(*) FROM m"),
			 10);
	assert_int_equal(t_sqlite_int(f->main_db, "SELECT count(*) FROM m"), 0);
}

/* Parameters missing for their count, columns out of range: misuse. */
static void test_integration__misuse_refused(void **state)
{
	struct fixture *f = *state;
	struct dbr_result *res = NULL;
	struct dbr_value v;
	struct dbr_error err;
	size_t ncols;

	assert_int_equal(dbr_query(f->db, 1, "SELECT ?", NULL, 1, &res, &err),
			 DBR_E_MISUSE);
	assert_null(res);
	assert_int_equal(err.code, DBR_E_MISUSE);
	assert_int_equal(dbr_query(f->db, 1, "SELECT ?", NULL, 1, NULL, &err),
			 DBR_E_MISUSE);
	assert_int_equal(dbr_query_source(f->db, "groups", "SELECT ?", NULL, 1,
					  NULL, &err),
			 DBR_E_MISUSE);
	assert_int_equal(
		dbr_query(f->db, 1, "SELECT 1, 2", NULL, 0, &res, &err),
		DBR_OK);
	ncols = dbr_result_column_count(res);
	assert_int_equal(ncols, 2);
	/* No row yet. */
	assert_int_equal(dbr_result_value(res, 0, &v), DBR_E_MISUSE);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_int_equal(dbr_result_value(res, ncols - 1, &v), DBR_OK);
	assert_int_equal(v.type, DBR_TYPE_INT64);
	assert_int_equal(v.u.i, 2);
	assert_int_equal(dbr_result_value(res, ncols, &v), DBR_E_MISUSE);
	assert_int_equal(dbr_result_value(res, ncols + 1, &v), DBR_E_MISUSE);
	assert_int_equal(dbr_result_value(res, SIZE_MAX, &v), DBR_E_MISUSE);
	assert_null(dbr_result_column_name(res, ncols));
	/* The result is still good after the refusals. */
	assert_int_equal(dbr_result_value(res, 0, &v), DBR_OK);
	assert_int_equal(v.u.i, 1);
	dbr_result_free(res);
}

/*
 * Every public call sets its out-pointers on every failure: each is
 * poisoned first, then checked after a refused call.
 */
static void test_integration__out_pointers_cleared(void **state)
{
	struct fixture *f = *state;
	void *poison = (void *)(uintptr_t)0x5a5a5a5a;
	struct dbr *db = poison;
	struct dbr_result *res = poison;
	struct dbr_fanout *fo = NULL;
	struct dbr_tx *tx;
	char name[DBR_NAME_SIZE] = "poison", **names = poison;
	uint64_t beyond = 7;
	int64_t chat = 7, since = 7;
	size_t n = 7;
	int reason = 7, st = 7;
	struct dbr_error err;

	assert_int_equal(dbr_open(&db, NULL, NULL, &err), DBR_E_MISUSE);
	assert_null(db);
	db = poison;
	assert_int_not_equal(dbr_open(&db, "/nonexistent/x.ini", NULL, &err),
			     DBR_OK);
	assert_null(db);
	assert_int_equal(dbr_fanout_new(&fo), DBR_OK);
	assert_int_equal(
		dbr_query_all(NULL, fo, "SELECT 1", NULL, 0, &res, &err),
		DBR_E_MISUSE);
	assert_null(res);
	res = poison;
	assert_int_equal(dbr_query(NULL, 1, "SELECT 1", NULL, 0, &res, &err),
			 DBR_E_MISUSE);
	assert_null(res);
	res = poison;
	assert_int_equal(dbr_query_source(f->db, "nope", "SELECT 1", NULL, 0,
					  &res, &err),
			 DBR_E_NOTFOUND);
	assert_null(res);
	res = poison;
	assert_int_equal(
		dbr_query_scope(f->db, NULL, "SELECT 1", NULL, 0, &res, &err),
		DBR_E_MISUSE);
	assert_null(res);
	tx = poison;
	assert_int_equal(dbr_tx_begin(NULL, 1, &tx, &err), DBR_E_MISUSE);
	assert_null(tx);
	tx = poison;
	assert_int_equal(dbr_tx_begin_source(NULL, NULL, &tx, &err),
			 DBR_E_MISUSE);
	assert_null(tx);
	dbr_fanout_free(fo);
	assert_int_equal(dbr_route_chat(NULL, 1, name, sizeof(name), &reason),
			 DBR_E_MISUSE);
	assert_string_equal(name, "");
	assert_int_equal(reason, 0);
	strcpy(name, "poison");
	reason = 7;
	assert_int_equal(
		dbr_route_scope(f->db, NULL, name, sizeof(name), &reason),
		DBR_E_MISUSE);
	assert_string_equal(name, "");
	assert_int_equal(reason, 0);
	assert_int_equal(dbr_chat_parse("x", &chat), DBR_E_MISUSE);
	assert_int_equal(chat, 0);
	assert_int_equal(dbr_source_names(NULL, &names, &n, &err),
			 DBR_E_MISUSE);
	assert_null(names);
	assert_int_equal(n, 0);
	n = 7;
	assert_int_equal(dbr_source_status(f->db, "nope", &st, &since, NULL),
			 DBR_E_NOTFOUND);
	assert_int_equal(st, 0);
	assert_int_equal(since, 0);
	assert_int_equal(
		dbr_source_diverted_chats(f->db, "nope", NULL, 0, &n, &beyond),
		DBR_E_NOTFOUND);
	assert_true(n == 0 && beyond == 0);
}

/*
 * dbr_result_value() with out == NULL is DBR_E_MISUSE (STYLE.md rule 16);
 * it used to write through the NULL pointer, with or without a row.
 */
static void test_integration__result_value_null_out(void **state)
{
	struct fixture *f = *state;
	struct dbr_result *res;
	struct dbr_error err;

	assert_int_equal(dbr_result_value(NULL, 0, NULL), DBR_E_MISUSE);
	assert_int_equal(dbr_query(f->db, 1, "SELECT 1", NULL, 0, &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_value(res, 0, NULL), DBR_E_MISUSE);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_int_equal(dbr_result_value(res, 0, NULL), DBR_E_MISUSE);
	dbr_result_free(res);
}

/*
 * With out == NULL the statement runs to its end and an error on a row
 * after the first is returned, not dropped with the rows (SQLite: abs()
 * of the smallest int64 overflows on the second row).
 */
static void test_integration__later_row_error_returned(void **state)
{
	struct fixture *f = *state;
	static const char sql[] = "SELECT 1 UNION ALL "
				  "SELECT abs(-9223372036854775808)";
	struct dbr_result *res;
	struct dbr_error err;

	memset(&err, 0, sizeof(err));
	assert_int_equal(dbr_query(f->db, -1, sql, NULL, 0, NULL, &err),
			 DBR_E_STMT);
	assert_int_equal(err.code, DBR_E_STMT);
	assert_string_equal(err.source, "groups");
	assert_non_null(strstr(err.message, "integer overflow"));
	/* The same through a cursor: the first row, then the error. */
	assert_int_equal(dbr_query(f->db, -1, sql, NULL, 0, &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_int_equal(dbr_result_next(res), DBR_E_STMT);
	dbr_result_free(res);
	/* The source is fine afterwards. */
	t_exec(f->db, -1, "SELECT 1", NULL, 0);
}

/*
 * A handle whose default source is SQLite and whose PostgreSQL source 'pg'
 * (chats 7, 8, 9) is at a listener that closes every connection: down,
 * with fallback = default. *path is the configuration (free() it).
 */
static struct dbr *open_down_pg(struct t_listener *l, const char *dir,
				char **path)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 "[database]\ndefault_source = main\nfallback = default\n"
		 "retry_interval = 60\n"
		 "[source.main]\ntype = sqlite\npath = main.db\n"
		 "[source.pg]\ntype = postgres\n"
		 "conninfo = host=127.0.0.1 port=%d sslmode=disable "
		 "gssencmode=disable\ntimeout = 5\n"
		 "[chat_mapping]\n7 = pg\n8 = pg\n9 = pg\n",
		 t_listener_port(l));
	*path = t_write(dir, "down.ini", text);
	return t_open(*path);
}

/*
 * A transaction for a chat whose source is down fails with the
 * unavailable error, although fallback = default diverts the chat's
 * plain operations: a transaction never falls back. Its source is a
 * PostgreSQL source at a listener that closes every connection.
 */
static void test_integration__transaction_never_falls_back(void **state)
{
	struct t_listener *l = t_listener_start();
	char *dir = t_tmpdir(), *path;
	struct dbr_result *res;
	struct dbr_error err;
	struct dbr_tx *tx = NULL;
	struct dbr *db;
	int attempts;

	(void)state;
	db = open_down_pg(l, dir, &path);
	/* Found down by the transaction itself. */
	memset(&err, 0, sizeof(err));
	assert_int_equal(dbr_tx_begin(db, 7, &tx, &err), DBR_E_UNAVAILABLE);
	assert_null(tx);
	assert_int_equal(err.code, DBR_E_UNAVAILABLE);
	assert_string_equal(err.source, "pg");
	attempts = t_listener_accepts(l);
	assert_true(attempts >= 1);
	/* Plain operations of the chat are diverted to the default... */
	assert_int_equal(dbr_query(db, 7, "SELECT 42", NULL, 0, &res, &err),
			 DBR_OK);
	assert_string_equal(dbr_result_source(res), "main");
	dbr_result_free(res);
	/* ...a transaction, known down, is not (and tries nothing). */
	assert_int_equal(dbr_tx_begin(db, 7, &tx, &err), DBR_E_UNAVAILABLE);
	assert_null(tx);
	assert_string_equal(err.source, "pg");
	assert_non_null(strstr(err.message, "source 'pg' is unavailable"));
	assert_int_equal(t_listener_accepts(l), attempts);
	/* An unmapped chat's transaction is on the default, as ever. */
	assert_int_equal(dbr_tx_begin(db, 10, &tx, &err), DBR_OK);
	assert_int_equal(dbr_tx_rollback(tx, &err), DBR_OK);
	dbr_close(db);
	t_listener_stop(l);
	t_rmtree(dir);
	free(path);
	free(dir);
}

/* The chats source 'pg' (down) lists as diverted writes. */
static size_t diverted(struct dbr *db, int64_t *chats, size_t cap)
{
	size_t n = 0;

	assert_int_equal(
		dbr_source_diverted_chats(db, "pg", chats, cap, &n, NULL),
		DBR_OK);
	return n;
}

/*
 * Operations diverted from a down source to an SQLite default: only those
 * that wrote list their chat for moving back (the driver's wrote(), from
 * sqlite3_stmt_readonly), never a read. Before, every statement without a
 * changes() count of 0 did, and a PostgreSQL SELECT's row count did too.
 */
static void test_integration__diverted_reads_are_not_writes(void **state)
{
	struct t_listener *l = t_listener_start();
	char *dir = t_tmpdir(), *path;
	struct dbr_value id = dbr_int64(1);
	struct dbr_result *res;
	int64_t chats[4];
	struct dbr *db;

	(void)state;
	db = open_down_pg(l, dir, &path);
	t_exec(db, 1, "CREATE TABLE t (id INTEGER)", NULL, 0);
	t_exec(db, 1, "INSERT INTO t VALUES (1)", NULL, 0);
	/* Reads, with rows and without, read to the end or not. */
	t_exec(db, 7, "SELECT id FROM t WHERE id = ?", &id, 1);
	assert_int_equal(
		dbr_query(db, 7, "SELECT id FROM t", NULL, 0, &res, NULL),
		DBR_OK);
	assert_string_equal(dbr_result_diverted_from(res), "pg");
	dbr_result_free(res);
	t_exec(db, 8, "SELECT count(*) FROM t WHERE id < 0", NULL, 0);
	assert_int_equal(diverted(db, chats, 4), 0);
	/* A write that changed nothing is still a write; so is one that
	 * changed rows. */
	t_exec(db, 8, "DELETE FROM t WHERE id < 0", NULL, 0);
	t_exec(db, 9, "UPDATE t SET id = 2 WHERE id = ?", &id, 1);
	assert_int_equal(diverted(db, chats, 4), 2);
	assert_int_equal(chats[0], 8);
	assert_int_equal(chats[1], 9);
	dbr_close(db);
	t_listener_stop(l);
	t_rmtree(dir);
	free(path);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_integration__rows_land_where_mapped),
		T(test_integration__hostile_parameter_verbatim),
		T(test_integration__transaction_on_chat),
		T(test_integration__misuse_refused),
		T(test_integration__later_row_error_returned),
		cmocka_unit_test(
			test_integration__transaction_never_falls_back),
		cmocka_unit_test(
			test_integration__diverted_reads_are_not_writes),
		T(test_integration__result_value_null_out),
		T(test_integration__out_pointers_cleared),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
