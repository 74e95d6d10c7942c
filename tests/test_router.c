/*
 * test_router.c - routing: explicit source > scope > chat mapping >
 * default, the explain calls, and a table of 100,000 mappings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "chat_table.h"

static const char config[] =
	"[database]\ndefault_source = main\n"
	"[source.main]\ntype = sqlite\npath = main.db\n"
	"[source.pg_like]\ntype = sqlite\npath = other.db\n"
	"[source.cache]\ntype = sqlite\npath = cache.db\n"
	"[scopes]\ncache = cache\nsettings = main\n"
	"[chat_mapping]\n-1001234567890 = pg_like\n5 = cache\n";

static int setup(void **state)
{
	*state = t_handle_open("r.ini", config);
	return 0;
}

static int teardown(void **state)
{
	t_handle_close(*state);
	return 0;
}

static void expect_chat(struct dbr *db, int64_t chat, const char *source,
			int reason)
{
	char s[DBR_NAME_SIZE];
	int r = 0;

	assert_int_equal(dbr_route_chat(db, chat, s, sizeof(s), &r), DBR_OK);
	assert_string_equal(s, source);
	assert_int_equal(r, reason);
}

static void test_router__mapped_and_unmapped(void **state)
{
	struct t_handle *f = *state;

	expect_chat(f->db, -1001234567890, "pg_like", DBR_ROUTE_MAPPED);
	expect_chat(f->db, 5, "cache", DBR_ROUTE_MAPPED);
	expect_chat(f->db, 6, "main", DBR_ROUTE_DEFAULT);
	expect_chat(f->db, -1001234567891, "main", DBR_ROUTE_DEFAULT);
	expect_chat(f->db, 0, "main", DBR_ROUTE_DEFAULT);
	expect_chat(f->db, INT64_MIN, "main", DBR_ROUTE_DEFAULT);
}

static void test_router__scopes(void **state)
{
	struct t_handle *f = *state;
	char s[DBR_NAME_SIZE];
	int r;

	dbr_route_scope(f->db, "cache", s, sizeof(s), &r);
	assert_string_equal(s, "cache");
	assert_int_equal(r, DBR_ROUTE_SCOPE);
	/* No entry: the default source. */
	dbr_route_scope(f->db, "media", s, sizeof(s), &r);
	assert_string_equal(s, "main");
	assert_int_equal(r, DBR_ROUTE_DEFAULT);
	assert_int_equal(dbr_route_scope(f->db, NULL, s, sizeof(s), &r),
			 DBR_E_MISUSE);
	assert_string_equal(s, "");
	assert_int_equal(r, 0);
	assert_string_equal(dbr_route_reason_name(DBR_ROUTE_SCOPE), "scope");
}

/* Operations land where the route says: each source's file holds its
 * own marker row only. */
static void test_router__explicit_source_and_order(void **state)
{
	struct t_handle *f = *state;
	struct dbr_result *res;
	struct dbr_error err;
	char **names;
	size_t i;

	assert_int_equal(dbr_source_names(f->db, &names, NULL, &err), DBR_OK);
	for (i = 0; names[i]; i++) {
		const char *name = names[i];
		struct dbr_value v = dbr_text(name, strlen(name));

		assert_int_equal(dbr_query_source(f->db, name,
						  "CREATE TABLE who (name)",
						  NULL, 0, NULL, &err),
				 DBR_OK);
		assert_int_equal(dbr_query_source(f->db, name,
						  "INSERT INTO who VALUES (?)",
						  &v, 1, NULL, &err),
				 DBR_OK);
	}
	assert_int_equal(i, 3);
	dbr_free(names);
	/* Explicit beats everything; scope beats default. */
	assert_int_equal(dbr_query_source(f->db, "cache",
					  "SELECT name FROM "
					  "who",
					  NULL, 0, &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_string_equal(dbr_result_text(res, 0, NULL), "cache");
	assert_string_equal(dbr_result_source(res), "cache");
	dbr_result_free(res);
	assert_int_equal(dbr_query_scope(f->db, "cache",
					 "SELECT name FROM "
					 "who",
					 NULL, 0, &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_string_equal(dbr_result_text(res, 0, NULL), "cache");
	dbr_result_free(res);
	assert_int_equal(dbr_query(f->db, -1001234567890,
				   "SELECT name FROM "
				   "who",
				   NULL, 0, &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_string_equal(dbr_result_text(res, 0, NULL), "pg_like");
	dbr_result_free(res);
	/* NULL source: the default. */
	assert_int_equal(dbr_query_source(f->db, NULL, "SELECT name FROM who",
					  NULL, 0, &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_string_equal(dbr_result_text(res, 0, NULL), "main");
	dbr_result_free(res);
	assert_int_equal(dbr_query_source(f->db, "nope", "SELECT 1", NULL, 0,
					  &res, &err),
			 DBR_E_NOTFOUND);
	assert_null(res);
	assert_string_equal(err.message, "no source named 'nope'");
}

/*
 * A route's name is copied into the caller's buffer: one exactly big
 * enough works, one a byte short is misuse with "" (never a cut name), and
 * a NULL buffer asks for the reason only.
 */
static void test_router__name_copied_or_refused(void **state)
{
	struct t_handle *f = *state;
	char s[DBR_NAME_SIZE];
	size_t i;
	int r;

	memset(s, 'x', sizeof(s));
	assert_int_equal(dbr_route_chat(f->db, -1001234567890, s, 8, &r),
			 DBR_OK);
	assert_string_equal(s, "pg_like");
	memset(s, 'x', sizeof(s));
	assert_int_equal(dbr_route_chat(f->db, -1001234567890, s, 7, &r),
			 DBR_E_MISUSE);
	assert_string_equal(s, "");
	assert_int_equal(r, 0);
	/* Zeroed: no part of the name left behind, nothing past cap. */
	for (i = 0; i < 7; i++)
		assert_int_equal(s[i], '\0');
	assert_int_equal(s[7], 'x');
	memset(s, 'x', sizeof(s));
	assert_int_equal(dbr_route_scope(f->db, "cache", s, 5, &r),
			 DBR_E_MISUSE);
	assert_string_equal(s, "");
	s[0] = 'x';
	assert_int_equal(dbr_route_chat(f->db, 5, s, 0, &r), DBR_E_MISUSE);
	assert_int_equal(s[0], 'x');
	assert_int_equal(dbr_route_chat(f->db, 5, NULL, 0, &r), DBR_OK);
	assert_int_equal(r, DBR_ROUTE_MAPPED);
	assert_int_equal(dbr_route_scope(f->db, "settings", NULL, 0, &r),
			 DBR_OK);
	assert_int_equal(r, DBR_ROUTE_SCOPE);
	assert_int_equal(dbr_route_chat(NULL, 5, s, sizeof(s), &r),
			 DBR_E_MISUSE);
	assert_int_equal(dbr_default_source(f->db, s, 5), DBR_OK);
	assert_string_equal(s, "main");
	assert_int_equal(dbr_default_source(f->db, s, 4), DBR_E_MISUSE);
	assert_string_equal(s, "");
	assert_int_equal(dbr_default_source(f->db, NULL, 0), DBR_E_MISUSE);
}

/* 100,000 mappings from a file: each maps where the file says. */
static void test_router__hundred_thousand(void **state)
{
	char *dir = t_tmpdir(), *path = t_path(dir, "big.ini");
	FILE *fp = fopen(path, "w");
	struct dbr *db;
	char s[DBR_NAME_SIZE];
	int64_t chat;
	int i, r;

	(void)state;
	fprintf(fp, "[database]\ndefault_source = a\n"
		    "[source.a]\ntype = sqlite\npath = a.db\n"
		    "[source.b]\ntype = sqlite\npath = b.db\n"
		    "[chat_mapping]\n");
	for (i = 0; i < 100000; i++) {
		chat = -1000000000000 - (int64_t)i * 7919;
		fprintf(fp, "%lld = %s\n", (long long)chat, i % 2 ? "a" : "b");
	}
	fclose(fp);
	db = t_open(path);
	for (i = 0; i < 100000; i++) {
		chat = -1000000000000 - (int64_t)i * 7919;
		dbr_route_chat(db, chat, s, sizeof(s), &r);
		assert_int_equal(r, DBR_ROUTE_MAPPED);
		assert_string_equal(s, i % 2 ? "a" : "b");
		dbr_route_chat(db, chat - 1, s, sizeof(s), &r);
		assert_int_equal(r, DBR_ROUTE_DEFAULT);
	}
	dbr_close(db);
	t_rmtree(dir);
	free(path);
	free(dir);
}

/* The table itself: a duplicate is refused and names the first. */
static void test_router__table_duplicates(void **state)
{
	struct dbr__chat_table r;
	uint32_t existing = 0;

	(void)state;
	assert_int_equal(dbr__chat_table_init(&r, 3), DBR_OK);
	assert_int_equal(dbr__chat_table_lookup(&r, 1), DBR__CHAT_MISS);
	assert_int_equal(dbr__chat_table_insert(&r, 1, 7, &existing), DBR_OK);
	assert_int_equal(dbr__chat_table_insert(&r, 1, 8, &existing),
			 DBR_E_MISUSE);
	assert_int_equal(existing, 7);
	assert_int_equal(dbr__chat_table_lookup(&r, 1), 7);
	dbr__chat_table_release(&r);
}

/* The extreme ids, zero, an empty table, and a table that is full. */
static void test_router__table_edge_ids(void **state)
{
	struct dbr__chat_table r;
	uint32_t existing = 0;
	int64_t i;

	(void)state;
	assert_int_equal(dbr__chat_table_init(&r, 0), DBR_OK);
	assert_int_equal(dbr__chat_table_lookup(&r, INT64_MIN), DBR__CHAT_MISS);
	assert_int_equal(dbr__chat_table_lookup(&r, 0), DBR__CHAT_MISS);
	assert_int_equal(dbr__chat_table_insert(&r, 5, 1, &existing),
			 DBR_E_NOMEM);
	dbr__chat_table_release(&r);

	assert_int_equal(dbr__chat_table_init(&r, 3), DBR_OK);
	assert_int_equal(dbr__chat_table_lookup(&r, INT64_MIN), DBR__CHAT_MISS);
	assert_int_equal(dbr__chat_table_insert(&r, INT64_MIN, 4, &existing),
			 DBR_OK);
	assert_int_equal(dbr__chat_table_insert(&r, INT64_MIN, 5, &existing),
			 DBR_E_MISUSE);
	assert_int_equal(existing, 4);
	assert_int_equal(dbr__chat_table_insert(&r, INT64_MAX, 6, &existing),
			 DBR_OK);
	assert_int_equal(dbr__chat_table_insert(&r, 0, 0, &existing), DBR_OK);
	assert_int_equal(dbr__chat_table_lookup(&r, INT64_MIN), 4);
	assert_int_equal(dbr__chat_table_lookup(&r, INT64_MAX), 6);
	assert_int_equal(dbr__chat_table_lookup(&r, 0), 0);
	assert_int_equal(dbr__chat_table_lookup(&r, INT64_MIN + 1),
			 DBR__CHAT_MISS);
	/* Sized for 3: room for 8 (load 1/2), then refused, not overfilled. */
	for (i = 1; i <= 5; i++)
		assert_int_equal(
			dbr__chat_table_insert(&r, i * 1000, 1, &existing),
			DBR_OK);
	assert_int_equal(dbr__chat_table_insert(&r, 77, 1, &existing),
			 DBR_E_NOMEM);
	for (i = 1; i <= 5; i++)
		assert_int_equal(dbr__chat_table_lookup(&r, i * 1000), 1);
	dbr__chat_table_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_router__mapped_and_unmapped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_router__scopes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_router__explicit_source_and_order, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_router__name_copied_or_refused, setup, teardown),
		cmocka_unit_test(test_router__hundred_thousand),
		cmocka_unit_test(test_router__table_duplicates),
		cmocka_unit_test(test_router__table_edge_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
