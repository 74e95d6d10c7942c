/*
 * move_copy.c - a move's copy: each chat table read on the source in
 * keyset batches (the chat's rows after the last key copied, in key
 * order, `[move] batch_rows` at a time) and upserted on the destination,
 * one transaction per batch, the cursor saved in the move's row after
 * each. Rows written on the source meanwhile are captured and applied
 * later (move_catchup.c).
 */
#include <stdio.h>
#include <string.h>

#include "move.h"

/* The last key copied: owned copies of its values. */
struct last_key {
	struct dbr_value v[32];
	char *bytes[32];
	size_t n;
};

static void last_key_release(struct last_key *k)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		dbr__free(k->bytes[i]);
	memset(k, 0, sizeof(*k));
}

/* Keep res's key columns as the last key. */
static int keep_key(const struct dbr__move_table *t, struct dbr_result *res,
		    struct last_key *k)
{
	size_t i;

	last_key_release(k);
	for (i = 0; i < t->nkey; i++) {
		struct dbr_value v;

		if (dbr_result_value(res, t->key[i], &v))
			v = dbr_null();
		if (v.type == DBR_TYPE_TEXT || v.type == DBR_TYPE_BLOB) {
			k->bytes[i] = dbr__malloc(v.len + 1);
			if (!k->bytes[i])
				return DBR_E_NOMEM;
			if (v.len)
				memcpy(k->bytes[i], v.u.s, v.len);
			v.u.s = k->bytes[i];
		}
		k->v[i] = v;
		k->n = i + 1;
	}
	return DBR_OK;
}

/* One batch of table t after key k (none: the first); *rows read. */
static int batch(struct dbr__move *m, const struct dbr__move_table *t,
		 struct last_key *k, bool first, size_t *rows,
		 struct dbr_error *err)
{
	struct dbr_value p[33];
	char chat[24];
	struct dbr_result *res = NULL;
	struct dbr_tx *tx = NULL;
	bool own = false;
	int rc;

	*rows = 0;
	p[0] = dbr__move_chat_value(m, t, chat, sizeof(chat));
	memcpy(p + 1, k->v, t->nkey * sizeof(*p));
	rc = dbr_query_source(m->db, m->src, first ? t->sel_first : t->sel_next,
			      p, first ? 1 : t->nkey + 1, &res, err);
	if (!rc)
		rc = dbr_tx_begin_source(m->db, m->dst, &tx, err);
	while (!rc && (rc = dbr_result_next(res)) == DBR_ROW) {
		rc = dbr__move_upsert(m, t, tx, res, err);
		if (!rc && (rc = keep_key(t, res, k)))
			dbr__error_set(err, rc, NULL, "out of memory");
		own = rc != DBR_OK; /* err is the upsert's */
		(*rows)++;
	}
	if (rc == DBR_DONE)
		rc = DBR_OK;
	else if (rc && !own && res && err)
		*err = *dbr_result_error(res);
	dbr_result_free(res);
	if (!rc)
		rc = dbr_tx_commit(tx, err);
	else if (tx)
		dbr_tx_rollback(tx, NULL);
	return rc;
}

int dbr__move_copy(struct dbr__move *m, struct dbr_error *err)
{
	struct last_key k = { 0 };
	size_t i, rows;
	bool first;
	int rc = DBR_OK;

	for (i = 0; !rc && i < m->nt; i++) {
		const struct dbr__move_table *t = &m->t[i];

		for (first = true; !rc; first = false) {
			rc = batch(m, t, &k, first, &rows, err);
			if (rc || !rows)
				break;
			snprintf(m->cursor, sizeof(m->cursor), "%s after ",
				 t->src);
			if (k.n) {
				size_t len = strlen(m->cursor);
				struct dbr_value *v = k.v;

				if (v->type == DBR_TYPE_INT64)
					snprintf(m->cursor + len,
						 sizeof(m->cursor) - len,
						 "%lld", (long long)v->u.i);
				else
					snprintf(m->cursor + len,
						 sizeof(m->cursor) - len,
						 "(a key of type %d)", v->type);
			}
			rc = dbr__move_record_save(m, err);
			dbr__move_progress(m);
			if (rows < m->batch_rows)
				break;
		}
		last_key_release(&k);
	}
	last_key_release(&k);
	return rc;
}
