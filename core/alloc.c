/*
 * alloc.c - the core's allocator. Applications and tests may replace it
 * before opening a handle (tests inject allocation failures this way).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void *(*alloc_malloc)(size_t) = malloc;
static void *(*alloc_realloc)(void *, size_t) = realloc;
static void (*alloc_free)(void *) = free;

int dbr_set_allocator(void *(*malloc_fn)(size_t),
		      void *(*realloc_fn)(void *, size_t),
		      void (*free_fn)(void *))
{
	if (!malloc_fn && !realloc_fn && !free_fn) {
		alloc_malloc = malloc;
		alloc_realloc = realloc;
		alloc_free = free;
		return DBR_OK;
	}
	if (!malloc_fn || !realloc_fn || !free_fn)
		return DBR_E_MISUSE;
	alloc_malloc = malloc_fn;
	alloc_realloc = realloc_fn;
	alloc_free = free_fn;
	return DBR_OK;
}

void *dbr__malloc(size_t n)
{
	return alloc_malloc(n ? n : 1);
}

void *dbr__calloc(size_t count, size_t size)
{
	void *p;

	if (size && count > SIZE_MAX / size)
		return NULL;
	p = dbr__malloc(count * size);
	if (p)
		memset(p, 0, count * size);
	return p;
}

void *dbr__realloc(void *p, size_t n)
{
	return alloc_realloc(p, n ? n : 1);
}

void dbr__free(void *p)
{
	if (p)
		alloc_free(p);
}

char *dbr__strndup(const char *s, size_t n)
{
	char *d = dbr__malloc(n + 1);

	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *dbr__strdup(const char *s)
{
	return dbr__strndup(s, strlen(s));
}

int dbr__grow(void *arr, size_t *cap, size_t need, size_t elem)
{
	void **parr = arr;
	size_t ncap = *cap ? *cap : 8;
	void *p;

	if (need <= *cap)
		return DBR_OK;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2 / elem)
			return DBR_E_NOMEM;
		ncap *= 2;
	}
	p = dbr__realloc(*parr, ncap * elem);
	if (!p)
		return DBR_E_NOMEM;
	*parr = p;
	*cap = ncap;
	return DBR_OK;
}

void dbr_free(void *p)
{
	dbr__free(p);
}
