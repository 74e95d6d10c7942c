/*
 * test_pool.c - the connection pool: bounded, never shares a connection
 * between threads, LIFO reuse, lost connections discarded, acquire
 * timeout.
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
		s = slot_of(res->dc);
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
	assert_true(dbr__pool_count(&db->pools[0], DBR__SLOT_EMPTY) ==
		    POOL - nslots);
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
	struct dbr__pool *p = &db->pools[0];
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool__threads_never_share),
		cmocka_unit_test(test_pool__acquire_timeout),
		cmocka_unit_test(test_pool__lifo_and_lost),
		cmocka_unit_test(test_pool__single_connection_in_turn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
