/*
 * audit.c - the run-time audit trail: the hook, and JSON lines (encoded
 * with jansson) appended to `[audit] file` without ever blocking.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "handle.h"
#include "nosigpipe.h"

/* A record this long or shorter is encoded on the stack. */
#define LINE_STACK 2048

const char *dbr_audit_kind_name(int kind)
{
	switch (kind) {
	case DBR_AUDIT_DIVERTED: return "diverted";
	case DBR_AUDIT_EXPLICIT_WRITE: return "explicit_write";
	case DBR_AUDIT_RELOAD: return "reload";
	case DBR_AUDIT_MAPPING: return "mapping";
	default: return "?";
	}
}

int dbr__audit_init(struct dbr__audit *a, dbr_audit_fn fn, void *ud,
		    const struct dbr__logger *log)
{
	memset(a, 0, sizeof(*a));
	a->fn = fn;
	a->ud = ud;
	a->log = log;
	atomic_init(&a->has_file, false);
	atomic_init(&a->fd, -1);
	atomic_init(&a->events, 0);
	atomic_init(&a->written, 0);
	atomic_init(&a->failed, 0);
	if (gethostname(a->host, sizeof(a->host) - 1))
		a->host[0] = '\0';
	if (pthread_rwlock_init(&a->lock, NULL))
		return DBR_E_NOMEM;
	if (pthread_mutex_init(&a->mu, NULL)) {
		pthread_rwlock_destroy(&a->lock);
		return DBR_E_NOMEM;
	}
	return DBR_OK;
}

void dbr__audit_release(struct dbr__audit *a)
{
	int fd = atomic_load(&a->fd);

	if (fd >= 0)
		close(fd);
	dbr__free(a->path);
	a->path = NULL;
	pthread_rwlock_destroy(&a->lock);
	pthread_mutex_destroy(&a->mu);
}

/*
 * Warn that records are lost, at most once per DBR__AUDIT_WARN_SECONDS;
 * `why` says what failed last.
 */
static void lost(struct dbr__audit *a, const char *path, const char *why)
{
	double now = dbr__now();
	uint64_t n = 0;

	atomic_fetch_add_explicit(&a->failed, 1, memory_order_relaxed);
	pthread_mutex_lock(&a->mu);
	a->unwarned++;
	if (!a->warned_at || now - a->warned_at >= DBR__AUDIT_WARN_SECONDS) {
		n = a->unwarned;
		a->unwarned = 0;
		a->warned_at = now;
	}
	pthread_mutex_unlock(&a->mu);
	if (n)
		dbr__log(a->log, DBR_LOG_WARN, NULL,
			 "audit file '%s': %s; %llu records lost (logged at "
			 "most every %g s)",
			 path, why, (unsigned long long)n,
			 DBR__AUDIT_WARN_SECONDS);
}

/*
 * Open the file for appending without blocking: a FIFO without a reader
 * fails at once (ENXIO) instead of waiting for one. -1 on failure, with
 * errno's text in why.
 */
static int open_file(const char *path, char *why, size_t size)
{
	char ebuf[128];
	int fd = open(path,
		      O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK |
			      O_NOCTTY,
		      0640);

	if (fd < 0)
		snprintf(why, size, "cannot open: %s",
			 dbr__errno_text(errno, ebuf, sizeof(ebuf)));
	return fd;
}

/* Whether an open attempt is due now; if so, the next is pushed back. */
static bool retry_due(struct dbr__audit *a)
{
	double now = dbr__now();
	bool due;

	pthread_mutex_lock(&a->mu);
	due = now >= a->retry_at;
	if (due)
		a->retry_at = now + DBR__AUDIT_RETRY_SECONDS;
	pthread_mutex_unlock(&a->mu);
	return due;
}

int dbr__audit_file(struct dbr__audit *a, const char *path)
{
	char *copy = NULL, why[192];
	int fd = -1, old_fd;
	char *old;

	if (path && !(copy = dbr__strdup(path)))
		return DBR_E_NOMEM;
	if (copy && (fd = open_file(copy, why, sizeof(why))) < 0)
		dbr__log(a->log, DBR_LOG_WARN, NULL,
			 "audit file '%s': %s; tried again every %g s", copy,
			 why, DBR__AUDIT_RETRY_SECONDS);
	pthread_mutex_lock(&a->mu);
	a->retry_at = dbr__now() + DBR__AUDIT_RETRY_SECONDS;
	pthread_mutex_unlock(&a->mu);
	pthread_rwlock_wrlock(&a->lock);
	old = a->path;
	old_fd = atomic_exchange(&a->fd, fd);
	a->path = copy;
	atomic_store(&a->has_file, copy != NULL);
	pthread_rwlock_unlock(&a->lock);
	if (old_fd >= 0)
		close(old_fd);
	dbr__free(old);
	return DBR_OK;
}

/* s as a JSON string; text that is not UTF-8 has its other bytes as
 * "\xHH" (jansson refuses it as it is). NULL when out of memory. */
static json_t *text(const char *s)
{
	static const char hex[] = "0123456789abcdef";
	json_t *v = json_string(s);
	size_t i, o = 0, n = strlen(s);
	char *buf;

	if (v || n > SIZE_MAX / 4 - 1 || !(buf = dbr__malloc(n * 4 + 1)))
		return v;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x80) {
			buf[o++] = (char)c;
			continue;
		}
		buf[o++] = '\\';
		buf[o++] = 'x';
		buf[o++] = hex[c >> 4];
		buf[o++] = hex[c & 15];
	}
	buf[o] = '\0';
	v = json_string(buf);
	dbr__free(buf);
	return v;
}

/* Set key to v when both exist (v is stolen, as json_object_set_new). */
static void put(json_t *o, const char *key, json_t *v)
{
	if (o && v)
		json_object_set_new(o, key, v);
	else
		json_decref(v);
}

static void put_text(json_t *o, const char *key, const char *s)
{
	if (s)
		put(o, key, text(s));
}

/* A NULL-ended list of names as an array ([] for NULL). */
static json_t *names(const char *const *list)
{
	json_t *arr = json_array();

	for (; arr && list && *list; list++)
		json_array_append_new(arr, text(*list));
	return arr;
}

static json_t *chats(const int64_t *ids, size_t n)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; arr && i < n; i++)
		json_array_append_new(arr, json_integer((json_int_t)ids[i]));
	return arr;
}

/* "2026-11-27T20:46:10.123Z" */
static json_t *iso_time(int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	char buf[40];
	size_t n;
	struct tm tm;

	if (!gmtime_r(&t, &tm))
		return NULL;
	n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, sizeof(buf) - n, ".%03dZ", (int)(ms % 1000));
	return json_string(buf);
}

/* The record of ev, as a JSON object (NULL when out of memory). */
static json_t *record(const struct dbr__audit *a,
		      const struct dbr_audit_event *ev)
{
	json_t *o = json_object();

	put(o, "time", iso_time(ev->time_ms));
	put(o, "time_ms", json_integer(ev->time_ms));
	put(o, "event", json_string(dbr_audit_kind_name(ev->kind)));
	put_text(o, "host", a->host);
	put(o, "pid", json_integer((json_int_t)getpid()));
	put_text(o, "source", ev->source);
	switch (ev->kind) {
	case DBR_AUDIT_DIVERTED:
		put_text(o, "to", ev->to);
		put(o, "count", json_integer((json_int_t)ev->count));
		break;
	case DBR_AUDIT_MAPPING:
		put(o, "version", json_integer(ev->version));
		put(o, "chats", chats(ev->chats, ev->nchats));
		break;
	case DBR_AUDIT_RELOAD:
		put_text(o, "path", ev->path);
		put(o, "applied", json_boolean(ev->status == DBR_OK));
		if (ev->status)
			put(o, "status", json_string(dbr_strerror(ev->status)));
		put(o, "added", names(ev->added));
		put(o, "removed", names(ev->removed));
		put(o, "changed", names(ev->changed));
		break;
	default: break;
	}
	put_text(o, "message", ev->message);
	return o;
}

/*
 * The record as one line ending in '\n': in stack (of LINE_STACK bytes)
 * when it fits, else allocated (*heap, to free). 0 when out of memory.
 */
static size_t encode(const struct dbr__audit *a,
		     const struct dbr_audit_event *ev, char *stack, char **heap)
{
	json_t *o = record(a, ev);
	size_t n = o ? json_dumpb(o, stack, LINE_STACK - 1, JSON_COMPACT) : 0;
	char *buf = stack;

	*heap = NULL;
	if (n >= LINE_STACK - 1) {
		*heap = buf = dbr__malloc(n + 1);
		if (!buf || json_dumpb(o, buf, n, JSON_COMPACT) != n)
			n = 0;
	}
	json_decref(o);
	if (n)
		buf[n++] = '\n';
	return n;
}

/* Under the shared lock: the descriptor, opened again when it is due. */
static int current_fd(struct dbr__audit *a, char *why, size_t size)
{
	int fd = atomic_load(&a->fd), none = -1;

	snprintf(why, size, "not open");
	if (fd >= 0 || !a->path || !retry_due(a))
		return fd;
	fd = open_file(a->path, why, size);
	if (fd >= 0 && !atomic_compare_exchange_strong(&a->fd, &none, fd)) {
		/* Another thread opened it meanwhile. */
		close(fd);
		fd = none;
	}
	return fd;
}

static void append(struct dbr__audit *a, const struct dbr_audit_event *ev)
{
	char stack[LINE_STACK], why[192], ebuf[128], path[1024];
	struct dbr_nosigpipe np;
	size_t n;
	ssize_t w = -1;
	char *heap;
	int fd;

	n = encode(a, ev, stack, &heap);
	pthread_rwlock_rdlock(&a->lock);
	if (!a->path) {
		/* The file was unset since has_file was read. */
		pthread_rwlock_unlock(&a->lock);
		dbr__free(heap);
		return;
	}
	fd = current_fd(a, why, sizeof(why));
	if (fd >= 0 && n) {
		dbr_nosigpipe_begin(&np);
		w = write(fd, heap ? heap : stack, n);
		dbr_nosigpipe_end(&np, w < 0);
		if (w < 0)
			snprintf(why, sizeof(why), "cannot write: %s",
				 dbr__errno_text(errno, ebuf, sizeof(ebuf)));
		else if ((size_t)w != n)
			snprintf(why, sizeof(why),
				 "short write (%zd of %zu bytes)", w, n);
	} else if (!n) {
		snprintf(why, sizeof(why), "out of memory");
	}
	if (w < 0 || (size_t)w != n)
		dbr__copy_text(path, sizeof(path), a->path);
	pthread_rwlock_unlock(&a->lock);
	dbr__free(heap);
	if (w >= 0 && (size_t)w == n)
		atomic_fetch_add_explicit(&a->written, 1, memory_order_relaxed);
	else
		lost(a, path, why);
}

void dbr__audit_emit(struct dbr__audit *a, struct dbr_audit_event *ev)
{
	struct timespec ts;

	ev->size = sizeof(*ev);
	if (!ev->time_ms) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ev->time_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	}
	atomic_fetch_add_explicit(&a->events, 1, memory_order_relaxed);
	if (a->fn)
		a->fn(a->ud, ev);
	if (atomic_load_explicit(&a->has_file, memory_order_relaxed))
		append(a, ev);
}

void dbr__audit_diverted(struct dbr__audit *a, const char *source,
			 const char *to, uint64_t count)
{
	struct dbr_audit_event ev = { 0 };

	ev.kind = DBR_AUDIT_DIVERTED;
	ev.source = source;
	ev.to = to;
	ev.count = count;
	dbr__audit_emit(a, &ev);
}

void dbr__audit_explicit_write(struct dbr__audit *a, const char *source)
{
	struct dbr_audit_event ev = { 0 };

	ev.kind = DBR_AUDIT_EXPLICIT_WRITE;
	ev.source = source;
	dbr__audit_emit(a, &ev);
}

/* The least out->size accepted: 0.4's struct, whatever fields follow. */
#define AUDIT_STATS_SIZE_0_4                                                   \
	DBR__SIZE_UP(offsetof(struct dbr_audit_stats, failed) +                \
			     sizeof(uint64_t),                                 \
		     _Alignof(struct dbr_audit_stats))

int dbr_audit_stats(struct dbr *db, struct dbr_audit_stats *out)
{
	struct dbr_audit_stats s;
	size_t size;

	if (!db || !out || out->size < AUDIT_STATS_SIZE_0_4)
		return DBR_E_MISUSE;
	size = out->size < sizeof(s) ? out->size : sizeof(s);
	s.size = out->size;
	s.events = atomic_load(&db->audit.events);
	s.written = atomic_load(&db->audit.written);
	s.failed = atomic_load(&db->audit.failed);
	memcpy(out, &s, size);
	return DBR_OK;
}
