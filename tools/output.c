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
 *         a quote doubled; NULL is an empty unquoted field (so a one-column
 *         NULL row is a blank line, as PostgreSQL's COPY CSV writes it); a
 *         blob is \x and hex; other bytes as stored.
 *   json  one array of objects, one per row, keyed by column name, each
 *         key once (a repeated name made unique: json_keys), [] for a
 *         statement without columns; a double always has a '.' or an
 *         exponent, NaN and infinities are the strings "NaN", "Infinity"
 *         and "-Infinity"; a blob is {"$base64": "..."}; text is a string
 *         with control characters escaped and each ill-formed UTF-8
 *         sequence replaced by U+FFFD (the Unicode "maximal subpart"
 *         practice).
 */
#include <inttypes.h>
#include <stdint.h>
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

/*
 * s with each ill-formed UTF-8 sequence replaced by U+FFFD, as
 * put_json_text writes it (allocated, or NULL when out of memory): two
 * names that differ only in bad bytes are the same JSON key.
 */
static char *utf8_clean(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, o = 0, bad;
	char *d = n < SIZE_MAX / 3 ? malloc(n * 3 + 1) : NULL;

	while (d && i < n) {
		size_t len = utf8_seq(p + i, n - i, &bad);

		if (len) {
			memcpy(d + o, p + i, len);
			o += len;
			i += len;
		} else {
			memcpy(d + o, "\xef\xbf\xbd", 3);
			o += 3;
			i += bad;
		}
	}
	if (d)
		d[o] = '\0';
	return d;
}

/* A column's name as a JSON key, and where the column is. */
struct key {
	char *name;
	size_t pos;
};

/* By name, then by position. */
static int key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

/* Whether some column is named s (k sorted by key_cmp, m keys). */
static bool key_taken(const struct key *k, size_t m, const char *s)
{
	size_t lo = 0, hi = m;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(k[mid].name, s);

		if (!c)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/*
 * name_N for the first N from *suffix on that no column has as its name
 * (allocated, or NULL). At most m names are taken, so the loop ends
 * within m + 1 tries.
 */
static char *suffixed(const struct key *k, size_t m, const char *name,
		      size_t *suffix)
{
	size_t size = strlen(name) + 24;
	char *s = malloc(size);

	if (!s)
		return NULL;
	do
		snprintf(s, size, "%s_%zu", name, (*suffix)++);
	while (key_taken(k, m, s));
	return s;
}

static void keys_free(char **keys, size_t m)
{
	size_t i;

	for (i = 0; keys && i < m; i++)
		free(keys[i]);
	free(keys);
}

/*
 * The JSON keys of m names, in their order: the first of a repeated name
 * keeps it, the next get _2, _3, ... in column order, skipping any name
 * some column has (a, a, a_2 gives a, a_3, a_2). A suffixed key is
 * BASE_N with N a number, so two never collide, nor with a column's own
 * name: every key is unique. Names compare as put_json_text writes them.
 * Returns m allocated keys (keys_free), or NULL when out of memory.
 */
static char **json_keys(const char *const *names, size_t m)
{
	struct key *k = calloc(m, sizeof(*k));
	char **keys = calloc(m, sizeof(*keys));
	size_t i, j = 0, suffix;
	bool ok = k && keys;

	for (i = 0; ok && i < m; i++) {
		k[i].name = utf8_clean(names[i]);
		k[i].pos = i;
		ok = k[i].name != NULL;
	}
	if (ok)
		qsort(k, m, sizeof(*k), key_cmp);
	for (i = 0; ok && i < m; i = j) {
		keys[k[i].pos] = strdup(k[i].name);
		ok = keys[k[i].pos] != NULL;
		suffix = 2;
		for (j = i + 1; ok && j < m && !strcmp(k[j].name, k[i].name);
		     j++) {
			keys[k[j].pos] = suffixed(k, m, k[i].name, &suffix);
			ok = keys[k[j].pos] != NULL;
		}
	}
	for (i = 0; k && i < m; i++)
		free(k[i].name);
	free(k);
	if (!ok) {
		keys_free(keys, m);
		return NULL;
	}
	return keys;
}

/* The JSON keys of a result's columns, after "source" with_source. */
static char **result_keys(struct dbr_result *res, bool with_source)
{
	size_t i, n = dbr_result_column_count(res), m = n + with_source;
	const char **names = malloc(m * sizeof(*names));
	char **keys = NULL;

	if (!names)
		return NULL;
	if (with_source)
		names[0] = "source";
	for (i = 0; i < n; i++)
		names[i + with_source] = dbr_result_column_name(res, i);
	keys = json_keys(names, m);
	free(names);
	return keys;
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
	char ts[DBR_TIMESTAMP_TEXT_SIZE];

	switch (v->type) {
	case DBR_TYPE_INT64: fprintf(f, "%" PRId64, v->u.i); break;
	case DBR_TYPE_DOUBLE: put_double(f, fmt, v->u.d); break;
	case DBR_TYPE_TEXT: put_text(f, fmt, v->u.s, v->len); break;
	case DBR_TYPE_BLOB: put_blob(f, fmt, v->u.b, v->len); break;
	case DBR_TYPE_BOOL: fputs(v->u.i ? "true" : "false", f); break;
	case DBR_TYPE_TIMESTAMP:
		dbr_timestamp_format(v->u.i, ts, sizeof(ts));
		put_text(f, fmt, ts, strlen(ts));
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

/* One row; keys are the JSON keys (result_keys), NULL in other formats. */
static void put_row(FILE *f, enum out_format fmt, unsigned flags,
		    char *const *keys, struct dbr_result *res,
		    unsigned long long row)
{
	bool with_source = flags & OUT_WITH_SOURCE;
	size_t i, n = dbr_result_column_count(res);
	struct dbr_value v;

	if (fmt == OUT_JSON)
		fputs(!row ? "{" : flags & OUT_ONE_LINE ? ",{" : ",\n{", f);
	if (with_source) {
		const char *src = dbr_result_source(res);

		if (fmt == OUT_JSON)
			put_name(f, fmt, keys[0], true);
		put_text(f, fmt, src, strlen(src));
	}
	for (i = 0; i < n; i++) {
		bool first = i == 0 && !with_source;

		if (fmt == OUT_JSON)
			put_name(f, fmt, keys[i + with_source], first);
		else if (!first)
			putc(fmt == OUT_CSV ? ',' : '\t', f);
		dbr_result_value(res, i, &v);
		put_value(f, fmt, &v);
	}
	fputs(fmt == OUT_JSON ? "}" : "\n", f);
}

int out_print(FILE *f, enum out_format fmt, unsigned flags,
	      struct dbr_result *res)
{
	bool with_source = flags & OUT_WITH_SOURCE;
	unsigned long long rows = 0;
	size_t n = dbr_result_column_count(res);
	char **keys = NULL;
	int rc;

	if (n && fmt == OUT_JSON && !(keys = result_keys(res, with_source))) {
		out_error("dbroute: ", "out of memory");
		return EXIT_RUNTIME;
	}
	if (n)
		put_header(f, fmt, with_source, res);
	if (fmt == OUT_JSON)
		fputs("[", f);
	while ((rc = dbr_result_next(res)) == DBR_ROW)
		if (n)
			put_row(f, fmt, flags, keys, res, rows++);
	if (fmt == OUT_JSON)
		fputs("]\n", f);
	keys_free(keys, n + with_source);
	if (rc != DBR_DONE) {
		out_error("dbroute: ", dbr_result_error(res)->message);
		return EXIT_RUNTIME;
	}
	if (!n)
		fprintf(stderr, "%lld rows affected\n",
			(long long)dbr_result_changes(res));
	return 0;
}

void out_table(FILE *f, enum out_format fmt, bool header,
	       const char *const *names, size_t ncols,
	       const struct dbr_value *cells, size_t nrows)
{
	size_t r, c;

	if (fmt != OUT_JSON && header) {
		for (c = 0; c < ncols; c++)
			put_name(f, fmt, names[c], c == 0);
		putc('\n', f);
	}
	if (fmt == OUT_JSON)
		putc('[', f);
	for (r = 0; r < nrows; r++) {
		if (fmt == OUT_JSON)
			fputs(r ? ",\n{" : "{", f);
		for (c = 0; c < ncols; c++) {
			if (fmt == OUT_JSON)
				put_name(f, fmt, names[c], c == 0);
			else if (c)
				putc(fmt == OUT_CSV ? ',' : '\t', f);
			put_value(f, fmt, &cells[r * ncols + c]);
		}
		fputs(fmt == OUT_JSON ? "}" : "\n", f);
	}
	if (fmt == OUT_JSON)
		fputs("]\n", f);
}
