/*
 * test_api.c - the application API's contracts that do not belong to one
 * module: every field of struct dbr_error set on failure (retryable, hint,
 * reserved), and sources addressed by name with copied, size-checked
 * answers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "internal.h"

static const char config[] =
	"[database]\ndefault_source = main\nfallback = none\n"
	"retry_interval = 60\n"
	"[source.main]\ntype = sqlite\npath = main.db\n"
	"[source.other]\ntype = sqlite\npath = other.db\n"
	"max_connections = 1\ntimeout = 0.05\n"
	"[source.gone]\ntype = sqlite\npath = no/such/dir/gone.db\n"
	"readonly = true\n"
	"[scopes]\ncache = other\n"
	"[chat_mapping]\n7 = other\n8 = gone\n";

static int setup(void **state)
{
	*state = t_handle_open("api.ini", config);
	return 0;
}

static int teardown(void **state)
{
	t_handle_close(*state);
	return 0;
}

/* Fill err with garbage, as an uninitialised struct on the stack may be. */
static void garbage(struct dbr_error *err)
{
	memset(err, 0xa5, sizeof(*err));
}

/* A text field is terminated, and every byte after its NUL is zero: no
 * byte of a caller's or the library's stack travels in the struct. */
static void assert_text_clean(const char *text, size_t size)
{
	const char *nul = memchr(text, '\0', size);
	size_t i;

	assert_non_null(nul);
	for (i = (size_t)(nul - text); i < size; i++)
		assert_int_equal(text[i], 0);
}

/* Every field of a failure's error is set: code as returned, text fields
 * terminated with zero tails, hint static and non-NULL, reserved zero. */
static void assert_filled(const struct dbr_error *err, int code, bool retryable)
{
	unsigned char b;
	size_t i;

	assert_int_equal(err->code, code);
	assert_true(err->retryable == retryable);
	/* The byte itself: a bool read from 0xa5 bytes is undefined. */
	memcpy(&b, &err->truncated, 1);
	assert_true(b <= 1);
	assert_text_clean(err->sqlstate, sizeof(err->sqlstate));
	assert_text_clean(err->source, sizeof(err->source));
	assert_text_clean(err->message, sizeof(err->message));
	assert_non_null(err->hint);
	assert_non_null(memchr(err->hint, '\0', 512));
	for (i = 0; i < sizeof(err->reserved) / sizeof(err->reserved[0]); i++)
		assert_true(err->reserved[i] == 0);
}

/* Each category's retryable flag and hint, as the core fills them. */
static void test_api__every_category_classified(void **state)
{
	static const struct {
		int code;
		bool retryable;
	} cases[] = {
		{ DBR_E_CONN, true },	     { DBR_E_STMT, false },
		{ DBR_E_CONSTRAINT, false }, { DBR_E_TIMEOUT, true },
		{ DBR_E_CONFIG, false },     { DBR_E_NOMEM, false },
		{ DBR_E_MISUSE, false },     { DBR_E_UNSUPPORTED, false },
		{ DBR_E_ABI, false },	     { DBR_E_READONLY, false },
		{ DBR_E_NOTFOUND, false },   { DBR_E_UNAVAILABLE, true },
		{ DBR_E_RESOURCE, true },    { DBR_E_NOTLOADED, true },
	};
	struct dbr_error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		garbage(&err);
		assert_int_equal(dbr__error_set(&err, cases[i].code, "s",
						"failed %zu", i),
				 cases[i].code);
		assert_filled(&err, cases[i].code, cases[i].retryable);
		assert_true(strlen(err.hint) > 0);
		assert_string_equal(err.source, "s");
		assert_string_equal(err.sqlstate, "");
		assert_int_equal(err.native_code, 0);
	}
}

/* Failures the core reports on its own, each over a garbage struct. */
static void test_api__core_failures_fill_every_field(void **state)
{
	struct t_handle *f = *state;
	struct dbr_result *res;
	struct dbr_error err;
	struct dbr *db;
	char *bad;

	garbage(&err);
	assert_int_equal(dbr_open(&db, NULL, NULL, &err), DBR_E_MISUSE);
	assert_filled(&err, DBR_E_MISUSE, false);
	garbage(&err);
	assert_int_equal(dbr_query_source(f->db, "nope", "SELECT 1", NULL, 0,
					  NULL, &err),
			 DBR_E_NOTFOUND);
	assert_filled(&err, DBR_E_NOTFOUND, false);
	assert_string_equal(err.source, "nope");
	/* The configuration's problems, reported through core/diag.c. */
	bad = t_write(f->dir, "bad.ini",
		      "[source.x]\ntype = sqlite\nbogus = 1\n");
	garbage(&err);
	assert_int_equal(dbr_open(&db, bad, NULL, &err), DBR_E_CONFIG);
	free(bad);
	assert_filled(&err, DBR_E_CONFIG, false);
	/* A pool whose one connection is taken: the wait's own hint. */
	assert_int_equal(dbr_query(f->db, 7, "SELECT 1", NULL, 0, &res, &err),
			 DBR_OK);
	garbage(&err);
	assert_int_equal(dbr_query(f->db, 7, "SELECT 1", NULL, 0, NULL, &err),
			 DBR_E_TIMEOUT);
	assert_filled(&err, DBR_E_TIMEOUT, true);
	assert_non_null(strstr(err.hint, "max_connections"));
	dbr_result_free(res);
}

/* Failures a driver reports through the host's set_error. */
static void test_api__driver_failures_fill_every_field(void **state)
{
	struct t_handle *f = *state;
	struct dbr_error err;

	t_exec(f->db, 1, "CREATE TABLE u (id INTEGER PRIMARY KEY)", NULL, 0);
	t_exec(f->db, 1, "INSERT INTO u VALUES (1)", NULL, 0);
	garbage(&err);
	assert_int_equal(dbr_query(f->db, 1, "INSERT INTO u VALUES (1)", NULL,
				   0, NULL, &err),
			 DBR_E_CONSTRAINT);
	assert_filled(&err, DBR_E_CONSTRAINT, false);
	assert_true(err.native_code != 0);
	assert_string_equal(err.source, "main");
	garbage(&err);
	assert_int_equal(dbr_query(f->db, 1, "SELEC 1", NULL, 0, NULL, &err),
			 DBR_E_STMT);
	assert_filled(&err, DBR_E_STMT, false);
	/* A file that cannot be opened: the connection failed (a ping
	 * reports it), and then the source is unavailable; both are
	 * transient. */
	garbage(&err);
	assert_int_equal(dbr_source_ping(f->db, "gone", &err), DBR_E_CONN);
	assert_filled(&err, DBR_E_CONN, true);
	garbage(&err);
	assert_int_equal(dbr_query(f->db, 8, "SELECT 1", NULL, 0, NULL, &err),
			 DBR_E_UNAVAILABLE);
	assert_filled(&err, DBR_E_UNAVAILABLE, true);
	assert_string_equal(err.source, "gone");
}

/*
 * A failure over a garbage struct leaves no garbage behind the NULs, and
 * the copy a source keeps as its last error (dbr_source_status) carries
 * none of that caller's bytes to another.
 */
static void test_api__no_garbage_past_the_text(void **state)
{
	struct t_handle *f = *state;
	struct dbr_error err, last;
	int st;

	garbage(&err);
	assert_int_equal(dbr_query(f->db, 1, "SELEC 1", NULL, 0, NULL, &err),
			 DBR_E_STMT);
	assert_filled(&err, DBR_E_STMT, false);
	garbage(&last);
	assert_int_equal(dbr_source_status(f->db, "main", &st, NULL, &last),
			 DBR_OK);
	assert_filled(&last, DBR_E_STMT, false);
	assert_string_equal(last.message, err.message);
	/* Another caller's zeroed struct gets zero tails too. */
	memset(&err, 0, sizeof(err));
	assert_int_equal(dbr_query(f->db, 1, "SELEC 2", NULL, 0, NULL, &err),
			 DBR_E_STMT);
	assert_filled(&err, DBR_E_STMT, false);
}

/*
 * dbr_result_error() is fully filled for a stale pointer, and a fresh
 * result does not show the error of the slot's previous holder.
 */
static void test_api__result_error_stale_and_fresh(void **state)
{
	struct t_handle *f = *state;
	const struct dbr_error *e;
	struct dbr_result *res;
	struct dbr_error err;

	/* The second row fails as it is stepped (an int64 overflow). */
	assert_int_equal(dbr_query(f->db, 7,
				   "SELECT abs(x) FROM (SELECT 1 AS x UNION "
				   "ALL SELECT -9223372036854775807 - 1)",
				   NULL, 0, &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_error(res)->code, DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_int_equal(dbr_result_next(res), DBR_E_STMT);
	assert_filled(dbr_result_error(res), DBR_E_STMT, false);
	dbr_result_free(res);
	/* The same slot (max_connections = 1), a new holder. */
	assert_int_equal(dbr_query(f->db, 7, "SELECT 1", NULL, 0, &res, &err),
			 DBR_OK);
	e = dbr_result_error(res);
	assert_int_equal(e->code, DBR_OK);
	assert_string_equal(e->message, "no error");
	assert_string_equal(e->hint, "");
	dbr_result_free(res);
	e = dbr_result_error(res);
	assert_filled(e, DBR_E_MISUSE, false);
	assert_true(strlen(e->hint) > 0);
	assert_non_null(strstr(e->message, "stale"));
}

/*
 * A column found by its name: as written first, then the one column equal
 * ignoring ASCII case; none, or two equal ignoring case, is not found; a
 * fan-out's merged result too; misuse for NULLs and a freed result.
 */
static void test_api__column_index(void **state)
{
	struct t_handle *f = *state;
	struct dbr_fanout *fan;
	struct dbr_result *res;
	struct dbr_error err;
	size_t i = 99;

	assert_int_equal(dbr_query(f->db, 1,
				   "SELECT 1 AS id, 2 AS Name, 3 AS name, "
				   "4 AS Score, 5 AS id",
				   NULL, 0, &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_column_index(res, "id", &i), DBR_OK);
	assert_int_equal(i, 0);
	assert_int_equal(dbr_result_column_index(res, "name", &i), DBR_OK);
	assert_int_equal(i, 2);
	assert_int_equal(dbr_result_column_index(res, "Name", &i), DBR_OK);
	assert_int_equal(i, 1);
	assert_int_equal(dbr_result_column_index(res, "score", &i), DBR_OK);
	assert_int_equal(i, 3);
	i = 99;
	assert_int_equal(dbr_result_column_index(res, "NAME", &i),
			 DBR_E_NOTFOUND);
	assert_int_equal(dbr_result_column_index(res, "nope", &i),
			 DBR_E_NOTFOUND);
	assert_int_equal(dbr_result_column_index(res, "", &i), DBR_E_NOTFOUND);
	assert_int_equal(i, 99);
	assert_int_equal(dbr_result_column_index(res, NULL, &i), DBR_E_MISUSE);
	assert_int_equal(dbr_result_column_index(res, "id", NULL),
			 DBR_E_MISUSE);
	assert_int_equal(dbr_result_column_index(NULL, "id", &i), DBR_E_MISUSE);
	dbr_result_free(res);
	assert_int_equal(dbr_result_column_index(res, "id", &i), DBR_E_MISUSE);
	assert_int_equal(dbr_fanout_new(&fan), DBR_OK);
	assert_int_equal(dbr_fanout_add_source(fan, "main"), DBR_OK);
	assert_int_equal(dbr_query_all(f->db, fan, "SELECT 7 AS a, 8 AS B",
				       NULL, 0, &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_column_index(res, "b", &i), DBR_OK);
	assert_int_equal(i, 1);
	dbr_result_free(res);
	dbr_fanout_free(fan);
}

/*
 * The names are a copy in one allocation: they outlive the handle they came
 * from, and one dbr_free() releases them (ASan reports a leak otherwise).
 */
static void test_api__names_outlive_their_handle(void **state)
{
	struct t_handle *f = *state;
	struct dbr_error err;
	struct dbr *other;
	char **names;
	size_t n = 0;

	other = t_open(f->path);
	assert_int_equal(dbr_source_names(other, &names, &n, &err), DBR_OK);
	dbr_close(other);
	assert_int_equal(n, 3);
	assert_string_equal(names[0], "main");
	assert_string_equal(names[1], "other");
	assert_string_equal(names[2], "gone");
	assert_null(names[3]);
	/* Still the same after another handle opened and closed. */
	other = t_open(f->path);
	dbr_close(other);
	assert_string_equal(names[1], "other");
	dbr_free(names);
	dbr_free(NULL);
	assert_int_equal(dbr_source_names(f->db, NULL, &n, &err), DBR_E_MISUSE);
	assert_filled(&err, DBR_E_MISUSE, false);
	assert_int_equal(n, 0);
}

static void test_api__info_copied(void **state)
{
	struct t_handle *f = *state;
	struct dbr_source_info info = { .size = sizeof(info) };
	struct dbr_error err;

	assert_int_equal(dbr_source_info(f->db, NULL, &info, &err), DBR_OK);
	assert_int_equal(info.size, sizeof(info));
	assert_string_equal(info.name, "main");
	assert_string_equal(info.type, "sqlite");
	assert_true(info.is_default);
	assert_int_equal(info.flags, DBR_SOURCE_SQL | DBR_SOURCE_TRANSACTIONS);
	assert_string_equal(info.driver_origin, "built-in");
	assert_true(strlen(info.driver_version) > 0);
	assert_int_equal(dbr_source_info(f->db, "gone", &info, &err), DBR_OK);
	assert_string_equal(info.name, "gone");
	assert_false(info.is_default);
	assert_true(info.flags & DBR_SOURCE_READONLY);
}

/* A caller's struct of `size` bytes inside a buffer of guard bytes. */
#define GUARD 0x5c
struct guarded {
	_Alignas(16) unsigned char buf[sizeof(struct dbr_source_info) + 64];
};

static void guard(struct guarded *g, size_t size)
{
	memset(g->buf, GUARD, sizeof(g->buf));
	memcpy(g->buf, &size, sizeof(size));
}

/* Bytes from `from` on are still guard bytes. */
static void assert_untouched(const struct guarded *g, size_t from)
{
	size_t i;

	for (i = from; i < sizeof(g->buf); i++)
		assert_int_equal(g->buf[i], GUARD);
}

/*
 * info and stats write min(size, sizeof) bytes: never past a caller's size,
 * never past what this version knows for a larger (newer) caller. A size
 * below this version's struct is misuse, and then nothing is written; so
 * is an unknown name.
 */
static void test_api__sized_structs_respected(void **state)
{
	struct t_handle *f = *state;
	const size_t isz = sizeof(struct dbr_source_info);
	const size_t ssz = sizeof(struct dbr_source_stats);
	struct guarded g;
	struct dbr_error err;
	size_t size;

	guard(&g, isz);
	assert_int_equal(dbr_source_info(f->db, "other",
					 (struct dbr_source_info *)g.buf, &err),
			 DBR_OK);
	assert_untouched(&g, isz);
	memcpy(&size, g.buf, sizeof(size));
	assert_int_equal(size, isz);
	assert_string_equal(((struct dbr_source_info *)g.buf)->name, "other");
	guard(&g, isz + 64);
	assert_int_equal(dbr_source_info(f->db, "other",
					 (struct dbr_source_info *)g.buf, &err),
			 DBR_OK);
	assert_untouched(&g, isz);
	guard(&g, ssz);
	assert_int_equal(dbr_source_stats(f->db, "other",
					  (struct dbr_source_stats *)g.buf,
					  &err),
			 DBR_OK);
	assert_untouched(&g, ssz);
	guard(&g, ssz + 8);
	assert_int_equal(dbr_source_stats(f->db, "other",
					  (struct dbr_source_stats *)g.buf,
					  &err),
			 DBR_OK);
	assert_untouched(&g, ssz);
	/* 0.3's sizes are the least accepted, frozen as the structs grow. */
	assert_int_equal(DBR__SOURCE_INFO_SIZE_0_3, isz);
	/* 0.4 appended to the stats: a 0.3 caller's size ends where 0.3's
	 * last field and its padding did. */
	assert_int_equal(DBR__SOURCE_STATS_SIZE_0_3,
			 offsetof(struct dbr_source_stats, pool_opening));
	assert_true(DBR__SOURCE_STATS_SIZE_0_3 < ssz);
	/* Too small, zero, or a name that does not exist: nothing written. */
	guard(&g, isz - 1);
	garbage(&err);
	assert_int_equal(dbr_source_info(f->db, "other",
					 (struct dbr_source_info *)g.buf, &err),
			 DBR_E_MISUSE);
	assert_filled(&err, DBR_E_MISUSE, false);
	assert_untouched(&g, sizeof(size));
	guard(&g, 0);
	assert_int_equal(dbr_source_stats(f->db, "other",
					  (struct dbr_source_stats *)g.buf,
					  &err),
			 DBR_E_MISUSE);
	assert_untouched(&g, sizeof(size));
	guard(&g, DBR__SOURCE_STATS_SIZE_0_3 - 1);
	assert_int_equal(dbr_source_stats(f->db, "other",
					  (struct dbr_source_stats *)g.buf,
					  &err),
			 DBR_E_MISUSE);
	assert_untouched(&g, sizeof(size));
	guard(&g, isz);
	garbage(&err);
	assert_int_equal(dbr_source_info(f->db, "nope",
					 (struct dbr_source_info *)g.buf, &err),
			 DBR_E_NOTFOUND);
	assert_filled(&err, DBR_E_NOTFOUND, false);
	assert_untouched(&g, sizeof(size));
	guard(&g, ssz);
	assert_int_equal(dbr_source_stats(f->db, "nope",
					  (struct dbr_source_stats *)g.buf,
					  &err),
			 DBR_E_NOTFOUND);
	assert_untouched(&g, sizeof(size));
	assert_int_equal(dbr_source_info(f->db, "other", NULL, &err),
			 DBR_E_MISUSE);
	assert_int_equal(dbr_source_stats(NULL, "other",
					  (struct dbr_source_stats *)g.buf,
					  &err),
			 DBR_E_MISUSE);
}

/* The stats count operations and read the pool's slots. */
static void test_api__stats_counted(void **state)
{
	struct t_handle *f = *state;
	struct dbr_source_stats st = { .size = sizeof(st) };
	struct dbr_result *res;
	struct dbr_error err;

	assert_int_equal(dbr_source_stats(f->db, "other", &st, &err), DBR_OK);
	assert_int_equal(st.size, sizeof(st));
	assert_true(st.ops == 0 && st.errors == 0 && st.diverted == 0);
	assert_int_equal(st.state, DBR_SOURCE_AVAILABLE);
	assert_int_equal(st.since, 0);
	assert_int_equal(st.pool_max, 1);
	assert_int_equal(st.pool_open, 0);
	assert_int_equal(dbr_query(f->db, 7, "SELECT 1", NULL, 0, &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_source_stats(f->db, "other", &st, &err), DBR_OK);
	assert_int_equal(st.pool_open, 1);
	assert_int_equal(st.pool_in_use, 1);
	assert_int_equal(st.pool_idle, 0);
	assert_int_equal(st.pool_waiters, 0);
	dbr_result_free(res);
	assert_int_equal(dbr_query(f->db, 7, "SELEC", NULL, 0, NULL, &err),
			 DBR_E_STMT);
	assert_int_equal(dbr_source_stats(f->db, "other", &st, &err), DBR_OK);
	assert_int_equal(st.pool_open, 1);
	assert_int_equal(st.pool_in_use, 0);
	assert_int_equal(st.pool_idle, 1);
	assert_int_equal(st.ops, 2);
	assert_int_equal(st.errors, 1);
	/* A source that cannot open: unavailable since now, one error. */
	assert_int_equal(dbr_source_ping(f->db, "gone", &err), DBR_E_CONN);
	assert_int_equal(dbr_source_stats(f->db, "gone", &st, &err), DBR_OK);
	assert_int_equal(st.state, DBR_SOURCE_UNAVAILABLE);
	assert_true(st.since > 0);
	assert_int_equal(st.pool_open, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_api__every_category_classified),
		cmocka_unit_test_setup_teardown(
			test_api__core_failures_fill_every_field, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_api__driver_failures_fill_every_field, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_api__no_garbage_past_the_text, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_api__result_error_stale_and_fresh, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_api__names_outlive_their_handle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_api__info_copied, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_api__sized_structs_respected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_api__stats_counted, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_api__column_index, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
