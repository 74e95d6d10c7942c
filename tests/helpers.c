/*
 * helpers.c - shared test helpers.
 */
#define _XOPEN_SOURCE 700
#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "helpers.h"

char *t_tmpdir(void)
{
	char tmpl[] = "/tmp/dbroute-test-XXXXXX";
	char *dir = mkdtemp(tmpl);

	assert_non_null(dir);
	return strdup(dir);
}

void t_copy(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	char buf[8192];
	size_t n;

	assert_non_null(in);
	assert_non_null(out);
	while ((n = fread(buf, 1, sizeof(buf), in)))
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	assert_int_equal(fclose(out), 0);
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void t_rmtree(const char *dir)
{
	if (dir)
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *t_path(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	assert_non_null(p);
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

char *t_write(const char *dir, const char *name, const char *content)
{
	char *path = t_path(dir, name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(content, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	return path;
}

char *t_read(const char *path)
{
	FILE *f = fopen(path, "rb");
	size_t len = 0, cap = 4096, n;
	char *buf;

	if (!f)
		return NULL;
	/* Read in chunks: files of /proc report no size. */
	buf = malloc(cap + 1);
	while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			char *p = realloc(buf, cap * 2 + 1);

			if (!p) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = p;
			cap *= 2;
		}
	}
	if (buf)
		buf[len] = '\0';
	fclose(f);
	return buf;
}

int64_t t_sqlite_int(const char *db, const char *sql)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else
		fprintf(stderr, "t_sqlite_int(%s): %s\n", db,
			sqlite3_errmsg(h));
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

_Atomic int t_cache_misses;

void t_count_cache_misses(void *ud, int level, const char *source,
			  const char *msg)
{
	(void)ud;
	(void)level;
	(void)source;
	if (strstr(msg, "statement cache miss"))
		t_cache_misses++;
}

int t_need_server(const char *var, const char *what)
{
	if (getenv(var))
		return 0;
	fprintf(stderr, "%s is not set: no %s (scripts/test.sh starts it)\n",
		var, what);
	return getenv("DBR_TEST_STRICT") ? 1 : 77;
}

void t_need_server_or_skip(const char *var, const char *what)
{
	int rc = t_need_server(var, what);

	if (rc == 1)
		fail_msg("%s is not set", var);
	if (rc)
		skip();
}

struct dbr *t_open(const char *config)
{
	struct dbr_error err;
	struct dbr *db = NULL;

	if (dbr_open(&db, config, NULL, &err)) {
		fprintf(stderr, "dbr_open(%s): %s\n", config, err.message);
		fail();
	}
	return db;
}

bool t_pg_database(const char *name, char *conninfo, size_t size)
{
	const char *pg = getenv("DBR_TEST_PG");
	char cmd[1024];

	if (!pg)
		return false;
	snprintf(cmd, sizeof(cmd),
		 "PGOPTIONS='-c client_min_messages=warning' psql -X -q '%s' "
		 "-c 'DROP DATABASE IF EXISTS %s' -c "
		 "'CREATE DATABASE %s' >/dev/null",
		 pg, name, name);
	assert_int_equal(system(cmd), 0);
	snprintf(conninfo, size, "%s dbname=%s", pg, name);
	return true;
}

struct t_handle *t_handle_open(const char *name, const char *config)
{
	struct t_handle *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	h->dir = t_tmpdir();
	h->path = t_write(h->dir, name, config);
	h->db = t_open(h->path);
	return h;
}

void t_handle_close(struct t_handle *h)
{
	if (!h)
		return;
	dbr_close(h->db);
	t_rmtree(h->dir);
	free(h->path);
	free(h->dir);
	free(h);
}

int t_ping_at(const char *path, const char *name, struct dbr_error *err)
{
	struct dbr *other = t_open(path);
	int rc;

	memset(err, 0xa5, sizeof(*err));
	rc = dbr_source_ping(other, name, err);
	dbr_close(other);
	return rc;
}

void t_exec(struct dbr *db, int64_t chat, const char *sql,
	    const struct dbr_value *params, size_t n)
{
	struct dbr_error err;

	if (dbr_query(db, chat, sql, params, n, NULL, &err)) {
		fprintf(stderr, "%s: %s\n", sql, err.message);
		fail();
	}
}

int t_run_cli(const char *dir, const char *args, char **out, char **err)
{
	return t_run_cli_as(dir, "", args, out, err);
}

/* Run cli (a path) with args in dir through wrapper. */
static int run_cli(const char *dir, const char *wrapper, const char *cli,
		   const char *args, char **out, char **err)
{
	char *o = t_path(dir, "cli.out"), *e = t_path(dir, "cli.err");
	size_t n = strlen(dir) + strlen(wrapper) + strlen(cli) + strlen(args) +
		   strlen(o) + strlen(e) + 64;
	char *cmd = malloc(n);
	int status;

	assert_non_null(cmd);
	snprintf(cmd, n, "cd '%s' && %s '%s' %s >'%s' 2>'%s'", dir, wrapper,
		 cli, args, o, e);
	status = system(cmd);
	free(cmd);
	free(*out);
	free(*err);
	*out = t_read(o);
	*err = t_read(e);
	free(o);
	free(e);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

int t_run_cli_as(const char *dir, const char *wrapper, const char *args,
		 char **out, char **err)
{
	return run_cli(dir, wrapper, DBR_CLI, args, out, err);
}

/* The copy t_run_cli_unprivileged() runs, made once per test program. */
static char *nobody_dir;

static void remove_nobody_dir(void)
{
	t_rmtree(nobody_dir);
	free(nobody_dir);
	nobody_dir = NULL;
}

/*
 * The build folder may sit where nobody cannot enter (a 0700 folder,
 * /root), so copy the CLI, the library beside it and its plugins.d into a
 * folder under /tmp (root-owned, 0755 all the way up), once.
 */
static const char *nobody_copy(void)
{
	char *from, *cmd, *slash;
	size_t n;

	if (nobody_dir)
		return nobody_dir;
	nobody_dir = t_tmpdir();
	assert_int_equal(atexit(remove_nobody_dir), 0);
	from = strdup(DBR_CLI);
	assert_non_null(from);
	slash = strrchr(from, '/');
	assert_non_null(slash);
	*slash = '\0';
	n = 2 * strlen(from) + 3 * strlen(nobody_dir) + 256;
	cmd = malloc(n);
	assert_non_null(cmd);
	snprintf(cmd, n,
		 "cd '%s' && cp -p '%s' libdbroute.so* '%s'/ && "
		 "cp -pR plugins.d '%s'/ && chmod -R a+rX,go-w '%s'",
		 from, slash + 1, nobody_dir, nobody_dir, nobody_dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(from);
	return nobody_dir;
}

int t_run_cli_unprivileged(const char *dir, const char *args, char **out,
			   char **err)
{
	const char *copy, *name = strrchr(DBR_CLI, '/');
	char *wrapper, *cli;
	size_t n;
	int rc;

	if (geteuid() != 0)
		return t_run_cli(dir, args, out, err);
	copy = nobody_copy();
	n = 2 * strlen(copy) + 192;
	wrapper = malloc(n);
	assert_non_null(wrapper);
	snprintf(wrapper, n,
		 "env LD_LIBRARY_PATH='%s' DBROUTE_PLUGIN_DIR='%s/plugins.d' "
		 "setpriv --reuid=65534 --regid=65534 --clear-groups",
		 copy, copy);
	cli = t_path(copy, name ? name + 1 : DBR_CLI);
	rc = run_cli(dir, wrapper, cli, args, out, err);
	free(cli);
	free(wrapper);
	return rc;
}

struct t_listener {
	int fd;
	int port;
	atomic_int accepts;
	atomic_bool stop;
	pthread_t thread;
};

/* Accept and close until told to stop; the poll bounds each wait. */
static void *listener_main(void *arg)
{
	struct t_listener *l = arg;
	struct pollfd pfd = { l->fd, POLLIN, 0 };
	int c;

	while (!atomic_load(&l->stop)) {
		if (poll(&pfd, 1, 20) <= 0)
			continue;
		c = accept(l->fd, NULL, NULL);
		if (c < 0)
			continue;
		atomic_fetch_add(&l->accepts, 1);
		close(c);
	}
	return NULL;
}

struct t_listener *t_listener_start(void)
{
	struct t_listener *l = calloc(1, sizeof(*l));
	struct sockaddr_in a = { 0 };
	socklen_t len = sizeof(a);

	assert_non_null(l);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(l->fd >= 0);
	assert_int_equal(bind(l->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(l->fd, 128), 0);
	assert_int_equal(getsockname(l->fd, (struct sockaddr *)&a, &len), 0);
	l->port = ntohs(a.sin_port);
	atomic_init(&l->accepts, 0);
	atomic_init(&l->stop, false);
	assert_int_equal(pthread_create(&l->thread, NULL, listener_main, l), 0);
	return l;
}

int t_listener_port(const struct t_listener *l)
{
	return l->port;
}

int t_listener_accepts(struct t_listener *l)
{
	return atomic_load(&l->accepts);
}

void t_listener_stop(struct t_listener *l)
{
	if (!l)
		return;
	atomic_store(&l->stop, true);
	pthread_join(l->thread, NULL);
	close(l->fd);
	free(l);
}

/* setlocale, not newlocale: glibc's newlocale leaks its copy of LOCPATH. */
bool t_comma_locale(const char *dir)
{
	char cmd[1024], *where;
	bool ok;

	if (setlocale(LC_NUMERIC, "de_DE.UTF-8"))
		return true;
	where = t_path(dir, "locale");
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p '%s' && localedef -i de_DE -f UTF-8 "
		 "'%s/de_DE.UTF-8' >/dev/null 2>&1",
		 where, where);
	ok = system(cmd) == 0 && setenv("LOCPATH", where, 1) == 0 &&
	     setlocale(LC_NUMERIC, "de_DE.UTF-8");
	free(where);
	if (!ok)
		unsetenv("LOCPATH");
	return ok;
}

void t_c_locale(void)
{
	setlocale(LC_NUMERIC, "C");
	unsetenv("LOCPATH");
}
