/*
 * my.h - what the files of the MariaDB/MySQL driver share: the connection,
 * its cached statements and the binding of values (my_value.c). Private
 * to drivers/mysql; the plugin exports only its entry symbol.
 */
#ifndef DBR_MY_H
#define DBR_MY_H

#include <locale.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mysql.h>

#include "dbroute_driver.h"
#include "sqlscan.h"
#include "stmtcache.h"

/* Parameters longer than this go to the server in pieces of this size
 * (mysql_stmt_send_long_data), never as one packet. */
#define MY_LONG_DATA ((size_t)1 << 20)

/* A column buffer larger than this is freed when its statement ends. */
#define MY_BUF_KEEP ((size_t)1 << 20)

/* Rows, bytes and nanoseconds read at most, when a query is freed before
 * its end, before the link is closed instead. */
#define MY_DISCARD_ROWS	 1024
#define MY_DISCARD_BYTES ((size_t)4 << 20)
#define MY_DISCARD_NS	 ((int64_t)100000000)

/* A statement prepared on the server, cached under its text. */
struct my_stmt {
	MYSQL_STMT *st;
	bool tx_only; /* allowed inside dbr_tx only (e.g. SAVEPOINT) */
	bool reads;   /* a query (SELECT ...): may be stopped when freed */
	/* May take a user lock (GET_LOCK, a stored function, CALL): the
	 * session's locks are released before it is pooled again. */
	bool locks;
};

/* A bool or timestamp parameter in the form Connector/C binds. */
struct my_pval {
	MYSQL_TIME t;
	signed char b;
};

/* One result column: its buffer, valid until the next row. */
struct my_col {
	char *buf;
	size_t cap;
	unsigned long len;
	my_bool null, error;
	int kind; /* enum dbr_type it is read as */
	bool is_unsigned;
	bool decimal; /* DECIMAL: the server's text, read as a double */
	int64_t i;
	double d;
};

/*
 * One connection. A statement's life: my_query() executes it (c->cur) and
 * fetches its first row; next() fetches the others, unbuffered (rows
 * stream from the socket), until MYSQL_NO_DATA; finish() reads what is
 * left of a write, or closes the link rather than read a long query to
 * its end. c->m is NULL once the link was closed; every call then fails
 * with DBR_E_CONN and is_clean() says false.
 */
struct my_conn {
	struct dbr_driver_conn base;
	MYSQL *m;
	unsigned long thread_id;    /* the server's id of the session */
	struct dbr_stmtcache cache; /* of struct my_stmt */
	struct dbr_sqlbuf sqlbuf;   /* translated statement text */

	double timeout;	     /* seconds: connect, ping, and the waits */
	double stmt_timeout; /* seconds, 0: none (max_statement_time) */
	unsigned rw_secs;    /* the client's read/write timeout (whole s) */
	bool readonly;	     /* the source is read-only */
	uint32_t lex;	     /* the lexer flags the cached statements had */

	struct my_stmt *cur; /* the statement whose rows are read */
	MYSQL_BIND *pb;	     /* parameter binds */
	struct my_pval *pv;  /* bools and timestamps bound, as pb */
	size_t pcap;
	MYSQL_BIND *rb; /* result binds */
	struct my_col *cols;
	size_t ccap, ncols;

	bool first;   /* next() returns the row query() fetched */
	bool row;     /* a row is current */
	bool busy;    /* rows not yet read to the end */
	bool in_tx;   /* between begin() and commit() / rollback() */
	bool unclean; /* session state changed, or a huge value went */
	bool wrote;   /* the statement may have written */
	bool locks;   /* a user lock may be held (see struct my_stmt) */
	/* The server ended the transaction dbr_tx began (DDL commits, a
	 * deadlock rolls back): every call fails until it ends. */
	const char *tx_ended;
	/* When the last wait on the server began (ns): set before each,
	 * read by my_fail to tell a read timeout from a lost link. */
	int64_t busy_since;
	int64_t changes;
	int64_t insert_id;
};

extern const struct dbr_host *my_host;

/* The C locale, made once by the entry function: DECIMAL values are read
 * with it, whatever the application's LC_NUMERIC. */
extern locale_t my_c_locale;

/* A monotonic clock in nanoseconds. */
int64_t my_now(void);

/* Room for n parameters in c->pb (-1: out of memory). */
int my_params_reserve(struct my_conn *c, size_t n);

/* Bind params to st (long values sent in pieces); returns a category. */
int my_bind(struct my_conn *c, MYSQL_STMT *st, const struct dbr_value *p,
	    size_t n, struct dbr_error *err);

/* Bind c's column buffers to st's result columns (-1: out of memory). */
int my_bind_result(struct my_conn *c, MYSQL_STMT *st);

/* Fetch the next row: DBR_ROW, DBR_DONE, or an error (filled). */
int my_fetch(struct my_conn *c, struct dbr_error *err);

/* A column of the current row. */
void my_value(struct my_conn *c, size_t col, struct dbr_value *out);

/* Free column buffers that grew past MY_BUF_KEEP. */
void my_trim(struct my_conn *c);

/* Fill err from the statement's error (or the link's when st is NULL);
 * returns the category. A lost link is closed (c->m NULL). */
int my_fail(struct my_conn *c, MYSQL_STMT *st, struct dbr_error *err);

#endif /* DBR_MY_H */
