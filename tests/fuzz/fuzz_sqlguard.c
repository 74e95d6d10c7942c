/*
 * fuzz_sqlguard.c - libFuzzer target: any text through the statement
 * guard, in the three dialects and both transaction states. Checks that it
 * never crashes or reads past the text, and that its answers hold
 * together: what it refuses inside a transaction it refuses outside too.
 * The whole-text scan for session state runs over the same text (the
 * SQLite dialect never has any).
 */
#include <stdlib.h>
#include <string.h>

#include "sqlguard.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static const enum dbr_sqlguard_dialect dialects[] = {
		DBR_SQLGUARD_SQLITE, DBR_SQLGUARD_POSTGRES, DBR_SQLGUARD_MYSQL
	};
	char *sql = malloc(size + 1);
	size_t i;

	if (!sql)
		return 0;
	memcpy(sql, data, size);
	sql[size] = '\0';
	for (i = 0; i < sizeof(dialects) / sizeof(*dialects); i++) {
		const char *in_tx = dbr_sqlguard_refuse(sql, dialects[i], true);
		const char *out = dbr_sqlguard_refuse(sql, dialects[i], false);

		if (in_tx && !out)
			abort();
		if (out && !*out)
			abort();
		(void)dbr_sqlguard_is_read(sql, dialects[i]);
	}
	(void)dbr_sqlguard_may_leave_state(sql, DBR_SQLGUARD_POSTGRES);
	if (dbr_sqlguard_may_leave_state(sql, DBR_SQLGUARD_SQLITE))
		abort();
	free(sql);
	return 0;
}
