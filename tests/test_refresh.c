/*
 * test_refresh.c - a mapping store's changes reaching every open handle
 * (core/refresh.c), on SQLite and PostgreSQL stores: the first snapshot
 * at open, changes made by another process seen by two handles in this
 * process and by a second process, the handles' heartbeats, and the store
 * stopped and started again (PostgreSQL; needs DBR_TEST_PG_CTL). Runs
 * alone: it stops the PostgreSQL server other suites use. Latencies are
 * printed, and only a generous bound (5 s) is asserted.
 */
#define _DEFAULT_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

#define CHANGES	 50
#define BOUND_NS (5 * 1000000000LL)

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void nap_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* A store configuration (kind 0: SQLite, 1: PostgreSQL) in a new folder;
 * false when PostgreSQL is not there. */
static bool store_config(int kind, const char *name, char **dir, char **path)
{
	char conninfo[1024], text[4096];

	if (kind == 1 && !t_pg_database(name, conninfo, sizeof(conninfo)))
		return false;
	*dir = t_tmpdir();
	if (kind == 1)
		snprintf(text, sizeof(text),
			 "[source.st]\ntype = postgres\nconninfo = %s\n"
			 "timeout = 2\n",
			 conninfo);
	else
		snprintf(text, sizeof(text),
			 "[source.st]\ntype = sqlite\npath = st.db\n");
	snprintf(text + strlen(text), sizeof(text) - strlen(text),
		 "[database]\ndefault_source = st\n"
		 "[source.b]\ntype = sqlite\npath = b.db\n"
		 "[source.c]\ntype = sqlite\npath = c.db\n"
		 "[mapping]\nstore = st\npoll_interval = 0.2\n");
	*path = t_write(*dir, "map.ini", text);
	return true;
}

/* Close db, remove the folder, free its names. */
static void close_all(struct dbr *db, char *dir, char *path)
{
	dbr_close(db);
	t_rmtree(dir);
	free(dir);
	free(path);
}

static void cli_ok(const char *dir, const char *args)
{
	char *out = NULL, *err = NULL;
	int rc = t_run_cli(dir, args, &out, &err);

	if (rc)
		fail_msg("dbroute %s: %d: %s", args, rc, err ? err : "");
	free(out);
	free(err);
}

static const char *target(int i)
{
	return i % 2 ? "b" : "c";
}

/* Whether db routes chat to source now. */
static bool routes(struct dbr *db, int64_t chat, const char *source)
{
	char name[DBR_NAME_SIZE];
	int reason;

	return dbr_route_chat(db, chat, name, sizeof(name), &reason) ==
		       DBR_OK &&
	       !strcmp(name, source);
}

/* Wait until db routes chat to source: when, or fail after BOUND_NS. */
static int64_t wait_route(struct dbr *db, int64_t chat, const char *source)
{
	int64_t t0 = now_ns(), t;

	while (!routes(db, chat, source)) {
		t = now_ns();
		if (t - t0 > BOUND_NS)
			fail_msg("chat %lld not routed to %s within 5 s",
				 (long long)chat, source);
		nap_ms(1);
	}
	return now_ns();
}

static int by_value(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static void print_p99(const char *what, int64_t *lat, size_t n)
{
	qsort(lat, n, sizeof(*lat), by_value);
	printf("%s: %zu changes, p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", what,
	       n, lat[n / 2] / 1e6, lat[(n * 99 + 99) / 100 - 1] / 1e6,
	       lat[n - 1] / 1e6);
}

/* The second process: its own handle, waiting for each change in turn;
 * seen[i] when it saw change i. Exits 0 when it saw all. */
static void child_watch(const char *path, int64_t *seen)
{
	struct dbr *db = NULL;
	struct dbr_error err;
	int64_t t0;
	int i;

	if (dbr_open(&db, path, NULL, &err))
		_exit(2);
	for (i = 0; i < CHANGES; i++) {
		t0 = now_ns();
		while (!routes(db, 1000 + i, target(i))) {
			if (now_ns() - t0 > 3 * BOUND_NS)
				_exit(3);
			nap_ms(1);
		}
		seen[i] = now_ns();
	}
	dbr_close(db);
	_exit(0);
}

/*
 * A `mapping set` in a third process is seen by two handles here and by a
 * second process; each handle records itself in the clients table.
 */
static void test_refresh__changes_reach_every_handle(void **state)
{
	struct dbr_mapping_client *cl = NULL;
	struct dbr_mapping_status st;
	struct dbr_error err;
	struct dbr *db1, *db2;
	char *dir, *path, args[256];
	int64_t *shared, *lat, t0, t1, t2, t_start[CHANGES], upper[CHANGES];
	size_t n, i, found, nlat = 0;
	int kind, status;
	pid_t child;

	(void)state;
	lat = calloc(3 * CHANGES, sizeof(*lat));
	assert_non_null(lat);
	for (kind = 0; kind < 2; kind++) {
		if (!store_config(kind, "dbroute_refresh", &dir, &path))
			continue;
		cli_ok(dir, "mapping init -c map.ini");
		shared = mmap(NULL, 2 * CHANGES * sizeof(int64_t),
			      PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		assert_true(shared != MAP_FAILED);
		memset(shared, 0, 2 * CHANGES * sizeof(int64_t));
		child = fork();
		assert_true(child >= 0);
		if (child == 0)
			child_watch(path, shared + CHANGES);
		db1 = t_open(path);
		db2 = t_open(path);
		/* The first snapshot is there when dbr_open returns. */
		assert_int_equal(dbr_mapping_status(db1, &st, &err), DBR_OK);
		assert_int_equal(st.loaded, 1);
		assert_int_equal(st.version, 0);
		assert_true(routes(db1, 1000, "st"));
		nlat = 0;
		for (i = 0; i < CHANGES; i++) {
			snprintf(args, sizeof(args),
				 "mapping set -c map.ini %zu %s --reason 'test "
				 "%zu'",
				 1000 + i, target((int)i), i);
			t_start[i] = now_ns();
			cli_ok(dir, args);
			t0 = now_ns();
			shared[i] = t0;
			t1 = wait_route(db1, 1000 + (int64_t)i, target((int)i));
			t2 = wait_route(db2, 1000 + (int64_t)i, target((int)i));
			lat[nlat++] = t1 - t0;
			lat[nlat++] = t2 - t0;
			upper[i] = t2 - t_start[i];
		}
		assert_int_equal(waitpid(child, &status, 0), child);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
		for (i = 0; i < CHANGES; i++)
			lat[nlat++] = shared[CHANGES + i] > shared[i]
					      ? shared[CHANGES + i] - shared[i]
					      : 0;
		print_p99(kind ? "postgres store, from the set's exit"
			       : "sqlite store, from the set's exit",
			  lat, nlat);
		print_p99(kind ? "postgres store, from the set's start"
			       : "sqlite store, from the set's start",
			  upper, CHANGES);
		assert_int_equal(dbr_mapping_status(db2, &st, &err), DBR_OK);
		assert_int_equal(st.version, CHANGES);
		assert_int_equal(st.last_error, DBR_OK);
		assert_true(st.age_ms >= 0 && st.age_ms < 5000);
		/* Both handles record themselves at the version they hold
		 * (the first beat 2 s after open; bounded to 15 s). */
		t0 = now_ns();
		for (found = 0; found < 2 && now_ns() - t0 < 3 * BOUND_NS;) {
			nap_ms(100);
			assert_int_equal(
				dbr_mapping_clients(db1, &cl, &n, &err),
				DBR_OK);
			for (found = 0, i = 0; i < n; i++)
				found += cl[i].pid == getpid() &&
					 cl[i].version_seen == CHANGES;
			dbr_free(cl);
		}
		assert_int_equal(found, 2);
		dbr_close(db2);
		/* A closed handle's row is removed. */
		assert_int_equal(dbr_mapping_clients(db1, &cl, &n, &err),
				 DBR_OK);
		for (found = 0, i = 0; i < n; i++)
			found += cl[i].pid == getpid();
		dbr_free(cl);
		assert_int_equal(found, 1);
		dbr_close(db1);
		munmap(shared, 2 * CHANGES * sizeof(int64_t));
		t_rmtree(dir);
		free(dir);
		free(path);
	}
	free(lat);
}

/*
 * The LISTEN connection killed (pg_terminate_backend): changes still
 * arrive within poll_interval (0.2 s) + margin, and the refresher listens
 * again.
 */
static void test_refresh__listen_killed(void **state)
{
	struct dbr_mapping_status st;
	struct dbr_error err;
	struct dbr *db;
	char *dir = NULL, *path = NULL, cmd[1024];
	int64_t t0, t1;

	(void)state;
	if (!store_config(1, "dbroute_refresh_kill", &dir, &path))
		skip();
	cli_ok(dir, "mapping init -c map.ini");
	db = t_open(path);
	t0 = now_ns();
	do {
		nap_ms(20);
		assert_int_equal(dbr_mapping_status(db, &st, &err), DBR_OK);
	} while (!st.signalling && now_ns() - t0 < BOUND_NS);
	assert_int_equal(st.signalling, 1);
	snprintf(cmd, sizeof(cmd),
		 "psql -X -q -A -t '%s' -c \"SELECT count(pg_terminate_"
		 "backend(pid)) FROM pg_stat_activity WHERE datname = "
		 "'dbroute_refresh_kill' AND query LIKE 'LISTEN%%'\" | "
		 "grep -qx 1",
		 getenv("DBR_TEST_PG"));
	assert_int_equal(system(cmd), 0);
	cli_ok(dir, "mapping set -c map.ini 9 b --reason 'after kill'");
	t0 = now_ns();
	t1 = wait_route(db, 9, "b");
	printf("listen killed: the change seen %.1f ms after the set "
	       "(poll_interval 200 ms)\n",
	       (t1 - t0) / 1e6);
	t0 = now_ns();
	do {
		nap_ms(20);
		assert_int_equal(dbr_mapping_status(db, &st, &err), DBR_OK);
	} while (!st.signalling && now_ns() - t0 < BOUND_NS);
	assert_int_equal(st.signalling, 1);
	close_all(db, dir, path);
}

/* Opened before the store has tables: chat operations fail with
 * DBR_E_NOTLOADED, never the default, until the refresher loads it. */
static void test_refresh__not_loaded_until_store_is_there(void **state)
{
	struct dbr_mapping_status st;
	struct dbr_error err;
	struct dbr *db;
	char *dir, *path, name[DBR_NAME_SIZE], *out = NULL, *errtext = NULL;
	int reason;

	(void)state;
	assert_true(store_config(0, NULL, &dir, &path));
	db = t_open(path);
	assert_int_equal(dbr_route_chat(db, 5, name, sizeof(name), &reason),
			 DBR_E_NOTLOADED);
	assert_int_equal(dbr_mapping_status(db, &st, &err), DBR_OK);
	assert_int_equal(st.loaded, 0);
	assert_int_equal(st.age_ms, -1);
	assert_int_not_equal(st.last_error, DBR_OK);
	assert_int_equal(t_run_cli(dir, "check -c map.ini", &out, &errtext), 0);
	assert_non_null(strstr(out, "mapping\tstore\tnot loaded\n"));
	cli_ok(dir, "mapping init -c map.ini");
	cli_ok(dir, "mapping set -c map.ini 5 b --reason test");
	wait_route(db, 5, "b");
	assert_int_equal(dbr_mapping_status(db, &st, &err), DBR_OK);
	assert_int_equal(st.loaded, 1);
	assert_int_equal(st.version, 1);
	/* dbroute check tells the version its handle holds. */
	assert_int_equal(t_run_cli(dir, "check -c map.ini", &out, &errtext), 0);
	assert_non_null(strstr(out, "mapping\tstore\tversion 1, age "));
	free(out);
	free(errtext);
	close_all(db, dir, path);
}

/* The audit hook's view of DBR_AUDIT_MAPPING events. */
struct seen_events {
	atomic_llong version;
	atomic_llong chat;
};

static void on_audit(void *ud, const struct dbr_audit_event *ev)
{
	struct seen_events *s = ud;

	if (ev->kind != DBR_AUDIT_MAPPING || ev->nchats != 1)
		return;
	atomic_store(&s->chat, ev->chats[0]);
	atomic_store(&s->version, ev->version);
}

/* A change a handle applies is an audit event with its version and chat. */
static void test_refresh__change_seen_is_audited(void **state)
{
	struct dbr_open_options o = { 0 };
	struct seen_events s;
	struct dbr_error err;
	struct dbr *db = NULL;
	char *dir, *path;
	int64_t t0;

	(void)state;
	atomic_init(&s.version, 0);
	atomic_init(&s.chat, 0);
	o.size = sizeof(o);
	o.audit_fn = on_audit;
	o.audit_ud = &s;
	assert_true(store_config(0, NULL, &dir, &path));
	cli_ok(dir, "mapping init -c map.ini");
	if (dbr_open(&db, path, &o, &err))
		fail_msg("%s", err.message);
	cli_ok(dir, "mapping set -c map.ini -42 c --reason audited");
	t0 = now_ns();
	while (atomic_load(&s.version) != 1 && now_ns() - t0 < BOUND_NS)
		nap_ms(5);
	assert_int_equal(atomic_load(&s.version), 1);
	assert_int_equal(atomic_load(&s.chat), -42);
	close_all(db, dir, path);
}

/* Run sql on a source of db, or fail. */
static void exec_on(struct dbr *db, const char *source, const char *sql)
{
	struct dbr_result *res = NULL;
	struct dbr_error err;

	if (dbr_query_source(db, source, sql, NULL, 0, &res, &err))
		fail_msg("%s: %s", sql, err.message);
	dbr_result_free(res);
}

static int query_chat(struct dbr *db, int64_t chat, const char *sql)
{
	struct dbr_result *res = NULL;
	struct dbr_error err;
	int rc = dbr_query(db, chat, sql, NULL, 0, &res, &err);

	dbr_result_free(res);
	return rc;
}

/*
 * [mapping] max_age: the store unreadable (its change log renamed away)
 * for longer, writes of a chat the store maps fail with DBR_E_STALE, and
 * of a chat it does not map too (the store may map it by now); reads and
 * a named source's writes go on; once the store reads again, the writes
 * do too.
 */
static void test_refresh__max_age_refuses_stale_writes(void **state)
{
	struct dbr_mapping_status st;
	struct dbr_error err;
	struct dbr_tx *tx = NULL;
	struct dbr *db;
	char *dir, *path, text[1024];
	int64_t t0;
	int rc;

	(void)state;
	dir = t_tmpdir();
	snprintf(text, sizeof(text),
		 "[source.st]\ntype = sqlite\npath = st.db\n"
		 "[database]\ndefault_source = st\n"
		 "[source.b]\ntype = sqlite\npath = b.db\n"
		 "[mapping]\nstore = st\npoll_interval = 0.1\n"
		 "max_age = 0.5\n");
	path = t_write(dir, "map.ini", text);
	cli_ok(dir, "mapping init -c map.ini");
	cli_ok(dir, "mapping set -c map.ini 3 b --reason test");
	db = t_open(path);
	assert_int_equal(query_chat(db, 3, "CREATE TABLE t (x INTEGER)"),
			 DBR_OK);
	exec_on(db, "st", "CREATE TABLE t (x INTEGER)");
	exec_on(db, "st",
		"ALTER TABLE dbroute_changes RENAME TO dbroute_changes_x");
	t0 = now_ns();
	do {
		nap_ms(50);
		rc = query_chat(db, 3, "INSERT INTO t VALUES (1)");
	} while (rc == DBR_OK && now_ns() - t0 < BOUND_NS);
	assert_int_equal(rc, DBR_E_STALE);
	assert_int_equal(dbr_mapping_status(db, &st, &err), DBR_OK);
	assert_true(st.age_ms > 500);
	assert_int_not_equal(st.last_error, DBR_OK);
	assert_int_equal(dbr_tx_begin(db, 3, &tx, &err), DBR_E_STALE);
	assert_true(err.retryable);
	assert_int_equal(query_chat(db, 3, "SELECT x FROM t"), DBR_OK);
	assert_int_equal(query_chat(db, 4, "INSERT INTO t VALUES (4)"),
			 DBR_E_STALE);
	assert_int_equal(query_chat(db, 4, "SELECT x FROM t"), DBR_OK);
	exec_on(db, "st", "INSERT INTO t VALUES (5)");
	exec_on(db, "st",
		"ALTER TABLE dbroute_changes_x RENAME TO dbroute_changes");
	t0 = now_ns();
	do {
		nap_ms(50);
		rc = query_chat(db, 3, "INSERT INTO t VALUES (2)");
	} while (rc == DBR_E_STALE && now_ns() - t0 < BOUND_NS);
	assert_int_equal(rc, DBR_OK);
	close_all(db, dir, path);
}

/*
 * A store whose version goes backwards (dropped and initialised again, as
 * a restore would): the handle loads it whole and routes by it.
 */
static void test_refresh__store_version_backwards(void **state)
{
	struct dbr_mapping_status st;
	struct dbr_error err;
	struct dbr *db;
	char *dir, *path;

	(void)state;
	assert_true(store_config(0, NULL, &dir, &path));
	cli_ok(dir, "mapping init -c map.ini");
	cli_ok(dir, "mapping set -c map.ini 7 b --reason test");
	cli_ok(dir, "mapping set -c map.ini 8 b --reason test");
	cli_ok(dir, "mapping set -c map.ini 9 b --reason test");
	db = t_open(path);
	wait_route(db, 9, "b");
	exec_on(db, "st", "DROP TABLE dbroute_changes");
	exec_on(db, "st", "DROP TABLE dbroute_mapping");
	exec_on(db, "st", "DROP TABLE dbroute_meta");
	cli_ok(dir, "mapping init -c map.ini");
	cli_ok(dir, "mapping set -c map.ini 7 c --reason restored");
	wait_route(db, 7, "c");
	wait_route(db, 8, "st");
	assert_int_equal(dbr_mapping_status(db, &st, &err), DBR_OK);
	assert_int_equal(st.version, 1);
	close_all(db, dir, path);
}

static void pg_ctl(const char *verb)
{
	char cmd[2048];
	const char *ctl = getenv("DBR_TEST_PG_CTL");
	char *dir = t_tmpdir();

	chmod(dir, 0777); /* the postgres user writes its log here */
	if (!strcmp(verb, "stop"))
		snprintf(cmd, sizeof(cmd), "%s -m immediate stop >/dev/null",
			 ctl);
	else
		snprintf(cmd, sizeof(cmd),
			 "%s -l %s/pg-restart.log start >/dev/null", ctl, dir);
	assert_int_equal(system(cmd), 0);
	t_rmtree(dir);
	free(dir);
}

/*
 * The store stopped: routing goes on with the snapshot held, the status
 * tells its age and the error; after a restart changes flow again.
 */
static void test_refresh__store_down_keeps_routing(void **state)
{
	struct dbr_mapping_status st;
	struct dbr_error err;
	struct dbr *db;
	char *dir = NULL, *path = NULL;
	int64_t t0;

	(void)state;
	if (!getenv("DBR_TEST_PG_CTL") ||
	    !store_config(1, "dbroute_refresh_down", &dir, &path))
		skip();
	cli_ok(dir, "mapping init -c map.ini");
	cli_ok(dir, "mapping set -c map.ini 7 b --reason before");
	db = t_open(path);
	assert_true(routes(db, 7, "b"));
	pg_ctl("stop");
	nap_ms(800);
	assert_true(routes(db, 7, "b"));
	assert_int_equal(dbr_mapping_status(db, &st, &err), DBR_OK);
	printf("store down: version %lld, age %lld ms, error %d: %s\n",
	       (long long)st.version, (long long)st.age_ms, st.last_error,
	       st.message);
	assert_int_equal(st.loaded, 1);
	assert_int_equal(st.version, 1);
	assert_int_not_equal(st.last_error, DBR_OK);
	assert_true(st.age_ms >= 500);
	pg_ctl("start");
	t0 = now_ns();
	do {
		nap_ms(50);
		assert_int_equal(dbr_mapping_status(db, &st, &err), DBR_OK);
	} while (st.last_error && now_ns() - t0 < 3 * BOUND_NS);
	assert_int_equal(st.last_error, DBR_OK);
	cli_ok(dir, "mapping set -c map.ini 8 c --reason after");
	wait_route(db, 8, "c");
	close_all(db, dir, path);
}

/* Send sig to every backend of PostgreSQL database `name` (psql lists
 * them); how many were signalled, their pids in pids. */
static int signal_backends(const char *name, int sig, pid_t *pids, int max)
{
	char cmd[1024];
	FILE *f;
	int n = 0;
	long pid;

	snprintf(cmd, sizeof(cmd),
		 "psql -X -q -A -t '%s' -c \"SELECT pid FROM pg_stat_activity "
		 "WHERE datname = '%s' AND pid <> pg_backend_pid()\"",
		 getenv("DBR_TEST_PG"), name);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (n < max && fscanf(f, "%ld", &pid) == 1) {
		pids[n] = (pid_t)pid;
		if (kill(pids[n], sig) == 0)
			n++;
	}
	pclose(f);
	return n;
}

struct closer {
	struct dbr *db;
	atomic_bool done;
};

static void *close_handle(void *arg)
{
	struct closer *c = arg;

	dbr_close(c->db);
	atomic_store(&c->done, true);
	return NULL;
}

/*
 * The store's server hangs (every backend of its database stopped with
 * SIGSTOP, the connections open): dbr_close() still returns, the
 * refresher's read ending at the store's `timeout` (2 s here). Before the
 * store's reads were bounded it waited forever. Bounded at 30 s, after
 * which the backends are continued and the test fails.
 */
static void test_refresh__close_with_store_hung(void **state)
{
	enum { MAX_PIDS = 64 };
	struct closer c = { 0 };
	char *dir = NULL, *path = NULL;
	pid_t pids[MAX_PIDS];
	pthread_t thread;
	int64_t t0, took;
	int i, n;

	(void)state;
	if (!store_config(1, "dbroute_refresh_hang", &dir, &path))
		skip();
	cli_ok(dir, "mapping init -c map.ini");
	c.db = t_open(path);
	atomic_init(&c.done, false);
	nap_ms(500); /* the refresher reads on its pooled connection */
	n = signal_backends("dbroute_refresh_hang", SIGSTOP, pids, MAX_PIDS);
	nap_ms(600); /* its next read is sent to a stopped backend */
	t0 = now_ns();
	assert_int_equal(pthread_create(&thread, NULL, close_handle, &c), 0);
	while (!atomic_load(&c.done) && now_ns() - t0 < 6 * BOUND_NS)
		nap_ms(20);
	took = now_ns() - t0;
	for (i = 0; i < n; i++)
		kill(pids[i], SIGCONT);
	pthread_join(thread, NULL);
	printf("store hung (%d backends stopped): dbr_close took %.1f s\n", n,
	       took / 1e9);
	assert_true(n >= 1);
	if (took >= 6 * BOUND_NS)
		fail_msg("dbr_close waited %.1f s on a hung store", took / 1e9);
	t_rmtree(dir);
	free(dir);
	free(path);
}

/* The threads this process runs now (/proc/self/task). */
static int thread_count(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/*
 * DBR_HANDLE_NO_REFRESH (what the CLI opens with): the store's snapshot
 * is read in dbr_open() and kept; no thread is started, and a later
 * change is not seen. Without the flag one thread is started.
 */
static void test_refresh__no_refresh_reads_once(void **state)
{
	struct dbr_open_options o = { .size = sizeof(o),
				      .flags = DBR_HANDLE_NO_REFRESH };
	struct dbr_error err;
	struct dbr *db, *live;
	char *dir = NULL, *path = NULL;
	int before;

	(void)state;
	assert_true(store_config(0, NULL, &dir, &path));
	cli_ok(dir, "mapping init -c map.ini");
	cli_ok(dir, "mapping set -c map.ini 5 b --reason once");
	before = thread_count();
	assert_int_equal(dbr_open(&db, path, &o, &err), DBR_OK);
	assert_int_equal(thread_count(), before);
	assert_true(routes(db, 5, "b"));
	live = t_open(path);
	assert_int_equal(thread_count(), before + 1);
	cli_ok(dir, "mapping set -c map.ini 5 c --reason later");
	wait_route(live, 5, "c");
	nap_ms(600); /* three poll intervals */
	assert_true(routes(db, 5, "b"));
	dbr_close(live);
	close_all(db, dir, path);
}

/* Whether db's store lists client id. */
static bool has_client(struct dbr *db, const char *id)
{
	struct dbr_mapping_client *cl = NULL;
	struct dbr_error err;
	bool found = false;
	size_t n = 0, i;

	assert_int_equal(dbr_mapping_clients(db, &cl, &n, &err), DBR_OK);
	for (i = 0; i < n; i++)
		found |= !strcmp(cl[i].client_id, id);
	dbr_free(cl);
	return found;
}

/*
 * A process that died without closing leaves its clients row: a live
 * handle's heartbeat removes it once silent for ten minutes, and keeps a
 * row silent for one minute; `mapping clients` prints each row's age.
 */
static void test_refresh__dead_clients_pruned(void **state)
{
	char *dir = NULL, *path = NULL, *out = NULL, *errtext = NULL, sql[512];
	struct timespec now;
	struct dbr *db;
	const char *line;
	int64_t t0, ms;

	(void)state;
	assert_true(store_config(0, NULL, &dir, &path));
	cli_ok(dir, "mapping init -c map.ini");
	db = t_open(path);
	clock_gettime(CLOCK_REALTIME, &now);
	ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	snprintf(sql, sizeof(sql),
		 "INSERT INTO dbroute_clients (client_id, host, pid, "
		 "version_seen, seen_ms) VALUES ('gone:1:1', 'gone', 1, 0, "
		 "%lld), ('quiet:2:1', 'quiet', 2, 0, %lld)",
		 (long long)(ms - 11 * 60 * 1000), (long long)(ms - 60 * 1000));
	exec_on(db, "st", sql);
	assert_true(has_client(db, "gone:1:1"));
	t0 = now_ns();
	while (has_client(db, "gone:1:1") && now_ns() - t0 < 3 * BOUND_NS)
		nap_ms(100);
	assert_false(has_client(db, "gone:1:1"));
	assert_true(has_client(db, "quiet:2:1"));
	assert_int_equal(
		t_run_cli(dir, "mapping clients -c map.ini", &out, &errtext),
		0);
	/* CLIENT HOST PID VERSION SEEN AGE_S */
	line = strstr(out, "quiet:2:1\tquiet\t2\t0\t");
	assert_non_null(line);
	line = strchr(line + strlen("quiet:2:1\tquiet\t2\t0\t"), '\t');
	assert_non_null(line);
	assert_in_range(strtoll(line + 1, NULL, 10), 60, 60 + 30);
	free(out);
	free(errtext);
	close_all(db, dir, path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refresh__changes_reach_every_handle),
		cmocka_unit_test(test_refresh__listen_killed),
		cmocka_unit_test(test_refresh__change_seen_is_audited),
		cmocka_unit_test(test_refresh__max_age_refuses_stale_writes),
		cmocka_unit_test(test_refresh__not_loaded_until_store_is_there),
		cmocka_unit_test(test_refresh__store_version_backwards),
		cmocka_unit_test(test_refresh__store_down_keeps_routing),
		cmocka_unit_test(test_refresh__close_with_store_hung),
		cmocka_unit_test(test_refresh__no_refresh_reads_once),
		cmocka_unit_test(test_refresh__dead_clients_pruned),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
