/*
 * pool.h - a bounded pool of connections per source: opened lazily,
 * reused last-in first-out, waited for at most the source's timeout.
 */
#ifndef DBR_POOL_H
#define DBR_POOL_H

#include <pthread.h>

#include "config.h"

/* A connection idle longer than this is pinged before it is handed out. */
#define DBR__IDLE_PING_SECONDS 5.0

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

/* One pooled connection. */
struct dbr__pconn {
	struct dbr_driver_conn *dc;
	struct dbr__pool *pool;
	double idle_since;    /* coarse monotonic seconds */
	const void *user;     /* the thread that used it last */
	bool lost;	      /* the driver reported it lost: close it */
	unsigned ops, errors; /* since taken; added to the pool's at put */
	struct dbr_result res;
	struct dbr_tx tx;
};

struct dbr__pool {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* on CLOCK_MONOTONIC */
	struct dbr_source_config *src;
	struct dbr__pconn **idle; /* LIFO stack of max_connections */
	size_t nidle;
	size_t nopen; /* open, or being opened */
	size_t max;
	uint64_t ops, errors; /* operations run on its connections */
};

int dbr__pool_init(struct dbr__pool *p, struct dbr_source_config *src);

/* Close every connection. All must have been put back. */
void dbr__pool_release(struct dbr__pool *p);

/*
 * Take a connection: an idle one (pinged first when it idled long), a new
 * one while fewer than max are open, or the first one put back within the
 * source's timeout. No lock is held while the driver connects or pings.
 * Among idle connections, the one this thread used last is preferred (its
 * caches are warm on this thread's data), then the last one put back.
 */
int dbr__pool_acquire(struct dbr__pool *p, struct dbr__pconn **out,
		      struct dbr_error *err);

/* Give a connection back; a lost one is closed instead. */
void dbr__pool_put(struct dbr__pconn *c);

#endif /* DBR_POOL_H */
