/*
 * sqlguard.c - statements that would change a pooled connection's state,
 * recognised by their leading keywords.
 *
 * The statement is read as a few words: blanks, comments and opening
 * parentheses before a word are skipped, a word is a run of letters,
 * digits, '_' and '$' (compared case-insensitively), and anything else
 * ends the reading. Only the first words are read, so the cost is a few
 * dozen instructions whatever the statement's length; the driver's state
 * check after the statement is the real guard.
 *
 * dbr_sqlguard_may_leave_state() is the one exception: it reads the
 * whole text, once per prepared statement, token by token as the server
 * does, for the code that may leave session state the server does not
 * report (see sqlguard.h).
 */
#include "sqlguard.h"
#include "sqllex.h"

#include <string.h>
#include <strings.h>

#define MAXWORD 32 /* longer words are no keyword of ours */

static const char *const why_tx =
	"transaction control is refused: use dbr_tx_begin, dbr_tx_commit "
	"and dbr_tx_rollback";
static const char *const why_savepoint =
	"savepoints are refused outside a transaction: begin one with "
	"dbr_tx_begin and use them through dbr_tx_query";
static const char *const why_twophase =
	"two-phase commit is refused: a prepared transaction would outlive "
	"the call on a pooled connection";
static const char *const why_attach =
	"ATTACH and DETACH are refused: an attached database would outlive "
	"the call on a pooled connection; configure another source instead";
static const char *const why_pragma =
	"a PRAGMA that sets a value is refused: the setting would outlive "
	"the call on a pooled connection; a PRAGMA that only reads is allowed";
static const char *const why_set =
	"SET and RESET are refused: a session setting would outlive the call "
	"on a pooled connection; use SET LOCAL inside dbr_tx_begin";
static const char *const why_listen =
	"LISTEN and UNLISTEN are refused: notifications are not delivered "
	"through a pooled connection";
static const char *const why_prepare =
	"PREPARE, DEALLOCATE and DISCARD are refused: the driver prepares "
	"and caches statements itself";
static const char *const why_hold =
	"DECLARE ... WITH HOLD is refused: a held cursor would outlive the "
	"call on a pooled connection";
static const char *const why_copy = "COPY is not supported through dbr_query";
static const char *const why_temp =
	"temporary objects would outlive the call on a pooled connection: "
	"create them inside dbr_tx with ON COMMIT DROP";
static const char *const why_my_set =
	"SET is refused: a session setting would outlive the call on a "
	"pooled connection (MySQL has no SET LOCAL); configure it for the "
	"source instead";
static const char *const why_use =
	"USE is refused: the default database would outlive the call on a "
	"pooled connection; configure another source instead";
static const char *const why_lock =
	"LOCK TABLES and UNLOCK TABLES are refused: table locks would "
	"outlive the call on a pooled connection; use a transaction with "
	"SELECT ... FOR UPDATE";
static const char *const why_handler =
	"HANDLER is refused: an open handler would outlive the call on a "
	"pooled connection";
static const char *const why_my_temp =
	"temporary tables are refused: one would outlive the call on a "
	"pooled connection (MySQL keeps it past the transaction)";
static const char *const why_flush =
	"FLUSH ... WITH READ LOCK, FOR EXPORT and BACKUP are refused: their "
	"locks would outlive the call on a pooled connection";
static const char *const why_load =
	"LOAD is refused: a loaded library would outlive the call on a "
	"pooled connection";

/* A reader over the statement's text. */
struct reader {
	const char *p;
	enum dbr_sqlguard_dialect dialect;
};

/* Skip blanks and comments; with `parens`, also opening parentheses. */
static void skip_space(struct reader *r, bool parens)
{
	const char *p = r->p;

	for (;;) {
		if (dbr_sqllex_blank(*p) || (parens && *p == '(')) {
			p++;
		} else if (dbr_sqllex_dash_comment(
				   p, r->dialect == DBR_SQLGUARD_MYSQL
					      ? DBR_SQLLEX_DASH_NEEDS_BLANK
					      : 0) ||
			   (*p == '#' && r->dialect == DBR_SQLGUARD_MYSQL)) {
			p += strcspn(p, "\n");
		} else if (p[0] == '/' && p[1] == '*') {
			p = dbr_sqllex_skip_block_comment(
				p, r->dialect == DBR_SQLGUARD_POSTGRES, NULL);
		} else {
			break;
		}
	}
	r->p = p;
}

/*
 * Read the word at p into w (upper case, NUL-terminated; empty when p is
 * no word or the word is too long to be a keyword); returns its end.
 */
static const char *read_word(const char *p, char w[MAXWORD + 1])
{
	size_t n = 0;

	for (; dbr_sqllex_word_char(*p); p++)
		if (n < MAXWORD + 1)
			w[n++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	w[n > MAXWORD ? 0 : n] = '\0';
	return p;
}

/* Read the next word, after blanks and comments, into w. */
static void next_word(struct reader *r, char w[MAXWORD + 1])
{
	skip_space(r, false);
	r->p = read_word(r->p, w);
}

/* The next non-blank character, after comments. */
static char peek_char(struct reader *r)
{
	skip_space(r, false);
	return *r->p;
}

/*
 * Skip a quoted token that opens at r->p (an identifier "x", a string
 * 'x'; in SQLite also `x` and [x]): a doubled closing quote stands for
 * itself. An unterminated one runs to the end.
 */
static void skip_quoted(struct reader *r)
{
	char open = *r->p, close = open == '[' ? ']' : open;
	const char *p = r->p + 1;

	while (*p && (*p != close || (close != ']' && p[1] == close)))
		p += *p == close ? 2 : 1;
	r->p = *p ? p + 1 : p;
}

/*
 * Read a name: a word, or a quoted identifier ("x", and in SQLite also
 * `x` and [x]), whose text is then not kept (w is empty).
 */
static void next_name(struct reader *r, char w[MAXWORD + 1])
{
	char open = peek_char(r);

	if (open != '"' && (r->dialect != DBR_SQLGUARD_SQLITE ||
			    (open != '`' && open != '['))) {
		next_word(r, w);
		return;
	}
	skip_quoted(r);
	w[0] = '\0';
}

/* The next word is kw; it is consumed only then. */
static bool accept(struct reader *r, const char *kw)
{
	struct reader save = *r;
	char w[MAXWORD + 1];

	next_word(r, w);
	if (!strcmp(w, kw))
		return true;
	*r = save;
	return false;
}

/*
 * ROLLBACK [WORK | TRANSACTION] TO [SAVEPOINT] name, read after ROLLBACK:
 * allowed inside a transaction only. ROLLBACK PREPARED is two-phase.
 */
static const char *rollback(struct reader *r, bool in_tx)
{
	if (r->dialect == DBR_SQLGUARD_POSTGRES && accept(r, "PREPARED"))
		return why_twophase;
	if (!accept(r, "TRANSACTION") && r->dialect != DBR_SQLGUARD_SQLITE)
		(void)accept(r, "WORK");
	if (accept(r, "TO"))
		return in_tx ? NULL : why_savepoint;
	return why_tx;
}

/*
 * PRAGMA [schema.]name [= value | (value)]: only the forms with a value
 * set something, except for the pragmas whose argument names a table or
 * an index, or bounds a check, which only read (or act without leaving
 * state behind).
 */
/* SQLite pragmas whose argument names what to read or check, not a new
 * value: they leave no state behind. Upper case. */
static const char *const pragma_reads[] = {
	"TABLE_INFO",	      "TABLE_XINFO",
	"INDEX_INFO",	      "INDEX_XINFO",
	"INDEX_LIST",	      "FOREIGN_KEY_LIST",
	"FOREIGN_KEY_CHECK",  "INTEGRITY_CHECK",
	"QUICK_CHECK",	      "WAL_CHECKPOINT",
	"INCREMENTAL_VACUUM", "OPTIMIZE",
	"TABLE_LIST",	      NULL
};

bool dbr_sqlguard_pragma_reads(const char *name)
{
	size_t i;

	for (i = 0; name && pragma_reads[i]; i++) {
		size_t n = strlen(pragma_reads[i]);

		if (!strncasecmp(name, pragma_reads[i], n) && !name[n])
			return true;
	}
	return false;
}

static const char *pragma(struct reader *r)
{
	char w[MAXWORD + 1];
	char ch;

	next_name(r, w);
	if (peek_char(r) == '.') {
		r->p++;
		next_name(r, w);
	}
	ch = peek_char(r);
	if (ch == '=')
		return why_pragma;
	if (ch != '(')
		return NULL;
	return dbr_sqlguard_pragma_reads(w) ? NULL : why_pragma;
}

static const char *sqlite_refuse(struct reader *r, const char *w, bool in_tx)
{
	if (!strcmp(w, "BEGIN") || !strcmp(w, "COMMIT") || !strcmp(w, "END"))
		return why_tx;
	if (!strcmp(w, "ROLLBACK"))
		return rollback(r, in_tx);
	if (!strcmp(w, "SAVEPOINT") || !strcmp(w, "RELEASE"))
		return in_tx ? NULL : why_savepoint;
	if (!strcmp(w, "ATTACH") || !strcmp(w, "DETACH"))
		return why_attach;
	if (!strcmp(w, "PRAGMA"))
		return pragma(r);
	return NULL;
}

/*
 * SET, read after SET: inside a transaction, what ends with it (SET
 * LOCAL, SET TRANSACTION, SET CONSTRAINTS) is allowed.
 */
static const char *pg_set(struct reader *r, bool in_tx)
{
	if (in_tx && (accept(r, "LOCAL") || accept(r, "TRANSACTION") ||
		      accept(r, "CONSTRAINTS")))
		return NULL;
	return why_set;
}

/*
 * DECLARE name ... [WITH HOLD] FOR query: every word before FOR is read,
 * whatever stands between the words (a U&"name" and its UESCAPE string,
 * comments, any number of options), and HOLD refuses when WITH comes
 * just before it (comments between them skipped): a cursor named hold
 * and WITHOUT HOLD are fine. Each step advances by at least one character, so
 * the loop ends at FOR or at the end of the text.
 */
static const char *pg_declare(struct reader *r)
{
	char w[MAXWORD + 1], prev[MAXWORD + 1] = "";
	char ch;

	while ((ch = peek_char(r)) != '\0') {
		if (ch == '"' || ch == '\'') {
			skip_quoted(r);
			prev[0] = '\0';
			continue;
		}
		if (!dbr_sqllex_word_char(ch)) {
			r->p++;
			prev[0] = '\0';
			continue;
		}
		next_word(r, w);
		if (!strcmp(w, "FOR"))
			return NULL;
		if (!strcmp(w, "HOLD") && !strcmp(prev, "WITH"))
			return why_hold;
		memcpy(prev, w, sizeof(prev));
	}
	return NULL;
}

/*
 * CREATE [OR REPLACE] [GLOBAL | LOCAL] TEMP[ORARY] ..., read after CREATE:
 * allowed inside a transaction only (the connection is closed after it,
 * see dbr_sqlguard_may_leave_state).
 */
static const char *pg_create(struct reader *r, bool in_tx)
{
	if (accept(r, "OR"))
		(void)accept(r, "REPLACE");
	if (!accept(r, "GLOBAL"))
		(void)accept(r, "LOCAL");
	if (accept(r, "TEMP") || accept(r, "TEMPORARY"))
		return in_tx ? NULL : why_temp;
	return NULL;
}

static const char *pg_refuse(struct reader *r, const char *w, bool in_tx)
{
	if (!strcmp(w, "BEGIN") || !strcmp(w, "END") || !strcmp(w, "ABORT"))
		return why_tx;
	if (!strcmp(w, "START"))
		return accept(r, "TRANSACTION") ? why_tx : NULL;
	if (!strcmp(w, "COMMIT"))
		return accept(r, "PREPARED") ? why_twophase : why_tx;
	if (!strcmp(w, "ROLLBACK"))
		return rollback(r, in_tx);
	if (!strcmp(w, "SAVEPOINT") || !strcmp(w, "RELEASE"))
		return in_tx ? NULL : why_savepoint;
	if (!strcmp(w, "PREPARE"))
		return accept(r, "TRANSACTION") ? why_twophase : why_prepare;
	if (!strcmp(w, "DEALLOCATE") || !strcmp(w, "DISCARD"))
		return why_prepare;
	if (!strcmp(w, "SET"))
		return pg_set(r, in_tx);
	if (!strcmp(w, "RESET"))
		return why_set;
	if (!strcmp(w, "LISTEN") || !strcmp(w, "UNLISTEN"))
		return why_listen;
	if (!strcmp(w, "DECLARE"))
		return pg_declare(r);
	if (!strcmp(w, "COPY"))
		return why_copy;
	if (!strcmp(w, "LOAD"))
		return why_load;
	if (!strcmp(w, "CREATE"))
		return pg_create(r, in_tx);
	return NULL;
}

/*
 * FLUSH ..., read after FLUSH: every word is read (quoted names, strings
 * and other characters passed by), and LOCK or EXPORT refuses (WITH READ
 * LOCK and FOR EXPORT keep locks). Each step advances by at least one
 * character, so the loop ends at the end of the text.
 */
static const char *my_flush(struct reader *r)
{
	char w[MAXWORD + 1];
	char ch;

	while ((ch = peek_char(r)) != '\0') {
		if (ch == '`' || ch == '"' || ch == '\'') {
			r->p = dbr_sqllex_skip_quoted(r->p, ch, ch != '`',
						      NULL);
			continue;
		}
		if (!dbr_sqllex_word_char(ch)) {
			r->p++;
			continue;
		}
		next_word(r, w);
		if (!strcmp(w, "LOCK") || !strcmp(w, "EXPORT"))
			return why_flush;
	}
	return NULL;
}

static const char *my_refuse(struct reader *r, const char *w, bool in_tx)
{
	static const char *const prepare[] = { "PREPARE", "EXECUTE",
					       "DEALLOCATE", NULL };
	size_t i;

	if (!strcmp(w, "BEGIN") || !strcmp(w, "COMMIT") || !strcmp(w, "END"))
		return why_tx;
	if (!strcmp(w, "START"))
		return accept(r, "TRANSACTION") ? why_tx : NULL;
	if (!strcmp(w, "ROLLBACK"))
		return rollback(r, in_tx);
	if (!strcmp(w, "SAVEPOINT") || !strcmp(w, "RELEASE"))
		return in_tx ? NULL : why_savepoint;
	if (!strcmp(w, "XA"))
		return why_twophase;
	if (!strcmp(w, "SET"))
		return why_my_set;
	if (!strcmp(w, "USE"))
		return why_use;
	if (!strcmp(w, "LOCK") || !strcmp(w, "UNLOCK"))
		return why_lock;
	if (!strcmp(w, "HANDLER"))
		return why_handler;
	if (!strcmp(w, "FLUSH"))
		return my_flush(r);
	if (!strcmp(w, "BACKUP"))
		return why_flush;
	for (i = 0; prepare[i]; i++)
		if (!strcmp(w, prepare[i]))
			return why_prepare;
	if (!strcmp(w, "CREATE")) {
		if (accept(r, "OR"))
			(void)accept(r, "REPLACE");
		return accept(r, "TEMPORARY") ? why_my_temp : NULL;
	}
	return NULL;
}

const char *dbr_sqlguard_refuse(const char *sql,
				enum dbr_sqlguard_dialect dialect, bool in_tx)
{
	struct reader r = { sql, dialect };
	char w[MAXWORD + 1];

	if (!sql)
		return NULL;
	skip_space(&r, true);
	next_word(&r, w);
	if (!*w)
		return NULL;
	if (dialect == DBR_SQLGUARD_SQLITE)
		return sqlite_refuse(&r, w, in_tx);
	if (dialect == DBR_SQLGUARD_POSTGRES)
		return pg_refuse(&r, w, in_tx);
	if (dialect == DBR_SQLGUARD_MYSQL)
		return my_refuse(&r, w, in_tx);
	return NULL;
}

bool dbr_sqlguard_is_tx_control(const char *sql)
{
	static const enum dbr_sqlguard_dialect dialects[] = {
		DBR_SQLGUARD_SQLITE, DBR_SQLGUARD_POSTGRES, DBR_SQLGUARD_MYSQL
	};
	struct reader r = { sql, DBR_SQLGUARD_POSTGRES };
	char w[MAXWORD + 1];
	size_t i;

	if (!sql)
		return false;
	/*
	 * DECLARE is read to its FOR, which may lie in a later statement:
	 * it is never transaction control.
	 */
	skip_space(&r, true);
	next_word(&r, w);
	if (!strcmp(w, "DECLARE"))
		return false;
	for (i = 0; i < sizeof(dialects) / sizeof(dialects[0]); i++) {
		const char *why = dbr_sqlguard_refuse(sql, dialects[i], false);

		if (why == why_tx || why == why_savepoint ||
		    why == why_twophase)
			return true;
	}
	return false;
}

bool dbr_sqlguard_is_read(const char *sql, enum dbr_sqlguard_dialect dialect)
{
	struct reader r = { sql, dialect };
	char w[MAXWORD + 1];

	if (!sql)
		return false;
	skip_space(&r, true);
	next_word(&r, w);
	return !strcmp(w, "SELECT") || !strcmp(w, "VALUES") ||
	       !strcmp(w, "TABLE") || !strcmp(w, "SHOW");
}

/*
 * The scan of dbr_sqlguard_may_leave_state reads the text as PostgreSQL's
 * lexer does, token by token: blanks and comments are skipped; string
 * literals ('x', E'x' with backslash escapes, U&'x', B'x', X'x', N'x'),
 * dollar-quoted bodies and numbers are tokens whose text is not read; a
 * quoted identifier "x" is a name (never a keyword); a word is a run of
 * word characters that begins with a letter, '_' or a byte >= 0x80; any
 * other character is a token of its own.
 */
enum tok_kind { TOK_END, TOK_WORD, TOK_NAME, TOK_UNAME, TOK_OTHER };

struct token {
	enum tok_kind kind;
	char w[MAXWORD + 1]; /* upper case; empty when too long or no word */
};

static bool is_word_start(char ch)
{
	return dbr_sqllex_word_char(ch) && ch != '$' &&
	       !(ch >= '0' && ch <= '9');
}

/*
 * Read a quoted identifier that opens at p into w (upper case, a doubled
 * quote as one; empty when too long); returns its end.
 */
static const char *read_quoted_name(const char *p, char w[MAXWORD + 1])
{
	size_t n = 0;

	for (p++; *p && (*p != '"' || p[1] == '"'); p++) {
		if (*p == '"')
			p++;
		if (n < MAXWORD + 1)
			w[n++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	}
	w[n > MAXWORD ? 0 : n] = '\0';
	return *p ? p + 1 : p;
}

/* A number: digits and a point, then an exponent. Letters after it are
 * the next token (PostgreSQL before 15 reads "1into" as 1 INTO). */
static const char *skip_number(const char *p)
{
	while ((*p >= '0' && *p <= '9') || *p == '.')
		p++;
	if ((*p == 'e' || *p == 'E') &&
	    ((p[1] >= '0' && p[1] <= '9') ||
	     ((p[1] == '+' || p[1] == '-') && p[2] >= '0' && p[2] <= '9')))
		for (p += 2; *p >= '0' && *p <= '9'; p++)
			;
	return p;
}

/*
 * Read the next token after r->p into t. `backslash`: a backslash escapes
 * in plain string literals too (standard_conforming_strings off).
 */
static void next_token(struct reader *r, struct token *t, bool backslash)
{
	const char *p, *end;

	skip_space(r, false);
	p = r->p;
	t->kind = TOK_OTHER;
	t->w[0] = *p;
	t->w[1] = '\0';
	if (!*p) {
		t->kind = TOK_END;
	} else if (*p == '\'') {
		r->p = dbr_sqllex_skip_quoted(p, '\'', backslash, NULL);
		t->w[0] = '\0';
	} else if (*p == '"') {
		r->p = read_quoted_name(p, t->w);
		t->kind = TOK_NAME;
	} else if (*p == '$' &&
		   (end = dbr_sqllex_skip_dollar(p, NULL)) != NULL) {
		r->p = end;
		t->w[0] = '\0';
	} else if ((*p >= '0' && *p <= '9') ||
		   (*p == '.' && p[1] >= '0' && p[1] <= '9')) {
		r->p = skip_number(p);
		t->w[0] = '\0';
	} else if (is_word_start(*p)) {
		end = read_word(p, t->w);
		t->kind = TOK_WORD;
		if (end - p == 1 && *end == '\'') {
			/* E'x', B'x', X'x', N'x': a literal. */
			r->p = dbr_sqllex_skip_quoted(
				end, '\'', backslash || *p == 'e' || *p == 'E',
				NULL);
			t->kind = TOK_OTHER;
			t->w[0] = '\0';
		} else if (end - p == 1 && (*p == 'u' || *p == 'U') &&
			   end[0] == '&' && (end[1] == '\'' || end[1] == '"')) {
			/* U&'x' is a literal; U&"x" a name that may spell any
			 * name with its escapes. */
			t->kind = end[1] == '"' ? TOK_UNAME : TOK_OTHER;
			r->p = end[1] == '"'
				       ? read_quoted_name(end + 1, t->w)
				       : dbr_sqllex_skip_quoted(end + 1, '\'',
								backslash,
								NULL);
			t->w[0] = '\0';
		} else {
			r->p = end;
		}
	} else {
		r->p = p + 1;
	}
}

static bool is_in(const char *w, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(w, *list))
			return true;
	return false;
}

/* PG_TEMP_ followed by digits only: another backend's temporary schema. */
static bool is_temp_schema(const char *w)
{
	if (strncmp(w, "PG_TEMP_", 8) || !w[8])
		return false;
	for (w += 8; *w; w++)
		if (*w < '0' || *w > '9')
			return false;
	return true;
}

/*
 * Names that may leave session state wherever they stand in the code: the
 * session settings, the temporary schema, session advisory locks (not the
 * _xact_ forms), the built-ins that run a query given as text (whose text
 * can hide anything), and dblink's functions.
 */
static bool is_state_name(const char *w)
{
	static const char *const names[] = { "SET_CONFIG",
					     "PG_SETTINGS",
					     "PG_TEMP",
					     "PG_ADVISORY_LOCK",
					     "PG_ADVISORY_LOCK_SHARED",
					     "PG_TRY_ADVISORY_LOCK",
					     "PG_TRY_ADVISORY_LOCK_SHARED",
					     "QUERY_TO_XML",
					     "QUERY_TO_XMLSCHEMA",
					     "QUERY_TO_XML_AND_XMLSCHEMA",
					     "TS_STAT",
					     "TS_REWRITE",
					     "DBLINK",
					     NULL };

	return is_in(w, names) || is_temp_schema(w) ||
	       !strncmp(w, "DBLINK_", 7);
}

/*
 * TEMP or TEMPORARY makes a temporary object after CREATE, GLOBAL,
 * LOCAL, OR REPLACE, or an INTO that is not INSERT's or MERGE's (p1 the
 * token before it, p2 the one before that). Elsewhere it is a name.
 */
static bool makes_temp(const struct token *t, const struct token *p1,
		       const struct token *p2)
{
	static const char *const before[] = { "CREATE", "GLOBAL", "LOCAL",
					      "REPLACE", NULL };

	if (t->kind != TOK_WORD ||
	    (strcmp(t->w, "TEMP") && strcmp(t->w, "TEMPORARY")) ||
	    p1->kind != TOK_WORD)
		return false;
	if (is_in(p1->w, before))
		return true;
	return !strcmp(p1->w, "INTO") &&
	       !(p2->kind == TOK_WORD &&
		 (!strcmp(p2->w, "INSERT") || !strcmp(p2->w, "MERGE")));
}

/* One scan of the text (see dbr_sqlguard_may_leave_state). */
static bool scan_leaves_state(const char *sql, bool backslash)
{
	static const char *const first[] = { "DO", "CALL", "LISTEN", NULL };
	struct reader r = { sql, DBR_SQLGUARD_POSTGRES };
	struct token t[3] = { { TOK_OTHER, "" }, { TOK_OTHER, "" } };
	bool at_start = true; /* the next word begins a statement */
	size_t i = 0;

	for (;;) {
		i = (i + 1) % 3;
		next_token(&r, &t[i], backslash);
		if (t[i].kind == TOK_END)
			return false;
		if (t[i].kind == TOK_UNAME)
			return true;
		if (at_start && t[i].kind == TOK_WORD && is_in(t[i].w, first))
			return true;
		if ((t[i].kind == TOK_WORD || t[i].kind == TOK_NAME) &&
		    is_state_name(t[i].w))
			return true;
		if (makes_temp(&t[i], &t[(i + 2) % 3], &t[(i + 1) % 3]))
			return true;
		at_start = t[i].kind == TOK_OTHER &&
			   (!strcmp(t[i].w, ";") ||
			    (at_start && !strcmp(t[i].w, "(")));
	}
}

/*
 * Scanned twice: with standard_conforming_strings on (the default, a
 * backslash is an ordinary character in 'x') and off (it escapes), so
 * that a server with either setting cannot see code where the scan saw a
 * literal.
 */
bool dbr_sqlguard_may_leave_state(const char *sql,
				  enum dbr_sqlguard_dialect dialect)
{
	if (!sql || dialect != DBR_SQLGUARD_POSTGRES)
		return false;
	return scan_leaves_state(sql, false) || scan_leaves_state(sql, true);
}
