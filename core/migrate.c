/*
 * migrate.c - schema migrations: a folder of numbered SQL files applied in
 * order to every writable SQL source, each version recorded per source in
 * dbroute_schema_version (docs/migrations.md).
 *
 * A source's run, in order: skip it when read-only or not SQL; choose its
 * files (the variant of its type, else the plain file); read its version
 * rows; refuse it when a version is dirty or an applied file changed;
 * split every pending file (refusing transaction control) before anything
 * runs; then apply the files one by one. A file runs in one transaction
 * that first inserts its version row, on drivers with transactional DDL:
 * a second process that reaches the same file waits on that row (SQLite's
 * write lock, taken by BEGIN IMMEDIATE; PostgreSQL's unique index) and,
 * once the first commits, fails on it and passes the file by. Other files
 * insert their row as dirty first and clear it at the end.
 *
 * Only the public API runs statements here (dbr_query_source, dbr_tx_*),
 * so every statement is routed, pooled and checked as any other, except
 * the version table's read: on a pooled connection, or in a dry run on
 * one opened without creating the database (read_rows). The folder is
 * read by migdir.c.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "driver.h"
#include "handle.h"
#include "migrate.h"
#include "query.h"
#include "route.h"
#include "sqlguard.h"
#include "sqlsplit.h"

#define BEING_APPLIED "being applied"
/* The advice on a dirty version, and on one another process applies. */
#define REPAIR                                                                 \
	"repair the source by hand, then record the version it is at with "    \
	"--force-version"
#define STILL                                                                  \
	"run migrate again when it is done (if that process died, " REPAIR ")"
#define TABLE "dbroute_schema_version"

static const char create_sql[] =
	"CREATE TABLE IF NOT EXISTS " TABLE " (version BIGINT PRIMARY KEY, "
	"file TEXT NOT NULL, sha256 TEXT NOT NULL, applied_at TEXT NOT NULL, "
	"dirty TEXT)";
static const char select_sql[] =
	"SELECT version, file, sha256, dirty FROM " TABLE " ORDER BY version";
static const char insert_sql[] =
	"INSERT INTO " TABLE " (version, file, sha256, applied_at, dirty) "
	"VALUES (?, ?, ?, ?, ?)";
static const char clear_sql[] = "UPDATE " TABLE " SET file = ?, sha256 = ?, "
				"applied_at = ?, dirty = NULL "
				"WHERE version = ?";
static const char dirty_sql[] = "UPDATE " TABLE " SET dirty = ? "
				"WHERE version = ?";
static const char one_sql[] =
	"SELECT sha256, dirty FROM " TABLE " WHERE version = ?";
static const char rehash_sql[] = "UPDATE " TABLE " SET file = ?, "
				 "sha256 = ? WHERE version = ?";
static const char delete_sql[] = "DELETE FROM " TABLE " WHERE version > ?";

/* Splitting. */

/* Where the text starts after a UTF-8 byte-order mark. */
static size_t bom(const char *text, size_t len)
{
	return len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3) ? 3 : 0;
}

/*
 * dbr_script_split(), but a script that cannot be split fails with the
 * bare reason in the message (err->source set) and its culprit's line in
 * *line (migrate's FILE:LINE).
 */
static int split(struct dbr *db, const char *source, const char *text,
		 size_t len, struct dbr_script_stmt **stmts, size_t *n,
		 unsigned *line, struct dbr_error *err)
{
	struct dbr_source_config *src;
	struct dbr_sqlsplit sp;
	struct dbr_sqlstmt st;
	enum dbr_sqlsplit_step step;
	size_t cap = 0, off;
	int reason, rc;

	if (!db || !text || !stmts || !n)
		return dbr__error_set(err, DBR_E_MISUSE, NULL,
				      "dbr_script_split: a NULL argument");
	*stmts = NULL;
	*n = 0;
	*line = 0;
	rc = dbr__route_named(db->cfg, source, NULL, &src, &reason, err);
	if (rc)
		return rc;
	if (!(src->drv->vt.caps & DBR_CAP_SQL))
		return dbr__error_set(err, DBR_E_UNSUPPORTED, src->name,
				      "source '%s': not an SQL source",
				      src->name);
	off = bom(text, len);
	dbr_sqlsplit_init(&sp, text + off, len - off, src->drv->vt.lex_flags);
	while ((step = dbr_sqlsplit_next(&sp, &st)) == DBR_SQLSPLIT_STMT) {
		if (dbr__grow(stmts, &cap, *n + 1, sizeof(**stmts))) {
			dbr__free(*stmts);
			*stmts = NULL;
			*n = 0;
			return dbr__error_set(err, DBR_E_NOMEM, NULL,
					      "out of memory");
		}
		(*stmts)[*n].start = st.start + off;
		(*stmts)[*n].end = st.end + off;
		(*stmts)[*n].line = st.line;
		(*stmts)[(*n)++].tx_control =
			dbr_sqlguard_is_tx_control(text + off + st.start);
	}
	if (step == DBR_SQLSPLIT_ERROR) {
		dbr__free(*stmts);
		*stmts = NULL;
		*n = 0;
		*line = sp.error_line;
		return dbr__error_set(err, DBR_E_STMT, src->name, "%s",
				      dbr_sqlsplit_strerror(sp.error));
	}
	return DBR_OK;
}

int dbr_script_split(struct dbr *db, const char *source, const char *text,
		     size_t len, struct dbr_script_stmt **stmts, size_t *n,
		     struct dbr_error *err)
{
	unsigned line;
	int rc = split(db, source, text, len, stmts, n, &line, err);

	/* 0.3's contract: *n is 0 and the message starts "line N: ". */
	if (rc == DBR_E_STMT && line && err) {
		char name[DBR_NAME_SIZE], why[DBR_ERROR_MESSAGE_SIZE];

		memcpy(name, err->source, sizeof(name));
		memcpy(why, err->message, sizeof(why));
		dbr__error_set(err, rc, name, "line %u: %s", line, why);
	}
	return rc;
}

/* A source's run. */

struct row {
	int64_t version;
	char *file; /* owned */
	char sha256[65];
	char *dirty; /* owned; NULL when clean */
};

struct run {
	struct dbr *db;
	struct dbr_migrate_options opts;
	dbr_migrate_fn fn;
	void *ud;
	const struct dbr__migdir *dir;
	struct dbr_source_config *src;
	const struct dbr__migfile **files; /* the source's, one per version */
	size_t nfiles;
	struct row *rows; /* its version table, by version */
	size_t nrows, rowcap;
	bool table;  /* the version table exists */
	bool exists; /* the database exists (false: a dry run found none) */
};

static void emit(const struct run *r, int kind, const char *file,
		 int64_t version, const struct dbr_error *e)
{
	struct dbr_migrate_event ev = {
		sizeof(ev), kind, r->src->name, file, version, 0, 0, 0, NULL, e
	};

	if (r->fn)
		r->fn(r->ud, &ev);
}

/* Fill err from e about a file: "source 'S': FILE:LINE: message". */
static int file_error(struct dbr_error *err, const struct dbr_error *e,
		      const char *source, const char *file, unsigned line)
{
	struct dbr_error copy = *e;

	if (line)
		dbr__error_set(err, copy.code, source, "%s:%u: %s", file, line,
			       dbr__error_bare(&copy, source));
	else
		dbr__error_set(err, copy.code, source, "%s: %s", file,
			       dbr__error_bare(&copy, source));
	if (err) {
		err->native_code = copy.native_code;
		memcpy(err->sqlstate, copy.sqlstate, sizeof(err->sqlstate));
		dbr__error_classify(err);
		dbr__error_source(err, source);
	}
	return copy.code;
}

/* The same with a message of the core's own. */
static int file_refuse(struct dbr_error *err, int code, const char *source,
		       const char *file, unsigned line, const char *why)
{
	dbr__error_set(err, code, source, "%s:%u: %s", file, line, why);
	dbr__error_source(err, source);
	return code;
}

static void rows_clear(struct run *r)
{
	size_t i;

	for (i = 0; i < r->nrows; i++) {
		dbr__free(r->rows[i].file);
		dbr__free(r->rows[i].dirty);
	}
	r->nrows = 0;
	r->table = false;
}

static char *text_col(struct dbr_result *res, size_t col)
{
	size_t len;
	const char *s = dbr_result_text(res, col, &len);

	return s ? dbr__strndup(s, len) : NULL;
}

/* A column of the driver's current row as text, owned (NULL: none). */
static char *value_text(const struct dbr_driver *vt, struct dbr_driver_conn *dc,
			size_t col, bool *nomem)
{
	struct dbr_value v;
	char *s;

	vt->column(dc, col, &v);
	if (v.type != DBR_TYPE_TEXT)
		return NULL;
	s = dbr__strndup(v.u.s, v.len);
	*nomem = *nomem || !s;
	return s;
}

static int read_row(struct run *r, const struct dbr_driver *vt,
		    struct dbr_driver_conn *dc)
{
	struct dbr_value v;
	struct row *w;
	char *sha;
	bool nomem = false;

	if (dbr__grow(&r->rows, &r->rowcap, r->nrows + 1, sizeof(*r->rows)))
		return DBR_E_NOMEM;
	w = &r->rows[r->nrows];
	memset(w, 0, sizeof(*w));
	vt->column(dc, 0, &v);
	w->version = v.type == DBR_TYPE_INT64 ? v.u.i : 0;
	w->file = value_text(vt, dc, 1, &nomem);
	sha = value_text(vt, dc, 2, &nomem);
	dbr__copy_text(w->sha256, sizeof(w->sha256), sha ? sha : "");
	dbr__free(sha);
	w->dirty = value_text(vt, dc, 3, &nomem);
	r->nrows++;
	if (!w->file && !nomem)
		w->file = dbr__strdup("");
	return nomem || !w->file ? DBR_E_NOMEM : DBR_OK;
}

/*
 * Whether a failed read of the version table failed because the table is
 * missing: by its SQLSTATE (42P01 standard, 42S02 MySQL's), never by the
 * message's text.
 */
static bool no_table(const struct dbr_error *e)
{
	return !strcmp(e->sqlstate, "42P01") || !strcmp(e->sqlstate, "42S02");
}

/* Read the rows on a connection (no table: none, r->table false). */
static int select_rows(struct run *r, struct dbr_driver_conn *dc,
		       struct dbr_error *err)
{
	const struct dbr_driver *vt = &r->src->drv->vt;
	bool found = true;
	int rc = vt->has_table ? vt->has_table(dc, TABLE, &found, err) : 0;

	if (rc || !found)
		return rc;
	rc = vt->query(dc, select_sql, NULL, 0, err);
	if (rc)
		return !vt->has_table && no_table(err) ? DBR_OK : rc;
	r->table = true;
	while ((rc = vt->next(dc, err)) == DBR_ROW)
		if (read_row(r, vt, dc))
			return dbr__error_set(err, DBR_E_NOMEM, NULL,
					      "out of memory");
	return rc == DBR_DONE ? DBR_OK : rc;
}

/*
 * Read the version table (none yet: no rows, r->table false). A dry run
 * reads on a connection of its own opened with DBR_OPEN_NO_CREATE and
 * closed after, so that it never creates the database: one that does not
 * exist reads as no rows, r->exists false. Else on a pooled connection.
 */
static int read_rows(struct run *r, struct dbr_error *err)
{
	const struct dbr_driver *vt = &r->src->drv->vt;
	struct dbr__pconn *pc = NULL;
	struct dbr_driver_conn *dc = NULL;
	int rc;

	rows_clear(r);
	r->exists = true;
	if (r->opts.flags & DBR_MIGRATE_DRY_RUN) {
		rc = vt->open_with_flags(r->src, DBR_OPEN_NO_CREATE, &dc, err);
		if (rc == DBR_E_NOTFOUND) {
			r->exists = false;
			return DBR_OK;
		}
	} else {
		rc = dbr__pool_acquire(&r->src->rt->pool, &pc, err);
		if (!rc)
			dc = pc->dc;
	}
	if (!rc)
		rc = select_rows(r, dc, err);
	if (pc) {
		pc->errors += rc != DBR_OK;
		dbr__pool_put(pc);
	} else if (dc) {
		vt->finish(dc);
		vt->close(dc);
	}
	if (rc && !err->source[0])
		dbr__error_source(err, r->src->name);
	return rc;
}

static const struct row *find_row(const struct run *r, int64_t version)
{
	size_t i;

	for (i = 0; i < r->nrows; i++)
		if (r->rows[i].version == version)
			return &r->rows[i];
	return NULL;
}

/* The source's files: per number, its type's variant, else the plain. */
static int choose_files(struct run *r)
{
	const struct dbr__migdir *d = r->dir;
	const struct dbr__migfile *pick;
	size_t i = 0, j;

	r->files = dbr__calloc(d->n ? d->n : 1, sizeof(*r->files));
	if (!r->files)
		return DBR_E_NOMEM;
	while (i < d->n) {
		pick = NULL;
		for (j = i;
		     j < d->n && d->files[j].version == d->files[i].version;
		     j++)
			if (!strcmp(d->files[j].type, r->src->drv->type) ||
			    (!d->files[j].type[0] && !pick))
				pick = &d->files[j];
		if (pick)
			r->files[r->nfiles++] = pick;
		else
			emit(r, DBR_MIGRATE_NO_VARIANT, d->files[i].name,
			     d->files[i].version, NULL);
		i = j;
	}
	return DBR_OK;
}

/* Whether a file is at or below the target version. */
static bool wanted(const struct run *r, const struct dbr__migfile *f)
{
	return !r->opts.to || f->version <= r->opts.to;
}

/* The source's version: its highest row's (0: none). */
static int64_t top_version(const struct run *r)
{
	return r->nrows ? r->rows[r->nrows - 1].version : 0;
}

/*
 * A late file: never applied, numbered below the source's version (added
 * after a later file was applied). It is never applied out of order:
 * reported (DBR_MIGRATE_LATE) and passed by.
 */
static bool late(const struct run *r, const struct dbr__migfile *f)
{
	return !find_row(r, f->version) && f->version < top_version(r);
}

/* Whether a file is to be applied on this run. */
static bool pending(const struct run *r, const struct dbr__migfile *f)
{
	return !find_row(r, f->version) && wanted(r, f) && !late(r, f);
}

/* The source's summary (version, state, pending, changed). */
static void summarize(const struct run *r, struct dbr_migrate_event *ev)
{
	const struct row *w;
	bool dirty = false, lates = false;
	size_t i;

	ev->version = 0;
	ev->pending = 0;
	ev->changed = 0;
	for (i = 0; i < r->nrows; i++) {
		ev->version = r->rows[i].version;
		dirty = dirty || r->rows[i].dirty;
	}
	for (i = 0; i < r->nfiles; i++) {
		w = find_row(r, r->files[i]->version);
		lates = lates || late(r, r->files[i]);
		if (pending(r, r->files[i]))
			ev->pending++;
		else if (w && strcmp(w->sha256, r->files[i]->sha256))
			ev->changed++;
	}
	ev->state =
		dirty ? DBR_MIGRATE_DIRTY
		: ev->changed && !(r->opts.flags & DBR_MIGRATE_ALLOW_CHANGED)
			? DBR_MIGRATE_CHANGED_FILES
		: lates	      ? DBR_MIGRATE_LATE_FILES
		: ev->pending ? DBR_MIGRATE_PENDING
			      : DBR_MIGRATE_OK;
}

/*
 * The owner of a file applied outside a transaction. Its row's dirty mark
 * reads "being applied by host H pid P start S" (S: the process's start
 * time since boot in clock ticks, from /proc, 0 when unknown), so a later
 * run on the same host tells a process that died from one still running.
 */

/* Process pid's start time since boot (field 22 of /proc/PID/stat), or 0
 * when it cannot be read. */
static unsigned long long proc_start(long pid)
{
	char path[64], text[1024], *p;
	unsigned long long start = 0;
	FILE *f;
	size_t n;
	int i;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	/* The name in parentheses may hold blanks: count after its end. */
	p = strrchr(text, ')');
	for (i = 0; i < 20 && p; i++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p, " %llu", &start) != 1)
		return 0;
	return start;
}

static void host_name(char *buf, size_t size)
{
	if (gethostname(buf, size) || !buf[0])
		dbr__copy_text(buf, size, "?");
	buf[size - 1] = '\0';
}

/* This process's mark on a file it applies outside a transaction. */
static void applying_mark(char *buf, size_t size)
{
	char host[256];
	long pid = (long)getpid();

	host_name(host, sizeof(host));
	snprintf(buf, size, BEING_APPLIED " by host %s pid %ld start %llu",
		 host, pid, proc_start(pid));
}

/*
 * Whether a dirty mark says a file is being applied by a process that may
 * still run: a mark of another host (or without an owner) may; one of
 * this host whose pid is gone, or now names a process started at another
 * time, does not.
 */
static bool applying(const char *dirty)
{
	char host[256], mine[256];
	unsigned long long start, now;
	long pid;

	if (!dirty || strncmp(dirty, BEING_APPLIED, strlen(BEING_APPLIED)))
		return false;
	if (sscanf(dirty, BEING_APPLIED " by host %255s pid %ld start %llu",
		   host, &pid, &start) != 3 ||
	    pid <= 0)
		return true;
	host_name(mine, sizeof(mine));
	if (strcmp(host, mine))
		return true;
	if (kill((pid_t)pid, 0) && errno == ESRCH)
		return false;
	now = proc_start(pid);
	return !start || !now || now == start;
}

/* A dirty mark as told: a dead owner's says so. */
static const char *dirty_told(const char *dirty, char *buf, size_t size)
{
	if (strncmp(dirty, BEING_APPLIED, strlen(BEING_APPLIED)) ||
	    applying(dirty))
		return dirty;
	snprintf(buf, size, "%s, a process no longer running", dirty);
	return buf;
}

/* Run one statement, in tx when not NULL. */
static int exec(const struct run *r, struct dbr_tx *tx, const char *sql,
		const struct dbr_value *p, size_t n, struct dbr_error *e)
{
	if (tx)
		return dbr_tx_query(tx, sql, p, n, NULL, e);
	return dbr_query_source(r->db, r->src->name, sql, p, n, NULL, e);
}

/* Now, UTC, as "YYYY-MM-DD HH:MM:SS". */
static void now_text(char *buf, size_t size)
{
	time_t t = time(NULL);
	struct tm tm;

	if (!gmtime_r(&t, &tm) ||
	    !strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm))
		dbr__copy_text(buf, size, "?");
}

static int insert_row(const struct run *r, struct dbr_tx *tx,
		      const struct dbr__migfile *f, const char *dirty,
		      struct dbr_error *e)
{
	char at[32];
	struct dbr_value p[5];

	now_text(at, sizeof(at));
	p[0] = dbr_int64(f->version);
	p[1] = dbr_text(f->name, strlen(f->name));
	p[2] = dbr_text(f->sha256, strlen(f->sha256));
	p[3] = dbr_text(at, strlen(at));
	p[4] = dirty ? dbr_text(dirty, strlen(dirty)) : dbr_null();
	return exec(r, tx, insert_sql, p, 5, e);
}

static int create_table(const struct run *r, struct dbr_error *err)
{
	struct dbr_error e;
	int rc = exec(r, NULL, create_sql, NULL, 0, &e);

	/* Two processes creating it at once: one fails, and tries again. */
	if (rc)
		rc = exec(r, NULL, create_sql, NULL, 0, &e);
	if (rc)
		*err = e;
	return rc;
}

/* Run a file's statements, in tx when not NULL; *line: the failing one. */
static int run_statements(const struct run *r, struct dbr_tx *tx,
			  const struct dbr__migfile *f, unsigned *line,
			  struct dbr_error *e)
{
	struct dbr_script_stmt *st;
	size_t n, i;
	char *sql;
	int rc;

	rc = split(r->db, r->src->name, f->text, f->len, &st, &n, line, e);
	if (rc == DBR_E_STMT && *line)
		dbr__error_source(e, r->src->name);
	for (i = 0; !rc && i < n; i++) {
		*line = st[i].line;
		sql = dbr__strndup(f->text + st[i].start,
				   st[i].end - st[i].start);
		rc = sql ? exec(r, tx, sql, NULL, 0, e)
			 : dbr__error_set(e, DBR_E_NOMEM, NULL,
					  "out of memory");
		dbr__free(sql);
	}
	dbr_free(st);
	return rc;
}

/*
 * Read version f's row: *found, *dirty (owned, NULL when clean) and sha
 * (65 bytes).
 */
static int read_one(const struct run *r, int64_t version, bool *found,
		    char **dirty, char *sha, struct dbr_error *e)
{
	struct dbr_value p = dbr_int64(version);
	struct dbr_result *res = NULL;
	const char *s;
	int rc;

	*dirty = NULL;
	*found = false;
	rc = dbr_query_source(r->db, r->src->name, one_sql, &p, 1, &res, e);
	if (rc)
		return rc;
	rc = dbr__result_first(res, found, e);
	if (!rc && *found) {
		s = dbr_result_text(res, 0, NULL);
		dbr__copy_text(sha, 65, s ? s : "");
		if (dbr_result_type(res, 1) != DBR_TYPE_NULL &&
		    !(*dirty = text_col(res, 1)))
			rc = dbr__error_set(e, DBR_E_NOMEM, NULL,
					    "out of memory");
	}
	dbr_result_free(res);
	return rc;
}

/*
 * Another process inserted f's version row first. Wait while it applies
 * the file (up to the source's timeout); then skip the file when its row
 * is clean with f's hash, else fail: the file failed there, is still
 * being applied, or changed.
 */
static int raced_row(const struct run *r, const struct dbr__migfile *f,
		     struct dbr_error *err)
{
	const struct timespec poll = { 0, 200 * 1000 * 1000 };
	double deadline = dbr__now() + r->src->timeout;
	const char *name = r->src->name;
	char sha[65], *dirty, told[DBR_ERROR_MESSAGE_SIZE];
	struct dbr_error e;
	bool found;
	int rc;

	for (;;) {
		rc = read_one(r, f->version, &found, &dirty, sha, &e);
		if (rc)
			return file_error(err, &e, name, f->name, 0);
		if (applying(dirty) && dbr__now() < deadline) {
			dbr__free(dirty);
			nanosleep(&poll, NULL);
			continue;
		}
		break;
	}
	if (!found)
		rc = dbr__error_set(err, DBR_E_STMT, name,
				    "%s: version %lld was inserted and "
				    "removed by another process",
				    f->name, (long long)f->version);
	else if (applying(dirty))
		rc = dbr__error_set(err, DBR_E_TIMEOUT, name,
				    "%s: another process is still applying "
				    "version %lld after %gs (%s): " STILL,
				    f->name, (long long)f->version,
				    r->src->timeout, dirty);
	else if (dirty)
		rc = dbr__error_set(err, DBR_E_STMT, name,
				    "%s: version %lld is dirty (%s): " REPAIR,
				    f->name, (long long)f->version,
				    dirty_told(dirty, told, sizeof(told)));
	else if (strcmp(sha, f->sha256))
		rc = dbr__error_set(err, DBR_E_STMT, name,
				    "%s: another process applied version "
				    "%lld from a different file",
				    f->name, (long long)f->version);
	else
		rc = DBR_OK;
	dbr__free(dirty);
	if (rc)
		dbr__error_source(err, name);
	return rc;
}

/*
 * Apply a file in one transaction with its version row, inserted first:
 * *raced when another process applied it meanwhile.
 */
static int apply_in_tx(const struct run *r, const struct dbr__migfile *f,
		       bool *raced, struct dbr_error *err)
{
	struct dbr_tx *tx;
	struct dbr_error e;
	unsigned line = 0;
	int rc;

	rc = dbr_tx_begin_source(r->db, r->src->name, &tx, &e);
	if (rc)
		return file_error(err, &e, r->src->name, f->name, 0);
	rc = insert_row(r, tx, f, NULL, &e);
	if (rc == DBR_E_CONSTRAINT) {
		*raced = true;
		dbr_tx_rollback(tx, NULL);
		return raced_row(r, f, err);
	}
	if (!rc)
		rc = run_statements(r, tx, f, &line, &e);
	if (rc) {
		dbr_tx_rollback(tx, NULL);
		return file_error(err, &e, r->src->name, f->name, line);
	}
	rc = dbr_tx_commit(tx, &e);
	return rc ? file_error(err, &e, r->src->name, f->name, 0) : DBR_OK;
}

/* Apply a file statement by statement; a failure leaves it dirty. */
static int apply_each(const struct run *r, const struct dbr__migfile *f,
		      bool *raced, struct dbr_error *err)
{
	struct dbr_value p[4];
	struct dbr_error e;
	unsigned line = 0;
	char at[32], mark[2 * DBR_ERROR_MESSAGE_SIZE];
	int rc;

	applying_mark(mark, sizeof(mark));
	rc = insert_row(r, NULL, f, mark, &e);
	if (rc == DBR_E_CONSTRAINT) {
		*raced = true;
		return raced_row(r, f, err);
	}
	if (!rc)
		rc = run_statements(r, NULL, f, &line, &e);
	if (rc) {
		file_error(err, &e, r->src->name, f->name, line);
		/* The message without "source 'NAME': " is the dirty mark. */
		p[0] = dbr_text(dbr__error_bare(err, r->src->name),
				strlen(dbr__error_bare(err, r->src->name)));
		p[1] = dbr_int64(f->version);
		if (exec(r, NULL, dirty_sql, p, 2, &e)) {
			/* Never ignored: the row still reads as ours. */
			snprintf(mark, sizeof(mark),
				 "%s; marking version %lld dirty failed too: "
				 "%s",
				 err->message, (long long)f->version,
				 dbr__error_bare(&e, r->src->name));
			dbr__error_message(err, mark);
		}
		return rc;
	}
	now_text(at, sizeof(at));
	p[0] = dbr_text(f->name, strlen(f->name));
	p[1] = dbr_text(f->sha256, strlen(f->sha256));
	p[2] = dbr_text(at, strlen(at));
	p[3] = dbr_int64(f->version);
	rc = exec(r, NULL, clear_sql, p, 4, &e);
	return rc ? file_error(err, &e, r->src->name, f->name, 0) : DBR_OK;
}

/* Split every pending file and refuse transaction control in it. */
static int plan(const struct run *r, struct dbr_error *err)
{
	const struct dbr__migfile *f;
	struct dbr_script_stmt *st;
	struct dbr_error e;
	size_t i, j, n;
	unsigned line;
	int rc = DBR_OK;

	for (i = 0; !rc && i < r->nfiles; i++) {
		f = r->files[i];
		st = NULL;
		n = 0;
		if (!pending(r, f))
			continue;
		rc = split(r->db, r->src->name, f->text, f->len, &st, &n, &line,
			   &e);
		if (rc == DBR_E_STMT)
			file_refuse(err, rc, r->src->name, f->name, line,
				    e.message);
		else if (rc)
			*err = e;
		for (j = 0; !rc && j < n; j++)
			if (st[j].tx_control)
				rc = file_refuse(
					err, DBR_E_STMT, r->src->name, f->name,
					st[j].line,
					"transaction control is refused in a "
					"migration file: each file runs in "
					"one transaction of dbroute's, or "
					"statement by statement after "
					"'-- dbroute: no-transaction'");
		dbr_free(st);
	}
	return rc;
}

/* Apply every pending file up to the target, in order. */
static int apply(struct run *r, struct dbr_error *err)
{
	const struct dbr__migfile *f;
	bool tx_ddl = r->src->drv->vt.caps & DBR_CAP_TRANSACTIONAL_DDL;
	bool raced;
	size_t i, off;
	int rc = create_table(r, err);

	for (i = 0; !rc && i < r->nfiles; i++) {
		f = r->files[i];
		if (!pending(r, f))
			continue;
		raced = false;
		off = bom(f->text, f->len);
		if (tx_ddl &&
		    !dbr_sqlsplit_no_transaction(f->text + off, f->len - off))
			rc = apply_in_tx(r, f, &raced, err);
		else
			rc = apply_each(r, f, &raced, err);
		if (rc)
			emit(r, DBR_MIGRATE_FAILED, f->name, f->version, err);
		else if (!raced)
			emit(r, DBR_MIGRATE_APPLIED, f->name, f->version, NULL);
	}
	return rc;
}

/* Record force_version as the version: rows above it deleted, every file
 * up to it recorded clean. */
static int force(struct run *r, struct dbr_error *err)
{
	const struct dbr__migfile *f;
	const struct row *w;
	struct dbr_tx *tx = NULL;
	struct dbr_value p[4];
	struct dbr_error e;
	char at[32];
	size_t i;
	int rc = create_table(r, err);

	if (!rc)
		rc = read_rows(r, err);
	if (!rc && (r->src->drv->vt.caps & DBR_CAP_TRANSACTIONS))
		rc = dbr_tx_begin_source(r->db, r->src->name, &tx, err);
	if (rc)
		return rc;
	p[0] = dbr_int64(r->opts.force_version);
	rc = exec(r, tx, delete_sql, p, 1, &e);
	now_text(at, sizeof(at));
	for (i = 0; !rc && i < r->nfiles; i++) {
		f = r->files[i];
		w = find_row(r, f->version);
		if (f->version > r->opts.force_version)
			continue;
		if (!w) {
			rc = insert_row(r, tx, f, NULL, &e);
			continue;
		}
		/* A clean row keeps its time; every row takes the file's hash. */
		p[0] = dbr_text(f->name, strlen(f->name));
		p[1] = dbr_text(f->sha256, strlen(f->sha256));
		p[2] = dbr_text(at, strlen(at));
		p[3] = dbr_int64(f->version);
		if (w->dirty) {
			rc = exec(r, tx, clear_sql, p, 4, &e);
		} else {
			p[2] = p[3];
			rc = exec(r, tx, rehash_sql, p, 3, &e);
		}
	}
	if (rc) {
		dbr_tx_rollback(tx, NULL);
		*err = e;
		return rc;
	}
	rc = tx ? dbr_tx_commit(tx, &e) : DBR_OK;
	if (rc)
		*err = e;
	return rc;
}

/*
 * Wait while a version row says another process is applying its file, up
 * to the source's timeout; then read the rows again.
 */
static int wait_applying(struct run *r, struct dbr_migrate_event *sum,
			 struct dbr_error *err)
{
	const struct timespec poll = { 0, 200 * 1000 * 1000 };
	double deadline = dbr__now() + r->src->timeout;
	size_t i;
	int rc;

	for (;;) {
		for (i = 0; i < r->nrows && !r->rows[i].dirty; i++)
			;
		if (i == r->nrows || !applying(r->rows[i].dirty))
			return DBR_OK;
		if (dbr__now() >= deadline) {
			dbr__error_set(err, DBR_E_TIMEOUT, r->src->name,
				       "%s: another process is still applying "
				       "version %lld after %gs (%s): " STILL,
				       r->rows[i].file,
				       (long long)r->rows[i].version,
				       r->src->timeout, r->rows[i].dirty);
			dbr__error_source(err, r->src->name);
			return DBR_E_TIMEOUT;
		}
		nanosleep(&poll, NULL);
		rc = read_rows(r, err);
		if (rc)
			return rc;
		summarize(r, sum);
	}
}

/* Refuse a source whose version is dirty or whose files changed. */
static int refuse(const struct run *r, const struct dbr_migrate_event *sum,
		  struct dbr_error *err)
{
	const char *name = r->src->name;
	char told[DBR_ERROR_MESSAGE_SIZE];
	size_t i;

	if (sum->state == DBR_MIGRATE_DIRTY) {
		for (i = 0; i < r->nrows && !r->rows[i].dirty; i++)
			;
		dbr__error_set(
			err, DBR_E_STMT, name,
			"%s: version %lld is dirty (%s): " REPAIR,
			r->rows[i].file, (long long)r->rows[i].version,
			dirty_told(r->rows[i].dirty, told, sizeof(told)));
	} else {
		dbr__error_set(err, DBR_E_STMT, name,
			       "%zu applied file(s) changed since: restore "
			       "them, or go on with --allow-changed",
			       sum->changed);
	}
	dbr__error_source(err, name);
	return DBR_E_STMT;
}

/*
 * Emit a CHANGED event for every applied file that changed since, and a
 * LATE one for every late file.
 */
static void report_files(const struct run *r)
{
	struct dbr_migrate_event ev = { .size = sizeof(ev),
					.kind = DBR_MIGRATE_LATE,
					.source = r->src->name };
	const struct row *w;
	char why[160];
	size_t i;

	snprintf(why, sizeof(why),
		 "below version %lld, the source's, and never applied: "
		 "passed by (renumber it above %lld to apply it)",
		 (long long)top_version(r), (long long)top_version(r));
	for (i = 0; i < r->nfiles; i++) {
		w = find_row(r, r->files[i]->version);
		if (w && strcmp(w->sha256, r->files[i]->sha256))
			emit(r, DBR_MIGRATE_CHANGED, r->files[i]->name,
			     r->files[i]->version, NULL);
		if (!late(r, r->files[i]))
			continue;
		if (!r->fn) {
			/* Never silent: logged when nobody listens. */
			dbr__log(&r->db->log, DBR_LOG_WARN, r->src->name,
				 "migrations: late file '%s': %s",
				 r->files[i]->name, why);
			continue;
		}
		ev.file = r->files[i]->name;
		ev.version = r->files[i]->version;
		ev.reason = why;
		r->fn(r->ud, &ev);
	}
}

/* Read, check, plan and apply (or only list) a source's files. */
static int run_source(struct run *r, struct dbr_migrate_event *sum,
		      struct dbr_error *err)
{
	bool dry = r->opts.flags & DBR_MIGRATE_DRY_RUN;
	size_t i;
	int rc;

	if (r->opts.flags & DBR_MIGRATE_FORCE_VERSION)
		return force(r, err);
	rc = read_rows(r, err);
	if (rc)
		return rc;
	summarize(r, sum);
	if (sum->state == DBR_MIGRATE_DIRTY && !dry) {
		rc = wait_applying(r, sum, err);
		if (rc)
			return rc;
	}
	report_files(r);
	if (sum->state == DBR_MIGRATE_DIRTY ||
	    sum->state == DBR_MIGRATE_CHANGED_FILES)
		return refuse(r, sum, err);
	rc = plan(r, err);
	if (rc || !dry)
		return rc ? rc : apply(r, err);
	for (i = 0; i < r->nfiles; i++)
		if (pending(r, r->files[i]))
			emit(r, DBR_MIGRATE_WOULD_APPLY, r->files[i]->name,
			     r->files[i]->version, NULL);
	return DBR_OK;
}

/* One source, from the skip check to its summary event. */
static int migrate_source(struct run *r, struct dbr_error *err)
{
	struct dbr_migrate_event sum = { .size = sizeof(sum),
					 .kind = DBR_MIGRATE_SOURCE };
	unsigned caps = r->src->drv->vt.caps;
	struct dbr_error e;
	int rc = DBR_OK;

	sum.source = r->src->name;
	sum.version = -1;
	sum.state = DBR_MIGRATE_SKIPPED;
	if (!(caps & DBR_CAP_SQL))
		sum.reason = "not an SQL source";
	else if (r->src->readonly)
		sum.reason = "read-only";
	else if (choose_files(r))
		rc = dbr__error_set(&e, DBR_E_NOMEM, NULL, "out of memory");
	else
		rc = run_source(r, &sum, &e);
	if (!sum.reason) {
		struct dbr_error e2;
		bool dry = r->opts.flags & DBR_MIGRATE_DRY_RUN;

		/* What the source is at now: read again after a write. */
		if ((!dry || rc) && read_rows(r, &e2)) {
			sum.state = DBR_MIGRATE_ERROR;
			sum.version = -1;
		} else {
			summarize(r, &sum);
		}
		if (!r->exists)
			sum.reason = "the database does not exist yet";
		if (rc && !e.source[0])
			dbr__error_source(&e, r->src->name);
		sum.error = rc ? &e : NULL;
	}
	if (r->fn)
		r->fn(r->ud, &sum);
	if (rc && err)
		*err = e;
	rows_clear(r);
	dbr__free(r->rows);
	dbr__free(r->files);
	r->rows = NULL;
	r->rowcap = 0;
	r->files = NULL;
	r->nfiles = 0;
	return rc;
}

struct stray_ctx {
	struct dbr *db;
	dbr_migrate_fn fn;
	void *ud;
};

static void on_stray(void *ud, const char *name, const char *why)
{
	struct stray_ctx *c = ud;
	struct dbr_migrate_event ev = { .size = sizeof(ev),
					.kind = DBR_MIGRATE_STRAY,
					.file = name,
					.reason = why };

	if (c->fn)
		c->fn(c->ud, &ev);
	else
		dbr__log(&c->db->log, DBR_LOG_WARN, NULL,
			 "migrations: ignoring '%s': %s", name, why);
}

/*
 * Warn about each variant whose type no driver serves (a typo such as
 * .postgresql, or a dotted name such as .v2): no source ever applies it.
 */
static void unknown_types(const struct dbr__config *cfg,
			  const struct dbr__migdir *d, struct stray_ctx *sc)
{
	char hint[64], why[256];
	const char *type;
	size_t i, j;

	for (i = 0; i < d->n; i++) {
		type = d->files[i].type;
		if (!type[0])
			continue;
		for (j = 0; j < cfg->nsources; j++)
			if (!strcmp(cfg->sources[j].drv->type, type))
				break;
		if (j < cfg->nsources ||
		    dbr__driver_type_known(type, cfg->plugin_dir, hint,
					   sizeof(hint)))
			continue;
		snprintf(why, sizeof(why),
			 "'%s' is no driver's type%s%s%s: never applied "
			 "(name it NNNN_name.TYPE.sql with a driver's type, "
			 "or NNNN_name.sql for every source)",
			 type, hint[0] ? " (did you mean '" : "", hint,
			 hint[0] ? "'?)" : "");
		on_stray(sc, d->files[i].name, why);
	}
}

/* Whether the options name the source (no names: every source). */
static bool selected(const struct dbr_migrate_options *o, const char *name)
{
	size_t i;

	if (!o->sources)
		return true;
	for (i = 0; o->sources[i]; i++)
		if (!strcmp(o->sources[i], name))
			return true;
	return false;
}

static int check_options(struct dbr *db, const struct dbr_migrate_options *o,
			 struct dbr_error *err)
{
	size_t i;

	if (o->to < 0 || o->force_version < 0)
		return dbr__error_set(err, DBR_E_MISUSE, NULL,
				      "dbr_migrate: a negative version");
	if ((o->flags & DBR_MIGRATE_FORCE_VERSION) &&
	    (o->flags & DBR_MIGRATE_DRY_RUN))
		return dbr__error_set(err, DBR_E_MISUSE, NULL,
				      "dbr_migrate: forcing a version writes: "
				      "not in a dry run");
	if ((o->flags & DBR_MIGRATE_FORCE_VERSION) &&
	    (!o->sources || !o->sources[0]))
		return dbr__error_set(err, DBR_E_MISUSE, NULL,
				      "dbr_migrate: forcing a version needs "
				      "the sources named");
	for (i = 0; o->sources && o->sources[i]; i++)
		if (!dbr__config_source(db->cfg, o->sources[i]))
			return dbr__error_set(err, DBR_E_NOTFOUND, NULL,
					      "no source named '%s'",
					      o->sources[i]);
	return DBR_OK;
}

int dbr_migrate(struct dbr *db, const char *dir,
		const struct dbr_migrate_options *opts, dbr_migrate_fn fn,
		void *ud, struct dbr_error *err)
{
	struct run r = { .db = db, .fn = fn, .ud = ud };
	struct stray_ctx sc = { db, fn, ud };
	const struct dbr__config *cfg;
	struct dbr__migdir d;
	struct dbr_error e;
	size_t i;
	int rc, first = DBR_OK;

	/* Any size from 0.3's (up to `flags`) on; what it lacks reads 0. */
	if (!db || !dir ||
	    (opts && opts->size < offsetof(struct dbr_migrate_options, flags) +
					  sizeof(opts->flags)))
		return dbr__error_set(err, DBR_E_MISUSE, NULL,
				      "dbr_migrate: a NULL argument or a bad "
				      "options size");
	if (opts)
		memcpy(&r.opts, opts,
		       opts->size < sizeof(r.opts) ? opts->size
						   : sizeof(r.opts));
	r.opts.size = sizeof(r.opts);
	rc = check_options(db, &r.opts, err);
	if (!rc)
		rc = dbr__migdir_read(dir, &d, on_stray, &sc, err);
	if (rc)
		return rc;
	r.dir = &d;
	cfg = db->cfg; /* one load: a reload may replace it */
	unknown_types(cfg, &d, &sc);
	for (i = 0; i < cfg->nsources; i++) {
		r.src = &cfg->sources[i];
		if (!selected(&r.opts, r.src->name))
			continue;
		rc = migrate_source(&r, &e);
		if (rc && !first) {
			first = rc;
			if (err)
				*err = e;
		}
	}
	dbr__migdir_release(&d);
	return first;
}

const char *dbr_migrate_state_name(int state)
{
	switch (state) {
	case DBR_MIGRATE_OK: return "ok";
	case DBR_MIGRATE_PENDING: return "pending";
	case DBR_MIGRATE_DIRTY: return "dirty";
	case DBR_MIGRATE_CHANGED_FILES: return "changed";
	case DBR_MIGRATE_SKIPPED: return "skipped";
	case DBR_MIGRATE_ERROR: return "error";
	case DBR_MIGRATE_LATE_FILES: return "late";
	default: return "?";
	}
}
