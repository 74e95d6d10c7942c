/*
 * stmtcache.c - the per-connection LRU cache of prepared statements.
 */
#include <stdlib.h>
#include <string.h>

#include "stmtcache.h"

static struct dbr_stmtcache_entry *hit(struct dbr_stmtcache *c,
				       struct dbr_stmtcache_entry *e)
{
	e->used = ++c->tick;
	c->mru = e;
	return e;
}

static struct dbr_stmtcache_entry *scan(struct dbr_stmtcache *c,
					const char *key, size_t n)
{
	uint64_t h = dbr_hash_bytes(key, n);
	struct dbr_stmtcache_entry *e;
	size_t i;

	for (i = 0; i < DBR_STMTCACHE_SIZE; i++) {
		e = &c->slots[i];
		if (e->key && e->hash == h && e->len == n &&
		    !memcmp(e->key, key, n))
			return hit(c, e);
	}
	return NULL;
}

struct dbr_stmtcache_entry *dbr_stmtcache_find(struct dbr_stmtcache *c,
					       const char *key, size_t n)
{
	struct dbr_stmtcache_entry *e = c->mru;

	if (e && e->len == n && !memcmp(e->key, key, n))
		return hit(c, e);
	return scan(c, key, n);
}

struct dbr_stmtcache_entry *dbr_stmtcache_find_str(struct dbr_stmtcache *c,
						   const char *key)
{
	struct dbr_stmtcache_entry *e = c->mru;

	/* strcmp stops at the first difference or the shorter text's end:
	 * it never reads past the caller's NUL. */
	if (e && !strcmp(e->key, key))
		return hit(c, e);
	return scan(c, key, strlen(key));
}

struct dbr_stmtcache_entry *dbr_stmtcache_add(struct dbr_stmtcache *c,
					      const char *key, size_t n,
					      void *data)
{
	struct dbr_stmtcache_entry *v = &c->slots[0];
	char *copy = malloc(n + 1);
	size_t i;

	if (!copy)
		return NULL;
	for (i = 0; i < DBR_STMTCACHE_SIZE; i++) {
		if (!c->slots[i].key) {
			v = &c->slots[i];
			break;
		}
		if (c->slots[i].used < v->used)
			v = &c->slots[i];
	}
	if (v->key) {
		c->drop(c->ctx, v->data);
		free(v->key);
	}
	memcpy(copy, key, n);
	copy[n] = '\0';
	v->key = copy;
	v->len = n;
	v->hash = dbr_hash_bytes(key, n);
	v->data = data;
	return hit(c, v);
}

void dbr_stmtcache_clear(struct dbr_stmtcache *c)
{
	size_t i;

	for (i = 0; i < DBR_STMTCACHE_SIZE; i++) {
		if (c->slots[i].key) {
			c->drop(c->ctx, c->slots[i].data);
			free(c->slots[i].key);
		}
		memset(&c->slots[i], 0, sizeof(c->slots[i]));
	}
	c->mru = NULL;
}
