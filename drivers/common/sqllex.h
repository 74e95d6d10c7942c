/*
 * sqllex.h - the one SQL lexer of the SQL drivers and the core: which
 * characters make a word, where a quoted run, a block comment or a dollar
 * quote ends, and the token at a position of a text, read by the rules of
 * a lexical dialect (a set of flags, never a driver's name).
 *
 * Used by the placeholder translator (sqlscan.c), the statement splitter
 * (sqlsplit.c) and the statement guard (sqlguard.c); compiled into each
 * plugin and into the library; C library and the driver header only.
 */
#ifndef DBR_SQLLEX_H
#define DBR_SQLLEX_H

#include <stdbool.h>
#include <stdint.h>

#include "dbroute_driver.h"

/*
 * A lexical dialect: the driver ABI's enum dbr_lex_flags, bit for bit (a
 * driver declares its dialect in lex_flags), under the lexer's names.
 */
enum dbr_sqllex_flags {
	/* $$ ... $$ and $tag$ ... $tag$ strings (PostgreSQL). */
	DBR_SQLLEX_DOLLAR_QUOTES = DBR_LEX_DOLLAR_QUOTES,
	/* E'...' strings take backslash escapes (PostgreSQL). */
	DBR_SQLLEX_E_STRINGS = DBR_LEX_E_STRINGS,
	/* Backslash escapes in every '...' and "..." (MySQL). */
	DBR_SQLLEX_BACKSLASH_ESCAPES = DBR_LEX_BACKSLASH_ESCAPES,
	/* # comments to the end of the line (MySQL). */
	DBR_SQLLEX_HASH_COMMENTS = DBR_LEX_HASH_COMMENTS,
	/* `quoted` identifiers, `` for a backtick (MySQL, SQLite). */
	DBR_SQLLEX_BACKTICK_IDS = DBR_LEX_BACKTICK_IDS,
	/* CREATE TRIGGER ... BEGIN ...; END is one statement (SQLite). */
	DBR_SQLLEX_TRIGGER_BODIES = DBR_LEX_TRIGGER_BODIES,
	/* Block comments nest (PostgreSQL, the SQL standard). */
	DBR_SQLLEX_NESTED_COMMENTS = DBR_LEX_NESTED_COMMENTS,
	/* [quoted] identifiers (SQLite; in PostgreSQL [ is a subscript). */
	DBR_SQLLEX_BRACKET_IDS = DBR_LEX_BRACKET_IDS,
	/* -- opens a comment only before a blank or a control character,
	 * the end of the text included (MySQL: 2--1 is 2 - -1). */
	DBR_SQLLEX_DASH_NEEDS_BLANK = DBR_LEX_DASH_NEEDS_BLANK
};

/* PostgreSQL's dialect. */
#define DBR_SQLLEX_POSTGRES                                                    \
	(DBR_SQLLEX_DOLLAR_QUOTES | DBR_SQLLEX_E_STRINGS |                     \
	 DBR_SQLLEX_NESTED_COMMENTS)
/* SQLite's dialect. */
#define DBR_SQLLEX_SQLITE                                                      \
	(DBR_SQLLEX_TRIGGER_BODIES | DBR_SQLLEX_BACKTICK_IDS |                 \
	 DBR_SQLLEX_BRACKET_IDS)

enum dbr_sqllex_kind {
	DBR_SQLLEX_END,	    /* the end of the text (an empty token) */
	DBR_SQLLEX_BLANK,   /* a run of blanks */
	DBR_SQLLEX_COMMENT, /* a line comment (not its newline), a block one */
	DBR_SQLLEX_STRING,  /* '...', E'...', a dollar-quoted string */
	DBR_SQLLEX_QUOTED,  /* a quoted identifier: "...", `...`, [...] */
	DBR_SQLLEX_WORD, /* a run of word characters (dbr_sqllex_word_char) */
	DBR_SQLLEX_OTHER /* any other character, alone */
};

/* What opens an unterminated token. */
enum dbr_sqllex_open {
	DBR_SQLLEX_CLOSED = 0,
	DBR_SQLLEX_OPEN_QUOTE,	 /* a string literal */
	DBR_SQLLEX_OPEN_IDENT,	 /* a quoted identifier */
	DBR_SQLLEX_OPEN_COMMENT, /* a block comment */
	DBR_SQLLEX_OPEN_DOLLAR	 /* a dollar-quoted string */
};

struct dbr_sqllex_token {
	enum dbr_sqllex_kind kind;
	const char *start; /* the first byte */
	const char *end;   /* after the last byte (the end of the text for an
			      unterminated token) */
	enum dbr_sqllex_open open; /* the token runs to the end unclosed */
};

/* A character of a word or identifier (bytes of UTF-8 included). */
static inline bool dbr_sqllex_word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '$' ||
	       (unsigned char)c >= 0x80;
}

static inline bool dbr_sqllex_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

/* A -- comment opens at s under `flags`. */
static inline bool dbr_sqllex_dash_comment(const char *s, uint32_t flags)
{
	return s[0] == '-' && s[1] == '-' &&
	       (!(flags & DBR_SQLLEX_DASH_NEEDS_BLANK) ||
		(unsigned char)s[2] <= ' ' || s[2] == 0x7f);
}

/*
 * The end of a quoted run that opens at s (on the quote q): a doubled
 * quote stands for itself and, with `backslash`, a backslash escapes the
 * next character. An unterminated one runs to the end, and sets *open
 * when open is not NULL.
 */
const char *dbr_sqllex_skip_quoted(const char *s, char q, bool backslash,
				   bool *open);

/*
 * The end of a block comment that opens at s (on its slash); `nested`:
 * comments nest (PostgreSQL), or not (SQLite). An unterminated one runs
 * to the end, and sets *open when open is not NULL.
 */
const char *dbr_sqllex_skip_block_comment(const char *s, bool nested,
					  bool *open);

/*
 * A dollar quote that opens at s ($$ or $tag$): its end, after the closing
 * delimiter (or the end of the text, setting *open when open is not
 * NULL); NULL when s opens none ($1 is a numbered parameter, not a quote).
 */
const char *dbr_sqllex_skip_dollar(const char *s, bool *open);

/*
 * The token that starts at s, a position inside the NUL-terminated text
 * that starts at sql (the character before s decides whether an E prefix
 * or a dollar quote opens there), read by the rules of `flags` (enum
 * dbr_sqllex_flags): blanks; -- comments (only before a blank when
 * asked; and # ones) to the end of the line; block comments; '...'
 * strings with '' inside (and backslash escapes after an E prefix, or
 * everywhere); "..." identifiers with ""
 * inside (`...`, [...] when enabled); dollar-quoted strings; words; any
 * other character alone. A token is never empty unless it is the end.
 */
void dbr_sqllex_next(const char *sql, const char *s, uint32_t flags,
		     struct dbr_sqllex_token *t);

#endif /* DBR_SQLLEX_H */
