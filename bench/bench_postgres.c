/*
 * bench_postgres.c - PostgreSQL workloads: point lookups and single-row
 * inserts, raw libpq (one prepared statement reused, binary int8
 * parameters) next to dbroute on the same server (DBR_TEST_PG, as
 * scripts/bench.sh starts it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "bench.h"

struct pg_side {
	PGconn *c;
	long at, count;
	int64_t sink;
};

static void pg_exec(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);

	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK)
		bench_die("%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
}

static void be64(char *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (char)(v & 0xff);
}

static void raw_lookup(void *arg, long n)
{
	static const int lengths[2] = { 8, 8 }, formats[2] = { 1, 1 };
	struct pg_side *s = arg;
	char a[8], b[8];
	const char *values[2] = { a, b };
	PGresult *r;

	while (n--) {
		const int64_t *k = bench_keys[s->at++ & (BENCH_NKEYS - 1)];

		be64(a, (uint64_t)k[0]);
		be64(b, (uint64_t)k[1]);
		r = PQexecPrepared(s->c, "lookup", 2, values, lengths, formats,
				   0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
			bench_die("raw lookup: %s", PQerrorMessage(s->c));
		s->sink += strtoll(PQgetvalue(r, 0, 0), NULL, 10) +
			   strtoll(PQgetvalue(r, 0, 1), NULL, 10) +
			   strtoll(PQgetvalue(r, 0, 2), NULL, 10) +
			   PQgetlength(r, 0, 3) + PQgetvalue(r, 0, 3)[0];
		PQclear(r);
	}
}

static void raw_insert(void *arg, long n)
{
	static const int lengths[2] = { 8, 0 }, formats[2] = { 1, 0 };
	struct pg_side *s = arg;
	char a[8];
	const char *values[2] = { a, "an inserted message" };
	PGresult *r;

	while (n--) {
		if (s->count % 1000 == 0)
			pg_exec(s->c, "BEGIN");
		be64(a, (uint64_t)(s->count % BENCH_CHATS + 1));
		r = PQexecPrepared(s->c, "insert", 2, values, lengths, formats,
				   0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			bench_die("raw insert: %s", PQerrorMessage(s->c));
		PQclear(r);
		if (++s->count % 1000 == 0)
			pg_exec(s->c, "COMMIT");
	}
	if (s->count % 1000) { /* a batch ends with its transaction */
		pg_exec(s->c, "COMMIT");
		s->count += 1000 - s->count % 1000;
	}
}

static void prepare(PGconn *c, const char *name, const char *sql)
{
	static const Oid types[2] = { 20, 0 }; /* int8, and inferred */
	static const Oid both8[2] = { 20, 20 };
	PGresult *r = PQprepare(c, name, sql, 2,
				!strcmp(name, "lookup") ? both8 : types);

	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		bench_die("prepare %s: %s", name, PQerrorMessage(c));
	PQclear(r);
}

static void load(PGconn *c)
{
	pg_exec(c, "SET client_min_messages = warning");
	pg_exec(c, "DROP TABLE IF EXISTS messages, ins");
	pg_exec(c, "CREATE TABLE messages (chat_id BIGINT, message_id BIGINT,"
		   " user_id BIGINT, text TEXT, PRIMARY KEY (chat_id, "
		   "message_id))");
	pg_exec(c, "CREATE TABLE ins (id BIGSERIAL PRIMARY KEY, chat_id "
		   "BIGINT, text TEXT)");
	pg_exec(c, "INSERT INTO messages SELECT k % 100 + 1, k / 100, "
		   "k % 997, format('message %s of chat %s: some text of a "
		   "usual length', k / 100, k % 100 + 1) FROM "
		   "generate_series(0, 99999) k");
	pg_exec(c, "ANALYZE messages");
}

void bench_postgres(struct bench *b)
{
	const char *conninfo = getenv("DBR_TEST_PG");
	struct pg_side raw = { 0 };
	struct dbr_side dbr = { 0 };
	char text[1024];

	if (!bench_group(b, "postgres"))
		return;
	if (!conninfo) {
		printf("%-28s skipped: DBR_TEST_PG is not set "
		       "(scripts/bench.sh starts a server)\n",
		       "postgres.*");
		return;
	}
	raw.c = PQconnectdb(conninfo);
	if (PQstatus(raw.c) != CONNECTION_OK)
		bench_die("postgres: %s", PQerrorMessage(raw.c));
	load(raw.c);
	prepare(raw.c, "lookup",
		"SELECT chat_id, message_id, user_id, text FROM messages "
		"WHERE chat_id = $1 AND message_id = $2");
	prepare(raw.c, "insert",
		"INSERT INTO ins (chat_id, text) VALUES ($1, $2)");
	snprintf(text, sizeof(text),
		 "[source.pg]\ntype = postgres\nconninfo = %s\n", conninfo);
	dbr.h = bench_open(b, "postgres.ini", text);
	if (bench_wanted(b, "postgres.point_lookup"))
		bench_compare(b, "postgres.point_lookup", raw_lookup, &raw,
			      bench_dbr_lookup, &dbr, bench_ops(b, 5000));
	if (bench_wanted(b, "postgres.insert"))
		bench_compare(b, "postgres.insert", raw_insert, &raw,
			      bench_dbr_insert, &dbr,
			      (bench_ops(b, 5000) + 999) / 1000 * 1000);
	dbr_close(dbr.h);
	PQfinish(raw.c);
}
