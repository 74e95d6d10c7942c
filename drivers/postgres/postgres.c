/*
 * postgres.c - the PostgreSQL driver plugin (libpq), plugins.d/postgres.so.
 *
 * Statements are prepared once per connection and reused (a bounded LRU
 * keyed by the statement's text and its parameters' types), run with
 * single-row mode so rows stream, and their text results are mapped to
 * dbroute values by column type (pg_value.c). Every wait on the server is
 * bounded (pg_wait.c).
 *
 * A connection is pooled again only when is_clean() says so, from libpq's
 * own state and without a round trip: connected, no statement pending,
 * outside any transaction, and every setting the server reports as it was
 * when the connection was opened. `readonly`, `statement_timeout`,
 * `search_path` and the source's `options` are set in the startup packet
 * (libpq `options`), so RESET ALL and DISCARD ALL return to them, and a change of default_transaction_read_only is
 * seen in the reported settings (reported since PostgreSQL 14).
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pg.h"
#include "sqlguard.h"
#include "sqllex.h"
#include "tablelist.h"

/* The tracked statement's companion in its pipeline: whether the implicit
 * transaction the two share has a transaction id, i.e. wrote. */
#define PG_XID_CHECK "SELECT pg_current_xact_id_if_assigned() IS NOT NULL"

const struct dbr_host *pg_host;
locale_t pg_c_locale;
static const struct dbr_driver pg_driver;

static const struct dbr_option_decl pg_options[] = {
	{ "conninfo", DBR_OPT_TEXT, 0, 0, 0, "", NULL,
	  "a libpq connection string" },
	{ "password_env", DBR_OPT_TEXT, 0, 0, 0, NULL, NULL,
	  "the environment variable holding the password" },
	{ "statement_timeout", DBR_OPT_SECONDS, 0, 0, 86400, "0", NULL,
	  "the longest a statement may run (0: no limit)" },
	{ "search_path", DBR_OPT_TEXT, 0, 0, 0, NULL, NULL,
	  "the schemas searched on every connection, e.g. \"app, public\"" },
	{ "options", DBR_OPT_TEXT, 0, 0, 0, NULL, NULL,
	  "session settings for every connection in libpq's options form, "
	  "e.g. \"-c work_mem=64MB -c lock_timeout=5s\"" },
	{ NULL, 0, 0, 0, 0, NULL, NULL, NULL }
};

/* The settings the server reports that a pooled connection must keep. */
static const char *const pg_watched[] = { "application_name",
					  "client_encoding",
					  "DateStyle",
					  "default_transaction_read_only",
					  "IntervalStyle",
					  "is_superuser",
					  "search_path",
					  "session_authorization",
					  "standard_conforming_strings",
					  "TimeZone",
					  NULL };

static struct pg_conn *pg_conn(struct dbr_driver_conn *c)
{
	/* Checked downcast: the core hands a driver only its own
	 * connections, so a mismatch is a broken invariant. */
	if (!c || c->driver != &pg_driver)
		abort();
	return (struct pg_conn *)c;
}

/* Free a buffer that grew past PG_BUF_KEEP: it grows again when needed. */
static void pg_trim(struct pg_buf *b)
{
	if (b->cap <= PG_BUF_KEEP)
		return;
	free(b->buf);
	b->buf = NULL;
	b->len = b->cap = 0;
}

static int pg_nomem(struct dbr_error *err)
{
	pg_host->set_error(err, DBR_E_NOMEM, 0, NULL, "out of memory");
	return DBR_E_NOMEM;
}

/*
 * Deallocate a prepared statement on the server, under `timeout`. A
 * failure is harmless (the statement may be gone already) unless the link
 * was lost on the way (closed at the deadline): then err says why, and
 * its category is returned.
 */
static int pg_deallocate(struct pg_conn *c, const char *name,
			 struct dbr_error *err)
{
	struct dbr_error why;
	char sql[48];
	int rc;

	snprintf(sql, sizeof(sql), "DEALLOCATE %s", name);
	rc = pg_command(c, sql, NULL, pg_deadline_in(c->timeout), &why);
	if (!rc || c->pg)
		return DBR_OK;
	if (err)
		*err = why;
	return rc;
}

/*
 * An evicted statement is deallocated on the server too; a lost link is
 * told through c->drop_err and c->drop_rc. The link may be closed here
 * (pg_kill), but the cache is never cleared under its own eviction.
 */
static void pg_drop(void *ctx, void *data)
{
	struct pg_conn *c = ctx;
	struct pg_stmt *st = data;

	if (!c->closing && c->pg)
		c->drop_rc = pg_deallocate(c, st->name, c->drop_err);
	free(st);
}

static void pg_close(struct dbr_driver_conn *conn)
{
	struct pg_conn *c = pg_conn(conn);

	/* The prepared statements go with the session: no DEALLOCATE. */
	c->closing = true;
	dbr_stmtcache_clear(&c->cache);
	pg_kill(c);
	dbr_sqlbuf_free(&c->sqlbuf);
	free(c->key.buf);
	free(c->scratch.buf);
	free(c->blob.buf);
	free(c->names.buf);
	free(c->values);
	free(c->lengths);
	free(c->formats);
	free(c->oids);
	free(c->types);
	free(c->name_at);
	free(c->blob_at);
	free(c->col_types);
	free(c->settings);
	free(c);
}

/* Server notices (e.g. "table does not exist, skipping") go to the log,
 * never to stderr. */
static void pg_notice(void *arg, const char *message)
{
	const struct pg_conn *c = arg;
	size_t n = strlen(message);

	while (n && message[n - 1] == '\n')
		n--;
	pg_host->log(c->base.src, DBR_LOG_INFO, "%.*s", (int)n, message);
}

/*
 * The `options` of the startup packet: the user's own (from conninfo, else
 * PGOPTIONS), the source's `options` and `search_path` (its value escaped
 * as libpq splits options: a backslash before each blank and backslash),
 * then dbroute's, which come last and so win. Nothing is added (*out
 * untouched) when there is nothing to add; -1 when out of memory.
 */
static int pg_startup_options(const struct pg_conn *c,
			      const struct dbr_source_config *src,
			      const char *conninfo, char **out)
{
	const char *mine = pg_host->opt_text(src, "options");
	const char *path = pg_host->opt_text(src, "search_path");
	const char *user = getenv("PGOPTIONS"), *p;
	PQconninfoOption *opts, *o;
	char ms[32] = "", *at;
	size_t n;

	if (!c->readonly && c->stmt_timeout <= 0 && !mine && !path)
		return 0;
	opts = PQconninfoParse(conninfo, NULL);
	for (o = opts; o && o->keyword; o++)
		if (!strcmp(o->keyword, "options") && o->val)
			user = o->val;
	if (c->stmt_timeout > 0)
		snprintf(ms, sizeof(ms), " -c statement_timeout=%.0f",
			 c->stmt_timeout * 1000 < 1 ? 1
						    : c->stmt_timeout * 1000);
	n = (user ? strlen(user) : 0) + (mine ? strlen(mine) : 0) +
	    (path ? 2 * strlen(path) : 0) + strlen(ms) + 96;
	*out = at = malloc(n);
	if (at) {
		at += snprintf(at, n, "%s %s", user ? user : "",
			       mine ? mine : "");
		if (path) {
			memcpy(at, " -c search_path=", 16);
			at += 16;
		}
		for (p = path; p && *p; p++) {
			if (*p == ' ' || *p == '\\' || *p == '\t')
				*at++ = '\\';
			*at++ = *p;
		}
		snprintf(at, n - (size_t)(at - *out), "%s%s", ms,
			 c->readonly ? " -c default_transaction_read_only=on"
				     : "");
	}
	PQconninfoFree(opts);
	return *out ? 0 : -1;
}

static int pg_connect(struct pg_conn *c, const struct dbr_source_config *src,
		      struct dbr_error *err)
{
	const char *keys[10], *vals[10];
	const char *pwenv = pg_host->opt_text(src, "password_env");
	const char *conninfo = pg_host->opt_text(src, "conninfo");
	int secs = (int)c->timeout + (c->timeout > (int)c->timeout);
	char idle[16], *options = NULL;
	int n = 0, rc;

	if (pwenv && !getenv(pwenv)) {
		pg_host->set_error(err, DBR_E_CONN, 0, NULL,
				   "password_env: environment variable '%s' "
				   "is not set",
				   pwenv);
		pg_refused(err);
		return DBR_E_CONN;
	}
	if (pg_startup_options(c, src, conninfo, &options))
		return pg_nomem(err);
	/* Defaults first: the conninfo (dbname, expanded) overrides them.
	 * Keepalives catch a dead peer where no deadline applies. */
	snprintf(idle, sizeof(idle), "%d", secs < 1 ? 1 : secs);
	keys[n] = "fallback_application_name";
	vals[n++] = "dbroute";
	keys[n] = "keepalives";
	vals[n++] = "1";
	keys[n] = "keepalives_idle";
	vals[n++] = idle;
	keys[n] = "keepalives_interval";
	vals[n++] = idle;
	keys[n] = "keepalives_count";
	vals[n++] = "3";
	keys[n] = "dbname";
	vals[n++] = conninfo;
	if (options) {
		keys[n] = "options";
		vals[n++] = options;
	}
	if (pwenv) {
		keys[n] = "password";
		vals[n++] = getenv(pwenv);
	}
	keys[n] = NULL;
	vals[n] = NULL;
	rc = pg_wait_connect(c, keys, vals, err);
	free(options);
	if (rc)
		return rc;
	PQsetNoticeProcessor(c->pg, pg_notice, c);
	return DBR_OK;
}

/* Copy the watched settings as the server reported them at open. */
static int pg_snapshot(struct pg_conn *c)
{
	size_t i, n = 0, len;
	const char *v;

	for (i = 0; pg_watched[i]; i++) {
		v = PQparameterStatus(c->pg, pg_watched[i]);
		n += (v ? strlen(v) : 0) + 1;
	}
	c->settings = malloc(n);
	if (!c->settings)
		return -1;
	for (i = 0, n = 0; pg_watched[i]; i++) {
		v = PQparameterStatus(c->pg, pg_watched[i]);
		len = v ? strlen(v) : 0;
		memcpy(c->settings + n, v ? v : "", len + 1);
		n += len + 1;
	}
	return 0;
}

static int pg_open(const struct dbr_source_config *src,
		   struct dbr_driver_conn **out, struct dbr_error *err)
{
	struct pg_conn *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return pg_nomem(err);
	c->base.struct_size = sizeof(c->base);
	c->base.driver = &pg_driver;
	c->base.src = src;
	c->cache.drop = pg_drop;
	c->cache.ctx = c;
	c->timeout = pg_host->opt_seconds(src, "timeout");
	c->stmt_timeout = pg_host->opt_seconds(src, "statement_timeout");
	c->readonly = pg_host->opt_bool(src, "readonly");
	rc = pg_connect(c, src, err);
	if (!rc && pg_snapshot(c))
		rc = pg_nomem(err);
	if (rc) {
		pg_close(&c->base);
		return rc;
	}
	*out = &c->base;
	return DBR_OK;
}

/*
 * open() with flags: DBR_OPEN_NO_CREATE changes nothing, as connecting
 * never creates a database nor changes one.
 */
static int pg_open_flags(const struct dbr_source_config *src, unsigned flags,
			 struct dbr_driver_conn **out, struct dbr_error *err)
{
	(void)flags;
	return pg_open(src, out, err);
}

/* sql with `$n` placeholders into c->sqlbuf, checked against n. */
static int pg_translate(struct pg_conn *c, const char *sql, size_t n,
			struct dbr_error *err)
{
	struct dbr_sqlscan scan;

	if (dbr_sqlscan(sql, DBR_SQLLEX_POSTGRES, &c->sqlbuf, &scan))
		return pg_nomem(err);
	if (scan.trailing) {
		pg_host->set_error(err, DBR_E_STMT, 0, NULL,
				   "text after the first statement: '%.60s' "
				   "(one call runs one statement)",
				   scan.trailing);
		return DBR_E_STMT;
	}
	if (scan.refused) {
		pg_host->set_error(err, DBR_E_MISUSE, 0, NULL,
				   "placeholder '%.*s': numbered and named "
				   "parameters are not dbroute's syntax (? "
				   "binds the next parameter)",
				   (int)scan.refused_len, scan.refused);
		return DBR_E_MISUSE;
	}
	if (scan.nparams != n) {
		pg_host->set_error(err, DBR_E_MISUSE, 0, NULL,
				   "statement has %zu placeholders but %zu "
				   "parameters were given",
				   scan.nparams, n);
		return DBR_E_MISUSE;
	}
	return DBR_OK;
}

/* Prepare c->sqlbuf on the server under a new name for st. */
static int pg_prepare_as(struct pg_conn *c, struct pg_stmt *st, size_t n,
			 struct dbr_error *err)
{
	size_t i;

	for (i = 0; i < n; i++)
		c->oids[i] = pg_oid(c->types[i]);
	snprintf(st->name, sizeof(st->name), "dbr_%llu",
		 (unsigned long long)++c->serial);
	if (!c->pg ||
	    !PQsendPrepare(c->pg, st->name, c->sqlbuf.buf, (int)n, c->oids))
		return pg_fail(c, NULL, err);
	return pg_collect(c, "PREPARE", NULL, c->deadline, err);
}

/* Prepare sql and cache it under c->key (keylen bytes). */
static int pg_prepare(struct pg_conn *c, const char *sql, size_t n,
		      size_t keylen, struct pg_stmt **out,
		      struct dbr_error *err)
{
	struct dbr_stmtcache_entry *e;
	struct pg_stmt *st;
	int rc;

	pg_host->log(c->base.src, DBR_LOG_DEBUG,
		     "statement cache miss: preparing '%.200s'", sql);
	rc = pg_translate(c, sql, n, err);
	if (rc)
		return rc;
	st = calloc(1, sizeof(*st));
	if (!st)
		return pg_nomem(err);
	rc = pg_prepare_as(c, st, n, err);
	if (rc) {
		free(st);
		return rc;
	}
	/* Adding may evict a statement, whose DEALLOCATE may lose the
	 * link: then st is cached, but cannot run. */
	c->drop_rc = DBR_OK;
	c->drop_err = err;
	e = dbr_stmtcache_add(&c->cache, c->key.buf, keylen, st);
	c->drop_err = NULL;
	if (!e) {
		pg_drop(c, st); /* deallocates it on the server */
		return pg_nomem(err);
	}
	if (c->drop_rc)
		return c->drop_rc;
	*out = st;
	return DBR_OK;
}

/*
 * Prepare a cached statement again, under a new name: the server said it
 * did not run it (its plan went stale, or it is gone). The old one is
 * deallocated outside a transaction only, where a failure is harmless
 * unless it lost the link (st stays cached until pg_close).
 */
static int pg_reprepare(struct pg_conn *c, const char *sql, struct pg_stmt *st,
			size_t n, struct dbr_error *err)
{
	int rc;

	pg_host->log(c->base.src, DBR_LOG_DEBUG,
		     "cached statement not executed: preparing '%.200s' "
		     "again",
		     sql);
	rc = pg_translate(c, sql, n, err);
	if (rc)
		return rc;
	if (!c->in_tx && (rc = pg_deallocate(c, st->name, err)))
		return rc;
	rc = pg_prepare_as(c, st, n, err);
	if (!rc)
		st->stale = false;
	return rc;
}

static int pg_refuse(const char *why, struct dbr_error *err)
{
	pg_host->set_error(err, DBR_E_MISUSE, 0, NULL, "%s",
			   why ? why : "not allowed outside a transaction");
	return DBR_E_MISUSE;
}

/*
 * The cached statement for sql and this call's parameter types, prepared
 * on a miss. The statement guard is asked on a miss, and on a hit only
 * for a statement it allows inside a transaction only.
 */
static int pg_lookup(struct pg_conn *c, const char *sql, size_t n,
		     struct pg_stmt **out, struct dbr_error *err)
{
	size_t len = strlen(sql), keylen = len + 1 + n;
	struct dbr_stmtcache_entry *e;
	struct pg_stmt *st;
	const char *why;
	int rc;

	if (keylen < len || pg_grow(&c->key, keylen + 1))
		return pg_nomem(err);
	memcpy(c->key.buf, sql, len + 1);
	if (n)
		memcpy(c->key.buf + len + 1, c->types, n);
	e = dbr_stmtcache_find(&c->cache, c->key.buf, keylen);
	if (e) {
		st = e->data;
		if (st->tx_only && !c->in_tx)
			return pg_refuse(
				dbr_sqlguard_refuse(sql, DBR_SQLGUARD_POSTGRES,
						    false),
				err);
		if (st->stale && (rc = pg_reprepare(c, sql, st, n, err)))
			return rc;
		*out = st;
		return DBR_OK;
	}
	why = dbr_sqlguard_refuse(sql, DBR_SQLGUARD_POSTGRES, c->in_tx);
	if (why)
		return pg_refuse(why, err);
	rc = pg_prepare(c, sql, n, keylen, out, err);
	if (!rc) {
		(*out)->tx_only =
			c->in_tx &&
			dbr_sqlguard_refuse(sql, DBR_SQLGUARD_POSTGRES, false);
		(*out)->reads =
			dbr_sqlguard_is_read(sql, DBR_SQLGUARD_POSTGRES);
		(*out)->leaves = dbr_sqlguard_may_leave_state(
			sql, DBR_SQLGUARD_POSTGRES);
	}
	return rc;
}

/*
 * Send the statement; with track, in a pipeline with PG_XID_CHECK before
 * one Sync, so that the two share the implicit transaction. A send that
 * fails leaves the protocol's state unknown: the link is closed.
 */
static int pg_send(struct pg_conn *c, const struct pg_stmt *st, size_t n,
		   bool track, struct dbr_error *err)
{
	PGconn *pg = c->pg;
	bool ok;
	int rc;

	if (!pg)
		return pg_fail(c, NULL, err);
	c->wrote = true; /* from here on, it may reach the server */
	c->unclean |= st->leaves;
	c->ended = false;
	c->reads = st->reads;
	c->pipe = track && PQenterPipelineMode(pg);
	ok = PQsendQueryPrepared(pg, st->name, (int)n, c->values, c->lengths,
				 c->formats, 0);
	if (ok) {
		c->busy = true;
		ok = PQsetSingleRowMode(pg);
	}
	if (ok && c->pipe)
		ok = PQsendQueryParams(pg, PG_XID_CHECK, 0, NULL, NULL, NULL,
				       NULL, 0) &&
		     PQpipelineSync(pg);
	if (ok)
		return DBR_OK;
	rc = pg_fail(c, NULL, err);
	pg_kill(c);
	return rc;
}

/* Send a prepared statement and read up to its first row. */
static int pg_run(struct pg_conn *c, const struct pg_stmt *st, size_t n,
		  bool track, struct dbr_error *err)
{
	int rc = pg_send(c, st, n, track, err);

	if (rc)
		return rc;
	rc = pg_advance(c, err);
	if (rc != DBR_ROW && rc != DBR_DONE)
		return rc;
	c->first = true;
	return DBR_OK;
}

static int pg_query(struct dbr_driver_conn *conn, const char *sql,
		    const struct dbr_value *params, size_t nparams,
		    struct dbr_error *err)
{
	struct pg_conn *c = pg_conn(conn);
	struct pg_stmt *st = NULL;
	bool track = c->track;
	int rc;

	c->track = false;
	pg_discard(c);
	c->changes = 0;
	c->ncols = 0;
	c->wrote = false;
	c->no_xid = false;
	c->stale = false;
	if (nparams > PG_MAX_PARAMS) {
		pg_host->set_error(err, DBR_E_MISUSE, 0, NULL,
				   "%zu parameters: PostgreSQL takes at most "
				   "%d",
				   nparams, PG_MAX_PARAMS);
		return DBR_E_MISUSE;
	}
	if (!c->pg)
		return pg_fail(c, NULL, err);
	if (pg_params_reserve(c, nparams))
		return pg_nomem(err);
	c->deadline = pg_stmt_deadline(c);
	rc = pg_bind(c, params, nparams, err);
	if (!rc)
		rc = pg_lookup(c, sql, nparams, &st, err);
	if (!rc)
		rc = pg_run(c, st, nparams, track, err);
	if (rc && st && c->stale && c->pg) {
		/* Not executed: outside a transaction, prepared again and
		 * sent once more; inside one (aborted now), prepared again
		 * at its next use. */
		st->stale = true;
		if (!c->in_tx) {
			c->stale = false;
			rc = pg_reprepare(c, sql, st, nparams, err);
			if (!rc)
				rc = pg_run(c, st, nparams, track, err);
		}
	}
	return rc;
}

static int pg_next(struct dbr_driver_conn *conn, struct dbr_error *err)
{
	struct pg_conn *c = pg_conn(conn);

	if (c->first) {
		c->first = false;
		return c->row ? DBR_ROW : DBR_DONE;
	}
	return pg_advance(c, err);
}

static size_t pg_column_count(struct dbr_driver_conn *conn)
{
	return pg_conn(conn)->ncols;
}

static const char *pg_column_name(struct dbr_driver_conn *conn, size_t col)
{
	struct pg_conn *c = pg_conn(conn);

	return col < c->ncols ? c->names.buf + c->name_at[col] : NULL;
}

static void pg_column(struct dbr_driver_conn *conn, size_t col,
		      struct dbr_value *out)
{
	pg_value(pg_conn(conn), col, out);
}

/* End the statement; buffers an unusually large value grew are freed. */
static void pg_finish(struct dbr_driver_conn *conn)
{
	struct pg_conn *c = pg_conn(conn);

	pg_discard(c);
	pg_trim(&c->scratch);
	pg_trim(&c->blob);
	pg_trim(&c->key);
	if (c->sqlbuf.cap > PG_BUF_KEEP)
		dbr_sqlbuf_free(&c->sqlbuf);
}

static int64_t pg_changes(struct dbr_driver_conn *conn)
{
	return pg_conn(conn)->changes;
}

/* A round trip, bounded by `timeout`. */
static int pg_ping(struct dbr_driver_conn *conn, struct dbr_error *err)
{
	struct pg_conn *c = pg_conn(conn);

	pg_discard(c);
	return pg_command(c, "", NULL, pg_deadline_in(c->timeout), err);
}

/*
 * An idle connection has nothing to read unless the server wrote first,
 * as it does when it ends the session (pg_terminate_backend, shutdown:
 * a FATAL message, then the close). dbroute never LISTENs, so anything
 * readable means the session is ending, or at worst is an unsolicited
 * notice: either way a fresh connection is the safe answer.
 */
static bool pg_is_alive(struct dbr_driver_conn *conn)
{
	struct pg_conn *c = pg_conn(conn);
	struct pollfd pfd;

	if (!c->pg || c->busy || PQstatus(c->pg) != CONNECTION_OK)
		return false;
	pfd.fd = PQsocket(c->pg);
	pfd.events = POLLIN;
	pfd.revents = 0;
	return pfd.fd >= 0 && poll(&pfd, 1, 0) == 0;
}

/*
 * A read-only source's transaction begins read-only and takes its first
 * snapshot in the same round trip (simple protocol, two statements): from
 * then on PostgreSQL itself refuses read-write mode ("must be set before
 * any query"; "inside a read-only transaction" in a savepoint), whatever
 * the transaction's statements say - SET TRANSACTION READ WRITE, SET
 * LOCAL transaction_read_only, set_config().
 */
static int pg_begin(struct dbr_driver_conn *conn, struct dbr_error *err)
{
	struct pg_conn *c = pg_conn(conn);
	int rc = pg_command(c,
			    c->readonly ? "BEGIN READ ONLY; SELECT 1" : "BEGIN",
			    NULL, pg_stmt_deadline(c), err);

	if (!rc)
		c->in_tx = true;
	return rc;
}

/* A channel is an identifier dbroute names: refused otherwise. */
static int pg_channel(const char *verb, const char *channel, char *sql,
		      size_t size, struct dbr_error *err)
{
	size_t i;

	for (i = 0; channel[i]; i++)
		if (!(channel[i] == '_' ||
		      (channel[i] >= 'a' && channel[i] <= 'z') ||
		      (channel[i] >= '0' && channel[i] <= '9')))
			break;
	if (!i || channel[i] || i > 63) {
		pg_host->set_error(err, DBR_E_MISUSE, 0, NULL,
				   "channel '%s' is not an identifier",
				   channel);
		return DBR_E_MISUSE;
	}
	snprintf(sql, size, "%s %s", verb, channel);
	return DBR_OK;
}

static int pg_listen(struct dbr_driver_conn *conn, const char *channel,
		     struct dbr_error *err)
{
	struct pg_conn *c = pg_conn(conn);
	char sql[128];
	int rc = pg_channel("LISTEN", channel, sql, sizeof(sql), err);

	if (!rc)
		rc = pg_command(c, sql, "LISTEN", pg_deadline_in(c->timeout),
				err);
	return rc;
}

static int pg_wait_signal(struct dbr_driver_conn *conn, int timeout_ms,
			  bool *signalled, struct dbr_error *err)
{
	return pg_wait_notify(pg_conn(conn), timeout_ms, signalled, err);
}

/* NOTIFY is queued by the transaction and sent at its commit. */
static int pg_notify(struct dbr_driver_conn *conn, const char *channel,
		     struct dbr_error *err)
{
	struct pg_conn *c = pg_conn(conn);
	char sql[128];
	int rc = pg_channel("NOTIFY", channel, sql, sizeof(sql), err);

	if (!rc)
		rc = pg_command(c, sql, "NOTIFY", pg_stmt_deadline(c), err);
	return rc;
}

static int pg_capture(struct dbr_driver_conn *conn,
		      const struct dbr_capture *cap, bool install,
		      struct dbr_error *err)
{
	return pg_capture_run(pg_conn(conn), cap, install, err);
}

static int pg_clock_ms(struct dbr_driver_conn *conn, int64_t *ms,
		       struct dbr_error *err)
{
	return pg_clock_run(pg_conn(conn), ms, err);
}

/* The core's bound on every wait of the statements that follow. */
static void pg_bound(struct dbr_driver_conn *conn, double seconds)
{
	pg_conn(conn)->bound = seconds > 0 ? seconds : 0;
}

static int pg_commit(struct dbr_driver_conn *conn, struct dbr_error *err)
{
	struct pg_conn *c = pg_conn(conn);

	c->in_tx = false;
	return pg_command(c, "COMMIT", "COMMIT", pg_stmt_deadline(c), err);
}

static int pg_rollback(struct dbr_driver_conn *conn, struct dbr_error *err)
{
	struct pg_conn *c = pg_conn(conn);

	c->in_tx = false;
	return pg_command(c, "ROLLBACK", NULL, pg_stmt_deadline(c), err);
}

/*
 * Clean: connected, no statement pending, outside any transaction, no
 * value of PG_HUGE_SIZE went through (libpq's buffers are freed only with
 * the connection), no statement was sent that may leave session state
 * the server does not report (PostgreSQL 15 reports neither search_path
 * nor work_mem, temporary tables, advisory locks or LISTEN: see
 * dbr_sqlguard_may_leave_state; decided once per cached statement), and
 * every watched setting as reported at open.
 */
static bool pg_is_clean(struct dbr_driver_conn *conn)
{
	struct pg_conn *c = pg_conn(conn);
	const char *at = c->settings, *v;
	size_t i;

	if (!c->pg || c->busy || c->huge || c->in_tx || c->unclean ||
	    PQstatus(c->pg) != CONNECTION_OK ||
	    PQtransactionStatus(c->pg) != PQTRANS_IDLE)
		return false;
	for (i = 0; pg_watched[i]; i++) {
		v = PQparameterStatus(c->pg, pg_watched[i]);
		if (strcmp(v ? v : "", at))
			return false;
		at += strlen(at) + 1;
	}
	return true;
}

static void pg_track_writes(struct dbr_driver_conn *conn)
{
	pg_conn(conn)->track = true;
}

/*
 * Without tracking, any statement that reached the server may have
 * written (a SELECT too: `SELECT f()`). With it, the statement's implicit
 * transaction said whether it was given a transaction id.
 */
static bool pg_wrote(struct dbr_driver_conn *conn)
{
	return pg_conn(conn)->wrote;
}

/*
 * The tables of the search path's schemas (first schema first), a row per
 * column: its class from its type (integers, floats and numeric, the
 * string category, bytea), its position in the primary key.
 */
static const char pg_tables_sql[] =
	"SELECT n.nspname, c.relname, a.attname, "
	"format_type(a.atttypid, a.atttypmod), "
	"CASE WHEN a.attnotnull THEN 1 ELSE 0 END, "
	/* int2vector's lower bound is 0: positions counted from 1. */
	"COALESCE(array_position(i.indkey::int2[], a.attnum) + 1 - "
	"array_lower(i.indkey::int2[], 1), 0), "
	"CASE WHEN a.atttypid IN (20, 21, 23) THEN 1 "
	"WHEN a.atttypid IN (700, 701, 1700) THEN 2 "
	"WHEN a.atttypid = 17 THEN 4 WHEN t.typcategory = 'S' THEN 3 "
	"ELSE 5 END "
	"FROM pg_catalog.pg_class c "
	"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	"JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid "
	"AND a.attnum > 0 AND NOT a.attisdropped "
	"JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
	"LEFT JOIN pg_catalog.pg_index i ON i.indrelid = c.oid "
	"AND i.indisprimary "
	"WHERE c.relkind IN ('r', 'p') "
	"AND n.nspname = ANY (current_schemas(false)) "
	"ORDER BY array_position(current_schemas(false), n.nspname), "
	"c.relname, a.attnum";

/* Text column col of the current row ("" for NULL). */
static const char *pg_text_at(struct pg_conn *c, size_t col)
{
	struct dbr_value v;

	pg_value(c, col, &v);
	return v.type == DBR_TYPE_TEXT ? v.u.s : "";
}

static int64_t pg_int_at(struct pg_conn *c, size_t col)
{
	struct dbr_value v;

	pg_value(c, col, &v);
	return v.type == DBR_TYPE_INT64 ? v.u.i : 0;
}

static int pg_list_tables(struct dbr_driver_conn *conn, dbr_table_fn fn,
			  void *ud, struct dbr_error *err)
{
	struct pg_conn *c = pg_conn(conn);
	struct dbr_column_info col;
	struct dbr_tablelist t;
	int rc = pg_query(conn, pg_tables_sql, NULL, 0, err);

	dbr_tablelist_init(&t, fn, ud);
	while (!rc && (rc = pg_next(conn, err)) == DBR_ROW) {
		char schema[64], table[64];

		/* Names of at most 63 bytes (NAMEDATALEN), copied before
		 * the next column is read. */
		snprintf(schema, sizeof(schema), "%s", pg_text_at(c, 0));
		snprintf(table, sizeof(table), "%s", pg_text_at(c, 1));
		memset(&col, 0, sizeof(col));
		col.notnull = pg_int_at(c, 4) != 0;
		col.pk = (uint32_t)pg_int_at(c, 5);
		col.cls = (uint32_t)pg_int_at(c, 6);
		col.name = pg_text_at(c, 2);
		col.decl_type = pg_text_at(c, 3);
		rc = dbr_tablelist_add(&t, schema, table, &col) ? pg_nomem(err)
								: DBR_OK;
	}
	if (rc == DBR_DONE) {
		dbr_tablelist_end(&t);
		rc = DBR_OK;
	}
	dbr_tablelist_release(&t);
	pg_finish(conn);
	return rc;
}

static const struct dbr_driver pg_driver = {
	.abi_version = DBR_ABI_VERSION,
	.struct_size = sizeof(struct dbr_driver),
	.option_size = sizeof(struct dbr_option_decl),
	.lex_flags = DBR_SQLLEX_POSTGRES,
	.name = "postgres",
	.version = "0.1.0 (libpq)",
	.caps = DBR_CAP_SQL | DBR_CAP_TRANSACTIONS | DBR_CAP_READONLY |
		DBR_CAP_TRANSACTIONAL_DDL,
	.options = pg_options,
	.open = pg_open,
	.open_with_flags = pg_open_flags,
	.close = pg_close,
	.query = pg_query,
	.next = pg_next,
	.column_count = pg_column_count,
	.column_name = pg_column_name,
	.column = pg_column,
	.finish = pg_finish,
	.changes = pg_changes,
	.ping = pg_ping,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.is_alive = pg_is_alive,
	.is_clean = pg_is_clean,
	.track_writes = pg_track_writes,
	.wrote = pg_wrote,
	.list_tables = pg_list_tables,
	.listen = pg_listen,
	.wait_signal = pg_wait_signal,
	.notify = pg_notify,
	.bound = pg_bound,
	.capture = pg_capture,
	.clock_ms = pg_clock_ms,
};

DBR_DRIVER_EXPORT const struct dbr_driver *
dbr_driver_entry(const struct dbr_host *host);

/*
 * Runs once per process, under the core's lock. The C locale of every
 * category is glibc's static one (nothing allocated); LC_NUMERIC is the
 * one strtod_l reads. Without it (out of memory) no driver is returned,
 * and the core refuses the plugin.
 */
DBR_DRIVER_EXPORT const struct dbr_driver *
dbr_driver_entry(const struct dbr_host *host)
{
	pg_host = host;
	if (!pg_c_locale)
		pg_c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	return pg_c_locale ? &pg_driver : NULL; /* NULL: out of memory */
}
