/*
 * broken.c - plugins the loader must refuse, each the template driver
 * with one thing wrong (chosen by a -D flag at build time):
 *   FIX_NAME="x"      the table names another type
 *   FIX_ABI=N         the table claims another ABI version
 *   FIX_SIZE=N        the table claims to be N bytes long
 *   FIX_NO_QUERY      the table lacks a required call
 *   FIX_NEEDS_DEP     the plugin needs a library the loader cannot find
 * Built without any of them it loads, under the type "broken".
 */
#define dbr_driver_entry template_entry
#include "../../drivers/template/template.c"
#undef dbr_driver_entry

#ifdef FIX_NEEDS_DEP
int dbr_fixture_dep(void);
#endif

static struct dbr_driver broken;

DBR_DRIVER_EXPORT const struct dbr_driver *
dbr_driver_entry(const struct dbr_host *host);

DBR_DRIVER_EXPORT const struct dbr_driver *
dbr_driver_entry(const struct dbr_host *host)
{
	broken = *template_entry(host);
	broken.name = "broken";
#ifdef FIX_NAME
	broken.name = FIX_NAME;
#endif
#ifdef FIX_ABI
	broken.abi_version = FIX_ABI;
#endif
#ifdef FIX_SIZE
	broken.struct_size = FIX_SIZE;
#endif
#ifdef FIX_NO_QUERY
	broken.query = NULL;
#endif
#ifdef FIX_NEEDS_DEP
	if (dbr_fixture_dep() != 42)
		return NULL;
#endif
	return &broken;
}
