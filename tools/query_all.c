/*
 * query_all.c - `dbroute query --all` and repeated --source: one statement
 * on several sources, rows merged (docs/fanout.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "output.h"

/* The fan-out options from the arguments; returns 0 or an exit code. */
static int build(const struct args *a, struct dbr_fanout *f)
{
	unsigned flags = 0;
	size_t i;

	for (i = 0; i < a->nsources; i++)
		if (dbr_fanout_add_source(f, a->sources[i]))
			return EXIT_RUNTIME;
	for (i = 0; i < a->norder; i++) {
		const char *spec = a->order[i], *colon = strrchr(spec, ':');
		bool desc = colon && !strcmp(colon, ":desc");
		char col[256];

		if (colon && !desc && strcmp(colon, ":asc"))
			return fail_usage("bad --order '%s': expected COLUMN, "
					  "COLUMN:asc or COLUMN:desc",
					  spec);
		snprintf(col, sizeof(col), "%.*s",
			 colon ? (int)(colon - spec) : (int)strlen(spec), spec);
		if (!*col)
			return fail_usage("bad --order '%s': no column", spec);
		if (dbr_fanout_order_by(f, col, desc))
			return EXIT_RUNTIME;
	}
	if (a->limit_text) {
		char *end;
		unsigned long long n;

		errno = 0;
		n = strtoull(a->limit_text, &end, 10);
		if (errno || *end || a->limit_text[0] < '0' ||
		    a->limit_text[0] > '9')
			return fail_usage("bad --limit '%s': expected a count",
					  a->limit_text);
		dbr_fanout_set_limit(f, n);
	}
	if (a->distinct)
		flags |= DBR_FANOUT_DISTINCT;
	if (a->partial)
		flags |= DBR_FANOUT_ALLOW_PARTIAL;
	if (a->sequential)
		flags |= DBR_FANOUT_SEQUENTIAL;
	dbr_fanout_set_flags(f, flags);
	return 0;
}

/* Name the sources a partial answer lacks, on stderr. */
static void report_missing(const struct dbr_result *res)
{
	struct dbr_error e;
	const char *name;
	size_t i;

	for (i = 0; (name = dbr_result_missing(res, i, &e)); i++) {
		char prefix[128];

		snprintf(prefix, sizeof(prefix),
			 "dbroute: source '%s' skipped: ", name);
		out_error(prefix, e.message);
	}
}

int run_fanout(const struct args *a, struct dbr *db)
{
	struct dbr_result *res = NULL;
	struct dbr_fanout *f;
	struct dbr_error err;
	int rc;

	if (dbr_fanout_new(&f)) {
		fputs("dbroute: out of memory\n", stderr);
		return EXIT_RUNTIME;
	}
	rc = build(a, f);
	if (!rc && dbr_query_all(db, f, a->pos[0], a->params, a->nparams, &res,
				 &err)) {
		out_error("dbroute: ", err.message);
		rc = err.code == DBR_E_NOTFOUND || err.code == DBR_E_MISUSE
			     ? EXIT_USAGE
			     : EXIT_RUNTIME;
	}
	if (!rc && res) {
		rc = out_print(stdout, a->format,
			       a->with_source ? OUT_WITH_SOURCE : 0, res);
		report_missing(res);
	}
	dbr_result_free(res);
	dbr_fanout_free(f);
	return rc;
}
