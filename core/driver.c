/*
 * driver.c - the registry of drivers. Each type is loaded once per process,
 * shared by every source naming it, and never unloaded (its entry runs
 * once per process, as the driver ABI promises).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "driver.h"
#include "option.h"
#include "plugin.h"
#include "suggest.h"

struct builtin {
	const char *type;
	dbr_driver_entry_fn entry;
};

static const struct builtin builtins[] = {
	{ "sqlite", dbr__sqlite_entry },
};

/* The built-in types, for messages. */
#define BUILTIN_NAMES "sqlite"

/* The most candidates for a "did you mean": built-in types and plugins. */
#define MAX_SUGGEST 256

/* Loaded drivers, never freed; the list and every refs field are under
 * lock. */
struct node {
	struct dbr__driver drv;
	struct node *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct node *loaded;

/* The offset just past the last required call. */
#define REQUIRED_SIZE                                                          \
	(offsetof(struct dbr_driver, finish) + sizeof(void (*)(void)))

/*
 * The smallest option declaration and connection head: ABI 2.0's. Later
 * minors append fields, which a 2.0 driver's entries lack and which then
 * read as zero.
 */
#define OPTION_SIZE_2_0                                                        \
	(offsetof(struct dbr_option_decl, help) + sizeof(const char *))
#define CONN_SIZE_2_0 (offsetof(struct dbr_driver_conn, src) + sizeof(void *))

/* More declarations than this: the array lacks its NULL name. */
#define MAX_OPTIONS 1024

/* An option key: a lower-case letter, then lower-case letters, digits
 * and underscores, at most 64 bytes. */
static bool valid_key(const char *s)
{
	size_t i;

	if (!(*s >= 'a' && *s <= 'z'))
		return false;
	for (i = 1; s[i]; i++)
		if (i >= 64 || !((s[i] >= 'a' && s[i] <= 'z') ||
				 (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

/* ENUM choices: "a|b|c", no alternative empty. */
static bool valid_choices(const char *c)
{
	return c && *c && *c != '|' && c[strlen(c) - 1] != '|' &&
	       !strstr(c, "||");
}

/* One option declaration, the i-th of the array, or why it is wrong. */
static int check_decl(const struct dbr_option_decl *d, size_t i, char *msg,
		      size_t msgsize)
{
	struct dbr__optval val = { 0 };
	char why[160];
	int rc;

	if (!valid_key(d->name)) {
		snprintf(msg, msgsize,
			 "option %zu: name '%.64s' is not a valid key "
			 "(a-z, 0-9 and _, starting with a letter)",
			 i + 1, d->name);
		return DBR_E_ABI;
	}
	if (!(d->min <= d->max)) {
		snprintf(msg, msgsize, "option '%s': min %g is above max %g",
			 d->name, d->min, d->max);
		return DBR_E_ABI;
	}
	if (d->kind == DBR_OPT_ENUM && !valid_choices(d->choices)) {
		snprintf(msg, msgsize,
			 "option '%s': an ENUM needs choices \"a|b|...\" "
			 "(has %s%s%s)",
			 d->name, d->choices ? "\"" : "",
			 d->choices ? d->choices : "none",
			 d->choices ? "\"" : "");
		return DBR_E_ABI;
	}
	if (!d->default_value)
		return DBR_OK;
	rc = dbr__opt_parse(d, d->default_value, ".", &val, why, sizeof(why));
	dbr__optval_release(&val);
	if (rc == DBR_E_NOMEM) {
		snprintf(msg, msgsize, "out of memory");
		return rc;
	}
	if (rc) {
		snprintf(msg, msgsize, "option '%s': bad default '%.64s': %s",
			 d->name, d->default_value, why);
		return DBR_E_ABI;
	}
	return DBR_OK;
}

/* The option declarations and the capabilities against the calls. */
static int check_decls(const struct dbr_driver *vt, char *msg, size_t msgsize)
{
	const struct dbr_option_decl *d;
	unsigned tx = !!vt->begin + !!vt->commit + !!vt->rollback;
	bool sql = vt->caps & DBR_CAP_SQL, kv = vt->caps & DBR_CAP_KV;
	size_t i, j;

	if (sql == kv) {
		snprintf(msg, msgsize,
			 "driver declares %s of DBR_CAP_SQL and DBR_CAP_KV "
			 "(exactly one is needed)",
			 sql ? "both" : "neither");
		return DBR_E_ABI;
	}
	if (tx != 0 && tx != 3) {
		snprintf(msg, msgsize,
			 "driver has only some of begin, commit and rollback "
			 "(missing%s%s%s; all three or none)",
			 vt->begin ? "" : " begin", vt->commit ? "" : " commit",
			 vt->rollback ? "" : " rollback");
		return DBR_E_ABI;
	}
	if (!(vt->caps & DBR_CAP_TRANSACTIONS) != !tx) {
		snprintf(msg, msgsize,
			 tx ? "driver has begin, commit and rollback but does "
			      "not declare DBR_CAP_TRANSACTIONS"
			    : "driver declares DBR_CAP_TRANSACTIONS without "
			      "begin, commit and rollback");
		return DBR_E_ABI;
	}
	for (i = 0, d = vt->options; d && d[i].name; i++) {
		int rc = check_decl(&d[i], i, msg, msgsize);

		if (rc)
			return rc;
		for (j = 0; j < i; j++) {
			if (!strcmp(d[j].name, d[i].name)) {
				snprintf(msg, msgsize,
					 "option '%s' is declared twice",
					 d[i].name);
				return DBR_E_ABI;
			}
		}
	}
	return DBR_OK;
}

/*
 * The driver's option declarations walked by its option_size, each copied
 * into a zeroed one of this core's size: a driver built with a larger
 * struct (a later minor) loads, its extra fields ignored. The walk stops
 * at the first NULL name, and is refused at the first unknown kind (read
 * without following the name) or after MAX_OPTIONS: an array that lacks
 * its NULL name is read no further than its first entry that cannot be a
 * declaration.
 */
static int copy_options(const struct dbr_driver *vt,
			struct dbr_option_decl **out, char *msg, size_t msgsize)
{
	const unsigned char *p = (const unsigned char *)vt->options, *e;
	size_t stride = vt->option_size, n, cap = 0;
	const char *name;
	int kind;

	*out = NULL;
	if (!p)
		return DBR_OK;
	if (stride < OPTION_SIZE_2_0) {
		snprintf(msg, msgsize,
			 "option declarations of %zu bytes each (option_size) "
			 "are too short for ABI %d (at least %zu)",
			 stride, DBR_ABI_MAJOR, (size_t)OPTION_SIZE_2_0);
		return DBR_E_ABI;
	}
	for (n = 0;; n++) {
		if (dbr__grow(out, &cap, n + 1, sizeof(**out))) {
			snprintf(msg, msgsize, "out of memory");
			return DBR_E_NOMEM;
		}
		memset(&(*out)[n], 0, sizeof(**out));
		if (n == MAX_OPTIONS) {
			snprintf(msg, msgsize,
				 "more than %d option declarations (is the "
				 "array ended by a NULL name?)",
				 MAX_OPTIONS);
			return DBR_E_ABI;
		}
		e = p + n * vt->option_size;
		memcpy(&name, e, sizeof(name));
		if (!name)
			return DBR_OK;
		memcpy(&kind, e + offsetof(struct dbr_option_decl, kind),
		       sizeof(kind));
		if (kind < DBR_OPT_TEXT || kind > DBR_OPT_EXTENSIONS) {
			snprintf(msg, msgsize,
				 "option %zu: unknown kind %d (or the array "
				 "lacks its NULL name)",
				 n + 1, kind);
			return DBR_E_ABI;
		}
		memcpy(&(*out)[n], e,
		       stride < sizeof(**out) ? stride : sizeof(**out));
	}
}

/* The open flags a driver of ABI minor `minor` knows. */
static unsigned known_open_flags(uint32_t minor)
{
	return minor >= 1 ? DBR_OPEN_NO_CREATE : 0;
}

/*
 * Every connection is opened here (the table's open and open_with_flags):
 * the driver's open, then its connection head checked, so that the head
 * can grow. The flags are masked by what the driver's ABI minor knows.
 * Without flags, the driver's open. DBR_OPEN_NO_CREATE on a driver that
 * lacks open_with_flags (a 2.0 one) is refused, DBR_E_UNSUPPORTED: its
 * open may create a database, and the caller asked for none to be.
 */
static int checked_open_flags(const struct dbr_source_config *src,
			      unsigned flags, struct dbr_driver_conn **out,
			      struct dbr_error *err)
{
	const struct dbr__driver *d = src->drv;
	uint32_t size;
	int rc;

	if ((flags & DBR_OPEN_NO_CREATE) &&
	    (!d->open_flags || !(known_open_flags(d->vt.abi_version & 0xffff) &
				 DBR_OPEN_NO_CREATE)))
		return dbr__error_set(err, DBR_E_UNSUPPORTED, NULL,
				      "driver '%s' (%s, ABI %u.%u) has no "
				      "open_with_flags: it cannot open a "
				      "database without possibly creating it",
				      d->type, d->origin,
				      (unsigned)(d->vt.abi_version >> 16),
				      (unsigned)(d->vt.abi_version & 0xffff));
	flags &= known_open_flags(d->vt.abi_version & 0xffff);
	rc = d->open_flags && flags ? d->open_flags(src, flags, out, err)
				    : d->open(src, out, err);
	if (rc)
		return rc;
	if (!*out)
		return dbr__error_set(err, DBR_E_ABI, NULL,
				      "driver '%s' (%s): open() returned no "
				      "connection",
				      d->type, d->origin);
	size = (*out)->struct_size;
	if (size >= CONN_SIZE_2_0)
		return DBR_OK;
	d->vt.close(*out);
	*out = NULL;
	return dbr__error_set(err, DBR_E_ABI, NULL,
			      "driver '%s' (%s): connection head of %u bytes "
			      "(struct_size) is too short for ABI %d (at least "
			      "%zu)",
			      d->type, d->origin, (unsigned)size, DBR_ABI_MAJOR,
			      (size_t)CONN_SIZE_2_0);
}

static int checked_open(const struct dbr_source_config *src,
			struct dbr_driver_conn **out, struct dbr_error *err)
{
	return checked_open_flags(src, 0, out, err);
}

/*
 * Check a driver table against the ABI, its option declarations (their
 * stride, valid keys and kinds, min <= max, defaults that parse and lie in
 * range, ENUM choices) and its capabilities against its calls, and copy it
 * zero-extended into drv->vt, its declarations into drv->options. On
 * failure, writes the reason into msg (drv->options may then need freeing).
 */
static int check_driver(const struct dbr_driver *vt, const char *type,
			struct dbr__driver *drv, char *msg, size_t msgsize)
{
	struct dbr_driver *out = &drv->vt;
	size_t n;
	int rc;

	if (!vt) {
		snprintf(msg, msgsize, "the entry call returned no driver");
		return DBR_E_ABI;
	}
	if (vt->abi_version >> 16 != DBR_ABI_MAJOR) {
		snprintf(msg, msgsize,
			 "driver ABI %u.%u, but this dbroute needs ABI %d.x%s",
			 vt->abi_version >> 16, vt->abi_version & 0xffff,
			 DBR_ABI_MAJOR,
			 vt->abi_version >> 16 < DBR_ABI_MAJOR
				 ? " (rebuild the plugin with this dbroute's "
				   "dbroute_driver.h)"
				 : "");
		return DBR_E_ABI;
	}
	if (vt->struct_size < REQUIRED_SIZE) {
		snprintf(msg, msgsize,
			 "driver table of %u bytes is too short for ABI %d "
			 "(at least %zu)",
			 vt->struct_size, DBR_ABI_MAJOR, (size_t)REQUIRED_SIZE);
		return DBR_E_ABI;
	}
	if (!vt->name || strcmp(vt->name, type)) {
		snprintf(msg, msgsize, "driver names itself '%s', not '%s'",
			 vt->name ? vt->name : "(null)", type);
		return DBR_E_ABI;
	}
	memset(out, 0, sizeof(*out));
	n = vt->struct_size < sizeof(*out) ? vt->struct_size : sizeof(*out);
	memcpy(out, vt, n);
	if (!out->open || !out->close || !out->query || !out->next ||
	    !out->column_count || !out->column_name || !out->column ||
	    !out->finish) {
		snprintf(msg, msgsize,
			 "driver lacks a required call (open, close, query, "
			 "next, column_count, column_name, column, finish)");
		return DBR_E_ABI;
	}
	if (!out->version)
		out->version = "?";
	rc = copy_options(vt, &drv->options, msg, msgsize);
	if (rc)
		return rc;
	out->options = drv->options;
	rc = check_decls(out, msg, msgsize);
	if (rc)
		return rc;
	drv->open = out->open;
	drv->open_flags = out->open_with_flags;
	out->open = checked_open;
	out->open_with_flags = checked_open_flags;
	return DBR_OK;
}

static const struct builtin *find_builtin(const char *type)
{
	size_t i;

	for (i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (!strcmp(builtins[i].type, type))
			return &builtins[i];
	return NULL;
}

/* Free a driver that failed to load (a loaded one is never freed). */
static void node_free(struct node *n)
{
	if (!n)
		return;
	dbr__plugin_close(n->drv.dl, n->drv.fd);
	dbr__free(n->drv.options);
	dbr__free(n->drv.origin);
	dbr__free(n->drv.file);
	dbr__free(n);
}

/*
 * The message for a type no built-in driver and no plugin folder serves:
 * the nearest built-in type or plugin file as a suggestion, then the
 * paths tried (in msg on entry).
 */
static void unknown_type(const struct dbr__plugin_dirs *dirs, const char *type,
			 char *msg, size_t msgsize)
{
	const size_t nb = sizeof(builtins) / sizeof(builtins[0]);
	char names[MAX_SUGGEST][33], tried[1024], hint[64] = "";
	const char *cands[MAX_SUGGEST], *best;
	size_t i, n, m;

	snprintf(tried, sizeof(tried), "%s", msg);
	for (i = 0; i < nb; i++)
		cands[i] = builtins[i].type;
	m = dbr__plugin_types(dirs, names, MAX_SUGGEST - nb);
	/* Never the type itself (a file listed, then not found). */
	for (i = 0, n = nb; i < m; i++)
		if (strcmp(names[i], type))
			cands[n++] = names[i];
	best = dbr__suggest(type, cands, n);
	if (best)
		snprintf(hint, sizeof(hint), " (did you mean '%s'?)", best);
	snprintf(msg, msgsize,
		 "unknown driver type '%s'%s: no built-in driver (built in: "
		 "%s) and no plugin for this type: tried %s",
		 type, hint, BUILTIN_NAMES, tried);
}

bool dbr__driver_type_known(const char *type, const char *plugin_dir,
			    char *hint, size_t hintsize)
{
	const size_t nb = sizeof(builtins) / sizeof(builtins[0]);
	char names[MAX_SUGGEST][33];
	const char *cands[MAX_SUGGEST], *best;
	struct dbr__plugin_dirs dirs;
	size_t i, n, m;

	if (hintsize)
		hint[0] = '\0';
	if (find_builtin(type))
		return true;
	dbr__plugin_dirs(plugin_dir, &dirs);
	m = dbr__plugin_types(&dirs, names, MAX_SUGGEST - nb);
	for (i = 0; i < nb; i++)
		cands[i] = builtins[i].type;
	for (i = 0, n = nb; i < m; i++) {
		if (!strcmp(names[i], type))
			return true;
		cands[n++] = names[i];
	}
	best = dbr__suggest(type, cands, n);
	if (best && hintsize)
		snprintf(hint, hintsize, "%s", best);
	return false;
}

/* Open the plugin serving type, or say why not. */
static int load_plugin(struct node *n, const char *type, const char *plugin_dir,
		       dbr_driver_entry_fn *entry, char *msg, size_t msgsize)
{
	struct dbr__plugin_dirs dirs;
	int rc;

	dbr__plugin_dirs(plugin_dir, &dirs);
	rc = dbr__plugin_open(&dirs, type, &n->drv.dl, &n->drv.fd, entry,
			      &n->drv.origin, &n->drv.file, msg, msgsize);
	if (rc == DBR__PLUGIN_MISSING) {
		unknown_type(&dirs, type, msg, msgsize);
		rc = DBR_E_CONFIG;
	}
	return rc;
}

static int load(const char *type, const char *plugin_dir, struct node **out,
		char *msg, size_t msgsize)
{
	const struct builtin *b = find_builtin(type);
	dbr_driver_entry_fn entry;
	struct node *n;
	int rc;

	n = dbr__calloc(1, sizeof(*n));
	if (!n)
		return DBR_E_NOMEM;
	n->drv.fd = -1;
	if (b) {
		entry = b->entry;
		n->drv.origin = dbr__strdup("built-in");
		rc = n->drv.origin ? DBR_OK : DBR_E_NOMEM;
	} else {
		rc = load_plugin(n, type, plugin_dir, &entry, msg, msgsize);
	}
	if (!rc)
		rc = check_driver(entry(&dbr__host), type, &n->drv, msg,
				  msgsize);
	if (rc == DBR_E_ABI && n->drv.origin && n->drv.dl) {
		/* Name the file the refused table came from. */
		char why[512];

		snprintf(why, sizeof(why), "%s", msg);
		snprintf(msg, msgsize, "plugin '%s' refused: %s", n->drv.origin,
			 why);
	}
	if (rc) {
		node_free(n);
		return rc;
	}
	snprintf(n->drv.type, sizeof(n->drv.type), "%s", type);
	*out = n;
	return DBR_OK;
}

/*
 * A plugin type already loaded is reused only when plugin_dir resolves the
 * same file: never a silent reuse of another one.
 */
static int check_same_file(const struct node *n, const char *plugin_dir,
			   char *msg, size_t msgsize)
{
	struct dbr__plugin_dirs dirs;
	char *real, why[1024];
	int rc;

	if (!n->drv.file)
		return DBR_OK;
	dbr__plugin_dirs(plugin_dir, &dirs);
	rc = dbr__plugin_resolve(&dirs, n->drv.type, &real, why, sizeof(why));
	if (rc == DBR__PLUGIN_MISSING) {
		snprintf(msg, msgsize,
			 "type '%s' is already loaded from '%s' (a driver is "
			 "loaded once per process), and no plugin folder has "
			 "it now: tried %s",
			 n->drv.type, n->drv.file, why);
		return DBR_E_CONFIG;
	}
	if (rc == DBR_OK && strcmp(real, n->drv.file)) {
		snprintf(
			msg, msgsize,
			"type '%s' is already loaded from '%s', not from '%s'; "
			"a driver is loaded once per process",
			n->drv.type, n->drv.file, real);
		rc = DBR_E_CONFIG;
	} else if (rc) {
		snprintf(msg, msgsize, "%s", why);
	}
	dbr__free(real);
	return rc;
}

int dbr__driver_get(const char *type, const char *plugin_dir,
		    struct dbr__driver **out, char *msg, size_t msgsize)
{
	struct node *n;
	int rc = DBR_OK;

	*out = NULL;
	pthread_mutex_lock(&lock);
	for (n = loaded; n; n = n->next)
		if (!strcmp(n->drv.type, type))
			break;
	if (n) {
		rc = check_same_file(n, plugin_dir, msg, msgsize);
	} else {
		rc = load(type, plugin_dir, &n, msg, msgsize);
		if (!rc) {
			n->next = loaded;
			loaded = n;
		}
	}
	if (!rc) {
		n->drv.refs++;
		*out = &n->drv;
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

void dbr__driver_put(struct dbr__driver *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&lock);
	d->refs--;
	pthread_mutex_unlock(&lock);
}
