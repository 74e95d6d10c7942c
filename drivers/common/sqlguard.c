/*
 * sqlguard.c - statements that would change a pooled connection's state.
 * (Placeholder: refuses nothing yet; the implementation follows.)
 */
#include "sqlguard.h"

const char *dbr_sqlguard_refuse(const char *sql,
				enum dbr_sqlguard_dialect dialect, bool in_tx)
{
	(void)sql;
	(void)dialect;
	(void)in_tx;
	return NULL;
}
