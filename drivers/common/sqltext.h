/*
 * sqltext.h - statement text built piece by piece (what the drivers
 * write for a chat move's triggers), and the names those triggers share.
 */
#ifndef DBR_SQLTEXT_H
#define DBR_SQLTEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "dbroute_driver.h"

/* A growing NUL-terminated text; `failed` once out of memory (every put
 * after that does nothing). Zero-initialise; free s. */
struct dbr_sqltext {
	char *s;
	size_t len, cap;
	bool failed;
};

void dbr_sqltext_put(struct dbr_sqltext *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* s quoted with q ('"': an identifier, '\'': a string literal), q
 * doubled inside. */
void dbr_sqltext_quoted(struct dbr_sqltext *t, const char *s, char q);

/* Whether cap has what capture() needs: a table, its chat column, a key
 * and a destination whose name may stand in a literal unquoted. */
bool dbr_capture_valid(const struct dbr_capture *cap);

/* The base of cap's trigger and function names, "_dbroute_MOVE_HASH"
 * (HASH: 16 hex digits of the schema-qualified table's name), unquoted. */
void dbr_capture_name(const struct dbr_capture *cap, char *buf, size_t size);

#endif /* DBR_SQLTEXT_H */
