/*
 * ebr.h - epoch-based reclamation: readers that never lock, and memory a
 * writer replaced freed once no reader can still hold it.
 *
 * A reader brackets its use of shared objects with dbr__ebr_enter() and
 * dbr__ebr_exit(): it records the global epoch it entered in, in a record
 * of its thread. A writer that unpublishes an object (an atomic exchange)
 * takes a stamp, dbr__ebr_advance(), which moves the epoch on; the object
 * may be freed once dbr__ebr_is_safe(stamp): no thread is inside a
 * section it entered before the stamp. A section entered at or after the
 * stamp loaded the published pointer after the exchange, so it cannot
 * see the object.
 *
 * Why not liburcu: its urcu-bp flavour fits a library whose callers'
 * threads are not registered, but it publishes through fences and
 * membarrier, which ThreadSanitizer does not model (it would need
 * suppressions), and it adds a run-time dependency for ~150 lines. Here
 * every step is a sequentially consistent atomic on one variable, which
 * TSan checks as it is: tests/test_snapshot.c runs readers against a
 * writer publishing thousands of snapshots under TSan and ASan.
 *
 * The proof, in the single total order of seq_cst operations: a reader
 * stores the epoch e it loaded, then loads the pointer. The writer
 * exchanges the pointer, then advances the epoch to the stamp s, then
 * loads every record. If the reader's store precedes the writer's load of
 * its record, the writer sees e (the reader is inside) or 0 (it left;
 * its release store orders its reads before the free); e >= s means it
 * loaded the epoch after the advance, so its pointer load followed the
 * exchange. If the store follows the writer's load, so does the reader's
 * pointer load, which then follows the exchange.
 *
 * Records are process-wide (one per thread that ever entered, reused
 * after the thread exits) and allocated with the C library's aligned_alloc,
 * not the replaceable allocator: they outlive every handle. In the child
 * of a fork, every record but the forking thread's is freed (a
 * pthread_atfork handler): the other threads do not exist there, and a
 * section one of them was inside would otherwise never end.
 */
#ifndef DBR_EBR_H
#define DBR_EBR_H

#include <stdatomic.h>

#include "internal.h"

/* One cache line each: threads never write one another's. */
struct dbr__ebr_rec {
	_Alignas(64) atomic_uint_fast64_t epoch; /* 0: outside any section */
	unsigned depth;		   /* nested sections; this thread's */
	atomic_bool used;	   /* held by a live thread */
	struct dbr__ebr_rec *next; /* the list of every record */
};

extern atomic_uint_fast64_t dbr__ebr_epoch; /* starts at 1 */

#if defined(__GNUC__)
/* initial-exec: one %fs-relative load, not a call to __tls_get_addr. The
 * pointer is all this library keeps in static TLS. */
extern _Thread_local struct dbr__ebr_rec *dbr__ebr_self
	__attribute__((tls_model("initial-exec")));
#else
extern _Thread_local struct dbr__ebr_rec *dbr__ebr_self;
#endif

/* This thread's record, made on its first section (NULL: no memory). */
struct dbr__ebr_rec *dbr__ebr_register(void);

/*
 * Enter a read section (sections nest). Returns this thread's record, to
 * give to dbr__ebr_exit(), or NULL when no record could be made (out of
 * memory): the caller then fails its operation with DBR_E_NOMEM.
 */
static DBR_INLINE struct dbr__ebr_rec *dbr__ebr_enter(void)
{
	struct dbr__ebr_rec *r = dbr__ebr_self;

	if (DBR_UNLIKELY(!r) && !(r = dbr__ebr_register()))
		return NULL;
	if (!r->depth++)
		atomic_store(&r->epoch, atomic_load(&dbr__ebr_epoch));
	return r;
}

/* Leave the section dbr__ebr_enter() opened. */
static DBR_INLINE void dbr__ebr_exit(struct dbr__ebr_rec *r)
{
	if (!--r->depth)
		atomic_store_explicit(&r->epoch, 0, memory_order_release);
}

/* After unpublishing an object: its stamp, for dbr__ebr_is_safe(). */
uint64_t dbr__ebr_advance(void);

/* Whether no thread is still inside a section entered before stamp. */
bool dbr__ebr_is_safe(uint64_t stamp);

#endif /* DBR_EBR_H */
