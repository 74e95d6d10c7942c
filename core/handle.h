/*
 * handle.h - struct dbr, the handle an application shares between its
 * threads: the published snapshot, the sources' runtime, the logger.
 */
#ifndef DBR_HANDLE_H
#define DBR_HANDLE_H

#include <stdatomic.h>

#include "audit.h"
#include "config.h"
#include "health.h"
#include "pool.h"
#include "snapshot.h"

/*
 * A source's runtime: its pool and its health. Reached from its
 * configuration (struct dbr_source_config's `rt`), so from a snapshot by
 * source index; one object per source, so that a reload can give a kept
 * source's runtime to the new configuration's entry.
 */
struct dbr__source_rt {
	struct dbr__pool pool;
	struct dbr__health health;
};

struct dbr {
	struct dbr__logger log;
	struct dbr__config *cfg;     /* the configuration opened; owned */
	struct dbr__snaps snaps;     /* what routing reads (snapshot.h) */
	atomic_uint_fast64_t misses; /* chats that fell to the default */
	struct dbr__audit audit;
};

#endif /* DBR_HANDLE_H */
