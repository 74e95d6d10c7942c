/*
 * test_faults.c - fault injection against the real servers that
 * scripts/test.sh starts: PostgreSQL stopped with `pg_ctl stop -m
 * immediate` and restarted, mariadbd killed with SIGKILL and restarted,
 * redis-server killed and restarted, while threads write. Runs alone (RUN_SERIAL): it stops servers other suites
 * use. Every loop is bounded in count and in time.
 *
 * What must hold: no crash, no hang, no operation longer than its timeout;
 * with fallback = default the unavailable source's operations run on the
 * default source, with fallback = none they fail fast; SQLite chats are
 * unaffected; the source serves again within retry_interval + 1 s of its
 * restart; every acknowledged write is found in the source the library
 * said served it, and no write is found twice.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <mysql.h>
#include <sqlite3.h>

#include "helpers.h"
#include "internal.h"

#define THREADS	    4
#define MAX_OPS	    20000 /* per thread */
#define MAX_SECONDS 60.0  /* per scenario, whatever happens */
#define TIMEOUT	    3.0	  /* each source's timeout */
#define RETRY	    1.0	  /* retry_interval */

/* One acknowledged (or failed) write, as the writer saw it. */
struct write {
	int64_t chat, seq;
	char served[16];
	int rc;
};

struct writer {
	struct dbr *db;
	int id;
	bool redis; /* write to the cache scope, not SQL chats */
	struct write *log;
	size_t n;
	double longest;	     /* the longest operation, in seconds */
	double longest_fast; /* the longest DBR_E_UNAVAILABLE failure */
	int lite_errors;     /* failures of SQLite chats: must stay 0 */
};

static atomic_bool stop;
static char *dir;

/*
 * The SQL server under test, whose source is "srv" (chats -1..-4):
 * PostgreSQL or MariaDB. Its section's keys, the statements that stop it
 * at once and start it again (waiting until it answers), and its table.
 */
struct sqlsrv {
	const char *type;
	char keys[1024];
	char stop[1024], start[2048];
	const char *ddl;
};

static struct sqlsrv pg_srv = {
	"postgres", "", "", "",
	"CREATE TABLE faults_w (chat BIGINT, seq BIGINT)"
};
static struct sqlsrv my_srv = {
	"mysql", "", "", "", "CREATE TABLE faults_w (chat BIGINT, seq BIGINT)"
};
static const struct sqlsrv *srv = &pg_srv;

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (time_t)s) * 1e9) };

	nanosleep(&ts, NULL);
}

static void run_cmd(const char *cmd)
{
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

/* Chats -1..-4 are mapped to srv; 1..4 fall to the SQLite default. */
static char *write_config(const char *fallback)
{
	char text[2048];

	snprintf(text, sizeof(text),
		 "[database]\ndefault_source = lite\nfallback = %s\n"
		 "retry_interval = %g\nlog_level = error\n"
		 "[source.lite]\ntype = sqlite\npath = lite.db\ntimeout = %g\n"
		 "max_connections = 4\n"
		 "[source.srv]\ntype = %s\n%s\ntimeout = %g\n"
		 "max_connections = 4\n"
		 "[source.cache]\ntype = redis\nport = %s\ntimeout = %g\n"
		 "password_env = DBR_TEST_REDIS_PASSWORD\n"
		 "[scopes]\ncache = cache\n"
		 "[chat_mapping]\n-1 = srv\n-2 = srv\n-3 = srv\n-4 = srv\n",
		 fallback, RETRY, TIMEOUT, srv->type, srv->keys, TIMEOUT,
		 getenv("DBR_TEST_REDIS_PORT"), TIMEOUT);
	return t_write(dir, "faults.ini", text);
}

static void one_write(struct writer *w, int64_t seq)
{
	int64_t chat = (seq % 2 ? -1 : 1) * (w->id + 1);
	struct dbr_value p[2] = { dbr_int64(chat), dbr_int64(seq) };
	struct write *rec = &w->log[w->n++];
	struct dbr_result *res = NULL;
	struct dbr_error err;
	char key[32];
	double t0 = dbr__now(), took;

	rec->chat = w->redis ? 0 : chat;
	rec->seq = seq;
	if (w->redis) {
		snprintf(key, sizeof(key), "w%lld", (long long)seq);
		p[0] = dbr_text(key, strlen(key));
		rec->rc = dbr_query_scope(w->db, "cache", "SET ? ?", p, 2, &res,
					  &err);
	} else {
		rec->rc = dbr_query(w->db, chat,
				    "INSERT INTO faults_w (chat, "
				    "seq) VALUES (?, ?)",
				    p, 2, &res, &err);
	}
	took = dbr__now() - t0;
	if (took > w->longest)
		w->longest = took;
	if (rec->rc == DBR_E_UNAVAILABLE && took > w->longest_fast)
		w->longest_fast = took;
	if (!rec->rc) {
		snprintf(rec->served, sizeof(rec->served), "%s",
			 dbr_result_source(res));
		dbr_result_free(res);
	} else if (!w->redis && chat > 0) {
		fprintf(stderr, "SQLite chat %lld failed: %s\n",
			(long long)chat, err.message);
		w->lite_errors++;
	}
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	double start = dbr__now();
	int64_t seq = (int64_t)w->id * MAX_OPS;

	while (!atomic_load(&stop) && w->n < MAX_OPS &&
	       dbr__now() - start < MAX_SECONDS) {
		one_write(w, seq++);
		sleep_s(0.001);
	}
	return NULL;
}

/* How long until an operation for `chat` (or the cache scope) is served
 * by `want` again, polled every 50 ms, at most `limit` seconds. */
static double until_served(struct dbr *db, bool redis, const char *want,
			   double limit)
{
	double t0 = dbr__now();
	struct dbr_result *res;

	while (dbr__now() - t0 < limit) {
		int rc = redis ? dbr_query_scope(db, "cache", "PING", NULL, 0,
						 &res, NULL)
			       : dbr_query(db, -1, "SELECT 1", NULL, 0, &res,
					   NULL);

		if (!rc) {
			bool ok = !strcmp(dbr_result_source(res), want);

			dbr_result_free(res);
			if (ok)
				return dbr__now() - t0;
		}
		sleep_s(0.05);
	}
	return limit;
}

struct scenario {
	const char *fallback;
	bool redis;
	const char *stop_cmd, *start_cmd;
};

static void run_scenario(const struct scenario *sc, struct writer *w,
			 struct dbr **out_db)
{
	char *path = write_config(sc->fallback);
	pthread_t th[THREADS];
	struct dbr *db = t_open(path);
	double back;
	int i;

	free(path);
	atomic_store(&stop, false);
	for (i = 0; i < THREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].db = db;
		w[i].id = i;
		w[i].redis = sc->redis;
		w[i].log = calloc(MAX_OPS, sizeof(*w[i].log));
		assert_int_equal(
			pthread_create(&th[i], NULL, writer_main, &w[i]), 0);
	}
	sleep_s(0.5);
	run_cmd(sc->stop_cmd);
	sleep_s(2 * RETRY + 0.5); /* down through at least one probe */
	run_cmd(sc->start_cmd);
	back = until_served(db, sc->redis, sc->redis ? "cache" : "srv", 15);
	fprintf(stderr, "%s: served again %.2f s after the restart\n",
		sc->redis ? "redis" : sc->fallback, back);
	assert_true(back <= RETRY + 1.0);
	sleep_s(0.3);
	atomic_store(&stop, true);
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	*out_db = db;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* The seq column of faults_w on MariaDB into v (grown), *n values. */
static int64_t *my_seqs(int64_t *v, size_t cap, size_t *n)
{
	MYSQL *m = mysql_init(NULL);
	MYSQL_RES *r;
	MYSQL_ROW row;

	assert_non_null(mysql_real_connect(m, NULL, "root", NULL,
					   "dbroute_test", 0,
					   getenv("DBR_TEST_MYSQL"), 0));
	assert_int_equal(mysql_query(m, "SELECT seq FROM faults_w"), 0);
	r = mysql_store_result(m);
	assert_non_null(r);
	while ((row = mysql_fetch_row(r)) != NULL) {
		if (*n == cap)
			v = realloc(v, (cap *= 2) * sizeof(*v));
		v[(*n)++] = strtoll(row[0], NULL, 10);
	}
	mysql_free_result(r);
	mysql_close(m);
	return v;
}

/* The seq column of faults_w in SQLite (server false) or on srv,
 * sorted. */
static int64_t *all_seqs(bool server, size_t *n)
{
	size_t cap = 1024;
	int64_t *v = malloc(cap * sizeof(*v));

	*n = 0;
	if (server && srv == &my_srv) {
		v = my_seqs(v, cap, n);
	} else if (server) {
		PGconn *c = PQconnectdb(getenv("DBR_TEST_PG"));
		PGresult *r = PQexec(c, "SELECT seq FROM faults_w");
		int i;

		assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
		for (i = 0; i < PQntuples(r); i++) {
			if (*n == cap)
				v = realloc(v, (cap *= 2) * sizeof(*v));
			v[(*n)++] = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		}
		PQclear(r);
		PQfinish(c);
	} else {
		char *lite = t_path(dir, "lite.db");
		sqlite3 *h;
		sqlite3_stmt *st;

		assert_int_equal(sqlite3_open(lite, &h), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(h,
						    "SELECT seq FROM "
						    "faults_w",
						    -1, &st, NULL),
				 SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW) {
			if (*n == cap)
				v = realloc(v, (cap *= 2) * sizeof(*v));
			v[(*n)++] = sqlite3_column_int64(st, 0);
		}
		sqlite3_finalize(st);
		sqlite3_close(h);
		free(lite);
	}
	qsort(v, *n, sizeof(*v), cmp_i64);
	return v;
}

static bool has(const int64_t *v, size_t n, int64_t seq)
{
	return bsearch(&seq, v, n, sizeof(*v), cmp_i64) != NULL;
}

/* Every acknowledged write in the source that served it; no write found
 * twice, in one source or across both. */
static void check_sql_writes(struct writer *w)
{
	size_t nl, np, i, k, acked = 0, failed = 0;
	int64_t *lite = all_seqs(false, &nl), *pg = all_seqs(true, &np);

	for (i = 1; i < nl; i++)
		assert_true(lite[i] != lite[i - 1]);
	for (i = 1; i < np; i++)
		assert_true(pg[i] != pg[i - 1]);
	for (i = 0; i < nl; i++)
		assert_false(has(pg, np, lite[i]));
	for (i = 0; i < THREADS; i++) {
		for (k = 0; k < w[i].n; k++) {
			const struct write *r = &w[i].log[k];
			bool in_lite = has(lite, nl, r->seq),
			     in_pg = has(pg, np, r->seq);

			if (r->rc) {
				failed++;
				continue;
			}
			acked++;
			if (!strcmp(r->served, "lite") ? !in_lite : !in_pg)
				fail_msg("write %lld acknowledged by '%s' is "
					 "not there",
					 (long long)r->seq, r->served);
		}
	}
	fprintf(stderr,
		"%zu writes acknowledged, %zu failed; rows: %zu in "
		"lite, %zu in %s\n",
		acked, failed, nl, np, srv->type);
	/* Unacknowledged writes may exist (lost in flight), never extra. */
	assert_true(nl + np <= acked + failed);
	free(lite);
	free(pg);
}

static void make_tables(void)
{
	const char *const ddl[2][2] = {
		{ "srv", srv->ddl },
		{ "lite", "CREATE TABLE faults_w (chat INTEGER, seq INTEGER)" },
	};
	char *path = write_config("none");
	struct dbr *db = t_open(path);
	int i;

	free(path);
	for (i = 0; i < 2; i++) {
		assert_int_equal(dbr_query_source(db, ddl[i][0],
						  "DROP TABLE IF EXISTS "
						  "faults_w",
						  NULL, 0, NULL, NULL),
				 DBR_OK);
		assert_int_equal(dbr_query_source(db, ddl[i][0], ddl[i][1],
						  NULL, 0, NULL, NULL),
				 DBR_OK);
	}
	dbr_close(db);
}

static void free_logs(struct writer *w)
{
	int i;

	for (i = 0; i < THREADS; i++)
		free(w[i].log);
}

/* srv stopped under writers, fallback = default: its chats' writes run on
 * the SQLite default meanwhile, each found where it was acknowledged. */
static void down_fallback_default(void)
{
	struct scenario sc = { "default", false, srv->stop, srv->start };
	struct writer w[THREADS];
	struct dbr_source_stats st = { .size = sizeof(st) };
	uint64_t beyond;
	int64_t chats[16];
	size_t n, i;
	struct dbr *db;

	make_tables();
	run_scenario(&sc, w, &db);
	for (i = 0; i < THREADS; i++) {
		assert_int_equal(w[i].lite_errors, 0);
		assert_true(w[i].longest < TIMEOUT + 1.0);
	}
	assert_int_equal(dbr_source_stats(db, "srv", &st, NULL), DBR_OK);
	fprintf(stderr, "srv: %llu ops, %llu errors, %llu diverted\n",
		(unsigned long long)st.ops, (unsigned long long)st.errors,
		(unsigned long long)st.diverted);
	assert_true(st.diverted > 0);
	assert_int_equal(
		dbr_source_diverted_chats(db, "srv", chats, 16, &n, &beyond),
		DBR_OK);
	assert_true(n >= 1 && n <= THREADS);
	for (i = 0; i < n; i++)
		assert_true(chats[i] < 0 && chats[i] >= -THREADS);
	dbr_close(db);
	check_sql_writes(w);
	free_logs(w);
}

/* srv stopped under writers, fallback = none: its chats fail fast, the
 * SQLite chats are unaffected, nothing is sent twice. */
static void down_fallback_none(void)
{
	struct scenario sc = { "none", false, srv->stop, srv->start };
	struct writer w[THREADS];
	struct dbr_source_stats st = { .size = sizeof(st) };
	size_t i, k, fast = 0;
	struct dbr *db;

	make_tables();
	run_scenario(&sc, w, &db);
	for (i = 0; i < THREADS; i++) {
		assert_int_equal(w[i].lite_errors, 0);
		assert_true(w[i].longest < TIMEOUT + 1.0);
		/* Failing fast: not waiting on the unavailable source. */
		assert_true(w[i].longest_fast < 0.5);
		for (k = 0; k < w[i].n; k++) {
			fast += w[i].log[k].rc == DBR_E_UNAVAILABLE;
			if (!w[i].log[k].rc && w[i].log[k].chat < 0)
				assert_string_equal(w[i].log[k].served, "srv");
		}
	}
	assert_true(fast > 0);
	assert_int_equal(dbr_source_stats(db, "srv", &st, NULL), DBR_OK);
	assert_int_equal(st.diverted, 0);
	assert_true(st.errors > 0);
	dbr_close(db);
	check_sql_writes(w);
	free_logs(w);
}

static void test_faults__postgres_down_fallback_default(void **state)
{
	(void)state;
	srv = &pg_srv;
	down_fallback_default();
}

static void test_faults__postgres_down_fallback_none(void **state)
{
	(void)state;
	srv = &pg_srv;
	down_fallback_none();
}

static void test_faults__mysql_down_fallback_default(void **state)
{
	(void)state;
	srv = &my_srv;
	down_fallback_default();
}

static void test_faults__mysql_down_fallback_none(void **state)
{
	(void)state;
	srv = &my_srv;
	down_fallback_none();
}

/* Redis is a key-value source: nothing crosses to the SQL default. */
static void test_faults__redis_killed(void **state)
{
	char stop_cmd[600];
	struct scenario sc = { "default", true, stop_cmd,
			       getenv("DBR_TEST_REDIS_START") };
	struct writer w[THREADS];
	redisContext *c;
	redisReply *r;
	size_t i, k, after = 0;
	struct dbr *db;

	(void)state;
	snprintf(stop_cmd, sizeof(stop_cmd),
		 "REDISCLI_AUTH=%s redis-cli -p %s shutdown nosave "
		 ">/dev/null 2>&1; sleep 0.2",
		 getenv("DBR_TEST_REDIS_PASSWORD"),
		 getenv("DBR_TEST_REDIS_PORT"));
	run_scenario(&sc, w, &db);
	c = redisConnect("127.0.0.1", atoi(getenv("DBR_TEST_REDIS_PORT")));
	assert_non_null(c);
	freeReplyObject(
		redisCommand(c, "AUTH %s", getenv("DBR_TEST_REDIS_PASSWORD")));
	for (i = 0; i < THREADS; i++) {
		assert_true(w[i].longest < TIMEOUT + 1.0);
		for (k = 0; k < w[i].n; k++) {
			const struct write *rec = &w[i].log[k];

			if (rec->rc) {
				assert_true(rec->rc == DBR_E_UNAVAILABLE ||
					    rec->rc == DBR_E_CONN);
				continue;
			}
			assert_string_equal(rec->served, "cache");
			/* Persistence is off: only what was written after
			 * the restart can be found. */
			r = redisCommand(c, "EXISTS w%lld",
					 (long long)rec->seq);
			after += r->integer == 1;
			freeReplyObject(r);
		}
	}
	assert_true(after > 0);
	redisFree(c);
	dbr_close(db);
	free_logs(w);
}

/* A SQLite file that is not a database: that source is unavailable with a
 * clear error, the others keep working. */
static void test_faults__sqlite_not_a_database(void **state)
{
	char *junk = t_write(dir, "junk.db", "not a database, just text ....");
	char *path = t_write(dir, "junk.ini",
			     "[database]\ndefault_source = good\nfallback = "
			     "none\n[source.good]\ntype = sqlite\npath = "
			     "good.db\n[source.junk]\ntype = sqlite\npath = "
			     "junk.db\n[chat_mapping]\n-9 = junk\n");
	struct dbr *db = t_open(path);
	struct dbr_error err;
	int state_of;
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		assert_int_equal(
			dbr_query(db, -9, "SELECT 1", NULL, 0, NULL, &err),
			DBR_E_UNAVAILABLE);
		assert_non_null(strstr(err.message, "source 'junk' is "
						    "unavailable"));
		t_exec(db, 9, "SELECT 1", NULL, 0);
	}
	dbr_source_status(db, "junk", &state_of, NULL, &err);
	assert_int_equal(state_of, DBR_SOURCE_UNAVAILABLE);
	assert_non_null(strstr(err.message, "not a database"));
	dbr_source_status(db, NULL, &state_of, NULL, NULL);
	assert_int_equal(state_of, DBR_SOURCE_AVAILABLE);
	dbr_close(db);
	free(junk);
	free(path);
}

/* A listener on loopback that never answers: connects hang until the
 * driver's connect timeout. */
static int silent_listener(int *port)
{
	struct sockaddr_in a = { 0 };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 8), 0);
	getsockname(fd, (struct sockaddr *)&a, &len);
	*port = ntohs(a.sin_port);
	return fd;
}

/* The pool's wait, a connect and a statement each end with their own
 * clear error, within their timeout. */
static void test_faults__distinct_timeouts(void **state)
{
	char text[2048], *path;
	struct dbr_result *held;
	struct dbr_error err;
	struct dbr *db;
	int port, fd = silent_listener(&port);
	double t0;

	(void)state;
	snprintf(text, sizeof(text),
		 "[database]\ndefault_source = lite\nfallback = none\n"
		 "[source.lite]\ntype = sqlite\npath = t.db\n"
		 "max_connections = 1\ntimeout = 0.3\n"
		 "[source.deaf]\ntype = postgres\ntimeout = 2\n"
		 "conninfo = host=127.0.0.1 port=%d dbname=x\n"
		 "[source.slow]\ntype = postgres\nconninfo = %s\n"
		 "statement_timeout = 0.2\n"
		 "[source.rdeaf]\ntype = redis\nport = %d\ntimeout = 0.5\n"
		 "password_env = DBR_TEST_REDIS_PASSWORD\n"
		 "[source.rslow]\ntype = redis\nport = %s\ntimeout = 0.5\n"
		 "password_env = DBR_TEST_REDIS_PASSWORD\n",
		 port, getenv("DBR_TEST_PG"), port,
		 getenv("DBR_TEST_REDIS_PORT"));
	path = t_write(dir, "timeouts.ini", text);
	db = t_open(path);
	/* The pool's wait. */
	assert_int_equal(
		dbr_query_source(db, "lite", "SELECT 1", NULL, 0, &held, &err),
		DBR_OK);
	t0 = dbr__now();
	assert_int_equal(
		dbr_query_source(db, "lite", "SELECT 1", NULL, 0, NULL, &err),
		DBR_E_TIMEOUT);
	assert_true(dbr__now() - t0 < 2);
	assert_non_null(strstr(err.message, "no connection free after 0.3 s"));
	dbr_result_free(held);
	/* A connect that times out. */
	t0 = dbr__now();
	assert_int_equal(
		dbr_query_source(db, "deaf", "SELECT 1", NULL, 0, NULL, &err),
		DBR_E_UNAVAILABLE);
	assert_true(dbr__now() - t0 < 5);
	assert_non_null(strstr(err.message, "timeout expired"));
	t0 = dbr__now();
	assert_int_equal(
		dbr_query_source(db, "rdeaf", "PING", NULL, 0, NULL, &err),
		DBR_E_UNAVAILABLE);
	assert_true(dbr__now() - t0 < 3);
	/* A statement that times out. */
	assert_int_equal(dbr_query_source(db, "slow", "SELECT pg_sleep(3)",
					  NULL, 0, NULL, &err),
			 DBR_E_TIMEOUT);
	assert_string_equal(err.sqlstate, "57014");
	assert_non_null(strstr(err.message, "statement timeout"));
	t0 = dbr__now();
	assert_int_equal(dbr_query_source(db, "rslow", "BLPOP nolist 2", NULL,
					  0, NULL, &err),
			 DBR_E_TIMEOUT);
	assert_true(dbr__now() - t0 < 1.5);
	assert_non_null(strstr(err.message, "command timed out"));
	/* The timed-out connection is replaced, not reused. */
	sleep_s(2);
	t_exec(db, 0, "SELECT 1", NULL, 0);
	assert_int_equal(
		dbr_query_source(db, "rslow", "PING", NULL, 0, NULL, &err),
		DBR_OK);
	dbr_close(db);
	close(fd);
	free(path);
}

static int setup(void **state)
{
	const char *ctl = getenv("DBR_TEST_PG_CTL");
	const char *pid = getenv("DBR_TEST_MYSQL_PIDFILE");
	const char *sock = getenv("DBR_TEST_MYSQL");

	(void)state;
	dir = t_tmpdir();
	snprintf(pg_srv.keys, sizeof(pg_srv.keys), "conninfo = %s",
		 getenv("DBR_TEST_PG"));
	snprintf(pg_srv.stop, sizeof(pg_srv.stop),
		 "%s -m immediate stop >/dev/null", ctl);
	snprintf(pg_srv.start, sizeof(pg_srv.start),
		 "%s -l %s/pg-restart.log start >/dev/null", ctl, dir);
	snprintf(my_srv.keys, sizeof(my_srv.keys),
		 "unix_socket = %s\nuser = dbr\ndatabase = dbroute_test\n"
		 "password_env = DBR_TEST_MYSQL_PASSWORD",
		 sock);
	/* SIGKILL, then a bounded wait (5 s) until the process is gone. */
	snprintf(my_srv.stop, sizeof(my_srv.stop),
		 "p=$(cat %s) && kill -9 $p && n=0 && while kill -0 $p "
		 "2>/dev/null && [ $n -lt 50 ]; do sleep 0.1; n=$((n+1)); "
		 "done; rm -f %s",
		 pid, pid);
	/* Started in the background, then a bounded wait (15 s) until it
	 * answers, as pg_ctl -w does. */
	snprintf(my_srv.start, sizeof(my_srv.start),
		 "(%s </dev/null >/dev/null 2>&1 &); n=0; until mariadb-admin "
		 "--no-defaults -uroot --socket=%s ping >/dev/null 2>&1; do "
		 "[ $n -lt 150 ] || exit 1; sleep 0.1; n=$((n+1)); done",
		 getenv("DBR_TEST_MYSQL_START"), sock);
	chmod(dir, 0777); /* the postgres user writes its log here */
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	t_rmtree(dir);
	free(dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_faults__postgres_down_fallback_default),
		cmocka_unit_test(test_faults__postgres_down_fallback_none),
		cmocka_unit_test(test_faults__mysql_down_fallback_default),
		cmocka_unit_test(test_faults__mysql_down_fallback_none),
		cmocka_unit_test(test_faults__redis_killed),
		cmocka_unit_test(test_faults__sqlite_not_a_database),
		cmocka_unit_test(test_faults__distinct_timeouts),
	};

	int rc = t_need_server("DBR_TEST_PG_CTL", "PostgreSQL to stop");

	if (!rc)
		rc = t_need_server("DBR_TEST_REDIS_START",
				   "redis-server to stop");
	if (!rc)
		rc = t_need_server("DBR_TEST_MYSQL_START", "mariadbd to stop");
	if (rc)
		return rc;
	return cmocka_run_group_tests(tests, setup, teardown);
}
