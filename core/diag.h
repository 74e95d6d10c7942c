/*
 * diag.h - configuration problems, collected with their line numbers and
 * reported together in file order as "FILE:LINE: message".
 */
#ifndef DBR_DIAG_H
#define DBR_DIAG_H

#include "internal.h"

/* At most this many problems are kept; the rest are counted. */
#define DBR__DIAG_MAX 200

struct dbr__diag {
	int line;
	unsigned seq; /* keeps problems of one line in the order found */
	char *msg;
};

struct dbr__diags {
	struct dbr__diag *v;
	size_t n, cap;
	size_t dropped; /* problems beyond DBR__DIAG_MAX */
	bool nomem;
};

void dbr__diag_add(struct dbr__diags *d, int line, const char *fmt, ...)
	DBR_PRINTF(3, 4);

/*
 * Sort the problems into file order and write them to err, one
 * "FILE:LINE: message" per line. Returns DBR_E_CONFIG (DBR_E_NOMEM when a
 * problem could not be recorded), or DBR_OK when there are none.
 */
int dbr__diag_report(struct dbr__diags *d, const char *file,
		     struct dbr_error *err);

void dbr__diag_release(struct dbr__diags *d);

#endif /* DBR_DIAG_H */
