/*
 * sqlguard.h - statements that would change a pooled connection's state,
 * recognised by their leading keywords.
 *
 * Plain dbr_query() refuses them with a message that says what to use
 * instead; the connection's state check after every statement (the
 * driver's is_clean call) is the real guard, this is the friendly one.
 * Shared by the SQL drivers; compiled into each; C library only.
 */
#ifndef DBR_SQLGUARD_H
#define DBR_SQLGUARD_H

#include <stdbool.h>
#include <stddef.h>

enum dbr_sqlguard_dialect {
	DBR_SQLGUARD_SQLITE = 1,
	DBR_SQLGUARD_POSTGRES = 2
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
 * Whether `sql` is a query that only reads, by its first keyword: SELECT,
 * VALUES, TABLE or SHOW (a function a SELECT calls may still write).
 * WITH, EXPLAIN and everything else answer false. Used to decide what may
 * be stopped when its result is freed before its end.
 */
bool dbr_sqlguard_is_read(const char *sql, enum dbr_sqlguard_dialect dialect);

#endif /* DBR_SQLGUARD_H */
