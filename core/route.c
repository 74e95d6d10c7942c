/*
 * route.c - the routing decision out of line: named sources and scopes,
 * refusals, and the calls that explain a route.
 */
#include <string.h>

#include "route.h"

void dbr__route_miss(struct dbr *db, int64_t chat)
{
	/* Counted only when debugging: a shared counter on every unmapped
	 * chat would make threads contend. */
	dbr__log(&db->log, DBR_LOG_DEBUG, NULL,
		 "chat %lld is not mapped (miss %llu): default source",
		 (long long)chat,
		 (unsigned long long)atomic_fetch_add_explicit(
			 &db->misses, 1, memory_order_relaxed) +
			 1);
}

DBR_COLD int dbr__route_refused(const struct dbr__snap *sn, int64_t chat,
				int rc, uint32_t name, struct dbr_error *err)
{
	if (rc == DBR_E_NOTLOADED)
		return dbr__error_set(err, rc, NULL,
				      "chat %lld: the mapping store's table "
				      "is not loaded yet",
				      (long long)chat);
	dbr__error_set(err, rc, sn->names[name],
		       "chat %lld: the mapping store maps it to source '%s', "
		       "which this configuration lacks",
		       (long long)chat, sn->names[name]);
	dbr__error_hint(err, "add the source to the configuration, or map "
			     "the chat to a source it has");
	return rc;
}

int dbr__route_named(const struct dbr__config *cfg, const char *source,
		     const char *scope, struct dbr_source_config **out,
		     int *reason, struct dbr_error *err)
{
	uint32_t idx = cfg->default_source;
	size_t i;

	*reason = DBR_ROUTE_DEFAULT;
	if (source) {
		*out = dbr__config_source(cfg, source);
		*reason = DBR_ROUTE_EXPLICIT;
		if (!*out)
			return dbr__error_set(err, DBR_E_NOTFOUND, source,
					      "no source named '%s'", source);
		return DBR_OK;
	}
	for (i = 0; scope && i < cfg->nscopes; i++) {
		if (!strcmp(cfg->scopes[i].name, scope)) {
			idx = cfg->scopes[i].source;
			*reason = DBR_ROUTE_SCOPE;
			break;
		}
	}
	*out = &cfg->sources[idx];
	return DBR_OK;
}

/*
 * Copy a source's name into a caller's buffer of cap bytes: MISUSE, and the
 * buffer zeroed, for a name that does not fit (never a cut name). NULL dst
 * copies nothing.
 */
static int copy_name(char *dst, size_t cap, const char *name)
{
	size_t i;

	if (!dst)
		return DBR_OK;
	/* A byte loop: names are short, and routing calls this on every
	 * answer (strlen and memcpy cost more in calls than in bytes). */
	for (i = 0; i < cap; i++) {
		dst[i] = name[i];
		if (!name[i])
			return DBR_OK;
	}
	/* Too long: no part of the name is left behind. */
	memset(dst, 0, cap);
	return DBR_E_MISUSE;
}

/* Answer a route query: the name copied, the reason given, or neither. */
static int route_answer(const char *name, int r, int status, char *source,
			size_t cap, int *reason)
{
	int rc = copy_name(source, cap, name);

	if (reason)
		*reason = rc ? 0 : r;
	return rc ? rc : status;
}

int dbr_route_chat(struct dbr *db, int64_t chat, char *source, size_t cap,
		   int *reason)
{
	const struct dbr__snap *sn;
	struct dbr__ebr_rec *rec;
	uint32_t idx, name;
	int r, rc;

	if (!db || !(rec = dbr__ebr_enter())) {
		copy_name(source, cap, "");
		if (reason)
			*reason = 0;
		return db ? DBR_E_NOMEM : DBR_E_MISUSE;
	}
	sn = dbr__snap_current(&db->snaps);
	rc = dbr__route_chat(sn, chat, &idx, &r, &name);
	if (!rc) {
		dbr__route_note(db, chat, r);
		rc = route_answer(sn->cfg->sources[idx].name, r, DBR_OK, source,
				  cap, reason);
	} else if (rc == DBR_E_NOTFOUND) {
		rc = route_answer(sn->names[name], r, rc, source, cap, reason);
	} else {
		route_answer("", 0, rc, source, cap, reason);
	}
	dbr__ebr_exit(rec);
	return rc;
}

int dbr_route_scope(struct dbr *db, const char *scope, char *source, size_t cap,
		    int *reason)
{
	struct dbr_source_config *s;
	struct dbr__ebr_rec *rec;
	int r, rc;

	if (!db || !scope || !(rec = dbr__ebr_enter())) {
		copy_name(source, cap, "");
		if (reason)
			*reason = 0;
		return db && scope ? DBR_E_NOMEM : DBR_E_MISUSE;
	}
	dbr__route_named(dbr__snap_current(&db->snaps)->cfg, NULL, scope, &s,
			 &r, NULL);
	rc = route_answer(s->name, r, DBR_OK, source, cap, reason);
	dbr__ebr_exit(rec);
	return rc;
}

const char *dbr_route_reason_name(int reason)
{
	switch (reason) {
	case DBR_ROUTE_EXPLICIT: return "explicit";
	case DBR_ROUTE_SCOPE: return "scope";
	case DBR_ROUTE_MAPPED: return "mapped";
	case DBR_ROUTE_DEFAULT: return "default";
	case DBR_ROUTE_STORE: return "store";
	default: return "?";
	}
}

int dbr_default_source(struct dbr *db, char *source, size_t cap)
{
	const struct dbr__config *cfg;
	struct dbr__ebr_rec *rec;
	int rc;

	if (!db || !source || !(rec = dbr__ebr_enter())) {
		copy_name(source, cap, "");
		return db && source ? DBR_E_NOMEM : DBR_E_MISUSE;
	}
	cfg = dbr__snap_current(&db->snaps)->cfg;
	rc = copy_name(source, cap, cfg->sources[cfg->default_source].name);
	dbr__ebr_exit(rec);
	return rc;
}
