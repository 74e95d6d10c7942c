/*
 * snapshot.h - what a route decision reads, in one immutable object
 * published through one atomic pointer.
 *
 * A snapshot holds the configuration (sources, each with its runtime: pool
 * and health, through the source's `rt`; scopes; the default source; the
 * INI's chat table) and the mapping store's table: a base chat table plus
 * a small overlay of the changes applied since, the store's version, and
 * whether a store is expected and has loaded. Readers never lock: an
 * operation enters an epoch section (ebr.h), loads the pointer once, and
 * resolves everything against that snapshot, so it never sees half of a
 * change. Writers (the store's loader and refresher, a reload) build a new
 * snapshot, publish it with one exchange, and retire the old one, which is
 * freed once no section that could hold it is still open.
 *
 * Writers are serialised by the set's mutex; they hold it only while
 * they copy the small parts (the overlay, the names) and publish. Folding
 * a grown overlay into a new base (a million entries) is done outside it
 * (dbr__snap_fold()), so a change of a few chats never waits for it and
 * never rebuilds the base.
 *
 * Store values: the tables map a chat to an index into the snapshot's
 * `names` (source names as the store's rows give them), or to
 * DBR__SNAP_UNSET in the overlay (the chat's row was removed: the INI and
 * the default decide again). `name_src` gives each name's source index in
 * the snapshot's configuration, or DBR__SNAP_LACKING when this process
 * has no source of that name: that chat's operations fail with
 * DBR_E_NOTFOUND, never the default. A reload that changes the source list
 * only recomputes `name_src`, never the tables.
 */
#ifndef DBR_SNAPSHOT_H
#define DBR_SNAPSHOT_H

#include <pthread.h>
#include <stdatomic.h>

#include "chat_table.h"
#include "config.h"
#include "ebr.h"

#define DBR__SNAP_UNSET	  (UINT32_MAX - 1) /* overlay: the row was removed */
#define DBR__SNAP_LACKING (UINT32_MAX - 2) /* name_src: no such source here */

/* Overlays of at least this many chats are worth folding into the base. */
#define DBR__SNAP_FOLD_AT 4096

/* A base table, shared by the snapshots built on it. */
struct dbr__snap_base {
	unsigned refs; /* snapshots on it; under the set's mutex */
	struct dbr__chat_table table;
};

struct dbr__snap {
	const struct dbr__config *cfg;
	bool store_expected; /* a [mapping] store is configured */
	uint64_t version;    /* the store's version held */
	/* The store's table: NULL before its first load. */
	struct dbr__snap_base *base;
	struct dbr__chat_table overlay; /* changes since base; owned */
	char **names;			/* owned */
	uint32_t *name_src;		/* per name; owned */
	size_t nnames;
	/* The writers' bookkeeping, under the set's mutex. */
	unsigned holds;		/* published (1), and a fold working on it */
	uint64_t stamp;		/* when retired: dbr__ebr_is_safe() */
	struct dbr__snap *next; /* retired, waiting to be freed */
};

/* A handle's snapshots: the published one and the retired ones. */
struct dbr__snaps {
	struct dbr__snap *_Atomic cur;
	pthread_mutex_t mu; /* writers */
	struct dbr__snap *retired;
};

/* One row of the store: chat -> source NAME (NULL: the row is removed). */
struct dbr__store_row {
	int64_t chat;
	const char *source;
};

/*
 * Publish the first snapshot of cfg (borrowed: it must outlive the set).
 * With store_expected, chat operations fail with DBR_E_NOTLOADED until
 * dbr__snap_store_load() succeeds.
 */
int dbr__snaps_init(struct dbr__snaps *ss, const struct dbr__config *cfg,
		    bool store_expected);

/* Free every snapshot. No section may be open on any of them. */
void dbr__snaps_release(struct dbr__snaps *ss);

/* The published snapshot; valid until the caller's epoch section ends. */
static DBR_INLINE const struct dbr__snap *
dbr__snap_current(struct dbr__snaps *ss)
{
	return atomic_load(&ss->cur);
}

/*
 * Replace the store's whole table: `rows` at `version` (each chat at most
 * once; a NULL source is skipped). The overlay starts empty. Returns
 * DBR_OK, DBR_E_MISUSE (no store expected, a chat twice) or DBR_E_NOMEM;
 * on failure the published snapshot is unchanged.
 */
int dbr__snap_store_load(struct dbr__snaps *ss, uint64_t version,
			 const struct dbr__store_row *rows, size_t n,
			 struct dbr_error *err);

/*
 * Apply a change list at `version` (greater than the one held) as an
 * overlay on the published snapshot: a later row for a chat wins, a NULL
 * source removes the chat's row. Costs O(overlay + n), never the base's
 * size. Returns DBR_OK, DBR_E_MISUSE (no table loaded yet, or a version
 * not above the one held) or DBR_E_NOMEM.
 */
int dbr__snap_store_apply(struct dbr__snaps *ss, uint64_t version,
			  const struct dbr__store_row *rows, size_t n,
			  struct dbr_error *err);

/*
 * Fold the published overlay into a new base when it holds at least
 * DBR__SNAP_FOLD_AT chats (or any, with force), built outside the mutex;
 * changes applied meanwhile stay in the new snapshot's overlay. For the
 * refresher's thread, never an operation's. *folded says whether a
 * snapshot was published. Returns DBR_OK or DBR_E_NOMEM.
 */
int dbr__snap_fold(struct dbr__snaps *ss, bool force, bool *folded);

/*
 * A reload: publish a snapshot of cfg (borrowed, as at init) with the
 * store's table, overlay and version unchanged; only each name's source
 * index is computed again. The caller holds ss->mu (so that what it
 * checked against the published snapshot still holds). Returns DBR_OK or
 * DBR_E_NOMEM (nothing published).
 */
int dbr__snap_reconfigure_locked(struct dbr__snaps *ss,
				 const struct dbr__config *cfg);

/*
 * How many chats the store's table of sn (loaded) maps to the source
 * named `source`; the first `cap` of them in out.
 */
size_t dbr__snap_store_chats(const struct dbr__snap *sn, const char *source,
			     int64_t *out, size_t cap);

/* Free the retired snapshots no section can hold any more. */
void dbr__snap_reclaim(struct dbr__snaps *ss);

/*
 * The store's answer for chat: a source index of sn->cfg, DBR__CHAT_MISS
 * (no row: the INI and the default decide), or DBR__SNAP_LACKING with
 * *name the row's source. Only for a snapshot with a loaded table.
 */
static DBR_INLINE uint32_t dbr__snap_store_lookup(const struct dbr__snap *sn,
						  int64_t chat, uint32_t *name)
{
	uint32_t k = dbr__chat_table_lookup(&sn->overlay, chat);

	if (k == DBR__CHAT_MISS)
		k = dbr__chat_table_lookup(&sn->base->table, chat);
	if (k == DBR__CHAT_MISS || k == DBR__SNAP_UNSET)
		return DBR__CHAT_MISS;
	*name = k;
	return sn->name_src[k];
}

#endif /* DBR_SNAPSHOT_H */
