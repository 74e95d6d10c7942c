/*
 * sqlt_capture.c - the SQLite driver's part of a chat move (driver ABI
 * 2.2 capture and clock_ms): the fence and delta tables, and per moving
 * table six row triggers written for one move and one chat.
 *
 * SQLite 3.40's RAISE() takes only a literal message, and a trigger's
 * WHEN only its row: the move id, the chat id and the destination are
 * written into each trigger's text. The fence's deadline is read on the
 * file's one clock (julianday('now'), fixed for one statement); writers
 * of one file are serialized by its lock, so a fence row the mover
 * updates is seen by every write after its commit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "sqlt_capture.h"
#include "sqltext.h"

/* The server's clock in milliseconds, as the triggers read it. */
#define SQLT_NOW_MS                                                            \
	"CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)"

static const char sqlt_capture_tables[] =
	"CREATE TABLE IF NOT EXISTS _dbroute_fence (move_id INTEGER PRIMARY "
	"KEY, chat_id INTEGER NOT NULL, state TEXT NOT NULL, token INTEGER "
	"NOT NULL DEFAULT 0, fence_until_ms INTEGER NOT NULL DEFAULT 0, dest "
	"TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS _dbroute_delta (seq INTEGER PRIMARY KEY "
	"AUTOINCREMENT, move_id INTEGER NOT NULL, tbl TEXT NOT NULL, pk TEXT "
	"NOT NULL, op TEXT NOT NULL);";

/* The six triggers: name suffix, timing, event, the rows it watches. */
static const struct {
	const char *suffix, *when, *event, *rows;
} sqlt_triggers[] = {
	{ "bi", "BEFORE", "INSERT", "N" }, { "bu", "BEFORE", "UPDATE", "NO" },
	{ "bd", "BEFORE", "DELETE", "O" }, { "ai", "AFTER", "INSERT", "N" },
	{ "au", "AFTER", "UPDATE", "NO" }, { "ad", "AFTER", "DELETE", "O" },
};

/* The trigger's name: _dbroute_MOVE_HASH_SUFFIX, schema-qualified. */
static void put_trigger(struct dbr_sqltext *t, const struct dbr_capture *cap,
			const char *suffix)
{
	char base[64];

	dbr_capture_name(cap, base, sizeof(base));
	if (*cap->schema) {
		dbr_sqltext_quoted(t, cap->schema, '"');
		dbr_sqltext_put(t, ".");
	}
	dbr_sqltext_put(t, "\"%s_%s\"", base, suffix);
}

/* The key as a JSON array; a blob is {"b": HEX}. `row` is NEW or OLD. */
static void put_key(struct dbr_sqltext *t, const struct dbr_capture *cap,
		    const char *row)
{
	size_t i;

	dbr_sqltext_put(t, "json_array(");
	for (i = 0; i < cap->nkey; i++) {
		dbr_sqltext_put(t, "%sCASE WHEN typeof(%s.", i ? ", " : "",
				row);
		dbr_sqltext_quoted(t, cap->key[i], '"');
		dbr_sqltext_put(t, ") = 'blob' THEN json_object('b', hex(%s.",
				row);
		dbr_sqltext_quoted(t, cap->key[i], '"');
		dbr_sqltext_put(t, ")) ELSE %s.", row);
		dbr_sqltext_quoted(t, cap->key[i], '"');
		dbr_sqltext_put(t, " END");
	}
	dbr_sqltext_put(t, ")");
}

/* WHEN: the chat's rows (N: the new row, O: the old one, NO: either). */
static void put_rows(struct dbr_sqltext *t, const struct dbr_capture *cap,
		     const char *rows)
{
	bool both = strlen(rows) == 2;

	dbr_sqltext_put(t, "(");
	for (; *rows; rows++) {
		dbr_sqltext_put(t, "%s.", *rows == 'N' ? "NEW" : "OLD");
		dbr_sqltext_quoted(t, cap->chat_column, '"');
		dbr_sqltext_put(t, " = %lld%s", (long long)cap->chat,
				both && rows[1] ? " OR " : "");
	}
	dbr_sqltext_put(t, ")");
}

static void put_delta(struct dbr_sqltext *t, const struct dbr_capture *cap,
		      const char *row, const char *op)
{
	dbr_sqltext_put(
		t,
		"INSERT INTO _dbroute_delta (move_id, tbl, pk, op) VALUES "
		"(%lld, ",
		(long long)cap->move_id);
	dbr_sqltext_quoted(t, cap->table, '\'');
	dbr_sqltext_put(t, ", ");
	put_key(t, cap, row);
	dbr_sqltext_put(t, ", '%s');", op);
}

/* Whether NEW's key is a row of the chat's already. */
static void put_replaced(struct dbr_sqltext *t, const struct dbr_capture *cap)
{
	size_t i;

	dbr_sqltext_put(t, "EXISTS (SELECT 1 FROM ");
	dbr_sqltext_quoted(t, cap->table, '"');
	dbr_sqltext_put(t, " AS _dbroute_r WHERE _dbroute_r.");
	dbr_sqltext_quoted(t, cap->chat_column, '"');
	dbr_sqltext_put(t, " = %lld", (long long)cap->chat);
	for (i = 0; i < cap->nkey; i++) {
		dbr_sqltext_put(t, " AND _dbroute_r.");
		dbr_sqltext_quoted(t, cap->key[i], '"');
		dbr_sqltext_put(t, " IS NEW.");
		dbr_sqltext_quoted(t, cap->key[i], '"');
	}
	dbr_sqltext_put(t, ")");
}

static void put_install(struct dbr_sqltext *t, const struct dbr_capture *cap)
{
	size_t i;

	dbr_sqltext_put(t, "%s", sqlt_capture_tables);
	for (i = 0; i < sizeof(sqlt_triggers) / sizeof(*sqlt_triggers); i++) {
		bool before = sqlt_triggers[i].when[0] == 'B';
		char op = (char)(sqlt_triggers[i].event[0] + 'a' - 'A');

		dbr_sqltext_put(t, "CREATE TRIGGER IF NOT EXISTS ");
		put_trigger(t, cap, sqlt_triggers[i].suffix);
		dbr_sqltext_put(t, " %s %s ON ", sqlt_triggers[i].when,
				sqlt_triggers[i].event);
		dbr_sqltext_quoted(t, cap->table, '"');
		dbr_sqltext_put(t, " WHEN ");
		/* An insert whose key is a row of the chat's: a REPLACE
		 * deletes that row without a delete trigger. */
		if (before && op == 'i') {
			dbr_sqltext_put(t, "(");
			put_rows(t, cap, sqlt_triggers[i].rows);
			dbr_sqltext_put(t, " OR ");
			put_replaced(t, cap);
			dbr_sqltext_put(t, ")");
		} else {
			put_rows(t, cap, sqlt_triggers[i].rows);
		}
		/* Fails closed: no fence row refuses, as a fence does. */
		if (before)
			dbr_sqltext_put(
				t,
				" AND (NOT EXISTS (SELECT 1 FROM _dbroute_fence "
				"WHERE move_id = %lld) OR EXISTS (SELECT 1 FROM "
				"_dbroute_fence WHERE move_id = %lld AND (state "
				"= 'moved' OR (state = 'fenced' AND "
				"fence_until_ms > " SQLT_NOW_MS ")))) BEGIN "
				"SELECT RAISE(ABORT, 'dbroute:fenced:%lld:%s'); "
				"END;",
				(long long)cap->move_id,
				(long long)cap->move_id,
				(long long)cap->move_id, cap->dest);
		else
			dbr_sqltext_put(t,
					" AND EXISTS (SELECT 1 FROM "
					"_dbroute_fence WHERE move_id = %lld "
					"AND ",
					(long long)cap->move_id);
		if (before)
			continue;
		if (op != 'u') {
			dbr_sqltext_put(
				t, "state NOT IN ('idle', 'mover')) BEGIN ");
			put_delta(t, cap, op == 'i' ? "NEW" : "OLD",
				  op == 'i' ? "i" : "d");
			dbr_sqltext_put(t, " END;");
		} else {
			/* The old key, and the new one when it differs. */
			dbr_sqltext_put(
				t, "state NOT IN ('idle', 'mover')) BEGIN ");
			put_delta(t, cap, "OLD", "u");
			dbr_sqltext_put(
				t,
				" INSERT INTO _dbroute_delta (move_id, tbl, pk, "
				"op) SELECT %lld, ",
				(long long)cap->move_id);
			dbr_sqltext_quoted(t, cap->table, '\'');
			dbr_sqltext_put(t, ", ");
			put_key(t, cap, "NEW");
			dbr_sqltext_put(t, ", 'u' WHERE ");
			put_key(t, cap, "NEW");
			dbr_sqltext_put(t, " <> ");
			put_key(t, cap, "OLD");
			dbr_sqltext_put(t, "; END;");
		}
	}
	/* A REPLACE by another chat of a row of the chat's: its key is
	 * recorded (the row is gone afterwards). */
	dbr_sqltext_put(t, "CREATE TRIGGER IF NOT EXISTS ");
	put_trigger(t, cap, "br");
	dbr_sqltext_put(t, " BEFORE INSERT ON ");
	dbr_sqltext_quoted(t, cap->table, '"');
	dbr_sqltext_put(t, " WHEN NEW.");
	dbr_sqltext_quoted(t, cap->chat_column, '"');
	dbr_sqltext_put(t, " IS NOT %lld AND ", (long long)cap->chat);
	put_replaced(t, cap);
	dbr_sqltext_put(t,
			" AND EXISTS (SELECT 1 FROM _dbroute_fence WHERE "
			"move_id = %lld AND state NOT IN ('idle', 'mover')) "
			"BEGIN ",
			(long long)cap->move_id);
	put_delta(t, cap, "NEW", "d");
	dbr_sqltext_put(t, " END;");
}

static void put_remove(struct dbr_sqltext *t, const struct dbr_capture *cap)
{
	size_t i;

	for (i = 0; i < sizeof(sqlt_triggers) / sizeof(*sqlt_triggers); i++) {
		dbr_sqltext_put(t, "DROP TRIGGER IF EXISTS ");
		put_trigger(t, cap, sqlt_triggers[i].suffix);
		dbr_sqltext_put(t, ";");
	}
	dbr_sqltext_put(t, "DROP TRIGGER IF EXISTS ");
	put_trigger(t, cap, "br");
	dbr_sqltext_put(t, ";");
}

int sqlt_capture_run(sqlite3 *db, const struct dbr_host *host,
		     const struct dbr_capture *cap, bool install,
		     struct dbr_error *err)
{
	struct dbr_sqltext t = { 0 };
	char *msg = NULL;
	int rc;

	if (!dbr_capture_valid(cap)) {
		host->set_error(err, DBR_E_MISUSE, 0, NULL,
				"capture: a table, its chat column, its key "
				"and a destination's name are required");
		return DBR_E_MISUSE;
	}
	dbr_sqltext_put(&t, "SAVEPOINT dbroute_capture;");
	if (install)
		put_install(&t, cap);
	else
		put_remove(&t, cap);
	dbr_sqltext_put(&t, "RELEASE dbroute_capture;");
	if (t.failed) {
		free(t.s);
		host->set_error(err, DBR_E_NOMEM, 0, NULL, "out of memory");
		return DBR_E_NOMEM;
	}
	rc = sqlite3_exec(db, t.s, NULL, NULL, &msg);
	free(t.s);
	if (rc == SQLITE_OK)
		return DBR_OK;
	host->set_error(
		err,
		(rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED
			? DBR_E_TIMEOUT
			: DBR_E_STMT,
		rc, NULL, "capture of table '%s' for move %lld: %s", cap->table,
		(long long)cap->move_id, msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	/* A statement that failed inside the savepoint leaves it open. */
	sqlite3_exec(db, "ROLLBACK TO dbroute_capture; RELEASE dbroute_capture",
		     NULL, NULL, NULL);
	return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED
		       ? DBR_E_TIMEOUT
		       : DBR_E_STMT;
}

int sqlt_clock_run(sqlite3 *db, const struct dbr_host *host, int64_t *ms,
		   struct dbr_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "SELECT " SQLT_NOW_MS, -1, &st, NULL);

	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		*ms = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		return DBR_OK;
	}
	sqlite3_finalize(st);
	host->set_error(err, DBR_E_STMT, rc, NULL, "the file's clock: %s",
			sqlite3_errmsg(db));
	return DBR_E_STMT;
}
