/*
 * diag.c - collecting configuration problems and reporting them in file
 * order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

void dbr__diag_add(struct dbr__diags *d, int line, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	char *msg;

	if (d->n >= DBR__DIAG_MAX) {
		d->dropped++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	msg = dbr__strdup(buf);
	if (!msg || dbr__grow(&d->v, &d->cap, d->n + 1, sizeof(*d->v))) {
		dbr__free(msg);
		d->nomem = true;
		return;
	}
	d->v[d->n].line = line;
	d->v[d->n].seq = (unsigned)d->n;
	d->v[d->n].msg = msg;
	d->n++;
}

static int by_line(const void *a, const void *b)
{
	const struct dbr__diag *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int dbr__diag_report(struct dbr__diags *d, const char *file,
		     struct dbr_error *err)
{
	size_t i, used = 0;
	int n;

	if (d->nomem)
		return dbr__error_set(err, DBR_E_NOMEM, NULL,
				      "%s: out of memory reading the file",
				      file);
	if (!d->n)
		return DBR_OK;
	qsort(d->v, d->n, sizeof(*d->v), by_line);
	if (!err)
		return DBR_E_CONFIG;
	memset(err, 0, sizeof(*err));
	err->code = DBR_E_CONFIG;
	dbr__error_classify(err);
	for (i = 0; i < d->n && !err->truncated; i++) {
		n = snprintf(err->message + used, sizeof(err->message) - used,
			     "%s%s:%d: %s", i ? "\n" : "", file, d->v[i].line,
			     d->v[i].msg);
		if (n < 0 || (size_t)n >= sizeof(err->message) - used)
			err->truncated = true;
		else
			used += (size_t)n;
	}
	if (!err->truncated && d->dropped)
		snprintf(err->message + used, sizeof(err->message) - used,
			 "\n%s: %zu more problems not shown", file, d->dropped);
	if (err->truncated)
		memcpy(err->message + sizeof(err->message) - 4, "...", 4);
	return DBR_E_CONFIG;
}

void dbr__diag_release(struct dbr__diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		dbr__free(d->v[i].msg);
	dbr__free(d->v);
	memset(d, 0, sizeof(*d));
}
