/*
 * digest.c - the row digest of a chat's rows in one table (digest.h):
 * dbr_move_digest() reads them with SELECT * on the source, orders each
 * row's values by column name, encodes and hashes them.
 */
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "digest.h"
#include "handle.h"
#include "mapstore.h"

static int put(struct dbr__digest_buf *b, const void *p, size_t n)
{
	if (dbr__grow(&b->v, &b->cap, b->len + n, 1))
		return DBR_E_NOMEM;
	if (n)
		memcpy(b->v + b->len, p, n);
	b->len += n;
	return DBR_OK;
}

static int put_u64(struct dbr__digest_buf *b, uint64_t x)
{
	unsigned char be[8];
	int i;

	for (i = 7; i >= 0; i--, x >>= 8)
		be[i] = (unsigned char)(x & 0xff);
	return put(b, be, 8);
}

int dbr__digest_value(struct dbr__digest_buf *b, const struct dbr_value *v)
{
	unsigned char tag = (unsigned char)v->type, one;
	uint64_t bits;
	double d;
	int rc;

	if (v->type < DBR_TYPE_NULL || v->type > DBR_TYPE_TIMESTAMP)
		return DBR_E_UNSUPPORTED;
	if ((rc = put(b, &tag, 1)))
		return rc;
	if (v->type == DBR_TYPE_INT64 || v->type == DBR_TYPE_TIMESTAMP)
		return put_u64(b, (uint64_t)v->u.i);
	if (v->type == DBR_TYPE_BOOL) {
		one = v->u.i != 0;
		return put(b, &one, 1);
	}
	if (v->type == DBR_TYPE_DOUBLE) {
		d = v->u.d == 0.0 ? 0.0 : v->u.d; /* -0.0 as 0.0 */
		if (isnan(d))
			bits = 0x7ff8000000000000ull;
		else
			memcpy(&bits, &d, sizeof(bits));
		return put_u64(b, bits);
	}
	if (v->type == DBR_TYPE_TEXT || v->type == DBR_TYPE_BLOB) {
		if ((rc = put_u64(b, (uint64_t)v->len)))
			return rc;
		return put(b,
			   v->type == DBR_TYPE_TEXT ? (const void *)v->u.s
						    : v->u.b,
			   v->len);
	}
	return DBR_OK; /* a NULL, typed or not: the tag alone */
}

uint64_t dbr__digest_hash(const struct dbr__digest_buf *b,
			  const unsigned char key[16])
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h = 0;
	int i;

	crypto_shorthash(out, b->v ? b->v : (const unsigned char *)"", b->len,
			 key);
	for (i = crypto_shorthash_BYTES - 1; i >= 0; i--)
		h = h << 8 | out[i];
	return h;
}

void dbr__digest_add(struct dbr_move_digest *d, uint64_t h)
{
	d->rows++;
	d->sum += h;
	d->xor ^= h;
}

void dbr__digest_buf_release(struct dbr__digest_buf *b)
{
	dbr__free(b->v);
	memset(b, 0, sizeof(*b));
}

/* The chat table a caller names: quoted as listed, or plain. */
struct wanted {
	const char *table;
	char *plain;  /* TABLE or SCHEMA.TABLE quoted */
	char *suffix; /* ."TABLE": a listed table in any schema */
	char *from, *column;
	bool text, found, nomem;
};

static void on_table(void *ud, const char *from, const char *column, bool text,
		     size_t conf)
{
	struct wanted *w = ud;
	size_t n = strlen(from), k = w->suffix ? strlen(w->suffix) : 0;

	(void)conf;
	if (w->found || w->nomem)
		return;
	if (strcmp(from, w->table) && (!w->plain || strcmp(from, w->plain)) &&
	    (!k || n <= k || strcmp(from + n - k, w->suffix)))
		return;
	w->from = dbr__strdup(from);
	w->column = dbr__strdup(column);
	w->text = text;
	w->found = true;
	w->nomem = !w->from || !w->column;
}

static int wanted_init(struct wanted *w, const char *table)
{
	const char *dot = strchr(table, '.');
	char *schema;

	memset(w, 0, sizeof(*w));
	w->table = table;
	if (table[0] == '"' || !dot) {
		/* "TABLE" or TABLE: the table in any schema too. */
		w->plain = table[0] == '"' ? dbr__strdup(table)
					   : dbr__mapping_quoted("", table);
		w->suffix = w->plain ? dbr__malloc(strlen(w->plain) + 2) : NULL;
		if (w->suffix)
			sprintf(w->suffix, ".%s", w->plain);
		return w->suffix ? DBR_OK : DBR_E_NOMEM;
	}
	schema = dbr__strndup(table, (size_t)(dot - table));
	w->plain = schema ? dbr__mapping_quoted(schema, dot + 1) : NULL;
	dbr__free(schema);
	return w->plain ? DBR_OK : DBR_E_NOMEM;
}

static void wanted_release(struct wanted *w)
{
	dbr__free(w->plain);
	dbr__free(w->suffix);
	dbr__free(w->from);
	dbr__free(w->column);
}

/* The result's column indices ordered by name, ASCII case ignored. */
static size_t *column_order(struct dbr_result *res, size_t n)
{
	size_t *o = dbr__calloc(n + 1, sizeof(*o)), i, j, t;

	for (i = 0; o && i < n; i++)
		o[i] = i;
	for (i = 1; o && i < n; i++)
		for (j = i; j > 0; j--) {
			const char *a = dbr_result_column_name(res, o[j - 1]);
			const char *b = dbr_result_column_name(res, o[j]);
			int c = strcasecmp(a ? a : "", b ? b : "");

			if (c < 0 || (c == 0 && strcmp(a, b) <= 0))
				break;
			t = o[j];
			o[j] = o[j - 1];
			o[j - 1] = t;
		}
	return o;
}

/* Digest every row of res into out. */
static int digest_rows(struct dbr_result *res, const char *source,
		       const char *from, const unsigned char *key,
		       struct dbr_move_digest *out, struct dbr_error *err)
{
	size_t ncols = dbr_result_column_count(res), i;
	size_t *order = column_order(res, ncols);
	struct dbr__digest_buf b = { 0 };
	struct dbr_value v;
	int rc = order ? DBR_OK : DBR_E_NOMEM;

	while (!rc && (rc = dbr_result_next(res)) == DBR_ROW) {
		b.len = 0;
		rc = DBR_OK;
		for (i = 0; !rc && i < ncols; i++) {
			dbr_result_value(res, order[i], &v);
			rc = dbr__digest_value(&b, &v);
			if (rc == DBR_E_UNSUPPORTED)
				rc = dbr__error_set(
					err, rc, source,
					"table %s: column %s: a value of type "
					"%d cannot be digested",
					from,
					dbr_result_column_name(res, order[i]),
					v.type);
		}
		if (!rc)
			dbr__digest_add(out, dbr__digest_hash(&b, key));
	}
	if (rc == DBR_DONE)
		rc = DBR_OK;
	else if (rc == DBR_E_NOMEM)
		rc = dbr__error_set(err, rc, NULL, "out of memory");
	else if (rc > DBR_OK && rc < DBR_ROW && dbr_result_error(res) &&
		 dbr_result_error(res)->code == rc && err)
		*err = *dbr_result_error(res);
	dbr__digest_buf_release(&b);
	dbr__free(order);
	return rc;
}

int dbr_move_digest(struct dbr *db, const char *source, const char *table,
		    int64_t chat, const unsigned char *key,
		    struct dbr_move_digest *out, struct dbr_error *err)
{
	static const unsigned char zero[16];
	struct dbr_result *res = NULL;
	struct wanted w;
	struct dbr_value p;
	char *sql = NULL;
	int rc;

	if (!db || !table || !out)
		return dbr__error_set(err, DBR_E_MISUSE, NULL,
				      "dbr_move_digest: db, table and out are "
				      "required");
	memset(out, 0, sizeof(*out));
	if (sodium_init() < 0)
		return dbr__error_set(err, DBR_E_NOMEM, NULL,
				      "libsodium cannot initialise");
	if (!source) {
		const struct dbr__config *cfg = db->cfg;

		source = cfg->sources[cfg->default_source].name;
	}
	rc = wanted_init(&w, table);
	if (!rc)
		rc = dbr__mapping_chat_tables(db, source, chat, on_table, &w,
					      err);
	if (!rc && w.nomem)
		rc = DBR_E_NOMEM;
	if (rc == DBR_E_NOMEM)
		rc = dbr__error_set(err, rc, NULL, "out of memory");
	if (!rc && !w.found)
		rc = dbr__error_set(err, DBR_E_NOTFOUND, source,
				    "source '%s': '%s' is not one of its chat "
				    "tables",
				    source, table);
	if (!rc && !(sql = dbr__malloc(strlen(w.from) + strlen(w.column) + 40)))
		rc = dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
	if (!rc) {
		char text[24];

		sprintf(sql, "SELECT * FROM %s WHERE %s = ?", w.from, w.column);
		snprintf(text, sizeof(text), "%lld", (long long)chat);
		p = w.text ? dbr_text(text, strlen(text)) : dbr_int64(chat);
		rc = dbr_query_source(db, source, sql, &p, 1, &res, err);
	}
	if (!rc)
		rc = digest_rows(res, source, w.from, key ? key : zero, out,
				 err);
	if (rc)
		memset(out, 0, sizeof(*out));
	dbr_result_free(res);
	dbr__free(sql);
	wanted_release(&w);
	return rc;
}
