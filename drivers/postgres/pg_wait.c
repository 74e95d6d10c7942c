/*
 * pg_wait.c - every wait of the PostgreSQL driver on its server, each
 * under a client-side deadline, and the reading of a statement's results.
 *
 * The connection is non-blocking (PQsetnonblocking) from the moment it is
 * made: libpq never waits by itself, the driver polls its socket with the
 * time left. Connect, send and ping are bounded by the source's `timeout`;
 * the results of a statement by `statement_timeout` + `timeout` (none when
 * statement_timeout is 0: TCP keepalives then catch a dead peer). At a
 * deadline the connection is closed, never cancelled: libpq 15's PQcancel
 * opens a new connection and waits without a bound of its own.
 *
 * A statement has ended only when libpq has no result left (PQgetResult
 * returned NULL; in pipeline mode, the Sync's result came): the implicit
 * commit of a statement outside a transaction runs after its last row and
 * its command tag, and may still fail (a deferred constraint).
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pg.h"

/* Results between two rows of one statement are a handful (its final
 * result, an error of its commit, the tracking query's, the Sync's): more
 * is a protocol state the driver does not know, and ends the link. */
#define PG_MAX_RESULTS 64

/* Freeing a statement's result before its end: at most this many more
 * results are read, for at most this long, before the link is closed. */
#define PG_DISCARD_RESULTS 1024
#define PG_DISCARD_SECONDS 0.05

int64_t pg_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t pg_deadline_in(double seconds)
{
	return pg_now() + (int64_t)(seconds * 1e9);
}

int64_t pg_stmt_deadline(const struct pg_conn *c)
{
	int64_t by = 0, bound;

	if (c->stmt_timeout > 0)
		by = pg_deadline_in(c->stmt_timeout + c->timeout);
	if (c->bound > 0) {
		bound = pg_deadline_in(c->bound);
		if (!by || bound < by)
			by = bound;
	}
	return by;
}

/*
 * Wait until fd is ready for events: 1 when it is, 0 when the deadline
 * (0: none) passed first, -1 on an error of poll itself.
 */
static int pg_poll(int fd, short events, int64_t deadline)
{
	struct pollfd p = { fd, events, 0 };
	int64_t left;
	int ms = -1, n;

	if (fd < 0)
		return -1;
	for (;;) {
		if (deadline) {
			left = deadline - pg_now();
			if (left <= 0)
				return 0;
			left = left / 1000000 + 1;
			ms = left > INT_MAX ? INT_MAX : (int)left;
		}
		n = poll(&p, 1, ms);
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/* The dbroute category of a failure, from SQLSTATE and the link's state. */
static int pg_category(PGconn *pg, const char *state)
{
	if (PQstatus(pg) == CONNECTION_BAD)
		return DBR_E_CONN;
	if (!state)
		return DBR_E_STMT;
	if (!strncmp(state, "23", 2))
		return DBR_E_CONSTRAINT;
	if (!strncmp(state, "08", 2) || !strncmp(state, "57P0", 4))
		return DBR_E_CONN;
	if (!strcmp(state, "25006"))
		return DBR_E_READONLY;
	if (!strcmp(state, "57014") || !strcmp(state, "55P03"))
		return DBR_E_TIMEOUT;
	if (!strcmp(state, "53200"))
		return DBR_E_NOMEM;
	/* A chat move's fence refused the write (pg_capture.c). */
	if (!strcmp(state, "DR001"))
		return DBR_E_MOVING;
	return DBR_E_STMT;
}

/* The length of msg without libpq's trailing newline. */
static int pg_trimmed(const char *msg, size_t n)
{
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	return n > INT_MAX ? INT_MAX : (int)n;
}

int pg_fail(struct pg_conn *c, const PGresult *res, struct dbr_error *err)
{
	const char *state =
		res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorMessage(res) : "";
	int code;

	if (!c->pg) {
		pg_host->set_error(err, DBR_E_CONN, 0, NULL,
				   "connection closed");
		return DBR_E_CONN;
	}
	if (!msg || !*msg)
		msg = PQerrorMessage(c->pg);
	code = pg_category(c->pg, state);
	pg_host->set_error(err, code, 0, state, "%.*s",
			   pg_trimmed(msg, strlen(msg)), msg);
	return code;
}

/* The link failed under a wait: a connection failure, libpq's message. */
static void pg_lost(struct pg_conn *c, struct dbr_error *err)
{
	const char *msg = PQerrorMessage(c->pg);

	pg_host->set_error(err, DBR_E_CONN, 0, NULL, "%.*s",
			   pg_trimmed(msg, strlen(msg)), msg);
}

void pg_refused(struct dbr_error *err)
{
	if (err) {
		err->retryable = false;
		err->hint = "fix the credentials or database in the "
			    "configuration";
	}
}

/*
 * Where the SQLSTATE sits in a message libpq formatted verbosely
 * ("FATAL:  28P01: password ..."), or NULL. libpq keeps no field of a
 * refused connection's error, only this text; the severity before it may
 * be translated, the code never is.
 */
static const char *pg_state_in(const char *msg)
{
	const char *p;
	int i;

	for (p = strstr(msg, ":  "); p; p = strstr(p + 1, ":  ")) {
		for (i = 3; i < 8; i++)
			if (!((p[i] >= '0' && p[i] <= '9') ||
			      (p[i] >= 'A' && p[i] <= 'Z')))
				break;
		if (i == 8 && p[8] == ':' && p[9] == ' ')
			return p + 3;
	}
	return NULL;
}

/*
 * A connection the server refused: its message as libpq's default would
 * give it (the code and the LOCATION line of the verbose one taken out),
 * with the SQLSTATE. A role, a password or a database that does not
 * exist fails the same way until the configuration changes.
 */
static void pg_refusal(struct pg_conn *c, struct dbr_error *err)
{
	const char *msg = PQerrorMessage(c->pg);
	const char *at = pg_state_in(msg);
	const char *end;
	char state[6];

	if (!at) {
		pg_host->set_error(err, DBR_E_CONN, 0, NULL, "%.*s",
				   pg_trimmed(msg, strlen(msg)), msg);
		return;
	}
	memcpy(state, at, 5);
	state[5] = '\0';
	end = strstr(at, "\nLOCATION:");
	if (!end)
		end = at + strlen(at);
	pg_host->set_error(err, DBR_E_CONN, 0, state, "%.*s%.*s",
			   (int)(at - msg), msg,
			   pg_trimmed(at + 7, (size_t)(end - at - 7)), at + 7);
	if (!strcmp(state, "28P01") || !strcmp(state, "28000") ||
	    !strcmp(state, "3D000"))
		pg_refused(err);
}

void pg_kill(struct pg_conn *c)
{
	PQclear(c->cur);
	c->cur = NULL;
	c->row = false;
	c->busy = false;
	c->pipe = false;
	if (!c->pg)
		return;
	/*
	 * The statement cache is left alone: this runs inside its users
	 * (a DEALLOCATE from the cache's own eviction, or before a cached
	 * statement is prepared again), which must not see their entries
	 * freed under them. The prepared statements die with the session;
	 * with c->pg NULL every later call fails, is_clean() says false and
	 * the core closes the connection: pg_close() clears the cache.
	 */
	/* Non-blocking: the goodbye is sent only if it fits at once. */
	PQsetnonblocking(c->pg, 1);
	PQfinish(c->pg);
	c->pg = NULL;
}

static int pg_timed_out(struct pg_conn *c, struct dbr_error *err)
{
	pg_kill(c);
	pg_host->set_error(err, DBR_E_TIMEOUT, 0, NULL,
			   "no answer from the server in time (timeout %g s, "
			   "statement_timeout %g s); connection closed",
			   c->timeout, c->stmt_timeout);
	return DBR_E_TIMEOUT;
}

/* Why no file descriptor can be had now, or NULL when one can. */
static const char *pg_out_of_fds(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd >= 0) {
		close(fd);
		return NULL;
	}
	if (errno == EMFILE)
		return "no file descriptor left in this process (EMFILE)";
	if (errno == ENFILE)
		return "no file descriptor left in the system (ENFILE)";
	return NULL;
}

static int pg_connect_failed(struct pg_conn *c, bool timed_out,
			     struct dbr_error *err)
{
	const char *why = pg_out_of_fds();

	if (why) {
		pg_host->set_error(err, DBR_E_RESOURCE, 0, NULL,
				   "cannot connect: %s", why);
		return DBR_E_RESOURCE;
	}
	if (timed_out) {
		pg_host->set_error(err, DBR_E_CONN, 0, NULL,
				   "connection timeout expired after %g s",
				   c->timeout);
		return DBR_E_CONN;
	}
	pg_refusal(c, err);
	return DBR_E_CONN; /* whatever libpq says: no connection */
}

int pg_wait_connect(struct pg_conn *c, const char *const *keys,
		    const char *const *vals, struct dbr_error *err)
{
	int64_t deadline = pg_deadline_in(c->timeout);
	PostgresPollingStatusType st;
	int ready;

	c->pg = PQconnectStartParams(keys, vals, 1);
	if (!c->pg) {
		pg_host->set_error(err, DBR_E_NOMEM, 0, NULL, "out of memory");
		return DBR_E_NOMEM;
	}
	/* While connecting only: a refusal's SQLSTATE (pg_refusal()). */
	PQsetErrorVerbosity(c->pg, PQERRORS_VERBOSE);
	if (PQstatus(c->pg) == CONNECTION_BAD)
		return pg_connect_failed(c, false, err);
	/* Each round waits, or makes progress: the deadline bounds it. */
	for (;;) {
		st = PQconnectPoll(c->pg);
		if (st == PGRES_POLLING_OK)
			break;
		if (st == PGRES_POLLING_FAILED)
			return pg_connect_failed(c, false, err);
		ready = pg_poll(PQsocket(c->pg),
				st == PGRES_POLLING_READING ? POLLIN : POLLOUT,
				deadline);
		if (ready == 0)
			return pg_connect_failed(c, true, err);
		if (ready < 0)
			return pg_connect_failed(c, false, err);
	}
	PQsetErrorVerbosity(c->pg, PQERRORS_DEFAULT);
	if (PQsetnonblocking(c->pg, 1))
		return pg_connect_failed(c, false, err);
	return DBR_OK;
}

int pg_wait_result(struct pg_conn *c, struct dbr_error *err)
{
	int64_t deadline, send_by;
	int flushing, ready;

	for (;;) {
		flushing = PQflush(c->pg) > 0;
		if (PQstatus(c->pg) == CONNECTION_BAD)
			return DBR_OK; /* PQgetResult reports it at once */
		if (!flushing && !PQisBusy(c->pg))
			return DBR_OK;
		/* Sending gets `timeout` to make progress, whatever the
		 * statement's own deadline. */
		deadline = c->deadline;
		if (flushing) {
			send_by = pg_deadline_in(c->timeout);
			if (!deadline || send_by < deadline)
				deadline = send_by;
		}
		ready = pg_poll(PQsocket(c->pg),
				(short)(POLLIN | (flushing ? POLLOUT : 0)),
				deadline);
		if (ready == 0)
			return pg_timed_out(c, err);
		if (ready < 0 || !PQconsumeInput(c->pg)) {
			if (PQstatus(c->pg) == CONNECTION_BAD)
				return DBR_OK;
			/* A lost link, whatever libpq's state says yet. */
			pg_lost(c, err);
			pg_kill(c);
			return DBR_E_CONN;
		}
	}
}

/* Whether an error says that the cached statement was not executed: its
 * plan went stale (0A000, raised by the plan cache only for this) or it
 * is gone from the server (26000). */
static bool pg_is_stale(const PGresult *res)
{
	const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *fn = PQresultErrorField(res, PG_DIAG_SOURCE_FUNCTION);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	if (!st)
		return false;
	if (!strcmp(st, "26000"))
		return true;
	return !strcmp(st, "0A000") &&
	       ((fn && !strcmp(fn, "RevalidateCachedQuery")) ||
		(msg && !strcmp(msg, "cached plan must not change result "
				     "type")));
}

static int pg_no_copy(struct dbr_error *err)
{
	pg_host->set_error(err, DBR_E_UNSUPPORTED, 0, NULL,
			   "COPY is not supported through dbr_query");
	return DBR_E_UNSUPPORTED;
}

/* The statement's own final result (a command tag): what it changed. */
static void pg_final(struct pg_conn *c, PGresult *res)
{
	c->ended = true;
	c->changes = strtoll(PQcmdTuples(res), NULL, 10);
}

/*
 * One result that is not a row. Returns the statement's status so far
 * (rc: DBR_DONE, or the first error), or -1 when the link was closed.
 */
static int pg_result(struct pg_conn *c, PGresult *res, int rc,
		     struct dbr_error *err)
{
	switch (PQresultStatus(res)) {
	case PGRES_TUPLES_OK:
		if (c->ended && c->pipe && rc == DBR_DONE &&
		    PQntuples(res) == 1 && PQnfields(res) == 1)
			c->no_xid = PQgetvalue(res, 0, 0)[0] == 'f';
		if (c->ended)
			return rc;
		if (!c->ncols && rc == DBR_DONE && pg_columns(c, res, err))
			rc = DBR_E_NOMEM;
		pg_final(c, res);
		return rc;
	case PGRES_COMMAND_OK:
		if (!c->ended)
			pg_final(c, res);
		return rc;
	case PGRES_EMPTY_QUERY:
		/* Blanks and comments only: refused as on SQLite. */
		if (c->ended)
			return rc;
		pg_final(c, res);
		if (rc != DBR_DONE)
			return rc;
		pg_host->set_error(err, DBR_E_STMT, 0, NULL, "empty statement");
		return DBR_E_STMT;
	case PGRES_COPY_IN:
		/* Refused: the server ends the COPY with an error, which
		 * follows; nothing was written. */
		c->ended = true;
		if (PQputCopyEnd(c->pg, "COPY is not supported through "
					"dbr_query") != 1)
			return -1;
		return rc == DBR_DONE ? pg_no_copy(err) : rc;
	case PGRES_COPY_OUT:
	case PGRES_COPY_BOTH: return -1;
	case PGRES_PIPELINE_SYNC:
		PQexitPipelineMode(c->pg);
		c->pipe = false;
		c->busy = false;
		return rc;
	case PGRES_PIPELINE_ABORTED: return rc;
	default:
		if (rc == DBR_DONE) {
			rc = pg_fail(c, res, err);
			c->stale = !c->ended && pg_is_stale(res);
		}
		c->ended = true;
		return rc;
	}
}

/* End of results (NULL): the end in normal mode, the end of one query of
 * the pipeline otherwise. */
static int pg_null(struct pg_conn *c, int rc, struct dbr_error *err)
{
	if (!c->pipe) {
		c->busy = false;
		return rc;
	}
	if (PQstatus(c->pg) != CONNECTION_BAD)
		return rc;
	if (rc == DBR_DONE)
		rc = pg_fail(c, NULL, err);
	pg_kill(c);
	return rc;
}

int pg_advance(struct pg_conn *c, struct dbr_error *err)
{
	int rc = DBR_DONE, i, w;
	PGresult *res;

	PQclear(c->cur);
	c->cur = NULL;
	c->row = false;
	c->blobs = false;
	for (i = 0; c->busy && i < PG_MAX_RESULTS; i++) {
		w = pg_wait_result(c, err);
		if (w)
			return w;
		if (!c->busy)
			break;
		res = PQgetResult(c->pg);
		if (!res) {
			rc = pg_null(c, rc, err);
			continue;
		}
		if (PQresultStatus(res) == PGRES_SINGLE_TUPLE && !c->ended &&
		    rc == DBR_DONE) {
			if (!c->ncols && pg_columns(c, res, err)) {
				rc = DBR_E_NOMEM;
			} else {
				c->cur = res;
				c->row = true;
				return DBR_ROW;
			}
		}
		w = pg_result(c, res, rc, err);
		PQclear(res);
		if (w < 0) {
			pg_kill(c);
			return rc == DBR_DONE ? pg_no_copy(err) : rc;
		}
		rc = w;
		if (!c->pg)
			return rc;
	}
	if (c->busy) {
		pg_kill(c);
		pg_host->set_error(err, DBR_E_CONN, 0, NULL,
				   "unexpected results from the server; "
				   "connection closed");
		return DBR_E_CONN;
	}
	if (rc == DBR_DONE && c->no_xid)
		c->wrote = false;
	return rc;
}

void pg_discard(struct pg_conn *c)
{
	struct dbr_error err;
	int64_t by;
	int i, rc;

	PQclear(c->cur);
	c->cur = NULL;
	c->row = false;
	c->first = false;
	if (!c->busy)
		return;
	if (!c->reads || c->in_tx) {
		/* Its effects are kept, and a transaction goes on: read to
		 * the end, under the statement's own deadline. */
		while ((rc = pg_advance(c, &err)) == DBR_ROW)
			;
		if (rc != DBR_DONE)
			pg_host->log(c->base.src, DBR_LOG_WARN,
				     "a statement whose result was freed "
				     "before its end failed: %s",
				     err.message);
		return;
	}
	by = pg_deadline_in(c->timeout < PG_DISCARD_SECONDS
				    ? c->timeout
				    : PG_DISCARD_SECONDS);
	if (!c->deadline || by < c->deadline)
		c->deadline = by;
	for (i = 0; c->busy && i < PG_DISCARD_RESULTS; i++)
		if (pg_advance(c, NULL) != DBR_ROW)
			break;
	/* Not at its end: closing the link stops the query on the server
	 * (it fails on its next write to the socket). */
	if (c->busy)
		pg_kill(c);
}

int pg_collect(struct pg_conn *c, const char *what, const char *expect,
	       int64_t deadline, struct dbr_error *err)
{
	int64_t saved = c->deadline;
	int rc = DBR_OK, i, w;
	PGresult *res;

	c->deadline = deadline;
	for (i = 0; i < PG_MAX_RESULTS; i++) {
		w = pg_wait_result(c, err);
		if (w) {
			c->deadline = saved;
			return w;
		}
		res = PQgetResult(c->pg);
		if (!res) {
			c->deadline = saved;
			return rc;
		}
		switch (PQresultStatus(res)) {
		case PGRES_COMMAND_OK:
		case PGRES_TUPLES_OK:
		case PGRES_EMPTY_QUERY:
			if (!rc && expect && strcmp(PQcmdStatus(res), expect)) {
				pg_host->set_error(
					err, DBR_E_STMT, 0, NULL,
					"%s ended as %s: an earlier statement "
					"of the transaction failed",
					what, PQcmdStatus(res));
				rc = DBR_E_STMT;
			}
			break;
		default:
			if (!rc)
				rc = pg_fail(c, res, err);
		}
		PQclear(res);
	}
	pg_kill(c);
	c->deadline = saved;
	pg_host->set_error(err, DBR_E_CONN, 0, NULL,
			   "unexpected results from the server; connection "
			   "closed");
	return DBR_E_CONN;
}

int pg_command(struct pg_conn *c, const char *sql, const char *expect,
	       int64_t deadline, struct dbr_error *err)
{
	if (!c->pg || !PQsendQuery(c->pg, sql))
		return pg_fail(c, NULL, err);
	return pg_collect(c, sql, expect, deadline, err);
}

int pg_wait_notify(struct pg_conn *c, int timeout_ms, bool *signalled,
		   struct dbr_error *err)
{
	int64_t deadline = pg_deadline_in(timeout_ms / 1000.0);
	PGnotify *n;
	int ready;

	*signalled = false;
	for (;;) {
		if (!c->pg || !PQconsumeInput(c->pg) ||
		    PQstatus(c->pg) == CONNECTION_BAD) {
			pg_lost(c, err);
			pg_kill(c);
			return DBR_E_CONN;
		}
		while ((n = PQnotifies(c->pg))) {
			*signalled = true;
			PQfreemem(n);
		}
		if (*signalled)
			return DBR_OK;
		ready = pg_poll(PQsocket(c->pg), POLLIN, deadline);
		if (ready == 0)
			return DBR_OK;
		if (ready < 0) {
			pg_lost(c, err);
			pg_kill(c);
			return DBR_E_CONN;
		}
	}
}
