/*
 * test_redis.c - the Redis plugin against a real redis-server (started by
 * scripts/test.sh; DBR_TEST_REDIS_* name it), and scopes routing system-wide
 * data to Redis while chats go to SQLite. A second hiredis connection
 * checks what dbroute stored.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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
		 "[chat_mapping]\n-100 = lite\n-101 = cache\n",
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

/* The enum dbr_source_flags of a source of db. */
static unsigned flags_of(const char *source)
{
	struct dbr_source_info info = { .size = sizeof(info) };

	assert_int_equal(dbr_source_info(db, source, &info, NULL), DBR_OK);
	return info.flags;
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

/*
 * A bool is sent as 1 or 0 and a timestamp as its text form, as a driver
 * of ABI 2.1 receives them; a typed NULL is refused like any NULL.
 */
static void test_redis__bool_and_timestamp_as_text(void **state)
{
	struct dbr_value kv[4] = { dbr_text("tb", 2), dbr_bool(true),
				   dbr_text("tt", 2),
				   dbr_timestamp(DBR_TIMESTAMP_MIN + 1) };
	struct dbr_error err;
	redisReply *r;

	(void)state;
	assert_int_equal(
		dbr_query_scope(db, "cache", "MSET ? ? ? ?", kv, 4, NULL, &err),
		DBR_OK);
	r = cmd("GET %s", "tb");
	assert_string_equal(r->str, "1");
	freeReplyObject(r);
	r = cmd("GET %s", "tt");
	assert_string_equal(r->str, "1000-01-01 00:00:00.000001");
	freeReplyObject(r);
	kv[1] = dbr_null_of(DBR_TYPE_BOOL);
	assert_int_equal(
		dbr_query_scope(db, "cache", "SET ? ?", kv, 2, NULL, &err),
		DBR_E_MISUSE);
}

/* Named parameters are for SQL sources: refused on Redis, nothing sent. */
static void test_redis__named_parameters_unsupported(void **state)
{
	struct dbr_param p = { "k", dbr_text("named", 5) };
	struct dbr_error err;
	redisReply *r;

	(void)state;
	assert_int_equal(
		dbr_query_named(db, -101, "SET :k 1", &p, 1, NULL, &err),
		DBR_E_UNSUPPORTED);
	assert_non_null(strstr(err.message, "named parameters need a SQL "
					    "source"));
	r = cmd("EXISTS %s", ":k");
	assert_int_equal(r->integer, 0);
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
	assert_non_null(strstr(err.message, "'SET' is not flagged read-only"));
	assert_int_equal(
		dbr_query_source(db, "ro", "set ? ?", kv, 2, NULL, &err),
		DBR_E_READONLY);
	r = cmd("EXISTS %s", "rokey");
	assert_int_equal(r->integer, 0); /* never sent */
	freeReplyObject(r);
	assert_int_equal(dbr_query_source(db, "ro", "GET ?", kv, 1, &res, &err),
			 DBR_OK);
	dbr_result_free(res);
	assert_true(flags_of("ro") & DBR_SOURCE_READONLY);
	assert_true(flags_of("cache") & DBR_SOURCE_KV);
	assert_false(flags_of("cache") & DBR_SOURCE_SQL);
	assert_true(flags_of("lite") & DBR_SOURCE_SQL);
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

/*
 * A connection refused for what the configuration says (a password unset
 * or wrong, a database out of range) is not retryable and says what to
 * fix; a server that never answers AUTH is an unreachable one: retryable,
 * without the timeout's hint about a write that may have been applied.
 */
static void test_redis__connect_refusals_classified(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	char text[1024], *path;
	struct dbr_error err;
	int mute;

	(void)state;
	/* Listens, never accepts: connects, never answers. */
	mute = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(mute >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(mute, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(mute, 8), 0);
	assert_int_equal(getsockname(mute, (struct sockaddr *)&sa, &len), 0);
	snprintf(text, sizeof(text),
		 "[database]\ndefault_source = lite\n"
		 "[source.lite]\ntype = sqlite\npath = lite.db\n"
		 "[source.unset]\ntype = redis\nport = %d\n"
		 "password_env = DBR_TEST_UNSET_PW\n"
		 "[source.wrong]\ntype = redis\nport = %d\n"
		 "password_env = DBR_TEST_WRONG_PW\n"
		 "[source.nodb]\ntype = redis\nport = %d\ndb = 999999\n"
		 "password_env = DBR_TEST_REDIS_PASSWORD\n"
		 "[source.mute]\ntype = redis\nport = %d\ntimeout = 0.3\n"
		 "password_env = DBR_TEST_REDIS_PASSWORD\n",
		 port, port, port, (int)ntohs(sa.sin_port));
	path = t_write(dir, "refused.ini", text);
	unsetenv("DBR_TEST_UNSET_PW");
	setenv("DBR_TEST_WRONG_PW", "nope", 1);
	assert_int_equal(t_ping_at(path, "unset", &err), DBR_E_CONN);
	assert_false(err.retryable);
	assert_non_null(strstr(err.hint, "credentials"));
	assert_int_equal(t_ping_at(path, "wrong", &err), DBR_E_CONN);
	assert_non_null(strstr(err.message, "AUTH: "));
	assert_false(err.retryable);
	assert_non_null(strstr(err.hint, "credentials"));
	assert_int_equal(t_ping_at(path, "nodb", &err), DBR_E_CONN);
	assert_non_null(strstr(err.message, "SELECT: "));
	assert_false(err.retryable);
	assert_non_null(strstr(err.hint, "database"));
	assert_int_equal(t_ping_at(path, "mute", &err), DBR_E_CONN);
	assert_int_equal(err.code, DBR_E_CONN);
	assert_true(err.retryable);
	assert_null(strstr(err.hint, "timeout"));
	assert_string_equal(err.source, "mute");
	unsetenv("DBR_TEST_WRONG_PW");
	close(mute);
	free(path);
}

/* A scope goes to Redis while chats go to SQLite, in one handle. */
static void test_redis__scope_beside_sql_chats(void **state)
{
	struct dbr_value kv[2] = { dbr_text("setting", 7), dbr_text("on", 2) };
	char *lite = t_path(dir, "lite.db");
	char src[DBR_NAME_SIZE];
	redisReply *r;
	int reason;

	(void)state;
	t_exec(db, -100, "CREATE TABLE msg (t TEXT)", NULL, 0);
	t_exec(db, -100, "INSERT INTO msg VALUES ('hello')", NULL, 0);
	assert_int_equal(
		dbr_query_scope(db, "cache", "SET ? ?", kv, 2, NULL, NULL),
		DBR_OK);
	dbr_route_scope(db, "cache", src, sizeof(src), &reason);
	assert_string_equal(src, "cache");
	assert_int_equal(reason, DBR_ROUTE_SCOPE);
	dbr_route_chat(db, -100, src, sizeof(src), &reason);
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

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000L };

	nanosleep(&ts, NULL);
}

/* A redis-server of one test's own, on a Unix socket in a temp folder,
 * without a password: the shared one is used by other suites. */
struct private_server {
	char *dir, *sock, *conf;
	pid_t pid;
};

extern char **environ;

/* A cmocka setup: *state becomes the running private server. */
static int private_start(void **state)
{
	struct private_server *ps = calloc(1, sizeof(*ps));
	posix_spawn_file_actions_t fa;
	char text[1024], *argv[3];
	redisContext *c = NULL;
	int i, rc;

	if (!ps)
		return -1;
	*state = ps;
	ps->dir = t_tmpdir();
	ps->sock = t_path(ps->dir, "p.sock");
	snprintf(text, sizeof(text),
		 "port 0\nunixsocket %s\nunixsocketperm 700\n"
		 "daemonize no\nlogfile %s/p.log\ndir %s\nsave \"\"\n"
		 "appendonly no\n",
		 ps->sock, ps->dir, ps->dir);
	ps->conf = t_write(ps->dir, "p.conf", text);
	argv[0] = "redis-server";
	argv[1] = ps->conf;
	argv[2] = NULL;
	/* Not on the test's output: a pipe reading it would wait for the
	 * server too. */
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	rc = posix_spawnp(&ps->pid, "redis-server", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc)
		return -1;
	/* Bounded: at most 100 x 20 ms for the server to answer. */
	for (i = 0; i < 100; i++) {
		c = redisConnectUnix(ps->sock);
		if (c && !c->err)
			break;
		redisFree(c);
		c = NULL;
		sleep_ms(20);
	}
	redisFree(c);
	return c ? 0 : -1;
}

/* The matching cmocka teardown, also after a failed test. */
static int private_stop(void **state)
{
	struct private_server *ps = *state;

	if (ps->pid > 0) {
		kill(ps->pid, SIGKILL);
		waitpid(ps->pid, NULL, 0);
	}
	t_rmtree(ps->dir);
	free(ps->dir);
	free(ps->sock);
	free(ps->conf);
	free(ps);
	return 0;
}

/* A handle on one Redis source named `p` over the private server. */
static struct dbr *private_open(const struct private_server *ps,
				const char *options, char **path)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 "[database]\nretry_interval = 0\n"
		 "[source.p]\ntype = redis\nunix_socket = %s\n%s",
		 ps->sock, options);
	*path = t_write(ps->dir, "p.ini", text);
	return t_open(*path);
}

/* On the private server's source: GET k answers "v". */
static void private_get_k_is_v(struct dbr *other)
{
	struct dbr_result *res;
	struct dbr_error err;

	assert_int_equal(
		dbr_query_source(other, "p", "GET k", NULL, 0, &res, &err),
		DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_string_equal(dbr_result_text(res, 0, NULL), "v");
	dbr_result_free(res);
}

/* Sockets of this process that a child would inherit across exec. */
static int inherited_sockets(void)
{
	struct stat st;
	int fd, n = 0;

	for (fd = 0; fd < 1024; fd++) {
		int flags = fcntl(fd, F_GETFD);

		if (flags >= 0 && !(flags & FD_CLOEXEC) && !fstat(fd, &st) &&
		    S_ISSOCK(st.st_mode))
			n++;
	}
	return n;
}

/* The driver's sockets are close-on-exec, as libpq's and SQLite's files
 * are (hiredis does not set it). */
static void test_redis__sockets_close_on_exec(void **state)
{
	struct private_server *ps = *state;
	struct dbr *other;
	char *path;
	int before = inherited_sockets();

	other = private_open(ps, "max_connections = 2\n", &path);
	assert_int_equal(
		dbr_query_source(other, "p", "SET k v", NULL, 0, NULL, NULL),
		DBR_OK);
	assert_int_equal(inherited_sockets(), before);
	dbr_close(other);
	free(path);
}

/* Item 10: a command that timed out never leaves its broken connection in
 * the pool; once the server answers again, every command gets its own
 * reply. */
static void test_redis__timeout_never_pools_broken_connection(void **state)
{
	struct private_server *ps = *state;
	struct dbr_result *res;
	struct dbr_error err;
	struct dbr *other;
	char *path;
	int i;

	other = private_open(ps, "timeout = 0.2\nmax_connections = 1\n", &path);
	assert_int_equal(
		dbr_query_source(other, "p", "SET k v", NULL, 0, NULL, &err),
		DBR_OK);
	kill(ps->pid, SIGSTOP);
	assert_int_equal(
		dbr_query_source(other, "p", "GET k", NULL, 0, NULL, &err),
		DBR_E_TIMEOUT);
	kill(ps->pid, SIGCONT);
	/* Bounded: 50 commands, each answered by its own reply. */
	for (i = 0; i < 50; i++) {
		assert_int_equal(dbr_query_source(other, "p", "INCR n", NULL, 0,
						  &res, &err),
				 DBR_OK);
		assert_int_equal(dbr_result_next(res), DBR_ROW);
		assert_int_equal(dbr_result_int64(res, 0), i + 1);
		dbr_result_free(res);
	}
	private_get_k_is_v(other);
	dbr_close(other);
	free(path);
}

/* One command on a hiredis connection of the test's own; its reply must
 * not be an error. */
static void private_cmd(redisContext *c, const char *command)
{
	redisReply *r = redisCommand(c, command);

	assert_non_null(r);
	if (r->type == REDIS_REPLY_ERROR)
		fail_msg("%s: %s", command, r->str);
	freeReplyObject(r);
}

/*
 * A connection the server closed while idle is replaced; when the new one
 * cannot be set up (its AUTH refused), it is dropped, never pooled half set
 * up: the next command would run unauthenticated (or on database 0 when
 * SELECT failed).
 */
static void test_redis__reconnect_never_pools_half_set_up(void **state)
{
	struct private_server *ps = *state;
	redisContext *admin = redisConnectUnix(ps->sock);
	struct dbr_error err;
	struct dbr *other;
	char *path;

	assert_true(admin && !admin->err);
	setenv("DBR_TEST_PRIVATE_PW", "first", 1);
	private_cmd(admin, "CONFIG SET requirepass first");
	other = private_open(ps,
			     "max_connections = 1\n"
			     "password_env = DBR_TEST_PRIVATE_PW\n",
			     &path);
	assert_int_equal(
		dbr_query_source(other, "p", "SET k v", NULL, 0, NULL, &err),
		DBR_OK);
	/* The password changes and the idle connection is closed: the
	 * reconnect's AUTH is refused. */
	private_cmd(admin, "CONFIG SET requirepass second");
	private_cmd(admin, "CLIENT KILL TYPE normal SKIPME yes");
	assert_int_not_equal(
		dbr_query_source(other, "p", "GET k", NULL, 0, NULL, &err),
		DBR_OK);
	/* Back to the password the source knows: a fresh connection. */
	private_cmd(admin, "CONFIG SET requirepass first");
	private_get_k_is_v(other);
	dbr_close(other);
	free(path);
	redisFree(admin);
}

static void *kill_later(void *arg)
{
	const struct private_server *ps = arg;

	sleep_ms(1000);
	kill(ps->pid, SIGKILL);
	return NULL;
}

/* Item 5: a server that dies while a large value is being written makes
 * the command fail with a lost connection; SIGPIPE (at its default
 * action, which ends a process) never reaches the host. */
static void test_redis__sigpipe_never_kills_the_host(void **state)
{
	const size_t size = 64u << 20;
	struct private_server *ps = *state;
	struct dbr_value v;
	struct dbr_error err;
	struct dbr *other;
	pthread_t killer;
	char *path, *big = malloc(size);
	int rc;

	assert_non_null(big);
	memset(big, 'x', size);
	v = dbr_blob(big, size);
	assert_true(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
	other = private_open(ps, "timeout = 30\n", &path);
	assert_int_equal(
		dbr_query_source(other, "p", "PING", NULL, 0, NULL, &err),
		DBR_OK);
	/* Stopped, the server reads nothing: the write blocks until the
	 * server is killed under it. */
	kill(ps->pid, SIGSTOP);
	assert_int_equal(pthread_create(&killer, NULL, kill_later, ps), 0);
	rc = dbr_query_source(other, "p", "SET big ?", &v, 1, NULL, &err);
	pthread_join(killer, NULL);
	assert_int_equal(rc, DBR_E_CONN);
	dbr_close(other);
	free(path);
	free(big);
}

/* The server closed a pooled connection just after its last command, far
 * under the pool's 10 ms idle check: the next command still runs. */
static void test_redis__closed_while_idle(void **state)
{
	static char blob[100000];
	struct dbr_value k = dbr_text("idle", 4);
	struct dbr_value big = dbr_blob(blob, sizeof(blob));
	struct dbr_result *res;
	struct dbr_error err;
	int64_t before;
	char id[32];
	redisReply *r;

	(void)state;
	/* A clean connection goes back to the pool and is used again, also
	 * after a reply larger than hiredis keeps in its read buffer. */
	before = run_int("CLIENT ID", NULL, 0);
	assert_int_equal(dbr_query_scope(db, "cache", "SET bigidle ?", &big, 1,
					 NULL, &err),
			 DBR_OK);
	assert_int_equal(dbr_query_scope(db, "cache", "GET bigidle", NULL, 0,
					 &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	dbr_result_free(res);
	assert_int_equal(run_int("CLIENT ID", NULL, 0), before);
	snprintf(id, sizeof(id), "%lld",
		 (long long)run_int("CLIENT ID", NULL, 0));
	r = cmd("CLIENT KILL ID %s", id);
	assert_int_equal(r->integer, 1);
	freeReplyObject(r);
	assert_int_equal(
		dbr_query_scope(db, "cache", "GET ?", &k, 1, &res, &err),
		DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_int_equal(dbr_result_type(res, 0), DBR_TYPE_NULL);
	dbr_result_free(res);
}

/* Item 7: what would change a pooled connection is refused, whatever its
 * case, also when the command's name is a parameter. */
static void test_redis__state_changing_commands_refused(void **state)
{
	static const char *const refused[] = {
		"MULTI",
		"exec",
		"Discard",
		"WATCH k",
		"unwatch",
		"SUBSCRIBE ch",
		"psubscribe ch*",
		"SSUBSCRIBE ch",
		"UNSUBSCRIBE",
		"punsubscribe",
		"SUNSUBSCRIBE",
		"MONITOR",
		"CLIENT REPLY OFF",
		"client setname someone",
		"CLIENT TRACKING on",
		"CLIENT NO-EVICT on",
		"CLIENT CACHING yes",
		"SELECT 1",
		"AUTH nobody",
		"HELLO 3",
		"RESET",
		"QUIT",
		"READONLY",
		"READWRITE",
		"ASKING",
		"SYNC",
		"PSYNC x -1",
	};
	struct dbr_value name = dbr_text("mUlTi", 5);
	struct dbr_value kv[2] = { dbr_text("after", 5), dbr_text("set", 3) };
	struct dbr_error err;
	redisReply *r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		if (dbr_query_scope(db, "cache", refused[i], NULL, 0, NULL,
				    &err) != DBR_E_MISUSE)
			fail_msg("'%s' was not refused", refused[i]);
		assert_non_null(strstr(err.message, "is refused"));
	}
	assert_int_equal(
		dbr_query_scope(db, "cache", "MULTI", NULL, 0, NULL, &err),
		DBR_E_MISUSE);
	assert_non_null(strstr(err.message, "transactions"));
	assert_non_null(strstr(err.message, "not offered"));
	assert_int_equal(
		dbr_query_scope(db, "cache", "? ", &name, 1, NULL, &err),
		DBR_E_MISUSE);
	/* After the refused MULTI, the next SET is applied, not queued. */
	assert_int_equal(
		dbr_query_scope(db, "cache", "SET ? ?", kv, 2, NULL, &err),
		DBR_OK);
	r = cmd("GET %s", "after");
	assert_string_equal(r->str, "set");
	freeReplyObject(r);
	/* CLIENT subcommands that leave the connection as it was run. */
	assert_true(run_int("CLIENT ID", NULL, 0) > 0);
}

static void expect_readonly(const char *command, const struct dbr_value *p,
			    size_t n)
{
	struct dbr_error err;

	if (dbr_query_source(db, "ro", command, p, n, NULL, &err) !=
	    DBR_E_READONLY)
		fail_msg("'%s' was not refused as a write", command);
}

/* Item 8: a read-only source runs only what the server flags read-only:
 * scripts, containers' subcommands and names with odd bytes included. */
static void test_redis__readonly_holds_against_any_command(void **state)
{
	static const char writer[] = "redis.call('set', KEYS[1], 'x')";
	static const char reader[] = "return 7";
	struct dbr_value script = dbr_text(writer, strlen(writer));
	struct dbr_value ro_script = dbr_text(reader, strlen(reader));
	struct dbr_value nul_name = dbr_blob("GET\0", 4);
	struct dbr_result *res;
	struct dbr_error err;
	redisReply *r;
	int rc;

	(void)state;
	expect_readonly("EVAL ? 1 rokey2", &script, 1);
	expect_readonly("evalsha 0123456789012345678901234567890123456789 0",
			NULL, 0);
	expect_readonly("FCALL f 0", NULL, 0);
	expect_readonly("XGROUP CREATE rostream g $ MKSTREAM", NULL, 0);
	expect_readonly("xgroup create rostream g $ MKSTREAM", NULL, 0);
	expect_readonly("XGROUP", NULL, 0);
	expect_readonly("SET rokey2 v", NULL, 0);
	/*
	 * A name with a NUL byte is not cached as the name before it: GET
	 * stays read-only. The server itself sometimes takes "GET\0" for
	 * GET (seen once in CI, not reproduced in 7 runs; its command table
	 * compares names as C strings): then COMMAND INFO says readonly and
	 * the command runs as the read it is. Either answer is safe; a write
	 * never is.
	 */
	rc = dbr_query_source(db, "ro", "? rokey2", &nul_name, 1, NULL, &err);
	if (rc != DBR_E_READONLY && rc != DBR_OK)
		fail_msg("'GET\\0': %d %s", rc, err.message);
	r = cmd("EXISTS %s", "rokey2");
	assert_int_equal(r->integer, 0);
	freeReplyObject(r);
	r = cmd("EXISTS %s", "rostream");
	assert_int_equal(r->integer, 0);
	freeReplyObject(r);
	assert_int_equal(
		dbr_query_source(db, "ro", "GET rokey2", NULL, 0, NULL, &err),
		DBR_OK);
	assert_int_equal(dbr_query_source(db, "ro", "EVAL_RO ? 0", &ro_script,
					  1, &res, &err),
			 DBR_OK);
	assert_int_equal(dbr_result_next(res), DBR_ROW);
	assert_int_equal(dbr_result_int64(res, 0), 7);
	dbr_result_free(res);
	/* A read-only subcommand of a container reaches the server. */
	assert_int_equal(dbr_query_source(db, "ro", "XINFO STREAM rostream",
					  NULL, 0, NULL, &err),
			 DBR_E_STMT);
	/* Keyless commands without effect run, though not flagged. */
	assert_int_equal(
		dbr_query_source(db, "ro", "PING", NULL, 0, NULL, &err),
		DBR_OK);
	assert_int_equal(
		dbr_query_source(db, "ro", "ECHO hi", NULL, 0, NULL, &err),
		DBR_OK);
	assert_int_equal(
		dbr_query_source(db, "ro", "TIME", NULL, 0, NULL, &err),
		DBR_OK);
}

/* Item 11: a diverted read is not recorded as a diverted write. */
static void test_redis__diverted_reads_are_not_writes(void **state)
{
	char text[1024], *path;
	struct dbr_error err;
	struct dbr *other;
	int64_t chats[4];
	size_t n = 0;

	(void)state;
	snprintf(text, sizeof(text),
		 "[database]\ndefault_source = main\nfallback = default\n"
		 "retry_interval = 60\n"
		 "[source.main]\ntype = redis\nport = %d\n"
		 "password_env = DBR_TEST_REDIS_PASSWORD\n"
		 "[source.gone]\ntype = redis\nport = 1\ntimeout = 1\n"
		 "[chat_mapping]\n-300 = gone\n-301 = gone\n-302 = gone\n",
		 port);
	path = t_write(dir, "divert.ini", text);
	other = t_open(path);
	assert_int_equal(dbr_query(other, -300, "GET dk", NULL, 0, NULL, &err),
			 DBR_OK);
	assert_int_equal(dbr_query(other, -302, "XINFO STREAM nosuch", NULL, 0,
				   NULL, &err),
			 DBR_E_STMT);
	assert_int_equal(
		dbr_query(other, -301, "SET dk v", NULL, 0, NULL, &err),
		DBR_OK);
	assert_int_equal(dbr_query(other, -300, "GET dk", NULL, 0, NULL, &err),
			 DBR_OK);
	assert_int_equal(
		dbr_source_diverted_chats(other, "gone", chats, 4, &n, NULL),
		DBR_OK);
	assert_int_equal(n, 1);
	assert_int_equal(chats[0], -301);
	dbr_close(other);
	free(path);
}

/* Item 15: no file descriptor left to connect with is a local shortage,
 * not a source that is down. */
static void test_redis__no_descriptor_left(void **state)
{
	char text[512], *path;
	struct rlimit old, low;
	struct dbr_error err;
	struct dbr *other;
	int fds[256], rc;
	size_t n = 0;

	(void)state;
	snprintf(text, sizeof(text),
		 "[source.c]\ntype = redis\nport = %d\n"
		 "password_env = DBR_TEST_REDIS_PASSWORD\n",
		 port);
	path = t_write(dir, "fd.ini", text);
	other = t_open(path);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	if (low.rlim_cur > 256)
		low.rlim_cur = 256;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	/* Bounded by the array: take every descriptor left. */
	while (n < 256 && (fds[n] = open("/dev/null", O_RDONLY)) >= 0)
		n++;
	rc = dbr_query_source(other, "c", "PING", NULL, 0, NULL, &err);
	while (n > 0)
		close(fds[--n]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(rc, DBR_E_RESOURCE);
	assert_int_equal(
		dbr_query_source(other, "c", "PING", NULL, 0, NULL, &err),
		DBR_OK);
	dbr_close(other);
	free(path);
}

/*
 * Review 2: a double parameter is sent as C-locale text under an
 * application's LC_NUMERIC with a decimal comma (SET stored "1,5" and
 * INCRBYFLOAT refused it as not a valid float).
 */
static void test_redis__double_ignores_locale(void **state)
{
	struct dbr_value p[2] = { dbr_text("dk", 2), dbr_double(1.5) };
	struct dbr_value inc[2] = { dbr_text("dk", 2), dbr_double(0.25) };
	struct dbr_error err;
	char probe[16];
	redisReply *r;
	int set, incr;

	(void)state;
	if (!t_comma_locale(dir)) {
		fprintf(stderr, "no de_DE.UTF-8 locale and localedef failed: "
				"skipped\n");
		skip();
	}
	snprintf(probe, sizeof(probe), "%g", 1.5);
	set = dbr_query_scope(db, "cache", "SET ? ?", p, 2, NULL, &err);
	r = cmd("GET %s", "dk");
	incr = dbr_query_scope(db, "cache", "INCRBYFLOAT ? ?", inc, 2, NULL,
			       &err);
	/* The locale is undone before the checks, so that a failure does
	 * not leave it so. */
	t_c_locale();
	assert_string_equal(probe, "1,5");
	assert_int_equal(set, DBR_OK);
	assert_int_equal(r->type, REDIS_REPLY_STRING);
	assert_string_equal(r->str, "1.5");
	freeReplyObject(r);
	assert_int_equal(incr, DBR_OK);
	r = cmd("GET %s", "dk");
	assert_string_equal(r->str, "1.75");
	freeReplyObject(r);
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
		cmocka_unit_test(test_redis__bool_and_timestamp_as_text),
		cmocka_unit_test(test_redis__named_parameters_unsupported),
		cmocka_unit_test(test_redis__errors),
		cmocka_unit_test(test_redis__readonly_refuses_writes),
		cmocka_unit_test(test_redis__db_selection),
		cmocka_unit_test(test_redis__connect_refusals_classified),
		cmocka_unit_test(test_redis__auth_from_environment),
		cmocka_unit_test(test_redis__scope_beside_sql_chats),
		cmocka_unit_test(test_redis__server_restart),
		cmocka_unit_test(test_redis__cli_set),
		cmocka_unit_test_setup_teardown(
			test_redis__timeout_never_pools_broken_connection,
			private_start, private_stop),
		cmocka_unit_test_setup_teardown(
			test_redis__sigpipe_never_kills_the_host, private_start,
			private_stop),
		cmocka_unit_test(test_redis__closed_while_idle),
		cmocka_unit_test_setup_teardown(
			test_redis__reconnect_never_pools_half_set_up,
			private_start, private_stop),
		cmocka_unit_test_setup_teardown(
			test_redis__sockets_close_on_exec, private_start,
			private_stop),
		cmocka_unit_test(test_redis__state_changing_commands_refused),
		cmocka_unit_test(
			test_redis__readonly_holds_against_any_command),
		cmocka_unit_test(test_redis__diverted_reads_are_not_writes),
		cmocka_unit_test(test_redis__no_descriptor_left),
		cmocka_unit_test(test_redis__double_ignores_locale),
	};

	int rc = t_need_server("DBR_TEST_REDIS_PORT", "redis-server");

	if (rc)
		return rc;
	return cmocka_run_group_tests(tests, setup, teardown);
}
