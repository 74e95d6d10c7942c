/*
 * metrics.h - what a source's operations cost and which chats send them:
 * counters by kind and by routing reason, latency histograms, and a
 * bounded heavy-hitters sketch of chats, kept per pool slot and folded
 * when read (dbr_source_stats(), dbr_metrics_write()).
 *
 * Who writes what. Every pool slot (struct dbr__pconn) carries one
 * struct dbr__slot_metrics, and a slot is used by one thread at a time:
 * the one that took it. Only that thread writes the slot's metrics, each
 * field an atomic written by a relaxed load and store (no read-modify-write,
 * no lock, no cache line another thread writes); the slot changes hands
 * through its state's compare-and-swap, which orders one holder's writes
 * before the next holder's. Readers load every slot's fields relaxed and
 * add them up: each sum is exact once the operations it counts have
 * ended, and a recent value while they run. Slots live as long as the
 * pool, so nothing is lost when a connection is closed.
 *
 * Events off the hot path (errors, probes, connects, state changes) are
 * counted where they happen, under the source's health lock or in the
 * pool's atomics.
 */
#ifndef DBR_METRICS_H
#define DBR_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "internal.h"

/* [database] metrics. */
enum dbr__metrics_mode {
	DBR__METRICS_OFF = 0,
	DBR__METRICS_COUNTERS = 1,
	DBR__METRICS_TIMING = 2
};

/* Error codes counted apart (enum dbr_status); larger ones share the last. */
#define DBR__ERROR_CODES 16
/* Routing reasons counted apart (enum dbr_route_reason). */
#define DBR__ROUTE_REASONS 8

/* Entries of one slot's sketch. */
#define DBR__TOPN_ENTRIES 16

/* [database] timing_sample: its default and largest value. */
#define DBR__SAMPLE_DEFAULT 64u
#define DBR__SAMPLE_MAX	    65536u

/* One fixed-size histogram: counts per bucket (not cumulative), the sum. */
struct dbr__hist {
	atomic_uint_fast64_t n[DBR_HISTOGRAM_BUCKETS];
	atomic_uint_fast64_t sum_ns;
};

/*
 * Space-Saving (Metwally, Agrawal, El Abbadi 2005): at most
 * DBR__TOPN_ENTRIES chats with a weight each. A chat present gains its
 * weight; an absent one replaces the lightest entry and starts from that
 * entry's weight plus its own. Every chat's true weight w then satisfies
 * w <= estimate <= w + total / DBR__TOPN_ENTRIES, and every chat heavier
 * than total / DBR__TOPN_ENTRIES is present. A weight of 0 marks a free
 * entry.
 */
struct dbr__topn {
	struct {
		atomic_int_fast64_t chat;
		atomic_uint_fast64_t weight;
	} e[DBR__TOPN_ENTRIES];
};

struct dbr__slot_metrics {
	atomic_uint_fast64_t ops[DBR_OP_KINDS];
	atomic_uint_fast64_t routed[DBR__ROUTE_REASONS];
	struct dbr__hist stmt, acquire;
	struct dbr__topn chat_ops, chat_ns;
	/* The holder's own, read by no other thread. */
	uint64_t sent_ns; /* timing: when the open statement was sent, or 0 */
	uint64_t took_ns; /* timing: the statement's time once it ended */
	uint32_t weight;  /* the open statement's sample weight, 0: none */
};

/*
 * Which statements are sampled: a countdown per thread (one initial-exec
 * thread-local, written by its thread only), so that no clock is read and
 * no histogram or sketch written for the others. After a sample the next
 * gap is drawn uniformly from 1 .. 2N - 1 statements (mean N, the pool's
 * `sample`), so that no periodic workload is always sampled at the same
 * statement; a sample weighs the gap that ended with it, which makes the
 * weights add up to the statements counted, up to the last sample.
 */
struct dbr__sampler {
	uint32_t left; /* statements until the next sample, this one too */
	uint32_t gap;  /* the current gap's length: the next sample's weight */
	uint32_t rng;  /* xorshift state */
};

#if defined(__GNUC__)
extern _Thread_local struct dbr__sampler dbr__sampler
	__attribute__((tls_model("initial-exec")));
#else
extern _Thread_local struct dbr__sampler dbr__sampler;
#endif

/* The countdown reached its sample: its weight; the next gap drawn. */
uint32_t dbr__sample_fire(uint32_t n);

/*
 * Whether this thread's next statement is sampled: its weight, else 0.
 * With n = 1 every statement is, whatever the countdown (another
 * handle's pool may have left it mid-gap).
 */
static DBR_INLINE uint32_t dbr__sample(uint32_t n)
{
	if (DBR_UNLIKELY(dbr__sampler.left <= 1 || n == 1))
		return dbr__sample_fire(n);
	dbr__sampler.left--;
	return 0;
}

/* Add 1 to a counter only the calling thread writes. */
static inline void dbr__count(atomic_uint_fast64_t *c, uint64_t n)
{
	atomic_store_explicit(c,
			      atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

/* The monotonic clock in nanoseconds (never 0). */
static inline uint64_t dbr__clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec + 1;
}

/* The kind of a statement run on its own: read or write, by its first
 * keyword (SELECT, WITH, GET, ...: read; anything else: write). */
int dbr__metrics_kind(const char *sql);

/* Whether c (any byte) is an ASCII letter. */
static inline bool dbr__is_letter(char c)
{
	return (unsigned)((c | 0x20) - 'a') < 26u;
}

/*
 * The same, with the most frequent statement, a SELECT at the text's
 * start, told inline by its first three letters: no other statement nor
 * Redis command starts with them, so only a malformed one (`SELEC 1`)
 * counts as a read here where dbr__metrics_kind() says write (it failed,
 * and is counted among the errors too). Byte by byte, so that a shorter
 * text's NUL stops the compare before its end; the full word cost 18
 * more instructions per statement (docs/performance.md).
 */
static DBR_INLINE int dbr__metrics_kind_of(const char *s)
{
	if ((s[0] | 0x20) == 's' && (s[1] | 0x20) == 'e' &&
	    (s[2] | 0x20) == 'l')
		return DBR_OP_READ;
	return dbr__metrics_kind(s);
}

/* Record one observation of ns nanoseconds that weighs `weight`. */
void dbr__hist_add(struct dbr__hist *h, uint64_t ns, uint64_t weight);

/* Add weight to chat in a sketch. */
void dbr__topn_add(struct dbr__topn *t, int64_t chat, uint64_t weight);

/*
 * Merge a sketch into a public list of at most cap entries (sorted by
 * weight, heaviest first; *n entries in use): a chat already listed adds
 * the sketch's estimate. ops chooses the field merged into (ops or
 * time_ns). The list may hold more than cap chats while merging; callers
 * keep room for DBR__TOPN_ENTRIES more, then cut to cap.
 */
void dbr__topn_merge(const struct dbr__topn *t, struct dbr_chat_load *list,
		     size_t *n, bool ops);

/* Sort a merged list by ops (or time_ns), heaviest first, cut to cap. */
void dbr__topn_sort(struct dbr_chat_load *list, size_t *n, size_t cap,
		    bool ops);

/*
 * The statement that ran on this slot ended: record its time (timing,
 * when it was sampled) when not recorded yet. Cheap when called again.
 */
static DBR_INLINE void dbr__metrics_ended(struct dbr__slot_metrics *m)
{
	if (DBR_UNLIKELY(m->sent_ns)) {
		m->took_ns = dbr__clock_ns() - m->sent_ns;
		m->sent_ns = 0;
		dbr__hist_add(&m->stmt, m->took_ns, m->weight);
	}
}

/* A sampled statement of chat ended: weighed in the slot's sketches. */
void dbr__metrics_chat(struct dbr__slot_metrics *m, int64_t chat);

/*
 * After a statement's result was freed (or the statement failed): a
 * sampled statement of a chat (has_chat) weighs in its slot's sketches.
 */
static DBR_INLINE void dbr__metrics_done(struct dbr__slot_metrics *m,
					 bool has_chat, int64_t chat)
{
	if (DBR_UNLIKELY(m->weight)) {
		if (has_chat)
			dbr__metrics_chat(m, chat);
		m->weight = 0;
		m->took_ns = 0;
	}
}

/* Prepare a slot's metrics (all zero). */
void dbr__metrics_init(struct dbr__slot_metrics *m);

/* Add a slot's counters and histograms to a public stats struct. */
void dbr__metrics_fold(const struct dbr__slot_metrics *m,
		       struct dbr_source_stats *st);

#endif /* DBR_METRICS_H */
