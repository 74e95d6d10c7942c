/*
 * router.h - chat id to source index, an open-addressing hash table built
 * once from the configuration and then only read (no locks).
 */
#ifndef DBR_ROUTER_H
#define DBR_ROUTER_H

#include "internal.h"

#define DBR__ROUTE_MISS UINT32_MAX

/* A chat id and its source side by side: one cache line per read. */
struct dbr__route_slot {
	int64_t chat;
	uint32_t source;
	uint32_t unused;
};

/*
 * Linear probing over two arrays. tags[] holds one byte a slot: 0 when
 * free, else 7 bits of the chat's hash plus one. It is a sixteenth of the
 * size of slots[], small enough to stay in cache when slots[] cannot: a
 * chat that is not mapped is mostly answered from tags[] alone, and a
 * mapped one reads a slot only where its tag matches (a wrong match is one
 * in 128).
 */
struct dbr__router {
	const uint8_t *tags;		     /* capacity bytes */
	const struct dbr__route_slot *slots; /* capacity slots */
	void *block;			     /* what was allocated for both */
	size_t mask;			     /* capacity - 1 (a power of two) */
	size_t count;
};

/* Size the table for n mappings. */
int dbr__router_init(struct dbr__router *r, size_t n);

/*
 * Map chat to source. Returns DBR_OK, or DBR_E_MISUSE when chat is already
 * mapped (*existing then holds its source).
 */
int dbr__router_insert(struct dbr__router *r, int64_t chat, uint32_t source,
		       uint32_t *existing);

void dbr__router_release(struct dbr__router *r);

static inline uint64_t dbr__router_hash(int64_t chat)
{
	/* Fibonacci hashing: the high bits of a multiply spread sequential
	 * and sparse ids alike. */
	return (uint64_t)chat * 0x9E3779B97F4A7C15ull;
}

/* The home slot: the high half folded onto the low. */
static inline size_t dbr__router_slot(const struct dbr__router *r, uint64_t h)
{
	return (size_t)(h >> 32 ^ h) & r->mask;
}

/* The tag: the top 7 bits plus one. The home slot does not use those bits
 * in tables of up to 2^25 slots; in larger ones a wrong match is likelier,
 * never a wrong answer (the chat itself is compared). */
static inline uint8_t dbr__router_tag(uint64_t h)
{
	return (uint8_t)((h >> 57) + 1);
}

/* The source index chat is mapped to, or DBR__ROUTE_MISS. */
static inline uint32_t dbr__router_lookup(const struct dbr__router *r,
					  int64_t chat)
{
	uint64_t h = dbr__router_hash(chat);
	uint8_t tag = dbr__router_tag(h), t;
	size_t i;

	if (!r->count) /* a configuration without mappings: no hashing */
		return DBR__ROUTE_MISS;
	for (i = dbr__router_slot(r, h);; i = (i + 1) & r->mask) {
		t = r->tags[i];
		if (t == tag && r->slots[i].chat == chat)
			return r->slots[i].source;
		if (!t)
			return DBR__ROUTE_MISS;
	}
}

#endif /* DBR_ROUTER_H */
