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
#include "metrics.h"

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
 * one caller after another. The pointer a caller gets, its handle,
 * therefore carries the object's generation in bits the address leaves
 * free: bit 63 says the handle is tagged, bits 48-62 hold a 15-bit
 * generation, the low 48 bits the address (Linux user addresses on x86-64
 * and aarch64 fit in 47 and 48 bits). Every object is 8-byte aligned, so
 * bits 0-2 of its address are 0: the word below uses bits 0 and 1. Bit 2
 * could hold one more generation bit, but not contiguous with the others:
 * its carry would take three more instructions at each close.
 *
 * The object keeps one word. While it is open: its handle xor its kind
 * (DBR__GEN_RESULT 0, DBR__GEN_TX 2 in bit 1), so that a transaction's
 * handle never passes a result's check nor the reverse. Once closed: the
 * word of its next opening with bit 0 set, which no handle's word equals.
 * Every public call compares that word with the pointer it was given
 * before it touches anything else: a pointer from before a free no longer
 * matches. A call that ends the object (a free, a commit, a rollback)
 * claims it instead: one compare-and-swap from the open word to the
 * closed one, so that of two threads ending it at once, one only goes on.
 *
 * A call that only checks (next, value, ...) racing with the owner's free
 * on another thread may still pass its check just before the free, and
 * then read the object after the slot went to its next holder: only
 * reference counting, on every call, would stop that; it is a data race
 * in the caller's program, and not what this scheme is for.
 *
 * An object whose address does not fit in 48 bits (a 57-bit address
 * space, or a top-byte tag on aarch64) is handed out untagged: its handle
 * is its address, the same at every use, so only a pointer to a closed
 * object is caught there, not one to a reused object (the fallback). A
 * 32-bit build has no free bits and is always untagged. Bit 63 is never
 * set in a user-space address, so the two kinds cannot be confused.
 * Generations wrap after DBR__GEN_COUNT uses of one object: a pointer that
 * stale matches again. A pointer that never came from the library is
 * dereferenced: undefined, as in any C API.
 */
#if UINTPTR_MAX > 0xffffffffu
#define DBR__GEN_TAGGED ((uintptr_t)1 << 63)
#define DBR__GEN_STEP	((uintptr_t)1 << 48) /* one generation */
#define DBR__GEN_COUNT	32768u		     /* 15 bits */
#else
/* No room in a 32-bit pointer: every object is untagged. */
#define DBR__GEN_TAGGED ((uintptr_t)0)
#define DBR__GEN_STEP	((uintptr_t)0)
#define DBR__GEN_COUNT	1u
#endif
#define DBR__GEN_ADDR	(DBR__GEN_STEP - 1) /* the address bits */
#define DBR__GEN_CLOSED ((uintptr_t)1)
#define DBR__GEN_RESULT ((uintptr_t)0) /* the kinds, in bit 1 of the word */
#define DBR__GEN_TX	((uintptr_t)2)
/* The low bits of an address the word uses. */
#define DBR__GEN_LOWBITS (DBR__GEN_TX | DBR__GEN_CLOSED)

/*
 * The first member of every object a caller holds a handle to, read by
 * any thread holding a pointer to it, stale or not (hence atomic), and
 * written by its owner only, or by the thread whose claim succeeded.
 */
struct dbr__gen {
	atomic_uintptr_t handle; /* open: handle ^ kind; closed: next | 1 */
};

/* The handle of obj with the generation bits of `bits`. */
static inline void *dbr__gen_tag(void *obj, uintptr_t bits)
{
	uintptr_t v = (uintptr_t)obj;

	return (void *)((v & ~DBR__GEN_ADDR) ? v : v | bits);
}

/* A new object's word: closed, generation 0 next, of its kind. */
static inline void dbr__gen_init(struct dbr__gen *g, uintptr_t kind)
{
	atomic_init(&g->handle, ((uintptr_t)dbr__gen_tag(g, DBR__GEN_TAGGED) ^
				 kind) | DBR__GEN_CLOSED);
}

static inline uintptr_t dbr__gen_word(const struct dbr__gen *g)
{
	return atomic_load_explicit(&g->handle, memory_order_relaxed);
}

/*
 * The word that closes an open word w: the next generation's, closed
 * (tagged: bit 63 is set again when the 15 bits wrap; untagged: the
 * address stays).
 */
static inline uintptr_t dbr__gen_next(uintptr_t w)
{
	if (DBR_UNLIKELY(!(w & DBR__GEN_TAGGED)))
		return w | DBR__GEN_CLOSED;
	return (w + DBR__GEN_STEP) | DBR__GEN_TAGGED | DBR__GEN_CLOSED;
}

/* An open object's handle, given its kind; for its owner. */
static inline void *dbr__gen_handle(const struct dbr__gen *g, uintptr_t kind)
{
	return (void *)(dbr__gen_word(g) ^ kind);
}

/* Open a closed object: returns the handle to give out. */
static inline void *dbr__gen_open(struct dbr__gen *g)
{
	uintptr_t w = dbr__gen_word(g) & ~DBR__GEN_CLOSED;

	atomic_store_explicit(&g->handle, w, memory_order_relaxed);
	return (void *)(w & ~DBR__GEN_TX);
}

/*
 * Close an open object its owner holds as an object (no caller has its
 * handle): no handle given out so far matches any more (until the
 * generations wrap). A caller's handle is claimed instead (below).
 */
static inline void dbr__gen_close(struct dbr__gen *g)
{
	atomic_store_explicit(&g->handle, dbr__gen_next(dbr__gen_word(g)),
			      memory_order_relaxed);
}

static inline bool dbr__gen_is_open(const struct dbr__gen *g)
{
	return !(dbr__gen_word(g) & DBR__GEN_CLOSED);
}

/* The object a non-NULL pointer names, whether it is still open or not. */
static inline void *dbr__gen_object(const void *p)
{
	uintptr_t v = (uintptr_t)p;

	return (void *)((v & DBR__GEN_TAGGED) ? v & DBR__GEN_ADDR : v);
}

/*
 * Whether p is the open handle of an object of its kind; *obj is then that
 * object. A status and an out-parameter rather than a pointer or NULL: the
 * caller then needs no second test for NULL (this is on every call's
 * path). For a result (kind 0) the test is the word against p itself.
 */
static inline bool dbr__gen_check(const void *p, uintptr_t kind, void **obj)
{
	uintptr_t v = (uintptr_t)p;
	struct dbr__gen *g;

	/* Every handle is tagged but the fallback's (and NULL). */
	if (DBR_UNLIKELY(!(v & DBR__GEN_TAGGED))) {
		if (!v)
			return false;
		g = (struct dbr__gen *)v;
	} else {
		g = (struct dbr__gen *)(v & DBR__GEN_ADDR);
	}
	*obj = g;
	return dbr__gen_word(g) == (v ^ kind);
}

/*
 * The same for a call that ends the object: closes it too, in one
 * compare-and-swap, so that one caller only gets true for one opening.
 * Relaxed: the word's own modification order is all that decides; the
 * object's fields reached the caller with the handle.
 */
static inline bool dbr__gen_claim(const void *p, uintptr_t kind, void **obj)
{
	uintptr_t w = (uintptr_t)p ^ kind;
	struct dbr__gen *g;

	if (!p)
		return false;
	g = dbr__gen_object(p);
	*obj = g;
	return atomic_compare_exchange_strong_explicit(
		&g->handle, &w, dbr__gen_next(w), memory_order_relaxed,
		memory_order_relaxed);
}

/*
 * The state a query keeps while its result is open. One per pooled
 * connection, so that running a statement allocates nothing.
 */
/* What the core must learn when a result's statement ends: whether it
 * wrote (query.c, note_writes). */
enum dbr__result_notes {
	DBR__NOTE_DIVERTED = 1u << 0, /* a chat's diverted operation */
	DBR__NOTE_AUDIT = 1u << 1     /* on a named source, audited */
};

struct dbr_result {
	struct dbr__gen gen;	  /* first: see dbr__gen_check() */
	struct dbr__merge *merge; /* a fan-out's merged cursor, else NULL */
	struct dbr *db;
	struct dbr__pconn *pc;
	const struct dbr_driver *vt;
	struct dbr_driver_conn *dc;
	struct dbr_tx *tx;		/* non-NULL: the transaction keeps pc */
	struct dbr_source_config *from; /* diverted from this source */
	int64_t chat;
	size_t ncols;
	bool has_chat;
	uint8_t notes;	      /* enum dbr__result_notes: asked at its end */
	bool row;	      /* positioned on a row */
	bool done;	      /* the cursor reached its end */
	struct dbr_error err; /* the last failure of a call on it */
};

struct dbr_tx {
	struct dbr__gen gen; /* first: see dbr__gen_check() */
	struct dbr *db;
	struct dbr__pconn *pc;
	int64_t chat;  /* the chat it was begun for (metrics) */
	bool has_chat; /* begun for a chat, not a named source */
	bool moving;   /* rolled back: its chat's source refused a write */
};

_Static_assert(offsetof(struct dbr_result, gen) == 0, "gen is first");
_Static_assert(offsetof(struct dbr_tx, gen) == 0, "gen is first");
_Static_assert(_Alignof(struct dbr_result) > DBR__GEN_LOWBITS &&
		       _Alignof(struct dbr_tx) > DBR__GEN_LOWBITS,
	       "the low bits of an object's address are free");

/*
 * A result or a transaction from a caller's pointer: false when the
 * pointer is NULL, stale (freed, ended, or handed out again since) or of
 * the other kind. Through a void * (no aliasing of the out-parameter).
 */
static inline bool dbr__result_check(const struct dbr_result *p,
				     struct dbr_result **res)
{
	void *o;
	bool ok = dbr__gen_check(p, DBR__GEN_RESULT, &o);

	*res = o;
	return ok;
}

static inline bool dbr__tx_check(const struct dbr_tx *p, struct dbr_tx **tx)
{
	void *o;
	bool ok = dbr__gen_check(p, DBR__GEN_TX, &o);

	*tx = o;
	return ok;
}

/* The same, closing it (dbr__gen_claim()): for the calls that end it. */
static inline bool dbr__result_claim(const struct dbr_result *p,
				     struct dbr_result **res)
{
	void *o = NULL;
	bool ok = dbr__gen_claim(p, DBR__GEN_RESULT, &o);

	*res = o;
	return ok;
}

static inline bool dbr__tx_claim(const struct dbr_tx *p, struct dbr_tx **tx)
{
	void *o = NULL;
	bool ok = dbr__gen_claim(p, DBR__GEN_TX, &o);

	*tx = o;
	return ok;
}

/* The same, NULL when not open: for calls off the hot path. */
static inline struct dbr_result *dbr__result_of(const struct dbr_result *p)
{
	struct dbr_result *res;

	return dbr__result_check(p, &res) ? res : NULL;
}

/*
 * A block the pool keeps for reuse until it is released (a fan-out's
 * merged result: see fanout.c). It starts with this link.
 *
 * The list is never trimmed: a caller may still hold a stale pointer to
 * any shell ever handed out, and its next call reads the shell's word, so
 * a shell freed before dbr_close() would turn that MISUSE into a use after
 * free. The list holds as many shells as fan-outs were ever open at once
 * (at most one per thread running them), each a fixed size (its per-query
 * arrays are freed when it is), which bounds it.
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
	bool bounded;		     /* the holder's bound is set on dc */
	unsigned ops, errors;	     /* since taken */
	atomic_uint_fast64_t total_ops, total_errors;
	struct dbr__slot_metrics m; /* written by the holder: metrics.h */
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
	atomic_uint stale_seen[2];     /* stale pointers: slots, fan-outs */
	atomic_uint_fast64_t sweep_ns; /* coarse clock: the next sweep */
	struct dbr__spare *spares;     /* under mu; freed with the pool */
	int metrics;		       /* enum dbr__metrics_mode */
	uint32_t sample; /* statements per sample: dbr__sample() */
	/* Off the hot path, so shared: connections opened, failed to open,
	 * discarded; routing decisions that found no connection. */
	atomic_uint_fast64_t connects, connect_failures, discarded;
	atomic_uint_fast64_t routed_failed[DBR__ROUTE_REASONS];
	/* A reload removed or changed the source (dbr__pool_retire()). */
	atomic_bool retired;
};

int dbr__pool_init(struct dbr__pool *p, struct dbr_source_config *src);

/*
 * Retire a pool a reload removed or changed: it hands out no more
 * connections (an acquire that still reaches it, through a snapshot read
 * before the reload, fails with a retryable DBR_E_UNAVAILABLE), its idle
 * connections are closed now and the others when they are put back.
 * Never waits. Memory stays until dbr__pool_release().
 */
void dbr__pool_retire(struct dbr__pool *p);

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

/*
 * The same, waiting at most until `by` (CLOCK_MONOTONIC) for a free slot
 * instead of the source's timeout; NULL: the timeout.
 */
int dbr__pool_acquire_by(struct dbr__pool *p, const struct timespec *by,
			 struct dbr__pconn **out, struct dbr_error *err);

/*
 * Bound the server waits of every connection this thread takes from now
 * on to `seconds` per wait (driver ABI 2.2 bound(); 0: none), until set
 * again; each connection's bound is lifted when it goes back. Returns the
 * bound set before. The mapping store's refresher bounds its reads with
 * the store's `timeout` this way.
 */
double dbr__pool_bound_thread(double seconds);

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
 * level, the first time and then every DBR__STALE_LOG_EVERY-th time, for
 * this pool's slots or (fanout) for the fan-out shells it keeps, each
 * counted apart. p may be NULL (nothing is logged).
 */
void dbr__pool_stale(struct dbr__pool *p, bool fanout, const char *what);

/* How often a stale pointer is logged after the first: a power of 2. */
#define DBR__STALE_LOG_EVERY 1024u

/* How many slots are in a state (for tests: one state per pass). */
size_t dbr__pool_count(struct dbr__pool *p, int state);

/*
 * The slots idle and in use (taken or opening), in one pass that reads
 * each slot's state once: a slot that moves while it is counted counts
 * once, so *idle + *in_use never passes max (dbr_source_stats()).
 */
void dbr__pool_census(struct dbr__pool *p, size_t *idle, size_t *in_use);

/* The operations and errors of the pool's connections so far. */
void dbr__pool_totals(struct dbr__pool *p, uint64_t *ops, uint64_t *errors);

/* Add the pool's metrics (every slot's, and its own) to st. */
void dbr__pool_metrics(struct dbr__pool *p, struct dbr_source_stats *st);

#endif /* DBR_POOL_H */
