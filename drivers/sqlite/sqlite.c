/*
 * sqlite.c - the built-in SQLite driver.
 *
 * Compiled into the core library, but reached only through the driver
 * table like any plugin. Each connection keeps a bounded LRU cache of
 * prepared statements keyed by their text, so a repeated statement is
 * bound and stepped without being prepared again.
 *
 * Bools are stored as integers 0 and 1, timestamps as their text form
 * (timestamp.h); both are read back typed from a column declared BOOLEAN
 * or BOOL (nonzero integers true), TIMESTAMP, TIMESTAMPTZ or DATETIME
 * (text in a spelling dbr_ts_parse() reads): the declared type is the
 * only hint SQLite keeps.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sqlite3.h>

#include "dbroute_driver.h"
#include "sqlguard.h"
#include "sqllex.h"
#include "sqlt_capture.h"
#include "stmtcache.h"
#include "tablelist.h"
#include "timestamp.h"

/* A cached prepared statement, and what is known of it once prepared. */
struct sqlt_stmt {
	sqlite3_stmt *stmt;
	int nparams;
	bool readonly;
	bool rowless;	   /* no result columns: done in its first step */
	bool guarded;	   /* refused outside a transaction: ask on every use */
	bool leaves_state; /* creates a TEMP object, or ATTACHes a database */
	/* Per result column, the type its declared type asks for
	 * (DBR_TYPE_BOOL, DBR_TYPE_TIMESTAMP or 0); NULL when none does.
	 * nhints columns when prepared: a schema change may add some. */
	unsigned char *hints;
	size_t nhints;
};

struct sqlt_conn {
	struct dbr_driver_conn base;
	sqlite3 *db;
	struct dbr_stmtcache cache;	/* of struct sqlt_stmt, by text */
	sqlite3_stmt *cur;		/* the cursor's statement, or NULL */
	const unsigned char *cur_hints; /* its struct sqlt_stmt's hints */
	size_t cur_nhints;
	bool cur_readonly;    /* the last statement's, once it has started */
	bool cur_rowless;     /* the cursor's statement has no result columns */
	bool in_tx;	      /* between a successful begin and its end */
	bool state_left;      /* a statement left TEMP objects or an attached
			  * database behind: never pooled */
	bool state_seen;      /* the authorizer saw one while preparing */
	int cur_rc;	      /* SQLITE_ROW or SQLITE_DONE: the last step */
	bool first;	      /* next() returns the row query() stepped to */
	int64_t rowid_before; /* SQLite's last insert row id before it */
	bool inserted;	      /* the update hook saw a row inserted ... */
	int64_t inserted_rowid; /* ... with this row id, the last one */
	/* Copies of text and blob parameters, bound without SQLite's own
	 * copy: valid until the next query rebinds. len <= cap. */
	char *scratch;
	size_t scratch_len, scratch_cap;
	int64_t data_version; /* listen(): PRAGMA data_version last read */
};

static const struct dbr_host *sqlt_host;
static const struct dbr_driver sqlt_driver;

static const struct dbr_option_decl sqlt_options[] = {
	{ "path", DBR_OPT_PATH, DBR_OPT_REQUIRED, 0, 0, NULL, NULL,
	  "the database file; relative to the INI file's folder" },
	{ "locking_mode", DBR_OPT_ENUM, 0, 0, 0, "normal", "normal|exclusive",
	  "exclusive: each connection keeps the file locked (one writer "
	  "process, no lock calls per statement)" },
	{ "cache_size", DBR_OPT_INT, 0, 0, 1048576, "0", NULL,
	  "each connection's page cache in KiB (0: SQLite's default)" },
	{ "foreign_keys", DBR_OPT_BOOL, 0, 0, 0, "false", NULL,
	  "enforce foreign keys on each connection (PRAGMA foreign_keys; "
	  "SQLite's default is off)" },
	{ "synchronous", DBR_OPT_ENUM, 0, 0, 0, NULL, "off|normal|full|extra",
	  "PRAGMA synchronous on each connection (unset: SQLite's default, "
	  "full)" },
	{ "extensions", DBR_OPT_EXTENSIONS, 0, 0, 0, NULL, NULL,
	  "loadable extensions, path[:entry], ..., loaded on each connection; "
	  "each checked as a driver plugin is" },
	{ NULL, 0, 0, 0, 0, NULL, NULL, NULL }
};

static struct sqlt_conn *sqlt_conn(struct dbr_driver_conn *c)
{
	/* Checked downcast. The core hands a driver only the connections
	 * it opened, so a mismatch is a broken invariant, not bad input. */
	if (!c || c->driver != &sqlt_driver)
		abort();
	return (struct sqlt_conn *)c;
}

/* The dbroute category of an SQLite result code. */
static int sqlt_category(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT: return DBR_E_CONSTRAINT;
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return DBR_E_TIMEOUT;
	case SQLITE_READONLY: return DBR_E_READONLY;
	case SQLITE_NOMEM: return DBR_E_NOMEM;
	case SQLITE_CANTOPEN:
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
	case SQLITE_IOERR:
	case SQLITE_FULL: return DBR_E_CONN;
	case SQLITE_MISUSE: return DBR_E_MISUSE;
	default: return DBR_E_STMT;
	}
}

/*
 * A file SQLite could not open for want of a descriptor: a local shortage
 * (DBR_E_RESOURCE), never a sign that the database is unusable. NULL
 * when the last failure was something else.
 */
static const char *sqlt_no_fd(sqlite3 *db)
{
	int e = db ? sqlite3_system_errno(db) : 0;

	if (e == EMFILE)
		return "no file descriptor left in this process (EMFILE)";
	if (e == ENFILE)
		return "no file descriptor left in the system (ENFILE)";
	return NULL;
}

/*
 * A file that is itself bad: the source is down (DBR_E_CONN), but trying
 * again cannot help until someone repairs it, so the error says so.
 */
static void sqlt_damaged(int rc, struct dbr_error *err)
{
	if (err &&
	    ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB)) {
		err->retryable = false;
		err->hint = "the file is damaged or not an SQLite database: "
			    "restore it, or point path at the right file";
	}
}

/* The message a move's fence trigger raises (sqlt_capture.c). */
#define SQLT_FENCED "dbroute:fenced:"

static int sqlt_fail(struct sqlt_conn *c, int rc, struct dbr_error *err,
		     const char *what)
{
	int code = sqlt_category(rc);

	/* A write the chat's fence refused: not a constraint of the data. */
	if (rc == SQLITE_CONSTRAINT_TRIGGER && c->db &&
	    !strncmp(sqlite3_errmsg(c->db), SQLT_FENCED,
		     sizeof(SQLT_FENCED) - 1))
		code = DBR_E_MOVING;
	const char *why = code == DBR_E_CONN ? sqlt_no_fd(c->db) : NULL;

	if (why) {
		sqlt_host->set_error(err, DBR_E_RESOURCE, rc, NULL, "%s: %s",
				     what, why);
		return DBR_E_RESOURCE;
	}
	sqlt_host->set_error(err, code, rc, NULL, "%s: %s", what,
			     c->db ? sqlite3_errmsg(c->db)
				   : sqlite3_errstr(rc));
	sqlt_damaged(rc, err);
	return code;
}

static void sqlt_drop(void *ctx, void *data)
{
	struct sqlt_stmt *st = data;

	(void)ctx;
	sqlite3_finalize(st->stmt);
	free(st->hints);
	free(st);
}

static int sqlt_exec(struct sqlt_conn *c, const char *sql,
		     struct dbr_error *err)
{
	int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? DBR_OK : sqlt_fail(c, rc, err, sql);
}

/* SQLite's update hook: note the last row a statement inserted. */
static void sqlt_row_changed(void *ctx, int op, const char *db,
			     const char *table, sqlite3_int64 rowid)
{
	struct sqlt_conn *c = ctx;

	(void)db;
	(void)table;
	if (op == SQLITE_INSERT) {
		c->inserted = true;
		c->inserted_rowid = rowid;
	}
}

/*
 * SQLite's authorizer, asked while a statement is prepared (never while
 * it runs): it allows everything and notes what would outlive the call on
 * a pooled connection: a TEMP object's creation, an attached database, a
 * pragma given a value. The statement guard refuses ATTACH and pragmas
 * that set; this is the state-side guarantee.
 */
static int sqlt_authorize(void *ctx, int action, const char *a, const char *b,
			  const char *db, const char *trigger)
{
	struct sqlt_conn *c = ctx;

	(void)trigger;
	switch (action) {
	case SQLITE_CREATE_TEMP_INDEX:
	case SQLITE_CREATE_TEMP_TABLE:
	case SQLITE_CREATE_TEMP_TRIGGER:
	case SQLITE_CREATE_TEMP_VIEW:
	case SQLITE_ATTACH: c->state_seen = true; break;
	/* `CREATE TABLE temp.x` and virtual tables come as plain creates
	 * in the database "temp". */
	case SQLITE_CREATE_INDEX:
	case SQLITE_CREATE_TABLE:
	case SQLITE_CREATE_TRIGGER:
	case SQLITE_CREATE_VIEW:
	case SQLITE_CREATE_VTABLE:
		if (db && !strcmp(db, "temp"))
			c->state_seen = true;
		break;
	/* A pragma given a value may set a connection's flag, even under
	 * EXPLAIN (SQLite applies some while preparing); one whose argument
	 * names what to read (table_info(t)) does not. */
	case SQLITE_PRAGMA:
		if (b && !dbr_sqlguard_pragma_reads(a))
			c->state_seen = true;
		break;
	default: break;
	}
	return SQLITE_OK;
}

static void sqlt_close(struct dbr_driver_conn *conn)
{
	struct sqlt_conn *c = sqlt_conn(conn);

	dbr_stmtcache_clear(&c->cache);
	sqlite3_close_v2(c->db);
	free(c->scratch);
	free(c);
}

/*
 * Switch a writable file to WAL. Another connection switching it at the
 * same moment makes SQLite answer "locked" at once, without its busy
 * handler: retry until the source's timeout.
 */
static int sqlt_wal(struct sqlt_conn *c, double timeout, struct dbr_error *err)
{
	struct timespec pause = { 0, 2000000L }; /* 2 ms */
	double waited = 0;
	int rc;

	for (;;) {
		rc = sqlite3_exec(c->db, "PRAGMA journal_mode=WAL", NULL, NULL,
				  NULL);
		if (rc == SQLITE_OK)
			return DBR_OK;
		if (sqlt_category(rc) != DBR_E_TIMEOUT || waited >= timeout)
			return sqlt_fail(c, rc, err, "cannot switch to WAL");
		nanosleep(&pause, NULL);
		waited += 0.002;
	}
}

/* The pragmas of the source's options, before the first read. */
static int sqlt_settings(struct sqlt_conn *c,
			 const struct dbr_source_config *src,
			 struct dbr_error *err)
{
	const char *mode = sqlt_host->opt_text(src, "locking_mode");
	const char *sync = sqlt_host->opt_text(src, "synchronous");
	int64_t kib = sqlt_host->opt_int(src, "cache_size");
	char sql[64];
	int rc = DBR_OK;

	if (mode && !strcmp(mode, "exclusive"))
		rc = sqlt_exec(c, "PRAGMA locking_mode=EXCLUSIVE", err);
	if (!rc && kib > 0) {
		snprintf(sql, sizeof(sql), "PRAGMA cache_size=-%lld",
			 (long long)kib);
		rc = sqlt_exec(c, sql, err);
	}
	if (!rc && sqlt_host->opt_bool(src, "foreign_keys"))
		rc = sqlt_exec(c, "PRAGMA foreign_keys=ON", err);
	/* One of the declared choices: the core refused any other. */
	if (!rc && sync) {
		snprintf(sql, sizeof(sql), "PRAGMA synchronous=%s", sync);
		rc = sqlt_exec(c, sql, err);
	}
	return rc;
}

/*
 * The entry point SQLite would derive from a file name, given explicitly:
 * "sqlite3_" and the base name's letters before its first dot, lower
 * case, without a leading "lib", then "_init".
 */
static void sqlt_entry_of(const char *real, char *entry, size_t size)
{
	const char *base = strrchr(real, '/');
	size_t n = 0, len = 0;
	char name[256];

	base = base ? base + 1 : real;
	if (!strncasecmp(base, "lib", 3))
		base += 3;
	for (; base[n] && base[n] != '.' && len + 1 < sizeof(name); n++)
		if ((base[n] >= 'a' && base[n] <= 'z') ||
		    (base[n] >= 'A' && base[n] <= 'Z'))
			name[len++] = (char)(base[n] | 0x20);
	name[len] = '\0';
	snprintf(entry, size, "sqlite3_%s_init", name);
}

/* Load one extension (`path` or `path<TAB>entry`, n bytes) into c->db. */
static int sqlt_load_one(struct sqlt_conn *c, const char *item, size_t n,
			 struct dbr_error *err)
{
	const char *tab = memchr(item, '\t', n);
	char path[4096], real[4096], entry[300], *msg = NULL;
	size_t plen = tab ? (size_t)(tab - item) : n;
	int rc;

	if (plen >= sizeof(path) || n - plen >= sizeof(entry)) {
		sqlt_host->set_error(err, DBR_E_CONFIG, 0, NULL,
				     "extension '%.*s...': path too long", 64,
				     item);
		return DBR_E_CONFIG;
	}
	memcpy(path, item, plen);
	path[plen] = '\0';
	rc = sqlt_host->check_extension(c->base.src, path, real, sizeof(real),
					err);
	if (rc)
		return rc;
	if (tab)
		snprintf(entry, sizeof(entry), "%.*s", (int)(n - plen - 1),
			 tab + 1);
	else
		sqlt_entry_of(real, entry, sizeof(entry));
	/* Enabled for this C call only: the SQL function load_extension()
	 * stays refused. */
	sqlite3_db_config(c->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 1,
			  NULL);
	rc = sqlite3_load_extension(c->db, real, entry, &msg);
	sqlite3_db_config(c->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0,
			  NULL);
	if (rc != SQLITE_OK) {
		sqlt_host->set_error(err, DBR_E_CONFIG, rc, NULL,
				     "extension '%s' (entry %s) cannot be "
				     "loaded: %s",
				     path, entry, msg ? msg : "out of memory");
		err->retryable = false;
		sqlite3_free(msg);
		return DBR_E_CONFIG;
	}
	return DBR_OK;
}

/* The source's extensions, one a line, loaded in order. */
static int sqlt_extensions(struct sqlt_conn *c,
			   const struct dbr_source_config *src,
			   struct dbr_error *err)
{
	const char *p = sqlt_host->opt_text(src, "extensions"), *nl;
	int rc = DBR_OK;

	while (!rc && p && *p) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		rc = sqlt_load_one(c, p, (size_t)(nl - p), err);
		p = *nl ? nl + 1 : nl;
	}
	return rc;
}

/*
 * The category of a failed open: a shortage of descriptors is local
 * (DBR_E_RESOURCE), busy past the timeout is a wait that ended; anything
 * else leaves the file unusable (DBR_E_CONN).
 */
static int sqlt_open_failed(struct sqlt_conn *c, int rc, const char *what,
			    const char *path, struct dbr_error *err)
{
	const char *why = sqlt_no_fd(c->db);
	int native = c->db ? sqlite3_extended_errcode(c->db) : 0;

	if (why)
		rc = DBR_E_RESOURCE;
	else if (rc != DBR_E_TIMEOUT)
		rc = DBR_E_CONN;
	sqlt_host->set_error(err, rc, native, NULL, "%s '%s': %s", what, path,
			     why     ? why
			     : c->db ? sqlite3_errmsg(c->db)
				     : "out of memory");
	if (!why)
		sqlt_damaged(native, err);
	return rc;
}

/*
 * A file that DBR_OPEN_NO_CREATE did not open because it does not exist:
 * DBR_E_NOTFOUND (sqlite3_system_errno: ENOENT, not a message's text).
 */
static int sqlt_not_found(struct sqlt_conn *c, const char *path,
			  struct dbr_error *err)
{
	sqlt_host->set_error(
		err, DBR_E_NOTFOUND, sqlite3_extended_errcode(c->db), NULL,
		"cannot open '%s': the database does not exist", path);
	return DBR_E_NOTFOUND;
}

/*
 * Open a connection. DBR_OPEN_NO_CREATE: only a file that exists, read
 * as it is and never written: opened read-only (without switching it to
 * WAL), and closed without the checkpoint that would merge a WAL file
 * another writer left into the main file.
 */
static int sqlt_open_flags(const struct dbr_source_config *src, unsigned oflags,
			   struct dbr_driver_conn **out, struct dbr_error *err)
{
	const char *path = sqlt_host->opt_text(src, "path");
	bool ro = sqlt_host->opt_bool(src, "readonly");
	bool keep = ro || (oflags & DBR_OPEN_NO_CREATE);
	double timeout = sqlt_host->opt_seconds(src, "timeout");
	int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
	struct sqlt_conn *c;
	int rc;

	flags |= keep ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
	if (!keep)
		flags |= SQLITE_OPEN_CREATE;
	c = calloc(1, sizeof(*c));
	if (!c) {
		sqlt_host->set_error(err, DBR_E_NOMEM, 0, NULL,
				     "out of memory");
		return DBR_E_NOMEM;
	}
	c->base.struct_size = sizeof(c->base);
	c->base.driver = &sqlt_driver;
	c->base.src = src;
	c->cache.drop = sqlt_drop;
	rc = sqlite3_open_v2(path, &c->db, flags, NULL);
	if (rc != SQLITE_OK && (oflags & DBR_OPEN_NO_CREATE) && c->db &&
	    sqlite3_system_errno(c->db) == ENOENT) {
		rc = sqlt_not_found(c, path, err);
		goto fail;
	}
	if (rc != SQLITE_OK) {
		rc = sqlt_open_failed(c, DBR_E_CONN, "cannot open", path, err);
		goto fail;
	}
	if (keep)
		sqlite3_db_config(c->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1,
				  NULL);
	sqlite3_busy_timeout(c->db, (int)(timeout * 1000));
	/* A read-only file is not enough: VACUUM INTO writes another file,
	 * through an attached database. None may be attached here. */
	if (ro)
		sqlite3_limit(c->db, SQLITE_LIMIT_ATTACHED, 0);
	sqlite3_set_authorizer(c->db, sqlt_authorize, c);
	sqlite3_update_hook(c->db, sqlt_row_changed, c);
	rc = sqlt_extensions(c, src, err);
	if (rc)
		goto fail;
	rc = sqlt_settings(c, src, err);
	/* Reading the schema version proves the file is a database. */
	if (!rc)
		rc = keep ? sqlt_exec(c, "PRAGMA schema_version", err)
			  : sqlt_wal(c, timeout, err);
	if (rc) {
		rc = sqlt_open_failed(c, rc, "cannot use", path, err);
		goto fail;
	}
	*out = &c->base;
	return DBR_OK;
fail:
	sqlite3_close_v2(c->db);
	free(c);
	return rc;
}

static int sqlt_open(const struct dbr_source_config *src,
		     struct dbr_driver_conn **out, struct dbr_error *err)
{
	return sqlt_open_flags(src, 0, out, err);
}

/*
 * Whether a table or view exists in the main or temp schema, as an
 * unqualified name finds it, asked of the catalog (SQLite's errors have
 * no SQLSTATE to tell a missing table by).
 */
static int sqlt_has_table(struct dbr_driver_conn *conn, const char *name,
			  bool *found, struct dbr_error *err)
{
	static const char sql[] =
		"SELECT 1 FROM sqlite_temp_master WHERE type IN ('table', "
		"'view') AND name = ?1 COLLATE NOCASE UNION ALL SELECT 1 FROM "
		"main.sqlite_master WHERE type IN ('table', 'view') AND "
		"name = ?1 COLLATE NOCASE";
	struct sqlt_conn *c = sqlt_conn(conn);
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	*found = rc == SQLITE_ROW;
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return DBR_OK;
	return sqlt_fail(c, rc, err, "cannot read the catalog");
}

/* PRAGMA data_version: changes when another connection commits. */
static int sqlt_data_version(struct sqlt_conn *c, int64_t *v,
			     struct dbr_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc =
		sqlite3_prepare_v2(c->db, "PRAGMA data_version", -1, &st, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return DBR_OK;
	return sqlt_fail(c, rc, err, "cannot read the data version");
}

/* Listening on SQLite: every commit by another connection is a signal,
 * whatever the channel. */
static int sqlt_listen(struct dbr_driver_conn *conn, const char *channel,
		       struct dbr_error *err)
{
	struct sqlt_conn *c = sqlt_conn(conn);

	(void)channel;
	return sqlt_data_version(c, &c->data_version, err);
}

/* Polls the data version every 20 ms (SQLite has nothing to wait on). */
static int sqlt_wait_signal(struct dbr_driver_conn *conn, int timeout_ms,
			    bool *signalled, struct dbr_error *err)
{
	struct sqlt_conn *c = sqlt_conn(conn);
	struct timespec nap = { 0, 20 * 1000000L };
	int64_t v = 0;
	int waited = 0, rc;

	*signalled = false;
	for (;;) {
		rc = sqlt_data_version(c, &v, err);
		if (rc)
			return rc;
		if (v != c->data_version) {
			c->data_version = v;
			*signalled = true;
			return DBR_OK;
		}
		if (waited >= timeout_ms)
			return DBR_OK;
		nanosleep(&nap, NULL);
		waited += 20;
	}
}

/*
 * dbroute has one placeholder syntax on every SQL driver: `?` binds the
 * next parameter. SQLite also takes ?NNN, :name, @name and $name, which
 * PostgreSQL does not: the first of them is returned, to be refused. Asked
 * once, when the statement is prepared; anonymous parameters have no name.
 */
static const char *sqlt_named_param(sqlite3_stmt *stmt)
{
	int i, n = sqlite3_bind_parameter_count(stmt);

	for (i = 1; i <= n; i++) {
		const char *name = sqlite3_bind_parameter_name(stmt, i);
		if (name)
			return name;
	}
	return NULL;
}

/* The type a column's declared type asks for, or 0. */
static unsigned char sqlt_hint(const char *decl)
{
	static const struct {
		const char *decl;
		unsigned char type;
	} hints[] = { { "BOOLEAN", DBR_TYPE_BOOL },
		      { "BOOL", DBR_TYPE_BOOL },
		      { "TIMESTAMP", DBR_TYPE_TIMESTAMP },
		      { "TIMESTAMPTZ", DBR_TYPE_TIMESTAMP },
		      { "DATETIME", DBR_TYPE_TIMESTAMP } };
	size_t i;

	for (i = 0; decl && i < sizeof(hints) / sizeof(hints[0]); i++)
		if (!strcasecmp(decl, hints[i].decl))
			return hints[i].type;
	return 0;
}

/* The hints of stmt's result columns, or NULL (none, or no memory). */
static unsigned char *sqlt_hints(sqlite3_stmt *stmt)
{
	int i, n = sqlite3_column_count(stmt);
	unsigned char *hints = NULL;

	for (i = 0; i < n; i++) {
		unsigned char h = sqlt_hint(sqlite3_column_decltype(stmt, i));

		if (h && !hints)
			hints = calloc((size_t)n, 1);
		if (hints)
			hints[i] = h;
	}
	return hints;
}

static int sqlt_prepare(struct sqlt_conn *c, const char *sql,
			struct sqlt_stmt **out, struct dbr_error *err)
{
	sqlite3_stmt *stmt = NULL, *extra = NULL;
	size_t len = strlen(sql);
	const char *tail = NULL, *named;
	struct sqlt_stmt *st;
	int rc;

	sqlt_host->log(c->base.src, DBR_LOG_DEBUG,
		       "statement cache miss: preparing '%.200s'", sql);
	c->state_seen = false;
	rc = sqlite3_prepare_v3(c->db, sql, (int)len, SQLITE_PREPARE_PERSISTENT,
				&stmt, &tail);
	if (rc != SQLITE_OK)
		return sqlt_fail(c, rc, err, "cannot prepare statement");
	if (!stmt) {
		sqlt_host->set_error(err, DBR_E_STMT, 0, NULL,
				     "empty statement");
		return DBR_E_STMT;
	}
	/* Only blanks and comments may follow: preparing them yields no
	 * statement. */
	if (tail && *tail) {
		rc = sqlite3_prepare_v2(c->db, tail, -1, &extra, NULL);
		sqlite3_finalize(extra);
		if (rc != SQLITE_OK || extra) {
			sqlite3_finalize(stmt);
			sqlt_host->set_error(err, DBR_E_STMT, 0, NULL,
					     "text after the first statement: "
					     "'%.60s' (one call runs one "
					     "statement)",
					     tail);
			return DBR_E_STMT;
		}
	}
	named = sqlt_named_param(stmt);
	if (named) {
		sqlt_host->set_error(err, DBR_E_MISUSE, 0, NULL,
				     "placeholder '%.60s': %s parameters are "
				     "not dbroute's syntax (? binds the next "
				     "parameter)",
				     named,
				     *named == '?' ? "numbered" : "named");
		sqlite3_finalize(stmt);
		return DBR_E_MISUSE;
	}
	st = malloc(sizeof(*st));
	if (!st || !dbr_stmtcache_add(&c->cache, sql, len, st)) {
		free(st);
		sqlite3_finalize(stmt);
		sqlt_host->set_error(err, DBR_E_NOMEM, 0, NULL,
				     "out of memory");
		return DBR_E_NOMEM;
	}
	/* Known once, not asked again per call. */
	st->stmt = stmt;
	st->nparams = sqlite3_bind_parameter_count(stmt);
	st->readonly = sqlite3_stmt_readonly(stmt) != 0;
	st->rowless = sqlite3_column_count(stmt) == 0;
	st->leaves_state = c->state_seen;
	st->hints = sqlt_hints(stmt);
	st->nhints = (size_t)sqlite3_column_count(stmt);
	*out = st;
	return DBR_OK;
}

/*
 * A statement that would change the pooled connection's state (BEGIN,
 * ATTACH, a PRAGMA that sets ...) is refused as the caller's misuse. The
 * guard reads the text of a statement not yet cached; a cached one is
 * asked again only when it is refused outside a transaction (a savepoint
 * prepared inside one), so a cache hit costs nothing more.
 */
static int sqlt_lookup(struct sqlt_conn *c, const char *sql,
		       struct sqlt_stmt **out, struct dbr_error *err)
{
	struct dbr_stmtcache_entry *e = dbr_stmtcache_find_str(&c->cache, sql);
	struct sqlt_stmt *st = e ? e->data : NULL;
	const char *why = NULL;
	int rc;

	if (!st || st->guarded)
		why = dbr_sqlguard_refuse(sql, DBR_SQLGUARD_SQLITE, c->in_tx);
	if (why) {
		sqlt_host->set_error(err, DBR_E_MISUSE, 0, NULL, "%s", why);
		return DBR_E_MISUSE;
	}
	if (st) {
		*out = st;
		return DBR_OK;
	}
	rc = sqlt_prepare(c, sql, out, err);
	if (!rc)
		(*out)->guarded =
			c->in_tx &&
			dbr_sqlguard_refuse(sql, DBR_SQLGUARD_SQLITE, false);
	return rc;
}

/*
 * Room for the copies of the text and blob parameters p[0 .. n), asked at
 * the first of this call's (none before it needs a copy), before any is
 * bound: the buffer never moves under a bound parameter.
 */
static int sqlt_reserve(struct sqlt_conn *c, const struct dbr_value *p,
			size_t n)
{
	size_t need = 0, cap;
	char *buf;

	c->scratch_len = 0;
	while (n--)
		if (p[n].type == DBR_TYPE_TEXT || p[n].type == DBR_TYPE_BLOB)
			need += p[n].len + 1;
	if (need <= c->scratch_cap)
		return 0;
	cap = need < 256 ? 256 : need * 2;
	buf = realloc(c->scratch, cap);
	if (!buf)
		return -1;
	c->scratch = buf;
	c->scratch_cap = cap;
	return 0;
}

/*
 * Bind a text or blob parameter without SQLite copying it: the caller's
 * own bytes when the statement ends within this call (its first step),
 * else a copy that lives until the next query, as rows are read later.
 */
static int sqlt_bind_bytes(struct sqlt_conn *c, const struct sqlt_stmt *e,
			   int i, const struct dbr_value *p)
{
	const char *at = p->len ? (const char *)p->u.b : "";
	char *copy;

	if (p->type == DBR_TYPE_BLOB && !p->len)
		return sqlite3_bind_zeroblob(e->stmt, i, 0);
	if (!e->rowless) {
		copy = c->scratch + c->scratch_len;
		if (p->len)
			memcpy(copy, p->u.b, p->len);
		copy[p->len] = '\0';
		c->scratch_len += p->len + 1;
		at = copy;
	}
	if (p->type == DBR_TYPE_TEXT)
		return sqlite3_bind_text64(e->stmt, i, at, p->len,
					   SQLITE_STATIC, SQLITE_UTF8);
	return sqlite3_bind_blob64(e->stmt, i, at, p->len, SQLITE_STATIC);
}

/* A timestamp as its text form; out of range: SQLITE_RANGE. */
static int sqlt_bind_time(sqlite3_stmt *st, int i, int64_t us)
{
	char text[DBR_TS_TEXT_SIZE];
	size_t n = dbr_ts_format(us, text);

	if (!n)
		return SQLITE_RANGE;
	return sqlite3_bind_text(st, i, text, (int)n, SQLITE_TRANSIENT);
}

static int sqlt_bind(struct sqlt_conn *c, const struct sqlt_stmt *e,
		     const struct dbr_value *p, size_t n, struct dbr_error *err)
{
	sqlite3_stmt *st = e->stmt;
	int rc = SQLITE_OK, i;
	bool room = e->rowless; /* no copies: room enough */

	if ((size_t)e->nparams != n) {
		sqlt_host->set_error(err, DBR_E_MISUSE, 0, NULL,
				     "statement has %d placeholders but %zu "
				     "parameters were given",
				     e->nparams, n);
		return DBR_E_MISUSE;
	}
	for (i = 0; i < e->nparams && rc == SQLITE_OK; i++, p++) {
		switch (p->type) {
		case DBR_TYPE_NULL: rc = sqlite3_bind_null(st, i + 1); break;
		case DBR_TYPE_INT64:
			rc = sqlite3_bind_int64(st, i + 1, p->u.i);
			break;
		case DBR_TYPE_BOOL:
			rc = sqlite3_bind_int64(st, i + 1, p->u.i != 0);
			break;
		case DBR_TYPE_TIMESTAMP:
			rc = sqlt_bind_time(st, i + 1, p->u.i);
			break;
		case DBR_TYPE_DOUBLE:
			rc = sqlite3_bind_double(st, i + 1, p->u.d);
			break;
		case DBR_TYPE_TEXT:
		case DBR_TYPE_BLOB:
			if (!room && sqlt_reserve(c, p, n - (size_t)i)) {
				sqlt_host->set_error(err, DBR_E_NOMEM, 0, NULL,
						     "out of memory");
				return DBR_E_NOMEM;
			}
			room = true;
			rc = sqlt_bind_bytes(c, e, i + 1, p);
			break;
		default:
			sqlt_host->set_error(err, DBR_E_MISUSE, 0, NULL,
					     "parameter %d has unknown type "
					     "%d",
					     i + 1, p->type);
			return DBR_E_MISUSE;
		}
	}
	return rc == SQLITE_OK ? DBR_OK
			       : sqlt_fail(c, rc, err, "cannot bind parameter");
}

/* Step the cursor once; at its end, note what the statement changed. */
static int sqlt_step(struct sqlt_conn *c, struct dbr_error *err)
{
	int rc = sqlite3_step(c->cur);

	if (rc == SQLITE_ROW) {
		c->cur_rc = rc;
		return DBR_ROW;
	}
	if (rc == SQLITE_DONE) {
		c->cur_rc = rc;
		return DBR_DONE;
	}
	rc = sqlt_fail(c, rc, err, "statement failed");
	sqlite3_reset(c->cur);
	c->cur = NULL;
	return rc;
}

/* End the cursor's statement, if one is open. */
static void sqlt_end(struct sqlt_conn *c)
{
	if (c->cur) {
		sqlite3_reset(c->cur);
		c->cur = NULL;
	}
}

static void sqlt_finish(struct dbr_driver_conn *conn)
{
	sqlt_end(sqlt_conn(conn));
}

static int sqlt_query(struct dbr_driver_conn *conn, const char *sql,
		      const struct dbr_value *params, size_t nparams,
		      struct dbr_error *err)
{
	struct sqlt_conn *c = sqlt_conn(conn);
	struct sqlt_stmt *e = NULL;
	int rc;

	sqlt_end(c);
	c->cur_readonly = false; /* unknown until it is prepared: a write */
	rc = sqlt_lookup(c, sql, &e, err);
	if (rc)
		return rc;
	c->state_left |= e->leaves_state;
	/* Only a write can change the last insert row id. SQLite's own
	 * value is never touched: SQL may read it (last_insert_rowid()). */
	c->cur_readonly = e->readonly;
	c->cur_rowless = e->rowless;
	c->cur_hints = e->hints;
	c->cur_nhints = e->nhints;
	c->inserted = false;
	c->rowid_before = e->readonly ? 0 : sqlite3_last_insert_rowid(c->db);
	rc = sqlt_bind(c, e, params, nparams, err);
	if (rc)
		return rc;
	c->cur = e->stmt;
	rc = sqlt_step(c, err);
	if (rc != DBR_ROW && rc != DBR_DONE)
		return rc;
	c->first = true;
	return DBR_OK;
}

static int sqlt_next(struct dbr_driver_conn *conn, struct dbr_error *err)
{
	struct sqlt_conn *c = sqlt_conn(conn);

	if (!c->cur)
		return DBR_DONE;
	if (c->first) {
		c->first = false;
		return c->cur_rc == SQLITE_ROW ? DBR_ROW : DBR_DONE;
	}
	if (c->cur_rc == SQLITE_DONE)
		return DBR_DONE;
	return sqlt_step(c, err);
}

static size_t sqlt_column_count(struct dbr_driver_conn *conn)
{
	struct sqlt_conn *c = sqlt_conn(conn);

	/* A statement prepared without result columns never gains any (one
	 * that has them may: SELECT * when its table does). */
	if (!c->cur || c->cur_rowless)
		return 0;
	return (size_t)sqlite3_column_count(c->cur);
}

static const char *sqlt_column_name(struct dbr_driver_conn *conn, size_t col)
{
	struct sqlt_conn *c = sqlt_conn(conn);

	return c->cur ? sqlite3_column_name(c->cur, (int)col) : NULL;
}

/* A column typed by its declared type (struct sqlt_stmt.hints). */
static void sqlt_typed(unsigned char hint, struct dbr_value *out)
{
	int64_t us;

	if (hint == DBR_TYPE_BOOL && out->type == DBR_TYPE_INT64)
		*out = dbr_bool(out->u.i != 0);
	else if (hint == DBR_TYPE_TIMESTAMP && out->type == DBR_TYPE_TEXT &&
		 dbr_ts_parse(out->u.s, out->len, &us))
		*out = dbr_timestamp(us);
}

static void sqlt_column(struct dbr_driver_conn *conn, size_t col,
			struct dbr_value *out)
{
	struct sqlt_conn *c = sqlt_conn(conn);
	/* One call for the column's value, then the value's own calls,
	 * which take no lock. */
	sqlite3_value *v = sqlite3_column_value(c->cur, (int)col);

	out->len = 0;
	switch (sqlite3_value_type(v)) {
	case SQLITE_INTEGER:
		out->type = DBR_TYPE_INT64;
		out->u.i = sqlite3_value_int64(v);
		break;
	case SQLITE_FLOAT:
		out->type = DBR_TYPE_DOUBLE;
		out->u.d = sqlite3_value_double(v);
		break;
	case SQLITE_TEXT:
		out->type = DBR_TYPE_TEXT;
		out->u.s = (const char *)sqlite3_value_text(v);
		out->len = (size_t)sqlite3_value_bytes(v);
		if (!out->u.s)
			out->u.s = "";
		break;
	case SQLITE_BLOB:
		out->type = DBR_TYPE_BLOB;
		out->u.b = sqlite3_value_blob(v);
		out->len = (size_t)sqlite3_value_bytes(v);
		if (!out->u.b)
			out->u.b = "";
		break;
	default:
		out->type = DBR_TYPE_NULL;
		out->u.i = 0;
		return;
	}
	if (c->cur_hints && col < c->cur_nhints && c->cur_hints[col])
		sqlt_typed(c->cur_hints[col], out);
}

/*
 * Whether the cursor's statement is a write that ran to its end. What it
 * changed is then SQLite's: its counts stay the statement's until the
 * connection runs another, and none runs while the result is open (the
 * core holds the connection), so they are read when asked, not after
 * every statement.
 */
static bool sqlt_wrote_all(const struct sqlt_conn *c)
{
	return c->cur && c->cur_rc == SQLITE_DONE && !c->cur_readonly;
}

static int64_t sqlt_changes(struct dbr_driver_conn *conn)
{
	struct sqlt_conn *c = sqlt_conn(conn);

	return sqlt_wrote_all(c) ? sqlite3_changes64(c->db) : 0;
}

/*
 * SQLite keeps the connection's last id: report it when this statement
 * changed it, or when this statement inserted a row with that very id
 * (insert, delete, insert reuses it: the update hook saw it). An upsert
 * that only updated, or an insert into a WITHOUT ROWID table, has none.
 */
static bool sqlt_last_insert_id(struct dbr_driver_conn *conn, int64_t *id)
{
	struct sqlt_conn *c = sqlt_conn(conn);
	int64_t rowid = sqlt_wrote_all(c) ? sqlite3_last_insert_rowid(c->db)
					  : c->rowid_before;

	*id = rowid;
	return rowid != c->rowid_before ||
	       (c->inserted && c->inserted_rowid == rowid);
}

static int sqlt_ping(struct dbr_driver_conn *conn, struct dbr_error *err)
{
	return sqlt_exec(sqlt_conn(conn), "PRAGMA schema_version", err);
}

static int sqlt_begin(struct dbr_driver_conn *conn, struct dbr_error *err)
{
	struct sqlt_conn *c = sqlt_conn(conn);
	int rc;

	/* IMMEDIATE takes the write lock now (waiting up to the busy
	 * timeout) instead of failing on a later lock upgrade. */
	rc = sqlt_exec(c,
		       sqlite3_db_readonly(c->db, "main") == 1
			       ? "BEGIN"
			       : "BEGIN IMMEDIATE",
		       err);
	c->in_tx = rc == DBR_OK;
	return rc;
}

/* A failed COMMIT (a deferred foreign key) leaves the transaction open. */
static int sqlt_commit(struct dbr_driver_conn *conn, struct dbr_error *err)
{
	struct sqlt_conn *c = sqlt_conn(conn);
	int rc = sqlt_exec(c, "COMMIT", err);

	c->in_tx = !sqlite3_get_autocommit(c->db);
	return rc;
}

static int sqlt_rollback(struct dbr_driver_conn *conn, struct dbr_error *err)
{
	struct sqlt_conn *c = sqlt_conn(conn);
	int rc = DBR_OK;

	/* SQLite may have rolled back already (e.g. on FULL). */
	if (!sqlite3_get_autocommit(c->db))
		rc = sqlt_exec(c, "ROLLBACK", err);
	c->in_tx = !sqlite3_get_autocommit(c->db);
	return rc;
}

/*
 * Clean: no cursor, outside any transaction (SQLite's own autocommit
 * state, whatever text reached it), and no statement left state behind
 * (TEMP objects, an attached database, a pragma given a value: noted by
 * the authorizer when the statement was prepared).
 */
static bool sqlt_is_clean(struct dbr_driver_conn *conn)
{
	struct sqlt_conn *c = sqlt_conn(conn);

	return !c->cur && !c->state_left && sqlite3_get_autocommit(c->db);
}

/* Whether the last statement may have written: SQLite knows exactly. */
static bool sqlt_wrote(struct dbr_driver_conn *conn)
{
	return !sqlt_conn(conn)->cur_readonly;
}

/* Whether the declared type t holds word, in any case. */
static bool sqlt_has(const char *t, const char *word)
{
	size_t n = strlen(word);

	for (; *t; t++)
		if (!strncasecmp(t, word, n))
			return true;
	return false;
}

/* The portable class of a declared type, by SQLite's affinity rules. */
static uint32_t sqlt_class(const char *t)
{
	if (sqlt_has(t, "INT"))
		return DBR_CLASS_INTEGER;
	if (sqlt_has(t, "CHAR") || sqlt_has(t, "CLOB") || sqlt_has(t, "TEXT"))
		return DBR_CLASS_TEXT;
	if (!*t || sqlt_has(t, "BLOB"))
		return DBR_CLASS_BLOB;
	if (sqlt_has(t, "REAL") || sqlt_has(t, "FLOA") || sqlt_has(t, "DOUB") ||
	    sqlt_has(t, "NUMERIC") || sqlt_has(t, "DECIMAL"))
		return DBR_CLASS_REAL;
	return DBR_CLASS_OTHER;
}

/* The main database's tables, but SQLite's own (sqlite_*). */
static const char sqlt_tables_sql[] =
	"SELECT m.name, p.name, p.type, p.\"notnull\", p.pk "
	"FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS p "
	"WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
	"ORDER BY m.name, p.cid";

static int sqlt_list_tables(struct dbr_driver_conn *conn, dbr_table_fn fn,
			    void *ud, struct dbr_error *err)
{
	struct sqlt_conn *c = sqlt_conn(conn);
	struct dbr_tablelist t;
	struct dbr_column_info col;
	sqlite3_stmt *st = NULL;
	int rc;

	sqlt_end(c);
	dbr_tablelist_init(&t, fn, ud);
	rc = sqlite3_prepare_v2(c->db, sqlt_tables_sql, -1, &st, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *table = (const char *)sqlite3_column_text(st, 0);

		memset(&col, 0, sizeof(col));
		col.name = (const char *)sqlite3_column_text(st, 1);
		col.decl_type = (const char *)sqlite3_column_text(st, 2);
		col.cls = sqlt_class(col.decl_type ? col.decl_type : "");
		col.notnull = sqlite3_column_int(st, 3) != 0;
		col.pk = (uint32_t)sqlite3_column_int(st, 4);
		rc = SQLITE_OK;
		if (table && dbr_tablelist_add(&t, "", table, &col))
			rc = SQLITE_NOMEM;
	}
	if (rc == SQLITE_DONE) {
		dbr_tablelist_end(&t);
		rc = SQLITE_OK;
	}
	dbr_tablelist_release(&t);
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? DBR_OK
			       : sqlt_fail(c, rc, err, "cannot list tables");
}

static int sqlt_capture(struct dbr_driver_conn *conn,
			const struct dbr_capture *cap, bool install,
			struct dbr_error *err)
{
	return sqlt_capture_run(sqlt_conn(conn)->db, sqlt_host, cap, install,
				err);
}

static int sqlt_clock_ms(struct dbr_driver_conn *conn, int64_t *ms,
			 struct dbr_error *err)
{
	return sqlt_clock_run(sqlt_conn(conn)->db, sqlt_host, ms, err);
}

static const struct dbr_driver sqlt_driver = {
	.abi_version = DBR_ABI_VERSION,
	.struct_size = sizeof(struct dbr_driver),
	.option_size = sizeof(struct dbr_option_decl),
	.lex_flags = DBR_SQLLEX_SQLITE,
	.name = "sqlite",
	.version = "0.1.0 (SQLite " SQLITE_VERSION ")",
	.caps = DBR_CAP_SQL | DBR_CAP_TRANSACTIONS | DBR_CAP_READONLY |
		DBR_CAP_TRANSACTIONAL_DDL,
	.options = sqlt_options,
	.open = sqlt_open,
	.open_with_flags = sqlt_open_flags,
	.has_table = sqlt_has_table,
	.close = sqlt_close,
	.query = sqlt_query,
	.next = sqlt_next,
	.column_count = sqlt_column_count,
	.column_name = sqlt_column_name,
	.column = sqlt_column,
	.finish = sqlt_finish,
	.changes = sqlt_changes,
	.last_insert_id = sqlt_last_insert_id,
	.ping = sqlt_ping,
	.begin = sqlt_begin,
	.commit = sqlt_commit,
	.rollback = sqlt_rollback,
	.is_clean = sqlt_is_clean,
	.wrote = sqlt_wrote,
	.list_tables = sqlt_list_tables,
	.listen = sqlt_listen,
	.wait_signal = sqlt_wait_signal,
	.capture = sqlt_capture,
	.clock_ms = sqlt_clock_ms,
};

const struct dbr_driver *dbr__sqlite_entry(const struct dbr_host *host);

const struct dbr_driver *dbr__sqlite_entry(const struct dbr_host *host)
{
	sqlt_host = host;
	return &sqlt_driver;
}
