/*
 * chat_table.h - chat id to a 32-bit value (a source index), an
 * open-addressing hash table built once for its exact count and then only
 * read (no locks). The INI's [chat_mapping] and the mapping store's base
 * and overlay (snapshot.h) are each one.
 */
#ifndef DBR_CHAT_TABLE_H
#define DBR_CHAT_TABLE_H

#include "internal.h"

#define DBR__CHAT_MISS UINT32_MAX

/* A chat id and its value side by side: one cache line per read. */
struct dbr__chat_slot {
	int64_t chat;
	uint32_t value;
	uint32_t unused;
};

/*
 * Linear probing over two arrays. tags[] holds one byte a slot: 0 when
 * free, else 7 bits of the chat's hash plus one. It is a sixteenth of the
 * size of slots[], small enough to stay in cache when slots[] cannot: a
 * chat that is not in the table is mostly answered from tags[] alone, and
 * one that is reads a slot only where its tag matches (a wrong match is
 * one in 128).
 *
 * The capacity is twice the count the table was sized for (at least 16),
 * not a power of two: the home slot is the hash's high 32 bits scaled to
 * the capacity by a multiply and a shift, so a table of any count is at
 * most half full and takes 34 bytes a mapping plus its padding (below),
 * never the 68 a power of two just past the count would.
 */
struct dbr__chat_table {
	const uint8_t *tags;		    /* cap bytes */
	const struct dbr__chat_slot *slots; /* cap slots */
	void *block;			    /* what was allocated for both */
	size_t cap;			    /* slots; at most 2^32 */
	size_t count;
};

/* Size the table for n entries (at most 2^31). */
int dbr__chat_table_init(struct dbr__chat_table *t, size_t n);

/*
 * Set chat's value. Returns DBR_OK, DBR_E_MISUSE when chat is already in
 * the table (*existing then holds its value), or DBR_E_NOMEM when the
 * table already holds the count it was sized for.
 */
int dbr__chat_table_insert(struct dbr__chat_table *t, int64_t chat,
			   uint32_t value, uint32_t *existing);

void dbr__chat_table_release(struct dbr__chat_table *t);

static inline uint64_t dbr__chat_table_hash(int64_t chat)
{
	/* Fibonacci hashing: the high bits of a multiply spread sequential
	 * and sparse ids alike. */
	return (uint64_t)chat * 0x9E3779B97F4A7C15ull;
}

/* The home slot: the high 32 bits scaled to [0, cap). */
static inline size_t dbr__chat_table_home(const struct dbr__chat_table *t,
					  uint64_t h)
{
	return (size_t)(((h >> 32) * (uint64_t)t->cap) >> 32);
}

/* The tag: bits 25 to 31 plus one. The home slot is taken from the bits
 * above them, so chats that share a neighbourhood still differ here. */
static inline uint8_t dbr__chat_table_tag(uint64_t h)
{
	return (uint8_t)(((uint32_t)h >> 25) + 1);
}

/* The value chat has, or DBR__CHAT_MISS. */
static inline uint32_t dbr__chat_table_lookup(const struct dbr__chat_table *t,
					      int64_t chat)
{
	uint64_t h = dbr__chat_table_hash(chat);
	uint8_t tag = dbr__chat_table_tag(h), g;
	size_t i;

	if (!t->count) /* an empty table: no hashing */
		return DBR__CHAT_MISS;
	for (i = dbr__chat_table_home(t, h);;) {
		g = t->tags[i];
		if (g == tag && t->slots[i].chat == chat)
			return t->slots[i].value;
		if (!g)
			return DBR__CHAT_MISS;
		if (++i == t->cap)
			i = 0;
	}
}

#endif /* DBR_CHAT_TABLE_H */
