/*
 * fanout.c - one statement on several sources, one merged cursor.
 *
 * The statement runs on every chosen source (at once, by a few worker
 * threads, unless asked to run one after another). Each source's result is
 * then a cursor of its own; the merged cursor concatenates them in source
 * order, or merges them k-way by the order columns, holding one row per
 * source: memory stays bounded by the number of sources, not the rows.
 *
 * The merged result lives in a shell (struct dbr__merge) that is never
 * given back to the allocator while the handle is open: a freed shell is
 * kept by the default source's pool for the next fan-out and freed with
 * the pool at dbr_close(). Its generation (pool.h) therefore stays
 * readable, so a pointer kept past dbr_result_free() gets DBR_E_MISUSE
 * instead of reading freed memory or the next fan-out's rows.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "failover.h"
#include "fanout.h"
#include "hash.h"
#include "query.h"
#include "value.h"

/* At most this many threads run a fan-out's statements. */
#define FANOUT_THREADS 8

struct dbr_fanout {
	char **sources;
	size_t nsources, scap;
	char **order;
	bool *desc;
	size_t norder, ocap, dcap;
	uint64_t limit;
	unsigned flags;
};

enum part_state { PART_NEED, PART_HEAD, PART_DONE };

struct part {
	struct dbr_source_config *src;
	struct dbr__pconn *pc;	/* taken, its statement not yet run */
	struct dbr_result *res; /* NULL when the source is missing */
	struct dbr_error err;	/* why it is missing */
	enum part_state state;
	uint64_t taken;		 /* rows read from it */
	struct dbr__values last; /* its last row's order keys */
	bool has_last;
};

/* The distinct rows returned so far, by their canonical encoding. */
struct rowset {
	uint64_t *hash;
	size_t *off, *len;
	size_t mask, n;
	char *arena;
	size_t alen, acap;
};

struct dbr__merge {
	struct dbr__spare link; /* first: how its pool keeps it */
	struct dbr_result res;	/* what the caller holds; res.merge == this */
	struct dbr__pool *home; /* the pool that keeps it while spare */
	/* From here on, per fan-out: cleared when the shell is reused. */
	struct part *parts;
	size_t nparts;
	size_t *keys; /* order columns */
	bool *desc;
	size_t nkeys;
	uint64_t limit, emitted;
	unsigned flags;
	size_t ncols;
	size_t at;	  /* concatenation: the part being read */
	struct part *cur; /* the part of the current row */
	struct rowset seen;
	char *enc; /* a row's encoding, reused */
	size_t enclen, enccap;
	struct dbr_value *row; /* a row's values, reused */
	bool clash;	       /* order keys of different classes met */
	struct dbr_error clash_err;
};

int dbr_fanout_new(struct dbr_fanout **out)
{
	if (!out)
		return DBR_E_MISUSE;
	*out = dbr__calloc(1, sizeof(**out));
	return *out ? DBR_OK : DBR_E_NOMEM;
}

void dbr_fanout_free(struct dbr_fanout *f)
{
	size_t i;

	if (!f)
		return;
	for (i = 0; i < f->nsources; i++)
		dbr__free(f->sources[i]);
	for (i = 0; i < f->norder; i++)
		dbr__free(f->order[i]);
	dbr__free(f->sources);
	dbr__free(f->order);
	dbr__free(f->desc);
	dbr__free(f);
}

int dbr_fanout_add_source(struct dbr_fanout *f, const char *source)
{
	char *copy;

	if (!f || !source)
		return DBR_E_MISUSE;
	copy = dbr__strdup(source);
	if (!copy || dbr__grow(&f->sources, &f->scap, f->nsources + 1,
			       sizeof(*f->sources))) {
		dbr__free(copy);
		return DBR_E_NOMEM;
	}
	f->sources[f->nsources++] = copy;
	return DBR_OK;
}

int dbr_fanout_order_by(struct dbr_fanout *f, const char *column,
			bool descending)
{
	char *copy;

	if (!f || !column)
		return DBR_E_MISUSE;
	copy = dbr__strdup(column);
	if (!copy ||
	    dbr__grow(&f->order, &f->ocap, f->norder + 1, sizeof(*f->order)) ||
	    dbr__grow(&f->desc, &f->dcap, f->norder + 1, sizeof(*f->desc))) {
		dbr__free(copy);
		return DBR_E_NOMEM;
	}
	f->desc[f->norder] = descending;
	f->order[f->norder++] = copy;
	return DBR_OK;
}

void dbr_fanout_set_limit(struct dbr_fanout *f, uint64_t limit)
{
	if (f)
		f->limit = limit;
}

void dbr_fanout_set_flags(struct dbr_fanout *f, unsigned flags)
{
	if (f)
		f->flags = flags;
}

/* The parts: the named sources, or every SQL source, in definition order. */
static int choose(struct dbr *db, const struct dbr_fanout *f,
		  struct dbr__merge *m, struct dbr_error *err)
{
	const struct dbr__config *cfg = db->cfg;
	size_t i, j;

	for (j = 0; f && j < f->nsources; j++)
		if (!dbr__config_source(cfg, f->sources[j]))
			return dbr__error_set(
				err, DBR_E_NOTFOUND, f->sources[j],
				"no source named '%s'", f->sources[j]);
	m->parts = dbr__calloc(cfg->nsources, sizeof(*m->parts));
	if (!m->parts)
		return dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
	for (i = 0; i < cfg->nsources; i++) {
		struct dbr_source_config *s = &cfg->sources[i];
		bool take = !f || !f->nsources
				    ? (s->drv->vt.caps & DBR_CAP_SQL) != 0
				    : false;

		for (j = 0; f && j < f->nsources && !take; j++)
			take = !strcmp(f->sources[j], s->name);
		if (take)
			m->parts[m->nparts++].src = s;
	}
	if (!m->nparts)
		return dbr__error_set(err, DBR_E_MISUSE, NULL,
				      "fan-out: no source to query");
	return DBR_OK;
}

struct job {
	struct dbr *db;
	struct dbr__merge *m;
	const char *sql;
	const struct dbr_value *params;
	size_t nparams;
	atomic_size_t next;
};

static void *worker(void *arg)
{
	struct job *j = arg;
	size_t i;

	while ((i = atomic_fetch_add(&j->next, 1)) < j->m->nparts) {
		struct part *pt = &j->m->parts[i];

		if (!pt->pc)
			continue;
		if (dbr__query_on(j->db, pt->pc, j->sql, j->params, j->nparams,
				  &pt->res, &pt->err)) {
			pt->res = NULL;
			pt->state = PART_DONE;
		}
		pt->pc = NULL;
	}
	return NULL;
}

/*
 * Take one connection per part, in source order, all under one deadline
 * (the shortest timeout among them), before any statement runs. A fan-out
 * never waits on a pool while it holds a connection out of that order, so
 * fan-outs on small pools cannot deadlock one another. Without partial
 * results, a part that gets no connection ends the fan-out and gives back
 * what it took: all or none.
 */
static int take_parts(struct dbr *db, struct dbr__merge *m, bool partial,
		      struct dbr_error *err)
{
	struct dbr_source_config *from;
	double shortest = m->parts[0].src->timeout;
	struct timespec by;
	uint64_t t0;
	size_t i;

	for (i = 1; i < m->nparts; i++)
		if (m->parts[i].src->timeout < shortest)
			shortest = m->parts[i].src->timeout;
	dbr__deadline(&by, shortest);
	t0 = dbr__clock_ns();
	for (i = 0; i < m->nparts; i++) {
		struct part *pt = &m->parts[i];
		int rc = dbr__failover_take(db, pt->src, false, &by, &pt->pc,
					    &from, &pt->err);

		if (!rc) {
			/* Each part waited from the fan-out's start. */
			if (pt->pc->pool->metrics == DBR__METRICS_TIMING)
				dbr__hist_add(&pt->pc->m.acquire,
					      dbr__clock_ns() - t0, 1);
			continue;
		}
		pt->pc = NULL;
		pt->state = PART_DONE;
		if (partial)
			continue;
		while (i--)
			if (m->parts[i].pc)
				dbr__pool_put(m->parts[i].pc);
		if (err)
			*err = pt->err;
		return rc;
	}
	return DBR_OK;
}

/* Run the statement on every part, by up to FANOUT_THREADS threads. */
static void run_parts(struct job *j, bool sequential)
{
	pthread_t th[FANOUT_THREADS - 1];
	size_t n = 0, want = j->m->nparts < FANOUT_THREADS ? j->m->nparts - 1
							   : FANOUT_THREADS - 1;

	atomic_init(&j->next, 0);
	for (; !sequential && n < want; n++)
		if (pthread_create(&th[n], NULL, worker, j))
			break; /* fewer threads: the caller does the rest */
	worker(j);
	while (n)
		pthread_join(th[--n], NULL);
}

/* Whether the parts that answered agree; resolve the order columns. */
static int check_parts(struct dbr__merge *m, const struct dbr_fanout *f,
		       struct dbr_error *err)
{
	const struct part *first = NULL;
	size_t i, k, c;

	for (i = 0; i < m->nparts; i++) {
		const struct part *pt = &m->parts[i];

		if (!pt->res)
			continue;
		if (!first) {
			first = pt;
			m->ncols = dbr_result_column_count(pt->res);
		} else if (dbr_result_column_count(pt->res) != m->ncols) {
			return dbr__error_set(
				err, DBR_E_STMT, pt->src->name,
				"fan-out: source '%s' returns %zu columns but "
				"source '%s' returns %zu",
				first->src->name, m->ncols, pt->src->name,
				dbr_result_column_count(pt->res));
		}
	}
	if (!first) /* the caller only checks parts when one answered */
		return dbr__error_set(err, DBR_E_MISUSE, NULL,
				      "fan-out: no source answered");
	m->nkeys = f ? f->norder : 0;
	m->keys = dbr__calloc(m->nkeys + 1, sizeof(*m->keys));
	m->desc = dbr__calloc(m->nkeys + 1, sizeof(*m->desc));
	m->row = dbr__calloc(m->ncols + 1, sizeof(*m->row));
	if (!m->keys || !m->desc || !m->row)
		return dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
	for (k = 0; k < m->nkeys; k++) {
		for (c = 0; c < m->ncols; c++)
			if (!strcmp(dbr_result_column_name(first->res, c),
				    f->order[k]))
				break;
		if (c == m->ncols)
			return dbr__error_set(err, DBR_E_MISUSE, NULL,
					      "fan-out: no column named '%s' "
					      "to order by",
					      f->order[k]);
		m->keys[k] = c;
		m->desc[k] = f->desc[k];
	}
	return DBR_OK;
}

/* The first part that failed, as the call's error. */
static int first_failure(const struct dbr__merge *m, bool all,
			 struct dbr_error *err)
{
	size_t i;

	for (i = 0; i < m->nparts; i++) {
		if (m->parts[i].res)
			continue;
		if (err)
			*err = m->parts[i].err;
		if (all && err) {
			char msg[sizeof(err->message) + 64];

			snprintf(msg, sizeof(msg),
				 "fan-out: no source answered; first: %s",
				 m->parts[i].err.message);
			dbr__error_message(err, msg);
		}
		return m->parts[i].err.code ? m->parts[i].err.code : DBR_E_CONN;
	}
	return DBR_OK;
}

/* A shell for a new fan-out: a spare one, else a new one. */
static struct dbr__merge *shell_take(struct dbr *db)
{
	const struct dbr__config *cfg = db->cfg; /* one load: reload */
	struct dbr__pool *home = &cfg->sources[cfg->default_source].rt->pool;
	struct dbr__spare *spare = dbr__pool_spare_take(home);
	struct dbr__merge *m = (struct dbr__merge *)(void *)spare;

	if (m) {
		/* `link`, `res.gen`, `res.merge` and `home` stay: a thread
		 * holding a stale pointer may read them. */
		memset(&m->parts, 0,
		       sizeof(*m) - offsetof(struct dbr__merge, parts));
		m->res.row = false;
		memset(&m->res.err, 0, sizeof(m->res.err));
		return m;
	}
	m = dbr__calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	dbr__gen_init(&m->res.gen, DBR__GEN_RESULT);
	m->res.merge = m;
	m->home = home;
	return m;
}

static void merge_free(struct dbr__merge *m)
{
	size_t i;

	for (i = 0; m->parts && i < m->nparts; i++) {
		dbr_result_free(m->parts[i].res);
		dbr__values_release(&m->parts[i].last);
	}
	dbr__free(m->parts);
	dbr__free(m->keys);
	dbr__free(m->desc);
	dbr__free(m->row);
	dbr__free(m->enc);
	dbr__free(m->seen.hash);
	dbr__free(m->seen.off);
	dbr__free(m->seen.len);
	dbr__free(m->seen.arena);
	/*
	 * Its word is closed already: claimed by dbr_result_free(), or never
	 * opened (a fan-out that failed).
	 */
	dbr__pool_spare_keep(m->home, &m->link);
}

int dbr_query_all(struct dbr *db, const struct dbr_fanout *f, const char *sql,
		  const struct dbr_value *params, size_t nparams,
		  struct dbr_result **out, struct dbr_error *err)
{
	struct job j = { db, NULL, sql, params, nparams, 0 };
	unsigned flags = f ? f->flags : 0;
	struct dbr__merge *m;
	size_t present = 0, i;
	int rc;

	if (out)
		*out = NULL;
	if (!db || !sql || !out || (nparams && !params))
		return dbr__error_set(err, DBR_E_MISUSE, NULL,
				      "dbr_query_all: handle, statement and "
				      "out are required");
	m = j.m = shell_take(db);
	if (!m)
		return dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
	m->flags = flags;
	m->limit = f ? f->limit : 0;
	rc = choose(db, f, m, err);
	if (!rc)
		rc = take_parts(db, m, flags & DBR_FANOUT_ALLOW_PARTIAL, err);
	if (!rc) {
		run_parts(&j, flags & DBR_FANOUT_SEQUENTIAL);
		for (i = 0; i < m->nparts; i++)
			present += m->parts[i].res != NULL;
		if (!present || !(flags & DBR_FANOUT_ALLOW_PARTIAL))
			rc = first_failure(m, !present, err);
	}
	if (!rc)
		rc = check_parts(m, f, err);
	if (rc) {
		merge_free(m);
		return rc;
	}
	m->res.db = db;
	*out = dbr__gen_open(&m->res.gen);
	return DBR_OK;
}

/* What a value is for ordering: NULL, a number, text, a timestamp or a
 * blob. */
static const char *key_class(const struct dbr_value *v)
{
	switch (v->type) {
	case DBR_TYPE_INT64:
	case DBR_TYPE_BOOL:
	case DBR_TYPE_DOUBLE: return "a number";
	case DBR_TYPE_TEXT: return "text";
	case DBR_TYPE_TIMESTAMP: return "a timestamp";
	case DBR_TYPE_BLOB: return "a blob";
	default: return NULL;
	}
}

/* A timestamp orders with text as its text form (value.h). */
static bool text_like(const struct dbr_value *v)
{
	return v->type == DBR_TYPE_TEXT || v->type == DBR_TYPE_TIMESTAMP;
}

/*
 * Compare two order keys. Keys of different classes from two sources (a
 * number and text, say: a value one engine returns as text and another as
 * a number) have no order that means anything: the merge fails instead of
 * guessing. Within one source its own ORDER BY decides (SQLite sorts
 * numbers before text, as dbroute's rule does). NULL sorts first beside
 * anything.
 */
static int key_cmp(struct dbr__merge *m, const struct dbr_value *a,
		   const struct dbr_value *b, size_t k, const struct part *pa,
		   const struct part *pb)
{
	const char *ca = key_class(a), *cb = key_class(b);
	int c;

	if (pa != pb && ca && cb && strcmp(ca, cb) &&
	    !(text_like(a) && text_like(b)) && !m->clash) {
		m->clash = true;
		dbr__error_set(&m->clash_err, DBR_E_STMT, pb->src->name,
			       "fan-out: cannot order by '%s': source '%s' "
			       "gives %s and source '%s' gives %s",
			       dbr_result_column_name(pa->res, m->keys[k]),
			       pa->src->name, ca, pb->src->name, cb);
	}
	c = dbr__value_cmp(a, b);
	return m->desc[k] ? -c : c;
}

/* Compare the current rows of two parts by the order columns. */
static int rows_cmp(struct dbr__merge *m, struct part *a, struct part *b)
{
	struct dbr_value va, vb;
	size_t k;
	int c;

	for (k = 0; k < m->nkeys; k++) {
		dbr_result_value(a->res, m->keys[k], &va);
		dbr_result_value(b->res, m->keys[k], &vb);
		c = key_cmp(m, &va, &vb, k, a, b);
		if (c)
			return c;
	}
	return 0;
}

/* Whether a part's new row sorts before the row it gave last. */
static bool out_of_order(struct dbr__merge *m, struct part *pt)
{
	struct dbr_value v;
	size_t k;
	int c;

	if (!pt->has_last)
		return false;
	for (k = 0; k < m->nkeys; k++) {
		dbr_result_value(pt->res, m->keys[k], &v);
		c = key_cmp(m, &v, &pt->last.v[k], k, pt, pt);
		if (c)
			return c < 0;
	}
	return false;
}

/* A part that failed: skipped when partial results are allowed. */
static int part_failed(struct dbr__merge *m, struct part *pt, int rc,
		       const struct dbr_error *why, struct dbr_error *err)
{
	pt->err = *why;
	pt->err.code = rc;
	if (!(m->flags & DBR_FANOUT_ALLOW_PARTIAL)) {
		*err = pt->err;
		return rc;
	}
	dbr_result_free(pt->res);
	pt->res = NULL;
	pt->state = PART_DONE;
	return DBR_OK;
}

/* Bring a part from NEED to HEAD (a row) or DONE. */
static int step_part(struct dbr__merge *m, struct part *pt,
		     struct dbr_error *err)
{
	struct dbr_error why;
	int rc;

	if (m->limit && pt->taken >= m->limit) {
		pt->state = PART_DONE;
		return DBR_OK;
	}
	rc = dbr_result_next(pt->res);
	if (rc == DBR_DONE) {
		pt->state = PART_DONE;
		return DBR_OK;
	}
	if (rc != DBR_ROW)
		return part_failed(m, pt, rc, dbr_result_error(pt->res), err);
	pt->taken++;
	pt->state = PART_HEAD;
	if (m->nkeys && out_of_order(m, pt)) {
		dbr__error_set(&why, DBR_E_STMT, pt->src->name,
			       "fan-out: source '%s' returned rows out of the "
			       "merge order; its ORDER BY must sort as dbroute "
			       "does (NULL first ascending, text by bytes, see "
			       "docs/fanout.md)",
			       pt->src->name);
		return part_failed(m, pt, DBR_E_STMT, &why, err);
	}
	return DBR_OK;
}

/* The next part to read in order, or NULL at the end. */
static int pick(struct dbr__merge *m, struct part **out, struct dbr_error *err)
{
	struct part *best = NULL, *pt;
	size_t i;
	int rc;

	*out = NULL;
	if (!m->nkeys) {
		/* Concatenation: each part to its end, in source order. */
		for (; m->at < m->nparts; m->at++) {
			pt = &m->parts[m->at];
			if (pt->res && pt->state == PART_NEED &&
			    (rc = step_part(m, pt, err)))
				return rc;
			if (pt->res && pt->state == PART_HEAD) {
				*out = pt;
				return DBR_OK;
			}
		}
		return DBR_OK;
	}
	for (i = 0; i < m->nparts; i++) {
		pt = &m->parts[i];
		if (pt->res && pt->state == PART_NEED &&
		    (rc = step_part(m, pt, err)))
			return rc;
		/* Strictly smaller wins: ties go to the earlier source. */
		if (pt->res && pt->state == PART_HEAD &&
		    (!best || rows_cmp(m, pt, best) < 0))
			best = pt;
	}
	if (m->clash) {
		*err = m->clash_err;
		return m->clash_err.code;
	}
	*out = best;
	return DBR_OK;
}

static int rowset_grow(struct rowset *rs)
{
	size_t cap = rs->mask ? (rs->mask + 1) * 2 : 64, i, j;
	uint64_t *hash = dbr__calloc(cap, sizeof(*hash));
	size_t *off = dbr__calloc(cap, sizeof(*off));
	size_t *len = dbr__calloc(cap, sizeof(*len));

	if (!hash || !off || !len) {
		dbr__free(hash);
		dbr__free(off);
		dbr__free(len);
		return DBR_E_NOMEM;
	}
	/* len 0 marks a free slot: every encoding has a type tag. */
	for (i = 0; rs->mask && i <= rs->mask; i++) {
		if (!rs->len[i])
			continue;
		for (j = rs->hash[i] & (cap - 1); len[j];
		     j = (j + 1) & (cap - 1))
			;
		hash[j] = rs->hash[i];
		off[j] = rs->off[i];
		len[j] = rs->len[i];
	}
	dbr__free(rs->hash);
	dbr__free(rs->off);
	dbr__free(rs->len);
	rs->hash = hash;
	rs->off = off;
	rs->len = len;
	rs->mask = cap - 1;
	return DBR_OK;
}

/* Whether the row is new; remembers it. */
static int rowset_add(struct rowset *rs, const char *enc, size_t n, bool *added)
{
	uint64_t h = dbr_hash_bytes(enc, n);
	size_t i;

	*added = false;
	if ((rs->n + 1) * 2 > rs->mask + 1 && rowset_grow(rs))
		return DBR_E_NOMEM;
	for (i = h & rs->mask; rs->len[i]; i = (i + 1) & rs->mask)
		if (rs->hash[i] == h && rs->len[i] == n &&
		    !memcmp(rs->arena + rs->off[i], enc, n))
			return DBR_OK;
	if (dbr__grow(&rs->arena, &rs->acap, rs->alen + n, 1))
		return DBR_E_NOMEM;
	memcpy(rs->arena + rs->alen, enc, n);
	rs->hash[i] = h;
	rs->off[i] = rs->alen;
	rs->len[i] = n;
	rs->alen += n;
	rs->n++;
	*added = true;
	return DBR_OK;
}

/* DISTINCT: whether this part's row was returned before. */
static int seen_before(struct dbr__merge *m, struct part *pt, bool *seen)
{
	struct dbr_value v;
	bool added;
	size_t c;

	m->enclen = 0;
	for (c = 0; c < m->ncols; c++) {
		dbr_result_value(pt->res, c, &v);
		if (dbr__value_encode(&v, &m->enc, &m->enclen, &m->enccap))
			return DBR_E_NOMEM;
	}
	if (rowset_add(&m->seen, m->enc, m->enclen, &added))
		return DBR_E_NOMEM;
	*seen = !added;
	return DBR_OK;
}

/* Remember the order keys of the row a part gives now. */
static int keep_keys(struct dbr__merge *m, struct part *pt)
{
	size_t k;

	for (k = 0; k < m->nkeys; k++)
		dbr_result_value(pt->res, m->keys[k], &m->row[k]);
	pt->has_last = true;
	return dbr__values_set(&pt->last, m->row, m->nkeys);
}

int dbr__merge_next(struct dbr_result *res)
{
	struct dbr__merge *m = res->merge;
	struct part *pt;
	bool seen;
	int rc;

	if (m->cur)
		m->cur->state = PART_NEED;
	m->cur = NULL;
	res->row = false;
	for (;;) {
		if (m->limit && m->emitted >= m->limit)
			return DBR_DONE;
		rc = pick(m, &pt, &res->err);
		if (rc)
			return rc;
		if (!pt)
			return DBR_DONE;
		if (m->flags & DBR_FANOUT_DISTINCT) {
			if (seen_before(m, pt, &seen))
				return dbr__error_set(&res->err, DBR_E_NOMEM,
						      NULL, "out of memory");
			if (seen) {
				pt->state = PART_NEED;
				continue;
			}
		}
		if (m->nkeys && keep_keys(m, pt))
			return dbr__error_set(&res->err, DBR_E_NOMEM, NULL,
					      "out of memory");
		m->cur = pt;
		m->emitted++;
		res->row = true;
		return DBR_ROW;
	}
}

size_t dbr__merge_column_count(const struct dbr_result *res)
{
	return res->merge->ncols;
}

const char *dbr__merge_column_name(const struct dbr_result *res, size_t col)
{
	const struct dbr__merge *m = res->merge;
	size_t i;

	for (i = 0; i < m->nparts; i++)
		if (m->parts[i].res)
			return dbr_result_column_name(m->parts[i].res, col);
	return NULL;
}

int dbr__merge_value(struct dbr_result *res, size_t col, struct dbr_value *out)
{
	const struct dbr__merge *m = res->merge;

	if (!m->cur) {
		*out = dbr_null();
		return DBR_E_MISUSE;
	}
	return dbr_result_value(m->cur->res, col, out);
}

const char *dbr__merge_source(const struct dbr_result *res)
{
	return res->merge->cur ? res->merge->cur->src->name : NULL;
}

void dbr__merge_free(struct dbr_result *res)
{
	merge_free(res->merge);
}

struct dbr__pool *dbr__merge_home(const struct dbr_result *res)
{
	return DBR__CONTAINER_OF(res, struct dbr__merge, res)->home;
}

const char *dbr_result_missing(const struct dbr_result *p, size_t i,
			       struct dbr_error *err)
{
	const struct dbr_result *res = dbr__result_of(p);
	const struct dbr__merge *m = res ? res->merge : NULL;
	size_t k;

	for (k = 0; m && k < m->nparts; k++) {
		if (m->parts[k].res || i--)
			continue;
		if (err)
			*err = m->parts[k].err;
		return m->parts[k].src->name;
	}
	return NULL;
}
