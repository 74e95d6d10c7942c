/*
 * query.c - running statements on routed sources, the result cursor, and
 * transactions.
 *
 * A result lives inside its pooled connection (struct dbr__pconn), so a
 * statement runs without allocating: route, take a connection (failover.c
 * decides which), let the driver run the statement, hand back the
 * connection's result. The pointer handed back carries the result's
 * generation (pool.h), and every call on a result or a transaction first
 * checks it, so a pointer kept past its free or its transaction's end gets
 * DBR_E_MISUSE instead of the next holder's object.
 */
#include <string.h>
#include <time.h>

#include "failover.h"
#include "fanout.h"
#include "query.h"
#include "refresh.h"
#include "named.h"
#include "route.h"
#include "value.h"

static struct dbr_source_config *source_of(const struct dbr__pconn *pc)
{
	return pc->pool->src;
}

/* What dbr_result_error() gives for a stale pointer. */
static const struct dbr_error stale_error = {
	.code = DBR_E_MISUSE,
	.message = "result is stale: used after dbr_result_free(), or after "
		   "its transaction ended",
	.hint = "keep no result past dbr_result_free() or the end of its "
		"transaction",
};

/*
 * What dbr_result_error() gives before a call on the result failed: a
 * result's own error is marked unset by its code alone (run() stores one
 * int, not the struct's 1.2 KB), and its other fields are then the last
 * holder's of the slot, never shown.
 */
static const struct dbr_error no_error = {
	.code = DBR_OK,
	.message = "no error",
	.hint = "",
};

/*
 * A stale pointer p was given to `what`, which ended nothing: report it
 * through the pool its object belongs to, whichever kind the object is
 * (its word says; p may be of the other kind). Only fields that never
 * change after the object was made are read (another thread may hold it
 * now): a slot's pool, a fan-out shell's `merge` and home pool.
 */
static void stale(const void *p, const char *what)
{
	void *obj = dbr__gen_object(p);
	const struct dbr_result *r = obj;
	struct dbr__pool *pool;
	bool fanout = false;

	if (dbr__gen_word(obj) & DBR__GEN_TX) {
		pool = DBR__CONTAINER_OF(obj, struct dbr__pconn, tx)->pool;
	} else if (r->merge) {
		pool = dbr__merge_home(r);
		fanout = true;
	} else {
		pool = DBR__CONTAINER_OF(r, struct dbr__pconn, res)->pool;
	}
	dbr__pool_stale(pool, fanout, what);
}

/*
 * Account for a failed call on pc. Whether pc is pooled again is not
 * decided here: the pool asks the driver when pc is put back (pool.c). A
 * lost link makes the core check its source at once (one reconnect); the
 * statement is never re-sent (only one its source refused, unapplied,
 * because its chat is moving: query_at()).
 */
static void failed(struct dbr *db, struct dbr__pconn *pc, int rc,
		   struct dbr_error *err)
{
	struct dbr_source_config *s = source_of(pc);

	pc->errors++;
	dbr__error_source(err, s->name);
	dbr__health_error(&s->rt->health, false, rc, err);
	if (rc == DBR_E_CONN)
		dbr__failover_lost(db, s);
}

/*
 * Writes the core must know of (enum dbr__result_notes): a diverted
 * operation of a chat that may have written is remembered by its chat, to
 * be moved back later; a statement on an explicitly named source that may
 * have written is audited, when auditing is on. For an operation diverted
 * from `from` or run on a named source: which of the two apply, the
 * driver told to learn exactly whether the statement writes. Off the
 * common path: a chat's operation on its own source never comes here.
 */
static DBR_NOINLINE unsigned notes_for(struct dbr *db, struct dbr__pconn *pc,
				       const struct dbr_source_config *from,
				       bool by_chat)
{
	const struct dbr_driver *vt = &source_of(pc)->drv->vt;
	unsigned notes = 0;

	if (from && by_chat)
		notes |= DBR__NOTE_DIVERTED;
	if (!from && dbr__audit_on(&db->audit))
		notes |= DBR__NOTE_AUDIT;
	if ((from || notes) && vt->track_writes)
		vt->track_writes(pc->dc);
	return notes;
}

/* A statement with `notes` wrote, or may have: remembered, audited. */
static void noted_write(struct dbr *db, unsigned notes,
			const struct dbr_source_config *from, int64_t chat,
			const struct dbr_source_config *s)
{
	if (notes & DBR__NOTE_DIVERTED)
		dbr__health_remember(&from->rt->health, chat);
	if (notes & DBR__NOTE_AUDIT)
		dbr__audit_explicit_write(&db->audit, s->name);
}

/* The statement of a result with notes ended: did it write? The driver
 * says, unless it cannot tell (then every such statement counts). */
static DBR_NOINLINE void notes_ended(struct dbr_result *res)
{
	const struct dbr_driver *vt = res->vt;

	vt->finish(res->dc);
	if (!vt->wrote || vt->wrote(res->dc))
		noted_write(res->db, res->notes, res->from, res->chat,
			    source_of(res->pc));
}

/* Inlined: every result's end passes here, and few have notes. */
static DBR_INLINE void note_writes(struct dbr_result *res)
{
	if (DBR_UNLIKELY(res->notes))
		notes_ended(res);
}

/* Step a result the core holds as its object. */
static int result_next(struct dbr_result *res)
{
	int rc;

	if (res->merge)
		return dbr__merge_next(res);
	res->row = false;
	if (res->done)
		return DBR_DONE;
	rc = res->vt->next(res->dc, &res->err);
	if (rc == DBR_ROW) {
		res->row = true;
		return rc;
	}
	res->done = true;
	dbr__metrics_ended(&res->pc->m);
	if (rc != DBR_DONE)
		failed(res->db, res->pc, rc, &res->err);
	return rc;
}

/* Drain a cursor to its end (for callers that want no rows). */
static int drain(struct dbr_result *res, struct dbr_error *err)
{
	int rc;

	while ((rc = result_next(res)) == DBR_ROW)
		;
	if (rc == DBR_DONE)
		return DBR_OK;
	if (err)
		*err = res->err;
	return rc;
}

/*
 * Count an operation of `kind` (-1: read or write, by its text) on pc,
 * sent at `sent` when it is timed (else 0). Whether it is sampled, and
 * its weight, were decided before: take() or sampled().
 */
static DBR_INLINE void count_op(struct dbr__pconn *pc, int kind,
				const char *sql, uint64_t sent)
{
	pc->ops++;
	if (DBR_UNLIKELY(pc->pool->metrics == DBR__METRICS_OFF))
		return;
	dbr__count(&pc->m.ops[kind < 0 ? dbr__metrics_kind_of(sql) : kind], 1);
	pc->m.sent_ns = sent;
}

/*
 * A statement that was not routed (a transaction's, a fan-out's part)
 * about to be sent on pc: sampled (`weight` 0: by this thread's
 * countdown); when it is to be timed, the time, else 0.
 */
static DBR_INLINE uint64_t sampled(struct dbr__pconn *pc, uint32_t weight)
{
	const struct dbr__pool *p = pc->pool;

	if (p->metrics == DBR__METRICS_OFF)
		return 0;
	pc->m.weight = weight ? weight : dbr__sample(p->sample);
	if (DBR_UNLIKELY(pc->m.weight) && p->metrics == DBR__METRICS_TIMING)
		return dbr__clock_ns();
	return 0;
}

/*
 * vt->query() with parameters that hold a bool or a timestamp: checked,
 * then sent as they are to a driver of ABI 2.2 or later, converted for
 * an earlier one (dbr__values_downgrade()), which never receives a type
 * it does not know.
 */
static DBR_COLD int query_typed(const struct dbr_driver *vt,
				struct dbr_driver_conn *dc, const char *sql,
				const struct dbr_value *params, size_t nparams,
				struct dbr_error *err)
{
	struct dbr__values conv = { 0 };
	int rc = dbr__values_check(params, nparams, err);

	if (rc)
		return rc;
	if ((vt->abi_version & 0xffff) >= 2)
		return vt->query(dc, sql, params, nparams, err);
	if (dbr__values_downgrade(&conv, params, nparams))
		rc = dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
	else
		rc = vt->query(dc, sql, conv.v, nparams, err);
	dbr__values_release(&conv);
	return rc;
}

/*
 * Run sql on pc as an operation of `kind` (count_op()); on success *out
 * is its open result. Inlined: it is the body of every statement's path.
 */
static DBR_INLINE int run(struct dbr *db, struct dbr__pconn *pc,
			  struct dbr_tx *tx, int kind, uint64_t sent,
			  const char *sql, const struct dbr_value *params,
			  size_t nparams, struct dbr_result **out,
			  struct dbr_error *err)
{
	const struct dbr_driver *vt = &source_of(pc)->drv->vt;
	struct dbr_result *res = &pc->res;
	int rc;

	count_op(pc, kind, sql, sent);
	if (DBR_UNLIKELY(dbr__values_typed(params, nparams)))
		rc = query_typed(vt, pc->dc, sql, params, nparams, err);
	else
		rc = vt->query(pc->dc, sql, params, nparams, err);
	if (rc) {
		dbr__metrics_ended(&pc->m);
		failed(db, pc, rc, err);
		return rc;
	}
	res->db = db;
	res->pc = pc;
	res->vt = vt;
	res->dc = pc->dc;
	res->tx = tx;
	res->from = NULL;
	res->has_chat = false;
	res->notes = 0;
	res->row = false;
	res->done = false;
	res->err.code = DBR_OK;
	res->ncols = vt->column_count(pc->dc);
	dbr__gen_open(&res->gen);
	*out = res;
	return DBR_OK;
}

/*
 * End a result: one claimed from a caller's pointer (closed already), or
 * one the core holds as its object (closed here). Either is closed before
 * its slot goes back, from when on another thread may open it under the
 * next generation.
 */
static DBR_INLINE void result_end(struct dbr_result *res, bool claimed)
{
	if (res->merge) {
		dbr__merge_free(res);
		return;
	}
	note_writes(res);
	dbr__metrics_ended(&res->pc->m);
	dbr__metrics_done(&res->pc->m, res->has_chat, res->chat);
	res->row = false;
	if (!claimed)
		dbr__gen_close(&res->gen);
	if (!res->tx)
		dbr__pool_put(res->pc);
	else
		res->vt->finish(res->dc);
}

/* Hand the result to a caller who wants it, or run it to its end. */
static DBR_INLINE int deliver(struct dbr_result *res, struct dbr_result **out,
			      struct dbr_error *err)
{
	int rc;

	if (out) {
		*out = dbr__gen_handle(&res->gen, DBR__GEN_RESULT);
		return DBR_OK;
	}
	/* Without result columns, query() already ran it to its end. */
	rc = res->ncols ? drain(res, err) : DBR_OK;
	result_end(res, false);
	return rc;
}

static int check_args(const void *db, const char *sql,
		      const struct dbr_value *params, size_t nparams,
		      struct dbr_result **out, struct dbr_error *err)
{
	if (out)
		*out = NULL;
	if (!db || !sql || (nparams && !params))
		return dbr__error_set(err, DBR_E_MISUSE, NULL,
				      "query: handle and statement are "
				      "required, and params when nparams > 0");
	return DBR_OK;
}

/*
 * Take a connection for an operation routed to s for `reason`, counting
 * the decision (on the source that serves it, or on s when none does).
 * The operation is sampled or not here (dbr__sample(): its weight is
 * kept in the slot's metrics); a sampled one, with timing, has its wait
 * recorded and *sent is the time taken, else 0.
 */
static DBR_INLINE int take(struct dbr *db, struct dbr_source_config *s,
			   int reason, bool may_divert, struct dbr__pconn **pc,
			   struct dbr_source_config **from, uint64_t *sent,
			   struct dbr_error *err)
{
	struct dbr__pool *p = &s->rt->pool;
	uint32_t weight = 0;
	uint64_t t0 = 0;
	int rc;

	*sent = 0;
	if (p->metrics) {
		weight = dbr__sample(p->sample);
		if (DBR_UNLIKELY(weight) && p->metrics == DBR__METRICS_TIMING)
			t0 = dbr__clock_ns();
	}
	rc = dbr__failover_take(db, s, may_divert, NULL, pc, from, err);
	if (DBR_UNLIKELY(rc)) {
		if (p->metrics)
			atomic_fetch_add_explicit(&p->routed_failed[reason], 1,
						  memory_order_relaxed);
		return rc;
	}
	p = (*pc)->pool;
	if (!p->metrics)
		return DBR_OK;
	dbr__count(&(*pc)->m.routed[reason], 1);
	(*pc)->m.weight = weight;
	if (DBR_UNLIKELY(t0)) {
		*sent = dbr__clock_ns();
		dbr__hist_add(&(*pc)->m.acquire, *sent - t0, weight);
	}
	return DBR_OK;
}

/*
 * [mapping] max_age: a chat's write is refused while the store has not
 * confirmed the snapshot for longer.
 */
static DBR_COLD int check_age(struct dbr *db, const struct dbr__snap *sn,
			      int64_t chat, struct dbr_error *err)
{
	int64_t age = db->refresh ? dbr__refresh_age_ms(db->refresh) : 0;

	if (age <= (int64_t)(sn->cfg->max_age * 1000.0))
		return DBR_OK;
	return dbr__error_set(err, DBR_E_STALE, NULL,
			      "chat %lld: the mapping store's snapshot is "
			      "%lld ms old, older than max_age (%.3g s): "
			      "chat writes are refused",
			      (long long)chat, (long long)age,
			      sn->cfg->max_age);
}

/*
 * Route an operation and take a connection for it (take()), both against
 * one snapshot: the epoch section spans the decision and the checkout, so
 * that the source and its pool cannot be retired in between. A
 * transaction (no `sql`) is refused at once by a source whose driver has
 * none; with `divert` false (a transaction, a held write sent again) an
 * unavailable source is never fallen back from.
 */
static DBR_INLINE int route_take(struct dbr *db, const char *source,
				 const char *scope, int64_t chat, bool by_chat,
				 bool divert, const char *sql,
				 struct dbr__pconn **pc,
				 struct dbr_source_config **from,
				 uint64_t *sent, struct dbr_error *err)
{
	struct dbr__ebr_rec *rec = dbr__ebr_enter();
	const struct dbr__snap *sn;
	struct dbr_source_config *s;
	int reason, rc, tries = 0;

	if (DBR_UNLIKELY(!rec))
		return dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
again:
	sn = dbr__snap_current(&db->snaps);
	rc = dbr__route(db, sn, source, scope, chat, by_chat, &s, &reason, err);
	/* Any chat: a stale snapshot may lack the row that maps it now. A
	 * transaction (no sql) may write. */
	if (!rc && by_chat && DBR_UNLIKELY(sn->store_expected) &&
	    sn->cfg->max_age > 0 &&
	    (!sql || dbr__metrics_kind_of(sql) != DBR_OP_READ))
		rc = check_age(db, sn, chat, err);
	if (!rc && !sql && !dbr__source_has_tx(s))
		rc = dbr__error_set(err, DBR_E_UNSUPPORTED, s->name,
				    "source '%s': driver '%s' has no "
				    "transactions",
				    s->name, s->drv->type);
	if (!rc)
		rc = take(db, s, reason, divert && reason != DBR_ROUTE_EXPLICIT,
			  pc, from, sent, err);
	/* The source's pool was retired by a reload after this snapshot was
	 * read: the reload published its own snapshot first, so routing
	 * again reads it (twice at most: two reloads in a row). */
	if (DBR_UNLIKELY(rc == DBR_E_UNAVAILABLE && tries++ < 2 &&
			 atomic_load(&s->rt->pool.retired)))
		goto again;
	dbr__ebr_exit(rec);
	return rc;
}

/*
 * A chat's statement its source refused because the chat is moving
 * (DBR_E_MOVING: nothing was applied): wait a little and say whether to
 * send it again, routed anew. Within DBR__MOVING_WAIT of the first
 * refusal (*until, 0 before it), the refresher has meanwhile applied the
 * switch (the store signals it), or the fence has ended; after it, the
 * caller gets DBR_E_MOVING (retryable).
 */
#define DBR__MOVING_WAIT_NS 2500000000ull /* past fence_timeout's default */
#define DBR__MOVING_NAP_NS  10000000L

static DBR_COLD bool moving_wait(uint64_t *until)
{
	struct timespec nap = { 0, DBR__MOVING_NAP_NS };
	uint64_t now = dbr__clock_ns();

	if (!*until)
		*until = now + DBR__MOVING_WAIT_NS;
	if (now >= *until)
		return false;
	nanosleep(&nap, NULL);
	return true;
}

/*
 * Run sql by its route. With nm (dbr_query_named()), its `:name`
 * placeholders are translated in the dialect of the source that serves
 * it, once that is known, and params are nm's values in their order.
 */
static int query_at(struct dbr *db, const char *source, const char *scope,
		    int64_t chat, bool by_chat, const char *sql,
		    const struct dbr_value *params, size_t nparams,
		    const struct dbr__named *nm, struct dbr_result **out,
		    struct dbr_error *err)
{
	struct dbr_source_config *from;
	struct dbr_result *res;
	struct dbr_error local;
	struct dbr__pconn *pc;
	uint64_t sent = 0, until = 0;
	const char *text = sql;
	const struct dbr_value *values = params;
	size_t nvalues = nparams;
	unsigned notes;
	int rc;

	if (!err)
		err = &local; /* the source's last error is kept */
	rc = check_args(db, sql, params, nparams, out, err);
	if (rc)
		return rc;
again:
	/* A write held for a moving chat is never diverted when re-sent: its
	 * chat's home refused it, it is not down (until is set then). */
	rc = route_take(db, source, scope, chat, by_chat, !until, sql, &pc,
			&from, &sent, err);
	if (rc)
		return rc;
	/* Sent again after DBR_E_MOVING, maybe to a source of another
	 * dialect: translated from the caller's text each time. */
	if (DBR_UNLIKELY(nm)) {
		rc = dbr__named_bind(source_of(pc), sql, nm, &text, &values,
				     &nvalues, err);
		if (rc) {
			dbr__pool_put(pc);
			return rc;
		}
	}
	/* A named source is never diverted from. */
	notes = DBR_UNLIKELY(from || source) ? notes_for(db, pc, from, by_chat)
					     : 0;
	rc = run(db, pc, NULL, -1, sent, text, values, nvalues, &res, err);
	if (rc) {
		/* A lost link or a timeout may hide a write that was made. */
		if (notes && (rc == DBR_E_CONN || rc == DBR_E_TIMEOUT))
			noted_write(db, notes, from, chat, source_of(pc));
		dbr__metrics_done(&pc->m, by_chat, chat);
		dbr__pool_put(pc);
		/* Refused, not applied: held, then sent to the chat's home
		 * as it is then (a named source's statement is not). */
		if (DBR_UNLIKELY(rc == DBR_E_MOVING) && by_chat &&
		    moving_wait(&until))
			goto again;
		return rc;
	}
	res->from = from;
	res->chat = chat;
	res->has_chat = by_chat;
	res->notes = notes;
	return deliver(res, out, err);
}

int dbr__query_on(struct dbr *db, struct dbr__pconn *pc, const char *sql,
		  const struct dbr_value *params, size_t nparams,
		  struct dbr_result **out, struct dbr_error *err)
{
	struct dbr_result *res;
	int rc;

	/* Every part timed: a fan-out is off the hot path. */
	rc = run(db, pc, NULL, DBR_OP_FANOUT, sampled(pc, 1), sql, params,
		 nparams, &res, err);
	if (rc) {
		dbr__metrics_done(&pc->m, false, 0);
		dbr__pool_put(pc);
		return rc;
	}
	*out = dbr__gen_handle(&res->gen, DBR__GEN_RESULT);
	return DBR_OK;
}

int dbr_query(struct dbr *db, int64_t chat, const char *sql,
	      const struct dbr_value *params, size_t nparams,
	      struct dbr_result **out, struct dbr_error *err)
{
	return query_at(db, NULL, NULL, chat, true, sql, params, nparams, NULL,
			out, err);
}

int dbr_query_named(struct dbr *db, int64_t chat, const char *sql,
		    const struct dbr_param *params, size_t nparams,
		    struct dbr_result **out, struct dbr_error *err)
{
	struct dbr__named nm = { params, nparams };

	if (out)
		*out = NULL;
	if (nparams && !params)
		return dbr__error_set(err, DBR_E_MISUSE, NULL,
				      "dbr_query_named: params are required "
				      "when nparams > 0");
	return query_at(db, NULL, NULL, chat, true, sql, NULL, 0, &nm, out,
			err);
}

int dbr_query_scope(struct dbr *db, const char *scope, const char *sql,
		    const struct dbr_value *params, size_t nparams,
		    struct dbr_result **out, struct dbr_error *err)
{
	if (out)
		*out = NULL;
	if (!scope)
		return dbr__error_set(err, DBR_E_MISUSE, NULL,
				      "dbr_query_scope: scope is NULL");
	return query_at(db, NULL, scope, 0, false, sql, params, nparams, NULL,
			out, err);
}

int dbr_query_source(struct dbr *db, const char *source, const char *sql,
		     const struct dbr_value *params, size_t nparams,
		     struct dbr_result **out, struct dbr_error *err)
{
	return query_at(db, source, NULL, 0, false, sql, params, nparams, NULL,
			out, err);
}

int dbr_result_next(struct dbr_result *p)
{
	struct dbr_result *res;

	return dbr__result_check(p, &res) ? result_next(res) : DBR_E_MISUSE;
}

int dbr__result_first(struct dbr_result *res, bool *row, struct dbr_error *err)
{
	int rc = dbr_result_next(res);

	*row = rc == DBR_ROW;
	if (rc == DBR_ROW || rc == DBR_DONE)
		return DBR_OK;
	*err = *dbr_result_error(res);
	return rc;
}

size_t dbr_result_column_count(const struct dbr_result *p)
{
	const struct dbr_result *res = dbr__result_of(p);

	if (res && res->merge)
		return dbr__merge_column_count(res);
	return res ? res->ncols : 0;
}

const char *dbr_result_column_name(const struct dbr_result *p, size_t col)
{
	const struct dbr_result *res = dbr__result_of(p);

	if (res && res->merge)
		return dbr__merge_column_name(res, col);
	if (!res || col >= res->ncols)
		return NULL;
	return res->vt->column_name(res->dc, col);
}

/* Whether a and b are equal ignoring ASCII case (whatever the locale). */
static bool ascii_case_equal(const char *a, const char *b)
{
	unsigned char x, y;

	do {
		x = (unsigned char)*a++;
		y = (unsigned char)*b++;
		x = x >= 'A' && x <= 'Z' ? (unsigned char)(x + 32) : x;
		y = y >= 'A' && y <= 'Z' ? (unsigned char)(y + 32) : y;
	} while (x && x == y);
	return x == y;
}

int dbr_result_column_index(const struct dbr_result *p, const char *name,
			    size_t *index)
{
	const struct dbr_result *res = dbr__result_of(p);
	size_t i, n, folded = 0, nfolded = 0;
	const char *col;

	if (!res || !name || !index)
		return DBR_E_MISUSE;
	n = dbr_result_column_count(p);
	for (i = 0; i < n; i++) {
		col = dbr_result_column_name(p, i);
		if (!col)
			continue;
		if (!strcmp(col, name)) {
			*index = i;
			return DBR_OK;
		}
		if (ascii_case_equal(col, name) && !nfolded++)
			folded = i;
	}
	if (nfolded != 1)
		return DBR_E_NOTFOUND;
	*index = folded;
	return DBR_OK;
}

/*
 * dbr_result_value() off its path: a fan-out's row, or misuse. Out of
 * line, so that the path saves no registers.
 */
static DBR_COLD int result_value_other(struct dbr_result *p, size_t col,
				       struct dbr_value *out)
{
	struct dbr_result *res;

	if (dbr__result_check(p, &res) && res->merge && res->row && out)
		return dbr__merge_value(res, col, out);
	if (out)
		*out = dbr_null();
	return DBR_E_MISUSE;
}

int dbr_result_value(struct dbr_result *p, size_t col, struct dbr_value *out)
{
	struct dbr_result *res;

	if (DBR_UNLIKELY(!dbr__result_check(p, &res) || !res->row ||
			 res->merge || col >= res->ncols || !out))
		return result_value_other(p, col, out);
	res->vt->column(res->dc, col, out);
	return DBR_OK;
}

int dbr_result_type(struct dbr_result *res, size_t col)
{
	struct dbr_value v;

	dbr_result_value(res, col, &v);
	return v.type;
}

int64_t dbr_result_int64(struct dbr_result *res, size_t col)
{
	struct dbr_value v;

	dbr_result_value(res, col, &v);
	if (v.type == DBR_TYPE_INT64 || v.type == DBR_TYPE_BOOL ||
	    v.type == DBR_TYPE_TIMESTAMP)
		return v.u.i;
	if (v.type == DBR_TYPE_DOUBLE && v.u.d >= -9.2233720368547758e18 &&
	    v.u.d < 9.2233720368547758e18)
		return (int64_t)v.u.d;
	return 0;
}

double dbr_result_double(struct dbr_result *res, size_t col)
{
	struct dbr_value v;

	dbr_result_value(res, col, &v);
	if (v.type == DBR_TYPE_DOUBLE)
		return v.u.d;
	if (v.type == DBR_TYPE_INT64 || v.type == DBR_TYPE_BOOL)
		return (double)v.u.i;
	return 0.0;
}

const char *dbr_result_text(struct dbr_result *res, size_t col, size_t *len)
{
	struct dbr_value v;

	dbr_result_value(res, col, &v);
	if (len)
		*len = v.len;
	if (v.type == DBR_TYPE_TEXT)
		return v.u.s;
	if (v.type == DBR_TYPE_BLOB)
		return v.u.b;
	return NULL;
}

int64_t dbr_result_changes(const struct dbr_result *p)
{
	const struct dbr_result *res = dbr__result_of(p);

	if (!res || res->merge || !res->vt->changes)
		return 0;
	return res->vt->changes(res->dc);
}

bool dbr_result_last_insert_id(const struct dbr_result *p, int64_t *id)
{
	const struct dbr_result *res = dbr__result_of(p);
	int64_t dummy;

	if (!id)
		id = &dummy;
	*id = 0;
	if (!res || res->merge || !res->vt->last_insert_id)
		return false;
	return res->vt->last_insert_id(res->dc, id);
}

const char *dbr_result_source(const struct dbr_result *p)
{
	const struct dbr_result *res = dbr__result_of(p);

	if (res && res->merge)
		return dbr__merge_source(res);
	return res ? source_of(res->pc)->name : NULL;
}

const char *dbr_result_diverted_from(const struct dbr_result *p)
{
	const struct dbr_result *res = dbr__result_of(p);

	return res && res->from ? res->from->name : NULL;
}

const struct dbr_error *dbr_result_error(const struct dbr_result *p)
{
	const struct dbr_result *res = dbr__result_of(p);

	if (!p)
		return NULL;
	if (!res)
		return &stale_error;
	return res->err.code ? &res->err : &no_error;
}

void dbr_result_free(struct dbr_result *p)
{
	struct dbr_result *res;

	/*
	 * Claimed before anything is ended: of two threads freeing it at
	 * once, one only gets past here.
	 */
	if (DBR_UNLIKELY(!dbr__result_claim(p, &res))) {
		if (p)
			stale(p, "dbr_result_free");
		return;
	}
	result_end(res, true);
}

static int tx_begin(struct dbr *db, const char *source, int64_t chat,
		    bool by_chat, struct dbr_tx **out, struct dbr_error *err)
{
	struct dbr_source_config *s, *from;
	struct dbr_error local;
	struct dbr__pconn *pc;
	uint64_t sent = 0;
	int rc;

	if (!err)
		err = &local;
	if (out)
		*out = NULL;
	if (!db || !out)
		return dbr__error_set(err, DBR_E_MISUSE, NULL,
				      "dbr_tx_begin: db and out are required");
	/* A transaction never falls back. */
	rc = route_take(db, source, NULL, chat, by_chat, false, NULL, &pc,
			&from, &sent, err);
	if (rc)
		return rc;
	s = source_of(pc);
	count_op(pc, DBR_OP_TRANSACTION, "BEGIN", sent);
	rc = s->drv->vt.begin(pc->dc, err);
	dbr__metrics_ended(&pc->m);
	dbr__metrics_done(&pc->m, by_chat, chat);
	if (rc) {
		failed(db, pc, rc, err);
		dbr__pool_put(pc);
		return rc;
	}
	/*
	 * Written once per slot, never again: a stale handle's check may
	 * read them while the slot serves its next transaction (the same
	 * values: a slot belongs to one pool of one handle).
	 */
	if (pc->tx.pc != pc) {
		pc->tx.db = db;
		pc->tx.pc = pc;
	}
	pc->tx.chat = chat;
	pc->tx.has_chat = by_chat;
	pc->tx.moving = false;
	*out = dbr__gen_open(&pc->tx.gen);
	return DBR_OK;
}

int dbr_tx_begin(struct dbr *db, int64_t chat, struct dbr_tx **out,
		 struct dbr_error *err)
{
	return tx_begin(db, NULL, chat, true, out, err);
}

int dbr_tx_begin_source(struct dbr *db, const char *source, struct dbr_tx **out,
			struct dbr_error *err)
{
	return tx_begin(db, source, 0, false, out, err);
}

static int tx_stale(struct dbr_error *err)
{
	return dbr__error_set(err, DBR_E_MISUSE, NULL,
			      "transaction is NULL, stale (already ended), or "
			      "not a transaction");
}

/*
 * The transaction p names, in *out, when it is open and its last result
 * was freed. It only checks: tx_end() then claims it.
 */
static DBR_INLINE int tx_usable(struct dbr_tx *p, struct dbr_tx **out,
				struct dbr_error *err)
{
	struct dbr_tx *tx;
	const char *name;

	if (!dbr__tx_check(p, &tx)) {
		*out = NULL;
		return tx_stale(err);
	}
	*out = tx;
	if (dbr__gen_is_open(&tx->pc->res.gen)) {
		name = source_of(tx->pc)->name;
		return dbr__error_set(err, DBR_E_MISUSE, name,
				      "source '%s': the transaction's "
				      "previous result is still open; free "
				      "it first",
				      name);
	}
	return DBR_OK;
}

/* A transaction whose chat's source refused a write (DBR_E_MOVING): rolled
 * back at once, so that nothing of it can commit; its end only frees it. */
static DBR_COLD void tx_roll_back_moving(struct dbr_tx *tx)
{
	struct dbr__pconn *pc = tx->pc;

	tx->moving = true;
	if (!pc->lost && source_of(pc)->drv->vt.rollback(pc->dc, NULL))
		pc->lost = true;
}

static DBR_COLD int tx_moved(struct dbr_error *err)
{
	int rc = dbr__error_set(err, DBR_E_MOVING, NULL,
				"the transaction was rolled back: its chat's "
				"source refused a write while the chat moves");

	dbr__error_hint(err, "begin the transaction again: it runs where "
			     "the chat lives once the move is done");
	return rc;
}

int dbr_tx_query(struct dbr_tx *p, const char *sql,
		 const struct dbr_value *params, size_t nparams,
		 struct dbr_result **out, struct dbr_error *err)
{
	struct dbr_result *res;
	struct dbr_error local;
	struct dbr_tx *tx;
	int rc;

	if (!err)
		err = &local;
	rc = check_args(p, sql, params, nparams, out, err);
	if (!rc)
		rc = tx_usable(p, &tx, err);
	if (!rc && DBR_UNLIKELY(tx->moving))
		rc = tx_moved(err);
	if (rc)
		return rc;
	rc = run(tx->db, tx->pc, tx, DBR_OP_TRANSACTION, sampled(tx->pc, 0),
		 sql, params, nparams, &res, err);
	if (rc) {
		dbr__metrics_done(&tx->pc->m, tx->has_chat, tx->chat);
		if (DBR_UNLIKELY(rc == DBR_E_MOVING))
			tx_roll_back_moving(tx);
		return rc;
	}
	res->chat = tx->chat;
	res->has_chat = tx->has_chat;
	return deliver(res, out, err);
}

int dbr_tx_query_named(struct dbr_tx *p, const char *sql,
		       const struct dbr_param *params, size_t nparams,
		       struct dbr_result **out, struct dbr_error *err)
{
	struct dbr__named nm = { params, nparams };
	const struct dbr_value *v = NULL;
	struct dbr_error local;
	struct dbr_tx *tx;
	size_t n = 0;
	int rc;

	if (!err)
		err = &local;
	rc = check_args(p, sql, NULL, 0, out, err);
	if (!rc && nparams && !params)
		rc = dbr__error_set(err, DBR_E_MISUSE, NULL,
				    "dbr_tx_query_named: params are required "
				    "when nparams > 0");
	if (!rc)
		rc = tx_usable(p, &tx, err);
	if (!rc)
		rc = dbr__named_bind(source_of(tx->pc), sql, &nm, &sql, &v, &n,
				     err);
	return rc ? rc : dbr_tx_query(p, sql, v, n, out, err);
}

int dbr__tx_notify(struct dbr_tx *p, const char *channel, struct dbr_error *err)
{
	const struct dbr_driver *vt;
	struct dbr_tx *tx;
	int rc = tx_usable(p, &tx, err);

	if (rc)
		return rc;
	vt = &source_of(tx->pc)->drv->vt;
	return vt->notify ? vt->notify(tx->pc->dc, channel, err) : DBR_OK;
}

/* End a transaction with commit or rollback and give back its connection. */
static int tx_end(struct dbr_tx *p, bool commit, struct dbr_error *err)
{
	const struct dbr_driver *vt;
	struct dbr__pconn *pc;
	struct dbr_error local;
	struct dbr_tx *tx;
	int rc;

	if (!err)
		err = &local;
	rc = tx_usable(p, &tx, err);
	/*
	 * Claimed before the driver ends it: of two threads ending it at
	 * once, one only gets past here; the other finds it stale.
	 */
	if (!rc && DBR_UNLIKELY(!dbr__tx_claim(p, &tx))) {
		tx = NULL;
		rc = tx_stale(err);
	}
	if (rc) {
		/*
		 * A stale transaction's end (a rollback is often on a cleanup
		 * path that ignores the status) is logged; nothing is done.
		 */
		if (!tx && p)
			stale(p, commit ? "dbr_tx_commit" : "dbr_tx_rollback");
		return rc;
	}
	pc = tx->pc;
	vt = &source_of(pc)->drv->vt;
	if (DBR_UNLIKELY(tx->moving)) {
		/* Rolled back already: a commit says so, a rollback is done. */
		dbr__pool_put(pc);
		return commit ? tx_moved(err) : DBR_OK;
	}
	rc = commit ? vt->commit(pc->dc, err) : vt->rollback(pc->dc, err);
	if (rc) {
		failed(tx->db, pc, rc, err);
		/*
		 * A failed commit may leave the transaction open: end it so
		 * the pooled connection starts clean.
		 */
		if (!pc->lost && commit && vt->rollback(pc->dc, NULL))
			pc->lost = true;
	}
	dbr__pool_put(pc);
	return rc;
}

int dbr_tx_commit(struct dbr_tx *tx, struct dbr_error *err)
{
	return tx_end(tx, true, err);
}

int dbr_tx_rollback(struct dbr_tx *tx, struct dbr_error *err)
{
	if (!tx)
		return DBR_OK;
	return tx_end(tx, false, err);
}
