/*
 * health.c - source availability: marking sources down and up, electing
 * one probe per retry interval, counting and remembering diversions.
 */
#include <string.h>
#include <time.h>

#include "health.h"

int dbr__health_init(struct dbr__health *h)
{
	memset(h, 0, sizeof(*h));
	h->state_since = (int64_t)time(NULL);
	atomic_init(&h->down, false);
	atomic_init(&h->probing, false);
	return pthread_mutex_init(&h->mu, NULL) ? DBR_E_NOMEM : DBR_OK;
}

void dbr__health_release(struct dbr__health *h)
{
	pthread_mutex_destroy(&h->mu);
	dbr__free(h->chats);
	h->chats = NULL;
}

int dbr__health_try_probe(struct dbr__health *h)
{
	int rc = DBR__PROBE_NOT_DUE;

	/* Due, not probing, still down: decided and claimed in one step,
	 * so that one probe runs per retry interval whatever the threads. */
	pthread_mutex_lock(&h->mu);
	if (!atomic_load(&h->down))
		rc = DBR__PROBE_UP;
	else if (!atomic_load(&h->probing) && dbr__now() >= h->retry_at) {
		atomic_store(&h->probing, true);
		h->probes++;
		rc = DBR__PROBE_CLAIMED;
	}
	pthread_mutex_unlock(&h->mu);
	return rc;
}

void dbr__health_down(struct dbr__health *h, const struct dbr__logger *log,
		      const char *source, double retry_interval,
		      const struct dbr_error *why)
{
	bool was_down;

	pthread_mutex_lock(&h->mu);
	was_down = atomic_load(&h->down);
	if (!was_down)
		h->down_since = h->state_since = (int64_t)time(NULL);
	h->retry_at = dbr__now() + retry_interval;
	if (why) {
		h->last = *why;
		h->has_last = true;
	}
	atomic_store_explicit(&h->down, true, memory_order_release);
	atomic_store(&h->probing, false);
	pthread_mutex_unlock(&h->mu);
	if (!was_down)
		dbr__log(log, DBR_LOG_WARN, source,
			 "unavailable: %s; retrying every %g s",
			 why ? dbr__error_bare(why, source)
			     : "connection failed",
			 retry_interval);
}

void dbr__health_up(struct dbr__health *h, const struct dbr__logger *log,
		    const char *source)
{
	bool was_down;

	pthread_mutex_lock(&h->mu);
	was_down = atomic_load(&h->down);
	if (was_down)
		h->state_since = (int64_t)time(NULL);
	atomic_store_explicit(&h->down, false, memory_order_release);
	atomic_store(&h->probing, false);
	pthread_mutex_unlock(&h->mu);
	if (was_down)
		dbr__log(log, DBR_LOG_WARN, source, "available again");
}

void dbr__health_end_probe(struct dbr__health *h)
{
	pthread_mutex_lock(&h->mu);
	atomic_store(&h->probing, false);
	pthread_mutex_unlock(&h->mu);
}

void dbr__health_error(struct dbr__health *h, bool no_connection, int code,
		       const struct dbr_error *err)
{
	pthread_mutex_lock(&h->mu);
	h->errors[code > 0 && code < DBR__ERROR_CODES ? code
						      : DBR__ERROR_CODES - 1]++;
	if (no_connection)
		h->failed_ops++;
	if (err) {
		h->last = *err;
		h->has_last = true;
	}
	pthread_mutex_unlock(&h->mu);
}

void dbr__health_remember(struct dbr__health *h, int64_t chat)
{
	size_t i;

	pthread_mutex_lock(&h->mu);
	for (i = 0; i < h->nchats && h->chats[i] != chat; i++)
		;
	if (i < h->nchats) {
		pthread_mutex_unlock(&h->mu);
		return;
	}
	if (!h->chats)
		h->chats = dbr__malloc(DBR__DIVERTED_MAX * sizeof(*h->chats));
	if (h->chats && h->nchats < DBR__DIVERTED_MAX)
		h->chats[h->nchats++] = chat;
	else
		h->chats_beyond++;
	pthread_mutex_unlock(&h->mu);
}

uint64_t dbr__health_diverted(struct dbr__health *h,
			      const struct dbr__logger *log, const char *source,
			      const char *to)
{
	uint64_t n = 0;
	double now = dbr__now();

	pthread_mutex_lock(&h->mu);
	h->diverted++;
	h->divert_unlogged++;
	if (now - h->divert_logged >= DBR__DIVERT_LOG_SECONDS) {
		n = h->divert_unlogged;
		h->divert_unlogged = 0;
		h->divert_logged = now;
	}
	pthread_mutex_unlock(&h->mu);
	if (n)
		dbr__log(log, DBR_LOG_WARN, source,
			 "unavailable: %llu operations diverted to '%s' "
			 "(logged at most every %g s)",
			 (unsigned long long)n, to, DBR__DIVERT_LOG_SECONDS);
	return n;
}

uint64_t dbr__health_divert_flush(struct dbr__health *h)
{
	uint64_t n;

	pthread_mutex_lock(&h->mu);
	n = h->divert_unlogged;
	h->divert_unlogged = 0;
	pthread_mutex_unlock(&h->mu);
	return n;
}
