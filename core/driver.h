/*
 * driver.h - the registry of loaded drivers: built-in ones and plugins,
 * each checked against the ABI once, shared by every source and handle
 * that names its type, and kept for the life of the process.
 */
#ifndef DBR_DRIVER_H
#define DBR_DRIVER_H

#include "internal.h"

struct dbr__driver {
	/*
	 * The driver's table, zero-extended. Three fields are the core's
	 * own: options points to `options` below, and open and
	 * open_with_flags to the core's checked opens, which call the
	 * driver's (`open` and `open_flags` below; without the latter, its
	 * open) and refuse a connection head smaller than ABI 2.0's.
	 */
	struct dbr_driver vt;
	/* The driver's option declarations, each zero-extended to this
	 * core's struct (read by its option_size), NULL-name ended; owned. */
	struct dbr_option_decl *options;
	int (*open)(const struct dbr_source_config *src,
		    struct dbr_driver_conn **out, struct dbr_error *err);
	int (*open_flags)(const struct dbr_source_config *src, unsigned flags,
			  struct dbr_driver_conn **out, struct dbr_error *err);
	char type[33];
	char *origin;  /* "built-in" or the plugin's configured path */
	char *file;    /* the plugin's resolved file, NULL when built in */
	void *dl;      /* dlopen() handle, NULL when built in */
	int fd;	       /* the plugin's descriptor, -1 when built in */
	unsigned refs; /* bookkeeping only: a driver is never unloaded */
};

/* The host services handed to every driver's entry call. */
extern const struct dbr_host dbr__host;

/*
 * Find or load the driver serving `type`. A loaded driver stays for the
 * life of the process (its entry runs once); a plugin is identified by its
 * resolved file: when `type` is loaded and `plugin_dir` resolves another
 * file (or none) for it, fails with DBR_E_CONFIG. On failure, writes the
 * reason into msg and returns DBR_E_CONFIG, DBR_E_ABI or DBR_E_NOMEM.
 * Thread-safety: any thread (the registry has its own lock).
 */
int dbr__driver_get(const char *type, const char *plugin_dir,
		    struct dbr__driver **out, char *msg, size_t msgsize);

/*
 * Whether a driver serves `type`: built in, or a plugin file in the
 * folders of plugin_dir (NULL: the default), loaded or not. When none
 * does, hint receives the nearest such type ("" when none is near).
 */
bool dbr__driver_type_known(const char *type, const char *plugin_dir,
			    char *hint, size_t hintsize);

/*
 * Drop a reference taken by dbr__driver_get() (the driver stays loaded);
 * NULL is ignored.
 */
void dbr__driver_put(struct dbr__driver *d);

/* The built-in SQLite driver's entry (drivers/sqlite). */
const struct dbr_driver *dbr__sqlite_entry(const struct dbr_host *host);

#endif /* DBR_DRIVER_H */
