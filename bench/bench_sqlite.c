/*
 * bench_sqlite.c - SQLite workloads: point lookups (default settings, and
 * with no system call per lookup), single-row inserts, raw SQLite that
 * prepares every statement anew, and two threads.
 *
 * The raw side opens SQLite exactly as dbroute's driver does (the same
 * flags and pragmas) and reuses one prepared statement, binding and reading
 * every column as an application would.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "bench.h"

/* A raw SQLite side. */
struct side {
	_Alignas(BENCH_LINE) sqlite3 *db;
	sqlite3_stmt *st;
	long at, count;
	int64_t fixed_chat; /* two-thread runs: one chat per thread */
	int64_t sink;
	/* Control runs: busy work between statements, and within each. */
	long gap, hold;
};

static void exec(sqlite3 *db, const char *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		bench_die("%s: %s", sql, sqlite3_errmsg(db));
}

/* Open a file the way drivers/sqlite/sqlite.c does. */
static sqlite3 *raw_open(const char *path, bool exclusive, int cache_kib)
{
	char sql[64];
	sqlite3 *db;

	if (sqlite3_open_v2(path, &db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				    SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
			    NULL) != SQLITE_OK)
		bench_die("open %s", path);
	sqlite3_busy_timeout(db, 30000);
	if (exclusive)
		exec(db, "PRAGMA locking_mode=EXCLUSIVE");
	if (cache_kib) {
		snprintf(sql, sizeof(sql), "PRAGMA cache_size=-%d", cache_kib);
		exec(db, sql);
	}
	exec(db, "PRAGMA journal_mode=WAL");
	return db;
}

static void load(const char *path)
{
	sqlite3 *db = raw_open(path, false, 0);

	exec(db, "CREATE TABLE messages (chat_id INTEGER, message_id INTEGER,"
		 " user_id INTEGER, text TEXT, PRIMARY KEY (chat_id, "
		 "message_id));"
		 "CREATE TABLE ins (id INTEGER PRIMARY KEY, chat_id INTEGER, "
		 "text TEXT);"
		 "WITH RECURSIVE s(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM "
		 "s WHERE k < 99999) INSERT INTO messages SELECT k % 100 + 1, "
		 "k / 100, k % 997, printf('message %d of chat %d: some text "
		 "of a usual length', k / 100, k % 100 + 1) FROM s;");
	sqlite3_close(db);
}

static void prepare(struct side *s, const char *sql)
{
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
			       &s->st, NULL) != SQLITE_OK)
		bench_die("prepare: %s", sqlite3_errmsg(s->db));
}

static void read_row(struct side *s)
{
	s->sink += sqlite3_column_int64(s->st, 0) +
		   sqlite3_column_int64(s->st, 1) +
		   sqlite3_column_int64(s->st, 2) +
		   sqlite3_column_bytes(s->st, 3) +
		   sqlite3_column_text(s->st, 3)[0];
}

/* n steps of work that touches nothing shared (a few cycles a step). */
static void busy(long n)
{
	volatile long i;

	for (i = 0; i < n; i++)
		;
}

static void raw_lookup(void *arg, long n)
{
	struct side *s = arg;

	while (n--) {
		const int64_t *k = bench_keys[s->at++ & (BENCH_NKEYS - 1)];

		if (s->gap)
			busy(s->gap);
		sqlite3_bind_int64(s->st, 1,
				   s->fixed_chat ? s->fixed_chat : k[0]);
		sqlite3_bind_int64(s->st, 2, k[1]);
		if (sqlite3_step(s->st) != SQLITE_ROW)
			bench_die("raw lookup found no row");
		read_row(s);
		if (s->hold)
			busy(s->hold);
		sqlite3_reset(s->st);
	}
}

static void raw_naive(void *arg, long n)
{
	struct side *s = arg;
	sqlite3_stmt *st;

	while (n--) {
		const int64_t *k = bench_keys[s->at++ & (BENCH_NKEYS - 1)];

		if (sqlite3_prepare_v2(s->db, bench_lookup_sql, -1, &st, NULL))
			bench_die("prepare: %s", sqlite3_errmsg(s->db));
		sqlite3_bind_int64(st, 1, k[0]);
		sqlite3_bind_int64(st, 2, k[1]);
		if (sqlite3_step(st) != SQLITE_ROW)
			bench_die("raw lookup found no row");
		s->sink += sqlite3_column_int64(st, 0) +
			   sqlite3_column_int64(st, 1) +
			   sqlite3_column_int64(st, 2) +
			   sqlite3_column_bytes(st, 3) +
			   sqlite3_column_text(st, 3)[0];
		sqlite3_finalize(st);
	}
}

static void raw_insert(void *arg, long n)
{
	struct side *s = arg;

	while (n--) {
		if (s->count % 1000 == 0)
			exec(s->db, "BEGIN IMMEDIATE");
		sqlite3_bind_int64(s->st, 1, s->count % BENCH_CHATS + 1);
		sqlite3_bind_text(s->st, 2, "an inserted message", -1,
				  SQLITE_STATIC);
		if (sqlite3_step(s->st) != SQLITE_DONE)
			bench_die("insert: %s", sqlite3_errmsg(s->db));
		sqlite3_reset(s->st);
		if (++s->count % 1000 == 0)
			exec(s->db, "COMMIT");
	}
	if (s->count % 1000) { /* a batch ends with its transaction */
		exec(s->db, "COMMIT");
		s->count += 1000 - s->count % 1000;
	}
}

/*
 * Two long-lived worker threads, as an application's are: each keeps its
 * connection (raw) or its pool affinity (dbroute) from round to round.
 * The main thread starts a run and waits for its end on two barriers.
 */
struct crew {
	pthread_barrier_t go, done;
	pthread_t th[2];
	bench_fn fn;
	void *side[2];
	long n;
	bool both, quit;
};

struct crew_seat {
	struct crew *crew;
	int i;
};

static void *crew_main(void *arg)
{
	struct crew_seat *seat = arg;
	struct crew *c = seat->crew;

	for (;;) {
		pthread_barrier_wait(&c->go);
		if (c->quit)
			return NULL;
		if (seat->i == 0 || c->both)
			c->fn(c->side[seat->i], c->n);
		pthread_barrier_wait(&c->done);
	}
}

/* Wall time of one run: worker 0 alone, or both workers at once. */
static double crew_run(struct crew *c, bench_fn fn, void *a, void *b, long n,
		       bool both)
{
	double t = bench_now();

	c->fn = fn;
	c->side[0] = a;
	c->side[1] = b;
	c->n = n;
	c->both = both;
	pthread_barrier_wait(&c->go);
	pthread_barrier_wait(&c->done);
	return bench_now() - t;
}

/* Throughput of two threads over one: 2 t1 / t2. */
static double speedup(struct crew *c, bench_fn fn, void *a, void *b, long n)
{
	double t1 = crew_run(c, fn, a, b, n, false);

	return 2 * t1 / crew_run(c, fn, a, b, n, true);
}

static void two_threads(struct bench *b, const char *path, struct dbr *h,
			long n)
{
	struct side raw[2];
	struct dbr_side dbr[2];
	double rs[64] = { 0 }, ds[64] = { 0 };
	struct crew crew;
	struct crew_seat seats[2] = { { &crew, 0 }, { &crew, 1 } };
	int i;

	memset(raw, 0, sizeof(raw));
	memset(dbr, 0, sizeof(dbr));
	memset(&crew, 0, sizeof(crew));
	for (i = 0; i < 2; i++) {
		raw[i].db = raw_open(path, false, 0);
		prepare(&raw[i], bench_lookup_sql);
		raw[i].fixed_chat = dbr[i].fixed_chat = i + 1;
		raw[i].gap = b->raw_gap;
		raw[i].hold = b->raw_hold;
		dbr[i].h = h;
	}
	pthread_barrier_init(&crew.go, NULL, 3);
	pthread_barrier_init(&crew.done, NULL, 3);
	for (i = 0; i < 2; i++)
		if (pthread_create(&crew.th[i], NULL, crew_main, &seats[i]))
			bench_die("pthread_create");
	/* Warm both sides on both threads, then A B, B A ... */
	crew_run(&crew, raw_lookup, &raw[0], &raw[1], n / 10 + 1, true);
	crew_run(&crew, bench_dbr_lookup, &dbr[0], &dbr[1], n / 10 + 1, true);
	for (i = 0; i < b->rounds; i++) {
		if (i % 2 == 0) {
			rs[i] = speedup(&crew, raw_lookup, &raw[0], &raw[1], n);
			ds[i] = speedup(&crew, bench_dbr_lookup, &dbr[0],
					&dbr[1], n);
		} else {
			ds[i] = speedup(&crew, bench_dbr_lookup, &dbr[0],
					&dbr[1], n);
			rs[i] = speedup(&crew, raw_lookup, &raw[0], &raw[1], n);
		}
	}
	crew.quit = true;
	pthread_barrier_wait(&crew.go);
	for (i = 0; i < 2; i++)
		pthread_join(crew.th[i], NULL);
	pthread_barrier_destroy(&crew.go);
	pthread_barrier_destroy(&crew.done);
	b->speedup_ratio = bench_ratio(ds, rs, b->rounds);
	b->raw_speedup = bench_median(rs, b->rounds);
	b->speedup = bench_median(ds, b->rounds);
	printf("%-28s %12.2fx %11.2fx %8.3f\n", "sqlite.point_lookup.2threads",
	       b->raw_speedup, b->speedup, b->speedup_ratio);
	if (b->raw_gap || b->raw_hold)
		printf("  (control run: the raw side did %ld busy steps between "
		       "statements, %ld within each)\n",
		       b->raw_gap, b->raw_hold);
	for (i = 0; i < 2; i++) {
		sqlite3_finalize(raw[i].st);
		sqlite3_close(raw[i].db);
	}
}

static void lookups(struct bench *b, struct dbr *normal)
{
	char path[512];
	struct side raw = { 0 };
	struct dbr_side dbr = { 0 };
	struct dbr *cpu;
	long n = bench_ops(b, 100000);

	bench_path(b, path, sizeof(path), "bench.db");
	raw.db = raw_open(path, false, 0);
	prepare(&raw, bench_lookup_sql);
	dbr.h = normal;
	if (bench_wanted(b, "sqlite.point_lookup"))
		bench_compare(b, "sqlite.point_lookup", raw_lookup, &raw,
			      bench_dbr_lookup, &dbr, n);
	if (bench_wanted(b, "sqlite.point_lookup.naive"))
		bench_compare(b, "sqlite.point_lookup.naive", raw_naive, &raw,
			      bench_dbr_lookup, &dbr, n);
	sqlite3_finalize(raw.st);
	sqlite3_close(raw.db);
	if (!bench_wanted(b, "sqlite.point_lookup.cpu"))
		return;
	/* Each side its own copy: an exclusive lock is not shared. */
	bench_path(b, path, sizeof(path), "cpu_raw.db");
	load(path);
	memset(&raw, 0, sizeof(raw));
	raw.db = raw_open(path, true, 65536);
	prepare(&raw, bench_lookup_sql);
	bench_path(b, path, sizeof(path), "cpu_dbr.db");
	load(path);
	cpu = bench_open(b, "cpu.ini",
			 "[source.cpu]\ntype = sqlite\npath = cpu_dbr.db\n"
			 "locking_mode = exclusive\ncache_size = 65536\n"
			 "max_connections = 1\n");
	dbr.h = cpu;
	bench_compare(b, "sqlite.point_lookup.cpu", raw_lookup, &raw,
		      bench_dbr_lookup, &dbr, n);
	sqlite3_finalize(raw.st);
	sqlite3_close(raw.db);
	dbr_close(cpu);
}

void bench_sqlite(struct bench *b)
{
	char path[512];
	struct side raw = { 0 };
	struct dbr_side dbr = { 0 };
	struct dbr *normal;

	if (!bench_group(b, "sqlite"))
		return;
	bench_path(b, path, sizeof(path), "bench.db");
	load(path);
	normal = bench_open(b, "sqlite.ini",
			    "[source.main]\ntype = sqlite\npath = bench.db\n"
			    "max_connections = 4\n");
	lookups(b, normal);
	if (bench_wanted(b, "sqlite.insert")) {
		long n = (bench_ops(b, 20000) + 999) / 1000 * 1000;

		/* Each side its own file: a checkpoint of the write-ahead log
		 * is paid by whoever commits past its threshold. */
		bench_path(b, path, sizeof(path), "ins_raw.db");
		raw.db = raw_open(path, false, 0);
		exec(raw.db, "CREATE TABLE ins (id INTEGER PRIMARY KEY, "
			     "chat_id INTEGER, text TEXT)");
		prepare(&raw, bench_insert_sql);
		dbr.h = bench_open(b, "insert.ini",
				   "[source.ins]\ntype = sqlite\n"
				   "path = ins_dbr.db\n");
		bench_ok(dbr_query(dbr.h, 1,
				   "CREATE TABLE ins (id INTEGER "
				   "PRIMARY KEY, chat_id INTEGER, "
				   "text TEXT)",
				   NULL, 0, NULL, NULL),
			 NULL, "create ins");
		bench_compare(b, "sqlite.insert", raw_insert, &raw,
			      bench_dbr_insert, &dbr, n);
		sqlite3_finalize(raw.st);
		sqlite3_close(raw.db);
		dbr_close(dbr.h);
		bench_path(b, path, sizeof(path), "bench.db");
	}
	if (bench_wanted(b, "sqlite.point_lookup.2threads"))
		two_threads(b, path, normal, bench_ops(b, 100000));
	dbr_close(normal);
}
