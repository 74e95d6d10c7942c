/*
 * sqlguard.h - statements that would change a pooled connection's state,
 * recognised by their leading keywords.
 *
 * Plain dbr_query() refuses them with a message that says what to use
 * instead; the connection's state check after every statement (the
 * driver's is_clean call) is the real guard, this is the friendly one.
 * Also: which statements may leave session state that no state check can
 * see, so that their connection is closed after them.
 * Shared by the SQL drivers; compiled into each; C library only.
 */
#ifndef DBR_SQLGUARD_H
#define DBR_SQLGUARD_H

#include <stdbool.h>
#include <stddef.h>

enum dbr_sqlguard_dialect {
	DBR_SQLGUARD_SQLITE = 1,
	DBR_SQLGUARD_POSTGRES = 2,
	DBR_SQLGUARD_MYSQL = 3
};

/*
 * Why `sql` must not run on a pooled connection, or NULL when it may.
 * `in_tx`: the statement runs inside a transaction the core began
 * (dbr_tx_query), where savepoints and transaction-local settings are
 * allowed (plain BEGIN, COMMIT, ROLLBACK and END still are not). The
 * reason is static text naming the kind of statement and what to use
 * instead, e.g. "transaction control is refused: use dbr_tx_begin,
 * dbr_tx_commit and dbr_tx_rollback". Leading blanks, comments and
 * opening parentheses are skipped; keywords match case-insensitively;
 * only the first few words are read. The drivers report a refusal as
 * DBR_E_MISUSE.
 */
const char *dbr_sqlguard_refuse(const char *sql,
				enum dbr_sqlguard_dialect dialect, bool in_tx);

/*
 * Whether `sql` is transaction control in any dialect, as
 * dbr_sqlguard_refuse classifies it outside a transaction: BEGIN, COMMIT,
 * END, ROLLBACK, ABORT, START TRANSACTION, SAVEPOINT, RELEASE, ROLLBACK
 * TO and the two-phase forms. For a script whose statements the caller
 * wraps in a transaction of its own (migrations). Only the first words
 * are read: the statement need not end with the text.
 */
bool dbr_sqlguard_is_tx_control(const char *sql);

/*
 * Whether `sql` is a query that only reads, by its first keyword: SELECT,
 * VALUES, TABLE or SHOW (a function a SELECT calls may still write).
 * WITH, EXPLAIN and everything else answer false. Used to decide what may
 * be stopped when its result is freed before its end.
 */
bool dbr_sqlguard_is_read(const char *sql, enum dbr_sqlguard_dialect dialect);

/*
 * Whether `sql` may leave session state the client library cannot see
 * (the server does not report it): the connection must be closed after
 * it, not pooled. PostgreSQL only (SQLite: false, its driver sees such
 * state itself). The text is read as PostgreSQL's lexer reads it:
 * comments, string literals (also E'', U&''), dollar-quoted bodies and
 * numbers are skipped, and only the code's words count. True when a
 * statement begins with DO, CALL or LISTEN; when a word or a quoted name
 * is set_config, pg_settings, pg_temp or pg_temp_N, a session-level
 * advisory lock (pg_advisory_lock, pg_try_advisory_lock and their _shared
 * forms; not the _xact_ ones), a built-in that runs a query given as text
 * (query_to_xml, query_to_xmlschema, query_to_xml_and_xmlschema, ts_stat,
 * ts_rewrite) or dblink or dblink_*; when TEMP or TEMPORARY follows
 * CREATE, GLOBAL, LOCAL, REPLACE, or an INTO that is not INSERT's or
 * MERGE's; or when a U&"..." name could spell any of them. Read twice,
 * with standard_conforming_strings on and off. A false yes costs one
 * reconnect per execution; a function the statement calls is not seen.
 * Reads the whole text: call it once per prepared statement, not per
 * call.
 */
bool dbr_sqlguard_may_leave_state(const char *sql,
				  enum dbr_sqlguard_dialect dialect);

/*
 * Whether an SQLite pragma given an argument only reads or checks (e.g.
 * table_info(t), integrity_check(1)): its argument is not a new value.
 * Any case; name without schema.
 */
bool dbr_sqlguard_pragma_reads(const char *name);

#endif /* DBR_SQLGUARD_H */
