/*
 * pool.c - per-source connection pools.
 *
 * A pool is an array of max_connections slots, allocated at first use.
 * Taking and giving back a connection changes its slot's state with one
 * compare-and-swap on the slot's own cache line: threads that keep to their
 * own connections never touch a shared line. The mutex and the condition
 * variable are only for allocating the slots and for waiting when every
 * slot is taken.
 */
#define _GNU_SOURCE /* PTHREAD_MUTEX_ADAPTIVE_NP */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "pool.h"

/* The slot this thread took last: a hint, compared by pool address and
 * bounds-checked, never dereferenced as a stale pointer. */
#if defined(__GNUC__)
#define TLS_FAST __attribute__((tls_model("initial-exec")))
#else
#define TLS_FAST
#endif
static _Thread_local const struct dbr__pool *hint_pool TLS_FAST;
static _Thread_local size_t hint_slot TLS_FAST;
/* dbr__pool_bound_thread(): this thread's bound on server waits. */
static _Thread_local double bound_s TLS_FAST;

static uint64_t now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The next time idle connections are swept, from `now`. */
static uint64_t next_sweep(const struct dbr__pool *p, uint64_t now)
{
	double t = p->src->idle_timeout;

	if (t <= 0)
		return UINT64_MAX;
	return now + (uint64_t)((t >= 2 ? 1.0 : t / 2) * 1e9);
}

static int init_mutex(pthread_mutex_t *mu)
{
#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
	pthread_mutexattr_t attr;
	int rc;

	/* Held for a few instructions: spin briefly before sleeping. */
	if (pthread_mutexattr_init(&attr))
		return -1;
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
	rc = pthread_mutex_init(mu, &attr);
	pthread_mutexattr_destroy(&attr);
	return rc;
#else
	return pthread_mutex_init(mu, NULL);
#endif
}

int dbr__pool_init(struct dbr__pool *p, struct dbr_source_config *src)
{
	pthread_condattr_t attr;

	memset(p, 0, sizeof(*p));
	p->src = src;
	p->max = (size_t)src->max_connections;
	atomic_init(&p->slots, NULL);
	atomic_init(&p->waiters, 0);
	atomic_init(&p->stale_seen[0], 0);
	atomic_init(&p->stale_seen[1], 0);
	atomic_init(&p->connects, 0);
	atomic_init(&p->connect_failures, 0);
	atomic_init(&p->discarded, 0);
	atomic_init(&p->retired, false);
	for (size_t i = 0; i < DBR__ROUTE_REASONS; i++)
		atomic_init(&p->routed_failed[i], 0);
	atomic_init(&p->sweep_ns,
		    next_sweep(p, now_ns(CLOCK_MONOTONIC_COARSE)));
	if (pthread_condattr_init(&attr))
		return DBR_E_NOMEM;
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (pthread_cond_init(&p->cv, &attr)) {
		pthread_condattr_destroy(&attr);
		return DBR_E_NOMEM;
	}
	pthread_condattr_destroy(&attr);
	if (init_mutex(&p->mu)) {
		pthread_cond_destroy(&p->cv);
		return DBR_E_NOMEM;
	}
	return DBR_OK;
}

void dbr__pool_release(struct dbr__pool *p)
{
	struct dbr__pconn *slots;
	size_t i;

	if (!p->src)
		return;
	slots = atomic_load(&p->slots);
	for (i = 0; slots && i < p->max; i++)
		if (slots[i].dc)
			p->src->drv->vt.close(slots[i].dc);
	dbr__free(slots);
	while (p->spares) {
		struct dbr__spare *s = p->spares;

		p->spares = s->next;
		dbr__free(s);
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	memset(p, 0, sizeof(*p));
}

static struct dbr__pconn *get_slots(struct dbr__pool *p)
{
	struct dbr__pconn *slots =
		atomic_load_explicit(&p->slots, memory_order_acquire);
	size_t i;

	if (slots)
		return slots;
	pthread_mutex_lock(&p->mu);
	slots = atomic_load(&p->slots);
	if (!slots && (slots = dbr__calloc(p->max, sizeof(*slots)))) {
		for (i = 0; i < p->max; i++) {
			atomic_init(&slots[i].state, DBR__SLOT_EMPTY);
			atomic_init(&slots[i].total_ops, 0);
			atomic_init(&slots[i].total_errors, 0);
			atomic_init(&slots[i].put_ns, 0);
			dbr__metrics_init(&slots[i].m);
			dbr__gen_init(&slots[i].res.gen, DBR__GEN_RESULT);
			dbr__gen_init(&slots[i].tx.gen, DBR__GEN_TX);
			slots[i].pool = p;
		}
		atomic_store_explicit(&p->slots, slots, memory_order_release);
	}
	pthread_mutex_unlock(&p->mu);
	return slots;
}

static bool claim(struct dbr__pconn *c, int from, int to)
{
	int expected = from;

	return atomic_compare_exchange_strong(&c->state, &expected, to);
}

/* Wake threads waiting for a slot, if any. */
static void wake(struct dbr__pool *p)
{
	if (atomic_load(&p->waiters) > 0) {
		pthread_mutex_lock(&p->mu);
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
}

/* Close a taken slot's connection and free the slot. */
static void retire(struct dbr__pconn *c)
{
	c->pool->src->drv->vt.close(c->dc);
	c->dc = NULL;
	c->lost = false;
	atomic_store(&c->state, DBR__SLOT_EMPTY);
	wake(c->pool);
}

/* The same for a connection found unusable: counted as discarded. */
static void discard(struct dbr__pconn *c)
{
	atomic_fetch_add_explicit(&c->pool->discarded, 1, memory_order_relaxed);
	retire(c);
}

/*
 * Close the idle connections that sat unused at least `idle` ns (0: every
 * idle one). Each is claimed first, so none is closed under another
 * thread. Returns how many were closed.
 */
static size_t close_idle(struct dbr__pool *p, uint64_t now, uint64_t idle)
{
	struct dbr__pconn *slots = atomic_load(&p->slots);
	size_t i, n = 0;

	for (i = 0; slots && i < p->max; i++) {
		uint64_t at = atomic_load_explicit(&slots[i].put_ns,
						   memory_order_relaxed);

		if (now - at < idle || at > now ||
		    !claim(&slots[i], DBR__SLOT_IDLE, DBR__SLOT_TAKEN))
			continue;
		retire(&slots[i]);
		n++;
	}
	return n;
}

/* Close connections idle longer than idle_timeout; at most one sweep per
 * interval, by whichever thread claims it. */
static void sweep(struct dbr__pool *p, uint64_t now)
{
	uint64_t due = atomic_load(&p->sweep_ns);

	if (now < due || !atomic_compare_exchange_strong(&p->sweep_ns, &due,
							 next_sweep(p, now)))
		return;
	close_idle(p, now, (uint64_t)(p->src->idle_timeout * 1e9));
}

size_t dbr__pool_close_idle(struct dbr__pool *p)
{
	return close_idle(p, now_ns(CLOCK_MONOTONIC_COARSE), 0);
}

/* This thread's last slot, else the idle slot put back last. */
static struct dbr__pconn *take_idle(struct dbr__pool *p,
				    struct dbr__pconn *slots)
{
	struct dbr__pconn *best;
	uint64_t newest;
	size_t i;

	if (hint_pool == p && hint_slot < p->max &&
	    claim(&slots[hint_slot], DBR__SLOT_IDLE, DBR__SLOT_TAKEN))
		return &slots[hint_slot];
	for (;;) {
		best = NULL;
		newest = 0;
		for (i = 0; i < p->max; i++) {
			/* Other threads' slots: read, never written here. */
			uint64_t at = atomic_load_explicit(
				&slots[i].put_ns, memory_order_relaxed);

			if (atomic_load_explicit(&slots[i].state,
						 memory_order_relaxed) ==
				    DBR__SLOT_IDLE &&
			    (!best || at > newest)) {
				best = &slots[i];
				newest = at;
			}
		}
		if (!best)
			return NULL;
		if (claim(best, DBR__SLOT_IDLE, DBR__SLOT_TAKEN))
			return best;
	}
}

static struct dbr__pconn *take_empty(struct dbr__pool *p,
				     struct dbr__pconn *slots)
{
	size_t i;

	for (i = 0; i < p->max; i++)
		if (claim(&slots[i], DBR__SLOT_EMPTY, DBR__SLOT_OPENING))
			return &slots[i];
	return NULL;
}

static int conn_open(struct dbr__pconn *c, struct dbr_error *err)
{
	struct dbr_source_config *src = c->pool->src;
	int rc = src->drv->vt.open(src, &c->dc, err);

	if (rc) {
		atomic_fetch_add_explicit(&c->pool->connect_failures, 1,
					  memory_order_relaxed);
		c->dc = NULL;
		dbr__error_source(err, src->name);
		atomic_store(&c->state, DBR__SLOT_EMPTY);
		wake(c->pool);
		return rc;
	}
	atomic_fetch_add_explicit(&c->pool->connects, 1, memory_order_relaxed);
	atomic_store(&c->state, DBR__SLOT_TAKEN);
	return DBR_OK;
}

/* How long a connection sat idle, from the coarse clock. Signed: the
 * clock may read a tick behind the stamp. */
static int64_t idle_ns(struct dbr__pconn *c)
{
	return (int64_t)(now_ns(CLOCK_MONOTONIC_COARSE) -
			 atomic_load_explicit(&c->put_ns,
					      memory_order_relaxed));
}

/*
 * Check an idle connection before handing it out: the driver's local
 * check when it idled a little, a ping when it idled long. Retire it if
 * either fails.
 */
static bool still_alive(struct dbr__pconn *c)
{
	const struct dbr_driver *vt = &c->pool->src->drv->vt;
	const char *why;
	int64_t idle;

	if (!vt->is_alive && !vt->ping)
		return true;
	idle = idle_ns(c);
	if (vt->is_alive && idle >= (int64_t)(DBR__IDLE_CHECK_SECONDS * 1e9) &&
	    !vt->is_alive(c->dc))
		why = "was closed by the server";
	else if (!vt->ping || idle < (int64_t)(DBR__IDLE_PING_SECONDS * 1e9))
		return true;
	else if (vt->ping(c->dc, NULL) == DBR_OK)
		return true;
	else
		why = "did not answer a ping";
	dbr__log(c->pool->src->log, DBR_LOG_INFO, c->pool->src->name,
		 "idle connection %s; reconnecting", why);
	discard(c);
	return false;
}

/* Whether a slot could be taken now (idle, or empty to connect). */
static bool any_free(struct dbr__pool *p, struct dbr__pconn *slots)
{
	size_t i;

	for (i = 0; i < p->max; i++) {
		int st = atomic_load(&slots[i].state);

		if (st == DBR__SLOT_IDLE || st == DBR__SLOT_EMPTY)
			return true;
	}
	return false;
}

/* Wait until a slot may be free; false when the timeout passed. */
static bool wait_for_slot(struct dbr__pool *p, struct dbr__pconn *slots,
			  struct timespec *deadline, bool *timed)
{
	int rc = 0;

	if (!*timed) {
		dbr__deadline(deadline, p->src->timeout);
		*timed = true;
	}
	pthread_mutex_lock(&p->mu);
	atomic_fetch_add(&p->waiters, 1);
	/* After announcing ourselves: a slot put back from now on wakes us;
	 * one put back before is seen here. */
	while (!any_free(p, slots) && rc != ETIMEDOUT &&
	       !atomic_load(&p->retired))
		rc = pthread_cond_timedwait(&p->cv, &p->mu, deadline);
	atomic_fetch_sub(&p->waiters, 1);
	pthread_mutex_unlock(&p->mu);
	return rc != ETIMEDOUT;
}

/* No connection came free in time: every one was in use. */
static int wait_timed_out(struct dbr__pool *p, const struct timespec *by,
			  struct dbr_error *err)
{
	if (by)
		dbr__error_set(err, DBR_E_TIMEOUT, p->src->name,
			       "source '%s': no connection free before the "
			       "deadline (max_connections = %zu)",
			       p->src->name, p->max);
	else
		dbr__error_set(err, DBR_E_TIMEOUT, p->src->name,
			       "source '%s': no connection free after %g s "
			       "(max_connections = %zu)",
			       p->src->name, p->src->timeout, p->max);
	dbr__error_hint(err, "every connection of the source was in use: "
			     "free results and end transactions sooner, or "
			     "raise max_connections");
	return DBR_E_TIMEOUT;
}

int dbr__pool_acquire(struct dbr__pool *p, struct dbr__pconn **out,
		      struct dbr_error *err)
{
	return dbr__pool_acquire_by(p, NULL, out, err);
}

/* An acquire that reached a pool a reload retired. */
static DBR_NOINLINE int retired_error(struct dbr__pool *p,
				      struct dbr_error *err)
{
	int rc = dbr__error_set(err, DBR_E_UNAVAILABLE, p->src->name,
				"source '%s' was changed or removed by a "
				"reload",
				p->src->name);

	if (err) {
		err->retryable = true;
		err->hint = "retry: the operation is routed again against the "
			    "reloaded configuration";
	}
	return rc;
}

void dbr__pool_retire(struct dbr__pool *p)
{
	atomic_store(&p->retired, true);
	/* Wake the waiters: they fail instead of waiting out the timeout. */
	pthread_mutex_lock(&p->mu);
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	dbr__pool_close_idle(p);
}

/* Bound c's server waits (driver ABI 2.2 bound(); 0 lifts the bound). A
 * driver without the call bounds its waits by itself. */
static DBR_COLD void set_bound(struct dbr__pconn *c, double seconds)
{
	const struct dbr_driver *vt = &c->pool->src->drv->vt;

	if (!vt->bound || (!c->bounded && seconds <= 0))
		return;
	vt->bound(c->dc, seconds);
	c->bounded = seconds > 0;
}

/* Any free connection, waiting for one until the deadline (or the
 * source's timeout when by is NULL). */
static DBR_NOINLINE int acquire(struct dbr__pool *p, const struct timespec *by,
				struct dbr__pconn **out, struct dbr_error *err)
{
	struct dbr__pconn *slots = get_slots(p), *c;
	struct timespec deadline;
	bool timed = by != NULL;
	int rc;

	if (by)
		deadline = *by;

	if (!slots)
		return dbr__error_set(err, DBR_E_NOMEM, p->src->name,
				      "source '%s': out of memory",
				      p->src->name);
	for (;;) {
		if (DBR_UNLIKELY(atomic_load(&p->retired)))
			return retired_error(p, err);
		c = take_idle(p, slots);
		if (c && !still_alive(c))
			continue;
		if (!c && (c = take_empty(p, slots)) &&
		    (rc = conn_open(c, err)))
			return rc;
		if (c) {
			*out = c;
			/* A bounded thread keeps no hint: the fast path of
			 * dbr__pool_acquire_by() then never sees one. */
			if (DBR_UNLIKELY(bound_s > 0)) {
				set_bound(c, bound_s);
				return DBR_OK;
			}
			hint_pool = p;
			hint_slot = (size_t)(c - slots);
			return DBR_OK;
		}
		if (!wait_for_slot(p, slots, &deadline, &timed) &&
		    !any_free(p, slots))
			return wait_timed_out(p, by, err);
	}
}

/*
 * This thread's last connection when it is idle and alive, the common
 * case, is taken here; any other way goes through acquire(), out of line,
 * so that this path saves no registers.
 */
int dbr__pool_acquire_by(struct dbr__pool *p, const struct timespec *by,
			 struct dbr__pconn **out, struct dbr_error *err)
{
	struct dbr__pconn *slots =
		atomic_load_explicit(&p->slots, memory_order_acquire);
	struct dbr__pconn *c;

	if (slots && hint_pool == p && hint_slot < p->max) {
		c = &slots[hint_slot];
		/* One that fails its check is retired: acquire() goes on. */
		if (claim(c, DBR__SLOT_IDLE, DBR__SLOT_TAKEN) &&
		    still_alive(c)) {
			*out = c;
			return DBR_OK;
		}
	}
	return acquire(p, by, out, err);
}

double dbr__pool_bound_thread(double seconds)
{
	double was = bound_s;

	bound_s = seconds > 0 ? seconds : 0;
	if (bound_s > 0)
		hint_pool = NULL; /* every take goes through acquire() */
	return was;
}

/*
 * Whether a connection whose statement has ended may go back to the pool:
 * the driver's own answer (is_clean), or, from a driver that cannot tell,
 * only when nothing failed on it.
 */
static bool reusable(struct dbr__pconn *c, bool had_errors)
{
	const struct dbr_driver *vt = &c->pool->src->drv->vt;

	if (c->lost)
		return false;
	return vt->is_clean ? vt->is_clean(c->dc) : !had_errors;
}

void dbr__pool_put(struct dbr__pconn *c)
{
	struct dbr__pool *p = c->pool;
	bool had_errors = c->errors > 0;
	uint64_t now;

	atomic_store_explicit(
		&c->total_ops,
		atomic_load_explicit(&c->total_ops, memory_order_relaxed) +
			c->ops,
		memory_order_relaxed);
	atomic_store_explicit(
		&c->total_errors,
		atomic_load_explicit(&c->total_errors, memory_order_relaxed) +
			c->errors,
		memory_order_relaxed);
	c->ops = c->errors = 0;
	/* The coarse clock (no hardware read): LIFO to within a tick. */
	now = now_ns(CLOCK_MONOTONIC_COARSE);
	atomic_store_explicit(&c->put_ns, now, memory_order_relaxed);
	/* The statement ends after the bookkeeping, not before: the time
	 * between one statement's end and the next one's start is what
	 * threads reading one SQLite file contend over (performance.md). */
	if (!c->lost)
		p->src->drv->vt.finish(c->dc);
	if (DBR_UNLIKELY(c->bounded)) {
		if (!c->lost)
			set_bound(c, 0);
		c->bounded = false;
	}
	if (!reusable(c, had_errors)) {
		discard(c);
		return;
	}
	atomic_store(&c->state, DBR__SLOT_IDLE);
	/* After the store: a retirement that ran close_idle() before it saw
	 * this connection taken, and this load sees the flag. */
	if (DBR_UNLIKELY(atomic_load(&p->retired))) {
		if (claim(c, DBR__SLOT_IDLE, DBR__SLOT_TAKEN))
			retire(c);
		return;
	}
	wake(p);
	if (DBR_UNLIKELY(now >= atomic_load_explicit(&p->sweep_ns,
						     memory_order_relaxed)))
		sweep(p, now);
}

struct dbr__spare *dbr__pool_spare_take(struct dbr__pool *p)
{
	struct dbr__spare *s;

	pthread_mutex_lock(&p->mu);
	s = p->spares;
	if (s)
		p->spares = s->next;
	pthread_mutex_unlock(&p->mu);
	return s;
}

void dbr__pool_spare_keep(struct dbr__pool *p, struct dbr__spare *s)
{
	pthread_mutex_lock(&p->mu);
	s->next = p->spares;
	p->spares = s;
	pthread_mutex_unlock(&p->mu);
}

void dbr__pool_stale(struct dbr__pool *p, bool fanout, const char *what)
{
	unsigned n;

	if (!p)
		return;
	n = 1 + atomic_fetch_add_explicit(&p->stale_seen[fanout], 1,
					  memory_order_relaxed);
	if (n != 1 && n % DBR__STALE_LOG_EVERY)
		return;
	dbr__log(p->src->log, DBR_LOG_WARN, fanout ? NULL : p->src->name,
		 "%s%s: a stale pointer (already freed or ended, handed out "
		 "again since, or of the other kind) was ignored; %u so far "
		 "on this %s, logged at the first and every %uth",
		 fanout ? "fan-out: " : "", what, n,
		 fanout ? "handle's fan-outs" : "source", DBR__STALE_LOG_EVERY);
}

size_t dbr__pool_count(struct dbr__pool *p, int state)
{
	struct dbr__pconn *slots = atomic_load(&p->slots);
	size_t i, n = 0;

	for (i = 0; slots && i < p->max; i++)
		n += atomic_load(&slots[i].state) == state;
	return n;
}

void dbr__pool_census(struct dbr__pool *p, size_t *idle, size_t *in_use)
{
	struct dbr__pconn *slots = atomic_load(&p->slots);
	size_t i;
	int st;

	*idle = *in_use = 0;
	for (i = 0; slots && i < p->max; i++) {
		st = atomic_load(&slots[i].state);
		*idle += st == DBR__SLOT_IDLE;
		*in_use += st == DBR__SLOT_TAKEN || st == DBR__SLOT_OPENING;
	}
}

void dbr__pool_totals(struct dbr__pool *p, uint64_t *ops, uint64_t *errors)
{
	struct dbr__pconn *slots = atomic_load(&p->slots);
	size_t i;

	*ops = *errors = 0;
	for (i = 0; slots && i < p->max; i++) {
		*ops += atomic_load_explicit(&slots[i].total_ops,
					     memory_order_relaxed);
		*errors += atomic_load_explicit(&slots[i].total_errors,
						memory_order_relaxed);
	}
}

void dbr__pool_metrics(struct dbr__pool *p, struct dbr_source_stats *st)
{
	struct dbr__pconn *slots = atomic_load(&p->slots);
	size_t i, nops = 0, ntime = 0;
	/* Room for every slot's sketch entries before the cut. */
	struct dbr_chat_load *ops = NULL, *tm = NULL;
	size_t room = (p->max + 1) * DBR__TOPN_ENTRIES;

	for (i = 0; i < DBR__ROUTE_REASONS; i++)
		st->routed[i] += atomic_load_explicit(&p->routed_failed[i],
						      memory_order_relaxed);
	st->connects = atomic_load_explicit(&p->connects, memory_order_relaxed);
	st->connect_failures = atomic_load_explicit(&p->connect_failures,
						    memory_order_relaxed);
	st->discarded =
		atomic_load_explicit(&p->discarded, memory_order_relaxed);
	if (slots) {
		ops = dbr__calloc(room, sizeof(*ops));
		tm = dbr__calloc(room, sizeof(*tm));
	}
	for (i = 0; slots && i < p->max; i++) {
		dbr__metrics_fold(&slots[i].m, st);
		if (ops && tm) {
			dbr__topn_merge(&slots[i].m.chat_ops, ops, &nops, true);
			dbr__topn_merge(&slots[i].m.chat_ns, tm, &ntime, false);
		}
	}
	if (ops && tm) {
		dbr__topn_sort(ops, &nops, DBR_TOP_CHATS, true);
		dbr__topn_sort(tm, &ntime, DBR_TOP_CHATS, false);
		memcpy(st->top_ops, ops, nops * sizeof(*ops));
		memcpy(st->top_time, tm, ntime * sizeof(*tm));
		st->ntop_ops = (uint32_t)nops;
		st->ntop_time = (uint32_t)ntime;
	}
	dbr__free(ops);
	dbr__free(tm);
}
