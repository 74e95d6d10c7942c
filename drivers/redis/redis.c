/*
 * redis.c - the Redis driver plugin (hiredis), plugins.d/redis.so.
 *
 * A statement is a command: words split on blanks, every word `?` replaced
 * by the next parameter as one binary-safe argument (`??` is a literal
 * `?`). The reply becomes rows of one column, "value": nil is one NULL row,
 * an integer an int64, a status or string text (a blob when it is not
 * valid UTF-8), an array one row per element, nested arrays flattened
 * depth-first, an error reply a statement error.
 *
 * A connection is clean when hiredis saw no error on it (a timeout or a
 * lost link leaves the context unusable) and it is a plain connected
 * blocking context: commands that would change it (command.c) are
 * refused, so the driver tracks no other state. A command is taken for a
 * write unless the server flags it `readonly` in COMMAND INFO (cached per
 * connection); read-only sources refuse every other command.
 *
 * Before a command is sent, a connection the server closed while it sat
 * idle is replaced (a poll, no round trip); nothing is ever sent twice.
 * Writes run with SIGPIPE blocked on the calling thread (rds_send), so a
 * server that dies mid-write fails the command, never the process.
 */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "command.h"
#include "dbroute_driver.h"
#include "nosigpipe.h"
#include "timestamp.h"

#define RDS_FLAG_CACHE 64
#define RDS_NAME_MAX   32 /* longest name cached, NAME|SUB included */

/* A command's flags (enum rds_command_flags), as COMMAND INFO said. */
struct rds_cmdflag {
	char name[RDS_NAME_MAX];
	unsigned char len;
	unsigned char flags;
};

struct rds_conn {
	struct dbr_driver_conn base;
	redisContext *ctx;
	bool readonly;
	redisReply *reply; /* the current reply, or NULL */
	redisReply **rows; /* its leaves, depth-first */
	size_t nrows, rowcap, at;
	const char **argv; /* the command's arguments */
	size_t *argvlen;
	size_t argcap;
	char *scratch; /* numbers as text, and the word copies */
	size_t scratchcap;
	struct rds_cmdflag flags[RDS_FLAG_CACHE];
	size_t nflags;
	bool timed_out; /* the last failed call ended by the timeout */
	bool track;	/* track_writes() was called for the next query */
	bool wrote;	/* the last query's command may have written */
};

static const struct dbr_host *rds_host;
static const struct dbr_driver rds_driver;
static locale_t rds_c_locale; /* doubles are written in it (rds_arg) */

static const struct dbr_option_decl rds_options[] = {
	{ "host", DBR_OPT_TEXT, 0, 0, 0, "127.0.0.1", NULL,
	  "the server's address" },
	{ "port", DBR_OPT_INT, 0, 1, 65535, "6379", NULL,
	  "the server's TCP port" },
	{ "unix_socket", DBR_OPT_PATH, 0, 0, 0, NULL, NULL,
	  "a Unix socket to connect to instead of host and port" },
	{ "db", DBR_OPT_INT, 0, 0, 1000000, "0", NULL,
	  "the database number SELECTed on connect" },
	{ "password_env", DBR_OPT_TEXT, 0, 0, 0, NULL, NULL,
	  "the environment variable holding the AUTH password" },
	{ NULL, 0, 0, 0, 0, NULL, NULL, NULL }
};

static struct rds_conn *rds_conn(struct dbr_driver_conn *c)
{
	/* Checked downcast: the core hands a driver only its own
	 * connections, so a mismatch is a broken invariant. */
	if (!c || c->driver != &rds_driver)
		abort();
	return (struct rds_conn *)c;
}

static int rds_nomem(struct dbr_error *err)
{
	rds_host->set_error(err, DBR_E_NOMEM, 0, NULL, "out of memory");
	return DBR_E_NOMEM;
}

/* A failure of the link itself: lost, or a timeout (both leave the
 * context unusable; is_clean() then retires it), or hiredis out of memory
 * (which also leaves it unusable, but is no sign of a server down). */
static int rds_link_error(struct rds_conn *c, struct dbr_error *err)
{
	int code = c->timed_out ? DBR_E_TIMEOUT : DBR_E_CONN;
	const char *why = "connection lost";

	if (c->ctx && c->ctx->err == REDIS_ERR_OOM)
		return rds_nomem(err);
	if (c->timed_out)
		why = "command timed out";
	else if (c->ctx && c->ctx->errstr[0])
		why = c->ctx->errstr;
	rds_host->set_error(err, code, c->ctx ? c->ctx->err : 0, NULL, "%s",
			    why);
	return code;
}

static void rds_finish(struct dbr_driver_conn *conn)
{
	struct rds_conn *c = rds_conn(conn);

	if (c->reply)
		freeReplyObject(c->reply);
	c->reply = NULL;
	c->nrows = 0;
	c->at = 0;
}

static void rds_close(struct dbr_driver_conn *conn)
{
	struct rds_conn *c = rds_conn(conn);

	rds_finish(conn);
	if (c->ctx)
		redisFree(c->ctx);
	free(c->rows);
	free(c->argv);
	free(c->argvlen);
	free(c->scratch);
	free(c);
}

/*
 * Send what hiredis has buffered. hiredis writes with plain write(), and
 * a write to a peer that closed raises SIGPIPE, whose default action ends
 * the process. So this thread blocks SIGPIPE around the writes
 * (nosigpipe.h). Each write is bounded by the context's timeout.
 */
static int rds_send(redisContext *ctx)
{
	struct dbr_nosigpipe np;
	int done = 0, rc = REDIS_OK;

	dbr_nosigpipe_begin(&np);
	while (!done && rc == REDIS_OK)
		rc = redisBufferWrite(ctx, &done);
	dbr_nosigpipe_end(&np, rc != REDIS_OK);
	return rc;
}

/* One command and its reply, or NULL when the link failed (c->ctx->err
 * says how; c->timed_out whether the timeout ended it). */
static redisReply *rds_call(struct rds_conn *c, int argc, const char **argv,
			    const size_t *argvlen)
{
	void *reply = NULL;

	if (redisAppendCommandArgv(c->ctx, argc, argv, argvlen) != REDIS_OK ||
	    rds_send(c->ctx) != REDIS_OK ||
	    redisGetReply(c->ctx, &reply) != REDIS_OK) {
		c->timed_out = c->ctx->err == REDIS_ERR_IO &&
			       (errno == EAGAIN || errno == EWOULDBLOCK);
		return NULL;
	}
	return reply;
}

/*
 * A refusal no retry fixes (a password unset or refused, a database
 * number out of range): the connection failed, but trying again fails the
 * same way until the configuration changes.
 */
static void rds_refused(struct dbr_error *err)
{
	if (err) {
		err->retryable = false;
		err->hint = "fix the credentials or database in the "
			    "configuration";
	}
}

/* Run a setup command (AUTH, SELECT) whose reply must not be an error. */
static int rds_setup(struct rds_conn *c, int argc, const char **argv,
		     struct dbr_error *err)
{
	redisReply *r = rds_call(c, argc, argv, NULL);
	int rc = DBR_OK;

	if (!r)
		return rds_link_error(c, err);
	if (r->type == REDIS_REPLY_ERROR) {
		rds_host->set_error(err, DBR_E_CONN, 0, NULL, "%s: %s", argv[0],
				    r->str);
		/* A server still loading its data set refuses for now. */
		if (strncmp(r->str, "LOADING", 7))
			rds_refused(err);
		rc = DBR_E_CONN;
	}
	freeReplyObject(r);
	return rc;
}

static int rds_connect(struct rds_conn *c, const struct dbr_source_config *src,
		       struct dbr_error *err)
{
	double t = rds_host->opt_seconds(src, "timeout");
	const char *sock = rds_host->opt_text(src, "unix_socket");
	const char *host = rds_host->opt_text(src, "host");
	int port = (int)rds_host->opt_int(src, "port"), saved;
	struct timeval tv;

	tv.tv_sec = (time_t)t;
	tv.tv_usec = (suseconds_t)((t - (double)tv.tv_sec) * 1e6);
	c->ctx = sock ? redisConnectUnixWithTimeout(sock, tv)
		      : redisConnectWithTimeout(host, port, tv);
	saved = errno;
	if (!c->ctx)
		return rds_nomem(err);
	if (c->ctx->err) {
		/* No descriptor left is a local shortage, not a server
		 * that is down. */
		int code = saved == EMFILE || saved == ENFILE ? DBR_E_RESOURCE
							      : DBR_E_CONN;

		rds_host->set_error(err, code, c->ctx->err, NULL,
				    "cannot connect to %s%s%.0d: %s",
				    sock ? sock : host, sock ? "" : ":",
				    sock ? 0 : port, c->ctx->errstr);
		return code;
	}
	if (redisSetTimeout(c->ctx, tv) != REDIS_OK)
		return rds_link_error(c, err);
	/* hiredis does not: a child the application execs must not inherit
	 * the socket (libpq and SQLite set it on theirs). */
	fcntl(c->ctx->fd, F_SETFD, FD_CLOEXEC);
	return DBR_OK;
}

/*
 * A timeout while connecting made a connection failure: filled again by
 * set_error, so that retryable and the hint follow the new code (the
 * timeout's hint speaks of a write that may have been applied).
 */
static void rds_unreachable(struct dbr_error *err)
{
	char msg[DBR_ERROR_MESSAGE_SIZE];
	bool cut;

	if (!err)
		return;
	memcpy(msg, err->message, sizeof(msg));
	cut = err->truncated;
	rds_host->set_error(err, DBR_E_CONN, err->native_code, NULL, "%s", msg);
	err->truncated = cut;
}

/* (Re)connect, log in and select the database; any old context goes. */
static int rds_start(struct rds_conn *c, struct dbr_error *err)
{
	const struct dbr_source_config *src = c->base.src;
	const char *pwenv = rds_host->opt_text(src, "password_env");
	long long dbn = rds_host->opt_int(src, "db");
	char dbtext[24];
	int rc;

	if (c->ctx)
		redisFree(c->ctx);
	c->ctx = NULL;
	c->nflags = 0; /* another server may answer */
	c->timed_out = false;
	rc = rds_connect(c, src, err);
	if (!rc && pwenv) {
		const char *argv[2] = { "AUTH", getenv(pwenv) };

		if (!argv[1]) {
			rds_host->set_error(err, DBR_E_CONN, 0, NULL,
					    "password_env: environment "
					    "variable '%s' is not set",
					    pwenv);
			rds_refused(err);
			rc = DBR_E_CONN;
		} else {
			rc = rds_setup(c, 2, argv, err);
		}
	}
	if (!rc && dbn) {
		const char *argv[2] = { "SELECT", dbtext };

		snprintf(dbtext, sizeof(dbtext), "%lld", dbn);
		rc = rds_setup(c, 2, argv, err);
	}
	/* A server that does not answer while connecting is as unreachable
	 * as one that refuses. */
	if (rc == DBR_E_TIMEOUT) {
		rds_unreachable(err);
		rc = DBR_E_CONN;
	}
	/* Half set up (connected, but AUTH or SELECT refused) is no
	 * connection: never pooled, never used unauthenticated or on the
	 * wrong database. */
	if (rc && c->ctx) {
		redisFree(c->ctx);
		c->ctx = NULL;
	}
	return rc;
}

static int rds_open(const struct dbr_source_config *src,
		    struct dbr_driver_conn **out, struct dbr_error *err)
{
	struct rds_conn *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return rds_nomem(err);
	c->base.struct_size = sizeof(c->base);
	c->base.driver = &rds_driver;
	c->base.src = src;
	c->readonly = rds_host->opt_bool(src, "readonly");
	rc = rds_start(c, err);
	if (rc) {
		rds_close(&c->base);
		return rc;
	}
	*out = &c->base;
	return DBR_OK;
}

static bool rds_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static int rds_reserve(struct rds_conn *c, size_t argc, size_t scratch)
{
	if (argc > c->argcap) {
		size_t cap = argc < 16 ? 16 : argc * 2;
		const char **v = realloc(c->argv, cap * sizeof(*v));
		size_t *l = v ? realloc(c->argvlen, cap * sizeof(*l)) : NULL;

		if (v)
			c->argv = v;
		if (!l)
			return -1;
		c->argvlen = l;
		c->argcap = cap;
	}
	if (scratch > c->scratchcap) {
		size_t cap = scratch < 256 ? 256 : scratch * 2;
		char *s = realloc(c->scratch, cap);

		if (!s)
			return -1;
		c->scratch = s;
		c->scratchcap = cap;
	}
	return 0;
}

/*
 * A double as text in the C locale, whatever the application's LC_NUMERIC
 * (under de_DE.UTF-8 "%.17g" writes 1.5 as "1,5", which Redis does not
 * read as a number); the thread's own locale is restored.
 */
static int rds_double(char *at, double d)
{
	locale_t was = uselocale(rds_c_locale);
	int n = sprintf(at, "%.17g", d);

	uselocale(was);
	return n;
}

/* One parameter as a command argument; numbers are written at *at. */
static int rds_arg(struct rds_conn *c, size_t i, const struct dbr_value *p,
		   size_t k, char **at, struct dbr_error *err)
{
	int n;

	switch (p->type) {
	case DBR_TYPE_TEXT:
	case DBR_TYPE_BLOB:
		c->argv[i] = p->len ? p->u.s : "";
		c->argvlen[i] = p->len;
		return DBR_OK;
	case DBR_TYPE_INT64: n = sprintf(*at, "%lld", (long long)p->u.i); break;
	case DBR_TYPE_DOUBLE: n = rds_double(*at, p->u.d); break;
	/* ABI 2.2: as a driver of 2.1 receives them from the core. */
	case DBR_TYPE_BOOL: n = sprintf(*at, "%d", p->u.i != 0); break;
	case DBR_TYPE_TIMESTAMP:
		n = (int)dbr_ts_format(p->u.i, *at);
		if (n)
			break;
		rds_host->set_error(err, DBR_E_MISUSE, 0, NULL,
				    "parameter %zu: timestamp outside years "
				    "1000 to 9999",
				    k + 1);
		return DBR_E_MISUSE;
	default:
		rds_host->set_error(err, DBR_E_MISUSE, 0, NULL,
				    "parameter %zu: a Redis command argument "
				    "cannot be NULL",
				    k + 1);
		return DBR_E_MISUSE;
	}
	c->argv[i] = *at;
	c->argvlen[i] = (size_t)n;
	*at += n + 1;
	return DBR_OK;
}

/* Count the words of a command, and those that are `?`. */
static size_t rds_count(const char *s, size_t *marks)
{
	size_t words = 0, len;

	*marks = 0;
	for (;;) {
		while (rds_blank(*s))
			s++;
		if (!*s)
			return words;
		len = strcspn(s, " \t\r\n");
		words++;
		*marks += len == 1 && *s == '?';
		s += len;
	}
}

/* Split the command into words, binding every `?` word to a parameter. */
static int rds_words(struct rds_conn *c, const char *cmd,
		     const struct dbr_value *p, size_t np, size_t *argc,
		     struct dbr_error *err)
{
	size_t marks, words = rds_count(cmd, &marks), k = 0, i, len;
	const char *s = cmd;
	char *at;
	int rc;

	if (!words) {
		rds_host->set_error(err, DBR_E_STMT, 0, NULL, "empty command");
		return DBR_E_STMT;
	}
	if (marks != np) {
		rds_host->set_error(err, DBR_E_MISUSE, 0, NULL,
				    "command has %zu '?' words but %zu "
				    "parameters were given",
				    marks, np);
		return DBR_E_MISUSE;
	}
	if (rds_reserve(c, words, np * 32 + 1))
		return rds_nomem(err);
	at = c->scratch;
	for (i = 0; i < words; i++, s += len) {
		while (rds_blank(*s))
			s++;
		len = strcspn(s, " \t\r\n");
		if (len == 1 && *s == '?') {
			rc = rds_arg(c, i, &p[k], k, &at, err);
			if (rc)
				return rc;
			k++;
		} else if (len == 2 && s[0] == '?' && s[1] == '?') {
			c->argv[i] = "?";
			c->argvlen[i] = 1;
		} else {
			c->argv[i] = s;
			c->argvlen[i] = len;
		}
	}
	*argc = words;
	return DBR_OK;
}

/* A command's flags, from the server's COMMAND INFO (cached). */
static int rds_flags(struct rds_conn *c, const char *name, size_t len,
		     unsigned *flags, struct dbr_error *err)
{
	const char *argv[3] = { "COMMAND", "INFO", name };
	size_t argvlen[3] = { 7, 4, len }, i;
	redisReply *r;

	*flags = 0;
	for (i = 0; i < c->nflags; i++) {
		if (c->flags[i].len == len &&
		    rds_command_is(name, len, c->flags[i].name)) {
			*flags = c->flags[i].flags;
			return DBR_OK;
		}
	}
	r = rds_call(c, 3, argv, argvlen);
	if (!r)
		return rds_link_error(c, err);
	*flags = rds_command_flags(r);
	freeReplyObject(r);
	/* Only names the cache can hold whole and compare as text; when
	 * full, the first slot is overwritten. */
	if (len < RDS_NAME_MAX && !memchr(name, '\0', len)) {
		struct rds_cmdflag *f =
			&c->flags[c->nflags < RDS_FLAG_CACHE ? c->nflags++ : 0];

		memcpy(f->name, name, len);
		f->name[len] = '\0';
		f->len = (unsigned char)len;
		f->flags = (unsigned char)*flags;
	}
	return DBR_OK;
}

/*
 * Whether the bound command (c->argv) is flagged read-only. A container
 * (XGROUP, OBJECT, ...) is as its subcommand NAME|SUB is; when that cannot
 * be asked, it is not.
 */
/* PING [msg], ECHO msg, TIME: no key, no effect, although the server
 * does not flag them `readonly`. */
static bool rds_harmless(const struct rds_conn *c, size_t argc)
{
	const char *w = c->argv[0];
	size_t n = c->argvlen[0];

	return (rds_command_is(w, n, "PING") && argc <= 2) ||
	       (rds_command_is(w, n, "ECHO") && argc == 2) ||
	       (rds_command_is(w, n, "TIME") && argc == 1);
}

static int rds_readonly(struct rds_conn *c, size_t argc, bool *ro,
			struct dbr_error *err)
{
	char key[2 * RDS_NAME_MAX];
	size_t n0 = c->argvlen[0], n;
	unsigned flags;
	int rc = rds_flags(c, c->argv[0], n0, &flags, err);

	*ro = false;
	if (!rc && rds_harmless(c, argc)) {
		*ro = true;
		return DBR_OK;
	}
	if (rc || !(flags & RDS_CMD_CONTAINER)) {
		*ro = !rc && (flags & RDS_CMD_READONLY);
		return rc;
	}
	if (argc < 2 || n0 + 1 + c->argvlen[1] > sizeof(key))
		return DBR_OK;
	n = n0 + 1 + c->argvlen[1];
	memcpy(key, c->argv[0], n0);
	key[n0] = '|';
	memcpy(key + n0 + 1, c->argv[1], c->argvlen[1]);
	rc = rds_flags(c, key, n, &flags, err);
	*ro = !rc && flags == RDS_CMD_READONLY;
	return rc;
}

/*
 * Whether an idle connection is usable: hiredis saw no error, and the
 * socket has nothing to read (a server that closed the connection makes
 * it readable).
 */
static bool rds_idle_ok(struct rds_conn *c)
{
	struct pollfd pfd;

	if (!c->ctx || c->ctx->err)
		return false;
	pfd.fd = c->ctx->fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	return poll(&pfd, 1, 0) == 0;
}

/*
 * Before a command is sent: a connection the server closed while it was
 * idle (a restart, a client timeout, CLIENT KILL) is replaced. Nothing of
 * the command has been sent, so the command runs on the new connection.
 */
static int rds_ready(struct rds_conn *c, struct dbr_error *err)
{
	if (rds_idle_ok(c))
		return DBR_OK;
	rds_host->log(c->base.src, DBR_LOG_INFO,
		      "connection closed while idle; reconnecting");
	return rds_start(c, err);
}

/*
 * The checks before a command is sent: not one that changes the
 * connection, a live connection, and on a read-only source a read-only
 * command. *write: whether the command may write (true when unsure).
 */
static int rds_check(struct rds_conn *c, size_t argc, bool track, bool *write,
		     struct dbr_error *err)
{
	size_t nw;
	const char *why = rds_command_refused(c->argv, c->argvlen, argc, &nw);
	bool ro = false;
	int rc;

	*write = true;
	if (why) {
		rds_host->set_error(err, DBR_E_MISUSE, 0, NULL,
				    "'%.*s%s%.*s' is refused: %s",
				    (int)c->argvlen[0], c->argv[0],
				    nw > 1 ? " " : "",
				    nw > 1 ? (int)c->argvlen[1] : 0,
				    nw > 1 ? c->argv[1] : "", why);
		return DBR_E_MISUSE;
	}
	rc = rds_ready(c, err);
	if (!rc && (c->readonly || track))
		rc = rds_readonly(c, argc, &ro, err);
	if (rc)
		return rc;
	*write = !ro;
	if (c->readonly && !ro) {
		rds_host->set_error(err, DBR_E_READONLY, 0, NULL,
				    "'%.*s' is not flagged read-only by the "
				    "server, and the source is read-only",
				    (int)c->argvlen[0], c->argv[0]);
		return DBR_E_READONLY;
	}
	return DBR_OK;
}

/* Collect the reply's leaves, depth-first. */
static int rds_flatten(struct rds_conn *c, redisReply *r)
{
	size_t i;

	if (r->type != REDIS_REPLY_ARRAY) {
		if (c->nrows == c->rowcap) {
			size_t cap = c->rowcap ? c->rowcap * 2 : 16;
			redisReply **v = realloc(c->rows, cap * sizeof(*v));

			if (!v)
				return -1;
			c->rows = v;
			c->rowcap = cap;
		}
		c->rows[c->nrows++] = r;
		return 0;
	}
	for (i = 0; i < r->elements; i++)
		if (rds_flatten(c, r->element[i]))
			return -1;
	return 0;
}

static int rds_query(struct dbr_driver_conn *conn, const char *sql,
		     const struct dbr_value *params, size_t nparams,
		     struct dbr_error *err)
{
	struct rds_conn *c = rds_conn(conn);
	bool track = c->track, write;
	size_t argc;
	int rc;

	rds_finish(conn);
	c->track = false;
	c->wrote = false; /* until the command is sent */
	rc = rds_words(c, sql, params, nparams, &argc, err);
	if (!rc)
		rc = rds_check(c, argc, track, &write, err);
	if (rc)
		return rc;
	c->wrote = write;
	c->reply = rds_call(c, (int)argc, c->argv, c->argvlen);
	if (!c->reply)
		return rds_link_error(c, err);
	if (c->reply->type == REDIS_REPLY_ERROR) {
		rds_host->set_error(err, DBR_E_STMT, 0, NULL, "%s",
				    c->reply->str);
		rds_finish(conn);
		return DBR_E_STMT;
	}
	if (rds_flatten(c, c->reply)) {
		rds_finish(conn);
		return rds_nomem(err);
	}
	return DBR_OK;
}

static int rds_next(struct dbr_driver_conn *conn, struct dbr_error *err)
{
	struct rds_conn *c = rds_conn(conn);

	(void)err;
	if (c->at >= c->nrows) {
		c->at = c->nrows + 1;
		return DBR_DONE;
	}
	c->at++;
	return DBR_ROW;
}

static size_t rds_column_count(struct dbr_driver_conn *conn)
{
	return rds_conn(conn)->reply ? 1 : 0;
}

static const char *rds_column_name(struct dbr_driver_conn *conn, size_t col)
{
	return rds_conn(conn)->reply && col == 0 ? "value" : NULL;
}

/* Whether s holds well-formed UTF-8 (no overlongs, no surrogates). */
static bool rds_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0, k, len;
	unsigned cp;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf)
			len = 2, cp = s[i] & 0x1f;
		else if (s[i] >= 0xe0 && s[i] <= 0xef)
			len = 3, cp = s[i] & 0x0f;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			len = 4, cp = s[i] & 0x07;
		else
			return false;
		if (i + len > n)
			return false;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 3 &&
		     (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		i += len;
	}
	return true;
}

static void rds_column(struct dbr_driver_conn *conn, size_t col,
		       struct dbr_value *out)
{
	struct rds_conn *c = rds_conn(conn);
	const redisReply *r;

	*out = dbr_null();
	if (col || !c->at || c->at > c->nrows)
		return;
	r = c->rows[c->at - 1];
	if (r->type == REDIS_REPLY_INTEGER) {
		*out = dbr_int64(r->integer);
	} else if (r->type == REDIS_REPLY_STRING ||
		   r->type == REDIS_REPLY_STATUS) {
		out->type = rds_utf8((const unsigned char *)r->str, r->len)
				    ? DBR_TYPE_TEXT
				    : DBR_TYPE_BLOB;
		out->u.s = r->str;
		out->len = r->len;
	}
}

static int rds_ping(struct dbr_driver_conn *conn, struct dbr_error *err)
{
	struct rds_conn *c = rds_conn(conn);
	const char *argv[1] = { "PING" };
	redisReply *r;

	rds_finish(conn);
	if (!c->ctx || c->ctx->err)
		return rds_link_error(c, err);
	r = rds_call(c, 1, argv, NULL);
	if (!r)
		return rds_link_error(c, err);
	freeReplyObject(r);
	return DBR_OK;
}

static bool rds_is_alive(struct dbr_driver_conn *conn)
{
	return rds_idle_ok(rds_conn(conn));
}

/*
 * Clean when hiredis saw no error (a timed-out command's reply may still
 * come, so its context is never reused), the context is a plain connected
 * blocking one, and nothing is left unsent or unread.
 */
static bool rds_is_clean(struct dbr_driver_conn *conn)
{
	const int mask = REDIS_BLOCK | REDIS_CONNECTED | REDIS_DISCONNECTING |
			 REDIS_FREEING | REDIS_IN_CALLBACK | REDIS_SUBSCRIBED |
			 REDIS_MONITORING;
	struct rds_conn *c = rds_conn(conn);
	const redisContext *ctx = c->ctx;

	return ctx && !ctx->err &&
	       (ctx->flags & mask) == (REDIS_BLOCK | REDIS_CONNECTED) &&
	       !sdslen(ctx->obuf) && ctx->reader->pos == ctx->reader->len;
}

static void rds_track_writes(struct dbr_driver_conn *conn)
{
	rds_conn(conn)->track = true;
}

/* Whether the last command may have written: true unless it was tracked
 * and the server flags it read-only, or it was never sent. */
static bool rds_wrote(struct dbr_driver_conn *conn)
{
	return rds_conn(conn)->wrote;
}

static const struct dbr_driver rds_driver = {
	.abi_version = DBR_ABI_VERSION,
	.struct_size = sizeof(struct dbr_driver),
	.option_size = sizeof(struct dbr_option_decl),
	.name = "redis",
	.version = "0.1.0 (hiredis)",
	.caps = DBR_CAP_KV | DBR_CAP_READONLY,
	.options = rds_options,
	.open = rds_open,
	.close = rds_close,
	.query = rds_query,
	.next = rds_next,
	.column_count = rds_column_count,
	.column_name = rds_column_name,
	.column = rds_column,
	.finish = rds_finish,
	.ping = rds_ping,
	.is_alive = rds_is_alive,
	.is_clean = rds_is_clean,
	.track_writes = rds_track_writes,
	.wrote = rds_wrote,
};

DBR_DRIVER_EXPORT const struct dbr_driver *
dbr_driver_entry(const struct dbr_host *host);

/*
 * Runs once per process, under the core's lock. The C locale of every
 * category is glibc's static one (nothing allocated). Without it (out of
 * memory) no driver is returned, and the core refuses the plugin.
 */
DBR_DRIVER_EXPORT const struct dbr_driver *
dbr_driver_entry(const struct dbr_host *host)
{
	rds_host = host;
	if (!rds_c_locale)
		rds_c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	return rds_c_locale ? &rds_driver : NULL; /* NULL: out of memory */
}
