/*
 * fanout.h - the merged cursor of dbr_query_all(). A merged result is a
 * struct dbr_result whose `merge` is set; query.c hands its calls here.
 */
#ifndef DBR_FANOUT_H
#define DBR_FANOUT_H

#include "handle.h"

int dbr__merge_next(struct dbr_result *res);
size_t dbr__merge_column_count(const struct dbr_result *res);
const char *dbr__merge_column_name(const struct dbr_result *res, size_t col);
int dbr__merge_value(struct dbr_result *res, size_t col, struct dbr_value *out);
const char *dbr__merge_source(const struct dbr_result *res);
void dbr__merge_free(struct dbr_result *res);

/* The pool that keeps a merged result's shell: a field that never changes,
 * safe to read through a stale pointer. */
struct dbr__pool *dbr__merge_home(const struct dbr_result *res);

#endif /* DBR_FANOUT_H */
