/*
 * test_migrate.c - dbr_migrate() on real SQLite files and, when the suite
 * started it (DBR_TEST_PG), the real PostgreSQL server: a folder of five
 * files (a dialect variant, a trigger body, dollar quotes) on two SQLite
 * sources and a PostgreSQL one, a read-only and a Redis source skipped;
 * a re-run applies nothing; a failing file leaves its source at the
 * version before; changed files, dirty versions, --to, dry runs,
 * transaction control refused, two handles at once.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "helpers.h"
#include "migrate.h"

static char *dir, *mig;
static char events[16384];
static size_t nev;

/* Record each event as one line: KIND SOURCE FILE-or-summary. */
static void record(void *ud, const struct dbr_migrate_event *ev)
{
	static const char *const kinds[] = { "?",      "stray",	    "applied",
					     "would",  "novariant", "changed",
					     "failed", "source",    "late" };
	size_t left = sizeof(events) - nev;
	int n;

	(void)ud;
	if (ev->kind == DBR_MIGRATE_SOURCE)
		n = snprintf(events + nev, left,
			     "source %s %lld %s %zu %zu%s%s\n", ev->source,
			     (long long)ev->version,
			     dbr_migrate_state_name(ev->state), ev->pending,
			     ev->changed, ev->reason ? ": " : "",
			     ev->reason ? ev->reason : "");
	else if (ev->kind < 1 || ev->kind > 8)
		n = snprintf(events + nev, left, "kind %d\n", ev->kind);
	else
		n = snprintf(events + nev, left, "%s %s %s\n", kinds[ev->kind],
			     ev->source ? ev->source : "-", ev->file);
	if (n > 0 && (size_t)n < left)
		nev += (size_t)n;
}

static int migrate(struct dbr *db, const char *const *sources, int64_t to,
		   unsigned flags, struct dbr_error *err)
{
	struct dbr_migrate_options o = { sizeof(o), sources, to, 0, flags };

	nev = 0;
	events[0] = '\0';
	return dbr_migrate(db, mig, &o, record, NULL, err);
}

static bool has(const char *line)
{
	return strstr(events, line) != NULL;
}

#define assert_event(line)                                                     \
	do {                                                                   \
		if (!has(line))                                                \
			fail_msg("no event '%s' in:\n%s", line, events);       \
	} while (0)

static void put(const char *name, const char *text)
{
	free(t_write(mig, name, text));
}

static int64_t sql_int(const char *db, const char *sql)
{
	char *path = t_path(dir, db);
	int64_t v = t_sqlite_int(path, sql);

	free(path);
	return v;
}

/* An integer from a source through dbroute (-1 on error). */
static int64_t src_int(struct dbr *db, const char *source, const char *sql)
{
	struct dbr_result *res = NULL;
	int64_t v = -1;

	if (dbr_query_source(db, source, sql, NULL, 0, &res, NULL))
		return -1;
	if (dbr_result_next(res) == DBR_ROW)
		v = dbr_result_int64(res, 0);
	dbr_result_free(res);
	return v;
}

static const char init_sql[] =
	"-- a comment; with a semicolon\n"
	"CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT);\n"
	"INSERT INTO t VALUES (1, 'a;b');\n";
static const char audit_sql[] = "CREATE TABLE audit (id BIGINT);\n";
static const char trigger_sqlite[] =
	"CREATE TRIGGER t_audit AFTER INSERT ON t\n"
	"BEGIN\n"
	"  INSERT INTO audit VALUES (CASE WHEN new.id > 0 THEN new.id END);\n"
	"END;\n";
static const char trigger_pg[] =
	"CREATE FUNCTION t_audit() RETURNS trigger AS $body$\n"
	"BEGIN\n"
	"  INSERT INTO audit VALUES (NEW.id); -- ; in a body\n"
	"  RETURN NEW;\n"
	"END;\n"
	"$body$ LANGUAGE plpgsql;\n"
	"CREATE TRIGGER t_audit AFTER INSERT ON t\n"
	"  FOR EACH ROW EXECUTE FUNCTION t_audit();\n";
static const char view_sql[] = "\xef\xbb\xbf"
			       "CREATE VIEW v AS SELECT id, name || '--;' AS n"
			       " FROM t;\n";
static const char seed_sql[] = "INSERT INTO t VALUES (2, 'x');\n";

/* More keys of source a (a test sets it, fresh() clears it). */
static const char *a_keys = "";

/* A configuration of sources a and b (SQLite), ro, kv, pg when given. */
static struct dbr *open_sources(const char *conninfo)
{
	char text[2048], *path;
	struct dbr *db;

	snprintf(text, sizeof(text),
		 "[database]\ndefault_source = a\n"
		 "[source.a]\ntype = sqlite\npath = a.db\n%s"
		 "[source.b]\ntype = sqlite\npath = b.db\n"
		 "[source.ro]\ntype = sqlite\npath = a.db\nreadonly = true\n"
		 "[source.kv]\ntype = redis\nport = 1\n"
		 "%s%s%s",
		 a_keys,
		 conninfo ? "[source.pg]\ntype = postgres\nconninfo = " : "",
		 conninfo ? conninfo : "", conninfo ? "\n" : "");
	path = t_write(dir, "m.ini", text);
	db = t_open(path);
	free(path);
	return db;
}

static void five_files(void)
{
	put("0001_init.sql", init_sql);
	put("0002_audit.sql", audit_sql);
	put("0003_trigger.sqlite.sql", trigger_sqlite);
	put("0003_trigger.postgres.sql", trigger_pg);
	put("04_view.sql", view_sql);
	put("0005_seed.sql", seed_sql);
	put("README.md", "not a migration\n");
}

static int setup(void **state)
{
	(void)state;
	dir = t_tmpdir();
	mig = t_path(dir, "migrations");
	assert_int_equal(mkdir(mig, 0755), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	t_rmtree(dir);
	free(dir);
	free(mig);
	return 0;
}

/* Each test starts with an empty folder and fresh database files. */
static int fresh(void **state)
{
	a_keys = "";
	teardown(state);
	return setup(state);
}

static void test_migrate__five_files_every_source(void **state)
{
	char conninfo[1024];
	bool pg = t_pg_database("dbroute_mig_lib", conninfo, sizeof(conninfo));
	struct dbr_error err;
	struct dbr *db;

	(void)state;
	five_files();
	db = open_sources(pg ? conninfo : NULL);
	if (migrate(db, NULL, 0, 0, &err))
		fail_msg("%s\n%s", err.message, events);
	assert_event("stray - README.md");
	assert_event("applied a 0003_trigger.sqlite.sql");
	assert_event("applied b 04_view.sql");
	assert_event("source a 5 ok 0 0");
	assert_event("source b 5 ok 0 0");
	assert_event("source ro -1 skipped 0 0");
	assert_event("source kv -1 skipped 0 0");
	assert_int_equal(sql_int("a.db", "SELECT count(*) FROM t"), 2);
	assert_int_equal(sql_int("b.db", "SELECT count(*) FROM audit"), 1);
	assert_int_equal(sql_int("a.db", "SELECT count(*) FROM v WHERE n = "
					 "'a;b--;'"),
			 1);
	assert_int_equal(sql_int("a.db", "SELECT count(*) FROM "
					 "dbroute_schema_version WHERE "
					 "length(sha256) = 64 AND dirty IS "
					 "NULL"),
			 5);
	if (pg) {
		assert_event("applied pg 0003_trigger.postgres.sql");
		assert_event("source pg 5 ok 0 0");
		assert_int_equal(
			src_int(db, "pg", "SELECT count(*) FROM audit"), 1);
	}
	/* Again: nothing to apply. */
	assert_int_equal(migrate(db, NULL, 0, 0, &err), DBR_OK);
	assert_null(strstr(events, "applied"));
	assert_event("source a 5 ok 0 0");
	assert_int_equal(sql_int("a.db", "SELECT count(*) FROM t"), 2);
	dbr_close(db);
}

/* File 3 fails on b: b stays at 2 with nothing of file 3; the others go
 * on to 5, and the error names the source, the file and the line. */
static void test_migrate__failing_file_leaves_previous_version(void **state)
{
	char conninfo[1024];
	bool pg = t_pg_database("dbroute_mig_fail", conninfo, sizeof(conninfo));
	struct dbr_error err;
	struct dbr *db;

	(void)state;
	put("0001_a.sql", "CREATE TABLE one (x INT);\n");
	put("0002_b.sql", "CREATE TABLE two (x INT);\n");
	put("0003_c.sql", "CREATE TABLE three (x INT);\n"
			  "INSERT INTO three VALUES (1);\n"
			  "CREATE TABLE clash (x INT);\n");
	put("0004_d.sql", "CREATE TABLE four (x INT);\n");
	put("0005_e.sql", "CREATE TABLE five (x INT);\n");
	db = open_sources(pg ? conninfo : NULL);
	assert_int_equal(dbr_query_source(db, "b", "CREATE TABLE clash (y)",
					  NULL, 0, NULL, NULL),
			 DBR_OK);
	assert_int_equal(sql_int("b.db", "SELECT count(*) FROM clash"), 0);
	assert_int_not_equal(migrate(db, NULL, 0, 0, &err), DBR_OK);
	assert_non_null(strstr(err.message, "source 'b': 0003_c.sql:3: "));
	assert_event("failed b 0003_c.sql");
	assert_event("source b 2 pending 3 0");
	assert_event("source a 5 ok 0 0");
	if (pg)
		assert_event("source pg 5 ok 0 0");
	assert_int_equal(sql_int("b.db", "SELECT count(*) FROM sqlite_master "
					 "WHERE name = 'three'"),
			 0);
	assert_int_equal(sql_int("b.db", "SELECT max(version) FROM "
					 "dbroute_schema_version"),
			 2);
	dbr_close(db);
}

static void test_migrate__changed_file_reported(void **state)
{
	const char *const only_a[] = { "a", NULL };
	struct dbr_error err;
	struct dbr *db;

	(void)state;
	put("0001_a.sql", "CREATE TABLE one (x INT);\n");
	put("0002_b.sql", "CREATE TABLE two (x INT);\n");
	db = open_sources(NULL);
	assert_int_equal(migrate(db, only_a, 0, 0, &err), DBR_OK);
	put("0001_a.sql", "CREATE TABLE one (x INT, y INT);\n");
	put("0003_c.sql", "CREATE TABLE three (x INT);\n");
	assert_int_equal(migrate(db, only_a, 0, DBR_MIGRATE_DRY_RUN, &err),
			 DBR_E_STMT);
	assert_event("changed a 0001_a.sql");
	assert_event("source a 2 changed 1 1");
	assert_int_equal(migrate(db, only_a, 0, 0, &err), DBR_E_STMT);
	assert_non_null(strstr(err.message, "source 'a': 1 applied file(s) "
					    "changed"));
	assert_int_equal(sql_int("a.db", "SELECT count(*) FROM sqlite_master "
					 "WHERE name = 'three'"),
			 0);
	assert_int_equal(
		migrate(db, only_a, 0, DBR_MIGRATE_ALLOW_CHANGED, &err),
		DBR_OK);
	assert_event("source a 3 ok 0 1");
	/* Forcing records every file up to N with its current hash. */
	{
		struct dbr_migrate_options o = { sizeof(o), only_a, 0, 3,
						 DBR_MIGRATE_FORCE_VERSION };

		assert_int_equal(dbr_migrate(db, mig, &o, NULL, NULL, &err),
				 DBR_OK);
	}
	assert_int_equal(migrate(db, only_a, 0, 0, &err), DBR_OK);
	assert_event("source a 3 ok 0 0");
	dbr_close(db);
}

static void test_migrate__to_and_dry_run(void **state)
{
	const char *const only_b[] = { "b", NULL };
	struct dbr_error err;
	struct dbr *db;
	char *path;

	(void)state;
	five_files();
	db = open_sources(NULL);
	assert_int_equal(migrate(db, only_b, 0, DBR_MIGRATE_DRY_RUN, &err),
			 DBR_OK);
	assert_event("would b 0001_init.sql");
	assert_event("would b 0005_seed.sql");
	assert_event("source b 0 pending 5 0");
	assert_null(strstr(events, "source a"));
	/* A dry run writes nothing, not even the database file. */
	path = t_path(dir, "b.db");
	assert_int_equal(access(path, F_OK), -1);
	free(path);
	assert_int_equal(migrate(db, only_b, 2, 0, &err), DBR_OK);
	assert_event("source b 2 ok 0 0");
	assert_int_equal(sql_int("b.db", "SELECT count(*) FROM sqlite_master "
					 "WHERE name = 'v'"),
			 0);
	assert_int_equal(migrate(db, only_b, 0, DBR_MIGRATE_DRY_RUN, &err),
			 DBR_OK);
	assert_event("source b 2 pending 3 0");
	assert_null(strstr(events, "would b 0002"));
	assert_int_equal(migrate(db, only_b, 0, 0, &err), DBR_OK);
	assert_event("source b 5 ok 0 0");
	dbr_close(db);
}

/* No transaction: a failure marks the version dirty at FILE:LINE; the
 * source is refused until the version is forced. */
static void test_migrate__dirty_then_forced(void **state)
{
	const char *const only_a[] = { "a", NULL };
	struct dbr_migrate_options o = { sizeof(o), only_a, 0, 2,
					 DBR_MIGRATE_FORCE_VERSION };
	struct dbr_error err;
	struct dbr *db;

	(void)state;
	put("0001_a.sql", "CREATE TABLE one (x INT);\n");
	put("0002_b.sql", "-- dbroute: no-transaction\n"
			  "CREATE TABLE two (x INT);\n"
			  "\n"
			  "INSERT INTO nowhere VALUES (1);\n");
	put("0003_c.sql", "CREATE TABLE three (x INT);\n");
	db = open_sources(NULL);
	assert_int_equal(migrate(db, only_a, 0, 0, &err), DBR_E_STMT);
	assert_non_null(strstr(err.message, "source 'a': 0002_b.sql:4: "));
	assert_event("source a 2 dirty 1 0");
	/* The statement before the failure stays: no transaction. */
	assert_int_equal(sql_int("a.db", "SELECT count(*) FROM two"), 0);
	assert_int_equal(migrate(db, only_a, 0, 0, &err), DBR_E_STMT);
	assert_non_null(
		strstr(err.message, "version 2 is dirty (0002_b.sql:4"));
	assert_null(strstr(events, "applied"));
	/* Forcing writes: never in a dry run. */
	o.flags |= DBR_MIGRATE_DRY_RUN;
	assert_int_equal(dbr_migrate(db, mig, &o, record, NULL, &err),
			 DBR_E_MISUSE);
	assert_int_equal(sql_int("a.db", "SELECT count(*) FROM "
					 "dbroute_schema_version WHERE dirty "
					 "IS NOT NULL"),
			 1);
	o.flags = DBR_MIGRATE_FORCE_VERSION;
	/* Repaired by hand, then forced to 2. */
	assert_int_equal(dbr_migrate(db, mig, &o, record, NULL, &err), DBR_OK);
	assert_int_equal(migrate(db, only_a, 0, 0, &err), DBR_OK);
	assert_event("applied a 0003_c.sql");
	assert_event("source a 3 ok 0 0");
	o.sources = NULL;
	assert_int_equal(dbr_migrate(db, mig, &o, NULL, NULL, &err),
			 DBR_E_MISUSE);
	dbr_close(db);
}

/*
 * Another process's row for version 2 appears between files 1 and 2 (put
 * there from the report callback): a failure mark stops the run.
 */
static const char *race_row, *race_later;
static pthread_t later;
static bool later_started;

/* Run SQL on a database file of the test's folder, as another process. */
static int file_exec(const char *name, const char *sql)
{
	char *path = t_path(dir, name);
	sqlite3 *c;
	int rc = sqlite3_open(path, &c);

	sqlite3_busy_timeout(c, 5000);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(c, sql, NULL, NULL, NULL);
	sqlite3_close(c);
	free(path);
	return rc;
}

static int a_exec(const char *sql)
{
	return file_exec("a.db", sql);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The other process finishes 300 ms later. */
static void *finish_later(void *arg)
{
	const struct timespec ts = { 0, 300 * 1000 * 1000 };

	(void)arg;
	nanosleep(&ts, NULL);
	return (void *)(intptr_t)a_exec(race_later);
}

static void record_then_race(void *ud, const struct dbr_migrate_event *ev)
{
	record(ud, ev);
	if (ev->kind != DBR_MIGRATE_APPLIED || ev->version != 1)
		return;
	assert_int_equal(a_exec(race_row), SQLITE_OK);
	if (race_later) {
		assert_int_equal(
			pthread_create(&later, NULL, finish_later, NULL), 0);
		later_started = true;
	}
}

static void test_migrate__raced_dirty_row_stops(void **state)
{
	const char *const only_a[] = { "a", NULL };
	struct dbr_migrate_options o = { sizeof(o), only_a, 0, 0, 0 };
	struct dbr_error err;
	struct dbr *db;

	(void)state;
	put("0001_a.sql", "CREATE TABLE one (x INT);\n");
	put("0002_b.sql", "-- dbroute: no-transaction\n"
			  "CREATE TABLE two (x INT);\n");
	put("0003_c.sql", "CREATE TABLE three (x INT);\n");
	race_row = "INSERT INTO dbroute_schema_version VALUES (2, "
		   "'0002_b.sql', 'x', 'now', '0002_b.sql:2: boom')";
	db = open_sources(NULL);
	nev = 0;
	assert_int_equal(dbr_migrate(db, mig, &o, record_then_race, NULL, &err),
			 DBR_E_STMT);
	assert_non_null(strstr(err.message, "version 2 is dirty (0002_b"));
	assert_null(strstr(events, "0003_c.sql"));
	assert_event("source a 2 dirty");
	assert_int_equal(sql_int("a.db", "SELECT count(*) FROM "
					 "sqlite_master WHERE name = 'three'"),
			 0);
	dbr_close(db);
}

/*
 * The other process is still applying version 2 (its "being applied"
 * mark): the run waits for it and fails with the failure it leaves.
 */
static void test_migrate__raced_running_row_waited_for(void **state)
{
	const char *const only_a[] = { "a", NULL };
	struct dbr_migrate_options o = { sizeof(o), only_a, 0, 0, 0 };
	struct dbr_error err;
	struct dbr *db;
	void *res;

	(void)state;
	put("0001_a.sql", "CREATE TABLE one (x INT);\n");
	put("0002_b.sql", "-- dbroute: no-transaction\n"
			  "CREATE TABLE two (x INT);\n");
	put("0003_c.sql", "CREATE TABLE three (x INT);\n");
	race_row = "INSERT INTO dbroute_schema_version VALUES (2, "
		   "'0002_b.sql', 'x', 'now', 'being applied')";
	race_later = "UPDATE dbroute_schema_version SET dirty = "
		     "'0002_b.sql:2: boom' WHERE version = 2";
	later_started = false;
	db = open_sources(NULL);
	nev = 0;
	assert_int_equal(dbr_migrate(db, mig, &o, record_then_race, NULL, &err),
			 DBR_E_STMT);
	assert_true(later_started);
	assert_int_equal(pthread_join(later, &res), 0);
	assert_int_equal((intptr_t)res, SQLITE_OK);
	race_later = NULL;
	assert_non_null(strstr(err.message, "version 2 is dirty (0002_b"));
	assert_null(strstr(events, "0003_c.sql"));
	dbr_close(db);
}

static void test_migrate__tx_control_refused_when_planning(void **state)
{
	const char *const only_a[] = { "a", NULL };
	struct dbr_error err;
	struct dbr *db;

	(void)state;
	put("0001_a.sql", "CREATE TABLE one (x INT);\n");
	put("0002_b.sql", "CREATE TABLE two (x INT);\n"
			  "/* ; */ COMMIT;\n");
	db = open_sources(NULL);
	assert_int_equal(migrate(db, only_a, 0, 0, &err), DBR_E_STMT);
	assert_non_null(strstr(err.message, "source 'a': 0002_b.sql:2: "
					    "transaction control is refused"));
	/* Refused before anything ran, file 1 included. */
	assert_int_equal(sql_int("a.db", "SELECT count(*) FROM sqlite_master "
					 "WHERE name = 'one'"),
			 0);
	put("0002_b.sql", "CREATE TABLE two (x INT);\n'unterminated;\n");
	assert_int_equal(migrate(db, only_a, 0, 0, &err), DBR_E_STMT);
	assert_string_equal(err.message, "source 'a': 0002_b.sql:2: "
					 "unterminated quoted string");
	dbr_close(db);
}

static void test_migrate__folder_errors(void **state)
{
	struct dbr__migdir d;
	struct dbr_error err;
	struct dbr *db;

	(void)state;
	put("0001_a.sql", "SELECT 1;\n");
	put("1_b.sql", "SELECT 2;\n");
	assert_int_equal(dbr__migdir_read(mig, &d, NULL, NULL, &err),
			 DBR_E_CONFIG);
	assert_non_null(strstr(err.message, "have the same number"));
	{
		char *p = t_path(mig, "1_b.sql");

		assert_int_equal(unlink(p), 0);
		free(p);
	}
	put("0002_x.sqlite.sql", "SELECT 2;\n");
	put("0002_x.sql", "SELECT 2;\n");
	put("0003_only.postgres.sql", "SELECT 3;\n");
	put("99999999999999999999_big.txt", "");
	put("1_x.txt", "");
	put("0004_bad.Type.sql", "");
	assert_int_equal(dbr__migdir_read(mig, &d, NULL, NULL, &err), DBR_OK);
	assert_int_equal(d.n, 4);
	assert_string_equal(d.files[1].name, "0002_x.sql");
	assert_string_equal(d.files[2].type, "sqlite");
	dbr__migdir_release(&d);
	db = open_sources(NULL);
	{
		const char *const only_a[] = { "a", NULL };

		assert_int_equal(migrate(db, only_a, 0, 0, &err), DBR_OK);
		assert_event("novariant a 0003_only.postgres.sql");
		assert_event("stray - 0004_bad.Type.sql");
		assert_event("source a 2 ok 0 0");
		assert_int_equal(migrate(db,
					 (const char *const[]){ "zz", NULL }, 0,
					 0, &err),
				 DBR_E_NOTFOUND);
	}
	dbr_close(db);
	assert_int_equal(dbr_migrate(NULL, mig, NULL, NULL, NULL, &err),
			 DBR_E_MISUSE);
	put("99999999999999999999_big.sql", "");
	assert_int_equal(dbr__migdir_read(mig, &d, NULL, NULL, &err),
			 DBR_E_CONFIG);
	assert_non_null(strstr(err.message, "the number is too large"));
	/* A FIFO named like a migration is refused, not opened to block. */
	{
		char *p = t_path(mig, "99999999999999999999_big.sql");

		assert_int_equal(unlink(p), 0);
		free(p);
		p = t_path(mig, "0005_fifo.sql");
		assert_int_equal(mkfifo(p, 0644), 0);
		free(p);
	}
	assert_int_equal(dbr__migdir_read(mig, &d, NULL, NULL, &err),
			 DBR_E_CONFIG);
	assert_non_null(strstr(err.message, "0005_fifo.sql: cannot read: "
					    "not a regular file"));
}

struct racer {
	char *config;
	int rc;
	struct dbr_error err;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	struct dbr *db = t_open(r->config);

	r->rc = dbr_migrate(db, mig, NULL, NULL, NULL, &r->err);
	dbr_close(db);
	return NULL;
}

/* Two handles (each its own pools, as two processes) at once: each file
 * runs once on each source. */
static void test_migrate__two_at_once(void **state)
{
	char conninfo[1024], text[2048];
	bool pg = t_pg_database("dbroute_mig_race", conninfo, sizeof(conninfo));
	struct racer r[2];
	pthread_t th[2];
	struct dbr *db;
	int i;

	(void)state;
	put("0001_a.sql", "CREATE TABLE log (f TEXT);\n");
	for (i = 2; i <= 30; i++) {
		char name[32], body[128];

		snprintf(name, sizeof(name), "%04d_f.sql", i);
		snprintf(body, sizeof(body),
			 "CREATE TABLE t%d (x INT);\n"
			 "INSERT INTO log VALUES ('%d');\n",
			 i, i);
		put(name, body);
	}
	snprintf(text, sizeof(text),
		 "[database]\ndefault_source = a\n"
		 "[source.a]\ntype = sqlite\npath = a.db\ntimeout = 30\n"
		 "%s%s%s",
		 pg ? "[source.pg]\ntype = postgres\nconninfo = " : "",
		 pg ? conninfo : "", pg ? "\n" : "");
	r[0].config = t_write(dir, "race.ini", text);
	r[1].config = r[0].config;
	for (i = 0; i < 2; i++) {
		memset(&r[i].err, 0, sizeof(r[i].err));
		assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
	}
	for (i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		if (r[i].rc)
			fail_msg("racer %d: %s", i, r[i].err.message);
	}
	assert_int_equal(sql_int("a.db", "SELECT count(*) FROM log"), 29);
	assert_int_equal(sql_int("a.db", "SELECT count(DISTINCT f) FROM log"),
			 29);
	if (pg) {
		db = t_open(r[0].config);
		assert_int_equal(src_int(db, "pg", "SELECT count(*) FROM log"),
				 29);
		dbr_close(db);
	}
	free(r[0].config);
}

/*
 * A dry run (migrate status) never writes: a database that does not
 * exist is not created, all its files are pending; an existing one is
 * read as it is (not switched to WAL).
 */
static void test_migrate__dry_run_creates_nothing(void **state)
{
	const char *const only_b[] = { "b", NULL };
	struct dbr_error err;
	struct dbr *db;
	char *path;

	(void)state;
	five_files();
	db = open_sources(NULL);
	path = t_path(dir, "b.db");
	assert_int_equal(migrate(db, only_b, 0, DBR_MIGRATE_DRY_RUN, &err),
			 DBR_OK);
	assert_event("would b 0001_init.sql");
	assert_event("source b 0 pending 5 0: the database does not exist");
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(file_exec("b.db", "CREATE TABLE x (a INT)"),
			 SQLITE_OK);
	assert_int_equal(migrate(db, only_b, 0, DBR_MIGRATE_DRY_RUN, &err),
			 DBR_OK);
	assert_event("source b 0 pending 5 0\n");
	assert_int_equal(sql_int("b.db", "SELECT journal_mode = 'wal' FROM "
					 "pragma_journal_mode"),
			 0);
	assert_int_equal(sql_int("b.db", "SELECT count(*) FROM sqlite_master"),
			 1);
	free(path);
	dbr_close(db);
}

/* A file of the test's folder, whole: its bytes and *n their count. */
static char *slurp(const char *name, size_t *n)
{
	char *path = t_path(dir, name), *buf = malloc(1 << 20);
	FILE *f = fopen(path, "rb");

	if (!f)
		fail_msg("no file %s", name);
	assert_non_null(buf);
	*n = fread(buf, 1, 1 << 20, f);
	assert_true(*n < 1 << 20);
	fclose(f);
	free(path);
	return buf;
}

/*
 * A dry run writes nothing into a database that exists either: a WAL file
 * its writer left unmerged (killed, or no checkpoint on close) stays as
 * it was, and so does the main file (closing a writable connection used
 * to checkpoint the WAL into it).
 */
static void test_migrate__dry_run_leaves_wal(void **state)
{
	const char *const only_a[] = { "a", NULL };
	struct dbr_error err;
	struct dbr *db;
	sqlite3 *c;
	char *path, *main0, *wal0, *main1, *wal1;
	size_t nmain0, nwal0, nmain1, nwal1;

	(void)state;
	five_files();
	db = open_sources(NULL);
	assert_int_equal(migrate(db, only_a, 0, 0, &err), DBR_OK);
	dbr_close(db);
	path = t_path(dir, "a.db");
	assert_int_equal(sqlite3_open(path, &c), SQLITE_OK);
	assert_int_equal(
		sqlite3_db_config(c, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL),
		SQLITE_OK);
	assert_int_equal(sqlite3_exec(c,
				      "PRAGMA journal_mode = WAL; "
				      "PRAGMA wal_autocheckpoint = 0; "
				      "CREATE TABLE data (x); "
				      "INSERT INTO data VALUES ('x')",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(c);
	main0 = slurp("a.db", &nmain0);
	wal0 = slurp("a.db-wal", &nwal0);
	assert_true(nwal0 > 0);
	db = open_sources(NULL);
	assert_int_equal(migrate(db, only_a, 0, DBR_MIGRATE_DRY_RUN, &err),
			 DBR_OK);
	assert_event("source a 5 ok 0 0");
	dbr_close(db);
	main1 = slurp("a.db", &nmain1);
	wal1 = slurp("a.db-wal", &nwal1);
	assert_int_equal(nmain1, nmain0);
	assert_memory_equal(main1, main0, nmain0);
	assert_int_equal(nwal1, nwal0);
	assert_memory_equal(wal1, wal0, nwal0);
	free(main0);
	free(wal0);
	free(main1);
	free(wal1);
	free(path);
}

/*
 * A version table that exists but cannot be read is an error, never
 * version 0 (the missing table is told by the catalog or SQLSTATE, not by
 * a message naming the table).
 */
static void test_migrate__unreadable_version_table(void **state)
{
	const char *const only_a[] = { "a", NULL };
	struct dbr_error err;
	struct dbr *db;

	(void)state;
	put("0001_a.sql", "CREATE TABLE one (x INT);\n");
	assert_int_equal(a_exec("CREATE VIEW dbroute_schema_version AS "
				"SELECT * FROM dbroute_schema_version_old"),
			 SQLITE_OK);
	db = open_sources(NULL);
	assert_int_not_equal(migrate(db, only_a, 0, DBR_MIGRATE_DRY_RUN, &err),
			     DBR_OK);
	assert_event("source a -1 error");
	assert_int_not_equal(migrate(db, only_a, 0, 0, &err), DBR_OK);
	assert_null(strstr(events, "applied a"));
	assert_int_equal(sql_int("a.db", "SELECT count(*) FROM sqlite_master "
					 "WHERE name = 'one'"),
			 0);
	dbr_close(db);
}

static char logged[4096];

static void log_line(void *ud, int level, const char *source, const char *msg)
{
	size_t n = strlen(logged);

	(void)ud;
	snprintf(logged + n, sizeof(logged) - n, "%s %s %s\n",
		 dbr_log_level_name(level), source ? source : "-", msg);
}

/* The sources of open_sources(NULL) on a handle that logs into logged. */
static struct dbr *open_logged(void)
{
	struct dbr_open_options o = { .size = sizeof(o),
				      .log_fn = log_line,
				      .log_level = DBR_LOG_WARN };
	char *path;
	struct dbr *db;

	dbr_close(open_sources(NULL));
	path = t_path(dir, "m.ini");
	logged[0] = '\0';
	assert_int_equal(dbr_open(&db, path, &o, NULL), DBR_OK);
	free(path);
	return db;
}

/*
 * A late file (numbered below the applied version, never applied) is
 * reported and passed by, in a dry run and a run, never applied out of
 * order nor counted pending.
 */
static void test_migrate__late_file_reported(void **state)
{
	const char *const only_a[] = { "a", NULL };
	struct dbr_error err;
	struct dbr *db;

	(void)state;
	put("0001_a.sql", "CREATE TABLE one (x INT);\n");
	put("0003_c.sql", "CREATE TABLE three (x INT);\n");
	db = open_sources(NULL);
	assert_int_equal(migrate(db, only_a, 0, 0, &err), DBR_OK);
	assert_event("source a 3 ok 0 0");
	put("0002_b.sql", "CREATE TABLE two (x INT);\n");
	put("0004_d.sql", "CREATE TABLE four (x INT);\n");
	assert_int_equal(migrate(db, only_a, 0, DBR_MIGRATE_DRY_RUN, &err),
			 DBR_OK);
	assert_event("late a 0002_b.sql");
	assert_null(strstr(events, "would a 0002_b.sql"));
	/* Late shows in the state, before pending. */
	assert_event("source a 3 late 1 0");
	assert_int_equal(migrate(db, only_a, 0, 0, &err), DBR_OK);
	assert_event("late a 0002_b.sql");
	assert_event("applied a 0004_d.sql");
	assert_null(strstr(events, "applied a 0002_b.sql"));
	assert_event("source a 4 late 0 0");
	assert_int_equal(sql_int("a.db", "SELECT count(*) FROM sqlite_master "
					 "WHERE name = 'two'"),
			 0);
	dbr_close(db);
	/* Without a callback, the warning is logged. */
	db = open_logged();
	assert_int_equal(dbr_migrate(db, mig, NULL, NULL, NULL, &err), DBR_OK);
	assert_non_null(strstr(logged, "warn a migrations: late file "
				       "'0002_b.sql': below version 4"));
	dbr_close(db);
}

/*
 * Another process still applying a version when the source's timeout
 * passes: the run fails with DBR_E_TIMEOUT and says so, both when the row
 * is there at the start and when it appears on the conflict.
 */
static void test_migrate__applying_row_times_out(void **state)
{
	const char *const only_a[] = { "a", NULL };
	struct dbr_migrate_options o = { sizeof(o), only_a, 0, 0, 0 };
	struct dbr_error err;
	struct dbr *db;
	double t0;

	(void)state;
	a_keys = "timeout = 0.5\n";
	put("0001_a.sql", "CREATE TABLE one (x INT);\n");
	put("0002_b.sql", "-- dbroute: no-transaction\n"
			  "CREATE TABLE two (x INT);\n");
	db = open_sources(NULL);
	race_row = "INSERT INTO dbroute_schema_version VALUES (2, "
		   "'0002_b.sql', 'x', 'now', 'being applied')";
	race_later = NULL;
	nev = 0;
	t0 = now_s();
	assert_int_equal(dbr_migrate(db, mig, &o, record_then_race, NULL, &err),
			 DBR_E_TIMEOUT);
	assert_true(now_s() - t0 >= 0.5);
	assert_string_equal(err.message,
			    "source 'a': 0002_b.sql: another process is "
			    "still applying version 2 after 0.5s (being "
			    "applied): run migrate again when it is done (if "
			    "that process died, repair the source by hand, "
			    "then record the version it is at with "
			    "--force-version)");
	/* The same row read at the start of the next run. */
	assert_int_equal(migrate(db, only_a, 0, 0, &err), DBR_E_TIMEOUT);
	assert_non_null(strstr(err.message,
			       "source 'a': 0002_b.sql: another process is "
			       "still applying version 2 after 0.5s"));
	assert_null(strstr(events, "applied"));
	dbr_close(db);
}

/* Process pid's start time since boot, in clock ticks (/proc). */
static unsigned long long start_of(long pid)
{
	char path[64], text[1024], *p;
	unsigned long long start = 0;
	FILE *f;
	size_t n;
	int i;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	p = strrchr(text, ')');
	assert_non_null(p);
	for (i = 0; i < 20 && p; i++)
		p = strchr(p + 1, ' ');
	assert_non_null(p);
	assert_int_equal(sscanf(p, " %llu", &start), 1);
	return start;
}

/* Mark version 2 of a.db as being applied by pid, started at start. */
static void mark_applying(long pid, unsigned long long start)
{
	char host[256] = "", sql[512];

	assert_int_equal(gethostname(host, sizeof(host)), 0);
	snprintf(sql, sizeof(sql),
		 "DELETE FROM dbroute_schema_version WHERE version = 2; "
		 "INSERT INTO dbroute_schema_version VALUES (2, '0002_b.sql', "
		 "'x', 'now', 'being applied by host %s pid %ld start %llu')",
		 host, pid, start);
	assert_int_equal(a_exec(sql), SQLITE_OK);
}

/*
 * A process that died applying a no-transaction file leaves its version
 * 'being applied' by its host, pid and start time: a later run on the
 * same host reads it as dirty at once (pid gone, or reused by a process
 * started at another time), with status's advice; a live owner is waited
 * for.
 */
static void test_migrate__dead_owner_reads_dirty(void **state)
{
	const char *const only_a[] = { "a", NULL };
	struct dbr_error err;
	struct dbr *db;
	pid_t child;
	int status;

	(void)state;
	a_keys = "timeout = 0.5\n";
	put("0001_a.sql", "CREATE TABLE one (x INT);\n");
	put("0002_b.sql", "-- dbroute: no-transaction\n"
			  "CREATE TABLE two (x INT);\n");
	db = open_sources(NULL);
	assert_int_equal(migrate(db, only_a, 1, 0, &err), DBR_OK);
	/* Our own pid, but another start time: a reused pid. */
	mark_applying((long)getpid(), start_of((long)getpid()) + 1);
	assert_int_equal(migrate(db, only_a, 0, 0, &err), DBR_E_STMT);
	if (!strstr(err.message, "version 2 is dirty") ||
	    !strstr(err.message, "no longer running") ||
	    !strstr(err.message, "--force-version"))
		fail_msg("%s", err.message);
	assert_int_equal(migrate(db, only_a, 0, DBR_MIGRATE_DRY_RUN, &err),
			 DBR_E_STMT);
	assert_event("source a 2 dirty");
	/* A pid that is gone. */
	child = fork();
	assert_true(child >= 0);
	if (!child)
		_exit(0);
	assert_int_equal(waitpid(child, &status, 0), child);
	mark_applying((long)child, 1);
	assert_int_equal(migrate(db, only_a, 0, 0, &err), DBR_E_STMT);
	assert_non_null(strstr(err.message, "no longer running"));
	/* A live owner is waited for, up to the timeout. */
	mark_applying((long)getpid(), start_of((long)getpid()));
	assert_int_equal(migrate(db, only_a, 0, 0, &err), DBR_E_TIMEOUT);
	assert_null(strstr(events, "applied"));
	dbr_close(db);
}

/*
 * PostgreSQL: a version table the role may not read (SQLSTATE 42501, its
 * message naming the table) is an error, never version 0; a missing one
 * (42P01) is version 0.
 */
static void test_migrate__pg_permission_is_no_version(void **state)
{
	const char *const only_pg[] = { "pg", NULL };
	char conninfo[1024], cmd[1536];
	struct dbr_error err;
	struct dbr *db;

	(void)state;
	if (!t_pg_database("dbroute_mig_perm", conninfo, sizeof(conninfo)))
		skip();
	put("0001_a.sql", "CREATE TABLE one (x INT);\n");
	snprintf(cmd, sizeof(cmd),
		 "PGOPTIONS='-c client_min_messages=warning' psql -X -q '%s' "
		 "-c 'DROP ROLE IF EXISTS dbr_mig_noperm' "
		 "-c 'CREATE ROLE dbr_mig_noperm LOGIN' >/dev/null",
		 conninfo);
	assert_int_equal(system(cmd), 0);
	db = open_sources(conninfo);
	assert_int_equal(migrate(db, only_pg, 0, DBR_MIGRATE_DRY_RUN, &err),
			 DBR_OK);
	assert_event("source pg 0 pending 1 0");
	dbr_close(db);
	snprintf(cmd, sizeof(cmd),
		 "psql -X -q '%s' -c 'CREATE TABLE dbroute_schema_version "
		 "(version BIGINT PRIMARY KEY, file TEXT NOT NULL, sha256 TEXT "
		 "NOT NULL, applied_at TEXT NOT NULL, dirty TEXT)' >/dev/null",
		 conninfo);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s user=dbr_mig_noperm", conninfo);
	db = open_sources(cmd);
	assert_int_not_equal(migrate(db, only_pg, 0, DBR_MIGRATE_DRY_RUN, &err),
			     DBR_OK);
	assert_event("source pg -1 error");
	assert_string_equal(err.sqlstate, "42501");
	assert_int_not_equal(migrate(db, only_pg, 0, 0, &err), DBR_OK);
	assert_null(strstr(events, "applied"));
	dbr_close(db);
}

/*
 * Options of any size from the first released one (0.3's, ending at
 * `flags`) up to this library's are taken, the rest read as zero; a
 * shorter one is misuse.
 */
static void test_migrate__options_sizes(void **state)
{
	struct dbr_migrate_options o = { 0, NULL, 1, 0, 0 };
	struct dbr_error err;
	struct dbr *db;

	(void)state;
	put("0001_a.sql", "CREATE TABLE one (x INT);\n");
	put("0002_b.sql", "CREATE TABLE two (x INT);\n");
	db = open_sources(NULL);
	o.size = offsetof(struct dbr_migrate_options, flags) + sizeof(o.flags);
	nev = 0;
	assert_int_equal(dbr_migrate(db, mig, &o, record, NULL, &err), DBR_OK);
	/* Its `to` was read: version 2 is left for later. */
	assert_event("source a 1 ok 0 0");
	assert_null(strstr(events, "0002_b.sql"));
	o.size = offsetof(struct dbr_migrate_options, flags);
	assert_int_equal(dbr_migrate(db, mig, &o, record, NULL, &err),
			 DBR_E_MISUSE);
	dbr_close(db);
}

static void test_migrate__split_api(void **state)
{
	static const char script[] =
		"\xef\xbb\xbf-- head\nSELECT 1;\nBEGIN;\n"
		"CREATE TRIGGER x AFTER INSERT ON t BEGIN SELECT 1; END;";
	struct dbr_script_stmt *st;
	struct dbr_error err;
	struct dbr *db;
	size_t n;

	(void)state;
	db = open_sources(NULL);
	assert_int_equal(dbr_script_split(db, "a", script, strlen(script), &st,
					  &n, &err),
			 DBR_OK);
	assert_int_equal(n, 3);
	assert_int_equal(st[0].line, 2);
	assert_memory_equal(script + st[0].start, "SELECT 1", 8);
	assert_true(st[1].tx_control);
	assert_false(st[0].tx_control);
	assert_int_equal(st[2].line, 4);
	assert_int_equal(script[st[2].end - 1], 'D');
	dbr_free(st);
	assert_int_equal(dbr_script_split(db, "kv", "GET x", 5, &st, &n, &err),
			 DBR_E_UNSUPPORTED);
	assert_int_equal(dbr_script_split(db, NULL, "SELECT 1;\n\n'x", 13, &st,
					  &n, &err),
			 DBR_E_STMT);
	/* 0.3's contract: no statements, the line in the message. */
	assert_string_equal(err.message, "line 3: unterminated quoted string");
	assert_string_equal(err.source, "a");
	assert_int_equal(n, 0);
	assert_null(st);
	dbr_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_migrate__five_files_every_source,
				       fresh),
		cmocka_unit_test_setup(
			test_migrate__failing_file_leaves_previous_version,
			fresh),
		cmocka_unit_test_setup(test_migrate__changed_file_reported,
				       fresh),
		cmocka_unit_test_setup(test_migrate__to_and_dry_run, fresh),
		cmocka_unit_test_setup(test_migrate__dirty_then_forced, fresh),
		cmocka_unit_test_setup(test_migrate__raced_dirty_row_stops,
				       fresh),
		cmocka_unit_test_setup(
			test_migrate__raced_running_row_waited_for, fresh),
		cmocka_unit_test_setup(
			test_migrate__tx_control_refused_when_planning, fresh),
		cmocka_unit_test_setup(test_migrate__folder_errors, fresh),
		cmocka_unit_test_setup(test_migrate__two_at_once, fresh),
		cmocka_unit_test_setup(test_migrate__split_api, fresh),
		cmocka_unit_test_setup(test_migrate__options_sizes, fresh),
		cmocka_unit_test_setup(test_migrate__dry_run_creates_nothing,
				       fresh),
		cmocka_unit_test_setup(test_migrate__unreadable_version_table,
				       fresh),
		cmocka_unit_test_setup(test_migrate__late_file_reported, fresh),
		cmocka_unit_test_setup(test_migrate__dry_run_leaves_wal, fresh),
		cmocka_unit_test_setup(test_migrate__dead_owner_reads_dirty,
				       fresh),
		cmocka_unit_test_setup(test_migrate__applying_row_times_out,
				       fresh),
		cmocka_unit_test_setup(
			test_migrate__pg_permission_is_no_version, fresh),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
