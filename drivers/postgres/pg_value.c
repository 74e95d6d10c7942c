/*
 * pg_value.c - a PostgreSQL row's text results as dbroute values.
 *
 * Integers, booleans and OIDs become int64; float4, float8 and numeric
 * become double (numeric is exact in PostgreSQL and is rounded here: a
 * statement that needs its exact decimals selects it as `::text`); bytea
 * becomes a blob; everything else is text, as the server wrote it.
 *
 * Every value stays valid until the next row: texts point into the row's
 * PGresult, and a row's byteas are all decoded at its first bytea access,
 * side by side in one buffer laid out for the whole row.
 */
#include <stdlib.h>
#include <string.h>

#include "pg.h"

/* Type OIDs of pg_type.h, stable across PostgreSQL versions. */
#define PG_BOOLOID    16
#define PG_BYTEAOID   17
#define PG_INT8OID    20
#define PG_INT2OID    21
#define PG_INT4OID    23
#define PG_OIDOID     26
#define PG_FLOAT4OID  700
#define PG_FLOAT8OID  701
#define PG_NUMERICOID 1700

/* A column of the row whose bytea is not hex output: given as text. */
#define PG_NOT_HEX ((size_t)-1)

static int pg_col_arrays(struct pg_conn *c, size_t n)
{
	size_t *at, *blob;
	Oid *ty;

	if (n <= c->ccap)
		return 0;
	at = realloc(c->name_at, n * sizeof(*at));
	if (!at)
		return -1;
	c->name_at = at;
	blob = realloc(c->blob_at, n * sizeof(*blob));
	if (!blob)
		return -1;
	c->blob_at = blob;
	ty = realloc(c->col_types, n * sizeof(*ty));
	if (!ty)
		return -1;
	c->col_types = ty;
	c->ccap = n;
	return 0;
}

static int pg_grow_names(struct pg_buf *b, size_t need)
{
	char *p;

	if (need <= b->cap)
		return 0;
	p = realloc(b->buf, need);
	if (!p)
		return -1;
	b->buf = p;
	b->cap = need;
	return 0;
}

int pg_columns(struct pg_conn *c, const PGresult *res, struct dbr_error *err)
{
	size_t i, n = (size_t)PQnfields(res), total = 1;

	/* At most 1,664 columns of at most 63 bytes each: no overflow. */
	for (i = 0; i < n; i++)
		total += strlen(PQfname(res, (int)i)) + 1;
	if (pg_col_arrays(c, n) || pg_grow_names(&c->names, total)) {
		pg_host->set_error(err, DBR_E_NOMEM, 0, NULL, "out of memory");
		return DBR_E_NOMEM;
	}
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

/* bytea's hex output ("\x0a1b...") into dst; false when it is not. */
static bool pg_unhex(const char *s, size_t len, char *dst)
{
	size_t i, n;

	if (len < 2 || s[0] != '\\' || s[1] != 'x' || len % 2)
		return false;
	n = (len - 2) / 2;
	for (i = 0; i < n; i++) {
		int hi = pg_hexval(s[2 + 2 * i]), lo = pg_hexval(s[3 + 2 * i]);

		if (hi < 0 || lo < 0)
			return false;
		dst[i] = (char)(hi << 4 | lo);
	}
	return true;
}

/* Decode every bytea of the current row into c->blob, one after another. */
static bool pg_row_blobs(struct pg_conn *c)
{
	size_t i, len, need = 1, at = 0;
	char *p;

	for (i = 0; i < c->ncols; i++)
		if (c->col_types[i] == PG_BYTEAOID &&
		    !PQgetisnull(c->cur, 0, (int)i))
			need += (size_t)PQgetlength(c->cur, 0, (int)i) / 2;
	if (need > c->blob.cap) {
		/* The old bytes are not kept: no realloc copy. */
		p = malloc(need);
		if (!p)
			return false;
		free(c->blob.buf);
		c->blob.buf = p;
		c->blob.cap = need;
	}
	for (i = 0; i < c->ncols; i++) {
		if (c->col_types[i] != PG_BYTEAOID ||
		    PQgetisnull(c->cur, 0, (int)i))
			continue;
		len = (size_t)PQgetlength(c->cur, 0, (int)i);
		c->blob_at[i] = at;
		if (pg_unhex(PQgetvalue(c->cur, 0, (int)i), len,
			     c->blob.buf + at))
			at += (len - 2) / 2;
		else
			c->blob_at[i] = PG_NOT_HEX;
	}
	c->blob.len = at;
	c->blobs = true;
	return true;
}

void pg_value(struct pg_conn *c, size_t col, struct dbr_value *out)
{
	const char *s;
	size_t len;

	out->type = DBR_TYPE_NULL;
	out->len = 0;
	out->u.i = 0;
	if (!c->row || col >= c->ncols || PQgetisnull(c->cur, 0, (int)col))
		return;
	s = PQgetvalue(c->cur, 0, (int)col);
	len = (size_t)PQgetlength(c->cur, 0, (int)col);
	if (len >= PG_HUGE_SIZE)
		c->huge = true;
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
	case PG_NUMERICOID:
		/* strtod reads NaN and Infinity as the server writes them. */
		out->type = DBR_TYPE_DOUBLE;
		out->u.d = strtod(s, NULL);
		return;
	case PG_BOOLOID:
		out->type = DBR_TYPE_INT64;
		out->u.i = s[0] == 't';
		return;
	case PG_BYTEAOID:
		if ((c->blobs || pg_row_blobs(c)) &&
		    c->blob_at[col] != PG_NOT_HEX) {
			out->type = DBR_TYPE_BLOB;
			out->u.b = c->blob.buf + c->blob_at[col];
			out->len = (len - 2) / 2;
			return;
		}
		break; /* not hex output: give the text as it is */
	default: break;
	}
	out->type = DBR_TYPE_TEXT;
	out->u.s = s;
	out->len = len;
}
