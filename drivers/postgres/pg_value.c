/*
 * pg_value.c - dbroute values to and from PostgreSQL: parameters laid out
 * for libpq, a row's text results read back as values.
 *
 * Parameters: text is sent as text of unknown type (the server infers
 * it), int64, double, bool, timestamp (timestamptz) and blob in binary
 * with their types, a typed NULL with its type's OID (a NULL of text as
 * text); every size is checked before it is added.
 *
 * Results: booleans become bools; timestamptz and timestamp (read as
 * UTC) become timestamps when the server wrote them in the ISO DateStyle
 * within years 1000 to 9999, else stay text; integers and OIDs become
 * int64; float4, float8 and numeric
 * become double (numeric is exact in PostgreSQL and is rounded here: a
 * statement that needs its exact decimals selects it as `::text`); bytea
 * becomes a blob; everything else is text, as the server wrote it.
 *
 * Every value stays valid until the next row: texts point into the row's
 * PGresult, and a row's byteas are all decoded at its first bytea access,
 * side by side in one buffer laid out for the whole row.
 */
#define _GNU_SOURCE /* strtod_l */
#include <stdlib.h>
#include <string.h>

#include "pg.h"
#include "timestamp.h"

/* Type OIDs of pg_type.h, stable across PostgreSQL versions. */
#define PG_BOOLOID    16
#define PG_BYTEAOID   17
#define PG_INT8OID    20
#define PG_INT2OID    21
#define PG_INT4OID    23
#define PG_OIDOID     26
#define PG_FLOAT4OID  700
#define PG_FLOAT8OID  701
#define PG_TEXTOID    25
#define PG_NUMERICOID 1700
#define PG_TSOID      1114
#define PG_TSTZOID    1184

/* PostgreSQL's epoch, 2000-01-01, in Unix microseconds. */
#define PG_EPOCH_US 946684800000000LL

int pg_grow(struct pg_buf *b, size_t need)
{
	size_t cap = b->cap ? b->cap : 256;
	char *p;

	if (need <= b->cap)
		return 0;
	if (need > SIZE_MAX / 2)
		return -1;
	while (cap < need)
		cap *= 2;
	p = realloc(b->buf, cap);
	if (!p)
		return -1;
	b->buf = p;
	b->cap = cap;
	return 0;
}

/*
 * A parameter's type tag: its type's, and for a NULL the one it carries
 * (a NULL of text is typed text, 's'; an untyped one 'n').
 */
static char pg_tag(int type, int64_t hint)
{
	switch (type) {
	case DBR_TYPE_INT64: return 'i';
	case DBR_TYPE_DOUBLE: return 'd';
	case DBR_TYPE_TEXT: return 't';
	case DBR_TYPE_BLOB: return 'b';
	case DBR_TYPE_BOOL: return 'B';
	case DBR_TYPE_TIMESTAMP: return 'T';
	case DBR_TYPE_NULL:
		if (hint == DBR_TYPE_TEXT)
			return 's';
		if (hint > DBR_TYPE_NULL && hint <= DBR_TYPE_TIMESTAMP)
			return pg_tag((int)hint, 0);
		return 'n';
	default: return 'n';
	}
}

Oid pg_oid(char tag)
{
	switch (tag) {
	case 'i': return PG_INT8OID;
	case 'd': return PG_FLOAT8OID;
	case 'b': return PG_BYTEAOID;
	case 'B': return PG_BOOLOID;
	case 'T': return PG_TSTZOID;
	case 's': return PG_TEXTOID;
	default: return 0; /* text and NULL: the server infers the type */
	}
}

/* Room for n parameters (n <= PG_MAX_PARAMS: no overflow). */
int pg_params_reserve(struct pg_conn *c, size_t n)
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
	GROW(types);
#undef GROW
	c->pcap = cap;
	return 0;
}

static void pg_put_be64(char *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (char)(v & 0xff);
}

static int pg_misuse(struct dbr_error *err, size_t i, const char *why)
{
	pg_host->set_error(err, DBR_E_MISUSE, 0, NULL, "parameter %zu: %s",
			   i + 1, why);
	return DBR_E_MISUSE;
}

/* The bytes the parameters need once laid out, overflow-checked; refuses
 * what libpq and PostgreSQL cannot take. */
static int pg_measure(struct pg_conn *c, const struct dbr_value *p, size_t n,
		      size_t *need, struct dbr_error *err)
{
	size_t i, add;

	*need = 1;
	for (i = 0; i < n; i++) {
		c->types[i] = pg_tag(p[i].type, p[i].u.i);
		if (p[i].type == DBR_TYPE_TEXT && p[i].len &&
		    memchr(p[i].u.s, '\0', p[i].len))
			return pg_misuse(err, i,
					 "PostgreSQL text cannot hold a NUL "
					 "byte (send a blob)");
		switch (p[i].type) {
		case DBR_TYPE_NULL: continue;
		case DBR_TYPE_BOOL: add = 1; break;
		case DBR_TYPE_TIMESTAMP:
			if (!dbr_ts_in_range(p[i].u.i))
				return pg_misuse(err, i,
						 "timestamp outside years "
						 "1000 to 9999");
			add = 8;
			break;
		case DBR_TYPE_INT64:
		case DBR_TYPE_DOUBLE: add = 8; break;
		case DBR_TYPE_TEXT:
		case DBR_TYPE_BLOB:
			/* libpq takes an int length; PostgreSQL 1 GB. */
			if (p[i].len >= (size_t)INT32_MAX)
				return pg_misuse(err, i, "too large");
			add = p[i].len + (p[i].type == DBR_TYPE_TEXT);
			break;
		default: return pg_misuse(err, i, "unknown type");
		}
		if (*need > SIZE_MAX - add)
			return pg_misuse(err, i, "too large");
		*need += add;
	}
	return DBR_OK;
}

/*
 * Lay the parameters out for libpq: text as NUL-terminated text of unknown
 * type (the server infers it), numbers and blobs binary with their types.
 */
int pg_bind(struct pg_conn *c, const struct dbr_value *p, size_t n,
	    struct dbr_error *err)
{
	size_t i, need;
	uint64_t bits;
	char *at;
	int rc = pg_measure(c, p, n, &need, err);

	if (rc)
		return rc;
	if (pg_grow(&c->scratch, need)) {
		pg_host->set_error(err, DBR_E_NOMEM, 0, NULL, "out of memory");
		return DBR_E_NOMEM;
	}
	if (need >= PG_HUGE_SIZE)
		c->huge = true;
	at = c->scratch.buf;
	for (i = 0; i < n; i++) {
		c->values[i] = at;
		c->formats[i] = 1; /* binary */
		c->lengths[i] = p[i].type == DBR_TYPE_INT64 ||
						p[i].type == DBR_TYPE_DOUBLE ||
						p[i].type == DBR_TYPE_TIMESTAMP
					? 8
					: (int)p[i].len;
		if (p[i].type == DBR_TYPE_NULL) {
			c->values[i] = NULL;
			c->formats[i] = 0;
		} else if (p[i].type == DBR_TYPE_BOOL) {
			*at++ = p[i].u.i != 0;
			c->lengths[i] = 1;
		} else if (p[i].type == DBR_TYPE_INT64) {
			pg_put_be64(at, (uint64_t)p[i].u.i);
			at += 8;
		} else if (p[i].type == DBR_TYPE_TIMESTAMP) {
			/* In range (pg_measure): no overflow. */
			pg_put_be64(at, (uint64_t)(p[i].u.i - PG_EPOCH_US));
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
		/* strtod reads NaN and Infinity as the server writes them;
		 * in the C locale, not the application's LC_NUMERIC (whose
		 * decimal separator may be a comma). */
		out->type = DBR_TYPE_DOUBLE;
		out->u.d = strtod_l(s, NULL, pg_c_locale);
		return;
	case PG_BOOLOID:
		out->type = DBR_TYPE_BOOL;
		out->u.i = s[0] == 't';
		return;
	case PG_TSOID:
	case PG_TSTZOID:
		if (dbr_ts_parse(s, len, &out->u.i)) {
			out->type = DBR_TYPE_TIMESTAMP;
			return;
		}
		out->u.i = 0;
		break; /* infinity, BC, another DateStyle: the text */
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
