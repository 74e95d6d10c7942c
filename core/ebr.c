/*
 * ebr.c - the records of epoch-based reclamation (ebr.h).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ebr.h"

atomic_uint_fast64_t dbr__ebr_epoch = 1;
_Thread_local struct dbr__ebr_rec *dbr__ebr_self;

static struct dbr__ebr_rec *_Atomic records;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t key;
static bool key_ok;

/* A thread ends: its record is free for the next thread. */
static void release_record(void *p)
{
	struct dbr__ebr_rec *r = p;

	r->depth = 0;
	dbr__ebr_self = NULL; /* this thread's, which is ending */
	atomic_store(&r->epoch, 0);
	atomic_store(&r->used, false);
}

/*
 * In the child of a fork only the forking thread exists: every other
 * record is free, whether its thread was inside a section or not (that
 * section never ends there, and would keep every retired snapshot).
 */
static void fork_child(void)
{
	struct dbr__ebr_rec *r;

	for (r = atomic_load(&records); r; r = r->next) {
		if (r == dbr__ebr_self)
			continue;
		r->depth = 0;
		atomic_store(&r->epoch, 0);
		atomic_store(&r->used, false);
	}
}

static void make_key(void)
{
	key_ok = !pthread_key_create(&key, release_record) &&
		 !pthread_atfork(NULL, NULL, fork_child);
}

struct dbr__ebr_rec *dbr__ebr_register(void)
{
	struct dbr__ebr_rec *r;
	bool no = false;

	pthread_once(&key_once, make_key);
	if (!key_ok)
		return NULL;
	for (r = atomic_load(&records); r; r = r->next) {
		if (atomic_compare_exchange_strong(&r->used, &no, true))
			break;
		no = false;
	}
	if (!r) {
		r = aligned_alloc(_Alignof(struct dbr__ebr_rec), sizeof(*r));
		if (!r)
			return NULL;
		memset(r, 0, sizeof(*r));
		atomic_init(&r->epoch, 0);
		atomic_init(&r->used, true);
		r->next = atomic_load(&records);
		while (!atomic_compare_exchange_weak(&records, &r->next, r))
			;
	}
	if (pthread_setspecific(key, r)) {
		atomic_store(&r->used, false);
		return NULL;
	}
	dbr__ebr_self = r;
	return r;
}

uint64_t dbr__ebr_advance(void)
{
	return atomic_fetch_add(&dbr__ebr_epoch, 1) + 1;
}

bool dbr__ebr_is_safe(uint64_t stamp)
{
	struct dbr__ebr_rec *r;

	for (r = atomic_load(&records); r; r = r->next) {
		uint64_t e = atomic_load(&r->epoch);

		if (e && e < stamp)
			return false;
	}
	return true;
}
