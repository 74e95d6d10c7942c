/*
 * sqlsplit.c - a script split into statements (see sqlsplit.h).
 *
 * The text is read token by token by the shared lexer; a statement is
 * the run of tokens from its first token that is no blank or comment to
 * the ';' that ends it. Three counters decide whether a ';' ends it:
 *
 *   paren  open parentheses: a ';' inside them does not end the statement
 *          (psql's rule, for PostgreSQL's CREATE RULE ... (a; b)).
 *   body   psql's rule for SQL-standard function bodies: in a statement
 *          that begins CREATE [OR REPLACE] FUNCTION or PROCEDURE, outside
 *          parentheses, BEGIN opens a body, CASE inside one opens another
 *          level and END closes one.
 *   trig   with DBR_SQLLEX_TRIGGER_BODIES, sqlite3_complete's rule: a
 *          statement that begins [EXPLAIN] CREATE [TEMP] TRIGGER ends
 *          only at a ';' that follows `; END`.
 *
 * Each step reads one token, which is never empty, so a call ends after
 * at most as many steps as the text has bytes.
 */
#include <string.h>
#include <strings.h>

#include "sqllex.h"
#include "sqlsplit.h"

/* Where a statement that may be a trigger stands (sqlite3_complete). */
enum trig {
	TRIG_START,   /* no word yet (or only EXPLAIN) */
	TRIG_EXPLAIN, /* after EXPLAIN */
	TRIG_CREATE,  /* after CREATE [TEMP] */
	TRIG_NONE,    /* not a trigger */
	TRIG_BODY,    /* inside a trigger */
	TRIG_SEMI,    /* inside, just after a ';' */
	TRIG_END      /* inside, just after `; END`: a ';' ends it */
};

static bool is_kw(const struct dbr_sqllex_token *t, const char *kw)
{
	size_t n = strlen(kw);

	return t->kind == DBR_SQLLEX_WORD && (size_t)(t->end - t->start) == n &&
	       !strncasecmp(t->start, kw, n);
}

static bool is_char(const struct dbr_sqllex_token *t, char c)
{
	return t->kind == DBR_SQLLEX_OTHER && *t->start == c;
}

/* A word that is an identifier or a keyword (not a number, not $1). */
static bool is_ident(const struct dbr_sqllex_token *t)
{
	char c = *t->start;

	return t->kind == DBR_SQLLEX_WORD && c != '$' &&
	       !(c >= '0' && c <= '9');
}

/* sqlite3_complete's automaton, one token that is no blank or comment. */
static void step_trigger(struct dbr_sqlsplit_state *st,
			 const struct dbr_sqllex_token *t)
{
	switch (st->trig) {
	case TRIG_START:
		st->trig = is_kw(t, "EXPLAIN")	? TRIG_EXPLAIN
			   : is_kw(t, "CREATE") ? TRIG_CREATE
						: TRIG_NONE;
		break;
	case TRIG_EXPLAIN:
		st->trig = is_kw(t, "CREATE") ? TRIG_CREATE : TRIG_NONE;
		break;
	case TRIG_CREATE:
		if (is_kw(t, "TRIGGER"))
			st->trig = TRIG_BODY;
		else if (!is_kw(t, "TEMP") && !is_kw(t, "TEMPORARY"))
			st->trig = TRIG_NONE;
		break;
	case TRIG_BODY:
	case TRIG_SEMI:
	case TRIG_END:
		st->trig = is_char(t, ';') ? TRIG_SEMI
			   : st->trig == TRIG_SEMI && is_kw(t, "END")
				   ? TRIG_END
				   : TRIG_BODY;
		break;
	case TRIG_NONE: break;
	}
}

/* psql's function-body rule, one identifier or keyword. */
static void step_body(struct dbr_sqlsplit_state *st,
		      const struct dbr_sqllex_token *t, unsigned line)
{
	static const char *const head[] = { "CREATE", "OR", "REPLACE",
					    "FUNCTION", "PROCEDURE" };
	const char *h = st->head;

	if (st->words < sizeof(st->head)) {
		size_t i;

		for (i = 0; i < sizeof(head) / sizeof(head[0]); i++)
			if (is_kw(t, head[i]))
				st->head[st->words] = head[i][0];
		st->words++;
	}
	if (h[0] != 'C' || st->paren ||
	    !(h[1] == 'F' || h[1] == 'P' ||
	      (h[1] == 'O' && h[2] == 'R' && (h[3] == 'F' || h[3] == 'P'))))
		return;
	if (is_kw(t, "BEGIN") || (st->body && is_kw(t, "CASE"))) {
		if (!st->body++)
			st->body_line = line;
	} else if (is_kw(t, "END") && st->body) {
		st->body--;
	}
}

bool dbr_sqlsplit_ends(struct dbr_sqlsplit_state *st,
		       const struct dbr_sqllex_token *t, uint32_t flags,
		       unsigned line)
{
	bool ends = is_char(t, ';') && !st->paren && !st->body &&
		    (st->trig < TRIG_BODY || st->trig == TRIG_END);

	if (ends)
		return true;
	if (flags & DBR_SQLLEX_TRIGGER_BODIES)
		step_trigger(st, t);
	if (is_char(t, '(') && !st->paren++)
		st->paren_line = line;
	else if (is_char(t, ')') && st->paren)
		st->paren--;
	else if (is_ident(t))
		step_body(st, t, line);
	return false;
}

static enum dbr_sqlsplit_step fail(struct dbr_sqlsplit *sp,
				   enum dbr_sqlsplit_error error, unsigned line)
{
	sp->error = error;
	sp->error_line = line;
	return DBR_SQLSPLIT_ERROR;
}

/* The end of the text inside a statement: an error when one is open. */
static enum dbr_sqlsplit_step at_end(struct dbr_sqlsplit *sp,
				     const struct dbr_sqlsplit_state *st,
				     const struct dbr_sqlstmt *stmt)
{
	if (st->trig >= TRIG_BODY && st->trig != TRIG_END)
		return fail(sp, DBR_SQLSPLIT_E_TRIGGER, stmt->line);
	if (st->body)
		return fail(sp, DBR_SQLSPLIT_E_BODY, st->body_line);
	if (st->paren)
		return fail(sp, DBR_SQLSPLIT_E_PAREN, st->paren_line);
	return DBR_SQLSPLIT_STMT;
}

static enum dbr_sqlsplit_error open_error(enum dbr_sqllex_open open)
{
	switch (open) {
	case DBR_SQLLEX_OPEN_QUOTE: return DBR_SQLSPLIT_E_QUOTE;
	case DBR_SQLLEX_OPEN_IDENT: return DBR_SQLSPLIT_E_IDENT;
	case DBR_SQLLEX_OPEN_COMMENT: return DBR_SQLSPLIT_E_COMMENT;
	case DBR_SQLLEX_OPEN_DOLLAR: return DBR_SQLSPLIT_E_DOLLAR;
	case DBR_SQLLEX_CLOSED: break;
	}
	return DBR_SQLSPLIT_OK;
}

static unsigned count_lines(const char *s, const char *end)
{
	unsigned n = 0;

	while ((s = memchr(s, '\n', (size_t)(end - s))) != NULL) {
		n++;
		s++;
	}
	return n;
}

void dbr_sqlsplit_init(struct dbr_sqlsplit *sp, const char *sql, size_t len,
		       uint32_t flags)
{
	memset(sp, 0, sizeof(*sp));
	sp->sql = sql;
	sp->len = len;
	sp->flags = flags;
	sp->line = 1;
}

enum dbr_sqlsplit_step dbr_sqlsplit_next(struct dbr_sqlsplit *sp,
					 struct dbr_sqlstmt *stmt)
{
	struct dbr_sqlsplit_state st = { 0 };
	struct dbr_sqllex_token t;
	const char *p = sp->sql + sp->pos;
	bool started = false;

	if (sp->error)
		return DBR_SQLSPLIT_ERROR;
	for (;; p = t.end) {
		dbr_sqllex_next(sp->sql, p, sp->flags, &t);
		if (t.open)
			return fail(sp, open_error(t.open), sp->line);
		if (t.kind == DBR_SQLLEX_END) {
			if ((size_t)(p - sp->sql) < sp->len)
				return fail(sp, DBR_SQLSPLIT_E_NUL, sp->line);
			sp->pos = sp->len;
			return started ? at_end(sp, &st, stmt)
				       : DBR_SQLSPLIT_DONE;
		}
		if (t.kind != DBR_SQLLEX_BLANK &&
		    t.kind != DBR_SQLLEX_COMMENT) {
			if (!started && is_char(&t, ';'))
				continue;
			if (!started) {
				started = true;
				stmt->start = (size_t)(p - sp->sql);
				stmt->line = sp->line;
			}
			if (dbr_sqlsplit_ends(&st, &t, sp->flags, sp->line)) {
				sp->pos = (size_t)(t.end - sp->sql);
				return DBR_SQLSPLIT_STMT;
			}
			stmt->end = (size_t)(t.end - sp->sql);
		}
		sp->line += count_lines(t.start, t.end);
	}
}

const char *dbr_sqlsplit_strerror(enum dbr_sqlsplit_error error)
{
	switch (error) {
	case DBR_SQLSPLIT_OK: return "no error";
	case DBR_SQLSPLIT_E_QUOTE: return "unterminated quoted string";
	case DBR_SQLSPLIT_E_IDENT: return "unterminated quoted identifier";
	case DBR_SQLSPLIT_E_COMMENT: return "unterminated /* comment";
	case DBR_SQLSPLIT_E_DOLLAR: return "unterminated dollar-quoted string";
	case DBR_SQLSPLIT_E_TRIGGER:
		return "CREATE TRIGGER without the END of its body";
	case DBR_SQLSPLIT_E_BODY:
		return "BEGIN of a function body without its END";
	case DBR_SQLSPLIT_E_PAREN: return "parenthesis never closed";
	case DBR_SQLSPLIT_E_NUL: return "NUL byte in the text";
	}
	return "unknown error";
}

/* s past the blanks of one line (spaces, tabs). */
static const char *skip_line_blanks(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	return s;
}

/* s past `word` at s, or NULL when it is not there. */
static const char *eat(const char *s, const char *end, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(end - s) < n || memcmp(s, word, n))
		return NULL;
	return skip_line_blanks(s + n, end);
}

bool dbr_sqlsplit_no_transaction(const char *sql, size_t len)
{
	const char *nl = memchr(sql, '\n', len);
	const char *end = nl ? nl : sql + len;
	const char *s = skip_line_blanks(sql, end);

	if (end > s && end[-1] == '\r')
		end--;
	if ((s = eat(s, end, "--")) == NULL ||
	    (s = eat(s, end, "dbroute:")) == NULL ||
	    (s = eat(s, end, "no-transaction")) == NULL)
		return false;
	return s == end;
}
