/*
 * sqlscan.c - translating `?` placeholders outside quotes and comments.
 *
 * The lexical rules are PostgreSQL's: '...' strings with '' inside (and
 * backslash escapes after an E prefix), "..." identifiers with "", $tag$
 * dollar quotes, -- line comments and nested block comments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqllex.h"
#include "sqlscan.h"

struct out {
	struct dbr_sqlbuf *b;
	size_t len;
	bool nomem;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->nomem)
		return;
	if (o->len + n + 1 > o->b->cap) {
		size_t cap = o->b->cap ? o->b->cap : 256;
		char *p;

		while (cap < o->len + n + 1)
			cap *= 2;
		p = realloc(o->b->buf, cap);
		if (!p) {
			o->nomem = true;
			return;
		}
		o->b->buf = p;
		o->b->cap = cap;
	}
	memcpy(o->b->buf + o->len, s, n);
	o->len += n;
	o->b->buf[o->len] = '\0';
}

/* The length of a blank-or-comment run at s. */
static const char *skip_blanks(const char *s)
{
	for (;;) {
		if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' ||
		    *s == '\f' || *s == '\v')
			s++;
		else if (s[0] == '-' && s[1] == '-')
			s += strcspn(s, "\n");
		else if (s[0] == '/' && s[1] == '*')
			s = dbr_sqllex_skip_block_comment(s, true);
		else
			return s;
	}
}

static bool ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (unsigned char)c >= 0x80;
}

/*
 * The length of a placeholder in another syntax at s, or 0: ?NNN, $n, and
 * :name, @name or $name where the sign is not part of an operator (@>,
 * <@), a cast (::) or an array slice (a[1:n]).
 */
static size_t foreign_param(const char *sql, const char *s, int brackets)
{
	char prev = s > sql ? s[-1] : ' ';
	size_t n = 1;

	if (*s == '?' || *s == '$') {
		if (*s == '$' && dbr_sqllex_word_char(prev))
			return 0;
		while (s[n] >= '0' && s[n] <= '9')
			n++;
		if (n > 1 || *s == '?')
			return n > 1 ? n : 0;
	} else if (*s == ':') {
		if (brackets > 0 || prev == ':' || s[1] == ':')
			return 0;
	} else if (*s == '@') {
		if (prev && strchr("+-*/<>=~!@#%^&|`?", prev))
			return 0;
	} else {
		return 0;
	}
	if (!ident_start(s[1]) || (*s == '$' && dbr_sqllex_skip_dollar(s)))
		return 0;
	while (dbr_sqllex_word_char(s[n]) && s[n] != '$')
		n++;
	return n;
}

int dbr_sqlscan(const char *sql, struct dbr_sqlbuf *b, struct dbr_sqlscan *info)
{
	struct out o = { b, 0, false };
	const char *s = sql, *run = sql, *end;
	char num[24];
	int brackets = 0;

	info->nparams = 0;
	info->trailing = NULL;
	info->refused = NULL;
	info->refused_len = 0;
	put(&o, "", 0);
	while (*s) {
		bool after_ident = s > sql && dbr_sqllex_word_char(s[-1]);
		size_t n;

		if (!info->refused && (n = foreign_param(sql, s, brackets))) {
			info->refused = s;
			info->refused_len = n;
		}
		if (*s == '[' || *s == ']')
			brackets += *s == '[' ? 1 : -1;
		if (*s == '\'') {
			bool e = s > sql && (s[-1] == 'E' || s[-1] == 'e') &&
				 !(s - 1 > sql && dbr_sqllex_word_char(s[-2]));
			s = dbr_sqllex_skip_quoted(s, '\'', e);
		} else if (*s == '"') {
			s = dbr_sqllex_skip_quoted(s, '"', false);
		} else if (*s == '$' && !after_ident &&
			   (end = dbr_sqllex_skip_dollar(s))) {
			s = end;
		} else if (s[0] == '-' && s[1] == '-') {
			s += strcspn(s, "\n");
		} else if (s[0] == '/' && s[1] == '*') {
			s = dbr_sqllex_skip_block_comment(s, true);
		} else if (*s == '?') {
			put(&o, run, (size_t)(s - run));
			if (s[1] == '?') {
				put(&o, "?", 1);
				s += 2;
			} else {
				snprintf(num, sizeof(num), "$%zu",
					 ++info->nparams);
				put(&o, num, strlen(num));
				s++;
			}
			run = s;
		} else if (*s == ';') {
			end = skip_blanks(s + 1);
			if (*end)
				info->trailing = end;
			break;
		} else {
			s++;
		}
	}
	put(&o, run, (size_t)(s - run));
	return o.nomem ? -1 : 0;
}

void dbr_sqlbuf_free(struct dbr_sqlbuf *b)
{
	free(b->buf);
	b->buf = NULL;
	b->cap = 0;
}
