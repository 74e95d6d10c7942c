/*
 * internal.h - what every core module shares: allocation, errors, time.
 * Private to the core; never installed.
 */
#ifndef DBR_INTERNAL_H
#define DBR_INTERNAL_H

#include <assert.h>
#include <stdarg.h>
#include <stddef.h>

#include "dbroute.h"
#include "dbroute_driver.h"

#ifdef NDEBUG
#define DBR_BUG(msg) ((void)0)
#else
#define DBR_BUG(msg) assert(!(msg))
#endif

#if defined(__GNUC__)
#define DBR_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define DBR_UNLIKELY(x)	 __builtin_expect(!!(x), 0)
#define DBR_INLINE	 inline __attribute__((always_inline))
#define DBR_COLD	 __attribute__((cold, noinline))
#define DBR_NOINLINE	 __attribute__((noinline))
#else
#define DBR_PRINTF(f, a)
#define DBR_UNLIKELY(x) (x)
#define DBR_INLINE	inline
#define DBR_COLD
#define DBR_NOINLINE
#endif

/*
 * The size-prefixed structs' sizes as 0.3 defined them: the least
 * out->size accepted, frozen when fields are appended (sizeof grows with
 * them, and would refuse a caller built against 0.3). Each is the end of
 * 0.3's last field rounded up to the struct's alignment, as a 0.3
 * caller's compiler computed sizeof.
 */
#define DBR__SIZE_UP(n, a) (((n) + (a)-1) / (a) * (a))
#define DBR__SOURCE_INFO_SIZE_0_3                                              \
	DBR__SIZE_UP(offsetof(struct dbr_source_info, driver_origin) + 4096,   \
		     _Alignof(struct dbr_source_info))
#define DBR__SOURCE_STATS_SIZE_0_3                                             \
	DBR__SIZE_UP(offsetof(struct dbr_source_stats, pool_waiters) +         \
			     sizeof(uint32_t),                                 \
		     _Alignof(struct dbr_source_stats))
_Static_assert(DBR__SOURCE_INFO_SIZE_0_3 <= sizeof(struct dbr_source_info),
	       "struct dbr_source_info lost a 0.3 field");
_Static_assert(DBR__SOURCE_STATS_SIZE_0_3 <= sizeof(struct dbr_source_stats),
	       "struct dbr_source_stats lost a 0.3 field");

/* alloc.c: the core's allocator, replaceable by dbr_set_allocator(). */
void *dbr__malloc(size_t n);
void *dbr__calloc(size_t count, size_t size);
void *dbr__realloc(void *p, size_t n);
void dbr__free(void *p);
char *dbr__strdup(const char *s);
char *dbr__strndup(const char *s, size_t n);
/* Grow *arr (of *cap elements of size elem) to hold at least need. */
int dbr__grow(void *arr, size_t *cap, size_t need, size_t elem);

/* error.c: fill a caller's error (err may be NULL); returns code. */
int dbr__error_set(struct dbr_error *err, int code, const char *source,
		   const char *fmt, ...) DBR_PRINTF(4, 5);
int dbr__error_setv(struct dbr_error *err, int code, const char *source,
		    const char *fmt, va_list ap) DBR_PRINTF(4, 0);
/* Fill every field of a caller's error (err may be NULL); returns code. */
int dbr__error_fillv(struct dbr_error *err, int code, int native_code,
		     const char *sqlstate, const char *source, const char *fmt,
		     va_list ap) DBR_PRINTF(6, 0);
/* Set err's retryable and hint from its code and SQLSTATE. */
void dbr__error_classify(struct dbr_error *err);
/* Replace err's hint (static text) by one that knows better; NULL ok. */
void dbr__error_hint(struct dbr_error *err, const char *hint);
/* Replace err's message by text (cut with "...", then truncated is set);
 * the bytes after its NUL are zeroed. */
void dbr__error_message(struct dbr_error *err, const char *text);
/* Prefix err's message with "source 'NAME': " and set err->source. */
void dbr__error_source(struct dbr_error *err, const char *source);
/* err's message without its "source 'NAME': " prefix. */
const char *dbr__error_bare(const struct dbr_error *e, const char *source);
/* Copy text into a fixed buffer, marking truncation with "..." */
bool dbr__copy_text(char *dst, size_t size, const char *src);

/* errno's text, thread-safe (strerror is not): in buf, or static. */
const char *dbr__errno_text(int e, char *buf, size_t size);

/* A monotonic clock in seconds. */
double dbr__now(void);

/* The CLOCK_MONOTONIC time `seconds` from now, for timed waits. */
struct timespec;
void dbr__deadline(struct timespec *ts, double seconds);

#endif /* DBR_INTERNAL_H */
