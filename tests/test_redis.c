/*
 * test_redis.c - the Redis plugin against a real redis-server (started by
 * scripts/test.sh; DBR_TEST_REDIS_* name it), and scopes routing system-wide
 * data to Redis while chats go to SQLite. A second hiredis connection
 * checks what dbroute stored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "helpers.h"

static char *dir, *config;
static struct dbr *db;
static redisContext *check;
static int port;

static redisReply *cmd(const char *fmt, const char *arg)
{
	redisReply *r = redisCommand(check, fmt, arg);

	assert_non_null(r);
	return r;
}

static redisContext *connect_check(void)
{
	redisContext *c = redisConnect("127.0.0.1", port);
	redisReply *r;

	if (!c || c->err)
		return NULL;
	r = redisCommand(c, "AUTH %s", getenv("DBR_TEST_REDIS_PASSWORD"));
	freeReplyObject(r);
	return c;
}

static int setup(void **state)
{
	char text[2048];

	(void)state;
	port = atoi(getenv("DBR_TEST_REDIS_PORT"));
	dir = t_tmpdir();
	snprintf(text, sizeof(text),
		 "[database]\ndefault_source = lite\n"
		 "[source.lite]\ntype = sqlite\npath = lite.db\n"
		 "[source.cache]\ntype = redis\nport = %d\n"
		 "password_env = DBR_TEST_REDIS_PASSWORD\ntimeout = 5\n"
		 "[source.cache3]\ntype = redis\nunix_socket = %s\ndb = 3\n"
		 "password_env = DBR_TEST_REDIS_PASSWORD\n"
		 "[source.ro]\ntype = redis\nport = %d\nreadonly = true\n"
		 "password_env = DBR_TEST_REDIS_PASSWORD\n"
		 "[scopes]\ncache = cache\n"
		 "[chat_mapping]\n-100 = lite\n",
		 port, getenv("DBR_TEST_REDIS_SOCKET"), port);
	config = t_write(dir, "r.ini", text);
	db = t_open(config);
	check = connect_check();
	if (!check)
		return -1;
	freeReplyObject(redisCommand(check, "FLUSHALL"));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (check)
		redisFree(check);
	dbr_close(db);
	t_rmtree(dir);
	free(dir);
	free(config);
	return 0;
}

/* Run a command in the cache scope; its one-row result's first value. */
static struct dbr_result *run(const char *command, const struct dbr_value *p,
			      size_t n)
{
	struct dbr_result *res;
	struct dbr_error err;

	if (dbr_query_scope(db, "cache", command, p, n, &res, &err)) {
		fprintf(stderr, "%s: %s\n", command, err.message);
		fail();
	}
	assert_int_equal(dbr_result_column_count(res), 1);
	assert_string_equal(dbr_result_column_name(res, 0), "value");
	return res;
}

static void expect_rows(const char *command, const struct dbr_value *p,
			size_t n, const char *const *want, size_t nwant)
{
	struct dbr_result *res = run(command, p, n);
	size_t i;

	for (i = 0; i < nwant; i++) {
		assert_int_equal(dbr_result_next(res), DBR_ROW);
		if (want[i])
			assert_string_equal(dbr_result_text(res, 0, NULL),
					    want[i]);
		else
			assert_int_equal(dbr_result_type(res, 0),
					 DBR_TYPE_NULL);
	}
	assert_int_equal(dbr_result_next(res), DBR_DONE);
	dbr_result_free(res);
}

static int64_t run_int(const char *command, const struct dbr_value *p, size_t n)
{
	struct dbr_result *res = run(command, p, n);
	int64_t v;

	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_int_equal(dbr_result_type(res, 0), DBR_TYPE_INT64);
	v = dbr_result_int64(res, 0);
	dbr_result_free(res);
	return v;
}

static void test_redis__commands(void **state)
{
	struct dbr_value kv[2] = { dbr_text("k", 1), dbr_text("v", 1) };
	static const char *const ok[] = { "OK" }, *const v[] = { "v" },
				 *const nil[] = { NULL },
				 *const list[] = { "a", "b", "c" },
				 *const hash[] = { "f1", "x", "f2", "y" };

	(void)state;
	expect_rows("SET ? ?", kv, 2, ok, 1);
	expect_rows("GET ?", kv, 1, v, 1);
	assert_int_equal(run_int("EXPIRE ? 100", kv, 1), 1);
	assert_true(run_int("TTL ?", kv, 1) > 0);
	assert_int_equal(run_int("DEL ?", kv, 1), 1);
	expect_rows("GET ?", kv, 1, nil, 1); /* nil: one NULL row */
	assert_int_equal(run_int("INCR counter", NULL, 0), 1);
	assert_int_equal(run_int("INCR counter", NULL, 0), 2);
	assert_int_equal(run_int("RPUSH l a b c", NULL, 0), 3);
	expect_rows("LRANGE l 0 -1", NULL, 0, list, 3);
	expect_rows("LRANGE nothing 0 -1", NULL, 0, NULL, 0);
	run_int("HSET h f1 x f2 y", NULL, 0);
	expect_rows("HGETALL h", NULL, 0, hash, 4);
}

/* Nested arrays flatten depth-first; `??` is a literal `?`. */
static void test_redis__replies_to_rows(void **state)
{
	static const char script[] = "return {1, {'two', {3}}, 'four'}";
	struct dbr_value p = dbr_text(script, strlen(script));
	struct dbr_value bin = dbr_blob("\xff\xfe", 2), key = dbr_text("b", 1);
	struct dbr_value kv[2] = { key, bin };
	struct dbr_result *res = run("EVAL ? 0", &p, 1);
	struct dbr_value v;

	(void)state;
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_int_equal(dbr_result_int64(res, 0), 1);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_string_equal(dbr_result_text(res, 0, NULL), "two");
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_int_equal(dbr_result_int64(res, 0), 3);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_string_equal(dbr_result_text(res, 0, NULL), "four");
	assert_int_equal(dbr_result_next(res), DBR_DONE);
	dbr_result_free(res);
	/* Not UTF-8: a blob. */
	dbr_query_scope(db, "cache", "SET ? ?", kv, 2, NULL, NULL);
	res = run("GET ?", &key, 1);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	dbr_result_value(res, 0, &v);
	assert_int_equal(v.type, DBR_TYPE_BLOB);
	assert_int_equal(v.len, 2);
	dbr_result_free(res);
	res = run("ECHO ??", NULL, 0);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_string_equal(dbr_result_text(res, 0, NULL), "?");
	dbr_result_free(res);
}

/* A parameter with blanks, quotes and NUL bytes is one exact argument. */
static void test_redis__binary_safe_parameter(void **state)
{
	static const char nasty[] = "a value with \"quotes\" 'and'\0NUL\n?";
	struct dbr_value kv[2] = { dbr_text("nasty key", 9),
				   dbr_text(nasty, sizeof(nasty) - 1) };
	struct dbr_error err;
	redisReply *r;

	(void)state;
	assert_int_equal(
		dbr_query_scope(db, "cache", "SET ? ?", kv, 2, NULL, &err),
		DBR_OK);
	r = cmd("GET %s", "nasty key");
	assert_int_equal(r->type, REDIS_REPLY_STRING);
	assert_int_equal(r->len, sizeof(nasty) - 1);
	assert_memory_equal(r->str, nasty, sizeof(nasty) - 1);
	freeReplyObject(r);
}

static void test_redis__errors(void **state)
{
	struct dbr_value p = dbr_text("x", 1), n = dbr_null();
	struct dbr_error err;

	(void)state;
	freeReplyObject(cmd("SET %s notanumber", "str"));
	assert_int_equal(
		dbr_query_scope(db, "cache", "INCR str", NULL, 0, NULL, &err),
		DBR_E_STMT);
	assert_string_equal(err.message, "source 'cache': ERR value is not an "
					 "integer or out of range");
	assert_int_equal(
		dbr_query_scope(db, "cache", "GET ? ?", &p, 1, NULL, &err),
		DBR_E_MISUSE);
	assert_int_equal(
		dbr_query_scope(db, "cache", "   ", NULL, 0, NULL, &err),
		DBR_E_STMT);
	assert_int_equal(
		dbr_query_scope(db, "cache", "GET ?", &n, 1, NULL, &err),
		DBR_E_MISUSE);
	/* The connection is still good after error replies. */
	assert_int_equal(run_int("EXISTS str", NULL, 0), 1);
}

static void test_redis__readonly_refuses_writes(void **state)
{
	struct dbr_value kv[2] = { dbr_text("rokey", 5), dbr_text("v", 1) };
	struct dbr_result *res;
	struct dbr_error err;
	redisReply *r;

	(void)state;
	assert_int_equal(
		dbr_query_source(db, "ro", "SET ? ?", kv, 2, NULL, &err),
		DBR_E_READONLY);
	assert_non_null(strstr(err.message, "'SET' writes"));
	assert_int_equal(
		dbr_query_source(db, "ro", "set ? ?", kv, 2, NULL, &err),
		DBR_E_READONLY);
	r = cmd("EXISTS %s", "rokey");
	assert_int_equal(r->integer, 0); /* never sent */
	freeReplyObject(r);
	assert_int_equal(dbr_query_source(db, "ro", "GET ?", kv, 1, &res, &err),
			 DBR_OK);
	dbr_result_free(res);
	assert_true(dbr_source_flags(db, 3) & DBR_SOURCE_READONLY);
	assert_true(dbr_source_flags(db, 1) & DBR_SOURCE_KV);
	assert_false(dbr_source_flags(db, 1) & DBR_SOURCE_SQL);
	assert_true(dbr_source_flags(db, 0) & DBR_SOURCE_SQL);
}

/* db = 3 over the Unix socket: the key lands in database 3 only. */
static void test_redis__db_selection(void **state)
{
	struct dbr_value kv[2] = { dbr_text("k3", 2), dbr_text("three", 5) };
	struct dbr_error err;
	redisReply *r;

	(void)state;
	assert_int_equal(
		dbr_query_source(db, "cache3", "SET ? ?", kv, 2, NULL, &err),
		DBR_OK);
	r = cmd("EXISTS %s", "k3");
	assert_int_equal(r->integer, 0);
	freeReplyObject(r);
	freeReplyObject(cmd("SELECT %s", "3"));
	r = cmd("GET %s", "k3");
	assert_string_equal(r->str, "three");
	freeReplyObject(r);
	freeReplyObject(cmd("SELECT %s", "0"));
}

static void test_redis__auth_from_environment(void **state)
{
	char text[512], *path;
	struct dbr_error err;
	struct dbr *other;

	(void)state;
	snprintf(text, sizeof(text),
		 "[database]\nretry_interval = 0\n"
		 "[source.c]\ntype = redis\nport = %d\n"
		 "password_env = DBR_TEST_WRONG_PW\n",
		 port);
	path = t_write(dir, "auth.ini", text);
	other = t_open(path);
	unsetenv("DBR_TEST_WRONG_PW");
	assert_int_equal(dbr_query(other, 1, "PING", NULL, 0, NULL, &err),
			 DBR_E_UNAVAILABLE);
	assert_non_null(strstr(err.message, "'DBR_TEST_WRONG_PW' is not set"));
	setenv("DBR_TEST_WRONG_PW", "nope", 1);
	assert_int_equal(dbr_query(other, 1, "PING", NULL, 0, NULL, &err),
			 DBR_E_UNAVAILABLE);
	assert_non_null(strstr(err.message, "AUTH: "));
	unsetenv("DBR_TEST_WRONG_PW");
	dbr_close(other);
	free(path);
}

/* A scope goes to Redis while chats go to SQLite, in one handle. */
static void test_redis__scope_beside_sql_chats(void **state)
{
	struct dbr_value kv[2] = { dbr_text("setting", 7), dbr_text("on", 2) };
	char *lite = t_path(dir, "lite.db");
	const char *src;
	redisReply *r;
	int reason;

	(void)state;
	t_exec(db, -100, "CREATE TABLE msg (t TEXT)", NULL, 0);
	t_exec(db, -100, "INSERT INTO msg VALUES ('hello')", NULL, 0);
	assert_int_equal(
		dbr_query_scope(db, "cache", "SET ? ?", kv, 2, NULL, NULL),
		DBR_OK);
	dbr_route_scope(db, "cache", &src, &reason);
	assert_string_equal(src, "cache");
	assert_int_equal(reason, DBR_ROUTE_SCOPE);
	dbr_route_chat(db, -100, &src, &reason);
	assert_string_equal(src, "lite");
	assert_int_equal(t_sqlite_int(lite, "SELECT count(*) FROM msg"), 1);
	r = cmd("EXISTS %s", "setting");
	assert_int_equal(r->integer, 1);
	freeReplyObject(r);
	free(lite);
}

static void wait_for_server(bool up)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	redisContext *c;
	int i;

	/* Bounded: at most 100 x 50 ms. */
	for (i = 0; i < 100; i++) {
		c = redisConnect("127.0.0.1", port);
		if ((c && !c->err) == up) {
			redisFree(c);
			return;
		}
		redisFree(c);
		nanosleep(&ts, NULL);
	}
	fail_msg("redis-server did not %s", up ? "come back" : "stop");
}

/* The server restarted between operations: the next one reconnects. */
static void test_redis__server_restart(void **state)
{
	struct dbr_value k = dbr_text("k", 1);
	struct dbr_result *res;
	struct dbr_error err;

	(void)state;
	assert_int_equal(run_int("INCR k", NULL, 0), 1);
	freeReplyObject(redisCommand(check, "SHUTDOWN NOSAVE"));
	redisFree(check);
	check = NULL;
	wait_for_server(false);
	assert_int_equal(system(getenv("DBR_TEST_REDIS_START")), 0);
	wait_for_server(true);
	check = connect_check();
	assert_non_null(check);
	assert_int_equal(
		dbr_query_scope(db, "cache", "GET ?", &k, 1, &res, &err),
		DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_int_equal(dbr_result_type(res, 0), DBR_TYPE_NULL); /* no save */
	dbr_result_free(res);
}

/* The issue's own words: the CLI stores exactly the value in Redis. */
static void test_redis__cli_set(void **state)
{
	char *out = NULL, *err = NULL;
	redisReply *r;

	(void)state;
	assert_int_equal(t_run_cli(dir,
				   "query -c r.ini --scope cache 'SET ? "
				   "?' --param key --param 'a value'",
				   &out, &err),
			 0);
	assert_string_equal(out, "value\nOK\n");
	r = cmd("GET %s", "key");
	assert_string_equal(r->str, "a value");
	freeReplyObject(r);
	free(out);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redis__commands),
		cmocka_unit_test(test_redis__replies_to_rows),
		cmocka_unit_test(test_redis__binary_safe_parameter),
		cmocka_unit_test(test_redis__errors),
		cmocka_unit_test(test_redis__readonly_refuses_writes),
		cmocka_unit_test(test_redis__db_selection),
		cmocka_unit_test(test_redis__auth_from_environment),
		cmocka_unit_test(test_redis__scope_beside_sql_chats),
		cmocka_unit_test(test_redis__server_restart),
		cmocka_unit_test(test_redis__cli_set),
	};

	int rc = t_need_server("DBR_TEST_REDIS_PORT", "redis-server");

	if (rc)
		return rc;
	return cmocka_run_group_tests(tests, setup, teardown);
}
