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

/* What a reload replaced, kept until dbr_close(): see reload.c. */
struct dbr__retired {
	struct dbr__retired *next;
	struct dbr__config *cfg;   /* a replaced configuration, or NULL */
	struct dbr__source_rt *rt; /* a removed or changed source's, or NULL */
};

struct dbr {
	struct dbr__logger log;
	/* The configuration in force; owned. Replaced by dbr_reload() while
	 * other threads read it: a caller loads it once per use (a reload
	 * may change the sources' indices, never the default's name). */
	struct dbr__config *_Atomic cfg;
	struct dbr__snaps snaps;      /* what routing reads (snapshot.h) */
	atomic_uint_fast64_t misses;  /* chats that fell to the default */
	bool log_fixed;		      /* the open options set the level */
	pthread_mutex_t reload_mu;    /* one reload at a time */
	struct dbr__retired *retired; /* under reload_mu */
	atomic_uint_fast64_t reloads, reloads_failed;
	struct dbr__audit audit;
	struct dbr__refresher *refresh; /* with a store (refresh.h) */
};

/* A new runtime for s (handle.c); see there. */
int dbr__source_rt_new(struct dbr_source_config *s,
		       const struct dbr__config *cfg, bool *pool_only,
		       struct dbr_error *err);

/* Release a source's runtime: its pool's connections, its health. */
void dbr__source_rt_free(struct dbr__source_rt *rt);

#endif /* DBR_HANDLE_H */
