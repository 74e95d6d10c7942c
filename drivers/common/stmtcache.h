/*
 * stmtcache.h - a bounded LRU cache of prepared statements keyed by text,
 * one per connection, shared by the SQL drivers (SQLite's built in, and
 * the plugins). It uses only the C library; the driver owns what it
 * caches and frees it through a callback.
 */
#ifndef DBR_STMTCACHE_H
#define DBR_STMTCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hash.h"

#define DBR_STMTCACHE_SIZE 64

struct dbr_stmtcache_entry {
	char *key;   /* a copy in block; NULL when the slot is free */
	char *block; /* owned: the allocation key sits in (aligned) */
	size_t len;  /* bytes of key (a NUL follows) */
	uint64_t hash;
	uint64_t used; /* LRU tick */
	void *data;    /* the driver's prepared statement */
};

struct dbr_stmtcache {
	struct dbr_stmtcache_entry slots[DBR_STMTCACHE_SIZE];
	struct dbr_stmtcache_entry *mru;
	uint64_t tick;
	/* Frees a driver's data when its entry is evicted or cleared. */
	void (*drop)(void *ctx, void *data);
	void *ctx;
};

/*
 * Every entry searched by hash, for a key of n bytes or a NUL-terminated
 * one; the entry found is made most recently used. The find calls below
 * come here when the last entry used is not the key.
 */
struct dbr_stmtcache_entry *dbr_stmtcache_scan(struct dbr_stmtcache *c,
					       const char *key, size_t n);
struct dbr_stmtcache_entry *dbr_stmtcache_scan_str(struct dbr_stmtcache *c,
						   const char *key);

/*
 * The entry of a key of n bytes, made most recently used; NULL on a miss.
 * The last entry used is compared first, without hashing; it is the most
 * recently used already (its tick is the cache's), so a hit on it writes
 * nothing. Inline: this is every cached statement's path.
 */
static inline struct dbr_stmtcache_entry *
dbr_stmtcache_find(struct dbr_stmtcache *c, const char *key, size_t n)
{
	struct dbr_stmtcache_entry *e = c->mru;

	if (e && e->len == n && !memcmp(e->key, key, n))
		return e;
	return dbr_stmtcache_scan(c, key, n);
}

/*
 * The same for a NUL-terminated key: the last entry used is compared in
 * one pass that stops at the first difference or the shorter text's end,
 * so it never reads past the caller's NUL, and never trusts the caller's
 * address (a buffer may hold new text at the same address).
 */
static inline struct dbr_stmtcache_entry *
dbr_stmtcache_find_str(struct dbr_stmtcache *c, const char *key)
{
	struct dbr_stmtcache_entry *e = c->mru;

	if (e && !strcmp(e->key, key))
		return e;
	return dbr_stmtcache_scan_str(c, key);
}

/*
 * Cache data under a key of n bytes (which must not be there yet), in a
 * free slot or the least recently used one (whose data is dropped).
 * Returns the entry, or NULL when out of memory (data is not taken then).
 */
struct dbr_stmtcache_entry *dbr_stmtcache_add(struct dbr_stmtcache *c,
					      const char *key, size_t n,
					      void *data);

/* Drop every entry. */
void dbr_stmtcache_clear(struct dbr_stmtcache *c);

#endif /* DBR_STMTCACHE_H */
