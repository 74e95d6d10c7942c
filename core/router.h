/*
 * router.h - chat id to source index, an open-addressing hash table built
 * once from the configuration and then only read (no locks).
 */
#ifndef DBR_ROUTER_H
#define DBR_ROUTER_H

#include "internal.h"

#define DBR__ROUTE_MISS UINT32_MAX

/* A chat id and its source side by side: one cache line per probe. */
struct dbr__route_slot {
	int64_t chat;
	uint32_t source; /* source index + 1; 0 marks an empty slot */
	uint32_t unused;
};

struct dbr__router {
	struct dbr__route_slot *slots; /* aligned within `block` */
	void *block;		       /* what was allocated */
	size_t mask;		       /* capacity - 1 (a power of two) */
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

static inline size_t dbr__router_slot(const struct dbr__router *r, int64_t chat)
{
	/* Fibonacci hashing: the high bits of a multiply spread sequential
	 * and sparse ids alike. */
	uint64_t h = (uint64_t)chat * 0x9E3779B97F4A7C15ull;

	return (size_t)(h >> 32 ^ h) & r->mask;
}

/* The source index chat is mapped to, or DBR__ROUTE_MISS. */
static inline uint32_t dbr__router_lookup(const struct dbr__router *r,
					  int64_t chat)
{
	const struct dbr__route_slot *s;
	size_t i;

	if (!r->count)
		return DBR__ROUTE_MISS;
	for (i = dbr__router_slot(r, chat);; i = (i + 1) & r->mask) {
		s = &r->slots[i];
		if (!s->source)
			return DBR__ROUTE_MISS;
		if (s->chat == chat)
			return s->source - 1;
	}
}

#endif /* DBR_ROUTER_H */
