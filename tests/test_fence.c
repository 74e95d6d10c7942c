/*
 * test_fence.c - a chat move's objects on a source (core/fence.c and the
 * drivers' capture: drivers/sqlite/sqlt_capture.c,
 * drivers/postgres/pg_capture.c), on SQLite and PostgreSQL: the triggers
 * installed twice and removed, what each fence state lets through and
 * records (keys as JSON arrays, a blob key as {"b": HEX}), the deadline
 * on the source's clock, the compare-and-swap, and on PostgreSQL a fence
 * change waiting for the chat's writer in flight.
 */
#define _DEFAULT_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fence.h"
#include "helpers.h"

enum { MOVE = 41, CHAT = 7, OTHER = 8 };

static const char *const kinds[] = { "sqlite", "postgres" };

struct env {
	struct t_handle *h;
	int kind;
	char conninfo[1024]; /* PostgreSQL's */
};

/* A handle on source `src` of kind k (0 SQLite, 1 PostgreSQL) with the
 * tables msgs (key chat_id, id) and files (a blob key); false without
 * the PostgreSQL server. */
static bool env_open(struct env *e, int kind)
{
	char *conninfo = e->conninfo, text[2048];

	e->kind = kind;
	if (kind == 1 &&
	    !t_pg_database("dbroute_fence", conninfo, sizeof(e->conninfo)))
		return false;
	if (kind == 1)
		snprintf(text, sizeof(text),
			 "[source.src]\ntype = postgres\nconninfo = %s\n"
			 "timeout = 5\n",
			 conninfo);
	else
		snprintf(text, sizeof(text),
			 "[source.src]\ntype = sqlite\npath = src.db\n");
	snprintf(text + strlen(text), sizeof(text) - strlen(text),
		 "[database]\ndefault_source = src\n");
	e->h = t_handle_open("fence.ini", text);
	return true;
}

static int run(struct env *e, const char *sql, struct dbr_error *err)
{
	return dbr_query_source(e->h->db, "src", sql, NULL, 0, NULL, err);
}

static void ok(struct env *e, const char *sql)
{
	struct dbr_error err;

	if (run(e, sql, &err))
		fail_msg("%s: %s: %s", kinds[e->kind], sql, err.message);
}

/* The statement is refused by the fence: DBR_E_MOVING, retryable. */
static void refused(struct env *e, const char *sql)
{
	struct dbr_error err;
	int rc = run(e, sql, &err);

	if (rc != DBR_E_MOVING)
		fail_msg("%s: %s: %d, not DBR_E_MOVING: %s", kinds[e->kind],
			 sql, rc, rc ? err.message : "");
	assert_true(err.retryable);
	assert_non_null(strstr(err.message, "dbroute:fenced:41:dst"));
}

static int64_t count(struct env *e, const char *sql)
{
	struct dbr_result *res = NULL;
	struct dbr_error err;
	int64_t v = -1;

	if (dbr_query_source(e->h->db, "src", sql, NULL, 0, &res, &err))
		fail_msg("%s: %s", sql, err.message);
	if (dbr_result_next(res) == DBR_ROW)
		v = dbr_result_int64(res, 0);
	dbr_result_free(res);
	return v;
}

static const char *const msgs_key[] = { "chat_id", "id" };
static const char *const files_key[] = { "k" };

static struct dbr_capture capture_of(const char *table)
{
	bool files = !strcmp(table, "files");
	struct dbr_capture c = {
		.struct_size = sizeof(c),
		.move_id = MOVE,
		.chat = CHAT,
		.schema = "",
		.table = table,
		.chat_column = "chat_id",
		.key = files ? files_key : msgs_key,
		.nkey = files ? 1 : 2,
		.dest = "dst",
	};

	return c;
}

static void capture(struct env *e, bool install)
{
	struct dbr_capture m = capture_of("msgs"), f = capture_of("files");
	struct dbr_error err;

	if (dbr__fence_capture(e->h->db, "src", &m, install, &err) ||
	    dbr__fence_capture(e->h->db, "src", &f, install, &err))
		fail_msg("%s: capture: %s", kinds[e->kind], err.message);
}

/* Set the fence from (from, token) to (to, token + 1) until clock + ms;
 * the token after. */
static int64_t set(struct env *e, const char *from, int64_t token,
		   const char *to, int64_t ms)
{
	struct dbr_error err;
	int64_t now;
	bool done;

	assert_int_equal(dbr__fence_clock(e->h->db, "src", &now, &err), DBR_OK);
	if (dbr__fence_set(e->h->db, "src", MOVE, from, token, to, token + 1,
			   now + ms, &done, &err))
		fail_msg("%s: fence %s -> %s: %s", kinds[e->kind], from, to,
			 err.message);
	assert_true(done);
	return token + 1;
}

/* The delta after seq `after` as "op pk;" lines, in order. */
static char *delta_text(struct env *e, int64_t after, int64_t *last)
{
	struct dbr__delta *d = NULL;
	struct dbr_error err;
	char *out = calloc(1, 4096);
	size_t n = 0, i, len = 0;

	assert_non_null(out);
	assert_int_equal(dbr__fence_delta(e->h->db, "src", MOVE, after, 100, &d,
					  &n, &err),
			 DBR_OK);
	for (i = 0; i < n; i++) {
		len += (size_t)snprintf(out + len, 4096 - len, "%c %s %s;",
					d[i].op, d[i].table, d[i].pk);
		*last = d[i].seq;
	}
	dbr__fence_delta_free(d, n);
	return out;
}

/* Drop blanks: PostgreSQL's jsonb text has a blank after each comma. */
static char *squeezed(char *s)
{
	char *w = s, *r, prev = '\0';

	for (r = s; *r; prev = *r++)
		if (*r != ' ' || (prev != ',' && prev != ':'))
			*w++ = *r;
	*w = '\0';
	return s;
}

static void expect_delta(struct env *e, int64_t *after, const char *want)
{
	int64_t last = *after;
	char *got = squeezed(delta_text(e, *after, &last));

	if (strcmp(got, want))
		fail_msg("%s: delta after %lld:\n got  %s\n want %s",
			 kinds[e->kind], (long long)*after, got, want);
	free(got);
	*after = last;
}

/* psql runs sql on e's database: whether it succeeded, its output (cut
 * at size) in out. */
static bool psql(struct env *e, const char *sql, char *out, size_t size)
{
	char cmd[4096];
	size_t len = 0;
	FILE *f;
	int st;

	snprintf(cmd, sizeof(cmd),
		 "psql -X -q -A -t -v ON_ERROR_STOP=1 '%s' -c \"%s\" 2>&1",
		 e->conninfo, sql);
	f = popen(cmd, "r");
	assert_non_null(f);
	out[0] = '\0';
	while (len + 1 < size && fgets(out + len, (int)(size - len), f))
		len += strlen(out + len);
	st = pclose(f);
	return st == 0;
}

/*
 * PostgreSQL ways around row triggers, each refused while the chat has
 * moved: TRUNCATE (no row trigger fires), session_replication_role =
 * replica (pg_restore, bulk loaders), a search_path without the fence's
 * schema, a temporary table named like the fence row's, and a
 * REPEATABLE READ snapshot taken before the fence row existed.
 */
static void pg_bypasses_refused(struct env *e)
{
	char out[1024];

	refused(e, "TRUNCATE msgs");
	assert_false(psql(e,
			  "SET session_replication_role = replica; INSERT "
			  "INTO msgs VALUES (7, 70, 'r')",
			  out, sizeof(out)));
	assert_non_null(strstr(out, "dbroute:fenced:41:dst"));
	assert_false(psql(e,
			  "CREATE SCHEMA IF NOT EXISTS app; SET search_path = "
			  "app; INSERT INTO public.msgs VALUES (7, 71, 'r')",
			  out, sizeof(out)));
	assert_non_null(strstr(out, "dbroute:fenced:41:dst"));
	assert_false(psql(e,
			  "CREATE TEMP TABLE _dbroute_fence (move_id bigint, "
			  "state text, fence_until_ms bigint); INSERT INTO "
			  "msgs VALUES (7, 72, 'r')",
			  out, sizeof(out)));
	assert_non_null(strstr(out, "dbroute:fenced:41:dst"));
	assert_int_equal(count(e, "SELECT count(*) FROM msgs WHERE chat_id = 7 "
				  "AND id >= 70"),
			 0);
}

static void test_fence__states(void **state)
{
	struct dbr_error err;
	struct env e;
	int64_t token = 0, seq = 0;
	bool done;
	int k;

	(void)state;
	for (k = 0; k < 2; k++) {
		if (!env_open(&e, k))
			continue;
		ok(&e, "CREATE TABLE msgs (chat_id BIGINT NOT NULL, id BIGINT "
		       "NOT NULL, body TEXT, PRIMARY KEY (chat_id, id))");
		ok(&e, k ? "CREATE TABLE files (k BYTEA PRIMARY KEY, chat_id "
			   "BIGINT NOT NULL)"
			 : "CREATE TABLE files (k BLOB PRIMARY KEY, chat_id "
			   "BIGINT NOT NULL)");
		capture(&e, true);
		capture(&e, true); /* idempotent */
		/* No fence row yet: refused (fails closed). */
		refused(&e, "INSERT INTO msgs VALUES (7, 99, 'early')");
		assert_int_equal(dbr__fence_create(e.h->db, "src", MOVE, CHAT,
						   "dst", &err),
				 DBR_OK);
		assert_int_equal(dbr__fence_create(e.h->db, "src", MOVE, CHAT,
						   "dst", &err),
				 DBR_OK);
		/* idle: written, nothing recorded. */
		ok(&e, "INSERT INTO msgs VALUES (7, 1, 'a')");
		expect_delta(&e, &seq, "");
		/* capture: the chat's writes recorded, no other chat's. */
		token = set(&e, "idle", token, "capture", 0);
		ok(&e, "INSERT INTO msgs VALUES (7, 2, 'b')");
		ok(&e,
		   "UPDATE msgs SET body = 'c' WHERE chat_id = 7 AND id = 1");
		ok(&e, "UPDATE msgs SET id = 3 WHERE chat_id = 7 AND id = 2");
		ok(&e, "DELETE FROM msgs WHERE chat_id = 7 AND id = 3");
		ok(&e, "INSERT INTO msgs VALUES (8, 1, 'x')");
		ok(&e, k ? "INSERT INTO files VALUES ('\\x0102', 7)"
			 : "INSERT INTO files VALUES (x'0102', 7)");
		expect_delta(&e, &seq,
			     "i msgs [7,2];u msgs [7,1];u msgs [7,2];"
			     "u msgs [7,3];d msgs [7,3];"
			     "i files [{\"b\":\"0102\"}];");
		if (k == 0) {
			/* A REPLACE by another chat deletes the chat's row
			 * without a delete trigger: recorded all the same. */
			ok(&e, "INSERT OR REPLACE INTO files VALUES (x'0102', "
			       "8)");
			ok(&e, "INSERT INTO files VALUES (x'0a', 7)");
			expect_delta(&e, &seq,
				     "d files [{\"b\":\"0102\"}];"
				     "i files [{\"b\":\"0A\"}];");
		}
		/* fenced: the chat's writes refused, reads and other chats
		 * go on; a row moved into the chat is refused too. */
		token = set(&e, "capture", token, "fenced", 60000);
		refused(&e, "INSERT INTO msgs VALUES (7, 9, 'no')");
		refused(&e, "UPDATE msgs SET body = 'no' WHERE chat_id = 7");
		refused(&e, "DELETE FROM msgs WHERE chat_id = 7");
		refused(&e, "UPDATE msgs SET chat_id = 7, id = 10 WHERE "
			    "chat_id = 8");
		refused(&e, "DELETE FROM files WHERE chat_id = 7");
		if (k == 0)
			refused(&e, "INSERT OR REPLACE INTO files VALUES "
				    "(x'0a', 8)");
		ok(&e, "INSERT INTO msgs VALUES (8, 2, 'y')");
		assert_int_equal(count(&e, "SELECT count(*) FROM msgs WHERE "
					   "chat_id = 7"),
				 1);
		expect_delta(&e, &seq, "");
		/* A wrong token changes nothing. */
		assert_int_equal(dbr__fence_set(e.h->db, "src", MOVE, "fenced",
						token + 5, "idle", 0, 0, &done,
						&err),
				 DBR_OK);
		assert_false(done);
		refused(&e, "INSERT INTO msgs VALUES (7, 9, 'no')");
		/* An expired fence lets writes through, and records them. */
		token = set(&e, "fenced", token, "fenced", -1000);
		ok(&e, "INSERT INTO msgs VALUES (7, 4, 'late')");
		expect_delta(&e, &seq, "i msgs [7,4];");
		/* moved: refused for good. */
		token = set(&e, "fenced", token, "moved", 0);
		refused(&e, "INSERT INTO msgs VALUES (7, 5, 'no')");
		if (k == 1)
			pg_bypasses_refused(&e);
		ok(&e, "INSERT INTO msgs VALUES (8, 3, 'z')");
		/* Removed: the chat's writes go through, unrecorded. */
		capture(&e, false);
		capture(&e, false);
		ok(&e, "INSERT INTO msgs VALUES (7, 5, 'after')");
		expect_delta(&e, &seq, "");
		t_handle_close(e.h);
		token = 0;
		seq = 0;
	}
}

struct writer {
	struct env *e;
	atomic_bool done;
	int64_t took_ms;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *fence_it(void *arg)
{
	struct writer *w = arg;
	int64_t t0 = now_ms();

	set(w->e, "capture", 1, "fenced", 60000);
	w->took_ms = now_ms() - t0;
	atomic_store(&w->done, true);
	return NULL;
}

/*
 * PostgreSQL: a fence change waits for the chat's writer in flight (its
 * transaction holds the fence row FOR SHARE), and the write, committed
 * before the fence, is recorded; a write after it is refused.
 */
static void test_fence__waits_for_writers(void **state)
{
	struct writer w = { 0 };
	struct dbr_error err;
	struct dbr_tx *tx = NULL;
	pthread_t th;
	struct env e;
	int64_t seq = 0;
	int i;

	(void)state;
	if (!env_open(&e, 1)) {
		t_need_server_or_skip("DBR_TEST_PG", "PostgreSQL");
		return;
	}
	ok(&e, "CREATE TABLE msgs (chat_id BIGINT NOT NULL, id BIGINT NOT "
	       "NULL, body TEXT, PRIMARY KEY (chat_id, id))");
	ok(&e, "CREATE TABLE files (k BYTEA PRIMARY KEY, chat_id BIGINT)");
	capture(&e, true);
	assert_int_equal(
		dbr__fence_create(e.h->db, "src", MOVE, CHAT, "dst", &err),
		DBR_OK);
	set(&e, "idle", 0, "capture", 0);
	assert_int_equal(dbr_tx_begin_source(e.h->db, "src", &tx, &err),
			 DBR_OK);
	assert_int_equal(dbr_tx_query(tx, "INSERT INTO msgs VALUES (7, 1, 'a')",
				      NULL, 0, NULL, &err),
			 DBR_OK);
	w.e = &e;
	atomic_init(&w.done, false);
	assert_int_equal(pthread_create(&th, NULL, fence_it, &w), 0);
	for (i = 0; i < 30; i++)
		usleep(10000);
	assert_false(atomic_load(&w.done)); /* waiting for the writer */
	assert_int_equal(dbr_tx_commit(tx, &err), DBR_OK);
	pthread_join(th, NULL);
	printf("the fence waited %lld ms for the writer in flight\n",
	       (long long)w.took_ms);
	assert_true(w.took_ms >= 250);
	expect_delta(&e, &seq, "i msgs [7,1];");
	refused(&e, "INSERT INTO msgs VALUES (7, 2, 'b')");
	t_handle_close(e.h);
}

struct held {
	struct dbr *db;
	int64_t chat;
	int rc;
	int64_t took_ms;
};

static void *write_held(void *arg)
{
	struct held *h = arg;
	char sql[128];
	struct dbr_error err;
	int64_t t0 = now_ms();

	snprintf(sql, sizeof(sql), "INSERT INTO msgs VALUES (%lld, 1, 'x')",
		 (long long)h->chat);
	h->rc = dbr_query(h->db, h->chat, sql, NULL, 0, NULL, &err);
	h->took_ms = now_ms() - t0;
	return NULL;
}

/* Start a chat's write in a thread; its outcome after join. */
static void held_start(struct held *h, pthread_t *th, struct dbr *db,
		       int64_t chat)
{
	h->db = db;
	h->chat = chat;
	assert_int_equal(pthread_create(th, NULL, write_held, h), 0);
}

/* Capture chat on source src of e's handle and set its fence to `to`
 * for `ms` (from idle, token 0). */
static void fence_chat(struct env *e, int64_t move, int64_t chat,
		       const char *to, int64_t ms)
{
	struct dbr_capture c = capture_of("msgs");
	struct dbr_error err;
	int64_t now;
	bool done;

	c.move_id = move;
	c.chat = chat;
	assert_int_equal(dbr__fence_capture(e->h->db, "src", &c, true, &err),
			 DBR_OK);
	assert_int_equal(
		dbr__fence_create(e->h->db, "src", move, chat, "dst", &err),
		DBR_OK);
	assert_int_equal(dbr__fence_clock(e->h->db, "src", &now, &err), DBR_OK);
	assert_int_equal(dbr__fence_set(e->h->db, "src", move, "idle", 0, to, 1,
					now + ms, &done, &err),
			 DBR_OK);
	assert_true(done);
}

/*
 * What the application sees of a moving chat's write (autocommit, by
 * chat): held while its source refuses it, then sent again, routed anew:
 * to the chat's new home once the store maps it there, or to the same
 * source once its fence ends; DBR_E_MOVING after the wait's bound; at
 * once inside a transaction.
 */
static void test_fence__writes_held_then_sent(void **state)
{
	struct dbr_error err;
	struct dbr_tx *tx = NULL;
	struct held h = { 0 };
	char *out = NULL, *errtext = NULL, cmd[128];
	pthread_t th;
	struct env e;
	int chat;

	(void)state;
	e.kind = 0;
	e.h = t_handle_open("fence.ini",
			    "[database]\ndefault_source = st\n"
			    "[source.st]\ntype = sqlite\npath = st.db\n"
			    "[source.src]\ntype = sqlite\npath = src.db\n"
			    "[source.dst]\ntype = sqlite\npath = dst.db\n"
			    "[mapping]\nstore = st\npoll_interval = 0.1\n");
	ok(&e, "CREATE TABLE msgs (chat_id BIGINT NOT NULL, id BIGINT NOT "
	       "NULL, body TEXT, PRIMARY KEY (chat_id, id))");
	assert_int_equal(dbr_query_source(e.h->db, "dst",
					  "CREATE TABLE msgs (chat_id BIGINT "
					  "NOT NULL, id BIGINT NOT NULL, body "
					  "TEXT, PRIMARY KEY (chat_id, id))",
					  NULL, 0, NULL, &err),
			 DBR_OK);
	assert_int_equal(t_run_cli(e.h->dir, "mapping init -c fence.ini", &out,
				   &errtext),
			 0);
	for (chat = 9; chat <= 11; chat++) {
		snprintf(cmd, sizeof(cmd),
			 "mapping set -c fence.ini %d src --reason t", chat);
		assert_int_equal(t_run_cli(e.h->dir, cmd, &out, &errtext), 0);
	}
	/* Chat 9 moved away from src: its write waits for the store's
	 * row, then goes to dst. */
	fence_chat(&e, 51, 9, "moved", 0);
	assert_int_equal(dbr_mapping_status(e.h->db,
					    &(struct dbr_mapping_status){ 0 },
					    &err),
			 DBR_OK);
	usleep(300000); /* the refresher has the row mapping 9 to src */
	held_start(&h, &th, e.h->db, 9);
	usleep(300000);
	assert_int_equal(t_run_cli(e.h->dir,
				   "mapping set -c fence.ini 9 dst --reason t",
				   &out, &errtext),
			 0);
	free(out);
	free(errtext);
	out = errtext = NULL;
	pthread_join(th, NULL);
	printf("a moved chat's write held %lld ms, then sent to dst\n",
	       (long long)h.took_ms);
	assert_int_equal(h.rc, DBR_OK);
	assert_true(h.took_ms >= 250);
	assert_int_equal(count(&e, "SELECT count(*) FROM msgs WHERE "
				   "chat_id = 9"),
			 0);
	/* Chat 10 fenced for a minute: refused after the wait's bound, and
	 * at once inside a transaction. */
	fence_chat(&e, 52, 10, "fenced", 60000);
	held_start(&h, &th, e.h->db, 10);
	pthread_join(th, NULL);
	printf("a fenced chat's write refused after %lld ms\n",
	       (long long)h.took_ms);
	assert_int_equal(h.rc, DBR_E_MOVING);
	assert_true(h.took_ms >= 2000 && h.took_ms < 20000);
	/* The transaction is rolled back at the refusal: its earlier
	 * write is gone, and a commit says so. */
	ok(&e, "CREATE TABLE ledger (op TEXT)");
	assert_int_equal(dbr_tx_begin(e.h->db, 10, &tx, &err), DBR_OK);
	assert_int_equal(dbr_tx_query(tx, "INSERT INTO ledger VALUES ('x')",
				      NULL, 0, NULL, &err),
			 DBR_OK);
	assert_int_equal(dbr_tx_query(tx,
				      "INSERT INTO msgs VALUES (10, 2, 'y')",
				      NULL, 0, NULL, &err),
			 DBR_E_MOVING);
	assert_true(err.retryable);
	assert_int_equal(dbr_tx_query(tx, "INSERT INTO ledger VALUES ('y')",
				      NULL, 0, NULL, &err),
			 DBR_E_MOVING);
	assert_int_equal(dbr_tx_commit(tx, &err), DBR_E_MOVING);
	assert_int_equal(count(&e, "SELECT count(*) FROM ledger"), 0);
	assert_int_equal(dbr_tx_begin(e.h->db, 10, &tx, &err), DBR_OK);
	assert_int_equal(dbr_tx_query(tx,
				      "INSERT INTO msgs VALUES (10, 3, 'y')",
				      NULL, 0, NULL, &err),
			 DBR_E_MOVING);
	assert_int_equal(dbr_tx_rollback(tx, &err), DBR_OK);
	/* Chat 11 fenced for 300 ms: its write goes through once the
	 * fence ends, on the same source. */
	fence_chat(&e, 53, 11, "fenced", 300);
	held_start(&h, &th, e.h->db, 11);
	pthread_join(th, NULL);
	printf("a briefly fenced chat's write held %lld ms\n",
	       (long long)h.took_ms);
	assert_int_equal(h.rc, DBR_OK);
	assert_int_equal(count(&e, "SELECT count(*) FROM msgs WHERE "
				   "chat_id = 11"),
			 1);
	t_handle_close(e.h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fence__states),
		cmocka_unit_test(test_fence__waits_for_writers),
		cmocka_unit_test(test_fence__writes_held_then_sent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
