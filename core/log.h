/*
 * log.h - the handle's logger: the application's hook, or stderr.
 */
#ifndef DBR_LOG_H
#define DBR_LOG_H

#include <stdatomic.h>

#include "internal.h"

struct dbr__logger {
	dbr_log_fn fn; /* NULL: stderr */
	void *ud;
	/* Messages at or above this severity pass; a reload may change it
	 * while other threads log. */
	atomic_int level;
};

static inline bool dbr__log_enabled(const struct dbr__logger *lg, int level)
{
	return lg &&
	       level <= atomic_load_explicit(&lg->level, memory_order_relaxed);
}

void dbr__log(const struct dbr__logger *lg, int level, const char *source,
	      const char *fmt, ...) DBR_PRINTF(4, 5);
void dbr__logv(const struct dbr__logger *lg, int level, const char *source,
	       const char *fmt, va_list ap) DBR_PRINTF(4, 0);

#endif /* DBR_LOG_H */
