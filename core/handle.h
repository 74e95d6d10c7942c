/*
 * handle.h - struct dbr, the handle an application shares between its
 * threads: the configuration snapshot, one pool per source, the logger.
 */
#ifndef DBR_HANDLE_H
#define DBR_HANDLE_H

#include <stdatomic.h>

#include "config.h"
#include "health.h"
#include "pool.h"

struct dbr {
	struct dbr__logger log;
	struct dbr__config *cfg;     /* immutable once open */
	struct dbr__pool *pools;     /* one per source, same order */
	struct dbr__health *health;  /* one per source, same order */
	atomic_uint_fast64_t misses; /* chats that fell to the default */
};

/*
 * Resolve where an operation runs. `source` and `scope` are tried first
 * when given; DBR_E_NOTFOUND for an unknown source name.
 */
int dbr__route(struct dbr *db, const char *source, const char *scope,
	       int64_t chat, bool by_chat, struct dbr_source_config **out,
	       int *reason, struct dbr_error *err);

#endif /* DBR_HANDLE_H */
