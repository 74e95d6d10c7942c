/*
 * move_run.c - a chat move's run in online mode (docs/moving-chats.md,
 * "The move"), between SQLite and PostgreSQL sources: dbr_move_start(),
 * dbr_move_run(), dbr_move_abort().
 *
 * The move's states (dbroute_moves.state; only the mover changes them,
 * each change saved with its token):
 *
 *   state        set by            what holds                 next
 *   capturing    dbr_move_start    the row exists, triggers   copying,
 *                                  being installed            aborted
 *   copying      dbr_move_start    the source captures the    catching_up,
 *                                  chat's writes; keyset copy aborted
 *   catching_up  dbr_move_run      the delta applied until    fenced,
 *                                  the backlog is small       aborted
 *   fenced       dbr_move_run      the source refuses the     switched,
 *                                  chat's writes until        catching_up,
 *                                  fence_until                aborted
 *   switched     the store change  source fence 'moved', the  (final)
 *                                  store maps the destination
 *   aborted      any failure       capture removed, copied    (final)
 *                before the switch rows deleted, error kept
 *   failed       the store change  the source says moved but  (by hand)
 *                failed            the store maps the source
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "fence.h"
#include "handle.h"
#include "mapstore.h"
#include "move.h"
#include "move_plan.h"
#include "query.h"

void dbr__move_progress(struct dbr__move *m)
{
	struct dbr_move_status st;

	if (!m->opts || !m->opts->progress)
		return;
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	st.move_id = m->id;
	st.chat = m->chat;
	snprintf(st.from, sizeof(st.from), "%s", m->src);
	snprintf(st.to, sizeof(st.to), "%s", m->dst);
	snprintf(st.state, sizeof(st.state), "%s", m->state);
	st.token = m->token;
	st.rows_copied = m->copied;
	st.backlog = m->backlog;
	st.pause_ms = m->pause_ms;
	st.attempts = m->attempts;
	snprintf(st.error, sizeof(st.error), "%s", m->error);
	m->opts->progress(m->opts->ud, &st);
}

void dbr__move_release(struct dbr__move *m)
{
	size_t i, j;

	for (i = 0; m->t && i < m->nt; i++) {
		struct dbr__move_table *t = &m->t[i];

		for (j = 0; t->raw && j < t->ncols; j++)
			dbr__free(t->raw[j]);
		dbr__free(t->raw);
		dbr__free(t->key);
		dbr__free((void *)t->keyv);
		dbr__free(t->as_text);
		dbr__free(t->is_int);
		dbr__free(t->src);
		dbr__free(t->dst);
		dbr__free(t->schema);
		dbr__free(t->name);
		dbr__free(t->chat_raw);
		dbr__free(t->sel_first);
		dbr__free(t->sel_next);
		dbr__free(t->sel_key);
		dbr__free(t->upsert);
		dbr__free(t->del);
	}
	dbr__free(m->t);
	m->t = NULL;
	m->nt = 0;
}

/* A quoted identifier's text ("a""b" -> a"b); owned. */
static char *unquoted(const char *q)
{
	size_t n = strlen(q), i, len = 0;
	char *s = dbr__malloc(n + 1);

	if (!s)
		return NULL;
	for (i = (q[0] == '"') ? 1 : 0; i < n; i++) {
		if (q[i] == '"' && q[i + 1] == '"')
			i++;
		else if (q[i] == '"')
			break;
		s[len++] = q[i];
	}
	s[len] = '\0';
	return s;
}

/* One table of the move from plan table pt and the source's catalog. */
static int one_table(struct dbr__move *m, struct dbr__move_table *t,
		     const struct dbr_move_table *pt,
		     const struct dbr__catalog_copy *cc, struct dbr_error *err)
{
	const struct dbr__cat_table *ct = dbr__catalog_copy_find(cc, pt->name);
	size_t i, k;

	if (!pt->has_pk || !ct)
		return dbr__error_set(err, DBR_E_UNSUPPORTED, m->src,
				      "table %s has no primary key: only "
				      "blocking mode could move it, and it "
				      "is not built yet",
				      pt->name);
	t->src = dbr__strdup(pt->name);
	t->dst = dbr__strdup(pt->dst_name);
	t->schema = dbr__strdup(ct->schema);
	t->name = dbr__strdup(ct->name);
	t->chat_raw = unquoted(pt->chat_column);
	t->raw = dbr__calloc(pt->ncolumns + 1, sizeof(*t->raw));
	t->key = dbr__calloc(pt->ncolumns + 1, sizeof(*t->key));
	t->keyv = dbr__calloc(pt->ncolumns + 1, sizeof(*t->keyv));
	t->as_text = dbr__calloc(pt->ncolumns + 1, sizeof(*t->as_text));
	t->is_int = dbr__calloc(pt->ncolumns + 1, sizeof(*t->is_int));
	if (!t->src || !t->dst || !t->schema || !t->name || !t->chat_raw ||
	    !t->raw || !t->key || !t->keyv || !t->as_text || !t->is_int)
		return dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
	for (i = 0; i < pt->ncolumns; i++) {
		const struct dbr_move_column *c = &pt->columns[i];

		if (!(t->raw[i] = dbr__strdup(c->name)))
			return dbr__error_set(err, DBR_E_NOMEM, NULL,
					      "out of memory");
		t->ncols++;
		t->as_text[i] =
			m->src_pg && m->dst_pg && !strcmp(c->cls, "other");
		t->is_int[i] = !strcmp(c->cls, "integer");
		if (!strcmp(c->name, t->chat_raw))
			t->chat_text = !strcmp(c->cls, "text");
	}
	/* The key's columns in key order. */
	for (k = 1; k <= pt->ncolumns; k++)
		for (i = 0; i < pt->ncolumns; i++)
			if (pt->columns[i].pk == k) {
				t->keyv[t->nkey] = t->raw[i];
				t->key[t->nkey++] = i;
			}
	if (t->ncols > 32 || t->nkey > 32)
		return dbr__error_set(err, DBR_E_UNSUPPORTED, m->src,
				      "table %s: more than 32 columns",
				      pt->name);
	if (dbr__move_table_sql(t, m->batch_rows))
		return dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
	return DBR_OK;
}

int dbr__move_tables(struct dbr__move *m, const struct dbr_move_plan *p,
		     struct dbr_error *err)
{
	struct dbr__catalog_copy cc = { 0 };
	size_t i;
	int rc = dbr__catalog_copy(m->db, m->src, &cc, err);

	if (!rc && !(m->t = dbr__calloc(p->ntables + 1, sizeof(*m->t))))
		rc = dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
	for (i = 0; !rc && i < p->ntables; i++) {
		m->nt++;
		rc = one_table(m, &m->t[i], &p->tables[i], &cc, err);
	}
	dbr__catalog_copy_release(&cc);
	return rc;
}

/* The [move] keys and the sides' engines. */
static void setup(struct dbr__move *m)
{
	const struct dbr__config *cfg = m->db->cfg;
	const struct dbr_source_config *s = dbr__config_source(cfg, m->src);
	const struct dbr_source_config *d = dbr__config_source(cfg, m->dst);

	m->batch_rows = cfg->move_batch_rows ? cfg->move_batch_rows : 1000;
	m->fence_ms = (int64_t)(cfg->move_fence_timeout * 1000.0);
	if (m->fence_ms <= 0)
		m->fence_ms = 2000;
	m->max_attempts =
		cfg->move_max_attempts > 0 ? cfg->move_max_attempts : 5;
	m->src_pg = s && !strcmp(s->drv->vt.name, "postgres");
	m->dst_pg = d && !strcmp(d->drv->vt.name, "postgres");
	m->pause_ms = -1;
}

/* Plan the move of m->chat to m->dst again and take its tables. */
static int plan_into(struct dbr__move *m, struct dbr_error *err)
{
	struct dbr_move_plan *p = NULL;
	int rc = dbr_move_plan(m->db, m->chat, m->dst, &p, err);

	if (!rc && m->src[0] && strcmp(p->from, m->src))
		rc = dbr__error_set(err, DBR_E_MISUSE, NULL,
				    "move %lld: chat %lld lives on '%s' now, "
				    "not on '%s'",
				    (long long)m->id, (long long)m->chat,
				    p->from, m->src);
	if (!rc) {
		snprintf(m->src, sizeof(m->src), "%s", p->from);
		setup(m);
		rc = dbr__move_tables(m, p, err);
	}
	dbr_move_plan_free(p);
	return rc;
}

/* The destination must hold none of the chat's rows (an abort deletes
 * them all). */
static int dst_empty(struct dbr__move *m, struct dbr_error *err)
{
	char sql[1200], chat[24];
	struct dbr_result *res = NULL;
	size_t i;
	bool row;
	int rc = DBR_OK;

	for (i = 0; !rc && i < m->nt; i++) {
		const struct dbr__move_table *t = &m->t[i];
		struct dbr_value p =
			dbr__move_chat_value(m, t, chat, sizeof(chat));

		snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM %s WHERE \"%s\" = ?", t->dst,
			 t->chat_raw);
		rc = dbr_query_source(m->db, m->dst, sql, &p, 1, &res, err);
		if (!rc && !(rc = dbr__result_first(res, &row, err)) && row &&
		    dbr_result_int64(res, 0) > 0)
			rc = dbr__error_set(err, DBR_E_CONSTRAINT, m->dst,
					    "table %s on '%s' holds %lld rows "
					    "of chat %lld already",
					    t->dst, m->dst,
					    (long long)dbr_result_int64(res, 0),
					    (long long)m->chat);
		dbr_result_free(res);
		res = NULL;
	}
	return rc;
}

/*
 * Install (or remove) one table's capture, again after 0.05, 0.2, 1, 2
 * and 4 s when the source was busy (DBR_E_TIMEOUT): PostgreSQL's CREATE
 * TRIGGER waits at most its lock_timeout for the table's writers, and a
 * SQLite writer that committed since the capture's first read makes it
 * fail at once (SQLITE_BUSY_SNAPSHOT).
 */
struct dbr_capture dbr__move_cap(const struct dbr__move *m,
				 const struct dbr__move_table *t)
{
	struct dbr_capture cap = {
		.struct_size = sizeof(cap),
		.move_id = m->id,
		.chat = m->chat,
		.schema = t->schema,
		.table = t->name,
		.chat_column = t->chat_raw,
		.key = t->keyv,
		.nkey = t->nkey,
		.dest = m->dst,
	};

	return cap;
}

int dbr__move_capture(struct dbr__move *m, const struct dbr_capture *cap,
		      bool install, struct dbr_error *err)
{
	static const long pause_ms[] = { 50, 200, 1000, 2000, 4000 };
	size_t i;
	int rc = dbr__fence_capture(m->db, m->src, cap, install, err);

	for (i = 0; rc == DBR_E_TIMEOUT && i < 5; i++) {
		struct timespec ts = { pause_ms[i] / 1000,
				       pause_ms[i] % 1000 * 1000000L };

		nanosleep(&ts, NULL);
		rc = dbr__fence_capture(m->db, m->src, cap, install, err);
	}
	return rc;
}

/* Install the capture of every table, then the fence row in capture. */
static int capture(struct dbr__move *m, struct dbr_error *err)
{
	size_t i;
	bool done = false;
	int rc = DBR_OK;

	for (i = 0; !rc && i < m->nt; i++) {
		const struct dbr__move_table *t = &m->t[i];
		struct dbr_capture cap = dbr__move_cap(m, t);

		rc = dbr__move_capture(m, &cap, true, err);
		/* The triggers fail closed without the fence row: made as
		 * soon as the first install has made its table. */
		if (!rc && i == 0)
			rc = dbr__fence_create(m->db, m->src, m->id, m->chat,
					       m->dst, err);
	}
	if (!rc)
		rc = dbr__fence_set(m->db, m->src, m->id, "idle", 0, "capture",
				    m->token, 0, &done, err);
	if (!rc && !done)
		rc = dbr__error_set(err, DBR_E_STMT, m->src,
				    "move %lld: its fence row on '%s' is not "
				    "idle",
				    (long long)m->id, m->src);
	return rc;
}

/* A failure before the switch: undo, record it as aborted. */
static int aborted(struct dbr__move *m, int rc, struct dbr_error *err)
{
	struct dbr_error e;

	snprintf(m->error, sizeof(m->error), "%s",
		 err ? err->message : dbr_strerror(rc));
	if (dbr__move_undo(m, &e)) {
		snprintf(m->state, sizeof(m->state), "failed");
		snprintf(m->error + strlen(m->error),
			 sizeof(m->error) - strlen(m->error),
			 "; the undo failed: %s", e.message);
	} else {
		snprintf(m->state, sizeof(m->state), "aborted");
	}
	dbr__move_record_save(m, &e);
	dbr__move_progress(m);
	return rc;
}

int dbr_move_start(struct dbr *db, int64_t chat, const char *to,
		   const struct dbr_move_options *opts, int64_t *move_id,
		   struct dbr_error *err_)
{
	struct dbr_error local = { 0 }, *err = err_ ? err_ : &local;
	struct dbr__move m;
	int rc;

	if (move_id)
		*move_id = 0;
	if (!db || !to || !move_id)
		return dbr__error_set(err, DBR_E_MISUSE, NULL,
				      "dbr_move_start: db, to and move_id are "
				      "required");
	memset(&m, 0, sizeof(m));
	m.db = db;
	m.chat = chat;
	m.token = 1;
	m.opts = opts;
	snprintf(m.dst, sizeof(m.dst), "%s", to);
	snprintf(m.state, sizeof(m.state), "capturing");
	rc = plan_into(&m, err);
	if (!rc)
		rc = dst_empty(&m, err);
	if (!rc)
		rc = dbr__move_record_new(&m, err);
	if (rc) {
		dbr__move_release(&m);
		return rc;
	}
	*move_id = m.id;
	rc = capture(&m, err);
	if (!rc) {
		snprintf(m.state, sizeof(m.state), "copying");
		rc = dbr__move_record_save(&m, err);
	}
	if (rc)
		aborted(&m, rc, err);
	else
		dbr__move_progress(&m);
	dbr__move_release(&m);
	return rc;
}

/* Load move id for a run or an abort; its tables planned again. */
static int load(struct dbr *db, int64_t id, struct dbr__move *m,
		struct dbr_error *err)
{
	int rc;

	memset(m, 0, sizeof(*m));
	m->db = db;
	if (!db)
		return dbr__error_set(err, DBR_E_MISUSE, NULL, "db is NULL");
	rc = dbr__move_record_load(m, id, err);
	if (!rc &&
	    (!strcmp(m->state, "switched") || !strcmp(m->state, "aborted") ||
	     !strcmp(m->state, "failed")))
		rc = dbr__error_set(err, DBR_E_MISUSE, NULL,
				    "move %lld is %s already", (long long)id,
				    m->state);
	if (!rc)
		rc = plan_into(m, err);
	return rc;
}

int dbr_move_run(struct dbr *db, int64_t move_id,
		 const struct dbr_move_options *opts, struct dbr_error *err_)
{
	struct dbr_error local = { 0 }, *err = err_ ? err_ : &local;
	struct dbr__move m;
	int rc = load(db, move_id, &m, err);

	m.opts = opts;
	if (!rc && strcmp(m.state, "copying"))
		rc = dbr__error_set(err, DBR_E_MISUSE, NULL,
				    "move %lld is in state %s: only a move "
				    "in state copying runs (resume is not "
				    "built yet)",
				    (long long)move_id, m.state);
	if (rc) {
		dbr__move_release(&m);
		return rc;
	}
	m.copied = 0;
	rc = dbr__move_copy(&m, err);
	if (!rc)
		rc = dbr__move_switch(&m, err);
	if (!rc)
		dbr__move_record_save(&m, NULL); /* its counters */
	if (rc && strcmp(m.state, "failed")) {
		aborted(&m, rc, err);
	} else {
		if (rc) {
			struct dbr_error e;

			snprintf(m.error, sizeof(m.error), "%s", err->message);
			dbr__move_record_save(&m, &e);
		}
		dbr__move_progress(&m);
	}
	dbr__move_release(&m);
	return rc;
}

int dbr_move_abort(struct dbr *db, int64_t move_id, struct dbr_error *err_)
{
	struct dbr_error local = { 0 }, *err = err_ ? err_ : &local;
	struct dbr__move m;
	int rc = load(db, move_id, &m, err);

	if (!rc)
		rc = dbr__move_undo(&m, err);
	if (!rc) {
		snprintf(m.state, sizeof(m.state), "aborted");
		snprintf(m.error, sizeof(m.error), "aborted by request");
		rc = dbr__move_record_save(&m, err);
	}
	dbr__move_release(&m);
	return rc;
}
