/*
 * broken.c - plugins the loader must refuse, each the template driver
 * with one thing wrong (chosen by a -D flag at build time):
 *   FIX_NAME="x"      the table names another type
 *   FIX_ABI=N         the table claims another ABI version
 *   FIX_SIZE=N        the table claims to be N bytes long
 *   FIX_NO_QUERY      the table lacks a required call
 *   FIX_NEEDS_DEP     the plugin needs a library the loader cannot find
 *   FIX_OPT=N         option declaration N of bad_options below is wrong
 *   FIX_BEGIN_ONLY    begin without commit and rollback
 *   FIX_TX_CAP        DBR_CAP_TRANSACTIONS without begin/commit/rollback
 *   FIX_CAPS=N        the table claims capabilities N
 *   FIX_OPT_SIZE=N    the table claims option declarations of N bytes
 *   FIX_CONN_SIZE=N   open() gives connections a head of N bytes
 *   FIX_UNTERMINATED  two declarations, the second of an unknown kind, and
 *                     no NULL name after them
 *   FIX_ECHO_TEXT     text parameters come back as text (copied), not as
 *                     the template's NULL: with FIX_ABI, what a driver of
 *                     an earlier minor receives
 *   FIX_WIDE_OPTS     declarations one field longer than the core's (as a
 *                     later ABI minor may append), and option_size saying so:
 *                     "label" as the template's and "size", INT 1..10
 * Built without any of them it loads, under the type "broken" (or
 * FIX_TYPE="t"). With FIX_COUNT_ENTRY its version is "calls N", N the
 * number of times its entry ran.
 */
#define dbr_driver_entry template_entry
#include "../../drivers/template/template.c"
#undef dbr_driver_entry

#ifdef FIX_NEEDS_DEP
int dbr_fixture_dep(void);
#endif

#ifndef FIX_TYPE
#define FIX_TYPE "broken"
#endif

static struct dbr_driver broken;

#ifdef FIX_COUNT_ENTRY
static char version[32];
static int entry_calls;
#endif

#ifdef FIX_OPT
/* Each a declaration the loader must refuse, then the end (a NULL name,
 * read now that the core copies the whole array before checking it). */
static const struct dbr_option_decl bad_options[][3] = {
	{ { "size", DBR_OPT_INT, 0, 0, 0, "abc", NULL, "not a number" } },
	{ { "size", DBR_OPT_INT, 0, 1, 10, "20", NULL, "out of range" } },
	{ { "size", DBR_OPT_INT, 0, 10, 1, "5", NULL, "min above max" } },
	{ { "size", 99, 0, 0, 0, NULL, NULL, "unknown kind" } },
	{ { "Size", DBR_OPT_INT, 0, 0, 0, NULL, NULL, "not a key" } },
	{ { "mode", DBR_OPT_ENUM, 0, 0, 0, NULL, NULL, "no choices" } },
	{ { "mode", DBR_OPT_ENUM, 0, 0, 0, "c", "a|b", "not a choice" } },
	{ { "label", DBR_OPT_TEXT, 0, 0, 0, NULL, NULL, "twice" },
	  { "label", DBR_OPT_TEXT, 0, 0, 0, NULL, NULL, "twice" } },
};
#endif

#ifdef FIX_UNTERMINATED
/* No NULL name: the core must stop at the second, never read past it. */
static const struct dbr_option_decl unterminated[2] = {
	{ "label", DBR_OPT_TEXT, 0, 0, 0, "template", NULL, "row text" },
	{ "size", 99, 0, 0, 0, NULL, NULL, "unknown kind" },
};
#endif

#ifdef FIX_WIDE_OPTS
struct wide_decl {
	struct dbr_option_decl decl;
	const char *appended;
};

static const struct wide_decl wide_options[] = {
	{ { "label", DBR_OPT_TEXT, 0, 0, 0, "template", NULL, "row text" },
	  "a field this core does not know" },
	{ { "size", DBR_OPT_INT, 0, 1, 10, "5", NULL, "a number" }, "another" },
	{ { NULL, 0, 0, 0, 0, NULL, NULL, NULL }, NULL },
};
#endif

#ifdef FIX_CONN_SIZE
static int fix_open(const struct dbr_source_config *src,
		    struct dbr_driver_conn **out, struct dbr_error *err)
{
	int rc = tmpl_open(src, out, err);

	if (!rc)
		(*out)->struct_size = FIX_CONN_SIZE;
	return rc;
}
#endif

#ifdef FIX_ECHO_TEXT
/* The text parameters of the last query (one connection at a time). */
static char echoed[TMPL_MAX_PARAMS][64];

static int fix_query(struct dbr_driver_conn *conn, const char *sql,
		     const struct dbr_value *params, size_t nparams,
		     struct dbr_error *err)
{
	struct tmpl_conn *c = tmpl_conn(conn);
	int rc = tmpl_query(conn, sql, params, nparams, err);
	size_t i, n;

	for (i = 0; !rc && i < nparams; i++) {
		/* A type this minor does not know would be a core bug. */
		if (params[i].type > DBR_TYPE_BLOB ||
		    (params[i].type == DBR_TYPE_NULL && params[i].u.i)) {
			tmpl_host->set_error(err, DBR_E_ABI, 0, NULL,
					     "parameter %zu: type %d", i + 1,
					     params[i].type);
			return DBR_E_ABI;
		}
		if (params[i].type != DBR_TYPE_TEXT)
			continue;
		n = params[i].len < 63 ? params[i].len : 63;
		memcpy(echoed[i], params[i].u.s, n);
		echoed[i][n] = '\0';
		c->row[i + 1] = dbr_text(echoed[i], n);
	}
	return rc;
}
#endif

#ifdef FIX_BEGIN_ONLY
static int fix_begin(struct dbr_driver_conn *conn, struct dbr_error *err)
{
	(void)conn;
	(void)err;
	return DBR_OK;
}
#endif

DBR_DRIVER_EXPORT const struct dbr_driver *
dbr_driver_entry(const struct dbr_host *host);

DBR_DRIVER_EXPORT const struct dbr_driver *
dbr_driver_entry(const struct dbr_host *host)
{
	broken = *template_entry(host);
	broken.name = FIX_TYPE;
#ifdef FIX_COUNT_ENTRY
	snprintf(version, sizeof(version), "calls %d", ++entry_calls);
	broken.version = version;
#endif
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
#ifdef FIX_OPT
	broken.options = bad_options[FIX_OPT];
#endif
#ifdef FIX_OPT_SIZE
	broken.option_size = FIX_OPT_SIZE;
#endif
#ifdef FIX_UNTERMINATED
	broken.options = unterminated;
#endif
#ifdef FIX_WIDE_OPTS
	broken.options = &wide_options[0].decl;
	broken.option_size = sizeof(wide_options[0]);
#endif
#ifdef FIX_CONN_SIZE
	broken.open = fix_open;
#endif
#ifdef FIX_BEGIN_ONLY
	broken.begin = fix_begin;
#endif
#ifdef FIX_ECHO_TEXT
	broken.query = fix_query;
#endif
#ifdef FIX_TX_CAP
	broken.caps |= DBR_CAP_TRANSACTIONS;
#endif
#ifdef FIX_CAPS
	broken.caps = FIX_CAPS;
#endif
#ifdef FIX_NEEDS_DEP
	if (dbr_fixture_dep() != 42)
		return NULL;
#endif
	return &broken;
}
