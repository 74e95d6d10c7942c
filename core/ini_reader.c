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

#include "internal.h"
#include "ini_reader.h"

/*
 * The longest raw line kept whole. Key lines are held to inih's shorter
 * limit; longer lines are read to their end without being kept, so
 * memory stays bounded whatever the file holds.
 */
#define KEEP_MAX 4096

struct reader {
	FILE *f;
	char *buf; /* KEEP_MAX + 1 bytes */
	int line;
	bool not_text;	      /* reading stopped at a byte no text file holds */
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

/*
 * Decide what inih gets for the raw line in r->buf: len bytes long, of
 * which the first KEEP_MAX at most are kept, without its '\n'.
 */
static const char *classify(struct reader *r, size_t len, int num)
{
	char *s = r->buf;
	size_t kept = len < KEEP_MAX ? len : KEEP_MAX;

	if (r->line == 1 && kept >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) {
		s += 3;
		len -= 3;
		kept -= 3;
	}
	while (kept == len && len && s[len - 1] == '\r') {
		s[--len] = '\0';
		kept--;
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
	if (kept < len || (*s != '[' && len >= (size_t)num)) {
		dbr__diag_add(r->diags, r->line,
			      "line is too long (%zu bytes; the limit is %d)",
			      len, num - 1);
		refused_key(r, s);
		return "";
	}
	if (*s == '[') {
		header(r, s);
		return "";
	}
	r->pending_key_line = r->line;
	return s;
}

/* Bytes no text file holds: NUL and the control characters but tab,
 * line feed, vertical tab, form feed, carriage return and escape. */
static bool is_binary(int c)
{
	return c < 0x20 && c != '\t' && c != '\n' && c != '\v' && c != '\f' &&
	       c != '\r' && c != 0x1b;
}

/*
 * Read one line into r->buf, keeping at most KEEP_MAX bytes of it; *len
 * is its whole length without the '\n'. Returns false at the end of the
 * file, on a read error, and at a byte no text file holds: then the file
 * is refused at this line and not read further.
 */
static bool next_line(struct reader *r, size_t *len)
{
	size_t n = 0;
	int c;

	flockfile(r->f);
	while ((c = getc_unlocked(r->f)) != EOF && c != '\n') {
		if (is_binary(c))
			break;
		if (n < KEEP_MAX)
			r->buf[n] = (char)c;
		n++;
	}
	funlockfile(r->f);
	if (c == EOF && !n)
		return false;
	r->line++;
	r->buf[n < KEEP_MAX ? n : KEEP_MAX] = '\0';
	r->not_text = c != EOF && c != '\n';
	if (c == '\0') {
		dbr__diag_add(r->diags, r->line,
			      "line contains a NUL byte: not a text file; "
			      "reading stopped here");
		return false;
	}
	if (c != EOF && c != '\n') {
		dbr__diag_add(r->diags, r->line,
			      "line contains the control character 0x%02x: "
			      "not a text file; reading stopped here",
			      (unsigned)c);
		return false;
	}
	*len = n;
	return true;
}

static char *read_line(char *str, int num, void *stream)
{
	struct reader *r = stream;
	const char *text;
	size_t n;

	check_handled(r);
	if (!r->buf && !(r->buf = dbr__malloc(KEEP_MAX + 1))) {
		r->diags->nomem = true;
		return NULL;
	}
	if (!next_line(r, &n))
		return NULL;
	text = classify(r, n, num);
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
	dbr__free(r.buf);
	if (ferror(f))
		dbr__diag_add(diags, r.line + 1, "read error");
	return r.not_text ? -1 : r.line;
}
