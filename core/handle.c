/*
 * handle.c - opening and closing a handle, routing, and the per-source
 * information calls.
 */
#include <stdio.h>
#include <string.h>

#include "failover.h"
#include "option.h"
#include "refresh.h"
#include "route.h"

int dbr_version_number(void)
{
	return DBR_VERSION_NUMBER;
}

const char *dbr_version(void)
{
	return DBR_VERSION_STRING;
}

/*
 * Releases the first `n` sources' runtime: a partial dbr_open() has
 * initialised only those (and the pool, not the health, of the n+1st when
 * `pool_only`), and destroying a mutex that was never initialised is
 * undefined.
 */
static void handle_free(struct dbr *db, size_t n, bool pool_only)
{
	struct dbr__config *cfg = db->cfg;
	struct dbr__source_rt *rt;
	struct dbr__retired *r;
	size_t i;

	dbr__refresh_stop(db);
	dbr__snaps_release(&db->snaps);
	for (i = 0; cfg && i < cfg->nsources; i++) {
		rt = cfg->sources[i].rt;
		if (i < n || (i == n && pool_only))
			dbr__pool_release(&rt->pool);
		if (i < n)
			dbr__health_release(&rt->health);
		dbr__free(rt);
	}
	/* The runtimes a reload retired, then the configurations it
	 * replaced: a pool closes its connections through its source's
	 * entry, which may be in any of them. */
	for (r = db->retired; r; r = r->next)
		if (r->rt)
			dbr__source_rt_free(r->rt);
	while ((r = db->retired)) {
		db->retired = r->next;
		dbr__config_free(r->cfg);
		dbr__free(r);
	}
	dbr__config_free(cfg);
	dbr__audit_release(&db->audit);
	pthread_mutex_destroy(&db->reload_mu);
	dbr__free(db);
}

void dbr__source_rt_free(struct dbr__source_rt *rt)
{
	dbr__pool_release(&rt->pool);
	dbr__health_release(&rt->health);
	dbr__free(rt);
}

/*
 * A new runtime for s: its pool and health. On failure, *pool_only says
 * whether the pool (not the health) was initialised; s->rt is set as soon
 * as it is allocated.
 */
int dbr__source_rt_new(struct dbr_source_config *s,
		       const struct dbr__config *cfg, bool *pool_only,
		       struct dbr_error *err)
{
	int rc;

	*pool_only = false;
	s->rt = dbr__calloc(1, sizeof(*s->rt));
	if (!s->rt)
		return dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
	rc = dbr__pool_init(&s->rt->pool, s);
	if (!rc) {
		s->rt->pool.metrics = cfg->metrics;
		s->rt->pool.sample = cfg->timing_sample ? cfg->timing_sample
							: DBR__SAMPLE_DEFAULT;
		*pool_only = true;
		rc = dbr__health_init(&s->rt->health);
	}
	if (rc)
		return dbr__error_set(err, rc, NULL, "cannot create pools");
	*pool_only = false;
	return DBR_OK;
}

/* Each source's pool and health. */
static int open_sources(struct dbr *db, size_t *n, bool *pool_only,
			struct dbr_error *err)
{
	struct dbr__config *cfg = db->cfg;
	int rc;

	for (*n = 0; *n < cfg->nsources; ++*n) {
		rc = dbr__source_rt_new(&cfg->sources[*n], cfg, pool_only, err);
		if (rc)
			return rc;
	}
	return DBR_OK;
}

int dbr_open(struct dbr **out, const char *config_path,
	     const struct dbr_open_options *opts, struct dbr_error *err)
{
	struct dbr_open_options o = { .size = sizeof(o) };
	struct dbr__config *cfg = NULL;
	struct dbr *db;
	size_t n = 0;
	bool pool_only = false;
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
	atomic_init(&db->log.level, o.log_level ? o.log_level : DBR_LOG_WARN);
	db->log_fixed = o.log_level != 0;
	atomic_init(&db->misses, 0);
	atomic_init(&db->reloads, 0);
	atomic_init(&db->reloads_failed, 0);
	atomic_init(&db->cfg, NULL);
	if (pthread_mutex_init(&db->reload_mu, NULL)) {
		dbr__free(db);
		return dbr__error_set(err, DBR_E_RESOURCE, NULL,
				      "cannot create a mutex");
	}
	if (dbr__audit_init(&db->audit, o.audit_fn, o.audit_ud, &db->log)) {
		pthread_mutex_destroy(&db->reload_mu);
		dbr__free(db);
		return dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
	}
	rc = dbr__config_load(config_path, &db->log, &cfg, err);
	if (rc)
		goto fail;
	db->cfg = cfg;
	if (!o.log_level)
		db->log.level = cfg->log_level;
	if (cfg->audit_file && dbr__audit_file(&db->audit, cfg->audit_file)) {
		rc = dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
		goto fail;
	}
	rc = open_sources(db, &n, &pool_only, err);
	if (rc)
		goto fail;
	/* Without a [mapping] store, no store is expected: routing is the
	 * INI's alone, as before 0.4. */
	rc = dbr__snaps_init(&db->snaps, db->cfg, db->cfg->has_store);
	if (rc) {
		dbr__error_set(err, rc, NULL, "out of memory");
		goto fail;
	}
	if (db->cfg->has_store &&
	    (rc = dbr__refresh_start(db, !(o.flags & DBR_HANDLE_NO_REFRESH),
				     err)))
		goto fail;
	dbr__log(&db->log, DBR_LOG_INFO, NULL,
		 "%s: %zu sources, %zu chat mappings, default source '%s'",
		 config_path, cfg->nsources, cfg->chats.count,
		 cfg->sources[cfg->default_source].name);
	*out = db;
	return DBR_OK;
fail:
	handle_free(db, n, pool_only);
	return rc;
}

void dbr_close(struct dbr *db)
{
	if (!db)
		return;
	dbr__failover_flush(db);
	handle_free(db, db->cfg->nsources, false);
}

int dbr_chat_parse(const char *text, int64_t *chat)
{
	if (chat)
		*chat = 0;
	if (!text || !chat || dbr__parse_int64(text, chat))
		return DBR_E_MISUSE;
	return DBR_OK;
}

/*
 * The source a per-source call names: NULL is the default source. Fills
 * err (which may be NULL) for a NULL handle or an unknown name.
 */
static int source_of(struct dbr *db, const char *source, const char *call,
		     struct dbr_source_config **out, struct dbr_error *err)
{
	const struct dbr__config *cfg;
	int reason;

	if (!db)
		return dbr__error_set(err, DBR_E_MISUSE, NULL, "%s: db is NULL",
				      call);
	cfg = db->cfg; /* one load: a reload may replace it */
	if (!source) {
		*out = &cfg->sources[cfg->default_source];
		return DBR_OK;
	}
	return dbr__route_named(cfg, source, NULL, out, &reason, err);
}

/*
 * Check a caller's size-prefixed struct: at least `min` bytes (the struct
 * as 0.3 defined it). Returns how many bytes to write.
 */
static int out_size(const size_t *size, size_t min, size_t have,
		    const char *call, size_t *n, struct dbr_error *err)
{
	if (!size)
		return dbr__error_set(err, DBR_E_MISUSE, NULL,
				      "%s: out is NULL", call);
	if (*size < min)
		return dbr__error_set(err, DBR_E_MISUSE, NULL,
				      "%s: out->size is %zu, expected at least "
				      "%zu",
				      call, *size, min);
	*n = *size < have ? *size : have;
	return DBR_OK;
}

int dbr_source_names(struct dbr *db, char ***names, size_t *count,
		     struct dbr_error *err)
{
	const struct dbr__config *cfg;
	size_t i, bytes;
	char **v, *p;

	if (names)
		*names = NULL;
	if (count)
		*count = 0;
	if (!db || !names)
		return dbr__error_set(err, DBR_E_MISUSE, NULL,
				      "dbr_source_names: db and names are "
				      "required");
	cfg = db->cfg;
	bytes = (cfg->nsources + 1) * sizeof(char *);
	for (i = 0; i < cfg->nsources; i++)
		bytes += strlen(cfg->sources[i].name) + 1;
	v = dbr__malloc(bytes);
	if (!v)
		return dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
	/* The strings follow the array, in the same allocation. */
	p = (char *)(v + cfg->nsources + 1);
	for (i = 0; i < cfg->nsources; i++) {
		size_t len = strlen(cfg->sources[i].name) + 1;

		memcpy(p, cfg->sources[i].name, len);
		v[i] = p;
		p += len;
	}
	v[cfg->nsources] = NULL;
	*names = v;
	if (count)
		*count = cfg->nsources;
	return DBR_OK;
}

static unsigned source_flags(const struct dbr_source_config *s)
{
	uint32_t caps = s->drv->vt.caps;
	unsigned f = 0;

	if (caps & DBR_CAP_SQL)
		f |= DBR_SOURCE_SQL;
	if (caps & DBR_CAP_KV)
		f |= DBR_SOURCE_KV;
	if (dbr__source_has_tx(s))
		f |= DBR_SOURCE_TRANSACTIONS;
	if (s->readonly)
		f |= DBR_SOURCE_READONLY;
	return f;
}

int dbr_source_info(struct dbr *db, const char *source,
		    struct dbr_source_info *out, struct dbr_error *err)
{
	const struct dbr__config *cfg;
	struct dbr_source_config *s;
	struct dbr_source_info info;
	size_t n;
	int rc;

	rc = out_size(out ? &out->size : NULL, DBR__SOURCE_INFO_SIZE_0_3,
		      sizeof(info), "dbr_source_info", &n, err);
	if (!rc)
		rc = source_of(db, source, "dbr_source_info", &s, err);
	if (rc)
		return rc;
	memset(&info, 0, sizeof(info));
	info.size = out->size;
	dbr__copy_text(info.name, sizeof(info.name), s->name);
	dbr__copy_text(info.type, sizeof(info.type), s->drv->vt.name);
	info.flags = source_flags(s);
	cfg = db->cfg; /* one load: a reload may replace it */
	info.is_default =
		!strcmp(s->name, cfg->sources[cfg->default_source].name);
	dbr__copy_text(info.driver_version, sizeof(info.driver_version),
		       s->drv->vt.version ? s->drv->vt.version : "");
	dbr__copy_text(info.driver_origin, sizeof(info.driver_origin),
		       s->drv->origin);
	memcpy(out, &info, n);
	return DBR_OK;
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
	rc = dbr__route_named(db->cfg, source, NULL, &s, &reason, err);
	if (rc)
		return rc;
	h = &s->rt->health;
	rc = dbr__pool_acquire(&s->rt->pool, &c, err);
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

/* A source's availability, read under its health's lock. */
static void read_status(struct dbr__health *h, int *state, int64_t *since,
			struct dbr_error *last)
{
	bool down;

	pthread_mutex_lock(&h->mu);
	down = dbr__health_is_down(h);
	*state = down ? DBR_SOURCE_UNAVAILABLE : DBR_SOURCE_AVAILABLE;
	*since = down ? h->down_since : 0;
	if (last && h->has_last)
		*last = h->last;
	pthread_mutex_unlock(&h->mu);
}

int dbr_source_status(struct dbr *db, const char *source, int *state,
		      int64_t *since, struct dbr_error *last)
{
	struct dbr_source_config *s;
	int st, rc;
	int64_t at;

	if (state)
		*state = 0;
	if (since)
		*since = 0;
	rc = source_of(db, source, "dbr_source_status", &s, NULL);
	if (rc)
		return rc;
	read_status(&s->rt->health, &st, &at, last);
	if (state)
		*state = st;
	if (since)
		*since = at;
	return DBR_OK;
}

/* The 0.4 fields of dbr_source_stats(). */
static void fill_metrics(struct dbr__pool *p, struct dbr__health *h,
			 struct dbr_source_stats *st)
{
	size_t i;

	st->metrics = p->metrics;
	/* Counted apart from the census: at most a recent value of it. */
	st->pool_opening = (uint32_t)dbr__pool_count(p, DBR__SLOT_OPENING);
	if (st->pool_opening > st->pool_in_use)
		st->pool_opening = st->pool_in_use;
	dbr__pool_metrics(p, st);
	pthread_mutex_lock(&h->mu);
	for (i = 0; i < DBR__ERROR_CODES; i++)
		st->errors_by_code[i] = h->errors[i];
	st->probes = h->probes;
	st->state_since = h->state_since;
	pthread_mutex_unlock(&h->mu);
}

int dbr_source_stats(struct dbr *db, const char *source,
		     struct dbr_source_stats *out, struct dbr_error *err)
{
	struct dbr_source_config *s;
	struct dbr_source_stats st;
	struct dbr__pool *p;
	struct dbr__health *h;
	size_t n = 0, idle, in_use;
	int rc;

	rc = out_size(out ? &out->size : NULL, DBR__SOURCE_STATS_SIZE_0_3,
		      sizeof(st), "dbr_source_stats", &n, err);
	if (!rc)
		rc = source_of(db, source, "dbr_source_stats", &s, err);
	if (rc)
		return rc;
	memset(&st, 0, sizeof(st));
	st.size = out->size;
	p = &s->rt->pool;
	h = &s->rt->health;
	dbr__pool_totals(p, &st.ops, &st.errors);
	read_status(h, &st.state, &st.since, NULL);
	pthread_mutex_lock(&h->mu);
	/* Operations that found no connection never reached the pool's
	 * counts: add them to both. */
	st.ops += h->failed_ops;
	st.errors += h->failed_ops;
	st.diverted = h->diverted;
	pthread_mutex_unlock(&h->mu);
	st.pool_max = (uint32_t)p->max;
	dbr__pool_census(p, &idle, &in_use);
	st.pool_idle = (uint32_t)idle;
	st.pool_in_use = (uint32_t)in_use;
	st.pool_open = st.pool_idle + st.pool_in_use;
	st.pool_waiters = (uint32_t)atomic_load(&p->waiters);
	fill_metrics(p, h, &st);
	memcpy(out, &st, n);
	return DBR_OK;
}

int dbr_source_diverted_chats(struct dbr *db, const char *source,
			      int64_t *chats, size_t cap, size_t *n,
			      uint64_t *beyond)
{
	struct dbr_source_config *s;
	struct dbr__health *h;
	size_t k;
	int rc;

	if (n)
		*n = 0;
	if (beyond)
		*beyond = 0;
	if (cap && !chats)
		return DBR_E_MISUSE;
	rc = source_of(db, source, "dbr_source_diverted_chats", &s, NULL);
	if (rc)
		return rc;
	h = &s->rt->health;
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
		const struct dbr__config *cfg = db->cfg;

		for (i = 0; i < cfg->nsources; i++)
			dbr__pool_close_idle(&cfg->sources[i].rt->pool);
		return DBR_OK;
	}
	rc = dbr__route_named(db->cfg, source, NULL, &s, &reason, err);
	if (!rc)
		dbr__pool_close_idle(&s->rt->pool);
	return rc;
}
