/*
 * refresh.c - a handle's mapping-store refresher.
 *
 * dbr_open() reads the store's first snapshot, then one thread per handle
 * keeps it current: it waits up to [mapping] poll_interval (or less, when
 * a change notification wakes it), reads the change log after the version
 * held and applies it as an overlay (snapshot.h), folding a grown overlay
 * into a new base in the background. Routing never waits for it: a store
 * that cannot be read leaves the last snapshot in place, and the thread
 * tries again at the next interval. The thread also records the handle in
 * the store's clients table (host, pid, version seen, last heartbeat).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "handle.h"
#include "log.h"
#include "refresh.h"

/* A handle records itself once it has lived this long (a short CLI run
 * never does), then every BEAT_EVERY seconds and after a version change. */
#define BEAT_FIRST 2.0
#define BEAT_EVERY 5.0

struct dbr__refresher {
	struct dbr *db;
	/* A connection of its own listening for the store's signal, when
	 * its driver can (the thread's alone), and when it last failed. */
	struct dbr_driver_conn *watch;
	double watch_failed;
	atomic_bool signalling; /* watch is listening */
	pthread_t thread;
	bool threaded; /* thread was started */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop; /* under mu */
	char client_id[300];
	double opened;		  /* dbr__now() at open */
	_Atomic double confirmed; /* dbr__now() the store last answered */
	atomic_int last_rc;	  /* the last attempt's result */
	atomic_bool down_logged;  /* a failure was logged since */
	char message[DBR_ERROR_MESSAGE_SIZE]; /* the last failure, under mu */
};

static atomic_uint next_client = 1;

/* Seconds after open during which a store without its tables is told at
 * info level only (a `mapping init` may be creating them). */
#define NOT_INIT_GRACE 10.0

static uint64_t held_version(struct dbr *db)
{
	struct dbr__ebr_rec *rec = dbr__ebr_enter();
	uint64_t v = 0;

	if (rec) {
		v = dbr__snap_current(&db->snaps)->version;
		dbr__ebr_exit(rec);
	}
	return v;
}

static bool loaded(struct dbr *db)
{
	struct dbr__ebr_rec *rec = dbr__ebr_enter();
	bool yes = false;

	if (rec) {
		yes = dbr__snap_current(&db->snaps)->base != NULL;
		dbr__ebr_exit(rec);
	}
	return yes;
}

/* The whole table, replacing what is held. */
static int load_all(struct dbr *db, struct dbr_error *err)
{
	struct dbr_mapping_entry *e = NULL;
	struct dbr__store_row *rows = NULL;
	int64_t version = 0;
	size_t i, n = 0;
	int rc = dbr_mapping_read(db, NULL, NULL, &e, &n, &version, err);

	if (!rc && n && !(rows = dbr__calloc(n, sizeof(*rows))))
		rc = dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
	for (i = 0; !rc && i < n; i++) {
		rows[i].chat = e[i].chat;
		rows[i].source = e[i].source;
	}
	if (!rc)
		rc = dbr__snap_store_load(&db->snaps, (uint64_t)version, rows,
					  n, err);
	dbr__free(rows);
	dbr_free(e);
	return rc;
}

/* DBR_AUDIT_MAPPING: the version now held and the chats it changed. */
static void audit_seen(struct dbr *db, const struct dbr_mapping_change *c,
		       size_t n)
{
	struct dbr_audit_event ev = { 0 };
	int64_t *chats;
	size_t i;

	if (!dbr__audit_on(&db->audit) ||
	    !(chats = dbr__calloc(n, sizeof(*chats))))
		return;
	for (i = 0; i < n; i++)
		chats[i] = c[i].chat;
	ev.kind = DBR_AUDIT_MAPPING;
	ev.version = c[n - 1].version;
	ev.chats = chats;
	ev.nchats = n;
	dbr__audit_emit(&db->audit, &ev);
	dbr__free(chats);
}

/*
 * The change log after the version held, applied as an overlay. A store
 * whose version went below the one held (re-initialised, restored) or
 * whose log does not follow it (a gap) is loaded whole instead: *odd is
 * set then, and the read does not confirm the snapshot.
 */
static int catch_up(struct dbr *db, bool *odd, struct dbr_error *err)
{
	struct dbr_mapping_change *c = NULL;
	struct dbr__store_row *rows = NULL;
	uint64_t held = held_version(db);
	int64_t cur = 0;
	size_t i, n = 0;
	bool folded;
	int rc = dbr__mapping_version(db, &cur, err);

	if (!rc)
		rc = dbr_mapping_changes(db, (int64_t)held, NULL, &c, &n, err);
	*odd = !rc && ((uint64_t)cur < held ||
		       (n && (uint64_t)c[0].version != held + 1) ||
		       (!n && (uint64_t)cur > held));
	if (*odd) {
		dbr__log(&db->log, DBR_LOG_WARN, NULL,
			 "mapping store: version %lld does not follow the "
			 "version %llu held (the store re-initialised or "
			 "restored, or its change log has a gap); loading it "
			 "whole",
			 (long long)cur, (unsigned long long)held);
		dbr_free(c);
		return load_all(db, err);
	}
	if (!rc && n && !(rows = dbr__calloc(n, sizeof(*rows))))
		rc = dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
	for (i = 0; !rc && i < n; i++) {
		rows[i].chat = c[i].chat;
		rows[i].source = c[i].source[0] ? c[i].source : NULL;
	}
	if (!rc && n && (uint64_t)c[n - 1].version > held) {
		rc = dbr__snap_store_apply(
			&db->snaps, (uint64_t)c[n - 1].version, rows, n, err);
		if (!rc) {
			dbr__log(&db->log, DBR_LOG_INFO, NULL,
				 "mapping store: version %lld applied (%zu "
				 "changes)",
				 (long long)c[n - 1].version, n);
			audit_seen(db, c, n);
			rc = dbr__snap_fold(&db->snaps, false, &folded);
		}
	}
	dbr__snap_reclaim(&db->snaps);
	dbr__free(rows);
	dbr_free(c);
	return rc;
}

/* One read of the store: the first snapshot, or the changes since. */
static void sync_once(struct dbr__refresher *r, bool first)
{
	struct dbr *db = r->db;
	struct dbr_error err = { 0 };
	bool odd = false;
	int rc = loaded(db) ? catch_up(db, &odd, &err) : load_all(db, &err);

	atomic_store(&r->last_rc, rc);
	if (!rc) {
		if (!odd)
			atomic_store(&r->confirmed, dbr__now());
		if (atomic_exchange(&r->down_logged, false))
			dbr__log(&db->log, DBR_LOG_WARN, NULL,
				 "mapping store: read again, version %llu",
				 (unsigned long long)held_version(db));
		return;
	}
	pthread_mutex_lock(&r->mu);
	snprintf(r->message, sizeof(r->message), "%s", err.message);
	pthread_mutex_unlock(&r->mu);
	if (rc == DBR_E_STMT && !loaded(db) &&
	    (first || dbr__now() - r->opened < NOT_INIT_GRACE)) {
		/* A store not initialised yet ('dbroute mapping init' on
		 * it opens a handle too, and other processes may be creating
		 * its tables meanwhile): told at info until the grace ends. */
		dbr__log(&db->log, DBR_LOG_INFO, NULL,
			 "mapping store: cannot be read (%s); chat operations "
			 "wait for it (dbroute mapping init creates its "
			 "tables)",
			 err.message);
		return;
	}
	if (atomic_exchange(&r->down_logged, true))
		return;
	if (!loaded(db))
		dbr__log(&db->log, DBR_LOG_WARN, NULL,
			 "mapping store: cannot be read (%s); chat operations "
			 "fail (mapping not loaded) until it is, retried every "
			 "%.3g s",
			 err.message, db->cfg->poll_interval);
	else
		dbr__log(&db->log, DBR_LOG_WARN, NULL,
			 "mapping store: cannot be read (%s); routing keeps "
			 "version %llu and retries every %.3g s",
			 err.message, (unsigned long long)held_version(db),
			 db->cfg->poll_interval);
}

static bool stopping(struct dbr__refresher *r)
{
	bool stop;

	pthread_mutex_lock(&r->mu);
	stop = r->stop;
	pthread_mutex_unlock(&r->mu);
	return stop;
}

/* The store's source, from one load of the configuration (a reload may
 * replace it, and move the source's index, never its name or type). */
static const struct dbr_source_config *store_src(struct dbr__refresher *r)
{
	const struct dbr__config *cfg = r->db->cfg;

	return &cfg->sources[cfg->store];
}

static void watch_close(struct dbr__refresher *r)
{
	const struct dbr_driver *vt = &store_src(r)->drv->vt;

	if (r->watch)
		vt->close(r->watch);
	r->watch = NULL;
	atomic_store(&r->signalling, false);
}

/*
 * A listening connection of its own, when the store's driver has change
 * notification (tried again a poll interval after a failure).
 */
static void watch_open(struct dbr__refresher *r)
{
	const struct dbr_source_config *src = store_src(r);
	const struct dbr_driver *vt = &src->drv->vt;
	struct dbr_error err = { 0 };
	int rc;

	if (r->watch || !vt->listen || !vt->wait_signal ||
	    dbr__now() - r->watch_failed < r->db->cfg->poll_interval)
		return;
	rc = vt->open(src, &r->watch, &err);
	if (!rc)
		rc = vt->listen(r->watch, DBR__MAPPING_CHANNEL, &err);
	if (!rc) {
		atomic_store(&r->signalling, true);
		return;
	}
	if (r->watch)
		watch_close(r);
	r->watch_failed = dbr__now();
}

/*
 * Wait on the listening connection up to `seconds`, in slices short
 * enough for dbr_close() not to wait: true when a signal came.
 */
static bool wait_signal(struct dbr__refresher *r, double seconds)
{
	const struct dbr_driver *vt = &store_src(r)->drv->vt;
	double end = dbr__now() + seconds, left;
	struct dbr_error err = { 0 };
	bool signalled = false;

	while (r->watch && !stopping(r) && (left = end - dbr__now()) > 0) {
		if (vt->wait_signal(r->watch,
				    (int)((left < 0.1 ? left : 0.1) * 1000.0),
				    &signalled, &err)) {
			dbr__log(&r->db->log, DBR_LOG_INFO, NULL,
				 "mapping store: listening ended (%s); "
				 "polling every %.3g s",
				 err.message, r->db->cfg->poll_interval);
			watch_close(r);
			r->watch_failed = dbr__now();
		} else if (signalled) {
			return true;
		}
	}
	return false;
}

/* Wait up to `seconds` (less when the store signals a change); false
 * once the handle is closing. */
static bool wait_next(struct dbr__refresher *r, double seconds)
{
	struct timespec ts;
	double end = dbr__now() + seconds;
	bool go;

	watch_open(r);
	if (r->watch && wait_signal(r, seconds))
		return !stopping(r);
	seconds = end - dbr__now();
	if (seconds <= 0)
		return !stopping(r);
	dbr__deadline(&ts, seconds);
	pthread_mutex_lock(&r->mu);
	while (!r->stop && pthread_cond_timedwait(&r->cv, &r->mu, &ts) == 0)
		;
	go = !r->stop;
	pthread_mutex_unlock(&r->mu);
	return go;
}

static void *refresher_main(void *arg)
{
	struct dbr__refresher *r = arg;
	struct dbr *db = r->db;
	struct dbr_error err;
	double now, next_beat = r->opened + BEAT_FIRST;
	uint64_t v, beaten = UINT64_MAX;

	/* Every read and heartbeat of this thread waits on the store at most
	 * its `timeout`: a hung store cannot hold dbr_close(). */
	dbr__pool_bound_thread(store_src(r)->timeout);
	while (wait_next(r, db->cfg->poll_interval)) {
		sync_once(r, false);
		now = dbr__now();
		v = held_version(db);
		if (!loaded(db) || now < r->opened + BEAT_FIRST ||
		    (now < next_beat && v == beaten))
			continue;
		if (!dbr__mapping_beat(db, r->client_id, (int64_t)v, &err))
			beaten = v;
		next_beat = now + BEAT_EVERY;
	}
	watch_close(r);
	/* The row is left behind when the store did not answer the last
	 * read: closing does not wait another timeout for it. */
	if (beaten != UINT64_MAX && atomic_load(&r->last_rc) == DBR_OK)
		dbr__mapping_leave(db, r->client_id, &err);
	return NULL;
}

int dbr__refresh_start(struct dbr *db, bool thread, struct dbr_error *err)
{
	struct dbr__refresher *r = dbr__calloc(1, sizeof(*r));
	pthread_condattr_t ca;
	char host[256];
	double bound;
	int rc;

	if (!r)
		return dbr__error_set(err, DBR_E_NOMEM, NULL, "out of memory");
	r->db = db;
	r->opened = dbr__now();
	atomic_init(&r->confirmed, 0.0);
	atomic_init(&r->last_rc, DBR_OK);
	atomic_init(&r->down_logged, false);
	atomic_init(&r->signalling, false);
	if (gethostname(host, sizeof(host)))
		snprintf(host, sizeof(host), "?");
	host[sizeof(host) - 1] = '\0';
	snprintf(r->client_id, sizeof(r->client_id), "%s:%ld:%u", host,
		 (long)getpid(), atomic_fetch_add(&next_client, 1));
	if (pthread_mutex_init(&r->mu, NULL)) {
		dbr__free(r);
		return dbr__error_set(err, DBR_E_RESOURCE, NULL,
				      "cannot create a mutex");
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	rc = pthread_cond_init(&r->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (rc) {
		pthread_mutex_destroy(&r->mu);
		dbr__free(r);
		return dbr__error_set(err, DBR_E_RESOURCE, NULL,
				      "cannot create a condition variable");
	}
	/* The first snapshot, before dbr_open() returns, bounded by the
	 * store's `timeout` for each wait on it. */
	bound = dbr__pool_bound_thread(store_src(r)->timeout);
	sync_once(r, true);
	dbr__pool_bound_thread(bound);
	if (thread && pthread_create(&r->thread, NULL, refresher_main, r)) {
		pthread_cond_destroy(&r->cv);
		pthread_mutex_destroy(&r->mu);
		dbr__free(r);
		return dbr__error_set(err, DBR_E_RESOURCE, NULL,
				      "cannot start the mapping refresher");
	}
	r->threaded = thread;
	db->refresh = r;
	return DBR_OK;
}

void dbr__refresh_stop(struct dbr *db)
{
	struct dbr__refresher *r = db->refresh;

	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	if (r->threaded)
		pthread_join(r->thread, NULL);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	dbr__free(r);
	db->refresh = NULL;
}

int64_t dbr__refresh_age_ms(const struct dbr__refresher *r)
{
	double at = atomic_load(&r->confirmed);

	if (at == 0.0)
		return -1;
	return (int64_t)((dbr__now() - at) * 1000.0);
}

int dbr_mapping_status(struct dbr *db, struct dbr_mapping_status *st,
		       struct dbr_error *err)
{
	struct dbr__refresher *r;

	if (!db || !st)
		return dbr__error_set(err, DBR_E_MISUSE, NULL,
				      "dbr_mapping_status: db and st are "
				      "required");
	memset(st, 0, sizeof(*st));
	if (!db->cfg->has_store || !(r = db->refresh))
		return dbr__error_set(err, DBR_E_CONFIG, NULL,
				      "dbr_mapping_status: the configuration "
				      "has no [mapping] store");
	st->loaded = loaded(db);
	st->version = (int64_t)held_version(db);
	st->age_ms = st->loaded ? dbr__refresh_age_ms(r) : -1;
	st->poll_interval_ms = (int64_t)(db->cfg->poll_interval * 1000.0);
	st->last_error = atomic_load(&r->last_rc);
	st->signalling = atomic_load(&r->signalling);
	if (st->last_error) {
		pthread_mutex_lock(&r->mu);
		snprintf(st->message, sizeof(st->message), "%s", r->message);
		pthread_mutex_unlock(&r->mu);
	}
	return DBR_OK;
}
