/*
 * audit.h - the run-time audit trail: events handed to the application's
 * hook and appended as JSON lines to `[audit] file` (docs/operations.md,
 * "Audit"). The durable audit of routing changes is the mapping store's
 * change log; this one says what a process saw and did.
 *
 * The file never blocks nor fails an operation: it is opened with
 * O_NONBLOCK (a FIFO without a reader refuses at once), each record is one
 * write() on an O_APPEND descriptor, and a record that cannot be written
 * is counted and lost, with a warning at most every
 * DBR__AUDIT_WARN_SECONDS. A file that could not be opened is tried again
 * at most every DBR__AUDIT_RETRY_SECONDS, on a later record.
 *
 * Locking: `lock` (a read-write lock) guards the descriptor against its
 * close: every write holds it shared, and only dbr__audit_file() (open,
 * reload) holds it exclusively, to swap the file. A descriptor opened on
 * retry is published with a compare-and-swap under the shared lock. `mu`
 * guards the retry and warning clocks only.
 */
#ifndef DBR_AUDIT_H
#define DBR_AUDIT_H

#include <pthread.h>
#include <stdatomic.h>

#include "log.h"

/* At most one "audit records lost" warning in this many seconds. */
#define DBR__AUDIT_WARN_SECONDS 10.0
/* A file that could not be opened is tried again after this long. */
#define DBR__AUDIT_RETRY_SECONDS 10.0

struct dbr__audit {
	dbr_audit_fn fn; /* the application's hook, or NULL */
	void *ud;
	const struct dbr__logger *log;
	atomic_bool has_file;  /* path is set: records are encoded */
	pthread_rwlock_t lock; /* fd's close and path (see above) */
	atomic_int fd;	       /* -1: no file, or not open */
	char *path;	       /* NULL: no file */
	pthread_mutex_t mu;    /* the clocks below */
	double retry_at;       /* monotonic seconds: the next open attempt */
	double warned_at;      /* monotonic seconds: the last warning */
	uint64_t unwarned;     /* records lost since that warning */
	char host[256];	       /* gethostname(), for the records */
	atomic_uint_fast64_t events, written, failed;
};

/* Ready a's locks and counters with the application's hook (may be NULL);
 * no file yet. */
int dbr__audit_init(struct dbr__audit *a, dbr_audit_fn fn, void *ud,
		    const struct dbr__logger *log);

/* Close the file and destroy the locks. */
void dbr__audit_release(struct dbr__audit *a);

/*
 * Write records to the file at path from now on (NULL: no file), closing
 * the previous one; the same path is opened again (a renamed file is
 * rotated so). A file that cannot be opened is logged, and tried again
 * later; that is no failure. Returns DBR_OK or DBR_E_NOMEM.
 */
int dbr__audit_file(struct dbr__audit *a, const char *path);

/* Whether events are wanted at all: a hook or a file. */
static inline bool dbr__audit_on(struct dbr__audit *a)
{
	return a->fn ||
	       atomic_load_explicit(&a->has_file, memory_order_relaxed);
}

/*
 * Raise one event: fills ev->size and, when 0, ev->time_ms; calls the
 * hook, then appends the record to the file. Any thread; never blocks on
 * the file, never fails.
 */
void dbr__audit_emit(struct dbr__audit *a, struct dbr_audit_event *ev);

/* DBR_AUDIT_DIVERTED: count operations of `source` ran on `to`. */
void dbr__audit_diverted(struct dbr__audit *a, const char *source,
			 const char *to, uint64_t count);

/* DBR_AUDIT_EXPLICIT_WRITE: a statement on the named `source` wrote. */
void dbr__audit_explicit_write(struct dbr__audit *a, const char *source);

#endif /* DBR_AUDIT_H */
