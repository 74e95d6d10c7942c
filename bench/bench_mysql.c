/*
 * bench_mysql.c - MariaDB workloads: point lookups and single-row inserts,
 * raw Connector/C (one prepared statement reused, int64 parameters bound
 * once, rows fetched unbuffered) next to dbroute on the same server
 * (DBR_TEST_MYSQL, a Unix socket, as scripts/bench.sh starts it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysql.h>

#include "bench.h"

struct my_side {
	MYSQL *m;
	MYSQL_STMT *lookup, *insert;
	MYSQL_BIND lp[2], lr[4], ip[2];
	int64_t key[2], row[3];
	char text[256];
	unsigned long text_len;
	long at, count;
	int64_t sink;
};

static void my_exec(MYSQL *m, const char *sql)
{
	if (mysql_query(m, sql))
		bench_die("%s: %s", sql, mysql_error(m));
	mysql_free_result(mysql_store_result(m)); /* ANALYZE's rows */
}

static MYSQL_STMT *my_prepare(MYSQL *m, const char *sql)
{
	MYSQL_STMT *st = mysql_stmt_init(m);

	if (!st || mysql_stmt_prepare(st, sql, (unsigned long)strlen(sql)))
		bench_die("prepare %s: %s", sql, mysql_error(m));
	return st;
}

static void raw_lookup(void *arg, long n)
{
	struct my_side *s = arg;
	int rc;

	while (n--) {
		const int64_t *k = bench_keys[s->at++ & (BENCH_NKEYS - 1)];

		s->key[0] = k[0];
		s->key[1] = k[1];
		if (mysql_stmt_execute(s->lookup) ||
		    mysql_stmt_fetch(s->lookup) != 0)
			bench_die("raw lookup: %s",
				  mysql_stmt_error(s->lookup));
		s->sink += s->row[0] + s->row[1] + s->row[2] +
			   (int64_t)s->text_len + s->text[0];
		rc = mysql_stmt_fetch(s->lookup);
		if (rc != MYSQL_NO_DATA)
			bench_die("raw lookup: more than one row");
	}
}

static void raw_insert(void *arg, long n)
{
	struct my_side *s = arg;

	while (n--) {
		if (s->count % 1000 == 0)
			my_exec(s->m, "START TRANSACTION");
		s->key[0] = s->count % BENCH_CHATS + 1;
		if (mysql_stmt_execute(s->insert))
			bench_die("raw insert: %s",
				  mysql_stmt_error(s->insert));
		if (++s->count % 1000 == 0)
			my_exec(s->m, "COMMIT");
	}
	if (s->count % 1000) { /* a batch ends with its transaction */
		my_exec(s->m, "COMMIT");
		s->count += 1000 - s->count % 1000;
	}
}

static void load(MYSQL *m)
{
	my_exec(m, "SET SESSION max_recursive_iterations = 200000");
	my_exec(m, "DROP TABLE IF EXISTS messages, ins");
	my_exec(m, "CREATE TABLE messages (chat_id BIGINT, message_id "
		   "BIGINT, user_id BIGINT, text TEXT, PRIMARY KEY (chat_id, "
		   "message_id))");
	my_exec(m, "CREATE TABLE ins (id BIGINT AUTO_INCREMENT PRIMARY KEY, "
		   "chat_id BIGINT, text TEXT)");
	my_exec(m, "INSERT INTO messages WITH RECURSIVE k(n) AS (SELECT 0 "
		   "UNION ALL SELECT n + 1 FROM k WHERE n < 99999) SELECT "
		   "n % 100 + 1, n DIV 100, n % 997, CONCAT('message ', "
		   "n DIV 100, ' of chat ', n % 100 + 1, ': some text of a "
		   "usual length') FROM k");
	my_exec(m, "ANALYZE TABLE messages");
}

/* Bind the raw side's parameters and result columns once. */
static void bind_raw(struct my_side *s)
{
	static const char msg[] = "an inserted message";
	int i;

	memset(s->lp, 0, sizeof(s->lp));
	memset(s->lr, 0, sizeof(s->lr));
	memset(s->ip, 0, sizeof(s->ip));
	for (i = 0; i < 2; i++) {
		s->lp[i].buffer_type = MYSQL_TYPE_LONGLONG;
		s->lp[i].buffer = &s->key[i];
	}
	for (i = 0; i < 3; i++) {
		s->lr[i].buffer_type = MYSQL_TYPE_LONGLONG;
		s->lr[i].buffer = &s->row[i];
	}
	s->lr[3].buffer_type = MYSQL_TYPE_STRING;
	s->lr[3].buffer = s->text;
	s->lr[3].buffer_length = sizeof(s->text);
	s->lr[3].length = &s->text_len;
	s->ip[0] = s->lp[0];
	s->ip[1].buffer_type = MYSQL_TYPE_STRING;
	s->ip[1].buffer = (void *)msg;
	s->ip[1].buffer_length = sizeof(msg) - 1;
	if (mysql_stmt_bind_param(s->lookup, s->lp) ||
	    mysql_stmt_bind_result(s->lookup, s->lr) ||
	    mysql_stmt_bind_param(s->insert, s->ip))
		bench_die("bind: %s", mysql_error(s->m));
}

void bench_mysql(struct bench *b)
{
	const char *sock = getenv("DBR_TEST_MYSQL");
	const char *pw = getenv("DBR_TEST_MYSQL_PASSWORD");
	struct my_side raw = { 0 };
	struct dbr_side dbr = { 0 };
	char text[1024];

	if (!bench_group(b, "mysql"))
		return;
	if (!sock) {
		printf("%-28s skipped: DBR_TEST_MYSQL is not set "
		       "(scripts/bench.sh starts a server)\n",
		       "mysql.*");
		return;
	}
	raw.m = mysql_init(NULL);
	mysql_optionsv(raw.m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	if (!mysql_real_connect(raw.m, NULL, "dbr", pw, "dbroute_test", 0, sock,
				CLIENT_FOUND_ROWS))
		bench_die("mysql: %s", mysql_error(raw.m));
	load(raw.m);
	raw.lookup = my_prepare(raw.m, bench_lookup_sql);
	raw.insert = my_prepare(raw.m, bench_insert_sql);
	bind_raw(&raw);
	snprintf(text, sizeof(text),
		 "[source.my]\ntype = mysql\nunix_socket = %s\nuser = dbr\n"
		 "database = dbroute_test\n"
		 "password_env = DBR_TEST_MYSQL_PASSWORD\n",
		 sock);
	dbr.h = bench_open(b, "mysql.ini", text);
	/* Untimed: the server settles after the load (its purge runs). */
	raw_lookup(&raw, 2000);
	if (bench_wanted(b, "mysql.point_lookup"))
		bench_compare(b, "mysql.point_lookup", raw_lookup, &raw,
			      bench_dbr_lookup, &dbr, bench_ops(b, 5000));
	if (bench_wanted(b, "mysql.insert"))
		bench_compare(b, "mysql.insert", raw_insert, &raw,
			      bench_dbr_insert, &dbr,
			      (bench_ops(b, 5000) + 999) / 1000 * 1000);
	dbr_close(dbr.h);
	mysql_stmt_close(raw.lookup);
	mysql_stmt_close(raw.insert);
	mysql_close(raw.m);
}
