/*
 * option.h - typed option values checked against declarations
 * (struct dbr_option_decl), shared by the core's own keys and the keys
 * drivers declare.
 */
#ifndef DBR_OPTION_H
#define DBR_OPTION_H

#include "internal.h"
#include "suggest.h"

/* One option's value: from the INI (line > 0) or from its default. */
struct dbr__optval {
	const struct dbr_option_decl *decl;
	int line;   /* where it was set, 0 for a default or unset */
	bool isset; /* a value (set or default) is present */
	char *text; /* TEXT, PATH (resolved), ENUM; owned */
	union {
		int64_t i;
		double d;
		bool b;
	} v;
};

/* Strict parsers: the whole text must match. Return DBR_OK or
 * DBR_E_CONFIG. */
int dbr__parse_int64(const char *s, int64_t *out);
int dbr__parse_seconds(const char *s, double *out);
int dbr__parse_bool(const char *s, bool *out);

/*
 * Parse `text` as decl's kind into val (releasing what val held). PATH
 * values are resolved against base_dir. On a bad value, writes the reason
 * ("expected ...") into msg and returns DBR_E_CONFIG; DBR_E_NOMEM when out
 * of memory.
 */
int dbr__opt_parse(const struct dbr_option_decl *decl, const char *text,
		   const char *base_dir, struct dbr__optval *val, char *msg,
		   size_t msgsize);

/* Fill val from decl's default (or leave it unset). */
int dbr__opt_default(const struct dbr_option_decl *decl, const char *base_dir,
		     struct dbr__optval *val);

void dbr__optval_release(struct dbr__optval *val);

/* The declaration named `name` in a NULL-name-terminated array, or NULL. */
const struct dbr_option_decl *dbr__opt_find(const struct dbr_option_decl *decls,
					    const char *name);

/* Number of declarations in a NULL-name-terminated array. */
size_t dbr__opt_count(const struct dbr_option_decl *decls);

/* A new path: `rel` if absolute, else `dir`/`rel`. Owned. */
char *dbr__path_join(const char *dir, const char *rel);

#endif /* DBR_OPTION_H */
