/*
 * move_plan.h - a chat move's plan (dbr_move_plan()) and what it is built
 * from: a source's catalog copied once (its tables, their columns and
 * primary keys), the chat's tables found as `dbroute mapping set` finds
 * them (mapstore.h), and the checks that a destination holds the same
 * tables with the same columns, keys and portable types. Nothing here
 * writes to any source.
 */
#ifndef DBR_MOVE_PLAN_H
#define DBR_MOVE_PLAN_H

#include "internal.h"

struct dbr;

/* One column of a catalog copy. */
struct dbr__cat_column {
	char *name;
	char *decl; /* declared type, "" when none */
	uint32_t cls;
	uint32_t pk;
};

/* One table of a catalog copy. */
struct dbr__cat_table {
	char *schema; /* "" when the name needs no qualifier */
	char *name;
	char *quoted; /* as SQL names it (dbr__mapping_quoted()) */
	struct dbr__cat_column *cols;
	size_t ncols;
};

/* A source's catalog, copied: every table but dbroute's own. */
struct dbr__catalog_copy {
	struct dbr__cat_table *v;
	size_t n, cap;
	bool nomem;
};

/* Copy source `name`'s catalog into c (zeroed first); DBR_E_UNSUPPORTED
 * for a driver without list_tables. */
int dbr__catalog_copy(struct dbr *db, const char *name,
		      struct dbr__catalog_copy *c, struct dbr_error *err);

void dbr__catalog_copy_release(struct dbr__catalog_copy *c);

/* The table of c that SQL names `quoted`, or NULL. */
const struct dbr__cat_table *
dbr__catalog_copy_find(const struct dbr__catalog_copy *c, const char *quoted);

#endif /* DBR_MOVE_PLAN_H */
