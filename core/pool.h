/*
 * pool.h - a bounded pool of connections per source: opened lazily,
 * reused last-in first-out, waited for at most the source's timeout.
 */
#ifndef DBR_POOL_H
#define DBR_POOL_H

#include <pthread.h>
#include <stdatomic.h>

#include "config.h"

/* A connection idle longer than this is pinged before it is handed out. */
#define DBR__IDLE_PING_SECONDS 5.0

/*
 * A connection idle at least this long gets the driver's local check
 * (is_alive, a system call) before it is handed out. One used more recently
 * is not checked: a server that dropped it within these milliseconds is as
 * likely to drop it during the next statement, which then fails and
 * retires it as any dropped connection is.
 */
#define DBR__IDLE_CHECK_SECONDS 0.01

struct dbr__pool;

/*
 * The state a query keeps while its result is open. One per pooled
 * connection, so that running a statement allocates nothing.
 */
struct dbr_result {
	struct dbr__merge *merge; /* a fan-out's merged cursor, else NULL */
	struct dbr *db;
	struct dbr__pconn *pc;
	const struct dbr_driver *vt;
	struct dbr_driver_conn *dc;
	struct dbr_tx *tx;		/* non-NULL: the transaction keeps pc */
	struct dbr_source_config *from; /* diverted from this source */
	int64_t chat;
	bool has_chat;
	size_t ncols;
	bool open;	      /* handed to the caller, not yet freed */
	bool row;	      /* positioned on a row */
	bool done;	      /* the cursor reached its end */
	struct dbr_error err; /* the last failure of a call on it */
};

struct dbr_tx {
	struct dbr *db;
	struct dbr__pconn *pc;
	bool open;
};

/* A slot's state; changed by compare-and-swap, never under a lock. */
enum dbr__slot_state {
	DBR__SLOT_EMPTY,   /* no connection */
	DBR__SLOT_OPENING, /* a thread is connecting it */
	DBR__SLOT_IDLE,	   /* open and free */
	DBR__SLOT_TAKEN	   /* in use by one thread */
};

/*
 * One slot of a pool, and its connection when it has one. Slots live as
 * long as the pool. The thread that took a slot owns every field but
 * `state` and the totals until it puts the slot back.
 */
struct dbr__pconn {
	atomic_int state; /* enum dbr__slot_state */
	struct dbr_driver_conn *dc;
	struct dbr__pool *pool;
	atomic_uint_fast64_t put_ns; /* coarse monotonic: put back (LIFO) */
	bool lost;		     /* the driver reported it lost: close it */
	unsigned ops, errors;	     /* since taken */
	atomic_uint_fast64_t total_ops, total_errors;
	struct dbr_result res;
	struct dbr_tx tx;
};

struct dbr__pool {
	struct dbr_source_config *src;
	struct dbr__pconn *_Atomic slots; /* max_connections, on first use */
	size_t max;
	pthread_mutex_t mu; /* allocating slots; waiting for one */
	pthread_cond_t cv;  /* on CLOCK_MONOTONIC */
	atomic_int waiters;
	atomic_uint_fast64_t sweep_ns; /* coarse clock: the next sweep */
};

int dbr__pool_init(struct dbr__pool *p, struct dbr_source_config *src);

/* Close every connection. All must have been put back. */
void dbr__pool_release(struct dbr__pool *p);

/*
 * Take a connection: an idle one (checked, and pinged when it idled long),
 * a new one while fewer than max are open, or the first one put back within
 * the source's timeout. The fast path takes no lock; no lock is held while
 * a driver connects or pings. Among idle connections, the one this thread
 * took last is preferred (its caches are warm on this thread's data), then
 * the last one put back (LIFO).
 */
int dbr__pool_acquire(struct dbr__pool *p, struct dbr__pconn **out,
		      struct dbr_error *err);

/* The same, waiting at most until `by` (CLOCK_MONOTONIC) for a free slot
 * instead of the source's timeout; NULL: the timeout. */
int dbr__pool_acquire_by(struct dbr__pool *p, const struct timespec *by,
			 struct dbr__pconn **out, struct dbr_error *err);

/*
 * Give a connection back, ending its statement (the driver's finish). It
 * goes back to the pool only when clean and usable: as the driver's
 * is_clean answers, or, for a driver without it, when nothing failed on it
 * since it was taken. Otherwise, or when marked lost, it is closed.
 */
void dbr__pool_put(struct dbr__pconn *c);

/* Close every idle connection now; returns how many. */
size_t dbr__pool_close_idle(struct dbr__pool *p);

/* How many slots are in a state (for status and tests). */
size_t dbr__pool_count(struct dbr__pool *p, int state);

/* The operations and errors of the pool's connections so far. */
void dbr__pool_totals(struct dbr__pool *p, uint64_t *ops, uint64_t *errors);

#endif /* DBR_POOL_H */
