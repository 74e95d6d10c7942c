/*
 * pool.h - a bounded pool of connections per source: opened lazily,
 * reused last-in first-out, waited for at most the source's timeout.
 */
#ifndef DBR_POOL_H
#define DBR_POOL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

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
 * Stale pointers. A result or a transaction lives in its pool slot (or, for
 * a fan-out, in a shell the pool keeps), so the same address is handed to
 * one caller after another. The pointer a caller gets therefore carries
 * the object's generation in its top bits: bit 63 says the pointer is
 * tagged, bits 48-62 hold the generation (1 to DBR__GEN_MAX), the low 48
 * bits the address (Linux user addresses on x86-64 and aarch64 fit in 47
 * and 48 bits). The object keeps the generation it was handed out with in
 * `live` while it is open, 0 once it is freed or ended, so every public
 * call compares one 16-bit load with the pointer's bits before it touches
 * anything else, and a pointer from before a free no longer matches.
 *
 * An object whose address does not fit in 48 bits (a 57-bit address space)
 * is handed out untagged, as are the pointers the core passes to itself:
 * an untagged pointer is only checked to be open (generation 0, the
 * fallback). Bit 63 is never set in a user-space address, so the two
 * kinds cannot be confused. Generations wrap after DBR__GEN_MAX uses of
 * one object: a pointer that stale passes the check again.
 */
#define DBR__GEN_MAX 0x7fffu
#if UINTPTR_MAX > 0xffffffffu
#define DBR__GEN_TAGGED ((uintptr_t)1 << 63)
#define DBR__GEN_SHIFT	48
#define DBR__GEN_ADDR	(((uintptr_t)1 << DBR__GEN_SHIFT) - 1)
#endif

/*
 * An object's generations. `next` is the one its next hand-out uses (never
 * 0) and belongs to the owner; `live` is read by any thread holding a
 * pointer, stale or not, hence atomic.
 */
struct dbr__gen {
	uint16_t next;
	atomic_ushort live; /* the open generation, 0 when not open */
};

/* Open: live takes the next generation. Returns it. */
static inline unsigned dbr__gen_open(struct dbr__gen *g)
{
	atomic_store_explicit(&g->live, g->next, memory_order_relaxed);
	return g->next;
}

/* Closed: no pointer handed out so far matches any more. */
static inline void dbr__gen_close(struct dbr__gen *g)
{
	atomic_store_explicit(&g->live, 0, memory_order_relaxed);
	g->next = (uint16_t)(g->next >= DBR__GEN_MAX ? 1 : g->next + 1);
}

static inline bool dbr__gen_is_open(const struct dbr__gen *g)
{
	return atomic_load_explicit(&g->live, memory_order_relaxed) != 0;
}

/* The pointer to hand out for obj, opened with generation gen. */
static inline void *dbr__gen_tag(void *obj, unsigned gen)
{
#ifdef DBR__GEN_TAGGED
	uintptr_t v = (uintptr_t)obj;

	if (!(v >> DBR__GEN_SHIFT))
		return (void *)(v | DBR__GEN_TAGGED |
				(uintptr_t)gen << DBR__GEN_SHIFT);
#else
	(void)gen;
#endif
	return obj;
}

/* The object a pointer names (never NULL for a tagged one), and the
 * generation it carries in *gen (0: untagged). */
static inline void *dbr__gen_strip(const void *p, unsigned *gen)
{
#ifdef DBR__GEN_TAGGED
	uintptr_t v = (uintptr_t)p;

	if (v & DBR__GEN_TAGGED) {
		*gen = (unsigned)(v >> DBR__GEN_SHIFT) & DBR__GEN_MAX;
		return (void *)(v & DBR__GEN_ADDR);
	}
#endif
	*gen = 0;
	return (void *)(uintptr_t)p;
}

/* Whether g is open under the generation a pointer carried. */
static inline bool dbr__gen_matches(const struct dbr__gen *g, unsigned gen)
{
	unsigned live = atomic_load_explicit(&g->live, memory_order_relaxed);

	return gen ? live == gen : live != 0;
}

/*
 * The state a query keeps while its result is open. One per pooled
 * connection, so that running a statement allocates nothing.
 */
struct dbr_result {
	struct dbr__gen gen;	  /* open: live != 0 */
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
	bool row;	      /* positioned on a row */
	bool done;	      /* the cursor reached its end */
	struct dbr_error err; /* the last failure of a call on it */
};

struct dbr_tx {
	struct dbr__gen gen; /* open: live != 0 */
	struct dbr *db;
	struct dbr__pconn *pc;
};

/* A result or a transaction from a caller's pointer: NULL when the pointer
 * is NULL or stale (freed, ended, or handed out again since). */
static inline struct dbr_result *dbr__result_of(const struct dbr_result *p)
{
	unsigned gen;
	struct dbr_result *r = dbr__gen_strip(p, &gen);

	return r && dbr__gen_matches(&r->gen, gen) ? r : NULL;
}

static inline struct dbr_tx *dbr__tx_of(const struct dbr_tx *p)
{
	unsigned gen;
	struct dbr_tx *t = dbr__gen_strip(p, &gen);

	return t && dbr__gen_matches(&t->gen, gen) ? t : NULL;
}

/*
 * A block the pool keeps for reuse until it is released (a fan-out's
 * merged result: see fanout.c). It starts with this link.
 */
struct dbr__spare {
	struct dbr__spare *next;
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

/* The struct that holds member m at p. */
#define DBR__CONTAINER_OF(p, type, m)                                          \
	((type *)(void *)((char *)(p)-offsetof(type, m)))

struct dbr__pool {
	struct dbr_source_config *src;
	struct dbr__pconn *_Atomic slots; /* max_connections, on first use */
	size_t max;
	pthread_mutex_t mu; /* allocating slots; waiting for one */
	pthread_cond_t cv;  /* on CLOCK_MONOTONIC */
	atomic_int waiters;
	atomic_uint_fast64_t sweep_ns; /* coarse clock: the next sweep */
	struct dbr__spare *spares;     /* under mu; freed with the pool */
	atomic_bool stale_logged;      /* a stale pointer was reported */
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

/* A spare block of the pool, or NULL when it has none. */
struct dbr__spare *dbr__pool_spare_take(struct dbr__pool *p);

/* Keep a block for reuse; it is freed (dbr__free) with the pool. */
void dbr__pool_spare_keep(struct dbr__pool *p, struct dbr__spare *s);

/*
 * A stale pointer (what) was freed or ended, and ignored: say so at warn
 * level, the first time only for this pool. p may be NULL (nothing is
 * logged).
 */
void dbr__pool_stale(struct dbr__pool *p, const char *what);

/* How many slots are in a state (for status and tests). */
size_t dbr__pool_count(struct dbr__pool *p, int state);

/* The operations and errors of the pool's connections so far. */
void dbr__pool_totals(struct dbr__pool *p, uint64_t *ops, uint64_t *errors);

#endif /* DBR_POOL_H */
