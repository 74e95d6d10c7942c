/*
 * query.h - running a statement on a connection already taken, for the
 * fan-out, which takes all of its connections before it runs anything.
 */
#ifndef DBR_QUERY_H
#define DBR_QUERY_H

#include "handle.h"

/*
 * Run sql on pc, a connection taken for an explicit source. On success
 * *out is its open result (freed with dbr_result_free); on failure pc is
 * given back and err says why.
 */
int dbr__query_on(struct dbr *db, struct dbr__pconn *pc, const char *sql,
		  const struct dbr_value *params, size_t nparams,
		  struct dbr_result **out, struct dbr_error *err);

/*
 * Read res's first row: *row says whether there is one (its columns are
 * then readable). Returns DBR_OK, or the status of a failed read with
 * res's error copied into *err.
 */
int dbr__result_first(struct dbr_result *res, bool *row, struct dbr_error *err);

#endif /* DBR_QUERY_H */
