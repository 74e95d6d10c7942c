/*
 * move_rows.c - one chat table's rows in a move: the statements that read
 * the chat's rows on the source (in key order, or one by key) and write
 * them on the destination (an upsert that never overwrites another chat's
 * row: 0 rows changed on a key conflict is an id collision), and the
 * bringing of one captured key (the delta's JSON array) to the
 * destination.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "move.h"
#include "sqltext.h"

/* The alias of the upsert's target (SQLite and PostgreSQL take one). */
#define TARGET "_dbroute_t"

static void put_name(struct dbr_sqltext *q, const char *name)
{
	dbr_sqltext_quoted(q, name, '"');
}

/* "k1", "k2" ... (with `suffix` after each, e.g. " = ?"), sep between. */
static void put_keys(struct dbr_sqltext *q, const struct dbr__move_table *t,
		     const char *suffix, const char *sep)
{
	size_t i;

	for (i = 0; i < t->nkey; i++) {
		dbr_sqltext_put(q, "%s", i ? sep : "");
		put_name(q, t->raw[t->key[i]]);
		dbr_sqltext_put(q, "%s", suffix);
	}
}

/* SELECT cols FROM src WHERE chat = ? */
static void put_select(struct dbr_sqltext *q, const struct dbr__move_table *t)
{
	size_t i;

	dbr_sqltext_put(q, "SELECT ");
	for (i = 0; i < t->ncols; i++) {
		dbr_sqltext_put(q, "%s", i ? ", " : "");
		put_name(q, t->raw[i]);
		if (t->as_text[i])
			dbr_sqltext_put(q, "::text");
	}
	dbr_sqltext_put(q, " FROM %s WHERE ", t->src);
	put_name(q, t->chat_raw);
	dbr_sqltext_put(q, " = ?");
}

static char *take(struct dbr_sqltext *q)
{
	char *s = q->failed ? NULL : dbr__strdup(q->s);

	free(q->s);
	memset(q, 0, sizeof(*q));
	return s;
}

static void put_upsert(struct dbr_sqltext *q, const struct dbr__move_table *t)
{
	size_t i, set = 0;

	dbr_sqltext_put(q, "INSERT INTO %s AS " TARGET " (", t->dst);
	for (i = 0; i < t->ncols; i++) {
		dbr_sqltext_put(q, "%s", i ? ", " : "");
		put_name(q, t->raw[i]);
	}
	dbr_sqltext_put(q, ") VALUES (");
	for (i = 0; i < t->ncols; i++)
		dbr_sqltext_put(q, "%s?", i ? ", " : "");
	dbr_sqltext_put(q, ") ON CONFLICT (");
	put_keys(q, t, "", ", ");
	dbr_sqltext_put(q, ") DO UPDATE SET ");
	for (i = 0; i < t->ncols; i++) {
		size_t k;
		bool key = false;

		for (k = 0; k < t->nkey; k++)
			key |= t->key[k] == i;
		if (key)
			continue;
		dbr_sqltext_put(q, "%s", set++ ? ", " : "");
		put_name(q, t->raw[i]);
		dbr_sqltext_put(q, " = excluded.");
		put_name(q, t->raw[i]);
	}
	if (!set) { /* every column is in the key */
		put_name(q, t->chat_raw);
		dbr_sqltext_put(q, " = excluded.");
		put_name(q, t->chat_raw);
	}
	dbr_sqltext_put(q, " WHERE " TARGET ".");
	put_name(q, t->chat_raw);
	dbr_sqltext_put(q, " = excluded.");
	put_name(q, t->chat_raw);
}

int dbr__move_table_sql(struct dbr__move_table *t, size_t batch)
{
	struct dbr_sqltext q = { 0 };
	size_t i;

	put_select(&q, t);
	dbr_sqltext_put(&q, " ORDER BY ");
	put_keys(&q, t, "", ", ");
	dbr_sqltext_put(&q, " LIMIT %zu", batch);
	t->sel_first = take(&q);
	put_select(&q, t);
	dbr_sqltext_put(&q, " AND (");
	put_keys(&q, t, "", ", ");
	dbr_sqltext_put(&q, ") > (");
	for (i = 0; i < t->nkey; i++)
		dbr_sqltext_put(&q, "%s?", i ? ", " : "");
	dbr_sqltext_put(&q, ") ORDER BY ");
	put_keys(&q, t, "", ", ");
	dbr_sqltext_put(&q, " LIMIT %zu", batch);
	t->sel_next = take(&q);
	put_select(&q, t);
	dbr_sqltext_put(&q, " AND ");
	put_keys(&q, t, " = ?", " AND ");
	t->sel_key = take(&q);
	put_upsert(&q, t);
	t->upsert = take(&q);
	dbr_sqltext_put(&q, "DELETE FROM %s WHERE ", t->dst);
	put_keys(&q, t, " = ?", " AND ");
	dbr_sqltext_put(&q, " AND ");
	put_name(&q, t->chat_raw);
	dbr_sqltext_put(&q, " = ?");
	t->del = take(&q);
	return t->sel_first && t->sel_next && t->sel_key && t->upsert && t->del
		       ? DBR_OK
		       : DBR_E_NOMEM;
}

struct dbr_value dbr__move_chat_value(const struct dbr__move *m,
				      const struct dbr__move_table *t,
				      char *buf, size_t size)
{
	if (!t->chat_text)
		return dbr_int64(m->chat);
	snprintf(buf, size, "%lld", (long long)m->chat);
	return dbr_text(buf, strlen(buf));
}

/* One value for a message: an integer, 'text', x'HEX' (cut when long). */
static void value_text(const struct dbr_value *v, char *buf, size_t size)
{
	size_t i, len = 0;

	switch (v->type) {
	case DBR_TYPE_NULL: snprintf(buf, size, "NULL"); break;
	case DBR_TYPE_DOUBLE: snprintf(buf, size, "%.17g", v->u.d); break;
	case DBR_TYPE_TEXT:
		snprintf(buf, size, "'%.*s'", (int)(v->len > 64 ? 64 : v->len),
			 v->u.s);
		break;
	case DBR_TYPE_BLOB:
		len = (size_t)snprintf(buf, size, "x'");
		for (i = 0; i < v->len && i < 32 && len + 3 < size; i++)
			len += (size_t)snprintf(
				buf + len, size - len, "%02x",
				((const unsigned char *)v->u.b)[i]);
		snprintf(buf + len, size - len, "'");
		break;
	default: snprintf(buf, size, "%lld", (long long)v->u.i); break;
	}
}

/* The key of vals (the table's columns, or the key's own) as text. */
static void key_of(const struct dbr__move_table *t,
		   const struct dbr_value *vals, bool whole_row, char *buf,
		   size_t size)
{
	char one[160];
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < t->nkey && len < size; i++) {
		value_text(&vals[whole_row ? t->key[i] : i], one, sizeof(one));
		len += (size_t)snprintf(buf + len, size - len, "%s%s=%s",
					i ? ", " : "", t->raw[t->key[i]], one);
	}
}

void dbr__move_key_text(const struct dbr__move_table *t, struct dbr_result *res,
			char *buf, size_t size)
{
	struct dbr_value v[64];
	size_t i;

	for (i = 0; i < t->ncols && i < 64; i++)
		if (dbr_result_value(res, i, &v[i]))
			v[i] = dbr_null();
	key_of(t, v, true, buf, size);
}

int dbr__move_upsert(struct dbr__move *m, const struct dbr__move_table *t,
		     struct dbr_tx *tx, struct dbr_result *res,
		     struct dbr_error *err)
{
	struct dbr_value stack[32], *v = stack;
	struct dbr_result *out = NULL;
	char key[400];
	size_t i;
	int rc = DBR_OK;

	if (t->ncols > 32 && !(v = dbr__calloc(t->ncols, sizeof(*v))))
		return dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
	for (i = 0; i < t->ncols; i++)
		if (dbr_result_value(res, i, &v[i]))
			v[i] = dbr_null();
	for (i = 0; m->dst_pg && i < t->ncols; i++)
		if (v[i].type == DBR_TYPE_TEXT && memchr(v[i].u.s, 0, v[i].len))
			break;
	if (m->dst_pg && i < t->ncols) {
		key_of(t, v, true, key, sizeof(key));
		rc = dbr__error_set(err, DBR_E_CONSTRAINT, m->dst,
				    "table %s, key %s: column %s holds text "
				    "with a NUL byte, which PostgreSQL text "
				    "cannot hold",
				    t->src, key, t->raw[i]);
	}
	if (!rc)
		rc = dbr_tx_query(tx, t->upsert, v, t->ncols, &out, err);
	if (!rc && dbr_result_changes(out) == 0) {
		key_of(t, v, true, key, sizeof(key));
		rc = dbr__error_set(err, DBR_E_CONSTRAINT, m->dst,
				    "table %s, key %s: the destination holds "
				    "another chat's row under this key (an id "
				    "collision): nothing was overwritten",
				    t->dst, key);
	} else if (rc && rc != DBR_E_CONSTRAINT) {
		char msg[2048];

		key_of(t, v, true, key, sizeof(key));
		snprintf(msg, sizeof(msg), "table %s, key %s: %s", t->dst, key,
			 err ? err->message : "");
		if (err)
			dbr__error_message(err, msg);
	}
	m->copied += !rc;
	dbr_result_free(out);
	if (v != stack)
		dbr__free(v);
	return rc;
}

/* A JSON key element as a value; a blob's bytes into *blob (owned). */
static int json_value(const json_t *j, struct dbr_value *v,
		      unsigned char **blob)
{
	const char *hex;
	size_t i, n;

	*blob = NULL;
	if (json_is_integer(j)) {
		*v = dbr_int64(json_integer_value(j));
	} else if (json_is_real(j)) {
		*v = dbr_double(json_real_value(j));
	} else if (json_is_string(j)) {
		*v = dbr_text(json_string_value(j), json_string_length(j));
	} else if (json_is_null(j)) {
		*v = dbr_null();
	} else if (json_is_object(j) &&
		   (hex = json_string_value(json_object_get(j, "b")))) {
		n = strlen(hex) / 2;
		if (!(*blob = dbr__malloc(n + 1)))
			return DBR_E_NOMEM;
		for (i = 0; i < n; i++) {
			unsigned x = 0;

			if (sscanf(hex + 2 * i, "%2x", &x) != 1)
				return DBR_E_STMT;
			(*blob)[i] = (unsigned char)x;
		}
		*v = dbr_blob(*blob, n);
	} else {
		return DBR_E_STMT;
	}
	return DBR_OK;
}

/* The delta's key pk parsed into v[0 .. nkey) and v[nkey] the chat. */
static int parse_key(const struct dbr__move *m, const struct dbr__move_table *t,
		     const char *pk, json_t **doc, struct dbr_value *v,
		     unsigned char **blobs, char *chatbuf, size_t chatsize,
		     struct dbr_error *err)
{
	size_t i;
	int rc = DBR_OK;

	*doc = json_loads(pk, JSON_DECODE_ANY, NULL);
	if (!*doc || !json_is_array(*doc) || json_array_size(*doc) != t->nkey)
		rc = DBR_E_STMT;
	for (i = 0; !rc && i < t->nkey; i++)
		rc = json_value(json_array_get(*doc, i), &v[i], &blobs[i]);
	if (rc == DBR_E_NOMEM)
		return dbr__error_set(err, rc, NULL, "out of memory");
	if (rc)
		return dbr__error_set(err, DBR_E_STMT, m->src,
				      "table %s: a captured key that is not "
				      "a JSON array of %zu values: %.200s",
				      t->src, t->nkey, pk);
	v[t->nkey] = dbr__move_chat_value(m, t, chatbuf, chatsize);
	return DBR_OK;
}

int dbr__move_row_sync(struct dbr__move *m, const struct dbr__move_table *t,
		       struct dbr_tx *tx, const char *pk, struct dbr_error *err)
{
	struct dbr_value v[33];
	unsigned char *blobs[32] = { 0 };
	/* cppcheck-suppress variableScope ; v[nkey] points into it */
	char chat[24];
	struct dbr_result *res = NULL;
	json_t *doc = NULL;
	size_t i;
	int rc = t->nkey > 32 ? dbr__error_set(err, DBR_E_UNSUPPORTED, NULL,
					       "a key of more than 32 "
					       "columns")
			      : DBR_OK;

	if (!rc)
		rc = parse_key(m, t, pk, &doc, v, blobs, chat, sizeof(chat),
			       err);
	/* sel_key's parameters: the chat, then the key. */
	if (!rc) {
		struct dbr_value p[33];

		p[0] = v[t->nkey];
		memcpy(p + 1, v, t->nkey * sizeof(*v));
		rc = dbr_query_source(m->db, m->src, t->sel_key, p, t->nkey + 1,
				      &res, err);
	}
	if (!rc) {
		rc = dbr_result_next(res);
		if (rc == DBR_ROW)
			rc = dbr__move_upsert(m, t, tx, res, err);
		else if (rc == DBR_DONE)
			rc = dbr_tx_query(tx, t->del, v, t->nkey + 1, NULL,
					  err);
		else if (err)
			*err = *dbr_result_error(res);
	}
	dbr_result_free(res);
	for (i = 0; i < 32; i++)
		dbr__free(blobs[i]);
	json_decref(doc);
	return rc;
}
