/*
 * sqltext.c - statement text built piece by piece, and the names of a
 * chat move's triggers.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "sqltext.h"

void dbr_sqltext_put(struct dbr_sqltext *t, const char *fmt, ...)
{
	va_list ap;
	char *grown;
	int n;

	while (!t->failed) {
		va_start(ap, fmt);
		n = vsnprintf(t->s ? t->s + t->len : NULL,
			      t->s ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->failed = true;
			return;
		}
		if (t->s && (size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		t->cap = (t->cap + (size_t)n + 1) * 2;
		grown = realloc(t->s, t->cap);
		if (!grown) {
			t->failed = true;
			return;
		}
		t->s = grown;
	}
}

void dbr_sqltext_quoted(struct dbr_sqltext *t, const char *s, char q)
{
	size_t n;

	dbr_sqltext_put(t, "%c", q);
	while (*s) {
		n = strcspn(s, (char[]){ q, '\0' });
		dbr_sqltext_put(t, "%.*s", (int)n, s);
		s += n;
		if (*s) {
			dbr_sqltext_put(t, "%c%c", q, q);
			s++;
		}
	}
	dbr_sqltext_put(t, "%c", q);
}

static bool plain_name(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' ||
		      *s == '.'))
			return false;
	return true;
}

bool dbr_capture_valid(const struct dbr_capture *cap)
{
	size_t i;

	if (!cap || cap->struct_size < sizeof(*cap) || !cap->schema ||
	    !cap->table || !*cap->table || !cap->chat_column ||
	    !*cap->chat_column || !cap->key || !cap->nkey ||
	    !plain_name(cap->dest))
		return false;
	for (i = 0; i < cap->nkey; i++)
		if (!cap->key[i] || !*cap->key[i])
			return false;
	return true;
}

void dbr_capture_name(const struct dbr_capture *cap, char *buf, size_t size)
{
	uint64_t h = dbr_hash_bytes(cap->schema, strlen(cap->schema));

	/* The schema's hash, then the table's: "a.b" and "a"."b" differ. */
	h = (h ^ dbr_hash_bytes(cap->table, strlen(cap->table))) *
	    0x100000001b3ull;
	snprintf(buf, size, "_dbroute_%lld_%016llx", (long long)cap->move_id,
		 (unsigned long long)h);
}
