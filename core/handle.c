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
		db->pools[npools].metrics = db->cfg->metrics;
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
static int route_answer(const struct dbr_source_config *s, int r, char *source,
			size_t cap, int *reason)
{
	int rc = copy_name(source, cap, s->name);

	if (reason)
		*reason = rc ? 0 : r;
	return rc;
}

int dbr_route_chat(struct dbr *db, int64_t chat, char *source, size_t cap,
		   int *reason)
{
	struct dbr_source_config *s;
	int r;

	if (!db) {
		copy_name(source, cap, "");
		if (reason)
			*reason = 0;
		return DBR_E_MISUSE;
	}
	s = dbr__route_chat(db, chat, &r);
	dbr__route_note(db, chat, r);
	return route_answer(s, r, source, cap, reason);
}

int dbr_route_scope(struct dbr *db, const char *scope, char *source, size_t cap,
		    int *reason)
{
	struct dbr_source_config *s;
	int r;

	if (!db || !scope) {
		copy_name(source, cap, "");
		if (reason)
			*reason = 0;
		return DBR_E_MISUSE;
	}
	dbr__route_named(db, NULL, scope, &s, &r, NULL);
	return route_answer(s, r, source, cap, reason);
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

/*
 * The source a per-source call names: NULL is the default source. Fills
 * err (which may be NULL) for a NULL handle or an unknown name.
 */
static int source_of(struct dbr *db, const char *source, const char *call,
		     struct dbr_source_config **out, struct dbr_error *err)
{
	int reason;

	if (!db)
		return dbr__error_set(err, DBR_E_MISUSE, NULL, "%s: db is NULL",
				      call);
	if (!source) {
		*out = &db->cfg->sources[db->cfg->default_source];
		return DBR_OK;
	}
	return dbr__route_named(db, source, NULL, out, &reason, err);
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

int dbr_default_source(struct dbr *db, char *source, size_t cap)
{
	if (!db || !source) {
		copy_name(source, cap, "");
		return DBR_E_MISUSE;
	}
	return copy_name(source, cap,
			 db->cfg->sources[db->cfg->default_source].name);
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
	if (s->drv->vt.begin && s->drv->vt.commit && s->drv->vt.rollback)
		f |= DBR_SOURCE_TRANSACTIONS;
	if (s->readonly)
		f |= DBR_SOURCE_READONLY;
	return f;
}

int dbr_source_info(struct dbr *db, const char *source,
		    struct dbr_source_info *out, struct dbr_error *err)
{
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
	info.is_default = s->index == db->cfg->default_source;
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
	read_status(&db->health[s->index], &st, &at, last);
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
	p = &db->pools[s->index];
	h = &db->health[s->index];
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
	h = &db->health[s->index];
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
