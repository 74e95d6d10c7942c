/*
 * log.c - formatting a message once and handing it to the hook, or to
 * stderr when the application installed none.
 */
#include <stdio.h>

#include "log.h"

const char *dbr_log_level_name(int level)
{
	switch (level) {
	case DBR_LOG_ERROR: return "error";
	case DBR_LOG_WARN: return "warn";
	case DBR_LOG_INFO: return "info";
	case DBR_LOG_DEBUG: return "debug";
	default: return "?";
	}
}

void dbr__logv(const struct dbr__logger *lg, int level, const char *source,
	       const char *fmt, va_list ap)
{
	char msg[1024];

	if (!dbr__log_enabled(lg, level))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (lg->fn) {
		lg->fn(lg->ud, level, source, msg);
		return;
	}
	if (source)
		fprintf(stderr, "dbroute: %s: source '%s': %s\n",
			dbr_log_level_name(level), source, msg);
	else
		fprintf(stderr, "dbroute: %s: %s\n", dbr_log_level_name(level),
			msg);
}

void dbr__log(const struct dbr__logger *lg, int level, const char *source,
	      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dbr__logv(lg, level, source, fmt, ap);
	va_end(ap);
}
