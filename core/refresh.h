/*
 * refresh.h - a handle's mapping-store refresher: the first snapshot read
 * at open, then a thread that applies the store's change log as it grows,
 * records the handle in the store's clients table, and tells its state.
 */
#ifndef DBR_REFRESH_H
#define DBR_REFRESH_H

#include "internal.h"

struct dbr__refresher;

/* The channel a store's change transaction signals (driver ABI 2.1
 * notify) and every refresher listens to. */
#define DBR__MAPPING_CHANNEL "dbroute_changes"

/*
 * Read the store's first snapshot (bounded by the store source's timeout;
 * a failure is logged and leaves chat operations failing with
 * DBR_E_NOTLOADED until the refresher loads it) and, when `thread`, start
 * the refresher's thread (without it the snapshot is kept as read:
 * DBR_HANDLE_NO_REFRESH). Only for a configuration with a store. Returns
 * DBR_OK, DBR_E_NOMEM or DBR_E_RESOURCE (no thread).
 */
int dbr__refresh_start(struct dbr *db, bool thread, struct dbr_error *err);

/* Stop and join the thread, remove the handle's clients row, free. */
void dbr__refresh_stop(struct dbr *db);

/*
 * Milliseconds since the store last confirmed the snapshot held, or -1
 * when none is loaded. Any thread; no lock.
 */
int64_t dbr__refresh_age_ms(const struct dbr__refresher *r);

/* Signal the store's listeners at tx's commit, when its driver can
 * (query.c). */
int dbr__tx_notify(struct dbr_tx *tx, const char *channel,
		   struct dbr_error *err);

/* A clients row this long without a heartbeat is a process that died
 * without closing: the heartbeats of the live ones remove it. */
#define DBR__CLIENT_GONE_MS (10 * 60 * 1000)

/* The heartbeat's store calls (mapstore.c). */
int dbr__mapping_beat(struct dbr *db, const char *client_id, int64_t version,
		      struct dbr_error *err);
int dbr__mapping_leave(struct dbr *db, const char *client_id,
		       struct dbr_error *err);
/* The store's version (its dbroute_meta row), DBR_E_STMT without it. */
int dbr__mapping_version(struct dbr *db, int64_t *version,
			 struct dbr_error *err);

#endif /* DBR_REFRESH_H */
