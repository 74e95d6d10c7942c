/*
 * sqllex.h - the lexical pieces of SQL text every scanner of the SQL
 * drivers needs: which characters make a word, and where a quoted run, a
 * block comment or a dollar quote ends. Shared by the placeholder
 * translator (sqlscan.c) and the statement guard (sqlguard.c); C library
 * only.
 */
#ifndef DBR_SQLLEX_H
#define DBR_SQLLEX_H

#include <stdbool.h>
#include <string.h>

/* A character of a word or identifier (bytes of UTF-8 included). */
static inline bool dbr_sqllex_word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '$' ||
	       (unsigned char)c >= 0x80;
}

/*
 * The end of a quoted run that opens at s (on the quote q): a doubled
 * quote stands for itself and, with `backslash`, a backslash escapes the
 * next character. An unterminated one runs to the end.
 */
static inline const char *dbr_sqllex_skip_quoted(const char *s, char q,
						 bool backslash)
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
	return s;
}

/*
 * The end of a block comment that opens at s (on its slash); `nested`:
 * comments nest (PostgreSQL), or not (SQLite). An unterminated one runs
 * to the end.
 */
static inline const char *dbr_sqllex_skip_block_comment(const char *s,
							bool nested)
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
	return s;
}

/*
 * A dollar quote that opens at s ($$ or $tag$): its end, after the closing
 * delimiter (or the end of the text); NULL when s opens none ($1 is a
 * numbered parameter, not a quote).
 */
static inline const char *dbr_sqllex_skip_dollar(const char *s)
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
	return s + strlen(s);
}

#endif /* DBR_SQLLEX_H */
