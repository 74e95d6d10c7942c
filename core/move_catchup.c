/*
 * move_catchup.c - a move's catch-up: the keys the source's triggers
 * recorded in _dbroute_delta since the last one applied, each brought to
 * the destination (the row re-read on the source by key and chat, then
 * upserted; deleted on the destination when the source no longer has
 * it), one destination transaction per read of the delta.
 */
#include <string.h>

#include "fence.h"
#include "move.h"

/* Reads of the delta one catch-up makes at most (a bound; the deadline
 * normally ends it first). */
#define MAX_READS 1000000

static const struct dbr__move_table *table_named(const struct dbr__move *m,
						 const char *name)
{
	size_t i;

	for (i = 0; i < m->nt; i++)
		if (!strcmp(m->t[i].name, name))
			return &m->t[i];
	return NULL;
}

/* Apply rows[0 .. n) in one destination transaction. */
static int apply(struct dbr__move *m, const struct dbr__delta *rows, size_t n,
		 struct dbr_error *err)
{
	struct dbr_tx *tx = NULL;
	size_t i;
	int rc = dbr_tx_begin_source(m->db, m->dst, &tx, err);

	for (i = 0; !rc && i < n; i++) {
		const struct dbr__move_table *t = table_named(m, rows[i].table);

		if (!t)
			rc = dbr__error_set(err, DBR_E_STMT, m->src,
					    "move %lld: the delta names table "
					    "'%s', not one of the chat's",
					    (long long)m->id, rows[i].table);
		else
			rc = dbr__move_row_sync(m, t, tx, rows[i].pk, err);
	}
	if (!rc)
		rc = dbr_tx_commit(tx, err);
	else if (tx)
		dbr_tx_rollback(tx, NULL);
	if (!rc && n)
		m->seq = rows[n - 1].seq;
	return rc;
}

int dbr__move_catchup(struct dbr__move *m, size_t small, double deadline,
		      bool *more, struct dbr_error *err)
{
	struct dbr__delta *rows = NULL;
	size_t n = 0;
	long reads;
	int rc = DBR_OK;

	*more = true;
	for (reads = 0; !rc && reads < MAX_READS; reads++) {
		rc = dbr__fence_delta(m->db, m->src, m->id, m->seq,
				      m->batch_rows, &rows, &n, err);
		if (!rc)
			rc = apply(m, rows, n, err);
		dbr__fence_delta_free(rows, n);
		rows = NULL;
		m->backlog = (int64_t)n;
		if (rc)
			break;
		if (n)
			dbr__move_progress(m);
		if (!n || n < small) {
			*more = false;
			break;
		}
		if (dbr__now() > deadline)
			break;
	}
	return rc;
}
