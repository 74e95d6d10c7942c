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

/* Log an unmapped chat (at debug level only). */
void dbr__route_miss(struct dbr *db, int64_t chat);

/*
 * The source a chat's operation goes to: its mapping, else the default.
 * Inline: it is on every operation's path. The caller passes the answer to
 * dbr__route_note() once it has stored it, so that the rare debug log is
 * the last call and the lookup itself keeps its values in registers.
 */
static inline struct dbr_source_config *
dbr__route_chat(const struct dbr *db, int64_t chat, int *reason)
{
	const struct dbr__config *cfg = db->cfg;
	uint32_t hit = dbr__router_lookup(&cfg->router, chat);
	bool mapped = hit != DBR__ROUTE_MISS;

	/* Selects, not branches: mapped or not is unpredictable. */
	*reason = mapped ? DBR_ROUTE_MAPPED : DBR_ROUTE_DEFAULT;
	return &cfg->sources[mapped ? hit : cfg->default_source];
}

/* Log an unmapped chat when debugging. */
static inline void dbr__route_note(struct dbr *db, int64_t chat, int reason)
{
	if (DBR_UNLIKELY(db->log.level >= DBR_LOG_DEBUG) &&
	    reason == DBR_ROUTE_DEFAULT)
		dbr__route_miss(db, chat);
}

/* Where an operation without a chat runs: an explicit source (DBR_E_NOTFOUND
 * for an unknown name), else a scope, else the default source. */
int dbr__route_named(struct dbr *db, const char *source, const char *scope,
		     struct dbr_source_config **out, int *reason,
		     struct dbr_error *err);

/*
 * Resolve where an operation runs. `source` and `scope` are tried first
 * when given; a chat's operation, the most frequent, is resolved inline.
 */
static inline int dbr__route(struct dbr *db, const char *source,
			     const char *scope, int64_t chat, bool by_chat,
			     struct dbr_source_config **out, int *reason,
			     struct dbr_error *err)
{
	if (by_chat && !source && !scope) {
		*out = dbr__route_chat(db, chat, reason);
		dbr__route_note(db, chat, *reason);
		return DBR_OK;
	}
	return dbr__route_named(db, source, scope, out, reason, err);
}

#endif /* DBR_HANDLE_H */
