/*
 * test_move.c - a chat move's first piece (issue 14): the plan
 * (dbr_move_plan()) between SQLite and, when scripts/test.sh started it
 * (DBR_TEST_PG), PostgreSQL sources in the four directions; its refusals
 * (a missing table or column, another primary key, a type that is not
 * portable across engines, a side that is not SQL, no store); the
 * discovery of chat, keyless and global tables; the row digest (the same
 * rows on SQLite and PostgreSQL digest alike, one changed value, a
 * missing or an extra row does not); and `dbroute move-chat`'s outputs
 * and exit codes.
 */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "helpers.h"

/*
 * Sources: st (the store, SQLite, the default), s1 and s2 (SQLite), p1
 * and p2 (PostgreSQL, when its server runs), r (Redis, never connected).
 */
struct env {
	char *dir;
	char *config;
	struct dbr *db;
	bool pg;
};

static void env_open(struct env *e, const char *tag, bool store)
{
	char c1[512], c2[512], name[64], text[4096];

	memset(e, 0, sizeof(*e));
	snprintf(name, sizeof(name), "move_%s_1", tag);
	e->pg = t_pg_database(name, c1, sizeof(c1));
	snprintf(name, sizeof(name), "move_%s_2", tag);
	if (e->pg)
		t_pg_database(name, c2, sizeof(c2));
	e->dir = t_tmpdir();
	snprintf(text, sizeof(text),
		 "[database]\ndefault_source = st\n"
		 "[source.st]\ntype = sqlite\npath = st.db\n"
		 "[source.s1]\ntype = sqlite\npath = s1.db\n"
		 "[source.s2]\ntype = sqlite\npath = s2.db\n"
		 "[source.r]\ntype = redis\nhost = 127.0.0.1\nport = 1\n"
		 "%s",
		 store ? "[mapping]\nstore = st\n" : "");
	if (e->pg)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
			 "[source.p1]\ntype = postgres\nconninfo = %s\n"
			 "[source.p2]\ntype = postgres\nconninfo = %s\n",
			 c1, c2);
	e->config = t_write(e->dir, "move.ini", text);
	e->db = t_open(e->config);
}

static void env_close(struct env *e)
{
	dbr_close(e->db);
	t_rmtree(e->dir);
	free(e->dir);
	free(e->config);
}

static void exec_on(struct dbr *db, const char *source, const char *sql)
{
	struct dbr_error err;

	if (dbr_query_source(db, source, sql, NULL, 0, NULL, &err))
		fail_msg("%s: %s: %s", source, sql, err.message);
}

static bool is_pg(const char *source)
{
	return source[0] == 'p';
}

/* The chat tables every test starts from, on one source: the same on
 * both engines but for messages' key and blob types. */
static void make_tables(struct env *e, const char *source)
{
	exec_on(e->db, source,
		is_pg(source)
			? "CREATE TABLE messages (id BIGINT PRIMARY KEY, "
			  "chat_id BIGINT NOT NULL, body TEXT, data BYTEA, "
			  "score DOUBLE PRECISION)"
			: "CREATE TABLE messages (id INTEGER PRIMARY KEY, "
			  "chat_id BIGINT NOT NULL, body TEXT, data BLOB, "
			  "score DOUBLE PRECISION)");
	exec_on(e->db, source,
		"CREATE TABLE members (chat_id BIGINT, user_id BIGINT, role "
		"VARCHAR(20), PRIMARY KEY (chat_id, user_id))");
	exec_on(e->db, source, "CREATE TABLE log (chat_id BIGINT, line TEXT)");
	exec_on(e->db, source,
		"CREATE TABLE settings (k TEXT PRIMARY KEY, v TEXT)");
}

/* Map chat to source while it is empty, then give it rows there. */
static void seed_chat(struct env *e, int64_t chat, const char *source)
{
	struct dbr_error err;
	char sql[256];
	int i;

	if (dbr_mapping_set(e->db, chat, source, "test", NULL, &err))
		fail_msg("mapping set: %s", err.message);
	for (i = 0; i < 3; i++) {
		snprintf(sql, sizeof(sql),
			 "INSERT INTO messages (id, chat_id, body, score) "
			 "VALUES (%" PRId64 ", %" PRId64 ", 'm%d', %d.5)",
			 chat * 10 + i, chat, i, i);
		exec_on(e->db, source, sql);
	}
	snprintf(sql, sizeof(sql),
		 "INSERT INTO members VALUES (%" PRId64 ", 1, 'owner')", chat);
	exec_on(e->db, source, sql);
}

static struct dbr_move_plan *plan_ok(struct env *e, int64_t chat,
				     const char *to)
{
	struct dbr_move_plan *p = NULL;
	struct dbr_error err;
	int rc = dbr_move_plan(e->db, chat, to, &p, &err);

	if (rc)
		fail_msg("plan %" PRId64 " to %s: %d %s", chat, to, rc,
			 err.message);
	assert_non_null(p);
	assert_int_equal(p->status, DBR_OK);
	return p;
}

static const struct dbr_move_table *table_of(const struct dbr_move_plan *p,
					     const char *name)
{
	size_t i;

	for (i = 0; i < p->ntables; i++)
		if (strstr(p->tables[i].name, name))
			return &p->tables[i];
	fail_msg("no table %s in the plan", name);
	return NULL;
}

/* The plan of chat 5 on from, to `to`: accepted, tables and rows. */
static void check_direction(struct env *e, int64_t chat, const char *from,
			    const char *to)
{
	struct dbr_move_plan *p = plan_ok(e, chat, to);

	assert_string_equal(p->from, from);
	assert_string_equal(p->to, to);
	assert_int_equal(p->ntables, 3); /* messages, members, log */
	assert_int_equal(table_of(p, "messages")->rows, 3);
	assert_int_equal(table_of(p, "members")->rows, 1);
	assert_int_equal(table_of(p, "log")->rows, 0);
	assert_int_equal(table_of(p, "log")->has_pk, 0);
	assert_int_equal(table_of(p, "members")->has_pk, 1);
	assert_int_equal(p->rows, 4);
	assert_string_equal(p->mode, "blocking"); /* log has no key */
	assert_null(table_of(p, "messages")->problem);
	dbr_move_plan_free(p);
}

static void test_move__plan_accepted_in_four_directions(void **state)
{
	struct env e;

	(void)state;
	env_open(&e, "dir", true);
	make_tables(&e, "s1");
	make_tables(&e, "s2");
	seed_chat(&e, 5, "s1");
	check_direction(&e, 5, "s1", "s2");
	if (!e.pg) {
		env_close(&e);
		t_need_server_or_skip("DBR_TEST_PG", "PostgreSQL server");
		return;
	}
	make_tables(&e, "p1");
	make_tables(&e, "p2");
	seed_chat(&e, 6, "p1");
	check_direction(&e, 5, "s1", "p2"); /* SQLite -> PostgreSQL */
	check_direction(&e, 6, "p1", "p2"); /* PostgreSQL -> PostgreSQL */
	check_direction(&e, 6, "p1", "s2"); /* PostgreSQL -> SQLite */
	env_close(&e);
}

/* A refused plan: DBR_E_CONSTRAINT, a plan whose table `table` names
 * `what`, and the error naming both. */
static void refused(struct env *e, int64_t chat, const char *to,
		    const char *table, const char *what)
{
	struct dbr_move_plan *p = NULL;
	struct dbr_error err;
	int rc = dbr_move_plan(e->db, chat, to, &p, &err);

	if (rc != DBR_E_CONSTRAINT)
		fail_msg("plan to %s: %d %s", to, rc, rc ? err.message : "");
	assert_non_null(p);
	assert_int_equal(p->status, DBR_E_CONSTRAINT);
	assert_non_null(table_of(p, table)->problem);
	if (!strstr(table_of(p, table)->problem, what) ||
	    !strstr(err.message, what) || !strstr(err.message, table))
		fail_msg("'%s' lacks %s or %s", err.message, table, what);
	dbr_move_plan_free(p);
}

static void test_move__plan_refusals(void **state)
{
	struct env e;

	(void)state;
	env_open(&e, "ref", true);
	make_tables(&e, "s1");
	make_tables(&e, "s2");
	seed_chat(&e, 5, "s1");
	exec_on(e.db, "s2", "DROP TABLE log");
	refused(&e, 5, "s2", "log", "missing on the destination");
	exec_on(e.db, "s2", "CREATE TABLE log (chat_id BIGINT)");
	refused(&e, 5, "s2", "log", "column line is missing");
	exec_on(e.db, "s2", "DROP TABLE log");
	exec_on(e.db, "s2",
		"CREATE TABLE log (chat_id BIGINT, line TEXT, extra TEXT)");
	refused(&e, 5, "s2", "log", "column extra is on the destination");
	exec_on(e.db, "s2", "DROP TABLE log");
	exec_on(e.db, "s2",
		"CREATE TABLE log (chat_id BIGINT PRIMARY KEY, line TEXT)");
	refused(&e, 5, "s2", "log", "primary key differs");
	exec_on(e.db, "s2", "DROP TABLE log");
	exec_on(e.db, "s2", "CREATE TABLE log (chat_id BIGINT, line BLOB)");
	refused(&e, 5, "s2", "log", "column line: text");
	exec_on(e.db, "s2", "DROP TABLE log");
	exec_on(e.db, "s2", "CREATE TABLE log (chat_id BIGINT, line TEXT)");
	dbr_move_plan_free(plan_ok(&e, 5, "s2"));
	if (!e.pg) {
		env_close(&e);
		t_need_server_or_skip("DBR_TEST_PG", "PostgreSQL server");
		return;
	}
	/* Across engines: a timestamptz, a numeric, a real refused. */
	make_tables(&e, "p1");
	make_tables(&e, "p2");
	exec_on(e.db, "s1", "ALTER TABLE log ADD COLUMN at TIMESTAMP");
	exec_on(e.db, "p2", "ALTER TABLE log ADD COLUMN at TIMESTAMPTZ");
	refused(&e, 5, "p2", "log", "not portable");
	exec_on(e.db, "p2", "ALTER TABLE log DROP COLUMN at");
	exec_on(e.db, "p2", "ALTER TABLE log ADD COLUMN at NUMERIC(10,2)");
	exec_on(e.db, "s1", "DROP TABLE log");
	exec_on(e.db, "s1",
		"CREATE TABLE log (chat_id BIGINT, line TEXT, at "
		"NUMERIC(10,2))");
	refused(&e, 5, "p2", "log", "exact decimals");
	exec_on(e.db, "p2", "ALTER TABLE log DROP COLUMN at");
	exec_on(e.db, "p2", "ALTER TABLE log ADD COLUMN at REAL");
	exec_on(e.db, "s1", "DROP TABLE log");
	exec_on(e.db, "s1",
		"CREATE TABLE log (chat_id BIGINT, line TEXT, "
		"at DOUBLE PRECISION)");
	refused(&e, 5, "p2", "log", "single precision");
	/* PostgreSQL -> PostgreSQL: exact types, timestamptz allowed, a
	 * different one refused. */
	seed_chat(&e, 6, "p1");
	exec_on(e.db, "p1", "ALTER TABLE log ADD COLUMN at TIMESTAMPTZ");
	exec_on(e.db, "p2", "ALTER TABLE log DROP COLUMN at");
	exec_on(e.db, "p2", "ALTER TABLE log ADD COLUMN at TIMESTAMPTZ");
	dbr_move_plan_free(plan_ok(&e, 6, "p2"));
	exec_on(e.db, "p2", "ALTER TABLE log DROP COLUMN at");
	exec_on(e.db, "p2", "ALTER TABLE log ADD COLUMN at TIMESTAMP");
	refused(&e, 6, "p2", "log", "type timestamp with time zone");
	env_close(&e);
}

/* A call's status, and its message containing `what`. */
static void fails_with(int rc, int want, const struct dbr_error *err,
		       const char *what)
{
	if (rc != want || !strstr(err->message, what))
		fail_msg("got %d '%s', want %d '%s'", rc, err->message, want,
			 what);
}

/*
 * MariaDB (DBR_TEST_MYSQL): a MySQL side is refused as not yet movable
 * (its SQL does not quote names with double quotes), before any
 * statement.
 */
static void test_move__plan_refuses_mariadb(void **state)
{
	char text[2048];
	struct dbr_move_plan *p = NULL;
	struct dbr_error err;
	struct env e;

	(void)state;
	if (!getenv("DBR_TEST_MYSQL")) {
		t_need_server_or_skip("DBR_TEST_MYSQL", "MariaDB server");
		return;
	}
	memset(&e, 0, sizeof(e));
	e.dir = t_tmpdir();
	snprintf(text, sizeof(text),
		 "[database]\ndefault_source = st\n"
		 "[source.st]\ntype = sqlite\npath = st.db\n"
		 "[source.m]\ntype = mysql\nunix_socket = %s\nuser = dbr\n"
		 "database = dbroute_test\n"
		 "password_env = DBR_TEST_MYSQL_PASSWORD\n"
		 "[mapping]\nstore = st\n",
		 getenv("DBR_TEST_MYSQL"));
	e.config = t_write(e.dir, "move.ini", text);
	e.db = t_open(e.config);
	fails_with(dbr_move_plan(e.db, 9, "m", &p, &err), DBR_E_UNSUPPORTED,
		   &err, "not driver 'mysql'");
	assert_null(p);
	env_close(&e);
}

/*
 * Every table keyed and 10,000 rows (the copy estimated at a second, half
 * the fence budget): online mode. A [table.NAME] section with a text chat
 * column: its rows counted and digested with the chat compared as text.
 */
static void test_move__mode_and_text_chat_column(void **state)
{
	struct dbr_move_digest d1, d2;
	struct dbr_move_plan *p;
	struct dbr_error err;
	char *ini, text[8192];
	struct env e;

	(void)state;
	env_open(&e, "mode", true);
	make_tables(&e, "s1");
	make_tables(&e, "s2");
	seed_chat(&e, 5, "s1");
	exec_on(e.db, "s1", "DROP TABLE log");
	exec_on(e.db, "s2", "DROP TABLE log");
	p = plan_ok(&e, 5, "s2");
	assert_string_equal(p->mode, "blocking");
	assert_non_null(strstr(p->mode_reason, "half the fence budget"));
	dbr_move_plan_free(p);
	exec_on(e.db, "s1",
		"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
		"WHERE i < 9996) INSERT INTO messages (id, chat_id) "
		"SELECT 1000 + i, 5 FROM n");
	p = plan_ok(&e, 5, "s2");
	assert_int_equal(p->rows, 10000);
	assert_string_equal(p->mode, "online");
	dbr_move_plan_free(p);
	env_close(&e);

	/* A text chat column, named in a [table.NAME] section. */
	env_open(&e, "textcol", true);
	dbr_close(e.db);
	ini = t_read(e.config);
	assert_non_null(ini);
	snprintf(text, sizeof(text), "%s[table.notes]\nchat_column = chat\n",
		 ini);
	free(t_write(e.dir, "move.ini", text));
	free(ini);
	e.db = t_open(e.config);
	exec_on(e.db, "st",
		"CREATE TABLE notes (id INTEGER PRIMARY KEY, chat "
		"TEXT, body TEXT)");
	exec_on(e.db, "s1",
		"CREATE TABLE notes (id INTEGER PRIMARY KEY, chat "
		"TEXT, body TEXT)");
	exec_on(e.db, "s2",
		"CREATE TABLE notes (id INTEGER PRIMARY KEY, chat "
		"TEXT, body TEXT)");
	assert_int_equal(dbr_mapping_set(e.db, 5, "s1", "test", NULL, &err),
			 DBR_OK);
	exec_on(e.db, "s1",
		"INSERT INTO notes VALUES (1, '5', 'a'), (2, '5', 'b'), "
		"(3, '6', 'c')");
	exec_on(e.db, "s2",
		"INSERT INTO notes VALUES (2, '5', 'b'), (1, '5', "
		"'a')");
	p = plan_ok(&e, 5, "s2");
	assert_int_equal(p->ntables, 1);
	assert_int_equal(p->rows, 2);
	dbr_move_plan_free(p);
	assert_int_equal(
		dbr_move_digest(e.db, "s1", "notes", 5, NULL, &d1, &err),
		DBR_OK);
	assert_int_equal(
		dbr_move_digest(e.db, "s2", "notes", 5, NULL, &d2, &err),
		DBR_OK);
	assert_int_equal(d1.rows, 2);
	assert_true(d1.sum == d2.sum && d1.xor == d2.xor);
	env_close(&e);
}

static void test_move__plan_needs_sql_sides_and_a_store(void **state)
{
	struct dbr_move_plan *p = (void *)1;
	struct dbr_error err;
	struct env e;

	(void)state;
	env_open(&e, "side", true);
	make_tables(&e, "s1");
	seed_chat(&e, 5, "s1");
	fails_with(dbr_move_plan(e.db, 5, "r", &p, &err), DBR_E_UNSUPPORTED,
		   &err, "not an SQL source");
	assert_null(p);
	fails_with(dbr_move_plan(e.db, 5, "nope", &p, &err), DBR_E_NOTFOUND,
		   &err, "'nope'");
	fails_with(dbr_move_plan(e.db, 5, "s1", &p, &err), DBR_E_MISUSE, &err,
		   "already lives");
	fails_with(dbr_move_plan(e.db, 5, NULL, &p, &err), DBR_E_MISUSE, &err,
		   "required");
	env_close(&e);
	env_open(&e, "nostore", false);
	fails_with(dbr_move_plan(e.db, 5, "s2", &p, &err), DBR_E_CONFIG, &err,
		   "[mapping] store");
	assert_null(p);
	dbr_move_plan_free(NULL);
	env_close(&e);
}

static void test_move__discover(void **state)
{
	struct dbr_move_found *f = NULL;
	struct dbr_error err;
	struct env e;
	size_t n = 0, i;
	int seen = 0;

	(void)state;
	env_open(&e, "disc", true);
	make_tables(&e, "s1");
	assert_int_equal(dbr_move_discover(e.db, "s1", &f, &n, &err), DBR_OK);
	assert_int_equal(n, 4);
	for (i = 0; i < n; i++) {
		if (!strcmp(f[i].table, "\"messages\"")) {
			assert_int_equal(f[i].kind, DBR_MOVE_CHAT);
			assert_string_equal(f[i].primary_key, "id");
			assert_string_equal(f[i].chat_column, "\"chat_id\"");
			seen |= 1;
		} else if (!strcmp(f[i].table, "\"members\"")) {
			assert_int_equal(f[i].kind, DBR_MOVE_CHAT);
			assert_string_equal(f[i].primary_key,
					    "chat_id,user_id");
			seen |= 2;
		} else if (!strcmp(f[i].table, "\"log\"")) {
			assert_int_equal(f[i].kind, DBR_MOVE_NO_PK);
			assert_string_equal(f[i].primary_key, "");
			seen |= 4;
		} else if (!strcmp(f[i].table, "\"settings\"")) {
			assert_int_equal(f[i].kind, DBR_MOVE_GLOBAL);
			assert_null(f[i].chat_column);
			seen |= 8;
		}
	}
	assert_int_equal(seen, 15);
	dbr_free(f);
	/* The store's own tables never count (st holds them). */
	assert_int_equal(dbr_mapping_init(e.db, &err), DBR_OK);
	assert_int_equal(dbr_move_discover(e.db, NULL, &f, &n, &err), DBR_OK);
	assert_int_equal(n, 0);
	assert_null(f);
	fails_with(dbr_move_discover(e.db, "r", &f, &n, &err),
		   DBR_E_UNSUPPORTED, &err, "not an SQL source");
	env_close(&e);
}

/* Known answer: SipHash-2-4, key 00..0f, message 00..0e (the reference
 * implementation's vector 15). */
static void test_move__digest_is_siphash(void **state)
{
	struct dbr__digest_buf b = { 0 };
	unsigned char key[16];
	struct dbr_value v;
	int i;

	(void)state;
	for (i = 0; i < 16; i++)
		key[i] = (unsigned char)i;
	b.v = malloc(15);
	b.cap = b.len = 15;
	for (i = 0; i < 15; i++)
		b.v[i] = (unsigned char)i;
	assert_true(dbr__digest_hash(&b, key) == 0xa129ca6149be45e5ull);
	/* -0.0 encodes as 0.0, every NaN as one. */
	b.len = 0;
	v = dbr_double(-0.0);
	assert_int_equal(dbr__digest_value(&b, &v), DBR_OK);
	v = dbr_double(0.0);
	assert_int_equal(dbr__digest_value(&b, &v), DBR_OK);
	assert_int_equal(b.len, 18);
	assert_memory_equal(b.v, b.v + 9, 9);
	b.len = 0;
	v = dbr_double(NAN);
	dbr__digest_value(&b, &v);
	v = dbr_double(-NAN);
	dbr__digest_value(&b, &v);
	assert_memory_equal(b.v, b.v + 9, 9);
	/* A blob with NUL bytes: tag, length, bytes. */
	b.len = 0;
	v = dbr_blob("a\0b", 3);
	assert_int_equal(dbr__digest_value(&b, &v), DBR_OK);
	assert_int_equal(b.len, 1 + 8 + 3);
	assert_int_equal(b.v[0], DBR_TYPE_BLOB);
	assert_int_equal(b.v[8], 3);
	v.type = 99;
	assert_int_equal(dbr__digest_value(&b, &v), DBR_E_UNSUPPORTED);
	dbr__digest_buf_release(&b);
}

/* Chat 7's rows, and another chat's, in an order of the caller's. */
static void digest_rows(struct env *e, const char *source, bool reversed)
{
	static const struct dbr_value blob = { DBR_TYPE_BLOB,
					       4,
					       { .b = "\0x\0y" } };
	struct dbr_value p[5];
	struct dbr_error err;
	int i, k;

	for (k = 0; k < 5; k++) {
		i = reversed ? 4 - k : k;
		p[0] = dbr_int64(700 + i);
		p[1] = dbr_int64(i == 4 ? 8 : 7);
		p[2] = i == 1 ? dbr_null() : dbr_text("h\xc3\xa9 \t", 5);
		p[3] = i == 2 ? blob : dbr_null();
		p[4] = i == 3 ? dbr_double(-0.0) : dbr_double(1e300 / (i + 1));
		if (dbr_query_source(e->db, source,
				     "INSERT INTO messages (id, chat_id, body, "
				     "data, score) VALUES (?, ?, ?, ?, ?)",
				     p, 5, NULL, &err))
			fail_msg("%s: %s", source, err.message);
	}
	exec_on(e->db, source,
		"INSERT INTO members VALUES (7, -9223372036854775807, NULL)");
}

static struct dbr_move_digest digest(struct env *e, const char *source,
				     const char *table)
{
	static const unsigned char key[16] = "0123456789abcdef";
	struct dbr_move_digest d;
	struct dbr_error err;

	if (dbr_move_digest(e->db, source, table, 7, key, &d, &err))
		fail_msg("digest %s %s: %s", source, table, err.message);
	return d;
}

static bool same(struct dbr_move_digest a, struct dbr_move_digest b)
{
	return a.rows == b.rows && a.sum == b.sum && a.xor == b.xor ;
}

static void test_move__digest_across_engines(void **state)
{
	struct dbr_move_digest a, b, m;
	struct dbr_error err;
	const char *other;
	struct env e;

	(void)state;
	env_open(&e, "dig", true);
	other = e.pg ? "p1" : "s2";
	make_tables(&e, "s1");
	make_tables(&e, other);
	digest_rows(&e, "s1", false);
	digest_rows(&e, other, true);
	a = digest(&e, "s1", "messages");
	b = digest(&e, other, "messages");
	assert_int_equal(a.rows, 4); /* chat 7's, not chat 8's */
	assert_true(same(a, b));
	m = digest(&e, "s1", "members");
	assert_int_equal(m.rows, 1);
	assert_true(same(m, digest(&e, other, "\"members\"")));
	/* One changed value, a missing row, an extra row. */
	exec_on(e.db, other, "UPDATE messages SET body = 'h' WHERE id = 700");
	assert_false(same(a, digest(&e, other, "messages")));
	exec_on(e.db, other,
		"UPDATE messages SET body = 'h\xc3\xa9 \t' WHERE id = 700");
	assert_true(same(a, digest(&e, other, "messages")));
	exec_on(e.db, other, "UPDATE messages SET score = 0.0 WHERE id = 703");
	assert_true(same(a, digest(&e, other, "messages"))); /* -0.0 */
	exec_on(e.db, other, "UPDATE messages SET data = NULL WHERE id = 702");
	assert_false(same(a, digest(&e, other, "messages")));
	exec_on(e.db, "s1", "UPDATE messages SET data = NULL WHERE id = 702");
	a = digest(&e, "s1", "messages");
	assert_true(same(a, digest(&e, other, "messages")));
	exec_on(e.db, other, "DELETE FROM messages WHERE id = 701");
	b = digest(&e, other, "messages");
	assert_int_equal(b.rows, 3);
	assert_false(same(a, b));
	exec_on(e.db, other,
		"INSERT INTO messages (id, chat_id) VALUES (701, 7)");
	exec_on(e.db, other,
		"INSERT INTO messages (id, chat_id) VALUES (799, 7)");
	assert_false(same(a, digest(&e, other, "messages")));
	/* Only a chat table can be digested. */
	fails_with(dbr_move_digest(e.db, "s1", "settings", 7, NULL, &b, &err),
		   DBR_E_NOTFOUND, &err, "not one of its chat tables");
	fails_with(dbr_move_digest(e.db, "r", "messages", 7, NULL, &b, &err),
		   DBR_E_UNSUPPORTED, &err, "not SQL");
	if (!e.pg)
		t_need_server_or_skip("DBR_TEST_PG", "PostgreSQL server");
	env_close(&e);
}

/* Chat 7's typed rows (bools, timestamps, NULLs) on one source. */
static void typed_rows(struct env *e, const char *source)
{
	struct dbr_value p[4];
	struct dbr_error err;
	int i;

	exec_on(e->db, source,
		is_pg(source) ? "CREATE TABLE flags (id BIGINT PRIMARY KEY, "
				"chat_id BIGINT, ok BOOLEAN, at TIMESTAMPTZ)"
			      : "CREATE TABLE flags (id INTEGER PRIMARY KEY, "
				"chat_id BIGINT, ok BOOLEAN, at TIMESTAMP)");
	for (i = 0; i < 3; i++) {
		p[0] = dbr_int64(i);
		p[1] = dbr_int64(7);
		p[2] = i == 2 ? dbr_null_of(DBR_TYPE_BOOL) : dbr_bool(i == 0);
		p[3] = i == 1 ? dbr_null_of(DBR_TYPE_TIMESTAMP)
			      : dbr_timestamp(1795813445123456 + i);
		if (dbr_query_source(e->db, source,
				     "INSERT INTO flags VALUES (?, ?, ?, ?)", p,
				     4, NULL, &err))
			fail_msg("%s: %s", source, err.message);
	}
}

/* Bools and timestamps (issue 17's typed values) digest alike on SQLite
 * and PostgreSQL; a flipped bool or a moved timestamp does not (the
 * digest refused both types with DBR_E_UNSUPPORTED before). */
static void test_move__digest_typed_values(void **state)
{
	struct dbr_move_digest a, b;
	const char *other;
	struct env e;

	(void)state;
	env_open(&e, "typed", true);
	other = e.pg ? "p1" : "s2";
	typed_rows(&e, "s1");
	typed_rows(&e, other);
	a = digest(&e, "s1", "flags");
	assert_int_equal(a.rows, 3);
	assert_true(same(a, digest(&e, other, "flags")));
	exec_on(e.db, other, "UPDATE flags SET ok = NOT ok WHERE id = 0");
	b = digest(&e, other, "flags");
	assert_false(same(a, b));
	exec_on(e.db, other, "UPDATE flags SET ok = NOT ok WHERE id = 0");
	assert_true(same(a, digest(&e, other, "flags")));
	exec_on(e.db, "s1",
		"UPDATE flags SET at = '2026-11-27 21:04:05.123457' WHERE id = "
		"0");
	assert_false(same(a, digest(&e, "s1", "flags")));
	if (!e.pg)
		t_need_server_or_skip("DBR_TEST_PG", "PostgreSQL server");
	env_close(&e);
}

/* Parse out as JSON, or fail. */
static json_t *parse(const char *out)
{
	json_error_t je;
	json_t *j = json_loads(out, 0, &je);

	if (!j)
		fail_msg("not JSON (%s): %s", je.text, out);
	return j;
}

static void test_move__cli(void **state)
{
	char *out = NULL, *err = NULL;
	json_t *j, *t;
	struct env e;

	(void)state;
	env_open(&e, "cli", true);
	make_tables(&e, "s1");
	make_tables(&e, "s2");
	seed_chat(&e, 5, "s1");
	assert_int_equal(t_run_cli(e.dir,
				   "move-chat -c move.ini --chat 5 --to s2 "
				   "--dry-run --format json",
				   &out, &err),
			 0);
	j = parse(out);
	assert_string_equal(json_string_value(json_object_get(j, "from")),
			    "s1");
	assert_string_equal(json_string_value(json_object_get(j, "checks")),
			    "passed");
	assert_int_equal(json_integer_value(json_object_get(j, "rows")), 4);
	assert_string_equal(json_string_value(json_object_get(j, "mode")),
			    "blocking");
	assert_int_equal(json_array_size(json_object_get(j, "tables")), 3);
	json_decref(j);
	/* Text: a line per table; the summary on stderr. */
	assert_int_equal(t_run_cli(e.dir,
				   "move-chat -c move.ini --chat 5 --to s2 "
				   "--dry-run",
				   &out, &err),
			 0);
	assert_non_null(strstr(out, "\"messages\"\t\"messages\"\t\"chat_id\""
				    "\t3\tyes\tok\n"));
	assert_non_null(strstr(err, "checks passed"));
	/* Refused: exit 1, the plan printed with the problem. */
	exec_on(e.db, "s2", "DROP TABLE members");
	assert_int_equal(t_run_cli(e.dir,
				   "move-chat -c move.ini --chat 5 --to s2 "
				   "--dry-run --format json",
				   &out, &err),
			 1);
	j = parse(out);
	assert_string_equal(json_string_value(json_object_get(j, "checks")),
			    "refused");
	t = json_array_get(json_object_get(j, "tables"), 1);
	assert_non_null(strstr(json_string_value(json_object_get(t, "problem")),
			       "missing on the destination"));
	json_decref(j);
	assert_non_null(strstr(err, "table \"members\""));
	/* Without --dry-run the move itself is refused by its plan. */
	assert_int_equal(t_run_cli(e.dir,
				   "move-chat -c move.ini --chat 5 --to s2",
				   &out, &err),
			 1);
	assert_non_null(strstr(err, "table \"members\""));
	/* Usage and configuration: exit 2. */
	assert_int_equal(t_run_cli(e.dir,
				   "move-chat -c move.ini --chat 5 --to r "
				   "--dry-run",
				   &out, &err),
			 2);
	assert_non_null(strstr(err, "not an SQL source"));
	/* Discover, as CSV with a header. */
	assert_int_equal(t_run_cli(e.dir,
				   "move-chat -c move.ini --discover "
				   "--source s1 --format csv",
				   &out, &err),
			 0);
	assert_non_null(strstr(out, "table,kind,chat_column,primary_key\n"));
	assert_non_null(strstr(out, "\"\"\"log\"\"\",no_pk,"));
	assert_non_null(strstr(out, "\"\"\"settings\"\"\",global,,k\n"));
	assert_int_equal(t_run_cli(e.dir,
				   "move-chat -c move.ini --discover --chat 5 "
				   "--format json",
				   &out, &err),
			 0);
	j = parse(out);
	assert_int_equal(json_array_size(j), 4);
	json_decref(j);
	env_close(&e);
	env_open(&e, "clinostore", false);
	assert_int_equal(t_run_cli(e.dir, "move-chat -c move.ini --discover",
				   &out, &err),
			 2);
	assert_non_null(strstr(err, "[mapping] store"));
	env_close(&e);
	free(out);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_move__plan_accepted_in_four_directions),
		cmocka_unit_test(test_move__plan_refusals),
		cmocka_unit_test(test_move__plan_refuses_mariadb),
		cmocka_unit_test(test_move__mode_and_text_chat_column),
		cmocka_unit_test(test_move__plan_needs_sql_sides_and_a_store),
		cmocka_unit_test(test_move__discover),
		cmocka_unit_test(test_move__digest_is_siphash),
		cmocka_unit_test(test_move__digest_across_engines),
		cmocka_unit_test(test_move__digest_typed_values),
		cmocka_unit_test(test_move__cli),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
