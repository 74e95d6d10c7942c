/*
 * sqlscan.h - dbroute's `?` placeholders in a backend's numbered form.
 *
 * Shared by SQL drivers whose backend numbers its parameters ($1, $2, ...).
 * Compiled into each plugin; it uses only the C library.
 */
#ifndef DBR_SQLSCAN_H
#define DBR_SQLSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dbr_sqlscan {
	size_t nparams;	      /* placeholders found */
	const char *trailing; /* text after the first statement, or NULL */
	/* The first placeholder in another syntax (?NNN, $n, :name, @name,
	 * $name), to be refused, or NULL; refused_len is its length. */
	const char *refused;
	size_t refused_len;
	/* dbr_sqlscan_named(): the first `?` (not `??`), or NULL. */
	const char *mixed;
};

/* A `:name` placeholder: its name (colon excluded) in the statement. */
struct dbr_sqlname {
	size_t at, len;
};

/* The `:name` placeholders of a statement, in order (`v` from realloc). */
struct dbr_sqlnames {
	struct dbr_sqlname *v;
	size_t n, cap;
};

/*
 * A flag of dbr_sqlscan beside the lexical ones: each `?` stays `?` (the
 * backend's own placeholder, MySQL's) instead of becoming `$n`.
 */
#define DBR_SQLSCAN_QMARK (1u << 31)

/* A growable output buffer: `buf` has room for `cap` bytes. */
struct dbr_sqlbuf {
	char *buf;
	size_t cap;
};

/*
 * Translate `sql` into out->buf: each `?` outside string literals, quoted
 * identifiers, dollar-quoted strings and comments, as the lexical dialect
 * `flags` (enum dbr_sqllex_flags) reads them, becomes `$n` (numbered from
 * 1; stays `?` with DBR_SQLSCAN_QMARK), `??` becomes a literal `?`. The
 * statement ends at the `;` where the splitter (sqlsplit.h) would end it
 * (not inside parentheses, a function's BEGIN ... END body or a trigger
 * body); info->trailing points at any text after it other than
 * blanks and comments. dbroute numbers parameters itself: info->refused
 * points at the first ?NNN, $n, :name, @name or $name (`::` casts, array
 * slices and operators such as @> are not placeholders). Returns 0, or -1
 * when out of memory.
 */
int dbr_sqlscan(const char *sql, uint32_t flags, struct dbr_sqlbuf *out,
		struct dbr_sqlscan *info);

/*
 * dbr_sqlscan() for `:name` placeholders (dbr_query_named()): each
 * `:name` that dbr_sqlscan() would refuse (never a `::` cast, an array
 * slice, or one inside a string, quoted identifier, comment or dollar
 * quote) becomes a placeholder, `?` with DBR_SQLSCAN_QMARK, else `$n`,
 * its name appended to *names (emptied first). `??` stays `??` for the
 * driver; a lone `?` is not translated and info->mixed points at the
 * first. info->nparams counts the names. Returns 0, or -1 when out of
 * memory.
 */
int dbr_sqlscan_named(const char *sql, uint32_t flags, struct dbr_sqlbuf *out,
		      struct dbr_sqlscan *info, struct dbr_sqlnames *names);

void dbr_sqlbuf_free(struct dbr_sqlbuf *out);

#endif /* DBR_SQLSCAN_H */
