/*
 * health.h - whether a source is available, since when, why not, and what
 * was diverted away from it while it was not.
 */
#ifndef DBR_HEALTH_H
#define DBR_HEALTH_H

#include <pthread.h>
#include <stdatomic.h>

#include "log.h"
#include "metrics.h"

/* How many chat ids of diverted writes a source remembers. */
#define DBR__DIVERTED_MAX 256

/* At most one "diverted" log line per source in this many seconds. */
#define DBR__DIVERT_LOG_SECONDS 10.0

struct dbr__health {
	atomic_bool down;    /* read on every operation, without the lock */
	atomic_bool probing; /* one operation is probing the source */
	pthread_mutex_t mu;  /* guards everything below */
	double retry_at;     /* monotonic seconds: the next probe */
	int64_t down_since;  /* Unix seconds */
	struct dbr_error last;
	bool has_last;
	uint64_t failed_ops; /* operations that found no connection */
	uint64_t diverted;
	uint64_t probes;		   /* probes claimed */
	uint64_t errors[DBR__ERROR_CODES]; /* failed operations by code */
	int64_t state_since;		   /* Unix seconds */
	int64_t *chats; /* chats whose writes were diverted */
	size_t nchats;
	uint64_t chats_beyond;
	double divert_logged; /* monotonic seconds of the last log line */
	uint64_t divert_unlogged;
};

int dbr__health_init(struct dbr__health *h);
void dbr__health_release(struct dbr__health *h);

static inline bool dbr__health_is_down(struct dbr__health *h)
{
	return atomic_load_explicit(&h->down, memory_order_acquire);
}

/* What dbr__health_try_probe() decided. */
enum dbr__probe {
	DBR__PROBE_NOT_DUE, /* down, and another probe runs or is not due */
	DBR__PROBE_CLAIMED, /* this caller probes; it must end the probe */
	DBR__PROBE_UP	    /* the source came back meanwhile */
};

/*
 * For an operation on a source that is down: whether this caller probes
 * it now (one probe per retry interval, whatever the threads). A claimed
 * probe ends with dbr__health_up(), dbr__health_down() or
 * dbr__health_end_probe().
 */
int dbr__health_try_probe(struct dbr__health *h);

/* End a probe that proved nothing (the source was busy, not down). */
void dbr__health_end_probe(struct dbr__health *h);

/* Mark the source unavailable (again); the error that showed it becomes
 * its last error. */
void dbr__health_down(struct dbr__health *h, const struct dbr__logger *log,
		      const char *source, double retry_interval,
		      const struct dbr_error *why);

/* Mark the source available; logs the recovery when it was down. */
void dbr__health_up(struct dbr__health *h, const struct dbr__logger *log,
		    const char *source);

/* Count an operation that failed with code; keep its error (may be
 * NULL) as the last one. */
void dbr__health_error(struct dbr__health *h, bool no_connection, int code,
		       const struct dbr_error *err);

/*
 * Count an operation diverted from this source to `to`. Logs at most one
 * line per DBR__DIVERT_LOG_SECONDS; returns the count that line gave (the
 * operations diverted since the previous line), else 0.
 */
uint64_t dbr__health_diverted(struct dbr__health *h,
			      const struct dbr__logger *log, const char *source,
			      const char *to);

/* The operations diverted since the last line, which none will log now
 * (the handle closes): returned and reset. */
uint64_t dbr__health_divert_flush(struct dbr__health *h);

/* Remember a chat whose write was diverted (a bounded list). */
void dbr__health_remember(struct dbr__health *h, int64_t chat);

#endif /* DBR_HEALTH_H */
