/*
 * fence.c - a chat move's objects on one source: the driver's capture
 * triggers, the fence row and the delta the triggers record (fence.h).
 */
#include <string.h>

#include "fence.h"
#include "handle.h"

/* Source `name` of the configuration in force, whose driver has the
 * move's calls. */
static int movable(struct dbr *db, const char *name,
		   struct dbr_source_config **out, struct dbr_error *err)
{
	struct dbr_source_config *s =
		db && name ? dbr__config_source(db->cfg, name) : NULL;

	*out = s;
	if (!s)
		return dbr__error_set(err, DBR_E_NOTFOUND, NULL,
				      "no source named '%s'",
				      name ? name : "(null)");
	if (!s->drv->vt.capture || !s->drv->vt.clock_ms)
		return dbr__error_set(err, DBR_E_UNSUPPORTED, s->name,
				      "source '%s': driver '%s' cannot take "
				      "part in a chat move (no capture)",
				      s->name, s->drv->vt.name);
	return DBR_OK;
}

int dbr__fence_supported(struct dbr *db, const char *name,
			 struct dbr_error *err)
{
	struct dbr_source_config *s;

	return movable(db, name, &s, err);
}

/* Run a driver call of the move on a connection of s's pool. */
static int on_conn(struct dbr_source_config *s, const struct dbr_capture *cap,
		   bool install, int64_t *ms, struct dbr_error *err)
{
	struct dbr__pconn *c;
	int rc = dbr__pool_acquire(&s->rt->pool, &c, err);

	if (rc)
		return rc;
	rc = cap ? s->drv->vt.capture(c->dc, cap, install, err)
		 : s->drv->vt.clock_ms(c->dc, ms, err);
	if (rc) {
		c->errors++;
		dbr__error_source(err, s->name);
	}
	dbr__pool_put(c);
	return rc;
}

int dbr__fence_capture(struct dbr *db, const char *name,
		       const struct dbr_capture *cap, bool install,
		       struct dbr_error *err)
{
	struct dbr_source_config *s;
	int rc = movable(db, name, &s, err);

	return rc ? rc : on_conn(s, cap, install, NULL, err);
}

int dbr__fence_clock(struct dbr *db, const char *name, int64_t *ms,
		     struct dbr_error *err)
{
	struct dbr_source_config *s;
	int rc = movable(db, name, &s, err);

	return rc ? rc : on_conn(s, NULL, false, ms, err);
}

int dbr__fence_create(struct dbr *db, const char *name, int64_t move,
		      int64_t chat, const char *dest, struct dbr_error *err)
{
	struct dbr_value p[4] = { dbr_int64(move), dbr_int64(chat),
				  dbr_text(dest, strlen(dest)),
				  dbr_int64(move) };
	int rc = dbr__fence_supported(db, name, err);

	/* One statement on both engines: no row, or the one already there. */
	if (!rc)
		rc = dbr_query_source(db, name,
				      "INSERT INTO _dbroute_fence (move_id, "
				      "chat_id, state, token, fence_until_ms, "
				      "dest) SELECT ?, ?, 'idle', 0, 0, ? "
				      "WHERE NOT EXISTS (SELECT 1 FROM "
				      "_dbroute_fence WHERE move_id = ?)",
				      p, 4, NULL, err);
	return rc;
}

int dbr__fence_set(struct dbr *db, const char *name, int64_t move,
		   const char *from, int64_t token, const char *to,
		   int64_t new_token, int64_t until_ms, bool *done,
		   struct dbr_error *err)
{
	struct dbr_value p[6] = {
		dbr_text(to, strlen(to)),     dbr_int64(new_token),
		dbr_int64(until_ms),	      dbr_int64(move),
		dbr_text(from, strlen(from)), dbr_int64(token)
	};
	struct dbr_result *res = NULL;
	int rc = dbr__fence_supported(db, name, err);

	*done = false;
	if (!rc)
		rc = dbr_query_source(db, name,
				      "UPDATE _dbroute_fence SET state = ?, "
				      "token = ?, fence_until_ms = ? WHERE "
				      "move_id = ? AND state = ? AND token = ?",
				      p, 6, &res, err);
	if (!rc)
		*done = dbr_result_changes(res) == 1;
	dbr_result_free(res);
	return rc;
}

void dbr__fence_delta_free(struct dbr__delta *rows, size_t n)
{
	size_t i;

	for (i = 0; rows && i < n; i++) {
		dbr__free(rows[i].table);
		dbr__free(rows[i].pk);
	}
	dbr__free(rows);
}

/* Column col of res's row as an owned copy ("" for NULL). */
static char *text_at(struct dbr_result *res, size_t col)
{
	size_t len = 0;
	const char *s = dbr_result_text(res, col, &len);

	return dbr__strndup(s ? s : "", s ? len : 0);
}

int dbr__fence_delta(struct dbr *db, const char *name, int64_t move,
		     int64_t after, size_t max, struct dbr__delta **rows,
		     size_t *n, struct dbr_error *err)
{
	struct dbr_value p[3] = { dbr_int64(move), dbr_int64(after),
				  dbr_int64(max > INT64_MAX ? INT64_MAX
							    : (int64_t)max) };
	struct dbr__delta *out = NULL, *d;
	struct dbr_result *res = NULL;
	size_t cap = 0, len = 0, oplen;
	const char *op;
	int rc = dbr__fence_supported(db, name, err);

	*rows = NULL;
	*n = 0;
	if (!rc)
		rc = dbr_query_source(db, name,
				      "SELECT seq, tbl, pk, op FROM "
				      "_dbroute_delta WHERE move_id = ? AND "
				      "seq > ? ORDER BY seq LIMIT ?",
				      p, 3, &res, err);
	while (!rc && (rc = dbr_result_next(res)) == DBR_ROW) {
		rc = DBR_OK;
		if (dbr__grow(&out, &cap, len + 1, sizeof(*out))) {
			rc = DBR_E_NOMEM;
			break;
		}
		d = &out[len];
		d->seq = dbr_result_int64(res, 0);
		d->table = text_at(res, 1);
		d->pk = text_at(res, 2);
		op = dbr_result_text(res, 3, &oplen);
		d->op = op && oplen ? op[0] : '?';
		len++;
		if (!d->table || !d->pk)
			rc = DBR_E_NOMEM;
	}
	if (rc == DBR_DONE)
		rc = DBR_OK;
	else if (rc == DBR_E_NOMEM)
		dbr__error_set(err, DBR_E_NOMEM, name, "out of memory");
	else if (rc && res && err)
		*err = *dbr_result_error(res);
	dbr_result_free(res);
	if (rc) {
		dbr__fence_delta_free(out, len);
		return rc;
	}
	*rows = out;
	*n = len;
	return DBR_OK;
}
