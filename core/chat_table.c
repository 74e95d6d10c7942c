/*
 * chat_table.c - building a chat table.
 */
#include <string.h>
#include <sys/mman.h>

#include "chat_table.h"

/* Tables at least this big are aligned to it and offered huge pages: a
 * lookup then costs one cache miss, not a TLB miss on top. */
#define HUGE_PAGE ((size_t)2 << 20)

/* Only tables of at least this many bytes are padded for the alignment:
 * the padding is then at most an eighth of the table. */
#define PAD_FROM (8 * HUGE_PAGE)

/* Bytes a slot takes in the two arrays. */
#define SLOT_BYTES (sizeof(uint8_t) + sizeof(struct dbr__chat_slot))

int dbr__chat_table_init(struct dbr__chat_table *t, size_t n)
{
	size_t cap, bytes, pad;
	uintptr_t at;

	memset(t, 0, sizeof(*t));
	if (!n)
		return DBR_OK;
	if (n > (size_t)1 << 31)
		return DBR_E_NOMEM;
	/*
	 * A load factor of 1/2 keeps probe sequences short (3/4 was measured
	 * slower, docs/performance.md). A multiple of 16, so that the slots
	 * after the tags start aligned.
	 */
	cap = (n * 2 + 15) & ~(size_t)15;
	if (cap < 16)
		cap = 16;
	bytes = cap * SLOT_BYTES;
	pad = bytes >= PAD_FROM ? HUGE_PAGE : 0;
	t->block = dbr__malloc(bytes + pad);
	if (!t->block)
		return DBR_E_NOMEM;
	at = (uintptr_t)t->block;
	if (pad) {
		at = (at + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
#ifdef MADV_HUGEPAGE
		madvise((void *)at, bytes, MADV_HUGEPAGE); /* may be refused */
#endif
	}
	/* Tags, then slots. Only tags need zeroing. */
	memset((void *)at, 0, cap);
	t->tags = (const uint8_t *)at;
	t->slots = (const struct dbr__chat_slot *)(at + cap);
	t->cap = cap;
	return DBR_OK;
}

int dbr__chat_table_insert(struct dbr__chat_table *t, int64_t chat,
			   uint32_t value, uint32_t *existing)
{
	uint64_t h = dbr__chat_table_hash(chat);
	uint8_t tag = dbr__chat_table_tag(h);
	size_t i;

	if (!t->block || t->count + 1 > t->cap / 2)
		return DBR_E_NOMEM;
	for (i = dbr__chat_table_home(t, h); t->tags[i];) {
		if (t->tags[i] == tag && t->slots[i].chat == chat) {
			*existing = t->slots[i].value;
			return DBR_E_MISUSE;
		}
		if (++i == t->cap)
			i = 0;
	}
	/* The table is built here and only read afterwards. */
	((uint8_t *)t->tags)[i] = tag;
	((struct dbr__chat_slot *)t->slots)[i] =
		(struct dbr__chat_slot){ .chat = chat, .value = value };
	t->count++;
	return DBR_OK;
}

void dbr__chat_table_release(struct dbr__chat_table *t)
{
	dbr__free(t->block);
	memset(t, 0, sizeof(*t));
}
