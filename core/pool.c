/*
 * pool.c - per-source connection pools.
 */
#define _GNU_SOURCE /* PTHREAD_MUTEX_ADAPTIVE_NP */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "pool.h"

static double coarse_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The lock is held for a few instructions at a time: spinning briefly
 * beats sleeping in the kernel when two threads meet on it.
 */
static int init_mutex(pthread_mutex_t *mu)
{
#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
	pthread_mutexattr_t attr;
	int rc;

	if (pthread_mutexattr_init(&attr))
		return -1;
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
	rc = pthread_mutex_init(mu, &attr);
	pthread_mutexattr_destroy(&attr);
	return rc;
#else
	return pthread_mutex_init(mu, NULL);
#endif
}

int dbr__pool_init(struct dbr__pool *p, struct dbr_source_config *src)
{
	pthread_condattr_t attr;

	memset(p, 0, sizeof(*p));
	p->src = src;
	p->max = (size_t)src->max_connections;
	if (pthread_condattr_init(&attr))
		return DBR_E_NOMEM;
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (pthread_cond_init(&p->cv, &attr)) {
		pthread_condattr_destroy(&attr);
		return DBR_E_NOMEM;
	}
	pthread_condattr_destroy(&attr);
	if (init_mutex(&p->mu)) {
		pthread_cond_destroy(&p->cv);
		return DBR_E_NOMEM;
	}
	return DBR_OK;
}

static void conn_close(struct dbr__pconn *c)
{
	c->pool->src->drv->vt.close(c->dc);
	dbr__free(c);
}

void dbr__pool_release(struct dbr__pool *p)
{
	size_t i;

	if (!p->src)
		return;
	for (i = 0; i < p->nidle; i++)
		conn_close(p->idle[i]);
	dbr__free(p->idle);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	memset(p, 0, sizeof(*p));
}

/* Forget a connection slot (one that failed to open or was closed). */
static void slot_free(struct dbr__pool *p)
{
	pthread_mutex_lock(&p->mu);
	p->nopen--;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

static int conn_open(struct dbr__pool *p, struct dbr__pconn **out,
		     struct dbr_error *err)
{
	const struct dbr_driver *vt = &p->src->drv->vt;
	struct dbr__pconn *c = dbr__calloc(1, sizeof(*c));
	int rc;

	if (!c) {
		slot_free(p);
		return dbr__error_set(err, DBR_E_NOMEM, p->src->name,
				      "source '%s': out of memory",
				      p->src->name);
	}
	rc = vt->open(p->src, &c->dc, err);
	if (rc) {
		dbr__error_source(err, p->src->name);
		dbr__free(c);
		slot_free(p);
		return rc;
	}
	c->pool = p;
	*out = c;
	return DBR_OK;
}

static int wait_timeout(struct dbr__pool *p, struct dbr_error *err)
{
	return dbr__error_set(err, DBR_E_TIMEOUT, p->src->name,
			      "source '%s': no connection free after %g s "
			      "(max_connections = %zu)",
			      p->src->name, p->src->timeout, p->max);
}

/*
 * Check a connection before handing it out: the driver's local check, and
 * a ping when it idled long. Close it if either fails.
 */
static bool still_alive(struct dbr__pconn *c)
{
	const struct dbr_driver *vt = &c->pool->src->drv->vt;
	struct dbr__pool *p = c->pool;
	const char *why;

	if (vt->is_alive && !vt->is_alive(c->dc))
		why = "was closed by the server";
	else if (!vt->ping ||
		 coarse_now() - c->idle_since < DBR__IDLE_PING_SECONDS)
		return true;
	else if (vt->ping(c->dc, NULL) == DBR_OK)
		return true;
	else
		why = "did not answer a ping";
	dbr__log(p->src->log, DBR_LOG_INFO, p->src->name,
		 "idle connection %s; reconnecting", why);
	conn_close(c);
	slot_free(p);
	return false;
}

/* An address that is this thread's own. */
static _Thread_local char thread_token;

/* The idle connection this thread used last, else the top of the stack. */
static struct dbr__pconn *take_idle(struct dbr__pool *p)
{
	size_t i = p->nidle;
	struct dbr__pconn *c;

	while (i-- > 0)
		if (p->idle[i]->user == &thread_token)
			break;
	if (i == (size_t)-1)
		i = p->nidle - 1;
	c = p->idle[i];
	p->idle[i] = p->idle[--p->nidle];
	c->user = &thread_token;
	return c;
}

int dbr__pool_acquire(struct dbr__pool *p, struct dbr__pconn **out,
		      struct dbr_error *err)
{
	struct timespec deadline = { 0, 0 };
	bool timed = false;
	int rc = 0;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		if (p->nidle) {
			struct dbr__pconn *c = take_idle(p);

			pthread_mutex_unlock(&p->mu);
			if (still_alive(c)) {
				*out = c;
				return DBR_OK;
			}
			pthread_mutex_lock(&p->mu);
			continue;
		}
		if (p->nopen < p->max) {
			p->nopen++;
			pthread_mutex_unlock(&p->mu);
			rc = conn_open(p, out, err);
			if (!rc)
				(*out)->user = &thread_token;
			return rc;
		}
		if (rc == ETIMEDOUT)
			break;
		if (!timed) {
			double t = p->src->timeout;

			timed = true;
			clock_gettime(CLOCK_MONOTONIC, &deadline);
			deadline.tv_sec += (time_t)t;
			deadline.tv_nsec +=
				(long)((t - (double)(time_t)t) * 1e9);
			if (deadline.tv_nsec >= 1000000000L) {
				deadline.tv_sec++;
				deadline.tv_nsec -= 1000000000L;
			}
		}
		rc = pthread_cond_timedwait(&p->cv, &p->mu, &deadline);
	}
	pthread_mutex_unlock(&p->mu);
	return wait_timeout(p, err);
}

void dbr__pool_put(struct dbr__pconn *c)
{
	struct dbr__pool *p = c->pool;

	c->idle_since = coarse_now();
	pthread_mutex_lock(&p->mu);
	p->ops += c->ops;
	p->errors += c->errors;
	c->ops = c->errors = 0;
	if (c->lost) {
		p->nopen--;
		pthread_cond_signal(&p->cv);
		pthread_mutex_unlock(&p->mu);
		conn_close(c);
		return;
	}
	if (!p->idle) {
		p->idle = dbr__calloc(p->max, sizeof(*p->idle));
		if (!p->idle) {
			/* Cannot pool it: close it rather than leak it. */
			p->nopen--;
			pthread_cond_signal(&p->cv);
			pthread_mutex_unlock(&p->mu);
			conn_close(c);
			return;
		}
	}
	p->idle[p->nidle++] = c;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}
