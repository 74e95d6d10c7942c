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

/* A trigger's name (BASE_SUFFIX), quoted. */
static void put_name(struct dbr_sqltext *t, const char *base,
		     const char *suffix)
{
	dbr_sqltext_put(t, "\"%s_%s\"", base, suffix);
}

/* One of dbroute's objects in schema s (the fence tables' schema), so
 * that a writer's search_path or a temporary table never finds another:
 * "s"."name". */
static void put_own(struct dbr_sqltext *t, const char *s, const char *name)
{
	dbr_sqltext_quoted(t, s, '"');
	dbr_sqltext_put(t, ".%s", name);
}

/* A function's name (BASE_SUFFIX) in schema s, quoted. */
static void put_function(struct dbr_sqltext *t, const char *s, const char *base,
			 const char *suffix)
{
	dbr_sqltext_quoted(t, s, '"');
	dbr_sqltext_put(t, ".");
	put_name(t, base, suffix);
}

/* The key of row (NEW or OLD) as JSON text. */
static void put_key(struct dbr_sqltext *t, const struct dbr_capture *cap,
		    const char *sch, const char *row)
{
	size_t i;

	dbr_sqltext_put(t, "jsonb_build_array(");
	for (i = 0; i < cap->nkey; i++) {
		dbr_sqltext_put(t, "%s", i ? ", " : "");
		put_own(t, sch, "_dbroute_key(");
		dbr_sqltext_put(t, "%s.", row);
		dbr_sqltext_quoted(t, cap->key[i], '"');
		dbr_sqltext_put(t, ")");
	}
	dbr_sqltext_put(t, ")::text");
}

/* The AFTER function's record of key `var` (o or n) in the delta. */
static void put_delta(struct dbr_sqltext *t, const struct dbr_capture *cap,
		      const char *sch, const char *var)
{
	dbr_sqltext_put(t, "INSERT INTO ");
	put_own(t, sch, "_dbroute_delta");
	dbr_sqltext_put(t, " (move_id, tbl, pk, op) VALUES (%lld, ",
			(long long)cap->move_id);
	dbr_sqltext_quoted(t, cap->table, '\'');
	dbr_sqltext_put(t, ", %s, op);", var);
}

/*
 * The trigger functions, in the fence tables' schema `sch`, every name
 * they use qualified and their search_path fixed. The BEFORE function
 * fails closed: a fence row it cannot see (a snapshot older than the
 * row: REPEATABLE READ) refuses the write as a fenced one does.
 */
static void put_functions(struct dbr_sqltext *t, const struct dbr_capture *cap,
			  const char *sch, const char *base)
{
	static const char fixed[] =
		"() RETURNS trigger LANGUAGE plpgsql SET search_path = "
		"pg_catalog, pg_temp AS $dbroute$ ";
	long long m = (long long)cap->move_id;

	dbr_sqltext_put(t, "CREATE OR REPLACE FUNCTION ");
	put_function(t, sch, base, "b");
	dbr_sqltext_put(t,
			"%sDECLARE f record; BEGIN SELECT state, "
			"fence_until_ms INTO f FROM ",
			fixed);
	put_own(t, sch, "_dbroute_fence");
	dbr_sqltext_put(
		t,
		" WHERE move_id = %lld FOR SHARE; IF NOT FOUND OR f.state = "
		"'moved' OR (f.state = 'fenced' AND f.fence_until_ms > " PG_NOW_MS
		") THEN RAISE EXCEPTION 'dbroute:fenced:%lld:%s' USING ERRCODE "
		"= 'DR001'; END IF; IF TG_OP = 'DELETE' THEN RETURN OLD; END "
		"IF; RETURN NEW; END $dbroute$;",
		m, m, cap->dest);
	/* TRUNCATE fires no row trigger: refused unless the move is idle. */
	dbr_sqltext_put(t, "CREATE OR REPLACE FUNCTION ");
	put_function(t, sch, base, "t");
	dbr_sqltext_put(t, "%sDECLARE s text; BEGIN SELECT state INTO s FROM ",
			fixed);
	put_own(t, sch, "_dbroute_fence");
	dbr_sqltext_put(t,
			" WHERE move_id = %lld FOR SHARE; IF s IS NULL OR s "
			"<> 'idle' THEN RAISE EXCEPTION "
			"'dbroute:fenced:%lld:%s' USING ERRCODE = 'DR001'; "
			"END IF; RETURN NULL; END $dbroute$;",
			m, m, cap->dest);
	dbr_sqltext_put(t, "CREATE OR REPLACE FUNCTION ");
	put_function(t, sch, base, "a");
	dbr_sqltext_put(t,
			"%sDECLARE s text; o text; n text; op text := "
			"lower(left(TG_OP, 1)); BEGIN SELECT state INTO s "
			"FROM ",
			fixed);
	put_own(t, sch, "_dbroute_fence");
	dbr_sqltext_put(t,
			" WHERE move_id = %lld; IF s IS NULL OR s IN "
			"('idle', 'mover') THEN RETURN NULL; END IF; IF TG_OP "
			"<> 'INSERT' THEN o := ",
			m);
	put_key(t, cap, sch, "OLD");
	dbr_sqltext_put(t, "; END IF; IF TG_OP <> 'DELETE' THEN n := ");
	put_key(t, cap, sch, "NEW");
	dbr_sqltext_put(t, "; END IF; IF o IS NOT NULL THEN ");
	put_delta(t, cap, sch, "o");
	dbr_sqltext_put(t, " END IF; IF n IS NOT NULL AND n IS DISTINCT FROM "
			   "o THEN ");
	put_delta(t, cap, sch, "n");
	dbr_sqltext_put(t, " END IF; RETURN NULL; END $dbroute$;");
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

/* Every trigger of cap's table for the move: the six row triggers and
 * the TRUNCATE one ("bt"). */
static void put_drop_triggers(struct dbr_sqltext *t,
			      const struct dbr_capture *cap, const char *base)
{
	size_t i;

	for (i = 0; i <= sizeof(pg_triggers) / sizeof(*pg_triggers); i++) {
		dbr_sqltext_put(t, "DROP TRIGGER IF EXISTS ");
		put_name(t, base,
			 i < sizeof(pg_triggers) / sizeof(*pg_triggers)
				 ? pg_triggers[i].suffix
				 : "bt");
		dbr_sqltext_put(t, " ON ");
		put_table(t, cap);
		dbr_sqltext_put(t, ";");
	}
}

/*
 * Trigger `suffix` made or replaced: a row trigger of pg_triggers[row],
 * or with row < 0 the BEFORE TRUNCATE statement trigger. PostgreSQL 14's
 * CREATE OR REPLACE TRIGGER takes SHARE ROW EXCLUSIVE (a DROP would take
 * ACCESS EXCLUSIVE and hold up every reader of the table); the trigger is
 * then enabled ALWAYS, so that a session with session_replication_role =
 * replica (pg_restore, a bulk loader) fires it too.
 */
static void put_trigger(struct dbr_sqltext *t, const struct dbr_capture *cap,
			const char *sch, const char *base, int row)
{
	const char *suffix = row < 0 ? "bt" : pg_triggers[row].suffix;

	dbr_sqltext_put(t, "CREATE OR REPLACE TRIGGER ");
	put_name(t, base, suffix);
	if (row < 0) {
		dbr_sqltext_put(t, " BEFORE TRUNCATE ON ");
		put_table(t, cap);
		dbr_sqltext_put(t, " FOR EACH STATEMENT");
	} else {
		dbr_sqltext_put(t, " %s %s ON ", pg_triggers[row].when,
				pg_triggers[row].event);
		put_table(t, cap);
		dbr_sqltext_put(t, " FOR EACH ROW WHEN ");
		put_rows(t, cap, pg_triggers[row].rows);
	}
	dbr_sqltext_put(t, " EXECUTE FUNCTION ");
	put_function(t, sch, base,
		     row < 0			       ? "t"
		     : pg_triggers[row].when[0] == 'B' ? "b"
						       : "a");
	dbr_sqltext_put(t, "(); ALTER TABLE ");
	put_table(t, cap);
	dbr_sqltext_put(t, " ENABLE ALWAYS TRIGGER ");
	put_name(t, base, suffix);
	dbr_sqltext_put(t, ";");
}

/*
 * Install: the shared objects, the functions, and the triggers made or
 * replaced. Remove: the triggers and the functions. Either is one
 * implicit transaction (one query string), all or nothing, its table
 * locks waited for at most 200 ms (lock_timeout; the mover tries again).
 */
static void put_capture(struct dbr_sqltext *t, const struct dbr_capture *cap,
			const char *sch, bool install)
{
	static const char *const fns[] = { "b", "a", "t" };
	char base[64];
	int i;

	dbr_capture_name(cap, base, sizeof(base));
	dbr_sqltext_put(t, "SELECT set_config('lock_timeout', '200ms', true);");
	if (!install) {
		put_drop_triggers(t, cap, base);
		for (i = 0; i < 3; i++) {
			dbr_sqltext_put(t, "DROP FUNCTION IF EXISTS ");
			put_function(t, sch, base, fns[i]);
			dbr_sqltext_put(t, "();");
		}
		return;
	}
	dbr_sqltext_put(t, "%s", pg_capture_shared);
	put_functions(t, cap, sch, base);
	for (i = -1; i < (int)(sizeof(pg_triggers) / sizeof(*pg_triggers)); i++)
		put_trigger(t, cap, sch, base, i);
}

/* Another session created the same object at the same moment. */
static bool pg_raced(const struct dbr_error *err)
{
	return !strcmp(err->sqlstate, "23505") ||
	       !strcmp(err->sqlstate, "XX000") ||
	       !strcmp(err->sqlstate, "42P07") ||
	       !strcmp(err->sqlstate, "42710");
}

static int pg_scalar(struct pg_conn *c, const char *sql, char *buf, size_t size,
		     struct dbr_error *err);

int pg_capture_run(struct pg_conn *c, const struct dbr_capture *cap,
		   bool install, struct dbr_error *err)
{
	struct dbr_sqltext t = { 0 };
	char sch[256];
	int attempt, rc;

	if (!dbr_capture_valid(cap)) {
		pg_host->set_error(err, DBR_E_MISUSE, 0, NULL,
				   "capture: a table, its chat column, its key "
				   "and a destination's name are required");
		return DBR_E_MISUSE;
	}
	rc = pg_scalar(c, "SELECT current_schema()", sch, sizeof(sch), err);
	if (!rc && !*sch) {
		pg_host->set_error(err, DBR_E_STMT, 0, NULL,
				   "capture: no schema of the search_path "
				   "exists to hold dbroute's fence tables");
		rc = DBR_E_STMT;
	}
	if (rc)
		return rc;
	put_capture(&t, cap, sch, install);
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

/* The first column of a one-row statement's result as text ("" for NULL)
 * into buf, under the statement's deadline (or the source's timeout). */
static int pg_scalar(struct pg_conn *c, const char *sql, char *buf, size_t size,
		     struct dbr_error *err)
{
	int64_t saved = c->deadline;
	PGresult *res;
	int rc;

	if (!c->pg || !PQsendQuery(c->pg, sql))
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
		(void)pg_collect(c, sql, NULL, pg_deadline_in(c->timeout),
				 NULL);
		return rc ? rc : DBR_E_STMT;
	}
	snprintf(buf, size, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return pg_collect(c, sql, NULL, pg_deadline_in(c->timeout), err);
}

int pg_clock_run(struct pg_conn *c, int64_t *ms, struct dbr_error *err)
{
	char buf[32];
	int rc = pg_scalar(c, "SELECT " PG_NOW_MS, buf, sizeof(buf), err);

	if (!rc)
		*ms = strtoll(buf, NULL, 10);
	return rc;
}
