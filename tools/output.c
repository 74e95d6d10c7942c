/*
 * output.c - result rows as PostgreSQL COPY text (the default), CSV or
 * JSON, and messages on stderr. Every format is valid for every value:
 *
 *   text  COPY text: \N for NULL; backslash, tab, newline, carriage
 *         return, backspace, form feed and vertical tab as \\ \t \n \r
 *         \b \f \v, every other control character as \xHH; a blob as
 *         PostgreSQL prints bytea, \\x and hex (COPY's own escape of the
 *         backslash of "\x"); other bytes as stored.
 *   csv   RFC 4180 quoting (lines end with LF): a field is quoted when it
 *         is empty text or holds a comma, a quote or a control character,
 *         a quote doubled; NULL is an empty unquoted field; a blob is \x
 *         and hex; other bytes as stored.
 *   json  one array of objects, one per row, keyed by column name; a
 *         double always has a '.' or an exponent, NaN and infinities are
 *         the strings "NaN", "Infinity" and "-Infinity"; a blob is
 *         {"$base64": "..."}; text is a string with control characters
 *         escaped and each ill-formed UTF-8 sequence replaced by U+FFFD
 *         (the Unicode "maximal subpart" practice).
 */
#include <inttypes.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "output.h"

int out_format_parse(const char *s)
{
	if (!strcmp(s, "text"))
		return OUT_TEXT;
	if (!strcmp(s, "csv"))
		return OUT_CSV;
	if (!strcmp(s, "json"))
		return OUT_JSON;
	return -1;
}

void out_double(char *buf, size_t size, double d)
{
	int prec;

	if (isnan(d)) {
		snprintf(buf, size, "NaN");
		return;
	}
	if (isinf(d)) {
		snprintf(buf, size, d < 0 ? "-Infinity" : "Infinity");
		return;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(buf, size, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			return;
	}
}

static bool is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static void put_byte_hex(FILE *f, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";

	putc(hex[c >> 4], f);
	putc(hex[c & 15], f);
}

static void put_hex(FILE *f, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		put_byte_hex(f, p[i]);
}

static void put_base64(FILE *f, const unsigned char *p, size_t n)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		putc(b64[p[i] >> 2], f);
		putc(b64[(p[i] & 3) << 4 | p[i + 1] >> 4], f);
		putc(b64[(p[i + 1] & 15) << 2 | p[i + 2] >> 6], f);
		putc(b64[p[i + 2] & 63], f);
	}
	if (n - i == 1) {
		putc(b64[p[i] >> 2], f);
		putc(b64[(p[i] & 3) << 4], f);
		fputs("==", f);
	} else if (n - i == 2) {
		putc(b64[p[i] >> 2], f);
		putc(b64[(p[i] & 3) << 4 | p[i + 1] >> 4], f);
		putc(b64[(p[i + 1] & 15) << 2], f);
		putc('=', f);
	}
}

/* COPY text escapes; every other control character as \xHH. */
static void put_copy_text(FILE *f, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '\\': fputs("\\\\", f); break;
		case '\b': fputs("\\b", f); break;
		case '\f': fputs("\\f", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		case '\v': fputs("\\v", f); break;
		default:
			if (is_control(c)) {
				fputs("\\x", f);
				put_byte_hex(f, c);
			} else {
				putc(c, f);
			}
			break;
		}
	}
}

static void put_csv_text(FILE *f, const char *s, size_t n)
{
	bool quote = n == 0;
	size_t i;

	for (i = 0; i < n && !quote; i++)
		quote = s[i] == ',' || s[i] == '"' ||
			is_control((unsigned char)s[i]);
	if (!quote) {
		fwrite(s, 1, n, f);
		return;
	}
	putc('"', f);
	for (i = 0; i < n; i++) {
		if (s[i] == '"')
			putc('"', f);
		putc(s[i], f);
	}
	putc('"', f);
}

/*
 * The length of the well-formed UTF-8 sequence at s (Unicode table 3-7),
 * or 0 with *bad set to the length of the maximal subpart of an ill-formed
 * one (at least 1).
 */
static size_t utf8_seq(const unsigned char *s, size_t n, size_t *bad)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 1;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 2;
		lo = s[0] == 0xe0 ? 0xa0 : 0x80;
		hi = s[0] == 0xed ? 0x9f : 0xbf;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 3;
		lo = s[0] == 0xf0 ? 0x90 : 0x80;
		hi = s[0] == 0xf4 ? 0x8f : 0xbf;
	} else {
		*bad = 1;
		return 0;
	}
	for (i = 1; i <= need; i++) {
		if (i >= n || s[i] < lo || s[i] > hi) {
			*bad = i;
			return 0;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	return need + 1;
}

static void put_json_text(FILE *f, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	putc('"', f);
	while (i < n) {
		unsigned char c = p[i];
		size_t bad, len = utf8_seq(p + i, n - i, &bad);

		if (!len) {
			fputs("\\ufffd", f);
			i += bad;
			continue;
		}
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\r')
			fputs("\\r", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fwrite(p + i, 1, len, f);
		i += len;
	}
	putc('"', f);
}

void out_field(FILE *f, const char *s)
{
	put_copy_text(f, s, strlen(s));
}

void out_error(const char *prefix, const char *msg)
{
	const unsigned char *p = (const unsigned char *)msg;

	flockfile(stderr);
	fputs(prefix, stderr);
	for (; *p; p++) {
		if (is_control(*p) && *p != '\n' && *p != '\t') {
			fputs("\\x", stderr);
			put_byte_hex(stderr, *p);
		} else {
			putc(*p, stderr);
		}
	}
	putc('\n', stderr);
	funlockfile(stderr);
}

void out_log(void *ud, int level, const char *source, const char *msg)
{
	char prefix[128];

	(void)ud;
	if (source)
		snprintf(prefix, sizeof(prefix), "dbroute: %s: source '%s': ",
			 dbr_log_level_name(level), source);
	else
		snprintf(prefix, sizeof(prefix),
			 "dbroute: %s: ", dbr_log_level_name(level));
	out_error(prefix, msg);
}

static void put_text(FILE *f, enum out_format fmt, const char *s, size_t n)
{
	if (fmt == OUT_CSV)
		put_csv_text(f, s, n);
	else if (fmt == OUT_JSON)
		put_json_text(f, s, n);
	else
		put_copy_text(f, s, n);
}

static void put_double(FILE *f, enum out_format fmt, double d)
{
	char buf[64];

	out_double(buf, sizeof(buf), d);
	if (fmt != OUT_JSON)
		fputs(buf, f);
	else if (!isfinite(d))
		fprintf(f, "\"%s\"", buf);
	else if (!strpbrk(buf, ".e"))
		fprintf(f, "%s.0", buf);
	else
		fputs(buf, f);
}

static void put_blob(FILE *f, enum out_format fmt, const void *b, size_t n)
{
	if (fmt == OUT_JSON) {
		fputs("{\"$base64\":\"", f);
		put_base64(f, b, n);
		fputs("\"}", f);
		return;
	}
	fputs(fmt == OUT_TEXT ? "\\\\x" : "\\x", f);
	put_hex(f, b, n);
}

static void put_value(FILE *f, enum out_format fmt, const struct dbr_value *v)
{
	switch (v->type) {
	case DBR_TYPE_INT64: fprintf(f, "%" PRId64, v->u.i); break;
	case DBR_TYPE_DOUBLE: put_double(f, fmt, v->u.d); break;
	case DBR_TYPE_TEXT: put_text(f, fmt, v->u.s, v->len); break;
	case DBR_TYPE_BLOB: put_blob(f, fmt, v->u.b, v->len); break;
	default:
		if (fmt == OUT_TEXT)
			fputs("\\N", f);
		else if (fmt == OUT_JSON)
			fputs("null", f);
		break;
	}
}
static void put_name(FILE *f, enum out_format fmt, const char *name, bool first)
{
	if (fmt == OUT_JSON) {
		if (!first)
			putc(',', f);
		put_json_text(f, name, strlen(name));
		putc(':', f);
		return;
	}
	if (!first)
		putc(fmt == OUT_CSV ? ',' : '\t', f);
	put_text(f, fmt, name, strlen(name));
}

static void put_header(FILE *f, enum out_format fmt, bool with_source,
		       struct dbr_result *res)
{
	size_t i, n = dbr_result_column_count(res);

	if (fmt == OUT_JSON)
		return;
	if (with_source)
		put_name(f, fmt, "source", true);
	for (i = 0; i < n; i++)
		put_name(f, fmt, dbr_result_column_name(res, i),
			 i == 0 && !with_source);
	putc('\n', f);
}

static void put_row(FILE *f, enum out_format fmt, bool with_source,
		    struct dbr_result *res, unsigned long long row)
{
	size_t i, n = dbr_result_column_count(res);
	struct dbr_value v;

	if (fmt == OUT_JSON)
		fputs(row ? ",\n{" : "{", f);
	if (with_source) {
		const char *src = dbr_result_source(res);

		if (fmt == OUT_JSON)
			put_name(f, fmt, "source", true);
		put_text(f, fmt, src, strlen(src));
	}
	for (i = 0; i < n; i++) {
		bool first = i == 0 && !with_source;

		if (fmt == OUT_JSON)
			put_name(f, fmt, dbr_result_column_name(res, i), first);
		else if (!first)
			putc(fmt == OUT_CSV ? ',' : '\t', f);
		dbr_result_value(res, i, &v);
		put_value(f, fmt, &v);
	}
	fputs(fmt == OUT_JSON ? "}" : "\n", f);
}

int out_print(FILE *f, enum out_format fmt, bool with_source,
	      struct dbr_result *res)
{
	unsigned long long rows = 0;
	bool has_columns = dbr_result_column_count(res) > 0;
	int rc;

	if (has_columns) {
		put_header(f, fmt, with_source, res);
		if (fmt == OUT_JSON)
			fputs("[", f);
	}
	while ((rc = dbr_result_next(res)) == DBR_ROW)
		if (has_columns)
			put_row(f, fmt, with_source, res, rows++);
	if (has_columns && fmt == OUT_JSON)
		fputs("]\n", f);
	if (rc != DBR_DONE) {
		out_error("dbroute: ", dbr_result_error(res)->message);
		return EXIT_RUNTIME;
	}
	if (!has_columns)
		fprintf(stderr, "%lld rows affected\n",
			(long long)dbr_result_changes(res));
	return 0;
}
