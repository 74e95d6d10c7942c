/*
 * tablelist.h - a driver's list_tables() (ABI 2.1) from catalog rows: one
 * row per column, ordered by schema, table and column position; each run
 * of one table's rows becomes one struct dbr_table_info handed to the
 * core's callback. Strings are copied, so the rows' buffers may change
 * after each add.
 */
#ifndef DBR_TABLELIST_H
#define DBR_TABLELIST_H

#include "dbroute_driver.h"

struct dbr_tablelist {
	dbr_table_fn fn;
	void *ud;
	char *schema, *name;	      /* the table being read, or NULL */
	struct dbr_column_info *cols; /* its columns so far; strings owned */
	size_t n, cap;
};

/* Start a list that hands each table to fn(ud, table). */
void dbr_tablelist_init(struct dbr_tablelist *t, dbr_table_fn fn, void *ud);

/*
 * One column of table schema.name (schema "" when the name needs no
 * qualifier): a new table hands the previous one to fn first. Returns 0,
 * or -1 when out of memory (then stop, and release).
 */
int dbr_tablelist_add(struct dbr_tablelist *t, const char *schema,
		      const char *name, const struct dbr_column_info *col);

/* Hand the last table to fn (after the last row). */
void dbr_tablelist_end(struct dbr_tablelist *t);

/* Free what the list holds; it may be used again after init. */
void dbr_tablelist_release(struct dbr_tablelist *t);

#endif /* DBR_TABLELIST_H */
