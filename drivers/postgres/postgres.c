/*
 * postgres.c - the PostgreSQL driver plugin (libpq), plugins.d/postgres.so.
 *
 * Statements are prepared once per connection and reused (a bounded LRU
 * keyed by the statement's text and its parameters' types), run with
 * single-row mode so rows stream, and their text results are mapped to
 * dbroute values by column type.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "dbroute_driver.h"
#include "sqlscan.h"
#include "stmtcache.h"

/* Type OIDs of pg_type.h, stable across PostgreSQL versions. */
#define PG_BOOLOID   16
#define PG_BYTEAOID  17
#define PG_INT8OID   20
#define PG_INT2OID   21
#define PG_INT4OID   23
#define PG_OIDOID    26
#define PG_FLOAT4OID 700
#define PG_FLOAT8OID 701

/* A growable byte buffer (invariant: len <= cap; buf may be NULL). */
struct pg_buf {
	char *buf;
	size_t len, cap;
};

/* A statement prepared on the server, cached under its text and its
 * parameters' types (a prepared statement's types are fixed). */
struct pg_stmt {
	char name[24];
};

struct pg_conn {
	struct dbr_driver_conn base;
	PGconn *pg;
	struct dbr_stmtcache cache; /* of struct pg_stmt */
	struct pg_buf key;	    /* text, NUL, type tags: the cache key */
	bool closing;		    /* no DEALLOCATE while closing */
	uint64_t serial;
	struct dbr_sqlbuf sqlbuf; /* translated statement text */
	struct pg_buf scratch;	  /* parameter bytes */
	struct pg_buf blob;	  /* the decoded bytea of column() */
	struct pg_buf names;	  /* column names, NUL-separated */
	const char **values;	  /* parameter arrays, nparams long */
	int *lengths, *formats;
	Oid *oids;
	size_t *offsets;
	size_t pcap;
	char *types;   /* this call's parameter type tags */
	PGresult *cur; /* the current row, or the final result */
	bool busy;     /* results not yet read to the end */
	bool first;    /* next() returns the row query() read */
	bool row;      /* cur holds a row */
	size_t ncols;
	size_t *name_at; /* offsets into names */
	Oid *col_types;
	size_t ccap;
	int64_t changes;
};

static const struct dbr_host *pg_host;
static const struct dbr_driver pg_driver;

static const struct dbr_option_decl pg_options[] = {
	{ "conninfo", DBR_OPT_TEXT, 0, 0, 0, "", NULL,
	  "a libpq connection string" },
	{ "password_env", DBR_OPT_TEXT, 0, 0, 0, NULL, NULL,
	  "the environment variable holding the password" },
	{ "statement_timeout", DBR_OPT_SECONDS, 0, 0, 86400, "0", NULL,
	  "the longest a statement may run (0: no limit)" },
	{ NULL, 0, 0, 0, 0, NULL, NULL, NULL }
};

static struct pg_conn *pg_conn(struct dbr_driver_conn *c)
{
	/* Checked downcast: the core hands a driver only its own
	 * connections, so a mismatch is a broken invariant. */
	if (!c || c->driver != &pg_driver)
		abort();
	return (struct pg_conn *)c;
}

static int pg_grow(struct pg_buf *b, size_t need)
{
	size_t cap = b->cap ? b->cap : 256;
	char *p;

	if (need <= b->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	p = realloc(b->buf, cap);
	if (!p)
		return -1;
	b->buf = p;
	b->cap = cap;
	return 0;
}

static int pg_nomem(struct dbr_error *err)
{
	pg_host->set_error(err, DBR_E_NOMEM, 0, NULL, "out of memory");
	return DBR_E_NOMEM;
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
	return DBR_E_STMT;
}

/* The message without libpq's trailing newline. */
static int pg_fail(struct pg_conn *c, const PGresult *res,
		   struct dbr_error *err)
{
	const char *state =
		res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorMessage(res) : "";
	int code;
	size_t n;

	if (!msg || !*msg)
		msg = PQerrorMessage(c->pg);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	code = pg_category(c->pg, state);
	pg_host->set_error(err, code, 0, state, "%.*s", (int)n, msg);
	return code;
}

/* Run a command without parameters or rows (BEGIN, SET, DEALLOCATE). */
static int pg_command(struct pg_conn *c, const char *sql, const char *expect,
		      struct dbr_error *err)
{
	PGresult *res = PQexec(c->pg, sql);
	int rc = DBR_OK;

	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		rc = pg_fail(c, res, err);
	} else if (expect && strcmp(PQcmdStatus(res), expect)) {
		pg_host->set_error(err, DBR_E_STMT, 0, NULL,
				   "%s ended as %s: an earlier statement of "
				   "the transaction failed",
				   sql, PQcmdStatus(res));
		rc = DBR_E_STMT;
	}
	PQclear(res);
	return rc;
}

/* An evicted statement is deallocated on the server too. */
static void pg_drop(void *ctx, void *data)
{
	struct pg_conn *c = ctx;
	struct pg_stmt *st = data;
	char sql[48];

	if (!c->closing) {
		snprintf(sql, sizeof(sql), "DEALLOCATE %s", st->name);
		pg_command(c, sql, NULL, NULL);
	}
	free(st);
}

static void pg_close(struct dbr_driver_conn *conn)
{
	struct pg_conn *c = pg_conn(conn);

	PQclear(c->cur);
	c->closing = true;
	dbr_stmtcache_clear(&c->cache);
	PQfinish(c->pg);
	dbr_sqlbuf_free(&c->sqlbuf);
	free(c->key.buf);
	free(c->scratch.buf);
	free(c->blob.buf);
	free(c->names.buf);
	free(c->values);
	free(c->lengths);
	free(c->formats);
	free(c->oids);
	free(c->offsets);
	free(c->types);
	free(c->name_at);
	free(c->col_types);
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

static int pg_connect(struct pg_conn *c, const struct dbr_source_config *src,
		      struct dbr_error *err)
{
	const char *keys[5], *vals[5];
	const char *pwenv = pg_host->opt_text(src, "password_env");
	double timeout = pg_host->opt_seconds(src, "timeout");
	int secs = (int)timeout + (timeout > (int)timeout); /* rounded up */
	char tmo[24];
	int n = 0;

	keys[n] = "dbname";
	vals[n++] = pg_host->opt_text(src, "conninfo");
	/* libpq takes whole seconds, and treats 1 as 2. */
	snprintf(tmo, sizeof(tmo), "%d", secs < 2 ? 2 : secs);
	keys[n] = "connect_timeout";
	vals[n++] = tmo;
	keys[n] = "fallback_application_name";
	vals[n++] = "dbroute";
	if (pwenv) {
		const char *pw = getenv(pwenv);

		if (!pw) {
			pg_host->set_error(err, DBR_E_CONN, 0, NULL,
					   "password_env: environment "
					   "variable '%s' is not set",
					   pwenv);
			return DBR_E_CONN;
		}
		keys[n] = "password";
		vals[n++] = pw;
	}
	keys[n] = NULL;
	vals[n] = NULL;
	c->pg = PQconnectdbParams(keys, vals, 1);
	if (!c->pg)
		return pg_nomem(err);
	if (PQstatus(c->pg) != CONNECTION_OK)
		return pg_fail(c, NULL, err);
	PQsetNoticeProcessor(c->pg, pg_notice, c);
	return DBR_OK;
}

static int pg_open(const struct dbr_source_config *src,
		   struct dbr_driver_conn **out, struct dbr_error *err)
{
	double stmt_timeout = pg_host->opt_seconds(src, "statement_timeout");
	struct pg_conn *c = calloc(1, sizeof(*c));
	char set[64];
	int rc;

	if (!c)
		return pg_nomem(err);
	c->base.driver = &pg_driver;
	c->base.src = src;
	c->cache.drop = pg_drop;
	c->cache.ctx = c;
	rc = pg_connect(c, src, err);
	if (!rc && pg_host->opt_bool(src, "readonly"))
		rc = pg_command(c, "SET default_transaction_read_only = on",
				NULL, err);
	if (!rc && stmt_timeout > 0) {
		snprintf(set, sizeof(set), "SET statement_timeout = %.0f",
			 stmt_timeout * 1000 < 1 ? 1 : stmt_timeout * 1000);
		rc = pg_command(c, set, NULL, err);
	}
	if (rc) {
		pg_close(&c->base);
		return rc;
	}
	*out = &c->base;
	return DBR_OK;
}

static char pg_tag(const struct dbr_value *v)
{
	switch (v->type) {
	case DBR_TYPE_INT64: return 'i';
	case DBR_TYPE_DOUBLE: return 'd';
	case DBR_TYPE_TEXT: return 't';
	case DBR_TYPE_BLOB: return 'b';
	default: return 'n';
	}
}

static Oid pg_oid(char tag)
{
	switch (tag) {
	case 'i': return PG_INT8OID;
	case 'd': return PG_FLOAT8OID;
	case 'b': return PG_BYTEAOID;
	default: return 0; /* text and NULL: the server infers the type */
	}
}

static int pg_params_reserve(struct pg_conn *c, size_t n)
{
	size_t cap = c->pcap ? c->pcap : 16;

	if (n <= c->pcap)
		return 0;
	while (cap < n)
		cap *= 2;
#define GROW(field)                                                            \
	do {                                                                   \
		void *p = realloc(c->field, cap * sizeof(*c->field));          \
		if (!p)                                                        \
			return -1;                                             \
		c->field = p;                                                  \
	} while (0)
	GROW(values);
	GROW(lengths);
	GROW(formats);
	GROW(oids);
	GROW(offsets);
	GROW(types);
#undef GROW
	c->pcap = cap;
	return 0;
}

/* Prepare on the server and cache it under c->key (keylen bytes). */
static int pg_prepare(struct pg_conn *c, const char *sql, size_t n,
		      size_t keylen, struct pg_stmt **out,
		      struct dbr_error *err)
{
	struct dbr_sqlscan scan;
	struct pg_stmt *st;
	PGresult *res;
	size_t i;
	int rc;

	pg_host->log(c->base.src, DBR_LOG_DEBUG,
		     "statement cache miss: preparing '%.200s'", sql);
	if (dbr_sqlscan(sql, &c->sqlbuf, &scan))
		return pg_nomem(err);
	if (scan.trailing) {
		pg_host->set_error(err, DBR_E_STMT, 0, NULL,
				   "text after the first statement: '%.60s' "
				   "(one call runs one statement)",
				   scan.trailing);
		return DBR_E_STMT;
	}
	if (scan.nparams != n) {
		pg_host->set_error(err, DBR_E_MISUSE, 0, NULL,
				   "statement has %zu placeholders but %zu "
				   "parameters were given",
				   scan.nparams, n);
		return DBR_E_MISUSE;
	}
	st = malloc(sizeof(*st));
	if (!st)
		return pg_nomem(err);
	for (i = 0; i < n; i++)
		c->oids[i] = pg_oid(c->types[i]);
	snprintf(st->name, sizeof(st->name), "dbr_%llu",
		 (unsigned long long)++c->serial);
	res = PQprepare(c->pg, st->name, c->sqlbuf.buf, (int)n, c->oids);
	rc = PQresultStatus(res) == PGRES_COMMAND_OK ? DBR_OK
						     : pg_fail(c, res, err);
	PQclear(res);
	if (!rc && !dbr_stmtcache_add(&c->cache, c->key.buf, keylen, st)) {
		pg_drop(c, st); /* deallocates it on the server */
		return pg_nomem(err);
	}
	if (rc) {
		free(st);
		return rc;
	}
	*out = st;
	return DBR_OK;
}

static int pg_lookup(struct pg_conn *c, const char *sql, size_t n,
		     struct pg_stmt **out, struct dbr_error *err)
{
	size_t len = strlen(sql), keylen = len + 1 + n;
	struct dbr_stmtcache_entry *e;

	if (pg_grow(&c->key, keylen + 1))
		return pg_nomem(err);
	memcpy(c->key.buf, sql, len + 1);
	if (n)
		memcpy(c->key.buf + len + 1, c->types, n);
	e = dbr_stmtcache_find(&c->cache, c->key.buf, keylen);
	if (e) {
		*out = e->data;
		return DBR_OK;
	}
	return pg_prepare(c, sql, n, keylen, out, err);
}

static void pg_put_be64(char *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (char)(v & 0xff);
}

/* The bytes the parameters need once laid out; refuses what libpq and
 * PostgreSQL cannot take. */
static int pg_measure(struct pg_conn *c, const struct dbr_value *p, size_t n,
		      size_t *need, struct dbr_error *err)
{
	size_t i;

	*need = 1;
	for (i = 0; i < n; i++) {
		c->types[i] = pg_tag(&p[i]);
		if (p[i].type == DBR_TYPE_TEXT) {
			if (p[i].len && memchr(p[i].u.s, '\0', p[i].len)) {
				pg_host->set_error(err, DBR_E_MISUSE, 0, NULL,
						   "parameter %zu: PostgreSQL "
						   "text cannot hold a NUL "
						   "byte (send a blob)",
						   i + 1);
				return DBR_E_MISUSE;
			}
			*need += p[i].len + 1;
		} else if (p[i].type == DBR_TYPE_BLOB) {
			*need += p[i].len;
		} else if (p[i].type == DBR_TYPE_INT64 ||
			   p[i].type == DBR_TYPE_DOUBLE) {
			*need += 8;
		} else if (p[i].type != DBR_TYPE_NULL) {
			pg_host->set_error(err, DBR_E_MISUSE, 0, NULL,
					   "parameter %zu has unknown type %d",
					   i + 1, p[i].type);
			return DBR_E_MISUSE;
		}
	}
	return DBR_OK;
}

/*
 * Lay the parameters out for libpq: text as NUL-terminated text of unknown
 * type (the server infers it), numbers and blobs binary with their types.
 */
static int pg_bind(struct pg_conn *c, const struct dbr_value *p, size_t n,
		   struct dbr_error *err)
{
	size_t i, need;
	uint64_t bits;
	char *at;
	int rc = pg_measure(c, p, n, &need, err);

	if (rc)
		return rc;
	if (pg_grow(&c->scratch, need))
		return pg_nomem(err);
	at = c->scratch.buf;
	for (i = 0; i < n; i++) {
		c->values[i] = at;
		c->formats[i] = 1; /* binary */
		c->lengths[i] = p[i].type == DBR_TYPE_INT64 ||
						p[i].type == DBR_TYPE_DOUBLE
					? 8
					: (int)p[i].len;
		if (p[i].type == DBR_TYPE_NULL) {
			c->values[i] = NULL;
			c->formats[i] = 0;
		} else if (p[i].type == DBR_TYPE_INT64) {
			pg_put_be64(at, (uint64_t)p[i].u.i);
			at += 8;
		} else if (p[i].type == DBR_TYPE_DOUBLE) {
			memcpy(&bits, &p[i].u.d, 8);
			pg_put_be64(at, bits);
			at += 8;
		} else {
			if (p[i].len)
				memcpy(at, p[i].u.b, p[i].len);
			if (p[i].type == DBR_TYPE_TEXT) {
				at[p[i].len] = '\0';
				c->formats[i] = 0; /* text, type inferred */
				at++;
			}
			at += p[i].len;
		}
	}
	return DBR_OK;
}

/* Read the rest of a statement's results, so the link is free again. */
static void pg_drain(struct pg_conn *c)
{
	PGresult *res;

	PQclear(c->cur);
	c->cur = NULL;
	c->row = false;
	while (c->busy && (res = PQgetResult(c->pg)))
		PQclear(res);
	c->busy = false;
}

/* Remember the columns' names and types from the first result. */
static int pg_columns(struct pg_conn *c, const PGresult *res,
		      struct dbr_error *err)
{
	size_t i, n = (size_t)PQnfields(res), total = 0;

	if (n > c->ccap) {
		size_t *at = realloc(c->name_at, n * sizeof(*at));
		Oid *ty = at ? realloc(c->col_types, n * sizeof(*ty)) : NULL;

		if (at)
			c->name_at = at;
		if (!ty)
			return pg_nomem(err);
		c->col_types = ty;
		c->ccap = n;
	}
	for (i = 0; i < n; i++)
		total += strlen(PQfname(res, (int)i)) + 1;
	if (pg_grow(&c->names, total + 1))
		return pg_nomem(err);
	c->names.len = 0;
	for (i = 0; i < n; i++) {
		const char *name = PQfname(res, (int)i);
		size_t len = strlen(name) + 1;

		c->name_at[i] = c->names.len;
		memcpy(c->names.buf + c->names.len, name, len);
		c->names.len += len;
		c->col_types[i] = PQftype(res, (int)i);
	}
	c->ncols = n;
	return DBR_OK;
}

/*
 * Take the next result: a row (DBR_ROW), the end (DBR_DONE), an error.
 * The first result of a statement also names its columns.
 */
static int pg_step(struct pg_conn *c, bool first, struct dbr_error *err)
{
	PGresult *res;
	int rc;

	PQclear(c->cur);
	c->cur = NULL;
	c->row = false;
	if (!c->busy)
		return DBR_DONE;
	res = PQgetResult(c->pg);
	if (first &&
	    (PQresultStatus(res) == PGRES_SINGLE_TUPLE ||
	     PQresultStatus(res) == PGRES_TUPLES_OK) &&
	    pg_columns(c, res, err)) {
		PQclear(res);
		pg_drain(c);
		return DBR_E_NOMEM;
	}
	switch (PQresultStatus(res)) {
	case PGRES_SINGLE_TUPLE:
		c->cur = res;
		c->row = true;
		return DBR_ROW;
	case PGRES_TUPLES_OK:
	case PGRES_COMMAND_OK:
		c->changes = strtoll(PQcmdTuples(res), NULL, 10);
		PQclear(res);
		pg_drain(c);
		return DBR_DONE;
	default:
		rc = pg_fail(c, res, err);
		PQclear(res);
		pg_drain(c);
		return rc;
	}
}

static int pg_send(struct pg_conn *c, const struct pg_stmt *e, size_t n,
		   struct dbr_error *err)
{
	if (!PQsendQueryPrepared(c->pg, e->name, (int)n, c->values, c->lengths,
				 c->formats, 0))
		return pg_fail(c, NULL, err);
	c->busy = true;
	if (!PQsetSingleRowMode(c->pg)) {
		pg_drain(c);
		pg_host->set_error(err, DBR_E_STMT, 0, NULL,
				   "cannot stream rows (single-row mode)");
		return DBR_E_STMT;
	}
	return DBR_OK;
}

static void pg_finish(struct dbr_driver_conn *conn)
{
	pg_drain(pg_conn(conn));
}

static int pg_query(struct dbr_driver_conn *conn, const char *sql,
		    const struct dbr_value *params, size_t nparams,
		    struct dbr_error *err)
{
	struct pg_conn *c = pg_conn(conn);
	struct pg_stmt *e = NULL;
	int rc;

	pg_drain(c);
	c->changes = 0;
	c->ncols = 0;
	if (pg_params_reserve(c, nparams))
		return pg_nomem(err);
	rc = pg_bind(c, params, nparams, err);
	if (!rc)
		rc = pg_lookup(c, sql, nparams, &e, err);
	if (!rc)
		rc = pg_send(c, e, nparams, err);
	if (rc)
		return rc;
	rc = pg_step(c, true, err);
	if (rc != DBR_ROW && rc != DBR_DONE)
		return rc;
	c->first = true;
	return DBR_OK;
}

static int pg_next(struct dbr_driver_conn *conn, struct dbr_error *err)
{
	struct pg_conn *c = pg_conn(conn);

	if (c->first) {
		c->first = false;
		return c->row ? DBR_ROW : DBR_DONE;
	}
	return pg_step(c, false, err);
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

static int pg_hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* bytea's hex output ("\x0a1b...") into the connection's blob buffer. */
static bool pg_bytea(struct pg_conn *c, const char *s, size_t len,
		     struct dbr_value *out)
{
	size_t i, n;

	if (len < 2 || s[0] != '\\' || s[1] != 'x' || len % 2)
		return false;
	n = (len - 2) / 2;
	if (pg_grow(&c->blob, n + 1))
		return false;
	for (i = 0; i < n; i++) {
		int hi = pg_hexval(s[2 + 2 * i]), lo = pg_hexval(s[3 + 2 * i]);

		if (hi < 0 || lo < 0)
			return false;
		c->blob.buf[i] = (char)(hi << 4 | lo);
	}
	out->type = DBR_TYPE_BLOB;
	out->u.b = c->blob.buf;
	out->len = n;
	return true;
}

static void pg_column(struct dbr_driver_conn *conn, size_t col,
		      struct dbr_value *out)
{
	struct pg_conn *c = pg_conn(conn);
	const char *s;
	size_t len;

	out->type = DBR_TYPE_NULL;
	out->len = 0;
	out->u.i = 0;
	if (!c->row || col >= c->ncols || PQgetisnull(c->cur, 0, (int)col))
		return;
	s = PQgetvalue(c->cur, 0, (int)col);
	len = (size_t)PQgetlength(c->cur, 0, (int)col);
	switch (c->col_types[col]) {
	case PG_INT2OID:
	case PG_INT4OID:
	case PG_INT8OID:
	case PG_OIDOID:
		out->type = DBR_TYPE_INT64;
		out->u.i = strtoll(s, NULL, 10);
		return;
	case PG_FLOAT4OID:
	case PG_FLOAT8OID:
		out->type = DBR_TYPE_DOUBLE;
		out->u.d = strtod(s, NULL);
		return;
	case PG_BOOLOID:
		out->type = DBR_TYPE_INT64;
		out->u.i = s[0] == 't';
		return;
	case PG_BYTEAOID:
		if (pg_bytea(c, s, len, out))
			return;
		break; /* not hex output: give the text as it is */
	default: break;
	}
	out->type = DBR_TYPE_TEXT;
	out->u.s = s;
	out->len = len;
}

static int64_t pg_changes(struct dbr_driver_conn *conn)
{
	return pg_conn(conn)->changes;
}

static int pg_ping(struct dbr_driver_conn *conn, struct dbr_error *err)
{
	struct pg_conn *c = pg_conn(conn);
	PGresult *res;
	int rc = DBR_OK;

	pg_drain(c);
	res = PQexec(c->pg, "SELECT 1");
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = pg_fail(c, res, err);
	PQclear(res);
	return rc;
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
	struct pollfd pfd = { PQsocket(c->pg), POLLIN, 0 };

	if (PQstatus(c->pg) != CONNECTION_OK || pfd.fd < 0)
		return false;
	return poll(&pfd, 1, 0) == 0;
}

static int pg_begin(struct dbr_driver_conn *conn, struct dbr_error *err)
{
	return pg_command(pg_conn(conn), "BEGIN", NULL, err);
}

static int pg_commit(struct dbr_driver_conn *conn, struct dbr_error *err)
{
	return pg_command(pg_conn(conn), "COMMIT", "COMMIT", err);
}

static int pg_rollback(struct dbr_driver_conn *conn, struct dbr_error *err)
{
	return pg_command(pg_conn(conn), "ROLLBACK", NULL, err);
}

static const struct dbr_driver pg_driver = {
	.abi_version = DBR_ABI_VERSION,
	.struct_size = sizeof(struct dbr_driver),
	.name = "postgres",
	.version = "0.1.0 (libpq)",
	.caps = DBR_CAP_SQL | DBR_CAP_TRANSACTIONS | DBR_CAP_READONLY,
	.options = pg_options,
	.open = pg_open,
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
};

DBR_DRIVER_EXPORT const struct dbr_driver *
dbr_driver_entry(const struct dbr_host *host);

DBR_DRIVER_EXPORT const struct dbr_driver *
dbr_driver_entry(const struct dbr_host *host)
{
	pg_host = host;
	return &pg_driver;
}
