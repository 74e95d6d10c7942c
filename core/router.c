/*
 * router.c - building the chat mapping table.
 */
#include <string.h>
#include <sys/mman.h>

#include "router.h"

/* Tables at least this big are aligned to it and offered huge pages: a
 * lookup then costs one cache miss, not a TLB miss on top. */
#define HUGE_PAGE ((size_t)2 << 20)

/* Bytes a slot takes in the two arrays. */
#define SLOT_BYTES (sizeof(uint8_t) + sizeof(struct dbr__route_slot))

int dbr__router_init(struct dbr__router *r, size_t n)
{
	size_t cap = 16, bytes, pad;
	uintptr_t at;

	memset(r, 0, sizeof(*r));
	if (!n)
		return DBR_OK;
	/* Load factor at most 1/2 keeps probe sequences short. */
	while (cap < n * 2) {
		if (cap > (SIZE_MAX - HUGE_PAGE) / 2 / SLOT_BYTES)
			return DBR_E_NOMEM;
		cap *= 2;
	}
	bytes = cap * SLOT_BYTES;
	pad = bytes >= HUGE_PAGE ? HUGE_PAGE : 0;
	r->block = dbr__malloc(bytes + pad);
	if (!r->block)
		return DBR_E_NOMEM;
	at = (uintptr_t)r->block;
	if (pad) {
		at = (at + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
#ifdef MADV_HUGEPAGE
		madvise((void *)at, bytes, MADV_HUGEPAGE); /* may be refused */
#endif
	}
	/* tags, then slots: cap is a power of two of at least 16, so the
	 * slots start aligned. Only tags need zeroing. */
	memset((void *)at, 0, cap);
	r->tags = (const uint8_t *)at;
	r->slots = (const struct dbr__route_slot *)(at + cap);
	r->mask = cap - 1;
	return DBR_OK;
}

int dbr__router_insert(struct dbr__router *r, int64_t chat, uint32_t source,
		       uint32_t *existing)
{
	uint64_t h = dbr__router_hash(chat);
	uint8_t tag = dbr__router_tag(h);
	size_t i;

	if (!r->block || r->count + 1 > (r->mask + 1) / 2)
		return DBR_E_NOMEM;
	for (i = dbr__router_slot(r, h); r->tags[i]; i = (i + 1) & r->mask) {
		if (r->tags[i] == tag && r->slots[i].chat == chat) {
			*existing = r->slots[i].source;
			return DBR_E_MISUSE;
		}
	}
	/* The table is built here and only read afterwards. */
	((uint8_t *)r->tags)[i] = tag;
	((struct dbr__route_slot *)r->slots)[i] =
		(struct dbr__route_slot){ .chat = chat, .source = source };
	r->count++;
	return DBR_OK;
}

void dbr__router_release(struct dbr__router *r)
{
	dbr__free(r->block);
	memset(r, 0, sizeof(*r));
}
