/*
 * fuzz_sqlsplit.c - libFuzzer target: any text through the statement
 * splitter, in the lexical dialect its first byte names (enum
 * dbr_sqllex_flags). Checks that it never crashes or reads past the text
 * and that its answers hold together: the statements lie inside the
 * text, in order, without overlapping, each on the line it starts on;
 * and the statements of a text that splits, joined with ";\n", split
 * into the same statements again.
 */
#include <stdlib.h>
#include <string.h>

#include "sqlguard.h"
#include "sqllex.h"
#include "sqlsplit.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

/* The statements of sql, at most max, into st; -1 when it fails. */
static long split_all(const char *sql, size_t len, uint32_t flags,
		      struct dbr_sqlstmt *st, size_t max)
{
	struct dbr_sqlsplit sp;
	enum dbr_sqlsplit_step step = DBR_SQLSPLIT_STMT;
	size_t n = 0, prev_end = 0;
	const char *counted = sql; /* newlines before it are in `line` */
	unsigned line = 1;

	dbr_sqlsplit_init(&sp, sql, len, flags);
	while (n <= max &&
	       (step = dbr_sqlsplit_next(&sp, &st[n])) == DBR_SQLSPLIT_STMT) {
		const struct dbr_sqlstmt *s = &st[n];

		if (n == max || s->start < prev_end || s->start >= s->end ||
		    s->end > len)
			abort();
		for (; counted < sql + s->start; counted++)
			line += *counted == '\n';
		if (s->line != line)
			abort();
		(void)dbr_sqlguard_is_tx_control(sql + s->start);
		prev_end = s->end;
		n++;
	}
	if (step == DBR_SQLSPLIT_ERROR) {
		if (sp.error == DBR_SQLSPLIT_OK || sp.error_line < line ||
		    sp.error_line > len + 1)
			abort();
		return -1;
	}
	return (long)n;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct dbr_sqlstmt *st = NULL, *again = NULL;
	char *sql = NULL, *joined = NULL;
	size_t len, i, off = 0;
	uint32_t flags;
	long n;

	if (size < 1)
		return 0;
	flags = data[0];
	len = size - 1;
	sql = malloc(len + 1);
	st = calloc(len + 2, sizeof(*st));
	joined = malloc(len * 2 + 3);
	again = calloc(len + 2, sizeof(*again));
	if (!sql || !st || !joined || !again)
		goto out;
	memcpy(sql, data + 1, len);
	sql[len] = '\0';
	(void)dbr_sqlsplit_no_transaction(sql, len);
	n = split_all(sql, len, flags, st, len + 1);
	if (n < 0)
		goto out;
	for (i = 0; i < (size_t)n; i++) {
		memcpy(joined + off, sql + st[i].start,
		       st[i].end - st[i].start);
		off += st[i].end - st[i].start;
		memcpy(joined + off, ";\n", 2);
		off += 2;
	}
	joined[off] = '\0';
	if (split_all(joined, off, flags, again, len + 1) != n)
		abort();
	for (i = 0; i < (size_t)n; i++)
		if (again[i].end - again[i].start != st[i].end - st[i].start ||
		    memcmp(joined + again[i].start, sql + st[i].start,
			   st[i].end - st[i].start))
			abort();
out:
	free(again);
	free(joined);
	free(st);
	free(sql);
	return 0;
}
