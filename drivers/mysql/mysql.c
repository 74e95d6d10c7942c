/*
 * mysql.c - the MariaDB/MySQL driver plugin (MariaDB Connector/C),
 * plugins.d/mysql.so, `type = mysql`.
 *
 * Statements are prepared on the server once per connection and reused (a
 * bounded LRU keyed by the statement's text), executed through the binary
 * protocol, and their rows fetched unbuffered, so they stream (my_value.c
 * maps values). The connection's character set is utf8mb4 and it reports
 * matched rows (CLIENT_FOUND_ROWS), as PostgreSQL and SQLite count them.
 *
 * Waits: Connector/C bounds connect, reads and writes in whole seconds,
 * so `timeout` (plus `statement_timeout` for statements, which the server
 * enforces itself through max_statement_time) is rounded up. A read that
 * times out leaves the server running the statement: it is stopped with
 * KILL QUERY from a fresh connection, and the link is closed.
 *
 * A connection is pooled again only when is_clean() says so, without a
 * round trip: the link is up, no rows are pending, no transaction is open
 * (the server's status flags), and the session tracker (enabled at open
 * for every system variable, the schema and the session state) reported
 * no change: a SET, a USE, a temporary table, a user variable, LOCK TABLES
 * all mark the connection, which is then closed.
 *
 * Read-only sources: MariaDB's session read-only mode can be left by the
 * session itself (SET SESSION TRANSACTION READ WRITE, SET STATEMENT ...
 * FOR, EXECUTE IMMEDIATE, DDL), so a read-only source takes only
 * statements that read (SELECT, WITH, SHOW, EXPLAIN, DESCRIBE, DESC),
 * refusing the rest before anything is sent, and runs them with the
 * session in read-only transaction mode, so that a function a SELECT calls
 * cannot write either. A SELECT-only account is the robust guard.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <errmsg.h>
#include <mysqld_error.h>

#include "my.h"
#include "sqlguard.h"
#include "sqllex.h"
#include "tablelist.h"

/* MySQL's dialect: backslash escapes, # comments, `identifiers`, --
 * comments only before a blank. */
#define MY_LEX                                                                 \
	(DBR_SQLLEX_BACKSLASH_ESCAPES | DBR_SQLLEX_HASH_COMMENTS |             \
	 DBR_SQLLEX_BACKTICK_IDS | DBR_SQLLEX_DASH_NEEDS_BLANK)

/* ER_STATEMENT_TIMEOUT (MariaDB: max_statement_time exceeded). */
#define MY_ER_STATEMENT_TIMEOUT 1969
/* ER_CONNECTION_KILLED (MariaDB). */
#define MY_ER_CONNECTION_KILLED 1927
/* ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION. */
#define MY_ER_READ_ONLY_TX 1792

const struct dbr_host *my_host;
locale_t my_c_locale;
static const struct dbr_driver my_driver;

static const struct dbr_option_decl my_options[] = {
	{ "host", DBR_OPT_TEXT, 0, 0, 0, "localhost", NULL,
	  "the server's host name or address (localhost: the Unix socket)" },
	{ "port", DBR_OPT_INT, 0, 0, 65535, "3306", NULL,
	  "the server's TCP port" },
	{ "unix_socket", DBR_OPT_PATH, 0, 0, 0, NULL, NULL,
	  "the server's Unix socket (instead of host and port)" },
	{ "user", DBR_OPT_TEXT, 0, 0, 0, NULL, NULL,
	  "the account to log in as (default: the process's user)" },
	{ "database", DBR_OPT_TEXT, 0, 0, 0, NULL, NULL,
	  "the database (schema) to use" },
	{ "password_env", DBR_OPT_TEXT, 0, 0, 0, NULL, NULL,
	  "the environment variable holding the password" },
	{ "statement_timeout", DBR_OPT_SECONDS, 0, 0, 86400, "0", NULL,
	  "the longest a statement may run (0: no limit but timeout)" },
	{ "tls", DBR_OPT_ENUM, 0, 0, 0, "off", "off|require|verify",
	  "TLS: off, require (encrypted, server not verified), verify "
	  "(encrypted, certificate and host name verified)" },
	{ "tls_ca", DBR_OPT_PATH, 0, 0, 0, NULL, NULL,
	  "the CA certificate file that verifies the server" },
	{ "tls_cert", DBR_OPT_PATH, 0, 0, 0, NULL, NULL,
	  "the client certificate file" },
	{ "tls_key", DBR_OPT_PATH, 0, 0, 0, NULL, NULL,
	  "the client certificate's key file" },
	{ NULL, 0, 0, 0, 0, NULL, NULL, NULL }
};

static struct my_conn *my_conn(struct dbr_driver_conn *c)
{
	/* Checked downcast: the core hands a driver only its own
	 * connections, so a mismatch is a broken invariant. */
	if (!c || c->driver != &my_driver)
		abort();
	return (struct my_conn *)c;
}

static int my_nomem(struct dbr_error *err)
{
	my_host->set_error(err, DBR_E_NOMEM, 0, NULL, "out of memory");
	return DBR_E_NOMEM;
}

/*
 * The lexer flags of the session's dialect now: a server in
 * NO_BACKSLASH_ESCAPES mode (a status flag of every answer) reads a
 * backslash in a literal as itself.
 */
static uint32_t my_lex(const struct my_conn *c)
{
	if (c->m && (c->m->server_status & SERVER_STATUS_NO_BACKSLASH_ESCAPES))
		return MY_LEX & ~(uint32_t)DBR_SQLLEX_BACKSLASH_ESCAPES;
	return MY_LEX;
}

/* Close the link now. Cached statements stay until my_close (their
 * handles no longer reach a server). */
static void my_kill(struct my_conn *c)
{
	c->cur = NULL;
	c->row = false;
	c->busy = false;
	if (c->m)
		mysql_close(c->m);
	c->m = NULL;
}

/* Seconds rounded up to Connector/C's whole seconds (at least 1). */
static unsigned my_secs(double s)
{
	unsigned up;

	if (!(s > 1))
		return 1;
	if (s > 86400 * 2)
		return 86400 * 2;
	up = (unsigned)s;
	return up + (s > up);
}

/* Mark err (filled, or NULL) as a refusal no retry fixes. */
static void my_refused(struct dbr_error *err)
{
	if (err) {
		err->retryable = false;
		err->hint = "fix the credentials or database in the "
			    "configuration";
	}
}

/* A client error that means the link is gone (or never came up). */
static bool my_link_error(unsigned no)
{
	/* 2000-2013: unknown, socket, connect, host, gone, handshake, lost;
	 * out of sync, TLS, lost (extended). */
	return (no >= CR_UNKNOWN_ERROR && no <= CR_SERVER_LOST) ||
	       no == CR_COMMANDS_OUT_OF_SYNC || no == CR_SSL_CONNECTION_ERROR ||
	       no == CR_SERVER_LOST_EXTENDED;
}

/*
 * The category of a server or client error number. `opening`: while
 * connecting, where an unknown or forbidden database or account refuses
 * the connection; a statement that names one merely fails. Another
 * client error (2057: a statement's columns changed) is the statement's.
 */
static int my_category(unsigned no, const char *state, bool opening, bool *lost)
{
	*lost = false;
	if (no == ER_NET_PACKET_TOO_LARGE || no == CR_NET_PACKET_TOO_LARGE) {
		*lost = true; /* the server closes the session after it */
		return DBR_E_STMT;
	}
	if (no == CR_OUT_OF_MEMORY)
		return DBR_E_NOMEM;
	if (my_link_error(no) || (opening && no >= 2000 && no < 3000) ||
	    no == ER_SERVER_SHUTDOWN || no == MY_ER_CONNECTION_KILLED ||
	    no == ER_CON_COUNT_ERROR ||
	    (opening &&
	     (no == ER_ACCESS_DENIED_ERROR || no == ER_DBACCESS_DENIED_ERROR ||
	      no == ER_BAD_DB_ERROR))) {
		*lost = no >= 2000 || no == ER_SERVER_SHUTDOWN ||
			no == MY_ER_CONNECTION_KILLED;
		return DBR_E_CONN;
	}
	if (no == MY_ER_STATEMENT_TIMEOUT || no == ER_LOCK_WAIT_TIMEOUT)
		return DBR_E_TIMEOUT;
	if (no == MY_ER_READ_ONLY_TX || no == ER_OPTION_PREVENTS_STATEMENT)
		return DBR_E_READONLY;
	if (state && state[0] == '2' && state[1] == '3')
		return DBR_E_CONSTRAINT;
	return DBR_E_STMT;
}

/*
 * The server's thread c->thread_id is running a statement the client gave
 * up on: stop it with KILL QUERY from a fresh connection, bounded by the
 * source's timeout. Best effort: a failure is logged.
 */
static void my_kill_query(struct my_conn *c);

int64_t my_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int my_fail(struct my_conn *c, MYSQL_STMT *st, struct dbr_error *err)
{
	unsigned no = st ? mysql_stmt_errno(st) : c->m ? mysql_errno(c->m) : 0;
	const char *state = st	   ? mysql_stmt_sqlstate(st)
			    : c->m ? mysql_sqlstate(c->m)
				   : NULL;
	const char *msg = st	 ? mysql_stmt_error(st)
			  : c->m ? mysql_error(c->m)
				 : "connection closed";
	bool lost;
	int code;

	if (!c->m) {
		my_host->set_error(err, DBR_E_CONN, 0, NULL,
				   "connection closed (after an earlier "
				   "failure)");
		return DBR_E_CONN;
	}
	code = my_category(no, state, !c->thread_id, &lost);
	/* Connector/C reports a read that timed out as a lost link: a loss
	 * after (nearly: its clock rounds) the whole read timeout is one. */
	if ((no == CR_SERVER_LOST || no == CR_SERVER_GONE_ERROR) &&
	    c->busy_since &&
	    my_now() - c->busy_since >= (int64_t)c->rw_secs * 900000000) {
		code = DBR_E_TIMEOUT;
		my_host->set_error(err, code, (int)no, state,
				   "no answer within %u s: %s", c->rw_secs,
				   msg);
		my_kill_query(c);
	} else {
		my_host->set_error(err, code, (int)no,
				   state && strcmp(state, "00000") &&
						   strcmp(state, "HY000")
					   ? state
					   : NULL,
				   "%s", msg);
	}
	c->busy_since = 0;
	if (lost || code == DBR_E_TIMEOUT)
		my_kill(c);
	return code;
}

/*
 * Set Connector/C's options for src and connect m (made by mysql_init):
 * utf8mb4, reads and writes bounded by rw seconds, connect by the
 * source's timeout, no LOCAL INFILE, TLS as configured, matched rows.
 */
static int my_link(const struct dbr_source_config *src, MYSQL *m, unsigned rw,
		   struct dbr_error *err)
{
	const char *pwenv = my_host->opt_text(src, "password_env");
	const char *sock = my_host->opt_text(src, "unix_socket");
	const char *tls = my_host->opt_text(src, "tls");
	const char *v;
	unsigned secs = my_secs(my_host->opt_seconds(src, "timeout"));
	unsigned zero = 0;
	unsigned long maxp = 1ul << 30;
	my_bool on = 1;

	if (pwenv && !getenv(pwenv)) {
		my_host->set_error(err, DBR_E_CONN, 0, NULL,
				   "password_env: environment variable '%s' "
				   "is not set",
				   pwenv);
		my_refused(err);
		return DBR_E_CONN;
	}
	mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &secs);
	mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &rw);
	mysql_optionsv(m, MYSQL_OPT_WRITE_TIMEOUT, &rw);
	mysql_optionsv(m, MYSQL_OPT_LOCAL_INFILE, &zero);
	mysql_optionsv(m, MYSQL_OPT_MAX_ALLOWED_PACKET, &maxp);
	if (tls && strcmp(tls, "off")) {
		mysql_optionsv(m, MYSQL_OPT_SSL_ENFORCE, &on);
		if (!strcmp(tls, "verify"))
			mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT,
				       &on);
		if ((v = my_host->opt_text(src, "tls_ca")) != NULL)
			mysql_optionsv(m, MYSQL_OPT_SSL_CA, v);
		if ((v = my_host->opt_text(src, "tls_cert")) != NULL)
			mysql_optionsv(m, MYSQL_OPT_SSL_CERT, v);
		if ((v = my_host->opt_text(src, "tls_key")) != NULL)
			mysql_optionsv(m, MYSQL_OPT_SSL_KEY, v);
	}
	if (mysql_real_connect(m, sock ? NULL : my_host->opt_text(src, "host"),
			       my_host->opt_text(src, "user"),
			       pwenv ? getenv(pwenv) : NULL,
			       my_host->opt_text(src, "database"),
			       (unsigned)my_host->opt_int(src, "port"), sock,
			       CLIENT_FOUND_ROWS))
		return DBR_OK;
	return -1;
}

static void my_kill_query(struct my_conn *c)
{
	MYSQL *m = mysql_init(NULL);
	char sql[48];

	if (!m)
		return;
	snprintf(sql, sizeof(sql), "KILL QUERY %lu", c->thread_id);
	if (my_link(c->base.src, m, my_secs(c->timeout), NULL) ||
	    mysql_real_query(m, sql, strlen(sql)))
		my_host->log(c->base.src, DBR_LOG_WARN,
			     "KILL QUERY %lu after a timeout: %s", c->thread_id,
			     mysql_error(m));
	mysql_close(m);
}

static void my_drop(void *ctx, void *data)
{
	struct my_stmt *st = data;

	(void)ctx;
	mysql_stmt_close(st->st);
	free(st);
}

static void my_close(struct dbr_driver_conn *conn)
{
	struct my_conn *c = my_conn(conn);
	size_t i;

	/* Closed first: the statements' handles are then only freed, and
	 * nothing more is sent. */
	my_kill(c);
	dbr_stmtcache_clear(&c->cache);
	dbr_sqlbuf_free(&c->sqlbuf);
	for (i = 0; i < c->ccap; i++)
		free(c->cols[i].buf);
	free(c->cols);
	free(c->rb);
	free(c->pb);
	free(c->pv);
	free(c);
}

/* Run a statement without parameters or rows (settings, BEGIN, COMMIT). */
static int my_command(struct my_conn *c, const char *sql, struct dbr_error *err)
{
	int rc;

	if (!c->m)
		return my_fail(c, NULL, err);
	c->busy_since = my_now();
	rc = mysql_real_query(c->m, sql, strlen(sql));
	return rc ? my_fail(c, NULL, err) : DBR_OK;
}

/*
 * The session's settings, made once at open: the tracker reports every
 * change of a system variable, the schema and the session's state
 * (user variables, temporary tables, ...), and the transaction state;
 * a read-only source's transactions are read-only; statement_timeout is
 * the server's max_statement_time.
 */
static int my_session(struct my_conn *c, struct dbr_error *err)
{
	char sql[320];
	int n;

	n = snprintf(sql, sizeof(sql),
		     "SET SESSION session_track_system_variables = '*', "
		     "session_track_schema = ON, "
		     "session_track_state_change = ON, "
		     "session_track_transaction_info = STATE%s",
		     c->readonly ? ", tx_read_only = ON" : "");
	/* Written from integers: %f would take the application's decimal
	 * comma ("1,500"). */
	if (c->stmt_timeout > 0) {
		unsigned long ms =
			(unsigned long)(c->stmt_timeout * 1000 + 0.5);

		snprintf(sql + n, sizeof(sql) - (size_t)n,
			 ", max_statement_time = %lu.%03lu", ms / 1000,
			 ms % 1000);
	}
	return my_command(c, sql, err);
}

static int my_open(const struct dbr_source_config *src,
		   struct dbr_driver_conn **out, struct dbr_error *err)
{
	struct my_conn *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return my_nomem(err);
	c->base.struct_size = sizeof(c->base);
	c->base.driver = &my_driver;
	c->base.src = src;
	c->cache.drop = my_drop;
	c->cache.ctx = c;
	c->timeout = my_host->opt_seconds(src, "timeout");
	c->stmt_timeout = my_host->opt_seconds(src, "statement_timeout");
	c->readonly = my_host->opt_bool(src, "readonly");
	c->rw_secs = my_secs(c->stmt_timeout + c->timeout);
	c->m = mysql_init(NULL);
	if (!c->m) {
		rc = my_nomem(err);
		goto fail;
	}
	rc = my_link(src, c->m, c->rw_secs, err);
	if (rc < 0) {
		unsigned no = mysql_errno(c->m);

		rc = my_fail(c, NULL, err);
		if (no == ER_ACCESS_DENIED_ERROR ||
		    no == ER_DBACCESS_DENIED_ERROR || no == ER_BAD_DB_ERROR)
			my_refused(err);
	}
	if (!rc)
		rc = my_session(c, err);
	if (rc)
		goto fail;
	c->thread_id = mysql_thread_id(c->m);
	c->lex = my_lex(c);
	*out = &c->base;
	return DBR_OK;
fail:
	my_close(&c->base);
	return rc;
}

/*
 * open() with flags: DBR_OPEN_NO_CREATE changes nothing, as connecting
 * never creates a database nor changes one.
 */
static int my_open_flags(const struct dbr_source_config *src, unsigned flags,
			 struct dbr_driver_conn **out, struct dbr_error *err)
{
	(void)flags;
	return my_open(src, out, err);
}

/*
 * Whether a read-only source may run sql: a statement that reads by its
 * first word (SELECT, WITH, SHOW, EXPLAIN, DESCRIBE, DESC, after opening
 * parentheses), with no word OUTFILE or DUMPFILE (SELECT ... INTO
 * OUTFILE writes a file) nor ANALYZE (which runs what it explains)
 * anywhere outside literals and comments.
 */
static bool my_reads(const char *sql, uint32_t lex)
{
	static const char *const first[] = { "SELECT",	"WITH", "SHOW",
					     "EXPLAIN", "DESC", "DESCRIBE",
					     "VALUES",	NULL };
	static const char *const bad[] = { "OUTFILE", "DUMPFILE", "ANALYZE",
					   NULL };
	struct dbr_sqllex_token t;
	const char *s;
	bool seen = false;
	size_t i, n;

	for (s = sql; *s; s = t.end) {
		dbr_sqllex_next(sql, s, lex, &t);
		if (t.kind == DBR_SQLLEX_BLANK ||
		    t.kind == DBR_SQLLEX_COMMENT ||
		    (!seen && t.kind == DBR_SQLLEX_OTHER && *s == '('))
			continue;
		if (t.kind != DBR_SQLLEX_WORD) {
			if (!seen)
				return false;
			continue;
		}
		n = (size_t)(t.end - s);
		for (i = 0; !seen && first[i]; i++)
			if (strlen(first[i]) == n &&
			    !strncasecmp(s, first[i], n))
				break;
		if (!seen && !first[i])
			return false;
		seen = true;
		for (i = 0; bad[i]; i++)
			if (strlen(bad[i]) == n && !strncasecmp(s, bad[i], n))
				return false;
	}
	return seen;
}

/* Built-in functions and keywords that a ( may follow: no stored
 * function of the user's is called there. Upper case, each between
 * blanks; GET_LOCK is not one of them. */
static const char my_builtins[] =
	" "
	"ABS ADDDATE AGAINST ALL AND ANY AS ASCII AVG BETWEEN BIGINT BINARY "
	"BIT_AND BIT_LENGTH BIT_OR BIT_XOR BY CASE CAST CEIL CEILING CHAR "
	"CHARACTER CHAR_LENGTH CHECK COALESCE CONCAT CONCAT_WS CONNECTION_ID "
	"CONVERT COUNT CURDATE CURRENT_TIMESTAMP CURTIME DATE DATEDIFF "
	"DATE_ADD DATE_FORMAT DATE_SUB DATETIME DAY DECIMAL DEFAULT "
	"DENSE_RANK DISTINCT DOUBLE ELSE EXISTS EXP EXTRACT FIELD "
	"FIND_IN_SET FIRST_VALUE FLOOR FLOAT FORMAT FROM FROM_UNIXTIME "
	"GREATEST GROUP_CONCAT HAVING HEX HOUR IF IFNULL IN INSERT INSTR INT "
	"INTEGER INTERVAL INTO IS_FREE_LOCK IS_USED_LOCK JOIN JSON_ARRAY "
	"JSON_EXTRACT JSON_OBJECT JSON_VALUE KEY LAG LAST_INSERT_ID "
	"LAST_VALUE LCASE LEAD LEAST LEFT LENGTH LIKE LIMIT LN LOCATE LOG "
	"LOWER LPAD LTRIM MAX MD5 MICROSECOND MID MIN MINUTE MOD MONTH NOT "
	"NOW NTILE NULLIF NUMERIC OCTET_LENGTH ON OR OVER PARTITION POSITION "
	"POW POWER RAND RANK REGEXP REGEXP_REPLACE REPEAT REPLACE RETURNING "
	"REVERSE RIGHT ROUND ROW ROW_NUMBER RPAD RTRIM SECOND SELECT SET "
	"SHA1 SHA2 SIGN SIGNED SLEEP SOME SPACE SQRT STD STDDEV STRCMP "
	"STR_TO_DATE SUBDATE SUBSTR SUBSTRING SUBSTRING_INDEX SUM SYSDATE "
	"THEN TIME TIMEDIFF TIMESTAMP TIMESTAMPADD TIMESTAMPDIFF TO_DAYS "
	"TRIM TRUNCATE UCASE UNHEX UNION UNIX_TIMESTAMP UNSIGNED UPPER USING "
	"UTC_TIMESTAMP UUID VALUE VALUES VARBINARY VARCHAR VARIANCE WEEK "
	"WHEN WHERE WITH YEAR ";

/* A token's text (a word, or a quoted name without its quotes) is w,
 * in any case. */
static bool my_is(const struct dbr_sqllex_token *t, const char *w)
{
	const char *s = t->start;
	size_t n = (size_t)(t->end - s), k = strlen(w);

	if (t->kind == DBR_SQLLEX_QUOTED && n >= 2 && !t->open) {
		s++;
		n -= 2;
	}
	return n == k && !strncasecmp(s, w, n);
}

/* A name before ( that calls no stored routine: a built-in or a keyword
 * (not qualified by a schema), or the table of an INSERT or REPLACE (the
 * word before it, and before its schema). */
static bool my_plain_call(const struct dbr_sqllex_token *name,
			  const struct dbr_sqllex_token *before, bool qualified)
{
	static const char *const tables[] = { "INTO",	       "INSERT",
					      "REPLACE",       "IGNORE",
					      "LOW_PRIORITY",  "DELAYED",
					      "HIGH_PRIORITY", NULL };
	size_t i, n = (size_t)(name->end - name->start);
	char w[40];

	if (name->kind == DBR_SQLLEX_WORD && !qualified && n < sizeof(w) - 2) {
		w[0] = ' ';
		for (i = 0; i < n; i++) {
			char ch = name->start[i];

			w[i + 1] =
				(char)(ch >= 'a' && ch <= 'z' ? ch - 32 : ch);
		}
		w[n + 1] = ' ';
		w[n + 2] = '\0';
		if (strstr(my_builtins, w))
			return true;
	}
	for (i = 0; before->kind == DBR_SQLLEX_WORD && tables[i]; i++)
		if (my_is(before, tables[i]))
			return true;
	return false;
}

/*
 * Read sql's code (outside literals and comments) once, when it is
 * prepared, by the lexer flags `lex`: *exec is set for an executable
 * comment (a block comment that opens with an exclamation mark, or
 * MariaDB's with M and one), which MySQL runs and every other engine
 * skips, so the statement would not mean the same (and its words would
 * escape the guards); *locks for what may take a user lock, which the
 * session keeps and the tracker does not report: CALL, GET_LOCK (also as
 * a quoted name), and any other name ( calls that is neither a built-in
 * of my_builtins nor a table after INSERT (a stored function may call
 * GET_LOCK). A false yes costs a round trip when the connection is
 * pooled again.
 */
static void my_scan(const char *sql, uint32_t lex, bool *exec, bool *locks)
{
	struct dbr_sqllex_token t, name = { DBR_SQLLEX_END, sql, sql, 0 },
				   before = name;
	bool first = true, qualified = false, dot;
	const char *s;

	*exec = *locks = false;
	for (s = sql; *s; s = t.end) {
		dbr_sqllex_next(sql, s, lex, &t);
		if (t.kind == DBR_SQLLEX_BLANK)
			continue;
		if (t.kind == DBR_SQLLEX_COMMENT) {
			if (s[0] == '/' &&
			    (s[2] == '!' || (s[2] == 'M' && s[3] == '!')))
				*exec = true;
			continue;
		}
		if ((t.kind == DBR_SQLLEX_WORD ||
		     t.kind == DBR_SQLLEX_QUOTED) &&
		    (my_is(&t, "GET_LOCK") || (first && my_is(&t, "CALL"))))
			*locks = true;
		if (t.kind == DBR_SQLLEX_OTHER && *s == '(' &&
		    (name.kind == DBR_SQLLEX_WORD ||
		     name.kind == DBR_SQLLEX_QUOTED) &&
		    !my_plain_call(&name, &before, qualified))
			*locks = true;
		if (t.kind != DBR_SQLLEX_OTHER || *s != '(')
			first = false;
		/* A schema's name and its dot stand between before and the
		 * name. */
		dot = t.kind == DBR_SQLLEX_OTHER && *s == '.';
		qualified = !dot && name.kind == DBR_SQLLEX_OTHER &&
			    *name.start == '.';
		if (!dot && !qualified)
			before = name;
		name = t;
	}
}

static int my_refuse(const char *why, struct dbr_error *err)
{
	my_host->set_error(err, DBR_E_MISUSE, 0, NULL, "%s",
			   why ? why : "not allowed outside a transaction");
	return DBR_E_MISUSE;
}

/* sql with `?` placeholders into c->sqlbuf, checked against n. */
static int my_translate(struct my_conn *c, const char *sql, size_t n,
			struct dbr_error *err)
{
	struct dbr_sqlscan scan;

	if (dbr_sqlscan(sql, c->lex | DBR_SQLSCAN_QMARK, &c->sqlbuf, &scan))
		return my_nomem(err);
	if (scan.trailing) {
		my_host->set_error(err, DBR_E_STMT, 0, NULL,
				   "text after the first statement: '%.60s' "
				   "(one call runs one statement)",
				   scan.trailing);
		return DBR_E_STMT;
	}
	if (scan.refused) {
		my_host->set_error(err, DBR_E_MISUSE, 0, NULL,
				   "placeholder '%.*s': numbered and named "
				   "parameters are not dbroute's syntax (? "
				   "binds the next parameter)",
				   (int)scan.refused_len, scan.refused);
		return DBR_E_MISUSE;
	}
	if (scan.nparams != n) {
		my_host->set_error(err, DBR_E_MISUSE, 0, NULL,
				   "statement has %zu placeholders but %zu "
				   "parameters were given",
				   scan.nparams, n);
		return DBR_E_MISUSE;
	}
	return DBR_OK;
}

/* Prepare sql on the server and cache it. */
static int my_prepare(struct my_conn *c, const char *sql, size_t n,
		      struct my_stmt **out, struct dbr_error *err)
{
	struct my_stmt *st;
	int rc;

	my_host->log(c->base.src, DBR_LOG_DEBUG,
		     "statement cache miss: preparing '%.200s'", sql);
	rc = my_translate(c, sql, n, err);
	if (rc)
		return rc;
	st = calloc(1, sizeof(*st));
	if (!st || !(st->st = mysql_stmt_init(c->m))) {
		free(st);
		return my_nomem(err);
	}
	c->busy_since = my_now();
	if (mysql_stmt_prepare(st->st, c->sqlbuf.buf, strlen(c->sqlbuf.buf)))
		rc = my_fail(c, st->st, err);
	else if (mysql_stmt_param_count(st->st) != n) {
		my_host->set_error(err, DBR_E_MISUSE, 0, NULL,
				   "the server reads %lu placeholders where "
				   "dbroute reads %zu",
				   mysql_stmt_param_count(st->st), n);
		rc = DBR_E_MISUSE;
	}
	if (!rc && !dbr_stmtcache_add(&c->cache, sql, strlen(sql), st))
		rc = my_nomem(err);
	if (rc) {
		my_drop(c, st);
		return rc;
	}
	*out = st;
	return DBR_OK;
}

/*
 * The cached statement for sql, prepared on a miss. The guards (what
 * changes a pooled connection's state; on a read-only source, what does
 * not read) are asked on a miss, and on a hit only for a statement
 * allowed inside a transaction only. The cache is emptied when the
 * server's backslash mode changed since its statements were read.
 */
static int my_lookup(struct my_conn *c, const char *sql, size_t n,
		     struct my_stmt **out, struct dbr_error *err)
{
	struct dbr_stmtcache_entry *e;
	bool exec, locks;
	const char *why;
	int rc;

	if (my_lex(c) != c->lex) {
		/* Read by other rules than the cached statements were. */
		dbr_stmtcache_clear(&c->cache);
		c->lex = my_lex(c);
	}
	e = dbr_stmtcache_find_str(&c->cache, sql);
	if (e) {
		*out = e->data;
		if ((*out)->tx_only && !c->in_tx)
			return my_refuse(dbr_sqlguard_refuse(sql,
							     DBR_SQLGUARD_MYSQL,
							     false),
					 err);
		return DBR_OK;
	}
	why = dbr_sqlguard_refuse(sql, DBR_SQLGUARD_MYSQL, c->in_tx);
	my_scan(sql, c->lex, &exec, &locks);
	if (!why && exec)
		why = "executable comments (/*! ... */) are refused: MySQL "
		      "runs them, other engines skip them; write the "
		      "statement itself";
	if (why)
		return my_refuse(why, err);
	if (c->readonly && !my_reads(sql, c->lex)) {
		my_host->set_error(err, DBR_E_READONLY, 0, NULL,
				   "read-only source: only SELECT, WITH, "
				   "SHOW, EXPLAIN and DESCRIBE are run");
		return DBR_E_READONLY;
	}
	rc = my_prepare(c, sql, n, out, err);
	if (!rc) {
		(*out)->tx_only =
			c->in_tx &&
			dbr_sqlguard_refuse(sql, DBR_SQLGUARD_MYSQL, false);
		(*out)->reads = dbr_sqlguard_is_read(sql, DBR_SQLGUARD_MYSQL);
		(*out)->locks = locks;
	}
	return rc;
}

/*
 * The session tracker said something changed (the server's flag on the
 * last OK or EOF): a system variable, the schema, the session's state, or
 * tables locked. A transaction's own state changes are not a mark.
 */
static void my_note_state(struct my_conn *c)
{
	const char *d;
	size_t len;

	if (!c->m || !(c->m->server_status & SERVER_SESSION_STATE_CHANGED))
		return;
	if (!mysql_session_track_get_first(c->m, SESSION_TRACK_SYSTEM_VARIABLES,
					   &d, &len) ||
	    !mysql_session_track_get_first(c->m, SESSION_TRACK_SCHEMA, &d,
					   &len) ||
	    !mysql_session_track_get_first(c->m, SESSION_TRACK_STATE_CHANGE, &d,
					   &len) ||
	    (!mysql_session_track_get_first(
		     c->m, SESSION_TRACK_TRANSACTION_STATE, &d, &len) &&
	     memchr(d, 'L', len)))
		c->unclean = true;
}

/* Skip what follows a result (a CALL's further results), bounded. */
static int my_more(struct my_conn *c, MYSQL_STMT *st, struct dbr_error *err)
{
	int i, rc;

	for (i = 0; i < 64 && mysql_stmt_more_results(st); i++) {
		rc = mysql_stmt_next_result(st);
		if (rc > 0)
			return my_fail(c, st, err);
		if (rc < 0)
			break;
		mysql_stmt_free_result(st);
	}
	if (mysql_stmt_more_results(st))
		my_kill(c); /* more than 64 results: not worth reading */
	return DBR_OK;
}

/* The rows of c->cur have ended (DBR_DONE was read). */
static int my_ended(struct my_conn *c, struct dbr_error *err)
{
	MYSQL_STMT *st = c->cur->st;
	int rc;

	c->busy = false;
	c->row = false;
	c->changes = 0;
	rc = my_more(c, st, err);
	my_note_state(c);
	if (c->m)
		mysql_stmt_free_result(st);
	return rc;
}

/* Fetch the next row of c->cur under the read timeout. */
static int my_step(struct my_conn *c, struct dbr_error *err)
{
	int rc;

	c->busy_since = my_now();
	rc = my_fetch(c, err);
	if (rc == DBR_ROW) {
		c->row = true;
		return rc;
	}
	c->row = false;
	if (rc == DBR_DONE && c->cur) {
		int e = my_ended(c, err);

		if (e)
			return e;
	}
	return rc;
}

/* Bytes of the current row's columns. */
static size_t my_row_bytes(const struct my_conn *c)
{
	size_t i, n = 0;

	for (i = 0; i < c->ncols; i++)
		n += c->cols[i].null ? 0 : c->cols[i].len;
	return n;
}

/*
 * End the statement. A query outside a transaction is read for a few
 * rows, bytes and milliseconds at most (MY_DISCARD_*), then stopped by
 * closing the link; any other statement is read to its end, so what it
 * did is kept, and a failure there is logged, since nobody is left to
 * return it to.
 */
static void my_discard(struct my_conn *c)
{
	struct dbr_error why;
	int i, rc = DBR_ROW;

	if (!c->cur)
		return;
	if (c->busy) {
		bool bounded = c->cur->reads && !c->in_tx;
		int64_t until = my_now() + MY_DISCARD_NS;
		size_t bytes = 0;

		for (i = 0; rc == DBR_ROW && c->m &&
			    (!bounded ||
			     (i < MY_DISCARD_ROWS && bytes < MY_DISCARD_BYTES &&
			      my_now() < until));
		     i++) {
			rc = my_step(c, &why);
			if (rc == DBR_ROW)
				bytes += my_row_bytes(c);
		}
		if (rc == DBR_ROW)
			my_kill(c);
		else if (rc != DBR_DONE)
			my_host->log(c->base.src, DBR_LOG_WARN,
				     "while discarding the rest of a "
				     "statement: %s",
				     why.message);
	}
	c->cur = NULL;
	c->busy = false;
	c->row = false;
}

static int my_run(struct my_conn *c, struct my_stmt *st,
		  const struct dbr_value *params, size_t n,
		  struct dbr_error *err)
{
	MYSQL_STMT *s = st->st;
	int rc;

	if (mysql_stmt_param_count(s) != n) {
		my_host->set_error(err, DBR_E_MISUSE, 0, NULL,
				   "statement has %lu placeholders but %zu "
				   "parameters were given",
				   mysql_stmt_param_count(s), n);
		return DBR_E_MISUSE;
	}
	rc = my_bind(c, s, params, n, err);
	if (rc)
		return rc;
	c->wrote = true; /* from here on, it may reach the server */
	c->locks |= st->locks;
	c->busy_since = my_now();
	rc = mysql_stmt_execute(s);
	if (rc)
		return my_fail(c, s, err);
	if (!mysql_stmt_field_count(s)) {
		c->changes = (int64_t)mysql_stmt_affected_rows(s);
		c->insert_id = (int64_t)mysql_stmt_insert_id(s);
		my_note_state(c);
		return DBR_OK;
	}
	if (my_bind_result(c, s))
		return my_nomem(err);
	c->cur = st;
	c->busy = true;
	rc = my_step(c, err);
	return rc == DBR_ROW || rc == DBR_DONE ? DBR_OK : rc;
}

static const char my_tx_gone[] =
	"transaction ended implicitly by the server (a statement that "
	"commits, such as DDL, committed it; a deadlock rolled it back): "
	"nothing after it is part of a transaction; roll back and begin "
	"a new one";

/*
 * After a statement (rc its outcome) inside dbr_tx: whether the server
 * still has the transaction. Once it ended, the statement fails (when it
 * succeeded, as DDL does), and so do every later one and the commit or
 * rollback. An error carries no status flags: the OK of a DO 0 does (one
 * round trip after a failed statement inside a transaction; a ping's OK
 * is not read for them).
 */
static int my_tx_check(struct my_conn *c, int rc, struct dbr_error *err)
{
	if (!c->in_tx || !c->m || c->tx_ended)
		return rc;
	if (rc && (!c->wrote || mysql_real_query(c->m, "DO 0", 4)))
		return rc; /* refused before it was sent, or the link is down */
	if (c->m->server_status & SERVER_STATUS_IN_TRANS)
		return rc;
	c->tx_ended = my_tx_gone;
	if (rc)
		return rc;
	my_discard(c);
	my_host->set_error(err, DBR_E_STMT, 0, NULL, "%s", my_tx_gone);
	return DBR_E_STMT;
}

/* The statement's columns changed since it was prepared (ALTER TABLE). */
static bool my_new_metadata(const struct my_conn *c, const struct my_stmt *st)
{
	return c->m && st && mysql_stmt_errno(st->st) == CR_NEW_STMT_METADATA;
}

static int my_query(struct dbr_driver_conn *conn, const char *sql,
		    const struct dbr_value *params, size_t nparams,
		    struct dbr_error *err)
{
	struct my_conn *c = my_conn(conn);
	struct my_stmt *st = NULL;
	int rc;

	my_discard(c);
	c->changes = 0;
	c->insert_id = 0;
	c->ncols = 0;
	c->wrote = false;
	c->first = true;
	if (!c->m)
		return my_fail(c, NULL, err);
	if (nparams > UINT_MAX || my_params_reserve(c, nparams))
		return my_nomem(err);
	if (c->tx_ended) {
		my_host->set_error(err, DBR_E_STMT, 0, NULL, "%s", c->tx_ended);
		return DBR_E_STMT;
	}
	rc = my_lookup(c, sql, nparams, &st, err);
	if (!rc)
		rc = my_run(c, st, params, nparams, err);
	if (rc && my_new_metadata(c, st)) {
		/* Its columns changed (the rows the server sent are read
		 * by the reset): every cached statement is prepared again
		 * (a rare event), and it runs once more. */
		(void)mysql_stmt_reset(st->st);
		dbr_stmtcache_clear(&c->cache);
		st = NULL;
		rc = my_lookup(c, sql, nparams, &st, err);
		if (!rc)
			rc = my_run(c, st, params, nparams, err);
	}
	return my_tx_check(c, rc, err);
}

static int my_next(struct dbr_driver_conn *conn, struct dbr_error *err)
{
	struct my_conn *c = my_conn(conn);

	if (c->first) {
		c->first = false;
		return c->row ? DBR_ROW : DBR_DONE;
	}
	if (!c->busy)
		return DBR_DONE;
	return my_step(c, err);
}

static size_t my_column_count(struct dbr_driver_conn *conn)
{
	return my_conn(conn)->ncols;
}

static const char *my_column_name(struct dbr_driver_conn *conn, size_t col)
{
	struct my_conn *c = my_conn(conn);

	return c->cur && col < c->ncols ? c->cur->st->fields[col].name : NULL;
}

static void my_column(struct dbr_driver_conn *conn, size_t col,
		      struct dbr_value *out)
{
	my_value(my_conn(conn), col, out);
}

/*
 * Release the session's user locks (RELEASE_ALL_LOCKS: MariaDB 10.5,
 * MySQL 5.7) after a statement that may have taken one; a connection
 * where that fails is not pooled again.
 */
static void my_release_locks(struct my_conn *c)
{
	static const char sql[] = "SELECT RELEASE_ALL_LOCKS()";
	MYSQL_RES *r = NULL;

	c->locks = false;
	if (!c->m)
		return;
	c->busy_since = my_now();
	if (mysql_real_query(c->m, sql, sizeof(sql) - 1) ||
	    !(r = mysql_store_result(c->m))) {
		my_host->log(c->base.src, DBR_LOG_DEBUG,
			     "user locks not released, connection closed: %s",
			     mysql_error(c->m));
		c->unclean = true;
	}
	mysql_free_result(r);
}

static void my_finish(struct dbr_driver_conn *conn)
{
	struct my_conn *c = my_conn(conn);

	my_discard(c);
	if (c->locks && !c->in_tx)
		my_release_locks(c);
	my_trim(c);
	if (c->sqlbuf.cap > MY_BUF_KEEP)
		dbr_sqlbuf_free(&c->sqlbuf);
}

static int64_t my_changes(struct dbr_driver_conn *conn)
{
	return my_conn(conn)->changes;
}

static bool my_last_insert_id(struct dbr_driver_conn *conn, int64_t *id)
{
	struct my_conn *c = my_conn(conn);

	if (c->insert_id <= 0)
		return false;
	*id = c->insert_id;
	return true;
}

static int my_ping(struct dbr_driver_conn *conn, struct dbr_error *err)
{
	struct my_conn *c = my_conn(conn);
	int rc;

	my_discard(c);
	if (!c->m)
		return my_fail(c, NULL, err);
	c->busy_since = my_now();
	rc = mysql_ping(c->m);
	return rc ? my_fail(c, NULL, err) : DBR_OK;
}

/* An idle connection has nothing to read unless the server is ending the
 * session (KILL, shutdown): then a fresh connection is the safe answer. */
static bool my_is_alive(struct dbr_driver_conn *conn)
{
	struct my_conn *c = my_conn(conn);
	struct pollfd pfd;

	if (!c->m || c->busy)
		return false;
	pfd.fd = (int)mysql_get_socket(c->m);
	pfd.events = POLLIN;
	pfd.revents = 0;
	return pfd.fd >= 0 && poll(&pfd, 1, 0) == 0;
}

static int my_begin(struct dbr_driver_conn *conn, struct dbr_error *err)
{
	struct my_conn *c = my_conn(conn);
	int rc;

	my_discard(c);
	rc = my_command(c,
			c->readonly ? "START TRANSACTION READ ONLY"
				    : "START TRANSACTION",
			err);
	if (!rc)
		c->in_tx = true;
	c->tx_ended = NULL;
	return rc;
}

/* A transaction the server ended itself: commit or rollback fails. */
static int my_tx_was_ended(struct my_conn *c, struct dbr_error *err)
{
	my_host->set_error(err, DBR_E_STMT, 0, NULL, "%s", c->tx_ended);
	c->tx_ended = NULL;
	return DBR_E_STMT;
}

static int my_commit(struct dbr_driver_conn *conn, struct dbr_error *err)
{
	struct my_conn *c = my_conn(conn);

	my_discard(c);
	c->in_tx = false;
	if (c->tx_ended)
		return my_tx_was_ended(c, err);
	return my_command(c, "COMMIT", err);
}

static int my_rollback(struct dbr_driver_conn *conn, struct dbr_error *err)
{
	struct my_conn *c = my_conn(conn);

	my_discard(c);
	c->in_tx = false;
	if (c->tx_ended)
		return my_tx_was_ended(c, err);
	return my_command(c, "ROLLBACK", err);
}

/*
 * Clean: linked, no rows pending, outside any transaction (ours, and the
 * server's flags: a statement that began one implicitly), autocommit on,
 * and no session change the tracker reported.
 */
static bool my_is_clean(struct dbr_driver_conn *conn)
{
	struct my_conn *c = my_conn(conn);

	return c->m && !c->busy && !c->in_tx && !c->unclean &&
	       !(c->m->server_status & SERVER_STATUS_IN_TRANS) &&
	       (c->m->server_status & SERVER_STATUS_AUTOCOMMIT);
}

/* Any statement that reached the server may have written (a SELECT too:
 * `SELECT f()`). */
static bool my_wrote(struct dbr_driver_conn *conn)
{
	return my_conn(conn)->wrote;
}

/*
 * The base tables of the connection's database (unqualified names find
 * them), a row per column in declared order: its class from its type,
 * its position in the primary key, NOT NULL.
 */
static const char my_tables_sql[] =
	"SELECT c.TABLE_NAME, c.COLUMN_NAME, c.COLUMN_TYPE, "
	"CASE WHEN c.IS_NULLABLE = 'NO' THEN 1 ELSE 0 END, "
	"COALESCE(k.ORDINAL_POSITION, 0), "
	"CASE WHEN c.DATA_TYPE IN ('tinyint', 'smallint', 'mediumint', "
	"'int', 'bigint') THEN 1 "
	"WHEN c.DATA_TYPE IN ('float', 'double', 'decimal') THEN 2 "
	"WHEN c.DATA_TYPE IN ('binary', 'varbinary', 'tinyblob', 'blob', "
	"'mediumblob', 'longblob') THEN 4 "
	"WHEN c.DATA_TYPE IN ('char', 'varchar', 'tinytext', 'text', "
	"'mediumtext', 'longtext') THEN 3 ELSE 5 END "
	"FROM information_schema.COLUMNS c "
	"JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA "
	"AND t.TABLE_NAME = c.TABLE_NAME AND t.TABLE_TYPE = 'BASE TABLE' "
	"LEFT JOIN information_schema.KEY_COLUMN_USAGE k "
	"ON k.TABLE_SCHEMA = c.TABLE_SCHEMA AND k.TABLE_NAME = c.TABLE_NAME "
	"AND k.COLUMN_NAME = c.COLUMN_NAME AND k.CONSTRAINT_NAME = 'PRIMARY' "
	"WHERE c.TABLE_SCHEMA = DATABASE() "
	"ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION";

/* Text column col of the current row ("" for NULL). */
static const char *my_text_at(struct my_conn *c, size_t col)
{
	struct dbr_value v;

	my_value(c, col, &v);
	return v.type == DBR_TYPE_TEXT ? v.u.s : "";
}

static int64_t my_int_at(struct my_conn *c, size_t col)
{
	struct dbr_value v;

	my_value(c, col, &v);
	return v.type == DBR_TYPE_INT64 ? v.u.i : 0;
}

static int my_list_tables(struct dbr_driver_conn *conn, dbr_table_fn fn,
			  void *ud, struct dbr_error *err)
{
	struct my_conn *c = my_conn(conn);
	struct dbr_column_info col;
	struct dbr_tablelist t;
	int rc = my_query(conn, my_tables_sql, NULL, 0, err);

	dbr_tablelist_init(&t, fn, ud);
	while (!rc && (rc = my_next(conn, err)) == DBR_ROW) {
		memset(&col, 0, sizeof(col));
		col.notnull = my_int_at(c, 3) != 0;
		col.pk = (uint32_t)my_int_at(c, 4);
		col.cls = (uint32_t)my_int_at(c, 5);
		col.name = my_text_at(c, 1);
		col.decl_type = my_text_at(c, 2);
		rc = dbr_tablelist_add(&t, "", my_text_at(c, 0), &col)
			     ? my_nomem(err)
			     : DBR_OK;
	}
	if (rc == DBR_DONE) {
		dbr_tablelist_end(&t);
		rc = DBR_OK;
	}
	dbr_tablelist_release(&t);
	my_finish(conn);
	return rc;
}

static const struct dbr_driver my_driver = {
	.abi_version = DBR_ABI_VERSION,
	.struct_size = sizeof(struct dbr_driver),
	.option_size = sizeof(struct dbr_option_decl),
	.lex_flags = MY_LEX,
	.name = "mysql",
	.version = "0.1.0 (MariaDB Connector/C)",
	.caps = DBR_CAP_SQL | DBR_CAP_TRANSACTIONS | DBR_CAP_READONLY,
	.options = my_options,
	.open = my_open,
	.open_with_flags = my_open_flags,
	.close = my_close,
	.query = my_query,
	.next = my_next,
	.column_count = my_column_count,
	.column_name = my_column_name,
	.column = my_column,
	.finish = my_finish,
	.changes = my_changes,
	.last_insert_id = my_last_insert_id,
	.ping = my_ping,
	.begin = my_begin,
	.commit = my_commit,
	.rollback = my_rollback,
	.is_alive = my_is_alive,
	.is_clean = my_is_clean,
	.wrote = my_wrote,
	.list_tables = my_list_tables,
};

DBR_DRIVER_EXPORT const struct dbr_driver *
dbr_driver_entry(const struct dbr_host *host);

/* Runs once per process, under the core's lock: Connector/C's global
 * state and the C locale are set up here, before any thread opens a
 * connection. NULL (the core refuses the plugin) when either fails. */
DBR_DRIVER_EXPORT const struct dbr_driver *
dbr_driver_entry(const struct dbr_host *host)
{
	my_host = host;
	if (!my_c_locale)
		my_c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	if (!my_c_locale || mysql_library_init(0, NULL, NULL))
		return NULL;
	return &my_driver;
}
