/*
 * host.c - the services drivers reach through struct dbr_host: logging,
 * errors and their source's options.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "plugin.h"

static void host_log(const struct dbr_source_config *src, int level,
		     const char *fmt, ...)
{
	va_list ap;

	if (!src || !dbr__log_enabled(src->log, level))
		return;
	va_start(ap, fmt);
	dbr__logv(src->log, level, src->name, fmt, ap);
	va_end(ap);
}

static void host_set_error(struct dbr_error *err, int code, int native_code,
			   const char *sqlstate, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dbr__error_fillv(err, code, native_code, sqlstate, NULL, fmt, ap);
	va_end(ap);
}

static const char *host_source_name(const struct dbr_source_config *src)
{
	return src ? src->name : "";
}

static const char *host_opt_text(const struct dbr_source_config *src,
				 const char *name)
{
	const struct dbr__optval *v = dbr__source_opt(src, name);

	return v && v->isset ? v->text : NULL;
}

static int64_t host_opt_int(const struct dbr_source_config *src,
			    const char *name)
{
	const struct dbr__optval *v = dbr__source_opt(src, name);

	return v && v->isset && v->decl->kind == DBR_OPT_INT ? v->v.i : 0;
}

static double host_opt_seconds(const struct dbr_source_config *src,
			       const char *name)
{
	const struct dbr__optval *v = dbr__source_opt(src, name);

	return v && v->isset && v->decl->kind == DBR_OPT_SECONDS ? v->v.d : 0;
}

static bool host_opt_bool(const struct dbr_source_config *src, const char *name)
{
	const struct dbr__optval *v = dbr__source_opt(src, name);

	return v && v->isset && v->decl->kind == DBR_OPT_BOOL && v->v.b;
}

static int host_check_extension(const struct dbr_source_config *src,
				const char *path, char *real, size_t realsize,
				struct dbr_error *err)
{
	char msg[DBR_ERROR_MESSAGE_SIZE];
	int rc = dbr__native_check("extension", path, real, realsize, msg,
				   sizeof(msg));

	/* The core names the source when it reports the failed open. */
	(void)src;
	if (rc)
		host_set_error(err, rc, 0, NULL, "%s", msg);
	return rc;
}

const struct dbr_host dbr__host = {
	sizeof(struct dbr_host),
	DBR_ABI_VERSION,
	host_log,
	host_set_error,
	host_source_name,
	host_opt_text,
	host_opt_int,
	host_opt_seconds,
	host_opt_bool,
	host_check_extension,
};
