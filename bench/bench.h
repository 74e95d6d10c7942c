/*
 * bench.h - dbroute-bench: dbroute's cost next to the raw client libraries,
 * measured side by side in one run (docs/performance.md).
 */
#ifndef DBR_BENCH_H
#define DBR_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dbroute.h"

/* Run n operations of one side of a workload. */
typedef void (*bench_fn)(void *state, long n);

struct bench {
	long iterations; /* operations per round; 0: each workload's own */
	int rounds;
	const char *only;
	const char *dir; /* a scratch folder */
	/* Control runs of the two-thread workload (docs/performance.md):
	 * busy work the raw side does between its statements (gap), or
	 * while its statement is still open (hold). */
	long raw_gap, raw_hold;
	bool verbose; /* each round's times on stderr */
	/* [database] metrics of every dbroute side; NULL: the default. */
	const char *metrics;
	/* [database] timing_sample of every dbroute side; NULL: the default. */
	const char *timing_sample;
	/* Results for the JSON output. */
	struct bench_row {
		char name[48];
		double raw_ns, dbr_ns;
		double ratio; /* bench_ratio() of the rounds */
	} rows[40];
	int nrows;
	double routing_ns, bytes_per_source, bytes_per_mapping;
	double speedup, raw_speedup, speedup_ratio;
};

double bench_now(void);

/* The median of n values (sorts them). */
double bench_median(double *v, int n);

/*
 * num / den over n rounds run A B, B A, A B, ...: the median, over each
 * pair of rounds, of the pair's sums. In a pair each side ran once first
 * and once second, so an effect of the order cancels (on PostgreSQL here
 * the first run of a round is the slower one), and the two rounds are
 * next to each other in time, so a change in the machine's load between
 * pairs cancels too. One round: its own ratio.
 */
double bench_ratio(const double *num, const double *den, int n);

/* Whether the workload `name` is wanted: --only names it, or names its
 * top-level group ("sqlite" takes "sqlite.insert"). */
bool bench_wanted(const struct bench *b, const char *name);

/* Whether any workload of the top-level `group` is wanted. */
bool bench_group(const struct bench *b, const char *group);

/* The operations per round: --iterations, else `dflt`. */
long bench_ops(const struct bench *b, long dflt);

/*
 * Time raw and dbroute interleaved (A B, B A, ...) for b->rounds rounds of
 * n operations each; record and print each side's median and their
 * bench_ratio().
 */
void bench_compare(struct bench *b, const char *name, bench_fn raw,
		   void *raw_state, bench_fn dbr, void *dbr_state, long n);

/* Fail the benchmark with a message (a setup error, never a slow run). */
void bench_die(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

/* Check a dbroute call: die with its message when it failed. */
void bench_ok(int rc, const struct dbr_error *err, const char *what);

/* A path in the scratch folder (static buffer of the caller's). */
void bench_path(const struct bench *b, char *out, size_t size,
		const char *name);

/* Write a file into the scratch folder; returns its path in out. */
void bench_write(const struct bench *b, char *out, size_t size,
		 const char *name, const char *text);

/* A fixed-seed pseudo-random sequence (xorshift64*). */
uint64_t bench_rand(uint64_t *state);

/* The dataset every SQL workload shares: messages(chat_id, message_id,
 * user_id, text) of 100,000 rows over 100 chats, and lookup keys from a
 * fixed seed. */
#define BENCH_ROWS  100000
#define BENCH_CHATS 100
#define BENCH_NKEYS 65536 /* a power of two */
extern int64_t bench_keys[BENCH_NKEYS][2];
extern const char bench_lookup_sql[];
extern const char bench_insert_sql[];

/* Fill bench_keys from the fixed seed. */
void bench_init_keys(void);

/* Open a configuration written into the scratch folder. */
struct dbr *bench_open(struct bench *b, const char *name, const char *text);

/* Each side on its own cache lines: two threads' sides side by side in
 * an array must not share one (every lookup writes `at` and `sink`). */
#define BENCH_LINE 64

/* The dbroute side of the SQL workloads, the same for every driver. */
struct dbr_side {
	_Alignas(BENCH_LINE) struct dbr *h;
	struct dbr_tx *tx;
	long at, count;
	int64_t fixed_chat; /* two-thread runs: one chat per thread */
	int64_t sink;
};

/* Point lookups by chat (reading every column) and single-row inserts,
 * 1,000 per transaction. */
void bench_dbr_lookup(void *side, long n);
void bench_dbr_insert(void *side, long n);

void bench_sqlite(struct bench *b);
void bench_postgres(struct bench *b);
void bench_mysql(struct bench *b);
void bench_redis(struct bench *b);
void bench_routing(struct bench *b);
void bench_memory(struct bench *b);

#endif /* DBR_BENCH_H */
