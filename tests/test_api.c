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

struct fixture {
	char *dir;
	char *path;
	struct dbr *db;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->dir = t_tmpdir();
	f->path = t_write(f->dir, "api.ini", config);
	f->db = t_open(f->path);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	dbr_close(f->db);
	t_rmtree(f->dir);
	free(f->path);
	free(f->dir);
	free(f);
	return 0;
}

/* Fill err with garbage, as an uninitialised struct on the stack may be. */
static void garbage(struct dbr_error *err)
{
	memset(err, 0xa5, sizeof(*err));
}

/* Every field of a failure's error is set: code as returned, text fields
 * terminated, hint static and non-NULL, reserved zero. */
static void assert_filled(const struct dbr_error *err, int code, bool retryable)
{
	size_t i;

	assert_int_equal(err->code, code);
	assert_true(err->retryable == retryable);
	assert_true(err->truncated == false || err->truncated == true);
	assert_non_null(memchr(err->sqlstate, '\0', sizeof(err->sqlstate)));
	assert_non_null(memchr(err->source, '\0', sizeof(err->source)));
	assert_non_null(memchr(err->message, '\0', sizeof(err->message)));
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
		{ DBR_E_RESOURCE, true },
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
	struct fixture *f = *state;
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
	struct fixture *f = *state;
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
