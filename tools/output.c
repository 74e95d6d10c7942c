/*
 * output.c - result rows as PostgreSQL COPY text (the default), CSV or
 * JSON.
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

static void put_hex(FILE *f, const unsigned char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	fputs("\\x", f);
	for (i = 0; i < n; i++) {
		putc(hex[p[i] >> 4], f);
		putc(hex[p[i] & 15], f);
	}
}

/* COPY text: tab, newline, carriage return and backslash escaped. */
static void put_copy_text(FILE *f, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		switch (s[i]) {
		case '\t': fputs("\\t", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\\': fputs("\\\\", f); break;
		default: putc(s[i], f); break;
		}
	}
}

static void put_csv_text(FILE *f, const char *s, size_t n)
{
	size_t i;

	if (n && !memchr(s, ',', n) && !memchr(s, '"', n) &&
	    !memchr(s, '\n', n) && !memchr(s, '\r', n)) {
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

static void put_json_text(FILE *f, const char *s, size_t n)
{
	size_t i;

	putc('"', f);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			putc(c, f);
	}
	putc('"', f);
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

static void put_value(FILE *f, enum out_format fmt, const struct dbr_value *v)
{
	char buf[64];

	switch (v->type) {
	case DBR_TYPE_INT64: fprintf(f, "%" PRId64, v->u.i); break;
	case DBR_TYPE_DOUBLE:
		out_double(buf, sizeof(buf), v->u.d);
		if (fmt == OUT_JSON && !isfinite(v->u.d))
			fputs("null", f);
		else
			fputs(buf, f);
		break;
	case DBR_TYPE_TEXT: put_text(f, fmt, v->u.s, v->len); break;
	case DBR_TYPE_BLOB:
		if (fmt == OUT_JSON)
			putc('"', f);
		put_hex(f, v->u.b, v->len);
		if (fmt == OUT_JSON)
			putc('"', f);
		break;
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
		fprintf(stderr, "dbroute: %s\n",
			dbr_result_error(res)->message);
		return EXIT_RUNTIME;
	}
	if (!has_columns)
		fprintf(stderr, "%lld rows affected\n",
			(long long)dbr_result_changes(res));
	return 0;
}
