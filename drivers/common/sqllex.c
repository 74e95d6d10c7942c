/*
 * sqllex.c - the SQL lexer every SQL scanner shares (see sqllex.h).
 *
 * PostgreSQL's rules are followed where dialects differ and no flag says
 * otherwise: a dollar quote or an E prefix opens only where no word
 * character comes just before ("a$$b" and "note'x'" are a word and a
 * string), and a dollar quote's tag is a word without '$' that does not
 * begin with a digit ($1 is a parameter).
 */
#include <string.h>

#include "sqllex.h"

const char *dbr_sqllex_skip_quoted(const char *s, char q, bool backslash,
				   bool *open)
{
	for (s++; *s; s++) {
		if (backslash && *s == '\\' && s[1]) {
			s++;
		} else if (*s == q) {
			if (s[1] != q)
				return s + 1;
			s++;
		}
	}
	if (open)
		*open = true;
	return s;
}

const char *dbr_sqllex_skip_block_comment(const char *s, bool nested,
					  bool *open)
{
	unsigned depth = 1;

	for (s += 2; *s && depth;) {
		if (s[0] == '*' && s[1] == '/') {
			depth--;
			s += 2;
		} else if (nested && s[0] == '/' && s[1] == '*') {
			depth++;
			s += 2;
		} else {
			s++;
		}
	}
	if (depth && open)
		*open = true;
	return s;
}

const char *dbr_sqllex_skip_dollar(const char *s, bool *open)
{
	const char *t = s + 1, *end;
	size_t taglen;

	if (*t >= '0' && *t <= '9')
		return NULL;
	while (*t && *t != '$' && dbr_sqllex_word_char(*t))
		t++;
	if (*t != '$')
		return NULL;
	taglen = (size_t)(t - s) + 1;
	for (end = t + 1; (end = strchr(end, '$')) != NULL; end++)
		if (!strncmp(end, s, taglen))
			return end + taglen;
	if (open)
		*open = true;
	return s + strlen(s);
}

/* An E'...' string opens at s (on its quote). */
static bool e_prefix(const char *sql, const char *s)
{
	return s > sql && (s[-1] == 'E' || s[-1] == 'e') &&
	       !(s - 1 > sql && dbr_sqllex_word_char(s[-2]));
}

/* A quoted token at s, or false when s opens none under `flags`. */
static bool quoted(const char *sql, const char *s, uint32_t flags,
		   struct dbr_sqllex_token *t)
{
	bool bs = (flags & DBR_SQLLEX_BACKSLASH_ESCAPES) != 0, open = false;

	if (*s == '\'') {
		t->kind = DBR_SQLLEX_STRING;
		if ((flags & DBR_SQLLEX_E_STRINGS) && e_prefix(sql, s))
			bs = true;
		t->end = dbr_sqllex_skip_quoted(s, '\'', bs, &open);
	} else if (*s == '"') {
		t->kind = DBR_SQLLEX_QUOTED;
		t->end = dbr_sqllex_skip_quoted(s, '"', bs, &open);
	} else if (*s == '`' && (flags & DBR_SQLLEX_BACKTICK_IDS)) {
		t->kind = DBR_SQLLEX_QUOTED;
		t->end = dbr_sqllex_skip_quoted(s, '`', false, &open);
	} else if (*s == '[' && (flags & DBR_SQLLEX_BRACKET_IDS)) {
		t->kind = DBR_SQLLEX_QUOTED;
		t->end = strchr(s, ']');
		open = !t->end;
		t->end = open ? s + strlen(s) : t->end + 1;
	} else {
		return false;
	}
	if (open)
		t->open = t->kind == DBR_SQLLEX_STRING ? DBR_SQLLEX_OPEN_QUOTE
						       : DBR_SQLLEX_OPEN_IDENT;
	return true;
}

/* A comment or a dollar quote at s, or false when s opens none. */
static bool comment_or_dollar(const char *sql, const char *s, uint32_t flags,
			      struct dbr_sqllex_token *t)
{
	bool open = false;

	if (dbr_sqllex_dash_comment(s, flags) ||
	    (*s == '#' && (flags & DBR_SQLLEX_HASH_COMMENTS))) {
		t->kind = DBR_SQLLEX_COMMENT;
		t->end = s + strcspn(s, "\n");
	} else if (s[0] == '/' && s[1] == '*') {
		t->kind = DBR_SQLLEX_COMMENT;
		t->end = dbr_sqllex_skip_block_comment(
			s, (flags & DBR_SQLLEX_NESTED_COMMENTS) != 0, &open);
		if (open)
			t->open = DBR_SQLLEX_OPEN_COMMENT;
	} else if (*s == '$' && (flags & DBR_SQLLEX_DOLLAR_QUOTES) &&
		   !(s > sql && dbr_sqllex_word_char(s[-1])) &&
		   (t->end = dbr_sqllex_skip_dollar(s, &open)) != NULL) {
		t->kind = DBR_SQLLEX_STRING;
		if (open)
			t->open = DBR_SQLLEX_OPEN_DOLLAR;
	} else {
		return false;
	}
	return true;
}

void dbr_sqllex_next(const char *sql, const char *s, uint32_t flags,
		     struct dbr_sqllex_token *t)
{
	const char *p = s;

	t->start = s;
	t->open = DBR_SQLLEX_CLOSED;
	if (!*s) {
		t->kind = DBR_SQLLEX_END;
		t->end = s;
	} else if (dbr_sqllex_blank(*s)) {
		while (dbr_sqllex_blank(*p))
			p++;
		t->kind = DBR_SQLLEX_BLANK;
		t->end = p;
	} else if (quoted(sql, s, flags, t) ||
		   comment_or_dollar(sql, s, flags, t)) {
		return;
	} else if (dbr_sqllex_word_char(*s)) {
		while (dbr_sqllex_word_char(*p))
			p++;
		t->kind = DBR_SQLLEX_WORD;
		t->end = p;
	} else {
		t->kind = DBR_SQLLEX_OTHER;
		t->end = s + 1;
	}
}
