/*
 * router.c - building the chat mapping table.
 */
#include "router.h"

int dbr__router_init(struct dbr__router *r, size_t n)
{
	size_t cap = 16;

	r->keys = NULL;
	r->vals = NULL;
	r->count = 0;
	/* Load factor at most 1/2 keeps probe sequences short. */
	while (cap < n * 2) {
		if (cap > SIZE_MAX / 4 / sizeof(int64_t))
			return DBR_E_NOMEM;
		cap *= 2;
	}
	r->mask = cap - 1;
	if (!n)
		return DBR_OK;
	r->keys = dbr__malloc(cap * sizeof(*r->keys));
	r->vals = dbr__calloc(cap, sizeof(*r->vals));
	if (!r->keys || !r->vals) {
		dbr__router_release(r);
		return DBR_E_NOMEM;
	}
	return DBR_OK;
}

int dbr__router_insert(struct dbr__router *r, int64_t chat, uint32_t source,
		       uint32_t *existing)
{
	size_t i;

	if (!r->vals || r->count + 1 > (r->mask + 1) / 2)
		return DBR_E_NOMEM;
	for (i = dbr__router_slot(r, chat); r->vals[i]; i = (i + 1) & r->mask) {
		if (r->keys[i] == chat) {
			*existing = r->vals[i] - 1;
			return DBR_E_MISUSE;
		}
	}
	r->keys[i] = chat;
	r->vals[i] = source + 1;
	r->count++;
	return DBR_OK;
}

void dbr__router_release(struct dbr__router *r)
{
	dbr__free(r->keys);
	dbr__free(r->vals);
	r->keys = NULL;
	r->vals = NULL;
	r->count = 0;
}
