/*
 * ini_reader.c - the raw-line reader given to inih's ini_parse_stream().
 *
 * Debian's inih is built without line numbers in its handler, without
 * section callbacks, with a 200-byte line buffer and with multi-line
 * continuation on. So this reader sees each raw line first, counts it,
 * reports section headers itself, and hands inih only key lines it can
 * take whole: anything else (blank, comment, header, or a line with a
 * problem) reaches inih as an empty line.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "ini_reader.h"

struct reader {
	FILE *f;
	char *buf;
	size_t cap;
	int line;
	int pending_key_line; /* a key line handed to inih, not yet handled */
	const struct dbr__ini_events *ev;
	void *ud;
	struct dbr__diags *diags;
};

static void check_handled(struct reader *r)
{
	if (r->pending_key_line)
		dbr__diag_add(r->diags, r->pending_key_line,
			      "expected 'key = value', '[section]' or a "
			      "comment");
	r->pending_key_line = 0;
}

static bool is_blank(int c)
{
	return c == ' ' || c == '\t';
}

/* Handle "[name]" (with an optional comment after it). */
static void header(struct reader *r, char *s)
{
	char *end = strchr(s, ']');
	char *name = s + 1, *p;

	if (!end) {
		dbr__diag_add(r->diags, r->line,
			      "section header without closing ']'");
		return;
	}
	for (p = end + 1; is_blank(*p); p++)
		;
	if (*p && *p != ';' && *p != '#') {
		dbr__diag_add(r->diags, r->line,
			      "text after section header: '%s'", p);
		return;
	}
	while (is_blank(*name))
		name++;
	while (end > name && is_blank(end[-1]))
		end--;
	*end = '\0';
	r->ev->section(r->ud, name, r->line);
}

/* Report the key of a refused "key = value" line, without its value. */
static void refused_key(struct reader *r, char *s)
{
	size_t n = strcspn(s, "=:");

	if (!s[n] || n > 64)
		return;
	while (n && is_blank(s[n - 1]))
		n--;
	s[n] = '\0';
	if (n)
		r->ev->key(r->ud, s, NULL, r->line);
}

/* Decide what inih gets for the raw line in r->buf (len bytes). */
static const char *classify(struct reader *r, size_t len, int num)
{
	char *s = r->buf;

	if (r->line == 1 && len >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) {
		s += 3;
		len -= 3;
	}
	while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		s[--len] = '\0';
	if (strlen(s) != len) {
		dbr__diag_add(r->diags, r->line, "line contains a NUL byte");
		return "";
	}
	if (!*s || *s == ';' || *s == '#')
		return "";
	if (is_blank(*s)) {
		while (is_blank(*s))
			s++;
		if (*s && *s != ';' && *s != '#')
			dbr__diag_add(r->diags, r->line,
				      "indented line: INI would join it to the "
				      "previous value as a continuation line, "
				      "which dbroute does not accept; remove "
				      "the indentation");
		return "";
	}
	if (*s == '[') {
		header(r, s);
		return "";
	}
	if (len >= (size_t)num) {
		dbr__diag_add(r->diags, r->line,
			      "line is too long (%zu bytes; the limit is %d)",
			      len, num - 1);
		refused_key(r, s);
		return "";
	}
	r->pending_key_line = r->line;
	return s;
}

static char *read_line(char *str, int num, void *stream)
{
	struct reader *r = stream;
	ssize_t n;
	const char *text;

	check_handled(r);
	n = getline(&r->buf, &r->cap, r->f);
	if (n < 0)
		return NULL;
	r->line++;
	text = classify(r, (size_t)n, num);
	/* classify() keeps key lines under num bytes. */
	memcpy(str, text, strlen(text) + 1);
	return str;
}

static int on_key(void *user, const char *section, const char *name,
		  const char *value)
{
	struct reader *r = user;

	(void)section;
	r->pending_key_line = 0;
	r->ev->key(r->ud, name, value, r->line);
	return 1;
}

int dbr__ini_read(FILE *f, const struct dbr__ini_events *ev, void *ud,
		  struct dbr__diags *diags)
{
	struct reader r = { 0 };

	r.f = f;
	r.ev = ev;
	r.ud = ud;
	r.diags = diags;
	ini_parse_stream(read_line, &r, on_key, &r);
	check_handled(&r);
	free(r.buf);
	if (ferror(f))
		dbr__diag_add(diags, r.line + 1, "read error");
	return r.line;
}
