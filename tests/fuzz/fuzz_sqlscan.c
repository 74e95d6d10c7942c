/*
 * fuzz_sqlscan.c - libFuzzer target: any text through the `?` placeholder
 * translator. Checks that it never crashes and that its answers hold
 * together: one `$n` per placeholder, a trailing statement inside the
 * input.
 */
#include <stdlib.h>
#include <string.h>

#include "sqllex.h"
#include "sqlscan.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct dbr_sqlbuf b = { NULL, 0 };
	struct dbr_sqlscan info;
	char *sql = malloc(size + 1);
	size_t len;

	if (!sql)
		return 0;
	memcpy(sql, data, size);
	sql[size] = '\0';
	len = strlen(sql);
	if (dbr_sqlscan(sql, DBR_SQLLEX_POSTGRES, &b, &info) == 0) {
		/* Each placeholder grows the text by at most its digits. */
		if (strlen(b.buf) > len + info.nparams * 20)
			abort();
		if (info.trailing &&
		    (info.trailing <= sql || info.trailing > sql + len))
			abort();
	}
	dbr_sqlbuf_free(&b);
	free(sql);
	return 0;
}
