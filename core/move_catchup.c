/*
 * move_catchup.c - a move's catch-up: the keys the source's triggers
 * recorded in _dbroute_delta, each brought to the destination (the row
 * re-read on the source by key and chat, then upserted; deleted on the
 * destination when the source no longer has it), one destination
 * transaction per read of the delta; then those delta rows are deleted
 * on the source, by their seq.
 *
 * No cursor on seq: on PostgreSQL a writer takes its seq (a sequence) at
 * its insert and commits later, so a row of a lower seq may appear after
 * a higher one was read. Every row left is read again, in seq order,
 * until none is left; the switch requires none left.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fence.h"
#include "move.h"
#include "sqltext.h"

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

/* Delete rows[0 .. n) from the source's delta (applied). */
static int forget(struct dbr__move *m, const struct dbr__delta *rows, size_t n,
		  struct dbr_error *err)
{
	struct dbr_value id = dbr_int64(m->id);
	struct dbr_sqltext q = { 0 };
	size_t i;
	int rc;

	if (!n)
		return DBR_OK;
	dbr_sqltext_put(&q, "DELETE FROM _dbroute_delta WHERE move_id = ? "
			    "AND seq IN (");
	for (i = 0; i < n; i++)
		dbr_sqltext_put(&q, "%s%lld", i ? ", " : "",
				(long long)rows[i].seq);
	dbr_sqltext_put(&q, ")");
	rc = q.failed ? dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory")
		      : dbr_query_source(m->db, m->src, q.s, &id, 1, NULL, err);
	free(q.s);
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
		rc = dbr__fence_delta(m->db, m->src, m->id, 0, m->batch_rows,
				      &rows, &n, err);
		if (!rc)
			rc = apply(m, rows, n, err);
		if (!rc)
			rc = forget(m, rows, n, err);
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
