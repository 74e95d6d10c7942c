/*
 * pg.h - what the files of the PostgreSQL driver share: the connection,
 * and the calls that wait on the server under a deadline (pg_wait.c).
 * Private to drivers/postgres; the plugin exports only its entry symbol.
 */
#ifndef DBR_PG_H
#define DBR_PG_H

#include <locale.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "dbroute_driver.h"
#include "sqlscan.h"
#include "stmtcache.h"

/*
 * Per-connection buffers larger than this are freed when their statement
 * ends (they grow again when needed), and a connection that sent or
 * received a value this large is closed rather than pooled: libpq keeps
 * its own input and output buffers at their largest size until PQfinish.
 */
#define PG_BUF_KEEP  ((size_t)1 << 20)
#define PG_HUGE_SIZE ((size_t)16 << 20)

/* A growable byte buffer (invariant: len <= cap; buf may be NULL). */
struct pg_buf {
	char *buf;
	size_t len, cap;
};

/* A statement prepared on the server, cached under its text and its
 * parameters' types (a prepared statement's types are fixed). */
struct pg_stmt {
	char name[24];
	bool tx_only; /* allowed inside dbr_tx only (e.g. SAVEPOINT) */
	bool stale;   /* the server did not run it: prepare it again */
	bool reads;   /* a query (SELECT ...): may be stopped when freed */
	bool leaves;  /* may leave unseen session state: closes the link */
};

/*
 * One connection. A statement's life: pg_query() sends it (c->busy), the
 * results are read by pg_advance() until libpq's end of results (NULL; in
 * pipeline mode, the Sync's result), and only then is it DBR_DONE. c->pg
 * is NULL once the connection was closed after a deadline or a protocol
 * state dbroute cannot continue from; every call then fails with
 * DBR_E_CONN and is_clean() says false.
 */
struct pg_conn {
	struct dbr_driver_conn base;
	PGconn *pg;
	struct dbr_stmtcache cache; /* of struct pg_stmt */
	struct pg_buf key;	    /* text, NUL, type tags: the cache key */
	bool closing;		    /* no DEALLOCATE while closing */
	struct dbr_error *drop_err; /* where an eviction's lost link is told */
	int drop_rc;		    /* and its category (0: link kept) */
	uint64_t serial;
	struct dbr_sqlbuf sqlbuf; /* translated statement text */
	struct pg_buf scratch;	  /* parameter bytes */
	struct pg_buf blob;	  /* the current row's decoded byteas */
	struct pg_buf names;	  /* column names, NUL-separated */
	const char **values;	  /* parameter arrays, nparams long */
	int *lengths, *formats;
	Oid *oids;
	size_t pcap;
	char *types; /* this call's parameter type tags */

	double timeout;	     /* seconds: connect, send, ping */
	double stmt_timeout; /* seconds, 0: none */
	double bound;	     /* seconds, 0: none (the core's bound()) */
	bool readonly;	     /* the source is read-only */
	int64_t deadline;    /* of the statement's waits (ns), 0: none */
	char *settings;	     /* the reported settings at open, NUL-separated */

	PGresult *cur; /* the current row */
	bool busy;     /* results not yet read to the end */
	bool pipe;     /* the statement runs in pipeline mode (tracked) */
	bool ended;    /* the statement's own final result was read */
	bool first;    /* next() returns the row query() read */
	bool row;      /* cur holds a row */
	bool blobs;    /* the current row's byteas are decoded */
	bool stale;    /* the error said: cached statement not executed */
	bool in_tx;    /* between begin() and commit() / rollback() */
	bool track;    /* track_writes() was called for the next query */
	bool wrote;    /* the statement may have written */
	bool no_xid;   /* the tracked statement assigned no transaction id */
	bool huge;     /* a value of PG_HUGE_SIZE or more went through */
	bool unclean;  /* a statement that may leave state was sent */
	bool reads;    /* the statement is a query (see pg_discard) */
	size_t ncols;
	size_t *name_at; /* offsets into names */
	size_t *blob_at; /* offsets into blob, per column */
	Oid *col_types;
	size_t ccap;
	int64_t changes;
};

extern const struct dbr_host *pg_host;

/* The C locale, made once by the entry function: numbers the server
 * writes are read with it, whatever the application's LC_NUMERIC. */
extern locale_t pg_c_locale;

/* pg_wait.c: a monotonic clock in nanoseconds, and a deadline from it. */
int64_t pg_now(void);
int64_t pg_deadline_in(double seconds);

/* Connect under the deadline of c->timeout (c->pg is set, even failed). */
int pg_wait_connect(struct pg_conn *c, const char *const *keys,
		    const char *const *vals, struct dbr_error *err);

/* Close the link now, without waiting (c->pg becomes NULL). The cached
 * statements stay until pg_close(): callers may be using one. */
void pg_kill(struct pg_conn *c);

/* Fill err from a result (or the connection); returns the category. */
int pg_fail(struct pg_conn *c, const PGresult *res, struct dbr_error *err);

/* Mark err (filled, or NULL) as a refusal no retry fixes: credentials or
 * a database the configuration names wrongly. */
void pg_refused(struct dbr_error *err);

/* Send what libpq has queued, then wait until a result can be read
 * without blocking, under c->deadline. */
int pg_wait_result(struct pg_conn *c, struct dbr_error *err);

/* Take the next result of the statement: DBR_ROW, DBR_DONE, an error. */
int pg_advance(struct pg_conn *c, struct dbr_error *err);

/*
 * End the statement. A query (SELECT ...) outside a transaction is read
 * for a small bound only, then stopped by closing the connection; any
 * other statement, and any inside a transaction, is read to its end (under
 * its deadline) so that what it did is kept, and a failure at its end is
 * logged, since nobody is left to return it to.
 */
void pg_discard(struct pg_conn *c);

/* Read the results of what was sent until their end, under an absolute
 * deadline (0: none); the first error is returned, `what` names it. */
int pg_collect(struct pg_conn *c, const char *what, const char *expect,
	       int64_t deadline, struct dbr_error *err);

/* Run a command without parameters or rows (BEGIN, COMMIT, DEALLOCATE),
 * under an absolute deadline (0: none); expect: its tag, or NULL. */
int pg_command(struct pg_conn *c, const char *sql, const char *expect,
	       int64_t deadline, struct dbr_error *err);

/* Wait up to timeout_ms for a notification on a listening connection;
 * *signalled says one came (all pending are consumed). A lost link is
 * DBR_E_CONN, and the link is closed. */
int pg_wait_notify(struct pg_conn *c, int timeout_ms, bool *signalled,
		   struct dbr_error *err);

/* A chat move's capture and the server's clock (pg_capture.c; driver
 * ABI 2.2 capture and clock_ms). */
int pg_capture_run(struct pg_conn *c, const struct dbr_capture *cap,
		   bool install, struct dbr_error *err);
int pg_clock_run(struct pg_conn *c, int64_t *ms, struct dbr_error *err);

/* The statement deadline of c: statement_timeout + timeout, or none, and
 * no later than the core's bound(). */
int64_t pg_stmt_deadline(const struct pg_conn *c);

/* PostgreSQL's limit on a statement's parameters (the protocol's). */
#define PG_MAX_PARAMS 65535

/* pg_value.c: grow b to hold need bytes (doubling; -1 on overflow or when
 * out of memory). */
int pg_grow(struct pg_buf *b, size_t need);

/* Room for n <= PG_MAX_PARAMS parameters in c's arrays (-1: no memory). */
int pg_params_reserve(struct pg_conn *c, size_t n);

/* The parameters laid out for libpq in c's arrays, their types' tags in
 * c->types; DBR_E_MISUSE for what PostgreSQL cannot take. */
int pg_bind(struct pg_conn *c, const struct dbr_value *p, size_t n,
	    struct dbr_error *err);

/* The type OID a parameter's tag is sent with (0: inferred). */
Oid pg_oid(char tag);

/* pg_value.c: a column of the current row, and the columns' names. */
int pg_columns(struct pg_conn *c, const PGresult *res, struct dbr_error *err);
void pg_value(struct pg_conn *c, size_t col, struct dbr_value *out);

#endif /* DBR_PG_H */
