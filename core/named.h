/*
 * named.h - `:name` placeholders (dbr_query_named()): a statement's names
 * in the dialect of the source that runs it, translated to `?` by the
 * shared lexer once per statement text and dialect (a cache per thread),
 * and the caller's name -> value list laid out in placeholder order.
 */
#ifndef DBR_NAMED_H
#define DBR_NAMED_H

#include "internal.h"

/* A named call's list, carried to where its source is known. */
struct dbr__named {
	const struct dbr_param *params;
	size_t n;
};

/*
 * Translate sql for source s (its driver's lex_flags): *out_sql becomes
 * the text with `?` placeholders, *out_params / *out_n the values in
 * their order. Both are the calling thread's, valid until its next call.
 * Refused (DBR_E_MISUSE, naming what): a `?` beside `:name`, a
 * placeholder without a parameter of its name, a parameter no
 * placeholder uses, a name given twice or NULL; DBR_E_UNSUPPORTED for a
 * source that is not SQL; DBR_E_NOMEM.
 */
int dbr__named_bind(const struct dbr_source_config *s, const char *sql,
		    const struct dbr__named *nm, const char **out_sql,
		    const struct dbr_value **out_params, size_t *out_n,
		    struct dbr_error *err);

/* Translations the calling thread made, its cache missing (for tests). */
extern _Thread_local uint64_t dbr__named_misses;

#endif /* DBR_NAMED_H */
