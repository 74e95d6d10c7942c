/*
 * move_record.c - a chat move's row in the mapping store's dbroute_moves
 * (created with the store's other tables, core/mapstore.c): made when a
 * move starts (one live move per chat: a partial unique index, and the
 * check under the store's version row lock, which names the other move),
 * saved at each state change and batch, read by dbr_move_status() and
 * dbr_move_list(). Times are the mover's clock, as the change log's.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "handle.h"
#include "mapstore.h"
#include "move.h"
#include "query.h"

/* A live move holds its lease this long past each save (resume, to come,
 * takes over a move whose lease ran out). */
#define LEASE_MS 60000

static const char status_cols[] =
	"SELECT move_id, chat_id, src, dst, state, token, rows_copied, "
	"pause_ms, attempts, started_ms, updated_ms, error FROM dbroute_moves";

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int store_name(struct dbr *db, const char **name, struct dbr_error *err)
{
	const struct dbr__config *cfg = db ? db->cfg : NULL;

	*name = NULL;
	if (!cfg)
		return dbr__error_set(err, DBR_E_MISUSE, NULL, "db is NULL");
	if (!cfg->has_store)
		return dbr__error_set(err, DBR_E_CONFIG, NULL,
				      "moving a chat needs a [mapping] store "
				      "(docs/operations.md)");
	*name = cfg->sources[cfg->store].name;
	return DBR_OK;
}

/* The first row of sql in tx: *found, and its first column in *v. */
static int tx_int(struct dbr_tx *tx, const char *sql, const struct dbr_value *p,
		  size_t n, int64_t *v, bool *found, struct dbr_error *err)
{
	struct dbr_result *res = NULL;
	int rc = dbr_tx_query(tx, sql, p, n, &res, err);

	*found = false;
	if (!rc)
		rc = dbr__result_first(res, found, err);
	if (!rc && *found)
		*v = dbr_result_int64(res, 0);
	dbr_result_free(res);
	return rc;
}

/* Refuse a second live move of the chat; take the next id into m. */
static int check_and_number(struct dbr__move *m, struct dbr_tx *tx,
			    struct dbr_error *err)
{
	struct dbr_value chat = dbr_int64(m->chat);
	int64_t other = 0;
	bool found;
	int rc = dbr_tx_query(tx,
			      "UPDATE dbroute_meta SET v = v WHERE k = "
			      "'version'",
			      NULL, 0, NULL, err);

	if (!rc)
		rc = tx_int(tx,
			    "SELECT move_id FROM dbroute_moves WHERE chat_id "
			    "= ? AND state NOT IN ('switched', 'aborted')",
			    &chat, 1, &other, &found, err);
	if (!rc && found) {
		dbr__error_set(err, DBR_E_CONSTRAINT, NULL,
			       "chat %lld: move %lld is live (not switched "
			       "nor aborted): one move per chat at a time",
			       (long long)m->chat, (long long)other);
		dbr__error_hint(err, "see dbroute move-chat --status; abort "
				     "it (dbr_move_abort) or let it finish");
		return DBR_E_CONSTRAINT;
	}
	if (!rc)
		rc = tx_int(tx,
			    "SELECT COALESCE(MAX(move_id), 0) + 1 FROM "
			    "dbroute_moves",
			    NULL, 0, &m->id, &found, err);
	return rc;
}

int dbr__move_record_new(struct dbr__move *m, struct dbr_error *err)
{
	char owner[400];
	struct dbr_tx *tx = NULL;
	const char *store;
	int64_t now = wall_ms();
	int rc = store_name(m->db, &store, err);

	dbr__mapping_actor(owner, sizeof(owner));
	if (!rc)
		rc = dbr_mapping_init(m->db, err);
	if (!rc)
		rc = dbr_tx_begin_source(m->db, store, &tx, err);
	if (!rc)
		rc = check_and_number(m, tx, err);
	if (!rc) {
		struct dbr_value p[10] = {
			dbr_int64(m->id),
			dbr_int64(m->chat),
			dbr_text(m->src, strlen(m->src)),
			dbr_text(m->dst, strlen(m->dst)),
			dbr_text(m->state, strlen(m->state)),
			dbr_int64(m->token),
			dbr_text(owner, strlen(owner)),
			dbr_int64(now + LEASE_MS),
			dbr_int64(now),
			dbr_int64(now),
		};

		rc = dbr_tx_query(tx,
				  "INSERT INTO dbroute_moves (move_id, "
				  "chat_id, src, dst, state, token, owner, "
				  "lease_until_ms, cursor, rows_copied, "
				  "pause_ms, attempts, started_ms, "
				  "updated_ms, error) VALUES (?, ?, ?, ?, ?, "
				  "?, ?, ?, '', 0, -1, 0, ?, ?, '')",
				  p, 10, NULL, err);
	}
	if (!rc)
		rc = dbr_tx_commit(tx, err);
	else if (tx)
		dbr_tx_rollback(tx, NULL);
	return rc;
}

int dbr__move_record_save(struct dbr__move *m, struct dbr_error *err)
{
	const char *store;
	int rc = store_name(m->db, &store, err);

	if (!rc) {
		int64_t now = wall_ms();
		struct dbr_value p[10] = {
			dbr_text(m->state, strlen(m->state)),
			dbr_text(m->cursor, strlen(m->cursor)),
			dbr_int64(m->copied),
			dbr_int64(m->pause_ms),
			dbr_int64(m->attempts),
			dbr_text(m->error, strlen(m->error)),
			dbr_int64(now),
			dbr_int64(now + LEASE_MS),
			dbr_int64(m->id),
			dbr_int64(m->token),
		};

		rc = dbr_query_source(m->db, store,
				      "UPDATE dbroute_moves SET state = ?, "
				      "cursor = ?, rows_copied = ?, pause_ms "
				      "= ?, attempts = ?, error = ?, "
				      "updated_ms = ?, lease_until_ms = ? "
				      "WHERE move_id = ? AND token = ?",
				      p, 10, NULL, err);
	}
	return rc;
}

/* Column col of res as text into buf (size bytes). */
static void text_into(struct dbr_result *res, size_t col, char *buf,
		      size_t size)
{
	size_t len = 0;
	const char *s = dbr_result_text(res, col, &len);

	snprintf(buf, size, "%.*s", (int)len, s ? s : "");
}

/* res's current row (status_cols) into st. */
static void status_row(struct dbr_result *res, struct dbr_move_status *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	st->move_id = dbr_result_int64(res, 0);
	st->chat = dbr_result_int64(res, 1);
	text_into(res, 2, st->from, sizeof(st->from));
	text_into(res, 3, st->to, sizeof(st->to));
	text_into(res, 4, st->state, sizeof(st->state));
	st->token = dbr_result_int64(res, 5);
	st->rows_copied = dbr_result_int64(res, 6);
	st->pause_ms = dbr_result_int64(res, 7);
	st->attempts = (int32_t)dbr_result_int64(res, 8);
	st->started_ms = dbr_result_int64(res, 9);
	st->updated_ms = dbr_result_int64(res, 10);
	text_into(res, 11, st->error, sizeof(st->error));
}

/* The moves of the store (id > 0: that one only) into *out. */
static int read_moves(struct dbr *db, int64_t id, struct dbr_move_status **out,
		      size_t *n, struct dbr_error *err)
{
	char sql[sizeof(status_cols) + 64];
	struct dbr_value p = dbr_int64(id);
	struct dbr_move_status *v = NULL;
	struct dbr_result *res = NULL;
	const char *store;
	size_t cap = 0, len = 0;
	int rc = store_name(db, &store, err);

	*out = NULL;
	*n = 0;
	snprintf(sql, sizeof(sql), "%s%s ORDER BY move_id", status_cols,
		 id > 0 ? " WHERE move_id = ?" : "");
	if (!rc)
		rc = dbr_mapping_init(db, err);
	if (!rc)
		rc = dbr_query_source(db, store, sql, &p, id > 0, &res, err);
	while (!rc && (rc = dbr_result_next(res)) == DBR_ROW) {
		rc = dbr__grow(&v, &cap, len + 1, sizeof(*v));
		if (!rc)
			status_row(res, &v[len++]);
	}
	if (rc == DBR_DONE)
		rc = DBR_OK;
	else if (rc == DBR_E_NOMEM)
		dbr__error_set(err, rc, NULL, "out of memory");
	else if (rc && res && err)
		*err = *dbr_result_error(res);
	dbr_result_free(res);
	if (rc) {
		dbr__free(v);
		return rc;
	}
	*out = v;
	*n = len;
	return DBR_OK;
}

int dbr__move_record_load(struct dbr__move *m, int64_t id,
			  struct dbr_error *err)
{
	struct dbr_move_status *st = NULL;
	size_t n = 0;
	int rc = read_moves(m->db, id, &st, &n, err);

	if (!rc && !n)
		rc = dbr__error_set(err, DBR_E_NOTFOUND, NULL,
				    "no move %lld in the store", (long long)id);
	if (!rc) {
		m->id = st->move_id;
		m->chat = st->chat;
		m->token = st->token;
		m->copied = st->rows_copied;
		snprintf(m->src, sizeof(m->src), "%s", st->from);
		snprintf(m->dst, sizeof(m->dst), "%s", st->to);
		snprintf(m->state, sizeof(m->state), "%s", st->state);
	}
	dbr__free(st);
	return rc;
}

int dbr_move_status(struct dbr *db, int64_t move_id, struct dbr_move_status *st,
		    struct dbr_error *err)
{
	struct dbr_move_status *v = NULL;
	size_t n = 0, size;
	int rc;

	if (!db || !st || st->size < offsetof(struct dbr_move_status, error))
		return dbr__error_set(err, DBR_E_MISUSE, NULL,
				      "dbr_move_status: db and st (with "
				      "st->size set) are required");
	size = st->size < sizeof(*st) ? st->size : sizeof(*st);
	rc = read_moves(db, move_id > 0 ? move_id : -1, &v, &n, err);
	if (!rc && (move_id <= 0 || !n))
		rc = dbr__error_set(err, DBR_E_NOTFOUND, NULL,
				    "no move %lld in the store",
				    (long long)move_id);
	if (!rc) {
		v->size = size;
		memcpy(st, v, size);
	}
	dbr__free(v);
	return rc;
}

int dbr_move_list(struct dbr *db, struct dbr_move_status **moves, size_t *n,
		  struct dbr_error *err)
{
	if (!moves || !n)
		return dbr__error_set(err, DBR_E_MISUSE, NULL,
				      "dbr_move_list: moves and n are "
				      "required");
	return read_moves(db, 0, moves, n, err);
}
