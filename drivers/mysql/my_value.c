/*
 * my_value.c - dbroute values to and from MariaDB's binary protocol:
 * parameters bound in place (text and blobs not copied; those longer than
 * MY_LONG_DATA sent in pieces), result columns read into per-connection
 * buffers that grow to the longest value seen (a truncated fetch is
 * completed with mysql_stmt_fetch_column).
 *
 * Parameters: a bool as TINY, a timestamp as DATETIME (UTC, with its
 * microseconds), a typed NULL as any NULL (MariaDB infers types).
 *
 * Result types: TINYINT(1) (BOOLEAN: Connector/C reports a TINY of
 * length 1) as bool, nonzero true; DATETIME as timestamp (its text read
 * as UTC; a zero date stays text), TIMESTAMP stays text (the server
 * converts it by the session's time_zone); other integers (BIGINT
 * UNSIGNED above INT64_MAX: as text),
 * FLOAT, DOUBLE and DECIMAL as double (DECIMAL is exact in MySQL and is
 * rounded here, as PostgreSQL's numeric is: AVG() and sums of decimals
 * compare and sort as numbers on every engine; a statement that needs the
 * exact decimals selects CAST(x AS CHAR)), binary strings (charset 63:
 * BINARY, VARBINARY, BLOB, BIT, GEOMETRY) as blobs, everything else
 * (text, dates and times, JSON) as the server's text.
 */
#define _GNU_SOURCE /* strtod_l */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "my.h"
#include "timestamp.h"

/* The charset number of binary strings. */
#define MY_BINARY_CHARSET 63

/* A column buffer's first size. */
#define MY_COL_START 256

int my_params_reserve(struct my_conn *c, size_t n)
{
	MYSQL_BIND *pb;
	struct my_pval *pv;

	if (n <= c->pcap)
		return 0;
	if (n > SIZE_MAX / sizeof(*pv))
		return -1;
	pb = realloc(c->pb, n * sizeof(*pb));
	if (!pb)
		return -1;
	c->pb = pb;
	pv = realloc(c->pv, n * sizeof(*pv));
	if (!pv)
		return -1;
	c->pv = pv;
	c->pcap = n;
	return 0;
}

/* Send a long parameter in pieces of MY_LONG_DATA bytes. */
static int my_send_long(struct my_conn *c, MYSQL_STMT *st, unsigned i,
			const char *data, size_t len, struct dbr_error *err)
{
	size_t at, n;

	for (at = 0; at < len; at += n) {
		n = len - at < MY_LONG_DATA ? len - at : MY_LONG_DATA;
		c->busy_since = my_now();
		if (mysql_stmt_send_long_data(st, i, data + at,
					      (unsigned long)n))
			return my_fail(c, st, err);
	}
	c->unclean = true; /* the client's buffers keep this size */
	return DBR_OK;
}

/* A timestamp (in range) as a DATETIME. */
static void my_time(MYSQL_TIME *t, int64_t us)
{
	struct dbr_tm tm;

	dbr_ts_split(us, &tm);
	memset(t, 0, sizeof(*t));
	t->year = (unsigned)tm.year;
	t->month = (unsigned)tm.month;
	t->day = (unsigned)tm.day;
	t->hour = (unsigned)tm.hour;
	t->minute = (unsigned)tm.minute;
	t->second = (unsigned)tm.second;
	t->second_part = (unsigned long)tm.usec;
	t->time_type = MYSQL_TIMESTAMP_DATETIME;
}

int my_bind(struct my_conn *c, MYSQL_STMT *st, const struct dbr_value *p,
	    size_t n, struct dbr_error *err)
{
	static const char empty[1] = "";
	MYSQL_BIND *b = c->pb;
	size_t i;
	int rc;

	if (!n)
		return DBR_OK;
	memset(b, 0, n * sizeof(*b));
	for (i = 0; i < n; i++) {
		switch (p[i].type) {
		case DBR_TYPE_NULL: b[i].buffer_type = MYSQL_TYPE_NULL; break;
		case DBR_TYPE_INT64:
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = (void *)&p[i].u.i;
			break;
		case DBR_TYPE_DOUBLE:
			b[i].buffer_type = MYSQL_TYPE_DOUBLE;
			b[i].buffer = (void *)&p[i].u.d;
			break;
		case DBR_TYPE_BOOL:
			c->pv[i].b = p[i].u.i != 0;
			b[i].buffer_type = MYSQL_TYPE_TINY;
			b[i].buffer = &c->pv[i].b;
			break;
		case DBR_TYPE_TIMESTAMP:
			if (!dbr_ts_in_range(p[i].u.i))
				goto bad;
			my_time(&c->pv[i].t, p[i].u.i);
			b[i].buffer_type = MYSQL_TYPE_DATETIME;
			b[i].buffer = &c->pv[i].t;
			break;
		case DBR_TYPE_TEXT:
		case DBR_TYPE_BLOB:
			b[i].buffer_type = p[i].type == DBR_TYPE_TEXT
						   ? MYSQL_TYPE_STRING
						   : MYSQL_TYPE_BLOB;
			b[i].buffer = (void *)(p[i].len ? p[i].u.b : empty);
			b[i].buffer_length = (unsigned long)p[i].len;
			if (p[i].len > MY_LONG_DATA)
				b[i].buffer_length = 0;
			break;
		default:
		bad:
			my_host->set_error(err, DBR_E_MISUSE, 0, NULL,
					   "parameter %zu: unknown value type "
					   "%d, or a timestamp outside years "
					   "1000 to 9999",
					   i + 1, p[i].type);
			return DBR_E_MISUSE;
		}
	}
	if (mysql_stmt_bind_param(st, b))
		return my_fail(c, st, err);
	for (i = 0; i < n; i++) {
		if ((p[i].type != DBR_TYPE_TEXT &&
		     p[i].type != DBR_TYPE_BLOB) ||
		    p[i].len <= MY_LONG_DATA)
			continue;
		rc = my_send_long(c, st, (unsigned)i, p[i].u.s, p[i].len, err);
		if (rc)
			return rc;
	}
	return DBR_OK;
}

/* Grow a column's buffer to hold need bytes and a NUL (-1: no memory). */
static int my_col_grow(struct my_col *col, size_t need)
{
	size_t cap = col->cap ? col->cap : MY_COL_START;
	char *buf;

	if (need + 1 <= col->cap)
		return 0;
	while (cap < need + 1) {
		if (cap > SIZE_MAX / 2)
			return -1;
		cap *= 2;
	}
	buf = realloc(col->buf, cap);
	if (!buf)
		return -1;
	col->buf = buf;
	col->cap = cap;
	return 0;
}

/* The dbroute type a column is read as, from its field. */
static int my_kind(const MYSQL_FIELD *f)
{
	switch (f->type) {
	case MYSQL_TYPE_NULL: return DBR_TYPE_NULL;
	case MYSQL_TYPE_TINY:
		/* TINYINT(1), BOOLEAN's spelling in MariaDB. */
		return f->length == 1 ? DBR_TYPE_BOOL : DBR_TYPE_INT64;
	case MYSQL_TYPE_DATETIME: return DBR_TYPE_TIMESTAMP;
	case MYSQL_TYPE_SHORT:
	case MYSQL_TYPE_INT24:
	case MYSQL_TYPE_LONG:
	case MYSQL_TYPE_LONGLONG:
	case MYSQL_TYPE_YEAR: return DBR_TYPE_INT64;
	case MYSQL_TYPE_FLOAT:
	case MYSQL_TYPE_DOUBLE:
	case MYSQL_TYPE_DECIMAL:
	case MYSQL_TYPE_NEWDECIMAL: return DBR_TYPE_DOUBLE;
	case MYSQL_TYPE_BIT:
	case MYSQL_TYPE_GEOMETRY: return DBR_TYPE_BLOB;
	case MYSQL_TYPE_TINY_BLOB:
	case MYSQL_TYPE_MEDIUM_BLOB:
	case MYSQL_TYPE_LONG_BLOB:
	case MYSQL_TYPE_BLOB:
	case MYSQL_TYPE_VAR_STRING:
	case MYSQL_TYPE_STRING:
	case MYSQL_TYPE_VARCHAR:
		return f->charsetnr == MY_BINARY_CHARSET ? DBR_TYPE_BLOB
							 : DBR_TYPE_TEXT;
	default: return DBR_TYPE_TEXT; /* DECIMAL, dates and times, ENUM */
	}
}

static int my_cols_reserve(struct my_conn *c, size_t n)
{
	MYSQL_BIND *rb;
	struct my_col *cols;

	if (n <= c->ccap)
		return 0;
	if (n > SIZE_MAX / sizeof(*cols))
		return -1;
	rb = realloc(c->rb, n * sizeof(*rb));
	if (!rb)
		return -1;
	c->rb = rb;
	cols = realloc(c->cols, n * sizeof(*cols));
	if (!cols)
		return -1;
	memset(cols + c->ccap, 0, (n - c->ccap) * sizeof(*cols));
	c->cols = cols;
	c->ccap = n;
	return 0;
}

int my_bind_result(struct my_conn *c, MYSQL_STMT *st)
{
	size_t i, n = mysql_stmt_field_count(st);
	struct my_col *col;
	MYSQL_BIND *b;

	c->ncols = 0;
	if (!n)
		return 0;
	if (my_cols_reserve(c, n))
		return -1;
	memset(c->rb, 0, n * sizeof(*c->rb));
	for (i = 0; i < n; i++) {
		col = &c->cols[i];
		b = &c->rb[i];
		col->kind = my_kind(&st->fields[i]);
		col->is_unsigned = (st->fields[i].flags & UNSIGNED_FLAG) != 0;
		col->decimal = st->fields[i].type == MYSQL_TYPE_DECIMAL ||
			       st->fields[i].type == MYSQL_TYPE_NEWDECIMAL;
		b->is_null = &col->null;
		b->error = &col->error;
		b->length = &col->len;
		if (col->kind == DBR_TYPE_INT64 || col->kind == DBR_TYPE_BOOL) {
			b->buffer_type = MYSQL_TYPE_LONGLONG;
			b->buffer = &col->i;
			b->is_unsigned = col->is_unsigned;
		} else if (col->kind == DBR_TYPE_DOUBLE && !col->decimal) {
			b->buffer_type = MYSQL_TYPE_DOUBLE;
			b->buffer = &col->d;
		} else {
			if (my_col_grow(col, MY_COL_START - 1))
				return -1;
			/* DECIMAL as the server wrote it: Connector/C would
			 * convert it with the process's LC_NUMERIC. */
			b->buffer_type = col->kind == DBR_TYPE_BLOB
						 ? MYSQL_TYPE_BLOB
						 : MYSQL_TYPE_STRING;
			b->buffer = col->buf;
			/* One byte kept for the NUL after the value. */
			b->buffer_length = (unsigned long)(col->cap - 1);
		}
	}
	if (mysql_stmt_bind_result(st, c->rb))
		return -1;
	c->ncols = n;
	return 0;
}

/* Read the rest of a value the fetch truncated into a larger buffer. */
static int my_complete(struct my_conn *c, MYSQL_STMT *st, size_t i,
		       struct dbr_error *err)
{
	struct my_col *col = &c->cols[i];
	unsigned long have = c->rb[i].buffer_length;
	MYSQL_BIND b;

	if (my_col_grow(col, col->len)) {
		my_host->set_error(err, DBR_E_NOMEM, 0, NULL,
				   "out of memory for a value of %lu bytes",
				   col->len);
		return DBR_E_NOMEM;
	}
	memset(&b, 0, sizeof(b));
	b.buffer_type = c->rb[i].buffer_type;
	b.buffer = col->buf + have;
	b.buffer_length = col->len - have;
	if (mysql_stmt_fetch_column(st, &b, (unsigned)i, have))
		return my_fail(c, st, err);
	/* The bound buffer follows the column's for the next rows. */
	c->rb[i].buffer = col->buf;
	c->rb[i].buffer_length = (unsigned long)(col->cap - 1);
	return mysql_stmt_bind_result(st, c->rb) ? my_fail(c, st, err) : DBR_OK;
}

int my_fetch(struct my_conn *c, struct dbr_error *err)
{
	MYSQL_STMT *st = c->cur->st;
	size_t i;
	int rc = mysql_stmt_fetch(st);

	if (rc == MYSQL_NO_DATA)
		return DBR_DONE;
	if (rc == 1)
		return my_fail(c, st, err);
	for (i = 0; rc == MYSQL_DATA_TRUNCATED && i < c->ncols; i++) {
		int r;

		if (!c->cols[i].error || c->cols[i].null)
			continue;
		r = my_complete(c, st, i, err);
		if (r)
			return r;
	}
	return DBR_ROW;
}

void my_value(struct my_conn *c, size_t col, struct dbr_value *out)
{
	struct my_col *v;
	int n;

	if (col >= c->ncols || !c->row || c->cols[col].null) {
		*out = dbr_null();
		return;
	}
	v = &c->cols[col];
	switch (v->kind) {
	case DBR_TYPE_INT64:
		if (v->is_unsigned && (uint64_t)v->i > INT64_MAX &&
		    !my_col_grow(v, 24)) {
			n = snprintf(v->buf, v->cap, "%" PRIu64,
				     (uint64_t)v->i);
			*out = dbr_text(v->buf, (size_t)n);
			return;
		}
		*out = dbr_int64(v->i);
		return;
	case DBR_TYPE_BOOL: *out = dbr_bool(v->i != 0); return;
	case DBR_TYPE_TIMESTAMP:
		v->buf[v->len] = '\0';
		if (dbr_ts_parse(v->buf, v->len, &out->u.i)) {
			out->type = DBR_TYPE_TIMESTAMP;
			out->len = 0;
			return;
		}
		*out = dbr_text(v->buf, v->len); /* a zero date */
		return;
	case DBR_TYPE_DOUBLE:
		if (v->decimal) {
			v->buf[v->len] = '\0';
			*out = dbr_double(strtod_l(v->buf, NULL, my_c_locale));
			return;
		}
		*out = dbr_double(v->d);
		return;
	case DBR_TYPE_NULL: *out = dbr_null(); return;
	default:
		v->buf[v->len] = '\0';
		*out = v->kind == DBR_TYPE_BLOB ? dbr_blob(v->buf, v->len)
						: dbr_text(v->buf, v->len);
	}
}

void my_trim(struct my_conn *c)
{
	size_t i;

	for (i = 0; i < c->ccap; i++) {
		if (c->cols[i].cap <= MY_BUF_KEEP)
			continue;
		free(c->cols[i].buf);
		c->cols[i].buf = NULL;
		c->cols[i].cap = 0;
	}
}
