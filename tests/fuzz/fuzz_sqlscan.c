/*
 * fuzz_sqlscan.c - libFuzzer target: any text through the `?` placeholder
 * translator, in the dialect the first byte picks (PostgreSQL, SQLite,
 * MySQL's with `?` kept). Checks that it never crashes and that its
 * answers hold together: one `$n` per placeholder (with `?` kept, no
 * longer than the input and no more `?` than placeholders and `??`s), a
 * trailing statement inside the input. The same text through the
 * `:name` translation (dbr_sqlscan_named()): one placeholder per name,
 * each name a run of word characters after a ':' of the input, a `?` it
 * calls mixed inside the input.
 */
#include <stdlib.h>
#include <string.h>

#include "sqllex.h"
#include "sqlscan.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void check_named(const char *sql, size_t len, uint32_t flags)
{
	struct dbr_sqlbuf b = { NULL, 0 };
	struct dbr_sqlnames names = { NULL, 0, 0 };
	struct dbr_sqlscan info;
	size_t i;

	if (dbr_sqlscan_named(sql, flags, &b, &info, &names) == 0) {
		if (names.n != info.nparams)
			abort();
		if (strlen(b.buf) > len + info.nparams * 20)
			abort();
		if ((flags & DBR_SQLSCAN_QMARK) && strlen(b.buf) > len)
			abort();
		for (i = 0; i < names.n; i++) {
			const struct dbr_sqlname *n = &names.v[i];

			if (!n->at || !n->len || n->at + n->len > len ||
			    sql[n->at - 1] != ':' ||
			    !dbr_sqllex_word_char(sql[n->at]))
				abort();
		}
		if (info.mixed &&
		    (info.mixed < sql || info.mixed >= sql + len ||
		     *info.mixed != '?'))
			abort();
	}
	free(names.v);
	dbr_sqlbuf_free(&b);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static const uint32_t dialects[] = {
		DBR_SQLLEX_POSTGRES, DBR_SQLLEX_SQLITE,
		DBR_SQLLEX_BACKSLASH_ESCAPES | DBR_SQLLEX_HASH_COMMENTS |
			DBR_SQLLEX_BACKTICK_IDS | DBR_SQLLEX_DASH_NEEDS_BLANK |
			DBR_SQLSCAN_QMARK
	};
	struct dbr_sqlbuf b = { NULL, 0 };
	struct dbr_sqlscan info;
	uint32_t flags;
	char *sql;
	size_t len;

	if (!size)
		return 0;
	flags = dialects[data[0] % 3];
	sql = malloc(size);
	if (!sql)
		return 0;
	memcpy(sql, data + 1, size - 1);
	sql[size - 1] = '\0';
	len = strlen(sql);
	if (dbr_sqlscan(sql, flags, &b, &info) == 0) {
		/* Each placeholder grows the text by at most its digits. */
		if (strlen(b.buf) > len + info.nparams * 20)
			abort();
		if ((flags & DBR_SQLSCAN_QMARK) && strlen(b.buf) > len)
			abort();
		if (info.trailing &&
		    (info.trailing <= sql || info.trailing > sql + len))
			abort();
	}
	check_named(sql, len, flags);
	dbr_sqlbuf_free(&b);
	free(sql);
	return 0;
}
