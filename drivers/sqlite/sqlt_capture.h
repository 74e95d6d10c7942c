/*
 * sqlt_capture.h - the SQLite driver's capture and clock for a chat move
 * (driver ABI 2.2), on a connection's handle.
 */
#ifndef DBR_SQLT_CAPTURE_H
#define DBR_SQLT_CAPTURE_H

#include <sqlite3.h>

#include "dbroute_driver.h"

/* Install or remove cap's triggers (and create the fence and delta
 * tables), in one savepoint: all or nothing. */
int sqlt_capture_run(sqlite3 *db, const struct dbr_host *host,
		     const struct dbr_capture *cap, bool install,
		     struct dbr_error *err);

/* The file's clock, milliseconds since 1970, as the triggers read it. */
int sqlt_clock_run(sqlite3 *db, const struct dbr_host *host, int64_t *ms,
		   struct dbr_error *err);

#endif /* DBR_SQLT_CAPTURE_H */
