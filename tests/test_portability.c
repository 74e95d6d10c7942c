/*
 * test_portability.c - every example of docs/portability.md that starts
 * with `-- portable` runs on SQLite, PostgreSQL and MariaDB (the servers
 * scripts/test.sh starts: DBR_TEST_PG, DBR_TEST_MYSQL), statement by
 * statement: each statement succeeds on the three, and the rows each
 * returns hold the same values on the three (the same type and bytes,
 * doubles compared exactly; an integer and a double of the same value
 * count as the same).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define NENGINES 3
static const char *const engines[NENGINES] = { "lite", "pg", "my" };

static char *dir;
static struct dbr *db;

/* One value of a result, kept for the comparison. */
struct cell {
	int type;
	int64_t i;
	double d;
	char *s; /* text or blob bytes (owned) */
	size_t len;
};

struct rows {
	struct cell *cells;
	size_t n, cap, ncols;
};

static void rows_free(struct rows *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->cells[i].s);
	free(r->cells);
	memset(r, 0, sizeof(*r));
}

static void add_cell(struct rows *r, const struct dbr_value *v)
{
	struct cell *c;

	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->cells = realloc(r->cells, r->cap * sizeof(*r->cells));
		assert_non_null(r->cells);
	}
	c = &r->cells[r->n++];
	memset(c, 0, sizeof(*c));
	c->type = v->type;
	if (v->type == DBR_TYPE_INT64)
		c->i = v->u.i;
	else if (v->type == DBR_TYPE_DOUBLE)
		c->d = v->u.d;
	else if (v->type == DBR_TYPE_TEXT || v->type == DBR_TYPE_BLOB) {
		c->s = malloc(v->len + 1);
		assert_non_null(c->s);
		memcpy(c->s, v->u.b, v->len);
		c->len = v->len;
	}
}

/* Run sql on one engine; its rows into *r. */
static void run(int e, const char *sql, struct rows *r)
{
	struct dbr_result *res;
	struct dbr_error err;
	struct dbr_value v;
	size_t c;
	int rc;

	if (dbr_query_source(db, engines[e], sql, NULL, 0, &res, &err))
		fail_msg("%s: %s\n%s", engines[e], err.message, sql);
	r->ncols = dbr_result_column_count(res);
	while ((rc = dbr_result_next(res)) == DBR_ROW)
		for (c = 0; c < r->ncols; c++) {
			dbr_result_value(res, c, &v);
			add_cell(r, &v);
		}
	if (rc != DBR_DONE)
		fail_msg("%s: %s\n%s", engines[e],
			 dbr_result_error(res)->message, sql);
	dbr_result_free(res);
}

static bool same(const struct cell *a, const struct cell *b)
{
	if (a->type == DBR_TYPE_INT64 && b->type == DBR_TYPE_DOUBLE)
		return (double)a->i == b->d && (int64_t)b->d == a->i;
	if (a->type == DBR_TYPE_DOUBLE && b->type == DBR_TYPE_INT64)
		return same(b, a);
	if (a->type != b->type)
		return false;
	if (a->type == DBR_TYPE_INT64)
		return a->i == b->i;
	if (a->type == DBR_TYPE_DOUBLE)
		return !memcmp(&a->d, &b->d, sizeof(double));
	if (a->type == DBR_TYPE_NULL)
		return true;
	return a->len == b->len && !memcmp(a->s, b->s, a->len);
}

static void describe(const struct cell *c, char *out, size_t size)
{
	if (c->type == DBR_TYPE_INT64)
		snprintf(out, size, "int64 %lld", (long long)c->i);
	else if (c->type == DBR_TYPE_DOUBLE)
		snprintf(out, size, "double %.17g", c->d);
	else if (c->type == DBR_TYPE_NULL)
		snprintf(out, size, "NULL");
	else
		snprintf(out, size, "%s '%.*s'",
			 c->type == DBR_TYPE_TEXT ? "text" : "blob",
			 (int)(c->len > 60 ? 60 : c->len), c->s);
}

/* One statement on the three engines, its rows compared. */
static void check_statement(const char *sql)
{
	struct rows r[NENGINES];
	char a[128], b[128];
	size_t i;
	int e;

	memset(r, 0, sizeof(r));
	for (e = 0; e < NENGINES; e++)
		run(e, sql, &r[e]);
	for (e = 1; e < NENGINES; e++) {
		if (r[e].n != r[0].n || r[e].ncols != r[0].ncols)
			fail_msg("%s: %zu values in %zu columns, %s: %zu in "
				 "%zu\n%s",
				 engines[0], r[0].n, r[0].ncols, engines[e],
				 r[e].n, r[e].ncols, sql);
		for (i = 0; i < r[0].n; i++) {
			if (same(&r[0].cells[i], &r[e].cells[i]))
				continue;
			describe(&r[0].cells[i], a, sizeof(a));
			describe(&r[e].cells[i], b, sizeof(b));
			fail_msg("value %zu: %s: %s, %s: %s\n%s", i, engines[0],
				 a, engines[e], b, sql);
		}
	}
	for (e = 0; e < NENGINES; e++)
		rows_free(&r[e]);
}

/*
 * Every statement of every portable block, in order. A block is the text
 * between a ```sql line and the closing ``` whose first line is
 * `-- portable`; a statement ends with a line that ends with ';'.
 */
static void test_portability__examples_mean_the_same(void **state)
{
	char *doc = t_read(DBR_TEST_DIR "/../docs/portability.md");
	char *line, *next, stmt[4096];
	bool in_block = false, portable = false;
	int blocks = 0, statements = 0;
	size_t len = 0;

	(void)state;
	assert_non_null(doc);
	for (line = doc; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!in_block) {
			in_block = !strcmp(line, "```sql");
			portable = false;
			len = 0;
			continue;
		}
		if (!strcmp(line, "```")) {
			in_block = false;
			assert_int_equal(len, 0); /* no unfinished statement */
			continue;
		}
		if (!len && !portable) {
			portable = !strcmp(line, "-- portable");
			blocks += portable;
			if (portable)
				continue;
		}
		if (!portable)
			continue;
		assert_true(len + strlen(line) + 2 < sizeof(stmt));
		len += (size_t)snprintf(stmt + len, sizeof(stmt) - len, "%s%s",
					len ? "\n" : "", line);
		if (len && stmt[len - 1] == ';') {
			stmt[--len] = '\0';
			check_statement(stmt);
			statements++;
			len = 0;
		}
	}
	free(doc);
	assert_true(blocks >= 5);
	assert_true(statements >= 30);
}

static int setup(void **state)
{
	char text[2048], *path;

	(void)state;
	dir = t_tmpdir();
	snprintf(text, sizeof(text),
		 "[database]\ndefault_source = lite\n"
		 "[source.lite]\ntype = sqlite\npath = lite.db\n"
		 "[source.pg]\ntype = postgres\nconninfo = %s\n"
		 "[source.my]\ntype = mysql\nunix_socket = %s\nuser = dbr\n"
		 "database = dbroute_test\n"
		 "password_env = DBR_TEST_MYSQL_PASSWORD\n",
		 getenv("DBR_TEST_PG"), getenv("DBR_TEST_MYSQL"));
	path = t_write(dir, "portability.ini", text);
	db = t_open(path);
	free(path);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dbr_close(db);
	t_rmtree(dir);
	free(dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_portability__examples_mean_the_same),
	};
	int rc = t_need_server("DBR_TEST_PG", "PostgreSQL server");

	if (!rc)
		rc = t_need_server("DBR_TEST_MYSQL", "MariaDB server");
	if (rc)
		return rc;
	return cmocka_run_group_tests(tests, setup, teardown);
}
