/*
 * driver.h - the registry of loaded drivers: built-in ones and (later)
 * plugins, each checked against the ABI once and shared by every source
 * and handle that names its type.
 */
#ifndef DBR_DRIVER_H
#define DBR_DRIVER_H

#include "internal.h"

struct dbr__driver {
	struct dbr_driver vt; /* the driver's table, zero-extended */
	char type[33];
	char *origin; /* "built-in" or the plugin's path */
	void *dl;     /* dlopen() handle, NULL when built in */
	unsigned refs;
};

/* The host services handed to every driver's entry call. */
extern const struct dbr_host dbr__host;

/*
 * Find or load the driver serving `type`. On failure, writes the reason
 * into msg and returns DBR_E_CONFIG, DBR_E_ABI or DBR_E_NOMEM.
 * Thread-safety: any thread (the registry has its own lock).
 */
int dbr__driver_get(const char *type, const char *plugin_dir,
		    struct dbr__driver **out, char *msg, size_t msgsize);

/* Drop a reference taken by dbr__driver_get(); NULL is ignored. */
void dbr__driver_put(struct dbr__driver *d);

/*
 * Check a driver table against the ABI, its option declarations (valid
 * keys and kinds, min <= max, defaults that parse and lie in range, ENUM
 * choices) and its capabilities against its calls, and copy it
 * zero-extended into out. On failure, writes the reason into msg.
 */
int dbr__driver_check(const struct dbr_driver *vt, const char *type,
		      struct dbr_driver *out, char *msg, size_t msgsize);

/* The built-in SQLite driver's entry (drivers/sqlite). */
const struct dbr_driver *dbr__sqlite_entry(const struct dbr_host *host);

#endif /* DBR_DRIVER_H */
