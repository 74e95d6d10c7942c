/*
 * move_switch.c - a move's end: catch up until the backlog is small,
 * fence the chat on its source (`[move] fence_timeout`, on the source's
 * clock), drain the last changes, compare every table's digest on both
 * sides, advance the destination's sequences, then the commit point: the
 * source's fence row set to 'moved' in a transaction that holds the row
 * (PostgreSQL: FOR UPDATE, so no writer of the chat runs; SQLite: the
 * write lock) and checks that the fence still holds on the source's clock
 * and that no captured change is left to apply. Only then
 * is the chat mapped to the destination in the store. A fence that
 * expires first is lifted (back to capture) and the attempt retried.
 * Also the undo of a move that did not switch.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fence.h"
#include "mapstore.h"
#include "move.h"
#include "query.h"

/* The backlog under which the chat is fenced, in captured keys. */
#define MAX_LAG_ROWS 200
/* How long a catch-up before the fence may take, in seconds. */
#define CATCHUP_TIMEOUT 600.0
/* The part of the fence budget the mover may spend before the switch. */
#define FENCE_SHARE 0.8

/* Compare table t's digests on both sides. */
static int verify_table(struct dbr__move *m, const struct dbr__move_table *t,
			const unsigned char key[16], struct dbr_error *err)
{
	struct dbr_move_digest a, b;
	int rc = dbr_move_digest(m->db, m->src, t->src, m->chat, key, &a, err);

	if (!rc)
		rc = dbr_move_digest(m->db, m->dst, t->dst, m->chat, key, &b,
				     err);
	if (!rc && (a.rows != b.rows || a.sum != b.sum || a.xor != b.xor))
		rc = dbr__error_set(err, DBR_E_CONSTRAINT, m->dst,
				    "table %s: the chat's rows differ after "
				    "the copy (%lld on '%s', %lld on '%s', "
				    "digests %016llx/%016llx)",
				    t->src, (long long)a.rows, m->src,
				    (long long)b.rows, m->dst,
				    (unsigned long long)a.sum,
				    (unsigned long long)b.sum);
	return rc;
}

static int verify(struct dbr__move *m, struct dbr_error *err)
{
	unsigned char key[16];
	size_t i;
	int rc = DBR_OK;

	if (sodium_init() < 0)
		return dbr__error_set(err, DBR_E_NOMEM, NULL,
				      "libsodium could not start");
	randombytes_buf(key, sizeof(key));
	for (i = 0; !rc && i < m->nt; i++)
		rc = verify_table(m, &m->t[i], key, err);
	return rc;
}

/* PostgreSQL destination: each integer key column's sequence (serial or
 * identity) past the largest id of the table, never back. */
static int sequences(struct dbr__move *m, struct dbr_error *err)
{
	char sql[1400];
	size_t i, k;
	int rc = DBR_OK;

	for (i = 0; !rc && m->dst_pg && i < m->nt; i++) {
		const struct dbr__move_table *t = &m->t[i];

		for (k = 0; !rc && k < t->nkey; k++) {
			const char *col = t->raw[t->key[k]];
			struct dbr_value p[2] = {
				dbr_text(t->dst, strlen(t->dst)),
				dbr_text(col, strlen(col)),
			};

			if (!t->is_int[t->key[k]] || strchr(col, '"'))
				continue;
			snprintf(sql, sizeof(sql),
				 "SELECT setval(s, GREATEST(x, COALESCE("
				 "pg_sequence_last_value(s::regclass), 0))) "
				 "FROM (SELECT pg_get_serial_sequence(?, ?) "
				 "AS s, (SELECT max(\"%s\") FROM %s) AS x) q "
				 "WHERE s IS NOT NULL AND x IS NOT NULL",
				 col, t->dst);
			rc = dbr_query_source(m->db, m->dst, sql, p, 2, NULL,
					      err);
		}
	}
	return rc;
}

/* The commit point on the source; *done when the fence said moved. */
static int commit_point(struct dbr__move *m, bool *done, struct dbr_error *err)
{
	struct dbr_value id = dbr_int64(m->id);
	struct dbr_result *res = NULL;
	struct dbr_tx *tx = NULL;
	int64_t now = 0, newer = 0;
	bool row = false;
	int rc = dbr_tx_begin_source(m->db, m->src, &tx, err);

	*done = false;
	if (!rc)
		rc = dbr_tx_query(tx,
				  m->src_pg
					  ? "SELECT fence_until_ms FROM "
					    "_dbroute_fence WHERE move_id = "
					    "? FOR UPDATE"
					  : "SELECT fence_until_ms FROM "
					    "_dbroute_fence WHERE move_id = ?",
				  &id, 1, &res, err);
	dbr_result_free(res);
	res = NULL;
	/* The row is held: no write of the chat runs until the end. */
	if (!rc)
		rc = dbr__fence_clock(m->db, m->src, &now, err);
	if (!rc)
		rc = dbr_tx_query(tx,
				  "SELECT count(*) FROM _dbroute_delta WHERE "
				  "move_id = ?",
				  &id, 1, &res, err);
	if (!rc && !(rc = dbr__result_first(res, &row, err)) && row)
		newer = dbr_result_int64(res, 0);
	dbr_result_free(res);
	res = NULL;
	if (!rc && !newer) {
		struct dbr_value p[3] = { id, dbr_int64(m->token),
					  dbr_int64(now) };

		rc = dbr_tx_query(tx,
				  "UPDATE _dbroute_fence SET state = 'moved' "
				  "WHERE move_id = ? AND state = 'fenced' AND "
				  "token = ? AND fence_until_ms > ?",
				  p, 3, &res, err);
		*done = !rc && dbr_result_changes(res) == 1;
		dbr_result_free(res);
	}
	if (!rc && *done)
		rc = dbr_tx_commit(tx, err);
	else if (tx)
		dbr_tx_rollback(tx, NULL);
	if (rc)
		*done = false;
	return rc;
}

/* The store's change, retried a few times: the chat lives on the
 * destination already (the source's fence says moved). */
static int store_switch(struct dbr__move *m, struct dbr_error *err)
{
	int i, rc = DBR_OK;

	for (i = 0; i < 5; i++) {
		rc = dbr__mapping_switch(m->db, m->chat, m->id, m->token,
					 m->dst, m->pause_ms, err);
		if (!rc)
			break;
	}
	if (rc) {
		snprintf(m->state, sizeof(m->state), "failed");
		dbr__error_hint(err, "the chat lives on the destination (the "
				     "source refuses its writes), but the "
				     "store still maps it to the source: see "
				     "docs/moving-chats.md");
	}
	return rc;
}

/*
 * A test's stand-in for a mover that stalls inside the fence:
 * DBROUTE_TEST_MOVE_STALL="MS:N" sleeps MS milliseconds (at most 60 s)
 * after the drain of each of the first N attempts.
 */
static void test_stall(const struct dbr__move *m)
{
	const char *s = getenv("DBROUTE_TEST_MOVE_STALL");
	long ms = 0, n = 0;
	struct timespec ts;

	if (!s || sscanf(s, "%ld:%ld", &ms, &n) != 2 || ms <= 0 || ms > 60000 ||
	    m->attempts > n)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = ms % 1000 * 1000000L;
	nanosleep(&ts, NULL);
}

/* One attempt inside the fence (set before, at t0 on the monotonic
 * clock); *switched when it committed. */
static int fenced(struct dbr__move *m, double t0, bool *switched,
		  struct dbr_error *err)
{
	double limit = t0 + FENCE_SHARE * (double)m->fence_ms / 1000.0;
	bool more = false, done = false;
	int rc = dbr__move_catchup(m, 0, limit, &more, err);

	*switched = false;
	test_stall(m);
	if (!rc && !more && dbr__now() < limit)
		rc = verify(m, err);
	if (!rc && !more && dbr__now() < limit)
		rc = sequences(m, err);
	if (rc || more || dbr__now() >= limit)
		return rc;
	rc = commit_point(m, &done, err);
	if (rc || !done)
		return rc;
	m->pause_ms = (int64_t)((dbr__now() - t0) * 1000.0);
	rc = store_switch(m, err);
	/* The pause ends when the store's change commits. */
	m->pause_ms = (int64_t)((dbr__now() - t0) * 1000.0);
	*switched = !rc;
	if (!rc)
		snprintf(m->state, sizeof(m->state), "switched");
	return rc;
}

int dbr__move_switch(struct dbr__move *m, struct dbr_error *err)
{
	int64_t now;
	bool more, done, switched = false;
	int rc = DBR_OK;

	for (m->attempts = 1; !rc && m->attempts <= m->max_attempts;
	     m->attempts++) {
		double t0;

		snprintf(m->state, sizeof(m->state), "catching_up");
		rc = dbr__move_catchup(m, MAX_LAG_ROWS,
				       dbr__now() + CATCHUP_TIMEOUT, &more,
				       err);
		if (!rc && more)
			rc = dbr__error_set(err, DBR_E_TIMEOUT, m->src,
					    "chat %lld: the captured changes "
					    "did not fall under %d in %.0f s",
					    (long long)m->chat, MAX_LAG_ROWS,
					    CATCHUP_TIMEOUT);
		if (!rc)
			rc = dbr__move_record_save(m, err);
		if (!rc)
			rc = dbr__fence_clock(m->db, m->src, &now, err);
		t0 = dbr__now();
		if (!rc)
			rc = dbr__fence_set(m->db, m->src, m->id, "capture",
					    m->token, "fenced", m->token,
					    now + m->fence_ms, &done, err);
		if (!rc && !done)
			rc = dbr__error_set(err, DBR_E_STMT, m->src,
					    "move %lld: the source's fence is "
					    "not in state capture with token "
					    "%lld",
					    (long long)m->id,
					    (long long)m->token);
		if (rc)
			break;
		snprintf(m->state, sizeof(m->state), "fenced");
		dbr__move_progress(m);
		rc = fenced(m, t0, &switched, err);
		if (rc || switched)
			break; /* m->attempts counts this one */
		/* Too late: lift the fence; writes resume on the source. */
		rc = dbr__fence_set(m->db, m->src, m->id, "fenced", m->token,
				    "capture", m->token, 0, &done, err);
	}
	if (!rc && !switched) {
		m->attempts = m->max_attempts;
		rc = dbr__error_set(err, DBR_E_MOVING, m->src,
				    "chat %lld too busy: the fence expired "
				    "before the switch in each of %d "
				    "attempts (fence_timeout %lld ms)",
				    (long long)m->chat, m->max_attempts,
				    (long long)m->fence_ms);
	}
	if (!rc || !strcmp(m->state, "failed"))
		return rc;
	/* A failure inside the fence lifts it before the undo. */
	dbr__fence_set(m->db, m->src, m->id, "fenced", m->token, "capture",
		       m->token, 0, &done, NULL);
	return rc;
}

/* Keep the first error of a best-effort sequence. */
static void keep(int *rc, int step, struct dbr_error *err,
		 const struct dbr_error *e)
{
	if (step && !*rc) {
		*rc = step;
		if (err)
			*err = *e;
	}
}

int dbr__move_undo(struct dbr__move *m, struct dbr_error *err)
{
	struct dbr_value id = dbr_int64(m->id);
	char sql[1200], chat[24];
	struct dbr_error e;
	size_t i;
	int rc = DBR_OK;

	for (i = 0; i < m->nt; i++) {
		const struct dbr__move_table *t = &m->t[i];
		struct dbr_capture cap = dbr__move_cap(m, t);

		keep(&rc, dbr__move_capture(m, &cap, false, &e), err, &e);
	}
	/* Without a capture installed the two tables may not exist. The
	 * fence row stays while a trigger does: they fail closed without it
	 * (the chat's writes would be refused for good). */
	if (!rc)
		dbr_query_source(m->db, m->src,
				 "DELETE FROM _dbroute_fence WHERE move_id = "
				 "?",
				 &id, 1, NULL, NULL);
	dbr_query_source(m->db, m->src,
			 "DELETE FROM _dbroute_delta WHERE move_id = ?", &id, 1,
			 NULL, NULL);
	for (i = 0; i < m->nt; i++) {
		const struct dbr__move_table *t = &m->t[i];
		struct dbr_value p =
			dbr__move_chat_value(m, t, chat, sizeof(chat));

		snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE \"%s\" = ?",
			 t->dst, t->chat_raw);
		keep(&rc, dbr_query_source(m->db, m->dst, sql, &p, 1, NULL, &e),
		     err, &e);
	}
	return rc;
}
