/*
 * test_pool.c - the connection pool: bounded, never shares a connection
 * between threads, LIFO reuse across threads and clock ticks, lost
 * connections discarded, acquire timeout; the connection rule for a
 * driver without is_clean; idle connections closed after idle_timeout
 * and by dbr_source_close_idle().
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "handle.h"
#include "helpers.h"

#define THREADS 8
#define ROUNDS	200
#define POOL	3

struct slot {
	const void *conn;
	atomic_int busy;
};

static struct slot slots[16];
static size_t nslots;
static pthread_mutex_t slot_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int overlaps, failures;

static struct slot *slot_of(const void *conn)
{
	struct slot *s = NULL;
	size_t i;

	pthread_mutex_lock(&slot_mu);
	for (i = 0; i < nslots; i++)
		if (slots[i].conn == conn)
			s = &slots[i];
	if (!s && nslots < 16) {
		s = &slots[nslots++];
		s->conn = conn;
	}
	pthread_mutex_unlock(&slot_mu);
	return s;
}

static void *hammer(void *arg)
{
	struct dbr *db = arg;
	struct dbr_result *res;
	struct dbr_error err;
	struct slot *s;
	int i;

	for (i = 0; i < ROUNDS; i++) {
		if (dbr_query(db, i, "SELECT 1", NULL, 0, &res, &err)) {
			fprintf(stderr, "query: %s\n", err.message);
			atomic_fetch_add(&failures, 1);
			continue;
		}
		s = slot_of(dbr__result_of(res)->dc);
		if (!s || atomic_exchange(&s->busy, 1))
			atomic_fetch_add(&overlaps, 1);
		if (dbr_result_next(res) != DBR_ROW)
			atomic_fetch_add(&failures, 1);
		sched_yield();
		if (s)
			atomic_store(&s->busy, 0);
		dbr_result_free(res);
	}
	return NULL;
}

static char *make_config(char *dir, int max, const char *timeout)
{
	char text[256];

	snprintf(text, sizeof(text),
		 "[source.p]\ntype = sqlite\npath = p.db\n"
		 "max_connections = %d\ntimeout = %s\n",
		 max, timeout);
	return t_write(dir, "p.ini", text);
}

static void test_pool__threads_never_share(void **state)
{
	char *dir = t_tmpdir(), *path = make_config(dir, POOL, "30");
	pthread_t th[THREADS];
	struct dbr *db = t_open(path);
	int i;

	(void)state;
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, hammer, db), 0);
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(atomic_load(&overlaps), 0);
	assert_int_equal(atomic_load(&failures), 0);
	assert_true(nslots >= 1 && nslots <= POOL);
	assert_true(dbr__pool_count(&db->cfg->sources[0].rt->pool,
				    DBR__SLOT_EMPTY) == POOL - nslots);
	dbr_close(db);
	t_rmtree(dir);
	free(path);
	free(dir);
}

static void test_pool__acquire_timeout(void **state)
{
	char *dir = t_tmpdir(), *path = make_config(dir, 1, "0.2");
	struct dbr *db = t_open(path);
	struct dbr_result *held, *res;
	struct dbr_error err;
	double t0, waited;

	(void)state;
	assert_int_equal(dbr_query(db, 1, "SELECT 1", NULL, 0, &held, &err),
			 DBR_OK);
	t0 = dbr__now();
	assert_int_equal(dbr_query(db, 2, "SELECT 1", NULL, 0, &res, &err),
			 DBR_E_TIMEOUT);
	waited = dbr__now() - t0;
	assert_null(res);
	assert_true(waited >= 0.19);
	assert_true(waited < 10); /* bounded, not a performance assertion */
	assert_string_equal(err.source, "p");
	assert_string_equal(err.message, "source 'p': no connection free "
					 "after 0.2 s (max_connections = 1)");
	dbr_result_free(held);
	/* Freed: the next caller gets it at once. */
	assert_int_equal(dbr_query(db, 2, "SELECT 1", NULL, 0, NULL, &err),
			 DBR_OK);
	dbr_close(db);
	t_rmtree(dir);
	free(path);
	free(dir);
}

static void test_pool__lifo_and_lost(void **state)
{
	char *dir = t_tmpdir(), *path = make_config(dir, 2, "1");
	struct dbr *db = t_open(path);
	struct dbr__pool *p = &db->cfg->sources[0].rt->pool;
	struct dbr__pconn *a, *b, *c;
	struct dbr_error err;

	(void)state;
	assert_int_equal(dbr__pool_acquire(p, &a, &err), DBR_OK);
	assert_int_equal(dbr__pool_acquire(p, &b, &err), DBR_OK);
	assert_ptr_not_equal(a, b);
	assert_int_equal(dbr__pool_count(p, DBR__SLOT_TAKEN), 2);
	dbr__pool_put(a);
	dbr__pool_put(b);
	assert_int_equal(dbr__pool_acquire(p, &c, &err), DBR_OK);
	assert_ptr_equal(c, b); /* last in, first out */
	/* A connection the driver reported lost is closed, not pooled. */
	c->lost = true;
	dbr__pool_put(c);
	assert_int_equal(dbr__pool_count(p, DBR__SLOT_EMPTY), 1);
	assert_int_equal(dbr__pool_count(p, DBR__SLOT_IDLE), 1);
	/* An idle connection past the ping age is pinged and reused. */
	atomic_fetch_sub(&a->put_ns,
			 (uint64_t)((DBR__IDLE_PING_SECONDS + 1) * 1e9));
	assert_int_equal(dbr__pool_acquire(p, &c, &err), DBR_OK);
	assert_ptr_equal(c, a);
	dbr__pool_put(c);
	dbr_close(db);
	t_rmtree(dir);
	free(path);
	free(dir);
}

/* One connection, several threads: each gets it in turn or, after the
 * timeout, the timeout error; never a shared connection. */
static atomic_int in_use, shared, timeouts, served;

static void *single(void *arg)
{
	struct dbr *db = arg;
	struct dbr_result *res;
	struct dbr_error err;
	struct timespec ts = { 0, 2 * 1000 * 1000 };
	int i, rc;

	for (i = 0; i < 50; i++) {
		rc = dbr_query(db, i, "SELECT 1", NULL, 0, &res, &err);
		if (rc == DBR_E_TIMEOUT) {
			atomic_fetch_add(&timeouts, 1);
			continue;
		}
		assert_int_equal(rc, DBR_OK);
		if (atomic_fetch_add(&in_use, 1) != 0)
			atomic_fetch_add(&shared, 1);
		nanosleep(&ts, NULL);
		atomic_fetch_sub(&in_use, 1);
		atomic_fetch_add(&served, 1);
		dbr_result_free(res);
	}
	return NULL;
}

static void test_pool__single_connection_in_turn(void **state)
{
	char *dir = t_tmpdir(), *path = make_config(dir, 1, "0.005");
	struct dbr *db = t_open(path);
	pthread_t th[4];
	int i;

	(void)state;
	for (i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, single, db);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(atomic_load(&shared), 0);
	assert_int_equal(atomic_load(&served) + atomic_load(&timeouts), 200);
	assert_true(atomic_load(&served) > 0);
	assert_true(atomic_load(&timeouts) > 0); /* 2 ms holds, 5 ms waits */
	dbr_close(db);
	t_rmtree(dir);
	free(path);
	free(dir);
}

/*
 * The connection each of three threads finds, identified by SQLite's
 * per-connection last_insert_rowid(): a fresh thread has no preferred
 * slot of its own, so it gets the connection given back last.
 */
struct taker {
	struct dbr *db;
	struct dbr_result *res; /* left open: it holds the connection */
	int64_t id;
};

static void *take_one(void *arg)
{
	struct taker *t = arg;
	struct dbr_error err;

	t->id = -1;
	if (dbr_query_source(t->db, "p", "SELECT last_insert_rowid()", NULL, 0,
			     &t->res, &err) ||
	    dbr_result_next(t->res) != DBR_ROW)
		return NULL;
	t->id = dbr_result_int64(t->res, 0);
	return NULL;
}

static void run_thread(void *(*fn)(void *), void *arg)
{
	pthread_t th;

	assert_int_equal(pthread_create(&th, NULL, fn, arg), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
}

static void *free_one(void *arg)
{
	dbr_result_free(arg);
	return NULL;
}

static void test_pool__lifo_across_threads_and_ticks(void **state)
{
	char *dir = t_tmpdir(), *path = make_config(dir, 3, "5");
	struct dbr *db = t_open(path);
	/* 20 ms: longer than a tick of the coarse clock that stamps puts. */
	struct timespec tick = { 0, 20 * 1000 * 1000 };
	struct dbr_result *held[3];
	struct taker took[3];
	struct dbr_value id;
	struct dbr_error err;
	struct dbr_tx *tx;
	static const int put_order[3] = { 1, 2, 0 };
	static const int64_t want[3] = { 1, 3, 2 };
	int i;

	(void)state;
	t_exec(db, 1, "CREATE TABLE t (id INTEGER PRIMARY KEY)", NULL, 0);
	/*
	 * Three connections, each marked by the row id it inserted last
	 * (i + 1) and then held by an open result: with the others held,
	 * each transaction and each result gets the one connection free.
	 */
	for (i = 0; i < 3; i++) {
		assert_int_equal(dbr_tx_begin_source(db, "p", &tx, &err),
				 DBR_OK);
		id = dbr_int64(i + 1);
		assert_int_equal(dbr_tx_query(tx,
					      "INSERT INTO t (id) VALUES (?)",
					      &id, 1, NULL, &err),
				 DBR_OK);
		assert_int_equal(dbr_tx_commit(tx, &err), DBR_OK);
		assert_int_equal(dbr_query_source(db, "p",
						  "SELECT last_insert_rowid()",
						  NULL, 0, &held[i], &err),
				 DBR_OK);
		assert_int_equal(dbr_result_next(held[i]), DBR_ROW);
		assert_int_equal(dbr_result_int64(held[i], 0), i + 1);
	}
	assert_int_equal(
		dbr__pool_count(&db->cfg->sources[0].rt->pool, DBR__SLOT_TAKEN),
		3);
	/* Given back by three threads, a tick apart: 2, 3, then 1. */
	for (i = 0; i < 3; i++) {
		nanosleep(&tick, NULL);
		run_thread(free_one, held[put_order[i]]);
	}
	assert_int_equal(
		dbr__pool_count(&db->cfg->sources[0].rt->pool, DBR__SLOT_IDLE),
		3);
	/* Taken by three other threads, each keeping its connection: last
	 * in, first out (1, 3, 2), not first in (2, 3, 1) nor slot order
	 * (1, 2, 3). */
	for (i = 0; i < 3; i++) {
		took[i] = (struct taker){ db, NULL, 0 };
		run_thread(take_one, &took[i]);
	}
	for (i = 0; i < 3; i++) {
		assert_int_equal(took[i].id, want[i]);
		dbr_result_free(took[i].res);
	}
	dbr_close(db);
	t_rmtree(dir);
	free(path);
	free(dir);
}

/* A config of one source of the template driver (built into
 * <build>/plugins.d, where test programs of the build tree look). */
static char *template_config(char *dir)
{
	return t_write(dir, "t.ini",
		       "[source.t]\ntype = template\nmax_connections = 2\n");
}

/*
 * The template driver has no is_clean: a connection on which a call
 * failed is closed when given back, one without errors is pooled (and
 * then reused). Seventeen parameters are one more than the template
 * driver takes: its query call fails.
 */
static void test_pool__without_is_clean_errors_close(void **state)
{
	char *dir = t_tmpdir(), *path = template_config(dir);
	struct dbr *db = t_open(path);
	struct dbr__pool *p = &db->cfg->sources[0].rt->pool;
	struct dbr_value v[17];
	struct dbr_result *res;
	struct dbr_error err;
	const void *first;
	int i;

	(void)state;
	assert_null(p->src->drv->vt.is_clean);
	for (i = 0; i < 17; i++)
		v[i] = dbr_int64(i);
	/* No error: pooled, and the same connection serves the next call. */
	assert_int_equal(dbr_query_source(db, "t", "x", v, 1, &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	first = dbr__result_of(res)->dc;
	dbr_result_free(res);
	assert_int_equal(dbr__pool_count(p, DBR__SLOT_IDLE), 1);
	assert_int_equal(dbr_query_source(db, "t", "x", v, 1, &res, &err),
			 DBR_OK);
	assert_ptr_equal(dbr__result_of(res)->dc, first);
	dbr_result_free(res);
	assert_int_equal(dbr__pool_count(p, DBR__SLOT_IDLE), 1);
	/* An error on it: closed, not pooled. */
	assert_int_equal(dbr_query_source(db, "t", "x", v, 17, NULL, &err),
			 DBR_E_MISUSE);
	assert_non_null(strstr(err.message, "at most 16 parameters"));
	assert_int_equal(dbr__pool_count(p, DBR__SLOT_IDLE), 0);
	assert_int_equal(dbr__pool_count(p, DBR__SLOT_EMPTY), 2);
	/* The next call opens a new one and pools it. */
	assert_int_equal(dbr_query_source(db, "t", "x", v, 2, NULL, &err),
			 DBR_OK);
	assert_int_equal(dbr__pool_count(p, DBR__SLOT_IDLE), 1);
	dbr_close(db);
	t_rmtree(dir);
	free(path);
	free(dir);
}

static char *idle_config(char *dir, const char *idle_timeout)
{
	char text[256], name[64];

	snprintf(text, sizeof(text),
		 "[source.p]\ntype = sqlite\npath = p.db\n"
		 "max_connections = 3\nidle_timeout = %s\n"
		 "[source.q]\ntype = sqlite\npath = q.db\n"
		 "[database]\ndefault_source = p\n",
		 idle_timeout);
	snprintf(name, sizeof(name), "idle-%s.ini", idle_timeout);
	return t_write(dir, name, text);
}

/* Two connections opened at once, then both given back idle. */
static void make_two_idle(struct dbr *db)
{
	struct dbr_result *a, *b;
	struct dbr_error err;

	assert_int_equal(
		dbr_query_source(db, "p", "SELECT 1", NULL, 0, &a, &err),
		DBR_OK);
	assert_int_equal(
		dbr_query_source(db, "p", "SELECT 2", NULL, 0, &b, &err),
		DBR_OK);
	dbr_result_free(a);
	dbr_result_free(b);
	assert_int_equal(
		dbr__pool_count(&db->cfg->sources[0].rt->pool, DBR__SLOT_IDLE),
		2);
}

/*
 * idle_timeout: connections idle longer are closed, lazily, when the pool
 * is next used (a connection given back sweeps, at most every half
 * idle_timeout under 2 s). The one just used stays; with idle_timeout = 0
 * none is closed.
 */
static void test_pool__idle_timeout_closes(void **state)
{
	char *dir = t_tmpdir(), *path = idle_config(dir, "0.2"),
	     *never = idle_config(dir, "0");
	struct timespec wait = { 0, 500 * 1000 * 1000 };
	struct dbr *db = t_open(path);
	struct dbr__pool *p = &db->cfg->sources[0].rt->pool;

	(void)state;
	assert_true(p->src->idle_timeout == 0.2);
	make_two_idle(db);
	nanosleep(&wait, NULL);
	t_exec(db, 1, "SELECT 3", NULL, 0);
	assert_int_equal(dbr__pool_count(p, DBR__SLOT_IDLE), 1);
	assert_int_equal(dbr__pool_count(p, DBR__SLOT_EMPTY), 2);
	/* Still usable: the sweep closed only what was idle. */
	t_exec(db, 1, "SELECT 4", NULL, 0);
	dbr_close(db);
	/* 0: never. */
	db = t_open(never);
	p = &db->cfg->sources[0].rt->pool;
	make_two_idle(db);
	nanosleep(&wait, NULL);
	t_exec(db, 1, "SELECT 3", NULL, 0);
	assert_int_equal(dbr__pool_count(p, DBR__SLOT_IDLE), 2);
	dbr_close(db);
	t_rmtree(dir);
	free(never);
	free(path);
	free(dir);
}

/*
 * dbr_source_close_idle(): closes a source's idle connections now, leaves
 * one in use alone (it is pooled when given back), NULL means every
 * source, an unknown name is DBR_E_NOTFOUND.
 */
static void test_pool__close_idle(void **state)
{
	char *dir = t_tmpdir(), *path = idle_config(dir, "300");
	struct dbr *db = t_open(path);
	struct dbr__pool *p = &db->cfg->sources[0].rt->pool,
			 *q = &db->cfg->sources[1].rt->pool;
	struct dbr_result *held;
	struct dbr_error err;

	(void)state;
	assert_string_equal(q->src->name, "q");
	make_two_idle(db);
	assert_int_equal(dbr_source_close_idle(db, "p", &err), DBR_OK);
	assert_int_equal(dbr__pool_count(p, DBR__SLOT_IDLE), 0);
	assert_int_equal(dbr__pool_count(p, DBR__SLOT_EMPTY), 3);
	/* One in use is left alone, and pooled when freed. */
	make_two_idle(db);
	assert_int_equal(
		dbr_query_source(db, "p", "SELECT 5", NULL, 0, &held, &err),
		DBR_OK);
	assert_int_equal(dbr_source_close_idle(db, "p", &err), DBR_OK);
	assert_int_equal(dbr__pool_count(p, DBR__SLOT_IDLE), 0);
	assert_int_equal(dbr__pool_count(p, DBR__SLOT_TAKEN), 1);
	assert_int_equal(dbr_result_next(held), DBR_ROW);
	assert_int_equal(dbr_result_int64(held, 0), 5);
	dbr_result_free(held);
	assert_int_equal(dbr__pool_count(p, DBR__SLOT_IDLE), 1);
	/* NULL: every source. */
	assert_int_equal(
		dbr_query_source(db, "q", "SELECT 1", NULL, 0, NULL, &err),
		DBR_OK);
	assert_int_equal(dbr__pool_count(q, DBR__SLOT_IDLE), 1);
	assert_int_equal(dbr_source_close_idle(db, NULL, &err), DBR_OK);
	assert_int_equal(dbr__pool_count(p, DBR__SLOT_IDLE), 0);
	assert_int_equal(dbr__pool_count(q, DBR__SLOT_IDLE), 0);
	assert_int_equal(dbr_source_close_idle(db, "nope", &err),
			 DBR_E_NOTFOUND);
	assert_int_equal(dbr_source_close_idle(NULL, "p", &err), DBR_E_MISUSE);
	/* The pools still work. */
	t_exec(db, 1, "SELECT 1", NULL, 0);
	dbr_close(db);
	t_rmtree(dir);
	free(path);
	free(dir);
}

static atomic_bool census_stop;

static void *census_load(void *arg)
{
	struct dbr *db = arg;
	struct dbr_result *res;
	struct dbr_error err;
	int i;

	for (i = 0; i < 1000000 && !atomic_load(&census_stop); i++) {
		if (dbr_query(db, i, "SELECT 1", NULL, 0, &res, &err))
			continue;
		while (dbr_result_next(res) == DBR_ROW)
			;
		dbr_result_free(res);
	}
	return NULL;
}

/*
 * dbr_source_stats() under load: each sample counts each slot once, so
 * open never passes max and open == in_use + idle, whatever the slots do
 * while they are counted.
 */
static void test_pool__stats_census_consistent(void **state)
{
	char *dir = t_tmpdir(), *path = make_config(dir, 4, "5");
	struct dbr *db = t_open(path);
	pthread_t th[THREADS];
	double until = dbr__now() + 3;
	long bad = 0, n;
	int i;

	(void)state;
	atomic_store(&census_stop, false);
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, census_load, db),
				 0);
	for (n = 0; n < 200000 && dbr__now() < until; n++) {
		struct dbr_source_stats st = { .size = sizeof(st) };

		assert_int_equal(dbr_source_stats(db, NULL, &st, NULL), DBR_OK);
		if (st.pool_open > st.pool_max ||
		    st.pool_open != st.pool_in_use + st.pool_idle) {
			if (!bad++)
				fprintf(stderr,
					"max %u open %u in use %u idle %u\n",
					st.pool_max, st.pool_open,
					st.pool_in_use, st.pool_idle);
		}
	}
	atomic_store(&census_stop, true);
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(bad, 0);
	dbr_close(db);
	t_rmtree(dir);
	free(path);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool__threads_never_share),
		cmocka_unit_test(test_pool__acquire_timeout),
		cmocka_unit_test(test_pool__lifo_and_lost),
		cmocka_unit_test(test_pool__single_connection_in_turn),
		cmocka_unit_test(test_pool__lifo_across_threads_and_ticks),
		cmocka_unit_test(test_pool__without_is_clean_errors_close),
		cmocka_unit_test(test_pool__idle_timeout_closes),
		cmocka_unit_test(test_pool__close_idle),
		cmocka_unit_test(test_pool__stats_census_consistent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
