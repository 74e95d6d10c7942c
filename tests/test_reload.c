/*
 * test_reload.c - dbr_reload(): all or nothing, sources kept or drained,
 * the refusals, and reloads while threads run queries. The PostgreSQL
 * cases need the server scripts/test.sh starts (DBR_TEST_PG).
 */
#define _GNU_SOURCE /* asprintf */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "handle.h"
#include "snapshot.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A first-column integer through db, on a source or (NULL) chat 1. */
static int64_t q_int(struct dbr *db, const char *source, const char *sql)
{
	struct dbr_result *res;
	struct dbr_error err;
	int64_t v = -1;
	int rc = source ? dbr_query_source(db, source, sql, NULL, 0, &res, &err)
			: dbr_query(db, 1, sql, NULL, 0, &res, &err);

	if (rc) {
		fprintf(stderr, "%s: %s\n", sql, err.message);
		return -1;
	}
	if (dbr_result_next(res) == DBR_ROW)
		v = dbr_result_int64(res, 0);
	dbr_result_free(res);
	return v;
}

static void assert_route(struct dbr *db, int64_t chat, const char *want)
{
	char src[DBR_NAME_SIZE];
	int reason;

	assert_int_equal(dbr_route_chat(db, chat, src, sizeof(src), &reason),
			 DBR_OK);
	assert_string_equal(src, want);
}

#define BASE                                                                   \
	"[database]\ndefault_source = a\n"                                     \
	"[source.a]\ntype = sqlite\npath = a.db\n"                             \
	"[source.b]\ntype = sqlite\npath = b.db\n"

static void test_reload__errors_keep_configuration(void **state)
{
	struct t_handle *h =
		t_handle_open("r.ini", BASE "[chat_mapping]\n1 = b\n");
	struct dbr_error err;
	char want[512];
	char *bad;

	(void)state;
	/* Line 10: no '='; line 12: a mapping to no source. */
	bad = t_write(h->dir, "bad.ini",
		      BASE "[chat_mapping]\nbogus_key\n1 = a\n2 = nowhere\n");
	assert_int_equal(dbr_reload(h->db, bad, &err), DBR_E_CONFIG);
	snprintf(want, sizeof(want), "%s:10:", bad);
	assert_non_null(strstr(err.message, want));
	snprintf(want, sizeof(want), "%s:12:", bad);
	assert_non_null(strstr(err.message, want));
	assert_route(h->db, 1, "b");
	/* The file in force is read again with NULL: still fine. */
	assert_int_equal(dbr_reload(h->db, NULL, &err), DBR_OK);
	assert_route(h->db, 1, "b");
	free(bad);
	t_handle_close(h);
}

/*
 * A reload of the same bytes (a SIGHUP without an edit) swaps nothing and
 * keeps nothing: the configuration in force stays the same object, no
 * record of a replaced one is kept. Any edit, even a comment, reloads;
 * so does a file too large to be kept whole (256 KiB), every time.
 */
static void test_reload__unchanged_file_keeps_everything(void **state)
{
	struct t_handle *h = t_handle_open("u.ini", BASE "[chat_mapping]\n"
							 "1 = b\n");
	const struct dbr__config *cfg = h->db->cfg;
	struct dbr_error err;
	char *big, *path;
	size_t len;
	int i;

	(void)state;
	for (i = 0; i < 100; i++)
		assert_int_equal(dbr_reload(h->db, NULL, &err), DBR_OK);
	assert_ptr_equal(h->db->cfg, cfg);
	assert_null(h->db->retired);
	assert_int_equal(dbr_reload(h->db, h->path, &err), DBR_OK);
	assert_ptr_equal(h->db->cfg, cfg);
	free(t_write(h->dir, "u.ini", BASE "[chat_mapping]\n1 = b\n; edit\n"));
	assert_int_equal(dbr_reload(h->db, NULL, &err), DBR_OK);
	assert_ptr_not_equal(h->db->cfg, cfg);
	assert_non_null(h->db->retired);
	assert_route(h->db, 1, "b");
	/* Over 256 KiB of comments: not kept, so read and swapped again. */
	len = 300 << 10;
	big = malloc(len + 128);
	assert_non_null(big);
	snprintf(big, len + 128, "%s[chat_mapping]\n1 = a\n", BASE);
	for (i = (int)strlen(big); i < (int)len; i += 64)
		snprintf(big + i, len + 128 - (size_t)i, "; %61s\n", "x");
	path = t_write(h->dir, "u.ini", big);
	free(path);
	free(big);
	assert_int_equal(dbr_reload(h->db, NULL, &err), DBR_OK);
	cfg = h->db->cfg;
	assert_null(cfg->text);
	assert_route(h->db, 1, "a");
	assert_int_equal(dbr_reload(h->db, NULL, &err), DBR_OK);
	assert_ptr_not_equal(h->db->cfg, cfg);
	t_handle_close(h);
}

static void test_reload__applies_mapping_and_sources(void **state)
{
	struct t_handle *h =
		t_handle_open("r.ini", BASE "[chat_mapping]\n1 = b\n");
	struct dbr_source_stats st = { .size = sizeof(st) };
	struct dbr_error err;
	char *next;

	(void)state;
	t_exec(h->db, 1, "CREATE TABLE t(x INTEGER)", NULL, 0);
	t_exec(h->db, 1, "INSERT INTO t VALUES (7)", NULL, 0);
	assert_int_equal(dbr_source_stats(h->db, "b", &st, &err), DBR_OK);
	assert_true(st.ops >= 2);
	next = t_write(h->dir, "r.ini",
		       BASE "[source.c]\ntype = sqlite\npath = c.db\n"
			    "[chat_mapping]\n1 = a\n2 = b\n");
	assert_int_equal(dbr_reload(h->db, NULL, &err), DBR_OK);
	assert_route(h->db, 1, "a");
	assert_route(h->db, 2, "b");
	/* b was kept: its counters and its connection (the table's rows). */
	assert_int_equal(dbr_source_stats(h->db, "b", &st, &err), DBR_OK);
	assert_true(st.ops >= 2);
	assert_true(st.pool_open >= 1);
	assert_int_equal(q_int(h->db, "b", "SELECT x FROM t"), 7);
	assert_int_equal(q_int(h->db, "c", "SELECT 3"), 3);
	free(next);
	t_handle_close(h);
}

/* dbr_metrics_write()'s text, appended to a buffer. */
struct text {
	char buf[1 << 16];
	size_t len;
};

static int collect(void *ud, const char *text, size_t len)
{
	struct text *t = ud;

	if (t->len + len >= sizeof(t->buf))
		return -1;
	memcpy(t->buf + t->len, text, len);
	t->len += len;
	t->buf[t->len] = '\0';
	return 0;
}

/* Reload `text` and expect a refusal whose message holds `needle`. */
static void refused(struct t_handle *h, const char *text, const char *needle)
{
	struct dbr_error err;
	char *p = t_write(h->dir, "next.ini", text);

	assert_int_equal(dbr_reload(h->db, p, &err), DBR_E_CONFIG);
	if (!strstr(err.message, needle))
		fprintf(stderr, "refusal: %s\n", err.message);
	assert_non_null(strstr(err.message, needle));
	free(p);
}

static void test_reload__refusals(void **state)
{
	struct t_handle *h = t_handle_open(
		"r.ini", BASE "[mapping]\nstore = a\n[chat_mapping]\n1 = b\n");
	struct dbr__store_row rows[] = { { 7, "b" }, { 8, "b" }, { 9, "a" } };
	struct dbr_error err;
	char *p;

	(void)state;
	/* The store's tables do not exist, so the refresher loads nothing:
	 * the table is loaded by hand, as the refresher would. */
	assert_true(dbr__snap_current(&h->db->snaps)->store_expected);
	assert_int_equal(dbr__snap_store_load(&h->db->snaps, 3, rows, 3, &err),
			 DBR_OK);
	refused(h,
		"[database]\ndefault_source = a\n"
		"[source.a]\ntype = postgres\nconninfo = host=127.0.0.1\n"
		"[source.b]\ntype = sqlite\npath = b.db\n"
		"[mapping]\nstore = a\n[chat_mapping]\n1 = b\n",
		"the mapping store's source 'a' changes type");
	refused(h,
		"[database]\ndefault_source = b\n"
		"[source.a]\ntype = sqlite\npath = a.db\n"
		"[source.b]\ntype = sqlite\npath = b.db\n"
		"[mapping]\nstore = a\n",
		"default_source changes from 'a' to 'b'");
	refused(h, BASE "[chat_mapping]\n1 = b\n", "[mapping] store changes");
	refused(h, BASE "[mapping]\nstore = b\n", "[mapping] store changes");
	/* b removed: the new file maps nothing to it, the store does. */
	refused(h,
		"[database]\ndefault_source = a\n"
		"[source.a]\ntype = sqlite\npath = a.db\n"
		"[mapping]\nstore = a\n",
		"cannot remove source 'b' while the mapping store maps 2 "
		"chats to it: ");
	assert_route(h->db, 1, "b");
	assert_route(h->db, 7, "b");
	/* A change of its options is not a removal: allowed. */
	p = t_write(h->dir, "r.ini",
		    BASE "max_connections = 3\n[mapping]\nstore = a\n"
			 "[chat_mapping]\n1 = b\n");
	assert_int_equal(dbr_reload(h->db, p, &err), DBR_OK);
	assert_route(h->db, 7, "b");
	free(p);
	/* Counted: five refused, one done. */
	{
		static struct text t;

		assert_int_equal(dbr_metrics_write(h->db, collect, &t, &err),
				 DBR_OK);
		assert_non_null(strstr(
			t.buf, "dbroute_reloads_total{result=\"ok\"} 1\n"));
		assert_non_null(strstr(
			t.buf, "dbroute_reloads_total{result=\"failed\"} 5\n"));
	}
	t_handle_close(h);
}

/*
 * The default source or the store kept by name but given other options
 * (another path): refused, as a change of default_source or store.
 */
static void test_reload__default_and_store_options_refused(void **state)
{
	struct t_handle *h = t_handle_open(
		"r.ini", BASE "[mapping]\nstore = b\n[chat_mapping]\n1 = b\n");

	(void)state;
	refused(h,
		"[database]\ndefault_source = a\n"
		"[source.a]\ntype = sqlite\npath = other.db\n"
		"[source.b]\ntype = sqlite\npath = b.db\n"
		"[mapping]\nstore = b\n[chat_mapping]\n1 = b\n",
		"default_source 'a' changes its options");
	refused(h,
		"[database]\ndefault_source = a\n"
		"[source.a]\ntype = sqlite\npath = a.db\n"
		"[source.b]\ntype = sqlite\npath = other.db\n"
		"[mapping]\nstore = b\n[chat_mapping]\n1 = b\n",
		"the mapping store's source 'b' changes its options");
	t_handle_close(h);
}

/* A retyped source that the new [chat_mapping] names: refused. */
static void test_reload__retype_refused(void **state)
{
	struct t_handle *h =
		t_handle_open("r.ini", BASE "[chat_mapping]\n5 = b\n6 = b\n");

	(void)state;
	refused(h,
		"[database]\ndefault_source = a\n"
		"[source.a]\ntype = sqlite\npath = a.db\n"
		"[source.b]\ntype = redis\nhost = 127.0.0.1\n"
		"[chat_mapping]\n5 = b\n6 = b\n",
		"cannot retype source 'b' while [chat_mapping] maps 2 chats");
	assert_route(h->db, 5, "b");
	t_handle_close(h);
}

/* A changed source drains: a transaction begun before commits on its old
 * connection, new operations get a new pool, the old pool closes. */
static void test_reload__changed_source_drains(void **state)
{
	struct t_handle *h =
		t_handle_open("r.ini", BASE "[chat_mapping]\n1 = b\n");
	struct dbr_source_stats st = { .size = sizeof(st) };
	struct dbr__source_rt *old;
	struct dbr_error err;
	struct dbr_tx *tx;
	size_t idle, in_use;

	(void)state;
	t_exec(h->db, 1, "CREATE TABLE t(x INTEGER)", NULL, 0);
	old = dbr__config_source(h->db->cfg, "b")->rt;
	assert_int_equal(dbr_tx_begin(h->db, 1, &tx, &err), DBR_OK);
	assert_int_equal(dbr_tx_query(tx, "INSERT INTO t VALUES (1)", NULL, 0,
				      NULL, &err),
			 DBR_OK);
	free(t_write(h->dir, "r.ini",
		     BASE "max_connections = 3\n[chat_mapping]\n1 = b\n"));
	assert_int_equal(dbr_reload(h->db, NULL, &err), DBR_OK);
	assert_ptr_not_equal(dbr__config_source(h->db->cfg, "b")->rt, old);
	assert_true(atomic_load(&old->pool.retired));
	dbr__pool_census(&old->pool, &idle, &in_use);
	assert_int_equal(in_use, 1);
	assert_int_equal(idle, 0);
	/* The new pool is fresh; the old connection still holds the
	 * write lock, so no write is tried on b until the commit. */
	assert_int_equal(dbr_source_stats(h->db, "b", &st, &err), DBR_OK);
	assert_int_equal(st.pool_open, 0);
	assert_int_equal(dbr_tx_commit(tx, &err), DBR_OK);
	dbr__pool_census(&old->pool, &idle, &in_use);
	assert_int_equal(in_use + idle, 0);
	assert_int_equal(q_int(h->db, NULL, "SELECT count(*) FROM t"), 1);
	t_handle_close(h);
}

static void *select_chat_1(void *arg)
{
	static int rc;
	struct dbr_error err;

	rc = dbr_query(arg, 1, "SELECT 1", NULL, 0, NULL, &err);
	if (rc)
		fprintf(stderr, "waiter: %s\n", err.message);
	return &rc;
}

/* An operation waiting for a connection of a source that a reload
 * changes is woken and routed again, to the new pool, at once. */
static void test_reload__waiter_routed_again(void **state)
{
	struct t_handle *h = t_handle_open("r.ini", BASE
					   "max_connections = 1\ntimeout = 30\n"
					   "[chat_mapping]\n1 = b\n");
	struct dbr__source_rt *old;
	struct dbr_error err;
	struct dbr_tx *tx;
	pthread_t th;
	double t0;
	void *ret;

	(void)state;
	old = dbr__config_source(h->db->cfg, "b")->rt;
	assert_int_equal(dbr_tx_begin(h->db, 1, &tx, &err), DBR_OK);
	assert_int_equal(pthread_create(&th, NULL, select_chat_1, h->db), 0);
	t0 = now_s();
	while (atomic_load(&old->pool.waiters) < 1 && now_s() - t0 < 10)
		usleep(1000);
	assert_int_equal(atomic_load(&old->pool.waiters), 1);
	free(t_write(h->dir, "r.ini",
		     BASE "max_connections = 2\ntimeout = 30\n"
			  "[chat_mapping]\n1 = b\n"));
	t0 = now_s();
	assert_int_equal(dbr_reload(h->db, NULL, &err), DBR_OK);
	pthread_join(th, &ret);
	assert_int_equal(*(int *)ret, DBR_OK);
	/* Not the 30 s timeout: woken by the retirement. */
	assert_true(now_s() - t0 < 10);
	assert_int_equal(dbr_tx_commit(tx, &err), DBR_OK);
	t_handle_close(h);
}

/* The audit events a hook saw: reloads only, copied. */
static struct {
	int n, status[8];
	char added[8][64], changed[8][64], removed[8][64], message[8][256];
} seen;

static void on_audit(void *ud, const struct dbr_audit_event *ev)
{
	int i = seen.n;

	(void)ud;
	if (ev->kind != DBR_AUDIT_RELOAD || i >= 8)
		return;
	seen.status[i] = ev->status;
	snprintf(seen.added[i], 64, "%s", ev->added ? ev->added[0] : "");
	snprintf(seen.changed[i], 64, "%s", ev->changed ? ev->changed[0] : "");
	snprintf(seen.removed[i], 64, "%s", ev->removed ? ev->removed[0] : "");
	snprintf(seen.message[i], 256, "%s", ev->message ? ev->message : "");
	seen.n++;
}

/* Each reload raises an audit event with what changed, or why not; the
 * audit file's path is taken from the reloaded file. */
static void test_reload__audited(void **state)
{
	struct dbr_open_options o = { .size = sizeof(o), .audit_fn = on_audit };
	char *dir = t_tmpdir(), *path, *log1, *log2, *text;
	struct dbr_error err;
	struct dbr *db;

	(void)state;
	path = t_write(dir, "r.ini",
		       BASE "[audit]\nfile = one.jsonl\n"
			    "[chat_mapping]\n1 = b\n");
	assert_int_equal(dbr_open(&db, path, &o, &err), DBR_OK);
	free(t_write(dir, "r.ini",
		     BASE "max_connections = 3\n"
			  "[source.c]\ntype = sqlite\npath = c.db\n"
			  "[audit]\nfile = two.jsonl\n"
			  "[chat_mapping]\n1 = b\n"));
	assert_int_equal(dbr_reload(db, NULL, &err), DBR_OK);
	free(t_write(dir, "r.ini",
		     "[database]\ndefault_source = c\n"
		     "[source.a]\ntype = sqlite\npath = a.db\n"
		     "[source.c]\ntype = sqlite\npath = c.db\n"));
	assert_int_equal(dbr_reload(db, NULL, &err), DBR_E_CONFIG);
	free(t_write(dir, "r.ini",
		     BASE "max_connections = 3\n[audit]\nfile = two.jsonl\n"));
	assert_int_equal(dbr_reload(db, NULL, &err), DBR_OK);
	dbr_close(db);
	assert_int_equal(seen.n, 3);
	assert_int_equal(seen.status[0], DBR_OK);
	assert_string_equal(seen.added[0], "c");
	assert_string_equal(seen.changed[0], "b");
	assert_string_equal(seen.removed[0], "");
	assert_int_equal(seen.status[1], DBR_E_CONFIG);
	assert_non_null(strstr(seen.message[1], "default_source"));
	assert_string_equal(seen.removed[2], "c");
	/* The first record went to two.jsonl: the reload switched files. */
	log1 = t_path(dir, "one.jsonl");
	log2 = t_path(dir, "two.jsonl");
	text = t_read(log2);
	assert_non_null(text);
	assert_non_null(strstr(text, "\"event\":\"reload\""));
	assert_non_null(strstr(text, "\"applied\":false"));
	assert_non_null(strstr(text, "\"added\":[\"c\"]"));
	free(text);
	text = t_read(log1);
	assert_true(!text || !strstr(text, "\"reload\""));
	free(text);
	free(log1);
	free(log2);
	free(path);
	t_rmtree(dir);
	free(dir);
}

/* 8 threads query (and begin transactions) while reloads alternate two
 * files: one keeps b, one changes it (its pool is retired each time). */
#define THREADS 8
#define RELOADS 1000

static atomic_bool stop;
static atomic_long ok_ops, retried_ops, bad_ops;

static void *worker(void *arg)
{
	struct dbr *db = arg;
	struct dbr_result *res;
	struct dbr_error err;
	struct dbr_tx *tx;
	long i;
	int rc;

	for (i = 0; !atomic_load(&stop) && i < 10000000; i++) {
		int64_t chat = i % 4;

		if (i % 16 == 0) {
			rc = dbr_tx_begin(db, chat, &tx, &err);
			if (!rc) {
				rc = dbr_tx_query(tx, "SELECT 1", NULL, 0, NULL,
						  &err);
				if (rc)
					dbr_tx_rollback(tx, NULL);
				else
					rc = dbr_tx_commit(tx, &err);
			}
		} else {
			rc = dbr_query(db, chat, "SELECT 1", NULL, 0, &res,
				       &err);
			if (!rc) {
				rc = dbr_result_next(res) == DBR_ROW
					     ? DBR_OK
					     : DBR_E_STMT;
				dbr_result_free(res);
			}
		}
		if (!rc)
			atomic_fetch_add(&ok_ops, 1);
		else if (rc == DBR_E_UNAVAILABLE && err.retryable)
			atomic_fetch_add(&retried_ops, 1);
		else {
			fprintf(stderr, "worker: %s\n", err.message);
			atomic_fetch_add(&bad_ops, 1);
		}
	}
	return NULL;
}

static void test_reload__many_reloads_under_load(void **state)
{
	struct t_handle *h = t_handle_open(
		"r.ini", BASE "[chat_mapping]\n1 = b\n2 = b\n3 = a\n");
	pthread_t th[THREADS];
	char *files[2];
	struct dbr_error err;
	double t0 = now_s();
	int i, done = 0;

	(void)state;
	files[0] = t_write(h->dir, "k.ini",
			   BASE "[chat_mapping]\n1 = a\n2 = b\n3 = b\n");
	files[1] = t_write(h->dir, "c.ini",
			   BASE "max_connections = 3\n"
				"[chat_mapping]\n1 = b\n2 = b\n3 = a\n");
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, worker, h->db),
				 0);
	/* The workers running first, so that reloads meet them. */
	while (atomic_load(&ok_ops) < 1000 && now_s() - t0 < 30)
		usleep(1000);
	/* Bounded in time too: a slow sanitizer build stops early. */
	for (i = 0; i < RELOADS && now_s() - t0 < 120; i++, done++) {
		usleep(100);
		if (dbr_reload(h->db, files[i % 2], &err)) {
			fprintf(stderr, "reload %d: %s\n", i, err.message);
			fail();
		}
	}
	atomic_store(&stop, true);
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	printf("%d reloads in %.1f s; operations: %ld ok, %ld retryable, "
	       "%ld failed\n",
	       done, now_s() - t0, atomic_load(&ok_ops),
	       atomic_load(&retried_ops), atomic_load(&bad_ops));
	assert_int_equal(atomic_load(&bad_ops), 0);
	assert_true(atomic_load(&ok_ops) > 0);
	free(files[0]);
	free(files[1]);
	t_handle_close(h);
}

struct scraper {
	struct dbr *db;
	atomic_bool stop;
	atomic_long ok, failed;
};

static void *scrape(void *arg)
{
	struct scraper *sc = arg;
	struct dbr_error err;
	struct text *t = malloc(sizeof(*t));

	assert_non_null(t);
	while (!atomic_load(&sc->stop)) {
		t->len = 0;
		if (dbr_metrics_write(sc->db, collect, t, &err) == DBR_OK)
			atomic_fetch_add(&sc->ok, 1);
		else
			atomic_fetch_add(&sc->failed, 1);
	}
	free(t);
	return NULL;
}

/*
 * dbr_metrics_write() while reloads add and remove a source: every
 * scrape succeeds (a source removed after its names were read is left
 * out of that scrape; it failed with DBR_E_NOTFOUND before).
 */
static void test_reload__metrics_during_reloads(void **state)
{
	struct t_handle *h = t_handle_open("m.ini", BASE);
	struct scraper sc = { .db = h->db };
	struct dbr_error err;
	pthread_t th;
	char *files[2];
	double t0 = now_s();
	int i;

	(void)state;
	atomic_init(&sc.stop, false);
	atomic_init(&sc.ok, 0);
	atomic_init(&sc.failed, 0);
	files[0] = t_write(h->dir, "with.ini",
			   BASE "[source.c]\ntype = sqlite\npath = c.db\n");
	files[1] = t_write(h->dir, "without.ini", BASE);
	assert_int_equal(pthread_create(&th, NULL, scrape, &sc), 0);
	for (i = 0; i < 3000 && now_s() - t0 < 60; i++)
		assert_int_equal(dbr_reload(h->db, files[i % 2], &err), DBR_OK);
	atomic_store(&sc.stop, true);
	pthread_join(th, NULL);
	printf("%d reloads: %ld scrapes ok, %ld failed\n", i,
	       atomic_load(&sc.ok), atomic_load(&sc.failed));
	assert_int_equal(atomic_load(&sc.failed), 0);
	assert_true(atomic_load(&sc.ok) > 0);
	free(files[0]);
	free(files[1]);
	t_handle_close(h);
}

/* PostgreSQL: the backend pids of a source's connections. */
static void pg_pids(struct dbr *db, const char *app, int64_t *pids, int *n)
{
	char sql[256];
	struct dbr_result *res;
	struct dbr_error err;

	*n = 0;
	snprintf(sql, sizeof(sql),
		 "SELECT pid FROM pg_stat_activity WHERE application_name = "
		 "'%s' ORDER BY pid",
		 app);
	assert_int_equal(dbr_query_source(db, "look", sql, NULL, 0, &res, &err),
			 DBR_OK);
	while (dbr_result_next(res) == DBR_ROW && *n < 8)
		pids[(*n)++] = dbr_result_int64(res, 0);
	dbr_result_free(res);
}

static char *pg_config(const char *conninfo, const char *app, int maxc,
		       const char *extra)
{
	char *text = NULL;

	assert_true(asprintf(&text,
			     "[database]\ndefault_source = a\n"
			     "[source.a]\ntype = sqlite\npath = a.db\n"
			     "[source.pg]\ntype = postgres\n"
			     "conninfo = %s application_name=%s\n"
			     "max_connections = %d\ntimeout = 5\n"
			     "[source.look]\ntype = postgres\n"
			     "conninfo = %s application_name=dbr_reload_look\n"
			     "%s",
			     conninfo, app, maxc, conninfo, extra) > 0);
	return text;
}

static void test_reload__pg_unchanged_keeps_pids(void **state)
{
	const char *ci = getenv("DBR_TEST_PG");
	int64_t before[8], after[8], mine;
	struct dbr_result *r1, *r2;
	struct dbr_error err;
	struct t_handle *h;
	char *text;
	int nb, na;

	(void)state;
	t_need_server_or_skip("DBR_TEST_PG", "PostgreSQL");
	if (!ci)
		return;
	text = pg_config(ci, "dbr_reload_keep", 2, "");
	h = t_handle_open("pg.ini", text);
	free(text);
	/* Two connections open at once, then both idle. */
	assert_int_equal(
		dbr_query_source(h->db, "pg", "SELECT 1", NULL, 0, &r1, &err),
		DBR_OK);
	assert_int_equal(
		dbr_query_source(h->db, "pg", "SELECT 2", NULL, 0, &r2, &err),
		DBR_OK);
	dbr_result_free(r1);
	dbr_result_free(r2);
	pg_pids(h->db, "dbr_reload_keep", before, &nb);
	assert_int_equal(nb, 2);
	text = pg_config(ci, "dbr_reload_keep", 2,
			 "[source.more]\ntype = sqlite\npath = m.db\n"
			 "[chat_mapping]\n5 = more\n");
	free(t_write(h->dir, "pg.ini", text));
	free(text);
	assert_int_equal(dbr_reload(h->db, NULL, &err), DBR_OK);
	mine = q_int(h->db, "pg", "SELECT pg_backend_pid()");
	pg_pids(h->db, "dbr_reload_keep", after, &na);
	assert_int_equal(na, 2);
	assert_memory_equal(before, after, sizeof(int64_t) * 2);
	assert_true(mine == before[0] || mine == before[1]);
	t_handle_close(h);
}

static void test_reload__pg_changed_drains(void **state)
{
	const char *ci = getenv("DBR_TEST_PG");
	int64_t before[8], after[8], tx_pid, new_pid;
	struct dbr_result *r1;
	struct dbr_error err;
	struct dbr_tx *tx;
	struct t_handle *h;
	char *text;
	int nb, na;
	double t0;

	(void)state;
	t_need_server_or_skip("DBR_TEST_PG", "PostgreSQL");
	if (!ci)
		return;
	text = pg_config(ci, "dbr_reload_old", 2, "");
	h = t_handle_open("pg.ini", text);
	free(text);
	t_exec(h->db, 0, "SELECT 1", NULL, 0);
	assert_int_equal(
		dbr_query_source(h->db, "pg",
				 "CREATE TABLE IF NOT EXISTS reload_t(x int)",
				 NULL, 0, NULL, &err),
		DBR_OK);
	/* One connection in a transaction, one idle. */
	assert_int_equal(
		dbr_query_source(h->db, "pg", "SELECT 1", NULL, 0, &r1, &err),
		DBR_OK);
	assert_int_equal(dbr_tx_begin_source(h->db, "pg", &tx, &err), DBR_OK);
	dbr_result_free(r1);
	assert_int_equal(dbr_tx_query(tx, "INSERT INTO reload_t VALUES (42)",
				      NULL, 0, NULL, &err),
			 DBR_OK);
	assert_int_equal(
		dbr_tx_query(tx, "SELECT pg_backend_pid()", NULL, 0, &r1, &err),
		DBR_OK);
	assert_int_equal(dbr_result_next(r1), DBR_ROW);
	tx_pid = dbr_result_int64(r1, 0);
	dbr_result_free(r1);
	pg_pids(h->db, "dbr_reload_old", before, &nb);
	assert_int_equal(nb, 2);
	text = pg_config(ci, "dbr_reload_new", 2, "");
	free(t_write(h->dir, "pg.ini", text));
	free(text);
	assert_int_equal(dbr_reload(h->db, NULL, &err), DBR_OK);
	/* The idle one closed at once (the server notices within moments),
	 * the transaction's stays. */
	t0 = now_s();
	do {
		pg_pids(h->db, "dbr_reload_old", after, &na);
	} while (na != 1 && now_s() - t0 < 5 && !usleep(20000));
	assert_int_equal(na, 1);
	assert_int_equal(after[0], tx_pid);
	new_pid = q_int(h->db, "pg", "SELECT pg_backend_pid()");
	assert_true(new_pid > 0 && new_pid != tx_pid);
	assert_int_equal(dbr_tx_commit(tx, &err), DBR_OK);
	assert_int_equal(q_int(h->db, "pg",
			       "SELECT count(*) FROM reload_t WHERE x = 42"),
			 1);
	t0 = now_s();
	do {
		pg_pids(h->db, "dbr_reload_old", after, &na);
	} while (na != 0 && now_s() - t0 < 5 && !usleep(20000));
	assert_int_equal(na, 0);
	pg_pids(h->db, "dbr_reload_new", after, &na);
	assert_int_equal(na, 1);
	assert_int_equal(after[0], new_pid);
	assert_int_equal(dbr_query_source(h->db, "pg", "DROP TABLE reload_t",
					  NULL, 0, NULL, &err),
			 DBR_OK);
	t_handle_close(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reload__errors_keep_configuration),
		cmocka_unit_test(test_reload__unchanged_file_keeps_everything),
		cmocka_unit_test(test_reload__applies_mapping_and_sources),
		cmocka_unit_test(test_reload__refusals),
		cmocka_unit_test(
			test_reload__default_and_store_options_refused),
		cmocka_unit_test(test_reload__retype_refused),
		cmocka_unit_test(test_reload__changed_source_drains),
		cmocka_unit_test(test_reload__waiter_routed_again),
		cmocka_unit_test(test_reload__audited),
		cmocka_unit_test(test_reload__many_reloads_under_load),
		cmocka_unit_test(test_reload__metrics_during_reloads),
		cmocka_unit_test(test_reload__pg_unchanged_keeps_pids),
		cmocka_unit_test(test_reload__pg_changed_drains),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
