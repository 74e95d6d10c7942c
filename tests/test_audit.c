/*
 * test_audit.c - the run-time audit trail: the hook and the JSON-lines
 * file receive diverted operations and writes to named sources; a file
 * that cannot be written never blocks an operation and is counted.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "audit.h"
#include "helpers.h"

/* What the hook saw, copied (the event is borrowed during the call). */
struct seen {
	int kind;
	char source[DBR_NAME_SIZE];
	char to[DBR_NAME_SIZE];
	uint64_t count;
};

#define SEEN_MAX 256

struct hook {
	pthread_mutex_t mu;
	struct seen ev[SEEN_MAX];
	size_t n;
	uint64_t diverted; /* the sum of DIVERTED counts */
};

static void on_audit(void *ud, const struct dbr_audit_event *ev)
{
	struct hook *h = ud;
	struct seen *s;

	assert_int_equal(ev->size, sizeof(*ev));
	assert_true(ev->time_ms > 1700000000000LL);
	pthread_mutex_lock(&h->mu);
	if (ev->kind == DBR_AUDIT_DIVERTED)
		h->diverted += ev->count;
	if (h->n < SEEN_MAX) {
		s = &h->ev[h->n++];
		memset(s, 0, sizeof(*s));
		s->kind = ev->kind;
		snprintf(s->source, sizeof(s->source), "%s",
			 ev->source ? ev->source : "");
		snprintf(s->to, sizeof(s->to), "%s", ev->to ? ev->to : "");
		s->count = ev->count;
	}
	pthread_mutex_unlock(&h->mu);
}

static _Atomic int audit_warnings;

/* Counts the "audit file" warnings (and stays quiet otherwise). */
static void on_log(void *ud, int level, const char *source, const char *msg)
{
	(void)ud;
	(void)source;
	if (level == DBR_LOG_WARN && strstr(msg, "audit file"))
		audit_warnings++;
}

/*
 * A handle on dir/name: chat 1 is mapped to a PostgreSQL source at a
 * listener that closes every connection (down, diverted to `main` for a
 * minute), `main` is SQLite with table t; `audit` is the [audit] section's
 * file line, or "".
 */
static struct dbr *open_audited(const char *dir, struct t_listener *l,
				const char *audit, struct hook *h)
{
	struct dbr_open_options o = { .size = sizeof(o),
				      .log_fn = on_log,
				      .audit_fn = h ? on_audit : NULL,
				      .audit_ud = h };
	char text[1024], *path;
	struct dbr_error err;
	struct dbr *db = NULL;

	snprintf(text, sizeof(text),
		 "[database]\ndefault_source = main\nretry_interval = 60\n"
		 "[source.main]\ntype = sqlite\npath = main.db\n"
		 "[source.pg]\ntype = postgres\n"
		 "conninfo = host=127.0.0.1 port=%d sslmode=disable "
		 "gssencmode=disable\ntimeout = 5\n"
		 "[chat_mapping]\n1 = pg\n"
		 "%s%s\n",
		 l ? t_listener_port(l) : 1, *audit ? "[audit]\nfile = " : "",
		 audit);
	path = t_write(dir, "audit.ini", text);
	if (dbr_open(&db, path, &o, &err))
		fail_msg("dbr_open: %s", err.message);
	free(path);
	t_exec(db, 2, "CREATE TABLE IF NOT EXISTS t(x)", NULL, 0);
	return db;
}

/* The lines of a file parsed as JSON objects (a real parser: jansson). */
static size_t read_records(const char *path, json_t **out, size_t cap)
{
	char *text = t_read(path), *line, *save = NULL;
	json_error_t jerr;
	size_t n = 0;

	assert_non_null(text);
	assert_true(!*text || text[strlen(text) - 1] == '\n');
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);

		if (!o)
			fail_msg("not JSON: %s (%s)", line, jerr.text);
		assert_true(json_is_object(o));
		assert_true(n < cap);
		out[n++] = o;
	}
	free(text);
	return n;
}

static const char *str_of(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void free_records(json_t **r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		json_decref(r[i]);
}

/*
 * Operations diverted by the fallback policy and statements that wrote
 * on a named source reach the hook and the file (relative to the INI's
 * folder, not the working one) alike; a read on a named source and a
 * chat's own statement are not audited.
 */
static void test_audit__hook_and_file(void **state)
{
	struct t_listener *l = t_listener_start();
	struct hook h = { .mu = PTHREAD_MUTEX_INITIALIZER };
	char *dir = t_tmpdir(), *file = t_path(dir, "audit.jsonl");
	struct dbr_audit_stats st = { .size = sizeof(st) };
	struct dbr_result *res;
	json_t *rec[16];
	struct dbr *db;
	size_t n, i;

	(void)state;
	db = open_audited(dir, l, "audit.jsonl", &h);
	for (i = 0; i < 5; i++)
		t_exec(db, 1, "INSERT INTO t VALUES (1)", NULL, 0);
	assert_int_equal(dbr_query_source(db, "main", "SELECT * FROM t", NULL,
					  0, NULL, NULL),
			 DBR_OK);
	assert_int_equal(dbr_query_source(db, "main",
					  "INSERT INTO t VALUES (2)", NULL, 0,
					  NULL, NULL),
			 DBR_OK);
	/* With a result: audited when the statement ends, at its free. */
	assert_int_equal(
		dbr_query_source(db, "main",
				 "INSERT INTO t VALUES (3) RETURNING x", NULL,
				 0, &res, NULL),
		DBR_OK);
	assert_int_equal(h.n, 2);
	dbr_result_free(res);
	assert_int_equal(dbr_audit_stats(db, &st), DBR_OK);
	assert_int_equal(st.events, 3);
	assert_int_equal(st.written, 3);
	assert_int_equal(st.failed, 0);
	dbr_close(db); /* the 4 diversions not yet counted: one more event */

	assert_int_equal(h.n, 4);
	assert_int_equal(h.ev[0].kind, DBR_AUDIT_DIVERTED);
	assert_string_equal(h.ev[0].source, "pg");
	assert_string_equal(h.ev[0].to, "main");
	assert_int_equal(h.ev[0].count, 1);
	assert_int_equal(h.ev[1].kind, DBR_AUDIT_EXPLICIT_WRITE);
	assert_string_equal(h.ev[1].source, "main");
	assert_int_equal(h.ev[2].kind, DBR_AUDIT_EXPLICIT_WRITE);
	assert_int_equal(h.ev[3].kind, DBR_AUDIT_DIVERTED);
	assert_int_equal(h.ev[3].count, 4);
	assert_int_equal(h.diverted, 5);

	n = read_records(file, rec, 16);
	assert_int_equal(n, 4);
	for (i = 0; i < n; i++) {
		assert_string_equal(str_of(rec[i], "event"),
				    dbr_audit_kind_name(h.ev[i].kind));
		assert_string_equal(str_of(rec[i], "source"), h.ev[i].source);
		assert_true(json_integer_value(json_object_get(
				    rec[i], "pid")) == (json_int_t)getpid());
		assert_non_null(strchr(str_of(rec[i], "time"), 'T'));
	}
	assert_string_equal(str_of(rec[0], "to"), "main");
	assert_int_equal(json_integer_value(json_object_get(rec[3], "count")),
			 4);
	free_records(rec, n);
	t_listener_stop(l);
	t_rmtree(dir);
	free(file);
	free(dir);
}

/* Whether the driver tracks writes: a read on a named PostgreSQL source
 * is not audited (libpq alone cannot tell; the driver asks the server). */
static void test_audit__explicit_write_postgres(void **state)
{
	struct hook h = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct dbr_open_options o = { .size = sizeof(o),
				      .audit_fn = on_audit,
				      .audit_ud = &h };
	char conninfo[512], text[1024], *dir, *path;
	struct dbr_error err;
	struct dbr *db = NULL;

	(void)state;
	if (!t_pg_database("dbr_audit", conninfo, sizeof(conninfo))) {
		t_need_server_or_skip("DBR_TEST_PG", "PostgreSQL");
		return;
	}
	dir = t_tmpdir();
	snprintf(text, sizeof(text),
		 "[source.pg]\ntype = postgres\nconninfo = %s\ntimeout = 5\n",
		 conninfo);
	path = t_write(dir, "pg.ini", text);
	if (dbr_open(&db, path, &o, &err))
		fail_msg("dbr_open: %s", err.message);
	assert_int_equal(dbr_query_source(db, "pg", "CREATE TABLE t (x int)",
					  NULL, 0, NULL, &err),
			 DBR_OK);
	assert_int_equal(h.n, 1);
	assert_int_equal(dbr_query_source(db, "pg", "SELECT count(*) FROM t",
					  NULL, 0, NULL, &err),
			 DBR_OK);
	assert_int_equal(h.n, 1);
	assert_int_equal(dbr_query_source(db, "pg", "INSERT INTO t VALUES (1)",
					  NULL, 0, NULL, &err),
			 DBR_OK);
	assert_int_equal(h.n, 2);
	/* Routed, not named: not audited. */
	t_exec(db, 7, "INSERT INTO t VALUES (2)", NULL, 0);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.ev[1].kind, DBR_AUDIT_EXPLICIT_WRITE);
	assert_string_equal(h.ev[1].source, "pg");
	dbr_close(db);
	t_rmtree(dir);
	free(path);
	free(dir);
}

/* Run explicit writes until `done` says so (at most max); returns how
 * many ran. Every one must succeed: the file never fails an operation. */
static int write_until(struct dbr *db, int max, bool (*done)(struct dbr *))
{
	int i;

	for (i = 0; i < max && !(done && done(db)); i++)
		assert_int_equal(dbr_query_source(db, "main",
						  "INSERT INTO t VALUES (1)",
						  NULL, 0, NULL, NULL),
				 DBR_OK);
	return i;
}

static struct dbr_audit_stats stats_of(struct dbr *db)
{
	struct dbr_audit_stats st = { .size = sizeof(st) };

	assert_int_equal(dbr_audit_stats(db, &st), DBR_OK);
	return st;
}

static bool some_failed(struct dbr *db)
{
	return stats_of(db).failed > 0;
}

/*
 * A file that cannot take records loses them, counted, with one warning
 * per 10 s; operations go on: a FIFO without a reader (its open would
 * block without O_NONBLOCK), a FIFO whose reader never reads (full: a
 * blocking write would wait forever), one whose reader left (EPIPE, and
 * no SIGPIPE kills the process), a folder, a full disk (/dev/full).
 */
static void test_audit__unwritable_never_blocks(void **state)
{
	char *dir = t_tmpdir(), *fifo = t_path(dir, "fifo");
	struct dbr_audit_stats st;
	struct dbr *db;
	int rd, n;

	(void)state;
	signal(SIGPIPE, SIG_DFL);
	assert_int_equal(mkfifo(fifo, 0600), 0);

	audit_warnings = 0;
	db = open_audited(dir, NULL, "fifo", NULL);
	assert_int_equal(audit_warnings, 1); /* cannot open: ENXIO */
	n = write_until(db, 50, NULL);
	st = stats_of(db);
	assert_int_equal(st.events, n);
	assert_int_equal(st.written, 0);
	assert_int_equal(st.failed, n);
	assert_int_equal(audit_warnings, 2); /* one for all 50 records */
	dbr_close(db);

	/* A reader that never reads: the pipe fills up. */
	rd = open(fifo, O_RDONLY | O_NONBLOCK);
	assert_true(rd >= 0);
	db = open_audited(dir, NULL, "fifo", NULL);
	n = write_until(db, 100000, some_failed);
	st = stats_of(db);
	assert_true(st.written > 0);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.written + st.failed, n);
	/* The reader leaves: EPIPE, and this process lives on. */
	close(rd);
	n = write_until(db, 10, NULL);
	assert_int_equal(stats_of(db).failed, 1 + n);
	dbr_close(db);

	db = open_audited(dir, NULL, "/dev/full", NULL);
	n = write_until(db, 10, NULL);
	assert_int_equal(stats_of(db).failed, n);
	dbr_close(db);

	db = open_audited(dir, NULL, ".", NULL); /* the folder itself */
	n = write_until(db, 10, NULL);
	assert_int_equal(stats_of(db).failed, n);
	assert_int_equal(stats_of(db).written, 0);
	dbr_close(db);

	t_rmtree(dir);
	free(fifo);
	free(dir);
}

/*
 * An audit file the user may not open (as root the CLI runs as nobody:
 * t_run_cli_unprivileged): the statement runs and exits 0, the warning
 * names the file, nothing is written to it.
 */
static void test_audit__file_not_permitted(void **state)
{
	char *dir = t_tmpdir(), *data = t_path(dir, "data"), *cfg, *file;
	char *out = NULL, *err = NULL, *text;

	(void)state;
	assert_int_equal(mkdir(data, 0777), 0);
	assert_int_equal(chmod(data, 0777), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	cfg = t_write(dir, "perm.ini",
		      "[source.a]\ntype = sqlite\npath = data/a.db\n"
		      "[audit]\nfile = audit.jsonl\n");
	assert_int_equal(chmod(cfg, 0644), 0);
	file = t_write(dir, "audit.jsonl", "");
	assert_int_equal(chmod(file, 0600), 0);
	assert_int_equal(t_run_cli_unprivileged(dir,
						"query -c perm.ini --source a "
						"'CREATE TABLE t(x)'",
						&out, &err),
			 0);
	assert_non_null(strstr(err, "audit file '"));
	assert_non_null(strstr(err, "cannot open: Permission denied"));
	text = t_read(file);
	assert_string_equal(text, "");
	free(text);
	free(out);
	free(err);
	free(file);
	free(cfg);
	t_rmtree(dir);
	free(data);
	free(dir);
}

/*
 * Every kind a later module raises (a reload with its diff, a mapping
 * version seen) is one valid JSON line, even with text that is not UTF-8
 * (jansson refuses it as it is: the bytes are written as \xHH).
 */
static void test_audit__every_kind_is_json(void **state)
{
	static const char *const added[] = { "new1", "new2", NULL };
	static const char *const changed[] = { "pg", NULL };
	static const int64_t ids[] = { -1001234567890LL, 42 };
	char *dir = t_tmpdir(), *file = t_path(dir, "a.jsonl");
	struct dbr__logger log = { on_log, NULL, DBR_LOG_WARN };
	struct dbr_audit_event ev;
	struct dbr__audit a;
	json_t *rec[4], *v;
	size_t n;

	(void)state;
	assert_int_equal(dbr__audit_init(&a, NULL, NULL, &log), DBR_OK);
	assert_int_equal(dbr__audit_file(&a, file), DBR_OK);
	memset(&ev, 0, sizeof(ev));
	ev.kind = DBR_AUDIT_RELOAD;
	ev.path = "/etc/dbroute/\xff\xfe.ini";
	ev.added = added;
	ev.changed = changed;
	dbr__audit_emit(&a, &ev);
	memset(&ev, 0, sizeof(ev));
	ev.kind = DBR_AUDIT_RELOAD;
	ev.status = DBR_E_CONFIG;
	ev.message = "source 'pg' is named by chat 5";
	dbr__audit_emit(&a, &ev);
	memset(&ev, 0, sizeof(ev));
	ev.kind = DBR_AUDIT_MAPPING;
	ev.version = 17;
	ev.chats = ids;
	ev.nchats = 2;
	dbr__audit_emit(&a, &ev);
	dbr__audit_release(&a);

	n = read_records(file, rec, 4);
	assert_int_equal(n, 3);
	assert_string_equal(str_of(rec[0], "event"), "reload");
	assert_string_equal(str_of(rec[0], "path"),
			    "/etc/dbroute/\\xff\\xfe.ini");
	assert_true(json_is_true(json_object_get(rec[0], "applied")));
	v = json_object_get(rec[0], "added");
	assert_int_equal(json_array_size(v), 2);
	assert_string_equal(json_string_value(json_array_get(v, 1)), "new2");
	assert_int_equal(json_array_size(json_object_get(rec[0], "removed")),
			 0);
	assert_true(json_is_false(json_object_get(rec[1], "applied")));
	assert_string_equal(str_of(rec[1], "message"),
			    "source 'pg' is named by chat 5");
	assert_string_equal(str_of(rec[2], "event"), "mapping");
	assert_int_equal(json_integer_value(json_object_get(rec[2], "version")),
			 17);
	v = json_object_get(rec[2], "chats");
	assert_true(json_integer_value(json_array_get(v, 0)) ==
		    -1001234567890LL);
	free_records(rec, n);
	t_rmtree(dir);
	free(file);
	free(dir);
}

#define THREADS	   8
#define PER_THREAD 300

static void *divert_many(void *p)
{
	struct dbr *db = p;
	int i;

	for (i = 0; i < PER_THREAD; i++)
		assert_int_equal(
			dbr_query(db, 1, "SELECT 1", NULL, 0, NULL, NULL),
			DBR_OK);
	return NULL;
}

/*
 * 8 threads diverting at once: the events' counts add up to every
 * diverted operation (the rest raised at close), the events are few (one
 * per source per 10 s), and the file holds one valid line per event.
 */
static void test_audit__threads_diverting(void **state)
{
	struct t_listener *l = t_listener_start();
	struct hook h = { .mu = PTHREAD_MUTEX_INITIALIZER };
	char *dir = t_tmpdir(), *file = t_path(dir, "audit.jsonl");
	struct dbr_source_stats ss = { .size = sizeof(ss) };
	pthread_t th[THREADS];
	json_t *rec[16];
	struct dbr *db;
	uint64_t sum = 0;
	size_t n, i;

	(void)state;
	db = open_audited(dir, l, "audit.jsonl", &h);
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, divert_many, db),
				 0);
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(dbr_source_stats(db, "pg", &ss, NULL), DBR_OK);
	assert_int_equal(ss.diverted, THREADS * PER_THREAD);
	dbr_close(db);
	assert_int_equal(h.diverted, THREADS * PER_THREAD);
	assert_true(h.n >= 2 && h.n <= 4);
	n = read_records(file, rec, 16);
	assert_int_equal(n, h.n);
	for (i = 0; i < n; i++)
		sum += (uint64_t)json_integer_value(
			json_object_get(rec[i], "count"));
	assert_int_equal(sum, THREADS * PER_THREAD);
	free_records(rec, n);
	t_listener_stop(l);
	t_rmtree(dir);
	free(file);
	free(dir);
}

/* A 0.3 caller's options (without the hook's fields) still open, and
 * whatever follows them is not read; dbr_audit_stats checks its size. */
static void test_audit__old_options_and_misuse(void **state)
{
	struct {
		struct dbr_open_options o;
		char garbage[64];
	} old;
	struct dbr_audit_stats st = { .size = 8 };
	char *dir = t_tmpdir(), *path;
	struct dbr *db = NULL;

	(void)state;
	path = t_write(dir, "a.ini",
		       "[source.a]\ntype = sqlite\npath = a.db\n");
	memset(&old, 0xa5, sizeof(old));
	old.o.size = offsetof(struct dbr_open_options, audit_fn);
	old.o.log_fn = NULL;
	old.o.log_ud = NULL;
	old.o.log_level = 0;
	assert_int_equal(dbr_open(&db, path, &old.o, NULL), DBR_OK);
	assert_int_equal(dbr_query_source(db, "a", "CREATE TABLE t(x)", NULL, 0,
					  NULL, NULL),
			 DBR_OK);
	assert_int_equal(dbr_audit_stats(db, &st), DBR_E_MISUSE);
	assert_int_equal(dbr_audit_stats(db, NULL), DBR_E_MISUSE);
	st.size = sizeof(st);
	assert_int_equal(dbr_audit_stats(db, &st), DBR_OK);
	assert_int_equal(st.events, 0); /* no hook, no file: nothing raised */
	assert_string_equal(dbr_audit_kind_name(DBR_AUDIT_EXPLICIT_WRITE),
			    "explicit_write");
	assert_string_equal(dbr_audit_kind_name(0), "?");
	dbr_close(db);
	t_rmtree(dir);
	free(path);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_audit__hook_and_file),
		cmocka_unit_test(test_audit__explicit_write_postgres),
		cmocka_unit_test(test_audit__unwritable_never_blocks),
		cmocka_unit_test(test_audit__file_not_permitted),
		cmocka_unit_test(test_audit__every_kind_is_json),
		cmocka_unit_test(test_audit__threads_diverting),
		cmocka_unit_test(test_audit__old_options_and_misuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
