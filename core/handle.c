/*
 * handle.c - opening and closing a handle, routing, and the per-source
 * information calls.
 */
#include <stdio.h>
#include <string.h>

#include "handle.h"
#include "option.h"

int dbr_version_number(void)
{
	return DBR_VERSION_NUMBER;
}

const char *dbr_version(void)
{
	return DBR_VERSION_STRING;
}

/*
 * Releases the first `pools` pools and the first `health` health records:
 * a partial dbr_open() has initialised only those, and destroying a mutex
 * that was never initialised is undefined.
 */
static void handle_free(struct dbr *db, size_t pools, size_t health)
{
	size_t i;

	for (i = 0; i < pools; i++)
		dbr__pool_release(&db->pools[i]);
	for (i = 0; i < health; i++)
		dbr__health_release(&db->health[i]);
	dbr__free(db->pools);
	dbr__free(db->health);
	dbr__config_free(db->cfg);
	dbr__free(db);
}

int dbr_open(struct dbr **out, const char *config_path,
	     const struct dbr_open_options *opts, struct dbr_error *err)
{
	struct dbr_open_options o = { sizeof(o), NULL, NULL, 0 };
	struct dbr *db;
	size_t npools = 0, nhealth = 0;
	int rc;

	if (out)
		*out = NULL;
	if (!out || !config_path)
		return dbr__error_set(err, DBR_E_MISUSE, NULL,
				      "dbr_open: out and config_path are "
				      "required");
	if (opts) {
		if (opts->size <
		    offsetof(struct dbr_open_options, log_level) + sizeof(int))
			return dbr__error_set(err, DBR_E_MISUSE, NULL,
					      "dbr_open: options of %zu bytes "
					      "are too short",
					      opts->size);
		memcpy(&o, opts,
		       opts->size < sizeof(o) ? opts->size : sizeof(o));
	}
	db = dbr__calloc(1, sizeof(*db));
	if (!db)
		return dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
	db->log.fn = o.log_fn;
	db->log.ud = o.log_ud;
	db->log.level = o.log_level ? o.log_level : DBR_LOG_WARN;
	atomic_init(&db->misses, 0);
	rc = dbr__config_load(config_path, &db->log, &db->cfg, err);
	if (rc)
		goto fail;
	if (!o.log_level)
		db->log.level = db->cfg->log_level;
	/* Zeroed pools and health need no release until initialised. */
	db->pools = dbr__calloc(db->cfg->nsources, sizeof(*db->pools));
	db->health = dbr__calloc(db->cfg->nsources, sizeof(*db->health));
	if (!db->pools || !db->health) {
		rc = dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
		goto fail;
	}
	while (npools < db->cfg->nsources) {
		rc = dbr__pool_init(&db->pools[npools],
				    &db->cfg->sources[npools]);
		if (rc)
			break;
		npools++;
		rc = dbr__health_init(&db->health[nhealth]);
		if (rc)
			break;
		nhealth++;
	}
	if (rc) {
		dbr__error_set(err, rc, NULL, "cannot create pools");
		goto fail;
	}
	dbr__log(&db->log, DBR_LOG_INFO, NULL,
		 "%s: %zu sources, %zu chat mappings, default source '%s'",
		 config_path, db->cfg->nsources, db->cfg->router.count,
		 db->cfg->sources[db->cfg->default_source].name);
	*out = db;
	return DBR_OK;
fail:
	handle_free(db, npools, nhealth);
	return rc;
}

void dbr_close(struct dbr *db)
{
	if (db)
		handle_free(db, db->cfg->nsources, db->cfg->nsources);
}

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

int dbr__route_named(struct dbr *db, const char *source, const char *scope,
		     struct dbr_source_config **out, int *reason,
		     struct dbr_error *err)
{
	const struct dbr__config *cfg = db->cfg;
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

int dbr_chat_parse(const char *text, int64_t *chat)
{
	if (chat)
		*chat = 0;
	if (!text || !chat || dbr__parse_int64(text, chat))
		return DBR_E_MISUSE;
	return DBR_OK;
}

int dbr_route_chat(struct dbr *db, int64_t chat, const char **source,
		   int *reason)
{
	struct dbr_source_config *s;
	int r;

	if (source)
		*source = NULL;
	if (reason)
		*reason = 0;
	if (!db)
		return DBR_E_MISUSE;
	s = dbr__route_chat(db, chat, &r);
	if (source)
		*source = s->name;
	if (reason)
		*reason = r;
	dbr__route_note(db, chat, r);
	return DBR_OK;
}

int dbr_route_scope(struct dbr *db, const char *scope, const char **source,
		    int *reason)
{
	struct dbr_source_config *s;
	int r;

	if (source)
		*source = NULL;
	if (reason)
		*reason = 0;
	if (!db || !scope)
		return DBR_E_MISUSE;
	dbr__route_named(db, NULL, scope, &s, &r, NULL);
	if (source)
		*source = s->name;
	if (reason)
		*reason = r;
	return DBR_OK;
}

const char *dbr_route_reason_name(int reason)
{
	switch (reason) {
	case DBR_ROUTE_EXPLICIT: return "explicit";
	case DBR_ROUTE_SCOPE: return "scope";
	case DBR_ROUTE_MAPPED: return "mapped";
	case DBR_ROUTE_DEFAULT: return "default";
	default: return "?";
	}
}

size_t dbr_source_count(const struct dbr *db)
{
	return db ? db->cfg->nsources : 0;
}

const char *dbr_source_name(const struct dbr *db, size_t i)
{
	return db && i < db->cfg->nsources ? db->cfg->sources[i].name : NULL;
}

const char *dbr_source_type(const struct dbr *db, size_t i)
{
	return db && i < db->cfg->nsources ? db->cfg->sources[i].drv->vt.name
					   : NULL;
}

int dbr_source_driver(const struct dbr *db, size_t i, const char **origin,
		      const char **version)
{
	const struct dbr__driver *d;

	if (origin)
		*origin = NULL;
	if (version)
		*version = NULL;
	if (!db || i >= db->cfg->nsources)
		return DBR_E_MISUSE;
	d = db->cfg->sources[i].drv;
	if (origin)
		*origin = d->origin;
	if (version)
		*version = d->vt.version;
	return DBR_OK;
}

unsigned dbr_source_flags(const struct dbr *db, size_t i)
{
	const struct dbr_source_config *s;
	uint32_t caps;
	unsigned f = 0;

	if (!db || i >= db->cfg->nsources)
		return 0;
	s = &db->cfg->sources[i];
	caps = s->drv->vt.caps;
	if (caps & DBR_CAP_SQL)
		f |= DBR_SOURCE_SQL;
	if (caps & DBR_CAP_KV)
		f |= DBR_SOURCE_KV;
	if (s->drv->vt.begin && s->drv->vt.commit && s->drv->vt.rollback)
		f |= DBR_SOURCE_TRANSACTIONS;
	if (s->readonly)
		f |= DBR_SOURCE_READONLY;
	return f;
}

const char *dbr_default_source(const struct dbr *db)
{
	return db ? db->cfg->sources[db->cfg->default_source].name : NULL;
}

/*
 * A ping is an explicit probe: it tries the source even while it is marked
 * unavailable, and its outcome marks the source up or down.
 */
int dbr_source_ping(struct dbr *db, const char *source, struct dbr_error *err)
{
	struct dbr_source_config *s;
	struct dbr__health *h;
	struct dbr__pconn *c;
	struct dbr_error local;
	int reason, rc;

	if (!err)
		err = &local;
	if (!db)
		return dbr__error_set(err, DBR_E_MISUSE, NULL,
				      "dbr_source_ping: db is NULL");
	rc = dbr__route_named(db, source, NULL, &s, &reason, err);
	if (rc)
		return rc;
	h = &db->health[s->index];
	rc = dbr__pool_acquire(&db->pools[s->index], &c, err);
	if (!rc) {
		if (s->drv->vt.ping) {
			rc = s->drv->vt.ping(c->dc, err);
			if (rc) {
				c->errors++;
				dbr__error_source(err, s->name);
			}
		}
		dbr__pool_put(c);
	}
	if (rc == DBR_E_CONN) {
		dbr__health_down(h, &db->log, s->name, db->cfg->retry_interval,
				 err);
	} else if (!rc) {
		dbr__health_up(h, &db->log, s->name);
	}
	return rc;
}

int dbr_source_status(struct dbr *db, size_t i, int *state, int64_t *since,
		      struct dbr_error *last)
{
	struct dbr__health *h;
	bool down;

	if (state)
		*state = 0;
	if (since)
		*since = 0;
	if (!db || i >= db->cfg->nsources)
		return DBR_E_MISUSE;
	h = &db->health[i];
	pthread_mutex_lock(&h->mu);
	down = dbr__health_is_down(h);
	if (state)
		*state = down ? DBR_SOURCE_UNAVAILABLE : DBR_SOURCE_AVAILABLE;
	if (since)
		*since = down ? h->down_since : 0;
	if (last && h->has_last)
		*last = h->last;
	pthread_mutex_unlock(&h->mu);
	return DBR_OK;
}

int dbr_source_counters(struct dbr *db, size_t i, uint64_t *ops,
			uint64_t *errors, uint64_t *diverted)
{
	struct dbr__pool *p;
	struct dbr__health *h;
	uint64_t o, e;

	if (ops)
		*ops = 0;
	if (errors)
		*errors = 0;
	if (diverted)
		*diverted = 0;
	if (!db || i >= db->cfg->nsources)
		return DBR_E_MISUSE;
	p = &db->pools[i];
	h = &db->health[i];
	dbr__pool_totals(p, &o, &e);
	pthread_mutex_lock(&h->mu);
	/* Operations that found no connection never reached the pool's
	 * counts: add them to both. */
	o += h->failed_ops;
	e += h->failed_ops;
	if (diverted)
		*diverted = h->diverted;
	pthread_mutex_unlock(&h->mu);
	if (ops)
		*ops = o;
	if (errors)
		*errors = e;
	return DBR_OK;
}

int dbr_source_diverted_chats(struct dbr *db, size_t i, int64_t *chats,
			      size_t cap, size_t *n, uint64_t *beyond)
{
	struct dbr__health *h;
	size_t k;

	if (n)
		*n = 0;
	if (beyond)
		*beyond = 0;
	if (!db || i >= db->cfg->nsources || (cap && !chats))
		return DBR_E_MISUSE;
	h = &db->health[i];
	pthread_mutex_lock(&h->mu);
	for (k = 0; k < h->nchats && k < cap; k++)
		chats[k] = h->chats[k];
	if (n)
		*n = k;
	if (beyond)
		*beyond = h->chats_beyond + (h->nchats - k);
	pthread_mutex_unlock(&h->mu);
	return DBR_OK;
}

int dbr_source_close_idle(struct dbr *db, const char *source,
			  struct dbr_error *err)
{
	struct dbr_source_config *s;
	int reason, rc;
	size_t i;

	if (!db)
		return dbr__error_set(err, DBR_E_MISUSE, NULL,
				      "dbr_source_close_idle: db is NULL");
	if (!source) {
		for (i = 0; i < db->cfg->nsources; i++)
			dbr__pool_close_idle(&db->pools[i]);
		return DBR_OK;
	}
	rc = dbr__route_named(db, source, NULL, &s, &reason, err);
	if (!rc)
		dbr__pool_close_idle(&db->pools[s->index]);
	return rc;
}
