/*
 * failover.c - not waiting on unavailable sources, probing them once per
 * retry interval, diverting to the default source or failing fast.
 */
#include <stdio.h>
#include <string.h>

#include "failover.h"

static struct dbr__health *health_of(struct dbr *db,
				     const struct dbr_source_config *s)
{
	(void)db;
	return &s->rt->health;
}

static int unavailable(struct dbr *db, struct dbr_source_config *s,
		       struct dbr_error *err)
{
	struct dbr__health *h = health_of(db, s);
	struct dbr_error last;
	bool has_last;

	pthread_mutex_lock(&h->mu);
	last = h->last;
	has_last = h->has_last;
	pthread_mutex_unlock(&h->mu);
	dbr__error_set(err, DBR_E_UNAVAILABLE, s->name,
		       "source '%s' is unavailable%s%s%s", s->name,
		       has_last ? " (" : "",
		       has_last ? dbr__error_bare(&last, s->name) : "",
		       has_last ? ")" : "");
	return DBR_E_UNAVAILABLE;
}

/* Take from s's pool, keeping s's health up to date. */
static int take_from(struct dbr *db, struct dbr_source_config *s,
		     const struct timespec *by, struct dbr__pconn **pc,
		     struct dbr_error *err)
{
	struct dbr__health *h = health_of(db, s);
	bool probe = false;
	int rc;

	if (dbr__health_is_down(h)) {
		int claim = dbr__health_try_probe(h);

		if (claim == DBR__PROBE_NOT_DUE)
			return unavailable(db, s, err);
		probe = claim == DBR__PROBE_CLAIMED;
	}
	rc = dbr__pool_acquire_by(&s->rt->pool, by, pc, err);
	if (rc == DBR_OK) {
		if (probe)
			dbr__health_up(h, &db->log, s->name);
		return DBR_OK;
	}
	if (rc == DBR_E_CONN) {
		dbr__health_down(h, &db->log, s->name, db->cfg->retry_interval,
				 err);
		return unavailable(db, s, err);
	}
	/* Busy (the pool's wait ended), not down. */
	dbr__health_error(h, true, rc, err);
	if (probe)
		dbr__health_end_probe(h);
	return rc;
}

static bool same_kind(const struct dbr_source_config *a,
		      const struct dbr_source_config *b)
{
	uint32_t mask = DBR_CAP_SQL | DBR_CAP_KV;

	return (a->drv->vt.caps & mask) == (b->drv->vt.caps & mask);
}

int dbr__failover_take(struct dbr *db, struct dbr_source_config *s,
		       bool may_divert, const struct timespec *by,
		       struct dbr__pconn **pc, struct dbr_source_config **from,
		       struct dbr_error *err)
{
	/* One load: a reload may publish another configuration. */
	const struct dbr__config *cfg = db->cfg;
	struct dbr_source_config *def = &cfg->sources[cfg->default_source];
	int rc;

	*from = NULL;
	rc = take_from(db, s, by, pc, err);
	/* A pool a reload retired is not down: never diverted. */
	if (DBR_UNLIKELY(rc && atomic_load(&s->rt->pool.retired)))
		return rc;
	if (rc == DBR_E_UNAVAILABLE && may_divert && s != def &&
	    s->fallback == DBR__FALLBACK_DEFAULT && same_kind(s, def)) {
		/* Nothing was sent: run it on the default source instead. */
		rc = take_from(db, def, by, pc, err);
		if (!rc) {
			uint64_t n = dbr__health_diverted(
				health_of(db, s), &db->log, s->name, def->name);

			*from = s;
			if (n && dbr__audit_on(&db->audit))
				dbr__audit_diverted(&db->audit, s->name,
						    def->name, n);
			return DBR_OK;
		}
	}
	/* An operation of s that found no connection anywhere. */
	if (rc == DBR_E_UNAVAILABLE)
		dbr__health_error(health_of(db, s), true, rc, NULL);
	return rc;
}

void dbr__failover_lost(struct dbr *db, struct dbr_source_config *s)
{
	const struct dbr_driver *vt = &s->drv->vt;
	struct dbr_driver_conn *dc;
	struct dbr_error err;

	int rc = vt->open(s, &dc, &err);

	if (rc == DBR_OK) {
		vt->close(dc);
		return;
	}
	/* Only a server that cannot be reached is down; a local shortage
	 * (file descriptors) or a busy file is not. */
	if (rc != DBR_E_CONN)
		return;
	dbr__error_source(&err, s->name);
	dbr__health_down(health_of(db, s), &db->log, s->name,
			 db->cfg->retry_interval, &err);
}

void dbr__failover_flush(struct dbr *db)
{
	const struct dbr__config *cfg = db->cfg;
	const char *def = cfg->sources[cfg->default_source].name;
	uint64_t n;
	size_t i;

	for (i = 0; i < cfg->nsources; i++) {
		n = dbr__health_divert_flush(&cfg->sources[i].rt->health);
		if (n && dbr__audit_on(&db->audit))
			dbr__audit_diverted(&db->audit, cfg->sources[i].name,
					    def, n);
	}
}
