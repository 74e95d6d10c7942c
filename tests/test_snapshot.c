/*
 * test_snapshot.c - the routing snapshot: the chat table's size at any
 * count, the resolution order with a mapping store (store, INI, default),
 * "mapping not loaded", a store row naming a source this process lacks,
 * the overlay and its folding, and readers against a writer publishing
 * thousands of snapshots (run under TSan and ASan: a snapshot freed while
 * a reader holds it, or a reader seeing half a change, fails here).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "route.h"

static const char config[] = "[database]\ndefault_source = main\n"
			     "[source.main]\ntype = sqlite\npath = main.db\n"
			     "[source.a]\ntype = sqlite\npath = a.db\n"
			     "[source.b]\ntype = sqlite\npath = b.db\n"
			     "[scopes]\ncache = b\n"
			     "[chat_mapping]\n5 = a\n9 = b\n";

/* A handle whose snapshots expect a mapping store (none loaded yet). */
static int setup(void **state)
{
	struct t_handle *h = t_handle_open("s.ini", config);

	dbr__snaps_release(&h->db->snaps);
	assert_int_equal(dbr__snaps_init(&h->db->snaps, h->db->cfg, true),
			 DBR_OK);
	*state = h;
	return 0;
}

static int teardown(void **state)
{
	t_handle_close(*state);
	return 0;
}

static void expect_route(struct dbr *db, int64_t chat, int status,
			 const char *source, int reason)
{
	char s[DBR_NAME_SIZE];
	int r = -1;

	assert_int_equal(dbr_route_chat(db, chat, s, sizeof(s), &r), status);
	assert_string_equal(s, source);
	assert_int_equal(r, reason);
}

static struct dbr__snaps *snaps_of(void **state)
{
	return &((struct t_handle *)*state)->db->snaps;
}

/* Sized for its count: at most half full and never more than twice the
 * slots it needs, at counts just past a power of two too (the table once
 * doubled and took 66.7 bytes a mapping at 1,100,000). */
static void test_snapshot__table_sized_for_its_count(void **state)
{
	static const size_t counts[] = { 1, 1000, 1025, 65537, 1100000 };
	const size_t slot = 1 + sizeof(struct dbr__chat_slot);
	struct dbr__chat_table t;
	uint32_t existing;
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		size_t n = counts[i];

		assert_int_equal(dbr__chat_table_init(&t, n), DBR_OK);
		assert_true(t.cap >= 2 * n && t.cap <= 2 * n + 16);
		if (n >= 1000)
			assert_true(t.cap * slot <= n * 35);
		for (k = 0; k < n; k++)
			assert_int_equal(dbr__chat_table_insert(
						 &t, (int64_t)(k * 2654435761u),
						 (uint32_t)k, &existing),
					 DBR_OK);
		/* Then full at half its capacity, never past it. */
		for (k = n; k < t.cap / 2; k++)
			assert_int_equal(dbr__chat_table_insert(&t,
								-1 - (int64_t)k,
								0, &existing),
					 DBR_OK);
		assert_int_equal(dbr__chat_table_insert(&t, -1, 0, &existing),
				 DBR_E_NOMEM);
		for (k = 0; k < n; k += 97)
			assert_int_equal(
				dbr__chat_table_lookup(
					&t, (int64_t)(k * 2654435761u)),
				k);
		assert_int_equal(dbr__chat_table_lookup(&t, -1),
				 DBR__CHAT_MISS);
		dbr__chat_table_release(&t);
	}
}

/* Until the store's table loads, a chat's operation is refused with its
 * own status, never routed by the INI or the default; named sources and
 * scopes still work. */
static void test_snapshot__not_loaded_refuses_chats(void **state)
{
	struct t_handle *h = *state;
	struct dbr_result *res = (void *)1;
	struct dbr_tx *tx = (void *)1;
	struct dbr_error err;

	expect_route(h->db, 5, DBR_E_NOTLOADED, "", 0);
	expect_route(h->db, 6, DBR_E_NOTLOADED, "", 0);
	assert_int_equal(dbr_query(h->db, 5, "SELECT 1", NULL, 0, &res, &err),
			 DBR_E_NOTLOADED);
	assert_null(res);
	assert_int_equal(err.code, DBR_E_NOTLOADED);
	assert_string_equal(err.message, "chat 5: the mapping store's table "
					 "is not loaded yet");
	assert_true(err.retryable);
	assert_int_equal(dbr_tx_begin(h->db, 6, &tx, &err), DBR_E_NOTLOADED);
	assert_null(tx);
	assert_string_equal(dbr_strerror(DBR_E_NOTLOADED),
			    "mapping not loaded");
	assert_int_equal(
		dbr_query_source(h->db, "a", "SELECT 1", NULL, 0, NULL, &err),
		DBR_OK);
	assert_int_equal(dbr_query_scope(h->db, "cache", "SELECT 1", NULL, 0,
					 NULL, &err),
			 DBR_OK);
	/* No change list before a table. */
	assert_int_equal(
		dbr__snap_store_apply(snaps_of(state), 1, NULL, 0, &err),
		DBR_E_MISUSE);
}

/* Store, then INI, then default; a row naming a source this process
 * lacks fails the chat with DBR_E_NOTFOUND; an unset row falls back to
 * the INI; a version not above the one held is refused. */
static void test_snapshot__store_order_and_overlay(void **state)
{
	static const struct dbr__store_row load[] = {
		{ 5, "b" }, { 6, "a" }, { 7, "ghost" }, { 10, NULL }
	};
	static const struct dbr__store_row change[] = {
		{ 5, NULL }, { 8, "a" }, { 6, "main" }, { 6, "b" }, { 11, "x" }
	};
	struct t_handle *h = *state;
	struct dbr__snaps *ss = snaps_of(state);
	struct dbr_result *res;
	struct dbr_error err;
	bool folded;

	assert_int_equal(dbr__snap_store_load(ss, 3, load, 4, &err), DBR_OK);
	assert_int_equal(dbr__snap_current(ss)->version, 3);
	expect_route(h->db, 5, DBR_OK, "b", DBR_ROUTE_STORE);
	expect_route(h->db, 6, DBR_OK, "a", DBR_ROUTE_STORE);
	expect_route(h->db, 7, DBR_E_NOTFOUND, "ghost", DBR_ROUTE_STORE);
	expect_route(h->db, 9, DBR_OK, "b", DBR_ROUTE_MAPPED);
	expect_route(h->db, 10, DBR_OK, "main", DBR_ROUTE_DEFAULT);
	assert_string_equal(dbr_route_reason_name(DBR_ROUTE_STORE), "store");
	assert_int_equal(dbr_query(h->db, 7, "SELECT 1", NULL, 0, NULL, &err),
			 DBR_E_NOTFOUND);
	assert_string_equal(err.message,
			    "chat 7: the mapping store maps it to source "
			    "'ghost', which this configuration lacks");
	assert_string_equal(err.source, "ghost");
	assert_false(err.retryable);
	assert_string_equal(err.hint, "add the source to the configuration, "
				      "or map the chat to a source it has");
	/* The operation runs where the store says. */
	assert_int_equal(dbr_query(h->db, 6, "SELECT 1", NULL, 0, &res, &err),
			 DBR_OK);
	assert_string_equal(dbr_result_source(res), "a");
	dbr_result_free(res);

	assert_int_equal(dbr__snap_store_apply(ss, 3, change, 5, &err),
			 DBR_E_MISUSE);
	assert_int_equal(dbr__snap_store_apply(ss, 4, change, 5, &err), DBR_OK);
	assert_int_equal(dbr__snap_current(ss)->overlay.count, 4);
	expect_route(h->db, 5, DBR_OK, "a", DBR_ROUTE_MAPPED);
	expect_route(h->db, 6, DBR_OK, "b", DBR_ROUTE_STORE); /* last wins */
	expect_route(h->db, 8, DBR_OK, "a", DBR_ROUTE_STORE);
	expect_route(h->db, 11, DBR_E_NOTFOUND, "x", DBR_ROUTE_STORE);
	expect_route(h->db, 7, DBR_E_NOTFOUND, "ghost", DBR_ROUTE_STORE);

	/* Below the threshold nothing folds; forced, the same answers from
	 * a new base and an empty overlay. */
	assert_int_equal(dbr__snap_fold(ss, false, &folded), DBR_OK);
	assert_false(folded);
	assert_int_equal(dbr__snap_fold(ss, true, &folded), DBR_OK);
	assert_true(folded);
	assert_int_equal(dbr__snap_current(ss)->overlay.count, 0);
	assert_int_equal(dbr__snap_current(ss)->base->table.count, 4);
	assert_int_equal(dbr__snap_current(ss)->version, 4);
	expect_route(h->db, 5, DBR_OK, "a", DBR_ROUTE_MAPPED);
	expect_route(h->db, 6, DBR_OK, "b", DBR_ROUTE_STORE);
	expect_route(h->db, 8, DBR_OK, "a", DBR_ROUTE_STORE);
	expect_route(h->db, 11, DBR_E_NOTFOUND, "x", DBR_ROUTE_STORE);
	expect_route(h->db, 7, DBR_E_NOTFOUND, "ghost", DBR_ROUTE_STORE);
	/* A full load replaces everything, the overlay too. */
	assert_int_equal(dbr__snap_store_load(ss, 9, NULL, 0, &err), DBR_OK);
	expect_route(h->db, 6, DBR_OK, "main", DBR_ROUTE_DEFAULT);
	expect_route(h->db, 5, DBR_OK, "a", DBR_ROUTE_MAPPED);
	/* A chat twice in a load is refused; the snapshot stays. */
	{
		static const struct dbr__store_row twice[] = { { 1, "a" },
							       { 1, "b" } };

		assert_int_equal(dbr__snap_store_load(ss, 10, twice, 2, &err),
				 DBR_E_MISUSE);
		assert_int_equal(dbr__snap_current(ss)->version, 9);
	}
}

/* Without a store: nothing is expected, loads are refused, the INI
 * routes as before. */
static void test_snapshot__no_store_as_before(void **state)
{
	struct t_handle *h = t_handle_open("n.ini", config);
	struct dbr_error err;

	(void)state;
	expect_route(h->db, 5, DBR_OK, "a", DBR_ROUTE_MAPPED);
	expect_route(h->db, 6, DBR_OK, "main", DBR_ROUTE_DEFAULT);
	assert_int_equal(dbr__snap_store_load(&h->db->snaps, 1, NULL, 0, &err),
			 DBR_E_MISUSE);
	t_handle_close(h);
}

/* The model the stress and fold tests check against: chat -> name. */
#define CHATS 20000

static const char *const names[] = { "main", "a", "b" };

static const char *model_route(const int *model, int64_t chat)
{
	if (model[chat] >= 0)
		return names[model[chat]];
	return chat == 5 ? "a" : chat == 9 ? "b" : "main";
}

static void check_model(struct dbr *db, const int *model)
{
	char s[DBR_NAME_SIZE];
	int64_t chat;
	int r;

	for (chat = 0; chat < CHATS; chat++) {
		assert_int_equal(dbr_route_chat(db, chat, s, sizeof(s), &r),
				 DBR_OK);
		assert_string_equal(s, model_route(model, chat));
	}
}

/* A change of a few chats at a time: the overlay grows, the fold at the
 * threshold takes it into the base, and every chat still routes as the
 * rows said. */
static void test_snapshot__fold_keeps_every_answer(void **state)
{
	struct t_handle *h = *state;
	struct dbr__snaps *ss = snaps_of(state);
	struct dbr__store_row rows[CHATS / 2], change[3];
	struct dbr_error err;
	int *model = malloc(CHATS * sizeof(*model));
	uint64_t seed = 1, v = 1;
	int64_t i;
	int k, folds = 0;
	bool folded;

	for (i = 0; i < CHATS; i++)
		model[i] = -1;
	for (i = 0; i < CHATS / 2; i++) {
		rows[i].chat = i * 2;
		rows[i].source = names[i % 3];
		model[i * 2] = (int)(i % 3);
	}
	assert_int_equal(dbr__snap_store_load(ss, v, rows, CHATS / 2, &err),
			 DBR_OK);
	for (k = 0; k < 3000; k++) {
		for (i = 0; i < 3; i++) {
			int64_t chat;
			int to;

			seed = seed * 6364136223846793005ull +
			       1442695040888963407ull;
			chat = (int64_t)((seed >> 33) % CHATS);
			to = (int)((seed >> 20) % 4) - 1;
			change[i].chat = chat;
			change[i].source = to < 0 ? NULL : names[to];
			model[chat] = to;
		}
		assert_int_equal(
			dbr__snap_store_apply(ss, ++v, change, 3, &err),
			DBR_OK);
		assert_int_equal(dbr__snap_fold(ss, false, &folded), DBR_OK);
		folds += folded;
		assert_true(dbr__snap_current(ss)->overlay.count <
			    DBR__SNAP_FOLD_AT);
	}
	assert_true(folds >= 1);
	check_model(h->db, model);
	free(model);
}

/* Readers against a writer: each change moves chats 1 and 2 together to
 * the version's source, so a reader that sees them differ within one
 * section saw half a change; a snapshot freed under a reader is a
 * use-after-free (ASan) or a race (TSan). */
struct stress {
	struct dbr *db;
	atomic_bool stop;
	atomic_long reads;
};

static void *reader(void *arg)
{
	struct stress *st = arg;
	long n = 0;

	while (!atomic_load(&st->stop) && n < 50000000) {
		struct dbr__ebr_rec *rec = dbr__ebr_enter();
		const struct dbr__snap *sn = dbr__snap_current(&st->db->snaps);
		uint32_t i1, i2, name;
		int r1, r2;

		assert_non_null(rec);
		if (dbr__route_chat(sn, 1, &i1, &r1, &name) == DBR_OK &&
		    dbr__route_chat(sn, 2, &i2, &r2, &name) == DBR_OK) {
			assert_int_equal(i1, i2);
			assert_int_equal(r1, r2);
		}
		dbr__ebr_exit(rec);
		if (++n % 256 == 0)
			atomic_fetch_add(&st->reads, 256);
	}
	return NULL;
}

static void *folder(void *arg)
{
	struct stress *st = arg;
	bool folded;
	int n = 0;

	while (!atomic_load(&st->stop) && n++ < 1000000)
		assert_int_equal(dbr__snap_fold(&st->db->snaps, true, &folded),
				 DBR_OK);
	return NULL;
}

static void test_snapshot__readers_never_see_half(void **state)
{
	struct t_handle *h = *state;
	struct dbr__snaps *ss = snaps_of(state);
	struct stress st = { .db = h->db };
	pthread_t t[5];
	struct dbr_error err;
	struct dbr__store_row rows[2] = { { 1, "a" }, { 2, "a" } };
	double until = dbr__now() + 20;
	uint64_t v;
	int i;

	atomic_init(&st.stop, false);
	atomic_init(&st.reads, 0);
	assert_int_equal(dbr__snap_store_load(ss, 1, rows, 2, &err), DBR_OK);
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, reader, &st), 0);
	assert_int_equal(pthread_create(&t[4], NULL, folder, &st), 0);
	/* 5,000 versions at least, until the readers have read a while. */
	for (v = 2;
	     (v < 5000 || atomic_load(&st.reads) < 20000) && dbr__now() < until;
	     v++) {
		rows[0].source = rows[1].source = names[v % 3];
		assert_int_equal(dbr__snap_store_apply(ss, v, rows, 2, &err),
				 DBR_OK);
		if (v % 500 == 0) /* a full load now and then */
			assert_int_equal(
				dbr__snap_store_load(ss, ++v, rows, 2, &err),
				DBR_OK);
	}
	atomic_store(&st.stop, true);
	for (i = 0; i < 5; i++)
		pthread_join(t[i], NULL);
	assert_true(atomic_load(&st.reads) >= 20000);
	expect_route(h->db, 1, DBR_OK, rows[0].source, DBR_ROUTE_STORE);
	/* Every reader has left: all but the published one are freed. */
	dbr__snap_reclaim(ss);
	assert_null(ss->retired);
}

/* A thread that stays inside a section until told (through pipes). */
static void *inside(void *arg)
{
	int *fds = arg; /* [0]: read "leave", [1]: write "entered" */
	struct dbr__ebr_rec *r = dbr__ebr_enter();
	char c = 'e';

	assert_non_null(r);
	assert_int_equal(write(fds[1], &c, 1), 1);
	assert_int_equal(read(fds[0], &c, 1), 1);
	dbr__ebr_exit(r);
	return NULL;
}

/* The child of a fork while another thread is inside a section: that
 * thread does not exist there, so its record must not hold back
 * reclamation; the forking thread's own section still does. */
static void test_snapshot__fork_frees_other_threads_records(void **state)
{
	int go[2], ready[2], fds[2], status = -1;
	struct dbr__ebr_rec *mine;
	pthread_t t;
	pid_t pid;
	char c = 'l';

	(void)state;
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(ready), 0);
	fds[0] = go[0];
	fds[1] = ready[1];
	assert_int_equal(pthread_create(&t, NULL, inside, fds), 0);
	assert_int_equal(read(ready[0], &c, 1), 1);
	mine = dbr__ebr_enter();
	assert_non_null(mine);
	pid = fork();
	if (pid == 0) {
		/* Exit codes: 1 this section lost, 2 the other thread's
		 * still counted. */
		if (dbr__ebr_is_safe(dbr__ebr_advance()))
			_exit(1);
		dbr__ebr_exit(mine);
		_exit(dbr__ebr_is_safe(dbr__ebr_advance()) ? 0 : 2);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	/* In the parent both sections are live. */
	assert_false(dbr__ebr_is_safe(dbr__ebr_advance()));
	dbr__ebr_exit(mine);
	assert_false(dbr__ebr_is_safe(dbr__ebr_advance()));
	assert_int_equal(write(go[1], &c, 1), 1);
	pthread_join(t, NULL);
	assert_true(dbr__ebr_is_safe(dbr__ebr_advance()));
	close(go[0]);
	close(go[1]);
	close(ready[0]);
	close(ready[1]);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot__table_sized_for_its_count),
		cmocka_unit_test_setup_teardown(
			test_snapshot__not_loaded_refuses_chats, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_snapshot__store_order_and_overlay, setup,
			teardown),
		cmocka_unit_test(test_snapshot__no_store_as_before),
		cmocka_unit_test_setup_teardown(
			test_snapshot__fold_keeps_every_answer, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_snapshot__readers_never_see_half, setup, teardown),
		cmocka_unit_test(
			test_snapshot__fork_frees_other_threads_records),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
