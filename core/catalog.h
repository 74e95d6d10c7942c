/*
 * catalog.h - a source's tables and their columns, as its database's
 * catalog lists them (the driver's optional list_tables call, ABI 2.1):
 * which tables hold a chat's rows, and later whether two sources'
 * schemas agree.
 */
#ifndef DBR_CATALOG_H
#define DBR_CATALOG_H

#include "internal.h"

struct dbr;
struct dbr_source_config;

/*
 * Call fn once per table of source s, with the table and its columns
 * copied into this core's own structs (fields a driver of an earlier
 * minor lacks read as zero; its sizes are set to this core's). Runs on a
 * connection of the source's pool. Returns DBR_OK, DBR_E_UNSUPPORTED
 * when the driver cannot list tables, DBR_E_NOMEM, or the source's error
 * (its message names the source).
 */
int dbr__catalog_tables(struct dbr_source_config *s, dbr_table_fn fn, void *ud,
			struct dbr_error *err);

/* Whether a table is dbroute's own (dbroute_*, _dbroute_*): never a chat
 * table. */
bool dbr__catalog_is_own(const char *table);

#endif /* DBR_CATALOG_H */
