/*
 * hash.h - the byte hash the statement caches and the core share.
 */
#ifndef DBR_HASH_H
#define DBR_HASH_H

#include <stddef.h>
#include <stdint.h>

/* 64-bit FNV-1a of n bytes. */
static inline uint64_t dbr_hash_bytes(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (n--)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ull;
	return h;
}

#endif /* DBR_HASH_H */
