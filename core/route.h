/*
 * route.h - the routing decision: which source an operation runs on.
 *
 * The order: an explicit source, else a scope, else (for a chat) the
 * mapping store's row, the INI's [chat_mapping], the default source. A
 * decision reads one snapshot (snapshot.h), which the caller holds inside
 * an epoch section from the decision until its connection is taken.
 */
#ifndef DBR_ROUTE_H
#define DBR_ROUTE_H

#include "handle.h"

/* Log an unmapped chat (at debug level only). */
void dbr__route_miss(struct dbr *db, int64_t chat);

/*
 * Fill err for a chat the store does not let through: rc is
 * DBR_E_NOTLOADED (no table loaded yet) or DBR_E_NOTFOUND (its row names
 * sn->names[name], a source this process lacks). Returns rc.
 */
int dbr__route_refused(const struct dbr__snap *sn, int64_t chat, int rc,
		       uint32_t name, struct dbr_error *err);

/*
 * The source index of sn->cfg a chat's operation goes to, and why.
 * Returns DBR_OK, DBR_E_NOTLOADED (a store is expected and has not
 * loaded: never the INI or the default, which could be wrong), or
 * DBR_E_NOTFOUND (the store's row names a source this process lacks;
 * *name is that row's name index). Inline: it is on every operation's
 * path; without a store it costs one predictable branch more than the
 * INI's table alone.
 */
static DBR_INLINE int dbr__route_chat(const struct dbr__snap *sn, int64_t chat,
				      uint32_t *idx, int *reason,
				      uint32_t *name)
{
	const struct dbr__config *cfg = sn->cfg;
	uint32_t hit;
	bool mapped;

	if (sn->store_expected) {
		if (!sn->base)
			return DBR_E_NOTLOADED;
		hit = dbr__snap_store_lookup(sn, chat, name);
		if (hit != DBR__CHAT_MISS) {
			*reason = DBR_ROUTE_STORE;
			*idx = hit;
			return hit == DBR__SNAP_LACKING ? DBR_E_NOTFOUND
							: DBR_OK;
		}
	}
	hit = dbr__chat_table_lookup(&cfg->chats, chat);
	mapped = hit != DBR__CHAT_MISS;
	/* Selects, not branches: mapped or not is unpredictable. */
	*reason = mapped ? DBR_ROUTE_MAPPED : DBR_ROUTE_DEFAULT;
	*idx = mapped ? hit : cfg->default_source;
	return DBR_OK;
}

/* Log an unmapped chat when debugging. Called once the answer is stored,
 * so that the rare log is the last call and the lookup keeps its values
 * in registers. */
static inline void dbr__route_note(struct dbr *db, int64_t chat, int reason)
{
	if (DBR_UNLIKELY(dbr__log_enabled(&db->log, DBR_LOG_DEBUG)) &&
	    reason == DBR_ROUTE_DEFAULT)
		dbr__route_miss(db, chat);
}

/* Where an operation without a chat runs: an explicit source (DBR_E_NOTFOUND
 * for an unknown name), else a scope, else the default source. */
int dbr__route_named(const struct dbr__config *cfg, const char *source,
		     const char *scope, struct dbr_source_config **out,
		     int *reason, struct dbr_error *err);

/*
 * Resolve where an operation runs, against sn. `source` and `scope` are
 * tried first when given; a chat's operation, the most frequent, is
 * resolved inline.
 */
static DBR_INLINE int dbr__route(struct dbr *db, const struct dbr__snap *sn,
				 const char *source, const char *scope,
				 int64_t chat, bool by_chat,
				 struct dbr_source_config **out, int *reason,
				 struct dbr_error *err)
{
	uint32_t idx, name = 0; /* name: read only for a refused chat */
	int rc;

	if (by_chat && !source && !scope) {
		rc = dbr__route_chat(sn, chat, &idx, reason, &name);
		if (DBR_UNLIKELY(rc))
			return dbr__route_refused(sn, chat, rc, name, err);
		*out = &sn->cfg->sources[idx];
		dbr__route_note(db, chat, *reason);
		return DBR_OK;
	}
	return dbr__route_named(sn->cfg, source, scope, out, reason, err);
}

#endif /* DBR_ROUTE_H */
