/*
 * test_mapstore.c - the mapping store (dbr_mapping_*, dbroute mapping) on
 * a SQLite store and, when scripts/test.sh started it (DBR_TEST_PG), a
 * PostgreSQL store: its tables, changes and their log, the refusal of a
 * chat with rows, import, the catalog's tables (the drivers'
 * list_tables), and gapless versions under `dbroute mapping set` from
 * several processes at once.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "handle.h"
#include "helpers.h"

/* One store: SQLite, or PostgreSQL. */
struct env {
	char *dir;
	char *config;
	struct dbr *db;
	bool pg;
};

static const char *const kinds[] = { "sqlite", "postgres" };

/*
 * A configuration whose default source `st` holds the store, with two
 * SQLite sources b and c, and `extra` appended; false (nothing made) for
 * PostgreSQL without its server.
 */
static bool env_open(struct env *e, int kind, const char *db_name,
		     const char *extra)
{
	char conninfo[1024], text[4096];

	memset(e, 0, sizeof(*e));
	e->pg = kind == 1;
	if (e->pg && !t_pg_database(db_name, conninfo, sizeof(conninfo)))
		return false;
	e->dir = t_tmpdir();
	if (e->pg)
		snprintf(text, sizeof(text),
			 "[source.st]\ntype = postgres\nconninfo = %s\n",
			 conninfo);
	else
		snprintf(text, sizeof(text),
			 "[source.st]\ntype = sqlite\npath = st.db\n");
	snprintf(text + strlen(text), sizeof(text) - strlen(text),
		 "[database]\ndefault_source = st\n"
		 "[source.b]\ntype = sqlite\npath = b.db\n"
		 "[source.c]\ntype = sqlite\npath = c.db\n"
		 "[mapping]\nstore = st\n%s",
		 extra ? extra : "");
	e->config = t_write(e->dir, "map.ini", text);
	e->db = t_open(e->config);
	return true;
}

static void env_close(struct env *e)
{
	dbr_close(e->db);
	if (e->dir)
		t_rmtree(e->dir);
	free(e->dir);
	free(e->config);
	memset(e, 0, sizeof(*e));
}

/* Run sql on a source, or fail. */
static void exec_on(struct dbr *db, const char *source, const char *sql)
{
	struct dbr_error err;

	if (dbr_query_source(db, source, sql, NULL, 0, NULL, &err))
		fail_msg("%s: %s", sql, err.message);
}

/* The first column of the first row, as an integer, or fail. */
static int64_t int_on(struct dbr *db, const char *source, const char *sql)
{
	struct dbr_result *res;
	struct dbr_error err;
	int64_t v;

	if (dbr_query_source(db, source, sql, NULL, 0, &res, &err))
		fail_msg("%s: %s", sql, err.message);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	v = dbr_result_int64(res, 0);
	dbr_result_free(res);
	return v;
}

static int64_t set(struct env *e, int64_t chat, const char *source, int want)
{
	struct dbr_error err;
	int64_t v = -1;
	int rc = dbr_mapping_set(e->db, chat, source, "test", &v, &err);

	if (rc != want)
		fail_msg("set %" PRId64 " %s: %d (%s)", chat,
			 source ? source : "(unset)", rc,
			 rc ? err.message : "ok");
	return v;
}

/* The store's version, and the number of change-log rows. */
static int64_t version_of(struct env *e)
{
	return int_on(e->db, "st",
		      "SELECT v FROM dbroute_meta WHERE k = 'version'");
}

static int64_t log_rows(struct env *e)
{
	return int_on(e->db, "st", "SELECT count(*) FROM dbroute_changes");
}

/* init twice: four tables, version 0, no row. */
static void test_mapstore__init_is_idempotent(void **state)
{
	struct dbr_mapping_entry *rows;
	struct dbr_error err;
	struct env e;
	int64_t v = -1;
	size_t n = 9;
	int k;

	(void)state;
	for (k = 0; k < 2; k++) {
		if (!env_open(&e, k, "dbroute_map_init", NULL))
			continue;
		assert_int_equal(dbr_mapping_init(e.db, &err), DBR_OK);
		assert_int_equal(dbr_mapping_init(e.db, &err), DBR_OK);
		assert_int_equal(version_of(&e), 0);
		assert_int_equal(int_on(e.db, "st",
					"SELECT v FROM dbroute_meta WHERE k = "
					"'schema'"),
				 1);
		assert_int_equal(int_on(e.db, "st",
					"SELECT count(*) FROM dbroute_clients"),
				 0);
		assert_int_equal(
			dbr_mapping_read(e.db, NULL, NULL, &rows, &n, &v, &err),
			DBR_OK);
		assert_int_equal(n, 0);
		assert_null(rows);
		assert_int_equal(v, 0);
		env_close(&e);
	}
}

/* set, the same again, unset: each change one version and one log row
 * with its actor and reason; no change, no row. */
static void test_mapstore__set_and_unset_are_logged(void **state)
{
	struct dbr_mapping_change *ch;
	struct dbr_mapping_entry *rows;
	struct dbr_error err;
	struct env e;
	int64_t v, chat = -1001;
	size_t n;
	int k;

	(void)state;
	for (k = 0; k < 2; k++) {
		if (!env_open(&e, k, "dbroute_map_set", NULL))
			continue;
		/* The tables are created by the first set. */
		assert_int_equal(set(&e, chat, "b", DBR_OK), 1);
		assert_int_equal(set(&e, chat, "b", DBR_OK), 0);
		assert_int_equal(set(&e, 7, "st", DBR_OK), 0); /* default */
		assert_int_equal(set(&e, 7, NULL, DBR_OK), 0); /* no row */
		assert_int_equal(set(&e, 8, "c", DBR_OK), 2);
		assert_int_equal(dbr_mapping_read(e.db, &chat, NULL, &rows, &n,
						  &v, &err),
				 DBR_OK);
		assert_int_equal(n, 1);
		assert_int_equal(rows[0].chat, chat);
		assert_string_equal(rows[0].source, "b");
		assert_int_equal(rows[0].version, 1);
		assert_int_equal(v, 2);
		dbr_free(rows);
		assert_int_equal(set(&e, chat, NULL, DBR_OK), 3);
		assert_int_equal(
			dbr_mapping_changes(e.db, 1, NULL, &ch, &n, &err),
			DBR_OK);
		assert_int_equal(n, 2);
		assert_int_equal(ch[0].version, 2);
		assert_int_equal(ch[0].chat, 8);
		assert_string_equal(ch[0].source, "c");
		assert_int_equal(ch[1].version, 3);
		assert_string_equal(ch[1].source, "");
		assert_string_equal(ch[1].reason, "test");
		assert_non_null(strchr(ch[1].actor, '@'));
		assert_non_null(strchr(ch[1].actor, ':'));
		assert_true(ch[1].at_ms > 1700000000000);
		dbr_free(ch);
		assert_int_equal(
			dbr_mapping_changes(e.db, 0, &chat, &ch, &n, &err),
			DBR_OK);
		assert_int_equal(n, 2);
		assert_int_equal(ch[0].version, 1);
		assert_int_equal(ch[1].version, 3);
		dbr_free(ch);
		assert_int_equal(version_of(&e), 3);
		assert_int_equal(log_rows(&e), 3);
		env_close(&e);
	}
}

/*
 * A chat with rows on its current source is refused and nothing changes;
 * dbroute's own tables do not count; without rows it moves.
 */
static void test_mapstore__set_refused_while_chat_has_rows(void **state)
{
	struct dbr_error err;
	struct env e;
	int64_t v;
	int k;

	(void)state;
	for (k = 0; k < 2; k++) {
		if (!env_open(&e, k, "dbroute_map_rows", NULL))
			continue;
		exec_on(e.db, "st",
			"CREATE TABLE msgs (id INT, chat_id BIGINT)");
		exec_on(e.db, "st", "INSERT INTO msgs VALUES (1, 5)");
		exec_on(e.db, "st",
			"CREATE TABLE dbroute_own (chat_id BIGINT)");
		exec_on(e.db, "st", "INSERT INTO dbroute_own VALUES (6)");
		exec_on(e.db, "b",
			"CREATE TABLE msgs (id INT, chat_id BIGINT)");
		assert_int_equal(dbr_mapping_init(e.db, &err), DBR_OK);
		v = -1;
		assert_int_equal(
			dbr_mapping_set(e.db, 5, "b", "test", &v, &err),
			DBR_E_CONSTRAINT);
		assert_int_equal(v, 0);
		assert_non_null(strstr(err.message, "chat 5 has rows on "
						    "source 'st'"));
		assert_non_null(strstr(err.message, "msgs"));
		assert_non_null(strstr(err.hint, "move"));
		assert_int_equal(version_of(&e), 0);
		assert_int_equal(log_rows(&e), 0);
		assert_int_equal(set(&e, 6, "b", DBR_OK), 1);
		/* 6 is on b now: a row there keeps it there. */
		exec_on(e.db, "b", "INSERT INTO msgs VALUES (2, 6)");
		set(&e, 6, NULL, DBR_E_CONSTRAINT);
		set(&e, 6, "c", DBR_E_CONSTRAINT);
		exec_on(e.db, "b", "DELETE FROM msgs");
		assert_int_equal(set(&e, 6, "c", DBR_OK), 2);
		assert_int_equal(log_rows(&e), 2);
		env_close(&e);
	}
}

/* [table.NAME] sections name the chat tables: the convention is off. */
static void test_mapstore__table_sections_replace_convention(void **state)
{
	struct env e;
	int k;

	(void)state;
	for (k = 0; k < 2; k++) {
		if (!env_open(&e, k, "dbroute_map_tables",
			      "[table.events]\nchat_column = room\n"))
			continue;
		exec_on(e.db, "st", "CREATE TABLE msgs (chat_id BIGINT)");
		exec_on(e.db, "st", "INSERT INTO msgs VALUES (5)");
		exec_on(e.db, "st", "CREATE TABLE events (room BIGINT)");
		exec_on(e.db, "st", "INSERT INTO events VALUES (6)");
		assert_int_equal(set(&e, 5, "b", DBR_OK), 1);
		set(&e, 6, "b", DBR_E_CONSTRAINT);
		env_close(&e);
	}
	/* [move] chat_column renames the convention's column. */
	for (k = 0; k < 2; k++) {
		if (!env_open(&e, k, "dbroute_map_tables",
			      "[move]\nchat_column = room\n"))
			continue;
		exec_on(e.db, "st", "CREATE TABLE msgs (chat_id BIGINT)");
		exec_on(e.db, "st", "INSERT INTO msgs VALUES (5)");
		exec_on(e.db, "st", "CREATE TABLE events (room BIGINT)");
		exec_on(e.db, "st", "INSERT INTO events VALUES (6)");
		assert_int_equal(set(&e, 5, "b", DBR_OK), 1);
		set(&e, 6, "b", DBR_E_CONSTRAINT);
		env_close(&e);
	}
}

/* [table.NAME] names are quoted, and matched as written: reserved words,
 * and on PostgreSQL "Orders" next to orders (issue 13 review, m13). */
static void test_mapstore__table_names_quoted_and_exact(void **state)
{
	struct env e;
	int k;

	(void)state;
	for (k = 0; k < 2; k++) {
		if (!env_open(&e, k, "dbroute_map_quoted",
			      "[table.order]\n"
			      "[table.user]\nchat_column = group\n"
			      "[table.Orders]\n"))
			continue;
		exec_on(e.db, "st", "CREATE TABLE \"order\" (chat_id BIGINT)");
		exec_on(e.db, "st", "INSERT INTO \"order\" VALUES (5)");
		exec_on(e.db, "st", "CREATE TABLE \"user\" (\"group\" BIGINT)");
		exec_on(e.db, "st", "INSERT INTO \"user\" VALUES (8)");
		exec_on(e.db, "st", "CREATE TABLE \"Orders\" (chat_id BIGINT)");
		exec_on(e.db, "st", "INSERT INTO \"Orders\" VALUES (43)");
		if (e.pg)
			exec_on(e.db, "st",
				"CREATE TABLE orders (chat_id INT)");
		assert_int_equal(set(&e, 7, "b", DBR_OK), 1);
		set(&e, 5, "b", DBR_E_CONSTRAINT);
		set(&e, 8, "b", DBR_E_CONSTRAINT);
		set(&e, 43, "b", DBR_E_CONSTRAINT);
		env_close(&e);
	}
}

/* A [table.NAME] is read whether the catalog lists it or not: one in a
 * schema off the search path keeps its chats; one that does not exist
 * refuses the change, naming it. */
static void test_mapstore__table_sections_always_read(void **state)
{
	struct dbr_error err;
	struct env e;
	int64_t v;
	int k;

	(void)state;
	for (k = 0; k < 2; k++) {
		if (!env_open(&e, k, "dbroute_map_unlisted",
			      k ? "[table.archive.msgs]\n" : "[table.msgs]\n"))
			continue;
		if (e.pg) {
			exec_on(e.db, "st", "CREATE SCHEMA archive");
			exec_on(e.db, "st",
				"CREATE TABLE archive.msgs (chat_id BIGINT)");
			exec_on(e.db, "st",
				"INSERT INTO archive.msgs VALUES (50)");
		} else {
			exec_on(e.db, "st", "CREATE TABLE msgs (chat_id INT)");
			exec_on(e.db, "st", "INSERT INTO msgs VALUES (50)");
		}
		set(&e, 50, "b", DBR_E_CONSTRAINT);
		assert_int_equal(set(&e, 51, "b", DBR_OK), 1);
		assert_int_equal(dbr_mapping_check_tables(e.db, "st", &err),
				 DBR_OK);
		assert_int_not_equal(dbr_mapping_check_tables(e.db, "b", &err),
				     DBR_OK);
		assert_non_null(strstr(err.message, "source 'b'"));
		assert_int_equal(dbr_mapping_check_tables(e.db, "zz", &err),
				 DBR_E_NOTFOUND);
		env_close(&e);
		if (!env_open(&e, k, "dbroute_map_unlisted",
			      "[table.absent]\n"))
			continue;
		assert_int_equal(dbr_mapping_init(e.db, &err), DBR_OK);
		v = -1;
		assert_int_not_equal(
			dbr_mapping_set(e.db, 52, "b", "test", &v, &err),
			DBR_OK);
		assert_non_null(strstr(err.message, "[table.absent]"));
		assert_int_equal(version_of(&e), 0);
		assert_int_not_equal(dbr_mapping_check_tables(e.db, "st", &err),
				     DBR_OK);
		assert_non_null(strstr(err.message, "[table.absent]"));
		env_close(&e);
	}
}

/* A text chat column: skipped by the convention (with a warning),
 * compared as text when a [table.NAME] names it. */
static void test_mapstore__text_chat_column(void **state)
{
	struct env e;
	int k;

	(void)state;
	for (k = 0; k < 2; k++) {
		if (!env_open(&e, k, "dbroute_map_text", NULL))
			continue;
		exec_on(e.db, "st", "CREATE TABLE notes (chat_id TEXT)");
		exec_on(e.db, "st", "INSERT INTO notes VALUES ('x')");
		exec_on(e.db, "st", "CREATE TABLE msgs (chat_id BIGINT)");
		exec_on(e.db, "st", "INSERT INTO msgs VALUES (5)");
		assert_int_equal(set(&e, 7, "b", DBR_OK), 1);
		set(&e, 5, "b", DBR_E_CONSTRAINT);
		env_close(&e);
		if (!env_open(&e, k, "dbroute_map_text", "[table.notes]\n"))
			continue;
		exec_on(e.db, "st", "CREATE TABLE notes (chat_id TEXT)");
		exec_on(e.db, "st", "INSERT INTO notes VALUES ('9')");
		set(&e, 9, "b", DBR_E_CONSTRAINT);
		assert_int_equal(set(&e, 10, "b", DBR_OK), 1);
		env_close(&e);
	}
}

/* import: conflicts refused (nothing written) unless replaced; one
 * version per chat; a second import changes nothing. */
static void test_mapstore__import_and_compare(void **state)
{
	struct dbr_mapping_conflict *c;
	struct dbr_error err;
	struct env e;
	size_t done, n;
	int k;

	(void)state;
	for (k = 0; k < 2; k++) {
		if (!env_open(&e, k, "dbroute_map_import",
			      "[chat_mapping]\n10 = b\n11 = c\n-12 = st\n"))
			continue;
		assert_int_equal(set(&e, 11, "b", DBR_OK), 1);
		assert_int_equal(dbr_mapping_compare(e.db, &c, &n, &err),
				 DBR_OK);
		assert_int_equal(n, 1);
		assert_int_equal(c[0].chat, 11);
		assert_string_equal(c[0].ini, "c");
		assert_string_equal(c[0].store, "b");
		dbr_free(c);
		assert_int_equal(dbr_mapping_import(e.db, 0, "seed", &done, &c,
						    &n, &err),
				 DBR_E_CONSTRAINT);
		assert_int_equal(n, 1);
		assert_int_equal(done, 0);
		assert_non_null(strstr(err.message, "11 ('c' in the INI, 'b' "
						    "in the store)"));
		dbr_free(c);
		assert_int_equal(version_of(&e), 1);
		assert_int_equal(dbr_mapping_import(e.db, DBR_MAPPING_REPLACE,
						    "seed", &done, NULL, NULL,
						    &err),
				 DBR_OK);
		assert_int_equal(done, 3);
		assert_int_equal(version_of(&e), 4);
		assert_int_equal(log_rows(&e), 4);
		assert_int_equal(int_on(e.db, "st",
					"SELECT count(*) FROM dbroute_changes "
					"WHERE reason = 'seed' AND version "
					"BETWEEN 2 AND 4"),
				 3);
		assert_int_equal(dbr_mapping_import(e.db, 0, "seed", &done, &c,
						    &n, &err),
				 DBR_OK);
		assert_int_equal(done, 0);
		assert_int_equal(n, 0);
		assert_int_equal(dbr_mapping_compare(e.db, &c, &n, &err),
				 DBR_OK);
		assert_int_equal(n, 0);
		env_close(&e);
	}
}

/* Misuse and configuration errors. */
static void test_mapstore__errors(void **state)
{
	struct dbr_mapping_entry *rows;
	struct dbr_error err;
	struct t_handle *h;
	struct env e;
	size_t n;
	int64_t v;

	(void)state;
	h = t_handle_open("plain.ini",
			  "[source.a]\ntype = sqlite\npath = a.db\n");
	assert_int_equal(dbr_mapping_init(h->db, &err), DBR_E_CONFIG);
	assert_non_null(strstr(err.message, "no [mapping] store"));
	assert_int_equal(dbr_mapping_set(h->db, 1, "a", "r", &v, NULL),
			 DBR_E_CONFIG);
	assert_int_equal(
		dbr_mapping_read(h->db, NULL, NULL, &rows, &n, NULL, NULL),
		DBR_E_CONFIG);
	t_handle_close(h);
	env_open(&e, 0, NULL, NULL);
	assert_int_equal(dbr_mapping_set(e.db, 1, "b", "", &v, &err),
			 DBR_E_MISUSE);
	assert_int_equal(dbr_mapping_set(e.db, 1, "b", NULL, &v, &err),
			 DBR_E_MISUSE);
	assert_int_equal(dbr_mapping_set(e.db, 1, "zz", "r", &v, &err),
			 DBR_E_NOTFOUND);
	assert_int_equal(dbr_mapping_set(NULL, 1, "b", "r", &v, &err),
			 DBR_E_MISUSE);
	assert_int_equal(
		dbr_mapping_read(e.db, NULL, NULL, NULL, &n, NULL, &err),
		DBR_E_MISUSE);
	/* A store row naming a source this configuration lacks. */
	assert_int_equal(dbr_mapping_init(e.db, &err), DBR_OK);
	exec_on(e.db, "st",
		"INSERT INTO dbroute_mapping (chat_id, source, state, "
		"version) VALUES (3, 'gone', 'active', 0)");
	assert_int_equal(dbr_mapping_set(e.db, 3, "b", "r", &v, &err),
			 DBR_E_NOTFOUND);
	assert_non_null(strstr(err.message, "'gone'"));
	env_close(&e);
}

/* What the catalog reports of one table. */
struct seen {
	char text[2048];
};

static void on_table(void *ud, const struct dbr_table_info *t)
{
	struct seen *s = ud;
	size_t i, len = strlen(s->text);

	len += (size_t)snprintf(s->text + len, sizeof(s->text) - len,
				"%s%s%s:", t->schema, *t->schema ? "." : "",
				t->name);
	for (i = 0; i < t->ncolumns; i++)
		len += (size_t)snprintf(s->text + len, sizeof(s->text) - len,
					" %s/%u/%u/%d", t->columns[i].name,
					t->columns[i].cls, t->columns[i].pk,
					t->columns[i].notnull);
	snprintf(s->text + len, sizeof(s->text) - len, "\n");
}

/*
 * list_tables: every table (SQLite: of main; PostgreSQL: of the search
 * path's schemas, not of others), columns in order with class, primary
 * key position and NOT NULL.
 */
static void test_mapstore__catalog_lists_tables(void **state)
{
	struct seen s;
	struct env e;
	struct dbr_error err;
	int k;

	(void)state;
	for (k = 0; k < 2; k++) {
		if (!env_open(&e, k, "dbroute_map_cat", NULL))
			continue;
		exec_on(e.db, "st",
			"CREATE TABLE t (a INTEGER, b TEXT NOT NULL, c REAL, "
			"d VARCHAR(10), e DATE, PRIMARY KEY (b, a))");
		exec_on(e.db, "st", "CREATE VIEW v AS SELECT a FROM t");
		if (e.pg) {
			exec_on(e.db, "st", "CREATE SCHEMA hidden");
			exec_on(e.db, "st",
				"CREATE TABLE hidden.h (x BYTEA, y NUMERIC)");
		} else {
			exec_on(e.db, "st",
				"CREATE TABLE u (x BLOB, y NUMERIC)");
		}
		memset(&s, 0, sizeof(s));
		assert_int_equal(
			dbr__catalog_tables(dbr__config_source(e.db->cfg, "st"),
					    on_table, &s, &err),
			DBR_OK);
		if (e.pg)
			assert_string_equal(s.text,
					    "public.t: a/1/2/1 b/3/1/1 "
					    "c/2/0/0 d/3/0/0 e/5/0/0\n");
		else
			assert_string_equal(s.text,
					    "t: a/1/2/0 b/3/1/1 c/2/0/0 "
					    "d/3/0/0 e/5/0/0\n"
					    "u: x/4/0/0 y/2/0/0\n");
		env_close(&e);
	}
}

/*
 * Several processes run `dbroute mapping set` at once on the same chats:
 * every run succeeds, versions run 1..N without a gap, one change-log
 * row per change (as many as runs that reported a version).
 */
static void test_mapstore__concurrent_sets_are_gapless(void **state)
{
	enum { PROCS = 4, SETS = 12 };
	char cmd[2048], init[1024], *out = NULL, *errtext = NULL;
	struct env e;
	int64_t n;
	int k, changed = 0;
	const char *p;

	(void)state;
	for (k = 0; k < 2; k++) {
		if (!env_open(&e, k, "dbroute_map_race", NULL))
			continue;
		/*
		 * Process p sets chats 1..SETS to b or c by p's parity: half
		 * the runs change a chat another process set, half find it
		 * set already. Bounded by timeout(1).
		 */
		snprintf(cmd, sizeof(cmd),
			 "cd '%s' && ( for p in $(seq 1 %d); do "
			 "( for i in $(seq 1 %d); do "
			 "timeout 60 '%s' mapping set -c map.ini $i "
			 "$([ $((p %% 2)) = 0 ] && echo b || echo c) "
			 "--reason \"proc $p\" || echo FAILED $p $i >&2; "
			 "done ) & done; wait ) 2>race.err",
			 e.dir, PROCS, SETS, DBR_CLI);
		/* Four inits at once on an empty store all succeed. */
		snprintf(init, sizeof(init),
			 "cd '%s' && ( for p in 1 2 3 4; do ( timeout 60 '%s' "
			 "mapping init -c map.ini || echo FAILED init $p ) & "
			 "done; wait ) >init.out 2>&1",
			 e.dir, DBR_CLI);
		assert_int_equal(system(init), 0);
		out = t_path(e.dir, "init.out");
		errtext = t_read(out);
		assert_non_null(errtext);
		if (*errtext)
			fail_msg("%s", errtext);
		free(errtext);
		free(out);
		assert_int_equal(version_of(&e), 0);
		out = t_path(e.dir, "race.err");
		assert_int_equal(system(cmd), 0);
		errtext = t_read(out);
		free(out);
		out = NULL;
		assert_non_null(errtext);
		if (strstr(errtext, "FAILED"))
			fail_msg("%s", errtext);
		for (changed = 0, p = errtext; (p = strstr(p, ": version "));
		     p++)
			changed++;
		n = log_rows(&e);
		printf("%s store: %d of %d runs changed a chat\n", kinds[k],
		       changed, PROCS * SETS);
		assert_int_equal(n, changed);
		assert_true(changed >= SETS);
		assert_int_equal(version_of(&e), n);
		assert_int_equal(int_on(e.db, "st",
					"SELECT count(DISTINCT version) FROM "
					"dbroute_changes WHERE version BETWEEN "
					"1 AND (SELECT v FROM dbroute_meta "
					"WHERE k = 'version')"),
				 n);
		assert_int_equal(int_on(e.db, "st",
					"SELECT count(*) FROM dbroute_mapping"),
				 SETS);
		free(errtext);
		errtext = NULL;
		env_close(&e);
	}
}

/* The command: its output, formats and exit codes. */
static void test_mapstore__cli(void **state)
{
	char *out = NULL, *err = NULL;
	struct env e;

	(void)state;
	env_open(&e, 0, NULL, "[chat_mapping]\n-100 = c\n");
	exec_on(e.db, "c", "CREATE TABLE m (chat_id BIGINT)");
	exec_on(e.db, "c", "INSERT INTO m VALUES (-100)");
	assert_int_equal(
		t_run_cli(e.dir, "mapping init -c map.ini", &out, &err), 0);
	assert_int_equal(
		t_run_cli(e.dir, "mapping set -c map.ini -5 b", &out, &err), 2);
	assert_non_null(strstr(err, "--reason"));
	assert_non_null(strstr(err, "Try 'dbroute mapping --help'."));
	assert_int_equal(t_run_cli(e.dir,
				   "mapping set -c map.ini -5 b --reason 'r 1'",
				   &out, &err),
			 0);
	assert_non_null(strstr(err, "version 1"));
	assert_int_equal(t_run_cli(e.dir,
				   "mapping set -c map.ini -5 b --reason again",
				   &out, &err),
			 0);
	assert_non_null(strstr(err, "nothing to change"));
	/* -100 has rows on c, where [chat_mapping] routes it. */
	assert_int_equal(t_run_cli(e.dir,
				   "mapping set -c map.ini -100 b --reason x",
				   &out, &err),
			 1);
	assert_non_null(strstr(err, "has rows on source 'c'"));
	assert_int_equal(t_run_cli(e.dir,
				   "mapping set -c map.ini 1 nope --reason x",
				   &out, &err),
			 2);
	assert_int_equal(
		t_run_cli(e.dir, "mapping list -c map.ini", &out, &err), 0);
	assert_string_equal(out, "-5\tb\t1\n");
	/* route names the store's version the answer came from. */
	assert_int_equal(
		t_run_cli(e.dir, "route -c map.ini -5 -100 7", &out, &err), 0);
	assert_string_equal(out, "-5\tb\tstore v1\n-100\tc\tmapped\n"
				 "7\tst\tdefault\n");
	assert_int_equal(t_run_cli(e.dir,
				   "mapping list -c map.ini --source c "
				   "--format json",
				   &out, &err),
			 0);
	assert_string_equal(out, "[]\n");
	assert_int_equal(t_run_cli(e.dir,
				   "mapping unset -c map.ini -5 "
				   "--reason done",
				   &out, &err),
			 0);
	assert_int_equal(t_run_cli(e.dir,
				   "mapping history -c map.ini --chat -5 "
				   "--format csv",
				   &out, &err),
			 0);
	assert_non_null(strstr(out, "version,time,chat,source,actor,reason\n"
				    "1,"));
	assert_non_null(strstr(out, ",-5,b,"));
	assert_non_null(strstr(out, ",r 1\n2,"));
	assert_int_equal(
		t_run_cli(e.dir, "mapping history -c map.ini", &out, &err), 0);
	/* VERSION TIME CHAT SOURCE ACTOR REASON, \N for a removed row. */
	assert_non_null(strstr(out, "\t-5\t\\N\t"));
	assert_non_null(strstr(out, "\tdone\n"));
	assert_int_equal(t_run_cli(e.dir,
				   "mapping import -c map.ini "
				   "--reason seed",
				   &out, &err),
			 0);
	assert_non_null(strstr(err, "imported 1 chats"));
	assert_int_equal(
		t_run_cli(e.dir, "mapping clients -c map.ini", &out, &err), 0);
	assert_string_equal(out, "");
	assert_int_equal(t_run_cli(e.dir, "mapping set --help", &out, &err), 0);
	assert_non_null(strstr(out, "unset CHAT --reason TEXT"));
	assert_int_equal(t_run_cli(e.dir, "mapping lst -c map.ini", &out, &err),
			 2);
	assert_non_null(strstr(err, "did you mean 'list'"));
	assert_int_equal(t_run_cli(e.dir, "mapping list -c map.ini --chat x",
				   &out, &err),
			 2);
	free(t_write(e.dir, "plain.ini",
		     "[source.a]\ntype = sqlite\npath = a.db\n"));
	assert_int_equal(
		t_run_cli(e.dir, "mapping list -c plain.ini", &out, &err), 2);
	assert_non_null(strstr(err, "no [mapping] store"));
	free(out);
	free(err);
	env_close(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mapstore__init_is_idempotent),
		cmocka_unit_test(test_mapstore__set_and_unset_are_logged),
		cmocka_unit_test(
			test_mapstore__set_refused_while_chat_has_rows),
		cmocka_unit_test(
			test_mapstore__table_sections_replace_convention),
		cmocka_unit_test(test_mapstore__table_names_quoted_and_exact),
		cmocka_unit_test(test_mapstore__table_sections_always_read),
		cmocka_unit_test(test_mapstore__text_chat_column),
		cmocka_unit_test(test_mapstore__import_and_compare),
		cmocka_unit_test(test_mapstore__errors),
		cmocka_unit_test(test_mapstore__catalog_lists_tables),
		cmocka_unit_test(test_mapstore__concurrent_sets_are_gapless),
		cmocka_unit_test(test_mapstore__cli),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
