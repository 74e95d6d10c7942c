/*
 * test_move_run.c - a chat move's run (issue 14; core/move_run.c and its
 * files): SQLite -> SQLite, and when scripts/test.sh started PostgreSQL
 * (DBR_TEST_PG) SQLite -> PostgreSQL, PostgreSQL -> PostgreSQL and
 * PostgreSQL -> SQLite, each with 2,000+ rows while a writer thread
 * writes the moving chat through dbr_query() (every acknowledged id on
 * the destination exactly once afterwards) and two control chats (no
 * error); then the old source refusing the chat's write from a handle
 * that still routes by the old mapping. Also: an id collision refused
 * with nothing overwritten, NUL text into PostgreSQL refused before the
 * fence, a second live move of a chat refused, an abort.
 */
#define _DEFAULT_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

/* Chats below 100: their seeded ids (chat * 10000 + i) stay under BASE_ID. */
enum { SEED = 2100, LEDGER_MAX = 100000, BASE_ID = 1000000 };

struct env {
	char *dir, *config;
	struct dbr *db;
	bool pg;
};

static void env_open_move(struct env *e, const char *tag,
			  const char *move_keys);

static void env_open(struct env *e, const char *tag)
{
	env_open_move(e, tag, "");
}

/* With move_keys ("key = value\n" lines) added to [move]. */
static void env_open_move(struct env *e, const char *tag, const char *move_keys)
{
	char c1[512], c2[512], name[64], text[4096];

	memset(e, 0, sizeof(*e));
	snprintf(name, sizeof(name), "mrun_%s_1", tag);
	e->pg = t_pg_database(name, c1, sizeof(c1));
	snprintf(name, sizeof(name), "mrun_%s_2", tag);
	if (e->pg)
		t_pg_database(name, c2, sizeof(c2));
	e->dir = t_tmpdir();
	snprintf(text, sizeof(text),
		 "[database]\ndefault_source = st\n"
		 "[source.st]\ntype = sqlite\npath = st.db\n"
		 "[source.s1]\ntype = sqlite\npath = s1.db\n"
		 "[source.s2]\ntype = sqlite\npath = s2.db\n"
		 "[mapping]\nstore = st\npoll_interval = 0.1\n"
		 "[move]\nbatch_rows = 500\n%s",
		 move_keys);
	if (e->pg)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
			 "[source.p1]\ntype = postgres\nconninfo = %s\n"
			 "[source.p2]\ntype = postgres\nconninfo = %s\n",
			 c1, c2);
	e->config = t_write(e->dir, "move.ini", text);
	e->db = t_open(e->config);
}

static void env_close(struct env *e)
{
	dbr_close(e->db);
	t_rmtree(e->dir);
	free(e->dir);
	free(e->config);
}

static void exec_on(struct dbr *db, const char *source, const char *sql,
		    const struct dbr_value *p, size_t n)
{
	struct dbr_error err;

	if (dbr_query_source(db, source, sql, p, n, NULL, &err))
		fail_msg("%s: %s: %s", source, sql, err.message);
}

static int64_t int_on(struct dbr *db, const char *source, const char *sql,
		      const struct dbr_value *p, size_t n)
{
	struct dbr_result *res = NULL;
	struct dbr_error err;
	int64_t v = -1;

	if (dbr_query_source(db, source, sql, p, n, &res, &err))
		fail_msg("%s: %s: %s", source, sql, err.message);
	if (dbr_result_next(res) == DBR_ROW)
		v = dbr_result_int64(res, 0);
	dbr_result_free(res);
	return v;
}

static bool is_pg(const char *source)
{
	return source[0] == 'p';
}

static void make_tables(struct env *e, const char *source)
{
	bool pg = is_pg(source);

	exec_on(e->db, source,
		pg ? "CREATE TABLE messages (id BIGINT PRIMARY KEY, chat_id "
		     "BIGINT NOT NULL, body TEXT, data BYTEA, score DOUBLE "
		     "PRECISION)"
		   : "CREATE TABLE messages (id INTEGER PRIMARY KEY, chat_id "
		     "BIGINT NOT NULL, body TEXT, data BLOB, score DOUBLE "
		     "PRECISION)",
		NULL, 0);
	exec_on(e->db, source,
		"CREATE TABLE members (chat_id BIGINT, user_id BIGINT, role "
		"VARCHAR(20), PRIMARY KEY (chat_id, user_id))",
		NULL, 0);
	exec_on(e->db, source,
		pg ? "CREATE TABLE notes (id BIGSERIAL PRIMARY KEY, chat_id "
		     "BIGINT NOT NULL, t TEXT)"
		   : "CREATE TABLE notes (id INTEGER PRIMARY KEY "
		     "AUTOINCREMENT, chat_id BIGINT NOT NULL, t TEXT)",
		NULL, 0);
	exec_on(e->db, source,
		"CREATE TABLE settings (k TEXT PRIMARY KEY, v "
		"TEXT)",
		NULL, 0);
}

static void map_chat(struct env *e, int64_t chat, const char *source)
{
	struct dbr_error err;

	if (dbr_mapping_set(e->db, chat, source, "test", NULL, &err))
		fail_msg("mapping set: %s", err.message);
}

/* `rows` messages of chat (ids chat*10000 + i; one blob with NUL
 * bytes), members and notes, in one transaction on source. */
static void seed(struct env *e, int64_t chat, const char *source, int rows)
{
	static const char blob[] = { 'a', 0, 'b', 0, 0, 'c' };
	struct dbr_tx *tx = NULL;
	struct dbr_error err;
	char body[32];
	int i;

	if (dbr_tx_begin_source(e->db, source, &tx, &err))
		fail_msg("%s: begin: %s", source, err.message);
	for (i = 0; i < rows; i++) {
		struct dbr_value p[5] = { dbr_int64(chat * 10000 + i),
					  dbr_int64(chat), dbr_text(body, 0),
					  i % 7 ? dbr_null()
						: dbr_blob(blob, sizeof(blob)),
					  dbr_double(i * 0.25) };

		p[2].len = (size_t)snprintf(body, sizeof(body), "m%d", i);
		if (dbr_tx_query(tx,
				 "INSERT INTO messages (id, chat_id, body, "
				 "data, score) VALUES (?, ?, ?, ?, ?)",
				 p, 5, NULL, &err))
			fail_msg("%s: seed: %s", source, err.message);
	}
	for (i = 0; i < 20; i++) {
		struct dbr_value p[3] = { dbr_int64(chat), dbr_int64(i),
					  dbr_text("member", 6) };
		struct dbr_value q[3] = { dbr_int64(chat * 10000 + i),
					  dbr_int64(chat), dbr_text("n", 1) };

		if (dbr_tx_query(tx, "INSERT INTO members VALUES (?, ?, ?)", p,
				 3, NULL, &err) ||
		    dbr_tx_query(tx,
				 "INSERT INTO notes (id, chat_id, t) VALUES "
				 "(?, ?, ?)",
				 q, 3, NULL, &err))
			fail_msg("%s: seed: %s", source, err.message);
	}
	if (dbr_tx_commit(tx, &err))
		fail_msg("%s: commit: %s", source, err.message);
}

/* The writer: the moving chat's inserts (ledger), updates and deletes of
 * seeded rows, and the control chats' inserts, until told to stop. */
struct writer {
	struct dbr *db;
	int64_t chat, ctl[2];
	int64_t base;	/* its first id */
	bool no_delete; /* leaves the deletes to another writer */
	_Atomic bool stop;
	int64_t *ledger; /* acknowledged ids */
	size_t nledger;
	int64_t deleted[64]; /* seeded ids acknowledged deleted */
	size_t ndeleted;
	int moving;	  /* DBR_E_MOVING seen (retried) */
	int ctl_errors;	  /* errors of the control chats */
	int other_errors; /* other errors of the moving chat */
	double max_ms;	  /* the longest acknowledged write of the chat */
	char first_error[1100];
};

/* Run sql for chat until it is not refused by the fence (bounded). */
static int write_chat(struct writer *w, int64_t chat, const char *sql,
		      const struct dbr_value *p, size_t n)
{
	struct timespec pause = { 0, 1000000L };
	struct dbr_error err;
	int tries, rc = DBR_OK;

	for (tries = 0; tries < 20000; tries++) {
		struct timespec a, b;
		double ms;

		clock_gettime(CLOCK_MONOTONIC, &a);
		rc = dbr_query(w->db, chat, sql, p, n, NULL, &err);
		clock_gettime(CLOCK_MONOTONIC, &b);
		ms = (double)(b.tv_sec - a.tv_sec) * 1e3 +
		     (double)(b.tv_nsec - a.tv_nsec) / 1e6;
		if (!rc && chat == w->chat && ms > w->max_ms)
			w->max_ms = ms;
		if (rc != DBR_E_MOVING)
			break;
		w->moving++;
		nanosleep(&pause, NULL);
	}
	if (rc && !w->first_error[0])
		snprintf(w->first_error, sizeof(w->first_error),
			 "chat %lld: %s", (long long)chat, err.message);
	return rc;
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct timespec pause = { 0, 2000000L };
	double end = (double)time(NULL) + 120;
	int64_t next = w->base;
	int i;

	for (i = 0; !w->stop && w->nledger < LEDGER_MAX && time(NULL) < end;
	     i++) {
		struct dbr_value ins[3] = { dbr_int64(next), dbr_int64(w->chat),
					    dbr_text("w", 1) };
		struct dbr_value upd[2] = {
			dbr_int64(w->chat * 10000 + i % 500), dbr_int64(w->chat)
		};
		struct dbr_value del[2] = { dbr_int64(w->chat * 10000 + 1000 +
						      i / 10),
					    dbr_int64(w->chat) };
		struct dbr_value ctl[3] = { dbr_int64(next),
					    dbr_int64(w->ctl[i % 2]),
					    dbr_text("c", 1) };
		int rc = write_chat(w, w->chat,
				    "INSERT INTO messages (id, chat_id, body) "
				    "VALUES (?, ?, ?)",
				    ins, 3);

		if (!rc)
			w->ledger[w->nledger++] = next;
		else
			w->other_errors++;
		if (write_chat(w, w->chat,
			       "UPDATE messages SET body = 'u' WHERE id = ? "
			       "AND chat_id = ?",
			       upd, 2))
			w->other_errors++;
		if (!w->no_delete && i % 10 == 0 && w->ndeleted < 64) {
			if (write_chat(w, w->chat,
				       "DELETE FROM messages WHERE id = ? AND "
				       "chat_id = ?",
				       del, 2))
				w->other_errors++;
			else
				w->deleted[w->ndeleted++] = del[0].u.i;
		}
		ctl[0] = dbr_int64(next + 500000);
		if (dbr_query(w->db, w->ctl[i % 2],
			      "INSERT INTO messages (id, chat_id, body) "
			      "VALUES (?, ?, ?)",
			      ctl, 3, NULL, NULL))
			w->ctl_errors++;
		next++;
		nanosleep(&pause, NULL);
	}
	return NULL;
}

static int progress_calls;

static void on_progress(void *ud, const struct dbr_move_status *st)
{
	(void)ud;
	(void)st;
	progress_calls++;
}

/* A handle on the same file that reads the store once (no refresher):
 * it keeps routing by the mapping it read. */
static struct dbr *stale_handle(struct env *e)
{
	struct dbr_open_options o = { .size = sizeof(o),
				      .flags = DBR_HANDLE_NO_REFRESH };
	struct dbr_error err;
	struct dbr *db = NULL;

	if (dbr_open(&db, e->config, &o, &err))
		fail_msg("open: %s", err.message);
	return db;
}

static bool routed(struct dbr *db, int64_t chat, const char *source)
{
	char got[DBR_NAME_SIZE] = "";

	return !dbr_route_chat(db, chat, got, sizeof(got), NULL) &&
	       !strcmp(got, source);
}

/* Wait (bounded) until the handle routes chat to source. */
static void wait_route(struct dbr *db, int64_t chat, const char *source)
{
	char got[DBR_NAME_SIZE] = "";
	int i;

	for (i = 0; i < 1000; i++) {
		if (!dbr_route_chat(db, chat, got, sizeof(got), NULL) &&
		    !strcmp(got, source))
			return;
		usleep(10000);
	}
	fail_msg("chat %lld routed to '%s', not '%s'", (long long)chat, got,
		 source);
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Every acknowledged id on `to` once, no other writer id, the seeded
 * rows but those deleted. */
static void check_ledger(struct env *e, struct writer *w, const char *to)
{
	struct dbr_value p[2] = { dbr_int64(w->chat), dbr_int64(BASE_ID) };
	struct dbr_result *res = NULL;
	struct dbr_error err;
	size_t n = 0;

	qsort(w->ledger, w->nledger, sizeof(*w->ledger), cmp64);
	if (dbr_query_source(e->db, to,
			     "SELECT id FROM messages WHERE chat_id = ? AND "
			     "id >= ? ORDER BY id",
			     p, 2, &res, &err))
		fail_msg("%s: %s", to, err.message);
	while (dbr_result_next(res) == DBR_ROW) {
		int64_t id = dbr_result_int64(res, 0);

		if (n >= w->nledger || w->ledger[n] != id)
			fail_msg("%s: id %lld is not the ledger's #%zu "
				 "(%lld)",
				 to, (long long)id, n,
				 n < w->nledger ? (long long)w->ledger[n] : -1);
		n++;
	}
	dbr_result_free(res);
	assert_int_equal(n, w->nledger);
	p[1] = dbr_int64(w->chat * 10000 + SEED);
	assert_int_equal(int_on(e->db, to,
				"SELECT count(*) FROM messages WHERE chat_id "
				"= ? AND id < ?",
				p, 2),
			 SEED - (int64_t)w->ndeleted);
}

/* The blob with NUL bytes came through. */
static void check_blob(struct env *e, int64_t chat, const char *to)
{
	static const char blob[] = { 'a', 0, 'b', 0, 0, 'c' };
	struct dbr_value p = dbr_int64(chat * 10000 + 7);
	struct dbr_result *res = NULL;
	struct dbr_value v;
	struct dbr_error err;

	if (dbr_query_source(e->db, to,
			     "SELECT data FROM messages WHERE id = ?", &p, 1,
			     &res, &err))
		fail_msg("%s: %s", to, err.message);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_int_equal(dbr_result_value(res, 0, &v), DBR_OK);
	assert_int_equal(v.type, DBR_TYPE_BLOB);
	assert_int_equal(v.len, sizeof(blob));
	assert_memory_equal(v.u.b, blob, sizeof(blob));
	dbr_result_free(res);
}

/* A new note on `to` takes an id past the copied ones. */
static void check_sequence(struct env *e, int64_t chat, const char *to)
{
	struct dbr_value p = dbr_int64(chat);

	exec_on(e->db, to, "INSERT INTO notes (chat_id, t) VALUES (?, 'new')",
		&p, 1);
	assert_true(int_on(e->db, to,
			   "SELECT max(id) FROM notes WHERE t = 'new'", NULL,
			   0) > chat * 10000 + 19);
}

/* Move chat live from `from` to `to` (on e opened with move_keys) while
 * the writer writes; the move's attempts. */
static int move_live_with(const char *from, const char *to, int64_t chat,
			  const char *move_keys)
{
	struct writer w = { 0 }, w2 = { 0 };
	struct dbr_move_status st = { .size = sizeof(st) };
	struct dbr_error err;
	struct dbr *stale;
	struct env e;
	pthread_t th, th2;
	int64_t id = 0;
	struct dbr_value ins[3] = { dbr_int64(999), dbr_int64(chat),
				    dbr_text("late", 4) };
	int i, rc;

	env_open_move(&e, from, move_keys);
	if ((is_pg(from) || is_pg(to)) && !e.pg) {
		env_close(&e);
		t_need_server_or_skip("DBR_TEST_PG", "PostgreSQL");
		return 0;
	}
	make_tables(&e, from);
	make_tables(&e, to);
	map_chat(&e, chat, from);
	map_chat(&e, chat + 1, from);
	map_chat(&e, chat + 2, to);
	seed(&e, chat, from, SEED);
	wait_route(e.db, chat, from);
	wait_route(e.db, chat + 1, from);
	wait_route(e.db, chat + 2, to);
	stale = stale_handle(&e);
	w.db = e.db;
	w.chat = chat;
	w.ctl[0] = chat + 1;
	w.ctl[1] = chat + 2;
	w.base = BASE_ID;
	w.ledger = calloc(2 * LEDGER_MAX, sizeof(*w.ledger));
	assert_non_null(w.ledger);
	/* A second writer of the chat: two writers' commits interleave. */
	w2.db = w.db;
	w2.chat = w.chat;
	w2.ctl[0] = w.ctl[0];
	w2.ctl[1] = w.ctl[1];
	w2.base = BASE_ID + 2 * LEDGER_MAX;
	w2.no_delete = true;
	w2.ledger = calloc(LEDGER_MAX, sizeof(*w2.ledger));
	assert_non_null(w2.ledger);
	assert_int_equal(pthread_create(&th, NULL, writer_main, &w), 0);
	assert_int_equal(pthread_create(&th2, NULL, writer_main, &w2), 0);
	usleep(100000);
	progress_calls = 0;
	{
		struct dbr_move_options o = { .size = sizeof(o),
					      .progress = on_progress };

		rc = dbr_move_start(e.db, chat, to, &o, &id, &err);
		if (!rc) {
			usleep(100000); /* captured writes before the copy */
			rc = dbr_move_run(e.db, id, &o, &err);
		}
	}
	/* The writer goes on until the chat is written on the destination
	 * (bounded); stopped and joined before any check can fail. */
	for (i = 0; !rc && i < 1000 && !routed(e.db, chat, to); i++)
		usleep(10000);
	if (!rc)
		usleep(200000);
	w.stop = true;
	w2.stop = true;
	pthread_join(th, NULL);
	pthread_join(th2, NULL);
	w.other_errors += w2.other_errors;
	w.ctl_errors += w2.ctl_errors;
	w.moving += w2.moving;
	if (!w.first_error[0])
		memcpy(w.first_error, w2.first_error, sizeof(w.first_error));
	if (w2.max_ms > w.max_ms)
		w.max_ms = w2.max_ms;
	memcpy(w.ledger + w.nledger, w2.ledger, w2.nledger * sizeof(*w.ledger));
	w.nledger += w2.nledger;
	free(w2.ledger);
	if (rc)
		fail_msg("%s -> %s: move %lld: %s", from, to, (long long)id,
			 err.message);
	wait_route(e.db, chat, to);
	assert_int_equal(dbr_move_status(e.db, id, &st, &err), DBR_OK);
	printf("move %s -> %s: %zu inserts of two writers acknowledged "
	       "during the move "
	       "(%d DBR_E_MOVING retried), longest write of the chat "
	       "%.1f ms; %lld rows copied, write pause %lld ms, %d "
	       "attempt(s)\n",
	       from, to, w.nledger, w.moving, w.max_ms,
	       (long long)st.rows_copied, (long long)st.pause_ms, st.attempts);
	if (w.other_errors || w.ctl_errors)
		fail_msg("writer: %d errors, control chats: %d: %s",
			 w.other_errors, w.ctl_errors, w.first_error);
	assert_string_equal(st.state, "switched");
	assert_true(st.pause_ms >= 0 && st.pause_ms < 5000);
	assert_true(progress_calls > 0);
	assert_true(w.nledger > 0);
	check_ledger(&e, &w, to);
	check_blob(&e, chat, to);
	check_sequence(&e, chat, to);
	/* The handle that still routes by the old mapping: refused by the
	 * old source, which keeps none of it. */
	rc = dbr_query(stale, chat,
		       "INSERT INTO messages (id, chat_id, body) VALUES (?, "
		       "?, ?)",
		       ins, 3, NULL, &err);
	assert_int_equal(rc, DBR_E_MOVING);
	assert_int_equal(int_on(e.db, from,
				"SELECT count(*) FROM messages WHERE id = 999",
				NULL, 0),
			 0);
	dbr_close(stale);
	free(w.ledger);
	env_close(&e);
	return st.attempts;
}

static void move_live(const char *from, const char *to, int64_t chat)
{
	move_live_with(from, to, chat, "");
}

static void test_move_run__sqlite_to_sqlite(void **state)
{
	(void)state;
	move_live("s1", "s2", 11);
}

static void test_move_run__sqlite_to_postgres(void **state)
{
	(void)state;
	move_live("s1", "p1", 21);
}

static void test_move_run__postgres_to_postgres(void **state)
{
	(void)state;
	move_live("p1", "p2", 31);
}

static void test_move_run__postgres_to_sqlite(void **state)
{
	(void)state;
	move_live("p1", "s1", 41);
}

/* A started move of chat on e from `from` to `to`; the run's status. */
static int run_move(struct env *e, int64_t chat, const char *to, int64_t *id,
		    struct dbr_error *err)
{
	int rc = dbr_move_start(e->db, chat, to, NULL, id, err);

	if (rc)
		fail_msg("start: %s", err->message);
	return dbr_move_run(e->db, *id, NULL, err);
}

static void expect_aborted(struct env *e, int64_t id)
{
	struct dbr_move_status st = { .size = sizeof(st) };
	struct dbr_error err;

	assert_int_equal(dbr_move_status(e->db, id, &st, &err), DBR_OK);
	assert_string_equal(st.state, "aborted");
	assert_true(st.error[0] != '\0');
}

/* The moving chat is writable on its source again, and no trigger or
 * fence of the move is left there. */
static void writable_again(struct env *e, int64_t chat, const char *from)
{
	struct dbr_value p[3] = { dbr_int64(chat * 10000 + 9999),
				  dbr_int64(chat), dbr_text("x", 1) };
	struct dbr_error err;

	wait_route(e->db, chat, from); /* the store's snapshot loaded */
	if (dbr_query(e->db, chat,
		      "INSERT INTO messages (id, chat_id, body) VALUES (?, ?, "
		      "?)",
		      p, 3, NULL, &err))
		fail_msg("%s: %s", from, err.message);
	assert_int_equal(int_on(e->db, from,
				"SELECT count(*) FROM _dbroute_fence WHERE "
				"chat_id = ?",
				&p[1], 1),
			 0);
}

static void collision(const char *from, const char *to, int64_t chat)
{
	struct dbr_value other[3] = { dbr_int64(chat * 10000 + 5),
				      dbr_int64(chat + 1),
				      dbr_text("theirs", 6) };
	struct dbr_error err;
	struct env e;
	int64_t id = 0;
	int rc;

	env_open(&e, "collide");
	if ((is_pg(from) || is_pg(to)) && !e.pg) {
		env_close(&e);
		t_need_server_or_skip("DBR_TEST_PG", "PostgreSQL");
		return;
	}
	make_tables(&e, from);
	make_tables(&e, to);
	map_chat(&e, chat, from);
	map_chat(&e, chat + 1, to);
	seed(&e, chat, from, 30);
	/* Another chat's row under one of the moving chat's ids. */
	exec_on(e.db, to,
		"INSERT INTO messages (id, chat_id, body) VALUES (?, ?, ?)",
		other, 3);
	rc = run_move(&e, chat, to, &id, &err);
	assert_int_equal(rc, DBR_E_CONSTRAINT);
	assert_non_null(strstr(err.message, "messages"));
	assert_non_null(strstr(err.message, "collision"));
	assert_non_null(strstr(err.message, "id="));
	/* Nothing overwritten; the copied rows removed. */
	assert_int_equal(int_on(e.db, to,
				"SELECT count(*) FROM messages WHERE body = "
				"'theirs'",
				NULL, 0),
			 1);
	other[0] = dbr_int64(chat);
	assert_int_equal(int_on(e.db, to,
				"SELECT count(*) FROM messages WHERE chat_id "
				"= ?",
				other, 1),
			 0);
	expect_aborted(&e, id);
	wait_route(e.db, chat, from);
	writable_again(&e, chat, from);
	env_close(&e);
}

static void test_move_run__collision_refused(void **state)
{
	(void)state;
	collision("s1", "s2", 51);
	collision("s1", "p1", 52);
}

static void test_move_run__nul_text_into_postgres(void **state)
{
	struct dbr_value p[3];
	struct dbr_error err;
	struct env e;
	int64_t id = 0, chat = 61;

	(void)state;
	env_open(&e, "nul");
	if (!e.pg) {
		env_close(&e);
		t_need_server_or_skip("DBR_TEST_PG", "PostgreSQL");
		return;
	}
	make_tables(&e, "s1");
	make_tables(&e, "p1");
	map_chat(&e, chat, "s1");
	seed(&e, chat, "s1", 10);
	p[0] = dbr_int64(chat * 10000 + 100);
	p[1] = dbr_int64(chat);
	p[2] = dbr_text("a\0b", 3);
	exec_on(e.db, "s1",
		"INSERT INTO messages (id, chat_id, body) VALUES (?, ?, ?)", p,
		3);
	assert_int_equal(run_move(&e, chat, "p1", &id, &err), DBR_E_CONSTRAINT);
	assert_non_null(strstr(err.message, "NUL"));
	assert_non_null(strstr(err.message, "id=610100"));
	expect_aborted(&e, id);
	{
		struct dbr_move_status st = { .size = sizeof(st) };

		assert_int_equal(dbr_move_status(e.db, id, &st, &err), DBR_OK);
		assert_int_equal(st.attempts, 0); /* never fenced */
	}
	p[0] = dbr_int64(chat);
	assert_int_equal(int_on(e.db, "p1",
				"SELECT count(*) FROM messages WHERE chat_id "
				"= ?",
				p, 1),
			 0);
	writable_again(&e, chat, "s1");
	env_close(&e);
}

static void test_move_run__one_live_move_per_chat(void **state)
{
	struct dbr_move_status *all = NULL;
	struct dbr_error err;
	struct env e;
	int64_t id = 0, id2 = 0, chat = 71;
	size_t n = 0;

	(void)state;
	env_open(&e, "live");
	make_tables(&e, "s1");
	make_tables(&e, "s2");
	map_chat(&e, chat, "s1");
	seed(&e, chat, "s1", 10);
	assert_int_equal(dbr_move_start(e.db, chat, "s2", NULL, &id, &err),
			 DBR_OK);
	assert_int_equal(dbr_move_start(e.db, chat, "s2", NULL, &id2, &err),
			 DBR_E_CONSTRAINT);
	assert_non_null(strstr(err.message, "move 1 is live"));
	assert_int_equal(id2, 0);
	/* Aborted, it leaves nothing; a new move may start and run. */
	assert_int_equal(dbr_move_abort(e.db, id, &err), DBR_OK);
	expect_aborted(&e, id);
	writable_again(&e, chat, "s1");
	assert_int_equal(dbr_move_run(e.db, id, NULL, &err), DBR_E_MISUSE);
	assert_int_equal(dbr_move_start(e.db, chat, "s2", NULL, &id2, &err),
			 DBR_OK);
	assert_int_equal(dbr_move_run(e.db, id2, NULL, &err), DBR_OK);
	assert_int_equal(dbr_move_list(e.db, &all, &n, &err), DBR_OK);
	assert_int_equal(n, 2);
	assert_string_equal(all[0].state, "aborted");
	assert_string_equal(all[1].state, "switched");
	assert_true(all[1].pause_ms >= 0);
	dbr_free(all);
	env_close(&e);
}

static void test_move_run__cli(void **state)
{
	char *out = NULL, *err = NULL;
	struct dbr_error derr;
	struct env e;
	int64_t id = 0;

	(void)state;
	env_open(&e, "cli");
	make_tables(&e, "s1");
	make_tables(&e, "s2");
	map_chat(&e, 81, "s1");
	seed(&e, 81, "s1", 50);
	assert_int_equal(t_run_cli(e.dir,
				   "move-chat -c move.ini --chat 81 --to s2",
				   &out, &err),
			 0);
	assert_non_null(strstr(out, "move 1: chat 81 switched from 's1' to "
				    "'s2', 90 rows copied; writes held "));
	assert_int_equal(int_on(e.db, "s2",
				"SELECT count(*) FROM messages WHERE chat_id "
				"= 81",
				NULL, 0),
			 50);
	/* A second move of the same chat: from s2 now. */
	assert_int_equal(t_run_cli(e.dir,
				   "move-chat -c move.ini --chat 81 --to s2",
				   &out, &err),
			 2);
	assert_non_null(strstr(err, "already lives on source 's2'"));
	assert_int_equal(t_run_cli(e.dir,
				   "move-chat -c move.ini --status --format "
				   "csv",
				   &out, &err),
			 0);
	assert_non_null(strstr(out, "id,chat,from,to,state,rows,pause_ms,"
				    "attempts,started_ms,updated_ms,error\n"
				    "1,81,s1,s2,switched,90,"));
	assert_int_equal(t_run_cli(e.dir, "move-chat -c move.ini --status 1",
				   &out, &err),
			 0);
	assert_non_null(strstr(out, "1\t81\ts1\ts2\tswitched\t90\t"));
	assert_int_equal(t_run_cli(e.dir, "move-chat -c move.ini --status 7",
				   &out, &err),
			 1);
	assert_non_null(strstr(err, "no move 7"));
	assert_int_equal(t_run_cli(e.dir,
				   "move-chat -c move.ini --status 1 --chat 2",
				   &out, &err),
			 2);
	/* --abort: a started move undone; a switched one refused. */
	map_chat(&e, 82, "s1");
	seed(&e, 82, "s1", 5);
	assert_int_equal(dbr_move_start(e.db, 82, "s2", NULL, &id, &derr),
			 DBR_OK);
	assert_int_equal(
		t_run_cli(e.dir, "move-chat -c move.ini --abort 2", &out, &err),
		0);
	assert_string_equal(out, "move 2 aborted\n");
	expect_aborted(&e, 2);
	writable_again(&e, 82, "s1");
	assert_int_equal(
		t_run_cli(e.dir, "move-chat -c move.ini --abort 1", &out, &err),
		2);
	assert_non_null(strstr(err, "move 1 is switched already"));
	assert_int_equal(
		t_run_cli(e.dir, "move-chat -c move.ini --abort", &out, &err),
		2);
	free(out);
	free(err);
	env_close(&e);
}

/* The mover stalls past the fence in its first attempt: the fence ends
 * on the source's clock, the chat's held writes go to the old source
 * (captured), the second attempt catches them up and switches; every
 * acknowledged write is on the destination once. */
static void test_move_run__fence_expires_then_retries(void **state)
{
	const char *pairs[][2] = { { "s1", "s2" }, { "p1", "p2" } };
	int i;

	(void)state;
	setenv("DBROUTE_TEST_MOVE_STALL", "700:1", 1);
	for (i = 0; i < 2; i++)
		if (i == 0 || getenv("DBR_TEST_PG"))
			assert_int_equal(
				move_live_with(pairs[i][0], pairs[i][1],
					       91 + i * 4,
					       "fence_timeout = 0.3\n"),
				2);
	unsetenv("DBROUTE_TEST_MOVE_STALL");
}

/* Every attempt stalls past the fence: "too busy", DBR_E_MOVING, the
 * move undone and the chat writable on its source; the command's exit
 * code is 3. */
static void test_move_run__too_busy(void **state)
{
	struct dbr_move_status st = { .size = sizeof(st) };
	char *out = NULL, *errtext = NULL;
	struct dbr_error err;
	struct env e;
	int64_t id = 0, chat = 111;

	(void)state;
	env_open_move(&e, "busy", "fence_timeout = 0.1\nmax_attempts = 2\n");
	make_tables(&e, "s1");
	make_tables(&e, "s2");
	map_chat(&e, chat, "s1");
	seed(&e, chat, "s1", 40);
	setenv("DBROUTE_TEST_MOVE_STALL", "200:99", 1);
	assert_int_equal(run_move(&e, chat, "s2", &id, &err), DBR_E_MOVING);
	assert_non_null(strstr(err.message, "too busy"));
	assert_true(err.retryable);
	assert_int_equal(dbr_move_status(e.db, id, &st, &err), DBR_OK);
	assert_string_equal(st.state, "aborted");
	assert_int_equal(st.attempts, 2);
	writable_again(&e, chat, "s1");
	assert_int_equal(
		int_on(e.db, "s2", "SELECT count(*) FROM messages", NULL, 0),
		0);
	assert_int_equal(t_run_cli(e.dir,
				   "move-chat -c move.ini --chat 111 --to s2",
				   &out, &errtext),
			 3);
	assert_non_null(strstr(errtext, "move 2 aborted: "));
	assert_non_null(strstr(errtext, "too busy"));
	unsetenv("DBROUTE_TEST_MOVE_STALL");
	free(out);
	free(errtext);
	env_close(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_move_run__sqlite_to_sqlite),
		cmocka_unit_test(test_move_run__sqlite_to_postgres),
		cmocka_unit_test(test_move_run__postgres_to_postgres),
		cmocka_unit_test(test_move_run__postgres_to_sqlite),
		cmocka_unit_test(test_move_run__collision_refused),
		cmocka_unit_test(test_move_run__nul_text_into_postgres),
		cmocka_unit_test(test_move_run__one_live_move_per_chat),
		cmocka_unit_test(test_move_run__cli),
		cmocka_unit_test(test_move_run__fence_expires_then_retries),
		cmocka_unit_test(test_move_run__too_busy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
