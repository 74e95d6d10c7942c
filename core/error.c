/*
 * error.c - status texts and the filling of caller-owned error structs.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"

const char *dbr_strerror(int code)
{
	switch (code) {
	case DBR_OK: return "ok";
	case DBR_E_CONN: return "connection failed or lost";
	case DBR_E_STMT: return "statement failed";
	case DBR_E_CONSTRAINT: return "constraint violated";
	case DBR_E_TIMEOUT: return "timed out";
	case DBR_E_CONFIG: return "invalid configuration";
	case DBR_E_NOMEM: return "out of memory";
	case DBR_E_MISUSE: return "library misused";
	case DBR_E_UNSUPPORTED: return "not supported by the driver";
	case DBR_E_ABI: return "driver built for another ABI";
	case DBR_E_READONLY: return "source is read-only";
	case DBR_E_NOTFOUND: return "no such source";
	case DBR_E_UNAVAILABLE: return "source unavailable";
	case DBR_E_RESOURCE: return "out of a local resource";
	case DBR_E_NOTLOADED: return "mapping not loaded";
	case DBR_E_STALE: return "mapping snapshot too old";
	case DBR_E_MOVING: return "chat is moving";
	case DBR_ROW: return "row ready";
	case DBR_DONE: return "no more rows";
	default: return "unknown status";
	}
}

bool dbr__copy_text(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n < size) {
		memcpy(dst, src, n + 1);
		return false;
	}
	memcpy(dst, src, size - 4);
	memcpy(dst + size - 4, "...", 4);
	return true;
}

/* What to do about a failure of each category: static text. */
static const char *hint_of(int code)
{
	switch (code) {
	case DBR_E_CONN:
		return "check that the server runs and is reachable; a write "
		       "may have been applied before the connection was lost";
	case DBR_E_STMT:
		return "fix the statement: it fails the same way again";
	case DBR_E_CONSTRAINT:
		return "the data breaks a constraint: change the data";
	case DBR_E_TIMEOUT:
		return "retry later or raise the source's timeout; a write "
		       "may have been applied";
	case DBR_E_CONFIG: return "fix the configuration at the line named";
	case DBR_E_NOMEM: return "the process is out of memory";
	case DBR_E_MISUSE:
		return "fix the calling code: see the call's comment in "
		       "dbroute.h";
	case DBR_E_UNSUPPORTED:
		return "use a source whose driver offers this "
		       "(dbr_source_info() flags)";
	case DBR_E_ABI:
		return "rebuild the plugin against this dbroute_driver.h";
	case DBR_E_READONLY:
		return "send writes to a source without readonly = true";
	case DBR_E_NOTFOUND:
		return "use a name the configuration defines "
		       "(dbr_source_names())";
	case DBR_E_UNAVAILABLE:
		return "retry after the source's retry_interval, or set "
		       "fallback = default";
	case DBR_E_RESOURCE:
		return "raise the file descriptor limit (ulimit -n) or lower "
		       "max_connections";
	case DBR_E_NOTLOADED:
		return "retry once the mapping store's table has loaded (is "
		       "the store's source reachable?)";
	case DBR_E_STALE:
		return "retry once the mapping store answers again "
		       "(dbr_mapping_status() tells the snapshot's age)";
	case DBR_E_MOVING:
		return "retry: the chat is moving to another source, and its "
		       "writes run again once its mapping has changed";
	default: return "";
	}
}

void dbr__error_classify(struct dbr_error *err)
{
	const char *st = err->sqlstate;

	/* SQLSTATE class 40: a serialization failure or a deadlock rolled
	 * the transaction back; running it again may succeed. */
	if (!strcmp(st, "40001") || !strcmp(st, "40P01")) {
		err->retryable = true;
		err->hint = "run the whole transaction again";
		return;
	}
	err->retryable =
		err->code == DBR_E_CONN || err->code == DBR_E_TIMEOUT ||
		err->code == DBR_E_UNAVAILABLE || err->code == DBR_E_RESOURCE ||
		err->code == DBR_E_NOTLOADED || err->code == DBR_E_STALE ||
		err->code == DBR_E_MOVING;
	err->hint = hint_of(err->code);
}

void dbr__error_hint(struct dbr_error *err, const char *hint)
{
	if (err)
		err->hint = hint;
}

int dbr__error_fillv(struct dbr_error *err, int code, int native_code,
		     const char *sqlstate, const char *source, const char *fmt,
		     va_list ap)
{
	int n;

	if (!err)
		return code;
	/*
	 * Every byte, padding and the text buffers' tails included: the
	 * struct is copied whole to other callers (dbr_source_status's
	 * `last`), who must never see this caller's stack.
	 */
	memset(err, 0, sizeof(*err));
	err->code = code;
	err->native_code = native_code;
	dbr__copy_text(err->sqlstate, sizeof(err->sqlstate),
		       sqlstate ? sqlstate : "");
	dbr__copy_text(err->source, sizeof(err->source), source ? source : "");
	n = vsnprintf(err->message, sizeof(err->message), fmt, ap);
	err->truncated = n >= (int)sizeof(err->message);
	if (err->truncated)
		memcpy(err->message + sizeof(err->message) - 4, "...", 4);
	dbr__error_classify(err);
	return code;
}

int dbr__error_setv(struct dbr_error *err, int code, const char *source,
		    const char *fmt, va_list ap)
{
	return dbr__error_fillv(err, code, 0, NULL, source, fmt, ap);
}

int dbr__error_set(struct dbr_error *err, int code, const char *source,
		   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dbr__error_setv(err, code, source, fmt, ap);
	va_end(ap);
	return code;
}

void dbr__error_message(struct dbr_error *err, const char *text)
{
	memset(err->message, 0, sizeof(err->message));
	if (dbr__copy_text(err->message, sizeof(err->message), text))
		err->truncated = true;
}

void dbr__error_source(struct dbr_error *err, const char *source)
{
	/* Room for the whole: cut, if at all, by dbr__error_message(). */
	char msg[sizeof(err->message) + DBR_NAME_SIZE + 16];

	if (!err)
		return;
	memset(err->source, 0, sizeof(err->source));
	dbr__copy_text(err->source, sizeof(err->source), source);
	snprintf(msg, sizeof(msg), "source '%.*s': %s", DBR_NAME_SIZE, source,
		 err->message);
	dbr__error_message(err, msg);
}

const char *dbr__error_bare(const struct dbr_error *e, const char *source)
{
	size_t n = strlen(source);

	if (!strncmp(e->message, "source '", 8) &&
	    !strncmp(e->message + 8, source, n) &&
	    !strncmp(e->message + 8 + n, "': ", 3))
		return e->message + 8 + n + 3;
	return e->message;
}

double dbr__now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void dbr__deadline(struct timespec *ts, double seconds)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)seconds;
	ts->tv_nsec += (long)((seconds - (double)(time_t)seconds) * 1e9);
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* strerror_r comes in two shapes: XSI returns 0 and fills buf, GNU
 * returns the text (in buf or static). Both are handled by type. */
static const char *errno_xsi(int rc, char *buf)
{
	return rc ? "unknown error" : buf;
}

static const char *errno_gnu(const char *text, char *buf)
{
	(void)buf;
	return text;
}

const char *dbr__errno_text(int e, char *buf, size_t size)
{
	return _Generic(strerror_r(e, buf, size), char *: errno_gnu,
			default: errno_xsi)(strerror_r(e, buf, size), buf);
}
