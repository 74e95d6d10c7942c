/*
 * metrics.c - the histograms, the chat sketch and the statement kinds of
 * metrics.h, and folding a slot's metrics into dbr_source_stats().
 */
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

/* The buckets' upper bounds in nanoseconds: 1-2.5-5 steps, 1 µs .. 10 s. */
static const uint64_t bounds[DBR_HISTOGRAM_BUCKETS - 1] = {
	1000,	    2500,	5000,	     10000,	  25000,     50000,
	100000,	    250000,	500000,	     1000000,	  2500000,   5000000,
	10000000,   25000000,	50000000,    100000000,	  250000000, 500000000,
	1000000000, 2500000000, 5000000000u, 10000000000u
};

uint64_t dbr_histogram_bound(size_t i)
{
	return i < DBR_HISTOGRAM_BUCKETS - 1 ? bounds[i] : UINT64_MAX;
}

void dbr__hist_add(struct dbr__hist *h, uint64_t ns, uint64_t weight)
{
	size_t i = 0;

	/* Most statements end in the first few buckets: a short walk. */
	while (i < DBR_HISTOGRAM_BUCKETS - 1 && ns > bounds[i])
		i++;
	dbr__count(&h->n[i], weight);
	dbr__count(&h->sum_ns, ns * weight);
}

_Thread_local struct dbr__sampler dbr__sampler;

uint32_t dbr__sample_fire(uint32_t n)
{
	struct dbr__sampler *s = &dbr__sampler;
	uint32_t weight = s->gap ? s->gap : 1, x = s->rng;

	if (n == 1)
		return 1;
	/* Seeded per thread by the record's own address. */
	if (!x)
		x = (uint32_t)((uintptr_t)s >> 4) * 2654435761u | 1u;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	s->rng = x;
	s->gap = n > 1 ? 1 + x % (2 * n - 1) : 1;
	s->left = s->gap;
	return weight;
}

void dbr__metrics_chat(struct dbr__slot_metrics *m, int64_t chat)
{
	dbr__topn_add(&m->chat_ops, chat, m->weight);
	if (m->took_ns)
		dbr__topn_add(&m->chat_ns, chat, m->took_ns * m->weight);
}

/*
 * The first keywords of statements that only read: SQL queries, and
 * Redis commands that read (a key-value source's statement is its
 * command line). Words are cut at 8 letters: SISMEMBE is SISMEMBER.
 */
static const char *const read_words[] = {
	"SELECT", "WITH",     "VALUES",	 "SHOW",     "EXPLAIN", "TABLE",
	"GET",	  "MGET",     "HGET",	 "HMGET",    "HGETALL", "HKEYS",
	"HVALS",  "HLEN",     "HEXISTS", "EXISTS",   "TTL",	"PTTL",
	"TYPE",	  "KEYS",     "SCAN",	 "STRLEN",   "LRANGE",	"LLEN",
	"LINDEX", "SMEMBERS", "SCARD",	 "SISMEMBE", "ZRANGE",	"ZSCORE",
	"ZCARD",  "ZCOUNT",   "ZRANK",	 "PING",     "DBSIZE",	"GETRANGE"
};

int dbr__metrics_kind(const char *sql)
{
	char word[9];
	uint64_t w = 0;
	size_t i;

	while (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '\r')
		sql++;
	for (i = 0; i < 8; i++) {
		unsigned char c = (unsigned char)sql[i];

		if (!dbr__is_letter((char)c))
			break;
		word[i] = (char)(c & 0xdf);
		w = w << 8 | (c & 0xdfu);
	}
	word[i] = '\0';
	/* The most frequent, without the table: SELECT; INSERT, UPDATE. */
	if (w == 0x53454c454354u)
		return DBR_OP_READ;
	if (w == 0x494e53455254u || w == 0x555044415445u)
		return DBR_OP_WRITE;
	for (i = 0; i < sizeof(read_words) / sizeof(read_words[0]); i++)
		if (!strcmp(word, read_words[i]))
			return DBR_OP_READ;
	return DBR_OP_WRITE;
}

void dbr__topn_add(struct dbr__topn *t, int64_t chat, uint64_t weight)
{
	size_t i, min = 0;
	uint64_t w, least = UINT64_MAX;

	for (i = 0; i < DBR__TOPN_ENTRIES; i++) {
		w = atomic_load_explicit(&t->e[i].weight, memory_order_relaxed);
		if (w && atomic_load_explicit(&t->e[i].chat,
					      memory_order_relaxed) == chat) {
			atomic_store_explicit(&t->e[i].weight, w + weight,
					      memory_order_relaxed);
			return;
		}
		if (w < least) {
			least = w;
			min = i;
		}
	}
	/* Absent: it takes the lightest entry (a free one weighs 0). */
	atomic_store_explicit(&t->e[min].chat, chat, memory_order_relaxed);
	atomic_store_explicit(&t->e[min].weight, least + weight,
			      memory_order_relaxed);
}

void dbr__topn_merge(const struct dbr__topn *t, struct dbr_chat_load *list,
		     size_t *n, bool ops)
{
	size_t i, j;

	for (i = 0; i < DBR__TOPN_ENTRIES; i++) {
		uint64_t w = atomic_load_explicit(&t->e[i].weight,
						  memory_order_relaxed);
		int64_t chat = atomic_load_explicit(&t->e[i].chat,
						    memory_order_relaxed);

		if (!w)
			continue;
		for (j = 0; j < *n && list[j].chat != chat; j++)
			;
		if (j == *n) {
			memset(&list[j], 0, sizeof(list[j]));
			list[j].chat = chat;
			++*n;
		}
		if (ops)
			list[j].ops += w;
		else
			list[j].time_ns += w;
	}
}

static int by_ops(const void *a, const void *b)
{
	const struct dbr_chat_load *x = a, *y = b;

	if (x->ops != y->ops)
		return x->ops < y->ops ? 1 : -1;
	return x->chat < y->chat ? -1 : x->chat > y->chat;
}

static int by_time(const void *a, const void *b)
{
	const struct dbr_chat_load *x = a, *y = b;

	if (x->time_ns != y->time_ns)
		return x->time_ns < y->time_ns ? 1 : -1;
	return x->chat < y->chat ? -1 : x->chat > y->chat;
}

void dbr__topn_sort(struct dbr_chat_load *list, size_t *n, size_t cap, bool ops)
{
	qsort(list, *n, sizeof(*list), ops ? by_ops : by_time);
	if (*n > cap)
		*n = cap;
}

void dbr__metrics_init(struct dbr__slot_metrics *m)
{
	memset(m, 0, sizeof(*m));
}

static void hist_fold(const struct dbr__hist *h, struct dbr_histogram *out)
{
	size_t i;
	uint64_t n;

	for (i = 0; i < DBR_HISTOGRAM_BUCKETS; i++) {
		n = atomic_load_explicit(&h->n[i], memory_order_relaxed);
		out->bucket[i] += n;
		out->count += n;
	}
	out->sum_ns += atomic_load_explicit(&h->sum_ns, memory_order_relaxed);
}

void dbr__metrics_fold(const struct dbr__slot_metrics *m,
		       struct dbr_source_stats *st)
{
	size_t i;

	for (i = 0; i < DBR_OP_KINDS; i++)
		st->ops_by_kind[i] +=
			atomic_load_explicit(&m->ops[i], memory_order_relaxed);
	for (i = 0; i < DBR__ROUTE_REASONS; i++)
		st->routed[i] += atomic_load_explicit(&m->routed[i],
						      memory_order_relaxed);
	hist_fold(&m->stmt, &st->statement_time);
	hist_fold(&m->acquire, &st->acquire_wait);
}
