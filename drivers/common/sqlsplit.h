/*
 * sqlsplit.h - a script of SQL statements split into its statements, each
 * with its byte range and the line it starts on (for FILE:LINE errors),
 * read by the shared lexer (sqllex.h) in a source's lexical dialect.
 *
 * Compiled into the library (migrations, scripts) and into the SQL
 * drivers; C library only; no allocation.
 */
#ifndef DBR_SQLSPLIT_H
#define DBR_SQLSPLIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sqllex.h"

/* Why a script cannot be split; the line is where the culprit opens. */
enum dbr_sqlsplit_error {
	DBR_SQLSPLIT_OK = 0,
	DBR_SQLSPLIT_E_QUOTE,	/* an unterminated string literal */
	DBR_SQLSPLIT_E_IDENT,	/* an unterminated quoted identifier */
	DBR_SQLSPLIT_E_COMMENT, /* an unterminated block comment */
	DBR_SQLSPLIT_E_DOLLAR,	/* an unterminated dollar-quoted string */
	DBR_SQLSPLIT_E_TRIGGER, /* CREATE TRIGGER without its END */
	DBR_SQLSPLIT_E_BODY,	/* BEGIN (of a function body) without END */
	DBR_SQLSPLIT_E_PAREN,	/* a parenthesis never closed */
	DBR_SQLSPLIT_E_NUL	/* a NUL byte inside the text */
};

/* One statement: sql[start, end) with neither its ';' nor the blanks and
 * comments around it. */
struct dbr_sqlstmt {
	size_t start;
	size_t end;
	unsigned line; /* 1-based line of `start` */
};

/*
 * Where a statement stands on the way to its end: the one rule of where a
 * statement ends, shared by the splitter and the placeholder translator
 * (sqlscan.c). Zeroed at the statement's first token; the fields are
 * private to sqlsplit.c.
 */
struct dbr_sqlsplit_state {
	unsigned paren;	     /* open parentheses */
	unsigned body;	     /* open BEGIN ... END levels */
	unsigned words;	     /* words read, up to 4 */
	char head[4];	     /* initials of the first words, when keywords */
	unsigned trig;	     /* sqlsplit.c's enum trig */
	unsigned paren_line; /* where the outermost parenthesis opened */
	unsigned body_line;  /* where the outermost BEGIN stands */
};

/*
 * One token of a statement that is no blank or comment, read in the
 * dialect `flags`, on line `line` (kept for errors): true when it is the
 * ';' that ends the statement (see dbr_sqlsplit_next for the rules).
 */
bool dbr_sqlsplit_ends(struct dbr_sqlsplit_state *st,
		       const struct dbr_sqllex_token *t, uint32_t flags,
		       unsigned line);

/*
 * A split in progress: set up by dbr_sqlsplit_init, read by
 * dbr_sqlsplit_next. Plain memory the caller embeds; nothing to release.
 * The fields are read-only for the caller.
 */
struct dbr_sqlsplit {
	const char *sql;
	size_t len;
	uint32_t flags;
	size_t pos;    /* where the next statement is looked for */
	unsigned line; /* the line at pos */
	enum dbr_sqlsplit_error error;
	unsigned error_line; /* where the culprit of `error` opens */
};

enum dbr_sqlsplit_step {
	DBR_SQLSPLIT_ERROR = -1, /* see split->error and ->error_line */
	DBR_SQLSPLIT_DONE = 0,	 /* no statement left */
	DBR_SQLSPLIT_STMT = 1	 /* *stmt holds the next statement */
};

/*
 * Start splitting sql[0, len), which must be followed by a NUL byte (a NUL
 * before sql[len] is the error DBR_SQLSPLIT_E_NUL at its line), by the
 * rules of the lexical dialect `flags` (enum dbr_sqllex_flags).
 */
void dbr_sqlsplit_init(struct dbr_sqlsplit *split, const char *sql, size_t len,
		       uint32_t flags);

/*
 * The next statement, into *stmt. A statement ends at a ';' outside
 * quotes, comments and parentheses, or at the end of the text; empty
 * statements and a tail of blanks and comments are skipped. With
 * DBR_SQLLEX_TRIGGER_BODIES, a statement that begins CREATE [TEMP]
 * TRIGGER ends at the first ';' after an END that follows a ';' (the rule
 * of sqlite3_complete: a CASE ... END inside the body does not end it).
 * In every dialect, CREATE [OR REPLACE] FUNCTION or PROCEDURE with a
 * BEGIN ... END body (PostgreSQL's BEGIN ATOMIC) ends after the END that
 * closes it (the rule of psql). Returns DBR_SQLSPLIT_STMT, DONE, or ERROR
 * (then again at every later call).
 */
enum dbr_sqlsplit_step dbr_sqlsplit_next(struct dbr_sqlsplit *split,
					 struct dbr_sqlstmt *stmt);

/* Static text for an error, e.g. "unterminated quoted string". */
const char *dbr_sqlsplit_strerror(enum dbr_sqlsplit_error error);

/*
 * Whether the script's first line is the marker `-- dbroute:
 * no-transaction` (blanks allowed around its words, a final carriage
 * return ignored): its statements must run one by one, outside a
 * transaction.
 */
bool dbr_sqlsplit_no_transaction(const char *sql, size_t len);

#endif /* DBR_SQLSPLIT_H */
