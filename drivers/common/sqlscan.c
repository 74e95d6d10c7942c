/*
 * sqlscan.c - translating `?` placeholders (or `:name` ones) outside
 * quotes and comments, read by the shared lexer (sqllex.h) in the
 * driver's dialect.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqllex.h"
#include "sqlscan.h"
#include "sqlsplit.h"

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
static size_t foreign_param(const char *sql, const char *s, uint32_t flags,
			    int brackets)
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
	if (!ident_start(s[1]) ||
	    (*s == '$' && (flags & DBR_SQLLEX_DOLLAR_QUOTES) &&
	     dbr_sqllex_skip_dollar(s, NULL)))
		return 0;
	while (dbr_sqllex_word_char(s[n]) && s[n] != '$')
		n++;
	return n;
}

/* The first token after s that is no blank or comment. */
static const char *skip_blanks(const char *sql, const char *s, uint32_t flags)
{
	struct dbr_sqllex_token t;

	for (;;) {
		dbr_sqllex_next(sql, s, flags, &t);
		if (t.kind != DBR_SQLLEX_BLANK && t.kind != DBR_SQLLEX_COMMENT)
			return s;
		s = t.end;
	}
}

/* The placeholder's number or `?` as flags ask, appended. */
static void put_param(struct out *o, uint32_t flags, size_t n)
{
	char num[24];

	if (flags & DBR_SQLSCAN_QMARK) {
		put(o, "?", 1);
		return;
	}
	snprintf(num, sizeof(num), "$%zu", n);
	put(o, num, strlen(num));
}

/* A named placeholder's name (len bytes at `at` of sql) appended. */
static void add_name(struct out *o, struct dbr_sqlnames *names, size_t at,
		     size_t len)
{
	struct dbr_sqlname *v;

	if (o->nomem)
		return;
	if (names->n == names->cap) {
		size_t cap = names->cap ? names->cap * 2 : 8;

		v = realloc(names->v, cap * sizeof(*v));
		if (!v) {
			o->nomem = true;
			return;
		}
		names->v = v;
		names->cap = cap;
	}
	names->v[names->n].at = at;
	names->v[names->n++].len = len;
}

/* dbr_sqlscan(), and with names dbr_sqlscan_named(). */
static int scan(const char *sql, uint32_t flags, struct dbr_sqlbuf *b,
		struct dbr_sqlscan *info, struct dbr_sqlnames *names)
{
	struct out o = { b, 0, false };
	struct dbr_sqllex_token t;
	struct dbr_sqlsplit_state st = { 0 };
	const char *s = sql, *run = sql;
	int brackets = 0;
	size_t n;

	memset(info, 0, sizeof(*info));
	put(&o, "", 0);
	for (; *s; s = t.end) {
		dbr_sqllex_next(sql, s, flags, &t);
		if (t.kind == DBR_SQLLEX_BLANK || t.kind == DBR_SQLLEX_COMMENT)
			continue;
		if (dbr_sqlsplit_ends(&st, &t, flags, 0)) {
			t.end = skip_blanks(sql, s + 1, flags);
			if (*t.end)
				info->trailing = t.end;
			break;
		}
		if (t.kind != DBR_SQLLEX_WORD && t.kind != DBR_SQLLEX_OTHER)
			continue;
		n = foreign_param(sql, s, flags, brackets);
		if (names && n && *s == ':') {
			put(&o, run, (size_t)(s - run));
			put_param(&o, flags, ++info->nparams);
			add_name(&o, names, (size_t)(s + 1 - sql), n - 1);
			run = t.end = s + n;
			continue;
		}
		if (!info->refused && n) {
			info->refused = s;
			info->refused_len = n;
		}
		if (names && *s == '?') {
			/* `??` stays for the driver; a lone `?` is mixed. */
			if (s[1] == '?')
				t.end = s + 2;
			else if (!info->mixed)
				info->mixed = s;
		} else if (*s == '[' || *s == ']') {
			brackets += *s == '[' ? 1 : -1;
		} else if (*s == '?') {
			put(&o, run, (size_t)(s - run));
			if (s[1] == '?') {
				put(&o, "?", 1);
				t.end = s + 2;
			} else {
				put_param(&o, flags, ++info->nparams);
			}
			run = t.end;
		}
	}
	put(&o, run, (size_t)(s - run));
	return o.nomem ? -1 : 0;
}

int dbr_sqlscan(const char *sql, uint32_t flags, struct dbr_sqlbuf *b,
		struct dbr_sqlscan *info)
{
	return scan(sql, flags, b, info, NULL);
}

int dbr_sqlscan_named(const char *sql, uint32_t flags, struct dbr_sqlbuf *b,
		      struct dbr_sqlscan *info, struct dbr_sqlnames *names)
{
	names->n = 0;
	return scan(sql, flags, b, info, names);
}

void dbr_sqlbuf_free(struct dbr_sqlbuf *b)
{
	free(b->buf);
	b->buf = NULL;
	b->cap = 0;
}
