/*
 * pg_capture.c - the PostgreSQL driver's part of a chat move (driver ABI
 * 2.2 capture and clock_ms): the fence and delta tables, and per moving
 * table two functions and six row triggers written for one move and one
 * chat.
 *
 * The BEFORE function takes the move's fence row FOR SHARE before it
 * reads it: the mover's update of that row waits for this chat's writers
 * in flight, and the writers that come after it wait for the update and
 * then read the new state. The deadline is read on the server's clock,
 * clock_timestamp() (now() is the transaction's start). A refused write
 * raises SQLSTATE DR001, which pg_category() reads as DBR_E_MOVING.
 *
 * Keys are recorded as JSON arrays by the overloaded _dbroute_key(): a
 * bytea as {"b": HEX} (as the SQLite driver does), any other value as
 * to_jsonb() spells it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg.h"
#include "sqltext.h"

#define PG_NOW_MS "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"

/* Attempts of an install that met another session creating the same
 * objects (a duplicate key in the catalog, "tuple concurrently updated"). */
#define PG_CAPTURE_ATTEMPTS 3

static const char pg_capture_shared[] =
	"CREATE TABLE IF NOT EXISTS _dbroute_fence (move_id BIGINT PRIMARY "
	"KEY, chat_id BIGINT NOT NULL, state TEXT NOT NULL, token BIGINT NOT "
	"NULL DEFAULT 0, fence_until_ms BIGINT NOT NULL DEFAULT 0, dest TEXT "
	"NOT NULL);"
	"CREATE TABLE IF NOT EXISTS _dbroute_delta (seq BIGSERIAL PRIMARY "
	"KEY, move_id BIGINT NOT NULL, tbl TEXT NOT NULL, pk TEXT NOT NULL, "
	"op TEXT NOT NULL);"
	"CREATE OR REPLACE FUNCTION _dbroute_key(bytea) RETURNS jsonb "
	"LANGUAGE sql IMMUTABLE AS $$SELECT jsonb_build_object('b', "
	"upper(encode($1, 'hex')))$$;"
	"CREATE OR REPLACE FUNCTION _dbroute_key(anyelement) RETURNS jsonb "
	"LANGUAGE sql IMMUTABLE AS $$SELECT to_jsonb($1)$$;";

/* The six triggers: name suffix, timing, event, the rows it watches. */
static const struct {
	const char *suffix, *when, *event, *rows;
} pg_triggers[] = {
	{ "bi", "BEFORE", "INSERT", "N" }, { "bu", "BEFORE", "UPDATE", "NO" },
	{ "bd", "BEFORE", "DELETE", "O" }, { "ai", "AFTER", "INSERT", "N" },
	{ "au", "AFTER", "UPDATE", "NO" }, { "ad", "AFTER", "DELETE", "O" },
};

static void put_table(struct dbr_sqltext *t, const struct dbr_capture *cap)
{
	if (*cap->schema) {
		dbr_sqltext_quoted(t, cap->schema, '"');
		dbr_sqltext_put(t, ".");
	}
	dbr_sqltext_quoted(t, cap->table, '"');
}

/* A function's or a trigger's name (BASE_SUFFIX), quoted. */
static void put_name(struct dbr_sqltext *t, const char *base,
		     const char *suffix)
{
	dbr_sqltext_put(t, "\"%s_%s\"", base, suffix);
}

/* The key of row (NEW or OLD) as JSON text. */
static void put_key(struct dbr_sqltext *t, const struct dbr_capture *cap,
		    const char *row)
{
	size_t i;

	dbr_sqltext_put(t, "jsonb_build_array(");
	for (i = 0; i < cap->nkey; i++) {
		dbr_sqltext_put(t, "%s_dbroute_key(%s.", i ? ", " : "", row);
		dbr_sqltext_quoted(t, cap->key[i], '"');
		dbr_sqltext_put(t, ")");
	}
	dbr_sqltext_put(t, ")::text");
}

static void put_functions(struct dbr_sqltext *t, const struct dbr_capture *cap,
			  const char *base)
{
	long long m = (long long)cap->move_id;

	dbr_sqltext_put(t, "CREATE OR REPLACE FUNCTION ");
	put_name(t, base, "b");
	dbr_sqltext_put(
		t,
		"() RETURNS trigger LANGUAGE plpgsql AS $dbroute$ DECLARE f "
		"record; BEGIN SELECT state, fence_until_ms INTO f FROM "
		"_dbroute_fence WHERE move_id = %lld FOR SHARE; IF FOUND AND "
		"(f.state = 'moved' OR (f.state = 'fenced' AND "
		"f.fence_until_ms > " PG_NOW_MS ")) THEN RAISE EXCEPTION "
		"'dbroute:fenced:%lld:%s' USING ERRCODE = 'DR001'; END IF; "
		"IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; "
		"END $dbroute$;",
		m, m, cap->dest);
	dbr_sqltext_put(t, "CREATE OR REPLACE FUNCTION ");
	put_name(t, base, "a");
	dbr_sqltext_put(t,
			"() RETURNS trigger LANGUAGE plpgsql AS $dbroute$ "
			"DECLARE s text; o text; n text; op text := "
			"lower(left(TG_OP, 1)); BEGIN SELECT state INTO s "
			"FROM _dbroute_fence WHERE move_id = %lld; IF s IS "
			"NULL OR s IN ('idle', 'mover') THEN RETURN NULL; "
			"END IF; IF TG_OP <> 'INSERT' THEN o := ",
			m);
	put_key(t, cap, "OLD");
	dbr_sqltext_put(t, "; END IF; IF TG_OP <> 'DELETE' THEN n := ");
	put_key(t, cap, "NEW");
	dbr_sqltext_put(t,
			"; END IF; IF o IS NOT NULL THEN INSERT INTO "
			"_dbroute_delta (move_id, tbl, pk, op) VALUES (%lld, ",
			m);
	dbr_sqltext_quoted(t, cap->table, '\'');
	dbr_sqltext_put(t,
			", o, op); END IF; IF n IS NOT NULL AND n IS "
			"DISTINCT FROM o THEN INSERT INTO _dbroute_delta "
			"(move_id, tbl, pk, op) VALUES (%lld, ",
			m);
	dbr_sqltext_quoted(t, cap->table, '\'');
	dbr_sqltext_put(t, ", n, op); END IF; RETURN NULL; END $dbroute$;");
}

/* WHEN: the chat's rows (N: the new row, O: the old one, NO: either). */
static void put_rows(struct dbr_sqltext *t, const struct dbr_capture *cap,
		     const char *rows)
{
	dbr_sqltext_put(t, "(");
	for (; *rows; rows++) {
		dbr_sqltext_put(t, "%s.", *rows == 'N' ? "NEW" : "OLD");
		dbr_sqltext_quoted(t, cap->chat_column, '"');
		dbr_sqltext_put(t, " = %lld%s", (long long)cap->chat,
				rows[1] ? " OR " : "");
	}
	dbr_sqltext_put(t, ")");
}

static void put_drop_triggers(struct dbr_sqltext *t,
			      const struct dbr_capture *cap, const char *base)
{
	size_t i;

	for (i = 0; i < sizeof(pg_triggers) / sizeof(*pg_triggers); i++) {
		dbr_sqltext_put(t, "DROP TRIGGER IF EXISTS ");
		put_name(t, base, pg_triggers[i].suffix);
		dbr_sqltext_put(t, " ON ");
		put_table(t, cap);
		dbr_sqltext_put(t, ";");
	}
}

/*
 * Install: the shared objects, the two functions, and the triggers made
 * again (dropped first: CREATE OR REPLACE TRIGGER is PostgreSQL 14's).
 * Remove: the triggers and the functions. Either is one implicit
 * transaction (one query string), all or nothing, its table locks
 * waited for at most 200 ms (lock_timeout; the mover tries again).
 */
static void put_capture(struct dbr_sqltext *t, const struct dbr_capture *cap,
			bool install)
{
	char base[64];
	size_t i;

	dbr_capture_name(cap, base, sizeof(base));
	dbr_sqltext_put(t, "SELECT set_config('lock_timeout', '200ms', true);");
	if (install) {
		dbr_sqltext_put(t, "%s", pg_capture_shared);
		put_functions(t, cap, base);
	}
	put_drop_triggers(t, cap, base);
	if (!install) {
		dbr_sqltext_put(t, "DROP FUNCTION IF EXISTS ");
		put_name(t, base, "b");
		dbr_sqltext_put(t, "(); DROP FUNCTION IF EXISTS ");
		put_name(t, base, "a");
		dbr_sqltext_put(t, "();");
		return;
	}
	for (i = 0; i < sizeof(pg_triggers) / sizeof(*pg_triggers); i++) {
		dbr_sqltext_put(t, "CREATE TRIGGER ");
		put_name(t, base, pg_triggers[i].suffix);
		dbr_sqltext_put(t, " %s %s ON ", pg_triggers[i].when,
				pg_triggers[i].event);
		put_table(t, cap);
		dbr_sqltext_put(t, " FOR EACH ROW WHEN ");
		put_rows(t, cap, pg_triggers[i].rows);
		dbr_sqltext_put(t, " EXECUTE FUNCTION ");
		put_name(t, base, pg_triggers[i].when[0] == 'B' ? "b" : "a");
		dbr_sqltext_put(t, "();");
	}
}

/* Another session created the same object at the same moment. */
static bool pg_raced(const struct dbr_error *err)
{
	return !strcmp(err->sqlstate, "23505") ||
	       !strcmp(err->sqlstate, "XX000") ||
	       !strcmp(err->sqlstate, "42P07") ||
	       !strcmp(err->sqlstate, "42710");
}

int pg_capture_run(struct pg_conn *c, const struct dbr_capture *cap,
		   bool install, struct dbr_error *err)
{
	struct dbr_sqltext t = { 0 };
	int attempt, rc = DBR_OK;

	if (!dbr_capture_valid(cap)) {
		pg_host->set_error(err, DBR_E_MISUSE, 0, NULL,
				   "capture: a table, its chat column, its key "
				   "and a destination's name are required");
		return DBR_E_MISUSE;
	}
	put_capture(&t, cap, install);
	if (t.failed) {
		free(t.s);
		pg_host->set_error(err, DBR_E_NOMEM, 0, NULL, "out of memory");
		return DBR_E_NOMEM;
	}
	for (attempt = 0; attempt < PG_CAPTURE_ATTEMPTS; attempt++) {
		rc = pg_command(c, t.s, NULL, pg_stmt_deadline(c), err);
		if (rc != DBR_E_STMT || !err || !pg_raced(err))
			break;
	}
	free(t.s);
	return rc;
}

int pg_clock_run(struct pg_conn *c, int64_t *ms, struct dbr_error *err)
{
	int64_t saved = c->deadline;
	PGresult *res;
	int rc;

	if (!c->pg || !PQsendQuery(c->pg, "SELECT " PG_NOW_MS))
		return pg_fail(c, NULL, err);
	c->deadline = pg_stmt_deadline(c);
	if (!c->deadline)
		c->deadline = pg_deadline_in(c->timeout);
	rc = pg_wait_result(c, err);
	c->deadline = saved;
	if (rc)
		return rc;
	res = PQgetResult(c->pg);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		rc = pg_fail(c, res, err);
		PQclear(res);
		(void)pg_collect(c, "clock", NULL, pg_deadline_in(c->timeout),
				 NULL);
		return rc ? rc : DBR_E_STMT;
	}
	*ms = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return pg_collect(c, "clock", NULL, pg_deadline_in(c->timeout), err);
}
