/*
 * router.c - building the chat mapping table.
 */
#include <string.h>
#include <sys/mman.h>

#include "router.h"

/* Tables at least this big are aligned to it and offered huge pages: a
 * lookup then costs one cache miss, not a TLB miss on top. */
#define HUGE_PAGE ((size_t)2 << 20)

int dbr__router_init(struct dbr__router *r, size_t n)
{
	size_t cap = 16, bytes;
	uintptr_t at;

	memset(r, 0, sizeof(*r));
	/* Load factor at most 1/2 keeps probe sequences short. */
	while (cap < n * 2) {
		if (cap > SIZE_MAX / 4 / sizeof(*r->slots) - HUGE_PAGE)
			return DBR_E_NOMEM;
		cap *= 2;
	}
	r->mask = cap - 1;
	if (!n)
		return DBR_OK;
	bytes = cap * sizeof(*r->slots);
	if (bytes < HUGE_PAGE) {
		r->block = r->slots = dbr__calloc(cap, sizeof(*r->slots));
		return r->slots ? DBR_OK : DBR_E_NOMEM;
	}
	r->block = dbr__malloc(bytes + HUGE_PAGE);
	if (!r->block)
		return DBR_E_NOMEM;
	at = ((uintptr_t)r->block + HUGE_PAGE - 1) &
	     ~(uintptr_t)(HUGE_PAGE - 1);
	r->slots = (struct dbr__route_slot *)at;
#ifdef MADV_HUGEPAGE
	madvise(r->slots, bytes, MADV_HUGEPAGE); /* a hint; may be refused */
#endif
	memset(r->slots, 0, bytes);
	return DBR_OK;
}

int dbr__router_insert(struct dbr__router *r, int64_t chat, uint32_t source,
		       uint32_t *existing)
{
	struct dbr__route_slot *s;
	size_t i;

	if (!r->slots || r->count + 1 > (r->mask + 1) / 2)
		return DBR_E_NOMEM;
	for (i = dbr__router_slot(r, chat);; i = (i + 1) & r->mask) {
		s = &r->slots[i];
		if (!s->source)
			break;
		if (s->chat == chat) {
			*existing = s->source - 1;
			return DBR_E_MISUSE;
		}
	}
	s->chat = chat;
	s->source = source + 1;
	r->count++;
	return DBR_OK;
}

void dbr__router_release(struct dbr__router *r)
{
	dbr__free(r->block);
	memset(r, 0, sizeof(*r));
}
